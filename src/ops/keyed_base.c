/* keyed_base.c - ops layer: the keyed operators' shared machinery (current key, backend, timer
 * service), the calls on the current key and time (rill_ctx_key_*, rill_ctx_timestamp,
 * rill_ctx_watermark, rill_ctx_now) and timer registration. */
#include <stdlib.h>
#include <string.h>

#include "keyed_int.h"
#include "snapshot.h"

#define PREFETCH_MIN_BYTES ((int64_t)2 << 20)

void rill__keyed_init(rill__keyed *k, rill__operator *op, const rill__key_spec *key,
                      const rill__state_backend_ops *backend)
{
    memset(k, 0, sizeof *k);
    k->op = op;
    k->key = *key;
    k->backend_ops = backend;
}

int rill__keyed_open(rill__keyed *k)
{
    rill__operator *op = k->op;
    rill__state_backend_cfg cfg = {.max_parallelism = op->max_parallelism,
                                   .operator_uid = op->uid,
                                   .subtask = op->subtask,
                                   .dir = op->state_dir,
                                   .memory_bytes = op->state_memory};
    rill__kg_range(op->subtask, op->max_parallelism, op->parallelism, &cfg.kg_first,
                   &cfg.kg_last);
    int rc = k->backend_ops->create(&cfg, &op->ctx.backend);
    if (rc < 0)
        return rill__operator_fail(op, rc, "cannot create the %s state backend: %s",
                                   k->backend_ops->name,
                                   rill_last_error()[0] ? rill_last_error() : rill_strerror(rc));
    /* timers in the backend when it keeps them (rocksdb), memory holding the earliest in a
     * sixteenth of the state memory (about 128 bytes a timer) */
    op->ctx.timers = op->state_heap_timers
                         ? rill__timers_new(cfg.kg_first, cfg.kg_last)
                         : rill__timers_new_backed(cfg.kg_first, cfg.kg_last, op->ctx.backend,
                                                   (size_t)(op->state_memory > 0
                                                                ? op->state_memory
                                                                : (int64_t)64 << 20) / 16 / 128);
    op->ctx.keyed = true;
    op->ctx.key_spec = &k->key;
    return 0;
}

void rill__keyed_fini(rill__keyed *k)
{
    rill__operator *op = k->op;
    if (op->ctx.backend)
        op->ctx.backend->ops->destroy(op->ctx.backend);
    op->ctx.backend = NULL;
    rill__timers_free(op->ctx.timers);
    op->ctx.timers = NULL;
    rill__ctx_state_fini(&op->ctx); /* state scratch and TTL cursors, any keyed operator */
    rill__buf_free(&k->key_buf);
}

void rill__keyed_set_timer_key(rill__keyed *k, const rill__timer *t)
{
    rill__state_key *sk = &k->op->ctx.key;
    if (k->key.fast_u64 && t->key.key_len == 8) {
        memcpy(&k->key_word, t->key.key, 8);
        sk->key = &k->key_word;
    } else {
        k->key_buf.len = 0;
        rill__buf_append(&k->key_buf, t->key.key, t->key.key_len);
        sk->key = k->key_buf.data;
    }
    sk->key_len = t->key.key_len;
    sk->hash = t->key.hash;
    sk->kg = t->key.kg;
    sk->ns = NULL;
    sk->ns_len = 0;
}

void rill__keyed_batch_start(rill__keyed *k, const rill_batch *b)
{
    rill__state_backend *be = k->op->ctx.backend;
    if (++k->batches_since_stats >= 64) {
        int64_t entries = 0, bytes = 0;
        be->ops->stats(be, &entries, &bytes);
        k->batches_since_stats = 0;
        k->prefetch = bytes >= PREFETCH_MIN_BYTES;
    }
    if (!b->has_hashes || !k->key.fast_u64 || !be->ops->prefetch)
        k->prefetch = false;
}

/* ---- decoding key fields ------------------------------------------------------------------- */

/* Finds key field i in the current key bytes: its slot bytes or string. */
static int key_field(const rill_ctx *ctx, int i, const unsigned char **p_out, size_t *len_out,
                     bool *null_out)
{
    const rill__key_spec *ks = ctx ? ctx->key_spec : NULL;
    if (!ks || !ctx->key.key)
        return RILL_ESTATE;
    if (i < 0 || i >= ks->n)
        return RILL_ERANGE;
    const unsigned char *p = ctx->key.key, *end = p + ctx->key.key_len;
    const unsigned char *nulls = NULL;
    if (ks->any_nullable) {
        nulls = p;
        p += ks->n;
    }
    for (int f = 0; f <= i; f++) {
        bool is_null = nulls && nulls[f];
        size_t n = 8;
        if (!is_null && ks->in_bytes[f]) {
            uint32_t n32;
            if (p + 4 > end)
                return RILL_ECORRUPT;
            memcpy(&n32, p, 4);
            p += 4;
            n = n32;
        } else if (is_null) {
            n = 0;
        }
        if (p + n > end)
            return RILL_ECORRUPT;
        if (f == i) {
            *p_out = p;
            *len_out = n;
            *null_out = is_null;
            return 0;
        }
        p += n;
    }
    return RILL_ERANGE;
}

/* Key field i as its 8 slot bytes (0 for NULL), when its type is one that ok() accepts. */
static int key_slot(const rill_ctx *ctx, int i, bool (*ok)(rill_type), void *out)
{
    const unsigned char *p;
    size_t n;
    bool null;
    int rc = key_field(ctx, i, &p, &n, &null);
    if (rc)
        return rc;
    if (!ok(ctx->key_spec->type[i]))
        return RILL_ETYPE;
    memset(out, 0, 8);
    if (!null)
        memcpy(out, p, 8);
    return 0;
}

/* Kinds whose slot is an int64 (sign-extended for the narrow ones). */
static bool integral(rill_type t)
{
    switch (t) {
    case RILL_T_INT64:
    case RILL_T_TIMESTAMP:
    case RILL_T_BOOL:
    case RILL_T_INT8:
    case RILL_T_INT16:
    case RILL_T_INT32:
    case RILL_T_DATE:
    case RILL_T_TIME:
    case RILL_T_TIMESTAMP_LTZ:
    case RILL_T_INTERVAL_YM:
    case RILL_T_INTERVAL_DT:
        return true;
    default:
        return false;
    }
}

static bool floating(rill_type t)
{
    return t == RILL_T_DOUBLE;
}

int rill_ctx_key_i64(const rill_ctx *ctx, int i, int64_t *out)
{
    return key_slot(ctx, i, integral, out);
}

int rill_ctx_key_f64(const rill_ctx *ctx, int i, double *out)
{
    return key_slot(ctx, i, floating, out);
}

int rill_ctx_key_str(const rill_ctx *ctx, int i, const char **ptr_out, size_t *len_out)
{
    const unsigned char *p;
    size_t n;
    bool null;
    int rc = key_field(ctx, i, &p, &n, &null);
    if (rc)
        return rc;
    if (ctx->key_spec->type[i] != RILL_T_STRING && ctx->key_spec->type[i] != RILL_T_BYTES)
        return RILL_ETYPE;
    *ptr_out = null ? "" : (const char *)p;
    *len_out = n;
    return 0;
}

bool rill_ctx_key_is_null(const rill_ctx *ctx, int i)
{
    const unsigned char *p;
    size_t n;
    bool null = false;
    return key_field(ctx, i, &p, &n, &null) == 0 && null;
}

int rill__keyed_write_key(rill__keyed *k, rill_row *out, int first)
{
    rill_ctx *ctx = &k->op->ctx;
    for (int i = 0; i < k->key.n; i++) {
        const unsigned char *p;
        size_t n;
        bool null;
        int rc = key_field(ctx, i, &p, &n, &null);
        if (rc)
            return rc;
        if (null) {
            rill_row_set_null(out, first + i);
        } else if (k->key.in_bytes[i]) {
            if ((rc = rill_row_set_str(out, first + i, (const char *)p, n)))
                return rc;
        } else {
            uint64_t v;
            memcpy(&v, p, 8);
            out->v[first + i] = v;
            out->nulls[(first + i) >> 6] &= ~(UINT64_C(1) << ((first + i) & 63));
        }
    }
    return 0;
}

/* ---- time ------------------------------------------------------------------------------------ */

int64_t rill_ctx_timestamp(const rill_ctx *ctx)
{
    return ctx && ctx->op && ctx->op->in_has_ts ? ctx->op->in_ts : RILL_TS_MIN;
}

int64_t rill_ctx_watermark(const rill_ctx *ctx)
{
    return ctx && ctx->op ? ctx->op->watermark : RILL_TS_MIN;
}

int64_t rill_ctx_now(const rill_ctx *ctx)
{
    return rill__clock_now(ctx ? &ctx->clock : NULL);
}

static int timer_call(rill_ctx *ctx, rill_time_domain d, int64_t ts, bool add)
{
    if (!ctx || !ctx->timers || !ctx->key.key) {
        if (ctx && ctx->op)
            return rill__operator_fail(ctx->op, RILL_ESTATE,
                                       "timers are only for keyed process functions");
        return RILL_ESTATE;
    }
    rill__state_key k = ctx->key;
    k.ns = NULL;
    k.ns_len = 0;
    if (!add)
        return rill__timers_delete(ctx->timers, d, &k, ts);
    int rc = rill__timers_register(ctx->timers, d, &k, ts);
    if (rc == 0 && d == RILL_PROCESSING_TIME && ts < ctx->op->next_tick_ms)
        ctx->op->next_tick_ms = ts;
    return rc;
}

int rill_timer_event(rill_ctx *ctx, int64_t ts)
{
    return timer_call(ctx, RILL_EVENT_TIME, ts, true);
}

int rill_timer_event_delete(rill_ctx *ctx, int64_t ts)
{
    return timer_call(ctx, RILL_EVENT_TIME, ts, false);
}

int rill_timer_processing(rill_ctx *ctx, int64_t ts)
{
    return timer_call(ctx, RILL_PROCESSING_TIME, ts, true);
}

int rill_timer_processing_delete(rill_ctx *ctx, int64_t ts)
{
    return timer_call(ctx, RILL_PROCESSING_TIME, ts, false);
}

/* ---- snapshots -------------------------------------------------------------------------------- */

int rill__keyed_snap(rill__keyed *k, rill__ksnap **out)
{
    rill__operator *op = k->op;
    int first, last;
    rill__kg_range(op->subtask, op->max_parallelism, op->parallelism, &first, &last);
    rill__err e = {0};
    int rc = op->state_incremental && !op->snap_canonical
                 ? rill__ksnap_begin_native(op->ctx.backend, op->ctx.timers, out, &e)
                 : rill__ksnap_begin(op->ctx.backend, op->ctx.timers, first, last, out, &e);
    if (rc < 0)
        return rill__operator_fail(op, rc, "snapshot: %s", e.msg);
    return 0;
}

int rill__keyed_load(rill__keyed *k, const void *data, size_t len)
{
    rill__operator *op = k->op;
    int first, last;
    rill__kg_range(op->subtask, op->max_parallelism, op->parallelism, &first, &last);
    rill__err e = {0};
    int rc = rill__keyed_restore_dir(op->ctx.backend, op->ctx.timers, first, last, data, len,
                                     op->restore_dir, &e);
    if (rc < 0)
        return rill__operator_fail(op, rc, "restore: %s", e.msg);
    /* processing-time timers restored: the task must wake for them */
    op->next_tick_ms = rill__timers_next(op->ctx.timers, RILL_PROCESSING_TIME);
    return 0;
}
