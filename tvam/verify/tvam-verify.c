/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tvam-verify — the remote verifier of TVAM platforms (issue 7,
 * docs/attestation.md, tvam-verify(1)).  Needs no TPM.
 *
 *   tvam-verify enrol-challenge --ca PEM [--intermediate PEM] --request FILE
 *                               --challenge OUT --pending OUT
 *   tvam-verify enrol-complete  --pending FILE --response FILE --enrolled DIR
 *   tvam-verify verify          --enrolled DIR --nonce HEX --manifest FILE
 *                               [--manifest-sig FILE] --admin-key PEM
 *                               --evidence FILE [--json]
 *   tvam-verify export-quote    --evidence FILE --dir DIR
 *   tvam-verify verify-vm-cert  (verify's options) --certify FILE --cert DER
 *   tvam-verify tls-connect     (verify's options) --certify FILE --socket PATH
 *                               [--message-file FILE]
 *
 * Exit status of verify: 0 trusted, 1 untrusted, 2 the verification could
 * not run (usage, unreadable files).
 */

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/log.h"
#include "tvam/shared/secret.h"
#include "tvam/verify/json-util.h"
#include "tvam/verify/manifest.h"
#include "tvam/verify/tls.h"
#include "tvam/verify/tpm-types.h"
#include "tvam/verify/verify.h"

#define EXIT_UNTRUSTED 1
#define EXIT_ERROR 2
#define DOC_MAX (256u * 1024u * 1024u)
#define MAX_ENROLLED 4096u

struct args {
        const char *ca, *intermediate, *request, *challenge, *pending, *response, *enrolled, *nonce, *manifest,
                *manifest_sig, *admin_key, *evidence, *dir, *certify, *cert, *socket, *message_file;
        bool json;
};

static void help(void)
{
        printf("Usage: tvam-verify COMMAND [OPTIONS]\n"
               "Verify TVAM platforms by remote attestation (no TPM needed).\n\n"
               "Commands:\n"
               "  enrol-challenge  check an enrolment request (EK certificate chain, AK) and\n"
               "                   write a credential-activation challenge\n"
               "  enrol-complete   check the platform's answer and enrol its AK\n"
               "  verify           verify evidence: verdict trusted/untrusted and why\n"
               "  export-quote     write the quote as tpm2_checkquote files\n"
               "  verify-vm-cert   verify evidence, then the chain AK -> platform key -> VM\n"
               "                   certificate -> identity in the manifest (ENDORSE)\n"
               "  tls-connect      verify evidence and the platform key, then TLS 1.3 to a\n"
               "                   VM over its TLS port's host socket: the peer is accepted\n"
               "                   only if its certificate chains to that platform key and\n"
               "                   names an application of the manifest; one message each way\n\n"
               "Options:\n"
               "  --ca PEM              EK CA certificate(s) (trust anchors)\n"
               "  --intermediate PEM    intermediate CA certificates (untrusted)\n"
               "  --request FILE        enrolment request (tvamctl attest-enrol)\n"
               "  --challenge FILE      challenge to write\n"
               "  --pending FILE        verifier-side enrolment state\n"
               "  --response FILE       the platform's answer\n"
               "  --enrolled DIR        directory of enrolment records\n"
               "  --nonce HEX           the nonce this verifier sent (8-64 bytes)\n"
               "  --manifest FILE       reference manifest (JSON)\n"
               "  --manifest-sig FILE   its signature (default: FILE.sig)\n"
               "  --admin-key PEM       the administrator's public key\n"
               "  --evidence FILE       evidence (tvamctl attest)\n"
               "  --dir DIR             output directory of export-quote\n"
               "  --certify FILE        platform key certification (TPM2_Certify by the AK)\n"
               "  --cert FILE           VM certificate (DER)\n"
               "  --socket PATH         tls-connect: the host socket of the VM's TLS port\n"
               "  --message-file FILE   tls-connect: what to send, read from FILE (not the command\n"
               "                        line: it may be a secret; default: a greeting)\n"
               "  --json                print the verdict as JSON\n"
               "  -h, --help            this help\n");
}

static int parse_args(int argc, char **argv, struct args *a)
{
        enum {
                ARG_CA = 0x100, ARG_INTERMEDIATE, ARG_REQUEST, ARG_CHALLENGE, ARG_PENDING, ARG_RESPONSE,
                ARG_ENROLLED, ARG_NONCE, ARG_MANIFEST, ARG_MANIFEST_SIG, ARG_ADMIN_KEY, ARG_EVIDENCE, ARG_DIR,
                ARG_JSON, ARG_CERTIFY, ARG_CERT, ARG_SOCKET, ARG_MESSAGE_FILE, ARG_MESSAGE,
        };
        static const struct option options[] = {
                { "ca", required_argument, NULL, ARG_CA },
                { "intermediate", required_argument, NULL, ARG_INTERMEDIATE },
                { "request", required_argument, NULL, ARG_REQUEST },
                { "challenge", required_argument, NULL, ARG_CHALLENGE },
                { "pending", required_argument, NULL, ARG_PENDING },
                { "response", required_argument, NULL, ARG_RESPONSE },
                { "enrolled", required_argument, NULL, ARG_ENROLLED },
                { "nonce", required_argument, NULL, ARG_NONCE },
                { "manifest", required_argument, NULL, ARG_MANIFEST },
                { "manifest-sig", required_argument, NULL, ARG_MANIFEST_SIG },
                { "admin-key", required_argument, NULL, ARG_ADMIN_KEY },
                { "evidence", required_argument, NULL, ARG_EVIDENCE },
                { "dir", required_argument, NULL, ARG_DIR },
                { "json", no_argument, NULL, ARG_JSON },
                { "certify", required_argument, NULL, ARG_CERTIFY },
                { "cert", required_argument, NULL, ARG_CERT },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "message-file", required_argument, NULL, ARG_MESSAGE_FILE },
                /* Removed (a message on the command line is visible to every
                 * user): named so that getopt does not take "--message" for
                 * an abbreviation of --message-file. */
                { "message", required_argument, NULL, ARG_MESSAGE },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_CA: a->ca = optarg; break;
                case ARG_INTERMEDIATE: a->intermediate = optarg; break;
                case ARG_REQUEST: a->request = optarg; break;
                case ARG_CHALLENGE: a->challenge = optarg; break;
                case ARG_PENDING: a->pending = optarg; break;
                case ARG_RESPONSE: a->response = optarg; break;
                case ARG_ENROLLED: a->enrolled = optarg; break;
                case ARG_NONCE: a->nonce = optarg; break;
                case ARG_MANIFEST: a->manifest = optarg; break;
                case ARG_MANIFEST_SIG: a->manifest_sig = optarg; break;
                case ARG_ADMIN_KEY: a->admin_key = optarg; break;
                case ARG_EVIDENCE: a->evidence = optarg; break;
                case ARG_DIR: a->dir = optarg; break;
                case ARG_JSON: a->json = true; break;
                case ARG_CERTIFY: a->certify = optarg; break;
                case ARG_CERT: a->cert = optarg; break;
                case ARG_SOCKET: a->socket = optarg; break;
                case ARG_MESSAGE_FILE: a->message_file = optarg; break;
                case ARG_MESSAGE:
                        log_error("--message was removed (the command line is no place for a secret): use "
                                  "--message-file FILE");
                        return -EINVAL;
                case 'h': help(); exit(0);
                default: return -EINVAL;
                }
        return 0;
}

static int need(const char *value, const char *option)
{
        if (value)
                return 0;
        log_error("%s is required", option);
        return -EINVAL;
}

static int read_text(const char *path, char **ret, size_t *ret_size)
{
        uint8_t *buf = NULL;
        size_t size = 0;
        int r = read_full_file(path, DOC_MAX, &buf, &size);
        if (r < 0)
                return log_error_errno(r, "Cannot read %s: %s", path, strerror(-r));
        *ret = (char *)buf;
        if (ret_size)
                *ret_size = size;
        return 0;
}

static int cmd_enrol_challenge(const struct args *a)
{
        _cleanup_free_ char *req = NULL, *challenge = NULL, *pending = NULL;
        char error[512];
        int r;

        if (need(a->ca, "--ca") < 0 || need(a->request, "--request") < 0 || need(a->challenge, "--challenge") < 0 ||
                need(a->pending, "--pending") < 0)
                return EXIT_ERROR;
        if (read_text(a->request, &req, NULL) < 0)
                return EXIT_ERROR;
        r = verify_enrol_challenge(req, a->ca, a->intermediate, &challenge, &pending, error, sizeof(error));
        if (r < 0) {
                log_error("Enrolment refused: %s", error[0] ? error : strerror(-r));
                return EXIT_UNTRUSTED;
        }
        /* The pending state first: a challenge without it is useless. */
        r = atomic_file_write(a->pending, pending, strlen(pending), 0600);
        if (r >= 0)
                r = atomic_file_write(a->challenge, challenge, strlen(challenge), 0644);
        if (r < 0) {
                log_error_errno(r, "Cannot write the challenge: %s", strerror(-r));
                return EXIT_ERROR;
        }
        return 0;
}

static int cmd_enrol_complete(const struct args *a)
{
        _cleanup_free_ char *pending = NULL, *response = NULL, *record = NULL, *name = NULL, *path = NULL;
        char error[512];
        int r;

        if (need(a->pending, "--pending") < 0 || need(a->response, "--response") < 0 ||
                need(a->enrolled, "--enrolled") < 0)
                return EXIT_ERROR;
        if (read_text(a->pending, &pending, NULL) < 0 || read_text(a->response, &response, NULL) < 0)
                return EXIT_ERROR;
        r = verify_enrol_complete(pending, response, &record, &name, error, sizeof(error));
        if (r < 0) {
                log_error("Enrolment refused: %s", error[0] ? error : strerror(-r));
                return EXIT_UNTRUSTED;
        }
        if (mkdir(a->enrolled, 0755) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Cannot create %s: %m", a->enrolled), EXIT_ERROR;
        if (asprintf(&path, "%s/%s.json", a->enrolled, name) < 0)
                return EXIT_ERROR;
        r = atomic_file_write(path, record, strlen(record), 0644);
        if (r < 0) {
                log_error_errno(r, "Cannot write %s: %s", path, strerror(-r));
                return EXIT_ERROR;
        }
        printf("enrolled AK %s\n", name);
        return 0;
}

static void free_aks(struct verify_ak **aks, size_t n)
{
        for (size_t i = 0; i < n; i++)
                verify_ak_free(aks[i]);
        free(aks);
}

/* Every DIR/<AK name>.json record. */
static int load_enrolled(const char *dir, struct verify_ak ***ret, size_t *ret_n)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        struct verify_ak **aks = NULL;
        size_t n = 0;
        int r = 0;

        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                struct verify_ak **p;
                size_t len = strlen(de->d_name);

                if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0 || de->d_name[0] == '.')
                        continue;
                if (n >= MAX_ENROLLED || asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
                        r = -E2BIG;
                        break;
                }
                p = reallocarray(aks, n + 1, sizeof(*aks));
                if (!p) {
                        r = -ENOMEM;
                        break;
                }
                aks = p;
                r = verify_ak_load(path, &aks[n]);
                if (r < 0) {
                        log_error_errno(r, "Enrolment record %s is unusable: %s", path, strerror(-r));
                        break;
                }
                n++;
        }
        closedir(d);
        if (r < 0) {
                free_aks(aks, n);
                return r;
        }
        *ret = aks;
        *ret_n = n;
        return 0;
}

/* ENDORSE chain after trusted evidence: the platform key is certified by
 * the enrolled AK and bound to the attested PCR values; the VM certificate
 * is signed by it and names an application of the manifest.  The verdict
 * goes to RES (cause "vm-certificate" with the reason). */
static int verify_chain(const struct args *a, const char *evidence, size_t size, const uint8_t *nonce,
        size_t nonce_size, struct verify_ak **aks, size_t n_aks, const struct verify_manifest *m,
        struct verify_result *res)
{
        _cleanup_free_ char *certify = NULL;
        _cleanup_free_ uint8_t *cert = NULL;
        _cleanup_(crypto_key_freep) struct crypto_key *pk = NULL;
        struct pcr_bank state;
        char error[512], identity[1100];
        size_t cert_size;
        int r;

        if (!a->cert) {
                log_error("--cert is required with --certify");
                return -EINVAL;
        }
        if (read_text(a->certify, &certify, NULL) < 0)
                return -EIO;
        r = read_full_file(a->cert, 1u << 20, &cert, &cert_size);
        if (r < 0)
                return log_error_errno(r, "Cannot read %s: %s", a->cert, strerror(-r));
        r = verify_evidence_pcrs(evidence, size, &state);
        if (r < 0)
                return r;
        r = verify_platform_key(certify, nonce, nonce_size, aks, n_aks, &state, &pk, error, sizeof(error));
        if (r == 0)
                r = verify_vm_certificate(cert, cert_size, pk, m, identity, sizeof(identity), error, sizeof(error));
        if (r == -EPERM) {
                *res = (struct verify_result){ .cause = VERIFY_VM_CERTIFICATE, .pcr = -1, .event = -1 };
                snprintf(res->message, sizeof(res->message), "endorsement chain: %.400s", error);
                return 0;
        }
        if (r < 0)
                return r;
        snprintf(res->message, sizeof(res->message),
                "trusted: platform attested; VM certificate for identity %.200s chains EK CA -> AK -> platform key "
                "-> VM and the identity is in the reference manifest",
                identity);
        return 0;
}

/* What verify, verify-vm-cert and tls-connect all start from: the nonce,
 * the signed manifest, the enrolled AKs and the evidence. */
struct inputs {
        struct verify_manifest *m;
        struct verify_ak **aks;
        size_t n_aks;
        uint8_t *nonce;
        size_t nonce_size;
        char *evidence;
        size_t size;
};

static void inputs_done(struct inputs *in)
{
        verify_manifest_free(in->m);
        free_aks(in->aks, in->n_aks);
        free(in->nonce);
        free(in->evidence);
}

static int inputs_load(const struct args *a, struct inputs *in)
{
        _cleanup_free_ char *sig_path = NULL;
        _cleanup_(crypto_key_freep) struct crypto_key *admin = NULL;
        char error[512];
        int r;

        *in = (struct inputs){};
        if (need(a->enrolled, "--enrolled") < 0 || need(a->nonce, "--nonce") < 0 || need(a->manifest, "--manifest") < 0 ||
                need(a->admin_key, "--admin-key") < 0 || need(a->evidence, "--evidence") < 0)
                return -EINVAL;
        if (hex_decode(a->nonce, &in->nonce, &in->nonce_size) < 0 || in->nonce_size < 8 || in->nonce_size > 64) {
                log_error("--nonce must be 8 to 64 bytes of hex");
                return -EINVAL;
        }
        r = crypto_key_load_pem(a->admin_key, &admin);
        if (r < 0)
                return log_error_errno(r, "Cannot load the admin key %s: %s", a->admin_key, strerror(-r));
        if (!a->manifest_sig && asprintf(&sig_path, "%s.sig", a->manifest) < 0)
                return -ENOMEM;
        r = verify_manifest_load(a->manifest, a->manifest_sig ? a->manifest_sig : sig_path, admin, &in->m, error,
                sizeof(error));
        if (r < 0) {
                log_error("Reference manifest refused: %s", error);
                return r;
        }
        r = load_enrolled(a->enrolled, &in->aks, &in->n_aks);
        if (r < 0)
                return log_error_errno(r, "Cannot load enrolment records from %s: %s", a->enrolled, strerror(-r));
        return read_text(a->evidence, &in->evidence, &in->size);
}

static int print_verdict(const struct args *a, const struct verify_result *res)
{
        _cleanup_free_ char *json = NULL;

        if (a->json) {
                if (verify_result_to_json(res, &json) < 0)
                        return EXIT_ERROR;
                printf("%s\n", json);
        } else
                printf("%s: %s\n", res->cause == VERIFY_TRUSTED ? "trusted" : "untrusted", res->message);
        return res->cause == VERIFY_TRUSTED ? 0 : EXIT_UNTRUSTED;
}

static int cmd_verify(const struct args *a)
{
        struct inputs in;
        struct verify_result res;
        int r;

        r = inputs_load(a, &in);
        if (r >= 0)
                r = verify_evidence(in.evidence, in.size, in.nonce, in.nonce_size, in.aks, in.n_aks, in.m, &res);
        if (r >= 0 && res.cause == VERIFY_TRUSTED && a->certify)
                r = verify_chain(a, in.evidence, in.size, in.nonce, in.nonce_size, in.aks, in.n_aks, in.m, &res);
        if (r < 0) {
                inputs_done(&in);
                if (r != -EINVAL && r != -EIO)
                        log_error_errno(r, "Verification failed to run: %s", strerror(-r));
                return EXIT_ERROR;
        }
        inputs_done(&in);
        return print_verdict(a, &res);
}

/* The message for the VM: from a file (it may be a secret: never argv),
 * wiped when done. */
#define MESSAGE_MAX 4096
struct message {
        uint8_t *buf;
        size_t size;
        const char *text;
};

static void message_freep(struct message *m)
{
        erase_and_free(m->buf, m->size);
        *m = (struct message){};
}

static int message_load(const char *path, struct message *ret)
{
        uint8_t *buf = NULL;
        size_t size;
        int r;

        r = read_full_file(path, MESSAGE_MAX, &buf, &size);
        if (r < 0)
                return log_error_errno(r, "Cannot read the message %s: %s", path, strerror(-r));
        if (size > 0 && buf[size - 1] == '\n') /* one trailing newline is not part of it */
                buf[--size] = '\0';
        if (size == 0 || memchr(buf, 0, size)) {
                erase_and_free(buf, size);
                log_error("The message in %s must be non-empty text without NUL bytes", path);
                return -EINVAL;
        }
        *ret = (struct message){ .buf = buf, .size = size + 1, .text = (const char *)buf };
        return 0;
}

/* tls-connect: trusted evidence → platform key certified by the enrolled AK
 * and bound to the attested PCR values → TLS 1.3 with the VM, whose
 * certificate must be that key's and name a manifest application
 * (docs/attestation.md "TLS demo").  Exit 0 session done, 1 refused, 2 the
 * session could not run. */
static int cmd_tls_connect(const struct args *a)
{
        _cleanup_free_ char *certify = NULL;
        _cleanup_(crypto_key_freep) struct crypto_key *pk = NULL;
        struct inputs in;
        struct verify_result res;
        struct pcr_bank state;
        char error[512] = "", identity[1100], fp[65], reply[VERIFY_TLS_REPLY_MAX] = "";
        _cleanup_(message_freep) struct message msg = {};
        int r;

        if (need(a->certify, "--certify") < 0 || need(a->socket, "--socket") < 0)
                return EXIT_ERROR;
        r = inputs_load(a, &in);
        if (r >= 0)
                r = verify_evidence(in.evidence, in.size, in.nonce, in.nonce_size, in.aks, in.n_aks, in.m, &res);
        if (r < 0)
                goto error;
        if (res.cause != VERIFY_TRUSTED) {
                inputs_done(&in);
                return print_verdict(a, &res);
        }
        r = read_text(a->certify, &certify, NULL);
        if (r >= 0)
                r = verify_evidence_pcrs(in.evidence, in.size, &state);
        if (r < 0)
                goto error;
        r = verify_platform_key(certify, in.nonce, in.nonce_size, in.aks, in.n_aks, &state, &pk, error, sizeof(error));
        if (r == -EPERM) {
                printf("untrusted: platform key: %s\n", error);
                inputs_done(&in);
                return EXIT_UNTRUSTED;
        }
        if (r < 0)
                goto error;
        if (a->message_file) {
                r = message_load(a->message_file, &msg);
                if (r < 0) {
                        inputs_done(&in);
                        return EXIT_ERROR;
                }
        }
        r = verify_tls_session(a->socket, pk, in.m, msg.text ? msg.text : "hello from the verifier", identity,
                sizeof(identity), fp, reply, sizeof(reply), error, sizeof(error));
        inputs_done(&in);
        if (r == -EPERM) {
                printf("untrusted: TLS peer refused: %s\n", error);
                return EXIT_UNTRUSTED;
        }
        if (r < 0) {
                log_error("TLS session failed: %s", error[0] ? error : strerror(-r));
                return EXIT_ERROR;
        }
        printf("trusted: TLS 1.3 peer %s (certificate sha256 %s) chains EK CA -> AK -> platform key -> VM "
               "certificate -> reference manifest\n",
                identity, fp);
        printf("received: %s\n", reply);
        fflush(stdout);
        explicit_bzero(reply, sizeof(reply)); /* what the VM said may be a secret too */
        return 0;
error:
        inputs_done(&in);
        if (r != -EINVAL && r != -EIO)
                log_error_errno(r, "Verification failed to run: %s", strerror(-r));
        return EXIT_ERROR;
}

static int write_file(const char *dir, const char *name, const void *data, size_t size)
{
        _cleanup_free_ char *path = NULL;
        int r;
        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        r = atomic_file_write(path, data, size, 0644);
        if (r < 0)
                log_error_errno(r, "Cannot write %s: %s", path, strerror(-r));
        return r;
}

/* attest.bin, signature.bin (TPMT_SIGNATURE), ak.pem, pcrs.bin (the quoted
 * SHA-256 values in ascending PCR order), pcr-list ("sha256:0,1,..."),
 * nonce (hex): exactly what tpm2_checkquote -m -s -u -f -l -q take. */
static int cmd_export_quote(const struct args *a)
{
        _cleanup_free_ char *evidence = NULL, *pem = NULL;
        _cleanup_free_ uint8_t *attest = NULL, *sig = NULL, *ak = NULL;
        _cleanup_json_ json_object *root = NULL;
        _cleanup_(crypto_key_freep) struct crypto_key *key = NULL;
        json_object *quote, *pcrs, *bank;
        size_t attest_size, sig_size, ak_size, n = 0;
        struct tpm_public pub;
        uint8_t values[24 * 32];
        char list[128] = "sha256:";
        const char *nonce;

        if (need(a->evidence, "--evidence") < 0 || need(a->dir, "--dir") < 0)
                return EXIT_ERROR;
        if (read_text(a->evidence, &evidence, NULL) < 0)
                return EXIT_ERROR;
        root = json_tokener_parse(evidence);
        if (!root || !json_object_object_get_ex(root, "quote", &quote) ||
                json_get_b64(quote, "attest", &attest, &attest_size) < 0 ||
                json_get_b64(quote, "signature", &sig, &sig_size) < 0 || json_get_b64(root, "ak_public", &ak, &ak_size) < 0 ||
                tpm_public_parse(ak, ak_size, &pub) < 0 || !tpm_public_is_ak(&pub) ||
                crypto_key_from_p256(pub.x, pub.y, &key) < 0 || crypto_key_to_pem(key, &pem) < 0 ||
                !(nonce = json_get_string(root, "nonce")) || !json_object_object_get_ex(root, "pcrs", &pcrs) ||
                !json_object_object_get_ex(pcrs, "sha256", &bank)) {
                log_error("%s is not valid evidence", a->evidence);
                return EXIT_ERROR;
        }
        for (unsigned pcr = 0; pcr < 24; pcr++) {
                char key_s[4];
                const char *hex;
                snprintf(key_s, sizeof(key_s), "%u", pcr);
                if (!(hex = json_get_string(bank, key_s)))
                        continue;
                if (hex_decode_exact(hex, values + 32 * n, 32) < 0)
                        return EXIT_ERROR;
                snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%u", n ? "," : "", pcr);
                n++;
        }
        if (mkdir(a->dir, 0755) < 0 && errno != EEXIST)
                return EXIT_ERROR;
        if (write_file(a->dir, "attest.bin", attest, attest_size) < 0 ||
                write_file(a->dir, "signature.bin", sig, sig_size) < 0 ||
                write_file(a->dir, "ak.pem", pem, strlen(pem)) < 0 || write_file(a->dir, "pcrs.bin", values, 32 * n) < 0 ||
                write_file(a->dir, "pcr-list", list, strlen(list)) < 0 || write_file(a->dir, "nonce", nonce, strlen(nonce)) < 0)
                return EXIT_ERROR;
        return 0;
}

int main(int argc, char **argv)
{
        struct args a = {};
        const char *cmd;

        log_set_program_name("tvam-verify");
        log_parse_environment();
        if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
                help();
                return 0;
        }
        if (argc < 2) {
                help();
                return EXIT_ERROR;
        }
        cmd = argv[1];
        if (parse_args(argc - 1, argv + 1, &a) < 0)
                return EXIT_ERROR;
        if (strcmp(cmd, "enrol-challenge") == 0)
                return cmd_enrol_challenge(&a);
        if (strcmp(cmd, "enrol-complete") == 0)
                return cmd_enrol_complete(&a);
        if (strcmp(cmd, "verify") == 0)
                return cmd_verify(&a);
        if (strcmp(cmd, "export-quote") == 0)
                return cmd_export_quote(&a);
        if (strcmp(cmd, "tls-connect") == 0)
                return cmd_tls_connect(&a);
        if (strcmp(cmd, "verify-vm-cert") == 0) {
                if (!a.certify || !a.cert) {
                        log_error("verify-vm-cert needs --certify and --cert");
                        return EXIT_ERROR;
                }
                return cmd_verify(&a);
        }
        log_error("Unknown command '%s' (see --help)", cmd);
        return EXIT_ERROR;
}
