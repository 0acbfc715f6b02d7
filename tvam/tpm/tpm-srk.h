/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The Storage Root Key: an ECC P-256 restricted decryption primary key under
 * the owner hierarchy, made persistent at 0x81000001 (TCG TPM v2.0
 * Provisioning Guidance §7.5.1; the handle systemd also uses).  Every sealed
 * object of TVAM is a child of it.
 */

#include <stdint.h>

#include "tvam/shared/secret.h"
#include "tvam/tpm/tpm-context.h"

#define TPM_SRK_HANDLE UINT32_C(0x81000001)

/*
 * Make sure the SRK exists: if 0x81000001 holds an object, verify that its
 * public area matches the SRK template (type, nameAlg, attributes,
 * parameters) and use it; otherwise create the primary and persist it with
 * TPM2_EvictControl, authorized by OWNER_AUTH (NULL = empty).
 *
 * Idempotent.  -EEXIST when a different object occupies the handle (it is
 * never evicted: it may belong to someone else).
 */
int tpm_srk_provision(struct tpm_context *c, const struct secret *owner_auth);

/* Drop the cached SRK handle, so the next use looks it up (and verifies it)
 * again.  tvamd calls this per request: the owner may have cleared the TPM
 * (tpm2_clear: new storage hierarchy) since the last one. */
void tpm_srk_forget(struct tpm_context *c);
