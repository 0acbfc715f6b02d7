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
        size_t identity_size; /* strlen(identity) */
        uint64_t identity_hash; /* manifest_identity_hash(identity) */
        uint8_t config[32];
        bool has_config; /* applications: the configuration digest must match too */
};

/* A cheap fingerprint of an identity string: its length and its last 8
 * bytes (the tail of a root hash or digest, where identities differ; they
 * share prefixes like "verity:").  Equal strings have equal fingerprints. */
static inline uint64_t manifest_identity_hash(const char *s, size_t n)
{
        uint64_t tail = 0;

        memcpy(&tail, s + (n >= 8 ? n - 8 : 0), n >= 8 ? 8 : n);
        return tail ^ ((uint64_t)n << 56);
}

/* The applications or the base images, indexed by identity: open
 * addressing over manifest_identity_hash(), SLOTS[i] = entry index + 1 or 0
 * (empty); MASK + 1 = 2^(64 - SHIFT) slots, at least twice N.  Built when
 * the manifest is parsed, so each event of a log costs a probe or two, not
 * a scan. */
struct manifest_list {
        struct manifest_entry *entries;
        size_t n;
        uint32_t *slots;
        size_t mask;
        unsigned shift;
};

/* An entry of L whose identity is IDENTITY (SIZE bytes) and, when
 * MATCH_CONFIG and the entry has a config, whose config is CONFIG (32
 * bytes).  NULL if none. */
const struct manifest_entry *manifest_find(const struct manifest_list *l, const char *identity, size_t size,
        const uint8_t *config, size_t config_size, bool match_config);

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
        struct manifest_list applications;
        struct manifest_list base_images;
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
