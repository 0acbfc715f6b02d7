/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Update Mode: the sealed SSH host key, the switch to Application Mode and
 * its timeout (update-mode.h; docs/base-system.md "Modes").
 *
 * Why the key is made here and not by ssh-keygen: the TPM seals at most 128
 * bytes, the OpenSSH private key file is ~400, so TVAM seals the 32-byte
 * Ed25519 seed and writes the OpenSSH file from it (sshkey.c).  With
 * ssh-keygen the clear key would first exist as a file that tvamd has to
 * read back, parse and wipe; generating the seed with getrandom() keeps it
 * in locked memory until it is sealed.
 */
#include "tvam/daemon/update-mode.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <utmp.h>

#include "tvam/daemon/daemon.h"
#include "tvam/daemon/mode.h"
#include "tvam/daemon/policy.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/log.h"
#include "tvam/shared/macro.h"
#include "tvam/shared/process.h"
#include "tvam/shared/secret.h"
#include "tvam/tpm/tpm-blob.h"
#include "tvam/tpm/tpm-pcr.h"
#include "tvam/tpm/tpm-policy-file.h"
#include "tvam/tpm/tpm-policy-nv.h"
#include "tvam/tpm/tpm-seal.h"
#include "tvam/tpm/tpm-srk.h"

#define BASE_PCR 14
#define SEALED_NAME "ssh_host_ed25519_key.sealed"
#define PUBLIC_NAME "ssh_host_ed25519_key.pub"
#define RETRY_S 30       /* a timed switch that failed is retried after this */
#define LOGIN_POLL_MS 1000

static void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}

#define FAIL(err, ...)                                                                                      \
        ({                                                                                                  \
                snprintf(message, message_size, __VA_ARGS__);                                               \
                (err);                                                                                      \
        })

static double boottime_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_BOOTTIME, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int update_mode_parse_argv(const char *cmd, char ***ret)
{
        _cleanup_free_ char *copy = strdup(cmd);
        char **argv, *save = NULL;
        size_t n = 0;

        if (!copy)
                return -ENOMEM;
        argv = calloc(strlen(cmd) / 2 + 2, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
                argv[n] = strdup(tok);
                if (!argv[n++]) {
                        update_mode_argv_free(argv);
                        return -ENOMEM;
                }
        }
        *ret = argv;
        return 0;
}

void update_mode_argv_free(char **argv)
{
        if (!argv)
                return;
        for (size_t i = 0; argv[i]; i++)
                free(argv[i]);
        free(argv);
}

static int state_path(struct daemon *d, const char *name, char **ret)
{
        return asprintf(ret, "%s/ssh%s%s", d->state_dir, name ? "/" : "", name ? name : "") < 0 ? -ENOMEM : 0;
}

/* ---- the key files on the tmpfs ---- */

static int mkdir_parents(const char *path, mode_t mode)
{
        _cleanup_free_ char *copy = strdup(path);

        if (!copy)
                return -ENOMEM;
        for (char *p = copy + 1; *p; p++)
                if (*p == '/') {
                        *p = '\0';
                        if (mkdir(copy, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        *p = '/';
                }
        if (mkdir(copy, mode) < 0 && errno != EEXIST)
                return -errno;
        return chmod(copy, mode) < 0 ? -errno : 0;
}

static bool is_tmpfs(const char *path)
{
        struct statfs sfs;
        return statfs(path, &sfs) == 0 && (sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC);
}

/* The nearest existing ancestor of DIR (or DIR) must be a tmpfs, so that no
 * directory is left behind on a disk that would be refused anyway. */
static int check_tmpfs_ancestor(const char *dir)
{
        _cleanup_free_ char *p = strdup(dir);
        struct stat st;

        if (!p)
                return -ENOMEM;
        while (stat(p, &st) < 0 && strcmp(p, "/") != 0) {
                char *slash = strrchr(p, '/');
                if (!slash)
                        break;
                if (slash == p)
                        slash[1] = '\0';
                else
                        *slash = '\0';
        }
        return is_tmpfs(p) ? 0 : -EMEDIUMTYPE;
}

/* The key's directory, created 0700; refused unless it is on a tmpfs (or
 * ramfs): the clear key must never reach a disk. */
static int key_dir(const char *key, char *message, size_t message_size)
{
        _cleanup_free_ char *copy = strdup(key);
        const char *dir;
        int r;

        if (!copy)
                return FAIL(-ENOMEM, "out of memory");
        dir = dirname(copy);
        r = check_tmpfs_ancestor(dir);
        if (r < 0)
                return FAIL(r, "%s is not on a tmpfs: refusing to put the clear SSH host key there", dir);
        r = mkdir_parents(dir, 0700);
        if (r < 0)
                return FAIL(r, "cannot create %s: %s", dir, strerror(-r));
        if (!is_tmpfs(dir))
                return FAIL(-EMEDIUMTYPE, "%s is not on a tmpfs: refusing to put the clear SSH host key there",
                        dir);
        return 0;
}

/* Overwrite FILE in place with zeros and unlink it.  On tmpfs the file's
 * pages are its only copy, so overwriting them removes the key bytes. */
static int wipe_file(const char *file)
{
        static const uint8_t zeros[4096];
        _cleanup_close_ int fd = open(file, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;

        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        for (off_t done = 0; done < st.st_size;) {
                size_t n = (size_t)(st.st_size - done) < sizeof(zeros) ? (size_t)(st.st_size - done) : sizeof(zeros);
                int r = write_all(fd, zeros, n);
                if (r < 0)
                        return r;
                done += (off_t)n;
        }
        (void)fsync(fd);
        if (unlink(file) < 0)
                return -errno;
        return 1;
}

static void wipe_key_files(struct update_mode *um)
{
        _cleanup_free_ char *pub = NULL;
        int r;

        if (asprintf(&pub, "%s.pub", um->host_key) < 0)
                return;
        r = wipe_file(um->host_key);
        if (r < 0)
                log_error_errno(r, "Failed to wipe the SSH host key %s", um->host_key);
        else if (r > 0)
                log_info("SSH host key %s overwritten and removed", um->host_key);
        (void)wipe_file(pub);
}

/* Write the private key file (0600) and the .pub (0644) for sshd. */
static int install_key(struct update_mode *um, const struct secret *seed, char *message, size_t message_size)
{
        _cleanup_free_ char *pub_line = NULL, *pub_path = NULL;
        uint8_t pub[SSHKEY_PUBLIC_SIZE];
        char *text = NULL;
        size_t size = 0;
        int r;

        r = key_dir(um->host_key, message, message_size);
        if (r < 0)
                return r;
        r = sshkey_public(seed->data, pub);
        if (r >= 0)
                r = sshkey_format_public(pub, SSHKEY_COMMENT, &pub_line);
        if (r >= 0)
                r = sshkey_format_private(seed->data, SSHKEY_COMMENT, &text, &size);
        if (r < 0)
                return FAIL(r, "cannot format the SSH host key: %s", strerror(-r));
        r = atomic_file_write(um->host_key, text, size, 0600);
        erase_and_free(text, size);
        if (r < 0)
                return FAIL(r, "cannot write %s: %s", um->host_key, strerror(-r));
        if (asprintf(&pub_path, "%s.pub", um->host_key) < 0)
                return FAIL(-ENOMEM, "out of memory");
        r = atomic_file_write(pub_path, pub_line, strlen(pub_line), 0644);
        if (r < 0)
                return FAIL(r, "cannot write %s: %s", pub_path, strerror(-r));
        return sshkey_fingerprint(pub, SSHKEY_COMMENT, um->fingerprint, sizeof(um->fingerprint));
}

/* ---- sealing ---- */

/* Launch PCRs and PCR 14 as they are, PCR 15 at its Update-Mode value 0. */
static int update_state(struct daemon *d, struct tpm_context *tpm, struct pcr_bank *ret, uint32_t *ret_mask)
{
        uint32_t mask = d->launch_pcrs | 1u << BASE_PCR | 1u << MODE_PCR;
        int r;

        r = tpm_pcr_read(tpm, DIGEST_SHA256, mask, ret);
        if (r < 0)
                return r;
        memset(ret->values[MODE_PCR], 0, 32);
        *ret_mask = mask;
        return 0;
}

/* Once the sealing policy is initialized (policy.json exists) the key is
 * sealed through the Update-Mode policy index, so that `update prepare`
 * authorizes it for the next boot too (docs/update.md); before, to the
 * Update-Mode state itself. */
static bool policy_initialized(struct daemon *d)
{
        _cleanup_free_ char *path = NULL;
        return asprintf(&path, "%s/" POLICY_STATE_FILE, d->state_dir) >= 0 && access(path, F_OK) == 0;
}

static int seal_seed(struct daemon *d, struct tpm_context *tpm, const struct secret *seed, struct tpm_blob **ret)
{
        const struct tpm_policy_nv nv = tpm_policy_nv_for_class(TPM_SEAL_UPDATE_MODE);
        struct pcr_bank bank;
        uint32_t mask;
        int r;

        if (policy_initialized(d))
                return tpm_seal_authorize_nv(tpm, seed, &nv, ret);
        r = update_state(d, tpm, &bank, &mask);
        if (r < 0)
                return r;
        return tpm_seal_pcr(tpm, seed, &bank, mask, ret);
}

static int unseal_blob(struct daemon *d, struct tpm_context *tpm, const struct tpm_blob *blob,
        struct tpm_unseal_diag *diag, struct secret **ret, char *message, size_t message_size);

static int create_key(struct daemon *d, struct tpm_context *tpm, struct secret **ret, char *message,
        size_t message_size)
{
        _cleanup_secret_ struct secret *seed = NULL;
        _cleanup_tpm_blob_ struct tpm_blob *blob = NULL;
        _cleanup_free_ char *dir = NULL, *sealed = NULL, *pub_path = NULL, *pub_line = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        uint8_t pub[SSHKEY_PUBLIC_SIZE];
        size_t size;
        int r;

        if (state_path(d, NULL, &dir) < 0 || state_path(d, SEALED_NAME, &sealed) < 0 ||
                state_path(d, PUBLIC_NAME, &pub_path) < 0)
                return FAIL(-ENOMEM, "out of memory");
        r = secret_new_random(SSHKEY_SEED_SIZE, &seed);
        if (r >= 0)
                r = sshkey_public(seed->data, pub);
        if (r >= 0)
                r = sshkey_format_public(pub, SSHKEY_COMMENT, &pub_line);
        if (r < 0)
                return FAIL(r, "cannot generate an Ed25519 key: %s", strerror(-r));
        r = tpm_srk_provision(tpm, NULL);
        if (r < 0)
                return FAIL(r, "cannot provision the SRK at 0x81000001: %s", strerror(-r));
        r = seal_seed(d, tpm, seed, &blob);
        if (r < 0)
                return FAIL(r, "cannot seal the SSH host key: %s", strerror(-r));
        if (blob->kind == TPM_BLOB_AUTHORIZE_NV) {
                /* Only a key that unseals here and now is stored: the file's
                 * existence stops tvamd from ever making another. */
                _cleanup_secret_ struct secret *check = NULL;
                struct tpm_unseal_diag diag = {};
                char why[160] = "";
                r = unseal_blob(d, tpm, blob, &diag, &check, why, sizeof(why));
                if (r < 0)
                        return FAIL(r, "the new SSH host key, sealed through the Update-Mode policy index, does not "
                                       "unseal in this state (%.160s): not stored",
                                why[0] ? why : diag.message[0] ? diag.message : strerror(-r));
        }
        r = tpm_blob_serialize(blob, &data, &size);
        if (r < 0)
                return FAIL(r, "cannot serialize the sealed SSH host key: %s", strerror(-r));
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return FAIL(-errno, "cannot create %s: %s", dir, strerror(errno));
        /* The public key first: a sealed key without it is still complete
         * (the public key is derived again on unseal). */
        r = atomic_file_write(pub_path, pub_line, strlen(pub_line), 0644);
        if (r >= 0)
                r = atomic_file_write(sealed, data, size, 0600);
        if (r < 0)
                return FAIL(r, "cannot store the sealed SSH host key in %s: %s", dir, strerror(-r));
        *ret = TAKE_PTR(seed);
        return 0;
}

/* PolicyAuthorizeNV objects need the branches of the OR in the index:
 * the recorded set the Update-Mode index holds (tvam/tpm/tpm-policy-file.h). */
static int unseal_blob(struct daemon *d, struct tpm_context *tpm, const struct tpm_blob *blob,
        struct tpm_unseal_diag *diag, struct secret **ret, char *message, size_t message_size)
{
        struct tpm_pcr_state states[TPM_POLICY_STATES_MAX];
        _cleanup_free_ char *path = NULL;
        size_t n = 0;
        int r;

        message[0] = '\0';
        if (blob->kind != TPM_BLOB_AUTHORIZE_NV)
                return tpm_unseal(tpm, blob, NULL, 0, diag, ret);
        if (blob->nv_index != TPM_NV_UPDATE_MODE_POLICY_INDEX) {
                snprintf(message, message_size, "sealed through NV index 0x%08x, not the Update-Mode policy index "
                        "0x%08x", blob->nv_index, TPM_NV_UPDATE_MODE_POLICY_INDEX);
                return -EBADMSG;
        }
        if (asprintf(&path, "%s/" POLICY_STATE_FILE, d->state_dir) < 0)
                return -ENOMEM;
        r = tpm_policy_file_states(tpm, path, TPM_SEAL_UPDATE_MODE, states, &n, NULL, message, message_size);
        if (r == -ENOENT)
                snprintf(message, message_size, "sealed through NV index 0x%08x, but %s is missing",
                        blob->nv_index, path);
        if (r < 0)
                return r;
        return tpm_unseal(tpm, blob, states, n, diag, ret);
}

static int unseal_key(struct daemon *d, struct tpm_context *tpm, struct secret **ret, char *message,
        size_t message_size)
{
        _cleanup_tpm_blob_ struct tpm_blob *blob = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_free_ char *sealed = NULL;
        struct tpm_unseal_diag diag = {};
        struct secret *seed = NULL;
        size_t size;
        int r;

        if (state_path(d, SEALED_NAME, &sealed) < 0)
                return FAIL(-ENOMEM, "out of memory");
        r = read_full_file(sealed, TPM_BLOB_SIZE_MAX, &data, &size);
        if (r < 0)
                return FAIL(r, "cannot read %s: %s", sealed, strerror(-r));
        r = tpm_blob_parse(data, size, &blob);
        if (r < 0)
                return FAIL(r, "%s is not a TVAM sealed object: %s", sealed, strerror(-r));
        r = unseal_blob(d, tpm, blob, &diag, &seed, message, message_size);
        if (r == -EPERM)
                return FAIL(r, "the TPM refused to unseal the SSH host key: %s",
                        diag.message[0] ? diag.message : "the PCRs differ from the sealed policy");
        if (r < 0 && message[0])
                return r;
        if (r < 0)
                return FAIL(r, "cannot unseal the SSH host key: %s", strerror(-r));
        if (seed->size != SSHKEY_SEED_SIZE) {
                secret_free(seed);
                return FAIL(-EBADMSG, "the sealed SSH host key has %zu bytes, not %u", seed->size,
                        SSHKEY_SEED_SIZE);
        }
        *ret = seed;
        return 0;
}

int update_mode_reseal_host_key(struct daemon *d, struct tpm_context *tpm, char *message, size_t message_size)
{
        _cleanup_tpm_blob_ struct tpm_blob *blob = NULL, *nv_blob = NULL;
        _cleanup_secret_ struct secret *seed = NULL, *check = NULL;
        _cleanup_free_ uint8_t *data = NULL, *new_data = NULL;
        _cleanup_free_ char *sealed = NULL;
        struct tpm_unseal_diag diag = {};
        const struct tpm_policy_nv nv = tpm_policy_nv_for_class(TPM_SEAL_UPDATE_MODE);
        size_t size, new_size;
        char why[256] = "";
        int r;

        if (state_path(d, SEALED_NAME, &sealed) < 0)
                return FAIL(-ENOMEM, "out of memory");
        r = read_full_file(sealed, TPM_BLOB_SIZE_MAX, &data, &size);
        if (r == -ENOENT)
                return 0; /* no key yet: created through the index */
        if (r < 0)
                return FAIL(r, "cannot read %s: %s", sealed, strerror(-r));
        r = tpm_blob_parse(data, size, &blob);
        if (r < 0)
                return FAIL(r, "%s is not a TVAM sealed object: %s", sealed, strerror(-r));
        if (blob->kind == TPM_BLOB_AUTHORIZE_NV)
                return 0;
        r = unseal_key(d, tpm, &seed, message, message_size);
        if (r < 0)
                return r;
        r = tpm_seal_authorize_nv(tpm, seed, &nv, &nv_blob);
        if (r < 0)
                return FAIL(r, "cannot seal the SSH host key through NV index 0x%08x: %s", nv.policy_index,
                        strerror(-r));
        /* Replace the sealed object only by one that unseals here and now. */
        r = unseal_blob(d, tpm, nv_blob, &diag, &check, why, sizeof(why));
        if (r < 0 || check->size != seed->size || memcmp(check->data, seed->data, seed->size) != 0)
                return FAIL(r < 0 ? r : -EIO, "the SSH host key sealed through NV index 0x%08x does not unseal "
                                               "in this state (%s): kept the old one",
                        nv.policy_index, why[0] ? why : diag.message[0] ? diag.message : r < 0 ? strerror(-r)
                                                                                           : "another secret");
        r = tpm_blob_serialize(nv_blob, &new_data, &new_size);
        if (r >= 0)
                r = atomic_file_write(sealed, new_data, new_size, 0600);
        if (r < 0)
                return FAIL(r, "cannot replace %s: %s", sealed, strerror(-r));
        log_info("SSH host key re-sealed through the Update-Mode policy index 0x%08x (same key: %s)",
                nv.policy_index, d->um.fingerprint);
        return 1;
}

/* The fingerprint of the stored public key (any mode: it is public). */
static void read_fingerprint(struct daemon *d)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ uint8_t *line = NULL;
        uint8_t pub[SSHKEY_PUBLIC_SIZE];
        size_t size;

        if (state_path(d, PUBLIC_NAME, &path) < 0 || read_full_file(path, 4096, &line, &size) < 0)
                return;
        if (sshkey_parse_public((const char *)line, pub) < 0 ||
                sshkey_fingerprint(pub, SSHKEY_COMMENT, d->um.fingerprint, sizeof(d->um.fingerprint)) < 0)
                log_warning("%s is not an ssh-ed25519 public key", path);
}

static void provide_host_key(struct daemon *d, struct tpm_context *tpm)
{
        struct update_mode *um = &d->um;
        _cleanup_secret_ struct secret *seed = NULL;
        _cleanup_free_ char *sealed = NULL;
        char *message = um->host_key_error;
        size_t message_size = sizeof(um->host_key_error);
        bool created = false;
        int r;

        if (state_path(d, SEALED_NAME, &sealed) < 0)
                return;
        /* Refuse a disk before anything is generated. */
        r = key_dir(um->host_key, message, message_size);
        if (r < 0)
                goto fail;
        if (access(sealed, F_OK) < 0 && errno == ENOENT) {
                r = create_key(d, tpm, &seed, message, message_size);
                created = true;
        } else
                r = unseal_key(d, tpm, &seed, message, message_size);
        if (r < 0)
                goto fail;
        r = install_key(um, seed, message, message_size);
        if (r < 0) {
                wipe_key_files(um);
                goto fail;
        }
        um->host_key_error[0] = '\0';
        if (created) {
                /* For the administrator to pin (ssh-keygen -l format). */
                printf("SSH host key created and sealed: %s\n", um->fingerprint);
                fflush(stdout);
                log_info("SSH host key created, sealed to the Update-Mode state (launch PCRs + 14 + 15 = 0%s): %s",
                        policy_initialized(d) ? ", through the Update-Mode policy index" : "", um->fingerprint);
        } else
                log_info("SSH host key unsealed into %s: %s", um->host_key, um->fingerprint);
        return;
fail:
        log_error("No SSH host key for Update Mode: %s", um->host_key_error);
}

void update_mode_init(struct daemon *d)
{
        struct update_mode *um = &d->um;
        struct tpm_context *tpm;
        enum tvam_mode mode;
        int r;

        read_fingerprint(d);
        r = daemon_tpm(d, &tpm);
        if (r >= 0)
                r = mode_get(tpm, &mode);
        if (r < 0) {
                snprintf(um->host_key_error, sizeof(um->host_key_error), "cannot read the mode from PCR %d: %s",
                        MODE_PCR, strerror(-r));
                log_error("No SSH host key for Update Mode: %s", um->host_key_error);
                return;
        }
        if (mode != MODE_UPDATE) {
                /* Never unsealed outside Update Mode (and PCR 15 forbids it). */
                wipe_key_files(um);
                log_info("%s mode: the SSH host key stays sealed", mode_to_string(mode));
                return;
        }
        provide_host_key(d, tpm);
        /* Counted from when sshd can have its key. */
        if (um->timeout_s > 0) {
                um->deadline = boottime_s() + um->timeout_s;
                log_info("Update Mode: switching to Application Mode in %u s unless someone logs in", um->timeout_s);
        }
}

/* ---- leaving Update Mode ---- */

/* Processes named sshd (the listener and, before OpenSSH 9.8, its session
 * processes) or sshd-* (sshd-session, sshd-auth). */
static unsigned count_sshd(void)
{
        _cleanup_(closedirp) DIR *proc = opendir("/proc");
        struct dirent *de;
        unsigned n = 0;

        if (!proc)
                return 0;
        while ((de = readdir(proc))) {
                char path[300], comm[32] = "";
                _cleanup_fclose_ FILE *f = NULL;
                if (!isdigit((unsigned char)de->d_name[0]))
                        continue;
                snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
                f = fopen(path, "re");
                if (!f || !fgets(comm, sizeof(comm), f))
                        continue;
                comm[strcspn(comm, "\n")] = '\0';
                if (strcmp(comm, "sshd") == 0 || strncmp(comm, "sshd-", 5) == 0)
                        n++;
        }
        return n;
}

/* Run the stop command.  If it fails while sshd processes exist, refuse:
 * they may hold the host key, and Application Mode admits no login.  If
 * none exist (no sshd installed, no service manager), go on. */
static int stop_sshd(struct update_mode *um, char *message, size_t message_size)
{
        unsigned n;
        int r, status = 0;

        if (!um->stop_argv || !um->stop_argv[0])
                return 0;
        r = spawn_wait((const char *const *)um->stop_argv, false, &status);
        if (r == 0) {
                log_info("sshd stopped ('%s' succeeded)", um->stop_argv[0]);
                return 0;
        }
        n = count_sshd();
        if (r == -EPROTO)
                snprintf(message, message_size, "'%s' exited with status %d", um->stop_argv[0], status);
        else
                snprintf(message, message_size, "'%s' could not be run: %s", um->stop_argv[0], strerror(-r));
        if (n > 0) {
                size_t len = strlen(message);
                snprintf(message + len, message_size - len,
                        " and %u sshd process(es) still run: refusing to leave Update Mode while sshd may hold "
                        "the host key",
                        n);
                return -EBUSY;
        }
        log_warning("Stopping sshd failed (%s), but no sshd process runs: going on", message);
        message[0] = '\0';
        return 0;
}

static int extend_mode_pcr(struct daemon *d, struct tpm_context *tpm, char *message, size_t message_size)
{
        /* PCR 15 += H("tvam:mode:application"): a TVAM mode event with that
         * identity (docs/eventlog.md). */
        struct eventlog_tvam_event e = { .kind = EVENTLOG_TVAM_MODE };
        int r;

        snprintf(e.name, sizeof(e.name), "application");
        snprintf(e.identity, sizeof(e.identity), "%s", MODE_APPLICATION_EVENT);
        r = daemon_measure(d, tpm, MODE_PCR, &e, "mode-application", "\"mode\":\"application\"");
        if (r < 0)
                return FAIL(r, "cannot extend PCR %d: %s", MODE_PCR, strerror(-r));
        return 0;
}

int update_mode_leave(struct daemon *d, const char *why, json_object **ret_autostart, char *message,
        size_t message_size)
{
        struct update_mode *um = &d->um;
        struct tpm_context *tpm;
        enum tvam_mode mode;
        json_object *autostart;
        int r;

        r = daemon_tpm(d, &tpm);
        if (r < 0)
                return FAIL(r, "cannot reach the TPM (%s): %s", d->tcti, strerror(-r));
        r = mode_get(tpm, &mode);
        if (r < 0)
                return FAIL(r, "cannot read PCR %d: %s", MODE_PCR, strerror(-r));
        if (mode == MODE_UNKNOWN)
                return FAIL(-EPERM, "PCR %d holds a value TVAM did not write: refusing to switch modes", MODE_PCR);
        if (mode == MODE_APPLICATION) {
                wipe_key_files(um);
                um->deadline = 0;
                return 0;
        }

        /* sshd first, then its key, then the PCR: from here on the key is
         * nowhere in clear and can no longer be unsealed. */
        r = stop_sshd(um, message, message_size);
        if (r < 0)
                return r;
        wipe_key_files(um); /* tvamd keeps no copy: the seed was wiped when installed */
        r = extend_mode_pcr(d, tpm, message, message_size);
        if (r < 0)
                return r;
        um->deadline = 0;
        log_info("Application Mode (%s): PCR %d extended", why, MODE_PCR);

        autostart = daemon_group_autostart(d);
        if (ret_autostart)
                *ret_autostart = autostart;
        else
                json_object_put(autostart);
        return 0;
}

/* ---- the timeout ---- */

/* A login since boot: a USER_PROCESS record in the wtmp file (sshd and
 * login(1) write one per session).  Reads only what was appended since the
 * last call; a shorter file (rotated) is read again from the start. */
static bool login_recorded(struct update_mode *um)
{
        _cleanup_close_ int fd = open(um->login_records, O_RDONLY | O_CLOEXEC);
        time_t boot = time(NULL) - (time_t)boottime_s() - 1;
        struct utmp ut;
        struct stat st;

        if (fd < 0 || fstat(fd, &st) < 0)
                return false;
        if (st.st_size < um->records_offset)
                um->records_offset = 0;
        if (lseek(fd, um->records_offset, SEEK_SET) < 0)
                return false;
        while (loop_read(fd, &ut, sizeof(ut)) == (ssize_t)sizeof(ut)) {
                um->records_offset += (long long)sizeof(ut);
                if (ut.ut_type == USER_PROCESS && (time_t)ut.ut_tv.tv_sec >= boot) {
                        log_info("login of '%.*s' on %.*s recorded in %s: staying in Update Mode",
                                (int)sizeof(ut.ut_user), ut.ut_user, (int)sizeof(ut.ut_line), ut.ut_line,
                                um->login_records);
                        return true;
                }
        }
        return false;
}

int update_mode_tick(struct daemon *d)
{
        struct update_mode *um = &d->um;
        char message[512] = "";
        double now, left;
        int r;

        if (um->deadline == 0)
                return -1;
        if (login_recorded(um)) {
                um->login_seen = true;
                um->deadline = 0;
                return -1;
        }
        now = boottime_s();
        if (now < um->deadline) {
                left = (um->deadline - now) * 1000.0;
                return left < LOGIN_POLL_MS ? (int)left + 1 : LOGIN_POLL_MS;
        }
        log_info("no login within %u s: leaving Update Mode", um->timeout_s);
        r = update_mode_leave(d, "timeout", NULL, message, sizeof(message));
        if (r < 0) {
                log_error("Failed to leave Update Mode after the timeout (retrying in %d s): %s", RETRY_S, message);
                um->deadline = now + RETRY_S;
                return LOGIN_POLL_MS;
        }
        return -1;
}

void update_mode_status(struct daemon *d, bool update_mode, json_object *result)
{
        struct update_mode *um = &d->um;
        json_object *key = json_object_new_object();
        struct stat st;

        json_object_object_add(result, "update_mode_timeout", json_object_new_int64(um->timeout_s));
        if (update_mode && um->deadline > 0) {
                double left = um->deadline - boottime_s();
                json_object_object_add(result, "update_mode_remaining",
                        json_object_new_int64(left > 0 ? (int64_t)left + 1 : 0));
        } else
                json_object_object_add(result, "update_mode_remaining", NULL);
        json_object_object_add(result, "login_seen", json_object_new_boolean(um->login_seen));

        json_object_object_add(key, "fingerprint",
                um->fingerprint[0] ? json_object_new_string(um->fingerprint) : NULL);
        json_object_object_add(key, "path", json_object_new_string(um->host_key));
        json_object_object_add(key, "unsealed",
                json_object_new_boolean(update_mode && stat(um->host_key, &st) == 0));
        if (update_mode && um->host_key_error[0])
                json_object_object_add(key, "error", json_object_new_string(um->host_key_error));
        json_object_object_add(result, "ssh_host_key", key);
}
