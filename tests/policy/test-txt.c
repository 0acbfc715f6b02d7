/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the txt prediction (policy/tboot/txt.c): the rules of
 * tboot 1.10.5's policy.c that the swtpm emulation does not exercise. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/tboot/txt.h"
#include "policy/tboot/vlp.h"

static struct txt_module mods[3];

static void setup_launch(struct txt_launch *l, const uint8_t *vlp, size_t vlp_size, size_t n_mods)
{
        memset(l, 0, sizeof(*l));
        l->alg = DIGEST_SHA256;
        l->vlp = vlp;
        l->vlp_size = vlp_size;
        l->modules = mods;
        l->n_modules = n_mods;
        for (size_t i = 0; i < 3; i++) {
                mods[i] = (struct txt_module){.name = "m", .cmdline = i == 0 ? "ro quiet" : NULL};
                assert_int_equal(digest_buffer(DIGEST_SHA256, &i, sizeof(i), mods[i].image_digest), 0);
        }
        memset(l->sinit_pcr17, 0x11, 32);
        memset(l->mle_digest, 0x22, 32);
}

static uint8_t *encode(struct vlp *vlp, size_t *size)
{
        uint8_t *b = NULL;
        assert_int_equal(vlp_encode(vlp, &b, size), 0);
        return b;
}

static void test_skip_filename(void **state)
{
        (void)state;
        assert_string_equal(txt_skip_filename("  /foo/bar   baz"), "baz");
        assert_string_equal(txt_skip_filename("/foo/bar"), "");
        assert_string_equal(txt_skip_filename("/vmlinuz root=/dev/sda ro"), "root=/dev/sda ro");
        assert_string_equal(txt_skip_filename(""), "");
}

/* policy_control without EXTEND_PCR17: H(ctrl || zeros), the VLP itself not
 * hashed; module 0 into 18 and again into its entry's PCR; "any" catches
 * module 1 into 19; module 2 too. */
static void test_rules(void **state)
{
        _cleanup_(vlp_freep) struct vlp *vlp = NULL;
        _cleanup_free_ uint8_t *b = NULL;
        struct txt_prediction p;
        struct txt_launch l;
        uint8_t buf[36] = {}, want[32], h0[32];
        size_t size;

        (void)state;
        assert_int_equal(vlp_new(VLP_TYPE_NONFATAL, DIGEST_SHA256, 0, &vlp), 0);
        assert_int_equal(vlp_add(vlp, 0, 20, VLP_HASH_ANY, NULL), 0);
        assert_int_equal(vlp_add(vlp, VLP_MOD_ANY, 19, VLP_HASH_ANY, NULL), 0);
        b = encode(vlp, &size);
        setup_launch(&l, b, size, 3);
        assert_int_equal(txt_predict(&l, &p), 0);

        assert_int_equal(p.n_steps, 7); /* sinit, mle, policy, m0->18, m0->20, m1->19, m2->19 */
        assert_int_equal(p.steps[2].pcr, 17);
        assert_int_equal(digest_buffer(DIGEST_SHA256, buf, sizeof(buf), want), 0);
        assert_memory_equal(p.steps[2].digest, want, 32);
        assert_int_equal(vlp_module_hash(DIGEST_SHA256, "ro quiet", mods[0].image_digest, h0), 0);
        assert_int_equal(p.steps[3].pcr, 18);
        assert_memory_equal(p.steps[3].digest, h0, 32);
        assert_int_equal(p.steps[4].pcr, 20);
        assert_memory_equal(p.steps[4].digest, h0, 32);
        assert_int_equal(p.steps[5].pcr, 19);
        assert_int_equal(p.steps[5].module, 1);
        assert_int_equal(p.steps[6].module, 2);
        assert_int_equal(p.n_unverified, 0);
        /* PCR 17 starts from SINIT's value, 18 from zero. */
        {
                struct pcr_bank m;
                assert_int_equal(pcr_bank_init(&m, DIGEST_SHA256), 0);
                assert_int_equal(pcr_bank_set(&m, 17, l.sinit_pcr17, 32), 0);
                assert_int_equal(pcr_extend(&m, 17, want, 32), 0);
                assert_memory_equal(p.bank.values[17], m.values[17], 32);
        }
        txt_prediction_done(&p);
}

/* A module without an entry is measured into 18 (module 0) only, and counts
 * as unverified; a hash the VLP does not list is unverified too. */
static void test_unverified(void **state)
{
        _cleanup_(vlp_freep) struct vlp *vlp = NULL;
        _cleanup_free_ uint8_t *b = NULL;
        struct txt_prediction p;
        struct txt_launch l;
        uint8_t other[32] = {1};
        size_t size;

        (void)state;
        assert_int_equal(vlp_new(VLP_TYPE_CONTINUE, DIGEST_SHA256, 1, &vlp), 0);
        assert_int_equal(vlp_add(vlp, 1, 19, VLP_HASH_IMAGE, other), 0);
        b = encode(vlp, &size);
        setup_launch(&l, b, size, 2);
        assert_int_equal(txt_predict(&l, &p), 0);
        assert_int_equal(p.n_unverified, 2);
        assert_int_equal(p.n_steps, 5); /* sinit, mle, policy, m0->18, m1->19 */
        assert_false(p.steps[3].verified);
        assert_false(p.steps[4].verified);
        assert_int_equal(p.vlp_type, VLP_TYPE_CONTINUE);
        txt_prediction_done(&p);
}

static void test_refusals(void **state)
{
        _cleanup_(vlp_freep) struct vlp *vlp = NULL;
        _cleanup_free_ uint8_t *b = NULL;
        struct txt_prediction p;
        struct txt_launch l;
        uint8_t junk[5] = {2, 0, 0x0b, 0, 0};
        size_t size;

        (void)state;
        assert_int_equal(vlp_new(VLP_TYPE_HALT, DIGEST_SHA256, 1, &vlp), 0);
        assert_int_equal(vlp_add_nv(vlp, true, 0x40000010, 22, NULL), 0);
        b = encode(vlp, &size);
        setup_launch(&l, b, size, 1);
        assert_int_equal(txt_predict(&l, &p), -EOPNOTSUPP); /* measure_nv not modelled */
        setup_launch(&l, junk, sizeof(junk), 1);
        assert_int_equal(txt_predict(&l, &p), -EBADMSG);
        setup_launch(&l, b, size, 0);
        assert_int_equal(txt_predict(&l, &p), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_skip_filename),
                cmocka_unit_test(test_rules),
                cmocka_unit_test(test_unverified),
                cmocka_unit_test(test_refusals),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
