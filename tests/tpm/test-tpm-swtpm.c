/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Integration tests of tvam/tpm against a fresh swtpm (suite "tpm").  Each
 * case is its own meson test under tests/lib/with-swtpm:
 *   test-tpm-swtpm CASE
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/tpm/tpm-test-util.h"

#include "policy/pcr/policy.h"
#include "tvam/shared/log.h"
#include "tvam/tpm/tpm-blob.h"
#include "tvam/tpm/tpm-internal.h"
#include "tvam/tpm/tpm-nv.h"
#include "tvam/tpm/tpm-pcr.h"
#include "tvam/tpm/tpm-policy-nv.h"
#include "tvam/tpm/tpm-seal.h"
#include "tvam/tpm/tpm-srk.h"

#define PCR_TEST UINT32_C(16) /* debug PCR: resettable, extendable at locality 0 */

static void extend_data(struct tpm_context *c, unsigned pcr, const char *what)
{
        uint8_t d[32];
        CHECK_OK(digest_buffer(DIGEST_SHA256, what, strlen(what), d));
        CHECK_OK(tpm_pcr_extend(c, pcr, DIGEST_SHA256, d));
}

static struct tpm_blob *roundtrip(const struct tpm_blob *b)
{
        _cleanup_free_ uint8_t *bytes = NULL;
        struct tpm_blob *back = NULL;
        size_t n = 0;

        CHECK_OK(tpm_blob_serialize(b, &bytes, &n));
        CHECK_OK(tpm_blob_parse(bytes, n, &back));
        return back;
}

/* SRK: created once, found (and verified) afterwards; PCR model == TPM. */
static int case_srk_pcr(void)
{
        _cleanup_tpm_context_ struct tpm_context *c = test_tpm_open();
        const enum digest_alg algs[] = {DIGEST_SHA1, DIGEST_SHA256, DIGEST_SHA384};
        unsigned banks = 0;

        /* Someone else's key at 0x81000001 (an ECC storage key without
         * noDA): refused, and left in place. */
        {
                _cleanup_tpm_context_ struct tpm_context *c2 = test_tpm_open();
                const TPM2B_SENSITIVE_CREATE sens = {};
                const TPM2B_DATA outside = {};
                const TPML_PCR_SELECTION none = {};
                TPM2B_PUBLIC tmpl = {
                        .publicArea =
                                {
                                        .type = TPM2_ALG_ECC,
                                        .nameAlg = TPM2_ALG_SHA256,
                                        .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                                            TPMA_OBJECT_SENSITIVEDATAORIGIN |
                                                            TPMA_OBJECT_USERWITHAUTH |
                                                            TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
                                        .parameters.eccDetail =
                                                {
                                                        .symmetric = {.algorithm = TPM2_ALG_AES,
                                                                .keyBits.aes = 128,
                                                                .mode.aes = TPM2_ALG_CFB},
                                                        .scheme.scheme = TPM2_ALG_NULL,
                                                        .curveID = TPM2_ECC_NIST_P256,
                                                        .kdf.scheme = TPM2_ALG_NULL,
                                                },
                                },
                };
                ESYS_TR other = ESYS_TR_NONE, persistent = ESYS_TR_NONE;

                CHECK(Esys_CreatePrimary(c2->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                              ESYS_TR_NONE, &sens, &tmpl, &outside, &none, &other, NULL, NULL, NULL,
                              NULL) == TSS2_RC_SUCCESS);
                CHECK(Esys_EvictControl(c2->esys, ESYS_TR_RH_OWNER, other, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                              ESYS_TR_NONE, TPM_SRK_HANDLE, &persistent) == TSS2_RC_SUCCESS);
                tpm_flush(c2, &other);
                CHECK_R(tpm_srk_provision(c, NULL), -EEXIST);
                CHECK_R(tpm_srk_provision(c, NULL), -EEXIST);
                /* still there (ESAPI hands out one ESYS_TR per handle: re-fetch it) */
                CHECK_OK(tpm_tr_from_handle(c2, TPM_SRK_HANDLE, &persistent));
                /* the owner removes it */
                CHECK(Esys_EvictControl(c2->esys, ESYS_TR_RH_OWNER, persistent, ESYS_TR_PASSWORD,
                              ESYS_TR_NONE, ESYS_TR_NONE, TPM_SRK_HANDLE, &other) == TSS2_RC_SUCCESS);
        }

        CHECK_OK(tpm_srk_provision(c, NULL));
        CHECK_OK(tpm_srk_provision(c, NULL));
        {
                _cleanup_tpm_context_ struct tpm_context *c2 = test_tpm_open();
                CHECK_OK(tpm_srk_provision(c2, NULL)); /* found, verified, not recreated */
        }

        for (size_t i = 0; i < ELEMENTSOF(algs); i++) {
                struct pcr_bank model, tpm;
                uint8_t d[DIGEST_MAX_SIZE];
                int avail = tpm_pcr_bank_available(c, algs[i]);

                CHECK(avail >= 0);
                if (!avail) {
                        printf("bank %s not allocated, skipped\n", digest_alg_to_string(algs[i]));
                        continue;
                }
                banks++;
                CHECK_OK(tpm_pcr_read(c, algs[i], PCR_MASK_ALL, &model));
                for (unsigned k = 0; k < 3; k++) {
                        test_random(d, digest_size(algs[i]));
                        CHECK_OK(tpm_pcr_extend(c, PCR_TEST, algs[i], d));
                        CHECK_OK(pcr_extend(&model, PCR_TEST, d, digest_size(algs[i])));
                }
                CHECK_OK(tpm_pcr_read(c, algs[i], PCR_MASK_ALL, &tpm));
                CHECK(memcmp(&model, &tpm, sizeof(model)) == 0);
                printf("bank %s: 24 PCRs read, 3 extends match the model\n", digest_alg_to_string(algs[i]));
        }
        CHECK(banks >= 1);
        return 0;
}

/* Done-when 1: seal to current PCRs, unseal; extend one PCR → -EPERM naming it. */
static int case_seal_current(void)
{
        _cleanup_tpm_context_ struct tpm_context *c = test_tpm_open();
        _cleanup_secret_ struct secret *secret = NULL, *out = NULL, *big = NULL;
        _cleanup_tpm_blob_ struct tpm_blob *blob = NULL, *back = NULL;
        const uint32_t mask = (1u << 0) | (1u << 7) | (1u << PCR_TEST);
        struct tpm_unseal_diag diag;
        struct pcr_bank now;

        CHECK_OK(tpm_srk_provision(c, NULL));
        CHECK_OK(secret_new_random(32, &secret));
        CHECK_OK(tpm_pcr_read(c, DIGEST_SHA256, mask, &now));
        CHECK_OK(tpm_seal_pcr(c, secret, &now, mask, &blob));
        back = roundtrip(blob);

        CHECK_OK(tpm_unseal(c, back, NULL, 0, &diag, &out));
        CHECK(secret_equal(out, secret));
        secret_free(TAKE_PTR(out));

        /* A tampered private part is refused by the TPM's integrity check
         * (TPM2_Load: TPM_RC_INTEGRITY), a tampered public part too. */
        {
                struct tpm_blob evil = *back;
                struct secret *none = NULL;

                evil.private_area[evil.private_size - 5] ^= 0x01;
                CHECK_R(tpm_unseal(c, &evil, NULL, 0, &diag, &none), -EBADMSG);
                evil = *back;
                evil.public_area[evil.public_size - 1] ^= 0x01; /* unique field */
                CHECK(tpm_unseal(c, &evil, NULL, 0, &diag, &none) < 0);
                CHECK(none == NULL);
        }

        /* 64 bytes is the limit. */
        CHECK_OK(secret_new_random(65, &big));
        CHECK_R(tpm_seal_pcr(c, big, &now, mask, &blob), -EINVAL);

        extend_data(c, PCR_TEST, "tamper");
        CHECK_R(tpm_unseal(c, back, NULL, 0, &diag, &out), -EPERM);
        CHECK(out == NULL);
        CHECK(diag.pcr_differ == (1u << PCR_TEST));
        printf("refused as expected: %s\n", diag.message);
        CHECK(strstr(diag.message, "PCR 16 differs") != NULL);
        return 0;
}

/* Done-when 2: seal to values predicted from an event list, then make them real. */
static int case_seal_predicted(void)
{
        _cleanup_tpm_context_ struct tpm_context *c = test_tpm_open();
        _cleanup_secret_ struct secret *secret = NULL, *out = NULL;
        _cleanup_tpm_blob_ struct tpm_blob *blob = NULL;
        const uint32_t mask = (1u << 10) | (1u << PCR_TEST) | (1u << 23);
        static const struct {
                unsigned pcr;
                const char *data;
        } log[] = {
                {10, "base-7 squashfs"},
                {16, "kernel"},
                {23, "initrd"},
                {16, "cmdline"},
                {10, "app"},
        };
        struct pcr_event events[ELEMENTSOF(log)];
        struct pcr_bank predicted, now;
        struct tpm_unseal_diag diag;

        CHECK_OK(tpm_srk_provision(c, NULL));
        CHECK_OK(secret_new_random(64, &secret));
        CHECK_OK(tpm_pcr_read(c, DIGEST_SHA256, mask, &predicted));
        for (size_t i = 0; i < ELEMENTSOF(log); i++) {
                events[i].pcr = log[i].pcr;
                CHECK_OK(digest_buffer(DIGEST_SHA256, log[i].data, strlen(log[i].data), events[i].digest));
        }
        CHECK_OK(pcr_replay(&predicted, events, ELEMENTSOF(events)));
        CHECK_OK(tpm_seal_pcr(c, secret, &predicted, mask, &blob));

        /* Not yet in that state: refused, and all three PCRs are named. */
        CHECK_R(tpm_unseal(c, blob, NULL, 0, &diag, &out), -EPERM);
        CHECK(diag.pcr_differ == mask);
        printf("before the extends: %s\n", diag.message);

        for (size_t i = 0; i < ELEMENTSOF(events); i++) {
                CHECK_OK(tpm_pcr_extend(c, events[i].pcr, DIGEST_SHA256, events[i].digest));
                if (i + 1 < ELEMENTSOF(events)) /* a partial replay is not enough */
                        CHECK_R(tpm_unseal(c, blob, NULL, 0, NULL, &out), -EPERM);
        }
        CHECK_OK(tpm_pcr_read(c, DIGEST_SHA256, mask, &now));
        for (unsigned i = 0; i < PCR_COUNT; i++)
                if (mask & (1u << i))
                        CHECK(memcmp(now.values[i], predicted.values[i], 32) == 0);
        CHECK_OK(tpm_unseal(c, blob, NULL, 0, &diag, &out));
        CHECK(secret_equal(out, secret));
        return 0;
}

static void state_from_tpm(struct tpm_context *c, uint32_t mask, struct tpm_pcr_state *ret)
{
        ret->mask = mask;
        CHECK_OK(tpm_pcr_read(c, DIGEST_SHA256, mask, &ret->pcrs));
}

/* Done-when 3: PolicyAuthorizeNV — authorize A, revoke for B, wrong admin refused. */
static int case_authorize_nv(void)
{
        _cleanup_tpm_context_ struct tpm_context *c = test_tpm_open();
        _cleanup_secret_ struct secret *secret = NULL, *out = NULL, *admin = NULL, *wrong = NULL;
        _cleanup_tpm_blob_ struct tpm_blob *blob = NULL;
        const struct tpm_policy_nv nv = TPM_POLICY_NV_DEFAULT;
        const uint32_t mask = (1u << 7) | (1u << PCR_TEST);
        struct tpm_pcr_state a, b, many[12];
        struct tpm_unseal_diag diag;
        uint8_t before[32], after[32], d[32];

        admin = test_secret("correct horse battery staple");
        wrong = test_secret("correct horse battery stapler");
        CHECK_OK(tpm_srk_provision(c, NULL));
        /* The admin index is DA-protected and libtpms allows only 3 failures
         * by default; this test makes 3 deliberate ones. */
        CHECK(Esys_DictionaryAttackParameters(c->esys, ESYS_TR_RH_LOCKOUT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                      ESYS_TR_NONE, 10, 1000, 1000) == TSS2_RC_SUCCESS);
        CHECK_OK(tpm_policy_nv_provision(c, &nv, admin, NULL));
        CHECK_OK(tpm_policy_nv_provision(c, &nv, admin, NULL)); /* idempotent */

        state_from_tpm(c, mask, &a);
        b = a;
        CHECK_OK(digest_buffer(DIGEST_SHA256, "update", 6, d));
        CHECK_OK(pcr_extend(&b.pcrs, PCR_TEST, d, 32));

        CHECK_OK(secret_new_random(32, &secret));
        CHECK_OK(tpm_seal_authorize_nv(c, secret, &nv, &blob));

        /* Freshly provisioned: no state is authorized yet. */
        CHECK_R(tpm_unseal(c, blob, &a, 1, &diag, &out), -EPERM);
        printf("before any authorization: %s\n", diag.message);

        CHECK_OK(tpm_policy_nv_authorize(c, &nv, admin, &a, 1));
        CHECK_OK(tpm_unseal(c, blob, &a, 1, &diag, &out));
        CHECK(secret_equal(out, secret));
        secret_free(TAKE_PTR(out));

        /* A nested PolicyOR (12 branches > 8) containing A also works. */
        for (size_t i = 0; i < ELEMENTSOF(many); i++) {
                many[i] = a;
                CHECK_OK(pcr_extend_data(&many[i].pcrs, PCR_TEST, &i, sizeof(i)));
        }
        many[9] = a;
        CHECK_OK(tpm_policy_nv_authorize(c, &nv, admin, many, ELEMENTSOF(many)));
        CHECK_OK(tpm_unseal(c, blob, many, ELEMENTSOF(many), &diag, &out));
        CHECK(secret_equal(out, secret));
        secret_free(TAKE_PTR(out));
        CHECK_OK(tpm_policy_nv_authorize(c, &nv, admin, &a, 1));

        /* The wrong admin secret is refused and changes nothing. */
        CHECK_OK(tpm_policy_nv_read_digest(c, &nv, before));
        CHECK_R(tpm_policy_nv_authorize(c, &nv, wrong, &b, 1), -EACCES);
        CHECK_OK(tpm_policy_nv_read_digest(c, &nv, after));
        CHECK(memcmp(before, after, 32) == 0);
        CHECK_OK(tpm_unseal(c, blob, &a, 1, &diag, &out));
        secret_free(TAKE_PTR(out));
        /* Writing the index directly with its (empty) authValue is refused too. */
        CHECK(tpm_nv_write(c, nv.policy_index, TPM_NV_AUTH_INDEX, NULL, "\0\x0b", 2) < 0);
        CHECK(tpm_nv_write(c, nv.policy_index, TPM_NV_AUTH_OWNER, NULL, "\0\x0b", 2) < 0);
        CHECK_OK(tpm_policy_nv_read_digest(c, &nv, after));
        CHECK(memcmp(before, after, 32) == 0);

        /* Authorize B only: A is revoked. */
        CHECK_OK(tpm_policy_nv_authorize(c, &nv, admin, &b, 1));
        /* ... with the old state list, the TPM itself refuses (PolicyAuthorizeNV) */
        CHECK_R(tpm_unseal(c, blob, &a, 1, &diag, &out), -EPERM);
        printf("A after revocation: %s\n", diag.message);
        CHECK(strstr(diag.message, "does not authorize the current state") != NULL);
        /* ... with the new list, A is no allowed state */
        CHECK_R(tpm_unseal(c, blob, &b, 1, &diag, &out), -EPERM);
        printf("A against list {B}: %s\n", diag.message);
        CHECK(diag.pcr_differ == (1u << PCR_TEST));

        CHECK_OK(tpm_pcr_extend(c, PCR_TEST, DIGEST_SHA256, d));
        CHECK_OK(tpm_unseal(c, blob, &b, 1, &diag, &out));
        CHECK(secret_equal(out, secret));
        secret_free(TAKE_PTR(out));

        /* The admin rotates the secret: old refused, new accepted, blob still fine. */
        {
                _cleanup_secret_ struct secret *admin2 = test_secret("new admin secret");
                uint8_t name_before[POLICY_NAME_MAX], name_after[POLICY_NAME_MAX];
                size_t nb = 0, na = 0;

                CHECK_OK(tpm_nv_read_public(c, nv.admin_index, NULL, NULL, NULL, NULL, name_before, &nb));
                CHECK_R(tpm_policy_nv_change_admin(c, &nv, wrong, admin2), -EACCES);
                CHECK_OK(tpm_policy_nv_change_admin(c, &nv, admin, admin2));
                CHECK_OK(tpm_nv_read_public(c, nv.admin_index, NULL, NULL, NULL, NULL, name_after, &na));
                CHECK(nb == na && memcmp(name_before, name_after, na) == 0);
                CHECK_R(tpm_policy_nv_authorize(c, &nv, admin, &b, 1), -EACCES);
                CHECK_OK(tpm_policy_nv_authorize(c, &nv, admin2, &b, 1));
                CHECK_OK(tpm_unseal(c, blob, &b, 1, &diag, &out));
                CHECK(secret_equal(out, secret));
                secret_free(TAKE_PTR(out));
        }

        /* The TPM's Name of the policy index equals the software model's. */
        {
                uint8_t name[POLICY_NAME_MAX], soft[POLICY_NAME_MAX], pol[DIGEST_MAX_SIZE];
                size_t name_size = 0, soft_size = 0, pol_size = 0;
                uint32_t attrs = 0;
                uint16_t size = 0;

                CHECK_OK(tpm_nv_read_public(
                        c, nv.policy_index, &attrs, &size, pol, &pol_size, name, &name_size));
                CHECK_OK(policy_nv_name(
                        DIGEST_SHA256, nv.policy_index, attrs, pol, pol_size, size, soft, &soft_size));
                CHECK(name_size == soft_size && memcmp(name, soft, name_size) == 0);
        }

        CHECK_OK(tpm_policy_nv_remove(c, &nv, NULL));
        CHECK_R(tpm_unseal(c, blob, &b, 1, &diag, &out), -ENOENT);
        return 0;
}

static void trial_start(struct tpm_context *c, ESYS_TR *s)
{
        CHECK_OK(tpm_policy_session_start(c, true, false, s));
}

static void trial_pcr(
        struct tpm_context *c, ESYS_TR s, enum digest_alg alg, uint32_t mask, const uint8_t *pcr_digest)
{
        TPM2B_DIGEST d = {};
        TPML_PCR_SELECTION sel = {.count = 1};

        if (pcr_digest) {
                d.size = 32;
                memcpy(d.buffer, pcr_digest, 32);
        }
        sel.pcrSelections[0].hash = (TPMI_ALG_HASH)alg;
        sel.pcrSelections[0].sizeofSelect = 3;
        sel.pcrSelections[0].pcrSelect[0] = (uint8_t)mask;
        sel.pcrSelections[0].pcrSelect[1] = (uint8_t)(mask >> 8);
        sel.pcrSelections[0].pcrSelect[2] = (uint8_t)(mask >> 16);
        CHECK(Esys_PolicyPCR(c->esys, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &d, &sel) ==
                TSS2_RC_SUCCESS);
}

static void trial_or(struct tpm_context *c, ESYS_TR s, const uint8_t *digests, size_t n)
{
        TPML_DIGEST list = {.count = (UINT32)n};
        for (size_t k = 0; k < n; k++) {
                list.digests[k].size = 32;
                memcpy(list.digests[k].buffer, digests + 32 * k, 32);
        }
        CHECK(Esys_PolicyOR(c->esys, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &list) == TSS2_RC_SUCCESS);
}

static void check_digest(struct tpm_context *c, ESYS_TR s, const struct policy *p, const char *what)
{
        uint8_t tpm[32];
        CHECK_OK(tpm_policy_session_digest(c, s, tpm));
        if (memcmp(tpm, p->digest, 32) != 0) {
                fprintf(stderr, "%s: software policy digest differs from the TPM's trial digest\n", what);
                exit(EXIT_FAILURE);
        }
}

static uint32_t random_mask(void)
{
        uint32_t m = 0;
        while ((m & PCR_MASK_ALL) == 0)
                test_random(&m, sizeof(m));
        return m & PCR_MASK_ALL;
}

/* Done-when 4 (TPM part): software digests == trial-session digests. */
static int case_trial_digests(void)
{
        _cleanup_tpm_context_ struct tpm_context *c = test_tpm_open();
        _cleanup_secret_ struct secret *admin = test_secret("admin");
        const struct tpm_policy_nv nv = TPM_POLICY_NV_DEFAULT;
        int sha1 = tpm_pcr_bank_available(c, DIGEST_SHA1);
        unsigned n_checked = 0;

        CHECK(sha1 >= 0);
        CHECK_OK(tpm_srk_provision(c, NULL));

        /* ≥ 20 random PCR sets with random (predicted) values, and present values. */
        for (unsigned iter = 0; iter < 25; iter++) {
                enum digest_alg bank = (sha1 && iter % 5 == 4) ? DIGEST_SHA1 : DIGEST_SHA256;
                uint32_t mask = random_mask();
                struct pcr_bank predicted, present;
                uint8_t composite[32];
                struct policy p;
                ESYS_TR s = ESYS_TR_NONE;

                CHECK_OK(pcr_bank_init(&predicted, bank));
                for (unsigned i = 0; i < PCR_COUNT; i++)
                        test_random(predicted.values[i], digest_size(bank));
                CHECK_OK(pcr_composite_digest(&predicted, mask, DIGEST_SHA256, composite));
                CHECK_OK(policy_init(&p, DIGEST_SHA256));
                CHECK_OK(policy_pcr_bank(&p, &predicted, mask));
                trial_start(c, &s);
                trial_pcr(c, s, bank, mask, composite);
                check_digest(c, s, &p, "PolicyPCR(predicted)");
                tpm_flush(c, &s);

                /* Present values: the TPM hashes its own PCRs. */
                extend_data(c, PCR_TEST, "trial");
                CHECK_OK(tpm_pcr_read(c, bank, mask, &present));
                CHECK_OK(policy_init(&p, DIGEST_SHA256));
                CHECK_OK(policy_pcr_bank(&p, &present, mask));
                trial_start(c, &s);
                trial_pcr(c, s, bank, mask, NULL);
                check_digest(c, s, &p, "PolicyPCR(present)");
                tpm_flush(c, &s);
                n_checked += 2;
        }

        /* PolicyOR with 2..8 digests, one of them the session's current digest. */
        for (unsigned iter = 0; iter < 12; iter++) {
                {
                        struct policy p;
                        ESYS_TR s = ESYS_TR_NONE;
                        size_t m = 2 + iter % 7;
                        struct pcr_bank v;
                        uint8_t list[8 * 32], composite[32];

                        CHECK_OK(pcr_bank_init(&v, DIGEST_SHA256));
                        test_random(v.values[5], 32);
                        CHECK_OK(policy_init(&p, DIGEST_SHA256));
                        CHECK_OK(policy_pcr_bank(&p, &v, 1u << 5));
                        test_random(list, sizeof(list));
                        memcpy(list + 32 * (iter % m), p.digest, 32);
                        CHECK_OK(policy_or(&p, list, m));
                        CHECK_OK(pcr_composite_digest(&v, 1u << 5, DIGEST_SHA256, composite));
                        trial_start(c, &s);
                        trial_pcr(c, s, DIGEST_SHA256, 1u << 5, composite);
                        trial_or(c, s, list, m);
                        check_digest(c, s, &p, "PolicyOR");
                        tpm_flush(c, &s);
                        n_checked++;
                }
        }

        /* Nested OR: 20 branches of PolicyPCR(pcr 3 = value k); walk every path. */
        {
                const size_t n = 20;
                uint8_t values[20][32], branches[20 * 32], root[32];

                for (size_t k = 0; k < n; k++) {
                        struct pcr_bank v;
                        struct policy p;
                        CHECK_OK(pcr_bank_init(&v, DIGEST_SHA256));
                        test_random(values[k], 32);
                        memcpy(v.values[3], values[k], 32);
                        CHECK_OK(policy_init(&p, DIGEST_SHA256));
                        CHECK_OK(policy_pcr_bank(&p, &v, 1u << 3));
                        memcpy(branches + 32 * k, p.digest, 32);
                }
                for (size_t k = 0; k < n; k++) {
                        struct policy_or_step steps[POLICY_OR_DEPTH_MAX];
                        size_t n_steps = 0;
                        struct pcr_bank v;
                        struct policy p;
                        uint8_t composite[32];
                        ESYS_TR s = ESYS_TR_NONE;

                        CHECK_OK(policy_or_tree(DIGEST_SHA256, branches, n, k, steps, &n_steps, root));
                        CHECK(n_steps == 2);
                        CHECK_OK(pcr_bank_init(&v, DIGEST_SHA256));
                        memcpy(v.values[3], values[k], 32);
                        CHECK_OK(pcr_composite_digest(&v, 1u << 3, DIGEST_SHA256, composite));
                        trial_start(c, &s);
                        trial_pcr(c, s, DIGEST_SHA256, 1u << 3, composite);
                        for (size_t st = 0; st < n_steps; st++)
                                trial_or(c, s, steps[st].digests, steps[st].n);
                        CHECK_OK(policy_init(&p, DIGEST_SHA256));
                        memcpy(p.digest, root, 32);
                        check_digest(c, s, &p, "nested PolicyOR");
                        tpm_flush(c, &s);
                        n_checked++;
                }
        }

        /* PolicyAuthValue, PolicyCommandCode, PolicySecret, PolicyAuthorizeNV. */
        CHECK_OK(tpm_policy_nv_provision(c, &nv, admin, NULL));
        {
                uint8_t admin_name[POLICY_NAME_MAX], nv_name[POLICY_NAME_MAX];
                size_t admin_name_size = 0, nv_name_size = 0;
                const TPM2B_NONCE empty = {};
                const TPM2B_DIGEST no_cp = {};
                ESYS_TR s = ESYS_TR_NONE, admin_tr = ESYS_TR_NONE, nv_tr = ESYS_TR_NONE;
                struct policy p;

                CHECK_OK(tpm_nv_read_public(
                        c, nv.admin_index, NULL, NULL, NULL, NULL, admin_name, &admin_name_size));
                CHECK_OK(tpm_nv_read_public(
                        c, nv.policy_index, NULL, NULL, NULL, NULL, nv_name, &nv_name_size));

                CHECK_OK(policy_init(&p, DIGEST_SHA256));
                CHECK_OK(policy_auth_value(&p));
                CHECK_OK(policy_command_code(&p, POLICY_CC_NV_WRITE));
                CHECK_OK(policy_secret(&p, admin_name, admin_name_size, NULL, 0));
                trial_start(c, &s);
                CHECK(Esys_PolicyAuthValue(c->esys, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE) ==
                        TSS2_RC_SUCCESS);
                CHECK(Esys_PolicyCommandCode(c->esys, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                              TPM2_CC_NV_Write) == TSS2_RC_SUCCESS);
                CHECK_OK(tpm_tr_from_handle(c, nv.admin_index, &admin_tr));
                CHECK_OK(tpm_tr_set_auth(c, admin_tr, admin));
                CHECK(Esys_PolicySecret(c->esys, admin_tr, s, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                              &empty, &no_cp, &empty, 0, NULL, NULL) == TSS2_RC_SUCCESS);
                check_digest(c, s, &p, "AuthValue+CommandCode+Secret");
                tpm_flush(c, &s);

                CHECK_OK(policy_init(&p, DIGEST_SHA256));
                CHECK_OK(policy_authorize_nv(&p, nv_name, nv_name_size));
                trial_start(c, &s);
                CHECK_OK(tpm_tr_from_handle(c, nv.policy_index, &nv_tr));
                CHECK(Esys_PolicyAuthorizeNV(c->esys, nv_tr, nv_tr, s, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                              ESYS_TR_NONE) == TSS2_RC_SUCCESS);
                check_digest(c, s, &p, "PolicyAuthorizeNV");
                tpm_flush(c, &s);
                tpm_tr_close(c, &admin_tr);
                tpm_tr_close(c, &nv_tr);
                n_checked += 2;
        }
        printf("%u policy digests equal the TPM's trial-session digests\n", n_checked);
        return 0;
}

/* Done-when 6: DA lockout → -ENOLCK, distinct from bad auth (-EACCES). */
static int case_lockout(void)
{
        _cleanup_tpm_context_ struct tpm_context *c = test_tpm_open();
        _cleanup_secret_ struct secret *right = test_secret("right"), *wrong = test_secret("wrong");
        _cleanup_secret_ struct secret *secret = NULL, *out = NULL;
        _cleanup_tpm_blob_ struct tpm_blob *blob = NULL;
        const struct tpm_nv_spec spec = {
                .index = 0x01800B01,
                .attributes = TPM_NV_ATTR_AUTHWRITE | TPM_NV_ATTR_AUTHREAD, /* DA-protected */
                .size = 8,
        };
        _cleanup_free_ uint8_t *data = NULL;
        struct pcr_bank now;
        size_t size = 0;
        int r;

        CHECK_OK(tpm_srk_provision(c, NULL));
        /* Make lockout quick: 2 tries (Part 3 §25.3 TPM2_DictionaryAttackParameters). */
        CHECK(Esys_DictionaryAttackParameters(c->esys, ESYS_TR_RH_LOCKOUT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                      ESYS_TR_NONE, 2, 1000, 1000) == TSS2_RC_SUCCESS);
        CHECK_OK(tpm_nv_define(c, &spec, right, NULL));
        CHECK_OK(tpm_nv_write(c, spec.index, TPM_NV_AUTH_INDEX, right, "lockout!", 8));
        CHECK_OK(tpm_nv_read(c, spec.index, TPM_NV_AUTH_INDEX, right, &data, &size));
        CHECK(size == 8 && memcmp(data, "lockout!", 8) == 0);

        CHECK_OK(tpm_pcr_read(c, DIGEST_SHA256, 1u << 7, &now));
        CHECK_OK(secret_new_random(16, &secret));
        CHECK_OK(tpm_seal_pcr(c, secret, &now, 1u << 7, &blob));

        CHECK_R(tpm_nv_read(c, spec.index, TPM_NV_AUTH_INDEX, wrong, &data, &size), -EACCES);
        for (int i = 0; i < 4; i++) {
                r = tpm_nv_read(c, spec.index, TPM_NV_AUTH_INDEX, wrong, &data, &size);
                if (r == -ENOLCK)
                        break;
                CHECK_R(r, -EACCES);
        }
        CHECK_R(r, -ENOLCK);
        /* In lockout even the right secret is refused, with the lockout error. */
        CHECK_R(tpm_nv_read(c, spec.index, TPM_NV_AUTH_INDEX, right, &data, &size), -ENOLCK);
        printf("DA lockout: %s; bad auth: %s\n", strerror(ENOLCK), strerror(EACCES));
        /* Sealed objects are NODA and policy-only: unaffected by lockout. */
        CHECK_OK(tpm_unseal(c, blob, NULL, 0, NULL, &out));
        CHECK(secret_equal(out, secret));
        return 0;
}

/* Done-when 6: no TPM → -ENODEV (not -EACCES, -ENOLCK or -EIO). */
static int case_missing_tpm(void)
{
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(sa);
        struct tpm_context *c = NULL;
        char tcti[128];
        int fd;

        /* A loopback port nobody listens on: bind to 0, note it, close. */
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        CHECK(fd >= 0);
        CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
        CHECK(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
        close(fd);
        snprintf(tcti, sizeof(tcti), "swtpm:host=127.0.0.1,port=%u", ntohs(sa.sin_port));

        CHECK_R(tpm_context_new(tcti, &c), -ENODEV);
        CHECK_R(tpm_context_new("device:/nonexistent/tpmrm0", &c), -ENODEV);
        CHECK_R(tpm_context_new("no-such-tcti-library", &c), -ENODEV);
        CHECK(c == NULL);
        printf("missing TPM: %s (DA lockout would be: %s)\n", strerror(ENODEV), strerror(ENOLCK));
        return 0;
}

/* NV helpers with tboot's access pattern: owner writes, anyone reads with
 * the empty authValue; chunking beyond 512 bytes; refusals. */
static int case_nv(void)
{
        _cleanup_tpm_context_ struct tpm_context *c = test_tpm_open();
        _cleanup_secret_ struct secret *some = test_secret("some auth");
        const struct tpm_nv_spec spec = {
                .index = 0x01200001, /* tboot's VLP index on TPM 2.0 */
                .attributes = TPM_NV_ATTR_OWNERWRITE | TPM_NV_ATTR_AUTHREAD | TPM_NV_ATTR_NO_DA,
                .size = 1300,
        };
        _cleanup_free_ uint8_t *back = NULL;
        uint8_t data[1300];
        uint32_t attrs = 0;
        uint16_t size = 0;
        size_t n = 0;

        test_random(data, sizeof(data));
        CHECK_OK(tpm_nv_define(c, &spec, NULL, NULL));
        CHECK_R(tpm_nv_define(c, &spec, NULL, NULL), -EEXIST);
        /* never written: reading is refused as "no data" */
        CHECK_R(tpm_nv_read(c, spec.index, TPM_NV_AUTH_INDEX, NULL, &back, &n), -ENOENT);
        /* OWNERWRITE only: the index's own (empty) authValue cannot write */
        CHECK_R(tpm_nv_write(c, spec.index, TPM_NV_AUTH_INDEX, NULL, data, sizeof(data)), -EACCES);
        CHECK_OK(tpm_nv_write(c, spec.index, TPM_NV_AUTH_OWNER, NULL, data, sizeof(data)));
        CHECK_OK(tpm_nv_read(c, spec.index, TPM_NV_AUTH_INDEX, NULL, &back, &n));
        CHECK(n == sizeof(data) && memcmp(back, data, n) == 0);
        CHECK_OK(tpm_nv_read_public(c, spec.index, &attrs, &size, NULL, NULL, NULL, NULL));
        CHECK(attrs == (spec.attributes | TPM_NV_ATTR_WRITTEN) && size == spec.size);
        /* too large a write is refused before reaching the TPM or by it */
        CHECK(tpm_nv_write(c, spec.index, TPM_NV_AUTH_OWNER, NULL, data, sizeof(data)) == 0);
        {
                uint8_t big[1400] = {};
                CHECK(tpm_nv_write(c, spec.index, TPM_NV_AUTH_OWNER, NULL, big, sizeof(big)) < 0);
        }
        /* an index with a real authValue: wrong value refused (NO_DA: no lockout) */
        {
                const struct tpm_nv_spec s2 = {
                        .index = 0x01800B02,
                        .attributes = TPM_NV_ATTR_AUTHWRITE | TPM_NV_ATTR_AUTHREAD | TPM_NV_ATTR_NO_DA,
                        .size = 4,
                };
                _cleanup_secret_ struct secret *other = test_secret("other");
                CHECK_OK(tpm_nv_define(c, &s2, some, NULL));
                CHECK_R(tpm_nv_write(c, s2.index, TPM_NV_AUTH_INDEX, other, "abcd", 4), -EACCES);
                CHECK_OK(tpm_nv_write(c, s2.index, TPM_NV_AUTH_INDEX, some, "abcd", 4));
                CHECK_OK(tpm_nv_undefine(c, s2.index, NULL));
        }
        CHECK_OK(tpm_nv_undefine(c, spec.index, NULL));
        CHECK_R(tpm_nv_undefine(c, spec.index, NULL), -ENOENT);
        CHECK_R(tpm_nv_read_public(c, spec.index, &attrs, &size, NULL, NULL, NULL, NULL), -ENOENT);
        return 0;
}

/* Provisioning of the policy NV indices: resumes an interrupted run, and
 * refuses indices that are not ours. */
static int case_policy_nv_provision(void)
{
        _cleanup_tpm_context_ struct tpm_context *c = test_tpm_open();
        _cleanup_secret_ struct secret *admin = test_secret("admin");
        const struct tpm_policy_nv nv = TPM_POLICY_NV_DEFAULT;
        uint8_t admin_policy[32], digest[32];
        struct policy p;
        uint32_t attrs = 0;

        CHECK_OK(tpm_srk_provision(c, NULL));

        /* Interrupted after defining the admin index: provisioning completes. */
        CHECK_OK(policy_init(&p, DIGEST_SHA256));
        CHECK_OK(policy_command_code(&p, POLICY_CC_NV_CHANGE_AUTH));
        CHECK_OK(policy_auth_value(&p));
        memcpy(admin_policy, p.digest, 32);
        {
                const struct tpm_nv_spec spec = {
                        .index = nv.admin_index,
                        .attributes = TPM_NV_ADMIN_ATTRS,
                        .size = 1,
                        .auth_policy = admin_policy,
                        .auth_policy_size = 32,
                };
                CHECK_OK(tpm_nv_define(c, &spec, admin, NULL));
        }
        CHECK_OK(tpm_policy_nv_provision(c, &nv, admin, NULL));
        CHECK_OK(tpm_nv_read_public(c, nv.policy_index, &attrs, NULL, NULL, NULL, NULL, NULL));
        CHECK(attrs == (TPM_NV_POLICY_ATTRS | TPM_NV_ATTR_WRITTEN));
        /* the initial content authorizes nothing, and is not all-zero */
        CHECK_OK(tpm_policy_nv_read_digest(c, &nv, digest));
        CHECK(memcmp(digest, (uint8_t[32]){}, 32) != 0);
        CHECK_OK(tpm_policy_nv_remove(c, &nv, NULL));

        /* A foreign index at the policy handle (owner-writable): refused, kept. */
        {
                const struct tpm_nv_spec foreign = {
                        .index = nv.policy_index,
                        .attributes = TPM_NV_ATTR_OWNERWRITE | TPM_NV_ATTR_AUTHREAD | TPM_NV_ATTR_NO_DA,
                        .size = TPM_NV_POLICY_SIZE,
                };
                _cleanup_tpm_blob_ struct tpm_blob *blob = NULL;
                _cleanup_secret_ struct secret *secret = test_secret("x");

                CHECK_OK(tpm_nv_define(c, &foreign, NULL, NULL));
                CHECK_R(tpm_policy_nv_provision(c, &nv, admin, NULL), -EEXIST);
                CHECK_OK(tpm_nv_read_public(c, nv.policy_index, &attrs, NULL, NULL, NULL, NULL, NULL));
                CHECK(attrs == foreign.attributes);
                /* and nothing can be sealed to it */
                CHECK_R(tpm_seal_authorize_nv(c, secret, &nv, &blob), -EINVAL);
        }
        return 0;
}

/* Run ARGV (no shell), return its exit status. */
static int run_argv(char *const argv[])
{
        pid_t pid;
        int status;

        fflush(NULL);
        pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
                execvp(argv[0], argv);
                _exit(127);
        }
        CHECK(waitpid(pid, &status, 0) == pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The model predicts the DRTM PCRs: swtpm's emulated dynamic launch
 * (swtpm_ioctl -h: PCRs 17–22 reset to 0, PCR 17 extended with H(data))
 * followed by a locality-2 extend of PCR 18 yields the values sealed to. */
static int case_drtm_predicted(void)
{
        _cleanup_tpm_context_ struct tpm_context *c = test_tpm_open();
        _cleanup_secret_ struct secret *secret = NULL, *out = NULL;
        _cleanup_tpm_blob_ struct tpm_blob *blob = NULL;
        const char *ctrl = getenv("TVAM_TEST_SWTPM_CTRL");
        const uint32_t mask = (1u << 17) | (1u << 18) | (1u << 19);
        struct pcr_bank model, now;
        struct tpm_unseal_diag diag;
        uint8_t d[32];
        TSS2_RC rc;

        if (!ctrl || access("/usr/bin/swtpm_ioctl", X_OK) < 0) {
                fprintf(stderr, "swtpm_ioctl or TVAM_TEST_SWTPM_CTRL missing\n");
                return EXIT_SKIP;
        }
        CHECK_OK(tpm_srk_provision(c, NULL));

        /* Static boot: 17–22 all ones, as the model says. */
        CHECK_OK(pcr_bank_init_static_boot(&model, DIGEST_SHA256));
        CHECK_OK(tpm_pcr_read(c, DIGEST_SHA256, mask, &now));
        for (unsigned i = 17; i <= 19; i++)
                CHECK(memcmp(now.values[i], model.values[i], 32) == 0);

        /* Predict: dynamic launch measuring "sinit+mle", then the kernel into 18. */
        for (unsigned i = 17; i <= 22; i++)
                memset(model.values[i], 0, 32);
        CHECK_OK(pcr_extend_data(&model, 17, "sinit+mle", 9));
        CHECK_OK(pcr_extend_data(&model, 18, "kernel", 6));
        CHECK_OK(secret_new_random(32, &secret));
        CHECK_OK(tpm_seal_pcr(c, secret, &model, mask, &blob));
        CHECK_R(tpm_unseal(c, blob, NULL, 0, &diag, &out), -EPERM);
        printf("before the launch: %s\n", diag.message);
        CHECK(diag.pcr_differ == mask);

        CHECK(run_argv((char *const[]){(char *)"swtpm_ioctl", (char *)"--tcp", (char *)ctrl, (char *)"-h",
                      (char *)"sinit+mle", NULL}) == 0);
        /* PCR 18 is not extendable from locality 0 ... */
        CHECK_OK(digest_buffer(DIGEST_SHA256, "kernel", 6, d));
        CHECK(tpm_pcr_extend(c, 18, DIGEST_SHA256, d) < 0);
        /* ... but from locality 2 (the TCTI passes it to swtpm) */
        rc = Tss2_Tcti_SetLocality(c->tcti, 2);
        CHECK(rc == TSS2_RC_SUCCESS);
        CHECK_OK(tpm_pcr_extend(c, 18, DIGEST_SHA256, d));
        CHECK(Tss2_Tcti_SetLocality(c->tcti, 0) == TSS2_RC_SUCCESS);

        CHECK_OK(tpm_pcr_read(c, DIGEST_SHA256, mask, &now));
        for (unsigned i = 17; i <= 19; i++)
                CHECK(memcmp(now.values[i], model.values[i], 32) == 0);
        CHECK_OK(tpm_unseal(c, blob, NULL, 0, &diag, &out));
        CHECK(secret_equal(out, secret));
        printf("DRTM PCRs 17-19 equal the prediction; unsealed\n");
        return 0;
}

static const struct {
        const char *name;
        int (*run)(void);
} cases[] = {
        {"drtm-predicted", case_drtm_predicted},
        {"policy-nv-provision", case_policy_nv_provision},
        {"nv", case_nv},
        {"srk-pcr", case_srk_pcr},
        {"seal-current", case_seal_current},
        {"seal-predicted", case_seal_predicted},
        {"authorize-nv", case_authorize_nv},
        {"trial-digests", case_trial_digests},
        {"lockout", case_lockout},
        {"missing-tpm", case_missing_tpm},
};

int main(int argc, char **argv)
{
        log_parse_environment();
        if (argc != 2) {
                fprintf(stderr, "usage: %s CASE\n", argv[0]);
                return 2;
        }
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                if (strcmp(argv[1], cases[i].name) == 0)
                        return cases[i].run();
        fprintf(stderr, "unknown case '%s'\n", argv[1]);
        return 2;
}
