/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Latency of the TPM module's hot operations against swtpm (issue 3):
 * median (and p10/p90) over N iterations of PCR extend, seal, unseal with a
 * PolicyPCR session, and unseal through PolicyAuthorizeNV.  Prints figures;
 * never fails on time.  Run: meson test -C build --benchmark
 *
 *   bench-tpm [ITERATIONS]   (default 100, at least 50)
 */
#include <stdint.h>
#include <time.h>

#include "tests/tpm/tpm-test-util.h"

#include "tvam/tpm/tpm-pcr.h"
#include "tvam/tpm/tpm-policy-nv.h"
#include "tvam/tpm/tpm-seal.h"
#include "tvam/tpm/tpm-srk.h"

static double now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static void report(const char *what, double *samples, size_t n)
{
        qsort(samples, n, sizeof(*samples), cmp_double);
        printf("%-32s median %7.3f ms   p10 %7.3f ms   p90 %7.3f ms   (n=%zu)\n", what, samples[n / 2],
                samples[n / 10], samples[n * 9 / 10], n);
}

int main(int argc, char **argv)
{
        _cleanup_tpm_context_ struct tpm_context *c = test_tpm_open();
        _cleanup_secret_ struct secret *secret = NULL, *admin = test_secret("bench admin");
        _cleanup_tpm_blob_ struct tpm_blob *pcr_blob = NULL, *nv_blob = NULL;
        const struct tpm_policy_nv nv = TPM_POLICY_NV_DEFAULT;
        const uint32_t mask = (1u << 0) | (1u << 7) | (1u << 14) | (1u << 15);
        size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 100;
        _cleanup_free_ double *t = NULL;
        struct tpm_pcr_state states[2];
        struct pcr_bank now;
        uint8_t d[32] = {0x42};

        if (n < 50)
                n = 50;
        t = calloc(n, sizeof(*t));
        CHECK(t);
        CHECK_OK(secret_new_random(32, &secret));
        CHECK_OK(tpm_srk_provision(c, NULL));
        CHECK_OK(tpm_policy_nv_provision(c, &nv, admin, NULL));

        for (size_t i = 0; i < n; i++) {
                double t0 = now_ms();
                CHECK_OK(tpm_pcr_extend(c, 16, DIGEST_SHA256, d));
                t[i] = now_ms() - t0;
        }
        report("PCR extend (sha256)", t, n);

        CHECK_OK(tpm_pcr_read(c, DIGEST_SHA256, mask, &now));
        for (size_t i = 0; i < n; i++) {
                struct tpm_blob *b = NULL;
                double t0 = now_ms();
                CHECK_OK(tpm_seal_pcr(c, secret, &now, mask, &b));
                t[i] = now_ms() - t0;
                tpm_blob_free(b);
        }
        report("seal (PolicyPCR, 32 bytes)", t, n);

        CHECK_OK(tpm_seal_pcr(c, secret, &now, mask, &pcr_blob));
        for (size_t i = 0; i < n; i++) {
                struct secret *out = NULL;
                double t0 = now_ms();
                CHECK_OK(tpm_unseal(c, pcr_blob, NULL, 0, NULL, &out));
                t[i] = now_ms() - t0;
                CHECK(secret_equal(out, secret));
                secret_free(out);
        }
        report("unseal (PolicyPCR session)", t, n);

        /* Two allowed states (current and a predicted next one). */
        states[0].mask = states[1].mask = mask;
        states[0].pcrs = states[1].pcrs = now;
        CHECK_OK(pcr_extend(&states[1].pcrs, 15, d, 32));
        CHECK_OK(tpm_policy_nv_authorize(c, &nv, admin, states, 2));
        CHECK_OK(tpm_seal_authorize_nv(c, secret, &nv, &nv_blob));
        for (size_t i = 0; i < n; i++) {
                struct secret *out = NULL;
                double t0 = now_ms();
                CHECK_OK(tpm_unseal(c, nv_blob, states, 2, NULL, &out));
                t[i] = now_ms() - t0;
                CHECK(secret_equal(out, secret));
                secret_free(out);
        }
        report("unseal (PolicyAuthorizeNV, OR 2)", t, n);

        for (size_t i = 0; i < n; i++) {
                double t0 = now_ms();
                CHECK_OK(tpm_policy_nv_authorize(c, &nv, admin, states, 2));
                t[i] = now_ms() - t0;
        }
        report("authorize states (NV write)", t, n);
        return 0;
}
