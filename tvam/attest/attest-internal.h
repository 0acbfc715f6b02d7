/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Shared by the files of tvam/attest only. */

#include "tvam/tpm/tpm-internal.h"

/* Load the AK of STATE_DIR (ak.blob, checked to be an AK) under the SRK;
 * *RET_PUB gets its public area.  The caller flushes *RET. */
int attest_ak_load(struct tpm_context *c, const char *state_dir, ESYS_TR *ret, TPM2B_PUBLIC *ret_pub);
