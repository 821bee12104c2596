/*
 * prune.c - sql layer: projection push-down, a rule of the logical plan. A table's scan reads
 * only the leaves that something above it uses (projections, filters, keys, aggregates, the
 * rowtime and what the computed columns read), so the connectors skip the work of the others.
 * A source is shared by every statement of a job that reads its table, so it produces the
 * union of their leaves: collect records each statement's before any source is built, apply
 * then narrows each scan to that union.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "functions.h"
#include "sql_int.h"

/* The leaves of one table the job's statements use (used[i]: the table's i-th leaf). */
struct sql_need {
    char *name;
    int seq; /* sql_table.seq: the same table in the dry run and the real one */
    int n;
    bool *used;
};

#define PUSHDOWN_KEY "table.optimizer.source.projection-pushdown-enabled"

const char *rill__sql_set_value(const rill__sql_session *s, const char *key, const char *dflt)
{
    for (size_t i = 0; i < s->n_opts; i++)
        if (!strcmp(s->opts[i].key, key))
            return s->opts[i].value;
    return dflt;
}

static const char *pushdown_value(const rill__sql_session *s)
{
    return rill__sql_set_value(s, PUSHDOWN_KEY, "true");
}

bool rill__sql_pushdown_enabled(const rill__sql_session *s)
{
    return strcasecmp(pushdown_value(s), "false") != 0;
}

void rill__sql_needs_reset(rill__sql_session *s)
{
    for (size_t i = 0; i < s->n_needs; i++) {
        free(s->needs[i].name);
        free(s->needs[i].used);
    }
    s->n_needs = 0;
    s->needs_failed = false;
}

static struct sql_need *need_of(rill__sql_session *s, const sql_table *t, int n, bool add)
{
    for (size_t i = 0; i < s->n_needs; i++) /* (seq -1: a relation's, need_of_rel) */
        if (s->needs[i].seq == t->seq && !strcmp(s->needs[i].name, t->name))
            return &s->needs[i];
    if (!add)
        return NULL;
    rill__grow((void **)&s->needs, &s->cap_needs, s->n_needs + 1, sizeof *s->needs);
    struct sql_need *nd = &s->needs[s->n_needs++];
    *nd = (struct sql_need){rill__xstrdup(t->name), t->seq, n,
                            rill__xcalloc((size_t)(n ? n : 1), sizeof *nd->used)};
    return nd;
}

/* The columns of a relation (not a scan) the job's statements read, by its digest: a sub-plan
 * several statements share (reuse.c) is narrowed to what all of them read, so it stays one
 * relation. NULL when reuse is off (each statement narrows its own copy). The digest names
 * functions by name: the dry run's catalog has other copies of them. */
static struct sql_need *need_of_rel(plan_ctx *pc, const rel *r, bool add)
{
    rill__sql_session *s = pc->s;
    if (r->kind == REL_SCAN || !rill__sql_reuse_enabled(s))
        return NULL;
    char *d = rill__sql_rel_digest(pc, r, true);
    for (size_t i = 0; i < s->n_needs; i++)
        if (s->needs[i].seq == -1 && !strcmp(s->needs[i].name, d)) {
            free(d);
            return s->needs[i].n == r->n_cols ? &s->needs[i] : NULL;
        }
    if (!add) {
        free(d);
        return NULL;
    }
    rill__grow((void **)&s->needs, &s->cap_needs, s->n_needs + 1, sizeof *s->needs);
    struct sql_need *nd = &s->needs[s->n_needs++];
    *nd = (struct sql_need){d, -1, r->n_cols,
                            rill__xcalloc((size_t)(r->n_cols ? r->n_cols : 1), sizeof *nd->used)};
    return nd;
}

/* Marks the input columns x reads. */
static void mark_rex(const rill__sql_rex *x, bool *used)
{
    if (!x)
        return;
    if (x->op == RILL_SQLX_INPUT)
        used[x->input] = true;
    for (int i = 0; i < x->n_args; i++)
        mark_rex(x->args[i], used);
}

/* The columns of r's input that r needs when its own columns out_used are needed (NULL: all),
 * in in_used (r->input->n_cols). A kind this does not know needs every column of its input. */
static void input_needs(const rel *r, const bool *out_used, bool *in_used)
{
    const rel *in = r->input;
    switch (r->kind) {
    case REL_CALC:
        for (int i = 0; i < r->n_cols; i++)
            if (!out_used || out_used[i] || (r->has_et && i == r->et_col))
                mark_rex(r->outs[i], in_used);
        mark_rex(r->filter, in_used);
        return;
    case REL_WINDOW_TVF: /* the input's columns pass through, then the window's */
        for (int i = 0; i < in->n_cols; i++)
            in_used[i] |= !out_used || out_used[i];
        in_used[r->time_col] = true;
        for (int i = 0; i < r->n_keys; i++)
            in_used[r->keys[i]] = true;
        return;
    case REL_WINDOW_AGG:
    case REL_GROUP_AGG:
        for (int i = 0; i < r->n_keys; i++)
            in_used[r->keys[i]] = true;
        for (int i = 0; i < r->n_aggs; i++)
            if (r->aggs[i].arg >= 0)
                in_used[r->aggs[i].arg] = true;
        if (r->kind == REL_WINDOW_AGG)
            in_used[r->time_col] = true;
        return;
    case REL_LIMIT:
        for (int i = 0; i < in->n_cols; i++)
            in_used[i] |= !out_used || out_used[i];
        return;
    case REL_MATCH: /* the partition, the order, what DEFINE and MEASURES read (match.c) */
        rill__sql_match_needs(r, in_used);
        return;
    case REL_OVER: /* the same, and the aggregates' arguments */
        for (int i = 0; i < in->n_cols; i++)
            in_used[i] |= !out_used || out_used[i];
        for (int i = 0; i < r->over->n_part; i++)
            in_used[r->over->part[i]] = true;
        in_used[r->over->order] = true;
        for (int i = 0; i < r->n_aggs; i++)
            if (r->aggs[i].arg >= 0)
                in_used[r->aggs[i].arg] = true;
        return;
    case REL_RANK: /* the input's columns pass through; the partition and order are read */
        for (int i = 0; i < in->n_cols; i++)
            in_used[i] |= !out_used || out_used[i];
        for (int i = 0; i < r->rank->n_part; i++)
            in_used[r->rank->part[i]] = true;
        for (int i = 0; i < r->rank->n_order; i++)
            in_used[r->rank->order[i]] = true;
        return;
    default:
        for (int i = 0; i < in->n_cols; i++)
            in_used[i] = true;
        return;
    }
}

/* The columns of a join's input `side` (in_used, its n_cols) the join needs when its columns
 * out_used (NULL: all) are needed: those read above, the keys, what the condition reads, a
 * temporal join's times. */
static void join_needs(const rel *r, const bool *out_used, int side, bool *in_used)
{
    int first = side ? r->inputs[0]->n_cols : 0, n = r->inputs[side]->n_cols;
    for (int i = 0; i < n; i++)
        in_used[i] |= !out_used || out_used[first + i];
    for (int k = 0; k < r->n_jkeys; k++)
        mark_rex(side ? r->rkeys[k] : r->lkeys[k], in_used);
    /* the times a temporal join reads besides its condition: the left's AS OF time, the
     * right's version time (an interval join's are in its condition) */
    if (r->temporal)
        in_used[side ? r->rt_col : r->lt_col] = true;
    bool *cond = rill__xcalloc((size_t)r->n_cols + 1, sizeof *cond);
    mark_rex(r->cond, cond);
    for (int i = 0; i < n; i++)
        in_used[i] |= cond[first + i];
    free(cond);
}

static int n_leaves(const rill__sql_ltype *t)
{
    if (t->root != RILL_SQLT_ROW)
        return 1;
    int n = 0;
    for (int i = 0; i < t->n_fields; i++)
        n += n_leaves(t->fields[i].type);
    return n;
}

/* Leaves a connector reads whether asked or not: Kafka's formats place the physical columns by
 * position (only metadata columns are left out); a datagen sequence column bounds the rows. */
static void always_read(const sql_table *t, bool *used, int n)
{
    const sql_option *conn = rill__sql_table_option(t, "connector");
    bool kafka = conn && (!strcmp(conn->value, "kafka") || !strcmp(conn->value, "upsert-kafka"));
    bool datagen = conn && !strcmp(conn->value, "datagen");
    int k = 0;
    for (size_t i = 0; i < t->n_cols && (kafka || datagen); i++) {
        const sql_col *c = &t->cols[i];
        if (c->kind != RILL_SQL_COL_PHYSICAL && c->kind != RILL_SQL_COL_METADATA)
            continue;
        int m = n_leaves(c->type);
        bool keep = kafka && c->kind == RILL_SQL_COL_PHYSICAL;
        if (datagen) {
            char key[300];
            snprintf(key, sizeof key, "fields.%s.kind", c->name);
            const sql_option *kind = rill__sql_table_option(t, key);
            keep = kind && !strcmp(kind->value, "sequence");
        }
        for (int j = 0; j < m && k + j < n; j++)
            used[k + j] |= keep;
        k += m;
    }
}

static void collect(plan_ctx *pc, const rel *r, const bool *out_used)
{
    struct sql_need *shared = need_of_rel(pc, r, true);
    for (int i = 0; shared && i < r->n_cols; i++)
        shared->used[i] |= !out_used || out_used[i];
    if (r->kind == REL_SCAN) {
        /* a statement with push-down off reads every column (the table's source, shared
         * with statements that have it on, produces them all) */
        bool all = !out_used || !rill__sql_pushdown_enabled(pc->s);
        struct sql_need *nd = need_of(pc->s, r->table, r->n_cols, true);
        for (int i = 0; i < r->n_cols && i < nd->n; i++)
            nd->used[i] |= all || out_used[i] || (r->has_et && i == r->et_col);
        always_read(r->table, nd->used, nd->n);
        return;
    }
    if (r->kind == REL_UNION) { /* each branch's columns are the union's */
        for (int i = 0; i < r->n_inputs; i++)
            collect(pc, r->inputs[i], out_used);
        return;
    }
    if (r->kind == REL_JOIN) {
        for (int s = 0; s < 2 - r->lookup; s++) { /* (a lookup join reads its table itself) */
            bool *in_used = rill__xcalloc((size_t)r->inputs[s]->n_cols + 1, sizeof *in_used);
            join_needs(r, out_used, s, in_used);
            collect(pc, r->inputs[s], in_used);
            free(in_used);
        }
        return;
    }
    if (!r->input)
        return;
    bool *in_used = rill__xcalloc((size_t)r->input->n_cols + 1, sizeof *in_used);
    input_needs(r, out_used, in_used);
    collect(pc, r->input, in_used);
    free(in_used);
}

void rill__sql_prune_collect(plan_ctx *pc, rel *root)
{
    collect(pc, root, NULL);
}

rill__sql_rex *rill__sql_rex_map_inputs(rill__arena *a, rill__sql_rex *x,
                                        rill__sql_rex *(*leaf)(rill__arena *, rill__sql_rex *,
                                                               const void *),
                                        const void *arg)
{
    if (!x)
        return NULL;
    if (x->op == RILL_SQLX_INPUT)
        return leaf(a, x, arg);
    if (x->n_args == 0)
        return x;
    rill__sql_rex **args = rill__arena_alloc(a, (size_t)x->n_args * sizeof *args);
    bool changed = false;
    for (int i = 0; i < x->n_args; i++) {
        args[i] = rill__sql_rex_map_inputs(a, x->args[i], leaf, arg);
        changed |= args[i] != x->args[i];
    }
    if (!changed)
        return x;
    /* a copy: the node may be shared with a relation over another input */
    rill__sql_rex *c = rill__arena_alloc(a, sizeof *c);
    *c = *x;
    c->args = args;
    if (x->call && x->call->args == (rill__sql_rex *const *)x->args) {
        rill__sql_fn_call *call = rill__arena_alloc(a, sizeof *call);
        *call = *x->call;
        call->args = args;
        c->call = call;
    }
    return c;
}

static rill__sql_rex *renumber(rill__arena *a, rill__sql_rex *x, const void *map_arg)
{
    const int *map = map_arg;
    if (map[x->input] == x->input)
        return x;
    rill__sql_rex *c = rill__arena_alloc(a, sizeof *c);
    *c = *x;
    c->input = map[x->input];
    return c;
}

rill__sql_rex *rill__sql_rex_remap(rill__arena *a, rill__sql_rex *x, const int *map)
{
    return rill__sql_rex_map_inputs(a, x, renumber, map);
}

/* Narrows scan to the leaves nd marks; map[i]: the new column of old column i (-1: gone). */
static int *narrow_scan(plan_ctx *pc, rel *scan, const struct sql_need *nd)
{
    int *map = rill__arena_alloc(pc->a, (size_t)scan->n_cols * sizeof *map + 1);
    int n = 0;
    for (int i = 0; i < scan->n_cols; i++)
        map[i] = nd->used[i] ? n++ : -1;
    rel_col *cols = rill__arena_alloc(pc->a, (size_t)(n + 1) * sizeof *cols);
    int *leaves = rill__arena_alloc(pc->a, (size_t)(n + 1) * sizeof *leaves);
    for (int i = 0; i < scan->n_cols; i++)
        if (map[i] >= 0) {
            cols[map[i]] = scan->cols[i];
            leaves[map[i]] = i;
        }
    scan->n_leaves = scan->n_cols;
    scan->n_cols = n;
    scan->cols = cols;
    scan->leaves = leaves;
    if (scan->has_et)
        scan->et_col = map[scan->et_col];
    return map;
}

static int *remap_ints(plan_ctx *pc, const int *v, int n, const int *map)
{
    int *out = rill__arena_alloc(pc->a, (size_t)(n + 1) * sizeof *out);
    for (int i = 0; i < n; i++)
        out[i] = map[v[i]];
    return out;
}

/* A calc over in (just narrowed by map) that gives back its old columns (the gone ones NULL,
 * read by nobody). */
static rel *widen(plan_ctx *pc, rel *in, int n_old, const rel_col *old, const int *map)
{
    rel *c = rill__arena_alloc(pc->a, sizeof *c);
    memset(c, 0, sizeof *c);
    c->kind = REL_CALC;
    c->input = in;
    c->updates = in->updates;
    c->n_cols = n_old;
    c->cols = (rel_col *)old;
    c->outs = rill__arena_alloc(pc->a, (size_t)(n_old + 1) * sizeof *c->outs);
    for (int i = 0; i < n_old; i++)
        c->outs[i] = map[i] >= 0 ? rill__sql_x_input(pc->a, map[i], old[i].type)
                                 : rill__sql_x_null(pc->a, old[i].type);
    return c;
}

/* r reads scan (its input), just narrowed by map: r's references follow. A relation that
 * passes its input's columns on (a window TVF, a kind this does not know) gets a calc between
 * that puts the columns back in their places (the gone ones NULL, never read). */
static void follow(plan_ctx *pc, rel *r, rel *scan, int n_old, const rel_col *old, const int *map)
{
    switch (r->kind) {
    case REL_CALC:
        for (int i = 0; i < r->n_cols; i++)
            r->outs[i] = rill__sql_rex_remap(pc->a, r->outs[i], map);
        r->filter = rill__sql_rex_remap(pc->a, r->filter, map);
        return;
    case REL_WINDOW_AGG:
    case REL_GROUP_AGG: {
        r->keys = remap_ints(pc, r->keys, r->n_keys, map);
        rel_agg *aggs = rill__arena_alloc(pc->a, (size_t)(r->n_aggs + 1) * sizeof *aggs);
        for (int i = 0; i < r->n_aggs; i++) {
            aggs[i] = r->aggs[i];
            if (aggs[i].arg >= 0)
                aggs[i].arg = map[aggs[i].arg];
        }
        r->aggs = aggs;
        if (r->kind == REL_WINDOW_AGG)
            r->time_col = map[r->time_col];
        return;
    }
    default:
        r->input = widen(pc, scan, n_old, old, map);
        return;
    }
}

/* Whether r keeps reading its input right when the input's columns are renumbered (follow
 * rewrites its references); others get a calc between that restores the input's layout. */
static bool follows(const rel *r)
{
    return r->kind == REL_CALC || r->kind == REL_WINDOW_AGG || r->kind == REL_GROUP_AGG;
}

static int apply(plan_ctx *pc, rel *r, const bool *out_used, bool narrow, int **map_out);

/* Narrows *slot, an input of r that r reads the columns in_used (NULL: all) of: a scan to its
 * table's union, another relation by apply. r follows the new columns when it can, else a calc
 * between gives r the old ones. */
static int apply_input(plan_ctx *pc, rel *r, rel **slot, const bool *in_used)
{
    rel *in = *slot;
    int n_old = in->n_cols, rc = 0;
    const rel_col *old = in->cols;
    int *map = NULL;
    bool can_follow = follows(r) && slot == &r->input;
    if (in->kind == REL_SCAN && !in->leaves) {
        const struct sql_need *nd = need_of(pc->s, in->table, in->n_cols, false);
        if (!nd || nd->n != in->n_cols)
            return 0;
        for (int i = 0; i < in->n_cols && rc == 0; i++)
            if ((!in_used || in_used[i] || (in->has_et && i == in->et_col)) && !nd->used[i])
                rc = rill__err_set(pc->err, RILL_EINVAL,
                                   "table '%s': column '%s' is read but was not found used "
                                   "when the job's sources were planned",
                                   in->table->name, in->cols[i].name);
        if (rc == 0)
            map = narrow_scan(pc, in, nd);
    } else if (in->kind != REL_SCAN) {
        rc = apply(pc, in, in_used, can_follow, &map);
    }
    if (rc == 0 && map) {
        if (can_follow)
            follow(pc, r, in, n_old, old, map);
        else
            *slot = widen(pc, in, n_old, old, map);
    }
    return rc;
}

/* Narrows what r reads to the columns out_used of r (NULL: all) asks for, r's inputs first.
 * When narrow is set and r is a calc, its columns nobody reads go too: *map_out then tells
 * each old column's new place (-1: gone) for r's reader to follow. 0, or -1 with err set. */
static int apply(plan_ctx *pc, rel *r, const bool *out_used, bool narrow, int **map_out)
{
    *map_out = NULL;
    if (!rill__sql_pushdown_enabled(pc->s)) /* the scans (to all columns) only, as before */
        out_used = NULL, narrow = false;
    /* a relation other statements read too: what they all read, so that all narrow it alike */
    const struct sql_need *shared = out_used ? need_of_rel(pc, r, false) : NULL;
    if (shared)
        out_used = shared->used;
    /* a calc's columns nobody reads are NULL first: the columns they read may go */
    if (r->kind == REL_CALC && out_used)
        for (int i = 0; i < r->n_cols; i++)
            if (!out_used[i] && !(r->has_et && i == r->et_col) &&
                r->outs[i]->op != RILL_SQLX_LITERAL)
                r->outs[i] = rill__sql_x_null(pc->a, r->cols[i].type);
    int rc = 0;
    if (r->kind == REL_UNION) /* a branch keeps its columns: the union's are its */
        for (int i = 0; i < r->n_inputs && rc == 0; i++)
            rc = apply_input(pc, r, &r->inputs[i], out_used);
    else if (r->kind == REL_JOIN) /* each side narrowed, then widened back by a calc */
        for (int s = 0; s < 2 - r->lookup && rc == 0; s++) {
            bool *in_used = rill__xcalloc((size_t)r->inputs[s]->n_cols + 1, sizeof *in_used);
            join_needs(r, out_used, s, in_used);
            rc = apply_input(pc, r, &r->inputs[s], in_used);
            free(in_used);
        }
    else if (r->input) {
        bool *in_used = rill__xcalloc((size_t)r->input->n_cols + 1, sizeof *in_used);
        input_needs(r, out_used, in_used);
        rc = apply_input(pc, r, &r->input, in_used);
        free(in_used);
    }
    if (rc || !narrow || r->kind != REL_CALC || !out_used)
        return rc;
    /* the calc's own columns: the read ones only */
    int *map = rill__arena_alloc(pc->a, (size_t)(r->n_cols + 1) * sizeof *map);
    rel_col *cols = rill__arena_alloc(pc->a, (size_t)(r->n_cols + 1) * sizeof *cols);
    rill__sql_rex **outs = rill__arena_alloc(pc->a, (size_t)(r->n_cols + 1) * sizeof *outs);
    int n = 0;
    for (int i = 0; i < r->n_cols; i++) {
        map[i] = -1;
        if (out_used[i] || (r->has_et && i == r->et_col)) {
            cols[n] = r->cols[i];
            outs[n] = r->outs[i];
            map[i] = n++;
        }
    }
    if (n == r->n_cols)
        return 0;
    if (r->has_et)
        r->et_col = map[r->et_col];
    r->n_cols = n;
    r->cols = cols;
    r->outs = outs;
    *map_out = map;
    return 0;
}

int rill__sql_prune_apply(plan_ctx *pc, rel *root)
{
    const char *v = pushdown_value(pc->s);
    if (strcasecmp(v, "true") && strcasecmp(v, "false")) {
        rill__err_set(pc->err, RILL_ECONFIG, "SET '%s': '%s' is not true or false", PUSHDOWN_KEY,
                      v);
        return -1;
    }
    if (rill__sql_reuse_check(pc->s, pc->err)) /* the other rule's option, checked as early */
        return -1;
    if (pc->s->needs_failed)
        return 0;
    int *map;
    return apply(pc, root, NULL, false, &map) ? -1 : 0;
}

int rill__sql_push_down(plan_ctx *pc, rel *root)
{
    rill__sql_session *s = pc->s;
    struct sql_need *saved = s->needs;
    size_t n = s->n_needs, cap = s->cap_needs;
    bool failed = s->needs_failed;
    s->needs = NULL;
    s->n_needs = s->cap_needs = 0;
    rill__sql_prune_collect(pc, root);
    int rc = rill__sql_prune_apply(pc, root);
    rill__sql_needs_reset(s);
    free(s->needs);
    s->needs = saved;
    s->n_needs = n;
    s->cap_needs = cap;
    s->needs_failed = failed;
    return rc;
}
