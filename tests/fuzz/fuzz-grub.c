/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the GRUB script model of the PCR 8/9 predictor
 * (policy/grub/grub.c).  The input is a grub.cfg; /vmlinuz and /initrd.img
 * are given.  Every input is either predicted (PCRs 8/9 = the replay of the
 * predicted events) or refused with a reason; never a crash or a leak. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/grub/grub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct grub_file files[] = {{.path = "/vmlinuz"}, {.path = "/initrd.img"}};
        struct grub_prediction p = {};
        struct pcr_bank replay;
        char err[256];
        int r;

        r = grub_predict(&(struct grub_boot){.alg = DIGEST_SHA256,
                                 .config = (const char *)data,
                                 .config_size = size,
                                 .files = files,
                                 .n_files = 2},
                &p, err, sizeof(err));
        if (r < 0) {
                if (err[0] == '\0' && r != -ENOMEM)
                        abort(); /* every refusal says why */
                return 0;
        }
        if (pcr_bank_init(&replay, DIGEST_SHA256) < 0)
                abort();
        for (size_t i = 0; i < p.n_events; i++)
                if (pcr_extend(&replay, p.events[i].pcr, p.events[i].digest, 32) < 0)
                        abort();
        if (memcmp(replay.values[8], p.bank.values[8], 32) || memcmp(replay.values[9], p.bank.values[9], 32))
                abort();
        grub_prediction_done(&p);
        return 0;
}
