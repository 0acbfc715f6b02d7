/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/verify/tpm-types.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "tvam/shared/digest.h"

struct rd {
        const uint8_t *p;
        size_t size, off;
};

static bool rd_take(struct rd *r, size_t n, const uint8_t **ret)
{
        if (n > r->size - r->off)
                return false;
        *ret = r->p + r->off;
        r->off += n;
        return true;
}

static bool rd_u8(struct rd *r, uint8_t *v)
{
        const uint8_t *p;
        if (!rd_take(r, 1, &p))
                return false;
        *v = p[0];
        return true;
}

static bool rd_u16(struct rd *r, uint16_t *v)
{
        const uint8_t *p;
        if (!rd_take(r, 2, &p))
                return false;
        *v = (uint16_t)(p[0] << 8 | p[1]);
        return true;
}

static bool rd_u32(struct rd *r, uint32_t *v)
{
        const uint8_t *p;
        if (!rd_take(r, 4, &p))
                return false;
        *v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        return true;
}

static bool rd_u64(struct rd *r, uint64_t *v)
{
        uint32_t hi, lo;
        if (!rd_u32(r, &hi) || !rd_u32(r, &lo))
                return false;
        *v = (uint64_t)hi << 32 | lo;
        return true;
}

/* A TPM2B of at most MAX bytes into OUT. */
static bool rd_tpm2b(struct rd *r, uint8_t *out, size_t max, size_t *ret_size)
{
        uint16_t n;
        const uint8_t *p;
        if (!rd_u16(r, &n) || n > max || !rd_take(r, n, &p))
                return false;
        memcpy(out, p, n);
        *ret_size = n;
        return true;
}

int tpm_public_parse(const uint8_t *buf, size_t size, struct tpm_public *ret)
{
        struct tpm_public p = {};
        struct rd r = { .p = buf, .size = size };
        uint16_t outer, policy_size;
        const uint8_t *area, *policy;
        size_t start;
        uint8_t h[32];

        assert(buf || size == 0);
        assert(ret);
        if (!rd_u16(&r, &outer) || outer != size - 2)
                return -EBADMSG;
        start = r.off;
        if (!rd_u16(&r, &p.type) || !rd_u16(&r, &p.name_alg) || !rd_u32(&r, &p.attributes) ||
                !rd_u16(&r, &policy_size) || !rd_take(&r, policy_size, &policy))
                return -EBADMSG;
        if (p.name_alg != TPM_ALG_SHA256)
                return -EOPNOTSUPP;
        if (policy_size > sizeof(p.auth_policy))
                return -EBADMSG;
        memcpy(p.auth_policy, policy, policy_size);
        p.auth_policy_size = policy_size;

        /* TPMT_SYM_DEF_OBJECT: algorithm, and keyBits + mode unless NULL. */
        if (!rd_u16(&r, &p.sym_alg))
                return -EBADMSG;
        if (p.sym_alg != TPM_ALG_NULL && (!rd_u16(&r, &p.sym_bits) || !rd_u16(&r, &p.sym_mode)))
                return -EBADMSG;
        /* scheme, and its hash unless NULL */
        if (!rd_u16(&r, &p.scheme))
                return -EBADMSG;
        if (p.scheme != TPM_ALG_NULL && !rd_u16(&r, &p.scheme_hash))
                return -EBADMSG;

        if (p.type == TPM_ALG_ECC) {
                uint16_t kdf, kdf_hash;
                if (!rd_u16(&r, &p.curve) || !rd_u16(&r, &kdf))
                        return -EBADMSG;
                if (kdf != TPM_ALG_NULL && !rd_u16(&r, &kdf_hash))
                        return -EBADMSG;
                if (!rd_tpm2b(&r, p.x, sizeof(p.x), &p.x_size) || !rd_tpm2b(&r, p.y, sizeof(p.y), &p.y_size))
                        return -EBADMSG;
        } else if (p.type == TPM_ALG_RSA) {
                if (!rd_u16(&r, &p.key_bits) || !rd_u32(&r, &p.exponent) ||
                        !rd_tpm2b(&r, p.modulus, sizeof(p.modulus), &p.modulus_size))
                        return -EBADMSG;
        } else
                return -EOPNOTSUPP;
        if (r.off != r.size)
                return -EBADMSG;

        area = buf + start;
        if (digest_buffer(DIGEST_SHA256, area, r.off - start, h) < 0)
                return -EIO;
        p.name[0] = 0x00;
        p.name[1] = 0x0B;
        memcpy(p.name + 2, h, 32);
        *ret = p;
        return 0;
}

bool tpm_public_is_ak(const struct tpm_public *p)
{
        const uint32_t need = TPMA_FIXEDTPM | TPMA_FIXEDPARENT | TPMA_SENSITIVEDATAORIGIN | TPMA_RESTRICTED | TPMA_SIGN;
        return p->type == TPM_ALG_ECC && p->curve == TPM_ECC_NIST_P256 && p->scheme == TPM_ALG_ECDSA &&
                p->scheme_hash == TPM_ALG_SHA256 && (p->attributes & need) == need &&
                !(p->attributes & TPMA_DECRYPT) && p->x_size == 32 && p->y_size == 32;
}

int tpm_quote_parse(const uint8_t *buf, size_t size, struct tpm_quote *ret)
{
        struct tpm_quote q = {};
        struct rd r = { .p = buf, .size = size };
        uint32_t magic, count;
        uint16_t type;
        uint8_t safe, select_size;
        const uint8_t *sel;

        assert(buf || size == 0);
        assert(ret);
        if (!rd_u32(&r, &magic) || !rd_u16(&r, &type))
                return -EBADMSG;
        /* Part 2 §10.12.12: magic TPM_GENERATED_VALUE proves the TPM made
         * this structure (a restricted key signs nothing else with it). */
        if (magic != TPM_GENERATED_VALUE || type != TPM_ST_ATTEST_QUOTE)
                return -EBADMSG;
        if (!rd_tpm2b(&r, q.signer_name, sizeof(q.signer_name), &q.signer_name_size) ||
                !rd_tpm2b(&r, q.extra, sizeof(q.extra), &q.extra_size) || !rd_u64(&r, &q.clock) ||
                !rd_u32(&r, &q.reset_count) || !rd_u32(&r, &q.restart_count) || !rd_u8(&r, &safe) ||
                !rd_u64(&r, &q.firmware_version))
                return -EBADMSG;
        q.safe = safe != 0;
        if (!rd_u32(&r, &count) || count != 1)
                return -EBADMSG;
        if (!rd_u16(&r, &q.pcr_hash) || !rd_u8(&r, &select_size) || select_size < 3 || select_size > 4 ||
                !rd_take(&r, select_size, &sel))
                return -EBADMSG;
        if (select_size == 4 && sel[3] != 0)
                return -EBADMSG; /* PCRs beyond 23 */
        q.pcr_mask = (uint32_t)sel[0] | (uint32_t)sel[1] << 8 | (uint32_t)sel[2] << 16;
        if (!rd_tpm2b(&r, q.pcr_digest, sizeof(q.pcr_digest), &q.pcr_digest_size))
                return -EBADMSG;
        if (r.off != r.size)
                return -EBADMSG;
        *ret = q;
        return 0;
}

int tpm_signature_parse(const uint8_t *buf, size_t size, struct tpm_signature_ecdsa *ret)
{
        struct tpm_signature_ecdsa s = {};
        struct rd r = { .p = buf, .size = size };
        uint16_t alg;

        assert(buf || size == 0);
        assert(ret);
        if (!rd_u16(&r, &alg))
                return -EBADMSG;
        if (alg != TPM_ALG_ECDSA)
                return -EOPNOTSUPP;
        if (!rd_u16(&r, &s.hash) || !rd_tpm2b(&r, s.r, sizeof(s.r), &s.r_size) ||
                !rd_tpm2b(&r, s.s, sizeof(s.s), &s.s_size) || r.off != r.size)
                return -EBADMSG;
        *ret = s;
        return 0;
}

int tpm_certify_parse(const uint8_t *buf, size_t size, struct tpm_certify *ret)
{
        struct tpm_certify c = {};
        struct rd r = { .p = buf, .size = size };
        uint8_t signer[68], qualified[68], clock[17 + 8];
        size_t signer_size, qualified_size;
        uint32_t magic;
        uint16_t type;
        const uint8_t *skip;

        assert(buf || size == 0);
        assert(ret);
        if (!rd_u32(&r, &magic) || !rd_u16(&r, &type) || magic != TPM_GENERATED_VALUE || type != TPM_ST_ATTEST_CERTIFY)
                return -EBADMSG;
        if (!rd_tpm2b(&r, signer, sizeof(signer), &signer_size) || !rd_tpm2b(&r, c.extra, sizeof(c.extra), &c.extra_size) ||
                !rd_take(&r, sizeof(clock), &skip) || !rd_tpm2b(&r, c.name, sizeof(c.name), &c.name_size) ||
                !rd_tpm2b(&r, qualified, sizeof(qualified), &qualified_size) || r.off != r.size)
                return -EBADMSG;
        *ret = c;
        return 0;
}
