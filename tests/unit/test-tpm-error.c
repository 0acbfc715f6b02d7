/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fault injection for tvam/tpm (STYLE.md §9): a fake TCTI answers every
 * command with a chosen TPM response code, so the TSS2_RC → errno adapter
 * and the retry logic are exercised through real ESAPI calls, no TPM needed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <tss2/tss2_tcti.h>
#include <tss2/tss2_tpm2_types.h>

#include "tvam/tpm/tpm-internal.h"
#include "tvam/tpm/tpm-pcr.h"

#define FAKE_MAGIC UINT64_C(0x7476616d66616b65) /* "tvamfake" */

struct fake_tcti {
        TSS2_TCTI_CONTEXT_COMMON_V2 common;
        TSS2_RC script[64]; /* response code per command, in order */
        size_t n_script;    /* after the script: last entry repeats */
        size_t next;
        unsigned transmits;
        TSS2_RC transmit_rc; /* TCTI-level failure to inject */
        uint8_t response[64];
        size_t response_size;
};

static struct fake_tcti *fake_of(TSS2_TCTI_CONTEXT *ctx)
{
        return (struct fake_tcti *)ctx;
}

static void put_be16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
        put_be16(p, (uint16_t)(v >> 16));
        put_be16(p + 2, (uint16_t)v);
}

static TSS2_RC fake_transmit(TSS2_TCTI_CONTEXT *ctx, size_t size, const uint8_t *command)
{
        struct fake_tcti *f = fake_of(ctx);
        TSS2_RC rc;
        uint32_t cc;

        assert_true(size >= 10);
        f->transmits++;
        if (f->transmit_rc != TSS2_RC_SUCCESS)
                return f->transmit_rc;

        cc = (uint32_t)command[6] << 24 | (uint32_t)command[7] << 16 | (uint32_t)command[8] << 8 |
             command[9];
        rc = f->script[f->next < f->n_script ? f->next : f->n_script - 1];
        f->next++;

        /* TPM 2.0 Part 1 §18.8: an error response is only the header. */
        put_be16(f->response, TPM2_ST_NO_SESSIONS);
        put_be32(f->response + 6, rc);
        f->response_size = 10;
        if (rc == TPM2_RC_SUCCESS && cc == TPM2_CC_GetRandom) {
                /* randomBytes: TPM2B_DIGEST of 8 bytes 0xA5 */
                put_be16(f->response + 10, 8);
                memset(f->response + 12, 0xA5, 8);
                f->response_size = 20;
        } else if (rc == TPM2_RC_SUCCESS && cc == TPM2_CC_PCR_Extend) {
                /* sessions: parameterSize 0, one empty password auth response */
                put_be16(f->response, TPM2_ST_SESSIONS);
                put_be32(f->response + 10, 0);
                memcpy(f->response + 14, "\x00\x00\x01\x00\x00", 5);
                f->response_size = 19;
        }
        put_be32(f->response + 2, (uint32_t)f->response_size);
        return TSS2_RC_SUCCESS;
}

static TSS2_RC fake_receive(TSS2_TCTI_CONTEXT *ctx, size_t *size, uint8_t *response, int32_t timeout)
{
        struct fake_tcti *f = fake_of(ctx);

        (void)timeout;
        if (!response) {
                *size = f->response_size;
                return TSS2_RC_SUCCESS;
        }
        if (*size < f->response_size)
                return TSS2_TCTI_RC_INSUFFICIENT_BUFFER;
        memcpy(response, f->response, f->response_size);
        *size = f->response_size;
        return TSS2_RC_SUCCESS;
}

static TSS2_RC fake_set_locality(TSS2_TCTI_CONTEXT *ctx, uint8_t locality)
{
        (void)ctx;
        (void)locality;
        return TSS2_RC_SUCCESS;
}

struct fixture {
        struct fake_tcti tcti;
        struct tpm_context *tpm;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        TSS2_TCTI_MAGIC(&f->tcti) = FAKE_MAGIC;
        TSS2_TCTI_VERSION(&f->tcti) = 2;
        TSS2_TCTI_TRANSMIT(&f->tcti) = fake_transmit;
        TSS2_TCTI_RECEIVE(&f->tcti) = fake_receive;
        TSS2_TCTI_SET_LOCALITY(&f->tcti) = fake_set_locality;
        assert_int_equal(tpm_context_new_from_tcti((TSS2_TCTI_CONTEXT *)&f->tcti, &f->tpm), 0);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        tpm_context_free(f->tpm);
        free(f);
        return 0;
}

static void script(struct fixture *f, const TSS2_RC *rcs, size_t n)
{
        assert_true(n > 0 && n <= ELEMENTSOF(f->tcti.script));
        memcpy(f->tcti.script, rcs, n * sizeof(*rcs));
        f->tcti.n_script = n;
        f->tcti.next = 0;
        f->tcti.transmits = 0;
}

static int get_random_with(struct fixture *f, TSS2_RC rc)
{
        uint8_t buf[8];
        script(f, &rc, 1);
        return tpm_get_random(f->tpm, buf, sizeof(buf));
}

/* Each TPM response code, as the TPM sends it (with handle/session/parameter
 * number bits where format-one), reaches the caller as the documented errno. */
static void test_error_mapping_through_esapi(void **state)
{
        static const struct {
                TSS2_RC rc;
                int expected;
        } table[] = {
                {TPM2_RC_LOCKOUT, -ENOLCK},
                {TPM2_RC_AUTH_FAIL | TPM2_RC_S | TPM2_RC_1, -EACCES},
                {TPM2_RC_BAD_AUTH | TPM2_RC_S | TPM2_RC_2, -EACCES},
                {TPM2_RC_POLICY_FAIL | TPM2_RC_S | TPM2_RC_1, -EPERM},
                {TPM2_RC_PCR_CHANGED, -EPERM},
                {TPM2_RC_MEMORY, -ENOMEM},
                {TPM2_RC_OBJECT_MEMORY, -ENOMEM},
                {TPM2_RC_SESSION_MEMORY, -ENOMEM},
                {TPM2_RC_HANDLE | TPM2_RC_H | TPM2_RC_1, -ENOENT},
                {TPM2_RC_NV_DEFINED, -EEXIST},
                {TPM2_RC_NV_LOCKED, -EROFS},
                {TPM2_RC_NV_RATE, -EBUSY},
                {TPM2_RC_VALUE | TPM2_RC_P | TPM2_RC_1, -EINVAL},
                {TPM2_RC_INTEGRITY | TPM2_RC_P | TPM2_RC_2, -EBADMSG},
                {TPM2_RC_COMMAND_CODE, -EOPNOTSUPP},
                {TPM2_RC_FAILURE, -EIO},
        };
        struct fixture *f = *state;

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                int r = get_random_with(f, table[i].rc);
                if (r != table[i].expected)
                        fail_msg("TPM rc 0x%03x: got %d, expected %d", (unsigned)table[i].rc, r,
                                table[i].expected);
        }
}

/* A command with an authorization session (TPM2_PCR_Extend) maps the same way. */
static void test_session_command_lockout(void **state)
{
        struct fixture *f = *state;
        const TSS2_RC lockout = TPM2_RC_LOCKOUT, ok = TPM2_RC_SUCCESS;
        uint8_t d[32] = {1};

        script(f, &lockout, 1);
        assert_int_equal(tpm_pcr_extend(f->tpm, 16, DIGEST_SHA256, d), -ENOLCK);
        script(f, &ok, 1);
        assert_int_equal(tpm_pcr_extend(f->tpm, 16, DIGEST_SHA256, d), 0);
        assert_int_equal(f->tcti.transmits, 1);
}

static void test_success(void **state)
{
        struct fixture *f = *state;
        uint8_t buf[8];
        const TSS2_RC ok = TPM2_RC_SUCCESS;

        script(f, &ok, 1);
        assert_int_equal(tpm_get_random(f->tpm, buf, sizeof(buf)), 0);
        assert_int_equal(buf[0], 0xA5);
        assert_int_equal(f->tcti.transmits, 1);
}

/* RETRY / YIELDED / TESTING: resubmitted until the TPM accepts the command. */
static void test_retry_then_success(void **state)
{
        static const TSS2_RC busy[] = {TPM2_RC_RETRY, TPM2_RC_YIELDED, TPM2_RC_TESTING};
        struct fixture *f = *state;
        uint8_t buf[8];

        for (size_t k = 0; k < ELEMENTSOF(busy); k++) {
                TSS2_RC rcs[13];

                /* More than ESAPI's own resubmissions, so our retry loop is needed too. */
                for (size_t i = 0; i < 12; i++)
                        rcs[i] = busy[k];
                rcs[12] = TPM2_RC_SUCCESS;
                script(f, rcs, ELEMENTSOF(rcs));
                assert_int_equal(tpm_get_random(f->tpm, buf, sizeof(buf)), 0);
                assert_int_equal(f->tcti.transmits, 13);
        }
}

static void test_retry_gives_up(void **state)
{
        struct fixture *f = *state;
        uint8_t buf[8];
        const TSS2_RC rc = TPM2_RC_RETRY;

        script(f, &rc, 1);
        assert_int_equal(tpm_get_random(f->tpm, buf, sizeof(buf)), -EAGAIN);
        /* bounded: (ESAPI's submissions) x (1 + TPM_RETRY_MAX) */
        assert_true(f->tcti.transmits > TPM_RETRY_MAX);
        assert_true(f->tcti.transmits <= 10 * (TPM_RETRY_MAX + 1));
}

/* The TPM went away under us: TCTI I/O error → -EIO. */
static void test_tcti_io_error(void **state)
{
        struct fixture *f = *state;
        uint8_t buf[8];
        const TSS2_RC ok = TPM2_RC_SUCCESS;

        script(f, &ok, 1);
        f->tcti.transmit_rc = TSS2_TCTI_RC_IO_ERROR;
        assert_int_equal(tpm_get_random(f->tpm, buf, sizeof(buf)), -EIO);
        f->tcti.transmit_rc = TSS2_RC_SUCCESS;
}

/* The pure mapping, including codes from a resource manager's layer and
 * from the TSS layers. */
static void test_rc_to_errno_table(void **state)
{
        (void)state;
        assert_int_equal(tpm_rc_to_errno(TSS2_RC_SUCCESS), 0);
        assert_int_equal(tpm_rc_to_errno(TSS2_RESMGR_TPM_RC_LAYER | TPM2_RC_LOCKOUT), -ENOLCK);
        assert_int_equal(
                tpm_rc_to_errno(TSS2_RESMGR_TPM_RC_LAYER | TPM2_RC_AUTH_FAIL | TPM2_RC_S | TPM2_RC_3),
                -EACCES);
        assert_int_equal(tpm_rc_to_errno(TSS2_ESYS_RC_MEMORY), -ENOMEM);
        assert_int_equal(tpm_rc_to_errno(TSS2_TCTI_RC_IO_ERROR), -EIO);
        assert_int_equal(tpm_rc_to_errno(TSS2_ESYS_RC_BAD_VALUE), -EINVAL);
        assert_int_equal(tpm_rc_base(TPM2_RC_AUTH_FAIL | TPM2_RC_S | TPM2_RC_1), TPM2_RC_AUTH_FAIL);
        assert_int_equal(tpm_rc_base(TPM2_RC_VALUE | TPM2_RC_P | TPM2_RC_4), TPM2_RC_VALUE);
        assert_true(tpm_rc_is_retryable(TPM2_RC_YIELDED));
        assert_false(tpm_rc_is_retryable(TPM2_RC_LOCKOUT));
        /* The four classes the issue requires to be distinguishable. */
        assert_int_not_equal(tpm_rc_to_errno(TPM2_RC_LOCKOUT), tpm_rc_to_errno(TPM2_RC_POLICY_FAIL));
        assert_int_not_equal(tpm_rc_to_errno(TPM2_RC_POLICY_FAIL), tpm_rc_to_errno(TPM2_RC_BAD_AUTH));
        assert_int_not_equal(tpm_rc_to_errno(TPM2_RC_BAD_AUTH), tpm_rc_to_errno(TPM2_RC_MEMORY));
        assert_int_not_equal(tpm_rc_to_errno(TPM2_RC_MEMORY), tpm_rc_to_errno(TPM2_RC_LOCKOUT));
}

/* A TCTI string naming nothing reachable: -ENODEV. */
static void test_missing_tpm(void **state)
{
        struct tpm_context *c = NULL;

        (void)state;
        assert_int_equal(tpm_context_new("device:/nonexistent/tpmrm0", &c), -ENODEV);
        assert_null(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_error_mapping_through_esapi, setup, teardown),
                cmocka_unit_test_setup_teardown(test_session_command_lockout, setup, teardown),
                cmocka_unit_test_setup_teardown(test_success, setup, teardown),
                cmocka_unit_test_setup_teardown(test_retry_then_success, setup, teardown),
                cmocka_unit_test_setup_teardown(test_retry_gives_up, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tcti_io_error, setup, teardown),
                cmocka_unit_test(test_rc_to_errno_table),
                cmocka_unit_test(test_missing_tpm),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
