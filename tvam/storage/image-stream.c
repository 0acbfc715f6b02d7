/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/storage/image-stream.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tvam/shared/fileio.h"
#include "tvam/shared/macro.h"

#define DEFAULT_BUFFER_SIZE (4u << 20)
#define PROGRESS_EVERY (256ull << 20)

static double now_seconds(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int image_stream_copy(int in_fd, int out_fd, const struct image_stream_options *opts, uint8_t *ret_digest,
        uint64_t *ret_bytes)
{
        _cleanup_(digest_ctx_freep) struct digest_ctx *ctx = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        struct image_stream_options o = opts ? *opts : (struct image_stream_options){};
        struct image_stream_progress progress = {};
        uint64_t next_report = PROGRESS_EVERY;
        double start = now_seconds();
        int r;

        assert(in_fd >= 0 && out_fd >= 0 && ret_digest);

        if (o.alg == 0)
                o.alg = DIGEST_SHA256;
        if (o.buffer_size == 0)
                o.buffer_size = DEFAULT_BUFFER_SIZE;
        progress.bytes_total = o.expected_size;

        buf = malloc(o.buffer_size);
        if (!buf)
                return -ENOMEM;
        r = digest_begin(o.alg, &ctx);
        if (r < 0)
                return r;

        for (;;) {
                size_t want = o.buffer_size;
                ssize_t n;

                if (o.expected_size) {
                        uint64_t left = o.expected_size - progress.bytes_done;
                        if (left == 0)
                                break;
                        if (left < want)
                                want = (size_t)left;
                }
                n = loop_read(in_fd, buf, want);
                if (n < 0)
                        return (int)n;
                if (n == 0) {
                        if (o.expected_size)
                                return -EPIPE; /* the image ended early */
                        break;
                }
                r = digest_update(ctx, buf, (size_t)n);
                if (r < 0)
                        return r;
                r = write_all(out_fd, buf, (size_t)n);
                if (r < 0)
                        return r;
                progress.bytes_done += (uint64_t)n;

                if (o.progress && progress.bytes_done >= next_report) {
                        progress.seconds = now_seconds() - start;
                        r = o.progress(&progress, o.userdata);
                        if (r < 0)
                                return r;
                        next_report += PROGRESS_EVERY;
                }
        }

        if (o.sync && fdatasync(out_fd) < 0)
                return -errno;

        r = digest_end(TAKE_PTR(ctx), ret_digest);
        if (r < 0)
                return r;
        if (o.progress) {
                progress.seconds = now_seconds() - start;
                r = o.progress(&progress, o.userdata);
                if (r < 0)
                        return r;
        }
        if (ret_bytes)
                *ret_bytes = progress.bytes_done;
        return 0;
}
