/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tvam-vlp — create, extend and show tboot Verified Launch Policies.
 *
 * The same operations and options as tboot's tb_polgen, so a VLP can be
 * built either way and the results compared byte for byte; files are
 * replaced atomically; "show --json" is for scripts.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "policy/tboot/vlp.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/log.h"

#define VLP_FILE_MAX (1024 * 1024)

struct options {
        const char *command, *file, *cmdline, *image;
        int type, hash_type, mod_num, pcr;
        enum digest_alg alg;
        uint32_t control;
        int json;
};

static void help(void)
{
        printf("Usage:\n"
               "  tvam-vlp create --type nonfatal|continue|halt [--alg sha1|sha256|sha384|sha512]\n"
               "                  [--ctrl VALUE] FILE\n"
               "  tvam-vlp add    --num N|any --pcr N|none --hash any|image\n"
               "                  [--cmdline \"command line\"] [--image FILE] FILE\n"
               "  tvam-vlp show   [--json] FILE\n"
               "  tvam-vlp hash   [--alg ALG] [--cmdline \"command line\"] --image FILE\n"
               "\n"
               "Builds tboot Verified Launch Policies (tb_policy_t v2), byte-compatible with\n"
               "tb_polgen.  A module's hash is H(H(cmdline) || H(image)), as tboot measures it;\n"
               "the command line excludes the module's file name.  --ctrl defaults to 1\n"
               "(extend the policy into PCR 17).  tb_polgen's spellings --create, --add and\n"
               "--show are accepted as well.\n");
}

static int parse_number(const char *s, long min, long max, long *ret)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 0);
        if (errno || end == s || *end || v < min || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_argv(int argc, char **argv, struct options *o)
{
        static const struct option opts[] = {
                { "type", required_argument, NULL, 't' }, { "alg", required_argument, NULL, 'a' },
                { "ctrl", required_argument, NULL, 'c' }, { "num", required_argument, NULL, 'n' },
                { "pcr", required_argument, NULL, 'p' },  { "hash", required_argument, NULL, 'H' },
                { "cmdline", required_argument, NULL, 'l' }, { "image", required_argument, NULL, 'i' },
                { "json", no_argument, NULL, 'j' },       { "help", no_argument, NULL, 'h' },
                {},
        };
        long v;
        int c;

        *o = (struct options){ .type = -1, .hash_type = -1, .mod_num = -1, .pcr = -1, .alg = DIGEST_SHA256,
                .control = VLP_CONTROL_EXTEND_PCR17 };
        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                help();
                exit(argc < 2 ? 2 : 0);
        }
        o->command = argv[1];
        /* tb_polgen spells the commands as options: accept that too. */
        if (strcmp(o->command, "--create") == 0 || strcmp(o->command, "--add") == 0 ||
                strcmp(o->command, "--show") == 0)
                o->command += 2;
        optind = 2;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
                switch (c) {
                case 't':
                        for (int t = 0; t < _VLP_TYPE_MAX; t++)
                                if (strcmp(optarg, vlp_type_to_string((uint8_t)t)) == 0)
                                        o->type = t;
                        if (o->type < 0)
                                return log_error("Unknown policy type '%s'", optarg), -EINVAL;
                        break;
                case 'a':
                        if (digest_alg_from_string(optarg, &o->alg) < 0)
                                return log_error("Unknown hash algorithm '%s'", optarg), -EINVAL;
                        break;
                case 'c':
                        if (parse_number(optarg, 0, UINT32_MAX, &v) < 0)
                                return log_error("Invalid --ctrl '%s'", optarg), -EINVAL;
                        o->control = (uint32_t)v;
                        break;
                case 'n':
                        if (strcmp(optarg, "any") == 0)
                                o->mod_num = VLP_MOD_ANY;
                        else if (parse_number(optarg, 0, VLP_MOD_MAX, &v) == 0)
                                o->mod_num = (int)v;
                        else
                                return log_error("Invalid module number '%s' (0-127 or any)", optarg), -EINVAL;
                        break;
                case 'p':
                        if (strcmp(optarg, "none") == 0)
                                o->pcr = VLP_PCR_NONE;
                        else if (parse_number(optarg, 0, VLP_PCR_MAX, &v) == 0)
                                o->pcr = (int)v;
                        else
                                return log_error("Invalid PCR '%s' (0-23 or none)", optarg), -EINVAL;
                        break;
                case 'H':
                        if (strcmp(optarg, "any") == 0)
                                o->hash_type = VLP_HASH_ANY;
                        else if (strcmp(optarg, "image") == 0)
                                o->hash_type = VLP_HASH_IMAGE;
                        else
                                return log_error("Invalid --hash '%s' (any or image)", optarg), -EINVAL;
                        break;
                case 'l':
                        o->cmdline = optarg;
                        break;
                case 'i':
                        o->image = optarg;
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
        if (strcmp(o->command, "hash") != 0) {
                if (optind != argc - 1)
                        return log_error("Expected exactly one policy FILE (see --help)"), -EINVAL;
                o->file = argv[optind];
        } else if (optind != argc)
                return log_error("'hash' takes no FILE"), -EINVAL;
        return 0;
}

static int load(const char *path, struct vlp **ret)
{
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r;

        r = read_full_file(path, VLP_FILE_MAX, &data, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s", path);
        r = vlp_decode(data, size, ret);
        if (r < 0)
                return log_error_errno(r, "%s is not a valid tboot VLP", path);
        return 0;
}

static int save(const char *path, const struct vlp *vlp)
{
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r;

        r = vlp_encode(vlp, &data, &size);
        if (r < 0)
                return log_error_errno(r, "Failed to encode the policy");
        r = atomic_file_write(path, data, size, 0644);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s", path);
        return 0;
}

static int module_hash(const struct options *o, uint8_t *ret)
{
        _cleanup_close_ int fd = -1;
        uint8_t image_digest[DIGEST_MAX_SIZE];
        int r;

        fd = open(o->image, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "Failed to open image %s", o->image);
        r = digest_fd(o->alg, fd, image_digest, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to hash %s", o->image);
        r = vlp_module_hash(o->alg, o->cmdline ? o->cmdline : "", image_digest, ret);
        if (r < 0)
                return log_error_errno(r, "Failed to compute the module hash");
        return 0;
}

static const char *mod_string(uint8_t m, char *buf, size_t size)
{
        if (m == VLP_MOD_ANY)
                return "any";
        if (m == VLP_MOD_NV)
                return "nv";
        if (m == VLP_MOD_NV_RAW)
                return "nv_raw";
        snprintf(buf, size, "%u", m);
        return buf;
}

static int show(const struct vlp *vlp, int json)
{
        size_t hash_size = digest_size(vlp->alg);
        json_object *root = json_object_new_object(), *entries = json_object_new_array();
        char buf[16];

        json_object_object_add(root, "version", json_object_new_int(VLP_VERSION));
        json_object_object_add(root, "policy_type", json_object_new_string(vlp_type_to_string(vlp->type)));
        json_object_object_add(root, "hash_alg", json_object_new_string(digest_alg_to_string(vlp->alg)));
        json_object_object_add(root, "policy_control", json_object_new_int64(vlp->control));
        if (!json)
                printf("version: %d\npolicy_type: %s\nhash_alg: %s\npolicy_control: %08" PRIx32 "%s\nnum_entries: %u\n",
                        VLP_VERSION, vlp_type_to_string(vlp->type), digest_alg_to_string(vlp->alg), vlp->control,
                        vlp->control & VLP_CONTROL_EXTEND_PCR17 ? " (extend PCR 17)" : "", vlp->num_entries);
        for (unsigned i = 0; i < vlp->num_entries; i++) {
                const struct vlp_entry *e = &vlp->entries[i];
                json_object *je = json_object_new_object(), *hashes = json_object_new_array();
                const char *mod = mod_string(e->mod_num, buf, sizeof(buf));

                json_object_object_add(je, "mod_num", e->mod_num <= VLP_MOD_MAX ? json_object_new_int(e->mod_num)
                                                                                 : json_object_new_string(mod));
                json_object_object_add(je, "pcr", e->pcr == VLP_PCR_NONE ? json_object_new_string("none")
                                                                          : json_object_new_int(e->pcr));
                json_object_object_add(je, "hash_type",
                        json_object_new_string(e->hash_type == VLP_HASH_ANY ? "any" : "image"));
                if (e->mod_num == VLP_MOD_NV || e->mod_num == VLP_MOD_NV_RAW)
                        json_object_object_add(je, "nv_index", json_object_new_int64(e->nv_index));
                if (!json) {
                        printf("entry %u: mod_num %s, pcr ", i, mod);
                        if (e->pcr == VLP_PCR_NONE)
                                printf("none");
                        else
                                printf("%u", e->pcr);
                        printf(", hash_type %s, %u hash(es)\n", e->hash_type == VLP_HASH_ANY ? "any" : "image",
                                e->num_hashes);
                }
                for (unsigned h = 0; h < e->num_hashes; h++) {
                        _cleanup_free_ char *hex = NULL;
                        if (hex_encode(e->hashes + h * hash_size, hash_size, &hex) < 0) {
                                json_object_put(je);
                                json_object_put(hashes);
                                json_object_put(entries);
                                json_object_put(root);
                                return log_error_errno(-ENOMEM, "Out of memory");
                        }
                        json_object_array_add(hashes, json_object_new_string(hex));
                        if (!json)
                                printf("  hash %u: %s\n", h, hex);
                }
                json_object_object_add(je, "hashes", hashes);
                json_object_array_add(entries, je);
        }
        json_object_object_add(root, "entries", entries);
        if (json)
                printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
        json_object_put(root);
        return 0;
}

static int run(const struct options *o)
{
        _cleanup_(vlp_freep) struct vlp *vlp = NULL;
        uint8_t hash[DIGEST_MAX_SIZE];
        int r;

        if (strcmp(o->command, "create") == 0) {
                if (o->type < 0)
                        return log_error("create needs --type"), -EINVAL;
                r = vlp_new((enum vlp_type)o->type, o->alg, o->control, &vlp);
                if (r < 0)
                        return log_error_errno(r, "Failed to create the policy");
                return save(o->file, vlp);
        }
        if (strcmp(o->command, "add") == 0) {
                if (o->mod_num < 0 || o->pcr < 0 || o->hash_type < 0)
                        return log_error("add needs --num, --pcr and --hash"), -EINVAL;
                if (o->hash_type == VLP_HASH_IMAGE && !o->image)
                        return log_error("--hash image needs --image"), -EINVAL;
                r = load(o->file, &vlp);
                if (r < 0)
                        return r;
                if (o->hash_type == VLP_HASH_IMAGE) {
                        struct options with_alg = *o;
                        with_alg.alg = vlp->alg;
                        r = module_hash(&with_alg, hash);
                        if (r < 0)
                                return r;
                }
                r = vlp_add(vlp, (uint8_t)o->mod_num, (uint8_t)o->pcr, (enum vlp_hash_type)o->hash_type,
                        o->hash_type == VLP_HASH_IMAGE ? hash : NULL);
                if (r == -EEXIST)
                        return log_error("Module %d already has an entry with another PCR or hash type", o->mod_num),
                               r;
                if (r < 0)
                        return log_error_errno(r, "Failed to add the entry");
                return save(o->file, vlp);
        }
        if (strcmp(o->command, "show") == 0) {
                r = load(o->file, &vlp);
                if (r < 0)
                        return r;
                return show(vlp, o->json);
        }
        if (strcmp(o->command, "hash") == 0) {
                _cleanup_free_ char *hex = NULL;
                if (!o->image)
                        return log_error("hash needs --image"), -EINVAL;
                r = module_hash(o, hash);
                if (r < 0)
                        return r;
                if (hex_encode(hash, digest_size(o->alg), &hex) < 0)
                        return -ENOMEM;
                printf("%s\n", hex);
                return 0;
        }
        return log_error("Unknown command '%s' (see --help)", o->command), -EINVAL;
}

int main(int argc, char **argv)
{
        struct options o;

        log_set_program_name("tvam-vlp");
        log_parse_environment();
        if (parse_argv(argc, argv, &o) < 0)
                return 2;
        return run(&o) < 0 ? 1 : 0;
}
