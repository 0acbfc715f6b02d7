/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tvamd — the Trusted Virtual Application Manager daemon.
 *
 * Owns the TPM context and every state change (ARCHITECTURE.md "TVAM").
 * Requests are served one at a time: that serialises TPM and storage
 * operations without locks.  Only root may talk to it: the socket is 0600
 * in a 0700 directory, and every connection's peer uid is checked
 * (SO_PEERCRED) in case the file modes were loosened.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <paths.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "tvam/app/app.h"
#include "tvam/daemon/daemon.h"
#include "tvam/daemon/policy.h"
#include "tvam/ipc/ipc.h"
#include "tvam/shared/log.h"
#include "tvam/storage/lvm.h"
#include "tvam/virt/virt.h"

#define DEFAULT_STATE_DIR "/var/lib/tvam"
#define DEFAULT_TCTI "device:/dev/tpmrm0"
#define DEFAULT_VG "tvam"
#define DEFAULT_LIBVIRT_URI "qemu:///system"
#define DEFAULT_EVENT_LOG "/run/tvam/measurements.log"
/* The srtm launch profile's PCRs (firmware, GRUB); txt uses 17,18,19. */
#define DEFAULT_LAUNCH_PCRS "0,1,2,3,4,5,6,7"
#define DEFAULT_SSH_HOST_KEY "/run/tvam/ssh/ssh_host_ed25519_key"
#define DEFAULT_SSHD_STOP_COMMAND "systemctl stop ssh.service"
#define DEFAULT_LOGIN_RECORDS _PATH_WTMP
#define UPDATE_MODE_TIMEOUT_MAX 86400u
#define CLIENT_TIMEOUT_S 60 /* a stalled client must not block the daemon */

static volatile sig_atomic_t terminate;

#if TVAM_TEST_HOOKS
/* Identity as tvamd records it: "verity:" or "sha256:" and 64 hex digits. */
static bool identity_valid(const char *s)
{
        const char *hex = strncmp(s, "verity:", 7) == 0 ? s + 7 : strncmp(s, "sha256:", 7) == 0 ? s + 7 : NULL;

        return hex && strlen(hex) == 64 && strspn(hex, "0123456789abcdef") == 64;
}

/* TESTS ONLY (meson -Dtest_hooks=true; never in the base image):
 * $TVAM_TEST_VM_CHANNEL = "NAME IDENTITY PATH": serve the ENDORSE channel of
 * a pretend VM whose "QEMU" listens on PATH, so the daemon side is tested
 * against a TPM without libvirt (tests/attest/daemon-channel.sh).  Every
 * field is checked; nothing is truncated. */
struct test_channel {
        char buf[512];
        const char *name, *identity, *path; /* in buf; NULL: no hook */
};

static int test_vm_channel_parse(struct test_channel *t)
{
        const char *env = getenv("TVAM_TEST_VM_CHANNEL");
        char *name, *identity, *path, *extra, *save = NULL, *buf = t->buf;

        if (!env || !*env)
                return 0;
        if (strlen(env) >= sizeof(t->buf))
                return log_error_errno(-EINVAL, "TVAM_TEST_VM_CHANNEL is too long");
        strcpy(buf, env);
        name = strtok_r(buf, " ", &save);
        identity = strtok_r(NULL, " ", &save);
        path = strtok_r(NULL, " ", &save);
        extra = strtok_r(NULL, " ", &save);
        if (!name || !identity || !path || extra || !manifest_name_valid(name) || !identity_valid(identity) ||
                path[0] != '/' || strlen(path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
                return log_error_errno(-EINVAL, "Invalid TVAM_TEST_VM_CHANNEL (want NAME IDENTITY /PATH)");
        t->name = name, t->identity = identity, t->path = path;
        return 0;
}

static int test_vm_channel_start(struct daemon *d, const struct test_channel *t)
{
        int r;

        if (!t->name)
                return 0;
        log_warning("TEST HOOK: ENDORSE channel of pretend VM '%s' on %s", t->name, t->path);
        pthread_mutex_lock(&d->lock);
        r = daemon_channel_start(d, t->name, t->identity, t->path);
        pthread_mutex_unlock(&d->lock);
        if (r < 0)
                return log_error_errno(r, "Cannot start the pretend VM's channel");
        return 0;
}
#endif

static void on_signal(int sig)
{
        (void)sig;
        terminate = 1;
}

int daemon_tpm(struct daemon *d, struct tpm_context **ret)
{
        int r;

        if (!d->tpm) {
                r = tpm_context_new(d->tcti, &d->tpm);
                if (r < 0)
                        return r;
        }
        *ret = d->tpm;
        return 0;
}

static int parse_pcr_list(const char *s, uint32_t *ret)
{
        uint32_t mask = 0;
        char *end;

        for (;;) {
                long v;
                errno = 0;
                v = strtol(s, &end, 10);
                if (errno || end == s || v < 0 || v > 23 || v == 13 || v == 14 || v == 15)
                        return -EINVAL; /* 13-15 are TVAM's own, never launch PCRs */
                mask |= 1u << v;
                if (*end == '\0')
                        break;
                if (*end != ',')
                        return -EINVAL;
                s = end + 1;
        }
        *ret = mask;
        return 0;
}

static void help(void)
{
        printf("Usage: tvamd [OPTIONS]\n"
               "\n"
               "The TVAM daemon: imports, measures, seals and runs closed-box VMs.\n"
               "Clients talk to it with tvamctl over a root-only Unix socket.\n"
               "\n"
               "  -s, --socket PATH     listening socket (default %s)\n"
               "  -d, --state-dir DIR   manifests and sealed metadata (default %s;\n"
               "                        the store volume in production)\n"
               "  -t, --tcti TCTI       tpm2-tss TCTI (default %s)\n"
               "  -g, --vg NAME         volume group of application volumes (default %s)\n"
               "  -l, --launch-pcrs L   PCRs of the launch profile, comma-separated\n"
               "                        (default %s: srtm; txt: 17,18,19)\n"
               "  -u, --libvirt-uri URI libvirt connection (default %s)\n"
               "  -e, --event-log PATH  this boot's TCG event log of PCR 13/14/15\n"
               "                        (default %s; a copy is kept in STATE/logs)\n"
               "      --ssh-host-key PATH  where the Update-Mode SSH host key is unsealed\n"
               "                        for sshd, on a tmpfs (default %s)\n"
               "      --sshd-stop-command CMD  stops sshd when leaving Update Mode; split at\n"
               "                        blanks, run without a shell, \"\" for none\n"
               "                        (default \"%s\")\n"
               "      --update-mode-timeout S  leave Update Mode by itself S seconds after\n"
               "                        the start unless someone logged in (0 = never,\n"
               "                        the default)\n"
               "      --login-records FILE  wtmp file whose USER_PROCESS records since\n"
               "                        boot count as logins (default %s)\n"
               "      --base-device PATH  the LUKS2 volume of the booted base image: policy\n"
               "                        init re-seals its key through the boot policy index\n"
               "  -h, --help            show this help\n"
               "      --version         show the version\n",
                IPC_DEFAULT_SOCKET, DEFAULT_STATE_DIR, DEFAULT_TCTI, DEFAULT_VG, DEFAULT_LAUNCH_PCRS,
                DEFAULT_LIBVIRT_URI, DEFAULT_EVENT_LOG, DEFAULT_SSH_HOST_KEY, DEFAULT_SSHD_STOP_COMMAND,
                DEFAULT_LOGIN_RECORDS);
}

/* systemd's readiness protocol (sd_notify(3)) without linking libsystemd:
 * one datagram "READY=1" to $NOTIFY_SOCKET, if set. */
static void notify_ready(void)
{
        const char *path = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        socklen_t len;
        int fd;

        if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
                return;
        strcpy(sa.sun_path, path);
        if (sa.sun_path[0] == '@') /* abstract namespace */
                sa.sun_path[0] = '\0';
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return;
        if (sendto(fd, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0)
                log_warning_errno(-errno, "Failed to notify readiness");
        close(fd);
}

void daemon_progress(struct daemon *d, json_object *progress)
{
        json_object *msg;

        if (d->client_fd < 0) {
                json_object_put(progress);
                return;
        }
        msg = ipc_progress(d->request_id, progress);
        if (ipc_send(d->client_fd, msg, NULL, 0) < 0)
                d->client_fd = -1; /* gone: finish the work, skip further progress */
        json_object_put(msg);
}

static void close_fds(int *fds, size_t n)
{
        for (size_t i = 0; i < n; i++)
                close(fds[i]);
}

/* One request: parse → dispatch → reply.  Returns < 0 to drop the client. */
static int serve_request(struct daemon *d, int client)
{
        json_object *req = NULL, *v, *params, *result = NULL, *reply;
        int fds[IPC_FDS_MAX];
        size_t n_fds = 0;
        int64_t id = 0;
        char message[512] = "";
        method_fn fn;
        int r;

        r = ipc_recv(client, &req, fds, &n_fds);
        if (r < 0)
                return r;

        if (json_object_object_get_ex(req, "id", &v) && json_object_is_type(v, json_type_int))
                id = json_object_get_int64(v);
        if (!json_object_object_get_ex(req, "method", &v) || !json_object_is_type(v, json_type_string)) {
                reply = ipc_reply_error(id, -EINVAL, "request without a method");
                goto send;
        }
        fn = daemon_method(json_object_get_string(v));
        if (!fn) {
                snprintf(message, sizeof(message), "unknown method '%s'", json_object_get_string(v));
                reply = ipc_reply_error(id, -EOPNOTSUPP, message);
                goto send;
        }
        if (!json_object_object_get_ex(req, "params", &params) || !json_object_is_type(params, json_type_object))
                params = NULL;
        {
                json_object *empty = params ? NULL : json_object_new_object();
                log_info("request %" PRId64 ": %s", id, json_object_get_string(v));
                pthread_mutex_lock(&d->lock);
                d->client_fd = client;
                d->request_id = id;
                r = fn(d, params ? params : empty, fds, n_fds, &result, message, sizeof(message));
                d->client_fd = -1;
                pthread_mutex_unlock(&d->lock);
                json_object_put(empty);
        }
        if (r < 0) {
                log_warning("request %" PRId64 " (%s) refused: %s", id, json_object_get_string(v), message);
                reply = ipc_reply_error(id, r, message[0] ? message : NULL);
                json_object_put(result);
        } else
                reply = ipc_reply_ok(id, result);

send:
        close_fds(fds, n_fds);
        r = ipc_send(client, reply, NULL, 0);
        json_object_put(reply);
        json_object_put(req);
        return r;
}

static void serve_client(struct daemon *d, int client)
{
        struct timeval tv = { .tv_sec = CLIENT_TIMEOUT_S };
        uid_t uid;
        int r;

        (void)setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        (void)setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

        r = ipc_peer_uid(client, &uid);
        if (r < 0 || uid != 0) {
                char message[128];
                json_object *reply;

                snprintf(message, sizeof(message), "tvamd accepts requests from root only (peer uid %ld)",
                        r < 0 ? -1L : (long)uid);
                log_warning("%s", message);
                reply = ipc_reply_error(0, -EACCES, message);
                (void)ipc_send(client, reply, NULL, 0);
                json_object_put(reply);
                return;
        }

        while (!terminate) {
                r = serve_request(d, client);
                if (r < 0) {
                        if (r != -ECONNRESET)
                                log_debug_errno(r, "Dropping client");
                        return;
                }
        }
}

enum {
        OPT_VERSION = 'V',
        OPT_SSH_HOST_KEY = 0x100,
        OPT_SSHD_STOP_COMMAND,
        OPT_UPDATE_MODE_TIMEOUT,
        OPT_LOGIN_RECORDS,
        OPT_BASE_DEVICE,
};

static int parse_timeout(const char *s, unsigned *ret)
{
        unsigned long v;
        char *end;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v > UPDATE_MODE_TIMEOUT_MAX)
                return -EINVAL;
        *ret = (unsigned)v;
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
                { "socket", required_argument, NULL, 's' },
                { "state-dir", required_argument, NULL, 'd' },
                { "tcti", required_argument, NULL, 't' },
                { "vg", required_argument, NULL, 'g' },
                { "launch-pcrs", required_argument, NULL, 'l' },
                { "libvirt-uri", required_argument, NULL, 'u' },
                { "event-log", required_argument, NULL, 'e' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, OPT_VERSION },
                { "ssh-host-key", required_argument, NULL, OPT_SSH_HOST_KEY },
                { "sshd-stop-command", required_argument, NULL, OPT_SSHD_STOP_COMMAND },
                { "update-mode-timeout", required_argument, NULL, OPT_UPDATE_MODE_TIMEOUT },
                { "login-records", required_argument, NULL, OPT_LOGIN_RECORDS },
                { "base-device", required_argument, NULL, OPT_BASE_DEVICE },
                {},
        };
        struct daemon d = {
                .socket_path = IPC_DEFAULT_SOCKET,
                .state_dir = DEFAULT_STATE_DIR,
                .tcti = DEFAULT_TCTI,
                .vg = DEFAULT_VG,
                .libvirt_uri = DEFAULT_LIBVIRT_URI,
                .event_log = DEFAULT_EVENT_LOG,
                .client_fd = -1,
                .lock = PTHREAD_MUTEX_INITIALIZER,
                .um = { .host_key = DEFAULT_SSH_HOST_KEY, .login_records = DEFAULT_LOGIN_RECORDS },
        };
        const char *launch_pcrs = DEFAULT_LAUNCH_PCRS, *stop_command = DEFAULT_SSHD_STOP_COMMAND;
        struct sigaction sa = { .sa_handler = on_signal };
        int listen_fd, c;
#if TVAM_TEST_HOOKS
        struct test_channel test_channel = {};
#endif

        log_set_program_name("tvamd");
        log_parse_environment();

        while ((c = getopt_long(argc, argv, "s:d:t:g:l:u:e:h", options, NULL)) >= 0)
                switch (c) {
                case 's':
                        d.socket_path = optarg;
                        break;
                case 'd':
                        d.state_dir = optarg;
                        break;
                case 't':
                        d.tcti = optarg;
                        break;
                case 'g':
                        d.vg = optarg;
                        break;
                case 'l':
                        launch_pcrs = optarg;
                        break;
                case 'u':
                        d.libvirt_uri = optarg;
                        break;
                case 'e':
                        d.event_log = optarg;
                        break;
                case 'h':
                        help();
                        return 0;
                case OPT_VERSION:
                        printf("tvamd 0.1.0 (protocol %d)\n", IPC_PROTOCOL_VERSION);
                        return 0;
                case OPT_SSH_HOST_KEY:
                        if (optarg[0] != '/') {
                                log_error("--ssh-host-key needs an absolute path");
                                return 2;
                        }
                        d.um.host_key = optarg;
                        break;
                case OPT_SSHD_STOP_COMMAND:
                        stop_command = optarg;
                        break;
                case OPT_UPDATE_MODE_TIMEOUT:
                        if (parse_timeout(optarg, &d.um.timeout_s) < 0) {
                                log_error("Invalid --update-mode-timeout '%s' (seconds, 0-%u)", optarg,
                                        UPDATE_MODE_TIMEOUT_MAX);
                                return 2;
                        }
                        break;
                case OPT_LOGIN_RECORDS:
                        d.um.login_records = optarg;
                        break;
                case OPT_BASE_DEVICE:
                        if (optarg[0] != '/') {
                                log_error("--base-device needs an absolute path");
                                return 2;
                        }
                        d.base_device = optarg;
                        break;
                default:
                        return 2;
                }
        if (optind != argc) {
                log_error("Unexpected argument '%s' (see --help)", argv[optind]);
                return 2;
        }
        if (parse_pcr_list(launch_pcrs, &d.launch_pcrs) < 0) {
                log_error("Invalid --launch-pcrs '%s' (comma-separated PCR numbers 0-23)", launch_pcrs);
                return 2;
        }
        {
                const char *crash = getenv("TVAM_TEST_CRASH_AFTER_STEP");
                if (crash && *crash) {
                        d.test_crash_after_step = app_import_step_from_string(crash);
                        if (d.test_crash_after_step <= 0) {
                                log_error("Invalid TVAM_TEST_CRASH_AFTER_STEP '%s'", crash);
                                return 2;
                        }
                        log_warning("TEST HOOK: dying after import step '%s'", crash);
                }
        }
#if TVAM_TEST_HOOKS
        if (test_vm_channel_parse(&test_channel) < 0)
                return 2;
#endif
        if (geteuid() != 0)
                log_warning("Not running as root: the TPM, LVM and device-mapper will refuse most operations");

        if (mkdir(d.state_dir, 0700) < 0 && errno != EEXIST) {
                log_error_errno(-errno, "Failed to create the state directory %s", d.state_dir);
                return 1;
        }

        listen_fd = ipc_listen(d.socket_path);
        if (listen_fd < 0) {
                log_error_errno(listen_fd, "Failed to listen on %s", d.socket_path);
                return 1;
        }
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        /* No half-registered application survives a crash (acTvSM: the
         * previous state stays usable). */
        (void)daemon_recover(&d);
        /* Update Mode: the SSH host key for sshd, the timer. */
        if (update_mode_parse_argv(stop_command, &d.um.stop_argv) < 0) {
                log_error("Out of memory");
                return 1;
        }
        update_mode_init(&d);
        daemon_policy_reseal_platform_keys(&d);

#if TVAM_TEST_HOOKS
        if (test_vm_channel_start(&d, &test_channel) < 0)
                return 2;
#endif
        log_info("listening on %s (state in %s, TPM %s)", d.socket_path, d.state_dir, d.tcti);
        notify_ready();

        while (!terminate) {
                struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };
                int client, n, timeout;

                /* The Update-Mode timer and login watch run between clients. */
                pthread_mutex_lock(&d.lock);
                timeout = update_mode_tick(&d);
                pthread_mutex_unlock(&d.lock);
                n = poll(&pfd, 1, timeout);
                if (n < 0 && errno != EINTR) {
                        log_error_errno(-errno, "poll failed");
                        break;
                }
                if (n <= 0)
                        continue;
                client = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (client < 0) {
                        if (errno == EINTR)
                                continue;
                        log_error_errno(-errno, "accept failed");
                        break;
                }
                serve_client(&d, client);
                close(client);
        }

        log_info("shutting down");
        /* The VM channel threads (endorse.c) end before what they use goes. */
        daemon_channels_stop(&d);
        pthread_mutex_lock(&d.lock);
        close(listen_fd);
        (void)unlink(d.socket_path);
        virt_disconnect(d.virt);
        lvm_ctx_free(d.lvm);
        tpm_context_free(d.tpm);
        update_mode_argv_free(d.um.stop_argv);
        return 0;
}
