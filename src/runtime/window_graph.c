/* window_graph.c - runtime layer: the windowing calls of the public API. Checks a window
 * specification and its aggregates against the stream, derives the output schema, and adds the
 * window node to the job graph. */
#include <stdlib.h>
#include <string.h>

#include "base/tz.h"
#include "runtime.h"

void rill__window_cfg_free(rill__window_cfg *cfg)
{
    if (!cfg)
        return;
    free(cfg->aggs);
    rill_schema_free(cfg->agg_schema);
    free(cfg);
}

static const char *agg_name(rill_agg_kind k)
{
    static const char *names[] = {"?", "count", "sum", "min", "max", "avg"};
    return k >= RILL_AGG_COUNT && k <= RILL_AGG_AVG ? names[k] : "?";
}

/* Checks the window specification; 0 or an error recorded in the env. */
static int check_spec(rill_env *env, const rill_window_spec *w, const rill_schema *in)
{
    rill__err *e = &env->err;
    if (!w)
        return rill__err_first(e, RILL_EINVAL, "window: no specification given");
    switch (w->kind) {
    case RILL_WINDOW_TUMBLING:
        if (w->size_ms <= 0)
            return rill__err_first(e, RILL_EINVAL, "tumbling window: size must be > 0 ms, got %lld",
                                   (long long)w->size_ms);
        break;
    case RILL_WINDOW_SLIDING:
        if (w->size_ms <= 0 || w->slide_ms <= 0)
            return rill__err_first(e, RILL_EINVAL,
                                   "sliding window: size and slide must be > 0 ms, got %lld and "
                                   "%lld", (long long)w->size_ms, (long long)w->slide_ms);
        break;
    case RILL_WINDOW_CUMULATE:
        if (w->size_ms <= 0 || w->slide_ms <= 0 || w->size_ms % w->slide_ms)
            return rill__err_first(e, RILL_EINVAL,
                                   "cumulate window: size and step must be > 0 ms and the size "
                                   "a multiple of the step, got %lld and %lld",
                                   (long long)w->size_ms, (long long)w->slide_ms);
        break;
    case RILL_WINDOW_SESSION:
        if (w->gap_ms <= 0)
            return rill__err_first(e, RILL_EINVAL, "session window: gap must be > 0 ms, got %lld",
                                   (long long)w->gap_ms);
        break;
    case RILL_WINDOW_GLOBAL:
        if (w->trigger != RILL_TRIGGER_COUNT && w->early_every_ms <= 0)
            return rill__err_first(e, RILL_EINVAL,
                                   "global window: it never fires without a count trigger or "
                                   "early firings");
        break;
    default:
        return rill__err_first(e, RILL_EINVAL, "window: unknown kind %d", (int)w->kind);
    }
    if (w->domain != RILL_EVENT_TIME && w->domain != RILL_PROCESSING_TIME)
        return rill__err_first(e, RILL_EINVAL, "window: unknown time domain %d", (int)w->domain);
    if (w->allowed_lateness_ms < 0 || w->early_every_ms < 0)
        return rill__err_first(e, RILL_EINVAL,
                               "window: allowed lateness and early firing interval must be >= 0");
    if (w->trigger == RILL_TRIGGER_COUNT) {
        if (w->count <= 0)
            return rill__err_first(e, RILL_EINVAL, "count trigger: count must be > 0, got %lld",
                                   (long long)w->count);
        if (w->kind != RILL_WINDOW_TUMBLING && w->kind != RILL_WINDOW_GLOBAL)
            return rill__err_first(e, RILL_EINVAL,
                                   "count trigger: only for tumbling and global windows");
    } else if (w->trigger != RILL_TRIGGER_DEFAULT) {
        return rill__err_first(e, RILL_EINVAL, "window: unknown trigger %d", (int)w->trigger);
    }
    if (w->time_zone && !rill__tz_get(w->time_zone))
        return rill__err_first(e, RILL_EINVAL, "window: unknown time zone '%s'", w->time_zone);
    if (w->time_zone && w->early_every_ms > 0)
        return rill__err_first(e, RILL_EINVAL,
                               "window: early firings are not supported with a time zone");
    if (w->late && !rill__schema_compatible(w->late->schema, in))
        return rill__err_first(e, RILL_ETYPE,
                               "window: the late-data tag '%s' must have the input's schema",
                               w->late->name);
    return 0;
}

/* The window node for in, with cfg (taken over) and the output schema. */
static rill_stream *window_node(rill_keyed_stream *in, rill__window_cfg *cfg,
                                const rill_schema *out_schema)
{
    rill_env *env = in->in->env;
    rill__node *n = rill__graph_node(env, RILL_NODE_WINDOW, in->in, out_schema);
    n->keyed = true;
    n->key = in->key;
    cfg->late_tag = cfg->spec.late ? cfg->spec.late->id : -1;
    cfg->zone = cfg->spec.time_zone ? rill__tz_get(cfg->spec.time_zone) : NULL; /* checked */
    cfg->spec.time_zone = NULL; /* the caller's string: not kept */
    if (cfg->spec.kind == RILL_WINDOW_TUMBLING || cfg->spec.kind == RILL_WINDOW_SLIDING ||
        cfg->spec.kind == RILL_WINDOW_CUMULATE) {
        int64_t slide = cfg->spec.kind == RILL_WINDOW_SLIDING ? cfg->spec.slide_ms
                                                               : cfg->spec.size_ms;
        cfg->spec.offset_ms %= slide; /* offsets are taken modulo the slide */
        if (cfg->spec.offset_ms < 0)
            cfg->spec.offset_ms += slide;
    }
    n->window = cfg;
    return rill__graph_stream(env, n, -1, n->out_schema);
}

static bool begin(rill_keyed_stream *in, const rill_window_spec *w, const char *what)
{
    if (!rill__graph_usable(in->in, what))
        return false;
    return check_spec(in->in->env, w, in->in->schema) == 0;
}

/* The output schema of built-in aggregates: key fields, window_start, window_end, aggregates. */
static int builtin_aggs(rill_keyed_stream *in, const rill_agg_spec *aggs, int n_aggs,
                        rill__window_cfg *cfg, rill_schema **schema_out)
{
    rill_env *env = in->in->env;
    const rill_schema *s = in->in->schema;
    if (!aggs || n_aggs <= 0)
        return rill__err_first(&env->err, RILL_EINVAL, "window aggregate: no aggregates given");
    rill_schema *out = rill_schema_new();
    int rc = 0;
    for (int i = 0; i < in->key.n && rc == 0; i++) {
        const rill__field *f = &s->fields[in->key.idx[i]];
        rc = rill_schema_add_typed(out, f->name, rill__field_info(f), f->nullable);
    }
    if (rc == 0)
        rc = rill_schema_add(out, "window_start", RILL_T_TIMESTAMP, false);
    if (rc == 0)
        rc = rill_schema_add(out, "window_end", RILL_T_TIMESTAMP, false);
    if (rc) {
        rill_schema_free(out);
        return rill__err_first(&env->err, rc, "window aggregate: %s", rill_last_error());
    }
    cfg->aggs = rill__xcalloc((size_t)n_aggs, sizeof *cfg->aggs);
    cfg->n_aggs = n_aggs;
    for (int i = 0; i < n_aggs; i++) {
        const rill_agg_spec *a = &aggs[i];
        rill__window_agg *g = &cfg->aggs[i];
        g->kind = a->kind;
        g->field = -1;
        if (a->kind < RILL_AGG_COUNT || a->kind > RILL_AGG_AVG) {
            rc = rill__err_first(&env->err, RILL_EINVAL, "window aggregate %d: unknown kind %d",
                                 i + 1, (int)a->kind);
            break;
        }
        rill_type out_type = RILL_T_INT64;
        bool nullable = false;
        if (a->kind != RILL_AGG_COUNT) {
            g->field = a->field ? rill_schema_index(s, a->field) : RILL_ENOENT;
            if (g->field < 0) {
                rc = rill__err_first(&env->err, RILL_EINVAL, "window aggregate %s: no field '%s'",
                                     agg_name(a->kind), a->field ? a->field : "(null)");
                break;
            }
            g->type = s->fields[g->field].type;
            bool numeric = g->type == RILL_T_INT64 || g->type == RILL_T_DOUBLE;
            /* the output field takes the input's type with its default parameters: only
             * TIMESTAMP(3) keeps its unit (other kinds are the SQL layer's to aggregate) */
            bool ordered = numeric || (g->type == RILL_T_TIMESTAMP &&
                                       s->fields[g->field].precision == 3);
            if ((a->kind == RILL_AGG_SUM || a->kind == RILL_AGG_AVG) ? !numeric : !ordered) {
                char tn[64];
                rill_type_format(rill__field_info(&s->fields[g->field]), tn, sizeof tn);
                rc = rill__err_first(&env->err, RILL_ETYPE,
                                     "window aggregate %s: field '%s' is %s", agg_name(a->kind),
                                     a->field, tn);
                break;
            }
            out_type = a->kind == RILL_AGG_AVG ? RILL_T_DOUBLE : g->type;
            nullable = true;
        }
        char name[300];
        if (a->as && *a->as)
            snprintf(name, sizeof name, "%s", a->as);
        else if (a->kind == RILL_AGG_COUNT)
            snprintf(name, sizeof name, "count");
        else
            snprintf(name, sizeof name, "%s_%s", agg_name(a->kind), a->field);
        if ((rc = rill_schema_add(out, name, out_type, nullable)) != 0) {
            rc = rill__err_first(&env->err, rc, "window aggregate: output field '%s': %s", name,
                                 rill_last_error());
            break;
        }
    }
    if (rc) {
        rill_schema_free(out);
        return rc;
    }
    *schema_out = out;
    return 0;
}

static bool check_agg(rill_env *env, const rill_aggregate *agg)
{
    if (agg && agg->acc_size <= 65536 && agg->add && agg->merge && agg->result)
        return true;
    rill__err_first(&env->err, RILL_EINVAL,
                    "window aggregate: the aggregate needs add, merge and result functions and "
                    "an accumulator of at most 64 KiB");
    return false;
}

rill_stream *rill_window_aggregate(rill_keyed_stream *in, const rill_window_spec *w,
                                   const rill_agg_spec *aggs, int n_aggs)
{
    if (!in)
        return NULL;
    if (!begin(in, w, "window_aggregate"))
        return rill__graph_error_stream(in->in->env);
    rill__window_cfg *cfg = rill__xcalloc(1, sizeof *cfg);
    cfg->spec = *w;
    cfg->mode = RILL_WMODE_BUILTIN;
    rill_schema *out = NULL;
    if (builtin_aggs(in, aggs, n_aggs, cfg, &out) != 0) {
        rill__window_cfg_free(cfg);
        return rill__graph_error_stream(in->in->env);
    }
    rill_stream *s = window_node(in, cfg, out);
    rill_schema_free(out);
    return s;
}

rill_stream *rill_window_aggregate_fn(rill_keyed_stream *in, const rill_window_spec *w,
                                      const rill_schema *out_schema, const rill_aggregate *agg)
{
    if (!in)
        return NULL;
    if (!begin(in, w, "window_aggregate_fn") || !check_agg(in->in->env, agg))
        return rill__graph_error_stream(in->in->env);
    if (!out_schema) {
        rill__err_first(&in->in->env->err, RILL_EINVAL, "window_aggregate_fn: no output schema");
        return rill__graph_error_stream(in->in->env);
    }
    rill__window_cfg *cfg = rill__xcalloc(1, sizeof *cfg);
    cfg->spec = *w;
    cfg->mode = RILL_WMODE_AGG;
    cfg->agg = *agg;
    rill_stream *s = window_node(in, cfg, out_schema);
    if (s->node) /* add and result reach the aggregate's user through rill_ctx_user */
        s->node->user = agg->user;
    return s;
}

int rill__window_keep_values(rill_stream *s,
                             bool (*prefer)(void *user, const void *ukey, size_t ukey_len,
                                            const void *from, size_t from_len, const void *into,
                                            size_t into_len))
{
    if (!s || !s->node || !s->node->window || s->node->window->mode != RILL_WMODE_AGG)
        return RILL_EINVAL;
    s->node->window->vals = true;
    s->node->window->vals_prefer = prefer;
    return 0;
}

rill_stream *rill_window_process(rill_keyed_stream *in, const rill_window_spec *w,
                                 const rill_schema *out_schema, rill_window_fn fn, void *user)
{
    if (!in)
        return NULL;
    if (!begin(in, w, "window_process"))
        return rill__graph_error_stream(in->in->env);
    if (!fn || !out_schema) {
        rill__err_first(&in->in->env->err, RILL_EINVAL,
                        "window_process: a window function and an output schema are needed");
        return rill__graph_error_stream(in->in->env);
    }
    rill__window_cfg *cfg = rill__xcalloc(1, sizeof *cfg);
    cfg->spec = *w;
    cfg->mode = RILL_WMODE_PROCESS;
    cfg->fn = fn;
    cfg->user = user;
    rill_stream *s = window_node(in, cfg, out_schema);
    if (s->node)
        s->node->user = user;
    return s;
}

rill_stream *rill_window_aggregate_process(rill_keyed_stream *in, const rill_window_spec *w,
                                           const rill_agg_spec *aggs, int n_aggs,
                                           const rill_aggregate *agg,
                                           const rill_schema *agg_schema,
                                           const rill_schema *out_schema, rill_window_fn fn,
                                           void *user)
{
    if (!in)
        return NULL;
    rill_env *env = in->in->env;
    if (!begin(in, w, "window_aggregate_process"))
        return rill__graph_error_stream(env);
    if (!fn || !out_schema) {
        rill__err_first(&env->err, RILL_EINVAL,
                        "window_aggregate_process: a window function and an output schema are "
                        "needed");
        return rill__graph_error_stream(env);
    }
    rill__window_cfg *cfg = rill__xcalloc(1, sizeof *cfg);
    cfg->spec = *w;
    cfg->mode = RILL_WMODE_AGG_PROCESS;
    cfg->fn = fn;
    cfg->user = user;
    if (aggs) {
        if (builtin_aggs(in, aggs, n_aggs, cfg, &cfg->agg_schema) != 0) {
            rill__window_cfg_free(cfg);
            return rill__graph_error_stream(env);
        }
    } else {
        if (!check_agg(env, agg) || !agg_schema) {
            if (!agg_schema)
                rill__err_first(&env->err, RILL_EINVAL,
                                "window_aggregate_process: a user aggregate needs agg_schema");
            rill__window_cfg_free(cfg);
            return rill__graph_error_stream(env);
        }
        cfg->agg = *agg;
        cfg->agg_schema = rill__schema_ref(agg_schema);
    }
    rill_stream *s = window_node(in, cfg, out_schema);
    if (s->node)
        s->node->user = user;
    return s;
}
