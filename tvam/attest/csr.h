/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The PKCS#10 certification request a VM sends with ENDORSE (RFC 2986;
 * Terra §4.3: the VM supplies the public key it wants certified).  Only the
 * public key is taken from it: the subject and the identity of the
 * certificate come from tvamd's records, never from the guest.
 */

#include <stddef.h>
#include <stdint.h>

/*
 * Parse CSR (DER, exactly SIZE bytes, no trailing data), check its
 * self-signature (RFC 2986 §4.2: proof of possession of the private key)
 * and that the key is ECC P-256, and return the DER SubjectPublicKeyInfo
 * (malloc'd).  -EBADMSG malformed, -EPERM bad signature, -EOPNOTSUPP
 * another key type; a one-line reason in ERROR.
 */
int attest_csr_check(const uint8_t *csr, size_t size, uint8_t **ret_spki, size_t *ret_spki_size, char *error,
        size_t error_size);
