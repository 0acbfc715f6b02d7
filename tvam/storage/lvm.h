/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * LVM2 through liblvm2cmd, the library LVM2 ships (liblvm2app was removed
 * in LVM2 2.03).  This is the only module that talks to LVM.
 *
 * liblvm2cmd takes a command line, not an argv: every name that goes into
 * one is validated against LVM's own naming rules first (lvm_name_valid),
 * so no caller-supplied text can add options or commands.
 *
 * The platform's logical volumes carry a role tag (ARCHITECTURE.md "Disk
 * layout"), so TVAM finds them by role, not by a naming convention alone.
 *
 * liblvm2cmd keeps global state and is not thread-safe: one struct lvm_ctx
 * per process, used from one thread.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tvam/shared/macro.h"

enum lvm_role {
        LVM_ROLE_BASE,   /* base-N: LUKS2 → squashfs base system */
        LVM_ROLE_STORE,  /* store: manifests, sealed-object metadata, logs */
        LVM_ROLE_LOG,    /* log: system logs */
        LVM_ROLE_AGC,    /* agc-G: application-group configuration */
        LVM_ROLE_APP,    /* app-A: application image (LUKS2, maybe verity) */
        LVM_ROLE_APPCFG, /* appcfg-A: writable per-application storage */
        _LVM_ROLE_MAX,
        LVM_ROLE_NONE = -1,
};

/* "tvam:base" … for a role; NULL for LVM_ROLE_NONE or out of range. */
const char *lvm_role_to_tag(enum lvm_role role);
/* Parse a tag; -EINVAL if it is not one of ours. */
int lvm_role_from_tag(const char *tag, enum lvm_role *ret);

/* LVM's rules for VG and LV names (lvm(8) "VALID NAMES"): 1–127 characters
 * of [A-Za-z0-9+_.-], not starting with '-', not "." or "..", and none of
 * the names LVM reserves for internal volumes.  Returns true if valid. */
bool lvm_name_valid(const char *name);

struct lvm_ctx;

/* Initialise liblvm2cmd.  Without a running udev (no /run/udev/control, as
 * in the lab and the initramfs) device nodes are created by LVM itself. */
int lvm_ctx_new(struct lvm_ctx **ret);
void lvm_ctx_free(struct lvm_ctx *ctx);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct lvm_ctx *, lvm_ctx_free)

/* The last error LVM reported (for the caller's one-line message), or "". */
const char *lvm_last_error(const struct lvm_ctx *ctx);

int lvm_pv_create(struct lvm_ctx *ctx, const char *device);
int lvm_pv_remove(struct lvm_ctx *ctx, const char *device);
int lvm_vg_create(struct lvm_ctx *ctx, const char *vg, const char *device);
int lvm_vg_remove(struct lvm_ctx *ctx, const char *vg);

/* Create VG/NAME of SIZE_BYTES (rounded up to whole extents by LVM), tagged
 * with ROLE (LVM_ROLE_NONE: untagged), activated.  -EEXIST if it exists,
 * -ENOSPC if the VG is too small. */
int lvm_lv_create(struct lvm_ctx *ctx, const char *vg, const char *name, uint64_t size_bytes,
        enum lvm_role role);
int lvm_lv_remove(struct lvm_ctx *ctx, const char *vg, const char *name);
int lvm_lv_set_active(struct lvm_ctx *ctx, const char *vg, const char *name, bool active);

struct lvm_lv {
        char *name;
        char *path; /* /dev/VG/NAME */
        uint64_t size_bytes;
        enum lvm_role role;
        bool active;
};

/* All LVs of VG, in LVM's order. */
int lvm_lv_list(struct lvm_ctx *ctx, const char *vg, struct lvm_lv **ret, size_t *ret_n);
void lvm_lv_list_free(struct lvm_lv *lvs, size_t n);

/* Parse an "lvs --reportformat json" report (exposed for unit tests and the
 * fuzzer: it is input from outside this process). */
int lvm_parse_lv_report(const char *json, const char *vg, struct lvm_lv **ret, size_t *ret_n);
