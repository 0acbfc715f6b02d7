/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Verification of evidence (docs/attestation.md "Evidence", "Verdict").
 * Order of the checks: the AK is enrolled -> the quote is signed by it ->
 * it carries our nonce -> the PCR values are the quoted ones -> the logs
 * replay to them -> every measured component is in the manifest.  The first
 * failing check is the verdict; nothing after it is trusted.
 */

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tvam/eventlog/eventlog.h"
#include "tvam/shared/hex.h"
#include "tvam/verify/json-util.h"
#include "tvam/verify/manifest.h"
#include "tvam/verify/tpm-types.h"
#include "tvam/verify/verify.h"

#define TVAM_PCRS ((1u << 13) | (1u << 14) | (1u << 15))
#define APPLICATION_PCR 13u
#define BASE_PCR 14u
#define MODE_PCR 15u
#define MODE_APPLICATION_IDENTITY "tvam:mode:application"

static const char *const cause_names[] = {
        [VERIFY_TRUSTED] = "trusted",
        [VERIFY_MALFORMED] = "malformed",
        [VERIFY_NOT_ENROLLED] = "not-enrolled",
        [VERIFY_BAD_SIGNATURE] = "signature",
        [VERIFY_NONCE] = "nonce",
        [VERIFY_PCR_DIGEST] = "pcr-digest",
        [VERIFY_PCRS_MISSING] = "pcrs-missing",
        [VERIFY_LOG_REPLAY] = "log-replay",
        [VERIFY_UNKNOWN_EVENT] = "unknown-event",
        [VERIFY_APPLICATION] = "application",
        [VERIFY_BASE_IMAGE] = "base-image",
        [VERIFY_MODE] = "mode",
        [VERIFY_BOOT_COMPONENT] = "boot-component",
        [VERIFY_LAUNCH_PCR] = "launch-pcr",
        [VERIFY_VM_CERTIFICATE] = "vm-certificate",
};

const char *verify_cause_to_string(enum verify_cause cause)
{
        if ((size_t)cause >= ELEMENTSOF(cause_names))
                return NULL;
        return cause_names[cause];
}

/* Record the verdict; returns 1 so checks can "return untrusted(...)". */
_printf_(6, 7) static int untrusted(struct verify_result *res, enum verify_cause cause, int pcr, const char *log,
        long event, const char *fmt, ...)
{
        va_list ap;

        res->cause = cause;
        res->pcr = pcr;
        res->log = log;
        res->event = event;
        va_start(ap, fmt);
        vsnprintf(res->message, sizeof(res->message), fmt, ap);
        va_end(ap);
        return 1;
}

static void short_hex(const uint8_t *p, size_t n, char *buf, size_t size)
{
        size_t o = 0;
        for (size_t i = 0; i < n && o + 3 < size; i++)
                o += (size_t)snprintf(buf + o, size - o, "%02x", p[i]);
        buf[o < size ? o : size - 1] = 0;
}

static void describe_event(const struct eventlog_event *e, char *buf, size_t size)
{
        struct eventlog_tvam_event t;
        if (eventlog_tvam_decode(e->data, e->data_size, &t) == 0)
                snprintf(buf, size, "%s '%.64s' %.160s", eventlog_tvam_kind_to_string(t.kind), t.name, t.identity);
        else
                snprintf(buf, size, "%s", eventlog_event_type_to_string(e->type));
}

/* ---- quote, nonce, PCR values ----------------------------------------- */

struct evidence {
        json_object *root;
        struct tpm_public ak;
        struct tpm_quote quote;
        struct pcr_bank pcrs; /* the quoted values (SHA-256) */
        uint32_t mask;
        struct eventlog *tvam_log, *firmware_log;
};

static void evidence_done(struct evidence *ev)
{
        json_object_put(ev->root);
        eventlog_free(ev->tvam_log);
        eventlog_free(ev->firmware_log);
}

static int check_quote(struct evidence *ev, const uint8_t *nonce, size_t nonce_size, struct verify_ak *const *aks,
        size_t n_aks, struct verify_result *res)
{
        _cleanup_free_ uint8_t *ak = NULL, *attest = NULL, *sig = NULL;
        size_t ak_size, attest_size, sig_size;
        struct tpm_signature_ecdsa s;
        json_object *quote;
        struct verify_ak *key = NULL;
        char a[80], b[80];

        if (json_get_b64(ev->root, "ak_public", &ak, &ak_size) < 0 || tpm_public_parse(ak, ak_size, &ev->ak) < 0)
                return untrusted(res, VERIFY_MALFORMED, -1, NULL, -1, "evidence has no valid \"ak_public\"");
        for (size_t i = 0; i < n_aks; i++)
                if (memcmp(aks[i]->name, ev->ak.name, sizeof(ev->ak.name)) == 0)
                        key = aks[i];
        short_hex(ev->ak.name, sizeof(ev->ak.name), a, sizeof(a));
        if (!key)
                return untrusted(res, VERIFY_NOT_ENROLLED, -1, NULL, -1,
                        "the quote is signed by AK %s, which is not enrolled with this verifier", a);

        if (!json_object_object_get_ex(ev->root, "quote", &quote) || json_get_b64(quote, "attest", &attest, &attest_size) < 0 ||
                json_get_b64(quote, "signature", &sig, &sig_size) < 0)
                return untrusted(res, VERIFY_MALFORMED, -1, NULL, -1, "evidence has no \"quote\" with attest and signature");
        if (tpm_signature_parse(sig, sig_size, &s) < 0 || s.hash != TPM_ALG_SHA256)
                return untrusted(res, VERIFY_BAD_SIGNATURE, -1, NULL, -1, "the quote signature is not ECDSA/SHA-256");
        if (crypto_verify_ecdsa_rs(key->key, attest, attest_size, s.r, s.r_size, s.s, s.s_size) < 0)
                return untrusted(res, VERIFY_BAD_SIGNATURE, -1, NULL, -1,
                        "the quote signature does not verify with the enrolled AK %s", a);
        /* Signed by a restricted key, so the TPM made it (magic checked here). */
        if (tpm_quote_parse(attest, attest_size, &ev->quote) < 0)
                return untrusted(res, VERIFY_MALFORMED, -1, NULL, -1, "the signed attestation is not a TPM quote");

        if (ev->quote.extra_size != nonce_size || memcmp(ev->quote.extra, nonce, nonce_size) != 0) {
                short_hex(ev->quote.extra, ev->quote.extra_size, a, sizeof(a));
                short_hex(nonce, nonce_size, b, sizeof(b));
                return untrusted(res, VERIFY_NONCE, -1, NULL, -1,
                        "the quote's nonce %s is not this verifier's nonce %s: a replayed or stale quote", a, b);
        }
        return 0;
}

/* The "pcrs"."sha256" object into ev->pcrs and ev->mask. */
static int check_pcrs_values(struct evidence *ev, struct verify_result *res)
{
        json_object *pcrs, *bank;

        if (!json_object_object_get_ex(ev->root, "pcrs", &pcrs) || !json_object_object_get_ex(pcrs, "sha256", &bank) ||
                !json_object_is_type(bank, json_type_object))
                return untrusted(res, VERIFY_MALFORMED, -1, NULL, -1, "evidence has no \"pcrs\".\"sha256\"");
        if (pcr_bank_init(&ev->pcrs, DIGEST_SHA256) < 0)
                return -EIO;
        ev->mask = 0;
        json_object_object_foreach(bank, key, value)
        {
                char *end;
                unsigned long pcr = strtoul(key, &end, 10);
                if (*key == 0 || *end || pcr >= PCR_COUNT || !json_object_is_type(value, json_type_string) ||
                        hex_decode_exact(json_object_get_string(value), ev->pcrs.values[pcr], 32) < 0)
                        return untrusted(res, VERIFY_MALFORMED, -1, NULL, -1, "evidence PCR \"%s\" is malformed", key);
                ev->mask |= 1u << pcr;
        }
        return 0;
}

static int check_pcrs(struct evidence *ev, const struct verify_manifest *m, struct verify_result *res)
{
        uint8_t composite[32];
        uint32_t required;
        int r;

        if (ev->quote.pcr_hash != TPM_ALG_SHA256 || ev->quote.pcr_digest_size != 32)
                return untrusted(res, VERIFY_PCR_DIGEST, -1, NULL, -1, "the quote does not cover the SHA-256 bank");
        r = check_pcrs_values(ev, res);
        if (r != 0)
                return r;
        if (ev->mask != ev->quote.pcr_mask)
                return untrusted(res, VERIFY_PCR_DIGEST, -1, NULL, -1,
                        "the evidence lists other PCRs (mask 0x%06x) than the quote selects (0x%06x)", ev->mask,
                        ev->quote.pcr_mask);
        /* Part 3 §18.4: pcrDigest = H(selected PCR values in ascending order) */
        if (pcr_composite_digest(&ev->pcrs, ev->mask, DIGEST_SHA256, composite) < 0)
                return -EIO;
        if (memcmp(composite, ev->quote.pcr_digest, 32) != 0)
                return untrusted(res, VERIFY_PCR_DIGEST, -1, NULL, -1,
                        "the PCR values in the evidence are not the ones the TPM quoted (pcrDigest differs)");
        required = TVAM_PCRS | m->launch_mask;
        if ((ev->mask & required) != required) {
                char list[80];
                pcr_mask_to_string(required & ~ev->mask, list, sizeof(list));
                return untrusted(res, VERIFY_PCRS_MISSING, -1, NULL, -1, "the quote does not cover PCR %s", list);
        }
        return 0;
}

/* ---- logs ------------------------------------------------------------- */

static int load_log(struct evidence *ev, const char *name, bool required, struct eventlog **ret,
        struct verify_result *res)
{
        _cleanup_free_ uint8_t *buf = NULL;
        json_object *logs;
        size_t size, off = 0;
        int r;

        if (!json_object_object_get_ex(ev->root, "event_logs", &logs) || !json_get_string(logs, name)) {
                if (!required)
                        return 0;
                return untrusted(res, VERIFY_MALFORMED, -1, name, -1, "evidence has no \"%s\" event log", name);
        }
        if (json_get_b64(logs, name, &buf, &size) < 0)
                return untrusted(res, VERIFY_MALFORMED, -1, name, -1, "the %s event log is not base64", name);
        r = eventlog_parse(buf, size, 0, ret, &off);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return untrusted(res, VERIFY_MALFORMED, -1, name, -1,
                        "the %s event log is malformed at byte %zu (%s)", name, off, strerror(-r));
        return 0;
}

static int replay_against_quote(const struct eventlog *log, const char *name, const struct pcr_bank *quoted,
        uint32_t mask, struct verify_result *res)
{
        struct eventlog_mismatch mm;
        char what[600], got[24], want[24];
        int r;

        if (!eventlog_has_bank(log, DIGEST_SHA256))
                return untrusted(res, VERIFY_MALFORMED, -1, name, -1, "the %s event log has no SHA-256 bank", name);
        r = eventlog_replay_check(log, quoted, mask, &mm);
        if (r == 0)
                return 0;
        if (r != -EPERM)
                return untrusted(res, VERIFY_MALFORMED, -1, name, -1, "the %s event log cannot be replayed (%s)", name,
                        strerror(-r));
        short_hex(mm.replayed, 8, got, sizeof(got));
        short_hex(mm.expected, 8, want, sizeof(want));
        if (mm.event_index == SIZE_MAX)
                return untrusted(res, VERIFY_LOG_REPLAY, (int)mm.pcr, name, -1,
                        "PCR %u is %s... in the quote, but the %s log has no event for it", mm.pcr, want, name);
        describe_event(&log->events[mm.event_index], what, sizeof(what));
        if (mm.prefix_matches)
                return untrusted(res, VERIFY_LOG_REPLAY, (int)mm.pcr, name, (long)mm.event_index,
                        "PCR %u: the %s log has events the TPM never measured, from event #%zu (%s)", mm.pcr, name,
                        mm.event_index, what);
        return untrusted(res, VERIFY_LOG_REPLAY, (int)mm.pcr, name, (long)mm.event_index,
                "PCR %u: the %s log replays to %s... but the TPM quoted %s...; the log's %zu events for PCR %u "
                "(first: #%zu, %s) are not what was measured (an event altered, removed or added)",
                mm.pcr, name, got, want, mm.n_pcr_events, mm.pcr, mm.event_index, what);
}

static int check_tvam_log(struct evidence *ev, const struct verify_manifest *m, struct verify_result *res)
{
        const struct eventlog *log = ev->tvam_log;
        size_t n_base = 0, n_mode = 0;
        int r;

        for (size_t i = 0; i < log->n_events; i++)
                if (!(TVAM_PCRS & (1u << log->events[i].pcr)) && log->events[i].type != EV_NO_ACTION)
                        return untrusted(res, VERIFY_UNKNOWN_EVENT, (int)log->events[i].pcr, "tvam", (long)i,
                                "event #%zu of the tvam log extends PCR %u, not one of TVAM's PCRs 13-15", i,
                                log->events[i].pcr);
        r = replay_against_quote(log, "tvam", &ev->pcrs, TVAM_PCRS, res);
        if (r != 0)
                return r;

        for (size_t i = 0; i < log->n_events; i++) {
                const struct eventlog_event *e = &log->events[i];
                struct eventlog_tvam_ref t;
                char cfg[72] = "";

                if (e->type == EV_NO_ACTION)
                        continue;
                r = eventlog_tvam_event_verify_ref(e, &t);
                if (r == -EPERM)
                        return untrusted(res, VERIFY_LOG_REPLAY, (int)e->pcr, "tvam", (long)i,
                                "PCR %u event #%zu: its data does not hash to its digest (the event was altered)",
                                e->pcr, i);
                if (r < 0)
                        return untrusted(res, VERIFY_UNKNOWN_EVENT, (int)e->pcr, "tvam", (long)i,
                                "PCR %u event #%zu (%s) is not a well-formed TVAM event", e->pcr, i,
                                eventlog_event_type_to_string(e->type));

                /* The fields are not NUL-terminated (and hold no NUL): "%.*s". */
                switch (t.kind) {
                case EVENTLOG_TVAM_APPLICATION:
                        if (e->pcr != APPLICATION_PCR)
                                break;
                        if (!manifest_find(&m->applications, t.identity, t.identity_size, t.config, t.config_size,
                                    true)) {
                                short_hex(t.config, t.config_size, cfg, sizeof(cfg));
                                return untrusted(res, VERIFY_APPLICATION, (int)e->pcr, "tvam", (long)i,
                                        "PCR 13 event #%zu: application '%.*s' with identity %.*s%s%s is not in the "
                                        "reference manifest",
                                        i, (int)t.name_size, t.name, (int)t.identity_size, t.identity,
                                        cfg[0] ? " and config " : "", cfg);
                        }
                        continue;
                case EVENTLOG_TVAM_BASE_IMAGE:
                        if (e->pcr != BASE_PCR)
                                break;
                        n_base++;
                        if (!manifest_find(&m->base_images, t.identity, t.identity_size, t.config, t.config_size,
                                    false))
                                return untrusted(res, VERIFY_BASE_IMAGE, (int)e->pcr, "tvam", (long)i,
                                        "PCR 14 event #%zu: base image '%.*s' with identity %.*s is not in the "
                                        "reference manifest",
                                        i, (int)t.name_size, t.name, (int)t.identity_size, t.identity);
                        continue;
                case EVENTLOG_TVAM_MODE:
                        if (e->pcr != MODE_PCR)
                                break;
                        n_mode++;
                        if (t.identity_size != strlen(MODE_APPLICATION_IDENTITY) ||
                                memcmp(t.identity, MODE_APPLICATION_IDENTITY, t.identity_size) != 0)
                                return untrusted(res, VERIFY_MODE, (int)e->pcr, "tvam", (long)i,
                                        "PCR 15 event #%zu: unknown mode transition '%.*s'", i, (int)t.identity_size,
                                        t.identity);
                        continue;
                }
                return untrusted(res, VERIFY_UNKNOWN_EVENT, (int)e->pcr, "tvam", (long)i,
                        "PCR %u event #%zu: a %s event does not belong in PCR %u", e->pcr, i,
                        eventlog_tvam_kind_to_string(t.kind), e->pcr);
        }

        if (n_base != 1)
                return untrusted(res, VERIFY_BASE_IMAGE, (int)BASE_PCR, "tvam", -1,
                        "PCR 14 holds %zu base-image measurements, expected exactly one", n_base);
        if (m->mode == MANIFEST_MODE_APPLICATION && n_mode != 1)
                return untrusted(res, VERIFY_MODE, (int)MODE_PCR, "tvam", -1,
                        "the platform is not in Application Mode (PCR 15 has %zu mode events, expected one)", n_mode);
        if (m->mode == MANIFEST_MODE_UPDATE && n_mode != 0)
                return untrusted(res, VERIFY_MODE, (int)MODE_PCR, "tvam", -1,
                        "the platform is not in Update Mode (PCR 15 was extended)");
        return 0;
}

static int check_firmware_log(struct evidence *ev, const struct verify_manifest *m, struct verify_result *res)
{
        const struct eventlog *log = ev->firmware_log;
        uint32_t touched = 0;
        int r;

        if (!log) {
                if (m->check_boot_components)
                        return untrusted(res, VERIFY_BOOT_COMPONENT, -1, "firmware", -1,
                                "the manifest lists boot components but the evidence has no firmware event log");
                return 0;
        }
        for (size_t i = 0; i < log->n_events; i++)
                if (log->events[i].type != EV_NO_ACTION)
                        touched |= 1u << log->events[i].pcr;
        if (touched & TVAM_PCRS)
                return untrusted(res, VERIFY_UNKNOWN_EVENT, -1, "firmware", -1,
                        "the firmware event log extends TVAM's PCRs 13-15");
        /* Every quoted PCR the firmware log speaks for must replay exactly. */
        r = replay_against_quote(log, "firmware", &ev->pcrs, ev->mask & touched, res);
        if (r != 0)
                return r;

        if (!m->check_boot_components)
                return 0;
        for (size_t i = 0; i < log->n_events; i++) {
                const struct eventlog_event *e = &log->events[i];
                const struct eventlog_digest *d;
                bool found = false;
                char hex[80];

                if (!(m->boot_pcrs & (1u << e->pcr)) || (e->type != EV_IPL && e->type != EV_EFI_EVENT_BASE + 3))
                        continue;
                d = eventlog_event_digest(e, DIGEST_SHA256);
                for (size_t j = 0; d && j < m->n_boot_components && !found; j++)
                        found = memcmp(m->boot_components[j].sha256, d->value, 32) == 0;
                if (!found) {
                        short_hex(d ? d->value : (const uint8_t *)"", d ? 32 : 0, hex, sizeof(hex));
                        return untrusted(res, VERIFY_BOOT_COMPONENT, (int)e->pcr, "firmware", (long)i,
                                "PCR %u event #%zu (%s, sha256 %s) is not a boot component of the reference manifest",
                                e->pcr, i, eventlog_event_type_to_string(e->type), hex);
                }
        }
        return 0;
}

static int check_launch(struct evidence *ev, const struct verify_manifest *m, struct verify_result *res)
{
        for (unsigned pcr = 0; pcr < PCR_COUNT; pcr++) {
                bool ok = false;
                char hex[24];
                if (!(m->launch_mask & (1u << pcr)))
                        continue;
                for (size_t i = 0; i < m->launch[pcr].n_values && !ok; i++)
                        ok = memcmp(m->launch[pcr].values[i], ev->pcrs.values[pcr], 32) == 0;
                if (!ok) {
                        short_hex(ev->pcrs.values[pcr], 8, hex, sizeof(hex));
                        return untrusted(res, VERIFY_LAUNCH_PCR, (int)pcr, NULL, -1,
                                "launch PCR %u is %s..., not a value the reference manifest allows", pcr, hex);
                }
        }
        return 0;
}

int verify_evidence(const char *evidence, size_t size, const uint8_t *nonce, size_t nonce_size,
        struct verify_ak *const *aks, size_t n_aks, const struct verify_manifest *m, struct verify_result *res)
{
        struct evidence ev = {};
        json_object *v;
        int r;

        assert(evidence && nonce && m && res);
        *res = (struct verify_result){ .cause = VERIFY_TRUSTED, .pcr = -1, .event = -1 };

        if (size > INT_MAX) {
                untrusted(res, VERIFY_MALFORMED, -1, NULL, -1, "evidence is too large");
                return 0;
        }
        r = json_parse(evidence, size, &ev.root);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !json_object_is_type(ev.root, json_type_object) ||
                !json_object_object_get_ex(ev.root, "version", &v) || json_object_get_int(v) != 1) {
                r = untrusted(res, VERIFY_MALFORMED, -1, NULL, -1, "evidence is not a version 1 JSON document");
                goto out;
        }
        if ((r = check_quote(&ev, nonce, nonce_size, aks, n_aks, res)) != 0 || (r = check_pcrs(&ev, m, res)) != 0 ||
                (r = load_log(&ev, "tvam", true, &ev.tvam_log, res)) != 0 ||
                (r = load_log(&ev, "firmware", false, &ev.firmware_log, res)) != 0 ||
                (r = check_tvam_log(&ev, m, res)) != 0 || (r = check_firmware_log(&ev, m, res)) != 0 ||
                (r = check_launch(&ev, m, res)) != 0)
                goto out;
        snprintf(res->message, sizeof(res->message),
                "trusted: quote by an enrolled AK over our nonce; %zu TVAM events replay to PCR 13-15 and match the "
                "reference manifest%s",
                ev.tvam_log->n_events, ev.firmware_log ? "; the firmware log replays to the quoted launch PCRs" : "");
out:
        evidence_done(&ev);
        return r < 0 ? r : 0;
}

int verify_result_to_json(const struct verify_result *r, char **ret)
{
        _cleanup_json_ json_object *o = json_object_new_object();

        assert(r && ret);
        if (!o || json_add_string(o, "verdict", r->cause == VERIFY_TRUSTED ? "trusted" : "untrusted") < 0 ||
                json_add_string(o, "cause", verify_cause_to_string(r->cause)) < 0 ||
                json_add_string(o, "message", r->message) < 0)
                return -ENOMEM;
        if (r->pcr >= 0 && json_add_int(o, "pcr", r->pcr) < 0)
                return -ENOMEM;
        if (r->log && json_add_string(o, "log", r->log) < 0)
                return -ENOMEM;
        if (r->event >= 0 && json_add_int(o, "event", (int)r->event) < 0)
                return -ENOMEM;
        return json_to_string(o, ret);
}

int verify_evidence_pcrs(const char *evidence, size_t size, struct pcr_bank *ret)
{
        struct evidence ev = {};
        struct verify_result res;
        int r;

        assert(evidence && ret);
        if (size > INT_MAX)
                return -EFBIG;
        r = json_parse(evidence, size, &ev.root);
        if (r < 0)
                return r;
        /* check_pcrs() needs the quote's selection: take it from the values */
        r = check_pcrs_values(&ev, &res);
        if (r == 0)
                *ret = ev.pcrs;
        evidence_done(&ev);
        return r == 0 ? 0 : -EBADMSG;
}
