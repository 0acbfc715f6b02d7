/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The verifier's public-key cryptography over OpenSSL (the one adapter for
 * OpenSSL's PKEY/X509/cipher/MAC APIs; digests stay in tvam/shared/digest.h):
 * X.509 chain validation of EK certificates, the software side of
 * TPM2_MakeCredential, ECDSA P-256 verification of quotes, and detached
 * signatures of reference manifests.  OpenSSL errors become -errno here:
 * invalid signature -EPERM (never confused with a broken input, -EBADMSG).
 */

#include <stddef.h>
#include <stdint.h>

#include "tvam/shared/macro.h"
#include "tvam/shared/secret.h"
#include "tvam/verify/tpm-types.h"

/*
 * Validate the EK certificate DER against the trust anchors in CA_FILE
 * (PEM, one or more), with the PEM certificates in UNTRUSTED_FILE (NULL:
 * none) as candidate intermediates.  0 valid; -EPERM invalid with a reason
 * (OpenSSL's X509_verify_cert_error_string) in ERROR (size ERROR_SIZE).
 */
int crypto_x509_verify(const uint8_t *der, size_t der_size, const char *ca_file, const char *untrusted_file,
        char *error, size_t error_size);

/* 0 if the certificate's public key is EK's (RSA modulus and exponent, or
 * ECC P-256 point), -EPERM if not, -EOPNOTSUPP for another EK type. */
int crypto_x509_matches_public(const uint8_t *der, size_t der_size, const struct tpm_public *ek);

/*
 * TPM2_MakeCredential in software (TPM 2.0 Part 1 §24, Part 3 §12.6) for the
 * EK public area EK (SHA-256 nameAlg, AES-128 symmetric):
 *   RSA: seed = 32 random bytes, RSA-OAEP(SHA-256) encrypted to the EK with
 *        label "IDENTITY" (Part 1 §24.4, Annex B.10.3);
 *   ECC: an ephemeral P-256 key, Z = x of ECDH(ephemeral, EK), seed =
 *        KDFe(SHA-256, Z, "IDENTITY", ephemeral x, EK x, 256) and the secret
 *        is the ephemeral point (Annex C.6.1).
 * symKey = KDFa(seed, "STORAGE", AK name, 128), HMACkey = KDFa(seed,
 * "INTEGRITY", 256); the credential (as TPM2B_DIGEST) encrypted with
 * AES-128-CFB, IV 0, and an HMAC over encIdentity || AK name.
 *
 * RET_BLOB: marshalled TPM2B_ID_OBJECT; RET_SECRET: marshalled
 * TPM2B_ENCRYPTED_SECRET, ready for TPM2_ActivateCredential.
 */
int crypto_make_credential(const struct tpm_public *ek, const uint8_t *ak_name, size_t ak_name_size,
        const struct secret *credential, uint8_t **ret_blob, size_t *ret_blob_size, uint8_t **ret_secret,
        size_t *ret_secret_size);

/* KDFe (Part 1 §11.4.10.3) with SHA-256, one block (BITS <= 256). */
int crypto_kdfe_sha256(const uint8_t *z, size_t z_size, const char *label, const uint8_t *party_u, size_t u_size,
        const uint8_t *party_v, size_t v_size, size_t bits, uint8_t *out);

/* KDFa (Part 1 §11.4.10.2) with HMAC-SHA-256; exported for the test vectors. */
int crypto_kdfa_sha256(const uint8_t *key, size_t key_size, const char *label, const uint8_t *context_u,
        size_t context_u_size, const uint8_t *context_v, size_t context_v_size, size_t bits, uint8_t *out);

/* An ECDSA public key, P-256 (AK, or the manifest admin key). */
struct crypto_key;

int crypto_key_from_p256(const uint8_t x[32], const uint8_t y[32], struct crypto_key **ret);
/* A PEM public key (SubjectPublicKeyInfo) from PATH. */
int crypto_key_load_pem(const char *path, struct crypto_key **ret);
void crypto_key_free(struct crypto_key *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct crypto_key *, crypto_key_free)

/* Verify the ECDSA signature (R, S) over SHA-256(DATA).  -EPERM if invalid. */
int crypto_verify_ecdsa_rs(struct crypto_key *k, const uint8_t *data, size_t size, const uint8_t *r, size_t r_size,
        const uint8_t *s, size_t s_size);

/* Verify a DER signature (as `openssl dgst -sha256 -sign` writes it) over
 * SHA-256(DATA).  -EPERM if invalid. */
int crypto_verify_der(struct crypto_key *k, const uint8_t *data, size_t size, const uint8_t *sig, size_t sig_size);

/* The key as PEM SubjectPublicKeyInfo text (for tpm2_checkquote -u). */
int crypto_key_to_pem(struct crypto_key *k, char **ret);

/* ---- X.509 certificates signed by a TPM key (ENDORSE) ---------------- */

/*
 * The OID of TVAM's identity extension: 2.25.<UUID> (ITU-T X.667: an OID
 * anyone may mint from a random UUID, 1f1fb290-740d-4a8e-9ed4-dbcae1512ddd).
 * Value: a UTF8String, the VM's image identity ("verity:<root hash>").
 * Non-critical, so ordinary TLS stacks accept the certificate.
 */
#define CRYPTO_IDENTITY_OID "2.25.41370650785628153028835963525267533277"
#define CRYPTO_IDENTITY_MAX 1024u

/*
 * The DER TBSCertificate of a v3 end-entity certificate for the key SPKI
 * (DER SubjectPublicKeyInfo), subject CN SUBJECT_CN, issuer CN ISSUER_CN,
 * valid from now for DAYS, with the identity extension, basicConstraints
 * CA:FALSE and keyUsage digitalSignature, and ecdsa-with-SHA256 as the
 * signature algorithm — ready to be hashed and signed by a TPM key.
 */
int crypto_cert_tbs(const uint8_t *spki, size_t spki_size, const char *subject_cn, const char *issuer_cn,
        const char *identity, uint64_t serial, unsigned days, uint8_t **ret, size_t *ret_size);

/* Certificate DER = SEQUENCE { TBS, ecdsa-with-SHA256, BIT STRING
 * ECDSA-Sig-Value(R, S) }; checked by parsing it back. */
int crypto_cert_assemble(const uint8_t *tbs, size_t tbs_size, const uint8_t *r, size_t r_size, const uint8_t *s,
        size_t s_size, uint8_t **ret, size_t *ret_size);

/* Verify certificate DER's signature with ISSUER, that it is valid now, has
 * keyUsage digitalSignature and basicConstraints CA:FALSE, and return its
 * identity extension.  -EPERM bad signature, -EKEYEXPIRED outside its
 * validity, -EKEYREJECTED wrong key usage or a CA, -ENOENT no identity
 * extension. */
int crypto_cert_verify(const uint8_t *der, size_t size, struct crypto_key *issuer, char *ret_identity,
        size_t identity_size);

/* For a log line (public data only): certificate DER's serial number in
 * upper-case hex ("?" if it does not parse) and its SHA-256 fingerprint in
 * lower-case hex ("" if it cannot be computed). */
void crypto_cert_describe(const uint8_t *der, size_t size, char *serial, size_t serial_size, char fingerprint[65]);
