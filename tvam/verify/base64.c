/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/verify/base64.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tvam/shared/macro.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_encode(const void *data, size_t size, char **ret)
{
        const uint8_t *p = data;
        char *out, *o;

        assert(data || size == 0);
        assert(ret);
        if (size > (SIZE_MAX - 1) / 4 * 3 - 3)
                return -EFBIG;
        out = malloc((size + 2) / 3 * 4 + 1);
        if (!out)
                return -ENOMEM;
        o = out;
        for (size_t i = 0; i < size; i += 3) {
                uint32_t v = (uint32_t)p[i] << 16;
                if (i + 1 < size)
                        v |= (uint32_t)p[i + 1] << 8;
                if (i + 2 < size)
                        v |= p[i + 2];
                *o++ = alphabet[v >> 18];
                *o++ = alphabet[(v >> 12) & 63];
                *o++ = i + 1 < size ? alphabet[(v >> 6) & 63] : '=';
                *o++ = i + 2 < size ? alphabet[v & 63] : '=';
        }
        *o = 0;
        *ret = out;
        return 0;
}

/* Reverse alphabet: -1 outside it. */
static const signed char reverse[256] = {
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
        52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
        -1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
        15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
        -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
        41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

int base64_decode(const char *text, uint8_t **ret, size_t *ret_size)
{
        _cleanup_free_ uint8_t *out = NULL;
        size_t len, n = 0;

        assert(text && ret && ret_size);
        len = strlen(text);
        if (len % 4 != 0)
                return -EINVAL;
        out = malloc(len / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i += 4) {
                const unsigned char *q = (const unsigned char *)text + i;
                int a = reverse[q[0]], b = reverse[q[1]], c = reverse[q[2]], d = reverse[q[3]];
                uint32_t v;

                if (i + 4 < len || (c >= 0 && d >= 0)) {
                        /* the common case: four alphabet characters */
                        if ((a | b | c | d) < 0)
                                return -EINVAL;
                        v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
                        out[n++] = (uint8_t)(v >> 16);
                        out[n++] = (uint8_t)(v >> 8);
                        out[n++] = (uint8_t)v;
                        continue;
                }
                /* the last quantum with padding (RFC 4648 §4), canonical bits only */
                if ((a | b) < 0)
                        return -EINVAL;
                if (q[2] == '=' && q[3] == '=') {
                        if (b & 15)
                                return -EINVAL;
                        out[n++] = (uint8_t)(a << 2 | b >> 4);
                } else if (c >= 0 && q[3] == '=') {
                        if (c & 3)
                                return -EINVAL;
                        v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
                        out[n++] = (uint8_t)(v >> 16);
                        out[n++] = (uint8_t)(v >> 8);
                } else
                        return -EINVAL;
        }
        *ret = TAKE_PTR(out);
        *ret_size = n;
        return 0;
}
