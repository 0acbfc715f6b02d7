/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the verifier (tvam/verify), no TPM: known-answer vectors
 * (base64 RFC 4648 §10, KDFa and TPM Names computed independently with
 * Python), strict parsers, and verify_evidence() on evidence whose quote is
 * built and signed in software exactly as a TPM lays it out — every verdict
 * cause, each named.  (The same verdicts on TPM-made quotes: attest-verify.)
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "tvam/eventlog/eventlog.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/verify/base64.h"
#include "tvam/verify/crypto.h"
#include "tvam/verify/manifest.h"
#include "tvam/verify/tpm-types.h"
#include "tvam/verify/verify.h"

static void assert_hex(const uint8_t *v, size_t n, const char *hex)
{
        char *s = NULL;
        assert_int_equal(hex_encode(v, n, &s), 0);
        assert_string_equal(s, hex);
        free(s);
}

static void test_base64(void **state)
{
        static const char *const vec[][2] = {
                { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
                { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
        };
        static const char *const bad[] = { "Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zm9v\n", "Zm 9", "=Zm9", "Zg==Zg==",
                "Zm8=Zm8=" };
        uint8_t *out;
        size_t n;
        char *s;

        (void)state;
        for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
                assert_int_equal(base64_encode(vec[i][0], strlen(vec[i][0]), &s), 0);
                assert_string_equal(s, vec[i][1]);
                free(s);
                assert_int_equal(base64_decode(vec[i][1], &out, &n), 0);
                assert_int_equal(n, strlen(vec[i][0]));
                assert_memory_equal(out, vec[i][0], n);
                free(out);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(base64_decode(bad[i], &out, &n), -EINVAL);
}

static void test_kdfa(void **state)
{
        uint8_t key[32], ctx[34], out[64];

        (void)state;
        for (int i = 0; i < 32; i++)
                key[i] = (uint8_t)i;
        ctx[0] = 0x00, ctx[1] = 0x0b;
        memset(ctx + 2, 0xaa, 32);
        assert_int_equal(crypto_kdfa_sha256(key, 32, "STORAGE", ctx, 34, NULL, 0, 128, out), 0);
        assert_hex(out, 16, "0415b32b6f43896a87e7b29be8f2ac14");
        assert_int_equal(crypto_kdfa_sha256(key, 32, "INTEGRITY", NULL, 0, NULL, 0, 256, out), 0);
        assert_hex(out, 32, "bacf689f634ece301e1f1b15b072d9c87db6a69585db42b1a0cb8f73ebe2692e");
        /* two HMAC blocks */
        assert_int_equal(crypto_kdfa_sha256(key, 32, "TEST", NULL, 0, NULL, 0, 512, out), 0);
        assert_hex(out, 64,
                "bf3d135f7e4c2b7176681460fd4f46cea89fc3560cb69fa3191d02890aeb4986a704807b81096c29ecb94a734e3ef3a208fc1e3159db2e32ab50a0528c13fc96");
}

static void test_kdfe(void **state)
{
        uint8_t z[32], u[32], v[32], out[32];

        (void)state;
        for (int i = 0; i < 32; i++)
                z[i] = (uint8_t)i;
        memset(u, 0x11, 32);
        memset(v, 0x22, 32);
        assert_int_equal(crypto_kdfe_sha256(z, 32, "IDENTITY", u, 32, v, 32, 256, out), 0);
        assert_hex(out, 32, "cbce7a80e1b35da754dc24ec97f8c9ef9281bf9944c930765256ae6ea7d59f0e");
}

static const char ak_hex[] =
        "00580023000b00050472000000100018000b0003001000200101010101010101010101010101010101010101010101010101010101010101"
        "00200202020202020202020202020202020202020202020202020202020202020202";

static void test_public_parse(void **state)
{
        struct tpm_public p;
        uint8_t *buf;
        size_t n;

        (void)state;
        assert_int_equal(hex_decode(ak_hex, &buf, &n), 0);
        assert_int_equal(tpm_public_parse(buf, n, &p), 0);
        assert_true(tpm_public_is_ak(&p));
        /* Name = nameAlg || SHA-256(TPMT_PUBLIC) (Part 1 §16) */
        assert_hex(p.name, 34, "000b15d484247d1c8f0f75bed9278b3adb25802fad7180f6b0dae75e6c19dbe0c87c");
        for (size_t i = 0; i < n; i++)
                assert_int_not_equal(tpm_public_parse(buf, i, &p), 0);
        /* an unrestricted key is not an AK */
        buf[2 + 5] &= (uint8_t)~0x01; /* attributes (big-endian) bit 16: restricted */
        assert_int_equal(tpm_public_parse(buf, n, &p), 0);
        assert_false(tpm_public_is_ak(&p));
        free(buf);
}

/* ---- a software "TPM" for verify_evidence() --------------------------- */

struct fixture {
        EVP_PKEY *key;
        uint8_t ak[0x5a];
        char dir[64], record[128];
        struct verify_ak *vak;
        struct verify_manifest *m;
        uint8_t nonce[16];
};

static void put16(uint8_t **p, uint16_t v)
{
        (*p)[0] = (uint8_t)(v >> 8), (*p)[1] = (uint8_t)v, *p += 2;
}

static void put32(uint8_t **p, uint32_t v)
{
        put16(p, (uint16_t)(v >> 16)), put16(p, (uint16_t)v);
}

static void put2b(uint8_t **p, const uint8_t *d, size_t n)
{
        put16(p, (uint16_t)n);
        memcpy(*p, d, n);
        *p += n;
}

static void make_ak(EVP_PKEY *key, uint8_t out[0x5a])
{
        BIGNUM *x = NULL, *y = NULL;
        uint8_t bx[32], by[32], *p = out;

        assert_int_equal(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
        assert_int_equal(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
        assert_int_equal(BN_bn2binpad(x, bx, 32), 32);
        assert_int_equal(BN_bn2binpad(y, by, 32), 32);
        BN_free(x);
        BN_free(y);
        put16(&p, 0x58);
        put16(&p, 0x0023), put16(&p, 0x000b), put32(&p, 0x00050472), put16(&p, 0);
        put16(&p, 0x0010), put16(&p, 0x0018), put16(&p, 0x000b), put16(&p, 0x0003), put16(&p, 0x0010);
        put2b(&p, bx, 32);
        put2b(&p, by, 32);
}

/* TPMS_ATTEST of a quote (Part 2 §10.12.12) over MASK of BANK with NONCE,
 * and its TPMT_SIGNATURE by KEY. */
static void make_quote(EVP_PKEY *key, const uint8_t *nonce, size_t nonce_size, const struct pcr_bank *bank,
        uint32_t mask, uint8_t *attest, size_t *attest_size, uint8_t *sig, size_t *sig_size)
{
        uint8_t *p = attest, digest[32], der[80];
        size_t der_size = sizeof(der);
        EVP_PKEY_CTX *ctx;
        ECDSA_SIG *es;
        const unsigned char *q = der;
        const BIGNUM *r, *s;
        uint8_t rb[32], sb[32];

        put32(&p, 0xff544347), put16(&p, 0x8018);
        put2b(&p, (const uint8_t *)"\x00\x0b\x01\x02", 4); /* qualifiedSigner */
        put2b(&p, nonce, nonce_size);
        memset(p, 0, 17), p += 17; /* clockInfo */
        memset(p, 0, 8), p += 8;   /* firmwareVersion */
        put32(&p, 1), put16(&p, 0x000b), *p++ = 3;
        *p++ = (uint8_t)mask, *p++ = (uint8_t)(mask >> 8), *p++ = (uint8_t)(mask >> 16);
        assert_int_equal(pcr_composite_digest(bank, mask, DIGEST_SHA256, digest), 0);
        put2b(&p, digest, 32);
        *attest_size = (size_t)(p - attest);

        assert_int_equal(digest_buffer(DIGEST_SHA256, attest, *attest_size, digest), 0);
        ctx = EVP_PKEY_CTX_new(key, NULL);
        assert_non_null(ctx);
        assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
        assert_int_equal(EVP_PKEY_sign(ctx, der, &der_size, digest, 32), 1);
        EVP_PKEY_CTX_free(ctx);
        es = d2i_ECDSA_SIG(NULL, &q, (long)der_size);
        assert_non_null(es);
        ECDSA_SIG_get0(es, &r, &s);
        assert_int_equal(BN_bn2binpad(r, rb, 32), 32);
        assert_int_equal(BN_bn2binpad(s, sb, 32), 32);
        ECDSA_SIG_free(es);
        p = sig;
        put16(&p, 0x0018), put16(&p, 0x000b);
        put2b(&p, rb, 32);
        put2b(&p, sb, 32);
        *sig_size = (size_t)(p - sig);
}

struct log_builder {
        uint8_t *p;
        size_t size;
        struct eventlog *header;
};

static void log_start(struct log_builder *b)
{
        static const enum digest_alg banks[] = { DIGEST_SHA256 };
        assert_int_equal(eventlog_header_build(banks, 1, &b->p, &b->size), 0);
        assert_int_equal(eventlog_parse(b->p, b->size, 0, &b->header, NULL), 0);
}

static void log_add(struct log_builder *b, uint32_t pcr, uint32_t type, const void *data, size_t size,
        const uint8_t *digest)
{
        uint8_t *rec;
        size_t n;
        const uint8_t *d[] = { digest };
        assert_int_equal(eventlog_record_build(b->header, pcr, type, data, size, digest ? d : NULL, &rec, &n), 0);
        b->p = realloc(b->p, b->size + n);
        memcpy(b->p + b->size, rec, n);
        b->size += n;
        free(rec);
}

static void log_add_tvam(struct log_builder *b, uint32_t pcr, enum eventlog_tvam_kind kind, const char *name,
        const char *identity, int config)
{
        struct eventlog_tvam_event e = { .kind = kind, .config_size = config >= 0 ? 32 : 0 };
        uint8_t *data, digest[32];
        size_t n;

        snprintf(e.name, sizeof(e.name), "%s", name);
        snprintf(e.identity, sizeof(e.identity), "%s", identity);
        if (config >= 0)
                memset(e.config, config, 32);
        assert_int_equal(eventlog_tvam_encode(&e, &data, &n), 0);
        assert_int_equal(eventlog_tvam_digest(&e, DIGEST_SHA256, digest), 0);
        log_add(b, pcr, EV_EVENT_TAG, data, n, digest);
        free(data);
}

static void log_done(struct log_builder *b)
{
        free(b->p);
        eventlog_free(b->header);
}

#define BASE_ID "verity:1111111111111111111111111111111111111111111111111111111111111111"
#define WEB_ID "verity:abababababababababababababababababababababababababababababababab"

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        char *b64 = NULL, *rec = NULL, error[256];
        static const char manifest[] =
                "{\"version\":1,\"mode\":\"application\","
                "\"base_images\":[{\"name\":\"base-1\",\"identity\":\"" BASE_ID "\"}],"
                "\"applications\":[{\"name\":\"web\",\"identity\":\"" WEB_ID "\","
                "\"config\":\"1111111111111111111111111111111111111111111111111111111111111111\"}],"
                "\"boot_components\":[{\"name\":\"vmlinuz\",\"sha256\":"
                "\"3d7b8e3d2a6ae7b4dbd4b9e3f3d5c8e0c3a7b7b7d0e2c9f1a3b5c7d9e1f3a5b7\"}],"
                "\"launch_pcrs\":{\"7\":[\"0000000000000000000000000000000000000000000000000000000000000000\"]}}";

        assert_non_null(f);
        f->key = EVP_EC_gen("P-256");
        assert_non_null(f->key);
        make_ak(f->key, f->ak);
        strcpy(f->dir, "/tmp/test-verify.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->record, sizeof(f->record), "%s/ak.json", f->dir);
        assert_int_equal(base64_encode(f->ak, sizeof(f->ak), &b64), 0);
        assert_true(asprintf(&rec, "{\"version\":1,\"ak_public\":\"%s\"}", b64) > 0);
        assert_int_equal(atomic_file_write(f->record, rec, strlen(rec), 0644), 0);
        assert_int_equal(verify_ak_load(f->record, &f->vak), 0);
        assert_int_equal(verify_manifest_parse(manifest, strlen(manifest), &f->m, error, sizeof(error)), 0);
        memset(f->nonce, 0x5a, sizeof(f->nonce));
        free(b64);
        free(rec);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        unlink(f->record);
        rmdir(f->dir);
        verify_ak_free(f->vak);
        verify_manifest_free(f->m);
        EVP_PKEY_free(f->key);
        free(f);
        return 0;
}

/* Evidence JSON for the TVAM log TVAM (and FIRMWARE, may be NULL) quoted
 * with NONCE; PCR values are the replay of both logs unless OVERRIDE. */
static char *make_evidence(struct fixture *f, EVP_PKEY *signer, const uint8_t *nonce, const struct log_builder *tvam,
        const struct log_builder *firmware, int pcr_override)
{
        struct eventlog *tl, *fl = NULL;
        struct pcr_bank bank, fw;
        uint8_t attest[256], sig[128], ak[0x5a];
        size_t attest_size, sig_size;
        uint32_t mask = 0xff | (7u << 13);
        char *a64, *s64, *ak64, *t64, *f64 = NULL, *json, pcrs[2048] = "";

        assert_int_equal(eventlog_parse(tvam->p, tvam->size, 0, &tl, NULL), 0);
        assert_int_equal(eventlog_replay(tl, DIGEST_SHA256, SIZE_MAX, &bank), 0);
        if (firmware) {
                assert_int_equal(eventlog_parse(firmware->p, firmware->size, 0, &fl, NULL), 0);
                assert_int_equal(eventlog_replay(fl, DIGEST_SHA256, SIZE_MAX, &fw), 0);
                for (unsigned i = 0; i < 8; i++)
                        memcpy(bank.values[i], fw.values[i], 32);
        }
        if (pcr_override >= 0)
                bank.values[pcr_override][0] ^= 1;
        make_quote(signer, nonce, 16, &bank, mask, attest, &attest_size, sig, &sig_size);
        make_ak(signer, ak);
        for (unsigned i = 0; i < 24; i++) {
                char *h;
                if (!(mask & (1u << i)))
                        continue;
                assert_int_equal(hex_encode(bank.values[i], 32, &h), 0);
                snprintf(pcrs + strlen(pcrs), sizeof(pcrs) - strlen(pcrs), "%s\"%u\":\"%s\"", pcrs[0] ? "," : "", i, h);
                free(h);
        }
        assert_int_equal(base64_encode(attest, attest_size, &a64), 0);
        assert_int_equal(base64_encode(sig, sig_size, &s64), 0);
        assert_int_equal(base64_encode(ak, sizeof(ak), &ak64), 0);
        assert_int_equal(base64_encode(tvam->p, tvam->size, &t64), 0);
        if (firmware)
                assert_int_equal(base64_encode(firmware->p, firmware->size, &f64), 0);
        assert_true(asprintf(&json,
                            "{\"version\":1,\"nonce\":\"00\",\"quote\":{\"attest\":\"%s\",\"signature\":\"%s\"},"
                            "\"ak_public\":\"%s\",\"pcrs\":{\"sha256\":{%s}},\"event_logs\":{\"tvam\":\"%s\"%s%s%s}}",
                            a64, s64, ak64, pcrs, t64, f64 ? ",\"firmware\":\"" : "", f64 ? f64 : "",
                            f64 ? "\"" : "") > 0);
        free(a64), free(s64), free(ak64), free(t64), free(f64);
        eventlog_free(tl);
        eventlog_free(fl);
        (void)f;
        return json;
}

static void good_tvam_log(struct log_builder *b)
{
        log_start(b);
        log_add_tvam(b, 14, EVENTLOG_TVAM_BASE_IMAGE, "base-1", BASE_ID, -1);
        log_add_tvam(b, 15, EVENTLOG_TVAM_MODE, "application-mode", "tvam:mode:application", -1);
        log_add_tvam(b, 13, EVENTLOG_TVAM_APPLICATION, "web", WEB_ID, 0x11);
}

static enum verify_cause run(struct fixture *f, const char *json, const uint8_t *nonce, struct verify_result *res)
{
        assert_int_equal(verify_evidence(json, strlen(json), nonce, 16, &f->vak, 1, f->m, res), 0);
        print_message("    %s: %s\n", verify_cause_to_string(res->cause), res->message);
        return res->cause;
}

static void test_evidence_trusted_and_nonce(void **state)
{
        struct fixture *f = *state;
        struct log_builder b;
        struct verify_result res;
        uint8_t other[16];
        char *json, *out;

        good_tvam_log(&b);
        json = make_evidence(f, f->key, f->nonce, &b, NULL, -1);
        assert_int_equal(run(f, json, f->nonce, &res), VERIFY_BOOT_COMPONENT); /* manifest wants a firmware log */
        f->m->check_boot_components = false;
        assert_int_equal(run(f, json, f->nonce, &res), VERIFY_TRUSTED);
        assert_int_equal(verify_result_to_json(&res, &out), 0);
        assert_non_null(strstr(out, "\"verdict\":\"trusted\""));
        free(out);

        memset(other, 0x5b, sizeof(other));
        assert_int_equal(run(f, json, other, &res), VERIFY_NONCE);
        f->m->check_boot_components = true;
        free(json);

        /* PCR values that are not the quoted ones */
        f->m->check_boot_components = false;
        json = make_evidence(f, f->key, f->nonce, &b, NULL, -1);
        {
                char *p = strstr(json, "\"13\":\"") + 6;
                *p = *p == '0' ? '1' : '0';
        }
        assert_int_equal(run(f, json, f->nonce, &res), VERIFY_PCR_DIGEST);
        free(json);
        f->m->check_boot_components = true;
        log_done(&b);
}

static void test_evidence_signer(void **state)
{
        struct fixture *f = *state;
        EVP_PKEY *other = EVP_EC_gen("P-256");
        struct log_builder b;
        struct verify_result res;
        char *json, *p;

        good_tvam_log(&b);
        f->m->check_boot_components = false;
        json = make_evidence(f, other, f->nonce, &b, NULL, -1);
        assert_int_equal(run(f, json, f->nonce, &res), VERIFY_NOT_ENROLLED);
        free(json);

        /* the enrolled AK's public area, someone else's signature */
        json = make_evidence(f, f->key, f->nonce, &b, NULL, -1);
        p = strstr(json, "\"signature\":\"") + 13 + 20;
        *p = *p == 'A' ? 'B' : 'A';
        assert_int_equal(run(f, json, f->nonce, &res), VERIFY_BAD_SIGNATURE);
        free(json);
        f->m->check_boot_components = true;
        EVP_PKEY_free(other);
        log_done(&b);
}

static void test_evidence_manifest(void **state)
{
        struct fixture *f = *state;
        struct log_builder b;
        struct verify_result res;
        char *json;

        f->m->check_boot_components = false;
        /* a different application image */
        good_tvam_log(&b);
        log_add_tvam(&b, 13, EVENTLOG_TVAM_APPLICATION, "web",
                "verity:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd", 0x11);
        json = make_evidence(f, f->key, f->nonce, &b, NULL, -1);
        assert_int_equal(run(f, json, f->nonce, &res), VERIFY_APPLICATION);
        assert_int_equal(res.pcr, 13);
        assert_int_equal(res.event, 3);
        free(json);
        log_done(&b);

        /* the right image with another configuration */
        good_tvam_log(&b);
        log_add_tvam(&b, 13, EVENTLOG_TVAM_APPLICATION, "web", WEB_ID, 0x22);
        json = make_evidence(f, f->key, f->nonce, &b, NULL, -1);
        assert_int_equal(run(f, json, f->nonce, &res), VERIFY_APPLICATION);
        free(json);
        log_done(&b);

        /* a base image not in the manifest */
        log_start(&b);
        log_add_tvam(&b, 14, EVENTLOG_TVAM_BASE_IMAGE, "base-2",
                "verity:2222222222222222222222222222222222222222222222222222222222222222", -1);
        json = make_evidence(f, f->key, f->nonce, &b, NULL, -1);
        assert_int_equal(run(f, json, f->nonce, &res), VERIFY_BASE_IMAGE);
        assert_int_equal(res.pcr, 14);
        free(json);
        log_done(&b);

        /* Update Mode (PCR 15 untouched) when the manifest wants Application Mode */
        log_start(&b);
        log_add_tvam(&b, 14, EVENTLOG_TVAM_BASE_IMAGE, "base-1", BASE_ID, -1);
        json = make_evidence(f, f->key, f->nonce, &b, NULL, -1);
        assert_int_equal(run(f, json, f->nonce, &res), VERIFY_MODE);
        free(json);
        log_done(&b);

        /* a foreign event in TVAM's PCRs, and an event in a non-TVAM PCR */
        good_tvam_log(&b);
        log_add(&b, 13, EV_IPL, "something", 9, NULL);
        json = make_evidence(f, f->key, f->nonce, &b, NULL, -1);
        assert_int_equal(run(f, json, f->nonce, &res), VERIFY_UNKNOWN_EVENT);
        assert_int_equal(res.event, 3);
        free(json);
        log_done(&b);
        good_tvam_log(&b);
        log_add(&b, 4, EV_IPL, "grub", 4, NULL);
        json = make_evidence(f, f->key, f->nonce, &b, NULL, -1);
        assert_int_equal(run(f, json, f->nonce, &res), VERIFY_UNKNOWN_EVENT);
        free(json);
        log_done(&b);

        /* an application event recorded in the mode PCR */
        good_tvam_log(&b);
        log_add_tvam(&b, 15, EVENTLOG_TVAM_APPLICATION, "web", WEB_ID, 0x11);
        json = make_evidence(f, f->key, f->nonce, &b, NULL, -1);
        assert_int_equal(run(f, json, f->nonce, &res), VERIFY_UNKNOWN_EVENT);
        free(json);
        log_done(&b);
        f->m->check_boot_components = true;
}

static void test_evidence_logs(void **state)
{
        struct fixture *f = *state;
        struct log_builder b, fw;
        struct verify_result res;
        uint8_t kernel[32];
        char *json;

        /* firmware log: boot components and launch PCR checked */
        good_tvam_log(&b);
        log_start(&fw);
        assert_int_equal(hex_decode_exact("3d7b8e3d2a6ae7b4dbd4b9e3f3d5c8e0c3a7b7b7d0e2c9f1a3b5c7d9e1f3a5b7", kernel, 32), 0);
        log_add(&fw, 0, EV_S_CRTM_VERSION, "fw", 2, NULL);
        log_add(&fw, 4, EV_IPL, "vmlinuz", 7, kernel);
        json = make_evidence(f, f->key, f->nonce, &b, &fw, -1);
        assert_int_equal(run(f, json, f->nonce, &res), VERIFY_TRUSTED);
        free(json);

        /* the firmware log and the quote disagree (PCR 0) */
        json = make_evidence(f, f->key, f->nonce, &b, &fw, 0);
        assert_int_equal(run(f, json, f->nonce, &res), VERIFY_LOG_REPLAY);
        assert_int_equal(res.pcr, 0);
        assert_string_equal(res.log, "firmware");
        free(json);

        /* a kernel that is not in the manifest */
        log_add(&fw, 4, EV_IPL, "evil", 4, NULL);
        json = make_evidence(f, f->key, f->nonce, &b, &fw, -1);
        assert_int_equal(run(f, json, f->nonce, &res), VERIFY_BOOT_COMPONENT);
        assert_int_equal(res.event, 2);
        free(json);
        log_done(&fw);

        /* launch PCR 7 not an allowed value */
        log_start(&fw);
        log_add(&fw, 7, EV_SEPARATOR, "\0\0\0\0", 4, NULL);
        json = make_evidence(f, f->key, f->nonce, &b, &fw, -1);
        assert_int_equal(run(f, json, f->nonce, &res), VERIFY_LAUNCH_PCR);
        assert_int_equal(res.pcr, 7);
        free(json);
        log_done(&fw);
        log_done(&b);

        /* the TVAM log disagrees with PCR 14 */
        f->m->check_boot_components = false;
        good_tvam_log(&b);
        json = make_evidence(f, f->key, f->nonce, &b, NULL, 14);
        assert_int_equal(run(f, json, f->nonce, &res), VERIFY_LOG_REPLAY);
        assert_int_equal(res.pcr, 14);
        assert_int_equal(res.event, 0);
        free(json);
        log_done(&b);
        f->m->check_boot_components = true;

        /* malformed documents */
        assert_int_equal(run(f, "{}", f->nonce, &res), VERIFY_MALFORMED);
        assert_int_equal(run(f, "[1,2", f->nonce, &res), VERIFY_MALFORMED);
        assert_int_equal(run(f, "{\"version\":1,\"ak_public\":\"AAAA\"}", f->nonce, &res), VERIFY_MALFORMED);
}

static void test_manifest_errors(void **state)
{
        static const char *const bad[] = {
                "[]", "{\"version\":2}", "{\"version\":1,\"applications\":{}}",
                "{\"version\":1,\"applications\":[{\"name\":\"a\"}]}",
                "{\"version\":1,\"applications\":[{\"name\":\"a\",\"identity\":\"x\",\"config\":\"12\"}]}",
                "{\"version\":1,\"mode\":\"sometimes\"}", "{\"version\":1,\"launch_pcrs\":{\"13\":[\"00\"]}}",
                "{\"version\":1,\"launch_pcrs\":{\"7\":[\"00\"]}}", "{\"version\":1,\"boot_pcrs\":[14]}",
        };
        struct verify_manifest *m = NULL;
        char error[256];

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(verify_manifest_parse(bad[i], strlen(bad[i]), &m, error, sizeof(error)), -EBADMSG);
                assert_true(strlen(error) > 0);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_base64),
                cmocka_unit_test(test_kdfa),
                cmocka_unit_test(test_kdfe),
                cmocka_unit_test(test_public_parse),
                cmocka_unit_test(test_manifest_errors),
                cmocka_unit_test_setup_teardown(test_evidence_trusted_and_nonce, setup, teardown),
                cmocka_unit_test_setup_teardown(test_evidence_signer, setup, teardown),
                cmocka_unit_test_setup_teardown(test_evidence_manifest, setup, teardown),
                cmocka_unit_test_setup_teardown(test_evidence_logs, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
