/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/shared/secret.h"

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

int secret_new(size_t size, struct secret **ret)
{
        struct secret *s;

        assert(ret);
        if (size == 0 || size > SECRET_SIZE_MAX)
                return -EINVAL;

        s = calloc(1, sizeof(*s) + size);
        if (!s)
                return -ENOMEM;
        s->size = size;

        /* Best effort: mlock() fails under a tight RLIMIT_MEMLOCK; the
         * secret is still wiped on free, so this is not fatal. */
        (void)mlock(s, sizeof(*s) + size);

        *ret = s;
        return 0;
}

int secret_new_random(size_t size, struct secret **ret)
{
        _cleanup_secret_ struct secret *s = NULL;
        size_t done = 0;
        int r;

        r = secret_new(size, &s);
        if (r < 0)
                return r;

        while (done < size) {
                ssize_t n = getrandom(s->data + done, size - done, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                done += (size_t)n;
        }

        *ret = TAKE_PTR(s);
        return 0;
}

int secret_new_from(const void *data, size_t size, struct secret **ret)
{
        _cleanup_secret_ struct secret *s = NULL;
        int r;

        assert(data || size == 0);
        r = secret_new(size, &s);
        if (r < 0)
                return r;
        memcpy(s->data, data, size);

        *ret = TAKE_PTR(s);
        return 0;
}

int secret_equal(const struct secret *a, const struct secret *b)
{
        uint8_t diff = 0;

        assert(a && b);
        if (a->size != b->size)
                return 0;
        for (size_t i = 0; i < a->size; i++)
                diff |= a->data[i] ^ b->data[i];
        return diff == 0;
}

void secret_free(struct secret *s)
{
        size_t total;

        if (!s)
                return;
        total = sizeof(*s) + s->size;
        explicit_bzero(s, total);
        (void)munlock(s, total);
        free(s);
}

void erase_and_free(void *p, size_t size)
{
        if (!p)
                return;
        explicit_bzero(p, size);
        free(p);
}
