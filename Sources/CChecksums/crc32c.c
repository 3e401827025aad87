// SPDX-License-Identifier: Apache-2.0
#include "runlog_checksums.h"
#include <string.h>

extern const uint32_t runlog_crc32c_table[8][256];

uint32_t runlog_crc32c_portable(uint32_t crc, const void *data, size_t len) {
    const uint8_t *p = (const uint8_t *)data;
    crc = ~crc;
    while (len >= 8) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + 4, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        lo = __builtin_bswap32(lo);
        hi = __builtin_bswap32(hi);
#endif
        lo ^= crc;
        crc = runlog_crc32c_table[7][lo & 0xff] ^ runlog_crc32c_table[6][(lo >> 8) & 0xff] ^
              runlog_crc32c_table[5][(lo >> 16) & 0xff] ^ runlog_crc32c_table[4][lo >> 24] ^
              runlog_crc32c_table[3][hi & 0xff] ^ runlog_crc32c_table[2][(hi >> 8) & 0xff] ^
              runlog_crc32c_table[1][(hi >> 16) & 0xff] ^ runlog_crc32c_table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len--) {
        crc = (crc >> 8) ^ runlog_crc32c_table[0][(crc ^ *p++) & 0xff];
    }
    return ~crc;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const void *data, size_t len) {
    const uint8_t *p = (const uint8_t *)data;
    uint64_t c = ~crc;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--) c32 = _mm_crc32_u8(c32, *p++);
    return ~c32;
}

int runlog_crc32c_hardware(void) {
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

uint32_t runlog_crc32c(uint32_t crc, const void *data, size_t len) {
    if (__builtin_cpu_supports("sse4.2")) return crc32c_sse42(crc, data, len);
    return runlog_crc32c_portable(crc, data, len);
}

#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>

int runlog_crc32c_hardware(void) { return 1; }

uint32_t runlog_crc32c(uint32_t crc, const void *data, size_t len) {
    const uint8_t *p = (const uint8_t *)data;
    uint32_t c = ~crc;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __crc32cd(c, v);
        p += 8;
        len -= 8;
    }
    while (len--) c = __crc32cb(c, *p++);
    return ~c;
}

#else
int runlog_crc32c_hardware(void) { return 0; }

uint32_t runlog_crc32c(uint32_t crc, const void *data, size_t len) {
    return runlog_crc32c_portable(crc, data, len);
}
#endif
