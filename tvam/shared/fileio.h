/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * State files.  Every file TVAM keeps is replaced atomically: written to a
 * temporary name in the same directory, fsync'd, renamed over the old name,
 * and the directory fsync'd, so a crash leaves either the old or the new
 * content, never a mixture (STYLE.md §8).
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Write SIZE bytes to PATH atomically with permissions MODE. */
int atomic_file_write(const char *path, const void *data, size_t size, mode_t mode);

/* Read a whole regular file of at most MAX_SIZE bytes.  The buffer gets a
 * trailing NUL (not counted in *ret_size) so text can be parsed in place.
 * -EFBIG if the file is larger than MAX_SIZE. */
int read_full_file(const char *path, size_t max_size, uint8_t **ret, size_t *ret_size);

/* read(2) until SIZE bytes are read or end of file (a pipe's short reads are
 * not EOF).  Returns the number of bytes read (< SIZE only at EOF) or a
 * negative errno. */
ssize_t loop_read(int fd, void *buf, size_t size);

/* write(2) until everything is written or an error occurs. */
int write_all(int fd, const void *data, size_t size);
