/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of tvam/virt: the closed-box domain XML (golden elements,
 * escaping of hostile strings, refusal of invalid input), the libvirt error
 * mapping, the serial-log marker wait, and the lifecycle against libvirt's
 * in-process test driver (test:///default; no daemon, no KVM).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <libvirt/virterror.h>

#include "tvam/virt/virt.h"

static const struct virt_disk two_disks[] = {
        {.path = "/dev/mapper/tvam-app-web", .read_only = true, .serial = "web-image"},
        {.path = "/dev/mapper/tvam-appcfg-web"},
};

static struct virt_domain_config base_config(void)
{
        return (struct virt_domain_config){
                .name = "web",
                .memory_mib = 256,
                .vcpus = 2,
                .disks = two_disks,
                .n_disks = ELEMENTSOF(two_disks),
                .serial_log = "/run/tvam/serial/web.log",
        };
}

__attribute__((noinline)) static char *xml_of(const struct virt_domain_config *cfg)
{
        char *xml = NULL;

        assert_int_equal(virt_domain_xml(cfg, &xml), 0);
        assert_non_null(xml);
        return xml;
}

static void assert_contains(const char *haystack, const char *needle)
{
        if (!strstr(haystack, needle))
                fail_msg("missing \"%s\" in:\n%s", needle, haystack);
}

static void assert_lacks(const char *haystack, const char *needle)
{
        if (strstr(haystack, needle))
                fail_msg("unexpected \"%s\" in:\n%s", needle, haystack);
}

static void test_xml_closed_box(void **state)
{
        struct virt_domain_config cfg = base_config();
        _cleanup_free_ char *xml = NULL;
        const char *first, *second, *boot;

        (void)state;
        xml = xml_of(&cfg);
        static const char *const golden[] = {
                "<domain type='kvm'>",
                "<name>web</name>",
                "<memory unit='MiB'>256</memory>",
                "<vcpu placement='static'>2</vcpu>",
                "<type>hvm</type>",
                "<acpi/>",
                "<on_poweroff>destroy</on_poweroff>",
                "<on_reboot>destroy</on_reboot>",
                "<on_crash>destroy</on_crash>",
                "<driver name='qemu' type='raw' cache='none' io='native'/>",
                "<source dev='/dev/mapper/tvam-app-web'/>",
                "<target dev='vda' bus='virtio'/>",
                "<serial>web-image</serial>",
                "<source dev='/dev/mapper/tvam-appcfg-web'/>",
                "<target dev='vdb' bus='virtio'/>",
                "<serial type='file'>\n      <source path='/run/tvam/serial/web.log'/>",
                "<video>\n      <model type='none'/>\n    </video>",
                "<memballoon model='none'/>",
                "<controller type='usb' model='none'/>",
        };
        for (size_t i = 0; i < ELEMENTSOF(golden); i++)
                assert_contains(xml, golden[i]);
        static const char *const forbidden[] = {
                "<graphics",
                "<console",
                "<kernel",
                "<initrd",
                "<cmdline",
                "type='pty'",
                "<channel",
                "<interface",
                "<uuid>",
                "<os><boot",
                "<boot dev",
        };
        for (size_t i = 0; i < ELEMENTSOF(forbidden); i++)
                assert_lacks(xml, forbidden[i]);

        /* Only the first disk is read-only and bootable. */
        first = strstr(xml, "<source dev='/dev/mapper/tvam-app-web'/>");
        second = strstr(xml, "<source dev='/dev/mapper/tvam-appcfg-web'/>");
        assert_true(first && second && first < second);
        boot = strstr(xml, "<boot order='1'/>");
        assert_true(boot && boot > first && boot < second);
        assert_null(strstr(boot + 1, "<boot"));
        assert_true(strstr(first, "<readonly/>") < second);
        assert_null(strstr(second, "<readonly/>"));
        /* Exactly one serial port. */
        assert_null(strstr(strstr(xml, "<serial type='file'>") + 1, "<serial type="));
}

/* ENDORSE / GET-ID channels: a unix-socket virtio-serial port each, QEMU
 * listening; hostile names and paths refused. */
static void test_xml_channels(void **state)
{
        static const struct virt_channel channels[] = {
                { .path = "/run/tvam/vm/web/endorse.sock", .name = "org.tvam.endorse.0" },
                { .path = "/run/tvam/vm/web/tls.sock", .name = "org.tvam.tls.0" },
        };
        struct virt_domain_config cfg = base_config();
        struct virt_channel bad[2];
        _cleanup_free_ char *xml = NULL;
        char long_path[120], err[256];

        (void)state;
        cfg.channels = channels;
        cfg.n_channels = ELEMENTSOF(channels);
        xml = xml_of(&cfg);
        assert_contains(xml, "<channel type='unix'>\n      <source mode='bind' path='/run/tvam/vm/web/endorse.sock'/>\n"
                             "      <target type='virtio' name='org.tvam.endorse.0'/>\n    </channel>");
        assert_contains(xml, "<source mode='bind' path='/run/tvam/vm/web/tls.sock'/>\n"
                             "      <target type='virtio' name='org.tvam.tls.0'/>");
        assert_lacks(xml, "<console");
        assert_lacks(xml, "type='pty'");

        bad[0] = (struct virt_channel){ .path = "/run/x.sock", .name = "org.tvam'/><graphics type='vnc" };
        cfg.channels = bad;
        cfg.n_channels = 1;
        assert_int_equal(virt_domain_config_check(&cfg, err, sizeof(err)), -EINVAL);
        assert_contains(err, "channel 0: invalid name");
        bad[0] = (struct virt_channel){ .path = "relative.sock", .name = "a" };
        assert_int_equal(virt_domain_config_check(&cfg, err, sizeof(err)), -EINVAL);
        memset(long_path, 'a', sizeof(long_path) - 1);
        long_path[0] = '/';
        long_path[sizeof(long_path) - 1] = '\0';
        bad[0] = (struct virt_channel){ .path = long_path, .name = "a" };
        assert_int_equal(virt_domain_config_check(&cfg, err, sizeof(err)), -EINVAL);
        bad[0] = (struct virt_channel){ .path = "/run/a.sock", .name = "a" };
        bad[1] = (struct virt_channel){ .path = "/run/b.sock", .name = "a" };
        cfg.n_channels = 2;
        assert_int_equal(virt_domain_config_check(&cfg, err, sizeof(err)), -EINVAL);
        assert_contains(err, "same name");
        cfg.n_channels = VIRT_CHANNELS_MAX + 1;
        assert_int_equal(virt_domain_config_check(&cfg, err, sizeof(err)), -EINVAL);
}

static void test_xml_options(void **state)
{
        struct virt_domain_config cfg = base_config();
        const struct virt_disk disk = {.path = "/dev/dm-3", .target = "vdc"};
        _cleanup_free_ char *net = NULL, *br = NULL, *one = NULL;

        (void)state;
        cfg.uuid = "c7a5fdbd-edaf-9455-926a-d65c16db1809";
        cfg.net_type = VIRT_NET_NETWORK;
        cfg.net_source = "tvam-group1";
        net = xml_of(&cfg);
        assert_contains(net, "<uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>");
        assert_contains(net, "<interface type='network'>\n      <source network='tvam-group1'/>\n"
                             "      <model type='virtio'/>");

        cfg.net_type = VIRT_NET_BRIDGE;
        cfg.net_source = "br0";
        br = xml_of(&cfg);
        assert_contains(br, "<interface type='bridge'>\n      <source bridge='br0'/>");

        cfg = base_config();
        cfg.disks = &disk;
        cfg.n_disks = 1;
        one = xml_of(&cfg);
        assert_contains(one, "<target dev='vdc' bus='virtio'/>");
        assert_lacks(one, "<readonly/>");
        assert_lacks(one, "<serial>");
}

static void test_xml_escapes_hostile_strings(void **state)
{
        struct virt_domain_config cfg = base_config();
        const struct virt_disk disk = {.path = "/dev/x'/><graphics type='vnc'/><disk a=\"&"};
        _cleanup_free_ char *xml = NULL;

        (void)state;
        cfg.disks = &disk;
        cfg.n_disks = 1;
        cfg.serial_log = "/var/log/a</source></serial><console type='pty'>";
        xml = xml_of(&cfg);
        assert_contains(xml, "<source dev='/dev/x&apos;/&gt;&lt;graphics type=&apos;vnc&apos;/&gt;"
                             "&lt;disk a=&quot;&amp;'/>");
        assert_contains(xml, "<source path='/var/log/a&lt;/source&gt;&lt;/serial&gt;&lt;console "
                             "type=&apos;pty&apos;&gt;'/>");
        assert_lacks(xml, "<graphics");
        assert_lacks(xml, "<console");
        /* No raw quote or angle bracket survives inside an attribute value. */
        assert_lacks(xml, "x'/>");
}

static void test_invalid_names_refused(void **state)
{
        static const char *const bad[] = {
                "",
                ".",
                "..",
                "a b",
                "a/b",
                "../etc",
                "a<b",
                "a'b",
                "a&b",
                "web\n",
                "w\xc3\xa9\x62", /* "wéb": \x62 = 'b' (a plain b would extend the hex escape) */
                "a;b",
                "a:b",
                "12345678901234567890123456789012345678901234567890123456789012345",
        };
        struct virt_domain_config cfg = base_config();
        char *xml = (char *)0x1; /* must stay untouched */
        char why[128];

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                cfg.name = bad[i];
                assert_false(virt_name_valid(bad[i]));
                assert_int_equal(virt_domain_xml(&cfg, &xml), -EINVAL);
                assert_ptr_equal(xml, (char *)0x1);
                why[0] = '\0';
                assert_int_equal(virt_domain_config_check(&cfg, why, sizeof why), -EINVAL);
                assert_contains(why, "invalid domain name");
        }
        assert_true(virt_name_valid("1234567890123456789012345678901234567890123456789012345678901234"));
        assert_true(virt_name_valid("web_1.prod-a"));
}

static void test_invalid_config_refused(void **state)
{
        const struct virt_disk rel = {.path = "dev/sda"};
        const struct virt_disk ctl = {.path = "/dev/sda\n"};
        const struct virt_disk badtarget = {.path = "/dev/sda", .target = "hda"};
        const struct virt_disk badserial = {.path = "/dev/sda", .serial = "123456789012345678901"};
        const struct virt_disk dup[] = {{.path = "/dev/a"}, {.path = "/dev/b", .target = "vda"}};
        struct virt_domain_config cfg;
        char why[128];

        (void)state;
#define REFUSED(mutate, reason)                                                                             \
        do {                                                                                                \
                cfg = base_config();                                                                        \
                mutate;                                                                                     \
                why[0] = '\0';                                                                              \
                assert_int_equal(virt_domain_config_check(&cfg, why, sizeof why), -EINVAL);                 \
                assert_contains(why, reason);                                                               \
        } while (0)
        REFUSED(cfg.memory_mib = 0, "memory");
        REFUSED(cfg.memory_mib = VIRT_MEMORY_MIB_MAX + 1, "memory");
        REFUSED(cfg.vcpus = 0, "vCPUs");
        REFUSED(cfg.vcpus = VIRT_VCPUS_MAX + 1, "vCPUs");
        REFUSED(cfg.n_disks = 0, "disks");
        REFUSED(cfg.n_disks = VIRT_DISKS_MAX + 1, "disks");
        REFUSED((cfg.disks = &rel, cfg.n_disks = 1), "absolute path");
        REFUSED((cfg.disks = &ctl, cfg.n_disks = 1), "control characters");
        REFUSED((cfg.disks = &badtarget, cfg.n_disks = 1), "target");
        REFUSED((cfg.disks = &badserial, cfg.n_disks = 1), "serial");
        REFUSED((cfg.disks = dup, cfg.n_disks = 2), "same target");
        REFUSED(cfg.serial_log = NULL, "serial log");
        REFUSED(cfg.serial_log = "relative.log", "serial log");
        REFUSED(cfg.uuid = "not-a-uuid", "UUID");
        REFUSED(cfg.uuid = "c7a5fdbd-edaf-9455-926a-d65c16db180g", "UUID");
        REFUSED(cfg.net_type = VIRT_NET_NETWORK, "network");
        REFUSED((cfg.net_type = VIRT_NET_BRIDGE, cfg.net_source = "br0 x"), "network");
#undef REFUSED
}

static void test_error_mapping(void **state)
{
        (void)state;
        assert_int_equal(virt_error_code_to_errno(VIR_ERR_NO_DOMAIN), -ENOENT);
        assert_int_equal(virt_error_code_to_errno(VIR_ERR_OPERATION_INVALID), -EBUSY);
        assert_int_equal(virt_error_code_to_errno(VIR_ERR_DOM_EXIST), -EEXIST);
        assert_int_equal(virt_error_code_to_errno(VIR_ERR_NO_CONNECT), -ECONNREFUSED);
        assert_int_equal(virt_error_code_to_errno(VIR_ERR_ACCESS_DENIED), -EACCES);
        assert_int_equal(virt_error_code_to_errno(VIR_ERR_AUTH_FAILED), -EACCES);
        assert_int_equal(virt_error_code_to_errno(VIR_ERR_XML_ERROR), -EINVAL);
        assert_int_equal(virt_error_code_to_errno(VIR_ERR_INVALID_ARG), -EINVAL);
        assert_int_equal(virt_error_code_to_errno(VIR_ERR_NO_SUPPORT), -EOPNOTSUPP);
        assert_int_equal(virt_error_code_to_errno(VIR_ERR_OPERATION_TIMEOUT), -ETIMEDOUT);
        assert_int_equal(virt_error_code_to_errno(VIR_ERR_NO_MEMORY), -ENOMEM);
        assert_int_equal(virt_error_code_to_errno(VIR_ERR_INTERNAL_ERROR), -EIO);
        assert_int_equal(virt_error_code_to_errno(VIR_ERR_OPERATION_FAILED), -EIO);
        assert_string_equal(virt_state_to_string(VIRT_STATE_RUNNING), "running");
        assert_string_equal(virt_state_to_string(VIRT_STATE_SHUT_OFF), "shut off");
        assert_string_equal(virt_state_to_string(VIRT_STATE_NOT_FOUND), "not found");
}

static void test_serial_marker(void **state)
{
        char path[] = "/tmp/test-virt-serial-XXXXXX";
        const char *marker = "TVAM-SAMPLE-VM: booted, marker OK";
        char *filler;
        int fd;

        (void)state;
        fd = mkstemp(path);
        assert_true(fd >= 0);
        /* Not there yet (timeout 0: one scan). */
        assert_int_equal(write(fd, "Booting...\r\n", 12), 12);
        assert_int_equal(virt_wait_serial_marker(path, marker, 0), -ETIMEDOUT);
        assert_non_null(strstr(virt_last_error(), "marker not in"));
        /* The marker straddles the module's 64 KiB read chunk. */
        filler = malloc(65536 - 20);
        assert_non_null(filler);
        memset(filler, 'x', 65536 - 20);
        assert_int_equal(write(fd, filler, 65536 - 20), 65536 - 20);
        free(filler);
        assert_int_equal(write(fd, "\r\n", 2), 2);
        assert_int_equal(write(fd, marker, strlen(marker)), (ssize_t)strlen(marker));
        assert_int_equal(virt_wait_serial_marker(path, marker, 1), 0);
        assert_int_equal(virt_wait_serial_marker(path, "never printed", 0), -ETIMEDOUT);
        assert_int_equal(virt_wait_serial_marker(path, "", 0), -EINVAL);
        close(fd);
        unlink(path);
        /* A log that does not exist yet is waited for, not an error. */
        assert_int_equal(virt_wait_serial_marker(path, marker, 0), -ETIMEDOUT);
}

static void test_connect_refused(void **state)
{
        struct virt_conn *c = (struct virt_conn *)0x1;
        char path[] = "/tmp/test-virt-stderr-XXXXXX";
        int fd, saved;
        off_t size;

        (void)state;
        /* libvirt's default error handler would print to stderr: the
         * module's handler keeps it silent (the caller prints one line). */
        fd = mkstemp(path);
        assert_true(fd >= 0);
        fflush(stderr);
        saved = dup(STDERR_FILENO);
        assert_true(saved >= 0);
        assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
        assert_int_equal(
                virt_connect("qemu+unix:///system?socket=/nonexistent/tvam-test", &c), -ECONNREFUSED);
        assert_ptr_equal(c, (struct virt_conn *)0x1);
        assert_int_equal(
                virt_connect("qemu+unix:///system?socket=/nonexistent/tvam-test", &c), -ECONNREFUSED);
        fflush(stderr);
        assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        close(saved);
        size = lseek(fd, 0, SEEK_END);
        close(fd);
        unlink(path);
        assert_int_equal(size, 0);
        assert_non_null(strstr(virt_last_error(), "/nonexistent/tvam-test"));
}

/* libvirt's test driver runs in-process and keeps one shared state per
 * process; it predefines a running domain "test". */
static void test_lifecycle_test_driver(void **state)
{
        _cleanup_(virt_disconnectp) struct virt_conn *c = NULL;
        const struct virt_disk disk = {.path = "/dev/null", .read_only = true};
        struct virt_domain_config cfg = base_config();
        struct virt_domain_info *infos = NULL;
        size_t n = 0;
        enum virt_state s;
        bool seen = false;

        (void)state;
        if (virt_connect("test:///default", &c) < 0)
                skip();
        cfg.name = "tvam-unit";
        cfg.disks = &disk;
        cfg.n_disks = 1;

        assert_int_equal(virt_state(c, "tvam-unit", &s), 0);
        assert_int_equal(s, VIRT_STATE_NOT_FOUND);
        assert_int_equal(virt_start(c, &cfg), 0);
        assert_int_equal(virt_state(c, "tvam-unit", &s), 0);
        assert_int_equal(s, VIRT_STATE_RUNNING);

        /* Same name again: -EEXIST with libvirt's message. */
        assert_int_equal(virt_start(c, &cfg), -EEXIST);
        assert_non_null(strstr(virt_last_error(), "tvam-unit"));
        /* The predefined "test" domain, another UUID. */
        cfg.name = "test";
        assert_int_equal(virt_start(c, &cfg), -EEXIST);
        cfg.name = "bad name";
        assert_int_equal(virt_start(c, &cfg), -EINVAL);
        assert_non_null(strstr(virt_last_error(), "invalid domain name"));

        assert_int_equal(virt_list(c, &infos, &n), 0);
        for (size_t i = 0; i < n; i++)
                if (strcmp(infos[i].name, "tvam-unit") == 0) {
                        seen = true;
                        assert_int_equal(infos[i].state, VIRT_STATE_RUNNING);
                        assert_int_equal(infos[i].uptime_s, -1); /* not a local QEMU */
                }
        virt_domain_info_free(infos, n);
        assert_true(seen);

        /* With a fixed UUID libvirt says OPERATION_INVALID ("already
         * active"), still -EEXIST to the caller. */
        cfg.name = "tvam-unit-uuid";
        cfg.uuid = "c7a5fdbd-edaf-9455-926a-d65c16db1809";
        assert_int_equal(virt_start(c, &cfg), 0);
        assert_int_equal(virt_start(c, &cfg), -EEXIST);
        assert_non_null(strstr(virt_last_error(), "tvam-unit-uuid"));
        assert_int_equal(virt_stop(c, "tvam-unit-uuid", 0, false), 1);

        assert_int_equal(virt_stop(c, "tvam-unit", 0, true), 1);
        assert_int_equal(virt_state(c, "tvam-unit", &s), 0);
        assert_int_equal(s, VIRT_STATE_NOT_FOUND);
        assert_int_equal(virt_stop(c, "tvam-unit", 5, false), -ENOENT);
        assert_true(virt_last_error()[0] != '\0');
        assert_int_equal(virt_stop(c, "../x", 5, false), -EINVAL);
}

/* Group networks are isolated: a bridge and nothing else (no <forward>, no
 * <ip>, so no route to the host's networks and no DHCP server). */
static void test_network_xml(void **state)
{
        char *xml = NULL;

        (void)state;
        assert_int_equal(virt_network_xml("tvam-web-backend", "tvam0a1b2c3d", &xml), 0);
        assert_non_null(strstr(xml, "<name>tvam-web-backend</name>"));
        assert_non_null(strstr(xml, "<bridge name='tvam0a1b2c3d' stp='off' delay='0'/>"));
        assert_null(strstr(xml, "<forward"));
        assert_null(strstr(xml, "<ip"));
        free(xml);
        assert_int_equal(virt_network_xml("a", "bridge-name-too-long", &xml), -EINVAL);
        assert_int_equal(virt_network_xml("a<b", "br0", &xml), -EINVAL);
        assert_int_equal(virt_network_xml("net", "br'0", &xml), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_xml_closed_box),
                cmocka_unit_test(test_xml_channels),
                cmocka_unit_test(test_xml_options),
                cmocka_unit_test(test_xml_escapes_hostile_strings),
                cmocka_unit_test(test_invalid_names_refused),
                cmocka_unit_test(test_invalid_config_refused),
                cmocka_unit_test(test_error_mapping),
                cmocka_unit_test(test_serial_marker),
                cmocka_unit_test(test_connect_refused),
                cmocka_unit_test(test_lifecycle_test_driver),
                cmocka_unit_test(test_network_xml),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
