/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/verify/tls.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tvam/shared/macro.h"

#define SESSION_TIMEOUT_S 60

DEFINE_TRIVIAL_CLEANUP_FUNC(SSL_CTX *, SSL_CTX_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(SSL *, SSL_free);

/* What the handshake's certificate check needs and tells. */
struct peer_check {
        struct crypto_key *platform_key;
        const struct verify_manifest *m;
        char identity[1100];
        char fingerprint[65];
        char error[512];
        int verdict; /* 1 accepted, 0 refused, -1 not reached */
};

/* Replaces OpenSSL's PKIX path building (SSL_CTX_set_cert_verify_callback):
 * the leaf must be a VM certificate of the accepted platform key whose
 * identity the manifest lists; returning 0 aborts the handshake. */
static int check_peer(X509_STORE_CTX *store, void *arg)
{
        struct peer_check *pc = arg;
        X509 *leaf = X509_STORE_CTX_get0_cert(store);
        unsigned char *der = NULL;
        char serial[80];
        int n, r;

        pc->verdict = 0;
        if (!leaf || (n = i2d_X509(leaf, &der)) <= 0) {
                snprintf(pc->error, sizeof(pc->error), "the peer sent no certificate");
                return 0;
        }
        crypto_cert_describe(der, (size_t)n, serial, sizeof(serial), pc->fingerprint);
        r = verify_vm_certificate(der, (size_t)n, pc->platform_key, pc->m, pc->identity, sizeof(pc->identity),
                pc->error, sizeof(pc->error));
        OPENSSL_free(der);
        if (r < 0) {
                if (!pc->error[0])
                        snprintf(pc->error, sizeof(pc->error), "%s", strerror(-r));
                X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
                return 0;
        }
        pc->verdict = 1;
        return 1;
}

static int unix_connect(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timeval tv = { .tv_sec = SESSION_TIMEOUT_S };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* A VM that never answers must not hang the verifier. */
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static void ssl_error(char *error, size_t size, const char *what)
{
        unsigned long e = ERR_get_error();
        char buf[256] = "no details";

        if (e)
                ERR_error_string_n(e, buf, sizeof(buf));
        snprintf(error, size, "%s: %s", what, buf);
        ERR_clear_error();
}

int verify_tls_session(const char *socket_path, struct crypto_key *platform_key, const struct verify_manifest *m,
        const char *message, char *ret_identity, size_t identity_size, char ret_fingerprint[65], char *ret_reply,
        size_t reply_size, char *error, size_t error_size)
{
        _cleanup_(SSL_CTX_freep) SSL_CTX *ctx = NULL;
        _cleanup_(SSL_freep) SSL *ssl = NULL;
        _cleanup_close_ int fd = -1;
        struct peer_check pc = { .platform_key = platform_key, .m = m, .verdict = -1 };
        int n;

        assert(socket_path && platform_key && m && message && ret_identity && ret_reply && reply_size > 0);
        ctx = SSL_CTX_new(TLS_client_method());
        if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1)
                return ssl_error(error, error_size, "cannot set up TLS 1.3"), -ENOMEM;
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_cert_verify_callback(ctx, check_peer, &pc);
        fd = unix_connect(socket_path);
        if (fd < 0) {
                snprintf(error, error_size, "cannot connect to %s: %s", socket_path, strerror(-fd));
                return fd;
        }
        ssl = SSL_new(ctx);
        if (!ssl || SSL_set_fd(ssl, fd) != 1)
                return ssl_error(error, error_size, "cannot set up the session"), -ENOMEM;
        if (SSL_connect(ssl) != 1) {
                if (pc.verdict == 0) {
                        snprintf(error, error_size, "peer refused: %s", pc.error);
                        ERR_clear_error();
                        return -EPERM;
                }
                ssl_error(error, error_size, "TLS handshake failed");
                return -EPROTO;
        }
        /* Belt and braces: a handshake that skipped the check is refused. */
        if (pc.verdict != 1 || SSL_get_verify_result(ssl) != X509_V_OK) {
                snprintf(error, error_size, "peer refused: its certificate was not checked");
                return -EPERM;
        }
        if (strlen(pc.identity) >= identity_size)
                return -ENOBUFS;
        if (SSL_write(ssl, message, (int)strlen(message)) <= 0)
                return ssl_error(error, error_size, "cannot send"), -EIO;
        n = SSL_read(ssl, ret_reply, (int)reply_size - 1);
        if (n <= 0)
                return ssl_error(error, error_size, "no reply"), -EIO;
        ret_reply[n] = '\0';
        for (int i = 0; i < n; i++)
                if ((unsigned char)ret_reply[i] < 0x20 || ret_reply[i] == 0x7f)
                        ret_reply[i] = '?';
        /* A full close (RFC 8446 §6.1): send close_notify and read up to the
         * VM's, so none of its output is left in the virtio-serial path for
         * the next verifier to read as the start of its handshake. */
        if (SSL_shutdown(ssl) == 0) {
                char rest[256];
                while (SSL_read(ssl, rest, sizeof(rest)) > 0)
                        ;
        }
        ERR_clear_error();
        strcpy(ret_identity, pc.identity);
        memcpy(ret_fingerprint, pc.fingerprint, 65);
        return 0;
}
