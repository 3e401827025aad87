# SPDX-License-Identifier: Apache-2.0
"""CRC32C with numpy, for buffers too long for a byte-at-a-time Python loop.

CRC is linear over GF(2): with `raw(data, r)` the reflected CRC register
after `data` from register `r`, `raw(A + B, 0) = Z(len B)(raw(A, 0)) ^
raw(B, 0)`, where `Z(n)` (the register run through n zero bytes) is a linear
map of 32 bits, applied with four 256-entry tables. The buffer is cut into
equal chunks whose CRCs advance together, one numpy operation per byte
column, then combined pairwise in a tree.
"""

import numpy as np

_POLY = 0x82F63B78


def _table():
    t = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        t = np.where(t & 1, (t >> 1) ^ np.uint32(_POLY), t >> 1).astype(np.uint32)
    return t


_T = _table()
_T_LIST = _T.tolist()


def _zero_byte(r):
    return _T_LIST[r & 0xFF] ^ (r >> 8)


def _apply(columns, r):
    """The linear map given by its images of the 32 unit vectors, applied to r."""
    out = 0
    k = 0
    while r:
        if r & 1:
            out ^= columns[k]
        r >>= 1
        k += 1
    return out


_POW2 = [[_zero_byte(1 << k) for k in range(32)]]  # _POW2[j]: columns of Z(2**j)


def _pow2(j):
    while len(_POW2) <= j:
        c = _POW2[-1]
        _POW2.append([_apply(c, x) for x in c])
    return _POW2[j]


def _zeros_map(n, r):
    """Z(n)(r): the register r run through n zero bytes."""
    j = 0
    while n:
        if n & 1:
            r = _apply(_pow2(j), r)
        n >>= 1
        j += 1
    return r


_BYTE_TABLES: dict = {}


def _byte_tables(j):
    """Four 256-entry tables applying Z(2**j) to a vector of registers."""
    tables = _BYTE_TABLES.get(j)
    if tables is None:
        cols = np.array(_pow2(j), dtype=np.uint32)
        bits = ((np.arange(256)[:, None] >> np.arange(8)[None, :]) & 1).astype(bool)
        tables = []
        for byte in range(4):
            c = cols[8 * byte : 8 * byte + 8]
            tables.append(np.bitwise_xor.reduce(np.where(bits, c[None, :], np.uint32(0)), axis=1).astype(np.uint32))
        _BYTE_TABLES[j] = tables
    return tables


def crc32c(data, chunk_log2=4):
    n = len(data)
    chunk = 1 << chunk_log2
    real = max(1, -(-n // chunk))
    buf = np.zeros(real * chunk, dtype=np.uint8)
    buf[real * chunk - n :] = np.frombuffer(data, dtype=np.uint8)  # leading zeros leave raw(., 0) unchanged
    columns = buf.reshape(real, chunk).T.copy()  # one contiguous row per byte position
    r = np.zeros(real, dtype=np.uint32)
    t = _T
    for col in columns:
        r = t[(r ^ col) & 0xFF] ^ (r >> 8)
    rows = 1
    while rows < real:
        rows <<= 1
    if rows > real:  # whole zero chunks in front: their raw CRC is 0
        r = np.concatenate((np.zeros(rows - real, dtype=np.uint32), r))
    level = chunk_log2
    while len(r) > 1:
        a, b, c, d = _byte_tables(level)
        left = r[0::2]
        r = a[left & 0xFF] ^ b[(left >> 8) & 0xFF] ^ c[(left >> 16) & 0xFF] ^ d[left >> 24] ^ r[1::2]
        level += 1
    raw = int(r[0])
    return raw ^ _zeros_map(n, 0xFFFFFFFF) ^ 0xFFFFFFFF
