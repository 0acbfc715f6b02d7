/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/verify/json-util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tvam/verify/base64.h"

int json_add_b64(json_object *o, const char *key, const void *data, size_t size)
{
        _cleanup_free_ char *s = NULL;
        int r = base64_encode(data, size, &s);
        if (r < 0)
                return r;
        return json_add_string(o, key, s);
}

int json_add_string(json_object *o, const char *key, const char *value)
{
        json_object *v = json_object_new_string(value);
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int json_add_int(json_object *o, const char *key, int value)
{
        json_object *v = json_object_new_int(value);
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

const char *json_get_string(json_object *o, const char *key)
{
        json_object *v;
        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

int json_get_b64(json_object *o, const char *key, uint8_t **ret, size_t *ret_size)
{
        const char *s = json_get_string(o, key);
        size_t len;
        int r;

        if (!s)
                return -EBADMSG;
        /* The length json-c knows spares a strlen() of the ~240 KB log. */
        len = (size_t)json_object_get_string_len(json_object_object_get(o, key));
        r = base64_decode_n(s, len, ret, ret_size);
        /* The value is the C string, up to a NUL that a "\u0000" escape put
         * in (which base64_decode_n() refuses): decode that prefix, as ever. */
        if (r == -EINVAL && memchr(s, 0, len))
                r = base64_decode(s, ret, ret_size);
        return r < 0 ? -EBADMSG : 0;
}

int json_to_string(json_object *o, char **ret)
{
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}
