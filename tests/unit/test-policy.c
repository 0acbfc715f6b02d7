/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the software policy digests (policy/pcr/policy.h).  The
 * known answers were produced by tpm2-tools 5.4 against swtpm 0.7
 * (tpm2_createpolicy --policy-pcr -f VALUES, tpm2_policy* in trial
 * sessions), i.e. independently of this code.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <tss2/tss2_tpm2_types.h>

#include "policy/pcr/policy.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/macro.h"

static void assert_digest_hex(const struct policy *p, const char *expected)
{
        _cleanup_free_ char *hex = NULL;
        assert_int_equal(hex_encode(p->digest, policy_size(p), &hex), 0);
        assert_string_equal(hex, expected);
}

static void test_command_codes_match_tss(void **state)
{
        (void)state;
        assert_int_equal(POLICY_CC_POLICY_PCR, TPM2_CC_PolicyPCR);
        assert_int_equal(POLICY_CC_POLICY_OR, TPM2_CC_PolicyOR);
        assert_int_equal(POLICY_CC_POLICY_AUTH_VALUE, TPM2_CC_PolicyAuthValue);
        assert_int_equal(POLICY_CC_POLICY_COMMAND_CODE, TPM2_CC_PolicyCommandCode);
        assert_int_equal(POLICY_CC_POLICY_SECRET, TPM2_CC_PolicySecret);
        assert_int_equal(POLICY_CC_POLICY_AUTHORIZE_NV, TPM2_CC_PolicyAuthorizeNV);
        assert_int_equal(POLICY_CC_NV_WRITE, TPM2_CC_NV_Write);
        assert_int_equal(POLICY_CC_NV_CHANGE_AUTH, TPM2_CC_NV_ChangeAuth);
}

static void test_policy_pcr_known_answers(void **state)
{
        struct pcr_bank bank;
        struct policy p;

        (void)state;
        assert_int_equal(pcr_bank_init(&bank, DIGEST_SHA256), 0);
        assert_int_equal(policy_init(&p, DIGEST_SHA256), 0);
        assert_int_equal(policy_pcr_bank(&p, &bank, 0x7), 0);
        assert_digest_hex(&p, "e7f31f4b025ea047a62c000be9fbc43b21a06a798f9b81a9d90a8769ba595015");

        assert_int_equal(digest_buffer(DIGEST_SHA256, "tvam", 4, bank.values[16]), 0);
        assert_int_equal(policy_init(&p, DIGEST_SHA256), 0);
        assert_int_equal(policy_pcr_bank(&p, &bank, 1u << 16), 0);
        assert_digest_hex(&p, "e4f46959ba484b2125827f5fa20ea32d11aebd850beb59fae823d15adfee51b0");

        /* SHA-1 bank, SHA-256 policy */
        assert_int_equal(pcr_bank_init(&bank, DIGEST_SHA1), 0);
        assert_int_equal(policy_init(&p, DIGEST_SHA256), 0);
        assert_int_equal(policy_pcr_bank(&p, &bank, 1u << 7), 0);
        assert_digest_hex(&p, "84278b60d0547dc27ec6667e7afeece0711c09b5ced09a30a65b389d3afda1ef");
}

static void test_simple_assertions_known_answers(void **state)
{
        const uint8_t owner_name[4] = {0x40, 0x00, 0x00, 0x01}; /* TPM_RH_OWNER */
        uint8_t list[64];
        struct policy p, a, cc;

        (void)state;
        assert_int_equal(policy_init(&a, DIGEST_SHA256), 0);
        assert_int_equal(policy_auth_value(&a), 0);
        assert_digest_hex(&a, "8fcd2169ab92694e0c633f1ab772842b8241bbc20288981fc7ac1eddc1fddb0e");

        assert_int_equal(policy_init(&cc, DIGEST_SHA256), 0);
        assert_int_equal(policy_command_code(&cc, POLICY_CC_NV_WRITE), 0);
        assert_digest_hex(&cc, "1c4f7107dcaf23ce00756448508558683104bd9e203e93749c227b451270438f");

        assert_int_equal(policy_init(&p, DIGEST_SHA256), 0);
        assert_int_equal(policy_secret(&p, owner_name, sizeof(owner_name), NULL, 0), 0);
        assert_digest_hex(&p, "0d84f55daf6e43ac97966e62c9bb989d3397777d25c5f749868055d65394f952");

        memcpy(list, a.digest, 32);
        memcpy(list + 32, cc.digest, 32);
        assert_int_equal(policy_or(&p, list, 2), 0); /* replaces whatever P held */
        assert_digest_hex(&p, "3fef8d44afc8d8469a60e4197962d5eab40b4cf92bc665c6ceefeedabc58a9a9");
}

/* PolicyPCR recomputed by hand from the spec's formula. */
static void test_policy_pcr_formula(void **state)
{
        struct pcr_bank bank;
        struct policy p;
        uint8_t concat[3 * 32], pcr_digest[32], buf[32 + 4 + 10 + 32], expected[32];
        const uint32_t mask = (1u << 0) | (1u << 9) | (1u << 23);

        (void)state;
        assert_int_equal(pcr_bank_init(&bank, DIGEST_SHA256), 0);
        for (unsigned i = 0; i < PCR_COUNT; i++)
                memset(bank.values[i], (int)i + 1, 32);
        memset(concat, 1, 32);
        memset(concat + 32, 10, 32);
        memset(concat + 64, 24, 32);
        assert_int_equal(digest_buffer(DIGEST_SHA256, concat, sizeof(concat), pcr_digest), 0);

        memset(buf, 0, 32);
        memcpy(buf + 32, "\x00\x00\x01\x7f", 4);                          /* TPM_CC_PolicyPCR */
        memcpy(buf + 36, "\x00\x00\x00\x01\x00\x0b\x03\x01\x02\x80", 10); /* 1 x {sha256, 3, 01 02 80} */
        memcpy(buf + 46, pcr_digest, 32);
        assert_int_equal(digest_buffer(DIGEST_SHA256, buf, sizeof(buf), expected), 0);

        assert_int_equal(policy_init(&p, DIGEST_SHA256), 0);
        assert_int_equal(policy_pcr_bank(&p, &bank, mask), 0);
        assert_memory_equal(p.digest, expected, 32);
}

static void branch(size_t k, uint8_t *out)
{
        assert_int_equal(digest_buffer(DIGEST_SHA256, &k, sizeof(k), out), 0);
}

/* For every N and every branch, running the steps from the branch digest
 * reaches the root, and the root is the same for every branch. */
static void test_or_tree_paths(void **state)
{
        static uint8_t branches[80 * 32];

        (void)state;
        for (size_t k = 0; k < 80; k++)
                branch(k, branches + 32 * k);

        for (size_t n = 1; n <= 80; n++) {
                uint8_t root0[32];

                for (size_t i = 0; i < n; i++) {
                        struct policy_or_step steps[POLICY_OR_DEPTH_MAX];
                        size_t n_steps = 0;
                        uint8_t root[32];
                        struct policy p;

                        assert_int_equal(
                                policy_or_tree(DIGEST_SHA256, branches, n, i, steps, &n_steps, root), 0);
                        assert_int_equal(policy_init(&p, DIGEST_SHA256), 0);
                        memcpy(p.digest, branches + 32 * i, 32);
                        for (size_t s = 0; s < n_steps; s++) {
                                bool found = false;
                                assert_true(steps[s].n >= 2 && steps[s].n <= 8);
                                for (size_t k = 0; k < steps[s].n; k++)
                                        found |= memcmp(steps[s].digests + 32 * k, p.digest, 32) == 0;
                                assert_true(found); /* the TPM would accept this PolicyOR */
                                assert_int_equal(policy_or(&p, steps[s].digests, steps[s].n), 0);
                        }
                        assert_memory_equal(p.digest, root, 32);
                        if (i == 0)
                                memcpy(root0, root, 32);
                        else
                                assert_memory_equal(root, root0, 32);
                        assert_int_equal(n_steps, n == 1 ? 0 : n <= 8 ? 1 : n <= 64 ? 2 : 3);
                }
                if (n == 1)
                        assert_memory_equal(root0, branches, 32);
                if (n >= 2 && n <= 8) {
                        struct policy p;
                        assert_int_equal(policy_init(&p, DIGEST_SHA256), 0);
                        assert_int_equal(policy_or(&p, branches, n), 0);
                        assert_memory_equal(root0, p.digest, 32);
                }
        }
}

static void test_or_tree_distinguishes_sets(void **state)
{
        uint8_t branches[10 * 32], r1[32], r2[32];

        (void)state;
        for (size_t k = 0; k < 10; k++)
                branch(k, branches + 32 * k);
        assert_int_equal(policy_or_tree(DIGEST_SHA256, branches, 10, 0, NULL, NULL, r1), 0);
        assert_int_equal(policy_or_tree(DIGEST_SHA256, branches, 9, 0, NULL, NULL, r2), 0);
        assert_memory_not_equal(r1, r2, 32);
        branches[32 * 9] ^= 1;
        assert_int_equal(policy_or_tree(DIGEST_SHA256, branches, 10, 0, NULL, NULL, r2), 0);
        assert_memory_not_equal(r1, r2, 32);
}

static void test_rejects_bad_input(void **state)
{
        uint8_t d[9 * 32] = {}, root[32];
        struct policy p;

        (void)state;
        assert_int_equal(policy_init(&p, (enum digest_alg)0x0099), -EINVAL);
        assert_int_equal(policy_init(&p, DIGEST_SHA256), 0);
        assert_int_equal(policy_or(&p, d, 1), -EINVAL);
        assert_int_equal(policy_or(&p, d, 9), -EINVAL);
        assert_int_equal(policy_pcr(&p, DIGEST_SHA256, 0, d), -EINVAL);
        assert_int_equal(policy_pcr(&p, DIGEST_SHA256, 1u << 24, d), -EINVAL);
        assert_int_equal(policy_or_tree(DIGEST_SHA256, d, 0, 0, NULL, NULL, root), -EINVAL);
        assert_int_equal(policy_or_tree(DIGEST_SHA256, d, 3, 3, NULL, NULL, root), -EINVAL);
        assert_int_equal(
                policy_or_tree(DIGEST_SHA256, d, POLICY_OR_BRANCHES_MAX + 1, 0, NULL, NULL, root), -EINVAL);
        assert_int_equal(policy_secret(&p, NULL, 0, NULL, 0), -EINVAL);
}

/* NV Name: nameAlg || H(TPMS_NV_PUBLIC), checked against a hand-built area. */
static void test_nv_name(void **state)
{
        const uint8_t auth_policy[32] = {0xAA};
        const uint8_t area[] = {
                0x01, 0x80, 0x0A, 0x01, /* nvIndex */
                0x00, 0x0B,             /* nameAlg sha256 */
                0x22, 0x04, 0x00, 0x08, /* attributes */
                0x00, 0x20,             /* authPolicy size */
        };
        uint8_t buf[sizeof(area) + 32 + 2], name[POLICY_NAME_MAX];
        size_t size = 0;

        (void)state;
        memcpy(buf, area, sizeof(area));
        memcpy(buf + sizeof(area), auth_policy, 32);
        memcpy(buf + sizeof(area) + 32, "\x00\x22", 2);
        assert_int_equal(
                policy_nv_name(DIGEST_SHA256, 0x01800A01, 0x22040008, auth_policy, 32, 34, name, &size), 0);
        assert_int_equal(size, 34);
        assert_memory_equal(name, "\x00\x0b", 2);
        {
                uint8_t h[32];
                assert_int_equal(digest_buffer(DIGEST_SHA256, buf, sizeof(buf), h), 0);
                assert_memory_equal(name + 2, h, 32);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_command_codes_match_tss),
                cmocka_unit_test(test_policy_pcr_known_answers),
                cmocka_unit_test(test_simple_assertions_known_answers),
                cmocka_unit_test(test_policy_pcr_formula),
                cmocka_unit_test(test_or_tree_paths),
                cmocka_unit_test(test_or_tree_distinguishes_sets),
                cmocka_unit_test(test_rejects_bad_input),
                cmocka_unit_test(test_nv_name),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
