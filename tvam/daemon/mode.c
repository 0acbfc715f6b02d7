/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/daemon/mode.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "policy/pcr/pcr.h"
#include "tvam/shared/digest.h"
#include "tvam/tpm/tpm-pcr.h"

const char *mode_to_string(enum tvam_mode mode)
{
        switch (mode) {
        case MODE_UPDATE:
                return "update";
        case MODE_APPLICATION:
                return "application";
        case MODE_UNKNOWN:
                break;
        }
        return "unknown";
}

int mode_from_string(const char *s, enum tvam_mode *ret)
{
        assert(s && ret);
        if (strcmp(s, "update") == 0)
                *ret = MODE_UPDATE;
        else if (strcmp(s, "application") == 0)
                *ret = MODE_APPLICATION;
        else
                return -EINVAL;
        return 0;
}

int mode_application_pcr_value(uint8_t ret[32])
{
        uint8_t buf[64] = {}, event[32];
        int r;

        /* PCR 15 after a reboot is zero; one extend: H(0^32 || H(event)). */
        r = digest_buffer(DIGEST_SHA256, MODE_APPLICATION_EVENT, strlen(MODE_APPLICATION_EVENT), event);
        if (r < 0)
                return r;
        memcpy(buf + 32, event, 32);
        return digest_buffer(DIGEST_SHA256, buf, sizeof(buf), ret);
}

int mode_get(struct tpm_context *tpm, enum tvam_mode *ret)
{
        static const uint8_t zero[32];
        uint8_t application[32];
        struct pcr_bank bank;
        int r;

        assert(tpm && ret);
        r = tpm_pcr_read(tpm, DIGEST_SHA256, 1u << MODE_PCR, &bank);
        if (r < 0)
                return r;
        r = mode_application_pcr_value(application);
        if (r < 0)
                return r;
        if (memcmp(bank.values[MODE_PCR], zero, 32) == 0)
                *ret = MODE_UPDATE;
        else if (memcmp(bank.values[MODE_PCR], application, 32) == 0)
                *ret = MODE_APPLICATION;
        else
                *ret = MODE_UNKNOWN;
        return 0;
}
