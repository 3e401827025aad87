# SPDX-License-Identifier: Apache-2.0
"""The writer: what `runlog.init` and `Run` put on disk, read back with the
reader; crash safety with real child processes."""

import fcntl
import gc
import hashlib
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time

import pytest

import runlog
from runlog import canonical
from runlog.records import CHECKPOINT, CONFIG, ENVIRONMENT, HISTOGRAM, METRICS, RUN_END, RUN_START


def rows_of(path):
    reader = runlog.LogReader(path)
    records = list(reader.records())
    assert reader.damage == [] and reader.tail() is None
    rows = [(s, dict(v)) for r in records if r.kind == METRICS for s, _, v in r.block.rows()]
    return records, rows


def test_logged_rows_read_back_exactly_with_lower_steps_kept(rundir):
    run = runlog.init(project="p", name="n", dir=rundir, id="exact")
    run.log({"loss": 0.1, "acc": 1})
    run.log({"loss": float("nan")})
    run.log({"val/acc": 0.75}, step=0)  # lower than the current step: kept
    run.log({"loss": -0.0, "lr": 1e-300, "big": 2 ** 70}, step=7)
    run.log({"after": 1.5})
    run.finish()
    records, rows = rows_of(run.path)
    assert [s for s, _ in rows] == [0, 1, 0, 7, 8]
    assert rows[0][1] == {"loss": 0.1, "acc": 1.0}
    assert rows[1][1]["loss"] != rows[1][1]["loss"]
    assert rows[2][1] == {"val/acc": 0.75}
    assert rows[3][1] == {"loss": -0.0, "lr": 1e-300, "big": float(2 ** 70)}
    assert str(rows[3][1]["loss"]) == "-0.0"
    assert records[0].kind == RUN_START and records[-1].kind == RUN_END and records[-1].status == 1


def test_numbers_of_other_types_nested_dicts_and_histograms_are_converted(rundir):
    np = pytest.importorskip("numpy")
    run = runlog.init(dir=rundir)
    with pytest.warns(UserWarning, match="'text' is a str"):
        run.log({"a": np.float32(0.5), "b": np.int64(3), "ok": True, "text": "hi",
                 "nested": {"x": 1.0, "y": {"z": 2.0}}, "w": np.arange(10.0)}, step=np.int64(4))
    run.finish()
    records, rows = rows_of(run.path)
    assert rows == [(4, {"a": 0.5, "b": 3.0, "ok": 1.0, "nested/x": 1.0, "nested/y/z": 2.0})]
    (h,) = [r for r in records if r.kind == HISTOGRAM]
    assert (h.key, h.step, h.count, h.min, h.max, sum(h.counts)) == ("w", 4, 10, 0.0, 9.0, 10)


def test_values_that_fit_binary32_are_stored_as_binary32(rundir):
    run = runlog.init(dir=rundir)
    for i in range(100):
        run.log({"f32": i / 4, "f64": i / 10})
    run.finish()
    # The environment record may share the frame, before or after the rows.
    frame = next(f for f in runlog.LogReader(run.path).frames() if any(r.kind == METRICS for r in f.records))
    block = next(r for r in frame.records if r.kind == METRICS).block
    # Column fields: key 0x2a, length (1 coding byte + width * 100 values), coding byte.
    assert b"\x2a\x91\x03\x02" in frame.content  # 401 bytes, coding 2: binary32
    assert b"\x2a\xa1\x06\x00" in frame.content  # 801 bytes, coding 0: binary64
    assert block.columns[0][0] == [i / 4 for i in range(100)]
    assert block.columns[1][0] == [i / 10 for i in range(100)]


def test_frames_stay_under_the_target_and_blocks_split(rundir):
    run = runlog.init(dir=rundir, frame_target=4096)
    for i in range(5000):
        run.log({"a": i * 0.1, "b": i * 0.3, "c": 1 / (i + 1)})
    run.finish()
    reader = runlog.LogReader(run.path)
    frames = list(reader.frames())
    assert len(frames) > 10
    assert all(len(f.content) <= 4096 for f in frames)
    _, rows = rows_of(run.path)
    assert [s for s, _ in rows] == list(range(5000))


def test_config_summary_tags_and_notes_are_written_as_records(rundir):
    run = runlog.init(dir=rundir, config={"lr": 0.1, "opt": {"name": "sgd"}}, tags=["a", "b"], notes="first")
    run.config.update({"opt": {"momentum": 0.9}})
    run.config.batch = 64
    run.summary["best"] = 0.9
    run.tags = ["b", "c"]
    run.notes = "second"
    assert run.config["opt"] == {"name": "sgd", "momentum": 0.9} and run.config.batch == 64
    run.finish()
    lines = canonical.dump(runlog.LogReader(run.path)).splitlines()
    # The environment comes from a thread of its own: once, wherever it lands before the run end.
    assert sum(json.loads(x)["kind"] == "environment" for x in lines[2:-1]) == 1
    lines = [x for x in lines if json.loads(x)["kind"] != "environment"]
    kinds = [json.loads(x)["kind"] for x in lines]
    assert kinds == ["header", "run_start", "config", "config", "config", "summary", "tags", "tags", "run_end"]
    assert json.loads(lines[1])["tags"] == ["a", "b"] and json.loads(lines[1])["notes"] == "first"
    assert json.loads(lines[2])["values"] == {"lr": 0.1, "opt": {"name": "sgd"}}
    assert json.loads(lines[3])["values"] == {"opt": {"momentum": 0.9}}
    assert json.loads(lines[6]) == {"kind": "tags", "add": ["c"], "remove": ["a"], "notes": None}
    assert json.loads(lines[7])["notes"] == "second"


def test_checkpoint_is_copied_durably_and_recorded_with_its_hash(rundir, tmp_path):
    src = tmp_path / "model weights.pt"
    src.write_bytes(b"checkpoint\n" * 1000)
    run = runlog.init(dir=rundir)
    run.log({"loss": 1.0}, step=12)
    rel = run.save_checkpoint(str(src), name="best model", aliases=["best"], metadata={"acc": 0.5})
    rel2 = run.save_checkpoint(str(src), name="best model")
    run.finish()
    assert rel == "checkpoints/best_model/12-model_weights.pt" and rel2 == "checkpoints/best_model/12.1-model_weights.pt"
    data = open(os.path.join(run.dir, rel), "rb").read()
    assert data == src.read_bytes()
    records, _ = rows_of(run.path)
    ck = [r for r in records if r.kind == CHECKPOINT]
    assert [c.path for c in ck] == [rel, rel2]
    assert ck[0].sha256 == hashlib.sha256(data).digest() and ck[0].size == len(data) and ck[0].step == 12
    assert ck[0].aliases == ["best"] and ck[0].metadata == [("acc", 0.5)]
    assert not [n for n in os.listdir(os.path.join(run.dir, "checkpoints")) if n.startswith(".tmp")]


def test_same_run_id_gets_a_new_attempt_and_resume_rules_hold(rundir):
    a = runlog.init(dir=rundir, id="job-1")
    a.finish()
    b = runlog.init(dir=rundir, id="job-1", resume="allow")
    b.finish()
    assert (a.attempt, b.attempt) == (1, 2)
    assert sorted(os.listdir(os.path.join(rundir, "job-1", "logs"))) == ["a0001-r0000-s0000.rlog", "a0002-r0000-s0000.rlog"]
    with pytest.raises(runlog.RunError, match="already exists"):
        runlog.init(dir=rundir, id="job-1", resume="never")
    with pytest.raises(runlog.RunError, match="does not exist"):
        runlog.init(dir=rundir, id="job-2", resume="must")
    with pytest.raises(runlog.RunError, match="attempt 2 .* exists"):
        runlog.init(dir=rundir, id="job-1", attempt=2)
    with pytest.raises(ValueError, match="run id"):
        runlog.init(dir=rundir, id="../escape")


def test_run_id_comes_from_the_environment_and_names_are_sanitised(rundir, monkeypatch, tmp_path):
    monkeypatch.setenv("RUNLOG_RUN_ID", "from-env")
    run = runlog.init(dir=rundir)
    src = tmp_path / "w.pt"
    src.write_bytes(b"x")
    assert run.save_checkpoint(str(src), name="..") == "checkpoints/_/0-w.pt"
    assert run.save_checkpoint(str(src), name="a/b é") == "checkpoints/a_b__/0-w.pt"
    run.finish()
    assert run.id == "from-env" and run.dir == os.path.join(os.path.abspath(rundir), "from-env")


def test_rank_comes_from_the_environment(rundir, monkeypatch):
    monkeypatch.setenv("RANK", "3")
    run = runlog.init(dir=rundir, id="ranked", config={"x": 1})
    run.finish()
    assert run.path.endswith("a0001-r0003-s0000.rlog")
    records, _ = rows_of(run.path)
    assert records[0].rank == 3 and not [r for r in records if r.kind == CONFIG]  # rank 0 writes the config


def test_log_after_finish_is_an_error_and_finish_is_idempotent(rundir):
    run = runlog.init(dir=rundir)
    run.finish()
    run.finish()
    with pytest.raises(runlog.RunError, match="finished"):
        run.log({"a": 1.0})


def test_context_manager_marks_an_exception_as_failed(rundir):
    with pytest.raises(ZeroDivisionError):
        with runlog.init(dir=rundir) as run:
            raise ZeroDivisionError("division by zero")
    records, _ = rows_of(run.path)
    assert (records[-1].status, records[-1].exit_code) == (2, 1)
    assert records[-1].message.startswith("ZeroDivisionError")


# ---------------------------------------------------------------- processes

CHILD = textwrap.dedent("""
    import os, sys, time, runlog
    run = runlog.init(dir=sys.argv[1], id="child", flush_interval=0.2)
    for i in range(int(sys.argv[2])):
        run.log({"i": float(i), "w": runlog.Histogram(range(i, i + 1000), num_bins=8)} if i % 400 == 0
                else {"i": float(i)})
    print("logged", flush=True)
    mode = sys.argv[3]
    if mode == "raise":
        raise RuntimeError("boom")
    if mode == "exit":
        sys.exit(0)
    time.sleep(60)
""")


def spawn(rundir, n, mode):
    return subprocess.Popen([sys.executable, "-c", CHILD, rundir, str(n), mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def run_end_of(rundir):
    path = os.path.join(rundir, "child", "logs", "a0001-r0000-s0000.rlog")
    records, rows = rows_of(path)
    ends = [r for r in records if r.kind == RUN_END]
    return ends[0] if ends else None, rows


def test_kill_9_loses_nothing_logged_before_the_flush_interval(rundir):
    child = spawn(rundir, 20000, "sleep")
    try:
        assert child.stdout.readline().strip() == "logged"
        live = os.path.join(rundir, "child", "logs", "a0001-r0000.live")
        info = json.load(open(live))
        assert info["pid"] == child.pid and info["locked"] is True and info["version"] == 1
        with open(live, "r+") as f:  # the writer holds the lock, as F_GETLK sees it
            probe = struct.pack("hh4xqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
            assert struct.unpack("hh4xqqi4x", fcntl.fcntl(f, fcntl.F_GETLK, probe))[0] != fcntl.F_UNLCK
            with pytest.raises(OSError):
                fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        time.sleep(1.5)  # several flush intervals
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    end, rows = run_end_of(rundir)
    assert end is None  # no goodbye: a crash
    assert [r["i"] for _, r in rows] == [float(i) for i in range(20000)]
    records, _ = rows_of(os.path.join(rundir, "child", "logs", "a0001-r0000-s0000.rlog"))
    hists = [(h.step, h.min, h.count) for h in records if h.kind == HISTOGRAM]
    assert hists == [(i, float(i), 1000) for i in range(0, 20000, 400)]
    assert os.path.exists(live)


def test_unhandled_exception_marks_the_run_failed(rundir):
    child = spawn(rundir, 10, "raise")
    _, err = child.communicate(timeout=60)
    assert child.returncode == 1 and "boom" in err
    end, rows = run_end_of(rundir)
    assert (end.status, end.exit_code, end.message) == (2, 1, "RuntimeError: boom")
    assert len(rows) == 10
    assert not os.path.exists(os.path.join(rundir, "child", "logs", "a0001-r0000.live"))


def test_interpreter_exit_marks_the_run_finished(rundir):
    child = spawn(rundir, 10, "exit")
    child.communicate(timeout=60)
    end, _ = run_end_of(rundir)
    assert child.returncode == 0 and end.status == 1


def test_sigterm_marks_the_run_killed(rundir):
    child = spawn(rundir, 10, "sleep")
    assert child.stdout.readline().strip() == "logged"
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=60)
    end, rows = run_end_of(rundir)
    assert (end.status, end.exit_code, end.message) == (3, 143, "SIGTERM") and len(rows) == 10
    assert child.returncode == 143


def test_rows_reach_the_file_within_the_flush_interval_without_finish(rundir):
    run = runlog.init(dir=rundir, flush_interval=0.2)
    run.log({"a": 1.0})
    deadline = time.monotonic() + 5
    rows = []
    while time.monotonic() < deadline and not rows:
        time.sleep(0.1)
        reader = runlog.LogReader(run.path)  # the file as a live reader sees it
        rows = [r for r in reader.records() if r.kind == METRICS]
        assert reader.damage == []
    assert rows, "a logged row was not written within 5 s"
    run.finish()


def test_heartbeat_refreshes_the_liveness_file_and_finish_removes_it(rundir):
    run = runlog.init(dir=rundir, heartbeat_interval=0.2)
    live = os.path.join(run.dir, "logs", "a0001-r0000.live")
    first = os.stat(live).st_mtime_ns
    time.sleep(0.8)
    assert os.stat(live).st_mtime_ns > first
    assert json.load(open(live))["heartbeat_interval"] == 0.2
    # Opening and closing the file in this process leaves the writer's lock held.
    child = subprocess.run([sys.executable, "-c", (
        "import fcntl, sys\n"
        "f = open(sys.argv[1], 'r+')\n"
        "try:\n    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept OSError:\n    sys.exit(3)\n"), live])
    assert child.returncode == 3
    run.finish()
    assert not os.path.exists(live)


def test_a_forked_child_does_not_end_the_parents_run(rundir):
    run = runlog.init(dir=rundir)
    pid = os.fork()
    if pid == 0:  # the child: exiting normally runs the exit handlers
        try:
            run.finish()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.path.exists(os.path.join(run.dir, "logs", "a0001-r0000.live"))
    run.log({"after_fork": 1.0})
    run.finish()
    records, rows = rows_of(run.path)
    assert rows == [(0, {"after_fork": 1.0})] and [r.kind for r in records].count(RUN_END) == 1


class FullDisk:
    """A fault injected between the writer and the real file: writes fail
    with ENOSPC while `full` is set."""

    def __init__(self, log):
        self.full = True
        self.refused = 0
        self._write = log.write_frame
        log.write_frame = self

    def __call__(self, frame):
        if self.full:
            self.refused += 1
            raise OSError(28, "No space left on device")
        self._write(frame)


def test_a_full_disk_delays_frames_and_loses_none(rundir, capfd):
    run = runlog.init(dir=rundir, flush_interval=0.05)
    disk = FullDisk(run._log)
    for i in range(2000):
        run.log({"i": float(i)})
    time.sleep(0.5)  # several retries against the full disk
    assert disk.refused >= 2
    disk.full = False
    run.log({"i": 2000.0})
    run.finish()
    _, rows = rows_of(run.path)  # no damage, no tail: failed writes were cut off again
    assert [r["i"] for _, r in rows] == [float(i) for i in range(2001)]
    err = capfd.readouterr().err
    assert "No space left on device; holding data in memory" in err and "writing" in err and "again" in err


def test_a_disk_that_stays_full_makes_finish_give_up_and_say_so(rundir):
    run = runlog.init(dir=rundir, flush_interval=0.05, write_timeout=0.5)
    run.log({"before": 1.0})
    run.flush()
    disk = FullDisk(run._log)
    run.log({"lost": 2.0})
    with pytest.raises(OSError, match="could not write .* for 0.5 s"):
        run.finish()
    assert disk.refused >= 2
    assert not os.path.exists(os.path.join(run.dir, "logs", "a0001-r0000.live"))  # reads as crashed
    reader = runlog.LogReader(run.path)
    records = list(reader.records())
    # The environment record comes from a thread of its own: written if it came before the disk filled.
    assert [r.kind for r in records if r.kind != ENVIRONMENT] == [RUN_START, METRICS] and reader.tail() is None


def test_memory_held_for_a_full_disk_is_capped(rundir):
    run = runlog.init(dir=rundir, flush_interval=0.05, max_held_bytes=4096, write_timeout=0.2)
    FullDisk(run._log)
    with pytest.raises(OSError, match="more than 4096 bytes held"):
        for i in range(100000):
            run.log({"x": i * 0.37, "y": i * 1.1})
            if i % 1000 == 0:
                time.sleep(0.01)
    with pytest.raises(OSError):
        run.finish()


def test_module_level_log_and_finish_act_on_the_last_run(rundir, monkeypatch):
    monkeypatch.setattr(runlog, "run", None)
    with pytest.raises(runlog.RunError, match="call runlog.init"):
        runlog.log({"a": 1.0})
    run = runlog.init(dir=rundir)
    assert runlog.run is run
    assert runlog.log({"a": 1.0}) is None and run.step == 1  # None, as W&B: no Out[n] after every cell
    runlog.log({"a": 2.0})
    runlog.finish()
    records, rows = rows_of(run.path)
    assert rows == [(0, {"a": 1.0}), (1, {"a": 2.0})] and records[-1].kind == RUN_END


def test_threads_logging_at_once_lose_nothing(rundir):
    import threading

    run = runlog.init(dir=rundir, flush_interval=0.05)

    def worker(k):
        for i in range(3000):
            run.log({f"t{k}": float(i)}, step=i)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.finish()
    _, rows = rows_of(run.path)
    for k in range(4):
        assert [s for s, r in rows if f"t{k}" in r] == list(range(3000))
    assert run.step == 3000


# ---------------------------------------------------------------- histograms


def histogram_fields(h):
    """What a `runlog.Histogram` and a histogram record read back have in common."""
    return (h.counts, h.low, h.high, h.edges, h.count, h.min, h.max, h.sum, h.sum_squares, h.nonfinite)


def test_histograms_logged_together_share_frames_and_read_back_exactly(rundir):
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(2)
    run = runlog.init(dir=rundir, flush_interval=30)
    logged = []
    for i in range(300):
        values = (rng.standard_normal(5000) * (1 + i / 100)).astype(np.float32)
        if i % 7 == 0:
            values[i % 5000] = np.nan
        h = runlog.Histogram(values, num_bins=64)
        run.log({"loss": 1.0 / (i + 1), "grads/w": h}, step=i)
        logged.append(("grads/w", i) + histogram_fields(h))
    run.finish()
    records, rows = rows_of(run.path)
    assert [(r.key, r.step) + histogram_fields(r) for r in records if r.kind == HISTOGRAM] == logged
    assert [s for s, _ in rows] == list(range(300))
    frames = [f for f in runlog.LogReader(run.path).frames() if any(r.kind == HISTOGRAM for r in f.records)]
    record_bytes = sum(len(f.content) for f in frames)
    assert len(frames) <= record_bytes // (64 << 10) + 1  # packed up to the frame target, not one per log call
    assert os.path.getsize(run.path) / 300 < 150  # a histogram alone in a frame takes over 200 bytes


def test_records_waiting_beyond_4_mib_are_written_before_the_interval_ends(rundir):
    run = runlog.init(dir=rundir, flush_interval=600, heartbeat_interval=600)
    edges = [float(e) for e in range(100_001)]  # about 900 KB per record
    for i in range(5):
        run.log({"big": runlog.Histogram(np_histogram=([1] * 100_000, edges))}, step=i)
    deadline = time.monotonic() + 30
    written = []
    while time.monotonic() < deadline and len(written) < 5:
        time.sleep(0.1)
        written = [r for r in runlog.LogReader(run.path).records() if r.kind == HISTOGRAM]
    assert len(written) == 5, f"{len(written)} of 5 large histograms written within 30 s"
    run.finish()


def test_a_fifo_given_as_the_checkpoint_is_refused_at_once(tmp_path):
    import runlog
    from runlog._regular import NotRegularFile

    fifo = tmp_path / "model.pt"
    os.mkfifo(fifo)
    with runlog.init(project="p", dir=str(tmp_path / "runs"), id="r", console=False) as run:
        with pytest.raises(NotRegularFile, match="a FIFO, not a regular file"):
            run.save_checkpoint(str(fifo))
    assert not [n for n in os.listdir(tmp_path / "runs" / "r" / "checkpoints") if not n.startswith(".")]


def test_queued_rows_give_the_garbage_collector_nothing_to_track(rundir):
    # Each object the cyclic collector tracks that waits in the queue counts
    # towards a collection; with a training program's heap a full one takes a
    # tenth of a second. Rows of numbers are queued without any.
    run = runlog.init(dir=rundir, console="off", system_metrics_interval=0, flush_interval=1000)
    gc.collect()
    gc.disable()
    try:
        before = len(gc.get_objects(generation=0))
        for i in range(10_000):
            run.log({"loss": float(i), "lr": 0.1}, step=i)
            run._log_row({"other": 1.0}, i)
        grew = len(gc.get_objects(generation=0)) - before
    finally:
        gc.enable()
    run.finish()
    assert grew < 100, grew
