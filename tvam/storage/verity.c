/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dm-verity over libcryptsetup's CRYPT_VERITY type (veritysetup(8),
 * kernel Documentation/admin-guide/device-mapper/verity.rst).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tvam/shared/hex.h"
#include "tvam/shared/log.h"
#include "tvam/storage/crypt-util.h"
#include "tvam/storage/verity.h"

/* dm-verity hash format version 1 (the only one the kernel and veritysetup
 * create by default; version 0 is the original Chrome OS format). */
#define VERITY_HASH_TYPE 1u

static bool same_path(const char *a, const char *b)
{
        return strcmp(a, b) == 0;
}

int verity_root_hash_from_hex(const char *text, uint8_t ret[VERITY_ROOT_HASH_SIZE])
{
        uint8_t buf[VERITY_ROOT_HASH_SIZE];
        int r;

        if (!text || !ret)
                return -EINVAL;
        r = hex_decode_exact(text, buf, sizeof(buf));
        if (r < 0)
                return r;
        memcpy(ret, buf, sizeof(buf));
        return 0;
}

int verity_format(const char *data, const char *hash, const struct verity_params *p,
        uint8_t ret_root_hash[VERITY_ROOT_HASH_SIZE])
{
        static const struct verity_params defaults = {0};
        _cleanup_crypt_free_ struct crypt_device *cd = NULL;
        struct crypt_params_verity params;
        uint8_t root[VERITY_ROOT_HASH_SIZE];
        size_t root_size = sizeof(root);
        uint64_t data_size;
        int r;

        if (!data || !hash || !ret_root_hash)
                return -EINVAL;
        if (!p)
                p = &defaults;
        if (p->hash_offset % VERITY_BLOCK_SIZE != 0 || p->data_size % VERITY_BLOCK_SIZE != 0)
                return -EINVAL;
        data_size = p->data_size;
        if (same_path(data, hash)) {
                /* Tree after the data on the same device: the data ends
                 * where the hash area starts, at the latest. */
                if (p->hash_offset == 0)
                        return -EINVAL;
                if (data_size == 0)
                        data_size = p->hash_offset;
                if (data_size > p->hash_offset)
                        return -EINVAL;
        }

        r = cryptutil_init(hash, &cd);
        if (r < 0)
                return r;
        params = (struct crypt_params_verity){
                .hash_name = "sha256",
                .data_device = data,
                /* NULL salt with a size: libcryptsetup draws a random salt
                 * (as veritysetup format does by default). */
                .salt = (const char *)p->salt,
                .salt_size = VERITY_SALT_SIZE,
                .hash_type = VERITY_HASH_TYPE,
                .data_block_size = VERITY_BLOCK_SIZE,
                .hash_block_size = VERITY_BLOCK_SIZE,
                .data_size = data_size / VERITY_BLOCK_SIZE, /* 0 = whole device */
                .hash_area_offset = p->hash_offset,
                /* Compute and write the tree; keep the superblock so the
                 * parameters travel with the image. */
                .flags = CRYPT_VERITY_CREATE_HASH,
        };
        r = crypt_format(cd, CRYPT_VERITY, NULL, NULL, NULL, NULL, 0, &params);
        if (r < 0)
                return r;
        /* For CRYPT_VERITY the "volume key" is the root hash. */
        r = crypt_volume_key_get(cd, CRYPT_ANY_SLOT, (char *)root, &root_size, NULL, 0);
        if (r < 0)
                return r;
        if (root_size != VERITY_ROOT_HASH_SIZE)
                return -EINVAL;
        memcpy(ret_root_hash, root, sizeof(root));
        return 0;
}

static int load(
        const char *data, const char *hash, uint64_t hash_offset, uint32_t flags, struct crypt_device **ret)
{
        _cleanup_crypt_free_ struct crypt_device *cd = NULL;
        /* The verity flags given at load time are the ones activation uses
         * (libcryptsetup VERITY_activate() reads them from the header). */
        struct crypt_params_verity params = {
                .hash_area_offset = hash_offset,
                .flags = flags,
        };
        int r;

        r = cryptutil_init_data_device(hash, data, &cd);
        if (r < 0)
                return r;
        /* Reads and checks the verity superblock at HASH_OFFSET. */
        r = crypt_load(cd, CRYPT_VERITY, &params);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(cd);
        return 0;
}

static int probe_first_block(const char *name)
{
        _cleanup_close_ int fd = -1;
        char path[PATH_MAX];
        uint8_t block[VERITY_BLOCK_SIZE];
        ssize_t n;

        snprintf(path, sizeof(path), "/dev/mapper/%s", name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = pread(fd, block, sizeof(block), 0);
        if (n < 0)
                return -errno;
        return n == (ssize_t)sizeof(block) ? 0 : -EIO;
}

static int check_root_hash_size(size_t size)
{
        if (size != VERITY_ROOT_HASH_SIZE) {
                log_debug("dm-verity root hash has %zu bytes, sha256 needs %u", size, VERITY_ROOT_HASH_SIZE);
                return -EINVAL;
        }
        return 0;
}

int verity_open(const char *name, const char *data, const char *hash, uint64_t hash_offset,
        const uint8_t *root_hash, size_t root_hash_size)
{
        _cleanup_crypt_free_ struct crypt_device *cd = NULL;
        int r;

        if (!name || !data || !hash || !root_hash)
                return -EINVAL;
        r = check_root_hash_size(root_hash_size);
        if (r < 0)
                return r;
        r = load(data, hash, hash_offset, 0, &cd);
        if (r < 0)
                return r;
        /* dm-verity verifies each block when it is read; its default on a
         * mismatch is to fail the read with EIO (no restart/panic flag is
         * set).  The kernel accepts any root hash at table load, so: */
        r = crypt_activate_by_volume_key(
                cd, name, (const char *)root_hash, root_hash_size, CRYPT_ACTIVATE_READONLY);
        if (r < 0)
                return r;
        /* Refuse a wrong root hash at open time rather than at the first
         * read of the application: reading data block 0 makes the kernel
         * check the whole path from the root hash down to that block, so a
         * root hash that does not match the tree (or a corrupt block 0)
         * fails here and the mapping is removed again. */
        r = probe_first_block(name);
        if (r < 0) {
                log_debug_errno(r, "dm-verity mapping %s: first block does not verify", name);
                (void)crypt_deactivate(cd, name);
                return -EPERM;
        }
        return 0;
}

/*
 * Eager verification is libcryptsetup's userspace verifier (what
 * `veritysetup verify` runs): loading with CRYPT_VERITY_CHECK_HASH and
 * crypt_activate_by_volume_key() with no name walks every data block and every hash block,
 * recomputes the tree and compares it level by level up to the root hash.
 * Chosen over reading a dm-verity mapping end to end because it needs no
 * device-mapper, does not depend on the page cache, and names the first
 * position that differs.
 */
int verity_verify_eager(const char *data, const char *hash, uint64_t hash_offset, const uint8_t *root_hash,
        size_t root_hash_size, char *errbuf, size_t errlen)
{
        _cleanup_crypt_free_ struct crypt_device *cd = NULL;
        int r;

        if (!data || !hash || !root_hash || (errbuf && errlen == 0))
                return -EINVAL;
        if (errbuf)
                errbuf[0] = '\0';
        r = check_root_hash_size(root_hash_size);
        if (r < 0) {
                if (errbuf)
                        snprintf(errbuf, errlen, "root hash has %zu bytes, sha256 needs %u", root_hash_size,
                                VERITY_ROOT_HASH_SIZE);
                return r;
        }
        cryptutil_clear_error();
        r = load(data, hash, hash_offset, CRYPT_VERITY_CHECK_HASH, &cd);
        if (r >= 0)
                r = crypt_activate_by_volume_key(cd, NULL, (const char *)root_hash, root_hash_size, 0);
        if (r < 0) {
                if (errbuf)
                        snprintf(errbuf, errlen, "%s",
                                cryptutil_last_error()[0] ? cryptutil_last_error() : strerror(-r));
                /* VERITY_verify() reports a bad data or hash block as -EPERM
                 * and a root hash that does not match the tree as -EFAULT;
                 * to callers both are the same: the image is not the one
                 * the root hash names. */
                return r == -EFAULT ? -EPERM : r;
        }
        return 0;
}

int verity_close(const char *name)
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
