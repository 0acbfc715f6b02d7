/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the VM channel (tvam/ipc/vmchan.c: ENDORSE / GET-ID frames,
 * docs/protocol.md "VM channel") and of the CSR check tvamd applies to an
 * ENDORSE request (tvam/attest/csr.c): every malformed header, oversize
 * frame and forged request is refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tvam/attest/csr.h"
#include "tvam/ipc/vmchan.h"
#include "tvam/shared/macro.h"

static void test_header_roundtrip(void **state)
{
        uint8_t h[VMCHAN_HEADER_SIZE];
        struct vmchan_header hdr;

        (void)state;
        assert_int_equal(vmchan_header_build(VMCHAN_ENDORSE, 300, h), 0);
        assert_memory_equal(h, "TV\x01\x02\x00\x00\x01\x2c", 8);
        assert_int_equal(vmchan_header_parse(h, &hdr), 0);
        assert_int_equal(hdr.type, VMCHAN_ENDORSE);
        assert_int_equal(hdr.length, 300);
        assert_int_equal(vmchan_header_build(VMCHAN_ERROR, VMCHAN_PAYLOAD_MAX + 1, h), -EMSGSIZE);
}

static void test_header_refused(void **state)
{
        struct vmchan_header hdr = { .type = VMCHAN_ID, .length = 7 };

        (void)state;
        assert_int_equal(vmchan_header_parse((const uint8_t *)"XV\x01\x01\0\0\0\0", &hdr), -EBADMSG);
        assert_int_equal(vmchan_header_parse((const uint8_t *)"TV\x02\x01\0\0\0\0", &hdr), -EBADMSG);
        assert_int_equal(vmchan_header_parse((const uint8_t *)"TV\x01\x03\0\0\0\0", &hdr), -EPROTO);
        assert_int_equal(vmchan_header_parse((const uint8_t *)"TV\x01\x00\0\0\0\0", &hdr), -EPROTO);
        /* 16 KiB + 1, and 4 GiB - 1: over the bound, nothing is allocated */
        assert_int_equal(vmchan_header_parse((const uint8_t *)"TV\x01\x02\0\0\x40\x01", &hdr), -EMSGSIZE);
        assert_int_equal(vmchan_header_parse((const uint8_t *)"TV\x01\x02\xff\xff\xff\xff", &hdr), -EMSGSIZE);
        /* GET-ID carries nothing */
        assert_int_equal(vmchan_header_parse((const uint8_t *)"TV\x01\x01\0\0\0\x01", &hdr), -EMSGSIZE);
        /* the output is untouched on failure */
        assert_int_equal(hdr.type, VMCHAN_ID);
        assert_int_equal(hdr.length, 7);
        assert_int_equal(vmchan_header_parse((const uint8_t *)"TV\x01\x01\0\0\0\0", &hdr), 0);
        assert_int_equal(hdr.type, VMCHAN_GET_ID);
}

static void test_frame_parse(void **state)
{
        static const uint8_t frame[] = "TV\x01\x81\0\0\0\x05verit";
        struct vmchan_header hdr;
        const uint8_t *payload = NULL;

        (void)state;
        assert_int_equal(vmchan_frame_parse(frame, 13, &hdr, &payload), 0);
        assert_int_equal(hdr.type, VMCHAN_ID);
        assert_ptr_equal(payload, frame + 8);
        assert_int_equal(vmchan_frame_parse(frame, 12, &hdr, &payload), -EBADMSG); /* short */
        assert_int_equal(vmchan_frame_parse(frame, 14, &hdr, &payload), -EBADMSG); /* trailing */
        assert_int_equal(vmchan_frame_parse(frame, 7, &hdr, &payload), -EBADMSG);
}

static void test_error_payload(void **state)
{
        uint8_t buf[4 + VMCHAN_REASON_MAX];
        char reason[64], big[VMCHAN_REASON_MAX + 100];
        size_t n;
        int err = 0;

        (void)state;
        n = vmchan_error_build(-EPERM, "PCR 14\nchanged", buf);
        assert_int_equal(n, 4 + 14);
        assert_int_equal(vmchan_error_parse(buf, n, &err, reason, sizeof(reason)), 0);
        assert_int_equal(err, EPERM);
        assert_string_equal(reason, "PCR 14?changed"); /* no control characters reach a log */
        /* the reason is bounded when built and when parsed */
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(vmchan_error_build(EIO, big, buf), 4 + VMCHAN_REASON_MAX);
        assert_int_equal(vmchan_error_parse(buf, 4 + VMCHAN_REASON_MAX, &err, reason, sizeof(reason)), 0);
        assert_int_equal(strlen(reason), sizeof(reason) - 1);
        assert_int_equal(vmchan_error_parse(buf, 3, &err, reason, sizeof(reason)), -EBADMSG);
        memcpy(buf, "\0\0\0\0", 4);
        assert_int_equal(vmchan_error_parse(buf, 4, &err, reason, sizeof(reason)), -EBADMSG); /* errno 0 */
        memcpy(buf, "\0\0\x10\0", 4);
        assert_int_equal(vmchan_error_parse(buf, 4, &err, reason, sizeof(reason)), -EBADMSG); /* 4096 */
}

/* Send and receive over a socket pair, and a peer that hangs up mid-frame. */
static void test_send_recv(void **state)
{
        struct vmchan_header hdr;
        uint8_t *payload = NULL;
        int sv[2];

        (void)state;
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        assert_int_equal(vmchan_send(sv[0], VMCHAN_ID, "verity:ab", 9), 0);
        assert_int_equal(vmchan_send(sv[0], VMCHAN_GET_ID, NULL, 0), 0);
        assert_int_equal(vmchan_recv(sv[1], &hdr, &payload), 0);
        assert_int_equal(hdr.type, VMCHAN_ID);
        assert_string_equal((char *)payload, "verity:ab");
        free(payload);
        assert_int_equal(vmchan_recv(sv[1], &hdr, &payload), 0);
        assert_int_equal(hdr.type, VMCHAN_GET_ID);
        assert_null(payload);
        /* a header promising 100 bytes, then 10 and the end */
        assert_int_equal(write(sv[0], "TV\x01\x02\0\0\0\x64" "0123456789", 18), 18);
        close(sv[0]);
        assert_int_equal(vmchan_recv(sv[1], &hdr, &payload), -ECONNRESET);
        close(sv[1]);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(X509_REQ *, X509_REQ_free);

/* A CSR (DER) for a fresh key of KEYTYPE ("EC" P-256 or "RSA"), signed by
 * its own key, or by SIGNER when given (a forged proof of possession). */
static uint8_t *make_csr(const char *keytype, EVP_PKEY *signer, size_t *ret_size, EVP_PKEY **ret_key)
{
        _cleanup_(X509_REQ_freep) X509_REQ *req = X509_REQ_new();
        EVP_PKEY *key = strcmp(keytype, "EC") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
                                                   : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        X509_NAME *name = X509_REQ_get_subject_name(req);
        unsigned char *der = NULL;
        uint8_t *copy;
        int n;

        assert_non_null(key);
        assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"vm", -1, -1, 0), 1);
        assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
        assert_true(X509_REQ_sign(req, signer ? signer : key, EVP_sha256()) > 0);
        n = i2d_X509_REQ(req, &der);
        assert_true(n > 0);
        copy = malloc((size_t)n + 1);
        assert_non_null(copy);
        memcpy(copy, der, (size_t)n);
        OPENSSL_free(der);
        *ret_size = (size_t)n;
        if (ret_key)
                *ret_key = key;
        else
                EVP_PKEY_free(key);
        return copy;
}

static void test_csr(void **state)
{
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL, *other = NULL;
        _cleanup_free_ uint8_t *csr = NULL, *forged = NULL, *rsa = NULL, *spki = NULL;
        unsigned char *want = NULL;
        char error[256];
        size_t size, forged_size, rsa_size, spki_size = 0;
        int n;

        (void)state;
        csr = make_csr("EC", NULL, &size, &key);
        assert_int_equal(attest_csr_check(csr, size, &spki, &spki_size, error, sizeof(error)), 0);
        n = i2d_PUBKEY(key, &want);
        assert_int_equal((size_t)n, spki_size);
        assert_memory_equal(spki, want, spki_size);
        OPENSSL_free(want);

        /* A bit flipped in the signature: no proof of possession. */
        csr[size - 5] ^= 1;
        assert_int_equal(attest_csr_check(csr, size, &spki, &spki_size, error, sizeof(error)), -EPERM);
        assert_non_null(strstr(error, "self-signature"));
        csr[size - 5] ^= 1;
        /* Signed with another key than the one it asks to certify. */
        other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        forged = make_csr("EC", other, &forged_size, NULL);
        assert_int_equal(attest_csr_check(forged, forged_size, &spki, &spki_size, error, sizeof(error)), -EPERM);
        /* Trailing bytes, truncation, garbage, nothing. */
        csr[size] = 0;
        assert_int_equal(attest_csr_check(csr, size + 1, &spki, &spki_size, error, sizeof(error)), -EBADMSG);
        assert_int_equal(attest_csr_check(csr, size - 1, &spki, &spki_size, error, sizeof(error)), -EBADMSG);
        assert_int_equal(attest_csr_check((const uint8_t *)"hello", 5, &spki, &spki_size, error, sizeof(error)),
                -EBADMSG);
        assert_int_equal(attest_csr_check(csr, 0, &spki, &spki_size, error, sizeof(error)), -EBADMSG);
        /* an ENDORSE frame with an empty payload (tvamd passes NULL, 0) */
        assert_int_equal(attest_csr_check(NULL, 0, &spki, &spki_size, error, sizeof(error)), -EBADMSG);
        /* Not P-256. */
        rsa = make_csr("RSA", NULL, &rsa_size, NULL);
        assert_int_equal(attest_csr_check(rsa, rsa_size, &spki, &spki_size, error, sizeof(error)), -EOPNOTSUPP);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_header_roundtrip),
                cmocka_unit_test(test_header_refused),
                cmocka_unit_test(test_frame_parse),
                cmocka_unit_test(test_error_payload),
                cmocka_unit_test(test_send_recv),
                cmocka_unit_test(test_csr),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
