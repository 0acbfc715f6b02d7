/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Secrets (sealed keys, volume passphrases, admin authorization values).
 *
 * A secret lives in its own allocation, is locked into RAM where the kernel
 * allows it (so it is never written to swap), and is wiped with
 * explicit_bzero() before the memory is returned.  Use _cleanup_secret_ so
 * every exit path wipes it.
 */

#include <stddef.h>
#include <stdint.h>

#include "tvam/shared/macro.h"

/* The largest secret TVAM handles: a TPM2B_SENSITIVE_DATA is at most 128
 * bytes; we cap at 4 KiB so a corrupt length can never cause a huge lock. */
#define SECRET_SIZE_MAX 4096u

struct secret {
        size_t size;
        uint8_t data[];
};

/* Allocate a zeroed, memory-locked secret of SIZE bytes (1..SECRET_SIZE_MAX).
 * Returns 0 or -EINVAL / -ENOMEM. */
int secret_new(size_t size, struct secret **ret);

/* Allocate and fill with SIZE bytes from the kernel CSPRNG (getrandom). */
int secret_new_random(size_t size, struct secret **ret);

/* Copy DATA into a new secret.  The caller still wipes its own copy. */
int secret_new_from(const void *data, size_t size, struct secret **ret);

/* Constant-time comparison: 1 if equal (same size and bytes), else 0. */
int secret_equal(const struct secret *a, const struct secret *b);

/* Wipe, unlock and free.  Accepts NULL. */
void secret_free(struct secret *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct secret *, secret_free)
#define _cleanup_secret_ _cleanup_(secret_freep)

/* Wipe SIZE bytes at P and free it.  Accepts NULL. */
void erase_and_free(void *p, size_t size);
