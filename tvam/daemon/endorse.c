/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ENDORSE / GET-ID for running VMs (Terra §4.3; issue 7 part 5;
 * docs/attestation.md "ENDORSE / GET-ID", docs/protocol.md "VM channel").
 *
 * Every application VM gets a virtio-serial port org.tvam.endorse.0 whose
 * host end is a Unix socket QEMU listens on (RUN_DIR/vm/NAME/endorse.sock).
 * A thread per VM connects to it and answers the guest:
 *
 *   GET-ID   → the identity tvamd recorded when it opened and measured the
 *              VM's image (never anything the guest says);
 *   ENDORSE  → PKCS#10 self-signature checked, then attest_endorse(): an
 *              X.509 certificate for the guest's key with that identity,
 *              signed in the TPM by the platform key, which signs only while
 *              the PCRs are in the state its policy names.
 *
 * The thread blocks on the guest, never the main loop; it takes d->lock
 * (the lock the main loop holds while it serves a request) only around the
 * TPM work, so tvamctl clients and other VMs are not held up by a slow or
 * hostile guest.  The thread ends when QEMU closes the socket (the VM is
 * gone).  The TLS port org.tvam.tls.0 is only defined here: the remote
 * verifier talks to the guest over it (tvam-verify tls-connect).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "tvam/attest/attest.h"
#include "tvam/attest/csr.h"
#include "tvam/attest/endorse.h"
#include "tvam/daemon/daemon.h"
#include "tvam/daemon/mode.h"
#include "tvam/daemon/policy.h"
#include "tvam/ipc/vmchan.h"
#include "tvam/shared/digest.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/log.h"
#include "tvam/shared/macro.h"
#include "tvam/tpm/tpm-pcr.h"
#include "tvam/virt/virt-xml.h"

/* The PCR values the platform key's policy is bound to (u32 mask ‖ 24 ×
 * SHA-256), kept next to the key so a refusal can name the PCR that moved. */
#define PLATFORM_KEY_STATE "platform-key.pcrs"
#define CERT_VALIDITY_DAYS 30
#define CONNECT_TRIES 50 /* × 100 ms: QEMU creates the socket while the domain starts */

#define FAIL(err, ...)                                                                                      \
        ({                                                                                                  \
                snprintf(message, message_size, __VA_ARGS__);                                               \
                (err);                                                                                      \
        })

/* ---- the platform key -------------------------------------------------- */

static void state_path(struct daemon *d, char *buf, size_t size)
{
        snprintf(buf, size, "%s/%s", d->state_dir, PLATFORM_KEY_STATE);
}

static int save_state(struct daemon *d, const struct pcr_bank *bank, uint32_t mask)
{
        uint8_t buf[4 + PCR_COUNT * 32];
        char path[4200];

        memcpy(buf, &mask, 4);
        for (unsigned i = 0; i < PCR_COUNT; i++)
                memcpy(buf + 4 + 32 * i, bank->values[i], 32);
        state_path(d, path, sizeof(path));
        return atomic_file_write(path, buf, sizeof(buf), 0600);
}

/* Which PCR of the key's policy differs from its value now (PCR 15 as it
 * is: Application Mode must be on): the first one, or -1 if none or
 * unknown.  Only for the refusal's message: the TPM decided. */
static int moved_pcr(struct daemon *d, struct tpm_context *tpm)
{
        _cleanup_free_ uint8_t *buf = NULL;
        struct pcr_bank now;
        char path[4200];
        uint32_t mask;
        size_t size;

        state_path(d, path, sizeof(path));
        if (read_full_file(path, 4096, &buf, &size) < 0 || size != 4 + PCR_COUNT * 32)
                return -1;
        memcpy(&mask, buf, 4);
        if (tpm_pcr_read(tpm, DIGEST_SHA256, mask, &now) < 0)
                return -1;
        for (unsigned i = 0; i < PCR_COUNT; i++)
                if ((mask & (1u << i)) && memcmp(buf + 4 + 32 * i, now.values[i], 32) != 0)
                        return (int)i;
        return -1;
}

int daemon_platform_key(struct daemon *d, struct tpm_context *tpm, bool replace, char *message, size_t message_size)
{
        struct pcr_bank state;
        uint32_t mask;
        char path[4200];
        int r;

        snprintf(path, sizeof(path), "%s/%s", d->state_dir, ATTEST_PLATFORM_KEY_BLOB);
        if (!replace && access(path, F_OK) == 0)
                return 0;
        /* The state the key will sign in: the launch PCRs and 14 as they are
         * now, 15 as it is in Application Mode (what application keys are
         * sealed to, apps.c). */
        r = daemon_application_state(d, tpm, &state, &mask);
        if (r < 0)
                return FAIL(r, "cannot read the PCRs: %s", strerror(-r));
        r = attest_platform_key_ensure(tpm, d->state_dir, &state, mask);
        if (r < 0)
                return FAIL(r, "cannot create the platform key: %s", strerror(-r));
        if (r > 0)
                log_info("platform key created (policy: PolicyPCR over PCR mask 0x%06x)", mask);
        if (save_state(d, &state, mask) < 0)
                log_warning("cannot record the platform key's PCR state (refusals will not name the PCR)");
        return 0;
}

/* platform-key: make sure the platform key exists for the current state,
 * and TPM2_Certify it by the AK with the verifier's nonce. */
int method_platform_key(struct daemon *d, json_object *params, const int *fds, size_t n_fds,
        json_object **ret_result, char *message, size_t message_size)
{
        _cleanup_free_ uint8_t *nonce = NULL;
        _cleanup_free_ char *out = NULL;
        struct tpm_context *tpm;
        const char *nonce_hex = NULL;
        json_object *v, *doc;
        size_t n = 0;
        int r;

        (void)fds, (void)n_fds;
        if (json_object_object_get_ex(params, "nonce", &v) && json_object_is_type(v, json_type_string))
                nonce_hex = json_object_get_string(v);
        if (!nonce_hex || hex_decode(nonce_hex, &nonce, &n) < 0 || n < ATTEST_NONCE_MIN || n > ATTEST_NONCE_MAX)
                return FAIL(-EINVAL, "the nonce must be %u to %u bytes in hex (the verifier's, fresh for this "
                                     "request)", ATTEST_NONCE_MIN, ATTEST_NONCE_MAX);
        r = daemon_attest_tpm(d, &tpm, message, message_size);
        if (r < 0)
                return r;
        r = attest_ak_ensure(tpm, d->state_dir);
        if (r < 0)
                return FAIL(r, "cannot create the attestation key: %s", strerror(-r));
        r = daemon_platform_key(d, tpm, true, message, message_size);
        if (r < 0)
                return r;
        r = attest_platform_key_certify(tpm, d->state_dir, nonce, n, &out);
        if (r < 0)
                return FAIL(r, "cannot certify the platform key: %s", strerror(-r));
        doc = json_tokener_parse(out);
        *ret_result = doc ? doc : json_object_new_string(out);
        log_info("platform key certified by the attestation key");
        return 0;
}

/* ---- the channel ------------------------------------------------------- */

struct channel {
        struct daemon *d;
        char name[VIRT_NAME_MAX + 1];
        char identity[MANIFEST_IDENTITY_MAX];
        char path[108];
};

static int run_dir(struct daemon *d, char *buf, size_t size)
{
        const char *slash = strrchr(d->socket_path, '/');
        size_t n = slash ? (size_t)(slash - d->socket_path) : 0;

        if (n == 0 || n >= size)
                return -EINVAL;
        memcpy(buf, d->socket_path, n);
        buf[n] = '\0';
        return 0;
}

int daemon_channel_paths(struct daemon *d, const char *name, char endorse[108], char tls[108])
{
        char dir[108];
        int r;

        r = run_dir(d, dir, sizeof(dir));
        if (r < 0)
                return r;
        if ((size_t)snprintf(endorse, 108, "%s/vm/%s/endorse.sock", dir, name) >= 108 ||
                (size_t)snprintf(tls, 108, "%s/vm/%s/tls.sock", dir, name) >= 108)
                return -ENAMETOOLONG;
        /* RUN_DIR/vm/NAME: root's; QEMU (root in TVAM's libvirt) creates
         * the sockets in it. */
        snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/vm");
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        if ((size_t)snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/%s", name) >= sizeof(dir))
                return -ENAMETOOLONG;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

void daemon_channel_clear(const char *endorse, const char *tls)
{
        /* A socket left by a VM that is gone would make QEMU's bind fail.
         * Only for a VM known not to run: the sockets of a running one are
         * its live channel (apps.c calls this after app_open()). */
        (void)unlink(endorse);
        (void)unlink(tls);
}

static int channel_connect(const char *path)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int r = -ENOENT;

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        for (int i = 0; i < CONNECT_TRIES; i++) {
                int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return -errno;
                if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
                        return fd;
                r = -errno;
                close(fd);
                if (r != -ENOENT && r != -ECONNREFUSED)
                        break;
                nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
        }
        return r;
}

static int send_error(int fd, int err, const char *reason)
{
        uint8_t buf[4 + VMCHAN_REASON_MAX];
        return vmchan_send(fd, VMCHAN_ERROR, buf, vmchan_error_build(err, reason, buf));
}

DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free);

/* Serial number (hex) and SHA-256 fingerprint of an issued certificate, for
 * the log: public data only. */
static void describe_cert(const uint8_t *der, size_t size, char *serial, size_t serial_size, char fp[65])
{
        _cleanup_(X509_freep) X509 *x = NULL;
        const unsigned char *p = der;
        uint8_t md[32];
        BIGNUM *bn;
        char *hex;

        snprintf(serial, serial_size, "?");
        fp[0] = '\0';
        if (digest_buffer(DIGEST_SHA256, der, size, md) == 0)
                for (unsigned i = 0; i < 32; i++)
                        snprintf(fp + 2 * i, 3, "%02x", md[i]);
        x = d2i_X509(NULL, &p, (long)size);
        if (!x || !(bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)))
                return;
        hex = BN_bn2hex(bn);
        if (hex)
                snprintf(serial, serial_size, "%s", hex);
        OPENSSL_free(hex);
        BN_free(bn);
}

/* What the guest is told: a fixed reason per class of refusal; the detail
 * (errno text, PCR numbers, TPM errors) stays in tvamd's log. */
#define REASON_CSR "refused: invalid certification request (form or self-signature)"
#define REASON_MODE "refused: not in Application Mode"
#define REASON_STATE "refused: platform not in its trusted state"
#define REASON_INTERNAL "internal error"

/* ENDORSE: check → issue (under the daemon lock) → log.  On refusal the
 * detail goes to MESSAGE, the guest's reason to *RET_REASON, and nothing is
 * issued. */
static int endorse(struct channel *ch, const uint8_t *csr, size_t csr_size, uint8_t **ret_der, size_t *ret_size,
        const char **ret_reason, char *message, size_t message_size)
{
        struct daemon *d = ch->d;
        _cleanup_free_ uint8_t *spki = NULL;
        _cleanup_free_ char *fields = NULL;
        struct tpm_context *tpm;
        enum tvam_mode mode;
        char error[256], serial[80], fp[65];
        size_t spki_size;
        int r;

        *ret_reason = REASON_INTERNAL;
        r = attest_csr_check(csr, csr_size, &spki, &spki_size, error, sizeof(error));
        if (r < 0) {
                *ret_reason = REASON_CSR;
                return FAIL(r, "certification request refused: %s", error);
        }

        pthread_mutex_lock(&d->lock);
        r = daemon_attest_tpm(d, &tpm, message, message_size);
        if (r < 0)
                goto out;
        r = mode_get(tpm, &mode);
        if (r < 0) {
                r = FAIL(r, "cannot read PCR %d (the platform's mode): %s; no endorsement", MODE_PCR, strerror(-r));
                goto out;
        }
        if (mode != MODE_APPLICATION) {
                *ret_reason = REASON_MODE;
                r = FAIL(-EPERM, "the platform is not in Application Mode (PCR %d): no endorsement", MODE_PCR);
                goto out;
        }
        r = daemon_platform_key(d, tpm, false, message, message_size);
        if (r < 0)
                goto out;
        r = attest_endorse(tpm, d->state_dir, spki, spki_size, ch->name, ch->identity, CERT_VALIDITY_DAYS, ret_der,
                ret_size);
        if (r == -EPERM)
                *ret_reason = REASON_STATE;
        if (r == -EPERM) {
                int pcr = moved_pcr(d, tpm);
                if (pcr >= 0)
                        FAIL(r, "the TPM refused to sign: PCR %d left the trusted state the platform key is bound "
                                "to (its PolicyPCR no longer holds); nothing issued", pcr);
                else
                        FAIL(r, "the TPM refused to sign: the platform left the trusted state the platform key is "
                                "bound to (its PolicyPCR no longer holds); nothing issued");
        } else if (r < 0)
                FAIL(r, "the platform key could not sign: %s", strerror(-r));
        if (r < 0)
                goto out;
        describe_cert(*ret_der, *ret_size, serial, sizeof(serial), fp);
        log_info("VM '%s': ENDORSE issued certificate serial %s, subject CN=%s, identity %s, sha256 %s", ch->name,
                serial, ch->name, ch->identity, fp);
        if (asprintf(&fields, "\"name\":\"%s\",\"identity\":\"%s\",\"serial\":\"%s\",\"sha256\":\"%s\"", ch->name,
                    ch->identity, serial, fp) >= 0)
                (void)daemon_log_event(d, "endorse", fields);
out:
        /* A refusal for the platform's state (not for a malformed request:
         * that only reaches tvamd's log) goes to the audit log too. */
        if (r < 0) {
                for (char *c = message; *c; c++) /* into a JSON string */
                        if (*c == '"' || *c == '\\')
                                *c = '\'';
                if (asprintf(&fields, "\"name\":\"%s\",\"identity\":\"%s\",\"reason\":\"%s\"", ch->name,
                            ch->identity, message) >= 0)
                        (void)daemon_log_event(d, "endorse-refused", fields);
        }
        pthread_mutex_unlock(&d->lock);
        return r;
}

/* Serve one connection until QEMU closes it (-ECONNRESET: the VM is gone)
 * or the guest breaks the framing (-EPROTO: reconnect). */
static int serve(struct channel *ch, int fd)
{
        for (;;) {
                uint8_t h[VMCHAN_HEADER_SIZE];
                _cleanup_free_ uint8_t *payload = NULL, *der = NULL;
                struct vmchan_header hdr;
                char message[VMCHAN_REASON_MAX];
                const char *reason;
                size_t der_size = 0;
                int r;

                r = vmchan_read_full(fd, h, sizeof(h));
                if (r < 0)
                        return r;
                r = vmchan_header_parse(h, &hdr);
                if (r < 0) {
                        log_warning("VM '%s': malformed frame on the ENDORSE channel (%s); resetting it", ch->name,
                                strerror(-r));
                        (void)send_error(fd, r, "malformed frame (docs/protocol.md \"VM channel\"): channel reset");
                        return -EPROTO;
                }
                if (hdr.length > 0) {
                        payload = malloc(hdr.length);
                        if (!payload)
                                return -ENOMEM;
                        r = vmchan_read_full(fd, payload, hdr.length);
                        if (r < 0)
                                return r;
                }
                switch (hdr.type) {
                case VMCHAN_GET_ID:
                        log_info("VM '%s': GET-ID answered (%s)", ch->name, ch->identity);
                        r = vmchan_send(fd, VMCHAN_ID, ch->identity, strlen(ch->identity));
                        break;
                case VMCHAN_ENDORSE:
                        r = endorse(ch, payload, hdr.length, &der, &der_size, &reason, message,
                                sizeof(message));
                        if (r < 0) {
                                log_warning("VM '%s': ENDORSE refused: %s", ch->name, message);
                                r = send_error(fd, r, reason);
                        } else
                                r = vmchan_send(fd, VMCHAN_CERTIFICATE, der, der_size);
                        break;
                default:
                        r = send_error(fd, EPROTO, "not a request");
                        break;
                }
                if (r < 0)
                        return r;
        }
}

static void *channel_thread(void *arg)
{
        struct channel *ch = arg;

        for (;;) {
                _cleanup_close_ int fd = channel_connect(ch->path);
                int r;

                if (fd < 0) {
                        log_debug_errno(fd, "VM '%s': ENDORSE channel %s gone", ch->name, ch->path);
                        break;
                }
                r = serve(ch, fd);
                if (r != -EPROTO) {
                        log_debug_errno(r, "VM '%s': ENDORSE channel closed", ch->name);
                        break;
                }
        }
        free(ch);
        return NULL;
}

int daemon_channel_start(struct daemon *d, const char *name, const char *identity, const char *path)
{
        struct channel *ch = calloc(1, sizeof(*ch));
        pthread_attr_t attr;
        pthread_t t;
        int r;

        if (!ch)
                return -ENOMEM;
        ch->d = d;
        snprintf(ch->name, sizeof(ch->name), "%s", name);
        snprintf(ch->identity, sizeof(ch->identity), "%s", identity);
        snprintf(ch->path, sizeof(ch->path), "%s", path);
        /* Detached: it ends by itself when the VM's QEMU closes the socket;
         * joining it from stop (under d->lock) could deadlock with an ENDORSE
         * waiting for that lock. */
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        r = -pthread_create(&t, &attr, channel_thread, ch);
        pthread_attr_destroy(&attr);
        if (r < 0)
                free(ch);
        return r;
}
