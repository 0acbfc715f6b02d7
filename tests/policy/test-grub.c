/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the GRUB PCR 8/9 predictor (policy/grub/grub.c): against a
 * real OVMF + GRUB 2.06 event log (tests/policy/data/ovmf-grub, see its
 * README), and the script rules and refusals the real log does not reach.
 * Argument: the fixture folder. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/grub/grub.h"
#include "tvam/eventlog/eventlog.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"

static const char *fixture;
static struct grub_file files[2];

static char *fixture_path(const char *name)
{
        char *p = NULL;
        assert_true(asprintf(&p, "%s/%s", fixture, name) > 0);
        return p;
}

static uint8_t *read_fixture(const char *name, size_t *size)
{
        _cleanup_free_ char *p = fixture_path(name);
        uint8_t *b = NULL;
        assert_int_equal(read_full_file(p, 1024 * 1024, &b, size), 0);
        return b;
}

/* files.sha256: "HEX  /path" per line, as the boot partition names them. */
static void load_files(void)
{
        size_t size;
        _cleanup_free_ uint8_t *text = read_fixture("files.sha256", &size);
        char *save = NULL, *line = strtok_r((char *)text, "\n", &save);

        for (size_t i = 0; i < ELEMENTSOF(files); i++, line = strtok_r(NULL, "\n", &save)) {
                char hex[65], path[64];
                assert_non_null(line);
                assert_int_equal(sscanf(line, "%64s %63s", hex, path), 2);
                files[i].path = strdup(path);
                assert_int_equal(hex_decode_exact(hex, files[i].digest, 32), 0);
        }
}

/* The TPM's PCR N from `tpm2_pcrread sha256:…` output ("    8 : 0xHEX"). */
static void tpm_pcr(unsigned n, uint8_t *ret)
{
        size_t size;
        _cleanup_free_ uint8_t *text = read_fixture("pcrs", &size);
        char want[16], *p;

        snprintf(want, sizeof(want), " %u : 0x", n);
        p = strstr((char *)text, want);
        assert_non_null(p);
        p += strlen(want);
        p[64] = '\0';
        assert_int_equal(hex_decode_exact(p, ret, 32), 0);
}

static int predict_cfg(const char *cfg, size_t size, const char *path, const char *entry,
        struct grub_prediction *p, char *err, size_t err_size)
{
        return grub_predict(&(struct grub_boot){.alg = DIGEST_SHA256,
                                    .config = cfg,
                                    .config_size = size,
                                    .config_path = path,
                                    .entry = entry,
                                    .files = files,
                                    .n_files = ELEMENTSOF(files)},
                p, err, err_size);
}

/* The prediction from grub.cfg + the files' digests equals the real log's
 * PCR 8/9 events one by one (PCR, type, data, digest), the replay of the
 * log and the TPM's PCRs 8 and 9 of that boot. */
static void test_real_log(void **state)
{
        _cleanup_eventlog_ struct eventlog *log = NULL;
        _cleanup_free_ char *log_path = fixture_path("binary_bios_measurements");
        _cleanup_free_ uint8_t *cfg = NULL;
        _cleanup_(grub_prediction_done) struct grub_prediction p = {};
        struct pcr_bank replay;
        uint8_t tpm8[32], tpm9[32];
        size_t size, k = 0;
        char err[256];

        (void)state;
        cfg = read_fixture("grub.cfg", &size);
        /* That boot's embedded config named the file with GRUB's device. */
        assert_int_equal(predict_cfg((char *)cfg, size, "(hd0,gpt2)/EFI/tvam/grub.cfg", NULL, &p, err, sizeof(err)), 0);
        assert_string_equal(p.entry_id, "srtm");
        assert_int_equal(eventlog_load(log_path, 0, &log), 0);
        for (size_t i = 0; i < log->n_events; i++) {
                const struct eventlog_event *e = &log->events[i];
                const struct eventlog_digest *d;
                if (e->pcr != 8 && e->pcr != 9)
                        continue;
                assert_true(k < p.n_events);
                assert_int_equal(e->type, EV_IPL);
                assert_int_equal(e->pcr, p.events[k].pcr);
                /* GRUB logs the description with its NUL. */
                assert_int_equal(e->data_size, strlen(p.events[k].data) + 1);
                assert_memory_equal(e->data, p.events[k].data, e->data_size);
                d = eventlog_event_digest(e, DIGEST_SHA256);
                assert_non_null(d);
                assert_memory_equal(d->value, p.events[k].digest, 32);
                k++;
        }
        assert_int_equal(k, p.n_events);
        assert_int_equal(k, 17);
        assert_int_equal(eventlog_replay(log, DIGEST_SHA256, SIZE_MAX, &replay), 0);
        assert_memory_equal(replay.values[8], p.bank.values[8], 32);
        assert_memory_equal(replay.values[9], p.bank.values[9], 32);
        tpm_pcr(8, tpm8);
        tpm_pcr(9, tpm9);
        assert_memory_equal(p.bank.values[8], tpm8, 32);
        assert_memory_equal(p.bank.values[9], tpm9, 32);
}

/* The logged name of grub.cfg is event data only: the default name (no
 * device, tvam-mkesp's "configfile /EFI/tvam/grub.cfg") gives the same PCRs. */
static void test_config_name(void **state)
{
        _cleanup_free_ uint8_t *cfg = NULL;
        _cleanup_(grub_prediction_done) struct grub_prediction a = {}, b = {};
        size_t size;

        (void)state;
        cfg = read_fixture("grub.cfg", &size);
        assert_int_equal(predict_cfg((char *)cfg, size, NULL, NULL, &a, NULL, 0), 0);
        assert_int_equal(predict_cfg((char *)cfg, size, "(hd0,gpt2)/EFI/tvam/grub.cfg", NULL, &b, NULL, 0), 0);
        assert_string_equal(a.events[0].data, GRUB_CONFIG_PATH_DEFAULT);
        assert_memory_equal(a.bank.values[8], b.bank.values[8], 32);
        assert_memory_equal(a.bank.values[9], b.bank.values[9], 32);
}

/* A changed kernel moves PCR 9 only; a changed command line moves PCR 8
 * (and PCR 9: grub.cfg is a measured file). */
static void test_changes(void **state)
{
        static const char cfg[] = "set default=a\nmenuentry 'A' --id a {\n\tlinux /vmlinuz ro\n\tinitrd /initrd.img\n}\n";
        static const char cfg2[] = "set default=a\nmenuentry 'A' --id a {\n\tlinux /vmlinuz rw\n\tinitrd /initrd.img\n}\n";
        _cleanup_(grub_prediction_done) struct grub_prediction a = {}, b = {}, c = {};

        (void)state;
        assert_int_equal(predict_cfg(cfg, strlen(cfg), NULL, NULL, &a, NULL, 0), 0);
        files[0].digest[0] ^= 1;
        assert_int_equal(predict_cfg(cfg, strlen(cfg), NULL, NULL, &b, NULL, 0), 0);
        files[0].digest[0] ^= 1;
        assert_memory_equal(a.bank.values[8], b.bank.values[8], 32);
        assert_memory_not_equal(a.bank.values[9], b.bank.values[9], 32);
        assert_int_equal(predict_cfg(cfg2, strlen(cfg2), NULL, NULL, &c, NULL, 0), 0);
        assert_memory_not_equal(a.bank.values[8], c.bank.values[8], 32);
        assert_memory_not_equal(a.bank.values[9], c.bank.values[9], 32);
}

static void expect_event(const struct grub_prediction *p, size_t i, unsigned pcr, const char *data)
{
        uint8_t d[32];
        const char *colon = strstr(data, ": ");

        assert_true(i < p->n_events);
        assert_int_equal(p->events[i].pcr, pcr);
        assert_string_equal(p->events[i].data, data);
        if (pcr == 8) { /* the digest covers the string without its prefix */
                assert_non_null(colon);
                assert_int_equal(digest_buffer(DIGEST_SHA256, colon + 2, strlen(colon + 2), d), 0);
                assert_memory_equal(p->events[i].digest, d, 32);
        }
}

/* Quote removal, joining, comments, setparams, the loader's quoting
 * (grub_create_loader_cmdline()), entry selection by index and title. */
static void test_script_rules(void **state)
{
        static const char cfg[] = "# comment\n"
                                  "echo   'a  b'  \"c\\\"d\" e\\ f ; insmod linux\n"
                                  "menuentry \"First\" { echo one\n}\n"
                                  "menuentry 'Second one' --class x --id=two {\n"
                                  "  linux /vmlinuz a=\"b c\" x\\'y\n"
                                  "  initrd /initrd.img /vmlinuz\n"
                                  "}\n";
        _cleanup_(grub_prediction_done) struct grub_prediction p = {}, q = {};
        char err[256];

        (void)state;
        assert_int_equal(predict_cfg(cfg, strlen(cfg), "/g.cfg", "1", &p, err, sizeof(err)), 0);
        expect_event(&p, 0, 9, "/g.cfg");
        expect_event(&p, 1, 8, "grub_cmd: echo a  b c\"d e f");
        expect_event(&p, 2, 8, "grub_cmd: insmod linux");
        expect_event(&p, 3, 8, "grub_cmd: menuentry First { echo one\n}");
        expect_event(&p, 4, 8,
                "grub_cmd: menuentry Second one --class x --id=two {\n  linux /vmlinuz a=\"b c\" x\\'y\n  initrd "
                "/initrd.img /vmlinuz\n}");
        expect_event(&p, 5, 8, "grub_cmd: setparams Second one");
        expect_event(&p, 6, 8, "grub_cmd: linux /vmlinuz a=b c x'y");
        expect_event(&p, 7, 9, "/vmlinuz");
        expect_event(&p, 8, 8, "kernel_cmdline: /vmlinuz \"a=b c\" x\\'y");
        expect_event(&p, 9, 8, "grub_cmd: initrd /initrd.img /vmlinuz");
        expect_event(&p, 10, 9, "/initrd.img");
        expect_event(&p, 11, 9, "/vmlinuz");
        assert_int_equal(p.n_events, 12);
        assert_string_equal(p.entry_id, "two");
        /* By title: the same entry; no "default": entry 0. */
        assert_int_equal(predict_cfg(cfg, strlen(cfg), "/g.cfg", "Second one", &q, NULL, 0), 0);
        assert_memory_equal(p.bank.values[8], q.bank.values[8], 32);
        grub_prediction_done(&q);
        assert_int_equal(predict_cfg(cfg, strlen(cfg), "/g.cfg", NULL, &q, NULL, 0), 0);
        assert_string_equal(q.entry_id, "First");
}

static void expect_refused(const char *cfg, const char *entry, int want, const char *msg)
{
        struct grub_prediction p = {};
        char err[256] = "";

        assert_int_equal(predict_cfg(cfg, strlen(cfg), NULL, entry, &p, err, sizeof(err)), want);
        assert_non_null(strstr(err, msg));
        assert_int_equal(p.n_events, 0);
}

/* What is not modelled is refused, naming the line, never predicted. */
static void test_refusals(void **state)
{
        static const char entry[] = "menuentry A --id a {\n linux /vmlinuz\n}\n";
        char cfg[2200];

        (void)state;
        expect_refused("set root=$x\n", NULL, -EOPNOTSUPP, "line 1: variable expansion");
        expect_refused("echo \"${x}\"\n", NULL, -EOPNOTSUPP, "variable expansion");
        expect_refused("if true; then echo; fi\n", NULL, -EOPNOTSUPP, "'if' is not modelled");
        expect_refused("\nsource /x.cfg\n", NULL, -EOPNOTSUPP, "line 2: command 'source' is not modelled");
        expect_refused("echo 'x\n", NULL, -EBADMSG, "unterminated single quote");
        expect_refused("menuentry A {\n echo\n", NULL, -EBADMSG, "closing '}'");
        expect_refused("menuentry A { menuentry B { echo } }\n", NULL, -EOPNOTSUPP, "nested blocks");
        expect_refused("echo a | b\n", NULL, -EOPNOTSUPP, "'|' is not modelled");
        expect_refused(entry, "b", -ENOENT, "no menu entry 'b'");
        expect_refused("menuentry A { linux /other\n}\n", NULL, -ENOENT, "'/other', which is not among");
        expect_refused("menuentry A { multiboot2 /tboot.gz\n}\n", NULL, -EOPNOTSUPP, "'multiboot2' is not modelled");
        expect_refused("menuentry A --weird { echo\n}\n", NULL, -EOPNOTSUPP, "option '--weird'");
        /* A command line GRUB would cut is refused. */
        snprintf(cfg, sizeof(cfg), "menuentry A { linux /vmlinuz %0*d\n}\n", 2040, 0);
        expect_refused(cfg, NULL, -E2BIG, "longer than the kernel takes");
}

int main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_real_log),
                cmocka_unit_test(test_config_name),
                cmocka_unit_test(test_changes),
                cmocka_unit_test(test_script_rules),
                cmocka_unit_test(test_refusals),
        };
        int r;

        if (argc != 2) {
                fprintf(stderr, "usage: %s FIXTURE-DIR\n", argv[0]);
                return 2;
        }
        fixture = argv[1];
        load_files();
        r = cmocka_run_group_tests(tests, NULL, NULL);
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                free((char *)files[i].path);
        return r;
}
