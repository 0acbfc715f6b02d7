/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-lvm VG — exercises tvam/storage/lvm against real LVM (lab only: needs
 * root and device-mapper).  Creates, lists, (de)activates and removes a
 * tagged LV in the existing volume group VG, and checks that LVM's refusals
 * reach the caller as distinct errors.  Exit 0 = all checks passed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tvam/shared/log.h"
#include "tvam/storage/lvm.h"

#define CHECK(cond, ...)                                                                                    \
        do {                                                                                                \
                if (!(cond)) {                                                                              \
                        fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                \
                        fprintf(stderr, __VA_ARGS__);                                                       \
                        fprintf(stderr, " (lvm: %s)\n", lvm_last_error(lvm));                               \
                        return 1;                                                                           \
                }                                                                                           \
        } while (0)

static const struct lvm_lv *find(const struct lvm_lv *lvs, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(lvs[i].name, name) == 0)
                        return &lvs[i];
        return NULL;
}

int main(int argc, char **argv)
{
        _cleanup_(lvm_ctx_freep) struct lvm_ctx *lvm = NULL;
        struct lvm_lv *lvs = NULL;
        const struct lvm_lv *lv;
        size_t n = 0;
        int r;

        if (argc != 2) {
                fprintf(stderr, "usage: test-lvm VG\n");
                return 2;
        }
        const char *vg = argv[1];

        r = lvm_ctx_new(&lvm);
        CHECK(r == 0, "lvm_ctx_new: %d", r);

        r = lvm_lv_create(lvm, vg, "app-test", 8u << 20, LVM_ROLE_APP);
        CHECK(r == 0, "create app-test: %s", strerror(-r));
        CHECK(access("/dev/mapper", F_OK) == 0, "no /dev/mapper");

        r = lvm_lv_list(lvm, vg, &lvs, &n);
        CHECK(r == 0, "list: %s", strerror(-r));
        lv = find(lvs, n, "app-test");
        CHECK(lv, "app-test not listed");
        CHECK(lv->role == LVM_ROLE_APP, "role %d, expected app", lv->role);
        CHECK(lv->size_bytes == 8u << 20, "size %llu", (unsigned long long)lv->size_bytes);
        CHECK(lv->active, "not active after create");
        CHECK(access(lv->path, F_OK) == 0, "%s has no device node", lv->path);
        printf("created and listed %s (%s, %llu bytes, active)\n", lv->path, lvm_role_to_tag(lv->role),
                (unsigned long long)lv->size_bytes);
        lvm_lv_list_free(lvs, n);

        r = lvm_lv_create(lvm, vg, "app-test", 8u << 20, LVM_ROLE_APP);
        CHECK(r == -EEXIST, "second create gave %d, expected -EEXIST", r);
        r = lvm_lv_create(lvm, vg, "too-big", UINT64_C(1) << 50, LVM_ROLE_APP);
        CHECK(r == -ENOSPC, "oversized create gave %d, expected -ENOSPC", r);
        r = lvm_lv_create(lvm, vg, "bad name", 8u << 20, LVM_ROLE_APP);
        CHECK(r == -EINVAL, "invalid name gave %d, expected -EINVAL", r);
        r = lvm_lv_remove(lvm, vg, "no-such-lv");
        CHECK(r == -ENOENT, "removing a missing LV gave %d, expected -ENOENT", r);
        printf("refusals: exists -> EEXIST, too big -> ENOSPC, bad name -> EINVAL, missing -> ENOENT\n");

        r = lvm_lv_set_active(lvm, vg, "app-test", false);
        CHECK(r == 0, "deactivate: %s", strerror(-r));
        r = lvm_lv_list(lvm, vg, &lvs, &n);
        CHECK(r == 0, "list: %s", strerror(-r));
        lv = find(lvs, n, "app-test");
        CHECK(lv && !lv->active, "still active after deactivation");
        lvm_lv_list_free(lvs, n);
        r = lvm_lv_set_active(lvm, vg, "app-test", true);
        CHECK(r == 0, "activate: %s", strerror(-r));
        printf("deactivated and reactivated\n");

        r = lvm_lv_remove(lvm, vg, "app-test");
        CHECK(r == 0, "remove: %s", strerror(-r));
        r = lvm_lv_list(lvm, vg, &lvs, &n);
        CHECK(r == 0, "list: %s", strerror(-r));
        CHECK(!find(lvs, n, "app-test"), "app-test still listed after remove");
        lvm_lv_list_free(lvs, n);
        printf("removed\n");
        return 0;
}
