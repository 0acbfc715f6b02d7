/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The "tvam-tpm2" LUKS2 token: everything needed to unseal the secret of a
 * volume's TPM keyslot, stored in the volume's own LUKS2 header so the volume
 * is self-contained for backup and migration.  Schema: docs/luks-token.md.
 *
 * LUKS2 tokens are JSON objects in the header's JSON area with at least
 * "type" (string) and "keyslots" (array of keyslot numbers as strings)
 * (LUKS2 On-Disk Format Specification, §3.5 "tokens").  Types starting with
 * "luks2-" are reserved for cryptsetup; ours is "tvam-tpm2".
 *
 * The sealed blob is opaque here: the TPM module produces and consumes it.
 */

#include <stddef.h>
#include <stdint.h>

#include "tvam/shared/digest.h"

#define LUKS_TOKEN_TYPE "tvam-tpm2"
#define LUKS_TOKEN_VERSION 1
/* Bounds of the sealed blob: a TPM2B_PUBLIC + TPM2B_PRIVATE pair plus our
 * metadata is far below this; the LUKS2 JSON area (12 KiB by default) must
 * hold its base64 form too. */
#define LUKS_TOKEN_BLOB_MAX 6144u
#define LUKS_TOKEN_PCR_MAX 24u /* PCRs 0..23 (PC Client platform) */
/* Parsing limit for the token JSON text itself. */
#define LUKS_TOKEN_JSON_MAX 16384u

struct luks_token {
        int keyslot;              /* the TPM keyslot (0..31) the token unlocks */
        uint8_t *blob;            /* sealed object, opaque, owned */
        size_t blob_size;         /* 1..LUKS_TOKEN_BLOB_MAX */
        enum digest_alg pcr_bank; /* bank of the PCR policy */
        uint32_t pcr_mask;        /* bit i set = PCR i is in the policy */
        uint32_t policy_nv_index; /* TPM_HT_NV_INDEX handle (0x01xxxxxx), 0 = none */
        uint32_t srk_handle;      /* persistent handle (0x81xxxxxx) of the SRK */
};

/* Free what a token owns (the blob) and zero it.  Accepts NULL. */
void luks_token_done(struct luks_token *token);

/* Check the fields of TOKEN against the schema.  -EINVAL if out of range. */
int luks_token_validate(const struct luks_token *token);

/*
 * Strictly parse the JSON text of a token (SIZE bytes, need not be NUL-
 * terminated).  Errors, with *ret untouched:
 *   -EBADMSG          not a single well-formed JSON object, or bad base64
 *   -EINVAL           a field is missing, of the wrong type, out of range,
 *                     or unknown; "type" is not "tvam-tpm2"
 *   -EPROTONOSUPPORT  "tvam-version" is not a version we understand
 *   -E2BIG            SIZE > LUKS_TOKEN_JSON_MAX
 * On success the caller owns *ret (luks_token_done()).
 */
int luks_token_parse(const char *json, size_t size, struct luks_token *ret);

/* Serialize a valid TOKEN to JSON text (caller frees). */
int luks_token_format(const struct luks_token *token, char **ret_json);

/* Read the tvam-tpm2 token of the LUKS2 volume at PATH.  -ENOENT if it has
 * none, -EBADMSG/-EINVAL if it is malformed, or libcryptsetup's error
 * (e.g. -EINVAL for a device without a valid LUKS2 header). */
int luks_token_read(const char *path, struct luks_token *ret);

/* Write TOKEN as the volume's tvam-tpm2 token, replacing an existing one.
 * TOKEN->keyslot must be an active keyslot.  Nothing is written unless the
 * token validates. */
int luks_token_write(const char *path, const struct luks_token *token);

/* Same with token JSON text from elsewhere (e.g. an administrator's file):
 * it is parsed with luks_token_parse() first and refused, leaving the header
 * unchanged, unless valid. */
int luks_token_write_json(const char *path, const char *json, size_t size);

/* Strict RFC 4648 §4 base64 (standard alphabet, '=' padding required, no
 * whitespace).  Exposed for tests. */
int luks_base64_encode(const uint8_t *data, size_t size, char **ret);
int luks_base64_decode(const char *text, size_t len, uint8_t **ret, size_t *ret_size);

/* For tvam/storage/luks.c: the tvam-tpm2 token of an already loaded LUKS2
 * context and its token number.  -ENOENT if there is none. */
struct crypt_device;
int luks_token_read_cd(struct crypt_device *cd, struct luks_token *ret, int *ret_id);
/* Validate and write TOKEN into the loaded context (one header commit). */
int luks_token_write_cd(struct crypt_device *cd, const struct luks_token *token);
