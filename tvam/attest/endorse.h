/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * ENDORSE / GET-ID, platform side (Terra §4.3; issue 7 part 5;
 * docs/attestation.md "ENDORSE").  A platform signing key in the TPM that
 * signs only while the platform is in its trusted state (its authPolicy is
 * PolicyPCR over the launch PCRs + 14 + 15), certified by the AK
 * (TPM2_Certify), issues X.509 certificates that bind a VM's public key to
 * the VM's image identity.
 *
 * Verifier side: verify_platform_key(), verify_vm_certificate() in
 * tvam/verify/verify.h.
 */

#include <stddef.h>
#include <stdint.h>

#include "policy/pcr/pcr.h"
#include "tvam/tpm/tpm-context.h"

#define ATTEST_PLATFORM_KEY_BLOB "platform-key.blob"

/*
 * Make sure STATE_DIR/platform-key.blob holds an ECC P-256 signing key
 * (ECDSA/SHA-256; fixedTPM; userWithAuth clear, so signing needs its policy)
 * whose authPolicy is PolicyPCR(MASK, the SHA-256 values in STATE) (Part 3
 * §23.7).  A key with another policy is replaced.  Returns 1 if created, 0
 * if the existing key already has that policy.
 */
int attest_platform_key_ensure(struct tpm_context *c, const char *state_dir, const struct pcr_bank *state,
        uint32_t mask);

/*
 * TPM2_Certify (Part 3 §18.2) of the platform key by the AK with NONCE as
 * qualifyingData, as JSON: {"version":1, "platform_key_public":B64,
 * "ak_public":B64, "pcr_mask":N, "certify":{"attest":B64,"signature":B64}}.
 */
int attest_platform_key_certify(struct tpm_context *c, const char *state_dir, const uint8_t *nonce,
        size_t nonce_size, char **ret_json);

/*
 * ENDORSE: an X.509 certificate (DER) for the key SPKI (DER
 * SubjectPublicKeyInfo, e.g. from a VM's CSR whose signature the caller
 * checked), subject CN SUBJECT_CN, carrying IDENTITY in the identity
 * extension (CRYPTO_IDENTITY_OID), signed by the platform key with
 * TPM2_Sign under a PolicyPCR session.  -EPERM when the platform is not in
 * the state the key's policy names (e.g. PCR 14 changed): nothing is issued.
 */
int attest_endorse(struct tpm_context *c, const char *state_dir, const uint8_t *spki, size_t spki_size,
        const char *subject_cn, const char *identity, unsigned validity_days, uint8_t **ret_der,
        size_t *ret_size);
