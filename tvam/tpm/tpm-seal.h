/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Seal / unseal secrets of up to 64 bytes under the SRK (TPM 2.0 Part 3
 * §12.1 TPM2_Create of a KEYEDHASH data object, §12.7 TPM2_Unseal).  The
 * object has no usable authValue (USERWITHAUTH clear): only its policy
 * releases it.  Command and response parameters carrying the secret are
 * encrypted with a session salted by the SRK.
 */

#include <stddef.h>
#include <stdint.h>

#include "policy/pcr/pcr.h"
#include "tvam/shared/secret.h"
#include "tvam/tpm/tpm-blob.h"
#include "tvam/tpm/tpm-context.h"
#include "tvam/tpm/tpm-policy-nv.h"

#define TPM_SEAL_SIZE_MAX 64u

/* Why an unseal was refused, where that can be known. */
struct tpm_unseal_diag {
        uint32_t pcr_differ; /* PCRs whose current value differs from the sealed/allowed one */
        char message[256];   /* e.g. "PCR 16 differs from the sealed policy" */
};

/* Seal SECRET to the values of the PCRs in MASK held in PCRS — read from the
 * TPM (present) or computed by the model (predicted).  Policy: PolicyPCR. */
int tpm_seal_pcr(struct tpm_context *c, const struct secret *secret, const struct pcr_bank *pcrs,
        uint32_t mask, struct tpm_blob **ret);

/* Seal SECRET with policy PolicyAuthorizeNV(NV->policy_index): it unseals in
 * any state the index currently authorizes.  The index must be provisioned. */
int tpm_seal_authorize_nv(struct tpm_context *c, const struct secret *secret, const struct tpm_policy_nv *nv,
        struct tpm_blob **ret);

/*
 * Unseal BLOB by satisfying its policy in a policy session from the current
 * TPM state.  For a PolicyAuthorizeNV blob, STATES/N_STATES are the states
 * the policy index was last written with (the PolicyOR branches); the one
 * matching the current PCRs is used.
 *
 * -EPERM when the policy is not satisfied: DIAG (optional) then says which
 * PCRs differ.  -ENOLCK in DA lockout, -EBADMSG for a blob that is not ours
 * or was tampered with.
 */
int tpm_unseal(struct tpm_context *c, const struct tpm_blob *blob, const struct tpm_pcr_state *states,
        size_t n_states, struct tpm_unseal_diag *diag, struct secret **ret);
