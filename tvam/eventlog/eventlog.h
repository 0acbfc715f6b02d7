/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * The TCG PC Client Platform Firmware Profile crypto-agile event log
 * (TCG PC Client PFP Specification 1.05, §10.2 TCG_PCR_EVENT, §10.2.2
 * TCG_PCR_EVENT2, §10.4.5.1 TCG_EfiSpecIDEvent "Spec ID Event03").
 *
 * Layout (all integers little-endian, PFP §10.2):
 *
 *   TCG_PCR_EVENT   pcrIndex=0 u32, eventType=EV_NO_ACTION u32, digest[20]=0,
 *                   eventDataSize u32, TCG_EfiSpecIDEvent (lists the banks
 *                   and their digest sizes)
 *   TCG_PCR_EVENT2  pcrIndex u32, eventType u32,
 *                   TPML_DIGEST_VALUES (count u32, {hashAlg u16, digest}),
 *                   eventSize u32, event[eventSize]
 *   ...
 *
 * Used by TVAM (PCR 13/15), the initramfs (PCR 14), the policy predictor
 * (replay of /sys/kernel/security/tpm0/binary_bios_measurements) and the
 * verifier.  See docs/eventlog.md, which also documents the TVAM event data
 * format (EV_EVENT_TAG, below).
 *
 * The parser never trusts a length: every field is bounds-checked against
 * the buffer, and the sizes of digests come from the Spec ID event only.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/pcr/pcr.h"
#include "tvam/shared/digest.h"
#include "tvam/shared/macro.h"

/* Event types (PFP §10.4.1). */
#define EV_PREBOOT_CERT UINT32_C(0x00000000)
#define EV_POST_CODE UINT32_C(0x00000001)
#define EV_NO_ACTION UINT32_C(0x00000003)
#define EV_SEPARATOR UINT32_C(0x00000004)
#define EV_ACTION UINT32_C(0x00000005)
#define EV_EVENT_TAG UINT32_C(0x00000006)
#define EV_S_CRTM_CONTENTS UINT32_C(0x00000007)
#define EV_S_CRTM_VERSION UINT32_C(0x00000008)
#define EV_CPU_MICROCODE UINT32_C(0x00000009)
#define EV_PLATFORM_CONFIG_FLAGS UINT32_C(0x0000000A)
#define EV_TABLE_OF_DEVICES UINT32_C(0x0000000B)
#define EV_COMPACT_HASH UINT32_C(0x0000000C)
#define EV_IPL UINT32_C(0x0000000D)
#define EV_IPL_PARTITION_DATA UINT32_C(0x0000000E)
#define EV_NONHOST_CODE UINT32_C(0x0000000F)
#define EV_NONHOST_CONFIG UINT32_C(0x00000010)
#define EV_NONHOST_INFO UINT32_C(0x00000011)
#define EV_OMIT_BOOT_DEVICE_EVENTS UINT32_C(0x00000012)
#define EV_EFI_EVENT_BASE UINT32_C(0x80000000)

/* Limits.  A log larger than this is refused (a firmware log is a few tens
 * of KiB; TVAM's grows by ~200 bytes per application start). */
#define EVENTLOG_SIZE_MAX (64u * 1024u * 1024u)
#define EVENTLOG_EVENT_DATA_MAX (16u * 1024u * 1024u)
/* At most this many banks in one log (the TPM 2.0 algorithm registry has
 * fewer hash algorithms than this). */
#define EVENTLOG_BANKS_MAX 8u

/* One bank of the log: TPM_ALG_ID and digest size as the Spec ID event
 * declares them.  ALG may be an algorithm digest.h does not know (e.g.
 * SM3_256); such banks are parsed but cannot be replayed. */
struct eventlog_bank {
        uint16_t alg;
        uint16_t size;
};

struct eventlog_digest {
        uint16_t alg;
        uint16_t size;
        uint8_t value[DIGEST_MAX_SIZE];
};

/* One TCG_PCR_EVENT2.  DATA points into the buffer the log was parsed from
 * (or into the log's own copy, see eventlog_parse()). */
struct eventlog_event {
        uint32_t pcr;
        uint32_t type;
        size_t n_digests;
        struct eventlog_digest digests[EVENTLOG_BANKS_MAX];
        const uint8_t *data;
        uint32_t data_size;
        size_t offset; /* byte offset of the record in the log */
};

struct eventlog {
        /* From the Spec ID event. */
        uint32_t platform_class;
        uint8_t spec_version_major, spec_version_minor, spec_errata, uintn_size;
        size_t n_banks;
        struct eventlog_bank banks[EVENTLOG_BANKS_MAX];

        size_t n_events;
        struct eventlog_event *events;

        /* Bytes of the buffer that hold whole records; less than the input
         * size only when a torn tail was accepted (EVENTLOG_PARSE_TORN_TAIL). */
        size_t valid_size;
        bool torn_tail;

        uint8_t *buffer; /* owned copy of the log bytes */
        size_t buffer_size;
};

enum {
        /* A last record that ends beyond the end of the buffer (an append
         * interrupted by a crash) is ignored instead of refused.  Every
         * earlier record must be complete and well-formed. */
        EVENTLOG_PARSE_TORN_TAIL = 1u << 0,
};

/*
 * Parse a crypto-agile log.  The bytes are copied; the result does not
 * reference BUF.
 *
 * Returns 0, -EBADMSG for a malformed log (with the offending byte offset
 * in *ret_error_offset if given; never a crash or an over-read),
 * -EOPNOTSUPP for a SHA-1-only (pre-TPM 2.0) log without a Spec ID event,
 * -EFBIG above EVENTLOG_SIZE_MAX, -ENOMEM.
 */
int eventlog_parse(const void *buf, size_t size, unsigned flags, struct eventlog **ret, size_t *ret_error_offset);

/* Read and parse a log file (e.g. binary_bios_measurements, which cannot be
 * stat'ed for its size: the file is read to EOF). */
int eventlog_load(const char *path, unsigned flags, struct eventlog **ret);

void eventlog_free(struct eventlog *log);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct eventlog *, eventlog_free)
#define _cleanup_eventlog_ _cleanup_(eventlog_freep)

/* The digest of bank ALG in EVENT, or NULL when the event has none. */
const struct eventlog_digest *eventlog_event_digest(const struct eventlog_event *event, uint16_t alg);

/* 1 if the log declares bank ALG, else 0. */
int eventlog_has_bank(const struct eventlog *log, uint16_t alg);

/* "EV_IPL", "EV_EFI_BOOT_SERVICES_APPLICATION", ...; "unknown" otherwise. */
const char *eventlog_event_type_to_string(uint32_t type);

/* ---- Replay ---------------------------------------------------------- */

/*
 * Compute the PCR values of bank ALG from the first N_EVENTS events
 * (SIZE_MAX: all).  The initial values are those of TPM2_Startup(CLEAR):
 * zero, PCR 17–22 all-ones (a static boot), and PCR 0 = the locality of an
 * EV_NO_ACTION "StartupLocality" event when the log has one (PFP §10.4.5.3).
 * EV_NO_ACTION events are not extended (PFP §10.4.1).
 *
 * -EOPNOTSUPP if digest.h does not know ALG, -ENOENT if the log has no such
 * bank, -EBADMSG if an extending event lacks ALG's digest.
 */
int eventlog_replay(const struct eventlog *log, enum digest_alg alg, size_t n_events, struct pcr_bank *ret);

/* Result of comparing a replay with given PCR values. */
struct eventlog_mismatch {
        unsigned pcr;        /* the lowest PCR in MASK whose replay differs */
        uint32_t diff_mask;  /* every PCR in MASK that differs */
        size_t n_pcr_events; /* events of the log that extend PCR */
        /* The index (into log->events) of the first event after which the
         * replay of PCR no longer matches EXPECTED, i.e.:
         *   - when a prefix of PCR's events reproduces the expected value,
         *     the first event after that prefix (the log has events that
         *     the TPM did not see), with prefix_matches = true;
         *   - otherwise the first event of PCR (an event was altered, removed
         *     or never logged), prefix_matches = false;
         *   - SIZE_MAX when the log has no event for PCR. */
        size_t event_index;
        bool prefix_matches;
        uint8_t replayed[DIGEST_MAX_SIZE];
        uint8_t expected[DIGEST_MAX_SIZE];
};

/*
 * Replay all events of bank EXPECTED->alg and compare the PCRs in MASK with
 * EXPECTED.  Returns 0 when all match, -EPERM with *ret_mismatch filled (if
 * given) when one differs, or another negative errno from eventlog_replay().
 */
int eventlog_replay_check(const struct eventlog *log, const struct pcr_bank *expected, uint32_t mask,
        struct eventlog_mismatch *ret_mismatch);

/* ---- Writer ---------------------------------------------------------- */

/*
 * Serialise a log in memory: the Spec ID header for BANKS (TPM_ALG_IDs that
 * digest.h knows) and no events.  Buffer builders for tests, the predictor
 * and the evidence encoder; the file writer below uses them too.
 */
int eventlog_header_build(const enum digest_alg *banks, size_t n_banks, uint8_t **ret, size_t *ret_size);

/*
 * One TCG_PCR_EVENT2 record for the banks of HEADER_LOG (a parsed header or
 * log).  When DIGESTS is NULL every bank's digest is computed over DATA
 * (the common case: the event data *is* what was measured); otherwise
 * DIGESTS[i] holds the digest of bank i (in the order of log->banks) of
 * whatever was measured.
 */
int eventlog_record_build(const struct eventlog *header_log, uint32_t pcr, uint32_t type, const void *data,
        size_t data_size, const uint8_t *const *digests, uint8_t **ret, size_t *ret_size);

/* An open log file to append to. */
struct eventlog_writer;

/*
 * Open PATH for appending, creating it (mode 0600) with a Spec ID header for
 * BANKS if it does not exist or is empty.  An existing log is parsed: a torn
 * last record (crash during an append) is cut off (ftruncate + fsync); any
 * other damage is refused with -EBADMSG.  The banks of an existing log win
 * over BANKS; -EINVAL if it lacks one of BANKS.
 *
 * The file is locked (flock, exclusive) while the writer is open, so the
 * daemon and a tool never interleave records.
 */
int eventlog_writer_open(const char *path, const enum digest_alg *banks, size_t n_banks,
        struct eventlog_writer **ret);

/*
 * Append one event and make it durable (write + fsync) before returning:
 * the caller extends the PCR only after this succeeded, so the log is never
 * behind the TPM (at worst it has one event more, which replay reports).
 * DIGESTS as for eventlog_record_build(): NULL = hash DATA per bank.
 */
int eventlog_writer_append(struct eventlog_writer *w, uint32_t pcr, uint32_t type, const void *data,
        size_t data_size, const uint8_t *const *digests);

/* The banks of the open log (for computing DIGESTS in their order). */
size_t eventlog_writer_banks(const struct eventlog_writer *w, const struct eventlog_bank **ret_banks);

void eventlog_writer_free(struct eventlog_writer *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct eventlog_writer *, eventlog_writer_free)
#define _cleanup_eventlog_writer_ _cleanup_(eventlog_writer_freep)

/* ---- TVAM events (docs/eventlog.md "TVAM events") --------------------- */

/*
 * TVAM's own measurements are EV_EVENT_TAG events (PFP §10.4.2: the event
 * data is a TCG_PCClientTaggedEvent {taggedEventID u32, taggedEventDataSize
 * u32, taggedEventData}) with taggedEventID EVENTLOG_TVAM_TAG and
 * taggedEventData (little-endian):
 *
 *   u16 version = 1
 *   u16 kind (enum eventlog_tvam_kind)
 *   u16 name length,      name bytes      (UTF-8, no NUL)
 *   u16 identity length,  identity bytes  (e.g. "verity:<hex>", "sha256:<hex>")
 *   u16 config length,    config bytes    (a raw digest, may be empty)
 *
 * What is measured (the digest of each bank) is H(identity || config): the
 * verifier recomputes it from the event data, so data and digest cannot be
 * paired arbitrarily.  This is exactly what tvamd extends today: PCR 13 =
 * H(identity || config digest) of an application, PCR 15 =
 * H("tvam:mode:application").
 */
#define EVENTLOG_TVAM_TAG UINT32_C(0x4D415654) /* "TVAM" read as little-endian bytes */
#define EVENTLOG_TVAM_VERSION 1u
#define EVENTLOG_TVAM_NAME_MAX 255u
#define EVENTLOG_TVAM_IDENTITY_MAX 1024u
#define EVENTLOG_TVAM_CONFIG_MAX 64u

enum eventlog_tvam_kind {
        EVENTLOG_TVAM_APPLICATION = 1, /* PCR 13: an application started */
        EVENTLOG_TVAM_BASE_IMAGE = 2,  /* PCR 14: the initramfs measured base-N */
        EVENTLOG_TVAM_MODE = 3,        /* PCR 15: Update -> Application mode */
};

struct eventlog_tvam_event {
        enum eventlog_tvam_kind kind;
        char name[EVENTLOG_TVAM_NAME_MAX + 1];
        char identity[EVENTLOG_TVAM_IDENTITY_MAX + 1];
        uint8_t config[EVENTLOG_TVAM_CONFIG_MAX];
        size_t config_size;
};

/* "application", "base-image", "mode", or NULL. */
const char *eventlog_tvam_kind_to_string(enum eventlog_tvam_kind kind);

/* Encode E as EV_EVENT_TAG event data (malloc'ed). -EINVAL on over-long or
 * NUL-containing fields. */
int eventlog_tvam_encode(const struct eventlog_tvam_event *e, uint8_t **ret, size_t *ret_size);

/* Decode EV_EVENT_TAG event data.  -ENOMSG if it is a tagged event of
 * someone else (not EVENTLOG_TVAM_TAG), -EBADMSG if malformed. */
int eventlog_tvam_decode(const void *data, size_t size, struct eventlog_tvam_event *ret);

/* The measured digest of E in bank ALG: H(identity || config). */
int eventlog_tvam_digest(const struct eventlog_tvam_event *e, enum digest_alg alg, uint8_t *ret);

/* Append E to PCR with the digests eventlog_tvam_digest() gives per bank. */
int eventlog_writer_append_tvam(struct eventlog_writer *w, uint32_t pcr, const struct eventlog_tvam_event *e);

/* Check that EVENT is a well-formed TVAM event whose every digest equals
 * H(identity || config).  0 and *ret filled, -ENOMSG if it is not a TVAM
 * event, -EBADMSG malformed, -EPERM if a digest does not match the data. */
int eventlog_tvam_event_verify(const struct eventlog_event *event, struct eventlog_tvam_event *ret);

/*
 * The same two without copying: the fields point into the event data (they
 * are not NUL-terminated, and contain no NUL).  For a verifier that checks
 * thousands of events per evidence; the copies above are 1.3 KiB each.
 */
struct eventlog_tvam_ref {
        enum eventlog_tvam_kind kind;
        const char *name;
        size_t name_size;
        const char *identity;
        size_t identity_size;
        const uint8_t *config;
        size_t config_size;
};

int eventlog_tvam_decode_ref(const void *data, size_t size, struct eventlog_tvam_ref *ret);
int eventlog_tvam_event_verify_ref(const struct eventlog_event *event, struct eventlog_tvam_ref *ret);
