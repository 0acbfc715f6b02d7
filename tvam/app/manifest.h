/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Application manifests (issue 5, docs/app.md "Manifest").
 *
 * One JSON file per application, STATE_DIR/NAME.json, replaced atomically
 * (STYLE.md §8).  It records what TVAM needs to open, measure and remove an
 * imported application: its identity (the SHA-256 of a read-write image, the
 * dm-verity root hash of a read-only one), the logical volumes it occupies,
 * its resources and the digest of its configuration that is measured into
 * PCR 13 (ARCHITECTURE.md "Boot chain and PCR map").
 *
 * A manifest in state "importing" is written before anything is created on
 * disk, so an import interrupted by a crash is found and rolled back at the
 * next start (app_recover()).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MANIFEST_VERSION 1
#define MANIFEST_NAME_MAX 32u     /* [a-z0-9][a-z0-9_.-]{0,31} */
#define MANIFEST_JSON_MAX 8192u   /* parsing limit of a manifest file */
#define MANIFEST_IDENTITY_MAX 80u /* "verity:" or "sha256:" + 64 hex + NUL */
#define MANIFEST_LV_NAME_MAX 48u  /* "appcfg-" + name + NUL */
#define MANIFEST_CONFIG_DIGEST_SIZE 32u
#define MANIFEST_MEMORY_MIB_MAX (1u << 22) /* 4 TiB */
#define MANIFEST_VCPUS_MAX 1024u

enum manifest_state {
        MANIFEST_IMPORTING,
        MANIFEST_READY,
};

struct manifest {
        char name[MANIFEST_NAME_MAX + 1];
        enum manifest_state state;
        bool read_only;
        /* "sha256:<hex>" (read-write) or "verity:<hex>" (read-only); "" only
         * while importing. */
        char identity[MANIFEST_IDENTITY_MAX];
        uint64_t image_size;         /* bytes of the image as imported */
        uint64_t verity_hash_offset; /* read-only: byte offset of the hash tree in the plaintext device; else
                                        0 */
        uint64_t data_size;          /* bytes of the appcfg data volume, 0 = none */
        char lv_image[MANIFEST_LV_NAME_MAX]; /* "app-NAME" */
        char lv_data[MANIFEST_LV_NAME_MAX];  /* "appcfg-NAME" or "" */
        uint32_t memory_mib;
        uint32_t vcpus;
        uint8_t config_digest[MANIFEST_CONFIG_DIGEST_SIZE];
        uint64_t created; /* seconds since the epoch (UTC) */
};

/* true if NAME matches [a-z0-9][a-z0-9_.-]{0,31}. */
bool manifest_name_valid(const char *name);

const char *manifest_state_to_string(enum manifest_state s);

/*
 * The configuration digest measured into PCR 13 (docs/app.md "Config
 * digest"): SHA-256 over the canonical text
 *   "tvam-app-config-v1\nname=<name>\nmemory_mib=<n>\nvcpus=<n>\nread_only=<0|1>\ndata_size=<n>\n"
 * (decimal numbers, no leading zeros, no other whitespace).
 */
int manifest_config_digest(const char *name, uint32_t memory_mib, uint32_t vcpus, bool read_only,
        uint64_t data_size, uint8_t ret[MANIFEST_CONFIG_DIGEST_SIZE]);

/* Check every field of M (also the consistency of identity, read_only, state,
 * LV names and the config digest).  -EINVAL if anything is off. */
int manifest_validate(const struct manifest *m);

/*
 * Strictly parse manifest JSON (SIZE bytes, need not be NUL-terminated).
 * -EBADMSG: not one well-formed JSON object; -EINVAL: a field missing,
 * unknown, of the wrong type or out of range, or inconsistent;
 * -EPROTONOSUPPORT: unknown "tvam-manifest-version"; -E2BIG: too large.
 * *ret is written only on success.
 */
int manifest_parse(const char *json, size_t size, struct manifest *ret);

/* Serialize a valid manifest (caller frees the text). */
int manifest_format(const struct manifest *m, char **ret_json);

/* STATE_DIR/NAME.json: write atomically (0600), read + parse, delete.
 * manifest_load: -ENOENT if there is none; the parsed name must equal NAME. */
int manifest_save(const char *state_dir, const struct manifest *m);
int manifest_load(const char *state_dir, const char *name, struct manifest *ret);
int manifest_delete(const char *state_dir, const char *name);

/* Names of all manifests in STATE_DIR (files NAME.json with a valid name),
 * sorted.  Free with manifest_names_free(). */
int manifest_list_names(const char *state_dir, char ***ret, size_t *ret_n);
void manifest_names_free(char **names, size_t n);
