# SPDX-License-Identifier: Apache-2.0
"""The benchmark harness behind tools/bench: runs every row, prints Markdown tables.

Each row runs on its own, in child processes, repeated; a row whose component
is not there prints "n/a (why)"; a row whose component is there but fails
prints "FAILED (why)" and makes the exit status 1. Figures are medians with
the min–max spread. CPU time (of the process and its threads and helper
processes) is the main figure: the machine is shared, wall time is shown too.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PY = sys.executable


class NotThere(Exception):
    """The component is missing (not built, not installed): the row is n/a."""


class Failed(Exception):
    """The component is there and failed: the row is FAILED, the exit status 1."""


# Sizes: (full, quick). Slow anchors run fewer items; their per-item figures
# are extrapolated to the full size and labelled so.
SIZES = {
    "a_steps": (200_000, 2_000),
    "a_steps_tensorboardx": (20_000, 1_000),
    "a_steps_wandb": (10_000, 1_000),
    "b_count": (2_000, 20),
    "b_count_tensorboardx": (500, 10),
    "b_count_wandb": (300, 10),
    "read_steps_tensorboard": (20_000, 1_000),
    "sync_steps": (10_000, 500),
    "lag_seconds": (30, 6),
    "console_lines": (1_000_000, 20_000),
    "console_lines_wandb": (100_000, 20_000),
    "idle_runs": (1_000, 20),
    "idle_seconds": (30, 5),
    "reps_fast": (5, 2),
    "reps_slow": (3, 1),
}


class Bench:
    NotThere, Failed = NotThere, Failed
    stop_daemon = staticmethod(lambda daemon: stop_daemon(daemon))

    def __init__(self, args):
        self.quick = args.quick
        self.bin = args.bin
        self.work = tempfile.mkdtemp(prefix="runlog-bench-")
        self.keep = args.keep
        self.only = args.only
        self.failures = []
        self.lines = []
        self.mlflow = None
        self.cache = {}

    def size(self, name):
        return SIZES[name][1 if self.quick else 0]

    # -- output

    def out(self, line=""):
        print(line, flush=True)
        self.lines.append(line)

    def table(self, header, rows):
        self.out("| " + " | ".join(header) + " |")
        self.out("|" + "|".join("---" for _ in header) + "|")
        for r in rows:
            self.out("| " + " | ".join(r) + " |")
        self.out()

    def row_error(self, name, error, width):
        if isinstance(error, NotThere):
            cell = f"n/a ({error})"
        else:
            cell = f"FAILED ({error})"
            self.failures.append(f"{name}: {error}")
        return [name, cell] + [""] * (width - 2)

    # -- child processes

    def run(self, cmd, env=None, timeout=1800, what=None):
        """Runs a child, returns its `result {json}` lines as dicts; Failed if it fails."""
        e = dict(os.environ)
        e["PYTHONPATH"] = os.pathsep.join([HERE, os.path.join(REPO, "tools", "python")])
        e.update(env or {})
        try:
            p = subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failed(f"{what or cmd[0]} timed out after {timeout} s")
        if p.returncode != 0:
            tail = (p.stderr.strip().splitlines() or p.stdout.strip().splitlines() or ["no output"])[-1]
            raise Failed(f"{what or os.path.basename(cmd[0])} exit {p.returncode}: {tail[:200]}")
        results = [json.loads(l[7:]) for l in p.stdout.splitlines() if l.startswith("result ")]
        if not results:
            raise Failed(f"{what or cmd[0]} printed no result")
        return results

    def timed(self, cmd, timeout=600):
        """Runs a child with output to /dev/null; returns (cpu_s, wall_s) from its rusage.

        Its standard error goes to a file, not a pipe: a chatty child (syncd
        logs a line per run) would block on a full pipe that nobody reads."""
        with open(os.devnull, "wb") as null, tempfile.TemporaryFile() as err:
            t = time.perf_counter()
            p = subprocess.Popen(cmd, stdout=null, stderr=err)
            try:
                while True:
                    pid, status, usage = os.wait4(p.pid, os.WNOHANG)
                    if pid:
                        break
                    if time.perf_counter() - t > timeout:
                        raise Failed(f"{' '.join(os.path.basename(c) for c in cmd[:2])} did not finish in {timeout} s")
                    time.sleep(0.002)
            except BaseException:
                p.kill()
                p.wait()
                raise
            wall = time.perf_counter() - t
            p.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            lines = err.read().decode(errors="replace").strip().splitlines()
        if p.returncode != 0:
            raise Failed(f"{' '.join(os.path.basename(c) for c in cmd[:2])} exit {p.returncode}: {lines[-1][:200] if lines else ''}")
        return usage.ru_utime + usage.ru_stime, wall

    # -- components

    def binary(self, name):
        path = os.path.join(self.bin, name)
        if not os.access(path, os.X_OK):
            raise NotThere(f"{name} not built")
        return path

    def built(self, name, args, needle, missing):
        """The path of binary `name` if running it with `args` prints `needle`."""
        path = self.binary(name)
        if needle not in subprocess.run([path] + args, capture_output=True, text=True).stdout:
            raise NotThere(missing)
        return path

    def runlog_cli(self, sub):
        return self.built("runlog", ["--help"], sub, f"`runlog {sub}` not built yet")

    def syncd(self):
        return self.built("syncd", ["--once", "--help"], "--once", "syncd not built yet")

    def swift_workloads(self):
        return self.built("runlog-bench", ["--list"], "workloads", "runlog-bench has no `workloads` benchmark")

    def python_module(self, module):
        probe = subprocess.run(
            [PY, "-c", f"import {module}"], capture_output=True, text=True,
            env=dict(os.environ, PYTHONPATH=os.path.join(REPO, "tools", "python")))
        if probe.returncode != 0:
            last = (probe.stderr.strip().splitlines() or ["?"])[-1]
            raise NotThere(f"`import {module}` fails in {os.path.dirname(os.path.dirname(PY))}: {last[:120]}")

    def python_client(self):
        if not os.path.exists(os.path.join(REPO, "tools", "python", "runlog", "__init__.py")):
            raise NotThere("tools/python not there yet")
        self.python_module("runlog")

    def fresh(self, name):
        path = os.path.join(self.work, name)
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
        return path

    # -- writing

    def write(self, writer, workload, count, reps, prefix=(), directory=None):
        """Results of `reps` runs of one writer on one workload (the last run's
        files are kept, for the read sections); `prefix` goes before the command
        (strace), and `directory` names a work directory other than the usual."""
        results = []
        for rep in range(reps):
            d = self.fresh(directory or f"write-{writer}-{workload}")
            if writer == "swift":
                env = {"RUNLOG_BENCH_ONLY": workload, "RUNLOG_BENCH_DIR": d,
                       ("RUNLOG_BENCH_STEPS" if workload == "a" else "RUNLOG_BENCH_HISTOGRAMS"): str(count)}
                r = self.run([*prefix, self.swift_workloads(), "workloads"], env=env, what="runlog-bench workloads")
            else:
                r = self.run([*prefix, PY, os.path.join(HERE, "write.py"), writer, workload, str(count), d],
                             what=f"write.py {writer}")
            results.append(r[0])
        return results

    def log_calls(self, writer, workload, count):
        """(writes, fsyncs) that one untimed run of a runlog writer makes on its
        log (not on a console log), counted by strace."""
        if shutil.which("strace") is None:
            raise NotThere("strace is not installed")
        trace = os.path.join(self.work, "strace-log-calls")
        strace = ["strace", "-f", "-qq", "-y", "-s", "0", "-o", trace, "-e", "trace=write,pwrite64,writev,pwritev,fsync,fdatasync"]
        # A directory of its own: the timed runs' files stay for the read sections.
        self.write(writer, workload, count, 1, prefix=strace, directory=f"strace-{writer}-{workload}")
        with open(trace, encoding="utf-8", errors="replace") as fh:
            calls = re.findall(r"\b(\w+)\(\d+<[^>]*-s\d{4}\.rlog>", fh.read())
        fsyncs = sum(c.endswith("sync") for c in calls)
        return len(calls) - fsyncs, fsyncs

    def append_rule_cost(self, measured):
        """A line per runlog writer: its log writes and fsyncs on workload A."""
        self.out("The log's writes and fsyncs in one more run of each runlog writer (under strace, untimed; "
                 "per second: of the timed runs' median wall time). A write never lands past an unsynced "
                 "one (spec/format.md §5), so a writer makes about one fsync per write.")
        self.out()
        for writer in ("swift", "python"):
            if writer not in measured:
                continue
            label, count, _, results = measured[writer]
            try:
                writes, fsyncs = self.log_calls(writer, "a", count)
            except (NotThere, Failed) as e:
                self.out(f"- {label}: n/a ({e})")
                continue
            wall = statistics.median(r["wall_s"] for r in results)
            self.out(f"- {label}: {figure(writes)} writes, {figure(fsyncs)} fsyncs "
                     f"({figure(fsyncs / wall, 1)} per second)")
        self.out()

    WRITERS = [
        ("runlog, Swift logger (`Run.log`, `logHistogram`)", "swift", ""),
        ("runlog, Python client (`run.log`, `runlog.Histogram`)", "python", ""),
        ("tensorboardX `add_scalar` / `add_histogram`", "tensorboardx", "_tensorboardx"),
        ("W&B offline `wandb.log(..., step=i)`, `wandb.Histogram`", "wandb", "_wandb"),
        ("`numpy.histogram` alone (binning only, nothing written)", "numpy", ""),
    ]

    def check_writer(self, writer):
        if writer == "swift":
            self.swift_workloads()
        elif writer == "python":
            self.python_client()
        else:
            self.python_module({"tensorboardx": "tensorboardX", "wandb": "wandb", "numpy": "numpy"}[writer])

    def section_write(self, workload):
        full = self.size("a_steps" if workload == "a" else "b_count")
        measured = {}
        rows = []
        writers = [w for w in self.WRITERS if workload == "b" or w[1] != "numpy"]
        for label, writer, suffix in writers:
            count = self.size(("a_steps" if workload == "a" else "b_count") + suffix)
            reps = self.size("reps_fast" if writer in ("swift", "python", "numpy") else "reps_slow")
            try:
                self.check_writer(writer)
                measured[writer] = (label, count, reps, self.write(writer, workload, count, reps))
                if workload == "a" and writer in ("swift", "tensorboardx"):
                    self.cache[f"a-{writer}"] = measured[writer][3][-1]["path"], count
            except (NotThere, Failed) as e:
                rows.append((label, e))
        base = {w: per_item(m[3], "cpu_s") for w, m in measured.items()}
        table = []
        for label, writer, _ in writers:
            err = next((e for l, e in rows if l == label), None)
            if err is not None:
                table.append(self.row_error(label, err, 7))
                continue
            _, count, reps, res = measured[writer]
            cpu = per_item(res, "cpu_s")
            wall = per_item(res, "wall_s")
            size = statistics.median(r["bytes"] / r["items"] for r in res)
            unit = 1e6 if workload == "a" else 1e3
            run_on = f"{figure(count)} {'steps' if workload == 'a' else 'histograms'} × {reps}"
            if count < full:
                run_on += f" (capped; full size ≈ {figure(statistics.median(cpu) * full * (4 if workload == 'a' else 1), 0)} s CPU, extrapolated)"
            ratio = lambda w: (f"{figure(statistics.median(cpu) / statistics.median(base[w]), 2 if writer == w else None)}×"
                               if w in base else "n/a")
            if workload == "a":
                table.append([
                    label, run_on,
                    figure(1 / statistics.median(wall)),
                    spread(cpu, unit, 3),
                    figure(size, 1),
                    ratio("swift"), ratio("python"),
                ])
            else:
                table.append([
                    label, run_on,
                    spread(cpu, unit, 2),
                    figure(statistics.median(wall) * unit, 2),
                    figure(size, 0) if writer != "numpy" else "—",
                    ratio("swift"), ratio("python"),
                ])
        if workload == "a":
            self.out(f"### Workload A: writing {figure(full)} steps × 4 float64 scalars")
            self.out()
            self.table(["writer", "measured on", "points/s (wall)", "CPU µs/point: median (min–max)",
                        "bytes/point on disk", "CPU ÷ Swift logger", "CPU ÷ Python client"], table)
            self.append_rule_cost(measured)
        else:
            self.out(f"### Workload B: writing {figure(full)} histograms of 100,000 float32 values, 64 bins")
            self.out()
            self.table(["writer", "measured on", "CPU ms/histogram: median (min–max)", "wall ms/histogram",
                        "bytes/histogram on disk", "CPU ÷ Swift logger", "CPU ÷ Python client"], table)

    # -- reading

    def section_read(self):
        steps = self.size("a_steps")
        reps = self.size("reps_fast")
        table = []
        results = {}
        readers = [
            ("`runlog stats`", "stats", ["stats"]),
            ("`runlog dump --json > /dev/null`", "dump", ["dump", "--json"]),
        ]
        for label, sub, args in readers:
            try:
                cli = self.runlog_cli(sub)
                log = self.swift_log_a(steps)
                samples = [self.timed([cli] + args + [log]) for _ in range(reps)]
                results[sub] = (label, steps * 4, reps, samples)
            except (NotThere, Failed) as e:
                table.append(self.row_error(label, e, 5))
        label = "TensorBoard `EventFileLoader` (Python)"
        tb_steps = self.size("read_steps_tensorboard")
        try:
            self.python_module("tensorboard")
            samples = self.read_events(self.tensorboardx_a(tb_steps), tb_steps * 4)
            results["tensorboard"] = (label, tb_steps * 4, len(samples), samples)
        except (NotThere, Failed) as e:
            table.append(self.row_error(label, e, 5))
        anchor = results.get("tensorboard")
        anchor_rate = statistics.median([anchor[1] / c for c, _ in anchor[3]]) if anchor else None
        for key, (label, points, n, samples) in results.items():
            rates = [points / c for c, _ in samples]
            run_on = f"{figure(points)} points × {n}"
            if key == "tensorboard" and tb_steps < steps:
                run_on += f" (capped at {figure(tb_steps)} steps; rate extrapolates)"
            ratio = f"{figure(statistics.median(rates) / anchor_rate, 1)}×" if anchor else "n/a"
            table.append([label, run_on, spread_rate(rates), figure(points / statistics.median(w for _, w in samples)), ratio])
        self.out(f"### Reading workload A ({figure(steps)} steps × 4 scalars)")
        self.out()
        self.table(["reader", "measured on", "points/s per CPU second: median (min–max)", "points/s (wall)",
                    "÷ TensorBoard loader"], table)

    def tensorboardx_a(self, steps):
        """tensorboardX's event file of workload A's first `steps` steps (written once per size)."""
        path, logged = self.cache.get("a-tensorboardx") or (None, 0)
        if path is None or logged != steps:
            self.python_module("tensorboardX")
            path = self.write("tensorboardx", "a", steps, 1)[-1]["path"]
            self.cache["a-tensorboardx"] = path, steps
        return path

    def read_events(self, path, points):
        """(cpu_s, wall_s) of TensorBoard's loader reading `path`, which must hold `points` scalar values."""
        samples = []
        for _ in range(self.size("reps_slow")):
            r = self.run([PY, os.path.join(HERE, "read_tensorboard.py"), path], what="read_tensorboard.py")[0]
            if r["items"] < points:
                raise Failed(f"read {r['items']} values, {points} points were written")
            samples.append((r["cpu_s"], r["wall_s"]))
        return samples

    def last_swift_log(self):
        d = os.path.join(self.work, "write-swift-a")
        logs = [os.path.join(r, f) for r, _, fs in os.walk(d) for f in fs if f.endswith(".rlog")]
        if not logs:
            raise Failed("the Swift logger wrote no .rlog")
        return logs[0]

    # -- TensorBoard

    def swift_log_a(self, steps):
        """The Swift logger's workload A log of `steps` steps (written once per size)."""
        log, logged = self.cache.get("a-swift") or (None, 0)
        if log is None or logged != steps:
            self.write("swift", "a", steps, 1)
            log = self.last_swift_log()
            self.cache["a-swift"] = log, steps
        return log

    def export_tensorboard(self, log, name):
        """`runlog export --tensorboard` of one log: (cpu_s, wall_s) and the event file written."""
        cli = self.built("runlog", ["export", "--help"], "--tensorboard", "`runlog export --tensorboard` not built yet")
        out = self.fresh(name)
        cpu, wall = self.timed([cli, "export", "--tensorboard", out, log])
        files = [os.path.join(r, f) for r, _, fs in os.walk(out) for f in fs if "tfevents" in f]
        if len(files) != 1:
            raise Failed(f"export wrote {len(files)} event files")
        return cpu, wall, files[0]

    def section_tensorboard(self):
        steps = self.size("a_steps")
        points = steps * 4
        table = []
        export = tbx = None
        label = "`runlog export --tensorboard` of the Swift logger's log"
        try:
            log = self.swift_log_a(steps)
            export = [self.export_tensorboard(log, "tb-export")[:2] for _ in range(self.size("reps_fast"))]
        except (NotThere, Failed) as e:
            table.append(self.row_error(label, e, 5))
        tbx_label = "tensorboardX `add_scalar` (the same points, from Python)"
        tbx_steps = self.size("a_steps_tensorboardx")
        try:
            self.python_module("tensorboardX")
            tbx = self.write("tensorboardx", "a", tbx_steps, self.size("reps_slow"))
            self.cache["a-tensorboardx"] = tbx[-1]["path"], tbx_steps
        except (NotThere, Failed) as e:
            table.append(self.row_error(tbx_label, e, 5))
        base = statistics.median(c / points for c, _ in export) if export else None
        if export:
            cpu = [c / points for c, _ in export]
            table.append([label, f"{figure(points)} points × {len(export)}", spread(cpu, 1e6, 3),
                          figure(points / statistics.median(w for _, w in export)), "1.00×"])
        if tbx:
            cpu = per_item(tbx, "cpu_s")
            run_on = f"{figure(tbx_steps * 4)} points × {len(tbx)}"
            if tbx_steps < steps:
                run_on += f" (capped at {figure(tbx_steps)} steps)"
            table.append([tbx_label, run_on, spread(cpu, 1e6, 3), figure(1 / statistics.median(per_item(tbx, "wall_s"))),
                          f"{figure(statistics.median(cpu) / base, 0)}×" if base else "n/a"])
        self.out(f"### TensorBoard event files: workload A ({figure(steps)} steps × 4 scalars)")
        self.out()
        self.table(["writer", "measured on", "CPU µs/point: median (min–max)", "points/s (wall)",
                    "CPU ÷ `runlog export`"], table)
        self.section_tensorboard_read()
        self.section_tensorboard_syncd()

    def section_tensorboard_syncd(self):
        """syncd's TensorBoard destination: CPU per point of `--once` on workload A, and the live lag."""
        steps = self.size("a_steps")
        rows = []
        label = "`syncd --tensorboard --once`, workload A"
        try:
            syncd = self.syncd()
            log = self.swift_log_a(steps)
            samples = []
            for _ in range(self.size("reps_fast")):
                root, out, state = self.fresh("tbs-root"), self.fresh("tbs-out"), self.fresh("tbs-state")
                os.symlink(os.path.dirname(os.path.dirname(log)), os.path.join(root, "run"))
                samples.append(self.timed([syncd, "--root", root, "--tensorboard", out, "--state", state, "--once"]))
                files = [f for f in os.listdir(state) if f.endswith(".json")]
                with open(os.path.join(state, files[0]) if files else os.devnull) as f:
                    saved = json.loads(f.read() or "{}").get("destinations", {}).get("tensorboard", {})
                if saved.get("status") != "synced" or saved.get("pending_bytes") != 0:
                    raise Failed(f"syncd --once left the run {saved.get('status', 'unsynced')}")
            cpu = [c / (steps * 4) for c, _ in samples]
            rows.append([label, f"{figure(steps * 4)} points × {len(samples)}", f"{spread(cpu, 1e6, 3)} µs CPU/point",
                         f"{figure(steps * 4 / statistics.median(w for _, w in samples))} points/s (wall)"])
        except (NotThere, Failed) as e:
            rows.append(self.row_error(label, e, 4))
        label = "`syncd --tensorboard`, live"
        try:
            lag, how = self.tensorboard_lag()
            rows.append([label, how, lag, ""])
        except (NotThere, Failed) as e:
            rows.append(self.row_error(label, e, 4))
        self.out("### syncd's TensorBoard destination")
        self.out()
        self.table(["what", "measured on", "figure", ""], rows)

    def tensorboard_lag(self):
        """Median and p90 of (time a point is readable in the event file − its logged time)."""
        syncd = self.syncd()
        self.python_client()
        self.python_module("tensorboard")
        from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

        seconds = self.size("lag_seconds")
        root, out, state = self.fresh("tbl-root"), self.fresh("tbl-out"), self.fresh("tbl-state")
        loader = []

        def sample():
            if not loader:
                files = [os.path.join(r, f) for r, _, fs in os.walk(out) for f in fs if "tfevents" in f]
                loader.extend(EventFileLoader(f) for f in files[:1])
                return []
            return [time.time() - e.wall_time for e in loader[0].Load() if any(v.tag == "loss" for v in e.summary.value)]

        lags = self.live_lags([syncd, "--root", root, "--tensorboard", out, "--state", state], f"live-{os.getpid()}",
                              seconds, 0.02, sample, "the event file", lambda lags: len(lags) >= 10 * seconds)
        return (f"lag {figure(statistics.median(lags), 2)} s median, {figure(lags[int(len(lags) * 0.9)], 2)} s p90",
                f"Python client logging 10 steps/s for {seconds} s, flushing each step; the event file read with "
                f"TensorBoard's loader every 20 ms; {len(lags)} points")

    def section_tensorboard_read(self):
        """TensorBoard's own loader reading our event file and tensorboardX's, of the same points."""
        steps = self.size("read_steps_tensorboard")
        table = []
        results = {}
        sources = [("event file of `runlog export --tensorboard`", "runlog"), ("event file of tensorboardX", "tbx")]
        for label, source in sources:
            try:
                self.python_module("tensorboard")
                if source == "runlog":
                    path = self.export_tensorboard(self.swift_log_a(steps), "tb-read")[2]
                else:
                    path = self.tensorboardx_a(steps)
                samples = self.read_events(path, steps * 4)
                results[source] = (label, samples, os.path.getsize(path))
            except (NotThere, Failed) as e:
                table.append(self.row_error(label, e, 5))
        anchor = results.get("tbx")
        anchor_rate = statistics.median(steps * 4 / c for c, _ in anchor[1]) if anchor else None
        for label, samples, size in results.values():
            rates = [steps * 4 / c for c, _ in samples]
            table.append([label, f"{figure(steps * 4)} points × {len(samples)}", spread_rate(rates),
                          figure(size / (steps * 4), 1),
                          f"{figure(statistics.median(rates) / anchor_rate, 2)}×" if anchor else "n/a"])
        self.out(f"### TensorBoard's `EventFileLoader` reading {figure(steps)} steps × 4 scalars")
        self.out()
        self.table(["file", "measured on", "points/s per CPU second: median (min–max)", "bytes/point",
                    "÷ tensorboardX's file"], table)

    # -- sync

    def start_mlflow(self):
        if self.mlflow:
            return self.mlflow[0]
        self.python_module("mlflow")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        d = self.fresh("mlflow")
        log = open(os.path.join(d, "server.log"), "wb")
        env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
        proc = subprocess.Popen(
            [os.path.join(os.path.dirname(PY), "mlflow"), "server", "--workers", "1", "--host", "127.0.0.1",
             "--port", str(port), "--backend-store-uri", f"sqlite:///{d}/mlflow.db",
             "--artifacts-destination", f"{d}/artifacts", "--serve-artifacts"],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        self.mlflow = (url, proc)
        deadline = time.time() + 180
        while time.time() < deadline:
            if proc.poll() is not None:
                raise Failed(f"mlflow server exited with {proc.returncode}; see its log")
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as r:
                    if r.read().strip() == b"OK":
                        return url
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        raise Failed("mlflow server not ready after 180 s")

    def stop_mlflow(self):
        if self.mlflow:
            proc = self.mlflow[1]
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.mlflow = None

    def api(self, path, body=None):
        url = self.mlflow[0] + "/api/2.0/mlflow/" + path
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"{}")

    def mlflow_run(self, project, runlog_id):
        """The MLflow run syncd made for `runlog_id` (tag runlog.run_id), or None."""
        try:
            exp = self.api("experiments/get-by-name?experiment_name=" + urllib.parse.quote(project))["experiment"]
        except urllib.error.HTTPError:
            return None
        found = self.api("runs/search", {"experiment_ids": [exp["experiment_id"]],
                                         "filter": f"tags.`runlog.run_id` = '{runlog_id}'", "max_results": 2})
        runs = found.get("runs", [])
        return runs[0] if runs else None

    def history_count(self, run_id, key):
        n, token = 0, None
        while True:
            q = f"metrics/get-history?run_id={run_id}&metric_key={key}&max_results=25000"
            page = self.api(q + (f"&page_token={token}" if token else ""))
            n += len(page.get("metrics", []))
            token = page.get("next_page_token")
            if not token:
                return n

    def sync_syncd_once(self, steps):
        syncd = self.syncd()
        root = self.fresh("sync-root")
        result = self.run([self.swift_workloads(), "workloads"], what="runlog-bench workloads",
                          env={"RUNLOG_BENCH_ONLY": "a", "RUNLOG_BENCH_DIR": root, "RUNLOG_BENCH_STEPS": str(steps)})[0]
        runlog_id = os.path.basename(os.path.dirname(os.path.dirname(result["path"])))
        state = self.fresh("sync-state")
        cpu, wall = self.timed([syncd, "--root", root, "--mlflow", self.mlflow[0], "--state", state, "--once"], timeout=1800)
        run = self.mlflow_run("bench", runlog_id)
        if run is None:
            raise Failed(f"syncd --once exited 0 but MLflow has no run tagged runlog.run_id={runlog_id}")
        stored = self.history_count(run["info"]["run_id"], "loss")
        if stored != steps:
            raise Failed(f"MLflow holds {stored} points of 'loss' after syncd --once, {steps} were logged")
        return cpu, wall

    def section_sync(self):
        steps = self.size("sync_steps")
        reps = self.size("reps_slow")
        label_client, label_syncd = "MLflow `MlflowClient.log_batch` (1,000 metrics per call)", "runlog `syncd --once`"
        table, samples = [], {"client": [], "syncd": []}
        errors = {}
        try:
            self.start_mlflow()
        except (NotThere, Failed) as e:
            errors["client"] = errors["syncd"] = e
        for _ in range(reps):  # interleaved, so that both see the server in the same state
            if "client" not in errors:
                try:
                    r = self.run([PY, os.path.join(HERE, "sync_mlflow_client.py"), self.mlflow[0], str(steps)],
                                 what="sync_mlflow_client.py")[0]
                    samples["client"].append((r["cpu_s"], r["wall_s"]))
                except (NotThere, Failed) as e:
                    errors["client"] = e
            if "syncd" not in errors:
                try:
                    samples["syncd"].append(self.sync_syncd_once(steps))
                except (NotThere, Failed) as e:
                    errors["syncd"] = e
        points = steps * 4
        anchor = samples["client"] if "client" not in errors else None
        for key, label in (("syncd", label_syncd), ("client", label_client)):
            if key in errors:
                table.append(self.row_error(label, errors[key], 5))
                continue
            rates = [points / w for _, w in samples[key]]
            ratio = (f"{figure(statistics.median(rates) / statistics.median([points / w for _, w in anchor]), 2)}×"
                     if anchor else "n/a")
            cpu_us = [c / points * 1e6 for c, _ in samples[key]]
            table.append([label, f"{figure(points)} points × {len(rates)}", spread_rate(rates),
                          f"{figure(statistics.median(cpu_us), 1)}", ratio])
        self.out(f"### Sync: uploading workload A's first {figure(steps)} steps ({figure(points)} points) to one local MLflow server")
        self.out()
        self.table(["uploader", "measured on", "points/s (wall): median (min–max)", "client CPU µs/point",
                    "÷ MlflowClient"], table)
        self.out("The MLflow server (one worker, SQLite) is the bottleneck: wall time is the figure here.")
        self.out()
        self.section_syncd_service()

    def section_syncd_service(self):
        rows = []
        try:
            if self.mlflow is None:
                raise NotThere("no MLflow server")
            rows.append(["lag for a live run: file → MLflow, median (p90)"] + self.syncd_lag())
        except (NotThere, Failed) as e:
            rows.append(self.row_error("lag for a live run", e, 3))
        n = self.size("idle_runs")
        try:
            if self.mlflow is None:
                raise NotThere("no MLflow server")
            rows.extend(self.syncd_idle(n))
        except (NotThere, Failed) as e:
            rows.append(self.row_error(f"idle with {figure(n)} finished runs", e, 3))
        self.out("### syncd as a service")
        self.out()
        self.table(["figure", "value", "how"], rows)

    def live_lags(self, daemon_args, runlog_id, seconds, poll, sample, where, complete):
        """Lags of a live run: syncd with `daemon_args`, live_writer.py writing for `seconds`;
        `sample()` (called every `poll` s) returns the new lags it sees; `complete(lags)`: all arrived."""
        daemon = subprocess.Popen(daemon_args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, os.path.join(REPO, "tools", "python")]))
        root = daemon_args[daemon_args.index("--root") + 1]
        writer = subprocess.Popen([PY, os.path.join(HERE, "live_writer.py"), root, runlog_id, str(seconds)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        lags = []
        try:
            deadline = time.time() + seconds + 10
            while time.time() < deadline and (writer.poll() is None or not complete(lags)):
                time.sleep(poll)
                lags += sample()
        finally:
            writer.wait(timeout=60)
            stop_daemon(daemon)
        if writer.returncode != 0:
            raise Failed(f"live_writer.py exit {writer.returncode}: {writer.stderr.read().strip()[-200:]}")
        if len(lags) < 3:
            raise Failed(f"only {len(lags)} new points seen in {where} during a {seconds} s live run")
        return sorted(lags)

    def syncd_lag(self):
        syncd = self.syncd()
        self.python_client()
        seconds = self.size("lag_seconds")
        root, state = self.fresh("lag-root"), self.fresh("lag-state")
        runlog_id = f"live-{os.getpid()}"
        seen = {"step": None, "run": None}

        def sample():
            if seen["run"] is None:
                run = self.mlflow_run("bench", runlog_id)
                seen["run"] = run and run["info"]["run_id"]
                return []
            metrics = {m["key"]: m for m in self.api(f"runs/get?run_id={seen['run']}")["run"]["data"].get("metrics", [])}
            m = metrics.get("loss")
            if not m or m["step"] == seen["step"]:
                return []
            seen["step"] = m["step"]
            return [time.time() - int(m["timestamp"]) / 1000]

        lags = self.live_lags([syncd, "--root", root, "--mlflow", self.mlflow[0], "--state", state], runlog_id, seconds,
                              0.1, sample, "MLflow",
                              lambda _: seen["step"] is not None and seen["step"] >= 10 * seconds - 1)
        return [f"{figure(statistics.median(lags), 2)} s ({figure(lags[int(len(lags) * 0.9)], 2)} s)",
                f"Python client logging 10 steps/s for {seconds} s, flushing each step; MLflow polled every 0.1 s; "
                f"{len(lags)} samples of (time a new step appeared − its logged time)"]

    def syncd_idle(self, n):
        syncd = self.syncd()
        bench = self.swift_workloads()
        root, state = self.fresh("idle-root"), self.fresh("idle-state")
        for _ in range(n):
            self.run([bench, "workloads"], what="runlog-bench workloads",
                     env={"RUNLOG_BENCH_ONLY": "a", "RUNLOG_BENCH_DIR": root, "RUNLOG_BENCH_STEPS": "10"})
        _, wall = self.timed([syncd, "--root", root, "--mlflow", self.mlflow[0], "--state", state, "--once"], timeout=900)
        daemon = subprocess.Popen([syncd, "--root", root, "--mlflow", self.mlflow[0], "--state", state],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(5)
            if daemon.poll() is not None:
                raise Failed(f"syncd exited with {daemon.returncode} while idle")
            seconds = self.size("idle_seconds")
            c0, t0 = proc_cpu(daemon.pid), time.perf_counter()
            time.sleep(seconds)
            c1, t1 = proc_cpu(daemon.pid), time.perf_counter()
            rss = proc_rss(daemon.pid)
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        return [
            [f"idle CPU with {figure(n)} finished runs", f"{figure((c1 - c0) / (t1 - t0) * 100, 2)} % of a core",
             f"syncd running after `--once` synced them all (in {figure(wall, 1)} s); CPU over {seconds} s"],
            [f"RSS with {figure(n)} finished runs", f"{figure(rss / 2**20, 1)} MiB", "VmRSS at the end of that window"],
        ]

    # -- the components' own benchmarks

    def section_components(self):
        """Each component's own benchmark, as it prints it: runlog-bench's
        registered benchmarks and the Python client's bench script."""
        self.out("### The components' own benchmarks")
        self.out()
        self.out("As each prints its figures (in-memory format speed, the logger's caller-side cost, …); "
                 "same machine, same run.")
        self.out()
        quick = ["--quick"] if self.quick else []
        try:
            bench = self.binary("runlog-bench")
            names = [l.split("\t")[0] for l in subprocess.run([bench, "--list"], capture_output=True, text=True).stdout.splitlines()]
            commands = [([bench, n] + quick, f"runlog-bench {' '.join([n] + quick)}") for n in names if n and n != "workloads"]
        except NotThere as e:
            commands, _ = [], self.out(f"runlog-bench: n/a ({e})")
        script = os.path.join(REPO, "tools", "python", "bench", "bench_python.py")
        if os.path.exists(script):
            commands.append(([PY, script] + quick, f"python tools/python/bench/bench_python.py {' '.join(quick)}".strip()))
        else:
            self.out("tools/python/bench/bench_python.py: n/a (not there yet)")
        for cmd, title in commands:
            env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "tools", "python"))
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=env)
                text, ok = (p.stdout + p.stderr).rstrip(), p.returncode == 0
            except subprocess.TimeoutExpired:
                text, ok = "timed out after 1800 s", False
            self.out(f"`{title}`{'' if ok else ' FAILED'}:")
            self.out()
            self.out("```")
            for line in text.splitlines():
                self.out(line)
            self.out("```")
            self.out()
            if not ok:
                self.failures.append(f"{title}: {(text.splitlines() or ['no output'])[-1][:200]}")

    def section_console(self):
        import console_bench

        console_bench.section_console(self)

    def section_ignite(self):
        import ignite_bench

        ignite_bench.section_ignite(self)

    # -- all

    def header(self):
        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
        mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
        versions = subprocess.run(
            [PY, "-c", "import importlib.metadata as m\n"
             "for p in ('wandb','tensorboardX','tensorboard','mlflow','numpy','protobuf'):\n"
             "  try: print(p, m.version(p))\n  except Exception: print(p, 'missing')"],
            capture_output=True, text=True).stdout.split("\n")
        swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()
        commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        self.out(f"## Benchmark run{' (--quick: small sizes, a smoke test; figures mean little)' if self.quick else ''}")
        self.out()
        self.out(f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; commit {commit}; "
                 f"binaries: {os.path.relpath(self.bin, REPO)}")
        self.out(f"- machine: {os.cpu_count()} CPUs (`nproc` {os.sched_getaffinity(0).__len__()}), {cpu}, "
                 f"{mem / 2**20:.1f} GiB RAM, {platform.system()} {platform.release()}; load average at start "
                 f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        self.out(f"- software: {swift[0] if swift else 'swift ?'}; Python {platform.python_version()}; "
                 + ", ".join(v for v in versions if v))
        self.out("- CPU time is the process's user + system time including its threads and helper processes "
                 "(wandb's service); ratios are of CPU time; the medians are over the repetitions shown.")
        if self.keep:
            self.out(f"- work directory (kept): {self.work}")
        self.out()

    def main(self):
        self.header()
        try:
            sections = {"write-a": lambda: self.section_write("a"), "write-b": lambda: self.section_write("b"),
                        "read": self.section_read, "tensorboard": self.section_tensorboard, "sync": self.section_sync,
                        "components": self.section_components, "console": self.section_console,
                        "ignite": self.section_ignite}
            for name, section in sections.items():
                if not self.only or name in self.only:
                    started = time.perf_counter()
                    section()
                    print(f"== bench: {name} took {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        finally:
            self.stop_mlflow()
            if not self.keep:
                shutil.rmtree(self.work, ignore_errors=True)
        self.out(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if self.failures:
            self.out()
            self.out("FAILED: " + "; ".join(self.failures))
            return 1
        return 0


def stop_daemon(daemon):
    """SIGTERM, then SIGKILL after 30 s."""
    daemon.send_signal(signal.SIGTERM)
    try:
        daemon.wait(timeout=30)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()


def per_item(results, field):
    return [r[field] / r["items"] for r in results]


def figure(x, decimals=None):
    """Thousands separators; decimals chosen by size unless given."""
    if decimals is None and isinstance(x, int):
        decimals = 0
    if decimals is None:
        decimals = 0 if abs(x) >= 100 else 1 if abs(x) >= 10 else 2 if abs(x) >= 1 else 3
    return f"{x:,.{decimals}f}"


def spread(values, unit, decimals):
    v = sorted(x * unit for x in values)
    if len(v) == 1:
        return figure(v[0], decimals)
    return f"{figure(statistics.median(v), decimals)} ({figure(v[0], decimals)}–{figure(v[-1], decimals)})"


def spread_rate(rates):
    v = sorted(rates)
    if len(v) == 1:
        return figure(v[0], 0)
    return f"{figure(statistics.median(v), 0)} ({figure(v[0], 0)}–{figure(v[-1], 0)})"


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS:"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repetition: a smoke test")
    parser.add_argument("--bin", required=True, help="directory of runlog-bench, runlog and syncd")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--output", help="also write the tables to this file")
    parser.add_argument("--only", action="append", choices=["write-a", "write-b", "read", "tensorboard", "sync", "components", "console",
                                                               "ignite"],
                        help="run only this section (repeatable)")
    args = parser.parse_args()
    bench = Bench(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    status = bench.main()
    if args.output:
        with open(args.output, "w") as f:
            f.write("\n".join(bench.lines) + "\n")
    sys.exit(status)


if __name__ == "__main__":
    main()
