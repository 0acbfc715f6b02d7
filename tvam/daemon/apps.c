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
#include "tvam/shared/digest.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/log.h"
#include "tvam/shared/secret.h"
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

static int app_context(struct daemon *d, struct app_ctx *ret, char *message, size_t message_size)
{
        struct tpm_context *tpm;
        struct lvm_ctx *lvm;
        int r;

        r = daemon_tpm(d, &tpm);
        if (r < 0)
                return FAIL(r, "cannot reach the TPM (%s): %s", d->tcti, strerror(-r));
        r = tpm_srk_provision(tpm, NULL);
        if (r < 0)
                return FAIL(r, "cannot provision the SRK at 0x81000001: %s", strerror(-r));
        r = daemon_lvm(d, &lvm);
        if (r < 0)
                return FAIL(r, "cannot initialise LVM: %s", strerror(-r));
        *ret = (struct app_ctx){ .state_dir = d->state_dir, .vg = d->vg, .tpm = tpm, .lvm = lvm };
        return 0;
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
static int application_state(struct daemon *d, struct tpm_context *tpm, struct pcr_bank *ret, uint32_t *ret_mask)
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

int method_import(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size)
{
        _cleanup_secret_ struct secret *recovery = NULL;
        struct app_import_params p = {};
        struct app_ctx ctx;
        struct pcr_bank state;
        struct manifest m;
        char image_path[64];
        json_object *r_json;
        int r;

        /* parse */
        p.name = string_param(params, "name");
        p.read_only = bool_param(params, "read_only");
        p.data_size = (uint64_t)int_param(params, "data_size", 0);
        p.memory_mib = (uint32_t)int_param(params, "memory_mib", 256);
        p.vcpus = (uint32_t)int_param(params, "vcpus", 1);
        if (!p.name || !manifest_name_valid(p.name))
                return FAIL(-EINVAL, "invalid application name (lower-case letters, digits, '_', '.', '-'; "
                                     "at most 32 characters)");
        if (n_fds < 1)
                return FAIL(-EINVAL, "no image descriptor was passed");
        /* The client opened the image; read it through its descriptor. */
        snprintf(image_path, sizeof(image_path), "/proc/self/fd/%d", fds[0]);
        p.image_path = image_path;
        if (n_fds >= 2) {
                _cleanup_free_ uint8_t *buf = NULL;
                size_t size;
                char path[64];
                snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[1]);
                r = read_full_file(path, SECRET_SIZE_MAX, &buf, &size);
                if (r < 0 || size == 0)
                        return FAIL(r < 0 ? r : -EINVAL, "cannot read the recovery key file");
                r = secret_new_from(buf, size, &recovery);
                explicit_bzero(buf, size);
                if (r < 0)
                        return FAIL(r, "out of memory");
                p.recovery = recovery;
        }

        /* check */
        r = app_context(d, &ctx, message, message_size);
        if (r < 0)
                return r;
        r = application_state(d, ctx.tpm, &state, &p.pcr_mask);
        if (r < 0)
                return FAIL(r, "cannot read the PCRs to seal to: %s", strerror(-r));
        p.pcrs = &state;

        /* act */
        r = app_import(&ctx, &p, &m);
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

/* PCR 13 gets SHA-256(identity || config digest) of every application that
 * starts, and the event is appended to the measurement log. */
static int measure_application(struct daemon *d, struct tpm_context *tpm, const char *name,
        const struct app_opened *o)
{
        uint8_t buf[MANIFEST_IDENTITY_MAX + MANIFEST_CONFIG_DIGEST_SIZE], digest[32];
        _cleanup_free_ char *hex = NULL, *cfg_hex = NULL, *line = NULL, *path = NULL;
        _cleanup_close_ int fd = -1;
        size_t n = strlen(o->identity);
        int r;

        memcpy(buf, o->identity, n);
        memcpy(buf + n, o->config_digest, MANIFEST_CONFIG_DIGEST_SIZE);
        r = digest_buffer(DIGEST_SHA256, buf, n + MANIFEST_CONFIG_DIGEST_SIZE, digest);
        if (r < 0)
                return r;
        r = tpm_pcr_extend(tpm, APPLICATION_PCR, DIGEST_SHA256, digest);
        if (r < 0)
                return r;

        if (hex_encode(digest, sizeof(digest), &hex) < 0 ||
                hex_encode(o->config_digest, MANIFEST_CONFIG_DIGEST_SIZE, &cfg_hex) < 0 ||
                asprintf(&line,
                        "{\"time\":%lld,\"pcr\":%d,\"digest\":\"sha256:%s\",\"event\":\"application-start\","
                        "\"name\":\"%s\",\"identity\":\"%s\",\"config\":\"sha256:%s\"}\n",
                        (long long)time(NULL), APPLICATION_PCR, hex, name, o->identity, cfg_hex) < 0 ||
                asprintf(&path, "%s/measurements.jsonl", d->state_dir) < 0)
                return -ENOMEM;
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        r = write_all(fd, line, strlen(line));
        if (r < 0)
                return r;
        return fsync(fd) < 0 ? -errno : 0;
}

int method_start(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size)
{
        const char *name = string_param(params, "name"), *verify = string_param(params, "verify");
        struct app_ctx ctx;
        struct app_opened o;
        struct manifest m;
        struct virt_conn *virt;
        enum tvam_mode mode;
        enum app_verify_mode vmode = APP_VERIFY_LAZY;
        char errbuf[256] = "", serial[512];
        struct virt_disk disks[2] = {};
        json_object *res;
        int r;

        (void)fds, (void)n_fds;
        /* parse */
        if (!name || !manifest_name_valid(name))
                return FAIL(-EINVAL, "invalid application name");
        if (verify && strcmp(verify, "eager") == 0)
                vmode = APP_VERIFY_EAGER;
        else if (verify && strcmp(verify, "lazy") != 0)
                return FAIL(-EINVAL, "--verify must be 'lazy' or 'eager'");

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

        /* act: unseal + open (+ verity), measure, define and start */
        r = app_open(&ctx, name, vmode, errbuf, sizeof(errbuf), &o);
        if (r < 0)
                return FAIL(r, "refusing to start '%s': %s", name, errbuf[0] ? errbuf : strerror(-r));
        r = measure_application(d, ctx.tpm, name, &o);
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
        };
        (void)unlink(serial);
        r = virt_start(virt, &cfg);
        if (r < 0) {
                (void)app_close(&ctx, name);
                return FAIL(r, "libvirt could not start '%s': %s", name, strerror(-r));
        }

        /* result */
        res = json_object_new_object();
        json_object_object_add(res, "name", json_object_new_string(name));
        json_object_object_add(res, "identity", json_object_new_string(o.identity));
        json_object_object_add(res, "device", json_object_new_string(o.device));
        json_object_object_add(res, "serial_log", json_object_new_string(serial));
        *ret_result = res;
        log_info("started '%s' (%s)", name, o.identity);
        return 0;
}

int method_stop(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size)
{
        const char *name = string_param(params, "name");
        int64_t timeout = int_param(params, "timeout", STOP_TIMEOUT_DEFAULT);
        struct virt_conn *virt;
        struct app_ctx ctx;
        int r;

        (void)fds, (void)n_fds, (void)ret_result;
        if (!name || !manifest_name_valid(name))
                return FAIL(-EINVAL, "invalid application name");
        if (timeout < 0 || timeout > 3600)
                return FAIL(-EINVAL, "timeout must be 0..3600 seconds");
        r = app_context(d, &ctx, message, message_size);
        if (r < 0)
                return r;
        r = daemon_virt(d, &virt);
        if (r < 0)
                return FAIL(r, "cannot connect to libvirt (%s): %s", d->libvirt_uri, strerror(-r));

        r = virt_stop(virt, name, (unsigned)timeout, bool_param(params, "force"));
        if (r < 0 && r != -ENOENT)
                return FAIL(r, "cannot stop '%s': %s", name, strerror(-r));
        if (r == -ENOENT && !app_is_open(name))
                return FAIL(-ENOENT, "'%s' is not running", name);
        r = app_close(&ctx, name);
        if (r < 0)
                return FAIL(r, "'%s' stopped but its devices could not be closed: %s", name, strerror(-r));
        log_info("stopped '%s'", name);
        return 0;
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
