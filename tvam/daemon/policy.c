/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tvamd: the revocable sealing policy (policy.json + the PolicyAuthorizeNV
 * index) and the methods policy-init, policy-show, policy-diagnose.  The
 * crash-safety argument is in policy.h and docs/update.md.
 */
#include "tvam/daemon/policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tvam/daemon/mode.h"
#include "tvam/daemon/update-mode.h"
#include "tvam/eventlog/eventlog.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/log.h"
#include "tvam/shared/macro.h"
#include "tvam/storage/luks.h"
#include "tvam/storage/luks-token.h"
#include "tvam/tpm/tpm-blob.h"
#include "tvam/tpm/tpm-pcr.h"
#include "tvam/tpm/tpm-seal.h"
#include "tvam/tpm/tpm-srk.h"

#define POLICY_FILE_VERSION 1
#define BASE_PCR 14
#define DEFAULT_EVENTLOG "/sys/kernel/security/tpm0/binary_bios_measurements"

#define FAIL(err, ...)                                                                                      \
        ({                                                                                                  \
                snprintf(message, message_size, __VA_ARGS__);                                               \
                (err);                                                                                      \
        })

void policy_file_done(struct policy_file *pf)
{
        if (!pf)
                return;
        if (pf->inputs)
                json_object_put(pf->inputs);
        pf->inputs = NULL;
}

uint32_t policy_state_diff(const struct tpm_pcr_state *a, const struct tpm_pcr_state *b)
{
        uint32_t diff = (a->mask ^ b->mask) & PCR_MASK_ALL;
        size_t n = digest_size(a->pcrs.alg);

        for (unsigned p = 0; p < PCR_COUNT; p++)
                if ((a->mask & b->mask & (1u << p)) && memcmp(a->pcrs.values[p], b->pcrs.values[p], n) != 0)
                        diff |= 1u << p;
        return diff;
}

static int first_pcr(uint32_t mask)
{
        for (unsigned p = 0; p < PCR_COUNT; p++)
                if (mask & (1u << p))
                        return (int)p;
        return -1;
}

/* Digest of a set for comparing with the index; n = 0 matches nothing. */
static int set_digest(const struct policy_state *set, size_t n, uint8_t ret[32])
{
        struct tpm_pcr_state s[POLICY_STATES_MAX];

        if (n == 0 || n > POLICY_STATES_MAX)
                return -ENOENT;
        for (size_t i = 0; i < n; i++)
                s[i] = set[i].s;
        return tpm_policy_nv_states_digest(s, n, ret);
}

/* --- policy.json codec ---------------------------------------------------- */

static json_object *state_to_json(const struct policy_state *st)
{
        json_object *o = json_object_new_object(), *pcrs = json_object_new_object(),
                    *prov = json_object_new_object();
        size_t n = digest_size(st->s.pcrs.alg);

        for (unsigned p = 0; p < PCR_COUNT; p++) {
                char key[4], *hex = NULL;
                if (!(st->s.mask & (1u << p)))
                        continue;
                snprintf(key, sizeof(key), "%u", p);
                if (hex_encode(st->s.pcrs.values[p], n, &hex) < 0) {
                        json_object_put(o), json_object_put(pcrs), json_object_put(prov);
                        return NULL;
                }
                json_object_object_add(pcrs, key, json_object_new_string(hex));
                json_object_object_add(prov, key, json_object_new_string(st->provenance[p]));
                free(hex);
        }
        json_object_object_add(o, "pcrs", pcrs);
        json_object_object_add(o, "provenance", prov);
        return o;
}

static int state_from_json(json_object *o, struct policy_state *ret)
{
        json_object *pcrs, *prov, *v;

        *ret = (struct policy_state){};
        if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, "pcrs", &pcrs) ||
                !json_object_object_get_ex(o, "provenance", &prov) || !json_object_is_type(prov, json_type_object) ||
                tpm_policy_file_parse_pcrs(pcrs, &ret->s) < 0)
                return -EBADMSG;
        for (unsigned p = 0; p < PCR_COUNT; p++) {
                char key[4];
                snprintf(key, sizeof(key), "%u", p);
                if ((ret->s.mask & (1u << p)) && json_object_object_get_ex(prov, key, &v) &&
                        json_object_is_type(v, json_type_string))
                        snprintf(ret->provenance[p], POLICY_PROVENANCE_MAX, "%s", json_object_get_string(v));
        }
        return 0;
}

static json_object *set_to_json(const struct policy_state *set, size_t n)
{
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < n; i++)
                json_object_array_add(a, state_to_json(&set[i]));
        return a;
}

static int set_from_json(json_object *a, struct policy_state *set, size_t *ret_n)
{
        size_t n;
        int r;

        if (!json_object_is_type(a, json_type_array))
                return -EBADMSG;
        n = json_object_array_length(a);
        if (n > POLICY_STATES_MAX)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++) {
                r = state_from_json(json_object_array_get_idx(a, i), &set[i]);
                if (r < 0)
                        return r;
        }
        *ret_n = n;
        return 0;
}

static void state_path(struct daemon *d, char *buf, size_t size)
{
        snprintf(buf, size, "%s/%s", d->state_dir, POLICY_STATE_FILE);
}

static int policy_file_save(struct daemon *d, const struct policy_file *pf)
{
        json_object *o = json_object_new_object();
        char path[512];
        const char *text;
        int r;

        json_object_object_add(o, "version", json_object_new_int(POLICY_FILE_VERSION));
        json_object_object_add(o, "authorized", set_to_json(pf->authorized, pf->n_authorized));
        if (pf->n_writing > 0)
                json_object_object_add(o, "writing", set_to_json(pf->writing, pf->n_writing));
        for (int class = 0; class < _TPM_SEAL_CLASS_MAX; class++) {
                json_object *held;
                if (pf->n_interrupted[class] == 0)
                        continue;
                if (!json_object_object_get_ex(o, "interrupted", &held)) {
                        held = json_object_new_object();
                        json_object_object_add(o, "interrupted", held);
                }
                json_object_object_add(held, tpm_seal_class_to_string(class),
                        set_to_json(pf->interrupted[class], pf->n_interrupted[class]));
        }
        if (pf->update) {
                json_object *u = json_object_new_object();
                json_object_object_add(u, "current", state_to_json(&pf->current));
                json_object_object_add(u, "next", state_to_json(&pf->next));
                if (pf->inputs)
                        json_object_object_add(u, "inputs", json_object_get(pf->inputs));
                json_object_object_add(o, "update", u);
        }
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
        state_path(d, path, sizeof(path));
        (void)mkdir(d->state_dir, 0700);
        r = atomic_file_write(path, text, strlen(text), 0600);
        json_object_put(o);
        return r;
}

static int policy_file_read(struct daemon *d, struct policy_file *ret)
{
        _cleanup_free_ uint8_t *buf = NULL;
        json_object *o, *v, *u;
        char path[512];
        size_t size;
        int r;

        *ret = (struct policy_file){};
        state_path(d, path, sizeof(path));
        r = read_full_file(path, TPM_POLICY_FILE_MAX, &buf, &size);
        if (r < 0)
                return r;
        o = json_tokener_parse((const char *)buf);
        if (!o)
                return -EBADMSG;
        r = -EBADMSG;
        if (!json_object_object_get_ex(o, "version", &v) || json_object_get_int(v) != POLICY_FILE_VERSION)
                goto out;
        if (!json_object_object_get_ex(o, "authorized", &v) ||
                set_from_json(v, ret->authorized, &ret->n_authorized) < 0)
                goto out;
        if (json_object_object_get_ex(o, "writing", &v) && set_from_json(v, ret->writing, &ret->n_writing) < 0)
                goto out;
        if (json_object_object_get_ex(o, "interrupted", &u))
                for (int class = 0; class < _TPM_SEAL_CLASS_MAX; class++)
                        if (json_object_object_get_ex(u, tpm_seal_class_to_string(class), &v) &&
                                set_from_json(v, ret->interrupted[class], &ret->n_interrupted[class]) < 0)
                                goto out;
        if (json_object_object_get_ex(o, "update", &u)) {
                if (!json_object_object_get_ex(u, "current", &v) || state_from_json(v, &ret->current) < 0 ||
                        !json_object_object_get_ex(u, "next", &v) || state_from_json(v, &ret->next) < 0)
                        goto out;
                if (json_object_object_get_ex(u, "inputs", &v))
                        ret->inputs = json_object_get(v);
                ret->update = true;
        }
        r = 0;
out:
        json_object_put(o);
        if (r < 0)
                policy_file_done(ret);
        return r;
}

static bool set_contains(const struct policy_state *set, size_t n, const struct policy_state *st)
{
        for (size_t i = 0; i < n; i++)
                if (policy_state_diff(&set[i].s, &st->s) == 0)
                        return true;
        return false;
}

/* For the update-mode and boot indices: which candidate set (authorized,
 * writing, OTHER, the earlier interrupted one) each holds now; remember it
 * in "interrupted" unless it is "authorized".  An index holding none of
 * them keeps its record (and is reported). */
static void record_index_sets(struct tpm_context *tpm, struct policy_file *pf, const struct policy_state *other,
        size_t n_other)
{
        for (int class = 0; class < _TPM_SEAL_CLASS_MAX; class++) {
                const struct tpm_policy_nv nv = tpm_policy_nv_for_class(class);
                const struct policy_state *cand[] = { pf->authorized, pf->writing, other, pf->interrupted[class] };
                const size_t n_cand[] = { pf->n_authorized, pf->n_writing, n_other, pf->n_interrupted[class] };
                struct tpm_pcr_state s[POLICY_STATES_MAX];
                uint8_t held[32], digest[32];
                bool found = false;

                if (class == TPM_SEAL_APPLICATION)
                        continue;
                if (tpm_policy_nv_read_digest(tpm, &nv, held) < 0) {
                        log_warning("Cannot read the %s policy index 0x%08x", tpm_seal_class_to_string(class),
                                nv.policy_index);
                        continue;
                }
                for (size_t c = 0; c < ELEMENTSOF(cand) && !found; c++) {
                        if (!cand[c] || n_cand[c] == 0 || n_cand[c] > POLICY_STATES_MAX)
                                continue;
                        for (size_t i = 0; i < n_cand[c]; i++)
                                tpm_pcr_state_project(&cand[c][i].s, class, &s[i]);
                        if (tpm_policy_nv_states_digest(s, n_cand[c], digest) < 0 || memcmp(digest, held, 32) != 0)
                                continue;
                        found = true;
                        if (c == 0)
                                pf->n_interrupted[class] = 0;
                        else if (cand[c] != pf->interrupted[class]) {
                                memcpy(pf->interrupted[class], cand[c], n_cand[c] * sizeof(*cand[c]));
                                pf->n_interrupted[class] = n_cand[c];
                        }
                }
                if (!found)
                        log_warning("The %s policy index 0x%08x holds none of the recorded sets",
                                tpm_seal_class_to_string(class), nv.policy_index);
                else if (pf->n_interrupted[class] > 0)
                        log_warning("The %s policy index 0x%08x still holds the set of an interrupted change: "
                                    "the next prepare, commit or abort rewrites it",
                                tpm_seal_class_to_string(class), nv.policy_index);
        }
}

int policy_file_load(struct daemon *d, struct tpm_context *tpm, struct policy_file *ret, char *message,
        size_t message_size)
{
        const struct tpm_policy_nv nv = TPM_POLICY_NV_DEFAULT;
        uint8_t held[32], digest[32];
        bool changed = false, written = false;
        int r;

        r = policy_file_read(d, ret);
        if (r == -ENOENT) {
                /* policy.json lost while the index exists: not "never
                 * initialized" — sealing must not fall back to PolicyPCR. */
                if (tpm_policy_nv_read_digest(tpm, &nv, held) == 0)
                        return FAIL(-ESTALE,
                                "%s/%s is missing but the policy index 0x%08x exists: run tvamctl policy init "
                                "again to authorize the current state",
                                d->state_dir, POLICY_STATE_FILE, nv.policy_index);
                return FAIL(r, "the sealing policy is not initialized (tvamctl policy init)");
        }
        if (r < 0)
                return FAIL(r, "%s/%s is unreadable or malformed: %s", d->state_dir, POLICY_STATE_FILE,
                        strerror(-r));
        r = tpm_policy_nv_read_digest(tpm, &nv, held);
        if (r < 0) {
                policy_file_done(ret);
                return FAIL(r, "cannot read the policy index 0x%08x: %s", nv.policy_index, strerror(-r));
        }

        /* Heal an interrupted transition (policy.h): the index decides. */
        if (ret->n_writing > 0) {
                struct policy_state old[POLICY_STATES_MAX];
                size_t n_old = ret->n_authorized;
                memcpy(old, ret->authorized, sizeof(old));
                if (set_digest(ret->writing, ret->n_writing, digest) == 0 && memcmp(digest, held, 32) == 0) {
                        /* the write happened: "writing" is what the index holds */
                        memcpy(ret->authorized, ret->writing, sizeof(ret->writing));
                        written = true;
                        ret->n_authorized = ret->n_writing;
                        /* a commit or abort wrote one state: the update is over */
                        if (ret->update && ret->n_authorized == 1)
                                ret->update = false;
                } else if (ret->update && !set_contains(ret->authorized, ret->n_authorized, &ret->next))
                        ret->update = false; /* a prepare that never reached the index */
                /* The application index is written last: the others may
                 * hold the old, the new or an earlier interrupted set. */
                record_index_sets(tpm, ret, old, n_old);
                ret->n_writing = 0;
                changed = true;
        }
        if (set_digest(ret->authorized, ret->n_authorized, digest) < 0 || memcmp(digest, held, 32) != 0) {
                policy_file_done(ret);
                return FAIL(-ESTALE,
                        "the policy index 0x%08x holds a digest tvamd did not write (no authorized state, or "
                        "written by someone else): nothing sealed through it unseals until the administrator "
                        "authorizes a state",
                        nv.policy_index);
        }
        if (changed) {
                if (!ret->update && ret->inputs) {
                        json_object_put(ret->inputs);
                        ret->inputs = NULL;
                }
                r = policy_file_save(d, ret);
                if (r < 0)
                        log_warning_errno(r, "Cannot rewrite %s after an interrupted policy write", POLICY_STATE_FILE);
                else
                        log_info("%s healed after an interrupted policy write: index 0x%08x holds the %s set",
                                POLICY_STATE_FILE, nv.policy_index, written ? "new" : "previous");
        }
        return 0;
}

int daemon_policy_load(struct daemon *d, struct tpm_context *tpm, struct daemon_policy *ret, char *message,
        size_t message_size)
{
        struct policy_file pf;
        int r;

        r = policy_file_load(d, tpm, &pf, message, message_size);
        if (r < 0)
                return r;
        *ret = (struct daemon_policy){ .nv = TPM_POLICY_NV_DEFAULT, .n_states = pf.n_authorized };
        for (size_t i = 0; i < pf.n_authorized; i++)
                ret->states[i] = pf.authorized[i].s;
        policy_file_done(&pf);
        return 0;
}

int daemon_policy_check(const struct daemon_policy *policy, const struct pcr_bank *state, uint32_t mask,
        char *message, size_t message_size)
{
        struct tpm_pcr_state want = { .mask = mask, .pcrs = *state };
        uint32_t best = 0;

        for (size_t i = 0; i < policy->n_states; i++) {
                uint32_t diff = policy_state_diff(&policy->states[i], &want);
                if (diff == 0)
                        return 0;
                if (i == 0 || first_pcr(diff) > first_pcr(best))
                        best = diff;
        }
        return FAIL(-EPERM,
                "the policy index does not authorize this platform's Application-Mode state (PCR %d differs "
                "from every authorized state): a secret sealed now would not unseal",
                first_pcr(best));
}

/* TESTS ONLY (tests/tpm/update.sh): $TVAM_TEST_POLICY_CRASH = "recorded" or
 * "written" kills tvamd abruptly at that point of a transition, like a
 * power loss there. */
static void test_crash_point(const char *point)
{
        const char *want = getenv("TVAM_TEST_POLICY_CRASH");
        if (want && strcmp(want, point) == 0)
                _exit(99);
}

int policy_transition(struct daemon *d, struct tpm_context *tpm, const struct secret *admin,
        struct policy_file *pf, const struct policy_state *states, size_t n, enum policy_update_op op,
        char *message, size_t message_size)
{
        struct tpm_policy_nv nv = TPM_POLICY_NV_DEFAULT;
        struct tpm_pcr_state s[POLICY_STATES_MAX];
        struct policy_file before = *pf;
        unsigned n_written = 0;
        int r = 0;

        if (n == 0 || n > POLICY_STATES_MAX)
                return FAIL(-EINVAL, "a policy authorizes 1 to %u states", POLICY_STATES_MAX);
        /* 1. record what is being written (and the update, if prepared) */
        memcpy(pf->writing, states, n * sizeof(*states));
        pf->n_writing = n;
        if (op == POLICY_UPDATE_SET)
                pf->update = true;
        r = policy_file_save(d, pf);
        if (r < 0) {
                *pf = before;
                return FAIL(r, "cannot write %s/%s: %s", d->state_dir, POLICY_STATE_FILE, strerror(-r));
        }
        test_crash_point("recorded");
        /* 2. one NV write per index, authorized by the admin secret; the
         * application index last: loading decides by it (above) */
        for (int class = _TPM_SEAL_CLASS_MAX - 1; class >= 0; class--) {
                nv = tpm_policy_nv_for_class(class);
                for (size_t i = 0; i < n; i++)
                        tpm_pcr_state_project(&states[i].s, class, &s[i]);
                r = tpm_policy_nv_authorize(tpm, &nv, admin, s, n);
                if (r < 0)
                        break;
                n_written++;
                if (class == TPM_SEAL_BOOT)
                        test_crash_point("written-boot");
                if (class == TPM_SEAL_UPDATE_MODE)
                        test_crash_point("written-update-mode");
        }
        if (r < 0) {
                /* The application index did not change: neither does the
                 * file, except for what the indices written already hold. */
                *pf = before;
                before.inputs = NULL;
                if (n_written > 0)
                        record_index_sets(tpm, pf, states, n);
                if (policy_file_save(d, pf) < 0)
                        log_warning("Cannot restore %s; the next load heals it from the index", POLICY_STATE_FILE);
                if (r == -EACCES && n_written == 0)
                        return FAIL(r, "the administrator secret is wrong (TPM2_PolicySecret on index 0x%08x "
                                       "refused it); nothing was changed",
                                nv.admin_index);
                return FAIL(r, "cannot write the policy index 0x%08x: %s; %s", nv.policy_index, strerror(-r),
                        n_written == 0 ? "nothing was changed"
                                       : "the indices written before it hold the new set: run the command again");
        }
        test_crash_point("written");
        /* 3. the indices hold it */
        memset(pf->n_interrupted, 0, sizeof(pf->n_interrupted));
        memcpy(pf->authorized, states, n * sizeof(*states));
        pf->n_authorized = n;
        pf->n_writing = 0;
        if (op == POLICY_UPDATE_CLEAR) {
                pf->update = false;
                if (pf->inputs)
                        json_object_put(pf->inputs);
                pf->inputs = NULL;
        }
        r = policy_file_save(d, pf);
        if (r < 0)
                log_warning_errno(r, "Cannot update %s; the next load heals it from the index", POLICY_STATE_FILE);
        return 0;
}

int policy_current_state(struct daemon *d, struct tpm_context *tpm, struct policy_state *ret)
{
        uint32_t mask;
        int r;

        *ret = (struct policy_state){};
        r = daemon_application_state(d, tpm, &ret->s.pcrs, &mask);
        if (r < 0)
                return r;
        ret->s.mask = mask;
        for (unsigned p = 0; p < PCR_COUNT; p++) {
                if (!(mask & (1u << p)))
                        continue;
                if (p == MODE_PCR)
                        snprintf(ret->provenance[p], POLICY_PROVENANCE_MAX,
                                "Application Mode: H(0^32 || H(\"%s\")) (tvamd)", MODE_APPLICATION_EVENT);
                else if (p == BASE_PCR)
                        snprintf(ret->provenance[p], POLICY_PROVENANCE_MAX,
                                "base image: the TPM's value when the state was recorded");
                else
                        snprintf(ret->provenance[p], POLICY_PROVENANCE_MAX,
                                "launch PCR: the TPM's value when the state was recorded");
        }
        return 0;
}

int policy_open_admin(struct daemon *d, const int *fds, size_t n_fds, struct tpm_context **ret_tpm,
        struct secret **ret_admin, struct secret **ret_owner, char *message, size_t message_size)
{
        struct tpm_context *tpm;
        int r;

        if (n_fds < 1)
                return FAIL(-EINVAL, "the administrator secret must be passed as a descriptor (--admin-key-file)");
        if (n_fds > (ret_owner ? 2u : 1u))
                return FAIL(-EINVAL, "this request takes no owner authorization (--owner-auth-file)");
        if (ret_owner)
                *ret_owner = NULL;
        r = daemon_tpm(d, &tpm);
        if (r < 0)
                return FAIL(r, "cannot reach the TPM (%s): %s", d->tcti, strerror(-r));
        tpm_srk_forget(tpm);
        r = tpm_srk_provision(tpm, NULL);
        if (r < 0)
                return FAIL(r, "cannot provision the SRK at 0x81000001: %s", strerror(-r));
        r = recovery_from_fd(fds[0], ret_admin);
        if (r < 0)
                return FAIL(r, "cannot read the administrator secret: %s", strerror(-r));
        if (n_fds == 2) {
                /* The owner hierarchy's authorization: defining NV indices
                 * and writing tboot's VLP (docs/tpm.md threat note). */
                r = recovery_from_fd(fds[1], ret_owner);
                if (r < 0) {
                        secret_free(*ret_admin);
                        *ret_admin = NULL;
                        return FAIL(r, "cannot read the owner authorization: %s", strerror(-r));
                }
        }
        *ret_tpm = tpm;
        return 0;
}

/* --- policy-init ---------------------------------------------------------- */

/* The boot index authorizes this launch (what the next boot of the same
 * kernel/initrd will present to the initramfs), with the states tvamd
 * recorded, as the initramfs will read them. */
static int boot_state_authorized(struct daemon *d, struct tpm_context *tpm, char *message, size_t message_size)
{
        struct tpm_pcr_state states[POLICY_STATES_MAX], now;
        struct policy_state cur;
        size_t n = 0;
        char path[512];
        int r;

        state_path(d, path, sizeof(path));
        r = tpm_policy_file_states(tpm, path, TPM_SEAL_BOOT, states, &n, NULL, message, message_size);
        if (r < 0)
                return r;
        r = policy_current_state(d, tpm, &cur);
        if (r < 0)
                return FAIL(r, "cannot read the PCRs: %s", strerror(-r));
        tpm_pcr_state_project(&cur.s, TPM_SEAL_BOOT, &now);
        for (size_t i = 0; i < n; i++)
                if (policy_state_diff(&states[i], &now) == 0)
                        return 0;
        return FAIL(-EPERM, "the boot policy index does not authorize this launch: the next boot could not unseal");
}

/* base-N's key: sealed to the launch PCRs by the first-boot enrolment
 * (docs/base-system.md); from now on through the boot policy index, so that
 * an update authorizes the next boot without unsealing anything.  The old
 * PolicyPCR object may have been copied (the LUKS2 header is not secret),
 * so the key is rotated, not re-sealed: a fresh secret in a new keyslot,
 * sealed through the index, the token pointed at it, the old keyslot
 * destroyed (luks_tpm_rebind: one header commit each, the volume opens
 * after every one).  Afterwards the key unseals only where the boot index
 * allows it: PCR 14 = 0, i.e. in the initramfs before it measures base-N,
 * never in the running system.  RESULT gets "base_key". */
static int reseal_base_key(struct daemon *d, struct tpm_context *tpm, json_object *result, char *message,
        size_t message_size)
{
        const struct tpm_policy_nv nv = tpm_policy_nv_for_class(TPM_SEAL_BOOT);
        _cleanup_tpm_blob_ struct tpm_blob *blob = NULL, *nv_blob = NULL;
        _cleanup_secret_ struct secret *secret = NULL, *fresh = NULL;
        _cleanup_free_ uint8_t *bytes = NULL;
        struct tpm_unseal_diag diag = {};
        struct luks_token token = {}, new_token;
        size_t size;
        int r;

        if (!d->base_device) {
                json_object_object_add(result, "base_key", json_object_new_string("no base device (--base-device)"));
                return 0;
        }
        r = luks_token_read(d->base_device, &token);
        if (r < 0)
                return FAIL(r, "cannot read the tvam-tpm2 token of the base volume %s: %s", d->base_device,
                        strerror(-r));
        r = tpm_blob_parse(token.blob, token.blob_size, &blob);
        new_token = (struct luks_token){
                .pcr_bank = DIGEST_SHA256,
                .pcr_mask = token.pcr_mask, /* informative: the launch PCRs */
                .policy_nv_index = nv.policy_index,
                .srk_handle = token.srk_handle,
        };
        luks_token_done(&token);
        if (r < 0)
                return FAIL(r, "the token of %s holds no TVAM sealed object: %s", d->base_device, strerror(-r));
        if (blob->kind == TPM_BLOB_AUTHORIZE_NV) {
                if (luks_has_recovery(d->base_device) == 1)
                        log_warning("%s has a keyslot besides the token's: a re-seal was interrupted before it "
                                    "destroyed the old keyslot, whose sealed copies still open it",
                                d->base_device);
                json_object_object_add(result, "base_key",
                        json_object_new_string(blob->nv_index == nv.policy_index ? "sealed through the boot index already"
                                                                                 : "sealed through another index"));
                return 0;
        }
        r = tpm_unseal(tpm, blob, NULL, 0, &diag, &secret);
        if (r < 0)
                return FAIL(r, "cannot unseal the key of the base volume %s to re-seal it: %s", d->base_device,
                        diag.message[0] ? diag.message : strerror(-r));
        r = luks_open(d->base_device, NULL, secret, 0);
        if (r < 0)
                return FAIL(r, "the unsealed key does not open %s; left as it is", d->base_device);
        r = boot_state_authorized(d, tpm, message, message_size);
        if (r < 0)
                return r;
        r = secret_new_random(LUKS_TPM_SECRET_SIZE, &fresh);
        if (r >= 0)
                r = tpm_seal_authorize_nv(tpm, fresh, &nv, &nv_blob);
        if (r >= 0)
                r = tpm_blob_serialize(nv_blob, &bytes, &size);
        if (r < 0)
                return FAIL(r, "cannot seal a new base key through NV index 0x%08x: %s", nv.policy_index,
                        strerror(-r));
        new_token.blob = bytes;
        new_token.blob_size = size;
        r = luks_tpm_rebind(d->base_device, secret, fresh, &new_token);
        if (r < 0)
                return FAIL(r, "cannot rotate the key of %s: %s (the volume still opens with the key it had)",
                        d->base_device, strerror(-r));
        json_object_object_add(result, "base_key", json_object_new_string("re-sealed through the boot index"));
        log_info("the key of %s is rotated: a fresh key sealed through the boot policy index 0x%08x, the old "
                 "keyslot destroyed",
                d->base_device, nv.policy_index);
        return 0;
}

int method_policy_init(struct daemon *d, json_object *params, const int *fds, size_t n_fds,
        json_object **ret_result, char *message, size_t message_size)
{
        _cleanup_secret_ struct secret *admin = NULL, *owner = NULL;
        struct policy_file pf = {};
        struct policy_state cur;
        struct tpm_context *tpm;
        enum tvam_mode mode;
        char path[512];
        json_object *res;
        int r;

        (void)params;
        r = policy_open_admin(d, fds, n_fds, &tpm, &admin, &owner, message, message_size);
        if (r < 0)
                return r;
        state_path(d, path, sizeof(path));
        if (access(path, F_OK) == 0)
                return FAIL(-EEXIST, "the sealing policy is initialized already (%s exists)", path);
        for (int class = 0; class < _TPM_SEAL_CLASS_MAX; class++) {
                const struct tpm_policy_nv nv = tpm_policy_nv_for_class(class);
                r = tpm_policy_nv_provision(tpm, &nv, admin, owner);
                if (r == -EEXIST)
                        return FAIL(r, "NV index 0x%08x or 0x%08x exists with other attributes or policy: not ours, "
                                       "left alone",
                                nv.policy_index, nv.admin_index);
                if (r == -EACCES)
                        return FAIL(r, "the TPM refused the owner authorization (--owner-auth-file) or the "
                                       "administrator secret (index 0x%08x)",
                                nv.admin_index);
                if (r < 0)
                        return FAIL(r, "cannot provision the %s policy index 0x%08x: %s",
                                tpm_seal_class_to_string(class), nv.policy_index, strerror(-r));
        }
        r = policy_current_state(d, tpm, &cur);
        if (r < 0)
                return FAIL(r, "cannot read the PCRs of the current state: %s", strerror(-r));
        r = policy_transition(d, tpm, admin, &pf, &cur, 1, POLICY_UPDATE_KEEP, message, message_size);
        if (r < 0) {
                (void)unlink(path); /* nothing is sealed through the indices yet: start over */
                return r;
        }
        log_info("sealing policy initialized: indices 0x%08x (applications), 0x%08x (Update Mode), 0x%08x (boot) "
                 "authorize the current state",
                TPM_NV_POLICY_INDEX, TPM_NV_UPDATE_MODE_POLICY_INDEX, TPM_NV_BOOT_POLICY_INDEX);
        res = json_object_new_object();
        json_object_object_add(res, "policy_index", json_object_new_string("0x01800a01"));
        json_object_object_add(res, "update_mode_policy_index", json_object_new_string("0x01800a03"));
        json_object_object_add(res, "boot_policy_index", json_object_new_string("0x01800a04"));
        json_object_object_add(res, "admin_index", json_object_new_string("0x01800a02"));
        json_object_object_add(res, "state", state_to_json(&cur));
        *ret_result = res;

        /* The platform's own keys follow (reported; a failure leaves them
         * sealed as before and is retried at tvamd's next start). */
        r = mode_get(tpm, &mode);
        if (r >= 0 && mode == MODE_UPDATE) {
                r = update_mode_reseal_host_key(d, tpm, message, message_size);
                json_object_object_add(res, "ssh_host_key",
                        json_object_new_string(r > 0 ? "re-sealed through the Update-Mode index"
                                               : r == 0 ? "sealed through the Update-Mode index" : message));
        }
        message[0] = '\0';
        r = reseal_base_key(d, tpm, res, message, message_size);
        if (r < 0)
                json_object_object_add(res, "base_key", json_object_new_string(message));
        message[0] = '\0';
        return 0;
}

/* At tvamd's start in Update Mode: finish what policy init could not. */
void daemon_policy_reseal_platform_keys(struct daemon *d)
{
        json_object *res;
        struct tpm_context *tpm;
        enum tvam_mode mode;
        char path[512], message[512] = "";
        int r;

        state_path(d, path, sizeof(path));
        if (access(path, F_OK) < 0 || daemon_tpm(d, &tpm) < 0 || mode_get(tpm, &mode) < 0 || mode != MODE_UPDATE)
                return;
        res = json_object_new_object();
        r = update_mode_reseal_host_key(d, tpm, message, sizeof(message));
        if (r < 0)
                log_warning("The SSH host key stays sealed to this state: %s", message);
        message[0] = '\0';
        r = reseal_base_key(d, tpm, res, message, sizeof(message));
        if (r < 0)
                log_warning("The base key stays sealed to the launch PCRs: %s", message);
        json_object_put(res);
}

/* --- policy-show / policy-diagnose ---------------------------------------- */

struct tpm_view {
        struct pcr_bank pcrs; /* the TPM now */
        enum tvam_mode mode;
        uint8_t app15[32];
};

static int tpm_view_read(struct tpm_context *tpm, struct tpm_view *ret)
{
        int r = tpm_pcr_read(tpm, DIGEST_SHA256, PCR_MASK_ALL, &ret->pcrs);
        if (r < 0)
                return r;
        r = mode_get(tpm, &ret->mode);
        if (r < 0)
                return r;
        return mode_application_pcr_value(ret->app15);
}

/* PCRs where the TPM differs from ST.  In Update Mode PCR 15 is compared
 * with the value it will have after the switch (applications only start in
 * Application Mode). */
static uint32_t state_vs_tpm(const struct policy_state *st, const struct tpm_view *v)
{
        uint32_t diff = 0;

        for (unsigned p = 0; p < PCR_COUNT; p++) {
                const uint8_t *now = v->pcrs.values[p];
                if (!(st->s.mask & (1u << p)))
                        continue;
                if (p == MODE_PCR && v->mode == MODE_UPDATE)
                        now = v->app15;
                if (memcmp(now, st->s.pcrs.values[p], 32) != 0)
                        diff |= 1u << p;
        }
        return diff;
}

static json_object *state_report(const char *role, const struct policy_state *st, const struct tpm_view *v)
{
        json_object *o = json_object_new_object(), *arr = json_object_new_array();
        uint32_t diff = state_vs_tpm(st, v);

        json_object_object_add(o, "role", json_object_new_string(role));
        for (unsigned p = 0; p < PCR_COUNT; p++) {
                json_object *e;
                char *hex = NULL;
                if (!(st->s.mask & (1u << p)))
                        continue;
                e = json_object_new_object();
                json_object_object_add(e, "pcr", json_object_new_int((int)p));
                if (hex_encode(st->s.pcrs.values[p], 32, &hex) == 0)
                        json_object_object_add(e, "expected", json_object_new_string(hex));
                free(hex);
                hex = NULL;
                if (hex_encode(v->pcrs.values[p], 32, &hex) == 0)
                        json_object_object_add(e, "tpm", json_object_new_string(hex));
                free(hex);
                json_object_object_add(e, "provenance", json_object_new_string(st->provenance[p]));
                json_object_object_add(e, "match", json_object_new_boolean(!(diff & (1u << p))));
                json_object_array_add(arr, e);
        }
        json_object_object_add(o, "pcrs", arr);
        json_object_object_add(o, "matches", json_object_new_boolean(diff == 0));
        json_object_object_add(o, "first_differing_pcr", diff ? json_object_new_int(first_pcr(diff)) : NULL);
        return o;
}

/* Load everything show/diagnose report; *RET_RES gets the report. */
static int policy_report(struct daemon *d, struct policy_file *pf, struct tpm_view *v, json_object **ret_res,
        char *message, size_t message_size)
{
        struct tpm_context *tpm;
        json_object *res, *arr;
        int r;

        r = daemon_tpm(d, &tpm);
        if (r < 0)
                return FAIL(r, "cannot reach the TPM (%s): %s", d->tcti, strerror(-r));
        r = policy_file_load(d, tpm, pf, message, message_size);
        if (r < 0)
                return r;
        r = tpm_view_read(tpm, v);
        if (r < 0) {
                policy_file_done(pf);
                return FAIL(r, "cannot read the PCRs: %s", strerror(-r));
        }
        res = json_object_new_object();
        json_object_object_add(res, "policy_index", json_object_new_string("0x01800a01"));
        json_object_object_add(res, "mode", json_object_new_string(mode_to_string(v->mode)));
        json_object_object_add(res, "update", json_object_new_string(pf->update ? "prepared" : "none"));
        if (pf->update && pf->inputs)
                json_object_object_add(res, "inputs", json_object_get(pf->inputs));
        arr = json_object_new_array();
        for (size_t i = 0; i < pf->n_authorized; i++) {
                const char *role = "authorized";
                if (pf->update && policy_state_diff(&pf->authorized[i].s, &pf->current.s) == 0)
                        role = "current";
                else if (pf->update && policy_state_diff(&pf->authorized[i].s, &pf->next.s) == 0)
                        role = "next";
                json_object_array_add(arr, state_report(role, &pf->authorized[i], v));
        }
        json_object_object_add(res, "states", arr);
        *ret_res = res;
        return 0;
}

int method_policy_show(struct daemon *d, json_object *params, const int *fds, size_t n_fds,
        json_object **ret_result, char *message, size_t message_size)
{
        struct policy_file pf;
        struct tpm_view v;
        int r;

        (void)params, (void)fds, (void)n_fds;
        r = policy_report(d, &pf, &v, ret_result, message, message_size);
        policy_file_done(&pf);
        return r;
}

static const char *param_string(json_object *params, const char *key)
{
        json_object *v;
        if (!json_object_object_get_ex(params, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static void describe_event(const struct eventlog *log, size_t index, char *buf, size_t size)
{
        const struct eventlog_event *e = &log->events[index];
        size_t n = e->data_size;
        bool printable;

        if (n > 0 && e->data[n - 1] == '\0')
                n--;
        printable = n > 0 && n < 160;
        for (size_t i = 0; printable && i < n; i++)
                if (e->data[i] < 0x20 || e->data[i] > 0x7e)
                        printable = false;
        snprintf(buf, size, "#%zu (%s, PCR %u, offset %zu%s%.*s%s)", index, eventlog_event_type_to_string(e->type),
                e->pcr, e->offset, printable ? ", data '" : "", printable ? (int)n : 0,
                printable ? (const char *)e->data : "", printable ? "'" : "");
}

/* For a launch PCR that differs: the firmware event log names the event.
 * First it must replay to what the TPM holds (else it says so and where);
 * then, replayed against the authorized value, the first event that departs
 * from it (eventlog_replay_check(): after the longest matching prefix, or
 * the PCR's first event). */
static void explain_launch(const char *path, const struct tpm_view *v, const struct policy_state *st, unsigned pcr,
        char *buf, size_t size)
{
        _cleanup_eventlog_ struct eventlog *log = NULL;
        struct eventlog_mismatch mm;
        char ev[256];
        int r;

        buf[0] = '\0';
        r = eventlog_load(path, 0, &log);
        if (r < 0) {
                snprintf(buf, size, "; event log %s unreadable (%s)", path, strerror(-r));
                return;
        }
        r = eventlog_replay_check(log, &v->pcrs, 1u << pcr, &mm);
        if (r == -EPERM) {
                if (mm.event_index < log->n_events)
                        describe_event(log, mm.event_index, ev, sizeof(ev));
                snprintf(buf, size, "; the event log %s does not replay to the TPM's PCR %u either (suspect event %s)",
                        path, pcr, mm.event_index < log->n_events ? ev : "none");
                return;
        }
        if (r < 0) {
                snprintf(buf, size, "; event log %s: %s", path, strerror(-r));
                return;
        }
        r = eventlog_replay_check(log, &st->s.pcrs, 1u << pcr, &mm);
        if (r == -EPERM && mm.event_index < log->n_events) {
                describe_event(log, mm.event_index, ev, sizeof(ev));
                snprintf(buf, size, "; event log: the first event that departs from the authorized state is %s", ev);
        }
}

int method_policy_diagnose(struct daemon *d, json_object *params, const int *fds, size_t n_fds,
        json_object **ret_result, char *message, size_t message_size)
{
        const char *eventlog = param_string(params, "eventlog");
        struct policy_file pf;
        struct tpm_view v;
        json_object *res = NULL;
        uint32_t best = 0;
        size_t best_i = 0;
        char extra[400] = "", *hex_exp = NULL, *hex_tpm = NULL;
        int r, p;

        (void)fds, (void)n_fds;
        r = policy_report(d, &pf, &v, &res, message, message_size);
        if (r < 0)
                return r;
        for (size_t i = 0; i < pf.n_authorized; i++) {
                uint32_t diff = state_vs_tpm(&pf.authorized[i], &v);
                if (diff == 0) {
                        json_object_object_add(res, "authorized", json_object_new_boolean(true));
                        json_object_object_add(res, "message",
                                json_object_new_string("the platform's state is authorized by the policy index"));
                        *ret_result = res;
                        policy_file_done(&pf);
                        return 0;
                }
                /* report against the state with the lowest first difference
                 * (the closest along the boot order) */
                if (i == 0 || first_pcr(diff) > first_pcr(best)) {
                        best = diff;
                        best_i = i;
                }
        }
        p = first_pcr(best);
        const struct policy_state *st = &pf.authorized[best_i];
        /* srtm: the firmware log can name the event; txt launch PCRs are
         * explained by tvam-policy diagnose with the expectation file. */
        if ((d->launch_pcrs & (1u << p)) && !(d->launch_pcrs & (1u << 17)))
                explain_launch(eventlog ? eventlog : DEFAULT_EVENTLOG, &v, st, (unsigned)p, extra, sizeof(extra));
        (void)hex_encode(st->s.pcrs.values[p], 32, &hex_exp);
        (void)hex_encode(p == MODE_PCR && v.mode == MODE_UPDATE ? v.app15 : v.pcrs.values[p], 32, &hex_tpm);
        r = FAIL(-EPERM, "PCR %d differs from every authorized state: expected %s (%s), the TPM has %s%s", p,
                hex_exp ? hex_exp : "?", st->provenance[p], hex_tpm ? hex_tpm : "?", extra);
        free(hex_exp);
        free(hex_tpm);
        json_object_put(res);
        policy_file_done(&pf);
        return r;
}
