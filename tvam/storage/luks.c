/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * LUKS2 volumes over libcryptsetup (LUKS2 On-Disk Format Specification;
 * cryptsetup(8), libcryptsetup.h).  See luks.h and docs/storage-crypt.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tvam/shared/log.h"
#include "tvam/storage/crypt-util.h"
#include "tvam/storage/luks.h"

#define LUKS2_KEYSLOTS_MAX 32
/* The TPM keyslot is always 0, the recovery keyslot the first free one. */
#define LUKS_TPM_KEYSLOT 0

static bool slot_active(struct crypt_device *cd, int slot)
{
        crypt_keyslot_info ks = crypt_keyslot_status(cd, slot);

        return ks == CRYPT_SLOT_ACTIVE || ks == CRYPT_SLOT_ACTIVE_LAST;
}

/* Keyslot of the TPM secret: the one the tvam-tpm2 token names. */
static int tpm_keyslot(struct crypt_device *cd)
{
        struct luks_token t = {0};
        int r, slot;

        r = luks_token_read_cd(cd, &t, NULL);
        if (r < 0)
                return r;
        slot = t.keyslot;
        luks_token_done(&t);
        return slot;
}

/*
 * Key derivation of the TPM keyslot.  A slow, memory-hard KDF (Argon2) exists
 * to make guessing a *low-entropy* passphrase expensive.  The TPM secret is
 * 256 bits from the kernel CSPRNG: a search over 2^256 candidates is
 * infeasible whatever a single guess costs, so stretching adds no security,
 * only seconds and up to 1 GiB of RAM at every boot.  PBKDF2-SHA256 with a
 * fixed, minimal iteration count (CRYPT_PBKDF_NO_BENCHMARK skips
 * libcryptsetup's timing benchmark) is what systemd-cryptenroll does for
 * TPM2 keyslots too.
 */
static const struct crypt_pbkdf_type tpm_pbkdf = {
        .type = CRYPT_KDF_PBKDF2,
        .hash = "sha256",
        .iterations = LUKS_TPM_PBKDF2_ITERATIONS,
        .flags = CRYPT_PBKDF_NO_BENCHMARK,
};

/* The recovery keyslot protects a human-chosen passphrase: Argon2id with
 * cryptsetup's default (benchmarked) cost, unless a test lowers it. */
static int set_recovery_pbkdf(struct crypt_device *cd, const struct luks_argon2_cost *cost)
{
        struct crypt_pbkdf_type pbkdf;
        const struct crypt_pbkdf_type *def;

        if (!cost) {
                def = crypt_get_pbkdf_default(CRYPT_LUKS2);
                if (!def)
                        return -EINVAL;
                pbkdf = *def;
                pbkdf.type = CRYPT_KDF_ARGON2ID;
                return crypt_set_pbkdf_type(cd, &pbkdf);
        }
        pbkdf = (struct crypt_pbkdf_type){
                .type = CRYPT_KDF_ARGON2ID,
                .iterations = cost->iterations,
                .max_memory_kb = cost->memory_kb,
                .parallel_threads = cost->parallel,
                .flags = CRYPT_PBKDF_NO_BENCHMARK,
        };
        return crypt_set_pbkdf_type(cd, &pbkdf);
}

static int check_recovery(const struct luks_recovery *recovery)
{
        if (!recovery->secret || recovery->secret->size == 0)
                return -EINVAL;
        if (recovery->cost && (recovery->cost->iterations < 4 || recovery->cost->memory_kb < 32 ||
                                      recovery->cost->parallel < 1))
                return -EINVAL;
        return 0;
}

/* dm-integrity keeps a tag per sector; a sector never written has no valid
 * tag and reads fail with EIO.  Like cryptsetup luksFormat --integrity, write
 * the whole device once through a temporary private mapping. */
static int integrity_wipe(struct crypt_device *cd)
{
        char name[64], dev[96];
        uint64_t rnd;
        int r, q;

        if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
                return -errno;
        snprintf(name, sizeof(name), "tvam-integrity-wipe-%016llx", (unsigned long long)rnd);
        snprintf(dev, sizeof(dev), "/dev/mapper/%s", name);
        /* After crypt_format() the context holds the volume key: NULL key.
         * No journal: nothing to protect yet (cryptsetup does the same). */
        r = crypt_activate_by_volume_key(
                cd, name, NULL, 0, CRYPT_ACTIVATE_PRIVATE | CRYPT_ACTIVATE_NO_JOURNAL);
        if (r < 0)
                return r;
        r = crypt_wipe(cd, dev, CRYPT_WIPE_ZERO, 0, 0, 1024 * 1024, CRYPT_WIPE_NO_DIRECT_IO, NULL, NULL);
        q = crypt_deactivate(cd, name);
        return r < 0 ? r : q;
}

static void wipe_header_area(struct crypt_device *cd)
{
        uint64_t end = crypt_get_data_offset(cd) * 512;

        if (end > 0)
                (void)crypt_wipe(
                        cd, NULL, CRYPT_WIPE_ZERO, 0, end, 1024 * 1024, CRYPT_WIPE_NO_DIRECT_IO, NULL, NULL);
}

int luks_format(const char *path, const struct secret *tpm_secret, const struct luks_recovery *recovery,
        const struct luks_token *token, const struct luks_format_options *opts)
{
        static const struct luks_format_options no_opts = {0};
        _cleanup_crypt_free_ struct crypt_device *cd = NULL;
        struct luks_token t;
        struct crypt_params_luks2 params;
        int r;

        if (!path || !tpm_secret || !token)
                return -EINVAL;
        if (tpm_secret->size != LUKS_TPM_SECRET_SIZE)
                return -EINVAL;
        if (!opts)
                opts = &no_opts;
        if (recovery) {
                r = check_recovery(recovery);
                if (r < 0)
                        return r;
        }
        t = *token; /* borrowed blob, not freed here */
        t.keyslot = LUKS_TPM_KEYSLOT;
        r = luks_token_validate(&t);
        if (r < 0)
                return r;

        r = cryptutil_init(path, &cd);
        if (r < 0)
                return r;

        params = (struct crypt_params_luks2){
                .pbkdf = &tpm_pbkdf,
                /* hmac(sha256) in the kernel crypto API name; cryptsetup's
                 * --integrity hmac-sha256 maps to it (cryptsetup(8)). */
                .integrity = opts->integrity ? "hmac(sha256)" : NULL,
                .label = opts->label,
        };
        /* A NULL volume key makes libcryptsetup draw a fresh random one
         * (crypt_format(3): "volume_key ... if NULL, random key is used");
         * with integrity the volume key carries the HMAC key after the XTS
         * key. */
        r = crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, NULL,
                LUKS_VOLUME_KEY_SIZE + (opts->integrity ? LUKS_INTEGRITY_KEY_SIZE : 0), &params);
        if (r < 0)
                return r;

        r = crypt_keyslot_add_by_volume_key(
                cd, LUKS_TPM_KEYSLOT, NULL, 0, (const char *)tpm_secret->data, tpm_secret->size);
        if (r < 0)
                goto out;
        if (recovery) {
                r = set_recovery_pbkdf(cd, recovery->cost);
                if (r < 0)
                        goto out;
                r = crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT, NULL, 0,
                        (const char *)recovery->secret->data, recovery->secret->size);
                if (r < 0)
                        goto out;
        }
        r = luks_token_write_cd(cd, &t);
        if (r < 0)
                goto out;
        if (opts->integrity) {
                r = integrity_wipe(cd);
                if (r < 0)
                        goto out;
        }
        return 0;
out:
        log_debug_errno(r, "LUKS2 format of %s failed, wiping the partial header", path);
        wipe_header_area(cd);
        return r;
}

static uint32_t activate_flags(uint32_t flags)
{
        return (flags & LUKS_OPEN_READ_ONLY) ? CRYPT_ACTIVATE_READONLY : 0;
}

int luks_open(const char *path, const char *name, const struct secret *tpm_secret, uint32_t flags)
{
        _cleanup_crypt_free_ struct crypt_device *cd = NULL;
        int r, slot;

        if (!path || !tpm_secret || (flags & ~(uint32_t)LUKS_OPEN_READ_ONLY))
                return -EINVAL;
        r = cryptutil_load_luks2(path, &cd);
        if (r < 0)
                return r;
        slot = tpm_keyslot(cd);
        if (slot < 0)
                return slot;
        r = crypt_activate_by_passphrase(
                cd, name, slot, (const char *)tpm_secret->data, tpm_secret->size, activate_flags(flags));
        return r < 0 ? r : 0;
}

int luks_open_recovery(
        const char *path, const char *name, const struct secret *recovery_secret, uint32_t flags)
{
        _cleanup_crypt_free_ struct crypt_device *cd = NULL;
        int r, tpm, tried = 0;

        if (!path || !recovery_secret || (flags & ~(uint32_t)LUKS_OPEN_READ_ONLY))
                return -EINVAL;
        r = cryptutil_load_luks2(path, &cd);
        if (r < 0)
                return r;
        tpm = tpm_keyslot(cd);
        if (tpm < 0 && tpm != -ENOENT)
                return tpm;
        for (int slot = 0; slot < LUKS2_KEYSLOTS_MAX; slot++) {
                if (slot == tpm || !slot_active(cd, slot))
                        continue;
                tried++;
                r = crypt_activate_by_passphrase(cd, name, slot, (const char *)recovery_secret->data,
                        recovery_secret->size, activate_flags(flags));
                if (r >= 0)
                        return 0;
                if (r != -EPERM)
                        return r;
        }
        return tried ? -EPERM : -ENOENT;
}

int luks_close(const char *name)
{
        _cleanup_crypt_free_ struct crypt_device *cd = NULL;
        int r;

        if (!name)
                return -EINVAL;
        r = cryptutil_init_by_name(name, &cd);
        if (r < 0)
                return r;
        return crypt_deactivate(cd, name);
}

int luks_tpm_rebind(const char *path, const struct secret *recovery_secret, const struct secret *new_tpm_secret,
        const struct luks_token *token)
{
        _cleanup_crypt_free_ struct crypt_device *cd = NULL;
        struct luks_token t;
        int r, old, slot;

        if (!path || !recovery_secret || !new_tpm_secret || !token ||
                new_tpm_secret->size != LUKS_TPM_SECRET_SIZE)
                return -EINVAL;
        r = cryptutil_load_luks2(path, &cd);
        if (r < 0)
                return r;
        old = tpm_keyslot(cd);
        if (old < 0 && old != -ENOENT)
                return old;
        r = crypt_set_pbkdf_type(cd, &tpm_pbkdf);
        if (r < 0)
                return r;
        /* The recovery passphrase unlocks the volume key from its own
         * keyslot (it opens no other); the new keyslot gets the TPM secret. */
        slot = crypt_keyslot_add_by_passphrase(cd, CRYPT_ANY_SLOT, (const char *)recovery_secret->data,
                recovery_secret->size, (const char *)new_tpm_secret->data, new_tpm_secret->size);
        if (slot < 0)
                return slot;
        t = *token;
        t.keyslot = slot;
        r = luks_token_write_cd(cd, &t);
        if (r < 0) {
                (void)crypt_keyslot_destroy(cd, slot);
                return r;
        }
        if (old >= 0 && old != slot) {
                r = crypt_keyslot_destroy(cd, old);
                if (r < 0)
                        return r;
        }
        return 0;
}

int luks_has_recovery(const char *path)
{
        _cleanup_crypt_free_ struct crypt_device *cd = NULL;
        int r, tpm;

        if (!path)
                return -EINVAL;
        r = cryptutil_load_luks2(path, &cd);
        if (r < 0)
                return r;
        tpm = tpm_keyslot(cd);
        if (tpm < 0)
                return tpm;
        for (int slot = 0; slot < LUKS2_KEYSLOTS_MAX; slot++)
                if (slot != tpm && slot_active(cd, slot))
                        return 1;
        return 0;
}

int luks_recovery_add(
        const char *path, const struct secret *tpm_secret, const struct luks_recovery *recovery)
{
        _cleanup_crypt_free_ struct crypt_device *cd = NULL;
        int r, tpm;

        if (!path || !tpm_secret || !recovery)
                return -EINVAL;
        r = check_recovery(recovery);
        if (r < 0)
                return r;
        r = cryptutil_load_luks2(path, &cd);
        if (r < 0)
                return r;
        tpm = tpm_keyslot(cd);
        if (tpm < 0)
                return tpm;
        for (int slot = 0; slot < LUKS2_KEYSLOTS_MAX; slot++)
                if (slot != tpm && slot_active(cd, slot))
                        return -EEXIST;
        r = set_recovery_pbkdf(cd, recovery->cost);
        if (r < 0)
                return r;
        /* The TPM secret unlocks the volume key (from its own keyslot, with
         * that keyslot's stored PBKDF2 parameters); the new keyslot uses the
         * Argon2id parameters set above. */
        r = crypt_keyslot_add_by_passphrase(cd, CRYPT_ANY_SLOT, (const char *)tpm_secret->data,
                tpm_secret->size, (const char *)recovery->secret->data, recovery->secret->size);
        return r < 0 ? r : 0;
}

int luks_recovery_remove(const char *path, const struct secret *tpm_secret)
{
        _cleanup_crypt_free_ struct crypt_device *cd = NULL;
        int r, tpm, removed = 0;

        if (!path || !tpm_secret)
                return -EINVAL;
        r = cryptutil_load_luks2(path, &cd);
        if (r < 0)
                return r;
        tpm = tpm_keyslot(cd);
        if (tpm < 0)
                return tpm;
        /* NULL name: only verify that the secret opens the TPM keyslot. */
        r = crypt_activate_by_passphrase(cd, NULL, tpm, (const char *)tpm_secret->data, tpm_secret->size, 0);
        if (r < 0)
                return r;
        for (int slot = 0; slot < LUKS2_KEYSLOTS_MAX; slot++) {
                if (slot == tpm || !slot_active(cd, slot))
                        continue;
                r = crypt_keyslot_destroy(cd, slot);
                if (r < 0)
                        return r;
                removed++;
        }
        return removed ? 0 : -ENOENT;
}

int luks_recovery_read_key_file(const char *file, struct secret **ret)
{
        _cleanup_secret_ struct secret *s = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        size_t done = 0;
        int r;

        if (!file || !ret)
                return -EINVAL;
        fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        if (st.st_size <= 0)
                return -EINVAL;
        if ((uint64_t)st.st_size > SECRET_SIZE_MAX)
                return -EFBIG;
        /* Read straight into the locked secret: no unwiped copy in between. */
        r = secret_new((size_t)st.st_size, &s);
        if (r < 0)
                return r;
        while (done < s->size) {
                ssize_t n = read(fd, s->data + done, s->size - done);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO; /* shrank while reading */
                done += (size_t)n;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

int luks_header_backup(const char *path, const char *file)
{
        _cleanup_crypt_free_ struct crypt_device *cd = NULL;
        int r;

        if (!path || !file)
                return -EINVAL;
        /* Never overwrite: libcryptsetup also opens FILE with O_EXCL (and
         * creates it 0600) but reports an existing file as -EINVAL. */
        if (access(file, F_OK) == 0)
                return -EEXIST;
        r = cryptutil_load_luks2(path, &cd);
        if (r < 0)
                return r;
        return crypt_header_backup(cd, CRYPT_LUKS2, file);
}

int luks_header_restore(const char *path, const char *file)
{
        _cleanup_crypt_free_ struct crypt_device *cd = NULL;
        int r;

        if (!path || !file)
                return -EINVAL;
        r = cryptutil_init(path, &cd);
        if (r < 0)
                return r;
        /* libcryptsetup validates the backup (both copies, checksums, JSON)
         * before writing anything to the device. */
        return crypt_header_restore(cd, CRYPT_LUKS2, file);
}

int luks_erase(const char *path)
{
        _cleanup_crypt_free_ struct crypt_device *cd = NULL;
        uint64_t end;
        int r;

        if (!path)
                return -EINVAL;
        r = cryptutil_load_luks2(path, &cd);
        if (r < 0)
                return r;
        /* crypt_keyslot_destroy() overwrites the keyslot's binary area and
         * removes it from the JSON metadata (cryptsetup luksKillSlot /
         * erase). */
        for (int slot = 0; slot < LUKS2_KEYSLOTS_MAX; slot++) {
                if (!slot_active(cd, slot))
                        continue;
                r = crypt_keyslot_destroy(cd, slot);
                if (r < 0)
                        return r;
        }
        /* Then the rest: both JSON header copies and the keyslot area lie
         * before the data offset (LUKS2 spec §2, Figure 1). */
        end = crypt_get_data_offset(cd) * 512;
        if (end == 0)
                return -EINVAL;
        return crypt_wipe(
                cd, NULL, CRYPT_WIPE_ZERO, 0, end, 1024 * 1024, CRYPT_WIPE_NO_DIRECT_IO, NULL, NULL);
}
