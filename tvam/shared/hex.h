/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Lower-case hexadecimal encoding of digests and blobs. */

#include <stddef.h>
#include <stdint.h>

/* Encode SIZE bytes as a NUL-terminated lower-case hex string. */
int hex_encode(const void *data, size_t size, char **ret);

/* Decode a hex string (either case, even length, no prefix or spaces).
 * Returns -EINVAL (with nothing written) on any other input. */
int hex_decode(const char *text, uint8_t **ret, size_t *ret_size);

/* Decode into a caller buffer of exactly SIZE bytes: the string must encode
 * exactly SIZE bytes, otherwise -EINVAL (e.g. a digest of the wrong length). */
int hex_decode_exact(const char *text, void *buf, size_t size);
