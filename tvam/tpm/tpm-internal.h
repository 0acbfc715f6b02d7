/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Shared by the files of tvam/tpm only; never included from outside. */

#include <stdbool.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tcti.h>

#include "tvam/shared/digest.h"
#include "tvam/shared/secret.h"
#include "tvam/tpm/tpm-context.h"
#include "tvam/tpm/tpm-error.h"

/* ESAPI output buffers are released with Esys_Free(). */
static inline void esys_freep(void *p)
{
        Esys_Free(*(void **)p);
}

struct tpm_context {
        ESYS_CONTEXT *esys;
        TSS2_TCTI_CONTEXT *tcti;
        bool own_tcti; /* finalize TCTI with the context */
        ESYS_TR srk;   /* verified SRK, ESYS_TR_NONE until looked up */
};

/* Wrap an already initialised TCTI (e.g. a fault-injecting one in the unit
 * tests).  The context does not take ownership of TCTI. */
int tpm_context_new_from_tcti(TSS2_TCTI_CONTEXT *tcti, struct tpm_context **ret);

/* The SRK as an ESYS_TR, looked up and verified once per context. */
int tpm_srk_get(struct tpm_context *c, ESYS_TR *ret);

/* ESYS_TR for a TPM handle (persistent object, NV index).  Caller closes. */
int tpm_tr_from_handle(struct tpm_context *c, uint32_t handle, ESYS_TR *ret);

/* Set the authValue ESAPI uses for TR (NULL = empty). */
int tpm_tr_set_auth(struct tpm_context *c, ESYS_TR tr, const struct secret *auth);

void tpm_tr_close(struct tpm_context *c, ESYS_TR *tr);
void tpm_flush(struct tpm_context *c, ESYS_TR *tr);

/* A policy (or trial) session, salted with the SRK when SALTED so that
 * parameter encryption protects secrets on the bus (Part 1 §21). */
int tpm_policy_session_start(struct tpm_context *c, bool trial, bool salted, ESYS_TR *ret);

/* A TPML_PCR_SELECTION of one bank, sizeofSelect = 3 (as policy/pcr models it). */
void tpm_pcr_selection_set(TPML_PCR_SELECTION *sel, enum digest_alg alg, uint32_t mask);

int tpm_policy_session_digest(struct tpm_context *c, ESYS_TR session, uint8_t *ret_digest);
