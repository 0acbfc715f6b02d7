/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Backup and restore of an application (issue 5; acTvSM §3.3: "backup
 * secret", migration to another platform).  Format in docs/app.md "Backup
 * format".  A backup holds only what is already on disk in the clear: the
 * manifest and the raw volumes (LUKS2 headers + ciphertext).  Restoring on
 * another machine needs the recovery secret, which re-binds each volume to
 * a fresh secret sealed by *that* machine's TPM; the old TPM keyslot is
 * destroyed.  Before the restored application is registered, its plaintext
 * is checked against the identity in the manifest (SHA-256 or the dm-verity
 * root hash), so a damaged or altered backup never becomes startable.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <json-c/json.h>

#include "tvam/app/app-internal.h"
#include "tvam/app/app.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/macro.h"
#include "tvam/storage/image-stream.h"
#include "tvam/storage/luks-token.h"
#include "tvam/storage/luks.h"
#include "tvam/storage/lvm.h"
#include "tvam/storage/verity.h"
#include "tvam/tpm/tpm-blob.h"
#include "tvam/tpm/tpm-seal.h"
#include "tvam/tpm/tpm-srk.h"

#define BACKUP_MAGIC "TVAMBAK1"
#define BACKUP_MAGIC_SIZE 8u
#define BACKUP_JSON_MAX (64u * 1024u)
#define BACKUP_VOLUMES_MAX 2u

struct volume {
        const char *role; /* "image" or "data" */
        char lv[MANIFEST_LV_NAME_MAX];
        uint64_t size;
        uint8_t sha256[32];
};

static int write_frame(int fd, const char *json)
{
        size_t n = strlen(json);
        uint8_t len[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
        int r = write_all(fd, len, sizeof(len));
        return r < 0 ? r : write_all(fd, json, n);
}

static int read_frame(int fd, json_object **ret)
{
        _cleanup_free_ char *buf = NULL;
        uint8_t len[4];
        uint32_t n;
        ssize_t k;

        k = loop_read(fd, len, sizeof(len));
        if (k < 0)
                return (int)k;
        if (k != sizeof(len))
                return -EPIPE;
        n = (uint32_t)len[0] << 24 | (uint32_t)len[1] << 16 | (uint32_t)len[2] << 8 | len[3];
        if (n == 0 || n > BACKUP_JSON_MAX)
                return -EBADMSG;
        buf = malloc(n + 1);
        if (!buf)
                return -ENOMEM;
        k = loop_read(fd, buf, n);
        if (k < 0)
                return (int)k;
        if ((uint32_t)k != n)
                return -EPIPE;
        buf[n] = '\0';
        *ret = json_tokener_parse(buf);
        if (!*ret || !json_object_is_type(*ret, json_type_object)) {
                json_object_put(*ret);
                return -EBADMSG;
        }
        return 0;
}

static int device_size(const char *path, uint64_t *ret)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return ioctl(fd, BLKGETSIZE64, ret) < 0 ? -errno : 0;
}

struct stream_progress {
        app_progress_fn fn;
        void *userdata;
        uint64_t base, total;
};

static int stream_progress(const struct image_stream_progress *sp, void *userdata)
{
        struct stream_progress *s = userdata;
        return s->fn ? s->fn(APP_STEP_COPY, s->base + sp->bytes_done, s->total, s->userdata) : 0;
}

/* --- backup ---------------------------------------------------------------- */

int app_backup(const struct app_ctx *ctx, const char *name, int out_fd, app_progress_fn progress, void *userdata)
{
        struct volume vols[BACKUP_VOLUMES_MAX] = {};
        struct stream_progress sp = { .fn = progress, .userdata = userdata };
        _cleanup_free_ char *manifest_json = NULL, *image_path = NULL;
        json_object *header, *arr, *trailer, *sums;
        struct manifest m;
        size_t n_vols = 1;
        int r;

        if (!ctx || !manifest_name_valid(name) || out_fd < 0)
                return -EINVAL;
        r = manifest_load(ctx->state_dir, name, &m);
        if (r < 0)
                return r;
        if (m.state != MANIFEST_READY)
                return -EBUSY;
        /* A consistent copy: nothing writes the volumes while it is taken. */
        r = app_is_open(name);
        if (r != 0)
                return r < 0 ? r : -EBUSY;
        r = app_lv_path(ctx, m.lv_image, &image_path);
        if (r < 0)
                return r;
        /* Without a recovery keyslot the backup could never be opened on
         * another machine (its TPM keyslot is bound to this TPM). */
        r = luks_has_recovery(image_path);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOKEY;

        vols[0].role = "image";
        snprintf(vols[0].lv, sizeof(vols[0].lv), "%s", m.lv_image);
        if (m.lv_data[0]) {
                vols[1].role = "data";
                snprintf(vols[1].lv, sizeof(vols[1].lv), "%s", m.lv_data);
                n_vols = 2;
        }
        for (size_t i = 0; i < n_vols; i++) {
                _cleanup_free_ char *path = NULL;
                r = app_lv_path(ctx, vols[i].lv, &path);
                if (r < 0)
                        return r;
                r = device_size(path, &vols[i].size);
                if (r < 0)
                        return r;
                sp.total += vols[i].size;
        }

        r = manifest_format(&m, &manifest_json);
        if (r < 0)
                return r;
        header = json_object_new_object();
        json_object_object_add(header, "format", json_object_new_string("tvam-backup"));
        json_object_object_add(header, "version", json_object_new_int(1));
        json_object_object_add(header, "manifest", json_tokener_parse(manifest_json));
        arr = json_object_new_array();
        for (size_t i = 0; i < n_vols; i++) {
                json_object *v = json_object_new_object();
                json_object_object_add(v, "role", json_object_new_string(vols[i].role));
                json_object_object_add(v, "size", json_object_new_int64((int64_t)vols[i].size));
                json_object_array_add(arr, v);
        }
        json_object_object_add(header, "volumes", arr);
        r = write_all(out_fd, BACKUP_MAGIC, BACKUP_MAGIC_SIZE);
        if (r >= 0)
                r = write_frame(out_fd, json_object_to_json_string_ext(header, JSON_C_TO_STRING_PLAIN));
        json_object_put(header);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n_vols; i++) {
                _cleanup_free_ char *path = NULL;
                _cleanup_close_ int fd = -1;
                r = app_lv_path(ctx, vols[i].lv, &path);
                if (r < 0)
                        return r;
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                struct image_stream_options o = { .expected_size = vols[i].size, .progress = stream_progress,
                        .userdata = &sp };
                r = image_stream_copy(fd, out_fd, &o, vols[i].sha256, NULL);
                if (r < 0)
                        return r;
                sp.base += vols[i].size;
        }

        /* The trailer detects a damaged transfer; authenticity comes from
         * the identity check at restore. */
        trailer = json_object_new_object();
        sums = json_object_new_array();
        for (size_t i = 0; i < n_vols; i++) {
                _cleanup_free_ char *hex = NULL;
                if (hex_encode(vols[i].sha256, sizeof(vols[i].sha256), &hex) < 0) {
                        json_object_put(trailer);
                        json_object_put(sums);
                        return -ENOMEM;
                }
                json_object_array_add(sums, json_object_new_string(hex));
        }
        json_object_object_add(trailer, "sha256", sums);
        r = write_frame(out_fd, json_object_to_json_string_ext(trailer, JSON_C_TO_STRING_PLAIN));
        json_object_put(trailer);
        return r;
}

/* --- restore --------------------------------------------------------------- */

/* Seal a fresh secret to the caller's state and bind volume LV to it with
 * the recovery secret. */
static int rebind_volume(const struct app_ctx *ctx, const struct app_restore_params *p, const char *lv,
        struct secret **ret_secret)
{
        _cleanup_secret_ struct secret *secret = NULL;
        _cleanup_free_ char *path = NULL;
        struct luks_token token = {};
        int r;

        r = app_lv_path(ctx, lv, &path);
        if (r < 0)
                return r;
        r = secret_new_random(LUKS_TPM_SECRET_SIZE, &secret);
        if (r < 0)
                return r;
        /* Through the NV policy when initialized (also the migration path
         * of PolicyPCR volumes: backup, remove, restore; docs/update.md). */
        r = app_seal_token(ctx, secret, p->pcrs, p->pcr_mask, &token);
        if (r < 0)
                return r;
        r = luks_tpm_rebind(path, p->recovery, secret, &token);
        luks_token_done(&token);
        if (r < 0)
                return r;
        if (ret_secret)
                *ret_secret = TAKE_PTR(secret);
        return 0;
}

/* Open the restored image with its new secret and compare its plaintext
 * with the identity in the manifest. */
static int verify_identity(const struct app_ctx *ctx, const struct manifest *m, const struct secret *secret,
        char *errbuf, size_t errlen)
{
        _cleanup_free_ char *path = NULL, *hex = NULL;
        char map[MAP_NAME_MAX], mapped[APP_DEVICE_MAX];
        uint8_t digest[32], root[VERITY_ROOT_HASH_SIZE];
        int r, q;

        r = app_lv_path(ctx, m->lv_image, &path);
        if (r < 0)
                return r;
        app_map_image(m->name, map);
        app_mapper_path(map, mapped);
        r = luks_open(path, map, secret, LUKS_OPEN_READ_ONLY);
        if (r < 0)
                return r;
        if (m->read_only) {
                r = verity_root_hash_from_hex(m->identity + strlen("verity:"), root);
                if (r >= 0)
                        r = verity_verify_eager(mapped, mapped, m->verity_hash_offset, root, sizeof(root), errbuf,
                                errlen);
        } else {
                _cleanup_close_ int in = open(mapped, O_RDONLY | O_CLOEXEC);
                _cleanup_close_ int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                struct image_stream_options o = { .expected_size = m->image_size };
                r = in < 0 || null < 0 ? -errno : image_stream_copy(in, null, &o, digest, NULL);
                if (r >= 0)
                        r = hex_encode(digest, sizeof(digest), &hex);
                if (r >= 0 && strcmp(m->identity + strlen("sha256:"), hex) != 0) {
                        snprintf(errbuf, errlen, "the restored image hashes to sha256:%s, not %s", hex,
                                m->identity);
                        r = -EPERM;
                }
        }
        q = luks_close(map);
        return r < 0 ? r : q;
}

static int restore_volumes(const struct app_ctx *ctx, const struct app_restore_params *p, struct manifest *m,
        struct volume *vols, size_t n_vols, char *errbuf, size_t errlen)
{
        struct stream_progress sp = { .fn = p->progress, .userdata = p->userdata };
        _cleanup_secret_ struct secret *image_secret = NULL;
        json_object *trailer = NULL, *sums, *v;
        int r;

        for (size_t i = 0; i < n_vols; i++) {
                r = lvm_lv_create(ctx->lvm, ctx->vg, vols[i].lv, vols[i].size,
                        i == 0 ? LVM_ROLE_APP : LVM_ROLE_APPCFG);
                if (r < 0) {
                        /* not ours: the rollback must not touch it */
                        if (i == 0)
                                m->lv_image[0] = m->lv_data[0] = '\0';
                        else
                                m->lv_data[0] = '\0';
                        return r;
                }
                sp.total += vols[i].size;
        }
        for (size_t i = 0; i < n_vols; i++) {
                _cleanup_free_ char *path = NULL;
                _cleanup_close_ int fd = -1;
                r = app_lv_path(ctx, vols[i].lv, &path);
                if (r < 0)
                        return r;
                fd = open(path, O_WRONLY | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                struct image_stream_options o = { .expected_size = vols[i].size, .sync = true,
                        .progress = stream_progress, .userdata = &sp };
                r = image_stream_copy(p->in_fd, fd, &o, vols[i].sha256, NULL);
                if (r == -EPIPE)
                        snprintf(errbuf, errlen, "the backup ends inside volume %zu (truncated?)", i + 1);
                if (r < 0)
                        return r;
                sp.base += vols[i].size;
        }
        r = read_frame(p->in_fd, &trailer);
        if (r < 0) {
                snprintf(errbuf, errlen, "the backup has no valid trailer (truncated?)");
                return r;
        }
        if (!json_object_object_get_ex(trailer, "sha256", &sums) || !json_object_is_type(sums, json_type_array) ||
                json_object_array_length(sums) != n_vols) {
                json_object_put(trailer);
                snprintf(errbuf, errlen, "the backup trailer lists the wrong number of volumes");
                return -EBADMSG;
        }
        for (size_t i = 0; i < n_vols; i++) {
                _cleanup_free_ char *hex = NULL;
                v = json_object_array_get_idx(sums, i);
                r = hex_encode(vols[i].sha256, sizeof(vols[i].sha256), &hex);
                if (r < 0 || !json_object_is_type(v, json_type_string) ||
                        strcmp(json_object_get_string(v), hex) != 0) {
                        json_object_put(trailer);
                        snprintf(errbuf, errlen, "volume %zu (%s) of the backup is damaged: its SHA-256 differs",
                                i + 1, vols[i].role);
                        return r < 0 ? r : -EBADMSG;
                }
        }
        json_object_put(trailer);

        /* Re-seal to this machine: the recovery secret opens each volume. */
        r = rebind_volume(ctx, p, m->lv_image, &image_secret);
        if (r == -EPERM)
                snprintf(errbuf, errlen, "the recovery secret opens no keyslot of the image volume");
        if (r < 0)
                return r;
        if (n_vols == 2) {
                r = rebind_volume(ctx, p, m->lv_data, NULL);
                if (r == -EPERM)
                        snprintf(errbuf, errlen, "the recovery secret opens no keyslot of the data volume");
                if (r < 0)
                        return r;
        }
        return verify_identity(ctx, m, image_secret, errbuf, errlen);
}

int app_restore(const struct app_ctx *ctx, const struct app_restore_params *p, char *errbuf, size_t errlen,
        struct manifest *ret_manifest)
{
        struct volume vols[BACKUP_VOLUMES_MAX] = {};
        char magic[BACKUP_MAGIC_SIZE], dummy_err[8];
        json_object *header = NULL, *v, *arr;
        struct manifest m, existing;
        size_t n_vols;
        int r;

        if (!errbuf || errlen == 0) {
                errbuf = dummy_err;
                errlen = sizeof(dummy_err);
        }
        errbuf[0] = '\0';
        if (!ctx || !p || p->in_fd < 0 || !p->recovery || !p->pcrs || p->pcr_mask == 0)
                return -EINVAL;
        if (p->name && !manifest_name_valid(p->name))
                return -EINVAL;

        /* parse */
        if (loop_read(p->in_fd, magic, sizeof(magic)) != (ssize_t)sizeof(magic) ||
                memcmp(magic, BACKUP_MAGIC, sizeof(magic)) != 0) {
                snprintf(errbuf, errlen, "not a TVAM backup (no %s header)", BACKUP_MAGIC);
                return -EBADMSG;
        }
        r = read_frame(p->in_fd, &header);
        if (r < 0) {
                snprintf(errbuf, errlen, "the backup header is unreadable");
                return r;
        }
        r = -EBADMSG;
        if (!json_object_object_get_ex(header, "manifest", &v) ||
                manifest_parse(json_object_to_json_string(v), strlen(json_object_to_json_string(v)), &m) < 0 ||
                m.state != MANIFEST_READY || !json_object_object_get_ex(header, "volumes", &arr) ||
                !json_object_is_type(arr, json_type_array)) {
                snprintf(errbuf, errlen, "the backup header has no valid manifest");
                goto out;
        }
        n_vols = json_object_array_length(arr);
        if (n_vols != (m.lv_data[0] ? 2u : 1u)) {
                snprintf(errbuf, errlen, "the backup's volumes do not match its manifest");
                goto out;
        }
        for (size_t i = 0; i < n_vols; i++) {
                json_object *size;
                if (!json_object_object_get_ex(json_object_array_get_idx(arr, i), "size", &size) ||
                        json_object_get_int64(size) <= 0) {
                        snprintf(errbuf, errlen, "volume %zu of the backup has no size", i + 1);
                        goto out;
                }
                vols[i].size = (uint64_t)json_object_get_int64(size);
                vols[i].role = i == 0 ? "image" : "data";
        }

        /* Under its new name, if one is given: LVs and the configuration
         * digest follow the name; the identity (the image) does not. */
        if (p->name)
                snprintf(m.name, sizeof(m.name), "%s", p->name);
        snprintf(m.lv_image, sizeof(m.lv_image), "app-%s", m.name);
        if (m.lv_data[0])
                snprintf(m.lv_data, sizeof(m.lv_data), "appcfg-%s", m.name);
        snprintf(vols[0].lv, sizeof(vols[0].lv), "%s", m.lv_image);
        if (n_vols == 2)
                snprintf(vols[1].lv, sizeof(vols[1].lv), "%s", m.lv_data);
        r = manifest_config_digest(m.name, m.memory_mib, m.vcpus, m.read_only, m.data_size, m.config_digest);
        if (r < 0)
                goto out;

        /* check */
        r = manifest_load(ctx->state_dir, m.name, &existing);
        if (r != -ENOENT) {
                snprintf(errbuf, errlen, "an application named '%s' exists already", m.name);
                r = -EEXIST;
                goto out;
        }

        /* act: registered as "importing" first, so a crash is rolled back */
        m.state = MANIFEST_IMPORTING;
        r = manifest_save(ctx->state_dir, &m);
        if (r < 0)
                goto out;
        r = restore_volumes(ctx, p, &m, vols, n_vols, errbuf, errlen);
        if (r >= 0) {
                m.state = MANIFEST_READY;
                r = manifest_save(ctx->state_dir, &m);
        }
        if (r < 0) {
                m.state = MANIFEST_IMPORTING;
                (void)app_rollback(ctx, &m);
                goto out;
        }
        if (ret_manifest)
                *ret_manifest = m;
        r = 0;
out:
        json_object_put(header);
        return r;
}
