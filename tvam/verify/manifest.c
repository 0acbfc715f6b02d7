/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The reference manifest (docs/attestation.md "Reference manifest"): what
 * the administrator allows to run.  A JSON file signed with a detached
 * ECDSA P-256/SHA-256 signature over its exact bytes, so no JSON
 * canonicalisation is involved (as signify signs files).
 */

#include "tvam/verify/manifest.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tvam/eventlog/eventlog.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/verify/json-util.h"

#define MANIFEST_FILE_MAX (16u * 1024u * 1024u)

void verify_manifest_free(struct verify_manifest *m)
{
        if (!m)
                return;
        free(m->applications.entries);
        free(m->applications.slots);
        free(m->base_images.entries);
        free(m->base_images.slots);
        free(m->boot_components);
        free(m);
}

_printf_(3, 4) static int bad(char *error, size_t size, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(error, size, fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

/* The first slot to probe for fingerprint H: the top bits of H times 2^64/phi
 * (Fibonacci hashing, Knuth TAOCP 6.4), which depend on every bit of H --
 * identities differ in their last characters, the high bytes of H. */
static size_t first_slot(const struct manifest_list *l, uint64_t h)
{
        return (size_t)((h * UINT64_C(0x9E3779B97F4A7C15)) >> l->shift);
}

static int index_entries(struct manifest_list *l)
{
        unsigned bits = 1;

        if (l->n >= UINT32_MAX / 4)
                return -ENOMEM;
        while ((UINT64_C(1) << bits) < 2 * (uint64_t)l->n + 1)
                bits++;
        l->slots = calloc((size_t)1 << bits, sizeof(*l->slots));
        if (!l->slots)
                return -ENOMEM;
        l->mask = ((size_t)1 << bits) - 1;
        l->shift = 64 - bits;
        for (size_t i = 0; i < l->n; i++) {
                size_t s = first_slot(l, l->entries[i].identity_hash);
                while (l->slots[s])
                        s = (s + 1) & l->mask;
                l->slots[s] = (uint32_t)i + 1;
        }
        return 0;
}

const struct manifest_entry *manifest_find(const struct manifest_list *l, const char *identity, size_t size,
        const uint8_t *config, size_t config_size, bool match_config)
{
        uint64_t h = manifest_identity_hash(identity, size);

        /* Every entry with this identity lies on the probe sequence before
         * the first empty slot. */
        for (size_t s = first_slot(l, h); l->slots[s]; s = (s + 1) & l->mask) {
                const struct manifest_entry *e = &l->entries[l->slots[s] - 1];

                if (e->identity_hash != h || e->identity_size != size || memcmp(e->identity, identity, size) != 0)
                        continue;
                if (match_config && e->has_config && (config_size != 32 || memcmp(e->config, config, 32) != 0))
                        continue;
                return e;
        }
        return NULL;
}

static int parse_entries(json_object *root, const char *key, bool with_config, struct manifest_list *ret,
        char *error, size_t error_size)
{
        json_object *arr;
        size_t n;

        *ret = (struct manifest_list){};
        if (!json_object_object_get_ex(root, key, &arr))
                return index_entries(ret);
        if (!json_object_is_type(arr, json_type_array))
                return bad(error, error_size, "manifest: \"%s\" is not an array", key);
        n = json_object_array_length(arr);
        ret->entries = calloc(n ? n : 1, sizeof(*ret->entries));
        if (!ret->entries)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(arr, i);
                struct manifest_entry *m = &ret->entries[i];
                const char *name = json_get_string(e, "name"), *identity = json_get_string(e, "identity"),
                           *config = json_get_string(e, "config");

                if (!name || !identity || strlen(name) > EVENTLOG_TVAM_NAME_MAX ||
                        strlen(identity) > EVENTLOG_TVAM_IDENTITY_MAX)
                        return bad(error, error_size, "manifest: %s[%zu] needs \"name\" and \"identity\"", key, i);
                snprintf(m->name, sizeof(m->name), "%s", name);
                snprintf(m->identity, sizeof(m->identity), "%s", identity);
                m->identity_size = strlen(m->identity);
                m->identity_hash = manifest_identity_hash(m->identity, m->identity_size);
                if (config) {
                        if (!with_config || hex_decode_exact(config, m->config, 32) < 0)
                                return bad(error, error_size, "manifest: %s[%zu].config is not a SHA-256 hex digest",
                                        key, i);
                        m->has_config = true;
                }
        }
        ret->n = n;
        return index_entries(ret);
}

int verify_manifest_parse(const char *json, size_t size, struct verify_manifest **ret, char *error, size_t error_size)
{
        _cleanup_(verify_manifest_freep) struct verify_manifest *m = NULL;
        _cleanup_json_ json_object *root = NULL;
        json_tokener *tok;
        json_object *v;
        const char *mode;
        int r;

        assert(json && ret && error);
        if (size > INT_MAX)
                return bad(error, error_size, "manifest: too large");
        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        root = json_tokener_parse_ex(tok, json, (int)size);
        json_tokener_free(tok);
        if (!root || !json_object_is_type(root, json_type_object))
                return bad(error, error_size, "manifest: not a JSON object");
        if (!json_object_object_get_ex(root, "version", &v) || json_object_get_int(v) != 1)
                return bad(error, error_size, "manifest: \"version\" must be 1");

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        r = parse_entries(root, "applications", true, &m->applications, error, error_size);
        if (r < 0)
                return r;
        r = parse_entries(root, "base_images", false, &m->base_images, error, error_size);
        if (r < 0)
                return r;

        mode = json_get_string(root, "mode");
        if (!mode || strcmp(mode, "application") == 0)
                m->mode = MANIFEST_MODE_APPLICATION;
        else if (strcmp(mode, "update") == 0)
                m->mode = MANIFEST_MODE_UPDATE;
        else if (strcmp(mode, "any") == 0)
                m->mode = MANIFEST_MODE_ANY;
        else
                return bad(error, error_size, "manifest: \"mode\" must be application, update or any");

        /* launch_pcrs: {"17": ["hex", ...], ...} — allowed quoted values */
        if (json_object_object_get_ex(root, "launch_pcrs", &v)) {
                if (!json_object_is_type(v, json_type_object))
                        return bad(error, error_size, "manifest: \"launch_pcrs\" is not an object");
                json_object_object_foreach(v, key, values)
                {
                        char *end;
                        unsigned long pcr = strtoul(key, &end, 10);
                        size_t n;

                        if (*key == 0 || *end || pcr >= 24 || (pcr >= 13 && pcr <= 15) ||
                                !json_object_is_type(values, json_type_array))
                                return bad(error, error_size, "manifest: launch_pcrs key \"%s\" is not a launch PCR",
                                        key);
                        n = json_object_array_length(values);
                        if (n == 0 || n > MANIFEST_LAUNCH_VALUES_MAX)
                                return bad(error, error_size, "manifest: launch_pcrs[%s] needs 1..%u values", key,
                                        MANIFEST_LAUNCH_VALUES_MAX);
                        for (size_t i = 0; i < n; i++) {
                                json_object *s = json_object_array_get_idx(values, i);
                                if (!json_object_is_type(s, json_type_string) ||
                                        hex_decode_exact(json_object_get_string(s), m->launch[pcr].values[i], 32) < 0)
                                        return bad(error, error_size, "manifest: launch_pcrs[%s][%zu] is not SHA-256 hex",
                                                key, i);
                        }
                        m->launch[pcr].n_values = n;
                        m->launch_mask |= UINT32_C(1) << pcr;
                }
        }

        /* boot_components: [{"name": ..., "sha256": hex}] — allowed digests of
         * the firmware log's boot events on boot_pcrs */
        if (json_object_object_get_ex(root, "boot_components", &v)) {
                size_t n;
                if (!json_object_is_type(v, json_type_array))
                        return bad(error, error_size, "manifest: \"boot_components\" is not an array");
                n = json_object_array_length(v);
                m->boot_components = calloc(n ? n : 1, sizeof(*m->boot_components));
                if (!m->boot_components)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        json_object *e = json_object_array_get_idx(v, i);
                        const char *name = json_get_string(e, "name"), *d = json_get_string(e, "sha256");
                        if (!name || !d || hex_decode_exact(d, m->boot_components[i].sha256, 32) < 0)
                                return bad(error, error_size,
                                        "manifest: boot_components[%zu] needs \"name\" and \"sha256\"", i);
                        snprintf(m->boot_components[i].name, sizeof(m->boot_components[i].name), "%s", name);
                }
                m->n_boot_components = n;
                m->check_boot_components = true;
        }
        m->boot_pcrs = (1u << 4) | (1u << 9); /* boot loaders (PFP §3.3.4.5), files GRUB loads */
        if (json_object_object_get_ex(root, "boot_pcrs", &v)) {
                if (!json_object_is_type(v, json_type_array))
                        return bad(error, error_size, "manifest: \"boot_pcrs\" is not an array");
                m->boot_pcrs = 0;
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        int pcr = json_object_get_int(json_object_array_get_idx(v, i));
                        if (pcr < 0 || pcr >= 24 || (pcr >= 13 && pcr <= 15))
                                return bad(error, error_size, "manifest: boot_pcrs[%zu] is not a firmware PCR", i);
                        m->boot_pcrs |= 1u << pcr;
                }
        }

        *ret = TAKE_PTR(m);
        return 0;
}

int verify_manifest_load(const char *path, const char *sig_path, struct crypto_key *admin_key,
        struct verify_manifest **ret, char *error, size_t error_size)
{
        _cleanup_free_ uint8_t *data = NULL, *sig = NULL;
        size_t size, sig_size;
        int r;

        assert(path && sig_path && admin_key && ret && error);
        r = read_full_file(path, MANIFEST_FILE_MAX, &data, &size);
        if (r < 0) {
                snprintf(error, error_size, "cannot read manifest %s: %s", path, strerror(-r));
                return r;
        }
        r = read_full_file(sig_path, 1024, &sig, &sig_size);
        if (r < 0) {
                snprintf(error, error_size, "cannot read manifest signature %s: %s", sig_path, strerror(-r));
                return r;
        }
        /* Verify before parsing: an unsigned manifest is never interpreted. */
        r = crypto_verify_der(admin_key, data, size, sig, sig_size);
        if (r < 0) {
                snprintf(error, error_size, "manifest %s is not signed by the administrator key", path);
                return -EPERM;
        }
        return verify_manifest_parse((const char *)data, size, ret, error, error_size);
}
