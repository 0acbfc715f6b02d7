/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Application groups (acTvSM §3.2 "AGCLV": application-group configuration;
 * docs/app.md "Groups"): which applications start together, in which order,
 * and the isolated networks that connect them.  The administrator writes a
 * group file (JSON):
 *
 *   { "name": "shop",
 *     "networks": [ "backend" ],
 *     "applications": [ { "name": "db",  "network": "backend" },
 *                       { "name": "web", "network": "backend" } ] }
 *
 * Applications start in the listed order and stop in reverse.  An
 * application without "network" has no network interface.  tvamd keeps the
 * group in its state directory (groups/NAME.json, written atomically) and
 * measures the group's configuration digest into PCR 13 before starting it.
 */

#include <stddef.h>
#include <stdint.h>

#include "tvam/app/manifest.h"

#define GROUP_APPS_MAX 16u
#define GROUP_NETWORKS_MAX 8u
#define GROUP_JSON_MAX 16384u
#define GROUP_CONFIG_DIGEST_SIZE 32u

struct group_app {
        char name[MANIFEST_NAME_MAX + 1];
        int network; /* index into networks[], -1 = none */
};

struct group {
        char name[MANIFEST_NAME_MAX + 1];
        char networks[GROUP_NETWORKS_MAX][MANIFEST_NAME_MAX + 1];
        size_t n_networks;
        struct group_app apps[GROUP_APPS_MAX];
        size_t n_apps;
};

/* Parse and validate a group file: names as for applications, no
 * duplicates, every referenced network declared, at least one application.
 * On failure ERRBUF (if given) names the problem. */
int group_parse(const char *json, size_t size, struct group *ret, char *errbuf, size_t errlen);

/* Canonical JSON of G (what is stored; caller frees). */
int group_format(const struct group *g, char **ret_json);

/*
 * The configuration digest measured into PCR 13: SHA-256 over the canonical
 * text "tvam-group-config-v1\ngroup=<name>\n" + "network=<name>\n" per
 * network + "app=<name> network=<name or ->\n" per application, in order.
 */
int group_config_digest(const struct group *g, uint8_t ret[GROUP_CONFIG_DIGEST_SIZE]);

/* The libvirt network and host bridge of network N of G: "tvam-G-NET" and
 * "tvam" + 8 hex digits of SHA-256("G/NET") (bridge names have at most 15
 * characters). */
int group_network_names(const struct group *g, size_t n, char *ret_network, size_t network_size, char *ret_bridge,
        size_t bridge_size);

/* STATE_DIR/groups/NAME.json. */
int group_save(const char *state_dir, const struct group *g);
int group_load(const char *state_dir, const char *name, struct group *ret);
int group_delete(const char *state_dir, const char *name);
/* Names of all stored groups, sorted (free with manifest_names_free). */
int group_list_names(const char *state_dir, char ***ret, size_t *ret_n);
