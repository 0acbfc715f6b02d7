/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/verify/base64.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tvam/shared/macro.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define BASE64_AVX2 1
#include <immintrin.h>
#endif

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_encode(const void *data, size_t size, char **ret)
{
        const uint8_t *p = data;
        char *out, *o;

        assert(data || size == 0);
        assert(ret);
        if (size > (SIZE_MAX - 1) / 4 * 3 - 3)
                return -EFBIG;
        out = malloc((size + 2) / 3 * 4 + 1);
        if (!out)
                return -ENOMEM;
        o = out;
        for (size_t i = 0; i < size; i += 3) {
                uint32_t v = (uint32_t)p[i] << 16;
                if (i + 1 < size)
                        v |= (uint32_t)p[i + 1] << 8;
                if (i + 2 < size)
                        v |= p[i + 2];
                *o++ = alphabet[v >> 18];
                *o++ = alphabet[(v >> 12) & 63];
                *o++ = i + 1 < size ? alphabet[(v >> 6) & 63] : '=';
                *o++ = i + 2 < size ? alphabet[v & 63] : '=';
        }
        *o = 0;
        *ret = out;
        return 0;
}

/*
 * Decoding tables: DECODE_N[c] is the 6 bits of alphabet character c at
 * position N of a quantum, already shifted into the 24-bit group; any other
 * byte (padding '=' and NUL included) sets BAD, above the group.  Four loads
 * and three ORs per quantum, and one check of the accumulated BAD bit at the
 * end instead of a branch per quantum: the evidence's event log is ~240 KB
 * of base64 decoded on every verification.
 */
#define BAD UINT32_C(0x01000000)
#define SEXTET(c)                                                                                           \
        ((c) >= 'A' && (c) <= 'Z' ? (c) - 'A' :                                                             \
                (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26 :                                                 \
                (c) >= '0' && (c) <= '9' ? (c) - '0' + 52 :                                                 \
                (c) == '+'               ? 62 :                                                             \
                (c) == '/'               ? 63 :                                                             \
                                           -1)
#define ENTRY(c, shift) (SEXTET(c) < 0 ? BAD : (uint32_t)SEXTET(c) << (shift))
#define ROW4(c, s) ENTRY(c, s), ENTRY((c) + 1, s), ENTRY((c) + 2, s), ENTRY((c) + 3, s)
#define ROW16(c, s) ROW4(c, s), ROW4((c) + 4, s), ROW4((c) + 8, s), ROW4((c) + 12, s)
#define ROW64(c, s) ROW16(c, s), ROW16((c) + 16, s), ROW16((c) + 32, s), ROW16((c) + 48, s)
#define TABLE(s) { ROW64(0, s), ROW64(64, s), ROW64(128, s), ROW64(192, s) }

static const uint32_t decode0[256] = TABLE(18), decode1[256] = TABLE(12), decode2[256] = TABLE(6),
                      decode3[256] = TABLE(0);

static uint32_t quantum(const unsigned char *q)
{
        return decode0[q[0]] | decode1[q[1]] | decode2[q[2]] | decode3[q[3]];
}

/* The last quantum, with padding (RFC 4648 §4), canonical bits only: 1-3
 * bytes to OUT.  Returns their number, or -EINVAL. */
static int decode_last(const unsigned char *q, uint8_t *out)
{
        uint32_t v = quantum(q), ab = decode0[q[0]] | decode1[q[1]];

        if (!(v & BAD)) {
                out[0] = (uint8_t)(v >> 16), out[1] = (uint8_t)(v >> 8), out[2] = (uint8_t)v;
                return 3;
        }
        if (ab & BAD)
                return -EINVAL;
        if (q[2] == '=' && q[3] == '=') {
                if (ab & (UINT32_C(15) << 12))
                        return -EINVAL;
                out[0] = (uint8_t)(ab >> 16);
                return 1;
        }
        if (!(decode2[q[2]] & BAD) && q[3] == '=') {
                if (decode2[q[2]] & (UINT32_C(3) << 6))
                        return -EINVAL;
                v = ab | decode2[q[2]];
                out[0] = (uint8_t)(v >> 16), out[1] = (uint8_t)(v >> 8);
                return 2;
        }
        return -EINVAL;
}

#ifdef BASE64_AVX2
/*
 * 32 characters a step with AVX2 (after W. Muła and D. Lemire, "Faster
 * Base64 Encoding and Decoding Using AVX2 Instructions", ACM TWEB 12(3),
 * 2018): classify each byte by range, add the offset of its range to get
 * its 6 bits, merge pairs with VPMADDUBSW and pairs of pairs with VPMADDWD,
 * and gather each 32-bit lane's 3 bytes with VPSHUFB.  Stops before a step
 * holding any byte outside the alphabet (padding included), which the
 * scalar loop then judges.  Decodes whole steps while at least 40 characters
 * remain, so the last quantum is left to the scalar code and the 16-byte
 * stores (12 bytes used) stay inside an output of LEN / 4 * 3 + 1 bytes.
 * Returns the number of characters decoded (a multiple of 32).
 */
__attribute__((target("avx2"))) static size_t decode_avx2(const unsigned char *q, size_t len, uint8_t *out)
{
        /* per 128-bit half: bytes 2, 1, 0 of each 32-bit lane, then 4 unused */
        const __m256i order = _mm256_setr_epi8(
                2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
                2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
        size_t i = 0;

        for (; len - i >= 40; i += 32, out += 24) {
                __m256i c = _mm256_loadu_si256((const __m256i *)(q + i));
                /* signed compares: bytes >= 0x80 are negative, in no range */
                __m256i upper = _mm256_and_si256(_mm256_cmpgt_epi8(c, _mm256_set1_epi8('A' - 1)),
                        _mm256_cmpgt_epi8(_mm256_set1_epi8('Z' + 1), c));
                __m256i lower = _mm256_and_si256(_mm256_cmpgt_epi8(c, _mm256_set1_epi8('a' - 1)),
                        _mm256_cmpgt_epi8(_mm256_set1_epi8('z' + 1), c));
                __m256i digit = _mm256_and_si256(_mm256_cmpgt_epi8(c, _mm256_set1_epi8('0' - 1)),
                        _mm256_cmpgt_epi8(_mm256_set1_epi8('9' + 1), c));
                __m256i plus = _mm256_cmpeq_epi8(c, _mm256_set1_epi8('+'));
                __m256i slash = _mm256_cmpeq_epi8(c, _mm256_set1_epi8('/'));
                __m256i valid = _mm256_or_si256(_mm256_or_si256(upper, lower),
                        _mm256_or_si256(digit, _mm256_or_si256(plus, slash)));
                __m256i offset, v;

                if (_mm256_movemask_epi8(valid) != -1)
                        break;
                offset = _mm256_or_si256(
                        _mm256_or_si256(_mm256_and_si256(upper, _mm256_set1_epi8(-'A')),
                                _mm256_and_si256(lower, _mm256_set1_epi8(26 - 'a'))),
                        _mm256_or_si256(_mm256_and_si256(digit, _mm256_set1_epi8(52 - '0')),
                                _mm256_or_si256(_mm256_and_si256(plus, _mm256_set1_epi8(62 - '+')),
                                        _mm256_and_si256(slash, _mm256_set1_epi8(63 - '/')))));
                v = _mm256_add_epi8(c, offset);
                /* (a, b, c, d) -> a << 6 | b, c << 6 | d -> a << 18 | b << 12 | c << 6 | d */
                v = _mm256_maddubs_epi16(v, _mm256_set1_epi32(0x01400140));
                v = _mm256_madd_epi16(v, _mm256_set1_epi32(0x00011000));
                v = _mm256_shuffle_epi8(v, order);
                _mm_storeu_si128((__m128i *)out, _mm256_castsi256_si128(v));
                _mm_storeu_si128((__m128i *)(out + 12), _mm256_extracti128_si256(v, 1));
        }
        return i;
}

static size_t decode_fast(const unsigned char *q, size_t len, uint8_t *out)
{
        return __builtin_cpu_supports("avx2") ? decode_avx2(q, len, out) : 0;
}
#else
static size_t decode_fast(_unused_ const unsigned char *q, _unused_ size_t len, _unused_ uint8_t *out)
{
        return 0;
}
#endif

int base64_decode_n(const char *text, size_t len, uint8_t **ret, size_t *ret_size)
{
        const unsigned char *q = (const unsigned char *)text;
        _cleanup_free_ uint8_t *out = NULL;
        uint32_t bad = 0;
        size_t n = 0;
        int r;

        assert((text || len == 0) && ret && ret_size);
        if (len % 4 != 0)
                return -EINVAL;
        out = malloc(len / 4 * 3 + 1);
        if (!out)
                return -ENOMEM;
        if (len > 0) {
                const unsigned char *last = q + len - 4;
                size_t done = decode_fast(q, len, out);

                q += done;
                n = done / 4 * 3;
                /* Every quantum but the last: four alphabet characters. */
                for (; q < last; q += 4, n += 3) {
                        uint32_t v = quantum(q);
                        bad |= v;
                        out[n] = (uint8_t)(v >> 16), out[n + 1] = (uint8_t)(v >> 8), out[n + 2] = (uint8_t)v;
                }
                if (bad & BAD)
                        return -EINVAL;
                r = decode_last(q, out + n);
                if (r < 0)
                        return r;
                n += (size_t)r;
        }
        *ret = TAKE_PTR(out);
        *ret_size = n;
        return 0;
}

int base64_decode(const char *text, uint8_t **ret, size_t *ret_size)
{
        assert(text);
        return base64_decode_n(text, strlen(text), ret, ret_size);
}
