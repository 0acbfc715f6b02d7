/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Signed configuration patches (see patch.h).  This file is the one place
 * that uses OpenSSL's certificate and signature API (EVP_DigestVerify);
 * digests go through tvam/shared/digest.h.
 */
#include "tvam/measure/patch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tvam/shared/digest.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/macro.h"

struct patch_signer {
        EVP_PKEY *key;
};

int patch_signer_load(const char *cert_path, struct patch_signer **ret)
{
        _cleanup_fclose_ FILE *f = fopen(cert_path, "re");
        X509 *cert;
        struct patch_signer *s;

        if (!f)
                return -errno;
        cert = PEM_read_X509(f, NULL, NULL, NULL);
        if (!cert)
                return -EBADMSG;
        s = calloc(1, sizeof(*s));
        if (!s) {
                X509_free(cert);
                return -ENOMEM;
        }
        s->key = X509_get_pubkey(cert);
        X509_free(cert);
        if (!s->key) {
                free(s);
                return -EBADMSG;
        }
        *ret = s;
        return 0;
}

void patch_signer_free(struct patch_signer *s)
{
        if (!s)
                return;
        EVP_PKEY_free(s->key);
        free(s);
}

int patch_verify(const struct patch_signer *s, const uint8_t *data, size_t size, const uint8_t *sig, size_t sig_size)
{
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        int ok;

        if (!md)
                return -ENOMEM;
        ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, s->key) == 1 &&
             EVP_DigestVerify(md, sig, sig_size, data, size) == 1;
        EVP_MD_CTX_free(md);
        return ok ? 0 : -EBADMSG;
}

static bool path_valid(const char *p)
{
        size_t len = strlen(p);

        /* Only below /etc: configuration, never binaries or the store. */
        if (len < 6 || len >= PATCH_PATH_MAX || strncmp(p, "/etc/", 5) != 0 || p[len - 1] == '/')
                return false;
        for (const char *c = p; *c; c++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/+-@", *c))
                        return false;
        /* No "..", "." or empty components. */
        return !strstr(p, "//") && !strstr(p, "/../") && !strstr(p, "/./") && strcmp(p + len - 3, "/..") != 0 &&
               strcmp(p + len - 2, "/.") != 0;
}

#define FAIL(...)                                                                                           \
        do {                                                                                                \
                if (err)                                                                                    \
                        snprintf(err, err_size, __VA_ARGS__);                                               \
                return -EBADMSG;                                                                            \
        } while (0)

int patch_manifest_parse(const char *text, size_t size, struct patch_manifest *ret, char *err, size_t err_size)
{
        _cleanup_free_ char *copy = NULL;
        _cleanup_free_ struct patch_manifest *m = NULL;
        unsigned line = 0;
        bool header = false, have_seq = false;

        if (size > PATCH_MANIFEST_MAX)
                FAIL("manifest larger than %u bytes", PATCH_MANIFEST_MAX);
        if (memchr(text, '\0', size))
                FAIL("manifest contains a NUL byte");
        if (size == 0 || text[size - 1] != '\n')
                FAIL("manifest does not end with a newline");
        copy = strndup(text, size);
        m = calloc(1, sizeof(*m));
        if (!copy || !m)
                return -ENOMEM;
        /* strtok_r would merge empty lines; they are errors, so split by hand. */
        for (char *l = copy, *nl; *l; l = nl + 1) {
                char kw[16], rest[PATCH_PATH_MAX + 128];
                nl = strchr(l, '\n');
                *nl = '\0';
                line++;
                if (!header) {
                        if (strcmp(l, "tvam-patch 1") != 0)
                                FAIL("line 1: expected 'tvam-patch 1'");
                        header = true;
                        continue;
                }
                if (sscanf(l, "%15s", kw) != 1)
                        FAIL("line %u: empty", line);
                if (strcmp(kw, "sequence") == 0) {
                        char *end;
                        unsigned long long v;
                        if (have_seq)
                                FAIL("line %u: a second sequence", line);
                        if (strncmp(l, "sequence ", 9) != 0 || l[9] < '1' || l[9] > '9')
                                FAIL("line %u: sequence must be a positive decimal number", line);
                        errno = 0;
                        v = strtoull(l + 9, &end, 10);
                        if (errno || *end || v > INT64_MAX)
                                FAIL("line %u: sequence out of range", line);
                        m->sequence = v;
                        have_seq = true;
                } else if (strcmp(kw, "file") == 0) {
                        struct patch_file *f;
                        char mode[8], hex[65], path[PATCH_PATH_MAX];
                        int n = 0;
                        if (m->n_files >= PATCH_FILES_MAX)
                                FAIL("line %u: more than %u files", line, PATCH_FILES_MAX);
                        if (strlen(l) >= sizeof(rest) ||
                            sscanf(l, "file %7s %64s %255s%n", mode, hex, path, &n) != 3 || l[n] != '\0')
                                FAIL("line %u: expected 'file MODE SHA256 PATH'", line);
                        f = &m->files[m->n_files];
                        char *end;
                        unsigned long md = strtoul(mode, &end, 8);
                        if (strlen(mode) != 4 || *end || md > 0777)
                                FAIL("line %u: mode '%s' is not 4 octal digits up to 0777", line, mode);
                        if (strlen(hex) != 64 || hex_decode_exact(hex, f->sha256, 32) < 0)
                                FAIL("line %u: not a SHA-256 in hex", line);
                        if (!path_valid(path))
                                FAIL("line %u: path '%s' is not a plain absolute path below /etc/", line, path);
                        for (size_t i = 0; i < m->n_files; i++)
                                if (strcmp(m->files[i].path, path) == 0)
                                        FAIL("line %u: %s listed twice", line, path);
                        f->mode = (unsigned)md;
                        snprintf(f->path, sizeof(f->path), "%s", path);
                        m->n_files++;
                } else
                        FAIL("line %u: unknown record '%s'", line, kw);
        }
        if (!have_seq)
                FAIL("no sequence record");
        if (m->n_files == 0)
                FAIL("no file records");
        *ret = *m;
        return 0;
}

static int mkdir_parents(char *path)
{
        for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
                *p = '\0';
                int r = mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
                *p = '/';
                if (r < 0)
                        return r;
        }
        return 0;
}

int patch_apply(const struct patch_manifest *m, const char *patch_dir, const char *root, char *err, size_t err_size)
{
        _cleanup_free_ uint8_t **data = calloc(m->n_files, sizeof(uint8_t *));
        _cleanup_free_ size_t *sizes = calloc(m->n_files, sizeof(size_t));
        int r = 0;

        if (!data || !sizes)
                return -ENOMEM;
        /* Check everything before writing anything. */
        for (size_t i = 0; i < m->n_files && r == 0; i++) {
                char src[PATH_MAX];
                uint8_t d[32];
                snprintf(src, sizeof(src), "%s/files%s", patch_dir, m->files[i].path);
                r = read_full_file(src, PATCH_FILE_SIZE_MAX, &data[i], &sizes[i]);
                if (r < 0) {
                        if (err)
                                snprintf(err, err_size, "%s: %s", m->files[i].path, strerror(-r));
                        r = -EBADMSG;
                        break;
                }
                r = digest_buffer(DIGEST_SHA256, data[i], sizes[i], d);
                if (r == 0 && memcmp(d, m->files[i].sha256, 32) != 0) {
                        if (err)
                                snprintf(err, err_size, "%s: content differs from the signed SHA-256", m->files[i].path);
                        r = -EBADMSG;
                }
        }
        for (size_t i = 0; root && i < m->n_files && r == 0; i++) {
                char dst[PATH_MAX];
                snprintf(dst, sizeof(dst), "%s%s", root, m->files[i].path);
                r = mkdir_parents(dst);
                if (r == 0)
                        r = atomic_file_write(dst, data[i], sizes[i], m->files[i].mode);
                if (r < 0 && err)
                        snprintf(err, err_size, "writing %s: %s", dst, strerror(-r));
        }
        for (size_t i = 0; i < m->n_files; i++)
                free(data[i]);
        return r;
}
