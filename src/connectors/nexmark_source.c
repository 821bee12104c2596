/*
 * nexmark_source.c - connectors layer: the Nexmark source. The event stream is cut into splits
 * as the reference cuts it (one per subtask at the job's start); split s belongs to subtask
 * s mod parallelism, so a restore at any parallelism hands every split, with the number of
 * events it has emitted, to exactly one new subtask.
 */
#include <stdlib.h>
#include <string.h>

#include "connectors/nexmark_gen.h"

typedef struct nx_cfg {
    rill__nexmark_cfg opts;
    int64_t base_time; /* resolved: the option, or the wall clock when the options were read */
} nx_cfg;

void *rill__nexmark_source_cfg(const char *const *options, rill__err *err)
{
    nx_cfg *c = rill__xcalloc(1, sizeof *c);
    if (rill__nexmark_cfg_parse(&c->opts, options, err) != 0) {
        free(c);
        return NULL;
    }
    c->base_time = c->opts.base_time_set ? c->opts.base_time : rill__now_ms();
    return c;
}

static void nx_cfg_free(void *cfg)
{
    free(cfg);
}

/* Each schema field must be one of the columns, with its type (any subset, any order). */
static int nx_validate(const void *cfg, const rill_schema *schema, rill__err *err)
{
    (void)cfg;
    for (int i = 0; i < schema->n_fields; i++) {
        const rill__field *f = &schema->fields[i];
        int c = 0;
        while (c < rill__nexmark_n_columns && strcmp(rill__nexmark_columns[c].name, f->name))
            c++;
        if (c == rill__nexmark_n_columns)
            return rill__err_set(err, RILL_ECONFIG,
                                 "nexmark source: no column '%s' (columns: event_type, person, "
                                 "person.id, ..., auction, auction.id, ..., bid, bid.auction, "
                                 "...: docs/nexmark.md)",
                                 f->name);
        if (rill__nexmark_columns[c].type != f->type)
            return rill__err_set(err, RILL_ECONFIG, "nexmark source: column '%s' is %s, not %s",
                                 f->name, rill_type_name(rill__nexmark_columns[c].type),
                                 rill_type_name(f->type));
        for (int j = 0; j < i; j++)
            if (!strcmp(schema->fields[j].name, f->name))
                return rill__err_set(err, RILL_ECONFIG,
                                     "nexmark source: column '%s' is given twice", f->name);
    }
    return 0;
}

typedef struct nx_split {
    int32_t s;
    int64_t k;         /* events emitted */
    int64_t n_events;  /* all it has */
    int64_t wall_base; /* wall clock ms of its first event (pacing); -1 none yet */
} nx_split;

typedef struct nx_source {
    rill__source base;
    const nx_cfg *cfg;
    rill__err *err;
    char *uid;
    int subtask, par;
    rill__nexmark_gen gen; /* for gen.n_splits splits from gen.base_time */
    bool all_done;         /* restored from a checkpoint in which every split had ended */
    nx_split *own;
    int n_own;
    int *col;  /* per column of the table: its schema field, or -1 */
    unsigned want; /* what of each event the columns read (rill__nexmark_event_some) */
    char *buf; /* one event's strings */
} nx_source;

/* (Re)builds the generator for n_splits splits from base_time, owning this subtask's share,
 * all at their beginning. */
static void take_layout(nx_source *x, int n_splits, int64_t base_time)
{
    if (x->gen.n_splits != n_splits || x->gen.base_time != base_time || !x->buf) {
        rill__nexmark_gen_fini(&x->gen);
        rill__nexmark_gen_init(&x->gen, &x->cfg->opts, n_splits, base_time);
        free(x->buf);
        x->buf = rill__xmalloc(x->gen.buf_size);
    }
    free(x->own);
    x->own = NULL;
    x->n_own = 0;
    int n = n_splits > x->subtask ? (n_splits - 1 - x->subtask) / x->par + 1 : 0;
    x->own = rill__xcalloc(n ? (size_t)n : 1, sizeof *x->own);
    for (int s = x->subtask; s < n_splits; s += x->par)
        x->own[x->n_own++] = (nx_split){s, 0, rill__nexmark_split_events(&x->gen, s), -1};
}

static int nx_create(const void *cfg, const rill_schema *schema, const rill__conn_init *init,
                     rill__source **out)
{
    *out = NULL;
    int rc = nx_validate(cfg, schema, init->err);
    if (rc)
        return rc;
    const nx_cfg *c = cfg;
    nx_source *x = rill__xcalloc(1, sizeof *x);
    x->base.ops = &rill__nexmark_source_ops;
    x->cfg = c;
    x->err = init->err;
    x->uid = rill__xstrdup(init->uid ? init->uid : "nexmark");
    x->subtask = init->subtask;
    x->par = init->parallelism > 0 ? init->parallelism : 1;
    x->col = rill__xmalloc((size_t)rill__nexmark_n_columns * sizeof *x->col);
    for (int i = 0; i < rill__nexmark_n_columns; i++) {
        const rill__nexmark_column *col = &rill__nexmark_columns[i];
        x->col[i] = rill_schema_index(schema, col->name);
        /* a row's BOOL column and its dateTime are the event's kind and time: no generation */
        const char *dot = strchr(col->name, '.');
        if (x->col[i] < 0 || col->kind < 0 || !dot || !strcmp(dot, ".dateTime"))
            continue;
        x->want |= 1u << col->kind;
        if (!strcmp(dot, ".extra"))
            x->want |= 1u << (col->kind + 4);
    }
    /* the reference's numEventGenerators is the parallelism the job starts at */
    take_layout(x, x->par, c->base_time);
    *out = &x->base;
    return 0;
}

static inline void set_slot(rill_row *r, int i, uint64_t v)
{
    r->v[i] = v;
    r->nulls[i >> 6] &= ~(UINT64_C(1) << (i & 63));
}

/* Column values of one event, in the table's order (the BOOL row columns and the other kinds'
 * leaves are handled by the caller). */
static int fill_row(nx_source *x, rill_batch *b, rill_row *r, const rill__nexmark_event *ev)
{
    const int *col = x->col;
    int rc = 0;
#define NUM(i, v)                                                                                  \
    do {                                                                                           \
        if (col[i] >= 0)                                                                           \
            set_slot(r, col[i], (uint64_t)(v));                                                    \
    } while (0)
#define STR(i, sv)                                                                                 \
    do {                                                                                           \
        if (col[i] >= 0) {                                                                         \
            uint64_t slot;                                                                         \
            if ((rc = rill__batch_put_bytes(b, (sv).p, (sv).len, &slot)) != 0)                     \
                return rc;                                                                         \
            set_slot(r, col[i], slot);                                                             \
        }                                                                                          \
    } while (0)
    NUM(0, ev->kind);
    switch (ev->kind) {
    case RILL_NEXMARK_PERSON:
        NUM(1, 1);
        NUM(2, ev->person.id);
        STR(3, ev->person.name);
        STR(4, ev->person.email_address);
        STR(5, ev->person.credit_card);
        STR(6, ev->person.city);
        STR(7, ev->person.state);
        NUM(8, ev->date_time);
        STR(9, ev->person.extra);
        break;
    case RILL_NEXMARK_AUCTION:
        NUM(10, 1);
        NUM(11, ev->auction.id);
        STR(12, ev->auction.item_name);
        STR(13, ev->auction.description);
        NUM(14, ev->auction.initial_bid);
        NUM(15, ev->auction.reserve);
        NUM(16, ev->date_time);
        NUM(17, ev->auction.expires);
        NUM(18, ev->auction.seller);
        NUM(19, ev->auction.category);
        STR(20, ev->auction.extra);
        break;
    default:
        NUM(21, 1);
        NUM(22, ev->bid.auction);
        NUM(23, ev->bid.bidder);
        NUM(24, ev->bid.price);
        STR(25, ev->bid.channel);
        STR(26, ev->bid.url);
        NUM(27, ev->date_time);
        STR(28, ev->bid.extra);
        break;
    }
#undef NUM
#undef STR
    return 0;
}

/* The owned split whose next event comes first in event time: the one with the fewest events
 * emitted (all splits share one timeline); -1 when all have ended. */
static int next_split(const nx_source *x)
{
    int best = -1;
    for (int i = 0; i < x->n_own; i++) {
        const nx_split *sp = &x->own[i];
        if (sp->k < sp->n_events && (best < 0 || sp->k < x->own[best].k))
            best = i;
    }
    return best;
}

static int nx_poll(rill__source *s, rill_batch *b, int64_t *wait_ns_out)
{
    nx_source *x = (nx_source *)s;
    if (wait_ns_out)
        *wait_ns_out = 0;
    b->split = 0; /* one split per subtask, as event time sees it: its timestamps only grow */
    const rill__nexmark_cfg *o = &x->cfg->opts;
    while (b->n_rows < b->cap_rows) {
        int i = next_split(x);
        if (i < 0)
            break;
        nx_split *sp = &x->own[i];
        if (!o->max_emit_speed) {
            /* the reference's pacing: an event is due at the wall clock of the split's first
             * event plus its distance in event time from the base time */
            int64_t now = rill__now_ms();
            if (sp->wall_base < 0)
                sp->wall_base = now;
            int64_t due =
                sp->wall_base + (rill__nexmark_timestamp(&x->gen, 1 + sp->k) - x->gen.base_time);
            if (due > now) {
                if (b->n_rows > 0)
                    return 0;
                if (wait_ns_out)
                    *wait_ns_out = RILL_MIN(due - now, (int64_t)1000) * 1000000;
                return RILL_AGAIN;
            }
        }
        rill__nexmark_event ev;
        rill__nexmark_event_some(&x->gen, sp->s, sp->k, x->buf, &ev, x->want);
        uint32_t at = b->n_rows;
        rill_row r = rill__batch_append(b);
        int rc = fill_row(x, b, &r, &ev);
        if (rc) {
            rill__batch_pop(b);
            return rill__err_set(x->err, rc, "nexmark source '%s': event %lld of split %d: %s",
                                 x->uid, (long long)sp->k, (int)sp->s, rill_strerror(rc));
        }
        rill__batch_need_ts(b);
        b->has_ts = true;
        b->ts[at] = ev.date_time;
        sp->k++;
    }
    if (next_split(x) >= 0)
        return 0;
    if (o->keep_alive) { /* the reference's keep-alive: idle, never ended */
        if (b->n_rows > 0)
            return 0;
        if (wait_ns_out)
            *wait_ns_out = 100 * 1000000;
        return RILL_AGAIN;
    }
    return RILL_DONE;
}

static int64_t nx_skipped(rill__source *s)
{
    (void)s;
    return 0;
}

/* Position: u64 version, u64 number of splits (0: every split had ended), i64 base time,
 * u64 options fingerprint, u64 n; then n x (u64 split, i64 events emitted, i64 wall base). */
#define POS_VERSION 1
#define POS_HEAD    40
#define POS_SPLIT   24
#define MAX_SPLITS  32768

static int nx_position(rill__source *s, rill__buf *out)
{
    nx_source *x = (nx_source *)s;
    rill__buf_put_u64(out, POS_VERSION);
    rill__buf_put_u64(out, x->all_done ? 0 : (uint64_t)x->gen.n_splits);
    rill__buf_put_u64(out, (uint64_t)x->gen.base_time);
    rill__buf_put_u64(out, rill__nexmark_cfg_fingerprint(&x->cfg->opts));
    rill__buf_put_u64(out, x->all_done ? 0 : (uint64_t)x->n_own);
    for (int i = 0; !x->all_done && i < x->n_own; i++) {
        rill__buf_put_u64(out, (uint64_t)x->own[i].s);
        rill__buf_put_u64(out, (uint64_t)x->own[i].k);
        rill__buf_put_u64(out, (uint64_t)x->own[i].wall_base);
    }
    return 0;
}

typedef struct pos_head {
    uint64_t n_splits;
    int64_t base_time;
    uint64_t fingerprint, n;
    const unsigned char *splits;
} pos_head;

static int read_head(nx_source *x, const void *data, size_t len, pos_head *h)
{
    const unsigned char *p = data;
    if (len < POS_HEAD || rill__le_get64(p) != POS_VERSION)
        return rill__err_set(x->err, RILL_ECORRUPT,
                             "nexmark source '%s': a checkpointed position of %zu bytes is not "
                             "one this version wrote",
                             x->uid, len);
    h->n_splits = rill__le_get64(p + 8);
    h->base_time = (int64_t)rill__le_get64(p + 16);
    h->fingerprint = rill__le_get64(p + 24);
    h->n = rill__le_get64(p + 32);
    h->splits = p + POS_HEAD;
    if (h->n_splits > MAX_SPLITS || h->n > h->n_splits || (len - POS_HEAD) / POS_SPLIT != h->n ||
        (len - POS_HEAD) % POS_SPLIT != 0 || h->base_time < 0 || h->base_time > INT64_MAX / 2)
        return rill__err_set(x->err, RILL_ECORRUPT,
                             "nexmark source '%s': a checkpointed position is damaged (%llu "
                             "splits, %llu owned, %zu bytes)",
                             x->uid, (unsigned long long)h->n_splits, (unsigned long long)h->n,
                             len);
    if (h->n_splits > 0 && h->fingerprint != rill__nexmark_cfg_fingerprint(&x->cfg->opts))
        return rill__err_set(x->err, RILL_ECONFIG,
                             "nexmark source '%s': its options changed since the checkpoint; "
                             "the options that decide the events (rates, proportions, sizes, "
                             "hot ratios, events.num, stop-at) must stay the same to resume",
                             x->uid);
    return 0;
}

/* The checkpoint's layout: the number of splits and base time, the same in every position
 * that has them (0 splits: every split had ended). 0 or an error described in x->err. */
static int layout_of(nx_source *x, const rill__source_pos *pos, int n, uint64_t *n_splits,
                     int64_t *base_time)
{
    *n_splits = 0;
    *base_time = 0;
    for (int i = 0; i < n; i++) {
        if (pos[i].parallelism <= 0 || pos[i].subtask < 0 || pos[i].subtask >= pos[i].parallelism)
            return rill__err_set(x->err, RILL_ECORRUPT,
                                 "nexmark source '%s': a checkpointed position of subtask %d "
                                 "of %d",
                                 x->uid, pos[i].subtask, pos[i].parallelism);
        if (pos[i].finished)
            continue;
        pos_head h;
        int rc = read_head(x, pos[i].data, pos[i].len, &h);
        if (rc)
            return rc;
        if (h.n_splits == 0)
            continue;
        if (*n_splits && (h.n_splits != *n_splits || h.base_time != *base_time))
            return rill__err_set(x->err, RILL_ECORRUPT,
                                 "nexmark source '%s': the checkpoint's subtasks disagree on "
                                 "the splits (%llu from base time %lld, %llu from %lld)",
                                 x->uid, (unsigned long long)*n_splits, (long long)*base_time,
                                 (unsigned long long)h.n_splits, (long long)h.base_time);
        *n_splits = h.n_splits;
        *base_time = h.base_time;
    }
    return 0;
}

/* Every split's progress (events emitted, wall clock base) into k and wall, from the old
 * subtask that owned it: a finished one had ended all of its splits, s mod par == subtask.
 * Each split must be covered exactly once. 0 or RILL_ECORRUPT described in x->err. */
static int progress_of(nx_source *x, const rill__source_pos *pos, int n, uint64_t n_splits,
                       int64_t *k, int64_t *wall)
{
    for (uint64_t sp = 0; sp < n_splits; sp++)
        k[sp] = -1;
    for (int i = 0; i < n; i++) {
        const rill__source_pos *p = &pos[i];
        if (p->finished) {
            for (uint64_t sp = (uint64_t)p->subtask; sp < n_splits;
                 sp += (uint64_t)p->parallelism) {
                if (k[sp] >= 0)
                    goto twice;
                k[sp] = rill__nexmark_split_events(&x->gen, (int)sp);
                wall[sp] = -1;
            }
            continue;
        }
        pos_head h;
        int rc = read_head(x, p->data, p->len, &h);
        if (rc)
            return rc;
        for (uint64_t j = 0; j < h.n; j++) {
            const unsigned char *e = h.splits + j * POS_SPLIT;
            uint64_t sp = rill__le_get64(e);
            int64_t kk = (int64_t)rill__le_get64(e + 8);
            int64_t wb = (int64_t)rill__le_get64(e + 16);
            if (sp >= n_splits || kk < 0 || kk > rill__nexmark_split_events(&x->gen, (int)sp) ||
                wb < -1 || wb > INT64_MAX / 2)
                return rill__err_set(x->err, RILL_ECORRUPT,
                                     "nexmark source '%s': the position of subtask %d of %d "
                                     "has split %llu at event %lld (of %llu splits): damaged",
                                     x->uid, p->subtask, p->parallelism, (unsigned long long)sp,
                                     (long long)kk, (unsigned long long)n_splits);
            if (k[sp] >= 0)
                goto twice;
            k[sp] = kk;
            wall[sp] = wb;
        }
    }
    for (uint64_t sp = 0; sp < n_splits; sp++)
        if (k[sp] < 0)
            return rill__err_set(x->err, RILL_ECORRUPT,
                                 "nexmark source '%s': no position of the checkpoint has split "
                                 "%llu of %llu: the splits are not covered exactly once",
                                 x->uid, (unsigned long long)sp, (unsigned long long)n_splits);
    return 0;
twice:
    return rill__err_set(x->err, RILL_ECORRUPT,
                         "nexmark source '%s': two positions of the checkpoint hold one split: "
                         "the splits are not covered exactly once",
                         x->uid);
}

static int nx_seek_rescaled(rill__source *s, const rill__source_pos *pos, int n)
{
    nx_source *x = (nx_source *)s;
    if (n <= 0)
        return 0;
    uint64_t n_splits;
    int64_t base_time;
    int rc = layout_of(x, pos, n, &n_splits, &base_time);
    if (rc)
        return rc;
    if (n_splits == 0) { /* every split had ended */
        free(x->own);
        x->own = NULL;
        x->n_own = 0;
        x->all_done = true;
        return 0;
    }
    x->all_done = false;
    take_layout(x, (int)n_splits, base_time);
    int64_t *k = rill__xmalloc(n_splits * sizeof *k), *wall = rill__xmalloc(n_splits * 8);
    rc = progress_of(x, pos, n, n_splits, k, wall);
    for (int i = 0; rc == 0 && i < x->n_own; i++) {
        x->own[i].k = k[x->own[i].s];
        x->own[i].wall_base = wall[x->own[i].s];
    }
    free(k);
    free(wall);
    return rc;
}

static int nx_seek(rill__source *s, const void *pos, size_t len)
{
    nx_source *x = (nx_source *)s;
    rill__source_pos p = {x->subtask, x->par, false, pos, len};
    pos_head h;
    int rc = read_head(x, pos, len, &h);
    if (rc)
        return rc;
    /* only a position that holds every split (a job of one subtask) stands alone; the runtime
     * restores through nx_seek_rescaled with every subtask's position (restore_from_all) */
    return nx_seek_rescaled(s, &p, 1);
}

static void nx_destroy(rill__source *s)
{
    nx_source *x = (nx_source *)s;
    if (!x)
        return;
    rill__nexmark_gen_fini(&x->gen);
    free(x->own);
    free(x->col);
    free(x->buf);
    free(x->uid);
    free(x);
}

const rill__source_ops rill__nexmark_source_ops = {
    .kind = "nexmark",
    .validate = nx_validate,
    .create = nx_create,
    .poll = nx_poll,
    .skipped = nx_skipped,
    .position = nx_position,
    .seek = nx_seek,
    .seek_rescaled = nx_seek_rescaled,
    .restore_from_all = true,
    .destroy = nx_destroy,
    .cfg_free = nx_cfg_free,
};
