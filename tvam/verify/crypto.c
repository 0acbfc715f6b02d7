/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/verify/crypto.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "tvam/shared/digest.h"
#include "tvam/shared/hex.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE *, X509_STORE_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_STORE_CTX *, X509_STORE_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY_CTX *, EVP_PKEY_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_CIPHER_CTX *, EVP_CIPHER_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(ECDSA_SIG *, ECDSA_SIG_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIGNUM *, BN_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(OSSL_PARAM_BLD *, OSSL_PARAM_BLD_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(OSSL_PARAM *, OSSL_PARAM_free)

static void sk_x509_pop_freep(STACK_OF(X509) **p)
{
        if (*p)
                sk_X509_pop_free(*p, X509_free);
}

struct crypto_key {
        EVP_PKEY *pkey;
        EVP_PKEY_CTX *verify_ctx; /* reused: one per key, not per signature */
};

static X509 *x509_from_der(const uint8_t *der, size_t size)
{
        const unsigned char *p = der;
        X509 *x;
        if (size > LONG_MAX)
                return NULL;
        x = d2i_X509(NULL, &p, (long)size);
        if (x && p != der + size) {
                X509_free(x); /* trailing bytes */
                return NULL;
        }
        return x;
}

static int load_pem_certs(const char *path, STACK_OF(X509) *sk)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        X509 *x;
        size_t n = 0;

        if (!f)
                return -errno;
        while ((x = PEM_read_X509(f, NULL, NULL, NULL))) {
                if (!sk_X509_push(sk, x)) {
                        X509_free(x);
                        return -ENOMEM;
                }
                n++;
        }
        ERR_clear_error(); /* the read that ended the loop */
        return n > 0 ? 0 : -EBADMSG;
}

int crypto_x509_verify(const uint8_t *der, size_t der_size, const char *ca_file, const char *untrusted_file,
        char *error, size_t error_size)
{
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_(X509_STORE_freep) X509_STORE *store = NULL;
        _cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = NULL;
        _cleanup_(sk_x509_pop_freep) STACK_OF(X509) *anchors = NULL;
        _cleanup_(sk_x509_pop_freep) STACK_OF(X509) *untrusted = NULL;
        int r;

        assert(der && ca_file && error && error_size > 0);
        error[0] = 0;
        cert = x509_from_der(der, der_size);
        if (!cert) {
                snprintf(error, error_size, "not a DER X.509 certificate");
                return -EBADMSG;
        }
        store = X509_STORE_new();
        anchors = sk_X509_new_null();
        untrusted = sk_X509_new_null();
        ctx = X509_STORE_CTX_new();
        if (!store || !anchors || !untrusted || !ctx)
                return -ENOMEM;
        r = load_pem_certs(ca_file, anchors);
        if (r < 0) {
                snprintf(error, error_size, "cannot read CA certificates from %s", ca_file);
                return r;
        }
        for (int i = 0; i < sk_X509_num(anchors); i++)
                if (X509_STORE_add_cert(store, sk_X509_value(anchors, i)) != 1)
                        return -ENOMEM;
        if (untrusted_file) {
                r = load_pem_certs(untrusted_file, untrusted);
                if (r < 0) {
                        snprintf(error, error_size, "cannot read intermediate certificates from %s", untrusted_file);
                        return r;
                }
        }
        if (X509_STORE_CTX_init(ctx, store, cert, untrusted) != 1)
                return -ENOMEM;
        /* EK certificates carry a critical SubjectAltName of TPM
         * manufacturer attributes (EK Credential Profile §3.2.9) that
         * OpenSSL handles; nothing else is relaxed. */
        if (X509_verify_cert(ctx) != 1) {
                snprintf(error, error_size, "%s", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
                ERR_clear_error();
                return -EPERM;
        }
        return 0;
}

static int bn_equal_bytes(const BIGNUM *bn, const uint8_t *bytes, size_t size)
{
        uint8_t buf[512];
        int len = BN_num_bytes(bn);

        /* TPM2B values may carry leading zeros; compare fixed-width */
        if (len < 0 || size > sizeof(buf) || (size_t)len > size)
                return 0;
        if (BN_bn2binpad(bn, buf, (int)size) != (int)size)
                return 0;
        return memcmp(buf, bytes, size) == 0;
}

int crypto_x509_matches_public(const uint8_t *der, size_t der_size, const struct tpm_public *ek)
{
        _cleanup_(X509_freep) X509 *cert = NULL;
        _cleanup_(BN_freep) BIGNUM *a = NULL, *b = NULL;
        EVP_PKEY *pkey;

        assert(der && ek);
        cert = x509_from_der(der, der_size);
        if (!cert)
                return -EBADMSG;
        pkey = X509_get0_pubkey(cert);
        if (!pkey)
                return -EPERM;
        if (ek->type == TPM_ALG_RSA) {
                if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA)
                        return -EPERM;
                if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &a) != 1 ||
                        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &b) != 1)
                        return -EIO;
                /* exponent 0 in a TPMT_PUBLIC means 65537 (Part 2 §12.2.3.5) */
                if (!bn_equal_bytes(a, ek->modulus, ek->modulus_size) || !BN_is_word(b, ek->exponent ? ek->exponent : 65537u))
                        return -EPERM;
                return 0;
        }
        if (ek->type == TPM_ALG_ECC && ek->curve == TPM_ECC_NIST_P256) {
                char group[32];
                if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC ||
                        EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) != 1 ||
                        strcmp(group, "prime256v1") != 0)
                        return -EPERM;
                if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &a) != 1 ||
                        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &b) != 1)
                        return -EIO;
                if (!bn_equal_bytes(a, ek->x, ek->x_size) || !bn_equal_bytes(b, ek->y, ek->y_size))
                        return -EPERM;
                return 0;
        }
        return -EOPNOTSUPP;
}

int crypto_kdfa_sha256(const uint8_t *key, size_t key_size, const char *label, const uint8_t *context_u,
        size_t context_u_size, const uint8_t *context_v, size_t context_v_size, size_t bits, uint8_t *out)
{
        size_t label_size = strlen(label) + 1; /* the label's terminating zero is hashed (§11.4.10.2) */
        size_t bytes = (bits + 7) / 8, done = 0;
        _cleanup_free_ uint8_t *msg = NULL;
        size_t msg_size = 4 + label_size + context_u_size + context_v_size + 4;

        assert(key && label && out);
        assert(bits % 8 == 0);
        msg = malloc(msg_size);
        if (!msg)
                return -ENOMEM;
        for (uint32_t counter = 1; done < bytes; counter++) {
                uint8_t block[32], *p = msg;
                unsigned len = 0;

                p[0] = (uint8_t)(counter >> 24), p[1] = (uint8_t)(counter >> 16), p[2] = (uint8_t)(counter >> 8),
                p[3] = (uint8_t)counter;
                p += 4;
                memcpy(p, label, label_size);
                p += label_size;
                if (context_u_size)
                        memcpy(p, context_u, context_u_size);
                p += context_u_size;
                if (context_v_size)
                        memcpy(p, context_v, context_v_size);
                p += context_v_size;
                p[0] = (uint8_t)(bits >> 24), p[1] = (uint8_t)(bits >> 16), p[2] = (uint8_t)(bits >> 8),
                p[3] = (uint8_t)bits;
                if (!HMAC(EVP_sha256(), key, (int)key_size, msg, msg_size, block, &len) || len != 32)
                        return -EIO;
                memcpy(out + done, block, bytes - done < 32 ? bytes - done : 32);
                done += bytes - done < 32 ? bytes - done : 32;
                explicit_bzero(block, sizeof(block));
        }
        return 0;
}

static int rsa_oaep_identity(EVP_PKEY *pkey, const uint8_t *seed, size_t seed_size, uint8_t *out, size_t *out_size)
{
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
        static const char label[] = "IDENTITY"; /* with its NUL (Part 1 §24.4, B.10.3) */
        void *l;

        if (!ctx)
                return -ENOMEM;
        if (EVP_PKEY_encrypt_init(ctx) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
                EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) != 1 || EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) != 1)
                return -EIO;
        l = OPENSSL_memdup(label, sizeof(label));
        if (!l)
                return -ENOMEM;
        if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, l, sizeof(label)) != 1) {
                OPENSSL_free(l);
                return -EIO;
        }
        if (EVP_PKEY_encrypt(ctx, out, out_size, seed, seed_size) != 1)
                return -EIO;
        return 0;
}

int crypto_kdfe_sha256(const uint8_t *z, size_t z_size, const char *label, const uint8_t *party_u, size_t u_size,
        const uint8_t *party_v, size_t v_size, size_t bits, uint8_t *out)
{
        _cleanup_(digest_ctx_freep) struct digest_ctx *ctx = NULL;
        static const uint8_t counter[4] = { 0, 0, 0, 1 };
        uint8_t block[32];
        int r;

        assert(z && label && out);
        if (bits == 0 || bits > 256 || bits % 8)
                return -EINVAL;
        /* K(1) = H(counter || Z || label (with its zero) || partyU || partyV) */
        r = digest_begin(DIGEST_SHA256, &ctx);
        if (r < 0)
                return r;
        if ((r = digest_update(ctx, counter, 4)) < 0 || (r = digest_update(ctx, z, z_size)) < 0 ||
                (r = digest_update(ctx, label, strlen(label) + 1)) < 0 || (r = digest_update(ctx, party_u, u_size)) < 0 ||
                (r = digest_update(ctx, party_v, v_size)) < 0)
                return r;
        r = digest_end(TAKE_PTR(ctx), block);
        if (r < 0)
                return r;
        memcpy(out, block, bits / 8);
        explicit_bzero(block, sizeof(block));
        return 0;
}

static int rsa_key_from_public(const struct tpm_public *ek, EVP_PKEY **ret)
{
        _cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        _cleanup_(OSSL_PARAM_freep) OSSL_PARAM *params = NULL;
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        _cleanup_(BN_freep) BIGNUM *n = BN_bin2bn(ek->modulus, (int)ek->modulus_size, NULL);
        _cleanup_(BN_freep) BIGNUM *e = BN_new();

        if (!bld || !ctx || !n || !e || BN_set_word(e, ek->exponent ? ek->exponent : 65537u) != 1 ||
                OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
                OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1 || !(params = OSSL_PARAM_BLD_to_param(bld)))
                return -ENOMEM;
        if (EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, ret, EVP_PKEY_PUBLIC_KEY, params) != 1) {
                ERR_clear_error();
                return -EBADMSG;
        }
        return 0;
}

/* RSA EK: the seed OAEP-encrypted; *RET_SECRET = TPM2B_ENCRYPTED_SECRET. */
static int seed_rsa(const struct tpm_public *ek, struct secret *seed, uint8_t **ret_secret, size_t *ret_size)
{
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        _cleanup_free_ uint8_t *out = NULL;
        size_t size = 512;
        int r;

        r = rsa_key_from_public(ek, &pkey);
        if (r < 0)
                return r;
        if (RAND_bytes(seed->data, (int)seed->size) != 1)
                return -EIO;
        out = malloc(2 + size);
        if (!out)
                return -ENOMEM;
        r = rsa_oaep_identity(pkey, seed->data, seed->size, out + 2, &size);
        if (r < 0)
                return r;
        out[0] = (uint8_t)(size >> 8);
        out[1] = (uint8_t)size;
        *ret_secret = TAKE_PTR(out);
        *ret_size = 2 + size;
        return 0;
}

/* ECC EK: ephemeral ECDH + KDFe (Part 1 Annex C.6.1); *RET_SECRET =
 * TPM2B_ENCRYPTED_SECRET holding the marshalled ephemeral TPMS_ECC_POINT. */
static int seed_ecc(const struct tpm_public *ek, struct secret *seed, uint8_t **ret_secret, size_t *ret_size)
{
        _cleanup_(crypto_key_freep) struct crypto_key *peer = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *eph = EVP_EC_gen("P-256");
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
        _cleanup_(BN_freep) BIGNUM *x = NULL, *y = NULL;
        _cleanup_free_ uint8_t *out = NULL;
        uint8_t z[32], ex[32], ey[32];
        size_t z_size = sizeof(z);
        int r;

        if (ek->curve != TPM_ECC_NIST_P256 || ek->x_size != 32 || ek->y_size != 32)
                return -EOPNOTSUPP;
        r = crypto_key_from_p256(ek->x, ek->y, &peer);
        if (r < 0)
                return r;
        if (!eph || !(ctx = EVP_PKEY_CTX_new(eph, NULL)))
                return -ENOMEM;
        if (EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer(ctx, peer->pkey) != 1 ||
                EVP_PKEY_derive(ctx, z, &z_size) != 1 || z_size != 32) {
                ERR_clear_error();
                return -EIO;
        }
        if (EVP_PKEY_get_bn_param(eph, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
                EVP_PKEY_get_bn_param(eph, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1 || BN_bn2binpad(x, ex, 32) != 32 ||
                BN_bn2binpad(y, ey, 32) != 32) {
                explicit_bzero(z, sizeof(z));
                return -EIO;
        }
        r = crypto_kdfe_sha256(z, 32, "IDENTITY", ex, 32, ek->x, 32, 256, seed->data);
        explicit_bzero(z, sizeof(z));
        if (r < 0)
                return r;
        /* TPM2B_ENCRYPTED_SECRET { size, TPMS_ECC_POINT { TPM2B x, TPM2B y } } */
        out = malloc(2 + 2 + 32 + 2 + 32);
        if (!out)
                return -ENOMEM;
        out[0] = 0, out[1] = 68;
        out[2] = 0, out[3] = 32;
        memcpy(out + 4, ex, 32);
        out[36] = 0, out[37] = 32;
        memcpy(out + 38, ey, 32);
        *ret_secret = TAKE_PTR(out);
        *ret_size = 70;
        return 0;
}

int crypto_make_credential(const struct tpm_public *ek, const uint8_t *ak_name, size_t ak_name_size,
        const struct secret *credential, uint8_t **ret_blob, size_t *ret_blob_size, uint8_t **ret_secret,
        size_t *ret_secret_size)
{
        _cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *cipher = NULL;
        _cleanup_secret_ struct secret *seed = NULL, *keys = NULL;
        _cleanup_free_ uint8_t *blob = NULL, *enc_secret = NULL, *hmac_in = NULL;
        uint8_t plain[2 + 64], iv[16] = {}, *sym_key, *hmac_key, mac[32], *enc;
        size_t plain_size, enc_size = 0, inner;
        unsigned mac_len = 0;
        int r, outl = 0, finl = 0;

        assert(ek && ak_name && credential && ret_blob && ret_blob_size && ret_secret && ret_secret_size);
        if (credential->size > 64 || ak_name_size > 68)
                return -EINVAL;
        /* The EK's nameAlg and symmetric algorithm size the seed and symKey
         * (Part 1 §24.4): TVAM accepts the default templates' SHA-256 and
         * AES-128-CFB only. */
        if (ek->name_alg != TPM_ALG_SHA256 || ek->sym_alg != TPM_ALG_AES || ek->sym_bits != 128 ||
                ek->sym_mode != TPM_ALG_CFB)
                return -EOPNOTSUPP;

        r = secret_new(32, &seed);
        if (r < 0)
                return r;
        if (ek->type == TPM_ALG_RSA)
                r = seed_rsa(ek, seed, &enc_secret, &enc_size);
        else if (ek->type == TPM_ALG_ECC)
                r = seed_ecc(ek, seed, &enc_secret, &enc_size);
        else
                r = -EOPNOTSUPP;
        if (r < 0)
                return r;

        /* symKey (AES-128) and HMACkey (SHA-256) from the seed */
        r = secret_new(16 + 32, &keys);
        if (r < 0)
                return r;
        sym_key = keys->data;
        hmac_key = keys->data + 16;
        r = crypto_kdfa_sha256(seed->data, 32, "STORAGE", ak_name, ak_name_size, NULL, 0, 128, sym_key);
        if (r < 0)
                return r;
        r = crypto_kdfa_sha256(seed->data, 32, "INTEGRITY", NULL, 0, NULL, 0, 256, hmac_key);
        if (r < 0)
                return r;

        /* encIdentity = CFB(symKey, 0, TPM2B_DIGEST(credential)) (§24.4) */
        plain[0] = (uint8_t)(credential->size >> 8);
        plain[1] = (uint8_t)credential->size;
        memcpy(plain + 2, credential->data, credential->size);
        plain_size = 2 + credential->size;
        blob = malloc(2 + 2 + 32 + plain_size);
        hmac_in = malloc(plain_size + ak_name_size);
        cipher = EVP_CIPHER_CTX_new();
        if (!blob || !hmac_in || !cipher) {
                explicit_bzero(plain, sizeof(plain));
                return -ENOMEM;
        }
        enc = blob + 2 + 2 + 32;
        if (EVP_EncryptInit_ex(cipher, EVP_aes_128_cfb128(), NULL, sym_key, iv) != 1 ||
                EVP_EncryptUpdate(cipher, enc, &outl, plain, (int)plain_size) != 1 ||
                EVP_EncryptFinal_ex(cipher, enc + outl, &finl) != 1 || (size_t)(outl + finl) != plain_size) {
                explicit_bzero(plain, sizeof(plain));
                return -EIO;
        }
        explicit_bzero(plain, sizeof(plain));

        /* outerHMAC = HMAC(HMACkey, encIdentity || name) (§24.5) */
        memcpy(hmac_in, enc, plain_size);
        memcpy(hmac_in + plain_size, ak_name, ak_name_size);
        if (!HMAC(EVP_sha256(), hmac_key, 32, hmac_in, plain_size + ak_name_size, mac, &mac_len) || mac_len != 32)
                return -EIO;

        /* TPM2B_ID_OBJECT { size, integrityHMAC (TPM2B_DIGEST), encIdentity } */
        inner = 2 + 32 + plain_size;
        blob[0] = (uint8_t)(inner >> 8);
        blob[1] = (uint8_t)inner;
        blob[2] = 0;
        blob[3] = 32;
        memcpy(blob + 4, mac, 32);

        *ret_blob = TAKE_PTR(blob);
        *ret_blob_size = 2 + inner;
        *ret_secret = TAKE_PTR(enc_secret);
        *ret_secret_size = enc_size;
        return 0;
}

void crypto_key_free(struct crypto_key *k)
{
        if (!k)
                return;
        EVP_PKEY_CTX_free(k->verify_ctx);
        EVP_PKEY_free(k->pkey);
        free(k);
}

static int key_wrap(EVP_PKEY *pkey, struct crypto_key **ret)
{
        struct crypto_key *k = calloc(1, sizeof(*k));
        if (!k) {
                EVP_PKEY_free(pkey);
                return -ENOMEM;
        }
        k->pkey = pkey;
        k->verify_ctx = EVP_PKEY_CTX_new(pkey, NULL);
        if (!k->verify_ctx || EVP_PKEY_verify_init(k->verify_ctx) != 1) {
                crypto_key_free(k);
                return -EIO;
        }
        *ret = k;
        return 0;
}

int crypto_key_from_p256(const uint8_t x[32], const uint8_t y[32], struct crypto_key **ret)
{
        _cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        _cleanup_(OSSL_PARAM_freep) OSSL_PARAM *params = NULL;
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        EVP_PKEY *pkey = NULL;
        uint8_t point[65];

        assert(x && y && ret);
        if (!bld || !ctx)
                return -ENOMEM;
        point[0] = 0x04; /* uncompressed (SEC 1 §2.3.3) */
        memcpy(point + 1, x, 32);
        memcpy(point + 33, y, 32);
        if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
                OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)) != 1)
                return -ENOMEM;
        params = OSSL_PARAM_BLD_to_param(bld);
        if (!params)
                return -ENOMEM;
        /* fromdata checks the point is on the curve */
        if (EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
                ERR_clear_error();
                return -EBADMSG;
        }
        return key_wrap(pkey, ret);
}

int crypto_key_load_pem(const char *path, struct crypto_key **ret)
{
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        EVP_PKEY *pkey;

        assert(path && ret);
        if (!f)
                return -errno;
        pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
        if (!pkey) {
                ERR_clear_error();
                return -EBADMSG;
        }
        if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
                EVP_PKEY_free(pkey);
                return -EOPNOTSUPP;
        }
        return key_wrap(pkey, ret);
}

int crypto_verify_der(struct crypto_key *k, const uint8_t *data, size_t size, const uint8_t *sig, size_t sig_size)
{
        uint8_t digest[32];
        int r;

        assert(k && (data || size == 0) && sig);
        r = digest_buffer(DIGEST_SHA256, data, size, digest);
        if (r < 0)
                return r;
        r = EVP_PKEY_verify(k->verify_ctx, sig, sig_size, digest, sizeof(digest));
        if (r != 1) {
                ERR_clear_error();
                return -EPERM;
        }
        return 0;
}

/* The DER ECDSA-Sig-Value (RFC 3279 §2.2.3) of a raw (r, s) pair, as TPM
 * signatures carry it, into DER (at most ECDSA_DER_MAX bytes). */
#define ECDSA_DER_MAX 80
static int ecdsa_rs_to_der(const uint8_t *r_bytes, size_t r_size, const uint8_t *s_bytes, size_t s_size,
        unsigned char der[static ECDSA_DER_MAX], size_t *ret_len)
{
        _cleanup_(ECDSA_SIG_freep) ECDSA_SIG *sig = ECDSA_SIG_new();
        BIGNUM *r = NULL, *s = NULL;
        unsigned char *p = der;
        int len;

        if (!sig)
                return -ENOMEM;
        r = BN_bin2bn(r_bytes, (int)r_size, NULL);
        s = BN_bin2bn(s_bytes, (int)s_size, NULL);
        if (!r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
                BN_free(r);
                BN_free(s);
                return -ENOMEM;
        }
        if (i2d_ECDSA_SIG(sig, NULL) > ECDSA_DER_MAX)
                return -EBADMSG;
        len = i2d_ECDSA_SIG(sig, &p);
        if (len <= 0)
                return -EBADMSG;
        *ret_len = (size_t)len;
        return 0;
}

int crypto_verify_ecdsa_rs(struct crypto_key *k, const uint8_t *data, size_t size, const uint8_t *r_bytes,
        size_t r_size, const uint8_t *s_bytes, size_t s_size)
{
        unsigned char der[ECDSA_DER_MAX];
        size_t len;
        int r;

        assert(k && r_bytes && s_bytes);
        r = ecdsa_rs_to_der(r_bytes, r_size, s_bytes, s_size, der, &len);
        if (r < 0)
                return r;
        return crypto_verify_der(k, data, size, der, len);
}

int crypto_key_to_pem(struct crypto_key *k, char **ret)
{
        BIO *bio = BIO_new(BIO_s_mem());
        char *p = NULL, *s;
        long n;

        assert(k && ret);
        if (!bio)
                return -ENOMEM;
        if (PEM_write_bio_PUBKEY(bio, k->pkey) != 1) {
                BIO_free(bio);
                return -EIO;
        }
        n = BIO_get_mem_data(bio, &p);
        s = n > 0 ? strndup(p, (size_t)n) : NULL;
        BIO_free(bio);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* ---- X.509 (ENDORSE) ----------------------------------------------------- */

DEFINE_TRIVIAL_CLEANUP_FUNC(X509_EXTENSION *, X509_EXTENSION_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_OBJECT *, ASN1_OBJECT_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_OCTET_STRING *, ASN1_OCTET_STRING_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(ASN1_UTF8STRING *, ASN1_UTF8STRING_free)

static int add_ext_nid(X509 *x, int nid, const char *value)
{
        X509V3_CTX ctx;
        _cleanup_(X509_EXTENSION_freep) X509_EXTENSION *e = NULL;

        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, NULL, x, NULL, NULL, 0);
        e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
        if (!e || X509_add_ext(x, e, -1) != 1)
                return -EIO;
        return 0;
}

static int add_identity_ext(X509 *x, const char *identity)
{
        _cleanup_(ASN1_OBJECT_freep) ASN1_OBJECT *oid = OBJ_txt2obj(CRYPTO_IDENTITY_OID, 1);
        _cleanup_(ASN1_UTF8STRING_freep) ASN1_UTF8STRING *s = ASN1_UTF8STRING_new();
        _cleanup_(ASN1_OCTET_STRING_freep) ASN1_OCTET_STRING *value = ASN1_OCTET_STRING_new();
        _cleanup_(X509_EXTENSION_freep) X509_EXTENSION *e = NULL;
        _cleanup_free_ unsigned char *der = NULL;
        unsigned char *p;
        int len;

        if (!oid || !s || !value || ASN1_STRING_set(s, identity, (int)strlen(identity)) != 1)
                return -ENOMEM;
        len = i2d_ASN1_UTF8STRING(s, NULL);
        if (len <= 0 || !(der = malloc((size_t)len)))
                return -ENOMEM;
        p = der;
        i2d_ASN1_UTF8STRING(s, &p);
        if (ASN1_OCTET_STRING_set(value, der, len) != 1)
                return -ENOMEM;
        e = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, value);
        if (!e || X509_add_ext(x, e, -1) != 1)
                return -EIO;
        return 0;
}

static int set_cn(X509_NAME *name, const char *cn)
{
        return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) == 1 ?
                0 :
                -EINVAL;
}

int crypto_cert_tbs(const uint8_t *spki, size_t spki_size, const char *subject_cn, const char *issuer_cn,
        const char *identity, uint64_t serial, unsigned days, uint8_t **ret, size_t *ret_size)
{
        _cleanup_(X509_freep) X509 *x = X509_new();
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL, *placeholder = NULL;
        const unsigned char *p = spki;
        unsigned char *out, *q;
        int len;

        assert(spki && subject_cn && issuer_cn && identity && ret && ret_size);
        if (!x)
                return -ENOMEM;
        if (strlen(identity) == 0 || strlen(identity) > CRYPTO_IDENTITY_MAX || spki_size > LONG_MAX)
                return -EINVAL;
        key = d2i_PUBKEY(NULL, &p, (long)spki_size);
        if (!key || p != spki + spki_size) {
                ERR_clear_error();
                return -EBADMSG;
        }
        if (X509_set_version(x, X509_VERSION_3) != 1 || ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) != 1 ||
                set_cn(X509_get_subject_name(x), subject_cn) < 0 || set_cn(X509_get_issuer_name(x), issuer_cn) < 0 ||
                !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
                !X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 24 * 3600) || X509_set_pubkey(x, key) != 1)
                return -EINVAL;
        if (add_ext_nid(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
                add_ext_nid(x, NID_key_usage, "critical,digitalSignature") < 0 || add_identity_ext(x, identity) < 0)
                return -EIO;
        /* OpenSSL 3 sets the TBS signature AlgorithmIdentifier only while
         * signing: sign once with a throw-away P-256 key so the TBS names
         * ecdsa-with-SHA256; the real signature comes from the TPM. */
        placeholder = EVP_EC_gen("P-256");
        if (!placeholder || X509_sign(x, placeholder, EVP_sha256()) <= 0)
                return -EIO;
        len = i2d_re_X509_tbs(x, NULL);
        if (len <= 0)
                return -EIO;
        out = malloc((size_t)len);
        if (!out)
                return -ENOMEM;
        q = out;
        i2d_re_X509_tbs(x, &q);
        *ret = out;
        *ret_size = (size_t)len;
        return 0;
}

/* DER definite length (X.690 §8.1.3). */
static size_t der_len(size_t n, uint8_t *out)
{
        if (n < 128) {
                out[0] = (uint8_t)n;
                return 1;
        }
        if (n < 256) {
                out[0] = 0x81, out[1] = (uint8_t)n;
                return 2;
        }
        if (n < 65536) {
                out[0] = 0x82, out[1] = (uint8_t)(n >> 8), out[2] = (uint8_t)n;
                return 3;
        }
        out[0] = 0x83, out[1] = (uint8_t)(n >> 16), out[2] = (uint8_t)(n >> 8), out[3] = (uint8_t)n;
        return 4;
}

int crypto_cert_assemble(const uint8_t *tbs, size_t tbs_size, const uint8_t *r_bytes, size_t r_size,
        const uint8_t *s_bytes, size_t s_size, uint8_t **ret, size_t *ret_size)
{
        /* AlgorithmIdentifier { ecdsa-with-SHA256 (1.2.840.10045.4.3.2) } */
        static const uint8_t alg[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
        _cleanup_(X509_freep) X509 *check = NULL;
        _cleanup_free_ uint8_t *out = NULL;
        unsigned char sig_der[ECDSA_DER_MAX];
        uint8_t hdr[8], bit_hdr[8];
        size_t hdr_len, bit_len, body, n = 0;
        const unsigned char *c;
        size_t sig_len;
        int r;

        assert(tbs && r_bytes && s_bytes && ret && ret_size);
        if (tbs_size > 0xffffff)
                return -ENOMEM;
        r = ecdsa_rs_to_der(r_bytes, r_size, s_bytes, s_size, sig_der, &sig_len);
        if (r < 0)
                return r;

        bit_hdr[0] = 0x03;
        bit_len = 1 + der_len(sig_len + 1, bit_hdr + 1);
        body = tbs_size + sizeof(alg) + bit_len + 1 + sig_len;
        hdr[0] = 0x30;
        hdr_len = 1 + der_len(body, hdr + 1);
        out = malloc(hdr_len + body);
        if (!out)
                return -ENOMEM;
        memcpy(out + n, hdr, hdr_len), n += hdr_len;
        memcpy(out + n, tbs, tbs_size), n += tbs_size;
        memcpy(out + n, alg, sizeof(alg)), n += sizeof(alg);
        memcpy(out + n, bit_hdr, bit_len), n += bit_len;
        out[n++] = 0x00; /* no unused bits */
        memcpy(out + n, sig_der, sig_len), n += sig_len;

        c = out;
        check = d2i_X509(NULL, &c, (long)n);
        if (!check || c != out + n) {
                ERR_clear_error();
                return -EBADMSG;
        }
        *ret = TAKE_PTR(out);
        *ret_size = n;
        return 0;
}

void crypto_cert_describe(const uint8_t *der, size_t size, char *serial, size_t serial_size, char fingerprint[65])
{
        _cleanup_(X509_freep) X509 *x = NULL;
        _cleanup_(BN_freep) BIGNUM *bn = NULL;
        _cleanup_free_ char *fp = NULL;
        uint8_t md[32];
        char *hex;

        snprintf(serial, serial_size, "?");
        fingerprint[0] = '\0';
        if (digest_buffer(DIGEST_SHA256, der, size, md) == 0 && hex_encode(md, sizeof(md), &fp) == 0)
                snprintf(fingerprint, 65, "%s", fp);
        x = x509_from_der(der, size);
        if (!x || !(bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL))) {
                ERR_clear_error();
                return;
        }
        hex = BN_bn2hex(bn);
        if (hex)
                snprintf(serial, serial_size, "%s", hex);
        OPENSSL_free(hex);
}

int crypto_cert_verify(const uint8_t *der, size_t size, struct crypto_key *issuer, char *ret_identity,
        size_t identity_size)
{
        _cleanup_(X509_freep) X509 *x = NULL;
        _cleanup_(ASN1_OBJECT_freep) ASN1_OBJECT *oid = OBJ_txt2obj(CRYPTO_IDENTITY_OID, 1);
        X509_EXTENSION *e;
        const ASN1_OCTET_STRING *value;
        ASN1_UTF8STRING *s;
        const unsigned char *p;
        int idx;

        assert(der && issuer && ret_identity && identity_size > 0);
        if (!oid)
                return -ENOMEM;
        x = x509_from_der(der, size);
        if (!x)
                return -EBADMSG;
        if (X509_verify(x, issuer->pkey) != 1) {
                ERR_clear_error();
                return -EPERM;
        }
        /* RFC 5280 §4.1.2.5: valid now (X509_cmp_current_time: -1 for a
         * time at or before now, 1 after, 0 on error). */
        if (X509_cmp_current_time(X509_get0_notBefore(x)) >= 0 ||
                X509_cmp_current_time(X509_get0_notAfter(x)) <= 0)
                return -EKEYEXPIRED;
        /* §4.2.1.3, §4.2.1.9: a TLS end-entity key, not a CA. */
        if (!(X509_get_extension_flags(x) & EXFLAG_KUSAGE) || !(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE) ||
                !(X509_get_extension_flags(x) & EXFLAG_BCONS) || X509_check_ca(x) != 0)
                return -EKEYREJECTED;
        idx = X509_get_ext_by_OBJ(x, oid, -1);
        if (idx < 0)
                return -ENOENT;
        e = X509_get_ext(x, idx);
        value = X509_EXTENSION_get_data(e);
        p = ASN1_STRING_get0_data(value);
        s = d2i_ASN1_UTF8STRING(NULL, &p, ASN1_STRING_length(value));
        if (!s) {
                ERR_clear_error();
                return -EBADMSG;
        }
        if ((size_t)ASN1_STRING_length(s) >= identity_size ||
                memchr(ASN1_STRING_get0_data(s), 0, (size_t)ASN1_STRING_length(s))) {
                ASN1_UTF8STRING_free(s);
                return -EBADMSG;
        }
        memcpy(ret_identity, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
        ret_identity[ASN1_STRING_length(s)] = 0;
        ASN1_UTF8STRING_free(s);
        return 0;
}
