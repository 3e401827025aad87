# SPDX-License-Identifier: Apache-2.0
"""Shows that the explorer finds the bugs it is meant to find: it runs two
deliberately unsafe writers under it and fails unless each is caught.

- A log writer that, after its frames are synced, rewrites the first frame
  in place: a crash in the middle of that overwrite tears a durable frame.
- A state saver that truncates and rewrites its file in place, without a
  temporary file: a crash leaves a state that was never written in full.

And a safe writer (temporary file, fsync, rename, directory fsync) must come
out clean. Exits 0 when all three come out as expected."""

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


def run_state_writer(tmp: str, mode: str) -> int:
    root = os.path.join(tmp, f"state-{mode}")
    os.makedirs(root)
    script = os.path.join(tmp, "state_writer.py")
    with open(script, "w") as fh:
        fh.write(STATE_WRITER)
    start = fstrace.snapshot(root)
    fstrace.record([sys.executable, script, root, mode], os.path.join(tmp, f"trace-{mode}"))
    trace = fstrace.parse(os.path.join(tmp, f"trace-{mode}"), root, start)
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
    root = os.path.join(tmp, "logs")
    os.makedirs(root)
    script = os.path.join(tmp, "log_writer.py")
    with open(script, "w") as fh:
        fh.write(LOG_WRITER)
    start = fstrace.snapshot(root)
    trace_path = os.path.join(tmp, "trace-log")
    status = fstrace.record([sys.executable, script, root, os.path.join(HERE, "..", "python")], trace_path)
    if status != 0:
        raise SystemExit(f"selftest: the log writer exited {status}")
    trace = fstrace.parse(trace_path, root, start)
    explorer = Explorer(trace)
    # The reference is the log as it was before the overwrite, which is what it holds at the end.
    lc = checks.LogChecks("/bin/false", root)
    found = 0
    state_root = os.path.join(tmp, "log-state")
    import crashstates
    blobs = crashstates.Blobs(os.path.join(tmp, "blobs"))
    n = len(trace.ops)
    for k in range(max(0, n - 12), n + 1):
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
    for f in failures:
        print(f"selftest FAILED: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
