/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Benchmark: SRTM prediction for an event log of N events (default 10,000;
 * SHA-1 + SHA-256 banks): parse the log, substitute the kernel and the
 * initrd, replay the SHA-256 bank.  Prints figures; never fails on time.
 */
#include <stdio.h>
#include <time.h>

#include "policy/tools/srtm.h"
#include "tests/policy/srtm-log.h"

static double now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
        size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000, rounds = 21, boots;
        struct eventlog *hl = NULL;
        struct membuf m;
        double parse_ms[21], predict_ms[21];

        if (log_begin(&m, &hl) < 0)
                return 1;
        /* Boots of 15 events each, then padding events in PCR 0-7 up to N. */
        for (boots = 0; m.size == 0 || boots * 15 < n / 10; boots++)
                if (log_boot(&m, hl, "kernel", "initrd", "root=/dev/vda") < 0)
                        return 1;
        for (size_t i = boots * 15; i < n; i++) {
                char data[32];
                snprintf(data, sizeof(data), "event %zu", i);
                if (log_event(&m, hl, (uint32_t)(i % 8), EV_EFI_EVENT_BASE + 2, data, strlen(data), NULL,
                            0) < 0)
                        return 1;
        }

        for (size_t r = 0; r < rounds; r++) {
                struct eventlog *log = NULL;
                struct srtm_substitution subs[2] = {
                        {.pcr = 9, .match = (const uint8_t *)"/boot/vmlinuz", .match_size = 13},
                        {.pcr = 9, .match = (const uint8_t *)"/boot/initrd.img", .match_size = 16},
                };
                struct pcr_bank bank;
                double t0 = now_ms(), t1, t2;

                if (eventlog_parse(m.data, m.size, 0, &log, NULL) < 0)
                        return 1;
                t1 = now_ms();
                if (digest_buffer(DIGEST_SHA256, "new kernel", 10, subs[0].digest) < 0 ||
                        digest_buffer(DIGEST_SHA256, "new initrd", 10, subs[1].digest) < 0 ||
                        srtm_predict(log, DIGEST_SHA256, subs, 2, &bank) < 0)
                        return 1;
                t2 = now_ms();
                parse_ms[r] = t1 - t0;
                predict_ms[r] = t2 - t1;
                if (r == 0)
                        printf("log: %zu events, %zu bytes; substituted %zu kernel and %zu initrd events\n",
                                log->n_events, m.size, subs[0].n_applied, subs[1].n_applied);
                eventlog_free(log);
        }
        qsort(parse_ms, rounds, sizeof(double), cmp_double);
        qsort(predict_ms, rounds, sizeof(double), cmp_double);
        printf("srtm parse               median %7.3f ms  min %7.3f  max %7.3f  (n=%zu)\n",
                parse_ms[rounds / 2], parse_ms[0], parse_ms[rounds - 1], rounds);
        printf("srtm substitute+replay   median %7.3f ms  min %7.3f  max %7.3f  (n=%zu)\n",
                predict_ms[rounds / 2], predict_ms[0], predict_ms[rounds - 1], rounds);
        printf("srtm prediction total    median %7.3f ms  (target: well under 100 ms)\n",
                parse_ms[rounds / 2] + predict_ms[rounds / 2]);
        eventlog_free(hl);
        free(m.data);
        return 0;
}
