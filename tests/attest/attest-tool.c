/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Platform side of the attestation tests (never installed; tvamctl gets the
 * same library calls).  Runs against $TVAM_TEST_TCTI:
 *
 *   attest-tool enrol-request STATE OUT
 *   attest-tool enrol-answer  STATE CHALLENGE OUT
 *   attest-tool measure LOG PCR KIND NAME IDENTITY [CONFIG-HEX]
 *                       append a TVAM event (KIND application|base-image|mode)
 *                       to LOG, then extend the TPM with it, as tvamd and the
 *                       initramfs do
 *   attest-tool evidence STATE NONCE-HEX PCRS TVAM-LOG FIRMWARE-LOG|- OUT
 *                       PCRS: comma-separated list, e.g. 0,1,2,3,4,5,6,7,13,14,15
 *   attest-tool platform-key STATE PCRS   platform key bound to the PCRs' current values
 *   attest-tool certify STATE NONCE-HEX OUT
 *   attest-tool endorse STATE SPKI-DER CN IDENTITY OUT-DER
 *   attest-tool ak-record STATE OUT       an enrolment record for the AK
 *                       WITHOUT credential activation (for TPMs with no EK
 *                       certificate, e.g. the lab's swtpm; never in production)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tvam/attest/attest.h"
#include "tvam/attest/endorse.h"
#include "tvam/eventlog/eventlog.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/tpm/tpm-pcr.h"
#include "tvam/tpm/tpm-srk.h"
#include "tvam/verify/base64.h"

static int write_out(const char *path, const char *text)
{
        return atomic_file_write(path, text, strlen(text), 0644);
}

static int measure(struct tpm_context *tpm, char **argv, int argc)
{
        static const enum digest_alg banks[] = { DIGEST_SHA1, DIGEST_SHA256 };
        _cleanup_(eventlog_writer_freep) struct eventlog_writer *w = NULL;
        struct eventlog_tvam_event e = {};
        const struct eventlog_bank *b;
        unsigned pcr = (unsigned)strtoul(argv[1], NULL, 10);
        size_t n;
        int r;

        if (strcmp(argv[2], "application") == 0)
                e.kind = EVENTLOG_TVAM_APPLICATION;
        else if (strcmp(argv[2], "base-image") == 0)
                e.kind = EVENTLOG_TVAM_BASE_IMAGE;
        else if (strcmp(argv[2], "mode") == 0)
                e.kind = EVENTLOG_TVAM_MODE;
        else
                return -EINVAL;
        snprintf(e.name, sizeof(e.name), "%s", argv[3]);
        snprintf(e.identity, sizeof(e.identity), "%s", argv[4]);
        if (argc > 5) {
                r = hex_decode_exact(argv[5], e.config, 32);
                if (r < 0)
                        return r;
                e.config_size = 32;
        }
        r = eventlog_writer_open(argv[0], banks, ELEMENTSOF(banks), &w);
        if (r < 0)
                return r;
        /* log first, then extend: the log is never behind the TPM */
        r = eventlog_writer_append_tvam(w, pcr, &e);
        if (r < 0)
                return r;
        n = eventlog_writer_banks(w, &b);
        for (size_t i = 0; i < n; i++) {
                uint8_t d[DIGEST_MAX_SIZE];
                r = eventlog_tvam_digest(&e, b[i].alg, d);
                if (r < 0)
                        return r;
                r = tpm_pcr_extend(tpm, pcr, b[i].alg, d);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_pcrs(const char *list, uint32_t *ret)
{
        _cleanup_free_ char *copy = strdup(list);
        char *save = NULL;
        uint32_t mask = 0;

        if (!copy)
                return -ENOMEM;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                char *end;
                unsigned long pcr = strtoul(t, &end, 10);
                if (*end || pcr >= 24)
                        return -EINVAL;
                mask |= 1u << pcr;
        }
        *ret = mask;
        return 0;
}

int main(int argc, char **argv)
{
        _cleanup_tpm_context_ struct tpm_context *tpm = NULL;
        _cleanup_free_ char *out = NULL, *in = NULL;
        const char *tcti = getenv("TVAM_TEST_TCTI");
        int r = -EINVAL;

        if (argc < 3) {
                fprintf(stderr, "usage: see the comment at the top of attest-tool.c\n");
                return 2;
        }
        if (!tcti) {
                fprintf(stderr, "TVAM_TEST_TCTI not set\n");
                return 77;
        }
        r = tpm_context_new(tcti, &tpm);
        if (r < 0) {
                fprintf(stderr, "cannot open the TPM: %s\n", strerror(-r));
                return 1;
        }
        r = tpm_srk_provision(tpm, NULL);
        if (r < 0) {
                fprintf(stderr, "cannot provision the SRK: %s\n", strerror(-r));
                return 1;
        }

        if (strcmp(argv[1], "enrol-request") == 0 && argc == 4) {
                r = attest_enrol_request(tpm, argv[2], NULL, &out);
                if (r >= 0)
                        r = write_out(argv[3], out);
        } else if (strcmp(argv[1], "enrol-answer") == 0 && argc == 5) {
                size_t size;
                r = read_full_file(argv[3], 1u << 20, (uint8_t **)&in, &size);
                if (r >= 0)
                        r = attest_enrol_answer(tpm, argv[2], NULL, in, &out);
                if (r >= 0)
                        r = write_out(argv[4], out);
        } else if (strcmp(argv[1], "measure") == 0 && argc >= 7)
                r = measure(tpm, argv + 2, argc - 2);
        else if (strcmp(argv[1], "evidence") == 0 && argc == 8) {
                _cleanup_free_ uint8_t *nonce = NULL;
                size_t nonce_size;
                uint32_t mask;
                r = hex_decode(argv[3], &nonce, &nonce_size);
                if (r >= 0)
                        r = parse_pcrs(argv[4], &mask);
                if (r >= 0)
                        r = attest_ak_ensure(tpm, argv[2]);
                if (r >= 0)
                        r = attest_evidence_create(tpm, argv[2], nonce, nonce_size, mask, argv[5],
                                strcmp(argv[6], "-") == 0 ? NULL : argv[6], &out);
                if (r >= 0)
                        r = write_out(argv[7], out);
        } else if (strcmp(argv[1], "platform-key") == 0 && argc == 4) {
                struct pcr_bank state;
                uint32_t mask;
                r = parse_pcrs(argv[3], &mask);
                if (r >= 0)
                        r = tpm_pcr_read(tpm, DIGEST_SHA256, mask, &state);
                if (r >= 0)
                        r = attest_platform_key_ensure(tpm, argv[2], &state, mask);
        } else if (strcmp(argv[1], "certify") == 0 && argc == 5) {
                _cleanup_free_ uint8_t *nonce = NULL;
                size_t nonce_size;
                r = hex_decode(argv[3], &nonce, &nonce_size);
                if (r >= 0)
                        r = attest_platform_key_certify(tpm, argv[2], nonce, nonce_size, &out);
                if (r >= 0)
                        r = write_out(argv[4], out);
        } else if (strcmp(argv[1], "endorse") == 0 && argc == 7) {
                _cleanup_free_ uint8_t *spki = NULL, *cert = NULL;
                size_t spki_size, cert_size;
                r = read_full_file(argv[3], 4096, &spki, &spki_size);
                if (r >= 0)
                        r = attest_endorse(tpm, argv[2], spki, spki_size, argv[4], argv[5], 30, &cert, &cert_size);
                if (r >= 0)
                        r = atomic_file_write(argv[6], cert, cert_size, 0644);
        } else if (strcmp(argv[1], "ak-record") == 0 && argc == 4) {
                _cleanup_free_ uint8_t *ak = NULL;
                _cleanup_free_ char *b64 = NULL;
                size_t ak_size;
                r = attest_ak_ensure(tpm, argv[2]);
                if (r >= 0)
                        r = attest_ak_public(argv[2], &ak, &ak_size);
                if (r >= 0)
                        r = base64_encode(ak, ak_size, &b64);
                if (r >= 0 && asprintf(&out, "{\"version\":1,\"ak_public\":\"%s\"}\n", b64) < 0)
                        r = -ENOMEM;
                if (r >= 0)
                        r = write_out(argv[3], out);
        } else {
                fprintf(stderr, "attest-tool: bad command line\n");
                return 2;
        }
        if (r < 0) {
                fprintf(stderr, "attest-tool %s: %s\n", argv[1], strerror(-r));
                return 1;
        }
        return 0;
}
