/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The end of the attestation chain: a TLS 1.3 session with a VM whose
 * certificate the platform issued by ENDORSE (Terra §4.3; docs/attestation.md
 * "TLS demo").  The peer's certificate is checked during the handshake by
 * verify_vm_certificate() against the platform key the verifier accepted
 * (verify_platform_key()), not against any CA: the handshake fails unless it
 * chains EK CA → AK → platform key → VM certificate → identity in the
 * manifest, and TLS 1.3's CertificateVerify proves the VM holds the key.
 * The session key is then a secret shared with exactly that VM.
 */

#include <stddef.h>

#include "tvam/verify/crypto.h"
#include "tvam/verify/verify.h"

#define VERIFY_TLS_REPLY_MAX 1024u

/*
 * Connect to the Unix socket SOCKET_PATH (the host end of the VM's TLS
 * port), do the handshake, send MESSAGE, read one reply.  On success the
 * peer's identity, its certificate's SHA-256 fingerprint (hex) and the
 * reply.  -EPERM: the peer was not accepted (reason in ERROR); other
 * errors: the session could not run.
 */
int verify_tls_session(const char *socket_path, struct crypto_key *platform_key, const struct verify_manifest *m,
        const char *message, char *ret_identity, size_t identity_size, char ret_fingerprint[65], char *ret_reply,
        size_t reply_size, char *error, size_t error_size);
