/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * A connection to a TPM 2.0 through tpm2-tss ESAPI.  One context per thread;
 * tvamd owns one for its lifetime.
 */

#include <stddef.h>

#include "tvam/shared/macro.h"

/* The kernel resource manager: concurrent users do not see each other's
 * transient objects and sessions. */
#define TPM_TCTI_DEFAULT "device:/dev/tpmrm0"

struct tpm_context;

/*
 * Open the TPM named by TCTI (a tpm2-tss TCTI configuration string such as
 * "device:/dev/tpmrm0" or "swtpm:host=127.0.0.1,port=2321"; NULL means
 * TPM_TCTI_DEFAULT).
 *
 * Returns 0, -ENODEV when no TPM can be reached (device node missing, TCTI
 * library missing, simulator not listening), or another negative errno.
 */
int tpm_context_new(const char *tcti, struct tpm_context **ret);

void tpm_context_free(struct tpm_context *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tpm_context *, tpm_context_free)
#define _cleanup_tpm_context_ _cleanup_(tpm_context_freep)

/* Fill BUF with SIZE bytes from the TPM's RNG (TPM2_GetRandom, Part 3 §16.1). */
int tpm_get_random(struct tpm_context *c, void *buf, size_t size);
