/* keyed.c - ops layer: the keyed process operator (process function, on_timer with event- and
 * processing-time timers) and the keyed ValueState calls. */
#include <stdlib.h>
#include <string.h>

#include "keyed_int.h"

typedef struct keyed_op {
    rill__operator base;
    rill__keyed keyed;
    rill_process_fn fn;
    rill_timer_fn on_timer;
    /* two inputs (co-process): the second's function and key fields */
    rill_process_fn fn2;
    rill__key_spec key2;
} keyed_op;

static int keyed_open(rill__operator *op)
{
    keyed_op *k = (keyed_op *)op;
    int rc = rill__keyed_open(&k->keyed);
    return rc ? rc : rill__operator_open_hook(op);
}

static int keyed_process(rill__operator *op, rill_batch *b)
{
    keyed_op *k = (keyed_op *)op;
    bool second = op->input == 1 && k->fn2;
    rill_process_fn fn = second ? k->fn2 : k->fn;
    const rill__key_spec *spec = second ? &k->key2 : &k->keyed.key;
    if (!second)
        rill__keyed_batch_start(&k->keyed, b);
    op->ctx.can_emit = true;
    for (uint32_t i = 0; i < b->n_rows; i++) {
        rill_row in = rill__batch_row(b, i);
        op->in_has_ts = b->has_ts;
        if (b->has_ts)
            op->in_ts = b->ts[i];
        if (!second)
            rill__keyed_prefetch(&k->keyed, b, i);
        rill__keyed_set_row_by(&k->keyed, spec, b, i, &in);
        const rill__user_site *in_user = rill__user_enter(&op->site);
        int rc = fn(&op->ctx, &in);
        rill__user_leave(in_user);
        if (RILL_UNLIKELY(rc < 0)) {
            op->ctx.can_emit = false;
            rill__batch_unref(b);
            return rill__operator_user_failed(op, rc, "process");
        }
    }
    op->ctx.can_emit = false;
    rill__batch_unref(b);
    return rill__operator_flush(op);
}

/* Fires the timers of domain d due at limit, in timestamp order. */
static int fire_timers(keyed_op *k, rill_time_domain d, int64_t limit)
{
    rill__operator *op = &k->base;
    rill__timer t;
    int popped;
    while ((popped = rill__timers_pop(op->ctx.timers, d, limit, &t)) == 1) {
        if (!k->on_timer)
            continue; /* timers without an on_timer function fire into nothing */
        int64_t ts = t.ts;
        rill__keyed_set_timer_key(&k->keyed, &t);
        op->in_has_ts = d == RILL_EVENT_TIME;
        op->in_ts = ts;
        op->ctx.can_emit = true;
        const rill__user_site *in_user = rill__user_enter(&op->site);
        int rc = k->on_timer(&op->ctx, ts, d);
        rill__user_leave(in_user);
        op->ctx.can_emit = false;
        if (rc < 0)
            return rill__operator_user_failed(op, rc, "on_timer");
    }
    if (popped < 0)
        return rill__operator_fail(op, popped, "timers: %s", rill_last_error()[0]
                                                                 ? rill_last_error()
                                                                 : rill_strerror(popped));
    return 0;
}

static int keyed_watermark(rill__operator *op, int64_t wm)
{
    keyed_op *k = (keyed_op *)op;
    if (wm <= op->watermark)
        return 0;
    op->watermark = wm; /* as in Flink, on_timer already sees the new watermark */
    int rc = fire_timers(k, RILL_EVENT_TIME, wm);
    return rc ? rc : rill__operator_send_watermark(op, wm);
}

static int keyed_tick(rill__operator *op, int64_t now_ms)
{
    keyed_op *k = (keyed_op *)op;
    int rc = fire_timers(k, RILL_PROCESSING_TIME, now_ms);
    if (rc == 0)
        rc = rill__operator_flush(op);
    op->next_tick_ms = rill__timers_next(op->ctx.timers, RILL_PROCESSING_TIME);
    return rc;
}

static int keyed_snapshot(rill__operator *op, uint64_t id, rill__buf *out,
                          rill__ksnap **keyed_out)
{
    (void)id, (void)out;
    return rill__keyed_snap(&((keyed_op *)op)->keyed, keyed_out);
}

static int keyed_restore(rill__operator *op, int old_subtask, int old_par, const void *data,
                         size_t len)
{
    (void)old_subtask, (void)old_par;
    return rill__keyed_load(&((keyed_op *)op)->keyed, data, len);
}

static void keyed_destroy(rill__operator *op)
{
    keyed_op *k = (keyed_op *)op;
    rill__keyed_fini(&k->keyed);
    rill__operator_fini(op);
    free(k);
}

static const rill__operator_ops keyed_ops = {
    .kind = "process",
    .open = keyed_open,
    .process = keyed_process,
    .watermark = keyed_watermark,
    .tick = keyed_tick,
    .snapshot = keyed_snapshot,
    .restore = keyed_restore,
    .end_input = rill__operator_end_outputs,
    .close = rill__operator_close,
    .destroy = keyed_destroy,
};

rill__operator *rill__op_keyed_process(const rill__op_init *init, const rill__key_spec *key,
                                       const rill__state_backend_ops *backend,
                                       rill_process_fn fn, rill_timer_fn on_timer)
{
    keyed_op *k = rill__xcalloc(1, sizeof *k);
    rill__operator_init(&k->base, &keyed_ops, init);
    rill__keyed_init(&k->keyed, &k->base, key, backend);
    k->fn = fn;
    k->on_timer = on_timer;
    return &k->base;
}

rill__operator *rill__op_keyed_co_process(const rill__op_init *init, const rill__key_spec *key,
                                          const rill__key_spec *key2,
                                          const rill__state_backend_ops *backend,
                                          rill_process_fn fn, rill_process_fn fn2,
                                          rill_timer_fn on_timer)
{
    rill__operator *op = rill__op_keyed_process(init, key, backend, fn, on_timer);
    keyed_op *k = (keyed_op *)op;
    k->fn2 = fn2;
    k->key2 = *key2;
    return op;
}

/* ---- ValueState ----------------------------------------------------------------------------- */

/* The current operator's table for desc, registered on first use (the slow path). */
__attribute__((noinline)) int rill__ctx_table_slow(rill_ctx *ctx, const rill_state_desc *desc,
                                                   rill__state_table **out)
{
    if (!ctx || !ctx->keyed || !desc) {
        if (ctx && ctx->op)
            return rill__operator_fail(ctx->op, RILL_ESTATE,
                                       "keyed state '%s' used outside a keyed process function",
                                       desc ? desc->name : "?");
        return RILL_ESTATE;
    }
    if (desc->id >= ctx->n_tables) {
        int n = desc->id + 8;
        ctx->tables = rill__xrealloc(ctx->tables, (size_t)n * sizeof *ctx->tables);
        memset(ctx->tables + ctx->n_tables, 0, (size_t)(n - ctx->n_tables) * sizeof *ctx->tables);
        ctx->n_tables = n;
    }
    int rc = ctx->backend->ops->table(ctx->backend, desc, &ctx->tables[desc->id]);
    if (rc < 0)
        return rill__operator_fail(ctx->op, rc, "state '%s': cannot register: %s", desc->name,
                                   rill_last_error()[0] ? rill_last_error() : rill_strerror(rc));
    *out = ctx->tables[desc->id];
    return 0;
}

static inline int state_table(rill_ctx *ctx, const rill_state_desc *desc, rill__state_table **out)
{
    return rill__ctx_table(ctx, desc, out);
}

/* Below, values of descriptors with a TTL go through state_kinds.c: one branch on ttl_ms. */

int rill_value_get_bytes(rill_ctx *ctx, const rill_state_desc *desc, const void **ptr_out,
                         size_t *len_out)
{
    rill__state_table *t;
    int rc = state_table(ctx, desc, &t);
    if (rc < 0)
        return rc;
    if (RILL_UNLIKELY(desc->ttl_ms > 0))
        return rill__ttl_value_get(ctx, t, desc, ptr_out, len_out);
    return ctx->backend->ops->value_get(t, &ctx->key, ptr_out, len_out);
}

int rill_value_get(rill_ctx *ctx, const rill_state_desc *desc, void *out)
{
    rill__state_table *t;
    int rc = state_table(ctx, desc, &t);
    if (RILL_UNLIKELY(rc < 0))
        return rc;
    const void *p;
    size_t len;
    if (RILL_UNLIKELY(desc->ttl_ms > 0))
        rc = rill__ttl_value_get(ctx, t, desc, &p, &len);
    else
        rc = ctx->backend->ops->value_get(t, &ctx->key, &p, &len);
    if (rc == 1) {
        if (RILL_LIKELY(desc->value_size == 8))
            memcpy(out, p, 8); /* the common case, as one load and store */
        else if (desc->value_size > 0)
            memcpy(out, p, desc->value_size);
        else
            return rill__operator_fail(ctx->op, RILL_ESTATE,
                                       "state '%s' has variable-length values: use "
                                       "rill_value_get_bytes", desc->name);
    }
    return rc;
}

int rill_value_set_bytes(rill_ctx *ctx, const rill_state_desc *desc, const void *val, size_t len)
{
    rill__state_table *t;
    int rc = state_table(ctx, desc, &t);
    if (rc < 0)
        return rc;
    if (RILL_UNLIKELY(desc->value_size && len != desc->value_size))
        return rill__operator_fail(ctx->op, RILL_EINVAL,
                                   "state '%s' holds %zu-byte values, got %zu bytes", desc->name,
                                   desc->value_size, len);
    if (RILL_UNLIKELY(desc->ttl_ms > 0))
        return rill__ttl_value_put(ctx, t, desc, val, len);
    return ctx->backend->ops->value_put(t, &ctx->key, val, len);
}

int rill_value_set(rill_ctx *ctx, const rill_state_desc *desc, const void *val)
{
    rill__state_table *t;
    int rc = state_table(ctx, desc, &t);
    if (RILL_UNLIKELY(rc < 0))
        return rc;
    if (RILL_UNLIKELY(desc->value_size == 0))
        return rill__operator_fail(ctx->op, RILL_ESTATE,
                                   "state '%s' has variable-length values: use "
                                   "rill_value_set_bytes", desc->name);
    if (RILL_UNLIKELY(desc->ttl_ms > 0))
        return rill__ttl_value_put(ctx, t, desc, val, desc->value_size);
    return ctx->backend->ops->value_put(t, &ctx->key, val, desc->value_size);
}

int rill_value_clear(rill_ctx *ctx, const rill_state_desc *desc)
{
    rill__state_table *t;
    int rc = state_table(ctx, desc, &t);
    if (rc < 0)
        return rc;
    if (RILL_UNLIKELY(desc->ttl_ms > 0))
        return rill__ttl_value_del(ctx, t, desc);
    return ctx->backend->ops->value_del(t, &ctx->key);
}
