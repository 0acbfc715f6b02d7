/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The platform disk layout (ARCHITECTURE.md "Disk layout", acTvSM Fig. 3),
 * declared in a small text file:
 *
 *     # comment
 *     boot_size  = 512M     # partition 2: /boot (FAT32, ESP type: BIOS+UEFI)
 *     vg         = tvam     # the volume group on partition 3
 *     base_size  = 2G       # LV base-1  (tvam:base)   LUKS2 → squashfs
 *     store_size = 256M     # LV store   (tvam:store)  ext4
 *     log_size   = 256M     # LV log     (tvam:log)    ext4
 *
 * Sizes take K, M, G or T (powers of 1024); every key is required once.
 */

#include <stddef.h>
#include <stdint.h>

struct layout {
        uint64_t boot_size;
        char vg[128];
        uint64_t base_size;
        uint64_t store_size;
        uint64_t log_size;
};

struct layout_error {
        unsigned line;      /* 1-based; 0 = the file as a whole */
        char message[160];
};

/* Parse layout TEXT.  On -EINVAL, *ret_error (optional) says which line and
 * what was wrong. */
int layout_parse(const char *text, struct layout *ret, struct layout_error *ret_error);

/* Parse "512M" etc.  -EINVAL for anything else, -ERANGE on overflow. */
int layout_parse_size(const char *text, uint64_t *ret);

/* Bytes the layout needs on a disk: 1 MiB alignment gap, BIOS boot
 * partition, boot, LVM metadata, the LVs, the GPT backup. */
uint64_t layout_required_bytes(const struct layout *layout);
