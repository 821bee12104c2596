/*
 * time.h - the time layer's interface: clocks, watermark generation (bounded out-of-orderness,
 * monotonous, none; idleness; per-split merging), watermark merging across inputs, and the
 * timer service (event and processing time, per key and namespace, deduplicated, fired in
 * timestamp order, iterable per key group for snapshots). Depends on base, data and state.
 */
#ifndef RILL_TIME_H
#define RILL_TIME_H

#include "state/state.h"

/* ---- clocks: processing time, replaceable in tests ---------------------------------------- */

typedef struct rill__clock {
    int64_t (*now_ms)(void *arg); /* NULL: the wall clock */
    void *arg;
} rill__clock;

static inline int64_t rill__clock_now(const rill__clock *c)
{
    return c && c->now_ms ? c->now_ms(c->arg) : rill__now_ms();
}

/* ---- watermark generation ------------------------------------------------------------------ */

/* The watermark of one stream position (one split, or one stream): SEMANTICS.md's formulas. */
typedef struct rill__wm_gen {
    rill_watermark_kind kind;
    int64_t delay;        /* bounded: max delay */
    int64_t idle_timeout; /* ms of processing time without rows before idle; 0: never */
    int64_t max_ts;       /* largest timestamp seen, RILL_TS_MIN before the first */
    int64_t last_row_ms;  /* processing time of the last row */
    bool idle;
} rill__wm_gen;

void rill__wm_gen_init(rill__wm_gen *g, const rill_watermark_opts *opts, int64_t now_ms);
static inline void rill__wm_gen_observe(rill__wm_gen *g, int64_t ts)
{
    if (ts > g->max_ts)
        g->max_ts = ts;
}
/* Records that rows arrived now (ends idleness). */
void rill__wm_gen_active(rill__wm_gen *g, int64_t now_ms);
/* The watermark this position allows: max_ts - delay - 1 (bounded), max_ts - 1 (monotonous),
 * RILL_TS_MIN for none or before the first row. Saturates instead of overflowing. */
int64_t rill__wm_gen_current(const rill__wm_gen *g);
/* true when it has had no rows for idle_timeout (and sets idle). */
bool rill__wm_gen_check_idle(rill__wm_gen *g, int64_t now_ms);

/* ---- merging watermarks of several inputs (channels, splits) ------------------------------ */

/* The combined watermark is the minimum over inputs that are neither idle nor ended (an ended
 * input counts as RILL_TS_MAX); it never goes backwards; when every live input is idle it does
 * not advance and the merger reports itself idle. */
typedef struct rill__wm_merger {
    int n;
    int64_t *wm;
    bool *idle;
    int64_t current; /* the last combined watermark given out, RILL_TS_MIN at first */
} rill__wm_merger;

void rill__wm_merger_init(rill__wm_merger *m, int n);
void rill__wm_merger_close(rill__wm_merger *m);
/* Input i's watermark is now wm (ignored when lower than before). true when the combined
 * watermark advanced: the new value in *out. An input's watermark also ends its idleness. */
bool rill__wm_merger_update(rill__wm_merger *m, int i, int64_t wm, int64_t *out);
/* Input i became idle (or active again). true when the combined watermark advanced. */
bool rill__wm_merger_set_idle(rill__wm_merger *m, int i, bool idle, int64_t *out);
/* Every input is idle (and none has ended with RILL_TS_MAX still pending). */
bool rill__wm_merger_all_idle(const rill__wm_merger *m);
/* Adds an input (a new split), starting at the current combined watermark. Returns its index. */
int rill__wm_merger_add(rill__wm_merger *m);

/* ---- timers -------------------------------------------------------------------------------- */

/* One timer as the service hands it out: borrowed until the next rill__timers_pop or
 * rill__timers_free (registering and deleting keep it valid). */
typedef struct rill__timer {
    int64_t ts;
    rill__state_key key; /* key bytes, hash, kg, namespace bytes */
} rill__timer;

typedef struct rill__timer_service rill__timer_service;

rill__timer_service *rill__timers_new(int kg_first, int kg_last);
/* Timers kept in backend be (which must outlive the service), when it can keep them
 * (timer_put; else as rill__timers_new): the backend holds the timers, and memory the
 * earliest ones of each key group, about max_cached in all (the part of a key group beyond
 * what memory holds is read again when memory has run out of it). A timer within what memory
 * holds goes to the backend only when memory lets it go, or at a flush: one that fires or is
 * deleted before costs the backend nothing. Timers already in the backend (restored files) are
 * found. Ties then fire in (key, namespace) order, not in
 * registration order; count is exact once memory has read each key group's first timers (a
 * register or delete beyond what memory holds looks in the backend first); a backend failure
 * is returned by register, delete and pop. */
rill__timer_service *rill__timers_new_backed(int kg_first, int kg_last, rill__state_backend *be,
                                             size_t max_cached);
/* The backend s keeps its timers in, or NULL (memory). */
rill__state_backend *rill__timers_backend(const rill__timer_service *s);
/* Timers kept in a backend that only memory had go to the backend (snapshots of the backend's
 * own files need them there; views and iterations do it themselves). 0 or its failure. */
int rill__timers_flush(rill__timer_service *s);
/* The backend's timers changed under the service (files restored into it): memory forgets
 * what it held and reads them again. Nothing for a service without a backend. */
void rill__timers_reload(rill__timer_service *s);
void rill__timers_free(rill__timer_service *s); /* NULL-safe */
/* Registers (domain, key, namespace, ts); a duplicate is ignored. 0, or RILL_ESTATE when the
 * key's kg is outside the service's range. */
int rill__timers_register(rill__timer_service *s, rill_time_domain d, const rill__state_key *k,
                          int64_t ts);
/* Deletes it; 0 whether or not it was there, RILL_ESTATE when kg is outside the range. */
int rill__timers_delete(rill__timer_service *s, rill_time_domain d, const rill__state_key *k,
                        int64_t ts);
/* The earliest timer of domain d with ts <= limit is removed and given in *out: 1; or 0 when
 * there is none; or the backend's failure (< 0). Ties fire in registration order. */
int rill__timers_pop(rill__timer_service *s, rill_time_domain d, int64_t limit, rill__timer *out);
/* The earliest timestamp of domain d, or RILL_TS_MAX when there is no timer (RILL_TS_MIN when
 * a backend failed: pop tells how). */
int64_t rill__timers_next(rill__timer_service *s, rill_time_domain d);
int64_t rill__timers_count(const rill__timer_service *s, rill_time_domain d);
/* Every timer of key group kg (for snapshots), in no particular order; nonzero from fn stops
 * the iteration and is returned. RILL_ESTATE for a kg outside the range; fn must not change
 * the service. */
int rill__timers_iterate_kg(rill__timer_service *s, int kg,
                            int (*fn)(void *arg, rill_time_domain d, const rill__timer *t),
                            void *arg);

/*
 * Snapshot views. snap_begin (owner's thread; waits until a previous view has ended) fixes the
 * key-group lists as they are: the owner goes on registering, deleting and popping, which
 * changes the lists only once the view has ended. One other thread walks them meanwhile with
 * snap_iterate_kg (same contract as rill__timers_iterate_kg) and calls snap_end exactly once.
 * rill__timers_free waits for the view to end.
 */
typedef struct rill__timers_snap rill__timers_snap;
int rill__timers_snap_begin(rill__timer_service *s, rill__timers_snap **out);
int rill__timers_snap_iterate_kg(rill__timers_snap *v, int kg,
                                 int (*fn)(void *arg, rill_time_domain d, const rill__timer *t),
                                 void *arg);
void rill__timers_snap_end(rill__timers_snap *v);

#endif /* RILL_TIME_H */
