# SPDX-License-Identifier: Apache-2.0
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
    with pytest.raises(ValueError, match="must not be negative"):
        runlog.Histogram(np_histogram=([1, -2], [0.0, 1.0, 2.0]))
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


def fsum_reference(values):
    """Exactly rounded sum, sum of squares and sum of |x| of the finite values, in float64."""
    v64 = np.asarray(values, dtype=np.float64)
    v64 = v64[np.isfinite(v64)]
    return math.fsum(v64), math.fsum(v64 * v64), math.fsum(np.abs(v64))


def test_sums_of_float32_values_are_float64_sums_across_many_blocks():
    # Not a multiple of any block size; an offset mean and a spread of
    # magnitudes, where float32 accumulation would be off by about 1e-4.
    rng = np.random.default_rng(11)
    values = (3.0 + rng.standard_normal(250_003) * np.exp(rng.uniform(-8, 8, 250_003))).astype(np.float32)
    h = runlog.Histogram(values, num_bins=64)
    total, squares, absolute = fsum_reference(values)
    n = values.size
    bound = (32 + n / 8192) * 2.0**-53  # the documented bound, relative to the sum of magnitudes
    assert abs(h.sum - total) <= bound * absolute
    assert abs(h.sum_squares - squares) <= bound * squares
    assert h.count == n and h.nonfinite == 0 and sum(h.counts) == n


def test_sums_of_integers_and_float64_values_are_exact_when_representable():
    ints = np.arange(-70_000, 70_001, dtype=np.int64)
    h = runlog.Histogram(ints, num_bins=10)
    assert (h.sum, h.sum_squares) == (0.0, float(sum(i * i for i in range(-70_000, 70_001))))
    halves = np.arange(100_000, dtype=np.float64) / 2  # all sums exact in float64
    h = runlog.Histogram(halves, num_bins=10)
    assert (h.sum, h.sum_squares) == (math.fsum(halves), math.fsum(halves * halves))


def test_nan_and_infinities_in_a_large_float32_array_leave_bins_and_sums_to_the_finite_values():
    rng = np.random.default_rng(5)
    values = rng.standard_normal(100_000).astype(np.float32)
    bad = rng.choice(values.size, 300, replace=False)
    values[bad[:100]] = np.nan
    values[bad[100:200]] = np.inf
    values[bad[200:]] = -np.inf
    h = runlog.Histogram(values, num_bins=64)
    finite = values[np.isfinite(values)]
    counts, edges = np.histogram(finite, bins=64)
    assert (h.count, h.nonfinite) == (99_700, 300)
    assert h.counts == counts.tolist() and (h.low, h.high) == (float(edges[0]), float(edges[-1]))
    assert (h.min, h.max) == (float(finite.min()), float(finite.max()))
    total, squares, absolute = fsum_reference(finite)
    assert abs(h.sum - total) <= 1e-13 * absolute and abs(h.sum_squares - squares) <= 1e-13 * squares


def test_the_values_may_change_after_the_histogram_is_made():
    values = np.ones(20_000, dtype=np.float32)
    h = runlog.Histogram(values, num_bins=4)
    values[:] = 7
    assert (h.sum, h.sum_squares, h.min, h.max) == (20_000.0, 20_000.0, 1.0, 1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_binning_is_numpys_to_the_last_count(dtype):
    """Values on and within an ULP of the edges, steps, tiny and huge
    magnitudes, sizes across numpy's 65,536-value blocks: the same counts
    and edges as `numpy.histogram` over the same range."""
    rng = np.random.default_rng(11)
    shapes = [lambda n: rng.standard_normal(n), lambda n: rng.integers(-5, 5, n).astype(float),
              lambda n: np.linspace(-1, 1, n), lambda n: np.round(rng.standard_normal(n) * 8) / 8,
              lambda n: rng.standard_normal(n) * 1e-30, lambda n: rng.standard_normal(n) * 1e30,
              lambda n: 1 + rng.standard_normal(n) * 1e-5]
    compared = 0
    for n in (1, 2, 10, 255, 256, 257, 1000, 65_537):  # around hist_module._SMALL too
        for shape in shapes:
            values = shape(n).astype(dtype)
            for bins in (1, 7, 64):
                lo, hi = values.min(), values.max()
                h = runlog.Histogram(values, num_bins=bins)
                try:
                    counts, edges = np.histogram(values, bins=bins, range=(lo - 0.5, hi + 0.5) if lo == hi else (lo, hi))
                except ValueError:  # one huge value: numpy cannot widen it by one (tested below)
                    continue
                assert h.counts == counts.tolist(), (n, bins, values[:4])
                assert (h.low, h.high) == (float(edges[0]), float(edges[-1]))
                compared += 1
    assert compared >= 8 * 7 * 3 - 2 * 3


def test_the_edges_are_numpys_linspace():
    rng = random.Random(5)
    compared = 0
    for dt in (np.float32, np.float64):
        for _ in range(4000):
            a = np.array([rng.uniform(-1e3, 1e3) * 10.0 ** rng.randint(-30, 30) for _ in range(2)], dtype=dt)
            if rng.random() < 0.2:
                a[1] = np.nextafter(a[0], dt(np.inf))  # a range of one ULP
            lo, hi = a.min(), a.max()
            if rng.random() < 0.2:
                lo, hi = lo - 0.5, hi + 0.5
            if rng.random() < 0.2:
                lo, hi = float(lo), float(hi)
            bins = rng.choice([1, 2, 7, 64, 100])
            with np.errstate(all="ignore"):
                want = np.linspace(lo, hi, bins + 1, endpoint=True, dtype=dt)
                got = hist_module._linspace(lo, hi, bins + 1, np.dtype(dt))
            assert got.dtype == want.dtype and np.array_equal(got, want, equal_nan=True), (dt, lo, hi, bins)
            compared += 1
    assert compared == 8000


@pytest.mark.parametrize("values", [
    np.array([1.0, np.nextafter(np.float32(1), np.float32(2))], np.float32),  # two adjacent float32 values
    (1 + np.arange(1000) % 3 * np.finfo(np.float32).eps).astype(np.float32),  # a converged layer's weights
    np.array([1e30], np.float64),  # one value: numpy's width of one is lost in its ULP
    np.array([-3e150, -3e150], np.float64),
    np.array([5e-324, 1e-323], np.float64),  # subnormals
    np.array([-1.7e308, 1.7e308], np.float64),  # a width beyond the doubles: numpy's edges overflow
    np.array([-1e308, 0, 1e308], np.float64),
    np.array([np.finfo(np.float64).max], np.float64),  # one value: no room above it
])
def test_a_range_too_narrow_for_numpys_bins_still_gives_a_histogram(values, monkeypatch):
    """numpy.histogram refuses these ("Too many bins for data range"); a
    histogram handler in a training loop must not."""
    for with_numpy in (True, False):
        if not with_numpy:
            monkeypatch.setattr(hist_module, "_np", None)
        h = runlog.Histogram(values if with_numpy else values.tolist(), num_bins=64)
        assert sum(h.counts) == h.count == values.size and len(h.counts) == 64
        assert h.low <= float(values.min()) and float(values.max()) <= h.high and h.low < h.high
        assert math.isfinite(h.low) and math.isfinite(h.high)


def test_the_swift_logger_takes_the_same_range_for_values_the_bins_cannot_divide():
    """The pairs that Tests/RunLogTests/HistogramRangeTests.swift expects of the Swift logger."""
    assert (runlog.Histogram([1e17, 1e17]).low, runlog.Histogram([1e17, 1e17]).high) == (9.999999999998862e+16,
                                                                                          1.0000000000001138e+17)
    h = runlog.Histogram([np.finfo(np.float64).max])
    assert (h.low, h.high) == (1.7976931348621113e+308, float(np.finfo(np.float64).max))


def test_adjacent_float32_values_keep_their_own_range_in_float64():
    one, next_one = np.float32(1), np.nextafter(np.float32(1), np.float32(2))
    h = runlog.Histogram(np.array([one, next_one, one], np.float32), num_bins=64)
    assert (h.low, h.high) == (1.0, float(next_one)) and h.counts[0] == 2 and h.counts[-1] == 1


def _logged_histograms(run):
    from runlog.records import HISTOGRAM
    return {r.key: r for r in runlog.LogReader(run.path).records() if r.kind == HISTOGRAM}


@pytest.mark.parametrize("size", [1, 10, hist_module.SNAPSHOT_MAX, hist_module.SNAPSHOT_MAX + 1])
def test_an_array_logged_is_binned_as_it_was_when_logged(rundir, size):
    # Small arrays are binned later, on the writer thread, from a copy; large ones at once.
    torch = pytest.importorskip("torch")
    values = np.random.default_rng(size).standard_normal(size).astype(np.float32)
    tensor = torch.tensor(values)
    run = runlog.init(dir=rundir, console="off", system_metrics_interval=0)
    run.log({"a": values, "t": tensor, "h": hist_module.snapshot(tensor)}, step=3)
    values[:] = 5
    tensor.fill_(9)
    run.finish()
    expected = runlog.Histogram(np.random.default_rng(size).standard_normal(size).astype(np.float32))
    got = _logged_histograms(run)
    if size == 1:
        assert sorted(got) == ["h"]  # a single number is a scalar, as ever; a snapshot asked for stays a histogram
    for key, h in got.items():
        assert (h.step, h.counts, h.low, h.high, h.count, h.sum, h.sum_squares) == (
            3, expected.counts, expected.low, expected.high, size, expected.sum, expected.sum_squares), key


def test_small_tensors_are_copied_and_large_ones_binned_at_once():
    torch = pytest.importorskip("torch")
    assert type(hist_module.snapshot(torch.zeros(hist_module.SNAPSHOT_MAX))) is hist_module.Snapshot
    assert type(hist_module.snapshot(torch.zeros(hist_module.SNAPSHOT_MAX + 1))) is runlog.Histogram
    assert type(hist_module.snapshot(torch.zeros(3, dtype=torch.int64))) is runlog.Histogram
    assert type(hist_module.snapshot(np.zeros(3, dtype=bool))) is runlog.Histogram
    # A tensor off the host is binned at once, in the caller's stream: on the
    # "meta" device (no data) that fails at the call instead of later.
    with pytest.raises(NotImplementedError):
        hist_module.snapshot(torch.zeros(3, device="meta"))


def test_a_histogram_that_cannot_be_made_later_is_reported_and_the_run_goes_on(rundir, monkeypatch, capfd):
    torch = pytest.importorskip("torch")

    def broken(self):
        raise RuntimeError("device lost")

    monkeypatch.setattr(hist_module.Snapshot, "histogram", broken)
    run = runlog.init(dir=rundir, console="off", system_metrics_interval=0)
    run.log({"w": torch.ones(4)}, step=1)
    run.log({"loss": 0.5, "v": runlog.Histogram([1.0, 2.0])}, step=2)
    run.finish()
    err = capfd.readouterr().err
    assert f"runlog: {run.path}: histogram 'w' at step 1 not written: device lost\n" in err
    assert sorted(_logged_histograms(run)) == ["v"]
    rows = [row for r in runlog.LogReader(run.path).records() if r.kind == runlog.records.METRICS
            for row in r.block.rows()]
    assert [(s, dict(v)) for s, _, v in rows] == [(2, {"loss": 0.5})]
