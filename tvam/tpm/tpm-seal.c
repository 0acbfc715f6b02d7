/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/tpm/tpm-seal.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>

#include "policy/pcr/policy.h"
#include "tvam/shared/log.h"
#include "tvam/tpm/tpm-internal.h"
#include "tvam/tpm/tpm-nv.h"
#include "tvam/tpm/tpm-pcr.h"

/* Like tpm_rc_log(), for a policy assertion: TPM_RC_VALUE from PolicyOR
 * (no branch matched) or PolicyAuthorizeNV (stored digest differs) means the
 * policy is not satisfied, not a malformed call. */
static int policy_rc_log(TSS2_RC rc, const char *what)
{
        int r = tpm_rc_log(rc, what);
        return tpm_rc_base(rc) == TPM2_RC_VALUE ? -EPERM : r;
}

static void diag_set(struct tpm_unseal_diag *diag, uint32_t differ, const char *fmt_suffix)
{
        char list[128];

        if (!diag)
                return;
        diag->pcr_differ = differ;
        pcr_mask_to_string(differ, list, sizeof(list));
        if (differ == 0)
                snprintf(diag->message, sizeof(diag->message), "%s", fmt_suffix);
        else
                snprintf(diag->message, sizeof(diag->message), "PCR%s %s differ%s %s",
                        (differ & (differ - 1)) ? "s" : "", list, (differ & (differ - 1)) ? "" : "s",
                        fmt_suffix);
}

/* An HMAC session salted with the SRK whose session key encrypts the first
 * command parameter (the sensitive data of TPM2_Create, Part 1 §21). */
static int encrypting_session_start(struct tpm_context *c, ESYS_TR srk, ESYS_TR *ret)
{
        const TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB};
        ESYS_TR s = ESYS_TR_NONE;
        TSS2_RC rc;

        TPM_RETRY(rc, Esys_StartAuthSession(c->esys, srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                              ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym, TPM2_ALG_SHA256, &s));
        if (rc != TSS2_RC_SUCCESS)
                return tpm_rc_log(rc, "TPM2_StartAuthSession(HMAC)");
        rc = Esys_TRSess_SetAttributes(c->esys, s, TPMA_SESSION_DECRYPT | TPMA_SESSION_CONTINUESESSION,
                TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT | TPMA_SESSION_CONTINUESESSION);
        if (rc != TSS2_RC_SUCCESS) {
                tpm_flush(c, &s);
                return tpm_rc_log(rc, "Esys_TRSess_SetAttributes");
        }
        *ret = s;
        return 0;
}

/* TPM2_Create of a sealed data object with AUTH_POLICY (Part 3 §12.1). */
static int seal_create(struct tpm_context *c, const struct secret *secret, const uint8_t auth_policy[32],
        uint8_t *ret_pub, size_t *ret_pub_size, uint8_t *ret_priv, size_t *ret_priv_size)
{
        TPM2B_SENSITIVE_CREATE sens = {};
        TPM2B_PUBLIC tmpl = {
                .publicArea =
                        {
                                .type = TPM2_ALG_KEYEDHASH,
                                .nameAlg = TPM2_ALG_SHA256,
                                /* No USERWITHAUTH: the policy is the only way in. */
                                .objectAttributes =
                                        TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_NODA,
                                .parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
                        },
        };
        const TPM2B_DATA outside = {};
        const TPML_PCR_SELECTION no_pcrs = {};
        _cleanup_(esys_freep) TPM2B_PUBLIC *pub = NULL;
        _cleanup_(esys_freep) TPM2B_PRIVATE *priv = NULL;
        ESYS_TR srk = ESYS_TR_NONE, session = ESYS_TR_NONE;
        size_t off;
        TSS2_RC rc;
        int r;

        r = tpm_srk_get(c, &srk);
        if (r < 0)
                return r;
        memcpy(tmpl.publicArea.authPolicy.buffer, auth_policy, 32);
        tmpl.publicArea.authPolicy.size = 32;
        memcpy(sens.sensitive.data.buffer, secret->data, secret->size);
        sens.sensitive.data.size = (UINT16)secret->size;

        r = encrypting_session_start(c, srk, &session);
        if (r < 0) {
                explicit_bzero(&sens, sizeof(sens));
                return r;
        }
        TPM_RETRY(rc, Esys_Create(c->esys, srk, session, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl, &outside,
                              &no_pcrs, &priv, &pub, NULL, NULL, NULL));
        explicit_bzero(&sens, sizeof(sens));
        tpm_flush(c, &session);
        if (rc != TSS2_RC_SUCCESS)
                return tpm_rc_log(rc, "TPM2_Create(sealed object)");

        off = 0;
        if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, ret_pub, TPM_BLOB_PART_MAX, &off) != TSS2_RC_SUCCESS)
                return -EIO;
        *ret_pub_size = off;
        off = 0;
        if (Tss2_MU_TPM2B_PRIVATE_Marshal(priv, ret_priv, TPM_BLOB_PART_MAX, &off) != TSS2_RC_SUCCESS)
                return -EIO;
        *ret_priv_size = off;
        return 0;
}

static int seal_common(struct tpm_context *c, const struct secret *secret, enum tpm_blob_kind kind,
        const struct pcr_bank *pcrs, uint32_t mask, uint32_t nv_index, const uint8_t auth_policy[32],
        struct tpm_blob **ret)
{
        uint8_t pub[TPM_BLOB_PART_MAX], priv[TPM_BLOB_PART_MAX];
        size_t pub_size = 0, priv_size = 0;
        int r;

        if (!secret || secret->size == 0 || secret->size > TPM_SEAL_SIZE_MAX)
                return -EINVAL;
        r = seal_create(c, secret, auth_policy, pub, &pub_size, priv, &priv_size);
        if (r < 0)
                return r;
        return tpm_blob_new(kind, pcrs, mask, nv_index, pub, pub_size, priv, priv_size, ret);
}

int tpm_seal_pcr(struct tpm_context *c, const struct secret *secret, const struct pcr_bank *pcrs,
        uint32_t mask, struct tpm_blob **ret)
{
        struct policy p;
        int r;

        assert(c && pcrs && ret);
        r = policy_init(&p, DIGEST_SHA256);
        if (r < 0)
                return r;
        r = policy_pcr_bank(&p, pcrs, mask);
        if (r < 0)
                return r;
        return seal_common(c, secret, TPM_BLOB_PCR, pcrs, mask, 0, p.digest, ret);
}

int tpm_seal_authorize_nv(struct tpm_context *c, const struct secret *secret, const struct tpm_policy_nv *nv,
        struct tpm_blob **ret)
{
        uint8_t name[POLICY_NAME_MAX];
        size_t name_size = 0;
        uint32_t attrs = 0;
        uint16_t size = 0;
        struct policy p;
        int r;

        assert(c && nv && ret);
        r = tpm_nv_read_public(c, nv->policy_index, &attrs, &size, NULL, NULL, name, &name_size);
        if (r < 0)
                return r;
        /* Only bind to a provisioned policy index (tpm_policy_nv_provision). */
        if ((attrs & ~TPM_NV_ATTR_WRITTEN) != TPM_NV_POLICY_ATTRS || size != TPM_NV_POLICY_SIZE)
                return -EINVAL;
        /* The Name changes when the index is first written: bind to the final one. */
        if (!(attrs & TPM_NV_ATTR_WRITTEN))
                return -ENOENT;
        r = policy_init(&p, DIGEST_SHA256);
        if (r < 0)
                return r;
        r = policy_authorize_nv(&p, name, name_size);
        if (r < 0)
                return r;
        return seal_common(c, secret, TPM_BLOB_AUTHORIZE_NV, NULL, 0, nv->policy_index, p.digest, ret);
}

static int blob_load(struct tpm_context *c, const struct tpm_blob *blob, ESYS_TR *ret)
{
        TPM2B_PUBLIC pub = {};
        TPM2B_PRIVATE priv = {};
        ESYS_TR srk = ESYS_TR_NONE, obj = ESYS_TR_NONE;
        size_t off = 0;
        TSS2_RC rc;
        int r;

        if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(blob->public_area, blob->public_size, &off, &pub) !=
                TSS2_RC_SUCCESS)
                return -EBADMSG;
        off = 0;
        if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(blob->private_area, blob->private_size, &off, &priv) !=
                TSS2_RC_SUCCESS)
                return -EBADMSG;
        r = tpm_srk_get(c, &srk);
        if (r < 0)
                return r;
        TPM_RETRY(rc,
                Esys_Load(c->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &priv, &pub, &obj));
        if (rc != TSS2_RC_SUCCESS)
                return tpm_rc_log(rc, "TPM2_Load(sealed object)");
        *ret = obj;
        return 0;
}

/* Which of STATES the current PCRs satisfy; else -EPERM with the PCRs that
 * differ from the closest state in DIAG. */
static int states_match(struct tpm_context *c, const struct tpm_pcr_state *states, size_t n_states,
        struct tpm_unseal_diag *diag, size_t *ret_index)
{
        /* One TPM2_PCR_Read per bank for the union of all states' PCRs. */
        struct pcr_bank banks[4];
        size_t n_banks = 0;
        uint32_t best_differ = 0;
        int best = -1, r;

        for (size_t i = 0; i < n_states; i++) {
                const struct pcr_bank *now = NULL;
                uint32_t differ = 0;

                for (size_t k = 0; k < n_banks; k++)
                        if (banks[k].alg == states[i].pcrs.alg)
                                now = &banks[k];
                if (!now) {
                        uint32_t all = 0;

                        if (n_banks >= ELEMENTSOF(banks))
                                return -EINVAL;
                        for (size_t j = 0; j < n_states; j++)
                                if (states[j].pcrs.alg == states[i].pcrs.alg)
                                        all |= states[j].mask;
                        r = tpm_pcr_read(c, states[i].pcrs.alg, all, &banks[n_banks]);
                        if (r < 0)
                                return r;
                        now = &banks[n_banks++];
                }
                r = pcr_bank_diff(now, &states[i].pcrs, states[i].mask, &differ);
                if (r < 0)
                        return r;
                if (differ == 0) {
                        *ret_index = i;
                        return 0;
                }
                if (best < 0 || __builtin_popcount(differ) < __builtin_popcount(best_differ)) {
                        best = (int)i;
                        best_differ = differ;
                }
        }
        diag_set(diag, best_differ, "from every authorized state");
        log_debug("No authorized state matches the current PCRs");
        return -EPERM;
}

static int run_pcr_branch(struct tpm_context *c, ESYS_TR session, enum digest_alg alg, uint32_t mask)
{
        const TPM2B_DIGEST current = {}; /* empty: the TPM uses the current PCR values */
        TPML_PCR_SELECTION sel;
        TSS2_RC rc;

        tpm_pcr_selection_set(&sel, alg, mask);
        TPM_RETRY(rc,
                Esys_PolicyPCR(c->esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &current, &sel));
        if (rc != TSS2_RC_SUCCESS)
                return policy_rc_log(rc, "TPM2_PolicyPCR");
        return 0;
}

/* PolicyPCR(branch) → PolicyOR per tree level → PolicyAuthorizeNV. */
static int run_authorize_nv(struct tpm_context *c, ESYS_TR session, const struct tpm_blob *blob,
        const struct tpm_pcr_state *states, size_t n_states, struct tpm_unseal_diag *diag)
{
        _cleanup_free_ uint8_t *branches = NULL;
        struct policy_or_step steps[POLICY_OR_DEPTH_MAX];
        size_t index = 0, n_steps = 0;
        uint8_t root[32];
        ESYS_TR nv = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        if (!states || n_states == 0 || n_states > POLICY_OR_BRANCHES_MAX)
                return -EINVAL;
        r = states_match(c, states, n_states, diag, &index);
        if (r < 0)
                return r;

        branches = malloc(32 * n_states);
        if (!branches)
                return -ENOMEM;
        for (size_t i = 0; i < n_states; i++) {
                struct policy p;
                r = policy_init(&p, DIGEST_SHA256);
                if (r >= 0)
                        r = policy_pcr_bank(&p, &states[i].pcrs, states[i].mask);
                if (r < 0)
                        return r;
                memcpy(branches + 32 * i, p.digest, 32);
        }
        r = policy_or_tree(DIGEST_SHA256, branches, n_states, index, steps, &n_steps, root);
        if (r < 0)
                return r;

        r = run_pcr_branch(c, session, states[index].pcrs.alg, states[index].mask);
        if (r < 0)
                return r;
        for (size_t s = 0; s < n_steps; s++) {
                TPML_DIGEST list = {.count = (UINT32)steps[s].n};
                for (size_t k = 0; k < steps[s].n; k++) {
                        list.digests[k].size = 32;
                        memcpy(list.digests[k].buffer, steps[s].digests + 32 * k, 32);
                }
                TPM_RETRY(rc,
                        Esys_PolicyOR(c->esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &list));
                if (rc != TSS2_RC_SUCCESS)
                        return policy_rc_log(rc, "TPM2_PolicyOR");
        }

        /* Part 3 §23.22: the TPM compares policyDigest with the index
         * content, read with the index's (empty) authValue. */
        r = tpm_tr_from_handle(c, blob->nv_index, &nv);
        if (r < 0)
                return r;
        TPM_RETRY(rc, Esys_PolicyAuthorizeNV(
                              c->esys, nv, nv, session, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE));
        tpm_tr_close(c, &nv);
        if (rc != TSS2_RC_SUCCESS) {
                r = policy_rc_log(rc, "TPM2_PolicyAuthorizeNV");
                if (r == -EPERM && diag)
                        snprintf(diag->message, sizeof(diag->message),
                                "NV index 0x%08x does not authorize the current state (not yet authorized, "
                                "revoked or replaced)",
                                blob->nv_index);
                return r;
        }
        return 0;
}

/* After TPM2_Unseal/PolicyPCR refused a PolicyPCR blob: which PCRs moved? */
static void diagnose_pcr_blob(
        struct tpm_context *c, const struct tpm_blob *blob, struct tpm_unseal_diag *diag)
{
        struct pcr_bank now;
        uint32_t differ = 0;

        if (!diag)
                return;
        if (tpm_pcr_read(c, blob->pcrs.alg, blob->pcr_mask, &now) < 0 ||
                pcr_bank_diff(&now, &blob->pcrs, blob->pcr_mask, &differ) < 0) {
                diag_set(diag, 0, "policy not satisfied (current PCRs unreadable)");
                return;
        }
        diag_set(diag, differ, differ ? "from the sealed policy" : "policy not satisfied");
}

int tpm_unseal(struct tpm_context *c, const struct tpm_blob *blob, const struct tpm_pcr_state *states,
        size_t n_states, struct tpm_unseal_diag *diag, struct secret **ret)
{
        _cleanup_(esys_freep) TPM2B_SENSITIVE_DATA *data = NULL;
        _cleanup_secret_ struct secret *s = NULL;
        ESYS_TR session = ESYS_TR_NONE, obj = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        assert(c && blob && ret);
        if (diag)
                *diag = (struct tpm_unseal_diag){};

        r = blob_load(c, blob, &obj);
        if (r < 0)
                return r;
        r = tpm_policy_session_start(c, false, true, &session);
        if (r < 0)
                goto out;
        /* Encrypt the response parameter: the secret never crosses the bus in clear. */
        rc = Esys_TRSess_SetAttributes(c->esys, session, TPMA_SESSION_ENCRYPT, TPMA_SESSION_ENCRYPT);
        if (rc != TSS2_RC_SUCCESS) {
                r = tpm_rc_log(rc, "Esys_TRSess_SetAttributes");
                goto out;
        }

        if (blob->kind == TPM_BLOB_PCR)
                r = run_pcr_branch(c, session, blob->pcrs.alg, blob->pcr_mask);
        else
                r = run_authorize_nv(c, session, blob, states, n_states, diag);
        if (r < 0)
                goto fail;

        TPM_RETRY(rc, Esys_Unseal(c->esys, obj, session, ESYS_TR_NONE, ESYS_TR_NONE, &data));
        if (rc != TSS2_RC_SUCCESS) {
                r = tpm_rc_log(rc, "TPM2_Unseal");
                goto fail;
        }
        r = secret_new_from(data->buffer, data->size, &s);
        explicit_bzero(data->buffer, data->size);
        if (r < 0)
                goto out;
        *ret = TAKE_PTR(s);
        r = 0;
        goto out;

fail:
        if (r == -EPERM && blob->kind == TPM_BLOB_PCR)
                diagnose_pcr_blob(c, blob, diag);
        if (r == -EPERM && blob->kind == TPM_BLOB_AUTHORIZE_NV && diag && !diag->message[0])
                snprintf(diag->message, sizeof(diag->message),
                        "NV index 0x%08x is not the one this object was sealed to (redefined?)",
                        blob->nv_index);
        if (r == -EPERM && diag && diag->message[0])
                log_debug("Unseal refused: %s", diag->message);
out:
        tpm_flush(c, &session);
        tpm_flush(c, &obj);
        return r;
}
