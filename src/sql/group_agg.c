/*
 * group_agg.c - sql layer: GROUP BY over an append-only input (Flink's GroupAggregate). Each
 * group's accumulators are keyed state (a value of fixed size per key), so the aggregation
 * checkpoints, restores and rescales as every keyed operator does. A group's first row emits
 * +I with its result; a later row that changes the result emits -U (the old result) and +U
 * (the new one); a row that leaves the result as it was emits nothing (Flink's default, without
 * state TTL). COUNT, SUM, MIN, MAX and AVG with Flink's result types: SUM and AVG of integers
 * wrap as Java's long then narrow to the type; DECIMAL sums are DECIMAL(38, s) and NULL past
 * 38 digits; AVG of a DECIMAL is DECIMAL(38, max(6, s)).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql_int.h"

#define MAX_AGGS 64 /* aggregates of one GROUP BY */

/* The state of one aggregate: its non-NULL values' count and their sum, smallest or largest
 * (int64, double or an unscaled decimal by the argument's type). */
typedef rill__sql_acc acc;

typedef enum acc_kind { A_INT, A_DBL, A_DEC } acc_kind;

typedef struct gagg {
    int n_keys, n_aggs;
    const rel_agg *aggs;
    const rill__sql_ltype **arg_types; /* per aggregate (NULL for COUNT(*)) */
    int *arg_col;                      /* its column of the input */
    rill_state_desc *state;            /* int64 rows, then one acc per aggregate */
    size_t state_size;
    const rill__sql_ltype **key_types;
    /* values kept per group (one map state): [k][tag][value] -> int64 count for DISTINCT
     * ('d') and for a MIN/MAX that takes retractions ('v'); [k]['m'] -> the MIN/MAX of one
     * kept as a value (strings, or over an updating input) */
    rill_state_desc *vals;
    bool *in_map;     /* per aggregate: a MIN/MAX kept in vals */
    bool retractable; /* the input is a changelog with retractions */
    bool ttl;         /* table.exec.state.ttl: groups expire; updates emitted even unchanged */
} gagg;

/* An aggregate's result: NULL, or a slot value (a DECIMAL past 18 digits: dec; a string or
 * bytes: bytes, malloc'd). */
typedef struct rval {
    bool null;
    uint64_t slot;
    rill__i128 dec;
    int scale;
    unsigned char *bytes;
    size_t len;
} rval;

static bool bytes_type(const rill__sql_ltype *t)
{
    return rill__sql_is_character(t) || rill__sql_is_binary(t);
}

static size_t val_key_t(const rill__sql_ltype *t, int k, char tag, const rill_row *row, int col,
                        rill__buf *b);

/* [k][tag][row's value of col] into b (the value as its bytes, or its 8- or 16-byte slot). */
static size_t val_key(const gagg *ga, int k, char tag, const rill_row *row, int col, rill__buf *b)
{
    return val_key_t(ga->arg_types[k], k, tag, row, col, b);
}

/* val_key of a value of type t. */
static size_t val_key_t(const rill__sql_ltype *t, int k, char tag, const rill_row *row, int col,
                        rill__buf *b)
{
    b->len = 0;
    rill__buf_putc(b, (char)k);
    rill__buf_putc(b, tag);
    if (bytes_type(t)) {
        size_t len;
        const void *p = rill_row_bytes(row, col, &len);
        rill__buf_append(b, p, len);
    } else if (t->root == RILL_SQLT_DECIMAL && t->precision > 18) {
        unsigned char d[16];
        rill_decimal pd = rill_row_decimal(row, col);
        rill__dec_store16(rill__dec_from_pub(&pd), d);
        rill__buf_append(b, d, 16);
    } else {
        rill__buf_append(b, &row->v[col], 8);
    }
    return b->len;
}

/* Compares two encoded values (without their [k][tag]) of type t: <0, 0, >0. */
static int val_cmp(const rill__sql_ltype *t, const unsigned char *x, size_t xn,
                   const unsigned char *y, size_t yn)
{
    if (bytes_type(t)) { /* strings by their UTF-8 bytes: code point order */
        int c = memcmp(x, y, RILL_MIN(xn, yn));
        return c ? c : (xn > yn) - (xn < yn);
    }
    if (t->root == RILL_SQLT_DECIMAL && t->precision > 18) {
        rill__i128 a = rill__dec_load16(x), b = rill__dec_load16(y);
        return (a > b) - (a < b);
    }
    uint64_t u, v;
    memcpy(&u, x, 8);
    memcpy(&v, y, 8);
    if (rill__sql_is_approx(t)) {
        double a = rill__sql_approx_double(t, u), b = rill__sql_approx_double(t, v);
        return (a > b) - (a < b);
    }
    int64_t a = (int64_t)u, b = (int64_t)v;
    return (a > b) - (a < b);
}

static int map_count(rill_ctx *ctx, const gagg *ga, const rill__buf *key, int64_t *n)
{
    const void *p;
    size_t len;
    int rc = rill_map_get(ctx, ga->vals, key->data, key->len, &p, &len);
    if (rc < 0)
        return rc;
    *n = 0;
    if (rc == 1 && len == 8)
        memcpy(n, p, 8);
    return 0;
}

/* Adds (d = 1) or takes out (d = -1) a value's count: the count after it in *now (a value
 * that is not there is not taken out: *now is -1 then). */
static int map_add(rill_ctx *ctx, const gagg *ga, const rill__buf *key, int d, int64_t *now)
{
    int rc = map_count(ctx, ga, key, now);
    if (rc < 0)
        return rc;
    if (d < 0 && *now == 0) {
        *now = -1;
        return 0;
    }
    *now += d;
    if (*now <= 0) {
        *now = 0;
        rc = rill_map_remove(ctx, ga->vals, key->data, key->len);
        return rc < 0 ? rc : 0;
    }
    return rill_map_put(ctx, ga->vals, key->data, key->len, now, 8);
}

/* The best (MIN or MAX) value of aggregate k's 'v' entries, found by a scan. */
typedef struct scan {
    const gagg *ga;
    int k;
    bool min;
    rill__buf best;
    bool found;
} scan;

static int scan_visit(void *arg, const void *ukey, size_t ukey_len, const void *val, size_t len)
{
    scan *sc = arg;
    const unsigned char *u = ukey;
    (void)val;
    (void)len;
    if (ukey_len < 2 || u[0] != (unsigned char)sc->k || u[1] != 'v')
        return 0;
    int c = sc->found ? val_cmp(sc->ga->arg_types[sc->k], u + 2, ukey_len - 2,
                                (const unsigned char *)sc->best.data, sc->best.len)
                      : 0;
    if (!sc->found || (sc->min ? c < 0 : c > 0)) {
        sc->best.len = 0;
        rill__buf_append(&sc->best, u + 2, ukey_len - 2);
        sc->found = true;
    }
    return 0;
}

/* A MIN/MAX kept in the map: row's value of col comes in (d = 1) or goes out (d = -1). */
static int minmax_map(rill_ctx *ctx, const gagg *ga, int k, const rill_row *row, int col, int d)
{
    bool min = ga->aggs[k].kind == AGG_MIN;
    const rill__sql_ltype *t = ga->arg_types[k];
    rill__buf key = {0}, cur = {0};
    int rc = 0;
    unsigned char mk[2] = {(unsigned char)k, 'm'};
    const void *p;
    size_t len;
    int64_t now = 0;
    val_key(ga, k, 'v', row, col, &key);
    if (ga->retractable && (rc = map_add(ctx, ga, &key, d, &now)) < 0)
        goto out;
    if (now < 0) /* a value this group does not have */
        goto out;
    if ((rc = rill_map_get(ctx, ga->vals, mk, 2, &p, &len)) < 0)
        goto out;
    bool have = rc == 1;
    if (have)
        rill__buf_append(&cur, p, len);
    rc = 0;
    const unsigned char *v = (const unsigned char *)key.data + 2;
    size_t vn = key.len - 2;
    if (d > 0) {
        int c = have ? val_cmp(t, v, vn, (const unsigned char *)cur.data, cur.len) : 0;
        if (!have || (min ? c < 0 : c > 0))
            rc = rill_map_put(ctx, ga->vals, mk, 2, v, vn);
    } else if (now == 0 && have &&
               val_cmp(t, v, vn, (const unsigned char *)cur.data, cur.len) == 0) {
        /* the current one left: the best of the values still there */
        scan sc = {.ga = ga, .k = k, .min = min};
        if ((rc = rill_map_iterate(ctx, ga->vals, scan_visit, &sc)) >= 0)
            rc = sc.found ? rill_map_put(ctx, ga->vals, mk, 2, sc.best.data, sc.best.len)
                          : rill_map_remove(ctx, ga->vals, mk, 2);
        rill__buf_free(&sc.best);
        rc = rc < 0 ? rc : 0;
    }
out:
    rill__buf_free(&key);
    rill__buf_free(&cur);
    return rc;
}

static acc_kind kind_of(const rill__sql_ltype *t)
{
    if (!t)
        return A_INT;
    if (t->root == RILL_SQLT_DECIMAL)
        return A_DEC;
    return rill__sql_is_approx(t) ? A_DBL : A_INT;
}

static rill__i128 dec_of(const rill_row *row, int col, const rill__sql_ltype *t)
{
    if (t->precision <= 18)
        return (rill__i128)(int64_t)row->v[col];
    rill_decimal d = rill_row_decimal(row, col);
    return rill__dec_from_pub(&d);
}

/* Counts a row's value of DISTINCT aggregate k in (d 1) or out (d -1): 1 when the value enters
 * the aggregate with it (its first row) or leaves (its last), else 0; or negative. */
static int distinct_step(rill_ctx *ctx, const gagg *ga, int k, const rill_row *row, int col, int d)
{
    rill__buf key = {0};
    int64_t now;
    val_key(ga, k, 'd', row, col, &key);
    int rc = map_add(ctx, ga, &key, d, &now);
    rill__buf_free(&key);
    return rc < 0 ? rc : now == (d > 0);
}

/* Takes a row out of a (a -U or -D of an updating input): COUNT, SUM and AVG only (the
 * planner refuses MIN and MAX over an updating input). */
static int retract(rill_ctx *ctx, const gagg *ga, int k, acc *a, const rill_row *row)
{
    const rel_agg *g = &ga->aggs[k];
    if (g->kind == AGG_COUNT_STAR) {
        a->n--;
        return 0;
    }
    int col = ga->arg_col[k];
    if (rill_row_is_null(row, col))
        return 0;
    const rill__sql_ltype *t = ga->arg_types[k];
    if (ga->in_map[k]) {
        a->n--;
        return minmax_map(ctx, ga, k, row, col, -1);
    }
    int rc;
    if (g->distinct && (rc = distinct_step(ctx, ga, k, row, col, -1)) != 1)
        return rc; /* the value leaves the aggregate when its last row does */
    a->n--;
    if (g->kind == AGG_COUNT)
        return 0;
    acc_kind ak = kind_of(t);
    if (ak == A_INT) {
        a->i = (int64_t)((uint64_t)a->i - (uint64_t)(int64_t)row->v[col]);
    } else if (ak == A_DBL) {
        a->d -= rill__sql_approx_double(t, row->v[col]);
    } else if (a->n >= 0) {
        rill__i128 o;
        if (rill__dec_sub(rill__dec_load16(a->dec), t->scale, dec_of(row, col, t), t->scale, 38,
                          t->scale, &o) == 0)
            rill__dec_store16(o, a->dec);
        else
            a->n = INT64_MIN;
    }
    return 0;
}

static void acc_value(rel_agg_kind kind, const rill__sql_ltype *t, acc *a, const rill_row *row,
                      int col);

static int accumulate(rill_ctx *ctx, const gagg *ga, int k, acc *a, const rill_row *row)
{
    const rel_agg *g = &ga->aggs[k];
    if (g->kind == AGG_COUNT_STAR) {
        a->n++;
        return 0;
    }
    int col = ga->arg_col[k];
    if (rill_row_is_null(row, col))
        return 0;
    const rill__sql_ltype *t = ga->arg_types[k];
    if (ga->in_map[k]) {
        a->n++;
        return minmax_map(ctx, ga, k, row, col, 1);
    }
    int rc;
    if (g->distinct && (rc = distinct_step(ctx, ga, k, row, col, 1)) != 1)
        return rc; /* a value counts when its first row comes */
    acc_value(g->kind, t, a, row, col);
    return 0;
}

/* A non-NULL value (row's col) into a plain accumulator of aggregate kind over type t. */
static void acc_value(rel_agg_kind kind, const rill__sql_ltype *t, acc *a, const rill_row *row,
                      int col)
{
    acc_kind ak = kind_of(t);
    bool first = a->n == 0;
    a->n++;
    if (kind == AGG_COUNT)
        return;
    bool sum = kind == AGG_SUM || kind == AGG_AVG, min = kind == AGG_MIN;
    if (ak == A_INT) {
        int64_t v = (int64_t)row->v[col];
        if (sum)
            a->i = (int64_t)((uint64_t)a->i + (uint64_t)v); /* Java's long wraps */
        else if (first || (min ? v < a->i : v > a->i))
            a->i = v;
    } else if (ak == A_DBL) {
        double v = rill__sql_approx_double(t, row->v[col]);
        if (sum)
            a->d += v;
        else if (first || (min ? v < a->d : v > a->d))
            a->d = v;
    } else {
        rill__i128 v = dec_of(row, col, t), cur = rill__dec_load16(a->dec);
        if (sum) {
            rill__i128 o;
            /* past 38 digits the sum is NULL (Flink); kept as n = INT64_MIN */
            if (a->n > 0 && rill__dec_add(cur, t->scale, v, t->scale, 38, t->scale, &o) == 0)
                rill__dec_store16(o, a->dec);
            else
                a->n = INT64_MIN;
        } else if (first ||
                   (min ? rill__dec_cmp(v, 0, cur, 0) < 0 : rill__dec_cmp(v, 0, cur, 0) > 0)) {
            rill__dec_store16(v, a->dec);
        }
    }
}

/* Accumulator b into a (a window's slices, sessions): counts add, sums add (a decimal sum past
 * 38 digits stays NULL), the smaller or larger of MIN and MAX. */
static void acc_merge(rel_agg_kind kind, const rill__sql_ltype *t, acc *a, const acc *b)
{
    if (kind == AGG_COUNT_STAR || kind == AGG_COUNT || b->n == 0) {
        a->n += b->n;
        return;
    }
    if (a->n == 0 || a->n == INT64_MIN || b->n == INT64_MIN) {
        if (a->n == 0 || b->n == INT64_MIN)
            *a = *b;
        return;
    }
    bool sum = kind == AGG_SUM || kind == AGG_AVG, min = kind == AGG_MIN;
    acc_kind ak = kind_of(t);
    if (ak == A_INT) {
        if (sum)
            a->i = (int64_t)((uint64_t)a->i + (uint64_t)b->i);
        else if (min ? b->i < a->i : b->i > a->i)
            a->i = b->i;
    } else if (ak == A_DBL) {
        if (sum)
            a->d += b->d;
        else if (min ? b->d < a->d : b->d > a->d)
            a->d = b->d;
    } else {
        rill__i128 x = rill__dec_load16(a->dec), y = rill__dec_load16(b->dec), o;
        if (sum) {
            if (rill__dec_add(x, t->scale, y, t->scale, 38, t->scale, &o) != 0) {
                a->n = INT64_MIN;
                return;
            }
            rill__dec_store16(o, a->dec);
        } else if (min ? rill__dec_cmp(y, 0, x, 0) < 0 : rill__dec_cmp(y, 0, x, 0) > 0) {
            rill__dec_store16(y, a->dec);
        }
    }
    a->n += b->n;
}

static rval result_of(rel_agg_kind kind, const rill__sql_ltype *rt, const rill__sql_ltype *t,
                      const acc *a);

static rval result(rill_ctx *ctx, const gagg *ga, int k, const acc *a)
{
    const rel_agg *g = &ga->aggs[k];
    const rill__sql_ltype *rt = g->type, *t = ga->arg_types[k];
    rval r = {0};
    if (g->kind == AGG_COUNT_STAR || g->kind == AGG_COUNT) {
        r.slot = (uint64_t)a->n;
        return r;
    }
    if (a->n <= 0) { /* no values (or a decimal sum past 38 digits): NULL */
        r.null = true;
        return r;
    }
    if (ga->in_map[k]) { /* the MIN/MAX kept as [k]['m'] */
        unsigned char mk[2] = {(unsigned char)k, 'm'};
        const void *p;
        size_t len;
        if (rill_map_get(ctx, ga->vals, mk, 2, &p, &len) != 1) {
            r.null = true;
            return r;
        }
        if (bytes_type(t)) {
            r.bytes = rill__xmalloc(len + 1);
            memcpy(r.bytes, p, len);
            r.len = len;
        } else if (t->root == RILL_SQLT_DECIMAL && t->precision > 18) {
            r.dec = rill__dec_load16(p);
            r.scale = t->scale;
        } else {
            memcpy(&r.slot, p, 8);
            r.dec = (rill__i128)(int64_t)r.slot;
            r.scale = t->root == RILL_SQLT_DECIMAL ? t->scale : 0;
        }
        return r;
    }
    return result_of(g->kind, rt, t, a);
}

/* A plain accumulator's result: NULL without values, else the aggregate in the result type. */
static rval result_of(rel_agg_kind kind, const rill__sql_ltype *rt, const rill__sql_ltype *t,
                      const acc *a)
{
    rval r = {0};
    if (kind == AGG_COUNT_STAR || kind == AGG_COUNT) {
        r.slot = (uint64_t)a->n;
        return r;
    }
    if (a->n <= 0) {
        r.null = true;
        return r;
    }
    acc_kind ak = kind_of(t);
    if (ak == A_INT) {
        int64_t v = kind == AGG_AVG ? a->i / a->n : a->i;
        r.slot = rill__sql_wrap(rt->root, (uint64_t)v); /* narrowed as Java narrows a long */
        return r;
    }
    if (ak == A_DBL) {
        double v = kind == AGG_AVG ? a->d / (double)a->n : a->d;
        if (rt->root == RILL_SQLT_FLOAT) {
            float fv = (float)v;
            uint32_t u;
            memcpy(&u, &fv, sizeof u);
            r.slot = u;
        } else {
            memcpy(&r.slot, &v, sizeof v);
        }
        return r;
    }
    rill__i128 v = rill__dec_load16(a->dec);
    if (kind == AGG_AVG) {
        rill__i128 q;
        if (rill__dec_div(v, t->scale, a->n, 0, rt->precision, rt->scale, &q) != 0) {
            r.null = true;
            return r;
        }
        v = q;
    } else if (!rill__dec_fits(v, rt->precision)) {
        r.null = true;
        return r;
    }
    r.dec = v;
    r.scale = rt->scale;
    r.slot = (uint64_t)(int64_t)v;
    return r;
}

static bool same(const rval *x, const rval *y)
{
    return x->null == y->null &&
           (x->null || (x->slot == y->slot && x->dec == y->dec && x->len == y->len &&
                        (!x->len || !memcmp(x->bytes, y->bytes, x->len))));
}

/* Field f of out set to an aggregate's result of type rt. */
static int put_result(rill_row *out, int f, const rill__sql_ltype *rt, const rval *res)
{
    if (res->null) {
        rill_row_set_null(out, f);
    } else if (bytes_type(rt)) {
        uint64_t slot;
        int rc = rill__batch_put_bytes(out->batch, res->bytes, res->len, &slot);
        if (rc != 0)
            return rc;
        out->v[f] = slot;
        out->nulls[f >> 6] &= ~(UINT64_C(1) << (f & 63));
    } else if (rt->root == RILL_SQLT_DECIMAL && rt->precision > 18) {
        rill_decimal d = rill__dec_to_pub(res->dec, res->scale);
        if (rill_row_set_decimal(out, f, &d) != 0)
            rill_row_set_null(out, f);
    } else {
        out->v[f] = res->slot;
        out->nulls[f >> 6] &= ~(UINT64_C(1) << (f & 63));
    }
    return 0;
}

int rill__sql_acc_put(rel_agg_kind kind, const rill__sql_ltype *rt, const rill__sql_ltype *t,
                      const rill__sql_acc *a, rill_row *out, int f)
{
    rval r = result_of(kind, rt, t, a);
    int rc = put_result(out, f, rt, &r);
    free(r.bytes);
    return rc;
}

/* Emits a row of kind: the keys of in, then the results. */
static int emit(rill_ctx *ctx, const gagg *ga, const rill_row *in, const rval *res,
                rill_rowkind kind)
{
    rill_row out;
    int rc = rill_emit(ctx, &out);
    if (rc < 0)
        return rc;
    for (int i = 0; i < ga->n_keys; i++) {
        if (rill_row_is_null(in, i)) {
            rill_row_set_null(&out, i);
        } else if (rill__sql_is_character(ga->key_types[i]) ||
                   rill__sql_is_binary(ga->key_types[i]) ||
                   (ga->key_types[i]->root == RILL_SQLT_DECIMAL &&
                    ga->key_types[i]->precision > 18)) {
            size_t len;
            const void *p = rill_row_bytes(in, i, &len);
            uint64_t slot;
            if ((rc = rill__batch_put_bytes(out.batch, p, len, &slot)) != 0)
                return rc;
            out.v[i] = slot;
            out.nulls[i >> 6] &= ~(UINT64_C(1) << (i & 63));
        } else {
            out.v[i] = in->v[i];
            out.nulls[i >> 6] &= ~(UINT64_C(1) << (i & 63));
        }
    }
    for (int k = 0; k < ga->n_aggs; k++)
        if ((rc = put_result(&out, ga->n_keys + k, ga->aggs[k].type, &res[k])) != 0)
            return rc;
    return kind == RILL_ROW_INSERT ? 0 : rill_row_set_kind(&out, kind);
}

static void free_results_n(rval *res, int n)
{
    for (int k = 0; k < n; k++) {
        free(res[k].bytes);
        res[k].bytes = NULL;
    }
}

static void free_results(const gagg *ga, rval *res, int n)
{
    for (int k = 0; k < n && k < ga->n_aggs; k++) {
        free(res[k].bytes);
        res[k].bytes = NULL;
    }
}

static int group_agg_fn(rill_ctx *ctx, const rill_row *in)
{
    const gagg *ga = rill_ctx_user(ctx);
    unsigned char stack[8 + MAX_AGGS * sizeof(acc)];
    unsigned char *st = stack; /* state_size <= sizeof stack: MAX_AGGS checked when planned */
    rval old[MAX_AGGS], now[MAX_AGGS];
    int n_old = 0, n_now = 0;
    int rc = rill_value_get(ctx, ga->state, st);
    if (rc < 0)
        goto out;
    if (rc == 0)
        memset(st, 0, ga->state_size);
    int64_t rows;
    memcpy(&rows, st, 8);
    acc *accs = (acc *)(st + 8);
    for (; rows > 0 && n_old < ga->n_aggs; n_old++)
        old[n_old] = result(ctx, ga, n_old, &accs[n_old]);
    rill_rowkind kind = rill_row_kind(in);
    int64_t before = rows;
    rc = 0;
    if (kind == RILL_ROW_UPDATE_BEFORE || kind == RILL_ROW_DELETE) {
        /* a retraction (from an updating input): its row leaves the group */
        if (rows <= 0) /* a group this operator does not have: nothing to take back */
            goto out;
        for (int k = 0; k < ga->n_aggs && rc >= 0; k++)
            rc = retract(ctx, ga, k, &accs[k], in);
        if (rc < 0)
            goto out;
        rows--;
        if (rows == 0) { /* the group is gone: -D of its last result (Flink's) */
            rc = rill_value_clear(ctx, ga->state);
            if (rc >= 0 && ga->vals)
                rc = rill_map_clear(ctx, ga->vals);
            if (rc >= 0)
                rc = emit(ctx, ga, in, old, RILL_ROW_DELETE);
            goto out;
        }
    } else {
        for (int k = 0; k < ga->n_aggs && rc >= 0; k++)
            rc = accumulate(ctx, ga, k, &accs[k], in);
        if (rc < 0)
            goto out;
        rows++;
    }
    memcpy(st, &rows, 8);
    if ((rc = rill_value_set(ctx, ga->state, st)) < 0)
        goto out;
    bool existed = before > 0, changed = !existed;
    for (; n_now < ga->n_aggs; n_now++) {
        now[n_now] = result(ctx, ga, n_now, &accs[n_now]);
        changed |= existed && !same(&old[n_now], &now[n_now]);
    }
    rc = 0;
    if (!changed && !ga->ttl) /* the result is as it was: nothing (Flink's, without TTL; with
                               * it the update goes on, refreshing what is downstream) */
        goto out;
    if (existed && (rc = emit(ctx, ga, in, old, RILL_ROW_UPDATE_BEFORE)) < 0)
        goto out;
    rc = emit(ctx, ga, in, now, existed ? RILL_ROW_UPDATE_AFTER : RILL_ROW_INSERT);
out:
    free_results(ga, old, n_old);
    free_results(ga, now, n_now);
    return rc < 0 ? rc : 0;
}

/* ---- the stream ------------------------------------------------------------------------------ */

int rill__sql_state_ttl(plan_ctx *pc, int64_t *ttl)
{
    *ttl = 0;
    for (size_t i = 0; i < pc->s->n_opts; i++)
        if (!strcmp(pc->s->opts[i].key, "table.exec.state.ttl") &&
            rill__parse_duration(pc->s->opts[i].value, ttl) != 0)
            return rill__err_set(pc->err, RILL_ECONFIG,
                                 "SET 'table.exec.state.ttl': '%s' is not a duration (1 h, "
                                 "30 min, 0 for none)",
                                 pc->s->opts[i].value);
    return 0;
}

rill_stream *rill__sql_build_group_agg(plan_ctx *pc, rel *r)
{
    rill__arena *a = pc->a;
    if (r->n_aggs > MAX_AGGS) {
        rill__err_set(pc->err, RILL_ELIMIT, "a GROUP BY of more than %d aggregates", MAX_AGGS);
        return NULL;
    }
    const rel *in = r->input;
    /* the calc before: the keys (or a constant one), then each aggregate's argument */
    int n_key_cols = RILL_MAX(r->n_keys, 1), n_pre = n_key_cols + r->n_aggs;
    rel_col *pcols = rill__arena_alloc(a, (size_t)n_pre * sizeof *pcols);
    rill__sql_rex **pouts = rill__arena_alloc(a, (size_t)n_pre * sizeof *pouts);
    gagg *ga = rill__arena_alloc(a, sizeof *ga);
    memset(ga, 0, sizeof *ga);
    ga->n_keys = n_key_cols;
    ga->n_aggs = r->n_aggs;
    ga->aggs = r->aggs;
    ga->arg_types = rill__arena_alloc(a, (size_t)(r->n_aggs + 1) * sizeof *ga->arg_types);
    memset(ga->arg_types, 0, (size_t)(r->n_aggs + 1) * sizeof *ga->arg_types); /* COUNT(*) */
    ga->arg_col = rill__arena_alloc(a, (size_t)(r->n_aggs + 1) * sizeof *ga->arg_col);
    ga->key_types = rill__arena_alloc(a, (size_t)n_key_cols * sizeof *ga->key_types);
    int k = 0;
    for (int i = 0; i < r->n_keys; i++, k++) {
        pcols[k] = in->cols[r->keys[i]];
        pouts[k] = rill__sql_x_input(a, r->keys[i], in->cols[r->keys[i]].type);
        ga->key_types[i] = in->cols[r->keys[i]].type;
    }
    if (r->n_keys == 0) { /* one group */
        pcols[k] = (rel_col){"$key", rill__sql_type_of(a, RILL_SQLT_BIGINT, false), NULL, false};
        pouts[k++] = rill__sql_x_literal(a, pcols[0].type, 0);
        ga->key_types[0] = pcols[0].type;
    }
    for (int i = 0; i < r->n_aggs; i++) {
        const rel_agg *g = &r->aggs[i];
        if (g->arg < 0) { /* COUNT(*): a column that is not read */
            pcols[k] =
                (rel_col){"$none", rill__sql_type_of(a, RILL_SQLT_BIGINT, false), NULL, false};
            pouts[k] = rill__sql_x_literal(a, pcols[k].type, 0);
        } else {
            pcols[k] = in->cols[g->arg];
            pouts[k] = rill__sql_x_input(a, g->arg, in->cols[g->arg].type);
            ga->arg_types[i] = in->cols[g->arg].type;
        }
        ga->arg_col[i] = k++;
    }
    /* the keyed aggregation: its state, one value per group */
    rill_keyed_stream *ks = rill__sql_keyed_input(pc, in, k, pcols, pouts, n_key_cols);
    if (!ks)
        return NULL;
    ga->state_size = 8 + (size_t)r->n_aggs * sizeof(acc);
    char name[64]; /* by its place in the script: the same in every run of it */
    snprintf(name, sizeof name, "sql-group-agg-%d", pc->s->n_group_aggs++);
    ga->state = rill_value_state(pc->s->env, name, ga->state_size);
    ga->retractable = in->updates;
    ga->in_map = rill__arena_alloc(a, (size_t)(r->n_aggs + 1) * sizeof *ga->in_map);
    bool need_map = false;
    for (int i = 0; i < r->n_aggs; i++) {
        const rel_agg *g = &r->aggs[i];
        bool minmax = g->kind == AGG_MIN || g->kind == AGG_MAX;
        ga->in_map[i] = minmax && (ga->retractable || bytes_type(ga->arg_types[i]));
        need_map |= ga->in_map[i] || g->distinct;
    }
    if (need_map) {
        char vname[80];
        snprintf(vname, sizeof vname, "%s-values", name);
        ga->vals = rill_map_state(pc->s->env, vname);
    }
    /* state TTL (Flink's table.exec.state.ttl): a group not updated for that long is gone; a
     * later row starts it again (+I) */
    int64_t ttl = 0;
    if (rill__sql_state_ttl(pc, &ttl) != 0)
        return NULL;
    if (ttl > 0) {
        ga->ttl = true;
        if (!ga->state || rill_state_ttl(ga->state, ttl, RILL_TTL_ON_CREATE_AND_WRITE) != 0 ||
            (ga->vals && rill_state_ttl(ga->vals, ttl, RILL_TTL_ON_CREATE_AND_WRITE) != 0)) {
            rill__err_set(pc->err, RILL_ECONFIG, "state TTL of a GROUP BY could not be set");
            return NULL;
        }
    }
    /* the output: the keys (a constant one too), then the results */
    int n_out = n_key_cols + r->n_aggs;
    rel_col *ocols = rill__arena_alloc(a, (size_t)n_out * sizeof *ocols);
    memcpy(ocols, pcols, (size_t)n_key_cols * sizeof *ocols);
    for (int i = 0; i < r->n_aggs; i++)
        ocols[n_key_cols + i] = r->cols[r->n_keys + i];
    rill_schema *out = rill__sql_schema_of(pc, n_out, ocols);
    if (!out)
        return NULL;
    rill_stream *g = rill_keyed_process(ks, out, group_agg_fn, ga);
    rill_schema_free(out);
    if (!g)
        return NULL;
    /* its uid: the keys, each aggregate and its argument's type, retractions or not; what
     * computes the keys and the arguments from the tables (a filter before it is no part) */
    rill__buf d = {0};
    rill__buf_printf(&d, "v1 keys=%d retract=%d ttl=%d", ga->n_keys, (int)ga->retractable,
                     (int)ga->ttl); /* a TTL'd value is stored with its time */
    for (int i = 0; i < n_key_cols; i++) {
        rill__buf_putc(&d, ' ');
        rill__sql_type_describe(ga->key_types[i], &d);
        if (i < r->n_keys) {
            rill__buf_putc(&d, '=');
            rill__sql_put_lineage(&d, in, r->keys[i]);
        }
    }
    for (int i = 0; i < r->n_aggs; i++) {
        rill__buf_printf(&d, "; agg %d distinct=%d arg=", (int)r->aggs[i].kind,
                         (int)r->aggs[i].distinct);
        if (r->aggs[i].arg >= 0)
            rill__sql_put_lineage(&d, in, r->aggs[i].arg);
        rill__buf_putc(&d, ' ');
        if (ga->arg_types[i])
            rill__sql_type_describe(ga->arg_types[i], &d);
        rill__buf_printf(&d, " -> ");
        rill__sql_type_describe(r->aggs[i].type, &d);
    }
    rill__buf_putc(&d, '\0');
    g = rill__sql_uid(pc, g, "GroupAggregate", (const char *)d.data);
    rill__buf_free(&d);
    /* the aggregation's columns: the keys (without a constant one), then the results */
    if (r->n_keys > 0)
        return g;
    rill__sql_rex **outs = rill__arena_alloc(a, (size_t)(r->n_aggs + 1) * sizeof *outs);
    for (int i = 0; i < r->n_aggs; i++)
        outs[i] = rill__sql_x_input(a, 1 + i, r->cols[i].type);
    rill_schema *drop = rill__sql_schema_of(pc, r->n_cols, r->cols);
    if (!drop)
        return NULL;
    g = rill__sql_calc(g, drop, NULL, r->n_cols, outs, pc->text, pc->err);
    rill_schema_free(drop);
    return g;
}

/* ---- window aggregations of what the built-in aggregates cannot take ------------------------- */

/* A window aggregation whose aggregates need SQL's accumulators (DECIMAL sums with 38 digits
 * and NULL past them, decimal MIN/MAX/AVG, DISTINCT, MIN/MAX of strings, dates, booleans): the
 * same accumulators as GROUP BY's, in the window operator's slices (merged for sliding and
 * cumulating windows and sessions). The input: the keys, then each aggregate's argument.
 * A DISTINCT aggregate's values and a string MIN/MAX are kept beside the accumulator, in the
 * window operator's values of the slice or session (dropped with it): [k]['d'][value] for each
 * distinct value, [k]['m'] -> the smallest or largest string. A window's distinct values are
 * the union of its slices' (Flink keeps a distinct map per slice and merges them too). */
typedef struct wagg {
    int n_keys, n_aggs;
    const rel_agg *aggs;
    const rill__sql_ltype **key_types, **arg_types;
    const rill__sql_ltype *window_type; /* window_start's and window_end's */
    bool *in_vals;                      /* per aggregate: kept in the window's values */
    bool any_vals;
} wagg;

/* A MIN/MAX kept in the values: whether the value from (a session folded into another) is
 * better than into's. DISTINCT entries are equal either way. */
static bool wagg_prefer(void *user, const void *ukey, size_t ukey_len, const void *from,
                        size_t from_len, const void *into, size_t into_len)
{
    const wagg *w = user;
    const unsigned char *u = ukey;
    if (ukey_len != 2 || u[1] != 'm' || u[0] >= w->n_aggs)
        return false;
    int c = val_cmp(w->arg_types[u[0]], from, from_len, into, into_len);
    return w->aggs[u[0]].kind == AGG_MIN ? c < 0 : c > 0;
}

/* Row's value of aggregate k (not NULL) into the values of its slice or session. */
static int wagg_vals_add(rill_ctx *ctx, const wagg *w, int k, acc *a, const rill_row *in, int col)
{
    bool minmax = w->aggs[k].kind == AGG_MIN || w->aggs[k].kind == AGG_MAX;
    rill__buf key = {0};
    const void *p;
    size_t len;
    val_key_t(w->arg_types[k], k, minmax ? 'm' : 'd', in, col, &key);
    int rc;
    if (minmax) { /* [k]['m'] -> the best value so far */
        const unsigned char *v = (const unsigned char *)key.data + 2;
        size_t vn = key.len - 2;
        rc = rill__window_vals_get(ctx, key.data, 2, &p, &len);
        if (rc == 0 ||
            (rc == 1 && (w->aggs[k].kind == AGG_MIN ? val_cmp(w->arg_types[k], v, vn, p, len) < 0
                                                    : val_cmp(w->arg_types[k], v, vn, p, len) > 0)))
            rc = rill__window_vals_put(ctx, key.data, 2, v, vn);
    } else if ((rc = rill__window_vals_get(ctx, key.data, key.len, &p, &len)) == 0) {
        rc = rill__window_vals_put(ctx, key.data, key.len, "", 0);
    }
    if (rc >= 0)
        a->n++; /* the slice has values */
    rill__buf_free(&key);
    return rc < 0 ? rc : 0;
}

static void wagg_create(void *accv, void *user)
{
    const wagg *w = user;
    memset(accv, 0, (size_t)w->n_aggs * sizeof(acc));
}

static int wagg_add(rill_ctx *ctx, void *accv, const rill_row *in)
{
    const wagg *w = rill_ctx_user(ctx);
    acc *a = accv;
    for (int k = 0; k < w->n_aggs; k++) {
        int col = w->n_keys + k;
        if (w->aggs[k].kind == AGG_COUNT_STAR) {
            a[k].n++;
        } else if (rill_row_is_null(in, col)) {
            continue;
        } else if (w->in_vals[k]) {
            int rc = wagg_vals_add(ctx, w, k, &a[k], in, col);
            if (rc < 0)
                return rc;
        } else {
            acc_value(w->aggs[k].kind, w->arg_types[k], &a[k], in, col);
        }
    }
    return 0;
}

/* The values of a window being emitted, read from its slices: each distinct value once (a set
 * of the encoded values seen, open addressing), the best MIN/MAX string. */
typedef struct wvals {
    const wagg *w;
    acc *accs;       /* per aggregate: over its distinct values */
    rill__buf *best; /* per aggregate: a MIN/MAX's value */
    bool *have;      /* per aggregate: best is set */
    rill__buf seen;  /* [k][tag][value] entries, each after its 4-byte length */
    uint64_t *slots; /* 0 empty, else 1 + the entry's offset in seen */
    uint64_t *hashes;
    size_t mask, n;
} wvals;

/* Whether ukey was seen before (then 1), else remembers it (0). */
static int wvals_seen(wvals *s, const void *ukey, size_t n)
{
    if ((s->n + 1) * 2 > s->mask + 1) { /* grow: at most half full */
        size_t cap = (s->mask + 1) * 2;
        uint64_t *slots = rill__xcalloc(cap, sizeof *slots), *hashes = rill__xcalloc(cap, 8);
        for (size_t i = 0; s->slots && i <= s->mask; i++)
            if (s->slots[i]) {
                size_t j = s->hashes[i] & (cap - 1);
                while (slots[j])
                    j = (j + 1) & (cap - 1);
                slots[j] = s->slots[i];
                hashes[j] = s->hashes[i];
            }
        free(s->slots);
        free(s->hashes);
        s->slots = slots;
        s->hashes = hashes;
        s->mask = cap - 1;
    }
    uint64_t h = rill__hash_bytes(ukey, n, 0);
    size_t j = h & s->mask;
    for (; s->slots[j]; j = (j + 1) & s->mask) {
        if (s->hashes[j] != h)
            continue;
        uint32_t len;
        memcpy(&len, s->seen.data + s->slots[j] - 1, 4);
        if (len == n && !memcmp(s->seen.data + s->slots[j] - 1 + 4, ukey, n))
            return 1;
    }
    s->slots[j] = 1 + s->seen.len;
    s->hashes[j] = h;
    uint32_t len = (uint32_t)n;
    rill__buf_append(&s->seen, &len, 4);
    rill__buf_append(&s->seen, ukey, n);
    s->n++;
    return 0;
}

/* A distinct value (its encoding) into a: COUNT counts it, SUM and AVG add it. */
static void acc_encoded(rel_agg_kind kind, const rill__sql_ltype *t, acc *a, const unsigned char *v,
                        size_t n)
{
    a->n++;
    if (kind != AGG_SUM && kind != AGG_AVG)
        return;
    acc_kind ak = kind_of(t);
    uint64_t slot = 0;
    if (n == 8)
        memcpy(&slot, v, 8);
    if (ak == A_INT) {
        a->i = (int64_t)((uint64_t)a->i + slot); /* Java's long wraps */
    } else if (ak == A_DBL) {
        a->d += rill__sql_approx_double(t, slot);
    } else if (a->n > 0) { /* a decimal: past 38 digits NULL (n = INT64_MIN) */
        rill__i128 x = n == 16 ? rill__dec_load16(v) : (rill__i128)(int64_t)slot, o;
        if (rill__dec_add(rill__dec_load16(a->dec), t->scale, x, t->scale, 38, t->scale, &o) == 0)
            rill__dec_store16(o, a->dec);
        else
            a->n = INT64_MIN;
    }
}

static int wvals_visit(void *arg, const void *ukey, size_t ukey_len, const void *val, size_t len)
{
    wvals *s = arg;
    const unsigned char *u = ukey;
    if (ukey_len < 2 || u[0] >= s->w->n_aggs || !s->w->in_vals[u[0]])
        return 0;
    int k = u[0];
    const rill__sql_ltype *t = s->w->arg_types[k];
    if (u[1] == 'm') {
        int c = s->have[k]
                    ? val_cmp(t, val, len, (const unsigned char *)s->best[k].data, s->best[k].len)
                    : 0;
        if (!s->have[k] || (s->w->aggs[k].kind == AGG_MIN ? c < 0 : c > 0)) {
            s->best[k].len = 0;
            rill__buf_append(&s->best[k], val, len);
            s->have[k] = true;
        }
    } else if (u[1] == 'd' && !wvals_seen(s, ukey, ukey_len)) {
        acc_encoded(s->w->aggs[k].kind, t, &s->accs[k], u + 2, ukey_len - 2);
    }
    return 0;
}

/* The results of the aggregates kept in the window's values into res (the others are left). */
static int wvals_results(rill_ctx *ctx, const wagg *w, rval *res)
{
    wvals s = {.w = w};
    s.accs = rill__xcalloc((size_t)w->n_aggs, sizeof *s.accs);
    s.best = rill__xcalloc((size_t)w->n_aggs, sizeof *s.best);
    s.have = rill__xcalloc((size_t)w->n_aggs, sizeof *s.have);
    int rc = rill__window_vals_iterate(ctx, wvals_visit, &s);
    for (int k = 0; k < w->n_aggs; k++) {
        if (!w->in_vals[k])
            continue;
        const rel_agg *g = &w->aggs[k];
        if (g->kind == AGG_MIN || g->kind == AGG_MAX) {
            res[k] = (rval){.null = !s.have[k]};
            if (s.have[k]) {
                res[k].bytes = rill__xmalloc(s.best[k].len + 1);
                memcpy(res[k].bytes, s.best[k].data, s.best[k].len);
                res[k].len = s.best[k].len;
            }
        } else {
            res[k] = result_of(g->kind, g->type, w->arg_types[k], &s.accs[k]);
        }
        rill__buf_free(&s.best[k]);
    }
    free(s.accs);
    free(s.best);
    free(s.have);
    free(s.slots);
    free(s.hashes);
    rill__buf_free(&s.seen);
    return rc < 0 ? rc : 0;
}

static void wagg_merge(void *accv, const void *otherv, void *user)
{
    const wagg *w = user;
    acc *a = accv;
    const acc *b = otherv;
    for (int k = 0; k < w->n_aggs; k++)
        acc_merge(w->aggs[k].kind, w->arg_types[k], &a[k], &b[k]);
}

static int wagg_result(rill_ctx *ctx, const void *accv, rill_row *out)
{
    const wagg *w = rill_ctx_user(ctx);
    const acc *a = accv;
    int rc = 0;
    for (int i = 0; i < w->n_keys && rc == 0; i++) { /* the window's key */
        const rill__sql_ltype *t = w->key_types[i];
        if (rill_ctx_key_is_null(ctx, i)) {
            rill_row_set_null(out, i);
        } else if (rill__sql_in_bytes(t)) {
            const char *p;
            size_t len;
            if ((rc = rill_ctx_key_str(ctx, i, &p, &len)) == 0)
                rc = rill_row_set_bytes(out, i, p, len);
        } else if (rill__sql_is_approx(t)) {
            double d;
            if ((rc = rill_ctx_key_f64(ctx, i, &d)) == 0) {
                if (t->root == RILL_SQLT_FLOAT) {
                    float f = (float)d;
                    uint32_t u;
                    memcpy(&u, &f, sizeof u);
                    out->v[i] = u;
                } else {
                    memcpy(&out->v[i], &d, sizeof d);
                }
                out->nulls[i >> 6] &= ~(UINT64_C(1) << (i & 63));
            }
        } else {
            int64_t v;
            if ((rc = rill_ctx_key_i64(ctx, i, &v)) == 0) {
                out->v[i] = (uint64_t)v;
                out->nulls[i >> 6] &= ~(UINT64_C(1) << (i & 63));
            }
        }
    }
    rill_window win;
    if (rc == 0 && (rc = rill_ctx_window(ctx, &win)) == 0) {
        int f = w->n_keys;
        out->v[f] = (uint64_t)win.start;
        out->v[f + 1] = (uint64_t)win.end;
        out->nulls[f >> 6] &= ~(UINT64_C(1) << (f & 63));
        out->nulls[(f + 1) >> 6] &= ~(UINT64_C(1) << ((f + 1) & 63));
    }
    rval vres[MAX_AGGS] = {{0}};
    if (rc == 0 && w->any_vals)
        rc = wvals_results(ctx, w, vres);
    for (int k = 0; k < w->n_aggs && rc == 0; k++) {
        rval r = w->in_vals[k]
                     ? vres[k]
                     : result_of(w->aggs[k].kind, w->aggs[k].type, w->arg_types[k], &a[k]);
        rc = put_result(out, w->n_keys + 2 + k, w->aggs[k].type, &r);
    }
    free_results_n(vres, w->n_aggs);
    return rc < 0 ? rc : (rc ? -rc : 0);
}

rill_stream *rill__sql_window_agg_sql(plan_ctx *pc, rel *r, rill_keyed_stream *ks, int n_keys,
                                      const rill__sql_ltype **key_types,
                                      const rill__sql_ltype **arg_types)
{
    rill__arena *a = pc->a;
    if (r->n_aggs > MAX_AGGS) {
        rill__err_set(pc->err, RILL_ELIMIT, "a window aggregation of more than %d aggregates",
                      MAX_AGGS);
        return NULL;
    }
    wagg *w = rill__arena_alloc(a, sizeof *w);
    *w = (wagg){.n_keys = n_keys,
                .n_aggs = r->n_aggs,
                .aggs = r->aggs,
                .key_types = key_types,
                .arg_types = arg_types};
    w->in_vals = rill__arena_alloc(a, (size_t)(r->n_aggs + 1) * sizeof *w->in_vals);
    for (int k = 0; k < r->n_aggs; k++) {
        bool minmax = r->aggs[k].kind == AGG_MIN || r->aggs[k].kind == AGG_MAX;
        w->in_vals[k] = arg_types[k] && (minmax ? bytes_type(arg_types[k]) : r->aggs[k].distinct);
        w->any_vals |= w->in_vals[k];
    }
    rill_aggregate *agg = rill__arena_alloc(a, sizeof *agg);
    *agg = (rill_aggregate){.acc_size = (size_t)RILL_MAX(r->n_aggs, 1) * sizeof(acc),
                            .create = wagg_create,
                            .add = wagg_add,
                            .merge = wagg_merge,
                            .result = wagg_result,
                            .user = w};
    /* the output: the keys, window_start, window_end, the aggregates: the rel's columns */
    int n_out = n_keys + 2 + r->n_aggs;
    rel_col *cols = rill__arena_alloc(a, (size_t)n_out * sizeof *cols);
    for (int i = 0; i < n_keys; i++) {
        char *nm = rill__arena_alloc(a, 16);
        snprintf(nm, 16, "k%d", i);
        cols[i] = (rel_col){nm, key_types[i], NULL, false};
    }
    cols[n_keys] = (rel_col){"window_start", r->cols[r->n_keys].type, NULL, false};
    cols[n_keys + 1] = (rel_col){"window_end", r->cols[r->n_keys + 1].type, NULL, false};
    for (int k = 0; k < r->n_aggs; k++) {
        char *nm = rill__arena_alloc(a, 16);
        snprintf(nm, 16, "a%d", k);
        cols[n_keys + 2 + k] = (rel_col){nm, r->aggs[k].type, NULL, false};
    }
    rill_schema *out = rill__sql_schema_of(pc, n_out, cols);
    if (!out)
        return NULL;
    rill_stream *s = rill_window_aggregate_fn(ks, &r->window, out, agg);
    rill_schema_free(out);
    if (s && w->any_vals && rill__window_keep_values(s, wagg_prefer) != 0)
        return NULL;
    return s;
}
