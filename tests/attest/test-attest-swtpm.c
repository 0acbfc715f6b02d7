/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Attestation against swtpm with a real EK certificate chain (run under
 * TVAM_SWTPM_EK_CERT=1 tests/lib/with-swtpm):
 *
 *   test-attest-swtpm enrol      EK cert chain, MakeCredential in software,
 *                                ActivateCredential in the TPM, record; and
 *                                the refusals (untrusted CA, other AK,
 *                                wrong answer)
 *   test-attest-swtpm activate   MakeCredential (software) / ActivateCredential
 *                                (TPM) for RSA 2048 and ECC P-256 EKs
 *   test-attest-swtpm endorse    platform key bound to PCR 0-7,14,15,
 *                                certified by the enrolled AK; a VM key
 *                                endorsed with its identity; the chain
 *                                checked; no certificate after PCR 14 changes
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/tpm/tpm-test-util.h"
#include "tvam/attest/attest.h"
#include "tvam/eventlog/eventlog.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/tpm/tpm-pcr.h"
#include "tvam/tpm/tpm-srk.h"
#include "tvam/attest/endorse.h"
#include "tvam/verify/crypto.h"
#include "tvam/verify/tpm-types.h"
#include "tvam/verify/verify.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

static const char *env_or_skip(const char *name)
{
        const char *v = getenv(name);
        if (!v) {
                fprintf(stderr, "%s not set: run under TVAM_SWTPM_EK_CERT=1 with-swtpm\n", name);
                exit(EXIT_SKIP);
        }
        return v;
}

static char *make_dir(void)
{
        char *d = strdup("/tmp/test-attest.XXXXXX");
        CHECK(d && mkdtemp(d));
        return d;
}

static void rm_dir(const char *d)
{
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", d);
        CHECK(system(cmd) == 0);
}

/* Full enrolment of the AK in STATE; writes the record to RECORD_PATH. */
static void enrol(struct tpm_context *tpm, const char *state, const char *record_path)
{
        const char *ca = env_or_skip("TVAM_TEST_EK_CA"), *issuer = env_or_skip("TVAM_TEST_EK_ISSUER");
        _cleanup_free_ char *req = NULL, *challenge = NULL, *pending = NULL, *answer = NULL, *record = NULL,
                            *name = NULL;
        char error[512];

        CHECK_OK(attest_enrol_request(tpm, state, NULL, &req));
        CHECK_R(verify_enrol_challenge(req, ca, issuer, &challenge, &pending, error, sizeof(error)), 0);
        CHECK_OK(attest_enrol_answer(tpm, state, NULL, challenge, &answer));
        CHECK_R(verify_enrol_complete(pending, answer, &record, &name, error, sizeof(error)), 0);
        CHECK(strlen(name) == 68 && strncmp(name, "000b", 4) == 0);
        CHECK_OK(atomic_file_write(record_path, record, strlen(record), 0644));
}

static int case_enrol(void)
{
        const char *ca = env_or_skip("TVAM_TEST_EK_CA"), *issuer = env_or_skip("TVAM_TEST_EK_ISSUER");
        _cleanup_tpm_context_ struct tpm_context *tpm = test_tpm_open();
        _cleanup_free_ char *dir1 = make_dir(), *dir2 = make_dir(), *req1 = NULL, *req2 = NULL, *challenge = NULL,
                            *pending = NULL, *answer = NULL, *record = NULL, *name = NULL;
        _cleanup_free_ uint8_t *cert = NULL;
        _cleanup_(verify_ak_freep) struct verify_ak *ak = NULL;
        char error[512], record_path[256];
        enum attest_ek_type ek_type = 0;
        size_t cert_size;

        CHECK_OK(tpm_srk_provision(tpm, NULL));
        CHECK_OK(attest_ek_certificate(tpm, &cert, &cert_size, &ek_type));
        CHECK(cert_size > 300 && ek_type == ATTEST_EK_RSA2048);

        /* the good path; the AK is created once and kept */
        CHECK_R(attest_ak_ensure(tpm, dir1), 1);
        CHECK_R(attest_ak_ensure(tpm, dir1), 0);
        snprintf(record_path, sizeof(record_path), "%s/record.json", dir1);
        enrol(tpm, dir1, record_path);
        CHECK_OK(verify_ak_load(record_path, &ak));
        printf("enrolled AK %02x%02x%02x%02x...\n", ak->name[0], ak->name[1], ak->name[2], ak->name[3]);

        /* an EK certificate that does not chain to the trust anchor: the
         * intermediate alone is not a root */
        CHECK_OK(attest_enrol_request(tpm, dir1, NULL, &req1));
        CHECK_R(verify_enrol_challenge(req1, issuer, NULL, &challenge, &pending, error, sizeof(error)), -EPERM);
        printf("refused (untrusted CA): %s\n", error);
        CHECK(strstr(error, "EK certificate"));

        /* a challenge bound to another AK's name cannot be activated with
         * ours: the TPM checks the HMAC over the name (Part 1 §24.5) */
        CHECK_R(attest_ak_ensure(tpm, dir2), 1);
        CHECK_OK(attest_enrol_request(tpm, dir2, NULL, &req2));
        CHECK_R(verify_enrol_challenge(req2, ca, issuer, &challenge, &pending, error, sizeof(error)), 0);
        {
                int r = attest_enrol_answer(tpm, dir1, NULL, challenge, &answer);
                CHECK(r < 0);
                printf("refused (credential for another AK): %s\n", strerror(-r));
        }
        /* a wrong answer is refused by the verifier */
        CHECK_R(verify_enrol_complete(pending, "{\"version\":1,\"secret\":\"00112233\"}", &record, &name, error,
                        sizeof(error)),
                -EPERM);
        printf("refused (wrong answer): %s\n", error);
        /* and the right one is accepted */
        CHECK_OK(attest_enrol_answer(tpm, dir2, NULL, challenge, &answer));
        CHECK_R(verify_enrol_complete(pending, answer, &record, &name, error, sizeof(error)), 0);

        rm_dir(dir1);
        rm_dir(dir2);
        return 0;
}

static int case_endorse(void)
{
        static const char web_id[] = "verity:abababababababababababababababababababababababababababababababab";
        _cleanup_tpm_context_ struct tpm_context *tpm = test_tpm_open();
        _cleanup_free_ char *dir = make_dir(), *certify = NULL;
        _cleanup_free_ uint8_t *cert = NULL;
        _cleanup_(verify_ak_freep) struct verify_ak *ak = NULL;
        _cleanup_(crypto_key_freep) struct crypto_key *pk = NULL, *pk2 = NULL;
        _cleanup_(verify_manifest_freep) struct verify_manifest *m = NULL, *m2 = NULL;
        const uint32_t mask = 0xffu | (1u << 14) | (1u << 15);
        char record_path[256], error[512], identity[1100];
        uint8_t nonce[20], d[32], *spki = NULL;
        struct pcr_bank state, other;
        size_t cert_size;
        EVP_PKEY *vm_key;
        int spki_size, r;
        char manifest[512];

        CHECK_OK(tpm_srk_provision(tpm, NULL));
        snprintf(record_path, sizeof(record_path), "%s/record.json", dir);
        enrol(tpm, dir, record_path);
        CHECK_OK(verify_ak_load(record_path, &ak));

        /* the trusted state: base image in 14, Application Mode in 15 */
        CHECK_OK(digest_buffer(DIGEST_SHA256, "verity:base", 11, d));
        CHECK_OK(tpm_pcr_extend(tpm, 14, DIGEST_SHA256, d));
        CHECK_OK(digest_buffer(DIGEST_SHA256, "tvam:mode:application", 21, d));
        CHECK_OK(tpm_pcr_extend(tpm, 15, DIGEST_SHA256, d));
        CHECK_OK(tpm_pcr_read(tpm, DIGEST_SHA256, mask, &state));

        CHECK_R(attest_platform_key_ensure(tpm, dir, &state, mask), 1);
        CHECK_R(attest_platform_key_ensure(tpm, dir, &state, mask), 0);

        /* GET-ID side: the AK certifies the platform key for this verifier */
        test_random(nonce, sizeof(nonce));
        CHECK_OK(attest_platform_key_certify(tpm, dir, nonce, sizeof(nonce), &certify));
        CHECK_R(verify_platform_key(certify, nonce, sizeof(nonce), &ak, 1, &state, &pk, error, sizeof(error)), 0);
        /* refusals: another nonce, another attested state */
        nonce[0] ^= 1;
        CHECK_R(verify_platform_key(certify, nonce, sizeof(nonce), &ak, 1, &state, &pk2, error, sizeof(error)), -EPERM);
        printf("refused (nonce): %s\n", error);
        nonce[0] ^= 1;
        other = state;
        other.values[14][0] ^= 1;
        CHECK_R(verify_platform_key(certify, nonce, sizeof(nonce), &ak, 1, &other, &pk2, error, sizeof(error)), -EPERM);
        printf("refused (other state): %s\n", error);

        /* ENDORSE: a VM's key, bound to its image identity */
        vm_key = EVP_EC_gen("P-256");
        CHECK(vm_key);
        spki_size = i2d_PUBKEY(vm_key, &spki);
        CHECK(spki_size > 0);
        CHECK_OK(attest_endorse(tpm, dir, spki, (size_t)spki_size, "web", web_id, 30, &cert, &cert_size));
        snprintf(manifest, sizeof(manifest),
                "{\"version\":1,\"applications\":[{\"name\":\"web\",\"identity\":\"%s\"}]}", web_id);
        CHECK_OK(verify_manifest_parse(manifest, strlen(manifest), &m, error, sizeof(error)));
        CHECK_R(verify_vm_certificate(cert, cert_size, pk, m, identity, sizeof(identity), error, sizeof(error)), 0);
        CHECK(strcmp(identity, web_id) == 0);
        printf("VM certificate: %zu bytes DER, identity %s, chain EK CA -> AK -> platform key -> VM verified\n",
                cert_size, identity);
        {
                /* the certificate carries the VM's key */
                const unsigned char *p = cert;
                X509 *x = d2i_X509(NULL, &p, (long)cert_size);
                CHECK(x && EVP_PKEY_eq(X509_get0_pubkey(x), vm_key) == 1);
                X509_free(x);
        }
        /* an identity the manifest does not list */
        CHECK_OK(verify_manifest_parse("{\"version\":1}", 13, &m2, error, sizeof(error)));
        CHECK_R(verify_vm_certificate(cert, cert_size, pk, m2, identity, sizeof(identity), error, sizeof(error)),
                -EPERM);
        printf("refused (identity not in manifest): %s\n", error);
        {
                /* an expired certificate (validity 0 days: notAfter = issuance) */
                _cleanup_free_ uint8_t *old = NULL;
                size_t old_size;
                CHECK_OK(attest_endorse(tpm, dir, spki, (size_t)spki_size, "web", web_id, 0, &old, &old_size));
                sleep(1);
                CHECK_R(verify_vm_certificate(old, old_size, pk, m, identity, sizeof(identity), error,
                                sizeof(error)),
                        -EPERM);
                CHECK(strstr(error, "expired"));
                printf("refused (expired): %s\n", error);
        }

        /* the platform leaves its trusted state: PCR 14 changes */
        CHECK_OK(tpm_pcr_extend(tpm, 14, DIGEST_SHA256, d));
        free(cert);
        cert = NULL;
        r = attest_endorse(tpm, dir, spki, (size_t)spki_size, "web", web_id, 30, &cert, &cert_size);
        CHECK_R(r, -EPERM);
        printf("not issued after a PCR 14 change: %s\n", strerror(-r));

        OPENSSL_free(spki);
        EVP_PKEY_free(vm_key);
        rm_dir(dir);
        return 0;
}

/* MakeCredential in software to each default EK type (RSA 2048: OAEP;
 * ECC P-256: ECDH + KDFe), ActivateCredential in the TPM recovers the
 * secret; bound to another AK name it does not. */
static int case_activate(void)
{
        static const enum attest_ek_type types[] = { ATTEST_EK_RSA2048, ATTEST_EK_ECC_P256 };
        _cleanup_tpm_context_ struct tpm_context *tpm = test_tpm_open();
        _cleanup_free_ char *dir = make_dir();
        _cleanup_free_ uint8_t *ak = NULL;
        struct tpm_public ak_pub;
        size_t ak_size;

        CHECK_OK(tpm_srk_provision(tpm, NULL));
        CHECK(attest_ak_ensure(tpm, dir) >= 0);
        CHECK_OK(attest_ak_public(dir, &ak, &ak_size));
        CHECK_OK(tpm_public_parse(ak, ak_size, &ak_pub));

        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                _cleanup_free_ uint8_t *ek = NULL, *blob = NULL, *enc = NULL;
                _cleanup_secret_ struct secret *secret = NULL, *got = NULL, *none = NULL;
                struct tpm_public ek_pub;
                size_t ek_size, blob_size, enc_size;
                uint8_t other_name[34];

                CHECK_OK(attest_ek_public(tpm, types[i], NULL, &ek, &ek_size));
                CHECK_OK(tpm_public_parse(ek, ek_size, &ek_pub));
                CHECK_OK(secret_new_random(32, &secret));
                CHECK_OK(crypto_make_credential(&ek_pub, ak_pub.name, sizeof(ak_pub.name), secret, &blob, &blob_size,
                        &enc, &enc_size));
                CHECK_OK(attest_activate_credential(tpm, dir, types[i], NULL, blob, blob_size, enc, enc_size, &got));
                CHECK(secret_equal(secret, got));
                printf("%s EK: the TPM recovered the credential made in software\n", attest_ek_type_to_string(types[i]));

                /* bound to another name: the TPM's integrity check fails */
                memcpy(other_name, ak_pub.name, sizeof(other_name));
                other_name[33] ^= 1;
                free(blob), free(enc);
                blob = enc = NULL;
                CHECK_OK(crypto_make_credential(&ek_pub, other_name, sizeof(other_name), secret, &blob, &blob_size, &enc,
                        &enc_size));
                CHECK(attest_activate_credential(tpm, dir, types[i], NULL, blob, blob_size, enc, enc_size, &none) < 0);
        }
        rm_dir(dir);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc != 2) {
                fprintf(stderr, "usage: test-attest-swtpm enrol|endorse\n");
                return 2;
        }
        if (strcmp(argv[1], "enrol") == 0)
                return case_enrol();
        if (strcmp(argv[1], "endorse") == 0)
                return case_endorse();
        if (strcmp(argv[1], "activate") == 0)
                return case_activate();
        fprintf(stderr, "unknown case %s\n", argv[1]);
        return 2;
}
