/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/storage/image-stream.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tvam/shared/clock.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/macro.h"

#define DEFAULT_BUFFER_SIZE (4u << 20)
#define PROGRESS_EVERY (256ull << 20)
#define PROGRESS_INTERVAL_S 0.5 /* a terminal shows a live rate and ETA */

/*
 * Hashing overlapped with I/O (issue 5: import throughput close to dd).
 * The calling thread reads a buffer and hashes it, then hands it to a writer
 * thread through a ring of N_SLOTS buffers and goes on reading the next one
 * while the previous is being written.  Buffers are written in the order
 * they were read and hashed, so what is measured is still exactly what is
 * stored.  One pass over the input, no extra copies.
 *
 * When the caller asks for a synced copy into a block device (an import into
 * a dm-crypt mapping), whole aligned buffers are written with O_DIRECT
 * through a second open file description of the same device
 * (/proc/self/fd/N; the caller's descriptor and its flags are untouched):
 * no copy into the page cache and no deferred writeback competing with the
 * hashing for the CPU, and the fdatasync at the end has almost nothing left
 * to flush.  A final partial buffer goes through the caller's descriptor.
 */
#define N_SLOTS 3u
#define DIRECT_ALIGN 4096u

struct ring {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        uint8_t *buf[N_SLOTS];
        size_t len[N_SLOTS];
        unsigned head;  /* next slot the writer takes */
        unsigned count; /* slots full, waiting to be written */
        bool eof;       /* reader: no more slots will be filled */
        bool stop;      /* reader: abort, drop what is queued */
        int error;      /* writer: first write error */
        int out_fd;
        int direct_fd; /* O_DIRECT descriptor of the same device, or -1 */
        off_t offset;  /* where the next buffer goes (direct mode only) */
};

static int pwrite_all(int fd, const uint8_t *p, size_t size, off_t offset)
{
        while (size > 0) {
                ssize_t n = pwrite(fd, p, size, offset);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO;
                p += n;
                size -= (size_t)n;
                offset += n;
        }
        return 0;
}

static int write_buffer(struct ring *g, const uint8_t *buf, size_t len)
{
        int r;

        if (g->direct_fd < 0)
                return write_all(g->out_fd, buf, len);
        if (len % DIRECT_ALIGN == 0 && g->offset % DIRECT_ALIGN == 0)
                r = pwrite_all(g->direct_fd, buf, len, g->offset);
        else
                r = pwrite_all(g->out_fd, buf, len, g->offset); /* the tail, buffered */
        if (r == 0)
                g->offset += (off_t)len;
        return r;
}

/* Direct mode for a synced copy into a block device at an aligned offset. */
static void direct_setup(struct ring *g, const struct image_stream_options *o)
{
        struct stat st;
        char path[64];
        off_t off;

        g->direct_fd = -1;
        if (!o->sync || o->buffer_size % DIRECT_ALIGN != 0)
                return;
        if (fstat(g->out_fd, &st) < 0 || !S_ISBLK(st.st_mode))
                return;
        off = lseek(g->out_fd, 0, SEEK_CUR);
        if (off < 0 || off % DIRECT_ALIGN != 0)
                return;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", g->out_fd);
        g->direct_fd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
        g->offset = off;
}

/* Leave the caller's descriptor where a plain write(2) loop would have. */
static int direct_finish(struct ring *g)
{
        int r = 0;

        if (g->direct_fd < 0)
                return 0;
        if (lseek(g->out_fd, g->offset, SEEK_SET) < 0)
                r = -errno;
        close(g->direct_fd);
        g->direct_fd = -1;
        return r;
}

static void *writer_main(void *userdata)
{
        struct ring *g = userdata;

        pthread_mutex_lock(&g->lock);
        for (;;) {
                while (g->count == 0 && !g->eof && !g->stop)
                        pthread_cond_wait(&g->cond, &g->lock);
                if (g->stop || g->count == 0)
                        break; /* aborted, or eof with everything written */
                unsigned slot = g->head;
                size_t len = g->len[slot];
                pthread_mutex_unlock(&g->lock);

                int r = write_buffer(g, g->buf[slot], len); /* outside the lock */

                pthread_mutex_lock(&g->lock);
                if (r < 0) {
                        g->error = r;
                        pthread_cond_broadcast(&g->cond);
                        break;
                }
                g->head = (g->head + 1) % N_SLOTS;
                g->count--;
                pthread_cond_broadcast(&g->cond);
        }
        pthread_mutex_unlock(&g->lock);
        return NULL;
}

/* Wait for a free slot; returns its index or the writer's error. */
static int ring_acquire(struct ring *g)
{
        int r;

        pthread_mutex_lock(&g->lock);
        while (g->count == N_SLOTS && g->error == 0)
                pthread_cond_wait(&g->cond, &g->lock);
        r = g->error < 0 ? g->error : (int)((g->head + g->count) % N_SLOTS);
        pthread_mutex_unlock(&g->lock);
        return r;
}

static void ring_submit(struct ring *g, size_t len)
{
        pthread_mutex_lock(&g->lock);
        g->len[(g->head + g->count) % N_SLOTS] = len;
        g->count++;
        pthread_cond_broadcast(&g->cond);
        pthread_mutex_unlock(&g->lock);
}

/* End the writer: after everything queued is written (FLUSH) or at once.
 * Returns the writer's error, if any. */
static int ring_finish(struct ring *g, pthread_t writer, bool flush)
{
        int r;

        pthread_mutex_lock(&g->lock);
        if (flush)
                g->eof = true;
        else
                g->stop = true;
        pthread_cond_broadcast(&g->cond);
        pthread_mutex_unlock(&g->lock);
        pthread_join(writer, NULL);
        r = g->error;
        return r;
}

static void ring_free(struct ring *g)
{
        for (unsigned i = 0; i < N_SLOTS; i++)
                free(g->buf[i]);
        if (g->direct_fd >= 0)
                close(g->direct_fd);
        pthread_cond_destroy(&g->cond);
        pthread_mutex_destroy(&g->lock);
}

/* The reading + hashing loop (calling thread). */
static int read_and_hash(int in_fd, struct ring *g, struct digest_ctx *ctx,
        const struct image_stream_options *o, struct image_stream_progress *progress, double start)
{
        uint64_t next_report = PROGRESS_EVERY;
        double next_time = start + PROGRESS_INTERVAL_S;
        int r;

        for (;;) {
                size_t want = o->buffer_size;
                ssize_t n;
                int slot;

                if (o->expected_size) {
                        uint64_t left = o->expected_size - progress->bytes_done;
                        if (left == 0)
                                return 0;
                        if (left < want)
                                want = (size_t)left;
                }
                slot = ring_acquire(g);
                if (slot < 0)
                        return slot; /* the writer failed */
                n = loop_read(in_fd, g->buf[slot], want);
                if (n < 0)
                        return (int)n;
                if (n == 0)
                        return o->expected_size ? -EPIPE : 0; /* -EPIPE: the image ended early */
                r = digest_update(ctx, g->buf[slot], (size_t)n);
                if (r < 0)
                        return r;
                ring_submit(g, (size_t)n);
                progress->bytes_done += (uint64_t)n;

                if (o->progress) {
                        double now = monotonic_s();
                        if (progress->bytes_done >= next_report || now >= next_time) {
                                progress->seconds = now - start;
                                r = o->progress(progress, o->userdata);
                                if (r < 0)
                                        return r;
                                next_report = progress->bytes_done + PROGRESS_EVERY;
                                next_time = now + PROGRESS_INTERVAL_S;
                        }
                }
        }
}

int image_stream_copy(int in_fd, int out_fd, const struct image_stream_options *opts, uint8_t *ret_digest,
        uint64_t *ret_bytes)
{
        _cleanup_(digest_ctx_freep) struct digest_ctx *ctx = NULL;
        struct image_stream_options o = opts ? *opts : (struct image_stream_options){};
        struct image_stream_progress progress = {};
        struct ring g = {.out_fd = out_fd, .direct_fd = -1};
        pthread_t writer;
        double start = monotonic_s();
        int r, w;

        assert(in_fd >= 0 && out_fd >= 0 && ret_digest);

        if (o.alg == 0)
                o.alg = DIGEST_SHA256;
        if (o.buffer_size == 0)
                o.buffer_size = DEFAULT_BUFFER_SIZE;
        progress.bytes_total = o.expected_size;

        r = digest_begin(o.alg, &ctx);
        if (r < 0)
                return r;
        pthread_mutex_init(&g.lock, NULL);
        pthread_cond_init(&g.cond, NULL);
        for (unsigned i = 0; i < N_SLOTS; i++) {
                /* Aligned for O_DIRECT (direct_setup). */
                if (posix_memalign((void **)&g.buf[i], DIRECT_ALIGN, o.buffer_size) != 0) {
                        g.buf[i] = NULL;
                        ring_free(&g);
                        return -ENOMEM;
                }
        }
        direct_setup(&g, &o);
        r = -pthread_create(&writer, NULL, writer_main, &g);
        if (r < 0) {
                ring_free(&g);
                return r;
        }

        r = read_and_hash(in_fd, &g, ctx, &o, &progress, start);
        w = ring_finish(&g, writer, r >= 0);
        if (w >= 0) {
                int d = direct_finish(&g);
                if (d < 0)
                        w = d;
        }
        ring_free(&g);
        if (r < 0)
                return r;
        if (w < 0)
                return w;

        if (o.sync && fdatasync(out_fd) < 0)
                return -errno;

        r = digest_end(TAKE_PTR(ctx), ret_digest);
        if (r < 0)
                return r;
        if (o.progress) {
                progress.seconds = monotonic_s() - start;
                r = o.progress(&progress, o.userdata);
                if (r < 0)
                        return r;
        }
        if (ret_bytes)
                *ret_bytes = progress.bytes_done;
        return 0;
}
