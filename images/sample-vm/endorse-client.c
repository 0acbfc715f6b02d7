/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tvam-endorse-client — the sample VM's side of ENDORSE / GET-ID (Terra
 * §4.3; docs/attestation.md "ENDORSE / GET-ID", docs/protocol.md "VM
 * channel"), and the TLS end of the attestation demo.
 *
 *  1. GET-ID on /dev/virtio-ports/org.tvam.endorse.0: the identity tvamd
 *     measured for this VM's image;
 *  2. an ECC P-256 key, generated here and kept in memory only, and a
 *     PKCS#10 request for it: ENDORSE returns an X.509 certificate signed by
 *     the platform key, naming that identity;
 *  3. TLS 1.3 with that key and certificate on org.tvam.tls.0: a verifier
 *     that checked the chain (tvam-verify tls-connect) shares a session
 *     secret with exactly this VM; one message each way, then the next
 *     session.  The message "renew" asks for a fresh ENDORSE (a new key):
 *     the reply is "renewed <fingerprint>" (later sessions use the new
 *     certificate) or "refused: <tvamd's reason>".
 *
 * Reports on stdout (the serial console) as "TVAM-SAMPLE-VM: ..." lines.
 * Statically linked, no configuration, no files written.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tvam/ipc/vmchan.h"

#define TRIES 60 /* one a second: tvamd connects to the port right after the VM starts */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
        va_list ap;
        char line[1024];

        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        printf("TVAM-SAMPLE-VM: %s\n", line);
        fflush(stdout);
}

static void pause_ms(long ms)
{
        nanosleep(&(struct timespec){ .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L }, NULL);
}

/* /dev/virtio-ports/NAME is a udev symlink; without udev look the port up
 * in sysfs (/sys/class/virtio-ports/vportXpY/name). */
static int port_open(const char *name)
{
        char path[300], buf[128];
        struct dirent *de;
        DIR *dir;
        int fd;

        snprintf(path, sizeof(path), "/dev/virtio-ports/%s", name);
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd >= 0)
                return fd;
        dir = opendir("/sys/class/virtio-ports");
        if (!dir)
                return -ENOENT;
        fd = -ENOENT;
        while ((de = readdir(dir))) {
                FILE *f;
                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", de->d_name);
                f = fopen(path, "re");
                if (!f)
                        continue;
                if (fgets(buf, sizeof(buf), f) && strcmp(strtok(buf, "\n") ?: "", name) == 0) {
                        snprintf(path, sizeof(path), "/dev/%s", de->d_name);
                        fd = open(path, O_RDWR | O_CLOEXEC);
                        if (fd < 0)
                                fd = -errno;
                }
                fclose(f);
                if (fd != -ENOENT)
                        break;
        }
        closedir(dir);
        return fd;
}

/* The port's host end is connected when poll() no longer reports POLLHUP. */
static int wait_host(int fd, int seconds)
{
        for (int i = 0; i < seconds * 5; i++) {
                struct pollfd p = { .fd = fd, .events = POLLOUT };
                if (poll(&p, 1, 200) > 0 && !(p.revents & POLLHUP))
                        return 0;
                pause_ms(200);
        }
        return -ETIMEDOUT;
}

/* One request, one response. */
static int exchange(int fd, enum vmchan_type type, const void *req, size_t req_size, struct vmchan_header *ret,
        uint8_t **ret_payload)
{
        int r = vmchan_send(fd, type, req, req_size);
        if (r < 0)
                return r;
        return vmchan_recv(fd, ret, ret_payload);
}

static uint8_t *csr_der(EVP_PKEY *key, size_t *ret_size)
{
        X509_REQ *req = X509_REQ_new();
        unsigned char *der = NULL;
        uint8_t *copy = NULL;
        int n = -1;

        if (req && X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_ASC,
                           (const unsigned char *)"tvam-sample-vm", -1, -1, 0) == 1 &&
                X509_REQ_set_pubkey(req, key) == 1 && X509_REQ_sign(req, key, EVP_sha256()) > 0)
                n = i2d_X509_REQ(req, &der);
        if (n > 0 && (copy = malloc((size_t)n)))
                memcpy(copy, der, (size_t)n);
        OPENSSL_free(der);
        X509_REQ_free(req);
        *ret_size = n > 0 ? (size_t)n : 0;
        return copy;
}

/* GET-ID and ENDORSE; on success the certificate in *ret_cert. */
static int obtain(EVP_PKEY *key, char *identity, size_t identity_size, X509 **ret_cert, char fp[65], char *reason,
        size_t reason_size)
{
        struct vmchan_header h;
        uint8_t *payload = NULL, *csr;
        size_t csr_size;
        int fd = -ENOENT, r;

        for (int i = 0; i < TRIES && fd < 0; i++) {
                fd = port_open(VMCHAN_PORT_ENDORSE);
                if (fd < 0)
                        pause_ms(1000);
        }
        if (fd < 0) {
                say("endorse: no virtio port %s: %s", VMCHAN_PORT_ENDORSE, strerror(-fd));
                return fd;
        }
        r = wait_host(fd, TRIES);
        if (r < 0) {
                say("endorse: tvamd never connected to %s", VMCHAN_PORT_ENDORSE);
                close(fd);
                return r;
        }

        r = exchange(fd, VMCHAN_GET_ID, NULL, 0, &h, &payload);
        if (r == 0 && h.type == VMCHAN_ID && h.length > 0 && h.length < identity_size) {
                memcpy(identity, payload, h.length);
                identity[h.length] = '\0';
                say("identity %s", identity);
        } else {
                say("endorse: GET-ID failed (%s)", r < 0 ? strerror(-r) : "unexpected response");
                r = r < 0 ? r : -EPROTO;
        }
        free(payload);
        payload = NULL;
        if (r < 0) {
                close(fd);
                return r;
        }

        csr = csr_der(key, &csr_size);
        if (!csr) {
                say("endorse: cannot build the certification request");
                close(fd);
                return -ENOMEM;
        }
        r = exchange(fd, VMCHAN_ENDORSE, csr, csr_size, &h, &payload);
        free(csr);
        close(fd);
        if (r < 0) {
                say("endorse: ENDORSE failed: %s", strerror(-r));
                return r;
        }
        if (h.type == VMCHAN_ERROR) {
                int err = EPROTO;
                snprintf(reason, reason_size, "?");
                (void)vmchan_error_parse(payload, h.length, &err, reason, reason_size);
                say("endorse refused: %s (%s)", reason, strerror(err));
                free(payload);
                return -err;
        }
        if (h.type == VMCHAN_CERTIFICATE) {
                const unsigned char *p = payload;
                *ret_cert = d2i_X509(NULL, &p, (long)h.length);
        }
        if (!*ret_cert || X509_check_private_key(*ret_cert, key) != 1) {
                say("endorse: the response is not a certificate for this VM's key");
                free(payload);
                return -EPROTO;
        }
        {
                unsigned char md[32];
                unsigned n = 0;
                X509_digest(*ret_cert, EVP_sha256(), md, &n);
                for (unsigned i = 0; i < 32; i++)
                        snprintf(fp + 2 * i, 3, "%02x", md[i]);
                say("certificate %s", fp);
        }
        free(payload);
        return 0;
}

static SSL_CTX *tls_context(EVP_PKEY *key, X509 *cert)
{
        SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

        /* No session tickets: every session is a full handshake with the
         * endorsed key, and nothing is left unread after the reply. */
        if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 || SSL_CTX_set_num_tickets(ctx, 0) != 1 ||
                SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
                SSL_CTX_free(ctx);
                return NULL;
        }
        return ctx;
}

/* "renew": a new key, GET-ID and ENDORSE again; REPLY says how it went.
 * On success the next sessions use the new key and certificate. */
static void renew(SSL_CTX **ctx, char *identity, size_t identity_size, char *reply, size_t reply_size)
{
        EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        char fp[65], reason[VMCHAN_REASON_MAX + 1] = "";
        X509 *cert = NULL;
        SSL_CTX *fresh;

        if (!key || obtain(key, identity, identity_size, &cert, fp, reason, sizeof(reason)) < 0 ||
                !(fresh = tls_context(key, cert))) {
                snprintf(reply, reply_size, "refused: %s", reason[0] ? reason : "the renewal failed");
                EVP_PKEY_free(key);
                X509_free(cert);
                return;
        }
        SSL_CTX_free(*ctx); /* sessions hold their own reference */
        *ctx = fresh;
        EVP_PKEY_free(key);
        X509_free(cert);
        snprintf(reply, reply_size, "renewed %s", fp);
}

/* The first bytes a session read, for the report of a failed handshake. */
static unsigned char trace[24];
static size_t trace_len;

static long trace_reads(BIO *b, int oper, const char *argp, size_t len, int argi, long argl, int ret,
        size_t *processed)
{
        (void)b, (void)len, (void)argi, (void)argl;
        if (oper == (BIO_CB_READ | BIO_CB_RETURN) && ret > 0 && processed)
                for (size_t i = 0; i < *processed && trace_len < sizeof(trace); i++)
                        trace[trace_len++] = (unsigned char)argp[i];
        return ret;
}

static void report_failure(SSL *ssl, int r)
{
        char err[256] = "no OpenSSL error", hex[2 * sizeof(trace) + 1] = "";
        unsigned long e = ERR_peek_error();

        if (e)
                ERR_error_string_n(e, err, sizeof(err));
        for (size_t i = 0; i < trace_len; i++)
                snprintf(hex + 2 * i, 3, "%02x", trace[i]);
        say("tls: session failed (SSL error %d: %s; first bytes read: %s)", SSL_get_error(ssl, r), err, hex);
}

/* TLS 1.3 sessions on the TLS port, one after the other, forever. */
static void serve_tls(EVP_PKEY *key, X509 *cert, char *identity, size_t identity_size)
{
        SSL_CTX *ctx = tls_context(key, cert);
        int fd = -1;

        if (!ctx) {
                say("tls: cannot set up TLS");
                return;
        }
        for (int i = 0; i < TRIES && fd < 0; i++) {
                fd = port_open(VMCHAN_PORT_TLS);
                if (fd < 0)
                        pause_ms(1000);
        }
        if (fd < 0) {
                say("tls: no virtio port %s", VMCHAN_PORT_TLS);
                return;
        }
        say("tls: serving TLS 1.3 on %s", VMCHAN_PORT_TLS);
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                char msg[512], reply[768];
                SSL *ssl;
                int n, r;

                /* Wait for a verifier's ClientHello (POLLHUP: nobody is
                 * connected, reads would return 0). */
                if (poll(&p, 1, 1000) <= 0 || !(p.revents & POLLIN) || (p.revents & POLLHUP)) {
                        pause_ms(200);
                        continue;
                }
                ssl = SSL_new(ctx);
                if (!ssl || SSL_set_fd(ssl, fd) != 1) {
                        SSL_free(ssl);
                        continue;
                }
                trace_len = 0;
                BIO_set_callback_ex(SSL_get_rbio(ssl), trace_reads);
                if ((r = SSL_accept(ssl)) == 1 && (r = n = SSL_read(ssl, msg, sizeof(msg) - 1)) > 0) {
                        msg[n] = '\0';
                        msg[strcspn(msg, "\r\n")] = '\0';
                        say("tls: received \"%.200s\" in a TLS 1.3 session (%s)", msg, SSL_get_cipher(ssl));
                        if (strcmp(msg, "renew") == 0)
                                renew(&ctx, identity, identity_size, reply, sizeof(reply));
                        else
                                snprintf(reply, sizeof(reply), "hello verifier, this is %s", identity);
                        (void)SSL_write(ssl, reply, (int)strlen(reply));
                        (void)SSL_shutdown(ssl);
                } else {
                        report_failure(ssl, r);
                        pause_ms(1000); /* a peer that keeps failing cannot flood the console */
                }
                SSL_free(ssl);
                ERR_clear_error();
                /* One session per connection: discard what is left until the
                 * verifier hangs up (read() returns 0 once the host end is
                 * closed and nothing is buffered), at most 10 s, so the next
                 * session starts with the next verifier's ClientHello. */
                for (int i = 0; i < 50; i++) {
                        if (poll(&p, 1, 200) < 0)
                                break;
                        if (p.revents & POLLIN) {
                                if (read(fd, msg, sizeof(msg)) <= 0)
                                        break;
                        } else if (p.revents & POLLHUP)
                                break;
                }
        }
}

int main(void)
{
        EVP_PKEY *key;
        X509 *cert = NULL;
        char identity[VMCHAN_REASON_MAX] = "", fp[65], reason[VMCHAN_REASON_MAX + 1];

        /* The key exists in this VM's memory only. */
        key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        if (!key) {
                say("endorse: cannot generate a P-256 key");
                return 1;
        }
        if (obtain(key, identity, sizeof(identity), &cert, fp, reason, sizeof(reason)) < 0)
                return 1;
        serve_tls(key, cert, identity, sizeof(identity));
        return 1;
}
