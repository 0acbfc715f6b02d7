/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The parsed reference manifest; tvam/verify only (API in verify.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tvam/eventlog/eventlog.h"
#include "tvam/verify/verify.h"

#define MANIFEST_LAUNCH_VALUES_MAX 16u

struct manifest_entry {
        char name[EVENTLOG_TVAM_NAME_MAX + 1];
        char identity[EVENTLOG_TVAM_IDENTITY_MAX + 1];
        uint8_t config[32];
        bool has_config; /* applications: the configuration digest must match too */
        uint64_t identity_hash; /* manifest_identity_hash(identity): a fast first comparison */
};

/* A cheap fingerprint of an identity string for a first comparison: its
 * length and its last 8 bytes (the tail of a root hash or digest, where
 * identities differ; they share prefixes like "verity:").  Equal strings
 * have equal fingerprints. */
static inline uint64_t manifest_identity_hash(const char *s)
{
        size_t n = strlen(s);
        uint64_t tail = 0;

        memcpy(&tail, s + (n >= 8 ? n - 8 : 0), n >= 8 ? 8 : n);
        return tail ^ ((uint64_t)n << 56);
}

struct manifest_boot_component {
        char name[128];
        uint8_t sha256[32];
};

enum manifest_mode {
        MANIFEST_MODE_APPLICATION, /* PCR 15 holds exactly the Application-Mode event */
        MANIFEST_MODE_UPDATE,      /* PCR 15 untouched */
        MANIFEST_MODE_ANY,
};

struct verify_manifest {
        struct manifest_entry *applications;
        uint64_t *application_hashes; /* identity_hash of each, contiguous: scanned per event */
        size_t n_applications;
        struct manifest_entry *base_images;
        uint64_t *base_image_hashes;
        size_t n_base_images;
        enum manifest_mode mode;

        uint32_t launch_mask;
        struct {
                size_t n_values;
                uint8_t values[MANIFEST_LAUNCH_VALUES_MAX][32];
        } launch[24];

        bool check_boot_components;
        uint32_t boot_pcrs;
        struct manifest_boot_component *boot_components;
        size_t n_boot_components;
};
