/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Builders of synthetic firmware + GRUB event logs for the srtm tests and
 * benchmark (tests only). */

#include <stdlib.h>
#include <string.h>

#include "tvam/eventlog/eventlog.h"

struct membuf {
        uint8_t *data;
        size_t size;
};

static inline int membuf_add(struct membuf *m, const void *p, size_t n)
{
        uint8_t *grown = realloc(m->data, m->size + n);
        if (!grown)
                return -ENOMEM;
        memcpy(grown + m->size, p, n);
        m->data = grown;
        m->size += n;
        return 0;
}

/* Start a SHA-1 + SHA-256 log; *RET_HEADER is the parsed header for
 * eventlog_record_build(). */
static inline int log_begin(struct membuf *m, struct eventlog **ret_header)
{
        static const enum digest_alg banks[] = {DIGEST_SHA1, DIGEST_SHA256};
        uint8_t *h = NULL;
        size_t hs;
        int r;

        *m = (struct membuf){};
        r = eventlog_header_build(banks, 2, &h, &hs);
        if (r < 0)
                return r;
        r = membuf_add(m, h, hs);
        if (r == 0)
                r = eventlog_parse(h, hs, 0, ret_header, NULL);
        free(h);
        return r;
}

/* An event measuring DATA itself (DIGEST_OF NULL) or the bytes DIGEST_OF. */
static inline int log_event(struct membuf *m, const struct eventlog *hl, uint32_t pcr, uint32_t type,
        const void *data, size_t size, const void *digest_of, size_t digest_of_size)
{
        uint8_t d1[DIGEST_MAX_SIZE], d256[DIGEST_MAX_SIZE], *r_buf = NULL;
        const uint8_t *digests[2] = {d1, d256};
        size_t rs;
        int r;

        if (digest_of) {
                r = digest_buffer(DIGEST_SHA1, digest_of, digest_of_size, d1);
                if (r == 0)
                        r = digest_buffer(DIGEST_SHA256, digest_of, digest_of_size, d256);
                if (r < 0)
                        return r;
        }
        r = eventlog_record_build(hl, pcr, type, data, size, digest_of ? digests : NULL, &r_buf, &rs);
        if (r < 0)
                return r;
        r = membuf_add(m, r_buf, rs);
        free(r_buf);
        return r;
}

/* A boot: firmware events (PCRs 0-7), GRUB's command lines (PCR 8) and
 * files (PCR 9) for KERNEL/INITRD contents and CMDLINE, as GRUB 2.06 logs
 * them (grub-core/commands/tpm.c: EV_IPL, data = string or path). */
static inline int log_boot(struct membuf *m, const struct eventlog *hl, const char *kernel,
        const char *initrd, const char *cmdline)
{
        static const uint8_t sep[4] = {};
        char line[512];
        int r = 0;

        r = r ?: log_event(m, hl, 0, EV_S_CRTM_VERSION, "OVMF 2022.11", 12, NULL, 0);
        for (uint32_t p = 0; p <= 7 && r == 0; p++)
                r = log_event(m, hl, p, EV_SEPARATOR, sep, sizeof(sep), NULL, 0);
        r = r ?: log_event(m, hl, 4, EV_EFI_EVENT_BASE + 3, "grubx64.efi", 11, "grub image", 10);
        snprintf(line, sizeof(line), "grub_cmd: linux /boot/vmlinuz %s", cmdline);
        r = r ?: log_event(m, hl, 8, EV_IPL, line, strlen(line) + 1, line, strlen(line));
        snprintf(line, sizeof(line), "kernel_cmdline: /boot/vmlinuz %s", cmdline);
        r = r ?: log_event(m, hl, 8, EV_IPL, line, strlen(line) + 1, line, strlen(line));
        r = r ?: log_event(m, hl, 9, EV_IPL, "/boot/vmlinuz", 14, kernel, strlen(kernel));
        r = r
                    ?: log_event(m, hl, 8, EV_IPL, "grub_cmd: initrd /boot/initrd.img", 34,
                               "grub_cmd: initrd /boot/initrd.img", 33);
        r = r ?: log_event(m, hl, 9, EV_IPL, "/boot/initrd.img", 17, initrd, strlen(initrd));
        return r;
}
