/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The measured launch environment (MLE) hash of tboot: what SINIT extends
 * into PCR 18 under tboot's legacy PCR mapping, and the value a PO launch
 * control policy's MLE element lists.  Computed as tboot's lcp2_mlehash
 * (lcptools-v2/mlehash.c, tboot 1.10.5) does it, equality tested against
 * that tool on Debian's /boot/tboot.gz:
 *
 *   1. tboot.gz is gunzipped (a plain ELF file is accepted as well);
 *   2. the ELF32 image's PT_LOAD segments are laid out one after another,
 *      each file part followed by zeros up to p_memsz ("expanded image");
 *   3. the MLE header (Intel TXT MLE Developer's Guide §2.1, UUID
 *      9082ac5a-476f-74a7-5c0f-55a2cb51b642) is searched on 16-byte steps;
 *   4. the command-line area [cmdline_start_off, cmdline_end_off) is zeroed
 *      and the tboot command line copied in (at most size - 1 bytes), as
 *      tboot itself does before the launch;
 *   5. hash = H(expanded[mle_start_off .. mle_end_off)).
 */

#include <stddef.h>
#include <stdint.h>

#include "tvam/shared/digest.h"

/* Largest tboot image (gunzipped) accepted. */
#define MLE_IMAGE_MAX (256u * 1024u * 1024u)

/* Hash the MLE in the ELF image IMAGE.  CMDLINE NULL leaves the image's
 * command-line area as it is (lcp2_mlehash without --cmdline); "" clears
 * it.  -EBADMSG: not an ELF32 i386 executable or no valid MLE header;
 * -E2BIG: CMDLINE does not fit the image's command-line area. */
int mle_hash(enum digest_alg alg, const uint8_t *image, size_t size, const char *cmdline, uint8_t *ret);

/* mle_hash() of the file PATH (gzip-compressed or not). */
int mle_hash_file(enum digest_alg alg, const char *path, const char *cmdline, uint8_t *ret);
