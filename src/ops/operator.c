/* operator.c - ops layer: the operator base (emitters, outputs, failures, counters) and the
 * rill_ctx calls every user function can make. */
#include <stdlib.h>
#include <string.h>

#include "ops.h"

/* ---- outputs -------------------------------------------------------------------------------- */

typedef struct chain_output {
    rill__output base;
    rill__operator *op;
} chain_output;

static int chain_batch(rill__output *o, rill_batch *b)
{
    rill__operator *op = ((chain_output *)o)->op;
    op->records_in += b->n_rows;
    return op->ops->process(op, b);
}

static int chain_end(rill__output *o)
{
    rill__operator *op = ((chain_output *)o)->op;
    return op->ops->end_input(op);
}

static int chain_watermark(rill__output *o, int64_t wm)
{
    return rill__operator_deliver_watermark(((chain_output *)o)->op, wm);
}

static int chain_idle(rill__output *o, bool idle)
{
    return rill__operator_idle(((chain_output *)o)->op, idle);
}

static int chain_barrier(rill__output *o, uint64_t id)
{
    /* chained operators were snapshotted by their task already: pass the barrier on */
    return rill__operator_barrier(((chain_output *)o)->op, id);
}

static void plain_destroy(rill__output *o)
{
    free(o);
}

static const rill__output_ops chain_ops = {.batch = chain_batch,
                                           .watermark = chain_watermark,
                                           .idle = chain_idle,
                                           .barrier = chain_barrier,
                                           .end = chain_end,
                                           .destroy = plain_destroy};

rill__output *rill__output_chain(rill__operator *op)
{
    chain_output *o = rill__xcalloc(1, sizeof *o);
    o->base.ops = &chain_ops;
    o->op = op;
    return &o->base;
}

typedef struct fanout_output {
    rill__output base;
    int n;
    rill__output **outs;
} fanout_output;

/* Each consumer but the last gets a copy of the batch: a consumer may change the rows of a
 * batch it holds the only reference to (event time cuts a batch at a watermark, a partitioner
 * writes hashes), and consumers of one output must not see each other's changes. */
static int fanout_batch(rill__output *o, rill_batch *b)
{
    fanout_output *f = (fanout_output *)o;
    int rc = 0;
    for (int i = 0; i < f->n - 1 && rc == 0; i++)
        rc = f->outs[i]->ops->batch(f->outs[i], rill__batch_clone(b));
    if (rc == 0)
        return f->outs[f->n - 1]->ops->batch(f->outs[f->n - 1], b);
    rill__batch_unref(b);
    return rc;
}

static int fanout_end(rill__output *o)
{
    fanout_output *f = (fanout_output *)o;
    for (int i = 0; i < f->n; i++) {
        int rc = f->outs[i]->ops->end(f->outs[i]);
        if (rc)
            return rc;
    }
    return 0;
}

static int fanout_watermark(rill__output *o, int64_t wm)
{
    fanout_output *f = (fanout_output *)o;
    for (int i = 0; i < f->n; i++) {
        int rc = f->outs[i]->ops->watermark(f->outs[i], wm);
        if (rc)
            return rc;
    }
    return 0;
}

static int fanout_idle(rill__output *o, bool idle)
{
    fanout_output *f = (fanout_output *)o;
    for (int i = 0; i < f->n; i++) {
        int rc = f->outs[i]->ops->idle(f->outs[i], idle);
        if (rc)
            return rc;
    }
    return 0;
}

static int fanout_barrier(rill__output *o, uint64_t id)
{
    fanout_output *f = (fanout_output *)o;
    for (int i = 0; i < f->n; i++) {
        int rc = f->outs[i]->ops->barrier(f->outs[i], id);
        if (rc)
            return rc;
    }
    return 0;
}

static void fanout_destroy(rill__output *o)
{
    fanout_output *f = (fanout_output *)o;
    for (int i = 0; i < f->n; i++)
        rill__output_free(f->outs[i]);
    free(f->outs);
    free(f);
}

static const rill__output_ops fanout_ops = {.batch = fanout_batch,
                                            .watermark = fanout_watermark,
                                            .idle = fanout_idle,
                                            .barrier = fanout_barrier,
                                            .end = fanout_end,
                                            .destroy = fanout_destroy};

rill__output *rill__output_fanout(rill__output **outs, int n)
{
    if (n == 1) {
        rill__output *o = outs[0];
        free(outs);
        return o;
    }
    fanout_output *f = rill__xcalloc(1, sizeof *f);
    f->base.ops = &fanout_ops;
    f->n = n;
    f->outs = outs;
    return &f->base;
}

static int discard_batch(rill__output *o, rill_batch *b)
{
    (void)o;
    rill__batch_unref(b);
    return 0;
}

static int discard_end(rill__output *o)
{
    (void)o;
    return 0;
}

static int discard_watermark(rill__output *o, int64_t wm)
{
    (void)o, (void)wm;
    return 0;
}

static int discard_idle(rill__output *o, bool idle)
{
    (void)o, (void)idle;
    return 0;
}

static int discard_barrier(rill__output *o, uint64_t id)
{
    (void)o, (void)id;
    return 0;
}

static const rill__output_ops discard_ops = {.batch = discard_batch,
                                             .watermark = discard_watermark,
                                             .idle = discard_idle,
                                             .barrier = discard_barrier,
                                             .end = discard_end,
                                             .destroy = plain_destroy};

rill__output *rill__output_discard(void)
{
    rill__output *o = rill__xcalloc(1, sizeof *o);
    o->ops = &discard_ops;
    return o;
}

void rill__output_free(rill__output *o)
{
    if (o)
        o->ops->destroy(o);
}

/* ---- emitters ------------------------------------------------------------------------------- */

static void emitter_init(rill__emitter *em, const rill_schema *schema, uint32_t batch_size)
{
    memset(em, 0, sizeof *em);
    em->pool = rill__batch_pool_new(schema, batch_size, 64);
}

static void emitter_fini(rill__emitter *em)
{
    rill__batch_unref(em->cur);
    rill__batch_unref(em->scratch);
    rill__output_free(em->out);
    rill__batch_pool_free(em->pool);
    memset(em, 0, sizeof *em);
}

static int emitter_push(rill__emitter *em)
{
    rill_batch *b = em->cur;
    em->cur = NULL;
    if (!b)
        return 0;
    if (b->n_rows == 0) {
        rill__batch_unref(b);
        return 0;
    }
    return em->out->ops->batch(em->out, b);
}

/* A new row on em; *row_out is valid until the next call. */
static int emitter_row(rill__operator *op, rill__emitter *em, rill_row *row_out)
{
    em->n_rows++;
    if (!em->out) { /* nobody consumes this output: write into a scratch batch */
        if (!em->scratch)
            em->scratch = rill__batch_get(em->pool);
        if (rill__batch_full(em->scratch) || em->scratch->n_bytes > (1u << 20))
            rill__batch_clear(em->scratch);
        *row_out = rill__batch_append(em->scratch);
        return 0;
    }
    if (em->cur && rill__batch_full(em->cur)) {
        int rc = emitter_push(em);
        if (rc)
            return rc;
    }
    if (!em->cur)
        em->cur = rill__batch_get(em->pool);
    rill_batch *b = em->cur;
    if (op->in_has_ts) {
        if (!b->has_ts) { /* the first timestamped row of this batch */
            rill__batch_need_ts(b);
            b->has_ts = true;
            for (uint32_t i = 0; i < b->n_rows; i++)
                b->ts[i] = INT64_MIN;
        }
        b->ts[b->n_rows] = op->in_ts;
    } else if (b->has_ts) {
        b->ts[b->n_rows] = INT64_MIN;
    }
    *row_out = rill__batch_append(b);
    return 0;
}

/* ---- operator base -------------------------------------------------------------------------- */

void rill__operator_init(rill__operator *op, const rill__operator_ops *ops,
                         const rill__op_init *init)
{
    op->ops = ops;
    op->uid = rill__xstrdup(init->uid);
    op->subtask = init->subtask;
    op->parallelism = init->parallelism;
    op->site = (rill__user_site){op->uid, op->subtask, op->parallelism};
    op->max_parallelism = init->max_parallelism;
    op->open_hook = init->open;
    op->close_hook = init->close;
    op->in_schema = init->in_schema ? rill__schema_ref(init->in_schema) : NULL;
    const rill_schema *out = init->out_schema ? init->out_schema : init->in_schema;
    op->out_schema = out ? rill__schema_ref(out) : NULL;
    op->batch_size = init->batch_size ? init->batch_size : 1024;
    op->task_err = init->task_err;
    op->state_dir = init->state_dir ? rill__xstrdup(init->state_dir) : NULL;
    op->state_memory = init->state_memory;
    op->state_incremental = init->state_incremental;
    op->state_heap_timers = init->state_heap_timers;
    op->watermark = RILL_TS_MIN;
    op->in_watermark = RILL_TS_MIN;
    op->restored_watermark = RILL_TS_MIN;
    op->next_tick_ms = RILL_TS_MAX;
    if (op->out_schema)
        emitter_init(&op->main, op->out_schema, op->batch_size);
    op->n_side = init->n_tags;
    if (op->n_side > 0)
        op->side = rill__xcalloc((size_t)op->n_side, sizeof *op->side);
    rill_ctx *ctx = &op->ctx;
    ctx->op = op;
    ctx->user = init->user;
    ctx->subtask = init->subtask;
    ctx->parallelism = init->parallelism;
    ctx->uid = op->uid;
    ctx->n_counters = init->n_counters;
    ctx->counter_objs = init->counters;
    if (init->n_counters > 0)
        ctx->counters = rill__xcalloc((size_t)init->n_counters, sizeof *ctx->counters);
}

void rill__operator_fini(rill__operator *op)
{
    if (op->main.pool)
        emitter_fini(&op->main);
    for (int i = 0; i < op->n_side; i++)
        if (op->side[i].pool || op->side[i].out)
            emitter_fini(&op->side[i]);
    free(op->side);
    free(op->ctx.counters);
    free(op->ctx.tables);
    rill_schema_free(op->in_schema);
    rill_schema_free(op->out_schema);
    free(op->uid);
    free(op->state_dir);
}

void rill__operator_free(rill__operator *op)
{
    if (op)
        op->ops->destroy(op);
}

void rill__operator_set_output(rill__operator *op, int tag, rill__output *out)
{
    if (tag < 0) {
        RILL_ASSERT(op->main.pool != NULL);
        rill__output_free(op->main.out);
        op->main.out = out;
        return;
    }
    RILL_ASSERT(tag < op->n_side);
    rill__output_free(op->side[tag].out);
    op->side[tag].out = out;
}

int rill__operator_fail(rill__operator *op, int rc, const char *fmt, ...)
{
    char what[RILL_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    rill__err_first(op->task_err, rc, "operator '%s' (subtask %d/%d): %s", op->uid,
                    op->subtask + 1, op->parallelism, what);
    return rc;
}

int rill__operator_user_failed(rill__operator *op, int rc, const char *fn_name)
{
    if (op->ctx.user_err.code != 0 && op->ctx.user_err.msg[0])
        return rill__operator_fail(op, rc, "%s", op->ctx.user_err.msg);
    if (op->task_err->code != 0)
        return rc; /* already described (a failing emit, say) */
    return rill__operator_fail(op, rc, "%s function returned %d (%s)", fn_name, rc,
                               rill_err_name(rc));
}

int rill__operator_open_hook(rill__operator *op)
{
    op->opened = true;
    if (!op->open_hook)
        return 0;
    const rill__user_site *in_user = rill__user_enter(&op->site);
    int rc = op->open_hook(&op->ctx);
    rill__user_leave(in_user);
    if (rc < 0)
        return rill__operator_user_failed(op, rc, "open");
    return 0;
}

void rill__operator_close_hook(rill__operator *op)
{
    if (op->opened && op->close_hook) {
        const rill__user_site *in_user = rill__user_enter(&op->site);
        op->close_hook(&op->ctx);
        rill__user_leave(in_user);
    }
    op->opened = false;
}

void rill__operator_close(rill__operator *op)
{
    rill__operator_close_hook(op);
    rill__operator_publish_counters(op);
}

int rill__operator_flush(rill__operator *op)
{
    int rc = 0;
    if (op->main.cur)
        rc = emitter_push(&op->main);
    for (int i = 0; rc == 0 && i < op->n_side; i++)
        if (op->side[i].cur)
            rc = emitter_push(&op->side[i]);
    return rc;
}

int rill__operator_forward(rill__operator *op, rill_batch *b)
{
    if (b->n_rows == 0) {
        rill__batch_unref(b);
        return 0;
    }
    op->main.n_rows += b->n_rows;
    return op->main.out->ops->batch(op->main.out, b);
}

int rill__operator_end_outputs(rill__operator *op)
{
    int rc = rill__operator_flush(op);
    if (rc == 0 && op->main.out)
        rc = op->main.out->ops->end(op->main.out);
    for (int i = 0; rc == 0 && i < op->n_side; i++)
        if (op->side[i].out)
            rc = op->side[i].out->ops->end(op->side[i].out);
    return rc;
}

int rill__operator_watermark(rill__operator *op, int64_t wm)
{
    if (wm <= op->watermark)
        return rill__operator_flush(op);
    return rill__operator_send_watermark(op, wm);
}

int rill__operator_send_watermark(rill__operator *op, int64_t wm)
{
    int rc = rill__operator_flush(op); /* rows emitted before the watermark go first */
    if (rc)
        return rc;
    op->watermark = wm;
    if (op->main.out && (rc = op->main.out->ops->watermark(op->main.out, wm)))
        return rc;
    for (int i = 0; i < op->n_side; i++)
        if (op->side[i].out && (rc = op->side[i].out->ops->watermark(op->side[i].out, wm)))
            return rc;
    return 0;
}

int rill__operator_idle(rill__operator *op, bool idle)
{
    int rc = rill__operator_flush(op);
    if (rc)
        return rc;
    if (op->main.out && (rc = op->main.out->ops->idle(op->main.out, idle)))
        return rc;
    for (int i = 0; i < op->n_side; i++)
        if (op->side[i].out && (rc = op->side[i].out->ops->idle(op->side[i].out, idle)))
            return rc;
    return 0;
}

int rill__operator_barrier(rill__operator *op, uint64_t id)
{
    int rc = rill__operator_flush(op); /* rows emitted before the barrier belong before it */
    if (rc)
        return rc;
    if (op->main.out && (rc = op->main.out->ops->barrier(op->main.out, id)))
        return rc;
    for (int i = 0; i < op->n_side; i++)
        if (op->side[i].out && (rc = op->side[i].out->ops->barrier(op->side[i].out, id)))
            return rc;
    return 0;
}

void rill__operator_publish_counters(rill__operator *op)
{
    rill_ctx *ctx = &op->ctx;
    for (int i = 0; i < ctx->n_counters; i++) {
        if (ctx->counters[i]) {
            atomic_fetch_add(&ctx->counter_objs[i]->total, ctx->counters[i]);
            ctx->counters[i] = 0;
        }
    }
    op->records_out = op->main.n_rows;
    for (int i = 0; i < op->n_side; i++)
        op->records_out += op->side[i].n_rows;
}

/* ---- rill_ctx ------------------------------------------------------------------------------- */

void *rill_ctx_user(const rill_ctx *ctx)
{
    return ctx ? ctx->user : NULL;
}

void *rill_ctx_local(const rill_ctx *ctx)
{
    return ctx ? ctx->local : NULL;
}

void rill_ctx_set_local(rill_ctx *ctx, void *local)
{
    if (ctx)
        ctx->local = local;
}

int rill_ctx_subtask(const rill_ctx *ctx)
{
    return ctx ? ctx->subtask : 0;
}

int rill_ctx_parallelism(const rill_ctx *ctx)
{
    return ctx ? ctx->parallelism : 1;
}

const char *rill_ctx_uid(const rill_ctx *ctx)
{
    return ctx ? ctx->uid : "";
}

int rill_ctx_fail(rill_ctx *ctx, const char *fmt, ...)
{
    if (!ctx)
        return RILL_EUSER;
    va_list ap;
    va_start(ap, fmt);
    rill__err_vset(&ctx->user_err, RILL_EUSER, fmt, ap);
    va_end(ap);
    return RILL_EUSER;
}

static int emit_on(rill_ctx *ctx, rill__emitter *em, rill_row *row_out)
{
    int rc = emitter_row(ctx->op, em, row_out);
    if (rc < 0) {
        memset(row_out, 0, sizeof *row_out);
        return rc;
    }
    return 0;
}

int rill_emit(rill_ctx *ctx, rill_row *row_out)
{
    if (!ctx || !ctx->can_emit)
        return RILL_EPERM;
    return emit_on(ctx, &ctx->op->main, row_out);
}

int rill_emit_side(rill_ctx *ctx, const rill_output_tag *tag, rill_row *row_out)
{
    if (!ctx || !ctx->can_emit || !tag)
        return RILL_EPERM;
    rill__operator *op = ctx->op;
    if (tag->id >= op->n_side)
        return RILL_EINVAL;
    rill__emitter *em = &op->side[tag->id];
    if (!em->pool)
        em->pool = rill__batch_pool_new(tag->schema, op->batch_size, 64);
    return emit_on(ctx, em, row_out);
}

void rill_counter_add(rill_ctx *ctx, rill_counter *c, int64_t n)
{
    if (!c)
        return;
    if (ctx && c->id < ctx->n_counters)
        ctx->counters[c->id] += n;
    else
        atomic_fetch_add(&c->total, n);
}

int64_t rill_counter_value(const rill_counter *c)
{
    return c ? atomic_load(&((rill_counter *)c)->total) : 0;
}

int64_t rill_ctx_last_checkpoint(const rill_ctx *ctx)
{
    return ctx && ctx->op ? (int64_t)ctx->op->last_checkpoint : 0;
}
