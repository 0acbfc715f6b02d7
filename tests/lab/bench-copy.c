/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench-copy IN OUT — the import data path (image_stream_copy: read → hash
 * → write, fdatasync at the end) timed, for the lab storage benchmark.
 * Prints "bytes seconds MiB/s sha256".
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tvam/shared/hex.h"
#include "tvam/storage/image-stream.h"

int main(int argc, char **argv)
{
        struct image_stream_options o = { .sync = true };
        struct timespec a, b;
        uint8_t digest[32];
        uint64_t bytes = 0;
        char *hex = NULL;
        int in, out, r;

        if (argc != 3) {
                fprintf(stderr, "usage: bench-copy IN OUT\n");
                return 2;
        }
        in = open(argv[1], O_RDONLY | O_CLOEXEC);
        out = open(argv[2], O_WRONLY | O_CLOEXEC);
        if (in < 0 || out < 0) {
                perror("open");
                return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &a);
        r = image_stream_copy(in, out, &o, digest, &bytes);
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (r < 0) {
                fprintf(stderr, "bench-copy: %s\n", strerror(-r));
                return 1;
        }
        double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
        if (hex_encode(digest, sizeof(digest), &hex) < 0)
                return 1;
        printf("%llu %.3f %.1f %s\n", (unsigned long long)bytes, s, (double)bytes / s / (1 << 20), hex);
        return 0;
}
