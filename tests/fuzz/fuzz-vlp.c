/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the tboot VLP decoder (policy/tboot/vlp.c).  Every
 * policy it accepts must re-encode to exactly the input bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/tboot/vlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct vlp *vlp = NULL;
        uint8_t *again = NULL;
        size_t again_size = 0;

        if (vlp_decode(data, size, &vlp) < 0)
                return 0;
        if (vlp_encode(vlp, &again, &again_size) < 0 || again_size != size || memcmp(again, data, size) != 0)
                abort();
        free(again);
        vlp_free(vlp);
        return 0;
}
