/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ENDORSE, platform side.  Like attest.c, a TPM-module file: it talks ESAPI
 * through tvam/tpm's internal header.
 */

#include "tvam/attest/endorse.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>

#include "policy/pcr/policy.h"
#include "tvam/attest/attest.h"
#include "tvam/attest/attest-internal.h"
#include "tvam/shared/fileio.h"
#include "tvam/tpm/tpm-internal.h"
#include "tvam/verify/crypto.h"
#include "tvam/verify/json-util.h"

#define BLOB_MAX 4096u
#define ISSUER_CN "TVAM platform key"

/* The blob file: u32 PCR mask (little-endian) || TPM2B_PUBLIC || TPM2B_PRIVATE. */
struct platform_key {
        uint32_t mask;
        TPM2B_PUBLIC pub;
        TPM2B_PRIVATE priv;
};

static void template_for(const uint8_t policy[32], TPM2B_PUBLIC *t)
{
        *t = (TPM2B_PUBLIC){
                .publicArea = {
                        .type = TPM2_ALG_ECC,
                        .nameAlg = TPM2_ALG_SHA256,
                        /* no userWithAuth: the USER role (TPM2_Sign) needs the
                         * PCR policy; no adminWithPolicy: TPM2_Certify (ADMIN
                         * role) uses the empty authValue and reveals nothing */
                        .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_NODA | TPMA_OBJECT_SIGN_ENCRYPT,
                        .authPolicy = { .size = 32 },
                        .parameters.eccDetail = {
                                .symmetric = { .algorithm = TPM2_ALG_NULL },
                                .scheme = { .scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256 },
                                .curveID = TPM2_ECC_NIST_P256,
                                .kdf = { .scheme = TPM2_ALG_NULL },
                        },
                },
        };
        memcpy(t->publicArea.authPolicy.buffer, policy, 32);
}

static char *blob_path(const char *state_dir)
{
        char *p = NULL;
        return asprintf(&p, "%s/%s", state_dir, ATTEST_PLATFORM_KEY_BLOB) < 0 ? NULL : p;
}

static int key_read(const char *state_dir, struct platform_key *ret)
{
        _cleanup_free_ char *path = blob_path(state_dir);
        _cleanup_free_ uint8_t *buf = NULL;
        size_t size, off = 4;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_full_file(path, BLOB_MAX, &buf, &size);
        if (r < 0)
                return r;
        *ret = (struct platform_key){};
        if (size < 4)
                return -EBADMSG;
        ret->mask = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 24;
        if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, size, &off, &ret->pub) != TSS2_RC_SUCCESS ||
                Tss2_MU_TPM2B_PRIVATE_Unmarshal(buf, size, &off, &ret->priv) != TSS2_RC_SUCCESS || off != size ||
                ret->mask == 0 || (ret->mask & ~PCR_MASK_ALL))
                return -EBADMSG;
        return 0;
}

int attest_platform_key_ensure(struct tpm_context *c, const char *state_dir, const struct pcr_bank *state,
        uint32_t mask)
{
        _cleanup_free_ char *path = blob_path(state_dir);
        _cleanup_(esys_freep) TPM2B_PUBLIC *pub = NULL;
        _cleanup_(esys_freep) TPM2B_PRIVATE *priv = NULL;
        TPM2B_SENSITIVE_CREATE sensitive = {};
        TPM2B_DATA outside = {};
        TPML_PCR_SELECTION no_pcrs = {};
        TPM2B_PUBLIC template;
        struct platform_key old;
        struct policy policy;
        uint8_t buf[4 + sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE)];
        size_t off = 4;
        ESYS_TR srk;
        TSS2_RC rc;
        int r;

        assert(c && state_dir && state);
        if (!path)
                return -ENOMEM;
        if (state->alg != DIGEST_SHA256 || mask == 0 || (mask & ~PCR_MASK_ALL))
                return -EINVAL;
        r = policy_init(&policy, DIGEST_SHA256);
        if (r < 0)
                return r;
        r = policy_pcr_bank(&policy, state, mask);
        if (r < 0)
                return r;

        r = key_read(state_dir, &old);
        if (r == 0 && old.mask == mask && old.pub.publicArea.authPolicy.size == 32 &&
                memcmp(old.pub.publicArea.authPolicy.buffer, policy.digest, 32) == 0)
                return 0;
        if (r < 0 && r != -ENOENT)
                return r;

        template_for(policy.digest, &template);
        r = tpm_srk_get(c, &srk);
        if (r < 0)
                return r;
        TPM_RETRY(rc, Esys_Create(c->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &template,
                              &outside, &no_pcrs, &priv, &pub, NULL, NULL, NULL));
        if (rc != TSS2_RC_SUCCESS)
                return tpm_rc_log(rc, "TPM2_Create(platform key)");
        buf[0] = (uint8_t)mask, buf[1] = (uint8_t)(mask >> 8), buf[2] = (uint8_t)(mask >> 16), buf[3] = (uint8_t)(mask >> 24);
        if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS ||
                Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
                return -EINVAL;
        r = atomic_file_write(path, buf, off, 0600);
        return r < 0 ? r : 1;
}

static int key_load(struct tpm_context *c, const char *state_dir, struct platform_key *k, ESYS_TR *ret)
{
        ESYS_TR srk;
        TSS2_RC rc;
        int r;

        r = key_read(state_dir, k);
        if (r < 0)
                return r;
        r = tpm_srk_get(c, &srk);
        if (r < 0)
                return r;
        TPM_RETRY(rc, Esys_Load(c->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &k->priv, &k->pub, ret));
        if (rc != TSS2_RC_SUCCESS)
                return tpm_rc_log(rc, "TPM2_Load(platform key)");
        return 0;
}

int attest_platform_key_certify(struct tpm_context *c, const char *state_dir, const uint8_t *nonce,
        size_t nonce_size, char **ret_json)
{
        _cleanup_(esys_freep) TPM2B_ATTEST *info = NULL;
        _cleanup_(esys_freep) TPMT_SIGNATURE *sig = NULL;
        _cleanup_json_ json_object *o = NULL;
        _cleanup_free_ uint8_t *ak_pub = NULL;
        json_object *certify;
        TPM2B_DATA qualifying = { .size = (UINT16)nonce_size };
        TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL };
        struct platform_key k;
        TPM2B_PUBLIC ak_tpm_pub;
        ESYS_TR key = ESYS_TR_NONE, ak = ESYS_TR_NONE;
        uint8_t pk_buf[sizeof(TPM2B_PUBLIC)], sig_buf[sizeof(TPMT_SIGNATURE)];
        size_t ak_size = 0, pk_size = 0, sig_size = 0;
        TSS2_RC rc;
        int r;

        assert(c && state_dir && ret_json);
        if (!nonce || nonce_size < ATTEST_NONCE_MIN || nonce_size > ATTEST_NONCE_MAX)
                return -EINVAL;
        memcpy(qualifying.buffer, nonce, nonce_size);
        r = key_load(c, state_dir, &k, &key);
        if (r < 0)
                return r;
        r = attest_ak_load(c, state_dir, &ak, &ak_tpm_pub);
        if (r == 0)
                r = attest_ak_public(state_dir, &ak_pub, &ak_size);
        if (r < 0) {
                tpm_flush(c, &ak);
                tpm_flush(c, &key);
                return r;
        }
        TPM_RETRY(rc, Esys_Certify(c->esys, key, ak, ESYS_TR_PASSWORD, ESYS_TR_PASSWORD, ESYS_TR_NONE, &qualifying,
                              &scheme, &info, &sig));
        tpm_flush(c, &key);
        tpm_flush(c, &ak);
        if (rc != TSS2_RC_SUCCESS)
                return tpm_rc_log(rc, "TPM2_Certify(platform key)");

        if (Tss2_MU_TPM2B_PUBLIC_Marshal(&k.pub, pk_buf, sizeof(pk_buf), &pk_size) != TSS2_RC_SUCCESS ||
                Tss2_MU_TPMT_SIGNATURE_Marshal(sig, sig_buf, sizeof(sig_buf), &sig_size) != TSS2_RC_SUCCESS)
                return -EINVAL;
        o = json_object_new_object();
        certify = json_object_new_object();
        if (!o || !certify || json_object_object_add(o, "certify", certify) < 0) {
                json_object_put(certify);
                return -ENOMEM;
        }
        if (json_add_int(o, "version", 1) < 0 || json_add_b64(o, "platform_key_public", pk_buf, pk_size) < 0 ||
                json_add_b64(o, "ak_public", ak_pub, ak_size) < 0 || json_add_int(o, "pcr_mask", (int)k.mask) < 0 ||
                json_add_b64(certify, "attest", info->attestationData, info->size) < 0 ||
                json_add_b64(certify, "signature", sig_buf, sig_size) < 0)
                return -ENOMEM;
        return json_to_string(o, ret_json);
}

int attest_endorse(struct tpm_context *c, const char *state_dir, const uint8_t *spki, size_t spki_size,
        const char *subject_cn, const char *identity, unsigned validity_days, uint8_t **ret_der,
        size_t *ret_size)
{
        _cleanup_(esys_freep) TPMT_SIGNATURE *sig = NULL;
        _cleanup_free_ uint8_t *tbs = NULL;
        const TPM2B_DIGEST current = {}; /* empty: the TPM uses the current PCR values */
        TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256 };
        TPMT_TK_HASHCHECK no_ticket = { .tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL };
        TPM2B_DIGEST digest = { .size = 32 };
        TPML_PCR_SELECTION sel;
        struct platform_key k;
        ESYS_TR key = ESYS_TR_NONE, session = ESYS_TR_NONE;
        uint64_t serial;
        size_t tbs_size;
        TSS2_RC rc;
        int r;

        assert(c && state_dir && spki && subject_cn && identity && ret_der && ret_size);
        r = tpm_get_random(c, &serial, sizeof(serial));
        if (r < 0)
                return r;
        serial &= UINT64_C(0x7fffffffffffffff); /* a positive INTEGER (RFC 5280 §4.1.2.2) */
        r = crypto_cert_tbs(spki, spki_size, subject_cn, ISSUER_CN, identity, serial | 1, validity_days, &tbs,
                &tbs_size);
        if (r < 0)
                return r;
        r = digest_buffer(DIGEST_SHA256, tbs, tbs_size, digest.buffer);
        if (r < 0)
                return r;

        r = key_load(c, state_dir, &k, &key);
        if (r < 0)
                return r;
        r = tpm_policy_session_start(c, false, false, &session);
        if (r < 0)
                goto out;
        tpm_pcr_selection_set(&sel, DIGEST_SHA256, k.mask);
        TPM_RETRY(rc, Esys_PolicyPCR(c->esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &current, &sel));
        if (rc != TSS2_RC_SUCCESS) {
                r = tpm_rc_log(rc, "TPM2_PolicyPCR");
                goto out;
        }
        /* TPM2_Sign (Part 3 §20.2): the TPM compares the session's policy
         * digest (over the PCRs as they are now) with the key's authPolicy;
         * a platform that left its trusted state gets TPM_RC_POLICY_FAIL. */
        rc = Esys_Sign(c->esys, key, session, ESYS_TR_NONE, ESYS_TR_NONE, &digest, &scheme, &no_ticket, &sig);
        /* ESAPI sessions have continueSession set: flushed below */
        if (rc != TSS2_RC_SUCCESS) {
                r = tpm_rc_log(rc, "TPM2_Sign(platform key)");
                goto out;
        }
        r = crypto_cert_assemble(tbs, tbs_size, sig->signature.ecdsa.signatureR.buffer,
                sig->signature.ecdsa.signatureR.size, sig->signature.ecdsa.signatureS.buffer,
                sig->signature.ecdsa.signatureS.size, ret_der, ret_size);
out:
        tpm_flush(c, &session);
        tpm_flush(c, &key);
        return r;
}
