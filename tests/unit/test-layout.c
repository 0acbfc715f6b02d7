/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the disk layout parser and the LVM module's pure parts
 * (name validation, role tags, report parsing).  No root, no LVM. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "disk-layout/layout.h"
#include "tvam/storage/lvm.h"

static const char good[] = "# platform\n"
                           "boot_size  = 512M\n"
                           "vg = tvam   # the VG\n"
                           "\n"
                           "base_size=2G\n"
                           "store_size = 256M\n"
                           "log_size = 1024K\n";

static void test_layout_good(void **state)
{
        struct layout l;

        (void)state;
        assert_int_equal(layout_parse(good, &l, NULL), 0);
        assert_int_equal(l.boot_size, 512ull << 20);
        assert_string_equal(l.vg, "tvam");
        assert_int_equal(l.base_size, 2ull << 30);
        assert_int_equal(l.store_size, 256ull << 20);
        assert_int_equal(l.log_size, 1ull << 20);
        assert_true(layout_required_bytes(&l) > l.boot_size + l.base_size + l.store_size + l.log_size);
}

static void expect_error(const char *text, unsigned line, const char *fragment)
{
        struct layout l;
        struct layout_error e = {};

        assert_int_equal(layout_parse(text, &l, &e), -EINVAL);
        assert_int_equal(e.line, line);
        if (!strstr(e.message, fragment))
                fail_msg("error '%s' does not mention '%s'", e.message, fragment);
}

static void test_layout_errors_name_the_line(void **state)
{
        (void)state;
        expect_error("boot_size = 512M\nvg = tvam\nbase_size = 2X\n", 3, "base_size");
        expect_error("boot_size = 512M\nfoo = 1\n", 2, "unknown key 'foo'");
        expect_error("boot_size = 512M\nboot_size = 1G\n", 2, "twice");
        expect_error("boot_size\n", 1, "key = value");
        expect_error("vg = bad/name\n", 1, "volume group");
        expect_error("vg = -tvam\n", 1, "volume group");
        expect_error("boot_size = 512M\nvg = tvam\nbase_size = 2G\nstore_size = 256M\n", 0, "log_size is missing");
        expect_error("boot_size = 32M\nvg = tvam\nbase_size = 2G\nstore_size = 256M\nlog_size = 1M\n", 0,
                "at least 64M");
        expect_error("boot_size = 512M\nvg = tvam\nbase_size = 1536K\nstore_size = 256M\nlog_size = 1M\n", 3,
                "whole number of MiB");
}

static void test_size_parser(void **state)
{
        uint64_t v;

        (void)state;
        assert_int_equal(layout_parse_size("1T", &v), 0);
        assert_int_equal(v, 1ull << 40);
        assert_int_equal(layout_parse_size("0M", &v), -EINVAL);
        assert_int_equal(layout_parse_size("M", &v), -EINVAL);
        assert_int_equal(layout_parse_size("12", &v), -EINVAL);
        assert_int_equal(layout_parse_size("12MB", &v), -EINVAL);
        assert_int_equal(layout_parse_size("-1G", &v), -EINVAL);
        assert_int_equal(layout_parse_size("99999999999999999999G", &v), -ERANGE);
        assert_int_equal(layout_parse_size("17179869184T", &v), -ERANGE); /* 2^34 T = 2^74 bytes */
}

static void test_lvm_names(void **state)
{
        (void)state;
        assert_true(lvm_name_valid("base-1"));
        assert_true(lvm_name_valid("app-web.v2+x_y"));
        assert_false(lvm_name_valid(""));
        assert_false(lvm_name_valid("-x"));
        assert_false(lvm_name_valid(".."));
        assert_false(lvm_name_valid("a b"));
        assert_false(lvm_name_valid("a'b"));
        assert_false(lvm_name_valid("a#b"));         /* would start a comment in liblvm2cmd */
        assert_false(lvm_name_valid("x --force"));
        assert_false(lvm_name_valid("snapshot1"));
        assert_false(lvm_name_valid("web_rimage_0"));
        char long_name[130];
        memset(long_name, 'a', 128);
        long_name[128] = '\0';
        assert_false(lvm_name_valid(long_name));
}

static void test_lvm_roles(void **state)
{
        enum lvm_role role;

        (void)state;
        for (int r = 0; r < _LVM_ROLE_MAX; r++) {
                assert_int_equal(lvm_role_from_tag(lvm_role_to_tag((enum lvm_role)r), &role), 0);
                assert_int_equal(role, r);
        }
        assert_string_equal(lvm_role_to_tag(LVM_ROLE_APPCFG), "tvam:appcfg");
        assert_null(lvm_role_to_tag(LVM_ROLE_NONE));
        assert_int_equal(lvm_role_from_tag("tvam:other", &role), -EINVAL);
}

static void test_lvm_report(void **state)
{
        const char *report = "{\"report\":[{\"lv\":[{\"lv_name\":\"base-1\",\"lv_size\":\"2147483648\","
                             "\"lv_tags\":\"x,tvam:base\",\"lv_active\":\"active\"},"
                             "{\"lv_name\":\"scratch\",\"lv_size\":\"4194304\",\"lv_tags\":\"\","
                             "\"lv_active\":\"\"}]}]}";
        struct lvm_lv *lvs = NULL;
        size_t n = 0;

        (void)state;
        assert_int_equal(lvm_parse_lv_report(report, "tvam", &lvs, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(lvs[0].name, "base-1");
        assert_string_equal(lvs[0].path, "/dev/tvam/base-1");
        assert_int_equal(lvs[0].size_bytes, 2147483648ull);
        assert_int_equal(lvs[0].role, LVM_ROLE_BASE);
        assert_true(lvs[0].active);
        assert_int_equal(lvs[1].role, LVM_ROLE_NONE);
        assert_false(lvs[1].active);
        lvm_lv_list_free(lvs, n);

        /* Malformed reports are refused, nothing returned. */
        const char *bad[] = {
                "",
                "{",
                "[]",
                "{\"report\":[]}",
                "{\"report\":[{\"lv\":{}}]}",
                "{\"report\":[{\"lv\":[{\"lv_name\":\"a\"}]}]}",
                "{\"report\":[{\"lv\":[{\"lv_name\":\"a\",\"lv_size\":\"-1\",\"lv_tags\":\"\",\"lv_active\":\"\"}]}]}",
                "{\"report\":[{\"lv\":[{\"lv_name\":\"a\",\"lv_size\":\"12x\",\"lv_tags\":\"\",\"lv_active\":\"\"}]}]}",
                "{\"report\":[{\"lv\":[{\"lv_name\":\"a b\",\"lv_size\":\"1\",\"lv_tags\":\"\",\"lv_active\":\"\"}]}]}",
                "{\"report\":[{\"lv\":[{\"lv_name\":7,\"lv_size\":\"1\",\"lv_tags\":\"\",\"lv_active\":\"\"}]}]}",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                lvs = NULL;
                assert_int_equal(lvm_parse_lv_report(bad[i], "tvam", &lvs, &n), -EBADMSG);
                assert_null(lvs);
        }
        assert_int_equal(lvm_parse_lv_report(report, "bad vg", &lvs, &n), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_layout_good),
                cmocka_unit_test(test_layout_errors_name_the_line),
                cmocka_unit_test(test_size_parser),
                cmocka_unit_test(test_lvm_names),
                cmocka_unit_test(test_lvm_roles),
                cmocka_unit_test(test_lvm_report),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
