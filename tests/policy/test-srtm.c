/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SRTM prediction (policy/tools/srtm) against swtpm (suite tpm): a boot
 * with kernel A is logged; the next boot's PCRs 0-9 with kernel B, a new
 * initrd and a new command line are predicted from A's log by substitution;
 * swtpm then receives the next boot's measurements and must hold exactly
 * the predicted values.  Negative cases: an unmatched substitution is an
 * error, a missed substitution shows in its PCR (9 for the initrd, 8 for
 * the command line).
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/policy/srtm-log.h"
#include "tests/tpm/tpm-test-util.h"
#include "policy/tools/srtm.h"
#include "tvam/shared/log.h"
#include "tvam/tpm/tpm-pcr.h"

#define MASK_0_9 0x3ffu

static struct srtm_substitution sub(unsigned pcr, const char *match, const char *content)
{
        struct srtm_substitution s = {
                .pcr = pcr, .match = (const uint8_t *)match, .match_size = strlen(match)};
        CHECK_OK(digest_buffer(DIGEST_SHA256, content, strlen(content), s.digest));
        return s;
}

static void write_file(const char *path, const struct membuf *m)
{
        FILE *f = fopen(path, "we");
        CHECK(f);
        CHECK(fwrite(m->data, 1, m->size, f) == m->size);
        CHECK(fclose(f) == 0);
}

/* Run ARGV with stdout into OUT (a file); return the exit status. */
static int run_to_file(char *const argv[], const char *out)
{
        extern char **environ;
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int status;

        CHECK(posix_spawn_file_actions_init(&fa) == 0);
        CHECK(posix_spawn_file_actions_addopen(
                      &fa, STDOUT_FILENO, out, O_WRONLY | O_CREAT | O_TRUNC, 0600) == 0);
        CHECK(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) == 0);
        posix_spawn_file_actions_destroy(&fa);
        CHECK(waitpid(pid, &status, 0) == pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void file_contains(const char *path, const char *want)
{
        char buf[4096] = "";
        FILE *f = fopen(path, "re");
        CHECK(f);
        CHECK(fread(buf, 1, sizeof(buf) - 1, f) > 0 || 1);
        fclose(f);
        if (!strstr(buf, want)) {
                fprintf(stderr, "'%s' lacks '%s':\n%s\n", path, want, buf);
                exit(1);
        }
}

/* tvam-policy diagnose --profile srtm names the first differing event. */
static void check_tool(
        const char *tool, const struct membuf *a, const struct membuf *b, const uint8_t *tpm_pcr9)
{
        char dir[] = "/tmp/tvam-srtm.XXXXXX", la[64], lb[64], out[64], want[80];
        char *tcti = getenv("TVAM_TEST_TCTI");

        CHECK(mkdtemp(dir));
        snprintf(la, sizeof(la), "%s/a.log", dir);
        snprintf(lb, sizeof(lb), "%s/b.log", dir);
        snprintf(out, sizeof(out), "%s/out", dir);
        write_file(la, a);
        write_file(lb, b);
        CHECK(run_to_file((char *[]){(char *)tool, "diagnose", "--profile", "srtm", "--eventlog", lb,
                                  "--tcti", tcti, NULL},
                      out) == 0);
        file_contains(out, "equal the replay");
        /* The TPM holds boot B; boot A's log differs first in PCR 8, at the
         * GRUB command line event. */
        CHECK(run_to_file((char *[]){(char *)tool, "diagnose", "--profile", "srtm", "--eventlog", la,
                                  "--tcti", tcti, NULL},
                      out) == 1);
        file_contains(out, "PCR 8 differs from the replay");
        file_contains(out, "EV_IPL");
        file_contains(out, "grub_cmd: linux /boot/vmlinuz root=/dev/vda ro");
        CHECK(run_to_file(
                      (char *[]){(char *)tool, "predict", "--profile", "srtm", "--eventlog", la, "--pcrs",
                              "9", "--substitute-string", "9:/boot/vmlinuz=kernel B bytes, updated",
                              "--substitute-string", "9:/boot/initrd.img=initrd B", NULL},
                      out) == 0);
        /* The tool's prediction of PCR 9 is what the TPM holds after boot B. */
        snprintf(want, sizeof(want), "PCR 9: ");
        for (size_t i = 0; i < 32; i++)
                snprintf(want + 7 + 2 * i, sizeof(want) - 7 - 2 * i, "%02x", tpm_pcr9[i]);
        file_contains(out, want);
        unlink(la);
        unlink(lb);
        unlink(out);
        rmdir(dir);
}

int main(int argc, char **argv)
{
        _cleanup_tpm_context_ struct tpm_context *c = test_tpm_open();
        _cleanup_eventlog_ struct eventlog *hl = NULL, *hl_b = NULL, *log_a = NULL, *log_b = NULL;
        struct membuf a, b;
        struct pcr_bank predicted, truth, tpm;
        uint32_t diff;
        const char *cmd_a = "root=/dev/vda ro", *cmd_b = "root=/dev/vda ro tvam.gen=2";
        char la[256], lb[256], ka[256], kb[256];

        log_parse_environment();
        CHECK_OK(log_begin(&a, &hl));
        CHECK_OK(log_boot(&a, hl, "kernel A bytes", "initrd A", cmd_a));
        CHECK_OK(log_begin(&b, &hl_b));
        CHECK_OK(log_boot(&b, hl_b, "kernel B bytes, updated", "initrd B", cmd_b));
        CHECK_OK(eventlog_parse(a.data, a.size, 0, &log_a, NULL));
        CHECK_OK(eventlog_parse(b.data, b.size, 0, &log_b, NULL));

        /* Predict boot B from boot A's log. */
        snprintf(la, sizeof(la), "grub_cmd: linux /boot/vmlinuz %s", cmd_a);
        snprintf(lb, sizeof(lb), "grub_cmd: linux /boot/vmlinuz %s", cmd_b);
        snprintf(ka, sizeof(ka), "kernel_cmdline: /boot/vmlinuz %s", cmd_a);
        snprintf(kb, sizeof(kb), "kernel_cmdline: /boot/vmlinuz %s", cmd_b);
        struct srtm_substitution subs[] = {
                sub(9, "/boot/vmlinuz", "kernel B bytes, updated"),
                sub(9, "/boot/initrd.img", "initrd B"),
                sub(8, la, lb),
                sub(8, ka, kb),
        };
        CHECK_OK(srtm_predict(log_a, DIGEST_SHA256, subs, ELEMENTSOF(subs), &predicted));
        for (size_t i = 0; i < ELEMENTSOF(subs); i++)
                CHECK(subs[i].n_applied == 1);

        /* The next boot happens: swtpm receives B's measurements. */
        for (size_t i = 0; i < log_b->n_events; i++) {
                const struct eventlog_event *e = &log_b->events[i];
                const struct eventlog_digest *d = eventlog_event_digest(e, DIGEST_SHA256);
                if (e->type == EV_NO_ACTION)
                        continue;
                CHECK(d);
                CHECK_OK(tpm_pcr_extend(c, e->pcr, DIGEST_SHA256, d->value));
        }
        CHECK_OK(tpm_pcr_read(c, DIGEST_SHA256, MASK_0_9, &tpm));
        CHECK_OK(pcr_bank_diff(&predicted, &tpm, MASK_0_9, &diff));
        if (diff) {
                char s[128];
                pcr_mask_to_string(diff, s, sizeof(s));
                fprintf(stderr, "predicted PCRs %s differ from swtpm\n", s);
                return 1;
        }
        CHECK_OK(eventlog_replay(log_b, DIGEST_SHA256, SIZE_MAX, &truth));
        CHECK_OK(pcr_bank_diff(&predicted, &truth, MASK_0_9, &diff));
        CHECK(diff == 0);
        /* ... and the prediction is not simply boot A's values. */
        CHECK_OK(eventlog_replay(log_a, DIGEST_SHA256, SIZE_MAX, &truth));
        CHECK_OK(pcr_bank_diff(&predicted, &truth, MASK_0_9, &diff));
        CHECK(diff == ((1u << 8) | (1u << 9)));
        printf("srtm: PCRs 0-9 predicted from boot A's log with 4 substitutions equal swtpm after boot B\n");

        /* An unmatched substitution is an error, not a silent no-op. */
        struct srtm_substitution bad[] = {sub(9, "/boot/vmlinuz-other", "x")};
        CHECK_R(srtm_predict(log_a, DIGEST_SHA256, bad, 1, &predicted), -ENOENT);
        CHECK(bad[0].n_applied == 0);

        /* Forgetting a component is caught against the TPM, in its PCR:
         * the initrd (PCR 9), the kernel command line (PCR 8). */
        CHECK_OK(srtm_predict(log_a, DIGEST_SHA256, (struct srtm_substitution[]){subs[0], subs[2], subs[3]},
                3, &predicted));
        CHECK_OK(pcr_bank_diff(&predicted, &tpm, MASK_0_9, &diff));
        CHECK(diff == (1u << 9));
        CHECK_OK(srtm_predict(log_a, DIGEST_SHA256, subs, 3, &predicted));
        CHECK_OK(pcr_bank_diff(&predicted, &tpm, MASK_0_9, &diff));
        CHECK(diff == (1u << 8));
        printf("srtm: unmatched and missing substitutions detected\n");

        if (argc > 1) {
                check_tool(argv[1], &a, &b, tpm.values[9]);
                printf("srtm: diagnose names PCR 8 and GRUB's command-line event; predict by the tool "
                       "runs\n");
        }
        free(a.data);
        free(b.data);
        return 0;
}
