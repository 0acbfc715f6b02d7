/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* json-c helpers shared by the attestation modules (tvam/attest, tvam/verify). */

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "tvam/shared/macro.h"

static inline void json_object_putp(json_object **p)
{
        if (*p)
                json_object_put(*p);
}
#define _cleanup_json_ _cleanup_(json_object_putp)

/*
 * Parse the JSON text TEXT of SIZE bytes (need not be NUL-terminated) as
 * json_tokener_parse_ex() does with json-c's defaults -- the same objects
 * for every input, plain documents much faster (json-util.c).  -EBADMSG if
 * json-c does not accept the text, -EFBIG above INT_MAX bytes, -ENOMEM.
 */
int json_parse(const char *text, size_t size, json_object **ret);

/* Add KEY: base64(DATA) / a string / an int.  -ENOMEM on failure. */
int json_add_b64(json_object *o, const char *key, const void *data, size_t size);
int json_add_string(json_object *o, const char *key, const char *value);
int json_add_int(json_object *o, const char *key, int value);

/* The string value of KEY, or NULL if absent or not a string. */
const char *json_get_string(json_object *o, const char *key);
/* Decode the base64 string value of KEY.  -EBADMSG if absent or invalid. */
int json_get_b64(json_object *o, const char *key, uint8_t **ret, size_t *ret_size);

/* Pretty-printed text of O (malloc'ed). */
int json_to_string(json_object *o, char **ret);
