/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/shared/digest.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "tvam/shared/fileio.h"
#include "tvam/shared/macro.h"

struct digest_ctx {
        EVP_MD_CTX *md;
        enum digest_alg alg;
};

static const EVP_MD *alg_to_evp(enum digest_alg alg)
{
        switch (alg) {
        case DIGEST_SHA1:
                return EVP_sha1();
        case DIGEST_SHA256:
                return EVP_sha256();
        case DIGEST_SHA384:
                return EVP_sha384();
        case DIGEST_SHA512:
                return EVP_sha512();
        }
        return NULL;
}

size_t digest_size(enum digest_alg alg)
{
        switch (alg) {
        case DIGEST_SHA1:
                return 20;
        case DIGEST_SHA256:
                return 32;
        case DIGEST_SHA384:
                return 48;
        case DIGEST_SHA512:
                return 64;
        }
        return 0;
}

static const struct {
        enum digest_alg alg;
        const char *name;
} alg_names[] = {
        { DIGEST_SHA1, "sha1" },
        { DIGEST_SHA256, "sha256" },
        { DIGEST_SHA384, "sha384" },
        { DIGEST_SHA512, "sha512" },
};

const char *digest_alg_to_string(enum digest_alg alg)
{
        for (size_t i = 0; i < ELEMENTSOF(alg_names); i++)
                if (alg_names[i].alg == alg)
                        return alg_names[i].name;
        return NULL;
}

int digest_alg_from_string(const char *name, enum digest_alg *ret)
{
        assert(name && ret);
        for (size_t i = 0; i < ELEMENTSOF(alg_names); i++)
                if (strcmp(alg_names[i].name, name) == 0) {
                        *ret = alg_names[i].alg;
                        return 0;
                }
        return -EINVAL;
}

void digest_ctx_free(struct digest_ctx *ctx)
{
        if (!ctx)
                return;
        EVP_MD_CTX_free(ctx->md);
        free(ctx);
}

int digest_begin(enum digest_alg alg, struct digest_ctx **ret)
{
        _cleanup_(digest_ctx_freep) struct digest_ctx *ctx = NULL;
        const EVP_MD *md = alg_to_evp(alg);

        assert(ret);
        if (!md)
                return -EOPNOTSUPP;

        ctx = calloc(1, sizeof(*ctx));
        if (!ctx)
                return -ENOMEM;
        ctx->alg = alg;
        ctx->md = EVP_MD_CTX_new();
        if (!ctx->md)
                return -ENOMEM;
        if (EVP_DigestInit_ex(ctx->md, md, NULL) != 1)
                return -EIO;

        *ret = TAKE_PTR(ctx);
        return 0;
}

int digest_update(struct digest_ctx *ctx, const void *data, size_t size)
{
        assert(ctx);
        assert(data || size == 0);
        if (EVP_DigestUpdate(ctx->md, data, size) != 1)
                return -EIO;
        return 0;
}

int digest_end(struct digest_ctx *ctx, uint8_t *out)
{
        unsigned len = 0;
        int r = 0;

        assert(ctx && out);
        if (EVP_DigestFinal_ex(ctx->md, out, &len) != 1 || len != digest_size(ctx->alg))
                r = -EIO;
        digest_ctx_free(ctx);
        return r;
}

int digest_buffer(enum digest_alg alg, const void *data, size_t size, uint8_t *out)
{
        struct digest_ctx *ctx = NULL;
        int r;

        r = digest_begin(alg, &ctx);
        if (r < 0)
                return r;
        r = digest_update(ctx, data, size);
        if (r < 0) {
                digest_ctx_free(ctx);
                return r;
        }
        return digest_end(ctx, out);
}

int digest_fd(enum digest_alg alg, int fd, uint8_t *out, uint64_t *ret_bytes)
{
        enum { CHUNK = 1024 * 1024 };
        _cleanup_(digest_ctx_freep) struct digest_ctx *ctx = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        uint64_t total = 0;
        int r;

        assert(fd >= 0 && out);

        buf = malloc(CHUNK);
        if (!buf)
                return -ENOMEM;
        r = digest_begin(alg, &ctx);
        if (r < 0)
                return r;

        for (;;) {
                ssize_t n = loop_read(fd, buf, CHUNK);
                if (n < 0)
                        return (int)n;
                if (n == 0)
                        break;
                r = digest_update(ctx, buf, (size_t)n);
                if (r < 0)
                        return r;
                total += (uint64_t)n;
        }

        r = digest_end(TAKE_PTR(ctx), out);
        if (r < 0)
                return r;
        if (ret_bytes)
                *ret_bytes = total;
        return 0;
}

struct digest_hasher {
        EVP_MD *md;
        EVP_MD_CTX *ctx;
        enum digest_alg alg;
};

void digest_hasher_free(struct digest_hasher *h)
{
        if (!h)
                return;
        EVP_MD_CTX_free(h->ctx);
        EVP_MD_free(h->md);
        free(h);
}

int digest_hasher_new(enum digest_alg alg, struct digest_hasher **ret)
{
        _cleanup_(digest_hasher_freep) struct digest_hasher *h = NULL;
        const char *name = digest_alg_to_string(alg);

        assert(ret);
        if (!name)
                return -EOPNOTSUPP;
        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->alg = alg;
        /* An explicit fetch (OpenSSL 3 "algorithm fetching"): the implicit
         * one behind EVP_sha256() is repeated, with locking, on every init. */
        h->md = EVP_MD_fetch(NULL, name, NULL);
        h->ctx = EVP_MD_CTX_new();
        if (!h->md || !h->ctx)
                return -ENOMEM;
        *ret = TAKE_PTR(h);
        return 0;
}

int digest_hasher_two(struct digest_hasher *h, const void *a, size_t a_size, const void *b, size_t b_size,
        uint8_t *out)
{
        unsigned len = 0;

        assert(h && (a || a_size == 0) && (b || b_size == 0) && out);
        if (EVP_DigestInit_ex2(h->ctx, h->md, NULL) != 1 || EVP_DigestUpdate(h->ctx, a, a_size) != 1 ||
                (b_size && EVP_DigestUpdate(h->ctx, b, b_size) != 1) || EVP_DigestFinal_ex(h->ctx, out, &len) != 1 ||
                len != digest_size(h->alg))
                return -EIO;
        return 0;
}
