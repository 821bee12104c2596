/*
 * window.c - ops layer: the window operator. Tumbling, sliding and cumulating windows are built
 * from shared slices (gcd of size and slide; a cumulate window's step), so each row is
 * aggregated once; session windows merge per key;
 * the global window fires by count. Triggers: the default (time passes the window end), count,
 * early firings by processing time; allowed lateness re-fires; later rows go to a side output.
 */
#include <stdlib.h>
#include <string.h>

#include "base/tz.h"
#include "keyed_int.h"
#include "snapshot.h"

__extension__ typedef __int128 i128;

/* Timer namespaces: a tag byte, then (sessions, early firings) an 8-byte id. */
enum { NS_FIRE = 'F', NS_CLEAN = 'C', NS_EARLY = 'E', NS_SESSION = 'S', NS_SCLEAN = 'X' };

/* One built-in aggregate's accumulator. */
typedef struct agg_acc {
    union {
        int64_t i;
        double d;
    } v;
    int64_t n; /* non-NULL values */
} agg_acc;

/* A session of one key: [start, end) and the namespace id its state lives under. */
typedef struct session {
    int64_t start, end, id;
} session;

typedef struct win_op {
    rill__operator base;
    rill__keyed keyed;
    bool rs_wm_seen; /* restore: the least watermark of the old subtasks read so far */
    const rill__window_cfg *cfg;
    rill_window_kind kind;
    rill_time_domain domain;
    const rill__tz *zone; /* windows of this zone's local time; NULL: of UTC */
    int64_t size, slide, offset, gap, lateness, q; /* q: slice size */
    size_t acc_size;                                 /* 8-byte row count, then the aggregate */
    rill_state_desc d_acc, d_rows, d_meta, d_vals;
    rill__state_table *t_acc, *t_rows, *t_meta, *t_vals; /* t_vals: cfg->vals only */
    /* rill__window_vals_*: the namespace a row is added to (valid while adding), and the
     * namespaces of the window being emitted (valid while emitting) */
    int64_t add_ns;
    bool adding, emitting;
    int64_t *emit_ns;
    size_t n_emit_ns, cap_emit_ns;
    rill__buf vals_buf; /* a folded session's entries */
    unsigned char *acc, *acc2; /* scratch accumulators */
    rill__buf rows_buf, meta_buf, enc;
    rill_batch *scratch;     /* decoded rows for window functions */
    rill_batch *agg_scratch; /* AGG_PROCESS: the aggregate's row */
    int64_t late_rows;
    bool ending;      /* end of input: early firings do not schedule the next one */
    uint64_t row_seq; /* arrival order of kept rows, across slices and merged sessions */
    struct row_ref {
        uint64_t seq;
        size_t off;
    } *order;
    size_t cap_order;
    /* a direct-mapped write-back cache of accumulators for one-word keys: the hot path of a
     * row touches no state backend call; entries go back to the backend when evicted and are
     * read through when a window fires (issue 4's snapshots flush it first) */
    unsigned char *cache;
    size_t cache_stride;
    uint32_t cache_mask;
} win_op;

typedef struct cache_entry {
    uint64_t key_word, hash;
    int64_t ns;
    int32_t kg;
    bool used, dirty;
    uint8_t lru; /* 1: used more recently than the other slot of its set */
    /* the accumulator follows, acc_size bytes */
} cache_entry;

#define CACHE_SLOTS 4096

/* ---- arithmetic ------------------------------------------------------------------------------ */

static inline int64_t floor_mod(int64_t a, int64_t b, int64_t m)
{
    int64_t d;
    if (RILL_LIKELY(!__builtin_sub_overflow(a, b, &d))) {
        int64_t r = d % m;
        return r < 0 ? r + m : r;
    }
    i128 r = ((i128)a - b) % m; /* only near the ends of the int64 range */
    return (int64_t)(r < 0 ? r + m : r);
}

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static inline int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? (b > 0 ? RILL_TS_MAX : RILL_TS_MIN) : r;
}

/*
 * Windows of local time (Flink SQL's windows over a TIMESTAMP_LTZ time attribute in a session
 * zone, its TimeWindowUtil). With a zone, the operator works in local time: a row's time is its
 * wall-clock time in the zone counted as if it were UTC (toUtcTimestampMills), windows and
 * their timers are ranges of that time, so a 1-day window starts at local midnight and spans
 * 23 or 25 hours on DST days. The watermark (or clock) `now` becomes the latest local time x
 * with timer_epoch(x) <= now, so that a window [s, e) fires when now >= timer_epoch(e - 1), as
 * Flink's timers do; a row emitted for a window gets the instant of e - 1 (toEpochMills).
 */
#define HOUR_MS INT64_C(3600000)

static int64_t to_local(const win_op *w, int64_t t)
{
    return rill__tz_local_ms(w->zone, t);
}

static int64_t from_local(const win_op *w, int64_t x)
{
    return rill__tz_instant_ms(w->zone, x);
}

static int64_t timer_epoch(const win_op *w, int64_t x)
{
    return rill__tz_timer_ms(w->zone, x);
}

/* The latest local time whose timers are due at now (an instant): the largest x with
 * timer_epoch(x) <= now. Its own local time unless now is in the first pass of an overlap
 * (then the time before the overlap: its windows wait for the second pass). */
static int64_t local_now(const win_op *w, int64_t now)
{
    if (!w->zone || now == RILL_TS_MIN || now == RILL_TS_MAX)
        return now;
    int64_t x = to_local(w, now);
    if (timer_epoch(w, x) <= now)
        return x;
    int64_t lo = x - 4 * HOUR_MS, hi = x; /* timer_epoch(lo) <= now < timer_epoch(hi) */
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (timer_epoch(w, mid) <= now)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* The start of the last window containing t (SEMANTICS.md); a cumulate window's: the start of
 * every window containing t. */
static inline int64_t last_start(const win_op *w, int64_t t)
{
    if (w->kind == RILL_WINDOW_CUMULATE)
        return t - floor_mod(t, w->offset, w->size);
    return t - floor_mod(t, w->offset, w->slide);
}

/* The end of the first window containing the slice that starts at ss. */
static int64_t first_end(const win_op *w, int64_t ss)
{
    if (w->kind == RILL_WINDOW_CUMULATE) /* the slice is one step: it ends the first one */
        return ss + w->slide;
    int64_t ls = last_start(w, ss);
    int64_t d = ls - (ss - w->size); /* > 0 */
    return ls - ((d - 1) / w->slide) * w->slide + w->size;
}

/* The start of the window that ends at end. */
static inline int64_t window_start(const win_op *w, int64_t end)
{
    return w->kind == RILL_WINDOW_CUMULATE ? last_start(w, end - 1) : end - w->size;
}

/* The windows containing time t, one after another: first_window sets the first one's end,
 * next_window the next one's; false when there is none left. */
static bool first_window(const win_op *w, int64_t t, int64_t *end)
{
    int64_t ls = last_start(w, t);
    if (w->kind == RILL_WINDOW_CUMULATE)
        *end = ls + ((t - ls) / w->slide + 1) * w->slide;
    else
        *end = sat_add(ls, w->size);
    return true;
}

static bool next_window(const win_op *w, int64_t t, int64_t *end)
{
    if (w->kind == RILL_WINDOW_CUMULATE) {
        int64_t e = *end + w->slide;
        if (e < *end || e > last_start(w, t) + w->size)
            return false;
        *end = e;
        return true;
    }
    int64_t st = *end - w->size - w->slide;
    if (st > *end - w->size || st <= t - w->size) /* overflow guard; the last one passed */
        return false;
    *end = st + w->size;
    return true;
}

/* ---- state access under a namespace ---------------------------------------------------------- */

static rill__state_key nskey(win_op *w, const void *ns, size_t ns_len)
{
    rill__state_key k = w->base.ctx.key;
    k.ns = ns;
    k.ns_len = ns_len;
    return k;
}

static int register_tables(win_op *w)
{
    rill__state_backend *be = w->base.ctx.backend;
    int rc = be->ops->table(be, &w->d_acc, &w->t_acc);
    if (rc == 0)
        rc = be->ops->table(be, &w->d_rows, &w->t_rows);
    if (rc == 0)
        rc = be->ops->table(be, &w->d_meta, &w->t_meta);
    if (rc == 0 && w->cfg->vals)
        rc = be->ops->table(be, &w->d_vals, &w->t_vals);
    return rc;
}

/* The cache is 2-way set associative: (key, ns) lives in one of the two slots of its set.
 * Returns the slot that holds it, or else the one to fill (an empty one, or the one used
 * least recently). */
static inline cache_entry *cache_slot(win_op *w, int64_t ns)
{
    uint64_t h = w->base.ctx.key.hash ^ ((uint64_t)ns * UINT64_C(0x9e3779b97f4a7c15));
    h ^= h >> 29;
    size_t set = (size_t)(h & (w->cache_mask >> 1)) * 2;
    cache_entry *a = (cache_entry *)(void *)(w->cache + set * w->cache_stride);
    cache_entry *b = (cache_entry *)(void *)(w->cache + (set + 1) * w->cache_stride);
    uint64_t kw = w->keyed.key_word;
    if (a->used && a->ns == ns && a->key_word == kw) {
        a->lru = 1; /* a was used last */
        b->lru = 0;
        return a;
    }
    if (b->used && b->ns == ns && b->key_word == kw) {
        b->lru = 1;
        a->lru = 0;
        return b;
    }
    cache_entry *v = !a->used ? a : !b->used ? b : a->lru ? b : a;
    (v == a ? b : a)->lru = 0;
    v->lru = 1;
    return v;
}

static inline unsigned char *cache_acc(cache_entry *e)
{
    return (unsigned char *)(e + 1);
}

static inline bool cache_is(win_op *w, const cache_entry *e, int64_t ns)
{
    return e->used && e->ns == ns && e->key_word == w->keyed.key_word;
}

/* Writes a dirty entry back to the backend and frees the slot. */
static int cache_evict(win_op *w, cache_entry *e)
{
    int rc = 0;
    if (e->used && e->dirty) {
        rill__state_key k = {.key = &e->key_word, .key_len = 8, .hash = e->hash, .kg = e->kg,
                             .ns = &e->ns, .ns_len = 8};
        rc = w->base.ctx.backend->ops->value_put(w->t_acc, &k, cache_acc(e), w->acc_size);
    }
    e->used = false;
    e->dirty = false;
    return rc;
}

/* Loads the accumulator of namespace ns into *acc: 1 found, 0 absent (acc untouched). */
static int acc_load(win_op *w, int64_t ns, unsigned char *acc)
{
    if (w->cache) {
        cache_entry *e = cache_slot(w, ns);
        if (cache_is(w, e, ns)) {
            memcpy(acc, cache_acc(e), w->acc_size);
            return 1;
        }
    }
    rill__state_key k = nskey(w, &ns, sizeof ns);
    const void *p;
    size_t len;
    int rc = w->base.ctx.backend->ops->value_get(w->t_acc, &k, &p, &len);
    if (rc == 1)
        memcpy(acc, p, w->acc_size);
    return rc;
}

static int acc_store(win_op *w, int64_t ns, const unsigned char *acc)
{
    if (w->cache) {
        cache_entry *e = cache_slot(w, ns);
        if (!cache_is(w, e, ns)) {
            int rc = cache_evict(w, e);
            if (rc < 0)
                return rc;
            e->key_word = w->keyed.key_word;
            e->hash = w->base.ctx.key.hash;
            e->kg = w->base.ctx.key.kg;
            e->ns = ns;
            e->used = true;
        }
        if (cache_acc(e) != acc)
            memcpy(cache_acc(e), acc, w->acc_size);
        e->dirty = true;
        return 0;
    }
    rill__state_key k = nskey(w, &ns, sizeof ns);
    return w->base.ctx.backend->ops->value_put(w->t_acc, &k, acc, w->acc_size);
}

static int ns_clear(win_op *w, int64_t ns)
{
    if (w->cache) {
        cache_entry *e = cache_slot(w, ns);
        if (cache_is(w, e, ns))
            e->used = e->dirty = false;
    }
    rill__state_key k = nskey(w, &ns, sizeof ns);
    const rill__state_backend_ops *ops = w->base.ctx.backend->ops;
    int rc = ops->value_del(w->t_acc, &k);
    if (rc == 0 && (w->cfg->mode == RILL_WMODE_PROCESS))
        rc = ops->value_del(w->t_rows, &k);
    if (rc == 0 && w->t_vals)
        rc = ops->map_clear(w->t_vals, &k);
    return rc;
}

/* The key's meta value (slice starts, or sessions) into w->meta_buf. */
static int meta_load(win_op *w)
{
    rill__state_key k = nskey(w, NULL, 0);
    const void *p;
    size_t len;
    w->meta_buf.len = 0;
    int rc = w->base.ctx.backend->ops->value_get(w->t_meta, &k, &p, &len);
    if (rc == 1)
        rill__buf_append(&w->meta_buf, p, len);
    return rc < 0 ? rc : 0;
}

static int meta_store(win_op *w)
{
    rill__state_key k = nskey(w, NULL, 0);
    const rill__state_backend_ops *ops = w->base.ctx.backend->ops;
    if (w->meta_buf.len == 0)
        return ops->value_del(w->t_meta, &k);
    return ops->value_put(w->t_meta, &k, w->meta_buf.data, w->meta_buf.len);
}

/* ---- accumulators ---------------------------------------------------------------------------- */

static void acc_create(win_op *w, unsigned char *acc)
{
    memset(acc, 0, w->acc_size); /* built-in aggregates start at zero, with no values */
    const rill__window_cfg *c = w->cfg;
    if (c->n_aggs == 0 && c->agg.acc_size > 0 && c->agg.create) {
        const rill__user_site *in_user = rill__user_enter(&w->base.site);
        c->agg.create(acc + 8, c->agg.user);
        rill__user_leave(in_user);
    }
}

/* Adds row to acc, the accumulator of namespace ns. */
static int acc_add(win_op *w, unsigned char *acc, const rill_row *row, int64_t ns)
{
    int64_t count;
    memcpy(&count, acc, 8);
    count++;
    memcpy(acc, &count, 8);
    const rill__window_cfg *c = w->cfg;
    if (c->n_aggs > 0) {
        agg_acc *a = (agg_acc *)(acc + 8);
        for (int i = 0; i < c->n_aggs; i++) {
            const rill__window_agg *g = &c->aggs[i];
            if (g->kind == RILL_AGG_COUNT) {
                a[i].v.i++;
                a[i].n++;
                continue;
            }
            if (rill_row_is_null(row, g->field))
                continue;
            bool dbl = g->type == RILL_T_DOUBLE;
            int64_t x = rill_row_i64(row, g->field);
            double d = dbl ? rill_row_f64(row, g->field) : 0;
            switch (g->kind) {
            case RILL_AGG_SUM:
                if (dbl)
                    a[i].v.d += d;
                else
                    a[i].v.i = (int64_t)((uint64_t)a[i].v.i + (uint64_t)x); /* wraps, as Java */
                break;
            case RILL_AGG_MIN:
                if (dbl ? (a[i].n == 0 || d < a[i].v.d) : (a[i].n == 0 || x < a[i].v.i)) {
                    if (dbl)
                        a[i].v.d = d;
                    else
                        a[i].v.i = x;
                }
                break;
            case RILL_AGG_MAX:
                if (dbl ? (a[i].n == 0 || d > a[i].v.d) : (a[i].n == 0 || x > a[i].v.i)) {
                    if (dbl)
                        a[i].v.d = d;
                    else
                        a[i].v.i = x;
                }
                break;
            case RILL_AGG_AVG:
                a[i].v.d += dbl ? d : (double)x;
                break;
            default:
                break;
            }
            a[i].n++;
        }
        return 0;
    }
    if (c->agg.add) {
        const rill__user_site *in_user = rill__user_enter(&w->base.site);
        w->add_ns = ns;
        w->adding = true;
        int rc = c->agg.add(&w->base.ctx, acc + 8, row);
        w->adding = false;
        rill__user_leave(in_user);
        if (rc < 0)
            return rill__operator_user_failed(&w->base, rc, "aggregate add");
    }
    return 0;
}

static void acc_merge(win_op *w, unsigned char *into, const unsigned char *from)
{
    int64_t c1, c2;
    memcpy(&c1, into, 8);
    memcpy(&c2, from, 8);
    c1 += c2;
    memcpy(into, &c1, 8);
    const rill__window_cfg *c = w->cfg;
    if (c->n_aggs > 0) {
        agg_acc *a = (agg_acc *)(into + 8);
        const agg_acc *b = (const agg_acc *)(from + 8);
        for (int i = 0; i < c->n_aggs; i++) {
            const rill__window_agg *g = &c->aggs[i];
            bool dbl = g->type == RILL_T_DOUBLE;
            if (b[i].n == 0)
                continue;
            switch (g->kind) {
            case RILL_AGG_COUNT:
                a[i].v.i += b[i].v.i;
                break;
            case RILL_AGG_SUM:
                if (dbl)
                    a[i].v.d += b[i].v.d;
                else
                    a[i].v.i = (int64_t)((uint64_t)a[i].v.i + (uint64_t)b[i].v.i);
                break;
            case RILL_AGG_MIN:
                if (a[i].n == 0 || (dbl ? b[i].v.d < a[i].v.d : b[i].v.i < a[i].v.i))
                    a[i].v = b[i].v;
                break;
            case RILL_AGG_MAX:
                if (a[i].n == 0 || (dbl ? b[i].v.d > a[i].v.d : b[i].v.i > a[i].v.i))
                    a[i].v = b[i].v;
                break;
            case RILL_AGG_AVG:
                a[i].v.d += b[i].v.d;
                break;
            }
            a[i].n += b[i].n;
        }
    } else if (c->agg.merge) {
        const rill__user_site *in_user = rill__user_enter(&w->base.site);
        c->agg.merge(into + 8, from + 8, c->agg.user);
        rill__user_leave(in_user);
    }
}

/* Writes the built-in aggregates of acc into out from field first on. */
static void acc_builtin_result(win_op *w, const unsigned char *acc, rill_row *out, int first)
{
    const rill__window_cfg *c = w->cfg;
    const agg_acc *a = (const agg_acc *)(acc + 8);
    for (int i = 0; i < c->n_aggs; i++) {
        const rill__window_agg *g = &c->aggs[i];
        int f = first + i;
        if (g->kind == RILL_AGG_COUNT) {
            rill_row_set_i64(out, f, a[i].v.i);
        } else if (a[i].n == 0) {
            rill_row_set_null(out, f);
        } else if (g->kind == RILL_AGG_AVG) {
            rill_row_set_f64(out, f, a[i].v.d / (double)a[i].n);
        } else if (g->type == RILL_T_DOUBLE) {
            rill_row_set_f64(out, f, a[i].v.d);
        } else if (g->type == RILL_T_BOOL) {
            rill_row_set_bool(out, f, a[i].v.i != 0);
        } else {
            rill_row_set_i64(out, f, a[i].v.i);
        }
    }
}

/* ---- rows kept for window functions ---------------------------------------------------------- */

/* Appends row (null words, slots, then string bytes with slots made relative) to ns's rows. */
static int rows_add(win_op *w, int64_t ns, const rill_row *row)
{
    rill__buf *e = &w->enc;
    e->len = 0;
    uint32_t hdr = 0;
    rill__buf_append(e, &hdr, 4);
    uint64_t seq = w->row_seq++;
    rill__buf_append(e, &seq, 8);
    rill__row_encode(row, e);
    uint32_t total = (uint32_t)(e->len - 4);
    memcpy(e->data, &total, 4);
    rill__state_key k = nskey(w, &ns, sizeof ns);
    return w->base.ctx.backend->ops->value_append(w->t_rows, &k, e->data, e->len);
}

struct rill_rows {
    const char *base;             /* encoded rows */
    const struct row_ref *order;  /* by arrival */
    size_t n, pos;
    rill_batch *batch;   /* the row handed out */
    int64_t count;
    bool single; /* AGG_PROCESS: one ready row in batch */
    bool given;
};

int rill_rows_next(rill_rows *r, rill_row *row_out)
{
    if (!r)
        return 0;
    if (r->single) {
        if (r->given)
            return 0;
        r->given = true;
        *row_out = rill__batch_row(r->batch, 0);
        return 1;
    }
    if (r->pos >= r->n)
        return 0;
    const char *rec = r->base + r->order[r->pos++].off + 4 + 8; /* past the length and seq */
    rill_batch *b = r->batch;
    rill__batch_clear(b);
    rill_row row = rill__batch_append(b);
    rill__row_decode(&row, rec);
    *row_out = row;
    return 1;
}

int64_t rill_rows_count(const rill_rows *r)
{
    return r ? r->count : 0;
}

static int by_seq(const void *a, const void *b)
{
    uint64_t x = ((const struct row_ref *)a)->seq, y = ((const struct row_ref *)b)->seq;
    return x < y ? -1 : x > y;
}

/* Indexes the records gathered in rows_buf in arrival order (slices, or merged sessions, each
 * hold theirs in arrival order; together they need sorting). Returns how many. */
static size_t order_rows(win_op *w)
{
    size_t n = 0;
    bool sorted = true;
    for (size_t off = 0; off < w->rows_buf.len;) {
        uint32_t total;
        uint64_t seq;
        memcpy(&total, w->rows_buf.data + off, 4);
        memcpy(&seq, w->rows_buf.data + off + 4, 8);
        rill__grow((void **)&w->order, &w->cap_order, n + 1, sizeof *w->order);
        if (n > 0 && seq < w->order[n - 1].seq)
            sorted = false;
        w->order[n++] = (struct row_ref){seq, off};
        off += 4 + (size_t)total;
    }
    if (!sorted)
        qsort(w->order, n, sizeof *w->order, by_seq);
    return n;
}

/* ---- emitting a window ----------------------------------------------------------------------- */

/* Emits the result of window [start, end) of the current key from the merged accumulator acc
 * (and, for window functions, the rows in w->rows_buf). */
static int emit_window(win_op *w, int64_t start, int64_t end, const unsigned char *acc)
{
    rill__operator *op = &w->base;
    const rill__window_cfg *c = w->cfg;
    int64_t count;
    memcpy(&count, acc, 8);
    if (count == 0)
        return 0;
    rill_window win = {start, end};
    op->ctx.window = &win;
    op->in_has_ts = true;
    op->in_ts = end == RILL_TS_MAX ? RILL_TS_MAX : from_local(w, end - 1);
    op->ctx.can_emit = true;
    int rc = 0;
    rill_row out;
    const rill__user_site *in_user; /* the calls of user functions below */
    switch (c->mode) {
    case RILL_WMODE_BUILTIN:
        if ((rc = rill_emit(&op->ctx, &out)) < 0)
            break;
        if ((rc = rill__keyed_write_key(&w->keyed, &out, 0)) < 0)
            break;
        rill_row_set_ts(&out, w->keyed.key.n, start);
        rill_row_set_ts(&out, w->keyed.key.n + 1, end);
        acc_builtin_result(w, acc, &out, w->keyed.key.n + 2);
        break;
    case RILL_WMODE_AGG:
        if ((rc = rill_emit(&op->ctx, &out)) < 0)
            break;
        in_user = rill__user_enter(&op->site);
        w->emitting = true;
        rc = c->agg.result(&op->ctx, acc + 8, &out);
        w->emitting = false;
        rill__user_leave(in_user);
        if (rc < 0)
            rc = rill__operator_user_failed(op, rc, "aggregate result");
        break;
    case RILL_WMODE_PROCESS: {
        size_t n = order_rows(w);
        rill_rows rows = {.base = w->rows_buf.data, .order = w->order, .n = n,
                          .batch = w->scratch, .count = count};
        in_user = rill__user_enter(&op->site);
        rc = c->fn(&op->ctx, &win, &rows);
        rill__user_leave(in_user);
        if (rc < 0)
            rc = rill__operator_user_failed(op, rc, "window");
        break;
    }
    case RILL_WMODE_AGG_PROCESS: {
        rill_batch *b = w->agg_scratch;
        rill__batch_clear(b);
        rill_row r = rill__batch_append(b);
        if (c->n_aggs > 0) {
            if ((rc = rill__keyed_write_key(&w->keyed, &r, 0)) < 0)
                break;
            rill_row_set_ts(&r, w->keyed.key.n, start);
            rill_row_set_ts(&r, w->keyed.key.n + 1, end);
            acc_builtin_result(w, acc, &r, w->keyed.key.n + 2);
        } else {
            in_user = rill__user_enter(&op->site);
            rc = c->agg.result(&op->ctx, acc + 8, &r);
            rill__user_leave(in_user);
            if (rc < 0) {
                rc = rill__operator_user_failed(op, rc, "aggregate result");
                break;
            }
        }
        rill_rows rows = {.batch = b, .count = 1, .single = true};
        in_user = rill__user_enter(&op->site);
        rc = c->fn(&op->ctx, &win, &rows);
        rill__user_leave(in_user);
        if (rc < 0)
            rc = rill__operator_user_failed(op, rc, "window");
        break;
    }
    }
    op->ctx.can_emit = false;
    op->ctx.window = NULL;
    return rc < 0 ? rc : 0;
}

/* Makes ns the first (reset) or next namespace of the window to emit. */
static void emit_ns_add(win_op *w, int64_t ns, bool reset)
{
    if (reset)
        w->n_emit_ns = 0;
    rill__grow((void **)&w->emit_ns, &w->cap_emit_ns, w->n_emit_ns + 1, sizeof *w->emit_ns);
    w->emit_ns[w->n_emit_ns++] = ns;
}

/* Appends ns's rows to w->rows_buf (window functions). */
static int gather_rows(win_op *w, int64_t ns)
{
    if (w->cfg->mode != RILL_WMODE_PROCESS)
        return 0;
    rill__state_key k = nskey(w, &ns, sizeof ns);
    const void *p;
    size_t len;
    int rc = w->base.ctx.backend->ops->value_get(w->t_rows, &k, &p, &len);
    if (rc == 1)
        rill__buf_append(&w->rows_buf, p, len);
    return rc < 0 ? rc : 0;
}

/* ---- timers ---------------------------------------------------------------------------------- */

static int timer_add(win_op *w, char tag, int64_t id, bool with_id, int64_t ts,
                     rill_time_domain d)
{
    unsigned char ns[9];
    ns[0] = (unsigned char)tag;
    memcpy(ns + 1, &id, 8);
    rill__state_key k = nskey(w, ns, with_id ? 9 : 1);
    int rc = rill__timers_register(w->base.ctx.timers, d, &k, ts);
    if (rc == 0 && d == RILL_PROCESSING_TIME && timer_epoch(w, ts) < w->base.next_tick_ms)
        w->base.next_tick_ms = timer_epoch(w, ts);
    return rc;
}

static int timer_del(win_op *w, char tag, int64_t id, int64_t ts, rill_time_domain d)
{
    unsigned char ns[9];
    ns[0] = (unsigned char)tag;
    memcpy(ns + 1, &id, 8);
    rill__state_key k = nskey(w, ns, 9);
    return rill__timers_delete(w->base.ctx.timers, d, &k, ts);
}

/* The time the window operator runs on: the watermark, or the clock (in local time with a
 * zone). */
static int64_t current_time(win_op *w)
{
    return local_now(w, w->domain == RILL_EVENT_TIME ? w->base.watermark
                                                     : rill__clock_now(&w->base.clock));
}

/* ---- tumbling and sliding: slices ------------------------------------------------------------ */

/* Slice starts of the current key are kept sorted in meta_buf as int64s. */
static int64_t *slices(win_op *w, size_t *n)
{
    *n = w->meta_buf.len / 8;
    return (int64_t *)(void *)w->meta_buf.data;
}

static int slices_insert(win_op *w, int64_t ss)
{
    int rc = meta_load(w);
    if (rc)
        return rc;
    size_t n;
    int64_t *v = slices(w, &n);
    size_t i = n;
    while (i > 0 && v[i - 1] > ss)
        i--;
    if (i > 0 && v[i - 1] == ss)
        return 0;
    rill__buf_append(&w->meta_buf, &ss, 8);
    v = slices(w, &n);
    memmove(v + i + 1, v + i, (n - 1 - i) * 8);
    v[i] = ss;
    return meta_store(w);
}

/* Fires window [end - size, end) of the current key from its slices. */
static int fire_sliced(win_op *w, int64_t end)
{
    int rc = meta_load(w);
    if (rc)
        return rc;
    size_t n;
    int64_t *v = slices(w, &n);
    int64_t start = window_start(w, end);
    acc_create(w, w->acc);
    w->rows_buf.len = 0;
    w->n_emit_ns = 0;
    bool any = false;
    /* copy: loading accumulators may not move meta_buf, but keep it simple and safe */
    for (size_t i = 0; i < n; i++) {
        if (v[i] < start || v[i] >= end)
            continue;
        if ((rc = acc_load(w, v[i], w->acc2)) < 0)
            return rc;
        if (rc == 1) {
            acc_merge(w, w->acc, w->acc2);
            if ((rc = gather_rows(w, v[i])) < 0)
                return rc;
            emit_ns_add(w, v[i], false);
            any = true;
        }
    }
    return any ? emit_window(w, start, end, w->acc) : 0;
}

/* Removes the slices whose last window ends at or before end. */
static int purge_slices(win_op *w, int64_t end)
{
    int rc = meta_load(w);
    if (rc)
        return rc;
    size_t n, kept = 0;
    int64_t *v = slices(w, &n);
    for (size_t i = 0; i < n; i++) {
        if (last_start(w, v[i]) + w->size <= end) {
            if ((rc = ns_clear(w, v[i])) < 0)
                return rc;
        } else {
            v[kept++] = v[i];
        }
    }
    w->meta_buf.len = kept * 8;
    return meta_store(w);
}

/* The next window end after `after` that contains one of the key's slices, or RILL_TS_MAX. */
static int64_t next_window_end(win_op *w, int64_t after)
{
    size_t n;
    int64_t *v = slices(w, &n);
    int64_t best = RILL_TS_MAX;
    for (size_t i = 0; i < n; i++) {
        int64_t le = last_start(w, v[i]) + w->size; /* the slice's last window */
        if (le <= after)
            continue;
        int64_t fe = first_end(w, v[i]);
        int64_t e = fe > after ? fe : after + w->slide - floor_mod(after - fe, 0, w->slide);
        if (e > after && e < best)
            best = e;
    }
    return best;
}

static int sliced_timer(win_op *w, rill__timer *t, char tag)
{
    int rc;
    if (tag == NS_FIRE) {
        int64_t end = t->ts + 1;
        if ((rc = fire_sliced(w, end)) < 0)
            return rc;
        if (w->lateness == 0 || w->domain == RILL_PROCESSING_TIME) {
            if ((rc = purge_slices(w, end)) < 0)
                return rc;
        } else if ((rc = timer_add(w, NS_CLEAN, 0, false, sat_add(t->ts, w->lateness),
                                   w->domain)) < 0) {
            return rc;
        }
        if ((rc = meta_load(w)) < 0)
            return rc;
        int64_t next = next_window_end(w, end);
        if (next != RILL_TS_MAX)
            rc = timer_add(w, NS_FIRE, 0, false, next - 1, w->domain);
        return rc;
    }
    if (tag == NS_CLEAN)
        return purge_slices(w, t->ts - w->lateness + 1);
    if (tag == NS_EARLY) {
        int64_t end;
        memcpy(&end, (const char *)t->key.ns + 1, 8);
        if (w->ending || end - 1 <= current_time(w))
            return 0; /* fired for good already, or about to */
        if ((rc = fire_sliced(w, end)) < 0)
            return rc;
        int64_t every = w->cfg->spec.early_every_ms;
        return timer_add(w, NS_EARLY, end, true, t->ts + every, RILL_PROCESSING_TIME);
    }
    return 0;
}

/* A row of the current key at time t into its slice. */
/* A row of the current key at time t; now is the operator's time (watermark or clock), read
 * once per batch by the caller. */
static int sliced_row(win_op *w, const rill_row *row, int64_t t, int64_t now)
{
    int64_t ss = t - floor_mod(t, w->offset, w->q);
    int rc;
    bool fresh;
    cache_entry *ce = w->cache ? cache_slot(w, ss) : NULL;
    if (ce && cache_is(w, ce, ss)) { /* the hot path: add in place */
        fresh = false;
        if ((rc = acc_add(w, cache_acc(ce), row, ss)) < 0)
            return rc;
        ce->dirty = true;
    } else {
        if ((rc = acc_load(w, ss, w->acc)) < 0)
            return rc;
        fresh = rc == 0;
        if (fresh)
            acc_create(w, w->acc);
        if ((rc = acc_add(w, w->acc, row, ss)) < 0)
            return rc;
        if ((rc = acc_store(w, ss, w->acc)) < 0)
            return rc;
    }
    if (w->cfg->spec.trigger == RILL_TRIGGER_COUNT && ce && cache_is(w, ce, ss))
        memcpy(w->acc, cache_acc(ce), w->acc_size);
    if (w->cfg->mode == RILL_WMODE_PROCESS && (rc = rows_add(w, ss, row)) < 0)
        return rc;
    if (w->cfg->spec.trigger == RILL_TRIGGER_COUNT) {
        if (fresh && (rc = slices_insert(w, ss)) < 0)
            return rc;
        int64_t count;
        memcpy(&count, w->acc, 8);
        if (count >= w->cfg->spec.count) { /* fire and purge (tumbling: slice == window) */
            int64_t start = last_start(w, t);
            w->rows_buf.len = 0;
            emit_ns_add(w, ss, true);
            if ((rc = gather_rows(w, ss)) < 0 || (rc = emit_window(w, start, start + w->size,
                                                                     w->acc)) < 0)
                return rc;
            return ns_clear(w, ss);
        }
        if (fresh) /* the window's state goes when it can no longer fire */
            return timer_add(w, NS_CLEAN, 0, false,
                             sat_add(last_start(w, t) + w->size - 1, w->lateness), w->domain);
        return 0;
    }
    if (fresh && (rc = slices_insert(w, ss)) < 0)
        return rc;
    /* windows of this row that already fired (late but allowed): fire again now. Only a row at
     * or below the current time can be in one (every window of t ends after t). */
    int64_t ls = last_start(w, t);
    int64_t end;
    for (bool more = t <= now && first_window(w, t, &end); more; more = next_window(w, t, &end))
        if (end - 1 <= now && sat_add(end - 1, w->lateness) > now)
            if ((rc = fire_sliced(w, end)) < 0)
                return rc;
    if (fresh) {
        int64_t fe = first_end(w, ss);
        while (fe - 1 <= now) /* windows already due fired above: the first one still to come */
            fe += w->slide;
        if (fe <= ls + w->size && (rc = timer_add(w, NS_FIRE, 0, false, fe - 1, w->domain)) < 0)
            return rc;
        if (w->cfg->spec.early_every_ms > 0) {
            int64_t every = w->cfg->spec.early_every_ms;
            int64_t pnow = rill__clock_now(&w->base.clock);
            int64_t at = pnow - floor_mod(pnow, 0, every) + every;
            for (bool more = first_window(w, t, &end); more; more = next_window(w, t, &end))
                if ((rc = timer_add(w, NS_EARLY, end, true, at, RILL_PROCESSING_TIME)) < 0)
                    return rc;
        }
        if (w->lateness > 0 && w->domain == RILL_EVENT_TIME) {
            /* a slice first seen late: its windows that already fired need a cleanup too */
            int64_t last_end = ls + w->size;
            if (last_end - 1 <= now)
                return timer_add(w, NS_CLEAN, 0, false, sat_add(last_end - 1, w->lateness),
                                 w->domain);
        }
    }
    return 0;
}

/* ---- sessions -------------------------------------------------------------------------------- */

static int vals_gather(void *arg, const void *ukey, size_t ukey_len, const void *val, size_t len)
{
    rill__buf *b = arg; /* [ukey length][ukey][value length][value] */
    uint32_t n = (uint32_t)ukey_len, m = (uint32_t)len;
    rill__buf_append(b, &n, 4);
    rill__buf_append(b, ukey, ukey_len);
    rill__buf_append(b, &m, 4);
    rill__buf_append(b, val, len);
    return 0;
}

/* Folds the values of session from into session into (from's are cleared with its state). The
 * entries are copied out first: putting while iterating the same table is not allowed. */
static int vals_fold(win_op *w, int64_t into, int64_t from)
{
    const rill__state_backend_ops *ops = w->base.ctx.backend->ops;
    rill__state_key kf = nskey(w, &from, 8), ki = nskey(w, &into, 8);
    w->vals_buf.len = 0;
    int rc = ops->map_iterate(w->t_vals, &kf, vals_gather, &w->vals_buf);
    for (size_t off = 0; rc >= 0 && off < w->vals_buf.len;) {
        uint32_t n, m;
        memcpy(&n, w->vals_buf.data + off, 4);
        const char *uk = w->vals_buf.data + off + 4;
        memcpy(&m, uk + n, 4);
        const char *v = uk + n + 4;
        off += 8 + (size_t)n + m;
        const void *cur;
        size_t cur_len;
        rc = ops->map_get(w->t_vals, &ki, uk, n, &cur, &cur_len);
        if (rc == 1 && w->cfg->vals_prefer) {
            const rill__user_site *in_user = rill__user_enter(&w->base.site);
            bool take = w->cfg->vals_prefer(w->cfg->agg.user, uk, n, v, m, cur, cur_len);
            rill__user_leave(in_user);
            rc = take ? 0 : 1;
        }
        if (rc == 0)
            rc = ops->map_put(w->t_vals, &ki, uk, n, v, m);
    }
    return rc < 0 ? rc : 0;
}

static int fire_session(win_op *w, const session *s)
{
    int rc = acc_load(w, s->id, w->acc);
    if (rc <= 0)
        return rc;
    w->rows_buf.len = 0;
    emit_ns_add(w, s->id, true);
    if ((rc = gather_rows(w, s->id)) < 0)
        return rc;
    return emit_window(w, s->start, s->end, w->acc);
}

static int session_row(win_op *w, const rill_row *row, int64_t t, int64_t now)
{
    int rc = meta_load(w);
    if (rc)
        return rc;
    /* meta: next id, then sessions sorted by start */
    int64_t next_id = 1;
    if (w->meta_buf.len >= 8)
        memcpy(&next_id, w->meta_buf.data, 8);
    else
        rill__buf_append(&w->meta_buf, &next_id, 8);
    size_t n = (w->meta_buf.len - 8) / sizeof(session);
    session *v = (session *)(void *)(w->meta_buf.data + 8);
    session cur = {t, sat_add(t, w->gap), 0};
    /* merge every session that touches or overlaps [t, t + gap) into the first of them */
    long first = -1;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        session s = v[i];
        if (s.start <= cur.end && s.end >= cur.start) {
            if (first < 0) {
                first = (long)kept;
                cur.id = s.id;
                cur.start = RILL_MIN(cur.start, s.start);
                cur.end = RILL_MAX(cur.end, s.end);
                if ((rc = timer_del(w, NS_SESSION, s.id, s.end - 1, w->domain)) < 0)
                    return rc;
                v[kept++] = s;
                continue;
            }
            /* fold s's state into the first session's */
            cur.start = RILL_MIN(cur.start, s.start);
            cur.end = RILL_MAX(cur.end, s.end);
            if ((rc = timer_del(w, NS_SESSION, s.id, s.end - 1, w->domain)) < 0)
                return rc;
            if ((rc = acc_load(w, cur.id, w->acc)) < 0 || (rc = acc_load(w, s.id, w->acc2)) < 0)
                return rc;
            acc_merge(w, w->acc, w->acc2);
            if ((rc = acc_store(w, cur.id, w->acc)) < 0)
                return rc;
            if (w->t_vals && (rc = vals_fold(w, cur.id, s.id)) < 0)
                return rc;
            if (w->cfg->mode == RILL_WMODE_PROCESS) {
                w->rows_buf.len = 0;
                if ((rc = gather_rows(w, s.id)) < 0)
                    return rc;
                rill__state_key k = nskey(w, &cur.id, 8);
                if (w->rows_buf.len &&
                    (rc = w->base.ctx.backend->ops->value_append(w->t_rows, &k, w->rows_buf.data,
                                                                 w->rows_buf.len)) < 0)
                    return rc;
            }
            if ((rc = ns_clear(w, s.id)) < 0)
                return rc;
            continue;
        }
        v[kept++] = s;
    }
    if (first < 0) {
        cur.id = next_id++;
        memcpy(w->meta_buf.data, &next_id, 8);
        acc_create(w, w->acc);
        /* insert in start order */
        size_t i = kept;
        w->meta_buf.len = 8 + kept * sizeof(session);
        rill__buf_append(&w->meta_buf, &cur, sizeof cur);
        v = (session *)(void *)(w->meta_buf.data + 8);
        while (i > 0 && v[i - 1].start > cur.start) {
            v[i] = v[i - 1];
            i--;
        }
        v[i] = cur;
        kept++;
    } else {
        v[first] = cur;
        w->meta_buf.len = 8 + kept * sizeof(session);
        if ((rc = acc_load(w, cur.id, w->acc)) < 0)
            return rc;
        if (rc == 0)
            acc_create(w, w->acc);
    }
    if ((rc = meta_store(w)) < 0)
        return rc;
    if ((rc = acc_add(w, w->acc, row, cur.id)) < 0 || (rc = acc_store(w, cur.id, w->acc)) < 0)
        return rc;
    if (w->cfg->mode == RILL_WMODE_PROCESS && (rc = rows_add(w, cur.id, row)) < 0)
        return rc;
    if (cur.end - 1 <= now) { /* merged into a session that already fired: fire it again */
        if ((rc = fire_session(w, &cur)) < 0)
            return rc;
        return timer_add(w, NS_SCLEAN, cur.id, true, sat_add(cur.end - 1, w->lateness),
                         w->domain);
    }
    return timer_add(w, NS_SESSION, cur.id, true, cur.end - 1, w->domain);
}

/* Removes session id of the current key (and its state). */
static int session_remove(win_op *w, int64_t id)
{
    int rc = meta_load(w);
    if (rc || w->meta_buf.len < 8)
        return rc;
    size_t n = (w->meta_buf.len - 8) / sizeof(session), kept = 0;
    session *v = (session *)(void *)(w->meta_buf.data + 8);
    for (size_t i = 0; i < n; i++)
        if (v[i].id != id)
            v[kept++] = v[i];
    w->meta_buf.len = kept ? 8 + kept * sizeof(session) : 0;
    if ((rc = meta_store(w)) < 0)
        return rc;
    return ns_clear(w, id);
}

static int session_timer(win_op *w, rill__timer *t, char tag)
{
    int64_t id;
    memcpy(&id, (const char *)t->key.ns + 1, 8);
    int rc = meta_load(w);
    if (rc || w->meta_buf.len < 8)
        return rc;
    size_t n = (w->meta_buf.len - 8) / sizeof(session);
    const session *v = (const session *)(const void *)(w->meta_buf.data + 8);
    session s = {0, 0, -1};
    for (size_t i = 0; i < n; i++)
        if (v[i].id == id)
            s = v[i];
    if (s.id < 0)
        return 0; /* merged away */
    if (tag == NS_SESSION) {
        if (s.end - 1 != t->ts)
            return 0; /* stale: the session grew */
        if ((rc = fire_session(w, &s)) < 0)
            return rc;
        if (w->lateness == 0 || w->domain == RILL_PROCESSING_TIME)
            return session_remove(w, id);
        return timer_add(w, NS_SCLEAN, id, true, sat_add(t->ts, w->lateness), w->domain);
    }
    if (sat_add(s.end - 1, w->lateness) <= t->ts) /* NS_SCLEAN, and the session did not grow */
        return session_remove(w, id);
    return 0;
}

/* ---- the global window ----------------------------------------------------------------------- */

static int global_row(win_op *w, const rill_row *row)
{
    int rc = acc_load(w, 0, w->acc);
    if (rc < 0)
        return rc;
    bool fresh = rc == 0;
    if (fresh)
        acc_create(w, w->acc);
    if ((rc = acc_add(w, w->acc, row, 0)) < 0 || (rc = acc_store(w, 0, w->acc)) < 0)
        return rc;
    if (w->cfg->mode == RILL_WMODE_PROCESS && (rc = rows_add(w, 0, row)) < 0)
        return rc;
    int64_t count;
    memcpy(&count, w->acc, 8);
    if (w->cfg->spec.trigger == RILL_TRIGGER_COUNT && count >= w->cfg->spec.count) {
        w->rows_buf.len = 0;
        emit_ns_add(w, 0, true);
        if ((rc = gather_rows(w, 0)) < 0 ||
            (rc = emit_window(w, RILL_TS_MIN, RILL_TS_MAX, w->acc)) < 0)
            return rc;
        return ns_clear(w, 0);
    }
    if (fresh && w->cfg->spec.early_every_ms > 0) {
        int64_t every = w->cfg->spec.early_every_ms;
        int64_t pnow = rill__clock_now(&w->base.clock);
        return timer_add(w, NS_EARLY, RILL_TS_MAX, true, pnow - floor_mod(pnow, 0, every) + every,
                         RILL_PROCESSING_TIME);
    }
    return 0;
}

static int global_timer(win_op *w, rill__timer *t)
{
    int rc = acc_load(w, 0, w->acc);
    if (rc <= 0)
        return rc;
    w->rows_buf.len = 0;
    emit_ns_add(w, 0, true);
    if ((rc = gather_rows(w, 0)) < 0 || (rc = emit_window(w, RILL_TS_MIN, RILL_TS_MAX, w->acc)) < 0)
        return rc;
    if (w->ending)
        return 0; /* the last firing: the input has ended */
    return timer_add(w, NS_EARLY, RILL_TS_MAX, true, t->ts + w->cfg->spec.early_every_ms,
                     RILL_PROCESSING_TIME);
}

/* ---- the operator ---------------------------------------------------------------------------- */

static int fire_due(win_op *w, rill_time_domain d, int64_t limit)
{
    rill__operator *op = &w->base;
    rill__timer t;
    int popped;
    while ((popped = rill__timers_pop(op->ctx.timers, d, limit, &t)) == 1) {
        rill__keyed_set_timer_key(&w->keyed, &t);
        char tag = t.key.ns_len ? *(const char *)t.key.ns : NS_FIRE;
        /* the timer's namespace is borrowed: keep what the handlers read */
        unsigned char ns[9] = {0};
        if (t.key.ns_len)
            memcpy(ns, t.key.ns, RILL_MIN(t.key.ns_len, sizeof ns));
        t.key.ns = ns;
        int rc;
        if (w->kind == RILL_WINDOW_SESSION)
            rc = session_timer(w, &t, tag);
        else if (w->kind == RILL_WINDOW_GLOBAL)
            rc = global_timer(w, &t);
        else
            rc = sliced_timer(w, &t, tag);
        if (rc < 0)
            return rc;
    }
    if (popped < 0)
        return rill__operator_fail(op, popped, "timers: %s", rill_last_error()[0]
                                                                 ? rill_last_error()
                                                                 : rill_strerror(popped));
    return 0;
}

static int win_open(rill__operator *op)
{
    win_op *w = (win_op *)op;
    int rc = rill__keyed_open(&w->keyed);
    if (rc)
        return rc;
    if ((rc = register_tables(w)) < 0)
        return rill__operator_fail(op, rc, "window state: %s", rill_strerror(rc));
    return rill__operator_open_hook(op);
}

static int late_row(win_op *w, const rill_row *row)
{
    rill__operator *op = &w->base;
    w->late_rows++;
    int tag = w->cfg->late_tag;
    if (tag < 0) {
        op->late_dropped++;
        return 0;
    }
    rill_row out;
    op->ctx.can_emit = true;
    int rc = rill_emit_side(&op->ctx, w->cfg->spec.late, &out);
    op->ctx.can_emit = false;
    if (rc < 0)
        return rc;
    return rill_row_copy(&out, row);
}

static int win_process(rill__operator *op, rill_batch *b)
{
    win_op *w = (win_op *)op;
    int rc = 0;
    int64_t pnow = w->domain == RILL_PROCESSING_TIME ? rill__clock_now(&op->clock) : 0;
    /* per batch, in the windows' (local) time */
    int64_t now = local_now(w, w->domain == RILL_PROCESSING_TIME ? pnow : op->watermark);
    for (uint32_t i = 0; i < b->n_rows && rc == 0; i++) {
        rill_row in = rill__batch_row(b, i);
        int64_t t, t_in;
        if (w->domain == RILL_PROCESSING_TIME) {
            t_in = pnow;
        } else if (b->has_ts && b->ts[i] != RILL_TS_MIN) {
            t_in = b->ts[i];
        } else {
            rc = rill__operator_fail(op, RILL_EINVAL,
                                     "rows have no event time: add rill_stream_event_time "
                                     "before an event-time window");
            break;
        }
        t = to_local(w, t_in);
        op->in_has_ts = b->has_ts;
        op->in_ts = t_in;
        rill__keyed_set_row(&w->keyed, b, i, &in);
        switch (w->kind) {
        case RILL_WINDOW_SESSION: {
            /* late: the window the row opens is past the allowed lateness */
            if (w->domain == RILL_EVENT_TIME &&
                sat_add(sat_add(t, w->gap) - 1, w->lateness) <= now) {
                rc = late_row(w, &in);
                break;
            }
            rc = session_row(w, &in, t, now);
            break;
        }
        case RILL_WINDOW_GLOBAL:
            rc = global_row(w, &in);
            break;
        default: {
            int64_t last_end = last_start(w, t) + w->size;
            if (w->domain == RILL_EVENT_TIME &&
                sat_add(last_end - 1, w->lateness) <= now) {
                rc = late_row(w, &in);
                break;
            }
            rc = sliced_row(w, &in, t, now);
            break;
        }
        }
    }
    rill__batch_unref(b);
    if (rc < 0)
        return rc;
    return rill__operator_flush(op);
}

static int win_watermark(rill__operator *op, int64_t wm)
{
    win_op *w = (win_op *)op;
    if (wm <= op->watermark)
        return 0;
    op->watermark = wm;
    int rc = w->domain == RILL_EVENT_TIME ? fire_due(w, RILL_EVENT_TIME, local_now(w, wm)) : 0;
    return rc ? rc : rill__operator_send_watermark(op, wm);
}

static int win_tick(rill__operator *op, int64_t now_ms)
{
    win_op *w = (win_op *)op;
    int rc = fire_due(w, RILL_PROCESSING_TIME, local_now(w, now_ms));
    if (rc == 0)
        rc = rill__operator_flush(op);
    op->next_tick_ms = timer_epoch(w, rill__timers_next(op->ctx.timers, RILL_PROCESSING_TIME));
    return rc;
}

static int win_end(rill__operator *op)
{
    win_op *w = (win_op *)op;
    /* the input has ended: event-time windows fired on the final watermark; processing-time
     * windows fire now rather than never (early firings fire no more) */
    w->ending = true;
    int rc = 0;
    if (w->domain == RILL_PROCESSING_TIME)
        rc = fire_due(w, RILL_PROCESSING_TIME, RILL_TS_MAX);
    else if (op->watermark != RILL_TS_MAX)
        rc = win_watermark(op, RILL_TS_MAX);
    if (rc == 0)
        rc = rill__operator_end_outputs(op);
    return rc;
}

/* Writes every dirty cached accumulator back to the backend (before a snapshot). */
static int cache_flush(win_op *w)
{
    for (size_t i = 0; w->cache && i <= w->cache_mask; i++) {
        cache_entry *e = (cache_entry *)(void *)(w->cache + i * w->cache_stride);
        if (e->used && e->dirty) {
            int rc = cache_evict(w, e);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static int win_snapshot(rill__operator *op, uint64_t id, rill__buf *out,
                        rill__ksnap **keyed_out)
{
    win_op *w = (win_op *)op;
    (void)id, (void)out;
    int rc = cache_flush(w);
    if (rc < 0)
        return rill__operator_fail(op, rc, "snapshot: writing cached state back: %s",
                                   rill_strerror(rc));
    /* event time: the watermark at the barrier, before the keyed state. The end of event
     * time (the input ended, or a drained savepoint) is not kept: a run restored from a drained
     * savepoint goes on from where its rows' watermark will be, as the event-time operator's */
    if (w->domain == RILL_EVENT_TIME)
        rill__ksnap_put_watermark(out, op->watermark == RILL_TS_MAX ? RILL_TS_MIN
                                                                    : op->watermark);
    return rill__keyed_snap(&w->keyed, keyed_out);
}

/*
 * The windows a subtask fired before the checkpoint are gone from its state, so it must not
 * take rows of them after the restore: the watermark it had is sent first (as the event-time
 * operator's own), and rows at or below it stay late. At another parallelism the sources'
 * per-split state does not follow the splits (event_time.c) and their watermarks restart
 * lower; without this a row late before the failure would start a fired window again and emit
 * it a second time. An aligned barrier comes after the same watermarks on every channel, so
 * every old subtask had the same watermark: the least is taken (at least-once, barriers are
 * not aligned and the least is the safe one).
 */
static int win_restore(rill__operator *op, int old_subtask, int old_par, const void *data,
                       size_t len)
{
    win_op *w = (win_op *)op;
    (void)old_subtask, (void)old_par;
    int64_t wm;
    if (rill__ksnap_take_watermark(&data, &len, &wm)) {
        if (!w->rs_wm_seen || wm < op->restored_watermark)
            op->restored_watermark = wm;
        w->rs_wm_seen = true;
    }
    return rill__keyed_load(&w->keyed, data, len);
}

static void win_close(rill__operator *op)
{
    win_op *w = (win_op *)op;
    if (w->late_rows > 0 && w->cfg->late_tag < 0)
        rill__log(RILL_LOG_WARN, "window '%s' (subtask %d/%d): dropped %lld late rows",
                  op->uid, op->subtask + 1, op->parallelism, (long long)w->late_rows);
    rill__operator_close_hook(op);
    rill__operator_publish_counters(op);
}

static void win_destroy(rill__operator *op)
{
    win_op *w = (win_op *)op;
    rill__keyed_fini(&w->keyed);
    free(w->acc);
    free(w->acc2);
    free(w->cache);
    free(w->order);
    free(w->emit_ns);
    rill__buf_free(&w->vals_buf);
    rill__buf_free(&w->rows_buf);
    rill__buf_free(&w->meta_buf);
    rill__buf_free(&w->enc);
    rill__batch_unref(w->scratch);
    rill__batch_unref(w->agg_scratch);
    rill__operator_fini(op);
    free(w);
}

static const rill__operator_ops win_ops = {
    .kind = "window",
    .open = win_open,
    .process = win_process,
    .watermark = win_watermark,
    .tick = win_tick,
    .snapshot = win_snapshot,
    .restore = win_restore,
    .end_input = win_end,
    .close = win_close,
    .destroy = win_destroy,
};

rill__operator *rill__op_window(const rill__op_init *init, const rill__key_spec *key,
                                const rill__state_backend_ops *backend,
                                const rill__window_cfg *cfg)
{
    win_op *w = rill__xcalloc(1, sizeof *w);
    rill__operator_init(&w->base, &win_ops, init);
    rill__keyed_init(&w->keyed, &w->base, key, backend);
    w->cfg = cfg;
    const rill_window_spec *s = &cfg->spec;
    w->kind = s->kind;
    w->domain = s->domain;
    w->zone = cfg->zone;
    w->size = s->size_ms;
    w->slide = s->kind == RILL_WINDOW_SLIDING || s->kind == RILL_WINDOW_CUMULATE ? s->slide_ms
                                                                                 : s->size_ms;
    w->offset = s->offset_ms;
    w->gap = s->gap_ms;
    w->lateness = s->domain == RILL_EVENT_TIME ? s->allowed_lateness_ms : 0;
    w->q = w->size > 0 && w->slide > 0 ? gcd64(w->size, w->slide) : 1;
    if (cfg->n_aggs > 0)
        w->acc_size = 8 + (size_t)cfg->n_aggs * sizeof(agg_acc);
    else
        w->acc_size = 8 + cfg->agg.acc_size;
    w->acc_size = (w->acc_size + 7) & ~(size_t)7;
    w->acc = rill__xcalloc(1, w->acc_size);
    w->acc2 = rill__xcalloc(1, w->acc_size);
    /* the operator's own state: ids 0..2 of its own tables */
    w->d_acc = (rill_state_desc){.id = 0, .name = "window-acc", .kind = RILL_STATE_VALUE,
                                 .value_size = w->acc_size};
    w->d_rows = (rill_state_desc){.id = 1, .name = "window-rows", .kind = RILL_STATE_LIST};
    w->d_meta = (rill_state_desc){.id = 2, .name = "window-meta", .kind = RILL_STATE_VALUE};
    w->d_vals = (rill_state_desc){.id = 3, .name = "window-values", .kind = RILL_STATE_MAP};
    if (key->fast_u64) {
        w->cache_stride = (sizeof(cache_entry) + w->acc_size + 15) & ~(size_t)15;
        w->cache = rill__xcalloc(CACHE_SLOTS, w->cache_stride);
        w->cache_mask = CACHE_SLOTS - 1;
    }
    if (cfg->mode == RILL_WMODE_PROCESS)
        w->scratch = rill__batch_new(init->in_schema, 1);
    if (cfg->mode == RILL_WMODE_AGG_PROCESS)
        w->agg_scratch = rill__batch_new(cfg->agg_schema, 1);
    return &w->base;
}

int rill_ctx_window(const rill_ctx *ctx, rill_window *w_out)
{
    if (!ctx || !ctx->window)
        return RILL_ESTATE;
    *w_out = *ctx->window;
    return 0;
}

/* ---- values of an aggregate beside its accumulator --------------------------------------------- */

/* The window operator of ctx while its aggregate adds (adding) or emits, else NULL. */
static win_op *vals_op(rill_ctx *ctx, bool adding)
{
    if (!ctx || !ctx->op || ctx->op->ops != &win_ops)
        return NULL;
    win_op *w = (win_op *)ctx->op;
    if (!w->t_vals || (adding ? !w->adding : !w->emitting))
        return NULL;
    return w;
}

int rill__window_vals_get(rill_ctx *ctx, const void *ukey, size_t ukey_len, const void **val_out,
                          size_t *len_out)
{
    win_op *w = vals_op(ctx, true);
    if (!w)
        return RILL_ESTATE;
    rill__state_key k = nskey(w, &w->add_ns, 8);
    return w->base.ctx.backend->ops->map_get(w->t_vals, &k, ukey, ukey_len, val_out, len_out);
}

int rill__window_vals_put(rill_ctx *ctx, const void *ukey, size_t ukey_len, const void *val,
                          size_t len)
{
    win_op *w = vals_op(ctx, true);
    if (!w)
        return RILL_ESTATE;
    rill__state_key k = nskey(w, &w->add_ns, 8);
    return w->base.ctx.backend->ops->map_put(w->t_vals, &k, ukey, ukey_len, val, len);
}

int rill__window_vals_iterate(rill_ctx *ctx,
                              int (*fn)(void *arg, const void *ukey, size_t ukey_len,
                                        const void *val, size_t len),
                              void *arg)
{
    win_op *w = vals_op(ctx, false);
    if (!w)
        return RILL_ESTATE;
    for (size_t i = 0; i < w->n_emit_ns; i++) {
        rill__state_key k = nskey(w, &w->emit_ns[i], 8);
        int rc = w->base.ctx.backend->ops->map_iterate(w->t_vals, &k, fn, arg);
        if (rc)
            return rc;
    }
    return 0;
}
