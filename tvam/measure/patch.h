/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Signed configuration patches ("small updates", acTvSM §3.3): files the
 * administrator places on the store volume that the initramfs copies into the
 * overlay root after checking them.  A patch is a directory holding
 *
 *   manifest       text, one record per line:
 *                    tvam-patch 1
 *                    sequence N            (1..2^63-1; replay protection)
 *                    file MODE SHA256 PATH (octal mode, hex SHA-256, absolute
 *                                           path under /etc/)
 *   manifest.sig   signature over the manifest bytes with the administrator's
 *                  key (SHA-256; ECDSA or RSA PKCS#1 v1.5, as in the
 *                  certificate), made e.g. by
 *                  "openssl dgst -sha256 -sign admin.key -out manifest.sig manifest"
 *   files/PATH     the content of each file, checked against its SHA-256
 *
 * The certificate that verifies the signature is inside the measured base
 * image, so replacing it changes PCR 14.  Schema and policy:
 * docs/base-system.md "Configuration patches".
 */

#include <stddef.h>
#include <stdint.h>

#define PATCH_MANIFEST_MAX 65536u
#define PATCH_SIG_MAX 1024u
#define PATCH_FILES_MAX 64u
#define PATCH_FILE_SIZE_MAX (1u << 20)
#define PATCH_PATH_MAX 256u

struct patch_file {
        unsigned mode;
        uint8_t sha256[32];
        char path[PATCH_PATH_MAX]; /* absolute, under /etc/ */
};

struct patch_manifest {
        uint64_t sequence;
        size_t n_files;
        struct patch_file files[PATCH_FILES_MAX];
};

struct patch_signer;

/* Load the administrator's X.509 certificate (PEM).  -EBADMSG if it is not
 * one, -ENOENT if missing. */
int patch_signer_load(const char *cert_path, struct patch_signer **ret);
void patch_signer_free(struct patch_signer *s);

/* 0 if SIG is a valid signature of DATA by the certificate's key, -EBADMSG
 * if it is not (wrong key, altered data, malformed signature). */
int patch_verify(const struct patch_signer *s, const uint8_t *data, size_t size, const uint8_t *sig, size_t sig_size);

/* Strict parse of a manifest.  -EBADMSG with a reason in ERR (optional,
 * ERR_SIZE bytes) for anything not in the schema. */
int patch_manifest_parse(const char *text, size_t size, struct patch_manifest *ret, char *err, size_t err_size);

/* Check every file of M under PATCH_DIR/files against its digest and, if
 * ROOT is not NULL, write them into ROOT (atomically, mode from the manifest,
 * owner root).  Nothing is written unless all files check out: -EBADMSG with
 * the path and reason in ERR.  Other errors come from writing. */
int patch_apply(const struct patch_manifest *m, const char *patch_dir, const char *root, char *err, size_t err_size);
