/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Update Mode / Application Mode (ARCHITECTURE.md "Modes", acTvSM §3.3).
 *
 * The TPM is the only source of truth: PCR 15 is zero after every boot
 * (Update Mode); switching to Application Mode extends it with the digest
 * of the fixed event text MODE_APPLICATION_EVENT.  From then on secrets
 * sealed to PCR 15 = 0 (the Update-Mode SSH host key) no longer unseal and
 * only a reboot, which resets PCR 15, returns to Update Mode.
 */

#include <stdint.h>

#include "tvam/tpm/tpm-context.h"

#define MODE_PCR 15
#define MODE_APPLICATION_EVENT "tvam:mode:application"

enum tvam_mode {
        MODE_UPDATE,
        MODE_APPLICATION,
        MODE_UNKNOWN, /* PCR 15 holds something else: not written by TVAM */
};

const char *mode_to_string(enum tvam_mode mode);
int mode_from_string(const char *s, enum tvam_mode *ret);

/* Read PCR 15 and classify it. */
int mode_get(struct tpm_context *tpm, enum tvam_mode *ret);

/* The PCR 15 value of Application Mode (for predicting sealing policies). */
int mode_application_pcr_value(uint8_t ret[32]);
