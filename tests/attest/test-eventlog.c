/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the crypto-agile event log (tvam/eventlog/eventlog.h):
 * golden bytes and PCR values computed independently (Python hashlib),
 * the strict parser on every truncation and bit flip, durable append with a
 * torn tail, replay diagnostics and TVAM's EV_EVENT_TAG events. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tvam/eventlog/eventlog.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"

static const enum digest_alg sha1_sha256[] = { DIGEST_SHA1, DIGEST_SHA256 };

static void assert_hex(const uint8_t *value, size_t size, const char *hex)
{
        char *s = NULL;
        assert_int_equal(hex_encode(value, size, &s), 0);
        assert_string_equal(s, hex);
        free(s);
}

/* Header + records appended in memory. */
struct membuf {
        uint8_t *p;
        size_t size;
};

static void membuf_add(struct membuf *m, const uint8_t *p, size_t n)
{
        m->p = realloc(m->p, m->size + n);
        assert_non_null(m->p);
        memcpy(m->p + m->size, p, n);
        m->size += n;
}

static struct eventlog *header_log(const enum digest_alg *banks, size_t n, struct membuf *m)
{
        uint8_t *h;
        size_t hs;
        struct eventlog *log = NULL;

        assert_int_equal(eventlog_header_build(banks, n, &h, &hs), 0);
        membuf_add(m, h, hs);
        assert_int_equal(eventlog_parse(h, hs, 0, &log, NULL), 0);
        free(h);
        return log;
}

static void add_event(struct membuf *m, const struct eventlog *hl, uint32_t pcr, uint32_t type, const char *data)
{
        uint8_t *r;
        size_t rs;
        assert_int_equal(eventlog_record_build(hl, pcr, type, data, strlen(data), NULL, &r, &rs), 0);
        membuf_add(m, r, rs);
        free(r);
}

static void test_header_golden(void **state)
{
        /* PFP §10.4.5.1 TCG_EfiSpecIDEvent for SHA-1 + SHA-256, by hand. */
        static const uint8_t expected[] = {
                0, 0, 0, 0,                                                  /* pcrIndex */
                3, 0, 0, 0,                                                  /* EV_NO_ACTION */
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* digest */
                37, 0, 0, 0,                                                 /* eventSize */
                'S', 'p', 'e', 'c', ' ', 'I', 'D', ' ', 'E', 'v', 'e', 'n', 't', '0', '3', 0,
                0, 0, 0, 0,       /* platformClass */
                0, 2, 0, 2,       /* minor, major, errata, uintnSize */
                2, 0, 0, 0,       /* numberOfAlgorithms */
                0x04, 0x00, 20, 0, /* SHA1, 20 */
                0x0b, 0x00, 32, 0, /* SHA256, 32 */
                0,                 /* vendorInfoSize */
        };
        uint8_t *h;
        size_t hs;
        struct eventlog *log = NULL;

        (void)state;
        assert_int_equal(eventlog_header_build(sha1_sha256, 2, &h, &hs), 0);
        assert_int_equal(hs, sizeof(expected));
        assert_memory_equal(h, expected, sizeof(expected));
        assert_int_equal(eventlog_parse(h, hs, 0, &log, NULL), 0);
        assert_int_equal(log->n_banks, 2);
        assert_int_equal(log->banks[1].alg, 0x000b);
        assert_int_equal(log->banks[1].size, 32);
        assert_int_equal(log->n_events, 0);
        eventlog_free(log);
        free(h);
}

static void test_record_golden_and_replay(void **state)
{
        struct membuf m = {};
        struct eventlog *hl, *log = NULL;
        struct pcr_bank bank;
        uint8_t *r;
        size_t rs;

        (void)state;
        hl = header_log(sha1_sha256, 2, &m);
        assert_int_equal(eventlog_record_build(hl, 4, EV_IPL, "abc", 3, NULL, &r, &rs), 0);
        /* pcr, type, count, sha1 alg+digest, sha256 alg+digest, size, data */
        assert_int_equal(rs, 4 + 4 + 4 + 2 + 20 + 2 + 32 + 4 + 3);
        assert_memory_equal(r, "\x04\0\0\0\x0d\0\0\0\x02\0\0\0\x04\0", 14);
        assert_hex(r + 14, 20, "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_memory_equal(r + 34, "\x0b\0", 2);
        assert_hex(r + 36, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_memory_equal(r + 68, "\x03\0\0\0abc", 7);
        membuf_add(&m, r, rs);
        free(r);
        add_event(&m, hl, 4, EV_IPL, "second");

        assert_int_equal(eventlog_parse(m.p, m.size, 0, &log, NULL), 0);
        assert_int_equal(log->n_events, 2);
        assert_int_equal(log->events[1].data_size, 6);
        assert_memory_equal(log->events[1].data, "second", 6);

        assert_int_equal(eventlog_replay(log, DIGEST_SHA1, SIZE_MAX, &bank), 0);
        assert_hex(bank.values[4], 20, "add6c3e8a16c8893c77bda482221c3648f45f6ac");
        assert_int_equal(eventlog_replay(log, DIGEST_SHA256, SIZE_MAX, &bank), 0);
        assert_hex(bank.values[4], 32, "e7f22a04ccbb071cd35ec8bf61a1a9a9378f3207812d354579314a251969514a");
        /* up to an index */
        assert_int_equal(eventlog_replay(log, DIGEST_SHA256, 1, &bank), 0);
        assert_hex(bank.values[4], 32, "589f9ffed4c477966bfb8d41f37895b08c69047df8f911d6f3b57fbe08faee8d");
        /* static-boot initial values of the DRTM PCRs */
        assert_int_equal(bank.values[17][0], 0xff);
        assert_int_equal(bank.values[5][0], 0);
        assert_int_equal(eventlog_replay(log, DIGEST_SHA384, SIZE_MAX, &bank), -ENOENT);

        eventlog_free(log);
        eventlog_free(hl);
        free(m.p);
}

static void test_startup_locality(void **state)
{
        static const enum digest_alg sha256[] = { DIGEST_SHA256 };
        uint8_t loc[17] = "StartupLocality";
        struct membuf m = {};
        struct eventlog *hl, *log = NULL;
        struct pcr_bank bank;
        uint8_t *r, zero[32] = {};
        const uint8_t *digests[] = { zero };
        size_t rs;

        (void)state;
        hl = header_log(sha256, 1, &m);
        loc[16] = 3;
        assert_int_equal(eventlog_record_build(hl, 0, EV_NO_ACTION, loc, sizeof(loc), digests, &r, &rs), 0);
        membuf_add(&m, r, rs);
        free(r);
        add_event(&m, hl, 0, EV_S_CRTM_VERSION, "abc");
        assert_int_equal(eventlog_parse(m.p, m.size, 0, &log, NULL), 0);
        assert_int_equal(eventlog_replay(log, DIGEST_SHA256, SIZE_MAX, &bank), 0);
        assert_hex(bank.values[0], 32, "e2bf6737520fc19e9be2993af864834bfb33b00c3fa7e3da44509c90cfd6a247");
        eventlog_free(log);
        eventlog_free(hl);
        free(m.p);
}

static void test_every_truncation(void **state)
{
        struct membuf m = {};
        struct eventlog *hl, *log = NULL;
        size_t header_size, first_end;

        (void)state;
        hl = header_log(sha1_sha256, 2, &m);
        header_size = m.size;
        add_event(&m, hl, 4, EV_IPL, "abc");
        first_end = m.size;
        add_event(&m, hl, 5, EV_IPL, "defgh");

        for (size_t n = 0; n < m.size; n++) {
                size_t off = SIZE_MAX;
                int r = eventlog_parse(m.p, n, 0, &log, &off);
                /* strict: a cut inside a record is refused; a cut at a
                 * record boundary is a shorter, valid log */
                if (n == header_size || n == first_end) {
                        assert_int_equal(r, 0);
                        eventlog_free(log);
                        log = NULL;
                } else
                        assert_true(r == -EBADMSG || r == -EOPNOTSUPP);
                if (n >= header_size && n != header_size && n != first_end) {
                        assert_int_equal(r, -EBADMSG);
                        assert_true(off <= n);
                }
                /* torn tail tolerated after the header: whole records survive */
                r = eventlog_parse(m.p, n, EVENTLOG_PARSE_TORN_TAIL, &log, NULL);
                if (n < header_size)
                        assert_true(r < 0);
                else {
                        assert_int_equal(r, 0);
                        assert_int_equal(log->n_events, n == header_size ? 0 : n < first_end ? 0 : 1);
                        assert_int_equal(log->torn_tail, n != header_size && n != first_end);
                        assert_int_equal(log->valid_size, n < first_end ? header_size : first_end);
                        eventlog_free(log);
                        log = NULL;
                }
        }
        assert_int_equal(eventlog_parse(m.p, m.size, 0, &log, NULL), 0);
        assert_int_equal(log->n_events, 2);
        eventlog_free(log);
        eventlog_free(hl);
        free(m.p);
}

static void test_malformed(void **state)
{
        struct membuf m = {};
        struct eventlog *hl, *log = NULL;
        size_t header_size, off;
        uint8_t *p;

        (void)state;
        hl = header_log(sha1_sha256, 2, &m);
        header_size = m.size;
        add_event(&m, hl, 4, EV_IPL, "abc");
        p = m.p + header_size;

        /* unknown algorithm in the event's digest list */
        p[12] = 0x12;
        assert_int_equal(eventlog_parse(m.p, m.size, 0, &log, &off), -EBADMSG);
        assert_int_equal(off, header_size + 12);
        p[12] = 0x04;
        /* digest count differs from the Spec ID's banks */
        p[8] = 1;
        assert_int_equal(eventlog_parse(m.p, m.size, 0, &log, &off), -EBADMSG);
        assert_int_equal(off, header_size + 8);
        p[8] = 2;
        /* PCR index out of range */
        p[0] = 24;
        assert_int_equal(eventlog_parse(m.p, m.size, 0, &log, &off), -EBADMSG);
        p[0] = 4;
        /* a huge event size is a torn/damaged record, never an over-read */
        p[68 + 3] = 0x7f;
        assert_int_equal(eventlog_parse(m.p, m.size, 0, &log, &off), -EBADMSG);
        p[68 + 3] = 0;
        /* header: a wrong size for a known algorithm */
        m.p[32 + 28 + 2] = 21;
        assert_int_equal(eventlog_parse(m.p, m.size, 0, &log, &off), -EBADMSG);
        m.p[32 + 28 + 2] = 20;
        /* header: not a crypto-agile log */
        m.p[32] = 'X';
        assert_int_equal(eventlog_parse(m.p, m.size, 0, &log, &off), -EOPNOTSUPP);
        m.p[32] = 'S';
        /* a first event that is a measurement: the SHA-1 (TPM 1.2) format */
        m.p[4] = EV_IPL;
        assert_int_equal(eventlog_parse(m.p, m.size, 0, &log, &off), -EOPNOTSUPP);
        m.p[4] = EV_NO_ACTION;

        assert_int_equal(eventlog_parse(m.p, m.size, 0, &log, NULL), 0);
        eventlog_free(log);

        /* every single bit flip parses or is refused, never crashes */
        for (size_t i = 0; i < m.size * 8; i++) {
                m.p[i / 8] ^= (uint8_t)(1u << (i % 8));
                log = NULL;
                if (eventlog_parse(m.p, m.size, EVENTLOG_PARSE_TORN_TAIL, &log, NULL) == 0)
                        eventlog_free(log);
                m.p[i / 8] ^= (uint8_t)(1u << (i % 8));
        }
        eventlog_free(hl);
        free(m.p);
}

static void test_tvam_event(void **state)
{
        struct eventlog_tvam_event e = { .kind = EVENTLOG_TVAM_APPLICATION, .config_size = 32 }, d;
        struct eventlog_event ev = {};
        uint8_t *data, digest[32];
        size_t size;

        (void)state;
        strcpy(e.name, "web");
        strcpy(e.identity, "verity:abababababababababababababababababababababababababababababababab");
        memset(e.config, 0x11, 32);
        assert_int_equal(eventlog_tvam_digest(&e, DIGEST_SHA256, digest), 0);
        /* = what tvamd extends into PCR 13: SHA-256(identity || config digest) */
        assert_hex(digest, 32, "05b51ffe01a7937c9c9bc595a41158f57eb4a801fe5d4d85dadd8515bea30b63");

        assert_int_equal(eventlog_tvam_encode(&e, &data, &size), 0);
        assert_memory_equal(data, "TVAM", 4);
        assert_int_equal(size, 8 + 4 + 2 + 3 + 2 + 71 + 2 + 32);
        assert_int_equal(eventlog_tvam_decode(data, size, &d), 0);
        assert_string_equal(d.name, "web");
        assert_string_equal(d.identity, e.identity);
        assert_int_equal(d.config_size, 32);
        assert_memory_equal(d.config, e.config, 32);

        ev = (struct eventlog_event){ .pcr = 13, .type = EV_EVENT_TAG, .n_digests = 1, .data = data, .data_size = (uint32_t)size };
        ev.digests[0] = (struct eventlog_digest){ .alg = DIGEST_SHA256, .size = 32 };
        memcpy(ev.digests[0].value, digest, 32);
        assert_int_equal(eventlog_tvam_event_verify(&ev, &d), 0);
        /* a digest that does not belong to the data */
        ev.digests[0].value[0] ^= 1;
        assert_int_equal(eventlog_tvam_event_verify(&ev, &d), -EPERM);
        ev.digests[0].value[0] ^= 1;
        /* every truncation of the data is refused */
        for (size_t n = 0; n < size; n++)
                assert_true(eventlog_tvam_decode(data, n, &d) < 0);
        /* someone else's tag */
        data[0] = 'X';
        assert_int_equal(eventlog_tvam_decode(data, size, &d), -ENOMSG);
        free(data);

        /* bad fields */
        e.name[0] = 0;
        assert_int_equal(eventlog_tvam_encode(&e, &data, &size), -EINVAL);
        strcpy(e.name, "web");
        e.kind = 9;
        assert_int_equal(eventlog_tvam_encode(&e, &data, &size), -EINVAL);
}

/* The writer: create, append, reopen; a torn tail is cut on open. */
static void test_writer_durable_torn(void **state)
{
        char dir[] = "/tmp/test-eventlog.XXXXXX", path[64];
        struct eventlog_writer *w = NULL;
        struct eventlog_tvam_event e = { .kind = EVENTLOG_TVAM_APPLICATION, .config_size = 32 };
        struct eventlog *log = NULL;
        struct pcr_bank bank;
        struct stat st;
        int fd;

        (void)state;
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/log", dir);

        assert_int_equal(eventlog_writer_open(path, sha1_sha256, 2, &w), 0);
        strcpy(e.name, "web");
        strcpy(e.identity, "verity:abababababababababababababababababababababababababababababababab");
        memset(e.config, 0x11, 32);
        assert_int_equal(eventlog_writer_append_tvam(w, 13, &e), 0);
        assert_int_equal(eventlog_writer_append(w, 15, EV_EVENT_TAG, "x", 1, NULL), 0);
        eventlog_writer_free(w);
        w = NULL;

        assert_int_equal(eventlog_load(path, 0, &log), 0);
        assert_int_equal(log->n_events, 2);
        assert_int_equal(eventlog_replay(log, DIGEST_SHA256, SIZE_MAX, &bank), 0);
        assert_hex(bank.values[13], 32, "69e688548987940713daff6e44a963e5766cfaaef5116b6a3deea9b06f9b1d3e");
        eventlog_free(log);

        /* Simulate a crash during the second append: cut it mid-record. */
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(truncate(path, st.st_size - 3), 0);
        assert_int_equal(eventlog_load(path, 0, &log), -EBADMSG);
        assert_int_equal(eventlog_writer_open(path, sha1_sha256, 2, &w), 0);
        /* reopened: the torn record was cut; the next append is whole */
        assert_int_equal(eventlog_writer_append_tvam(w, 13, &e), 0);
        eventlog_writer_free(w);
        w = NULL;
        assert_int_equal(eventlog_load(path, 0, &log), 0);
        assert_int_equal(log->n_events, 2);
        assert_int_equal(log->events[1].pcr, 13);
        eventlog_free(log);

        /* an existing log lacking a requested bank is refused */
        {
                const enum digest_alg s384[] = { DIGEST_SHA384 };
                assert_int_equal(eventlog_writer_open(path, s384, 1, &w), -EINVAL);
        }
        /* damage that is not a torn tail is refused, never "repaired" */
        fd = open(path, O_WRONLY);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, "\x30", 1, 70), 1); /* first event's pcrIndex gets a high byte */
        close(fd);
        assert_int_equal(eventlog_writer_open(path, sha1_sha256, 2, &w), -EBADMSG);

        unlink(path);
        rmdir(dir);
}

/* Replay diagnostics: which PCR, which event. */
static void test_replay_check(void **state)
{
        static const enum digest_alg sha256[] = { DIGEST_SHA256 };
        struct membuf m = {};
        struct eventlog *hl, *log = NULL, *shorter = NULL;
        struct pcr_bank quoted, b;
        struct eventlog_mismatch mm;
        size_t cut;

        (void)state;
        hl = header_log(sha256, 1, &m);
        add_event(&m, hl, 0, EV_S_CRTM_VERSION, "crtm");
        add_event(&m, hl, 13, EV_EVENT_TAG, "app-a");
        add_event(&m, hl, 4, EV_IPL, "grub");
        cut = m.size;
        add_event(&m, hl, 13, EV_EVENT_TAG, "app-b");
        add_event(&m, hl, 13, EV_EVENT_TAG, "app-c");

        assert_int_equal(eventlog_parse(m.p, m.size, 0, &log, NULL), 0);
        assert_int_equal(eventlog_replay(log, DIGEST_SHA256, SIZE_MAX, &quoted), 0);
        assert_int_equal(eventlog_replay_check(log, &quoted, (1u << 0) | (1u << 4) | (1u << 13), &mm), 0);

        /* The TPM saw only app-a: the log's events 3 and 4 were never extended. */
        assert_int_equal(eventlog_parse(m.p, cut, 0, &shorter, NULL), 0);
        assert_int_equal(eventlog_replay(shorter, DIGEST_SHA256, SIZE_MAX, &b), 0);
        assert_int_equal(eventlog_replay_check(log, &b, 1u << 13, &mm), -EPERM);
        assert_int_equal(mm.pcr, 13);
        assert_int_equal(mm.diff_mask, 1u << 13);
        assert_true(mm.prefix_matches);
        assert_int_equal(mm.event_index, 3);
        assert_int_equal(mm.n_pcr_events, 3);
        assert_memory_equal(mm.expected, b.values[13], 32);

        /* A quoted value no prefix explains: first event of that PCR. */
        b = quoted;
        b.values[4][0] ^= 1;
        assert_int_equal(eventlog_replay_check(log, &b, (1u << 4) | (1u << 13), &mm), -EPERM);
        assert_int_equal(mm.pcr, 4);
        assert_false(mm.prefix_matches);
        assert_int_equal(mm.event_index, 2);

        /* PCRs outside the mask are not compared */
        assert_int_equal(eventlog_replay_check(log, &b, 1u << 13, &mm), 0);

        eventlog_free(shorter);
        eventlog_free(log);
        eventlog_free(hl);
        free(m.p);
}

/* A real firmware log: SeaBIOS in the lab (tests/attest/lab-bios-log.sh
 * saved it with the TPM's PCR values, tests/attest/data/). */
static void test_seabios_log(void **state)
{
        static const char *const sha256[8] = {
                "e21b703ee69c77476bccb43ec0336a9a1b2914b378944f7b00a10214ca8fea93",
                "dce1804dc8e33ea7761e9b07db5b18290aee550dfe25835b717ca069e341c3bc",
                "22c81553ac1b2c475f081ba0149354f68ff6123ac1bae1742006f894d2269241",
                "e21b703ee69c77476bccb43ec0336a9a1b2914b378944f7b00a10214ca8fea93",
                "1eb9aa21337cc1fa31ce5f56900d7bf59b9dda366823095aed06544caa2557ca",
                "e21b703ee69c77476bccb43ec0336a9a1b2914b378944f7b00a10214ca8fea93",
                "e21b703ee69c77476bccb43ec0336a9a1b2914b378944f7b00a10214ca8fea93",
                "e21b703ee69c77476bccb43ec0336a9a1b2914b378944f7b00a10214ca8fea93",
        };
        static const char *const sha1[8] = {
                "3a3f780f11a4b49969fcaa80cd6e3957c33b2275", "7ab69726ec5f91bc5e187fd30f1c6b69b6f6e75b",
                "3ef288550aaf4e70fb1d3c680fde4c85e0433591", "3a3f780f11a4b49969fcaa80cd6e3957c33b2275",
                "a9fdeb07a0c479c74e3db3e9493d2c3189766507", "3a3f780f11a4b49969fcaa80cd6e3957c33b2275",
                "3a3f780f11a4b49969fcaa80cd6e3957c33b2275", "3a3f780f11a4b49969fcaa80cd6e3957c33b2275",
        };
        const char *path = getenv("TVAM_TEST_SEABIOS_LOG");
        struct eventlog *log = NULL;
        struct pcr_bank b1, b256, expected;
        struct eventlog_mismatch mm;

        (void)state;
        if (!path)
                skip();
        assert_int_equal(eventlog_load(path, 0, &log), 0);
        assert_int_equal(log->n_events, 13);
        assert_int_equal(log->events[1].type, EV_ACTION);
        assert_int_equal(eventlog_replay(log, DIGEST_SHA1, SIZE_MAX, &b1), 0);
        assert_int_equal(eventlog_replay(log, DIGEST_SHA256, SIZE_MAX, &b256), 0);
        expected = b256;
        for (unsigned i = 0; i < 8; i++) {
                assert_hex(b1.values[i], 20, sha1[i]);
                assert_hex(b256.values[i], 32, sha256[i]);
                assert_int_equal(hex_decode_exact(sha256[i], expected.values[i], 32), 0);
        }
        assert_int_equal(eventlog_replay_check(log, &expected, 0xff, &mm), 0);
        /* PCR 4 as if the boot loader's event had not happened */
        expected.values[4][0] ^= 1;
        assert_int_equal(eventlog_replay_check(log, &expected, 0xff, &mm), -EPERM);
        assert_int_equal(mm.pcr, 4);
        eventlog_free(log);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_header_golden),
                cmocka_unit_test(test_record_golden_and_replay),
                cmocka_unit_test(test_startup_locality),
                cmocka_unit_test(test_every_truncation),
                cmocka_unit_test(test_malformed),
                cmocka_unit_test(test_tvam_event),
                cmocka_unit_test(test_writer_durable_torn),
                cmocka_unit_test(test_replay_check),
                cmocka_unit_test(test_seabios_log),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
