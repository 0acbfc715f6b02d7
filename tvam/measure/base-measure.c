/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Base image measurement (see base-measure.h). */

#include "tvam/measure/base-measure.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tvam/shared/hex.h"
#include "tvam/shared/macro.h"
#include "tvam/tpm/tpm-pcr.h"

#define READ_CHUNK (1u << 20)

static uint64_t le64(const uint8_t *p)
{
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
                v = v << 8 | p[i];
        return v;
}

static uint16_t le16(const uint8_t *p)
{
        return (uint16_t)(p[0] | p[1] << 8);
}

int base_squashfs_size(int fd, uint64_t device_size, uint64_t *ret_size)
{
        uint8_t sb[BASE_SQUASHFS_SUPERBLOCK_SIZE];
        ssize_t n;
        uint64_t used, size;

        n = pread(fd, sb, sizeof(sb), 0);
        if (n < 0)
                return -errno;
        if ((size_t)n < sizeof(sb))
                return -EBADMSG;
        /* s_magic "hsqs" (le32 0x73717368); 4.0 is the only format the
         * kernel mounts. */
        if (memcmp(sb, "hsqs", 4) != 0 || le16(sb + 28) != 4 || le16(sb + 30) != 0)
                return -EBADMSG;
        used = le64(sb + 40);
        if (used < sizeof(sb) || used > UINT64_MAX - BASE_SQUASHFS_PAD)
                return -EBADMSG;
        size = (used + BASE_SQUASHFS_PAD - 1) / BASE_SQUASHFS_PAD * BASE_SQUASHFS_PAD;
        if (device_size > 0 && size > device_size)
                return -EFBIG;
        *ret_size = size;
        return 0;
}

int base_image_sha256(int fd, uint64_t size, uint8_t ret[32])
{
        _cleanup_(digest_ctx_freep) struct digest_ctx *ctx = NULL;
        _cleanup_free_ uint8_t *buf = malloc(READ_CHUNK);
        uint64_t off = 0;
        int r;

        if (!buf)
                return -ENOMEM;
        r = digest_begin(DIGEST_SHA256, &ctx);
        if (r < 0)
                return r;
        while (off < size) {
                size_t want = size - off < READ_CHUNK ? (size_t)(size - off) : READ_CHUNK;
                ssize_t n = pread(fd, buf, want, (off_t)off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO; /* the device is shorter than the image claims */
                r = digest_update(ctx, buf, (size_t)n);
                if (r < 0)
                        return r;
                off += (uint64_t)n;
        }
        r = digest_end(TAKE_PTR(ctx), ret);
        return r;
}

int base_measure_tpm_banks(struct tpm_context *c, enum digest_alg *ret_algs, size_t *ret_n)
{
        static const enum digest_alg all[] = { DIGEST_SHA1, DIGEST_SHA256, DIGEST_SHA384, DIGEST_SHA512 };
        size_t n = 0;

        for (size_t i = 0; i < ELEMENTSOF(all); i++) {
                int r = tpm_pcr_bank_available(c, all[i]);
                if (r < 0)
                        return r;
                if (r > 0)
                        ret_algs[n++] = all[i];
        }
        if (n == 0)
                return -ENODEV;
        *ret_n = n;
        return 0;
}

int base_measure_event(struct tpm_context *c, struct eventlog_writer *log, unsigned pcr, const char *name,
        const uint8_t sha256[32], const enum digest_alg *algs, size_t n_algs)
{
        struct eventlog_tvam_event e = { .kind = EVENTLOG_TVAM_BASE_IMAGE };
        _cleanup_free_ char *hex = NULL;
        int r;

        if (strlen(name) > EVENTLOG_TVAM_NAME_MAX)
                return -EINVAL;
        r = hex_encode(sha256, 32, &hex);
        if (r < 0)
                return r;
        snprintf(e.name, sizeof(e.name), "%s", name);
        snprintf(e.identity, sizeof(e.identity), "sha256:%s", hex);
        if (log) {
                r = eventlog_writer_append_tvam(log, pcr, &e);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n_algs; i++) {
                uint8_t d[DIGEST_MAX_SIZE];
                r = eventlog_tvam_digest(&e, algs[i], d);
                if (r < 0)
                        return r;
                r = tpm_pcr_extend(c, pcr, algs[i], d);
                if (r < 0)
                        return r;
        }
        return 0;
}
