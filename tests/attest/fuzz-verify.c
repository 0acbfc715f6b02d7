/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the verifier's parsers of untrusted input (tvam/verify):
 * the first byte picks TPM2B_PUBLIC, TPMS_ATTEST (quote, certify),
 * TPMT_SIGNATURE, base64, the reference manifest, or a whole evidence
 * document (verified against no enrolled AK and an empty manifest).
 * Nothing may crash or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tvam/verify/base64.h"
#include "tvam/verify/manifest.h"
#include "tvam/verify/tpm-types.h"
#include "tvam/verify/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct tpm_public pub;
        struct tpm_quote quote;
        struct tpm_certify certify;
        struct tpm_signature_ecdsa sig;
        struct verify_manifest *m = NULL, empty = {};
        struct verify_result res;
        char *text, error[256];
        uint8_t *out = NULL, nonce[8] = {};
        size_t out_size;

        if (size < 1)
                return 0;
        text = malloc(size);
        if (!text)
                return 0;
        memcpy(text, data + 1, size - 1);
        text[size - 1] = 0;
        switch (data[0] % 7) {
        case 0:
                if (tpm_public_parse(data + 1, size - 1, &pub) == 0)
                        (void)tpm_public_is_ak(&pub);
                break;
        case 1:
                (void)tpm_quote_parse(data + 1, size - 1, &quote);
                break;
        case 2:
                (void)tpm_certify_parse(data + 1, size - 1, &certify);
                break;
        case 3:
                (void)tpm_signature_parse(data + 1, size - 1, &sig);
                break;
        case 4:
                if (base64_decode(text, &out, &out_size) == 0)
                        free(out);
                break;
        case 5:
                if (verify_manifest_parse(text, size - 1, &m, error, sizeof(error)) == 0)
                        verify_manifest_free(m);
                break;
        case 6:
                (void)verify_evidence(text, size - 1, nonce, sizeof(nonce), NULL, 0, &empty, &res);
                break;
        }
        free(text);
        return 0;
}
