// SPDX-License-Identifier: Apache-2.0
#ifndef RUNLOG_CCRYPTO_SHIM_H
#define RUNLOG_CCRYPTO_SHIM_H
#include <openssl/evp.h>
#endif
