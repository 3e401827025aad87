// SPDX-License-Identifier: Apache-2.0
#ifndef RUNLOG_CHECKSUMS_H
#define RUNLOG_CHECKSUMS_H
#include <stddef.h>
#include <stdint.h>

/// CRC32C (Castagnoli) of `len` bytes, continuing from `crc` (0 to start).
/// Uses the SSE4.2 or ARMv8 CRC32 instructions when the CPU has them, a
/// slicing-by-8 table otherwise. The result is not masked.
uint32_t runlog_crc32c(uint32_t crc, const void *data, size_t len);

/// The table-driven implementation alone, for tests that compare both paths.
uint32_t runlog_crc32c_portable(uint32_t crc, const void *data, size_t len);

/// 1 when runlog_crc32c uses a hardware instruction on this CPU.
int runlog_crc32c_hardware(void);

#endif
