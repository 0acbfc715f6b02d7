/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/tpm/tpm-pcr.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "tvam/tpm/tpm-internal.h"

int tpm_pcr_bank_available(struct tpm_context *c, enum digest_alg alg)
{
        _cleanup_(esys_freep) TPMS_CAPABILITY_DATA *cap = NULL;
        TPMI_YES_NO more = TPM2_NO;
        TSS2_RC rc;

        assert(c);
        /* TPM2_GetCapability(TPM_CAP_PCRS) lists the allocated banks (Part 3 §30.2). */
        TPM_RETRY(rc, Esys_GetCapability(c->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_PCRS, 0,
                              1, &more, &cap));
        if (rc != TSS2_RC_SUCCESS)
                return tpm_rc_log(rc, "TPM2_GetCapability(PCRS)");
        for (UINT32 i = 0; i < cap->data.assignedPCR.count; i++) {
                const TPMS_PCR_SELECTION *s = &cap->data.assignedPCR.pcrSelections[i];
                if (s->hash != (TPMI_ALG_HASH)alg)
                        continue;
                for (unsigned j = 0; j < s->sizeofSelect; j++)
                        if (s->pcrSelect[j] != 0)
                                return 1;
        }
        return 0;
}

void tpm_pcr_selection_set(TPML_PCR_SELECTION *sel, enum digest_alg alg, uint32_t mask)
{
        memset(sel, 0, sizeof(*sel));
        sel->count = 1;
        sel->pcrSelections[0].hash = (TPMI_ALG_HASH)alg;
        sel->pcrSelections[0].sizeofSelect = 3;
        sel->pcrSelections[0].pcrSelect[0] = (uint8_t)mask;
        sel->pcrSelections[0].pcrSelect[1] = (uint8_t)(mask >> 8);
        sel->pcrSelections[0].pcrSelect[2] = (uint8_t)(mask >> 16);
}

static uint32_t selection_mask(const TPML_PCR_SELECTION *sel, enum digest_alg alg)
{
        uint32_t mask = 0;

        for (UINT32 i = 0; i < sel->count; i++) {
                const TPMS_PCR_SELECTION *s = &sel->pcrSelections[i];
                if (s->hash != (TPMI_ALG_HASH)alg)
                        continue;
                for (unsigned j = 0; j < s->sizeofSelect && j < 3; j++)
                        mask |= (uint32_t)s->pcrSelect[j] << (8 * j);
        }
        return mask;
}

int tpm_pcr_read(struct tpm_context *c, enum digest_alg alg, uint32_t mask, struct pcr_bank *ret_bank)
{
        struct pcr_bank bank;
        uint32_t remaining = mask;
        int r;

        assert(c && ret_bank);
        if (mask == 0 || (mask & ~PCR_MASK_ALL))
                return -EINVAL;
        r = pcr_bank_init(&bank, alg);
        if (r < 0)
                return r;

        /* TPM2_PCR_Read returns at most 8 digests per call and clears the
         * bits it did not return in pcrSelectionOut (Part 3 §22.4). */
        while (remaining != 0) {
                _cleanup_(esys_freep) TPML_PCR_SELECTION *out_sel = NULL;
                _cleanup_(esys_freep) TPML_DIGEST *values = NULL;
                TPML_PCR_SELECTION in_sel;
                uint32_t got;
                unsigned k = 0;
                UINT32 counter;
                TSS2_RC rc;

                tpm_pcr_selection_set(&in_sel, alg, remaining);
                TPM_RETRY(rc, Esys_PCR_Read(c->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &in_sel,
                                      &counter, &out_sel, &values));
                if (rc != TSS2_RC_SUCCESS)
                        return tpm_rc_log(rc, "TPM2_PCR_Read");
                got = selection_mask(out_sel, alg) & remaining;
                if (got == 0)
                        return -EOPNOTSUPP; /* bank not allocated */
                for (unsigned i = 0; i < PCR_COUNT; i++) {
                        if (!(got & (UINT32_C(1) << i)))
                                continue;
                        if (k >= values->count)
                                return -EIO;
                        r = pcr_bank_set(&bank, i, values->digests[k].buffer, values->digests[k].size);
                        if (r < 0)
                                return -EIO;
                        k++;
                }
                remaining &= ~got;
        }
        *ret_bank = bank;
        return 0;
}

int tpm_pcr_extend(struct tpm_context *c, unsigned pcr, enum digest_alg alg, const uint8_t *digest)
{
        TPML_DIGEST_VALUES values = {};
        size_t n = digest_size(alg);
        TSS2_RC rc;

        assert(c && digest);
        if (!pcr_index_valid(pcr) || n == 0)
                return -EINVAL;
        values.count = 1;
        values.digests[0].hashAlg = (TPMI_ALG_HASH)alg;
        memcpy(&values.digests[0].digest, digest, n);

        TPM_RETRY(rc, Esys_PCR_Extend(c->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                              ESYS_TR_NONE, &values));
        if (rc != TSS2_RC_SUCCESS)
                return tpm_rc_log(rc, "TPM2_PCR_Extend");
        return 0;
}
