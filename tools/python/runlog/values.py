# SPDX-License-Identifier: Apache-2.0
"""Free values (spec/format.md section 4.0): the `Value` and `Entry`
messages of config, summary and checkpoint metadata."""

from . import _wire as w
from ._wire import Malformed, as_double, as_sint, as_span, as_uint, text

# The most levels a value may nest (spec section 4.0): a scalar, or an empty
# list or map, is 1 level; a list or map is 1 more than its deepest item.
# `depth` below counts the values around the one at hand (0 for an entry's).
MAX_DEPTH = 64
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


def value_depth(v):
    """How many levels `v` nests, counted without recursion."""
    deepest, pending = 0, [(v, 1)]
    while pending:
        item, level = pending.pop()
        deepest = max(deepest, level)
        if isinstance(item, (list, tuple)):
            pending.extend((x, level + 1) for x in item)
        elif isinstance(item, dict):
            pending.extend((x, level + 1) for x in item.values())
    return deepest


def check_depth(items, what):
    """Raises ValueError naming the key when a value of `items` (key, value
    pairs) nests deeper than MAX_DEPTH levels: readers would refuse it."""
    for key, value in items:
        d = value_depth(value)
        if d > MAX_DEPTH:
            raise ValueError(f"{what} key {key!r}: nested {d} levels deep; at most {MAX_DEPTH} are allowed (spec section 4.0)")


def encode_value(v, depth=0):
    """The `Value` message (spec section 4.0) of a Python value: None, bool,
    int, float, str, list/tuple, dict (keys made strings). Other objects are
    written as their `str()`; ints outside 64 bits as doubles."""
    if depth >= MAX_DEPTH:
        raise ValueError(f"value nested deeper than {MAX_DEPTH} levels")
    f = w.FieldWriter()
    if v is None:
        f.uint(1, 0, True)
    elif v is True or v is False:
        f.key(2, w.VARINT)
        f.out += b"\x01" if v else b"\x00"
    elif isinstance(v, int) and not isinstance(v, bool):
        if _I64_MIN <= v <= _I64_MAX:
            f.sint(3, int(v), True)
        else:
            f.double(4, float(v), True)
    elif isinstance(v, float):
        f.double(4, v, True)
    elif isinstance(v, str):
        f.string(5, v, True)
    elif isinstance(v, (list, tuple)):
        inner = bytearray()
        for item in v:
            body = encode_value(item, depth + 1)
            inner += b"\x0a" + w.varint(len(body)) + body
        f.bytes(6, bytes(inner), True)
    elif isinstance(v, dict):
        f.bytes(7, encode_entries(v.items(), depth + 1), True)
    else:
        item = getattr(v, "item", None)  # numpy and torch scalars
        if callable(item):
            try:
                return encode_value(item(), depth)
            except (TypeError, ValueError, RuntimeError):  # not a single value
                pass
        f.string(5, str(v), True)
    return bytes(f.out)


def encode_entry(key, value, depth=0):
    f = w.FieldWriter()
    f.string(1, str(key), True)
    f.bytes(2, encode_value(value, depth), True)
    return bytes(f.out)


def encode_entries(items, depth=0):
    """`repeated Entry` at field 1."""
    out = bytearray()
    for k, v in items:
        e = encode_entry(k, v, depth)
        out += b"\x0a" + w.varint(len(e)) + e
    return bytes(out)


def decode_value(buf, start, end, depth=0):
    if depth >= MAX_DEPTH:
        raise Malformed(f"value nested deeper than {MAX_DEPTH} levels")
    value = None
    for fnum, wire, v in w.fields(buf, start, end):
        if fnum == 1:
            value = None
        elif fnum == 2:
            value = as_uint(wire, v) != 0
        elif fnum == 3:
            value = as_sint(wire, v)
        elif fnum == 4:
            value = as_double(wire, v)
        elif fnum == 5:
            value = text(buf, as_span(wire, v))
        elif fnum == 6:
            s, e = as_span(wire, v)
            items = []
            for inner, iwire, iv in w.fields(buf, s, e):
                if inner == 1:
                    a, b = as_span(iwire, iv)
                    items.append(decode_value(buf, a, b, depth + 1))
            value = items
        elif fnum == 7:
            s, e = as_span(wire, v)
            value = dict(decode_entries(buf, s, e, depth + 1))
    return value


def decode_entries(buf, start, end, depth=0):
    """`repeated Entry` at field 1, as a list of (key, value) pairs in order."""
    out = []
    for fnum, wire, v in w.fields(buf, start, end):
        if fnum != 1:
            continue
        s, e = as_span(wire, v)
        key, value = "", None
        for efield, ewire, ev in w.fields(buf, s, e):
            if efield == 1:
                key = text(buf, as_span(ewire, ev))
            elif efield == 2:
                a, b = as_span(ewire, ev)
                value = decode_value(buf, a, b, depth)
        out.append((key, value))
    return out
