/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * update-tool: the sealing side of tvamd's update flow without LVM (tests
 * only; tests/tpm/update.sh).  It seals and unseals with app_seal_token() /
 * app_unseal_token(), the functions tvamd's import/start/restore use, and
 * builds and "boots" synthetic firmware + GRUB event logs on swtpm.
 *
 *   update-tool mklog OUT KERNEL INITRD CMDLINE   a boot's log (GRUB 2 events)
 *   update-tool boot LOG            extend every event into the TPM (after a reset)
 *   update-tool extend-base IMAGE   PCR 14 += H("sha256:" hex(SHA-256(IMAGE)))
 *   update-tool seal OUT            NV-policy secret: OUT (token JSON), OUT.secret
 *   update-tool seal-pcr OUT MASK   PolicyPCR to the current PCRs in MASK
 *   update-tool unseal TOKEN POLICY_JSON   0 unsealed (= TOKEN.secret),
 *                                   1 refused (the reason on stdout), 2 error
 *   update-tool vlp-init KERNEL INITRD CMDLINE   a halt VLP pinning them (NV)
 *   update-tool txt-launch TBOOT KERNEL INITRD CMDLINE SINIT_DATA [force]
 *                                   a measured launch on swtpm as tboot does it
 *                                   with the VLP in NV: swtpm_ioctl -h (SINIT
 *                                   stand-in), then the locality-2 extends.
 *                                   Exit 3 when tboot would halt (a module the
 *                                   halt VLP does not allow), unless "force".
 */
#include <fcntl.h>
#include <unistd.h>

#include "policy/tboot/mle.h"
#include "policy/tboot/txt.h"
#include "policy/tboot/vlp.h"
#include "policy/tools/nv-provision.h"
#include "tests/policy/srtm-log.h"
#include "tests/tpm/tpm-test-util.h"
#include "tvam/app/app.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/macro.h"
#include "tvam/shared/process.h"
#include "tvam/storage/luks-token.h"
#include "tvam/tpm/tpm-internal.h"
#include "tvam/tpm/tpm-pcr.h"
#include "tvam/tpm/tpm-policy-file.h"
#include "tvam/tpm/tpm-policy-nv.h"
#include "tvam/tpm/tpm-srk.h"

static struct membuf read_file(const char *path)
{
        struct membuf m = {};
        CHECK_OK(read_full_file(path, 64u << 20, &m.data, &m.size));
        return m;
}

static void write_file(const char *path, const void *data, size_t size)
{
        CHECK_OK(atomic_file_write(path, data, size, 0600));
}

/* As GRUB 2.06 logs a Linux boot (grub-core/commands/tpm.c: EV_IPL; PCR 8
 * the strings, PCR 9 the files by path), after firmware events. */
static int cmd_mklog(const char *out, const char *kernel, const char *initrd, const char *cmdline)
{
        static const uint8_t sep[4] = {};
        struct membuf m, k = read_file(kernel), i = read_file(initrd);
        struct eventlog *hl = NULL;
        char line[1024];

        CHECK_OK(log_begin(&m, &hl));
        CHECK_OK(log_event(&m, hl, 0, EV_S_CRTM_VERSION, "OVMF 2022.11", 12, NULL, 0));
        for (uint32_t p = 0; p <= 7; p++)
                CHECK_OK(log_event(&m, hl, p, EV_SEPARATOR, sep, sizeof(sep), NULL, 0));
        CHECK_OK(log_event(&m, hl, 4, EV_EFI_EVENT_BASE + 3, "grubx64.efi", 11, "grub image", 10));
        snprintf(line, sizeof(line), "grub_cmd: linux /boot/vmlinuz %s", cmdline);
        CHECK_OK(log_event(&m, hl, 8, EV_IPL, line, strlen(line) + 1, line, strlen(line)));
        snprintf(line, sizeof(line), "kernel_cmdline: /boot/vmlinuz %s", cmdline);
        CHECK_OK(log_event(&m, hl, 8, EV_IPL, line, strlen(line) + 1, line, strlen(line)));
        CHECK_OK(log_event(&m, hl, 9, EV_IPL, "/boot/vmlinuz", 14, k.data, k.size));
        snprintf(line, sizeof(line), "grub_cmd: initrd /boot/initrd.img");
        CHECK_OK(log_event(&m, hl, 8, EV_IPL, line, strlen(line) + 1, line, strlen(line)));
        CHECK_OK(log_event(&m, hl, 9, EV_IPL, "/boot/initrd.img", 17, i.data, i.size));
        write_file(out, m.data, m.size);
        eventlog_free(hl);
        free(m.data), free(k.data), free(i.data);
        return 0;
}

/* The firmware and GRUB's extends of one boot, both banks. */
static int cmd_boot(struct tpm_context *c, const char *path)
{
        _cleanup_eventlog_ struct eventlog *log = NULL;

        CHECK_OK(eventlog_load(path, 0, &log));
        for (size_t i = 0; i < log->n_events; i++) {
                const struct eventlog_event *e = &log->events[i];
                if (e->type == EV_NO_ACTION)
                        continue;
                for (size_t k = 0; k < e->n_digests; k++) {
                        enum digest_alg alg = e->digests[k].alg == 0x0004 ? DIGEST_SHA1 : DIGEST_SHA256;
                        CHECK_OK(tpm_pcr_extend(c, e->pcr, alg, e->digests[k].value));
                }
        }
        return 0;
}

static int cmd_extend_base(struct tpm_context *c, const char *image)
{
        struct membuf m = read_file(image);
        uint8_t h[32], ev[32];
        char *hex = NULL, text[80];

        CHECK_OK(digest_buffer(DIGEST_SHA256, m.data, m.size, h));
        CHECK_OK(hex_encode(h, 32, &hex));
        snprintf(text, sizeof(text), "sha256:%s", hex);
        CHECK_OK(digest_buffer(DIGEST_SHA256, text, strlen(text), ev));
        CHECK_OK(tpm_pcr_extend(c, 14, DIGEST_SHA256, ev));
        free(hex), free(m.data);
        return 0;
}

static int cmd_seal(struct tpm_context *c, const char *out, bool nv, uint32_t mask)
{
        const struct tpm_policy_nv policy_nv = TPM_POLICY_NV_DEFAULT;
        struct app_ctx ctx = { .tpm = c, .policy_nv = nv ? &policy_nv : NULL };
        _cleanup_secret_ struct secret *s = NULL;
        struct luks_token token = {};
        struct pcr_bank now;
        char *json = NULL, path[512];

        CHECK_OK(tpm_srk_provision(c, NULL));
        CHECK_OK(tpm_pcr_read(c, DIGEST_SHA256, mask, &now));
        CHECK_OK(secret_new_random(32, &s));
        CHECK_OK(app_seal_token(&ctx, s, &now, mask, &token));
        CHECK(nv ? token.policy_nv_index == TPM_NV_POLICY_INDEX : token.policy_nv_index == 0);
        CHECK_OK(luks_token_format(&token, &json));
        write_file(out, json, strlen(json));
        snprintf(path, sizeof(path), "%s.secret", out);
        write_file(path, s->data, s->size); /* test only: to compare the unsealed secret */
        luks_token_done(&token);
        free(json);
        return 0;
}

static int cmd_unseal(struct tpm_context *c, const char *token_path, const char *policy_json)
{
        const struct tpm_policy_nv policy_nv = TPM_POLICY_NV_DEFAULT;
        struct tpm_pcr_state states[TPM_POLICY_STATES_MAX];
        size_t n = 0;
        _cleanup_secret_ struct secret *out = NULL;
        struct membuf t = read_file(token_path), want;
        struct luks_token token = {};
        char errbuf[256] = "", path[512];
        int r;

        /* the states tvamd passes to app_unseal_token: the set the index holds */
        CHECK_OK(tpm_policy_file_states(c, policy_json, TPM_SEAL_APPLICATION, states, &n, NULL, errbuf, sizeof(errbuf)));
        struct app_ctx ctx = { .tpm = c, .policy_nv = &policy_nv, .policy_states = states, .n_policy_states = n };
        CHECK_OK(tpm_srk_provision(c, NULL));
        CHECK_OK(luks_token_parse((const char *)t.data, t.size, &token));
        r = app_unseal_token(&ctx, &token, errbuf, sizeof(errbuf), &out);
        luks_token_done(&token);
        free(t.data);
        if (r == -EPERM) {
                printf("refused: %s\n", errbuf);
                return 1;
        }
        if (r < 0) {
                fprintf(stderr, "unseal failed: %s (%s)\n", strerror(-r), errbuf);
                return 2;
        }
        snprintf(path, sizeof(path), "%s.secret", token_path);
        want = read_file(path);
        CHECK(out->size == want.size && memcmp(out->data, want.data, want.size) == 0);
        free(want.data);
        printf("unsealed\n");
        return 0;
}

static void module_digests(const char *kernel, const char *initrd, struct txt_module mods[2])
{
        struct membuf k = read_file(kernel), i = read_file(initrd);
        CHECK_OK(digest_buffer(DIGEST_SHA256, k.data, k.size, mods[0].image_digest));
        CHECK_OK(digest_buffer(DIGEST_SHA256, i.data, i.size, mods[1].image_digest));
        free(k.data), free(i.data);
}

static int cmd_vlp_init(struct tpm_context *c, const char *kernel, const char *initrd, const char *cmdline)
{
        _cleanup_(vlp_freep) struct vlp *vlp = NULL;
        struct txt_module mods[2] = { { .cmdline = cmdline }, { .cmdline = "" } };
        _cleanup_free_ uint8_t *bytes = NULL;
        uint8_t h0[32], h1[32];
        size_t size;

        module_digests(kernel, initrd, mods);
        CHECK_OK(vlp_module_hash(DIGEST_SHA256, cmdline, mods[0].image_digest, h0));
        CHECK_OK(vlp_module_hash(DIGEST_SHA256, "", mods[1].image_digest, h1));
        CHECK_OK(vlp_new(VLP_TYPE_HALT, DIGEST_SHA256, VLP_CONTROL_EXTEND_PCR17, &vlp));
        CHECK_OK(vlp_add(vlp, 0, VLP_PCR_NONE, VLP_HASH_IMAGE, h0));
        CHECK_OK(vlp_add(vlp, 1, 19, VLP_HASH_IMAGE, h1));
        CHECK_OK(vlp_encode(vlp, &bytes, &size));
        CHECK_OK(nv_policy_provision(c, NV_POLICY_VLP, bytes, size, NULL));
        return 0;
}

static int cmd_txt_launch(struct tpm_context *c, char **argv, bool force)
{
        const char *ctrl = getenv("TVAM_TEST_SWTPM_CTRL");
        struct txt_module mods[2] = { { .name = "kernel", .cmdline = argv[3] }, { .name = "initrd", .cmdline = "" } };
        struct txt_launch l = { .alg = DIGEST_SHA256, .modules = mods, .n_modules = 2 };
        struct membuf sinit = read_file(argv[4]);
        _cleanup_free_ uint8_t *vlp = NULL;
        struct txt_prediction p = {};
        char data[256];

        CHECK(ctrl && sinit.size < sizeof(data));
        module_digests(argv[1], argv[2], mods);
        CHECK_OK(nv_policy_read(c, NV_POLICY_VLP, &vlp, &l.vlp_size)); /* as tboot reads it */
        l.vlp = vlp;
        CHECK_OK(mle_hash_file(DIGEST_SHA256, argv[0], NULL, l.mle_digest));
        CHECK_OK(txt_sinit_pcr17_from_data(DIGEST_SHA256, sinit.data, sinit.size, l.sinit_pcr17));
        CHECK_OK(txt_predict(&l, &p));
        if (p.n_unverified > 0 && p.vlp_type == VLP_TYPE_HALT && !force) {
                printf("tboot halts: %zu module(s) not allowed by the VLP\n", p.n_unverified);
                txt_prediction_done(&p);
                free(sinit.data);
                return 3;
        }
        memcpy(data, sinit.data, sinit.size);
        data[sinit.size] = 0;
        const char *ioctl_argv[] = { "swtpm_ioctl", "--tcp", ctrl, "-h", data, NULL };
        CHECK_OK(spawn_wait(ioctl_argv, true, NULL));
        CHECK(Tss2_Tcti_SetLocality(c->tcti, 2) == TSS2_RC_SUCCESS);
        for (size_t i = 0; i < p.n_steps; i++)
                if (p.steps[i].component != TXT_COMPONENT_SINIT)
                        CHECK_OK(tpm_pcr_extend(c, p.steps[i].pcr, DIGEST_SHA256, p.steps[i].digest));
        CHECK(Tss2_Tcti_SetLocality(c->tcti, 0) == TSS2_RC_SUCCESS);
        txt_prediction_done(&p);
        free(sinit.data);
        return 0;
}

int main(int argc, char **argv)
{
        _cleanup_tpm_context_ struct tpm_context *c = NULL;

        if (argc == 6 && strcmp(argv[1], "mklog") == 0)
                return cmd_mklog(argv[2], argv[3], argv[4], argv[5]);
        c = test_tpm_open();
        if (argc == 3 && strcmp(argv[1], "boot") == 0)
                return cmd_boot(c, argv[2]);
        if (argc == 3 && strcmp(argv[1], "extend-base") == 0)
                return cmd_extend_base(c, argv[2]);
        if (argc == 3 && strcmp(argv[1], "seal") == 0)
                return cmd_seal(c, argv[2], true, (1u << 14) | 1);
        if (argc == 4 && strcmp(argv[1], "seal-pcr") == 0)
                return cmd_seal(c, argv[2], false, (uint32_t)strtoul(argv[3], NULL, 0));
        if (argc == 4 && strcmp(argv[1], "unseal") == 0)
                return cmd_unseal(c, argv[2], argv[3]);
        if (argc == 5 && strcmp(argv[1], "vlp-init") == 0)
                return cmd_vlp_init(c, argv[2], argv[3], argv[4]);
        if ((argc == 7 || argc == 8) && strcmp(argv[1], "txt-launch") == 0)
                return cmd_txt_launch(c, argv + 2, argc == 8 && strcmp(argv[7], "force") == 0);
        fprintf(stderr, "usage: see the comment at the top of update-tool.c\n");
        return 2;
}
