/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the tvam-tpm2 LUKS2 token (tvam/storage/luks-token.h):
 * schema round trip, strict parsing of malformed input, and that a refused
 * token leaves the LUKS2 header byte-for-byte unchanged. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "test-luks-util.h"

#define BLOB_B64 "AQIDBA==" /* 01 02 03 04 */

static const char valid_json[] =
        "{\"type\":\"tvam-tpm2\",\"keyslots\":[\"0\"],\"tvam-version\":1,\"tpm2-blob\":\"" BLOB_B64 "\","
        "\"tpm2-pcr-bank\":\"sha256\",\"tpm2-pcrs\":[7,14],\"tpm2-policy-nv-index\":\"0x01800100\","
        "\"tpm2-srk-handle\":\"0x81000001\"}";

static void test_parse_valid(void **state)
{
        struct luks_token t = {0};

        (void)state;
        assert_int_equal(luks_token_parse(valid_json, strlen(valid_json), &t), 0);
        assert_int_equal(t.keyslot, 0);
        assert_int_equal(t.blob_size, 4);
        assert_memory_equal(t.blob, "\x01\x02\x03\x04", 4);
        assert_int_equal(t.pcr_bank, DIGEST_SHA256);
        assert_int_equal(t.pcr_mask, (1u << 7) | (1u << 14));
        assert_int_equal(t.policy_nv_index, 0x01800100);
        assert_int_equal(t.srk_handle, 0x81000001);
        luks_token_done(&t);
}

static void test_format_parse_roundtrip(void **state)
{
        struct luks_token in, out = {0};
        uint8_t blob[301];
        char *json = NULL;

        (void)state;
        for (size_t n = 1; n <= 4; n++) { /* every base64 padding case */
                test_token(&in, blob, sizeof(blob) - n);
                in.keyslot = 5;
                in.policy_nv_index = n == 2 ? 0 : 0x01800100; /* optional field */
                assert_int_equal(luks_token_format(&in, &json), 0);
                assert_int_equal(luks_token_parse(json, strlen(json), &out), 0);
                assert_int_equal(out.keyslot, 5);
                assert_int_equal(out.blob_size, in.blob_size);
                assert_memory_equal(out.blob, in.blob, in.blob_size);
                assert_int_equal(out.pcr_mask, in.pcr_mask);
                assert_int_equal(out.policy_nv_index, in.policy_nv_index);
                assert_int_equal(out.srk_handle, in.srk_handle);
                luks_token_done(&out);
                free(json);
                json = NULL;
        }
        /* An invalid token is not serialized. */
        test_token(&in, blob, sizeof(blob));
        in.pcr_mask = 1u << 24;
        assert_int_equal(luks_token_format(&in, &json), -EINVAL);
        in.pcr_mask = 1;
        in.srk_handle = 0x01000001;
        assert_int_equal(luks_token_format(&in, &json), -EINVAL);
        assert_null(json);
}

static void test_base64(void **state)
{
        static const struct {
                const char *text;
                int expect;
        } cases[] = {
                {"", -EBADMSG},
                {"YQ", -EBADMSG},
                {"YQ=", -EBADMSG},
                {"Y===", -EBADMSG},
                {"=YQ=", -EBADMSG},
                {"YR==", -EBADMSG},
                {"YWJ=", -EBADMSG},
                {"Y Q=", -EBADMSG},
                {"YQ==\n", -EBADMSG},
                {"@@@@", -EBADMSG},
                {"YQ==YQ==", -EBADMSG},
                {"YQ==", 0},
                {"YWI=", 0},
                {"YWJj", 0},
        };
        uint8_t *out = NULL;
        size_t size = 0;

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                int r = luks_base64_decode(cases[i].text, strlen(cases[i].text), &out, &size);

                if (r != cases[i].expect)
                        fail_msg("base64 '%s': got %d, expected %d", cases[i].text, r, cases[i].expect);
                if (r == 0) {
                        assert_memory_equal(out, "abc", size);
                        free(out);
                        out = NULL;
                }
        }
}

/* Malformed tokens with the error each must give. */
static const struct bad_token {
        const char *json;
        int expect;
} bad_tokens[] = {
        /* not JSON / not one object */
        {"", -EBADMSG},
        {"{", -EBADMSG},
        {"null", -EBADMSG},
        {"[]", -EBADMSG},
        {"\"tvam-tpm2\"", -EBADMSG},
        {"{\"type\":\"tvam-tpm2\",}", -EBADMSG},
        {"{'type':'tvam-tpm2'}", -EBADMSG},
        {"/* c */{\"type\":\"tvam-tpm2\"}", -EBADMSG},
        {"{\"type\":\"tvam-tpm2\"} x", -EBADMSG},
        {"{\"type\":\"tvam-tpm2\"}{}", -EBADMSG},
        /* wrong type name or version */
        {"{\"type\":\"luks2-tpm2\",\"keyslots\":[\"0\"],\"tvam-version\":1}", -EINVAL},
        {"{\"type\":\"tvam-tpm2\\u0000x\",\"keyslots\":[\"0\"],\"tvam-version\":1}", -EINVAL},
        {"{\"type\":7,\"keyslots\":[\"0\"],\"tvam-version\":1}", -EINVAL},
        {"{\"type\":\"tvam-tpm2\",\"keyslots\":[\"0\"],\"tvam-version\":2}", -EPROTONOSUPPORT},
        {"{\"type\":\"tvam-tpm2\",\"keyslots\":[\"0\"],\"tvam-version\":0}", -EPROTONOSUPPORT},
        {"{\"type\":\"tvam-tpm2\",\"keyslots\":[\"0\"],\"tvam-version\":\"1\"}", -EINVAL},
        {"{\"type\":\"tvam-tpm2\",\"keyslots\":[\"0\"],\"tvam-version\":1.0}", -EINVAL},
        {"{\"type\":\"tvam-tpm2\",\"keyslots\":[\"0\"]}", -EINVAL},
};

/* A valid token with one field's value replaced (or removed: NULL). */
static char *token_with(const char *field, const char *value)
{
        static const char *const order[] = {
                "type",
                "keyslots",
                "tvam-version",
                "tpm2-blob",
                "tpm2-pcr-bank",
                "tpm2-pcrs",
                "tpm2-policy-nv-index",
                "tpm2-srk-handle",
                "extra",
        };
        static const char *const values[] = {
                "\"tvam-tpm2\"",
                "[\"0\"]",
                "1",
                "\"" BLOB_B64 "\"",
                "\"sha256\"",
                "[7,14]",
                "\"0x01800100\"",
                "\"0x81000001\"",
                NULL,
        };
        char *out = calloc(1, 4096 + (value ? strlen(value) : 0));
        bool first = true;

        assert_non_null(out);
        strcat(out, "{");
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                const char *v = strcmp(order[i], field) == 0 ? value : values[i];

                if (!v)
                        continue;
                if (!first)
                        strcat(out, ",");
                first = false;
                strcat(out, "\"");
                strcat(out, order[i]);
                strcat(out, "\":");
                strcat(out, v);
        }
        strcat(out, "}");
        return out;
}

static const struct field_case {
        const char *field, *value;
        int expect;
} field_cases[] = {
        /* missing required fields */
        {"type", NULL, -EINVAL},
        {"keyslots", NULL, -EINVAL},
        {"tvam-version", NULL, -EINVAL},
        {"tpm2-blob", NULL, -EINVAL},
        {"tpm2-pcr-bank", NULL, -EINVAL},
        {"tpm2-pcrs", NULL, -EINVAL},
        {"tpm2-srk-handle", NULL, -EINVAL},
        /* wrong types */
        {"keyslots", "\"0\"", -EINVAL},
        {"keyslots", "[0]", -EINVAL},
        {"keyslots", "{}", -EINVAL},
        {"tpm2-blob", "1234", -EINVAL},
        {"tpm2-blob", "[\"AQID\"]", -EINVAL},
        {"tpm2-pcr-bank", "256", -EINVAL},
        {"tpm2-pcrs", "7", -EINVAL},
        {"tpm2-pcrs", "[\"7\"]", -EINVAL},
        {"tpm2-pcrs", "[7.0]", -EINVAL},
        {"tpm2-pcrs", "[true]", -EINVAL},
        {"tpm2-srk-handle", "2164260865", -EINVAL},
        {"tpm2-policy-nv-index", "25166080", -EINVAL},
        {"tpm2-policy-nv-index", "null", -EINVAL},
        /* out of range */
        {"keyslots", "[]", -EINVAL},
        {"keyslots", "[\"0\",\"1\"]", -EINVAL},
        {"keyslots", "[\"32\"]", -EINVAL},
        {"keyslots", "[\"01\"]", -EINVAL},
        {"keyslots", "[\"-1\"]", -EINVAL},
        {"keyslots", "[\"\"]", -EINVAL},
        {"keyslots", "[\"1x\"]", -EINVAL},
        {"tpm2-pcrs", "[24]", -EINVAL},
        {"tpm2-pcrs", "[-1]", -EINVAL},
        {"tpm2-pcrs", "[7,7]", -EINVAL},
        {"tpm2-pcrs", "[4294967303]", -EINVAL},
        {"tpm2-pcr-bank", "\"sha3\"", -EINVAL},
        {"tpm2-pcr-bank", "\"SHA256\"", -EINVAL},
        {"tpm2-srk-handle", "\"0x01000001\"", -EINVAL},
        {"tpm2-srk-handle", "\"0x8100001\"", -EINVAL},
        {"tpm2-srk-handle", "\"0x810000011\"", -EINVAL},
        {"tpm2-srk-handle", "\"81000001\"", -EINVAL},
        {"tpm2-srk-handle", "\"0x8100000g\"", -EINVAL},
        {"tpm2-srk-handle", "\"0x-1000001\"", -EINVAL},
        {"tpm2-policy-nv-index", "\"0x81000001\"", -EINVAL},
        {"tpm2-policy-nv-index", "\"0x00000000\"", -EINVAL},
        /* bad base64 / blob size */
        {"tpm2-blob", "\"\"", -EINVAL},
        {"tpm2-blob", "\"AQID!\"", -EBADMSG},
        {"tpm2-blob", "\"AQI\"", -EBADMSG},
        {"tpm2-blob", "\"AQ==AQ==\"", -EBADMSG},
        {"tpm2-blob", "\"AR==\"", -EBADMSG},
        {"tpm2-blob", "\"AQ\\nID\"", -EBADMSG},
        /* unknown field */
        {"extra", "1", -EINVAL},
};

static void test_parse_malformed(void **state)
{
        struct luks_token t = {.keyslot = 99};

        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(bad_tokens); i++) {
                int r = luks_token_parse(bad_tokens[i].json, strlen(bad_tokens[i].json), &t);

                if (r != bad_tokens[i].expect)
                        fail_msg("token %s: got %d, expected %d", bad_tokens[i].json, r,
                                bad_tokens[i].expect);
                assert_int_equal(t.keyslot, 99); /* ret untouched */
        }
        for (size_t i = 0; i < ELEMENTSOF(field_cases); i++) {
                char *json = token_with(field_cases[i].field, field_cases[i].value);
                int r = luks_token_parse(json, strlen(json), &t);

                if (r != field_cases[i].expect)
                        fail_msg("token %s: got %d, expected %d", json, r, field_cases[i].expect);
                assert_int_equal(t.keyslot, 99);
                free(json);
        }
        /* The unmodified template parses (so the cases above test what they
         * say), and is refused when it contains a NUL or is too large. */
        {
                char *json = token_with("", NULL);
                char big[LUKS_TOKEN_JSON_MAX + 2];

                assert_int_equal(luks_token_parse(json, strlen(json), &t), 0);
                luks_token_done(&t);
                assert_int_equal(luks_token_parse(json, strlen(json) + 1, &t), -EBADMSG);
                memset(big, ' ', sizeof(big));
                memcpy(big, json, strlen(json));
                assert_int_equal(luks_token_parse(big, sizeof(big), &t), -E2BIG);
                free(json);
        }
        /* A blob one byte over the limit. */
        {
                uint8_t *blob = calloc(1, LUKS_TOKEN_BLOB_MAX + 1);
                char *b64 = NULL, *value, *json;

                assert_int_equal(luks_base64_encode(blob, LUKS_TOKEN_BLOB_MAX + 1, &b64), 0);
                assert_true(asprintf(&value, "\"%s\"", b64) > 0);
                json = token_with("tpm2-blob", value);
                assert_int_equal(luks_token_parse(json, strlen(json), &t), -EINVAL);
                free(json);
                free(value);
                free(b64);
                free(blob);
        }
}

/* On disk: read back, replace, and refuse malformed JSON without touching
 * the header. */
static void test_token_on_disk(void **state)
{
        struct test_dir d;
        struct luks_token t = {0}, t2;
        uint8_t blob[64], *before;

        (void)state;
        test_dir_init(&d);
        format_image(d.image, 0);

        assert_int_equal(luks_token_read(d.image, &t), 0);
        assert_int_equal(t.keyslot, 0);
        assert_int_equal(t.blob_size, 200);
        assert_int_equal(t.pcr_mask, (1u << 7) | (1u << 14) | (1u << 17));
        assert_int_equal(t.srk_handle, 0x81000001);
        luks_token_done(&t);

        /* Replace: still one token, new content. */
        test_token(&t2, blob, sizeof(blob));
        t2.pcr_mask = 1u << 23;
        assert_int_equal(luks_token_write(d.image, &t2), 0);
        assert_int_equal(luks_token_read(d.image, &t), 0);
        assert_int_equal(t.blob_size, 64);
        assert_int_equal(t.pcr_mask, 1u << 23);
        luks_token_done(&t);
        assert_int_equal(luks_token_write_json(d.image, valid_json, strlen(valid_json)), 0);
        assert_int_equal(luks_token_read(d.image, &t), 0);
        assert_int_equal(t.blob_size, 4);
        luks_token_done(&t);

        /* A token naming an inactive keyslot is refused. */
        before = read_head(d.image, TEST_HEADER_AREA);
        t2.keyslot = 3;
        assert_int_equal(luks_token_write(d.image, &t2), -ENOENT);
        assert_head_equal(d.image, before, TEST_HEADER_AREA);

        for (size_t i = 0; i < ELEMENTSOF(bad_tokens); i++) {
                int r = luks_token_write_json(d.image, bad_tokens[i].json, strlen(bad_tokens[i].json));

                assert_int_equal(r, bad_tokens[i].expect);
                assert_head_equal(d.image, before, TEST_HEADER_AREA);
        }
        for (size_t i = 0; i < ELEMENTSOF(field_cases); i++) {
                char *json = token_with(field_cases[i].field, field_cases[i].value);

                assert_int_equal(luks_token_write_json(d.image, json, strlen(json)), field_cases[i].expect);
                assert_head_equal(d.image, before, TEST_HEADER_AREA);
                free(json);
        }
        free(before);
        test_dir_done(&d);
}

/* A header holding someone else's tvam-tpm2 token that is malformed (e.g.
 * written by cryptsetup token import) reads as an error, not as data. */
static void test_token_malformed_on_disk(void **state)
{
        struct test_dir d;
        struct crypt_device *cd = NULL;
        struct luks_token t = {.keyslot = 99};
        _cleanup_secret_ struct secret *tpm = test_secret(0x11, LUKS_TPM_SECRET_SIZE);

        (void)state;
        test_dir_init(&d);
        format_image(d.image, 0);
        assert_int_equal(crypt_init(&cd, d.image), 0);
        assert_int_equal(crypt_load(cd, CRYPT_LUKS2, NULL), 0);
        assert_int_equal(crypt_token_json_set(
                                 cd, 0, "{\"type\":\"tvam-tpm2\",\"keyslots\":[\"0\"],\"tvam-version\":7}"),
                0);
        crypt_free(cd);
        assert_int_equal(luks_token_read(d.image, &t), -EPROTONOSUPPORT);
        assert_int_equal(t.keyslot, 99);
        assert_int_equal(luks_open(d.image, NULL, tpm, 0), -EPROTONOSUPPORT);
        test_dir_done(&d);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_valid),
                cmocka_unit_test(test_format_parse_roundtrip),
                cmocka_unit_test(test_base64),
                cmocka_unit_test(test_parse_malformed),
                cmocka_unit_test(test_token_on_disk),
                cmocka_unit_test(test_token_malformed_on_disk),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
