/* state_kinds.c - ops layer: ListState, MapState, ReducingState, AggregatingState, clearing any
 * kind, and state TTL (a last-access prefix on every value, expiry on read, incremental
 * cleanup on every access) over the state backend interface. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

#define TTL_HDR       8   /* the last-access time in ms, little-endian, before every TTL value */
#define TTL_CLEANUP_N 4   /* slots the incremental cleanup looks at per state access */
#define ELEM_HDR      4   /* the u32 length before each element of a variable-length list */
#define AGG_STACK     512 /* accumulators up to this size (with the TTL prefix) stay on the stack */

/* ---- helpers -------------------------------------------------------------------------------- */

RILL_PRINTF(3, 4) static int fail(rill_ctx *ctx, int rc, const char *fmt, ...)
{
    if (!ctx || !ctx->op)
        return rc;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rill__operator_fail(ctx->op, rc, "%s", msg);
}

static const char *kind_name(rill__state_kind k)
{
    static const char *names[] = {"?", "value", "list", "map", "reducing", "aggregating"};
    return k >= RILL_STATE_VALUE && k <= RILL_STATE_AGGREGATING ? names[k] : "?";
}

/* The table of desc, which must be of kind k. */
static inline int kind_table(rill_ctx *ctx, const rill_state_desc *desc, rill__state_kind k,
                             rill__state_table **out)
{
    int rc = rill__ctx_table(ctx, desc, out);
    if (RILL_UNLIKELY(rc < 0))
        return rc;
    if (RILL_UNLIKELY(desc->kind != k))
        return fail(ctx, RILL_EINVAL, "state '%s' is a %s state, used as a %s state", desc->name,
                    kind_name(desc->kind), kind_name(k));
    return 0;
}

/* The ctx's scratch buffer with room for n bytes (its contents are not kept). */
static unsigned char *scratch(rill_ctx *ctx, size_t n)
{
    rill__buf *b = &ctx->state_scratch;
    b->len = 0;
    if (b->cap < n)
        rill__buf_reserve(b, n);
    return (unsigned char *)b->data;
}

static inline int64_t rd_i64(const void *p)
{
    return (int64_t)rill__le_get64(p);
}

static inline uint32_t rd_u32(const void *p)
{
    return rill__le_get32(p);
}

/* The TTL header (hdr: TTL_HDR, or 0 without a TTL): the last-access time. */
static inline void put_ttl(unsigned char *s, size_t hdr, int64_t now)
{
    if (hdr)
        rill__le_put64(s, (uint64_t)now);
}

void rill__ctx_state_fini(rill_ctx *ctx)
{
    rill__buf_free(&ctx->state_scratch);
    free(ctx->ttl_cursors);
    ctx->ttl_cursors = NULL;
    ctx->n_ttl_cursors = 0;
}

/* ---- TTL ------------------------------------------------------------------------------------ */

typedef struct ttl_clock {
    int64_t now, ttl;
} ttl_clock;

/* Last accessed at ts, expired at now: ts + ttl <= now (a clock that went back expires nothing). */
static inline bool ts_expired(int64_t ts, int64_t now, int64_t ttl)
{
    int64_t age;
    if (__builtin_sub_overflow(now, ts, &age))
        return now > ts;
    return age >= ttl;
}

static bool value_expired(void *arg, const void *val, size_t len)
{
    const ttl_clock *c = arg;
    return len >= TTL_HDR && ts_expired(rd_i64(val), c->now, c->ttl);
}

/* The start of every access to a TTL table: the time now, and a small step of cleanup. */
static int64_t ttl_enter(rill_ctx *ctx, rill__state_table *t, const rill_state_desc *desc)
{
    ttl_clock c = {.now = rill__clock_now(&ctx->clock), .ttl = desc->ttl_ms};
    if (RILL_UNLIKELY(desc->id >= ctx->n_ttl_cursors)) {
        int n = desc->id + 8;
        ctx->ttl_cursors = rill__xrealloc(ctx->ttl_cursors, (size_t)n * sizeof *ctx->ttl_cursors);
        memset(ctx->ttl_cursors + ctx->n_ttl_cursors, 0,
               (size_t)(n - ctx->n_ttl_cursors) * sizeof *ctx->ttl_cursors);
        ctx->n_ttl_cursors = n;
    }
    const rill__state_backend_ops *ops = ctx->backend->ops;
    if (ops->cleanup_step)
        ops->cleanup_step(t, &ctx->ttl_cursors[desc->id], TTL_CLEANUP_N, value_expired, &c);
    return c.now;
}

/* The stored bytes (prefix included) when present and not expired: 1; else 0 (an expired value
 * is left for the caller to overwrite or delete: TTL_EXPIRED). */
#define TTL_EXPIRED 2
static int ttl_peek(rill_ctx *ctx, rill__state_table *t, const rill_state_desc *desc, int64_t now,
                    const unsigned char **p_out, size_t *len_out)
{
    const void *p;
    size_t len;
    int rc = ctx->backend->ops->value_get(t, &ctx->key, &p, &len);
    *p_out = NULL;
    *len_out = 0;
    if (rc != 1)
        return rc;
    if (RILL_UNLIKELY(len < TTL_HDR))
        return fail(ctx, RILL_ESTATE, "state '%s': a %zu-byte value has no TTL prefix", desc->name,
                    len);
    if (ts_expired(rd_i64(p), now, desc->ttl_ms))
        return TTL_EXPIRED;
    *p_out = p;
    *len_out = len;
    return 1;
}

/* A read: the value without its prefix; an expired value is deleted and reads as absent; with
 * RILL_TTL_ON_READ_AND_WRITE the time is refreshed (rewriting the value, only when the clock
 * moved since its last access). */
static int ttl_get(rill_ctx *ctx, rill__state_table *t, const rill_state_desc *desc, int64_t now,
                   const void **val_out, size_t *len_out)
{
    const rill__state_backend_ops *ops = ctx->backend->ops;
    const unsigned char *p;
    size_t len;
    *val_out = NULL;
    *len_out = 0;
    int rc = ttl_peek(ctx, t, desc, now, &p, &len);
    if (rc != 1)
        return rc == TTL_EXPIRED ? ops->value_del(t, &ctx->key) : rc;
    if (desc->ttl_update == RILL_TTL_ON_READ_AND_WRITE && rd_i64(p) != now) {
        unsigned char *s = scratch(ctx, len);
        memcpy(s, p, len);
        put_ttl(s, TTL_HDR, now);
        if ((rc = ops->value_put(t, &ctx->key, s, len)) < 0)
            return rc;
        const void *q;
        if ((rc = ops->value_get(t, &ctx->key, &q, &len)) != 1)
            return rc < 0 ? rc : RILL_ESTATE;
        p = q;
    }
    *val_out = p + TTL_HDR;
    *len_out = len - TTL_HDR;
    return 1;
}

/* A write: [now][val]. */
static int ttl_put(rill_ctx *ctx, rill__state_table *t, int64_t now, const void *val, size_t len)
{
    unsigned char *s = scratch(ctx, TTL_HDR + len);
    put_ttl(s, TTL_HDR, now);
    if (len)
        memcpy(s + TTL_HDR, val, len);
    return ctx->backend->ops->value_put(t, &ctx->key, s, TTL_HDR + len);
}

int rill__ttl_value_get(rill_ctx *ctx, rill__state_table *t, const rill_state_desc *desc,
                        const void **val_out, size_t *len_out)
{
    return ttl_get(ctx, t, desc, ttl_enter(ctx, t, desc), val_out, len_out);
}

int rill__ttl_value_put(rill_ctx *ctx, rill__state_table *t, const rill_state_desc *desc,
                        const void *val, size_t len)
{
    return ttl_put(ctx, t, ttl_enter(ctx, t, desc), val, len);
}

int rill__ttl_value_del(rill_ctx *ctx, rill__state_table *t, const rill_state_desc *desc)
{
    ttl_enter(ctx, t, desc);
    return ctx->backend->ops->value_del(t, &ctx->key);
}

/* A read of any one-value kind: through TTL when the descriptor has one. */
static inline int get_any(rill_ctx *ctx, rill__state_table *t, const rill_state_desc *desc,
                          const void **val_out, size_t *len_out)
{
    if (desc->ttl_ms > 0)
        return rill__ttl_value_get(ctx, t, desc, val_out, len_out);
    return ctx->backend->ops->value_get(t, &ctx->key, val_out, len_out);
}

int rill_state_ttl(rill_state_desc *desc, int64_t ttl_ms, rill_ttl_update update)
{
    if (!desc || ttl_ms <= 0 ||
        (update != RILL_TTL_ON_CREATE_AND_WRITE && update != RILL_TTL_ON_READ_AND_WRITE))
        return RILL_EINVAL;
    desc->ttl_ms = ttl_ms;
    desc->ttl_update = update;
    return 0;
}

int rill_state_clear(rill_ctx *ctx, const rill_state_desc *desc)
{
    rill__state_table *t;
    int rc = rill__ctx_table(ctx, desc, &t);
    if (rc < 0)
        return rc;
    if (desc->ttl_ms > 0)
        ttl_enter(ctx, t, desc);
    const rill__state_backend_ops *ops = ctx->backend->ops;
    return desc->kind == RILL_STATE_MAP ? ops->map_clear(t, &ctx->key)
                                        : ops->value_del(t, &ctx->key);
}

/* ---- ListState: one value per key holding the elements back to back; fixed-size elements
 * plainly, variable ones each as [len u32][bytes]. A TTL covers the whole list. -------------- */

/* Writes element val as it is stored at dst; returns the bytes written. */
static size_t put_elem(unsigned char *dst, size_t es, const void *val, size_t len)
{
    if (es) {
        memcpy(dst, val, len);
        return len;
    }
    rill__le_put32(dst, (uint32_t)len);
    if (len)
        memcpy(dst + ELEM_HDR, val, len);
    return ELEM_HDR + len;
}

int rill_list_add(rill_ctx *ctx, const rill_state_desc *desc, const void *val, size_t len)
{
    rill__state_table *t;
    int rc = kind_table(ctx, desc, RILL_STATE_LIST, &t);
    if (RILL_UNLIKELY(rc < 0))
        return rc;
    size_t es = desc->value_size;
    if (RILL_UNLIKELY(es ? len != es : len > UINT32_MAX - ELEM_HDR - TTL_HDR))
        return fail(ctx, es ? RILL_EINVAL : RILL_ELIMIT,
                    "list state '%s': an element of %zu bytes (%s %zu)", desc->name, len,
                    es ? "expected" : "at most", es ? es : (size_t)UINT32_MAX - 12);
    if (RILL_UNLIKELY(!val && len))
        return RILL_EINVAL;
    const rill__state_backend_ops *ops = ctx->backend->ops;
    size_t enc = es ? len : ELEM_HDR + len;
    if (RILL_LIKELY(desc->ttl_ms <= 0)) {
        if (es)
            return ops->value_append(t, &ctx->key, val, len);
        unsigned char *s = scratch(ctx, enc);
        put_elem(s, es, val, len);
        return ops->value_append(t, &ctx->key, s, enc);
    }
    int64_t now = ttl_enter(ctx, t, desc);
    const unsigned char *p;
    size_t old;
    if ((rc = ttl_peek(ctx, t, desc, now, &p, &old)) < 0)
        return rc;
    rc = rc == 1;
    if (rc == 1 && rd_i64(p) == now) { /* accessed this millisecond: append in place */
        unsigned char *s = scratch(ctx, enc);
        put_elem(s, es, val, len);
        return ops->value_append(t, &ctx->key, s, enc);
    }
    /* New, expired or older: rewrite with the new time (the interface has no in-place
     * update of the prefix, so this copies the list once per millisecond of access). */
    size_t keep = rc == 1 ? old - TTL_HDR : 0;
    unsigned char *s = scratch(ctx, TTL_HDR + keep + enc);
    put_ttl(s, TTL_HDR, now);
    if (keep)
        memcpy(s + TTL_HDR, p + TTL_HDR, keep);
    put_elem(s + TTL_HDR + keep, es, val, len);
    return ops->value_put(t, &ctx->key, s, TTL_HDR + keep + enc);
}

/* The list's element bytes (no TTL prefix): 1, or 0 when it has none. */
static int list_bytes(rill_ctx *ctx, const rill_state_desc *desc, const unsigned char **p_out,
                      size_t *len_out)
{
    rill__state_table *t;
    int rc = kind_table(ctx, desc, RILL_STATE_LIST, &t);
    if (RILL_UNLIKELY(rc < 0))
        return rc;
    const void *p;
    rc = get_any(ctx, t, desc, &p, len_out);
    *p_out = p;
    return rc;
}

int64_t rill_list_size(rill_ctx *ctx, const rill_state_desc *desc)
{
    const unsigned char *p;
    size_t len;
    int rc = list_bytes(ctx, desc, &p, &len);
    if (rc <= 0)
        return rc;
    if (desc->value_size)
        return (int64_t)(len / desc->value_size);
    int64_t n = 0;
    for (size_t off = 0; off + ELEM_HDR <= len; n++)
        off += ELEM_HDR + rd_u32(p + off);
    return n;
}

/* Variable-length elements are found by walking the length prefixes: O(i). */
int rill_list_get(rill_ctx *ctx, const rill_state_desc *desc, int64_t i, const void **ptr_out,
                  size_t *len_out)
{
    *ptr_out = NULL;
    *len_out = 0;
    const unsigned char *p;
    size_t len;
    int rc = list_bytes(ctx, desc, &p, &len);
    if (rc <= 0)
        return rc;
    if (i < 0)
        return RILL_ERANGE;
    size_t es = desc->value_size;
    if (es) {
        if ((uint64_t)i >= len / es)
            return 0;
        *ptr_out = p + (size_t)i * es;
        *len_out = es;
        return 1;
    }
    size_t off = 0;
    for (int64_t k = 0; off + ELEM_HDR <= len; k++) {
        uint32_t n = rd_u32(p + off);
        if (RILL_UNLIKELY(off + ELEM_HDR + n > len))
            return fail(ctx, RILL_ESTATE, "list state '%s': a corrupt element", desc->name);
        if (k == i) {
            *ptr_out = p + off + ELEM_HDR;
            *len_out = n;
            return 1;
        }
        off += ELEM_HDR + n;
    }
    return 0;
}

int rill_list_clear(rill_ctx *ctx, const rill_state_desc *desc)
{
    rill__state_table *t;
    int rc = kind_table(ctx, desc, RILL_STATE_LIST, &t);
    if (RILL_UNLIKELY(rc < 0))
        return rc;
    if (desc->ttl_ms > 0)
        ttl_enter(ctx, t, desc);
    return ctx->backend->ops->value_del(t, &ctx->key);
}

/* ---- MapState: the backend's nested maps; with a TTL each user value carries its own
 * last-access prefix and expires alone. ------------------------------------------------------ */

/* The stored bytes of ukey when present and not expired (an expired one is removed). */
static int map_peek(rill_ctx *ctx, rill__state_table *t, const rill_state_desc *desc, int64_t now,
                    const void *ukey, size_t ukey_len, const unsigned char **p_out, size_t *len_out)
{
    const rill__state_backend_ops *ops = ctx->backend->ops;
    const void *p;
    int rc = ops->map_get(t, &ctx->key, ukey, ukey_len, &p, len_out);
    *p_out = p;
    if (rc != 1)
        return rc;
    if (RILL_UNLIKELY(*len_out < TTL_HDR))
        return fail(ctx, RILL_ESTATE, "map state '%s': a value has no TTL prefix", desc->name);
    if (ts_expired(rd_i64(p), now, desc->ttl_ms)) {
        *p_out = NULL;
        *len_out = 0;
        rc = ops->map_remove(t, &ctx->key, ukey, ukey_len);
        return rc < 0 ? rc : 0;
    }
    return 1;
}

/* Rewrites the prefix of ukey's stored value (p, len) to now. */
static int map_touch(rill_ctx *ctx, rill__state_table *t, int64_t now, const void *ukey,
                     size_t ukey_len, const unsigned char *p, size_t len)
{
    unsigned char *s = scratch(ctx, len);
    memcpy(s, p, len);
    put_ttl(s, TTL_HDR, now);
    return ctx->backend->ops->map_put(t, &ctx->key, ukey, ukey_len, s, len);
}

int rill_map_get(rill_ctx *ctx, const rill_state_desc *desc, const void *ukey, size_t ukey_len,
                 const void **val_out, size_t *len_out)
{
    *val_out = NULL;
    *len_out = 0;
    rill__state_table *t;
    int rc = kind_table(ctx, desc, RILL_STATE_MAP, &t);
    if (RILL_UNLIKELY(rc < 0))
        return rc;
    const rill__state_backend_ops *ops = ctx->backend->ops;
    if (RILL_LIKELY(desc->ttl_ms <= 0))
        return ops->map_get(t, &ctx->key, ukey, ukey_len, val_out, len_out);
    int64_t now = ttl_enter(ctx, t, desc);
    const unsigned char *p;
    size_t len;
    if ((rc = map_peek(ctx, t, desc, now, ukey, ukey_len, &p, &len)) != 1)
        return rc;
    if (desc->ttl_update == RILL_TTL_ON_READ_AND_WRITE && rd_i64(p) != now) {
        if ((rc = map_touch(ctx, t, now, ukey, ukey_len, p, len)) < 0)
            return rc;
        const void *q;
        if ((rc = ops->map_get(t, &ctx->key, ukey, ukey_len, &q, &len)) != 1)
            return rc < 0 ? rc : RILL_ESTATE;
        p = q;
    }
    *val_out = p + TTL_HDR;
    *len_out = len - TTL_HDR;
    return 1;
}

int rill_map_put(rill_ctx *ctx, const rill_state_desc *desc, const void *ukey, size_t ukey_len,
                 const void *val, size_t len)
{
    rill__state_table *t;
    int rc = kind_table(ctx, desc, RILL_STATE_MAP, &t);
    if (RILL_UNLIKELY(rc < 0))
        return rc;
    if (RILL_UNLIKELY((!ukey && ukey_len) || (!val && len)))
        return RILL_EINVAL;
    const rill__state_backend_ops *ops = ctx->backend->ops;
    if (RILL_LIKELY(desc->ttl_ms <= 0))
        return ops->map_put(t, &ctx->key, ukey, ukey_len, val, len);
    if (RILL_UNLIKELY(len > SIZE_MAX - TTL_HDR))
        return RILL_ELIMIT;
    int64_t now = ttl_enter(ctx, t, desc);
    unsigned char *s = scratch(ctx, TTL_HDR + len);
    put_ttl(s, TTL_HDR, now);
    if (len)
        memcpy(s + TTL_HDR, val, len);
    return ops->map_put(t, &ctx->key, ukey, ukey_len, s, TTL_HDR + len);
}

int rill_map_remove(rill_ctx *ctx, const rill_state_desc *desc, const void *ukey, size_t ukey_len)
{
    rill__state_table *t;
    int rc = kind_table(ctx, desc, RILL_STATE_MAP, &t);
    if (RILL_UNLIKELY(rc < 0))
        return rc;
    const rill__state_backend_ops *ops = ctx->backend->ops;
    if (RILL_LIKELY(desc->ttl_ms <= 0))
        return ops->map_remove(t, &ctx->key, ukey, ukey_len);
    int64_t now = ttl_enter(ctx, t, desc);
    const unsigned char *p;
    size_t len;
    if ((rc = map_peek(ctx, t, desc, now, ukey, ukey_len, &p, &len)) != 1)
        return rc; /* absent, or expired (and now removed): it was not there */
    return ops->map_remove(t, &ctx->key, ukey, ukey_len);
}

/* A TTL map iteration: live entries go to the user's fn without their prefix; user keys to
 * remove (expired) or refresh (read-and-write) are noted as [ukey_len u32][ukey][action u8]
 * and dealt with after the iteration, when the map may change. */
typedef struct ttl_iter {
    rill_map_visit_fn fn;
    void *arg;
    int64_t now, ttl;
    bool refresh;
    rill__buf pending;
} ttl_iter;

enum { ACT_REMOVE = 0, ACT_REFRESH = 1 };

static void note(ttl_iter *it, const void *ukey, size_t ukey_len, unsigned char act)
{
    uint32_t n = (uint32_t)ukey_len;
    rill__buf_append(&it->pending, &n, sizeof n);
    rill__buf_append(&it->pending, ukey, ukey_len);
    rill__buf_append(&it->pending, &act, 1);
}

static int ttl_visit(void *arg, const void *ukey, size_t ukey_len, const void *val, size_t len)
{
    ttl_iter *it = arg;
    if (len < TTL_HDR)
        return 0;
    int64_t ts = rd_i64(val);
    if (ts_expired(ts, it->now, it->ttl)) {
        note(it, ukey, ukey_len, ACT_REMOVE);
        return 0;
    }
    if (it->refresh && ts != it->now)
        note(it, ukey, ukey_len, ACT_REFRESH);
    return it->fn(it->arg, ukey, ukey_len, (const unsigned char *)val + TTL_HDR, len - TTL_HDR);
}

int rill_map_iterate(rill_ctx *ctx, const rill_state_desc *desc, rill_map_visit_fn fn, void *arg)
{
    rill__state_table *t;
    int rc = kind_table(ctx, desc, RILL_STATE_MAP, &t);
    if (RILL_UNLIKELY(rc < 0))
        return rc;
    if (!fn)
        return RILL_EINVAL;
    const rill__state_backend_ops *ops = ctx->backend->ops;
    if (RILL_LIKELY(desc->ttl_ms <= 0))
        return ops->map_iterate(t, &ctx->key, fn, arg);
    ttl_iter it = {.fn = fn,
                   .arg = arg,
                   .now = ttl_enter(ctx, t, desc),
                   .ttl = desc->ttl_ms,
                   .refresh = desc->ttl_update == RILL_TTL_ON_READ_AND_WRITE};
    rc = ops->map_iterate(t, &ctx->key, ttl_visit, &it);
    const unsigned char *q = (const unsigned char *)it.pending.data;
    for (size_t off = 0; off < it.pending.len;) {
        uint32_t n = rd_u32(q + off);
        const unsigned char *ukey = q + off + 4;
        unsigned char act = ukey[n];
        off += 4 + (size_t)n + 1;
        int r2;
        if (act == ACT_REMOVE) {
            r2 = ops->map_remove(t, &ctx->key, ukey, n);
        } else {
            const void *p;
            size_t len;
            r2 = ops->map_get(t, &ctx->key, ukey, n, &p, &len);
            if (r2 == 1 && len >= TTL_HDR)
                r2 = map_touch(ctx, t, it.now, ukey, n, p, len);
        }
        if (r2 < 0 && rc == 0)
            rc = r2;
    }
    rill__buf_free(&it.pending);
    return rc;
}

int rill_map_clear(rill_ctx *ctx, const rill_state_desc *desc)
{
    rill__state_table *t;
    int rc = kind_table(ctx, desc, RILL_STATE_MAP, &t);
    if (RILL_UNLIKELY(rc < 0))
        return rc;
    if (desc->ttl_ms > 0)
        ttl_enter(ctx, t, desc);
    return ctx->backend->ops->map_clear(t, &ctx->key);
}

/* ---- ReducingState and AggregatingState: one value, read, updated in a scratch copy, written
 * back (with the TTL prefix in front when there is one). ------------------------------------ */

/* The stored bytes of the current key (TTL prefix included, expired values absent): 1 and a
 * borrowed pointer, 0 when absent; *now_out and *hdr_out give the TTL time and prefix size. */
static int read_stored(rill_ctx *ctx, rill__state_table *t, const rill_state_desc *desc,
                       int64_t *now_out, size_t *hdr_out, const unsigned char **p_out,
                       size_t *len_out)
{
    *now_out = 0;
    *hdr_out = 0;
    if (desc->ttl_ms > 0) {
        *now_out = ttl_enter(ctx, t, desc);
        *hdr_out = TTL_HDR;
        return ttl_peek(ctx, t, desc, *now_out, p_out, len_out);
    }
    const void *q;
    int rc = ctx->backend->ops->value_get(t, &ctx->key, &q, len_out);
    *p_out = q;
    return rc;
}

int rill_reducing_add(rill_ctx *ctx, const rill_state_desc *desc, const void *val)
{
    rill__state_table *t;
    int rc = kind_table(ctx, desc, RILL_STATE_REDUCING, &t);
    if (RILL_UNLIKELY(rc < 0))
        return rc;
    size_t vs = desc->value_size;
    if (RILL_UNLIKELY(!val || !vs || !desc->reduce))
        return fail(ctx, RILL_EINVAL, "reducing state '%s': no value, value size or reduce",
                    desc->name);
    const rill__state_backend_ops *ops = ctx->backend->ops;
    const unsigned char *p;
    size_t len, hdr;
    int64_t now;
    if ((rc = read_stored(ctx, t, desc, &now, &hdr, &p, &len)) < 0)
        return rc;
    /* p is borrowed from the backend, and taking the scratch buffer is no state call */
    unsigned char *s = scratch(ctx, hdr + vs);
    put_ttl(s, hdr, now);
    if (rc == 1) {
        memcpy(s + hdr, p + hdr, vs);
        desc->reduce(s + hdr, val, desc->reduce_user);
    } else {
        memcpy(s + hdr, val, vs);
    }
    return ops->value_put(t, &ctx->key, s, hdr + vs);
}

int rill_reducing_get(rill_ctx *ctx, const rill_state_desc *desc, void *out)
{
    rill__state_table *t;
    int rc = kind_table(ctx, desc, RILL_STATE_REDUCING, &t);
    if (RILL_UNLIKELY(rc < 0))
        return rc;
    const void *p;
    size_t len;
    rc = get_any(ctx, t, desc, &p, &len);
    if (rc == 1)
        memcpy(out, p, desc->value_size);
    return rc;
}

/* agg.add gets ctx and may make state calls itself, so the accumulator is not kept in the ctx's
 * scratch buffer: on the stack, or allocated when larger than AGG_STACK. */
int rill_aggregating_add(rill_ctx *ctx, const rill_state_desc *desc, const rill_row *in)
{
    rill__state_table *t;
    int rc = kind_table(ctx, desc, RILL_STATE_AGGREGATING, &t);
    if (RILL_UNLIKELY(rc < 0))
        return rc;
    const rill_aggregate *agg = &desc->agg;
    size_t as = desc->value_size;
    if (RILL_UNLIKELY(!as || !agg->add))
        return fail(ctx, RILL_EINVAL, "aggregating state '%s': no accumulator size or add",
                    desc->name);
    const rill__state_backend_ops *ops = ctx->backend->ops;
    const unsigned char *p;
    size_t len, hdr;
    int64_t now;
    if ((rc = read_stored(ctx, t, desc, &now, &hdr, &p, &len)) < 0)
        return rc;
    _Alignas(16) unsigned char stack[AGG_STACK];
    unsigned char *buf = hdr + as <= sizeof stack ? stack : rill__xmalloc(hdr + as);
    if (rc == 1)
        memcpy(buf + hdr, p + hdr, as);
    else if (agg->create)
        agg->create(buf + hdr, agg->user);
    else
        memset(buf + hdr, 0, as);
    rc = agg->add(ctx, buf + hdr, in);
    if (rc >= 0) {
        put_ttl(buf, hdr, now);
        rc = ops->value_put(t, &ctx->key, buf, hdr + as);
    }
    if (buf != stack)
        free(buf);
    return rc;
}

int rill_aggregating_get(rill_ctx *ctx, const rill_state_desc *desc, const void **acc_out)
{
    *acc_out = NULL;
    rill__state_table *t;
    int rc = kind_table(ctx, desc, RILL_STATE_AGGREGATING, &t);
    if (RILL_UNLIKELY(rc < 0))
        return rc;
    size_t len;
    return get_any(ctx, t, desc, acc_out, &len);
}
