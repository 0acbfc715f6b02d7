/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Remote attestation, platform side (issue 7; docs/attestation.md): the
 * endorsement key and its certificate, the attestation key (AK), credential
 * activation for enrolment with a verifier, and evidence (a TPM2_Quote with
 * the PCR values and the event logs) in the documented JSON format.
 *
 * The verifier side (no TPM) is tvam/verify/verify.h.
 *
 * Keys:
 *   EK  RSA 2048 primary in the endorsement hierarchy from the TCG default
 *       template (TCG EK Credential Profile 2.0 §B.3.3 template L-1); its
 *       certificate is read from NV 0x01C00002 (ECC P-256: 0x01C0000A).
 *   AK  restricted ECC P-256 signing key (ECDSA, SHA-256), a child of the
 *       SRK, kept as a blob (TPM2B_PUBLIC || TPM2B_PRIVATE) in
 *       STATE_DIR/ak.blob (0600, written atomically).
 */

#include <stddef.h>
#include <stdint.h>

#include "tvam/shared/secret.h"
#include "tvam/tpm/tpm-context.h"

/* NV indices of EK certificates (TCG EK Credential Profile 2.0 §2.2.1.4). */
#define ATTEST_NV_EK_CERT_RSA2048 UINT32_C(0x01C00002)
#define ATTEST_NV_EK_CERT_ECC_P256 UINT32_C(0x01C0000A)

#define ATTEST_AK_BLOB "ak.blob"
#define ATTEST_NONCE_MIN 8u
#define ATTEST_NONCE_MAX 64u /* TPM2B_DATA of a quote, Part 2 §10.4.3 */

/* The PCRs quoted by default besides the launch profile's: 13, 14, 15. */
#define ATTEST_TVAM_PCRS ((UINT32_C(1) << 13) | (UINT32_C(1) << 14) | (UINT32_C(1) << 15))

/* The EK kinds of the TCG default templates (EK Credential Profile 2.0
 * §B.3.3 L-1 and §B.3.4 L-2). */
enum attest_ek_type {
        ATTEST_EK_RSA2048 = 1,
        ATTEST_EK_ECC_P256 = 2,
};

/* "rsa2048" / "ecc-p256", and back (-EINVAL). */
const char *attest_ek_type_to_string(enum attest_ek_type type);
int attest_ek_type_from_string(const char *s, enum attest_ek_type *ret);

/* The EK certificate (DER) from NV: RSA 2048 first, then ECC P-256, with
 * the type of EK it certifies in *RET_TYPE (optional).  -ENOENT if the TPM
 * has neither. */
int attest_ek_certificate(struct tpm_context *c, uint8_t **ret_der, size_t *ret_size, enum attest_ek_type *ret_type);

/* The EK's public area (marshalled TPM2B_PUBLIC), from TPM2_CreatePrimary
 * with the default template of TYPE.  ENDORSEMENT_AUTH NULL = empty. */
int attest_ek_public(struct tpm_context *c, enum attest_ek_type type, const struct secret *endorsement_auth,
        uint8_t **ret, size_t *ret_size);

/*
 * Make sure STATE_DIR/ak.blob holds an AK: create one under the SRK when
 * missing (the SRK must be provisioned).  Idempotent; a present blob is
 * kept.  Returns 1 if created, 0 if it existed.
 */
int attest_ak_ensure(struct tpm_context *c, const char *state_dir);

/* The AK's public area (marshalled TPM2B_PUBLIC) from STATE_DIR/ak.blob. */
int attest_ak_public(const char *state_dir, uint8_t **ret, size_t *ret_size);

/*
 * TPM2_ActivateCredential (Part 3 §12.5) with the EK of EK_TYPE: recover the verifier's secret
 * from CREDENTIAL_BLOB (TPM2B_ID_OBJECT) and ENCRYPTED_SECRET
 * (TPM2B_ENCRYPTED_SECRET), both marshalled with their size prefix.  The
 * TPM releases it only if the EK can decrypt the seed and the AK's name is
 * the one the verifier bound it to.  -EBADMSG / -EINVAL when it does not.
 */
int attest_activate_credential(struct tpm_context *c, const char *state_dir, enum attest_ek_type ek_type,
        const struct secret *endorsement_auth, const uint8_t *credential_blob, size_t credential_blob_size, const uint8_t *encrypted_secret,
        size_t encrypted_secret_size, struct secret **ret);

/*
 * Enrolment, platform side, as JSON documents (docs/attestation.md
 * "Enrolment"):
 *   attest_enrol_request()  -> {"version":1,"ek_type":"rsa2048"|"ecc-p256","ek_certificate":B64,
 *                               "ek_public":B64,"ak_public":B64}
 *   verifier                -> challenge {"version":1,"ek_type":...,"credential_blob":B64,"encrypted_secret":B64}
 *   attest_enrol_answer()   -> {"version":1,"secret":HEX}
 * The AK is created when missing.
 */
int attest_enrol_request(struct tpm_context *c, const char *state_dir, const struct secret *endorsement_auth,
        char **ret_json);
int attest_enrol_answer(struct tpm_context *c, const char *state_dir, const struct secret *endorsement_auth,
        const char *challenge_json, char **ret_json);

/*
 * Evidence: TPM2_Quote (Part 3 §18.4) by the AK over PCR_MASK of the SHA-256
 * bank with NONCE as qualifyingData, the PCR values read right after (the
 * quote is retried when a PCR changed in between, so values and pcrDigest
 * agree), the AK public area, and the event logs (either path may be NULL;
 * a missing file is an error).  JSON per docs/attestation.md "Evidence".
 */
int attest_evidence_create(struct tpm_context *c, const char *state_dir, const uint8_t *nonce, size_t nonce_size,
        uint32_t pcr_mask, const char *tvam_log_path, const char *firmware_log_path, char **ret_json);
