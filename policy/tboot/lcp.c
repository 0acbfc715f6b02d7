/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "policy/tboot/lcp.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define ELEMENT_HEADER_SIZE 12u
#define MLE2_HEADER_SIZE 6u
#define LIST_HEADER_SIZE 8u
#define DATA_HEADER_SIZE 36u
#define POLICY_FIXED_SIZE 38u
#define SIGNATURE_SIZE 32u

static void put16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
        put16(p, (uint16_t)v);
        put16(p + 2, (uint16_t)(v >> 16));
}

static uint16_t get16(const uint8_t *p)
{
        return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
        return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

uint16_t lcp_hash_mask_of(enum digest_alg alg)
{
        switch (alg) {
        case DIGEST_SHA1:
                return LCP_HASH_MASK_SHA1;
        case DIGEST_SHA256:
                return LCP_HASH_MASK_SHA256;
        case DIGEST_SHA384:
                return LCP_HASH_MASK_SHA384;
        case DIGEST_SHA512:
                return LCP_HASH_MASK_SHA512;
        }
        return 0;
}

int lcp_sign_mask_from_string(const char *name, uint32_t *ret)
{
        static const struct {
                const char *name;
                uint32_t bit;
        } table[] = {
                {"rsa-2048-sha1", LCP_SIGN_RSA2048_SHA1},
                {"rsa-2048-sha256", LCP_SIGN_RSA2048_SHA256},
                {"rsa-3072-sha256", LCP_SIGN_RSA3072_SHA256},
                {"rsa-3072-sha384", LCP_SIGN_RSA3072_SHA384},
                {"ecdsa-p256", LCP_SIGN_ECDSA_P256},
                {"ecdsa-p384", LCP_SIGN_ECDSA_P384},
                {"sm2", LCP_SIGN_SM2},
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (strcmp(name, table[i].name) == 0) {
                        *ret = table[i].bit;
                        return 0;
                }
        return -EINVAL;
}

static bool alg_supported(enum digest_alg alg)
{
        return lcp_hash_mask_of(alg) != 0;
}

void lcp_policy_data_free(struct lcp_policy_data *d)
{
        if (!d)
                return;
        for (size_t i = 0; i < d->n_lists; i++) {
                for (size_t j = 0; j < d->lists[i].n_elements; j++)
                        free(d->lists[i].elements[j].data);
                free(d->lists[i].elements);
        }
        free(d);
}

static int list_append(struct lcp_list *l, const struct lcp_element *e)
{
        struct lcp_element *grown = realloc(l->elements, (l->n_elements + 1) * sizeof(*grown));

        if (!grown)
                return -ENOMEM;
        l->elements = grown;
        l->elements[l->n_elements++] = *e;
        return 0;
}

int lcp_list_add_mle(struct lcp_list *list, enum digest_alg alg, uint8_t sinit_min_version, uint32_t control,
        const uint8_t *hashes, size_t n_hashes)
{
        size_t n = digest_size(alg);
        struct lcp_element e = {.type = LCP_ELEMENT_MLE2, .control = control};
        int r;

        assert(list && (hashes || n_hashes == 0));
        if (!alg_supported(alg) || n_hashes == 0 || n_hashes > UINT16_MAX)
                return -EINVAL;
        e.data_size = MLE2_HEADER_SIZE + n_hashes * n;
        e.data = malloc(e.data_size);
        if (!e.data)
                return -ENOMEM;
        e.data[0] = sinit_min_version;
        e.data[1] = 0; /* reserved */
        put16(e.data + 2, (uint16_t)alg);
        put16(e.data + 4, (uint16_t)n_hashes);
        memcpy(e.data + MLE2_HEADER_SIZE, hashes, n_hashes * n);
        r = list_append(list, &e);
        if (r < 0)
                free(e.data);
        return r;
}

/* ---- encoders ---------------------------------------------------------- */

static size_t element_size(const struct lcp_element *e)
{
        return ELEMENT_HEADER_SIZE + e->data_size;
}

static size_t list_size(const struct lcp_list *l)
{
        size_t s = LIST_HEADER_SIZE;
        for (size_t i = 0; i < l->n_elements; i++)
                s += element_size(&l->elements[i]);
        return s;
}

static uint8_t *put_element(uint8_t *p, const struct lcp_element *e)
{
        put32(p, (uint32_t)element_size(e));
        put32(p + 4, e->type);
        put32(p + 8, e->control);
        memcpy(p + ELEMENT_HEADER_SIZE, e->data, e->data_size);
        return p + element_size(e);
}

static uint8_t *put_list(uint8_t *p, const struct lcp_list *l)
{
        put16(p, LCP_LIST_VERSION_2_0);
        put16(p + 2, LCP_ALG_NULL); /* unsigned list: no signature follows */
        put32(p + 4, (uint32_t)(list_size(l) - LIST_HEADER_SIZE));
        p += LIST_HEADER_SIZE;
        for (size_t i = 0; i < l->n_elements; i++)
                p = put_element(p, &l->elements[i]);
        return p;
}

int lcp_element_encode(const struct lcp_element *e, uint8_t **ret, size_t *ret_size)
{
        uint8_t *buf;

        assert(e && ret && ret_size);
        if (element_size(e) > UINT32_MAX)
                return -E2BIG;
        buf = malloc(element_size(e));
        if (!buf)
                return -ENOMEM;
        put_element(buf, e);
        *ret = buf;
        *ret_size = element_size(e);
        return 0;
}

int lcp_list_encode(const struct lcp_list *l, uint8_t **ret, size_t *ret_size)
{
        uint8_t *buf;

        assert(l && ret && ret_size);
        if (list_size(l) > UINT32_MAX)
                return -E2BIG;
        buf = malloc(list_size(l));
        if (!buf)
                return -ENOMEM;
        put_list(buf, l);
        *ret = buf;
        *ret_size = list_size(l);
        return 0;
}

int lcp_policy_data_encode(const struct lcp_policy_data *d, uint8_t **ret, size_t *ret_size)
{
        size_t size = DATA_HEADER_SIZE;
        uint8_t *buf, *p;

        assert(d && ret && ret_size);
        if (d->n_lists == 0 || d->n_lists > LCP_MAX_LISTS)
                return -EINVAL;
        for (size_t i = 0; i < d->n_lists; i++)
                size += list_size(&d->lists[i]);
        buf = calloc(1, size);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, LCP_POLICY_DATA_SIGNATURE, strlen(LCP_POLICY_DATA_SIGNATURE)); /* NUL-padded */
        buf[35] = (uint8_t)d->n_lists;
        p = buf + DATA_HEADER_SIZE;
        for (size_t i = 0; i < d->n_lists; i++)
                p = put_list(p, &d->lists[i]);
        assert((size_t)(p - buf) == size);
        *ret = buf;
        *ret_size = size;
        return 0;
}

int lcp_policy_data_hash(const struct lcp_policy_data *d, enum digest_alg alg, uint8_t *ret)
{
        uint8_t list_hashes[LCP_MAX_LISTS * DIGEST_MAX_SIZE];
        size_t n = digest_size(alg);
        int r;

        assert(d && ret);
        if (!alg_supported(alg) || d->n_lists == 0 || d->n_lists > LCP_MAX_LISTS)
                return -EINVAL;
        for (size_t i = 0; i < d->n_lists; i++) {
                _cleanup_free_ uint8_t *list = NULL;
                size_t size;
                r = lcp_list_encode(&d->lists[i], &list, &size);
                if (r < 0)
                        return r;
                /* An unsigned list is measured as the hash of all its bytes. */
                r = digest_buffer(alg, list, size, list_hashes + i * n);
                if (r < 0)
                        return r;
        }
        return digest_buffer(alg, list_hashes, d->n_lists * n, ret);
}

int lcp_policy_encode(const struct lcp_policy *p, uint8_t **ret, size_t *ret_size)
{
        size_t n = digest_size(p->alg), size = POLICY_FIXED_SIZE + n;
        uint8_t *buf;

        assert(p && ret && ret_size);
        if (!alg_supported(p->alg) || p->type > LCP_POLICY_TYPE_ANY)
                return -EINVAL;
        buf = calloc(1, size);
        if (!buf)
                return -ENOMEM;
        put16(buf, LCP_POLICY_VERSION_3_0);
        put16(buf + 2, (uint16_t)p->alg);
        buf[4] = p->type;
        buf[5] = p->sinit_min_version;
        for (unsigned i = 0; i < LCP_MAX_LISTS; i++)
                put16(buf + 6 + 2 * i, p->revocation[i]);
        put32(buf + 22, p->control);
        buf[26] = p->max_sinit_min_version;
        buf[27] = p->max_biosac_min_version;
        put16(buf + 28, p->hash_mask);
        put32(buf + 30, p->sign_mask);
        put16(buf + 34, p->aux_mask);
        put16(buf + 36, 0); /* reserved */
        memcpy(buf + POLICY_FIXED_SIZE, p->policy_hash, n);
        *ret = buf;
        *ret_size = size;
        return 0;
}

/* ---- strict decoders ------------------------------------------------------ */

int lcp_policy_decode(const uint8_t *data, size_t size, struct lcp_policy *ret)
{
        struct lcp_policy p = {};
        size_t n;

        assert((data || size == 0) && ret);
        if (size < POLICY_FIXED_SIZE || get16(data) != LCP_POLICY_VERSION_3_0)
                return -EBADMSG;
        p.alg = (enum digest_alg)get16(data + 2);
        if (!alg_supported(p.alg))
                return -EBADMSG;
        n = digest_size(p.alg);
        if (size != POLICY_FIXED_SIZE + n)
                return -EBADMSG;
        p.type = data[4];
        if (p.type > LCP_POLICY_TYPE_ANY)
                return -EBADMSG;
        p.sinit_min_version = data[5];
        for (unsigned i = 0; i < LCP_MAX_LISTS; i++)
                p.revocation[i] = get16(data + 6 + 2 * i);
        p.control = get32(data + 22);
        p.max_sinit_min_version = data[26];
        p.max_biosac_min_version = data[27];
        p.hash_mask = get16(data + 28);
        p.sign_mask = get32(data + 30);
        p.aux_mask = get16(data + 34);
        if (get16(data + 36) != 0)
                return -EBADMSG;
        memcpy(p.policy_hash, data + POLICY_FIXED_SIZE, n);
        *ret = p;
        return 0;
}

static int decode_mle2(const uint8_t *d, size_t size)
{
        enum digest_alg alg;

        if (size < MLE2_HEADER_SIZE || d[1] != 0)
                return -EBADMSG;
        alg = (enum digest_alg)get16(d + 2);
        if (!alg_supported(alg) || get16(d + 4) == 0)
                return -EBADMSG;
        if (size != MLE2_HEADER_SIZE + (size_t)get16(d + 4) * digest_size(alg))
                return -EBADMSG;
        return 0;
}

static int decode_list(const uint8_t *data, size_t size, size_t *off, struct lcp_list *l)
{
        size_t end, elements_size;
        int r;

        if (size - *off < LIST_HEADER_SIZE)
                return -EBADMSG;
        /* Only unsigned version 2.0 lists (what TVAM writes). */
        if (get16(data + *off) != LCP_LIST_VERSION_2_0 || get16(data + *off + 2) != LCP_ALG_NULL)
                return -EBADMSG;
        elements_size = get32(data + *off + 4);
        *off += LIST_HEADER_SIZE;
        if (size - *off < elements_size)
                return -EBADMSG;
        end = *off + elements_size;
        while (*off < end) {
                struct lcp_element e = {};
                uint32_t esize;

                if (end - *off < ELEMENT_HEADER_SIZE)
                        return -EBADMSG;
                esize = get32(data + *off);
                if (esize < ELEMENT_HEADER_SIZE || esize > end - *off)
                        return -EBADMSG;
                e.type = get32(data + *off + 4);
                e.control = get32(data + *off + 8);
                e.data_size = esize - ELEMENT_HEADER_SIZE;
                if (e.type == LCP_ELEMENT_MLE2) {
                        r = decode_mle2(data + *off + ELEMENT_HEADER_SIZE, e.data_size);
                        if (r < 0)
                                return r;
                }
                e.data = malloc(e.data_size ? e.data_size : 1);
                if (!e.data)
                        return -ENOMEM;
                memcpy(e.data, data + *off + ELEMENT_HEADER_SIZE, e.data_size);
                r = list_append(l, &e);
                if (r < 0) {
                        free(e.data);
                        return r;
                }
                *off += esize;
        }
        return 0;
}

int lcp_policy_data_decode(const uint8_t *data, size_t size, struct lcp_policy_data **ret)
{
        _cleanup_(lcp_policy_data_freep) struct lcp_policy_data *d = NULL;
        uint8_t signature[SIGNATURE_SIZE] = {};
        size_t off = DATA_HEADER_SIZE;
        int r;

        assert((data || size == 0) && ret);
        memcpy(signature, LCP_POLICY_DATA_SIGNATURE, strlen(LCP_POLICY_DATA_SIGNATURE));
        if (size < DATA_HEADER_SIZE || memcmp(data, signature, SIGNATURE_SIZE) != 0)
                return -EBADMSG;
        if (data[32] || data[33] || data[34] || data[35] == 0 || data[35] > LCP_MAX_LISTS)
                return -EBADMSG;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        for (unsigned i = 0; i < data[35]; i++) {
                d->n_lists++;
                r = decode_list(data, size, &off, &d->lists[i]);
                if (r < 0)
                        return r;
        }
        if (off != size)
                return -EBADMSG;
        *ret = TAKE_PTR(d);
        return 0;
}
