// SPDX-License-Identifier: Apache-2.0
#ifndef RUNLOG_DECIMAL_H
#define RUNLOG_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Room `runlog_format_double` needs in its output buffer.
#define RUNLOG_DOUBLE_TEXT_MAX 32

/// Writes finite `value` to `out` (at least RUNLOG_DOUBLE_TEXT_MAX bytes, not
/// NUL-terminated) as the shortest decimal that reads back as the same double,
/// the one closest to it when several are as short, laid out as Python's
/// `repr` does: "1.0", "-0.0", "0.0001", "1e-05", "1234567890123456.0",
/// "1e+16", "5e-324". Returns the number of bytes written.
/// NaN and infinities are the caller's to handle; for them the output is unspecified.
size_t runlog_format_double(double value, char *out);

/// Writes `value` in decimal to `out` (at least 20 bytes, not NUL-terminated),
/// with leading zeros up to `minimum_digits` (at most 20). Returns the number of bytes written.
size_t runlog_format_uint64(uint64_t value, int minimum_digits, char *out);

#ifdef __cplusplus
}
#endif

#endif
