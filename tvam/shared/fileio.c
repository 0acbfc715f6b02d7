/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/shared/fileio.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tvam/shared/macro.h"

ssize_t loop_read(int fd, void *buf, size_t size)
{
        uint8_t *p = buf;
        size_t got = 0;

        while (got < size) {
                ssize_t n = read(fd, p + got, size - got);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                got += (size_t)n;
        }
        return (ssize_t)got;
}

int write_all(int fd, const void *data, size_t size)
{
        const uint8_t *p = data;

        while (size > 0) {
                ssize_t n = write(fd, p, size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                size -= (size_t)n;
        }
        return 0;
}

static int fsync_parent_dir(const char *path)
{
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int dfd = -1;

        if (!copy)
                return -ENOMEM;
        dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        if (fsync(dfd) < 0)
                return -errno;
        return 0;
}

int atomic_file_write(const char *path, const void *data, size_t size, mode_t mode)
{
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        assert(path);
        assert(data || size == 0);

        {
                _cleanup_free_ char *copy_dir = strdup(path), *copy_base = strdup(path);
                if (!copy_dir || !copy_base)
                        return -ENOMEM;
                if (asprintf(&tmp, "%s/.#%s.XXXXXX", dirname(copy_dir), basename(copy_base)) < 0) {
                        tmp = NULL;
                        return -ENOMEM;
                }
        }

        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;

        if (fchmod(fd, mode) < 0) {
                r = -errno;
                goto fail;
        }
        r = write_all(fd, data, size);
        if (r < 0)
                goto fail;
        if (fsync(fd) < 0) {
                r = -errno;
                goto fail;
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                goto fail;
        }
        return fsync_parent_dir(path);

fail:
        (void)unlink(tmp);
        return r;
}

int read_full_file(const char *path, size_t max_size, uint8_t **ret, size_t *ret_size)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ uint8_t *buf = NULL;
        struct stat st;
        size_t used;
        ssize_t n;

        assert(path && ret && ret_size);

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t)st.st_size > max_size)
                return -EFBIG;

        buf = malloc((size_t)st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        n = loop_read(fd, buf, (size_t)st.st_size);
        if (n < 0)
                return (int)n;
        used = (size_t)n;
        /* The file may have grown since fstat(): refuse rather than return
         * a silently truncated read. */
        if (used == (size_t)st.st_size) {
                uint8_t probe;
                if (loop_read(fd, &probe, 1) > 0)
                        return -EFBIG;
        }
        buf[used] = 0;

        *ret = TAKE_PTR(buf);
        *ret_size = used;
        return 0;
}
