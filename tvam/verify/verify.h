/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Remote attestation, verifier side (issue 7; docs/attestation.md).  No TPM:
 * OpenSSL (tvam/verify/crypto.h), json-c and the event log module.
 *
 *   enrolment   verify_enrol_challenge() -> platform activates ->
 *               verify_enrol_complete() -> enrolment record (AK public key)
 *   manifest    the administrator's reference manifest, a JSON file with a
 *               detached ECDSA P-256 / SHA-256 signature (DER, as
 *               `openssl dgst -sha256 -sign` writes it)
 *   evidence    verify_evidence(): verdict trusted/untrusted with the cause,
 *               the first differing PCR and event
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/pcr/pcr.h"
#include "tvam/shared/macro.h"
#include "tvam/verify/crypto.h"

/* ---- enrolment ------------------------------------------------------ */

/*
 * Check an enrolment request (attest_enrol_request()): the EK certificate
 * chains to CA_FILE (intermediates from INTERMEDIATES_FILE, may be NULL),
 * the EK public area is the certificate's key, the AK public area is a
 * proper AK.  Then MakeCredential of a fresh random secret to (EK, AK name).
 *
 * RET_CHALLENGE goes to the platform; RET_PENDING stays with the verifier
 * (it holds the AK and SHA-256 of the secret, not the secret itself).
 * -EPERM with the reason in ERROR when the request is refused.
 */
int verify_enrol_challenge(const char *request_json, const char *ca_file, const char *intermediates_file,
        char **ret_challenge, char **ret_pending, char *error, size_t error_size);

/*
 * Compare the platform's answer with PENDING.  On success RET_RECORD is the
 * enrolment record (JSON: version, ak_name, ak_public, ek_certificate) and
 * RET_NAME_HEX the AK name, the record's file name in an enrolment directory.
 * -EPERM when the answer is wrong.
 */
int verify_enrol_complete(const char *pending_json, const char *response_json, char **ret_record,
        char **ret_name_hex, char *error, size_t error_size);

/* An enrolled AK, ready to verify signatures. */
struct verify_ak {
        uint8_t name[TPM_NAME_SIZE_SHA256];
        struct crypto_key *key;
};

int verify_ak_load(const char *record_path, struct verify_ak **ret);
void verify_ak_free(struct verify_ak *ak);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct verify_ak *, verify_ak_free)

/* ---- reference manifest -------------------------------------------- */

struct verify_manifest;

/* Parse manifest JSON (docs/attestation.md "Reference manifest").  The
 * signature is not checked here; see verify_manifest_load(). */
int verify_manifest_parse(const char *json, size_t size, struct verify_manifest **ret, char *error, size_t error_size);

/* Read PATH and SIG_PATH, verify the signature with ADMIN_KEY, parse.
 * -EPERM if the signature does not verify. */
int verify_manifest_load(const char *path, const char *sig_path, struct crypto_key *admin_key,
        struct verify_manifest **ret, char *error, size_t error_size);

void verify_manifest_free(struct verify_manifest *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct verify_manifest *, verify_manifest_free)

/* ---- evidence -------------------------------------------------------- */

/* Why evidence is untrusted; stable strings for --json ("code"). */
enum verify_cause {
        VERIFY_TRUSTED = 0,
        VERIFY_MALFORMED,        /* "malformed" */
        VERIFY_NOT_ENROLLED,     /* "not-enrolled" */
        VERIFY_BAD_SIGNATURE,    /* "signature" */
        VERIFY_NONCE,            /* "nonce" */
        VERIFY_PCR_DIGEST,       /* "pcr-digest" */
        VERIFY_PCRS_MISSING,     /* "pcrs-missing" */
        VERIFY_LOG_REPLAY,       /* "log-replay" */
        VERIFY_UNKNOWN_EVENT,    /* "unknown-event" */
        VERIFY_APPLICATION,      /* "application" */
        VERIFY_BASE_IMAGE,       /* "base-image" */
        VERIFY_MODE,             /* "mode" */
        VERIFY_BOOT_COMPONENT,   /* "boot-component" */
        VERIFY_LAUNCH_PCR,       /* "launch-pcr" */
        VERIFY_VM_CERTIFICATE,   /* "vm-certificate" (tvam-verify verify-vm-cert) */
};

const char *verify_cause_to_string(enum verify_cause cause);

struct verify_result {
        enum verify_cause cause;
        int pcr;              /* -1: none */
        const char *log;      /* "tvam", "firmware" or NULL */
        long event;           /* index in that log, -1: none */
        char message[512];    /* one sentence: what differed */
};

/*
 * Verify EVIDENCE (attest_evidence_create()'s JSON) against the verifier's
 * NONCE, the enrolled AKS and the manifest M.  Returns 0 with the verdict in
 * *RESULT (cause VERIFY_TRUSTED or why not); a negative errno only when the
 * verification itself could not run (-ENOMEM).
 */
int verify_evidence(const char *evidence, size_t size, const uint8_t *nonce, size_t nonce_size,
        struct verify_ak *const *aks, size_t n_aks, const struct verify_manifest *m, struct verify_result *result);

/* The SHA-256 PCR values listed in EVIDENCE (meaningful only after
 * verify_evidence() judged it trusted: then they are the quoted ones). */
int verify_evidence_pcrs(const char *evidence, size_t size, struct pcr_bank *ret);

/* The verdict as a JSON object text (for --json). */
int verify_result_to_json(const struct verify_result *r, char **ret);

/* ---- ENDORSE: the certificate chain EK CA -> AK -> platform key -> VM ---- */

/*
 * Check a platform-key certification (attest_platform_key_certify()): made
 * by an enrolled AK over NONCE (TPM2_Certify of exactly this key), the key is
 * a fixedTPM ECC P-256 signing key usable only through its policy, and that
 * policy is PolicyPCR over PCR 14, 15 (and whatever else it names) with the
 * values in TRUSTED_STATE — the SHA-256 values of evidence this verifier
 * judged trusted (NULL: skip that comparison).  RET_KEY gets the key.
 * -EPERM with the reason in ERROR.
 */
int verify_platform_key(const char *certify_json, const uint8_t *nonce, size_t nonce_size,
        struct verify_ak *const *aks, size_t n_aks, const struct pcr_bank *trusted_state, struct crypto_key **ret_key,
        char *error, size_t error_size);

/*
 * Check a VM certificate (attest_endorse()): signed by PLATFORM_KEY, its
 * identity extension names an application of the manifest M.  The identity
 * goes to RET_IDENTITY.  -EPERM with the reason in ERROR.
 */
int verify_vm_certificate(const uint8_t *der, size_t size, struct crypto_key *platform_key,
        const struct verify_manifest *m, char *ret_identity, size_t identity_size, char *error, size_t error_size);
