/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the software PCR model (policy/pcr/pcr.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy/pcr/pcr.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/macro.h"

/* Independent reference: PCR' = H(PCR || d) computed with one digest_buffer call. */
static void reference_extend(enum digest_alg alg, uint8_t *pcr, const uint8_t *d)
{
        uint8_t buf[2 * DIGEST_MAX_SIZE];
        size_t n = digest_size(alg);

        memcpy(buf, pcr, n);
        memcpy(buf + n, d, n);
        assert_int_equal(digest_buffer(alg, buf, 2 * n, pcr), 0);
}

static void test_extend_matches_reference(void **state)
{
        const enum digest_alg algs[] = {DIGEST_SHA1, DIGEST_SHA256, DIGEST_SHA384};

        (void)state;
        for (size_t a = 0; a < ELEMENTSOF(algs); a++) {
                struct pcr_bank bank;
                uint8_t ref[DIGEST_MAX_SIZE] = {}, d[DIGEST_MAX_SIZE];

                assert_int_equal(pcr_bank_init(&bank, algs[a]), 0);
                for (int i = 0; i < 5; i++) {
                        assert_int_equal(digest_buffer(algs[a], &i, sizeof(i), d), 0);
                        assert_int_equal(pcr_extend(&bank, 16, d, digest_size(algs[a])), 0);
                        reference_extend(algs[a], ref, d);
                }
                assert_memory_equal(bank.values[16], ref, digest_size(algs[a]));
                /* untouched PCRs stay zero */
                assert_memory_equal(bank.values[15], (uint8_t[DIGEST_MAX_SIZE]){}, digest_size(algs[a]));
        }
}

/* Known answer, identical to tests/tpm/swtpm-harness.sh's check against swtpm:
 * PCR16 after extending SHA256("tvam") once. */
static void test_extend_known_answer(void **state)
{
        struct pcr_bank bank;
        _cleanup_free_ char *hex = NULL;

        (void)state;
        assert_int_equal(pcr_bank_init(&bank, DIGEST_SHA256), 0);
        assert_int_equal(pcr_extend_data(&bank, 16, "tvam", 4), 0);
        assert_int_equal(hex_encode(bank.values[16], 32, &hex), 0);
        assert_string_equal(hex, "ff9280681ce3ef4742a65d20c5e0a5a90289838670917f79908ec9cfbc2df64f");
}

static void test_replay_is_atomic(void **state)
{
        struct pcr_bank bank, before;
        struct pcr_event ev[3] = {{.pcr = 10}, {.pcr = 14}, {.pcr = 24 /* invalid */}};

        (void)state;
        assert_int_equal(pcr_bank_init(&bank, DIGEST_SHA256), 0);
        before = bank;
        assert_int_equal(pcr_replay(&bank, ev, 3), -EINVAL);
        assert_memory_equal(&bank, &before, sizeof(bank));
        assert_int_equal(pcr_replay(&bank, ev, 2), 0);
        assert_memory_not_equal(bank.values[10], before.values[10], 32);
        assert_memory_not_equal(bank.values[14], before.values[14], 32);
}

static void test_replay_order_matters(void **state)
{
        struct pcr_bank a, b;
        struct pcr_event ev[2] = {{.pcr = 13}, {.pcr = 13}};

        (void)state;
        ev[0].digest[0] = 1;
        ev[1].digest[0] = 2;
        assert_int_equal(pcr_bank_init(&a, DIGEST_SHA256), 0);
        b = a;
        assert_int_equal(pcr_replay(&a, ev, 2), 0);
        assert_int_equal(pcr_replay(&b, (struct pcr_event[]){ev[1], ev[0]}, 2), 0);
        assert_memory_not_equal(a.values[13], b.values[13], 32);
}

static void test_static_boot_and_diff(void **state)
{
        struct pcr_bank a, b;
        uint32_t diff = 0;
        char buf[64];

        (void)state;
        assert_int_equal(pcr_bank_init_static_boot(&a, DIGEST_SHA256), 0);
        assert_int_equal(a.values[17][0], 0xff);
        assert_int_equal(a.values[23][0], 0x00);
        assert_int_equal(pcr_bank_init(&b, DIGEST_SHA256), 0);
        assert_int_equal(pcr_bank_diff(&a, &b, PCR_MASK_ALL, &diff), 0);
        assert_int_equal(diff, 0x7E0000u); /* 17..22 */
        pcr_mask_to_string(diff, buf, sizeof(buf));
        assert_string_equal(buf, "17, 18, 19, 20, 21, 22");
        pcr_mask_to_string(diff, buf, 8); /* truncation stays terminated */
        assert_true(strlen(buf) < 8);
}

static void test_rejects_bad_input(void **state)
{
        struct pcr_bank bank;
        uint8_t d[32] = {}, out[32];

        (void)state;
        assert_int_equal(pcr_bank_init(&bank, (enum digest_alg)0x0012), -EINVAL);
        assert_int_equal(pcr_bank_init(&bank, DIGEST_SHA256), 0);
        assert_int_equal(pcr_extend(&bank, 24, d, 32), -EINVAL);
        assert_int_equal(pcr_extend(&bank, 1, d, 20), -EINVAL); /* wrong digest size */
        assert_int_equal(pcr_composite_digest(&bank, 0, DIGEST_SHA256, out), -EINVAL);
        assert_int_equal(pcr_composite_digest(&bank, 1u << 24, DIGEST_SHA256, out), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_extend_matches_reference),
                cmocka_unit_test(test_extend_known_answer),
                cmocka_unit_test(test_replay_is_atomic),
                cmocka_unit_test(test_replay_order_matters),
                cmocka_unit_test(test_static_boot_and_diff),
                cmocka_unit_test(test_rejects_bad_input),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
