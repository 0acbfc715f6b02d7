/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TCG PC Client PFP crypto-agile event log: strict parser, replay, writer.
 * Section numbers refer to the TCG PC Client Platform Firmware Profile
 * Specification, Family 2.0, Level 00 Revision 1.05.
 */

#include "tvam/eventlog/eventlog.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tvam/shared/fileio.h"

/* §10.4.5.1: the signature of the Spec ID event of a crypto-agile log. */
static const char spec_id_signature[16] = "Spec ID Event03";
/* §10.4.5.3: EV_NO_ACTION event recording the H-CRTM/startup locality. */
static const char startup_locality_signature[16] = "StartupLocality";

/* The first record: TCG_PCR_EVENT with a SHA-1-sized digest field. */
#define PCR_EVENT_HEADER_SIZE (4u + 4u + 20u + 4u)
/* TCG_EfiSpecIDEvent up to and including numberOfAlgorithms. */
#define SPEC_ID_FIXED_SIZE (16u + 4u + 4u * 1u + 4u)

/* ---- little-endian cursor ------------------------------------------ */

struct cursor {
        const uint8_t *p;
        size_t size, off;
};

static bool cursor_take(struct cursor *c, size_t n, const uint8_t **ret)
{
        if (n > c->size - c->off)
                return false;
        *ret = c->p + c->off;
        c->off += n;
        return true;
}

static bool cursor_u8(struct cursor *c, uint8_t *ret)
{
        const uint8_t *p;
        if (!cursor_take(c, 1, &p))
                return false;
        *ret = p[0];
        return true;
}

static bool cursor_u16(struct cursor *c, uint16_t *ret)
{
        const uint8_t *p;
        if (!cursor_take(c, 2, &p))
                return false;
        *ret = (uint16_t)(p[0] | (p[1] << 8));
        return true;
}

static bool cursor_u32(struct cursor *c, uint32_t *ret)
{
        const uint8_t *p;
        if (!cursor_take(c, 4, &p))
                return false;
        *ret = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        return true;
}

static void put_u16(uint8_t *p, uint16_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
        p[2] = (uint8_t)(v >> 16);
        p[3] = (uint8_t)(v >> 24);
}

/* ---- parser -------------------------------------------------------- */

void eventlog_free(struct eventlog *log)
{
        if (!log)
                return;
        free(log->events);
        free(log->buffer);
        free(log);
}

/* The header record (§10.2.1 TCG_PCR_EVENT) and its Spec ID event. */
static int parse_header(struct eventlog *log, struct cursor *c, size_t *ret_error_offset)
{
        uint32_t pcr, type, data_size, n_algs;
        const uint8_t *digest, *sig, *vendor;
        uint8_t vendor_size;
        struct cursor d;
        const uint8_t *data;

#define BAD(at)                                                                                             \
        do {                                                                                                \
                if (ret_error_offset)                                                                       \
                        *ret_error_offset = (at);                                                           \
                return -EBADMSG;                                                                            \
        } while (0)

        if (!cursor_u32(c, &pcr) || !cursor_u32(c, &type) || !cursor_take(c, 20, &digest) ||
                !cursor_u32(c, &data_size))
                BAD(c->off);
        if (pcr != 0 || type != EV_NO_ACTION)
                /* A log whose first event is a measurement is the SHA-1 log
                 * format of TPM 1.2 firmware (§5.1). */
                return -EOPNOTSUPP;
        if (!cursor_take(c, data_size, &data))
                BAD(PCR_EVENT_HEADER_SIZE - 4);
        for (size_t i = 0; i < 20; i++)
                if (digest[i] != 0)
                        BAD(8 + i);

        d = (struct cursor){ .p = data, .size = data_size };
        if (!cursor_take(&d, 16, &sig))
                BAD(PCR_EVENT_HEADER_SIZE);
        if (memcmp(sig, spec_id_signature, sizeof(spec_id_signature)) != 0)
                return -EOPNOTSUPP;
        if (!cursor_u32(&d, &log->platform_class) || !cursor_u8(&d, &log->spec_version_minor) ||
                !cursor_u8(&d, &log->spec_version_major) || !cursor_u8(&d, &log->spec_errata) ||
                !cursor_u8(&d, &log->uintn_size) || !cursor_u32(&d, &n_algs))
                BAD(PCR_EVENT_HEADER_SIZE + d.off);
        if (log->spec_version_major != 2)
                BAD(PCR_EVENT_HEADER_SIZE + 21);
        if (n_algs == 0 || n_algs > EVENTLOG_BANKS_MAX)
                BAD(PCR_EVENT_HEADER_SIZE + 24);
        for (uint32_t i = 0; i < n_algs; i++) {
                struct eventlog_bank *b = &log->banks[i];
                if (!cursor_u16(&d, &b->alg) || !cursor_u16(&d, &b->size))
                        BAD(PCR_EVENT_HEADER_SIZE + d.off);
                if (b->size == 0 || b->size > DIGEST_MAX_SIZE)
                        BAD(PCR_EVENT_HEADER_SIZE + d.off - 2);
                /* A known algorithm must have its real size, or the replay
                 * would hash with one size and read with another. */
                if (digest_size(b->alg) != 0 && digest_size(b->alg) != b->size)
                        BAD(PCR_EVENT_HEADER_SIZE + d.off - 2);
                for (uint32_t j = 0; j < i; j++)
                        if (log->banks[j].alg == b->alg)
                                BAD(PCR_EVENT_HEADER_SIZE + d.off - 4);
        }
        log->n_banks = n_algs;
        if (!cursor_u8(&d, &vendor_size) || !cursor_take(&d, vendor_size, &vendor))
                BAD(PCR_EVENT_HEADER_SIZE + d.off);
        if (d.off != d.size)
                BAD(PCR_EVENT_HEADER_SIZE + d.off);
        return 0;
#undef BAD
}

static const struct eventlog_bank *find_bank(const struct eventlog *log, uint16_t alg)
{
        for (size_t i = 0; i < log->n_banks; i++)
                if (log->banks[i].alg == alg)
                        return &log->banks[i];
        return NULL;
}

/* One TCG_PCR_EVENT2 (§10.2.2).  -EBADMSG malformed; -ENODATA the record
 * runs past the end of the buffer (torn). */
static int parse_event(const struct eventlog *log, struct cursor *c, struct eventlog_event *e, size_t *ret_error_offset)
{
        uint32_t count;
        const uint8_t *p;

        e->offset = c->off;
        if (!cursor_u32(c, &e->pcr) || !cursor_u32(c, &e->type) || !cursor_u32(c, &count))
                return -ENODATA;
        /* PCR indices of a PC Client TPM are 0..23 (PTP §4.6); the log may
         * record EV_NO_ACTION events against any PCR but they are never
         * extended, so accept them only for 0..23 as well. */
        if (e->pcr >= PCR_COUNT) {
                *ret_error_offset = e->offset;
                return -EBADMSG;
        }
        /* §10.2.2: digests.count is the number of banks; every bank of the
         * Spec ID event appears once. */
        if (count != log->n_banks) {
                *ret_error_offset = e->offset + 8;
                return -EBADMSG;
        }
        e->n_digests = count;
        for (uint32_t i = 0; i < count; i++) {
                struct eventlog_digest *dg = &e->digests[i];
                const struct eventlog_bank *b;
                size_t at = c->off;

                if (!cursor_u16(c, &dg->alg))
                        return -ENODATA;
                b = find_bank(log, dg->alg);
                if (!b) {
                        *ret_error_offset = at;
                        return -EBADMSG;
                }
                for (uint32_t j = 0; j < i; j++)
                        if (e->digests[j].alg == dg->alg) {
                                *ret_error_offset = at;
                                return -EBADMSG;
                        }
                dg->size = b->size;
                if (!cursor_take(c, b->size, &p))
                        return -ENODATA;
                memcpy(dg->value, p, b->size);
        }
        if (!cursor_u32(c, &e->data_size))
                return -ENODATA;
        if (e->data_size > EVENTLOG_EVENT_DATA_MAX) {
                *ret_error_offset = c->off - 4;
                return -EBADMSG;
        }
        if (!cursor_take(c, e->data_size, &p))
                return -ENODATA;
        e->data = p;
        return 0;
}

int eventlog_parse(const void *buf, size_t size, unsigned flags, struct eventlog **ret, size_t *ret_error_offset)
{
        _cleanup_eventlog_ struct eventlog *log = NULL;
        struct cursor c;
        size_t capacity = 0, error_offset = 0;
        int r;

        assert(buf || size == 0);
        assert(ret);

        if (size > EVENTLOG_SIZE_MAX)
                return -EFBIG;
        log = calloc(1, sizeof(*log));
        if (!log)
                return -ENOMEM;
        log->buffer = malloc(size ? size : 1);
        if (!log->buffer)
                return -ENOMEM;
        if (size)
                memcpy(log->buffer, buf, size);
        log->buffer_size = size;

        c = (struct cursor){ .p = log->buffer, .size = size };
        r = parse_header(log, &c, &error_offset);
        if (r < 0) {
                if (ret_error_offset)
                        *ret_error_offset = error_offset;
                return r;
        }

        /* One allocation sized for the most records the remaining bytes can
         * hold (pages never written cost nothing), no realloc copying.
         * Measured: sizing it exactly (a length pre-walk) made a verifier 5x
         * slower on this platform (perf: brk and page faults) — glibc then
         * apparently serves the ~600 KiB of a
         * 1,000-event log from the heap top and trims it on every free, so
         * each parse page-faults it in again. */
        {
                size_t min_record = 12 + 4;
                for (size_t i = 0; i < log->n_banks; i++)
                        min_record += 2 + log->banks[i].size;
                capacity = (c.size - c.off) / min_record + 1;
                log->events = reallocarray(NULL, capacity, sizeof(*log->events));
                if (!log->events)
                        return -ENOMEM;
        }
        while (c.off < c.size) {
                struct eventlog_event *e;
                size_t start = c.off;

                assert(log->n_events < capacity);
                e = &log->events[log->n_events];
                r = parse_event(log, &c, e, &error_offset);
                if (r == -ENODATA) {
                        if (!(flags & EVENTLOG_PARSE_TORN_TAIL)) {
                                if (ret_error_offset)
                                        *ret_error_offset = start;
                                return -EBADMSG;
                        }
                        log->torn_tail = true;
                        c.off = start;
                        break;
                }
                if (r < 0) {
                        if (ret_error_offset)
                                *ret_error_offset = error_offset;
                        return r;
                }
                log->n_events++;
        }
        log->valid_size = c.off;

        *ret = TAKE_PTR(log);
        return 0;
}

/* securityfs files report st_size 0: read to EOF in growing chunks. */
static int read_to_eof(const char *path, uint8_t **ret, size_t *ret_size)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t size = 0, allocated = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t n;
                if (allocated - size < 4096) {
                        size_t a = allocated ? allocated * 2 : 65536;
                        uint8_t *p;
                        if (a > EVENTLOG_SIZE_MAX + 4096u)
                                return -EFBIG;
                        p = realloc(buf, a);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                        allocated = a;
                }
                n = read(fd, buf + size, allocated - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                size += (size_t)n;
                if (size > EVENTLOG_SIZE_MAX)
                        return -EFBIG;
        }
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

int eventlog_load(const char *path, unsigned flags, struct eventlog **ret)
{
        _cleanup_free_ uint8_t *buf = NULL;
        size_t size = 0;
        int r;

        assert(path && ret);
        r = read_to_eof(path, &buf, &size);
        if (r < 0)
                return r;
        return eventlog_parse(buf, size, flags, ret, NULL);
}

const struct eventlog_digest *eventlog_event_digest(const struct eventlog_event *event, uint16_t alg)
{
        assert(event);
        for (size_t i = 0; i < event->n_digests; i++)
                if (event->digests[i].alg == alg)
                        return &event->digests[i];
        return NULL;
}

int eventlog_has_bank(const struct eventlog *log, uint16_t alg)
{
        assert(log);
        return find_bank(log, alg) != NULL;
}

const char *eventlog_event_type_to_string(uint32_t type)
{
        static const struct {
                uint32_t type;
                const char *name;
        } names[] = {
                { EV_PREBOOT_CERT, "EV_PREBOOT_CERT" },
                { EV_POST_CODE, "EV_POST_CODE" },
                { 0x00000002, "EV_UNUSED" },
                { EV_NO_ACTION, "EV_NO_ACTION" },
                { EV_SEPARATOR, "EV_SEPARATOR" },
                { EV_ACTION, "EV_ACTION" },
                { EV_EVENT_TAG, "EV_EVENT_TAG" },
                { EV_S_CRTM_CONTENTS, "EV_S_CRTM_CONTENTS" },
                { EV_S_CRTM_VERSION, "EV_S_CRTM_VERSION" },
                { EV_CPU_MICROCODE, "EV_CPU_MICROCODE" },
                { EV_PLATFORM_CONFIG_FLAGS, "EV_PLATFORM_CONFIG_FLAGS" },
                { EV_TABLE_OF_DEVICES, "EV_TABLE_OF_DEVICES" },
                { EV_COMPACT_HASH, "EV_COMPACT_HASH" },
                { EV_IPL, "EV_IPL" },
                { EV_IPL_PARTITION_DATA, "EV_IPL_PARTITION_DATA" },
                { EV_NONHOST_CODE, "EV_NONHOST_CODE" },
                { EV_NONHOST_CONFIG, "EV_NONHOST_CONFIG" },
                { EV_NONHOST_INFO, "EV_NONHOST_INFO" },
                { EV_OMIT_BOOT_DEVICE_EVENTS, "EV_OMIT_BOOT_DEVICE_EVENTS" },
                { 0x80000001, "EV_EFI_VARIABLE_DRIVER_CONFIG" },
                { 0x80000002, "EV_EFI_VARIABLE_BOOT" },
                { 0x80000003, "EV_EFI_BOOT_SERVICES_APPLICATION" },
                { 0x80000004, "EV_EFI_BOOT_SERVICES_DRIVER" },
                { 0x80000005, "EV_EFI_RUNTIME_SERVICES_DRIVER" },
                { 0x80000006, "EV_EFI_GPT_EVENT" },
                { 0x80000007, "EV_EFI_ACTION" },
                { 0x80000008, "EV_EFI_PLATFORM_FIRMWARE_BLOB" },
                { 0x80000009, "EV_EFI_HANDOFF_TABLES" },
                { 0x8000000A, "EV_EFI_PLATFORM_FIRMWARE_BLOB2" },
                { 0x8000000B, "EV_EFI_HANDOFF_TABLES2" },
                { 0x8000000C, "EV_EFI_VARIABLE_BOOT2" },
                { 0x800000E0, "EV_EFI_VARIABLE_AUTHORITY" },
                { 0x800000E1, "EV_EFI_SPDM_FIRMWARE_BLOB" },
                { 0x800000E2, "EV_EFI_SPDM_FIRMWARE_CONFIG" },
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (names[i].type == type)
                        return names[i].name;
        return "unknown";
}

/* ---- replay -------------------------------------------------------- */

/* One reusable hasher per algorithm and thread: a verifier replays
 * thousands of events per evidence (digest.h "digest_hasher").  Kept in
 * thread-specific data whose destructor frees them when a thread exits. */
struct hashers {
        struct digest_hasher *h[4];
};

static pthread_key_t hashers_key;
static pthread_once_t hashers_once = PTHREAD_ONCE_INIT;
static bool hashers_key_ok;

static void hashers_free(void *p)
{
        struct hashers *hs = p;
        for (size_t i = 0; i < ELEMENTSOF(hs->h); i++)
                digest_hasher_free(hs->h[i]);
        free(hs);
}

static void hashers_key_init(void)
{
        hashers_key_ok = pthread_key_create(&hashers_key, hashers_free) == 0;
}

static struct digest_hasher *hasher_get(enum digest_alg alg)
{
        struct hashers *hs;
        size_t i;

        switch (alg) {
        case DIGEST_SHA1: i = 0; break;
        case DIGEST_SHA256: i = 1; break;
        case DIGEST_SHA384: i = 2; break;
        case DIGEST_SHA512: i = 3; break;
        default: return NULL;
        }
        if (pthread_once(&hashers_once, hashers_key_init) != 0 || !hashers_key_ok)
                return NULL;
        hs = pthread_getspecific(hashers_key);
        if (!hs) {
                hs = calloc(1, sizeof(*hs));
                if (!hs)
                        return NULL;
                if (pthread_setspecific(hashers_key, hs) != 0) {
                        free(hs);
                        return NULL;
                }
        }
        if (!hs->h[i] && digest_hasher_new(alg, &hs->h[i]) < 0)
                return NULL;
        return hs->h[i];
}

/* PCR = H(PCR || digest) (TPM 2.0 Part 3 §22.2). */
static int extend(struct digest_hasher *h, struct pcr_bank *bank, unsigned pcr, const uint8_t *digest, size_t size)
{
        if (!pcr_index_valid(pcr))
                return -EINVAL;
        return digest_hasher_two(h, bank->values[pcr], size, digest, size, bank->values[pcr]);
}

int eventlog_replay(const struct eventlog *log, enum digest_alg alg, size_t n_events, struct pcr_bank *ret)
{
        struct digest_hasher *h;
        struct pcr_bank bank;
        size_t size = digest_size(alg);
        int r;

        assert(log && ret);
        if (size == 0)
                return -EOPNOTSUPP;
        if (!find_bank(log, (uint16_t)alg))
                return -ENOENT;
        h = hasher_get(alg);
        if (!h)
                return -ENOMEM;
        r = pcr_bank_init_static_boot(&bank, alg);
        if (r < 0)
                return r;
        if (n_events > log->n_events)
                n_events = log->n_events;

        for (size_t i = 0; i < n_events; i++) {
                const struct eventlog_event *e = &log->events[i];
                const struct eventlog_digest *d;

                if (e->type == EV_NO_ACTION) {
                        /* §10.4.5.3: TCG_EfiStartupLocalityEvent {signature[16],
                         * u8 locality} sets PCR 0's initial value to
                         * 00..00 || locality (only before PCR 0 is extended). */
                        if (e->pcr == 0 && e->data_size == 17 &&
                                memcmp(e->data, startup_locality_signature, 16) == 0) {
                                memset(bank.values[0], 0, size);
                                bank.values[0][size - 1] = e->data[16];
                        }
                        continue;
                }
                d = eventlog_event_digest(e, (uint16_t)alg);
                if (!d)
                        return -EBADMSG;
                r = extend(h, &bank, e->pcr, d->value, d->size);
                if (r < 0)
                        return r;
        }
        *ret = bank;
        return 0;
}

int eventlog_replay_check(const struct eventlog *log, const struct pcr_bank *expected, uint32_t mask,
        struct eventlog_mismatch *ret_mismatch)
{
        struct eventlog_mismatch m = { .event_index = SIZE_MAX };
        struct pcr_bank replayed, partial;
        size_t size = digest_size(expected->alg);
        uint32_t diff;
        int r;

        assert(log && expected);
        r = eventlog_replay(log, expected->alg, SIZE_MAX, &replayed);
        if (r < 0)
                return r;
        r = pcr_bank_diff(&replayed, expected, mask, &diff);
        if (r < 0)
                return r;
        if (diff == 0)
                return 0;
        if (!ret_mismatch)
                return -EPERM;

        m.diff_mask = diff;
        m.pcr = (unsigned)__builtin_ctz(diff);
        memcpy(m.replayed, replayed.values[m.pcr], size);
        memcpy(m.expected, expected->values[m.pcr], size);

        /* Find the first event after which PCR's replay stops matching: if
         * the expected value equals the replay of a prefix of PCR's events,
         * the events after that prefix are the ones the TPM never saw. */
        r = pcr_bank_init_static_boot(&partial, expected->alg);
        if (r < 0)
                return r;
        for (size_t i = 0; i < log->n_events; i++) {
                const struct eventlog_event *e = &log->events[i];
                const struct eventlog_digest *d;

                if (e->pcr != m.pcr || e->type == EV_NO_ACTION)
                        continue;
                if (m.n_pcr_events == 0)
                        m.event_index = i;
                if (memcmp(partial.values[m.pcr], m.expected, size) == 0 && !m.prefix_matches) {
                        m.prefix_matches = true;
                        m.event_index = i;
                }
                m.n_pcr_events++;
                d = eventlog_event_digest(e, (uint16_t)expected->alg);
                if (!d)
                        return -EBADMSG;
                r = pcr_extend(&partial, m.pcr, d->value, d->size); /* diagnosis only: not hot */
                if (r < 0)
                        return r;
        }
        /* PCR 0 may start at a locality, which the prefix search above
         * ignores; the first-event answer is then the conservative one. */
        *ret_mismatch = m;
        return -EPERM;
}

/* ---- writer -------------------------------------------------------- */

int eventlog_header_build(const enum digest_alg *banks, size_t n_banks, uint8_t **ret, size_t *ret_size)
{
        size_t spec_size, size;
        uint8_t *buf, *p;

        assert(banks || n_banks == 0);
        assert(ret && ret_size);
        if (n_banks == 0 || n_banks > EVENTLOG_BANKS_MAX)
                return -EINVAL;
        for (size_t i = 0; i < n_banks; i++) {
                if (digest_size(banks[i]) == 0)
                        return -EOPNOTSUPP;
                for (size_t j = 0; j < i; j++)
                        if (banks[j] == banks[i])
                                return -EINVAL;
        }

        spec_size = SPEC_ID_FIXED_SIZE + 4 * n_banks + 1;
        size = PCR_EVENT_HEADER_SIZE + spec_size;
        buf = calloc(1, size);
        if (!buf)
                return -ENOMEM;
        p = buf;
        put_u32(p, 0); /* pcrIndex */
        put_u32(p + 4, EV_NO_ACTION);
        /* digest[20] stays zero (§10.4.5.1) */
        put_u32(p + 28, (uint32_t)spec_size);
        p += PCR_EVENT_HEADER_SIZE;
        memcpy(p, spec_id_signature, 16);
        put_u32(p + 16, 0); /* platformClass: client */
        p[20] = 0;          /* specVersionMinor */
        p[21] = 2;          /* specVersionMajor */
        p[22] = 0;          /* specErrata */
        p[23] = 2;          /* uintnSize: UINT64 (§10.4.5.1) */
        put_u32(p + 24, (uint32_t)n_banks);
        p += 28;
        for (size_t i = 0; i < n_banks; i++, p += 4) {
                put_u16(p, (uint16_t)banks[i]);
                put_u16(p + 2, (uint16_t)digest_size(banks[i]));
        }
        *p = 0; /* vendorInfoSize */

        *ret = buf;
        *ret_size = size;
        return 0;
}

int eventlog_record_build(const struct eventlog *header_log, uint32_t pcr, uint32_t type, const void *data,
        size_t data_size, const uint8_t *const *digests, uint8_t **ret, size_t *ret_size)
{
        _cleanup_free_ uint8_t *buf = NULL;
        size_t size = 12 + 4;
        uint8_t *p;
        int r;

        assert(header_log && ret && ret_size);
        assert(data || data_size == 0);
        if (!pcr_index_valid(pcr) || data_size > EVENTLOG_EVENT_DATA_MAX)
                return -EINVAL;
        for (size_t i = 0; i < header_log->n_banks; i++) {
                if (!digests && digest_size(header_log->banks[i].alg) == 0)
                        return -EOPNOTSUPP; /* cannot hash with an unknown algorithm */
                size += 2 + header_log->banks[i].size;
        }
        size += data_size;

        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        p = buf;
        put_u32(p, pcr);
        put_u32(p + 4, type);
        put_u32(p + 8, (uint32_t)header_log->n_banks);
        p += 12;
        for (size_t i = 0; i < header_log->n_banks; i++) {
                const struct eventlog_bank *b = &header_log->banks[i];
                put_u16(p, b->alg);
                p += 2;
                if (digests)
                        memcpy(p, digests[i], b->size);
                else {
                        r = digest_buffer(b->alg, data ? data : (const void *)"", data_size, p);
                        if (r < 0)
                                return r;
                }
                p += b->size;
        }
        put_u32(p, (uint32_t)data_size);
        if (data_size)
                memcpy(p + 4, data, data_size);

        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

struct eventlog_writer {
        int fd;
        struct eventlog *header; /* banks of the open log (events not kept) */
};

void eventlog_writer_free(struct eventlog_writer *w)
{
        if (!w)
                return;
        closep(&w->fd);
        eventlog_free(w->header);
        free(w);
}

size_t eventlog_writer_banks(const struct eventlog_writer *w, const struct eventlog_bank **ret_banks)
{
        assert(w && ret_banks);
        *ret_banks = w->header->banks;
        return w->header->n_banks;
}

static int fsync_parent(const char *path)
{
        _cleanup_free_ char *dir = strdup(path);
        _cleanup_close_ int fd = -1;
        char *slash;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash)
                strcpy(dir, ".");
        else if (slash == dir)
                dir[1] = 0;
        else
                *slash = 0;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return fsync(fd) < 0 ? -errno : 0;
}

int eventlog_writer_open(const char *path, const enum digest_alg *banks, size_t n_banks,
        struct eventlog_writer **ret)
{
        _cleanup_(eventlog_writer_freep) struct eventlog_writer *w = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        struct stat st;
        size_t size;
        int r;

        assert(path && ret);

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (w->fd < 0)
                return -errno;
        if (flock(w->fd, LOCK_EX) < 0)
                return -errno;
        if (fstat(w->fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;

        if (st.st_size == 0) {
                /* New log: the header goes in first and is made durable,
                 * with the directory entry, before any event. */
                r = eventlog_header_build(banks, n_banks, &buf, &size);
                if (r < 0)
                        return r;
                r = write_all(w->fd, buf, size);
                if (r < 0)
                        return r;
                if (fsync(w->fd) < 0)
                        return -errno;
                r = fsync_parent(path);
                if (r < 0)
                        return r;
        } else {
                ssize_t n;
                if ((uint64_t)st.st_size > EVENTLOG_SIZE_MAX)
                        return -EFBIG;
                size = (size_t)st.st_size;
                buf = malloc(size);
                if (!buf)
                        return -ENOMEM;
                if (lseek(w->fd, 0, SEEK_SET) < 0)
                        return -errno;
                n = loop_read(w->fd, buf, size);
                if (n < 0)
                        return (int)n;
                if ((size_t)n != size)
                        return -EIO;
        }

        r = eventlog_parse(buf, size, EVENTLOG_PARSE_TORN_TAIL, &w->header, NULL);
        if (r < 0)
                return r;
        if (w->header->torn_tail) {
                /* A crash interrupted the last append before its fsync
                 * returned, so its PCR was never extended: drop it. */
                if (ftruncate(w->fd, (off_t)w->header->valid_size) < 0)
                        return -errno;
                if (fsync(w->fd) < 0)
                        return -errno;
        }
        for (size_t i = 0; i < n_banks; i++)
                if (!find_bank(w->header, (uint16_t)banks[i]))
                        return -EINVAL;
        /* Keep only the banks; the events are not needed for appending. */
        free(w->header->events);
        w->header->events = NULL;
        w->header->n_events = 0;
        if (lseek(w->fd, (off_t)w->header->valid_size, SEEK_SET) < 0)
                return -errno;

        *ret = TAKE_PTR(w);
        return 0;
}

int eventlog_writer_append(struct eventlog_writer *w, uint32_t pcr, uint32_t type, const void *data,
        size_t data_size, const uint8_t *const *digests)
{
        _cleanup_free_ uint8_t *rec = NULL;
        size_t size;
        off_t end;
        int r;

        assert(w);
        r = eventlog_record_build(w->header, pcr, type, data, data_size, digests, &rec, &size);
        if (r < 0)
                return r;
        end = lseek(w->fd, 0, SEEK_END);
        if (end < 0)
                return -errno;
        r = write_all(w->fd, rec, size);
        if (r < 0) {
                /* Leave no partial record behind when we can help it. */
                (void)ftruncate(w->fd, end);
                return r;
        }
        if (fsync(w->fd) < 0)
                return -errno;
        return 0;
}

/* ---- TVAM events --------------------------------------------------- */

const char *eventlog_tvam_kind_to_string(enum eventlog_tvam_kind kind)
{
        switch (kind) {
        case EVENTLOG_TVAM_APPLICATION:
                return "application";
        case EVENTLOG_TVAM_BASE_IMAGE:
                return "base-image";
        case EVENTLOG_TVAM_MODE:
                return "mode";
        }
        return NULL;
}

int eventlog_tvam_encode(const struct eventlog_tvam_event *e, uint8_t **ret, size_t *ret_size)
{
        size_t name_len, id_len, tagged, size;
        uint8_t *buf, *p;

        assert(e && ret && ret_size);
        name_len = strnlen(e->name, sizeof(e->name));
        id_len = strnlen(e->identity, sizeof(e->identity));
        if (!eventlog_tvam_kind_to_string(e->kind) || name_len == 0 || name_len > EVENTLOG_TVAM_NAME_MAX ||
                id_len == 0 || id_len > EVENTLOG_TVAM_IDENTITY_MAX || e->config_size > EVENTLOG_TVAM_CONFIG_MAX)
                return -EINVAL;

        tagged = 2 + 2 + 2 + name_len + 2 + id_len + 2 + e->config_size;
        size = 8 + tagged;
        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        p = buf;
        put_u32(p, EVENTLOG_TVAM_TAG);
        put_u32(p + 4, (uint32_t)tagged);
        p += 8;
        put_u16(p, EVENTLOG_TVAM_VERSION);
        put_u16(p + 2, (uint16_t)e->kind);
        p += 4;
        put_u16(p, (uint16_t)name_len);
        memcpy(p + 2, e->name, name_len);
        p += 2 + name_len;
        put_u16(p, (uint16_t)id_len);
        memcpy(p + 2, e->identity, id_len);
        p += 2 + id_len;
        put_u16(p, (uint16_t)e->config_size);
        if (e->config_size)
                memcpy(p + 2, e->config, e->config_size);

        *ret = buf;
        *ret_size = size;
        return 0;
}

/* A length-prefixed text field: no NUL inside, 1..MAX bytes; *RET points
 * into the cursor's buffer. */
static bool take_text(struct cursor *c, size_t max, const char **ret, size_t *ret_size)
{
        uint16_t len;
        const uint8_t *p;

        if (!cursor_u16(c, &len) || len == 0 || len > max || !cursor_take(c, len, &p))
                return false;
        if (memchr(p, 0, len))
                return false;
        *ret = (const char *)p;
        *ret_size = len;
        return true;
}

int eventlog_tvam_decode_ref(const void *data, size_t size, struct eventlog_tvam_ref *ret)
{
        struct eventlog_tvam_ref e;
        struct cursor c = { .p = data, .size = size };
        uint32_t tag, tagged;
        uint16_t version, kind, config_len;

        assert(data || size == 0);
        assert(ret);
        if (!cursor_u32(&c, &tag) || !cursor_u32(&c, &tagged))
                return -EBADMSG;
        if (tag != EVENTLOG_TVAM_TAG)
                return -ENOMSG;
        if (tagged != size - 8)
                return -EBADMSG;
        if (!cursor_u16(&c, &version) || !cursor_u16(&c, &kind))
                return -EBADMSG;
        if (version != EVENTLOG_TVAM_VERSION || !eventlog_tvam_kind_to_string((enum eventlog_tvam_kind)kind))
                return -EBADMSG;
        e.kind = (enum eventlog_tvam_kind)kind;
        if (!take_text(&c, EVENTLOG_TVAM_NAME_MAX, &e.name, &e.name_size) ||
                !take_text(&c, EVENTLOG_TVAM_IDENTITY_MAX, &e.identity, &e.identity_size))
                return -EBADMSG;
        if (!cursor_u16(&c, &config_len) || config_len > EVENTLOG_TVAM_CONFIG_MAX ||
                !cursor_take(&c, config_len, &e.config))
                return -EBADMSG;
        e.config_size = config_len;
        if (c.off != c.size)
                return -EBADMSG;
        *ret = e;
        return 0;
}

/* The owned copy of a decoded event. */
static void tvam_event_from_ref(const struct eventlog_tvam_ref *ref, struct eventlog_tvam_event *ret)
{
        ret->kind = ref->kind;
        memcpy(ret->name, ref->name, ref->name_size);
        ret->name[ref->name_size] = 0;
        memcpy(ret->identity, ref->identity, ref->identity_size);
        ret->identity[ref->identity_size] = 0;
        if (ref->config_size)
                memcpy(ret->config, ref->config, ref->config_size);
        ret->config_size = ref->config_size;
}

int eventlog_tvam_decode(const void *data, size_t size, struct eventlog_tvam_event *ret)
{
        struct eventlog_tvam_ref ref;
        int r;

        assert(ret);
        r = eventlog_tvam_decode_ref(data, size, &ref);
        if (r < 0)
                return r;
        tvam_event_from_ref(&ref, ret);
        return 0;
}

/* H(identity || config) in bank ALG (docs/eventlog.md "TVAM events"). */
static int tvam_digest(const char *identity, size_t identity_size, const uint8_t *config, size_t config_size,
        enum digest_alg alg, uint8_t *ret)
{
        struct digest_hasher *h;

        if (digest_size(alg) == 0)
                return -EOPNOTSUPP;
        h = hasher_get(alg);
        if (!h)
                return -ENOMEM;
        return digest_hasher_two(h, identity, identity_size, config, config_size, ret);
}

int eventlog_tvam_digest(const struct eventlog_tvam_event *e, enum digest_alg alg, uint8_t *ret)
{
        assert(e && ret);
        return tvam_digest(e->identity, strlen(e->identity), e->config, e->config_size, alg, ret);
}

int eventlog_writer_append_tvam(struct eventlog_writer *w, uint32_t pcr, const struct eventlog_tvam_event *e)
{
        _cleanup_free_ uint8_t *data = NULL;
        uint8_t digests[EVENTLOG_BANKS_MAX][DIGEST_MAX_SIZE];
        const uint8_t *ptrs[EVENTLOG_BANKS_MAX];
        size_t size;
        int r;

        assert(w && e);
        r = eventlog_tvam_encode(e, &data, &size);
        if (r < 0)
                return r;
        for (size_t i = 0; i < w->header->n_banks; i++) {
                r = eventlog_tvam_digest(e, w->header->banks[i].alg, digests[i]);
                if (r < 0)
                        return r;
                ptrs[i] = digests[i];
        }
        return eventlog_writer_append(w, pcr, EV_EVENT_TAG, data, size, ptrs);
}

int eventlog_tvam_event_verify_ref(const struct eventlog_event *event, struct eventlog_tvam_ref *ret)
{
        struct eventlog_tvam_ref e;
        uint8_t digest[DIGEST_MAX_SIZE];
        int r;

        assert(event && ret);
        if (event->type != EV_EVENT_TAG)
                return -ENOMSG;
        r = eventlog_tvam_decode_ref(event->data, event->data_size, &e);
        if (r < 0)
                return r;
        for (size_t i = 0; i < event->n_digests; i++) {
                const struct eventlog_digest *d = &event->digests[i];
                if (digest_size(d->alg) == 0)
                        continue; /* a bank we cannot compute; replay cannot use it either */
                r = tvam_digest(e.identity, e.identity_size, e.config, e.config_size, d->alg, digest);
                if (r < 0)
                        return r;
                if (memcmp(digest, d->value, d->size) != 0)
                        return -EPERM;
        }
        *ret = e;
        return 0;
}

int eventlog_tvam_event_verify(const struct eventlog_event *event, struct eventlog_tvam_event *ret)
{
        struct eventlog_tvam_ref ref;
        int r;

        assert(ret);
        r = eventlog_tvam_event_verify_ref(event, &ref);
        if (r < 0)
                return r;
        tvam_event_from_ref(&ref, ret);
        return 0;
}
