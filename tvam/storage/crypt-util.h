/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The one adapter to libcryptsetup (STYLE.md §3).
 *
 * libcryptsetup already returns negative errno values, so nothing is
 * translated: callers pass them on.  What this adapter adds is
 *   - its log messages go to our debug log (never to stderr of a library
 *     user), and the last error-level message of the calling thread is kept
 *     so a boundary can say *what* failed (e.g. dm-verity's "Verification
 *     failed at position N.");
 *   - a cleanup helper for struct crypt_device.
 *
 * libcryptsetup never logs key material; neither do we.
 */

#include <libcryptsetup.h>

#include "tvam/shared/macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct crypt_device *, crypt_free)
#define _cleanup_crypt_free_ _cleanup_(crypt_freep)

/* crypt_init() on PATH with our log callback installed.  Returns 0 or the
 * negative errno of libcryptsetup. */
int cryptutil_init(const char *path, struct crypt_device **ret);

/* cryptutil_init() + crypt_load() of a LUKS2 header.  crypt_load() checks
 * both header copies, their checksums and the JSON metadata (LUKS2 spec §2,
 * §3): a corrupt or truncated header fails with -EINVAL (or -EIO/-ENXIO for
 * a short device). */
int cryptutil_load_luks2(const char *path, struct crypt_device **ret);

/* crypt_init_by_name() for an active mapping NAME. */
int cryptutil_init_by_name(const char *name, struct crypt_device **ret);

/* Forget the remembered error message of this thread. */
void cryptutil_clear_error(void);

/* The error-level messages libcryptsetup logged in this thread since
 * cryptutil_clear_error(), "; "-separated (truncated to 255 bytes), or "". */
const char *cryptutil_last_error(void);

/* crypt_init_data_device(): metadata/hash on PATH, data on DATA_PATH. */
int cryptutil_init_data_device(const char *path, const char *data_path, struct crypt_device **ret);
