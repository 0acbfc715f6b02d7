/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of dm-verity identities (tvam/storage/verity.h) on image files:
 * interop of the root hash with veritysetup(8), eager verification of a
 * tampered image, and root hashes of the wrong length. */
#include <errno.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "test-luks-util.h"
#include "tvam/shared/hex.h"
#include "tvam/storage/verity.h"

#define DATA_SIZE (4u * 1024 * 1024 + 3 * VERITY_BLOCK_SIZE) /* odd tree shape */

extern char **environ;

static const uint8_t salt[VERITY_SALT_SIZE] = {
        0x00,
        0x11,
        0x22,
        0x33,
        0x44,
        0x55,
        0x66,
        0x77,
        0x88,
        0x99,
        0xaa,
        0xbb,
        0xcc,
        0xdd,
        0xee,
        0xff,
        0x01,
        0x23,
        0x45,
        0x67,
        0x89,
        0xab,
        0xcd,
        0xef,
        0xfe,
        0xdc,
        0xba,
        0x98,
        0x76,
        0x54,
        0x32,
        0x10,
};

struct vstate {
        struct test_dir dir;
        char data[160], hash[160], ref_hash[160];
};

static void fill_data(const char *path, uint64_t size)
{
        uint8_t block[VERITY_BLOCK_SIZE];

        make_file(path, 0);
        for (uint64_t off = 0; off < size; off += sizeof(block)) {
                for (size_t i = 0; i < sizeof(block); i++)
                        block[i] = (uint8_t)((off / sizeof(block)) * 31 + i * 7);
                write_at(path, off, block, sizeof(block));
        }
}

static int setup(void **state)
{
        struct vstate *v = calloc(1, sizeof(*v));

        if (!v)
                return -1;
        test_dir_init(&v->dir);
        snprintf(v->data, sizeof(v->data), "%s/data.img", v->dir.path);
        snprintf(v->hash, sizeof(v->hash), "%s/hash.img", v->dir.path);
        snprintf(v->ref_hash, sizeof(v->ref_hash), "%s/ref-hash.img", v->dir.path);
        fill_data(v->data, DATA_SIZE);
        make_file(v->hash, 0);
        make_file(v->ref_hash, 0);
        *state = v;
        return 0;
}

static int teardown(void **state)
{
        struct vstate *v = *state;

        test_dir_done(&v->dir);
        free(v);
        return 0;
}

/* Run ARGV (no shell) and return its stdout; skip if the program is absent. */
static char *run(char *const argv[])
{
        posix_spawn_file_actions_t fa;
        char *out = calloc(1, 8192);
        size_t used = 0;
        int pipefd[2], status;
        pid_t pid;
        ssize_t n;

        if (access(argv[0], X_OK) < 0) {
                free(out);
                skip();
        }
        assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
        assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
        posix_spawn_file_actions_destroy(&fa);
        close(pipefd[1]);
        while ((n = read(pipefd[0], out + used, 8191 - used)) > 0)
                used += (size_t)n;
        close(pipefd[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        return out;
}

/* "Root hash:      <hex>" from veritysetup format's output. */
static void parse_root_hash(const char *out, uint8_t root[VERITY_ROOT_HASH_SIZE])
{
        const char *p = strstr(out, "Root hash:");
        char hex[2 * VERITY_ROOT_HASH_SIZE + 1];

        assert_non_null(p);
        p += strlen("Root hash:");
        while (*p == ' ' || *p == '\t')
                p++;
        memcpy(hex, p, sizeof(hex) - 1);
        hex[sizeof(hex) - 1] = '\0';
        assert_int_equal(verity_root_hash_from_hex(hex, root), 0);
}

static void test_interop_separate(void **state)
{
        struct vstate *v = *state;
        struct verity_params p = {.salt = salt};
        uint8_t root[VERITY_ROOT_HASH_SIZE], ref[VERITY_ROOT_HASH_SIZE];
        char *salt_hex = NULL, salt_arg[128], *out;

        assert_int_equal(verity_format(v->data, v->hash, &p, root), 0);
        assert_int_equal(hex_encode(salt, sizeof(salt), &salt_hex), 0);
        snprintf(salt_arg, sizeof(salt_arg), "--salt=%s", salt_hex);
        out = run(
                (char *const[]){"/usr/sbin/veritysetup", "format", "--hash=sha256", "--data-block-size=4096",
                        "--hash-block-size=4096", "--format=1", salt_arg, v->data, v->ref_hash, NULL});
        parse_root_hash(out, ref);
        assert_memory_equal(root, ref, sizeof(root));
        free(out);

        /* Each side verifies the other's tree. */
        assert_int_equal(verity_verify_eager(v->data, v->ref_hash, 0, ref, sizeof(ref), NULL, 0), 0);
        assert_int_equal(verity_verify_eager(v->data, v->hash, 0, root, sizeof(root), NULL, 0), 0);
        {
                char *root_hex = NULL;

                assert_int_equal(hex_encode(root, sizeof(root), &root_hex), 0);
                free(run((char *const[]){
                        "/usr/sbin/veritysetup", "verify", v->data, v->hash, root_hex, NULL}));
                free(root_hex);
        }
        free(salt_hex);
}

static void test_interop_same_device(void **state)
{
        struct vstate *v = *state;
        char combined[160], ref_combined[160], *salt_hex = NULL, salt_arg[128], off_arg[64], *out;
        struct verity_params p = {.salt = salt, .hash_offset = DATA_SIZE};
        uint8_t root[VERITY_ROOT_HASH_SIZE], ref[VERITY_ROOT_HASH_SIZE];

        snprintf(combined, sizeof(combined), "%s/combined.img", v->dir.path);
        snprintf(ref_combined, sizeof(ref_combined), "%s/ref-combined.img", v->dir.path);
        fill_data(combined, DATA_SIZE);
        fill_data(ref_combined, DATA_SIZE);
        assert_int_equal(verity_format(combined, combined, &p, root), 0);

        assert_int_equal(hex_encode(salt, sizeof(salt), &salt_hex), 0);
        snprintf(salt_arg, sizeof(salt_arg), "--salt=%s", salt_hex);
        snprintf(off_arg, sizeof(off_arg), "--hash-offset=%u", DATA_SIZE);
        out = run((char *const[]){"/usr/sbin/veritysetup", "format", salt_arg, off_arg, "--data-blocks=1027",
                ref_combined, ref_combined, NULL});
        parse_root_hash(out, ref);
        assert_memory_equal(root, ref, sizeof(root));
        assert_int_equal(verity_verify_eager(combined, combined, DATA_SIZE, root, sizeof(root), NULL, 0), 0);
        free(out);
        free(salt_hex);

        /* Data may not overlap the hash area; offsets are block-aligned. */
        p.data_size = DATA_SIZE + VERITY_BLOCK_SIZE;
        assert_int_equal(verity_format(combined, combined, &p, root), -EINVAL);
        p.data_size = 0;
        p.hash_offset = DATA_SIZE + 1;
        assert_int_equal(verity_format(combined, combined, &p, root), -EINVAL);
        p.hash_offset = 0;
        assert_int_equal(verity_format(combined, combined, &p, root), -EINVAL);
}

static void test_random_salt(void **state)
{
        struct vstate *v = *state;
        uint8_t a[VERITY_ROOT_HASH_SIZE], b[VERITY_ROOT_HASH_SIZE];

        assert_int_equal(verity_format(v->data, v->hash, NULL, a), 0);
        assert_int_equal(verity_verify_eager(v->data, v->hash, 0, a, sizeof(a), NULL, 0), 0);
        assert_int_equal(verity_format(v->data, v->hash, NULL, b), 0);
        assert_memory_not_equal(a, b, sizeof(a));
}

static void test_tamper_eager(void **state)
{
        struct vstate *v = *state;
        struct verity_params p = {.salt = salt};
        uint8_t root[VERITY_ROOT_HASH_SIZE], bad_root[VERITY_ROOT_HASH_SIZE], byte;
        char err[256];
        int fd;

        assert_int_equal(verity_format(v->data, v->hash, &p, root), 0);
        assert_int_equal(verity_verify_eager(v->data, v->hash, 0, root, sizeof(root), err, sizeof(err)), 0);
        assert_string_equal(err, "");

        /* A wrong root hash (one bit) is refused. */
        memcpy(bad_root, root, sizeof(root));
        bad_root[31] ^= 1;
        assert_int_equal(
                verity_verify_eager(v->data, v->hash, 0, bad_root, sizeof(bad_root), err, sizeof(err)),
                -EPERM);
        print_message("wrong root hash: %s\n", err);
        assert_true(err[0] != '\0');

        /* One byte of block 700 flipped: refused, naming the position. */
        fd = open(v->data, O_RDWR | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(pread(fd, &byte, 1, 700 * 4096 + 5), 1);
        byte ^= 0x01;
        assert_int_equal(pwrite(fd, &byte, 1, 700 * 4096 + 5), 1);
        close(fd);
        assert_int_equal(
                verity_verify_eager(v->data, v->hash, 0, root, sizeof(root), err, sizeof(err)), -EPERM);
        print_message("tampered data: %s\n", err);
        assert_non_null(strstr(err, "2867200")); /* 700 * 4096: the bad block */

        /* Restore it: verifies again. */
        byte ^= 0x01;
        write_at(v->data, 700 * 4096 + 5, &byte, 1);
        assert_int_equal(verity_verify_eager(v->data, v->hash, 0, root, sizeof(root), NULL, 0), 0);

        /* A damaged hash block (level 0 starts after superblock + upper
         * levels): refused too. */
        write_at(v->hash, 3 * 4096 + 100, "\xff\xff", 2);
        assert_int_equal(
                verity_verify_eager(v->data, v->hash, 0, root, sizeof(root), err, sizeof(err)), -EPERM);
        print_message("tampered hash tree: %s\n", err);
}

static void test_wrong_root_hash_length(void **state)
{
        struct vstate *v = *state;
        uint8_t root[VERITY_ROOT_HASH_SIZE + 1] = {0};
        char err[128];

        assert_int_equal(verity_format(v->data, v->hash, NULL, root), 0);
        assert_int_equal(verity_verify_eager(v->data, v->hash, 0, root, 31, err, sizeof(err)), -EINVAL);
        assert_string_equal(err, "root hash has 31 bytes, sha256 needs 32");
        assert_int_equal(verity_verify_eager(v->data, v->hash, 0, root, 33, err, sizeof(err)), -EINVAL);
        assert_int_equal(verity_verify_eager(v->data, v->hash, 0, root, 0, NULL, 0), -EINVAL);
        /* Rejected before any device is touched. */
        assert_int_equal(
                verity_open("tvam-test-none", "/nonexistent", "/nonexistent", 0, root, 20), -EINVAL);
        assert_int_equal(verity_root_hash_from_hex("abcd", root), -EINVAL);
        assert_int_equal(verity_root_hash_from_hex(
                                 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00", root),
                -EINVAL);
        assert_int_equal(verity_root_hash_from_hex(
                                 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", root),
                0);
}

static void test_not_verity(void **state)
{
        struct vstate *v = *state;
        uint8_t root[VERITY_ROOT_HASH_SIZE] = {0};
        char err[128];

        /* A hash device without a verity superblock. */
        make_file(v->hash, 1024 * 1024);
        assert_int_equal(
                verity_verify_eager(v->data, v->hash, 0, root, sizeof(root), err, sizeof(err)), -EINVAL);
        assert_true(err[0] != '\0');
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_interop_separate, setup, teardown),
                cmocka_unit_test_setup_teardown(test_interop_same_device, setup, teardown),
                cmocka_unit_test_setup_teardown(test_random_salt, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tamper_eager, setup, teardown),
                cmocka_unit_test_setup_teardown(test_wrong_root_hash_length, setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_verity, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
