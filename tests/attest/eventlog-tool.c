/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test helper for the event-log interop tests (never installed):
 *
 *   eventlog-tool write LOG [N]   write a SHA-1 + SHA-256 log of a typical
 *                                 boot (firmware-style events in PCR 0/4/7,
 *                                 TVAM events in 13/14/15, N extra
 *                                 applications); with $TVAM_TEST_TCTI set,
 *                                 extend the TPM's PCRs with the same digests
 *   eventlog-tool replay LOG      print "ALG PCR HEX" for every PCR 0-23 of
 *                                 every known bank, replayed from LOG
 *   eventlog-tool dump LOG        print one line per event
 *   eventlog-tool drop LOG I OUT  copy LOG without event I (a removed event)
 *   eventlog-tool alter LOG I OUT copy LOG with the last byte of event I's
 *                                 data changed, digests kept (an altered event)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tvam/eventlog/eventlog.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/tpm/tpm-pcr.h"

static struct tpm_context *tpm;

/* Append then extend, in that order (the log is never behind the TPM). */
static int append(struct eventlog_writer *w, uint32_t pcr, uint32_t type, const char *data)
{
        const struct eventlog_bank *banks;
        size_t n = eventlog_writer_banks(w, &banks);
        int r = eventlog_writer_append(w, pcr, type, data, strlen(data), NULL);
        if (r < 0 || !tpm)
                return r;
        for (size_t i = 0; i < n; i++) {
                uint8_t d[DIGEST_MAX_SIZE];
                r = digest_buffer(banks[i].alg, data, strlen(data), d);
                if (r < 0)
                        return r;
                r = tpm_pcr_extend(tpm, pcr, banks[i].alg, d);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int append_tvam(struct eventlog_writer *w, uint32_t pcr, enum eventlog_tvam_kind kind, const char *name,
        const char *identity, uint8_t config_byte, size_t config_size)
{
        struct eventlog_tvam_event e = { .kind = kind, .config_size = config_size };
        const struct eventlog_bank *banks;
        size_t n = eventlog_writer_banks(w, &banks);
        int r;

        snprintf(e.name, sizeof(e.name), "%s", name);
        snprintf(e.identity, sizeof(e.identity), "%s", identity);
        memset(e.config, config_byte, config_size);
        r = eventlog_writer_append_tvam(w, pcr, &e);
        if (r < 0 || !tpm)
                return r;
        for (size_t i = 0; i < n; i++) {
                uint8_t d[DIGEST_MAX_SIZE];
                r = eventlog_tvam_digest(&e, banks[i].alg, d);
                if (r < 0)
                        return r;
                r = tpm_pcr_extend(tpm, pcr, banks[i].alg, d);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int do_write(const char *path, unsigned extra)
{
        static const enum digest_alg banks[] = { DIGEST_SHA1, DIGEST_SHA256 };
        _cleanup_(eventlog_writer_freep) struct eventlog_writer *w = NULL;
        char name[32], identity[80];
        int r;

        r = eventlog_writer_open(path, banks, ELEMENTSOF(banks), &w);
        if (r < 0)
                return r;
        if ((r = append(w, 0, EV_S_CRTM_VERSION, "TVAM test firmware 1.0")) < 0 ||
                (r = append(w, 7, EV_EFI_EVENT_BASE + 7, "Secure Boot disabled")) < 0 ||
                (r = append(w, 4, EV_IPL, "grubx64.efi")) < 0 ||
                (r = append(w, 4, EV_IPL, "vmlinuz-6.1.0")) < 0)
                return r;
        for (unsigned pcr = 0; pcr < 8; pcr++)
                if ((r = append(w, pcr, EV_SEPARATOR, "\xff\xff\xff\xff")) < 0)
                        return r;
        if ((r = append_tvam(w, 14, EVENTLOG_TVAM_BASE_IMAGE, "base-1",
                     "verity:1111111111111111111111111111111111111111111111111111111111111111", 0, 0)) < 0 ||
                (r = append_tvam(w, 15, EVENTLOG_TVAM_MODE, "application-mode", "tvam:mode:application", 0, 0)) < 0 ||
                (r = append_tvam(w, 13, EVENTLOG_TVAM_APPLICATION, "web",
                         "verity:abababababababababababababababababababababababababababababababab", 0x11, 32)) < 0)
                return r;
        for (unsigned i = 0; i < extra; i++) {
                snprintf(name, sizeof(name), "app-%u", i);
                snprintf(identity, sizeof(identity), "sha256:%064x", i);
                r = append_tvam(w, 13, EVENTLOG_TVAM_APPLICATION, name, identity, (uint8_t)i, 32);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int do_replay(const char *path)
{
        _cleanup_eventlog_ struct eventlog *log = NULL;
        int r = eventlog_load(path, 0, &log);
        if (r < 0)
                return r;
        for (size_t b = 0; b < log->n_banks; b++) {
                struct pcr_bank bank;
                const char *name = digest_alg_to_string(log->banks[b].alg);
                if (!name)
                        continue;
                r = eventlog_replay(log, log->banks[b].alg, SIZE_MAX, &bank);
                if (r < 0)
                        return r;
                for (unsigned pcr = 0; pcr < PCR_COUNT; pcr++) {
                        _cleanup_free_ char *hex = NULL;
                        if (hex_encode(bank.values[pcr], log->banks[b].size, &hex) < 0)
                                return -ENOMEM;
                        printf("%s %u %s\n", name, pcr, hex);
                }
        }
        return 0;
}

static int do_dump(const char *path)
{
        _cleanup_eventlog_ struct eventlog *log = NULL;
        int r = eventlog_load(path, 0, &log);
        if (r < 0)
                return r;
        for (size_t i = 0; i < log->n_events; i++) {
                const struct eventlog_event *e = &log->events[i];
                struct eventlog_tvam_event t;
                printf("%zu pcr=%u %s size=%u", i, e->pcr, eventlog_event_type_to_string(e->type), e->data_size);
                if (eventlog_tvam_event_verify(e, &t) == 0)
                        printf(" tvam %s name=%s identity=%s", eventlog_tvam_kind_to_string(t.kind), t.name,
                                t.identity);
                printf("\n");
        }
        return 0;
}

/* Tampering for the negative tests: rewrite LOG's bytes around event I. */
static int do_tamper(const char *path, bool drop, size_t index, const char *out)
{
        _cleanup_eventlog_ struct eventlog *log = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t start, end, size;
        int r = eventlog_load(path, 0, &log);

        if (r < 0)
                return r;
        if (index >= log->n_events)
                return -ERANGE;
        start = log->events[index].offset;
        end = index + 1 < log->n_events ? log->events[index + 1].offset : log->valid_size;
        buf = malloc(log->valid_size);
        if (!buf)
                return -ENOMEM;
        if (drop) {
                memcpy(buf, log->buffer, start);
                memcpy(buf + start, log->buffer + end, log->valid_size - end);
                size = log->valid_size - (end - start);
        } else {
                memcpy(buf, log->buffer, log->valid_size);
                if (log->events[index].data_size == 0)
                        return -EINVAL;
                buf[end - 1] ^= 0x01;
                size = log->valid_size;
        }
        return atomic_file_write(out, buf, size, 0644);
}

int main(int argc, char **argv)
{
        int r;

        if (argc < 3) {
                fprintf(stderr, "usage: eventlog-tool write|replay|dump LOG [N]\n");
                return 2;
        }
        if (strcmp(argv[1], "write") == 0) {
                const char *tcti = getenv("TVAM_TEST_TCTI");
                if (tcti) {
                        r = tpm_context_new(tcti, &tpm);
                        if (r < 0) {
                                fprintf(stderr, "cannot open TPM %s: %s\n", tcti, strerror(-r));
                                return 1;
                        }
                }
                r = do_write(argv[2], argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 0);
                tpm_context_free(tpm);
        } else if (strcmp(argv[1], "replay") == 0)
                r = do_replay(argv[2]);
        else if (strcmp(argv[1], "dump") == 0)
                r = do_dump(argv[2]);
        else if ((strcmp(argv[1], "drop") == 0 || strcmp(argv[1], "alter") == 0) && argc == 5)
                r = do_tamper(argv[2], argv[1][0] == 'd', strtoul(argv[3], NULL, 10), argv[4]);
        else
                r = -EINVAL;
        if (r < 0) {
                fprintf(stderr, "eventlog-tool %s %s: %s\n", argv[1], argv[2], strerror(-r));
                return 1;
        }
        return 0;
}
