# SPDX-License-Identifier: Apache-2.0
"""System metrics: the machine, this process and the GPUs, sampled on a
thread and logged as `system/<name>` metrics with MLflow's names, at step =
the sample's index (spec: README, "System metrics and the environment").

Nothing here is imported by training code; `Run` starts a `SystemSampler`.
"""

import os
import sys
import threading
import time

from . import _threads
from ._nvml import NVML

DEFAULT_INTERVAL = 10.0
MINIMUM_INTERVAL = 0.1


def interval(option=None, environ=os.environ):
    """Seconds between samples from the `system_metrics_interval` option, else
    $RUNLOG_SYSTEM_METRICS_INTERVAL, else 10; None means off (0)."""
    if option is not None:
        value = float(option)
    else:
        text = environ.get("RUNLOG_SYSTEM_METRICS_INTERVAL", "")
        try:
            value = float(text) if text else DEFAULT_INTERVAL
        except ValueError:
            value = DEFAULT_INTERVAL
        if value != value or value < 0 or value == float("inf"):
            value = DEFAULT_INTERVAL
    if value <= 0:
        return None
    return max(MINIMUM_INTERVAL, value)


def _text(path):
    with open(path, "rb") as f:
        return f.read(256 << 10).decode("utf-8", "replace")


class Probe:
    """Reads the counters of `/proc` and the run root's file system; each
    source on its own, None where it cannot be read."""

    SOURCES = ("/proc/stat", "/proc/self/stat", "/proc/meminfo", "statvfs", "/proc/net/dev")

    def __init__(self, disk_path, proc="/proc"):
        self.disk_path = disk_path
        self.proc = proc
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.page = os.sysconf("SC_PAGE_SIZE")

    def read(self):
        r = {"t": time.monotonic()}
        for name, fn in (("cpu", self._cpu), ("process", self._process), ("memory", self._memory),
                         ("disk", self._disk), ("network", self._network)):
            try:
                r[name] = fn()
            except (OSError, ValueError, IndexError):
                r[name] = None
        return r

    def _cpu(self):
        f = [int(x) for x in _text(self.proc + "/stat").split("\n", 1)[0].split()[1:9]]
        total = sum(f)
        return total - f[3] - (f[4] if len(f) > 4 else 0), total

    def _process(self):
        text = _text(self.proc + "/self/stat")
        f = text[text.rindex(")") + 1:].split()
        return int(f[11]) + int(f[12]), int(f[21]) * self.page

    def _memory(self):
        total = available = None
        for line in _text(self.proc + "/meminfo").split("\n"):
            if line.startswith("MemTotal:"):
                total = int(line.split()[1]) * 1024
            elif line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
        if total is None or available is None:
            raise ValueError("no MemTotal/MemAvailable")
        return total, available

    def _disk(self):
        st = os.statvfs(self.disk_path)
        return (st.f_blocks - st.f_bfree) * st.f_frsize, st.f_bavail * st.f_frsize

    def _network(self):
        rx = tx = 0
        for line in _text(self.proc + "/net/dev").split("\n")[2:]:
            name, sep, rest = line.partition(":")
            if not sep or name.strip() == "lo":
                continue
            f = rest.split()
            rx += int(f[0])
            tx += int(f[8])
        return rx, tx

    def metrics(self, prev, now, first, out):
        """Appends (name without "system/", value) pairs for the interval `prev` to `now`."""
        a, b = prev["cpu"], now["cpu"]
        if a and b and b[1] > a[1]:
            out.append(("cpu_utilization_percentage", (b[0] - a[0]) / (b[1] - a[1]) * 100))
        p = now["process"]
        if p:
            seconds = now["t"] - prev["t"]
            if prev["process"] and seconds > 0:
                out.append(("process_cpu_utilization_percentage",
                            (p[0] - prev["process"][0]) / self.ticks / seconds * 100))
            out.append(("process_memory_rss_megabytes", p[1] / 1e6))
        m = now["memory"]
        if m and m[0] > 0:
            used = m[0] - min(m[0], m[1])
            out.append(("system_memory_usage_megabytes", used / 1e6))
            out.append(("system_memory_usage_percentage", used / m[0] * 100))
        d = now["disk"]
        if d:
            size = d[0] + d[1]
            out.append(("disk_usage_percentage", d[0] / size * 100 if size else 0.0))
            out.append(("disk_usage_megabytes", d[0] / 1e6))
            out.append(("disk_available_megabytes", d[1] / 1e6))
        n, f = now["network"], first["network"]
        if n and f:
            out.append(("network_receive_megabytes", (n[0] - f[0]) / 1e6))
            out.append(("network_transmit_megabytes", (n[1] - f[1]) / 1e6))


class SystemSampler:
    """Samples every `interval` seconds on a daemon thread and hands each
    sample to `emit(step, time_ns, {key: value})`. A source that fails is
    left out and reported once on standard error; sampling goes on."""

    def __init__(self, emit, disk_path, interval, nvml=None, proc="/proc"):
        self._emit = emit
        self._probe = Probe(disk_path, proc)
        self._nvml = NVML.load() if nvml is None else (nvml or None)  # False: no GPUs
        self._interval = interval
        self._stop = threading.Event()
        self._reported = set()
        self._thread = threading.Thread(target=self._run, name="runlog-system-metrics", daemon=True)
        _threads.start(self._thread)

    def stop(self, timeout=2.0):
        """Stops sampling; waits at most `timeout` seconds for a sample under way."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self):
        probe = self._probe
        first = prev = probe.read()
        deadline = time.monotonic() + self._interval
        step = 0
        while not self._stop.wait(max(0.0, deadline - time.monotonic())):
            deadline += self._interval
            if deadline < time.monotonic():
                deadline = time.monotonic() + self._interval  # a suspended process skips samples
            now = probe.read()
            values = []
            probe.metrics(prev, now, first, values)
            for source, key in zip(Probe.SOURCES, ("cpu", "process", "memory", "disk", "network")):
                if now[key] is None:
                    what = f"statvfs({probe.disk_path})" if key == "disk" else source
                    self._report(source, f"runlog: system metrics: cannot read {what}; its values are skipped")
            if self._nvml is not None:
                for i in range(len(self._nvml.devices)):
                    got, failed = self._nvml.read(i)
                    if failed:
                        self._report("NVML", f"runlog: system metrics: an NVML call failed for GPU {i}; "
                                             "its missing values are skipped")
                    values.extend(got)
            prev = now
            if values:
                try:
                    self._emit(step, time.time_ns(), {"system/" + k: v for k, v in values})
                except Exception:  # the run ended meanwhile
                    return
                step += 1

    def _report(self, key, line):
        if key not in self._reported:
            self._reported.add(key)
            sys.stderr.write(line + "\n")
