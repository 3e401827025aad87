# SPDX-License-Identifier: Apache-2.0
"""The field encoding of spec/format.md section 1: varints, zigzag, masked
CRC32C, and Protocol-Buffers-style keyed fields."""

import struct
from importlib.util import find_spec
from typing import Any

from . import _threads

# numpy (optional) encodes long varint streams and checksums long buffers
# faster; it is imported when first needed, so that a process that never
# needs it (the console helper, a short job) does not pay for its import.
_np: Any = None
_np_looked = False


def _numpy() -> Any:
    """The numpy module, imported on the first call (see `_threads.import_blocked`);
    None when it is not installed."""
    global _np, _np_looked
    if not _np_looked:
        _np, _np_looked = _threads.import_blocked("numpy"), True
    return _np

_U64 = 1 << 64
_I64_MIN = -(1 << 63)
_I64_MAX = (1 << 63) - 1

# ---------------------------------------------------------------- checksums


def _make_crc_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _make_crc_table()


def _crc32c_python(data):
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


try:  # optional C implementation (the `crc32c` package): same function, much faster
    from crc32c import crc32c as _crc32c_c

    def crc32c(data):
        """CRC-32C (Castagnoli) of `data`."""
        return _crc32c_c(data)

    CRC32C_IMPLEMENTATION = "crc32c package"
except ImportError:
    if find_spec("numpy") is not None:
        _crc32c_long = None

        def crc32c(data):
            """CRC-32C (Castagnoli) of `data`."""
            global _crc32c_long
            if len(data) < 4096:
                return _crc32c_python(data)
            if _crc32c_long is None:
                _numpy()  # imported with signals blocked before _crc_numpy imports it
                from ._crc_numpy import crc32c as _crc32c_long
            return _crc32c_long(data)

        CRC32C_IMPLEMENTATION = "numpy"
    else:  # no numpy either
        crc32c = _crc32c_python
        CRC32C_IMPLEMENTATION = "pure Python"


def masked_crc32c(data):
    """The masked CRC32C stored in headers and frames (spec section 1)."""
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


# ---------------------------------------------------------------- varints

# Encoded varints of small values, precomputed: most deltas and keys are small.
_SMALL = [bytes([v]) for v in range(128)] + [bytes([(v & 0x7F) | 0x80, v >> 7]) for v in range(128, 1 << 14)]


def varint(v):
    """The unsigned LEB128 encoding of 0 <= v < 2**64."""
    if v < 16384:
        return _SMALL[v]
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def varints(values):
    """The varints of the integers 0 <= v < 2**64 of `values`, one after
    another. A loop rather than `_SMALL`: scattered table entries cost more
    than the arithmetic when the cache is cold, as it is after binning."""
    if not values:
        return b""
    if min(values) < 0:
        raise ValueError("a varint cannot hold a negative number")
    if max(values) < 0x80:
        return bytes(values)
    out = bytearray()
    for v in values:
        while v >= 0x80:
            out.append((v & 0x7F) | 0x80)
            v >>= 7
        out.append(v)
    return bytes(out)


def zigzag(n):
    """Zigzag of a signed 64-bit integer: -1 is 1, 1 is 2."""
    return (n << 1) if n >= 0 else ((-n) << 1) - 1


def unzigzag(u):
    return (u >> 1) if not u & 1 else -((u + 1) >> 1)


def wrap_i64(n):
    """`n` reduced to a signed 64-bit integer, two's complement wrap-around."""
    return ((n + (1 << 63)) % _U64) - (1 << 63)


def delta_varints(xs):
    """`xs[0]`, then each difference to the previous element, as zigzag varints
    (the steps and times of a metrics block, spec section 4.3)."""
    if not xs:
        return b""
    if len(xs) >= 64 and _numpy() is not None:
        return _delta_varints_numpy(xs)
    return _delta_varints_python(xs)


def _delta_varints_python(xs):
    ds = [b - a for a, b in zip(xs, xs[1:])]
    ds.insert(0, xs[0])
    if ds and (min(ds) < _I64_MIN or max(ds) > _I64_MAX):
        ds = [wrap_i64(d) for d in ds]
    zz = [(d << 1) if d >= 0 else ((-d) << 1) - 1 for d in ds]
    head = zz[0]
    if len(zz) == 1 or max(zz[1:]) < 128:  # the common case: one byte per delta
        return (_SMALL[head] if head < 16384 else varint(head)) + bytes(zz[1:])
    return varints(zz)


def _delta_varints_numpy(xs):
    np = _numpy()
    try:
        a = np.array(xs, dtype=np.int64)
    except OverflowError:  # not 64-bit values: the exact Python path wraps them
        return _delta_varints_python(xs)
    d = np.empty_like(a)
    d[0] = a[0]
    np.subtract(a[1:], a[:-1], out=d[1:])  # wraps around like the format's deltas
    zz = ((d << 1) ^ (d >> 63)).view(np.uint64)
    nb = np.ones(len(zz), dtype=np.int64)
    shifted = zz >> np.uint64(7)
    while shifted.any():
        nb += shifted != 0
        shifted >>= np.uint64(7)
    width = int(nb.max())
    if width == 1:
        return zz.astype(np.uint8).tobytes()
    groups = np.empty((len(zz), width), dtype=np.uint8)
    for k in range(width):
        more = (nb > k + 1).astype(np.uint8) << 7
        groups[:, k] = ((zz >> np.uint64(7 * k)) & np.uint64(0x7F)).astype(np.uint8) | more
    return groups[np.arange(width)[None, :] < nb[:, None]].tobytes()


# ---------------------------------------------------------------- writing

VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5

_pack_d = struct.Struct("<d").pack


class FieldWriter:
    """Appends encoded fields to a bytearray. Fields holding their default
    value are omitted unless `always` is set (spec section 1, "Fields")."""

    __slots__ = ("out",)

    def __init__(self):
        self.out = bytearray()

    def key(self, field, wire):
        self.out += varint(field << 3 | wire)

    def uint(self, field, v, always=False):
        if v or always:
            self.out += varint(field << 3)
            self.out += varint(v)

    def sint(self, field, v, always=False):
        if v or always:
            self.out += varint(field << 3)
            self.out += varint(zigzag(v))

    def double(self, field, v, always=False):
        b = _pack_d(v)
        if always or b != b"\x00" * 8:
            self.out += varint(field << 3 | FIXED64)
            self.out += b

    def string(self, field, s, always=False):
        if s or always:
            self.bytes(field, s.encode("utf-8", "surrogatepass"), True)

    def bytes(self, field, b, always=False):
        if b or always:
            self.out += varint(field << 3 | LEN)
            self.out += varint(len(b))
            self.out += b


def record(kind, body):
    """`kind length body`: one encoded record."""
    return bytes((kind,)) + varint(len(body)) + bytes(body)


# ---------------------------------------------------------------- reading


class Malformed(Exception):
    """Raised inside decoding when bytes break the format; readers turn it
    into a damage report."""


def read_varint(buf, i, end):
    """(value, next index) of the varint at `buf[i]`; raises Malformed when it
    is truncated or overflows 64 bits."""
    result = 0
    shift = 0
    while i < end:
        b = buf[i]
        i += 1
        if shift == 63 and b > 1:
            raise Malformed("varint overflows 64 bits")
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7
        if shift > 63:
            raise Malformed("varint overflows 64 bits")
    raise Malformed("truncated varint")


def fields(buf, start=0, end=None):
    """Yields (field number, wire type, value) for each field in
    `buf[start:end]`. Value: int for varints, the raw 8 or 4 bytes for fixed
    types, (start, end) offsets into `buf` for length-delimited fields."""
    if end is None:
        end = len(buf)
    i = start
    while i < end:
        k, i = read_varint(buf, i, end)
        field, wire = k >> 3, k & 7
        if field < 1 or field > 0x7FFFFFFF:
            raise Malformed("field number out of range")
        if wire == VARINT:
            v, i = read_varint(buf, i, end)
        elif wire == FIXED64:
            if end - i < 8:
                raise Malformed("truncated fixed64 field")
            v = bytes(buf[i : i + 8])
            i += 8
        elif wire == LEN:
            n, i = read_varint(buf, i, end)
            if n > end - i:
                raise Malformed("length past the end of the body")
            v = (i, i + n)
            i += n
        elif wire == FIXED32:
            if end - i < 4:
                raise Malformed("truncated fixed32 field")
            v = bytes(buf[i : i + 4])
            i += 4
        else:
            raise Malformed(f"wire type {wire} not allowed")
        yield field, wire, v


def text(buf, span):
    """The UTF-8 string at `span`, invalid sequences replaced by U+FFFD."""
    return bytes(buf[span[0] : span[1]]).decode("utf-8", "replace")


_unpack_d = struct.Struct("<d").unpack


def as_uint(wire, v):
    if wire != VARINT:
        raise Malformed("expected a varint field")
    return v


def as_sint(wire, v):
    if wire != VARINT:
        raise Malformed("expected a varint field")
    return unzigzag(v)


def as_double(wire, v):
    if wire != FIXED64:
        raise Malformed("expected a fixed64 field")
    return _unpack_d(v)[0]


def as_span(wire, v):
    if wire != LEN:
        raise Malformed("expected a length-delimited field")
    return v
