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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tvam/attest/attest.h"
#include "tvam/attest/csr.h"
#include "tvam/attest/endorse.h"
#include "tvam/daemon/daemon.h"
#include "tvam/daemon/mode.h"
#include "tvam/daemon/policy.h"
#include "tvam/ipc/vmchan.h"
#include "tvam/shared/clock.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/log.h"
#include "tvam/shared/macro.h"
#include "tvam/tpm/tpm-pcr.h"
#include "tvam/tpm/tpm-srk.h"
#include "tvam/verify/crypto.h"
#include "tvam/virt/virt-xml.h"

/* The PCR values the platform key's policy is bound to (u32 mask ‖ 24 ×
 * SHA-256), kept next to the key so a refusal can name the PCR that moved. */
#define PLATFORM_KEY_STATE "platform-key.pcrs"
#define CERT_VALIDITY_DAYS 30
#define CONNECT_TRIES 50 /* × 100 ms: QEMU creates the socket while the domain starts */

#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif

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
        json_object *doc;
        size_t n = 0;
        int r;

        (void)fds, (void)n_fds;
        r = daemon_attest_begin(d, params, &nonce, &n, &tpm, message, message_size);
        if (r < 0)
                return r;
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

/* One per VM instance (one start), in d->channels: the registry, guarded by
 * d->lock.  A stop, a new start of the same name or tvamd's shutdown
 * revokes it (and shuts its socket down): from then on the thread answers
 * nothing and ends; the thread that serves a new instance is a new one. */
struct channel {
        struct daemon *d;
        struct channel *next;
        char name[VIRT_NAME_MAX + 1];
        char identity[MANIFEST_IDENTITY_MAX];
        char path[108];
        /* The socket of this instance's QEMU: a reconnect goes only to the
         * same socket.  A new QEMU binding the path makes a new inode, but
         * the number of a freed one may come back: its change time (the
         * bind) tells them apart. */
        struct stat sock;
        pthread_t thread;
        int fd;       /* -1 unless connected; d->lock */
        bool revoked; /* d->lock */
        bool done;    /* the thread is past its last use of the lock; d->lock */
        /* Rate limit of ENDORSE (token bucket) and the reset back-off: this
         * thread's only. */
        double tokens, refill_at;
        unsigned limited;
        unsigned backoff_ms;
};

#define ENDORSE_BURST 3
#define ENDORSE_INTERVAL_S 5.0
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

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

static bool channel_revoked(struct channel *ch)
{
        bool revoked;

        pthread_mutex_lock(&ch->d->lock);
        revoked = ch->revoked;
        pthread_mutex_unlock(&ch->d->lock);
        return revoked;
}

/* Sleep MS milliseconds, or less if the channel is revoked meanwhile. */
static void channel_sleep(struct channel *ch, unsigned ms)
{
        for (unsigned t = 0; t < ms && !channel_revoked(ch); t += 100)
                nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
               a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Connect to this instance's socket: the first time to whatever QEMU
 * created at the path (tvamd removed stale sockets before starting it), on
 * a reconnect only to the socket of that first connection (same inode). */
static int channel_connect(struct channel *ch, bool first)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int r = -ENOENT;

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ch->path);
        for (int i = 0; i < CONNECT_TRIES && !channel_revoked(ch); i++) {
                _cleanup_close_ int fd = -1;
                struct stat before, after;

                if (stat(ch->path, &before) == 0) {
                        if (!first && !same_file(&before, &ch->sock))
                                return -ESTALE; /* another QEMU's socket */
                        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                        if (fd < 0)
                                return -errno;
                        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
                                /* The path may have been replaced between stat and connect. */
                                if (stat(ch->path, &after) < 0 || !same_file(&after, &before))
                                        return -ESTALE;
                                ch->sock = before;
                                return TAKE_FD(fd);
                        }
                }
                r = -errno;
                if (r != -ENOENT && r != -ECONNREFUSED)
                        break;
                nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
        }
        return channel_revoked(ch) ? -ECANCELED : r;
}

static int send_error(int fd, int err, const char *reason)
{
        uint8_t buf[4 + VMCHAN_REASON_MAX];
        return vmchan_send(fd, VMCHAN_ERROR, buf, vmchan_error_build(err, reason, buf));
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
        if (ch->revoked) {
                /* The VM instance this thread served is gone: its identity
                 * must not be signed for whoever holds the socket now. */
                pthread_mutex_unlock(&d->lock);
                return -ECANCELED;
        }
        /* The SRK as cached in the context (provisioned once, not on every
         * request: a guest must not make the TPM work for nothing). */
        r = daemon_tpm(d, &tpm);
        if (r < 0)
                FAIL(r, "cannot reach the TPM (%s): %s", d->tcti, strerror(-r));
        else if ((r = tpm_srk_provision(tpm, NULL)) < 0)
                FAIL(r, "cannot provision the SRK: %s", strerror(-r));
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
        crypto_cert_describe(*ret_der, *ret_size, serial, sizeof(serial), fp);
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

/* The token bucket: ENDORSE_BURST requests, then one per
 * ENDORSE_INTERVAL_S.  Refusals are logged once per run, then counted. */
static bool rate_allow(struct channel *ch)
{
        double now = monotonic_s();

        ch->tokens += (now - ch->refill_at) / ENDORSE_INTERVAL_S;
        if (ch->tokens > ENDORSE_BURST)
                ch->tokens = ENDORSE_BURST;
        ch->refill_at = now;
        if (ch->tokens >= 1.0) {
                ch->tokens -= 1.0;
                if (ch->limited > 1)
                        log_warning("VM '%s': %u ENDORSE requests were rate limited", ch->name, ch->limited);
                ch->limited = 0;
                return true;
        }
        if (ch->limited++ == 0)
                log_warning("VM '%s': ENDORSE rate limited (%d at once, then one per %.0f s); further refusals "
                            "are counted", ch->name, ENDORSE_BURST, ENDORSE_INTERVAL_S);
        return false;
}

/* Serve one connection until QEMU closes it (-ECONNRESET: the VM is gone),
 * the channel is revoked (-ECANCELED) or the guest breaks the framing
 * (-EPROTO: reconnect after a back-off). */
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
                        if (channel_revoked(ch))
                                return -ECANCELED;
                        log_debug("VM '%s': GET-ID answered (%s)", ch->name, ch->identity);
                        r = vmchan_send(fd, VMCHAN_ID, ch->identity, strlen(ch->identity));
                        break;
                case VMCHAN_ENDORSE:
                        if (!rate_allow(ch)) {
                                r = send_error(fd, EAGAIN, "refused: rate limited");
                                break;
                        }
                        r = endorse(ch, payload, hdr.length, &der, &der_size, &reason, message,
                                sizeof(message));
                        if (r == -ECANCELED)
                                return r;
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
        struct daemon *d = ch->d;

        for (bool first = true;; first = false) {
                int fd = channel_connect(ch, first), r;

                if (fd < 0) {
                        log_debug_errno(fd, "VM '%s': ENDORSE channel %s gone", ch->name, ch->path);
                        break;
                }
                pthread_mutex_lock(&d->lock);
                ch->fd = fd; /* for a revocation's shutdown() */
                r = ch->revoked ? -ECANCELED : 0;
                pthread_mutex_unlock(&d->lock);
                if (r == 0)
                        r = serve(ch, fd);
                pthread_mutex_lock(&d->lock);
                ch->fd = -1;
                close(fd);
                pthread_mutex_unlock(&d->lock);
                if (r != -EPROTO) {
                        log_debug_errno(r, "VM '%s': ENDORSE channel closed", ch->name);
                        break;
                }
                /* A guest that keeps breaking the framing waits longer each time. */
                channel_sleep(ch, ch->backoff_ms);
                ch->backoff_ms = MIN(ch->backoff_ms * 2, BACKOFF_MAX_MS);
        }
        if (ch->limited > 1)
                log_warning("VM '%s': %u ENDORSE requests were rate limited", ch->name, ch->limited);
        pthread_mutex_lock(&d->lock);
        ch->done = true;
        pthread_mutex_unlock(&d->lock);
        return NULL;
}

/* Join and free the threads that ended (d->lock held: a done thread does
 * not take the lock again, so joining it cannot deadlock). */
static void channels_reap(struct daemon *d)
{
        for (struct channel **p = &d->channels; *p;) {
                struct channel *ch = *p;
                if (!ch->done) {
                        p = &ch->next;
                        continue;
                }
                (void)pthread_join(ch->thread, NULL);
                *p = ch->next;
                free(ch);
        }
}

void daemon_channel_revoke(struct daemon *d, const char *name)
{
        for (struct channel *ch = d->channels; ch; ch = ch->next)
                if (!name || strcmp(ch->name, name) == 0) {
                        ch->revoked = true;
                        if (ch->fd >= 0)
                                (void)shutdown(ch->fd, SHUT_RDWR);
                }
}

void daemon_channels_stop(struct daemon *d)
{
        pthread_mutex_lock(&d->lock);
        daemon_channel_revoke(d, NULL);
        pthread_mutex_unlock(&d->lock);
        /* Without the lock: a thread may be waiting for it. */
        for (struct channel *ch = d->channels; ch; ch = ch->next)
                (void)pthread_join(ch->thread, NULL);
        while (d->channels) {
                struct channel *ch = d->channels;
                d->channels = ch->next;
                free(ch);
        }
}

int daemon_channel_start(struct daemon *d, const char *name, const char *identity, const char *path)
{
        _cleanup_free_ struct channel *ch = NULL;
        sigset_t all, old;
        int r;

        if (strlen(name) > VIRT_NAME_MAX || strlen(identity) >= MANIFEST_IDENTITY_MAX || strlen(path) >= 108)
                return -ENAMETOOLONG;
        ch = calloc(1, sizeof(*ch));
        if (!ch)
                return -ENOMEM;
        *ch = (struct channel){ .d = d, .fd = -1, .tokens = ENDORSE_BURST, .refill_at = monotonic_s(),
                .backoff_ms = BACKOFF_MIN_MS };
        snprintf(ch->name, sizeof(ch->name), "%s", name);
        snprintf(ch->identity, sizeof(ch->identity), "%s", identity);
        snprintf(ch->path, sizeof(ch->path), "%s", path);
        channels_reap(d);
        /* A previous instance's thread must not serve this one. */
        daemon_channel_revoke(d, name);
        /* Signals go to the main thread only (its poll() sees SIGTERM). */
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, &old);
        r = -pthread_create(&ch->thread, NULL, channel_thread, ch);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return r;
        ch->next = d->channels;
        d->channels = TAKE_PTR(ch);
        return 0;
}
