/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The one adapter from tpm2-tss return codes (TSS2_RC) to negative errno
 * (STYLE.md §3).  Nothing outside tvam/tpm sees a TSS2_RC.  The mapping is
 * documented in docs/tpm.md ("Error mapping"):
 *
 *   TPM_RC_LOCKOUT                                  -ENOLCK   DA lockout
 *   TPM_RC_POLICY_FAIL, _PCR_CHANGED, _POLICY,
 *   _EXPIRED, _PCR                                  -EPERM    policy/PCR mismatch
 *   TPM_RC_AUTH_FAIL, _BAD_AUTH, _AUTH_MISSING,
 *   _AUTH_TYPE, _AUTH_UNAVAILABLE, _NV_AUTHORIZATION -EACCES  bad authorization
 *   TPM_RC_MEMORY, _OBJECT_MEMORY, _SESSION_MEMORY,
 *   TSS2_BASE_RC_MEMORY                             -ENOMEM
 *   TPM_RC_RETRY, _YIELDED, _TESTING (after retries) -EAGAIN
 *   TPM_RC_NV_RATE, _NV_UNAVAILABLE                 -EBUSY
 *   TPM_RC_HANDLE, _NV_UNINITIALIZED, _REFERENCE_*  -ENOENT
 *   TPM_RC_NV_DEFINED                               -EEXIST
 *   TPM_RC_NV_LOCKED                                -EROFS
 *   TPM_RC_NV_RANGE, _NV_SIZE, _SIZE, _VALUE, ...   -EINVAL
 *   TPM_RC_INTEGRITY                                -EBADMSG  blob tampered / wrong parent
 *   TPM_RC_COMMAND_CODE, _HASH, _CURVE, _SCHEME ... -EOPNOTSUPP
 *   TSS2 I/O errors on an open TPM                  -EIO
 *   TCTI cannot be opened (no device, no server)    -ENODEV  (tpm_context_new only)
 *   anything else                                   -EIO
 */

#include <stdbool.h>
#include <stdint.h>

#include <tss2/tss2_common.h>

/* How often tvam/tpm resubmits a command the TPM answered with
 * TPM_RC_RETRY / TPM_RC_YIELDED / TPM_RC_TESTING (Part 2 §6.6.3: "the TPM
 * was not able to start the command; retry"), on top of ESAPI's own
 * immediate resubmissions, with a growing back-off. */
#define TPM_RETRY_MAX 10u
#define TPM_RETRY_BACKOFF_US 2000u

/* The TPM response code with the handle/session/parameter number bits
 * masked off (Part 2 §6.6.2), so it compares equal to TPM2_RC_*; layer-free
 * codes from a resource manager are reduced the same way.  Non-TPM layers
 * (ESAPI, MU, TCTI) are returned unchanged. */
TSS2_RC tpm_rc_base(TSS2_RC rc);

bool tpm_rc_is_retryable(TSS2_RC rc);

/* Map RC (non-zero) to a negative errno.  Pure: no logging. */
int tpm_rc_to_errno(TSS2_RC rc);

/* Log WHAT and the decoded RC (Tss2_RC_Decode) at debug level and return
 * tpm_rc_to_errno(rc). */
int tpm_rc_log(TSS2_RC rc, const char *what);

/* Run the ESAPI call EXPR, resubmitting while it reports a retryable code. */
void tpm_retry_sleep(unsigned attempt);
#define TPM_RETRY(rc, expr)                                                                                 \
        do {                                                                                                \
                for (unsigned _attempt = 0;; _attempt++) {                                                  \
                        (rc) = (expr);                                                                      \
                        if (!tpm_rc_is_retryable(rc) || _attempt >= TPM_RETRY_MAX)                          \
                                break;                                                                      \
                        tpm_retry_sleep(_attempt);                                                          \
                }                                                                                           \
        } while (0)
