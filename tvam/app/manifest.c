/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/app/manifest.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tvam/shared/digest.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_tokener *, json_tokener_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

bool manifest_name_valid(const char *name)
{
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        if (n == 0 || n > MANIFEST_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = name[i];
                bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
                if (!alnum && (i == 0 || !strchr("_.-", c)))
                        return false;
        }
        return true;
}

const char *manifest_state_to_string(enum manifest_state s)
{
        switch (s) {
        case MANIFEST_IMPORTING:
                return "importing";
        case MANIFEST_READY:
                return "ready";
        }
        return NULL;
}

static int state_from_string(const char *s, enum manifest_state *ret)
{
        if (strcmp(s, "importing") == 0)
                *ret = MANIFEST_IMPORTING;
        else if (strcmp(s, "ready") == 0)
                *ret = MANIFEST_READY;
        else
                return -EINVAL;
        return 0;
}

int manifest_config_digest(const char *name, uint32_t memory_mib, uint32_t vcpus, bool read_only,
        uint64_t data_size, uint8_t ret[MANIFEST_CONFIG_DIGEST_SIZE])
{
        char text[256];
        int n;

        if (!manifest_name_valid(name))
                return -EINVAL;
        /* Canonical serialization, docs/app.md "Config digest". */
        n = snprintf(text, sizeof(text),
                "tvam-app-config-v1\nname=%s\nmemory_mib=%" PRIu32 "\nvcpus=%" PRIu32
                "\nread_only=%d\ndata_size=%" PRIu64 "\n",
                name, memory_mib, vcpus, read_only ? 1 : 0, data_size);
        if (n < 0 || (size_t)n >= sizeof(text))
                return -EINVAL;
        return digest_buffer(DIGEST_SHA256, text, (size_t)n, ret);
}

/* "PREFIX:<64 hex>" */
static bool identity_valid(const char *id, const char *prefix)
{
        size_t p = strlen(prefix);
        uint8_t buf[32];

        if (strncmp(id, prefix, p) != 0 || id[p] != ':')
                return false;
        for (const char *c = id + p + 1; *c; c++)
                if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
                        return false; /* lower case only: one spelling per identity */
        return hex_decode_exact(id + p + 1, buf, sizeof(buf)) == 0;
}

int manifest_validate(const struct manifest *m)
{
        char expect[MANIFEST_LV_NAME_MAX];
        uint8_t digest[MANIFEST_CONFIG_DIGEST_SIZE];
        int r;

        if (!m || !manifest_name_valid(m->name))
                return -EINVAL;
        if (!manifest_state_to_string(m->state))
                return -EINVAL;
        if (m->identity[0] == '\0') {
                if (m->state != MANIFEST_IMPORTING)
                        return -EINVAL; /* a ready application has an identity */
        } else if (!identity_valid(m->identity, m->read_only ? "verity" : "sha256"))
                return -EINVAL;
        if (m->image_size == 0 || m->image_size > (UINT64_C(1) << 50))
                return -EINVAL;
        if (m->read_only) {
                /* Hash tree after the data, 4 KiB aligned (verity.h). */
                if (m->verity_hash_offset < m->image_size || m->verity_hash_offset % 4096 != 0 ||
                        m->verity_hash_offset - m->image_size >= 4096)
                        return -EINVAL;
                if (m->image_size % 4096 != 0)
                        return -EINVAL;
        } else if (m->verity_hash_offset != 0)
                return -EINVAL;
        if (m->data_size > (UINT64_C(1) << 50))
                return -EINVAL;
        snprintf(expect, sizeof(expect), "app-%s", m->name);
        if (strcmp(m->lv_image, expect) != 0)
                return -EINVAL;
        snprintf(expect, sizeof(expect), "appcfg-%s", m->name);
        if (m->data_size ? strcmp(m->lv_data, expect) != 0 : m->lv_data[0] != '\0')
                return -EINVAL;
        if (m->memory_mib == 0 || m->memory_mib > MANIFEST_MEMORY_MIB_MAX)
                return -EINVAL;
        if (m->vcpus == 0 || m->vcpus > MANIFEST_VCPUS_MAX)
                return -EINVAL;
        r = manifest_config_digest(m->name, m->memory_mib, m->vcpus, m->read_only, m->data_size, digest);
        if (r < 0)
                return r;
        if (memcmp(digest, m->config_digest, sizeof(digest)) != 0)
                return -EINVAL;
        return 0;
}

/* --- parsing ------------------------------------------------------------- */

enum field {
        F_VERSION,
        F_NAME,
        F_STATE,
        F_FORMAT,
        F_READ_ONLY,
        F_IDENTITY,
        F_IMAGE_SIZE,
        F_VERITY_HASH_OFFSET,
        F_DATA_SIZE,
        F_LV_IMAGE,
        F_LV_DATA,
        F_MEMORY,
        F_VCPUS,
        F_CONFIG_DIGEST,
        F_CREATED,
        _F_MAX,
};

static const char *const field_names[_F_MAX] = {
        [F_VERSION] = "tvam-manifest-version",
        [F_NAME] = "name",
        [F_STATE] = "state",
        [F_FORMAT] = "format",
        [F_READ_ONLY] = "read_only",
        [F_IDENTITY] = "identity",
        [F_IMAGE_SIZE] = "image_size",
        [F_VERITY_HASH_OFFSET] = "verity_hash_offset",
        [F_DATA_SIZE] = "data_size",
        [F_LV_IMAGE] = "lv_image",
        [F_LV_DATA] = "lv_data",
        [F_MEMORY] = "memory_mib",
        [F_VCPUS] = "vcpus",
        [F_CONFIG_DIGEST] = "config_digest",
        [F_CREATED] = "created",
};

static int get_string(json_object *o, char *buf, size_t size)
{
        const char *s;
        size_t len;

        if (!json_object_is_type(o, json_type_string))
                return -EINVAL;
        s = json_object_get_string(o);
        len = (size_t)json_object_get_string_len(o);
        if (len != strlen(s) || len >= size) /* no embedded NUL, fits */
                return -EINVAL;
        memcpy(buf, s, len + 1);
        return 0;
}

/* A non-negative integer up to MAX.  json-c keeps integers as int64 (or
 * uint64 above INT64_MAX); we accept only int64 >= 0. */
static int get_uint(json_object *o, uint64_t max, uint64_t *ret)
{
        int64_t v;

        if (!json_object_is_type(o, json_type_int))
                return -EINVAL;
        errno = 0;
        v = json_object_get_int64(o);
        if (errno != 0 || v < 0 || (uint64_t)v > max)
                return -EINVAL;
        /* json-c saturates out-of-range numbers at INT64_MAX: refused by MAX. */
        *ret = (uint64_t)v;
        return 0;
}

static int parse_field(enum field f, json_object *v, struct manifest *m)
{
        char buf[MANIFEST_IDENTITY_MAX];
        uint64_t u;
        int r;

        switch (f) {
        case F_VERSION:
                r = get_uint(v, INT64_MAX, &u);
                if (r < 0)
                        return r;
                return u == MANIFEST_VERSION ? 0 : -EPROTONOSUPPORT;
        case F_NAME:
                return get_string(v, m->name, sizeof(m->name));
        case F_STATE:
                r = get_string(v, buf, sizeof(buf));
                return r < 0 ? r : state_from_string(buf, &m->state);
        case F_FORMAT:
                r = get_string(v, buf, sizeof(buf));
                return r < 0 ? r : (strcmp(buf, "raw") == 0 ? 0 : -EINVAL);
        case F_READ_ONLY:
                if (!json_object_is_type(v, json_type_boolean))
                        return -EINVAL;
                m->read_only = json_object_get_boolean(v);
                return 0;
        case F_IDENTITY:
                return get_string(v, m->identity, sizeof(m->identity));
        case F_IMAGE_SIZE:
                return get_uint(v, UINT64_C(1) << 50, &m->image_size);
        case F_VERITY_HASH_OFFSET:
                return get_uint(v, UINT64_C(1) << 50, &m->verity_hash_offset);
        case F_DATA_SIZE:
                return get_uint(v, UINT64_C(1) << 50, &m->data_size);
        case F_LV_IMAGE:
                return get_string(v, m->lv_image, sizeof(m->lv_image));
        case F_LV_DATA:
                return get_string(v, m->lv_data, sizeof(m->lv_data));
        case F_MEMORY:
                r = get_uint(v, MANIFEST_MEMORY_MIB_MAX, &u);
                m->memory_mib = (uint32_t)u;
                return r;
        case F_VCPUS:
                r = get_uint(v, MANIFEST_VCPUS_MAX, &u);
                m->vcpus = (uint32_t)u;
                return r;
        case F_CONFIG_DIGEST:
                r = get_string(v, buf, sizeof(buf));
                if (r < 0)
                        return r;
                if (!identity_valid(buf, "sha256"))
                        return -EINVAL;
                return hex_decode_exact(buf + 7, m->config_digest, sizeof(m->config_digest));
        case F_CREATED:
                return get_uint(v, INT64_MAX, &m->created);
        case _F_MAX:
                break;
        }
        return -EINVAL;
}

/*
 * A lexical pass json-c does not do for us:
 *  - RFC 8259 strings only: json-c accepts single-quoted strings even with
 *    JSON_TOKENER_STRICT in the version we build with; refused (-EBADMSG);
 *  - the number of ':' outside strings = the number of keys of a flat
 *    object.  json-c keeps only the last of duplicate keys; a manifest must
 *    not be read differently by two parsers, so duplicates are refused
 *    (RFC 8259 §4 leaves their meaning open).
 */
static int scan(const char *json, size_t size, size_t *ret_keys)
{
        bool in_string = false, escaped = false;
        size_t n = 0;

        for (size_t i = 0; i < size; i++) {
                char c = json[i];
                if (in_string) {
                        if (escaped)
                                escaped = false;
                        else if (c == '\\')
                                escaped = true;
                        else if (c == '"')
                                in_string = false;
                } else if (c == '"')
                        in_string = true;
                else if (c == '\'')
                        return -EBADMSG;
                else if (c == ':')
                        n++;
        }
        *ret_keys = n;
        return 0;
}

int manifest_parse(const char *json, size_t size, struct manifest *ret)
{
        _cleanup_(json_tokener_freep) struct json_tokener *tok = NULL;
        _cleanup_(json_object_putp) json_object *root = NULL;
        struct manifest m = {};
        unsigned seen = 0;
        size_t end, keys;
        int r;

        if (!json || !ret)
                return -EINVAL;
        if (size > MANIFEST_JSON_MAX)
                return -E2BIG;
        if (size == 0 || memchr(json, '\0', size))
                return -EBADMSG;

        r = scan(json, size, &keys);
        if (r < 0)
                return r;
        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        root = json_tokener_parse_ex(tok, json, (int)size);
        if (!root || json_tokener_get_error(tok) != json_tokener_success)
                return -EBADMSG;
        end = json_tokener_get_parse_end(tok);
        for (; end < size; end++)
                if (!strchr(" \t\r\n", json[end]))
                        return -EBADMSG;
        if (!json_object_is_type(root, json_type_object))
                return -EBADMSG;

        json_object_object_foreach(root, key, val)
        {
                enum field f;
                for (f = 0; f < _F_MAX; f++)
                        if (strcmp(key, field_names[f]) == 0)
                                break;
                if (f == _F_MAX || (seen & (1u << f)))
                        return -EINVAL; /* unknown key */
                seen |= 1u << f;
                r = parse_field(f, val, &m);
                if (r < 0)
                        return r;
        }
        /* The version decides how to read the rest: check it first. */
        if (!(seen & (1u << F_VERSION)))
                return -EINVAL;
        if (seen != (1u << _F_MAX) - 1)
                return -EINVAL; /* every field is mandatory */
        if (keys != _F_MAX)
                return -EINVAL; /* a duplicate key (all values are scalars) */
        r = manifest_validate(&m);
        if (r < 0)
                return r;
        *ret = m;
        return 0;
}

int manifest_format(const struct manifest *m, char **ret_json)
{
        _cleanup_free_ char *cd = NULL;
        char *text = NULL;
        int r, n;

        if (!ret_json)
                return -EINVAL;
        r = manifest_validate(m);
        if (r < 0)
                return r;
        r = hex_encode(m->config_digest, sizeof(m->config_digest), &cd);
        if (r < 0)
                return r;
        /* All strings are validated to need no JSON escaping (names, hex). */
        n = asprintf(&text,
                "{\n"
                "  \"tvam-manifest-version\": %d,\n"
                "  \"name\": \"%s\",\n"
                "  \"state\": \"%s\",\n"
                "  \"format\": \"raw\",\n"
                "  \"read_only\": %s,\n"
                "  \"identity\": \"%s\",\n"
                "  \"image_size\": %" PRIu64 ",\n"
                "  \"verity_hash_offset\": %" PRIu64 ",\n"
                "  \"data_size\": %" PRIu64 ",\n"
                "  \"lv_image\": \"%s\",\n"
                "  \"lv_data\": \"%s\",\n"
                "  \"memory_mib\": %" PRIu32 ",\n"
                "  \"vcpus\": %" PRIu32 ",\n"
                "  \"config_digest\": \"sha256:%s\",\n"
                "  \"created\": %" PRIu64 "\n"
                "}\n",
                MANIFEST_VERSION, m->name, manifest_state_to_string(m->state),
                m->read_only ? "true" : "false", m->identity, m->image_size, m->verity_hash_offset,
                m->data_size, m->lv_image, m->lv_data, m->memory_mib, m->vcpus, cd, m->created);
        if (n < 0)
                return -ENOMEM;
        *ret_json = text;
        return 0;
}

/* --- files --------------------------------------------------------------- */

static int manifest_path(const char *state_dir, const char *name, char **ret)
{
        if (!state_dir || !manifest_name_valid(name))
                return -EINVAL;
        if (asprintf(ret, "%s/%s.json", state_dir, name) < 0)
                return -ENOMEM;
        return 0;
}

int manifest_save(const char *state_dir, const struct manifest *m)
{
        _cleanup_free_ char *path = NULL, *json = NULL;
        int r;

        r = manifest_format(m, &json);
        if (r < 0)
                return r;
        r = manifest_path(state_dir, m->name, &path);
        if (r < 0)
                return r;
        return atomic_file_write(path, json, strlen(json), 0600);
}

int manifest_load(const char *state_dir, const char *name, struct manifest *ret)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        struct manifest m;
        size_t size;
        int r;

        r = manifest_path(state_dir, name, &path);
        if (r < 0)
                return r;
        r = read_full_file(path, MANIFEST_JSON_MAX, &data, &size);
        if (r == -EFBIG)
                return -E2BIG;
        if (r < 0)
                return r;
        r = manifest_parse((const char *)data, size, &m);
        if (r < 0)
                return r;
        if (strcmp(m.name, name) != 0)
                return -EINVAL; /* a file renamed by hand */
        *ret = m;
        return 0;
}

int manifest_delete(const char *state_dir, const char *name)
{
        _cleanup_free_ char *path = NULL;
        int r;

        r = manifest_path(state_dir, name, &path);
        if (r < 0)
                return r;
        if (unlink(path) < 0)
                return -errno;
        return 0;
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

void manifest_names_free(char **names, size_t n)
{
        if (!names)
                return;
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

int manifest_list_names(const char *state_dir, char ***ret, size_t *ret_n)
{
        _cleanup_(closedirp) DIR *d = NULL;
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;

        if (!state_dir || !ret || !ret_n)
                return -EINVAL;
        d = opendir(state_dir);
        if (!d)
                return -errno;
        while ((errno = 0, de = readdir(d))) {
                size_t len = strlen(de->d_name);
                char *name, **grown;

                if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
                        continue;
                name = strndup(de->d_name, len - 5);
                if (!name)
                        goto oom;
                if (!manifest_name_valid(name)) {
                        free(name); /* temporary files of atomic_file_write etc. */
                        continue;
                }
                grown = realloc(names, (n + 1) * sizeof(*names));
                if (!grown) {
                        free(name);
                        goto oom;
                }
                names = grown;
                names[n++] = name;
        }
        if (errno != 0) {
                int e = -errno;
                manifest_names_free(names, n);
                return e;
        }
        if (n > 0)
                qsort(names, n, sizeof(*names), cmp_names);
        *ret = names;
        *ret_n = n;
        return 0;
oom:
        manifest_names_free(names, n);
        return -ENOMEM;
}
