/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/ipc/vmchan.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint32_t get_be32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

static int type_valid(unsigned t)
{
        return t == VMCHAN_GET_ID || t == VMCHAN_ENDORSE || t == VMCHAN_ID || t == VMCHAN_CERTIFICATE ||
               t == VMCHAN_ERROR;
}

int vmchan_header_parse(const uint8_t buf[VMCHAN_HEADER_SIZE], struct vmchan_header *ret)
{
        uint32_t length;

        assert(buf && ret);
        if (buf[0] != VMCHAN_MAGIC0 || buf[1] != VMCHAN_MAGIC1 || buf[2] != VMCHAN_VERSION)
                return -EBADMSG;
        if (!type_valid(buf[3]))
                return -EPROTO;
        length = get_be32(buf + 4);
        if (length > VMCHAN_PAYLOAD_MAX || (buf[3] == VMCHAN_GET_ID && length != 0))
                return -EMSGSIZE;
        *ret = (struct vmchan_header){ .type = (enum vmchan_type)buf[3], .length = length };
        return 0;
}

int vmchan_header_build(enum vmchan_type type, size_t length, uint8_t ret[VMCHAN_HEADER_SIZE])
{
        assert(type_valid((unsigned)type));
        if (length > VMCHAN_PAYLOAD_MAX)
                return -EMSGSIZE;
        ret[0] = VMCHAN_MAGIC0;
        ret[1] = VMCHAN_MAGIC1;
        ret[2] = VMCHAN_VERSION;
        ret[3] = (uint8_t)type;
        put_be32(ret + 4, (uint32_t)length);
        return 0;
}

int vmchan_frame_parse(const uint8_t *buf, size_t size, struct vmchan_header *ret, const uint8_t **ret_payload)
{
        struct vmchan_header h;
        int r;

        if (size < VMCHAN_HEADER_SIZE)
                return -EBADMSG;
        r = vmchan_header_parse(buf, &h);
        if (r < 0)
                return r;
        if (size - VMCHAN_HEADER_SIZE != h.length)
                return -EBADMSG;
        *ret = h;
        *ret_payload = buf + VMCHAN_HEADER_SIZE;
        return 0;
}

int vmchan_error_parse(const uint8_t *payload, size_t size, int *ret_errno, char *reason, size_t reason_size)
{
        uint32_t err;
        size_t n;

        assert(reason && reason_size > 0);
        if (size < 4 || size - 4 > VMCHAN_REASON_MAX)
                return -EBADMSG;
        err = get_be32(payload);
        if (err == 0 || err > 4095) /* an errno, as Linux's MAX_ERRNO bounds them */
                return -EBADMSG;
        n = size - 4 < reason_size - 1 ? size - 4 : reason_size - 1;
        for (size_t i = 0; i < n; i++) {
                uint8_t c = payload[4 + i];
                reason[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
        }
        reason[n] = '\0';
        *ret_errno = (int)err;
        return 0;
}

size_t vmchan_error_build(int err, const char *reason, uint8_t *buf)
{
        size_t n = reason ? strnlen(reason, VMCHAN_REASON_MAX) : 0;

        put_be32(buf, (uint32_t)(err < 0 ? -err : err));
        if (n)
                memcpy(buf + 4, reason, n);
        return 4 + n;
}

int vmchan_read_full(int fd, void *buf, size_t n)
{
        uint8_t *p = buf;

        while (n > 0) {
                ssize_t k = read(fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        return -ECONNRESET;
                p += k;
                n -= (size_t)k;
        }
        return 0;
}

int vmchan_write_full(int fd, const void *buf, size_t n)
{
        const uint8_t *p = buf;

        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                p += k;
                n -= (size_t)k;
        }
        return 0;
}

int vmchan_send(int fd, enum vmchan_type type, const void *payload, size_t length)
{
        uint8_t h[VMCHAN_HEADER_SIZE];
        int r;

        r = vmchan_header_build(type, length, h);
        if (r < 0)
                return r;
        r = vmchan_write_full(fd, h, sizeof(h));
        if (r < 0 || length == 0)
                return r;
        return vmchan_write_full(fd, payload, length);
}

int vmchan_recv(int fd, struct vmchan_header *ret, uint8_t **ret_payload)
{
        uint8_t h[VMCHAN_HEADER_SIZE], *payload = NULL;
        struct vmchan_header hdr;
        int r;

        r = vmchan_read_full(fd, h, sizeof(h));
        if (r < 0)
                return r;
        r = vmchan_header_parse(h, &hdr);
        if (r < 0)
                return r;
        if (hdr.length > 0) {
                payload = malloc(hdr.length + 1);
                if (!payload)
                        return -ENOMEM;
                r = vmchan_read_full(fd, payload, hdr.length);
                if (r < 0) {
                        free(payload);
                        return r;
                }
                payload[hdr.length] = 0;
        }
        *ret = hdr;
        *ret_payload = payload;
        return 0;
}
