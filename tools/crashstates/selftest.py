# SPDX-License-Identifier: Apache-2.0
"""Shows that the explorer finds the bugs it is meant to find: it runs two
deliberately unsafe writers under it and fails unless each is caught.

- A log writer that, after its frames are synced, rewrites the first frame
  in place: a crash in the middle of that overwrite tears a durable frame.
- A state saver that truncates and rewrites its file in place, without a
  temporary file: a crash leaves a state that was never written in full.

- A log writer that appends frames without an fsync between them (against
  the append rule, spec/format.md section 5): under the weak model a crash
  keeps a later frame and loses an earlier one, a hole read as damage.

And the safe writers (temporary file, fsync, rename, directory fsync; a log
fsynced before each append) must come out clean. Exits 0 when all come out
as expected."""

import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "python"))

import checks  # noqa: E402
import fstrace  # noqa: E402
from fsmodel import Explorer  # noqa: E402
from syncstate import effective, versions_written  # noqa: E402

LOG_WRITER = r"""
import os, sys
sys.path.insert(0, sys.argv[2])
root = sys.argv[1]
import runlog
run = runlog.init(project="p", id="bad1", dir=root, flush_interval=0.01)
for i in range(30):
    run.log({"x": float(i)})
    run.flush()
run.finish()
path = os.path.join(root, "bad1", "logs", "a0001-r0000-s0000.rlog")
data = open(path, "rb").read()
fd = os.open(path, os.O_WRONLY)
# The bug: rewrite synced bytes in place (here the first 4 KiB, unchanged
# except for one byte flipped back and forth), as a writer that "fixes up"
# an earlier frame would.
chunk = bytearray(data[:4096])
os.pwrite(fd, bytes(b ^ 0xFF for b in chunk), 0)
os.pwrite(fd, bytes(chunk), 0)
os.fsync(fd)
os.close(fd)
"""

STATE_WRITER = r"""
import json, os, sys
root, safe = sys.argv[1], sys.argv[2] == "safe"
path = os.path.join(root, "run1.json")
for i in range(5):
    data = json.dumps({"run_id": "run1", "n": i, "pad": "x" * 300}).encode()
    if safe:
        fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, data); os.fsync(fd); os.close(fd)
        os.rename(path + ".tmp", path)
        d = os.open(root, os.O_RDONLY | os.O_DIRECTORY); os.fsync(d); os.close(d)
    else:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, data[:200]); os.write(fd, data[200:]); os.close(fd)
"""


APPENDER = r"""
import os, sys
sys.path.insert(0, sys.argv[2])
from runlog.logfile import FileHeader, FrameEncoder
from runlog.records import Summary
root, safe = sys.argv[1], sys.argv[3] == "safe"
path = os.path.join(root, "app1", "logs", "a0001-r0000-s0000.rlog")
os.makedirs(os.path.dirname(path))
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
os.write(fd, FileHeader("app1").encode())
encoder = FrameEncoder()
for i in range(4):
    if safe:
        os.fsync(fd)
    os.write(fd, encoder.encode(Summary([("step", i), ("pad", "x" * 600)]).encode()))
os.fsync(fd)
"""


def trace_script(tmp: str, label: str, source: str, *args: str) -> tuple:
    """Runs `source` as a Python script with ROOT (the new directory
    tmp/label) and `args`, under strace; returns (ROOT, its trace)."""
    root = os.path.join(tmp, label)
    os.makedirs(root)
    script = os.path.join(tmp, f"{label}.py")
    with open(script, "w") as fh:
        fh.write(source)
    start = fstrace.snapshot(root)
    trace_path = os.path.join(tmp, f"trace-{label}")
    status = fstrace.record([sys.executable, script, root, *args], trace_path)
    if status != 0:
        raise SystemExit(f"selftest: {label} exited {status}")
    return root, fstrace.parse(trace_path, root, start)


def run_appender(tmp: str, mode: str) -> tuple:
    """(bad states under the weak model, append-rule violations) of a log
    writer that fsyncs before each append ("safe") or never between them."""
    root, trace = trace_script(tmp, f"append-{mode}", APPENDER, os.path.join(HERE, "..", "python"), mode)
    return check_log_states(tmp, root, trace, "weak", 0), len(checks.appends_past_unsynced(trace, root))


def run_state_writer(tmp: str, mode: str) -> int:
    root, trace = trace_script(tmp, f"state-{mode}", STATE_WRITER, mode)
    name = os.path.join(root, "run1.json")
    full = {v[0] for v in versions_written(trace, name)}
    if mode == "unsafe":
        # written in place: every complete write sequence is a version
        full = {json.dumps({"run_id": "run1", "n": i, "pad": "x" * 300}).encode() for i in range(5)}
    bad = 0
    explorer = Explorer(trace)
    for state in explorer.states():
        got = effective(state.files, name, "run1")
        if got is not None and got != b"" and got not in full:
            bad += 1
    return bad


def run_log_writer(tmp: str) -> int:
    root, trace = trace_script(tmp, "logs", LOG_WRITER, os.path.join(HERE, "..", "python"))
    # The reference is the log as it was before the overwrite, which is what it holds at the end.
    return check_log_states(tmp, root, trace, "ordered", len(trace.ops) - 12)


def check_log_states(tmp: str, root: str, trace: fstrace.Trace, model: str, first: int) -> int:
    """How many crash states from point `first` on fail the log checks."""
    explorer = Explorer(trace, model)
    lc = checks.LogChecks("/bin/false", root)
    found = 0
    state_root = os.path.join(tmp, "log-state")
    import crashstates
    blobs = crashstates.Blobs(os.path.join(tmp, "blobs"))
    n = len(trace.ops)
    for k in range(max(0, first), n + 1):
        crashstates.materialize(explorer.durable(k), root, state_root, blobs)
        durable = lc.records(state_root)
        for state in explorer.states([k]):
            crashstates.materialize(state, root, state_root, blobs)
            if lc.check(state_root, durable, run_cli=False):
                found += 1
    return found


def main() -> int:
    failures = []
    with tempfile.TemporaryDirectory(prefix="crashstates-selftest-") as tmp:
        n = run_state_writer(tmp, "unsafe")
        print(f"selftest: in-place state saver: {n} torn states found")
        if n == 0:
            failures.append("the in-place state saver was not caught")
        n = run_state_writer(tmp, "safe")
        print(f"selftest: temp+fsync+rename state saver: {n} torn states found")
        if n != 0:
            failures.append("the safe state saver was flagged")
        n = run_log_writer(tmp)
        print(f"selftest: log writer overwriting a synced frame: {n} bad states found")
        if n == 0:
            failures.append("the in-place overwrite of a synced frame was not caught")
        for mode in ("unsafe", "safe"):
            n, rule = run_appender(tmp, mode)
            print(f"selftest: log writer appending {'after an fsync' if mode == 'safe' else 'without fsyncs'}: "
                  f"{n} bad states under the weak model, {rule} writes past unsynced ones")
            if mode == "unsafe" and (n == 0 or rule == 0):
                failures.append("appending past unsynced writes was not caught")
            if mode == "safe" and (n != 0 or rule != 0):
                failures.append("the writer that fsyncs before each append was flagged")
    for f in failures:
        print(f"selftest FAILED: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
