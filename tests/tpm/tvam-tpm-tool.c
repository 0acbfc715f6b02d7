/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test helper for the tpm suite's interop scripts: exposes tvam/tpm through
 * a tiny command line so tpm2-tools can be run against the same swtpm.
 * Secrets are passed in files, never in argv.
 *
 *   tvam-tpm-tool provision
 *   tvam-tpm-tool seal PCRLIST SECRET_FILE BLOB_FILE      (current sha256 values)
 *   tvam-tpm-tool unseal BLOB_FILE OUT_FILE               (exit 3 on -EPERM)
 *   tvam-tpm-tool export BLOB_FILE PUB_FILE PRIV_FILE     (TPM2B_PUBLIC/PRIVATE as tpm2-tools writes them)
 *   tvam-tpm-tool import PCRLIST PUB_FILE PRIV_FILE BLOB_FILE
 *   tvam-tpm-tool policy-pcr PCRLIST [VALUES_FILE]        (hex PolicyPCR digest; current values or given)
 *
 * PCRLIST is "0,7,16" (SHA-256 bank).
 */
#include "tests/tpm/tpm-test-util.h"

#include "policy/pcr/policy.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/log.h"
#include "tvam/tpm/tpm-blob.h"
#include "tvam/tpm/tpm-pcr.h"
#include "tvam/tpm/tpm-seal.h"
#include "tvam/tpm/tpm-srk.h"

static uint32_t parse_pcrs(const char *s)
{
        uint32_t mask = 0;
        char *end;

        for (;;) {
                unsigned long v = strtoul(s, &end, 10);
                CHECK(end != s && v < PCR_COUNT);
                mask |= UINT32_C(1) << v;
                if (*end == '\0')
                        return mask;
                CHECK(*end == ',');
                s = end + 1;
        }
}

static void read_file(const char *path, uint8_t **ret, size_t *ret_size)
{
        CHECK_OK(read_full_file(path, TPM_BLOB_SIZE_MAX, ret, ret_size));
}

static struct tpm_blob *load_blob(const char *path)
{
        _cleanup_free_ uint8_t *data = NULL;
        struct tpm_blob *b = NULL;
        size_t n = 0;

        read_file(path, &data, &n);
        CHECK_OK(tpm_blob_parse(data, n, &b));
        return b;
}

static void save_blob(const struct tpm_blob *b, const char *path)
{
        _cleanup_free_ uint8_t *data = NULL;
        size_t n = 0;

        CHECK_OK(tpm_blob_serialize(b, &data, &n));
        CHECK_OK(atomic_file_write(path, data, n, 0600));
}

int main(int argc, char **argv)
{
        _cleanup_tpm_context_ struct tpm_context *c = NULL;

        log_parse_environment();
        if (argc < 2)
                return 2;

        if (strcmp(argv[1], "policy-pcr") == 0 && (argc == 3 || argc == 4)) {
                uint32_t mask = parse_pcrs(argv[2]);
                _cleanup_free_ char *hex = NULL;
                struct pcr_bank bank;
                struct policy p;

                if (argc == 4) { /* values file: selected PCRs' digests, ascending */
                        _cleanup_free_ uint8_t *vals = NULL;
                        size_t n = 0, off = 0;

                        read_file(argv[3], &vals, &n);
                        CHECK_OK(pcr_bank_init(&bank, DIGEST_SHA256));
                        for (unsigned i = 0; i < PCR_COUNT; i++)
                                if (mask & (1u << i)) {
                                        CHECK(off + 32 <= n);
                                        memcpy(bank.values[i], vals + off, 32);
                                        off += 32;
                                }
                        CHECK(off == n);
                } else {
                        c = test_tpm_open();
                        CHECK_OK(tpm_pcr_read(c, DIGEST_SHA256, mask, &bank));
                }
                CHECK_OK(policy_init(&p, DIGEST_SHA256));
                CHECK_OK(policy_pcr_bank(&p, &bank, mask));
                CHECK_OK(hex_encode(p.digest, 32, &hex));
                printf("%s\n", hex);
                return 0;
        }

        if (strcmp(argv[1], "export") == 0 && argc == 5) {
                _cleanup_tpm_blob_ struct tpm_blob *b = load_blob(argv[2]);
                CHECK_OK(atomic_file_write(argv[3], b->public_area, b->public_size, 0600));
                CHECK_OK(atomic_file_write(argv[4], b->private_area, b->private_size, 0600));
                return 0;
        }

        c = test_tpm_open();

        if (strcmp(argv[1], "provision") == 0 && argc == 2) {
                CHECK_OK(tpm_srk_provision(c, NULL));
                return 0;
        }

        if (strcmp(argv[1], "seal") == 0 && argc == 5) {
                _cleanup_tpm_blob_ struct tpm_blob *b = NULL;
                _cleanup_secret_ struct secret *s = NULL;
                _cleanup_free_ uint8_t *data = NULL;
                uint32_t mask = parse_pcrs(argv[2]);
                struct pcr_bank now;
                size_t n = 0;

                read_file(argv[3], &data, &n);
                CHECK_OK(secret_new_from(data, n, &s));
                explicit_bzero(data, n);
                CHECK_OK(tpm_pcr_read(c, DIGEST_SHA256, mask, &now));
                CHECK_OK(tpm_seal_pcr(c, s, &now, mask, &b));
                save_blob(b, argv[4]);
                return 0;
        }

        if (strcmp(argv[1], "unseal") == 0 && argc == 4) {
                _cleanup_tpm_blob_ struct tpm_blob *b = load_blob(argv[2]);
                _cleanup_secret_ struct secret *s = NULL;
                struct tpm_unseal_diag diag;
                int r;

                r = tpm_unseal(c, b, NULL, 0, &diag, &s);
                if (r == -EPERM) {
                        fprintf(stderr, "unseal refused: %s\n", diag.message);
                        return 3;
                }
                CHECK_OK(r);
                CHECK_OK(atomic_file_write(argv[3], s->data, s->size, 0600));
                return 0;
        }

        if (strcmp(argv[1], "import") == 0 && argc == 6) {
                _cleanup_free_ uint8_t *pub = NULL, *priv = NULL;
                _cleanup_tpm_blob_ struct tpm_blob *b = NULL;
                uint32_t mask = parse_pcrs(argv[2]);
                size_t npub = 0, npriv = 0;
                struct pcr_bank now;

                read_file(argv[3], &pub, &npub);
                read_file(argv[4], &priv, &npriv);
                CHECK_OK(tpm_pcr_read(c, DIGEST_SHA256, mask, &now));
                CHECK_OK(tpm_blob_new(TPM_BLOB_PCR, &now, mask, 0, pub, npub, priv, npriv, &b));
                save_blob(b, argv[5]);
                return 0;
        }

        fprintf(stderr, "bad usage\n");
        return 2;
}
