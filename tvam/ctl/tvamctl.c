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
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tvam/ipc/ipc.h"
#include "tvam/shared/log.h"

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
               "  mode application          switch to Application Mode: extends PCR 15, after\n"
               "                            which Update-Mode secrets no longer unseal; only a\n"
               "                            reboot returns to Update Mode\n"
               "  import NAME IMAGE [--read-only] [--data-size SIZE] [--recovery-key-file F]\n"
               "         [--memory MIB] [--vcpus N] [--format raw]\n"
               "                            encrypt IMAGE into new volumes, measure it and seal\n"
               "                            its key to the Application-Mode state\n"
               "  start NAME [--verify lazy|eager]\n"
               "                            unseal, open, measure into PCR 13 and start the VM\n"
               "                            (Application Mode only)\n"
               "  stop NAME [--force] [--timeout S]\n"
               "                            ACPI shutdown, destroy after S seconds (default 60)\n"
               "  list [--json]             applications, state, identity, size\n"
               "  remove NAME               erase the keyslots and remove the volumes\n"
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

/* Send METHOD(PARAMS) and wait for the reply; progress messages are shown
 * on stderr when it is a terminal. */
static int call(const char *method, json_object *params, const int *fds, size_t n_fds, json_object **ret_reply)
{
        static int64_t next_id = 1;
        json_object *req = json_object_new_object(), *reply = NULL, *v;
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
                        if (isatty(STDERR_FILENO))
                                fprintf(stderr, "\r%s", json_object_get_string(v));
                        json_object_put(reply);
                        reply = NULL;
                        continue;
                }
                break;
        }
        close(sock);
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

static void print_mode(json_object *result)
{
        json_object *v;
        json_object_object_get_ex(result, "mode", &v);
        printf("%s\n", json_object_get_string(v));
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
                        if (strcmp(optarg, "raw") != 0) {
                                log_error("Only --format raw is supported by this version; convert first, e.g. "
                                          "qemu-img convert -O raw IMAGE IMAGE.raw");
                                json_object_put(params);
                                return EXIT_REFUSED;
                        }
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
                  "[--memory MIB] [--vcpus N] [--format raw]");
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
