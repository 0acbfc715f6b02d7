/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ENDORSE, verifier side: the chain EK CA -> AK (enrolment) -> platform key
 * (TPM2_Certify by the AK, PCR-bound policy) -> VM certificate (identity in
 * the manifest).  Terra §2.2: each link is a signature by the previous key.
 */

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy/pcr/policy.h"
#include "tvam/verify/json-util.h"
#include "tvam/verify/manifest.h"
#include "tvam/verify/tpm-types.h"
#include "tvam/verify/verify.h"

_printf_(3, 4) static int refuse(char *error, size_t size, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(error, size, fmt, ap);
        va_end(ap);
        return -EPERM;
}

int verify_platform_key(const char *certify_json, const uint8_t *nonce, size_t nonce_size,
        struct verify_ak *const *aks, size_t n_aks, const struct pcr_bank *trusted_state, struct crypto_key **ret_key,
        char *error, size_t error_size)
{
        _cleanup_json_ json_object *o = NULL;
        _cleanup_free_ uint8_t *pk = NULL, *ak = NULL, *attest = NULL, *sig = NULL;
        size_t pk_size, ak_size, attest_size, sig_size;
        struct tpm_public pk_pub, ak_pub;
        struct tpm_signature_ecdsa s;
        struct tpm_certify cert;
        struct verify_ak *key = NULL;
        json_object *certify, *v;
        uint32_t mask;

        assert(certify_json && nonce && ret_key && error);
        o = json_tokener_parse(certify_json);
        if (!o || !json_object_object_get_ex(o, "certify", &certify) ||
                json_get_b64(o, "platform_key_public", &pk, &pk_size) < 0 || json_get_b64(o, "ak_public", &ak, &ak_size) < 0 ||
                json_get_b64(certify, "attest", &attest, &attest_size) < 0 ||
                json_get_b64(certify, "signature", &sig, &sig_size) < 0 || !json_object_object_get_ex(o, "pcr_mask", &v))
                return refuse(error, error_size, "platform key certification is malformed");
        mask = (uint32_t)json_object_get_int64(v);
        if (tpm_public_parse(ak, ak_size, &ak_pub) < 0)
                return refuse(error, error_size, "the certifying AK's public area is malformed");
        for (size_t i = 0; i < n_aks; i++)
                if (memcmp(aks[i]->name, ak_pub.name, sizeof(ak_pub.name)) == 0)
                        key = aks[i];
        if (!key)
                return refuse(error, error_size, "the platform key is certified by an AK that is not enrolled");
        if (tpm_signature_parse(sig, sig_size, &s) < 0 ||
                crypto_verify_ecdsa_rs(key->key, attest, attest_size, s.r, s.r_size, s.s, s.s_size) < 0)
                return refuse(error, error_size, "the certification is not signed by the enrolled AK");
        if (tpm_certify_parse(attest, attest_size, &cert) < 0)
                return refuse(error, error_size, "the signed structure is not a TPM2_Certify result");
        if (cert.extra_size != nonce_size || memcmp(cert.extra, nonce, nonce_size) != 0)
                return refuse(error, error_size, "the certification does not carry this verifier's nonce");
        if (tpm_public_parse(pk, pk_size, &pk_pub) < 0)
                return refuse(error, error_size, "the platform key's public area is malformed");
        if (cert.name_size != sizeof(pk_pub.name) || memcmp(cert.name, pk_pub.name, sizeof(pk_pub.name)) != 0)
                return refuse(error, error_size, "the certified object is not this platform key");
        /* A TPM key that signs only through its policy (Part 1 §19.7):
         * fixedTPM, sign, no userWithAuth, a SHA-256 policy. */
        if (pk_pub.type != TPM_ALG_ECC || pk_pub.curve != TPM_ECC_NIST_P256 || pk_pub.x_size != 32 ||
                pk_pub.y_size != 32 || !(pk_pub.attributes & TPMA_FIXEDTPM) || !(pk_pub.attributes & TPMA_SIGN) ||
                (pk_pub.attributes & TPMA_USERWITHAUTH) || pk_pub.auth_policy_size != 32)
                return refuse(error, error_size,
                        "the platform key is not a fixedTPM ECC P-256 signing key usable only through its policy");
        if ((mask & ((1u << 14) | (1u << 15))) != ((1u << 14) | (1u << 15)) || (mask & ~PCR_MASK_ALL))
                return refuse(error, error_size, "the platform key's policy does not cover PCR 14 and 15");
        if (trusted_state) {
                struct policy p;
                if (policy_init(&p, DIGEST_SHA256) < 0 || policy_pcr_bank(&p, trusted_state, mask) < 0)
                        return -EIO;
                if (memcmp(p.digest, pk_pub.auth_policy, 32) != 0)
                        return refuse(error, error_size,
                                "the platform key's policy is not PolicyPCR over the attested (trusted) PCR values");
        }
        return crypto_key_from_p256(pk_pub.x, pk_pub.y, ret_key);
}

int verify_vm_certificate(const uint8_t *der, size_t size, struct crypto_key *platform_key,
        const struct verify_manifest *m, char *ret_identity, size_t identity_size, char *error, size_t error_size)
{
        char identity[CRYPTO_IDENTITY_MAX + 1];
        int r;

        assert(der && platform_key && m && ret_identity && error);
        r = crypto_cert_verify(der, size, platform_key, identity, sizeof(identity));
        if (r == -EPERM)
                return refuse(error, error_size, "the VM certificate is not signed by the certified platform key");
        if (r == -EKEYEXPIRED)
                return refuse(error, error_size, "the VM certificate is expired or not yet valid");
        if (r == -EKEYREJECTED)
                return refuse(error, error_size,
                        "the VM certificate is not an end-entity signing certificate (keyUsage digitalSignature, "
                        "CA:FALSE)");
        if (r == -ENOENT)
                return refuse(error, error_size, "the VM certificate has no TVAM identity extension");
        if (r < 0)
                return refuse(error, error_size, "the VM certificate is malformed");
        for (size_t i = 0; i < m->applications.n; i++)
                if (strcmp(m->applications.entries[i].identity, identity) == 0) {
                        if (strlen(identity) >= identity_size)
                                return -ENOBUFS;
                        strcpy(ret_identity, identity);
                        return 0;
                }
        return refuse(error, error_size, "the VM certificate's identity %.200s is not in the reference manifest",
                identity);
}
