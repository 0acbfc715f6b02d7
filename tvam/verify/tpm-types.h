/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The few TPM 2.0 structures a verifier reads, unmarshalled by hand (the
 * verifier links no TSS): TPM2B_PUBLIC (Part 2 §12.2.5), TPMS_ATTEST of a
 * quote (Part 2 §10.12.12), TPMT_SIGNATURE with ECDSA (Part 2 §11.3.4).
 * All TPM integers are big-endian.  Every length is checked.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TPM_ALG_RSA 0x0001u
#define TPM_ALG_SHA256 0x000Bu
#define TPM_ALG_NULL 0x0010u
#define TPM_ALG_ECDSA 0x0018u
#define TPM_ALG_ECC 0x0023u
#define TPM_ALG_AES 0x0006u
#define TPM_ALG_CFB 0x0043u
#define TPM_ECC_NIST_P256 0x0003u
#define TPM_GENERATED_VALUE UINT32_C(0xff544347)
#define TPM_ST_ATTEST_QUOTE 0x8018u

/* TPMA_OBJECT bits (Part 2 §8.3). */
#define TPMA_FIXEDTPM (UINT32_C(1) << 1)
#define TPMA_FIXEDPARENT (UINT32_C(1) << 4)
#define TPMA_SENSITIVEDATAORIGIN (UINT32_C(1) << 5)
#define TPMA_USERWITHAUTH (UINT32_C(1) << 6)
#define TPMA_RESTRICTED (UINT32_C(1) << 16)
#define TPMA_DECRYPT (UINT32_C(1) << 17)
#define TPMA_SIGN (UINT32_C(1) << 18)

#define TPM_NAME_SIZE_SHA256 34u /* nameAlg (2) + SHA-256 */

struct tpm_public {
        uint16_t type, name_alg;
        uint32_t attributes;
        uint8_t auth_policy[64];
        size_t auth_policy_size;
        /* symmetric of a storage key (EK), TPM_ALG_NULL otherwise */
        uint16_t sym_alg, sym_bits, sym_mode;
        uint16_t scheme, scheme_hash;
        /* ECC */
        uint16_t curve;
        uint8_t x[66], y[66];
        size_t x_size, y_size;
        /* RSA */
        uint16_t key_bits;
        uint32_t exponent;
        uint8_t modulus[512];
        size_t modulus_size;
        /* Name = nameAlg || H_nameAlg(TPMT_PUBLIC) (Part 1 §16); SHA-256 only */
        uint8_t name[TPM_NAME_SIZE_SHA256];
};

/* Parse a marshalled TPM2B_PUBLIC (with its size prefix) of an ECC or RSA
 * key with nameAlg SHA-256.  -EBADMSG malformed, -EOPNOTSUPP other types. */
int tpm_public_parse(const uint8_t *buf, size_t size, struct tpm_public *ret);

/* True if P is an AK as TVAM requires: ECC P-256, ECDSA/SHA-256,
 * restricted sign-only, fixedTPM, fixedParent, sensitiveDataOrigin. */
bool tpm_public_is_ak(const struct tpm_public *p);

struct tpm_quote {
        uint8_t signer_name[68];
        size_t signer_name_size;
        uint8_t extra[64]; /* qualifyingData: the verifier's nonce */
        size_t extra_size;
        uint64_t clock, firmware_version;
        uint32_t reset_count, restart_count;
        bool safe;
        uint16_t pcr_hash;  /* the bank of the (single) selection */
        uint32_t pcr_mask;  /* PCRs 0..23 selected */
        uint8_t pcr_digest[64];
        size_t pcr_digest_size;
};

/* Parse TPMS_ATTEST bytes (TPM2B_ATTEST's attestationData) of a quote.
 * Exactly one PCR selection is accepted. */
int tpm_quote_parse(const uint8_t *buf, size_t size, struct tpm_quote *ret);

struct tpm_signature_ecdsa {
        uint16_t hash;
        uint8_t r[66], s[66];
        size_t r_size, s_size;
};

/* Parse a marshalled TPMT_SIGNATURE; -EOPNOTSUPP unless ECDSA. */
int tpm_signature_parse(const uint8_t *buf, size_t size, struct tpm_signature_ecdsa *ret);

#define TPM_ST_ATTEST_CERTIFY 0x8017u

struct tpm_certify {
        uint8_t extra[64]; /* qualifyingData */
        size_t extra_size;
        uint8_t name[68];  /* Name of the certified object */
        size_t name_size;
};

/* Parse TPMS_ATTEST bytes of TPM2_Certify (Part 2 §10.12.12, §10.12.3). */
int tpm_certify_parse(const uint8_t *buf, size_t size, struct tpm_certify *ret);
