# SPDX-License-Identifier: Apache-2.0
"""A writer fsyncs a log before appending past a write that is not durable
yet (spec/format.md section 5): on the log's descriptor, no two writes come
without an fsync between them. Otherwise a file system that keeps a later
unsynced write and loses an earlier one leaves zeros before a frame, which
reads as damage (or, for a lost header, as not a run log)."""

import os

import runlog
from runlog import logfile
from runlog.logfile import FileHeader, LogFileWriter
from runlog.reader import LogReader
from runlog.records import Summary


class RecordingOS:
    """The `os` module as `runlog.logfile` sees it, with each `write` and
    `fsync` recorded as (path, call); `short` cuts every write to that many
    bytes at most, as a kernel may."""

    def __init__(self, short=None):
        self.calls = []
        self.short = short

    def __getattr__(self, name):
        return getattr(os, name)

    def write(self, fd, data):
        n = os.write(fd, data[: self.short] if self.short else data)
        self.calls.append((os.readlink(f"/proc/self/fd/{fd}"), "write", n))
        return n

    def fsync(self, fd):
        os.fsync(fd)
        self.calls.append((os.readlink(f"/proc/self/fd/{fd}"), "fsync", 0))


def appends_past_unsynced(calls, path):
    """How many writes to `path` came after an earlier write with no fsync between."""
    bad, unsynced = 0, False
    for p, call, _ in calls:
        if p != path:
            continue
        if call == "write":
            bad += unsynced
            unsynced = True
        else:
            unsynced = False
    return bad


def test_the_client_fsyncs_before_appending_past_an_unsynced_write(tmp_path, monkeypatch):
    calls = RecordingOS()
    monkeypatch.setattr(logfile, "os", calls)
    # Small frames, so that each pass of the writer has many of them; the
    # header is written unsynced before the run start.
    run = runlog.init(project="p", id="rule1", dir=str(tmp_path), frame_target=2048, flush_interval=0.05,
                      console="off", system_metrics_interval=0, environment=False)
    for step in range(20_000):
        run.log({"a": float(step), "b": step / 2})
        if step % 5_000 == 0:
            run.flush()
    run.finish()
    path = os.path.join(str(tmp_path), "rule1", "logs", "a0001-r0000-s0000.rlog")
    writes = [c for c in calls.calls if c[0] == path and c[1] == "write"]
    reader = LogReader(path)
    frames = sum(1 for _ in reader.frames())
    assert not reader.damage
    assert frames > 2 * len(writes) > 4, (frames, len(writes))  # frames of a pass share one write
    assert appends_past_unsynced(calls.calls, path) == 0


def test_a_short_write_is_synced_before_its_rest(tmp_path, monkeypatch):
    calls = RecordingOS(short=100)
    monkeypatch.setattr(logfile, "os", calls)
    path = str(tmp_path / "short.rlog")
    log = LogFileWriter(path, FileHeader("short1", 1, 0, 0, 0, "test"))
    for _ in range(2):  # random text: a frame of about 1,000 bytes
        log.append(Summary([("pad", os.urandom(1000).hex())]).encode())
    log.sync()
    log.close()
    writes = [c for c in calls.calls if c[1] == "write"]
    assert len(writes) > 3 and all(n <= 100 for _, _, n in writes)
    assert appends_past_unsynced(calls.calls, path) == 0
    reader = LogReader(path)
    assert sum(1 for _ in reader.frames()) == 2 and not reader.damage
