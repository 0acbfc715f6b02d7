/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tvam-storage-test — drives tvam/storage's LUKS2 and dm-verity code from
 * lab scenarios (tests/lab/scenarios/20-luks-verity.sh).  Not installed.
 *
 * Secrets come from files (0600, on tmpfs), never from argv or the
 * environment.  Root hashes are public and are passed as hex arguments.
 *
 *   luks-format DEV --secret-file F [--recovery-file F] [--fast-kdf] [--integrity]
 *   luks-open DEV NAME --secret-file F [--read-only]
 *   luks-open-recovery DEV NAME --recovery-file F
 *   luks-close NAME
 *   luks-erase DEV
 *   luks-token DEV                       print the tvam-tpm2 token (JSON)
 *   verity-format DATA HASH [--hash-offset N]     print the root hash
 *   verity-open NAME DATA HASH ROOT [--hash-offset N]
 *   verity-verify DATA HASH ROOT [--hash-offset N]
 *   verity-close NAME
 *
 * Exit status: 0 success, 1 failure (one line on stderr says what failed).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tvam/shared/hex.h"
#include "tvam/shared/log.h"
#include "tvam/shared/secret.h"
#include "tvam/storage/luks-token.h"
#include "tvam/storage/luks.h"
#include "tvam/storage/verity.h"

static struct {
        const char *secret_file, *recovery_file;
        bool fast_kdf, integrity, read_only;
        uint64_t hash_offset;
} arg;

static const struct luks_argon2_cost fast_cost = {.iterations = 4, .memory_kb = 32 * 1024, .parallel = 1};

static int load_secret(const char *file, const char *what, struct secret **ret)
{
        int r;

        if (!file)
                return log_error_errno(-EINVAL, "No %s file given", what);
        r = luks_recovery_read_key_file(file, ret);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s from %s", what, file);
        return 0;
}

static int cmd_luks_format(char **argv)
{
        _cleanup_secret_ struct secret *tpm = NULL, *rec = NULL;
        struct luks_recovery recovery = {.cost = arg.fast_kdf ? &fast_cost : NULL};
        struct luks_format_options opts = {.integrity = arg.integrity, .label = "tvam-lab"};
        struct luks_token token = {
                .pcr_bank = DIGEST_SHA256,
                .pcr_mask = (1u << 7) | (1u << 14),
                .srk_handle = 0x81000001,
        };
        uint8_t blob[128];
        int r;

        r = load_secret(arg.secret_file, "TPM secret", &tpm);
        if (r < 0)
                return r;
        if (arg.recovery_file) {
                r = load_secret(arg.recovery_file, "recovery secret", &rec);
                if (r < 0)
                        return r;
                recovery.secret = rec;
        }
        /* Stand-in for the TPM module's sealed blob: opaque bytes here. */
        for (size_t i = 0; i < sizeof(blob); i++)
                blob[i] = (uint8_t)i;
        token.blob = blob;
        token.blob_size = sizeof(blob);
        r = luks_format(argv[0], tpm, rec ? &recovery : NULL, &token, &opts);
        if (r < 0)
                return log_error_errno(r, "Failed to format LUKS2 volume %s", argv[0]);
        return 0;
}

static int cmd_luks_open(char **argv)
{
        _cleanup_secret_ struct secret *tpm = NULL;
        int r;

        r = load_secret(arg.secret_file, "TPM secret", &tpm);
        if (r < 0)
                return r;
        r = luks_open(argv[0], argv[1], tpm, arg.read_only ? LUKS_OPEN_READ_ONLY : 0);
        if (r < 0)
                return log_error_errno(r, "Failed to open LUKS2 volume %s with the TPM secret", argv[0]);
        return 0;
}

static int cmd_luks_open_recovery(char **argv)
{
        _cleanup_secret_ struct secret *rec = NULL;
        int r;

        r = load_secret(arg.recovery_file, "recovery secret", &rec);
        if (r < 0)
                return r;
        r = luks_open_recovery(argv[0], argv[1], rec, arg.read_only ? LUKS_OPEN_READ_ONLY : 0);
        if (r < 0)
                return log_error_errno(
                        r, "Failed to open LUKS2 volume %s with the recovery secret", argv[0]);
        return 0;
}

static int cmd_luks_close(char **argv)
{
        int r = luks_close(argv[0]);

        if (r < 0)
                return log_error_errno(r, "Failed to close %s", argv[0]);
        return 0;
}

static int cmd_luks_erase(char **argv)
{
        int r = luks_erase(argv[0]);

        if (r < 0)
                return log_error_errno(r, "Failed to erase LUKS2 volume %s", argv[0]);
        return 0;
}

static int cmd_luks_token(char **argv)
{
        struct luks_token t = {0};
        char *json = NULL;
        int r;

        r = luks_token_read(argv[0], &t);
        if (r < 0)
                return log_error_errno(r, "Failed to read the tvam-tpm2 token of %s", argv[0]);
        r = luks_token_format(&t, &json);
        luks_token_done(&t);
        if (r < 0)
                return log_error_errno(r, "Failed to format token");
        printf("%s\n", json);
        free(json);
        return 0;
}

static int cmd_verity_format(char **argv)
{
        struct verity_params p = {.hash_offset = arg.hash_offset};
        uint8_t root[VERITY_ROOT_HASH_SIZE];
        char *hex = NULL;
        int r;

        r = verity_format(argv[0], argv[1], &p, root);
        if (r < 0)
                return log_error_errno(r, "Failed to build the dm-verity tree of %s", argv[0]);
        r = hex_encode(root, sizeof(root), &hex);
        if (r < 0)
                return r;
        printf("%s\n", hex);
        free(hex);
        return 0;
}

static int parse_root(const char *text, uint8_t *root, size_t *size)
{
        uint8_t *buf = NULL;
        size_t n = 0;
        int r;

        r = hex_decode(text, &buf, &n);
        if (r < 0)
                return log_error_errno(r, "Root hash '%s' is not hex", text);
        if (n != VERITY_ROOT_HASH_SIZE) {
                free(buf);
                return log_error_errno(
                        -EINVAL, "Root hash has %zu bytes, sha256 needs %u", n, VERITY_ROOT_HASH_SIZE);
        }
        memcpy(root, buf, n);
        *size = n;
        free(buf);
        return 0;
}

static int cmd_verity_open(char **argv)
{
        uint8_t root[VERITY_ROOT_HASH_SIZE];
        size_t size;
        int r;

        r = parse_root(argv[3], root, &size);
        if (r < 0)
                return r;
        r = verity_open(argv[0], argv[1], argv[2], arg.hash_offset, root, size);
        if (r < 0)
                return log_error_errno(
                        r, "Failed to open %s under dm-verity with root hash %s", argv[1], argv[3]);
        return 0;
}

static int cmd_verity_verify(char **argv)
{
        uint8_t root[VERITY_ROOT_HASH_SIZE];
        char why[256];
        size_t size;
        int r;

        r = parse_root(argv[2], root, &size);
        if (r < 0)
                return r;
        r = verity_verify_eager(argv[0], argv[1], arg.hash_offset, root, size, why, sizeof(why));
        if (r < 0)
                return log_error_errno(r, "Image %s does not match root hash %s: %s", argv[0], argv[2], why);
        return 0;
}

static int cmd_verity_close(char **argv)
{
        int r = verity_close(argv[0]);

        if (r < 0)
                return log_error_errno(r, "Failed to close %s", argv[0]);
        return 0;
}

static const struct {
        const char *name;
        int nargs;
        int (*run)(char **argv);
} commands[] = {
        {"luks-format", 1, cmd_luks_format},
        {"luks-open", 2, cmd_luks_open},
        {"luks-open-recovery", 2, cmd_luks_open_recovery},
        {"luks-close", 1, cmd_luks_close},
        {"luks-erase", 1, cmd_luks_erase},
        {"luks-token", 1, cmd_luks_token},
        {"verity-format", 2, cmd_verity_format},
        {"verity-open", 4, cmd_verity_open},
        {"verity-verify", 3, cmd_verity_verify},
        {"verity-close", 1, cmd_verity_close},
};

int main(int argc, char **argv)
{
        static const struct option options[] = {
                {"secret-file", required_argument, NULL, 's'},
                {"recovery-file", required_argument, NULL, 'r'},
                {"fast-kdf", no_argument, NULL, 'f'},
                {"integrity", no_argument, NULL, 'i'},
                {"read-only", no_argument, NULL, 'o'},
                {"hash-offset", required_argument, NULL, 'h'},
                {},
        };
        char *end;
        int c;

        log_set_program_name("tvam-storage-test");
        log_parse_environment();
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case 's':
                        arg.secret_file = optarg;
                        break;
                case 'r':
                        arg.recovery_file = optarg;
                        break;
                case 'f':
                        arg.fast_kdf = true;
                        break;
                case 'i':
                        arg.integrity = true;
                        break;
                case 'o':
                        arg.read_only = true;
                        break;
                case 'h':
                        errno = 0;
                        arg.hash_offset = strtoull(optarg, &end, 10);
                        if (errno != 0 || *end != '\0') {
                                log_error("Invalid --hash-offset '%s'", optarg);
                                return 1;
                        }
                        break;
                default:
                        return 1;
                }
        }
        if (optind >= argc) {
                log_error("No command given");
                return 1;
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                if (strcmp(argv[optind], commands[i].name) != 0)
                        continue;
                if (argc - optind - 1 != commands[i].nargs) {
                        log_error("%s takes %d arguments", commands[i].name, commands[i].nargs);
                        return 1;
                }
                return commands[i].run(argv + optind + 1) < 0 ? 1 : 0;
        }
        log_error("Unknown command '%s'", argv[optind]);
        return 1;
}
