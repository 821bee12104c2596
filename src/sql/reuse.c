/*
 * reuse.c - sql layer: shared sub-plans, a rule of the plan (Flink's
 * table.optimizer.reuse-sub-plan-enabled). Statements of one job that compute the same
 * relation (a view read by two INSERTs of a statement set, a CTE written twice) get one
 * stream, fanned out to each reader, instead of one copy of its operators each: the work and
 * the state are had once, and a relation whose rows depend on arrival (a LIMIT, PROCTIME) is
 * the same rows for every reader.
 *
 * Two relations are the same when their digests are: a text of everything their streams are
 * built from (kind, columns and types, expressions, keys, aggregates, window, table, event
 * time), their inputs' digests inside. Positions in the text are not part of it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "functions.h"
#include "sql_int.h"

#define REUSE_KEY "table.optimizer.reuse-sub-plan-enabled"

static const char *reuse_value(const rill__sql_session *s)
{
    return rill__sql_set_value(s, REUSE_KEY, "true");
}

int rill__sql_reuse_check(const rill__sql_session *s, rill__err *err)
{
    const char *v = reuse_value(s);
    if (strcasecmp(v, "true") && strcasecmp(v, "false"))
        return rill__err_set(err, RILL_ECONFIG, "SET '%s': '%s' is not true or false", REUSE_KEY,
                             v);
    return 0;
}

static void put_type(rill__buf *b, rill__arena *a, const rill__sql_ltype *t)
{
    rill__buf_printf(b, "%s%s/%d", rill__sql_type_str(a, t), t->nullable ? "" : "!",
                     (int)t->attr);
}

static void put_str(rill__buf *b, const char *s)
{
    if (!s) {
        rill__buf_printf(b, "-");
        return;
    }
    size_t n = strlen(s);
    rill__buf_printf(b, "%zu:", n); /* length first: no text can pass for another's end */
    rill__buf_append(b, s, n);
}

static void put_rex(rill__buf *b, rill__arena *a, const rill__sql_rex *x, bool by_name)
{
    if (!x) {
        rill__buf_printf(b, "_");
        return;
    }
    rill__buf_printf(b, "(%d ", (int)x->op);
    put_type(b, a, x->type);
    switch (x->op) {
    case RILL_SQLX_INPUT:
        rill__buf_printf(b, " $%d", x->input);
        break;
    case RILL_SQLX_LITERAL:
        if (x->lit_null)
            rill__buf_printf(b, " NULL");
        else if (x->lit_bytes) {
            rill__buf_printf(b, " %llu:", (unsigned long long)x->lit);
            rill__buf_append(b, x->lit_bytes, (size_t)x->lit);
        } else
            rill__buf_printf(b, " %llx", (unsigned long long)x->lit);
        break;
    default:
        break;
    }
    if (x->try_cast)
        rill__buf_printf(b, " try");
    if (x->zone) {
        rill__buf_printf(b, " z");
        put_str(b, x->zone);
    }
    /* a built-in's or a UDF's: the function itself, as loaded (a UDF dropped and created
     * again under its name between two statements of a job is another) */
    if (x->fn && by_name)
        put_str(b, x->fn->name);
    else if (x->fn)
        rill__buf_printf(b, " f%p", (const void *)x->fn);
    if (x->call) {
        const rill__sql_fn_call *c = x->call;
        rill__buf_printf(b, " c%d/%d/%d/%d", (int)c->form, (int)c->unit, (int)c->trim,
                         c->n_args);
        put_str(b, c->name);
        put_str(b, c->zone);
        for (int i = 0; i < c->n_args; i++)
            put_rex(b, a, c->args[i], by_name);
    }
    for (int i = 0; i < x->n_args; i++) {
        rill__buf_printf(b, " ");
        put_rex(b, a, x->args[i], by_name);
    }
    rill__buf_printf(b, ")");
}

static void put_rel(rill__buf *b, rill__arena *a, const rel *r, bool by_name)
{
    rill__buf_printf(b, "{%d u%d n%d e%d/%d/%lld [", (int)r->kind, r->updates, r->named,
                     r->has_et, r->et_col, (long long)r->et_delay);
    for (int i = 0; i < r->n_cols; i++) {
        put_str(b, r->cols[i].name);
        put_type(b, a, r->cols[i].type);
        rill__buf_printf(b, ",");
    }
    rill__buf_printf(b, "]");
    switch (r->kind) {
    case REL_SCAN:
        /* the table itself: one of that name created later is another (its seq) */
        rill__buf_printf(b, " t%d", r->table->seq);
        put_str(b, r->table->name);
        for (size_t i = 0; r->table->hinted && i < r->table->n_options; i++) {
            put_str(b, r->table->options[i].key); /* a statement's OPTIONS hints */
            put_str(b, r->table->options[i].value);
        }
        rill__buf_printf(b, " l%d/", r->n_leaves);
        for (int i = 0; r->leaves && i < r->n_cols; i++)
            rill__buf_printf(b, "%d,", r->leaves[i]);
        break;
    case REL_CALC:
        for (int i = 0; i < r->n_cols; i++)
            put_rex(b, a, r->outs[i], by_name);
        rill__buf_printf(b, " where ");
        put_rex(b, a, r->filter, by_name);
        break;
    case REL_WINDOW_TVF:
    case REL_WINDOW_AGG:
    case REL_GROUP_AGG: {
        const rill_window_spec *w = &r->window;
        rill__buf_printf(b, " w%d/%d/%lld/%lld/%lld/%lld/%lld t%d k", (int)w->kind,
                         (int)w->domain, (long long)w->size_ms, (long long)w->slide_ms,
                         (long long)w->offset_ms, (long long)w->gap_ms,
                         (long long)w->allowed_lateness_ms, r->time_col);
        if (w->time_zone)
            rill__buf_printf(b, " tz%s", w->time_zone);
        for (int i = 0; i < r->n_keys; i++)
            rill__buf_printf(b, "%d,", r->keys[i]);
        for (int i = 0; i < r->n_aggs; i++) {
            rill__buf_printf(b, " a%d/%d/%d/", (int)r->aggs[i].kind, r->aggs[i].arg,
                             r->aggs[i].distinct);
            put_type(b, a, r->aggs[i].type);
        }
        break;
    }
    case REL_LIMIT:
        rill__buf_printf(b, " %lld/%lld", (long long)r->limit, (long long)r->offset);
        break;
    case REL_VALUES:
        rill__buf_printf(b, " %d", r->n_rows);
        for (int i = 0; i < r->n_rows * r->n_cols; i++)
            put_rex(b, a, r->rows[i], by_name);
        break;
    case REL_UNION:
        break;
    case REL_RANK:
        rill__sql_rank_digest(b, r);
        break;
    case REL_MATCH:
        rill__sql_match_digest(b, r);
        break;
    case REL_OVER:
        rill__sql_over_digest(b, r);
        break;
    case REL_JOIN:
        rill__buf_printf(b, " j%d/%d/%d/%d/%d/%d/%d/%d", r->join_kind, r->n_jkeys, r->we_key,
                         r->interval, r->temporal, r->lookup, r->lt_col, r->rt_col);
        for (int i = 0; i < r->n_jkeys; i++) {
            put_rex(b, a, r->lkeys[i], by_name);
            put_rex(b, a, r->rkeys[i], by_name);
        }
        rill__buf_printf(b, " on ");
        put_rex(b, a, r->cond, by_name);
        break;
    }
    if (r->input)
        put_rel(b, a, r->input, by_name);
    for (int i = 0; i < r->n_inputs; i++)
        put_rel(b, a, r->inputs[i], by_name);
    rill__buf_printf(b, "}");
}

/* The job's caches start empty in a job's env: sources and sub-plans built into another
 * env (the statement before, in `rill sql`) are not this job's. */
void rill__sql_job_caches(rill__sql_session *s)
{
    if (s->scan_env == s->env)
        return;
    s->n_scans = 0;
    rill__sql_reuse_reset(s);
    s->scan_env = s->env;
}

void rill__sql_reuse_reset(rill__sql_session *s)
{
    for (size_t i = 0; i < s->n_subplans; i++)
        free(s->subplans[i].digest);
    s->n_subplans = 0;
}

bool rill__sql_reuse_enabled(const rill__sql_session *s)
{
    return strcasecmp(reuse_value(s), "false") != 0;
}

char *rill__sql_rel_digest(plan_ctx *pc, const rel *r, bool by_name)
{
    rill__buf b = {0};
    put_rel(&b, pc->a, r, by_name);
    char *d = rill__xstrdup(rill__buf_cstr(&b));
    rill__buf_free(&b);
    return d;
}

rill_stream *rill__sql_reuse_find(plan_ctx *pc, const rel *r, char **digest)
{
    rill__sql_session *s = pc->s;
    *digest = NULL;
    rill__sql_job_caches(s);
    if (!rill__sql_reuse_enabled(s))
        return NULL;
    *digest = rill__sql_rel_digest(pc, r, false);
    for (size_t i = 0; i < s->n_subplans; i++)
        if (!strcmp(s->subplans[i].digest, *digest)) {
            free(*digest); /* found: nothing to record */
            *digest = NULL;
            return s->subplans[i].stream;
        }
    return NULL;
}

void rill__sql_reuse_put(rill__sql_session *s, char *digest, rill_stream *st)
{
    if (!digest || !st) {
        free(digest);
        return;
    }
    rill__grow((void **)&s->subplans, &s->cap_subplans, s->n_subplans + 1, sizeof *s->subplans);
    s->subplans[s->n_subplans++] = (struct sql_subplan){digest, st};
}
