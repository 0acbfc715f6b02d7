/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tvamd's application methods: import, list, start, stop, remove
 * (ARCHITECTURE.md "TVAM", acTvSM §3.2).  Each reads as parse → check →
 * act → result; the work is done by tvam/app (volumes, sealing), tvam/virt
 * (libvirt) and the TPM module.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "policy/pcr/pcr.h"
#include "tvam/app/app.h"
#include "tvam/daemon/daemon.h"
#include "tvam/daemon/mode.h"
#include "tvam/daemon/policy.h"
#include "tvam/eventlog/eventlog.h"
#include "tvam/ipc/vmchan.h"
#include "tvam/shared/clock.h"
#include "tvam/shared/digest.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/log.h"
#include "tvam/shared/secret.h"
#include "tvam/storage/image-source.h"
#include "tvam/storage/lvm.h"
#include "tvam/tpm/tpm-pcr.h"
#include "tvam/tpm/tpm-srk.h"
#include "tvam/virt/virt.h"
#include "tvam/virt/virt-xml.h"

#define APPLICATION_PCR 13
#define BASE_PCR 14
#define STOP_TIMEOUT_DEFAULT 60
#define MIB (UINT64_C(1) << 20)

#define FAIL(err, ...)                                                                                      \
        ({                                                                                                  \
                snprintf(message, message_size, __VA_ARGS__);                                               \
                (err);                                                                                      \
        })

int daemon_lvm(struct daemon *d, struct lvm_ctx **ret)
{
        int r;

        if (!d->lvm) {
                r = lvm_ctx_new(&d->lvm);
                if (r < 0)
                        return r;
        }
        *ret = d->lvm;
        return 0;
}

int daemon_virt(struct daemon *d, struct virt_conn **ret)
{
        int r;

        if (!d->virt) {
                r = virt_connect(d->libvirt_uri, &d->virt);
                if (r < 0)
                        return r;
        }
        *ret = d->virt;
        return 0;
}

/* The NV policy of the request being served (tvamd is single-threaded). */
static struct daemon_policy app_policy;
static char app_policy_error[256];

static int app_context(struct daemon *d, struct app_ctx *ret, char *message, size_t message_size)
{
        struct tpm_context *tpm;
        struct lvm_ctx *lvm;
        int r;

        r = daemon_tpm(d, &tpm);
        if (r < 0)
                return FAIL(r, "cannot reach the TPM (%s): %s", d->tcti, strerror(-r));
        tpm_srk_forget(tpm); /* the TPM may have been cleared since the last request */
        r = tpm_srk_provision(tpm, NULL);
        if (r < 0)
                return FAIL(r, "cannot provision the SRK at 0x81000001: %s", strerror(-r));
        r = daemon_lvm(d, &lvm);
        if (r < 0)
                return FAIL(r, "cannot initialise LVM: %s", strerror(-r));
        *ret = (struct app_ctx){ .state_dir = d->state_dir, .vg = d->vg, .tpm = tpm, .lvm = lvm };
        /* Once `policy init` ran, secrets are sealed through the NV policy
         * and unseal with the states its index holds (docs/update.md). */
        r = daemon_policy_load(d, tpm, &app_policy, app_policy_error, sizeof(app_policy_error));
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                /* Initialized but unusable (index unreadable or foreign):
                 * PolicyPCR volumes, list, stop, remove and crash recovery
                 * go on; nothing NV-sealed opens and nothing new is sealed
                 * (daemon_policy_check reports APP_POLICY_ERROR). */
                log_warning("sealing policy unusable: %s", app_policy_error);
                app_policy = (struct daemon_policy){ .nv = TPM_POLICY_NV_DEFAULT };
        } else
                app_policy_error[0] = '\0';
        ret->policy_nv = &app_policy.nv;
        ret->policy_states = app_policy.states;
        ret->n_policy_states = app_policy.n_states;
        return 0;
}

/* The context of a request that seals new secrets (import, restore), and
 * the Application-Mode state they are sealed to; with the NV policy, that
 * state must be one the policy index authorizes. */
static int sealing_context(struct daemon *d, struct app_ctx *ctx, struct pcr_bank *ret_state, uint32_t *ret_mask,
        char *message, size_t message_size)
{
        int r;

        r = app_context(d, ctx, message, message_size);
        if (r < 0)
                return r;
        r = daemon_application_state(d, ctx->tpm, ret_state, ret_mask);
        if (r < 0)
                return FAIL(r, "cannot read the PCRs to seal to: %s", strerror(-r));
        if (!ctx->policy_nv)
                return 0;
        if (app_policy.n_states == 0)
                return FAIL(-EPERM, "%s", app_policy_error);
        return daemon_policy_check(&app_policy, ret_state, *ret_mask, message, message_size);
}

int daemon_recover(struct daemon *d)
{
        char message[256];
        struct app_ctx ctx;
        size_t n = 0;
        int r;

        r = app_context(d, &ctx, message, sizeof(message));
        if (r < 0)
                return log_warning_errno(r, "Skipping crash recovery: %s", message);
        r = app_recover(&ctx, &n);
        if (n > 0)
                log_info("rolled back %zu interrupted import(s)", n);
        if (r < 0)
                log_warning_errno(r, "Crash recovery was incomplete");
        return r;
}

static const char *string_param(json_object *params, const char *key)
{
        json_object *v;
        if (!json_object_object_get_ex(params, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static int64_t int_param(json_object *params, const char *key, int64_t def)
{
        json_object *v;
        if (!json_object_object_get_ex(params, key, &v) || !json_object_is_type(v, json_type_int))
                return def;
        return json_object_get_int64(v);
}

static bool bool_param(json_object *params, const char *key)
{
        json_object *v;
        return json_object_object_get_ex(params, key, &v) && json_object_get_boolean(v);
}

/* The Application-Mode state an application's key is sealed to: the launch
 * PCRs and PCR 14 (base image) as they are now, PCR 15 as it will be after
 * the switch to Application Mode (ARCHITECTURE.md "Keys and sealing"). */
int daemon_application_state(struct daemon *d, struct tpm_context *tpm, struct pcr_bank *ret, uint32_t *ret_mask)
{
        uint32_t mask = d->launch_pcrs | 1u << BASE_PCR | 1u << MODE_PCR;
        uint8_t pcr15[32];
        int r;

        r = tpm_pcr_read(tpm, DIGEST_SHA256, mask, ret);
        if (r < 0)
                return r;
        r = mode_application_pcr_value(pcr15);
        if (r < 0)
                return r;
        memcpy(ret->values[MODE_PCR], pcr15, sizeof(pcr15));
        *ret_mask = mask;
        return 0;
}

/* Reads the recovery key file the client passed as descriptor FD. */
int recovery_from_fd(int fd, struct secret **ret)
{
        _cleanup_free_ uint8_t *buf = NULL;
        size_t size;
        char path[64];
        int r;

        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        r = read_full_file(path, SECRET_SIZE_MAX, &buf, &size);
        if (r < 0)
                return r;
        if (size == 0)
                return -EINVAL;
        r = secret_new_from(buf, size, ret);
        explicit_bzero(buf, size);
        return r;
}

/* What the import callbacks need: where progress goes, the image source. */
struct import_job {
        struct daemon *d;
        bool progress;
        struct image_source source;
        char source_error[256];
};

static int import_progress(enum app_import_step step, uint64_t done, uint64_t total, void *userdata)
{
        struct import_job *job = userdata;
        json_object *p;

        if (!job->progress)
                return 0;
        p = json_object_new_object();
        json_object_object_add(p, "step", json_object_new_string(app_import_step_to_string(step)));
        if (step == APP_STEP_COPY && total > 0) {
                json_object_object_add(p, "bytes", json_object_new_int64((int64_t)done));
                json_object_object_add(p, "total", json_object_new_int64((int64_t)total));
        }
        daemon_progress(job->d, p);
        return 0;
}

static int import_source_complete(void *userdata)
{
        struct import_job *job = userdata;
        return image_source_finish(&job->source, job->source_error, sizeof(job->source_error));
}

int method_import(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size)
{
        _cleanup_secret_ struct secret *recovery = NULL;
        struct import_job job = { .d = d, .source = { .fd = -1, .owned_fd = -1 } };
        struct app_import_params p = {};
        const char *format_name = string_param(params, "format");
        enum image_format format = IMAGE_FORMAT_RAW;
        struct app_ctx ctx;
        struct pcr_bank state;
        struct manifest m;
        char image_path[64];
        json_object *r_json;
        int r;

        /* parse */
        p.name = string_param(params, "name");
        job.progress = bool_param(params, "progress");
        if (format_name && image_format_from_string(format_name, &format) < 0)
                return FAIL(-EINVAL, "unknown image format '%s' (raw or qcow2)", format_name);
        p.read_only = bool_param(params, "read_only");
        p.data_size = (uint64_t)int_param(params, "data_size", 0);
        p.memory_mib = (uint32_t)int_param(params, "memory_mib", 256);
        p.vcpus = (uint32_t)int_param(params, "vcpus", 1);
        if (!p.name || !manifest_name_valid(p.name))
                return FAIL(-EINVAL, "invalid application name (lower-case letters, digits, '_', '.', '-'; "
                                     "at most 32 characters)");
        if (n_fds < 1)
                return FAIL(-EINVAL, "no image descriptor was passed");

        if (n_fds >= 2) {
                r = recovery_from_fd(fds[1], &recovery);
                if (r < 0)
                        return FAIL(r, "cannot read the recovery key file");
                p.recovery = recovery;
        }

        /* check */
        r = sealing_context(d, &ctx, &state, &p.pcr_mask, message, message_size);
        if (r < 0)
                return r;
        p.pcrs = &state;
        /* The client opened the image; read it (or its qcow2 decoding)
         * through a descriptor. */
        r = image_source_open(fds[0], format, job.source_error, sizeof(job.source_error), &job.source);
        if (r < 0)
                return FAIL(r, "refusing to import '%s': %s", p.name, job.source_error);
        snprintf(image_path, sizeof(image_path), "/proc/self/fd/%d", job.source.fd);
        p.image_path = image_path;
        p.expected_size = job.source.size;
        p.progress = import_progress;
        p.source_complete = import_source_complete;
        p.userdata = &job;
        p.crash_after_step = (enum app_import_step)d->test_crash_after_step;

        /* act */
        r = app_import(&ctx, &p, &m);
        image_source_close(&job.source);
        if (r < 0 && job.source_error[0])
                return FAIL(r, "import of '%s' failed and was rolled back: %s", p.name, job.source_error);
        if (r == -EEXIST)
                return FAIL(r, "an application named '%s' exists already", p.name);
        if (r == -EPIPE)
                return FAIL(r, "the image of '%s' ended early (truncated?)", p.name);
        if (r < 0)
                return FAIL(r, "import of '%s' failed and was rolled back: %s", p.name, strerror(-r));

        /* result */
        r_json = json_object_new_object();
        json_object_object_add(r_json, "name", json_object_new_string(m.name));
        json_object_object_add(r_json, "identity", json_object_new_string(m.identity));
        json_object_object_add(r_json, "image_size", json_object_new_int64((int64_t)m.image_size));
        json_object_object_add(r_json, "read_only", json_object_new_boolean(m.read_only));
        json_object_object_add(r_json, "format", json_object_new_string(format_name ? format_name : "raw"));
        *ret_result = r_json;
        log_info("imported '%s' (%s)", m.name, m.identity);
        return 0;
}

static const char *serial_log_path(struct daemon *d, const char *name, char *buf, size_t size)
{
        snprintf(buf, size, "%s/serial", d->state_dir);
        (void)mkdir(buf, 0700);
        snprintf(buf, size, "%s/serial/%s.log", d->state_dir, name);
        return buf;
}

/* Append LINE to TVAM's audit log (STATE_DIR/measurements.jsonl, one JSON
 * object per line: every measurement and every refusal, for people). */
static int audit_append(struct daemon *d, const char *line)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (asprintf(&path, "%s/measurements.jsonl", d->state_dir) < 0)
                return -ENOMEM;
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        r = write_all(fd, line, strlen(line));
        if (r < 0)
                return r;
        return fsync(fd) < 0 ? -errno : 0;
}

/* Keep a copy of this boot's event log in the store (STATE_DIR/logs/
 * BOOT_ID.log, written atomically): /run does not survive the reboot an
 * auditor may ask about. */
static int persist_event_log(struct daemon *d)
{
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_free_ char *dir = NULL, *path = NULL;
        _cleanup_close_ int fd = -1;
        char boot_id[64];
        ssize_t n;
        size_t size;
        int r;

        /* A /proc file: its size is unknown to stat(), read it directly. */
        fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = loop_read(fd, boot_id, sizeof(boot_id) - 1);
        if (n <= 0)
                return n < 0 ? (int)n : -EIO;
        boot_id[n] = '\0';
        boot_id[strcspn(boot_id, "\n")] = '\0';
        if (asprintf(&dir, "%s/logs", d->state_dir) < 0 || asprintf(&path, "%s/%s.log", dir, boot_id) < 0)
                return -ENOMEM;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        r = read_full_file(d->event_log, EVENTLOG_SIZE_MAX, &data, &size);
        if (r < 0)
                return r;
        return atomic_file_write(path, data, size, 0600);
}

int daemon_measure(struct daemon *d, struct tpm_context *tpm, uint32_t pcr, const struct eventlog_tvam_event *e,
        const char *audit_event, const char *audit_fields)
{
        static const enum digest_alg banks[] = { DIGEST_SHA256 };
        _cleanup_eventlog_writer_ struct eventlog_writer *w = NULL;
        _cleanup_free_ char *hex = NULL, *line = NULL, *dir = NULL;
        const struct eventlog_bank *banks_in_log;
        size_t n_banks;
        uint8_t digest[32];
        int r;

        r = eventlog_tvam_digest(e, DIGEST_SHA256, digest);
        if (r < 0)
                return r;
        /* The event is durable in the TCG log before the PCR changes: the
         * log is never behind the TPM; if the extend then fails, a verifier's
         * replay disagrees with the quote and says so (fail closed). */
        dir = strdup(d->event_log);
        if (!dir)
                return -ENOMEM;
        if (strrchr(dir, '/') && strrchr(dir, '/') != dir) {
                *strrchr(dir, '/') = '\0';
                if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                        return -errno;
        }
        r = eventlog_writer_open(d->event_log, banks, ELEMENTSOF(banks), &w);
        if (r < 0)
                return log_warning_errno(r, "Cannot open the event log %s", d->event_log);
        r = eventlog_writer_append_tvam(w, pcr, e);
        if (r < 0)
                return r;
        /* Every bank the log records (the initramfs may have started it
         * with SHA-1 and SHA-256), so each bank's replay holds. */
        n_banks = eventlog_writer_banks(w, &banks_in_log);
        for (size_t i = 0; i < n_banks; i++) {
                uint8_t bank_digest[DIGEST_MAX_SIZE];
                enum digest_alg alg = (enum digest_alg)banks_in_log[i].alg; /* TPM_ALG_ID values */
                if (digest_size(alg) == 0)
                        continue; /* a bank we cannot hash: the verifier cannot replay it either */
                r = eventlog_tvam_digest(e, alg, bank_digest);
                if (r < 0)
                        return r;
                r = tpm_pcr_extend(tpm, pcr, alg, bank_digest);
                if (r < 0)
                        return r;
        }
        eventlog_writer_free(TAKE_PTR(w));
        r = persist_event_log(d);
        if (r < 0)
                log_warning_errno(r, "Cannot keep a copy of the event log in %s/logs", d->state_dir);

        if (hex_encode(digest, sizeof(digest), &hex) < 0 ||
                asprintf(&line, "{\"time\":%lld,\"pcr\":%u,\"digest\":\"sha256:%s\",\"event\":\"%s\",%s}\n",
                        (long long)time(NULL), pcr, hex, audit_event, audit_fields) < 0)
                return -ENOMEM;
        return audit_append(d, line);
}

/* An event that extends nothing (e.g. a refused verification): audit log
 * only. */
int daemon_log_event(struct daemon *d, const char *event, const char *fields)
{
        _cleanup_free_ char *line = NULL;

        if (asprintf(&line, "{\"time\":%lld,\"pcr\":null,\"event\":\"%s\",%s}\n", (long long)time(NULL), event,
                    fields) < 0)
                return -ENOMEM;
        return audit_append(d, line);
}

/* PCR 13 gets SHA-256(identity || config digest) of every application that
 * starts (a TVAM "application" event, docs/eventlog.md). */
static int measure_application(struct daemon *d, struct tpm_context *tpm, const char *name,
        const struct app_opened *o)
{
        struct eventlog_tvam_event e = { .kind = EVENTLOG_TVAM_APPLICATION,
                .config_size = MANIFEST_CONFIG_DIGEST_SIZE };
        _cleanup_free_ char *cfg_hex = NULL, *fields = NULL;

        snprintf(e.name, sizeof(e.name), "%s", name);
        snprintf(e.identity, sizeof(e.identity), "%s", o->identity);
        memcpy(e.config, o->config_digest, MANIFEST_CONFIG_DIGEST_SIZE);
        if (hex_encode(o->config_digest, MANIFEST_CONFIG_DIGEST_SIZE, &cfg_hex) < 0 ||
                asprintf(&fields, "\"name\":\"%s\",\"identity\":\"%s\",\"config\":\"sha256:%s\"", name,
                        o->identity, cfg_hex) < 0)
                return -ENOMEM;
        return daemon_measure(d, tpm, APPLICATION_PCR, &e, "application-start", fields);
}

int daemon_start_app(struct daemon *d, const char *name, enum app_verify_mode vmode, const char *network,
        json_object **ret_result, char *message, size_t message_size)
{
        struct app_ctx ctx;
        struct app_opened o;
        struct manifest m;
        struct virt_conn *virt;
        enum tvam_mode mode;
        char errbuf[256] = "", serial[512], endorse_sock[108], tls_sock[108];
        struct virt_disk disks[2] = {};
        struct virt_channel channels[2];
        json_object *res, *phases;
        double t_measure, t_start;
        int r;

        /* check: only in Application Mode (acTvSM §3.3) */
        r = app_context(d, &ctx, message, message_size);
        if (r < 0)
                return r;
        r = mode_get(ctx.tpm, &mode);
        if (r < 0)
                return FAIL(r, "cannot read PCR %d: %s", MODE_PCR, strerror(-r));
        if (mode != MODE_APPLICATION)
                return FAIL(-EPERM, "refusing to start '%s' in %s mode: applications start only in Application Mode",
                        name, mode_to_string(mode));
        r = manifest_load(d->state_dir, name, &m);
        if (r < 0)
                return FAIL(r == -ENOENT ? -ENOENT : r, "no application named '%s'", name);
        r = daemon_virt(d, &virt);
        if (r < 0)
                return FAIL(r, "cannot connect to libvirt (%s): %s", d->libvirt_uri, strerror(-r));
        /* ENDORSE / GET-ID and TLS ports (endorse.c) */
        r = daemon_channel_paths(d, name, endorse_sock, tls_sock);
        if (r < 0)
                return FAIL(r, "cannot prepare the VM channel sockets of '%s' next to %s: %s", name, d->socket_path,
                        strerror(-r));
        channels[0] = (struct virt_channel){ .path = endorse_sock, .name = VMCHAN_PORT_ENDORSE };
        channels[1] = (struct virt_channel){ .path = tls_sock, .name = VMCHAN_PORT_TLS };

        /* act: unseal + open (+ verity), measure, define and start */
        r = app_open(&ctx, name, vmode, errbuf, sizeof(errbuf), &o);
        if (r == -EALREADY)
                return FAIL(r, "'%s' is running already", name);
        if (r < 0) {
                if (r == -EPERM && vmode == APP_VERIFY_EAGER && m.read_only) {
                        /* The refusal is an event an auditor wants to see. */
                        _cleanup_free_ char *fields = NULL;
                        if (asprintf(&fields, "\"name\":\"%s\",\"identity\":\"%s\",\"reason\":\"%s\"", name,
                                    m.identity, errbuf) >= 0)
                                (void)daemon_log_event(d, "verification-failed", fields);
                }
                return FAIL(r, "refusing to start '%s': %s", name, errbuf[0] ? errbuf : strerror(-r));
        }
        t_measure = monotonic_s();
        r = measure_application(d, ctx.tpm, name, &o);
        t_measure = monotonic_s() - t_measure;
        if (r < 0) {
                (void)app_close(&ctx, name);
                return FAIL(r, "cannot measure '%s' into PCR %d: %s", name, APPLICATION_PCR, strerror(-r));
        }
        disks[0] = (struct virt_disk){ .path = o.device, .read_only = m.read_only };
        disks[1] = (struct virt_disk){ .path = o.data_device };
        struct virt_domain_config cfg = {
                .name = name,
                .memory_mib = m.memory_mib,
                .vcpus = m.vcpus,
                .disks = disks,
                .n_disks = o.data_device[0] ? 2 : 1,
                .serial_log = serial_log_path(d, name, serial, sizeof(serial)),
                .net_type = network ? VIRT_NET_NETWORK : VIRT_NET_NONE,
                .net_source = network,
                .channels = channels,
                .n_channels = ELEMENTSOF(channels),
        };
        (void)unlink(serial);
        /* Not running (app_open() said so): stale sockets can go now. */
        daemon_channel_clear(endorse_sock, tls_sock);
        t_start = monotonic_s();
        r = virt_start(virt, &cfg);
        t_start = monotonic_s() - t_start;
        if (r < 0) {
                (void)app_close(&ctx, name);
                return FAIL(r, "libvirt could not start '%s': %s", name,
                        virt_last_error()[0] ? virt_last_error() : strerror(-r));
        }

        /* The identity served on GET-ID and put in ENDORSE certificates is
         * the one just opened and measured, not anything the guest says. */
        r = daemon_channel_start(d, name, o.identity, endorse_sock);
        if (r < 0)
                log_warning_errno(r, "'%s' runs without its ENDORSE channel: cannot start its thread", name);

        /* result */
        res = json_object_new_object();
        json_object_object_add(res, "name", json_object_new_string(name));
        json_object_object_add(res, "identity", json_object_new_string(o.identity));
        json_object_object_add(res, "device", json_object_new_string(o.device));
        json_object_object_add(res, "serial_log", json_object_new_string(serial));
        json_object_object_add(res, "endorse_socket", json_object_new_string(endorse_sock));
        json_object_object_add(res, "tls_socket", json_object_new_string(tls_sock));
        /* Where the time went (benchmark "start overhead", docs/app.md). */
        phases = json_object_new_object();
        json_object_object_add(phases, "unseal_ms", json_object_new_double(o.unseal_s * 1e3));
        json_object_object_add(phases, "open_ms", json_object_new_double(o.open_s * 1e3));
        json_object_object_add(phases, "verify_ms", json_object_new_double(o.verify_s * 1e3));
        json_object_object_add(phases, "extend_ms", json_object_new_double(t_measure * 1e3));
        json_object_object_add(phases, "define_start_ms", json_object_new_double(t_start * 1e3));
        json_object_object_add(res, "phases", phases);
        if (ret_result)
                *ret_result = res;
        else
                json_object_put(res);
        log_info("started '%s' (%s)", name, o.identity);
        return 0;
}

int method_start(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size)
{
        const char *name = string_param(params, "name"), *verify = string_param(params, "verify");
        enum app_verify_mode vmode = APP_VERIFY_LAZY;

        (void)fds, (void)n_fds;
        if (!name || !manifest_name_valid(name))
                return FAIL(-EINVAL, "invalid application name");
        if (verify && strcmp(verify, "eager") == 0)
                vmode = APP_VERIFY_EAGER;
        else if (verify && strcmp(verify, "lazy") != 0)
                return FAIL(-EINVAL, "--verify must be 'lazy' or 'eager'");
        return daemon_start_app(d, name, vmode, NULL, ret_result, message, message_size);
}

int daemon_stop_app(struct daemon *d, const char *name, unsigned timeout_s, bool force, char *message,
        size_t message_size)
{
        struct virt_conn *virt;
        struct app_ctx ctx;
        int r;

        r = app_context(d, &ctx, message, message_size);
        if (r < 0)
                return r;
        r = daemon_virt(d, &virt);
        if (r < 0)
                return FAIL(r, "cannot connect to libvirt (%s): %s", d->libvirt_uri, strerror(-r));

        r = virt_stop(virt, name, timeout_s, force);
        if (r < 0 && r != -ENOENT)
                return FAIL(r, "cannot stop '%s': %s", name, strerror(-r));
        /* Whatever runs under NAME later is another instance. */
        daemon_channel_revoke(d, name);
        if (r == -ENOENT && !app_is_open(name))
                return FAIL(-ENOENT, "'%s' is not running", name);
        r = app_close(&ctx, name);
        if (r < 0)
                return FAIL(r, "'%s' stopped but its devices could not be closed: %s", name, strerror(-r));
        log_info("stopped '%s'", name);
        return 0;
}

int method_stop(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size)
{
        const char *name = string_param(params, "name");
        int64_t timeout = int_param(params, "timeout", STOP_TIMEOUT_DEFAULT);

        (void)fds, (void)n_fds, (void)ret_result;
        if (!name || !manifest_name_valid(name))
                return FAIL(-EINVAL, "invalid application name");
        if (timeout < 0 || timeout > 3600)
                return FAIL(-EINVAL, "timeout must be 0..3600 seconds");
        return daemon_stop_app(d, name, (unsigned)timeout, bool_param(params, "force"), message, message_size);
}

int method_remove(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size)
{
        const char *name = string_param(params, "name");
        struct app_ctx ctx;
        int r;

        (void)fds, (void)n_fds, (void)ret_result;
        if (!name || !manifest_name_valid(name))
                return FAIL(-EINVAL, "invalid application name");
        r = app_context(d, &ctx, message, message_size);
        if (r < 0)
                return r;
        r = app_remove(&ctx, name);
        if (r == -EBUSY)
                return FAIL(r, "'%s' is running: stop it first", name);
        if (r == -ENOENT)
                return FAIL(r, "no application named '%s'", name);
        if (r < 0)
                return FAIL(r, "cannot remove '%s': %s", name, strerror(-r));
        daemon_channel_revoke(d, name);
        log_info("removed '%s' (keyslots erased, volumes removed)", name);
        return 0;
}

int method_list(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size)
{
        struct manifest *ms = NULL;
        struct virt_conn *virt = NULL;
        struct app_ctx ctx = { .state_dir = d->state_dir, .vg = d->vg };
        json_object *arr;
        size_t n = 0;
        int r;

        (void)params, (void)fds, (void)n_fds;
        r = app_list(&ctx, &ms, &n);
        if (r < 0)
                return FAIL(r, "cannot read the manifests in %s: %s", d->state_dir, strerror(-r));
        (void)daemon_virt(d, &virt); /* without libvirt, nothing is running */

        arr = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                json_object *a = json_object_new_object();
                enum virt_state vs = VIRT_STATE_NOT_FOUND;
                if (virt)
                        (void)virt_state(virt, ms[i].name, &vs);
                json_object_object_add(a, "name", json_object_new_string(ms[i].name));
                json_object_object_add(a, "state",
                        json_object_new_string(ms[i].state == MANIFEST_IMPORTING ? "importing"
                                                : vs == VIRT_STATE_RUNNING ? "running"
                                                                           : "stopped"));
                json_object_object_add(a, "identity", json_object_new_string(ms[i].identity));
                json_object_object_add(a, "read_only", json_object_new_boolean(ms[i].read_only));
                json_object_object_add(a, "image_size", json_object_new_int64((int64_t)ms[i].image_size));
                json_object_object_add(a, "data_size", json_object_new_int64((int64_t)ms[i].data_size));
                json_object_object_add(a, "memory_mib", json_object_new_int64(ms[i].memory_mib));
                json_object_object_add(a, "vcpus", json_object_new_int64(ms[i].vcpus));
                json_object_array_add(arr, a);
        }
        free(ms);
        *ret_result = json_object_new_object();
        json_object_object_add(*ret_result, "applications", arr);
        return 0;
}

int method_backup(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size)
{
        struct import_job job = { .d = d, .progress = bool_param(params, "progress") };
        const char *name = string_param(params, "name");
        struct app_ctx ctx;
        int r;

        (void)ret_result;
        if (!name || !manifest_name_valid(name))
                return FAIL(-EINVAL, "invalid application name");
        if (n_fds < 1)
                return FAIL(-EINVAL, "no output descriptor was passed");
        r = app_context(d, &ctx, message, message_size);
        if (r < 0)
                return r;
        r = app_backup(&ctx, name, fds[0], import_progress, &job);
        if (r == -ENOENT)
                return FAIL(r, "no application named '%s'", name);
        if (r == -EBUSY)
                return FAIL(r, "'%s' is running or still importing: stop it first", name);
        if (r == -ENOKEY)
                return FAIL(r, "'%s' has no recovery keyslot: its backup could never be restored on another "
                               "machine (import it with --recovery-key-file)", name);
        if (r < 0)
                return FAIL(r, "backup of '%s' failed: %s", name, strerror(-r));
        if (fsync(fds[0]) < 0 && errno != EINVAL)
                return FAIL(-errno, "backup of '%s' could not be flushed: %s", name, strerror(errno));
        log_info("backed up '%s'", name);
        return 0;
}

int method_restore(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size)
{
        _cleanup_secret_ struct secret *recovery = NULL;
        struct import_job job = { .d = d, .progress = bool_param(params, "progress") };
        struct app_restore_params p = { .name = string_param(params, "name") };
        struct pcr_bank state;
        struct app_ctx ctx;
        struct manifest m;
        char errbuf[256] = "";
        json_object *res;
        int r;

        if (p.name && !manifest_name_valid(p.name))
                return FAIL(-EINVAL, "invalid application name");
        if (n_fds < 2)
                return FAIL(-EINVAL, "restore needs the backup and the recovery key file (descriptors)");
        r = recovery_from_fd(fds[1], &recovery);
        if (r < 0)
                return FAIL(r, "cannot read the recovery key file");
        r = sealing_context(d, &ctx, &state, &p.pcr_mask, message, message_size);
        if (r < 0)
                return r;
        p.in_fd = fds[0];
        p.pcrs = &state;
        p.recovery = recovery;
        p.progress = import_progress;
        p.userdata = &job;

        r = app_restore(&ctx, &p, errbuf, sizeof(errbuf), &m);
        if (r < 0)
                return FAIL(r, "restore failed and was rolled back: %s", errbuf[0] ? errbuf : strerror(-r));
        res = json_object_new_object();
        json_object_object_add(res, "name", json_object_new_string(m.name));
        json_object_object_add(res, "identity", json_object_new_string(m.identity));
        json_object_object_add(res, "read_only", json_object_new_boolean(m.read_only));
        *ret_result = res;
        log_info("restored '%s' (%s), re-sealed to this platform", m.name, m.identity);
        return 0;
}
