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
typedef struct acc {
    int64_t n;
    int64_t i;
    double d;
    unsigned char dec[16];
} acc;

typedef enum acc_kind { A_INT, A_DBL, A_DEC } acc_kind;

typedef struct gagg {
    int n_keys, n_aggs;
    const rel_agg *aggs;
    const rill__sql_ltype **arg_types; /* per aggregate (NULL for COUNT(*)) */
    int *arg_col;                      /* its column of the input */
    rill_state_desc *state;            /* int64 rows, then one acc per aggregate */
    size_t state_size;
    const rill__sql_ltype **key_types;
} gagg;

static acc_kind kind_of(const rill__sql_ltype *t)
{
    if (!t)
        return A_INT;
    if (t->root == RILL_SQLT_DECIMAL)
        return A_DEC;
    return rill__sql_is_approx(t) ? A_DBL : A_INT;
}

static double as_double(const rill__sql_ltype *t, uint64_t v)
{
    if (t->root == RILL_SQLT_FLOAT) {
        uint32_t u = (uint32_t)v;
        float f;
        memcpy(&f, &u, sizeof f);
        return (double)f;
    }
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

static rill__i128 dec_of(const rill_row *row, int col, const rill__sql_ltype *t)
{
    if (t->precision <= 18)
        return (rill__i128)(int64_t)row->v[col];
    rill_decimal d = rill_row_decimal(row, col);
    return rill__dec_from_pub(&d);
}

/* Adds row's value of aggregate g to a. */
/* Takes a row out of a (a -U or -D of an updating input): COUNT, SUM and AVG only (the
 * planner refuses MIN and MAX over an updating input). */
static void retract(const gagg *ga, int k, acc *a, const rill_row *row)
{
    const rel_agg *g = &ga->aggs[k];
    if (g->kind == AGG_COUNT_STAR) {
        a->n--;
        return;
    }
    int col = ga->arg_col[k];
    if (rill_row_is_null(row, col))
        return;
    const rill__sql_ltype *t = ga->arg_types[k];
    a->n--;
    if (g->kind == AGG_COUNT)
        return;
    acc_kind ak = kind_of(t);
    if (ak == A_INT) {
        a->i = (int64_t)((uint64_t)a->i - (uint64_t)(int64_t)row->v[col]);
    } else if (ak == A_DBL) {
        a->d -= as_double(t, row->v[col]);
    } else if (a->n >= 0) {
        rill__i128 o;
        if (rill__dec_sub(rill__dec_load16(a->dec), t->scale, dec_of(row, col, t), t->scale, 38,
                          t->scale, &o) == 0)
            rill__dec_store16(o, a->dec);
        else
            a->n = INT64_MIN;
    }
}

static void accumulate(const gagg *ga, int k, acc *a, const rill_row *row)
{
    const rel_agg *g = &ga->aggs[k];
    if (g->kind == AGG_COUNT_STAR) {
        a->n++;
        return;
    }
    int col = ga->arg_col[k];
    if (rill_row_is_null(row, col))
        return;
    const rill__sql_ltype *t = ga->arg_types[k];
    acc_kind ak = kind_of(t);
    bool first = a->n == 0;
    a->n++;
    if (g->kind == AGG_COUNT)
        return;
    bool sum = g->kind == AGG_SUM || g->kind == AGG_AVG, min = g->kind == AGG_MIN;
    if (ak == A_INT) {
        int64_t v = (int64_t)row->v[col];
        if (sum)
            a->i = (int64_t)((uint64_t)a->i + (uint64_t)v); /* Java's long wraps */
        else if (first || (min ? v < a->i : v > a->i))
            a->i = v;
    } else if (ak == A_DBL) {
        double v = as_double(t, row->v[col]);
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

/* An aggregate's result: NULL, or a slot value (a DECIMAL past 18 digits: dec). */
typedef struct rval {
    bool null;
    uint64_t slot;
    rill__i128 dec;
    int scale;
} rval;

static rval result(const gagg *ga, int k, const acc *a)
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
    acc_kind ak = kind_of(t);
    if (ak == A_INT) {
        int64_t v = g->kind == AGG_AVG ? a->i / a->n : a->i;
        /* narrowed as Java narrows a long to the result's width */
        switch (rt->root) {
        case RILL_SQLT_TINYINT:
            v = (int8_t)(uint8_t)v;
            break;
        case RILL_SQLT_SMALLINT:
            v = (int16_t)(uint16_t)v;
            break;
        case RILL_SQLT_INT:
            v = (int32_t)(uint32_t)v;
            break;
        default:
            break;
        }
        r.slot = (uint64_t)v;
        return r;
    }
    if (ak == A_DBL) {
        double v = g->kind == AGG_AVG ? a->d / (double)a->n : a->d;
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
    if (g->kind == AGG_AVG) {
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
    return x->null == y->null && (x->null || (x->slot == y->slot && x->dec == y->dec));
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
    for (int k = 0; k < ga->n_aggs; k++) {
        int f = ga->n_keys + k;
        const rill__sql_ltype *rt = ga->aggs[k].type;
        if (res[k].null) {
            rill_row_set_null(&out, f);
        } else if (rt->root == RILL_SQLT_DECIMAL && rt->precision > 18) {
            rill_decimal d = rill__dec_to_pub(res[k].dec, res[k].scale);
            if (rill_row_set_decimal(&out, f, &d) != 0)
                rill_row_set_null(&out, f);
        } else {
            out.v[f] = res[k].slot;
            out.nulls[f >> 6] &= ~(UINT64_C(1) << (f & 63));
        }
    }
    return kind == RILL_ROW_INSERT ? 0 : rill_row_set_kind(&out, kind);
}

static int group_agg_fn(rill_ctx *ctx, const rill_row *in)
{
    const gagg *ga = rill_ctx_user(ctx);
    unsigned char stack[8 + MAX_AGGS * sizeof(acc)];
    unsigned char *st = stack; /* state_size <= sizeof stack: MAX_AGGS checked when planned */
    int rc = rill_value_get(ctx, ga->state, st);
    if (rc < 0)
        goto out;
    if (rc == 0)
        memset(st, 0, ga->state_size);
    int64_t rows;
    memcpy(&rows, st, 8);
    acc *accs = (acc *)(st + 8);
    rval old[MAX_AGGS], now[MAX_AGGS];
    for (int k = 0; rows > 0 && k < ga->n_aggs; k++)
        old[k] = result(ga, k, &accs[k]);
    rill_rowkind kind = rill_row_kind(in);
    int64_t before = rows;
    if (kind == RILL_ROW_UPDATE_BEFORE || kind == RILL_ROW_DELETE) {
        /* a retraction (from an updating input): its row leaves the group */
        if (rows <= 0) /* a group this operator does not have: nothing to take back */
            goto out;
        for (int k = 0; k < ga->n_aggs; k++)
            retract(ga, k, &accs[k], in);
        rows--;
        if (rows == 0) { /* the group is gone: -D of its last result (Flink's) */
            rc = rill_value_clear(ctx, ga->state);
            if (rc >= 0)
                rc = emit(ctx, ga, in, old, RILL_ROW_DELETE);
            goto out;
        }
    } else {
        for (int k = 0; k < ga->n_aggs; k++)
            accumulate(ga, k, &accs[k], in);
        rows++;
    }
    memcpy(st, &rows, 8);
    if ((rc = rill_value_set(ctx, ga->state, st)) < 0)
        goto out;
    bool existed = before > 0, changed = !existed;
    for (int k = 0; k < ga->n_aggs; k++) {
        now[k] = result(ga, k, &accs[k]);
        changed |= existed && !same(&old[k], &now[k]);
    }
    rc = 0;
    if (!changed) /* the result is as it was: nothing (Flink's default, without state TTL) */
        goto out;
    if (existed && (rc = emit(ctx, ga, in, old, RILL_ROW_UPDATE_BEFORE)) < 0)
        goto out;
    rc = emit(ctx, ga, in, now, existed ? RILL_ROW_UPDATE_AFTER : RILL_ROW_INSERT);
out:
    return rc < 0 ? rc : 0;
}

/* ---- the stream ------------------------------------------------------------------------------ */

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
    ga->arg_col = rill__arena_alloc(a, (size_t)(r->n_aggs + 1) * sizeof *ga->arg_col);
    ga->key_types = rill__arena_alloc(a, (size_t)n_key_cols * sizeof *ga->key_types);
    int k = 0;
    for (int i = 0; i < r->n_keys; i++, k++) {
        pcols[k] = in->cols[r->keys[i]];
        pouts[k] = rill__sql_x_input(a, r->keys[i], in->cols[r->keys[i]].type);
        ga->key_types[i] = in->cols[r->keys[i]].type;
    }
    if (r->n_keys == 0) { /* one group */
        pcols[k] = (rel_col){"$key", rill__sql_type_of(a, RILL_SQLT_BIGINT, false)};
        pouts[k++] = rill__sql_x_literal(a, pcols[0].type, 0);
        ga->key_types[0] = pcols[0].type;
    }
    for (int i = 0; i < r->n_aggs; i++) {
        const rel_agg *g = &r->aggs[i];
        if (g->arg < 0) { /* COUNT(*): a column that is not read */
            pcols[k] = (rel_col){"$none", rill__sql_type_of(a, RILL_SQLT_BIGINT, false)};
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
