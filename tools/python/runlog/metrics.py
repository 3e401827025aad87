# SPDX-License-Identifier: Apache-2.0
"""Metrics blocks: rows of scalars stored by column (spec/format.md section 4.3)."""

import math
from array import array
from operator import itemgetter

from . import _wire as w
from ._wire import Malformed

class MetricsBlock:
    """Rows `i` logged at `steps[i]` (int) and `times[i]` (microseconds),
    with one column per key: `columns[j] = (values, presence)` where
    `values` holds the values of the rows that have one, in row order, and
    `presence` is the bitmap of those rows (bit `i % 8` of byte `i // 8`), or
    None when every row has a value."""

    __slots__ = ("keys", "steps", "times", "columns")

    def __init__(self, keys, steps, times, columns):
        self.keys = keys
        self.steps = steps
        self.times = times
        self.columns = columns

    def __repr__(self):
        return f"MetricsBlock(keys={self.keys!r}, rows={len(self.steps)})"

    @classmethod
    def from_rows(cls, steps, times, dicts):
        """A block from rows given as parallel lists: steps, times (µs) and
        {key: value} dicts. The key table is in order of first appearance; a
        column is full when every row has it."""
        n = len(dicts)
        keys = list(dicts[0])
        if set(map(len, dicts)) == {len(keys)}:
            try:  # every row has the first row's keys (and so no others): one column per key at C speed
                columns = [(list(map(itemgetter(k), dicts)), None) for k in keys]
                return cls(keys, steps, times, columns)
            except KeyError:
                pass
        index = {}
        cols = []
        for i, d in enumerate(dicts):
            for k, v in d.items():
                j = index.get(k)
                if j is None:
                    j = index[k] = len(cols)
                    cols.append(([], []))
                vals, present = cols[j]
                vals.append(v)
                present.append(i)
        columns = []
        for vals, present in cols:
            if len(present) == n:
                columns.append((vals, None))
                continue
            bitmap = bytearray((n + 7) >> 3)
            for i in present:
                bitmap[i >> 3] |= 1 << (i & 7)
            columns.append((vals, bytes(bitmap)))
        return cls(list(index), steps, times, columns)

    def rows(self):
        """Yields (step, time, [(key, value), ...]) per row, keys in key-table order."""
        keys = self.keys
        cursors = [0] * len(keys)
        for i, (step, t) in enumerate(zip(self.steps, self.times)):
            values = []
            for j, (vals, presence) in enumerate(self.columns):
                if presence is None or presence[i >> 3] >> (i & 7) & 1:
                    values.append((keys[j], vals[cursors[j]]))
                    cursors[j] += 1
            yield step, t, values

    @property
    def point_count(self):
        return sum(len(c[0]) for c in self.columns)

    # ------------------------------------------------------------ encoding

    def encode_body(self):
        out = bytearray()
        for k in self.keys:
            kb = k.encode("utf-8", "surrogatepass")
            out += b"\x0a" + w.varint(len(kb)) + kb
        out += b"\x10" + w.varint(len(self.steps))
        steps = w.delta_varints(self.steps)
        if steps:
            out += b"\x1a" + w.varint(len(steps)) + steps
        times = w.delta_varints(self.times)
        if times:
            out += b"\x22" + w.varint(len(times)) + times
        for values, presence in self.columns:
            col = encode_column(values, presence)
            out += b"\x2a" + w.varint(len(col)) + col
        return bytes(out)

    # ------------------------------------------------------------ decoding

    @classmethod
    def decode(cls, buf, start, end):
        keys = []
        rows = None
        steps_span = times_span = (start, start)
        column_spans = []
        for fnum, wire, v in w.fields(buf, start, end):
            if fnum == 1:
                keys.append(w.text(buf, w.as_span(wire, v)))
            elif fnum == 2:
                rows = w.as_uint(wire, v)
            elif fnum == 3:
                steps_span = w.as_span(wire, v)
            elif fnum == 4:
                times_span = w.as_span(wire, v)
            elif fnum == 5:
                column_spans.append(w.as_span(wire, v))
        if rows is None or rows < 1 or not keys or len(column_spans) != len(keys):
            raise Malformed("metrics block without rows, keys or columns")
        if rows > steps_span[1] - steps_span[0]:
            raise Malformed("fewer step varints than rows")
        if len(set(keys)) != len(keys) or "" in keys:
            raise Malformed("metrics key repeated or empty")
        steps = _decode_deltas(buf, steps_span, rows)
        times = _decode_deltas(buf, times_span, rows)
        columns = [decode_column(buf, s, e, rows) for s, e in column_spans]
        return cls(keys, steps, times, columns)


def _to_doubles(values):
    try:
        return array("d", values)
    except (OverflowError, TypeError):  # ints beyond binary64's range, or odd number types
        return array("d", [_as_float(v) for v in values])


def _as_float(v):
    try:
        return float(v)
    except OverflowError:
        return float("inf") if v > 0 else float("-inf")


def _fits_float32(doubles, singles):
    """Whether every value converts to binary32 and back unchanged, NaN payloads aside."""
    for a, b in zip(doubles, singles):  # most float64 columns fail at their first value
        if a == a:
            if a != b:
                return False
            break
    if array("d", singles).tobytes() == doubles.tobytes():
        return True
    for a, b in zip(doubles, array("d", singles)):
        if a != a:  # NaN: converts whatever its payload
            continue
        if a != b or math.copysign(1.0, a) != math.copysign(1.0, b):
            return False
    return True


def encode_column(values, presence):
    """`coding [presence] planes` for one column (spec section 4.3)."""
    doubles = _to_doubles(values)
    singles = array("f", doubles)
    float32 = _fits_float32(doubles, singles)
    raw = singles.tobytes() if float32 else doubles.tobytes()
    width = 4 if float32 else 8
    coding = (1 if presence is not None else 0) | (2 if float32 else 0)
    parts = [bytes((coding,))]
    if presence is not None:
        parts.append(presence)
    parts.extend(raw[b::width] for b in range(width))
    return b"".join(parts)


def _decode_deltas(buf, span, count):
    i, end = span
    out = []
    prev = 0
    for _ in range(count):
        u, i = w.read_varint(buf, i, end)
        prev = w.wrap_i64(prev + w.unzigzag(u))
        out.append(prev)
    if i != end:
        raise Malformed("more varints than rows")
    return out


def decode_column(buf, start, end, n):
    if end - start < 1:
        raise Malformed("empty column")
    coding = buf[start]
    if coding & ~0b111:
        raise Malformed("unknown column coding bits")
    value_coding = (coding >> 1) & 3
    if value_coding > 1:
        raise Malformed("reserved value coding")
    width = 4 if value_coding == 1 else 8
    at = start + 1
    presence = None
    p = n
    if coding & 1:
        nbytes = (n + 7) >> 3
        if end - at < nbytes:
            raise Malformed("column shorter than its bitmap")
        bitmap = bytes(buf[at : at + nbytes])
        if n % 8 and bitmap[-1] >> (n % 8):
            raise Malformed("bitmap bits set past the last row")
        p = int.from_bytes(bitmap, "little").bit_count() if hasattr(int, "bit_count") else bin(int.from_bytes(bitmap, "little")).count("1")
        at += nbytes
        presence = None if p == n else bitmap
    if end - at != width * p:
        raise Malformed("column length does not match its rows")
    interleaved = bytearray(width * p)
    for b in range(width):
        interleaved[b::width] = buf[at + b * p : at + (b + 1) * p]
    values = array("f" if width == 4 else "d")
    values.frombytes(bytes(interleaved))
    return values.tolist(), presence
