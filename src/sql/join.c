/*
 * join.c - sql layer: regular joins (Flink's Join, its StreamingJoinOperator): INNER, LEFT,
 * RIGHT and FULL OUTER equi-joins over append-only and updating inputs, with retractions in
 * and out, as one keyed two-input operator (rill_keyed_co_process). Each side keeps, per join
 * key, its rows in a map state: a row's encoding to how many times it is there and, for a side
 * an outer join preserves, how many rows of the other side it is joined with now (Flink's
 * numOfAssociations), which says when its NULL-padded row is to be sent or taken back.
 *
 * The plan: an ON clause's conjuncts that equal an expression of the left input to one of the
 * right are the keys (no key: every row goes to one subtask, as Flink's join without an equi-
 * condition); a conjunct over one input only filters that input first when the join does not
 * preserve it; the rest is the condition a pair must meet. A filter over an inner join (the
 * WHERE of `FROM a, b WHERE ...`) is moved into it the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/tz.h"
#include "functions.h"
#include "sql_int.h"

#define ERR(pc, pos, ...) (rill__sql_error((pc)->err, (pc)->text, (pos), __VA_ARGS__), NULL)

static bool preserves(int kind, int side)
{
    return side == 0 ? kind == RILL_SQL_J_LEFT || kind == RILL_SQL_J_FULL
                     : kind == RILL_SQL_J_RIGHT || kind == RILL_SQL_J_FULL;
}

/* ---- planning -------------------------------------------------------------------------------- */

/* Which of the join's inputs x reads: 1 the left (columns below nl), 2 the right. */
static int sides_of(const rill__sql_rex *x, int nl)
{
    if (!x)
        return 0;
    if (x->op == RILL_SQLX_INPUT)
        return x->input < nl ? 1 : 2;
    int s = 0;
    for (int i = 0; i < x->n_args; i++)
        s |= sides_of(x->args[i], nl);
    return s;
}

void rill__sql_conjuncts(rill__arena *a, rill__sql_rex *x, rill__sql_rex ***v, int *n, int *cap)
{
    if (x->op == RILL_SQLX_AND) {
        for (int i = 0; i < x->n_args; i++)
            rill__sql_conjuncts(a, x->args[i], v, n, cap);
        return;
    }
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 8;
        rill__sql_rex **nv = rill__arena_alloc(a, (size_t)*cap * sizeof *nv);
        if (*n)
            memcpy(nv, *v, (size_t)*n * sizeof *nv);
        *v = nv;
    }
    (*v)[(*n)++] = x;
}

static rill__sql_rex *and_of(plan_ctx *pc, rill__sql_rex *a, rill__sql_rex *b)
{
    if (!a)
        return b;
    rill__sql_rex *args[2] = {a, b};
    return rill__sql_x_call(
        pc->a, RILL_SQLX_AND,
        rill__sql_type_of(pc->a, RILL_SQLT_BOOLEAN, a->type->nullable || b->type->nullable), 2,
        args);
}

/* x, over the join's columns, made over one input's: side 0 the left (the same columns), 1
 * the right (nl less). */
static rill__sql_rex *onto_side(plan_ctx *pc, const rel *j, rill__sql_rex *x, int side)
{
    int nl = j->inputs[0]->n_cols, n = j->n_cols;
    int *map = rill__arena_alloc(pc->a, (size_t)(n + 1) * sizeof *map);
    for (int i = 0; i < n; i++)
        map[i] = side ? i - nl : i;
    return rill__sql_rex_remap(pc->a, x, map);
}

/* Input `side` of j filtered by x (over that input's columns) first. */
static void filter_side(plan_ctx *pc, rel *j, int side, rill__sql_rex *x)
{
    j->inputs[side] = rill__sql_filtered(pc, j->inputs[side], x);
}

/* Adds conjunct x (over j's columns) to join j: a key, a side's filter or the condition. */
static void add_conjunct(plan_ctx *pc, rel *j, rill__sql_rex *x)
{
    int nl = j->inputs[0]->n_cols;
    int s = sides_of(x, nl);
    if (x->op == RILL_SQLX_EQ && x->n_args == 2) {
        int a = sides_of(x->args[0], nl), b = sides_of(x->args[1], nl);
        if ((a == 1 && b == 2) || (a == 2 && b == 1)) {
            rill__sql_rex *l = x->args[a == 1 ? 0 : 1], *r = x->args[a == 1 ? 1 : 0];
            int k = j->n_jkeys++;
            rill__sql_rex **lk = rill__arena_alloc(pc->a, (size_t)(k + 1) * sizeof *lk);
            rill__sql_rex **rk = rill__arena_alloc(pc->a, (size_t)(k + 1) * sizeof *rk);
            if (k) {
                memcpy(lk, j->lkeys, (size_t)k * sizeof *lk);
                memcpy(rk, j->rkeys, (size_t)k * sizeof *rk);
            }
            lk[k] = onto_side(pc, j, l, 0);
            rk[k] = onto_side(pc, j, r, 1);
            j->lkeys = lk;
            j->rkeys = rk;
            return;
        }
    }
    /* a condition on one input that the join does not preserve: that input's filter (not the
     * versions of a temporal join's table: one filtered out would leave the one before valid) */
    if ((s == 1 || s == 2) && !preserves(j->join_kind, s - 1) && !(j->temporal && s == 2)) {
        filter_side(pc, j, s - 1, onto_side(pc, j, x, s - 1));
        return;
    }
    j->cond = and_of(pc, j->cond, x);
}

/* The window column col of r comes from, through calcs that pass it on: its window (of the
 * window TVF or window aggregation that made it), *prop 1 for its window_start, 2 for
 * window_end, *agg whether a window aggregation's rows carry it; NULL when it is no window's. */
const rill_window_spec *rill__sql_window_of(const rel *r, int col, int *prop, bool *agg)
{
    for (;;) {
        if (r->kind == REL_CALC) {
            const rill__sql_rex *x = r->outs[col];
            if (x->op != RILL_SQLX_INPUT)
                return NULL;
            col = x->input;
            r = r->input;
        } else if (r->kind == REL_WINDOW_AGG && r->cas_window && r->cas_start != r->cas_end &&
                   (col == r->cas_start || col == r->cas_end)) { /* a cascade's: the first's */
            *prop = col == r->cas_start ? 1 : 2;
            *agg = true;
            return r->cas_window;
        } else if (r->kind == REL_WINDOW_TVF || (r->kind == REL_WINDOW_AGG && !r->cas_window)) {
            int first = r->kind == REL_WINDOW_TVF ? r->input->n_cols : r->n_keys;
            if (col != first && col != first + 1)
                return NULL;
            *prop = col - first + 1;
            *agg = r->kind == REL_WINDOW_AGG;
            return &r->window;
        } else {
            return NULL;
        }
    }
}

/* Whether keys i of j are the window_start (prop 1) or window_end (2) of both inputs, of
 * windows alike (event time, not sessions); *w set to the left's window. */
static bool window_key(const rel *j, int i, int prop, const rill_window_spec **w)
{
    const rill__sql_rex *l = j->lkeys[i], *r = j->rkeys[i];
    if (l->op != RILL_SQLX_INPUT || r->op != RILL_SQLX_INPUT)
        return false;
    int lp = 0, rp = 0;
    bool la, ra;
    const rill_window_spec *a = rill__sql_window_of(j->inputs[0], l->input, &lp, &la);
    const rill_window_spec *b = rill__sql_window_of(j->inputs[1], r->input, &rp, &ra);
    if (!a || !b || lp != prop || rp != prop)
        return false;
    if (a->kind != b->kind || a->kind == RILL_WINDOW_SESSION || a->domain != RILL_EVENT_TIME ||
        b->domain != RILL_EVENT_TIME || a->size_ms != b->size_ms || a->slide_ms != b->slide_ms ||
        a->offset_ms != b->offset_ms)
        return false;
    *w = a;
    return true;
}

/* A join on both inputs' window_start and window_end (Flink's window join): its rows are
 * joined when the watermark passes the window's end, and their state goes then. */
static void find_window_join(rel *j)
{
    j->we_key = -1;
    if (j->temporal || j->lookup)
        return;
    const rill_window_spec *w = NULL;
    bool start = false;
    int end = -1;
    for (int i = 0; i < j->n_jkeys; i++) {
        start |= window_key(j, i, 1, &w);
        if (end < 0 && window_key(j, i, 2, &w))
            end = i;
    }
    if (start && end >= 0) {
        j->we_key = end;
        j->jwindow = w;
    }
}

/* x as "column col of side (0 left, 1 right) plus off ms": a rowtime attribute of one input, or
 * it plus or minus an interval literal; *proc: a PROCTIME() attribute instead. */
static bool time_term(const rel *j, const rill__sql_rex *x, int *side, int *col, int64_t *off,
                      bool *proc)
{
    int nl = j->inputs[0]->n_cols;
    *off = 0;
    if ((x->op == RILL_SQLX_PLUS || x->op == RILL_SQLX_MINUS) && x->n_args == 2 &&
        x->args[1]->op == RILL_SQLX_LITERAL && !x->args[1]->lit_null &&
        x->args[1]->type->root == RILL_SQLT_INTERVAL_DT) {
        int64_t v = (int64_t)x->args[1]->lit;
        *off = x->op == RILL_SQLX_PLUS ? v : -v;
        x = x->args[0];
    }
    if (x->op != RILL_SQLX_INPUT)
        return false;
    *side = x->input < nl ? 0 : 1;
    *col = *side ? x->input - nl : x->input;
    const rill__sql_ltype *t = j->inputs[*side]->cols[*col].type;
    *proc = t->attr == RILL_SQLA_PROCTIME;
    if (*proc)
        return true;
    /* event time in ms: TIMESTAMP(p <= 3) (a finer one holds nanoseconds) */
    if (t->root != RILL_SQLT_TIMESTAMP || t->precision > 3)
        return false;
    if (t->attr == RILL_SQLA_ROWTIME)
        return true;
    /* the window_end of an event-time window aggregation: no time attribute in Flink, but its
     * rows come before the watermark that passes it, so it bounds state as one (Nexmark q7) */
    int prop = 0;
    bool agg = false;
    const rill_window_spec *w = rill__sql_window_of(j->inputs[*side], *col, &prop, &agg);
    return w && agg && prop == 2 && w->domain == RILL_EVENT_TIME &&
           !w->time_zone; /* a local time is no instant */
}

/* An interval join (Flink's): both inputs append-only, and conjuncts of the condition bound one
 * input's rowtime attribute against the other's on both sides (l.t BETWEEN r.t - INTERVAL '1'
 * MINUTE AND r.t). The bounds stay in the condition; they also say when a row can have no
 * partner left, and its state goes. */
static void find_interval_join(rill__arena *a, rel *j)
{
    j->interval = false;
    if (j->temporal || j->lookup || j->we_key >= 0 || !j->cond || j->inputs[0]->updates ||
        j->inputs[1]->updates)
        return;
    rill__sql_rex **v = NULL;
    int n = 0, cap = 0;
    rill__sql_conjuncts(a, j->cond, &v, &n, &cap);
    int64_t lo = INT64_MIN, hi = INT64_MAX;
    int lcol = -1, rcol = -1, domain = -1; /* 0 event time, 1 processing time */
    for (int i = 0; i < n; i++) {
        const rill__sql_rex *x = v[i];
        if ((x->op != RILL_SQLX_LT && x->op != RILL_SQLX_LE && x->op != RILL_SQLX_GT &&
             x->op != RILL_SQLX_GE) ||
            x->n_args != 2)
            continue;
        int sa, ca, sb, cb;
        int64_t oa, ob;
        bool pa, pb;
        if (!time_term(j, x->args[0], &sa, &ca, &oa, &pa) ||
            !time_term(j, x->args[1], &sb, &cb, &ob, &pb) || sa == sb || pa != pb ||
            (domain >= 0 && domain != pa))
            continue;
        /* a + oa OP b + ob as left - right OP' c */
        rill__sql_rexop op = x->op;
        int64_t c = ob - oa;
        if (sa == 1) { /* right + oa OP left + ob: left - right OP^-1 oa - ob */
            c = -c;
            op = op == RILL_SQLX_LT   ? RILL_SQLX_GT
                 : op == RILL_SQLX_LE ? RILL_SQLX_GE
                 : op == RILL_SQLX_GT ? RILL_SQLX_LT
                                      : RILL_SQLX_LE;
        }
        int lc = sa ? cb : ca, rc = sa ? ca : cb;
        if ((lcol >= 0 && lcol != lc) || (rcol >= 0 && rcol != rc))
            continue;
        lcol = lc, rcol = rc;
        domain = pa;
        if (op == RILL_SQLX_LE && c < hi)
            hi = c;
        else if (op == RILL_SQLX_LT && c - 1 < hi)
            hi = c - 1;
        else if (op == RILL_SQLX_GE && c > lo)
            lo = c;
        else if (op == RILL_SQLX_GT && c + 1 > lo)
            lo = c + 1;
    }
    if (lcol < 0 || lo == INT64_MIN || hi == INT64_MAX)
        return;
    j->interval = true;
    j->lt_col = lcol;
    j->rt_col = rcol;
    j->ilo = lo;
    j->ihi = hi;
    j->i_proc = domain == 1;
    j->i_we = j->i_proc ? 0
                        : (j->inputs[0]->cols[lcol].type->attr != RILL_SQLA_ROWTIME) |
                              (j->inputs[1]->cols[rcol].type->attr != RILL_SQLA_ROWTIME) << 1;
}

/* The join's columns: the left's then the right's, time attributes made plain timestamps (a
 * regular join keeps no watermark), the columns of a side the join pads nullable. */
static void join_cols(plan_ctx *pc, rel *j)
{
    rel *l = j->inputs[0], *r = j->inputs[1];
    for (int side = 0; side < 2; side++) {
        const rel *in = side ? r : l;
        bool padded = preserves(j->join_kind, 1 - side);
        for (int i = 0; i < in->n_cols; i++) {
            rel_col c = in->cols[i];
            if (rill__sql_is_timestamp(c.type) && c.type->attr != RILL_SQLA_NONE)
                c.type = rill__sql_type_with_attr(pc->a, c.type, RILL_SQLA_NONE);
            if (padded)
                c.type = rill__sql_type_with_null(pc->a, c.type, true);
            j->cols[(side ? l->n_cols : 0) + i] = c;
        }
    }
}

/* The table a relation reads (through the calc of its computed columns), or NULL. */
static const sql_table *table_of(const rel *r)
{
    while (r && r->kind == REL_CALC)
        r = r->input;
    return r && r->kind == REL_SCAN ? r->table : NULL;
}

/* The name of the table column col of r is (through calcs that pass it on), or NULL when it
 * is computed. */
static const char *table_col_of(const rel *r, int col)
{
    while (r && r->kind == REL_CALC) {
        const rill__sql_rex *x = r->outs[col];
        if (x->op != RILL_SQLX_INPUT)
            return NULL;
        col = x->input;
        r = r->input;
    }
    return r && r->kind == REL_SCAN ? r->cols[col].name : NULL;
}

/* A temporal join's checks (Flink's): FOR SYSTEM_TIME AS OF a rowtime attribute of the left,
 * an append-only left, a versioned right (a primary key and a rowtime attribute) whose key
 * the ON clause equates, INNER or LEFT. NULL with the error set, else j. */
static rel *temporal_join(plan_ctx *pc, const rill__sql_from *f, rel *j)
{
    const rill__sql_from *rf = f->u.join.right;
    rel *l = j->inputs[0], *r = j->inputs[1];
    rill__sql_rex *at = rill__sql_bind(pc, l, rf->u.table.system_time);
    if (!at)
        return NULL;
    if (at->op != RILL_SQLX_INPUT || at->type->attr == RILL_SQLA_NONE)
        return ERR(pc, rf->u.table.system_time->pos,
                   "FOR SYSTEM_TIME AS OF takes a time attribute of the left input (its rowtime "
                   "or a PROCTIME() column)");
    if (j->join_kind != RILL_SQL_J_INNER && j->join_kind != RILL_SQL_J_LEFT)
        return ERR(pc, f->pos, "Temporal join only support INNER JOIN and LEFT JOIN");
    if (at->type->attr == RILL_SQLA_PROCTIME) { /* a lookup join */
        const sql_option *c =
            r->kind == REL_SCAN ? rill__sql_table_option(r->table, "connector") : NULL;
        if (!c && r->kind == REL_SCAN)
            c = rill__sql_table_option(r->table, "connector.type");
        if (!c || strcmp(c->value, "filesystem"))
            return ERR(pc, rf->pos,
                       "A lookup join (FOR SYSTEM_TIME AS OF a processing time) reads a "
                       "filesystem table itself so far (not a view, a table with computed "
                       "columns, or another connector's)");
        if (!j->n_jkeys)
            return ERR(pc, f->pos,
                       "A lookup join needs an equality of the two inputs' "
                       "columns in its ON clause (the lookup keys)");
        j->lookup = true;
        j->temporal = false;
        return j;
    }
    if (l->updates)
        return ERR(pc, f->pos, "An event-time temporal join needs an append-only left input");
    const sql_table *t = table_of(r);
    int rt = -1;
    for (int i = 0; i < r->n_cols && rt < 0; i++)
        if (r->cols[i].type->attr == RILL_SQLA_ROWTIME)
            rt = i;
    if (!t || !t->n_pk || rt < 0)
        return ERR(pc, rf->pos,
                   "Temporal Table Join requires primary key and row time attribute in versioned "
                   "table, but no row time attribute or primary key can be found in table '%s'",
                   t ? t->name : rf->u.table.name.parts[rf->u.table.name.n_parts - 1].text);
    for (size_t k = 0; k < t->n_pk; k++) { /* the ON clause equates each key column */
        const char *name = t->cols[t->pk[k]].name;
        bool found = false;
        for (int i = 0; i < j->n_jkeys && !found; i++) {
            const char *tc =
                j->rkeys[i]->op == RILL_SQLX_INPUT ? table_col_of(r, j->rkeys[i]->input) : NULL;
            found = tc && !strcmp(tc, name);
        }
        if (!found)
            return ERR(pc, f->pos,
                       "Temporal table's primary key [%s] must be included in the equivalence "
                       "condition of the temporal join (ON ... = %s.%s)",
                       name, t->name, name);
    }
    j->temporal = true;
    j->lt_col = at->input;
    j->rt_col = rt;
    return j;
}

/* The one column of in named name that a bare name reaches, or -1 with err set. */
static int using_col(plan_ctx *pc, const rel *in, const rill__sql_ident *name, const char *side)
{
    int found = -1;
    for (int i = 0; i < in->n_cols; i++) {
        if (in->cols[i].hidden || strcmp(in->cols[i].name, name->text))
            continue;
        if (found >= 0) {
            rill__sql_error(pc->err, pc->text, name->pos,
                            "Column '%s' is ambiguous in the %s "
                            "input of the join",
                            name->text, side);
            return -1;
        }
        found = i;
    }
    if (found < 0)
        rill__sql_error(pc->err, pc->text, name->pos,
                        "Column '%s' not found in the %s input of "
                        "the join",
                        name->text, side);
    return found;
}

/* JOIN ... USING (c, ...) and NATURAL JOIN (USING the columns both inputs name alike, none: a
 * cross join), as Calcite takes them: l.c = r.c for each c, a conjunct of the condition; *lc
 * gets each c's place in the left input, *n their number. 0, or -1 with err set. */
static int using_conjuncts(plan_ctx *pc, const rill__sql_from *f, rel *j, int **lc, int *n)
{
    const rel *l = j->inputs[0], *r = j->inputs[1];
    size_t cap = f->u.join.natural ? (size_t)l->n_cols : f->u.join.n_using;
    rill__sql_ident *names = rill__arena_alloc(pc->a, (cap + 1) * sizeof *names);
    size_t k = 0;
    if (f->u.join.natural) {
        for (int i = 0; i < l->n_cols; i++) {
            bool in_right = false, seen = false;
            for (int m = 0; m < r->n_cols && !in_right; m++)
                in_right = !r->cols[m].hidden && !strcmp(r->cols[m].name, l->cols[i].name);
            for (size_t m = 0; m < k && !seen; m++)
                seen = !strcmp(names[m].text, l->cols[i].name);
            if (in_right && !seen && !l->cols[i].hidden)
                names[k++] = (rill__sql_ident){.text = l->cols[i].name, .pos = f->pos};
        }
    } else {
        for (size_t i = 0; i < f->u.join.n_using; i++) {
            for (size_t m = 0; m < k; m++)
                if (!strcmp(names[m].text, f->u.join.using_[i].text))
                    return rill__sql_error(pc->err, pc->text, f->u.join.using_[i].pos,
                                           "Column '%s' is named twice in USING",
                                           f->u.join.using_[i].text);
            names[k++] = f->u.join.using_[i];
        }
    }
    *lc = rill__arena_alloc(pc->a, (k + 1) * 2 * sizeof **lc);
    for (size_t i = 0; i < k; i++) {
        int a = using_col(pc, l, &names[i], "left"),
            b = a < 0 ? -1 : using_col(pc, r, &names[i], "right");
        if (b < 0)
            return -1;
        rill__sql_rex *eq = rill__sql_equals(
            pc, rill__sql_x_input(pc->a, a, l->cols[a].type),
            rill__sql_x_input(pc->a, l->n_cols + b, r->cols[b].type), names[i].pos);
        if (!eq)
            return -1;
        add_conjunct(pc, j, eq);
        (*lc)[2 * i] = a;
        (*lc)[2 * i + 1] = l->n_cols + b;
    }
    *n = (int)k;
    return 0;
}

/* The columns of a USING join (Calcite's): each USING column once, first (the left's value; the
 * right's in a RIGHT join; the first not NULL of both in a FULL one), then both inputs' columns
 * with the USING ones hidden (t.c still names them). A projection over the join. */
static rel *using_cols(plan_ctx *pc, rel *j, const int *lc, int n)
{
    rel *c = rill__arena_alloc(pc->a, sizeof *c);
    memset(c, 0, sizeof *c);
    c->kind = REL_CALC;
    c->input = j;
    c->updates = j->updates;
    c->n_cols = n + j->n_cols;
    c->cols = rill__arena_alloc(pc->a, (size_t)(c->n_cols + 1) * sizeof *c->cols);
    c->outs = rill__arena_alloc(pc->a, (size_t)(c->n_cols + 1) * sizeof *c->outs);
    for (int i = 0; i < n; i++) {
        int a = lc[2 * i], b = lc[2 * i + 1];
        rill__sql_rex *x;
        if (j->join_kind == RILL_SQL_J_FULL) {
            const rill__sql_ltype *ts[] = {j->cols[a].type, j->cols[b].type};
            const rill__sql_ltype *t = rill__sql_common_type(pc->a, ts, 2);
            rill__sql_rex **args = rill__arena_alloc(pc->a, 2 * sizeof *args);
            args[0] = rill__sql_cast_to(pc, rill__sql_x_input(pc->a, a, j->cols[a].type), t);
            args[1] = rill__sql_cast_to(pc, rill__sql_x_input(pc->a, b, j->cols[b].type), t);
            x = rill__sql_x_call(pc->a, RILL_SQLX_COALESCE, t, 2, args);
        } else {
            int from = j->join_kind == RILL_SQL_J_RIGHT ? b : a;
            x = rill__sql_x_input(pc->a, from, j->cols[from].type);
        }
        c->cols[i] = (rel_col){j->cols[a].name, x->type, NULL, false};
        c->outs[i] = x;
    }
    for (int i = 0; i < j->n_cols; i++) {
        c->cols[n + i] = j->cols[i];
        c->outs[n + i] = rill__sql_x_input(pc->a, i, j->cols[i].type);
        for (int k = 0; k < n; k++)
            c->cols[n + i].hidden |= lc[2 * k] == i || lc[2 * k + 1] == i;
    }
    return c;
}

rel *rill__sql_plan_join(plan_ctx *pc, const rill__sql_from *f,
                         rel *(*plan_from)(plan_ctx *, const rill__sql_from *))
{
    if (f->lateral || f->u.join.right->lateral)
        return ERR(pc, f->u.join.right->pos, "LATERAL joins are not supported yet");
    const rill__sql_from *rf = f->u.join.right;
    bool temporal = rf->kind == RILL_SQL_F_TABLE && rf->u.table.system_time;
    rill__sql_from plain; /* the versioned table itself */
    if (temporal) {
        plain = *rf;
        plain.u.table.system_time = NULL;
        rf = &plain;
    }
    rel *l = plan_from(pc, f->u.join.left);
    rel *r = l ? plan_from(pc, rf) : NULL;
    if (!r)
        return NULL;
    rel *j = rill__arena_alloc(pc->a, sizeof *j);
    memset(j, 0, sizeof *j);
    j->kind = REL_JOIN;
    int kind = f->u.join.kind;
    j->join_kind = kind == RILL_SQL_J_COMMA || kind == RILL_SQL_J_CROSS ? RILL_SQL_J_INNER : kind;
    j->n_inputs = 2;
    j->inputs = rill__arena_alloc(pc->a, 2 * sizeof *j->inputs);
    j->inputs[0] = l;
    j->inputs[1] = r;
    j->temporal = temporal; /* (checked once the keys are known) */
    j->n_cols = l->n_cols + r->n_cols;
    j->cols = rill__arena_alloc(pc->a, (size_t)(j->n_cols + 1) * sizeof *j->cols);
    /* ON is bound over the inputs' columns as they are (a pair is two whole rows) */
    memcpy(j->cols, l->cols, (size_t)l->n_cols * sizeof *j->cols);
    memcpy(j->cols + l->n_cols, r->cols, (size_t)r->n_cols * sizeof *j->cols);
    if (f->u.join.on) {
        rill__sql_rex *on = rill__sql_bind(pc, j, f->u.join.on);
        if (!on)
            return NULL;
        if (on->type->root != RILL_SQLT_BOOLEAN && on->type->root != RILL_SQLT_NULL)
            return ERR(pc, f->u.join.on->pos, "ON clause must be a condition, not '%s'",
                       rill__sql_type_str(pc->a, on->type));
        on = rill__sql_fold(pc->a, on, pc->text);
        rill__sql_rex **v = NULL;
        int n = 0, cap = 0;
        rill__sql_conjuncts(pc->a, on, &v, &n, &cap);
        for (int i = 0; i < n; i++)
            if (!(v[i]->op == RILL_SQLX_LITERAL && !v[i]->lit_null && v[i]->lit)) /* TRUE */
                add_conjunct(pc, j, v[i]);
    } /* (the parser asks an INNER or OUTER join for its ON or USING) */
    int n_using = 0, *using_ = NULL; /* USING, NATURAL: each column's place in the left */
    if ((f->u.join.natural || f->u.join.n_using) && using_conjuncts(pc, f, j, &using_, &n_using))
        return NULL;
    if (temporal && !temporal_join(pc, f, j))
        return NULL;
    find_window_join(j);
    find_interval_join(pc->a, j);
    /* a window, interval or temporal join's output is final: append-only, outer or not; a
     * lookup join's rows are its input's, with their kinds */
    j->updates = j->lookup ? l->updates
                 : j->we_key >= 0 || j->interval || j->temporal
                     ? false
                     : l->updates || r->updates || j->join_kind != RILL_SQL_J_INNER;
    join_cols(pc, j);
    return n_using ? using_cols(pc, j, using_, n_using) : j;
}

/* An input of projection p (arg) as the expression p computes it from p's input. */
static rill__sql_rex *through(rill__arena *a, rill__sql_rex *x, const void *arg)
{
    (void)a;
    const rel *p = arg;
    return p->outs[x->input];
}

/* A calc's filter right over an inner join goes into the join (Flink's FilterJoinRule). */
void rill__sql_join_rules(plan_ctx *pc, rel *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n_inputs; i++)
        rill__sql_join_rules(pc, r->inputs[i]);
    rill__sql_join_rules(pc, r->input);
    /* (through a USING join's projection, whose columns over an inner join are the join's) */
    rel *p = r->input && r->input->kind == REL_CALC && !r->input->filter && r->input->outs &&
                     r->input->input && r->input->input->kind == REL_JOIN
                 ? r->input
                 : NULL;
    for (int i = 0; p && i < p->n_cols; i++)
        if (p->outs[i]->op != RILL_SQLX_INPUT)
            p = NULL;
    rel *j = p ? p->input : r->input;
    if (r->kind != REL_CALC || !r->filter || !j || j->kind != REL_JOIN ||
        j->join_kind != RILL_SQL_J_INNER)
        return;
    rill__sql_rex **v = NULL;
    int n = 0, cap = 0;
    rill__sql_conjuncts(pc->a, r->filter, &v, &n, &cap);
    r->filter = NULL;
    for (int i = 0; i < n; i++)
        add_conjunct(pc, j, p ? rill__sql_rex_map_inputs(pc->a, v[i], through, p) : v[i]);
    find_window_join(j);
    find_interval_join(pc->a, j);
    if (j->we_key >= 0 || j->interval)
        j->updates = false;
    if (p)
        r->input->updates = j->updates;
}

/* ---- the operator ---------------------------------------------------------------------------- */

/* One side's fields as the operator reads them (its keyed input: the keys, then its columns). */
typedef struct side_type {
    int n;
    rill_type_info *t;
    bool *nullable;
} side_type;

typedef struct join_cfg {
    int kind;
    int we_key;           /* a window join: the key that is window_end (else -1) */
    const rill__tz *zone; /* its windows' zone: window_end is local time (else NULL) */
    bool interval;        /* an interval join: lo <= left's time - right's <= hi */
    bool proc;            /* its times are the rows' arrival times (processing time) */
    bool temporal;        /* an event-time temporal join: the right's versions by time */
    int tcol[2];          /* its time field of each side's rows */
    int64_t lo, hi;
    /* an interval join's expiry timers fall on multiples of this (an eighth of hi - lo, as
     * Flink's minCleanUpInterval): one scan of a key's rows per step, not per row time */
    int64_t cleanup;
    int n_keys;    /* leading key columns of each side's rows */
    int n[2];      /* the sides' columns after the keys */
    bool outer[2]; /* the join preserves this side (its rows are padded when unmatched) */
    rill_state_desc *rows[2];
    const rill__sql_rex *cond; /* over a pair: the left's columns, then the right's */
    side_type in[2];           /* each side's rows (keys and columns) */
    side_type pair;            /* a pair as the condition reads it */
    const char *text;
} join_cfg;

/* A row of the other side with this key: its encoding (in cands), count and associations. */
typedef struct cand {
    size_t key_off, len; /* its map key (an interval join's: the row's time, then the row) */
    size_t off;          /* its row's encoding */
    int64_t count, assoc;
    int64_t time; /* an interval join's: the row's time */
    bool match;
} cand;

typedef struct join_local {
    rill_schema *schema[2], *pair_schema, *verdict_schema;
    rill_batch *row[2];           /* a stored row decoded */
    rill_batch *pairs, *verdicts; /* candidate pairs, the condition's value for each */
    rill__sql_prog *prog;         /* the condition (NULL: none) */
    rill__err err;
    rill__buf enc, cand_bytes;
    size_t prefix; /* bytes before a map key's row (an interval join's time) */
    cand *cands;
    size_t n_cands, cap_cands;
    /* a window join firing: the left's rows (the right's are the candidates) */
    rill__buf own_bytes;
    cand *own;
    size_t n_own, cap_own;
} join_local;

static void side_type_of(rill__arena *a, side_type *st, const rill_schema *s)
{
    st->n = s->n_fields;
    st->t = rill__arena_alloc(a, (size_t)(st->n + 1) * sizeof *st->t);
    st->nullable = rill__arena_alloc(a, (size_t)(st->n + 1) * sizeof *st->nullable);
    for (int i = 0; i < st->n; i++) {
        st->t[i] = rill__field_info(&s->fields[i]);
        st->nullable[i] = s->fields[i].nullable;
    }
}

static rill_schema *schema_from(const side_type *st)
{
    rill_schema *s = rill_schema_new();
    for (int i = 0; i < st->n; i++) {
        char name[32];
        snprintf(name, sizeof name, "c%d", i);
        rill_schema_add_typed(s, name, st->t[i], st->nullable[i]);
    }
    return s;
}

static void join_close(rill_ctx *ctx)
{
    join_local *jl = rill_ctx_local(ctx);
    if (!jl)
        return;
    for (int s = 0; s < 2; s++) {
        rill__batch_unref(jl->row[s]);
        rill_schema_free(jl->schema[s]);
    }
    rill__batch_unref(jl->pairs);
    rill__batch_unref(jl->verdicts);
    rill_schema_free(jl->pair_schema);
    rill_schema_free(jl->verdict_schema);
    rill__sql_prog_free(jl->prog);
    rill__buf_free(&jl->enc);
    rill__buf_free(&jl->cand_bytes);
    rill__buf_free(&jl->own_bytes);
    free(jl->cands);
    free(jl->own);
    free(jl);
    rill_ctx_set_local(ctx, NULL);
}

enum { PAIRS = 256 }; /* candidate pairs judged at once */

static int join_open(rill_ctx *ctx)
{
    const join_cfg *jc = rill_ctx_user(ctx);
    join_local *jl = rill__xcalloc(1, sizeof *jl);
    rill_ctx_set_local(ctx, jl);
    jl->prefix = jc->interval || jc->temporal ? 8 : 0;
    for (int s = 0; s < 2; s++) {
        jl->schema[s] = schema_from(&jc->in[s]);
        jl->row[s] = rill__batch_new(jl->schema[s], 1);
    }
    if (!jc->cond)
        return 0;
    jl->pair_schema = schema_from(&jc->pair);
    jl->verdict_schema = rill_schema_new();
    rill_schema_add_typed(jl->verdict_schema, "c0", (rill_type_info){.type = RILL_T_BOOL}, true);
    jl->pairs = rill__batch_new(jl->pair_schema, PAIRS);
    jl->verdicts = rill__batch_new(jl->verdict_schema, PAIRS);
    rill__sql_rex *outs[1] = {(rill__sql_rex *)jc->cond};
    int rc = rill__sql_prog_new(NULL, 1, outs, jc->text, &jl->prog, &jl->err);
    if (rc)
        return rill_ctx_fail(ctx, "join condition: %s", jl->err.msg);
    return 0;
}

/* A side's columns (after its keys) of row src into dst from field first. */
static int copy_side(const join_cfg *jc, rill_row *dst, int first, const rill_row *src, int side)
{
    return rill__row_copy_fields(dst, first, src, jc->n_keys, jc->n[side]);
}

/* Emits one row of the kind: the left's columns from l, the right's from r (NULL: padded). */
static int emit(rill_ctx *ctx, const join_cfg *jc, rill_rowkind kind, const rill_row *l,
                const rill_row *r)
{
    rill_row out;
    int rc = rill_emit(ctx, &out);
    if (rc < 0)
        return rc;
    if (l && (rc = copy_side(jc, &out, 0, l, 0)) < 0)
        return rc;
    if (r && (rc = copy_side(jc, &out, jc->n[0], r, 1)) < 0)
        return rc;
    return rill_row_set_kind(&out, kind);
}

static int collect_cand(void *arg, const void *ukey, size_t ukey_len, const void *val, size_t len)
{
    join_local *jl = arg;
    rill__grow((void **)&jl->cands, &jl->cap_cands, jl->n_cands + 1, sizeof *jl->cands);
    cand *c = &jl->cands[jl->n_cands++];
    memset(c, 0, sizeof *c);
    c->key_off = jl->cand_bytes.len;
    c->off = c->key_off + jl->prefix;
    c->len = ukey_len;
    if (jl->prefix && ukey_len >= 8)
        memcpy(&c->time, ukey, 8);
    rill__buf_append(&jl->cand_bytes, ukey, ukey_len);
    if (len >= 16) {
        memcpy(&c->count, val, 8);
        memcpy(&c->assoc, (const char *)val + 8, 8);
    }
    return 0;
}

/* The row of c (its encoding in bytes) decoded (valid until the next call for this side). */
static int row_at(join_local *jl, int side, const rill__buf *bytes, const cand *c, rill_row *out)
{
    rill_batch *b = jl->row[side];
    rill__batch_clear(b);
    *out = rill__batch_append(b);
    return rill__row_decode(out, bytes->data + c->off);
}

/* The row of candidate c decoded. */
static int cand_row(join_local *jl, int side, const cand *c, rill_row *out)
{
    return row_at(jl, side, &jl->cand_bytes, c, out);
}

/* Judges the candidates against x (of side): each one's match is whether the pair meets the
 * condition (every candidate without one). */
static int judge(rill_ctx *ctx, const join_cfg *jc, join_local *jl, const rill_row *x, int side)
{
    if (!jc->cond) {
        for (size_t i = 0; i < jl->n_cands; i++)
            jl->cands[i].match = true;
        return 0;
    }
    for (size_t at = 0; at < jl->n_cands; at += PAIRS) {
        size_t n = RILL_MIN((size_t)PAIRS, jl->n_cands - at);
        rill__batch_clear(jl->pairs);
        rill__batch_clear(jl->verdicts);
        for (size_t i = 0; i < n; i++) {
            rill_row o, p = rill__batch_append(jl->pairs);
            int rc = cand_row(jl, 1 - side, &jl->cands[at + i], &o);
            const rill_row *l = side ? &o : x, *r = side ? x : &o;
            if (rc == 0)
                rc = copy_side(jc, &p, 0, l, 0);
            if (rc == 0)
                rc = copy_side(jc, &p, jc->n[0], r, 1);
            if (rc)
                return rc;
        }
        int rc = rill__sql_prog_run(jl->prog, jl->pairs, jl->verdicts, &jl->err);
        if (rc)
            return rill_ctx_fail(ctx, "%s", jl->err.msg);
        for (size_t i = 0; i < n; i++) {
            rill_row v = rill__batch_row(jl->verdicts, (uint32_t)i);
            jl->cands[at + i].match = !rill_row_is_null(&v, 0) && v.v[0] != 0;
        }
    }
    return 0;
}

/* Stores (d 1) or takes out (d -1) row enc of side: its count, its associations set to assoc
 * (d 1) or left (d -1). */
static int store(rill_ctx *ctx, const join_cfg *jc, int side, const rill__buf *enc, int d,
                 int64_t assoc)
{
    const void *p;
    size_t len;
    int rc = rill_map_get(ctx, jc->rows[side], enc->data, enc->len, &p, &len);
    if (rc < 0)
        return rc;
    int64_t v[2] = {0, 0};
    if (rc == 1 && len >= 16)
        memcpy(v, p, 16);
    if (d < 0 && v[0] <= 0)
        return 0; /* not there (expired, or a retraction of nothing) */
    v[0] += d;
    if (d > 0)
        v[1] = assoc;
    if (v[0] <= 0) {
        rc = rill_map_remove(ctx, jc->rows[side], enc->data, enc->len);
        return rc < 0 ? rc : 0;
    }
    return rill_map_put(ctx, jc->rows[side], enc->data, enc->len, v, 16);
}

/* Candidate c's associations (a row of a preserved side) set to assoc. */
static int set_assoc(rill_ctx *ctx, const join_cfg *jc, join_local *jl, int side, cand *c,
                     int64_t assoc)
{
    int64_t v[2] = {c->count, assoc};
    c->assoc = assoc;
    return rill_map_put(ctx, jc->rows[side], jl->cand_bytes.data + c->key_off, c->len, v, 16);
}

/* Emits pair (x, o) n times: x of side, o of the other. */
static int emit_pairs(rill_ctx *ctx, const join_cfg *jc, rill_rowkind kind, const rill_row *x,
                      int side, const rill_row *o, int64_t n)
{
    int rc = 0;
    for (int64_t i = 0; i < n && rc == 0; i++)
        rc = side ? emit(ctx, jc, kind, o, x) : emit(ctx, jc, kind, x, o);
    return rc;
}

/* o of side padded, n times. */
static int emit_padded(rill_ctx *ctx, const join_cfg *jc, rill_rowkind kind, const rill_row *o,
                       int side, int64_t n)
{
    int rc = 0;
    for (int64_t i = 0; i < n && rc == 0; i++)
        rc = side ? emit(ctx, jc, kind, NULL, o) : emit(ctx, jc, kind, o, NULL);
    return rc;
}

/* The rows of side kept for the current key, as candidates. */
static int collect_side(rill_ctx *ctx, const join_cfg *jc, join_local *jl, int side)
{
    jl->n_cands = 0;
    jl->cand_bytes.len = 0;
    return rill_map_iterate(ctx, jc->rows[side], collect_cand, jl);
}

/* A window join's row: kept until its window ends (the timer at window_end - 1), or dropped
 * when the window has ended already (late). */
static int window_row(rill_ctx *ctx, const join_cfg *jc, join_local *jl, const rill_row *x,
                      int side)
{
    if (rill_row_is_null(x, jc->we_key))
        return 0;
    int64_t fire = rill__tz_timer_ms(jc->zone, (int64_t)x->v[jc->we_key] - 1);
    if (fire <= rill_ctx_watermark(ctx))
        return 0; /* late: its window was joined and sent */
    jl->enc.len = 0;
    rill__row_encode(x, &jl->enc);
    int rc = store(ctx, jc, side, &jl->enc, 1, 0);
    return rc < 0 ? rc : rill_timer_event(ctx, fire);
}

/* A window join's window ends: every pair of its rows that meets the condition, the rows an
 * outer join keeps that met none padded; then its rows go. */
static int window_fire(rill_ctx *ctx, int64_t ts, rill_time_domain domain)
{
    const join_cfg *jc = rill_ctx_user(ctx);
    join_local *jl = rill_ctx_local(ctx);
    (void)ts;
    if (domain != RILL_EVENT_TIME)
        return 0;
    int rc = collect_side(ctx, jc, jl, 0);
    if (rc < 0)
        return rc;
    /* the left's rows aside; the right's are the candidates of each */
    cand *v = jl->own;
    size_t n = jl->n_own, cap = jl->cap_own;
    rill__buf bytes = jl->own_bytes;
    jl->own = jl->cands, jl->n_own = jl->n_cands, jl->cap_own = jl->cap_cands;
    jl->own_bytes = jl->cand_bytes;
    jl->cands = v, jl->n_cands = n, jl->cap_cands = cap;
    jl->cand_bytes = bytes;
    if ((rc = collect_side(ctx, jc, jl, 1)) < 0)
        return rc;
    bool *met = rill__xcalloc(jl->n_cands + 1, sizeof *met);
    for (size_t i = 0; i < jl->n_own && rc >= 0; i++) {
        rill_row l, o;
        if ((rc = row_at(jl, 0, &jl->own_bytes, &jl->own[i], &l)) < 0 ||
            (rc = judge(ctx, jc, jl, &l, 0)) < 0)
            break;
        bool any = false;
        for (size_t k = 0; k < jl->n_cands && rc >= 0; k++) {
            if (!jl->cands[k].match)
                continue;
            any = met[k] = true;
            if ((rc = cand_row(jl, 1, &jl->cands[k], &o)) >= 0)
                rc = emit_pairs(ctx, jc, RILL_ROW_INSERT, &l, 0, &o,
                                jl->own[i].count * jl->cands[k].count);
        }
        if (rc >= 0 && !any && jc->outer[0])
            rc = emit_padded(ctx, jc, RILL_ROW_INSERT, &l, 0, jl->own[i].count);
    }
    for (size_t k = 0; k < jl->n_cands && rc >= 0 && jc->outer[1]; k++) {
        rill_row o;
        if (!met[k] && (rc = cand_row(jl, 1, &jl->cands[k], &o)) >= 0)
            rc = emit_padded(ctx, jc, RILL_ROW_INSERT, &o, 1, jl->cands[k].count);
    }
    free(met);
    if (rc >= 0 && (rc = rill_map_clear(ctx, jc->rows[0])) >= 0)
        rc = rill_map_clear(ctx, jc->rows[1]);
    return rc < 0 ? rc : 0;
}

/* An interval join's row: joined with the other side's rows in its time range, kept while a
 * row of the other side in range may still come (the watermark below its expiry: the left's
 * time - lo, the right's + hi), else (outer, unmatched) sent padded at once. */
static int interval_row(rill_ctx *ctx, const join_cfg *jc, join_local *jl, const rill_row *x,
                        int side)
{
    int other = 1 - side;
    if (!jc->proc && rill_row_is_null(x, jc->tcol[side]))
        return jc->outer[side] ? emit_padded(ctx, jc, RILL_ROW_INSERT, x, side, 1) : 0;
    /* processing time: the row's arrival, as Flink's ProcTimeIntervalJoin takes it (the rows
     * to come arrive at this time or later: a row is dead once the clock is past its expiry,
     * as an event-time row is once the watermark reaches it) */
    int64_t t = jc->proc ? rill_ctx_now(ctx) : (int64_t)x->v[jc->tcol[side]];
    int64_t from = side ? t + jc->lo : t - jc->hi, to = side ? t + jc->hi : t - jc->lo;
    int rc = collect_side(ctx, jc, jl, other);
    if (rc < 0 || (rc = judge(ctx, jc, jl, x, side)) < 0)
        return rc;
    bool matched = false;
    for (size_t i = 0; i < jl->n_cands && rc >= 0; i++) {
        cand *c = &jl->cands[i];
        if (!c->match || c->time < from || c->time > to)
            continue;
        matched = true;
        rill_row o;
        if ((rc = cand_row(jl, other, c, &o)) >= 0)
            rc = emit_pairs(ctx, jc, RILL_ROW_INSERT, x, side, &o, c->count);
        if (rc >= 0 && jc->outer[other] && !c->assoc)
            rc = set_assoc(ctx, jc, jl, other, c, 1); /* joined: never padded */
    }
    if (rc < 0)
        return rc;
    int64_t expire = side ? t + jc->hi : t - jc->lo;
    if (jc->proc && expire < INT64_MAX)
        expire++;
    if ((jc->proc ? t : rill_ctx_watermark(ctx)) >= expire) /* no partner can come any more */
        return jc->outer[side] && !matched ? emit_padded(ctx, jc, RILL_ROW_INSERT, x, side, 1) : 0;
    jl->enc.len = 0;
    rill__buf_append(&jl->enc, &t, 8);
    rill__row_encode(x, &jl->enc);
    if ((rc = store(ctx, jc, side, &jl->enc, 1, matched)) < 0)
        return rc;
    /* the timer at the next cleanup step: the row may stay a little longer (the range check
     * above keeps it from joining outside its range; interval_expire drops it then) */
    int64_t m = ((expire % jc->cleanup) + jc->cleanup) % jc->cleanup;
    int64_t at = m && expire < INT64_MAX - jc->cleanup ? expire + (jc->cleanup - m) : expire;
    return jc->proc ? rill_timer_processing(ctx, at) : rill_timer_event(ctx, at);
}

/* An interval join's rows whose partners can no longer come go (outer: sent padded when they
 * never met one). */
static int interval_expire(rill_ctx *ctx, int64_t ts, rill_time_domain domain)
{
    const join_cfg *jc = rill_ctx_user(ctx);
    join_local *jl = rill_ctx_local(ctx);
    (void)ts;
    if (domain != (jc->proc ? RILL_PROCESSING_TIME : RILL_EVENT_TIME))
        return 0;
    /* gone: the rows whose expiry the watermark (processing time: the clock) has reached */
    int64_t wm = jc->proc ? rill_ctx_now(ctx) : rill_ctx_watermark(ctx);
    for (int side = 0; side < 2; side++) {
        int rc = collect_side(ctx, jc, jl, side);
        for (size_t i = 0; i < jl->n_cands && rc >= 0; i++) {
            cand *c = &jl->cands[i];
            int64_t expire = side ? c->time + jc->hi : c->time - jc->lo;
            if (jc->proc && expire < INT64_MAX)
                expire++;
            if (expire > wm)
                continue;
            rill_row o;
            if (jc->outer[side] && !c->assoc && (rc = cand_row(jl, side, c, &o)) >= 0)
                rc = emit_padded(ctx, jc, RILL_ROW_INSERT, &o, side, c->count);
            if (rc >= 0)
                rc = rill_map_remove(ctx, jc->rows[side], jl->cand_bytes.data + c->key_off, c->len);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- event-time temporal joins ---- */

/* A version of the right side: its time and its row (off, len in the versions' bytes), or a
 * deletion. */
typedef struct version {
    int64_t time;
    size_t off, len;
    bool deleted;
} version;

typedef struct versions {
    version *v;
    size_t n, cap;
    rill__buf bytes;
} versions;

static int collect_version(void *arg, const void *ukey, size_t ukey_len, const void *val,
                           size_t len)
{
    versions *vs = arg;
    if (ukey_len != 8 || len < 1)
        return 0;
    rill__grow((void **)&vs->v, &vs->cap, vs->n + 1, sizeof *vs->v);
    version *v = &vs->v[vs->n++];
    memcpy(&v->time, ukey, 8);
    v->deleted = ((const char *)val)[0] != 0;
    v->off = vs->bytes.len;
    v->len = len - 1;
    rill__buf_append(&vs->bytes, (const char *)val + 1, len - 1);
    return 0;
}

static int by_time(const void *a, const void *b)
{
    int64_t x = ((const version *)a)->time, y = ((const version *)b)->time;
    return (x > y) - (x < y);
}

/* A temporal join's row: the left's wait for the watermark to pass their time (a timer then);
 * the right's are versions of their key, from their time on (-U is followed by its +U). */
static int temporal_row(rill_ctx *ctx, const join_cfg *jc, join_local *jl, const rill_row *x,
                        int side)
{
    if (rill_row_is_null(x, jc->tcol[side]))
        return side == 0 && jc->outer[0] ? emit_padded(ctx, jc, RILL_ROW_INSERT, x, 0, 1) : 0;
    int64_t t = (int64_t)x->v[jc->tcol[side]];
    rill_rowkind kind = rill_row_kind(x);
    int rc;
    if (side == 1) {
        if (kind == RILL_ROW_UPDATE_BEFORE)
            return 0;
        jl->enc.len = 0;
        rill__buf_putc(&jl->enc, kind == RILL_ROW_DELETE ? 1 : 0);
        if (kind != RILL_ROW_DELETE)
            rill__row_encode(x, &jl->enc);
        rc = rill_map_put(ctx, jc->rows[1], &t, 8, jl->enc.data, jl->enc.len);
        return rc < 0 ? rc : rill_timer_event(ctx, t); /* its older versions go then */
    }
    jl->enc.len = 0;
    rill__buf_append(&jl->enc, &t, 8);
    rill__row_encode(x, &jl->enc);
    if ((rc = store(ctx, jc, 0, &jl->enc, 1, 0)) < 0)
        return rc;
    return rill_timer_event(ctx, t);
}

/* The watermark has passed ts: the left's rows of time ts or before are joined with the
 * version of their time (the last at or before it), or padded (LEFT) when there is none or it
 * does not meet the condition; then the versions no left row can need any more go. */
static int temporal_fire(rill_ctx *ctx, int64_t ts, rill_time_domain domain)
{
    const join_cfg *jc = rill_ctx_user(ctx);
    join_local *jl = rill_ctx_local(ctx);
    if (domain != RILL_EVENT_TIME)
        return 0;
    versions vs = {0};
    int rc = rill_map_iterate(ctx, jc->rows[1], collect_version, &vs);
    if (rc >= 0 && vs.n > 1)
        qsort(vs.v, vs.n, sizeof *vs.v, by_time);
    /* the left's rows aside, each with its candidate: the version of its time */
    if (rc >= 0)
        rc = collect_side(ctx, jc, jl, 0);
    cand *lefts = jl->cands;
    size_t n_left = jl->n_cands;
    rill__buf left_bytes = jl->cand_bytes;
    jl->cands = NULL, jl->n_cands = jl->cap_cands = 0;
    jl->cand_bytes = (rill__buf){0};
    for (size_t i = 0; i < n_left && rc >= 0; i++) {
        cand *lc = &lefts[i];
        if (lc->time > ts)
            continue;
        const version *v = NULL;
        for (size_t k = 0; k < vs.n && vs.v[k].time <= lc->time; k++)
            v = &vs.v[k];
        rill_row l, o;
        if ((rc = row_at(jl, 0, &left_bytes, lc, &l)) < 0)
            break;
        bool met = false;
        if (v && !v->deleted) { /* the version as the one candidate */
            jl->n_cands = 0;
            jl->cand_bytes.len = 0;
            rill__grow((void **)&jl->cands, &jl->cap_cands, 1, sizeof *jl->cands);
            jl->cands[0] = (cand){.count = 1};
            rill__buf_append(&jl->cand_bytes, vs.bytes.data + v->off, v->len);
            jl->n_cands = 1;
            if ((rc = judge(ctx, jc, jl, &l, 0)) < 0 ||
                (rc = cand_row(jl, 1, &jl->cands[0], &o)) < 0)
                break;
            met = jl->cands[0].match;
        }
        if (met)
            rc = emit_pairs(ctx, jc, RILL_ROW_INSERT, &l, 0, &o, lc->count);
        else if (jc->outer[0])
            rc = emit_padded(ctx, jc, RILL_ROW_INSERT, &l, 0, lc->count);
        if (rc >= 0)
            rc = rill_map_remove(ctx, jc->rows[0], left_bytes.data + lc->key_off, lc->len);
    }
    /* versions before the last one at or before ts serve no row to come (those come after
     * ts); that one too when it is a deletion */
    size_t last = vs.n;
    for (size_t k = 0; k < vs.n && vs.v[k].time <= ts; k++)
        last = k;
    for (size_t k = 0; last < vs.n && k <= last && rc >= 0; k++)
        if (k < last || vs.v[k].deleted)
            rc = rill_map_remove(ctx, jc->rows[1], &vs.v[k].time, 8);
    free(lefts);
    rill__buf_free(&left_bytes);
    free(vs.v);
    rill__buf_free(&vs.bytes);
    return rc < 0 ? rc : 0;
}

static int join_row(rill_ctx *ctx, const rill_row *x, int side)
{
    const join_cfg *jc = rill_ctx_user(ctx);
    join_local *jl = rill_ctx_local(ctx);
    int other = 1 - side;
    rill_rowkind kind = rill_row_kind(x);
    bool acc = kind == RILL_ROW_INSERT || kind == RILL_ROW_UPDATE_AFTER;
    bool outer = jc->outer[side], other_outer = jc->outer[other];
    /* a NULL key equals nothing: the row is never joined, and never kept */
    for (int k = 0; k < jc->n_keys; k++)
        if (rill_row_is_null(x, k))
            return outer ? emit_padded(ctx, jc, acc ? RILL_ROW_INSERT : RILL_ROW_DELETE, x, side, 1)
                         : 0;
    if (jc->we_key >= 0)
        return window_row(ctx, jc, jl, x, side);
    if (jc->interval)
        return interval_row(ctx, jc, jl, x, side);
    if (jc->temporal)
        return temporal_row(ctx, jc, jl, x, side);
    int rc = collect_side(ctx, jc, jl, other);
    if (rc < 0)
        return rc;
    if ((rc = judge(ctx, jc, jl, x, side)) < 0)
        return rc;
    int64_t total = 0;
    for (size_t i = 0; i < jl->n_cands; i++)
        total += jl->cands[i].match ? jl->cands[i].count : 0;
    jl->enc.len = 0;
    rill__row_encode(x, &jl->enc);
    if (acc) {
        if (outer && total == 0) {
            if ((rc = emit_padded(ctx, jc, RILL_ROW_INSERT, x, side, 1)) < 0)
                return rc;
            return store(ctx, jc, side, &jl->enc, 1, 0);
        }
        /* an inner join passes +I and +U on; one that pads sends inserts (Flink's) */
        rill_rowkind out = outer || other_outer ? RILL_ROW_INSERT : kind;
        for (size_t i = 0; i < jl->n_cands; i++) {
            cand *c = &jl->cands[i];
            if (!c->match)
                continue;
            rill_row o;
            if ((rc = cand_row(jl, other, c, &o)) < 0)
                return rc;
            if (other_outer) { /* its padded row goes: it is joined now */
                if (c->assoc == 0 &&
                    (rc = emit_padded(ctx, jc, RILL_ROW_DELETE, &o, other, c->count)) < 0)
                    return rc;
                if ((rc = set_assoc(ctx, jc, jl, other, c, c->assoc + 1)) < 0)
                    return rc;
            }
            if ((rc = emit_pairs(ctx, jc, out, x, side, &o, c->count)) < 0)
                return rc;
        }
        return store(ctx, jc, side, &jl->enc, 1, total);
    }
    /* a retraction (-U, -D) */
    if ((rc = store(ctx, jc, side, &jl->enc, -1, 0)) < 0)
        return rc;
    if (total == 0)
        return outer ? emit_padded(ctx, jc, RILL_ROW_DELETE, x, side, 1) : 0;
    rill_rowkind out = outer ? RILL_ROW_DELETE : kind;
    for (size_t i = 0; i < jl->n_cands; i++) {
        cand *c = &jl->cands[i];
        if (!c->match)
            continue;
        rill_row o;
        if ((rc = cand_row(jl, other, c, &o)) < 0 ||
            (rc = emit_pairs(ctx, jc, out, x, side, &o, c->count)) < 0)
            return rc;
        if (other_outer) { /* its last partner gone: padded again */
            if (c->assoc == 1 &&
                (rc = emit_padded(ctx, jc, RILL_ROW_INSERT, &o, other, c->count)) < 0)
                return rc;
            if ((rc = set_assoc(ctx, jc, jl, other, c, c->assoc - 1)) < 0)
                return rc;
        }
    }
    return 0;
}

static int join_left(rill_ctx *ctx, const rill_row *x)
{
    int rc = join_row(ctx, x, 0);
    return rc < 0 ? rc : 0;
}

static int join_right(rill_ctx *ctx, const rill_row *x)
{
    int rc = join_row(ctx, x, 1);
    return rc < 0 ? rc : 0;
}

/* ---- the stream -------------------------------------------------------------------------------
 */

static const char *const kind_names[] = {"InnerJoin", "LeftOuterJoin", "RightOuterJoin",
                                         "FullOuterJoin"};

/* One side's keyed input: its keys (or a constant one), then its columns. */
static rill_keyed_stream *side_input(plan_ctx *pc, rel *r, int side, join_cfg *jc,
                                     const rel_col **key_cols)
{
    const rel *in = r->inputs[side];
    rill_keyed_stream *ks =
        rill__sql_partitioned_input(pc, in, r->n_jkeys, NULL, side ? r->rkeys : r->lkeys, key_cols);
    if (!ks)
        return NULL;
    rill_schema *s = rill__sql_schema_of(pc, jc->n_keys + in->n_cols, *key_cols);
    if (!s)
        return NULL;
    side_type_of(pc->a, &jc->in[side], s);
    rill_schema_free(s);
    return ks;
}

rill_stream *rill__sql_build_join(plan_ctx *pc, rel *r)
{
    rill__arena *a = pc->a;
    join_cfg *jc = rill__arena_alloc(a, sizeof *jc);
    memset(jc, 0, sizeof *jc);
    jc->kind = r->join_kind;
    jc->we_key = r->we_key;
    jc->zone = r->we_key >= 0 && r->jwindow ? rill__tz_get(r->jwindow->time_zone) : NULL;
    jc->interval = r->interval;
    jc->proc = r->interval && r->i_proc;
    jc->temporal = r->temporal;
    jc->lo = r->ilo;
    jc->hi = r->ihi;
    jc->cleanup = r->interval && r->ihi - r->ilo >= 16 ? (r->ihi - r->ilo) / 8 : 1;
    jc->n_keys = RILL_MAX(r->n_jkeys, 1);
    jc->cond = r->cond;
    jc->text = pc->text;
    const rel_col *kcols[2];
    rill_keyed_stream *ks[2];
    for (int s = 0; s < 2; s++) {
        jc->n[s] = r->inputs[s]->n_cols;
        jc->outer[s] = preserves(r->join_kind, s);
        if (!(ks[s] = side_input(pc, r, s, jc, &kcols[s])))
            return NULL;
    }
    /* a pair as the condition reads it (the inputs' own types), and an output row */
    int n = r->n_cols;
    rel_col *pair = rill__arena_alloc(a, (size_t)(n + 1) * sizeof *pair);
    memcpy(pair, r->inputs[0]->cols, (size_t)jc->n[0] * sizeof *pair);
    memcpy(pair + jc->n[0], r->inputs[1]->cols, (size_t)jc->n[1] * sizeof *pair);
    rill_schema *ps = rill__sql_schema_of(pc, n, pair);
    rill_schema *out = ps ? rill__sql_schema_of(pc, n, r->cols) : NULL;
    if (!out) {
        rill_schema_free(ps);
        return NULL;
    }
    side_type_of(a, &jc->pair, ps);
    rill_schema_free(ps);
    int64_t ttl = 0;
    if (rill__sql_state_ttl(pc, &ttl) != 0) {
        rill_schema_free(out);
        return NULL;
    }
    int id = pc->s->n_joins++;
    for (int s = 0; s < 2; s++) {
        char name[64]; /* by its place in the script: the same in every run of it */
        snprintf(name, sizeof name, "sql-join-%d-%s", id, s ? "right" : "left");
        jc->rows[s] = rill_map_state(pc->s->env, name);
        if (ttl > 0 && rill_state_ttl(jc->rows[s], ttl, RILL_TTL_ON_CREATE_AND_WRITE) != 0) {
            rill_schema_free(out);
            rill__err_set(pc->err, RILL_ECONFIG, "state TTL of a join could not be set");
            return NULL;
        }
    }
    jc->tcol[0] = jc->n_keys + r->lt_col;
    jc->tcol[1] = jc->n_keys + r->rt_col;
    rill_stream *j = rill_keyed_co_process(ks[0], ks[1], out, join_left, join_right, jc);
    rill_schema_free(out);
    if (!j)
        return NULL;
    j = rill_stream_hooks(j, join_open, join_close);
    if (jc->we_key >= 0)
        j = rill_stream_on_timer(j, window_fire);
    else if (jc->interval)
        j = rill_stream_on_timer(j, interval_expire);
    else if (jc->temporal)
        j = rill_stream_on_timer(j, temporal_fire);
    /* its uid: the kind, the keys' and each side's rows' types */
    rill__buf d = {0};
    rill__buf_printf(&d, "v1 %s keys=%d ttl=%d window=%d interval=%d temporal=%d",
                     kind_names[jc->kind], r->n_jkeys, ttl > 0, jc->we_key, jc->interval + jc->proc,
                     jc->temporal);
    for (int s = 0; s < 2; s++) {
        rill__buf_printf(&d, "; side %d:", s);
        for (int i = 0; i < jc->n_keys + jc->n[s]; i++) {
            rill__buf_putc(&d, ' ');
            rill__sql_type_describe(kcols[s][i].type, &d);
        }
        for (int i = 0; i < r->n_jkeys; i++) { /* what computes the keys from the tables */
            rill__buf_printf(&d, " key=");
            rill__sql_put_rex_lineage(&d, r->inputs[s], (s ? r->rkeys : r->lkeys)[i]);
        }
    }
    rill__buf_putc(&d, '\0');
    j = rill__sql_uid(pc, j, "Join", (const char *)d.data);
    rill__buf_free(&d);
    return j;
}

const char *rill__sql_join_kind_name(int kind)
{
    return kind >= 0 && kind < 4 ? kind_names[kind] : "?";
}
