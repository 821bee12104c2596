/*
 * window_agg.c - sql layer: window TVFs (TUMBLE, HOP) and the window aggregation of a query
 * grouped by their window_start and window_end, planned onto the engine's window operator:
 * a calc that keeps the keys and the aggregates' arguments, key_by, the window aggregate with
 * built-in accumulators (sliced, so a HOP row is aggregated once), and a calc that gives each
 * aggregate Flink's type and value (COUNT(x) counts non-NULL values, SUM of INT wraps as
 * Java's int, AVG of integers divides the sum by the count as Java's long division). As
 * Flink's window TVF aggregation, a window's row comes when the watermark passes its end, and
 * rows later than that are dropped (counted).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql_int.h"

#define ERR(pc, pos, ...) (rill__sql_error((pc)->err, (pc)->text, (pos), __VA_ARGS__), NULL)

/* The interval literal e in ms; with signed_ok also a negative one (INTERVAL '-1' MINUTE,
 * INTERVAL -'1' MINUTE, - INTERVAL '1' MINUTE), into *neg. -1 with the error set. */
static int64_t interval_ms(plan_ctx *pc, const rill__sql_expr *e, bool signed_ok, bool *neg)
{
    *neg = false;
    if (signed_ok && e->kind == RILL_SQL_E_UNARY &&
        (e->u.unary.op == RILL_SQL_OP_NEG || e->u.unary.op == RILL_SQL_OP_POS)) {
        int64_t v = interval_ms(pc, e->u.unary.arg, true, neg);
        if (e->u.unary.op == RILL_SQL_OP_NEG)
            *neg = !*neg;
        return v;
    }
    if (e->kind != RILL_SQL_E_INTERVAL) {
        rill__sql_error(pc->err, pc->text, e->pos, "Expected an INTERVAL literal here");
        return -1;
    }
    const rill__sql_interval_q *q = &e->u.interval.q;
    static const int64_t unit_ms[] = {[RILL_SQL_UNIT_DAY] = 86400000,
                                      [RILL_SQL_UNIT_HOUR] = 3600000,
                                      [RILL_SQL_UNIT_MINUTE] = 60000,
                                      [RILL_SQL_UNIT_SECOND] = 1000};
    if (q->end != RILL_SQL_UNIT_NONE || q->start < RILL_SQL_UNIT_DAY ||
        q->start > RILL_SQL_UNIT_SECOND) {
        rill__sql_error(pc->err, pc->text, e->pos,
                        "Only INTERVAL '...' DAY, HOUR, MINUTE or "
                        "SECOND is supported here so far");
        return -1;
    }
    const char *t = e->u.interval.text;
    int64_t whole = 0, frac = 0, scale = 1;
    const char *c = t;
    if (signed_ok) {
        *neg = e->u.interval.sign < 0;
        if (*c == '-' || *c == '+')
            *neg ^= *c++ == '-';
    }
    const char *digits = c;
    for (; *c >= '0' && *c <= '9' && whole < INT64_MAX / 100; c++)
        whole = whole * 10 + (*c - '0');
    if (*c == '.' && q->start == RILL_SQL_UNIT_SECOND)
        for (c++; *c >= '0' && *c <= '9' && scale < 1000; c++) {
            frac = frac * 10 + (*c - '0');
            scale *= 10;
        }
    if (c == digits || *c || (!signed_ok && e->u.interval.sign < 0)) {
        rill__sql_error(pc->err, pc->text, e->pos,
                        "Illegal interval literal '%s' (a positive "
                        "number of the unit, SECOND with at most 3 decimals)",
                        t);
        return -1;
    }
    int64_t mult = unit_ms[q->start];
    if (whole > INT64_MAX / mult / 2) {
        rill__sql_error(pc->err, pc->text, e->pos, "Interval '%s' is too long", t);
        return -1;
    }
    return whole * mult + frac * (1000 / scale);
}

int64_t rill__sql_interval_ms(plan_ctx *pc, const rill__sql_expr *e)
{
    bool neg;
    return interval_ms(pc, e, false, &neg);
}

/* A window's offset: any interval literal, negative ones too (Flink's; the windows are the
 * same as for the offset plus a multiple of the size). -1 with the error set, else 0. */
static int window_offset_ms(plan_ctx *pc, const rill__sql_expr *e, int64_t *out)
{
    bool neg;
    int64_t v = interval_ms(pc, e, true, &neg);
    if (v < 0)
        return -1;
    *out = neg ? -v : v;
    return 0;
}

/* ---- the TVF ----------------------------------------------------------------------------------
 */

/* The arguments of a TVF call by their positions or names (DATA, TIMECOL, SIZE, SLIDE, STEP,
 * OFFSET). NULL for one not given. */
static const rill__sql_expr *tvf_arg(const rill__sql_call *c, int pos, const char *name)
{
    for (size_t i = 0; i < c->n_args; i++) {
        const rill__sql_expr *a = c->args[i];
        if (a->kind == RILL_SQL_E_NAMED_ARG) {
            if (!strcasecmp(a->u.named.name.text, name))
                return a->u.named.value;
        } else if ((int)i == pos) {
            return a;
        }
    }
    return NULL;
}

static rel *window_rel(plan_ctx *pc, rel *in, const rill__sql_name *tn, const char *fn,
                       const rill__sql_expr *size, const rill__sql_expr *slide,
                       const rill__sql_expr *offset);

rel *rill__sql_plan_tvf(plan_ctx *pc, const rill__sql_from *f,
                        rel *(*plan_from)(plan_ctx *, const rill__sql_from *))
{
    const rill__sql_expr *call = f->u.call;
    if (call->kind != RILL_SQL_E_CALL || f->lateral)
        return ERR(pc, f->pos, "Table functions other than window TVFs are not supported yet");
    const rill__sql_call *c = &call->u.call;
    const char *fn = c->name.parts[c->name.n_parts - 1].text;
    bool tumble = !strcasecmp(fn, "TUMBLE"), hop = !strcasecmp(fn, "HOP");
    bool session = !strcasecmp(fn, "SESSION"), cumulate = !strcasecmp(fn, "CUMULATE");
    if (!tumble && !hop && !session && !cumulate)
        return ERR(pc, call->pos,
                   "The window TVF %s is not supported yet (TUMBLE, HOP, CUMULATE, SESSION)", fn);
    bool stepped = hop || cumulate; /* a slide (HOP) or step (CUMULATE) before the size */
    const rill__sql_expr *data = tvf_arg(c, 0, "DATA"), *timecol = tvf_arg(c, 1, "TIMECOL");
    const rill__sql_expr *size =
        session ? tvf_arg(c, 2, "GAP") : tvf_arg(c, tumble ? 2 : 3, "SIZE");
    const rill__sql_expr *slide = hop        ? tvf_arg(c, 2, "SLIDE")
                                  : cumulate ? tvf_arg(c, 2, "STEP")
                                             : NULL;
    const rill__sql_expr *offset = session ? NULL : tvf_arg(c, tumble ? 3 : 4, "OFFSET");
    if (!data || data->kind != RILL_SQL_E_TABLE_ARG || !timecol || !size || (stepped && !slide))
        return ERR(pc, call->pos, "%s takes (TABLE t%s, DESCRIPTOR(time column), %s)", fn,
                   session ? " [PARTITION BY k]" : "",
                   session    ? "gap"
                   : hop      ? "slide, size [, offset]"
                   : cumulate ? "step, size [, offset]"
                              : "size [, offset]");
    if (data->u.table_arg.n_partition && !session)
        return ERR(pc, data->pos, "PARTITION BY is for SESSION windows");
    /* the input: the table or view named */
    rill__sql_from tf = {.kind = RILL_SQL_F_TABLE, .pos = data->pos};
    tf.u.table.name = data->u.table_arg.table;
    rel *in = plan_from(pc, &tf);
    if (!in)
        return NULL;
    if (timecol->kind != RILL_SQL_E_CALL ||
        strcasecmp(timecol->u.call.name.parts[0].text, "DESCRIPTOR") ||
        timecol->u.call.n_args != 1 || timecol->u.call.args[0]->kind != RILL_SQL_E_IDENT)
        return ERR(pc, timecol->pos, "Expected DESCRIPTOR(time column)");
    rel *r = window_rel(pc, in, &timecol->u.call.args[0]->u.name, fn, size, slide, offset);
    if (!r)
        return NULL;
    /* SESSION's PARTITION BY columns: the GROUP BY must have them (sessions are per key) */
    r->n_keys = (int)data->u.table_arg.n_partition;
    r->keys = rill__arena_alloc(pc->a, (size_t)(r->n_keys + 1) * sizeof *r->keys);
    for (int i = 0; i < r->n_keys; i++) {
        const rill__sql_expr *pe = data->u.table_arg.partition[i];
        int pcol = -1;
        if (pe->kind == RILL_SQL_E_IDENT)
            for (int k = 0; k < in->n_cols && pcol < 0; k++)
                if (!strcmp(in->cols[k].name, pe->u.name.parts[pe->u.name.n_parts - 1].text))
                    pcol = k;
        if (pcol < 0)
            return ERR(pc, pe->pos, "PARTITION BY takes columns of the window's input");
        r->keys[i] = pcol;
    }
    return r;
}

/* The window TVF fn (TUMBLE, HOP, CUMULATE, SESSION) over in's time attribute tn: in's columns,
 * then window_start, window_end, window_time. */
static rel *window_rel(plan_ctx *pc, rel *in, const rill__sql_name *tn, const char *fn,
                       const rill__sql_expr *size, const rill__sql_expr *slide,
                       const rill__sql_expr *offset)
{
    bool tumble = !strcasecmp(fn, "TUMBLE"), hop = !strcasecmp(fn, "HOP");
    bool session = !strcasecmp(fn, "SESSION"), cumulate = !strcasecmp(fn, "CUMULATE");
    bool stepped = hop || cumulate;
    int tc = -1;
    for (int i = 0; i < in->n_cols && tc < 0; i++)
        if (!strcmp(in->cols[i].name, tn->parts[tn->n_parts - 1].text))
            tc = i;
    if (tc < 0)
        return ERR(pc, tn->pos, "Column '%s' not found in the window TVF's input",
                   tn->parts[tn->n_parts - 1].text);
    bool proctime = in->cols[tc].type->attr == RILL_SQLA_PROCTIME;
    if (in->cols[tc].type->attr != RILL_SQLA_ROWTIME && !proctime)
        return ERR(pc, tn->pos,
                   "The window function requires the timecol is a time attribute "
                   "type, but is %s",
                   rill__sql_type_str(pc->a, in->cols[tc].type));
    int64_t sz = rill__sql_interval_ms(pc, size), sl = slide ? rill__sql_interval_ms(pc, slide) : 0;
    int64_t off = 0;
    if (sz < 0 || sl < 0 || (offset && window_offset_ms(pc, offset, &off) < 0))
        return NULL;
    if (sz == 0 || (stepped && sl == 0))
        return ERR(pc, size->pos, "A window's size, slide, step and gap must be positive");
    if (cumulate && sz % sl)
        return ERR(pc, size->pos,
                   "CUMULATE table function requires size must be an integral multiple of step, "
                   "but got size %lld ms and step %lld ms",
                   (long long)sz, (long long)sl);
    rel *r = rill__arena_alloc(pc->a, sizeof *r);
    memset(r, 0, sizeof *r);
    r->kind = REL_WINDOW_TVF;
    r->input = in;
    r->time_col = tc;
    r->window = (rill_window_spec){.kind = session    ? RILL_WINDOW_SESSION
                                           : tumble   ? RILL_WINDOW_TUMBLING
                                           : cumulate ? RILL_WINDOW_CUMULATE
                                                      : RILL_WINDOW_SLIDING,
                                   .domain = proctime ? RILL_PROCESSING_TIME : RILL_EVENT_TIME,
                                   .size_ms = session ? 0 : sz,
                                   .gap_ms = session ? sz : 0,
                                   .slide_ms = stepped ? sl : 0,
                                   .offset_ms = off};
    /* the input's columns, then window_start, window_end, window_time */
    r->n_cols = in->n_cols + 3;
    r->cols = rill__arena_alloc(pc->a, (size_t)r->n_cols * sizeof *r->cols);
    memcpy(r->cols, in->cols, (size_t)in->n_cols * sizeof *r->cols);
    /* Flink's (TimeWindowUtil): over a TIMESTAMP_LTZ time attribute (processing time is one)
     * the windows are of the session zone's local time; window_start and window_end are
     * TIMESTAMP(3) in it, window_time has the time attribute's type */
    bool ltz = in->cols[tc].type->root == RILL_SQLT_TIMESTAMP_LTZ;
    const char *zone = rill__sql_session_zone(pc->s);
    if (ltz && strcmp(zone, "UTC"))
        r->window.time_zone = rill__arena_strdup(pc->a, zone);
    const rill__sql_ltype *ts = rill__sql_type_make(pc->a, RILL_SQLT_TIMESTAMP, 3, 0, false);
    const rill__sql_ltype *wt = rill__sql_type_make(
        pc->a, ltz ? RILL_SQLT_TIMESTAMP_LTZ : RILL_SQLT_TIMESTAMP, 3, 0, false);
    r->cols[in->n_cols] = (rel_col){"window_start", ts, NULL, false};
    r->cols[in->n_cols + 1] = (rel_col){"window_end", ts, NULL, false};
    r->cols[in->n_cols + 2] = (rel_col){
        "window_time",
        rill__sql_type_with_attr(pc->a, wt, proctime ? RILL_SQLA_PROCTIME : RILL_SQLA_ROWTIME),
        NULL, false};
    for (int i = 0; i < in->n_cols; i++) /* the input's time attribute is a plain value now */
        if (r->cols[i].type->attr != RILL_SQLA_NONE)
            r->cols[i].type = rill__sql_type_with_attr(pc->a, r->cols[i].type, RILL_SQLA_NONE);
    return r;
}

/* ---- the aggregation ----------------------------------------------------------------------------
 */

/* Whether every column x reads is below n. */
static bool rex_within(const rill__sql_rex *x, int n)
{
    if (x->op == RILL_SQLX_INPUT)
        return x->input < n;
    for (int i = 0; i < x->n_args; i++)
        if (!rex_within(x->args[i], n))
            return false;
    return true;
}

/* A grouped query: over a window TVF (tvf's kind REL_WINDOW_TVF: GROUP BY keys, window_start,
 * window_end) or over any input (a GROUP BY whose rows update: REL_GROUP_AGG). */
/* Whether e is a legacy group window: TUMBLE(ts, size), HOP(ts, slide, size) or
 * SESSION(ts, gap) written in GROUP BY. */
static bool legacy_window(const rill__sql_expr *e)
{
    if (e->kind != RILL_SQL_E_CALL || e->u.call.form != RILL_SQL_C_PLAIN ||
        e->u.call.name.n_parts != 1)
        return false;
    const char *n = e->u.call.name.parts[0].text;
    return !strcasecmp(n, "TUMBLE") || !strcasecmp(n, "HOP") || !strcasecmp(n, "SESSION");
}

/* A calc over a window TVF (a view `SELECT *, f(x) AS y FROM TABLE(TUMBLE(...))`, or one that
 * renames window_start): the same rows as that window TVF over a calc of the TVF's input, so
 * that GROUP BY window_start, window_end over it is a window aggregation, as Flink's window
 * properties pass through projections. in itself when it is not one (or its filter or an
 * expression reads a window column). */
static rel *tvf_through_calc(plan_ctx *pc, rel *in)
{
    if (in->kind != REL_CALC || !in->input || in->input->kind != REL_WINDOW_TVF)
        return in;
    const rel *t = in->input, *x = t->input;
    int nx = x->n_cols;
    if (in->filter && !rex_within(in->filter, nx))
        return in;
    rel_col *cols = rill__arena_alloc(pc->a, (size_t)(in->n_cols + 2) * sizeof *cols);
    rill__sql_rex **outs = rill__arena_alloc(pc->a, (size_t)(in->n_cols + 2) * sizeof *outs);
    const char *wnames[3] = {"$window_start", "$window_end", "$window_time"};
    const char *wquals[3] = {NULL, NULL, NULL};
    int n = 0, time_col = -1;
    for (int i = 0; i < in->n_cols; i++) {
        const rill__sql_rex *o = in->outs[i];
        if (o->op == RILL_SQLX_INPUT && o->input >= nx) { /* window_start, _end, _time */
            wnames[o->input - nx] = in->cols[i].name;
            wquals[o->input - nx] = in->cols[i].qual;
            continue;
        }
        if (!rex_within(o, nx))
            return in;
        if (o->op == RILL_SQLX_INPUT && o->input == t->time_col && time_col < 0)
            time_col = n;
        cols[n] = in->cols[i];
        cols[n].type = o->type;
        outs[n++] = in->outs[i];
    }
    if (time_col < 0) { /* the time attribute, read by the windows though not projected */
        time_col = n;
        cols[n] = (rel_col){"$rowtime", x->cols[t->time_col].type, NULL, false};
        outs[n++] = rill__sql_x_input(pc->a, t->time_col, x->cols[t->time_col].type);
    }
    rel *c = rill__arena_alloc(pc->a, sizeof *c);
    memset(c, 0, sizeof *c);
    c->kind = REL_CALC;
    c->input = (rel *)x;
    c->updates = x->updates;
    c->n_cols = n;
    c->cols = cols;
    c->outs = outs;
    c->filter = in->filter;
    rel *w = rill__arena_alloc(pc->a, sizeof *w);
    *w = *t;
    w->input = c;
    w->time_col = time_col;
    w->n_cols = n + 3;
    w->cols = rill__arena_alloc(pc->a, (size_t)w->n_cols * sizeof *w->cols);
    memcpy(w->cols, cols, (size_t)n * sizeof *w->cols);
    for (int k = 0; k < 3; k++)
        w->cols[n + k] = (rel_col){wnames[k], t->cols[nx + k].type, wquals[k], false};
    return w;
}

/* The rows of a window aggregation (in) as a window TVF of their own windows, for a window
 * aggregation of them grouped by that window (Flink's cascading window aggregation, Nexmark
 * q5): each row's time is its window's end - 1 ms (the time the first aggregation gives its
 * rows), in a tumbling window of 1 ms of its own, so each window of the first is grouped alone
 * and fires when the watermark passes its end; its start and end are grouped as keys. */
static rel *cascade_tvf(plan_ctx *pc, rel *in, int end_col, const rill_window_spec *first)
{
    rill__arena *a = pc->a;
    int n = in->n_cols;
    /* windows of local time (a zone): their rows' time is the instant of end - 1 ms */
    const rill__sql_ltype *ts = rill__sql_type_with_attr(
        a,
        rill__sql_type_make(a, first->time_zone ? RILL_SQLT_TIMESTAMP_LTZ : RILL_SQLT_TIMESTAMP, 3,
                            0, false),
        RILL_SQLA_ROWTIME);
    rel *c = rill__arena_alloc(a, sizeof *c);
    memset(c, 0, sizeof *c);
    c->kind = REL_CALC;
    c->input = in;
    c->n_cols = n + 1;
    c->cols = rill__arena_alloc(a, (size_t)(n + 1) * sizeof *c->cols);
    c->outs = rill__arena_alloc(a, (size_t)(n + 1) * sizeof *c->outs);
    for (int i = 0; i < n; i++) {
        c->cols[i] = in->cols[i];
        c->outs[i] = rill__sql_x_input(a, i, in->cols[i].type);
    }
    const rill__sql_ltype *ms =
        rill__sql_type_interval(a, RILL_SQLU_SECOND, RILL_SQLU_SECOND, 2, 3, false);
    rill__sql_rex *args[2] = {rill__sql_x_input(a, end_col, in->cols[end_col].type),
                              rill__sql_x_literal(a, ms, 1)};
    c->cols[n] = (rel_col){"$window_time", ts, NULL, false};
    c->outs[n] = rill__sql_x_call(a, RILL_SQLX_MINUS,
                                  first->time_zone ? in->cols[end_col].type : ts, 2, args);
    if (first->time_zone)
        c->outs[n] = rill__sql_cast_to(pc, c->outs[n], ts);
    rel *w = rill__arena_alloc(a, sizeof *w);
    memset(w, 0, sizeof *w);
    w->kind = REL_WINDOW_TVF;
    w->input = c;
    w->time_col = n;
    w->window =
        (rill_window_spec){.kind = RILL_WINDOW_TUMBLING, .domain = RILL_EVENT_TIME, .size_ms = 1};
    w->n_cols = n + 4;
    w->cols = rill__arena_alloc(a, (size_t)w->n_cols * sizeof *w->cols);
    memcpy(w->cols, c->cols, (size_t)(n + 1) * sizeof *w->cols);
    const rill__sql_ltype *plain = rill__sql_type_make(a, RILL_SQLT_TIMESTAMP, 3, 0, false);
    w->cols[n + 1] = (rel_col){"$cascade_start", plain, NULL, false};
    w->cols[n + 2] = (rel_col){"$cascade_end", plain, NULL, false};
    w->cols[n + 3] = (rel_col){"$cascade_time", ts, NULL, false};
    return w;
}

/* The columns of GROUP BY items (plain names) of in that are a window aggregation's window
 * start and end (one window for both), or -1. */
static const rill_window_spec *cascade_of(const rill__sql_query *q, const rel *in, int *start,
                                          int *end)
{
    const rill_window_spec *cw = NULL;
    *start = *end = -1;
    for (size_t i = 0; i < q->u.select.n_group; i++) {
        const rill__sql_group *g = q->u.select.group[i];
        if (g->kind != RILL_SQL_G_EXPR || g->expr->kind != RILL_SQL_E_IDENT)
            continue;
        const rill__sql_name *nm = &g->expr->u.name;
        const char *name = nm->parts[nm->n_parts - 1].text;
        for (int k = 0; k < in->n_cols; k++) {
            if (strcmp(in->cols[k].name, name))
                continue;
            int prop = 0;
            bool agg = false;
            const rill_window_spec *w = rill__sql_window_of(in, k, &prop, &agg);
            if (w && agg && w->domain == RILL_EVENT_TIME && (!cw || cw == w)) {
                cw = w;
                *(prop == 1 ? start : end) = k;
            }
            break;
        }
    }
    return *start >= 0 && *end >= 0 ? cw : NULL;
}

rel *rill__sql_plan_window_agg(plan_ctx *pc, const rill__sql_query *q, rel *tvf)
{
    tvf = tvf_through_calc(pc, tvf);
    /* a legacy group window: the window TVF it stands for, over the input */
    const rill__sql_expr *legacy = NULL;
    for (size_t i = 0; i < q->u.select.n_group; i++) {
        const rill__sql_group *g = q->u.select.group[i];
        if (g->kind != RILL_SQL_G_EXPR || !legacy_window(g->expr))
            continue;
        if (legacy)
            return ERR(pc, g->pos, "A GROUP BY takes one group window");
        if (tvf->kind == REL_WINDOW_TVF)
            return ERR(pc, g->pos, "A group window over a window TVF");
        legacy = g->expr;
        const rill__sql_call *c = &legacy->u.call;
        const char *fn = c->name.parts[0].text;
        bool hop = !strcasecmp(fn, "HOP");
        if (c->n_args != (hop ? 3u : 2u) || c->args[0]->kind != RILL_SQL_E_IDENT)
            return ERR(pc, legacy->pos, "%s takes (time attribute, %s)", fn,
                       hop                          ? "slide, size"
                       : !strcasecmp(fn, "SESSION") ? "gap"
                                                    : "size");
        if (tvf->updates)
            return ERR(pc, legacy->pos, "A group window over an updating input is not supported");
        tvf = window_rel(pc, tvf, &c->args[0]->u.name, fn, c->args[hop ? 2 : 1],
                         hop ? c->args[1] : NULL, NULL);
        if (!tvf)
            return NULL;
    }
    int cas_start = -1, cas_end = -1;
    const rill_window_spec *cas_w = NULL;
    if (!legacy && tvf->kind != REL_WINDOW_TVF && !tvf->updates &&
        (cas_w = cascade_of(q, tvf, &cas_start, &cas_end)))
        tvf = cascade_tvf(pc, tvf, cas_end, cas_w);
    bool windowed = tvf->kind == REL_WINDOW_TVF;
    const rel *src = windowed ? tvf->input : tvf; /* what the aggregates read */
    int ws = windowed ? tvf->input->n_cols : -1, we = windowed ? ws + 1 : -1;
    /* a cascade groups by the first window's start and end (keys), its own 1 ms one implied */
    bool has_start = cas_w != NULL, has_end = cas_w != NULL;
    int n_keys = 0;
    int *keys = rill__arena_alloc(pc->a, (q->u.select.n_group + 1) * sizeof *keys);
    size_t n_group = q->u.select.n_group;
    /* GROUP BY expressions: computed before the aggregation (as its arguments are) */
    rill__sql_rex **gexprs = rill__arena_alloc(pc->a, (n_group + 1) * sizeof *gexprs);
    const char **gtexts = rill__arena_alloc(pc->a, (n_group + 1) * sizeof *gtexts);
    int *gcols = rill__arena_alloc(pc->a, (n_group + 1) * sizeof *gcols);
    int n_gexprs = 0;
    for (size_t i = 0; i < n_group; i++) {
        const rill__sql_group *g = q->u.select.group[i];
        if (g->kind != RILL_SQL_G_EXPR || g->expr->kind == RILL_SQL_E_ROW)
            return ERR(pc, g->pos, "GROUPING SETS, ROLLUP and CUBE are not supported yet");
        if (g->expr == legacy) { /* the group window: window_start and window_end */
            has_start = has_end = true;
            continue;
        }
        if (g->expr->kind != RILL_SQL_E_IDENT) {
            agg_ctx *saved = pc->agg;
            pc->agg = NULL;
            rill__sql_rex *x = rill__sql_bind(pc, src, g->expr);
            pc->agg = saved;
            if (!x)
                return NULL;
            rill__buf b = {0};
            rill__sql_print_expr(&b, g->expr);
            rill__buf_putc(&b, '\0');
            gtexts[n_gexprs] = rill__arena_strdup(pc->a, (const char *)b.data);
            rill__buf_free(&b);
            gcols[n_gexprs] = n_keys; /* its column among the aggregation's keys */
            gexprs[n_gexprs++] = x;
            keys[n_keys++] = src->n_cols + n_gexprs - 1; /* a column of the calc before */
            continue;
        }
        const rill__sql_name *n = &g->expr->u.name;
        const char *name = n->parts[n->n_parts - 1].text;
        int c = -1;
        for (int k = 0; k < tvf->n_cols && c < 0; k++)
            if (!strcmp(tvf->cols[k].name, name))
                c = k;
        if (c < 0)
            return ERR(pc, g->pos, "Column '%s' not found in any table", name);
        if (c == ws)
            has_start = true;
        else if (c == we)
            has_end = true;
        else if (windowed && c == ws + 2)
            return ERR(pc, g->pos, "GROUP BY window_time is not supported yet");
        else
            keys[n_keys++] = c;
    }
    if (legacy && tvf->window.kind == RILL_WINDOW_SESSION) { /* sessions per group key */
        if (n_gexprs)
            return ERR(pc, q->pos,
                       "A SESSION group window's other GROUP BY items must be "
                       "columns");
        tvf->n_keys = n_keys;
        tvf->keys = keys;
    }
    if (windowed && tvf->window.kind == RILL_WINDOW_SESSION) {
        /* sessions are per key: Flink's partition columns, which the keys must be */
        bool same = n_gexprs == 0 && n_keys == tvf->n_keys;
        for (int i = 0; same && i < n_keys; i++) {
            bool found = false;
            for (int k = 0; k < tvf->n_keys; k++)
                found |= keys[i] == tvf->keys[k];
            same = found;
        }
        if (!same)
            return ERR(pc, q->pos,
                       "A SESSION window's GROUP BY must be its PARTITION BY "
                       "columns with window_start and window_end");
    }
    if (windowed && (!has_start || !has_end))
        return ERR(pc, q->pos,
                   "A window aggregation must GROUP BY window_start and window_end "
                   "(Flink's window TVF aggregation)");
    /* the aggregation's columns: the keys, window_start, window_end, the aggregates */
    rel *agg = rill__arena_alloc(pc->a, sizeof *agg);
    memset(agg, 0, sizeof *agg);
    agg->kind = windowed ? REL_WINDOW_AGG : REL_GROUP_AGG;
    agg->input = (rel *)src;
    agg->time_col = tvf->time_col;
    agg->window = tvf->window;
    int n_extra = windowed ? 2 : 0; /* window_start, window_end after the keys */
    agg->n_keys = n_keys;
    agg->keys = keys;
    agg->cas_start = agg->cas_end = -1;
    for (int i = 0; cas_w && i < n_keys; i++) { /* the first window's start and end keys */
        if (keys[i] == cas_start)
            agg->cas_start = i;
        if (keys[i] == cas_end)
            agg->cas_end = i;
    }
    agg->cas_window = cas_w && agg->cas_start >= 0 && agg->cas_end >= 0 ? cas_w : NULL;
    agg_ctx actx = {.input = tvf,
                    .first_col = n_keys + n_extra,
                    .expr_base = src->n_cols,
                    .n_group_exprs = n_gexprs,
                    .group_texts = gtexts,
                    .group_cols = gcols,
                    .n_exprs = n_gexprs,
                    .cap_exprs = (int)n_group + 1,
                    .exprs = gexprs,
                    .legacy = legacy};
    /* a view of the aggregation's columns to bind the select list against */
    int cap = n_keys + n_extra + 64;
    rel view = {.kind = agg->kind, .n_cols = cap};
    view.cols = rill__arena_alloc(pc->a, (size_t)cap * sizeof *view.cols);
    for (int i = 0, e = 0; i < n_keys; i++) {
        if (keys[i] >= src->n_cols) { /* a GROUP BY expression */
            view.cols[i] = (rel_col){gtexts[e], gexprs[e]->type, NULL, false};
            e++;
        } else {
            view.cols[i] = tvf->cols[keys[i]];
        }
    }
    if (windowed) {
        view.cols[n_keys] = tvf->cols[ws];
        view.cols[n_keys + 1] = tvf->cols[we];
    }
    for (int i = n_keys + n_extra; i < cap; i++)
        view.cols[i] = (rel_col){"$agg", NULL, NULL, false}; /* no name resolves to these */
    view.n_cols = n_keys + n_extra;
    pc->agg = &actx;
    rel *c = rill__arena_alloc(pc->a, sizeof *c);
    memset(c, 0, sizeof *c);
    c->kind = REL_CALC;
    c->input = agg;
    int n_items = (int)q->u.select.n_items;
    c->cols = rill__arena_alloc(pc->a, (size_t)(n_items + 1) * sizeof *c->cols);
    c->outs = rill__arena_alloc(pc->a, (size_t)(n_items + 1) * sizeof *c->outs);
    rel *out = c;
    if (q->u.select.where) {
        /* WHERE goes below the aggregation: over its input */
        pc->agg = NULL;
        rill__sql_rex *w = rill__sql_bind(pc, src, q->u.select.where);
        if (!w) {
            out = NULL;
        } else {
            rel *f = rill__sql_filtered(pc, (rel *)src, w);
            agg->input = f;
            /* a bound on the rank of a ranking below (a Top-N, a deduplication) */
            if (rill__sql_rank_filter(pc, f))
                out = NULL;
        }
        pc->agg = &actx;
    }
    for (int i = 0; out && i < n_items; i++) {
        const rill__sql_item *it = &q->u.select.items[i];
        if (it->expr->kind == RILL_SQL_E_STAR) {
            out = ERR(pc, it->expr->pos, "SELECT * over an aggregation is not supported");
            break;
        }
        rill__sql_rex *x = rill__sql_bind(pc, &view, it->expr);
        if (!x) {
            out = NULL;
            break;
        }
        const char *name = it->alias ? it->alias->text : NULL;
        if (!name && it->expr->kind == RILL_SQL_E_IDENT)
            name = it->expr->u.name.parts[it->expr->u.name.n_parts - 1].text;
        if (!name) {
            char *s = rill__arena_alloc(pc->a, 24);
            snprintf(s, 24, "EXPR$%d", i);
            name = s;
        }
        c->cols[i] = (rel_col){name, x->type, NULL, false};
        c->outs[i] = x;
    }
    if (out && q->u.select.having) {
        rill__sql_rex *h = rill__sql_bind(pc, &view, q->u.select.having);
        if (!h)
            out = NULL;
        else if (h->type->root != RILL_SQLT_BOOLEAN && h->type->root != RILL_SQLT_NULL)
            out = ERR(pc, q->u.select.having->pos, "HAVING must be a condition");
        else
            c->filter = h;
    }
    pc->agg = NULL;
    if (out && actx.n_exprs > 0) {
        /* the aggregates' expression arguments: a calc before the aggregation appends them to
         * its input's columns (rows and event time pass through) */
        const rel *base = agg->input;
        rel *e = rill__arena_alloc(pc->a, sizeof *e);
        memset(e, 0, sizeof *e);
        e->kind = REL_CALC;
        e->input = (rel *)base;
        e->updates = base->updates;
        e->n_cols = base->n_cols + actx.n_exprs;
        e->cols = rill__arena_alloc(pc->a, (size_t)e->n_cols * sizeof *e->cols);
        e->outs = rill__arena_alloc(pc->a, (size_t)e->n_cols * sizeof *e->outs);
        memcpy(e->cols, base->cols, (size_t)base->n_cols * sizeof *e->cols);
        for (int i = 0; i < base->n_cols; i++)
            e->outs[i] = rill__sql_x_input(pc->a, i, base->cols[i].type);
        for (int i = 0; i < actx.n_exprs; i++) {
            if (!rex_within(actx.exprs[i], base->n_cols)) {
                out = ERR(pc, actx.exprs[i]->pos,
                          "An aggregate of window_start, window_end or "
                          "window_time is not supported yet");
                break;
            }
            const char *name = i < n_gexprs ? gtexts[i] : NULL;
            if (!name) {
                char *nm = rill__arena_alloc(pc->a, 16);
                snprintf(nm, 16, "$e%d", i);
                name = nm;
            }
            e->cols[base->n_cols + i] = (rel_col){name, actx.exprs[i]->type, NULL, false};
            e->outs[base->n_cols + i] = actx.exprs[i];
        }
        agg->input = e;
    }
    if (!out)
        return NULL;
    c->n_cols = n_items;
    agg->n_aggs = actx.n_aggs;
    agg->aggs = actx.aggs;
    agg->n_cols = n_keys + n_extra + actx.n_aggs;
    agg->cols = rill__arena_alloc(pc->a, (size_t)agg->n_cols * sizeof *agg->cols);
    memcpy(agg->cols, view.cols, (size_t)(n_keys + n_extra) * sizeof *agg->cols);
    static const char *const names[] = {"COUNT(*)", "COUNT", "SUM", "MIN", "MAX", "AVG"};
    for (int i = 0; i < actx.n_aggs; i++) { /* named as Flink's plans show them */
        const rel_agg *g = &actx.aggs[i];
        char *name = rill__arena_alloc(pc->a, 300);
        if (g->kind == AGG_COUNT_STAR)
            snprintf(name, 300, "COUNT(*)");
        else
            snprintf(name, 300, "%s(%s%s)", names[g->kind], g->distinct ? "DISTINCT " : "",
                     g->arg < src->n_cols ? tvf->cols[g->arg].name : "$e");
        agg->cols[n_keys + n_extra + i] = (rel_col){name, actx.aggs[i].type, NULL, false};
    }
    if (!windowed) /* a GROUP BY's rows update: a changelog from here on */
        agg->updates = c->updates = true;
    return c;
}

/* ---- streams -------------------------------------------------------------------------------- */

static char *field_name(plan_ctx *pc, int i)
{
    char *s = rill__arena_alloc(pc->a, 16);
    snprintf(s, 16, "c%d", i);
    return s;
}

/* Whether aggregate g needs SQL's own accumulators rather than the window operator's built-in
 * ones (which hold a BIGINT, DOUBLE or TIMESTAMP value of fixed size): an argument of DECIMAL,
 * a DISTINCT one, a MIN/MAX of strings (or dates, times, booleans). */
/* For a window aggregation's uid: what computes its time column, keys and aggregates'
 * arguments from the tables (a filter before it is no part of it). */
static void lineage(rill__buf *d, const rel *r)
{
    rill__buf_printf(d, "; time=");
    if (r->time_col >= 0)
        rill__sql_put_lineage(d, r->input, r->time_col);
    for (int i = 0; i < r->n_keys; i++) {
        rill__buf_printf(d, "; key=");
        rill__sql_put_lineage(d, r->input, r->keys[i]);
    }
    for (int i = 0; i < r->n_aggs; i++) {
        rill__buf_printf(d, "; arg=");
        if (r->aggs[i].arg >= 0)
            rill__sql_put_lineage(d, r->input, r->aggs[i].arg);
    }
}

static bool needs_sql_acc(const rel_agg *g, const rel *in)
{
    if (g->arg < 0)
        return false;
    const rill__sql_ltype *t = in->cols[g->arg].type;
    if (g->distinct || t->root == RILL_SQLT_DECIMAL)
        return true;
    return g->kind != AGG_COUNT && !rill__sql_is_numeric(t) && !rill__sql_is_timestamp(t);
}

/* A window aggregation with SQL's own accumulators (aggregates of DECIMAL: exact, 38 digits,
 * NULL past them; DISTINCT; MIN/MAX of strings), in the window operator's slices. */
static rill_stream *window_agg_sql(plan_ctx *pc, rel *r)
{
    rill__arena *a = pc->a;
    const rel *in = r->input;
    int n_key_cols = RILL_MAX(r->n_keys, 1), n = n_key_cols + r->n_aggs;
    rel_col *pcols = rill__arena_alloc(a, (size_t)n * sizeof *pcols);
    rill__sql_rex **pouts = rill__arena_alloc(a, (size_t)n * sizeof *pouts);
    const rill__sql_ltype **key_types = rill__arena_alloc(a, (size_t)n_key_cols * sizeof(void *));
    const rill__sql_ltype **arg_types =
        rill__arena_alloc(a, (size_t)(r->n_aggs + 1) * sizeof(void *));
    int k = 0;
    for (int i = 0; i < r->n_keys; i++, k++) {
        pcols[k] = in->cols[r->keys[i]];
        pouts[k] = rill__sql_x_input(a, r->keys[i], in->cols[r->keys[i]].type);
    }
    if (r->n_keys == 0) { /* one group per window */
        pcols[k] = (rel_col){"$key", rill__sql_type_of(a, RILL_SQLT_BIGINT, false), NULL, false};
        pouts[k++] = rill__sql_x_literal(a, pcols[0].type, 0);
    }
    for (int i = 0; i < n_key_cols; i++) {
        key_types[i] = pcols[i].type;
        if (key_types[i]->root == RILL_SQLT_DECIMAL || key_types[i]->root == RILL_SQLT_FLOAT) {
            const rel_agg *g = r->aggs; /* the aggregate that needs SQL's accumulators */
            for (int j = 0; j < r->n_aggs; j++)
                if (needs_sql_acc(&r->aggs[j], in)) {
                    g = &r->aggs[j];
                    break;
                }
            return (rill_stream *)ERR(pc, g->pos,
                                      "This aggregate (DISTINCT, of DECIMAL values, or MIN/MAX "
                                      "of a string, date, time or boolean) in a window "
                                      "aggregation keyed by a DECIMAL or FLOAT column is not "
                                      "supported yet");
        }
    }
    for (int i = 0; i < r->n_aggs; i++, k++) {
        const rel_agg *g = &r->aggs[i];
        if (g->arg >= 0) {
            pcols[k] = in->cols[g->arg];
            pouts[k] = rill__sql_x_input(a, g->arg, in->cols[g->arg].type);
            arg_types[i] = in->cols[g->arg].type;
        } else { /* COUNT(*) reads nothing */
            pcols[k] =
                (rel_col){"$none", rill__sql_type_of(a, RILL_SQLT_BIGINT, false), NULL, false};
            pouts[k] = rill__sql_x_literal(a, pcols[k].type, 0);
            arg_types[i] = NULL;
        }
    }
    rill_keyed_stream *ks = rill__sql_keyed_input(pc, in, k, pcols, pouts, n_key_cols);
    if (!ks)
        return NULL;
    rill_stream *w = rill__sql_window_agg_sql(pc, r, ks, n_key_cols, key_types, arg_types);
    if (!w)
        return NULL;
    rill__buf d = {0}; /* its uid: the window, the keys, the aggregates and their arguments */
    const rill_window_spec *ws = &r->window;
    rill__buf_printf(&d, "v1 sql window %d %d %lld %lld %lld %lld", (int)ws->kind, (int)ws->domain,
                     (long long)ws->size_ms, (long long)ws->slide_ms, (long long)ws->offset_ms,
                     (long long)ws->gap_ms);
    for (int i = 0; i < k; i++) {
        rill__buf_putc(&d, ' ');
        rill__sql_type_describe(pcols[i].type, &d);
    }
    for (int i = 0; i < r->n_aggs; i++)
        rill__buf_printf(&d, "; %d%s", (int)r->aggs[i].kind,
                         r->aggs[i].distinct ? " distinct" : "");
    lineage(&d, r);
    rill__buf_putc(&d, '\0');
    w = rill__sql_uid(pc, w, "WindowAggregate", (const char *)d.data);
    rill__buf_free(&d);
    if (!w || r->n_keys > 0)
        return w;
    return rill__sql_drop_key_col(pc, w, r); /* without keys: the constant one dropped */
}

rill_stream *rill__sql_build_window_agg(plan_ctx *pc, rel *r)
{
    rill__arena *a = pc->a;
    const rel *in = r->input;
    for (int i = 0; i < r->n_aggs; i++)
        if (needs_sql_acc(&r->aggs[i], in))
            return window_agg_sql(pc, r);
    /* the calc before: the keys (or a constant one), then per aggregate what it accumulates:
     * its argument as BIGINT or DOUBLE (MIN/MAX keep TIMESTAMP), COUNT(x) as 1 or 0 */
    int n_pre = RILL_MAX(r->n_keys, 1) + r->n_aggs;
    rel_col *pcols = rill__arena_alloc(a, (size_t)n_pre * sizeof *pcols);
    rill__sql_rex **pouts = rill__arena_alloc(a, (size_t)n_pre * sizeof *pouts);
    const rill__sql_ltype *bigint = rill__sql_type_of(a, RILL_SQLT_BIGINT, true);
    const rill__sql_ltype *dbl = rill__sql_type_of(a, RILL_SQLT_DOUBLE, true);
    int k = 0;
    for (int i = 0; i < r->n_keys; i++) {
        pcols[k] = in->cols[r->keys[i]];
        pouts[k++] = rill__sql_x_input(a, r->keys[i], in->cols[r->keys[i]].type);
    }
    if (r->n_keys == 0) { /* one group per window */
        pcols[k] = (rel_col){"$key", rill__sql_type_of(a, RILL_SQLT_BIGINT, false), NULL, false};
        pouts[k++] = rill__sql_x_literal(a, pcols[0].type, 0);
    }
    int first_arg = k;
    rill_agg_spec *specs = rill__arena_alloc(a, (size_t)(r->n_aggs + 1) * 2 * sizeof *specs);
    int n_specs = 0;
    int *spec_of = rill__arena_alloc(a, (size_t)(r->n_aggs + 1) * sizeof *spec_of);
    int *count_of = rill__arena_alloc(a, (size_t)(r->n_aggs + 1) * sizeof *count_of);
    for (int i = 0; i < r->n_aggs; i++) {
        const rel_agg *g = &r->aggs[i];
        rill__sql_rex *arg =
            g->arg >= 0 ? rill__sql_x_input(a, g->arg, in->cols[g->arg].type) : NULL;
        const rill__sql_ltype *at = arg ? arg->type : NULL;
        count_of[i] = -1;
        if (g->kind == AGG_COUNT_STAR) {
            pcols[k] = (rel_col){"$one", bigint, NULL, false};
            pouts[k] = rill__sql_x_literal(a, rill__sql_type_of(a, RILL_SQLT_BIGINT, false), 0);
            pcols[k].type = pouts[k]->type;
            specs[n_specs] = (rill_agg_spec){.kind = RILL_AGG_COUNT};
        } else if (g->kind == AGG_COUNT) {
            rill__sql_rex *nn = rill__sql_x_call(
                a, RILL_SQLX_IS_NOT_NULL, rill__sql_type_of(a, RILL_SQLT_BOOLEAN, false), 1, &arg);
            rill__sql_rex *one =
                rill__sql_x_literal(a, rill__sql_type_of(a, RILL_SQLT_BIGINT, false), 1);
            rill__sql_rex *zero = rill__sql_x_literal(a, one->type, 0);
            rill__sql_rex *cw[] = {nn, one, zero};
            pouts[k] = rill__sql_x_call(a, RILL_SQLX_CASE, one->type, 3, cw);
            pcols[k] = (rel_col){"$count", one->type, NULL, false};
            specs[n_specs] = (rill_agg_spec){.kind = RILL_AGG_SUM, .field = field_name(pc, k)};
        } else {
            bool approx = rill__sql_is_approx(at);
            bool keep = (g->kind == AGG_MIN || g->kind == AGG_MAX) && rill__sql_is_timestamp(at);
            const rill__sql_ltype *pt = keep ? at : approx ? dbl : bigint;

            pouts[k] = rill__sql_cast_to(pc, arg, rill__sql_type_with_null(a, pt, true));
            pcols[k] = (rel_col){"$arg", pouts[k]->type, NULL, false};
            rill_agg_kind ak = g->kind == AGG_MIN   ? RILL_AGG_MIN
                               : g->kind == AGG_MAX ? RILL_AGG_MAX
                                                    : RILL_AGG_SUM; /* AVG: SUM / COUNT */
            specs[n_specs] = (rill_agg_spec){.kind = ak, .field = field_name(pc, k)};
            if (g->kind == AGG_AVG) { /* and the count of its values */
                spec_of[i] = n_specs++;
                k++;
                rill__sql_rex *nn =
                    rill__sql_x_call(a, RILL_SQLX_IS_NOT_NULL,
                                     rill__sql_type_of(a, RILL_SQLT_BOOLEAN, false), 1, &arg);
                rill__sql_rex *one =
                    rill__sql_x_literal(a, rill__sql_type_of(a, RILL_SQLT_BIGINT, false), 1);
                rill__sql_rex *zero = rill__sql_x_literal(a, one->type, 0);
                rill__sql_rex *cw[] = {nn, one, zero};
                /* the pre-calc grows by one column for it */
                pcols = (rel_col *)memcpy(rill__arena_alloc(a, (size_t)(n_pre + 1) * sizeof *pcols),
                                          pcols, (size_t)k * sizeof *pcols);
                pouts = (rill__sql_rex **)memcpy(
                    rill__arena_alloc(a, (size_t)(n_pre + 1) * sizeof *pouts), pouts,
                    (size_t)k * sizeof *pouts);
                n_pre++;
                pouts[k] = rill__sql_x_call(a, RILL_SQLX_CASE, one->type, 3, cw);
                pcols[k] = (rel_col){"$count", one->type, NULL, false};
                specs[n_specs] = (rill_agg_spec){.kind = RILL_AGG_SUM, .field = field_name(pc, k)};
                count_of[i] = n_specs++;
                k++;
                continue;
            }
        }
        spec_of[i] = n_specs++;
        k++;
    }
    (void)first_arg;
    if (n_specs == 0) /* GROUP BY window_start, window_end, k alone (the distinct groups of each
                       * window): the window operator needs an aggregate, a count nobody reads */
        specs[n_specs++] = (rill_agg_spec){.kind = RILL_AGG_COUNT};
    /* key_by the keys, then the window aggregate: keys, window_start, window_end, specs */
    int n_key_cols = RILL_MAX(r->n_keys, 1);
    rill_keyed_stream *ks = rill__sql_keyed_input(pc, in, k, pcols, pouts, n_key_cols);
    if (!ks)
        return NULL;
    for (int i = 0; i < n_specs; i++) { /* output names: distinct */
        char *as = rill__arena_alloc(a, 16);
        snprintf(as, 16, "a%d", i);
        specs[i].as = as;
    }
    rill_stream *w = rill_window_aggregate(ks, &r->window, specs, n_specs);
    if (!w)
        return NULL;
    { /* its uid: the window, the keys' and the accumulated columns' types, the aggregates */
        rill__buf d = {0};
        const rill_window_spec *ws = &r->window;
        rill__buf_printf(&d, "v1 window %d %d %lld %lld %lld %lld keys=%d", (int)ws->kind,
                         (int)ws->domain, (long long)ws->size_ms, (long long)ws->slide_ms,
                         (long long)ws->offset_ms, (long long)ws->gap_ms, n_key_cols);
        if (ws->time_zone) /* windows of local time: other windows' state */
            rill__buf_printf(&d, " tz=%s", ws->time_zone);
        for (int i = 0; i < k; i++) {
            rill__buf_putc(&d, ' ');
            rill__sql_type_describe(pcols[i].type, &d);
        }
        for (int i = 0; i < n_specs; i++)
            rill__buf_printf(&d, "; %d %s", (int)specs[i].kind,
                             specs[i].field ? specs[i].field : "*");
        lineage(&d, r);
        rill__buf_putc(&d, '\0');
        w = rill__sql_uid(pc, w, "WindowAggregate", (const char *)d.data);
        rill__buf_free(&d);
    }
    /* the calc after: each aggregate as Flink types and computes it */
    int n_out = r->n_cols;
    rill__sql_rex **outs = rill__arena_alloc(a, (size_t)n_out * sizeof *outs);
    int o = 0;
    int wk = n_key_cols; /* the window operator's columns: keys, start, end, specs */
    for (int i = 0; i < r->n_keys; i++)
        outs[o++] = rill__sql_x_input(a, i, r->cols[i].type);
    const rill__sql_ltype *ts = r->cols[r->n_keys].type; /* window_start's (and _end's) */
    outs[o++] = rill__sql_x_input(a, wk, ts);
    outs[o++] = rill__sql_x_input(a, wk + 1, ts);
    int first_spec = wk + 2;
    for (int i = 0; i < r->n_aggs; i++) {
        const rel_agg *g = &r->aggs[i];
        const rill__sql_ltype *want = g->type;
        const rill__sql_ltype *acc =
            g->kind == AGG_COUNT_STAR || g->kind == AGG_COUNT
                ? rill__sql_type_of(a, RILL_SQLT_BIGINT, false)
                : pcols[RILL_MAX(r->n_keys, 1)].type; /* replaced below per spec */
        (void)acc;
        const rill__sql_ltype *spec_type =
            g->kind == AGG_COUNT_STAR || g->kind == AGG_COUNT
                ? rill__sql_type_of(a, RILL_SQLT_BIGINT, g->kind == AGG_COUNT)
                : rill__sql_type_with_null(
                      a,
                      rill__sql_is_approx(want) ? dbl
                      : (rill__sql_is_timestamp(want) && (g->kind == AGG_MIN || g->kind == AGG_MAX))
                          ? want
                          : bigint,
                      true);
        rill__sql_rex *v = rill__sql_x_input(a, first_spec + spec_of[i], spec_type);
        if (g->kind == AGG_AVG) {
            rill__sql_rex *cnt = rill__sql_x_input(a, first_spec + count_of[i],
                                                   rill__sql_type_of(a, RILL_SQLT_BIGINT, true));
            const rill__sql_ltype *qt = rill__sql_is_approx(want) ? dbl : bigint;
            if (rill__sql_is_approx(want))
                cnt = rill__sql_cast_to(pc, cnt, dbl);
            rill__sql_rex *div[] = {v, cnt};
            /* no values: NULL (the count is 0, so the division is not reached) */
            rill__sql_rex *zero =
                rill__sql_x_literal(a, rill__sql_type_of(a, RILL_SQLT_BIGINT, false), 0);
            rill__sql_rex *cnt0 = rill__sql_x_input(a, first_spec + count_of[i],
                                                    rill__sql_type_of(a, RILL_SQLT_BIGINT, true));
            rill__sql_rex *gt[] = {cnt0, zero};
            rill__sql_rex *pos = rill__sql_x_call(
                a, RILL_SQLX_GT, rill__sql_type_of(a, RILL_SQLT_BOOLEAN, true), 2, gt);
            rill__sql_rex *q = rill__sql_x_call(a, RILL_SQLX_DIVIDE, qt, 2, div);
            rill__sql_rex *cw[] = {pos, q};
            v = rill__sql_x_call(a, RILL_SQLX_CASE, qt, 2, cw);
        }
        outs[o++] = rill__sql_cast_to(pc, v, want);
    }
    rill_schema *out = rill__sql_schema_of(pc, n_out, r->cols);
    if (!out)
        return NULL;
    rill_stream *res = rill__sql_calc(w, out, NULL, n_out, outs, pc->text, pc->err);
    rill_schema_free(out);
    return res;
}

rill_keyed_stream *rill__sql_keyed_input(plan_ctx *pc, const rel *in, int n, const rel_col *cols,
                                         rill__sql_rex *const *outs, int n_keys)
{
    rill_stream *s = rill__sql_build(pc, (rel *)in);
    if (!s)
        return NULL;
    rill_schema *pre = rill__sql_schema_of(pc, n, cols);
    if (!pre)
        return NULL;
    s = rill__sql_calc(s, pre, NULL, n, outs, pc->text, pc->err);
    rill_schema_free(pre);
    if (!s)
        return NULL;
    rill__buf keys = {0};
    for (int i = 0; i < n_keys; i++)
        rill__buf_printf(&keys, "%sc%d", i ? "," : "", i);
    rill__buf_putc(&keys, '\0');
    rill_keyed_stream *ks = rill_stream_key_by(s, (const char *)keys.data);
    rill__buf_free(&keys);
    return ks;
}

rill_keyed_stream *rill__sql_partitioned_input(plan_ctx *pc, const rel *in, int n_part,
                                               const int *part, rill__sql_rex *const *keys,
                                               const rel_col **cols_out)
{
    rill__arena *a = pc->a;
    int n_key = RILL_MAX(n_part, 1), n = n_key + in->n_cols;
    rel_col *cols = rill__arena_alloc(a, (size_t)n * sizeof *cols);
    rill__sql_rex **outs = rill__arena_alloc(a, (size_t)n * sizeof *outs);
    for (int i = 0; i < n_part; i++) {
        if (part) {
            cols[i] = in->cols[part[i]];
            outs[i] = rill__sql_x_input(a, part[i], in->cols[part[i]].type);
        } else { /* a join's keys: both sides' of one type, their nullability may differ */
            cols[i] = (rel_col){"$key", keys[i]->type, NULL, false};
            outs[i] = keys[i];
        }
    }
    if (!n_part) { /* one partition: every row to one subtask */
        cols[0] = (rel_col){"$key", rill__sql_type_of(a, RILL_SQLT_BIGINT, false), NULL, false};
        outs[0] = rill__sql_x_literal(a, cols[0].type, 0);
    }
    for (int i = 0; i < in->n_cols; i++) {
        cols[n_key + i] = in->cols[i];
        outs[n_key + i] = rill__sql_x_input(a, i, in->cols[i].type);
    }
    *cols_out = cols;
    return rill__sql_keyed_input(pc, in, n, cols, outs, n_key);
}
