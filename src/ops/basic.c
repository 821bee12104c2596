/* basic.c - ops layer: the stateless per-row operators map, filter and flat_map, and union. */
#include <stdlib.h>
#include <string.h>

#include "ops.h"

typedef struct fn_op {
    rill__operator base;
    union {
        rill_map_fn map;
        rill_filter_fn filter;
        rill_flat_map_fn flat_map;
    } fn;
    bool in_place;     /* map keeps the schema: rows are rewritten inside the input batch */
    uint64_t *scratch; /* map in place: a copy of the input row */
} fn_op;

static void fn_destroy(rill__operator *op)
{
    fn_op *f = (fn_op *)op;
    rill__operator_fini(op);
    free(f->scratch);
    free(f);
}

static inline void set_row_ts(rill__operator *op, const rill_batch *b, uint32_t i)
{
    op->in_has_ts = b->has_ts;
    if (b->has_ts)
        op->in_ts = b->ts[i];
}

/* ---- map ------------------------------------------------------------------------------------ */

static int map_in_place(fn_op *f, rill_batch *b)
{
    rill__operator *op = &f->base;
    uint32_t nw = b->null_words, rw = b->row_words;
    for (uint32_t i = 0; i < b->n_rows; i++) {
        rill_row out = rill__batch_row(b, i);
        memcpy(f->scratch, out.nulls, rw * sizeof(uint64_t));
        rill_row in = {.v = f->scratch + nw, .nulls = f->scratch, .batch = b};
        for (uint32_t w = 0; w < nw; w++)
            out.nulls[w] = ~UINT64_C(0);
        set_row_ts(op, b, i); /* rill_ctx_timestamp */
        const rill__user_site *in_user = rill__user_enter(&op->site);
        int rc = f->fn.map(&op->ctx, &in, &out);
        rill__user_leave(in_user);
        if (RILL_UNLIKELY(rc < 0)) {
            rill__batch_unref(b);
            return rill__operator_user_failed(op, rc, "map");
        }
    }
    return rill__operator_forward(op, b);
}

static int map_process(rill__operator *op, rill_batch *b)
{
    fn_op *f = (fn_op *)op;
    if (f->in_place && rill__batch_exclusive(b))
        return map_in_place(f, b);
    for (uint32_t i = 0; i < b->n_rows; i++) {
        rill_row in = rill__batch_row(b, i), out;
        set_row_ts(op, b, i);
        op->ctx.can_emit = true;
        int rc = rill_emit(&op->ctx, &out);
        op->ctx.can_emit = false;
        if (rc == 0) {
            if (RILL_UNLIKELY(b->has_kinds)) /* a map keeps the row's kind, as in place */
                rill_row_set_kind(&out, rill__batch_kind(b, i));
            const rill__user_site *in_user = rill__user_enter(&op->site);
            rc = f->fn.map(&op->ctx, &in, &out);
            rill__user_leave(in_user);
        }
        if (RILL_UNLIKELY(rc < 0)) {
            rill__batch_unref(b);
            return rill__operator_user_failed(op, rc, "map");
        }
    }
    rill__batch_unref(b);
    return rill__operator_flush(op);
}

/* ---- filter --------------------------------------------------------------------------------- */

static int filter_process(rill__operator *op, rill_batch *b)
{
    fn_op *f = (fn_op *)op;
    if (!rill__batch_exclusive(b)) { /* shared: keep the rows in a batch of our own */
        rill_batch *own = rill__batch_get(op->main.pool);
        if (b->has_ts) {
            rill__batch_need_ts(own);
            own->has_ts = true;
        }
        if (b->has_hashes) {
            rill__batch_need_hashes(own);
            own->has_hashes = true;
        }
        for (uint32_t i = 0; i < b->n_rows; i++) {
            rill_row in = rill__batch_row(b, i);
            set_row_ts(op, b, i);
            const rill__user_site *in_user = rill__user_enter(&op->site);
            int keep = f->fn.filter(&op->ctx, &in);
            rill__user_leave(in_user);
            if (RILL_UNLIKELY(keep < 0)) {
                rill__batch_unref(own);
                rill__batch_unref(b);
                return rill__operator_user_failed(op, keep, "filter");
            }
            if (keep) {
                if (b->has_ts)
                    own->ts[own->n_rows] = b->ts[i];
                if (b->has_hashes)
                    own->hashes[own->n_rows] = b->hashes[i];
                rill__batch_append_copy(own, &in);
            }
        }
        rill__batch_unref(b);
        return rill__operator_forward(op, own);
    }
    /* exclusive: compact the kept rows to the front, in place */
    uint32_t rw = b->row_words, kept = 0;
    for (uint32_t i = 0; i < b->n_rows; i++) {
        rill_row in = rill__batch_row(b, i);
        set_row_ts(op, b, i);
        const rill__user_site *in_user = rill__user_enter(&op->site);
        int keep = f->fn.filter(&op->ctx, &in);
        rill__user_leave(in_user);
        if (RILL_UNLIKELY(keep < 0)) {
            rill__batch_unref(b);
            return rill__operator_user_failed(op, keep, "filter");
        }
        if (!keep)
            continue;
        if (kept != i) {
            memcpy(b->rows + (size_t)kept * rw, b->rows + (size_t)i * rw, rw * sizeof(uint64_t));
            if (b->has_ts)
                b->ts[kept] = b->ts[i];
            if (b->has_hashes)
                b->hashes[kept] = b->hashes[i];
            if (b->has_kinds)
                b->kinds[kept] = b->kinds[i];
        }
        kept++;
    }
    b->n_rows = kept;
    return rill__operator_forward(op, b);
}

/* ---- flat_map ------------------------------------------------------------------------------- */

static int flat_map_process(rill__operator *op, rill_batch *b)
{
    fn_op *f = (fn_op *)op;
    op->ctx.can_emit = true;
    for (uint32_t i = 0; i < b->n_rows; i++) {
        rill_row in = rill__batch_row(b, i);
        set_row_ts(op, b, i);
        const rill__user_site *in_user = rill__user_enter(&op->site);
        int rc = f->fn.flat_map(&op->ctx, &in);
        rill__user_leave(in_user);
        if (RILL_UNLIKELY(rc < 0)) {
            op->ctx.can_emit = false;
            rill__batch_unref(b);
            return rill__operator_user_failed(op, rc, "flat_map");
        }
    }
    op->ctx.can_emit = false;
    rill__batch_unref(b);
    return rill__operator_flush(op);
}

static const rill__operator_ops map_ops = {
    .kind = "map",
    .open = rill__operator_open_hook,
    .process = map_process,
    .end_input = rill__operator_end_outputs,
    .close = rill__operator_close,
    .destroy = fn_destroy,
};
static const rill__operator_ops filter_ops = {
    .kind = "filter",
    .open = rill__operator_open_hook,
    .process = filter_process,
    .end_input = rill__operator_end_outputs,
    .close = rill__operator_close,
    .destroy = fn_destroy,
};
static const rill__operator_ops flat_map_ops = {
    .kind = "flat_map",
    .open = rill__operator_open_hook,
    .process = flat_map_process,
    .end_input = rill__operator_end_outputs,
    .close = rill__operator_close,
    .destroy = fn_destroy,
};

static fn_op *fn_op_new(const rill__operator_ops *ops, const rill__op_init *init)
{
    fn_op *f = rill__xcalloc(1, sizeof *f);
    rill__operator_init(&f->base, ops, init);
    return f;
}

rill__operator *rill__op_map(const rill__op_init *init, rill_map_fn fn)
{
    fn_op *f = fn_op_new(&map_ops, init);
    f->fn.map = fn;
    f->in_place = init->out_schema == NULL || init->out_schema == init->in_schema;
    if (f->in_place) {
        uint32_t nw = (uint32_t)(init->in_schema->n_fields + 63) / 64;
        f->scratch = rill__xcalloc((nw ? nw : 1) + (size_t)init->in_schema->n_fields + 1,
                                   sizeof(uint64_t));
    }
    return &f->base;
}

rill__operator *rill__op_filter(const rill__op_init *init, rill_filter_fn fn)
{
    rill__op_init i2 = *init;
    i2.out_schema = NULL;
    fn_op *f = fn_op_new(&filter_ops, &i2);
    f->fn.filter = fn;
    return &f->base;
}

rill__operator *rill__op_flat_map(const rill__op_init *init, rill_flat_map_fn fn)
{
    fn_op *f = fn_op_new(&flat_map_ops, init);
    f->fn.flat_map = fn;
    return &f->base;
}

/* ---- union ---------------------------------------------------------------------------------- */

/* Batches of every input go on as they come. A row is read by the schema its batch carries
 * (JSON and CSV sinks take names and text formats from it), so each batch is renamed to the
 * union's own; and source split marks, which name a split of one input, are dropped: split
 * ids of different inputs would meet in an event-time operator after the union. */
static int union_process(rill__operator *op, rill_batch *b)
{
    bool marked = b->split >= 0 || b->split_new || b->split_done;
    if (b->schema != op->out_schema || marked) {
        if (marked && b->n_rows == 0) { /* a split's mark and nothing else */
            rill__batch_unref(b);
            return 0;
        }
        if (!rill__batch_exclusive(b)) {
            rill_batch *own = rill__batch_clone(b);
            rill__batch_unref(b);
            b = own;
        }
        rill__batch_set_schema(b, op->out_schema);
        b->split = -1;
        b->split_new = b->split_done = false;
    }
    return rill__operator_forward(op, b);
}

static void union_destroy(rill__operator *op)
{
    rill__operator_fini(op);
    free(op);
}

static const rill__operator_ops union_ops = {
    .kind = "union",
    .open = rill__operator_open_hook,
    .process = union_process,
    .end_input = rill__operator_end_outputs,
    .close = rill__operator_close,
    .destroy = union_destroy,
};

rill__operator *rill__op_union(const rill__op_init *init)
{
    rill__operator *op = rill__xcalloc(1, sizeof *op);
    rill__operator_init(op, &union_ops, init);
    return op;
}
