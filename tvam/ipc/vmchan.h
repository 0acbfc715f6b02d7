/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The VM channel: ENDORSE / GET-ID between a closed-box VM and tvamd over a
 * virtio-serial port (Terra §4.3 "ENDORSE", "GET-ID"; docs/protocol.md "VM
 * channel").  The guest sees the port as /dev/virtio-ports/org.tvam.endorse.0,
 * tvamd the host end as a Unix socket that QEMU listens on.
 *
 * One frame, request and response alike (all integers big-endian):
 *
 *   offset 0  2 bytes  magic "TV"
 *          2  1 byte   version (VMCHAN_VERSION)
 *          3  1 byte   type (enum vmchan_type)
 *          4  4 bytes  payload length, at most VMCHAN_PAYLOAD_MAX
 *          8  payload
 *
 *   GET_ID     request, empty payload
 *   ENDORSE    request, payload = PKCS#10 CertificationRequest (DER)
 *   ID         response, payload = the VM image identity (UTF-8,
 *              "verity:<root hash>"), from tvamd's records, never the guest
 *   CERTIFICATE response, payload = X.509 certificate (DER)
 *   ERROR      response, payload = 4-byte errno (positive) ‖ UTF-8 reason
 *
 * Strictly one response per request, in order.  A frame with a bad header
 * is answered with ERROR and the connection is dropped (a byte stream cannot
 * be resynchronised); the VM may send again after the host reconnects.
 *
 * Pure code (libc only): tvamd, the guest client and the fuzz target share
 * it.
 */

#include <stddef.h>
#include <stdint.h>

#define VMCHAN_MAGIC0 'T'
#define VMCHAN_MAGIC1 'V'
#define VMCHAN_VERSION 1
#define VMCHAN_HEADER_SIZE 8u
/* A P-256 CSR is ~250 bytes, a certificate ~600: 16 KiB is ample and
 * bounds what a hostile VM can make tvamd allocate. */
#define VMCHAN_PAYLOAD_MAX (16u * 1024u)
#define VMCHAN_REASON_MAX 512u

#define VMCHAN_PORT_ENDORSE "org.tvam.endorse.0"
#define VMCHAN_PORT_TLS "org.tvam.tls.0"

enum vmchan_type {
        VMCHAN_GET_ID = 0x01,
        VMCHAN_ENDORSE = 0x02,
        VMCHAN_ID = 0x81,
        VMCHAN_CERTIFICATE = 0x82,
        VMCHAN_ERROR = 0xff,
};

struct vmchan_header {
        enum vmchan_type type;
        uint32_t length;
};

/* Decode and check a header: -EBADMSG for a wrong magic or version,
 * -EPROTO for an unknown type, -EMSGSIZE for a payload over the limit, or a
 * GET_ID with a payload. */
int vmchan_header_parse(const uint8_t buf[VMCHAN_HEADER_SIZE], struct vmchan_header *ret);

/* Write the header of a frame of TYPE with LENGTH bytes of payload
 * (-EMSGSIZE over the limit). */
int vmchan_header_build(enum vmchan_type type, size_t length, uint8_t ret[VMCHAN_HEADER_SIZE]);

/* A whole frame in BUF (header and exactly its payload): the header, and
 * *ret_payload pointing into BUF.  -EBADMSG when SIZE is not exactly the
 * frame. */
int vmchan_frame_parse(const uint8_t *buf, size_t size, struct vmchan_header *ret, const uint8_t **ret_payload);

/* An ERROR payload: *ret_errno (positive) and the reason copied, NUL
 * terminated and with control characters replaced by '?', to REASON. */
int vmchan_error_parse(const uint8_t *payload, size_t size, int *ret_errno, char *reason, size_t reason_size);

/* Build an ERROR payload into BUF (at least 4 + VMCHAN_REASON_MAX bytes);
 * returns its length.  The reason is truncated to VMCHAN_REASON_MAX. */
size_t vmchan_error_build(int err, const char *reason, uint8_t *buf);

/* Read / write exactly N bytes on a blocking descriptor (EINTR retried).
 * Reading: -ECONNRESET on end of file. */
int vmchan_read_full(int fd, void *buf, size_t n);
int vmchan_write_full(int fd, const void *buf, size_t n);

/* Send one frame; receive one frame (payload malloc'd, NUL-terminated for
 * convenience, *ret_payload NULL when empty). */
int vmchan_send(int fd, enum vmchan_type type, const void *payload, size_t length);
int vmchan_recv(int fd, struct vmchan_header *ret, uint8_t **ret_payload);
