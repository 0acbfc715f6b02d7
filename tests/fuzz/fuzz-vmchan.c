/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for what a closed-box VM sends tvamd over its ENDORSE /
 * GET-ID channel (docs/protocol.md "VM channel"): the frame parser
 * (tvam/ipc/vmchan.c), the ERROR payload parser, and the PKCS#10 check of
 * an ENDORSE payload (tvam/attest/csr.c).  A hostile guest controls every
 * byte: nothing may crash, leak or read out of bounds, and an accepted frame
 * must re-encode to the same header.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tvam/attest/csr.h"
#include "tvam/ipc/vmchan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct vmchan_header h;
        const uint8_t *payload;
        uint8_t again[VMCHAN_HEADER_SIZE];
        uint8_t *spki = NULL;
        size_t spki_size = 0;
        char text[VMCHAN_REASON_MAX + 1];
        int err;

        if (vmchan_frame_parse(data, size, &h, &payload) < 0) {
                /* Whatever the frame, the payload checks see arbitrary bytes
                 * too (a bounded slice of the input). */
                if (size > VMCHAN_PAYLOAD_MAX)
                        return 0;
                (void)vmchan_error_parse(data, size, &err, text, sizeof(text));
                if (attest_csr_check(data, size, &spki, &spki_size, text, sizeof(text)) == 0)
                        free(spki);
                return 0;
        }
        if (vmchan_header_build(h.type, h.length, again) < 0 || memcmp(again, data, VMCHAN_HEADER_SIZE) != 0)
                abort();
        switch (h.type) {
        case VMCHAN_ENDORSE:
                if (attest_csr_check(payload, h.length, &spki, &spki_size, text, sizeof(text)) == 0)
                        free(spki);
                break;
        case VMCHAN_ERROR:
                if (vmchan_error_parse(payload, h.length, &err, text, sizeof(text)) == 0 &&
                        (err <= 0 || strlen(text) > VMCHAN_REASON_MAX))
                        abort();
                break;
        default:
                break;
        }
        return 0;
}
