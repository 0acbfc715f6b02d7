/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Provisioning of tboot's launch policies in TPM 2.0 NV, at *both* index
 * sets tboot 1.10.5 reads (which one it uses depends on a SINIT capability
 * bit; writing both is what OpenXT does):
 *
 *   VLP     0x01200001 and 0x01C10131   (tboot tpm_20.c tb_policy_index)
 *   PO LCP  0x01400001 and 0x01C10106   (lcp_own_index)
 *
 * tboot reads them with the index itself as authHandle and an empty
 * password session (tpm_20.c tpm20_nv_read: handle = index), so the
 * indices are TPMA_NV_AUTHREAD with an empty authValue.  Writing needs the
 * owner hierarchy's authorization: TPMA_NV_OWNERWRITE and *not*
 * AUTHWRITE (an empty index authValue would let anyone write).
 *   attributes = OWNERWRITE | AUTHREAD | OWNERREAD | NO_DA
 *
 * Sizes: the VLP index has a fixed capacity (NV_VLP_CAPACITY) and the
 * policy is written zero-padded in one TPM2_NV_Write, so an update is a
 * single atomic write; tboot accepts trailing bytes (tb_policy.h
 * verify_policy() only checks that entries fit) and hashes only
 * calc_policy_size() bytes, so the padding does not change PCR 17.  The
 * LCP index is exactly the policy's size (38 + digest bytes), which SINIT
 * reads as a structure; a policy of another hash algorithm redefines it.
 */

#include <stddef.h>
#include <stdint.h>

#include "tvam/shared/secret.h"
#include "tvam/tpm/tpm-context.h"

#define NV_VLP_INDEX_1 UINT32_C(0x01200001)
#define NV_VLP_INDEX_2 UINT32_C(0x01C10131)
#define NV_LCP_INDEX_1 UINT32_C(0x01400001)
#define NV_LCP_INDEX_2 UINT32_C(0x01C10106)

#define NV_VLP_CAPACITY 1024u
#define NV_POLICY_MAX NV_VLP_CAPACITY
#define NV_AUTH_MAX 256u

enum nv_policy_kind {
        NV_POLICY_VLP,
        NV_POLICY_LCP,
};

const char *nv_policy_kind_to_string(enum nv_policy_kind kind);
/* Index WHICH (0 or 1) of KIND's pair. */
uint32_t nv_policy_index(enum nv_policy_kind kind, unsigned which);
/* The attributes every index is defined with. */
uint32_t nv_policy_attributes(void);

/*
 * Write DATA (a VLP or an LCP v3.0 policy, validated by decoding it first:
 * -EBADMSG otherwise) to both indices of KIND, defining them when absent
 * (or, for the LCP, when the size changed) with OWNER_AUTH (NULL = empty).
 * An existing index with other attributes is refused (-EEXIST): it was not
 * provisioned by us and its write protection is unknown.  -EACCES: the
 * owner authorization is wrong.
 */
int nv_policy_provision(struct tpm_context *c, enum nv_policy_kind kind, const uint8_t *data, size_t size,
        const struct secret *owner_auth);

/* Read KIND's first index (as tboot does: empty auth), check that the
 * second holds the same, and return the policy without padding. */
int nv_policy_read(struct tpm_context *c, enum nv_policy_kind kind, uint8_t **ret, size_t *ret_size);
