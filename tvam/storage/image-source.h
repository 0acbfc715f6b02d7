/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Image sources for import (issue 5: "raw|qcow2"): turn what the client
 * passed into a raw byte stream of known size for image_stream_copy().
 *
 *   raw    the descriptor itself.
 *   qcow2  QEMU's own block layer decodes it: `qemu-img info` (virtual size;
 *          backing files and external data files are refused, since they would
 *          pull host files into an attested image), `qemu-img check` (a
 *          truncated or corrupt image is refused before a byte is written:
 *          QEMU reads clusters past the end of a truncated file as zeros, so
 *          only the check can tell), then `nbdcopy -- [ qemu-nbd -r -f qcow2 ]
 *          -` streams the guest-visible bytes into a pipe.  qemu-img cannot
 *          write raw output to a pipe; nbdcopy can, and qemu-nbd here talks
 *          over a private socket (systemd socket activation), so no kernel
 *          nbd device is needed.  The image is read in one pass.
 *
 * The converter's exit status is checked by image_source_finish(): an import
 * must not become "ready" before it is known that the stream was complete.
 */

#include <stdint.h>
#include <sys/types.h>

enum image_format {
        IMAGE_FORMAT_RAW,
        IMAGE_FORMAT_QCOW2,
};

int image_format_from_string(const char *s, enum image_format *ret);

struct image_source {
        int fd;             /* read the raw image from here */
        uint64_t size;      /* bytes the stream will deliver; 0 = the fd's own size */
        pid_t converter;    /* nbdcopy, or 0 */
        int owned_fd;       /* our pipe end, or -1 */
};

/* Open IN_FD (borrowed) as FORMAT.  On failure ERRBUF says why (e.g. "qcow2
 * image is corrupt or truncated: 75 errors found by qemu-img check"). */
int image_source_open(int in_fd, enum image_format format, char *errbuf, size_t errlen, struct image_source *ret);

/* Wait for the converter (if any) and report whether the stream it produced
 * was complete: 0, or -EIO with ERRBUF set.  Idempotent. */
int image_source_finish(struct image_source *src, char *errbuf, size_t errlen);

/* Stop the converter (if still running) and release everything. */
void image_source_close(struct image_source *src);
