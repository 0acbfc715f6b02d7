/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Helpers of the LUKS2 / dm-verity unit tests: image files in a private
 * temporary directory, header snapshots, test tokens and secrets. */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libcryptsetup.h>

#include "tvam/shared/secret.h"
#include "tvam/storage/luks-token.h"
#include "tvam/storage/luks.h"

#define TEST_IMAGE_SIZE (32u * 1024 * 1024)
/* The LUKS2 header area (two JSON copies + keyslots) of a default format:
 * data offset 16 MiB (cryptsetup(8)). */
#define TEST_HEADER_AREA (16u * 1024 * 1024)

struct test_dir {
        char path[64];
        char image[128];
};

static inline void test_dir_init(struct test_dir *d)
{
        snprintf(d->path, sizeof(d->path), "/tmp/tvam-test-crypt-XXXXXX");
        assert_non_null(mkdtemp(d->path));
        snprintf(d->image, sizeof(d->image), "%s/image", d->path);
        /* Locking guards against concurrent processes on a shared device;
         * these images are private, and /run/cryptsetup may be unwritable
         * for an unprivileged test run. */
        crypt_set_debug_level(CRYPT_DEBUG_NONE);
        crypt_metadata_locking(NULL, 0);
}

static inline void test_dir_done(struct test_dir *d)
{
        char cmd[128];

        /* Private directory made above; its name has no shell characters. */
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
        assert_int_equal(system(cmd), 0);
}

static inline void make_file(const char *path, uint64_t size)
{
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t)size), 0);
        close(fd);
}

/* The first SIZE bytes of PATH (caller frees). */
static inline uint8_t *read_head(const char *path, size_t size)
{
        uint8_t *buf = calloc(1, size);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        size_t done = 0;

        assert_non_null(buf);
        assert_true(fd >= 0);
        while (done < size) {
                ssize_t n = pread(fd, buf + done, size - done, (off_t)done);

                assert_true(n >= 0);
                if (n == 0)
                        break;
                done += (size_t)n;
        }
        close(fd);
        return buf;
}

static inline void assert_head_equal(const char *path, const uint8_t *before, size_t size)
{
        uint8_t *now = read_head(path, size);

        assert_memory_equal(now, before, size);
        free(now);
}

static inline void write_at(const char *path, uint64_t off, const void *data, size_t size)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, data, size, (off_t)off), (ssize_t)size);
        close(fd);
}

static inline struct secret *test_secret(uint8_t fill, size_t size)
{
        struct secret *s = NULL;

        assert_int_equal(secret_new(size, &s), 0);
        memset(s->data, fill, size);
        return s;
}

/* A token as the TPM module would produce it (the blob is opaque bytes). */
static inline void test_token(struct luks_token *t, uint8_t *blob, size_t blob_size)
{
        for (size_t i = 0; i < blob_size; i++)
                blob[i] = (uint8_t)(i * 7 + 1);
        *t = (struct luks_token){
                .keyslot = 0,
                .blob = blob,
                .blob_size = blob_size,
                .pcr_bank = DIGEST_SHA256,
                .pcr_mask = (1u << 7) | (1u << 14) | (1u << 17),
                .policy_nv_index = 0x01800100,
                .srk_handle = 0x81000001,
        };
}

/* Cheap Argon2id so tests stay fast; production uses cryptsetup's default. */
static const struct luks_argon2_cost test_cost = {.iterations = 4, .memory_kb = 32, .parallel = 1};

/* Format IMAGE with the TPM secret 0x11.. and, if RECOVERY_FILL, a recovery
 * passphrase of that byte. */
static inline void format_image(const char *image, uint8_t recovery_fill)
{
        _cleanup_secret_ struct secret *tpm = test_secret(0x11, LUKS_TPM_SECRET_SIZE);
        _cleanup_secret_ struct secret *rec = recovery_fill ? test_secret(recovery_fill, 20) : NULL;
        struct luks_recovery recovery = {.secret = rec, .cost = &test_cost};
        struct luks_token token;
        uint8_t blob[200];

        make_file(image, TEST_IMAGE_SIZE);
        test_token(&token, blob, sizeof(blob));
        assert_int_equal(luks_format(image, tpm, rec ? &recovery : NULL, &token, NULL), 0);
}
