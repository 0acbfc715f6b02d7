/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/verify/json-util.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
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

/* ---- parsing: a fast path for plain JSON, json-c's tokenizer for the rest ---- */

/*
 * json-c's tokenizer steps its state machine once per character, ~1 ns a
 * byte here: a quarter of a verification for evidence whose event log is a
 * ~240 KB base64 string.  This parser takes the plain JSON that
 * attest_evidence_create() (json-c's printer) and other writers produce:
 * objects, arrays, strings of printable ASCII without escapes (scanned 32
 * bytes at a time), integers of up to 18 digits, true/false/null, and
 * " \t\n\r" between tokens.  It builds the objects with json-c's own
 * constructors and json_object_object_add() (so a repeated key replaces the
 * value in place, as in the tokenizer).  Anything else -- an escape, another
 * byte, a fraction or exponent, a comment, single quotes, trailing text,
 * nesting deeper than FAST_DEPTH_MAX, a failed allocation -- makes it give
 * up, and json-c's tokenizer parses the whole text: the result is the
 * tokenizer's for every input.
 */

#define FAST_DEPTH_MAX 16u
/* 16 bytes as a GCC/clang generic vector: SSE2 on x86-64, NEON on arm64. */
typedef uint8_t bytes16 __attribute__((vector_size(16)));

struct fast {
        const char *p, *end;
};

static void fast_ws(struct fast *f)
{
        while (f->p < f->end && (*f->p == ' ' || *f->p == '\n' || *f->p == '\r' || *f->p == '\t'))
                f->p++;
}

static bool fast_take(struct fast *f, char c)
{
        if (f->p == f->end || *f->p != c)
                return false;
        f->p++;
        return true;
}

/* The number of bytes at P, up to N, in 0x20..0x7e other than '"' and '\\'. */
static size_t plain_run(const char *p, size_t n)
{
        size_t i = 0;

        /* 32 bytes a step: a byte is out when (byte - 0x20) > 0x5e
         * (unsigned), or is a quote or a backslash. */
        for (; n - i >= 32; i += 32) {
                bytes16 a, b, out;
                uint64_t w[2];

                memcpy(&a, p + i, 16);
                memcpy(&b, p + i + 16, 16);
                out = (bytes16)((bytes16)(a - 0x20) > 0x5e) | (bytes16)(a == '"') | (bytes16)(a == '\\') |
                        (bytes16)((bytes16)(b - 0x20) > 0x5e) | (bytes16)(b == '"') | (bytes16)(b == '\\');
                memcpy(w, &out, 16);
                if (w[0] | w[1])
                        break;
        }
        for (; i < n; i++) {
                unsigned char c = (unsigned char)p[i];
                if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
                        break;
        }
        return i;
}

/* A string without escapes: its bytes (between the quotes) in *RET. */
static bool fast_string(struct fast *f, const char **ret, size_t *ret_size)
{
        size_t n;

        if (!fast_take(f, '"'))
                return false;
        n = plain_run(f->p, (size_t)(f->end - f->p));
        if (n == (size_t)(f->end - f->p) || f->p[n] != '"')
                return false;
        *ret = f->p;
        *ret_size = n;
        f->p += n + 1;
        return true;
}

/* -?(0|[1-9][0-9]*), at most 18 digits (an int64 without overflow). */
static int fast_number(struct fast *f, json_object **ret)
{
        bool negative = fast_take(f, '-');
        int64_t v = 0;
        unsigned digits = 0;

        while (f->p < f->end && *f->p >= '0' && *f->p <= '9' && digits < 18) {
                if (digits == 1 && v == 0)
                        return -EBADMSG; /* a leading zero */
                v = v * 10 + (*f->p++ - '0');
                digits++;
        }
        /* "-0" is json-c's to decide; more digits, '.', 'e' fail the caller */
        if (digits == 0 || (negative && v == 0))
                return -EBADMSG;
        *ret = json_object_new_int64(negative ? -v : v);
        return *ret ? 0 : -ENOMEM;
}

static bool fast_literal(struct fast *f, const char *word)
{
        size_t n = strlen(word);

        if ((size_t)(f->end - f->p) < n || memcmp(f->p, word, n) != 0)
                return false;
        f->p += n;
        return true;
}

static int fast_value(struct fast *f, unsigned depth, json_object **ret);

static int fast_object(struct fast *f, unsigned depth, json_object **ret)
{
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        fast_ws(f);
        if (fast_take(f, '}')) {
                *ret = TAKE_PTR(o);
                return 0;
        }
        for (;;) {
                _cleanup_free_ char *long_key = NULL;
                json_object *v = NULL;
                char short_key[128], *key = short_key;
                const char *k;
                size_t k_size;
                int r;

                if (!fast_string(f, &k, &k_size))
                        return -EBADMSG;
                /* json-c copies the key: it only needs a terminating NUL */
                if (k_size >= sizeof(short_key))
                        key = long_key = strndup(k, k_size);
                if (!key)
                        return -ENOMEM;
                if (key == short_key) {
                        memcpy(short_key, k, k_size);
                        short_key[k_size] = 0;
                }
                fast_ws(f);
                if (!fast_take(f, ':'))
                        return -EBADMSG;
                fast_ws(f);
                r = fast_value(f, depth + 1, &v);
                if (r < 0)
                        return r;
                if (json_object_object_add(o, key, v) < 0) {
                        json_object_put(v);
                        return -ENOMEM;
                }
                fast_ws(f);
                if (fast_take(f, '}')) {
                        *ret = TAKE_PTR(o);
                        return 0;
                }
                if (!fast_take(f, ','))
                        return -EBADMSG;
                fast_ws(f);
        }
}

static int fast_array(struct fast *f, unsigned depth, json_object **ret)
{
        _cleanup_json_ json_object *a = json_object_new_array();

        if (!a)
                return -ENOMEM;
        fast_ws(f);
        if (fast_take(f, ']')) {
                *ret = TAKE_PTR(a);
                return 0;
        }
        for (;;) {
                json_object *v = NULL;
                int r = fast_value(f, depth + 1, &v);

                if (r < 0)
                        return r;
                if (json_object_array_add(a, v) < 0) {
                        json_object_put(v);
                        return -ENOMEM;
                }
                fast_ws(f);
                if (fast_take(f, ']')) {
                        *ret = TAKE_PTR(a);
                        return 0;
                }
                if (!fast_take(f, ','))
                        return -EBADMSG;
                fast_ws(f);
        }
}

/* One value at F->p into *RET (NULL for null).  Negative: give up. */
static int fast_value(struct fast *f, unsigned depth, json_object **ret)
{
        const char *s;
        size_t n;

        if (depth > FAST_DEPTH_MAX || f->p == f->end)
                return -EBADMSG;
        switch (*f->p) {
        case '{':
                f->p++;
                return fast_object(f, depth, ret);
        case '[':
                f->p++;
                return fast_array(f, depth, ret);
        case '"':
                if (!fast_string(f, &s, &n))
                        return -EBADMSG;
                *ret = json_object_new_string_len(s, (int)n);
                return *ret ? 0 : -ENOMEM;
        case 't':
        case 'f': {
                bool value = *f->p == 't';
                if (!fast_literal(f, value ? "true" : "false"))
                        return -EBADMSG;
                *ret = json_object_new_boolean(value);
                return *ret ? 0 : -ENOMEM;
        }
        case 'n':
                if (!fast_literal(f, "null"))
                        return -EBADMSG;
                *ret = NULL;
                return 0;
        default:
                return fast_number(f, ret);
        }
}

int json_parse(const char *text, size_t size, json_object **ret)
{
        struct fast f = { .p = text, .end = text + size };
        json_object *o = NULL;
        json_tokener *tok;

        assert((text || size == 0) && ret);
        if (size > INT_MAX)
                return -EFBIG;
        fast_ws(&f);
        if (f.p < f.end && *f.p == '{' && fast_value(&f, 0, &o) == 0) {
                fast_ws(&f);
                if (f.p == f.end) {
                        *ret = o;
                        return 0;
                }
                json_object_put(o); /* trailing text: json-c's to judge */
        }

        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, text, (int)size);
        json_tokener_free(tok);
        if (!o)
                return -EBADMSG;
        *ret = o;
        return 0;
}
