/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tvam-initramfs — the measuring and unsealing steps of the TVAM initramfs
 * (docs/base-system.md), called by scripts/tvam:
 *
 *   tvam-initramfs unlock  [--tcti T] [--read-write] [--policy FILE] DEVICE [NAME]
 *       Unseal the secret in DEVICE's tvam-tpm2 LUKS2 token (sealed to the
 *       launch PCRs) and map DEVICE read-only as /dev/mapper/NAME (without
 *       NAME: only check that the secret opens the TPM keyslot).
 *       --read-write is for the installer writing the image, never at boot.
 *       A key re-sealed through the boot policy index (tvamd's policy
 *       init, docs/update.md) unseals with the states of FILE (tvamd's
 *       policy.json on the store) that the index holds now.
 *   tvam-initramfs unseal-check [--tcti T] [--policy FILE] BLOB
 *       Does the TVAM sealed object in the file BLOB unseal now?  Prints
 *       "unsealed N bytes (…)" (exit 0) or "refused: …" (exit 3: the TPM
 *       or the policy index refuses this state); exit 1 when it cannot tell
 *       (file, policy.json, TPM unreadable).  The secret is only counted
 *       and wiped.
 *   tvam-initramfs measure [--tcti T] [--event-log F] [--pcr N] [--name base-N]
 *                          [--expect SHA256] DEVICE
 *       Record in the event log F (TCG crypto-agile, tvam/eventlog) and
 *       extend into PCR N (default 14), in every allocated bank, the TVAM
 *       base-image event for the squashfs image at the start of DEVICE
 *       (tvam/measure/base-measure.h), then, with --expect, refuse (exit 3)
 *       if its SHA-256 is not the expected one.
 *   tvam-initramfs patches [--tcti T] [--cert PEM] [--nv-floor INDEX] DIR ROOT
 *       Apply the signed configuration patches in DIR (one subdirectory
 *       each, tvam/measure/patch.h) to the root ROOT in sequence order after
 *       verifying them against the administrator certificate (default
 *       ROOT/etc/tvam/admin-cert.pem, i.e. inside the measured base image);
 *       each applied manifest is extended into PCR 14 first.  Unsigned,
 *       wrongly signed, malformed or replayed (sequence below the floor in
 *       TPM NV INDEX, or repeated) patches are rejected with a message and
 *       skipped; the boot continues without them (exit 0).
 *   tvam-initramfs format  [--tcti T] [--pcrs LIST] [--enrol-key FILE] DEVICE
 *       Installer/test step: seal a fresh 256-bit secret to the current
 *       values of the PCRs in LIST (default 7) and format DEVICE as LUKS2
 *       with it (TPM keyslot + tvam-tpm2 token).  Prints nothing secret.
 *       With --enrol-key the secret is also written to FILE (mode 0600) for
 *       the first boot of the target machine (see enrol).
 *   tvam-initramfs enrol   [--tcti T] [--pcrs LIST] DEVICE KEYFILE [EXPECTFILE]
 *       First-boot enrolment (trusted installation assumption, docs/
 *       base-system.md): check that the secret in KEYFILE opens DEVICE's TPM
 *       keyslot; with EXPECTFILE (pcrN_sha256=HEX lines: the PCRs predicted
 *       at build time, GRUB's 8 and 9) refuse unless the TPM's SHA-256 PCRs
 *       equal them (nothing sealed, KEYFILE kept); seal the secret to the
 *       current values of the PCRs in LIST on this machine's TPM, replace
 *       the token, then overwrite and delete KEYFILE (and delete
 *       EXPECTFILE).
 *
 * Exit status: 0 success, 1 failure (message on stderr names what failed),
 * 2 usage, 3 measured image differs from --expect.
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <dirent.h>
#include <getopt.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/pcr/pcr.h"
#include "tvam/eventlog/eventlog.h"
#include "tvam/measure/base-measure.h"
#include "tvam/measure/patch.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/log.h"
#include "tvam/shared/secret.h"
#include "tvam/storage/luks.h"
#include "tvam/tpm/tpm-blob.h"
#include "tvam/tpm/tpm-context.h"
#include "tvam/tpm/tpm-nv.h"
#include "tvam/tpm/tpm-pcr.h"
#include "tvam/tpm/tpm-policy-file.h"
#include "tvam/tpm/tpm-seal.h"
#include "tvam/tpm/tpm-srk.h"

#define EXIT_USAGE 2
#define EXIT_MISMATCH 3
#define SRK_HANDLE 0x81000001u
#define PATCH_COUNT_MAX 64u
/* tvamd's state on the store volume, as the initramfs mounts it */
#define DEFAULT_POLICY_FILE "/run/tvam/store/tvamd/policy.json"

static const char *arg_tcti = NULL;

static void tpm_context_freep_(struct tpm_context **c)
{
        tpm_context_free(*c);
}

static void closedirp_(DIR **d)
{
        if (*d)
                closedir(*d);
}

static int open_tpm(struct tpm_context **ret)
{
        int r = tpm_context_new(arg_tcti, ret);
        if (r < 0)
                return log_error_errno(r, "Cannot reach the TPM (%s)", arg_tcti ? arg_tcti : TPM_TCTI_DEFAULT);
        return 0;
}

static int device_size(int fd, uint64_t *ret)
{
        struct stat st;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISBLK(st.st_mode))
                return ioctl(fd, BLKGETSIZE64, ret) < 0 ? -errno : 0;
        if (S_ISREG(st.st_mode)) {
                *ret = (uint64_t)st.st_size;
                return 0;
        }
        return -ENOTBLK;
}

static int open_log(const char *path, const enum digest_alg *algs, size_t n_algs, struct eventlog_writer **ret)
{
        int r;

        *ret = NULL;
        if (!path)
                return 0;
        r = eventlog_writer_open(path, algs, n_algs, ret);
        if (r < 0)
                return log_error_errno(r, "Cannot open the event log %s", path);
        return 0;
}

static int cmd_measure(const char *device, unsigned pcr, const char *expect, const char *name, const char *log_path)
{
        _cleanup_(tpm_context_freep_) struct tpm_context *tpm = NULL;
        _cleanup_eventlog_writer_ struct eventlog_writer *log = NULL;
        enum digest_alg algs[BASE_MEASURE_BANKS_MAX];
        uint8_t want[32], sha[32];
        uint64_t dev_size, size;
        size_t n_algs;
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *hex = NULL;
        int r;

        if (expect && hex_decode_exact(expect, want, sizeof(want)) < 0) {
                log_error("--expect: not a SHA-256 in hex: '%s'", expect);
                return EXIT_USAGE;
        }
        fd = open(device, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return log_error_errno(-errno, "Cannot open the base image %s", device), EXIT_FAILURE;
        r = device_size(fd, &dev_size);
        if (r < 0)
                return log_error_errno(r, "Cannot get the size of %s", device), EXIT_FAILURE;
        r = base_squashfs_size(fd, dev_size, &size);
        if (r == -EBADMSG)
                return log_error("%s does not hold a squashfs 4.0 image (wrong key, or not a base image)", device),
                       EXIT_FAILURE;
        if (r == -EFBIG)
                return log_error("%s: the squashfs superblock claims more bytes than the device has (%llu)",
                               device, (unsigned long long)dev_size),
                       EXIT_FAILURE;
        if (r < 0)
                return log_error_errno(r, "Cannot read the squashfs superblock of %s", device), EXIT_FAILURE;

        if (open_tpm(&tpm) < 0)
                return EXIT_FAILURE;
        r = base_measure_tpm_banks(tpm, algs, &n_algs);
        if (r < 0)
                return log_error_errno(r, "Cannot list the TPM's PCR banks"), EXIT_FAILURE;
        if (open_log(log_path, algs, n_algs, &log) < 0)
                return EXIT_FAILURE;
        r = base_image_sha256(fd, size, sha);
        if (r < 0)
                return log_error_errno(r, "Cannot read the base image %s (%llu bytes)", device,
                               (unsigned long long)size),
                       EXIT_FAILURE;
        /* Extend before comparing: a wrong image is recorded in PCR 14 even
         * though the boot stops, so nothing sealed to the good value opens. */
        r = base_measure_event(tpm, log, pcr, name, sha, algs, n_algs);
        if (r < 0)
                return log_error_errno(r, "Cannot record and extend PCR %u with the base image event", pcr),
                       EXIT_FAILURE;
        if (hex_encode(sha, sizeof(sha), &hex) < 0)
                return log_error("Out of memory"), EXIT_FAILURE;
        printf("sha256 %s\n", hex);
        if (expect && memcmp(sha, want, sizeof(sha)) != 0) {
                log_error("Base image %s: SHA-256 %s differs from the expected %s (tvam.base_sha256); "
                          "PCR %u now records the differing image",
                        device, hex, expect, pcr);
                return EXIT_MISMATCH;
        }
        /* The resulting PCR value, for the boot log and the system test,
         * which compare it with the prediction made at build time. */
        struct pcr_bank now;
        _cleanup_free_ char *pcr_hex = NULL;
        if (tpm_pcr_read(tpm, DIGEST_SHA256, 1u << pcr, &now) >= 0 && hex_encode(now.values[pcr], 32, &pcr_hex) >= 0)
                printf("pcr%u-sha256 %s\n", pcr, pcr_hex);
        return EXIT_SUCCESS;
}

/* The boot path: token → sealed blob → unseal → secret.  The first-boot
 * enrolment seals with PolicyPCR (the launch PCRs); once tvamd's policy init
 * re-sealed the key through the boot policy index (docs/update.md), the
 * branches of the index's PolicyOR come from tvamd's policy.json on the
 * store (POLICY): the recorded set the index holds now, seen as the boot
 * class sees it (PCR 14 and 15 still 0). */
static int cmd_unlock(const char *device, const char *name, bool read_write, const char *policy)
{
        _cleanup_(tpm_context_freep_) struct tpm_context *tpm = NULL;
        _cleanup_secret_ struct secret *secret = NULL;
        _cleanup_tpm_blob_ struct tpm_blob *blob = NULL;
        struct tpm_pcr_state states[TPM_POLICY_STATES_MAX];
        struct luks_token token = {};
        struct tpm_unseal_diag diag = {};
        const char *set = NULL;
        char why[384] = "";
        size_t n_states = 0;
        int r;

        r = luks_token_read(device, &token);
        if (r < 0)
                return log_error_errno(r, "Cannot read the tvam-tpm2 token of %s", device), EXIT_FAILURE;
        r = tpm_blob_parse(token.blob, token.blob_size, &blob);
        luks_token_done(&token);
        if (r < 0)
                return log_error_errno(r, "The sealed key in the token of %s is malformed", device), EXIT_FAILURE;

        if (open_tpm(&tpm) < 0)
                return EXIT_FAILURE;
        if (blob->kind == TPM_BLOB_AUTHORIZE_NV) {
                if (blob->nv_index != TPM_NV_BOOT_POLICY_INDEX)
                        return log_error("The key of %s is sealed through NV index 0x%08x, not the boot policy "
                                         "index 0x%08x",
                                       device, blob->nv_index, TPM_NV_BOOT_POLICY_INDEX),
                               EXIT_FAILURE;
                r = tpm_policy_file_states(tpm, policy, TPM_SEAL_BOOT, states, &n_states, &set, why, sizeof(why));
                if (r == -ENOENT)
                        return log_error("The key of %s is sealed through the boot policy index, but %s is "
                                         "missing",
                                       device, policy),
                               EXIT_FAILURE;
                if (r < 0)
                        return log_error("Cannot unseal the key of %s: %s", device,
                                       why[0] ? why : strerror(-r)),
                               EXIT_FAILURE;
                log_info("The boot policy index 0x%08x holds the %s set of %s (%zu state%s)",
                        TPM_NV_BOOT_POLICY_INDEX, set, policy, n_states, n_states == 1 ? "" : "s");
        }
        r = tpm_unseal(tpm, blob, states, n_states, &diag, &secret);
        if (r == -EPERM)
                return log_error("Cannot unseal the key of %s: %s", device,
                               diag.message[0] ? diag.message : "the TPM refused the policy"),
                       EXIT_FAILURE;
        if (r < 0)
                return log_error_errno(r, "Cannot unseal the key of %s", device), EXIT_FAILURE;

        r = luks_open(device, name, secret, read_write ? 0 : LUKS_OPEN_READ_ONLY);
        if (r < 0)
                return log_error_errno(r, "The unsealed key does not open %s", device), EXIT_FAILURE;
        if (name)
                log_info("%s opened %s as /dev/mapper/%s", device, read_write ? "read-write" : "read-only", name);
        else
                log_info("The unsealed key opens %s", device);
        return EXIT_SUCCESS;
}

/* Does the sealed object in BLOB_PATH (a TVAM blob file, e.g. tvamd's
 * sealed SSH host key) unseal in this state?  The secret is only counted
 * and wiped.  For the boot's own check and the system test
 * (usr/lib/tvam/tvam-unseal-check delegates PolicyAuthorizeNV objects
 * here: tpm2-tools alone cannot rebuild the PolicyOR branches). */
static int cmd_unseal_check(const char *blob_path, const char *policy)
{
        _cleanup_(tpm_context_freep_) struct tpm_context *tpm = NULL;
        _cleanup_secret_ struct secret *secret = NULL;
        _cleanup_tpm_blob_ struct tpm_blob *blob = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        struct tpm_pcr_state states[TPM_POLICY_STATES_MAX];
        struct tpm_unseal_diag diag = {};
        char why[384] = "";
        size_t size, n_states = 0;
        int r, class = -1;

        r = read_full_file(blob_path, TPM_BLOB_SIZE_MAX, &data, &size);
        if (r >= 0)
                r = tpm_blob_parse(data, size, &blob);
        if (r < 0)
                return log_error_errno(r, "%s is not a readable TVAM sealed object", blob_path), EXIT_USAGE;
        if (open_tpm(&tpm) < 0)
                return EXIT_FAILURE;
        if (blob->kind == TPM_BLOB_AUTHORIZE_NV) {
                for (int c = 0; c < _TPM_SEAL_CLASS_MAX; c++)
                        if (tpm_policy_nv_for_class(c).policy_index == blob->nv_index)
                                class = c;
                if (class < 0)
                        return log_error("%s is sealed through NV index 0x%08x, not a TVAM policy index", blob_path,
                                       blob->nv_index),
                               EXIT_USAGE;
                r = tpm_policy_file_states(tpm, policy, class, states, &n_states, NULL, why, sizeof(why));
                if (r == -ESTALE) { /* the index authorizes none of the recorded states */
                        printf("refused: %s\n", why);
                        return EXIT_MISMATCH;
                }
                if (r < 0)
                        return log_error("Cannot check %s: %s: %s", blob_path, policy, why[0] ? why : strerror(-r)),
                               EXIT_FAILURE;
        }
        r = tpm_unseal(tpm, blob, states, n_states, &diag, &secret);
        if (r == -EPERM) {
                printf("refused: %s\n", diag.message[0] ? diag.message : "the TPM refused the policy");
                return EXIT_MISMATCH;
        }
        if (r < 0)
                return log_error_errno(r, "Cannot unseal %s", blob_path), EXIT_FAILURE;
        if (blob->kind == TPM_BLOB_AUTHORIZE_NV)
                printf("unsealed %zu bytes (PolicyAuthorizeNV, %s index 0x%08x)\n", secret->size,
                        tpm_seal_class_to_string(class), blob->nv_index);
        else
                printf("unsealed %zu bytes (PolicyPCR)\n", secret->size);
        return EXIT_SUCCESS;
}

struct candidate {
        char name[NAME_MAX + 1];
        uint8_t *manifest;
        size_t manifest_size;
        struct patch_manifest m;
};

static int candidate_cmp(const void *a, const void *b)
{
        const struct candidate *x = a, *y = b;
        /* By sequence; equal sequences by name, so the outcome does not
         * depend on readdir() order (the later one is then a replay). */
        if (x->m.sequence != y->m.sequence)
                return x->m.sequence < y->m.sequence ? -1 : 1;
        return strcmp(x->name, y->name);
}

static void reject(const char *name, const char *fmt, ...) _printf_(2, 3);
static void reject(const char *name, const char *fmt, ...)
{
        char why[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        log_error("Configuration patch '%s' REJECTED: %s", name, why);
}

/* Read, verify and parse one patch directory.  1 = candidate, 0 = rejected. */
static int load_candidate(const struct patch_signer *signer, const char *dir, const char *name, struct candidate *ret)
{
        _cleanup_free_ uint8_t *manifest = NULL, *sig = NULL;
        size_t manifest_size, sig_size;
        char path[PATH_MAX], err[256] = "";
        int r;

        /* The event name "patch:NAME" must fit a TVAM event name. */
        if (strlen(name) + strlen("patch:") > EVENTLOG_TVAM_NAME_MAX)
                return reject(name, "name longer than %zu bytes", EVENTLOG_TVAM_NAME_MAX - strlen("patch:")), 0;
        snprintf(path, sizeof(path), "%s/%s/manifest", dir, name);
        r = read_full_file(path, PATCH_MANIFEST_MAX, &manifest, &manifest_size);
        if (r < 0)
                return reject(name, "cannot read its manifest: %s", strerror(-r)), 0;
        snprintf(path, sizeof(path), "%s/%s/manifest.sig", dir, name);
        r = read_full_file(path, PATCH_SIG_MAX, &sig, &sig_size);
        if (r == -ENOENT)
                return reject(name, "unsigned (no manifest.sig)"), 0;
        if (r < 0)
                return reject(name, "cannot read manifest.sig: %s", strerror(-r)), 0;
        if (!signer)
                return reject(name, "no administrator certificate in the base image to verify it"), 0;
        if (patch_verify(signer, manifest, manifest_size, sig, sig_size) < 0)
                return reject(name, "the signature does not verify with the administrator certificate"), 0;
        if (patch_manifest_parse((const char *)manifest, manifest_size, &ret->m, err, sizeof(err)) < 0)
                return reject(name, "signed but malformed manifest: %s", err), 0;
        snprintf(ret->name, sizeof(ret->name), "%s", name);
        ret->manifest = TAKE_PTR(manifest);
        ret->manifest_size = manifest_size;
        return 1;
}

static int read_floor(struct tpm_context *tpm, uint32_t index, uint64_t *ret)
{
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        uint64_t v = 0;
        int r;

        /* The index is written by the owner (administrator) and read with its
         * empty authValue (TPMA_NV_AUTHREAD), as tboot reads its policy. */
        r = tpm_nv_read(tpm, index, TPM_NV_AUTH_INDEX, NULL, &data, &size);
        if (r < 0)
                return r;
        if (size != 8)
                return -EBADMSG;
        for (size_t i = 0; i < 8; i++)
                v = v << 8 | data[i]; /* big-endian, like every TPM integer */
        *ret = v;
        return 0;
}

static int cmd_patches(const char *dir, const char *root, const char *cert, uint32_t nv_floor, unsigned pcr,
        const char *log_path)
{
        _cleanup_(tpm_context_freep_) struct tpm_context *tpm = NULL;
        _cleanup_eventlog_writer_ struct eventlog_writer *log = NULL;
        struct patch_signer *signer = NULL;
        _cleanup_free_ struct candidate *c = NULL;
        char cert_default[PATH_MAX];
        size_t n = 0, applied = 0;
        uint64_t floor = 0, last = 0;
        enum digest_alg algs[BASE_MEASURE_BANKS_MAX];
        size_t n_algs;
        int r, ret = EXIT_SUCCESS;

        _cleanup_(closedirp_) DIR *d = opendir(dir);
        if (!d) {
                if (errno == ENOENT) {
                        log_info("No configuration patches (%s does not exist)", dir);
                        return EXIT_SUCCESS;
                }
                return log_error_errno(-errno, "Cannot read the patch folder %s", dir), EXIT_FAILURE;
        }
        if (!cert) {
                snprintf(cert_default, sizeof(cert_default), "%s/etc/tvam/admin-cert.pem", root);
                cert = cert_default;
        }
        r = patch_signer_load(cert, &signer);
        if (r < 0)
                log_warning("No usable administrator certificate %s (%s): every patch will be rejected", cert,
                        strerror(-r));

        c = calloc(PATCH_COUNT_MAX, sizeof(*c));
        if (!c)
                return log_error("Out of memory"), EXIT_FAILURE;
        for (struct dirent *e; (e = readdir(d));) {
                if (e->d_name[0] == '.')
                        continue;
                if (n == PATCH_COUNT_MAX) {
                        reject(e->d_name, "more than %u patches", PATCH_COUNT_MAX);
                        continue;
                }
                if (load_candidate(signer, dir, e->d_name, &c[n]) > 0)
                        n++;
        }
        patch_signer_free(signer);
        if (n == 0)
                return EXIT_SUCCESS;

        if (open_tpm(&tpm) < 0)
                goto fatal;
        if (nv_floor) {
                r = read_floor(tpm, nv_floor, &floor);
                if (r < 0) {
                        for (size_t i = 0; i < n; i++)
                                reject(c[i].name, "the replay floor in TPM NV 0x%08x cannot be read (%s)", nv_floor,
                                        strerror(-r));
                        goto out;
                }
        }
        r = base_measure_tpm_banks(tpm, algs, &n_algs);
        if (r < 0) {
                log_error_errno(r, "Cannot list the TPM's PCR banks");
                goto fatal;
        }
        if (open_log(log_path, algs, n_algs, &log) < 0)
                goto fatal;
        qsort(c, n, sizeof(*c), candidate_cmp);
        for (size_t i = 0; i < n; i++) {
                char err[300] = "";

                if (c[i].m.sequence < floor) {
                        reject(c[i].name, "replayed: sequence %llu is below the platform's floor %llu (TPM NV 0x%08x)",
                                (unsigned long long)c[i].m.sequence, (unsigned long long)floor, nv_floor);
                        continue;
                }
                if (c[i].m.sequence == last) {
                        reject(c[i].name, "replayed: sequence %llu was already applied in this boot",
                                (unsigned long long)last);
                        continue;
                }
                char pdir[PATH_MAX];
                snprintf(pdir, sizeof(pdir), "%s/%s", dir, c[i].name);
                r = patch_apply(&c[i].m, pdir, NULL, err, sizeof(err));
                if (r < 0) {
                        reject(c[i].name, "%s", err);
                        continue;
                }
                /* Measure, then use: the manifest (which names every file by
                 * its digest) goes into PCR 14 before any file is written. */
                char event_name[sizeof("patch:") + NAME_MAX];
                uint8_t sha[32];
                snprintf(event_name, sizeof(event_name), "patch:%s", c[i].name);
                r = digest_buffer(DIGEST_SHA256, c[i].manifest, c[i].manifest_size, sha);
                if (r >= 0)
                        r = base_measure_event(tpm, log, pcr, event_name, sha, algs, n_algs);
                if (r < 0) {
                        log_error_errno(r, "Cannot extend PCR %u with patch '%s'", pcr, c[i].name);
                        goto fatal;
                }
                r = patch_apply(&c[i].m, pdir, root, err, sizeof(err));
                if (r == -EBADMSG) {
                        reject(c[i].name, "changed while being applied: %s", err);
                        continue;
                }
                if (r < 0) {
                        log_error("Configuration patch '%s' failed half-way: %s", c[i].name, err);
                        goto fatal;
                }
                last = c[i].m.sequence;
                applied++;
                log_info("Configuration patch '%s' applied (sequence %llu, %zu files, measured into PCR %u)",
                        c[i].name, (unsigned long long)last, c[i].m.n_files, pcr);
        }
        goto out;
fatal:
        ret = EXIT_FAILURE;
out:
        for (size_t i = 0; i < n; i++)
                free(c[i].manifest);
        if (ret == EXIT_SUCCESS)
                log_info("%zu configuration patch(es) applied", applied);
        return ret;
}

static int parse_pcr_list(const char *s, uint32_t *ret)
{
        _cleanup_free_ char *copy = strdup(s);
        char *save = NULL;
        uint32_t mask = 0;

        if (!copy)
                return -ENOMEM;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                char *end;
                unsigned long v = strtoul(t, &end, 10);
                if (*t == '\0' || *end != '\0' || v >= PCR_COUNT)
                        return -EINVAL;
                mask |= 1u << v;
        }
        if (mask == 0)
                return -EINVAL;
        *ret = mask;
        return 0;
}

/* Overwrite, sync and delete a key file: it must not outlive the enrolment. */
static int wipe_file(const char *path)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        struct stat st;
        uint8_t zero[4096] = {};

        if (fd < 0 || fstat(fd, &st) < 0)
                return -errno;
        for (off_t off = 0; off < st.st_size; off += (off_t)sizeof(zero)) {
                size_t n = st.st_size - off < (off_t)sizeof(zero) ? (size_t)(st.st_size - off) : sizeof(zero);
                if (write_all(fd, zero, n) < 0)
                        return -EIO;
        }
        if (fsync(fd) < 0 || unlink(path) < 0)
                return -errno;
        return 0;
}

static int seal_token(struct tpm_context *tpm, const struct secret *secret, uint32_t mask, int keyslot,
        struct luks_token *ret, uint8_t **ret_bytes)
{
        _cleanup_tpm_blob_ struct tpm_blob *blob = NULL;
        struct pcr_bank bank;
        uint8_t *bytes;
        size_t size;
        int r;

        r = tpm_srk_provision(tpm, NULL);
        if (r < 0)
                return log_error_errno(r, "Cannot provision the SRK at 0x%08x", SRK_HANDLE);
        r = tpm_pcr_read(tpm, DIGEST_SHA256, mask, &bank);
        if (r < 0)
                return log_error_errno(r, "Cannot read the SHA-256 PCRs");
        r = tpm_seal_pcr(tpm, secret, &bank, mask, &blob);
        if (r < 0)
                return log_error_errno(r, "Cannot seal the volume secret");
        r = tpm_blob_serialize(blob, &bytes, &size);
        if (r < 0)
                return log_error_errno(r, "Cannot serialize the sealed secret");
        *ret = (struct luks_token){
                .keyslot = keyslot,
                .blob = bytes,
                .blob_size = size,
                .pcr_bank = DIGEST_SHA256,
                .pcr_mask = mask,
                .srk_handle = SRK_HANDLE,
        };
        *ret_bytes = bytes;
        return 0;
}

static int cmd_format(const char *device, uint32_t mask, const char *enrol_key)
{
        _cleanup_(tpm_context_freep_) struct tpm_context *tpm = NULL;
        _cleanup_secret_ struct secret *secret = NULL;
        _cleanup_free_ uint8_t *bytes = NULL;
        struct luks_token token;
        char pcrs[128];
        int r;

        if (open_tpm(&tpm) < 0)
                return EXIT_FAILURE;
        r = secret_new_random(LUKS_TPM_SECRET_SIZE, &secret);
        if (r < 0)
                return log_error_errno(r, "Cannot create the volume secret"), EXIT_FAILURE;
        if (seal_token(tpm, secret, mask, 0, &token, &bytes) < 0)
                return EXIT_FAILURE;
        r = luks_format(device, secret, NULL, &token, &(struct luks_format_options){ .label = "tvam-base" });
        if (r < 0)
                return log_error_errno(r, "Cannot format %s as LUKS2", device), EXIT_FAILURE;
        if (enrol_key) {
                r = atomic_file_write(enrol_key, secret->data, secret->size, 0600);
                if (r < 0)
                        return log_error_errno(r, "Cannot write the enrolment key %s", enrol_key), EXIT_FAILURE;
        }
        pcr_mask_to_string(mask, pcrs, sizeof(pcrs));
        log_info("%s: LUKS2 with a TPM keyslot sealed to SHA-256 PCRs %s%s", device, pcrs,
                enrol_key ? " (and an enrolment key for the first boot)" : "");
        return EXIT_SUCCESS;
}

/* The build-time prediction of some PCRs (images/platform/build writes
 * store:/enrol/base-N.expect): "pcrN_sha256=HEX" lines, '#' comments and
 * blank lines.  Lines of other banks are ignored (the SHA-256 bank is what
 * the key is sealed to). */
#define EXPECT_FILE_MAX 4096u

struct pcr_expectation {
        uint32_t mask;
        struct pcr_bank bank;
};

static int parse_expectation(const char *text, struct pcr_expectation *ret)
{
        _cleanup_free_ char *copy = strdup(text);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        *ret = (struct pcr_expectation){};
        if (pcr_bank_init(&ret->bank, DIGEST_SHA256) < 0)
                return -EINVAL;
        for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                unsigned pcr;
                int n = 0;
                char alg[16];
                if (l[0] == '#' || l[0] == '\0')
                        continue;
                if (sscanf(l, "pcr%u_%15[a-z0-9]=%n", &pcr, alg, &n) != 2 || n == 0 || !pcr_index_valid(pcr))
                        return -EBADMSG;
                if (strcmp(alg, "sha256") != 0)
                        continue;
                if ((ret->mask & (UINT32_C(1) << pcr)) || hex_decode_exact(l + n, ret->bank.values[pcr], 32) < 0)
                        return -EBADMSG;
                ret->mask |= UINT32_C(1) << pcr;
        }
        return ret->mask ? 0 : -EBADMSG;
}

static int load_expectation(const char *path, struct pcr_expectation *ret)
{
        _cleanup_free_ uint8_t *text = NULL;
        size_t size;
        int r;

        r = read_full_file(path, EXPECT_FILE_MAX, &text, &size);
        if (r < 0)
                return log_error_errno(r, "Cannot read the PCR prediction %s", path);
        if (memchr(text, '\0', size) || parse_expectation((const char *)text, ret) < 0)
                return log_error("The PCR prediction %s is malformed (want pcrN_sha256=HEX lines)", path), -EBADMSG;
        return 0;
}

/* Fail closed: every predicted PCR must hold its predicted value now, or
 * the key is not sealed to this state (a GRUB configuration, kernel, initrd
 * or command line other than the installer's). */
static int check_expectation(struct tpm_context *tpm, const struct pcr_expectation *e, const char *path)
{
        struct pcr_bank now;
        char pcrs[128];
        int r;

        r = tpm_pcr_read(tpm, DIGEST_SHA256, e->mask, &now);
        if (r < 0)
                return log_error_errno(r, "Cannot read the SHA-256 PCRs to compare with %s", path);
        for (unsigned pcr = 0; pcr < PCR_COUNT; pcr++) {
                _cleanup_free_ char *want = NULL, *have = NULL;
                if (!(e->mask & (UINT32_C(1) << pcr)) || memcmp(now.values[pcr], e->bank.values[pcr], 32) == 0)
                        continue;
                if (hex_encode(e->bank.values[pcr], 32, &want) < 0 || hex_encode(now.values[pcr], 32, &have) < 0)
                        return log_error("Out of memory"), -ENOMEM;
                log_error("PCR %u differs from the build-time prediction (%s): expected %s, the TPM has %s; "
                          "the key is not enrolled",
                        pcr, path, want, have);
                return -EPERM;
        }
        pcr_mask_to_string(e->mask, pcrs, sizeof(pcrs));
        log_info("PCRs %s equal the build-time prediction (%s): checked before sealing", pcrs, path);
        return 0;
}

static int cmd_enrol(const char *device, const char *key_file, uint32_t mask, const char *expect_file)
{
        _cleanup_(tpm_context_freep_) struct tpm_context *tpm = NULL;
        _cleanup_secret_ struct secret *secret = NULL;
        _cleanup_free_ uint8_t *bytes = NULL;
        struct luks_token old = {}, token;
        struct pcr_expectation expect = {};
        uint8_t *raw = NULL;
        size_t raw_size;
        char pcrs[128];
        int r, keyslot;

        if (expect_file && load_expectation(expect_file, &expect) < 0)
                return EXIT_FAILURE;
        r = read_full_file(key_file, LUKS_TPM_SECRET_SIZE, &raw, &raw_size);
        if (r < 0)
                return log_error_errno(r, "Cannot read the enrolment key %s", key_file), EXIT_FAILURE;
        r = raw_size == LUKS_TPM_SECRET_SIZE ? secret_new_from(raw, raw_size, &secret) : -EBADMSG;
        erase_and_free(raw, raw_size);
        if (r < 0)
                return log_error_errno(r, "The enrolment key %s is not a %u-byte key", key_file,
                               LUKS_TPM_SECRET_SIZE),
                       EXIT_FAILURE;
        r = luks_open(device, NULL, secret, 0);
        if (r < 0)
                return log_error_errno(r, "The enrolment key does not open %s", device), EXIT_FAILURE;
        r = luks_token_read(device, &old);
        if (r < 0)
                return log_error_errno(r, "Cannot read the tvam-tpm2 token of %s", device), EXIT_FAILURE;
        keyslot = old.keyslot;
        luks_token_done(&old);

        if (open_tpm(&tpm) < 0)
                return EXIT_FAILURE;
        if (expect_file && check_expectation(tpm, &expect, expect_file) < 0)
                return EXIT_FAILURE;
        if (seal_token(tpm, secret, mask, keyslot, &token, &bytes) < 0)
                return EXIT_FAILURE;
        r = luks_token_write(device, &token);
        if (r < 0)
                return log_error_errno(r, "Cannot write the new token of %s", device), EXIT_FAILURE;
        r = wipe_file(key_file);
        if (r < 0)
                return log_error_errno(r, "Cannot wipe the enrolment key %s", key_file), EXIT_FAILURE;
        /* The prediction is used up (and public: not wiped, only removed). */
        if (expect_file && unlink(expect_file) < 0)
                log_warning_errno(-errno, "Cannot remove %s", expect_file);
        pcr_mask_to_string(mask, pcrs, sizeof(pcrs));
        log_info("%s: key enrolled to this machine's SHA-256 PCRs %s; enrolment key wiped", device, pcrs);
        return EXIT_SUCCESS;
}

static void help(void)
{
        printf("Usage: tvam-initramfs [--tcti TCTI] [--event-log FILE] COMMAND ...\n"
               "  unlock [--read-write] [--policy FILE] DEVICE [NAME]\n"
               "                                     unseal DEVICE's key, map it (read-only) as NAME;\n"
               "                                     FILE: tvamd's policy.json (default\n"
               "                                     " DEFAULT_POLICY_FILE ")\n"
               "  unseal-check [--policy FILE] BLOB  does the TVAM sealed object BLOB unseal now?\n"
               "                                     (exit 0 yes, 3 the TPM refuses, 1 cannot tell;\n"
               "                                     the secret is wiped)\n"
               "  measure [--pcr N] [--name base-N] [--expect SHA256] DEVICE\n"
               "                                     extend PCR N (14) with the squashfs at DEVICE\n"
               "  patches [--cert PEM] [--nv-floor INDEX] DIR ROOT\n"
               "                                     apply the verified configuration patches in DIR\n"
               "  format [--pcrs LIST] [--enrol-key FILE] DEVICE\n"
               "                                     LUKS2 with a key sealed to the current PCRs (7)\n"
               "  enrol [--pcrs LIST] DEVICE KEYFILE [EXPECTFILE]\n"
               "                                     first boot: check the PCRs predicted in EXPECTFILE,\n"
               "                                     seal KEYFILE's key here, wipe KEYFILE\n"
               "See tvam-initramfs(8).\n");
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
                { "tcti", required_argument, NULL, 't' },
                { "pcr", required_argument, NULL, 'p' },
                { "pcrs", required_argument, NULL, 'P' },
                { "expect", required_argument, NULL, 'e' },
                { "cert", required_argument, NULL, 'c' },
                { "nv-floor", required_argument, NULL, 'n' },
                { "read-write", no_argument, NULL, 'w' },
                { "enrol-key", required_argument, NULL, 'k' },
                { "event-log", required_argument, NULL, 'l' },
                { "name", required_argument, NULL, 'N' },
                { "policy", required_argument, NULL, 'y' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *expect = NULL, *cert = NULL, *enrol_key = NULL, *log_path = NULL, *name = "base";
        const char *policy = DEFAULT_POLICY_FILE;
        uint32_t nv_floor = 0;
        bool read_write = false;
        uint32_t mask = 1u << 7;
        unsigned pcr = BASE_MEASURE_PCR;
        int c;

        log_set_program_name("tvam-initramfs");
        log_parse_environment();
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 't':
                        arg_tcti = optarg;
                        break;
                case 'p': {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (*optarg == '\0' || *end != '\0' || v >= PCR_COUNT)
                                goto usage;
                        pcr = (unsigned)v;
                        break;
                }
                case 'P':
                        if (parse_pcr_list(optarg, &mask) < 0)
                                goto usage;
                        break;
                case 'e':
                        expect = optarg;
                        break;
                case 'w':
                        read_write = true;
                        break;
                case 'k':
                        enrol_key = optarg;
                        break;
                case 'l':
                        log_path = optarg;
                        break;
                case 'N':
                        if (strlen(optarg) == 0 || strlen(optarg) > EVENTLOG_TVAM_NAME_MAX)
                                goto usage;
                        name = optarg;
                        break;
                case 'c':
                        cert = optarg;
                        break;
                case 'y':
                        policy = optarg;
                        break;
                case 'n': {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 0);
                        if (*optarg == '\0' || *end != '\0' || v < TPM_NV_INDEX_FIRST || v > TPM_NV_INDEX_LAST)
                                goto usage;
                        nv_floor = (uint32_t)v;
                        break;
                }
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                default:
                        goto usage;
                }
        if (optind >= argc)
                goto usage;
        const char *cmd = argv[optind];
        int n = argc - optind - 1;
        char **args = argv + optind + 1;

        if (strcmp(cmd, "measure") == 0 && n == 1)
                return cmd_measure(args[0], pcr, expect, name, log_path);
        if (strcmp(cmd, "unlock") == 0 && (n == 1 || n == 2))
                return cmd_unlock(args[0], n == 2 ? args[1] : NULL, read_write, policy);
        if (strcmp(cmd, "unseal-check") == 0 && n == 1)
                return cmd_unseal_check(args[0], policy);
        if (strcmp(cmd, "patches") == 0 && n == 2)
                return cmd_patches(args[0], args[1], cert, nv_floor, pcr, log_path);
        if (strcmp(cmd, "format") == 0 && n == 1)
                return cmd_format(args[0], mask, enrol_key);
        if (strcmp(cmd, "enrol") == 0 && (n == 2 || n == 3))
                return cmd_enrol(args[0], args[1], mask, n == 3 ? args[2] : NULL);
usage:
        help();
        return EXIT_USAGE;
}
