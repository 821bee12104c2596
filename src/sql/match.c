/*
 * match.c - sql layer: MATCH_RECOGNIZE (Flink's Match). Each partition's rows are buffered until
 * the watermark passes them, then taken in time order; the pattern, compiled to a small
 * backtracking program over its variables, is tried at the earliest row that may still start a
 * match, the preferred path first (greedy: more rows, reluctant: fewer, alternatives left to
 * right). A path that needs a row not there yet waits for it; one that ends makes ONE ROW PER
 * MATCH of the partition's columns and the measures, and AFTER MATCH SKIP says where the next
 * try starts. The released rows from that start on (and the rows PREV may reach before it) and
 * the rows still buffered are the key's state.
 */
#include <stdlib.h>
#include <string.h>

#include "functions.h"
#include "sql_int.h"

#define ERR(pc, pos, ...)  (rill__sql_error((pc)->err, (pc)->text, (pos), __VA_ARGS__), NULL)
#define FAIL(pc, pos, ...) rill__sql_error((pc)->err, (pc)->text, (pos), __VA_ARGS__)

typedef struct rel_match rel_match;

/* What a navigation or aggregate of the pattern's rows reads: a column of the eval row. */
enum { NAV_PREV, NAV_LAST, NAV_FIRST, NAV_COUNT, NAV_SUM, NAV_AVG, NAV_MIN, NAV_MAX, NAV_ROWTIME };
static const char *const nav_names[] = {"PREV", "LAST", "FIRST", "COUNT",        "SUM",
                                        "AVG",  "MIN",  "MAX",   "MATCH_ROWTIME"};

typedef struct nav {
    int kind;
    int var; /* the variable whose rows it reads, -1: every row of the match */
    int col; /* the input's column (-1: COUNT(*)) */
    int off;
    bool dbl; /* an aggregate over DOUBLE values */
    const rill__sql_ltype *type;
} nav;

/* How a secondary ORDER BY column's values compare. */
enum { CMP_INT, CMP_FLOAT, CMP_DOUBLE, CMP_BYTES };

/* The pattern as a backtracking program: VAR x takes the next row as variable x, SPLIT tries x
 * then y, JMP goes to x, MATCH ends a match. */
enum { I_VAR, I_SPLIT, I_JMP, I_MATCH };
typedef struct instr {
    int op, x, y;
} instr;

struct rel_match {
    const rill__sql_match *spec; /* the AST: for planning, EXPLAIN and digests only */
    int n_part, *part;           /* columns of the input */
    int ord;                     /* the rowtime column of the input */
    int n_ord2; /* ORDER BY's columns after the rowtime: rows of one time sorted by them */
    int *ord2, *ord2_cmp;
    bool *ord2_desc, *ord2_nulls_first;
    int n_vars;
    const char **vars;
    rill__sql_rex **define; /* per variable, over the eval row (NULL: TRUE) */
    int n_meas;
    rill__sql_rex **meas; /* over the eval row */
    int n_nav, cap_nav;
    nav *navs;
    int n_prog, cap_prog;
    instr *prog;
    int64_t within;      /* ms, 0: none */
    rill__sql_skip skip; /* (the operator runs after the statement's AST is gone) */
    int skip_var;
    int lookback; /* rows before a match's start PREV reaches */
    int n_in;
    /* binding: the variable whose DEFINE is bound (-1: MEASURES) */
    int defining;
    const rel *in;
};

/* ---- planning ------------------------------------------------------------------------------ */

static int var_of(const rel_match *m, const char *name)
{
    for (int i = 0; i < m->n_vars; i++)
        if (!strcmp(m->vars[i], name))
            return i;
    return -1;
}

static void collect_vars(plan_ctx *pc, rel_match *m, const rill__sql_pattern *p)
{
    if (p->kind == RILL_SQL_P_VAR) {
        if (var_of(m, p->var.text) < 0) {
            const char **v = rill__arena_alloc(pc->a, (size_t)(m->n_vars + 1) * sizeof *v);
            if (m->n_vars)
                memcpy(v, m->vars, (size_t)m->n_vars * sizeof *v);
            v[m->n_vars++] = p->var.text;
            m->vars = v;
        }
        return;
    }
    for (size_t i = 0; i < p->n_items; i++)
        collect_vars(pc, m, p->items[i]);
}

/* Whether p can match no rows at all. */
static bool nullable(const rill__sql_pattern *p)
{
    if (p->quantified && p->min == 0)
        return true;
    switch (p->kind) {
    case RILL_SQL_P_VAR:
        return false;
    case RILL_SQL_P_ALT:
        for (size_t i = 0; i < p->n_items; i++)
            if (nullable(p->items[i]))
                return true;
        return false;
    default:
        for (size_t i = 0; i < p->n_items; i++)
            if (!nullable(p->items[i]))
                return false;
        return true;
    }
}

enum { MAX_PROG = 4096 };

static int put(rel_match *m, int op, int x, int y)
{
    if (m->n_prog == m->cap_prog) {
        m->cap_prog = m->cap_prog ? 2 * m->cap_prog : 32;
        m->prog = rill__xrealloc(m->prog, (size_t)m->cap_prog * sizeof *m->prog);
    }
    m->prog[m->n_prog] = (instr){op, x, y};
    return m->n_prog++;
}

static int compile(plan_ctx *pc, rel_match *m, const rill__sql_pattern *p, bool quant);

/* p once, without its quantifier. */
static int compile_once(plan_ctx *pc, rel_match *m, const rill__sql_pattern *p)
{
    switch (p->kind) {
    case RILL_SQL_P_VAR:
        put(m, I_VAR, var_of(m, p->var.text), 0);
        return 0;
    case RILL_SQL_P_ALT: {
        int *jmps = rill__arena_alloc(pc->a, p->n_items * sizeof *jmps);
        for (size_t i = 0; i < p->n_items; i++) {
            int sp = -1;
            if (i + 1 < p->n_items)
                sp = put(m, I_SPLIT, 0, 0);
            if (sp >= 0)
                m->prog[sp].x = m->n_prog;
            if (compile(pc, m, p->items[i], true))
                return -1;
            jmps[i] = put(m, I_JMP, 0, 0);
            if (sp >= 0)
                m->prog[sp].y = m->n_prog;
        }
        for (size_t i = 0; i < p->n_items; i++)
            m->prog[jmps[i]].x = m->n_prog;
        return 0;
    }
    default:
        for (size_t i = 0; i < p->n_items; i++)
            if (compile(pc, m, p->items[i], true))
                return -1;
        return 0;
    }
}

/* A split preferring body (greedy) or what follows (reluctant): its index; its body is next. */
static int split(rel_match *m, bool reluctant)
{
    int sp = put(m, I_SPLIT, 0, 0);
    if (reluctant)
        m->prog[sp].y = m->n_prog;
    else
        m->prog[sp].x = m->n_prog;
    return sp;
}

static void split_exit(rel_match *m, int sp, bool reluctant)
{
    if (reluctant)
        m->prog[sp].x = m->n_prog;
    else
        m->prog[sp].y = m->n_prog;
}

static int compile(plan_ctx *pc, rel_match *m, const rill__sql_pattern *p, bool quant)
{
    if (m->n_prog > MAX_PROG) {
        FAIL(pc, p->pos, "The pattern is too large (its quantifiers unrolled)");
        return -1;
    }
    if (!quant || !p->quantified)
        return compile_once(pc, m, p);
    if (p->max != 1 && nullable(p) && (p->kind != RILL_SQL_P_VAR)) {
        const rill__sql_pattern *q = p;
        bool inner_null = false;
        for (size_t i = 0; i < q->n_items; i++)
            inner_null |= nullable(q->items[i]);
        if (inner_null || q->kind == RILL_SQL_P_ALT) {
            FAIL(pc, p->pos, "A repeated group that can match no rows is not supported");
            return -1;
        }
    }
    for (int i = 0; i < p->min; i++)
        if (compile_once(pc, m, p) || m->n_prog > MAX_PROG) {
            if (m->n_prog > MAX_PROG)
                FAIL(pc, p->pos, "The pattern is too large (its quantifiers unrolled)");
            return -1;
        }
    if (p->max < 0) {
        int sp = split(m, p->reluctant);
        if (compile_once(pc, m, p))
            return -1;
        put(m, I_JMP, sp, 0);
        split_exit(m, sp, p->reluctant);
        return 0;
    }
    int n_opt = p->max - p->min;
    int *sps = rill__arena_alloc(pc->a, (size_t)(n_opt + 1) * sizeof *sps);
    for (int i = 0; i < n_opt; i++) {
        sps[i] = split(m, p->reluctant);
        if (compile_once(pc, m, p))
            return -1;
        if (m->n_prog > MAX_PROG) {
            FAIL(pc, p->pos, "The pattern is too large (its quantifiers unrolled)");
            return -1;
        }
    }
    for (int i = 0; i < n_opt; i++)
        split_exit(m, sps[i], p->reluctant);
    return 0;
}

/* The last element of a pattern, as Flink judges a greedy ending. */
static const rill__sql_pattern *last_elem(const rill__sql_pattern *p)
{
    while (!p->quantified && (p->kind == RILL_SQL_P_SEQ || p->kind == RILL_SQL_P_GROUP))
        p = p->items[p->n_items - 1];
    return p;
}

static const rill__sql_ltype *plain(rill__arena *a, const rill__sql_ltype *t, bool nullable)
{
    if (t->attr != RILL_SQLA_NONE)
        t = rill__sql_type_with_attr(a, t, RILL_SQLA_NONE);
    return rill__sql_type_with_null(a, t, nullable);
}

static int add_nav(plan_ctx *pc, rel_match *m, nav v)
{
    for (int i = 0; i < m->n_nav; i++) {
        const nav *w = &m->navs[i];
        if (w->kind == v.kind && w->var == v.var && w->col == v.col && w->off == v.off)
            return i;
    }
    if (m->n_nav == m->cap_nav) {
        m->cap_nav = m->cap_nav ? 2 * m->cap_nav : 8;
        nav *n = rill__arena_alloc(pc->a, (size_t)m->cap_nav * sizeof *n);
        if (m->n_nav)
            memcpy(n, m->navs, (size_t)m->n_nav * sizeof *n);
        m->navs = n;
    }
    m->navs[m->n_nav] = v;
    return m->n_nav++;
}

static int col_named(const rel *in, const char *name)
{
    for (int c = 0; c < in->n_cols; c++)
        if (!strcmp(in->cols[c].name, name))
            return c;
    return -1;
}

/* The variable and column a navigation's first argument names: var.col, col, var.*, *. */
static int nav_arg(plan_ctx *pc, rel_match *m, const rill__sql_expr *e, int *var, int *col,
                   bool star_ok)
{
    *var = -1;
    *col = -1;
    if (e->kind == RILL_SQL_E_STAR && star_ok) {
        const rill__sql_name *q = &e->u.star.qualifier;
        if (q->n_parts == 1 && (*var = var_of(m, q->parts[0].text)) < 0) {
            FAIL(pc, e->pos, "Unknown pattern variable '%s'", q->parts[0].text);
            return -1;
        }
        if (q->n_parts > 1) {
            FAIL(pc, e->pos, "Unknown pattern variable");
            return -1;
        }
        return 0;
    }
    if (e->kind != RILL_SQL_E_IDENT || e->u.name.n_parts > 2) {
        FAIL(pc, e->pos,
             "Only a column or a pattern variable's column (A.price) is supported "
             "here yet");
        return -1;
    }
    const rill__sql_name *n = &e->u.name;
    const char *cn = n->parts[n->n_parts - 1].text;
    if (n->n_parts == 2 && (*var = var_of(m, n->parts[0].text)) < 0) {
        FAIL(pc, e->pos, "Unknown pattern variable '%s'", n->parts[0].text);
        return -1;
    }
    if ((*col = col_named(m->in, cn)) < 0) {
        FAIL(pc, e->pos, "Column '%s' not found in any table", cn);
        return -1;
    }
    return 0;
}

static rill__sql_rex *nav_ref(plan_ctx *pc, rel_match *m, nav v, rill__sql_pos pos)
{
    int k = add_nav(pc, m, v);
    rill__sql_rex *x = rill__sql_x_input(pc->a, m->n_in + k, v.type);
    x->pos = pos;
    return x;
}

static bool call_is(const rill__sql_call *c, const char *name)
{
    return c->name.n_parts == 1 && !strcasecmp(c->name.parts[0].text, name);
}

/* The bind hook: navigation, aggregates and var.col in DEFINE and MEASURES. */
static int match_hook(plan_ctx *pc, const rel *in, const rill__sql_expr *e, rill__sql_rex **out)
{
    (void)in;
    rel_match *m = pc->hook_arg;
    rill__arena *a = pc->a;
    if (e->kind == RILL_SQL_E_IDENT && e->u.name.n_parts == 2 &&
        var_of(m, e->u.name.parts[0].text) >= 0) {
        int var, col;
        if (nav_arg(pc, m, e, &var, &col, false))
            return -1;
        if (var == m->defining) {
            *out = rill__sql_x_input(a, col, m->in->cols[col].type);
            (*out)->pos = e->pos;
        } else {
            *out = nav_ref(pc, m,
                           (nav){.kind = NAV_LAST,
                                 .var = var,
                                 .col = col,
                                 .type = plain(a, m->in->cols[col].type, true)},
                           e->pos);
        }
        return 1;
    }
    if (e->kind != RILL_SQL_E_CALL || e->u.call.over)
        return 0;
    const rill__sql_call *c = &e->u.call;
    int kind = -1;
    for (int k = 0; k < 9; k++)
        if (call_is(c, nav_names[k]))
            kind = k;
    if (call_is(c, "NEXT") || call_is(c, "MATCH_PROCTIME") || call_is(c, "CLASSIFIER") ||
        call_is(c, "MATCH_NUMBER") || call_is(c, "FINAL") || call_is(c, "RUNNING")) {
        FAIL(pc, e->pos, "%s is not supported yet in MATCH_RECOGNIZE", c->name.parts[0].text);
        return -1;
    }
    if (kind < 0)
        return 0;
    if (kind == NAV_ROWTIME) {
        if (c->n_args || m->defining >= 0) {
            FAIL(pc, e->pos, "MATCH_ROWTIME() takes no arguments and is for MEASURES");
            return -1;
        }
        *out = nav_ref(pc, m,
                       (nav){.kind = NAV_ROWTIME,
                             .var = -1,
                             .col = m->ord,
                             .type = plain(a, m->in->cols[m->ord].type, false)},
                       e->pos);
        return 1;
    }
    bool is_nav = kind <= NAV_FIRST;
    if (c->n_args < 1 || c->n_args > (is_nav ? 2u : 1u) || (c->quantifier == 1)) {
        FAIL(pc, e->pos, "Wrong arguments to %s in MATCH_RECOGNIZE", nav_names[kind]);
        return -1;
    }
    nav v = {.kind = kind, .var = -1, .col = -1};
    if (nav_arg(pc, m, c->args[0], &v.var, &v.col, kind == NAV_COUNT))
        return -1;
    if (c->n_args == 2) {
        const rill__sql_expr *o = c->args[1];
        if (o->kind != RILL_SQL_E_LITERAL || o->u.lit.kind != RILL_SQL_L_INTEGER) {
            FAIL(pc, o->pos, "The offset of %s must be a non-negative integer literal",
                 nav_names[kind]);
            return -1;
        }
        v.off = atoi(o->u.lit.text);
    }
    if (kind == NAV_PREV) {
        v.off = c->n_args == 2 ? v.off : 1;
        v.var = -1;
        if (v.off > m->lookback)
            m->lookback = v.off;
    }
    if (kind == NAV_COUNT) {
        v.type = rill__sql_type_of(a, RILL_SQLT_BIGINT, false);
    } else {
        const rill__sql_ltype *t = m->in->cols[v.col].type;
        v.type = plain(a, t, true);
        if (kind >= NAV_SUM) {
            bool ok = t->root == RILL_SQLT_BIGINT || t->root == RILL_SQLT_INT ||
                      t->root == RILL_SQLT_SMALLINT || t->root == RILL_SQLT_TINYINT ||
                      t->root == RILL_SQLT_DOUBLE ||
                      ((kind == NAV_MIN || kind == NAV_MAX) && t->root == RILL_SQLT_TIMESTAMP);
            if (!ok) {
                FAIL(pc, e->pos,
                     "%s over this type is not supported yet in MATCH_RECOGNIZE "
                     "(integers and DOUBLE are)",
                     nav_names[kind]);
                return -1;
            }
            v.dbl = t->root == RILL_SQLT_DOUBLE;
        }
    }
    *out = nav_ref(pc, m, v, e->pos);
    return 1;
}

static int bind_all(plan_ctx *pc, rel_match *m, const rel *in)
{
    const rill__sql_match *sp = m->spec;
    m->define = rill__arena_alloc(pc->a, (size_t)m->n_vars * sizeof *m->define);
    memset(m->define, 0, (size_t)m->n_vars * sizeof *m->define);
    pc->bind_hook = match_hook;
    pc->hook_arg = m;
    agg_ctx *agg = pc->agg;
    pc->agg = NULL;
    int rc = -1;
    for (size_t i = 0; i < sp->n_defines; i++) {
        const rill__sql_define *d = &sp->defines[i];
        int v = var_of(m, d->var.text);
        if (v < 0) {
            FAIL(pc, d->var.pos, "Pattern variable '%s' is defined but not in the pattern",
                 d->var.text);
            goto out;
        }
        m->defining = v;
        rill__sql_rex *x = rill__sql_bind(pc, in, d->cond);
        if (!x)
            goto out;
        if (x->type->root != RILL_SQLT_BOOLEAN) {
            FAIL(pc, d->cond->pos, "The DEFINE of '%s' is not a condition", d->var.text);
            goto out;
        }
        m->define[v] = x;
    }
    m->defining = -1;
    m->n_meas = (int)sp->n_measures;
    m->meas = rill__arena_alloc(pc->a, (size_t)(m->n_meas + 1) * sizeof *m->meas);
    for (int i = 0; i < m->n_meas; i++)
        if (!(m->meas[i] = rill__sql_bind(pc, in, sp->measures[i].expr)))
            goto out;
    rc = 0;
out:
    pc->bind_hook = NULL;
    pc->hook_arg = NULL;
    pc->agg = agg;
    return rc;
}

rel *rill__sql_plan_match(plan_ctx *pc, const rill__sql_from *f,
                          rel *(*plan_from)(plan_ctx *, const rill__sql_from *))
{
    rill__arena *a = pc->a;
    const rill__sql_match *sp = &f->u.match.spec;
    rel *in = plan_from(pc, f->u.match.input);
    if (!in)
        return NULL;
    if (in->updates)
        return ERR(pc, f->pos, "Match Recognize doesn't support consuming update changes");
    if (sp->rows_per_match == 2)
        return ERR(pc, f->pos, "ALL ROWS PER MATCH is not supported yet (ONE ROW PER MATCH is)");
    rel_match *m = rill__arena_alloc(pc->a, sizeof *m);
    memset(m, 0, sizeof *m);
    m->spec = sp;
    m->in = in;
    m->n_in = in->n_cols;
    m->defining = -1;
    /* ORDER BY a rowtime attribute, ascending */
    if (sp->n_order < 1)
        return ERR(pc, f->pos, "You must specify either rowtime or proctime for order by");
    rill__sql_rex *o = rill__sql_bind(pc, in, sp->order[0].expr);
    if (!o)
        return NULL;
    if (o->op != RILL_SQLX_INPUT || o->type->attr == RILL_SQLA_NONE)
        return ERR(pc, sp->order[0].expr->pos,
                   "You must specify either rowtime or proctime for order by as the first one");
    if (o->type->attr == RILL_SQLA_PROCTIME)
        return ERR(pc, sp->order[0].expr->pos,
                   "ORDER BY a processing-time attribute is not "
                   "supported yet in MATCH_RECOGNIZE");
    if (sp->order[0].desc)
        return ERR(pc, sp->order[0].expr->pos,
                   "Primary sort order of a streaming table must be ascending on time");
    m->ord = o->input;
    m->n_ord2 = (int)sp->n_order - 1;
    m->ord2 = rill__arena_alloc(a, (size_t)(m->n_ord2 + 1) * sizeof *m->ord2);
    m->ord2_cmp = rill__arena_alloc(a, (size_t)(m->n_ord2 + 1) * sizeof *m->ord2_cmp);
    m->ord2_desc = rill__arena_alloc(a, (size_t)(m->n_ord2 + 1));
    m->ord2_nulls_first = rill__arena_alloc(a, (size_t)(m->n_ord2 + 1));
    for (int i = 0; i < m->n_ord2; i++) {
        const rill__sql_order *so = &sp->order[i + 1];
        rill__sql_rex *x = rill__sql_bind(pc, in, so->expr);
        if (!x)
            return NULL;
        const rill__sql_ltype *t = x->type;
        if (x->op != RILL_SQLX_INPUT || (t->root == RILL_SQLT_DECIMAL && t->precision > 18))
            return ERR(pc, so->expr->pos,
                       "ORDER BY in MATCH_RECOGNIZE takes columns (a DECIMAL "
                       "wider than 18 digits is not supported yet)");
        m->ord2[i] = x->input;
        m->ord2_cmp[i] = rill__sql_is_character(t) || rill__sql_is_binary(t) ? CMP_BYTES
                         : t->root == RILL_SQLT_DOUBLE                       ? CMP_DOUBLE
                         : t->root == RILL_SQLT_FLOAT                        ? CMP_FLOAT
                                                                             : CMP_INT;
        m->ord2_desc[i] = so->desc;
        /* NULL is the smallest value: first ascending, last descending (Flink's default) */
        m->ord2_nulls_first[i] = so->nulls ? so->nulls == 1 : !so->desc;
    }
    m->n_part = (int)sp->n_partition;
    m->part = rill__arena_alloc(a, (size_t)(m->n_part + 1) * sizeof *m->part);
    for (int i = 0; i < m->n_part; i++) {
        rill__sql_rex *x = rill__sql_bind(pc, in, sp->partition[i]);
        if (!x)
            return NULL;
        if (x->op != RILL_SQLX_INPUT)
            return ERR(pc, sp->partition[i]->pos, "PARTITION BY takes columns");
        m->part[i] = x->input;
    }
    collect_vars(pc, m, sp->pattern);
    const rill__sql_pattern *last = last_elem(sp->pattern);
    if (last->quantified && !last->reluctant && last->min != last->max)
        return ERR(pc, last->pos,
                   "Greedy quantifiers are not allowed as the last element of a Pattern yet. "
                   "Finish your pattern with either a simple variable or reluctant quantifier.");
    m->skip = sp->skip;
    if (sp->skip == RILL_SQL_SKIP_TO_FIRST || sp->skip == RILL_SQL_SKIP_TO_LAST) {
        if ((m->skip_var = var_of(m, sp->skip_var.text)) < 0)
            return ERR(pc, sp->skip_var.pos, "Unknown pattern variable '%s' in AFTER MATCH SKIP",
                       sp->skip_var.text);
    }
    if (sp->within && (m->within = rill__sql_interval_ms(pc, sp->within)) < 0)
        return NULL;
    if (compile(pc, m, sp->pattern, true)) {
        free(m->prog);
        return NULL;
    }
    put(m, I_MATCH, 0, 0);
    rel_match *copy_prog = m; /* the program lives in the arena, not on the heap */
    instr *pg = rill__arena_alloc(a, (size_t)m->n_prog * sizeof *pg);
    memcpy(pg, m->prog, (size_t)m->n_prog * sizeof *pg);
    free(copy_prog->prog);
    m->prog = pg;
    if (bind_all(pc, m, in))
        return NULL;
    /* the relation: the partition's columns, then the measures */
    int n = m->n_part + m->n_meas;
    rel *r = rill__arena_alloc(a, sizeof *r);
    memset(r, 0, sizeof *r);
    r->kind = REL_MATCH;
    r->input = in;
    r->n_cols = n;
    r->cols = rill__arena_alloc(a, (size_t)(n + 1) * sizeof *r->cols);
    const char *qual = f->alias ? f->alias->text : NULL;
    for (int i = 0; i < m->n_part; i++)
        r->cols[i] = (rel_col){
            in->cols[m->part[i]].name,
            plain(a, in->cols[m->part[i]].type, in->cols[m->part[i]].type->nullable), qual, false};
    for (int i = 0; i < m->n_meas; i++)
        r->cols[m->n_part + i] =
            (rel_col){sp->measures[i].alias.text,
                      plain(a, m->meas[i]->type, m->meas[i]->type->nullable), qual, false};
    r->match = m;
    return r;
}

/* ---- EXPLAIN and digests ------------------------------------------------------------------- */

static void put_pattern(rill__buf *b, const rill__sql_pattern *p)
{
    switch (p->kind) {
    case RILL_SQL_P_VAR:
        rill__buf_printf(b, "%s", p->var.text);
        break;
    case RILL_SQL_P_GROUP:
        rill__buf_putc(b, '(');
        put_pattern(b, p->items[0]);
        rill__buf_putc(b, ')');
        break;
    default:
        if (p->quantified)
            rill__buf_putc(b, '(');
        for (size_t i = 0; i < p->n_items; i++) {
            if (i)
                rill__buf_printf(b, "%s", p->kind == RILL_SQL_P_ALT ? " | " : " ");
            put_pattern(b, p->items[i]);
        }
        if (p->quantified)
            rill__buf_putc(b, ')');
    }
    if (!p->quantified)
        return;
    if (p->quant_op != '{')
        rill__buf_putc(b, p->quant_op);
    else if (p->max == p->min)
        rill__buf_printf(b, "{%d}", p->min);
    else if (p->max < 0)
        rill__buf_printf(b, "{%d,}", p->min);
    else
        rill__buf_printf(b, "{%d,%d}", p->min, p->max);
    if (p->reluctant)
        rill__buf_putc(b, '?');
}

static const char *skip_text(const rill__sql_match *sp, char *buf, size_t cap)
{
    switch (sp->skip) {
    case RILL_SQL_SKIP_TO_NEXT_ROW:
        return "SKIP TO NEXT ROW";
    case RILL_SQL_SKIP_TO_FIRST:
        snprintf(buf, cap, "SKIP TO FIRST %s", sp->skip_var.text);
        return buf;
    case RILL_SQL_SKIP_TO_LAST:
        snprintf(buf, cap, "SKIP TO LAST %s", sp->skip_var.text);
        return buf;
    default:
        return "SKIP PAST LAST ROW";
    }
}

void rill__sql_explain_match(rill__buf *b, const rel *r, int par)
{
    const rel_match *m = r->match;
    const rill__sql_match *sp = m->spec;
    const rel *in = r->input;
    rill__buf_printf(b, "Match(partitionBy=[");
    for (int i = 0; i < m->n_part; i++)
        rill__buf_printf(b, "%s%s", i ? ", " : "", in->cols[m->part[i]].name);
    rill__buf_printf(b, "], orderBy=[%s ASC", in->cols[m->ord].name);
    for (int i = 0; i < m->n_ord2; i++)
        rill__buf_printf(b, ", %s %s", in->cols[m->ord2[i]].name, m->ord2_desc[i] ? "DESC" : "ASC");
    rill__buf_printf(b, "], measures=[");
    for (int i = 0; i < m->n_meas; i++) {
        rill__buf_printf(b, "%sFINAL(", i ? ", " : "");
        rill__sql_print_expr(b, sp->measures[i].expr);
        rill__buf_printf(b, ") AS %s", sp->measures[i].alias.text);
    }
    char sk[300];
    rill__buf_printf(b, "], rowsPerMatch=[ONE ROW PER MATCH], after=[%s], pattern=[",
                     skip_text(sp, sk, sizeof sk));
    put_pattern(b, sp->pattern);
    rill__buf_printf(b, "]");
    if (m->within)
        rill__buf_printf(b, ", within=[%lld ms]", (long long)m->within);
    rill__buf_printf(b, ", define=[");
    for (size_t i = 0; i < sp->n_defines; i++) {
        rill__buf_printf(b, "%s%s AS ", i ? ", " : "", sp->defines[i].var.text);
        rill__sql_print_expr(b, sp->defines[i].cond);
    }
    rill__buf_printf(b,
                     "], parallelism=[%d], state=[per partition: the rows the watermark has "
                     "not passed, and the rows from the earliest one a match may still "
                     "start at]",
                     par);
}

void rill__sql_match_digest(rill__buf *b, const rel *r)
{
    const rel_match *m = r->match;
    rill__buf_printf(b, " match ");
    for (int i = 0; i < m->n_part; i++)
        rill__buf_printf(b, "%d,", m->part[i]);
    rill__buf_printf(b, " o%d", m->ord);
    for (int i = 0; i < m->n_ord2; i++)
        rill__buf_printf(b, ",%d%s%s", m->ord2[i], m->ord2_desc[i] ? "d" : "",
                         m->ord2_nulls_first[i] ? "n" : "");
    rill__buf_putc(b, ' ');
    put_pattern(b, m->spec->pattern);
    char sk[300];
    rill__buf_printf(b, " %s w%lld", skip_text(m->spec, sk, sizeof sk), (long long)m->within);
    for (size_t i = 0; i < m->spec->n_defines; i++) {
        rill__buf_printf(b, " d%s:", m->spec->defines[i].var.text);
        rill__sql_print_expr(b, m->spec->defines[i].cond);
    }
    for (int i = 0; i < m->n_meas; i++) {
        rill__buf_printf(b, " m:");
        rill__sql_print_expr(b, m->spec->measures[i].expr);
    }
}

static void mark(const rill__sql_rex *x, int n_in, bool *in_used)
{
    if (!x)
        return;
    if (x->op == RILL_SQLX_INPUT && x->input < n_in)
        in_used[x->input] = true;
    for (int i = 0; i < x->n_args; i++)
        mark(x->args[i], n_in, in_used);
}

void rill__sql_match_needs(const rel *r, bool *in_used)
{
    const rel_match *m = r->match;
    for (int i = 0; i < m->n_part; i++)
        in_used[m->part[i]] = true;
    in_used[m->ord] = true;
    for (int k = 0; k < m->n_nav; k++)
        if (m->navs[k].col >= 0)
            in_used[m->navs[k].col] = true;
    for (int v = 0; v < m->n_vars; v++)
        mark(m->define[v], m->n_in, in_used);
    for (int i = 0; i < m->n_meas; i++)
        mark(m->meas[i], m->n_in, in_used);
}

/* ---- the operator -------------------------------------------------------------------------- */

typedef struct match_cfg {
    const rel_match *m;
    int n_key, n_op; /* the operator's rows: the key's columns, then the input's */
    rill_type_info *op_t, *ev_t, *out_t;
    bool *op_null, *ev_null, *out_null;
    int n_ev, n_out;
    rill__sql_rex **outs; /* the output: partition columns and measures, over the eval row */
    rill_state_desc *pend, *win;
    const char *text;
} match_cfg;

typedef struct match_local {
    rill_schema *op_s, *ev_s, *out_s, *bool_s;
    rill_batch *wb, *ev, *verdict, *out;
    uint32_t wb_cap;
    rill__sql_prog **defs, *meas;
    rill__err err;
    rill__buf pend, win, keep, rest;
    int64_t *ts;
    size_t *at;
    int *assign;
    size_t cap;
    int *stack;
    size_t cap_stack;
} match_local;

static rill_schema *schema_of(int n, const rill_type_info *t, const bool *null)
{
    rill_schema *s = rill_schema_new();
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "c%d", i);
        rill_schema_add_typed(s, name, t[i], null[i]);
    }
    return s;
}

static void match_close(rill_ctx *ctx)
{
    const match_cfg *mc = rill_ctx_user(ctx);
    match_local *ml = rill_ctx_local(ctx);
    if (!ml)
        return;
    rill_schema_free(ml->op_s);
    rill_schema_free(ml->ev_s);
    rill_schema_free(ml->out_s);
    rill_schema_free(ml->bool_s);
    rill__batch_unref(ml->wb);
    rill__batch_unref(ml->ev);
    rill__batch_unref(ml->verdict);
    rill__batch_unref(ml->out);
    for (int i = 0; ml->defs && i < mc->m->n_vars; i++)
        rill__sql_prog_free(ml->defs[i]);
    free(ml->defs);
    rill__sql_prog_free(ml->meas);
    rill__buf_free(&ml->pend);
    rill__buf_free(&ml->win);
    rill__buf_free(&ml->keep);
    rill__buf_free(&ml->rest);
    free(ml->ts);
    free(ml->at);
    free(ml->assign);
    free(ml->stack);
    free(ml);
    rill_ctx_set_local(ctx, NULL);
}

static int match_open(rill_ctx *ctx)
{
    const match_cfg *mc = rill_ctx_user(ctx);
    const rel_match *m = mc->m;
    match_local *ml = rill__xcalloc(1, sizeof *ml);
    rill_ctx_set_local(ctx, ml);
    ml->op_s = schema_of(mc->n_op, mc->op_t, mc->op_null);
    ml->ev_s = schema_of(mc->n_ev, mc->ev_t, mc->ev_null);
    ml->out_s = schema_of(mc->n_out, mc->out_t, mc->out_null);
    ml->bool_s = rill_schema_new();
    rill_schema_add_typed(ml->bool_s, "c0", (rill_type_info){.type = RILL_T_BOOL}, true);
    ml->ev = rill__batch_new(ml->ev_s, 1);
    ml->verdict = rill__batch_new(ml->bool_s, 1);
    ml->out = rill__batch_new(ml->out_s, 1);
    ml->defs = rill__xcalloc((size_t)m->n_vars + 1, sizeof *ml->defs);
    for (int v = 0; v < m->n_vars; v++) {
        if (!m->define[v])
            continue;
        rill__sql_rex *outs[1] = {m->define[v]};
        if (rill__sql_prog_new(NULL, 1, outs, mc->text, &ml->defs[v], &ml->err))
            return rill_ctx_fail(ctx, "MATCH_RECOGNIZE DEFINE: %s", ml->err.msg);
    }
    if (rill__sql_prog_new(NULL, mc->n_out, mc->outs, mc->text, &ml->meas, &ml->err))
        return rill_ctx_fail(ctx, "MATCH_RECOGNIZE MEASURES: %s", ml->err.msg);
    return 0;
}

/* A row kept in state: its time, its encoding's length, its encoding. */
static void put_entry(rill__buf *b, int64_t ts, const void *enc, uint32_t len)
{
    rill__buf_append(b, &ts, 8);
    rill__buf_append(b, &len, 4);
    rill__buf_append(b, enc, len);
}

/* The key's value of st copied into b (emptied first; left empty when there is none). 0 or
 * negative. */
static int get_copy(rill_ctx *ctx, rill_state_desc *st, rill__buf *b)
{
    const void *p;
    size_t len;
    int rc = rill_value_get_bytes(ctx, st, &p, &len);
    if (rc < 0)
        return rc;
    b->len = 0;
    if (rc == 1)
        rill__buf_append(b, p, len);
    return 0;
}

static int match_fn(rill_ctx *ctx, const rill_row *in)
{
    const match_cfg *mc = rill_ctx_user(ctx);
    match_local *ml = rill_ctx_local(ctx);
    if (rill_row_kind(in) != RILL_ROW_INSERT)
        return 0; /* planned over an append-only input */
    int ord = mc->n_key + mc->m->ord;
    if (rill_row_is_null(in, ord))
        return 0;
    int64_t ts = (int64_t)in->v[ord];
    if (ts <= rill_ctx_watermark(ctx))
        return 0; /* late: the rows before it were matched already */
    int rc = get_copy(ctx, mc->pend, &ml->pend);
    if (rc < 0)
        return rc;
    ml->keep.len = 0;
    rill__row_encode(in, &ml->keep);
    put_entry(&ml->pend, ts, ml->keep.data, (uint32_t)ml->keep.len);
    if ((rc = rill_value_set_bytes(ctx, mc->pend, ml->pend.data, ml->pend.len)) < 0)
        return rc;
    return rill_timer_event(ctx, ts);
}

typedef struct entry {
    int64_t ts;
    size_t off; /* of the encoding, in its buffer */
    uint32_t len;
    size_t seq;
    const char *base;
} entry;

static int cmp_entry(const void *x, const void *y)
{
    const entry *a = x, *b = y;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static size_t parse_entries(const char *p, size_t len, entry **v, size_t *cap, size_t n)
{
    for (size_t off = 0; off + 12 <= len;) {
        rill__grow((void **)v, cap, n + 1, sizeof **v);
        entry *e = &(*v)[n];
        memcpy(&e->ts, p + off, 8);
        memcpy(&e->len, p + off + 8, 4);
        e->off = off + 12;
        e->seq = n;
        e->base = p;
        off += 12 + e->len;
        n++;
    }
    return n;
}

/* The matching over one key's released rows (decoded in wb). */
typedef struct run {
    rill_ctx *ctx;
    const match_cfg *mc;
    match_local *ml;
    size_t n;   /* rows in wb */
    int64_t wm; /* the watermark: every row at or before it is in wb */
} run;

static rill_row wrow(run *r, size_t i)
{
    return rill__batch_row(r->ml->wb, (uint32_t)i);
}

/* Fills the eval row for row i of the match started at s (assign[s..i] set). */
static int fill_eval(run *r, size_t s, size_t i)
{
    const match_cfg *mc = r->mc;
    const rel_match *m = mc->m;
    match_local *ml = r->ml;
    rill__batch_clear(ml->ev);
    rill_row ev = rill__batch_append(ml->ev);
    rill_row cur = wrow(r, i);
    int rc = rill__row_copy_fields(&ev, 0, &cur, mc->n_key, m->n_in);
    if (rc)
        return rc;
    for (int k = 0; k < m->n_nav; k++) {
        const nav *v = &m->navs[k];
        int f = m->n_in + k;
        if (v->kind == NAV_ROWTIME) {
            ev.v[f] = (uint64_t)ml->ts[i];
            ev.nulls[f >> 6] &= ~(UINT64_C(1) << (f & 63));
            continue;
        }
        if (v->kind == NAV_PREV) {
            if ((size_t)v->off <= i) {
                rill_row src = wrow(r, i - (size_t)v->off);
                if ((rc = rill__row_copy_fields(&ev, f, &src, mc->n_key + v->col, 1)))
                    return rc;
            }
            continue;
        }
        if (v->kind == NAV_LAST || v->kind == NAV_FIRST) {
            int seen = 0;
            for (size_t j = 0; j <= i - s; j++) {
                size_t p = v->kind == NAV_LAST ? i - j : s + j;
                if (v->var >= 0 && ml->assign[p] != v->var)
                    continue;
                if (seen++ == v->off) {
                    rill_row src = wrow(r, p);
                    if ((rc = rill__row_copy_fields(&ev, f, &src, mc->n_key + v->col, 1)))
                        return rc;
                    break;
                }
            }
            continue;
        }
        int64_t cnt = 0, isum = 0, imin = 0, imax = 0;
        double dsum = 0, dmin = 0, dmax = 0;
        for (size_t p = s; p <= i; p++) {
            if (v->var >= 0 && ml->assign[p] != v->var)
                continue;
            rill_row src = wrow(r, p);
            if (v->col >= 0 && rill_row_is_null(&src, mc->n_key + v->col))
                continue;
            uint64_t slot = v->col >= 0 ? src.v[mc->n_key + v->col] : 0;
            int64_t x = (int64_t)slot;
            double d;
            memcpy(&d, &slot, 8);
            if (!cnt) {
                imin = imax = x;
                dmin = dmax = d;
            }
            cnt++;
            isum += x;
            dsum += d;
            imin = RILL_MIN(imin, x);
            imax = RILL_MAX(imax, x);
            dmin = d < dmin ? d : dmin;
            dmax = d > dmax ? d : dmax;
        }
        if (v->kind == NAV_COUNT) {
            rill_row_set_i64(&ev, f, cnt);
            continue;
        }
        if (!cnt)
            continue; /* NULL */
        if (v->dbl) {
            double d = v->kind == NAV_SUM   ? dsum
                       : v->kind == NAV_AVG ? dsum / (double)cnt
                       : v->kind == NAV_MIN ? dmin
                                            : dmax;
            rill_row_set_f64(&ev, f, d);
        } else {
            int64_t x = v->kind == NAV_SUM   ? isum
                        : v->kind == NAV_AVG ? isum / cnt
                        : v->kind == NAV_MIN ? imin
                                             : imax;
            rill_row_set_i64(&ev, f, x);
        }
    }
    return 0;
}

/* Whether row i may be variable v of the match started at s: 1, 0, or negative. */
static int test_row(run *r, size_t s, size_t i, int v)
{
    match_local *ml = r->ml;
    ml->assign[i] = v;
    if (!ml->defs[v])
        return 1;
    int rc = fill_eval(r, s, i);
    if (rc)
        return rc;
    rill__batch_clear(ml->verdict);
    if (rill__sql_prog_run(ml->defs[v], ml->ev, ml->verdict, &ml->err))
        return rill_ctx_fail(r->ctx, "%s", ml->err.msg);
    rill_row x = rill__batch_row(ml->verdict, 0);
    return !rill_row_is_null(&x, 0) && x.v[0] != 0;
}

enum { R_FAIL, R_MATCH, R_WAIT };
#define MAX_STEPS INT64_C(20000000)

/* Tries the pattern at row s: R_MATCH (its end in *end, the rows' variables in assign), R_FAIL,
 * R_WAIT (the preferred path needs a row not released yet), or negative. */
static int search(run *r, size_t s, size_t *end)
{
    const rel_match *m = r->mc->m;
    match_local *ml = r->ml;
    size_t top = 0;
    int pc = 0;
    size_t i = s;
    /* backtracking over overlapping alternatives can take exponential time: a bound turns a
     * job that would hang into one that fails saying why */
    for (int64_t steps = 0;; steps++) {
        if (steps > MAX_STEPS)
            return rill_ctx_fail(r->ctx,
                                 "MATCH_RECOGNIZE: more than %lld steps trying the "
                                 "pattern at one row (its alternatives and quantifiers "
                                 "overlap too much)",
                                 (long long)MAX_STEPS);
        const instr *ins = &m->prog[pc];
        bool fail = false;
        switch (ins->op) {
        case I_VAR:
            if (i == r->n) {
                /* a row to come is after the watermark: past WITHIN, or never (the end) */
                if (r->wm == RILL_TS_MAX || (m->within && r->wm - ml->ts[s] >= m->within - 1))
                    fail = true;
                else
                    return R_WAIT;
            } else if (m->within && ml->ts[i] - ml->ts[s] >= m->within) {
                fail = true;
            } else {
                int rc = test_row(r, s, i, ins->x);
                if (rc < 0)
                    return rc;
                if (rc) {
                    i++;
                    pc++;
                } else {
                    fail = true;
                }
            }
            break;
        case I_SPLIT:
            if (2 * top + 2 > ml->cap_stack)
                rill__grow((void **)&ml->stack, &ml->cap_stack, 2 * top + 2, sizeof(int));
            ml->stack[2 * top] = ins->y;
            ml->stack[2 * top + 1] = (int)(i - s);
            top++;
            pc = ins->x;
            break;
        case I_JMP:
            pc = ins->x;
            break;
        default:
            if (i == s) { /* an empty match: none */
                fail = true;
                break;
            }
            *end = i;
            return R_MATCH;
        }
        if (fail) {
            if (!top)
                return R_FAIL;
            top--;
            pc = ml->stack[2 * top];
            i = s + (size_t)ml->stack[2 * top + 1];
        }
    }
}

static int emit_match(run *r, size_t s, size_t e)
{
    const match_cfg *mc = r->mc;
    match_local *ml = r->ml;
    int rc = fill_eval(r, s, e - 1);
    if (rc)
        return rc;
    rill__batch_clear(ml->out);
    if (rill__sql_prog_run(ml->meas, ml->ev, ml->out, &ml->err))
        return rill_ctx_fail(r->ctx, "%s", ml->err.msg);
    rill_row o, src = rill__batch_row(ml->out, 0);
    if ((rc = rill_emit(r->ctx, &o)) < 0)
        return rc;
    return rill__row_copy_fields(&o, 0, &src, 0, mc->n_out);
}

typedef struct sort_ctx {
    const match_cfg *mc;
    rill_batch *wb;
    const entry *ev;
} sort_ctx;

/* Two released rows (their places in wb) by time, the secondary order, then arrival. */
static int cmp_released(const void *x, const void *y, void *arg)
{
    const sort_ctx *sc = arg;
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    if (sc->ev[i].ts != sc->ev[j].ts)
        return sc->ev[i].ts < sc->ev[j].ts ? -1 : 1;
    const rel_match *m = sc->mc->m;
    rill_row a = rill__batch_row(sc->wb, (uint32_t)i), b = rill__batch_row(sc->wb, (uint32_t)j);
    for (int k = 0; k < m->n_ord2; k++) {
        int f = sc->mc->n_key + m->ord2[k];
        bool an = rill_row_is_null(&a, f), bn = rill_row_is_null(&b, f);
        if (an || bn) {
            if (an && bn)
                continue;
            return an == m->ord2_nulls_first[k] ? -1 : 1;
        }
        int c;
        if (m->ord2_cmp[k] == CMP_BYTES) {
            size_t la, lb;
            const char *pa = rill__batch_str(sc->wb, a.v[f], &la);
            const char *pb = rill__batch_str(sc->wb, b.v[f], &lb);
            c = memcmp(pa, pb, RILL_MIN(la, lb));
            c = c ? (c > 0) - (c < 0) : (la > lb) - (la < lb);
        } else if (m->ord2_cmp[k] == CMP_DOUBLE) {
            double da, db;
            memcpy(&da, &a.v[f], 8);
            memcpy(&db, &b.v[f], 8);
            c = (da > db) - (da < db);
        } else if (m->ord2_cmp[k] == CMP_FLOAT) {
            uint32_t ua = (uint32_t)a.v[f], ub = (uint32_t)b.v[f];
            float fa, fb;
            memcpy(&fa, &ua, 4);
            memcpy(&fb, &ub, 4);
            c = (fa > fb) - (fa < fb);
        } else {
            int64_t ia = (int64_t)a.v[f], ib = (int64_t)b.v[f];
            c = (ia > ib) - (ia < ib);
        }
        if (c)
            return m->ord2_desc[k] ? -c : c;
    }
    return sc->ev[i].seq < sc->ev[j].seq ? -1 : sc->ev[i].seq > sc->ev[j].seq;
}

static int match_timer(rill_ctx *ctx, int64_t t, rill_time_domain domain)
{
    (void)t;
    (void)domain;
    const match_cfg *mc = rill_ctx_user(ctx);
    const rel_match *m = mc->m;
    match_local *ml = rill_ctx_local(ctx);
    int64_t wm = rill_ctx_watermark(ctx);
    int rc = get_copy(ctx, mc->pend, &ml->pend);
    if (rc < 0 || (rc = get_copy(ctx, mc->win, &ml->win)) < 0)
        return rc;
    /* the window: a start (rows before it kept for PREV), then its rows; the released rows
     * after them in time order (in arrival order at one time) */
    /* its header: the start (low 32 bits), and bit 32 when a timer at the end of input is set */
    int64_t hdr = 0;
    if (ml->win.len >= 8)
        memcpy(&hdr, ml->win.data, 8);
    int64_t start0 = hdr & 0xffffffff;
    bool end_timer = hdr >> 32 & 1;
    entry *ev = NULL, *pv = NULL;
    size_t cap_e = 0, cap_p = 0;
    size_t n =
        ml->win.len >= 8 ? parse_entries(ml->win.data + 8, ml->win.len - 8, &ev, &cap_e, 0) : 0;
    size_t n_old = n;
    size_t np = parse_entries(ml->pend.data, ml->pend.len, &pv, &cap_p, 0);
    if (np > 1)
        qsort(pv, np, sizeof *pv, cmp_entry);
    ml->rest.len = 0;
    for (size_t k = 0; k < np; k++) {
        if (pv[k].ts <= wm) {
            rill__grow((void **)&ev, &cap_e, n + 1, sizeof *ev);
            ev[n++] = pv[k];
        } else {
            put_entry(&ml->rest, pv[k].ts, pv[k].base + pv[k].off, pv[k].len);
        }
    }
    free(pv);
    rc = 0;
    if (n == n_old && !m->within && wm != RILL_TS_MAX)
        goto done; /* nothing new to match */
    /* decode the window */
    if (n > ml->wb_cap || !ml->wb) {
        rill__batch_unref(ml->wb);
        ml->wb_cap = (uint32_t)RILL_MAX(n, 64);
        ml->wb = rill__batch_new(ml->op_s, ml->wb_cap);
    }
    rill__batch_clear(ml->wb);
    if (n > ml->cap) {
        ml->cap = n;
        ml->ts = rill__xrealloc(ml->ts, n * sizeof *ml->ts);
        ml->assign = rill__xrealloc(ml->assign, n * sizeof *ml->assign);
    }
    for (size_t k = 0; k < n; k++) {
        rill_row row = rill__batch_append(ml->wb);
        if ((rc = rill__row_decode(&row, ev[k].base + ev[k].off)) != 0)
            goto done;
        ml->ts[k] = ev[k].ts;
        ml->assign[k] = -1;
    }
    if (m->n_ord2 && n - n_old > 1) { /* rows of one time: by the secondary order */
        sort_ctx sc = {mc, ml->wb, ev};
        size_t nn = n - n_old;
        size_t *idx = rill__xcalloc(nn, sizeof *idx);
        entry *tmp = rill__xcalloc(nn, sizeof *tmp);
        for (size_t k = 0; k < nn; k++)
            idx[k] = n_old + k;
        qsort_r(idx, nn, sizeof *idx, cmp_released, &sc);
        for (size_t k = 0; k < nn; k++)
            tmp[k] = ev[idx[k]];
        memcpy(ev + n_old, tmp, nn * sizeof *tmp);
        free(idx);
        free(tmp);
        rill__batch_clear(ml->wb);
        for (size_t k = 0; k < n && rc == 0; k++) {
            rill_row row = rill__batch_append(ml->wb);
            rc = rill__row_decode(&row, ev[k].base + ev[k].off);
            ml->ts[k] = ev[k].ts;
        }
        if (rc)
            goto done;
    }
    run r = {ctx, mc, ml, n, wm};
    size_t s = (size_t)start0;
    while (s < n) {
        size_t e = 0;
        rc = search(&r, s, &e);
        if (rc < 0)
            goto done;
        if (rc == R_WAIT)
            break;
        if (rc == R_FAIL) {
            s++;
            continue;
        }
        rc = emit_match(&r, s, e);
        if (rc < 0)
            goto done;
        size_t next = s + 1;
        switch (m->skip) {
        case RILL_SQL_SKIP_TO_NEXT_ROW:
            break;
        case RILL_SQL_SKIP_TO_FIRST:
            for (size_t q = s; q < e; q++)
                if (ml->assign[q] == m->skip_var) {
                    next = q;
                    break;
                }
            break;
        case RILL_SQL_SKIP_TO_LAST:
            for (size_t q = e; q-- > s;)
                if (ml->assign[q] == m->skip_var) {
                    next = q;
                    break;
                }
            break;
        default:
            next = e;
        }
        s = next > s ? next : s + 1; /* a skip back to the match's start would loop */
    }
    rc = 0;
    if (s < n && m->within && ml->ts[s] + m->within - 1 > wm)
        rc = rill_timer_event(ctx, ml->ts[s] + m->within - 1); /* when it may time out */
    /* a path waiting for rows ends with the input: the rows it waits for never come (a timer
     * then tries again); none waiting, the timer goes (one per key would stay till the end) */
    if (rc >= 0 && s < n && wm != RILL_TS_MAX && !end_timer) {
        rc = rill_timer_event(ctx, RILL_TS_MAX);
        end_timer = true;
    } else if (rc >= 0 && s >= n && end_timer) {
        rc = rill_timer_event_delete(ctx, RILL_TS_MAX);
        end_timer = false;
    }
    /* keep the rows from the start on, and lookback rows before it */
    size_t from = s > (size_t)m->lookback ? s - (size_t)m->lookback : 0;
    ml->keep.len = 0;
    int64_t st = (int64_t)(s - from) | (int64_t)end_timer << 32;
    rill__buf_append(&ml->keep, &st, 8);
    for (size_t k = from; k < n; k++)
        put_entry(&ml->keep, ev[k].ts, ev[k].base + ev[k].off, ev[k].len);
    if (rc < 0)
        goto done;
    if (ml->keep.len > 8 && s < n)
        rc = rill_value_set_bytes(ctx, mc->win, ml->keep.data, ml->keep.len);
    else if (ml->keep.len > 8)
        rc = rill_value_set_bytes(ctx, mc->win, ml->keep.data, ml->keep.len);
    else
        rc = rill_value_clear(ctx, mc->win);
done:
    free(ev);
    if (rc < 0)
        return rc;
    if (ml->rest.len)
        rc = rill_value_set_bytes(ctx, mc->pend, ml->rest.data, ml->rest.len);
    else
        rc = rill_value_clear(ctx, mc->pend);
    return rc < 0 ? rc : 0;
}

static void types_of(rill__arena *a, int n, const rel_col *cols, rill_type_info **t, bool **null)
{
    *t = rill__arena_alloc(a, (size_t)(n + 1) * sizeof **t);
    *null = rill__arena_alloc(a, (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        (*t)[i] = rill__sql_slot_of(cols[i].type);
        (*null)[i] = cols[i].type->nullable;
    }
}

rill_stream *rill__sql_build_match(plan_ctx *pc, rel *r)
{
    rill__arena *a = pc->a;
    const rel_match *m = r->match;
    const rel *in = r->input;
    int n_key = RILL_MAX(m->n_part, 1), n = n_key + in->n_cols;
    const rel_col *cols;
    rill_keyed_stream *ks = rill__sql_partitioned_input(pc, in, m->n_part, m->part, NULL, &cols);
    if (!ks)
        return NULL;
    match_cfg *mc = rill__arena_alloc(a, sizeof *mc);
    memset(mc, 0, sizeof *mc);
    mc->m = m;
    mc->n_key = n_key;
    mc->n_op = n;
    mc->text = pc->text;
    types_of(a, n, cols, &mc->op_t, &mc->op_null);
    mc->n_ev = m->n_in + m->n_nav;
    rel_col *ev = rill__arena_alloc(a, (size_t)(mc->n_ev + 1) * sizeof *ev);
    for (int i = 0; i < m->n_in; i++)
        ev[i] = in->cols[i];
    for (int k = 0; k < m->n_nav; k++)
        ev[m->n_in + k] = (rel_col){"$nav", m->navs[k].type, NULL, false};
    types_of(a, mc->n_ev, ev, &mc->ev_t, &mc->ev_null);
    mc->n_out = r->n_cols;
    types_of(a, r->n_cols, r->cols, &mc->out_t, &mc->out_null);
    mc->outs = rill__arena_alloc(a, (size_t)(r->n_cols + 1) * sizeof *mc->outs);
    for (int i = 0; i < m->n_part; i++)
        mc->outs[i] = rill__sql_cast_to(pc, rill__sql_x_input(a, m->part[i], ev[m->part[i]].type),
                                        r->cols[i].type);
    for (int i = 0; i < m->n_meas; i++)
        mc->outs[m->n_part + i] = rill__sql_cast_to(pc, m->meas[i], r->cols[m->n_part + i].type);
    char name[64]; /* by its place in the script: the same in every run of it */
    int k = pc->s->n_group_aggs++;
    snprintf(name, sizeof name, "sql-match-%d-rows", k);
    mc->win = rill_value_state(pc->s->env, name, 0);
    snprintf(name, sizeof name, "sql-match-%d-pending", k);
    mc->pend = rill_value_state(pc->s->env, name, 0);
    rill_schema *out = rill__sql_schema_of(pc, r->n_cols, r->cols);
    if (!out)
        return NULL;
    rill_stream *s = rill_keyed_process(ks, out, match_fn, mc);
    rill_schema_free(out);
    if (!s)
        return NULL;
    s = rill_stream_on_timer(s, match_timer);
    s = rill_stream_hooks(s, match_open, match_close);
    rill__buf d = {0};
    rill__buf_printf(&d, "v1 rows");
    for (int i = 0; i < n; i++) {
        rill__buf_putc(&d, ' ');
        rill__sql_type_describe(cols[i].type, &d);
    }
    rill__sql_match_digest(&d, r);
    s = rill__sql_uid(pc, s, "Match", rill__buf_cstr(&d));
    rill__buf_free(&d);
    return s;
}
