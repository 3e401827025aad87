// SPDX-License-Identifier: Apache-2.0
// Shortest round-trip decimal form of a double: Giulietti's Schubfach
// algorithm ("The Schubfach way to render doubles", 2020), with 128-bit
// powers of ten (pow10_table.c), then laid out as Python's repr.
//
// A finite double is v = c * 2^q. Its rounding interval, in units of 2^(q-2),
// runs from cbl = 4c - 2 (4c - 1 when c is a power of two whose lower
// neighbour is twice as close) to cbr = 4c + 2. Scaled by 10^-k, with k chosen
// so that the scaled value has 16 or 17 digits, the interval holds at most
// one multiple of 10 and at least one integer: the shorter one wins if it is
// inside, else the integer nearest the value (ties to even).
#include "runlog_decimal.h"

#include <stdint.h>
#include <string.h>

extern const uint64_t runlog_pow10_128[617][2];

typedef unsigned __int128 u128;

// floor(e * log10(2)), floor(e * log10(2) + log10(3/4)), floor(e * log2(10)):
// exact for |e| <= 1100 (checked when the table was generated).
static inline int floor_log10_pow2(int e) { return (e * 1262611) >> 22; }
static inline int floor_log10_three_quarters_pow2(int e) { return (e * 1262611 - 524031) >> 22; }
static inline int floor_log2_pow10(int e) { return (e * 1741647) >> 19; }

// floor(g * cp / 2^128), with its lowest bit set when the division is not
// exact ("round to odd"): enough to compare against the interval's ends.
static inline uint64_t round_to_odd(const uint64_t g[2], uint64_t cp) {
    u128 low = (u128)g[1] * cp;
    u128 high = (u128)g[0] * cp;
    u128 z = high + (low >> 64);
    return (uint64_t)(z >> 64) | ((uint64_t)z > 1);
}

// v = c * 2^q (c > 0) as m * 10^e with the fewest digits, closest to v.
static void shortest(uint64_t c, int q, int irregular, uint64_t *m, int *e) {
    const uint64_t odd = c & 1;
    const uint64_t cbl = 4 * c - 2 + (uint64_t)irregular;
    const uint64_t cb = 4 * c;
    const uint64_t cbr = 4 * c + 2;
    const int k = irregular ? floor_log10_three_quarters_pow2(q) : floor_log10_pow2(q);
    const int h = q + floor_log2_pow10(-k) + 1;  // 1 ... 4
    const uint64_t *g = runlog_pow10_128[292 - k];
    const uint64_t vbl = round_to_odd(g, cbl << h);
    const uint64_t vb = round_to_odd(g, cb << h);
    const uint64_t vbr = round_to_odd(g, cbr << h);
    // An even c owns the ends of its interval (readers round ties to even).
    const uint64_t lower = vbl + odd;
    const uint64_t upper = vbr - odd;

    const uint64_t s = vb >> 2;
    if (s >= 10) {
        const uint64_t sp = s / 10;
        const int low_in = lower <= 40 * sp;
        const int high_in = 40 * sp + 40 <= upper;
        if (low_in != high_in) {
            *m = sp + (uint64_t)high_in;
            *e = k + 1;
            return;
        }
    }
    const int low_in = lower <= 4 * s;
    const int high_in = 4 * s + 4 <= upper;
    if (low_in != high_in) {
        *m = s + (uint64_t)high_in;
        *e = k;
        return;
    }
    const uint64_t mid = 4 * s + 2;
    *m = s + (uint64_t)(vb > mid || (vb == mid && (s & 1)));
    *e = k;
}

static const char two_digits[200] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

// Eight digits of x (< 10^8) at p: four independent pairs.
static inline void write_eight(char *p, uint32_t x) {
    const uint32_t high = x / 10000, low = x % 10000;
    memcpy(p, two_digits + 2 * (high / 100), 2);
    memcpy(p + 2, two_digits + 2 * (high % 100), 2);
    memcpy(p + 4, two_digits + 2 * (low / 100), 2);
    memcpy(p + 6, two_digits + 2 * (low % 100), 2);
}

// The number of decimal digits of m (at least 1).
static inline int decimal_length(uint64_t m) {
    int n = 1;
    while (m >= 10000) {
        m /= 10000;
        n += 4;
    }
    return n + (m >= 10) + (m >= 100) + (m >= 1000);
}

// The decimal digits of m (> 0) ending just before `end`, without leading zeros.
static void write_digits(uint64_t m, char *end) {
    char *p = end;
    while (m >= 100000000) {
        p -= 8;
        write_eight(p, (uint32_t)(m % 100000000));
        m /= 100000000;
    }
    uint32_t r = (uint32_t)m;
    while (r >= 100) {
        p -= 2;
        memcpy(p, two_digits + 2 * (r % 100), 2);
        r /= 100;
    }
    if (r >= 10) {
        p -= 2;
        memcpy(p, two_digits + 2 * r, 2);
    } else {
        *--p = (char)('0' + r);
    }
}

size_t runlog_format_uint64(uint64_t value, int minimum_digits, char *out) {
    const int digits = decimal_length(value);
    const int zeros = minimum_digits > digits ? minimum_digits - digits : 0;
    for (int i = 0; i < zeros; i++) out[i] = '0';
    write_digits(value, out + zeros + digits);
    return (size_t)(zeros + digits);
}

size_t runlog_format_double(double value, char *out) {
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    char *p = out;
    if (bits >> 63) *p++ = '-';
    const uint64_t fraction = bits & ((UINT64_C(1) << 52) - 1);
    const int biased = (int)((bits >> 52) & 0x7ff);
    if (biased == 0 && fraction == 0) {
        memcpy(p, "0.0", 3);
        return (size_t)(p + 3 - out);
    }
    const uint64_t c = biased == 0 ? fraction : fraction | (UINT64_C(1) << 52);
    const int q = biased == 0 ? -1074 : biased - 1075;

    uint64_t m;
    int e;
    if (q <= 0 && q >= -52 && (c & ((UINT64_C(1) << -q) - 1)) == 0) {
        // An integer below 2^53: its own digits are the shortest.
        m = c >> -q;
        e = 0;
    } else {
        shortest(c, q, fraction == 0 && biased > 1, &m, &e);
    }
    while (m % 10 == 0) {
        m /= 10;
        e += 1;
    }

    // Digits are written in place; short runs of zeros and moves by a byte are loops.
    const int n = decimal_length(m);
    const int point = n + e;  // v = 0.d1d2...dn * 10^point

    if (point <= -4 || point > 16) {
        // d1 . d2...dn e±XX: the digits one byte on, then d1 moved before the point.
        write_digits(m, p + 1 + n);
        p[0] = p[1];
        if (n > 1) {
            p[1] = '.';
            p += n + 1;
        } else {
            p += 1;
        }
        int x = point - 1;
        *p++ = 'e';
        *p++ = x < 0 ? '-' : '+';
        if (x < 0) x = -x;
        if (x >= 100) {
            *p++ = (char)('0' + x / 100);
            x %= 100;
        }
        memcpy(p, two_digits + 2 * x, 2);
        return (size_t)(p + 2 - out);
    }
    if (point <= 0) {
        *p++ = '0';
        *p++ = '.';
        for (int i = 0; i < -point; i++) *p++ = '0';
        write_digits(m, p + n);
        return (size_t)(p + n - out);
    }
    if (point < n) {
        // d1...dk . dk+1...dn: the digits one byte on, then the first k moved back.
        write_digits(m, p + 1 + n);
        for (int i = 0; i < point; i++) p[i] = p[i + 1];
        p[point] = '.';
        return (size_t)(p + n + 1 - out);
    }
    write_digits(m, p + n);
    p += n;
    for (int i = 0; i < point - n; i++) *p++ = '0';
    *p++ = '.';
    *p++ = '0';
    return (size_t)(p - out);
}
