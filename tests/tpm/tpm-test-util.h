/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Helpers for the tpm suite programs (run under tests/lib/with-swtpm). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/pcr/pcr.h"
#include "tvam/shared/digest.h"
#include "tvam/shared/secret.h"
#include "tvam/tpm/tpm-context.h"

#define EXIT_SKIP 77

#define CHECK(cond)                                                                                         \
        do {                                                                                                \
                if (!(cond)) {                                                                              \
                        fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);            \
                        exit(EXIT_FAILURE);                                                                 \
                }                                                                                           \
        } while (0)

#define CHECK_R(expr, expected)                                                                             \
        do {                                                                                                \
                int _r = (expr);                                                                            \
                if (_r != (expected)) {                                                                     \
                        fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d (%s)\n", __FILE__,         \
                                __LINE__, #expr, _r, strerror(_r < 0 ? -_r : _r), (expected),               \
                                strerror((expected) < 0 ? -(expected) : (expected)));                       \
                        exit(EXIT_FAILURE);                                                                 \
                }                                                                                           \
        } while (0)

#define CHECK_OK(expr) CHECK_R(expr, 0)

/* Open the swtpm of this test (TVAM_TEST_TCTI) or exit 77. */
static inline struct tpm_context *test_tpm_open(void)
{
        const char *tcti = getenv("TVAM_TEST_TCTI");
        struct tpm_context *c = NULL;
        int r;

        if (!tcti) {
                fprintf(stderr, "TVAM_TEST_TCTI not set: run under tests/lib/with-swtpm\n");
                exit(EXIT_SKIP);
        }
        r = tpm_context_new(tcti, &c);
        if (r == -ENODEV) {
                fprintf(stderr, "TCTI '%s' unavailable\n", tcti);
                exit(EXIT_SKIP);
        }
        CHECK_OK(r);
        return c;
}

static inline void test_random(void *buf, size_t n)
{
        struct secret *s = NULL;
        CHECK_OK(secret_new_random(n, &s));
        memcpy(buf, s->data, n);
        secret_free(s);
}

static inline struct secret *test_secret(const char *text)
{
        struct secret *s = NULL;
        CHECK_OK(secret_new_from(text, strlen(text), &s));
        return s;
}
