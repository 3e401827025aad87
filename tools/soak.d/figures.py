# SPDX-License-Identifier: Apache-2.0
"""The soak's figures over time: every few seconds, the metric points MLflow
acknowledged (at the proxy), the lag of the points acknowledged since the
last sample (their acknowledgement time minus the time the writer logged
them), each syncd's resident memory, the live runs and the load average."""

import csv
import os
import threading
import time
from typing import Callable, List


def percentile(xs: List[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def rss_kib(pid: int) -> int:
    """VmRSS of a process in KiB, 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def live_runs(marker: str) -> int:
    """Distinct run ids among the writer processes whose command line holds
    `marker` (the soak's directory): `runlog demo … --id ID` and
    `writer.py ROOT ID …`."""
    ids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                argv = fh.read().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        if not any(marker in a for a in argv):
            continue
        if "demo" in argv and "--id" in argv:
            ids.add(argv[argv.index("--id") + 1])
        elif any(a.endswith("writer.py") for a in argv):
            i = next(i for i, a in enumerate(argv) if a.endswith("writer.py"))
            if len(argv) > i + 2:
                ids.add(argv[i + 2])
    return len(ids)


class Figures:
    """Samples every `every` seconds on a thread of its own until stop(), and
    appends each sample as a row of a CSV file."""

    COLUMNS = ["seconds", "live runs", "points acked", "points/s", "lag p50 s", "lag p99 s",
               "syncd0 RSS MiB", "syncd1 RSS MiB", "load 1 min"]

    def __init__(self, path: str, every: float, proxy, pids: Callable[[], List[int]], marker: str):
        self.path = path
        self.every = every
        self.proxy = proxy
        self.pids = pids
        self.marker = marker
        self.rows: List[list] = []
        self.started = time.time()
        self._stop = threading.Event()
        self._acked = 0
        self._lags = 0
        with open(path, "w", newline="") as fh:
            csv.writer(fh).writerow(self.COLUMNS)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        last = time.time()
        while not self._stop.wait(self.every):
            now = time.time()
            self.sample(now - last)
            last = now

    def sample(self, interval: float) -> None:
        with self.proxy.lock:
            acked = self.proxy.points_acked
            lags = self.proxy.lags_ms[self._lags:]
            self._lags = len(self.proxy.lags_ms)
        rss = [rss_kib(pid) / 1024 for pid in self.pids()]
        row = [round(time.time() - self.started), live_runs(self.marker), acked,
               round((acked - self._acked) / max(interval, 1e-3)),
               round(percentile(lags, 0.5) / 1000, 2), round(percentile(lags, 0.99) / 1000, 2)]
        row += [round(r, 1) for r in (rss + [0.0, 0.0])[:2]]
        row.append(round(os.getloadavg()[0], 1))
        self._acked = acked
        self.rows.append(row)
        with open(self.path, "a", newline="") as fh:
            csv.writer(fh).writerow(row)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def rss(self) -> List[float]:
        """Every RSS sample of every syncd, MiB (0 samples, a syncd between kill and restart, left out)."""
        return [r for row in self.rows for r in row[6:8] if r > 0]

    def markdown(self, every: float) -> str:
        """The time series as a Markdown table, one row per `every` seconds."""
        out = "| " + " | ".join(self.COLUMNS) + " |\n|" + "---|" * len(self.COLUMNS) + "\n"
        next_at = 0.0
        for row in self.rows:
            if row[0] >= next_at:
                out += "| " + " | ".join(f"{v:,}" if isinstance(v, int) else f"{v}" for v in row) + " |\n"
                next_at = row[0] + every
        return out
