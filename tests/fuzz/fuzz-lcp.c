/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the LCP decoders (policy/tboot/lcp.c).  The first byte
 * selects the policy (NV content) or the policy data file decoder; every
 * input either accepts must re-encode to exactly the input bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/tboot/lcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        uint8_t *again = NULL;
        size_t again_size = 0;

        if (size < 1)
                return 0;
        if (data[0] & 1) {
                struct lcp_policy p;
                if (lcp_policy_decode(data + 1, size - 1, &p) < 0)
                        return 0;
                if (lcp_policy_encode(&p, &again, &again_size) < 0)
                        abort();
        } else {
                struct lcp_policy_data *d = NULL;
                uint8_t h[DIGEST_MAX_SIZE];
                if (lcp_policy_data_decode(data + 1, size - 1, &d) < 0)
                        return 0;
                if (lcp_policy_data_encode(d, &again, &again_size) < 0 ||
                        lcp_policy_data_hash(d, DIGEST_SHA256, h) < 0)
                        abort();
                lcp_policy_data_free(d);
        }
        if (again_size != size - 1 || memcmp(again, data + 1, size - 1) != 0)
                abort();
        free(again);
        return 0;
}
