/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/tpm/tpm-policy-nv.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/pcr/policy.h"
#include "tvam/shared/log.h"
#include "tvam/tpm/tpm-internal.h"
#include "tvam/tpm/tpm-nv.h"

_Static_assert(TPM_NV_POLICY_ATTRS == (TPM_NV_ATTR_POLICYWRITE | TPM_NV_ATTR_AUTHREAD | TPM_NV_ATTR_NO_DA),
        "policy index attributes");
_Static_assert(
        TPM_NV_ADMIN_ATTRS == (TPM_NV_ATTR_AUTHWRITE | TPM_NV_ATTR_AUTHREAD), "admin index attributes");

#define ADMIN_ATTRS TPM_NV_ADMIN_ATTRS
#define POLICY_ATTRS TPM_NV_POLICY_ATTRS

/* Stored at provisioning: SHA-256 of this label.  No policy session can
 * reach a digest chosen this way (it would need a hash preimage), so a fresh
 * policy index authorizes nothing — unlike all-zero, which is exactly the
 * digest of an empty policy session. */
static const char no_state_label[] = "TVAM policy index: no platform state authorized";

int tpm_policy_nv_states_digest(const struct tpm_pcr_state *states, size_t n_states, uint8_t ret_digest[32])
{
        _cleanup_free_ uint8_t *branches = NULL;
        int r;

        assert(ret_digest);
        if (!states || n_states == 0 || n_states > POLICY_OR_BRANCHES_MAX)
                return -EINVAL;
        branches = malloc(n_states * 32);
        if (!branches)
                return -ENOMEM;
        for (size_t i = 0; i < n_states; i++) {
                struct policy p;

                r = policy_init(&p, DIGEST_SHA256);
                if (r < 0)
                        return r;
                r = policy_pcr_bank(&p, &states[i].pcrs, states[i].mask);
                if (r < 0)
                        return r;
                memcpy(branches + 32 * i, p.digest, 32);
        }
        return policy_or_tree(DIGEST_SHA256, branches, n_states, 0, NULL, NULL, ret_digest);
}

/* authPolicy of the policy index: PolicyCommandCode(NV_Write) + PolicySecret(admin). */
static int policy_index_auth_policy(const uint8_t *admin_name, size_t admin_name_size, uint8_t ret[32])
{
        struct policy p;
        int r;

        r = policy_init(&p, DIGEST_SHA256);
        if (r < 0)
                return r;
        r = policy_command_code(&p, POLICY_CC_NV_WRITE);
        if (r < 0)
                return r;
        r = policy_secret(&p, admin_name, admin_name_size, NULL, 0);
        if (r < 0)
                return r;
        memcpy(ret, p.digest, 32);
        return 0;
}

/* authPolicy of the admin index: PolicyCommandCode(NV_ChangeAuth) + PolicyAuthValue. */
static int admin_index_auth_policy(uint8_t ret[32])
{
        struct policy p;
        int r;

        r = policy_init(&p, DIGEST_SHA256);
        if (r < 0)
                return r;
        r = policy_command_code(&p, POLICY_CC_NV_CHANGE_AUTH);
        if (r < 0)
                return r;
        r = policy_auth_value(&p);
        if (r < 0)
                return r;
        memcpy(ret, p.digest, 32);
        return 0;
}

static int admin_index_ensure(struct tpm_context *c, uint32_t index, const struct secret *admin,
        const struct secret *owner_auth, uint8_t *ret_name, size_t *ret_name_size)
{
        uint8_t expected[32], policy[DIGEST_MAX_SIZE];
        const struct tpm_nv_spec spec = {
                .index = index,
                .attributes = ADMIN_ATTRS,
                .size = 1,
                .auth_policy = expected,
                .auth_policy_size = sizeof(expected),
        };
        const uint8_t zero = 0;
        size_t policy_size = 0;
        uint32_t attrs;
        uint16_t size;
        int r;

        r = admin_index_auth_policy(expected);
        if (r < 0)
                return r;
        r = tpm_nv_read_public(c, index, &attrs, &size, policy, &policy_size, NULL, NULL);
        if (r == -ENOENT) {
                r = tpm_nv_define(c, &spec, admin, owner_auth);
                if (r < 0)
                        return r;
                attrs = ADMIN_ATTRS;
        } else if (r < 0)
                return r;
        else if ((attrs & ~TPM_NV_ATTR_WRITTEN) != ADMIN_ATTRS || size != 1 || policy_size != 32 ||
                 memcmp(policy, expected, 32) != 0) {
                log_debug("NV index 0x%08x exists with unexpected attributes 0x%08x", index, attrs);
                return -EEXIST;
        }
        /* Written once so that its Name (which includes TPMA_NV_WRITTEN)
         * never changes afterwards; also completes an interrupted earlier
         * provisioning. */
        if (!(attrs & TPM_NV_ATTR_WRITTEN)) {
                r = tpm_nv_write(c, index, TPM_NV_AUTH_INDEX, admin, &zero, 1);
                if (r < 0)
                        return r;
        }
        return tpm_nv_read_public(c, index, NULL, NULL, NULL, NULL, ret_name, ret_name_size);
}

int tpm_policy_nv_provision(struct tpm_context *c, const struct tpm_policy_nv *nv,
        const struct secret *admin, const struct secret *owner_auth)
{
        uint8_t admin_name[POLICY_NAME_MAX], expected[32], policy[DIGEST_MAX_SIZE], initial[32];
        size_t admin_name_size = 0, policy_size = 0;
        uint32_t attrs;
        uint16_t size;
        int r;

        assert(c && nv && admin);
        r = admin_index_ensure(c, nv->admin_index, admin, owner_auth, admin_name, &admin_name_size);
        if (r < 0)
                return r;
        r = policy_index_auth_policy(admin_name, admin_name_size, expected);
        if (r < 0)
                return r;

        r = tpm_nv_read_public(c, nv->policy_index, &attrs, &size, policy, &policy_size, NULL, NULL);
        if (r >= 0) {
                if ((attrs & ~TPM_NV_ATTR_WRITTEN) != POLICY_ATTRS || size != TPM_NV_POLICY_SIZE ||
                        policy_size != 32 || memcmp(policy, expected, 32) != 0) {
                        log_debug("NV index 0x%08x exists but is not a TVAM policy index for admin index "
                                  "0x%08x",
                                nv->policy_index, nv->admin_index);
                        return -EEXIST;
                }
                if (attrs & TPM_NV_ATTR_WRITTEN)
                        return 0;
        } else if (r == -ENOENT) {
                const struct tpm_nv_spec spec = {
                        .index = nv->policy_index,
                        .attributes = POLICY_ATTRS,
                        .size = TPM_NV_POLICY_SIZE,
                        .auth_policy = expected,
                        .auth_policy_size = 32,
                };
                r = tpm_nv_define(c, &spec, NULL, owner_auth);
                if (r < 0)
                        return r;
        } else
                return r;

        r = digest_buffer(DIGEST_SHA256, no_state_label, strlen(no_state_label), initial);
        if (r < 0)
                return r;
        return tpm_policy_nv_write_digest(c, nv, admin, initial);
}

int tpm_policy_nv_write_digest(struct tpm_context *c, const struct tpm_policy_nv *nv,
        const struct secret *admin, const uint8_t digest[32])
{
        const TPM2B_NONCE no_nonce = {};
        const TPM2B_DIGEST no_cphash = {};
        const TPM2B_NONCE no_ref = {};
        TPM2B_MAX_NV_BUFFER data = {.size = TPM_NV_POLICY_SIZE};
        ESYS_TR session = ESYS_TR_NONE, admin_tr = ESYS_TR_NONE, policy_tr = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        assert(c && nv && admin && digest);

        /* TPMT_HA (Part 2 §10.3.2): hashAlg || digest — what
         * TPM2_PolicyAuthorizeNV compares policyDigest with (Part 3 §23.22). */
        data.buffer[0] = (uint8_t)(TPM2_ALG_SHA256 >> 8);
        data.buffer[1] = (uint8_t)TPM2_ALG_SHA256;
        memcpy(data.buffer + 2, digest, 32);

        r = tpm_tr_from_handle(c, nv->admin_index, &admin_tr);
        if (r < 0)
                goto out;
        r = tpm_tr_from_handle(c, nv->policy_index, &policy_tr);
        if (r < 0)
                goto out;
        r = tpm_tr_set_auth(c, admin_tr, admin);
        if (r < 0)
                goto out;
        r = tpm_policy_session_start(c, false, false, &session);
        if (r < 0)
                goto out;

        /* Satisfy the index's authPolicy, in the order it was computed. */
        TPM_RETRY(rc, Esys_PolicyCommandCode(
                              c->esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CC_NV_Write));
        if (rc != TSS2_RC_SUCCESS) {
                r = tpm_rc_log(rc, "TPM2_PolicyCommandCode");
                goto out;
        }
        TPM_RETRY(rc, Esys_PolicySecret(c->esys, admin_tr, session, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                              ESYS_TR_NONE, &no_nonce, &no_cphash, &no_ref, 0, NULL, NULL));
        if (rc != TSS2_RC_SUCCESS) {
                r = tpm_rc_log(rc, "TPM2_PolicySecret(admin)");
                goto out;
        }
        TPM_RETRY(rc,
                Esys_NV_Write(c->esys, policy_tr, policy_tr, session, ESYS_TR_NONE, ESYS_TR_NONE, &data, 0));
        if (rc != TSS2_RC_SUCCESS) {
                r = tpm_rc_log(rc, "TPM2_NV_Write(policy index)");
                goto out;
        }
        r = 0;
out:
        tpm_flush(c, &session);
        if (admin_tr != ESYS_TR_NONE)
                (void)tpm_tr_set_auth(c, admin_tr, NULL); /* drop ESAPI's copy of the secret */
        tpm_tr_close(c, &admin_tr);
        tpm_tr_close(c, &policy_tr);
        return r;
}

int tpm_policy_nv_authorize(struct tpm_context *c, const struct tpm_policy_nv *nv,
        const struct secret *admin, const struct tpm_pcr_state *states, size_t n_states)
{
        uint8_t digest[32];
        int r;

        r = tpm_policy_nv_states_digest(states, n_states, digest);
        if (r < 0)
                return r;
        return tpm_policy_nv_write_digest(c, nv, admin, digest);
}

int tpm_policy_nv_read_digest(struct tpm_context *c, const struct tpm_policy_nv *nv, uint8_t ret_digest[32])
{
        _cleanup_free_ uint8_t *data = NULL;
        size_t size = 0;
        int r;

        assert(c && nv && ret_digest);
        r = tpm_nv_read(c, nv->policy_index, TPM_NV_AUTH_INDEX, NULL, &data, &size);
        if (r < 0)
                return r;
        if (size != TPM_NV_POLICY_SIZE || data[0] != (uint8_t)(TPM2_ALG_SHA256 >> 8) ||
                data[1] != (uint8_t)TPM2_ALG_SHA256)
                return -EBADMSG;
        memcpy(ret_digest, data + 2, 32);
        return 0;
}

int tpm_policy_nv_change_admin(struct tpm_context *c, const struct tpm_policy_nv *nv,
        const struct secret *old_admin, const struct secret *new_admin)
{
        TPM2B_AUTH a = {};
        ESYS_TR session = ESYS_TR_NONE, admin_tr = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        assert(c && nv && old_admin && new_admin);
        if (new_admin->size > sizeof(a.buffer))
                return -EINVAL;
        memcpy(a.buffer, new_admin->data, new_admin->size);
        a.size = (UINT16)new_admin->size;

        r = tpm_tr_from_handle(c, nv->admin_index, &admin_tr);
        if (r < 0)
                goto out;
        r = tpm_tr_set_auth(c, admin_tr, old_admin);
        if (r < 0)
                goto out;
        /* Salted, with the new authValue (first parameter) encrypted. */
        r = tpm_policy_session_start(c, false, true, &session);
        if (r < 0)
                goto out;
        rc = Esys_TRSess_SetAttributes(c->esys, session, TPMA_SESSION_DECRYPT, TPMA_SESSION_DECRYPT);
        if (rc != TSS2_RC_SUCCESS) {
                r = tpm_rc_log(rc, "Esys_TRSess_SetAttributes");
                goto out;
        }
        TPM_RETRY(rc, Esys_PolicyCommandCode(c->esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                              TPM2_CC_NV_ChangeAuth));
        if (rc == TSS2_RC_SUCCESS)
                TPM_RETRY(rc,
                        Esys_PolicyAuthValue(c->esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE));
        if (rc != TSS2_RC_SUCCESS) {
                r = tpm_rc_log(rc, "TPM2_PolicyCommandCode/PolicyAuthValue");
                goto out;
        }
        TPM_RETRY(rc, Esys_NV_ChangeAuth(c->esys, admin_tr, session, ESYS_TR_NONE, ESYS_TR_NONE, &a));
        if (rc != TSS2_RC_SUCCESS) {
                r = tpm_rc_log(rc, "TPM2_NV_ChangeAuth(admin index)");
                goto out;
        }
        r = 0;
out:
        explicit_bzero(&a, sizeof(a));
        tpm_flush(c, &session);
        if (admin_tr != ESYS_TR_NONE)
                (void)tpm_tr_set_auth(c, admin_tr, NULL);
        tpm_tr_close(c, &admin_tr);
        return r;
}

int tpm_policy_nv_remove(
        struct tpm_context *c, const struct tpm_policy_nv *nv, const struct secret *owner_auth)
{
        int r, k;

        r = tpm_nv_undefine(c, nv->policy_index, owner_auth);
        k = tpm_nv_undefine(c, nv->admin_index, owner_auth);
        if (r < 0 && r != -ENOENT)
                return r;
        if (k < 0 && k != -ENOENT)
                return k;
        return 0;
}

struct tpm_policy_nv tpm_policy_nv_for_class(enum tpm_seal_class class)
{
        static const uint32_t index[_TPM_SEAL_CLASS_MAX] = {
                [TPM_SEAL_APPLICATION] = TPM_NV_POLICY_INDEX,
                [TPM_SEAL_UPDATE_MODE] = TPM_NV_UPDATE_MODE_POLICY_INDEX,
                [TPM_SEAL_BOOT] = TPM_NV_BOOT_POLICY_INDEX,
        };
        assert(class >= 0 && class < _TPM_SEAL_CLASS_MAX);
        return (struct tpm_policy_nv){ index[class], TPM_NV_ADMIN_INDEX };
}

const char *tpm_seal_class_to_string(enum tpm_seal_class class)
{
        static const char *const name[_TPM_SEAL_CLASS_MAX] = {
                [TPM_SEAL_APPLICATION] = "application",
                [TPM_SEAL_UPDATE_MODE] = "update-mode",
                [TPM_SEAL_BOOT] = "boot",
        };
        return class >= 0 && class < _TPM_SEAL_CLASS_MAX ? name[class] : "unknown";
}

void tpm_pcr_state_project(const struct tpm_pcr_state *state, enum tpm_seal_class class,
        struct tpm_pcr_state *ret)
{
        size_t n = digest_size(state->pcrs.alg);

        *ret = *state;
        /* Update Mode: PCR 15 not extended yet.  Boot (the initramfs, before
         * measuring base-N): neither PCR 14 nor 15 extended. */
        if (class != TPM_SEAL_APPLICATION && (ret->mask & (1u << TPM_MODE_PCR)))
                memset(ret->pcrs.values[TPM_MODE_PCR], 0, n);
        if (class == TPM_SEAL_BOOT && (ret->mask & (1u << TPM_BASE_PCR)))
                memset(ret->pcrs.values[TPM_BASE_PCR], 0, n);
}
