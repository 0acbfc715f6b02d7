/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * tboot's Verified Launch Policy (VLP, tboot include/tb_policy.h,
 * tb_policy_t version 2).  Encoded byte-for-byte as Debian's tboot 1.10
 * tb_polgen writes it; tb_polgen --show reads ours (tested).
 *
 * Wire format, little-endian, packed:
 *   header (12 bytes)  version u8 = 2, policy_type u8, hash_alg u8
 *                      (TPM_ALG_ID, low byte), policy_control u32,
 *                      reserved u32 = 0, num_entries u8
 *   entry (8 bytes + num_hashes × hash size)
 *                      mod_num u8 (0–127 | 129 any | 130 nv | 131 nv_raw),
 *                      pcr u8 (0–23 | 255 none), hash_type u8 (0 any,
 *                      1 image), nv_index u32, num_hashes u8, hashes[]
 *
 * tboot measures a module as H( H(cmdline) || H(image) ), the command line
 * without the module's file name (vlp_module_hash).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tvam/shared/digest.h"
#include "tvam/shared/macro.h"

#define VLP_VERSION 2
#define VLP_HEADER_SIZE 12
#define VLP_ENTRY_HEADER_SIZE 8

enum vlp_type {
        VLP_TYPE_NONFATAL = 0, /* TB_POLTYPE_CONT_NON_FATAL: ignore non-fatal errors */
        VLP_TYPE_CONTINUE = 1, /* TB_POLTYPE_CONT_VERIFY_FAIL: ignore verification errors */
        VLP_TYPE_HALT = 2,     /* TB_POLTYPE_HALT: halt on any error */
        _VLP_TYPE_MAX,
};

enum vlp_hash_type {
        VLP_HASH_ANY = 0,   /* any image is accepted (still measured) */
        VLP_HASH_IMAGE = 1, /* the module must match one of the hashes */
};

#define VLP_MOD_MAX 127
#define VLP_MOD_ANY 129
#define VLP_MOD_NV 130
#define VLP_MOD_NV_RAW 131
#define VLP_PCR_MAX 23
#define VLP_PCR_NONE 255
#define VLP_CONTROL_EXTEND_PCR17 0x1u

struct vlp_entry {
        uint8_t mod_num;
        uint8_t pcr;
        uint8_t hash_type;
        uint32_t nv_index;
        uint8_t num_hashes;
        uint8_t *hashes; /* num_hashes × digest_size(alg) bytes */
};

struct vlp {
        uint8_t type;
        enum digest_alg alg;
        uint32_t control;
        uint8_t num_entries;
        struct vlp_entry *entries;
};

int vlp_new(enum vlp_type type, enum digest_alg alg, uint32_t control, struct vlp **ret);
void vlp_free(struct vlp *vlp);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vlp *, vlp_free)

/* As tb_polgen --add: add HASH (NULL for VLP_HASH_ANY) for module MOD_NUM.
 * An existing entry for MOD_NUM gets the hash appended (its pcr and
 * hash_type must agree: -EEXIST otherwise); a new entry is added last, but
 * always before an "any" entry, which tboot matches last. */
int vlp_add(struct vlp *vlp, uint8_t mod_num, uint8_t pcr, enum vlp_hash_type hash_type, const uint8_t *hash);

/* Add an NV entry (tboot measures NV index NV_INDEX into PCR). */
int vlp_add_nv(struct vlp *vlp, bool raw, uint32_t nv_index, uint8_t pcr, const uint8_t *hash);

int vlp_encode(const struct vlp *vlp, uint8_t **ret, size_t *ret_size);

/* Strict decoder: every field range-checked as tboot's verify_policy()
 * does, and the buffer must be consumed exactly.  -EBADMSG on bad input. */
int vlp_decode(const uint8_t *data, size_t size, struct vlp **ret);

/* tboot's module measurement H( H(cmdline) || H(image) ). */
int vlp_module_hash(enum digest_alg alg, const char *cmdline, const uint8_t *image_digest, uint8_t *ret);

const char *vlp_type_to_string(uint8_t type);
