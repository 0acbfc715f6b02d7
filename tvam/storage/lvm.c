/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/storage/lvm.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <lvm2cmd.h>

#include "tvam/shared/log.h"

#define LVM_CMDLINE_MAX 1024
#define LVM_REPORT_MAX (1024 * 1024)

struct lvm_ctx {
        void *handle;
        bool udev_running;
        char last_error[512];
        char *report;       /* collected report output of the running command */
        size_t report_size;
        bool report_overflow;
};

static const char *const role_tags[_LVM_ROLE_MAX] = {
        [LVM_ROLE_BASE] = "tvam:base",
        [LVM_ROLE_STORE] = "tvam:store",
        [LVM_ROLE_LOG] = "tvam:log",
        [LVM_ROLE_AGC] = "tvam:agc",
        [LVM_ROLE_APP] = "tvam:app",
        [LVM_ROLE_APPCFG] = "tvam:appcfg",
};

const char *lvm_role_to_tag(enum lvm_role role)
{
        if (role < 0 || role >= _LVM_ROLE_MAX)
                return NULL;
        return role_tags[role];
}

int lvm_role_from_tag(const char *tag, enum lvm_role *ret)
{
        assert(tag && ret);
        for (int i = 0; i < _LVM_ROLE_MAX; i++)
                if (strcmp(role_tags[i], tag) == 0) {
                        *ret = (enum lvm_role)i;
                        return 0;
                }
        return -EINVAL;
}

bool lvm_name_valid(const char *name)
{
        /* lvm(8) "VALID NAMES": names LVM reserves for its own volumes. */
        static const char *const reserved_parts[] = {
                "_cdata", "_cmeta", "_corig", "_cpool", "_cvol", "_iorig", "_mimage", "_mlog",
                "_pmspare", "_rimage", "_rmeta", "_tdata", "_tmeta", "_vdata", "_vorigin",
                "_wcorig",
        };
        size_t len;

        if (!name)
                return false;
        len = strlen(name);
        if (len == 0 || len > 127 || name[0] == '-')
                return false;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return false;
        if (strncmp(name, "snapshot", 8) == 0 || strncmp(name, "pvmove", 6) == 0)
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = name[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
                            c == '_' || c == '.' || c == '-'))
                        return false;
        }
        for (size_t i = 0; i < ELEMENTSOF(reserved_parts); i++)
                if (strstr(name, reserved_parts[i]))
                        return false;
        return true;
}

/* A device path that may appear in a command line: absolute, no
 * whitespace, quotes, '#' (comment) or other shell-ish characters. */
static bool device_path_valid(const char *path)
{
        if (!path || path[0] != '/' || strlen(path) > 255)
                return false;
        for (const char *p = path; *p; p++) {
                char c = *p;
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
                            c == '_' || c == '.' || c == '-' || c == '+' || c == ':'))
                        return false;
        }
        return true;
}

/* liblvm2cmd's log callback is process-global; the context of the command
 * being run is kept here for it (one lvm_ctx per process, one thread). */
static struct lvm_ctx *running_ctx;

static void collect_log(int level, const char *file, int line, int dm_errno, const char *message)
{
        struct lvm_ctx *ctx = running_ctx;

        (void)line;
        (void)dm_errno;
        if (!ctx || !message)
                return;

        if (level == LVM2_LOG_ERROR) {
                snprintf(ctx->last_error, sizeof(ctx->last_error), "%s", message);
                log_debug("lvm: %s", message);
                return;
        }
        /* Report lines come from libdm's report code at print level;
         * warnings at the same level come from elsewhere and must not end
         * up inside the JSON we parse. */
        if (level == LVM2_LOG_PRINT && file && strstr(file, "libdm-report.c")) {
                size_t n = strlen(message);
                char *grown;

                if (ctx->report_overflow || ctx->report_size + n + 2 > LVM_REPORT_MAX) {
                        ctx->report_overflow = true;
                        return;
                }
                grown = realloc(ctx->report, ctx->report_size + n + 2);
                if (!grown) {
                        ctx->report_overflow = true;
                        return;
                }
                ctx->report = grown;
                memcpy(ctx->report + ctx->report_size, message, n);
                ctx->report_size += n;
                ctx->report[ctx->report_size++] = '\n';
                ctx->report[ctx->report_size] = '\0';
        } else if (level <= LVM2_LOG_PRINT)
                log_debug("lvm: %s", message);
}

int lvm_ctx_new(struct lvm_ctx **ret)
{
        _cleanup_(lvm_ctx_freep) struct lvm_ctx *ctx = NULL;

        assert(ret);
        ctx = calloc(1, sizeof(*ctx));
        if (!ctx)
                return -ENOMEM;
        ctx->udev_running = access("/run/udev/control", F_OK) == 0;

        lvm2_log_fn(collect_log);
        ctx->handle = lvm2_init();
        if (!ctx->handle)
                return -ENOMEM;
        lvm2_log_level(ctx->handle, LVM2_LOG_PRINT);

        *ret = TAKE_PTR(ctx);
        return 0;
}

void lvm_ctx_free(struct lvm_ctx *ctx)
{
        if (!ctx)
                return;
        if (ctx->handle)
                lvm2_exit(ctx->handle);
        free(ctx->report);
        free(ctx);
}

const char *lvm_last_error(const struct lvm_ctx *ctx)
{
        return ctx ? ctx->last_error : "";
}

/* Map a failed command to an errno from LVM's return code and message: the
 * one place LVM errors are translated (STYLE.md §3). */
static int map_failure(const struct lvm_ctx *ctx, int rc)
{
        const char *e = ctx->last_error;

        if (rc == LVM2_NO_SUCH_COMMAND)
                return -ENOSYS;
        if (strstr(e, "already exists"))
                return -EEXIST;
        if (strstr(e, "not found") || strstr(e, "No such") || strstr(e, "Failed to find"))
                return -ENOENT;
        if (strstr(e, "Insufficient free space") || strstr(e, "insufficient"))
                return -ENOSPC;
        if (strstr(e, "in use") || strstr(e, "exclusively"))
                return -EBUSY;
        if (rc == LVM2_INVALID_PARAMETERS)
                return -EINVAL;
        return -EIO;
}

static int run_command(struct lvm_ctx *ctx, const char *format, ...) _printf_(2, 3);
static int run_command(struct lvm_ctx *ctx, const char *format, ...)
{
        char cmdline[LVM_CMDLINE_MAX];
        va_list ap;
        int n, rc;

        va_start(ap, format);
        n = vsnprintf(cmdline, sizeof(cmdline), format, ap);
        va_end(ap);
        if (n < 0 || (size_t)n >= sizeof(cmdline))
                return -ENAMETOOLONG;

        /* Without udev, device nodes are LVM's job and waiting for udev
         * would hang (ARCHITECTURE.md: the initramfs and the lab run none). */
        if (!ctx->udev_running) {
                const char *no_udev = " --config 'activation{udev_sync=0 udev_rules=0} "
                                      "devices{obtain_device_list_from_udev=0}'";
                if ((size_t)n + strlen(no_udev) >= sizeof(cmdline))
                        return -ENAMETOOLONG;
                strcat(cmdline, no_udev);
        }

        ctx->last_error[0] = '\0';
        free(ctx->report);
        ctx->report = NULL;
        ctx->report_size = 0;
        ctx->report_overflow = false;

        log_debug("lvm: running: %s", cmdline);
        running_ctx = ctx;
        rc = lvm2_run(ctx->handle, cmdline);
        running_ctx = NULL;

        if (rc != LVM2_COMMAND_SUCCEEDED)
                return map_failure(ctx, rc);
        return 0;
}

int lvm_pv_create(struct lvm_ctx *ctx, const char *device)
{
        assert(ctx);
        if (!device_path_valid(device))
                return -EINVAL;
        return run_command(ctx, "pvcreate --yes %s", device);
}

int lvm_pv_remove(struct lvm_ctx *ctx, const char *device)
{
        assert(ctx);
        if (!device_path_valid(device))
                return -EINVAL;
        return run_command(ctx, "pvremove --yes %s", device);
}

int lvm_vg_create(struct lvm_ctx *ctx, const char *vg, const char *device)
{
        assert(ctx);
        if (!lvm_name_valid(vg) || !device_path_valid(device))
                return -EINVAL;
        return run_command(ctx, "vgcreate %s %s", vg, device);
}

int lvm_vg_remove(struct lvm_ctx *ctx, const char *vg)
{
        assert(ctx);
        if (!lvm_name_valid(vg))
                return -EINVAL;
        return run_command(ctx, "vgremove --force %s", vg);
}

int lvm_lv_create(struct lvm_ctx *ctx, const char *vg, const char *name, uint64_t size_bytes,
        enum lvm_role role)
{
        const char *tag = lvm_role_to_tag(role);

        assert(ctx);
        if (!lvm_name_valid(vg) || !lvm_name_valid(name) || size_bytes == 0)
                return -EINVAL;
        if (role != LVM_ROLE_NONE && !tag)
                return -EINVAL;
        /* --wipesignatures y --zero y: a new LV never shows an old volume's
         * header (a stale LUKS header would be mistaken for ours). */
        return run_command(ctx, "lvcreate --yes --wipesignatures y --zero y --name %s --size %" PRIu64 "b%s%s %s",
                name, size_bytes, tag ? " --addtag " : "", tag ? tag : "", vg);
}

int lvm_lv_remove(struct lvm_ctx *ctx, const char *vg, const char *name)
{
        assert(ctx);
        if (!lvm_name_valid(vg) || !lvm_name_valid(name))
                return -EINVAL;
        return run_command(ctx, "lvremove --yes %s/%s", vg, name);
}

int lvm_lv_set_active(struct lvm_ctx *ctx, const char *vg, const char *name, bool active)
{
        assert(ctx);
        if (!lvm_name_valid(vg) || !lvm_name_valid(name))
                return -EINVAL;
        return run_command(ctx, "lvchange --activate %s %s/%s", active ? "y" : "n", vg, name);
}

void lvm_lv_list_free(struct lvm_lv *lvs, size_t n)
{
        if (!lvs)
                return;
        for (size_t i = 0; i < n; i++) {
                free(lvs[i].name);
                free(lvs[i].path);
        }
        free(lvs);
}

static const char *json_string_field(json_object *obj, const char *key)
{
        json_object *v;

        if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static int parse_lv_entry(json_object *entry, const char *vg, struct lvm_lv *ret)
{
        const char *name, *size, *tags, *active;
        enum lvm_role role = LVM_ROLE_NONE;
        char *end = NULL;
        unsigned long long bytes;

        if (!json_object_is_type(entry, json_type_object))
                return -EBADMSG;
        name = json_string_field(entry, "lv_name");
        size = json_string_field(entry, "lv_size");
        tags = json_string_field(entry, "lv_tags");
        active = json_string_field(entry, "lv_active");
        if (!name || !size || !tags || !active || !lvm_name_valid(name))
                return -EBADMSG;

        errno = 0;
        bytes = strtoull(size, &end, 10);
        if (errno != 0 || end == size || *end != '\0' || size[0] == '-')
                return -EBADMSG;

        /* Tags are comma-separated; the first of ours names the role. */
        {
                _cleanup_free_ char *copy = strdup(tags);
                char *save = NULL;
                if (!copy)
                        return -ENOMEM;
                for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                        if (lvm_role_from_tag(t, &role) == 0)
                                break;
        }

        ret->name = strdup(name);
        if (!ret->name || asprintf(&ret->path, "/dev/%s/%s", vg, name) < 0) {
                free(ret->name);
                ret->name = NULL;
                ret->path = NULL;
                return -ENOMEM;
        }
        ret->size_bytes = bytes;
        ret->role = role;
        ret->active = strcmp(active, "active") == 0;
        return 0;
}

int lvm_parse_lv_report(const char *json, const char *vg, struct lvm_lv **ret, size_t *ret_n)
{
        json_object *root, *report, *first, *lv_array;
        struct lvm_lv *lvs = NULL;
        size_t n;
        int r = 0;

        assert(json && vg && ret && ret_n);
        if (!lvm_name_valid(vg))
                return -EINVAL;

        root = json_tokener_parse(json);
        if (!root)
                return -EBADMSG;
        if (!json_object_object_get_ex(root, "report", &report) || !json_object_is_type(report, json_type_array) ||
                json_object_array_length(report) < 1 ||
                !(first = json_object_array_get_idx(report, 0)) ||
                !json_object_object_get_ex(first, "lv", &lv_array) || !json_object_is_type(lv_array, json_type_array)) {
                r = -EBADMSG;
                goto out;
        }

        n = json_object_array_length(lv_array);
        lvs = calloc(n + 1, sizeof(*lvs));
        if (!lvs) {
                r = -ENOMEM;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                r = parse_lv_entry(json_object_array_get_idx(lv_array, i), vg, &lvs[i]);
                if (r < 0) {
                        lvm_lv_list_free(lvs, i);
                        lvs = NULL;
                        goto out;
                }
        }
        *ret = lvs;
        *ret_n = n;
out:
        json_object_put(root);
        return r;
}

int lvm_lv_list(struct lvm_ctx *ctx, const char *vg, struct lvm_lv **ret, size_t *ret_n)
{
        int r;

        assert(ctx && ret && ret_n);
        if (!lvm_name_valid(vg))
                return -EINVAL;
        r = run_command(ctx,
                "lvs --reportformat json --units b --nosuffix --options lv_name,lv_size,lv_tags,lv_active %s", vg);
        if (r < 0)
                return r;
        if (ctx->report_overflow || !ctx->report)
                return -EBADMSG;
        return lvm_parse_lv_report(ctx->report, vg, ret, ret_n);
}
