/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the one-pass image stream (read → hash → write). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tvam/shared/fileio.h"
#include "tvam/storage/image-stream.h"

static uint8_t *pattern(size_t size)
{
        uint8_t *p = malloc(size);
        assert_non_null(p);
        for (size_t i = 0; i < size; i++)
                p[i] = (uint8_t)(i * 131 + (i >> 12));
        return p;
}

static int memfd_with(const uint8_t *data, size_t size)
{
        int fd = memfd_create("image", MFD_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write_all(fd, data, size), 0);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

static void test_copy_and_hash(void **state)
{
        const size_t size = 9 * 1024 * 1024 + 123;
        uint8_t *data = pattern(size), digest[32], expect[32];
        int in = memfd_with(data, size), out = memfd_create("out", MFD_CLOEXEC);
        struct image_stream_options o = { .buffer_size = 1 << 20, .sync = true };
        uint64_t bytes = 0;

        (void)state;
        assert_int_equal(image_stream_copy(in, out, &o, digest, &bytes), 0);
        assert_int_equal(bytes, size);
        assert_int_equal(digest_buffer(DIGEST_SHA256, data, size, expect), 0);
        assert_memory_equal(digest, expect, 32);

        /* What was written is what was hashed. */
        uint8_t *back = malloc(size);
        assert_int_equal(pread(out, back, size, 0), (ssize_t)size);
        assert_memory_equal(back, data, size);
        free(back);
        free(data);
        close(in);
        close(out);
}

/* A pipe delivers short reads; the copy must not take them for EOF. */
static void test_pipe_short_reads(void **state)
{
        const size_t size = 3 * 1024 * 1024;
        uint8_t *data = pattern(size), digest[32], expect[32];
        int p[2], out = memfd_create("out", MFD_CLOEXEC);
        uint64_t bytes;
        pid_t pid;

        (void)state;
        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                for (size_t off = 0; off < size; off += 777)
                        if (write_all(p[1], data + off, off + 777 <= size ? 777 : size - off) < 0)
                                _exit(1);
                _exit(0);
        }
        close(p[1]);
        assert_int_equal(image_stream_copy(p[0], out, NULL, digest, &bytes), 0);
        assert_int_equal(bytes, size);
        assert_int_equal(digest_buffer(DIGEST_SHA256, data, size, expect), 0);
        assert_memory_equal(digest, expect, 32);
        waitpid(pid, NULL, 0);
        close(p[0]);
        close(out);
        free(data);
}

static void test_short_image_refused(void **state)
{
        const size_t size = 1000;
        uint8_t *data = pattern(size), digest[32];
        int in = memfd_with(data, size), out = memfd_create("out", MFD_CLOEXEC);
        struct image_stream_options o = { .expected_size = 1001 };

        (void)state;
        assert_int_equal(image_stream_copy(in, out, &o, digest, NULL), -EPIPE);
        close(in);
        close(out);
        free(data);
}

static int cancel_at_first_report(const struct image_stream_progress *p, void *userdata)
{
        int *calls = userdata;
        (*calls)++;
        return p->bytes_done > 0 ? -ECANCELED : 0;
}

static void test_progress_can_cancel(void **state)
{
        const size_t size = 300u << 20; /* past the first 256 MiB report */
        int in = open("/dev/zero", O_RDONLY | O_CLOEXEC), out = open("/dev/null", O_WRONLY | O_CLOEXEC);
        int calls = 0;
        struct image_stream_options o = { .expected_size = size, .progress = cancel_at_first_report,
                .userdata = &calls };
        uint8_t digest[32];

        (void)state;
        assert_int_equal(image_stream_copy(in, out, &o, digest, NULL), -ECANCELED);
        assert_int_equal(calls, 1);
        close(in);
        close(out);
}

/* The reader/hasher and the writer thread run concurrently: a pipe in and a
 * pipe out (short reads and short writes both sides), with buffers much
 * smaller than the data so the ring of buffers wraps many times; the output
 * must be the input in order, and the digest that of the input. */
static void test_threaded_pipe_to_pipe(void **state)
{
        const size_t size = 5 * 1024 * 1024 + 4321;
        uint8_t *data = pattern(size), digest[32], expect[32];
        int in[2], out[2];
        uint64_t bytes = 0;
        pid_t writer, reader;
        struct image_stream_options o = { .buffer_size = 4096 + 17 };

        (void)state;
        assert_int_equal(pipe(in), 0);
        assert_int_equal(pipe(out), 0);
        writer = fork();
        assert_true(writer >= 0);
        if (writer == 0) { /* feeds the input in odd-sized pieces */
                close(in[0]);
                for (size_t off = 0; off < size; off += 1009)
                        if (write_all(in[1], data + off, off + 1009 <= size ? 1009 : size - off) < 0)
                                _exit(1);
                _exit(0);
        }
        reader = fork();
        assert_true(reader >= 0);
        if (reader == 0) { /* drains the output slowly and compares it */
                uint8_t buf[3001];
                size_t got = 0;
                ssize_t n;
                close(out[1]);
                close(in[0]);
                close(in[1]);
                while ((n = read(out[0], buf, sizeof(buf))) > 0) {
                        if (got + (size_t)n > size || memcmp(buf, data + got, (size_t)n) != 0)
                                _exit(2);
                        got += (size_t)n;
                }
                _exit(n == 0 && got == size ? 0 : 3);
        }
        close(in[1]);
        close(out[0]);
        assert_int_equal(image_stream_copy(in[0], out[1], &o, digest, &bytes), 0);
        close(out[1]);
        close(in[0]);
        assert_int_equal(bytes, size);
        assert_int_equal(digest_buffer(DIGEST_SHA256, data, size, expect), 0);
        assert_memory_equal(digest, expect, 32);

        int st;
        assert_int_equal(waitpid(writer, &st, 0), writer);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        assert_int_equal(waitpid(reader, &st, 0), reader);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0); /* output = input, in order */
        free(data);
}

/* A write error in the writer thread stops the copy and is returned. */
static void test_threaded_write_error(void **state)
{
        int in = open("/dev/zero", O_RDONLY | O_CLOEXEC), out = open("/dev/full", O_WRONLY | O_CLOEXEC);
        struct image_stream_options o = { .expected_size = 64u << 20, .buffer_size = 1 << 16 };
        uint8_t digest[32];

        (void)state;
        if (out < 0)
                skip();
        assert_int_equal(image_stream_copy(in, out, &o, digest, NULL), -ENOSPC);
        close(in);
        close(out);
}

/* A read error (reading a directory: EISDIR) while the writer runs. */
static void test_threaded_read_error(void **state)
{
        int in = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), out = open("/dev/null", O_WRONLY | O_CLOEXEC);
        uint8_t digest[32];

        (void)state;
        assert_int_equal(image_stream_copy(in, out, NULL, digest, NULL), -EISDIR);
        close(in);
        close(out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_copy_and_hash),
                cmocka_unit_test(test_pipe_short_reads),
                cmocka_unit_test(test_short_image_refused),
                cmocka_unit_test(test_progress_can_cancel),
                cmocka_unit_test(test_threaded_pipe_to_pipe),
                cmocka_unit_test(test_threaded_write_error),
                cmocka_unit_test(test_threaded_read_error),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
