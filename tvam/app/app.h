/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Application lifecycle (issue 5, docs/app.md): import an image into an
 * encrypted logical volume sealed to the Application-Mode platform state,
 * open / close it for start / stop, remove it, list applications, and roll
 * back imports a crash interrupted.
 *
 * Volume stack of application NAME (ARCHITECTURE.md "Disk layout"):
 *
 *   VG/app-NAME  (tag tvam:app)  LUKS2 → /dev/mapper/tvam-app-NAME
 *        read-only images: dm-verity on the plaintext (data, then the hash
 *        tree after it on the same device) → /dev/mapper/tvam-app-NAME-verity
 *   VG/appcfg-NAME (tag tvam:appcfg, optional) LUKS2 → /dev/mapper/tvam-appcfg-NAME
 *
 * Each LUKS2 volume has its own fresh 256-bit secret sealed by the TPM to
 * the PCR values the caller gives (the Application-Mode state), stored in
 * the volume's tvam-tpm2 token, plus an optional recovery keyslot.
 *
 * Not thread-safe (liblvm2cmd is not): call from one thread.  Functions
 * return 0 or a negative errno and print nothing.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/pcr/pcr.h"
#include "tvam/app/manifest.h"
#include "tvam/shared/secret.h"

struct tpm_context;
struct lvm_ctx;

/* What the library works with; all borrowed from the caller (tvamd). */
struct app_ctx {
        const char *state_dir;   /* manifests live here */
        const char *vg;          /* the volume group of application LVs */
        struct tpm_context *tpm; /* SRK provisioned */
        struct lvm_ctx *lvm;
        /* Argon2id cost of recovery keyslots; NULL = cryptsetup's default.
         * (struct luks_argon2_cost, tvam/storage/luks.h) */
        const void *recovery_cost;
};

/* The steps of an import, in order; reported to the progress callback. */
enum app_import_step {
        APP_STEP_MANIFEST = 1, /* manifest "importing" written */
        APP_STEP_LV,           /* logical volume(s) created */
        APP_STEP_FORMAT,       /* secret sealed, LUKS2 formatted with token */
        APP_STEP_OPEN,         /* LUKS2 volume mapped */
        APP_STEP_COPY,         /* image copied and hashed (progress repeats) */
        APP_STEP_VERITY,       /* read-only: hash tree built */
        APP_STEP_CLOSE,        /* mapping removed */
        APP_STEP_DATA,         /* data volume formatted */
        APP_STEP_READY,        /* manifest "ready" */
};

const char *app_import_step_to_string(enum app_import_step step);

/* BYTES_DONE / BYTES_TOTAL are meaningful for APP_STEP_COPY.  Return < 0 to
 * cancel the import (it is rolled back and that error returned). */
typedef int (*app_progress_fn)(
        enum app_import_step step, uint64_t bytes_done, uint64_t bytes_total, void *userdata);

struct app_import_params {
        const char *name;       /* manifest_name_valid() */
        const char *image_path; /* raw image: regular file or block device */
        /* Exact image size in bytes, 0 = the file's size.  An image that
         * ends before it is refused (-EPIPE) and nothing remains. */
        uint64_t expected_size;
        bool read_only;     /* read-only: dm-verity, identity = root hash */
        uint64_t data_size; /* bytes of the appcfg-NAME data volume, 0 = none */
        uint32_t memory_mib;
        uint32_t vcpus;
        const struct secret *recovery; /* optional recovery passphrase/key */
        /* Sealing: the PCRs in PCR_MASK, to the values in PCRS (computed by
         * the caller: the Application-Mode state). */
        uint32_t pcr_mask;
        const struct pcr_bank *pcrs;
        app_progress_fn progress;
        void *userdata;
        /* TESTS ONLY (tests/lab/app/test-app.c): _exit(99) right after this
         * step completed, to simulate a crash.  0 = never. */
        enum app_import_step crash_after_step;
};

/* Import; on success *ret_manifest (optional) gets the "ready" manifest.
 * -EEXIST if NAME is taken (nothing changed).  Any other failure rolls back
 * everything this call created.  Secrets are wiped on every path. */
int app_import(
        const struct app_ctx *ctx, const struct app_import_params *params, struct manifest *ret_manifest);

/* At daemon start: roll back every manifest still "importing" (close its
 * mappings, erase and remove its LVs, delete the manifest).  *ret_n
 * (optional) gets how many were rolled back.  Continues past failures and
 * returns the first error. */
int app_recover(const struct app_ctx *ctx, size_t *ret_n);

enum app_verify_mode {
        APP_VERIFY_LAZY,  /* dm-verity checks each block when it is read */
        APP_VERIFY_EAGER, /* read and check the whole image first */
};

#define APP_DEVICE_MAX 128u

struct app_opened {
        char device[APP_DEVICE_MAX];      /* the VM disk: /dev/mapper/... */
        char data_device[APP_DEVICE_MAX]; /* data volume, "" if none */
        char identity[MANIFEST_IDENTITY_MAX];
        uint8_t config_digest[MANIFEST_CONFIG_DIGEST_SIZE];
};

/* Unseal and map application NAME.  -ENOENT unknown, -EBUSY still
 * importing, -EALREADY already open, -EPERM refused (the TPM state differs
 * from the sealed one, or eager verification found a bad block): ERRBUF (if
 * not NULL) then says which PCR / which position.  On failure nothing stays
 * mapped. */
int app_open(const struct app_ctx *ctx, const char *name, enum app_verify_mode mode, char *errbuf,
        size_t errlen, struct app_opened *ret_opened);

/* Remove the mappings of NAME in reverse order (missing ones are fine). */
int app_close(const struct app_ctx *ctx, const char *name);

/* 1 if any mapping of NAME exists, 0 if none. */
int app_is_open(const char *name);

/* Erase (destroy keyslots + header) and remove the LVs of NAME and delete
 * its manifest.  -EBUSY while open. */
int app_remove(const struct app_ctx *ctx, const char *name);

/* All manifests in the state directory, sorted by name (importing ones
 * too; a manifest that does not parse is skipped).  Free with free(). */
int app_list(const struct app_ctx *ctx, struct manifest **ret, size_t *ret_n);
