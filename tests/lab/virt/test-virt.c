/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-virt — drives tvam/virt in the lab (tests/lab/scenarios/40-virt.sh).
 *
 *   test-virt [--uri URI] start NAME --serial-log PATH [--memory MIB] [--vcpus N]
 *             [--uuid UUID] [--network NET | --bridge BR] --disk PATH[:ro][:SERIAL] ...
 *   test-virt xml   (same arguments as start: prints the domain XML)
 *   test-virt [--uri URI] stop NAME [--timeout S] [--force]
 *   test-virt [--uri URI] state NAME
 *   test-virt [--uri URI] list
 *   test-virt wait-marker LOG MARKER TIMEOUT_S
 *
 * On failure it prints one line "test-virt: <what>: <ERRNAME>: <message>"
 * and exits with the positive errno, so the scenario can check which error
 * the module returned.  "stop" prints "powered-off" or "destroyed".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tvam/shared/log.h"
#include "tvam/virt/virt.h"

static int fail(int r, const char *what)
{
        const char *name = strerrorname_np(-r);

        fprintf(stderr, "test-virt: %s: %s: %s\n", what, name ? name : "?",
                virt_last_error()[0] ? virt_last_error() : strerror(-r));
        return -r;
}

static int usage(void)
{
        fprintf(stderr, "usage: see the comment at the top of tests/lab/virt/test-virt.c\n");
        return 64;
}

static unsigned long parse_ulong(const char *s)
{
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end) {
                fprintf(stderr, "test-virt: not a number: %s\n", s);
                exit(64);
        }
        return v;
}

/* PATH[:ro][:SERIAL] */
static void parse_disk(char *arg, struct virt_disk *d)
{
        char *colon;

        d->path = arg;
        while ((colon = strrchr(arg, ':'))) {
                *colon = '\0';
                if (strcmp(colon + 1, "ro") == 0)
                        d->read_only = true;
                else
                        d->serial = colon + 1;
        }
}

static int parse_config(int argc, char **argv, struct virt_domain_config *cfg, struct virt_disk *disks)
{
        if (argc < 1)
                return -1;
        *cfg = (struct virt_domain_config){.name = argv[0], .memory_mib = 192, .vcpus = 1, .disks = disks};
        for (int i = 1; i < argc; i++) {
                const char *opt = argv[i];
                if (i + 1 >= argc)
                        return -1;
                if (strcmp(opt, "--serial-log") == 0)
                        cfg->serial_log = argv[++i];
                else if (strcmp(opt, "--memory") == 0)
                        cfg->memory_mib = parse_ulong(argv[++i]);
                else if (strcmp(opt, "--vcpus") == 0)
                        cfg->vcpus = (unsigned)parse_ulong(argv[++i]);
                else if (strcmp(opt, "--uuid") == 0)
                        cfg->uuid = argv[++i];
                else if (strcmp(opt, "--network") == 0) {
                        cfg->net_type = VIRT_NET_NETWORK;
                        cfg->net_source = argv[++i];
                } else if (strcmp(opt, "--bridge") == 0) {
                        cfg->net_type = VIRT_NET_BRIDGE;
                        cfg->net_source = argv[++i];
                } else if (strcmp(opt, "--disk") == 0) {
                        if (cfg->n_disks >= VIRT_DISKS_MAX)
                                return -1;
                        parse_disk(argv[++i], &disks[cfg->n_disks++]);
                } else
                        return -1;
        }
        return 0;
}

static int cmd_xml(int argc, char **argv)
{
        struct virt_disk disks[VIRT_DISKS_MAX] = {};
        struct virt_domain_config cfg;
        _cleanup_free_ char *xml = NULL;
        char why[256] = "";
        int r;

        if (parse_config(argc, argv, &cfg, disks) < 0)
                return usage();
        r = virt_domain_config_check(&cfg, why, sizeof why);
        if (r < 0) {
                fprintf(stderr, "test-virt: invalid configuration: %s\n", why);
                return -r;
        }
        r = virt_domain_xml(&cfg, &xml);
        if (r < 0)
                return fail(r, "domain XML");
        fputs(xml, stdout);
        return 0;
}

static int cmd_start(struct virt_conn *c, int argc, char **argv)
{
        struct virt_disk disks[VIRT_DISKS_MAX] = {};
        struct virt_domain_config cfg;
        int r;

        if (parse_config(argc, argv, &cfg, disks) < 0)
                return usage();
        r = virt_start(c, &cfg);
        if (r < 0)
                return fail(r, "start");
        printf("started %s\n", cfg.name);
        return 0;
}

static int cmd_stop(struct virt_conn *c, int argc, char **argv)
{
        unsigned timeout = 60;
        bool force = false;
        int r;

        if (argc < 1)
                return usage();
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--force") == 0)
                        force = true;
                else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
                        timeout = (unsigned)parse_ulong(argv[++i]);
                else
                        return usage();
        }
        r = virt_stop(c, argv[0], timeout, force);
        if (r < 0)
                return fail(r, "stop");
        printf("%s\n", r == 0 ? "powered-off" : "destroyed");
        return 0;
}

static int cmd_state(struct virt_conn *c, int argc, char **argv)
{
        enum virt_state s;
        int r;

        if (argc != 1)
                return usage();
        r = virt_state(c, argv[0], &s);
        if (r < 0)
                return fail(r, "state");
        printf("%s\n", virt_state_to_string(s));
        return 0;
}

static int cmd_list(struct virt_conn *c)
{
        struct virt_domain_info *infos = NULL;
        size_t n = 0;
        int r;

        r = virt_list(c, &infos, &n);
        if (r < 0)
                return fail(r, "list");
        for (size_t i = 0; i < n; i++)
                printf("%s\t%s\t%" PRId64 "\n", infos[i].name, virt_state_to_string(infos[i].state),
                        infos[i].uptime_s);
        virt_domain_info_free(infos, n);
        return 0;
}

int main(int argc, char **argv)
{
        _cleanup_(virt_disconnectp) struct virt_conn *c = NULL;
        const char *uri = NULL, *cmd;
        int r;

        log_parse_environment();
        argv++, argc--;
        if (argc >= 2 && strcmp(argv[0], "--uri") == 0) {
                uri = argv[1];
                argv += 2, argc -= 2;
        }
        if (argc < 1)
                return usage();
        cmd = argv[0];
        argv++, argc--;

        if (strcmp(cmd, "xml") == 0)
                return cmd_xml(argc, argv);
        if (strcmp(cmd, "wait-marker") == 0) {
                if (argc != 3)
                        return usage();
                r = virt_wait_serial_marker(argv[0], argv[1], (unsigned)parse_ulong(argv[2]));
                return r < 0 ? fail(r, "wait-marker") : 0;
        }

        r = virt_connect(uri, &c);
        if (r < 0)
                return fail(r, "connect");
        if (strcmp(cmd, "start") == 0)
                return cmd_start(c, argc, argv);
        if (strcmp(cmd, "stop") == 0)
                return cmd_stop(c, argc, argv);
        if (strcmp(cmd, "state") == 0)
                return cmd_state(c, argc, argv);
        if (strcmp(cmd, "list") == 0)
                return cmd_list(c);
        return usage();
}
