/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/tpm/tpm-nv.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tvam/shared/log.h"
#include "tvam/tpm/tpm-internal.h"

/* Our TPMA_NV constants are the spec's (and tpm2-tss's). */
_Static_assert(
        TPM_NV_ATTR_OWNERWRITE == TPMA_NV_OWNERWRITE && TPM_NV_ATTR_AUTHWRITE == TPMA_NV_AUTHWRITE &&
                TPM_NV_ATTR_POLICYWRITE == TPMA_NV_POLICYWRITE &&
                TPM_NV_ATTR_OWNERREAD == TPMA_NV_OWNERREAD && TPM_NV_ATTR_AUTHREAD == TPMA_NV_AUTHREAD &&
                TPM_NV_ATTR_POLICYREAD == TPMA_NV_POLICYREAD && TPM_NV_ATTR_NO_DA == TPMA_NV_NO_DA &&
                TPM_NV_ATTR_WRITTEN == TPMA_NV_WRITTEN && TPM_NV_ATTR_PPWRITE == TPMA_NV_PPWRITE &&
                TPM_NV_ATTR_PPREAD == TPMA_NV_PPREAD && TPM_NV_ATTR_WRITEDEFINE == TPMA_NV_WRITEDEFINE,
        "TPMA_NV bits");

/* Stay below every TPM's MAX_NV_BUFFER_SIZE (PC Client PTP requires >= 512). */
#define NV_CHUNK 512u

static bool nv_index_valid(uint32_t index)
{
        return index >= TPM_NV_INDEX_FIRST && index <= TPM_NV_INDEX_LAST;
}

int tpm_nv_define(struct tpm_context *c, const struct tpm_nv_spec *spec, const struct secret *auth,
        const struct secret *owner_auth)
{
        TPM2B_NV_PUBLIC pub = {};
        TPM2B_AUTH a = {};
        ESYS_TR tr = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        assert(c && spec);
        if (!nv_index_valid(spec->index) || spec->size == 0 ||
                spec->auth_policy_size > sizeof(pub.nvPublic.authPolicy.buffer) ||
                (spec->attributes & TPM_NV_ATTR_WRITTEN) || (auth && auth->size > sizeof(a.buffer)))
                return -EINVAL;

        pub.nvPublic.nvIndex = spec->index;
        pub.nvPublic.nameAlg = TPM2_ALG_SHA256;
        pub.nvPublic.attributes = spec->attributes;
        pub.nvPublic.dataSize = spec->size;
        if (spec->auth_policy_size > 0) {
                memcpy(pub.nvPublic.authPolicy.buffer, spec->auth_policy, spec->auth_policy_size);
                pub.nvPublic.authPolicy.size = (UINT16)spec->auth_policy_size;
        }
        if (auth) {
                memcpy(a.buffer, auth->data, auth->size);
                a.size = (UINT16)auth->size;
        }

        r = tpm_tr_set_auth(c, ESYS_TR_RH_OWNER, owner_auth);
        if (r < 0) {
                explicit_bzero(&a, sizeof(a));
                return r;
        }
        TPM_RETRY(rc, Esys_NV_DefineSpace(c->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                              ESYS_TR_NONE, &a, &pub, &tr));
        explicit_bzero(&a, sizeof(a));
        (void)tpm_tr_set_auth(c, ESYS_TR_RH_OWNER, NULL); /* drop ESAPI's copy */
        if (rc != TSS2_RC_SUCCESS)
                return tpm_rc_log(rc, "TPM2_NV_DefineSpace");
        tpm_tr_close(c, &tr);
        return 0;
}

int tpm_nv_undefine(struct tpm_context *c, uint32_t index, const struct secret *owner_auth)
{
        ESYS_TR tr = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        assert(c);
        if (!nv_index_valid(index))
                return -EINVAL;
        r = tpm_tr_from_handle(c, index, &tr);
        if (r < 0)
                return r;
        r = tpm_tr_set_auth(c, ESYS_TR_RH_OWNER, owner_auth);
        if (r < 0) {
                tpm_tr_close(c, &tr);
                return r;
        }
        TPM_RETRY(rc, Esys_NV_UndefineSpace(
                              c->esys, ESYS_TR_RH_OWNER, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE));
        (void)tpm_tr_set_auth(c, ESYS_TR_RH_OWNER, NULL);
        if (rc != TSS2_RC_SUCCESS) {
                tpm_tr_close(c, &tr);
                return tpm_rc_log(rc, "TPM2_NV_UndefineSpace");
        }
        /* ESAPI dropped the object together with the index. */
        return 0;
}

/* The auth handle and its authValue for a read/write of index TR. */
static int nv_auth_setup(struct tpm_context *c, ESYS_TR tr, enum tpm_nv_auth how, const struct secret *auth,
        ESYS_TR *ret_auth_handle)
{
        ESYS_TR h = how == TPM_NV_AUTH_OWNER ? ESYS_TR_RH_OWNER : tr;
        int r;

        r = tpm_tr_set_auth(c, h, auth);
        if (r < 0)
                return r;
        *ret_auth_handle = h;
        return 0;
}

int tpm_nv_write(struct tpm_context *c, uint32_t index, enum tpm_nv_auth how, const struct secret *auth,
        const void *data, size_t size)
{
        ESYS_TR tr = ESYS_TR_NONE, auth_handle;
        const uint8_t *p = data;
        size_t off = 0;
        int r = 0;

        assert(c && (data || size == 0));
        if (!nv_index_valid(index) || size == 0 || size > UINT16_MAX)
                return -EINVAL;
        r = tpm_tr_from_handle(c, index, &tr);
        if (r < 0)
                return r;
        r = nv_auth_setup(c, tr, how, auth, &auth_handle);
        while (r >= 0 && off < size) {
                TPM2B_MAX_NV_BUFFER buf = {};
                size_t n = size - off > NV_CHUNK ? NV_CHUNK : size - off;
                TSS2_RC rc;

                buf.size = (UINT16)n;
                memcpy(buf.buffer, p + off, n);
                TPM_RETRY(rc, Esys_NV_Write(c->esys, auth_handle, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                      ESYS_TR_NONE, &buf, (UINT16)off));
                explicit_bzero(&buf, sizeof(buf));
                if (rc != TSS2_RC_SUCCESS)
                        r = tpm_rc_log(rc, "TPM2_NV_Write");
                off += n;
        }
        (void)tpm_tr_set_auth(c, how == TPM_NV_AUTH_OWNER ? ESYS_TR_RH_OWNER : tr, NULL);
        tpm_tr_close(c, &tr);
        return r < 0 ? r : 0;
}

int tpm_nv_read_public(struct tpm_context *c, uint32_t index, uint32_t *ret_attributes, uint16_t *ret_size,
        uint8_t *ret_auth_policy, size_t *ret_auth_policy_size, uint8_t ret_name[POLICY_NAME_MAX],
        size_t *ret_name_size)
{
        _cleanup_(esys_freep) TPM2B_NV_PUBLIC *pub = NULL;
        _cleanup_(esys_freep) TPM2B_NAME *name = NULL;
        ESYS_TR tr = ESYS_TR_NONE;
        TSS2_RC rc;
        int r;

        assert(c);
        if (!nv_index_valid(index))
                return -EINVAL;
        r = tpm_tr_from_handle(c, index, &tr);
        if (r < 0)
                return r;
        TPM_RETRY(
                rc, Esys_NV_ReadPublic(c->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, &name));
        tpm_tr_close(c, &tr);
        if (rc != TSS2_RC_SUCCESS)
                return tpm_rc_log(rc, "TPM2_NV_ReadPublic");
        if (name->size > POLICY_NAME_MAX || pub->nvPublic.authPolicy.size > DIGEST_MAX_SIZE)
                return -EIO;

        if (ret_attributes)
                *ret_attributes = pub->nvPublic.attributes;
        if (ret_size)
                *ret_size = pub->nvPublic.dataSize;
        if (ret_auth_policy) {
                memcpy(ret_auth_policy, pub->nvPublic.authPolicy.buffer, pub->nvPublic.authPolicy.size);
                *ret_auth_policy_size = pub->nvPublic.authPolicy.size;
        }
        if (ret_name) {
                memcpy(ret_name, name->name, name->size);
                *ret_name_size = name->size;
        }
        return 0;
}

int tpm_nv_read(struct tpm_context *c, uint32_t index, enum tpm_nv_auth how, const struct secret *auth,
        uint8_t **ret, size_t *ret_size)
{
        _cleanup_free_ uint8_t *data = NULL;
        ESYS_TR tr = ESYS_TR_NONE, auth_handle;
        uint16_t size = 0, off = 0;
        int r;

        assert(c && ret && ret_size);
        r = tpm_nv_read_public(c, index, NULL, &size, NULL, NULL, NULL, NULL);
        if (r < 0)
                return r;
        data = malloc(size);
        if (!data)
                return -ENOMEM;
        r = tpm_tr_from_handle(c, index, &tr);
        if (r < 0)
                return r;
        r = nv_auth_setup(c, tr, how, auth, &auth_handle);
        while (r >= 0 && off < size) {
                _cleanup_(esys_freep) TPM2B_MAX_NV_BUFFER *buf = NULL;
                uint16_t n = (uint16_t)(size - off > (int)NV_CHUNK ? NV_CHUNK : (unsigned)(size - off));
                TSS2_RC rc;

                TPM_RETRY(rc, Esys_NV_Read(c->esys, auth_handle, tr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                      ESYS_TR_NONE, n, off, &buf));
                if (rc != TSS2_RC_SUCCESS) {
                        r = tpm_rc_log(rc, "TPM2_NV_Read");
                        break;
                }
                if (buf->size != n) {
                        r = -EIO;
                        break;
                }
                memcpy(data + off, buf->buffer, n);
                off += n;
        }
        (void)tpm_tr_set_auth(c, how == TPM_NV_AUTH_OWNER ? ESYS_TR_RH_OWNER : tr, NULL);
        tpm_tr_close(c, &tr);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(data);
        *ret_size = size;
        return 0;
}
