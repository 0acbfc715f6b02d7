/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The read side of tvamd's policy.json (docs/update.md "State kept by
 * tvamd") for unsealing through a policy index: PolicyAuthorizeNV needs the
 * branches of the PolicyOR the index holds, and tvamd records them there.
 * The initramfs (base-N's key) and tvamd (its SSH host key) read it here.
 *
 * The file records sets of Application-Mode states: "authorized" (what the
 * indices hold), "writing" (a set being written) and, per class, the set an
 * interrupted change left in that index ("interrupted": {"boot": [...],
 * "update-mode": [...]}).  A change writes three indices one after the
 * other, so after a power loss an index may hold any of them; the one to
 * unseal with is the set whose projection (tpm_pcr_state_project) the
 * class's index holds now.
 */

#include <stddef.h>

#include <json-c/json.h>

#include "tvam/tpm/tpm-context.h"
#include "tvam/tpm/tpm-policy-nv.h"

#define TPM_POLICY_STATES_MAX 3u /* srtm: current, next; txt: + old modules under the new VLP */
#define TPM_POLICY_FILE_MAX (1u << 20)

/* One state's "pcrs" object: {"<pcr>": "<sha256 hex>", ...}. */
int tpm_policy_file_parse_pcrs(json_object *pcrs, struct tpm_pcr_state *ret);

/* The recorded set of POLICY_JSON whose projection to CLASS the index of
 * CLASS holds now, projected (ready for tpm_unseal()).  *RET_SET_NAME (may be
 * NULL) names the set.  -ENOENT: no such file; -EBADMSG: malformed; -ESTALE:
 * the index holds none of the recorded sets (MESSAGE says so); other errors
 * from reading the index. */
int tpm_policy_file_states(struct tpm_context *c, const char *policy_json, enum tpm_seal_class class,
        struct tpm_pcr_state ret_states[TPM_POLICY_STATES_MAX], size_t *ret_n, const char **ret_set_name,
        char *message, size_t message_size);
