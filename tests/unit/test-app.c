/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the application library's checks that need no TPM, LVM or
 * device-mapper: parameter validation, name reservation (-EEXIST), state
 * checks of open/remove, list and recovery with nothing to roll back.  The
 * full lifecycle runs in the lab (tests/lab/scenarios/50-app.sh). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tvam/app/app.h"

static char dir[] = "/tmp/test-app-XXXXXX";

/* Never dereferenced by the paths under test: every case fails or finishes
 * before the TPM or LVM is touched. */
static struct app_ctx ctx = {
        .state_dir = dir,
        .vg = "tvam-test",
        .tpm = (struct tpm_context *)1,
        .lvm = (struct lvm_ctx *)1,
};

static struct pcr_bank bank;

static struct app_import_params good(void)
{
        return (struct app_import_params){
                .name = "web",
                .image_path = "/dev/null",
                .memory_mib = 256,
                .vcpus = 1,
                .pcr_mask = 1u << 14,
                .pcrs = &bank,
        };
}

static void save(const char *name, enum manifest_state st)
{
        struct manifest m = {
                .state = st,
                .image_size = 4096,
                .memory_mib = 256,
                .vcpus = 1,
        };
        snprintf(m.name, sizeof(m.name), "%s", name);
        snprintf(m.lv_image, sizeof(m.lv_image), "app-%s", name);
        if (st == MANIFEST_READY)
                strcpy(m.identity,
                        "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
        assert_int_equal(manifest_config_digest(name, 256, 1, false, 0, m.config_digest), 0);
        assert_int_equal(manifest_save(dir, &m), 0);
}

static void test_params(void **state)
{
        struct app_import_params p;
        struct manifest out;

        (void)state;
        p = good();
        p.name = "Bad/Name";
        assert_int_equal(app_import(&ctx, &p, &out), -EINVAL);
        p = good();
        p.image_path = NULL;
        assert_int_equal(app_import(&ctx, &p, &out), -EINVAL);
        p = good();
        p.memory_mib = 0;
        assert_int_equal(app_import(&ctx, &p, &out), -EINVAL);
        p = good();
        p.vcpus = 0;
        assert_int_equal(app_import(&ctx, &p, &out), -EINVAL);
        p = good();
        p.pcr_mask = 0;
        assert_int_equal(app_import(&ctx, &p, &out), -EINVAL);
        p = good();
        p.pcr_mask = 1u << 30;
        assert_int_equal(app_import(&ctx, &p, &out), -EINVAL);
        p = good();
        p.pcrs = NULL;
        assert_int_equal(app_import(&ctx, &p, &out), -EINVAL);
        /* an empty image, a read-only image of partial 4 KiB blocks, a
         * missing image: refused before anything is written */
        p = good();
        assert_int_equal(app_import(&ctx, &p, &out), -EBADF); /* /dev/null: size unknown */
        p = good();
        p.image_path = "/nonexistent/image";
        assert_int_equal(app_import(&ctx, &p, &out), -ENOENT);
        p = good();
        p.image_path = "/proc/self/exe";
        p.read_only = true;
        p.expected_size = 4097;
        assert_int_equal(app_import(&ctx, &p, &out), -EINVAL);

        struct manifest *list = NULL;
        size_t n = 99;
        assert_int_equal(app_list(&ctx, &list, &n), 0);
        assert_int_equal(n, 0); /* nothing was registered */
        free(list);
}

static void test_name_taken(void **state)
{
        struct app_import_params p = good();
        struct manifest out;
        char path[128];

        (void)state;
        save("web", MANIFEST_READY);
        assert_int_equal(app_import(&ctx, &p, &out), -EEXIST);
        /* a damaged manifest still holds its name */
        snprintf(path, sizeof(path), "%s/web.json", dir);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs("{garbage", f);
        fclose(f);
        assert_int_equal(app_import(&ctx, &p, &out), -EEXIST);
        unlink(path);
}

static void test_open_remove_states(void **state)
{
        struct app_opened o;
        char err[64];

        (void)state;
        assert_int_equal(app_open(&ctx, "nothere", APP_VERIFY_LAZY, err, sizeof(err), &o), -ENOENT);
        assert_int_equal(app_open(&ctx, "../x", APP_VERIFY_LAZY, err, sizeof(err), &o), -EINVAL);
        save("half", MANIFEST_IMPORTING);
        assert_int_equal(app_open(&ctx, "half", APP_VERIFY_LAZY, err, sizeof(err), &o), -EBUSY);
        assert_int_equal(app_remove(&ctx, "nothere"), -ENOENT);
        assert_int_equal(app_is_open("half"), 0);
        assert_int_equal(app_close(&ctx, "half"), 0); /* nothing mapped: fine */

        struct manifest *list = NULL;
        size_t n = 0;
        save("db", MANIFEST_READY);
        assert_int_equal(app_list(&ctx, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(list[0].name, "db");
        assert_int_equal(list[0].state, MANIFEST_READY);
        assert_string_equal(list[1].name, "half");
        assert_int_equal(list[1].state, MANIFEST_IMPORTING);
        free(list);
        assert_int_equal(manifest_delete(dir, "half"), 0);
        assert_int_equal(manifest_delete(dir, "db"), 0);
}

static void test_recover_nothing(void **state)
{
        size_t n = 99;

        (void)state;
        save("done", MANIFEST_READY);
        assert_int_equal(app_recover(&ctx, &n), 0); /* ready ones are untouched */
        assert_int_equal(n, 0);
        struct manifest m;
        assert_int_equal(manifest_load(dir, "done", &m), 0);
        assert_int_equal(manifest_delete(dir, "done"), 0);
}

static void test_steps(void **state)
{
        (void)state;
        assert_string_equal(app_import_step_to_string(APP_STEP_MANIFEST), "manifest");
        assert_string_equal(app_import_step_to_string(APP_STEP_READY), "ready");
        assert_null(app_import_step_to_string((enum app_import_step)99));
}

static int setup(void **state)
{
        (void)state;
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
        (void)state;
        return rmdir(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_params),
                cmocka_unit_test(test_name_taken),
                cmocka_unit_test(test_open_remove_states),
                cmocka_unit_test(test_recover_nothing),
                cmocka_unit_test(test_steps),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
