/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "policy/tools/nv-provision.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/tboot/lcp.h"
#include "policy/tboot/vlp.h"
#include "tvam/shared/macro.h"
#include "tvam/tpm/tpm-nv.h"

const char *nv_policy_kind_to_string(enum nv_policy_kind kind)
{
        return kind == NV_POLICY_VLP ? "VLP" : "PO LCP";
}

uint32_t nv_policy_index(enum nv_policy_kind kind, unsigned which)
{
        assert(which < 2);
        if (kind == NV_POLICY_VLP)
                return which == 0 ? NV_VLP_INDEX_1 : NV_VLP_INDEX_2;
        return which == 0 ? NV_LCP_INDEX_1 : NV_LCP_INDEX_2;
}

uint32_t nv_policy_attributes(void)
{
        return TPM_NV_ATTR_OWNERWRITE | TPM_NV_ATTR_AUTHREAD | TPM_NV_ATTR_OWNERREAD | TPM_NV_ATTR_NO_DA;
}

/* The length of the VLP at the start of DATA (tb_policy.h
 * calc_policy_size()), so padding can be told from policy. */
static int vlp_length(const uint8_t *data, size_t size, size_t *ret)
{
        size_t off = VLP_HEADER_SIZE, hs;

        if (size < VLP_HEADER_SIZE)
                return -EBADMSG;
        hs = digest_size((enum digest_alg)data[2]);
        if (hs == 0)
                return -EBADMSG;
        for (unsigned i = 0; i < data[11]; i++) {
                if (size - off < VLP_ENTRY_HEADER_SIZE)
                        return -EBADMSG;
                off += VLP_ENTRY_HEADER_SIZE + (size_t)data[off + 7] * hs;
                if (off > size)
                        return -EBADMSG;
        }
        *ret = off;
        return 0;
}

static int validate(enum nv_policy_kind kind, const uint8_t *data, size_t size)
{
        if (kind == NV_POLICY_VLP) {
                _cleanup_(vlp_freep) struct vlp *vlp = NULL;
                if (size > NV_VLP_CAPACITY)
                        return -E2BIG;
                return vlp_decode(data, size, &vlp);
        }
        struct lcp_policy p;
        return lcp_policy_decode(data, size, &p);
}

static int ensure_index(
        struct tpm_context *c, uint32_t index, uint16_t size, const struct secret *owner_auth)
{
        struct tpm_nv_spec spec = {.index = index, .attributes = nv_policy_attributes(), .size = size};
        uint32_t attrs;
        uint16_t cur_size;
        uint8_t name[POLICY_NAME_MAX], auth_policy[DIGEST_MAX_SIZE];
        size_t name_size, policy_size = 0;
        int r;

        r = tpm_nv_read_public(c, index, &attrs, &cur_size, auth_policy, &policy_size, name, &name_size);
        if (r == -ENOENT)
                return tpm_nv_define(c, &spec, NULL, owner_auth);
        if (r < 0)
                return r;
        if ((attrs & ~TPM_NV_ATTR_WRITTEN) != spec.attributes || policy_size != 0)
                return -EEXIST;
        if (cur_size == size)
                return 0;
        /* Only the LCP index is sized by its content: redefine it. */
        r = tpm_nv_undefine(c, index, owner_auth);
        if (r < 0)
                return r;
        return tpm_nv_define(c, &spec, NULL, owner_auth);
}

int nv_policy_provision(struct tpm_context *c, enum nv_policy_kind kind, const uint8_t *data, size_t size,
        const struct secret *owner_auth)
{
        _cleanup_free_ uint8_t *buf = NULL;
        size_t nv_size = kind == NV_POLICY_VLP ? NV_VLP_CAPACITY : size;
        int r;

        assert(c && data);
        r = validate(kind, data, size);
        if (r < 0)
                return r;
        buf = calloc(1, nv_size); /* zero padding for the VLP */
        if (!buf)
                return -ENOMEM;
        memcpy(buf, data, size);

        for (unsigned i = 0; i < 2; i++) {
                uint32_t index = nv_policy_index(kind, i);
                r = ensure_index(c, index, (uint16_t)nv_size, owner_auth);
                if (r < 0)
                        return r;
                r = tpm_nv_write(c, index, TPM_NV_AUTH_OWNER, owner_auth, buf, nv_size);
                if (r < 0)
                        return r;
        }
        return 0;
}

int nv_policy_read(struct tpm_context *c, enum nv_policy_kind kind, uint8_t **ret, size_t *ret_size)
{
        _cleanup_free_ uint8_t *a = NULL, *b = NULL;
        size_t a_size, b_size, len;
        int r;

        assert(c && ret && ret_size);
        r = tpm_nv_read(c, nv_policy_index(kind, 0), TPM_NV_AUTH_INDEX, NULL, &a, &a_size);
        if (r < 0)
                return r;
        r = tpm_nv_read(c, nv_policy_index(kind, 1), TPM_NV_AUTH_INDEX, NULL, &b, &b_size);
        if (r < 0)
                return r;
        if (a_size != b_size || memcmp(a, b, a_size) != 0)
                return -EUCLEAN; /* the two sets disagree: a provisioning was interrupted */
        len = a_size;
        if (kind == NV_POLICY_VLP) {
                r = vlp_length(a, a_size, &len);
                if (r < 0)
                        return r;
                for (size_t i = len; i < a_size; i++)
                        if (a[i] != 0)
                                return -EBADMSG;
        }
        r = validate(kind, a, len);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(a);
        *ret_size = len;
        return 0;
}
