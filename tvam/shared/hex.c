/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/shared/hex.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tvam/shared/macro.h"

static int hex_digit(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

int hex_encode(const void *data, size_t size, char **ret)
{
        static const char digits[] = "0123456789abcdef";
        const uint8_t *bytes = data;
        char *text;

        assert(data || size == 0);
        assert(ret);

        text = malloc(size * 2 + 1);
        if (!text)
                return -ENOMEM;
        for (size_t i = 0; i < size; i++) {
                text[2 * i] = digits[bytes[i] >> 4];
                text[2 * i + 1] = digits[bytes[i] & 0xf];
        }
        text[size * 2] = '\0';

        *ret = text;
        return 0;
}

static int decode_into(const char *text, size_t len, uint8_t *out)
{
        for (size_t i = 0; i < len / 2; i++) {
                int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                out[i] = (uint8_t)(hi << 4 | lo);
        }
        return 0;
}

int hex_decode(const char *text, uint8_t **ret, size_t *ret_size)
{
        _cleanup_free_ uint8_t *out = NULL;
        size_t len;
        int r;

        assert(text && ret && ret_size);

        len = strlen(text);
        if (len % 2 != 0)
                return -EINVAL;
        out = malloc(len / 2 + 1); /* +1: malloc(0) may return NULL */
        if (!out)
                return -ENOMEM;
        r = decode_into(text, len, out);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(out);
        *ret_size = len / 2;
        return 0;
}

int hex_decode_exact(const char *text, void *buf, size_t size)
{
        _cleanup_free_ uint8_t *tmp = NULL;
        size_t len;
        int r;

        assert(text && buf);

        len = strlen(text);
        if (len != size * 2)
                return -EINVAL;
        tmp = malloc(size + 1);
        if (!tmp)
                return -ENOMEM;
        r = decode_into(text, len, tmp);
        if (r < 0)
                return r;
        memcpy(buf, tmp, size);
        return 0;
}
