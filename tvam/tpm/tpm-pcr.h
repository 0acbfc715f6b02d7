/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* PCR read and extend on the TPM (TPM 2.0 Part 3 §22). */

#include <stdint.h>

#include "policy/pcr/pcr.h"
#include "tvam/tpm/tpm-context.h"

/* 1 if the TPM has an allocated PCR bank for ALG, 0 if not. */
int tpm_pcr_bank_available(struct tpm_context *c, enum digest_alg alg);

/* Read the PCRs in MASK of bank ALG into *RET_BANK (other PCRs zero).
 * -EOPNOTSUPP if the bank is not allocated. */
int tpm_pcr_read(struct tpm_context *c, enum digest_alg alg, uint32_t mask, struct pcr_bank *ret_bank);

/* TPM2_PCR_Extend of one bank: PCR = H(PCR || DIGEST).  DIGEST has
 * digest_size(ALG) bytes.  PCRs 17–22 need locality 2+ (-EACCES/-EINVAL otherwise). */
int tpm_pcr_extend(struct tpm_context *c, unsigned pcr, enum digest_alg alg, const uint8_t *digest);
