/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * test-tpm-luks VG — the storage chain against the lab's real TPM, LVM and
 * dm-crypt (lab only):
 *
 *   1. create an LV (tvam:app) with the LVM module,
 *   2. seal a fresh 256-bit secret to PCRs 0-7 + 16 with the TPM core and
 *      format LUKS2 on the LV with it (TPM keyslot + recovery keyslot, the
 *      sealed blob in the tvam-tpm2 token),
 *   3. as at boot: read the token, unseal, open, round-trip data,
 *   4. fail closed: extend PCR 16 → unseal refused naming PCR 16, no key,
 *   5. the recovery passphrase opens the volume; a wrong one is refused,
 *   6. erase: afterwards neither the TPM secret nor the recovery opens it.
 *
 * The recovery passphrase is read from the file named by $TVAM_RECOVERY_FILE
 * (tmpfs, 0600), never from argv.  Exit 0 = every check passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/pcr/pcr.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/log.h"
#include "tvam/shared/secret.h"
#include "tvam/storage/luks.h"
#include "tvam/storage/lvm.h"
#include "tvam/tpm/tpm-blob.h"
#include "tvam/tpm/tpm-context.h"
#include "tvam/tpm/tpm-pcr.h"
#include "tvam/tpm/tpm-seal.h"
#include "tvam/tpm/tpm-srk.h"

#define LV_NAME "app-tpmluks"
#define MAPPED "tvam-tpmluks"
#define PCR_MASK (0xffu | 1u << 16)

#define CHECK(cond, ...)                                                                                    \
        do {                                                                                                \
                if (!(cond)) {                                                                              \
                        fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                \
                        fprintf(stderr, __VA_ARGS__);                                                       \
                        fputc('\n', stderr);                                                                \
                        exit(1);                                                                            \
                }                                                                                           \
        } while (0)

static void round_trip(const char *what)
{
        char path[] = "/dev/mapper/" MAPPED;
        uint8_t out[4096], in[4096];
        int fd = open(path, O_RDWR | O_CLOEXEC);

        CHECK(fd >= 0, "%s: cannot open %s: %m", what, path);
        for (size_t i = 0; i < sizeof(out); i++)
                out[i] = (uint8_t)(i * 7 + 3);
        CHECK(pwrite(fd, out, sizeof(out), 1 << 20) == (ssize_t)sizeof(out), "%s: write: %m", what);
        CHECK(fdatasync(fd) == 0, "%s: fdatasync: %m", what);
        CHECK(pread(fd, in, sizeof(in), 1 << 20) == (ssize_t)sizeof(in), "%s: read: %m", what);
        CHECK(memcmp(in, out, sizeof(in)) == 0, "%s: data differs after round trip", what);
        close(fd);
}

/* The boot path: token → blob → unseal → secret. */
static int unseal_from_token(struct tpm_context *tpm, const char *lv, struct tpm_unseal_diag *diag,
        struct secret **ret)
{
        struct luks_token token = {};
        struct tpm_blob *blob = NULL;
        int r;

        r = luks_token_read(lv, &token);
        if (r < 0)
                return r;
        r = tpm_blob_parse(token.blob, token.blob_size, &blob);
        luks_token_done(&token);
        if (r < 0)
                return r;
        r = tpm_unseal(tpm, blob, NULL, 0, diag, ret);
        tpm_blob_free(blob);
        return r;
}

int main(int argc, char **argv)
{
        _cleanup_(lvm_ctx_freep) struct lvm_ctx *lvm = NULL;
        struct tpm_context *tpm = NULL;
        _cleanup_secret_ struct secret *secret = NULL, *unsealed = NULL, *recovery = NULL, *wrong = NULL;
        struct tpm_blob *blob = NULL;
        struct tpm_unseal_diag diag = {};
        struct pcr_bank bank;
        _cleanup_free_ uint8_t *blob_bytes = NULL;
        size_t blob_size;
        char lv[300];
        int r;

        CHECK(argc == 2, "usage: test-tpm-luks VG");
        const char *vg = argv[1], *recovery_file = getenv("TVAM_RECOVERY_FILE");
        CHECK(recovery_file, "TVAM_RECOVERY_FILE not set");
        snprintf(lv, sizeof(lv), "/dev/%s/%s", vg, LV_NAME);

        /* 1. LV */
        CHECK(lvm_ctx_new(&lvm) == 0, "lvm");
        r = lvm_lv_create(lvm, vg, LV_NAME, 32u << 20, LVM_ROLE_APP);
        CHECK(r == 0, "lvcreate: %s (%s)", strerror(-r), lvm_last_error(lvm));

        /* 2. seal + format */
        r = tpm_context_new("device:/dev/tpmrm0", &tpm);
        CHECK(r == 0, "TPM: %s", strerror(-r));
        r = tpm_srk_provision(tpm, NULL);
        CHECK(r == 0, "SRK: %s", strerror(-r));
        CHECK(secret_new_random(LUKS_TPM_SECRET_SIZE, &secret) == 0, "random");
        r = tpm_pcr_read(tpm, DIGEST_SHA256, PCR_MASK, &bank);
        CHECK(r == 0, "PCR read: %s", strerror(-r));
        r = tpm_seal_pcr(tpm, secret, &bank, PCR_MASK, &blob);
        CHECK(r == 0, "seal: %s", strerror(-r));
        CHECK(tpm_blob_serialize(blob, &blob_bytes, &blob_size) == 0, "serialize");
        tpm_blob_free(blob);

        r = luks_recovery_read_key_file(recovery_file, &recovery);
        CHECK(r == 0, "recovery file: %s", strerror(-r));
        struct luks_argon2_cost cheap = { .iterations = 4, .memory_kb = 32768, .parallel = 1 };
        struct luks_recovery rec = { .secret = recovery, .cost = &cheap };
        struct luks_token token = {
                .keyslot = 0,
                .blob = blob_bytes,
                .blob_size = blob_size,
                .pcr_bank = DIGEST_SHA256,
                .pcr_mask = PCR_MASK,
                .srk_handle = TPM_SRK_HANDLE,
        };
        r = luks_format(lv, secret, &rec, &token, NULL);
        CHECK(r == 0, "luks_format: %s", strerror(-r));
        printf("sealed a 256-bit secret to PCRs 0-7,16 and formatted LUKS2 on %s (token tvam-tpm2, %zu-byte blob)\n",
                lv, blob_size);

        /* 3. boot path */
        r = unseal_from_token(tpm, lv, &diag, &unsealed);
        CHECK(r == 0, "unseal from token: %s (%s)", strerror(-r), diag.message);
        CHECK(secret_equal(unsealed, secret), "unsealed secret differs");
        r = luks_open(lv, MAPPED, unsealed, 0);
        CHECK(r == 0, "luks_open with the unsealed secret: %s", strerror(-r));
        round_trip("TPM-opened volume");
        CHECK(luks_close(MAPPED) == 0, "close");
        secret_free(unsealed);
        unsealed = NULL;
        printf("token -> unseal -> open: data round-trips through dm-crypt\n");

        /* 4. fail closed */
        {
                uint8_t digest[32];
                CHECK(digest_buffer(DIGEST_SHA256, "tamper", 6, digest) == 0, "digest");
                CHECK(tpm_pcr_extend(tpm, 16, DIGEST_SHA256, digest) == 0, "extend");
        }
        memset(&diag, 0, sizeof(diag));
        r = unseal_from_token(tpm, lv, &diag, &unsealed);
        CHECK(r == -EPERM, "unseal after PCR 16 changed gave %d, expected -EPERM", r);
        CHECK(!unsealed, "a secret was returned although unseal failed");
        CHECK(diag.pcr_differ == 1u << 16, "diagnosis names PCRs 0x%x, expected PCR 16 only", diag.pcr_differ);
        CHECK(strstr(diag.message, "PCR 16"), "message does not name PCR 16: %s", diag.message);
        printf("after extending PCR 16 the TPM refuses: %s\n", diag.message);

        /* 5. recovery */
        r = luks_open_recovery(lv, MAPPED, recovery, 0);
        CHECK(r == 0, "recovery open: %s", strerror(-r));
        round_trip("recovery-opened volume");
        CHECK(luks_close(MAPPED) == 0, "close");
        CHECK(secret_new_from("not the passphrase", 18, &wrong) == 0, "alloc");
        r = luks_open_recovery(lv, MAPPED, wrong, 0);
        CHECK(r < 0, "a wrong recovery passphrase opened the volume");
        printf("recovery passphrase opens the volume; a wrong one is refused (%s)\n", strerror(-r));

        /* 6. erase */
        r = luks_erase(lv);
        CHECK(r == 0, "erase: %s", strerror(-r));
        CHECK(luks_open(lv, MAPPED, secret, 0) < 0, "the TPM secret still opens an erased volume");
        CHECK(luks_open_recovery(lv, MAPPED, recovery, 0) < 0, "the recovery still opens an erased volume");
        r = lvm_lv_remove(lvm, vg, LV_NAME);
        CHECK(r == 0, "lvremove: %s", strerror(-r));
        printf("after erase neither the TPM secret nor the recovery passphrase opens the volume\n");

        tpm_context_free(tpm);
        return 0;
}
