/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tvamctl — the client of tvamd.
 *
 * Each command: parse its arguments → build a request → send → print the
 * reply (text, or --json for scripts).  Exit status (scripts rely on it):
 *   0 done   1 refused or failed (the message says why)   2 usage error
 *   3 tvamd unreachable   4 permission denied (not root)
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tvam/ipc/ipc.h"
#include "tvam/shared/clock.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/log.h"
#include "tvam/shared/macro.h"

enum {
        EXIT_DONE = 0,
        EXIT_REFUSED = 1,
        EXIT_USAGE = 2,
        EXIT_UNREACHABLE = 3,
        EXIT_DENIED = 4,
};

static const char *arg_socket = IPC_DEFAULT_SOCKET;
static int arg_json;

static void help(void)
{
        printf("Usage: tvamctl [--socket PATH] [--json] COMMAND [ARGS]\n"
               "\n"
               "Talk to tvamd, the Trusted Virtual Application Manager.\n"
               "\n"
               "Commands:\n"
               "  version                   show tvamd's version and protocol\n"
               "  mode                      show the platform mode (update or application)\n"
               "  mode status               the mode, the Update-Mode time left and the SSH\n"
               "                            host key's fingerprint\n"
               "  mode application          switch to Application Mode: stops sshd, wipes its\n"
               "                            key, extends PCR 15 (Update-Mode secrets no longer\n"
               "                            unseal; only a reboot returns to Update Mode) and\n"
               "                            starts the groups marked for autostart\n"
               "  import NAME IMAGE [--read-only] [--data-size SIZE] [--recovery-key-file F]\n"
               "         [--memory MIB] [--vcpus N] [--format raw|qcow2]\n"
               "                            encrypt IMAGE into new volumes, measure it and seal\n"
               "                            its key to the Application-Mode state\n"
               "  start NAME [--verify lazy|eager]\n"
               "                            unseal, open, measure into PCR 13 and start the VM\n"
               "                            (Application Mode only)\n"
               "  stop NAME [--force] [--timeout S]\n"
               "                            ACPI shutdown, destroy after S seconds (default 60)\n"
               "  list [--json]             applications, state, identity, size\n"
               "  remove NAME               erase the keyslots and remove the volumes\n"
               "  enrol request [--out F]   the platform's enrolment request for a verifier\n"
               "                            (EK certificate, EK and attestation-key public keys)\n"
               "  enrol answer CHALLENGE [--out F]\n"
               "                            answer the verifier's credential-activation\n"
               "                            challenge (only this TPM, with this AK, can)\n"
               "  attest --nonce HEX [--pcrs L] [--out FILE]\n"
               "                            evidence for a verifier (tvam-verify): a quote over\n"
               "                            the launch PCRs and 13/14/15 with its nonce, the PCR\n"
               "                            values and the event logs\n"
               "  platform-key --nonce HEX [--out FILE]\n"
               "                            the ENDORSE platform key (created for the current\n"
               "                            Application-Mode state if needed) certified by the\n"
               "                            attestation key with the verifier's nonce\n"
               "  group add FILE            store an application group (JSON: name, networks,\n"
               "                            applications in start order; see tvamctl(8))\n"
               "  group list                groups, their state and members\n"
               "  group start NAME [--verify lazy|eager]\n"
               "                            measure the group's configuration into PCR 13,\n"
               "                            create its isolated networks, start in order\n"
               "  group stop NAME [--force] [--timeout S]\n"
               "                            stop in reverse order, remove its networks\n"
               "  group remove NAME         forget the group (not its applications)\n"
               "  group autostart NAME on|off\n"
               "                            start the group when tvamd leaves Update Mode (also\n"
               "                            \"autostart\": true in the group file)\n"
               "  backup NAME FILE          write the stopped application (manifest, LUKS2\n"
               "                            headers and ciphertext; no key) to FILE\n"
               "  restore FILE [NAME] --recovery-key-file F\n"
               "                            restore a backup (also from another machine): the\n"
               "                            recovery secret re-seals it to this platform; its\n"
               "                            identity is checked before it is registered\n"
               "  policy init --admin-key-file F [--owner-auth-file O]\n"
               "                            provision the policy NV indices (0x01800A01\n"
               "                            applications, 0x01800A03 SSH host key, 0x01800A04\n"
               "                            base key), authorize the current state, seal new\n"
               "                            applications through it, re-seal the platform's keys\n"
               "  policy show               authorized states: per PCR expected value, provenance\n"
               "  policy diagnose [--eventlog LOG]\n"
               "                            is the TPM in an authorized state? else the first\n"
               "                            differing PCR (and, srtm, the first suspect event)\n"
               "  update prepare [--kernel K] [--initrd I] [--cmdline C] [--base SQUASHFS]\n"
               "         [--eventlog LOG] --admin-key-file F                      (srtm)\n"
               "  update prepare --tboot T [--tboot-cmdline C] --kernel K --initrd I [--cmdline C]\n"
               "         --sinit-pcr17 HEX|--sinit-data F [--base SQUASHFS] --admin-key-file F (txt)\n"
               "                            predict the next state; authorize current + next\n"
               "                            (txt: also writes the VLP with the new modules)\n"
               "  update commit --admin-key-file F\n"
               "                            (booted into next) revoke the old state\n"
               "  update abort --admin-key-file F\n"
               "                            authorize the current state only again\n"
               "  --owner-auth-file O       (policy init, update prepare/abort) the TPM owner\n"
               "                            hierarchy's authorization, needed to define NV\n"
               "                            indices and write tboot's VLP; default empty\n"
               "\n"
               "Options:\n"
               "  -s, --socket PATH   tvamd's socket (default %s)\n"
               "  -j, --json          print the reply as JSON\n"
               "  -h, --help          show this help\n"
               "\n"
               "Exit status: 0 done, 1 refused or failed, 2 usage error, 3 tvamd\n"
               "unreachable, 4 permission denied.  See tvamctl(8).\n",
                IPC_DEFAULT_SOCKET);
}

struct progress_state {
        bool shown;
        double copy_start;
};

/* One status line, rewritten in place: the step, and while copying the
 * bytes, rate and estimated time left. */
static void show_progress(struct progress_state *ps, json_object *p)
{
        json_object *v;
        const char *step = json_object_object_get_ex(p, "step", &v) ? json_object_get_string(v) : "?";
        int64_t done = json_object_object_get_ex(p, "bytes", &v) ? json_object_get_int64(v) : -1;
        int64_t total = json_object_object_get_ex(p, "total", &v) ? json_object_get_int64(v) : -1;
        double now = monotonic_s();

        if (!isatty(STDERR_FILENO))
                return;
        if (done >= 0 && total > 0) {
                double elapsed, rate;
                if (ps->copy_start == 0)
                        ps->copy_start = now;
                elapsed = now - ps->copy_start;
                rate = elapsed > 0.05 ? (double)done / elapsed : 0;
                fprintf(stderr, "\r\033[Kcopy %7.1f / %.1f MiB  %3d%%  %6.1f MiB/s", (double)done / 1048576.0,
                        (double)total / 1048576.0, (int)(100 * done / total), rate / 1048576.0);
                if (rate > 0 && done < total)
                        fprintf(stderr, "  ETA %.0f s", (double)(total - done) / rate);
        } else
                fprintf(stderr, "\r\033[K%s", step);
        ps->shown = true;
}

/* Send METHOD(PARAMS) and wait for the reply; progress messages are shown
 * on stderr when it is a terminal. */
static int call(const char *method, json_object *params, const int *fds, size_t n_fds, json_object **ret_reply)
{
        static int64_t next_id = 1;
        json_object *req = json_object_new_object(), *reply = NULL, *v;
        struct progress_state progress = {};
        int sock, r;

        sock = ipc_connect(arg_socket);
        if (sock < 0) {
                json_object_put(req);
                json_object_put(params);
                if (sock == -EACCES || sock == -EPERM) {
                        log_error("Permission denied on %s: tvamd accepts requests from root only", arg_socket);
                        return -EACCES;
                }
                log_error_errno(sock, "Cannot reach tvamd at %s (is it running?)", arg_socket);
                return -ECONNREFUSED;
        }
        json_object_object_add(req, "id", json_object_new_int64(next_id++));
        json_object_object_add(req, "method", json_object_new_string(method));
        json_object_object_add(req, "params", params ? params : json_object_new_object());
        r = ipc_send(sock, req, fds, n_fds);
        json_object_put(req);
        /* tvamd may refuse a client (not root) before reading its request:
         * the refusal is then waiting to be read although the send failed. */
        if (r == -EPIPE || r == -ECONNRESET)
                r = 0;
        for (; r >= 0;) {
                r = ipc_recv(sock, &reply, NULL, NULL);
                if (r < 0)
                        break;
                if (json_object_object_get_ex(reply, "progress", &v)) {
                        show_progress(&progress, v);
                        json_object_put(reply);
                        reply = NULL;
                        continue;
                }
                break;
        }
        close(sock);
        if (progress.shown)
                fputc('\n', stderr);
        if (r < 0) {
                log_error_errno(r, "Lost the connection to tvamd");
                return -ECONNREFUSED;
        }
        *ret_reply = reply;
        return 0;
}

/* Print REPLY; returns the exit status it stands for. */
static int report(json_object *reply, void (*print_result)(json_object *result))
{
        json_object *ok, *result, *error, *v;

        if (arg_json)
                printf("%s\n", json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PRETTY));

        if (json_object_object_get_ex(reply, "ok", &ok) && json_object_get_boolean(ok)) {
                if (!arg_json && print_result && json_object_object_get_ex(reply, "result", &result))
                        print_result(result);
                return EXIT_DONE;
        }
        if (json_object_object_get_ex(reply, "error", &error)) {
                const char *name = json_object_object_get_ex(error, "errno", &v) ? json_object_get_string(v) : "EIO";
                const char *message =
                        json_object_object_get_ex(error, "message", &v) ? json_object_get_string(v) : "unknown error";
                if (!arg_json)
                        log_error("%s (%s)", message, name);
                return strcmp(name, "EACCES") == 0 ? EXIT_DENIED : EXIT_REFUSED;
        }
        log_error("Malformed reply from tvamd");
        return EXIT_REFUSED;
}

static void print_version(json_object *result)
{
        json_object *v, *p;
        json_object_object_get_ex(result, "version", &v);
        json_object_object_get_ex(result, "protocol", &p);
        printf("tvamd %s (protocol %d)\n", json_object_get_string(v), json_object_get_int(p));
}

/* "mode" and "mode application" print the mode only on stdout (scripts
 * compare it), the autostart outcome of a switch on stderr; "mode status"
 * adds the Update-Mode timer and the SSH host key. */
static void print_autostart(json_object *result)
{
        json_object *autostart;

        if (!json_object_object_get_ex(result, "autostart", &autostart))
                return;
        for (size_t i = 0; i < json_object_array_length(autostart); i++) {
                json_object *a = json_object_array_get_idx(autostart, i), *g, *e;
                json_object_object_get_ex(a, "group", &g);
                if (json_object_object_get_ex(a, "error", &e))
                        fprintf(stderr, "autostart of group %s failed: %s\n", json_object_get_string(g),
                                json_object_get_string(e));
                else
                        fprintf(stderr, "autostart of group %s: started\n", json_object_get_string(g));
        }
}

static void print_mode(json_object *result)
{
        json_object *v;
        json_object_object_get_ex(result, "mode", &v);
        printf("%s\n", json_object_get_string(v));
        print_autostart(result);
}

static void print_mode_status(json_object *result)
{
        json_object *v, *key;
        bool update;

        print_mode(result);
        update = json_object_object_get_ex(result, "mode", &v) && strcmp(json_object_get_string(v), "update") == 0;
        if (!update)
                ;
        else if (json_object_object_get_ex(result, "update_mode_remaining", &v) && v)
                printf("update mode ends in: %" PRId64 " s (unless someone logs in)\n", json_object_get_int64(v));
        else if (json_object_object_get_ex(result, "login_seen", &v) && json_object_get_boolean(v))
                printf("update mode ends in: never (a login was seen)\n");
        else
                printf("update mode ends in: never (no timeout)\n");
        if (json_object_object_get_ex(result, "ssh_host_key", &key)) {
                printf("ssh host key:        %s\n",
                        json_object_object_get_ex(key, "fingerprint", &v) && v ? json_object_get_string(v) : "none");
                if (json_object_object_get_ex(key, "unsealed", &v) && json_object_get_boolean(v) &&
                        json_object_object_get_ex(key, "path", &v))
                        printf("ssh host key file:   %s\n", json_object_get_string(v));
                if (json_object_object_get_ex(key, "error", &v))
                        printf("ssh host key error:  %s\n", json_object_get_string(v));
        }
}

static int run_call_fds(const char *method, json_object *params, const int *fds, size_t n_fds,
        void (*print_result)(json_object *))
{
        json_object *reply = NULL;
        int r = call(method, params, fds, n_fds, &reply), status;

        if (r == -EACCES)
                return EXIT_DENIED;
        if (r < 0)
                return EXIT_UNREACHABLE;
        status = report(reply, print_result);
        json_object_put(reply);
        return status;
}

static int run_call(const char *method, json_object *params, void (*print_result)(json_object *))
{
        return run_call_fds(method, params, NULL, 0, print_result);
}

static void print_imported(json_object *result)
{
        json_object *n, *i;
        json_object_object_get_ex(result, "name", &n);
        json_object_object_get_ex(result, "identity", &i);
        printf("imported %s, identity %s\n", json_object_get_string(n), json_object_get_string(i));
}

static void print_started(json_object *result)
{
        json_object *n, *i;
        json_object_object_get_ex(result, "name", &n);
        json_object_object_get_ex(result, "identity", &i);
        printf("started %s (%s)\n", json_object_get_string(n), json_object_get_string(i));
}

static void print_list(json_object *result)
{
        json_object *apps, *v;
        if (!json_object_object_get_ex(result, "applications", &apps))
                return;
        printf("%-20s %-10s %-4s %10s  %s\n", "NAME", "STATE", "MODE", "SIZE", "IDENTITY");
        for (size_t i = 0; i < json_object_array_length(apps); i++) {
                json_object *a = json_object_array_get_idx(apps, i);
                const char *name = json_object_object_get_ex(a, "name", &v) ? json_object_get_string(v) : "?";
                const char *state = json_object_object_get_ex(a, "state", &v) ? json_object_get_string(v) : "?";
                int ro = json_object_object_get_ex(a, "read_only", &v) && json_object_get_boolean(v);
                int64_t size = json_object_object_get_ex(a, "image_size", &v) ? json_object_get_int64(v) : 0;
                const char *id = json_object_object_get_ex(a, "identity", &v) ? json_object_get_string(v) : "";
                printf("%-20s %-10s %-4s %8lldMi  %s\n", name, state, ro ? "ro" : "rw", (long long)(size >> 20), id);
        }
}

/* "512M", "2G", plain bytes. */
static int parse_size(const char *s, int64_t *ret)
{
        char *end;
        long long v;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || end == s || v < 0)
                return -EINVAL;
        switch (*end) {
        case '\0':
                break;
        case 'K':
                v <<= 10;
                end++;
                break;
        case 'M':
                v <<= 20;
                end++;
                break;
        case 'G':
                v <<= 30;
                end++;
                break;
        default:
                return -EINVAL;
        }
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int cmd_import(int argc, char **argv)
{
        static const struct option options[] = {
                { "read-only", no_argument, NULL, 'r' },
                { "data-size", required_argument, NULL, 'D' },
                { "recovery-key-file", required_argument, NULL, 'k' },
                { "memory", required_argument, NULL, 'm' },
                { "vcpus", required_argument, NULL, 'c' },
                { "format", required_argument, NULL, 'f' },
                {},
        };
        json_object *params = json_object_new_object();
        int fds[2] = { -1, -1 }, c, status;
        size_t n_fds = 1;
        int64_t v;

        optind = 0; /* glibc: 0 re-initialises getopt completely */
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'r':
                        json_object_object_add(params, "read_only", json_object_new_boolean(1));
                        break;
                case 'D':
                        if (parse_size(optarg, &v) < 0)
                                goto usage;
                        json_object_object_add(params, "data_size", json_object_new_int64(v));
                        break;
                case 'm':
                        if (parse_size(optarg, &v) < 0 || v < 16)
                                goto usage;
                        /* --memory takes MiB, or a size with a suffix */
                        json_object_object_add(params, "memory_mib",
                                json_object_new_int64(v >= (1 << 20) ? v >> 20 : v));
                        break;
                case 'c':
                        if (parse_size(optarg, &v) < 0 || v < 1 || v > 256)
                                goto usage;
                        json_object_object_add(params, "vcpus", json_object_new_int64(v));
                        break;
                case 'k':
                        /* The key file is opened here and passed as a
                         * descriptor: its content never appears in argv,
                         * the environment or the request JSON. */
                        fds[1] = open(optarg, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                        if (fds[1] < 0) {
                                log_error_errno(-errno, "Cannot open the recovery key file %s", optarg);
                                json_object_put(params);
                                return EXIT_REFUSED;
                        }
                        n_fds = 2;
                        break;
                case 'f':
                        if (strcmp(optarg, "raw") != 0 && strcmp(optarg, "qcow2") != 0)
                                goto usage;
                        json_object_object_add(params, "format", json_object_new_string(optarg));
                        break;
                default:
                        goto usage;
                }
        if (argc - optind != 2)
                goto usage;
        json_object_object_add(params, "name", json_object_new_string(argv[optind]));
        fds[0] = open(argv[optind + 1], O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fds[0] < 0) {
                log_error_errno(-errno, "Cannot open the image %s", argv[optind + 1]);
                json_object_put(params);
                if (fds[1] >= 0)
                        close(fds[1]);
                return EXIT_REFUSED;
        }
        if (n_fds == 2 && fds[1] < 0)
                n_fds = 1;
        /* Progress (bytes, rate, ETA) only where someone watches it. */
        if (!arg_json && isatty(STDERR_FILENO))
                json_object_object_add(params, "progress", json_object_new_boolean(1));
        status = run_call_fds("import", params, fds, n_fds, print_imported);
        close(fds[0]);
        if (fds[1] >= 0)
                close(fds[1]);
        return status;
usage:
        json_object_put(params);
        if (fds[1] >= 0)
                close(fds[1]);
        log_error("Usage: tvamctl import NAME IMAGE [--read-only] [--data-size SIZE] [--recovery-key-file F] "
                  "[--memory MIB] [--vcpus N] [--format raw|qcow2]");
        return EXIT_USAGE;
}

static int cmd_start(int argc, char **argv)
{
        static const struct option options[] = {
                { "verify", required_argument, NULL, 'v' },
                {},
        };
        json_object *params = json_object_new_object();
        int c;

        optind = 0; /* glibc: 0 re-initialises getopt completely */
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'v':
                        if (strcmp(optarg, "lazy") != 0 && strcmp(optarg, "eager") != 0)
                                goto usage;
                        json_object_object_add(params, "verify", json_object_new_string(optarg));
                        break;
                default:
                        goto usage;
                }
        if (argc - optind != 1)
                goto usage;
        json_object_object_add(params, "name", json_object_new_string(argv[optind]));
        return run_call("start", params, print_started);
usage:
        json_object_put(params);
        log_error("Usage: tvamctl start NAME [--verify lazy|eager]");
        return EXIT_USAGE;
}

static int cmd_stop(int argc, char **argv)
{
        static const struct option options[] = {
                { "force", no_argument, NULL, 'f' },
                { "timeout", required_argument, NULL, 't' },
                {},
        };
        json_object *params = json_object_new_object();
        int64_t v;
        int c;

        optind = 0; /* glibc: 0 re-initialises getopt completely */
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'f':
                        json_object_object_add(params, "force", json_object_new_boolean(1));
                        break;
                case 't':
                        if (parse_size(optarg, &v) < 0 || v > 3600)
                                goto usage;
                        json_object_object_add(params, "timeout", json_object_new_int64(v));
                        break;
                default:
                        goto usage;
                }
        if (argc - optind != 1)
                goto usage;
        json_object_object_add(params, "name", json_object_new_string(argv[optind]));
        return run_call("stop", params, NULL);
usage:
        json_object_put(params);
        log_error("Usage: tvamctl stop NAME [--force] [--timeout SECONDS]");
        return EXIT_USAGE;
}

/* The backup is written to FILE.partial and renamed over FILE only when
 * tvamd reports success: an interrupted backup never looks complete. */
static int cmd_backup(int argc, char **argv)
{
        _cleanup_free_ char *partial = NULL;
        json_object *params;
        int fd, status;

        if (argc != 3 || argv[1][0] == '-') {
                log_error("Usage: tvamctl backup NAME FILE");
                return EXIT_USAGE;
        }
        if (access(argv[2], F_OK) == 0) {
                log_error("%s exists already: not overwriting a backup", argv[2]);
                return EXIT_REFUSED;
        }
        if (asprintf(&partial, "%s.partial", argv[2]) < 0)
                return EXIT_REFUSED;
        fd = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0) {
                log_error_errno(-errno, "Cannot create %s", partial);
                return EXIT_REFUSED;
        }
        params = json_object_new_object();
        json_object_object_add(params, "name", json_object_new_string(argv[1]));
        if (!arg_json && isatty(STDERR_FILENO))
                json_object_object_add(params, "progress", json_object_new_boolean(1));
        status = run_call_fds("backup", params, &fd, 1, NULL);
        if (status == EXIT_DONE && (fsync(fd) < 0 || rename(partial, argv[2]) < 0)) {
                log_error_errno(-errno, "Cannot complete %s", argv[2]);
                status = EXIT_REFUSED;
        }
        close(fd);
        if (status != EXIT_DONE)
                (void)unlink(partial);
        else if (!arg_json)
                printf("backed up %s to %s\n", argv[1], argv[2]);
        return status;
}

static void print_restored(json_object *result)
{
        json_object *n, *i;
        json_object_object_get_ex(result, "name", &n);
        json_object_object_get_ex(result, "identity", &i);
        printf("restored %s, identity %s, sealed to this platform\n", json_object_get_string(n),
                json_object_get_string(i));
}

static int cmd_restore(int argc, char **argv)
{
        static const struct option options[] = {
                { "recovery-key-file", required_argument, NULL, 'k' },
                {},
        };
        json_object *params = json_object_new_object();
        int fds[2] = { -1, -1 }, c, status;

        optind = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'k':
                        if (fds[1] >= 0)
                                close(fds[1]);
                        fds[1] = open(optarg, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                        if (fds[1] < 0) {
                                log_error_errno(-errno, "Cannot open the recovery key file %s", optarg);
                                json_object_put(params);
                                return EXIT_REFUSED;
                        }
                        break;
                default:
                        goto usage;
                }
        if (argc - optind < 1 || argc - optind > 2 || fds[1] < 0)
                goto usage;
        if (argc - optind == 2)
                json_object_object_add(params, "name", json_object_new_string(argv[optind + 1]));
        fds[0] = open(argv[optind], O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fds[0] < 0) {
                log_error_errno(-errno, "Cannot open the backup %s", argv[optind]);
                close(fds[1]);
                json_object_put(params);
                return EXIT_REFUSED;
        }
        if (!arg_json && isatty(STDERR_FILENO))
                json_object_object_add(params, "progress", json_object_new_boolean(1));
        status = run_call_fds("restore", params, fds, 2, print_restored);
        close(fds[0]);
        close(fds[1]);
        return status;
usage:
        json_object_put(params);
        if (fds[1] >= 0)
                close(fds[1]);
        log_error("Usage: tvamctl restore FILE [NAME] --recovery-key-file F");
        return EXIT_USAGE;
}

static void print_groups(json_object *result)
{
        json_object *groups, *v, *apps;
        if (!json_object_object_get_ex(result, "groups", &groups))
                return;
        printf("%-20s %-8s %s\n", "GROUP", "STATE", "APPLICATIONS (start order)");
        for (size_t i = 0; i < json_object_array_length(groups); i++) {
                json_object *g = json_object_array_get_idx(groups, i);
                printf("%-20s %-8s", json_object_object_get_ex(g, "name", &v) ? json_object_get_string(v) : "?",
                        json_object_object_get_ex(g, "state", &v) ? json_object_get_string(v) : "?");
                if (json_object_object_get_ex(g, "applications", &apps))
                        for (size_t j = 0; j < json_object_array_length(apps); j++) {
                                json_object *a = json_object_array_get_idx(apps, j), *n, *net;
                                json_object_object_get_ex(a, "name", &n);
                                printf(" %s", json_object_get_string(n));
                                if (json_object_object_get_ex(a, "network", &net))
                                        printf("(%s)", json_object_get_string(net));
                        }
                printf("\n");
        }
}

static void print_group_started(json_object *result)
{
        json_object *v;
        json_object_object_get_ex(result, "name", &v);
        printf("group %s started\n", json_object_get_string(v));
}

static int cmd_group(int argc, char **argv)
{
        static const struct option options[] = {
                { "verify", required_argument, NULL, 'v' },
                { "force", no_argument, NULL, 'f' },
                { "timeout", required_argument, NULL, 't' },
                {},
        };
        json_object *params = json_object_new_object();
        const char *action;
        int64_t v;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'v':
                        if (strcmp(optarg, "lazy") != 0 && strcmp(optarg, "eager") != 0)
                                goto usage;
                        json_object_object_add(params, "verify", json_object_new_string(optarg));
                        break;
                case 'f':
                        json_object_object_add(params, "force", json_object_new_boolean(1));
                        break;
                case 't':
                        if (parse_size(optarg, &v) < 0 || v > 3600)
                                goto usage;
                        json_object_object_add(params, "timeout", json_object_new_int64(v));
                        break;
                default:
                        goto usage;
                }
        if (argc - optind < 1)
                goto usage;
        action = argv[optind];
        json_object_object_add(params, "action", json_object_new_string(action));
        if (strcmp(action, "list") == 0) {
                if (argc - optind != 1)
                        goto usage;
                return run_call("group", params, print_groups);
        }
        if (strcmp(action, "autostart") == 0) {
                if (argc - optind != 3 || (strcmp(argv[optind + 2], "on") != 0 && strcmp(argv[optind + 2], "off") != 0))
                        goto usage;
                json_object_object_add(params, "name", json_object_new_string(argv[optind + 1]));
                json_object_object_add(params, "enable", json_object_new_boolean(strcmp(argv[optind + 2], "on") == 0));
                return run_call("group", params, NULL);
        }
        if (argc - optind != 2)
                goto usage;
        if (strcmp(action, "add") == 0) {
                _cleanup_free_ char *text = NULL;
                size_t n = 0;
                FILE *f = fopen(argv[optind + 1], "re");
                if (!f) {
                        log_error_errno(-errno, "Cannot open the group file %s", argv[optind + 1]);
                        json_object_put(params);
                        return EXIT_REFUSED;
                }
                text = calloc(1, 16385);
                if (text)
                        n = fread(text, 1, 16384, f);
                fclose(f);
                if (!text || n == 16384) {
                        log_error("The group file %s is too large (at most 16 KiB)", argv[optind + 1]);
                        json_object_put(params);
                        return EXIT_REFUSED;
                }
                json_object_object_add(params, "definition", json_object_new_string(text));
                return run_call("group", params, NULL);
        }
        json_object_object_add(params, "name", json_object_new_string(argv[optind + 1]));
        if (strcmp(action, "start") == 0)
                return run_call("group", params, print_group_started);
        if (strcmp(action, "stop") == 0 || strcmp(action, "remove") == 0)
                return run_call("group", params, NULL);
usage:
        json_object_put(params);
        log_error("Usage: tvamctl group add FILE | remove NAME | list | start NAME [--verify lazy|eager] | "
                  "stop NAME [--force] [--timeout S] | autostart NAME on|off");
        return EXIT_USAGE;
}

/* Run METHOD and write its result (a JSON document for a verifier) to OUT,
 * atomically, or to stdout. */
static int call_document(const char *method, json_object *params, const char *out)
{
        json_object *reply = NULL, *ok, *result;
        const char *text;
        int r = call(method, params, NULL, 0, &reply), status;

        if (r == -EACCES)
                return EXIT_DENIED;
        if (r < 0)
                return EXIT_UNREACHABLE;
        if (!json_object_object_get_ex(reply, "ok", &ok) || !json_object_get_boolean(ok) ||
                !json_object_object_get_ex(reply, "result", &result)) {
                status = report(reply, NULL);
                json_object_put(reply);
                return status;
        }
        text = json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN);
        if (out) {
                _cleanup_free_ char *line = NULL;
                if (asprintf(&line, "%s\n", text) < 0 || atomic_file_write(out, line, strlen(line), 0644) < 0) {
                        log_error("Cannot write %s", out);
                        json_object_put(reply);
                        return EXIT_REFUSED;
                }
        } else
                printf("%s\n", text);
        json_object_put(reply);
        return EXIT_DONE;
}

static int cmd_enrol(int argc, char **argv)
{
        static const struct option options[] = {
                { "out", required_argument, NULL, 'o' },
                {},
        };
        json_object *params = json_object_new_object();
        const char *out = NULL;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'o':
                        out = optarg;
                        break;
                default:
                        goto usage;
                }
        if (argc - optind == 1 && strcmp(argv[optind], "request") == 0) {
                json_object_object_add(params, "action", json_object_new_string("request"));
                return call_document("enrol", params, out);
        }
        if (argc - optind == 2 && strcmp(argv[optind], "answer") == 0) {
                _cleanup_free_ uint8_t *text = NULL;
                size_t size;
                if (read_full_file(argv[optind + 1], 1024 * 1024, &text, &size) < 0) {
                        log_error("Cannot read the challenge %s", argv[optind + 1]);
                        json_object_put(params);
                        return EXIT_REFUSED;
                }
                json_object_object_add(params, "action", json_object_new_string("answer"));
                json_object_object_add(params, "challenge", json_object_new_string_len((const char *)text, (int)size));
                return call_document("enrol", params, out);
        }
usage:
        json_object_put(params);
        log_error("Usage: tvamctl enrol request [--out F] | enrol answer CHALLENGE [--out F]");
        return EXIT_USAGE;
}

/* attest, and platform-key (the same options but --pcrs): both send the
 * verifier's nonce and print tvamd's document. */
static int cmd_attest(const char *method, int argc, char **argv)
{
        static const struct option options[] = {
                { "nonce", required_argument, NULL, 'n' },
                { "pcrs", required_argument, NULL, 'p' },
                { "out", required_argument, NULL, 'o' },
                {},
        };
        json_object *params = json_object_new_object(), *pcrs = NULL;
        const char *out = NULL;
        int c;

        optind = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'n':
                        json_object_object_add(params, "nonce", json_object_new_string(optarg));
                        break;
                case 'p': {
                        if (strcmp(method, "attest") != 0)
                                goto usage;
                        _cleanup_free_ char *copy = strdup(optarg);
                        char *save = NULL;
                        pcrs = json_object_new_array();
                        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                                char *end;
                                long v = strtol(t, &end, 10);
                                if (*end || v < 0 || v > 23) {
                                        json_object_put(pcrs);
                                        goto usage;
                                }
                                json_object_array_add(pcrs, json_object_new_int((int)v));
                        }
                        json_object_object_add(params, "pcrs", pcrs);
                        break;
                }
                case 'o':
                        out = optarg;
                        break;
                default:
                        goto usage;
                }
        if (optind != argc || !json_object_object_get_ex(params, "nonce", NULL))
                goto usage;
        return call_document(method, params, out);
usage:
        json_object_put(params);
        if (strcmp(method, "attest") == 0)
                log_error("Usage: tvamctl attest --nonce HEX [--pcrs 0,1,...] [--out FILE]");
        else
                log_error("Usage: tvamctl platform-key --nonce HEX [--out FILE]");
        return EXIT_USAGE;
}

/* --- policy / update (docs/update.md) ------------------------------------- */

static void print_policy(json_object *result)
{
        json_object *states, *v;

        printf("policy index %s, mode %s, update %s\n",
                json_object_object_get_ex(result, "policy_index", &v) ? json_object_get_string(v) : "?",
                json_object_object_get_ex(result, "mode", &v) ? json_object_get_string(v) : "?",
                json_object_object_get_ex(result, "update", &v) ? json_object_get_string(v) : "?");
        if (json_object_object_get_ex(result, "inputs", &v))
                printf("update inputs: %s\n", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
        if (!json_object_object_get_ex(result, "states", &states))
                return;
        for (size_t i = 0; i < json_object_array_length(states); i++) {
                json_object *st = json_object_array_get_idx(states, i), *pcrs;
                printf("state %zu (%s): %s\n", i,
                        json_object_object_get_ex(st, "role", &v) ? json_object_get_string(v) : "?",
                        json_object_object_get_ex(st, "matches", &v) && json_object_get_boolean(v)
                                ? "the TPM matches"
                                : "the TPM differs");
                if (!json_object_object_get_ex(st, "pcrs", &pcrs))
                        continue;
                for (size_t k = 0; k < json_object_array_length(pcrs); k++) {
                        json_object *e = json_object_array_get_idx(pcrs, k), *pcr, *exp, *prov, *match;
                        json_object_object_get_ex(e, "pcr", &pcr);
                        json_object_object_get_ex(e, "expected", &exp);
                        json_object_object_get_ex(e, "provenance", &prov);
                        json_object_object_get_ex(e, "match", &match);
                        printf("  PCR %2d %s %s  %s\n", json_object_get_int(pcr), json_object_get_string(exp),
                                json_object_get_boolean(match) ? "=" : "≠", json_object_get_string(prov));
                }
        }
}

static void print_message(json_object *result)
{
        json_object *v;
        if (json_object_object_get_ex(result, "message", &v))
                printf("%s\n", json_object_get_string(v));
        else if (json_object_object_get_ex(result, "changed_pcrs", &v))
                printf("update prepared: the current and the next state unseal (PCRs %s change)\n",
                        json_object_get_string(v));
        else if (json_object_object_get_ex(result, "authorized", &v))
                printf("the policy index authorizes the %s state only\n", json_object_get_string(v));
        else
                printf("done\n");
}

static void close_fds(int fds[2])
{
        for (int i = 0; i < 2; i++)
                if (fds[i] >= 0)
                        fds[i] = (close(fds[i]), -1);
}

/* policy init|show|diagnose, update prepare|commit|abort.  The
 * administrator secret is opened here and passed as a descriptor: never in
 * argv, the environment or the request JSON. */
static int cmd_policy_update(const char *group, int argc, char **argv)
{
        static const struct option options[] = {
                { "admin-key-file", required_argument, NULL, 'a' },
                { "owner-auth-file", required_argument, NULL, 'o' },
                { "kernel", required_argument, NULL, 'k' },
                { "initrd", required_argument, NULL, 'i' },
                { "tboot", required_argument, NULL, 't' },
                { "base", required_argument, NULL, 'b' },
                { "cmdline", required_argument, NULL, 'c' },
                { "eventlog", required_argument, NULL, 'e' },
                { "sinit-data", required_argument, NULL, 's' },
                { "sinit-pcr17", required_argument, NULL, 'S' },
                { "tboot-cmdline", required_argument, NULL, 'T' },
                {},
        };
        static const char *const path_keys[] = { ['k'] = "kernel", ['i'] = "initrd", ['t'] = "tboot",
                ['b'] = "base", ['e'] = "eventlog", ['s'] = "sinit_data" };
        json_object *params = json_object_new_object();
        char method[32], *abs = NULL;
        const char *sub;
        int fds[2] = { -1, -1 }, c, status;
        bool admin = false, owner_allowed = false;

        if (argc < 2)
                goto usage;
        sub = argv[1];
        optind = 2; /* options follow the subcommand */
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'a':
                case 'o': {
                        int *fd = &fds[c == 'a' ? 0 : 1];
                        if (*fd >= 0)
                                goto usage;
                        *fd = open(optarg, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                        if (*fd < 0) {
                                log_error_errno(-errno, "Cannot open the %s file %s",
                                        c == 'a' ? "administrator key" : "owner authorization", optarg);
                                json_object_put(params);
                                close_fds(fds);
                                return EXIT_REFUSED;
                        }
                        break;
                }
                case 'k':
                case 'i':
                case 't':
                case 'b':
                case 'e':
                case 's':
                        /* tvamd reads these files itself: an absolute path */
                        abs = realpath(optarg, NULL);
                        if (!abs) {
                                log_error_errno(-errno, "Cannot resolve %s", optarg);
                                json_object_put(params);
                                close_fds(fds);
                                return EXIT_REFUSED;
                        }
                        json_object_object_add(params, path_keys[c], json_object_new_string(abs));
                        free(abs);
                        break;
                case 'c':
                        json_object_object_add(params, "cmdline", json_object_new_string(optarg));
                        break;
                case 'S':
                        json_object_object_add(params, "sinit_pcr17", json_object_new_string(optarg));
                        break;
                case 'T':
                        json_object_object_add(params, "tboot_cmdline", json_object_new_string(optarg));
                        break;
                default:
                        goto usage;
                }
        if (optind != argc)
                goto usage;
        if (strcmp(group, "policy") == 0 && strcmp(sub, "init") == 0)
                admin = owner_allowed = true;
        else if (strcmp(group, "policy") == 0 && (strcmp(sub, "show") == 0 || strcmp(sub, "diagnose") == 0))
                admin = false;
        else if (strcmp(group, "update") == 0 && (strcmp(sub, "prepare") == 0 || strcmp(sub, "abort") == 0))
                admin = owner_allowed = true;
        else if (strcmp(group, "update") == 0 && strcmp(sub, "commit") == 0)
                admin = true;
        else
                goto usage;
        if (admin != (fds[0] >= 0))
                goto usage; /* --admin-key-file exactly where the index is written */
        if (fds[1] >= 0 && !owner_allowed)
                goto usage; /* --owner-auth-file where NV is defined or the VLP written */
        snprintf(method, sizeof(method), "%s-%s", group, sub);
        status = run_call_fds(method, params, fds[0] >= 0 ? fds : NULL, fds[1] >= 0 ? 2 : fds[0] >= 0 ? 1 : 0,
                strcmp(sub, "show") == 0 ? print_policy : print_message);
        close_fds(fds);
        return status;

usage:
        json_object_put(params);
        close_fds(fds);
        log_error("Invalid arguments for '%s' (see tvamctl --help)", group);
        return EXIT_USAGE;
}

static int cmd_name_only(const char *method, int argc, char **argv)
{
        json_object *params;

        if (argc != 2 || argv[1][0] == '-') {
                log_error("Usage: tvamctl %s NAME", method);
                return EXIT_USAGE;
        }
        params = json_object_new_object();
        json_object_object_add(params, "name", json_object_new_string(argv[1]));
        return run_call(method, params, NULL);
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
                { "socket", required_argument, NULL, 's' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *command;
        int c;

        log_set_program_name("tvamctl");
        log_parse_environment();

        /* Options before the command; "+" stops at the first non-option. */
        while ((c = getopt_long(argc, argv, "+s:jh", options, NULL)) >= 0)
                switch (c) {
                case 's':
                        arg_socket = optarg;
                        break;
                case 'j':
                        arg_json = 1;
                        break;
                case 'h':
                        help();
                        return EXIT_DONE;
                default:
                        return EXIT_USAGE;
                }
        if (optind >= argc) {
                help();
                return EXIT_USAGE;
        }
        command = argv[optind++];
        /* --json may also follow the command ("tvamctl list --json"). */
        for (int i = optind; i < argc; i++)
                if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "-j") == 0) {
                        arg_json = 1;
                        memmove(&argv[i], &argv[i + 1], (size_t)(argc - i - 1) * sizeof(char *));
                        argc--;
                        i--;
                }

        if (strcmp(command, "version") == 0) {
                if (optind != argc)
                        goto usage;
                return run_call("version", NULL, print_version);
        }
        if (strcmp(command, "mode") == 0) {
                json_object *params = NULL;
                if (argc - optind > 1)
                        goto usage;
                if (argc - optind == 1 && strcmp(argv[optind], "status") == 0)
                        return run_call("mode", NULL, print_mode_status);
                if (argc - optind == 1) {
                        if (strcmp(argv[optind], "update") != 0 && strcmp(argv[optind], "application") != 0)
                                goto usage;
                        params = json_object_new_object();
                        json_object_object_add(params, "set", json_object_new_string(argv[optind]));
                }
                return run_call("mode", params, print_mode);
        }
        /* Subcommands with their own options see argv from the command on. */
        if (strcmp(command, "import") == 0)
                return cmd_import(argc - optind + 1, argv + optind - 1);
        if (strcmp(command, "start") == 0)
                return cmd_start(argc - optind + 1, argv + optind - 1);
        if (strcmp(command, "stop") == 0)
                return cmd_stop(argc - optind + 1, argv + optind - 1);
        if (strcmp(command, "enrol") == 0)
                return cmd_enrol(argc - optind + 1, argv + optind - 1);
        if (strcmp(command, "attest") == 0)
                return cmd_attest("attest", argc - optind + 1, argv + optind - 1);
        if (strcmp(command, "platform-key") == 0)
                return cmd_attest("platform-key", argc - optind + 1, argv + optind - 1);
        if (strcmp(command, "group") == 0)
                return cmd_group(argc - optind + 1, argv + optind - 1);
        if (strcmp(command, "backup") == 0)
                return cmd_backup(argc - optind + 1, argv + optind - 1);
        if (strcmp(command, "restore") == 0)
                return cmd_restore(argc - optind + 1, argv + optind - 1);
        if (strcmp(command, "policy") == 0 || strcmp(command, "update") == 0)
                return cmd_policy_update(command, argc - optind + 1, argv + optind - 1);
        if (strcmp(command, "remove") == 0)
                return cmd_name_only("remove", argc - optind + 1, argv + optind - 1);
        if (strcmp(command, "list") == 0) {
                if (optind != argc)
                        goto usage;
                return run_call("list", NULL, print_list);
        }
        log_error("Unknown command '%s' (see tvamctl --help)", command);
        return EXIT_USAGE;

usage:
        log_error("Invalid arguments for '%s' (see tvamctl --help)", command);
        return EXIT_USAGE;
}
