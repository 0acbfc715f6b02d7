/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Intel TXT Launch Control Policy for TPM 2.0 (Intel TXT Software
 * Development Guide, Appendix D "LCP Data Structures"; tboot
 * include/lcp3.h): the platform owner's policy (LCP_POLICY_2, version 3.0)
 * that SINIT reads from NV and the policy data file (LCP_POLICY_DATA2)
 * with its unsigned policy lists (LCP_POLICY_LIST2, version 2.0) of
 * elements; TVAM writes one MLE2 element listing the allowed tboot (MLE)
 * hashes.  Byte-for-byte what Debian's tboot 1.10.5 lcp2_crtpolelt,
 * lcp2_crtpollist --listver 0x200 and lcp2_crtpol write (tested).
 *
 * All integers little-endian, structures packed:
 *   element      size u32, type u32 (0x10 = MLE2), control u32, data
 *   MLE2 data    sinit_min_version u8, reserved u8, hash_alg u16,
 *                num_hashes u16, hashes[num × digest size]
 *   list v2.0    version u16 = 0x0200, sig_alg u16 = 0x0010 (TPM_ALG_NULL:
 *                unsigned), policy_elements_size u32, elements
 *   policy data  file_signature[32] "Intel(R) TXT LCP_POLICY_DATA" NUL-
 *                padded, reserved[3], num_lists u8, lists
 *   policy v3.0  version u16 = 0x0300, hash_alg u16, policy_type u8
 *                (0 list, 1 any), sinit_min_version u8,
 *                data_revocation_counters u16[8], policy_control u32,
 *                max_sinit_min_ver u8, max_biosac_min_ver u8,
 *                lcp_hash_alg_mask u16, lcp_sign_alg_mask u32,
 *                aux_hash_alg_mask u16, reserved u16, policy_hash[digest]
 *
 * policy_hash (type list) = H(H(list 1) || … || H(list n)) for unsigned
 * lists; all zeros for type any.
 */

#include <stddef.h>
#include <stdint.h>

#include "tvam/shared/digest.h"
#include "tvam/shared/macro.h"

#define LCP_POLICY_VERSION_3_0 0x0300
#define LCP_LIST_VERSION_2_0 0x0200
#define LCP_ALG_NULL 0x0010
#define LCP_ELEMENT_MLE2 0x10u
#define LCP_MAX_LISTS 8u
#define LCP_POLICY_DATA_SIGNATURE "Intel(R) TXT LCP_POLICY_DATA"

enum lcp_policy_type {
        LCP_POLICY_TYPE_LIST = 0,
        LCP_POLICY_TYPE_ANY = 1,
};

/* lcp_hash_alg_mask / aux_hash_alg_mask bits (SDG Table D-2). */
#define LCP_HASH_MASK_SHA1 0x0001u
#define LCP_HASH_MASK_SHA256 0x0008u
#define LCP_HASH_MASK_SHA384 0x0040u
#define LCP_HASH_MASK_SHA512 0x0080u

/* lcp_sign_alg_mask bits (SDG Table D-3). */
#define LCP_SIGN_RSA2048_SHA1 0x00000004u
#define LCP_SIGN_RSA2048_SHA256 0x00000008u
#define LCP_SIGN_RSA3072_SHA256 0x00000040u
#define LCP_SIGN_RSA3072_SHA384 0x00000080u
#define LCP_SIGN_ECDSA_P256 0x00001000u
#define LCP_SIGN_ECDSA_P384 0x00002000u
#define LCP_SIGN_SM2 0x00010000u

struct lcp_policy {
        enum digest_alg alg;
        uint8_t type;
        uint8_t sinit_min_version;
        uint16_t revocation[LCP_MAX_LISTS];
        uint32_t control;
        uint8_t max_sinit_min_version; /* lcp2_crtpol default 0xff */
        uint8_t max_biosac_min_version;
        uint16_t hash_mask;
        uint32_t sign_mask;
        uint16_t aux_mask;
        uint8_t policy_hash[DIGEST_MAX_SIZE];
};

/* An element of a list, kept as its encoded bytes (type read from them). */
struct lcp_element {
        uint32_t type;
        uint32_t control;
        uint8_t *data; /* everything after the 12-byte header */
        size_t data_size;
};

struct lcp_list {
        size_t n_elements;
        struct lcp_element *elements;
};

struct lcp_policy_data {
        size_t n_lists;
        struct lcp_list lists[LCP_MAX_LISTS];
};

void lcp_policy_data_free(struct lcp_policy_data *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct lcp_policy_data *, lcp_policy_data_free)

/* The mask bit of ALG (0 if none). */
uint16_t lcp_hash_mask_of(enum digest_alg alg);
/* lcp2_crtpol's --sign names ("rsa-2048-sha256", "ecdsa-p256", …). */
int lcp_sign_mask_from_string(const char *name, uint32_t *ret);

/* A new MLE2 element allowing N_HASHES hashes of ALG (HASHES contiguous),
 * appended to LIST. */
int lcp_list_add_mle(struct lcp_list *list, enum digest_alg alg, uint8_t sinit_min_version, uint32_t control,
        const uint8_t *hashes, size_t n_hashes);

int lcp_element_encode(const struct lcp_element *e, uint8_t **ret, size_t *ret_size);
int lcp_list_encode(const struct lcp_list *l, uint8_t **ret, size_t *ret_size);
int lcp_policy_data_encode(const struct lcp_policy_data *d, uint8_t **ret, size_t *ret_size);

/* policy_hash of a type-list policy over D's (unsigned) lists. */
int lcp_policy_data_hash(const struct lcp_policy_data *d, enum digest_alg alg, uint8_t *ret);

int lcp_policy_encode(const struct lcp_policy *p, uint8_t **ret, size_t *ret_size);

/* Strict decoders: every length checked, reserved fields zero, buffer
 * consumed exactly; MLE2 elements are checked field by field (other
 * element types are kept opaque).  -EBADMSG on bad input. */
int lcp_policy_decode(const uint8_t *data, size_t size, struct lcp_policy *ret);
int lcp_policy_data_decode(const uint8_t *data, size_t size, struct lcp_policy_data **ret);
