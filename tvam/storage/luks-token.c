/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tvam-tpm2 LUKS2 token (docs/luks-token.md).  Everything read from a
 * header is untrusted input (STYLE.md §6): the parser accepts exactly the
 * documented schema and nothing else.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tvam/shared/log.h"
#include "tvam/storage/crypt-util.h"
#include "tvam/storage/luks-token.h"

/* LUKS2 allows 32 keyslots and 32 tokens (LUKS2 spec §3: LUKS2_KEYSLOTS_MAX,
 * LUKS2_TOKENS_MAX). */
#define LUKS2_KEYSLOTS_MAX 32
#define LUKS2_TOKENS_MAX 32

/* TPM 2.0 Part 2 §7.2 TPM_HT: NV indices are 0x01xxxxxx, persistent objects
 * 0x81xxxxxx. */
#define TPM_HT_NV_INDEX 0x01u
#define TPM_HT_PERSISTENT 0x81u

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put)
DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_tokener *, json_tokener_free)

void luks_token_done(struct luks_token *token)
{
        if (!token)
                return;
        free(token->blob);
        *token = (struct luks_token){0};
}

/* ---- base64 (RFC 4648 §4) --------------------------------------------------- */

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int luks_base64_encode(const uint8_t *data, size_t size, char **ret)
{
        char *out, *p;

        if ((!data && size > 0) || !ret || size > SIZE_MAX / 2)
                return -EINVAL;
        out = malloc((size + 2) / 3 * 4 + 1);
        if (!out)
                return -ENOMEM;
        p = out;
        for (size_t i = 0; i < size; i += 3) {
                uint32_t v = (uint32_t)data[i] << 16;
                size_t n = size - i;

                if (n > 1)
                        v |= (uint32_t)data[i + 1] << 8;
                if (n > 2)
                        v |= data[i + 2];
                *p++ = b64_alphabet[(v >> 18) & 63];
                *p++ = b64_alphabet[(v >> 12) & 63];
                *p++ = n > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
                *p++ = n > 2 ? b64_alphabet[v & 63] : '=';
        }
        *p = '\0';
        *ret = out;
        return 0;
}

static int b64_value(char c)
{
        const char *p;

        if (c == '\0')
                return -1;
        p = strchr(b64_alphabet, c);
        return p ? (int)(p - b64_alphabet) : -1;
}

int luks_base64_decode(const char *text, size_t len, uint8_t **ret, size_t *ret_size)
{
        _cleanup_free_ uint8_t *out = NULL;
        size_t n = 0, pad = 0;

        if (!text || !ret || !ret_size)
                return -EINVAL;
        /* Canonical form only: whole quanta, at most two '=' at the end. */
        if (len == 0 || len % 4 != 0)
                return -EBADMSG;
        if (text[len - 1] == '=')
                pad++;
        if (text[len - 2] == '=')
                pad++;
        out = malloc(len / 4 * 3);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i += 4) {
                bool last = i + 4 == len;
                int v[4];
                uint32_t x;

                for (size_t j = 0; j < 4; j++) {
                        if (last && j >= 4 - pad) {
                                v[j] = 0;
                                continue;
                        }
                        v[j] = b64_value(text[i + j]);
                        if (v[j] < 0)
                                return -EBADMSG;
                }
                x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
                /* Unused bits before the padding must be zero (RFC 4648
                 * §3.5), so every blob has exactly one encoding. */
                if (last && pad == 2 && (x & 0xffff) != 0)
                        return -EBADMSG;
                if (last && pad == 1 && (x & 0xff) != 0)
                        return -EBADMSG;
                out[n++] = (uint8_t)(x >> 16);
                if (!last || pad < 2)
                        out[n++] = (uint8_t)(x >> 8);
                if (!last || pad < 1)
                        out[n++] = (uint8_t)x;
        }
        *ret = TAKE_PTR(out);
        *ret_size = n;
        return 0;
}

/* ---- schema ------------------------------------------------------------------ */

/* A JSON string without embedded NULs (json-c allows "\u0000"). */
static const char *json_cstring(json_object *o)
{
        const char *s;

        if (!json_object_is_type(o, json_type_string))
                return NULL;
        s = json_object_get_string(o);
        if (strlen(s) != (size_t)json_object_get_string_len(o))
                return NULL;
        return s;
}

static bool nv_index_valid(uint32_t h)
{
        return h == 0 || (h >> 24) == TPM_HT_NV_INDEX;
}

static bool srk_handle_valid(uint32_t h)
{
        return (h >> 24) == TPM_HT_PERSISTENT;
}

int luks_token_validate(const struct luks_token *t)
{
        if (!t)
                return -EINVAL;
        if (t->keyslot < 0 || t->keyslot >= LUKS2_KEYSLOTS_MAX)
                return -EINVAL;
        if (!t->blob || t->blob_size == 0 || t->blob_size > LUKS_TOKEN_BLOB_MAX)
                return -EINVAL;
        if (!digest_alg_to_string(t->pcr_bank))
                return -EINVAL;
        if (t->pcr_mask >> LUKS_TOKEN_PCR_MAX)
                return -EINVAL;
        if (!nv_index_valid(t->policy_nv_index) || !srk_handle_valid(t->srk_handle))
                return -EINVAL;
        return 0;
}

/* "0x" followed by exactly 8 hex digits, as we write handles. */
static int parse_handle(json_object *o, uint32_t *ret)
{
        const char *s;
        char *end;
        unsigned long v;

        if (!json_object_is_type(o, json_type_string))
                return -EINVAL;
        s = json_object_get_string(o);
        if (json_object_get_string_len(o) != 10 || s[0] != '0' || s[1] != 'x')
                return -EINVAL;
        for (size_t i = 2; i < 10; i++)
                if (!strchr("0123456789abcdefABCDEF", s[i]) || s[i] == '\0')
                        return -EINVAL;
        errno = 0;
        v = strtoul(s + 2, &end, 16);
        if (errno != 0 || *end != '\0' || v > UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t)v;
        return 0;
}

/* A keyslot reference: a decimal string "0".."31" without sign or leading
 * zeros (LUKS2 spec §3.5: keyslots are referenced by their string id). */
static int parse_keyslot_ref(json_object *o, int *ret)
{
        const char *s;
        int len, v = 0;

        if (!json_object_is_type(o, json_type_string))
                return -EINVAL;
        s = json_object_get_string(o);
        len = json_object_get_string_len(o);
        if (len < 1 || len > 2 || (len == 2 && s[0] == '0'))
                return -EINVAL;
        for (int i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (s[i] - '0');
        }
        if (v >= LUKS2_KEYSLOTS_MAX)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_keyslots(json_object *o, int *ret)
{
        /* A tvam-tpm2 token unlocks exactly one keyslot. */
        if (!json_object_is_type(o, json_type_array) || json_object_array_length(o) != 1)
                return -EINVAL;
        return parse_keyslot_ref(json_object_array_get_idx(o, 0), ret);
}

static int parse_pcrs(json_object *o, uint32_t *ret)
{
        uint32_t mask = 0;
        size_t n;

        if (!json_object_is_type(o, json_type_array))
                return -EINVAL;
        n = json_object_array_length(o);
        if (n > LUKS_TOKEN_PCR_MAX)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(o, i);
                int64_t v;

                if (!json_object_is_type(e, json_type_int))
                        return -EINVAL;
                v = json_object_get_int64(e);
                if (v < 0 || v >= (int64_t)LUKS_TOKEN_PCR_MAX || (mask & (UINT32_C(1) << v)))
                        return -EINVAL; /* out of range or listed twice */
                mask |= UINT32_C(1) << v;
        }
        *ret = mask;
        return 0;
}

static int parse_version(json_object *o)
{
        if (!json_object_is_type(o, json_type_int))
                return -EINVAL;
        if (json_object_get_int64(o) != LUKS_TOKEN_VERSION)
                return -EPROTONOSUPPORT;
        return 0;
}

static int parse_blob(json_object *o, uint8_t **ret, size_t *ret_size)
{
        _cleanup_free_ uint8_t *blob = NULL;
        size_t len, size;
        int r;

        if (!json_object_is_type(o, json_type_string))
                return -EINVAL;
        len = (size_t)json_object_get_string_len(o);
        if (len == 0 || len > (LUKS_TOKEN_BLOB_MAX + 2) / 3 * 4)
                return -EINVAL;
        r = luks_base64_decode(json_object_get_string(o), len, &blob, &size);
        if (r < 0)
                return r;
        if (size == 0 || size > LUKS_TOKEN_BLOB_MAX)
                return -EINVAL;
        *ret = TAKE_PTR(blob);
        *ret_size = size;
        return 0;
}

static int parse_bank(json_object *o, enum digest_alg *ret)
{
        const char *s = json_cstring(o);

        if (!s)
                return -EINVAL;
        return digest_alg_from_string(s, ret) < 0 ? -EINVAL : 0;
}

static const char *const token_fields[] = {
        "type",
        "keyslots",
        "tvam-version",
        "tpm2-blob",
        "tpm2-pcr-bank",
        "tpm2-pcrs",
        "tpm2-policy-nv-index",
        "tpm2-srk-handle",
};

static int parse_object(json_object *root, struct luks_token *t)
{
        const char *type;
        json_object *o;
        int r;

        if (!json_object_is_type(root, json_type_object))
                return -EBADMSG;

        /* Unknown fields are refused: a version-1 token has exactly these. */
        json_object_object_foreach(root, key, val)
        {
                bool known = false;

                (void)val;
                for (size_t i = 0; i < ELEMENTSOF(token_fields); i++)
                        known = known || strcmp(key, token_fields[i]) == 0;
                if (!known)
                        return -EINVAL;
        }

        if (!json_object_object_get_ex(root, "type", &o))
                return -EINVAL;
        type = json_cstring(o);
        if (!type || strcmp(type, LUKS_TOKEN_TYPE) != 0)
                return -EINVAL;
        /* The version first: a newer token gets -EPROTONOSUPPORT, not a
         * complaint about a field it may have renamed. */
        if (!json_object_object_get_ex(root, "tvam-version", &o))
                return -EINVAL;
        r = parse_version(o);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(root, "keyslots", &o))
                return -EINVAL;
        r = parse_keyslots(o, &t->keyslot);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(root, "tpm2-pcr-bank", &o))
                return -EINVAL;
        r = parse_bank(o, &t->pcr_bank);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(root, "tpm2-pcrs", &o))
                return -EINVAL;
        r = parse_pcrs(o, &t->pcr_mask);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(root, "tpm2-srk-handle", &o))
                return -EINVAL;
        r = parse_handle(o, &t->srk_handle);
        if (r < 0)
                return r;
        t->policy_nv_index = 0; /* optional */
        if (json_object_object_get_ex(root, "tpm2-policy-nv-index", &o)) {
                r = parse_handle(o, &t->policy_nv_index);
                if (r < 0)
                        return r;
                if (t->policy_nv_index == 0)
                        return -EINVAL;
        }
        if (!json_object_object_get_ex(root, "tpm2-blob", &o))
                return -EINVAL;
        r = parse_blob(o, &t->blob, &t->blob_size);
        if (r < 0)
                return r;
        /* Ranges (handle types) are checked in one place. */
        return luks_token_validate(t);
}

int luks_token_parse(const char *json, size_t size, struct luks_token *ret)
{
        _cleanup_(json_tokener_freep) struct json_tokener *tok = NULL;
        _cleanup_(json_object_putp) json_object *root = NULL;
        struct luks_token t = {0};
        size_t end;
        int r;

        if (!json || !ret)
                return -EINVAL;
        if (size > LUKS_TOKEN_JSON_MAX)
                return -E2BIG;
        /* JSON text has no NUL; json-c would stop at one silently. */
        if (size == 0 || memchr(json, '\0', size))
                return -EBADMSG;

        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        /* RFC 8259 only: no comments, single quotes or other extensions. */
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        root = json_tokener_parse_ex(tok, json, (int)size);
        if (!root || json_tokener_get_error(tok) != json_tokener_success)
                return -EBADMSG;
        /* Nothing but whitespace after the object. */
        end = json_tokener_get_parse_end(tok);
        for (; end < size; end++)
                if (!strchr(" \t\r\n", json[end]))
                        return -EBADMSG;

        r = parse_object(root, &t);
        if (r < 0) {
                luks_token_done(&t);
                return r;
        }
        *ret = t;
        return 0;
}

int luks_token_format(const struct luks_token *t, char **ret_json)
{
        _cleanup_(json_object_putp) json_object *root = NULL;
        _cleanup_free_ char *b64 = NULL;
        json_object *slots, *pcrs;
        char num[16], handle[16];
        const char *text;
        char *copy;
        int r;

        if (!ret_json)
                return -EINVAL;
        r = luks_token_validate(t);
        if (r < 0)
                return r;
        r = luks_base64_encode(t->blob, t->blob_size, &b64);
        if (r < 0)
                return r;

        root = json_object_new_object();
        slots = json_object_new_array();
        pcrs = json_object_new_array();
        if (!root || !slots || !pcrs) {
                json_object_put(slots);
                json_object_put(pcrs);
                return -ENOMEM;
        }
        snprintf(num, sizeof(num), "%d", t->keyslot);
        json_object_array_add(slots, json_object_new_string(num));
        for (unsigned i = 0; i < LUKS_TOKEN_PCR_MAX; i++)
                if (t->pcr_mask & (UINT32_C(1) << i))
                        json_object_array_add(pcrs, json_object_new_int((int)i));

        json_object_object_add(root, "type", json_object_new_string(LUKS_TOKEN_TYPE));
        json_object_object_add(root, "keyslots", slots);
        json_object_object_add(root, "tvam-version", json_object_new_int(LUKS_TOKEN_VERSION));
        json_object_object_add(root, "tpm2-blob", json_object_new_string(b64));
        json_object_object_add(
                root, "tpm2-pcr-bank", json_object_new_string(digest_alg_to_string(t->pcr_bank)));
        json_object_object_add(root, "tpm2-pcrs", pcrs);
        if (t->policy_nv_index != 0) {
                snprintf(handle, sizeof(handle), "0x%08x", (unsigned)t->policy_nv_index);
                json_object_object_add(root, "tpm2-policy-nv-index", json_object_new_string(handle));
        }
        snprintf(handle, sizeof(handle), "0x%08x", (unsigned)t->srk_handle);
        json_object_object_add(root, "tpm2-srk-handle", json_object_new_string(handle));

        text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text)
                return -ENOMEM;
        copy = strdup(text);
        if (!copy)
                return -ENOMEM;
        *ret_json = copy;
        return 0;
}

/* ---- on disk ------------------------------------------------------------------ */

/* Token number of the tvam-tpm2 token, or -ENOENT. */
static int find_token(struct crypt_device *cd)
{
        for (int i = 0; i < LUKS2_TOKENS_MAX; i++) {
                const char *type = NULL;
                crypt_token_info info = crypt_token_status(cd, i, &type);

                if (info == CRYPT_TOKEN_INVALID || info == CRYPT_TOKEN_INACTIVE)
                        continue;
                if (type && strcmp(type, LUKS_TOKEN_TYPE) == 0)
                        return i;
        }
        return -ENOENT;
}

int luks_token_read_cd(struct crypt_device *cd, struct luks_token *ret, int *ret_id)
{
        struct luks_token t = {0};
        const char *json = NULL;
        int id, r;

        if (!cd || !ret)
                return -EINVAL;
        id = find_token(cd);
        if (id < 0)
                return id;
        r = crypt_token_json_get(cd, id, &json);
        if (r < 0)
                return r;
        r = luks_token_parse(json, strlen(json), &t);
        if (r < 0)
                return r;
        *ret = t;
        if (ret_id)
                *ret_id = id;
        return 0;
}

int luks_token_read(const char *path, struct luks_token *ret)
{
        _cleanup_crypt_free_ struct crypt_device *cd = NULL;
        int r;

        if (!path || !ret)
                return -EINVAL;
        r = cryptutil_load_luks2(path, &cd);
        if (r < 0)
                return r;
        return luks_token_read_cd(cd, ret, NULL);
}

/* Only called with a validated token. */
static int write_token(struct crypt_device *cd, const struct luks_token *t)
{
        _cleanup_free_ char *json = NULL;
        crypt_keyslot_info ks;
        int id, r;

        ks = crypt_keyslot_status(cd, t->keyslot);
        if (ks != CRYPT_SLOT_ACTIVE && ks != CRYPT_SLOT_ACTIVE_LAST)
                return -ENOENT; /* the token would point at nothing */
        r = luks_token_format(t, &json);
        if (r < 0)
                return r;
        id = find_token(cd);
        /* crypt_token_json_set() replaces the JSON of an existing token
         * number in one header commit (both header copies are rewritten,
         * LUKS2 spec §2.1), so the volume never has two of ours. */
        r = crypt_token_json_set(cd, id >= 0 ? id : CRYPT_ANY_TOKEN, json);
        return r < 0 ? r : 0;
}

int luks_token_write_cd(struct crypt_device *cd, const struct luks_token *t)
{
        int r = luks_token_validate(t);

        if (r < 0)
                return r;
        return write_token(cd, t);
}

int luks_token_write(const char *path, const struct luks_token *t)
{
        _cleanup_crypt_free_ struct crypt_device *cd = NULL;
        int r;

        if (!path)
                return -EINVAL;
        r = luks_token_validate(t);
        if (r < 0)
                return r;
        r = cryptutil_load_luks2(path, &cd);
        if (r < 0)
                return r;
        return write_token(cd, t);
}

int luks_token_write_json(const char *path, const char *json, size_t size)
{
        struct luks_token t = {0};
        int r;

        if (!path || !json)
                return -EINVAL;
        r = luks_token_parse(json, size, &t);
        if (r < 0)
                return r;
        r = luks_token_write(path, &t);
        luks_token_done(&t);
        return r;
}
