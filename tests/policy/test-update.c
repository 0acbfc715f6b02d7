/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The update flow's authorization (policy/tools/update-states) on swtpm
 * (suite tpm): a secret sealed once with PolicyAuthorizeNV follows the
 * platform through predicted txt launches without ever being resealed:
 *
 *   launch A, authorize {A}            -> unseals
 *   prepare {A, B}                     -> still unseals in A
 *   "reboot" into B (DRTM emulation)   -> unseals in B
 *   commit {B}; launch A again         -> refused (old state revoked)
 *   prepare {B, C}; abort {B}; launch C -> refused; in B -> unseals
 *
 * Launch states come from txt_predict() (verified against tboot's sequence
 * in policy-drtm-emulation); PCR 14 is common to all states.
 */
#include <stdio.h>

#include "policy/tboot/txt.h"
#include "policy/tboot/vlp.h"
#include "policy/tools/update-states.h"
#include "tests/tpm/tpm-test-util.h"
#include "tvam/shared/log.h"
#include "tvam/shared/process.h"
#include "tvam/tpm/tpm-blob.h"
#include "tvam/tpm/tpm-internal.h"
#include "tvam/tpm/tpm-pcr.h"
#include "tvam/tpm/tpm-seal.h"
#include "tvam/tpm/tpm-srk.h"

#define LAUNCH_MASK ((1u << 17) | (1u << 18) | (1u << 19))
#define SINIT_DATA "SINIT stand-in"

/* Predict a launch of KERNEL (with a VLP pinning it) and an initrd. */
static void predict(const char *kernel, struct txt_prediction *ret)
{
        _cleanup_(vlp_freep) struct vlp *vlp = NULL;
        _cleanup_free_ uint8_t *bytes = NULL;
        struct txt_module mods[2] = {{.name = "kernel", .cmdline = "ro"}, {.name = "initrd", .cmdline = ""}};
        struct txt_launch l = {.alg = DIGEST_SHA256, .modules = mods, .n_modules = 2};
        uint8_t h0[32], h1[32];

        CHECK_OK(digest_buffer(DIGEST_SHA256, kernel, strlen(kernel), mods[0].image_digest));
        CHECK_OK(digest_buffer(DIGEST_SHA256, "initrd", 6, mods[1].image_digest));
        CHECK_OK(vlp_module_hash(DIGEST_SHA256, "ro", mods[0].image_digest, h0));
        CHECK_OK(vlp_module_hash(DIGEST_SHA256, "", mods[1].image_digest, h1));
        CHECK_OK(vlp_new(VLP_TYPE_HALT, DIGEST_SHA256, VLP_CONTROL_EXTEND_PCR17, &vlp));
        CHECK_OK(vlp_add(vlp, 0, VLP_PCR_NONE, VLP_HASH_IMAGE, h0));
        CHECK_OK(vlp_add(vlp, 1, 19, VLP_HASH_IMAGE, h1));
        CHECK_OK(vlp_encode(vlp, &bytes, &l.vlp_size));
        l.vlp = bytes;
        CHECK_OK(txt_sinit_pcr17_from_data(DIGEST_SHA256, SINIT_DATA, strlen(SINIT_DATA), l.sinit_pcr17));
        CHECK_OK(digest_buffer(DIGEST_SHA256, "tboot MLE", 9, l.mle_digest));
        CHECK_OK(txt_predict(&l, ret));
        CHECK(ret->n_unverified == 0);
}

/* The dynamic launch on swtpm: SINIT stand-in, then the locality-2 extends. */
static void launch(struct tpm_context *c, const struct txt_prediction *p)
{
        const char *ctrl = getenv("TVAM_TEST_SWTPM_CTRL");
        const char *argv[] = {"swtpm_ioctl", "--tcp", ctrl, "-h", SINIT_DATA, NULL};

        CHECK(ctrl);
        CHECK_OK(spawn_wait(argv, true, NULL));
        CHECK(Tss2_Tcti_SetLocality(c->tcti, 2) == TSS2_RC_SUCCESS);
        for (size_t i = 0; i < p->n_steps; i++)
                if (p->steps[i].component != TXT_COMPONENT_SINIT)
                        CHECK_OK(tpm_pcr_extend(c, p->steps[i].pcr, DIGEST_SHA256, p->steps[i].digest));
        CHECK(Tss2_Tcti_SetLocality(c->tcti, 0) == TSS2_RC_SUCCESS);
}

static void authorize(struct tpm_context *c, const struct secret *admin, const struct txt_prediction *cur,
        const struct txt_prediction *next, const struct pcr_bank *common, struct tpm_pcr_state *states,
        size_t *n, size_t want_n)
{
        const struct tpm_policy_nv nv = TPM_POLICY_NV_DEFAULT;
        uint8_t want[32], have[32];

        CHECK_OK(update_states_build(
                &cur->bank, next ? &next->bank : NULL, LAUNCH_MASK, common, 1u << 14, states, n));
        CHECK(*n == want_n);
        CHECK_OK(update_states_authorize(c, &nv, admin, states, *n));
        CHECK_OK(update_states_digest(states, *n, want));
        CHECK_OK(tpm_policy_nv_read_digest(c, &nv, have));
        CHECK(memcmp(want, have, 32) == 0);
}

static int unseal(struct tpm_context *c, const struct tpm_blob *blob, const struct tpm_pcr_state *states,
        size_t n, const struct secret *secret)
{
        _cleanup_secret_ struct secret *out = NULL;
        struct tpm_unseal_diag diag;
        int r = tpm_unseal(c, blob, states, n, &diag, &out);
        if (r == 0)
                CHECK(secret_equal(out, secret));
        else
                printf("  unseal refused: %s\n", diag.message);
        return r;
}

int main(void)
{
        _cleanup_tpm_context_ struct tpm_context *c = test_tpm_open();
        _cleanup_secret_ struct secret *admin = test_secret("admin secret"), *wrong = test_secret("not it");
        _cleanup_secret_ struct secret *secret = NULL;
        _cleanup_tpm_blob_ struct tpm_blob *blob = NULL;
        const struct tpm_policy_nv nv = TPM_POLICY_NV_DEFAULT;
        struct txt_prediction a, b, cc;
        struct tpm_pcr_state states[2];
        struct pcr_bank common;
        uint8_t d[32], before[32], after[32];
        size_t n;

        log_parse_environment();
        if (!getenv("TVAM_TEST_SWTPM_CTRL") || access("/usr/bin/swtpm_ioctl", X_OK) < 0)
                return fprintf(stderr, "swtpm_ioctl or TVAM_TEST_SWTPM_CTRL missing\n"), EXIT_SKIP;
        predict("kernel A", &a);
        predict("kernel B", &b);
        predict("kernel C", &cc);

        CHECK_OK(tpm_srk_provision(c, NULL));
        CHECK_OK(tpm_policy_nv_provision(c, &nv, admin, NULL));
        CHECK_OK(digest_buffer(DIGEST_SHA256, "base-1", 6, d));
        CHECK_OK(tpm_pcr_extend(c, 14, DIGEST_SHA256, d)); /* the base image, same in every state */
        CHECK_OK(tpm_pcr_read(c, DIGEST_SHA256, 1u << 14, &common));
        CHECK_OK(secret_new_random(32, &secret));
        CHECK_OK(tpm_seal_authorize_nv(c, secret, &nv, &blob));

        printf("launch A, authorize {A}\n");
        launch(c, &a);
        authorize(c, admin, &a, NULL, &common, states, &n, 1);
        CHECK_OK(unseal(c, blob, states, n, secret));

        printf("prepare {A, B}\n");
        authorize(c, admin, &a, &b, &common, states, &n, 2);
        CHECK_OK(unseal(c, blob, states, n, secret));
        printf("reboot into B\n");
        launch(c, &b);
        CHECK_OK(unseal(c, blob, states, n, secret));

        printf("commit {B}; boot A again\n");
        authorize(c, admin, &b, NULL, &common, states, &n, 1);
        CHECK_OK(unseal(c, blob, states, n, secret));
        launch(c, &a);
        CHECK_R(unseal(c, blob, states, n, secret), -EPERM);

        printf("prepare {B, C}; abort {B}\n");
        launch(c, &b);
        authorize(c, admin, &b, &cc, &common, states, &n, 2);
        authorize(c, admin, &b, NULL, &common, states, &n, 1);
        launch(c, &cc);
        CHECK_R(unseal(c, blob, states, n, secret), -EPERM);
        launch(c, &b);
        CHECK_OK(unseal(c, blob, states, n, secret));

        printf("a wrong admin secret changes nothing; an unchanged launch is one state\n");
        CHECK_OK(tpm_policy_nv_read_digest(c, &nv, before));
        CHECK_OK(update_states_build(&b.bank, &cc.bank, LAUNCH_MASK, &common, 1u << 14, states, &n));
        CHECK_R(update_states_authorize(c, &nv, wrong, states, n), -EACCES);
        CHECK_OK(tpm_policy_nv_read_digest(c, &nv, after));
        CHECK(memcmp(before, after, 32) == 0);
        CHECK_OK(update_states_build(&b.bank, &b.bank, LAUNCH_MASK, &common, 1u << 14, states, &n));
        CHECK(n == 1);
        CHECK_R(update_states_build(&b.bank, NULL, LAUNCH_MASK, &common, LAUNCH_MASK, states, &n), -EINVAL);

        txt_prediction_done(&a);
        txt_prediction_done(&b);
        txt_prediction_done(&cc);
        printf("PASS: update prepare/commit/abort through PolicyAuthorizeNV without resealing\n");
        return 0;
}
