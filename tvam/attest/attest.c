/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Attestation, platform side: EK, AK, credential activation, quote and the
 * evidence document.
 *
 * This file talks ESAPI directly and therefore includes tvam/tpm's internal
 * header (the TPM context and the TSS2_RC adapter); it is a TPM-module file
 * living beside the attestation code it serves.
 */

#include "tvam/attest/attest.h"
#include "tvam/attest/attest-internal.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <tss2/tss2_mu.h>

#include "policy/pcr/pcr.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/log.h"
#include "tvam/tpm/tpm-internal.h"
#include "tvam/tpm/tpm-nv.h"
#include "tvam/tpm/tpm-pcr.h"
#include "tvam/verify/base64.h"
#include "tvam/verify/json-util.h"

#define AK_BLOB_MAX 4096u
#define EVENTLOG_FILE_MAX (64u * 1024u * 1024u)

/* PolicySecret(TPM_RH_ENDORSEMENT) with SHA-256: the authPolicy of the
 * default EK templates (TCG EK Credential Profile 2.0 §B.3.2). */
static const uint8_t ek_policy[32] = {
        0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
        0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
};

/* Template L-1 (EK Credential Profile 2.0 §B.3.3): RSA 2048, AES-128-CFB,
 * restricted decryption, policy-only admin, unique = 256 zero bytes. */
static void ek_template_rsa(TPM2B_PUBLIC *t)
{
        *t = (TPM2B_PUBLIC){
                .publicArea = {
                        .type = TPM2_ALG_RSA,
                        .nameAlg = TPM2_ALG_SHA256,
                        .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
                                TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
                        .authPolicy = { .size = 32 },
                        .parameters.rsaDetail = {
                                .symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB },
                                .scheme = { .scheme = TPM2_ALG_NULL },
                                .keyBits = 2048,
                                .exponent = 0,
                        },
                        .unique.rsa = { .size = 256 },
                },
        };
        memcpy(t->publicArea.authPolicy.buffer, ek_policy, 32);
}

/* Template L-2 (EK Credential Profile 2.0 §B.3.4): ECC NIST P-256,
 * AES-128-CFB, restricted decryption, unique = two 32-byte zero coordinates. */
static void ek_template_ecc(TPM2B_PUBLIC *t)
{
        *t = (TPM2B_PUBLIC){
                .publicArea = {
                        .type = TPM2_ALG_ECC,
                        .nameAlg = TPM2_ALG_SHA256,
                        .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
                                TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
                        .authPolicy = { .size = 32 },
                        .parameters.eccDetail = {
                                .symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB },
                                .scheme = { .scheme = TPM2_ALG_NULL },
                                .curveID = TPM2_ECC_NIST_P256,
                                .kdf = { .scheme = TPM2_ALG_NULL },
                        },
                        .unique.ecc = { .x = { .size = 32 }, .y = { .size = 32 } },
                },
        };
        memcpy(t->publicArea.authPolicy.buffer, ek_policy, 32);
}

const char *attest_ek_type_to_string(enum attest_ek_type type)
{
        switch (type) {
        case ATTEST_EK_RSA2048:
                return "rsa2048";
        case ATTEST_EK_ECC_P256:
                return "ecc-p256";
        }
        return NULL;
}

int attest_ek_type_from_string(const char *s, enum attest_ek_type *ret)
{
        if (s && strcmp(s, "rsa2048") == 0)
                *ret = ATTEST_EK_RSA2048;
        else if (s && strcmp(s, "ecc-p256") == 0)
                *ret = ATTEST_EK_ECC_P256;
        else
                return -EINVAL;
        return 0;
}

/* The AK: restricted ECC P-256 signing key, ECDSA with SHA-256 (a quote
 * key must be restricted: Part 1 §25.2 — it signs only TPM-generated
 * attestation structures, never an external digest that looks like one). */
static const TPM2B_PUBLIC ak_template = {
        .publicArea = {
                .type = TPM2_ALG_ECC,
                .nameAlg = TPM2_ALG_SHA256,
                .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                        TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA |
                        TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT,
                .parameters.eccDetail = {
                        .symmetric = { .algorithm = TPM2_ALG_NULL },
                        .scheme = { .scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256 },
                        .curveID = TPM2_ECC_NIST_P256,
                        .kdf = { .scheme = TPM2_ALG_NULL },
                },
        },
};

int attest_ek_certificate(struct tpm_context *c, uint8_t **ret_der, size_t *ret_size, enum attest_ek_type *ret_type)
{
        static const struct {
                uint32_t index;
                enum attest_ek_type type;
        } indices[] = { { ATTEST_NV_EK_CERT_RSA2048, ATTEST_EK_RSA2048 }, { ATTEST_NV_EK_CERT_ECC_P256, ATTEST_EK_ECC_P256 } };
        int r = -ENOENT;

        assert(c && ret_der && ret_size);
        for (size_t i = 0; i < ELEMENTSOF(indices); i++) {
                /* EK certificate indices are TPMA_NV_AUTHREAD | PPWRITE with
                 * an empty authValue (EK Credential Profile §2.2.1.5). */
                r = tpm_nv_read(c, indices[i].index, TPM_NV_AUTH_INDEX, NULL, ret_der, ret_size);
                if (r == 0 && ret_type)
                        *ret_type = indices[i].type;
                if (r != -ENOENT)
                        return r;
        }
        return r;
}

static int ek_load(struct tpm_context *c, enum attest_ek_type type, const struct secret *endorsement_auth, ESYS_TR *ret,
        TPM2B_PUBLIC **ret_public)
{
        TPM2B_SENSITIVE_CREATE sensitive = {};
        TPM2B_DATA outside = {};
        TPML_PCR_SELECTION no_pcrs = {};
        TPM2B_PUBLIC template;
        TSS2_RC rc;
        int r;

        if (type == ATTEST_EK_RSA2048)
                ek_template_rsa(&template);
        else if (type == ATTEST_EK_ECC_P256)
                ek_template_ecc(&template);
        else
                return -EINVAL;
        r = tpm_tr_set_auth(c, ESYS_TR_RH_ENDORSEMENT, endorsement_auth);
        if (r < 0)
                return r;
        TPM_RETRY(rc, Esys_CreatePrimary(c->esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                              ESYS_TR_NONE, &sensitive, &template, &outside, &no_pcrs, ret, ret_public, NULL, NULL,
                              NULL));
        (void)tpm_tr_set_auth(c, ESYS_TR_RH_ENDORSEMENT, NULL);
        if (rc != TSS2_RC_SUCCESS)
                return tpm_rc_log(rc, "TPM2_CreatePrimary(EK)");
        return 0;
}

static int marshal_public(const TPM2B_PUBLIC *pub, uint8_t **ret, size_t *ret_size)
{
        uint8_t buf[sizeof(TPM2B_PUBLIC)];
        size_t off = 0;

        if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
                return -EINVAL;
        *ret = malloc(off);
        if (!*ret)
                return -ENOMEM;
        memcpy(*ret, buf, off);
        *ret_size = off;
        return 0;
}

int attest_ek_public(struct tpm_context *c, enum attest_ek_type type, const struct secret *endorsement_auth,
        uint8_t **ret, size_t *ret_size)
{
        _cleanup_(esys_freep) TPM2B_PUBLIC *pub = NULL;
        ESYS_TR ek = ESYS_TR_NONE;
        int r;

        assert(c && ret && ret_size);
        r = ek_load(c, type, endorsement_auth, &ek, &pub);
        if (r < 0)
                return r;
        tpm_flush(c, &ek);
        return marshal_public(pub, ret, ret_size);
}

static char *ak_path(const char *state_dir)
{
        char *p = NULL;
        if (asprintf(&p, "%s/%s", state_dir, ATTEST_AK_BLOB) < 0)
                return NULL;
        return p;
}

static int ak_read(const char *state_dir, TPM2B_PUBLIC *ret_pub, TPM2B_PRIVATE *ret_priv)
{
        _cleanup_free_ char *path = ak_path(state_dir);
        _cleanup_free_ uint8_t *buf = NULL;
        size_t size, off = 0;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_full_file(path, AK_BLOB_MAX, &buf, &size);
        if (r < 0)
                return r;
        *ret_pub = (TPM2B_PUBLIC){};
        *ret_priv = (TPM2B_PRIVATE){};
        if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, size, &off, ret_pub) != TSS2_RC_SUCCESS ||
                Tss2_MU_TPM2B_PRIVATE_Unmarshal(buf, size, &off, ret_priv) != TSS2_RC_SUCCESS || off != size)
                return -EBADMSG;
        /* Refuse a blob whose key is not an AK of our template (e.g. a
         * replaced file holding an unrestricted signing key). */
        if (ret_pub->publicArea.type != TPM2_ALG_ECC ||
                ret_pub->publicArea.objectAttributes != ak_template.publicArea.objectAttributes ||
                ret_pub->publicArea.parameters.eccDetail.curveID != TPM2_ECC_NIST_P256)
                return -EBADMSG;
        return 0;
}

int attest_ak_ensure(struct tpm_context *c, const char *state_dir)
{
        _cleanup_free_ char *path = ak_path(state_dir);
        _cleanup_(esys_freep) TPM2B_PUBLIC *pub = NULL;
        _cleanup_(esys_freep) TPM2B_PRIVATE *priv = NULL;
        TPM2B_SENSITIVE_CREATE sensitive = {};
        TPM2B_DATA outside = {};
        TPML_PCR_SELECTION no_pcrs = {};
        TPM2B_PUBLIC p;
        TPM2B_PRIVATE q;
        uint8_t buf[sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE)];
        size_t off = 0;
        ESYS_TR srk;
        TSS2_RC rc;
        int r;

        assert(c && state_dir);
        if (!path)
                return -ENOMEM;
        r = ak_read(state_dir, &p, &q);
        if (r == 0)
                return 0;
        if (r != -ENOENT)
                return r;

        r = tpm_srk_get(c, &srk);
        if (r < 0)
                return r;
        /* TPM2_Create (Part 3 §12.1) under the SRK (empty authValue). */
        TPM_RETRY(rc, Esys_Create(c->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive,
                              &ak_template, &outside, &no_pcrs, &priv, &pub, NULL, NULL, NULL));
        if (rc != TSS2_RC_SUCCESS)
                return tpm_rc_log(rc, "TPM2_Create(AK)");
        if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS ||
                Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
                return -EINVAL;
        r = atomic_file_write(path, buf, off, 0600);
        if (r < 0)
                return r;
        return 1;
}

int attest_ak_public(const char *state_dir, uint8_t **ret, size_t *ret_size)
{
        TPM2B_PUBLIC pub;
        TPM2B_PRIVATE priv;
        int r;

        assert(state_dir && ret && ret_size);
        r = ak_read(state_dir, &pub, &priv);
        if (r < 0)
                return r;
        return marshal_public(&pub, ret, ret_size);
}

int attest_ak_load(struct tpm_context *c, const char *state_dir, ESYS_TR *ret, TPM2B_PUBLIC *ret_pub)
{
        TPM2B_PRIVATE priv;
        ESYS_TR srk;
        TSS2_RC rc;
        int r;

        r = ak_read(state_dir, ret_pub, &priv);
        if (r < 0)
                return r;
        r = tpm_srk_get(c, &srk);
        if (r < 0)
                return r;
        TPM_RETRY(rc, Esys_Load(c->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &priv, ret_pub, ret));
        if (rc != TSS2_RC_SUCCESS)
                return tpm_rc_log(rc, "TPM2_Load(AK)");
        return 0;
}

int attest_activate_credential(struct tpm_context *c, const char *state_dir, enum attest_ek_type ek_type,
        const struct secret *endorsement_auth, const uint8_t *credential_blob, size_t credential_blob_size, const uint8_t *encrypted_secret,
        size_t encrypted_secret_size, struct secret **ret)
{
        _cleanup_(esys_freep) TPM2B_DIGEST *cert_info = NULL;
        _cleanup_(esys_freep) TPM2B_TIMEOUT *timeout = NULL;
        _cleanup_(esys_freep) TPMT_TK_AUTH *ticket = NULL;
        TPM2B_ID_OBJECT blob = {};
        TPM2B_ENCRYPTED_SECRET secret = {};
        TPM2B_PUBLIC ak_pub;
        ESYS_TR ak = ESYS_TR_NONE, ek = ESYS_TR_NONE, session = ESYS_TR_NONE;
        size_t off = 0;
        TSS2_RC rc;
        int r;

        assert(c && state_dir && ret);
        if (Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(credential_blob, credential_blob_size, &off, &blob) != TSS2_RC_SUCCESS ||
                off != credential_blob_size)
                return -EBADMSG;
        off = 0;
        if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(encrypted_secret, encrypted_secret_size, &off, &secret) !=
                        TSS2_RC_SUCCESS ||
                off != encrypted_secret_size)
                return -EBADMSG;

        r = attest_ak_load(c, state_dir, &ak, &ak_pub);
        if (r < 0)
                return r;
        r = ek_load(c, ek_type, endorsement_auth, &ek, NULL);
        if (r < 0)
                goto out;

        /* The EK's policy is PolicySecret(TPM_RH_ENDORSEMENT) (Part 3 §23.4). */
        r = tpm_policy_session_start(c, false, false, &session);
        if (r < 0)
                goto out;
        r = tpm_tr_set_auth(c, ESYS_TR_RH_ENDORSEMENT, endorsement_auth);
        if (r < 0)
                goto out;
        TPM_RETRY(rc, Esys_PolicySecret(c->esys, ESYS_TR_RH_ENDORSEMENT, session, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                              ESYS_TR_NONE, NULL, NULL, NULL, 0, &timeout, &ticket));
        (void)tpm_tr_set_auth(c, ESYS_TR_RH_ENDORSEMENT, NULL);
        if (rc != TSS2_RC_SUCCESS) {
                r = tpm_rc_log(rc, "TPM2_PolicySecret(endorsement)");
                goto out;
        }

        /* Part 3 §12.5: activateHandle = AK (its authValue, empty),
         * keyHandle = EK (the policy session). */
        rc = Esys_ActivateCredential(c->esys, ak, ek, ESYS_TR_PASSWORD, session, ESYS_TR_NONE, &blob, &secret,
                &cert_info);
        /* ESAPI sessions have continueSession set: flushed below */
        if (rc != TSS2_RC_SUCCESS) {
                r = tpm_rc_log(rc, "TPM2_ActivateCredential");
                goto out;
        }
        r = secret_new_from(cert_info->buffer, cert_info->size, ret);
        explicit_bzero(cert_info->buffer, cert_info->size);
out:
        tpm_flush(c, &session);
        tpm_flush(c, &ek);
        tpm_flush(c, &ak);
        return r;
}

int attest_enrol_request(struct tpm_context *c, const char *state_dir, const struct secret *endorsement_auth,
        char **ret_json)
{
        _cleanup_json_ json_object *o = NULL;
        _cleanup_free_ uint8_t *cert = NULL, *ek = NULL, *ak = NULL;
        size_t cert_size, ek_size, ak_size;
        enum attest_ek_type type = ATTEST_EK_RSA2048;
        int r;

        assert(c && state_dir && ret_json);
        r = attest_ek_certificate(c, &cert, &cert_size, &type);
        if (r < 0)
                return r;
        r = attest_ek_public(c, type, endorsement_auth, &ek, &ek_size);
        if (r < 0)
                return r;
        r = attest_ak_ensure(c, state_dir);
        if (r < 0)
                return r;
        r = attest_ak_public(state_dir, &ak, &ak_size);
        if (r < 0)
                return r;

        o = json_object_new_object();
        if (!o || json_object_object_add(o, "version", json_object_new_int(1)) < 0)
                return -ENOMEM;
        if ((r = json_add_string(o, "ek_type", attest_ek_type_to_string(type))) < 0 ||
                (r = json_add_b64(o, "ek_certificate", cert, cert_size)) < 0 ||
                (r = json_add_b64(o, "ek_public", ek, ek_size)) < 0 ||
                (r = json_add_b64(o, "ak_public", ak, ak_size)) < 0)
                return r;
        return json_to_string(o, ret_json);
}

int attest_enrol_answer(struct tpm_context *c, const char *state_dir, const struct secret *endorsement_auth,
        const char *challenge_json, char **ret_json)
{
        _cleanup_json_ json_object *in = NULL, *o = NULL;
        _cleanup_free_ uint8_t *blob = NULL, *secret = NULL;
        _cleanup_secret_ struct secret *recovered = NULL;
        size_t blob_size, secret_size;
        enum attest_ek_type type;
        char *hex = NULL;
        int r;

        assert(c && state_dir && challenge_json && ret_json);
        in = json_tokener_parse(challenge_json);
        if (!in || !json_object_is_type(in, json_type_object))
                return -EBADMSG;
        if (attest_ek_type_from_string(json_get_string(in, "ek_type"), &type) < 0)
                return -EBADMSG;
        r = json_get_b64(in, "credential_blob", &blob, &blob_size);
        if (r < 0)
                return r;
        r = json_get_b64(in, "encrypted_secret", &secret, &secret_size);
        if (r < 0)
                return r;
        r = attest_activate_credential(c, state_dir, type, endorsement_auth, blob, blob_size, secret, secret_size,
                &recovered);
        if (r < 0)
                return r;

        /* The recovered value is a one-time challenge answer for the
         * verifier, not a key: it goes back in the response. */
        r = hex_encode(recovered->data, recovered->size, &hex);
        if (r < 0)
                return r;
        o = json_object_new_object();
        if (!o || json_object_object_add(o, "version", json_object_new_int(1)) < 0 ||
                json_object_object_add(o, "secret", json_object_new_string(hex)) < 0) {
                erase_and_free(hex, strlen(hex));
                return -ENOMEM;
        }
        erase_and_free(hex, strlen(hex));
        return json_to_string(o, ret_json);
}

/* ---- evidence ------------------------------------------------------ */

static int quote_once(struct tpm_context *c, ESYS_TR ak, const uint8_t *nonce, size_t nonce_size, uint32_t mask,
        TPM2B_ATTEST **ret_quoted, TPMT_SIGNATURE **ret_sig, struct pcr_bank *ret_bank)
{
        _cleanup_(esys_freep) TPM2B_ATTEST *quoted = NULL;
        _cleanup_(esys_freep) TPMT_SIGNATURE *sig = NULL;
        TPM2B_DATA qualifying = { .size = (UINT16)nonce_size };
        TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL }; /* the AK's own: ECDSA SHA-256 */
        TPML_PCR_SELECTION sel;
        TPMS_ATTEST attest;
        uint8_t composite[32];
        size_t off = 0;
        TSS2_RC rc;
        int r;

        memcpy(qualifying.buffer, nonce, nonce_size);
        tpm_pcr_selection_set(&sel, DIGEST_SHA256, mask);
        TPM_RETRY(rc, Esys_Quote(c->esys, ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qualifying, &scheme,
                              &sel, &quoted, &sig));
        if (rc != TSS2_RC_SUCCESS)
                return tpm_rc_log(rc, "TPM2_Quote");
        r = tpm_pcr_read(c, DIGEST_SHA256, mask, ret_bank);
        if (r < 0)
                return r;

        if (Tss2_MU_TPMS_ATTEST_Unmarshal(quoted->attestationData, quoted->size, &off, &attest) != TSS2_RC_SUCCESS)
                return -EBADMSG;
        r = pcr_composite_digest(ret_bank, mask, DIGEST_SHA256, composite);
        if (r < 0)
                return r;
        if (attest.attested.quote.pcrDigest.size != 32 || memcmp(attest.attested.quote.pcrDigest.buffer, composite, 32) != 0)
                return -EAGAIN; /* a PCR was extended between quote and read */

        *ret_quoted = TAKE_PTR(quoted);
        *ret_sig = TAKE_PTR(sig);
        return 0;
}

static int json_add_pcrs(json_object *o, const struct pcr_bank *bank, uint32_t mask)
{
        json_object *pcrs = json_object_new_object(), *b = json_object_new_object();
        if (!pcrs || !b || json_object_object_add(o, "pcrs", pcrs) < 0 ||
                json_object_object_add(pcrs, digest_alg_to_string(bank->alg), b) < 0) {
                json_object_put(b);
                return -ENOMEM;
        }
        for (unsigned i = 0; i < PCR_COUNT; i++) {
                _cleanup_free_ char *hex = NULL;
                char key[4];
                if (!(mask & (1u << i)))
                        continue;
                if (hex_encode(bank->values[i], digest_size(bank->alg), &hex) < 0)
                        return -ENOMEM;
                snprintf(key, sizeof(key), "%u", i);
                if (json_object_object_add(b, key, json_object_new_string(hex)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int json_add_log(json_object *logs, const char *key, const char *path)
{
        _cleanup_free_ uint8_t *buf = NULL;
        size_t size = 0;
        int r;

        if (!path)
                return 0;
        /* binary_bios_measurements reports st_size 0: eventlog_load's reader
         * is not exported, so read through stdio to EOF. */
        {
                _cleanup_fclose_ FILE *f = fopen(path, "re");
                size_t allocated = 0;
                if (!f)
                        return -errno;
                for (;;) {
                        size_t n;
                        if (allocated - size < 65536) {
                                uint8_t *p;
                                allocated = allocated ? allocated * 2 : 65536;
                                if (allocated > EVENTLOG_FILE_MAX * 2)
                                        return -EFBIG;
                                p = realloc(buf, allocated);
                                if (!p)
                                        return -ENOMEM;
                                buf = p;
                        }
                        n = fread(buf + size, 1, allocated - size, f);
                        size += n;
                        if (n == 0) {
                                if (ferror(f))
                                        return -EIO;
                                break;
                        }
                        if (size > EVENTLOG_FILE_MAX)
                                return -EFBIG;
                }
        }
        r = json_add_b64(logs, key, buf, size);
        return r;
}

int attest_evidence_create(struct tpm_context *c, const char *state_dir, const uint8_t *nonce, size_t nonce_size,
        uint32_t pcr_mask, const char *tvam_log_path, const char *firmware_log_path, char **ret_json)
{
        _cleanup_(esys_freep) TPM2B_ATTEST *quoted = NULL;
        _cleanup_(esys_freep) TPMT_SIGNATURE *sig = NULL;
        _cleanup_json_ json_object *o = NULL;
        _cleanup_free_ uint8_t *ak_bytes = NULL;
        _cleanup_free_ char *nonce_hex = NULL;
        json_object *logs, *quote;
        uint8_t sig_buf[sizeof(TPMT_SIGNATURE)];
        size_t ak_size, sig_size = 0;
        struct pcr_bank bank;
        TPM2B_PUBLIC ak_pub;
        ESYS_TR ak = ESYS_TR_NONE;
        int r;

        assert(c && state_dir && ret_json);
        assert(nonce || nonce_size == 0);
        if (nonce_size < ATTEST_NONCE_MIN || nonce_size > ATTEST_NONCE_MAX)
                return -EINVAL;
        if (pcr_mask == 0 || (pcr_mask & ~PCR_MASK_ALL))
                return -EINVAL;

        r = attest_ak_load(c, state_dir, &ak, &ak_pub);
        if (r < 0)
                return r;
        for (unsigned attempt = 0;; attempt++) {
                r = quote_once(c, ak, nonce, nonce_size, pcr_mask, &quoted, &sig, &bank);
                if (r != -EAGAIN || attempt >= 3)
                        break;
        }
        tpm_flush(c, &ak);
        if (r < 0)
                return r;

        if (Tss2_MU_TPMT_SIGNATURE_Marshal(sig, sig_buf, sizeof(sig_buf), &sig_size) != TSS2_RC_SUCCESS)
                return -EINVAL;
        r = marshal_public(&ak_pub, &ak_bytes, &ak_size);
        if (r < 0)
                return r;
        r = hex_encode(nonce, nonce_size, &nonce_hex);
        if (r < 0)
                return r;

        o = json_object_new_object();
        quote = json_object_new_object();
        logs = json_object_new_object();
        if (!o || !quote || !logs || json_object_object_add(o, "version", json_object_new_int(1)) < 0 ||
                json_object_object_add(o, "nonce", json_object_new_string(nonce_hex)) < 0 ||
                json_object_object_add(o, "quote", quote) < 0 || json_object_object_add(o, "event_logs", logs) < 0) {
                json_object_put(quote);
                json_object_put(logs);
                return -ENOMEM;
        }
        if ((r = json_add_b64(quote, "attest", quoted->attestationData, quoted->size)) < 0 ||
                (r = json_add_b64(quote, "signature", sig_buf, sig_size)) < 0 ||
                (r = json_add_b64(o, "ak_public", ak_bytes, ak_size)) < 0 ||
                (r = json_add_pcrs(o, &bank, pcr_mask)) < 0 || (r = json_add_log(logs, "tvam", tvam_log_path)) < 0 ||
                (r = json_add_log(logs, "firmware", firmware_log_path)) < 0)
                return r;
        return json_to_string(o, ret_json);
}
