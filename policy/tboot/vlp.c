/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "policy/tboot/vlp.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void put_u32le(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
        p[2] = (uint8_t)(v >> 16);
        p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32le(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* tb_policy_t stores the TPM_ALG_ID in one byte: only these fit. */
static bool alg_supported(enum digest_alg alg)
{
        return alg == DIGEST_SHA1 || alg == DIGEST_SHA256 || alg == DIGEST_SHA384 || alg == DIGEST_SHA512;
}

const char *vlp_type_to_string(uint8_t type)
{
        switch (type) {
        case VLP_TYPE_NONFATAL:
                return "nonfatal";
        case VLP_TYPE_CONTINUE:
                return "continue";
        case VLP_TYPE_HALT:
                return "halt";
        }
        return NULL;
}

int vlp_new(enum vlp_type type, enum digest_alg alg, uint32_t control, struct vlp **ret)
{
        struct vlp *vlp;

        assert(ret);
        if (type >= _VLP_TYPE_MAX || !alg_supported(alg))
                return -EINVAL;
        vlp = calloc(1, sizeof(*vlp));
        if (!vlp)
                return -ENOMEM;
        vlp->type = (uint8_t)type;
        vlp->alg = alg;
        vlp->control = control;
        *ret = vlp;
        return 0;
}

void vlp_free(struct vlp *vlp)
{
        if (!vlp)
                return;
        for (size_t i = 0; i < vlp->num_entries; i++)
                free(vlp->entries[i].hashes);
        free(vlp->entries);
        free(vlp);
}

static bool mod_num_valid(uint8_t m)
{
        return m <= VLP_MOD_MAX || m == VLP_MOD_ANY || m == VLP_MOD_NV || m == VLP_MOD_NV_RAW;
}

static bool pcr_valid(uint8_t pcr)
{
        return pcr <= VLP_PCR_MAX || pcr == VLP_PCR_NONE;
}

static int append_hash(struct vlp_entry *e, size_t hash_size, const uint8_t *hash)
{
        uint8_t *grown;

        if (e->num_hashes == UINT8_MAX)
                return -E2BIG;
        grown = realloc(e->hashes, (e->num_hashes + 1u) * hash_size);
        if (!grown)
                return -ENOMEM;
        memcpy(grown + e->num_hashes * hash_size, hash, hash_size);
        e->hashes = grown;
        e->num_hashes++;
        return 0;
}

static int add_entry(struct vlp *vlp, const struct vlp_entry *proto, const uint8_t *hash)
{
        size_t hash_size = digest_size(vlp->alg), pos;
        struct vlp_entry *grown;
        int r;

        /* Same module: append the hash to its entry (tb_polgen --add). */
        for (size_t i = 0; i < vlp->num_entries; i++) {
                struct vlp_entry *e = &vlp->entries[i];
                bool same = e->mod_num == proto->mod_num &&
                        (proto->mod_num < VLP_MOD_NV || e->nv_index == proto->nv_index);
                if (!same)
                        continue;
                if (e->pcr != proto->pcr || e->hash_type != proto->hash_type)
                        return -EEXIST;
                return hash ? append_hash(e, hash_size, hash) : 0;
        }

        if (vlp->num_entries == UINT8_MAX)
                return -E2BIG;
        grown = realloc(vlp->entries, (vlp->num_entries + 1u) * sizeof(*grown));
        if (!grown)
                return -ENOMEM;
        vlp->entries = grown;

        /* tboot's find_policy_entry() takes the first match and "any"
         * matches everything: keep an "any" entry last. */
        pos = vlp->num_entries;
        if (proto->mod_num != VLP_MOD_ANY && pos > 0 && vlp->entries[pos - 1].mod_num == VLP_MOD_ANY) {
                vlp->entries[pos] = vlp->entries[pos - 1];
                pos--;
        }
        vlp->entries[pos] = *proto;
        vlp->entries[pos].num_hashes = 0;
        vlp->entries[pos].hashes = NULL;
        vlp->num_entries++;
        if (hash) {
                r = append_hash(&vlp->entries[pos], hash_size, hash);
                if (r < 0)
                        return r;
        }
        return 0;
}

int vlp_add(struct vlp *vlp, uint8_t mod_num, uint8_t pcr, enum vlp_hash_type hash_type, const uint8_t *hash)
{
        struct vlp_entry proto = { .mod_num = mod_num, .pcr = pcr, .hash_type = (uint8_t)hash_type };

        assert(vlp);
        if (!(mod_num <= VLP_MOD_MAX || mod_num == VLP_MOD_ANY) || !pcr_valid(pcr))
                return -EINVAL;
        if (hash_type == VLP_HASH_IMAGE ? !hash : hash_type != VLP_HASH_ANY || hash)
                return -EINVAL;
        return add_entry(vlp, &proto, hash);
}

int vlp_add_nv(struct vlp *vlp, bool raw, uint32_t nv_index, uint8_t pcr, const uint8_t *hash)
{
        struct vlp_entry proto = {
                .mod_num = raw ? VLP_MOD_NV_RAW : VLP_MOD_NV,
                .pcr = pcr,
                .hash_type = hash ? VLP_HASH_IMAGE : VLP_HASH_ANY,
                .nv_index = nv_index,
        };

        assert(vlp);
        if (!pcr_valid(pcr))
                return -EINVAL;
        return add_entry(vlp, &proto, hash);
}

int vlp_encode(const struct vlp *vlp, uint8_t **ret, size_t *ret_size)
{
        size_t hash_size, size = VLP_HEADER_SIZE;
        uint8_t *buf, *p;

        assert(vlp && ret && ret_size);
        hash_size = digest_size(vlp->alg);
        for (size_t i = 0; i < vlp->num_entries; i++)
                size += VLP_ENTRY_HEADER_SIZE + vlp->entries[i].num_hashes * hash_size;

        buf = calloc(1, size);
        if (!buf)
                return -ENOMEM;
        buf[0] = VLP_VERSION;
        buf[1] = vlp->type;
        buf[2] = (uint8_t)vlp->alg;
        put_u32le(buf + 3, vlp->control);
        put_u32le(buf + 7, 0); /* reserved */
        buf[11] = vlp->num_entries;

        p = buf + VLP_HEADER_SIZE;
        for (size_t i = 0; i < vlp->num_entries; i++) {
                const struct vlp_entry *e = &vlp->entries[i];
                p[0] = e->mod_num;
                p[1] = e->pcr;
                p[2] = e->hash_type;
                put_u32le(p + 3, e->nv_index);
                p[7] = e->num_hashes;
                p += VLP_ENTRY_HEADER_SIZE;
                if (e->num_hashes > 0) /* an "any" entry has no hash array at all */
                        memcpy(p, e->hashes, e->num_hashes * hash_size);
                p += e->num_hashes * hash_size;
        }
        assert((size_t)(p - buf) == size);

        *ret = buf;
        *ret_size = size;
        return 0;
}

int vlp_decode(const uint8_t *data, size_t size, struct vlp **ret)
{
        _cleanup_(vlp_freep) struct vlp *vlp = NULL;
        size_t off = VLP_HEADER_SIZE, hash_size;
        int r;

        assert(data || size == 0);
        assert(ret);

        if (size < VLP_HEADER_SIZE || data[0] != VLP_VERSION || data[1] >= _VLP_TYPE_MAX)
                return -EBADMSG;
        if (!alg_supported((enum digest_alg)data[2]))
                return -EBADMSG;
        if (get_u32le(data + 7) != 0) /* reserved must be zero */
                return -EBADMSG;

        r = vlp_new((enum vlp_type)data[1], (enum digest_alg)data[2], get_u32le(data + 3), &vlp);
        if (r < 0)
                return r;
        hash_size = digest_size(vlp->alg);

        if (data[11] > 0) {
                vlp->entries = calloc(data[11], sizeof(*vlp->entries));
                if (!vlp->entries)
                        return -ENOMEM;
        }
        for (unsigned i = 0; i < data[11]; i++) {
                struct vlp_entry *e = &vlp->entries[i];
                size_t hashes_size;

                if (size - off < VLP_ENTRY_HEADER_SIZE)
                        return -EBADMSG;
                e->mod_num = data[off];
                e->pcr = data[off + 1];
                e->hash_type = data[off + 2];
                e->nv_index = get_u32le(data + off + 3);
                e->num_hashes = data[off + 7];
                off += VLP_ENTRY_HEADER_SIZE;
                vlp->num_entries++; /* owned from here on, freed on error */

                if (!mod_num_valid(e->mod_num) || !pcr_valid(e->pcr) || e->hash_type > VLP_HASH_IMAGE)
                        return -EBADMSG;
                hashes_size = e->num_hashes * hash_size;
                if (size - off < hashes_size)
                        return -EBADMSG;
                if (hashes_size > 0) {
                        e->hashes = malloc(hashes_size);
                        if (!e->hashes)
                                return -ENOMEM;
                        memcpy(e->hashes, data + off, hashes_size);
                }
                off += hashes_size;
        }
        if (off != size) /* trailing bytes: not a policy we wrote or tboot reads */
                return -EBADMSG;

        *ret = TAKE_PTR(vlp);
        return 0;
}

int vlp_module_hash(enum digest_alg alg, const char *cmdline, const uint8_t *image_digest, uint8_t *ret)
{
        uint8_t buf[2 * DIGEST_MAX_SIZE];
        size_t n = digest_size(alg);
        int r;

        assert(cmdline && image_digest && ret);
        if (n == 0)
                return -EINVAL;
        r = digest_buffer(alg, cmdline, strlen(cmdline), buf);
        if (r < 0)
                return r;
        memcpy(buf + n, image_digest, n);
        return digest_buffer(alg, buf, 2 * n, ret);
}
