/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tvamd's attestation methods (issue 7, docs/attestation.md): "enrol"
 * (request / answer of the verifier's credential-activation challenge) and
 * "attest" (a quote by the AK over the launch PCRs and 13/14/15 with the
 * verifier's nonce, plus this boot's event logs).  The work is tvam/attest's;
 * here: parameters, defaults, messages.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tvam/attest/attest.h"
#include "tvam/daemon/daemon.h"
#include "tvam/eventlog/eventlog.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/log.h"
#include "tvam/shared/macro.h"
#include "tvam/tpm/tpm-srk.h"

#define FIRMWARE_LOG "/sys/kernel/security/tpm0/binary_bios_measurements"

#define FAIL(err, ...)                                                                                      \
        ({                                                                                                  \
                snprintf(message, message_size, __VA_ARGS__);                                               \
                (err);                                                                                      \
        })

static const char *str_param(json_object *params, const char *key)
{
        json_object *v;
        if (!json_object_object_get_ex(params, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

int daemon_attest_tpm(struct daemon *d, struct tpm_context **ret, char *message, size_t message_size)
{
        int r = daemon_tpm(d, ret);
        if (r < 0)
                return FAIL(r, "cannot reach the TPM (%s): %s", d->tcti, strerror(-r));
        tpm_srk_forget(*ret);
        r = tpm_srk_provision(*ret, NULL);
        if (r < 0)
                return FAIL(r, "cannot provision the SRK at 0x81000001: %s", strerror(-r));
        return 0;
}

int daemon_attest_begin(struct daemon *d, json_object *params, uint8_t **ret_nonce, size_t *ret_nonce_size,
        struct tpm_context **ret_tpm, char *message, size_t message_size)
{
        const char *nonce_hex = str_param(params, "nonce");
        _cleanup_free_ uint8_t *nonce = NULL;
        size_t n = 0;
        int r;

        if (!nonce_hex || hex_decode(nonce_hex, &nonce, &n) < 0 || n < ATTEST_NONCE_MIN || n > ATTEST_NONCE_MAX)
                return FAIL(-EINVAL, "the nonce must be %u to %u bytes in hex (the verifier's, fresh for this "
                                     "request)", ATTEST_NONCE_MIN, ATTEST_NONCE_MAX);
        r = daemon_attest_tpm(d, ret_tpm, message, message_size);
        if (r < 0)
                return r;
        r = attest_ak_ensure(*ret_tpm, d->state_dir);
        if (r < 0)
                return FAIL(r, "cannot create the attestation key: %s", strerror(-r));
        *ret_nonce = TAKE_PTR(nonce);
        *ret_nonce_size = n;
        return 0;
}

static json_object *document(const char *json)
{
        json_object *o = json_tokener_parse(json);
        return o ? o : json_object_new_string(json);
}

int method_enrol(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size)
{
        const char *action = str_param(params, "action");
        _cleanup_free_ char *out = NULL;
        struct tpm_context *tpm;
        int r;

        (void)fds, (void)n_fds;
        if (!action || (strcmp(action, "request") != 0 && strcmp(action, "answer") != 0))
                return FAIL(-EINVAL, "enrol: action must be 'request' or 'answer'");
        r = daemon_attest_tpm(d, &tpm, message, message_size);
        if (r < 0)
                return r;
        if (strcmp(action, "request") == 0) {
                r = attest_enrol_request(tpm, d->state_dir, NULL, &out);
                if (r == -ENOENT)
                        return FAIL(r, "the TPM has no EK certificate in NV (0x01C00002 / 0x01C0000A): a "
                                       "verifier cannot know which TPM this is");
                if (r < 0)
                        return FAIL(r, "cannot build the enrolment request: %s", strerror(-r));
        } else {
                const char *challenge = str_param(params, "challenge");
                if (!challenge)
                        return FAIL(-EINVAL, "enrol answer: no challenge was sent");
                r = attest_enrol_answer(tpm, d->state_dir, NULL, challenge, &out);
                if (r < 0)
                        return FAIL(r, "the TPM refused the challenge (made for another TPM or another "
                                       "attestation key?): %s", strerror(-r));
        }
        *ret_result = document(out);
        log_info("enrolment %s produced", action);
        return 0;
}

/* An event log must exist for the quote to be checkable: on a platform where
 * nothing was measured yet it is a log with only its header. */
static int ensure_event_log(struct daemon *d)
{
        static const enum digest_alg banks[] = { DIGEST_SHA256 };
        struct eventlog_writer *w = NULL;
        int r;

        if (access(d->event_log, F_OK) == 0)
                return 0;
        r = eventlog_writer_open(d->event_log, banks, ELEMENTSOF(banks), &w);
        eventlog_writer_free(w);
        return r;
}

int method_attest(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size)
{
        _cleanup_free_ uint8_t *nonce = NULL;
        _cleanup_free_ char *out = NULL;
        uint32_t mask = d->launch_pcrs | ATTEST_TVAM_PCRS;
        const char *firmware = NULL;
        struct tpm_context *tpm;
        json_object *v;
        size_t n = 0;
        int r;

        (void)fds, (void)n_fds;
        if (json_object_object_get_ex(params, "pcrs", &v) && json_object_is_type(v, json_type_array)) {
                mask = 0;
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        int64_t p = json_object_get_int64(json_object_array_get_idx(v, i));
                        if (p < 0 || p > 23)
                                return FAIL(-EINVAL, "PCR %lld does not exist", (long long)p);
                        mask |= UINT32_C(1) << p;
                }
        }
        r = daemon_attest_begin(d, params, &nonce, &n, &tpm, message, message_size);
        if (r < 0)
                return r;
        r = ensure_event_log(d);
        if (r < 0)
                return FAIL(r, "cannot open the event log %s: %s", d->event_log, strerror(-r));
        /* The firmware log proves PCR 0-7 of the srtm profile. */
        if ((mask & 0xffu) && access(FIRMWARE_LOG, R_OK) == 0)
                firmware = FIRMWARE_LOG;
        r = attest_evidence_create(tpm, d->state_dir, nonce, n, mask, d->event_log, firmware, &out);
        if (r < 0)
                return FAIL(r, "cannot create the evidence: %s", strerror(-r));
        *ret_result = document(out);
        log_info("attestation evidence produced (PCR mask 0x%06x%s)", mask, firmware ? ", firmware log" : "");
        return 0;
}
