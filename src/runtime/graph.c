/* graph.c - runtime layer: the job graph built through the public API (env options, streams,
 * nodes, state descriptors, counters, side output tags). Errors are sticky in the env. */
#include <stdlib.h>
#include <string.h>

#include "runtime.h"
#include "connectors/nexmark_gen.h"

static void *own(rill_env *env, void *p)
{
    rill__grow((void **)&env->owned, &env->cap_owned, env->n_owned + 1, sizeof *env->owned);
    env->owned[env->n_owned++] = p;
    return p;
}

rill_env *rill__env_new(void)
{
    rill_env *env = rill__xcalloc(1, sizeof *env);
    env->name = rill__xstrdup("job");
    env->parallelism = 1;
    env->max_parallelism = 128;
    env->batch_size = 1024;
    env->channel_capacity = 16;
    env->bad_policy = RILL_BAD_FAIL;
    env->ckpt_timeout_ms = 600000;
    env->ckpt_max_concurrent = 1;
    env->ckpt_retain = 1;
    env->restart_attempts = INT64_MAX;
    env->rest_port = -1;
    env->restart_delay_ms = 1000;
    env->restart_max_delay_ms = 60000;
    env->restart_rate_failures = 3;
    env->restart_rate_interval_ms = 60000;
    env->state_backend = rill__xstrdup("heap");
    env->state_memory = (int64_t)256 << 20;
    return env;
}

void rill_env_free(rill_env *env)
{
    if (!env)
        return;
    for (size_t i = 0; i < env->n_nodes; i++) {
        rill__node *n = env->nodes[i];
        if (n->conn_cfg) {
            if (n->source_ops)
                n->source_ops->cfg_free(n->conn_cfg);
            else if (n->sink_ops)
                n->sink_ops->cfg_free(n->conn_cfg);
        }
        rill__window_cfg_free(n->window);
        if (n->op_cfg && n->op_factory->cfg_free)
            n->op_factory->cfg_free(n->op_cfg);
        rill_schema_free(n->out_schema);
        free(n->more);
        free(n->more_tags);
        free(n->more_keys);
        free(n->uid);
        free(n);
    }
    free(env->nodes);
    /* cap_owned counts slots, n_owned the ones in use: streams and keyed streams are plain */
    for (size_t i = 0; i < env->n_owned; i++)
        free(env->owned[i]);
    free(env->owned);
    for (size_t i = 0; i < env->n_descs; i++) {
        free(env->descs[i]->name);
        free(env->descs[i]);
    }
    free(env->descs);
    for (size_t i = 0; i < env->n_counters; i++) {
        free(env->counters[i]->name);
        free(env->counters[i]);
    }
    free(env->counters);
    for (size_t i = 0; i < env->n_tags; i++) {
        free(env->tags[i]->name);
        rill_schema_free(env->tags[i]->schema);
        free(env->tags[i]);
    }
    free(env->tags);
    free(env->dead_letter_path);
    free(env->ckpt_dir);
    free(env->from_savepoint);
    free(env->state_backend);
    free(env->state_dir);
    free(env->job_path);
    free(env->name);
    free(env);
}

const char *rill_errmsg(const rill_env *env)
{
    return env ? env->err.msg : "no env";
}

/* ---- options (the table: options.c) -------------------------------------------------------- */

int rill_env_set(rill_env *env, const char *key, const char *value)
{
    if (!env || !key)
        return RILL_EINVAL;
    const rill__option *o = rill__option_find(key);
    if (!o) {
        char keys[2048];
        rill__option_keys(keys, sizeof keys);
        return rill__err_first(&env->err, RILL_ECONFIG, "unknown option \"%s\" (known: %s)", key,
                               keys);
    }
    return rill__option_set(env, o, value);
}

const char *rill_env_get(const rill_env *cenv, const char *key)
{
    const rill__option *o = rill__option_find(key);
    return cenv && o ? rill__option_get((rill_env *)cenv, o) : NULL;
}

/* ---- rill_env_metric: the registry's live blocks of this env plus its finished totals ------ */

typedef enum env_metric {
    M_RECORDS_IN,
    M_RECORDS_OUT,
    M_RECORDS_SKIPPED,
    M_RATE_IN,
    M_RATE_OUT,
    M_BYTES_IN,
    M_BYTES_OUT,
    M_WM_IN,
    M_WM_OUT,
    M_BUSY,
    M_IDLE,
    M_BP,
    M_IN_USAGE,
    M_OUT_USAGE,
    M_LATE,
} env_metric;

static const struct {
    const char *name;
    env_metric m;
} op_metric_names[] = {
    {"records_in", M_RECORDS_IN},
    {"numRecordsIn", M_RECORDS_IN},
    {"records_out", M_RECORDS_OUT},
    {"numRecordsOut", M_RECORDS_OUT},
    {"records_skipped", M_RECORDS_SKIPPED},
    {"numRecordsInPerSecond", M_RATE_IN},
    {"numRecordsOutPerSecond", M_RATE_OUT},
    {"numBytesIn", M_BYTES_IN},
    {"numBytesOut", M_BYTES_OUT},
    {"currentInputWatermark", M_WM_IN},
    {"currentOutputWatermark", M_WM_OUT},
    {"busyTimeMsPerSecond", M_BUSY},
    {"idleTimeMsPerSecond", M_IDLE},
    {"backPressuredTimeMsPerSecond", M_BP},
    {"inPoolUsage", M_IN_USAGE},
    {"outPoolUsage", M_OUT_USAGE},
    {"numLateRecordsDropped", M_LATE},
};

typedef struct env_read {
    const rill_env *env;
    const char *uid;
    env_metric m;
    int n;       /* live subtasks of uid seen */
    int64_t sum; /* counters */
    int64_t min; /* watermarks: the operator's is its slowest subtask's (Flink's) */
    double fsum; /* rates: summed; time per second and usage: averaged / maxed below */
    int64_t max;
} env_read;

static void env_visit(void *arg, rill__task_metrics *tm)
{
    env_read *r = arg;
    if (tm->env != r->env)
        return;
    for (int i = 0; i < tm->n_ops; i++) {
        rill__op_metrics *o = &tm->ops[i];
        if (strcmp(o->uid, r->uid) != 0)
            continue;
        int64_t wm = RILL_TS_MIN;
        r->n++;
        switch (r->m) {
        case M_RECORDS_IN:
            r->sum += rill__metric_get(&o->records_in);
            break;
        case M_RECORDS_OUT:
            r->sum += rill__metric_get(&o->records_out);
            break;
        case M_LATE:
            r->sum += rill__metric_get(&o->late_dropped);
            break;
        case M_BYTES_IN:
            r->sum += rill__metric_get(&tm->bytes_in);
            break;
        case M_BYTES_OUT:
            r->sum += rill__metric_get(&tm->bytes_out);
            break;
        case M_RATE_IN:
            r->fsum += o->rate_in;
            break;
        case M_RATE_OUT:
            r->fsum += o->rate_out;
            break;
        case M_BUSY:
            r->fsum += tm->busy_ms_s;
            break;
        case M_IDLE:
            r->fsum += tm->idle_ms_s;
            break;
        case M_BP:
            r->fsum += tm->bp_ms_s;
            break;
        case M_IN_USAGE:
        case M_OUT_USAGE: {
            int u = atomic_load_explicit(r->m == M_IN_USAGE ? &tm->in_usage : &tm->out_usage,
                                         memory_order_relaxed);
            r->max = u > r->max ? u : r->max;
            break;
        }
        case M_WM_IN:
        case M_WM_OUT:
            wm = rill__metric_get(r->m == M_WM_IN ? &o->wm_in : &o->wm_out);
            r->min = wm < r->min ? wm : r->min;
            break;
        default:
            break;
        }
    }
}

static int job_metric(const rill_env *env, const char *metric, int64_t *value_out)
{
    const rill__job_metrics *j = &env->jmetrics;
    int64_t start = rill__metric_get(&j->start_ms), end = rill__metric_get(&j->end_ms);
    if (!strcmp(metric, "uptime"))
        *value_out = start ? (end ? end : rill__now_ms()) - start : 0;
    else if (!strcmp(metric, "numRestarts"))
        *value_out = rill__metric_get(&j->restarts);
    else if (!strcmp(metric, "numberOfCompletedCheckpoints"))
        *value_out = rill__metric_get(&j->ckpt_completed);
    else if (!strcmp(metric, "numberOfFailedCheckpoints"))
        *value_out = rill__metric_get(&j->ckpt_failed);
    else if (!strcmp(metric, "numberOfInProgressCheckpoints"))
        *value_out = rill__metric_get(&j->ckpt_in_progress);
    else if (!strcmp(metric, "lastCheckpointDuration"))
        *value_out = rill__metric_get(&j->ckpt_last_duration_ms);
    else if (!strcmp(metric, "lastCheckpointSize"))
        *value_out = rill__metric_get(&j->ckpt_last_size);
    else if (!strcmp(metric, "stateSize"))
        *value_out = rill__metric_get(&j->state_size);
    else
        return RILL_ENOENT;
    return 0;
}

int rill_env_metric(const rill_env *env, const char *uid, const char *metric, int64_t *value_out)
{
    if (!env || !metric || !value_out)
        return RILL_EINVAL;
    if (!uid)
        return job_metric(env, metric, value_out);
    rill__node *n = NULL;
    for (size_t i = 0; i < env->n_nodes && !n; i++)
        if (!strcmp(env->nodes[i]->uid, uid))
            n = env->nodes[i];
    if (!n)
        return RILL_ENOENT;
    int k = -1;
    for (size_t i = 0; i < sizeof op_metric_names / sizeof *op_metric_names && k < 0; i++)
        if (!strcmp(op_metric_names[i].name, metric))
            k = (int)i;
    if (k < 0)
        return RILL_ENOENT;
    env_read r = {.env = env, .uid = uid, .m = op_metric_names[k].m, .min = RILL_TS_MAX};
    if (r.m == M_RECORDS_SKIPPED) {
        *value_out = atomic_load(&n->records_skipped);
        return 0;
    }
    rill__metrics_foreach(env_visit, &r); /* the finished totals change under the same lock */
    int64_t life = atomic_load(&n->fin.life_ns);
    switch (r.m) {
    case M_RECORDS_IN:
        *value_out = r.sum + atomic_load(&n->records_in);
        break;
    case M_RECORDS_OUT:
        *value_out = r.sum + atomic_load(&n->records_out);
        break;
    case M_LATE:
        *value_out = r.sum + atomic_load(&n->fin.late_dropped);
        break;
    case M_BYTES_IN:
        *value_out = r.sum + atomic_load(&n->fin.bytes_in);
        break;
    case M_BYTES_OUT:
        *value_out = r.sum + atomic_load(&n->fin.bytes_out);
        break;
    case M_WM_IN:
    case M_WM_OUT:
        *value_out = r.n ? r.min : atomic_load(r.m == M_WM_IN ? &n->fin.wm_in : &n->fin.wm_out);
        break;
    case M_IN_USAGE:
    case M_OUT_USAGE:
        *value_out = r.max / 10;
        break; /* percent */
    case M_RATE_IN:
    case M_RATE_OUT:
        if (r.n) /* live: over the last second or more; after the run: over the whole run */
            *value_out = (int64_t)(r.fsum + 0.5);
        else
            *value_out = env->elapsed_ms > 0
                             ? atomic_load(r.m == M_RATE_IN ? &n->records_in : &n->records_out) *
                                   1000 / env->elapsed_ms
                             : 0;
        break;
    case M_BUSY:
    case M_IDLE:
    case M_BP:
        if (r.n) { /* the mean over the live subtasks */
            *value_out = (int64_t)(r.fsum / r.n + 0.5);
        } else if (life > 0) { /* the finished tasks' share of their lifetime */
            int64_t idle = atomic_load(&n->fin.idle_ns), bp = atomic_load(&n->fin.bp_ns);
            int64_t part = r.m == M_IDLE ? idle : r.m == M_BP ? bp : life - idle - bp;
            *value_out = part < 0 ? 0 : (int64_t)((double)part * 1000 / (double)life + 0.5);
        } else {
            *value_out = 0;
        }
        break;
    default:
        return RILL_ENOENT;
    }
    return 0;
}

int64_t rill_env_elapsed_ms(const rill_env *env)
{
    return env ? env->elapsed_ms : 0;
}

int rill__node_parallelism(const rill_env *env, const rill__node *n)
{
    if (n->parallelism > 0)
        return n->parallelism;
    if (n->kind == RILL_NODE_EVENT_TIME) /* stays chained to its input, split by split */
        return rill__node_parallelism(env, n->input);
    return env->parallelism;
}

/* ---- nodes and streams ---------------------------------------------------------------------- */

static const char *kind_name(rill__node_kind k)
{
    static const char *names[] = {"?",       "source", "map",        "filter", "flat_map",
                                  "process", "sink",   "event_time", "window", "operator",
                                  "union"};
    return k >= RILL_NODE_SOURCE && k <= RILL_NODE_UNION ? names[k] : "?";
}

/* A stream that only carries the env's error along. */
static rill_stream *error_stream(rill_env *env)
{
    rill_stream *s = own(env, rill__xcalloc(1, sizeof(rill_stream)));
    s->env = env;
    s->tag = -1;
    return s;
}

static rill_stream *stream_of(rill_env *env, rill__node *n, int tag, const rill_schema *schema)
{
    rill_stream *s = own(env, rill__xcalloc(1, sizeof(rill_stream)));
    s->env = env;
    s->node = n;
    s->tag = tag;
    s->schema = schema;
    return s;
}

static rill__node *node_new(rill_env *env, rill__node_kind kind, const rill_stream *in,
                            const rill_schema *out_schema)
{
    rill__node *n = rill__xcalloc(1, sizeof *n);
    n->id = (int)env->n_nodes + 1;
    n->kind = kind;
    n->uid = rill__xasprintf("%s-%d", kind_name(kind), n->id);
    n->input_tag = -1;
    atomic_init(&n->fin.wm_in, RILL_TS_MIN);
    atomic_init(&n->fin.wm_out, RILL_TS_MIN);
    if (in) {
        n->input = in->node;
        n->input_tag = in->tag;
    }
    if (out_schema) {
        n->out_schema = rill__schema_ref(out_schema);
        rill__schema_freeze(out_schema);
    }
    rill__grow((void **)&env->nodes, &env->cap_nodes, env->n_nodes + 1, sizeof *env->nodes);
    env->nodes[env->n_nodes++] = n;
    return n;
}

/* The checks every consumer of a stream makes; NULL when it carries an error already. */
static bool usable(rill_stream *in, const char *what)
{
    if (!in->node)
        return false;
    if (in->node->kind == RILL_NODE_SINK) {
        rill__err_first(&in->env->err, RILL_EGRAPH, "%s: '%s' is a sink and has no output", what,
                        in->node->uid);
        return false;
    }
    return true;
}

static rill_stream *fn_node(rill_stream *in, rill__node_kind kind, const rill_schema *out_schema,
                            rill__node_fn fn, void *user, const char *what)
{
    if (!in)
        return NULL;
    rill_env *env = in->env;
    if (!usable(in, what))
        return error_stream(env);
    if (!fn.any) {
        rill__err_first(&env->err, RILL_EINVAL, "%s: no function given", what);
        return error_stream(env);
    }
    const rill_schema *schema = out_schema ? out_schema : in->schema;
    rill__node *n = node_new(env, kind, in, schema);
    n->fn = fn;
    n->user = user;
    return stream_of(env, n, -1, n->out_schema);
}

rill_stream *rill_stream_map(rill_stream *in, const rill_schema *out_schema, rill_map_fn fn,
                             void *user)
{
    /* with no out_schema the node shares its input's schema, and the map runs in place */
    return fn_node(in, RILL_NODE_MAP, out_schema, (rill__node_fn){.map = fn}, user, "map");
}

rill_stream *rill_stream_filter(rill_stream *in, rill_filter_fn fn, void *user)
{
    return fn_node(in, RILL_NODE_FILTER, NULL, (rill__node_fn){.filter = fn}, user, "filter");
}

rill_stream *rill_stream_flat_map(rill_stream *in, const rill_schema *out_schema,
                                  rill_flat_map_fn fn, void *user)
{
    return fn_node(in, RILL_NODE_FLAT_MAP, out_schema, (rill__node_fn){.flat_map = fn}, user,
                   "flat_map");
}

rill_keyed_stream *rill_stream_key_by(rill_stream *in, const char *fields)
{
    if (!in)
        return NULL;
    rill_keyed_stream *k = own(in->env, rill__xcalloc(1, sizeof *k));
    k->in = in;
    if (!usable(in, "key_by")) {
        k->in = error_stream(in->env);
        return k;
    }
    rill__err e = {0};
    if (rill__key_spec_init(&k->key, in->schema, fields, &e) != 0) {
        rill__err_first(&in->env->err, e.code, "%s (after '%s')", e.msg, in->node->uid);
        k->in = error_stream(in->env);
    }
    return k;
}

rill_stream *rill_keyed_process(rill_keyed_stream *in, const rill_schema *out_schema,
                                rill_process_fn fn, void *user)
{
    if (!in)
        return NULL;
    rill_stream *s = fn_node(in->in, RILL_NODE_PROCESS, out_schema,
                             (rill__node_fn){.process = fn}, user, "process");
    if (s && s->node) {
        s->node->keyed = true;
        s->node->key = in->key;
    }
    return s;
}

rill_stream *rill_keyed_co_process(rill_keyed_stream *a, rill_keyed_stream *b,
                                   const rill_schema *out_schema, rill_process_fn fn1,
                                   rill_process_fn fn2, void *user)
{
    if (!a || !b)
        return NULL;
    rill_env *env = a->in->env;
    if (b->in->env != env) {
        rill__err_first(&env->err, RILL_EINVAL, "co_process: the second input is of another env");
        return error_stream(env);
    }
    if (!usable(b->in, "co_process"))
        return error_stream(env);
    if (!fn2) {
        rill__err_first(&env->err, RILL_EINVAL, "co_process: no function for the second input");
        return error_stream(env);
    }
    /* one key for both: the same bytes and hash for equal values, whichever side they are on */
    rill__key_spec ka = a->key, kb = b->key;
    bool same = ka.n == kb.n;
    for (int i = 0; same && i < ka.n; i++)
        same = ka.type[i] == kb.type[i] && ka.in_bytes[i] == kb.in_bytes[i];
    if (!same) {
        rill__err_first(&env->err, RILL_EGRAPH,
                        "co_process of '%s' and '%s': their keys have other field types (%d "
                        "and %d fields): both inputs must be keyed alike",
                        a->in->node ? a->in->node->uid : "?", b->in->node->uid, ka.n, kb.n);
        return error_stream(env);
    }
    ka.any_nullable = kb.any_nullable = ka.any_nullable || kb.any_nullable;
    ka.fast_u64 = kb.fast_u64 = ka.n == 1 && !ka.any_nullable && !ka.in_bytes[0];
    rill_stream *s = fn_node(a->in, RILL_NODE_PROCESS, out_schema,
                             (rill__node_fn){.process = fn1}, user, "co_process");
    if (s && s->node) {
        rill__node *n = s->node;
        n->keyed = true;
        n->key = ka;
        n->fn2 = fn2;
        n->n_more = 1;
        n->more = rill__xcalloc(1, sizeof *n->more);
        n->more_tags = rill__xcalloc(1, sizeof *n->more_tags);
        n->more_keys = rill__xcalloc(1, sizeof *n->more_keys);
        n->more[0] = b->in->node;
        n->more_tags[0] = b->in->tag;
        n->more_keys[0] = kb;
    }
    return s;
}

rill_stream *rill_stream_event_time(rill_stream *s, const char *ts_field,
                                    const rill_watermark_opts *opts)
{
    if (!s)
        return NULL;
    if (!usable(s, "event_time"))
        return error_stream(s->env);
    /* no field: the rows' own timestamps, which a Kafka source gives (its messages') and the
     * Nexmark source (its events' dateTime) */
    bool own = !ts_field && s->node->kind == RILL_NODE_SOURCE &&
               (s->node->source_ops == &rill__kafka_source_ops ||
                s->node->source_ops == &rill__nexmark_source_ops);
    int f = ts_field ? rill_schema_index(s->schema, ts_field) : own ? -1 : RILL_ENOENT;
    if (!ts_field && !own) {
        rill__err_first(&s->env->err, RILL_EINVAL, "event_time after '%s': no timestamp field "
                        "named (only Kafka and Nexmark sources' rows carry timestamps of "
                        "their own)",
                        s->node->uid);
        return error_stream(s->env);
    }
    if (f < 0 && !own) {
        rill__buf b = {0};
        rill__schema_describe(s->schema, &b);
        rill__err_first(&s->env->err, RILL_EINVAL, "event_time after '%s': no field '%s' in (%s)",
                        s->node->uid, ts_field ? ts_field : "(null)", rill__buf_cstr(&b));
        rill__buf_free(&b);
        return error_stream(s->env);
    }
    rill_type t = own ? RILL_T_TIMESTAMP : s->schema->fields[f].type;
    /* event time is milliseconds: TIMESTAMP(p > 3) holds nanoseconds and is refused */
    bool ms = own || t == RILL_T_INT64 ||
              ((t == RILL_T_TIMESTAMP || t == RILL_T_TIMESTAMP_LTZ) &&
               s->schema->fields[f].precision <= 3);
    if (!ms) {
        char tn[64];
        if (own)
            snprintf(tn, sizeof tn, "TIMESTAMP");
        else
            rill_type_format(rill__field_info(&s->schema->fields[f]), tn, sizeof tn);
        rill__err_first(&s->env->err, RILL_ETYPE,
                        "event_time after '%s': field '%s' is %s, expected TIMESTAMP(p <= 3), "
                        "TIMESTAMP_LTZ(p <= 3) or INT64 (milliseconds)",
                        s->node->uid, ts_field, tn);
        return error_stream(s->env);
    }
    rill_watermark_opts o = opts ? *opts : (rill_watermark_opts){.kind = RILL_WM_BOUNDED};
    if (o.kind > RILL_WM_OFFSET || o.max_delay_ms < 0 || o.idle_timeout_ms < 0) {
        rill__err_first(&s->env->err, RILL_EINVAL,
                        "event_time after '%s': bad watermark options (kind %d, max delay %lld, "
                        "idle timeout %lld)", s->node->uid, (int)o.kind,
                        (long long)o.max_delay_ms, (long long)o.idle_timeout_ms);
        return error_stream(s->env);
    }
    rill__node *n = node_new(s->env, RILL_NODE_EVENT_TIME, s, s->schema);
    n->ts_field = f;
    n->wm_opts = o;
    return stream_of(s->env, n, -1, n->out_schema);
}

rill_stream *rill_stream_on_timer(rill_stream *s, rill_timer_fn fn)
{
    if (!s || !s->node)
        return s;
    if (s->node->kind != RILL_NODE_PROCESS) {
        rill__err_first(&s->env->err, RILL_EGRAPH,
                        "on_timer: '%s' is a %s, not a keyed process function", s->node->uid,
                        kind_name(s->node->kind));
        return s;
    }
    s->node->on_timer = fn;
    return s;
}

rill_stream *rill_stream_side_output(rill_stream *s, const rill_output_tag *tag)
{
    if (!s)
        return NULL;
    if (!usable(s, "side_output"))
        return error_stream(s->env);
    if (!tag) {
        rill__err_first(&s->env->err, RILL_EINVAL, "side_output of '%s': no tag given",
                        s->node->uid);
        return error_stream(s->env);
    }
    if (s->node->kind != RILL_NODE_FLAT_MAP && s->node->kind != RILL_NODE_PROCESS &&
        s->node->kind != RILL_NODE_WINDOW) {
        rill__err_first(&s->env->err, RILL_EGRAPH,
                        "side_output '%s': '%s' is a %s; only flat_map, process and window "
                        "operators have side outputs", tag->name, s->node->uid,
                        kind_name(s->node->kind));
        return error_stream(s->env);
    }
    return stream_of(s->env, s->node, tag->id, tag->schema);
}

rill_stream *rill_stream_union(rill_stream *const *streams, int n)
{
    if (!streams || n < 1 || !streams[0])
        return NULL;
    rill_env *env = streams[0]->env;
    for (int i = 0; i < n; i++) {
        if (!streams[i] || streams[i]->env != env) {
            rill__err_first(&env->err, RILL_EINVAL, "union: stream %d of %d is %s", i + 1, n,
                            streams[i] ? "of another env" : "NULL");
            return error_stream(env);
        }
        if (!usable(streams[i], "union"))
            return error_stream(env);
    }
    /* every input's rows must be laid out alike: the operators after the union read a row of
     * any input by the first one's schema */
    const rill_schema *first = streams[0]->schema;
    bool widen = false; /* a field nullable in some input is nullable in the union */
    for (int i = 1; i < n; i++) {
        const rill_schema *si = streams[i]->schema;
        if (!rill__schema_compatible(first, si)) {
            rill__buf a = {0}, b = {0};
            rill__schema_describe(first, &a);
            rill__schema_describe(si, &b);
            rill__err_first(&env->err, RILL_EGRAPH,
                            "union: input %d ('%s') has the fields (%s), input 1 ('%s') has "
                            "(%s): a union takes inputs of the same field types",
                            i + 1, streams[i]->node->uid, rill__buf_cstr(&b),
                            streams[0]->node->uid, rill__buf_cstr(&a));
            rill__buf_free(&a);
            rill__buf_free(&b);
            return error_stream(env);
        }
        for (int f = 0; f < first->n_fields; f++)
            widen |= si->fields[f].nullable && !first->fields[f].nullable;
    }
    rill_schema *own_schema = NULL;
    if (widen) {
        own_schema = rill_schema_new();
        for (int f = 0; f < first->n_fields; f++) {
            bool nullable = false;
            for (int i = 0; i < n; i++)
                nullable |= streams[i]->schema->fields[f].nullable;
            rill_schema_add_typed(own_schema, first->fields[f].name,
                                  rill__field_info(&first->fields[f]), nullable);
        }
        own_schema->sql_text = first->sql_text;
    }
    rill__node *u = node_new(env, RILL_NODE_UNION, streams[0], own_schema ? own_schema : first);
    rill_schema_free(own_schema); /* the node holds its reference */
    u->n_more = n - 1;
    u->more = rill__xcalloc((size_t)n, sizeof *u->more);
    u->more_tags = rill__xcalloc((size_t)n, sizeof *u->more_tags);
    for (int i = 1; i < n; i++) {
        u->more[i - 1] = streams[i]->node;
        u->more_tags[i - 1] = streams[i]->tag;
    }
    return stream_of(env, u, -1, u->out_schema);
}

rill_stream *rill_stream_uid(rill_stream *s, const char *uid)
{
    if (!s || !s->node)
        return s;
    if (!uid || !*uid) {
        rill__err_first(&s->env->err, RILL_EINVAL, "uid of '%s': must not be empty",
                        s->node->uid);
        return s;
    }
    free(s->node->uid);
    s->node->uid = rill__xstrdup(uid);
    return s;
}

rill_stream *rill_stream_parallelism(rill_stream *s, int parallelism)
{
    if (!s || !s->node)
        return s;
    if (parallelism < 1 || parallelism > 32768) {
        rill__err_first(&s->env->err, RILL_EINVAL, "parallelism of '%s': %d is not in 1..32768",
                        s->node->uid, parallelism);
        return s;
    }
    s->node->parallelism = parallelism;
    return s;
}

rill_stream *rill_stream_hooks(rill_stream *s, rill_open_fn open, rill_close_fn close)
{
    if (!s || !s->node)
        return s;
    s->node->open = open;
    s->node->close = close;
    return s;
}

const rill_schema *rill_stream_schema(const rill_stream *s)
{
    return s ? s->schema : NULL;
}

/* ---- sources and sinks ---------------------------------------------------------------------- */

static rill_stream *source_node(rill_env *env, const rill_schema *schema,
                                const rill__source_ops *ops, void *cfg)
{
    if (!schema) {
        ops->cfg_free(cfg);
        rill__err_first(&env->err, RILL_EINVAL, "%s source: no schema given", ops->kind);
        return error_stream(env);
    }
    rill__err e = {0};
    if (ops->validate(cfg, schema, &e) != 0) {
        ops->cfg_free(cfg);
        rill__err_first(&env->err, e.code, "%s", e.msg); /* names the connector itself */
        return error_stream(env);
    }
    rill__node *n = node_new(env, RILL_NODE_SOURCE, NULL, schema);
    n->source_ops = ops;
    n->conn_cfg = cfg;
    return stream_of(env, n, -1, n->out_schema);
}

rill_stream *rill_source_generator(rill_env *env, const rill_schema *schema,
                                   const rill_gen_opts *opts)
{
    if (!env)
        return NULL;
    if (!opts) {
        rill__err_first(&env->err, RILL_EINVAL, "generator source: no options given");
        return error_stream(env);
    }
    rill_stream *s = source_node(env, schema, &rill__generator_source_ops,
                                 rill__generator_cfg(opts));
    if (s->node)
        s->node->user = opts->user;
    return s;
}

rill_stream *rill_source_file(rill_env *env, const char *path, const rill_schema *schema,
                              const rill_file_opts *opts)
{
    if (!env)
        return NULL;
    if (!path || !*path) {
        rill__err_first(&env->err, RILL_EINVAL, "file source: no path given");
        return error_stream(env);
    }
    return source_node(env, schema, &rill__file_source_ops, rill__file_source_cfg(path, opts));
}

rill_stream *rill_source_kafka(rill_env *env, const rill_schema *schema,
                               const char *const *options)
{
    if (!env)
        return NULL;
    rill__err e = {0};
    void *cfg = rill__kafka_source_cfg(options, &e);
    if (!cfg) {
        rill__err_first(&env->err, e.code, "%s", e.msg);
        return error_stream(env);
    }
    return source_node(env, schema, &rill__kafka_source_ops, cfg);
}

rill_stream *rill__source_nexmark(rill_env *env, const rill_schema *schema,
                                  const char *const *options)
{
    if (!env)
        return NULL;
    rill__err e = {0};
    void *cfg = rill__nexmark_source_cfg(options, &e);
    if (!cfg) {
        rill__err_first(&env->err, e.code, "%s", e.msg);
        return error_stream(env);
    }
    rill_schema *all = schema ? NULL : rill__nexmark_schema();
    rill_stream *s = source_node(env, schema ? schema : all, &rill__nexmark_source_ops, cfg);
    rill_schema_free(all);
    return s;
}

rill_stream *rill__source_datagen(rill_env *env, const rill_schema *schema,
                                  const char *const *options, const char *table)
{
    if (!env)
        return NULL;
    return source_node(env, schema, &rill__datagen_source_ops,
                       rill__datagen_source_cfg(options, table));
}

rill_stream *rill_source_datagen(rill_env *env, const rill_schema *schema,
                                 const char *const *options)
{
    return rill__source_datagen(env, schema, options, NULL);
}

static rill_stream *sink_node(rill_stream *in, const rill__sink_ops *ops, void *cfg)
{
    if (!in) {
        ops->cfg_free(cfg);
        return NULL;
    }
    rill_env *env = in->env;
    if (!usable(in, ops->kind)) {
        ops->cfg_free(cfg);
        return error_stream(env);
    }
    rill__err e = {0};
    if (ops->validate(cfg, in->schema, &e) != 0) {
        ops->cfg_free(cfg);
        rill__err_first(&env->err, e.code, "%s", e.msg); /* names the connector itself */
        return error_stream(env);
    }
    rill__node *n = node_new(env, RILL_NODE_SINK, in, NULL);
    n->sink_ops = ops;
    n->conn_cfg = cfg;
    return stream_of(env, n, -1, in->schema);
}

rill_stream *rill_sink_print(rill_stream *in, const rill_file_opts *opts)
{
    return sink_node(in, &rill__print_sink_ops, rill__print_sink_cfg(opts, NULL));
}

rill_stream *rill_sink_file(rill_stream *in, const char *path, const rill_file_opts *opts)
{
    if (in && (!path || !*path)) {
        rill__err_first(&in->env->err, RILL_EINVAL, "file sink: no path given");
        return error_stream(in->env);
    }
    return sink_node(in, &rill__file_sink_ops, rill__file_sink_cfg(path, opts));
}

rill_stream *rill_sink_file_exactly_once(rill_stream *in, const char *dir,
                                         const rill_file_opts *opts)
{
    if (in && (!dir || !*dir)) {
        rill__err_first(&in->env->err, RILL_EINVAL, "exactly-once file sink: no directory given");
        return error_stream(in->env);
    }
    return sink_node(in, &rill__exactly_once_file_sink_ops,
                     rill__exactly_once_file_sink_cfg(dir, opts));
}

rill_stream *rill__sink_filesystem(rill_stream *in, const char *const *options,
                                   const char *const *keys, int n_keys)
{
    if (!in)
        return NULL;
    rill__err e = {0};
    void *cfg = rill__fs_sink_cfg(options, keys, n_keys, &e);
    if (!cfg) {
        rill__err_first(&in->env->err, e.code, "%s", e.msg);
        return error_stream(in->env);
    }
    return sink_node(in, &rill__exactly_once_file_sink_ops, cfg);
}

rill_stream *rill_sink_kafka(rill_stream *in, const char *const *options)
{
    if (!in)
        return NULL;
    rill__err e = {0};
    void *cfg = rill__kafka_sink_cfg(options, &e);
    if (!cfg) {
        rill__err_first(&in->env->err, e.code, "%s", e.msg);
        return error_stream(in->env);
    }
    return sink_node(in, &rill__kafka_sink_ops, cfg);
}

static bool is_kafka(const char *location)
{
    return location && !strncmp(location, "kafka://", 8);
}

rill_stream *rill_source_at(rill_env *env, const char *location, const rill_schema *schema,
                            const rill_io_opts *opts)
{
    if (!env)
        return NULL;
    rill_io_opts o = opts ? *opts : (rill_io_opts){0};
    if (!is_kafka(location))
        return rill_source_file(env, location, schema, o.format);
    bool json = o.format && o.format->format == RILL_FMT_JSON;
    char delim[2] = {o.format && o.format->delimiter ? o.format->delimiter : ',', '\0'};
    const char *kopts[] = {"url", location, "format", json ? "json" : "csv",
                           "csv.field-delimiter", delim, "scan.startup.mode", "earliest-offset",
                           "scan.bounded.mode", o.unbounded ? "unbounded" : "latest-offset",
                           NULL};
    return rill_source_kafka(env, schema, kopts);
}

rill_stream *rill_sink_at(rill_stream *in, const char *location, const rill_io_opts *opts)
{
    if (!in)
        return NULL;
    rill_io_opts o = opts ? *opts : (rill_io_opts){0};
    if (!location)
        return rill_sink_blackhole(in);
    if (!strcmp(location, "-"))
        return rill_sink_print(in, o.format);
    if (!is_kafka(location))
        return o.exactly_once ? rill_sink_file_exactly_once(in, location, o.format)
                              : rill_sink_file(in, location, o.format);
    bool json = o.format && o.format->format == RILL_FMT_JSON;
    char delim[2] = {o.format && o.format->delimiter ? o.format->delimiter : ',', '\0'};
    char *prefix = rill__xasprintf("rill-%s", in->env->name ? in->env->name : "job");
    const char *kopts[] = {"url", location, "format", json ? "json" : "csv",
                           "csv.field-delimiter", delim, "sink.delivery-guarantee",
                           o.exactly_once ? "exactly-once" : "at-least-once",
                           "sink.transactional-id-prefix", prefix, NULL};
    rill_stream *s = rill_sink_kafka(in, kopts);
    free(prefix);
    return s;
}

rill_stream *rill_sink_blackhole(rill_stream *in)
{
    return sink_node(in, &rill__blackhole_sink_ops, rill__print_sink_cfg(NULL, NULL));
}

/* ---- state descriptors, counters, tags ------------------------------------------------------ */

/* (rill_value_state and the other state descriptors: state_descs.c) */

rill_counter *rill_counter_new(rill_env *env, const char *name)
{
    if (!env)
        return NULL;
    rill_counter *c = rill__xcalloc(1, sizeof *c);
    c->id = (int)env->n_counters;
    c->name = rill__xstrdup(name ? name : "counter");
    rill__grow((void **)&env->counters, &env->cap_counters, env->n_counters + 1,
               sizeof *env->counters);
    env->counters[env->n_counters++] = c;
    return c;
}

rill_output_tag *rill_output_tag_new(rill_env *env, const char *name, const rill_schema *schema)
{
    if (!env)
        return NULL;
    if (!schema) {
        rill__err_first(&env->err, RILL_EINVAL, "output tag '%s': no schema given",
                        name ? name : "?");
        return NULL;
    }
    rill_output_tag *t = rill__xcalloc(1, sizeof *t);
    t->id = (int)env->n_tags;
    t->name = rill__xstrdup(name && *name ? name : "side");
    t->schema = rill__schema_ref(schema);
    rill__schema_freeze(schema);
    rill__grow((void **)&env->tags, &env->cap_tags, env->n_tags + 1, sizeof *env->tags);
    env->tags[env->n_tags++] = t;
    return t;
}

/* ---- validation ----------------------------------------------------------------------------- */

int rill__env_validate(rill_env *env)
{
    if (env->err.code)
        return env->err.code;
    size_t sinks = 0;
    for (size_t i = 0; i < env->n_nodes; i++) {
        rill__node *n = env->nodes[i];
        sinks += n->kind == RILL_NODE_SINK;
        int p = rill__node_parallelism(env, n);
        if (n->keyed && p > env->max_parallelism)
            return rill__err_set(&env->err, RILL_ECONFIG,
                                 "operator '%s': parallelism %d exceeds max-parallelism %d",
                                 n->uid, p, env->max_parallelism);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(env->nodes[j]->uid, n->uid))
                return rill__err_set(&env->err, RILL_EGRAPH,
                                     "uid '%s' is used by two operators (%s-%d and %s-%d)",
                                     n->uid, kind_name(env->nodes[j]->kind), env->nodes[j]->id,
                                     kind_name(n->kind), n->id);
    }
    for (size_t i = 0; i < env->n_nodes; i++) { /* two exactly-once file sinks, one set of files */
        const rill__node *a = env->nodes[i];
        if (a->sink_ops != &rill__exactly_once_file_sink_ops)
            continue;
        for (size_t j = 0; j < i; j++) {
            const rill__node *b = env->nodes[j];
            if (b->sink_ops == &rill__exactly_once_file_sink_ops &&
                rill__eo_sink_same_files(a->conn_cfg, b->conn_cfg))
                return rill__err_set(&env->err, RILL_EGRAPH,
                                     "sinks '%s' and '%s' would write the same part files (one "
                                     "directory): each would take the other's files for its "
                                     "own; give them directories of their own",
                                     b->uid, a->uid);
        }
    }
    if (env->n_nodes == 0)
        return rill__err_set(&env->err, RILL_EGRAPH, "the job has no operators");
    if (env->ckpt_interval_ms > 0 && !env->ckpt_dir)
        return rill__err_set(&env->err, RILL_ECONFIG,
                             "checkpoint.interval is set but checkpoint.dir is not: checkpoints "
                             "need a directory (--checkpoint-dir)");
    if (sinks == 0)
        return rill__err_set(&env->err, RILL_EGRAPH,
                             "the job has no sink: add rill_sink_print, rill_sink_file or "
                             "rill_sink_blackhole");
    return 0;
}

/* ---- execution ------------------------------------------------------------------------------ */

int rill_env_execute(rill_env *env)
{
    if (!env)
        return RILL_EINVAL;
    if (env->executed)
        return rill__err_first(&env->err, RILL_EPERM, "rill_env_execute: the job already ran");
    env->executed = true;
    if (env->err.code)
        return env->err.code;
    if (env->dead_letter_path && env->bad_policy != RILL_BAD_SKIP)
        rill__log(RILL_LOG_WARN, "dead-letter-file '%s' is unused: malformed records fail the "
                  "job unless bad-records is \"skip\"", env->dead_letter_path);
    if (!env->executor)
        return rill__err_set(&env->err, RILL_ECONFIG, "rill_env_execute: no executor");
    int64_t t0 = rill__mono_ns();
    rill__metric_set(&env->jmetrics.end_ms, 0);
    rill__metric_set(&env->jmetrics.start_ms, rill__now_ms());
    int rc = env->executor(env, env->executor_arg);
    env->elapsed_ms = (rill__mono_ns() - t0) / 1000000;
    rill__metric_set(&env->jmetrics.end_ms, rill__now_ms());
    if (rc && !env->err.code)
        rill__err_set(&env->err, rc, "job failed: %s", rill_strerror(rc));
    return rc;
}

/* ---- for the other graph files (window_graph.c) --------------------------------------------- */

rill__node *rill__graph_node(rill_env *env, rill__node_kind kind, const rill_stream *in,
                             const rill_schema *out_schema)
{
    return node_new(env, kind, in, out_schema);
}

rill_stream *rill__graph_stream(rill_env *env, rill__node *n, int tag, const rill_schema *schema)
{
    return stream_of(env, n, tag, schema);
}

rill_stream *rill__graph_error_stream(rill_env *env)
{
    return error_stream(env);
}

bool rill__graph_usable(rill_stream *in, const char *what)
{
    return usable(in, what);
}

static rill_stream *operator_node(rill_stream *in, const rill_schema *out_schema,
                                  const rill__op_factory *f, void *cfg)
{
    if (!in || !usable(in, f->kind)) {
        if (cfg && f->cfg_free)
            f->cfg_free(cfg);
        return in ? error_stream(in->env) : NULL;
    }
    rill__node *n = node_new(in->env, RILL_NODE_OPERATOR, in, out_schema ? out_schema
                                                                          : in->schema);
    n->op_factory = f;
    n->op_cfg = cfg;
    free(n->uid);
    n->uid = rill__xasprintf("%s-%d", f->kind, n->id);
    return stream_of(in->env, n, -1, n->out_schema);
}

rill_stream *rill__graph_operator(rill_stream *in, const rill_schema *out_schema,
                                  const rill__op_factory *f, void *cfg)
{
    return operator_node(in, out_schema, f, cfg);
}

rill_stream *rill__graph_keyed_operator(rill_keyed_stream *in, const rill_schema *out_schema,
                                        const rill__op_factory *f, void *cfg)
{
    if (!in) {
        if (cfg && f->cfg_free)
            f->cfg_free(cfg);
        return NULL;
    }
    rill_stream *s = operator_node(in->in, out_schema, f, cfg);
    if (s && s->node) {
        s->node->keyed = true;
        s->node->key = in->key;
    }
    return s;
}

rill_stream *rill__graph_sink(rill_stream *in, const rill__sink_ops *ops, void *cfg)
{
    return sink_node(in, ops, cfg);
}
