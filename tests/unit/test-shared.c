/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of tvam/shared: hex, digests, secrets, atomic files. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tvam/shared/digest.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/secret.h"

static void test_hex_roundtrip(void **state)
{
        const uint8_t data[] = { 0x00, 0x01, 0xab, 0xff, 0x7f };
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ uint8_t *back = NULL;
        size_t size = 0;

        (void)state;
        assert_int_equal(hex_encode(data, sizeof(data), &text), 0);
        assert_string_equal(text, "0001abff7f");
        assert_int_equal(hex_decode("0001ABff7f", &back, &size), 0);
        assert_int_equal(size, sizeof(data));
        assert_memory_equal(back, data, sizeof(data));
}

static void test_hex_rejects_bad_input(void **state)
{
        uint8_t *out = (uint8_t *)0x1; /* must stay untouched */
        size_t size = 42;
        uint8_t exact[4];

        (void)state;
        assert_int_equal(hex_decode("abc", &out, &size), -EINVAL);
        assert_int_equal(hex_decode("zz", &out, &size), -EINVAL);
        assert_int_equal(hex_decode("0x12", &out, &size), -EINVAL);
        assert_ptr_equal(out, (uint8_t *)0x1);
        assert_int_equal(size, 42);
        /* A digest of the wrong length is refused, not padded or cut. */
        assert_int_equal(hex_decode_exact("010203", exact, sizeof(exact)), -EINVAL);
        assert_int_equal(hex_decode_exact("0102030405", exact, sizeof(exact)), -EINVAL);
        assert_int_equal(hex_decode_exact("01020304", exact, sizeof(exact)), 0);
        assert_int_equal(exact[3], 4);
}

/* Known-answer vectors: FIPS 180-2 "abc". */
static void test_digest_known_answers(void **state)
{
        uint8_t out[DIGEST_MAX_SIZE];
        _cleanup_free_ char *hex1 = NULL, *hex256 = NULL;

        (void)state;
        assert_int_equal(digest_buffer(DIGEST_SHA1, "abc", 3, out), 0);
        assert_int_equal(hex_encode(out, 20, &hex1), 0);
        assert_string_equal(hex1, "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_int_equal(digest_buffer(DIGEST_SHA256, "abc", 3, out), 0);
        assert_int_equal(hex_encode(out, 32, &hex256), 0);
        assert_string_equal(hex256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_int_equal(digest_size(DIGEST_SHA384), 48);
        assert_int_equal(digest_size((enum digest_alg)0x1234), 0);
}

static void test_digest_names(void **state)
{
        enum digest_alg alg;

        (void)state;
        assert_int_equal(digest_alg_from_string("sha384", &alg), 0);
        assert_int_equal(alg, DIGEST_SHA384);
        assert_string_equal(digest_alg_to_string(DIGEST_SHA256), "sha256");
        assert_int_equal(digest_alg_from_string("md5", &alg), -EINVAL);
}

static void test_digest_fd_streams(void **state)
{
        char path[] = "/tmp/tvam-test-digest.XXXXXX";
        uint8_t a[32], b[32];
        uint64_t bytes = 0;
        int fd;

        (void)state;
        fd = mkstemp(path);
        assert_true(fd >= 0);
        unlink(path);
        /* Larger than one read chunk, so streaming is exercised. */
        size_t size = 3 * 1024 * 1024 + 17;
        uint8_t *data = malloc(size);
        assert_non_null(data);
        for (size_t i = 0; i < size; i++)
                data[i] = (uint8_t)(i * 31 + 7);
        assert_int_equal(write_all(fd, data, size), 0);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        assert_int_equal(digest_fd(DIGEST_SHA256, fd, a, &bytes), 0);
        assert_int_equal(bytes, size);
        assert_int_equal(digest_buffer(DIGEST_SHA256, data, size, b), 0);
        assert_memory_equal(a, b, 32);
        free(data);
        close(fd);
}

static void test_secret_lifecycle(void **state)
{
        _cleanup_secret_ struct secret *a = NULL, *b = NULL, *c = NULL;
        struct secret *tmp = NULL;

        (void)state;
        assert_int_equal(secret_new(0, &tmp), -EINVAL);
        assert_int_equal(secret_new(SECRET_SIZE_MAX + 1, &tmp), -EINVAL);
        assert_null(tmp);
        assert_int_equal(secret_new_random(32, &a), 0);
        assert_int_equal(secret_new_from(a->data, a->size, &b), 0);
        assert_true(secret_equal(a, b));
        assert_int_equal(secret_new_random(32, &c), 0);
        /* Two 256-bit random secrets are equal with probability 2^-256. */
        assert_false(secret_equal(a, c));
        secret_free(NULL);
}

static void test_atomic_file_replaces(void **state)
{
        char dir[] = "/tmp/tvam-test-atomic.XXXXXX";
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ uint8_t *content = NULL;
        size_t size = 0;
        struct stat st;

        (void)state;
        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&path, "%s/state.json", dir) > 0);

        assert_int_equal(atomic_file_write(path, "old", 3, 0600), 0);
        assert_int_equal(atomic_file_write(path, "new content", 11, 0600), 0);
        assert_int_equal(read_full_file(path, 1024, &content, &size), 0);
        assert_int_equal(size, 11);
        assert_string_equal((char *)content, "new content");
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);

        /* A size limit is enforced, not silently truncated. */
        free(content);
        content = NULL;
        assert_int_equal(read_full_file(path, 4, &content, &size), -EFBIG);
        assert_null(content);

        /* No temporary file is left behind. */
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);
}

static void test_atomic_file_failure_keeps_old(void **state)
{
        (void)state;
        /* A write into a directory that does not exist fails cleanly. */
        assert_int_equal(atomic_file_write("/nonexistent-tvam-dir/state", "x", 1, 0600), -ENOENT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hex_roundtrip),
                cmocka_unit_test(test_hex_rejects_bad_input),
                cmocka_unit_test(test_digest_known_answers),
                cmocka_unit_test(test_digest_names),
                cmocka_unit_test(test_digest_fd_streams),
                cmocka_unit_test(test_secret_lifecycle),
                cmocka_unit_test(test_atomic_file_replaces),
                cmocka_unit_test(test_atomic_file_failure_keeps_old),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
