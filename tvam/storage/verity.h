/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * dm-verity image identities (issue 4 item 2, docs/storage-crypt.md).
 *
 * A read-only image gets a SHA-256 hash tree (dm-verity format version 1,
 * 4096-byte data and hash blocks, a 32-byte salt, a verity superblock at the
 * start of the hash area) either on a separate device or after the data on
 * the same device.  The root hash is the image's identity: it is what TVAM
 * measures into PCR 13 and what a verifier compares with its manifest.
 *
 * Layout and parameters are those of veritysetup(8): an image formatted here
 * opens with `veritysetup open` and vice versa.
 */

#include <stddef.h>
#include <stdint.h>

#define VERITY_ROOT_HASH_SIZE 32u /* sha256 */
#define VERITY_BLOCK_SIZE 4096u
#define VERITY_SALT_SIZE 32u

struct verity_params {
        /* Byte offset of the hash area (superblock first) in the hash device,
         * a multiple of VERITY_BLOCK_SIZE.  When the hash device is the data
         * device it must be >= the data size. */
        uint64_t hash_offset;
        /* Bytes of data protected, a multiple of VERITY_BLOCK_SIZE; 0 = the
         * whole data device (only with a separate hash device). */
        uint64_t data_size;
        /* Salt of VERITY_SALT_SIZE bytes, or NULL for a random one. */
        const uint8_t *salt;
};

/* Build the hash tree of DATA into HASH (may be the same path, see
 * hash_offset) and return the root hash.  P may be NULL (separate hash
 * device, whole data device, random salt). */
int verity_format(const char *data, const char *hash, const struct verity_params *p,
        uint8_t ret_root_hash[VERITY_ROOT_HASH_SIZE]);

/* Parse a root hash given as hex text: -EINVAL unless it encodes exactly
 * VERITY_ROOT_HASH_SIZE bytes. */
int verity_root_hash_from_hex(const char *text, uint8_t ret[VERITY_ROOT_HASH_SIZE]);

/*
 * Map DATA read-only as /dev/mapper/NAME, verified against ROOT_HASH
 * (ROOT_HASH_SIZE must be VERITY_ROOT_HASH_SIZE, else -EINVAL before
 * anything is touched).  Verification is lazy: the kernel checks each block
 * against the tree when it is read, and a block that does not match reads as
 * an I/O error (EIO) — Terra's "optimistic attestation".  A root hash that
 * does not match the tree is refused here already (-EPERM, mapping removed):
 * the first data block is read once through the new mapping.
 */
int verity_open(const char *name, const char *data, const char *hash, uint64_t hash_offset,
        const uint8_t *root_hash, size_t root_hash_size);

/*
 * Eager ("ahead-of-time") verification: read the whole data area and hash
 * tree in userspace and check every block up to ROOT_HASH before anything is
 * started; no device-mapper needed.  -EPERM on a mismatch; if ERRBUF is not
 * NULL it receives a NUL-terminated description of what differed (e.g. the
 * byte position of the first bad block).
 */
int verity_verify_eager(const char *data, const char *hash, uint64_t hash_offset, const uint8_t *root_hash,
        size_t root_hash_size, char *errbuf, size_t errlen);

/* Remove the mapping NAME. */
int verity_close(const char *name);
