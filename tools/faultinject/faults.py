# SPDX-License-Identifier: Apache-2.0
"""Fault injection at every file-system call: each call that the Swift
logger, the Python client or syncd's state store makes under its directory
is made to fail once, in turn, with EIO, ENOSPC, EINTR or a short write, and
the outcome is checked against what the documentation promises. See
README.md.

    faults.py [--workload swift,python,syncd] [--full]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tools", "crashstates"))
sys.path.insert(0, os.path.join(REPO, "tools", "python"))

CALLS = ("open", "write", "fsync", "rename", "link", "unlink", "truncate", "mkdir")
ERRORS = ("EIO", "ENOSPC", "EINTR", "SHORT")
CRASH_MARKERS = ("Fatal error", "Traceback (most recent call last)", "Segmentation fault", "Illegal instruction",
                 "Exception in thread")

PY_WORKLOAD = r"""
import sys
import runlog
root, run_id, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    run = runlog.init(project="faults", id=run_id, dir=root, config={"lr": 0.1}, flush_interval=0.02,
                      console="off")
except (runlog.RunError, OSError) as e:
    print(f"workload: {e}", file=sys.stderr)
    sys.exit(3)
import os, time
src = os.path.join(os.path.dirname(root), run_id + "-model.bin")
open(src, "wb").write(b"m" * 5000)
for s in range(steps):
    run.log({"a": float(s), "b": s / 2})
    if s % 25 == 0:
        time.sleep(0.03)
    if s == steps // 2:
        try:
            run.save_checkpoint(src, name="model")
        except (runlog.RunError, OSError) as e:
            print(f"workload: checkpoint: {e}", file=sys.stderr)
run.summary["done"] = 1
run.finish()
"""


def build_shim(work: str) -> str:
    out = os.path.join(work, "faultshim.so")
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", out, os.path.join(HERE, "faultshim.c"), "-ldl"],
                   check=True)
    return out


class Outcome:
    def __init__(self, status: int, stderr: str, log: List[str]):
        self.status = status
        self.stderr = stderr
        self.injected = [line for line in log if line.startswith("injected")]
        self.counts = {p[1]: int(p[2]) for p in (line.split() for line in log if line.startswith("count"))}


def run_with(shim: str, argv: List[str], root: str, call: str = "", n: int = 0, err: str = "",
             timeout: float = 120, env: Optional[Dict[str, str]] = None) -> Outcome:
    log = root.rstrip("/") + ".faultlog"
    if os.path.exists(log):
        os.unlink(log)
    e = dict(os.environ, **(env or {}))
    e["PYTHONPATH"] = os.path.join(REPO, "tools", "python")
    e.update(LD_PRELOAD=shim, FAULT_ROOT=root, FAULT_LOG=log, FAULT_CALL=call, FAULT_N=str(n), FAULT_ERR=err,
             SWIFT_BACKTRACE="enable=no", RUNLOG_SYSTEM_METRICS_INTERVAL="0")
    e.pop("FAULT_OWNER", None)
    try:
        p = subprocess.run(argv, env=e, capture_output=True, text=True, timeout=timeout)
        status, stderr = p.returncode, p.stderr
    except subprocess.TimeoutExpired as t:
        status, stderr = -999, f"timed out after {timeout} s: {t.stderr!r}"
    lines = open(log).read().splitlines() if os.path.exists(log) else []
    return Outcome(status, stderr, lines)


def points_in(runlog_bin: str, run_dir: str) -> Tuple[int, int, str]:
    """(metric points, dropped points recorded in runlog/dropped, verify's verdict)."""
    v = subprocess.run([runlog_bin, "verify", run_dir], capture_output=True, text=True, timeout=60)
    d = subprocess.run([runlog_bin, "dump", "--json", run_dir], capture_output=True, text=True, timeout=60)
    points, dropped = 0, 0
    for line in d.stdout.splitlines():
        r = json.loads(line)
        if r["kind"] == "metrics":
            points += len(r["values"])
        elif r["kind"] == "summary" and isinstance(r["values"].get("runlog/dropped"), dict):
            dropped = r["values"]["runlog/dropped"].get("points", 0)
    verdict = "intact" if v.returncode == 0 else f"verify exit {v.returncode}: {(v.stdout + v.stderr).strip()[-200:]}"
    return points, dropped, verdict


class Writer:
    """A writer workload: how to run it, and which exit statuses its
    documentation allows for a failed call."""

    def __init__(self, name: str, argv_for, expected_points: int, failure_statuses: Tuple[int, ...]):
        self.name = name
        self.argv_for = argv_for
        self.expected_points = expected_points
        self.failure_statuses = failure_statuses


def check_writer(w: Writer, shim: str, runlog_bin: str, work: str, full: bool, report: List[str]) -> int:
    base = os.path.join(work, w.name.replace(" ", "-"))
    os.makedirs(base)
    counted = run_with(shim, w.argv_for(os.path.join(base, "count"), "count1"), os.path.join(base, "count"))
    if counted.status != 0:
        raise SystemExit(f"faults: {w.name}: the workload fails without a fault: {counted.stderr[-300:]}")
    points = [(c, n) for c in CALLS for n in range(1, counted.counts.get(c, 0) + 1)]
    if not full:
        points = [p for i, p in enumerate(points) if i % 5 == 0][:20]
    covered = 0
    for i, (call, n) in enumerate(points):
        for err in ERRORS:
            if err == "SHORT" and call != "write":
                continue
            root = os.path.join(base, f"r{i}-{err}")
            run_id = f"f{i}{err.lower()}"
            out = run_with(shim, w.argv_for(root, run_id), root, call, n, err)
            if not out.injected:
                continue   # this run made fewer such calls (timing): nothing was injected
            covered += 1
            where = f"{w.name}: {call} #{n} fails with {err}"
            problems = []
            crash = next((m for m in CRASH_MARKERS if m in out.stderr), None)
            if out.status < 0 or out.status >= 128 or crash:
                problems.append(f"crashed (status {out.status}): {out.stderr.strip()[-300:]}")
            elif out.status not in (0,) + w.failure_statuses:
                problems.append(f"exit {out.status}, not a documented status: {out.stderr.strip()[-200:]}")
            elif out.status != 0 and len(out.stderr.strip().splitlines()) > 3:
                problems.append(f"exit {out.status} with {len(out.stderr.splitlines())} lines on stderr, "
                                f"not one: {out.stderr.strip()[-300:]}")
            run_dir = os.path.join(root, run_id)
            if os.path.isdir(os.path.join(run_dir, "logs")) and any(
                    f.endswith(".rlog") for f in os.listdir(os.path.join(run_dir, "logs"))):
                got, dropped, verdict = points_in(runlog_bin, run_dir)
                if verdict != "intact":
                    problems.append(verdict)
                if out.status == 0 and got + dropped != w.expected_points:
                    problems.append(f"{w.expected_points - got - dropped} points lost without a count "
                                    f"({got} written, {dropped} counted as dropped)")
                if err in ("EINTR", "SHORT") and out.status == 0 and dropped:
                    problems.append(f"{dropped} points dropped for an {err} that a retry absorbs")
            elif out.status == 0:
                problems.append("exit 0 but no log")
            for p in problems:
                report.append(f"{where}: {p}")
            if not problems:
                shutil.rmtree(root, ignore_errors=True)
    print(f"  {w.name}: {sum(counted.counts.values())} calls under its directory, {covered} injections checked")
    return covered


def check_syncd(args, shim: str, work: str, report: List[str]) -> int:
    import syncstate
    base = os.path.join(work, "syncd")
    runs = os.path.join(base, "runs")
    os.makedirs(base)
    mlflow_dir = os.path.join(base, "mlflow")
    mlflow = syncstate.MLflowServer(mlflow_dir, f"sqlite:///{mlflow_dir}/mlflow.db", 1)
    covered = 0
    try:
        proxy = syncstate.FaultProxy(mlflow.port)
        url = f"http://127.0.0.1:{proxy.port}"

        def make_run(run_id: str) -> int:
            subprocess.run([args.runlog, "demo", "--steps", "1200", "--histograms-every", "600",
                            "--checkpoint-every", "0", "--dir", runs, "--id", run_id, "--project", "faults"],
                           check=True, capture_output=True, timeout=120)
            return syncstate.count_points(args.runlog, os.path.join(runs, run_id))

        def syncd(state: str, call: str = "", n: int = 0, err: str = "") -> Outcome:
            return run_with(shim, [args.syncd, "--once", "--root", runs, "--state", state, "--mlflow", url],
                            state, call, n, err, timeout=300)

        total = make_run("s0")
        counted = syncd(os.path.join(base, "state-count"))
        if counted.status != 0:
            raise SystemExit(f"faults: syncd fails without a fault: {counted.stderr[-300:]}")
        shutil.rmtree(os.path.join(runs, "s0"))
        points = [(c, n) for c in CALLS for n in range(1, counted.counts.get(c, 0) + 1)]
        if not args.full:
            points = [p for i, p in enumerate(points) if i % 6 == 0][:8]
        for i, (call, n) in enumerate(points):
            for err in ERRORS:
                if err == "SHORT" and call != "write":
                    continue
                if not args.full and err in ("ENOSPC",):
                    continue
                run_id = f"s{i}{err.lower()}"
                total = make_run(run_id)
                state = os.path.join(base, f"state-{run_id}")
                mark = len(proxy.acks)
                out = syncd(state, call, n, err)
                problems = []
                if out.injected:
                    covered += 1
                    crash = next((m for m in CRASH_MARKERS if m in out.stderr), None)
                    if out.status < 0 or out.status >= 128 or crash:
                        problems.append(f"crashed (status {out.status}): {out.stderr.strip()[-300:]}")
                    elif out.status not in (0, 4):
                        problems.append(f"exit {out.status}, not 0 or 4: {out.stderr.strip()[-200:]}")
                    again = syncd(state)
                    if again.status != 0:
                        problems.append(f"the next syncd --once exited {again.status}: {again.stderr.strip()[-200:]}")
                    sent = proxy.sent_since(mark)
                    if sent < total:
                        problems.append(f"{total - sent} metric points never sent")
                    elif sent > total + syncstate.BATCH:
                        problems.append(f"{sent - total} metric points sent twice: more than one request")
                for p in problems:
                    report.append(f"syncd state: {call} #{n} fails with {err}: {p}")
                shutil.rmtree(os.path.join(runs, run_id), ignore_errors=True)
    finally:
        mlflow.stop()
    print(f"  syncd state: {sum(counted.counts.values())} calls under its state directory, "
          f"{covered} injections checked")
    return covered


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", default="swift,python,syncd")
    ap.add_argument("--full", action="store_true", help="every call, every fault")
    ap.add_argument("--runlog", default=os.path.join(REPO, ".build", "debug", "runlog"))
    ap.add_argument("--syncd", default=os.path.join(REPO, ".build", "debug", "syncd"))
    args = ap.parse_args()
    report: List[str] = []
    covered = 0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="faults-") as work:
        shim = build_shim(work)
        workloads = args.workload.split(",")
        if "swift" in workloads:
            steps = 600

            def swift_argv(root: str, run_id: str) -> List[str]:
                return [args.runlog, "demo", "--steps", str(steps), "--rate", "2000", "--histograms-every", "200",
                        "--checkpoint-every", "300", "--dir", root, "--id", run_id]
            covered += check_writer(Writer("swift logger", swift_argv, steps * 4, (2,)), shim, args.runlog, work,
                                    args.full, report)
        if "python" in workloads:
            steps = 300
            script = os.path.join(work, "workload.py")
            with open(script, "w") as fh:
                fh.write(PY_WORKLOAD)

            def python_argv(root: str, run_id: str) -> List[str]:
                return [sys.executable, script, root, run_id, str(steps)]
            covered += check_writer(Writer("python client", python_argv, steps * 2, (3,)), shim, args.runlog, work,
                                    args.full, report)
        if "syncd" in workloads:
            covered += check_syncd(args, shim, work, report)
    for r in report:
        print(f"VIOLATION {r}")
    print(f"faults: {covered} injection points checked in {time.monotonic() - started:.0f} s, "
          f"{len(report)} violations")
    return 1 if report else 0


if __name__ == "__main__":
    sys.exit(main())
