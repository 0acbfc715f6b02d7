/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Base64 (RFC 4648 §4, with padding) for the binary fields of evidence and
 * enrolment JSON.  Strict decoder: no whitespace, correct padding. */

#include <stddef.h>
#include <stdint.h>

int base64_encode(const void *data, size_t size, char **ret);
/* -EINVAL on any character outside the alphabet, bad padding or length. */
int base64_decode(const char *text, uint8_t **ret, size_t *ret_size);
/* The same for exactly LEN bytes of TEXT (a NUL among them is invalid). */
int base64_decode_n(const char *text, size_t len, uint8_t **ret, size_t *ret_size);
