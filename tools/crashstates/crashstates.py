# SPDX-License-Identifier: Apache-2.0
"""Crash-state exploration: records the file-system calls of a writer, then
builds every state a crash could leave on disk under a file-system model and
checks each one. See README.md.

    crashstates.py [--workload swift,swift-frames,swift-console,python,syncd] [--full] [--model ordered|weak|ordered,weak]
"""

import argparse
import hashlib
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from typing import Callable, Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tools", "python"))

import checks  # noqa: E402
import fstrace  # noqa: E402
from fsmodel import Explorer, State  # noqa: E402


class Report:
    def __init__(self) -> None:
        self.violations: List[str] = []
        self.by_model: Dict[str, Dict[str, int]] = {}   # model → workload → distinct states
        self.seconds: Dict[str, float] = {}

    def add(self, workload: str, state: State, problems: List[str]) -> None:
        for p in problems:
            self.violations.append(f"{workload}: crash before op {state.point} ({state.what}): {p}")

    def explored(self, model: str, workload: str, states: int) -> None:
        self.by_model.setdefault(model, {})[workload] = states

    def last_line(self, scope: str) -> str:
        """`crashstates: N crash states (SCOPE; MODEL M: WORKLOAD n, …; …), V violations`:
        distinct states per model and workload, and every violation found."""
        total = sum(sum(w.values()) for w in self.by_model.values())
        parts = "; ".join(f"{model} {sum(w.values())}: " + ", ".join(f"{k} {v}" for k, v in w.items())
                          for model, w in self.by_model.items())
        return f"crashstates: {total} crash states ({scope}; {parts}), {len(self.violations)} violations"


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


class _Job:
    """What a checking process needs, shared with it by fork (module global)."""

    explorer: Explorer
    checks: checks.LogChecks
    reopen: Callable[[str], List[str]]
    root: str
    work: str
    args: argparse.Namespace
    cli_budget: int


_JOB = _Job()


def _check_points(points: List[int]) -> Tuple[Dict[str, List[str]], Dict[str, str], int, Dict[str, float]]:
    """Checks every distinct crash state of some crash points, in a process of
    its own with its own scratch directory. Returns (digest → violations) of
    each state checked, (digest → how it came about) of the violating ones,
    how many went through the CLI, and the seconds spent per phase."""
    job = _JOB
    scratch = os.path.join(job.work, f"check{os.getpid()}")
    state_root = os.path.join(scratch, "state")
    blobs = Blobs(os.path.join(scratch, "blobs"))
    results: Dict[str, List[str]] = {}
    what: Dict[str, str] = {}
    cli_checked = 0
    spent: Dict[str, float] = {"build": 0.0, "read": 0.0, "cli": 0.0, "reopen": 0.0}
    clock = time.perf_counter()

    def lap(phase: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        spent[phase] += now - clock
        clock = now

    for k in points:
        durable_state = job.explorer.durable(k)
        materialize(durable_state, job.root, state_root, blobs)
        durable = job.checks.records(state_root)
        reopened = False
        lap("build")
        for state in job.explorer.states([k]):
            digest = state.digest()
            if digest in results:
                lap("build")
                continue
            materialize(state, job.root, state_root, blobs)
            lap("build")
            run_cli = job.args.full or cli_checked < job.cli_budget
            problems = job.checks.check(state_root, durable, False)
            lap("read")
            if run_cli and not problems:
                problems = job.checks.cli(state_root, job.checks.ended(state_root))
                lap("cli")
            cli_checked += run_cli
            if not problems and not reopened and k % job.args.reopen_every == 0:
                problems = job.reopen(state_root)
                reopened = True
                lap("reopen")
            results[digest] = problems
            if problems:
                what[digest] = f"crash before op {state.point} ({state.what})"
                if job.args.keep_failures and len(what) <= 20:
                    shutil.copytree(state_root, os.path.join(job.args.keep_failures, f"{k}-{digest[:8]}"),
                                    symlinks=True)
    shutil.rmtree(scratch, ignore_errors=True)
    return results, what, cli_checked, spent


def explore_logs(name: str, argv: List[str], reopen: Callable[[str], List[str]], runlog_bin: str, work: str,
                 args: argparse.Namespace, report: Report) -> None:
    """Records `argv` writing a run under work/root, checks the append rule
    on the trace, then under each model checks every crash state, crash
    points spread over `args.jobs` processes. States that are byte-for-byte
    identical are checked and counted once per model."""
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
    rule = checks.appends_past_unsynced(trace, root)
    report.violations += [f"{name}: append rule: {v}" for v in rule[:10]]
    if len(rule) > 10:
        report.violations.append(f"{name}: append rule: {len(rule) - 10} more writes past unsynced ones")
    for model in args.models:
        explore_model(name, model, trace, reopen, runlog_bin, work, root, args, report)


def explore_model(name: str, model: str, trace: fstrace.Trace, reopen: Callable[[str], List[str]],
                  runlog_bin: str, work: str, root: str, args: argparse.Namespace, report: Report) -> None:
    n_ops = len(trace.ops)
    points = list(range(n_ops + 1))
    if not args.full:
        stride = max(1, n_ops // args.points)
        points = sorted(set(points[::stride] + [n_ops]))
    _JOB.explorer = Explorer(trace, model)
    _JOB.checks = checks.LogChecks(runlog_bin, root)
    _JOB.reopen = reopen
    _JOB.root = root
    _JOB.work = work
    _JOB.args = args
    # Consecutive points share most of their states: tasks are runs of
    # neighbouring points, small enough to spread the work evenly.
    size = max(1, min(16, len(points) // (4 * args.jobs) or 1))
    tasks = [points[i:i + size] for i in range(0, len(points), size)]
    _JOB.cli_budget = -(-args.cli_limit // len(tasks))   # without --full, the CLI checks spread over the tasks
    started = time.monotonic()
    seen: Dict[str, List[str]] = {}
    cli_checked = 0
    spent: Dict[str, float] = {}
    last_report = time.monotonic()
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        for done, (results, what, cli, phases) in enumerate(pool.imap_unordered(_check_points, tasks), 1):
            cli_checked += cli
            for phase, seconds in phases.items():
                spent[phase] = spent.get(phase, 0.0) + seconds
            if time.monotonic() - last_report > 60:
                last_report = time.monotonic()
                print(f"  {name}: {done}/{len(tasks)} tasks, {len(seen)} states, "
                      f"{time.monotonic() - started:.0f} s", flush=True)
            for digest, problems in results.items():
                if digest in seen:
                    continue
                seen[digest] = problems
                if problems:
                    report.violations += [f"{name} ({model}): {what[digest]}: {p}" for p in problems]
    explored = len(seen)
    report.explored(model, name, explored)
    elapsed = time.monotonic() - started
    phases = ", ".join(f"{phase} {seconds:.0f}" for phase, seconds in spent.items())
    print(f"  {name} ({model}): {n_ops} operations, {len(points)} crash points, {explored} distinct crash states "
          f"({cli_checked} checks through runlog verify/ls) in {elapsed:.0f} s "
          f"(process seconds: {phases})", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", default="swift,swift-frames,swift-console,python,syncd")
    ap.add_argument("--full", action="store_true", help="every crash point, every state through the CLI")
    ap.add_argument("--model", default="ordered", help="ordered, weak, or both: ordered,weak (one trace, explored twice)")
    ap.add_argument("--points", type=int, default=40, help="crash points sampled per workload without --full")
    ap.add_argument("--cli-limit", type=int, default=60, help="states checked through the CLI without --full")
    ap.add_argument("--reopen-every", type=int, default=7)
    ap.add_argument("--keep-failures", metavar="DIR")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="checking processes (default: one per CPU)")
    ap.add_argument("--runlog", default=os.path.join(REPO, ".build", "debug", "runlog"))
    ap.add_argument("--syncd", default=os.path.join(REPO, ".build", "debug", "syncd"))
    args = ap.parse_args()
    args.models = args.model.split(",")
    if not args.models or any(m not in ("ordered", "weak") for m in args.models):
        ap.error(f"--model: ordered, weak or ordered,weak, not {args.model!r}")
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
            # With --full: 10,000 steps and a checkpoint every 1,000 (each one a few MiB,
            # every write of which is a crash point of its own).
            steps, every = ("10000", "1000") if args.full else ("150", "100")
            argv = [args.runlog, "demo", "--steps", steps, "--rate", "500", "--histograms-every", "50",
                    "--checkpoint-every", every, "--dir", os.path.join(work, "root"), "--id", "swift1"]

            def reopen_swift(root: str) -> List[str]:
                return checks.reopen(args.runlog, root, [args.runlog, "demo", "--steps", "3", "--dir", root,
                                                                "--id", "swift1", "--checkpoint-every", "0"])
            explore_logs("swift logger", argv, reopen_swift, args.runlog, work, args, report)
        if "swift-frames" in workloads:
            # Many small frames and flushes: the logger's own test writer,
            # writing every 0.05 s and flushing every 1,000 rows.
            work = os.path.join(tmp, "swift-frames")
            os.makedirs(work)
            writer = os.path.join(REPO, ".build", "debug", "RunLogTestWriter")
            rows = "120000" if args.full else "8000"
            argv = [writer, "logger", os.path.join(work, "root"), "frames1", rows]

            def reopen_frames(root: str) -> List[str]:
                return checks.reopen(args.runlog, root, [writer, "logger", root, "frames1", "10"])
            explore_logs("swift frames", argv, reopen_frames, args.runlog, work, args, report)
        if "swift-console" in workloads:
            # The Swift logger's console capture: pieces of text printed 50 ms
            # apart, written by the capture's own processes to a console log.
            work = os.path.join(tmp, "swift-console")
            os.makedirs(work)
            writer = os.path.join(REPO, ".build", "debug", "RunLogTestWriter")
            argv = [writer, "console-bytes", os.path.join(work, "root"), "console1"]

            def reopen_console(root: str) -> List[str]:
                return checks.reopen(args.runlog, root, [writer, "console-bytes", root, "console1"])
            explore_logs("swift console", argv, reopen_console, args.runlog, work, args, report)
        if "python" in workloads:
            work = os.path.join(tmp, "python")
            os.makedirs(work)
            steps = "10000" if args.full else "80"
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
    print(report.last_line("every crash point" if args.full else f"about {args.points} crash points per workload"))
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
