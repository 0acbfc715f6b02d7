/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/tpm/tpm-srk.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "tvam/shared/log.h"
#include "tvam/tpm/tpm-internal.h"

/* TCG Provisioning Guidance §7.5.1, "Storage Root Key" (ECC NIST P-256). */
static const TPM2B_PUBLIC srk_template = {
        .publicArea =
                {
                        .type = TPM2_ALG_ECC,
                        .nameAlg = TPM2_ALG_SHA256,
                        .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                            TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                                            TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
                        .parameters.eccDetail =
                                {
                                        .symmetric =
                                                {
                                                        .algorithm = TPM2_ALG_AES,
                                                        .keyBits.aes = 128,
                                                        .mode.aes = TPM2_ALG_CFB,
                                                },
                                        .scheme.scheme = TPM2_ALG_NULL,
                                        .curveID = TPM2_ECC_NIST_P256,
                                        .kdf.scheme = TPM2_ALG_NULL,
                                },
                },
};

static bool srk_matches_template(const TPMT_PUBLIC *p)
{
        const TPMT_PUBLIC *t = &srk_template.publicArea;
        const TPMS_ECC_PARMS *pe = &p->parameters.eccDetail, *te = &t->parameters.eccDetail;

        return p->type == t->type && p->nameAlg == t->nameAlg &&
               p->objectAttributes == t->objectAttributes && p->authPolicy.size == 0 &&
               pe->symmetric.algorithm == te->symmetric.algorithm &&
               pe->symmetric.keyBits.aes == te->symmetric.keyBits.aes &&
               pe->symmetric.mode.aes == te->symmetric.mode.aes && pe->scheme.scheme == te->scheme.scheme &&
               pe->curveID == te->curveID && pe->kdf.scheme == te->kdf.scheme;
}

/* Look up 0x81000001.  -ENOENT if nothing is there, -EEXIST if it is not our SRK. */
static int srk_lookup(struct tpm_context *c, ESYS_TR *ret)
{
        _cleanup_(esys_freep) TPM2B_PUBLIC *pub = NULL;
        ESYS_TR tr = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        r = tpm_tr_from_handle(c, TPM_SRK_HANDLE, &tr);
        if (r < 0)
                return r;
        TPM_RETRY(rc,
                Esys_ReadPublic(c->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL, NULL));
        if (rc != TSS2_RC_SUCCESS) {
                tpm_tr_close(c, &tr);
                return tpm_rc_log(rc, "TPM2_ReadPublic(SRK)");
        }
        if (!srk_matches_template(&pub->publicArea)) {
                tpm_tr_close(c, &tr);
                log_debug(
                        "Persistent handle 0x%08x does not hold a key of the SRK template", TPM_SRK_HANDLE);
                return -EEXIST;
        }
        *ret = tr;
        return 0;
}

static int srk_create(struct tpm_context *c, const struct secret *owner_auth, ESYS_TR *ret)
{
        const TPM2B_SENSITIVE_CREATE sensitive = {};
        const TPM2B_DATA outside = {};
        const TPML_PCR_SELECTION no_pcrs = {};
        ESYS_TR primary = ESYS_TR_NONE, persistent = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        r = tpm_tr_set_auth(c, ESYS_TR_RH_OWNER, owner_auth);
        if (r < 0)
                return r;
        TPM_RETRY(rc,
                Esys_CreatePrimary(c->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                        &sensitive, &srk_template, &outside, &no_pcrs, &primary, NULL, NULL, NULL, NULL));
        if (rc != TSS2_RC_SUCCESS) {
                (void)tpm_tr_set_auth(c, ESYS_TR_RH_OWNER, NULL);
                return tpm_rc_log(rc, "TPM2_CreatePrimary(SRK)");
        }

        /* TPM2_EvictControl (Part 3 §28.5) copies it to the persistent handle. */
        TPM_RETRY(rc, Esys_EvictControl(c->esys, ESYS_TR_RH_OWNER, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                              ESYS_TR_NONE, TPM_SRK_HANDLE, &persistent));
        (void)tpm_tr_set_auth(c, ESYS_TR_RH_OWNER, NULL); /* drop ESAPI's copy */
        tpm_flush(c, &primary);
        if (rc != TSS2_RC_SUCCESS)
                return tpm_rc_log(rc, "TPM2_EvictControl(SRK)");
        *ret = persistent;
        return 0;
}

int tpm_srk_get(struct tpm_context *c, ESYS_TR *ret)
{
        ESYS_TR tr = ESYS_TR_NONE;
        int r;

        assert(c && ret);
        if (c->srk == ESYS_TR_NONE) {
                r = srk_lookup(c, &tr);
                if (r == -ENOENT)
                        log_debug("No SRK at 0x%08x: provision it first", TPM_SRK_HANDLE);
                if (r < 0)
                        return r;
                c->srk = tr;
        }
        *ret = c->srk;
        return 0;
}

void tpm_srk_forget(struct tpm_context *c)
{
        assert(c);
        if (c->srk != ESYS_TR_NONE) {
                (void)Esys_TR_Close(c->esys, &c->srk);
                c->srk = ESYS_TR_NONE;
        }
}

int tpm_srk_provision(struct tpm_context *c, const struct secret *owner_auth)
{
        ESYS_TR tr = ESYS_TR_NONE;
        int r;

        assert(c);
        if (c->srk != ESYS_TR_NONE)
                return 0;
        r = srk_lookup(c, &tr);
        if (r == -ENOENT)
                r = srk_create(c, owner_auth, &tr);
        if (r < 0)
                return r;
        c->srk = tr;
        return 0;
}
