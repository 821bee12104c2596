/*
 * explain.c - sql layer: EXPLAIN. The plan of a query or an INSERT printed as a tree in the
 * shape of Flink's "Optimized Physical Plan" (one operator a line, its input indented below it
 * with "+- "), each operator with what the engine runs it as: its parallelism, its keys, the
 * state it keeps and the watermark it makes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "functions.h"
#include "sql_int.h"

static void put_cols(rill__buf *b, const rel *r)
{
    for (int i = 0; i < r->n_cols; i++)
        rill__buf_printf(b, "%s%s", i ? ", " : "", r->cols[i].name);
}

static void put_rex_as(rill__buf *b, const rel *in, const rill__sql_rex *x, bool lineage);

static void put_args(rill__buf *b, const rel *in, const rill__sql_rex *x, const char *sep,
                     bool lineage)
{
    for (int i = 0; i < x->n_args; i++) {
        if (i)
            rill__buf_printf(b, "%s", sep);
        put_rex_as(b, in, x->args[i], lineage);
    }
}

static void put_rex(rill__buf *b, const rel *in, const rill__sql_rex *x)
{
    put_rex_as(b, in, x, false);
}

void rill__sql_put_rex_lineage(rill__buf *b, const rel *in, const rill__sql_rex *x)
{
    put_rex_as(b, in, x, true);
}

void rill__sql_put_lineage(rill__buf *b, const rel *r, int col)
{
    switch (r->kind) {
    case REL_CALC:
        put_rex_as(b, r->input, r->outs[col], true);
        return;
    case REL_SCAN:
        rill__buf_printf(b, "%s.%s", r->table->name, r->cols[col].name);
        return;
    case REL_WINDOW_TVF: /* the input's columns, then window_start, window_end, window_time */
    case REL_LIMIT:
    case REL_RANK: /* the input's columns, then the rank */
        if (col < r->input->n_cols) {
            rill__sql_put_lineage(b, r->input, col);
            return;
        }
        break;
    case REL_JOIN: /* the left's columns, then the right's */
        if (col < r->inputs[0]->n_cols) {
            rill__sql_put_lineage(b, r->inputs[0], col);
            return;
        }
        if (col - r->inputs[0]->n_cols < r->inputs[1]->n_cols) {
            rill__sql_put_lineage(b, r->inputs[1], col - r->inputs[0]->n_cols);
            return;
        }
        break;
    case REL_UNION:
        rill__buf_printf(b, "UNION(");
        for (int i = 0; i < r->n_inputs; i++) {
            if (i)
                rill__buf_printf(b, ", ");
            rill__sql_put_lineage(b, r->inputs[i], col);
        }
        rill__buf_putc(b, ')');
        return;
    default:
        break;
    }
    rill__buf_printf(b, "%s", r->cols[col].name);
}

/* An expression over the columns of in, as Flink prints one (names, operators, CAST); with
 * lineage, each column as what computes it (rill__sql_put_lineage). */
static void put_rex_as(rill__buf *b, const rel *in, const rill__sql_rex *x, bool lineage)
{
    static const char *const infix[] = {
        [RILL_SQLX_PLUS] = " + ",    [RILL_SQLX_MINUS] = " - ", [RILL_SQLX_TIMES] = " * ",
        [RILL_SQLX_DIVIDE] = " / ",  [RILL_SQLX_EQ] = " = ",    [RILL_SQLX_NE] = " <> ",
        [RILL_SQLX_LT] = " < ",      [RILL_SQLX_LE] = " <= ",   [RILL_SQLX_GT] = " > ",
        [RILL_SQLX_GE] = " >= ",     [RILL_SQLX_AND] = " AND ", [RILL_SQLX_OR] = " OR ",
        [RILL_SQLX_CONCAT] = " || ",
    };
    switch (x->op) {
    case RILL_SQLX_INPUT:
        if (lineage && in && x->input < in->n_cols)
            rill__sql_put_lineage(b, in, x->input);
        else if (in && x->input < in->n_cols)
            rill__buf_printf(b, "%s", in->cols[x->input].name);
        else
            rill__buf_printf(b, "$%d", x->input);
        return;
    case RILL_SQLX_LITERAL:
        if (x->lit_null)
            rill__buf_printf(b, "null");
        else if (x->lit_bytes && rill__sql_is_character(x->type))
            rill__buf_printf(b, "'%.*s'", (int)x->lit, x->lit_bytes);
        else if (x->type->root == RILL_SQLT_BOOLEAN)
            rill__buf_printf(b, "%s", x->lit ? "true" : "false");
        else if (x->type->root == RILL_SQLT_DOUBLE)
            rill__sql_java_double(b, ((union {
                                         uint64_t u;
                                         double d;
                                     }){.u = x->lit})
                                         .d);
        else if (x->type->root == RILL_SQLT_DECIMAL && x->type->precision <= 18)
            rill__sql_java_bigdecimal(b, (int64_t)x->lit, x->type->scale);
        else
            rill__buf_printf(b, "%lld", (long long)(int64_t)x->lit);
        return;
    case RILL_SQLX_CAST:
        rill__buf_printf(b, "%s(", x->try_cast ? "TRY_CAST" : "CAST");
        put_rex_as(b, in, x->args[0], lineage);
        rill__buf_printf(b, " AS ");
        rill__sql_type_describe(x->type, b);
        rill__buf_printf(b, ")");
        return;
    default:
        break;
    }
    if (x->op < sizeof infix / sizeof *infix && infix[x->op]) {
        rill__buf_putc(b, '(');
        put_args(b, in, x, infix[x->op], lineage);
        rill__buf_putc(b, ')');
        return;
    }
    static const char *const fn[] = {
        [RILL_SQLX_NEG] = "-",
        [RILL_SQLX_MOD] = "MOD",
        [RILL_SQLX_IS_DISTINCT] = "IS DISTINCT FROM",
        [RILL_SQLX_IS_NOT_DISTINCT] = "IS NOT DISTINCT FROM",
        [RILL_SQLX_NOT] = "NOT",
        [RILL_SQLX_IS_NULL] = "IS NULL",
        [RILL_SQLX_IS_NOT_NULL] = "IS NOT NULL",
        [RILL_SQLX_IS_TRUE] = "IS TRUE",
        [RILL_SQLX_IS_NOT_TRUE] = "IS NOT TRUE",
        [RILL_SQLX_IS_FALSE] = "IS FALSE",
        [RILL_SQLX_IS_NOT_FALSE] = "IS NOT FALSE",
        [RILL_SQLX_CASE] = "CASE",
        [RILL_SQLX_COALESCE] = "COALESCE",
        [RILL_SQLX_CHAR_LENGTH] = "CHAR_LENGTH",
        [RILL_SQLX_LIKE] = "LIKE",
    };
    const char *name = x->op == RILL_SQLX_FUNC ? x->call->name
                       : x->op < sizeof fn / sizeof *fn && fn[x->op] ? fn[x->op]
                                                                      : "?";
    rill__buf_printf(b, "%s(", name);
    put_args(b, in, x, ", ", lineage);
    rill__buf_putc(b, ')');
}

/* The row kinds a relation's changelog may hold, as Flink's EXPLAIN CHANGELOG_MODE names them:
 * I (insert), UB and UA (update before, after), D (delete). Aggregations without windows
 * update; one over an updating input can delete a group it empties; the rest pass on what
 * comes in (a union: what any input holds). */
enum { MODE_I = 1, MODE_U = 2, MODE_D = 4 };
static int changelog_mode(const rel *r)
{
    int m = 0;
    switch (r->kind) {
    case REL_CALC:
        return changelog_mode(r->input);
    case REL_UNION:
        for (int i = 0; i < r->n_inputs; i++)
            m |= changelog_mode(r->inputs[i]);
        return m;
    case REL_GROUP_AGG:
        m = changelog_mode(r->input);
        return MODE_I | MODE_U | (m & (MODE_U | MODE_D) ? MODE_D : 0);
    case REL_SCAN: /* an upsert-kafka table's, after its ChangelogNormalize */
        return r->updates ? MODE_I | MODE_U | MODE_D : MODE_I;
    case REL_RANK:
        return rill__sql_rank_changelog(r);
    case REL_OVER:
        return rill__sql_over_changelog(r);
    case REL_JOIN: /* an inner join passes kinds on; padding is sent and taken back */
        m = changelog_mode(r->inputs[0]) | changelog_mode(r->inputs[1]);
        if (r->lookup)
            return changelog_mode(r->inputs[0]);
        if (r->we_key >= 0 || r->interval || r->temporal) /* their rows are final */
            return MODE_I;
        return r->join_kind == RILL_SQL_J_INNER ? m : m | MODE_D;
    default:
        return MODE_I;
    }
}

static void put_mode(rill__buf *b, const rel *r)
{
    int m = changelog_mode(r);
    rill__buf_printf(b, ", changelogMode=[I%s%s]", m & MODE_U ? ",UB,UA" : "", m & MODE_D ? ",D" : "");
}

/* A node's line starts with lead (its parent's prefix and "+- ", or ":- " for a child with
 * siblings after it, as Flink draws trees); its children's lines with pre. */
static void put_rel(plan_ctx *pc, rill__buf *b, const rel *r, const char *lead, const char *pre,
                    int par, bool modes)
{
    char *own_lead = NULL, *own_pre = NULL;
    if (r->has_et) { /* the watermark the table's rows get, above them */
        rill__buf_printf(b, "%sWatermarkAssigner(rowtime=[%s], watermark=[%s - %lld ms], ", lead,
                         r->cols[r->et_col].name, r->cols[r->et_col].name, (long long)r->et_delay);
        const char *idle = rill__sql_session_option(pc->s, "table.exec.source.idle-timeout");
        int64_t idle_ms = 0;
        if (idle && rill__parse_duration(idle, &idle_ms) == 0 && idle_ms > 0)
            rill__buf_printf(b, "idle-timeout=[%lld ms], ", (long long)idle_ms);
        rill__buf_printf(b, "parallelism=[%d], chained)\n", par);
        lead = own_lead = rill__xasprintf("%s+- ", pre);
        pre = own_pre = rill__xasprintf("%s   ", pre);
    }
    char *norm_lead = NULL, *norm_pre = NULL;
    if (r->kind == REL_SCAN && r->updates) { /* upsert-kafka: its upserts made a changelog */
        rill__buf keys = {0};
        for (size_t i = 0; i < r->table->n_pk; i++)
            rill__buf_printf(&keys, "%s%s", i ? ", " : "", r->table->cols[r->table->pk[i]].name);
        rill__buf_putc(&keys, '\0');
        rill__buf_printf(b, "%sChangelogNormalize(key=[%s], parallelism=[%d]", lead,
                         (const char *)keys.data, par);
        if (modes)
            put_mode(b, r);
        rill__buf_printf(b, ")\n%s+- Exchange(distribution=[hash[%s]]", pre,
                         (const char *)keys.data);
        if (modes)
            rill__buf_printf(b, ", changelogMode=[UA,D]");
        rill__buf_printf(b, ")\n");
        rill__buf_free(&keys);
        lead = norm_lead = rill__xasprintf("%s   +- ", pre);
        pre = norm_pre = rill__xasprintf("%s      ", pre);
    }
    rill__buf_printf(b, "%s", lead);
    switch (r->kind) {
    case REL_SCAN: {
        const sql_option *c = rill__sql_table_option(r->table, "connector");
        rill__buf_printf(b, "TableSourceScan(table=[[default_catalog, default_database, %s",
                         r->table->name);
        if (r->leaves && r->n_cols < r->n_leaves) { /* Flink's digest of a pushed projection */
            rill__buf_printf(b, ", project=[");
            put_cols(b, r);
            rill__buf_printf(b, "]");
        }
        const sql_table *base =
            r->table->hinted ? rill__sql_find_table(pc->s, r->table->name) : NULL;
        if (base) { /* OPTIONS hints: what they add or change, as Flink's digest shows them */
            rill__buf_printf(b, ", dynamic options: {");
            for (size_t i = 0, k = 0; i < r->table->n_options; i++) {
                const sql_option *o = &r->table->options[i];
                const sql_option *was = rill__sql_table_option(base, o->key);
                if (!was || strcmp(was->value, o->value))
                    rill__buf_printf(b, "%s%s=%s", k++ ? ", " : "", o->key, o->value);
            }
            rill__buf_printf(b, "}");
        }
        rill__buf_printf(b, "]], fields=[");
        put_cols(b, r);
        rill__buf_printf(b, "], connector=[%s], parallelism=[%d]", c ? c->value : "?", par);
        break;
    }
    case REL_CALC:
        rill__buf_printf(b, "Calc(select=[");
        for (int i = 0; i < r->n_cols; i++) {
            if (i)
                rill__buf_printf(b, ", ");
            put_rex(b, r->input, r->outs[i]);
            if (r->outs[i]->op != RILL_SQLX_INPUT ||
                strcmp(r->cols[i].name, r->input->cols[r->outs[i]->input].name))
                rill__buf_printf(b, " AS %s", r->cols[i].name);
        }
        rill__buf_printf(b, "]");
        if (r->filter) {
            rill__buf_printf(b, ", where=[");
            put_rex(b, r->input, r->filter);
            rill__buf_printf(b, "]");
        }
        rill__buf_printf(b, ", parallelism=[%d], chained", par);
        break;
    case REL_WINDOW_AGG: {
        static const char *const aggs[] = {"COUNT(*)", "COUNT", "SUM", "MIN", "MAX", "AVG"};
        rill__buf_printf(b, "WindowAggregate(groupBy=[");
        for (int i = 0; i < r->n_keys; i++)
            rill__buf_printf(b, "%s%s", i ? ", " : "", r->input->cols[r->keys[i]].name);
        if (r->cas_window) /* a cascade: the input's own windows */
            rill__buf_printf(b, "], window=[CASCADE(windows=[the input's %s windows of %lld ms, "
                                "by %s and %s], fired=[when the watermark passes their end]",
                             r->cas_window->kind == RILL_WINDOW_TUMBLING   ? "TUMBLE"
                             : r->cas_window->kind == RILL_WINDOW_CUMULATE ? "CUMULATE"
                                                                           : "HOP",
                             (long long)r->cas_window->size_ms,
                             r->input->cols[r->keys[r->cas_start]].name,
                             r->input->cols[r->keys[r->cas_end]].name);
        else if (r->window.kind == RILL_WINDOW_SESSION)
            rill__buf_printf(b, "], window=[SESSION(time_col=[%s], gap=[%lld ms]",
                             r->input->cols[r->time_col].name, (long long)r->window.gap_ms);
        else if (r->window.kind == RILL_WINDOW_TUMBLING)
            rill__buf_printf(b, "], window=[TUMBLE(time_col=[%s], size=[%lld ms]",
                             r->input->cols[r->time_col].name, (long long)r->window.size_ms);
        else if (r->window.kind == RILL_WINDOW_CUMULATE)
            rill__buf_printf(b, "], window=[CUMULATE(time_col=[%s], max_size=[%lld ms], "
                             "step=[%lld ms]",
                             r->input->cols[r->time_col].name, (long long)r->window.size_ms,
                             (long long)r->window.slide_ms);
        else
            rill__buf_printf(b, "], window=[HOP(time_col=[%s], size=[%lld ms], slide=[%lld ms]",
                             r->input->cols[r->time_col].name, (long long)r->window.size_ms,
                             (long long)r->window.slide_ms);
        if (r->window.offset_ms)
            rill__buf_printf(b, ", offset=[%lld ms]", (long long)r->window.offset_ms);
        rill__buf_printf(b, ")], select=[");
        for (int i = 0; i < r->n_keys; i++)
            rill__buf_printf(b, "%s, ", r->input->cols[r->keys[i]].name);
        rill__buf_printf(b, "window_start, window_end");
        bool distinct = false;
        for (int i = 0; i < r->n_aggs; i++) {
            const rel_agg *g = &r->aggs[i];
            distinct |= g->distinct;
            if (g->kind == AGG_COUNT_STAR)
                rill__buf_printf(b, ", COUNT(*)");
            else
                rill__buf_printf(b, ", %s(%s%s)", aggs[g->kind], g->distinct ? "DISTINCT " : "",
                                 r->input->cols[g->arg].name);
        }
        rill__buf_printf(b, "], parallelism=[%d], keyed by [", par);
        for (int i = 0; i < r->n_keys; i++)
            rill__buf_printf(b, "%s%s", i ? ", " : "", r->input->cols[r->keys[i]].name);
        rill__buf_printf(b,
                         "%s], state=[one accumulator %sper key and %s slice, dropped when "
                         "the watermark passes the window], late rows=[dropped and counted]",
                         r->n_keys ? "" : "(one group)", distinct ? "and the distinct values " : "",
                         r->window.kind == RILL_WINDOW_TUMBLING ? "window" : "slide");
        break;
    }
    case REL_GROUP_AGG: {
        static const char *const aggs[] = {"COUNT(*)", "COUNT", "SUM", "MIN", "MAX", "AVG"};
        rill__buf_printf(b, "GroupAggregate(groupBy=[");
        for (int i = 0; i < r->n_keys; i++)
            rill__buf_printf(b, "%s%s", i ? ", " : "", r->input->cols[r->keys[i]].name);
        rill__buf_printf(b, "], select=[");
        for (int i = 0; i < r->n_keys; i++)
            rill__buf_printf(b, "%s, ", r->input->cols[r->keys[i]].name);
        for (int i = 0; i < r->n_aggs; i++) {
            const rel_agg *g = &r->aggs[i];
            if (g->kind == AGG_COUNT_STAR)
                rill__buf_printf(b, "%sCOUNT(*)", i ? ", " : "");
            else
                rill__buf_printf(b, "%s%s(%s%s)", i ? ", " : "", aggs[g->kind],
                                 g->distinct ? "DISTINCT " : "", r->input->cols[g->arg].name);
        }
        rill__buf_printf(b,
                         "], parallelism=[%d], keyed by [%s], state=[one row of "
                         "accumulators per group, kept for the job's life], changelog=[+I, -U, "
                         "+U%s]",
                         par, r->n_keys ? "the group" : "(one group)",
                         changelog_mode(r) & MODE_D ? ", -D" : "");
        break;
    }
    case REL_WINDOW_TVF:
        rill__buf_printf(b, "WindowTableFunction(window=[%s(time_col=[%s], size=[%lld ms], "
                            "slide=[%lld ms])], parallelism=[%d], chained",
                         r->window.kind == RILL_WINDOW_TUMBLING   ? "TUMBLE"
                         : r->window.kind == RILL_WINDOW_CUMULATE ? "CUMULATE"
                         : r->window.kind == RILL_WINDOW_SESSION  ? "SESSION"
                                                                  : "HOP",
                         r->input->cols[r->time_col].name,
                         (long long)(r->window.size_ms ? r->window.size_ms : r->window.gap_ms),
                         (long long)r->window.slide_ms, par);
        break;
    case REL_RANK:
        rill__sql_explain_rank(b, r, par, true);
        break;
    case REL_MATCH:
        rill__sql_explain_match(b, r, par);
        break;
    case REL_OVER:
        rill__sql_explain_over(b, r, par, true);
        break;
    case REL_LIMIT:
        rill__buf_printf(b, "Limit(offset=[%lld], fetch=[", (long long)r->offset);
        if (r->limit >= 0)
            rill__buf_printf(b, "%lld", (long long)r->limit);
        else
            rill__buf_printf(b, "unlimited");
        rill__buf_printf(b, "], parallelism=[%d], state=[the count of rows seen, under one "
                            "key: one subtask takes every row]",
                         par);
        break;
    case REL_JOIN: { /* Flink's: Join(joinType=[InnerJoin], where=[=(a, b)], select=[...]) */
        if (r->we_key >= 0) { /* Flink's WindowJoin(leftWindow=[TUMBLE(...)], ...) */
            const rill_window_spec *w = r->jwindow;
            const char *wk = w->kind == RILL_WINDOW_TUMBLING   ? "TUMBLE"
                             : w->kind == RILL_WINDOW_CUMULATE ? "CUMULATE"
                                                               : "HOP";
            rill__buf_printf(b, "WindowJoin(window=[%s(size=[%lld ms], slide=[%lld ms], "
                                "offset=[%lld ms])], ",
                             wk, (long long)w->size_ms, (long long)w->slide_ms,
                             (long long)w->offset_ms);
        } else if (r->lookup) { /* Flink's LookupJoin(table=[...], joinType=[...], ...) */
            rill__buf_printf(b, "LookupJoin(table=[default_catalog.default_database.%s], "
                                "cache=[the whole table in each subtask, read again after "
                                "lookup.join.cache.ttl], ",
                             r->inputs[1]->table->name);
        } else if (r->temporal) { /* Flink's TemporalJoin(joinType=[...], where=[...]) */
            rill__buf_printf(b, "TemporalJoin(time=[%s AS OF %s], ", r->cols[r->lt_col].name,
                             r->inputs[1]->cols[r->rt_col].name);
        } else if (r->interval) { /* Flink's IntervalJoin(windowBounds=[...]) */
            rill__buf_printf(b, "IntervalJoin(windowBounds=[isRowTime=%s, leftLowerBound=%lld, "
                                "leftUpperBound=%lld, leftTimeIndex=%d, rightTimeIndex=%d], ",
                             r->i_proc ? "false" : "true", (long long)r->ilo, (long long)r->ihi,
                             r->lt_col, r->rt_col);
            if (r->i_we) /* a bound Flink does not use: it plans a regular join */
                rill__buf_printf(b, "bound=[the %s time is a window aggregation's window_end, "
                                    "no time attribute in Flink (a regular join there): its rows "
                                    "come before the watermark passes it, so it bounds the "
                                    "state as a rowtime does], ",
                                 r->i_we == 3 ? "left's and the right's"
                                 : r->i_we == 1 ? "left's"
                                                : "right's");
        } else {
            rill__buf_printf(b, "Join(");
        }
        rill__buf_printf(b, "joinType=[%s], where=[", rill__sql_join_kind_name(r->join_kind));
        int n = 0;
        for (int i = 0; i < r->n_jkeys; i++, n++) {
            rill__buf_printf(b, "%s=(", n ? " AND " : "");
            put_rex(b, r->inputs[0], r->lkeys[i]);
            rill__buf_printf(b, ", ");
            put_rex(b, r->inputs[1], r->rkeys[i]);
            rill__buf_printf(b, ")");
        }
        if (r->cond) {
            rill__buf_printf(b, "%s", n++ ? " AND " : "");
            put_rex(b, r, r->cond);
        }
        rill__buf_printf(b, "%s], select=[", n ? "" : "true");
        put_cols(b, r);
        rill__buf_printf(b, "], leftInputSpec=[NoUniqueKey], rightInputSpec=[NoUniqueKey], "
                            "parallelism=[%d], keyed by [%s], state=[%s]",
                         r->n_jkeys || r->lookup ? par : 1,
                         r->lookup ? "(none: the input's subtasks look the keys up)"
                         : r->n_jkeys ? "the join key"
                                      : "(one group: no equality in ON)",
                         r->lookup ? "none (the table is read again after a restart)"
                         : r->we_key >= 0 ? "each side's rows per join key and window, joined "
                                          "and dropped when the watermark passes the window's "
                                          "end; late rows dropped"
                         : r->temporal ? "the left's rows until the watermark passes their "
                                         "time; the right's versions per key from the last "
                                         "one the watermark passed"
                         : r->interval && r->i_proc
                             ? "each side's rows per join key while a partner may still come: "
                               "dropped when the clock passes their arrival plus the bound"
                         : r->interval ? "each side's rows per join key while a partner may "
                                         "still come: dropped when the watermark passes their "
                                         "time plus the bound"
                                        : "each side's rows per join key, kept for the job's "
                                          "life unless table.exec.state.ttl is set");
        break;
    }
    case REL_UNION: /* Flink's: Union(all=[true], union=[a, b]) */
        rill__buf_printf(b, "Union(all=[true], union=[");
        put_cols(b, r);
        rill__buf_printf(b, "], parallelism=[%d], inputs=[%d], watermark=[the least of the "
                            "inputs']",
                         par, r->n_inputs);
        break;
    case REL_VALUES: /* Flink's: Values(tuples=[[{ 1, _UTF-16LE'a' }, ...]]) */
        rill__buf_printf(b, "Values(tuples=[[");
        for (int i = 0; i < r->n_rows; i++) {
            rill__buf_printf(b, "%s{ ", i ? ", " : "");
            for (int c = 0; c < r->n_cols; c++) {
                if (c)
                    rill__buf_printf(b, ", ");
                put_rex(b, NULL, r->rows[i * r->n_cols + c]);
            }
            rill__buf_printf(b, " }");
        }
        rill__buf_printf(b, "]], parallelism=[%d]", par);
        break;
    }
    if (modes && r->kind == REL_SCAN && r->updates)
        rill__buf_printf(b, ", changelogMode=[UA,D]");
    else if (modes)
        put_mode(b, r);
    rill__buf_printf(b, ")\n");
    char *child_lead = rill__xasprintf("%s+- ", pre), *child_pre = rill__xasprintf("%s   ", pre);
    if (r->input)
        put_rel(pc, b, r->input, child_lead, child_pre, par, modes);
    int n_in = r->kind == REL_JOIN && r->lookup ? 1 : r->n_inputs; /* (its table: not a stream) */
    for (int i = 0; i < n_in; i++) {
        bool last = i + 1 == n_in;
        char *l = rill__xasprintf("%s%s", pre, last ? "+- " : ":- ");
        char *p = rill__xasprintf("%s%s", pre, last ? "   " : ":  ");
        put_rel(pc, b, r->inputs[i], l, p, par, modes);
        free(l);
        free(p);
    }
    free(child_lead);
    free(child_pre);
    free(own_lead);
    free(own_pre);
    free(norm_lead);
    free(norm_pre);
}

/* One INSERT's plan: its sink, the query's tree below it. */
static int explain_insert(plan_ctx *pc, rill__buf *b, const rill__sql_stmt *ins, int par,
                          bool modes)
{
    rel *r = rill__sql_plan_query(pc, ins->u.insert.query);
    const rill__sql_name *tn = &ins->u.insert.target;
    sql_table *t = rill__sql_find_table(pc->s, tn->parts[tn->n_parts - 1].text);
    if (r && t) /* INSERT INTO t (a, c): the other columns NULL */
        r = rill__sql_insert_columns(pc, ins, t, r);
    if (r && (rill__sql_rank_check(pc, r) || rill__sql_push_down(pc, r)))
        r = NULL;
    if (!r)
        return pc->err->code ? pc->err->code : RILL_EINVAL;
    const rill__sql_name *n = &ins->u.insert.target;
    rill__buf_printf(b, "Sink(table=[default_catalog.default_database.%s], fields=[",
                     n->parts[n->n_parts - 1].text);
    put_cols(b, r);
    rill__buf_printf(b, "], parallelism=[%d]", par);
    if (modes)
        put_mode(b, r);
    rill__buf_printf(b, ")\n");
    put_rel(pc, b, r, "+- ", "   ", par, modes);
    return 0;
}

int rill__sql_explain(plan_ctx *pc, const rill__sql_stmt *st, FILE *out)
{
    const rill__sql_stmt *inner = st->u.explain.inner;
    int par = pc->s->env->parallelism > 0 ? pc->s->env->parallelism : 1;
    bool modes = (st->u.explain.details & RILL_SQL_EXPLAIN_CHANGELOG_MODE) != 0;
    rill__buf b = {0};
    rill__buf_printf(&b, "== Optimized Physical Plan ==\n");
    int rc = 0;
    if (inner->kind == RILL_SQL_S_STATEMENT_SET) { /* each sink's tree, a blank line between */
        for (size_t i = 0; i < inner->u.statement_set.n_inserts && rc == 0; i++) {
            if (i)
                rill__buf_putc(&b, '\n');
            rc = explain_insert(pc, &b, inner->u.statement_set.inserts[i], par, modes);
        }
    } else if (inner->kind == RILL_SQL_S_INSERT) {
        rc = explain_insert(pc, &b, inner, par, modes);
    } else if (inner->kind == RILL_SQL_S_QUERY) {
        rel *r = rill__sql_plan_query(pc, inner->u.query);
        if (r && (rill__sql_rank_check(pc, r) || rill__sql_push_down(pc, r)))
            r = NULL;
        if (r)
            put_rel(pc, &b, r, "", "", par, modes);
        else
            rc = pc->err->code ? pc->err->code : RILL_EINVAL;
    } else {
        rc = rill__sql_error(pc->err, pc->text, inner->pos,
                             "EXPLAIN takes a query, an INSERT or a statement set");
    }
    if (rc == 0) {
        fwrite(b.data, 1, b.len, out);
        fflush(out);
    }
    rill__buf_free(&b);
    return rc;
}
