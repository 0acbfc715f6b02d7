/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/attest/csr.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

#include "tvam/shared/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(X509_REQ *, X509_REQ_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free);

#define FAIL(err, ...)                                                                                      \
        ({                                                                                                  \
                snprintf(error, error_size, __VA_ARGS__);                                                   \
                (err);                                                                                      \
        })

int attest_csr_check(const uint8_t *csr, size_t size, uint8_t **ret_spki, size_t *ret_spki_size, char *error,
        size_t error_size)
{
        _cleanup_(X509_REQ_freep) X509_REQ *req = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
        const unsigned char *p = csr;
        unsigned char *spki = NULL;
        uint8_t *out;
        char group[64] = "";
        int n;

        assert(ret_spki && ret_spki_size && error && error_size > 0);
        error[0] = '\0';
        /* An empty ENDORSE payload arrives as CSR NULL, SIZE 0. */
        if (!csr || size == 0 || size > 65536)
                return FAIL(-EBADMSG, "certification request of %zu bytes", size);
        req = d2i_X509_REQ(NULL, &p, (long)size);
        if (!req)
                return FAIL(-EBADMSG, "not a PKCS#10 certification request (DER)");
        if (p != csr + size)
                return FAIL(-EBADMSG, "trailing bytes after the certification request");
        key = X509_REQ_get_pubkey(req);
        if (!key)
                return FAIL(-EBADMSG, "the certification request's public key does not parse");
        /* Only ECC P-256: the key size TLS 1.3 peers all accept, and what
         * the platform key itself is. */
        if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC ||
                EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), NULL) != 1 ||
                strcmp(group, SN_X9_62_prime256v1) != 0)
                return FAIL(-EOPNOTSUPP, "the certification request's key is not ECC P-256");
        /* RFC 2986 §4.2: the signature over certificationRequestInfo with
         * the requested key proves the requester holds its private key. */
        if (X509_REQ_verify(req, key) != 1)
                return FAIL(-EPERM, "the certification request's self-signature does not verify");
        n = i2d_PUBKEY(key, &spki);
        if (n <= 0)
                return FAIL(-ENOMEM, "cannot encode the public key");
        out = malloc((size_t)n);
        if (!out) {
                OPENSSL_free(spki);
                return FAIL(-ENOMEM, "out of memory");
        }
        memcpy(out, spki, (size_t)n);
        OPENSSL_free(spki);
        *ret_spki = out;
        *ret_spki_size = (size_t)n;
        return 0;
}
