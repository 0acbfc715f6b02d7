/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The authorization side of an update (acTvSM §3.3 "Base System Update and
 * Resealing"): sealed objects carry PolicyAuthorizeNV (tvam/tpm/
 * tpm-policy-nv.h), so moving to a predicted state is one admin-authorized
 * NV write of PolicyOR(PolicyPCR(current), PolicyPCR(next)) — nothing is
 * unsealed or resealed — and revoking the old state is one more write of
 * PolicyPCR(next) alone.
 *
 *   prepare:  authorize {current, next}   (both boot; power loss is safe)
 *   commit:   authorize {next}            (after booting into next)
 *   abort:    authorize {current}
 *
 * A state is the launch PCRs (17/18/19 for txt, the chosen SRTM PCRs)
 * predicted for that launch, plus PCRs common to both (e.g. 14 = the base
 * image, 15 = Application Mode), given once.
 */

#include <stddef.h>
#include <stdint.h>

#include "policy/pcr/pcr.h"
#include "tvam/shared/secret.h"
#include "tvam/tpm/tpm-context.h"
#include "tvam/tpm/tpm-policy-nv.h"

/* RET_STATES[0] = CURRENT, RET_STATES[1] = NEXT (LAUNCH_MASK PCRs of each,
 * plus COMMON_MASK PCRs from COMMON, which may be NULL when COMMON_MASK is
 * 0).  When NEXT equals CURRENT only one state is returned (*RET_N = 1).
 * NEXT may be NULL (one state: commit/abort).  Banks must share one
 * algorithm; masks must not overlap (-EINVAL). */
int update_states_build(const struct pcr_bank *current, const struct pcr_bank *next, uint32_t launch_mask,
        const struct pcr_bank *common, uint32_t common_mask, struct tpm_pcr_state ret_states[2],
        size_t *ret_n);

/* The policy digest the NV index will hold for STATES (software only; for
 * showing and for checking before writing). */
int update_states_digest(const struct tpm_pcr_state *states, size_t n, uint8_t ret_digest[32]);

/* Write STATES to the policy index, authorized by ADMIN (one NV write).
 * -EACCES: wrong admin secret, nothing changed. */
int update_states_authorize(struct tpm_context *c, const struct tpm_policy_nv *nv,
        const struct secret *admin, const struct tpm_pcr_state *states, size_t n);
