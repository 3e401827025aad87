# SPDX-License-Identifier: Apache-2.0
"""The console section of tools/bench: what capturing a process's output
costs it (runlog's helper process and wrapper against W&B offline's
redirect and wrap, in the same run), the bytes it takes on disk, and how
soon a printed line is in MLflow with syncd running.
`RUNLOG_BENCH_CONSOLE_BEFORE=DIR` adds a `redirect` row for the runlog
client in DIR (a `tools/python` of another commit), in the same rounds."""

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PY = sys.executable
TOOLS = ["off", "runlog-off", "runlog-redirect", "runlog-wrap", "off-small", "wandb-redirect", "wandb-wrap"]
LABELS = {"runlog-redirect-before": "runlog `redirect` of $RUNLOG_BENCH_CONSOLE_BEFORE", "off": "no capture", "off-small": "no capture", "runlog-off": "runlog, `console=\"off\"`",
          "runlog-redirect": "runlog `redirect` (helper process)", "runlog-wrap": "runlog `wrap`",
          "wandb-redirect": "W&B offline `redirect`", "wandb-wrap": "W&B offline `wrap`"}
# (printing, standard output unbuffered, tools, what the table shows)
TABLES = [("lines", False, TOOLS, "printing short lines (`step i loss x`, about 25 bytes each), Python's default buffering "
                                  "(block-buffered: standard output is not a terminal)"),
          ("lines", True, TOOLS[:4], "the same lines, unbuffered (`PYTHONUNBUFFERED=1`, `python -u`: one write per line)"),
          ("tqdm", False, TOOLS, "a tqdm bar (default settings, on standard error)")]


BEFORE = "runlog-redirect-before"  # the client of $RUNLOG_BENCH_CONSOLE_BEFORE, `redirect`


def tables():
    """TABLES, with a row for the client of `RUNLOG_BENCH_CONSOLE_BEFORE=DIR` (a `tools/python` of
    another commit) after runlog's own `redirect` row when that is set."""
    if not os.environ.get("RUNLOG_BENCH_CONSOLE_BEFORE"):
        return TABLES
    return [(kind, unbuffered, [t for tool in tools for t in ([tool, BEFORE] if tool == "runlog-redirect" else [tool])],
             what) for kind, unbuffered, tools, what in TABLES]


def printer(bench, kind, tool, n, unbuffered):
    """One printing process: (result dict, cpu s incl. helpers, wall s, bytes on disk)."""
    if tool.startswith("wandb"):
        bench.python_module("wandb")
    directory = bench.fresh(f"console-{kind}-{tool}-{time.monotonic_ns()}")
    client = os.environ["RUNLOG_BENCH_CONSOLE_BEFORE"] if tool == BEFORE else os.path.join(REPO, "tools", "python")
    tool = "runlog-redirect" if tool == BEFORE else tool
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, client]), WANDB_SILENT="true", RUNLOG_CONSOLE="off")
    env.pop("PYTHONUNBUFFERED", None)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    with open(os.devnull, "wb") as null, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        p = subprocess.Popen([PY, os.path.join(HERE, "console_print.py"), kind, tool.split("-small")[0], str(n), directory],
                             stdout=null, stderr=err, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        err.seek(0)
        text = err.read().decode(errors="replace")
    results = [json.loads(line[7:]) for line in text.splitlines() if line.startswith("result ")]
    if os.waitstatus_to_exitcode(status) != 0 or not results:
        raise bench.Failed(f"console_print.py {kind} {tool}: exit {os.waitstatus_to_exitcode(status)}: "
                           f"{(text.strip().splitlines() or ['no output'])[-1][:200]}")
    if tool.startswith("off"):  # what the process wrote to its standard error is the raw text (tqdm's redraws)
        results[0]["printed"] += len(text.encode()) - len(next(l for l in text.splitlines() if l.startswith("result "))) - 1
    on_disk = 0
    for root, _, files in os.walk(directory):
        for f in files:
            if (tool.startswith("runlog") and f.endswith(".rlog") and "-c" in f) or \
                    (tool == "runlog-wrap" and f.endswith(".rlog")) or \
                    (tool.startswith("wandb") and (f == "output.log" or f.endswith(".wandb"))):
                on_disk += os.path.getsize(os.path.join(root, f))
    return results[0], usage.ru_utime + usage.ru_stime, wall, on_disk


def section_console(bench):
    n, n_wandb = bench.size("console_lines"), bench.size("console_lines_wandb")
    for kind, unbuffered, tools, what in tables():
        samples, errors = {t: [] for t in tools}, {}
        size = {t: n_wandb if t.startswith("wandb") or t == "off-small" else n for t in tools}
        for rep in range(bench.size("reps_fast")):  # interleaved: every tool sees the machine in the same state
            for tool in tools:
                if tool in errors or (size[tool] == n_wandb and rep >= bench.size("reps_slow")):
                    continue
                try:
                    samples[tool].append(printer(bench, kind, tool, size[tool], unbuffered))
                except (bench.NotThere, bench.Failed) as e:
                    errors[tool] = e
        rows = []
        for tool in tools:
            if tool in errors:
                rows.append(bench.row_error(LABELS[tool], errors[tool], 10))
                continue
            small = size[tool] == n_wandb and n_wandb != n
            anchor = "off-small" if small else "off"
            base = median_of(samples, anchor, "print_s")
            base_runlog = None if small else median_of(samples, "runlog-off", "print_s")
            prints = [r["print_s"] for r, *_ in samples[tool]]
            raw = samples[anchor][0][0]["printed"] if samples[anchor] else 0
            disk = statistics.median(d for *_, d in samples[tool])
            rows.append([LABELS[tool], f"{size[tool]:,}", spread(prints),
                         f"{statistics.median(prints) / base:.2f}×" if base else "n/a",
                         f"{statistics.median(prints) / base_runlog:.2f}×" if base_runlog and tool.startswith("runlog") else "—",
                         f"{median_of(samples, tool, 'print_cpu_s'):.2f}",
                         f"{statistics.median(w for _, _, w, _ in samples[tool]):.2f}",
                         f"{statistics.median(c for _, c, _, _ in samples[tool]):.2f}",
                         "—" if tool.startswith("off") or tool == "runlog-off" else f"{disk:,.0f}",
                         f"{disk / raw:.4f}" if raw and not tool.startswith("off") and tool != "runlog-off" else f"raw: {raw:,}"])
        bench.out(f"### Console: {what}")
        bench.out()
        bench.table(["capture", "lines or iterations", "printing s: median (min–max)", "÷ no capture (same size)",
                     "÷ runlog, console off", "printing CPU s (the process)", "whole process s (wall)",
                     "CPU s (with helpers)", "bytes on disk", "÷ raw text"], rows)
    bench.out("Standard output goes to /dev/null (the terminal's stand-in); with capture the helper passes it on. "
              "Output buffering is set, not inherited: Python's default (block-buffered, as for a job's output file) "
              "or `PYTHONUNBUFFERED=1`. Printing time is measured inside the process, from its first print to its last "
              "flush; the whole process includes starting and ending the run (runlog waits for its helper to write "
              "everything). Bytes on disk: runlog's console log (`redirect`) or whole run log (`wrap`, so the run start "
              "and environment records too), W&B's `output.log` and `.wandb`. tqdm redraws a line with `\\r`: runlog "
              "keeps its final state.")
    bench.out()
    try:
        lag = console_lag(bench)
        bench.table(["figure", "value", "how"], [["console lag: print → MLflow, median (p90)"] + lag])
    except (bench.NotThere, bench.Failed) as e:
        bench.table(["figure", "value", "how"], [bench.row_error("console lag: print → MLflow", e, 3)])


def console_lag(bench):
    """A process prints a timestamped line 5 times a second with syncd running; MLflow's console artifact polled."""
    syncd = bench.syncd()
    url = bench.start_mlflow()
    seconds = bench.size("lag_seconds")
    root, state = bench.fresh("console-lag-root"), bench.fresh("console-lag-state")
    run_id = f"console-lag-{os.getpid()}"
    daemon = subprocess.Popen([syncd, "--root", root, "--mlflow", url, "--state", state],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    script = ("import sys, time, runlog\n"
              f"run = runlog.init(project='bench', dir={root!r}, id={run_id!r}, console='redirect')\n"
              f"for i in range({seconds * 5}):\n"
              "    print(f'tick {i} {time.time():.6f}', flush=True)\n"
              "    time.sleep(0.2)\n"
              "run.finish()\n")
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "tools", "python"))
    writer = subprocess.Popen([PY, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
    seen, lags, mlflow_run = set(), [], None
    try:
        deadline = time.time() + seconds + 20
        while time.time() < deadline and (writer.poll() is None or len(seen) < seconds * 5):
            time.sleep(0.1)
            if mlflow_run is None:
                found = bench.mlflow_run("bench", run_id)
                mlflow_run = found and (found["info"]["run_id"], found["info"]["experiment_id"])
                continue
            path = "console/a0001-r0000-c0000/stdout.0000.log"
            try:
                with urllib.request.urlopen(f"{url}/api/2.0/mlflow-artifacts/artifacts/{mlflow_run[1]}/"
                                            f"{mlflow_run[0]}/artifacts/{path}", timeout=10) as r:
                    text = r.read().decode()
            except (urllib.error.URLError, http.client.HTTPException, OSError):
                continue  # not there yet, or replaced while it was read
            now = time.time()
            for line in text.splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[0] == "tick" and parts[1] not in seen:
                    seen.add(parts[1])
                    lags.append(now - float(parts[2]))
    finally:
        writer.wait(timeout=60)
        bench.stop_daemon(daemon)
    if writer.returncode != 0:
        raise bench.Failed(f"the printing process exit {writer.returncode}: {writer.stderr.read().strip()[-200:]}")
    if len(lags) < 3:
        raise bench.Failed(f"only {len(lags)} printed lines seen in MLflow during a {seconds} s live run")
    lags.sort()
    return [f"{statistics.median(lags):.2f} s ({lags[int(len(lags) * 0.9)]:.2f} s)",
            f"a process printing 5 lines/s for {seconds} s (runlog `redirect`), syncd following; MLflow's console "
            f"artifact polled every 0.1 s; {len(lags)} lines, each (time first seen in MLflow − time printed)"]


def median_of(samples, tool, key):
    return statistics.median(r[key] for r, *_ in samples[tool]) if samples.get(tool) else None


def spread(values):
    v = sorted(values)
    if len(v) == 1:
        return f"{v[0]:.2f}"
    return f"{statistics.median(v):.2f} ({v[0]:.2f}–{v[-1]:.2f})"
