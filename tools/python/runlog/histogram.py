# SPDX-License-Identifier: Apache-2.0
"""`Histogram`: a summary of many values, logged inside `Run.log`."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from . import _wire, records

_np = _wire._numpy()  # optional: None without numpy

# Bins per histogram: keeps a record well under the 16 MiB limit.
MAX_BINS = 1 << 19

# Values per float64 block of `_sums`: 64 KiB, stays in the cache and below
# malloc's mmap threshold.
_BLOCK = 8192
# Arrays up to this size are binned by `_small_counts` (a bias, a small layer).
_SMALL = 256
_NUMPY2 = _np is not None and int(_np.__version__.split(".")[0]) >= 2


class Histogram:
    """Bins and statistics of `values` (a sequence, numpy array or torch
    tensor), computed when the histogram is made: the values may change
    afterwards. Bins are `num_bins` uniform bins from the smallest to the
    largest finite value (the last bin includes it); NaN and infinities are
    counted in `nonfinite` and in no bin. `np_histogram=(counts, edges)`
    takes bins already computed, like `wandb.Histogram`.

    Attributes: `counts`, `low`, `high`, `edges` (None for uniform bins),
    `count`, `min`, `max`, `sum`, `sum_squares`, `nonfinite`. `sum` and
    `sum_squares` are float64 sums of the finite values and of their
    squares, whatever the input type; their rounding error is at most
    (32 + n / 8192) * 2**-53 of the sum of the magnitudes (2e-14 for a
    million values).
    """

    __slots__ = ("counts", "low", "high", "edges", "count", "min", "max", "sum", "sum_squares", "nonfinite")
    counts: list[int]
    low: float
    high: float
    edges: list[float] | None
    count: int
    min: float
    max: float
    sum: float
    sum_squares: float
    nonfinite: int

    def __init__(self, values: Any = None, num_bins: int = 64,
                 np_histogram: tuple[Sequence[float], Sequence[float]] | None = None) -> None:
        if not 1 <= int(num_bins) <= MAX_BINS:
            raise ValueError(f"num_bins must be between 1 and {MAX_BINS}")
        self.edges = None
        self.low = self.high = 0.0
        self.count = self.nonfinite = 0
        self.min = self.max = self.sum = self.sum_squares = 0.0
        if np_histogram is not None:
            counts, edges = np_histogram
            self.counts = [int(c) for c in counts]
            self.edges = [float(e) for e in edges]
            if not 1 <= len(self.counts) <= MAX_BINS or len(self.edges) != len(self.counts) + 1:
                raise ValueError("np_histogram needs b >= 1 counts and b + 1 edges")
            if any(b < a for a, b in zip(self.edges, self.edges[1:])):
                raise ValueError("np_histogram edges must ascend")
            if min(self.counts) < 0:
                raise ValueError("np_histogram counts must not be negative")
            self.count = sum(self.counts)
            return
        if values is None:
            raise ValueError("Histogram needs values or np_histogram")
        if hasattr(values, "detach") and hasattr(values, "cpu"):  # a torch tensor
            t = values.detach()
            if t.is_floating_point() and t.element_size() < 4:  # half, bfloat16: no numpy twin
                t = t.float()
            t = t.cpu()
            values = t.numpy() if _np is not None else t.flatten().tolist()
        if _np is not None:
            self._from_numpy(_np.asarray(values), int(num_bins))
        else:
            self._from_sequence(values, int(num_bins))

    def _from_numpy(self, a: Any, bins: int) -> None:
        np = _np
        a = a.ravel()
        if a.dtype.kind not in "fiu":
            a = a.astype(np.float64)
        n = a.size
        if n == 0:
            self.counts = [0] * bins
            return
        lo, hi = a.min(), a.max()
        if a.dtype.kind == "f" and not (math.isfinite(lo) and math.isfinite(hi)):
            a = a[np.isfinite(a)]
            self.nonfinite = n - a.size
            if a.size == 0:
                self.counts = [0] * bins
                return
            lo, hi = a.min(), a.max()
        if lo == hi:  # numpy's rule for a single value: a bin width of one around it
            lo_r, hi_r = lo - 0.5, hi + 0.5
        else:
            lo_r, hi_r = lo, hi
        # The range in the array's own type: numpy's fast path (float64 edges
        # on float32 data are several times slower).
        got = _uniform_counts(a, bins, lo_r, hi_r)
        if got is None:  # too narrow a range for `bins` distinct edges in the array's type
            a = a.astype(np.float64)
            low, high = _room(float(lo_r), float(hi_r), bins)
            got = _uniform_counts(a, bins, low, high) or _uniform_counts(a, bins, *_room(low, high, bins, True))
        if got is None:  # a range as wide as the doubles go: numpy's edges overflow
            nonfinite = self.nonfinite
            self._from_sequence(a.tolist(), bins)
            self.nonfinite = nonfinite
            return
        counts, self.low, self.high = got
        self.counts = counts if type(counts) is list else counts.tolist()
        self.count = int(a.size)
        self.min, self.max = float(lo), float(hi)
        self.sum, self.sum_squares = _sums(a)

    def _from_sequence(self, values: Iterable[Any], bins: int) -> None:
        xs = [float(v) for v in values]
        finite = [x for x in xs if math.isfinite(x)]
        self.nonfinite = len(xs) - len(finite)
        self.counts = [0] * bins
        if not finite:
            return
        lo, hi = min(finite), max(finite)
        low, high = _room(*((lo - 0.5, hi + 0.5) if lo == hi else (lo, hi)), bins)
        # In halves, so that a range as wide as the doubles go stays finite.
        scale = bins / (high / 2 - low / 2)
        counts = self.counts
        for x in finite:
            i = int((x / 2 - low / 2) * scale)
            counts[i if i < bins else bins - 1] += 1
        self.low, self.high = low, high
        self.count = len(finite)
        self.min, self.max = lo, hi
        self.sum = math.fsum(finite)
        self.sum_squares = math.fsum(x * x for x in finite)

    def record(self, key: str, step: int, time: int) -> records.Histogram:
        """The histogram record of this histogram logged as `key`."""
        return records.Histogram(
            key=key, step=step, time=time, counts=self.counts, low=self.low, high=self.high, edges=self.edges,
            count=self.count, min=self.min, max=self.max, sum=self.sum, sum_squares=self.sum_squares,
            nonfinite=self.nonfinite)

    def __repr__(self) -> str:
        return f"Histogram(count={self.count}, bins={len(self.counts)}, min={self.min}, max={self.max})"


# Tensors and arrays of at most this many numbers are copied when logged and
# binned on the writer thread (`Snapshot`); larger ones are binned at once.
SNAPSHOT_MAX = 1 << 16


class Snapshot:
    """A copy of a small tensor's or array's values, taken when it is
    logged, whose `Histogram` is made when its record is encoded, on the
    writer thread. Inside a training loop, binning a handful of values
    costs five times what it costs warm (a dozen numpy calls on cold
    caches); a copy is one call. Made by `snapshot`."""

    __slots__ = ("values", "nbytes")

    def __init__(self, values: Any, nbytes: int) -> None:
        self.values = values
        self.nbytes = nbytes

    def histogram(self) -> Histogram:
        return Histogram(self.values)


def snapshot(values: Any) -> Histogram | Snapshot:
    """What `Run.log` queues for `values`, with the default 64 bins: a
    `Snapshot` of a floating-point torch tensor in CPU memory, or a numpy
    array of integers or floats, of at most `SNAPSHOT_MAX` values; else its
    `Histogram`, made now. (A GPU tensor is copied to the host now, in the
    caller's stream, as before: the writer thread's stream would not wait
    for the caller's.)"""
    numel = getattr(values, "numel", None)
    if callable(numel) and hasattr(values, "detach"):  # a torch tensor
        if numel() <= SNAPSHOT_MAX and values.is_floating_point() and values.device.type == "cpu":
            copy = values.detach().clone()
            return Snapshot(copy, copy.element_size() * copy.numel())
    elif _np is not None and type(values) is _np.ndarray:
        if values.size <= SNAPSHOT_MAX and values.dtype.kind in "fiu":
            return Snapshot(values.copy(), values.nbytes)
    return Histogram(values)


def _room(low: float, high: float, bins: int, force: bool = False) -> tuple[float, float]:
    """`low`, `high` (float64), widened by at least one half on each side
    when they are too close (or `force`) for `bins` distinct float64 edges
    between them: values a few ULPs apart, or one value too large for
    numpy's width of one around it."""
    magnitude = abs(low) / 2 + abs(high) / 2  # halves: no overflow
    if not force and (high / 2 - low / 2) / bins > magnitude * 2.0**-50:
        return low, high
    half = max(0.5, magnitude * (2 * bins * 2.0**-50))
    return max(low - half, -sys.float_info.max), min(high + half, sys.float_info.max)


def _uniform_counts(a: Any, bins: int, low: Any, high: Any) -> tuple[Any, float, float] | None:
    """(counts, first edge, last edge) of `bins` uniform bins from `low` to
    `high` (the last bin includes `high`) of the finite values `a`, all within
    the range, as `numpy.histogram(a, bins, range=(low, high))` gives them:
    the same edges (`linspace` in the array's float type), the same index
    arithmetic and corrections within an ULP of an edge, block by block, but
    without its set-up, which is most of its time on a small array (a bias,
    a small layer). Other types go to `numpy.histogram` itself. None when
    the type cannot make `bins` distinct edges in the range (numpy raises)."""
    np = _np
    if a.dtype != np.float32 and a.dtype != np.float64:
        try:
            counts, edges = np.histogram(a, bins=bins, range=(low, high))
        except ValueError:
            return None
        return counts, float(edges[0]), float(edges[-1])
    dt = a.dtype
    edges = _linspace(low, high, bins + 1, dt)
    if not (edges[1:] > edges[:-1]).all():
        return None
    low, width = dt.type(low), np.subtract(high, low, dtype=dt)
    if a.size <= _SMALL:
        return _small_counts(a, bins, low, width, edges), float(edges[0]), float(edges[-1])
    counts = np.zeros(bins, np.intp)
    for i in range(0, a.size, 65536):
        part = a[i : i + 65536]
        index = (np.subtract(part, low, dtype=dt) / width * bins).astype(np.intp)
        index[index == bins] -= 1
        index[part < edges[index]] -= 1
        index[(part >= edges[index + 1]) & (index != bins - 1)] += 1
        counts += np.bincount(index, minlength=bins)
    return counts, float(edges[0]), float(edges[-1])


def _small_counts(a: Any, bins: int, low: Any, width: Any, edges: Any) -> list[int]:
    """`_uniform_counts`'s counts of a small array: the same index
    arithmetic in the array's type, the corrections against the edges on
    Python floats (exact for float32 and float64 values), without the dozen
    numpy calls that cost more than the work on a few values."""
    np = _np
    index = (np.subtract(a, low, dtype=a.dtype) / width * bins).astype(np.intp).tolist()
    e = edges.tolist()
    last = bins - 1
    counts = [0] * bins
    for x, i in zip(a.tolist(), index):
        if i == bins:
            i = last
        if x < e[i]:
            i -= 1
        elif x >= e[i + 1] and i != last:
            i += 1
        counts[i] += 1
    return counts


def _linspace(low: Any, high: Any, num: int, dt: Any) -> Any:
    """`numpy.linspace(low, high, num, dtype=dt)` of scalars, step by step as
    numpy 2 computes it (in the type of `low` and `high`), without its
    per-call set-up (half a histogram's time on a small array)."""
    np = _np
    if not _NUMPY2:
        return np.linspace(low, high, num, endpoint=True, dtype=dt)
    calc = np.result_type(low, high)
    if calc.kind != "f":
        calc = np.dtype(np.float64)
    delta = np.subtract(high, low, dtype=calc)
    y = np.arange(0, num, dtype=calc)
    div = num - 1
    step = delta / div
    if step == 0:
        y /= div
        y *= delta
    else:
        y *= step
    y += low
    y[-1] = high
    return y.astype(dt, copy=False)


def _sums(a: Any) -> tuple[float, float]:
    """The sum and the sum of squares of the numpy array `a`, in float64,
    block by block: pairwise within a block of `_BLOCK` values, blocks added
    in order (hence the error bound stated on `Histogram`; a float32 value's
    square is exact in float64). A float64 copy of the
    whole array would cost more than the binning: freed memory of that size
    goes back to the kernel and faults in again for the next histogram.
    Not np.dot: BLAS threads, and float32 accumulation for float32 input."""
    np = _np
    block = np.empty(min(a.size, _BLOCK), np.float64)
    total = squares = 0.0
    for i in range(0, a.size, _BLOCK):
        part = a[i : i + _BLOCK]
        b = block[: part.size]
        np.copyto(b, part)
        total += float(np.add.reduce(b))
        np.multiply(b, b, out=b)
        squares += float(np.add.reduce(b))
    return total, squares
