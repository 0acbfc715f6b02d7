/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/storage/image-source.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "tvam/shared/macro.h"
#include "tvam/shared/process.h"

/* The child sees the client's image as this descriptor ("/dev/fd/10"): 3 is
 * taken by qemu-nbd's socket activation (LISTEN_FDS). */
#define CHILD_IMAGE_FD 10
#define CHILD_IMAGE_PATH "/dev/fd/10"
#define QEMU_IMG_OUTPUT_MAX (1024u * 1024u)

int image_format_from_string(const char *s, enum image_format *ret)
{
        if (strcmp(s, "raw") == 0)
                *ret = IMAGE_FORMAT_RAW;
        else if (strcmp(s, "qcow2") == 0)
                *ret = IMAGE_FORMAT_QCOW2;
        else
                return -EINVAL;
        return 0;
}

/* Run qemu-img with the image at CHILD_IMAGE_FD; *ret_out gets stdout. */
static int qemu_img(const char *const argv[], int in_fd, char **ret_out, int *ret_status)
{
        struct spawn_options opts = { .pass_fd = in_fd, .pass_fd_as = CHILD_IMAGE_FD };
        return spawn_capture(argv, &opts, QEMU_IMG_OUTPUT_MAX, ret_out, ret_status);
}

static int64_t json_int(json_object *o, const char *key, int64_t def)
{
        json_object *v;
        return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : def;
}

/* qemu-img info: the virtual size, and no reference to any other file. */
static int qcow2_inspect(int in_fd, uint64_t *ret_size, char *errbuf, size_t errlen)
{
        static const char *const argv[] = { "qemu-img", "info", "--output=json", "-f", "qcow2", "-U",
                CHILD_IMAGE_PATH, NULL };
        _cleanup_free_ char *out = NULL;
        json_object *info, *v, *fs, *data;
        int status = 0, r;
        int64_t size;

        r = qemu_img(argv, in_fd, &out, &status);
        if (r == -ENOENT) {
                snprintf(errbuf, errlen, "qemu-img is not installed (package qemu-utils)");
                return -ENOENT;
        }
        if (r < 0) {
                snprintf(errbuf, errlen, "not a readable qcow2 image (qemu-img info exited %d)", status);
                return -EINVAL;
        }
        info = json_tokener_parse(out);
        if (!info || !json_object_is_type(info, json_type_object)) {
                json_object_put(info);
                snprintf(errbuf, errlen, "cannot parse qemu-img info's output");
                return -EBADMSG;
        }
        size = json_int(info, "virtual-size", -1);
        if (json_object_object_get_ex(info, "backing-filename", &v) ||
                json_object_object_get_ex(info, "full-backing-filename", &v)) {
                snprintf(errbuf, errlen, "qcow2 image has a backing file (%s): flatten it first "
                                         "(qemu-img convert -O qcow2)", json_object_get_string(v));
                r = -EINVAL;
        } else if (json_object_object_get_ex(info, "format-specific", &fs) &&
                json_object_object_get_ex(fs, "data", &data) &&
                ((json_object_object_get_ex(data, "data-file", &v)) ||
                        (json_object_object_get_ex(data, "corrupt", &v) && json_object_get_boolean(v)))) {
                snprintf(errbuf, errlen, "qcow2 image %s",
                        json_object_object_get_ex(data, "data-file", &v) ? "uses an external data file"
                                                                          : "is marked corrupt");
                r = -EINVAL;
        } else if (size <= 0) {
                snprintf(errbuf, errlen, "qcow2 image has no virtual size");
                r = -EINVAL;
        } else {
                *ret_size = (uint64_t)size;
                r = 0;
        }
        json_object_put(info);
        return r;
}

/* qemu-img check: exit 0 clean, 3 leaked clusters only (harmless: space,
 * not data), 2 corruptions (e.g. clusters beyond the end of a truncated
 * file), anything else: could not check. */
static int qcow2_check(int in_fd, char *errbuf, size_t errlen)
{
        static const char *const argv[] = { "qemu-img", "check", "--output=json", "-f", "qcow2", "-U",
                CHILD_IMAGE_PATH, NULL };
        _cleanup_free_ char *out = NULL;
        json_object *res;
        int status = 0, r;

        r = qemu_img(argv, in_fd, &out, &status);
        if (r == 0 || status == 3)
                return 0;
        if (r != -EPROTO)
                return r;
        res = json_tokener_parse(out);
        snprintf(errbuf, errlen,
                "qcow2 image is corrupt or truncated: %lld errors found by qemu-img check (exit %d); "
                "nothing was imported",
                res ? (long long)json_int(res, "corruptions", 0) : -1LL, status);
        json_object_put(res);
        return -EINVAL;
}

int image_source_open(int in_fd, enum image_format format, char *errbuf, size_t errlen, struct image_source *ret)
{
        static const char *const argv[] = { "nbdcopy", "--", "[", "qemu-nbd", "-r", "-f", "qcow2",
                CHILD_IMAGE_PATH, "]", "-", NULL };
        struct spawn_options opts = { .stdout_pipe = true, .pass_fd = in_fd, .pass_fd_as = CHILD_IMAGE_FD };
        uint64_t size = 0;
        int r;

        *ret = (struct image_source){ .fd = in_fd, .owned_fd = -1 };
        if (format == IMAGE_FORMAT_RAW)
                return 0;

        r = qcow2_inspect(in_fd, &size, errbuf, errlen);
        if (r < 0)
                return r;
        r = qcow2_check(in_fd, errbuf, errlen);
        if (r < 0)
                return r;
        r = spawn_async(argv, &opts, &ret->converter, &ret->owned_fd);
        if (r < 0) {
                snprintf(errbuf, errlen, "cannot start nbdcopy (package libnbd-bin): %s", strerror(-r));
                return r;
        }
        ret->fd = ret->owned_fd;
        ret->size = size;
        return 0;
}

int image_source_finish(struct image_source *src, char *errbuf, size_t errlen)
{
        int status = 0, r;

        if (src->converter <= 0)
                return 0;
        r = spawn_reap(src->converter, &status);
        src->converter = 0;
        if (r < 0) {
                snprintf(errbuf, errlen, "the qcow2 conversion failed (nbdcopy exited %d)", status);
                return -EIO;
        }
        return 0;
}

void image_source_close(struct image_source *src)
{
        if (src->converter > 0) {
                (void)kill(src->converter, SIGTERM);
                (void)spawn_reap(src->converter, NULL);
                src->converter = 0;
        }
        if (src->owned_fd >= 0) {
                close(src->owned_fd);
                src->owned_fd = -1;
        }
}
