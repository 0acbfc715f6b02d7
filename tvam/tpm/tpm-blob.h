/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * A sealed object as stored on disk: what it is sealed to, plus the
 * TPM2B_PUBLIC and TPM2B_PRIVATE that TPM2_Create returned (the private part
 * is encrypted and integrity-protected by the SRK, Part 1 §22–23).  Layout
 * (big-endian, docs/tpm.md "Blob format"):
 *
 *   0   8  magic "TVAMSEAL"
 *   8   2  format version (1)
 *   10  2  kind: 1 = PolicyPCR, 2 = PolicyAuthorizeNV
 *   12  2  PCR bank (TPM_ALG_ID), 0 for kind 2
 *   14  4  PCR mask (bit n = PCR n, n < 24), 0 for kind 2
 *   18  4  NV index holding the policy, 0 for kind 1
 *   22  .  sealed PCR values: popcount(mask) digests, ascending PCR order
 *   .   .  TPM2B_PUBLIC  (as marshalled by TPM2: 2-byte size + TPMT_PUBLIC)
 *   .   .  TPM2B_PRIVATE (2-byte size + bytes)
 *
 * The parser accepts exactly this and nothing else: no trailing bytes, only
 * a policy-only KEYEDHASH sealed object (USERWITHAUTH clear, so the policy
 * cannot be bypassed with the empty authValue), and for kind 1 the object's
 * authPolicy must equal the PolicyPCR digest of the recorded values.
 */

#include <stddef.h>
#include <stdint.h>

#include "policy/pcr/pcr.h"
#include "tvam/shared/macro.h"

#define TPM_BLOB_MAGIC "TVAMSEAL"
#define TPM_BLOB_VERSION 1u
#define TPM_BLOB_HEADER_SIZE 22u
#define TPM_BLOB_PART_MAX 1024u
#define TPM_BLOB_SIZE_MAX (TPM_BLOB_HEADER_SIZE + PCR_COUNT * DIGEST_MAX_SIZE + 2 * TPM_BLOB_PART_MAX)

enum tpm_blob_kind {
        TPM_BLOB_PCR = 1,
        TPM_BLOB_AUTHORIZE_NV = 2,
};

struct tpm_blob {
        enum tpm_blob_kind kind;
        uint32_t pcr_mask;
        struct pcr_bank pcrs; /* sealed values of the PCRs in pcr_mask */
        uint32_t nv_index;
        uint8_t public_area[TPM_BLOB_PART_MAX]; /* marshalled TPM2B_PUBLIC */
        size_t public_size;
        uint8_t private_area[TPM_BLOB_PART_MAX]; /* marshalled TPM2B_PRIVATE */
        size_t private_size;
        uint8_t auth_policy[DIGEST_MAX_SIZE]; /* from the public area (parsed) */
};

void tpm_blob_free(struct tpm_blob *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct tpm_blob *, tpm_blob_free)
#define _cleanup_tpm_blob_ _cleanup_(tpm_blob_freep)

/* Parse and validate.  -EBADMSG for anything malformed or inconsistent,
 * -EPROTONOSUPPORT for an unknown version. */
int tpm_blob_parse(const uint8_t *data, size_t size, struct tpm_blob **ret);

int tpm_blob_serialize(const struct tpm_blob *b, uint8_t **ret, size_t *ret_size);

/* Build a blob from a marshalled TPM2B_PUBLIC and TPM2B_PRIVATE (e.g. made
 * by TPM2_Create elsewhere) and what it is sealed to; validated as by
 * tpm_blob_parse().  For kind 2, PCRS may be NULL. */
int tpm_blob_new(enum tpm_blob_kind kind, const struct pcr_bank *pcrs, uint32_t pcr_mask, uint32_t nv_index,
        const uint8_t *public_area, size_t public_size, const uint8_t *private_area, size_t private_size,
        struct tpm_blob **ret);
