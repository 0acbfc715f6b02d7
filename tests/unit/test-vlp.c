/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the tboot VLP codec (policy/tboot/vlp). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/tboot/vlp.h"
#include "tvam/shared/hex.h"

/* Written by Debian tboot 1.10.5's tb_polgen:
 *   tb_polgen --create --type nonfatal --alg sha256 --ctrl 1 t.vlp
 *   tb_polgen --add --num 0 --pcr none --hash image --cmdline "console=ttyS0 ro" --image k.img t.vlp
 *   tb_polgen --add --num any --pcr 19 --hash any t.vlp
 * with k.img = "kernelimage\n". */
static const char golden_hex[] = "02000b010000000000000002"
                                 "00ff01000000000"
                                 "12a778ba82fd26500dd1b03fe3e83e5605623fe374b4b584cf7b8901200eb6800"
                                 "8113000000000000";

static uint8_t *golden(size_t *size)
{
        uint8_t *data = NULL;
        assert_int_equal(hex_decode(golden_hex, &data, size), 0);
        return data;
}

static void test_decode_golden(void **state)
{
        _cleanup_free_ uint8_t *data = NULL, *again = NULL;
        _cleanup_(vlp_freep) struct vlp *vlp = NULL;
        size_t size, again_size;
        uint8_t image_digest[32], expect[32];

        (void)state;
        data = golden(&size);
        assert_int_equal(size, 12 + 8 + 32 + 8);
        assert_int_equal(vlp_decode(data, size, &vlp), 0);
        assert_int_equal(vlp->type, VLP_TYPE_NONFATAL);
        assert_int_equal(vlp->alg, DIGEST_SHA256);
        assert_int_equal(vlp->control, VLP_CONTROL_EXTEND_PCR17);
        assert_int_equal(vlp->num_entries, 2);
        assert_int_equal(vlp->entries[0].mod_num, 0);
        assert_int_equal(vlp->entries[0].pcr, VLP_PCR_NONE);
        assert_int_equal(vlp->entries[0].hash_type, VLP_HASH_IMAGE);
        assert_int_equal(vlp->entries[0].num_hashes, 1);
        assert_int_equal(vlp->entries[1].mod_num, VLP_MOD_ANY);
        assert_int_equal(vlp->entries[1].pcr, 19);

        /* The hash tb_polgen stored is tboot's H(H(cmdline) || H(image)). */
        assert_int_equal(digest_buffer(DIGEST_SHA256, "kernelimage\n", 12, image_digest), 0);
        assert_int_equal(vlp_module_hash(DIGEST_SHA256, "console=ttyS0 ro", image_digest, expect), 0);
        assert_memory_equal(vlp->entries[0].hashes, expect, 32);

        assert_int_equal(vlp_encode(vlp, &again, &again_size), 0);
        assert_int_equal(again_size, size);
        assert_memory_equal(again, data, size);
}

static void test_build_matches_golden(void **state)
{
        _cleanup_free_ uint8_t *data = NULL, *built = NULL;
        _cleanup_(vlp_freep) struct vlp *vlp = NULL;
        uint8_t image_digest[32], hash[32];
        size_t size, built_size;

        (void)state;
        data = golden(&size);
        assert_int_equal(vlp_new(VLP_TYPE_NONFATAL, DIGEST_SHA256, VLP_CONTROL_EXTEND_PCR17, &vlp), 0);
        /* "any" added first still ends up last, where tboot needs it. */
        assert_int_equal(vlp_add(vlp, VLP_MOD_ANY, 19, VLP_HASH_ANY, NULL), 0);
        assert_int_equal(digest_buffer(DIGEST_SHA256, "kernelimage\n", 12, image_digest), 0);
        assert_int_equal(vlp_module_hash(DIGEST_SHA256, "console=ttyS0 ro", image_digest, hash), 0);
        assert_int_equal(vlp_add(vlp, 0, VLP_PCR_NONE, VLP_HASH_IMAGE, hash), 0);
        assert_int_equal(vlp_encode(vlp, &built, &built_size), 0);
        assert_int_equal(built_size, size);
        assert_memory_equal(built, data, size);

        /* A second hash for module 0 is appended to its entry; a conflicting
         * PCR for the same module is refused. */
        assert_int_equal(vlp_add(vlp, 0, VLP_PCR_NONE, VLP_HASH_IMAGE, image_digest), 0);
        assert_int_equal(vlp->entries[0].num_hashes, 2);
        assert_int_equal(vlp_add(vlp, 0, 18, VLP_HASH_IMAGE, hash), -EEXIST);
        /* Invalid arguments. */
        assert_int_equal(vlp_add(vlp, 128, 18, VLP_HASH_ANY, NULL), -EINVAL);
        assert_int_equal(vlp_add(vlp, 1, 24, VLP_HASH_ANY, NULL), -EINVAL);
        assert_int_equal(vlp_add(vlp, 1, 18, VLP_HASH_IMAGE, NULL), -EINVAL);
        assert_int_equal(vlp_add(vlp, 1, 18, VLP_HASH_ANY, hash), -EINVAL);
}

static void test_decode_rejects_malformed(void **state)
{
        _cleanup_free_ uint8_t *data = NULL;
        struct vlp *vlp = NULL;
        uint8_t *copy;
        size_t size;

        (void)state;
        data = golden(&size);

        /* Every truncation is refused. */
        for (size_t n = 0; n < size; n++)
                assert_int_equal(vlp_decode(data, n, &vlp), -EBADMSG);

        copy = malloc(size + 1);
        assert_non_null(copy);
        struct {
                size_t offset;
                uint8_t value;
        } corruptions[] = {
                { 0, 1 },       /* version */
                { 1, 3 },       /* policy type */
                { 2, 0x05 },    /* hash alg (not a PCR bank) */
                { 7, 1 },       /* reserved */
                { 11, 3 },      /* num_entries larger than the data */
                { 12, 128 },    /* mod_num between 127 and "any" */
                { 13, 24 },     /* pcr */
                { 14, 2 },      /* hash_type */
                { 19, 2 },      /* num_hashes beyond the data */
        };
        for (size_t i = 0; i < sizeof(corruptions) / sizeof(corruptions[0]); i++) {
                memcpy(copy, data, size);
                copy[corruptions[i].offset] = corruptions[i].value;
                assert_int_equal(vlp_decode(copy, size, &vlp), -EBADMSG);
        }
        /* Trailing garbage. */
        memcpy(copy, data, size);
        copy[size] = 0;
        assert_int_equal(vlp_decode(copy, size + 1, &vlp), -EBADMSG);
        assert_null(vlp);
        free(copy);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_decode_golden),
                cmocka_unit_test(test_build_matches_golden),
                cmocka_unit_test(test_decode_rejects_malformed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
