/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: the crypto-agile event log parser (tvam/eventlog).
 * Whatever it accepts must re-encode record by record to exactly the input
 * bytes, replay in every known bank, and its TVAM events must decode or be
 * refused cleanly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tvam/eventlog/eventlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct eventlog *log = NULL;
        size_t off = 0;

        if (eventlog_parse(data, size, EVENTLOG_PARSE_TORN_TAIL, &log, &off) < 0) {
                if (off > size)
                        abort();
                return 0;
        }
        if (log->valid_size > size || (!log->torn_tail && log->valid_size != size))
                abort();

        for (size_t i = 0; i < log->n_events; i++) {
                const struct eventlog_event *e = &log->events[i];
                const uint8_t *digests[EVENTLOG_BANKS_MAX];
                struct eventlog_tvam_event t;
                uint8_t *rec = NULL;
                size_t rec_size = 0;

                for (size_t b = 0; b < log->n_banks; b++) {
                        const struct eventlog_digest *d = eventlog_event_digest(e, log->banks[b].alg);
                        if (!d)
                                abort(); /* the parser promised every bank */
                        digests[b] = d->value;
                }
                /* Re-encoding puts the digests in bank order; the input may
                 * list them in another order, so compare lengths and data. */
                if (eventlog_record_build(log, e->pcr, e->type, e->data, e->data_size, digests, &rec, &rec_size) < 0)
                        abort();
                if (e->offset + rec_size > log->valid_size ||
                        (i + 1 < log->n_events && log->events[i + 1].offset != e->offset + rec_size) ||
                        memcmp(rec, data + e->offset, 12) != 0 ||
                        memcmp(rec + rec_size - e->data_size, e->data, e->data_size) != 0)
                        abort();
                free(rec);
                (void)eventlog_tvam_event_verify(e, &t);
        }
        for (size_t b = 0; b < log->n_banks; b++) {
                struct pcr_bank bank;
                if (digest_size(log->banks[b].alg) != 0 && eventlog_replay(log, log->banks[b].alg, SIZE_MAX, &bank) < 0)
                        abort();
        }
        eventlog_free(log);
        return 0;
}
