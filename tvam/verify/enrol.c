/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Enrolment of an AK with the verifier by credential activation (TPM 2.0
 * Part 1 §24; TCG "TPM 2.0 Keys for Device Identity and Attestation" §5):
 * the verifier encrypts a secret to the certified EK, bound to the AK's
 * name; only the TPM holding both can release it.
 */

#include "tvam/verify/verify.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tvam/shared/digest.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/verify/base64.h"
#include "tvam/verify/json-util.h"

#define CREDENTIAL_SIZE 32u
#define RECORD_MAX (64u * 1024u)

_printf_(4, 5) static int fail(char *error, size_t size, int r, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(error, size, fmt, ap);
        va_end(ap);
        return r;
}

int verify_enrol_challenge(const char *request_json, const char *ca_file, const char *intermediates_file,
        char **ret_challenge, char **ret_pending, char *error, size_t error_size)
{
        _cleanup_json_ json_object *req = NULL, *challenge = NULL, *pending = NULL;
        _cleanup_free_ uint8_t *cert = NULL, *ek = NULL, *ak = NULL, *blob = NULL, *enc = NULL;
        _cleanup_secret_ struct secret *credential = NULL;
        _cleanup_free_ char *secret_hash_hex = NULL;
        size_t cert_size, ek_size, ak_size, blob_size, enc_size;
        struct tpm_public ek_pub, ak_pub;
        uint8_t secret_hash[32];
        const char *ek_type;
        char why[256];
        int r;

        assert(request_json && ca_file && ret_challenge && ret_pending && error);
        req = json_tokener_parse(request_json);
        if (!req || json_get_b64(req, "ek_certificate", &cert, &cert_size) < 0 ||
                json_get_b64(req, "ek_public", &ek, &ek_size) < 0 || json_get_b64(req, "ak_public", &ak, &ak_size) < 0)
                return fail(error, error_size, -EBADMSG, "%s", "enrolment request is malformed");

        r = crypto_x509_verify(cert, cert_size, ca_file, intermediates_file, why, sizeof(why));
        if (r < 0)
                return fail(error, error_size, r == -EPERM || r == -EBADMSG ? -EPERM : r,
                        "EK certificate does not chain to the trusted CA: %s", why);
        if (tpm_public_parse(ek, ek_size, &ek_pub) < 0)
                return fail(error, error_size, -EPERM, "%s", "EK public area is malformed or not SHA-256/RSA/ECC");
        r = crypto_x509_matches_public(cert, cert_size, &ek_pub);
        if (r < 0)
                return fail(error, error_size, -EPERM, "%s",
                        r == -EOPNOTSUPP ? "only RSA 2048 and ECC P-256 EKs are supported" :
                                           "EK public key differs from the key in the EK certificate");
        ek_type = json_get_string(req, "ek_type");
        if (!ek_type || strcmp(ek_type, ek_pub.type == TPM_ALG_RSA ? "rsa2048" : "ecc-p256") != 0)
                return fail(error, error_size, -EPERM, "%s", "\"ek_type\" does not name the EK's type");
        if (tpm_public_parse(ak, ak_size, &ak_pub) < 0 || !tpm_public_is_ak(&ak_pub))
                return fail(error, error_size, -EPERM, "%s",
                        "AK is not a restricted ECC P-256 ECDSA/SHA-256 signing key that never leaves the TPM");

        r = secret_new_random(CREDENTIAL_SIZE, &credential);
        if (r < 0)
                return r;
        r = crypto_make_credential(&ek_pub, ak_pub.name, sizeof(ak_pub.name), credential, &blob, &blob_size, &enc,
                &enc_size);
        if (r < 0)
                return fail(error, error_size, r, "%s", "MakeCredential failed");
        r = digest_buffer(DIGEST_SHA256, credential->data, credential->size, secret_hash);
        if (r < 0)
                return r;
        r = hex_encode(secret_hash, sizeof(secret_hash), &secret_hash_hex);
        if (r < 0)
                return r;

        challenge = json_object_new_object();
        pending = json_object_new_object();
        if (!challenge || !pending || json_add_int(challenge, "version", 1) < 0 ||
                json_add_string(challenge, "ek_type", ek_type) < 0 ||
                json_add_b64(challenge, "credential_blob", blob, blob_size) < 0 ||
                json_add_b64(challenge, "encrypted_secret", enc, enc_size) < 0 || json_add_int(pending, "version", 1) < 0 ||
                json_add_b64(pending, "ak_public", ak, ak_size) < 0 ||
                json_add_b64(pending, "ek_certificate", cert, cert_size) < 0 ||
                json_add_string(pending, "secret_sha256", secret_hash_hex) < 0)
                return -ENOMEM;
        r = json_to_string(challenge, ret_challenge);
        if (r < 0)
                return r;
        r = json_to_string(pending, ret_pending);
        if (r < 0) {
                free(*ret_challenge);
                *ret_challenge = NULL;
        }
        return r;
}

int verify_enrol_complete(const char *pending_json, const char *response_json, char **ret_record,
        char **ret_name_hex, char *error, size_t error_size)
{
        _cleanup_json_ json_object *pending = NULL, *resp = NULL, *record = NULL;
        _cleanup_free_ uint8_t *ak = NULL, *cert = NULL, *answer = NULL;
        _cleanup_free_ char *name_hex = NULL;
        const char *expected_hex, *answer_hex;
        uint8_t expected[32], got[32];
        size_t ak_size, cert_size, answer_size;
        struct tpm_public ak_pub;
        int r;

        assert(pending_json && response_json && ret_record && ret_name_hex && error);
        pending = json_tokener_parse(pending_json);
        resp = json_tokener_parse(response_json);
        if (!pending || json_get_b64(pending, "ak_public", &ak, &ak_size) < 0 ||
                json_get_b64(pending, "ek_certificate", &cert, &cert_size) < 0 ||
                !(expected_hex = json_get_string(pending, "secret_sha256")) ||
                hex_decode_exact(expected_hex, expected, sizeof(expected)) < 0)
                return fail(error, error_size, -EBADMSG, "%s", "pending enrolment state is malformed");
        if (!resp || !(answer_hex = json_get_string(resp, "secret")) ||
                hex_decode(answer_hex, &answer, &answer_size) < 0)
                return fail(error, error_size, -EPERM, "%s", "enrolment answer is malformed");
        r = digest_buffer(DIGEST_SHA256, answer, answer_size, got);
        explicit_bzero(answer, answer_size);
        if (r < 0)
                return r;
        /* Comparing hashes of the secret: timing reveals nothing useful. */
        if (memcmp(got, expected, sizeof(got)) != 0)
                return fail(error, error_size, -EPERM, "%s",
                        "the platform did not recover the credential: its TPM does not hold both the certified EK "
                        "and the AK");
        r = tpm_public_parse(ak, ak_size, &ak_pub);
        if (r < 0)
                return fail(error, error_size, -EBADMSG, "%s", "pending AK is malformed");
        r = hex_encode(ak_pub.name, sizeof(ak_pub.name), &name_hex);
        if (r < 0)
                return r;

        record = json_object_new_object();
        if (!record || json_add_int(record, "version", 1) < 0 || json_add_string(record, "ak_name", name_hex) < 0 ||
                json_add_b64(record, "ak_public", ak, ak_size) < 0 ||
                json_add_b64(record, "ek_certificate", cert, cert_size) < 0)
                return -ENOMEM;
        r = json_to_string(record, ret_record);
        if (r < 0)
                return r;
        *ret_name_hex = TAKE_PTR(name_hex);
        return 0;
}

void verify_ak_free(struct verify_ak *ak)
{
        if (!ak)
                return;
        crypto_key_free(ak->key);
        free(ak);
}

int verify_ak_load(const char *record_path, struct verify_ak **ret)
{
        _cleanup_free_ uint8_t *buf = NULL, *ak = NULL;
        _cleanup_json_ json_object *o = NULL;
        _cleanup_(verify_ak_freep) struct verify_ak *v = NULL;
        struct tpm_public pub;
        size_t size, ak_size;
        int r;

        assert(record_path && ret);
        r = read_full_file(record_path, RECORD_MAX, &buf, &size);
        if (r < 0)
                return r;
        o = json_tokener_parse((const char *)buf);
        if (!o || json_get_b64(o, "ak_public", &ak, &ak_size) < 0)
                return -EBADMSG;
        r = tpm_public_parse(ak, ak_size, &pub);
        if (r < 0 || !tpm_public_is_ak(&pub))
                return -EBADMSG;
        v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        memcpy(v->name, pub.name, sizeof(v->name));
        r = crypto_key_from_p256(pub.x, pub.y, &v->key);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(v);
        return 0;
}
