/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "policy/tools/srtm.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool data_matches(const struct eventlog_event *e, const struct srtm_substitution *s)
{
        size_t n = e->data_size;

        /* GRUB logs strings with or without their NUL depending on version. */
        if (n == s->match_size + 1 && e->data[n - 1] == '\0')
                n--;
        return n == s->match_size && memcmp(e->data, s->match, n) == 0;
}

int srtm_predict(const struct eventlog *log, enum digest_alg alg, struct srtm_substitution *subs,
        size_t n_subs, struct pcr_bank *ret)
{
        struct eventlog copy;
        size_t n = digest_size(alg);
        int r;

        assert(log && ret && (subs || n_subs == 0));
        if (n == 0)
                return -EOPNOTSUPP;
        for (size_t j = 0; j < n_subs; j++)
                subs[j].n_applied = 0;

        /* Replay a shallow copy whose events carry the substituted digests,
         * so the replay rules (initial values, StartupLocality, EV_NO_ACTION)
         * stay those of eventlog_replay(). */
        copy = *log;
        copy.events = NULL;
        if (log->n_events > 0) {
                copy.events = malloc(log->n_events * sizeof(*copy.events));
                if (!copy.events)
                        return -ENOMEM;
                memcpy(copy.events, log->events, log->n_events * sizeof(*copy.events));
        }
        for (size_t i = 0; i < copy.n_events; i++) {
                struct eventlog_event *e = &copy.events[i];
                for (size_t j = 0; j < n_subs; j++) {
                        struct eventlog_digest *d = NULL;
                        if (e->pcr != subs[j].pcr || e->type == EV_NO_ACTION || !data_matches(e, &subs[j]))
                                continue;
                        for (size_t k = 0; k < e->n_digests; k++)
                                if (e->digests[k].alg == (uint16_t)alg)
                                        d = &e->digests[k];
                        if (!d || d->size != n) {
                                free(copy.events);
                                return -EBADMSG;
                        }
                        memcpy(d->value, subs[j].digest, n);
                        subs[j].n_applied++;
                        break;
                }
        }
        for (size_t j = 0; j < n_subs; j++)
                if (subs[j].n_applied == 0) {
                        free(copy.events);
                        return -ENOENT;
                }
        r = eventlog_replay(&copy, alg, SIZE_MAX, ret);
        free(copy.events);
        return r;
}
