/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the tvam-tpm2 LUKS2 token parser
 * (tvam/storage/luks-token.c), which reads JSON from volume headers: it must
 * never crash, leak or read out of bounds, and whatever it accepts must
 * serialise and parse back to the same token.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tvam/storage/luks-token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct luks_token a = {0}, b = {0};
        char *json = NULL;

        if (luks_token_parse((const char *)data, size, &a) < 0)
                return 0;
        if (luks_token_validate(&a) < 0 || luks_token_format(&a, &json) < 0 ||
                luks_token_parse(json, strlen(json), &b) < 0)
                abort();
        if (a.keyslot != b.keyslot || a.blob_size != b.blob_size ||
                memcmp(a.blob, b.blob, a.blob_size) != 0 || a.pcr_bank != b.pcr_bank ||
                a.pcr_mask != b.pcr_mask || a.policy_nv_index != b.policy_nv_index ||
                a.srk_handle != b.srk_handle)
                abort();
        free(json);
        luks_token_done(&a);
        luks_token_done(&b);
        return 0;
}
