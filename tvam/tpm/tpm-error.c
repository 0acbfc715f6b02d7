/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/tpm/tpm-error.h"

#include <errno.h>
#include <time.h>

#include <tss2/tss2_rc.h>
#include <tss2/tss2_tpm2_types.h>

#include "tvam/shared/log.h"

#define RC_LAYER_MASK UINT32_C(0xFFFF0000)

TSS2_RC tpm_rc_base(TSS2_RC rc)
{
        TSS2_RC layer = rc & RC_LAYER_MASK;

        /* Only TPM codes (layer 0, or passed through by a resource manager)
         * carry handle/session/parameter numbers. */
        if (layer != TSS2_TPM_RC_LAYER && layer != TSS2_RESMGR_TPM_RC_LAYER)
                return rc;
        rc &= ~RC_LAYER_MASK;
        /* Format-one codes (bit 7 set): the error number is bits 0–5; bit 6
         * (P) and bits 8–11 (N) say which parameter/handle/session. */
        if (rc & TPM2_RC_FMT1)
                return rc & (TPM2_RC_FMT1 | UINT32_C(0x3F));
        return rc;
}

bool tpm_rc_is_retryable(TSS2_RC rc)
{
        TSS2_RC b = tpm_rc_base(rc);
        return b == TPM2_RC_RETRY || b == TPM2_RC_YIELDED || b == TPM2_RC_TESTING;
}

void tpm_retry_sleep(unsigned attempt)
{
        struct timespec ts = {
                .tv_sec = 0,
                .tv_nsec = (long)TPM_RETRY_BACKOFF_US * 1000L * (long)(attempt + 1),
        };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static int tss_layer_to_errno(TSS2_RC rc)
{
        switch (rc & UINT32_C(0xFFFF)) { /* TSS2_BASE_RC_* without the layer */
        case TSS2_BASE_RC_MEMORY:
                return -ENOMEM;
        case TSS2_BASE_RC_IO_ERROR:
        case TSS2_BASE_RC_NO_CONNECTION:
        case TSS2_BASE_RC_MALFORMED_RESPONSE:
        case TSS2_BASE_RC_INSUFFICIENT_RESPONSE:
                return -EIO;
        case TSS2_BASE_RC_NOT_IMPLEMENTED:
        case TSS2_BASE_RC_NOT_SUPPORTED:
                return -EOPNOTSUPP;
        case TSS2_BASE_RC_TRY_AGAIN:
                return -EAGAIN;
        case TSS2_BASE_RC_BAD_VALUE:
        case TSS2_BASE_RC_BAD_REFERENCE:
        case TSS2_BASE_RC_BAD_SIZE:
        case TSS2_BASE_RC_INSUFFICIENT_BUFFER:
        case TSS2_BASE_RC_BAD_TR:
                return -EINVAL;
        case TSS2_BASE_RC_RSP_AUTH_FAILED:
                return -EBADMSG;
        default:
                return -EIO;
        }
}

int tpm_rc_to_errno(TSS2_RC rc)
{
        TSS2_RC layer = rc & RC_LAYER_MASK;

        if (rc == TSS2_RC_SUCCESS)
                return 0;
        if (layer != TSS2_TPM_RC_LAYER && layer != TSS2_RESMGR_TPM_RC_LAYER)
                return tss_layer_to_errno(rc);

        switch (tpm_rc_base(rc)) {
        case TPM2_RC_LOCKOUT:
                return -ENOLCK;

        case TPM2_RC_POLICY_FAIL:
        case TPM2_RC_PCR_CHANGED:
        case TPM2_RC_POLICY:
        case TPM2_RC_PCR:
        case TPM2_RC_EXPIRED:
        case TPM2_RC_POLICY_CC:
                return -EPERM;

        case TPM2_RC_AUTH_FAIL:
        case TPM2_RC_BAD_AUTH:
        case TPM2_RC_AUTH_MISSING:
        case TPM2_RC_AUTH_TYPE:
        case TPM2_RC_AUTH_UNAVAILABLE:
        case TPM2_RC_AUTH_CONTEXT:
        case TPM2_RC_NV_AUTHORIZATION:
                return -EACCES;

        case TPM2_RC_MEMORY:
        case TPM2_RC_OBJECT_MEMORY:
        case TPM2_RC_SESSION_MEMORY:
        case TPM2_RC_OBJECT_HANDLES:
        case TPM2_RC_SESSION_HANDLES:
                return -ENOMEM;

        case TPM2_RC_RETRY:
        case TPM2_RC_YIELDED:
        case TPM2_RC_TESTING:
                return -EAGAIN;

        case TPM2_RC_NV_RATE:
        case TPM2_RC_NV_UNAVAILABLE:
                return -EBUSY;

        case TPM2_RC_HANDLE:
        case TPM2_RC_NV_UNINITIALIZED:
        case TPM2_RC_REFERENCE_H0:
                return -ENOENT;

        case TPM2_RC_NV_DEFINED:
                return -EEXIST;

        case TPM2_RC_NV_LOCKED:
                return -EROFS;

        case TPM2_RC_NV_SPACE:
                return -ENOSPC;

        case TPM2_RC_INTEGRITY:
                return -EBADMSG;

        case TPM2_RC_COMMAND_CODE:
        case TPM2_RC_HASH:
        case TPM2_RC_CURVE:
        case TPM2_RC_SCHEME:
        case TPM2_RC_SYMMETRIC:
        case TPM2_RC_MODE:
        case TPM2_RC_KDF:
        case TPM2_RC_ASYMMETRIC:
                return -EOPNOTSUPP;

        case TPM2_RC_INITIALIZE:
        case TPM2_RC_FAILURE:
                return -EIO;

        case TPM2_RC_NV_RANGE:
        case TPM2_RC_NV_SIZE:
        case TPM2_RC_SIZE:
        case TPM2_RC_VALUE:
        case TPM2_RC_ATTRIBUTES:
        case TPM2_RC_TYPE:
        case TPM2_RC_SELECTOR:
        case TPM2_RC_KEY_SIZE:
                return -EINVAL;

        default:
                return -EIO;
        }
}

int tpm_rc_log(TSS2_RC rc, const char *what)
{
        log_debug("%s: TPM/TSS error 0x%08x: %s", what, (unsigned)rc, Tss2_RC_Decode(rc));
        return tpm_rc_to_errno(rc);
}
