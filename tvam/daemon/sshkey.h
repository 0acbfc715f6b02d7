/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The Update-Mode SSH host key in OpenSSH's formats (docs/base-system.md
 * "Modes").  TVAM seals only the 32-byte Ed25519 seed (RFC 8032 §5.1.5): a
 * TPM sealed data object holds at most 128 bytes (TPM2B_SENSITIVE_DATA), an
 * OpenSSH private key file is about 400.  Everything else — the public key,
 * the private key file sshd reads, the fingerprint — is derived from the
 * seed, so the same sealed seed always gives byte-identical files.
 */

#include <stddef.h>
#include <stdint.h>

#define SSHKEY_SEED_SIZE 32u
#define SSHKEY_PUBLIC_SIZE 32u
/* "256 SHA256:<43 base64 characters> COMMENT (ED25519)" */
#define SSHKEY_FINGERPRINT_MAX 192u
#define SSHKEY_COMMENT "tvam-update-mode"

/* The Ed25519 public key of SEED. */
int sshkey_public(const uint8_t seed[SSHKEY_SEED_SIZE], uint8_t ret[SSHKEY_PUBLIC_SIZE]);

/* The fingerprint as `ssh-keygen -l` prints it:
 * "256 SHA256:<unpadded base64 of SHA-256(public key blob)> COMMENT (ED25519)". */
int sshkey_fingerprint(const uint8_t pub[SSHKEY_PUBLIC_SIZE], const char *comment, char *ret, size_t size);

/* The public key line "ssh-ed25519 AAAA... COMMENT\n" (caller frees). */
int sshkey_format_public(const uint8_t pub[SSHKEY_PUBLIC_SIZE], const char *comment, char **ret);

/* Parse a public key line "ssh-ed25519 BASE64 [COMMENT]". */
int sshkey_parse_public(const char *line, uint8_t ret[SSHKEY_PUBLIC_SIZE]);

/* The unencrypted private key file ("-----BEGIN OPENSSH PRIVATE KEY-----",
 * OpenSSH PROTOCOL.key).  It holds the secret: free it with
 * erase_and_free(*ret, *ret_size). */
int sshkey_format_private(const uint8_t seed[SSHKEY_SEED_SIZE], const char *comment, char **ret, size_t *ret_size);
