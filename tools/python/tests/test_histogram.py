"""Histograms: bins and statistics as numpy computes them, non-finite values
counted apart, with or without numpy."""

import math
import random

import pytest

import runlog
from runlog import histogram as hist_module

np = pytest.importorskip("numpy")


def test_bins_and_statistics_match_numpy():
    rng = np.random.default_rng(7)
    values = (rng.standard_normal(10_000) * 3).astype(np.float32)
    h = runlog.Histogram(values, num_bins=32)
    counts, edges = np.histogram(values, bins=32)
    assert h.counts == counts.tolist()
    assert (h.low, h.high) == (float(edges[0]), float(edges[-1])) == (float(values.min()), float(values.max()))
    v64 = values.astype(np.float64)
    assert h.count == 10_000 and h.nonfinite == 0
    assert h.sum == pytest.approx(float(v64.sum()), rel=1e-12)
    assert h.sum_squares == pytest.approx(float((v64 * v64).sum()), rel=1e-12)


def test_nan_and_infinities_are_counted_apart():
    h = runlog.Histogram([1.0, float("nan"), 2.0, float("inf"), 3.0, float("-inf")], num_bins=2)
    assert (h.count, h.nonfinite, h.counts, h.min, h.max, h.sum) == (3, 3, [1, 2], 1.0, 3.0, 6.0)


def test_a_single_repeated_value_gets_a_unit_wide_range():
    h = runlog.Histogram(np.full(5, 2.0), num_bins=4)
    assert (h.low, h.high, sum(h.counts), h.min, h.max) == (1.5, 2.5, 5, 2.0, 2.0)


def test_empty_and_all_nan_inputs_give_empty_bins():
    for values in ([], [float("nan")] * 3):
        h = runlog.Histogram(values, num_bins=3)
        assert h.counts == [0, 0, 0] and h.count == 0 and h.nonfinite == len(values)


def test_explicit_bins_from_np_histogram():
    h = runlog.Histogram(np_histogram=np.histogram([1, 2, 2, 5], bins=[0, 1, 3, 10]))
    assert h.edges == [0.0, 1.0, 3.0, 10.0] and h.counts == [0, 3, 1] and h.count == 4
    with pytest.raises(ValueError, match="b \\+ 1 edges"):
        runlog.Histogram(np_histogram=([1, 2], [0.0, 1.0]))
    with pytest.raises(ValueError, match="ascend"):
        runlog.Histogram(np_histogram=([1, 2], [0.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match="num_bins"):
        runlog.Histogram([1.0], num_bins=0)


def test_without_numpy_the_same_bins_come_out(monkeypatch):
    values = [random.Random(5).uniform(-1, 1) for _ in range(1000)] + [float("nan")]
    with_numpy = runlog.Histogram(values, num_bins=16)
    monkeypatch.setattr(hist_module, "_np", None)
    without = runlog.Histogram(values, num_bins=16)
    assert without.counts == with_numpy.counts
    assert (without.low, without.high, without.count, without.nonfinite) == (
        with_numpy.low, with_numpy.high, with_numpy.count, with_numpy.nonfinite)
    assert math.isclose(without.sum, with_numpy.sum, rel_tol=1e-12)


def test_torch_tensors_of_any_float_width():
    torch = pytest.importorskip("torch")
    t = torch.linspace(-1, 1, 101, dtype=torch.bfloat16)
    h = runlog.Histogram(t, num_bins=4)
    assert h.count == 101 and (h.min, h.max) == (-1.0, 1.0) and sum(h.counts) == 101
