/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tvam-policy — predict, show and diagnose the launch PCRs (profile `txt`:
 * tboot, PCRs 17/18/19), compute tboot's MLE hash, and provision tboot's
 * launch policies in TPM NV.
 *
 * A prediction is written as an *expectation file* (JSON: the inputs with
 * their digests, every replay step and the resulting PCR values); `show`
 * prints it per PCR with provenance, `diagnose` compares it with the TPM
 * and, given the current inputs, names the component that changed.
 *
 * Phases of every command: parse -> check -> act -> report.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "policy/grub/grub.h"
#include "policy/tboot/lcp.h"
#include "policy/tboot/mle.h"
#include "policy/tboot/txt.h"
#include "policy/tools/expectation.h"
#include "policy/tools/nv-provision.h"
#include "policy/tools/srtm.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/log.h"
#include "tvam/tpm/tpm-context.h"
#include "tvam/tpm/tpm-pcr.h"

#define VLP_FILE_MAX (64u * 1024u)
#define SINIT_DATA_MAX (1024u * 1024u)
#define EXPECT_FILE_MAX (4u * 1024u * 1024u)
#define GRUB_CFG_MAX (1024u * 1024u)
#define GRUB_FILES_MAX 16u

/* Exit codes of diagnose: 0 = the TPM matches, 1 = it differs. */
#define EXIT_DIFFERS 1
#define EXIT_ERROR 2

struct options {
        const char *command;
        const char *profile, *tboot, *tboot_cmdline, *vlp, *sinit_data, *sinit_pcr17, *output, *expected;
        const char *tcti, *cmdline, *lcp;
        const char *module_path[TXT_MODULES_MAX];
        const char *module_cmdline[TXT_MODULES_MAX];
        const char *module_name[TXT_MODULES_MAX];
        size_t n_modules;
        enum digest_alg alg;
        int json, owner_auth_stdin;
        /* lcp-create */
        const char *pol, *data;
        const char *mle_hash[TXT_MODULES_MAX];
        size_t n_mle_hashes;
        uint32_t sign_mask, elt_control, control;
        uint16_t hash_mask;
        long minver, max_sinit_min;
        int lcp_type;
        /* predict --profile srtm */
        const char *eventlog;
        uint32_t pcr_mask;
        const char *subst[TXT_MODULES_MAX];
        bool subst_is_file[TXT_MODULES_MAX];
        size_t n_subst;
        /* grub-predict */
        const char *grub_cfg, *grub_cfg_path, *entry;
        const char *grub_file[GRUB_FILES_MAX];
        bool grub_file_is_digest[GRUB_FILES_MAX];
        size_t n_grub_files;
};

static void help(void)
{
        printf("Usage:\n"
               "  tvam-policy predict --profile txt --tboot T [--tboot-cmdline C]\n"
               "                      --kernel K [--kernel-cmdline C] [--initrd I [--initrd-cmdline C]]...\n"
               "                      --vlp FILE (--sinit-data FILE | --sinit-pcr17 HEX)\n"
               "                      [--output EXPECTATION] [--json]\n"
               "  tvam-policy predict --profile srtm --eventlog LOG [--pcrs 0,2,4,8,9] [--alg ALG]\n"
               "                      [--substitute-file PCR:LOGGED=FILE]... [--substitute-string "
               "PCR:LOGGED=NEW]...\n"
               "                      [--json]\n"
               "  tvam-policy grub-predict --grub-cfg FILE [--grub-cfg-path PATH] [--entry ID]\n"
               "                      (--file GRUBPATH=FILE | --file-digest GRUBPATH=HEX)... [--alg ALG]\n"
               "                      [--output EXPECT] [--json]\n"
               "  tvam-policy show EXPECTATION [--json]\n"
               "  tvam-policy diagnose --expected EXPECTATION [--tcti TCTI] [inputs as for predict] "
               "[--json]\n"
               "  tvam-policy diagnose --profile srtm --eventlog LOG [--pcrs LIST] [--tcti TCTI] [--json]\n"
               "  tvam-policy mlehash [--alg ALG] [--cmdline C] TBOOT\n"
               "  tvam-policy lcp-create --pol POL [--data DATA] [--type list|any] [--alg ALG] --sign SIGALG...\n"
               "                      [--mask ALG]... [--minver N] [--max-sinit-min N] [--ctrl N]\n"
               "                      [--elt-ctrl N] (--mle-hash HEX | --tboot T [--tboot-cmdline C])...\n"
               "  tvam-policy lcp-show [--json] POL [DATA]\n"
               "  tvam-policy nv-write --vlp FILE | --lcp FILE [--tcti TCTI] [--owner-auth-stdin]\n"
               "  tvam-policy nv-read  --vlp OUT | --lcp OUT [--tcti TCTI]\n"
               "\n"
               "predict replays tboot's measured launch (pcr_map=legacy, extpol=sha256) and\n"
               "prints the expected PCRs 17, 18 and 19.  Command lines are the arguments after\n"
               "the module's file name (what tboot hashes).  Modules are numbered in the order\n"
               "given: the kernel is module 0.  --sinit-data is the stand-in for SINIT's\n"
               "measurements (swtpm_ioctl -h DATA); --sinit-pcr17 is PCR 17 as recorded after\n"
               "SINIT on the real platform.  diagnose exits 0 when the TPM matches, 1 when it\n"
               "differs (naming the first differing PCR and the component), 2 on errors.\n"
               "grub-predict prints PCRs 8 and 9 as GRUB 2.06's tpm module leaves them after\n"
               "booting the entry (default: the configuration's \"default\") of grub.cfg, which\n"
               "GRUB opens as --grub-cfg-path (default %s); each file the entry loads is given\n"
               "by its name in grub.cfg and the local copy (or its digest).  --output writes\n"
               "pcr8_ALG=HEX and pcr9_ALG=HEX lines (the first-boot check of tvam-initramfs).\n"
               "The TPM is reached by --tcti, else $TVAM_TCTI, else %s.\n",
                TPM_TCTI_DEFAULT, GRUB_CONFIG_PATH_DEFAULT);
}

static int add_module(struct options *o, const char *name, const char *path)
{
        if (o->n_modules >= TXT_MODULES_MAX)
                return log_error("Too many modules (at most %u)", TXT_MODULES_MAX), -E2BIG;
        o->module_name[o->n_modules] = name;
        o->module_path[o->n_modules++] = path;
        return 0;
}

static int set_module_cmdline(struct options *o, const char *option, const char *cmdline)
{
        if (o->n_modules == 0 || o->module_cmdline[o->n_modules - 1])
                return log_error("%s must follow its module (--kernel/--initrd)", option), -EINVAL;
        o->module_cmdline[o->n_modules - 1] = cmdline;
        return 0;
}

static int parse_pcr_list(const char *s, uint32_t *ret)
{
        uint32_t mask = 0;

        while (*s) {
                char *end;
                unsigned long v;
                errno = 0;
                v = strtoul(s, &end, 10);
                if (errno || end == s || v >= PCR_COUNT || (*end && *end != ','))
                        return -EINVAL;
                mask |= UINT32_C(1) << v;
                s = *end ? end + 1 : end;
        }
        if (mask == 0)
                return -EINVAL;
        *ret = mask;
        return 0;
}

static int parse_argv(int argc, char **argv, struct options *o)
{
        enum {
                O_TBOOT = 0x100,
                O_TBOOT_CMDLINE,
                O_KERNEL,
                O_KERNEL_CMDLINE,
                O_INITRD,
                O_INITRD_CMDLINE,
                O_VLP,
                O_SINIT_DATA,
                O_SINIT_PCR17,
                O_OUTPUT,
                O_EXPECTED,
                O_TCTI,
                O_PROFILE,
                O_ALG,
                O_CMDLINE,
                O_LCP,
                O_OWNER_AUTH_STDIN,
                O_POL,
                O_DATA,
                O_MLE_HASH,
                O_SIGN,
                O_MASK,
                O_MINVER,
                O_MAX_SINIT_MIN,
                O_CTRL,
                O_ELT_CTRL,
                O_TYPE,
                O_EVENTLOG,
                O_PCRS,
                O_SUBST_FILE,
                O_SUBST_STRING,
                O_GRUB_CFG,
                O_GRUB_CFG_PATH,
                O_ENTRY,
                O_FILE,
                O_FILE_DIGEST
        };
        static const struct option opts[] = {
                {"profile", required_argument, NULL, O_PROFILE},
                {"tboot", required_argument, NULL, O_TBOOT},
                {"tboot-cmdline", required_argument, NULL, O_TBOOT_CMDLINE},
                {"kernel", required_argument, NULL, O_KERNEL},
                {"kernel-cmdline", required_argument, NULL, O_KERNEL_CMDLINE},
                {"initrd", required_argument, NULL, O_INITRD},
                {"initrd-cmdline", required_argument, NULL, O_INITRD_CMDLINE},
                {"vlp", required_argument, NULL, O_VLP},
                {"lcp", required_argument, NULL, O_LCP},
                {"sinit-data", required_argument, NULL, O_SINIT_DATA},
                {"sinit-pcr17", required_argument, NULL, O_SINIT_PCR17},
                {"output", required_argument, NULL, O_OUTPUT},
                {"expected", required_argument, NULL, O_EXPECTED},
                {"tcti", required_argument, NULL, O_TCTI},
                {"alg", required_argument, NULL, O_ALG},
                {"cmdline", required_argument, NULL, O_CMDLINE},
                {"owner-auth-stdin", no_argument, NULL, O_OWNER_AUTH_STDIN},
                {"pol", required_argument, NULL, O_POL},
                {"data", required_argument, NULL, O_DATA},
                {"mle-hash", required_argument, NULL, O_MLE_HASH},
                {"sign", required_argument, NULL, O_SIGN},
                {"mask", required_argument, NULL, O_MASK},
                {"minver", required_argument, NULL, O_MINVER},
                {"max-sinit-min", required_argument, NULL, O_MAX_SINIT_MIN},
                {"ctrl", required_argument, NULL, O_CTRL},
                {"elt-ctrl", required_argument, NULL, O_ELT_CTRL},
                {"type", required_argument, NULL, O_TYPE},
                {"eventlog", required_argument, NULL, O_EVENTLOG},
                {"pcrs", required_argument, NULL, O_PCRS},
                {"substitute-file", required_argument, NULL, O_SUBST_FILE},
                {"substitute-string", required_argument, NULL, O_SUBST_STRING},
                {"grub-cfg", required_argument, NULL, O_GRUB_CFG},
                {"grub-cfg-path", required_argument, NULL, O_GRUB_CFG_PATH},
                {"entry", required_argument, NULL, O_ENTRY},
                {"file", required_argument, NULL, O_FILE},
                {"file-digest", required_argument, NULL, O_FILE_DIGEST},
                {"json", no_argument, NULL, 'j'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        int c, r;

        *o = (struct options){.alg = DIGEST_SHA256, .max_sinit_min = 0xff, .lcp_type = LCP_POLICY_TYPE_LIST};
        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                help();
                exit(argc < 2 ? EXIT_ERROR : 0);
        }
        o->command = argv[1];
        optind = 2;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                r = 0;
                switch (c) {
                case O_PROFILE:
                        o->profile = optarg;
                        break;
                case O_TBOOT:
                        o->tboot = optarg;
                        break;
                case O_TBOOT_CMDLINE:
                        o->tboot_cmdline = optarg;
                        break;
                case O_KERNEL:
                        if (o->n_modules > 0)
                                return log_error("--kernel must come first (it is module 0)"), -EINVAL;
                        r = add_module(o, "kernel", optarg);
                        break;
                case O_INITRD:
                        if (o->n_modules == 0)
                                return log_error("--initrd must follow --kernel"), -EINVAL;
                        r = add_module(o, "initrd", optarg);
                        break;
                case O_KERNEL_CMDLINE:
                        r = set_module_cmdline(o, "--kernel-cmdline", optarg);
                        break;
                case O_INITRD_CMDLINE:
                        r = set_module_cmdline(o, "--initrd-cmdline", optarg);
                        break;
                case O_VLP:
                        o->vlp = optarg;
                        break;
                case O_LCP:
                        o->lcp = optarg;
                        break;
                case O_SINIT_DATA:
                        o->sinit_data = optarg;
                        break;
                case O_SINIT_PCR17:
                        o->sinit_pcr17 = optarg;
                        break;
                case O_OUTPUT:
                        o->output = optarg;
                        break;
                case O_EXPECTED:
                        o->expected = optarg;
                        break;
                case O_TCTI:
                        o->tcti = optarg;
                        break;
                case O_ALG:
                        if (digest_alg_from_string(optarg, &o->alg) < 0)
                                return log_error("Unknown hash algorithm '%s'", optarg), -EINVAL;
                        break;
                case O_CMDLINE:
                        o->cmdline = optarg;
                        break;
                case O_OWNER_AUTH_STDIN:
                        o->owner_auth_stdin = 1;
                        break;
                case O_POL:
                        o->pol = optarg;
                        break;
                case O_DATA:
                        o->data = optarg;
                        break;
                case O_MLE_HASH:
                        if (o->n_mle_hashes >= TXT_MODULES_MAX)
                                return log_error("Too many --mle-hash"), -E2BIG;
                        o->mle_hash[o->n_mle_hashes++] = optarg;
                        break;
                case O_SIGN: {
                        uint32_t bit;
                        if (lcp_sign_mask_from_string(optarg, &bit) < 0)
                                return log_error("Unknown signature algorithm '%s'", optarg), -EINVAL;
                        o->sign_mask |= bit;
                        break;
                }
                case O_MASK: {
                        enum digest_alg a;
                        if (digest_alg_from_string(optarg, &a) < 0 || lcp_hash_mask_of(a) == 0)
                                return log_error("Unknown hash algorithm '%s'", optarg), -EINVAL;
                        o->hash_mask |= lcp_hash_mask_of(a);
                        break;
                }
                case O_MINVER:
                case O_MAX_SINIT_MIN:
                case O_CTRL:
                case O_ELT_CTRL: {
                        char *end;
                        unsigned long v;
                        errno = 0;
                        v = strtoul(optarg, &end, 0);
                        if (errno || end == optarg || *end ||
                                v > (c == O_MINVER || c == O_MAX_SINIT_MIN ? 0xffUL : 0xffffffffUL))
                                return log_error("Invalid number '%s'", optarg), -EINVAL;
                        if (c == O_MINVER)
                                o->minver = (long)v;
                        else if (c == O_MAX_SINIT_MIN)
                                o->max_sinit_min = (long)v;
                        else if (c == O_CTRL)
                                o->control = (uint32_t)v;
                        else
                                o->elt_control = (uint32_t)v;
                        break;
                }
                case O_TYPE:
                        if (strcmp(optarg, "list") == 0)
                                o->lcp_type = LCP_POLICY_TYPE_LIST;
                        else if (strcmp(optarg, "any") == 0)
                                o->lcp_type = LCP_POLICY_TYPE_ANY;
                        else
                                return log_error("--type is list or any"), -EINVAL;
                        break;
                case O_EVENTLOG:
                        o->eventlog = optarg;
                        break;
                case O_PCRS:
                        r = parse_pcr_list(optarg, &o->pcr_mask);
                        if (r < 0)
                                return log_error("Invalid --pcrs '%s' (e.g. 0,2,4,8,9)", optarg), r;
                        break;
                case O_SUBST_FILE:
                case O_SUBST_STRING:
                        if (o->n_subst >= TXT_MODULES_MAX)
                                return log_error("Too many substitutions"), -E2BIG;
                        o->subst_is_file[o->n_subst] = c == O_SUBST_FILE;
                        o->subst[o->n_subst++] = optarg;
                        break;
                case O_GRUB_CFG:
                        o->grub_cfg = optarg;
                        break;
                case O_GRUB_CFG_PATH:
                        o->grub_cfg_path = optarg;
                        break;
                case O_ENTRY:
                        o->entry = optarg;
                        break;
                case O_FILE:
                case O_FILE_DIGEST:
                        if (o->n_grub_files >= GRUB_FILES_MAX)
                                return log_error("Too many --file/--file-digest (at most %u)", GRUB_FILES_MAX),
                                       -E2BIG;
                        o->grub_file_is_digest[o->n_grub_files] = c == O_FILE_DIGEST;
                        o->grub_file[o->n_grub_files++] = optarg;
                        break;
                case 'j':
                        o->json = 1;
                        break;
                case 'h':
                        help();
                        exit(0);
                default:
                        return -EINVAL;
                }
                if (r < 0)
                        return r;
        }
        if (optind < argc && (strcmp(o->command, "show") == 0 || strcmp(o->command, "mlehash") == 0) &&
                optind + 1 == argc) {
                o->expected = argv[optind]; /* the positional file of show / mlehash */
                optind++;
        }
        if (strcmp(o->command, "lcp-show") == 0 && optind < argc && argc - optind <= 2) {
                o->pol = argv[optind++];
                if (optind < argc)
                        o->data = argv[optind++];
        }
        if (optind != argc)
                return log_error("Unexpected argument '%s'", argv[optind]), -EINVAL;
        return 0;
}

/* Gather the txt inputs named on the command line (parse + check of
 * predict and diagnose). */
static int gather_txt(const struct options *o, struct expect *e)
{
        uint8_t pcr17[DIGEST_MAX_SIZE];
        int r;

        if (o->profile && strcmp(o->profile, "txt") != 0)
                return log_error("Profile '%s' is not supported (only txt)", o->profile), -EOPNOTSUPP;
        if (!o->tboot || o->n_modules == 0 || !o->vlp || (!o->sinit_data == !o->sinit_pcr17))
                return log_error("predict needs --tboot, --kernel, --vlp and one of "
                                 "--sinit-data/--sinit-pcr17"),
                       -EINVAL;
        if (o->sinit_pcr17 && hex_decode_exact(o->sinit_pcr17, pcr17, digest_size(o->alg)) < 0)
                return log_error("--sinit-pcr17 must be %zu bytes in hex", digest_size(o->alg)), -EINVAL;

        r = expect_gather_txt(e, o->alg, o->tboot, o->tboot_cmdline, o->vlp, o->sinit_data,
                o->sinit_pcr17 ? pcr17 : NULL, o->module_name, o->module_path, o->module_cmdline,
                o->n_modules);
        if (r == -E2BIG)
                return log_error_errno(
                        r, "The tboot command line does not fit tboot's MLE command-line area");
        if (r == -EBADMSG)
                return log_error_errno(r, "'%s' is not a tboot image with an MLE header", o->tboot);
        if (r < 0)
                return log_error_errno(
                        r, "Failed to read the launch inputs (tboot, VLP, SINIT data, modules)");
        return 0;
}

/* "PCR:LOGGED=REPLACEMENT" -> a substitution with the digest of the file
 * (or string) REPLACEMENT. */
static int parse_substitution(const struct options *o, size_t i, struct srtm_substitution *sub)
{
        const char *spec = o->subst[i], *colon = strchr(spec, ':'), *eq;
        char *end;
        unsigned long pcr;
        int r;

        eq = colon ? strchr(colon, '=') : NULL;
        errno = 0;
        pcr = strtoul(spec, &end, 10);
        if (!colon || !eq || errno || end != colon || pcr >= PCR_COUNT || eq == colon + 1)
                return log_error("Invalid substitution '%s' (PCR:LOGGED=NEW)", spec), -EINVAL;
        *sub = (struct srtm_substitution){.pcr = (unsigned)pcr,
                .match = (const uint8_t *)colon + 1,
                .match_size = (size_t)(eq - colon - 1)};
        if (!o->subst_is_file[i])
                return digest_buffer(o->alg, eq + 1, strlen(eq + 1), sub->digest);
        _cleanup_close_ int fd = open(eq + 1, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to open '%s'", eq + 1);
        r = digest_fd(o->alg, fd, sub->digest, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to read '%s'", eq + 1);
        return 0;
}

static int cmd_predict_srtm(const struct options *o)
{
        _cleanup_eventlog_ struct eventlog *log = NULL;
        struct srtm_substitution subs[TXT_MODULES_MAX];
        uint32_t mask = o->pcr_mask ? o->pcr_mask : 0x3ffu; /* PCRs 0-9 */
        struct pcr_bank bank;
        json_object *root, *pcrs;
        int r;

        if (!o->eventlog)
                return log_error("--profile srtm needs --eventlog"), -EINVAL;
        for (size_t i = 0; i < o->n_subst; i++) {
                r = parse_substitution(o, i, &subs[i]);
                if (r < 0)
                        return r;
        }
        r = eventlog_load(o->eventlog, 0, &log);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the event log '%s'", o->eventlog);
        r = srtm_predict(log, o->alg, subs, o->n_subst, &bank);
        if (r == -ENOENT) {
                for (size_t i = 0; i < o->n_subst; i++)
                        if (subs[i].n_applied == 0)
                                return log_error("Substitution '%s' matches no event of PCR %u in the log",
                                               o->subst[i], subs[i].pcr),
                                       r;
        }
        if (r < 0)
                return log_error_errno(r, "Failed to replay the %s bank of '%s'",
                        digest_alg_to_string(o->alg), o->eventlog);

        root = json_object_new_object();
        pcrs = json_object_new_object();
        if (!root || !pcrs) {
                json_object_put(root);
                json_object_put(pcrs);
                return log_error("Out of memory"), -ENOMEM;
        }
        json_object_object_add(root, "profile", json_object_new_string("srtm"));
        json_object_object_add(root, "alg", json_object_new_string(digest_alg_to_string(o->alg)));
        json_object_object_add(root, "pcrs", pcrs);
        for (unsigned p = 0; p < PCR_COUNT; p++) {
                _cleanup_free_ char *hex = NULL;
                char key[4];
                if (!(mask & (1u << p)) || hex_encode(bank.values[p], digest_size(o->alg), &hex) < 0)
                        continue;
                snprintf(key, sizeof(key), "%u", p);
                json_object_object_add(pcrs, key, json_object_new_string(hex));
                if (!o->json)
                        printf("PCR %u: %s\n", p, hex);
        }
        if (o->json)
                printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
        for (size_t i = 0; i < o->n_subst; i++)
                log_info("Substitution '%s' replaced %zu event(s)", o->subst[i], subs[i].n_applied);
        json_object_put(root);
        return 0;
}

static int cmd_predict(const struct options *o)
{
        _cleanup_(expect_done) struct expect e = {};
        _cleanup_free_ char *text = NULL;
        int r;

        if (o->profile && strcmp(o->profile, "srtm") == 0)
                return cmd_predict_srtm(o);
        r = gather_txt(o, &e);
        if (r < 0)
                return r;
        r = expect_predict(&e);
        if (r == -EOPNOTSUPP)
                return log_error_errno(r, "The VLP has NV entries (measure_nv): not modelled");
        if (r < 0)
                return log_error_errno(
                        r, "Failed to predict the launch PCRs (is '%s' a valid VLP?)", o->vlp);
        if (e.n_unverified > 0) {
                if (e.vlp_type == 2 /* halt */)
                        return log_error("%zu module(s) are not allowed by the VLP, whose type 'halt' stops "
                                         "the launch: no PCR values to predict",
                                       e.n_unverified),
                               -EPERM;
                log_warning("%zu module(s) are not allowed by the VLP; tboot continues (policy type %u) "
                            "but reports a verification error",
                        e.n_unverified, e.vlp_type);
        }
        r = expect_to_json_string(&e, &text);
        if (r < 0)
                return r;
        if (o->output) {
                r = atomic_file_write(o->output, text, strlen(text), 0644);
                if (r < 0)
                        return log_error_errno(r, "Failed to write '%s'", o->output);
        }
        if (o->json)
                printf("%s\n", text);
        else
                expect_print_pcrs(&e, stdout);
        return 0;
}

/* "GRUBPATH=FILE" or "GRUBPATH=HEX" -> the file as GRUB names it and the
 * digest of its content. */
static int parse_grub_file(const struct options *o, size_t i, struct grub_file *ret)
{
        const char *spec = o->grub_file[i], *eq = strchr(spec, '=');
        _cleanup_close_ int fd = -1;
        int r;

        if (!eq || eq == spec || spec[0] != '/' || eq[1] == '\0')
                return log_error("Invalid file '%s' (GRUBPATH=%s, e.g. /vmlinuz=%s)", spec,
                               o->grub_file_is_digest[i] ? "HEX" : "FILE",
                               o->grub_file_is_digest[i] ? "<sha256 hex>" : "out/vmlinuz"),
                       -EINVAL;
        *ret = (struct grub_file){.path = strndup(spec, (size_t)(eq - spec))};
        if (!ret->path)
                return log_error("Out of memory"), -ENOMEM;
        if (o->grub_file_is_digest[i]) {
                if (hex_decode_exact(eq + 1, ret->digest, digest_size(o->alg)) < 0)
                        return log_error("--file-digest '%s': not a %s digest in hex", spec,
                                       digest_alg_to_string(o->alg)),
                               -EINVAL;
                return 0;
        }
        fd = open(eq + 1, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to open '%s'", eq + 1);
        r = digest_fd(o->alg, fd, ret->digest, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to read '%s'", eq + 1);
        return 0;
}

static int grub_prediction_print(const struct options *o, const struct grub_prediction *p)
{
        size_t n = digest_size(p->alg);
        json_object *root = NULL, *pcrs = NULL, *events = NULL;
        _cleanup_free_ char *h8 = NULL, *h9 = NULL;

        if (hex_encode(p->bank.values[GRUB_PCR_STRINGS], n, &h8) < 0 ||
                hex_encode(p->bank.values[GRUB_PCR_FILES], n, &h9) < 0)
                return log_error("Out of memory"), -ENOMEM;
        if (!o->json) {
                printf("PCR %u: %s\nPCR %u: %s\n", GRUB_PCR_STRINGS, h8, GRUB_PCR_FILES, h9);
                return 0;
        }
        root = json_object_new_object();
        pcrs = json_object_new_object();
        events = json_object_new_array();
        if (!root || !pcrs || !events) {
                json_object_put(root);
                json_object_put(pcrs);
                json_object_put(events);
                return log_error("Out of memory"), -ENOMEM;
        }
        json_object_object_add(root, "entry", json_object_new_string(p->entry_id));
        json_object_object_add(root, "alg", json_object_new_string(digest_alg_to_string(p->alg)));
        json_object_object_add(pcrs, "8", json_object_new_string(h8));
        json_object_object_add(pcrs, "9", json_object_new_string(h9));
        json_object_object_add(root, "pcrs", pcrs);
        for (size_t i = 0; i < p->n_events; i++) {
                _cleanup_free_ char *hex = NULL;
                json_object *e = json_object_new_object();
                if (!e || hex_encode(p->events[i].digest, n, &hex) < 0) {
                        json_object_put(e);
                        json_object_put(root);
                        json_object_put(events);
                        return log_error("Out of memory"), -ENOMEM;
                }
                json_object_object_add(e, "pcr", json_object_new_int((int)p->events[i].pcr));
                json_object_object_add(e, "type", json_object_new_string("EV_IPL"));
                json_object_object_add(e, "data", json_object_new_string(p->events[i].data));
                json_object_object_add(e, "digest", json_object_new_string(hex));
                json_object_array_add(events, e);
        }
        json_object_object_add(root, "events", events);
        printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(root);
        return 0;
}

/* grub-predict: PCRs 8 and 9 of the GRUB boot from the boot partition's
 * inputs (policy/grub/grub.h), before any boot. */
static int cmd_grub_predict(const struct options *o)
{
        struct grub_file files[GRUB_FILES_MAX] = {};
        _cleanup_(grub_prediction_done) struct grub_prediction p = {};
        _cleanup_free_ uint8_t *cfg = NULL;
        size_t cfg_size, n = digest_size(o->alg);
        char err[512];
        int r;

        if (!o->grub_cfg)
                return log_error("grub-predict needs --grub-cfg"), -EINVAL;
        for (size_t i = 0; i < o->n_grub_files; i++) {
                r = parse_grub_file(o, i, &files[i]);
                if (r < 0)
                        goto out;
        }
        r = read_full_file(o->grub_cfg, GRUB_CFG_MAX, &cfg, &cfg_size);
        if (r < 0) {
                log_error_errno(r, "Failed to read '%s'", o->grub_cfg);
                goto out;
        }
        r = grub_predict(&(struct grub_boot){.alg = o->alg,
                                 .config = (const char *)cfg,
                                 .config_size = cfg_size,
                                 .config_path = o->grub_cfg_path,
                                 .entry = o->entry,
                                 .files = files,
                                 .n_files = o->n_grub_files},
                &p, err, sizeof(err));
        if (r < 0) {
                log_error_errno(r, "Cannot predict GRUB's PCRs 8 and 9 from '%s': %s", o->grub_cfg,
                        err[0] ? err : "invalid input");
                goto out;
        }
        if (o->output) {
                char text[2 * (2 * DIGEST_MAX_SIZE + 32)];
                _cleanup_free_ char *h8 = NULL, *h9 = NULL;
                const char *alg = digest_alg_to_string(o->alg);
                if (hex_encode(p.bank.values[GRUB_PCR_STRINGS], n, &h8) < 0 ||
                        hex_encode(p.bank.values[GRUB_PCR_FILES], n, &h9) < 0) {
                        log_error("Out of memory");
                        r = -ENOMEM;
                        goto out;
                }
                snprintf(text, sizeof(text), "pcr%u_%s=%s\npcr%u_%s=%s\n", GRUB_PCR_STRINGS, alg, h8, GRUB_PCR_FILES,
                        alg, h9);
                r = atomic_file_write(o->output, text, strlen(text), 0644);
                if (r < 0) {
                        log_error_errno(r, "Failed to write '%s'", o->output);
                        goto out;
                }
        }
        r = grub_prediction_print(o, &p);
out:
        for (size_t i = 0; i < o->n_grub_files; i++)
                free((char *)files[i].path);
        return r;
}

static int load_expectation(const char *path, struct expect *e)
{
        _cleanup_free_ uint8_t *text = NULL;
        size_t size;
        int r;

        r = read_full_file(path, EXPECT_FILE_MAX, &text, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to read the expectation file '%s'", path);
        r = expect_from_json_string((const char *)text, e);
        if (r < 0)
                return log_error_errno(r, "'%s' is not a valid expectation file", path);
        return 0;
}

static int cmd_show(const struct options *o)
{
        _cleanup_(expect_done) struct expect e = {};
        int r;

        if (!o->expected)
                return log_error("show needs an expectation file"), -EINVAL;
        r = load_expectation(o->expected, &e);
        if (r < 0)
                return r;
        if (o->json) {
                _cleanup_free_ char *text = NULL;
                r = expect_to_json_string(&e, &text);
                if (r < 0)
                        return r;
                printf("%s\n", text);
        } else
                expect_print_provenance(&e, stdout);
        return 0;
}

static const char *tcti_of(const struct options *o)
{
        return o->tcti ? o->tcti : getenv("TVAM_TCTI");
}

/* Event data as text for a report: printable ASCII, else "<N bytes>". */
static void event_data_text(const struct eventlog_event *e, char *buf, size_t size)
{
        size_t n = e->data_size;

        if (n > 0 && e->data[n - 1] == '\0')
                n--;
        for (size_t i = 0; i < n; i++)
                if (e->data[i] < 0x20 || e->data[i] > 0x7e) {
                        snprintf(buf, size, "<%u bytes>", e->data_size);
                        return;
                }
        snprintf(buf, size, "%.*s", (int)(n < 120 ? n : 120), (const char *)e->data);
}

/* diagnose --profile srtm: replay LOG and name the first event whose PCR
 * no longer matches the TPM (eventlog_replay_check()). */
static int cmd_diagnose_srtm(const struct options *o)
{
        _cleanup_eventlog_ struct eventlog *log = NULL;
        _cleanup_tpm_context_ struct tpm_context *c = NULL;
        uint32_t mask = o->pcr_mask ? o->pcr_mask : 0x3ffu;
        struct eventlog_mismatch mm;
        struct pcr_bank tpm;
        char msg[1024], data[160] = "";
        json_object *root;
        int r;

        if (!o->eventlog)
                return log_error("diagnose --profile srtm needs --eventlog"), -EINVAL;
        r = eventlog_load(o->eventlog, 0, &log);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the event log '%s'", o->eventlog);
        r = tpm_context_new(tcti_of(o), &c);
        if (r < 0)
                return log_error_errno(r, "Failed to open the TPM");
        r = tpm_pcr_read(c, o->alg, mask, &tpm);
        if (r < 0)
                return log_error_errno(r, "Failed to read the %s bank", digest_alg_to_string(o->alg));
        r = eventlog_replay_check(log, &tpm, mask, &mm);
        if (r < 0 && r != -EPERM)
                return log_error_errno(r, "Failed to replay '%s'", o->eventlog);

        if (r == 0)
                snprintf(msg, sizeof(msg), "the TPM's PCRs equal the replay of %s", o->eventlog);
        else if (mm.event_index == SIZE_MAX)
                snprintf(msg, sizeof(msg), "PCR %u differs from the replay: the log has no event for it",
                        mm.pcr);
        else {
                const struct eventlog_event *e = &log->events[mm.event_index];
                event_data_text(e, data, sizeof(data));
                snprintf(msg, sizeof(msg),
                        "PCR %u differs from the replay: %s event #%zu (%s, offset %zu, data '%s')", mm.pcr,
                        mm.prefix_matches ? "the TPM did not see" : "the first suspect is", mm.event_index,
                        eventlog_event_type_to_string(e->type), e->offset, data);
        }
        if (!o->json) {
                printf("%s\n", msg);
                return r == 0 ? 0 : EXIT_DIFFERS;
        }
        root = json_object_new_object();
        if (!root)
                return log_error("Out of memory"), -ENOMEM;
        json_object_object_add(root, "match", json_object_new_boolean(r == 0));
        if (r != 0) {
                json_object_object_add(root, "first_pcr", json_object_new_int((int)mm.pcr));
                json_object_object_add(root, "event",
                        json_object_new_int64(mm.event_index == SIZE_MAX ? -1 : (int64_t)mm.event_index));
                json_object_object_add(root, "prefix_matches", json_object_new_boolean(mm.prefix_matches));
                json_object_object_add(root, "event_data", json_object_new_string(data));
        }
        json_object_object_add(root, "message", json_object_new_string(msg));
        printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
        json_object_put(root);
        return r == 0 ? 0 : EXIT_DIFFERS;
}

static int cmd_diagnose(const struct options *o)
{
        _cleanup_(expect_done) struct expect e = {}, now = {};
        _cleanup_tpm_context_ struct tpm_context *c = NULL;
        struct expect_diagnosis d;
        struct pcr_bank tpm;
        int r;

        if (o->profile && strcmp(o->profile, "srtm") == 0)
                return cmd_diagnose_srtm(o);
        if (!o->expected)
                return log_error("diagnose needs --expected FILE"), -EINVAL;
        r = load_expectation(o->expected, &e);
        if (r < 0)
                return r;
        if (o->n_modules > 0) { /* the current inputs, to name what changed */
                struct options oo = *o;
                oo.alg = e.alg;
                r = gather_txt(&oo, &now);
                if (r < 0)
                        return r;
                r = expect_predict(&now);
                if (r < 0)
                        return log_error_errno(r, "Failed to predict from the current inputs");
        }

        r = tpm_context_new(tcti_of(o), &c);
        if (r < 0)
                return log_error_errno(r, "Failed to open the TPM");
        r = tpm_pcr_read(c, e.alg, EXPECT_TXT_PCRS, &tpm);
        if (r < 0)
                return log_error_errno(
                        r, "Failed to read PCRs 17-19 of the %s bank", digest_alg_to_string(e.alg));

        r = expect_diagnose(&e, &tpm, o->n_modules > 0 ? &now : NULL, &d);
        if (r < 0)
                return r;
        if (o->json) {
                _cleanup_free_ char *text = NULL;
                r = expect_diagnosis_to_json_string(&d, &text);
                if (r < 0)
                        return r;
                printf("%s\n", text);
        } else
                printf("%s\n", d.message);
        return d.pcr_differ ? EXIT_DIFFERS : 0;
}

static int cmd_mlehash(const struct options *o)
{
        uint8_t h[DIGEST_MAX_SIZE];
        _cleanup_free_ char *hex = NULL;
        int r;

        if (!o->expected)
                return log_error("mlehash needs the tboot file"), -EINVAL;
        r = mle_hash_file(o->alg, o->expected, o->cmdline, h);
        if (r < 0)
                return log_error_errno(r, "Failed to compute the MLE hash of '%s'", o->expected);
        r = hex_encode(h, digest_size(o->alg), &hex);
        if (r < 0)
                return r;
        printf("%s\n", hex);
        return 0;
}

/* Gather the allowed MLE hashes: --mle-hash values and tboot's own. */
static int lcp_collect_hashes(const struct options *o, uint8_t *hashes, size_t *ret_n)
{
        size_t n = digest_size(o->alg), count = 0;
        int r;

        for (size_t i = 0; i < o->n_mle_hashes; i++, count++)
                if (hex_decode_exact(o->mle_hash[i], hashes + count * n, n) < 0)
                        return log_error("--mle-hash '%s' is not a %s digest", o->mle_hash[i],
                                       digest_alg_to_string(o->alg)),
                               -EINVAL;
        if (o->tboot) {
                r = mle_hash_file(o->alg, o->tboot, o->tboot_cmdline, hashes + count * n);
                if (r < 0)
                        return log_error_errno(r, "Failed to compute the MLE hash of '%s'", o->tboot);
                count++;
        }
        *ret_n = count;
        return 0;
}

static int cmd_lcp_create(const struct options *o)
{
        _cleanup_(lcp_policy_data_freep) struct lcp_policy_data *d = calloc(1, sizeof(*d));
        _cleanup_free_ uint8_t *pol = NULL, *data = NULL;
        uint8_t hashes[(TXT_MODULES_MAX + 1) * DIGEST_MAX_SIZE];
        size_t n_hashes = 0, pol_size, data_size;
        struct lcp_policy p = {
                .alg = o->alg,
                .type = (uint8_t)o->lcp_type,
                .sinit_min_version = (uint8_t)o->minver,
                .control = o->control,
                .max_sinit_min_version = (uint8_t)o->max_sinit_min,
                .hash_mask = o->hash_mask ? o->hash_mask : lcp_hash_mask_of(o->alg),
                .sign_mask = o->sign_mask,
                .aux_mask = lcp_hash_mask_of(o->alg),
        };
        int r;

        if (!d)
                return log_error("Out of memory"), -ENOMEM;
        if (!o->pol || (o->lcp_type == LCP_POLICY_TYPE_LIST && !o->data))
                return log_error("lcp-create needs --pol, and --data for a list policy"), -EINVAL;
        if (o->sign_mask == 0) /* as lcp2_crtpol: LCP v3 needs the allowed signature algorithms */
                return log_error("lcp-create needs at least one --sign"), -EINVAL;
        if (o->lcp_type == LCP_POLICY_TYPE_LIST) {
                r = lcp_collect_hashes(o, hashes, &n_hashes);
                if (r < 0)
                        return r;
                if (n_hashes == 0)
                        return log_error("A list policy needs --mle-hash or --tboot"), -EINVAL;
                d->n_lists = 1;
                r = lcp_list_add_mle(
                        &d->lists[0], o->alg, (uint8_t)o->minver, o->elt_control, hashes, n_hashes);
                if (r < 0)
                        return log_error_errno(r, "Failed to build the MLE element");
                r = lcp_policy_data_hash(d, o->alg, p.policy_hash);
                if (r < 0)
                        return r;
                r = lcp_policy_data_encode(d, &data, &data_size);
                if (r < 0)
                        return r;
                r = atomic_file_write(o->data, data, data_size, 0644);
                if (r < 0)
                        return log_error_errno(r, "Failed to write '%s'", o->data);
        }
        r = lcp_policy_encode(&p, &pol, &pol_size);
        if (r < 0)
                return log_error_errno(r, "Failed to encode the policy");
        r = atomic_file_write(o->pol, pol, pol_size, 0644);
        if (r < 0)
                return log_error_errno(r, "Failed to write '%s'", o->pol);
        return 0;
}

static int cmd_lcp_show(const struct options *o)
{
        _cleanup_free_ uint8_t *pol = NULL, *data = NULL;
        _cleanup_(lcp_policy_data_freep) struct lcp_policy_data *d = NULL;
        size_t pol_size, data_size, n;
        struct lcp_policy p;
        uint8_t h[DIGEST_MAX_SIZE];
        json_object *root;
        int r;

        if (!o->pol)
                return log_error("lcp-show needs a policy file"), -EINVAL;
        r = read_full_file(o->pol, 4096, &pol, &pol_size);
        if (r < 0)
                return log_error_errno(r, "Failed to read '%s'", o->pol);
        r = lcp_policy_decode(pol, pol_size, &p);
        if (r < 0)
                return log_error_errno(r, "'%s' is not an LCP v3.0 policy", o->pol);
        n = digest_size(p.alg);
        root = json_object_new_object();
        if (!root)
                return log_error("Out of memory"), -ENOMEM;
        json_object_object_add(root, "version", json_object_new_string("3.0"));
        json_object_object_add(root, "hash_alg", json_object_new_string(digest_alg_to_string(p.alg)));
        json_object_object_add(root, "policy_type",
                json_object_new_string(p.type == LCP_POLICY_TYPE_LIST ? "list" : "any"));
        json_object_object_add(root, "sinit_min_version", json_object_new_int(p.sinit_min_version));
        json_object_object_add(root, "policy_control", json_object_new_int64(p.control));
        json_object_object_add(root, "max_sinit_min_ver", json_object_new_int(p.max_sinit_min_version));
        json_object_object_add(root, "lcp_hash_alg_mask", json_object_new_int(p.hash_mask));
        json_object_object_add(root, "lcp_sign_alg_mask", json_object_new_int64(p.sign_mask));
        json_object_object_add(root, "aux_hash_alg_mask", json_object_new_int(p.aux_mask));
        {
                _cleanup_free_ char *hex = NULL;
                if (hex_encode(p.policy_hash, n, &hex) == 0)
                        json_object_object_add(root, "policy_hash", json_object_new_string(hex));
        }
        if (o->data) {
                json_object *hashes = json_object_new_array();
                r = read_full_file(o->data, 1024 * 1024, &data, &data_size);
                if (r < 0) {
                        json_object_put(root);
                        json_object_put(hashes);
                        return log_error_errno(r, "Failed to read '%s'", o->data);
                }
                r = lcp_policy_data_decode(data, data_size, &d);
                if (r < 0) {
                        json_object_put(root);
                        json_object_put(hashes);
                        return log_error_errno(
                                r, "'%s' is not an LCP policy data file with unsigned v2.0 lists", o->data);
                }
                for (size_t i = 0; i < d->n_lists; i++)
                        for (size_t j = 0; j < d->lists[i].n_elements; j++) {
                                const struct lcp_element *e = &d->lists[i].elements[j];
                                size_t hn;
                                if (e->type != LCP_ELEMENT_MLE2)
                                        continue;
                                hn = digest_size((enum digest_alg)(e->data[2] | e->data[3] << 8));
                                for (size_t k = 0; k < (size_t)(e->data[4] | e->data[5] << 8); k++) {
                                        _cleanup_free_ char *hex = NULL;
                                        if (hex_encode(e->data + 6 + k * hn, hn, &hex) == 0)
                                                json_object_array_add(hashes, json_object_new_string(hex));
                                }
                        }
                json_object_object_add(root, "mle_hashes", hashes);
                r = lcp_policy_data_hash(d, p.alg, h);
                json_object_object_add(root, "policy_hash_matches_data",
                        json_object_new_boolean(r == 0 && memcmp(h, p.policy_hash, n) == 0));
        }
        printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
        json_object_put(root);
        return 0;
}

/* The owner authorization from stdin (never argv/env): up to NV_AUTH_MAX
 * bytes, one trailing newline removed. */
static int read_auth_stdin(struct secret **ret)
{
        uint8_t buf[NV_AUTH_MAX + 1];
        ssize_t n = loop_read(STDIN_FILENO, buf, sizeof(buf));
        int r;

        if (n < 0)
                return (int)n;
        if ((size_t)n > NV_AUTH_MAX) {
                explicit_bzero(buf, sizeof(buf));
                return -E2BIG;
        }
        if (n > 0 && buf[n - 1] == '\n')
                n--;
        r = secret_new_from(buf, (size_t)n, ret);
        explicit_bzero(buf, sizeof(buf));
        return r;
}

static int cmd_nv(const struct options *o, bool write)
{
        _cleanup_tpm_context_ struct tpm_context *c = NULL;
        _cleanup_secret_ struct secret *owner = NULL;
        enum nv_policy_kind kind;
        const char *path;
        int r;

        if (!o->vlp == !o->lcp)
                return log_error("Give exactly one of --vlp and --lcp"), -EINVAL;
        kind = o->vlp ? NV_POLICY_VLP : NV_POLICY_LCP;
        path = o->vlp ? o->vlp : o->lcp;
        if (o->owner_auth_stdin) {
                r = read_auth_stdin(&owner);
                if (r < 0)
                        return log_error_errno(r, "Failed to read the owner authorization from stdin");
        }
        r = tpm_context_new(tcti_of(o), &c);
        if (r < 0)
                return log_error_errno(r, "Failed to open the TPM");

        if (write) {
                _cleanup_free_ uint8_t *data = NULL;
                size_t size;
                r = read_full_file(path, NV_POLICY_MAX, &data, &size);
                if (r < 0)
                        return log_error_errno(r, "Failed to read '%s'", path);
                r = nv_policy_provision(c, kind, data, size, owner);
                if (r == -EACCES)
                        return log_error_errno(r, "The TPM refused the owner authorization");
                if (r == -EEXIST)
                        return log_error_errno(r,
                                "NV index 0x%08x or 0x%08x exists with other attributes than "
                                "TVAM provisions (not written)",
                                nv_policy_index(kind, 0), nv_policy_index(kind, 1));
                if (r == -EBADMSG)
                        return log_error_errno(
                                r, "'%s' is not a valid %s", path, nv_policy_kind_to_string(kind));
                if (r < 0)
                        return log_error_errno(
                                r, "Failed to write the %s to TPM NV", nv_policy_kind_to_string(kind));
                printf("%s written to NV 0x%08x and 0x%08x\n", nv_policy_kind_to_string(kind),
                        nv_policy_index(kind, 0), nv_policy_index(kind, 1));
                return 0;
        }

        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        r = nv_policy_read(c, kind, &data, &size);
        if (r == -EUCLEAN)
                return log_error_errno(r,
                        "The two %s indices 0x%08x and 0x%08x differ (interrupted provisioning?)",
                        nv_policy_kind_to_string(kind), nv_policy_index(kind, 0), nv_policy_index(kind, 1));
        if (r < 0)
                return log_error_errno(
                        r, "Failed to read the %s from TPM NV", nv_policy_kind_to_string(kind));
        r = atomic_file_write(path, data, size, 0644);
        if (r < 0)
                return log_error_errno(r, "Failed to write '%s'", path);
        return 0;
}

int main(int argc, char **argv)
{
        struct options o;
        int r;

        log_set_program_name("tvam-policy");
        log_parse_environment();
        r = parse_argv(argc, argv, &o);
        if (r < 0)
                return EXIT_ERROR;

        if (strcmp(o.command, "predict") == 0)
                r = cmd_predict(&o);
        else if (strcmp(o.command, "grub-predict") == 0)
                r = cmd_grub_predict(&o);
        else if (strcmp(o.command, "show") == 0)
                r = cmd_show(&o);
        else if (strcmp(o.command, "diagnose") == 0)
                r = cmd_diagnose(&o);
        else if (strcmp(o.command, "mlehash") == 0)
                r = cmd_mlehash(&o);
        else if (strcmp(o.command, "nv-write") == 0)
                r = cmd_nv(&o, true);
        else if (strcmp(o.command, "nv-read") == 0)
                r = cmd_nv(&o, false);
        else if (strcmp(o.command, "lcp-create") == 0)
                r = cmd_lcp_create(&o);
        else if (strcmp(o.command, "lcp-show") == 0)
                r = cmd_lcp_show(&o);
        else {
                log_error("Unknown command '%s' (see --help)", o.command);
                return EXIT_ERROR;
        }
        if (r < 0)
                return EXIT_ERROR;
        return r;
}
