# SPDX-License-Identifier: Apache-2.0
"""Crash-state exploration: records the file-system calls of a writer, then
builds every state a crash could leave on disk under a file-system model and
checks each one. See README.md.

    crashstates.py [--workload swift,python,syncd] [--full] [--model ordered|weak]
"""

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from typing import Callable, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tools", "python"))

import checks  # noqa: E402
import fstrace  # noqa: E402
from fsmodel import Explorer, State  # noqa: E402


class Report:
    def __init__(self) -> None:
        self.explored = 0
        self.violations: List[str] = []
        self.by_workload: Dict[str, int] = {}

    def add(self, workload: str, state: State, problems: List[str]) -> None:
        for p in problems:
            self.violations.append(f"{workload}: crash before op {state.point} ({state.what}): {p}")


class Blobs:
    """Materializes states quickly: files above 64 KiB are hard links to one
    copy per content."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        os.makedirs(directory, exist_ok=True)

    def write(self, path: str, data: bytes) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if len(data) < 65536:
            with open(path, "wb") as fh:
                fh.write(data)
            return
        blob = os.path.join(self.directory, hashlib.sha256(data).hexdigest())
        if not os.path.exists(blob):
            with open(blob, "wb") as fh:
                fh.write(data)
            os.chmod(blob, 0o444)
        os.link(blob, path)


def materialize(state: State, old_root: str, new_root: str, blobs: Blobs) -> None:
    if os.path.exists(new_root):
        shutil.rmtree(new_root)
    os.makedirs(new_root)
    for d in sorted(state.dirs):
        if d.startswith(old_root + "/"):
            os.makedirs(new_root + d[len(old_root):], exist_ok=True)
    for name, data in state.files.items():
        if name.startswith(old_root + "/"):
            blobs.write(new_root + name[len(old_root):], data)


def explore_logs(name: str, argv: List[str], reopen: Callable[[str], List[str]], runlog_bin: str, work: str,
                 args: argparse.Namespace, report: Report) -> None:
    """Records `argv` writing a run under work/root, then checks every crash state."""
    root = os.path.join(work, "root")
    os.makedirs(root)
    trace_path = os.path.join(work, "trace")
    start = fstrace.snapshot(root)
    status = fstrace.record(argv, trace_path)
    if status != 0:
        raise SystemExit(f"crashstates: {name}: the workload exited {status}")
    trace = fstrace.parse(trace_path, root, start)
    if trace.unparsed:
        print(f"  {name}: {trace.unparsed} trace lines not understood", file=sys.stderr)
    explorer = Explorer(trace, args.model)
    lc = checks.LogChecks(runlog_bin, root)
    blobs = Blobs(os.path.join(work, "blobs"))
    seen: Dict[str, bool] = {}
    state_root = os.path.join(work, "state")
    n_ops = len(trace.ops)
    points = list(range(n_ops + 1))
    if not args.full:
        stride = max(1, n_ops // args.points)
        points = sorted(set(points[::stride] + [n_ops]))
    explored = 0
    cli_checked = 0
    started = time.monotonic()
    for k in points:
        durable_state = explorer.durable(k)
        materialize(durable_state, root, state_root, blobs)
        durable = lc.records(state_root)
        reopened = False
        for state in explorer.states([k]):
            digest = state.digest()
            if digest in seen:
                continue
            seen[digest] = True
            explored += 1
            materialize(state, root, state_root, blobs)
            run_cli = args.full or cli_checked < args.cli_limit
            problems = lc.check(state_root, durable, run_cli)
            cli_checked += run_cli
            if not problems and not reopened and (args.full or k % args.reopen_every == 0):
                problems = reopen(state_root)
                reopened = True
            if problems:
                report.add(name, state, problems)
                if args.keep_failures and len(report.violations) <= 20:
                    shutil.copytree(state_root, os.path.join(args.keep_failures, f"{name}-{k}-{digest[:8]}"),
                                    symlinks=True)
    report.explored += explored
    report.by_workload[name] = explored
    print(f"  {name}: {n_ops} operations, {len(points)} crash points, {explored} distinct crash states "
          f"({cli_checked} also through runlog verify/ls) in {time.monotonic() - started:.0f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", default="swift,swift-frames,python,syncd")
    ap.add_argument("--full", action="store_true", help="every crash point, every state through the CLI")
    ap.add_argument("--model", default="ordered", choices=["ordered", "weak"])
    ap.add_argument("--points", type=int, default=40, help="crash points sampled per workload without --full")
    ap.add_argument("--cli-limit", type=int, default=60, help="states checked through the CLI without --full")
    ap.add_argument("--reopen-every", type=int, default=7)
    ap.add_argument("--keep-failures", metavar="DIR")
    ap.add_argument("--runlog", default=os.path.join(REPO, ".build", "debug", "runlog"))
    ap.add_argument("--syncd", default=os.path.join(REPO, ".build", "debug", "syncd"))
    args = ap.parse_args()
    if shutil.which("strace") is None:
        print("crashstates: strace is not installed (Debian: apt-get install strace)", file=sys.stderr)
        return 2
    report = Report()
    python = sys.executable
    workloads = args.workload.split(",")
    with tempfile.TemporaryDirectory(prefix="crashstates-") as tmp:
        if "swift" in workloads:
            work = os.path.join(tmp, "swift")
            os.makedirs(work)
            steps = "5000" if args.full else "150"
            argv = [args.runlog, "demo", "--steps", steps, "--rate", "500", "--histograms-every", "50",
                    "--checkpoint-every", "100", "--dir", os.path.join(work, "root"), "--id", "swift1"]

            def reopen_swift(root: str) -> List[str]:
                return checks.reopen(args.runlog, root, [args.runlog, "demo", "--steps", "3", "--dir", root,
                                                                "--id", "swift1", "--checkpoint-every", "0"])
            explore_logs("swift logger", argv, reopen_swift, args.runlog, work, args, report)
        if "swift-frames" in workloads:
            # Many small frames and flushes: the logger's own test writer,
            # writing every 0.05 s and flushing every 1,000 rows.
            work = os.path.join(tmp, "swift-frames")
            os.makedirs(work)
            writer = os.path.join(os.path.dirname(args.runlog), "RunLogTestWriter")
            rows = "60000" if args.full else "8000"
            argv = [writer, "logger", os.path.join(work, "root"), "frames1", rows]

            def reopen_frames(root: str) -> List[str]:
                return checks.reopen(args.runlog, root, [writer, "logger", root, "frames1", "10"])
            explore_logs("swift frames", argv, reopen_frames, args.runlog, work, args, report)
        if "python" in workloads:
            work = os.path.join(tmp, "python")
            os.makedirs(work)
            steps = "3000" if args.full else "80"
            argv = [python, os.path.join(HERE, "workload_python.py"), os.path.join(work, "root"), "py1", steps]

            def reopen_python(root: str) -> List[str]:
                return checks.reopen(args.runlog, root, [python, os.path.join(HERE, "workload_python.py"),
                                                                 root, "py1", "3"])
            explore_logs("python client", argv, reopen_python, args.runlog, work, args, report)
        if "syncd" in workloads:
            import syncstate
            work = os.path.join(tmp, "syncd")
            os.makedirs(work)
            syncstate.explore(args, work, report)
    for v in report.violations:
        print(f"VIOLATION {v}")
    parts = ", ".join(f"{k} {v}" for k, v in report.by_workload.items())
    print(f"crashstates: {report.explored} crash states ({parts}), {len(report.violations)} violations")
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
