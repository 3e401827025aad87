# SPDX-License-Identifier: Apache-2.0
"""Varints, zigzag deltas and CRC32C: every implementation gives the same bytes."""

import os
import random

import pytest

from runlog import _wire as w


def test_varint_edges():
    assert w.varint(0) == b"\x00" and w.varint(127) == b"\x7f" and w.varint(128) == b"\x80\x01"
    assert w.varint((1 << 64) - 1) == b"\xff" * 9 + b"\x01"
    assert w.read_varint(w.varint((1 << 64) - 1), 0, 10) == ((1 << 64) - 1, 10)
    with pytest.raises(w.Malformed):
        w.read_varint(b"\xff" * 9 + b"\x02", 0, 10)  # 65 bits
    with pytest.raises(w.Malformed):
        w.read_varint(b"\x80\x80", 0, 2)


def test_varints_are_the_varints_one_after_another():
    values = [0, 127, 128, 16383, 16384, (1 << 64) - 1, 5]
    assert w.varints(values) == b"".join(w.varint(v) for v in values)
    assert w.varints([]) == b""
    with pytest.raises(ValueError, match="negative"):
        w.varints([3, -1])


def test_zigzag_round_trips_at_the_64_bit_edges():
    for n in (0, -1, 1, 2 ** 63 - 1, -(2 ** 63), 12345, -12345):
        assert w.unzigzag(w.zigzag(n)) == n
    assert (w.zigzag(-1), w.zigzag(1)) == (1, 2)


CASES = [
    [5],
    list(range(1000)),
    [1_764_171_652_123_456 + 7 * i for i in range(500)],
    [0, 2 ** 63 - 1, -(2 ** 63), 0, 2 ** 63 - 1] * 20,  # deltas that wrap around
    [random.Random(3).randrange(-(2 ** 40), 2 ** 40) for _ in range(300)],
    [100 - i for i in range(100)],
]


@pytest.mark.parametrize("xs", CASES)
def test_numpy_and_python_delta_varints_agree(xs):
    expected = b"".join(w.varint(w.zigzag(w.wrap_i64(b - a))) for a, b in zip([0] + xs[:-1], xs))
    assert w._delta_varints_python(xs) == expected
    if w._numpy() is not None:
        assert w._delta_varints_numpy(xs) == expected


# Published CRC32C values (RFC 3720 B.4, the "123456789" check value) and, for
# lengths around the table and SIMD strides, values of a bitwise CRC32C
# computed apart: bytes (i * 7 + 3) & 0xFF for i in range(n).
CRC32C_VECTORS = [
    (b"123456789", 0xE3069283), (bytes(32), 0x8A9136AA), (b"\xff" * 32, 0x62A8AB43),
    (bytes(range(32)), 0x46DD794E), (bytes(range(31, -1, -1)), 0x113FDB5C),
] + [
    (bytes((i * 7 + 3) & 0xFF for i in range(n)), crc)
    for n, crc in ((0, 0x0), (1, 0x412DA0A5), (63, 0x40A98357), (64, 0x2884F9F3), (65, 0x62B69E19),
                   (1000, 0xDD2EDFF7), (4096, 0xED96B643), (70000, 0x368E7C81))
]


def test_crc32c_implementations_agree():
    impls = [w.crc32c, w._crc32c_python]
    try:
        from runlog._crc_numpy import crc32c as numpy_crc
        impls.append(numpy_crc)
    except ImportError:
        pass
    for data, crc in CRC32C_VECTORS:
        for f in impls:
            assert f(data) == crc, (f, len(data))
    for n in (0, 1, 63, 64, 65, 1000, 4096, 70000):
        data = os.urandom(n)
        want = w._crc32c_python(data)
        for f in impls:
            assert f(data) == want, (f, n)
