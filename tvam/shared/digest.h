/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Hash algorithms of the TPM PCR banks TVAM uses (TPM 2.0 Part 2 §6.3
 * TPM_ALG_ID), computed in software with OpenSSL.  This is the only module
 * that talks to OpenSSL's digest API.
 */

#include <stddef.h>
#include <stdint.h>

#include "tvam/shared/macro.h"

#define DIGEST_MAX_SIZE 64u

enum digest_alg {
        DIGEST_SHA1 = 0x0004,   /* TPM_ALG_SHA1 */
        DIGEST_SHA256 = 0x000B, /* TPM_ALG_SHA256 */
        DIGEST_SHA384 = 0x000C, /* TPM_ALG_SHA384 */
        DIGEST_SHA512 = 0x000D, /* TPM_ALG_SHA512 */
};

/* Size in bytes of ALG's output, or 0 for an unknown algorithm. */
size_t digest_size(enum digest_alg alg);

/* "sha256" etc., or NULL. */
const char *digest_alg_to_string(enum digest_alg alg);
/* Parse "sha1" / "sha256" / "sha384" / "sha512".  -EINVAL otherwise. */
int digest_alg_from_string(const char *name, enum digest_alg *ret);

struct digest_ctx;

int digest_begin(enum digest_alg alg, struct digest_ctx **ret);
int digest_update(struct digest_ctx *ctx, const void *data, size_t size);
/* Writes digest_size() bytes to OUT and frees the context. */
int digest_end(struct digest_ctx *ctx, uint8_t *out);
void digest_ctx_free(struct digest_ctx *ctx);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct digest_ctx *, digest_ctx_free)

/* One-shot digest of a buffer. */
int digest_buffer(enum digest_alg alg, const void *data, size_t size, uint8_t *out);

/* Digest of everything readable from FD (streams, never loads the whole
 * file).  *ret_bytes (optional) receives the number of bytes hashed. */
int digest_fd(enum digest_alg alg, int fd, uint8_t *out, uint64_t *ret_bytes);

/*
 * A reusable hasher for hot loops (event log replay: thousands of short
 * digests per verification).  Holds an explicitly fetched algorithm and one
 * context, so each digest costs no allocation and no algorithm lookup
 * (about 3x faster than digest_buffer() for 64-byte inputs).  Not
 * thread-safe: one per thread.
 */
struct digest_hasher;

int digest_hasher_new(enum digest_alg alg, struct digest_hasher **ret);
void digest_hasher_free(struct digest_hasher *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct digest_hasher *, digest_hasher_free)
/* H(A || B) (B may be NULL/0) into OUT (digest_size() bytes). */
int digest_hasher_two(struct digest_hasher *h, const void *a, size_t a_size, const void *b, size_t b_size,
        uint8_t *out);
