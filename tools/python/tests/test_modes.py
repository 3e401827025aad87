# SPDX-License-Identifier: Apache-2.0
"""Turning runlog off, a second init in one process, two writers of one
run id and rank, and the names of runs started without one."""

import os

import pytest

import runlog
from runlog.names import ADJECTIVES, NOUNS, fnv1a64, generated_name
from runlog.records import RUN_START


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_a_disabled_run_accepts_every_call_and_writes_nothing(rundir, tmp_path, monkeypatch, how):
    if how == "environment":
        monkeypatch.setenv("RUNLOG_MODE", "disabled")
    run = runlog.init(project="p", dir=rundir, config={"lr": 0.1}, tags=["a"],
                      **({"mode": "disabled"} if how == "argument" else {}))
    assert run.disabled
    (tmp_path / "m.pt").write_bytes(b"x")
    with run:
        run.log({"loss": 1.0})
        run.log({"h": runlog.Histogram([1, 2])}, step=7)
        run.log({"a": 1.0}, commit=False)
        run.config.update({"bs": 2})
        run.summary["best"] = 1.0
        run.tags = ["b"]
        run.notes = "n"
        run.save_checkpoint(str(tmp_path / "m.pt"), name="m")
        run.remove_checkpoint("checkpoints/m/0-m.pt")
        run.flush()
    run.finish()
    assert run.step == 8 and dict(run.config) == {"lr": 0.1, "bs": 2} and run.tags == ("b",)
    assert not os.path.exists(rundir)


def test_mode_online_and_offline_both_write_and_a_bad_mode_is_refused(rundir):
    for mode in ("online", "offline", "OFFLINE"):
        run = runlog.init(dir=rundir, mode=mode)
        run.log({"a": 1.0})
        run.finish()
        assert not run.disabled and os.path.exists(run.path)
    with pytest.raises(ValueError, match="mode must be"):
        runlog.init(dir=rundir, mode="off-line")


def test_a_second_init_finishes_the_previous_run_first(rundir):
    first = runlog.init(dir=rundir)
    second = runlog.init(dir=rundir)
    assert first._closed and not second._closed
    ends = [r for r in runlog.LogReader(first.path).records() if r.kind == 8]
    assert len(ends) == 1 and ends[0].status == 1
    assert runlog.init(dir=rundir, reinit="return_previous") is second
    assert runlog.init(dir=rundir, reinit=False) is second
    third = runlog.init(dir=rundir, reinit="create_new")
    assert not second._closed and not third._closed
    third.finish()
    second.finish()
    with pytest.raises(ValueError, match="reinit must be"):
        runlog.init(dir=rundir, reinit="sometimes")


def test_a_second_writer_of_a_live_run_and_rank_is_refused(rundir):
    first = runlog.init(dir=rundir, id="same")
    with pytest.raises(runlog.RunError, match="being written by another process"):
        runlog.init(dir=rundir, id="same", reinit="create_new")
    other_rank = runlog.init(dir=rundir, id="same", rank=1, reinit="create_new")  # another rank is fine
    assert other_rank.attempt == 1
    other_rank.finish()
    first.finish()
    again = runlog.init(dir=rundir, id="same")  # once the first ended, a new attempt
    assert again.attempt == 2
    again.finish()


def test_a_run_without_a_name_gets_a_readable_one_from_its_id(rundir):
    run = runlog.init(dir=rundir, id="3kx9a0qz")
    run.finish()
    start = next(r for r in runlog.LogReader(run.path).records() if r.kind == RUN_START)
    assert start.name == run.name == generated_name("3kx9a0qz") == "gentle-bird-95"
    named = runlog.init(dir=rundir, name="mine")
    named.finish()
    assert named.name == "mine"


def test_generated_names_are_fnv1a_of_the_id():
    assert fnv1a64(b"") == 0xCBF29CE484222325 and fnv1a64(b"a") == 0xAF63DC4C8601EC8C  # the published test values
    assert len(set(ADJECTIVES)) == len(set(NOUNS)) == 64
    names = {generated_name(f"run{i}") for i in range(2000)}
    assert len(names) > 1900  # few collisions: 64 x 64 x 100 names
