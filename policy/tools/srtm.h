/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * PCR prediction for the `srtm` launch profile (UEFI/BIOS + GRUB measured
 * boot): replay the firmware's crypto-agile event log
 * (/sys/kernel/security/tpm0/binary_bios_measurements, tvam/eventlog) with
 * the events of replaced components substituted.
 *
 * A substitution names an event by its PCR and its event data, as the
 * bootloader logged it — GRUB 2 logs every file it loads as an EV_IPL
 * event in PCR 9 whose data is the file's path and whose digest is the
 * hash of the file, and every command line as an EV_IPL event in PCR 8
 * whose data is the string measured ("kernel_cmdline: …", "grub_cmd: …";
 * grub-core/commands/tpm.c, grub_tpm_measure()).  Each matching event gets
 * the replacement digest; an event log entry with a trailing NUL matches
 * the same text without it.
 *
 * A substitution that matches no event is an error (-ENOENT): the
 * prediction would silently keep the old component.
 */

#include <stddef.h>
#include <stdint.h>

#include "policy/pcr/pcr.h"
#include "tvam/eventlog/eventlog.h"

struct srtm_substitution {
        unsigned pcr;
        const uint8_t *match; /* event data to match */
        size_t match_size;
        uint8_t digest[DIGEST_MAX_SIZE]; /* the replacement, of the predicted bank's algorithm */
        size_t n_applied;                /* out: events replaced */
};

/* Replay LOG's bank ALG with SUBS applied.  *RET holds all 24 PCRs as the
 * next boot will leave them (given the same firmware and boot path).
 * -ENOENT: a substitution matched no event (its n_applied is 0); other
 * errors as eventlog_replay(). */
int srtm_predict(const struct eventlog *log, enum digest_alg alg, struct srtm_substitution *subs,
        size_t n_subs, struct pcr_bank *ret);
