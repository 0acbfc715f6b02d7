/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the sealed-blob parser (tvam/tpm/tpm-blob.c), which
 * reads sealed objects from disk (STORELV): it must never crash, leak or
 * read out of bounds, and whatever it accepts must serialise back to exactly
 * the same bytes (the format has one encoding).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tvam/tpm/tpm-blob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct tpm_blob *b = NULL;
        uint8_t *out = NULL;
        size_t n = 0;

        if (tpm_blob_parse(data, size, &b) < 0)
                return 0;
        if (tpm_blob_serialize(b, &out, &n) < 0 || n != size || memcmp(out, data, size) != 0)
                abort();
        free(out);
        tpm_blob_free(b);
        return 0;
}
