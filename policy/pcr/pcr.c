/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "policy/pcr/pcr.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool bank_alg_supported(enum digest_alg alg)
{
        return alg == DIGEST_SHA1 || alg == DIGEST_SHA256 || alg == DIGEST_SHA384 || alg == DIGEST_SHA512;
}

int pcr_bank_init(struct pcr_bank *bank, enum digest_alg alg)
{
        assert(bank);
        if (!bank_alg_supported(alg))
                return -EINVAL;
        memset(bank, 0, sizeof(*bank));
        bank->alg = alg;
        return 0;
}

int pcr_bank_init_static_boot(struct pcr_bank *bank, enum digest_alg alg)
{
        int r = pcr_bank_init(bank, alg);
        if (r < 0)
                return r;
        /* PC Client PTP: the DRTM PCRs 17–22 reset to all-ones at TPM
         * init and only a dynamic launch (locality 4) zeroes them. */
        for (unsigned i = 17; i <= 22; i++)
                memset(bank->values[i], 0xff, digest_size(alg));
        return 0;
}

int pcr_extend(struct pcr_bank *bank, unsigned pcr, const uint8_t *digest, size_t size)
{
        size_t n;
        struct digest_ctx *ctx = NULL;
        uint8_t out[DIGEST_MAX_SIZE];
        int r;

        assert(bank);
        n = digest_size(bank->alg);
        if (!pcr_index_valid(pcr) || !digest || size != n)
                return -EINVAL;

        r = digest_begin(bank->alg, &ctx);
        if (r < 0)
                return r;
        r = digest_update(ctx, bank->values[pcr], n);
        if (r >= 0)
                r = digest_update(ctx, digest, n);
        if (r < 0) {
                digest_ctx_free(ctx);
                return r;
        }
        r = digest_end(ctx, out);
        if (r < 0)
                return r;
        memcpy(bank->values[pcr], out, n);
        return 0;
}

int pcr_extend_data(struct pcr_bank *bank, unsigned pcr, const void *data, size_t size)
{
        uint8_t d[DIGEST_MAX_SIZE];
        int r;

        assert(bank);
        r = digest_buffer(bank->alg, data, size, d);
        if (r < 0)
                return r;
        return pcr_extend(bank, pcr, d, digest_size(bank->alg));
}

int pcr_replay(struct pcr_bank *bank, const struct pcr_event *events, size_t n_events)
{
        struct pcr_bank work;
        int r;

        assert(bank);
        assert(events || n_events == 0);

        /* Work on a copy so a bad event leaves BANK untouched. */
        work = *bank;
        for (size_t i = 0; i < n_events; i++) {
                r = pcr_extend(&work, events[i].pcr, events[i].digest, digest_size(work.alg));
                if (r < 0)
                        return r;
        }
        *bank = work;
        return 0;
}

int pcr_bank_set(struct pcr_bank *bank, unsigned pcr, const uint8_t *value, size_t size)
{
        assert(bank);
        if (!pcr_index_valid(pcr) || !value || size != digest_size(bank->alg))
                return -EINVAL;
        memcpy(bank->values[pcr], value, size);
        return 0;
}

int pcr_composite_digest(
        const struct pcr_bank *bank, uint32_t mask, enum digest_alg policy_alg, uint8_t *ret_digest)
{
        struct digest_ctx *ctx = NULL;
        size_t n;
        int r;

        assert(bank && ret_digest);
        if (mask == 0 || (mask & ~PCR_MASK_ALL) || digest_size(policy_alg) == 0)
                return -EINVAL;
        n = digest_size(bank->alg);

        r = digest_begin(policy_alg, &ctx);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < PCR_COUNT; i++) {
                if (!(mask & (UINT32_C(1) << i)))
                        continue;
                r = digest_update(ctx, bank->values[i], n);
                if (r < 0) {
                        digest_ctx_free(ctx);
                        return r;
                }
        }
        return digest_end(ctx, ret_digest);
}

int pcr_bank_diff(const struct pcr_bank *a, const struct pcr_bank *b, uint32_t mask, uint32_t *ret_diff)
{
        uint32_t diff = 0;

        assert(a && b && ret_diff);
        if (a->alg != b->alg || (mask & ~PCR_MASK_ALL))
                return -EINVAL;
        for (unsigned i = 0; i < PCR_COUNT; i++)
                if ((mask & (UINT32_C(1) << i)) &&
                        memcmp(a->values[i], b->values[i], digest_size(a->alg)) != 0)
                        diff |= UINT32_C(1) << i;
        *ret_diff = diff;
        return 0;
}

void pcr_mask_to_string(uint32_t mask, char *buf, size_t size)
{
        size_t off = 0;

        assert(buf && size > 0);
        buf[0] = '\0';
        for (unsigned i = 0; i < PCR_COUNT; i++) {
                int n;

                if (!(mask & (UINT32_C(1) << i)))
                        continue;
                n = snprintf(buf + off, size - off, "%s%u", off ? ", " : "", i);
                if (n < 0 || (size_t)n >= size - off)
                        return; /* truncated, still terminated */
                off += (size_t)n;
        }
}
