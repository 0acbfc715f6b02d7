/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "policy/pcr/policy.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tvam/shared/macro.h"

static void put_be16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

struct chunk {
        const void *data;
        size_t size;
};

/* OUT = H(chunks...), with OUT possibly aliasing an input (hashing finishes first). */
static int hash_chunks(enum digest_alg alg, const struct chunk *chunks, size_t n, uint8_t *out)
{
        struct digest_ctx *ctx = NULL;
        int r;

        r = digest_begin(alg, &ctx);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (chunks[i].size == 0)
                        continue;
                r = digest_update(ctx, chunks[i].data, chunks[i].size);
                if (r < 0) {
                        digest_ctx_free(ctx);
                        return r;
                }
        }
        return digest_end(ctx, out);
}

int policy_init(struct policy *p, enum digest_alg alg)
{
        assert(p);
        if (digest_size(alg) == 0)
                return -EINVAL;
        memset(p, 0, sizeof(*p));
        p->alg = alg;
        return 0;
}

/* policyDigest' = H(policyDigest || CC || extra): PolicyUpdate() (Part 3 §23.2.3) without policyRef. */
static int policy_update(struct policy *p, uint32_t cc, const void *extra, size_t extra_size)
{
        uint8_t ccb[4];

        put_be32(ccb, cc);
        return hash_chunks(p->alg,
                (const struct chunk[]){
                        {p->digest, policy_size(p)},
                        {ccb, sizeof(ccb)},
                        {extra, extra_size},
                },
                3, p->digest);
}

int policy_pcr(struct policy *p, enum digest_alg bank_alg, uint32_t mask, const uint8_t *pcr_digest)
{
        uint8_t sel[4 + 2 + 1 + 3];
        uint8_t ccb[4];

        assert(p && pcr_digest);
        if (mask == 0 || (mask & ~PCR_MASK_ALL) || digest_size(bank_alg) == 0)
                return -EINVAL;

        /* TPML_PCR_SELECTION with one TPMS_PCR_SELECTION (Part 2 §10.9.7, §10.6.2). */
        put_be32(sel, 1);
        put_be16(sel + 4, (uint16_t)bank_alg);
        sel[6] = 3;
        sel[7] = (uint8_t)mask;
        sel[8] = (uint8_t)(mask >> 8);
        sel[9] = (uint8_t)(mask >> 16);

        put_be32(ccb, POLICY_CC_POLICY_PCR);
        return hash_chunks(p->alg,
                (const struct chunk[]){
                        {p->digest, policy_size(p)},
                        {ccb, sizeof(ccb)},
                        {sel, sizeof(sel)},
                        {pcr_digest, policy_size(p)},
                },
                4, p->digest);
}

int policy_pcr_bank(struct policy *p, const struct pcr_bank *bank, uint32_t mask)
{
        uint8_t composite[DIGEST_MAX_SIZE];
        int r;

        assert(p && bank);
        r = pcr_composite_digest(bank, mask, p->alg, composite);
        if (r < 0)
                return r;
        return policy_pcr(p, bank->alg, mask, composite);
}

int policy_or(struct policy *p, const uint8_t *digests, size_t n)
{
        assert(p);
        if (!digests || n < 2 || n > POLICY_OR_MAX)
                return -EINVAL;
        /* PolicyOR replaces the digest: it starts from zero (Part 3 §23.6). */
        memset(p->digest, 0, sizeof(p->digest));
        return policy_update(p, POLICY_CC_POLICY_OR, digests, n * policy_size(p));
}

int policy_auth_value(struct policy *p)
{
        assert(p);
        return policy_update(p, POLICY_CC_POLICY_AUTH_VALUE, NULL, 0);
}

int policy_command_code(struct policy *p, uint32_t code)
{
        uint8_t b[4];

        assert(p);
        put_be32(b, code);
        return policy_update(p, POLICY_CC_POLICY_COMMAND_CODE, b, sizeof(b));
}

int policy_secret(struct policy *p, const uint8_t *name, size_t name_size, const uint8_t *policy_ref,
        size_t policy_ref_size)
{
        int r;

        assert(p);
        if (!name || name_size == 0 || name_size > POLICY_NAME_MAX || (policy_ref_size > 0 && !policy_ref))
                return -EINVAL;
        r = policy_update(p, POLICY_CC_POLICY_SECRET, name, name_size);
        if (r < 0)
                return r;
        /* The second hash over policyRef is always done, even when empty. */
        return hash_chunks(p->alg,
                (const struct chunk[]){
                        {p->digest, policy_size(p)},
                        {policy_ref, policy_ref_size},
                },
                2, p->digest);
}

int policy_authorize_nv(struct policy *p, const uint8_t *nv_name, size_t nv_name_size)
{
        assert(p);
        if (!nv_name || nv_name_size == 0 || nv_name_size > POLICY_NAME_MAX)
                return -EINVAL;
        memset(p->digest, 0, sizeof(p->digest));
        return policy_update(p, POLICY_CC_POLICY_AUTHORIZE_NV, nv_name, nv_name_size);
}

int policy_nv_name(enum digest_alg name_alg, uint32_t nv_index, uint32_t attributes,
        const uint8_t *auth_policy, size_t auth_policy_size, uint16_t data_size, uint8_t *ret_name,
        size_t *ret_name_size)
{
        uint8_t pub[4 + 2 + 4 + 2 + DIGEST_MAX_SIZE + 2];
        size_t off = 0, n = digest_size(name_alg);
        int r;

        assert(ret_name && ret_name_size);
        if (n == 0 || auth_policy_size > DIGEST_MAX_SIZE || (auth_policy_size > 0 && !auth_policy))
                return -EINVAL;

        put_be32(pub + off, nv_index), off += 4;
        put_be16(pub + off, (uint16_t)name_alg), off += 2;
        put_be32(pub + off, attributes), off += 4;
        put_be16(pub + off, (uint16_t)auth_policy_size), off += 2;
        if (auth_policy_size > 0)
                memcpy(pub + off, auth_policy, auth_policy_size);
        off += auth_policy_size;
        put_be16(pub + off, data_size), off += 2;

        r = digest_buffer(name_alg, pub, off, ret_name + 2);
        if (r < 0)
                return r;
        put_be16(ret_name, (uint16_t)name_alg);
        *ret_name_size = 2 + n;
        return 0;
}

int policy_or_tree(enum digest_alg alg, const uint8_t *branches, size_t n, size_t index,
        struct policy_or_step *ret_steps, size_t *ret_n_steps, uint8_t *ret_root)
{
        _cleanup_free_ uint8_t *level = NULL;
        struct policy_or_step steps[POLICY_OR_DEPTH_MAX];
        size_t ds = digest_size(alg), n_steps = 0;
        int r;

        assert(ret_root);
        if (ds == 0 || !branches || n == 0 || n > POLICY_OR_BRANCHES_MAX || index >= n)
                return -EINVAL;

        level = malloc(n * ds);
        if (!level)
                return -ENOMEM;
        memcpy(level, branches, n * ds);

        while (n > 1) {
                size_t n_chunks = (n + POLICY_OR_MAX - 1) / POLICY_OR_MAX;

                assert(n_steps < POLICY_OR_DEPTH_MAX);
                for (size_t c = 0; c < n_chunks; c++) {
                        struct policy_or_step step = {};
                        struct policy p;
                        size_t first = c * POLICY_OR_MAX;
                        size_t m = n - first < POLICY_OR_MAX ? n - first : POLICY_OR_MAX;

                        memcpy(step.digests, level + first * ds, m * ds);
                        if (m == 1) { /* pad a lone digest: PolicyOR needs >= 2 */
                                memcpy(step.digests + ds, step.digests, ds);
                                m = 2;
                        }
                        step.n = m;

                        r = policy_init(&p, alg);
                        if (r < 0)
                                return r;
                        r = policy_or(&p, step.digests, step.n);
                        if (r < 0)
                                return r;
                        if (index / POLICY_OR_MAX == c)
                                steps[n_steps] = step;
                        /* c <= first, so overwriting level[c] never clobbers unread input */
                        memcpy(level + c * ds, p.digest, ds);
                }
                n_steps++;
                index /= POLICY_OR_MAX;
                n = n_chunks;
        }

        memcpy(ret_root, level, ds);
        if (ret_steps)
                memcpy(ret_steps, steps, n_steps * sizeof(steps[0]));
        if (ret_n_steps)
                *ret_n_steps = n_steps;
        return 0;
}
