/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of LUKS2 volumes (tvam/storage/luks.h) on image files: no root
 * and no device-mapper needed (secrets are checked with a NULL mapping
 * name, which libcryptsetup verifies without activating anything). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test-luks-util.h"

#define TPM_FILL 0x11
#define RECOVERY_FILL 0x22

static int group_setup(void **state)
{
        struct test_dir *d = calloc(1, sizeof(*d));

        if (!d)
                return -1;
        test_dir_init(d);
        *state = d;
        return 0;
}

static int group_teardown(void **state)
{
        test_dir_done(*state);
        free(*state);
        return 0;
}

static const char *image(void **state)
{
        return ((struct test_dir *)*state)->image;
}

static void test_format_open(void **state)
{
        _cleanup_secret_ struct secret *tpm = test_secret(TPM_FILL, LUKS_TPM_SECRET_SIZE);
        _cleanup_secret_ struct secret *rec = test_secret(RECOVERY_FILL, 20);
        _cleanup_secret_ struct secret *wrong = test_secret(0x33, LUKS_TPM_SECRET_SIZE);
        _cleanup_secret_ struct secret *wrong_rec = test_secret(RECOVERY_FILL, 19);
        struct crypt_device *cd = NULL;
        struct crypt_pbkdf_type pbkdf;
        uint8_t *before;

        format_image(image(state), RECOVERY_FILL);

        /* Cipher, key size and keyslot KDFs as designed. */
        assert_int_equal(crypt_init(&cd, image(state)), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
        assert_string_equal(crypt_get_cipher(cd), "aes");
        assert_string_equal(crypt_get_cipher_mode(cd), "xts-plain64");
        assert_int_equal(crypt_get_volume_key_size(cd), 64);
        assert_int_equal(crypt_keyslot_get_pbkdf(cd, 0, &pbkdf), 0);
        assert_string_equal(pbkdf.type, CRYPT_KDF_PBKDF2);
        assert_int_equal(pbkdf.iterations, LUKS_TPM_PBKDF2_ITERATIONS);
        assert_int_equal(crypt_keyslot_get_pbkdf(cd, 1, &pbkdf), 0);
        assert_string_equal(pbkdf.type, CRYPT_KDF_ARGON2ID);
        crypt_free(cd);

        assert_int_equal(luks_open(image(state), NULL, tpm, 0), 0);
        assert_int_equal(luks_open_recovery(image(state), NULL, rec, 0), 0);
        assert_int_equal(luks_has_recovery(image(state)), 1);
        /* Wrong secrets, and each secret only through its own keyslot;
         * refusals change nothing on disk. */
        before = read_head(image(state), TEST_HEADER_AREA);
        assert_int_equal(luks_open(image(state), NULL, wrong, 0), -EPERM);
        assert_int_equal(luks_open_recovery(image(state), NULL, wrong_rec, 0), -EPERM);
        assert_int_equal(luks_open_recovery(image(state), NULL, tpm, 0), -EPERM);
        assert_int_equal(luks_open(image(state), NULL, rec, 0), -EPERM);
        assert_int_equal(luks_open(image(state), NULL, tpm, 0x80), -EINVAL);
        assert_head_equal(image(state), before, TEST_HEADER_AREA);
        free(before);
}

static void test_format_bad_arguments(void **state)
{
        _cleanup_secret_ struct secret *short_tpm = test_secret(TPM_FILL, 16);
        _cleanup_secret_ struct secret *tpm = test_secret(TPM_FILL, LUKS_TPM_SECRET_SIZE);
        struct luks_argon2_cost weak = {.iterations = 1, .memory_kb = 32, .parallel = 1};
        struct luks_recovery recovery = {.secret = tpm, .cost = &weak};
        struct luks_token token;
        uint8_t blob[16], *before;

        make_file(image(state), TEST_IMAGE_SIZE);
        write_at(image(state), 0, "previous content", 16);
        before = read_head(image(state), TEST_HEADER_AREA);
        test_token(&token, blob, sizeof(blob));
        assert_int_equal(luks_format(image(state), short_tpm, NULL, &token, NULL), -EINVAL);
        assert_int_equal(luks_format(image(state), tpm, &recovery, &token, NULL), -EINVAL);
        token.srk_handle = 0x42;
        assert_int_equal(luks_format(image(state), tpm, NULL, &token, NULL), -EINVAL);
        assert_head_equal(image(state), before, TEST_HEADER_AREA);
        free(before);
}

static void test_recovery_add_remove(void **state)
{
        _cleanup_secret_ struct secret *tpm = test_secret(TPM_FILL, LUKS_TPM_SECRET_SIZE);
        _cleanup_secret_ struct secret *wrong = test_secret(0x33, LUKS_TPM_SECRET_SIZE);
        _cleanup_secret_ struct secret *rec = test_secret(0x44, 12);
        struct luks_recovery recovery = {.secret = rec, .cost = &test_cost};
        uint8_t *before;

        format_image(image(state), 0);
        assert_int_equal(luks_has_recovery(image(state)), 0);
        assert_int_equal(luks_open_recovery(image(state), NULL, rec, 0), -ENOENT);
        assert_int_equal(luks_recovery_remove(image(state), tpm), -ENOENT);

        /* Adding needs the TPM secret. */
        assert_int_equal(luks_recovery_add(image(state), wrong, &recovery), -EPERM);
        assert_int_equal(luks_recovery_add(image(state), tpm, &recovery), 0);
        assert_int_equal(luks_has_recovery(image(state)), 1);
        assert_int_equal(luks_open_recovery(image(state), NULL, rec, 0), 0);
        assert_int_equal(luks_recovery_add(image(state), tpm, &recovery), -EEXIST);

        /* Removing needs a working TPM secret, and changes nothing if not. */
        before = read_head(image(state), TEST_HEADER_AREA);
        assert_int_equal(luks_recovery_remove(image(state), wrong), -EPERM);
        assert_head_equal(image(state), before, TEST_HEADER_AREA);
        free(before);
        assert_int_equal(luks_recovery_remove(image(state), tpm), 0);
        assert_int_equal(luks_has_recovery(image(state)), 0);
        assert_int_equal(luks_open_recovery(image(state), NULL, rec, 0), -ENOENT);
        assert_int_equal(luks_open(image(state), NULL, tpm, 0), 0);
}

/* Restore on another machine: the recovery secret binds the volume to a new
 * TPM secret; the old one stops working, the recovery keyslot stays. */
static void test_tpm_rebind(void **state)
{
        _cleanup_secret_ struct secret *old_tpm = test_secret(0x11, LUKS_TPM_SECRET_SIZE);
        _cleanup_secret_ struct secret *new_tpm = test_secret(0x66, LUKS_TPM_SECRET_SIZE);
        _cleanup_secret_ struct secret *rec = test_secret(0x44, 20);
        _cleanup_secret_ struct secret *wrong = test_secret(0x45, 20);
        struct luks_token token, read_back = {};
        uint8_t blob[64], *before;

        format_image(image(state), 0x44);
        test_token(&token, blob, sizeof(blob));
        token.pcr_mask = 1u << 7; /* the new machine's policy differs */

        before = read_head(image(state), TEST_HEADER_AREA);
        assert_int_equal(luks_tpm_rebind(image(state), wrong, new_tpm, &token), -EPERM);
        assert_head_equal(image(state), before, TEST_HEADER_AREA);
        free(before);

        assert_int_equal(luks_tpm_rebind(image(state), rec, new_tpm, &token), 0);
        assert_int_equal(luks_open(image(state), NULL, new_tpm, 0), 0);
        assert_int_equal(luks_open(image(state), NULL, old_tpm, 0), -EPERM);
        assert_int_equal(luks_open_recovery(image(state), NULL, rec, 0), 0);
        assert_int_equal(luks_has_recovery(image(state)), 1);
        assert_int_equal(luks_token_read(image(state), &read_back), 0);
        assert_int_equal(read_back.pcr_mask, 1u << 7);
        luks_token_done(&read_back);
}

static void test_recovery_key_file(void **state)
{
        struct test_dir *d = *state;
        _cleanup_secret_ struct secret *tpm = test_secret(TPM_FILL, LUKS_TPM_SECRET_SIZE);
        _cleanup_secret_ struct secret *key = NULL;
        struct luks_recovery recovery = {.cost = &test_cost};
        char path[160], empty[160];
        uint8_t bytes[64];

        for (size_t i = 0; i < sizeof(bytes); i++)
                bytes[i] = (uint8_t)(255 - i);
        snprintf(path, sizeof(path), "%s/recovery.key", d->path);
        snprintf(empty, sizeof(empty), "%s/empty.key", d->path);
        make_file(path, 0);
        make_file(empty, 0);
        write_at(path, 0, bytes, sizeof(bytes));
        assert_int_equal(luks_recovery_read_key_file(empty, &key), -EINVAL);
        assert_int_equal(luks_recovery_read_key_file(d->path, &key), -EBADF);
        assert_int_equal(luks_recovery_read_key_file("/nonexistent/key", &key), -ENOENT);
        make_file(empty, SECRET_SIZE_MAX + 1);
        assert_int_equal(luks_recovery_read_key_file(empty, &key), -EFBIG);
        assert_null(key);
        assert_int_equal(luks_recovery_read_key_file(path, &key), 0);
        assert_int_equal(key->size, sizeof(bytes));

        format_image(image(state), 0);
        recovery.secret = key;
        assert_int_equal(luks_recovery_add(image(state), tpm, &recovery), 0);
        assert_int_equal(luks_open_recovery(image(state), NULL, key, 0), 0);
}

static void test_corrupt_header(void **state)
{
        _cleanup_secret_ struct secret *tpm = test_secret(TPM_FILL, LUKS_TPM_SECRET_SIZE);
        struct luks_token t = {.keyslot = 99};
        static const uint8_t junk[64] = {0x5a};
        uint8_t *before;

        /* JSON of both header copies damaged: checksums no longer match (the
         * LUKS2 binary header holds a SHA-256 over header + JSON, spec §2.1). */
        format_image(image(state), 0);
        write_at(image(state), 4096 + 512, junk, sizeof(junk));
        write_at(image(state), 16384 + 4096 + 512, junk, sizeof(junk));
        before = read_head(image(state), TEST_HEADER_AREA);
        assert_int_equal(luks_open(image(state), NULL, tpm, 0), -EINVAL);
        assert_int_equal(luks_token_read(image(state), &t), -EINVAL);
        assert_int_equal(t.keyslot, 99);
        assert_int_equal(luks_has_recovery(image(state)), -EINVAL);
        assert_int_equal(luks_erase(image(state)), -EINVAL);
        assert_head_equal(image(state), before, TEST_HEADER_AREA);
        free(before);

        /* Truncated inside the header: no LUKS2 volume at all. */
        format_image(image(state), 0);
        assert_int_equal(truncate(image(state), 8192), 0);
        assert_true(luks_open(image(state), NULL, tpm, 0) < 0);
        assert_true(luks_token_read(image(state), &t) < 0);

        /* Plain zeros: not a LUKS device. */
        make_file(image(state), TEST_IMAGE_SIZE);
        assert_int_equal(luks_open(image(state), NULL, tpm, 0), -EINVAL);
        assert_int_equal(luks_header_backup(image(state), "/nonexistent/x"), -EINVAL);
}

static void test_header_backup_restore(void **state)
{
        struct test_dir *d = *state;
        _cleanup_secret_ struct secret *tpm = test_secret(TPM_FILL, LUKS_TPM_SECRET_SIZE);
        _cleanup_secret_ struct secret *rec = test_secret(RECOVERY_FILL, 20);
        char backup[160], garbage[160];
        struct stat st;
        uint8_t *before;

        snprintf(backup, sizeof(backup), "%s/header.img", d->path);
        snprintf(garbage, sizeof(garbage), "%s/garbage.img", d->path);
        unlink(backup);
        format_image(image(state), RECOVERY_FILL);
        assert_int_equal(luks_header_backup(image(state), backup), 0);
        assert_int_equal(stat(backup, &st), 0);
        assert_int_equal(st.st_mode & 077, 0); /* holds the keyslots */
        assert_int_equal(luks_header_backup(image(state), backup), -EEXIST);

        /* Lose the recovery slot, then get it back from the backup. */
        assert_int_equal(luks_recovery_remove(image(state), tpm), 0);
        assert_int_equal(luks_open_recovery(image(state), NULL, rec, 0), -ENOENT);
        assert_int_equal(luks_header_restore(image(state), backup), 0);
        assert_int_equal(luks_open_recovery(image(state), NULL, rec, 0), 0);
        assert_int_equal(luks_open(image(state), NULL, tpm, 0), 0);

        /* A file that is no header backup is refused; the volume stays. */
        make_file(garbage, 1024 * 1024);
        write_at(garbage, 0, "LUKS\xba\xbe", 6);
        before = read_head(image(state), TEST_HEADER_AREA);
        assert_true(luks_header_restore(image(state), garbage) < 0);
        assert_head_equal(image(state), before, TEST_HEADER_AREA);
        free(before);

        /* After the header is destroyed, the backup brings the volume back. */
        assert_int_equal(luks_erase(image(state)), 0);
        assert_true(luks_open(image(state), NULL, tpm, 0) < 0);
        assert_int_equal(luks_header_restore(image(state), backup), 0);
        assert_int_equal(luks_open(image(state), NULL, tpm, 0), 0);
        unlink(backup);
}

static void test_erase(void **state)
{
        _cleanup_secret_ struct secret *tpm = test_secret(TPM_FILL, LUKS_TPM_SECRET_SIZE);
        _cleanup_secret_ struct secret *rec = test_secret(RECOVERY_FILL, 20);
        struct crypt_device *cd = NULL;
        uint8_t *head, zero[4096] = {0};
        size_t nonzero = 0;

        format_image(image(state), RECOVERY_FILL);
        write_at(image(state), TEST_HEADER_AREA, "data after the header", 21);
        assert_int_equal(luks_erase(image(state)), 0);

        /* No keyslot opens, libcryptsetup sees no LUKS header at all, and
         * the header area is zero. */
        assert_true(luks_open(image(state), NULL, tpm, 0) < 0);
        assert_true(luks_open_recovery(image(state), NULL, rec, 0) < 0);
        assert_int_equal(crypt_init(&cd, image(state)), 0);
        assert_true(crypt_load(cd, CRYPT_LUKS2, NULL) < 0);
        assert_true(crypt_load(cd, CRYPT_LUKS, NULL) < 0);
        crypt_free(cd);
        head = read_head(image(state), TEST_HEADER_AREA + 4096);
        for (size_t off = 0; off < TEST_HEADER_AREA; off += sizeof(zero))
                nonzero += memcmp(head + off, zero, sizeof(zero)) != 0;
        assert_int_equal(nonzero, 0);
        /* Only the header area was wiped. */
        assert_memory_equal(head + TEST_HEADER_AREA, "data after the header", 21);
        free(head);
}

static void test_integrity_format(void **state)
{
        /* Not _cleanup_: skip() longjmps past cleanup handlers. */
        struct secret *tpm = test_secret(TPM_FILL, LUKS_TPM_SECRET_SIZE);
        struct luks_format_options opts = {.integrity = true};
        struct crypt_device *cd = NULL;
        struct crypt_params_integrity ip;
        struct luks_token token;
        uint8_t blob[16];
        int r;

        make_file(image(state), TEST_IMAGE_SIZE);
        test_token(&token, blob, sizeof(blob));
        r = luks_format(image(state), tpm, NULL, &token, &opts);
        /* (libdevmapper creates /dev/mapper/control itself: ask the kernel.) */
        if (access("/sys/class/misc/device-mapper", F_OK) < 0) {
                /* Formatting dm-integrity tags needs device-mapper: the lab
                 * tests the full path.  Here: a clean error, and no
                 * half-made volume left behind. */
                assert_true(r < 0);
                assert_int_equal(crypt_init(&cd, image(state)), 0);
                assert_true(crypt_load(cd, CRYPT_LUKS2, NULL) < 0);
                crypt_free(cd);
                secret_free(tpm);
                skip();
        }
        assert_int_equal(r, 0);
        assert_int_equal(crypt_init(&cd, image(state)), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
        assert_int_equal(crypt_get_integrity_info(cd, &ip), 0);
        assert_string_equal(ip.integrity, "hmac(sha256)");
        /* 512-bit XTS key + 256-bit HMAC key (cryptsetup(8) --integrity). */
        assert_int_equal(crypt_get_volume_key_size(cd), LUKS_VOLUME_KEY_SIZE + LUKS_INTEGRITY_KEY_SIZE);
        crypt_free(cd);
        assert_int_equal(luks_open(image(state), NULL, tpm, 0), 0);
        secret_free(tpm);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_format_open),
                cmocka_unit_test(test_format_bad_arguments),
                cmocka_unit_test(test_recovery_add_remove),
                cmocka_unit_test(test_tpm_rebind),
                cmocka_unit_test(test_recovery_key_file),
                cmocka_unit_test(test_corrupt_header),
                cmocka_unit_test(test_header_backup_restore),
                cmocka_unit_test(test_erase),
                cmocka_unit_test(test_integrity_format),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
