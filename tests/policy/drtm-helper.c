/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * drtm-helper — the locality-2 half of the DRTM emulation on swtpm (test
 * only).  After `swtpm_ioctl -h DATA` (the SINIT stand-in), tboot extends
 * PCRs 17–19 from locality 2 (tboot/common/tboot.c extend_pcrs()); the
 * swtpm TCTI passes the locality with each command, so it is set here on
 * the TCTI (Tss2_Tcti_SetLocality) rather than with `swtpm_ioctl -l`.
 *
 *   drtm-helper extend PCR HEX [PCR HEX]...   SHA-256 bank, locality 2
 *   drtm-helper read                           "17 <hex>" lines for 17-19
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/tpm/tpm-test-util.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/log.h"
#include "tvam/tpm/tpm-internal.h"
#include "tvam/tpm/tpm-pcr.h"

int main(int argc, char **argv)
{
        _cleanup_tpm_context_ struct tpm_context *c = NULL;

        log_parse_environment();
        if (argc < 2)
                return fprintf(stderr, "usage: drtm-helper extend PCR HEX... | read\n"), 2;
        c = test_tpm_open();

        if (strcmp(argv[1], "read") == 0 && argc == 2) {
                struct pcr_bank bank;
                CHECK_OK(tpm_pcr_read(c, DIGEST_SHA256, (1u << 17) | (1u << 18) | (1u << 19), &bank));
                for (unsigned p = 17; p <= 19; p++) {
                        _cleanup_free_ char *hex = NULL;
                        CHECK_OK(hex_encode(bank.values[p], 32, &hex));
                        printf("%u %s\n", p, hex);
                }
                return 0;
        }
        if (strcmp(argv[1], "extend") != 0 || argc % 2 != 0)
                return fprintf(stderr, "usage: drtm-helper extend PCR HEX... | read\n"), 2;

        CHECK(Tss2_Tcti_SetLocality(c->tcti, 2) == TSS2_RC_SUCCESS);
        for (int i = 2; i + 1 < argc; i += 2) {
                uint8_t d[32];
                CHECK_OK(hex_decode_exact(argv[i + 1], d, sizeof(d)));
                CHECK_OK(tpm_pcr_extend(c, (unsigned)atoi(argv[i]), DIGEST_SHA256, d));
        }
        CHECK(Tss2_Tcti_SetLocality(c->tcti, 0) == TSS2_RC_SUCCESS);
        return 0;
}
