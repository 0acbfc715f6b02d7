/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Software computation of TPM 2.0 policy digests (TPM 2.0 Part 1 §19.7,
 * Part 3 §23).  Each policy_*() call updates a running policy digest exactly
 * as the TPM updates policySession->policyDigest when the same command runs
 * in a (trial) policy session, so a sealed object's authPolicy can be
 * computed for present *or predicted* PCR values without a TPM.
 *
 * Only single-bank PCR selections are modelled (TVAM seals to the SHA-256
 * bank); the TPML_PCR_SELECTION is always marshalled with sizeofSelect = 3
 * (24 PCRs), as tpm2-tools and systemd do, because the digest depends on it.
 */

#include <stddef.h>
#include <stdint.h>

#include "policy/pcr/pcr.h"
#include "tvam/shared/digest.h"

/* TPM 2.0 Part 2 §6.5.2 command codes used in policies. */
#define POLICY_CC_NV_WRITE UINT32_C(0x00000137)
#define POLICY_CC_NV_CHANGE_AUTH UINT32_C(0x0000013B)
#define POLICY_CC_POLICY_SECRET UINT32_C(0x00000151)
#define POLICY_CC_POLICY_AUTH_VALUE UINT32_C(0x0000016B)
#define POLICY_CC_POLICY_COMMAND_CODE UINT32_C(0x0000016C)
#define POLICY_CC_POLICY_OR UINT32_C(0x00000171)
#define POLICY_CC_POLICY_PCR UINT32_C(0x0000017F)
#define POLICY_CC_POLICY_AUTHORIZE_NV UINT32_C(0x00000192)

/* TPM2_PolicyOR takes 2..8 digests (Part 2 §10.9.7 TPML_DIGEST, Part 3 §23.6). */
#define POLICY_OR_MAX 8u
/* Branches of a nested PolicyOR tree: 8^4. */
#define POLICY_OR_BRANCHES_MAX 4096u
#define POLICY_OR_DEPTH_MAX 4u

/* A TPM Name: nameAlg (2 bytes, big-endian) || H(public area). */
#define POLICY_NAME_MAX (2u + DIGEST_MAX_SIZE)

struct policy {
        enum digest_alg alg;
        uint8_t digest[DIGEST_MAX_SIZE];
};

/* A policy session starts with an all-zero digest (Part 1 §19.7.2). */
int policy_init(struct policy *p, enum digest_alg alg);

static inline size_t policy_size(const struct policy *p)
{
        return digest_size(p->alg);
}

/* TPM2_PolicyPCR (Part 3 §23.7):
 *   policyDigest' = H(policyDigest || TPM_CC_PolicyPCR || pcrs || pcrDigest)
 * with PCR_DIGEST = pcr_composite_digest() computed with the policy alg. */
int policy_pcr(struct policy *p, enum digest_alg bank_alg, uint32_t mask, const uint8_t *pcr_digest);

/* policy_pcr() for the values held in BANK (present or predicted). */
int policy_pcr_bank(struct policy *p, const struct pcr_bank *bank, uint32_t mask);

/* TPM2_PolicyOR (Part 3 §23.6): policyDigest' = H(0 || TPM_CC_PolicyOR ||
 * digests).  DIGESTS holds N (2..8) policy digests of policy_size() bytes
 * each, contiguously. */
int policy_or(struct policy *p, const uint8_t *digests, size_t n);

/* TPM2_PolicyAuthValue (Part 3 §23.18): H(policyDigest || TPM_CC_PolicyAuthValue). */
int policy_auth_value(struct policy *p);

/* TPM2_PolicyCommandCode (Part 3 §23.11): H(policyDigest || TPM_CC_PolicyCommandCode || code). */
int policy_command_code(struct policy *p, uint32_t code);

/* TPM2_PolicySecret (Part 3 §23.4): H(H(policyDigest || TPM_CC_PolicySecret ||
 * authObject->Name) || policyRef). */
int policy_secret(struct policy *p, const uint8_t *name, size_t name_size, const uint8_t *policy_ref,
        size_t policy_ref_size);

/* TPM2_PolicyAuthorizeNV (Part 3 §23.22): the digest is reset to zero, then
 * policyDigest' = H(0 || TPM_CC_PolicyAuthorizeNV || nvIndex->Name). */
int policy_authorize_nv(struct policy *p, const uint8_t *nv_name, size_t nv_name_size);

/* The Name of an NV index (Part 1 §16, Part 2 §13.5 TPMS_NV_PUBLIC):
 * nameAlg || H_nameAlg(nvIndex || nameAlg || attributes || authPolicy (TPM2B) || dataSize).
 * ATTRIBUTES must be the current ones (TPMA_NV_WRITTEN changes the Name). */
int policy_nv_name(enum digest_alg name_alg, uint32_t nv_index, uint32_t attributes,
        const uint8_t *auth_policy, size_t auth_policy_size, uint16_t data_size, uint8_t *ret_name,
        size_t *ret_name_size);

/*
 * Nested PolicyOR over N (1..POLICY_OR_BRANCHES_MAX) branch digests.  N == 1
 * needs no OR: the root is the branch itself.  Otherwise level 0 groups the
 * branches in runs of 8, each run is ORed (a run of one is padded by
 * repeating the digest, since PolicyOR needs two), and the run digests form
 * the next level, until one digest remains.
 *
 * To satisfy branch INDEX at run time, a session runs the branch's own
 * assertions and then one TPM2_PolicyOR per step in STEPS, in order.
 */
struct policy_or_step {
        size_t n;
        uint8_t digests[POLICY_OR_MAX * DIGEST_MAX_SIZE];
};

int policy_or_tree(enum digest_alg alg, const uint8_t *branches, size_t n, size_t index,
        struct policy_or_step *ret_steps, size_t *ret_n_steps, uint8_t *ret_root);
