/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Measurement of the base system image into PCR 14 (ARCHITECTURE.md "Boot
 * chain and PCR map"; acTvSM §3.2 "Base System": the base image is measured
 * before it is mounted).
 *
 * What is hashed is the squashfs image exactly as images/base/build wrote it:
 * the first BYTES of the (decrypted) base volume, where BYTES is the squashfs
 * superblock's bytes_used rounded up to the 4 KiB padding mksquashfs appends.
 * Its SHA-256 therefore equals the SHA-256 of base.squashfs, known before the
 * platform boots, independent of the LV size and the LUKS2 volume key.
 *
 * What is extended is a TVAM event (docs/eventlog.md "TVAM events"): kind
 * base-image, name "base-N", identity "sha256:<hex of the image>", empty
 * config; every allocated bank gets H_bank(identity), so the event log entry
 * and the PCR agree and a verifier recomputes the digest from the event data.
 * Predicted PCR 14 after a boot = H(0^32 || H("sha256:<hex>")) per bank.
 * Configuration patches are the same kind of event with name "patch:NAME"
 * and identity "sha256:<hex of the signed manifest>".
 */

#include <stddef.h>
#include <stdint.h>

#include "tvam/eventlog/eventlog.h"
#include "tvam/shared/digest.h"
#include "tvam/tpm/tpm-context.h"

#define BASE_MEASURE_PCR 14u
/* mksquashfs pads its output to a multiple of this (unless -nopad). */
#define BASE_SQUASHFS_PAD 4096u
#define BASE_SQUASHFS_SUPERBLOCK_SIZE 96u
#define BASE_MEASURE_BANKS_MAX 4u

/*
 * The length to measure of the squashfs image at the start of FD: bytes_used
 * from its superblock (squashfs 4.0: magic "hsqs" at 0, s_major/s_minor at
 * 28/30, bytes_used le64 at 40) rounded up to BASE_SQUASHFS_PAD.  -EBADMSG if
 * FD does not start with a squashfs 4.0 superblock, -EFBIG if the image would
 * extend past DEVICE_SIZE (0 = unknown, not checked).
 */
int base_squashfs_size(int fd, uint64_t device_size, uint64_t *ret_size);

/* SHA-256 of the first SIZE bytes of FD, streamed once.  -EIO on a short device. */
int base_image_sha256(int fd, uint64_t size, uint8_t ret[32]);

/* The algorithms of the PCR banks the TPM has allocated, among SHA-1/256/384/512. */
int base_measure_tpm_banks(struct tpm_context *c, enum digest_alg *ret_algs, size_t *ret_n);

/*
 * Record (when LOG is not NULL) and then extend into PCR, in every bank of
 * ALGS, the TVAM base-image event NAME / "sha256:<hex of SHA256>".  The log
 * is written first (eventlog_writer_append is durable), so the log is never
 * behind the TPM.  The first failing step's error is returned.
 */
int base_measure_event(struct tpm_context *c, struct eventlog_writer *log, unsigned pcr, const char *name,
        const uint8_t sha256[32], const enum digest_alg *algs, size_t n_algs);
