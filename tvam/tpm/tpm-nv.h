/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * NV storage (TPM 2.0 Part 3 §31).  The index attributes are TPMA_NV bits
 * (Part 2 §13.4), e.g. for tboot's VLP/LCP indices, which tboot reads with
 * an empty authValue: TPM_NV_ATTR_AUTHREAD | TPM_NV_ATTR_OWNERWRITE | ...
 */

#include <stddef.h>
#include <stdint.h>

#include "policy/pcr/policy.h"
#include "tvam/shared/secret.h"
#include "tvam/tpm/tpm-context.h"

#define TPM_NV_ATTR_PPWRITE UINT32_C(0x00000001)
#define TPM_NV_ATTR_OWNERWRITE UINT32_C(0x00000002)
#define TPM_NV_ATTR_AUTHWRITE UINT32_C(0x00000004)
#define TPM_NV_ATTR_POLICYWRITE UINT32_C(0x00000008)
#define TPM_NV_ATTR_WRITEDEFINE UINT32_C(0x00002000)
#define TPM_NV_ATTR_PPREAD UINT32_C(0x00010000)
#define TPM_NV_ATTR_OWNERREAD UINT32_C(0x00020000)
#define TPM_NV_ATTR_AUTHREAD UINT32_C(0x00040000)
#define TPM_NV_ATTR_POLICYREAD UINT32_C(0x00080000)
#define TPM_NV_ATTR_NO_DA UINT32_C(0x02000000)
#define TPM_NV_ATTR_WRITTEN UINT32_C(0x20000000)

/* Handles of NV indices: 0x01xxxxxx (Part 2 §7.4). */
#define TPM_NV_INDEX_FIRST UINT32_C(0x01000000)
#define TPM_NV_INDEX_LAST UINT32_C(0x01FFFFFF)

struct tpm_nv_spec {
        uint32_t index;
        uint32_t attributes; /* TPMA_NV, ordinary type (TPM_NT bits 0) */
        uint16_t size;
        const uint8_t *auth_policy; /* NULL/0: no policy */
        size_t auth_policy_size;
};

/* Which authorization a read/write uses: the index's own authValue, or the
 * owner hierarchy's (TPMA_NV_OWNERREAD / _OWNERWRITE). */
enum tpm_nv_auth {
        TPM_NV_AUTH_INDEX,
        TPM_NV_AUTH_OWNER,
};

/* TPM2_NV_DefineSpace (Part 3 §31.3) under the owner hierarchy with index
 * authValue AUTH (NULL = empty).  -EEXIST if the index already exists. */
int tpm_nv_define(struct tpm_context *c, const struct tpm_nv_spec *spec, const struct secret *auth,
        const struct secret *owner_auth);

/* TPM2_NV_UndefineSpace (Part 3 §31.4).  -ENOENT if not defined. */
int tpm_nv_undefine(struct tpm_context *c, uint32_t index, const struct secret *owner_auth);

/* Write DATA at offset 0, in chunks the TPM accepts (Part 3 §31.7). */
int tpm_nv_write(struct tpm_context *c, uint32_t index, enum tpm_nv_auth how, const struct secret *auth,
        const void *data, size_t size);

/* Read the whole index (Part 3 §31.13).  -ENOENT if never written. */
int tpm_nv_read(struct tpm_context *c, uint32_t index, enum tpm_nv_auth how, const struct secret *auth,
        uint8_t **ret, size_t *ret_size);

/* TPM2_NV_ReadPublic (Part 3 §31.6): current attributes, size and Name. */
int tpm_nv_read_public(struct tpm_context *c, uint32_t index, uint32_t *ret_attributes, uint16_t *ret_size,
        uint8_t *ret_auth_policy, size_t *ret_auth_policy_size, uint8_t ret_name[POLICY_NAME_MAX],
        size_t *ret_name_size);
