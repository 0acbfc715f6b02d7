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
struct tpm_policy_nv;
struct tpm_pcr_state;
struct luks_token;

/* What the library works with; all borrowed from the caller (tvamd). */
struct app_ctx {
        const char *state_dir;   /* manifests live here */
        const char *vg;          /* the volume group of application LVs */
        struct tpm_context *tpm; /* SRK provisioned */
        struct lvm_ctx *lvm;
        /* Argon2id cost of recovery keyslots; NULL = cryptsetup's default.
         * (struct luks_argon2_cost, tvam/storage/luks.h) */
        const void *recovery_cost;
        /* Sealing through the revocable NV policy (docs/update.md).  When
         * POLICY_NV is set, new secrets are sealed with PolicyAuthorizeNV to
         * its policy index, and such secrets unseal with POLICY_STATES (the
         * states the index holds now).  NULL: PolicyPCR to the caller's PCR
         * values (before `tvamctl policy init`).  PolicyPCR volumes keep
         * unsealing either way (the token's blob says which kind it is). */
        const struct tpm_policy_nv *policy_nv;
        const struct tpm_pcr_state *policy_states;
        size_t n_policy_states;
};

/* Seal SECRET for a volume's TPM keyslot and describe it as a tvam-tpm2
 * token (keyslot left 0 for luks_format/luks_tpm_rebind to set): through
 * CTX->policy_nv when set (token policy_nv_index = the policy index), else
 * PolicyPCR to the PCRs in MASK of PCRS.  The caller frees the token
 * (luks_token_done). */
int app_seal_token(const struct app_ctx *ctx, const struct secret *secret, const struct pcr_bank *pcrs,
        uint32_t mask, struct luks_token *ret_token);

/* Unseal the secret of TOKEN (either kind).  -EPERM when the TPM refuses:
 * ERRBUF (optional) then names the PCR(s) that differ. */
int app_unseal_token(const struct app_ctx *ctx, const struct luks_token *token, char *errbuf, size_t errlen,
        struct secret **ret);

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
/* The step named S ("manifest" ... "ready"), or -EINVAL. */
int app_import_step_from_string(const char *s);

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
        /* Optional: called once the image was read to its end, before
         * anything is committed; it confirms the source was complete (e.g.
         * a qcow2 converter exited 0).  < 0 rolls the import back. */
        int (*source_complete)(void *userdata);
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
        /* Where the time went, in seconds (start-overhead benchmark):
         * TPM2_Unseal of the volume secrets, LUKS2 + dm-verity activation,
         * eager verification (0 for lazy). */
        double unseal_s, open_s, verify_s;
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

/*
 * Backup (acTvSM §3.3): write application NAME (stopped, with a recovery
 * keyslot) to OUT_FD: the manifest and its raw volumes (LUKS2 headers and
 * ciphertext only), format in docs/app.md.  -EBUSY while open, -ENOKEY
 * without a recovery keyslot.  PROGRESS (optional) gets APP_STEP_COPY.
 */
int app_backup(const struct app_ctx *ctx, const char *name, int out_fd, app_progress_fn progress, void *userdata);

struct app_restore_params {
        int in_fd;                     /* the backup stream */
        const char *name;              /* NULL: the name in the backup */
        const struct secret *recovery; /* opens the volumes' recovery keyslots */
        /* Sealing of the new TPM keyslots, as for import. */
        uint32_t pcr_mask;
        const struct pcr_bank *pcrs;
        app_progress_fn progress;
        void *userdata;
};

/*
 * Restore a backup: create the volumes, copy them (checking the backup's
 * checksums), re-bind every volume to a fresh secret sealed by this TPM
 * (the recovery secret authorises it; the old TPM keyslot is destroyed),
 * check the plaintext against the manifest's identity, then register it.
 * Any failure rolls back everything; ERRBUF says what was wrong (damaged
 * backup, wrong recovery secret, identity mismatch).  -EEXIST if the name
 * is taken.
 */
int app_restore(const struct app_ctx *ctx, const struct app_restore_params *p, char *errbuf, size_t errlen,
        struct manifest *ret_manifest);
