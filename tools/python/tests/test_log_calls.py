# SPDX-License-Identifier: Apache-2.0
"""`log` as W&B users expect it: `commit=False` merges onto one step, a
value that is not logged uses up no step, and `log` returns None."""

import warnings

import pytest

import runlog
from runlog.records import HISTOGRAM, METRICS


def rows_and_histograms(run):
    records = list(runlog.LogReader(run.path).records())
    rows = [(s, dict(v)) for r in records if r.kind == METRICS for s, _, v in r.block.rows()]
    hists = [(r.key, r.step) for r in records if r.kind == HISTOGRAM]
    return rows, hists


def test_commit_false_puts_the_values_of_several_calls_on_one_step(rundir):
    run = runlog.init(dir=rundir)
    run.log({"a": 1.0}, commit=False)
    run.log({"b": 2.0}, commit=False)
    assert run.step == 0  # held: no step used yet
    run.log({"c": 3.0, "a": 4.0})  # commits: a later value of a key wins
    run.log({"d": 5.0})
    run.finish()
    rows, _ = rows_and_histograms(run)
    assert rows == [(0, {"a": 4.0, "b": 2.0, "c": 3.0}), (1, {"d": 5.0})]


def test_commit_false_with_steps_and_histograms(rundir):
    run = runlog.init(dir=rundir)
    run.log({"a": 1.0}, step=10, commit=False)
    run.log({"b": 2.0, "h": runlog.Histogram([1, 2, 3])}, step=10, commit=False)  # the histogram goes out at once
    run.log({"c": 3.0}, step=12, commit=False)  # another step: the held row of step 10 is written first
    run.log({}, commit=True)  # commits what is held, and nothing else
    run.log({"x": 1.0}, commit=False)
    run.flush()  # flush writes a held row too
    rows, hists = rows_and_histograms(run)
    assert rows == [(10, {"a": 1.0, "b": 2.0}), (12, {"c": 3.0}), (13, {"x": 1.0})]
    assert hists == [("h", 10)]
    run.log({"y": 1.0}, commit=False)
    run.finish()  # and finish
    rows, _ = rows_and_histograms(run)
    assert rows[-1] == (14, {"y": 1.0})


def test_a_value_that_is_not_a_number_uses_up_no_step(rundir):
    run = runlog.init(dir=rundir)
    with pytest.warns(UserWarning, match="'text' is a str"):
        run.log({"text": "hello"})
    assert run.step == 0
    run.log({"loss": 1.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run.log({"text": "again"})  # warned once per key
    run.log({"loss": 0.5, "text": "mixed"})  # the number is logged, at the next step
    run.log({"h": runlog.Histogram([1.0, 2.0])})  # a histogram alone uses a step
    run.finish()
    rows, hists = rows_and_histograms(run)
    assert rows == [(0, {"loss": 1.0}), (1, {"loss": 0.5})] and hists == [("h", 2)]


def test_log_returns_none(rundir):
    run = runlog.init(dir=rundir)
    assert run.log({"a": 1.0}) is None
    assert run.log({"a": 1.0}, step=5, commit=False) is None
    with pytest.warns(UserWarning):
        assert run.log({"s": "x"}) is None
    run.finish()


def test_the_handlers_row_path_logs_as_log_does(rundir):
    run = runlog.init(dir=rundir)
    run.log({"a": 1.0}, commit=False)
    run._log_row({"b": 2.0}, 5)  # another step: the held row goes first
    run._log_row({}, 9)  # nothing: uses up no step
    run._log_row({"c": 3}, 3)  # a lower step is kept too
    with pytest.raises(ValueError, match="64 bits"):
        run._log_row({"d": 1.0}, 2 ** 63)
    assert run.step == 6
    run.finish()
    with pytest.raises(runlog.RunError, match="finished"):
        run._log_row({"e": 1.0}, 7)
    rows, _ = rows_and_histograms(run)
    assert rows == [(0, {"a": 1.0}), (5, {"b": 2.0}), (3, {"c": 3.0})]
