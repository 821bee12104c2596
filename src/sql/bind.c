/*
 * bind.c - sql layer: the binder. An expression as written (ast.h) becomes a typed expression
 * (expr.h) over the columns of its input relation: names resolved (case-sensitively, as
 * Flink), literals typed as Flink types them, operand types brought together by Flink's
 * implicit casts (made explicit CAST nodes), and errors that point at the place.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/dec128.h"
#include "functions.h"
#include "sql_int.h"

#define ERR(pc, pos, ...) (rill__sql_error((pc)->err, (pc)->text, (pos), __VA_ARGS__), NULL)

static const rill__sql_ltype *ty(plan_ctx *pc, rill__sql_root root, bool nullable)
{
    return rill__sql_type_of(pc->a, root, nullable);
}

static const char *tstr(plan_ctx *pc, const rill__sql_ltype *t)
{
    return rill__sql_type_str(pc->a, t);
}

/* The session's table.local-time-zone ('UTC' unless SET). */
const char *rill__sql_session_zone(const rill__sql_session *s)
{
    for (size_t i = 0; i < s->n_opts; i++)
        if (!strcmp(s->opts[i].key, "table.local-time-zone"))
            return s->opts[i].value;
    return "UTC";
}

/* A CAST node of x to t (the session's zone when TIMESTAMP_LTZ is on either side). */
static rill__sql_rex *cast_node(plan_ctx *pc, rill__sql_rex *x, const rill__sql_ltype *t)
{
    rill__sql_rex *c = rill__sql_x_call(pc->a, RILL_SQLX_CAST, t, 1, &x);
    c->pos = x->pos;
    if (t->root == RILL_SQLT_TIMESTAMP_LTZ || x->type->root == RILL_SQLT_TIMESTAMP_LTZ) {
        const char *z = rill__sql_session_zone(pc->s);
        c->zone = strcmp(z, "UTC") ? rill__arena_strdup(pc->a, z) : NULL;
    }
    return c;
}

rill__sql_rex *rill__sql_cast_to(plan_ctx *pc, rill__sql_rex *x, const rill__sql_ltype *t)
{
    if (rill__sql_type_equal(x->type, t, false))
        return x;
    return cast_node(pc, x, t);
}

/* ---- names ----------------------------------------------------------------------------------- */

/* Whether column c can be what a name qualified by qual (NULL: none) denotes: any column
 * when the name has no qualifier; else a column of that FROM item, or one no FROM item names
 * (a derived column: any qualifier, as before joins). */
static bool qual_fits(const rel_col *c, const char *qual)
{
    return !qual || !c->qual || !strcmp(c->qual, qual);
}

/* The column a name denotes in in: "col", "t.col" (t: the FROM item's alias or table name),
 * or a nested field "col.f.g" (a leaf of a flattened ROW). -1 when none does, -2 when the name
 * is a whole ROW column (its leaves only are there), -3 when two columns are it (a join's
 * inputs both have it: Flink's "Column 'x' is ambiguous"). */
static int resolve(const rel *in, const rill__sql_name *n)
{
    char path[512];
    for (size_t skip = 0; skip < n->n_parts && skip < 2; skip++) {
        const char *qual = skip ? n->parts[0].text : NULL;
        size_t len = 0;
        path[0] = '\0';
        for (size_t i = skip; i < n->n_parts; i++) {
            int w = snprintf(path + len, sizeof path - len, "%s%s", i > skip ? "." : "",
                             n->parts[i].text);
            if (w < 0 || (size_t)w >= sizeof path - len)
                return -1;
            len += (size_t)w;
        }
        /* t.col: a column of FROM item t; else (leniently: Nexmark's q6 names the columns of
         * an unnamed subquery A.id by the alias inside it) the one column of that name no FROM
         * item names. col: the column of that name, ambiguous when two FROM items have it
         * (an unnamed subquery's counts as one). */
        int found = -1, loose = -1, n_loose = 0;
        for (int c = 0; c < in->n_cols; c++) {
            const rel_col *col = &in->cols[c];
            if (strcmp(col->name, path) || (col->hidden && !qual))
                continue;
            if (qual && !col->qual) {
                n_loose++;
                if (loose < 0)
                    loose = c;
                continue;
            }
            if (!qual_fits(col, qual))
                continue;
            const char *q0 = found >= 0 ? in->cols[found].qual : NULL;
            if (found >= 0 && (q0 || col->qual) && (!q0 || !col->qual || strcmp(q0, col->qual)))
                return -3; /* two FROM items' */
            if (found < 0)
                found = c;
        }
        if (found >= 0)
            return found;
        if (n_loose > 1)
            return -3;
        if (loose >= 0)
            return loose;
        for (int c = 0; c < in->n_cols; c++)
            if (!strncmp(in->cols[c].name, path, len) && in->cols[c].name[len] == '.' &&
                qual_fits(&in->cols[c], qual))
                return -2;
    }
    return -1;
}

/* ---- literals ----------------------------------------------------------------------------------
 */

/* 'yyyy-MM-dd HH:mm:ss[.fffffffff]' (the time part optional): ms or ns since the epoch, and
 * the fraction's digits. */
static bool parse_timestamp(const char *s, int64_t *ms, int64_t *ns, int *digits)
{
    int y, mo, d, h = 0, mi = 0, se = 0, n = 0;
    char frac[16] = "";
    int got = sscanf(s, "%d-%d-%d%n", &y, &mo, &d, &n);
    if (got != 3 || mo < 1 || mo > 12 || d < 1 || d > 31)
        return false;
    const char *p = s + n;
    if (*p == ' ' || *p == 'T') {
        int m2 = 0;
        if (sscanf(p + 1, "%d:%d:%d%n", &h, &mi, &se, &m2) != 3)
            return false;
        p += 1 + m2;
        if (*p == '.') {
            size_t k = 0;
            for (p++; *p >= '0' && *p <= '9' && k < 9; p++)
                frac[k++] = *p;
            frac[k] = '\0';
        }
    }
    if (*p || h > 23 || mi > 59 || se > 59)
        return false;
    *digits = (int)strlen(frac);
    int64_t f = 0;
    for (int k = 0; k < 9; k++)
        f = f * 10 + (k < *digits ? frac[k] - '0' : 0);
    int64_t secs = rill__days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    *ms = secs * 1000 + f / 1000000;
    *ns = secs * 1000000000 + f;
    return true;
}

/* An exact literal as Calcite types it: DECIMAL(p, s) with p its digits (the leading 0 of
 * 0.5 too) and s those after the point. */
static rill__sql_rex *decimal_literal(plan_ctx *pc, const rill__sql_expr *e)
{
    const char *t = e->u.lit.text;
    size_t len = strlen(t);
    const char *dot = strchr(t, '.');
    int p = (int)(dot ? len - 1 : len), sc = dot ? (int)(len - (size_t)(dot - t) - 1) : 0;
    if (dot && dot[1] == '\0')
        sc = 0;
    if (p > RILL_SQL_MAX_DECIMAL)
        return ERR(pc, e->pos, "Numeric literal '%s' out of range (at most %d digits)", t,
                   RILL_SQL_MAX_DECIMAL);
    rill__i128 v;
    if (rill__dec_parse(t, len, p, sc, &v) != 0)
        return ERR(pc, e->pos, "Numeric literal '%s' cannot be read", t);
    const rill__sql_ltype *dt =
        rill__sql_type_make(pc->a, RILL_SQLT_DECIMAL, RILL_MAX(p, 1), sc, false);
    rill__sql_rex *x;
    if (p <= 18) {
        x = rill__sql_x_literal(pc->a, dt, (uint64_t)(int64_t)v);
    } else {
        unsigned char b[16];
        rill__dec_store16(v, b);
        x = rill__sql_x_string(pc->a, dt, (const char *)b, 16);
    }
    x->pos = e->pos;
    return x;
}

static rill__sql_rex *literal(plan_ctx *pc, const rill__sql_expr *e)
{
    rill__arena *a = pc->a;
    const char *t = e->u.lit.text;
    rill__sql_rex *x = NULL;
    switch (e->u.lit.kind) {
    case RILL_SQL_L_NULL:
        x = rill__sql_x_null(a, ty(pc, RILL_SQLT_NULL, true));
        break;
    case RILL_SQL_L_TRUE:
    case RILL_SQL_L_FALSE:
        x = rill__sql_x_literal(a, ty(pc, RILL_SQLT_BOOLEAN, false),
                                e->u.lit.kind == RILL_SQL_L_TRUE);
        break;
    case RILL_SQL_L_UNKNOWN:
        x = rill__sql_x_null(a, ty(pc, RILL_SQLT_BOOLEAN, true));
        break;
    case RILL_SQL_L_INTEGER: {
        /* INT when it fits, else BIGINT; more digits: a DECIMAL (Flink) */
        errno = 0;
        char *end;
        unsigned long long v = strtoull(t, &end, 10);
        if (errno || *end || v > (unsigned long long)INT64_MAX)
            return decimal_literal(pc, e);
        rill__sql_root root = v <= INT32_MAX ? RILL_SQLT_INT : RILL_SQLT_BIGINT;
        x = rill__sql_x_literal(a, ty(pc, root, false), (uint64_t)v);
        break;
    }
    case RILL_SQL_L_DECIMAL:
        return decimal_literal(pc, e);
    case RILL_SQL_L_APPROX: {
        char *end;
        double d = strtod(t, &end);
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        x = rill__sql_x_literal(a, ty(pc, RILL_SQLT_DOUBLE, false), bits);
        break;
    }
    case RILL_SQL_L_STRING: {
        /* CHAR(n) NOT NULL, n its characters (Flink) */
        size_t chars = 0;
        for (size_t i = 0; i < e->u.lit.len; i++)
            chars += ((unsigned char)t[i] & 0xc0) != 0x80;
        const rill__sql_ltype *st =
            rill__sql_type_make(a, RILL_SQLT_CHAR, (int)RILL_MAX(chars, 1), 0, false);
        x = rill__sql_x_string(a, st, t, e->u.lit.len);
        break;
    }
    case RILL_SQL_L_TIMESTAMP: {
        int64_t ms, ns;
        int digits;
        if (!parse_timestamp(t, &ms, &ns, &digits))
            return ERR(pc, e->pos,
                       "Illegal TIMESTAMP literal '%s': expected "
                       "'yyyy-MM-dd HH:mm:ss[.fffffffff]'",
                       t);
        const rill__sql_ltype *tt =
            rill__sql_type_make(a, RILL_SQLT_TIMESTAMP, RILL_MAX(digits, 0), 0, false);
        x = rill__sql_x_literal(a, tt, (uint64_t)(digits > 3 ? ns : ms));
        break;
    }
    case RILL_SQL_L_DATE:
    case RILL_SQL_L_TIME: {
        uint64_t v;
        char msg[256];
        const rill__sql_ltype *dt = rill__sql_fn_time_literal(
            a, e->u.lit.kind == RILL_SQL_L_DATE ? RILL_SQLT_DATE : RILL_SQLT_TIME, t, &v, msg,
            sizeof msg);
        if (!dt)
            return ERR(pc, e->pos, "%s", msg);
        x = rill__sql_x_literal(a, dt, v);
        break;
    }
    default:
        return ERR(pc, e->pos, "This literal is not supported yet");
    }
    x->pos = e->pos;
    return x;
}

/* ---- operators ---------------------------------------------------------------------------------
 */

static rill__sql_rex *call2(plan_ctx *pc, rill__sql_rexop op, const rill__sql_ltype *t,
                            rill__sql_rex *l, rill__sql_rex *r, rill__sql_pos pos)
{
    rill__sql_rex *args[] = {l, r};
    rill__sql_rex *x = rill__sql_x_call(pc->a, op, t, 2, args);
    x->pos = pos;
    return x;
}

static rill__sql_rex *call1(plan_ctx *pc, rill__sql_rexop op, const rill__sql_ltype *t,
                            rill__sql_rex *arg, rill__sql_pos pos)
{
    rill__sql_rex *x = rill__sql_x_call(pc->a, op, t, 1, &arg);
    x->pos = pos;
    return x;
}

static bool is_bool(const rill__sql_ltype *t)
{
    return t->root == RILL_SQLT_BOOLEAN || t->root == RILL_SQLT_NULL;
}

/* A comparison: both sides cast to their common type. */
static rill__sql_rex *compare(plan_ctx *pc, rill__sql_rexop op, rill__sql_rex *l, rill__sql_rex *r,
                              rill__sql_pos pos, const char *what)
{
    const rill__sql_ltype *pair[] = {l->type, r->type};
    const rill__sql_ltype *c = rill__sql_common_type(pc->a, pair, 2);
    if (!c && (l->type->root == RILL_SQLT_NULL || r->type->root == RILL_SQLT_NULL))
        c = l->type->root == RILL_SQLT_NULL ? r->type : l->type;
    if (!c)
        return ERR(pc, pos, "Cannot apply '%s' to arguments of type '%s' and '%s'", what,
                   tstr(pc, l->type), tstr(pc, r->type));
    bool nullable = l->type->nullable || r->type->nullable;
    if (op == RILL_SQLX_IS_DISTINCT || op == RILL_SQLX_IS_NOT_DISTINCT)
        nullable = false;
    /* character strings compare as VARCHAR, whatever their lengths */
    if (rill__sql_is_character(c))
        c = rill__sql_type_make(pc->a, RILL_SQLT_VARCHAR, RILL_SQL_MAX_LENGTH, 0, true);
    return call2(pc, op, ty(pc, RILL_SQLT_BOOLEAN, nullable),
                 rill__sql_cast_to(pc, l, rill__sql_type_with_null(pc->a, c, l->type->nullable)),
                 rill__sql_cast_to(pc, r, rill__sql_type_with_null(pc->a, c, r->type->nullable)),
                 pos);
}

static rill__sql_rex *arith(plan_ctx *pc, rill__sql_arith op, rill__sql_rexop xop, rill__sql_rex *l,
                            rill__sql_rex *r, rill__sql_pos pos, const char *what)
{
    const rill__sql_ltype *t = rill__sql_arith_type(pc->a, op, l->type, r->type);
    if (!t)
        return ERR(pc, pos, "Cannot apply '%s' to arguments of type '%s' and '%s'", what,
                   tstr(pc, l->type), tstr(pc, r->type));
    t = rill__sql_type_with_attr(pc->a, t, RILL_SQLA_NONE);
    if (op == RILL_SQL_MOD && rill__sql_is_integer(l->type) && rill__sql_is_integer(r->type)) {
        /* the remainder is no wider than the divisor (its type), but is computed in the wider
         * of the two: the dividend must not be narrowed first */
        const rill__sql_ltype *w =
            rill__sql_type_of(pc->a, RILL_MAX(l->type->root, r->type->root), t->nullable);
        l = rill__sql_cast_to(pc, l, rill__sql_type_with_null(pc->a, w, l->type->nullable));
        r = rill__sql_cast_to(pc, r, rill__sql_type_with_null(pc->a, w, r->type->nullable));
        return rill__sql_cast_to(pc, call2(pc, xop, w, l, r, pos), t);
    }
    if (rill__sql_is_numeric(t) && t->root != RILL_SQLT_DECIMAL) {
        /* both operands as the result's type (decimals keep their own: the operator scales) */
        l = rill__sql_cast_to(pc, l, rill__sql_type_with_null(pc->a, t, l->type->nullable));
        r = rill__sql_cast_to(pc, r, rill__sql_type_with_null(pc->a, t, r->type->nullable));
    }
    return call2(pc, xop, t, l, r, pos);
}

static rill__sql_rex *logic(plan_ctx *pc, rill__sql_rexop op, rill__sql_rex *l, rill__sql_rex *r,
                            rill__sql_pos pos, const char *what)
{
    if (!is_bool(l->type) || !is_bool(r->type))
        return ERR(pc, pos, "Cannot apply '%s' to arguments of type '%s' and '%s'", what,
                   tstr(pc, l->type), tstr(pc, r->type));
    return call2(pc, op, ty(pc, RILL_SQLT_BOOLEAN, l->type->nullable || r->type->nullable), l, r,
                 pos);
}

static rill__sql_rex *concat(plan_ctx *pc, int n, rill__sql_rex **args, rill__sql_pos pos)
{
    bool nullable = false;
    int64_t len = 0;
    for (int i = 0; i < n; i++) {
        if (!rill__sql_is_character(args[i]->type) && args[i]->type->root != RILL_SQLT_NULL)
            return ERR(pc, args[i]->pos, "Cannot apply '||' to an argument of type '%s'",
                       tstr(pc, args[i]->type));
        nullable |= args[i]->type->nullable;
        len += args[i]->type->precision;
    }
    const rill__sql_ltype *t = rill__sql_type_make(
        pc->a, RILL_SQLT_VARCHAR, (int)RILL_MIN(len, RILL_SQL_MAX_LENGTH), 0, nullable);
    rill__sql_rex *x = rill__sql_x_call(pc->a, RILL_SQLX_CONCAT, t, n, args);
    x->pos = pos;
    return x;
}

static rill__sql_rex *bind(plan_ctx *pc, const rel *in, const rill__sql_expr *e);

/* CASE, its branches brought to their common type. */
static rill__sql_rex *case_when(plan_ctx *pc, const rel *in, const rill__sql_expr *e)
{
    size_t n = e->u.kase.n_whens;
    rill__sql_rex **args = rill__arena_alloc(pc->a, (2 * n + 1) * sizeof *args);
    const rill__sql_ltype **results = rill__arena_alloc(pc->a, (n + 1) * sizeof *results);
    rill__sql_rex *operand = e->u.kase.operand ? bind(pc, in, e->u.kase.operand) : NULL;
    if (e->u.kase.operand && !operand)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const rill__sql_when *w = &e->u.kase.whens[i];
        rill__sql_rex *c = bind(pc, in, w->when), *v = bind(pc, in, w->then);
        if (!c || !v)
            return NULL;
        if (operand && !(c = compare(pc, RILL_SQLX_EQ, operand, c, w->when->pos, "=")))
            return NULL;
        if (!is_bool(c->type))
            return ERR(pc, w->when->pos, "A CASE condition must be BOOLEAN, not '%s'",
                       tstr(pc, c->type));
        args[2 * i] = c;
        args[2 * i + 1] = v;
        results[i] = v->type;
    }
    int n_args = (int)(2 * n), n_res = (int)n;
    if (e->u.kase.else_) {
        rill__sql_rex *v = bind(pc, in, e->u.kase.else_);
        if (!v)
            return NULL;
        args[n_args++] = v;
        results[n_res++] = v->type;
    }
    const rill__sql_ltype *t = rill__sql_common_type(pc->a, results, n_res);
    if (!t)
        return ERR(pc, e->pos, "The results of this CASE have no common type");
    bool nullable = !e->u.kase.else_;
    for (int i = 0; i < n_res; i++)
        nullable |= results[i]->nullable;
    t = rill__sql_type_with_null(pc->a, t, nullable);
    for (size_t i = 0; i < n; i++)
        args[2 * i + 1] =
            rill__sql_cast_to(pc, args[2 * i + 1],
                              rill__sql_type_with_null(pc->a, t, args[2 * i + 1]->type->nullable));
    if (e->u.kase.else_)
        args[n_args - 1] =
            rill__sql_cast_to(pc, args[n_args - 1],
                              rill__sql_type_with_null(pc->a, t, args[n_args - 1]->type->nullable));
    rill__sql_rex *x = rill__sql_x_call(pc->a, RILL_SQLX_CASE, t, n_args, args);
    x->pos = e->pos;
    return x;
}

static bool name_is(const rill__sql_call *c, const char *want)
{
    return c->name.n_parts == 1 && !strcasecmp(c->name.parts[0].text, want);
}

/* The column of the aggregation's input that holds x: an input column itself, or a column
 * the calc before the aggregation computes. */
static int agg_input_col(plan_ctx *pc, agg_ctx *g, rill__sql_rex *x)
{
    if (x->op == RILL_SQLX_INPUT)
        return x->input;
    if (g->n_exprs == g->cap_exprs) {
        g->cap_exprs = g->cap_exprs ? 2 * g->cap_exprs : 8;
        rill__sql_rex **v = rill__arena_alloc(pc->a, (size_t)g->cap_exprs * sizeof *v);
        if (g->n_exprs)
            memcpy(v, g->exprs, (size_t)g->n_exprs * sizeof *v);
        g->exprs = v;
    }
    g->exprs[g->n_exprs] = x;
    return g->expr_base + g->n_exprs++;
}

/* An aggregate call (k: COUNT, SUM, MIN, MAX, AVG) in a select list over an aggregation: a
 * column of the aggregation (the same call twice is one column). */
static rill__sql_rex *aggregate(plan_ctx *pc, const rill__sql_expr *e, int k)
{
    agg_ctx *g = pc->agg;
    const rill__sql_call *c = &e->u.call;
    static const char *const names[] = {"COUNT", "SUM", "MIN", "MAX", "AVG"};
    if (!g)
        return ERR(pc, e->pos,
                   "Aggregate function %s is not allowed here (only in the select "
                   "list or HAVING of a grouped query)",
                   names[k]);
    bool star =
        k == 0 && (c->n_args == 0 || (c->n_args == 1 && c->args[0]->kind == RILL_SQL_E_STAR));
    if (!star && c->n_args != 1)
        return ERR(pc, e->pos, "Invalid number of arguments to function '%s'", names[k]);
    if (star && c->quantifier == 1)
        return ERR(pc, e->pos, "COUNT(DISTINCT *) is not valid SQL");
    rel_agg ag = {.kind = star ? AGG_COUNT_STAR : (rel_agg_kind)(k + 1),
                  .arg = -1,
                  .distinct = c->quantifier == 1 && k != 2 && k != 3, /* MIN, MAX: the same */
                  .pos = e->pos};
    rill__sql_rex *filter = NULL;
    if (c->filter) {
        agg_ctx *saved = pc->agg;
        pc->agg = NULL; /* no aggregate inside a filter */
        filter = bind(pc, g->input, c->filter);
        pc->agg = saved;
        if (!filter)
            return NULL;
        if (!is_bool(filter->type))
            return ERR(pc, c->filter->pos, "FILTER expression must be of type BOOLEAN, not %s",
                       tstr(pc, filter->type));
        if (star) { /* COUNT(*) FILTER (WHERE f) is COUNT(CASE WHEN f THEN 0 END) */
            star = false;
            ag.kind = AGG_COUNT;
        }
    }
    if (!star) {
        agg_ctx *saved = pc->agg;
        pc->agg = NULL; /* no aggregate inside an aggregate */
        rill__sql_rex *x = c->n_args == 1 && c->args[0]->kind != RILL_SQL_E_STAR
                               ? bind(pc, g->input, c->args[0])
                               : rill__sql_x_literal(pc->a, ty(pc, RILL_SQLT_BIGINT, false), 0);
        pc->agg = saved;
        if (!x)
            return NULL;
        if (filter) { /* AGG(x) FILTER (WHERE f): AGG(CASE WHEN f THEN x END), NULLs skipped */
            rill__sql_rex *cw[] = {filter, x};
            x = rill__sql_x_call(pc->a, RILL_SQLX_CASE,
                                 rill__sql_type_with_null(pc->a, x->type, true), 2, cw);
            x->pos = c->filter->pos;
        }
        ag.arg = agg_input_col(pc, g, x);
        const rill__sql_ltype *t = x->type;
        if ((k == 1 || k == 4) && !rill__sql_is_numeric(t))
            return ERR(pc, c->args[0]->pos, "Cannot apply '%s' to arguments of type '%s(<%s>)'",
                       names[k], names[k], tstr(pc, t));
        if ((k == 2 || k == 3) && !rill__sql_is_numeric(t) && !rill__sql_is_datetime(t) &&
            !rill__sql_is_character(t) && t->root != RILL_SQLT_BOOLEAN)
            return ERR(pc, c->args[0]->pos, "%s of %s is not supported yet", names[k], tstr(pc, t));
        ag.type = k == 0   ? ty(pc, RILL_SQLT_BIGINT, false)
                  : k == 1 ? rill__sql_type_with_null(pc->a, rill__sql_sum_type(pc->a, t), true)
                  : k == 4 ? rill__sql_type_with_null(pc->a, rill__sql_avg_type(pc->a, t), true)
                           : rill__sql_type_with_null(pc->a, t, true);
        ag.type = rill__sql_type_with_attr(pc->a, ag.type, RILL_SQLA_NONE);
    } else {
        ag.type = ty(pc, RILL_SQLT_BIGINT, false);
    }
    int at = -1;
    for (int i = 0; i < g->n_aggs && at < 0; i++)
        if (g->aggs[i].kind == ag.kind && g->aggs[i].arg == ag.arg &&
            g->aggs[i].distinct == ag.distinct)
            at = i;
    if (at < 0) {
        if (g->n_aggs == g->cap_aggs) {
            g->cap_aggs = g->cap_aggs ? 2 * g->cap_aggs : 8;
            rel_agg *v = rill__arena_alloc(pc->a, (size_t)g->cap_aggs * sizeof *v);
            if (g->n_aggs)
                memcpy(v, g->aggs, (size_t)g->n_aggs * sizeof *v);
            g->aggs = v;
        }
        at = g->n_aggs;
        g->aggs[g->n_aggs++] = ag;
    }
    rill__sql_rex *x = rill__sql_x_input(pc->a, g->first_col + at, ag.type);
    x->pos = e->pos;
    return x;
}

static rill__sql_rex *function(plan_ctx *pc, const rel *in, const rill__sql_expr *e)
{
    const rill__sql_call *c = &e->u.call;
    if (c->over) /* a ranking's rank (rank.c), or not supported yet */
        return rill__sql_bind_over(pc, in, e);
    static const char *const aggregates[] = {"COUNT",       "SUM",        "MIN",     "MAX", "AVG",
                                             "FIRST_VALUE", "LAST_VALUE", "LISTAGG", NULL};
    for (int k = 0; aggregates[k]; k++)
        if (name_is(c, aggregates[k]))
            return k < 5 ? aggregate(pc, e, k)
                         : ERR(pc, e->pos, "The aggregate function %s is not supported yet",
                               aggregates[k]);
    if (c->name.n_parts == 1) { /* a group window's TUMBLE_START(ts, size), HOP_END... */
        const char *nm = c->name.parts[0].text, *us = strchr(nm, '_');
        static const char *const kinds[] = {"TUMBLE", "HOP", "SESSION"};
        for (int k = 0; us && k < 3; k++) {
            size_t kl = strlen(kinds[k]);
            if ((size_t)(us - nm) != kl || strncasecmp(nm, kinds[k], kl))
                continue;
            const char *aux = us + 1;
            if (strcasecmp(aux, "START") && strcasecmp(aux, "END") && strcasecmp(aux, "ROWTIME") &&
                strcasecmp(aux, "PROCTIME"))
                break;
            const rill__sql_expr *w = pc->agg ? pc->agg->legacy : NULL;
            rill__buf mine = {0}, theirs = {0};
            if (w) { /* the same arguments as the GROUP BY's window */
                rill__sql_expr me = *e;
                me.u.call.name = w->u.call.name;
                rill__sql_print_expr(&mine, &me);
                rill__sql_print_expr(&theirs, w);
            }
            bool same = w && !strncasecmp(w->u.call.name.parts[0].text, kinds[k], kl + 1) &&
                        strlen(w->u.call.name.parts[0].text) == kl && mine.len == theirs.len &&
                        !memcmp(mine.data, theirs.data, mine.len);
            rill__buf_free(&mine);
            rill__buf_free(&theirs);
            if (!same)
                return ERR(pc, e->pos,
                           "%s must be called with the arguments of a %s group window in the "
                           "GROUP BY",
                           nm, kinds[k]);
            if (strcasecmp(aux, "START") && strcasecmp(aux, "END"))
                return ERR(pc, e->pos, "%s is not supported yet (_START and _END are)", nm);
            int end = strcasecmp(aux, "END") == 0;
            const rel *tvf = pc->agg->input; /* its window_start, window_end */
            return rill__sql_x_input(pc->a, pc->agg->first_col - 2 + end,
                                     tvf->cols[tvf->input->n_cols + end].type);
        }
    }
    int n = (int)c->n_args;
    rill__sql_rex **args = rill__arena_alloc(pc->a, (size_t)(n + 1) * sizeof *args);
    for (int i = 0; i < n; i++)
        if (!(args[i] = bind(pc, in, c->args[i])))
            return NULL;
    if (name_is(c, "COALESCE") || name_is(c, "IFNULL")) {
        if (n < 1 || (name_is(c, "IFNULL") && n != 2))
            return ERR(pc, e->pos, "Invalid number of arguments to function '%s'",
                       c->name.parts[0].text);
        const rill__sql_ltype **ts = rill__arena_alloc(pc->a, (size_t)n * sizeof *ts);
        bool nullable = true;
        for (int i = 0; i < n; i++)
            ts[i] = args[i]->type, nullable &= args[i]->type->nullable;
        const rill__sql_ltype *t = rill__sql_common_type(pc->a, ts, n);
        if (!t)
            return ERR(pc, e->pos, "The arguments of %s have no common type",
                       c->name.parts[0].text);
        t = rill__sql_type_with_null(pc->a, t, nullable);
        for (int i = 0; i < n; i++)
            args[i] = rill__sql_cast_to(
                pc, args[i], rill__sql_type_with_null(pc->a, t, args[i]->type->nullable));
        rill__sql_rex *x = rill__sql_x_call(pc->a, RILL_SQLX_COALESCE, t, n, args);
        x->pos = e->pos;
        return x;
    }
    if (name_is(c, "CHAR_LENGTH") || name_is(c, "CHARACTER_LENGTH")) {
        if (n != 1 || !rill__sql_is_character(args[0]->type))
            return ERR(pc, e->pos, "%s takes one character string", c->name.parts[0].text);
        return call1(pc, RILL_SQLX_CHAR_LENGTH, ty(pc, RILL_SQLT_INT, args[0]->type->nullable),
                     args[0], e->pos);
    }
    if (name_is(c, "MOD")) {
        if (n != 2)
            return ERR(pc, e->pos, "Invalid number of arguments to function 'MOD'");
        return arith(pc, RILL_SQL_MOD, RILL_SQLX_MOD, args[0], args[1], e->pos, "MOD");
    }
    if (name_is(c, "CONCAT")) {
        if (n < 1)
            return ERR(pc, e->pos, "Invalid number of arguments to function 'CONCAT'");
        if (n == 1)
            return args[0];
        return concat(pc, n, args, e->pos);
    }
    const char *fname = c->name.parts[c->name.n_parts - 1].text;
    /* Flink's order: temporary system functions, built-ins, then the catalog's */
    const rill__sql_fn *fn =
        c->name.n_parts == 1 ? rill__sql_find_function(pc->s, fname, true) : NULL;
    if (!fn && c->name.n_parts == 1)
        fn = rill__sql_fn_find(fname);
    if (!fn)
        fn = rill__sql_find_function(pc->s, fname, false);
    if (!fn)
        return ERR(pc, c->name.pos,
                   "No match found for function signature %s(...) (rill does not "
                   "have this function yet)",
                   fname);
    if (n < fn->min_args || (fn->max_args >= 0 && n > fn->max_args))
        return ERR(pc, e->pos, "Invalid number of arguments to function '%s'", fn->name);
    rill__sql_fn_call *call = rill__arena_alloc(pc->a, sizeof *call);
    *call = (rill__sql_fn_call){.fn = fn,
                                .name = fn->name,
                                .n_args = n,
                                .args = args,
                                .form = c->form,
                                .unit = c->unit,
                                .trim = c->trim,
                                .zone = rill__arena_strdup(pc->a, rill__sql_session_zone(pc->s))};
    const rill__sql_ltype **cast = rill__arena_alloc(pc->a, (size_t)(n + 1) * sizeof *cast);
    memset(cast, 0, (size_t)(n + 1) * sizeof *cast);
    char msg[256] = "";
    const rill__sql_ltype *t = fn->infer(pc->a, call, cast, msg, sizeof msg);
    if (!t)
        return ERR(pc, e->pos, "%s", msg[0] ? msg : "The arguments do not fit the function");
    for (int i = 0; i < n; i++)
        if (cast[i] && !rill__sql_type_equal(cast[i], args[i]->type, false))
            args[i] = rill__sql_cast_to(pc, args[i], cast[i]);
    if (!strcmp(fn->name, "IF") && n == 3) { /* IF(c, a, b) is CASE WHEN c THEN a ELSE b END:
                                              * only the branch taken is computed */
        rill__sql_rex *x = rill__sql_x_call(pc->a, RILL_SQLX_CASE, t, n, args);
        x->pos = e->pos;
        return x;
    }
    rill__sql_rex *x = rill__sql_x_call(pc->a, RILL_SQLX_FUNC, t, n, args);
    call->args = x->args;
    x->fn = fn;
    x->call = call;
    x->pos = e->pos;
    return x;
}

/* Over a grouped input: the column of a GROUP BY expression written as e, or NULL. */
static rill__sql_rex *group_expr(plan_ctx *pc, const rel *in, const rill__sql_expr *e)
{
    agg_ctx *g = pc->agg;
    if (!g || !g->n_group_exprs || e->kind == RILL_SQL_E_IDENT || e->kind == RILL_SQL_E_LITERAL)
        return NULL;
    rill__buf b = {0};
    rill__sql_print_expr(&b, e);
    rill__buf_putc(&b, '\0');
    rill__sql_rex *x = NULL;
    for (int i = 0; i < g->n_group_exprs && !x; i++)
        if (!strcmp(g->group_texts[i], (const char *)b.data)) {
            int c = g->group_cols[i];
            x = rill__sql_x_input(pc->a, c, in->cols[c].type);
            x->pos = e->pos;
        }
    rill__buf_free(&b);
    return x;
}

static rill__sql_rex *bind(plan_ctx *pc, const rel *in, const rill__sql_expr *e)
{
    rill__arena *a = pc->a;
    if (pc->bind_hook) {
        rill__sql_rex *hx = NULL;
        int hr = pc->bind_hook(pc, in, e, &hx);
        if (hr)
            return hr > 0 ? hx : NULL;
    }
    rill__sql_rex *gx = group_expr(pc, in, e);
    if (gx)
        return gx;
    switch (e->kind) {
    case RILL_SQL_E_LITERAL:
        return literal(pc, e);
    case RILL_SQL_E_INTERVAL: {
        uint64_t v;
        char msg[256];
        const rill__sql_ltype *it = rill__sql_fn_time_interval(
            a, e->u.interval.text, e->u.interval.sign, &e->u.interval.q, &v, msg, sizeof msg);
        if (!it)
            return ERR(pc, e->pos, "%s", msg);
        rill__sql_rex *x = rill__sql_x_literal(a, it, v);
        x->pos = e->pos;
        return x;
    }
    case RILL_SQL_E_IDENT: {
        int c = resolve(in, &e->u.name);
        const rill__sql_ident *last = &e->u.name.parts[e->u.name.n_parts - 1];
        if (c == -2)
            return ERR(pc, e->pos,
                       "Column '%s' is a ROW: selecting a whole ROW is not "
                       "supported yet (select its fields)",
                       last->text);
        if (c == -3)
            return ERR(pc, e->pos, "Column '%s' is ambiguous", last->text);
        if (c < 0) {
            /* over an aggregation: a column of its input that is not grouped (Calcite's) */
            if (pc->agg && resolve(pc->agg->input, &e->u.name) >= 0) {
                rill__buf b = {0};
                rill__sql_print_expr(&b, e);
                rill__buf_putc(&b, '\0');
                rill__sql_error(pc->err, pc->text, e->pos, "Expression '%s' is not being grouped",
                                (const char *)b.data);
                rill__buf_free(&b);
                return NULL;
            }
            for (int k = 0; e->u.name.n_parts == 2 && k < in->n_cols; k++)
                if (in->cols[k].qual && !strcmp(in->cols[k].qual, e->u.name.parts[0].text))
                    return ERR(pc, e->pos, "Column '%s' not found in table '%s'", last->text,
                               in->cols[k].qual);
            return ERR(pc, e->pos, "Column '%s' not found in any table", last->text);
        }
        rill__sql_rex *x = rill__sql_x_input(a, c, in->cols[c].type);
        x->pos = e->pos;
        return x;
    }
    case RILL_SQL_E_UNARY: {
        rill__sql_rex *x = bind(pc, in, e->u.unary.arg);
        if (!x)
            return NULL;
        switch (e->u.unary.op) {
        case RILL_SQL_OP_NOT:
            if (!is_bool(x->type))
                return ERR(pc, e->pos, "Cannot apply 'NOT' to an argument of type '%s'",
                           tstr(pc, x->type));
            return call1(pc, RILL_SQLX_NOT, ty(pc, RILL_SQLT_BOOLEAN, x->type->nullable), x,
                         e->pos);
        case RILL_SQL_OP_NEG:
            if (!rill__sql_is_numeric(x->type) && !rill__sql_is_interval(x->type))
                return ERR(pc, e->pos, "Cannot apply '-' to an argument of type '%s'",
                           tstr(pc, x->type));
            return call1(pc, RILL_SQLX_NEG, x->type, x, e->pos);
        default:
            if (!rill__sql_is_numeric(x->type) && !rill__sql_is_interval(x->type))
                return ERR(pc, e->pos, "Cannot apply '+' to an argument of type '%s'",
                           tstr(pc, x->type));
            return x;
        }
    }
    case RILL_SQL_E_BINARY: {
        rill__sql_rex *l = bind(pc, in, e->u.binary.left);
        rill__sql_rex *r = l ? bind(pc, in, e->u.binary.right) : NULL;
        if (!r)
            return NULL;
        const char *what = rill__sql_op_text(e->u.binary.op);
        switch (e->u.binary.op) {
        case RILL_SQL_OP_AND:
            return logic(pc, RILL_SQLX_AND, l, r, e->pos, what);
        case RILL_SQL_OP_OR:
            return logic(pc, RILL_SQLX_OR, l, r, e->pos, what);
        case RILL_SQL_OP_EQ:
            return compare(pc, RILL_SQLX_EQ, l, r, e->pos, what);
        case RILL_SQL_OP_NE:
            return compare(pc, RILL_SQLX_NE, l, r, e->pos, what);
        case RILL_SQL_OP_LT:
            return compare(pc, RILL_SQLX_LT, l, r, e->pos, what);
        case RILL_SQL_OP_LE:
            return compare(pc, RILL_SQLX_LE, l, r, e->pos, what);
        case RILL_SQL_OP_GT:
            return compare(pc, RILL_SQLX_GT, l, r, e->pos, what);
        case RILL_SQL_OP_GE:
            return compare(pc, RILL_SQLX_GE, l, r, e->pos, what);
        case RILL_SQL_OP_DISTINCT:
            return compare(pc, RILL_SQLX_IS_DISTINCT, l, r, e->pos, what);
        case RILL_SQL_OP_NOT_DISTINCT:
            return compare(pc, RILL_SQLX_IS_NOT_DISTINCT, l, r, e->pos, what);
        case RILL_SQL_OP_PLUS:
            return arith(pc, RILL_SQL_PLUS, RILL_SQLX_PLUS, l, r, e->pos, what);
        case RILL_SQL_OP_MINUS:
            return arith(pc, RILL_SQL_MINUS, RILL_SQLX_MINUS, l, r, e->pos, what);
        case RILL_SQL_OP_MUL:
            return arith(pc, RILL_SQL_TIMES, RILL_SQLX_TIMES, l, r, e->pos, what);
        case RILL_SQL_OP_DIV:
            return arith(pc, RILL_SQL_DIVIDE, RILL_SQLX_DIVIDE, l, r, e->pos, what);
        case RILL_SQL_OP_MOD:
            return arith(pc, RILL_SQL_MOD, RILL_SQLX_MOD, l, r, e->pos, what);
        case RILL_SQL_OP_CONCAT: {
            rill__sql_rex *args[] = {l, r};
            return concat(pc, 2, args, e->pos);
        }
        default:
            return ERR(pc, e->pos, "Operator '%s' is not supported here", what);
        }
    }
    case RILL_SQL_E_IS: {
        rill__sql_rex *x = bind(pc, in, e->u.is.arg);
        if (!x)
            return NULL;
        rill__sql_is_test t = e->u.is.test;
        bool neg = e->u.is.negated;
        if (t != RILL_SQL_IS_NULL && !is_bool(x->type))
            return ERR(pc, e->pos, "IS TRUE, FALSE and UNKNOWN take a BOOLEAN, not '%s'",
                       tstr(pc, x->type));
        rill__sql_rexop op = t == RILL_SQL_IS_NULL || t == RILL_SQL_IS_UNKNOWN
                                 ? (neg ? RILL_SQLX_IS_NOT_NULL : RILL_SQLX_IS_NULL)
                             : t == RILL_SQL_IS_TRUE
                                 ? (neg ? RILL_SQLX_IS_NOT_TRUE : RILL_SQLX_IS_TRUE)
                                 : (neg ? RILL_SQLX_IS_NOT_FALSE : RILL_SQLX_IS_FALSE);
        return call1(pc, op, ty(pc, RILL_SQLT_BOOLEAN, false), x, e->pos);
    }
    case RILL_SQL_E_BETWEEN: {
        rill__sql_rex *x = bind(pc, in, e->u.between.arg);
        rill__sql_rex *lo = x ? bind(pc, in, e->u.between.lo) : NULL;
        rill__sql_rex *hi = lo ? bind(pc, in, e->u.between.hi) : NULL;
        if (!hi)
            return NULL;
        rill__sql_rex *ge = compare(pc, RILL_SQLX_GE, x, lo, e->pos, "BETWEEN");
        rill__sql_rex *le = ge ? compare(pc, RILL_SQLX_LE, x, hi, e->pos, "BETWEEN") : NULL;
        rill__sql_rex *r = le ? logic(pc, RILL_SQLX_AND, ge, le, e->pos, "BETWEEN") : NULL;
        if (r && e->u.between.symmetry == 2) {
            rill__sql_rex *ge2 = compare(pc, RILL_SQLX_GE, x, hi, e->pos, "BETWEEN");
            rill__sql_rex *le2 = compare(pc, RILL_SQLX_LE, x, lo, e->pos, "BETWEEN");
            rill__sql_rex *r2 = logic(pc, RILL_SQLX_AND, ge2, le2, e->pos, "BETWEEN");
            r = logic(pc, RILL_SQLX_OR, r, r2, e->pos, "BETWEEN");
        }
        if (r && e->u.between.negated)
            r = call1(pc, RILL_SQLX_NOT, r->type, r, e->pos);
        return r;
    }
    case RILL_SQL_E_IN: {
        if (e->u.in.query)
            return ERR(pc, e->pos, "IN with a subquery is not supported yet");
        rill__sql_rex *x = bind(pc, in, e->u.in.arg), *r = NULL;
        if (!x)
            return NULL;
        for (size_t i = 0; i < e->u.in.n_list; i++) {
            rill__sql_rex *v = bind(pc, in, e->u.in.list[i]);
            rill__sql_rex *eq =
                v ? compare(pc, RILL_SQLX_EQ, x, v, e->u.in.list[i]->pos, "IN") : NULL;
            if (!eq)
                return NULL;
            r = r ? logic(pc, RILL_SQLX_OR, r, eq, e->pos, "IN") : eq;
        }
        if (e->u.in.negated)
            r = call1(pc, RILL_SQLX_NOT, r->type, r, e->pos);
        return r;
    }
    case RILL_SQL_E_LIKE: {
        if (e->u.like.similar)
            return ERR(pc, e->pos, "SIMILAR TO is not supported yet");
        rill__sql_rex *args[3];
        int n = 0;
        const rill__sql_expr *parts[] = {e->u.like.arg, e->u.like.pattern, e->u.like.escape};
        bool nullable = false;
        for (int i = 0; i < 3; i++) {
            if (!parts[i])
                continue;
            if (!(args[n] = bind(pc, in, parts[i])))
                return NULL;
            if (!rill__sql_is_character(args[n]->type) && args[n]->type->root != RILL_SQLT_NULL)
                return ERR(pc, parts[i]->pos, "LIKE takes character strings, not '%s'",
                           tstr(pc, args[n]->type));
            nullable |= args[n]->type->nullable;
            n++;
        }
        rill__sql_rex *x =
            rill__sql_x_call(a, RILL_SQLX_LIKE, ty(pc, RILL_SQLT_BOOLEAN, nullable), n, args);
        x->pos = e->pos;
        if (e->u.like.negated)
            x = call1(pc, RILL_SQLX_NOT, x->type, x, e->pos);
        return x;
    }
    case RILL_SQL_E_CAST: {
        rill__sql_rex *x = bind(pc, in, e->u.cast.arg);
        if (!x)
            return NULL;
        const rill__sql_ltype *t = rill__sql_ltype_of(a, e->u.cast.type);
        bool try_cast = e->u.cast.try_cast;
        t = rill__sql_type_with_null(a, t,
                                     try_cast || x->type->nullable || !e->u.cast.type->not_null);
        if (!rill__sql_cast_explicit(x->type, t))
            return ERR(pc, e->pos, "Cast function cannot convert value of type %s to type %s",
                       tstr(pc, x->type), tstr(pc, t));
        rill__sql_rex *c = cast_node(pc, x, t);
        c->pos = e->pos;
        c->try_cast = try_cast;
        return c;
    }
    case RILL_SQL_E_CASE:
        return case_when(pc, in, e);
    case RILL_SQL_E_CALL:
        return function(pc, in, e);
    case RILL_SQL_E_STAR:
        return ERR(pc, e->pos, "'*' is not allowed here");
    default:
        return ERR(pc, e->pos, "This kind of expression is not supported yet");
    }
}

rill__sql_rex *rill__sql_bind(plan_ctx *pc, const rel *in, const rill__sql_expr *e)
{
    return bind(pc, in, e);
}

rill__sql_rex *rill__sql_equals(plan_ctx *pc, rill__sql_rex *l, rill__sql_rex *r, rill__sql_pos pos)
{
    return compare(pc, RILL_SQLX_EQ, l, r, pos, "=");
}

bool rill__sql_names_column(const rel *in, const rill__sql_name *n)
{
    return resolve(in, n) != -1;
}
