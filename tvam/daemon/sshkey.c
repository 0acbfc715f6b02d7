/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * OpenSSH key formats for the Update-Mode host key (sshkey.h).  References:
 * RFC 8709 (ssh-ed25519 public key blob), OpenSSH PROTOCOL.key (private key
 * file), ssh-keygen's fingerprint text (sshkey.c, "SHA256:" + base64 without
 * padding).  Buffers that held the seed are wiped before they go.
 */
#include "tvam/daemon/sshkey.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "tvam/shared/digest.h"
#include "tvam/shared/macro.h"
#include "tvam/shared/secret.h"

#define KEY_TYPE "ssh-ed25519"
#define AUTH_MAGIC "openssh-key-v1" /* followed by its NUL */
#define BASE64_LINE 70              /* as ssh-keygen wraps */

/* SSH wire encoding (RFC 4251 §5) into a fixed buffer. */
struct wire {
        uint8_t data[1024];
        size_t len;
        bool overflow;
};

static void wire_bytes(struct wire *w, const void *p, size_t n)
{
        if (w->overflow || n > sizeof(w->data) - w->len) {
                w->overflow = true;
                return;
        }
        memcpy(w->data + w->len, p, n);
        w->len += n;
}

static void wire_u32(struct wire *w, uint32_t v)
{
        uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
        wire_bytes(w, b, 4);
}

static void wire_string(struct wire *w, const void *p, size_t n)
{
        wire_u32(w, (uint32_t)n);
        wire_bytes(w, p, n);
}

static void wire_cstring(struct wire *w, const char *s)
{
        wire_string(w, s, strlen(s));
}

static void wire_wipe(struct wire *w)
{
        explicit_bzero(w, sizeof(*w));
}

/* string "ssh-ed25519", string key (RFC 8709 §4). */
static void public_blob(struct wire *w, const uint8_t pub[SSHKEY_PUBLIC_SIZE])
{
        wire_cstring(w, KEY_TYPE);
        wire_string(w, pub, SSHKEY_PUBLIC_SIZE);
}

/* Base64 of DATA into a new string; PAD false strips the '=' padding. */
static int base64(const uint8_t *data, size_t size, bool pad, char **ret)
{
        char *s = malloc(4 * ((size + 2) / 3) + 1);
        int n;

        if (!s)
                return -ENOMEM;
        n = EVP_EncodeBlock((unsigned char *)s, data, (int)size);
        if (n < 0) {
                free(s);
                return -EIO;
        }
        while (!pad && n > 0 && s[n - 1] == '=')
                s[--n] = '\0';
        *ret = s;
        return 0;
}

int sshkey_public(const uint8_t seed[SSHKEY_SEED_SIZE], uint8_t ret[SSHKEY_PUBLIC_SIZE])
{
        EVP_PKEY *key;
        size_t len = SSHKEY_PUBLIC_SIZE;
        int r = 0;

        assert(seed && ret);
        key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, SSHKEY_SEED_SIZE);
        if (!key)
                return -EIO;
        if (EVP_PKEY_get_raw_public_key(key, ret, &len) != 1 || len != SSHKEY_PUBLIC_SIZE)
                r = -EIO;
        EVP_PKEY_free(key); /* OpenSSL clears the private key it held */
        return r;
}

int sshkey_fingerprint(const uint8_t pub[SSHKEY_PUBLIC_SIZE], const char *comment, char *ret, size_t size)
{
        struct wire w = {};
        uint8_t md[32];
        _cleanup_free_ char *b64 = NULL;
        int r;

        public_blob(&w, pub);
        r = digest_buffer(DIGEST_SHA256, w.data, w.len, md);
        if (r < 0)
                return r;
        r = base64(md, sizeof(md), false, &b64);
        if (r < 0)
                return r;
        if ((size_t)snprintf(ret, size, "256 SHA256:%s %s (ED25519)", b64, comment) >= size)
                return -ENOBUFS;
        return 0;
}

int sshkey_format_public(const uint8_t pub[SSHKEY_PUBLIC_SIZE], const char *comment, char **ret)
{
        struct wire w = {};
        _cleanup_free_ char *b64 = NULL;
        int r;

        public_blob(&w, pub);
        r = base64(w.data, w.len, true, &b64);
        if (r < 0)
                return r;
        return asprintf(ret, KEY_TYPE " %s %s\n", b64, comment) < 0 ? -ENOMEM : 0;
}

int sshkey_parse_public(const char *line, uint8_t ret[SSHKEY_PUBLIC_SIZE])
{
        static const char prefix[] = KEY_TYPE " ";
        struct wire want = {};
        uint8_t blob[128];
        size_t n;
        int len;

        if (strncmp(line, prefix, strlen(prefix)) != 0)
                return -EBADMSG;
        line += strlen(prefix);
        n = strcspn(line, " \n");
        if (n == 0 || n % 4 != 0 || n > 4 * (sizeof(blob) / 3))
                return -EBADMSG;
        len = EVP_DecodeBlock(blob, (const unsigned char *)line, (int)n);
        if (len < 0)
                return -EBADMSG;
        /* EVP_DecodeBlock counts the padding as zero bytes. */
        len -= (line[n - 1] == '=') + (line[n - 2] == '=');
        if (len != 4 + (int)strlen(KEY_TYPE) + 4 + (int)SSHKEY_PUBLIC_SIZE)
                return -EBADMSG;
        public_blob(&want, blob + (size_t)len - SSHKEY_PUBLIC_SIZE);
        if ((size_t)len != want.len || memcmp(blob, want.data, want.len) != 0)
                return -EBADMSG;
        memcpy(ret, blob + (size_t)len - SSHKEY_PUBLIC_SIZE, SSHKEY_PUBLIC_SIZE);
        return 0;
}

/* The private section of PROTOCOL.key: two equal check integers, the key
 * (type, public, private = seed || public), the comment, then padding
 * 1, 2, 3, ... to the cipher block size (8 for "none"). */
static void private_section(struct wire *w, const uint8_t seed[SSHKEY_SEED_SIZE],
        const uint8_t pub[SSHKEY_PUBLIC_SIZE], const char *comment)
{
        uint8_t priv[SSHKEY_SEED_SIZE + SSHKEY_PUBLIC_SIZE];
        uint32_t check;

        /* The check integers only detect a wrong passphrase; derived from
         * the public key, the file is the same on every unseal. */
        check = (uint32_t)pub[0] << 24 | (uint32_t)pub[1] << 16 | (uint32_t)pub[2] << 8 | pub[3];
        wire_u32(w, check);
        wire_u32(w, check);
        wire_cstring(w, KEY_TYPE);
        wire_string(w, pub, SSHKEY_PUBLIC_SIZE);
        memcpy(priv, seed, SSHKEY_SEED_SIZE);
        memcpy(priv + SSHKEY_SEED_SIZE, pub, SSHKEY_PUBLIC_SIZE);
        wire_string(w, priv, sizeof(priv));
        explicit_bzero(priv, sizeof(priv));
        wire_cstring(w, comment);
        for (uint8_t pad = 1; w->len % 8 != 0; pad++)
                wire_bytes(w, &pad, 1);
}

int sshkey_format_private(const uint8_t seed[SSHKEY_SEED_SIZE], const char *comment, char **ret, size_t *ret_size)
{
        static const char begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----\n";
        static const char end[] = "-----END OPENSSH PRIVATE KEY-----\n";
        uint8_t pub[SSHKEY_PUBLIC_SIZE];
        struct wire file = {}, blob = {}, section = {};
        char *b64 = NULL, *out;
        size_t n, size, pos = 0;
        int r;

        r = sshkey_public(seed, pub);
        if (r < 0)
                return r;
        public_blob(&blob, pub);
        private_section(&section, seed, pub, comment);
        wire_bytes(&file, AUTH_MAGIC, sizeof(AUTH_MAGIC)); /* with the NUL */
        wire_cstring(&file, "none");                        /* cipher */
        wire_cstring(&file, "none");                        /* KDF */
        wire_string(&file, "", 0);                          /* KDF options */
        wire_u32(&file, 1);                                 /* number of keys */
        wire_string(&file, blob.data, blob.len);
        wire_string(&file, section.data, section.len);
        wire_wipe(&section);
        if (file.overflow || blob.overflow) {
                wire_wipe(&file);
                return -ENOBUFS;
        }
        r = base64(file.data, file.len, true, &b64);
        n = file.len;
        wire_wipe(&file);
        if (r < 0)
                return r;
        n = strlen(b64);
        size = strlen(begin) + n + n / BASE64_LINE + 1 + strlen(end);
        out = malloc(size + 1);
        if (!out) {
                erase_and_free(b64, n);
                return -ENOMEM;
        }
        memcpy(out, begin, strlen(begin));
        pos = strlen(begin);
        for (size_t i = 0; i < n; i += BASE64_LINE) {
                size_t chunk = n - i < BASE64_LINE ? n - i : BASE64_LINE;
                memcpy(out + pos, b64 + i, chunk);
                pos += chunk;
                out[pos++] = '\n';
        }
        memcpy(out + pos, end, strlen(end));
        pos += strlen(end);
        out[pos] = '\0';
        erase_and_free(b64, n);
        *ret = out;
        *ret_size = pos;
        return 0;
}
