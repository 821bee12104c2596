/*
 * watermark.c - time layer: watermark generation per stream position (SEMANTICS.md's bounded,
 * monotonous and none formulas, with idleness) and the merging of several inputs' watermarks.
 */
#include <stdlib.h>

#include "time/time.h"

/* a - b, clamped to [INT64_MIN, INT64_MAX] instead of overflowing. */
static int64_t sat_sub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b > 0 ? INT64_MIN : INT64_MAX;
    return r;
}

/* ---- generation ---------------------------------------------------------------------------- */

void rill__wm_gen_init(rill__wm_gen *g, const rill_watermark_opts *opts, int64_t now_ms)
{
    rill_watermark_opts dflt = {.kind = RILL_WM_BOUNDED};
    if (!opts)
        opts = &dflt;
    g->kind = opts->kind;
    /* A negative delay would put the watermark ahead of the data; Flink refuses it. */
    g->delay = (opts->kind == RILL_WM_BOUNDED || opts->kind == RILL_WM_OFFSET) &&
                       opts->max_delay_ms > 0
                   ? opts->max_delay_ms
                   : 0;
    g->idle_timeout = opts->idle_timeout_ms > 0 ? opts->idle_timeout_ms : 0;
    g->max_ts = RILL_TS_MIN;
    g->last_row_ms = now_ms;
    g->idle = false;
}

void rill__wm_gen_active(rill__wm_gen *g, int64_t now_ms)
{
    g->last_row_ms = now_ms;
    g->idle = false;
}

int64_t rill__wm_gen_current(const rill__wm_gen *g)
{
    if (g->max_ts == RILL_TS_MIN)
        return RILL_TS_MIN;
    switch (g->kind) {
    case RILL_WM_BOUNDED:
        return sat_sub(sat_sub(g->max_ts, g->delay), 1);
    case RILL_WM_MONOTONOUS:
        return sat_sub(g->max_ts, 1);
    case RILL_WM_OFFSET:
        return sat_sub(g->max_ts, g->delay);
    case RILL_WM_NONE:
    default:
        return RILL_TS_MIN;
    }
}

bool rill__wm_gen_check_idle(rill__wm_gen *g, int64_t now_ms)
{
    if (g->idle)
        return true;
    if (g->idle_timeout > 0 && sat_sub(now_ms, g->last_row_ms) >= g->idle_timeout)
        g->idle = true;
    return g->idle;
}

/* ---- merging ------------------------------------------------------------------------------- */

void rill__wm_merger_init(rill__wm_merger *m, int n)
{
    RILL_ASSERT(n >= 0);
    m->n = n;
    m->wm = rill__xmalloc(sizeof *m->wm * (size_t)(n > 0 ? n : 1));
    m->idle = rill__xmalloc(sizeof *m->idle * (size_t)(n > 0 ? n : 1));
    for (int i = 0; i < n; i++) {
        m->wm[i] = RILL_TS_MIN;
        m->idle[i] = false;
    }
    m->current = RILL_TS_MIN;
}

void rill__wm_merger_close(rill__wm_merger *m)
{
    free(m->wm);
    free(m->idle);
    m->wm = NULL;
    m->idle = NULL;
    m->n = 0;
}

/* An ended input (RILL_TS_MAX) counts whatever its idle flag says: it holds nothing back and
 * lets the end reach downstream. */
static bool counts(const rill__wm_merger *m, int i)
{
    return !m->idle[i] || m->wm[i] == RILL_TS_MAX;
}

/* Recomputes the combined watermark: true (and *out) when it strictly advanced. */
static bool recombine(rill__wm_merger *m, int64_t *out)
{
    bool any = false;
    int64_t lo = RILL_TS_MAX;
    for (int i = 0; i < m->n; i++) {
        if (!counts(m, i))
            continue;
        any = true;
        if (m->wm[i] < lo)
            lo = m->wm[i];
    }
    if (!any || lo <= m->current)
        return false;
    m->current = lo;
    if (out)
        *out = lo;
    return true;
}

bool rill__wm_merger_update(rill__wm_merger *m, int i, int64_t wm, int64_t *out)
{
    RILL_ASSERT(i >= 0 && i < m->n);
    if (wm > m->wm[i])
        m->wm[i] = wm;
    m->idle[i] = false;
    return recombine(m, out);
}

bool rill__wm_merger_set_idle(rill__wm_merger *m, int i, bool idle, int64_t *out)
{
    RILL_ASSERT(i >= 0 && i < m->n);
    m->idle[i] = idle;
    return recombine(m, out);
}

bool rill__wm_merger_all_idle(const rill__wm_merger *m)
{
    for (int i = 0; i < m->n; i++)
        if (counts(m, i))
            return false;
    return true;
}

int rill__wm_merger_add(rill__wm_merger *m)
{
    RILL_ASSERT(m->n < INT32_MAX);
    int i = m->n++;
    m->wm = rill__xrealloc(m->wm, sizeof *m->wm * (size_t)m->n);
    m->idle = rill__xrealloc(m->idle, sizeof *m->idle * (size_t)m->n);
    m->wm[i] = m->current;
    m->idle[i] = false;
    return i;
}
