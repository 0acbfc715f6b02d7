/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-app — drives the application library (tvam/app/app.h) in the lab
 * against the real TPM (/dev/tpmrm0), LVM and device-mapper; the checks are
 * in tests/lab/scenarios/50-app.sh.
 *
 *   test-app STATE VG import NAME IMAGE ro|rw [DATA_BYTES [EXPECTED_BYTES [CRASH_AFTER_STEP]]]
 *   test-app STATE VG open NAME lazy|eager    prints "device DEV", "data DEV", "identity ID"
 *   test-app STATE VG close|remove NAME
 *   test-app STATE VG recover                 prints "recovered N"
 *   test-app STATE VG list                    prints "NAME STATE IDENTITY" lines
 *   test-app - - extend PCR                   extends PCR (sha256 bank) with H("tamper")
 *
 * Imports seal to the current values of PCRs 0-7 and 14 (the lab's SRTM
 * launch PCRs + the base-system PCR).  The recovery passphrase, if any, is
 * read from the file named by $TVAM_RECOVERY_FILE (never argv).  On an error
 * it prints "error: <errno name>: <text>" and exits 1; CRASH_AFTER_STEP makes
 * the import _exit(99) after that step (enum app_import_step).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/pcr/pcr.h"
#include "tvam/app/app.h"
#include "tvam/shared/digest.h"
#include "tvam/storage/luks.h"
#include "tvam/storage/lvm.h"
#include "tvam/tpm/tpm-context.h"
#include "tvam/tpm/tpm-pcr.h"
#include "tvam/tpm/tpm-srk.h"

#define SEAL_MASK (0xffu | 1u << 14)

static int die(int r, const char *what, const char *detail)
{
        printf("error: %s: %s%s%s\n", strerrorname_np(-r) ? strerrorname_np(-r) : "?", what,
                detail && *detail ? ": " : "", detail && *detail ? detail : "");
        return 1;
}

static int progress(enum app_import_step step, uint64_t done, uint64_t total, void *userdata)
{
        (void)userdata;
        if (step == APP_STEP_COPY && total)
                fprintf(stderr, "  copy %" PRIu64 "/%" PRIu64 "\n", done, total);
        else
                fprintf(stderr, "  step %s\n", app_import_step_to_string(step));
        return 0;
}

static int do_import(const struct app_ctx *ctx, int argc, char **argv)
{
        _cleanup_secret_ struct secret *recovery = NULL;
        const char *rec_file = getenv("TVAM_RECOVERY_FILE");
        struct pcr_bank bank;
        struct manifest m;
        int r;

        if (argc < 3)
                return die(-EINVAL, "usage", NULL);
        if (rec_file) {
                r = luks_recovery_read_key_file(rec_file, &recovery);
                if (r < 0)
                        return die(r, "recovery file", NULL);
        }
        r = tpm_pcr_read(ctx->tpm, DIGEST_SHA256, SEAL_MASK, &bank);
        if (r < 0)
                return die(r, "PCR read", NULL);

        struct app_import_params p = {
                .name = argv[0],
                .image_path = argv[1],
                .read_only = strcmp(argv[2], "ro") == 0,
                .data_size = argc > 3 ? strtoull(argv[3], NULL, 0) : 0,
                .expected_size = argc > 4 ? strtoull(argv[4], NULL, 0) : 0,
                .crash_after_step = argc > 5 ? (enum app_import_step)atoi(argv[5]) : 0,
                .memory_mib = 256,
                .vcpus = 1,
                .recovery = recovery,
                .pcr_mask = SEAL_MASK,
                .pcrs = &bank,
                .progress = progress,
        };
        r = app_import(ctx, &p, &m);
        if (r < 0)
                return die(r, "import", argv[0]);
        printf("imported %s identity %s\n", m.name, m.identity);
        return 0;
}

static int do_open(const struct app_ctx *ctx, int argc, char **argv)
{
        struct app_opened o;
        char err[256];
        int r;

        if (argc < 2)
                return die(-EINVAL, "usage", NULL);
        r = app_open(ctx, argv[0], strcmp(argv[1], "eager") == 0 ? APP_VERIFY_EAGER : APP_VERIFY_LAZY, err,
                sizeof(err), &o);
        if (r < 0)
                return die(r, "open", err);
        printf("device %s\ndata %s\nidentity %s\n", o.device, o.data_device[0] ? o.data_device : "-",
                o.identity);
        return 0;
}

static int do_list(const struct app_ctx *ctx)
{
        struct manifest *list = NULL;
        size_t n = 0;
        int r = app_list(ctx, &list, &n);

        if (r < 0)
                return die(r, "list", NULL);
        for (size_t i = 0; i < n; i++)
                printf("%s %s %s\n", list[i].name, manifest_state_to_string(list[i].state),
                        list[i].identity[0] ? list[i].identity : "-");
        free(list);
        return 0;
}

int main(int argc, char **argv)
{
        _cleanup_(lvm_ctx_freep) struct lvm_ctx *lvm = NULL;
        _cleanup_tpm_context_ struct tpm_context *tpm = NULL;
        struct luks_argon2_cost cheap = {.iterations = 4, .memory_kb = 32768, .parallel = 1};
        int r;

        if (argc < 4)
                return die(-EINVAL, "usage: test-app STATE VG COMMAND ...", NULL);
        const char *cmd = argv[3];

        r = tpm_context_new(TPM_TCTI_DEFAULT, &tpm);
        if (r < 0)
                return die(r, "TPM", NULL);
        if (strcmp(cmd, "extend") == 0) {
                uint8_t d[32];
                if (argc < 5 || digest_buffer(DIGEST_SHA256, "tamper", 6, d) < 0)
                        return die(-EINVAL, "usage", NULL);
                r = tpm_pcr_extend(tpm, (unsigned)atoi(argv[4]), DIGEST_SHA256, d);
                return r < 0 ? die(r, "extend", NULL) : 0;
        }
        r = tpm_srk_provision(tpm, NULL);
        if (r < 0)
                return die(r, "SRK", NULL);
        r = lvm_ctx_new(&lvm);
        if (r < 0)
                return die(r, "LVM", NULL);

        struct app_ctx ctx = {
                .state_dir = argv[1], .vg = argv[2], .tpm = tpm, .lvm = lvm, .recovery_cost = &cheap};
        argc -= 4;
        argv += 4;
        if (strcmp(cmd, "import") == 0)
                return do_import(&ctx, argc, argv);
        if (strcmp(cmd, "open") == 0)
                return do_open(&ctx, argc, argv);
        if (strcmp(cmd, "list") == 0)
                return do_list(&ctx);
        if (strcmp(cmd, "recover") == 0) {
                size_t n = 0;
                r = app_recover(&ctx, &n);
                if (r < 0)
                        return die(r, "recover", NULL);
                printf("recovered %zu\n", n);
                return 0;
        }
        if (argc < 1)
                return die(-EINVAL, "usage", NULL);
        if (strcmp(cmd, "close") == 0)
                r = app_close(&ctx, argv[0]);
        else if (strcmp(cmd, "remove") == 0)
                r = app_remove(&ctx, argv[0]);
        else
                return die(-EINVAL, "unknown command", cmd);
        return r < 0 ? die(r, cmd, argv[0]) : 0;
}
