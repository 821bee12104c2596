/*
 * over.c - sql layer: OVER aggregations (Flink's OverAggregate). COUNT, SUM, MIN, MAX and AVG
 * OVER (PARTITION BY k ORDER BY t ROWS|RANGE BETWEEN .. PRECEDING AND CURRENT ROW) give each
 * row its aggregates over its frame: a keyed process whose state is the partition's rows that
 * a later frame may still hold. Over event time rows wait for the watermark and are processed
 * in time order (a row at or below the watermark when it comes is late and dropped, as Flink's
 * RowTime*PrecedingFunctions do); over processing time as they come. Over an updating input
 * (which Flink refuses) every current row of a partition is kept in the order of t, and a
 * change emits the changed row and every row whose frame it changed, as a changelog.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sql_int.h"

#define ERR(pc, pos, ...) (rill__sql_error((pc)->err, (pc)->text, (pos), __VA_ARGS__), NULL)

/* ---- planning ------------------------------------------------------------------------------ */

static const char *const agg_names[] = {"COUNT", "SUM", "MIN", "MAX", "AVG", NULL};

/* Whether e is an aggregate call with OVER. */
static bool is_over_agg(const rill__sql_expr *e)
{
    if (!e || e->kind != RILL_SQL_E_CALL || !e->u.call.over || e->u.call.name.n_parts != 1)
        return false;
    for (int k = 0; agg_names[k]; k++)
        if (!strcasecmp(e->u.call.name.parts[0].text, agg_names[k]))
            return true;
    return false;
}

/* The OVER aggregate calls in e, appended to v (NULL: counted only). */
static void find_calls(const rill__sql_expr *e, const rill__sql_expr **v, int *n)
{
    if (!e)
        return;
    switch (e->kind) {
    case RILL_SQL_E_CALL:
        if (is_over_agg(e)) {
            if (v)
                v[*n] = e;
            (*n)++;
            return;
        }
        for (size_t i = 0; i < e->u.call.n_args; i++)
            find_calls(e->u.call.args[i], v, n);
        return;
    case RILL_SQL_E_UNARY:
        find_calls(e->u.unary.arg, v, n);
        return;
    case RILL_SQL_E_BINARY:
        find_calls(e->u.binary.left, v, n);
        find_calls(e->u.binary.right, v, n);
        return;
    case RILL_SQL_E_IS:
        find_calls(e->u.is.arg, v, n);
        return;
    case RILL_SQL_E_CAST:
        find_calls(e->u.cast.arg, v, n);
        return;
    case RILL_SQL_E_BETWEEN:
        find_calls(e->u.between.arg, v, n);
        find_calls(e->u.between.lo, v, n);
        find_calls(e->u.between.hi, v, n);
        return;
    case RILL_SQL_E_CASE:
        find_calls(e->u.kase.operand, v, n);
        find_calls(e->u.kase.else_, v, n);
        for (size_t i = 0; i < e->u.kase.n_whens; i++) {
            find_calls(e->u.kase.whens[i].when, v, n);
            find_calls(e->u.kase.whens[i].then, v, n);
        }
        return;
    default:
        return;
    }
}

bool rill__sql_has_over(const rill__sql_query *q)
{
    int n = 0;
    for (size_t i = 0; i < q->u.select.n_items; i++)
        find_calls(q->u.select.items[i].expr, NULL, &n);
    return n > 0;
}

/* The window of an OVER call: its own, or the WINDOW clause's it names. */
static const rill__sql_window *window_of(plan_ctx *pc, const rill__sql_query *q,
                                         const rill__sql_expr *e)
{
    const rill__sql_call *c = &e->u.call;
    const rill__sql_ident *name = c->over_name;
    if (c->window && c->window->base) {
        if (c->window->n_partition || c->window->n_order || c->window->frame)
            return ERR(pc, c->window->pos,
                       "A window refining a named window is not supported "
                       "yet (OVER w is)");
        name = c->window->base;
    }
    if (!name)
        return c->window;
    for (size_t i = 0; i < q->u.select.n_windows; i++)
        if (!strcmp(q->u.select.windows[i].name.text, name->text))
            return q->u.select.windows[i].spec;
    return ERR(pc, e->pos, "Window '%s' not found", name->text);
}

/* A column of in that e names (PARTITION BY, ORDER BY), or -1 with err set. */
static int window_col(plan_ctx *pc, const rel *in, const rill__sql_expr *e, const char *what)
{
    rill__sql_rex *x = rill__sql_bind(pc, in, e);
    if (!x)
        return -1;
    if (x->op != RILL_SQLX_INPUT) {
        rill__sql_error(pc->err, pc->text, e->pos,
                        "%s of an expression is not supported yet in OVER (a column is)", what);
        return -1;
    }
    return x->input;
}

/* The window w's partition, order and frame into o. 0, or -1 with err set. */
static int bind_window(plan_ctx *pc, const rel *in, const rill__sql_window *w, rel_over *o)
{
    o->n_part = (int)w->n_partition;
    o->part = rill__arena_alloc(pc->a, (size_t)(o->n_part + 1) * sizeof *o->part);
    for (int i = 0; i < o->n_part; i++)
        if ((o->part[i] = window_col(pc, in, w->partition[i], "PARTITION BY")) < 0)
            return -1;
    /* Flink's words: an OVER window in a stream is ordered by one time attribute */
    if (w->n_order != 1)
        return w->n_order ? rill__sql_error(pc->err, pc->text, w->order[1].expr->pos,
                                            "The window can only be ordered by a single time "
                                            "column.")
                          : rill__sql_error(pc->err, pc->text, w->pos,
                                            "OVER windows' ordering in stream mode must be "
                                            "defined on a time attribute.");
    const rill__sql_order *ob = &w->order[0];
    if ((o->order = window_col(pc, in, ob->expr, "ORDER BY")) < 0)
        return -1;
    const rill__sql_ltype *t = in->cols[o->order].type;
    if (in->updates) {
        /* beyond Flink: an updating input's rows ordered by a timestamp's value */
        if ((t->root != RILL_SQLT_TIMESTAMP && t->root != RILL_SQLT_TIMESTAMP_LTZ) ||
            t->precision > 3)
            return rill__sql_error(pc->err, pc->text, ob->expr->pos,
                                   "An OVER aggregation over an updating input is ordered by a "
                                   "TIMESTAMP(3) or TIMESTAMP_LTZ(3) column, not '%s'",
                                   rill__sql_type_str(pc->a, t));
        o->time = OVER_VALUE;
    } else if (t->attr == RILL_SQLA_ROWTIME && t->precision <= 3) {
        o->time = OVER_ROWTIME;
    } else if (t->attr == RILL_SQLA_PROCTIME) {
        o->time = OVER_PROCTIME;
    } else {
        return rill__sql_error(pc->err, pc->text, ob->expr->pos,
                               "OVER windows' ordering in stream mode must be defined on a "
                               "time attribute.");
    }
    if (ob->desc)
        return rill__sql_error(pc->err, pc->text, ob->expr->pos,
                               "OVER windows' ordering in stream mode must be ascending");
    /* the frame: RANGE UNBOUNDED PRECEDING when none is given */
    o->rows = w->frame == 1;
    o->preceding = -1;
    if (!w->frame)
        return 0;
    const rill__sql_bound *hi = &w->hi, *lo = &w->lo;
    if (w->between && hi->kind != RILL_SQL_B_CURRENT_ROW)
        return rill__sql_error(pc->err, pc->text, hi->offset ? hi->offset->pos : w->pos,
                               "OVER RANGE FOLLOWING windows are not supported yet.");
    if (lo->kind == RILL_SQL_B_FOLLOWING || lo->kind == RILL_SQL_B_UNBOUNDED_FOLLOWING)
        return rill__sql_error(pc->err, pc->text, lo->offset ? lo->offset->pos : w->pos,
                               "OVER RANGE FOLLOWING windows are not supported yet.");
    if (lo->kind == RILL_SQL_B_CURRENT_ROW) {
        o->preceding = 0;
    } else if (lo->kind == RILL_SQL_B_PRECEDING && !o->rows) {
        if (lo->offset->kind != RILL_SQL_E_INTERVAL)
            return rill__sql_error(pc->err, pc->text, lo->offset->pos,
                                   "A RANGE frame over a time attribute is bounded by an "
                                   "INTERVAL (RANGE BETWEEN INTERVAL '10' SECOND PRECEDING AND "
                                   "CURRENT ROW)");
        if ((o->preceding = rill__sql_interval_ms(pc, lo->offset)) < 0)
            return -1;
    } else if (lo->kind == RILL_SQL_B_PRECEDING) {
        rill__sql_rex *x = rill__sql_bind(pc, in, lo->offset);
        if (!x)
            return -1;
        x = rill__sql_fold(pc->a, x, pc->text);
        if (x->op != RILL_SQLX_LITERAL || x->lit_null || !rill__sql_is_integer(x->type) ||
            (int64_t)x->lit < 0)
            return rill__sql_error(pc->err, pc->text, lo->offset->pos,
                                   "A ROWS frame is bounded by a count of rows that is a "
                                   "constant integer, not negative");
        o->preceding = (int64_t)x->lit;
    }
    return 0;
}

static bool same_window(const rel_over *a, const rel_over *b)
{
    if (a->n_part != b->n_part || a->order != b->order || a->rows != b->rows ||
        a->preceding != b->preceding)
        return false;
    for (int i = 0; i < a->n_part; i++)
        if (a->part[i] != b->part[i])
            return false;
    return true;
}

rel *rill__sql_plan_over(plan_ctx *pc, const rill__sql_query *q, rel *in)
{
    rill__arena *a = pc->a;
    int n_calls = 0;
    for (size_t i = 0; i < q->u.select.n_items; i++)
        find_calls(q->u.select.items[i].expr, NULL, &n_calls);
    const rill__sql_expr **calls = rill__arena_alloc(a, (size_t)n_calls * sizeof *calls);
    n_calls = 0;
    for (size_t i = 0; i < q->u.select.n_items; i++)
        find_calls(q->u.select.items[i].expr, calls, &n_calls);
    if (q->u.select.where && !(in = rill__sql_where(pc, in, q->u.select.where)))
        return NULL; /* the query's WHERE comes before the aggregation */
    rel_over *o = rill__arena_alloc(a, sizeof *o);
    memset(o, 0, sizeof *o);
    o->n_calls = n_calls;
    o->calls = calls;
    o->call_agg = rill__arena_alloc(a, (size_t)n_calls * sizeof *o->call_agg);
    /* each call's aggregate bound as a grouped query's is (bind.c): the same call twice is one
     * aggregate, an argument that is an expression a column computed before */
    agg_ctx g;
    memset(&g, 0, sizeof g);
    g.input = in;
    g.first_col = 0;
    g.expr_base = in->n_cols;
    for (int i = 0; i < n_calls; i++) {
        const rill__sql_expr *e = calls[i];
        const rill__sql_window *w = window_of(pc, q, e);
        if (!w && e->u.call.over_name)
            return NULL;
        if (!w)
            return ERR(pc, e->pos, "OVER needs a window");
        rel_over wo;
        memset(&wo, 0, sizeof wo);
        if (bind_window(pc, in, w, &wo))
            return NULL;
        if (i == 0) {
            *o = (rel_over){wo.n_part,    wo.part, wo.order, wo.time,     wo.rows,
                            wo.preceding, n_calls, calls,    o->call_agg, in->n_cols};
        } else if (!same_window(o, &wo)) {
            return ERR(pc, e->pos,
                       "Over Agg: Unsupported use of OVER windows. All aggregates "
                       "must be computed on the same window.");
        }
        if (e->u.call.quantifier == 1)
            return ERR(pc, e->pos, "DISTINCT aggregates OVER a window are not supported yet");
        rill__sql_expr plain = *e;
        plain.u.call.over = false;
        plain.u.call.over_name = NULL;
        plain.u.call.window = NULL;
        agg_ctx *saved = pc->agg;
        pc->agg = &g;
        rill__sql_rex *x = rill__sql_bind(pc, in, &plain);
        pc->agg = saved;
        if (!x)
            return NULL;
        RILL_ASSERT(x->op == RILL_SQLX_INPUT);
        o->call_agg[i] = x->input;
        const rel_agg *ag = &g.aggs[x->input];
        if (ag->arg >= 0 && (ag->kind == AGG_MIN || ag->kind == AGG_MAX)) {
            const rill__sql_ltype *t =
                ag->arg < in->n_cols ? in->cols[ag->arg].type : g.exprs[ag->arg - in->n_cols]->type;
            if (rill__sql_is_character(t) || rill__sql_is_binary(t) || t->root == RILL_SQLT_BOOLEAN)
                return ERR(pc, e->pos, "MIN and MAX OVER a window of '%s' are not supported yet",
                           rill__sql_type_str(a, t));
        }
    }
    if (g.n_exprs) { /* the arguments that are expressions: columns after the input's */
        rel *c = rill__arena_alloc(a, sizeof *c);
        memset(c, 0, sizeof *c);
        c->kind = REL_CALC;
        c->input = in;
        c->updates = in->updates;
        c->n_cols = in->n_cols + g.n_exprs;
        c->cols = rill__arena_alloc(a, (size_t)c->n_cols * sizeof *c->cols);
        c->outs = rill__arena_alloc(a, (size_t)c->n_cols * sizeof *c->outs);
        for (int i = 0; i < in->n_cols; i++) {
            c->cols[i] = in->cols[i];
            c->outs[i] = rill__sql_x_input(a, i, in->cols[i].type);
        }
        for (int i = 0; i < g.n_exprs; i++) {
            char *nm = rill__arena_alloc(a, 24);
            snprintf(nm, 24, "$over_arg%d", i);
            c->cols[in->n_cols + i] = (rel_col){nm, g.exprs[i]->type, NULL, false};
            c->outs[in->n_cols + i] = g.exprs[i];
        }
        in = c;
    }
    rel *r = rill__arena_alloc(a, sizeof *r);
    memset(r, 0, sizeof *r);
    r->kind = REL_OVER;
    r->input = in;
    r->updates = in->updates;
    r->over = o;
    o->n_in = in->n_cols;
    r->n_aggs = g.n_aggs;
    r->aggs = g.aggs;
    r->n_cols = in->n_cols + g.n_aggs;
    r->cols = rill__arena_alloc(a, (size_t)r->n_cols * sizeof *r->cols);
    memcpy(r->cols, in->cols, (size_t)in->n_cols * sizeof *r->cols);
    for (int i = 0; i < g.n_aggs; i++) { /* Flink's names: w0$o0, w0$o1... */
        char *nm = rill__arena_alloc(a, 24);
        snprintf(nm, 24, "w0$o%d", i);
        r->cols[in->n_cols + i] = (rel_col){nm, g.aggs[i].type, NULL, false};
    }
    return r;
}

rill__sql_rex *rill__sql_bind_over_agg(plan_ctx *pc, const rel *in, const rill__sql_expr *e)
{
    const rel_over *o = in->over;
    for (int i = 0; i < o->n_calls; i++)
        if (o->calls[i] == e) {
            int k = o->call_agg[i];
            rill__sql_rex *x = rill__sql_x_input(pc->a, o->n_in + k, in->aggs[k].type);
            x->pos = e->pos;
            return x;
        }
    return ERR(pc, e->pos,
               "OVER windows of this function are not supported yet (COUNT, SUM, "
               "MIN, MAX and AVG are)");
}

/* ---- EXPLAIN, digests ---------------------------------------------------------------------- */

static const char *const kind_names[] = {"COUNT", "COUNT", "SUM", "MIN", "MAX", "AVG"};

void rill__sql_explain_over(rill__buf *b, const rel *r, int par, bool state)
{
    /* Flink's shape: OverAggregate(partitionBy=[k], orderBy=[ts ASC], window#0=[COUNT(v) AS
     * w0$o0, ... ROWS BETWEEN 2 PRECEDING AND CURRENT ROW], select=[k, v, ts, w0$o0, ...]),
     * RANGE printed RANG as Calcite prints it, an interval in ms */
    const rel_over *o = r->over;
    const rel *in = r->input;
    rill__buf_printf(b, "OverAggregate(partitionBy=[");
    for (int i = 0; i < o->n_part; i++)
        rill__buf_printf(b, "%s%s", i ? ", " : "", in->cols[o->part[i]].name);
    rill__buf_printf(b, "], orderBy=[%s ASC], window#0=[", in->cols[o->order].name);
    for (int i = 0; i < r->n_aggs; i++) {
        const rel_agg *g = &r->aggs[i];
        rill__buf_printf(b, "%s%s(%s) AS %s", i ? ", " : "", kind_names[g->kind],
                         g->arg >= 0 ? in->cols[g->arg].name : "*", r->cols[o->n_in + i].name);
    }
    rill__buf_printf(b, " %s BETWEEN ", o->rows ? "ROWS" : "RANG");
    if (o->preceding < 0)
        rill__buf_printf(b, "UNBOUNDED PRECEDING");
    else if (o->preceding == 0)
        rill__buf_printf(b, "CURRENT ROW");
    else
        rill__buf_printf(b, "%lld PRECEDING", (long long)o->preceding);
    rill__buf_printf(b, " AND CURRENT ROW], select=[");
    for (int i = 0; i < r->n_cols; i++)
        rill__buf_printf(b, "%s%s", i ? ", " : "", r->cols[i].name);
    rill__buf_printf(b, "])");
    if (!state)
        return;
    rill__buf_printf(b, ", parallelism=[%d], keyed by [%s], time=[%s], state=[", par,
                     o->n_part ? "the partition" : "(one partition)",
                     o->time == OVER_ROWTIME    ? "event time"
                     : o->time == OVER_PROCTIME ? "processing time"
                                                : "the order column's value");
    if (o->time == OVER_VALUE)
        rill__buf_printf(b, "every current row per partition (an updating input, beyond Flink: "
                            "a change re-emits each row whose frame it changes)]");
    else if (o->preceding < 0)
        rill__buf_printf(b, "the accumulators per partition%s]",
                         o->time == OVER_ROWTIME ? ", and its rows until the watermark passes "
                                                   "them"
                                                 : "");
    else
        rill__buf_printf(b, "the rows per partition a later frame still holds%s]",
                         o->time == OVER_ROWTIME ? ", and the rows until the watermark passes "
                                                   "them"
                                                 : "");
}

void rill__sql_over_digest(rill__buf *b, const rel *r)
{
    const rel_over *o = r->over;
    rill__buf_printf(b, " o%d/%d/%d/%lld p", o->order, (int)o->time, (int)o->rows,
                     (long long)o->preceding);
    for (int i = 0; i < o->n_part; i++)
        rill__buf_printf(b, "%d,", o->part[i]);
    rill__buf_printf(b, " a");
    for (int i = 0; i < r->n_aggs; i++)
        rill__buf_printf(b, "%d/%d,", (int)r->aggs[i].kind, r->aggs[i].arg);
}

int rill__sql_over_changelog(const rel *r)
{
    return r->over->time == OVER_VALUE ? 1 | 2 | 4 : 1;
}

/* ---- the operator -------------------------------------------------------------------------- */

typedef rill__sql_acc acc;

typedef struct over_op {
    int n_key;            /* the key columns before the input's in the operator's rows */
    rill__sql_packing pk; /* the input's columns, as its state keeps them (after the time) */
    int tcol;             /* the ORDER BY column of the input */
    rel_over_time time;
    bool rows;
    int64_t prec; /* -1: UNBOUNDED */
    int n_aggs;
    const rel_agg *aggs;
    const rill__sql_ltype **arg_types; /* per aggregate (NULL for COUNT(*)) */
    rill_state_desc *state;            /* the partition's rows, in time order (entries) */
    rill_state_desc *accs;             /* UNBOUNDED over a time attribute: the accumulators */
} over_op;

/* Each subtask's scratch, kept across rows: the key's entries (a copy of its state), where
 * each starts, two lists of entries, the accumulators, the entry coming in, the state
 * written. */
typedef struct scratch {
    rill__buf blob, in, out;
    size_t *at;
    size_t n, cap;
    const unsigned char **l0, **l1;
    size_t cap_l;
    acc *a0, *a1;
} scratch;

/* An entry: its time (8 bytes), then the row's input columns packed (rill__sql_pack). */
static void encode(const over_op *op, int64_t t, const rill_row *in, rill__buf *b)
{
    rill__buf_append(b, &t, 8);
    rill__sql_pack(&op->pk, in, op->n_key, b);
}

static int64_t ent_t(const unsigned char *e)
{
    int64_t t;
    memcpy(&t, e, 8);
    return t;
}

static size_t ent_len(const over_op *op, const unsigned char *e)
{
    return 8 + rill__sql_packed_len(&op->pk, e + 8);
}

/* Adds an entry's value of aggregate k to a (group_agg.c's accumulators: a SUM of integers
 * wraps as Java's long, a DECIMAL sum past 38 digits is NULL, kept as n = INT64_MIN). */
static void acc_add(const over_op *op, int k, acc *a, const unsigned char *e)
{
    const rel_agg *g = &op->aggs[k];
    if (g->kind == AGG_COUNT_STAR) {
        a->n++;
        return;
    }
    rill__sql_packed_val v = rill__sql_packed_field(&op->pk, e + 8, g->arg);
    if (v.null || a->n == INT64_MIN)
        return;
    bool first = a->n == 0;
    a->n++;
    if (g->kind == AGG_COUNT)
        return;
    const rill__sql_ltype *t = op->arg_types[k];
    bool sum = g->kind == AGG_SUM || g->kind == AGG_AVG, min = g->kind == AGG_MIN;
    if (t->root == RILL_SQLT_DECIMAL) {
        rill__i128 x = t->precision > 18 ? rill__dec_load16(v.p) : (rill__i128)(int64_t)v.slot;
        rill__i128 cur = rill__dec_load16(a->dec), o;
        if (sum) {
            if (!first && rill__dec_add(cur, t->scale, x, t->scale, 38, t->scale, &o) != 0)
                a->n = INT64_MIN;
            else
                rill__dec_store16(first ? x : o, a->dec);
        } else if (first ||
                   (min ? rill__dec_cmp(x, 0, cur, 0) < 0 : rill__dec_cmp(x, 0, cur, 0) > 0)) {
            rill__dec_store16(x, a->dec);
        }
    } else if (rill__sql_is_approx(t)) {
        double d = rill__sql_approx_double(t, v.slot);
        if (sum)
            a->d += d;
        else if (first || (min ? d < a->d : d > a->d))
            a->d = d;
    } else {
        int64_t x = (int64_t)v.slot;
        if (sum)
            a->i = (int64_t)((uint64_t)a->i + (uint64_t)x);
        else if (first || (min ? x < a->i : x > a->i))
            a->i = x;
    }
}

/* The aggregates over the frame of entry j of list l (n entries, in time order) into a. */
static void frame_accs(const over_op *op, const unsigned char *const *l, size_t n, size_t j, acc *a)
{
    memset(a, 0, (size_t)op->n_aggs * sizeof *a);
    size_t lo = 0, hi = j;
    if (op->rows) {
        if (op->prec >= 0 && (int64_t)j > op->prec)
            lo = j - (size_t)op->prec;
    } else { /* RANGE: the row's peers (same time) are in its frame, and the rows prec before */
        int64_t t = ent_t(l[j]);
        while (hi + 1 < n && ent_t(l[hi + 1]) == t)
            hi++;
        lo = j;
        int64_t from = op->prec < 0               ? INT64_MIN
                       : t < INT64_MIN + op->prec ? INT64_MIN
                                                  : t - op->prec;
        while (lo > 0 && ent_t(l[lo - 1]) >= from)
            lo--;
    }
    for (size_t i = lo; i <= hi; i++)
        for (int k = 0; k < op->n_aggs; k++)
            acc_add(op, k, &a[k], l[i]);
}

/* Emits an entry's row as kind with the aggregates a. */
static int emit(rill_ctx *ctx, const over_op *op, const unsigned char *e, const acc *a,
                rill_rowkind kind)
{
    rill_row out;
    int rc = rill_emit(ctx, &out);
    if (rc < 0)
        return rc;
    if ((rc = rill__sql_unpack(&op->pk, e + 8, &out)) != 0)
        return rc;
    for (int k = 0; k < op->n_aggs; k++)
        if ((rc = rill__sql_acc_put(op->aggs[k].kind, op->aggs[k].type, op->arg_types[k], &a[k],
                                    &out, op->pk.n + k)) != 0)
            return rc;
    return kind == RILL_ROW_INSERT ? 0 : rill_row_set_kind(&out, kind);
}

static void lists_reserve(scratch *s, size_t n)
{
    if (n <= s->cap_l)
        return;
    s->cap_l = n < 16 ? 16 : 2 * n;
    s->l0 = rill__xrealloc(s->l0, s->cap_l * sizeof *s->l0);
    s->l1 = rill__xrealloc(s->l1, s->cap_l * sizeof *s->l1);
}

/* The key's entries from state into s (a copy), and l0 pointing at them. 0 or negative. */
static int load(rill_ctx *ctx, const over_op *op, scratch *s)
{
    const void *p;
    size_t len;
    s->n = 0;
    s->blob.len = 0;
    int rc = rill_value_get_bytes(ctx, op->state, &p, &len);
    if (rc < 0)
        return rc;
    if (rc > 0)
        rill__buf_append(&s->blob, p, len);
    const unsigned char *b = (const unsigned char *)s->blob.data;
    s->n = rill__sql_packed_index(&op->pk, 8, b, s->blob.len, &s->at, &s->cap);
    lists_reserve(s, s->n + 1);
    for (size_t i = 0; i < s->n; i++)
        s->l0[i] = b + s->at[i];
    return 0;
}

/* Writes the n entries of list l as the key's state. */
static int store(rill_ctx *ctx, const over_op *op, scratch *s, const unsigned char *const *l,
                 size_t n)
{
    s->out.len = 0;
    for (size_t i = 0; i < n; i++)
        rill__buf_append(&s->out, l[i], ent_len(op, l[i]));
    if (!s->out.len)
        return rill_value_clear(ctx, op->state);
    return rill_value_set_bytes(ctx, op->state, s->out.data, s->out.len);
}

/* The first entry of l (n) whose time is above t (upper) or not below it. */
static size_t bound(const unsigned char *const *l, size_t n, int64_t t, bool upper)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (upper ? ent_t(l[mid]) <= t : ent_t(l[mid]) < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The rows of l0 (n) from the a-th at time t are due (the watermark passed them, or the last
 * came by processing time): each is emitted with the aggregates over its frame, and the
 * entries no later frame holds go. The rows before them were done before. */
static int process_due(rill_ctx *ctx, const over_op *op, scratch *s, size_t n, int64_t t, size_t a)
{
    const unsigned char **l = s->l0;
    size_t b = bound(l, n, t, true);
    int rc = 0;
    if (a == b)
        return 0;
    if (op->prec < 0) { /* UNBOUNDED: the accumulators, no rows kept */
        int got = rill_value_get(ctx, op->accs, s->a0);
        if (got < 0)
            return got;
        if (!got)
            memset(s->a0, 0, (size_t)op->n_aggs * sizeof *s->a0);
        for (size_t j = a; j < b && !op->rows; j++) /* RANGE: the peers are in every frame */
            for (int k = 0; k < op->n_aggs; k++)
                acc_add(op, k, &s->a0[k], l[j]);
        for (size_t i = a; i < b && rc == 0; i++) {
            for (int k = 0; k < op->n_aggs && op->rows; k++)
                acc_add(op, k, &s->a0[k], l[i]);
            rc = emit(ctx, op, l[i], s->a0, RILL_ROW_INSERT);
        }
        if (rc == 0)
            rc = rill_value_set(ctx, op->accs, s->a0);
        if (rc == 0) {
            memmove(l + a, l + b, (n - b) * sizeof *l);
            rc = store(ctx, op, s, l, n - (b - a));
        }
        return rc;
    }
    for (size_t j = a; j < b && rc == 0; j++) {
        frame_accs(op, l, b, j, s->a0);
        rc = emit(ctx, op, l[j], s->a0, RILL_ROW_INSERT);
    }
    if (rc)
        return rc;
    /* kept: the rows a later row's frame may hold, and the rows not yet due */
    size_t from = 0;
    if (op->rows)
        from = (int64_t)b > op->prec ? b - (size_t)op->prec : 0;
    else
        while (from < b && (t - ent_t(l[from]) >= op->prec))
            from++;
    memmove(l, l + from, (n - from) * sizeof *l);
    return store(ctx, op, s, l, n - from);
}

static int64_t order_time(const over_op *op, const rill_row *in)
{
    int f = op->n_key + op->tcol;
    return rill_row_is_null(in, f) ? INT64_MIN : (int64_t)in->v[f];
}

/* Event time: a row waits in state for the watermark (a timer at its time); a late one (at or
 * below the watermark) is dropped. */
static int rowtime_fn(rill_ctx *ctx, const rill_row *in)
{
    const over_op *op = rill_ctx_user(ctx);
    scratch *s = rill_ctx_local(ctx);
    if (rill_row_is_null(in, op->n_key + op->tcol))
        return 0;
    int64_t t = order_time(op, in);
    if (t <= rill_ctx_watermark(ctx))
        return 0;
    int rc = load(ctx, op, s);
    if (rc < 0)
        return rc;
    s->in.len = 0;
    encode(op, t, in, &s->in);
    size_t p = bound(s->l0, s->n, t, true);
    memmove(s->l0 + p + 1, s->l0 + p, (s->n - p) * sizeof *s->l0);
    s->l0[p] = (const unsigned char *)s->in.data;
    if ((rc = store(ctx, op, s, s->l0, s->n + 1)) < 0)
        return rc;
    return rill_timer_event(ctx, t);
}

static int rowtime_timer(rill_ctx *ctx, int64_t ts, rill_time_domain domain)
{
    const over_op *op = rill_ctx_user(ctx);
    scratch *s = rill_ctx_local(ctx);
    if (domain != RILL_EVENT_TIME)
        return 0;
    int rc = load(ctx, op, s);
    if (rc < 0)
        return rc;
    rc = process_due(ctx, op, s, s->n, ts, bound(s->l0, s->n, ts, false));
    return rc < 0 ? rc : 0;
}

/* Processing time: a row is done as it comes, at the task's clock (never before the last). */
static int proctime_fn(rill_ctx *ctx, const rill_row *in)
{
    const over_op *op = rill_ctx_user(ctx);
    scratch *s = rill_ctx_local(ctx);
    int rc = load(ctx, op, s);
    if (rc < 0)
        return rc;
    int64_t t = rill_ctx_now(ctx);
    if (s->n && ent_t(s->l0[s->n - 1]) > t)
        t = ent_t(s->l0[s->n - 1]);
    s->in.len = 0;
    encode(op, t, in, &s->in);
    s->l0[s->n] = (const unsigned char *)s->in.data;
    rc = process_due(ctx, op, s, s->n + 1, t, s->n);
    return rc < 0 ? rc : 0;
}

/* An updating input (beyond Flink): every current row of the key, ordered by its time (rows
 * of one time in the order they came). A row that comes is +I with its frame's aggregates; a
 * row retracted (-U, -D) is -D with the aggregates it had; each other row whose frame the
 * change reaches and changes is -U (the aggregates before) and +U (after). */
static int value_fn(rill_ctx *ctx, const rill_row *in)
{
    const over_op *op = rill_ctx_user(ctx);
    scratch *s = rill_ctx_local(ctx);
    rill_rowkind kind = rill_row_kind(in);
    bool add = kind == RILL_ROW_INSERT || kind == RILL_ROW_UPDATE_AFTER;
    int rc = load(ctx, op, s);
    if (rc < 0)
        return rc;
    int64_t t = order_time(op, in);
    s->in.len = 0;
    encode(op, t, in, &s->in);
    const unsigned char *nw = (const unsigned char *)s->in.data;
    size_t n0 = s->n, n1, c; /* c: the changed row's place (in l1 when added, l0 when gone) */
    const unsigned char **l0 = s->l0, **l1 = s->l1;
    if (add) {
        c = bound(l0, n0, t, true);
        memcpy(l1, l0, c * sizeof *l1);
        l1[c] = nw;
        memcpy(l1 + c + 1, l0 + c, (n0 - c) * sizeof *l1);
        n1 = n0 + 1;
    } else {
        for (c = bound(l0, n0, t, false); c < n0 && ent_t(l0[c]) == t; c++)
            if (ent_len(op, l0[c]) == s->in.len && !memcmp(l0[c], nw, s->in.len))
                break;
        if (c == n0 || ent_t(l0[c]) != t)
            return 0; /* a row this key does not have */
        memcpy(l1, l0, c * sizeof *l1);
        memcpy(l1 + c, l0 + c + 1, (n0 - c - 1) * sizeof *l1);
        n1 = n0 - 1;
    }
    /* the changed row itself */
    frame_accs(op, add ? l1 : l0, add ? n1 : n0, c, s->a0);
    if ((rc = emit(ctx, op, add ? l1[c] : l0[c], s->a0, add ? RILL_ROW_INSERT : RILL_ROW_DELETE)) <
        0)
        return rc;
    /* the other rows whose frame may hold it: from its first peer (RANGE) or the row after
     * it (ROWS), to prec rows or ms after it */
    const unsigned char **lc = add ? l1 : l0; /* the list that has it */
    size_t nc = add ? n1 : n0;
    size_t from = op->rows ? c + 1 : bound(lc, nc, t, false);
    for (size_t j = from; j < nc && rc >= 0; j++) {
        if (j == c)
            continue;
        if (op->prec >= 0 && (op->rows ? j - c > (size_t)op->prec : ent_t(lc[j]) - t > op->prec))
            break;
        size_t other = j < c ? j : j - 1; /* its place in the list without the row */
        if (add) {
            frame_accs(op, l0, n0, other, s->a0);
            frame_accs(op, l1, n1, j, s->a1);
        } else {
            frame_accs(op, l0, n0, j, s->a0);
            frame_accs(op, l1, n1, other, s->a1);
        }
        if (!memcmp(s->a0, s->a1, (size_t)op->n_aggs * sizeof *s->a0))
            continue;
        if ((rc = emit(ctx, op, lc[j], s->a0, RILL_ROW_UPDATE_BEFORE)) >= 0)
            rc = emit(ctx, op, lc[j], s->a1, RILL_ROW_UPDATE_AFTER);
    }
    if (rc < 0)
        return rc;
    rc = store(ctx, op, s, l1, n1);
    return rc < 0 ? rc : 0;
}

static int over_open(rill_ctx *ctx)
{
    const over_op *op = rill_ctx_user(ctx);
    scratch *s = rill__xcalloc(1, sizeof *s);
    s->a0 = rill__xcalloc((size_t)op->n_aggs + 1, sizeof *s->a0);
    s->a1 = rill__xcalloc((size_t)op->n_aggs + 1, sizeof *s->a1);
    rill_ctx_set_local(ctx, s);
    return 0;
}

static void over_close(rill_ctx *ctx)
{
    scratch *s = rill_ctx_local(ctx);
    if (!s)
        return;
    rill__buf_free(&s->blob);
    rill__buf_free(&s->in);
    rill__buf_free(&s->out);
    free(s->at);
    free(s->l0);
    free(s->l1);
    free(s->a0);
    free(s->a1);
    free(s);
}

rill_stream *rill__sql_build_over(plan_ctx *pc, rel *r)
{
    rill__arena *a = pc->a;
    const rel_over *o = r->over;
    const rel *in = r->input;
    /* what the operator reads: the partition's columns (or a constant key), then the input's */
    int n_key = RILL_MAX(o->n_part, 1);
    const rel_col *cols;
    rill_keyed_stream *ks = rill__sql_partitioned_input(pc, in, o->n_part, o->part, NULL, &cols);
    if (!ks)
        return NULL;
    over_op *op = rill__arena_alloc(a, sizeof *op);
    memset(op, 0, sizeof *op);
    op->n_key = n_key;
    rill__sql_packing_init(a, &op->pk, in->n_cols, in->cols);
    op->tcol = o->order;
    op->time = o->time;
    op->rows = o->rows;
    op->prec = o->preceding;
    op->n_aggs = r->n_aggs;
    op->aggs = r->aggs;
    op->arg_types = rill__arena_alloc(a, (size_t)(r->n_aggs + 1) * sizeof *op->arg_types);
    for (int k = 0; k < r->n_aggs; k++)
        op->arg_types[k] = r->aggs[k].arg >= 0 ? in->cols[r->aggs[k].arg].type : NULL;
    int id = pc->s->n_group_aggs++; /* by its place in the script: the same in every run */
    char name[64];
    snprintf(name, sizeof name, "sql-over-%d", id);
    op->state = rill_value_state(pc->s->env, name, 0);
    snprintf(name, sizeof name, "sql-over-%d-acc", id);
    op->accs = rill_value_state(pc->s->env, name, (size_t)RILL_MAX(r->n_aggs, 1) * sizeof(acc));
    rill_schema *out = rill__sql_schema_of(pc, r->n_cols, r->cols);
    if (!out)
        return NULL;
    rill_process_fn fn = o->time == OVER_ROWTIME    ? rowtime_fn
                         : o->time == OVER_PROCTIME ? proctime_fn
                                                    : value_fn;
    rill_stream *s = rill_keyed_process(ks, out, fn, op);
    rill_schema_free(out);
    if (!s)
        return NULL;
    s = rill_stream_hooks(s, over_open, over_close);
    if (o->time == OVER_ROWTIME)
        s = rill_stream_on_timer(s, rowtime_timer);
    /* its uid: what the rows and accumulators in its state are */
    rill__buf d = {0};
    rill__buf_printf(&d, "v1 time=%d rows=%d prec=%lld keys", (int)o->time, (int)o->rows,
                     (long long)o->preceding);
    for (int i = 0; i < n_key; i++) {
        rill__buf_putc(&d, ' ');
        rill__sql_type_describe(cols[i].type, &d);
    }
    rill__buf_printf(&d, "; order %d; aggs", o->order);
    for (int k = 0; k < r->n_aggs; k++)
        rill__buf_printf(&d, " %d/%d", (int)r->aggs[k].kind, r->aggs[k].arg);
    rill__buf_printf(&d, "; rows");
    for (int i = 0; i < in->n_cols; i++) {
        rill__buf_putc(&d, ' ');
        rill__sql_type_describe(in->cols[i].type, &d);
    }
    s = rill__sql_uid(pc, s, "OverAggregate", rill__buf_cstr(&d));
    rill__buf_free(&d);
    return s;
}
