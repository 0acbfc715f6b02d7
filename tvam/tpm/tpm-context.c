/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_tctildr.h>

#include "tvam/shared/log.h"
#include "tvam/tpm/tpm-internal.h"

static int context_init(struct tpm_context *c)
{
        TSS2_RC rc;

        rc = Esys_Initialize(&c->esys, c->tcti, NULL);
        if (rc != TSS2_RC_SUCCESS) {
                c->esys = NULL;
                return tpm_rc_log(rc, "Esys_Initialize");
        }
        c->srk = ESYS_TR_NONE;
        return 0;
}

int tpm_context_new_from_tcti(TSS2_TCTI_CONTEXT *tcti, struct tpm_context **ret)
{
        _cleanup_tpm_context_ struct tpm_context *c = NULL;
        int r;

        assert(tcti && ret);
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->tcti = tcti;
        c->own_tcti = false;
        r = context_init(c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

int tpm_context_new(const char *tcti, struct tpm_context **ret)
{
        _cleanup_tpm_context_ struct tpm_context *c = NULL;
        TSS2_RC rc;
        int r;

        assert(ret);
        if (!tcti)
                tcti = TPM_TCTI_DEFAULT;

        /* tpm2-tss logs errors to stderr by default; a library must not
         * print (STYLE.md §2): our own debug log carries the decoded codes.
         * An explicit TSS2_LOG from the user still wins. */
        (void)setenv("TSS2_LOG", "all+NONE", 0);

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;

        /* A TCTI that cannot even be set up means there is no TPM for us:
         * the device node is missing, or nothing listens on the socket.
         * Report that as -ENODEV, distinct from errors of a working TPM. */
        rc = Tss2_TctiLdr_Initialize(tcti, &c->tcti);
        if (rc != TSS2_RC_SUCCESS) {
                c->tcti = NULL;
                (void)tpm_rc_log(rc, "Tss2_TctiLdr_Initialize");
                log_debug("No TPM reachable through TCTI '%s'", tcti);
                return rc == TSS2_TCTI_RC_MEMORY ? -ENOMEM : -ENODEV;
        }
        c->own_tcti = true;

        r = context_init(c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

void tpm_context_free(struct tpm_context *c)
{
        if (!c)
                return;
        if (c->esys) {
                if (c->srk != ESYS_TR_NONE)
                        (void)Esys_TR_Close(c->esys, &c->srk);
                Esys_Finalize(&c->esys);
        }
        if (c->tcti && c->own_tcti)
                Tss2_TctiLdr_Finalize(&c->tcti);
        free(c);
}

int tpm_get_random(struct tpm_context *c, void *buf, size_t size)
{
        uint8_t *p = buf;

        assert(c && (buf || size == 0));
        while (size > 0) {
                _cleanup_(esys_freep) TPM2B_DIGEST *rnd = NULL;
                size_t want = size > sizeof(rnd->buffer) ? sizeof(rnd->buffer) : size;
                TSS2_RC rc;

                TPM_RETRY(rc, Esys_GetRandom(c->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, (UINT16)want,
                                      &rnd));
                if (rc != TSS2_RC_SUCCESS)
                        return tpm_rc_log(rc, "TPM2_GetRandom");
                if (rnd->size == 0 || rnd->size > want)
                        return -EIO;
                memcpy(p, rnd->buffer, rnd->size);
                explicit_bzero(rnd->buffer, rnd->size);
                p += rnd->size;
                size -= rnd->size;
        }
        return 0;
}

int tpm_tr_from_handle(struct tpm_context *c, uint32_t handle, ESYS_TR *ret)
{
        ESYS_TR tr = ESYS_TR_NONE;
        TSS2_RC rc;

        assert(c && ret);
        TPM_RETRY(rc, Esys_TR_FromTPMPublic(c->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr));
        if (rc != TSS2_RC_SUCCESS)
                return tpm_rc_log(rc, "Esys_TR_FromTPMPublic");
        *ret = tr;
        return 0;
}

int tpm_tr_set_auth(struct tpm_context *c, ESYS_TR tr, const struct secret *auth)
{
        TPM2B_AUTH a = {};
        TSS2_RC rc;

        if (auth) {
                if (auth->size > sizeof(a.buffer))
                        return -EINVAL;
                a.size = (UINT16)auth->size;
                memcpy(a.buffer, auth->data, auth->size);
        }
        rc = Esys_TR_SetAuth(c->esys, tr, &a);
        explicit_bzero(&a, sizeof(a));
        if (rc != TSS2_RC_SUCCESS)
                return tpm_rc_log(rc, "Esys_TR_SetAuth");
        return 0;
}

void tpm_tr_close(struct tpm_context *c, ESYS_TR *tr)
{
        if (*tr != ESYS_TR_NONE)
                (void)Esys_TR_Close(c->esys, tr);
        *tr = ESYS_TR_NONE;
}

void tpm_flush(struct tpm_context *c, ESYS_TR *tr)
{
        if (*tr != ESYS_TR_NONE)
                (void)Esys_FlushContext(c->esys, *tr);
        *tr = ESYS_TR_NONE;
}

int tpm_policy_session_start(struct tpm_context *c, bool trial, bool salted, ESYS_TR *ret)
{
        const TPMT_SYM_DEF sym = {
                .algorithm = TPM2_ALG_AES,
                .keyBits.aes = 128,
                .mode.aes = TPM2_ALG_CFB,
        };
        ESYS_TR srk = ESYS_TR_NONE, session = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        assert(c && ret);
        if (salted) {
                r = tpm_srk_get(c, &srk);
                if (r < 0)
                        return r;
        }
        TPM_RETRY(rc,
                Esys_StartAuthSession(c->esys, srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                        NULL, trial ? TPM2_SE_TRIAL : TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256, &session));
        if (rc != TSS2_RC_SUCCESS)
                return tpm_rc_log(rc, "TPM2_StartAuthSession");
        *ret = session;
        return 0;
}

int tpm_policy_session_digest(struct tpm_context *c, ESYS_TR session, uint8_t *ret_digest)
{
        _cleanup_(esys_freep) TPM2B_DIGEST *d = NULL;
        TSS2_RC rc;

        TPM_RETRY(rc, Esys_PolicyGetDigest(c->esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &d));
        if (rc != TSS2_RC_SUCCESS)
                return tpm_rc_log(rc, "TPM2_PolicyGetDigest");
        if (d->size != 32)
                return -EIO;
        memcpy(ret_digest, d->buffer, d->size);
        return 0;
}
