/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the sealed-blob format (tvam/tpm/tpm-blob.h): strict parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "policy/pcr/policy.h"
#include "tvam/tpm/tpm-blob.h"

#define MASK ((1u << 0) | (1u << 7) | (1u << 16))

struct parts {
        struct pcr_bank pcrs;
        uint8_t pub[TPM_BLOB_PART_MAX], priv[TPM_BLOB_PART_MAX];
        size_t pub_size, priv_size;
};

/* A public area as TPM2_Create would return it for our template. */
static void make_parts(struct parts *p, TPMA_OBJECT attrs, bool policy_matches)
{
        TPM2B_PUBLIC pub = {
                .publicArea =
                        {
                                .type = TPM2_ALG_KEYEDHASH,
                                .nameAlg = TPM2_ALG_SHA256,
                                .objectAttributes = attrs,
                                .parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
                                .unique.keyedHash = {.size = 32},
                        },
        };
        TPM2B_PRIVATE priv = {.size = 80};
        struct policy pol;
        size_t off = 0;

        assert_int_equal(pcr_bank_init(&p->pcrs, DIGEST_SHA256), 0);
        for (unsigned i = 0; i < PCR_COUNT; i++)
                memset(p->pcrs.values[i], 0x30 + (int)i, 32);
        assert_int_equal(policy_init(&pol, DIGEST_SHA256), 0);
        assert_int_equal(policy_pcr_bank(&pol, &p->pcrs, MASK), 0);
        if (!policy_matches)
                pol.digest[0] ^= 1;
        memcpy(pub.publicArea.authPolicy.buffer, pol.digest, 32);
        pub.publicArea.authPolicy.size = 32;
        memset(pub.publicArea.unique.keyedHash.buffer, 0x55, 32);
        memset(priv.buffer, 0x66, priv.size);

        assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, p->pub, sizeof(p->pub), &off), TSS2_RC_SUCCESS);
        p->pub_size = off;
        off = 0;
        assert_int_equal(
                Tss2_MU_TPM2B_PRIVATE_Marshal(&priv, p->priv, sizeof(p->priv), &off), TSS2_RC_SUCCESS);
        p->priv_size = off;
}

static const TPMA_OBJECT good_attrs = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_NODA;

static void serialized(uint8_t **ret, size_t *ret_size)
{
        _cleanup_tpm_blob_ struct tpm_blob *b = NULL;
        struct parts p;

        make_parts(&p, good_attrs, true);
        assert_int_equal(
                tpm_blob_new(TPM_BLOB_PCR, &p.pcrs, MASK, 0, p.pub, p.pub_size, p.priv, p.priv_size, &b), 0);
        assert_int_equal(tpm_blob_serialize(b, ret, ret_size), 0);
}

static void test_roundtrip(void **state)
{
        _cleanup_tpm_blob_ struct tpm_blob *b = NULL;
        _cleanup_free_ uint8_t *data = NULL, *again = NULL;
        size_t n = 0, n2 = 0;
        struct parts p;

        (void)state;
        make_parts(&p, good_attrs, true);
        serialized(&data, &n);
        assert_int_equal(n, TPM_BLOB_HEADER_SIZE + 3 * 32 + p.pub_size + p.priv_size);
        assert_memory_equal(data, "TVAMSEAL\x00\x01\x00\x01\x00\x0b\x00\x01\x00\x81\x00\x00\x00\x00", 22);
        assert_int_equal(tpm_blob_parse(data, n, &b), 0);
        assert_int_equal(b->kind, TPM_BLOB_PCR);
        assert_int_equal(b->pcr_mask, MASK);
        assert_memory_equal(b->pcrs.values[7], p.pcrs.values[7], 32);
        assert_int_equal(b->public_size, p.pub_size);
        assert_memory_equal(b->private_area, p.priv, p.priv_size);
        assert_int_equal(tpm_blob_serialize(b, &again, &n2), 0);
        assert_int_equal(n2, n);
        assert_memory_equal(again, data, n);
}

static void test_truncated_and_trailing(void **state)
{
        _cleanup_free_ uint8_t *data = NULL, *longer = NULL;
        struct tpm_blob *b = NULL;
        size_t n = 0;

        (void)state;
        serialized(&data, &n);
        for (size_t k = 0; k < n; k++)
                assert_int_equal(tpm_blob_parse(data, k, &b), -EBADMSG);
        longer = malloc(n + 1);
        assert_non_null(longer);
        memcpy(longer, data, n);
        longer[n] = 0;
        assert_int_equal(tpm_blob_parse(longer, n + 1, &b), -EBADMSG);
        assert_null(b);
}

/* Every bit of the header and of the recorded PCR values is load-bearing. */
static void test_header_bit_flips(void **state)
{
        _cleanup_free_ uint8_t *data = NULL;
        struct tpm_blob *b = NULL;
        size_t n = 0;

        (void)state;
        serialized(&data, &n);
        for (size_t k = 0; k < TPM_BLOB_HEADER_SIZE + 3 * 32; k++)
                for (int bit = 0; bit < 8; bit++) {
                        int r;
                        data[k] ^= (uint8_t)(1u << bit);
                        r = tpm_blob_parse(data, n, &b);
                        if (r != -EBADMSG && r != -EPROTONOSUPPORT)
                                fail_msg("flip of byte %zu bit %d accepted (r=%d)", k, bit, r);
                        data[k] ^= (uint8_t)(1u << bit);
                }
        assert_null(b);
        /* version 2 is "unsupported", not "malformed" */
        data[9] = 2;
        assert_int_equal(tpm_blob_parse(data, n, &b), -EPROTONOSUPPORT);
}

static void test_rejects_unsafe_objects(void **state)
{
        struct tpm_blob *b = NULL;
        struct parts p;

        (void)state;
        /* USERWITHAUTH would let anyone unseal with the empty authValue. */
        make_parts(&p, good_attrs | TPMA_OBJECT_USERWITHAUTH, true);
        assert_int_equal(
                tpm_blob_new(TPM_BLOB_PCR, &p.pcrs, MASK, 0, p.pub, p.pub_size, p.priv, p.priv_size, &b),
                -EBADMSG);
        /* Not fixed to this TPM. */
        make_parts(&p, TPMA_OBJECT_FIXEDPARENT, true);
        assert_int_equal(
                tpm_blob_new(TPM_BLOB_PCR, &p.pcrs, MASK, 0, p.pub, p.pub_size, p.priv, p.priv_size, &b),
                -EBADMSG);
        /* Header claims PCR values the object's policy does not enforce. */
        make_parts(&p, good_attrs, false);
        assert_int_equal(
                tpm_blob_new(TPM_BLOB_PCR, &p.pcrs, MASK, 0, p.pub, p.pub_size, p.priv, p.priv_size, &b),
                -EBADMSG);
        assert_null(b);
}

static void test_authorize_nv_kind(void **state)
{
        _cleanup_tpm_blob_ struct tpm_blob *b = NULL;
        struct parts p;

        (void)state;
        make_parts(&p, good_attrs, true);
        assert_int_equal(tpm_blob_new(TPM_BLOB_AUTHORIZE_NV, NULL, 0, 0x01800A01, p.pub, p.pub_size, p.priv,
                                 p.priv_size, &b),
                0);
        assert_int_equal(b->nv_index, 0x01800A01);
        tpm_blob_free(TAKE_PTR(b));
        /* not an NV index handle */
        assert_int_equal(tpm_blob_new(TPM_BLOB_AUTHORIZE_NV, NULL, 0, 0x81000001, p.pub, p.pub_size, p.priv,
                                 p.priv_size, &b),
                -EBADMSG);
        /* a PCR mask makes no sense for this kind */
        assert_int_equal(tpm_blob_new(TPM_BLOB_AUTHORIZE_NV, NULL, 1, 0x01800A01, p.pub, p.pub_size, p.priv,
                                 p.priv_size, &b),
                -EBADMSG);
        assert_null(b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_roundtrip),
                cmocka_unit_test(test_truncated_and_trailing),
                cmocka_unit_test(test_header_bit_flips),
                cmocka_unit_test(test_rejects_unsafe_objects),
                cmocka_unit_test(test_authorize_nv_kind),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
