/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Software model of one TPM PCR bank (TPM 2.0 Part 1 §17): the same
 * arithmetic the TPM does, so future PCR values can be *predicted* from an
 * ordered event list and sealed to before they exist.  No TPM is needed.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tvam/shared/digest.h"

#define PCR_COUNT 24u
#define PCR_MASK_ALL ((UINT32_C(1) << PCR_COUNT) - 1)

struct pcr_bank {
        enum digest_alg alg;
        uint8_t values[PCR_COUNT][DIGEST_MAX_SIZE];
};

/* One measurement: DIGEST (digest_size(bank alg) bytes) extended into PCR. */
struct pcr_event {
        unsigned pcr;
        uint8_t digest[DIGEST_MAX_SIZE];
};

/* All PCRs zero, as after TPM2_Startup(CLEAR) — except that a static boot
 * leaves PCRs 17–22 all-ones (TPM 2.0 PC Client PTP §4.6); see
 * pcr_bank_init_static_boot().  -EINVAL for an unsupported ALG. */
int pcr_bank_init(struct pcr_bank *bank, enum digest_alg alg);
int pcr_bank_init_static_boot(struct pcr_bank *bank, enum digest_alg alg);

/* PCR[pcr] = H(PCR[pcr] || digest) (TPM 2.0 Part 3 §22.2 TPM2_PCR_Extend). */
int pcr_extend(struct pcr_bank *bank, unsigned pcr, const uint8_t *digest, size_t digest_size);

/* Hash DATA with the bank's algorithm, then extend it. */
int pcr_extend_data(struct pcr_bank *bank, unsigned pcr, const void *data, size_t size);

/* Apply EVENTS in order.  Nothing is modified when any event is invalid. */
int pcr_replay(struct pcr_bank *bank, const struct pcr_event *events, size_t n_events);

/* Set PCR to VALUE (e.g. a value read from a TPM). */
int pcr_bank_set(struct pcr_bank *bank, unsigned pcr, const uint8_t *value, size_t size);

/* The pcrDigest of TPM2_PolicyPCR (TPM 2.0 Part 3 §23.7): H of the selected
 * PCR values concatenated in ascending PCR order, with the bank's hash. */
int pcr_composite_digest(
        const struct pcr_bank *bank, uint32_t mask, enum digest_alg policy_alg, uint8_t *ret_digest);

/* Bitmask of the PCRs in MASK whose values differ between A and B (same
 * algorithm required, else -EINVAL). */
int pcr_bank_diff(const struct pcr_bank *a, const struct pcr_bank *b, uint32_t mask, uint32_t *ret_diff);

/* Format MASK as "7, 16, 23" into BUF (always NUL-terminated). */
void pcr_mask_to_string(uint32_t mask, char *buf, size_t size);

static inline bool pcr_index_valid(unsigned pcr)
{
        return pcr < PCR_COUNT;
}
