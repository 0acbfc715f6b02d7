/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * LUKS2 volumes (issue 4 item 1, docs/storage-crypt.md).
 *
 * Every TVAM volume has
 *   - a random 512-bit volume key, cipher aes-xts-plain64 (optionally with
 *     hmac(sha256) integrity tags: authenticated encryption over
 *     dm-integrity);
 *   - a TPM keyslot opened by a 256-bit secret that the TPM seals, described
 *     by the volume's "tvam-tpm2" token (tvam/storage/luks-token.h);
 *   - optionally one administrator recovery keyslot (passphrase or key file,
 *     Argon2id).
 *
 * PATH is a block device or an image file.  All functions return 0 or a
 * negative errno (libcryptsetup's own, passed on): -EPERM for a secret that
 * opens no keyslot, -EINVAL for a device without a valid LUKS2 header,
 * -ENOENT for a missing token or keyslot.
 */

#include <stdbool.h>
#include <stdint.h>

#include "tvam/shared/secret.h"
#include "tvam/storage/luks-token.h"

#define LUKS_TPM_SECRET_SIZE 32u    /* 256-bit sealed secret */
#define LUKS_VOLUME_KEY_SIZE 64u    /* aes-xts-plain64 with AES-256: 2 x 256 bit */
#define LUKS_INTEGRITY_KEY_SIZE 32u /* hmac(sha256) key */
#define LUKS_TPM_PBKDF2_ITERATIONS 1000u

/* Argon2id cost of a recovery keyslot.  Only for tests and very small
 * machines: the default (NULL) is cryptsetup's benchmarked default. */
struct luks_argon2_cost {
        uint32_t iterations; /* >= 4 */
        uint32_t memory_kb;  /* >= 32 */
        uint32_t parallel;   /* >= 1 */
};

struct luks_recovery {
        const struct secret *secret;         /* passphrase bytes or key file contents */
        const struct luks_argon2_cost *cost; /* NULL: cryptsetup's default */
};

struct luks_format_options {
        /* Authenticated encryption: aes-xts-plain64 + hmac(sha256) per sector
         * (cryptsetup --integrity hmac-sha256).  Needs device-mapper (the
         * dm-integrity tags are initialised through a temporary mapping). */
        bool integrity;
        const char *label; /* LUKS2 label, or NULL */
};

enum {
        LUKS_OPEN_READ_ONLY = 1u << 0,
};

/* Format PATH as a LUKS2 volume: TPM keyslot from TPM_SECRET (exactly
 * LUKS_TPM_SECRET_SIZE bytes), the recovery keyslot if RECOVERY is not NULL,
 * and TOKEN written with its keyslot set to the TPM keyslot (TOKEN->keyslot
 * is ignored).  OPTS may be NULL.  On failure after the header was written
 * the header area is wiped again, so no half-made volume remains. */
int luks_format(const char *path, const struct secret *tpm_secret, const struct luks_recovery *recovery,
        const struct luks_token *token, const struct luks_format_options *opts);

/* Map PATH as /dev/mapper/NAME with the TPM secret (only the token's keyslot
 * is tried).  NAME == NULL only checks the secret (no device-mapper needed). */
int luks_open(const char *path, const char *name, const struct secret *tpm_secret, uint32_t flags);

/* Same with the recovery secret (only recovery keyslots are tried). */
int luks_open_recovery(
        const char *path, const char *name, const struct secret *recovery_secret, uint32_t flags);

/* Remove the mapping NAME. */
int luks_close(const char *name);

/* Add the recovery keyslot, authorised by the TPM secret.  -EEXIST if the
 * volume already has one. */
int luks_recovery_add(
        const char *path, const struct secret *tpm_secret, const struct luks_recovery *recovery);

/* Destroy the recovery keyslot(s) after checking that TPM_SECRET still opens
 * the TPM keyslot (the volume never loses its last working keyslot).
 * -ENOENT if there is none. */
int luks_recovery_remove(const char *path, const struct secret *tpm_secret);

/* Bind the volume to a new TPM secret, authorised by the recovery secret
 * (restore on another machine = migration, acTvSM §3.3): add a keyslot for
 * NEW_TPM_SECRET, point the tvam-tpm2 token (TOKEN, its keyslot field is
 * ignored) at it, then destroy the previous TPM keyslot.  Each step is one
 * LUKS2 header commit, and the recovery keyslot stays, so an interruption
 * leaves the volume openable.  -EPERM if RECOVERY_SECRET opens no keyslot. */
int luks_tpm_rebind(const char *path, const struct secret *recovery_secret, const struct secret *new_tpm_secret,
        const struct luks_token *token);

/* Does the volume have a recovery keyslot?  1 yes, 0 no, or negative errno. */
int luks_has_recovery(const char *path);

/* Load a recovery key file (a regular file of 1..SECRET_SIZE_MAX bytes,
 * else -EINVAL / -EFBIG / -EBADF) into a secret. */
int luks_recovery_read_key_file(const char *file, struct secret **ret);

/* Header backup to FILE (must not exist; created 0600 as it holds the
 * keyslots) and restore from FILE. */
int luks_header_backup(const char *path, const char *file);
int luks_header_restore(const char *path, const char *file);

/* Secure removal: destroy every keyslot (their key material is
 * overwritten), then wipe the whole header area (both LUKS2 header copies
 * and the keyslot area, up to the data offset).  Without a keyslot nothing
 * can recover the volume key, so the data is unrecoverable. */
int luks_erase(const char *path);
