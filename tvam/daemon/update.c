/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tvamd: update-prepare, update-commit, update-abort (acTvSM §3.3 "Base
 * System Update and Resealing", docs/update.md).  Nothing is unsealed: the
 * next Application-Mode state is *predicted* and the policy index is
 * rewritten (policy_transition(), crash-safe):
 *
 *   prepare  {current, next}   both boot and unseal; power loss is safe
 *   commit   {next}            after booting into next: the old state is revoked
 *   abort    {current}
 *
 * Prediction, profile srtm (--launch-pcrs without 17): the firmware/GRUB
 * event log of this boot, replayed with GRUB's events of the kernel, the
 * initrd and the command line substituted (policy/tools/srtm.h).  PCR 14:
 * the base image event the initramfs extends, H(0^32 || H("sha256:" ||
 * hex(SHA-256(squashfs)))) (docs/base-system.md, tvam/measure), or the
 * current value when the base image stays.  PCR 15: the Application-Mode
 * value.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/tboot/mle.h"
#include "policy/tboot/txt.h"
#include "policy/tboot/vlp.h"
#include "policy/tools/nv-provision.h"
#include "policy/tools/srtm.h"
#include "tvam/daemon/mode.h"
#include "tvam/daemon/policy.h"
#include "tvam/eventlog/eventlog.h"
#include "tvam/shared/digest.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/log.h"
#include "tvam/shared/macro.h"
#include "tvam/tpm/tpm-pcr.h"

#define BASE_PCR 14
#define DEFAULT_EVENTLOG "/sys/kernel/security/tpm0/binary_bios_measurements"
#define TXT_LAUNCH_PCRS ((1u << 17) | (1u << 18) | (1u << 19))
/* GRUB 2 (grub-core/commands/tpm.c, grub_tpm_measure()): EV_IPL events,
 * PCR 8 the strings it runs, PCR 9 the files it loads (data = path). */
#define GRUB_PCR_STRINGS 8u
#define GRUB_PCR_FILES 9u
#define KERNEL_CMDLINE_PREFIX "kernel_cmdline: "
#define TEXT_MAX 4096u
#define OWNER_AUTH_REFUSED "the owner hierarchy refused the authorization (give the right one with --owner-auth-file)"

/* The commands that load the kernel and the initrd, as GRUB measures them
 * ("grub_cmd: " + the command line).  boot/tvam-grub-config writes the
 * EFI-handover spelling (linuxefi/initrdefi, Debian's grub 2.06); logs of
 * other GRUB configurations may have the plain one. */
static const char *const grub_linux_commands[] = { "grub_cmd: linux ", "grub_cmd: linuxefi ", NULL };
static const char *const grub_initrd_commands[] = { "grub_cmd: initrd ", "grub_cmd: initrdefi ", NULL };

#define FAIL(err, ...)                                                                                      \
        ({                                                                                                  \
                snprintf(message, message_size, __VA_ARGS__);                                               \
                (err);                                                                                      \
        })

static const char *param_string(json_object *params, const char *key)
{
        json_object *v;
        if (!json_object_object_get_ex(params, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static int hash_file(const char *path, uint8_t ret[32])
{
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), r;

        if (fd < 0)
                return -errno;
        r = digest_fd(DIGEST_SHA256, fd, ret, NULL);
        close(fd);
        return r;
}

static json_object *input_json(const char *path, const uint8_t digest[32])
{
        json_object *o = json_object_new_object();
        char *hex = NULL;

        json_object_object_add(o, "path", json_object_new_string(path));
        if (hex_encode(digest, 32, &hex) == 0)
                json_object_object_add(o, "sha256", json_object_new_string(hex));
        free(hex);
        return o;
}

/* The text of a string event (a trailing NUL dropped), or NULL. */
static const char *event_text(const struct eventlog_event *e, char buf[TEXT_MAX])
{
        size_t n = e->data_size;

        if (n > 0 && e->data[n - 1] == '\0')
                n--;
        if (n == 0 || n >= TEXT_MAX || memchr(e->data, '\0', n))
                return NULL;
        memcpy(buf, e->data, n);
        buf[n] = '\0';
        return buf;
}

/* The first string event of PCR that starts with one of PREFIXES (NULL
 * terminated), copied to BUF; *RET_PREFIX (if not NULL) gets the prefix. */
static const char *find_string_event(const struct eventlog *log, unsigned pcr, const char *const *prefixes,
        char buf[TEXT_MAX], const char **ret_prefix)
{
        for (size_t i = 0; i < log->n_events; i++) {
                const struct eventlog_event *e = &log->events[i];
                if (e->pcr != pcr || !event_text(e, buf))
                        continue;
                for (const char *const *p = prefixes; *p; p++)
                        if (strncmp(buf, *p, strlen(*p)) == 0) {
                                if (ret_prefix)
                                        *ret_prefix = *p;
                                return buf;
                        }
        }
        return NULL;
}

struct subst_text {
        char match[TEXT_MAX];
        char replacement[TEXT_MAX];
};

/* A file GRUB loads (the kernel or the initrd, ROLE) is measured into PCR 9
 * as an EV_IPL event whose data is its path (grub_tpm_measure()): the event
 * of the path AS is to carry the SHA-256 of FILE instead.  WHENCE is the
 * PCR 8 event that tells AS, named when the log has none (AS empty).  FILE
 * and AS are recorded in INPUTS under ROLE and ROLE_as. */
static int substitute_grub_file(const char *role, const char *file, const char *as, const char *whence,
        json_object *inputs, struct srtm_substitution *ret_sub, char *message, size_t message_size)
{
        char key[32];
        uint8_t digest[32];
        int r;

        if (!as[0])
                return FAIL(
                        -ENOENT, "the event log has no %s: cannot tell which file is the %s", whence, role);
        r = hash_file(file, digest);
        if (r < 0)
                return FAIL(r, "cannot read the %s %s: %s", role, file, strerror(-r));

        *ret_sub = (struct srtm_substitution){ .pcr = GRUB_PCR_FILES, .match = (const uint8_t *)as,
                .match_size = strlen(as) };
        memcpy(ret_sub->digest, digest, 32);
        json_object_object_add(inputs, role, input_json(file, digest));
        snprintf(key, sizeof(key), "%s_as", role);
        json_object_object_add(inputs, key, json_object_new_string(as));
        return 0;
}

/* srtm: predict the launch PCRs of the next boot into RET. */
static int predict_srtm(struct daemon *d, struct tpm_context *tpm, const char *logpath, const char *kernel,
        const char *initrd, const char *cmdline, struct pcr_bank *ret, json_object *inputs,
        struct policy_state *next, char *message, size_t message_size)
{
        _cleanup_eventlog_ struct eventlog *log = NULL;
        _cleanup_free_ struct subst_text *texts = NULL;
        struct srtm_substitution subs[4] = {};
        struct eventlog_mismatch mm;
        struct pcr_bank now;
        char linux_line[TEXT_MAX], kcmd[TEXT_MAX], initrd_line[TEXT_MAX], kpath[TEXT_MAX] = "",
                                                                           ipath[TEXT_MAX] = "";
        size_t n = 0;
        int r;

        r = eventlog_load(logpath, 0, &log);
        if (r < 0)
                return FAIL(r, "cannot read the firmware event log %s: %s", logpath, strerror(-r));
        /* The prediction starts from this log: it must be what the TPM saw. */
        r = tpm_pcr_read(tpm, DIGEST_SHA256, d->launch_pcrs, &now);
        if (r < 0)
                return FAIL(r, "cannot read the launch PCRs: %s", strerror(-r));
        r = eventlog_replay_check(log, &now, d->launch_pcrs, &mm);
        if (r == -EPERM)
                return FAIL(r,
                        "the event log %s does not replay to the TPM's PCR %u (first suspect event #%zu): "
                        "cannot predict from it",
                        logpath, mm.pcr, mm.event_index);
        if (r < 0)
                return FAIL(r, "cannot replay the event log %s: %s", logpath, strerror(-r));

        texts = calloc(2, sizeof(*texts));
        if (!texts)
                return -ENOMEM;
        /* Which files GRUB loaded: "kernel_cmdline: PATH ARGS" and
         * "grub_cmd: initrd PATH". */
        static const char *const kernel_cmdline[] = { KERNEL_CMDLINE_PREFIX, NULL };
        const char *initrd_command = NULL, *linux_command = NULL;

        if (find_string_event(log, GRUB_PCR_STRINGS, kernel_cmdline, kcmd, NULL)) {
                const char *s = kcmd + strlen(KERNEL_CMDLINE_PREFIX);
                size_t k = strcspn(s, " ");
                snprintf(kpath, sizeof(kpath), "%.*s", (int)k, s);
        }
        if (find_string_event(log, GRUB_PCR_STRINGS, grub_initrd_commands, initrd_line, &initrd_command)) {
                const char *s = initrd_line + strlen(initrd_command);
                snprintf(ipath, sizeof(ipath), "%.*s", (int)strcspn(s, " "), s);
        }

        if (kernel) {
                r = substitute_grub_file("kernel", kernel, kpath, "GRUB kernel_cmdline event", inputs,
                        &subs[n], message, message_size);
                if (r < 0)
                        return r;
                n++;
        }
        if (initrd) {
                r = substitute_grub_file("initrd", initrd, ipath, "GRUB initrd command", inputs, &subs[n],
                        message, message_size);
                if (r < 0)
                        return r;
                n++;
        }
        if (cmdline) {
                /* GRUB measures the command line twice: the "linux" command
                 * it runs and the kernel command line it passes. */
                if (!kpath[0])
                        return FAIL(-ENOENT, "the event log has no GRUB kernel_cmdline event");
                snprintf(texts[0].match, TEXT_MAX, "%s", kcmd);
                snprintf(texts[0].replacement, TEXT_MAX, KERNEL_CMDLINE_PREFIX "%s %s", kpath, cmdline);
                subs[n] = (struct srtm_substitution){ .pcr = GRUB_PCR_STRINGS,
                        .match = (const uint8_t *)texts[0].match, .match_size = strlen(texts[0].match) };
                r = digest_buffer(DIGEST_SHA256, texts[0].replacement, strlen(texts[0].replacement), subs[n++].digest);
                if (r < 0)
                        return r;
                if (find_string_event(log, GRUB_PCR_STRINGS, grub_linux_commands, linux_line, &linux_command)) {
                        snprintf(texts[1].match, TEXT_MAX, "%s", linux_line);
                        snprintf(texts[1].replacement, TEXT_MAX, "%s%s %s", linux_command, kpath, cmdline);
                        subs[n] = (struct srtm_substitution){ .pcr = GRUB_PCR_STRINGS,
                                .match = (const uint8_t *)texts[1].match, .match_size = strlen(texts[1].match) };
                        r = digest_buffer(DIGEST_SHA256, texts[1].replacement, strlen(texts[1].replacement),
                                subs[n++].digest);
                        if (r < 0)
                                return r;
                }
                json_object_object_add(inputs, "cmdline", json_object_new_string(cmdline));
        }

        r = srtm_predict(log, DIGEST_SHA256, subs, n, ret);
        if (r == -ENOENT) {
                for (size_t i = 0; i < n; i++)
                        if (subs[i].n_applied == 0)
                                return FAIL(r, "no event of PCR %u in %s is '%.*s': nothing to substitute",
                                        subs[i].pcr, logpath, (int)subs[i].match_size, (const char *)subs[i].match);
        }
        if (r < 0)
                return FAIL(r, "cannot predict from the event log %s: %s", logpath, strerror(-r));

        json_object_object_add(inputs, "profile", json_object_new_string("srtm"));
        json_object_object_add(inputs, "eventlog", json_object_new_string(logpath));
        for (unsigned p = 0; p < PCR_COUNT; p++) {
                bool subst = false;
                if (!(d->launch_pcrs & (1u << p)))
                        continue;
                for (size_t i = 0; i < n; i++)
                        subst |= subs[i].pcr == p;
                snprintf(next->provenance[p], POLICY_PROVENANCE_MAX, "%s",
                        subst ? (p == GRUB_PCR_FILES ? "predicted: event log replay, GRUB's kernel/initrd events "
                                                       "substituted by the new files"
                                                     : "predicted: event log replay, GRUB's command-line events "
                                                       "substituted")
                              : "predicted: event log replay, unchanged");
        }
        return 0;
}

/* txt: the new VLP keeps the hashes it has and adds the new modules'
 * (tb_polgen --add), so both the old and the new kernel pass tboot's
 * verification after it is written.  Three states then boot:
 *   S0 now:                  old VLP, old modules (the TPM's values)
 *   S1 old modules, new VLP: PCR 17 changes (it measures H(VLP)); 18 and 19
 *                            only measure tboot and the modules: unchanged
 *   S2 new modules, new VLP: txt_predict()
 * RET[0] = S1, RET[1] = S2.  *RET_VLP / *RET_OLD_VLP: the VLP to write and
 * the one in NV now (for abort). */
static int predict_txt(struct daemon *d, struct tpm_context *tpm, json_object *params,
        const struct policy_state *now, struct policy_state ret[2], uint8_t **ret_vlp, size_t *ret_vlp_size,
        json_object *inputs, char *message, size_t message_size)
{
        const char *tboot = param_string(params, "tboot"), *kernel = param_string(params, "kernel"),
                   *initrd = param_string(params, "initrd"), *cmdline = param_string(params, "cmdline"),
                   *tboot_cmdline = param_string(params, "tboot_cmdline"),
                   *sinit_hex = param_string(params, "sinit_pcr17"), *sinit_data = param_string(params, "sinit_data");
        _cleanup_free_ uint8_t *old = NULL, *new_vlp = NULL, *sdata = NULL;
        _cleanup_(vlp_freep) struct vlp *v = NULL;
        struct txt_module mods[2] = { { .name = "kernel", .cmdline = cmdline ? cmdline : "" },
                { .name = "initrd", .cmdline = "" } };
        struct txt_launch l = { .alg = DIGEST_SHA256, .modules = mods, .n_modules = 2 };
        struct txt_prediction pred = {}, pred_old = {};
        uint8_t h[2][32];
        size_t old_size, new_size, sdata_size;
        char *hex = NULL;
        int r;

        (void)d;
        if (!tboot || !kernel || !initrd)
                return FAIL(-EINVAL, "the txt profile needs --tboot, --kernel and --initrd (the launch that will boot)");
        if (!!sinit_hex == !!sinit_data)
                return FAIL(-EINVAL, "give PCR 17 as SINIT leaves it: --sinit-pcr17 HEX (recorded on this platform) "
                                     "or --sinit-data FILE (the swtpm stand-in)");
        if (sinit_hex && hex_decode_exact(sinit_hex, l.sinit_pcr17, 32) < 0)
                return FAIL(-EINVAL, "--sinit-pcr17 must be 64 hex digits");
        if (sinit_data) {
                r = read_full_file(sinit_data, 1u << 20, &sdata, &sdata_size);
                if (r < 0)
                        return FAIL(r, "cannot read %s: %s", sinit_data, strerror(-r));
                r = txt_sinit_pcr17_from_data(DIGEST_SHA256, sdata, sdata_size, l.sinit_pcr17);
                if (r < 0)
                        return r;
        }
        r = nv_policy_read(tpm, NV_POLICY_VLP, &old, &old_size);
        if (r < 0)
                return FAIL(r, "cannot read the VLP from NV (0x%08x): %s", NV_VLP_INDEX_1, strerror(-r));
        r = vlp_decode(old, old_size, &v);
        if (r < 0)
                return FAIL(r, "the VLP in NV does not decode: %s", strerror(-r));
        if (v->alg != DIGEST_SHA256)
                return FAIL(-EOPNOTSUPP, "the VLP's hash algorithm is not SHA-256");
        r = mle_hash_file(DIGEST_SHA256, tboot, tboot_cmdline, l.mle_digest);
        if (r < 0)
                return FAIL(r, "cannot compute tboot's MLE hash (%s): %s", tboot, strerror(-r));
        for (unsigned i = 0; i < 2; i++) {
                const char *path = i == 0 ? kernel : initrd;
                r = hash_file(path, mods[i].image_digest);
                if (r < 0)
                        return FAIL(r, "cannot read %s: %s", path, strerror(-r));
                r = vlp_module_hash(DIGEST_SHA256, mods[i].cmdline, mods[i].image_digest, h[i]);
                if (r < 0)
                        return r;
        }

        /* PCR 17 now must be SINIT's value + this VLP: checks both inputs. */
        l.vlp = old;
        l.vlp_size = old_size;
        r = txt_predict(&l, &pred_old);
        if (r < 0)
                return FAIL(r, "cannot replay the current launch: %s", strerror(-r));
        r = memcmp(pred_old.bank.values[17], now->s.pcrs.values[17], 32) != 0;
        txt_prediction_done(&pred_old);
        if (r)
                return FAIL(-EPERM, "PCR 17 is not what SINIT's value and the VLP in NV give: wrong --sinit-pcr17/"
                                    "--sinit-data, or the VLP was changed after this launch");

        for (size_t i = 0; i < v->num_entries; i++) {
                struct vlp_entry *e = &v->entries[i];
                bool present = false;
                if (e->pcr == 17)
                        return FAIL(-EOPNOTSUPP, "a VLP entry measures into PCR 17: not predicted");
                if (e->mod_num > 1 || e->hash_type != VLP_HASH_IMAGE)
                        continue;
                for (size_t k = 0; k < e->num_hashes; k++)
                        present |= memcmp(e->hashes + 32 * k, h[e->mod_num], 32) == 0;
                if (!present) {
                        r = vlp_add(v, e->mod_num, e->pcr, VLP_HASH_IMAGE, h[e->mod_num]);
                        if (r < 0)
                                return FAIL(r, "cannot add module %u to the VLP: %s", e->mod_num, strerror(-r));
                }
        }
        r = vlp_encode(v, &new_vlp, &new_size);
        if (r < 0)
                return r;
        if (new_size > NV_VLP_CAPACITY)
                return FAIL(-E2BIG, "the VLP would outgrow its NV index (%zu > %u bytes)", new_size, NV_VLP_CAPACITY);
        l.vlp = new_vlp;
        l.vlp_size = new_size;
        r = txt_predict(&l, &pred);
        if (r < 0)
                return FAIL(r, "cannot predict the launch: %s", strerror(-r));
        if (pred.n_unverified > 0) {
                txt_prediction_done(&pred);
                return FAIL(-EPERM, "the new VLP would not verify %zu module(s): tboot would halt", pred.n_unverified);
        }
        ret[0] = *now;
        ret[1] = *now;
        memcpy(ret[0].s.pcrs.values[17], pred.bank.values[17], 32);
        snprintf(ret[0].provenance[17], POLICY_PROVENANCE_MAX, "predicted: SINIT + the new VLP (old modules)");
        for (unsigned p = 17; p <= 19; p++)
                memcpy(ret[1].s.pcrs.values[p], pred.bank.values[p], 32);
        snprintf(ret[1].provenance[17], POLICY_PROVENANCE_MAX, "predicted: SINIT + the new VLP (txt_predict)");
        snprintf(ret[1].provenance[18], POLICY_PROVENANCE_MAX, "predicted: tboot's MLE hash + module 0 (kernel %.120s)",
                kernel);
        snprintf(ret[1].provenance[19], POLICY_PROVENANCE_MAX, "predicted: module 1 (initrd %.120s) per the VLP", initrd);
        txt_prediction_done(&pred);

        json_object_object_add(inputs, "profile", json_object_new_string("txt"));
        json_object_object_add(inputs, "tboot", json_object_new_string(tboot));
        json_object_object_add(inputs, "kernel", input_json(kernel, mods[0].image_digest));
        json_object_object_add(inputs, "initrd", input_json(initrd, mods[1].image_digest));
        if (cmdline)
                json_object_object_add(inputs, "cmdline", json_object_new_string(cmdline));
        if (hex_encode(old, old_size, &hex) < 0)
                return -ENOMEM;
        json_object_object_add(inputs, "vlp_before", json_object_new_string(hex));
        free(hex);
        *ret_vlp = TAKE_PTR(new_vlp);
        *ret_vlp_size = new_size;
        return 0;
}

static int load_pending(struct daemon *d, struct tpm_context *tpm, struct policy_file *pf, bool want_update,
        char *message, size_t message_size)
{
        int r = policy_file_load(d, tpm, pf, message, message_size);
        if (r < 0)
                return r;
        if (want_update && !pf->update) {
                policy_file_done(pf);
                return FAIL(-ENOENT, "no update is prepared");
        }
        if (!want_update && pf->update) {
                policy_file_done(pf);
                return FAIL(-EBUSY, "an update is prepared already: commit it (after booting it) or abort it first");
        }
        return 0;
}

int method_update_prepare(struct daemon *d, json_object *params, const int *fds, size_t n_fds,
        json_object **ret_result, char *message, size_t message_size)
{
        const char *kernel = param_string(params, "kernel"), *initrd = param_string(params, "initrd"),
                   *cmdline = param_string(params, "cmdline"), *base = param_string(params, "base"),
                   *tboot = param_string(params, "tboot"), *logpath = param_string(params, "eventlog");
        bool txt = d->launch_pcrs & TXT_LAUNCH_PCRS;
        _cleanup_secret_ struct secret *admin = NULL, *owner = NULL;
        _cleanup_free_ uint8_t *vlp = NULL;
        struct policy_file pf = {};
        struct policy_state states[3], txt_states[2];
        struct pcr_bank launch;
        size_t vlp_size = 0, n_states;
        struct tpm_context *tpm;
        json_object *inputs = NULL, *res;
        uint32_t diff;
        int r;

        if (!kernel && !initrd && !cmdline && !base)
                return FAIL(-EINVAL, "nothing to update: give the new kernel, initrd, command line and/or base image");
        if (tboot && !txt)
                return FAIL(-EINVAL, "--tboot applies to the txt launch profile only");
        r = policy_open_admin(d, fds, n_fds, &tpm, &admin, &owner, message, message_size);
        if (r < 0)
                return r;
        r = load_pending(d, tpm, &pf, false, message, message_size);
        if (r < 0)
                return r;

        r = policy_current_state(d, tpm, &states[0]);
        if (r < 0) {
                r = FAIL(r, "cannot read the PCRs of the current state: %s", strerror(-r));
                goto out;
        }
        states[1] = states[0]; /* PCR 15 and unchanged parts stay */
        inputs = json_object_new_object();
        if (txt) {
                r = predict_txt(d, tpm, params, &states[0], txt_states, &vlp, &vlp_size, inputs, message,
                        message_size);
                if (r < 0)
                        goto out;
                states[1] = txt_states[1];
        } else if (kernel || initrd || cmdline) {
                r = predict_srtm(d, tpm, logpath ? logpath : DEFAULT_EVENTLOG, kernel, initrd, cmdline, &launch,
                        inputs, &states[1], message, message_size);
                if (r < 0)
                        goto out;
                for (unsigned p = 0; p < PCR_COUNT; p++)
                        if (d->launch_pcrs & (1u << p))
                                memcpy(states[1].s.pcrs.values[p], launch.values[p], 32);
        } else
                for (unsigned p = 0; p < PCR_COUNT; p++)
                        if (d->launch_pcrs & (1u << p))
                                snprintf(states[1].provenance[p], POLICY_PROVENANCE_MAX,
                                        "unchanged: the TPM's value (no launch component updated)");
        if (base) {
                /* The initramfs's base-image event (tvam/measure): digest
                 * H("sha256:" || hex(SHA-256(image))), extended once. */
                uint8_t image[32], event[32];
                char *hex = NULL, text[80];
                struct pcr_bank b;
                r = hash_file(base, image);
                if (r < 0) {
                        r = FAIL(r, "cannot read the base image %s: %s", base, strerror(-r));
                        goto out;
                }
                r = hex_encode(image, 32, &hex);
                if (r < 0)
                        goto out;
                snprintf(text, sizeof(text), "sha256:%s", hex);
                free(hex);
                r = digest_buffer(DIGEST_SHA256, text, strlen(text), event);
                if (r >= 0)
                        r = pcr_bank_init(&b, DIGEST_SHA256);
                if (r >= 0)
                        r = pcr_extend(&b, BASE_PCR, event, 32);
                if (r < 0)
                        goto out;
                memcpy(states[1].s.pcrs.values[BASE_PCR], b.values[BASE_PCR], 32);
                snprintf(states[1].provenance[BASE_PCR], POLICY_PROVENANCE_MAX,
                        "predicted: base image %.100s, H(0^32 || H(\"%.20s...\")) (no configuration patches)", base,
                        text);
                json_object_object_add(inputs, "base", input_json(base, image));
        } else
                snprintf(states[1].provenance[BASE_PCR], POLICY_PROVENANCE_MAX,
                        "unchanged: the TPM's value (no --base)");

        diff = policy_state_diff(&states[0].s, &states[1].s);
        if (diff == 0) {
                r = FAIL(-EINVAL, "the predicted next state equals the current one: nothing to prepare");
                goto out;
        }
        pf.current = states[0];
        pf.next = states[1];
        pf.inputs = json_object_get(inputs);
        n_states = 2;
        if (txt) {
                /* S1 (old modules under the new VLP), with the same base
                 * image decision as the next state */
                memcpy(txt_states[0].s.pcrs.values[BASE_PCR], states[1].s.pcrs.values[BASE_PCR], 32);
                memcpy(txt_states[0].provenance[BASE_PCR], states[1].provenance[BASE_PCR], POLICY_PROVENANCE_MAX);
                if (policy_state_diff(&txt_states[0].s, &states[0].s) != 0 &&
                        policy_state_diff(&txt_states[0].s, &states[1].s) != 0)
                        states[n_states++] = txt_states[0];
        }
        if (txt) {
                /* The owner authorization before anything changes: the VLP
                 * in NV rewritten unchanged (tboot reads the same bytes). */
                json_object *v;
                _cleanup_free_ uint8_t *old = NULL;
                size_t old_size = 0;
                r = json_object_object_get_ex(inputs, "vlp_before", &v) ?
                        hex_decode(json_object_get_string(v), &old, &old_size) : -ENOENT;
                if (r >= 0)
                        r = nv_policy_provision(tpm, NV_POLICY_VLP, old, old_size, owner);
                if (r < 0) {
                        r = FAIL(r, "cannot write the VLP: %s; nothing was changed",
                                r == -EACCES ? OWNER_AUTH_REFUSED : strerror(-r));
                        goto out;
                }
        }
        /* The policy first, then the VLP: until the VLP is written the old
         * launch (S0) boots, afterwards S1 or S2 — all authorized. */
        r = policy_transition(d, tpm, admin, &pf, states, n_states, POLICY_UPDATE_SET, message, message_size);
        if (r < 0)
                goto out;
        if (txt) {
                r = nv_policy_provision(tpm, NV_POLICY_VLP, vlp, vlp_size, owner);
                if (r < 0) {
                        r = FAIL(r, "the states are authorized, but writing the new VLP failed (%s): the current "
                                    "launch still boots; run update abort",
                                strerror(-r));
                        goto out;
                }
        }

        res = json_object_new_object();
        char changed[96];
        pcr_mask_to_string(diff, changed, sizeof(changed));
        json_object_object_add(res, "changed_pcrs", json_object_new_string(changed));
        json_object_object_add(res, "inputs", json_object_get(inputs));
        *ret_result = res;
        log_info("update prepared: the policy index authorizes the current and the next state (PCRs %s change)",
                changed);
        r = 0;
out:
        if (inputs)
                json_object_put(inputs);
        policy_file_done(&pf);
        return r;
}

int method_update_commit(struct daemon *d, json_object *params, const int *fds, size_t n_fds,
        json_object **ret_result, char *message, size_t message_size)
{
        _cleanup_secret_ struct secret *admin = NULL;
        struct policy_file pf = {};
        struct policy_state now;
        struct tpm_context *tpm;
        uint32_t diff;
        int r;

        (void)params;
        r = policy_open_admin(d, fds, n_fds, &tpm, &admin, NULL, message, message_size);
        if (r < 0)
                return r;
        r = load_pending(d, tpm, &pf, true, message, message_size);
        if (r < 0)
                return r;
        r = policy_current_state(d, tpm, &now);
        if (r < 0) {
                r = FAIL(r, "cannot read the PCRs: %s", strerror(-r));
                goto out;
        }
        /* Committing revokes the old state: only from inside the new one,
         * or the platform could lock itself out of every secret. */
        diff = policy_state_diff(&now.s, &pf.next.s);
        if (diff) {
                unsigned p = 0;
                while (!(diff & (1u << p)))
                        p++;
                r = FAIL(-EPERM,
                        "the platform is not in the prepared next state: PCR %u differs (%s); boot the update "
                        "first, or abort it",
                        p, pf.next.provenance[p]);
                goto out;
        }
        r = policy_transition(d, tpm, admin, &pf, &pf.next, 1, POLICY_UPDATE_CLEAR, message, message_size);
        if (r < 0)
                goto out;
        *ret_result = json_object_new_object();
        json_object_object_add(*ret_result, "authorized", json_object_new_string("next"));
        log_info("update committed: the previous state is revoked");
out:
        policy_file_done(&pf);
        return r;
}

int method_update_abort(struct daemon *d, json_object *params, const int *fds, size_t n_fds,
        json_object **ret_result, char *message, size_t message_size)
{
        _cleanup_secret_ struct secret *admin = NULL, *owner = NULL;
        struct policy_file pf = {};
        struct tpm_context *tpm;
        json_object *v;
        int r;

        (void)params;
        r = policy_open_admin(d, fds, n_fds, &tpm, &admin, &owner, message, message_size);
        if (r < 0)
                return r;
        r = load_pending(d, tpm, &pf, true, message, message_size);
        if (r < 0)
                return r;
        /* txt: the VLP back first (the old launch is then S0 again, which
         * stays authorized until the policy write below). */
        if (pf.inputs && json_object_object_get_ex(pf.inputs, "vlp_before", &v)) {
                _cleanup_free_ uint8_t *old = NULL;
                size_t old_size;
                r = hex_decode(json_object_get_string(v), &old, &old_size);
                if (r >= 0)
                        r = nv_policy_provision(tpm, NV_POLICY_VLP, old, old_size, owner);
                if (r < 0) {
                        r = FAIL(r, "cannot restore the previous VLP: %s; nothing else changed",
                                r == -EACCES ? OWNER_AUTH_REFUSED : strerror(-r));
                        goto out;
                }
        }
        r = policy_transition(d, tpm, admin, &pf, &pf.current, 1, POLICY_UPDATE_CLEAR, message, message_size);
        if (r < 0)
                goto out;
        *ret_result = json_object_new_object();
        json_object_object_add(*ret_result, "authorized", json_object_new_string("current"));
        log_info("update aborted: the policy index authorizes the current state only");
out:
        policy_file_done(&pf);
        return r;
}
