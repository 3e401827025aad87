// SPDX-License-Identifier: Apache-2.0
#ifndef RUNLOG_CZSTD_SHIM_H
#define RUNLOG_CZSTD_SHIM_H
#include <zstd.h>
#endif
