/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/app/app.h"
#include "tvam/app/app-internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tvam/shared/clock.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/macro.h"
#include "tvam/storage/image-stream.h"
#include "tvam/storage/luks.h"
#include "tvam/storage/lvm.h"
#include "tvam/storage/verity.h"
#include "tvam/tpm/tpm-blob.h"
#include "tvam/tpm/tpm-policy-nv.h"
#include "tvam/tpm/tpm-seal.h"
#include "tvam/tpm/tpm-srk.h"

/* libcryptsetup's default LUKS2 data offset is 16 MiB (header copies +
 * keyslot area); it is what luks_format() uses. */
#define LUKS2_DATA_OFFSET (UINT64_C(16) << 20)
#define ROUND_UP(x, a) (((x) + (a)-1) / (a) * (a))

const char *app_import_step_to_string(enum app_import_step step)
{
        static const char *const names[] = {
                [APP_STEP_MANIFEST] = "manifest",
                [APP_STEP_LV] = "lv",
                [APP_STEP_FORMAT] = "format",
                [APP_STEP_OPEN] = "open",
                [APP_STEP_COPY] = "copy",
                [APP_STEP_VERITY] = "verity",
                [APP_STEP_CLOSE] = "close",
                [APP_STEP_DATA] = "data",
                [APP_STEP_READY] = "ready",
        };
        if ((size_t)step >= ELEMENTSOF(names))
                return NULL;
        return names[step];
}

int app_import_step_from_string(const char *s)
{
        for (int step = APP_STEP_MANIFEST; step <= APP_STEP_READY; step++)
                if (strcmp(app_import_step_to_string((enum app_import_step)step), s) == 0)
                        return step;
        return -EINVAL;
}

/* --- names ---------------------------------------------------------------- */

/* Mapping names: tvam-app-NAME, tvam-app-NAME-verity, tvam-appcfg-NAME. */
void app_map_image(const char *name, char buf[static MAP_NAME_MAX])
{
        snprintf(buf, MAP_NAME_MAX, "tvam-app-%s", name);
}
static void map_verity(const char *name, char buf[static MAP_NAME_MAX])
{
        snprintf(buf, MAP_NAME_MAX, "tvam-app-%s-verity", name);
}
static void map_data(const char *name, char buf[static MAP_NAME_MAX])
{
        snprintf(buf, MAP_NAME_MAX, "tvam-appcfg-%s", name);
}
void app_mapper_path(const char *map, char buf[static APP_DEVICE_MAX])
{
        snprintf(buf, APP_DEVICE_MAX, "/dev/mapper/%.*s", (int)MAP_NAME_MAX, map);
}
int app_lv_path(const struct app_ctx *ctx, const char *lv, char **ret)
{
        if (asprintf(ret, "/dev/%s/%s", ctx->vg, lv) < 0)
                return -ENOMEM;
        return 0;
}

static bool mapping_exists(const char *map)
{
        char path[APP_DEVICE_MAX];
        app_mapper_path(map, path);
        return access(path, F_OK) == 0;
}

int app_is_open(const char *name)
{
        char m[MAP_NAME_MAX];

        if (!manifest_name_valid(name))
                return -EINVAL;
        map_verity(name, m);
        if (mapping_exists(m))
                return 1;
        app_map_image(name, m);
        if (mapping_exists(m))
                return 1;
        map_data(name, m);
        return mapping_exists(m);
}

static int close_if_mapped(const char *map, bool verity)
{
        int r;

        if (!mapping_exists(map))
                return 0;
        r = verity ? verity_close(map) : luks_close(map);
        return r == -ENODEV || r == -ENOENT ? 0 : r;
}

int app_close(const struct app_ctx *ctx, const char *name)
{
        char m[MAP_NAME_MAX];
        int r, first = 0;

        (void)ctx;
        if (!manifest_name_valid(name))
                return -EINVAL;
        /* Reverse of app_open: verity above LUKS; the data volume last. */
        map_verity(name, m);
        r = close_if_mapped(m, true);
        if (r < 0 && first == 0)
                first = r;
        app_map_image(name, m);
        r = close_if_mapped(m, false);
        if (r < 0 && first == 0)
                first = r;
        map_data(name, m);
        r = close_if_mapped(m, false);
        if (r < 0 && first == 0)
                first = r;
        return first;
}

/* --- rollback ------------------------------------------------------------- */

/* Is VG/LV present with ROLE's tag?  Only such volumes are ever erased: a
 * volume of the same name without our tag is not ours. */
static int lv_has_role(const struct app_ctx *ctx, const char *lv, enum lvm_role role)
{
        struct lvm_lv *lvs = NULL;
        size_t n = 0;
        int r, found = 0;

        r = lvm_lv_list(ctx->lvm, ctx->vg, &lvs, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (strcmp(lvs[i].name, lv) == 0 && lvs[i].role == role)
                        found = 1;
        lvm_lv_list_free(lvs, n);
        return found;
}

/* Erase (keyslots + header) and remove one LV if it is ours. */
static int destroy_lv(const struct app_ctx *ctx, const char *lv, enum lvm_role role)
{
        _cleanup_free_ char *path = NULL;
        int r;

        if (lv[0] == '\0')
                return 0;
        r = lv_has_role(ctx, lv, role);
        if (r <= 0)
                return r;
        r = app_lv_path(ctx, lv, &path);
        if (r < 0)
                return r;
        /* A crash may have hit before the LUKS header was written: -EINVAL
         * (no LUKS2 header) is fine then, there is no key to destroy. */
        r = luks_erase(path);
        if (r < 0 && r != -EINVAL)
                return r;
        return lvm_lv_remove(ctx->lvm, ctx->vg, lv);
}

/* Undo an import: mappings, volumes, then the manifest last, so an
 * interrupted rollback is redone by the next app_recover(). */
int app_rollback(const struct app_ctx *ctx, const struct manifest *m)
{
        int r, first = 0;

        /* A volume still mapped (e.g. in use) is neither erased nor removed. */
        r = app_close(ctx, m->name);
        if (r < 0)
                return r;
        r = destroy_lv(ctx, m->lv_data, LVM_ROLE_APPCFG);
        if (r < 0 && first == 0)
                first = r;
        r = destroy_lv(ctx, m->lv_image, LVM_ROLE_APP);
        if (r < 0 && first == 0)
                first = r;
        if (first < 0)
                return first; /* keep the manifest: the volumes still need it */
        r = manifest_delete(ctx->state_dir, m->name);
        return r == -ENOENT ? 0 : r;
}

int app_recover(const struct app_ctx *ctx, size_t *ret_n)
{
        char **names = NULL;
        size_t n = 0, done = 0;
        int r, first = 0;

        assert(ctx);
        r = manifest_list_names(ctx->state_dir, &names, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                struct manifest m;
                r = manifest_load(ctx->state_dir, names[i], &m);
                if (r < 0 || m.state != MANIFEST_IMPORTING)
                        continue;
                r = app_rollback(ctx, &m);
                if (r < 0) {
                        if (first == 0)
                                first = r;
                        continue;
                }
                done++;
        }
        manifest_names_free(names, n);
        if (first < 0)
                return first;
        if (ret_n)
                *ret_n = done;
        return 0;
}

/* --- import --------------------------------------------------------------- */

/* Bytes of a dm-verity hash tree (superblock + every level) for DATA_SIZE
 * bytes of 4 KiB blocks with SHA-256: 128 hashes per 4 KiB hash block
 * (dm-verity format version 1, veritysetup(8)). */
static uint64_t verity_tree_size(uint64_t data_size)
{
        uint64_t n = ROUND_UP(data_size, VERITY_BLOCK_SIZE) / VERITY_BLOCK_SIZE, blocks = 1; /* superblock */

        do {
                n = (n + 127) / 128;
                blocks += n;
        } while (n > 1);
        return blocks * VERITY_BLOCK_SIZE;
}

static int image_size_of(int fd, uint64_t *ret)
{
        struct stat st;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISREG(st.st_mode)) {
                *ret = (uint64_t)st.st_size;
                return 0;
        }
        if (S_ISBLK(st.st_mode))
                return ioctl(fd, BLKGETSIZE64, ret) < 0 ? -errno : 0;
        return -EBADF; /* a pipe: its size must be given */
}

static int step_done(const struct app_import_params *p, enum app_import_step step)
{
        if (p->crash_after_step == step)
                _exit(99); /* test hook: a crash right here */
        if (p->progress)
                return p->progress(step, 0, 0, p->userdata);
        return 0;
}

static int copy_progress(const struct image_stream_progress *sp, void *userdata)
{
        const struct app_import_params *p = userdata;
        return p->progress ? p->progress(APP_STEP_COPY, sp->bytes_done, sp->bytes_total, p->userdata) : 0;
}

int app_seal_token(const struct app_ctx *ctx, const struct secret *secret, const struct pcr_bank *pcrs,
        uint32_t mask, struct luks_token *ret_token)
{
        _cleanup_tpm_blob_ struct tpm_blob *blob = NULL;
        uint8_t *bytes = NULL;
        size_t size;
        int r;

        assert(ctx && ctx->tpm && secret && pcrs && ret_token);
        /* Through the NV policy an update needs no reseal (acTvSM §3.3):
         * the object unseals in whatever state the index authorizes. */
        if (ctx->policy_nv)
                r = tpm_seal_authorize_nv(ctx->tpm, secret, ctx->policy_nv, &blob);
        else
                r = tpm_seal_pcr(ctx->tpm, secret, pcrs, mask, &blob);
        if (r < 0)
                return r;
        r = tpm_blob_serialize(blob, &bytes, &size);
        if (r < 0)
                return r;
        *ret_token = (struct luks_token){
                .blob = bytes,
                .blob_size = size,
                .pcr_bank = pcrs->alg,
                .pcr_mask = mask, /* informative for NV-sealed volumes: the state's PCRs */
                .policy_nv_index = ctx->policy_nv ? ctx->policy_nv->policy_index : 0,
                .srk_handle = TPM_SRK_HANDLE,
        };
        return 0;
}

int app_unseal_token(const struct app_ctx *ctx, const struct luks_token *token, char *errbuf, size_t errlen,
        struct secret **ret)
{
        _cleanup_tpm_blob_ struct tpm_blob *blob = NULL;
        struct tpm_unseal_diag diag = {};
        int r;

        assert(ctx && ctx->tpm && token && ret);
        r = tpm_blob_parse(token->blob, token->blob_size, &blob);
        if (r < 0)
                return r;
        if (blob->kind == TPM_BLOB_AUTHORIZE_NV) {
                if (blob->nv_index != token->policy_nv_index) {
                        if (errbuf && errlen)
                                snprintf(errbuf, errlen, "token and sealed object name different NV indices");
                        return -EBADMSG;
                }
                if (!ctx->policy_nv || ctx->n_policy_states == 0) {
                        if (errbuf && errlen)
                                snprintf(errbuf, errlen,
                                        "sealed through NV index 0x%08x, but no authorized state is known "
                                        "(tvamctl policy init not run, or its state lost)",
                                        blob->nv_index);
                        return -EPERM;
                }
                r = tpm_unseal(ctx->tpm, blob, ctx->policy_states, ctx->n_policy_states, &diag, ret);
        } else
                r = tpm_unseal(ctx->tpm, blob, NULL, 0, &diag, ret);
        if (r == -EPERM && errbuf && errlen)
                snprintf(errbuf, errlen, "%s",
                        diag.message[0] ? diag.message : "the TPM state differs from the sealed policy");
        return r;
}

/* Seal a fresh 256-bit secret (app_seal_token) and LUKS2-format PATH with
 * it (TPM keyslot + token, recovery keyslot if given).  On success
 * *ret_secret holds the secret for opening right away. */
static int seal_and_format(const struct app_ctx *ctx, const struct app_import_params *p, const char *path,
        const char *label, struct secret **ret_secret)
{
        _cleanup_secret_ struct secret *secret = NULL;
        struct luks_token token = {};
        int r;

        r = secret_new_random(LUKS_TPM_SECRET_SIZE, &secret);
        if (r < 0)
                return r;
        r = app_seal_token(ctx, secret, p->pcrs, p->pcr_mask, &token);
        if (r < 0)
                return r;

        struct luks_recovery rec = {.secret = p->recovery, .cost = ctx->recovery_cost};
        struct luks_format_options opts = {.label = label};
        r = luks_format(path, secret, p->recovery ? &rec : NULL, &token, &opts);
        luks_token_done(&token);
        if (r < 0)
                return r;
        *ret_secret = TAKE_PTR(secret);
        return 0;
}

static int check_params(const struct app_import_params *p)
{
        if (!p || !manifest_name_valid(p->name) || !p->image_path || !p->pcrs || p->pcr_mask == 0)
                return -EINVAL;
        if (p->pcr_mask >> PCR_COUNT)
                return -EINVAL;
        if (p->memory_mib == 0 || p->memory_mib > MANIFEST_MEMORY_MIB_MAX || p->vcpus == 0 ||
                p->vcpus > MANIFEST_VCPUS_MAX)
                return -EINVAL;
        return 0;
}

/* Copy the image into the opened plaintext device MAPPED; for a read-only
 * image build the hash tree after it.  Sets m->identity. */
static int fill_image(
        const struct app_import_params *p, int image_fd, const char *mapped, struct manifest *m)
{
        _cleanup_close_ int out = -1;
        uint8_t digest[32], root[VERITY_ROOT_HASH_SIZE];
        _cleanup_free_ char *hex = NULL;
        uint64_t bytes = 0, dev_size = 0;
        int r;

        out = open(mapped, O_WRONLY | O_CLOEXEC);
        if (out < 0)
                return -errno;
        r = image_size_of(out, &dev_size);
        if (r < 0)
                return r;
        if (dev_size <
                (m->read_only ? m->verity_hash_offset + verity_tree_size(m->image_size) : m->image_size))
                return -ENOSPC;

        struct image_stream_options o = {
                .alg = DIGEST_SHA256,
                .expected_size = m->image_size,
                .sync = true,
                .progress = copy_progress,
                .userdata = (void *)p,
        };
        r = image_stream_copy(image_fd, out, &o, digest, &bytes);
        if (r < 0)
                return r;
        if (p->source_complete) {
                r = p->source_complete(p->userdata);
                if (r < 0)
                        return r;
        }
        /* Close before dm-verity reads the device through its own fd. */
        if (close(TAKE_FD(out)) < 0)
                return -errno;
        r = step_done(p, APP_STEP_COPY);
        if (r < 0)
                return r;

        if (m->read_only) {
                struct verity_params vp = {.hash_offset = m->verity_hash_offset, .data_size = m->image_size};
                r = verity_format(mapped, mapped, &vp, root);
                if (r < 0)
                        return r;
                r = hex_encode(root, sizeof(root), &hex);
                if (r < 0)
                        return r;
                snprintf(m->identity, sizeof(m->identity), "verity:%s", hex);
                return step_done(p, APP_STEP_VERITY);
        }
        r = hex_encode(digest, sizeof(digest), &hex);
        if (r < 0)
                return r;
        snprintf(m->identity, sizeof(m->identity), "sha256:%s", hex);
        return 0;
}

static int create_data_volume(
        const struct app_ctx *ctx, const struct app_import_params *p, struct manifest *m)
{
        _cleanup_secret_ struct secret *secret = NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        r = app_lv_path(ctx, m->lv_data, &path);
        if (r < 0)
                return r;
        r = seal_and_format(ctx, p, path, m->lv_data, &secret);
        if (r < 0)
                return r;
        return step_done(p, APP_STEP_DATA);
}

static int import_volumes(
        const struct app_ctx *ctx, const struct app_import_params *p, int image_fd, struct manifest *m)
{
        _cleanup_secret_ struct secret *secret = NULL;
        _cleanup_free_ char *path = NULL;
        char map[MAP_NAME_MAX], mapped[APP_DEVICE_MAX];
        uint64_t lv_size;
        int r;

        lv_size = LUKS2_DATA_OFFSET + ROUND_UP(m->image_size, VERITY_BLOCK_SIZE);
        if (m->read_only)
                lv_size += verity_tree_size(m->image_size);
        /* A volume of that name that this import did not create is never
         * touched by its rollback: forget its name here (the rollback works
         * from M, the manifest on disk is deleted by it). */
        r = lvm_lv_create(ctx->lvm, ctx->vg, m->lv_image, lv_size, LVM_ROLE_APP);
        if (r < 0) {
                m->lv_image[0] = m->lv_data[0] = '\0';
                return r;
        }
        if (m->data_size) {
                r = lvm_lv_create(
                        ctx->lvm, ctx->vg, m->lv_data, LUKS2_DATA_OFFSET + m->data_size, LVM_ROLE_APPCFG);
                if (r < 0) {
                        m->lv_data[0] = '\0';
                        return r;
                }
        }
        r = step_done(p, APP_STEP_LV);
        if (r < 0)
                return r;

        r = app_lv_path(ctx, m->lv_image, &path);
        if (r < 0)
                return r;
        r = seal_and_format(ctx, p, path, m->lv_image, &secret);
        if (r < 0)
                return r;
        r = step_done(p, APP_STEP_FORMAT);
        if (r < 0)
                return r;

        app_map_image(m->name, map);
        app_mapper_path(map, mapped);
        r = luks_open(path, map, secret, 0);
        secret_free(TAKE_PTR(secret)); /* not needed any more: wipe now */
        if (r < 0)
                return r;
        r = step_done(p, APP_STEP_OPEN);
        if (r < 0)
                return r;

        r = fill_image(p, image_fd, mapped, m);
        if (r < 0)
                return r; /* the caller's rollback closes the mapping */
        r = luks_close(map);
        if (r < 0)
                return r;
        r = step_done(p, APP_STEP_CLOSE);
        if (r < 0)
                return r;

        if (m->data_size)
                return create_data_volume(ctx, p, m);
        return 0;
}

int app_import(const struct app_ctx *ctx, const struct app_import_params *p, struct manifest *ret_manifest)
{
        _cleanup_close_ int fd = -1;
        struct manifest m = {}, existing;
        uint64_t size;
        int r;

        assert(ctx && ctx->state_dir && ctx->vg && ctx->tpm && ctx->lvm);
        r = check_params(p);
        if (r < 0)
                return r;

        /* check: the name is free (a manifest in any state holds it) */
        r = manifest_load(ctx->state_dir, p->name, &existing);
        if (r == 0 || r == -EINVAL || r == -EBADMSG || r == -EPROTONOSUPPORT || r == -E2BIG)
                return -EEXIST; /* even a damaged manifest holds its name */
        if (r != -ENOENT)
                return r;

        fd = open(p->image_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (p->expected_size)
                size = p->expected_size;
        else {
                r = image_size_of(fd, &size);
                if (r < 0)
                        return r;
        }
        if (size == 0)
                return -EINVAL;
        /* dm-verity protects whole 4 KiB blocks (verity.h). */
        if (p->read_only && size % VERITY_BLOCK_SIZE != 0)
                return -EINVAL;

        /* The manifest first, in state "importing": from here on a crash is
         * found and undone by app_recover(). */
        snprintf(m.name, sizeof(m.name), "%s", p->name);
        m.state = MANIFEST_IMPORTING;
        m.read_only = p->read_only;
        m.image_size = size;
        m.verity_hash_offset = p->read_only ? ROUND_UP(size, VERITY_BLOCK_SIZE) : 0;
        m.data_size = p->data_size;
        snprintf(m.lv_image, sizeof(m.lv_image), "app-%s", p->name);
        if (p->data_size)
                snprintf(m.lv_data, sizeof(m.lv_data), "appcfg-%s", p->name);
        m.memory_mib = p->memory_mib;
        m.vcpus = p->vcpus;
        m.created = (uint64_t)time(NULL);
        r = manifest_config_digest(m.name, m.memory_mib, m.vcpus, m.read_only, m.data_size, m.config_digest);
        if (r < 0)
                return r;
        r = manifest_save(ctx->state_dir, &m);
        if (r < 0)
                return r;
        r = step_done(p, APP_STEP_MANIFEST);
        if (r < 0)
                goto fail;

        r = import_volumes(ctx, p, fd, &m);
        if (r < 0)
                goto fail;

        m.state = MANIFEST_READY;
        r = manifest_save(ctx->state_dir, &m);
        if (r < 0)
                goto fail;
        r = step_done(p, APP_STEP_READY);
        if (r < 0)
                goto fail;
        if (ret_manifest)
                *ret_manifest = m;
        return 0;

fail:
        /* Roll back with the "importing" view: identity not yet valid. */
        m.state = MANIFEST_IMPORTING;
        (void)app_rollback(ctx, &m);
        return r;
}

/* --- open / close / remove / list ------------------------------------------ */

/* Token of the LUKS2 volume at PATH → sealed blob → TPM2_Unseal. */
static int unseal_volume(
        const struct app_ctx *ctx, const char *path, char *errbuf, size_t errlen, struct secret **ret)
{
        struct luks_token token = {};
        int r;

        r = luks_token_read(path, &token);
        if (r < 0)
                return r;
        r = app_unseal_token(ctx, &token, errbuf, errlen, ret);
        luks_token_done(&token);
        return r;
}

static int open_luks(const struct app_ctx *ctx, const char *lv, const char *map, uint32_t flags,
        char *errbuf, size_t errlen, struct app_opened *o)
{
        _cleanup_secret_ struct secret *secret = NULL;
        _cleanup_free_ char *path = NULL;
        double t0 = monotonic_s(), t1;
        int r;

        r = app_lv_path(ctx, lv, &path);
        if (r < 0)
                return r;
        r = unseal_volume(ctx, path, errbuf, errlen, &secret);
        if (r < 0)
                return r;
        t1 = monotonic_s();
        o->unseal_s += t1 - t0;
        r = luks_open(path, map, secret, flags);
        o->open_s += monotonic_s() - t1;
        return r;
}

static int open_stack(const struct app_ctx *ctx, const struct manifest *m, enum app_verify_mode mode,
        char *errbuf, size_t errlen, struct app_opened *o)
{
        char map[MAP_NAME_MAX], mapped[APP_DEVICE_MAX], vmap[MAP_NAME_MAX];
        uint8_t root[VERITY_ROOT_HASH_SIZE];
        int r;

        app_map_image(m->name, map);
        app_mapper_path(map, mapped);
        r = open_luks(ctx, m->lv_image, map, m->read_only ? LUKS_OPEN_READ_ONLY : 0, errbuf, errlen, o);
        if (r < 0)
                return r;

        if (m->read_only) {
                r = verity_root_hash_from_hex(m->identity + strlen("verity:"), root);
                if (r < 0)
                        return r;
                if (mode == APP_VERIFY_EAGER) {
                        double t0 = monotonic_s();
                        r = verity_verify_eager(
                                mapped, mapped, m->verity_hash_offset, root, sizeof(root), errbuf, errlen);
                        o->verify_s = monotonic_s() - t0;
                        if (r < 0)
                                return r;
                }
                map_verity(m->name, vmap);
                double t1 = monotonic_s();
                r = verity_open(vmap, mapped, mapped, m->verity_hash_offset, root, sizeof(root));
                o->open_s += monotonic_s() - t1;
                if (r < 0) {
                        if (r == -EPERM && errbuf && errlen)
                                snprintf(errbuf, errlen, "the dm-verity tree does not match the root hash");
                        return r;
                }
                app_mapper_path(vmap, o->device);
        } else
                snprintf(o->device, sizeof(o->device), "%s", mapped);

        if (m->data_size) {
                map_data(m->name, map);
                r = open_luks(ctx, m->lv_data, map, 0, errbuf, errlen, o);
                if (r < 0)
                        return r;
                app_mapper_path(map, o->data_device);
        }
        return 0;
}

int app_open(const struct app_ctx *ctx, const char *name, enum app_verify_mode mode, char *errbuf,
        size_t errlen, struct app_opened *ret_opened)
{
        struct manifest m;
        struct app_opened o = {};
        int r;

        assert(ctx);
        if (errbuf && errlen)
                errbuf[0] = '\0';
        if (!manifest_name_valid(name) || !ret_opened)
                return -EINVAL;
        r = manifest_load(ctx->state_dir, name, &m);
        if (r < 0)
                return r;
        if (m.state != MANIFEST_READY)
                return -EBUSY;
        if (app_is_open(name) > 0)
                return -EALREADY;

        r = open_stack(ctx, &m, mode, errbuf, errlen, &o);
        if (r < 0) {
                (void)app_close(ctx, name); /* nothing stays mapped */
                return r;
        }
        snprintf(o.identity, sizeof(o.identity), "%s", m.identity);
        memcpy(o.config_digest, m.config_digest, sizeof(o.config_digest));
        *ret_opened = o;
        return 0;
}

int app_remove(const struct app_ctx *ctx, const char *name)
{
        struct manifest m;
        int r;

        assert(ctx);
        if (!manifest_name_valid(name))
                return -EINVAL;
        r = manifest_load(ctx->state_dir, name, &m);
        if (r < 0)
                return r;
        r = app_is_open(name);
        if (r != 0)
                return r < 0 ? r : -EBUSY;
        return app_rollback(ctx, &m);
}

int app_list(const struct app_ctx *ctx, struct manifest **ret, size_t *ret_n)
{
        char **names = NULL;
        struct manifest *list = NULL;
        size_t n = 0, k = 0;
        int r;

        assert(ctx);
        if (!ret || !ret_n)
                return -EINVAL;
        r = manifest_list_names(ctx->state_dir, &names, &n);
        if (r < 0)
                return r;
        if (n > 0) {
                list = calloc(n, sizeof(*list));
                if (!list) {
                        manifest_names_free(names, n);
                        return -ENOMEM;
                }
        }
        for (size_t i = 0; i < n; i++)
                if (manifest_load(ctx->state_dir, names[i], &list[k]) == 0)
                        k++;
        manifest_names_free(names, n);
        *ret = list;
        *ret_n = k;
        return 0;
}
