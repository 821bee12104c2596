/* task.c - runtime layer: tasks. A task runs one subtask of one vertex on its own thread: the
 * chained operators, the source or the input gate over its channels, and the partitioning
 * writers of its outgoing edges. A job run is the set of tasks of one job in this process. */
#include <stdlib.h>
#include <string.h>

#include "remote.h"
#include "task_int.h"

#define IDLE_PARK_NS (20 * 1000 * 1000) /* a safety net: wake-ups are explicit */
#define IDLE_SPINS 256                   /* empty polls before parking: a batch is often near */

const char *rill__task_state_name(rill__task_state s)
{
    static const char *names[] = {"CREATED", "RUNNING", "FINISHED", "FAILED", "CANCELED"};
    return s <= RILL_TASK_CANCELED ? names[s] : "?";
}

int rill__task_index(const rill__task *t)
{
    return t->index;
}

const char *rill__task_name(const rill__task *t)
{
    return t->name;
}

const char *rill__task_errmsg(const rill__task *t)
{
    return t->err.msg;
}

/* ---- the source operator: forwards what the source reads ------------------------------------ */

typedef struct source_op {
    rill__operator op;
    rill__source *source; /* the task's */
} source_op;

static int source_op_process(rill__operator *op, rill_batch *b)
{
    /* an empty batch still tells event time that a split began or ended */
    if (b->n_rows == 0 && (b->split_done || b->split_new))
        return op->main.out->ops->batch(op->main.out, b);
    return rill__operator_forward(op, b);
}

/* The source's own notification (a Kafka reader commits its offsets to the group). */
static int source_op_complete(rill__operator *op, uint64_t id)
{
    rill__source *src = ((source_op *)op)->source;
    return src->ops->checkpoint_complete ? src->ops->checkpoint_complete(src, id) : 0;
}

static void source_op_destroy(rill__operator *op)
{
    rill__operator_fini(op);
    free(op);
}

static const rill__operator_ops source_op_ops = {
    .kind = "source",
    .open = rill__operator_open_hook,
    .process = source_op_process,
    .checkpoint_complete = source_op_complete,
    .end_input = rill__operator_end_outputs,
    .close = rill__operator_close,
    .destroy = source_op_destroy,
};

/* ---- channel writers: the outputs of a task's edges ----------------------------------------- */

typedef struct edge_writer {
    rill__output base;
    rill__task *task;
    rill__exec_edge *edge;
    int n;                 /* receiving subtasks */
    rill__channel **ch;    /* by receiving subtask */
    rill_batch **staging;  /* HASH: rows for each receiver */
    rill__batch_pool *pool;
    const rill__key_spec *key;
    int max_par;
    uint16_t *kg_sub;      /* HASH: receiving subtask by key group (no division per row) */
    int next;              /* REBALANCE: round robin position */
    rill__buf scratch;
} edge_writer;

/* ---- metrics: counted by the task thread, published into its block ------------------------ */

/* What a batch carries: its rows' slots and their bytes (what a remote channel would send). */
static inline int64_t batch_bytes(const rill_batch *b)
{
    return (int64_t)b->n_rows * b->row_words * 8 + (int64_t)b->n_bytes;
}

/* Parks, adding the time parked to *acc (idle or back-pressured) when metrics are on. */
static void park_timed(rill__task *t, int64_t ns, int64_t *acc)
{
    if (!t->metrics) {
        rill__parker_park(&t->parker, ns);
        return;
    }
    int64_t t0 = rill__mono_ns();
    rill__parker_park(&t->parker, ns);
    *acc += rill__mono_ns() - t0;
}

static int channel_permille(rill__channel *c)
{
    size_t used = atomic_load_explicit(&c->tail, memory_order_relaxed) -
                  atomic_load_explicit(&c->head, memory_order_relaxed);
    return (int)(used * 1000 / (c->mask + 1));
}

/* Copies the task's counts into its block (relaxed stores; a reporter reads them). Called per
 * batch or so, never per row; the channels' fill is looked at every 16th time. */
static void publish(rill__task *t)
{
    rill__task_metrics *m = t->metrics;
    if (!m)
        return;
    for (int i = 0; i < t->v->n_nodes; i++) {
        rill__operator *op = t->ops[i];
        rill__op_metrics *o = &m->ops[i];
        int64_t out = op->main.n_rows;
        for (int s = 0; s < op->n_side; s++)
            out += op->side[s].n_rows;
        rill__metric_set(&o->records_in, op->records_in);
        rill__metric_set(&o->records_out, out);
        rill__metric_set(&o->late_dropped, op->late_dropped);
        rill__metric_set(&o->wm_in, op->in_watermark);
        rill__metric_set(&o->wm_out, op->watermark);
    }
    rill__metric_set(&m->bytes_in, t->bytes_in);
    rill__metric_set(&m->bytes_out, t->bytes_out);
    rill__metric_set(&m->idle_ns, t->idle_ns);
    rill__metric_set(&m->backpressured_ns, t->bp_ns);
    if ((t->n_published++ & 15) == 0) {
        int in = 0, out = 0;
        for (int c = 0; c < t->n_in; c++) {
            int u = channel_permille(t->in[c]);
            in = u > in ? u : in;
        }
        for (int k = 0; k < t->n_writers; k++) {
            edge_writer *w = (edge_writer *)t->writers[k];
            for (int c = 0; c < w->n; c++) {
                int u = channel_permille(w->ch[c]);
                out = u > out ? u : out;
            }
        }
        atomic_store_explicit(&m->in_usage, in, memory_order_relaxed);
        atomic_store_explicit(&m->out_usage, out, memory_order_relaxed);
    }
}

/* Blocks while the channel is full: back-pressure. RILL_ECANCELED when the task is canceled. */
static int channel_push(rill__task *t, rill__channel *c, const rill__msg *m)
{
    while (!rill__channel_try_push(c, m)) {
        rill__parker_prepare(&t->parker);
        if (rill__channel_try_push(c, m)) {
            rill__parker_cancel(&t->parker);
            return 0;
        }
        if (atomic_load_explicit(&t->cancel, memory_order_relaxed)) {
            rill__parker_cancel(&t->parker);
            return RILL_ECANCELED;
        }
        park_timed(t, IDLE_PARK_NS, &t->bp_ns);
    }
    return 0;
}

static int push_batch(edge_writer *w, int target, rill_batch *b)
{
    rill__msg m = {.kind = RILL_MSG_BATCH, .batch = b};
    if (w->task->metrics) /* before the push: the receiver may release the batch at once */
        w->task->bytes_out += batch_bytes(b);
    int rc = channel_push(w->task, w->ch[target], &m);
    if (rc)
        rill__batch_unref(b);
    return rc;
}

static int writer_hash(edge_writer *w, rill_batch *b)
{
    if (w->n == 1) { /* one receiver: the whole batch goes, with its hashes */
        if (!rill__batch_exclusive(b)) {
            rill_batch *own = rill__batch_get(w->pool);
            for (uint32_t i = 0; i < b->n_rows; i++) {
                rill_row r = rill__batch_row(b, i);
                rill__batch_append_copy(own, &r);
            }
            if (b->has_ts) {
                rill__batch_need_ts(own);
                memcpy(own->ts, b->ts, b->n_rows * sizeof *b->ts);
                own->has_ts = true;
            }
            rill__batch_unref(b);
            b = own;
        }
        rill__batch_need_hashes(b);
        for (uint32_t i = 0; i < b->n_rows; i++) {
            rill_row r = rill__batch_row(b, i);
            b->hashes[i] = rill__key_hash(w->key, &r, &w->scratch);
        }
        b->has_hashes = true;
        return push_batch(w, 0, b);
    }
    int rc = 0;
    for (uint32_t i = 0; i < b->n_rows && rc == 0; i++) {
        rill_row r = rill__batch_row(b, i);
        uint64_t h = rill__key_hash(w->key, &r, &w->scratch);
        int t = w->kg_sub[rill__key_group(h, w->max_par)];
        rill_batch *s = w->staging[t];
        if (!s) {
            s = w->staging[t] = rill__batch_get(w->pool);
            rill__batch_need_hashes(s);
            s->has_hashes = true;
            if (b->has_ts) {
                rill__batch_need_ts(s);
                s->has_ts = true;
            }
        }
        uint32_t at = s->n_rows;
        rill__batch_append_copy(s, &r);
        s->hashes[at] = h;
        if (s->has_ts)
            s->ts[at] = b->has_ts ? b->ts[i] : INT64_MIN;
        if (rill__batch_full(s)) {
            w->staging[t] = NULL;
            rc = push_batch(w, t, s);
        }
    }
    rill__batch_unref(b);
    /* flush at the end of every incoming batch: latency stays that of one batch */
    for (int t = 0; t < w->n && rc == 0; t++) {
        if (w->staging[t]) {
            rill_batch *s = w->staging[t];
            w->staging[t] = NULL;
            rc = push_batch(w, t, s);
        }
    }
    return rc;
}

static int writer_batch(rill__output *o, rill_batch *b)
{
    edge_writer *w = (edge_writer *)o;
    if (w->edge->partition == RILL_PART_HASH)
        return writer_hash(w, b);
    if (w->edge->partition == RILL_PART_FORWARD) /* to the same subtask; control to every one */
        return push_batch(w, w->task->subtask, b);
    int t = w->next;
    w->next = (w->next + 1) % w->n;
    return push_batch(w, t, b);
}

static int writer_control(edge_writer *w, rill__msg_kind kind, int64_t value)
{
    for (int t = 0; t < w->n; t++) {
        rill__msg m = {.kind = kind, .value = value};
        int rc = channel_push(w->task, w->ch[t], &m);
        if (rc)
            return rc;
    }
    return 0;
}

static int writer_watermark(rill__output *o, int64_t wm)
{
    /* staged rows were flushed at the end of their batch: they precede the watermark */
    return writer_control((edge_writer *)o, RILL_MSG_WATERMARK, wm);
}

static int writer_idle(rill__output *o, bool idle)
{
    return writer_control((edge_writer *)o, RILL_MSG_IDLE, idle);
}

static int writer_barrier(rill__output *o, uint64_t id)
{
    return writer_control((edge_writer *)o, RILL_MSG_BARRIER, (int64_t)id);
}

static int writer_end(rill__output *o)
{
    edge_writer *w = (edge_writer *)o;
    for (int t = 0; t < w->n; t++) {
        rill__msg m = {.kind = RILL_MSG_END};
        int rc = channel_push(w->task, w->ch[t], &m);
        if (rc)
            return rc;
    }
    return 0;
}

static void writer_destroy(rill__output *o)
{
    edge_writer *w = (edge_writer *)o;
    for (int t = 0; t < w->n; t++)
        rill__batch_unref(w->staging[t]);
    free(w->staging);
    free(w->kg_sub);
    free(w->ch);
    rill__batch_pool_free(w->pool);
    rill__buf_free(&w->scratch);
    free(w);
}

static const rill__output_ops writer_ops = {.batch = writer_batch,
                                            .watermark = writer_watermark,
                                            .idle = writer_idle,
                                            .barrier = writer_barrier,
                                            .end = writer_end,
                                            .destroy = writer_destroy};

/* The schema of the records on edge ed: its source node's output (or side output). */
static const rill_schema *edge_schema(const rill__exec_graph *g, const rill__exec_edge *ed)
{
    return ed->src_tag < 0 ? ed->src->out_schema : g->env->tags[ed->src_tag]->schema;
}

static rill__output *writer_new(rill__task *t, rill__exec_edge *e)
{
    rill__job_run *r = t->run;
    edge_writer *w = rill__xcalloc(1, sizeof *w);
    w->base.ops = &writer_ops;
    w->task = t;
    w->edge = e;
    w->n = e->dst_v->parallelism;
    w->ch = rill__xcalloc((size_t)w->n, sizeof *w->ch);
    for (int j = 0; j < w->n; j++)
        w->ch[j] = r->channels[r->edge_base[e->id] + t->subtask * w->n + j];
    w->staging = rill__xcalloc((size_t)w->n, sizeof *w->staging);
    rill__node *dst = e->dst_v->nodes[0];
    /* a two-input keyed operator: each input is partitioned by its own key fields */
    w->key = e->dst_input && dst->more_keys ? &dst->more_keys[e->dst_input - 1] : &dst->key;
    w->max_par = r->g->env->max_parallelism;
    w->kg_sub = rill__xcalloc((size_t)w->max_par, sizeof *w->kg_sub);
    for (int kg = 0; kg < w->max_par; kg++)
        w->kg_sub[kg] = (uint16_t)rill__kg_subtask(kg, w->max_par, w->n);
    w->pool = rill__batch_pool_new(edge_schema(r->g, e), r->g->env->batch_size,
                                   (uint32_t)(r->g->env->channel_capacity * w->n + 4));
    t->writers = rill__xrealloc(t->writers, (size_t)(t->n_writers + 1) * sizeof *t->writers);
    t->writers[t->n_writers++] = &w->base;
    return &w->base;
}

/* ---- building a task ------------------------------------------------------------------------ */

/* A keyed operator subtask's share of the state memory: a slot holds one subtask of each
 * keyed operator of the job (slot sharing), which share the slot's budget. */
static int64_t keyed_memory_share(const rill_env *env)
{
    int64_t n = 0;
    for (size_t i = 0; i < env->n_nodes; i++)
        n += env->nodes[i]->kind == RILL_NODE_PROCESS || env->nodes[i]->kind == RILL_NODE_WINDOW ||
             (env->nodes[i]->kind == RILL_NODE_OPERATOR && env->nodes[i]->keyed);
    return env->state_memory / (n ? n : 1);
}

static rill__operator *make_operator(rill__task *t, rill__node *n, rill__sink **sink_out)
{
    rill_env *env = t->run->g->env;
    rill__op_init init = {
        .uid = n->uid,
        .subtask = t->subtask,
        .parallelism = t->v->parallelism,
        .max_parallelism = env->max_parallelism,
        .user = n->user,
        .open = n->open,
        .close = n->close,
        .in_schema = n->input ? (n->input_tag < 0 ? n->input->out_schema
                                                  : env->tags[n->input_tag]->schema)
                              : n->out_schema,
        .out_schema = n->out_schema,
        .batch_size = env->batch_size,
        .counters = env->counters,
        .n_counters = (int)env->n_counters,
        .n_tags = (int)env->n_tags,
        .task_err = &t->err,
        .state_dir = env->state_dir,
        .state_memory = keyed_memory_share(env),
        .state_incremental = env->state_incremental,
        .state_heap_timers = env->state_heap_timers,
    };
    const rill__state_backend_ops *backend = rill__state_backend_find(env->state_backend);
    RILL_ASSERT(backend != NULL); /* rill_env_set checked the name */
    switch (n->kind) {
    case RILL_NODE_SOURCE:
        return NULL; /* see task_build */
    case RILL_NODE_MAP:
        return rill__op_map(&init, n->fn.map);
    case RILL_NODE_FILTER:
        return rill__op_filter(&init, n->fn.filter);
    case RILL_NODE_FLAT_MAP:
        return rill__op_flat_map(&init, n->fn.flat_map);
    case RILL_NODE_PROCESS:
        if (n->fn2) /* co-process */
            return rill__op_keyed_co_process(&init, &n->key, &n->more_keys[0], backend,
                                             n->fn.process, n->fn2, n->on_timer);
        return rill__op_keyed_process(&init, &n->key, backend, n->fn.process, n->on_timer);
    case RILL_NODE_EVENT_TIME:
        return rill__op_event_time(&init, n->ts_field, &n->wm_opts,
                                   env->bad_policy == RILL_BAD_SKIP);
    case RILL_NODE_WINDOW:
        return rill__op_window(&init, &n->key, backend, n->window);
    case RILL_NODE_UNION:
        return rill__op_union(&init);
    case RILL_NODE_OPERATOR:
        return n->op_factory->create(&init, n->keyed ? &n->key : NULL, n->keyed ? backend : NULL,
                                     n->op_cfg);
    case RILL_NODE_SINK: {
        rill__conn_init ci = {.uid = n->uid,
                              .subtask = t->subtask,
                              .parallelism = t->v->parallelism,
                              .batch_size = env->batch_size,
                              .bad_policy = env->bad_policy,
                              .dead_letter_path = env->dead_letter_path,
                              .err = &t->err,
                              .restoring = t->run->restore != NULL};
        rill__sink *sink = NULL;
        int rc = n->sink_ops->create(n->conn_cfg, init.in_schema, &ci, &sink);
        if (rc < 0)
            return NULL;
        *sink_out = sink;
        init.out_schema = NULL;
        return rill__op_sink(&init, sink);
    }
    }
    return NULL;
}

static int task_build(rill__task *t)
{
    rill__vertex *v = t->v;
    rill_env *env = t->run->g->env;
    t->ops = rill__xcalloc((size_t)v->n_nodes, sizeof *t->ops);
    for (int i = 0; i < v->n_nodes; i++) {
        rill__node *n = v->nodes[i];
        if (n->kind == RILL_NODE_SOURCE) {
            rill__conn_init ci = {.uid = n->uid,
                                  .subtask = t->subtask,
                                  .parallelism = v->parallelism,
                                  .batch_size = env->batch_size,
                                  .bad_policy = env->bad_policy,
                                  .dead_letter_path = env->dead_letter_path,
                                  .err = &t->err};
            int rc = n->source_ops->create(n->conn_cfg, n->out_schema, &ci, &t->source);
            if (rc < 0) {
                rill__err_first(&t->err, rc, "source '%s' (subtask %d/%d): %s", n->uid,
                                t->subtask + 1, v->parallelism, rill_strerror(rc));
                return rc;
            }
            t->source_pool = rill__batch_pool_new(n->out_schema, env->batch_size,
                                                  env->channel_capacity + 8);
            rill__op_init init = {.uid = n->uid,
                                  .subtask = t->subtask,
                                  .parallelism = v->parallelism,
                                  .max_parallelism = env->max_parallelism,
                                  .user = n->user,
                                  .open = n->open,
                                  .close = n->close,
                                  .in_schema = n->out_schema,
                                  .batch_size = env->batch_size,
                                  .counters = env->counters,
                                  .n_counters = (int)env->n_counters,
                                  .n_tags = 0,
                                  .task_err = &t->err};
            source_op *so = rill__xcalloc(1, sizeof *so);
            so->source = t->source;
            rill__operator_init(&so->op, &source_op_ops, &init);
            t->ops[i] = &so->op;
            continue;
        }
        rill__sink *sink = NULL;
        t->ops[i] = make_operator(t, n, &sink);
        if (!t->ops[i]) {
            if (sink)
                sink->ops->destroy(sink);
            if (!t->err.code)
                rill__err_set(&t->err, RILL_EGRAPH, "operator '%s' could not be created", n->uid);
            return t->err.code;
        }
    }
    /* wire every output: chained children first, then the channel edges */
    for (int i = 0; i < v->n_nodes; i++) {
        rill__node *n = v->nodes[i];
        if (n->kind == RILL_NODE_SINK)
            continue;
        for (int tag = -1; tag < (int)env->n_tags; tag++) {
            rill__output **outs = NULL;
            int n_outs = 0;
            for (int j = i + 1; j < v->n_nodes; j++) {
                if (v->nodes[j]->input == n && v->nodes[j]->input_tag == tag) {
                    outs = rill__xrealloc(outs, (size_t)(n_outs + 1) * sizeof *outs);
                    outs[n_outs++] = rill__output_chain(t->ops[j]);
                }
            }
            for (int e = 0; e < v->n_out; e++) {
                if (v->out_edges[e]->src == n && v->out_edges[e]->src_tag == tag) {
                    outs = rill__xrealloc(outs, (size_t)(n_outs + 1) * sizeof *outs);
                    outs[n_outs++] = writer_new(t, v->out_edges[e]);
                }
            }
            if (n_outs > 0)
                rill__operator_set_output(t->ops[i], tag, rill__output_fanout(outs, n_outs));
            else if (tag < 0)
                rill__operator_set_output(t->ops[i], tag, rill__output_discard());
        }
    }
    return 0;
}

/* ---- running a task ------------------------------------------------------------------------- */

static void task_metrics_register(rill__task *t)
{
    const char **uids = rill__xcalloc((size_t)t->v->n_nodes, sizeof *uids);
    for (int i = 0; i < t->v->n_nodes; i++)
        uids[i] = t->v->nodes[i]->uid;
    /* Flink's task name: the chain's operators joined by " -> " */
    rill__buf name = {0};
    for (int i = 0; i < t->v->n_nodes; i++)
        rill__buf_printf(&name, "%s%s", i ? " -> " : "", uids[i]);
    rill_env *env = t->run->g->env;
    t->metrics = rill__metrics_task_new(env->name, rill__buf_cstr(&name), t->subtask,
                                        t->v->parallelism, t->v->n_nodes, uids, t->v->nodes, env);
    rill__buf_free(&name);
    free(uids);
}

static void report(rill__task *t, rill__task_state s, int rc)
{
    t->state = s;
    if (t->run->listener)
        t->run->listener(t->run->listener_arg, t, s, rc, t->err.msg);
}

static bool canceled(rill__task *t)
{
    return atomic_load_explicit(&t->cancel, memory_order_relaxed);
}

/* Tells the operators of a newly completed checkpoint (on this task's thread). */
static int notify_completed(rill__task *t)
{
    uint64_t done = atomic_load_explicit(&t->run->completed, memory_order_acquire);
    if (done <= t->notified)
        return 0;
    t->notified = done;
    for (int i = 0; i < t->v->n_nodes; i++) {
        rill__operator *op = t->ops[i];
        op->last_checkpoint = done;
        if (op->ops->checkpoint_complete) {
            int rc = op->ops->checkpoint_complete(op, done);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/*
 * Stop without draining (stop-with-savepoint): checkpoint id, the savepoint, has completed and
 * this task's input has stopped. Nothing fires: the operators' input does not end, so windows
 * and timers stay in the savepoint, for a restore. The operators are told of the completion
 * first (two-phase-commit sinks commit what the savepoint covers), then flush what they hold,
 * then stop; the channels downstream end with id, so the tasks there stop the same way.
 */
static int task_stop(rill__task *t, uint64_t id)
{
    int rc;
    for (;;) { /* told by the same job run that ended the input: normally at once */
        if ((rc = notify_completed(t)) < 0)
            return rc;
        if (t->notified >= id)
            break;
        if (canceled(t))
            return RILL_ECANCELED;
        rill__parker_prepare(&t->parker);
        if (canceled(t) || atomic_load(&t->run->completed) > t->notified)
            rill__parker_cancel(&t->parker);
        else
            park_timed(t, IDLE_PARK_NS, &t->idle_ns);
    }
    for (int i = 0; i < t->v->n_nodes; i++) { /* head first: a flush feeds the next one */
        rill__operator *op = t->ops[i];
        rc = rill__operator_flush(op);
        if (rc == 0 && op->ops->stop)
            rc = op->ops->stop(op);
        if (rc < 0)
            return rc;
    }
    for (int i = 0; i < t->n_writers; i++) {
        edge_writer *w = (edge_writer *)t->writers[i];
        if ((rc = writer_control(w, RILL_MSG_END, (int64_t)id)) < 0)
            return rc;
    }
    return 0;
}

/* Runs the processing-time callbacks that are due; returns how long the task may sleep
 * before the next one (capped at IDLE_PARK_NS), or a negative error. */
static int64_t run_ticks(rill__task *t, int *rc_out)
{
    if ((*rc_out = notify_completed(t)) < 0)
        return 0;
    int64_t next = RILL_TS_MAX;
    for (int i = 0; i < t->v->n_nodes; i++)
        if (t->ops[i]->next_tick_ms < next)
            next = t->ops[i]->next_tick_ms;
    if (next == RILL_TS_MAX)
        return IDLE_PARK_NS;
    int64_t now = rill__clock_now(&t->ops[0]->clock);
    if (next <= now) {
        for (int i = 0; i < t->v->n_nodes; i++) {
            rill__operator *op = t->ops[i];
            if (op->ops->tick && op->next_tick_ms <= now) {
                int rc = op->ops->tick(op, now);
                if (rc < 0) {
                    *rc_out = rc;
                    return 0;
                }
            }
        }
        return 0;
    }
    int64_t ns = (next - now) * 1000000;
    return ns < IDLE_PARK_NS ? ns : IDLE_PARK_NS;
}

/* Input c's watermark moved (a watermark, its end, or idleness): tell the head when the
 * combined one advanced, and when the gate as a whole went idle or active. */
static int gate_watermark(rill__task *t, int c, int kind, int64_t value)
{
    rill__operator *head = t->ops[0];
    int64_t wm;
    bool advanced = kind == RILL_MSG_IDLE ? rill__wm_merger_set_idle(&t->wm, c, value != 0, &wm)
                                          : rill__wm_merger_update(&t->wm, c, value, &wm);
    int rc = 0;
    if (advanced)
        rc = rill__operator_deliver_watermark(head, wm);
    bool idle = rill__wm_merger_all_idle(&t->wm);
    if (rc == 0 && idle != t->gate_idle) {
        t->gate_idle = idle;
        rc = rill__operator_idle(head, idle);
    }
    return rc;
}

/* ---- barrier alignment ---------------------------------------------------------------------- */

/* Barrier id arrived on input c. Exactly-once: input c is not read again until the barrier
 * has come on every live input (alignment); then the snapshot, and the barrier goes on. */
static int gate_barrier(rill__task *t, int c, uint64_t value)
{
    uint64_t id = value & ~RILL_BARRIER_SAVEPOINT;
    if (id <= t->last_barrier || id < t->aligning)
        return 0; /* an older checkpoint: passed on already (at-least-once overtaking), or given
                   * up for the newer one aligning (it must not stand in for that one's barrier) */
    if (id > t->aligning) { /* a newer checkpoint: its alignment starts (an older is given up) */
        t->aligning = id;
        t->aligning_savepoint = (value & RILL_BARRIER_SAVEPOINT) != 0;
        t->align_start_ns = rill__mono_ns();
        t->n_barrier_in = 0;
        memset(t->barrier_in, 0, (size_t)t->n_in * sizeof *t->barrier_in);
    }
    if (!t->barrier_in[c]) {
        t->barrier_in[c] = true;
        t->n_barrier_in++;
    }
    return 0;
}

/* Completes the alignment once every input still open has delivered the barrier. */
static int gate_check_aligned(rill__task *t)
{
    if (!t->aligning)
        return 0;
    int live = 0, arrived = 0;
    for (int c = 0; c < t->n_in; c++) {
        if (t->in_ended[c])
            continue;
        live++;
        arrived += t->barrier_in[c];
    }
    if (arrived < live)
        return 0;
    uint64_t id = t->aligning;
    t->aligning = 0;
    t->n_barrier_in = 0;
    memset(t->barrier_in, 0, (size_t)t->n_in * sizeof *t->barrier_in);
    return rill__task_checkpoint(t, id, t->aligning_savepoint,
                           (rill__mono_ns() - t->align_start_ns) / 1000000);
}

/*
 * The startup wave. Results must not depend on which task thread starts first: a window that
 * takes rows from one source subtask while another (with nothing to read) has not yet said so
 * would judge lateness against a watermark still held back by the silent one. So every source
 * subtask's first message is informative (its end, or "active"), every task waits for the first
 * message of each input before it touches data, and then sends its own first message on.
 */
static int send_wave(rill__task *t)
{
    /* After a restore, the watermark sent before the checkpoint is the first message: without
     * it the operators downstream would start from RILL_TS_MIN and count rows that were late
     * before the failure (results would differ from an uninterrupted run). Every operator of
     * the chain that has one sends it: a source shared by several statements feeds an
     * event-time operator per statement, each with its own. Those whose restored watermark
     * came back through their input already (equal) send it again, harmlessly; the rest of the
     * chain learns that the task is active. */
    for (int i = 0; i < t->v->n_nodes; i++) {
        rill__operator *op = t->ops[i];
        if (op->restored_watermark != RILL_TS_MIN && op->restored_watermark >= op->watermark) {
            int rc = rill__operator_send_watermark(op, op->restored_watermark);
            if (rc < 0)
                return rc;
        }
    }
    return rill__operator_idle(t->ops[0], false);
}

/* Before a task takes any row after a restore, its operators judge lateness against the
 * watermark they had at the checkpoint: a row can come before that watermark has come back
 * through the input (an upstream task whose own watermark restarted lower, at another
 * parallelism), and it would find a window that fired before the failure gone and open it
 * again. The watermark is sent on in send_wave. */
static void restore_floor(rill__task *t)
{
    for (int i = 0; i < t->v->n_nodes; i++) {
        rill__operator *op = t->ops[i];
        if (op->restored_watermark > op->watermark)
            op->watermark = op->restored_watermark;
    }
}

/*
 * A source waits, taking part in every checkpoint and running its chain's timers, until the
 * stop asked for has completed: its checkpoint has passed this source and has completed. Then
 * RILL_DONE and that stop (id << 2 | mode) in *req_out. want: the stop this source stopped at;
 * 0 when any stop will do (a source at the end of its input). 0 when the stop wanted was
 * withdrawn (its savepoint failed).
 */
static int await_stop(rill__task *t, uint64_t want, uint64_t *req_out)
{
    rill__job_run *r = t->run;
    for (;;) {
        int rc;
        if (canceled(t))
            return RILL_ECANCELED;
        uint64_t trig = atomic_load_explicit(&t->trigger, memory_order_acquire);
        if (trig > t->last_barrier &&
            (rc = rill__task_checkpoint(t, trig, trig == atomic_load(&r->savepoint), 0)) < 0)
            return rc;
        int64_t tick_ns = run_ticks(t, &rc); /* chained sinks commit here */
        if (rc < 0)
            return rc;
        uint64_t req = atomic_load_explicit(&t->stop_req, memory_order_acquire);
        uint64_t stop = req >> 2;
        if (want && req != want)
            return 0;
        uint64_t done = atomic_load_explicit(&r->completed, memory_order_acquire);
        if (stop && t->last_barrier >= stop && done >= stop) {
            *req_out = req;
            return RILL_DONE;
        }
        if (tick_ns == 0)
            continue; /* a timer is due */
        rill__parker_prepare(&t->parker);
        if (canceled(t) || atomic_load(&t->trigger) > t->last_barrier ||
            atomic_load(&r->completed) != done || atomic_load(&t->stop_req) != req)
            rill__parker_cancel(&t->parker);
        else
            park_timed(t, tick_ns, &t->idle_ns);
    }
}

/* The stop req has completed: the source's outputs end (drain), or the task stops. */
static int source_end(rill__task *t, uint64_t req)
{
    if ((req & 3) == RILL_STOP_NO_DRAIN)
        return task_stop(t, req >> 2);
    return t->ops[0]->ops->end_input(t->ops[0]);
}

/*
 * The source has emitted all of its input. Without final checkpoints its outputs end now. With
 * them (checkpointing on) they stay open: event time ends first (RILL_TS_MAX, so windows fire
 * and their rows reach the sinks before the final barrier), the job run is told, and the source
 * waits, taking every checkpoint with its position at the end, until a checkpoint triggered
 * with a stop has completed: the sinks have then committed everything, and the outputs end (or,
 * for a stop-with-savepoint without drain, the task stops).
 */
static int source_end_of_data(rill__task *t, bool waved)
{
    rill__operator *head = t->ops[0];
    rill__job_run *r = t->run;
    if (!r->eod_fn)
        return head->ops->end_input(head);
    /* The end of event time goes out first. For a source that has read nothing at all it is
     * its first message (see send_wave): an "active" wave followed later by the watermark would
     * let a downstream task judge lateness, for a while, against a watermark this silent
     * source still held back, and count rows in a window that the same input without
     * checkpointing counts as late. */
    int rc = rill__operator_deliver_watermark(head, RILL_TS_MAX);
    if (rc < 0)
        return rc;
    r->eod_fn(r->eod_arg, t);
    uint64_t req = 0;
    rc = await_stop(t, 0, &req);
    return rc == RILL_DONE ? source_end(t, req) : rc;
}

/*
 * Stop-with-savepoint at a source still reading: the barrier of checkpoint req >> 2 is out (with
 * drain, after the end of event time), and the source reads nothing more. It waits until the
 * savepoint has completed, then ends. RILL_AGAIN when the stop was withdrawn and the source
 * reads on (no drain); with drain that cannot be, and the task fails.
 */
static int source_stopping(rill__task *t, uint64_t req)
{
    uint64_t done_req = 0;
    int rc = await_stop(t, req, &done_req);
    if (rc == RILL_DONE)
        return source_end(t, done_req);
    if (rc < 0)
        return rc;
    if ((req & 3) == RILL_STOP_NO_DRAIN) {
        rill__log(RILL_LOG_INFO, "task %s: the stop at savepoint %llu was withdrawn: reading on",
                  t->name, (unsigned long long)(req >> 2));
        return RILL_AGAIN;
    }
    return rill__err_first(&t->err, RILL_EIO,
                           "source '%s' (subtask %d/%d): stop-with-savepoint --drain: savepoint "
                           "%llu failed after the end of event time was sent, so the job cannot "
                           "read on: it fails over to its latest checkpoint",
                           t->ops[0]->uid, t->subtask + 1, t->v->parallelism,
                           (unsigned long long)(req >> 2));
}

static int run_source(rill__task *t)
{
    rill__operator *head = t->ops[0];
    bool waved = false;
    for (;;) {
        if (canceled(t))
            return RILL_ECANCELED;
        uint64_t trig = atomic_load_explicit(&t->trigger, memory_order_acquire);
        if (waved && trig > t->last_barrier) { /* between polls: a consistent position */
            uint64_t req = atomic_load_explicit(&t->stop_req, memory_order_acquire);
            bool stopping = req && (req >> 2) <= trig; /* stop-with-savepoint at this barrier */
            if (stopping && (req & 3) == RILL_STOP_DRAIN) {
                /* --drain: event time ends before the barrier, so every window fires into the
                 * savepoint */
                int wrc = rill__operator_deliver_watermark(head, RILL_TS_MAX);
                if (wrc < 0)
                    return wrc;
            }
            int crc = rill__task_checkpoint(t, trig, trig == atomic_load(&t->run->savepoint), 0);
            if (crc < 0)
                return crc;
            if (stopping && (crc = source_stopping(t, req)) != RILL_AGAIN)
                return crc; /* nothing after the barrier */
        }
        rill_batch *b = rill__batch_get(t->source_pool);
        int64_t wait_ns = 0;
        int rc = t->source->ops->poll(t->source, b, &wait_ns);
        if (rc < 0) {
            rill__batch_unref(b);
            if (!t->err.code)
                rill__err_set(&t->err, rc, "source '%s' (subtask %d/%d): %s", head->uid,
                              t->subtask + 1, t->v->parallelism, rill_strerror(rc));
            return rc;
        }
        if (!waved && !(rc == RILL_DONE && b->n_rows == 0)) {
            int wrc = send_wave(t); /* a source with nothing at all sends its end instead */
            if (wrc < 0) {
                rill__batch_unref(b);
                return wrc;
            }
            waved = true;
        }
        if (b->n_rows > 0 || b->split_done || b->split_new) {
            head->records_in += b->n_rows;
            int prc = head->ops->process(head, b);
            if (prc < 0)
                return prc;
            publish(t);
        } else {
            rill__batch_unref(b);
        }
        if (rc == RILL_DONE)
            return source_end_of_data(t, waved);
        int trc;
        int64_t tick_ns = run_ticks(t, &trc);
        if (trc < 0)
            return trc;
        if (rc == RILL_AGAIN) {
            int64_t ns = wait_ns > 0 && wait_ns < IDLE_PARK_NS ? wait_ns : IDLE_PARK_NS;
            if (tick_ns < ns)
                ns = tick_ns;
            publish(t);
            rill__parker_prepare(&t->parker);
            if (canceled(t)) {
                rill__parker_cancel(&t->parker);
                return RILL_ECANCELED;
            }
            park_timed(t, ns, &t->idle_ns);
        }
    }
}

/* Input c has ended. value 0: its input ended, and an ended input holds nothing back: its
 * watermark is the maximum. value > 0: it stopped at savepoint `value` without draining, and its
 * watermark stays where it was (no window fires for it). */
static int gate_end(rill__task *t, int c, int64_t value)
{
    int rc = 0;
    if (value > 0 && (uint64_t)value > t->stop_id)
        t->stop_id = (uint64_t)value;
    else if (value <= 0)
        rc = gate_watermark(t, c, RILL_MSG_WATERMARK, RILL_TS_MAX);
    t->in_ended[c] = true;
    t->n_ended++;
    return rc;
}

/* Every input has ended: the operators' input ends, or, when an input stopped without
 * draining, the task stops. */
static int gate_finish(rill__task *t)
{
    if (t->stop_id)
        return task_stop(t, t->stop_id);
    return t->ops[0]->ops->end_input(t->ops[0]);
}

/* Takes the first message of every input (see send_wave), then sends this task's own. */
static int gate_wave(rill__task *t)
{
    restore_floor(t);
    bool *seen = rill__xcalloc((size_t)t->n_in + 1, sizeof *seen);
    int n_seen = 0, rc = 0;
    while (n_seen < t->n_in && rc == 0) {
        bool got = false;
        for (int c = 0; c < t->n_in && rc == 0; c++) {
            rill__msg m;
            if (seen[c] || !rill__channel_try_pop(t->in[c], &m))
                continue;
            got = true;
            seen[c] = true;
            n_seen++;
            if (m.kind == RILL_MSG_BATCH) { /* not expected first, but handled all the same */
                t->ops[0]->records_in += m.batch->n_rows;
                if (t->metrics)
                    t->bytes_in += batch_bytes(m.batch);
                t->ops[0]->input = t->in_input[c];
                rc = t->ops[0]->ops->process(t->ops[0], m.batch);
            } else if (m.kind == RILL_MSG_END) {
                rc = gate_end(t, c, m.value);
            } else if (m.kind == RILL_MSG_WATERMARK || m.kind == RILL_MSG_IDLE) {
                rc = gate_watermark(t, c, m.kind, m.value);
            }
        }
        if (!got && rc == 0) {
            if (canceled(t)) {
                rc = RILL_ECANCELED;
                break;
            }
            rill__parker_prepare(&t->parker);
            bool any = false;
            for (int c = 0; c < t->n_in && !any; c++)
                any = !seen[c] && atomic_load_explicit(&t->in[c]->tail, memory_order_acquire) !=
                                      atomic_load_explicit(&t->in[c]->head, memory_order_relaxed);
            if (any || canceled(t))
                rill__parker_cancel(&t->parker);
            else
                park_timed(t, IDLE_PARK_NS, &t->idle_ns);
        }
    }
    free(seen);
    if (rc == 0 && t->n_ended == t->n_in)
        return RILL_DONE;
    return rc ? rc : send_wave(t);
}

static int run_gate(rill__task *t)
{
    rill__operator *head = t->ops[0];
    int next = 0, idle_spins = 0;
    int wrc = gate_wave(t);
    if (wrc == RILL_DONE)
        return gate_finish(t);
    if (wrc < 0)
        return wrc;
    for (;;) {
        if (canceled(t))
            return RILL_ECANCELED;
        bool got = false;
        for (int k = 0; k < t->n_in; k++) {
            int c = (next + k) % t->n_in;
            if (t->in_ended[c])
                continue;
            if (t->aligning && t->barrier_in[c] && t->run->exactly_once)
                continue; /* aligning: this input waits for the others' barriers */
            rill__msg m;
            /* take a few messages from one channel at a time, then move on: fairness */
            for (int burst = 0; burst < 8 && rill__channel_try_pop(t->in[c], &m); burst++) {
                got = true;
                if (m.kind == RILL_MSG_BATCH) {
                    head->records_in += m.batch->n_rows;
                    if (t->metrics)
                        t->bytes_in += batch_bytes(m.batch);
                    head->input = t->in_input[c]; /* a two-input operator's side */
                    int rc = head->ops->process(head, m.batch);
                    if (rc < 0)
                        return rc;
                } else if (m.kind == RILL_MSG_WATERMARK || m.kind == RILL_MSG_IDLE) {
                    int rc = gate_watermark(t, c, m.kind, m.value);
                    if (rc < 0)
                        return rc;
                } else if (m.kind == RILL_MSG_BARRIER) {
                    int rc = gate_barrier(t, c, (uint64_t)m.value);
                    if (rc == 0)
                        rc = gate_check_aligned(t);
                    if (rc < 0)
                        return rc;
                    break; /* exactly-once: this input is blocked until aligned */
                } else if (m.kind == RILL_MSG_END) {
                    int rc = gate_end(t, c, m.value);
                    if (rc < 0)
                        return rc;
                    if (t->n_ended == t->n_in)
                        return gate_finish(t);
                    if ((rc = gate_check_aligned(t)) < 0) /* an ended input holds no barrier */
                        return rc;
                    break;
                }
            }
        }
        next = (next + 1) % t->n_in;
        int trc;
        int64_t tick_ns = run_ticks(t, &trc);
        if (trc < 0)
            return trc;
        if (!got && ++idle_spins < IDLE_SPINS) {
            rill__cpu_relax();
            continue;
        }
        if (got) {
            idle_spins = 0;
            publish(t);
        } else {
            idle_spins = 0;
            publish(t);
            rill__parker_prepare(&t->parker);
            bool any = false;
            for (int c = 0; c < t->n_in && !any; c++) {
                if (t->in_ended[c] || (t->aligning && t->barrier_in[c] && t->run->exactly_once))
                    continue;
                rill__channel *ch = t->in[c];
                any = atomic_load_explicit(&ch->tail, memory_order_acquire) !=
                      atomic_load_explicit(&ch->head, memory_order_relaxed);
            }
            if (any || canceled(t) || tick_ns == 0)
                rill__parker_cancel(&t->parker);
            else
                park_timed(t, tick_ns, &t->idle_ns);
        }
    }
}

static void *task_main(void *arg)
{
    rill__task *t = arg;
    rill__crash_thread crash;
    rill__crash_thread_begin(t->run->g->env->name, &crash);
    report(t, RILL_TASK_RUNNING, 0);
    int rc = 0;
    int opened = 0;
    /* open from the tail of the chain to the head, so receivers are ready first */
    for (int i = t->v->n_nodes - 1; i >= 0 && rc == 0; i--) {
        rc = t->ops[i]->ops->open(t->ops[i]);
        opened++;
    }
    bool source_finished = false;
    if (rc == 0 && t->run->restore) {
        int64_t t0 = rill__mono_ns();
        rc = rill__task_restore(t, &source_finished);
        rill__log(RILL_LOG_INFO, "task %s: state restored in %lld ms", t->name,
                  (long long)((rill__mono_ns() - t0) / 1000000));
    }
    if (rc == 0 && source_finished) /* it had read everything before the checkpoint */
        rc = t->ops[0]->ops->end_input(t->ops[0]);
    else if (rc == 0)
        rc = t->source ? run_source(t) : run_gate(t);
    publish(t); /* what the input's end did, visible while the operators close */
    for (int i = t->v->n_nodes - 1; i >= t->v->n_nodes - opened; i--)
        t->ops[i]->ops->close(t->ops[i]);
    if (rc == 0)
        report(t, RILL_TASK_FINISHED, 0);
    else if (rc == RILL_ECANCELED && !t->err.code)
        report(t, RILL_TASK_CANCELED, rc);
    else {
        if (!t->err.code)
            rill__err_set(&t->err, rc, "task %s failed: %s", t->name, rill_strerror(rc));
        report(t, RILL_TASK_FAILED, rc);
    }
    rill__crash_thread_end(&crash);
    return NULL;
}

/* ---- job runs ------------------------------------------------------------------------------- */

static void task_free(rill__task *t)
{
    if (!t)
        return;
    rill__metrics_task_free(t->metrics, false); /* never started: nothing counted */
    if (t->ops)
        for (int i = 0; i < t->v->n_nodes; i++)
            rill__operator_free(t->ops[i]);
    free(t->ops);
    if (t->source)
        t->source->ops->destroy(t->source);
    rill__batch_pool_free(t->source_pool);
    free(t->in);
    free(t->in_input);
    free(t->in_ended);
    free(t->barrier_in);
    free(t->writers);
    if (t->in_ended_init)
        rill__wm_merger_close(&t->wm);
    rill__parker_destroy(&t->parker);
    free(t->name);
    free(t);
}

/* Adds channel c to dst's input gate, as the head's input `input`. */
static void add_input(rill__task *dst, rill__channel *c, int input)
{
    dst->in = rill__xrealloc(dst->in, (size_t)(dst->n_in + 1) * sizeof *dst->in);
    dst->in_input = rill__xrealloc(dst->in_input, (size_t)(dst->n_in + 1) * sizeof *dst->in_input);
    dst->in_input[dst->n_in] = input;
    dst->in[dst->n_in++] = c;
}

/*
 * The channel from subtask i to subtask j of edge ed, whose source task is src and destination
 * task dst (NULL: not here). Both here: a local ring. One here: the other's process's endpoint
 * carries it (the ring the producer pushes into is the endpoint's; the ring the consumer pops
 * is this job run's). 0, or an error in err with the job run to be freed.
 */
static int wire_channel(rill__job_run *r, const rill__placement *pl, rill__exec_edge *ed, int i,
                        int j, rill__task *src, rill__task *dst, rill__err *err)
{
    rill__exec_graph *g = r->g;
    int slot = r->edge_base[ed->id] + i * ed->dst_v->parallelism + j;
    if (src && dst) {
        rill__channel *c = rill__channel_new(g->env->channel_capacity);
        c->producer = &src->parker;
        c->consumer = &dst->parker;
        r->channels[slot] = c;
        r->owned[slot] = true;
        add_input(dst, c, ed->dst_input);
        return 0;
    }
    int peer = src ? ed->dst_v->first_task + j : ed->src_v->first_task + i;
    if (!pl)
        return rill__err_set(err, RILL_ENOTSUP,
                             "edge %s -> %s crosses processes: remote channels need a placement",
                             ed->src->uid, ed->dst_v->nodes[0]->uid);
    int p = pl->proc_of_task[peer];
    if (p == pl->self)
        return rill__err_set(err, RILL_EINVAL,
                             "edge %s -> %s: task %d is placed in this process (%d) but not "
                             "deployed in this job run",
                             ed->src->uid, ed->dst_v->nodes[0]->uid, peer, p);
    rill__err eerr = {0};
    struct rill__remote *ep = pl->endpoint(pl->arg, p, &eerr);
    if (!ep)
        return rill__err_set(err, eerr.code ? eerr.code : RILL_EINVAL,
                             "edge %s -> %s: no data connection to process %d: %s", ed->src->uid,
                             ed->dst_v->nodes[0]->uid, p, eerr.code ? eerr.msg : "none given");
    RILL_ASSERT(ed->id >= 0 && i <= UINT16_MAX && j <= UINT16_MAX);
    rill__remote_chan_id id = {.edge = (uint32_t)ed->id, .from = (uint16_t)i, .to = (uint16_t)j};
    if (src) {
        rill__channel *c = rill__remote_add_output(ep, id, &src->parker, &eerr);
        if (!c)
            return rill__err_set(err, eerr.code, "edge %s -> %s: %s", ed->src->uid,
                                 ed->dst_v->nodes[0]->uid, eerr.msg);
        r->channels[slot] = c; /* the endpoint's: not freed here */
        return 0;
    }
    rill__channel *c = rill__channel_new(g->env->channel_capacity);
    c->consumer = &dst->parker; /* the producer is the endpoint's I/O thread (set there) */
    r->channels[slot] = c;
    r->owned[slot] = true;
    add_input(dst, c, ed->dst_input);
    if (rill__remote_add_input(ep, id, c, edge_schema(g, ed), &eerr) < 0)
        return rill__err_set(err, eerr.code, "edge %s -> %s: %s", ed->src->uid,
                             ed->dst_v->nodes[0]->uid, eerr.msg);
    return 0;
}

int rill__job_run_new(rill__exec_graph *g, const int *tasks, int n,
                      const rill__placement *placement, const rill__restore *restore,
                      rill__task_listener fn, void *arg, rill__err *err, rill__job_run **out)
{
    *out = NULL;
    rill__job_run *r = rill__xcalloc(1, sizeof *r);
    r->g = g;
    r->listener = fn;
    r->listener_arg = arg;
    r->restore = restore;
    r->n_tasks = g->n_tasks;
    r->tasks = rill__xcalloc((size_t)g->n_tasks, sizeof *r->tasks);
    r->edge_base = rill__xcalloc((size_t)g->n_edges + 1, sizeof *r->edge_base);
    for (int e = 0; e < g->n_edges; e++) {
        RILL_ASSERT(g->edges[e]->id == e);
        r->edge_base[e] = r->n_channels;
        r->n_channels += g->edges[e]->src_v->parallelism * g->edges[e]->dst_v->parallelism;
    }
    /* rings are made below only for the channels a task here uses */
    r->channels = rill__xcalloc((size_t)r->n_channels + 1, sizeof *r->channels);
    r->owned = rill__xcalloc((size_t)r->n_channels + 1, sizeof *r->owned);
    /* the tasks */
    for (int k = 0; k < (tasks ? n : g->n_tasks); k++) {
        int idx = tasks ? tasks[k] : k;
        if (placement && placement->proc_of_task[idx] != placement->self) {
            rill__err_set(err, RILL_EINVAL,
                          "task %d is listed for this process (%d) but placed in process %d",
                          idx, placement->self, placement->proc_of_task[idx]);
            rill__job_run_free(r);
            return RILL_EINVAL;
        }
        rill__vertex *v = NULL;
        for (int i = 0; i < g->n_vertices; i++)
            if (idx >= g->vertices[i]->first_task &&
                idx < g->vertices[i]->first_task + g->vertices[i]->parallelism)
                v = g->vertices[i];
        RILL_ASSERT(v != NULL);
        rill__task *t = rill__xcalloc(1, sizeof *t);
        t->index = idx;
        t->v = v;
        t->run = r;
        t->subtask = idx - v->first_task;
        t->name = rill__xasprintf("%s (%d/%d)", v->nodes[0]->uid, t->subtask + 1, v->parallelism);
        rill__parker_init(&t->parker);
        atomic_init(&t->cancel, false);
        r->tasks[idx] = t;
    }
    /* the channels with a task here at either end, and the input gates (in edge order, then by
     * source subtask, local and remote alike) */
    for (int e = 0; e < g->n_edges; e++) {
        rill__exec_edge *ed = g->edges[e];
        int ps = ed->src_v->parallelism, pd = ed->dst_v->parallelism;
        for (int i = 0; i < ps; i++) {
            for (int j = 0; j < pd; j++) {
                rill__task *src = r->tasks[ed->src_v->first_task + i];
                rill__task *dst = r->tasks[ed->dst_v->first_task + j];
                if (!src && !dst)
                    continue; /* another process's channel */
                int rc = wire_channel(r, placement, ed, i, j, src, dst, err);
                if (rc < 0) {
                    rill__job_run_free(r);
                    return rc;
                }
            }
        }
    }
    for (int k = 0; k < r->n_tasks; k++) {
        rill__task *t = r->tasks[k];
        if (!t)
            continue;
        t->in_ended = rill__xcalloc((size_t)t->n_in + 1, sizeof *t->in_ended);
        t->barrier_in = rill__xcalloc((size_t)t->n_in + 1, sizeof *t->barrier_in);
        rill__wm_merger_init(&t->wm, t->n_in);
        t->in_ended_init = true;
        int rc = task_build(t);
        if (rc < 0) {
            rill__err_first(err, rc, "%s", t->err.msg);
            rill__job_run_free(r);
            return rc;
        }
        if (rill__metrics_enabled())
            task_metrics_register(t);
    }
    *out = r;
    return 0;
}

int rill__job_run_start(rill__job_run *r)
{
    for (int k = 0; k < r->n_tasks; k++) {
        rill__task *t = r->tasks[k];
        if (!t)
            continue;
        int rc = pthread_create(&t->thread, NULL, task_main, t);
        if (rc != 0) {
            rill__job_run_cancel(r);
            return -rc;
        }
        t->started = true;
        char tname[16];
        snprintf(tname, sizeof tname, "rill-t%d", t->index);
        pthread_setname_np(t->thread, tname);
    }
    return 0;
}

void rill__job_run_on_snapshot(rill__job_run *r, rill__snapshot_fn fn, void *arg,
                               bool exactly_once)
{
    r->snap_fn = fn;
    r->snap_arg = arg;
    r->exactly_once = exactly_once;
}

void rill__job_run_on_end_of_data(rill__job_run *r, rill__end_of_data_fn fn, void *arg)
{
    r->eod_fn = fn;
    r->eod_arg = arg;
}

void rill__job_run_complete(rill__job_run *r, uint64_t id)
{
    uint64_t cur = atomic_load(&r->completed);
    while (cur < id && !atomic_compare_exchange_weak(&r->completed, &cur, id)) {
    }
    for (int k = 0; k < r->n_tasks; k++)
        if (r->tasks[k])
            rill__parker_unpark(&r->tasks[k]->parker);
}

void rill__job_run_trigger(rill__job_run *r, uint64_t id, rill__stop_mode stop, bool savepoint)
{
    if (savepoint) { /* before the trigger: a source that sees it sees this */
        uint64_t cur = atomic_load(&r->savepoint);
        while (cur < id && !atomic_compare_exchange_weak(&r->savepoint, &cur, id)) {
        }
    }
    for (int k = 0; k < r->n_tasks; k++) {
        rill__task *t = r->tasks[k];
        if (!t || !t->source)
            continue;
        if (stop)
            atomic_store(&t->stop_req, id << 2 | (uint64_t)stop);
        uint64_t cur = atomic_load(&t->trigger);
        while (cur < id && !atomic_compare_exchange_weak(&t->trigger, &cur, id)) {
        }
        rill__parker_unpark(&t->parker);
    }
}

void rill__job_run_abort_stop(rill__job_run *r, uint64_t id)
{
    for (int k = 0; k < r->n_tasks; k++) {
        rill__task *t = r->tasks[k];
        if (!t || !t->source)
            continue;
        uint64_t cur = atomic_load(&t->stop_req);
        if (cur >> 2 == id) /* a newer stop stays */
            atomic_compare_exchange_strong(&t->stop_req, &cur, 0);
        rill__parker_unpark(&t->parker);
    }
}

void rill__job_run_cancel(rill__job_run *r)
{
    for (int k = 0; k < r->n_tasks; k++) {
        rill__task *t = r->tasks[k];
        if (!t)
            continue;
        atomic_store(&t->cancel, true);
        rill__parker_unpark(&t->parker);
    }
}

void rill__job_run_join(rill__job_run *r)
{
    for (int k = 0; k < r->n_tasks; k++) {
        rill__task *t = r->tasks[k];
        if (!t || !t->started)
            continue;
        pthread_join(t->thread, NULL);
        t->started = false;
        if (t->metrics) { /* the last counts, then into the nodes' totals as it goes */
            publish(t);   /* records_out as close counted it (rill__operator_publish_counters) */
            for (int i = 0; i < t->v->n_nodes; i++)
                rill__metric_set(&t->metrics->ops[i].records_out, t->ops[i]->records_out);
            rill__metrics_task_free(t->metrics, true);
            t->metrics = NULL;
        } else {
            for (int i = 0; i < t->v->n_nodes; i++) {
                rill__operator *op = t->ops[i];
                rill__node *n = t->v->nodes[i];
                atomic_fetch_add(&n->records_in, op->records_in);
                atomic_fetch_add(&n->records_out, op->records_out);
            }
        }
        if (t->source && t->source->ops->skipped)
            atomic_fetch_add(&t->v->nodes[0]->records_skipped,
                             t->source->ops->skipped(t->source));
    }
}

void rill__job_run_free(rill__job_run *r)
{
    if (!r)
        return;
    for (int k = 0; k < r->n_tasks; k++)
        task_free(r->tasks[k]);
    for (int c = 0; c < r->n_channels; c++)
        if (r->owned[c])
            rill__channel_free(r->channels[c]);
    free(r->channels);
    free(r->owned);
    free(r->edge_base);
    free(r->tasks);
    free(r);
}

rill__channel *rill__job_run_channel(rill__job_run *r, int edge, int from, int to)
{
    RILL_ASSERT(edge >= 0 && edge < r->g->n_edges);
    rill__exec_edge *e = r->g->edges[edge];
    int pd = e->dst_v->parallelism;
    RILL_ASSERT(from >= 0 && from < e->src_v->parallelism && to >= 0 && to < pd);
    return r->channels[r->edge_base[edge] + from * pd + to];
}
