/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/tpm/tpm-policy-file.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/macro.h"

int tpm_policy_file_parse_pcrs(json_object *pcrs, struct tpm_pcr_state *ret)
{
        *ret = (struct tpm_pcr_state){};
        if (!json_object_is_type(pcrs, json_type_object) || pcr_bank_init(&ret->pcrs, DIGEST_SHA256) < 0)
                return -EBADMSG;
        json_object_object_foreach(pcrs, key, value)
        {
                char *end;
                unsigned long p = strtoul(key, &end, 10);
                if (*end || end == key || p >= PCR_COUNT || !json_object_is_type(value, json_type_string) ||
                        hex_decode_exact(json_object_get_string(value), ret->pcrs.values[p], 32) < 0)
                        return -EBADMSG;
                ret->mask |= 1u << p;
        }
        return ret->mask ? 0 : -EBADMSG;
}

static int parse_set(json_object *a, enum tpm_seal_class class, struct tpm_pcr_state set[TPM_POLICY_STATES_MAX],
        size_t *ret_n)
{
        size_t n;

        if (!json_object_is_type(a, json_type_array))
                return -EBADMSG;
        n = json_object_array_length(a);
        if (n > TPM_POLICY_STATES_MAX)
                return -EBADMSG;
        for (size_t i = 0; i < n; i++) {
                json_object *pcrs;
                struct tpm_pcr_state st;
                if (!json_object_object_get_ex(json_object_array_get_idx(a, i), "pcrs", &pcrs) ||
                        tpm_policy_file_parse_pcrs(pcrs, &st) < 0)
                        return -EBADMSG;
                tpm_pcr_state_project(&st, class, &set[i]);
        }
        *ret_n = n;
        return 0;
}

int tpm_policy_file_states(struct tpm_context *c, const char *policy_json, enum tpm_seal_class class,
        struct tpm_pcr_state ret_states[TPM_POLICY_STATES_MAX], size_t *ret_n, const char **ret_set_name,
        char *message, size_t message_size)
{
        static const char *const names[] = { "authorized", "writing", "interrupted" };
        const struct tpm_policy_nv nv = tpm_policy_nv_for_class(class);
        _cleanup_free_ uint8_t *buf = NULL;
        uint8_t held[32];
        json_object *o, *v;
        size_t size;
        int r;

        assert(c && policy_json && ret_states && ret_n);
        r = read_full_file(policy_json, TPM_POLICY_FILE_MAX, &buf, &size);
        if (r < 0)
                return r;
        o = json_tokener_parse((const char *)buf);
        if (!o) {
                snprintf(message, message_size, "%s is not JSON", policy_json);
                return -EBADMSG;
        }
        r = tpm_policy_nv_read_digest(c, &nv, held);
        if (r < 0) {
                snprintf(message, message_size, "cannot read the %s policy index 0x%08x: %s",
                        tpm_seal_class_to_string(class), nv.policy_index, strerror(-r));
                goto out;
        }
        r = -ESTALE;
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                uint8_t digest[32];
                size_t n = 0;
                if (!json_object_object_get_ex(o, names[i], &v))
                        continue;
                /* "interrupted": {"<class>": [...]}, per index */
                if (i == 2 && !json_object_object_get_ex(v, tpm_seal_class_to_string(class), &v))
                        continue;
                if (parse_set(v, class, ret_states, &n) < 0) {
                        r = -EBADMSG;
                        snprintf(message, message_size, "%s: the \"%s\" set is malformed", policy_json, names[i]);
                        goto out;
                }
                if (n == 0 || tpm_policy_nv_states_digest(ret_states, n, digest) < 0 || memcmp(digest, held, 32) != 0)
                        continue;
                *ret_n = n;
                if (ret_set_name)
                        *ret_set_name = names[i];
                r = 0;
                goto out;
        }
        snprintf(message, message_size, "%s does not record the state set the %s policy index 0x%08x holds",
                policy_json, tpm_seal_class_to_string(class), nv.policy_index);
out:
        json_object_put(o);
        return r;
}
