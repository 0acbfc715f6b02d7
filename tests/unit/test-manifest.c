/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of application manifests (tvam/app/manifest.h): names, the
 * config digest, the strict parser (malformed manifests are refused), the
 * writer, and the state directory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tvam/app/manifest.h"
#include "tvam/shared/digest.h"
#include "tvam/shared/fileio.h"

#define HEX64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static void sample(struct manifest *m, bool read_only)
{
        *m = (struct manifest){
                .state = MANIFEST_READY,
                .read_only = read_only,
                .image_size = 32u << 20,
                .verity_hash_offset = read_only ? 32u << 20 : 0,
                .data_size = 8u << 20,
                .memory_mib = 512,
                .vcpus = 2,
                .created = 1763900000,
        };
        strcpy(m->name, "web");
        strcpy(m->identity, read_only ? "verity:" HEX64 : "sha256:" HEX64);
        strcpy(m->lv_image, "app-web");
        strcpy(m->lv_data, "appcfg-web");
        assert_int_equal(manifest_config_digest("web", 512, 2, read_only, 8u << 20, m->config_digest), 0);
}

__attribute__((noinline)) static char *formatted(const struct manifest *m)
{
        char *json = NULL;
        assert_int_equal(manifest_format(m, &json), 0);
        return json;
}

/* Replace the first occurrence of FROM in TEXT by TO (new string). */
__attribute__((noinline)) static char *replace(const char *text, const char *from, const char *to)
{
        const char *at = strstr(text, from);
        size_t pos, len = strlen(text), flen = strlen(from), tlen = strlen(to);
        char *out;

        if (!at)
                fail_msg("'%s' not in the sample manifest", from);
        pos = (size_t)(at - text);
        out = malloc(len - flen + tlen + 1);
        if (!out)
                fail();
        memcpy(out, text, pos);
        memcpy(out + pos, to, tlen);
        memcpy(out + pos + tlen, text + pos + flen, len - pos - flen + 1);
        return out;
}

static int parse_str(const char *json, struct manifest *m)
{
        return manifest_parse(json, strlen(json), m);
}

static void test_names(void **state)
{
        (void)state;
        assert_true(manifest_name_valid("web"));
        assert_true(manifest_name_valid("a"));
        assert_true(manifest_name_valid("0db_1.x-y"));
        assert_true(manifest_name_valid("abcdefghijklmnopqrstuvwxyz012345"));   /* 32 */
        assert_false(manifest_name_valid("abcdefghijklmnopqrstuvwxyz0123456")); /* 33 */
        assert_false(manifest_name_valid(""));
        assert_false(manifest_name_valid(NULL));
        assert_false(manifest_name_valid("Web"));
        assert_false(manifest_name_valid("-web"));
        assert_false(manifest_name_valid(".web"));
        assert_false(manifest_name_valid("_web"));
        assert_false(manifest_name_valid("we b"));
        assert_false(manifest_name_valid("we/b"));
        assert_false(manifest_name_valid("../x"));
}

static void test_config_digest_canonical(void **state)
{
        const char *text =
                "tvam-app-config-v1\nname=web\nmemory_mib=512\nvcpus=2\nread_only=1\ndata_size=0\n";
        uint8_t a[32], b[32];

        (void)state;
        assert_int_equal(manifest_config_digest("web", 512, 2, true, 0, a), 0);
        assert_int_equal(digest_buffer(DIGEST_SHA256, text, strlen(text), b), 0);
        assert_memory_equal(a, b, 32);
        /* every field is bound */
        assert_int_equal(manifest_config_digest("web", 512, 2, false, 0, b), 0);
        assert_memory_not_equal(a, b, 32);
        assert_int_equal(manifest_config_digest("web", 513, 2, true, 0, b), 0);
        assert_memory_not_equal(a, b, 32);
        assert_int_equal(manifest_config_digest("web", 512, 3, true, 0, b), 0);
        assert_memory_not_equal(a, b, 32);
        assert_int_equal(manifest_config_digest("web", 512, 2, true, 1, b), 0);
        assert_memory_not_equal(a, b, 32);
        assert_int_equal(manifest_config_digest("wec", 512, 2, true, 0, b), 0);
        assert_memory_not_equal(a, b, 32);
        assert_int_equal(manifest_config_digest("Bad", 512, 2, true, 0, b), -EINVAL);
}

static void test_round_trip(void **state)
{
        (void)state;
        for (int ro = 0; ro < 2; ro++) {
                struct manifest m, back;
                char *json;

                sample(&m, ro);
                json = formatted(&m);
                assert_int_equal(parse_str(json, &back), 0);
                assert_memory_equal(&m, &back, sizeof(m));
                free(json);
        }
        /* importing: identity still empty */
        struct manifest m, back;
        sample(&m, true);
        m.state = MANIFEST_IMPORTING;
        m.identity[0] = '\0';
        char *json = formatted(&m);
        assert_non_null(strstr(json, "\"state\": \"importing\""));
        assert_int_equal(parse_str(json, &back), 0);
        assert_int_equal(back.state, MANIFEST_IMPORTING);
        free(json);
}

struct mutation {
        const char *from, *to;
        int expect;
};

static void test_malformed(void **state)
{
        static const struct mutation cases[] = {
                /* not JSON / not one object */
                {"{\n", "[\n", -EBADMSG},
                {"\n}\n", "\n", -EBADMSG},
                {"\n}\n", "\n}\n{}", -EBADMSG},
                {"\"name\"", "'name'", -EBADMSG},
                /* version */
                {"\"tvam-manifest-version\": 1", "\"tvam-manifest-version\": 2", -EPROTONOSUPPORT},
                {"\"tvam-manifest-version\": 1", "\"tvam-manifest-version\": \"1\"", -EINVAL},
                {"\"tvam-manifest-version\": 1,", "", -EINVAL},
                /* unknown and duplicate keys, missing fields */
                {"\"vcpus\"", "\"cpus\"", -EINVAL},
                {"\"created\": 1763900000", "\"created\": 1763900000, \"extra\": 1", -EINVAL},
                {"\"created\": 1763900000", "\"created\": 1763900000, \"created\": 1", -EINVAL},
                {"  \"lv_data\": \"appcfg-web\",\n", "", -EINVAL},
                /* names */
                {"\"name\": \"web\"", "\"name\": \"Web\"", -EINVAL},
                {"\"name\": \"web\"", "\"name\": \"../etc\"", -EINVAL},
                {"\"name\": \"web\"", "\"name\": \"we\\u0000b\"", -EINVAL},
                {"\"name\": \"web\"", "\"name\": 7", -EINVAL},
                /* state, format, types */
                {"\"ready\"", "\"running\"", -EINVAL},
                {"\"raw\"", "\"qcow2\"", -EINVAL},
                {"\"read_only\": true", "\"read_only\": 1", -EINVAL},
                {"\"read_only\": true", "\"read_only\": false", -EINVAL}, /* verity identity on rw */
                /* identity */
                {"\"verity:", "\"sha256:", -EINVAL},
                {"\"verity:00", "\"verity:0", -EINVAL},
                {"\"verity:00", "\"verity:AA", -EINVAL},
                {"\"verity:" HEX64 "\"", "\"\"", -EINVAL}, /* ready without identity */
                /* numbers */
                {"\"image_size\": 33554432", "\"image_size\": 0", -EINVAL},
                {"\"image_size\": 33554432", "\"image_size\": -4096", -EINVAL},
                {"\"image_size\": 33554432", "\"image_size\": 3.3e7", -EINVAL},
                {"\"image_size\": 33554432", "\"image_size\": 99999999999999999999", -EINVAL},
                {"\"verity_hash_offset\": 33554432", "\"verity_hash_offset\": 4096", -EINVAL},
                {"\"verity_hash_offset\": 33554432", "\"verity_hash_offset\": 33554433", -EINVAL},
                {"\"memory_mib\": 512", "\"memory_mib\": 0", -EINVAL},
                {"\"vcpus\": 2", "\"vcpus\": 100000", -EINVAL},
                /* LV names must follow the application name */
                {"\"lv_image\": \"app-web\"", "\"lv_image\": \"base-1\"", -EINVAL},
                {"\"lv_data\": \"appcfg-web\"", "\"lv_data\": \"\"", -EINVAL},
                /* the config digest must match the configuration */
                {"\"memory_mib\": 512", "\"memory_mib\": 1024", -EINVAL},
                {"\"config_digest\": \"sha256:", "\"config_digest\": \"sha1:", -EINVAL},
        };
        struct manifest m, out;
        char *json;

        (void)state;
        sample(&m, true);
        json = formatted(&m);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *bad = replace(json, cases[i].from, cases[i].to);
                memset(&out, 0xaa, sizeof(out));
                int r = parse_str(bad, &out);
                if (r != cases[i].expect)
                        fail_msg("case %zu (%s -> %s): got %d, expected %d", i, cases[i].from, cases[i].to,
                                r, cases[i].expect);
                /* nothing written on failure */
                for (size_t k = 0; k < sizeof(out); k++)
                        assert_int_equal(((uint8_t *)&out)[k], 0xaa);
                free(bad);
        }
        /* embedded NUL, empty, too large */
        assert_int_equal(manifest_parse(json, strlen(json) + 1, &out), -EBADMSG);
        assert_int_equal(manifest_parse("", 0, &out), -EBADMSG);
        assert_int_equal(manifest_parse(json, MANIFEST_JSON_MAX + 1, &out), -E2BIG);
        free(json);
}

static void test_format_refuses_invalid(void **state)
{
        struct manifest m;
        char *json = NULL;

        (void)state;
        sample(&m, false);
        m.vcpus = 0;
        assert_int_equal(manifest_format(&m, &json), -EINVAL);
        assert_null(json);
        sample(&m, false);
        strcpy(m.name, "x\"y");
        assert_int_equal(manifest_format(&m, &json), -EINVAL);
}

static void test_state_dir(void **state)
{
        char dir[] = "/tmp/test-manifest-XXXXXX", path[128];
        struct manifest a, b, out;
        char **names = NULL;
        size_t n = 0;

        (void)state;
        assert_non_null(mkdtemp(dir));
        sample(&a, true);
        sample(&b, false);
        strcpy(b.name, "db");
        strcpy(b.lv_image, "app-db");
        strcpy(b.lv_data, "appcfg-db");
        assert_int_equal(manifest_config_digest("db", 512, 2, false, 8u << 20, b.config_digest), 0);

        assert_int_equal(manifest_load(dir, "web", &out), -ENOENT);
        assert_int_equal(manifest_save(dir, &a), 0);
        assert_int_equal(manifest_save(dir, &b), 0);
        snprintf(path, sizeof(path), "%s/web.json", dir);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(manifest_load(dir, "web", &out), 0);
        assert_memory_equal(&out, &a, sizeof(a));

        /* a file that is not a manifest is not listed */
        snprintf(path, sizeof(path), "%s/.tmp-x.json", dir);
        assert_int_equal(atomic_file_write(path, "x", 1, 0600), 0);
        assert_int_equal(manifest_list_names(dir, &names, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(names[0], "db");
        assert_string_equal(names[1], "web");
        manifest_names_free(names, n);
        unlink(path);

        /* a manifest renamed by hand is refused */
        char from[128], to[128];
        snprintf(from, sizeof(from), "%s/db.json", dir);
        snprintf(to, sizeof(to), "%s/other.json", dir);
        assert_int_equal(rename(from, to), 0);
        assert_int_equal(manifest_load(dir, "other", &out), -EINVAL);
        unlink(to);

        assert_int_equal(manifest_delete(dir, "web"), 0);
        assert_int_equal(manifest_delete(dir, "web"), -ENOENT);
        assert_int_equal(manifest_load(dir, "../web", &out), -EINVAL);
        assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_config_digest_canonical),
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_format_refuses_invalid),
                cmocka_unit_test(test_state_dir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
