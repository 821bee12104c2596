/*
 * rank.c - sql layer: Top-N and deduplication (Flink's Rank and Deduplicate). ROW_NUMBER() OVER
 * (PARTITION BY k ORDER BY x) in a select list, with a filter on it in the query over it
 * (rownum <= N, < N, = N, BETWEEN), becomes a ranking of each key's rows kept to that range of
 * ranks: a keyed process whose state is the key's rows in rank order. Over an append-only
 * input only the first N rows of a key are kept; over an updating one every row of the key (a
 * row that leaves the top brings the next one in). Ordered by a time attribute, kept to rank 1
 * and without the rank in its output, it is a deduplication keeping the first or the last row.
 * The changelog is Flink's, row for row (its AppendOnlyTopNFunction, RetractableTopNFunction
 * and deduplicate functions without mini-batches).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "functions.h"
#include "sql_int.h"

#define ERR(pc, pos, ...) (rill__sql_error((pc)->err, (pc)->text, (pos), __VA_ARGS__), NULL)

/* ---- planning ------------------------------------------------------------------------------ */

static const char *const rank_fns[] = {"ROW_NUMBER", "RANK", "DENSE_RANK", NULL};

/* Which ranking function call e is (its index in rank_fns), or -1. */
static int rank_fn_of(const rill__sql_expr *e)
{
    if (!e || e->kind != RILL_SQL_E_CALL || !e->u.call.over || e->u.call.name.n_parts != 1)
        return -1;
    for (int k = 0; rank_fns[k]; k++)
        if (!strcasecmp(e->u.call.name.parts[0].text, rank_fns[k]))
            return k;
    return -1;
}

bool rill__sql_has_rank(const rill__sql_query *q)
{
    for (size_t i = 0; i < q->u.select.n_items; i++)
        if (rank_fn_of(q->u.select.items[i].expr) >= 0)
            return true;
    return false;
}

static const rill__sql_ltype *rank_type(rill__arena *a)
{
    return rill__sql_type_of(a, RILL_SQLT_BIGINT, false);
}

/* A column of in that e names (PARTITION BY, ORDER BY of the window), or -1 with err set. */
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

rel *rill__sql_plan_rank(plan_ctx *pc, const rill__sql_query *q, rel *in)
{
    rill__arena *a = pc->a;
    const rill__sql_expr *call = NULL;
    for (size_t i = 0; i < q->u.select.n_items; i++) {
        const rill__sql_expr *e = q->u.select.items[i].expr;
        if (rank_fn_of(e) < 0)
            continue;
        if (call)
            return ERR(pc, e->pos, "One ranking function per query is supported so far");
        call = e;
    }
    const rill__sql_call *c = &call->u.call;
    int fn = rank_fn_of(call);
    if (fn > 0) /* Flink's planner refuses them in streaming mode, with these words */
        return ERR(pc, call->pos, "%s() on streaming table is not supported currently",
                   rank_fns[fn]);
    if (c->n_args)
        return ERR(pc, call->pos, "ROW_NUMBER() takes no arguments");
    if (!c->window || c->window->base)
        return ERR(pc, call->pos, "A named window (OVER w) is not supported yet");
    const rill__sql_window *w = c->window;
    if (w->frame)
        return ERR(pc, w->pos, "ROW_NUMBER() takes no window frame (ROWS or RANGE)");
    if (!w->n_order)
        return ERR(pc, w->pos,
                   "ROW_NUMBER() OVER (...) needs an ORDER BY (Top-N and "
                   "deduplication rank each partition's rows by it)");
    if (q->u.select.where && !(in = rill__sql_where(pc, in, q->u.select.where)))
        return NULL; /* the query's WHERE comes before the ranking */
    rel_rank *k = rill__arena_alloc(a, sizeof *k);
    memset(k, 0, sizeof *k);
    k->n_in = in->n_cols;
    k->call = call;
    k->text = pc->text;
    k->out_rank = true;
    k->n_part = (int)w->n_partition;
    k->n_order = (int)w->n_order;
    k->part = rill__arena_alloc(a, (size_t)(k->n_part + 1) * sizeof *k->part);
    k->order = rill__arena_alloc(a, (size_t)k->n_order * sizeof *k->order);
    k->desc = rill__arena_alloc(a, (size_t)k->n_order * sizeof *k->desc);
    k->nulls_first = rill__arena_alloc(a, (size_t)k->n_order * sizeof *k->nulls_first);
    for (int i = 0; i < k->n_part; i++)
        if ((k->part[i] = window_col(pc, in, w->partition[i], "PARTITION BY")) < 0)
            return NULL;
    for (int i = 0; i < k->n_order; i++) {
        const rill__sql_order *o = &w->order[i];
        if ((k->order[i] = window_col(pc, in, o->expr, "ORDER BY")) < 0)
            return NULL;
        k->desc[i] = o->desc;
        /* NULL is the smallest value (Flink's): first ascending, last descending */
        k->nulls_first[i] = o->nulls ? o->nulls == 1 : !o->desc;
    }
    rel *r = rill__arena_alloc(a, sizeof *r);
    memset(r, 0, sizeof *r);
    r->kind = REL_RANK;
    r->input = in;
    r->updates = true;
    r->rank = k;
    r->n_cols = in->n_cols + 1;
    r->cols = rill__arena_alloc(a, (size_t)r->n_cols * sizeof *r->cols);
    memcpy(r->cols, in->cols, (size_t)in->n_cols * sizeof *r->cols);
    r->cols[in->n_cols] = (rel_col){"w0$o0", rank_type(a), NULL, false}; /* Flink's name for it */
    return r;
}

rill__sql_rex *rill__sql_bind_over(plan_ctx *pc, const rel *in, const rill__sql_expr *e)
{
    if (in && in->kind == REL_OVER) /* an OVER aggregation's aggregate (over.c) */
        return rill__sql_bind_over_agg(pc, in, e);
    if (in && in->kind == REL_RANK && in->rank->call == e) {
        rill__sql_rex *x = rill__sql_x_input(pc->a, in->rank->n_in, rank_type(pc->a));
        x->pos = e->pos;
        return x;
    }
    if (rank_fn_of(e) >= 0)
        return ERR(pc, e->pos,
                   "%s() OVER (...) is supported as a select item of its own (Top-N "
                   "and deduplication) so far",
                   e->u.call.name.parts[0].text);
    return ERR(pc, e->pos, "OVER windows are not supported yet");
}

/* Whether x reads a column of its input that dep marks. */
static bool reads(const rill__sql_rex *x, const bool *dep)
{
    if (!x)
        return false;
    if (x->op == RILL_SQLX_INPUT)
        return dep[x->input];
    for (int i = 0; i < x->n_args; i++)
        if (reads(x->args[i], dep))
            return true;
    return false;
}

typedef struct subst_arg {
    int col;
    rill__sql_rex *lit;
} subst_arg;

static rill__sql_rex *to_lit(rill__arena *a, rill__sql_rex *x, const void *arg)
{
    (void)a;
    const subst_arg *s = arg;
    return x->input == s->col ? s->lit : x;
}

/* x with column col of its input replaced by lit (x itself when it does not read it). */
static rill__sql_rex *subst(rill__arena *a, rill__sql_rex *x, int col, rill__sql_rex *lit)
{
    return rill__sql_rex_map_inputs(a, x, to_lit, &(subst_arg){col, lit});
}

enum { B_LOWER = 1, B_UPPER = 2, B_BOTH = 3 };

/* A bound on the rank that conjunct x sets (Flink's RankUtil: the rank column alone on one side
 * of <, <=, >, >= or =, a constant on the other): its kind, and its value in *v; 0 when x is
 * no such comparison; -1 (err set) for a bound that is not a constant. */
static int bound_of(plan_ctx *pc, rill__sql_rex *x, const bool *is_rank, const bool *dep,
                    int64_t *v)
{
    rill__sql_rexop op = x->op;
    if ((op != RILL_SQLX_LT && op != RILL_SQLX_LE && op != RILL_SQLX_GT && op != RILL_SQLX_GE &&
         op != RILL_SQLX_EQ) ||
        x->n_args != 2)
        return 0;
    rill__sql_rex *l = x->args[0], *r = x->args[1], *other;
    bool left;
    if (l->op == RILL_SQLX_INPUT && is_rank[l->input] && !reads(r, dep))
        left = true, other = r;
    else if (r->op == RILL_SQLX_INPUT && is_rank[r->input] && !reads(l, dep))
        left = false, other = l;
    else
        return 0;
    other = rill__sql_fold(pc->a, other, pc->text);
    if (other->op != RILL_SQLX_LITERAL || other->lit_null || !rill__sql_is_integer(other->type)) {
        rill__sql_error(pc->err, pc->text, x->pos,
                        "A bound on the rank that is not a constant integer is not supported "
                        "yet (rownum <= 10, rownum = 1, rownum BETWEEN 2 AND 5 are)");
        return -1;
    }
    int64_t c = (int64_t)other->lit;
    if (op == RILL_SQLX_EQ) {
        *v = c;
        return B_BOTH;
    }
    bool less = op == RILL_SQLX_LT || op == RILL_SQLX_LE,
         strict = op == RILL_SQLX_LT || op == RILL_SQLX_GT;
    bool upper = less == left; /* rank < c, c > rank */
    *v = strict ? (upper ? c - 1 : c + 1) : c;
    return upper ? B_UPPER : B_LOWER;
}

/* Whether a ranking r deduplicates (Flink's Deduplicate): ROW_NUMBER kept to rank 1, its rank
 * not read, ordered by one time attribute, over an append-only input. 0 when not; else
 * DD_* (keep the first or last row, by processing or event time). */
enum { DD_NONE, DD_FIRST_PROC, DD_LAST_PROC, DD_FIRST_ROW, DD_LAST_ROW };
static int dedup_kind(const rel *r)
{
    const rel_rank *k = r->rank;
    if (!k->ranged || k->start != 1 || k->end != 1 || k->out_rank || k->n_order != 1 ||
        r->input->updates)
        return DD_NONE;
    rill__sql_time_attr attr = r->input->cols[k->order[0]].type->attr;
    if (attr == RILL_SQLA_PROCTIME)
        return k->desc[0] ? DD_LAST_PROC : DD_FIRST_PROC;
    if (attr == RILL_SQLA_ROWTIME)
        return k->desc[0] ? DD_LAST_ROW : DD_FIRST_ROW;
    return DD_NONE;
}

#define MAX_CHAIN 64

int rill__sql_rank_filter(plan_ctx *pc, rel *c)
{
    if (!c->filter)
        return 0;
    /* the ranking under c: below projections without filters (a subquery's select list, its
     * column aliases) whose bounds are still open */
    rel *chain[MAX_CHAIN], *r = c->input;
    int n = 0;
    while (r && r->kind == REL_CALC && !r->filter && r->outs && n < MAX_CHAIN) {
        chain[n++] = r;
        r = r->input;
    }
    if (!r || r->kind != REL_RANK || r->rank->ranged)
        return 0;
    rill__arena *a = pc->a;
    rel_rank *k = r->rank;
    /* per column of c's input: dep, it reads the rank; is_rank, it is the rank */
    bool *dep = rill__arena_alloc(a, (size_t)r->n_cols + 1);
    bool *is_rank = rill__arena_alloc(a, (size_t)r->n_cols + 1);
    memset(dep, 0, (size_t)r->n_cols + 1);
    memset(is_rank, 0, (size_t)r->n_cols + 1);
    dep[k->n_in] = is_rank[k->n_in] = true;
    for (int i = n - 1; i >= 0; i--) {
        const rel *x = chain[i];
        bool *d = rill__arena_alloc(a, (size_t)x->n_cols + 1),
             *e = rill__arena_alloc(a, (size_t)x->n_cols + 1);
        for (int j = 0; j < x->n_cols; j++) {
            d[j] = reads(x->outs[j], dep);
            e[j] = x->outs[j]->op == RILL_SQLX_INPUT && is_rank[x->outs[j]->input];
        }
        dep = d;
        is_rank = e;
    }
    /* the filter's conjuncts: bounds on the rank, and the rest (which must not read it) */
    rill__sql_rex **v = NULL, **rest;
    int nv = 0, cap = 0, n_rest = 0, kinds[2], n_b = 0, rc = 0;
    int64_t vals[2];
    rill__sql_conjuncts(a, c->filter, &v, &nv, &cap);
    rest = rill__arena_alloc(a, (size_t)(nv + 1) * sizeof *rest);
    for (int i = 0; i < nv && rc == 0; i++) {
        int64_t bv;
        int b = bound_of(pc, v[i], is_rank, dep, &bv);
        if (b < 0) {
            rc = -1;
        } else if (b == 0 && reads(v[i], dep)) {
            rc = rill__sql_error(pc->err, pc->text, v[i]->pos,
                                 "A condition on the rank other than a bound (rownum <= N, "
                                 "rownum = N, rownum BETWEEN M AND N) is not supported yet");
        } else if (b == 0) {
            rest[n_rest++] = v[i];
        } else if (n_b == 2) {
            rc = rill__sql_error(pc->err, pc->text, v[i]->pos,
                                 "Top-N takes one upper and at most one lower bound on the rank");
        } else {
            kinds[n_b] = b;
            vals[n_b++] = bv;
        }
    }
    if (rc)
        return -1;
    if (n_b == 0) /* no bound: the ranking stays open (refused when built) */
        return 0;
    if (n_b == 1 && kinds[0] == B_BOTH) {
        k->start = k->end = vals[0];
    } else if (n_b == 1 && kinds[0] == B_UPPER) {
        k->start = 1, k->end = vals[0];
    } else if (n_b == 2 && kinds[0] + kinds[1] == B_LOWER + B_UPPER) {
        k->start = kinds[0] == B_LOWER ? vals[0] : vals[1];
        k->end = kinds[0] == B_UPPER ? vals[0] : vals[1];
    } else if (n_b == 1) {
        return rill__sql_error(pc->err, pc->text, c->filter->pos,
                               "Rank end is not specified. Currently rank only support TopN, "
                               "which means the rank end must be specified.");
    } else {
        return rill__sql_error(pc->err, pc->text, c->filter->pos,
                               "Top-N takes one upper and at most one lower bound on the rank");
    }
    if (k->end <= 0)
        return rill__sql_error(pc->err, pc->text, c->filter->pos,
                               "Rank end should not less than zero, but now is %lld",
                               (long long)k->end);
    k->ranged = true;
    c->filter = n_rest == 0   ? NULL
                : n_rest == 1 ? rest[0]
                              : rill__sql_x_call(a, RILL_SQLX_AND, c->filter->type, n_rest, rest);
    /* a rank of one value is a constant (Flink reduces it); one nobody reads is not output:
     * either way the ranking's rows are its input's, which lets it deduplicate */
    bool used = false;
    if (k->start != k->end)
        for (int j = 0; j < c->n_cols && !used; j++)
            used = reads(c->outs[j], dep);
    if (!used) {
        rel *reader = n ? chain[n - 1] : c;
        rill__sql_rex *lit = rill__sql_x_literal(a, rank_type(a), (uint64_t)k->start);
        for (int j = 0; j < reader->n_cols; j++)
            reader->outs[j] = subst(a, reader->outs[j], k->n_in, lit);
        k->out_rank = false;
        r->n_cols = k->n_in;
    }
    r->updates = dedup_kind(r) != DD_FIRST_PROC;
    for (int i = 0; i < n; i++)
        chain[i]->updates = r->updates;
    c->updates = r->updates;
    return 0;
}

int rill__sql_rank_check(plan_ctx *pc, const rel *r)
{
    if (!r)
        return 0;
    if (r->kind == REL_RANK && !r->rank->ranged)
        return rill__sql_error(pc->err, r->rank->text, r->rank->call->pos,
                               "ROW_NUMBER() OVER (...) is supported as Top-N or deduplication: "
                               "the query over it must bound it (WHERE rownum <= N, rownum = 1, "
                               "rownum BETWEEN M AND N)");
    for (int i = 0; i < r->n_inputs; i++)
        if (rill__sql_rank_check(pc, r->inputs[i]))
            return -1;
    return rill__sql_rank_check(pc, r->input);
}

/* ---- EXPLAIN, digests ---------------------------------------------------------------------- */

static void put_names(rill__buf *b, const rel *in, const int *cols, int n)
{
    for (int i = 0; i < n; i++)
        rill__buf_printf(b, "%s%s", i ? ", " : "", in->cols[cols[i]].name);
}

/* Whether the ranking keeps only the first `end` rows of a key (its input does not retract). */
static bool append_fast(const rel *r)
{
    return !r->input->updates;
}

void rill__sql_explain_rank(rill__buf *b, const rel *r, int par, bool state)
{
    const rel_rank *k = r->rank;
    const rel *in = r->input;
    int dd = dedup_kind(r);
    if (dd != DD_NONE) {
        rill__buf_printf(b, "Deduplicate(keep=[%s], key=[",
                         dd == DD_FIRST_PROC || dd == DD_FIRST_ROW ? "FirstRow" : "LastRow");
        put_names(b, in, k->part, k->n_part);
        rill__buf_printf(b, "], order=[%s]",
                         dd == DD_FIRST_PROC || dd == DD_LAST_PROC ? "PROCTIME" : "ROWTIME");
        if (!state)
            return;
        rill__buf_printf(b, ", parallelism=[%d], keyed by [%s], state=[%s]", par,
                         k->n_part ? "the key" : "(one key)",
                         dd == DD_FIRST_PROC  ? "a mark per key that its first row came"
                         : dd == DD_LAST_PROC ? "the last row per key"
                                              : "the row kept per key (the first or last by "
                                                "its time)");
        return;
    }
    rill__buf_printf(b,
                     "Rank(strategy=[%s], rankType=[ROW_NUMBER], rankRange=[rankStart=%lld, "
                     "rankEnd=%lld], partitionBy=[",
                     append_fast(r) ? "AppendFastStrategy" : "RetractStrategy", (long long)k->start,
                     (long long)k->end);
    put_names(b, in, k->part, k->n_part);
    rill__buf_printf(b, "], orderBy=[");
    for (int i = 0; i < k->n_order; i++) {
        const rel_col *c = &in->cols[k->order[i]];
        rill__buf_printf(b, "%s%s%s %s", i ? ", " : "",
                         c->type->attr == RILL_SQLA_ROWTIME ? "ROWTIME " : "", c->name,
                         k->desc[i] ? "DESC" : "ASC");
        if (k->nulls_first[i] != !k->desc[i])
            rill__buf_printf(b, " NULLS %s", k->nulls_first[i] ? "FIRST" : "LAST");
    }
    rill__buf_printf(b, "], select=[");
    for (int i = 0; i < r->n_cols; i++)
        rill__buf_printf(b, "%s%s", i ? ", " : "", r->cols[i].name);
    rill__buf_printf(b, "]");
    if (!state)
        return;
    rill__buf_printf(b, ", parallelism=[%d], keyed by [%s], state=[", par,
                     k->n_part ? "the partition" : "(one partition)");
    if (append_fast(r) && k->end == 1)
        rill__buf_printf(b, "the first row per key (an append-only input: a row past it is "
                            "dropped)]");
    else if (append_fast(r))
        rill__buf_printf(b,
                         "the first %lld rows per key (an append-only input: a row "
                         "past them is dropped)]",
                         (long long)k->end);
    else
        rill__buf_printf(b, "every row per key (an updating input: a row that leaves the top "
                            "brings the next one in)]");
}

void rill__sql_rank_digest(rill__buf *b, const rel *r)
{
    const rel_rank *k = r->rank;
    rill__buf_printf(b, " r%lld/%lld/%d/%d p", (long long)k->start, (long long)k->end,
                     (int)k->ranged, (int)k->out_rank);
    for (int i = 0; i < k->n_part; i++)
        rill__buf_printf(b, "%d,", k->part[i]);
    rill__buf_printf(b, " o");
    for (int i = 0; i < k->n_order; i++)
        rill__buf_printf(b, "%d/%d/%d,", k->order[i], (int)k->desc[i], (int)k->nulls_first[i]);
}

int rill__sql_rank_changelog(const rel *r)
{
    int dd = dedup_kind(r);
    if (dd == DD_FIRST_PROC)
        return 1;
    return dd != DD_NONE ? 1 | 2 : 1 | 2 | 4;
}

/* ---- the operators ------------------------------------------------------------------------- */

/* How an order column's values compare. */
enum { CMP_INT, CMP_FLOAT, CMP_DOUBLE, CMP_BYTES, CMP_DEC16 };

typedef struct rank_op {
    int n_key;            /* the key columns before the input's in the operator's rows */
    rill__sql_packing pk; /* the input's columns, as its state keeps them */
    int n_order;
    const int *order;
    const bool *desc, *nulls_first;
    int *cmp; /* per order column: CMP_* */
    int64_t start, end;
    bool out_rank;
    bool retract; /* the input retracts: every row of a key is kept */
    int dedup;    /* DD_* */
    rill_state_desc *state;
} rank_op;

/* Each subtask's scratch, kept across rows: the key's rows (a copy of its state), where each
 * starts, the row coming in, the state being written. */
typedef struct scratch {
    rill__buf blob, in, out;
    size_t *at;
    size_t n, cap;
} scratch;

typedef rill__sql_packed_val fval;

static int cmp_values(int how, const fval *x, const fval *y)
{
    switch (how) {
    case CMP_FLOAT: {
        uint32_t u = (uint32_t)x->slot, w = (uint32_t)y->slot;
        float a, b;
        memcpy(&a, &u, 4);
        memcpy(&b, &w, 4);
        return (a > b) - (a < b);
    }
    case CMP_DOUBLE: {
        double a, b;
        memcpy(&a, &x->slot, 8);
        memcpy(&b, &y->slot, 8);
        return (a > b) - (a < b);
    }
    case CMP_BYTES: { /* strings by their UTF-8 bytes: code point order */
        int c = memcmp(x->p, y->p, RILL_MIN(x->n, y->n));
        return c ? (c > 0) - (c < 0) : (x->n > y->n) - (x->n < y->n);
    }
    case CMP_DEC16: {
        rill__i128 a = rill__dec_load16(x->p), b = rill__dec_load16(y->p);
        return (a > b) - (a < b);
    }
    default: {
        int64_t a = (int64_t)x->slot, b = (int64_t)y->slot;
        return (a > b) - (a < b);
    }
    }
}

/* Two packed rows by the ORDER BY: <0 when x ranks before y. */
static int cmp_rows(const rank_op *ro, const unsigned char *x, const unsigned char *y)
{
    for (int k = 0; k < ro->n_order; k++) {
        fval a = rill__sql_packed_field(&ro->pk, x, ro->order[k]);
        fval b = rill__sql_packed_field(&ro->pk, y, ro->order[k]);
        if (a.null || b.null) {
            if (a.null && b.null)
                continue;
            return a.null == ro->nulls_first[k] ? -1 : 1;
        }
        int c = cmp_values(ro->cmp[k], &a, &b);
        if (c)
            return ro->desc[k] ? -c : c;
    }
    return 0;
}

/* Emits a packed row as kind; with the rank as its last column when the query reads it. */
static int emit(rill_ctx *ctx, const rank_op *ro, const unsigned char *e, rill_rowkind kind,
                int64_t rank)
{
    rill_row out;
    int rc = rill_emit(ctx, &out);
    if (rc < 0)
        return rc;
    if ((rc = rill__sql_unpack(&ro->pk, e, &out)) != 0)
        return rc;
    if (ro->out_rank)
        rill_row_set_i64(&out, ro->pk.n, rank);
    return kind == RILL_ROW_INSERT ? 0 : rill_row_set_kind(&out, kind);
}

/* The key's rows from state into s (a copy: blob, the start of each in at). 0 or negative. */
static int load(rill_ctx *ctx, const rank_op *ro, scratch *s)
{
    const void *p;
    size_t len;
    s->n = 0;
    s->blob.len = 0;
    int rc = rill_value_get_bytes(ctx, ro->state, &p, &len);
    if (rc <= 0)
        return rc;
    rill__buf_append(&s->blob, p, len);
    s->n = rill__sql_packed_index(&ro->pk, 0, (const unsigned char *)s->blob.data, len, &s->at,
                                  &s->cap);
    return 0;
}

static const unsigned char *row_at(const scratch *s, size_t i)
{
    return (const unsigned char *)s->blob.data + s->at[i];
}

/* Writes rows [0, n) of s with skip left out and extra (may be NULL) put before row put_at. */
static int store(rill_ctx *ctx, const rank_op *ro, scratch *s, size_t n, size_t skip,
                 const rill__buf *extra, size_t put_at)
{
    s->out.len = 0;
    for (size_t i = 0; i <= n; i++) {
        if (extra && i == put_at)
            rill__buf_append(&s->out, extra->data, extra->len);
        if (i == n)
            break;
        if (i == skip)
            continue;
        size_t end = i + 1 < s->n ? s->at[i + 1] : s->blob.len;
        rill__buf_append(&s->out, s->blob.data + s->at[i], end - s->at[i]);
    }
    if (!s->out.len)
        return rill_value_clear(ctx, ro->state);
    return rill_value_set_bytes(ctx, ro->state, s->out.data, s->out.len);
}

static bool in_range(const rank_op *ro, int64_t rank)
{
    return rank >= ro->start && rank <= ro->end;
}

/* A row comes (+I, +U): at place p (after every row that does not rank after it). Flink's
 * AppendOnlyTopNFunction and RetractableTopNFunction emit the same for it: with the rank
 * output (or a range not starting at 1) each row moved down a place as -U/+U of that place,
 * +I of the place the top grew to; without, -D of the row pushed out of the top, +I of the
 * new one. */
static int rank_add(rill_ctx *ctx, const rank_op *ro, scratch *s)
{
    const unsigned char *nw = (const unsigned char *)s->in.data;
    size_t n = s->n, lo = 0, hi = n;
    while (lo < hi) { /* the first row that ranks after the new one */
        size_t mid = (lo + hi) / 2;
        if (cmp_rows(ro, row_at(s, mid), nw) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t p = lo;
    int64_t end = ro->end;
    if (!ro->retract && (int64_t)p >= end)
        return 0; /* not in the top: an append-only input never brings it back */
    int rc = 0;
    if (ro->out_rank || ro->start > 1) {
        for (size_t i = p; i < n && (int64_t)i < end && rc >= 0; i++)
            if (in_range(ro, (int64_t)i + 1) &&
                (rc = emit(ctx, ro, row_at(s, i), RILL_ROW_UPDATE_BEFORE, (int64_t)i + 1)) >= 0)
                rc = emit(ctx, ro, i == p ? nw : row_at(s, i - 1), RILL_ROW_UPDATE_AFTER,
                          (int64_t)i + 1);
        if (rc >= 0 && (int64_t)n + 1 <= end && in_range(ro, (int64_t)n + 1))
            rc = emit(ctx, ro, n == p ? nw : row_at(s, n - 1), RILL_ROW_INSERT, (int64_t)n + 1);
    } else if ((int64_t)p < end) {
        if ((int64_t)n >= end)
            rc = emit(ctx, ro, row_at(s, (size_t)end - 1), RILL_ROW_DELETE, 0);
        if (rc >= 0)
            rc = emit(ctx, ro, nw, RILL_ROW_INSERT, 0);
    }
    if (rc < 0)
        return rc;
    /* kept: every row over a retracting input, else the first `end` */
    size_t keep = ro->retract || (int64_t)n < end ? n : (size_t)end - 1;
    return store(ctx, ro, s, keep, SIZE_MAX, &s->in, p);
}

/* A row goes (-U, -D): the first row of the key equal to it, at place q. With the rank output,
 * each row after it moves up a place (-U/+U of that place) and the last place of the top goes
 * (-D); without, -D of it and +I of the row that comes into the top. */
static int rank_remove(rill_ctx *ctx, const rank_op *ro, scratch *s)
{
    const unsigned char *x = (const unsigned char *)s->in.data;
    size_t n = s->n, lo = 0, hi = n;
    while (lo < hi) { /* the first row that does not rank before it */
        size_t mid = (lo + hi) / 2;
        if (cmp_rows(ro, row_at(s, mid), x) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t q = lo;
    for (; q < n && cmp_rows(ro, row_at(s, q), x) == 0; q++) {
        size_t end = q + 1 < n ? s->at[q + 1] : s->blob.len;
        if (end - s->at[q] == s->in.len && !memcmp(row_at(s, q), x, s->in.len))
            break;
    }
    if (q == n || cmp_rows(ro, row_at(s, q), x) != 0)
        return 0; /* a row this key does not have (its state expired) */
    int64_t end = ro->end;
    int rc = 0;
    if ((int64_t)q < end && (ro->out_rank || ro->start > 1)) {
        for (size_t i = q; i + 1 < n && (int64_t)i < end && rc >= 0; i++)
            if (in_range(ro, (int64_t)i + 1) &&
                (rc = emit(ctx, ro, row_at(s, i), RILL_ROW_UPDATE_BEFORE, (int64_t)i + 1)) >= 0)
                rc = emit(ctx, ro, row_at(s, i + 1), RILL_ROW_UPDATE_AFTER, (int64_t)i + 1);
        if (rc >= 0 && (int64_t)n <= end && in_range(ro, (int64_t)n))
            rc = emit(ctx, ro, row_at(s, n - 1), RILL_ROW_DELETE, (int64_t)n);
    } else if ((int64_t)q < end) {
        rc = emit(ctx, ro, row_at(s, q), RILL_ROW_DELETE, 0);
        if (rc >= 0 && (int64_t)n > end)
            rc = emit(ctx, ro, row_at(s, (size_t)end), RILL_ROW_INSERT, 0);
    }
    return rc < 0 ? rc : store(ctx, ro, s, n, q, NULL, 0);
}

static int rank_fn(rill_ctx *ctx, const rill_row *in)
{
    const rank_op *ro = rill_ctx_user(ctx);
    scratch *s = rill_ctx_local(ctx);
    rill_rowkind kind = rill_row_kind(in);
    bool add = kind == RILL_ROW_INSERT || kind == RILL_ROW_UPDATE_AFTER;
    if (!add && !ro->retract)
        return 0; /* planned over an append-only input: no retraction comes */
    s->in.len = 0;
    rill__sql_pack(&ro->pk, in, ro->n_key, &s->in);
    int rc = load(ctx, ro, s);
    if (rc < 0)
        return rc;
    rc = add ? rank_add(ctx, ro, s) : rank_remove(ctx, ro, s);
    return rc < 0 ? rc : 0;
}

/* Deduplication (Flink's deduplicate functions, without mini-batches). Keep the first row by
 * processing time: the first row of a key, +I, and nothing after (append-only). The last by
 * processing time: each row replaces the last, -U of it and +U of the new one. By event time:
 * a row replaces the kept one when its time is before it (keep first) or not before it (keep
 * last), with -U/+U. */
static int dedup_fn(rill_ctx *ctx, const rill_row *in)
{
    const rank_op *ro = rill_ctx_user(ctx);
    scratch *s = rill_ctx_local(ctx);
    if (rill_row_kind(in) != RILL_ROW_INSERT)
        return 0; /* planned over an append-only input */
    s->in.len = 0;
    rill__sql_pack(&ro->pk, in, ro->n_key, &s->in);
    const void *p;
    size_t len;
    int rc = rill_value_get_bytes(ctx, ro->state, &p, &len);
    if (rc < 0)
        return rc;
    bool had = rc == 1;
    if (ro->dedup == DD_FIRST_PROC) {
        if (had)
            return 0;
        if ((rc = rill_value_set_bytes(ctx, ro->state, "1", 1)) < 0)
            return rc;
        return emit(ctx, ro, (const unsigned char *)s->in.data, RILL_ROW_INSERT, 0);
    }
    s->blob.len = 0;
    if (had)
        rill__buf_append(&s->blob, p, len);
    const unsigned char *prev = (const unsigned char *)s->blob.data;
    if (had && ro->dedup != DD_LAST_PROC) {
        fval t0 = rill__sql_packed_field(&ro->pk, prev, ro->order[0]);
        fval t1 = rill__sql_packed_field(&ro->pk, (const unsigned char *)s->in.data, ro->order[0]);
        int64_t a = t0.null ? INT64_MIN : (int64_t)t0.slot,
                b = t1.null ? INT64_MIN : (int64_t)t1.slot;
        if (ro->dedup == DD_LAST_ROW ? b < a : b >= a)
            return 0; /* the kept row stays */
    }
    if (had && (rc = emit(ctx, ro, prev, RILL_ROW_UPDATE_BEFORE, 0)) < 0)
        return rc;
    if ((rc = emit(ctx, ro, (const unsigned char *)s->in.data,
                   had ? RILL_ROW_UPDATE_AFTER : RILL_ROW_INSERT, 0)) < 0)
        return rc;
    rc = rill_value_set_bytes(ctx, ro->state, s->in.data, s->in.len);
    return rc < 0 ? rc : 0;
}

static int rank_open(rill_ctx *ctx)
{
    rill_ctx_set_local(ctx, rill__xcalloc(1, sizeof(scratch)));
    return 0;
}

static void rank_close(rill_ctx *ctx)
{
    scratch *s = rill_ctx_local(ctx);
    if (!s)
        return;
    rill__buf_free(&s->blob);
    rill__buf_free(&s->in);
    rill__buf_free(&s->out);
    free(s->at);
    free(s);
}

static int cmp_of(const rill__sql_ltype *t)
{
    if (rill__sql_is_character(t) || rill__sql_is_binary(t))
        return CMP_BYTES;
    if (t->root == RILL_SQLT_DECIMAL && t->precision > 18)
        return CMP_DEC16;
    if (t->root == RILL_SQLT_FLOAT)
        return CMP_FLOAT;
    return t->root == RILL_SQLT_DOUBLE ? CMP_DOUBLE : CMP_INT;
}

rill_stream *rill__sql_build_rank(plan_ctx *pc, rel *r)
{
    if (rill__sql_rank_check(pc, r))
        return NULL;
    rill__arena *a = pc->a;
    const rel_rank *k = r->rank;
    const rel *in = r->input;
    int64_t ttl;
    if (rill__sql_state_ttl(pc, &ttl) != 0)
        return NULL;
    /* what the operator reads: the partition's columns (no partition: the top of all rows) */
    int n_key = RILL_MAX(k->n_part, 1);
    const rel_col *cols;
    rill_keyed_stream *ks = rill__sql_partitioned_input(pc, in, k->n_part, k->part, NULL, &cols);
    if (!ks)
        return NULL;
    rank_op *ro = rill__arena_alloc(a, sizeof *ro);
    memset(ro, 0, sizeof *ro);
    ro->n_key = n_key;
    rill__sql_packing_init(a, &ro->pk, in->n_cols, in->cols);
    ro->n_order = k->n_order;
    ro->order = k->order;
    ro->desc = k->desc;
    ro->nulls_first = k->nulls_first;
    ro->cmp = rill__arena_alloc(a, (size_t)k->n_order * sizeof *ro->cmp);
    for (int i = 0; i < k->n_order; i++)
        ro->cmp[i] = cmp_of(in->cols[k->order[i]].type);
    ro->start = k->start;
    ro->end = k->end;
    ro->out_rank = k->out_rank;
    ro->retract = !append_fast(r);
    ro->dedup = dedup_kind(r);
    char name[64]; /* by its place in the script: the same in every run of it */
    snprintf(name, sizeof name, "sql-rank-%d", pc->s->n_group_aggs++);
    ro->state = rill_value_state(pc->s->env, name, 0);
    if (ttl > 0 && (!ro->state || rill_state_ttl(ro->state, ttl, RILL_TTL_ON_CREATE_AND_WRITE))) {
        rill__err_set(pc->err, RILL_ECONFIG, "state TTL of a Top-N could not be set");
        return NULL;
    }
    rill_schema *out = rill__sql_schema_of(pc, r->n_cols, r->cols);
    if (!out)
        return NULL;
    rill_stream *s = rill_keyed_process(ks, out, ro->dedup ? dedup_fn : rank_fn, ro);
    rill_schema_free(out);
    if (!s)
        return NULL;
    s = rill_stream_hooks(s, rank_open, rank_close);
    /* its uid: what the rows in its state are and how they are kept and ranked */
    rill__buf d = {0};
    rill__buf_printf(&d, "v1 dedup=%d retract=%d range=%lld..%lld rank=%d ttl=%d keys", ro->dedup,
                     (int)ro->retract, (long long)ro->start, (long long)ro->end, (int)ro->out_rank,
                     ttl > 0);
    for (int i = 0; i < n_key; i++) {
        rill__buf_putc(&d, ' ');
        rill__sql_type_describe(cols[i].type, &d);
    }
    rill__buf_printf(&d, "; order");
    for (int i = 0; i < k->n_order; i++)
        rill__buf_printf(&d, " %d%s%s", k->order[i], k->desc[i] ? " desc" : "",
                         k->nulls_first[i] ? " nulls-first" : "");
    rill__buf_printf(&d, "; rows");
    for (int i = 0; i < in->n_cols; i++) {
        rill__buf_putc(&d, ' ');
        rill__sql_type_describe(in->cols[i].type, &d);
    }
    for (int i = 0; i < k->n_part; i++) { /* what computes the partition and the order */
        rill__buf_printf(&d, "; part=");
        rill__sql_put_lineage(&d, in, k->part[i]);
    }
    for (int i = 0; i < k->n_order; i++) {
        rill__buf_printf(&d, "; order=");
        rill__sql_put_lineage(&d, in, k->order[i]);
    }
    s = rill__sql_uid(pc, s, ro->dedup ? "Deduplicate" : "Rank", rill__buf_cstr(&d));
    rill__buf_free(&d);
    return s;
}
