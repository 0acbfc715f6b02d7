/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * One-pass image streaming: read → hash → write (ARCHITECTURE.md "TVAM",
 * import).  The image is read once; its SHA-256 (the identity of a
 * read-write image) is computed on the same buffers that are written to the
 * encrypted device, so what is measured is exactly what was stored.
 *
 * Hashing overlaps the writes (issue 5): the calling thread reads and hashes
 * while a writer thread writes the previous buffers, in order.  A synced copy
 * into a block device writes whole 4 KiB-aligned buffers with O_DIRECT
 * through its own descriptor of the device (details in image-stream.c); the
 * caller's descriptor ends at the same offset as with plain writes.
 */

#include <stdbool.h>
#include <stdint.h>

#include "tvam/shared/digest.h"

struct image_stream_progress {
        uint64_t bytes_done;
        uint64_t bytes_total; /* 0 if unknown (a pipe) */
        double seconds;
};

/* Called every 256 MiB or half second, whichever comes first, and at the
 * end; return < 0 to cancel. */
typedef int (*image_stream_progress_fn)(const struct image_stream_progress *p, void *userdata);

struct image_stream_options {
        enum digest_alg alg;    /* default (0): SHA-256 */
        size_t buffer_size;     /* default (0): 4 MiB */
        uint64_t expected_size; /* 0: copy until EOF; else exactly this many bytes (-EPIPE if short) */
        bool sync;              /* fdatasync OUT before returning */
        image_stream_progress_fn progress;
        void *userdata;
};

/* Copy IN to OUT (from their current offsets), hashing what is copied.
 * On success *ret_bytes gets the byte count and RET_DIGEST the digest
 * (digest_size(alg) bytes).  On failure OUT may hold a partial copy: the
 * caller owns rollback (removing the half-written volume). */
int image_stream_copy(int in_fd, int out_fd, const struct image_stream_options *opts, uint8_t *ret_digest,
        uint64_t *ret_bytes);
