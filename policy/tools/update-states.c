/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "policy/tools/update-states.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

static int make_state(const struct pcr_bank *launch, uint32_t launch_mask, const struct pcr_bank *common,
        uint32_t common_mask, struct tpm_pcr_state *ret)
{
        size_t n = digest_size(launch->alg);
        int r;

        r = pcr_bank_init(&ret->pcrs, launch->alg);
        if (r < 0)
                return r;
        ret->mask = launch_mask | common_mask;
        for (unsigned p = 0; p < PCR_COUNT; p++) {
                if (launch_mask & (1u << p))
                        memcpy(ret->pcrs.values[p], launch->values[p], n);
                else if (common_mask & (1u << p))
                        memcpy(ret->pcrs.values[p], common->values[p], n);
        }
        return 0;
}

int update_states_build(const struct pcr_bank *current, const struct pcr_bank *next, uint32_t launch_mask,
        const struct pcr_bank *common, uint32_t common_mask, struct tpm_pcr_state ret_states[2],
        size_t *ret_n)
{
        uint32_t diff;
        int r;

        assert(current && ret_states && ret_n);
        if (launch_mask == 0 || (launch_mask & common_mask) || (common_mask && !common) ||
                (launch_mask | common_mask) & ~PCR_MASK_ALL)
                return -EINVAL;
        if ((next && next->alg != current->alg) || (common && common->alg != current->alg))
                return -EINVAL;

        r = make_state(current, launch_mask, common, common_mask, &ret_states[0]);
        if (r < 0)
                return r;
        *ret_n = 1;
        if (!next)
                return 0;
        r = pcr_bank_diff(current, next, launch_mask, &diff);
        if (r < 0)
                return r;
        if (diff == 0) /* PolicyOR of one branch twice would only cost a session step */
                return 0;
        r = make_state(next, launch_mask, common, common_mask, &ret_states[1]);
        if (r < 0)
                return r;
        *ret_n = 2;
        return 0;
}

int update_states_digest(const struct tpm_pcr_state *states, size_t n, uint8_t ret_digest[32])
{
        assert(states && ret_digest);
        return tpm_policy_nv_states_digest(states, n, ret_digest);
}

int update_states_authorize(struct tpm_context *c, const struct tpm_policy_nv *nv,
        const struct secret *admin, const struct tpm_pcr_state *states, size_t n)
{
        assert(c && nv && admin && states);
        if (n == 0)
                return -EINVAL;
        return tpm_policy_nv_authorize(c, nv, admin, states, n);
}
