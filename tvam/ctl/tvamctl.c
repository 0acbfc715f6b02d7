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
static int call(const char *method, json_object *params, json_object **ret_reply)
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
        r = ipc_send(sock, req, NULL, 0);
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

static int run_call(const char *method, json_object *params, void (*print_result)(json_object *))
{
        json_object *reply = NULL;
        int r = call(method, params, &reply), status;

        if (r == -EACCES)
                return EXIT_DENIED;
        if (r < 0)
                return EXIT_UNREACHABLE;
        status = report(reply, print_result);
        json_object_put(reply);
        return status;
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
        log_error("Unknown command '%s' (see tvamctl --help)", command);
        return EXIT_USAGE;

usage:
        log_error("Invalid arguments for '%s' (see tvamctl --help)", command);
        return EXIT_USAGE;
}
