/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/tpm/tpm-blob.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "policy/pcr/policy.h"
#include "tvam/tpm/tpm-nv.h"

static uint16_t get_be16(const uint8_t *p)
{
        return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

static bool bank_valid(uint16_t alg)
{
        return alg == TPM2_ALG_SHA1 || alg == TPM2_ALG_SHA256 || alg == TPM2_ALG_SHA384 ||
               alg == TPM2_ALG_SHA512;
}

void tpm_blob_free(struct tpm_blob *b)
{
        free(b);
}

/* A sealed data object that can only be used through its policy. */
static int check_public(struct tpm_blob *b, const TPM2B_PUBLIC *pub)
{
        const TPMT_PUBLIC *p = &pub->publicArea;
        const TPMA_OBJECT required = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT;
        const TPMA_OBJECT forbidden = TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                                      TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_DECRYPT |
                                      TPMA_OBJECT_RESTRICTED;

        if (p->type != TPM2_ALG_KEYEDHASH || p->nameAlg != TPM2_ALG_SHA256 ||
                p->parameters.keyedHashDetail.scheme.scheme != TPM2_ALG_NULL)
                return -EBADMSG;
        if ((p->objectAttributes & required) != required || (p->objectAttributes & forbidden) != 0)
                return -EBADMSG;
        if (p->authPolicy.size != digest_size(DIGEST_SHA256))
                return -EBADMSG;
        memcpy(b->auth_policy, p->authPolicy.buffer, p->authPolicy.size);
        return 0;
}

/* For kind 1 the header must describe exactly the policy the TPM enforces. */
static int check_pcr_policy(const struct tpm_blob *b)
{
        struct policy p;
        int r;

        r = policy_init(&p, DIGEST_SHA256);
        if (r < 0)
                return r;
        r = policy_pcr_bank(&p, &b->pcrs, b->pcr_mask);
        if (r < 0)
                return -EBADMSG;
        return memcmp(p.digest, b->auth_policy, policy_size(&p)) == 0 ? 0 : -EBADMSG;
}

int tpm_blob_parse(const uint8_t *data, size_t size, struct tpm_blob **ret)
{
        _cleanup_tpm_blob_ struct tpm_blob *b = NULL;
        TPM2B_PUBLIC pub = {};
        TPM2B_PRIVATE priv = {};
        size_t off, start;
        uint16_t version, kind, bank;
        int r;

        assert(ret);
        if (!data || size < TPM_BLOB_HEADER_SIZE || size > TPM_BLOB_SIZE_MAX)
                return -EBADMSG;
        if (memcmp(data, TPM_BLOB_MAGIC, 8) != 0)
                return -EBADMSG;
        version = get_be16(data + 8);
        if (version != TPM_BLOB_VERSION)
                return -EPROTONOSUPPORT;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;

        kind = get_be16(data + 10);
        bank = get_be16(data + 12);
        b->pcr_mask = get_be32(data + 14);
        b->nv_index = get_be32(data + 18);
        off = TPM_BLOB_HEADER_SIZE;

        switch (kind) {
        case TPM_BLOB_PCR:
                if (!bank_valid(bank) || b->pcr_mask == 0 || (b->pcr_mask & ~PCR_MASK_ALL) ||
                        b->nv_index != 0)
                        return -EBADMSG;
                r = pcr_bank_init(&b->pcrs, (enum digest_alg)bank);
                if (r < 0)
                        return -EBADMSG;
                for (unsigned i = 0; i < PCR_COUNT; i++) {
                        size_t n = digest_size(b->pcrs.alg);
                        if (!(b->pcr_mask & (UINT32_C(1) << i)))
                                continue;
                        if (size - off < n)
                                return -EBADMSG;
                        memcpy(b->pcrs.values[i], data + off, n);
                        off += n;
                }
                break;
        case TPM_BLOB_AUTHORIZE_NV:
                if (bank != 0 || b->pcr_mask != 0 || b->nv_index < TPM_NV_INDEX_FIRST ||
                        b->nv_index > TPM_NV_INDEX_LAST)
                        return -EBADMSG;
                (void)pcr_bank_init(&b->pcrs, DIGEST_SHA256);
                break;
        default:
                return -EBADMSG;
        }
        b->kind = (enum tpm_blob_kind)kind;

        /* The marshalled TPM2B_PUBLIC: the unmarshaller checks every field
         * and the inner size against what it consumed. */
        start = off;
        if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(data, size, &off, &pub) != TSS2_RC_SUCCESS)
                return -EBADMSG;
        if (off - start > TPM_BLOB_PART_MAX)
                return -EBADMSG;
        b->public_size = off - start;
        memcpy(b->public_area, data + start, b->public_size);

        start = off;
        if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(data, size, &off, &priv) != TSS2_RC_SUCCESS)
                return -EBADMSG;
        if (priv.size == 0 || off - start > TPM_BLOB_PART_MAX)
                return -EBADMSG;
        b->private_size = off - start;
        memcpy(b->private_area, data + start, b->private_size);

        if (off != size)
                return -EBADMSG; /* trailing bytes */

        r = check_public(b, &pub);
        if (r < 0)
                return r;
        if (b->kind == TPM_BLOB_PCR) {
                r = check_pcr_policy(b);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(b);
        return 0;
}

int tpm_blob_serialize(const struct tpm_blob *b, uint8_t **ret, size_t *ret_size)
{
        _cleanup_free_ uint8_t *out = NULL;
        size_t off = TPM_BLOB_HEADER_SIZE;

        assert(b && ret && ret_size);
        if (b->public_size > TPM_BLOB_PART_MAX || b->private_size > TPM_BLOB_PART_MAX ||
                (b->pcr_mask & ~PCR_MASK_ALL))
                return -EINVAL;
        out = malloc(TPM_BLOB_SIZE_MAX);
        if (!out)
                return -ENOMEM;

        memcpy(out, TPM_BLOB_MAGIC, 8);
        put_be16(out + 8, TPM_BLOB_VERSION);
        put_be16(out + 10, (uint16_t)b->kind);
        put_be16(out + 12, b->kind == TPM_BLOB_PCR ? (uint16_t)b->pcrs.alg : 0);
        put_be32(out + 14, b->pcr_mask);
        put_be32(out + 18, b->nv_index);
        for (unsigned i = 0; i < PCR_COUNT; i++) {
                size_t n = digest_size(b->pcrs.alg);
                if (!(b->pcr_mask & (UINT32_C(1) << i)))
                        continue;
                memcpy(out + off, b->pcrs.values[i], n);
                off += n;
        }
        memcpy(out + off, b->public_area, b->public_size);
        off += b->public_size;
        memcpy(out + off, b->private_area, b->private_size);
        off += b->private_size;

        *ret = TAKE_PTR(out);
        *ret_size = off;
        return 0;
}

int tpm_blob_new(enum tpm_blob_kind kind, const struct pcr_bank *pcrs, uint32_t pcr_mask, uint32_t nv_index,
        const uint8_t *public_area, size_t public_size, const uint8_t *private_area, size_t private_size,
        struct tpm_blob **ret)
{
        _cleanup_tpm_blob_ struct tpm_blob *b = NULL;
        _cleanup_free_ uint8_t *bytes = NULL;
        size_t n = 0;
        int r;

        assert(ret);
        if (!public_area || !private_area || public_size > TPM_BLOB_PART_MAX ||
                private_size > TPM_BLOB_PART_MAX || (kind == TPM_BLOB_PCR && !pcrs))
                return -EINVAL;
        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->kind = kind;
        b->pcr_mask = pcr_mask;
        b->nv_index = nv_index;
        if (pcrs)
                b->pcrs = *pcrs;
        else
                (void)pcr_bank_init(&b->pcrs, DIGEST_SHA256);
        memcpy(b->public_area, public_area, public_size);
        b->public_size = public_size;
        memcpy(b->private_area, private_area, private_size);
        b->private_size = private_size;

        /* One code path validates: round-trip through the parser. */
        r = tpm_blob_serialize(b, &bytes, &n);
        if (r < 0)
                return r;
        return tpm_blob_parse(bytes, n, ret);
}
