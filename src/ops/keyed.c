/* keyed.c - ops layer: the keyed process operator and the keyed ValueState calls it serves
 * (the current key is set per row from the key fields and the partitioner's hash). */
#include <stdlib.h>
#include <string.h>

#include "ops.h"

#define PREFETCH_AHEAD 8

typedef struct keyed_op {
    rill__operator base;
    rill_process_fn fn;
    rill__key_spec key;
    const rill__state_backend_ops *backend_ops;
    rill__buf key_buf;
    uint64_t key_word; /* fast path: the one 8-byte key field */
    bool prefetch;     /* the state is larger than the caches: prefetch rows ahead */
    int batches_since_stats;
} keyed_op;

#define PREFETCH_MIN_BYTES ((int64_t)2 << 20)

static bool state_is_large(keyed_op *k)
{
    rill__state_backend *be = k->base.ctx.backend;
    int64_t entries = 0, bytes = 0;
    be->ops->stats(be, &entries, &bytes);
    k->batches_since_stats = 0;
    k->prefetch = bytes >= PREFETCH_MIN_BYTES;
    return k->prefetch;
}

static int keyed_open(rill__operator *op)
{
    keyed_op *k = (keyed_op *)op;
    rill__state_backend_cfg cfg = {.max_parallelism = op->max_parallelism,
                                   .operator_uid = op->uid};
    rill__kg_range(op->subtask, op->max_parallelism, op->parallelism, &cfg.kg_first,
                   &cfg.kg_last);
    int rc = k->backend_ops->create(&cfg, &op->ctx.backend);
    if (rc < 0)
        return rill__operator_fail(op, rc, "cannot create the %s state backend: %s",
                                   k->backend_ops->name, rill_strerror(rc));
    op->ctx.keyed = true;
    return rill__operator_open_hook(op);
}

static inline void set_key(keyed_op *k, rill_batch *b, uint32_t i, const rill_row *row)
{
    rill__state_key *sk = &k->base.ctx.key;
    uint64_t h;
    if (k->key.fast_u64) {
        k->key_word = row->v[k->key.idx[0]];
        sk->key = &k->key_word;
        sk->key_len = sizeof k->key_word;
        h = b->has_hashes ? b->hashes[i] : rill__hash_u64(k->key_word);
    } else {
        k->key_buf.len = 0;
        sk->key_len = rill__key_encode(&k->key, row, &k->key_buf);
        sk->key = k->key_buf.data;
        h = b->has_hashes ? b->hashes[i] : rill__hash_bytes(sk->key, sk->key_len, 0);
    }
    sk->hash = h;
    sk->kg = rill__key_group(h, k->base.max_parallelism);
}

static int keyed_process(rill__operator *op, rill_batch *b)
{
    keyed_op *k = (keyed_op *)op;
    op->ctx.can_emit = true;
    rill__state_backend *be = op->ctx.backend;
    /* prefetching pays only once the state has outgrown the caches */
    if (++k->batches_since_stats >= 64)
        state_is_large(k);
    bool prefetch = k->prefetch && b->has_hashes && k->key.fast_u64 && be->ops->prefetch;
    for (uint32_t i = 0; i < b->n_rows; i++) {
        rill_row in = rill__batch_row(b, i);
        op->in_has_ts = b->has_ts;
        if (b->has_ts)
            op->in_ts = b->ts[i];
        if (prefetch && i + PREFETCH_AHEAD < b->n_rows) {
            /* the state of a row a few rows ahead: its cache miss overlaps this row's work */
            rill_row ahead = rill__batch_row(b, i + PREFETCH_AHEAD);
            uint64_t word = ahead.v[k->key.idx[0]];
            uint64_t h = b->hashes[i + PREFETCH_AHEAD];
            rill__state_key pk = {.key = &word, .key_len = sizeof word, .hash = h,
                                  .kg = rill__key_group(h, op->max_parallelism)};
            be->ops->prefetch(be, &pk);
        }
        set_key(k, b, i, &in);
        int rc = k->fn(&op->ctx, &in);
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

static void keyed_close(rill__operator *op)
{
    rill__operator_close_hook(op); /* first: the hook may still add to counters */
    rill__operator_publish_counters(op);
}

static void keyed_destroy(rill__operator *op)
{
    keyed_op *k = (keyed_op *)op;
    if (op->ctx.backend)
        op->ctx.backend->ops->destroy(op->ctx.backend);
    rill__buf_free(&k->key_buf);
    rill__operator_fini(op);
    free(k);
}

static const rill__operator_ops keyed_ops = {"process", keyed_open, keyed_process,
                                             rill__operator_end_outputs, keyed_close,
                                             keyed_destroy};

rill__operator *rill__op_keyed_process(const rill__op_init *init, const rill__key_spec *key,
                                       const rill__state_backend_ops *backend,
                                       rill_process_fn fn)
{
    keyed_op *k = rill__xcalloc(1, sizeof *k);
    rill__operator_init(&k->base, &keyed_ops, init);
    k->fn = fn;
    k->key = *key;
    k->backend_ops = backend;
    return &k->base;
}

/* ---- ValueState ----------------------------------------------------------------------------- */

/* The current operator's table for desc, registered on first use (the slow path). */
__attribute__((noinline)) static int state_table_slow(rill_ctx *ctx, const rill_state_desc *desc,
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
    if (RILL_LIKELY(ctx && ctx->keyed && desc && desc->id < ctx->n_tables &&
                    ctx->tables[desc->id])) {
        *out = ctx->tables[desc->id];
        return 0;
    }
    return state_table_slow(ctx, desc, out);
}

int rill_value_get_bytes(rill_ctx *ctx, const rill_state_desc *desc, const void **ptr_out,
                         size_t *len_out)
{
    rill__state_table *t;
    int rc = state_table(ctx, desc, &t);
    if (rc < 0)
        return rc;
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
    return ctx->backend->ops->value_put(t, &ctx->key, val, desc->value_size);
}

int rill_value_clear(rill_ctx *ctx, const rill_state_desc *desc)
{
    rill__state_table *t;
    int rc = state_table(ctx, desc, &t);
    if (rc < 0)
        return rc;
    return ctx->backend->ops->value_del(t, &ctx->key);
}
