/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * tvamd's side of the revocable sealing policy and of updates (acTvSM §3.3
 * "Base System Update and Resealing", docs/update.md).
 *
 * Application secrets are sealed with PolicyAuthorizeNV to the policy index
 * (docs/tpm.md "PolicyAuthorizeNV scheme"); the index holds the PolicyOR of
 * the authorized Application-Mode states: the current one and, while an
 * update is prepared, the predicted next one.  Unsealing needs the branches
 * of that OR, so tvamd keeps them in STATE_DIR/policy.json (atomically
 * written).  Every change of the index is:
 *
 *   1. policy.json gets "writing" = the new set (and the update record),
 *   2. one admin-authorized TPM2_NV_Write of the new set's digest,
 *   3. policy.json gets "authorized" = the new set, "writing" dropped.
 *
 * Whatever is interrupted, the index holds the digest of "authorized" or of
 * "writing"; loading compares it with both and heals the file, so every
 * crash point leaves the sets tvamd can unseal with.
 */

#include <stddef.h>
#include <stdint.h>

#include "policy/pcr/pcr.h"
#include "tvam/daemon/daemon.h"
#include "tvam/shared/secret.h"
#include "tvam/tpm/tpm-policy-file.h"
#include "tvam/tpm/tpm-policy-nv.h"

#define POLICY_STATE_FILE "policy.json"
#define POLICY_STATES_MAX TPM_POLICY_STATES_MAX

/* What the policy index holds now (after healing policy.json). */
struct daemon_policy {
        struct tpm_policy_nv nv;
        struct tpm_pcr_state states[POLICY_STATES_MAX];
        size_t n_states;
};

/* Load policy.json and match it against the policy index.  -ENOENT: not
 * initialized (sealing stays PolicyPCR).  Other errors with MESSAGE. */
int daemon_policy_load(struct daemon *d, struct tpm_context *tpm, struct daemon_policy *ret, char *message,
        size_t message_size);

/* Is the Application-Mode state STATE/MASK one POLICY authorizes?  A secret
 * sealed now would not unseal otherwise: -EPERM naming the PCR. */
int daemon_policy_check(const struct daemon_policy *policy, const struct pcr_bank *state, uint32_t mask,
        char *message, size_t message_size);

/* apps.c: the Application-Mode state (launch PCRs + 14 as they are now, 15
 * as it will be in Application Mode), SHA-256 bank. */
int daemon_application_state(struct daemon *d, struct tpm_context *tpm, struct pcr_bank *ret, uint32_t *ret_mask);
/* apps.c: a secret the client passed as a descriptor (a key file). */
int recovery_from_fd(int fd, struct secret **ret);

int method_policy_init(struct daemon *d, json_object *params, const int *fds, size_t n_fds,
        json_object **ret_result, char *message, size_t message_size);
int method_policy_show(struct daemon *d, json_object *params, const int *fds, size_t n_fds,
        json_object **ret_result, char *message, size_t message_size);
int method_policy_diagnose(struct daemon *d, json_object *params, const int *fds, size_t n_fds,
        json_object **ret_result, char *message, size_t message_size);
int method_update_prepare(struct daemon *d, json_object *params, const int *fds, size_t n_fds,
        json_object **ret_result, char *message, size_t message_size);
int method_update_commit(struct daemon *d, json_object *params, const int *fds, size_t n_fds,
        json_object **ret_result, char *message, size_t message_size);
int method_update_abort(struct daemon *d, json_object *params, const int *fds, size_t n_fds,
        json_object **ret_result, char *message, size_t message_size);

/* At tvamd's start in Update Mode with the policy initialized: re-seal the
 * SSH host key and base-N's key through their policy indices if a previous
 * policy init could not (logged). */
void daemon_policy_reseal_platform_keys(struct daemon *d);

/* ---- shared by policy.c and update.c --------------------------------- */

#define POLICY_PROVENANCE_MAX 224u

/* One state with, per PCR, where its expected value comes from. */
struct policy_state {
        struct tpm_pcr_state s;
        char provenance[PCR_COUNT][POLICY_PROVENANCE_MAX];
};

/* policy.json */
struct policy_file {
        struct policy_state authorized[POLICY_STATES_MAX];
        size_t n_authorized; /* 0: provisioned, nothing authorized yet */
        struct policy_state writing[POLICY_STATES_MAX];
        size_t n_writing; /* 0: no write in flight */
        /* Per class (update mode, boot): the set an interrupted change left
         * in that index when it is not "authorized" (n 0: it holds
         * "authorized").  Recorded by reading the index (policy.c). */
        struct policy_state interrupted[_TPM_SEAL_CLASS_MAX][POLICY_STATES_MAX];
        size_t n_interrupted[_TPM_SEAL_CLASS_MAX];
        bool update;      /* an update is prepared: CURRENT, NEXT, INPUTS */
        struct policy_state current, next;
        json_object *inputs; /* owned; what the next state was predicted from */
};

enum policy_update_op {
        POLICY_UPDATE_KEEP,
        POLICY_UPDATE_SET,   /* record PF's update before the write */
        POLICY_UPDATE_CLEAR, /* drop it once the write is done */
};

void policy_file_done(struct policy_file *pf);
/* Load policy.json (-ENOENT: none) and heal it against the index (above). */
int policy_file_load(struct daemon *d, struct tpm_context *tpm, struct policy_file *ret, char *message,
        size_t message_size);
/* Steps 1-3 above: authorize exactly STATES with ADMIN.  On failure of the
 * NV write policy.json is put back and the index is unchanged. */
int policy_transition(struct daemon *d, struct tpm_context *tpm, const struct secret *admin,
        struct policy_file *pf, const struct policy_state *states, size_t n, enum policy_update_op op,
        char *message, size_t message_size);
/* The Application-Mode state now, with provenance. */
int policy_current_state(struct daemon *d, struct tpm_context *tpm, struct policy_state *ret);
/* PCRs where A and B (same mask expected) differ; the masks' difference too. */
uint32_t policy_state_diff(const struct tpm_pcr_state *a, const struct tpm_pcr_state *b);
/* TPM, SRK and the admin secret from descriptor 0 for a writing method;
 * the owner hierarchy's authorization from descriptor 1 if the client sent
 * one (*RET_OWNER NULL: empty).  RET_OWNER NULL: the method takes none, a
 * second descriptor is refused. */
int policy_open_admin(struct daemon *d, const int *fds, size_t n_fds, struct tpm_context **ret_tpm,
        struct secret **ret_admin, struct secret **ret_owner, char *message, size_t message_size);
