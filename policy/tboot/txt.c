/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "policy/tboot/txt.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/tboot/vlp.h"
#include "tvam/shared/macro.h"

const char *txt_component_to_string(enum txt_component c)
{
        switch (c) {
        case TXT_COMPONENT_SINIT:
                return "sinit";
        case TXT_COMPONENT_MLE:
                return "mle";
        case TXT_COMPONENT_POLICY:
                return "policy";
        case TXT_COMPONENT_MODULE:
                return "module";
        }
        return NULL;
}

void txt_prediction_done(struct txt_prediction *p)
{
        if (!p)
                return;
        free(p->steps);
        p->steps = NULL;
        p->n_steps = 0;
}

int txt_sinit_pcr17_from_data(enum digest_alg alg, const void *data, size_t size, uint8_t *ret)
{
        struct pcr_bank bank;
        int r;

        assert(data || size == 0);
        r = pcr_bank_init(&bank, alg);
        if (r < 0)
                return r;
        r = pcr_extend_data(&bank, 17, data, size);
        if (r < 0)
                return r;
        memcpy(ret, bank.values[17], digest_size(alg));
        return 0;
}

const char *txt_skip_filename(const char *line)
{
        assert(line);
        while (*line == ' ')
                line++;
        while (*line != '\0' && *line != ' ')
                line++;
        while (*line == ' ')
                line++;
        return line;
}

/* find_policy_entry() of tboot include/tb_policy.h: first entry for the
 * module or "any". */
static const struct vlp_entry *find_entry(const struct vlp *vlp, unsigned mod)
{
        for (size_t i = 0; i < vlp->num_entries; i++)
                if (vlp->entries[i].mod_num == mod || vlp->entries[i].mod_num == VLP_MOD_ANY)
                        return &vlp->entries[i];
        return NULL;
}

/* is_hash_in_policy_entry() of policy.c.  A VLP of another algorithm than
 * the bank's cannot match (tboot compares cur_alg digests). */
static bool hash_allowed(
        const struct vlp *vlp, const struct vlp_entry *e, enum digest_alg alg, const uint8_t *h)
{
        size_t n = digest_size(alg);

        if (e->hash_type == VLP_HASH_ANY)
                return true;
        if (vlp->alg != alg)
                return false;
        for (unsigned i = 0; i < e->num_hashes; i++)
                if (memcmp(e->hashes + i * n, h, n) == 0)
                        return true;
        return false;
}

static struct txt_step *add_step(struct txt_prediction *p, unsigned pcr, enum txt_component c, int module)
{
        struct txt_step *s = &p->steps[p->n_steps++];

        *s = (struct txt_step){.pcr = pcr, .component = c, .module = module, .verified = true};
        return s;
}

/* verify_g_policy(): H(policy_control || H(policy)) with the bank's alg. */
static int policy_measurement(const struct txt_launch *l, const struct vlp *vlp, uint8_t *ret)
{
        uint8_t buf[4 + DIGEST_MAX_SIZE] = {};
        size_t n = digest_size(l->alg);
        int r;

        buf[0] = (uint8_t)vlp->control;
        buf[1] = (uint8_t)(vlp->control >> 8);
        buf[2] = (uint8_t)(vlp->control >> 16);
        buf[3] = (uint8_t)(vlp->control >> 24);
        if (vlp->control & VLP_CONTROL_EXTEND_PCR17) {
                r = digest_buffer(l->alg, l->vlp, l->vlp_size, buf + 4);
                if (r < 0)
                        return r;
        }
        return digest_buffer(l->alg, buf, 4 + n, ret);
}

int txt_predict(const struct txt_launch *l, struct txt_prediction *ret)
{
        _cleanup_(vlp_freep) struct vlp *vlp = NULL;
        struct txt_prediction p = {};
        size_t n;
        int r;

        assert(l && ret);
        n = digest_size(l->alg);
        if (n == 0 || !l->vlp || l->n_modules == 0 || l->n_modules > TXT_MODULES_MAX)
                return -EINVAL;
        r = vlp_decode(l->vlp, l->vlp_size, &vlp);
        if (r < 0)
                return r;
        for (size_t i = 0; i < vlp->num_entries; i++)
                if (vlp->entries[i].mod_num == VLP_MOD_NV || vlp->entries[i].mod_num == VLP_MOD_NV_RAW)
                        return -EOPNOTSUPP;

        /* sinit + mle + policy + module 0 + one per module */
        p.steps = calloc(4 + l->n_modules, sizeof(*p.steps));
        if (!p.steps)
                return -ENOMEM;
        p.vlp_type = vlp->type;
        r = pcr_bank_init(&p.bank, l->alg);
        if (r < 0)
                goto fail;

        memcpy(add_step(&p, 17, TXT_COMPONENT_SINIT, -1)->digest, l->sinit_pcr17, n);
        memcpy(add_step(&p, 18, TXT_COMPONENT_MLE, -1)->digest, l->mle_digest, n);
        r = policy_measurement(l, vlp, add_step(&p, 17, TXT_COMPONENT_POLICY, -1)->digest);
        if (r < 0)
                goto fail;

        for (size_t i = 0; i < l->n_modules; i++) {
                const struct txt_module *m = &l->modules[i];
                const struct vlp_entry *e = find_entry(vlp, (unsigned)i);
                uint8_t h[DIGEST_MAX_SIZE];
                struct txt_step *s;

                r = vlp_module_hash(l->alg, m->cmdline ? m->cmdline : "", m->image_digest, h);
                if (r < 0)
                        goto fail;
                if (i == 0) /* verify_all_modules(): module 0 always into 18 */
                        memcpy(add_step(&p, 18, TXT_COMPONENT_MODULE, 0)->digest, h, n);
                if (!e) { /* TB_ERR_MODULES_NOT_IN_POLICY: not measured again */
                        p.n_unverified++;
                        if (i == 0)
                                p.steps[p.n_steps - 1].verified = false;
                        continue;
                }
                if (!hash_allowed(vlp, e, l->alg, h)) {
                        p.n_unverified++;
                        if (i == 0)
                                p.steps[p.n_steps - 1].verified = false;
                }
                if (e->pcr == VLP_PCR_NONE)
                        continue;
                s = add_step(&p, e->pcr, TXT_COMPONENT_MODULE, (int)i);
                memcpy(s->digest, h, n);
                s->verified = hash_allowed(vlp, e, l->alg, h);
        }

        /* Replay: 17–22 start at zero after a dynamic launch. */
        for (size_t i = 0; i < p.n_steps; i++) {
                const struct txt_step *s = &p.steps[i];
                r = s->component == TXT_COMPONENT_SINIT ? pcr_bank_set(&p.bank, s->pcr, s->digest, n)
                                                        : pcr_extend(&p.bank, s->pcr, s->digest, n);
                if (r < 0)
                        goto fail;
        }
        *ret = p;
        return 0;
fail:
        txt_prediction_done(&p);
        return r;
}
