// SPDX-License-Identifier: Apache-2.0
// Text made valid UTF-8 as it arrives in pieces (pure computation).
#include <string.h>

#include "capture.h"

// The length of the sequence that `lead` starts, and the range of its second byte; 0 when `lead` starts none.
static int sequence(uint8_t lead, uint8_t *lo, uint8_t *hi) {
    *lo = 0x80;
    *hi = 0xBF;
    if (lead < 0x80) return 1;
    if (lead < 0xC2) return 0;  // a continuation byte, or the lead of an overlong form
    if (lead < 0xE0) return 2;
    if (lead < 0xF0) {
        if (lead == 0xE0) *lo = 0xA0;       // overlong
        else if (lead == 0xED) *hi = 0x9F;  // surrogates
        return 3;
    }
    if (lead < 0xF5) {
        if (lead == 0xF0) *lo = 0x90;       // overlong
        else if (lead == 0xF4) *hi = 0x8F;  // past U+10FFFF
        return 4;
    }
    return 0;
}

static size_t replacement(uint8_t *out) {
    out[0] = 0xEF;
    out[1] = 0xBF;
    out[2] = 0xBD;
    return 3;
}

size_t rlc_utf8_valid(struct rlc_utf8_carry *carry, const uint8_t *in, size_t len, int final, uint8_t *out) {
    size_t o = 0;
    uint8_t lo = 0x80, hi = 0xBF;
    int need = 0;  // continuation bytes still to come for the sequence in `carry`
    if (carry->count > 0) {
        need = sequence(carry->bytes[0], &lo, &hi) - carry->count;
        if (carry->count > 1) lo = 0x80, hi = 0xBF;
    }
    size_t i = 0;
    while (i < len) {
        uint8_t b = in[i];
        if (need == 0) {
            if (b < 0x80) {  // a run of ASCII
                size_t j = i + 1;
                while (j < len && in[j] < 0x80) j++;
                memcpy(out + o, in + i, j - i);
                o += j - i;
                i = j;
                continue;
            }
            int n = sequence(b, &lo, &hi);
            if (n == 0) {
                o += replacement(out + o);
            } else {
                carry->bytes[0] = b;
                carry->count = 1;
                need = n - 1;
            }
            i++;
            continue;
        }
        if (b >= lo && b <= hi) {
            carry->bytes[carry->count++] = b;
            lo = 0x80, hi = 0xBF;
            i++;
            if (--need == 0) {
                memcpy(out + o, carry->bytes, carry->count);
                o += carry->count;
                carry->count = 0;
            }
        } else {  // the sequence so far is one maximal subpart: one U+FFFD; `b` starts afresh
            o += replacement(out + o);
            carry->count = 0;
            need = 0;
        }
    }
    if (final && carry->count > 0) {
        o += replacement(out + o);
        carry->count = 0;
    }
    return o;
}

size_t rlc_utf8_cut(const uint8_t *text, size_t len, size_t max) {
    if (len <= max) return len;
    size_t k = max;
    while (k > 0 && (text[k] & 0xC0) == 0x80) k--;
    return k;
}
