/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "disk-layout/layout.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tvam/shared/macro.h"
#include "tvam/storage/lvm.h"

#define MIB (UINT64_C(1) << 20)

static int fail(struct layout_error *e, unsigned line, const char *format, ...) _printf_(3, 4);
static int fail(struct layout_error *e, unsigned line, const char *format, ...)
{
        va_list ap;

        if (e) {
                e->line = line;
                va_start(ap, format);
                vsnprintf(e->message, sizeof(e->message), format, ap);
                va_end(ap);
        }
        return -EINVAL;
}

int layout_parse_size(const char *text, uint64_t *ret)
{
        uint64_t value = 0, shift;
        const char *p = text;

        assert(text && ret);
        if (!isdigit((unsigned char)*p))
                return -EINVAL;
        for (; isdigit((unsigned char)*p); p++) {
                if (value > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                value = value * 10 + (uint64_t)(*p - '0');
        }
        switch (*p) {
        case 'K':
                shift = 10;
                break;
        case 'M':
                shift = 20;
                break;
        case 'G':
                shift = 30;
                break;
        case 'T':
                shift = 40;
                break;
        default:
                return -EINVAL;
        }
        if (p[1] != '\0' || value == 0)
                return -EINVAL;
        if (value > (UINT64_MAX >> shift))
                return -ERANGE;
        *ret = value << shift;
        return 0;
}

static char *strip(char *s)
{
        char *end;

        while (isspace((unsigned char)*s))
                s++;
        end = s + strlen(s);
        while (end > s && isspace((unsigned char)end[-1]))
                *--end = '\0';
        return s;
}

enum field { F_BOOT, F_VG, F_BASE, F_STORE, F_LOG, _F_MAX };
static const char *const field_names[_F_MAX] = { "boot_size", "vg", "base_size", "store_size", "log_size" };

static int set_field(struct layout *l, enum field f, const char *value, unsigned line, struct layout_error *e)
{
        uint64_t *sizes[_F_MAX] = { &l->boot_size, NULL, &l->base_size, &l->store_size, &l->log_size };
        int r;

        if (f == F_VG) {
                if (!lvm_name_valid(value) || strlen(value) >= sizeof(l->vg))
                        return fail(e, line, "'%s' is not a valid volume group name", value);
                strcpy(l->vg, value);
                return 0;
        }
        r = layout_parse_size(value, sizes[f]);
        if (r < 0)
                return fail(e, line, "%s: '%s' is not a size like 512M or 2G", field_names[f], value);
        if (*sizes[f] % MIB != 0)
                return fail(e, line, "%s: %s is not a whole number of MiB", field_names[f], value);
        return 0;
}

int layout_parse(const char *text, struct layout *ret, struct layout_error *ret_error)
{
        struct layout l = {};
        bool seen[_F_MAX] = {};
        unsigned line_no = 0;
        const char *p = text;

        assert(text && ret);

        while (*p) {
                char buf[512];
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                char *line, *eq, *key, *value, *hash;
                int f, r;

                line_no++;
                if (len >= sizeof(buf))
                        return fail(ret_error, line_no, "line too long");
                memcpy(buf, p, len);
                buf[len] = '\0';
                p += len + (nl ? 1 : 0);

                hash = strchr(buf, '#');
                if (hash)
                        *hash = '\0';
                line = strip(buf);
                if (*line == '\0')
                        continue;

                eq = strchr(line, '=');
                if (!eq)
                        return fail(ret_error, line_no, "expected 'key = value'");
                *eq = '\0';
                key = strip(line);
                value = strip(eq + 1);
                if (*value == '\0')
                        return fail(ret_error, line_no, "%s has no value", key);

                for (f = 0; f < _F_MAX; f++)
                        if (strcmp(key, field_names[f]) == 0)
                                break;
                if (f == _F_MAX)
                        return fail(ret_error, line_no, "unknown key '%s'", key);
                if (seen[f])
                        return fail(ret_error, line_no, "%s given twice", key);
                seen[f] = true;
                r = set_field(&l, (enum field)f, value, line_no, ret_error);
                if (r < 0)
                        return r;
        }

        for (int f = 0; f < _F_MAX; f++)
                if (!seen[f])
                        return fail(ret_error, 0, "%s is missing", field_names[f]);
        if (l.boot_size < 64 * MIB)
                return fail(ret_error, 0, "boot_size must be at least 64M (FAT32, kernels, initramfs images)");

        *ret = l;
        return 0;
}

uint64_t layout_required_bytes(const struct layout *l)
{
        /* 1 MiB before the first partition, 1 MiB BIOS boot partition, the
         * boot partition, 1 MiB LVM metadata + 4 MiB extent rounding per LV,
         * 1 MiB at the end for the backup GPT. */
        return MIB + MIB + l->boot_size + MIB + (l->base_size + 4 * MIB) + (l->store_size + 4 * MIB) +
                (l->log_size + 4 * MIB) + MIB;
}
