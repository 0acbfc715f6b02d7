/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Revocable policies (issue 3 §6, docs/tpm.md "PolicyAuthorizeNV scheme").
 *
 * Sealed objects carry authPolicy = PolicyAuthorizeNV(policy index): they
 * unseal in whatever platform state the *current content* of the policy NV
 * index authorizes.  The index holds a TPMT_HA: the PolicyOR of one
 * PolicyPCR branch per allowed state.  Moving to a new state and revoking
 * old ones is one NV write; no secret is unsealed or re-sealed for it.
 *
 *   admin index  (default 0x01800A02): authValue = admin secret,
 *                TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD, 1 byte, DA-protected
 *                (no TPMA_NV_NO_DA) so the admin secret cannot be guessed
 *                quickly, authPolicy = PolicyCommandCode(TPM_CC_NV_ChangeAuth)
 *                + PolicyAuthValue so the admin can rotate the secret
 *                (TPM2_NV_ChangeAuth keeps the Name, so nothing is resealed).
 *                It stores nothing; it is the admin's identity for
 *                TPM2_PolicySecret.
 *   policy index (default 0x01800A01): empty authValue,
 *                TPMA_NV_POLICYWRITE | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA,
 *                34 bytes (TPMT_HA, SHA-256), authPolicy =
 *                PolicyCommandCode(TPM_CC_NV_Write) + PolicySecret(admin index).
 *                Reading needs only the empty authValue (unseal at boot has
 *                no admin); writing needs the admin secret.
 */

#include <stddef.h>
#include <stdint.h>

#include "policy/pcr/pcr.h"
#include "tvam/shared/secret.h"
#include "tvam/tpm/tpm-context.h"

#define TPM_NV_POLICY_INDEX UINT32_C(0x01800A01)
#define TPM_NV_ADMIN_INDEX UINT32_C(0x01800A02)
#define TPM_NV_POLICY_SIZE 34u /* TPMT_HA with a SHA-256 digest */
/* TPMA_NV_POLICYWRITE | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA (Part 2 §13.4) */
#define TPM_NV_POLICY_ATTRS UINT32_C(0x02040008)
/* TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD */
#define TPM_NV_ADMIN_ATTRS UINT32_C(0x00040004)

/* One allowed platform state: the values the PCRs in MASK must hold. */
struct tpm_pcr_state {
        uint32_t mask;
        struct pcr_bank pcrs;
};

struct tpm_policy_nv {
        uint32_t policy_index;
        uint32_t admin_index;
};
#define TPM_POLICY_NV_DEFAULT ((struct tpm_policy_nv){TPM_NV_POLICY_INDEX, TPM_NV_ADMIN_INDEX})

/*
 * Three kinds of sealed secrets, one policy index each (docs/update.md
 * "Three policy indices").  tvamd records one set of Application-Mode states
 * (launch PCRs + 14 + 15 at its Application-Mode value); each class sees
 * that set through its own projection, and every change of the set is one
 * admin-authorized NV write per index:
 *
 *   application  0x01800A01  launch + 14 + 15 = Application Mode  (volumes)
 *   update mode  0x01800A03  launch + 14 + 15 = 0    (the SSH host key)
 *   boot         0x01800A04  launch + 14 = 0 + 15 = 0 (base-N's key: the
 *                initramfs unseals it before it measures base-N into PCR 14,
 *                so it never unseals in the running system)
 */
#define TPM_NV_UPDATE_MODE_POLICY_INDEX UINT32_C(0x01800A03)
#define TPM_NV_BOOT_POLICY_INDEX UINT32_C(0x01800A04)
#define TPM_BASE_PCR 14u /* the base image (docs/base-system.md) */
#define TPM_MODE_PCR 15u /* 0 in Update Mode (docs/base-system.md "Modes") */

enum tpm_seal_class {
        TPM_SEAL_APPLICATION,
        TPM_SEAL_UPDATE_MODE,
        TPM_SEAL_BOOT,
        _TPM_SEAL_CLASS_MAX,
};

/* The index pair of CLASS (admin index shared). */
struct tpm_policy_nv tpm_policy_nv_for_class(enum tpm_seal_class class);
const char *tpm_seal_class_to_string(enum tpm_seal_class class);

/* STATE (an Application-Mode state) as CLASS's index authorizes it: PCR 15
 * (update mode, boot) and PCR 14 (boot) set to 0 where STATE selects them. */
void tpm_pcr_state_project(const struct tpm_pcr_state *state, enum tpm_seal_class class,
        struct tpm_pcr_state *ret);

/* The PolicyOR (nested beyond 8) of the states' PolicyPCR digests, i.e. the
 * value to store in the policy index.  Software only. */
int tpm_policy_nv_states_digest(const struct tpm_pcr_state *states, size_t n_states, uint8_t ret_digest[32]);

/* Define both indices (idempotent: existing indices are verified against the
 * expected attributes and authPolicy, -EEXIST if they differ) and write an
 * initial policy that authorizes no state. */
int tpm_policy_nv_provision(struct tpm_context *c, const struct tpm_policy_nv *nv,
        const struct secret *admin, const struct secret *owner_auth);

/* Authorize exactly STATES (revoking all others): one NV write authorized by
 * the admin secret.  -EACCES for a wrong admin secret (nothing changes). */
int tpm_policy_nv_authorize(struct tpm_context *c, const struct tpm_policy_nv *nv,
        const struct secret *admin, const struct tpm_pcr_state *states, size_t n_states);

/* Store DIGEST (a policy digest, SHA-256) in the policy index. */
int tpm_policy_nv_write_digest(struct tpm_context *c, const struct tpm_policy_nv *nv,
        const struct secret *admin, const uint8_t digest[32]);

/* Read the stored policy digest (empty authValue, no admin needed). */
int tpm_policy_nv_read_digest(struct tpm_context *c, const struct tpm_policy_nv *nv, uint8_t ret_digest[32]);

/* Replace the admin secret OLD_ADMIN by NEW_ADMIN (TPM2_NV_ChangeAuth,
 * Part 3 §31.16, in a policy session proving OLD_ADMIN; the new value is sent
 * encrypted).  -EACCES if OLD_ADMIN is wrong. */
int tpm_policy_nv_change_admin(struct tpm_context *c, const struct tpm_policy_nv *nv,
        const struct secret *old_admin, const struct secret *new_admin);

/* Remove both indices (owner authorization). */
int tpm_policy_nv_remove(
        struct tpm_context *c, const struct tpm_policy_nv *nv, const struct secret *owner_auth);
