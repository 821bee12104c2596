/*
 * coordinator.c - cluster layer: the checkpoint coordinator of one job (DESIGN.md §6). Triggers
 * checkpoints at the sources every interval (honouring the minimum pause, the number in
 * flight and the timeout), collects every task's acknowledgement, writes the metadata last
 * (the commit point), counts failures against the tolerance, and keeps statistics. When every
 * source has reached the end of its input, it triggers the final checkpoint, whose completion
 * ends the sources (Flink's checkpoints after tasks finish).
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

#define META_VERSION 1u

typedef struct pending_ckpt {
    uint64_t id;
    int64_t trigger_ms;
    int n_acked;
    bool *acked;     /* by task */
    char **files;    /* by task: data file name, NULL for a finished task */
    uint64_t *sizes; /* by task */
    rill__state_usage *usage; /* by task: its keyed state at the barrier */
    bool *has_usage;          /* by task */
    uint64_t bytes, full_bytes;
    int64_t align_ms;    /* the longest alignment of any task */
    char *savepoint_dir; /* a savepoint: where it goes once complete */
    bool final;          /* the final checkpoint: every source waits at the end of its input */
    bool stop;           /* a stop-with-savepoint: its completion ends the job */
} pending_ckpt;

/* The outcome of a savepoint, for whoever waits on it. */
typedef struct sp_result {
    uint64_t id;
    int rc;
    char *location;
    char reason[RILL_ERRMSG_MAX];
} sp_result;

struct rill__coordinator {
    rill__exec_graph *g;
    rill_env *env;
    rill__ckpt_store *store;
    uint64_t last_id;
    int64_t next_trigger_ms;
    pending_ckpt *pending;
    int n_pending;
    bool *finished; /* by task */
    int n_sources_live;
    bool *is_source; /* by task */
    bool *waiting;   /* by task: a source at the end of its input, waiting for the final one */
    int n_sources_waiting;
    uint64_t final_id;      /* the final checkpoint in flight, 0: none */
    bool final_done;        /* it, or a stop-with-savepoint, has completed: the sources end, no
                             * checkpoint follows */
    int64_t final_after_ms; /* not before (the minimum pause; after a failure, the interval) */
    int consecutive_failures;
    uint64_t last_completed;
    rill__ckpt_stats *stats;
    size_t n_stats, cap_stats;
    rill__op_state *op_state; /* by keyed operator, as of the newest completed checkpoint */
    size_t n_op_state;
    sp_result *sp;
    size_t n_sp, cap_sp;
};

#define STATS_KEPT 1000 /* the newest checkpoints' statistics; older ones are dropped */

static void record(rill__coordinator *c, const pending_ckpt *p, int64_t now, const char *status,
                   const char *reason)
{
    if (c->n_stats == STATS_KEPT) {
        memmove(c->stats, c->stats + 1, (STATS_KEPT - 1) * sizeof *c->stats);
        c->n_stats--;
    }
    rill__grow((void **)&c->stats, &c->cap_stats, c->n_stats + 1, sizeof *c->stats);
    rill__ckpt_stats *st = &c->stats[c->n_stats++];
    memset(st, 0, sizeof *st);
    st->id = p->id;
    st->trigger_ms = p->trigger_ms;
    st->duration_ms = now - p->trigger_ms;
    st->alignment_ms = p->align_ms;
    st->bytes = p->bytes;
    st->full_bytes = p->full_bytes;
    for (int t = 0; t < c->g->n_tasks; t++) {
        st->state.keys += p->usage[t].keys;
        st->state.memory_bytes += p->usage[t].memory_bytes;
        st->state.disk_bytes += p->usage[t].disk_bytes;
    }
    snprintf(st->status, sizeof st->status, "%s", status);
    snprintf(st->reason, sizeof st->reason, "%s", reason ? reason : "");
}

/* The keyed state per operator of completed checkpoint p: a vertex's tasks run its one keyed
 * operator (the chain's keyed node). */
static void op_state_of(rill__coordinator *c, const pending_ckpt *p)
{
    rill__exec_graph *g = c->g;
    free(c->op_state);
    c->op_state = rill__xcalloc((size_t)g->n_vertices + 1, sizeof *c->op_state);
    c->n_op_state = 0;
    for (int v = 0; v < g->n_vertices; v++) {
        rill__vertex *vx = g->vertices[v];
        const char *uid = NULL;
        for (int k = 0; k < vx->n_nodes && !uid; k++)
            if (vx->nodes[k]->kind == RILL_NODE_PROCESS || vx->nodes[k]->kind == RILL_NODE_WINDOW)
                uid = vx->nodes[k]->uid;
        if (!uid)
            continue;
        rill__op_state *o = &c->op_state[c->n_op_state++];
        snprintf(o->uid, sizeof o->uid, "%s", uid);
        for (int k = 0; k < vx->parallelism; k++) {
            int t = vx->first_task + k;
            if (!p->has_usage[t])
                continue;
            o->subtasks++;
            o->usage.keys += p->usage[t].keys;
            o->usage.memory_bytes += p->usage[t].memory_bytes;
            o->usage.disk_bytes += p->usage[t].disk_bytes;
        }
    }
}

const rill__op_state *rill__coord_op_state(const rill__coordinator *c, size_t *n_out)
{
    *n_out = c->n_op_state;
    return c->op_state;
}

static void sp_record(rill__coordinator *c, uint64_t id, int rc, const char *location,
                      const char *reason)
{
    rill__grow((void **)&c->sp, &c->cap_sp, c->n_sp + 1, sizeof *c->sp);
    sp_result *r = &c->sp[c->n_sp++];
    memset(r, 0, sizeof *r);
    r->id = id;
    r->rc = rc;
    r->location = location ? rill__xstrdup(location) : NULL;
    snprintf(r->reason, sizeof r->reason, "%s", reason ? reason : "");
}

static void pending_free(rill__coordinator *c, pending_ckpt *p)
{
    free(p->savepoint_dir);
    for (int t = 0; t < c->g->n_tasks; t++)
        free(p->files[t]);
    free(p->files);
    free(p->acked);
    free(p->sizes);
    free(p->usage);
    free(p->has_usage);
}

static void pending_remove(rill__coordinator *c, int i)
{
    if (c->pending[i].final && c->pending[i].id == c->final_id)
        c->final_id = 0;
    pending_free(c, &c->pending[i]);
    memmove(c->pending + i, c->pending + i + 1, (size_t)(c->n_pending - i - 1) * sizeof *c->pending);
    c->n_pending--;
}

int rill__coord_new(rill_env *env, rill__exec_graph *g, rill__coordinator **out, rill__err *err)
{
    *out = NULL;
    rill__coordinator *c = rill__xcalloc(1, sizeof *c);
    c->g = g;
    c->env = env;
    int rc = rill__ckpt_store_open(env->ckpt_dir, env->name, env->ckpt_retain, &c->store, err);
    if (rc == 0)
        rc = rill__ckpt_store_lock(c->store, err); /* one run of the job commits here */
    if (rc) {
        rill__ckpt_store_free(c->store);
        free(c);
        return rc;
    }
    /* ids go on above every chk-<n> already in the directory, completed or not (a resumed
     * job must not reuse the number of a checkpoint it skipped as corrupt) */
    DIR *d = opendir(rill__ckpt_store_dir(c->store));
    for (struct dirent *de; d && (de = readdir(d)) != NULL;) {
        int64_t n;
        const char *num = de->d_name + 4;
        if (strncmp(de->d_name, "chk-", 4) == 0 && rill__parse_i64(num, strlen(num), &n) == 0 &&
            n > 0 && (uint64_t)n > c->last_id)
            c->last_id = (uint64_t)n;
    }
    if (d)
        closedir(d);
    c->finished = rill__xcalloc((size_t)g->n_tasks, sizeof *c->finished);
    c->is_source = rill__xcalloc((size_t)g->n_tasks, sizeof *c->is_source);
    c->waiting = rill__xcalloc((size_t)g->n_tasks, sizeof *c->waiting);
    for (int v = 0; v < g->n_vertices; v++)
        if (g->vertices[v]->nodes[0]->kind == RILL_NODE_SOURCE)
            for (int k = 0; k < g->vertices[v]->parallelism; k++) {
                c->is_source[g->vertices[v]->first_task + k] = true;
                c->n_sources_live++;
            }
    c->next_trigger_ms = rill__now_ms() + env->ckpt_interval_ms;
    *out = c;
    return 0;
}

void rill__coord_free(rill__coordinator *c)
{
    if (!c)
        return;
    while (c->n_pending > 0)
        pending_remove(c, c->n_pending - 1);
    free(c->pending);
    free(c->finished);
    free(c->is_source);
    free(c->waiting);
    free(c->stats);
    free(c->op_state);
    for (size_t i = 0; i < c->n_sp; i++)
        free(c->sp[i].location);
    free(c->sp);
    rill__ckpt_store_free(c->store);
    free(c);
}

rill__ckpt_store *rill__coord_store(rill__coordinator *c)
{
    return c->store;
}

/* The metadata of a completed checkpoint: what restore needs to find every task's state. */
static void put_str(rill__buf *b, const char *s)
{
    uint32_t n = s ? (uint32_t)strlen(s) : 0;
    rill__buf_append(b, &n, 4);
    if (n)
        rill__buf_append(b, s, n);
}

static void build_meta(rill__coordinator *c, const pending_ckpt *p, int64_t now, rill__buf *b)
{
    uint32_t u = META_VERSION;
    rill__buf_append(b, &u, 4);
    rill__buf_append(b, &p->id, 8);
    rill__buf_append(b, &p->trigger_ms, 8);
    rill__buf_append(b, &now, 8);
    u = (uint32_t)c->env->max_parallelism;
    rill__buf_append(b, &u, 4);
    put_str(b, c->env->name);
    u = (uint32_t)c->g->n_tasks;
    rill__buf_append(b, &u, 4);
    for (int v = 0; v < c->g->n_vertices; v++) {
        rill__vertex *vx = c->g->vertices[v];
        for (int k = 0; k < vx->parallelism; k++) {
            int t = vx->first_task + k;
            uint32_t f[3] = {(uint32_t)vx->id, (uint32_t)k, (uint32_t)vx->parallelism};
            rill__buf_append(b, f, sizeof f);
            put_str(b, vx->nodes[0]->uid);
            put_str(b, p->files[t]);
            rill__buf_append(b, &p->sizes[t], 8);
            uint8_t fin = p->files[t] == NULL;
            rill__buf_append(b, &fin, 1);
        }
    }
}

/* Checkpoint i failed: its files go; the job fails once failures pass the tolerance. */
static int fail_pending(rill__coordinator *c, int i, const char *reason, rill__err *job_err)
{
    pending_ckpt *p = &c->pending[i];
    int64_t now = rill__now_ms();
    rill__err e = {0};
    rill__ckpt_abort(c->store, (int64_t)p->id, &e);
    const char *kind = p->final ? "final checkpoint" : "checkpoint";
    rill__log(RILL_LOG_WARN, "job '%s': %s %llu failed: %s", c->env->name, kind,
              (unsigned long long)p->id, reason);
    record(c, p, now, "FAILED", reason);
    uint64_t id = p->id;
    bool final = p->final;
    /* a failed final checkpoint is triggered again, like the next periodic one would be */
    int64_t retry_ms = now + RILL_MAX(c->env->ckpt_min_pause_ms, c->env->ckpt_interval_ms);
    if (final)
        c->final_after_ms = RILL_MAX(c->final_after_ms, retry_ms);
    if (p->savepoint_dir) {
        sp_record(c, id, RILL_EIO, NULL, reason);
        pending_remove(c, i);
        return 0; /* a failed savepoint fails only itself */
    }
    pending_remove(c, i);
    c->next_trigger_ms = retry_ms;
    if (++c->consecutive_failures > c->env->ckpt_tolerable_failures)
        return rill__err_first(job_err, RILL_EIO, "%s %llu%s failed: %s (tolerable failed "
                               "checkpoints: %d)", kind, (unsigned long long)id,
                               final ? " (at the end of input)" : "",
                               reason, c->env->ckpt_tolerable_failures);
    return 0;
}

/* Copies completed checkpoint p (its verified task files and metadata) into a self-contained
 * savepoint directory: files named relative to it, so it can be moved. */
static int write_savepoint(rill__coordinator *c, const pending_ckpt *p, char **loc_out,
                           rill__err *err)
{
    char *dir = rill__xasprintf("%s/savepoint-%s-%llu", p->savepoint_dir, c->env->name,
                                (unsigned long long)p->id);
    int rc = rill__mkdirs(dir, 0755);
    if (rc) {
        rill__err_set(err, rc, "cannot create %s: %s", dir, rill_strerror(rc));
        goto out;
    }
    rc = rill__fsync_dir(p->savepoint_dir);
    if (rc)
        rill__err_set(err, rc, "fsync of %s: %s", p->savepoint_dir, rill_strerror(rc));
    for (int t = 0; rc == 0 && t < c->g->n_tasks; t++) {
        if (!p->files[t])
            continue;
        void *data = NULL;
        size_t len = 0;
        rc = rill__ckpt_read_data(c->store, (int64_t)p->id, p->files[t], &data, &len, err);
        if (rc == 0) {
            char *path = rill__xasprintf("%s/%s", dir, p->files[t]);
            rc = rill__ckpt_file_write(path, RILL_CKPT_DATA, data, len, err);
            free(path);
        }
        free(data);
    }
    if (rc == 0) {
        rill__buf meta = {0};
        build_meta(c, p, rill__now_ms(), &meta);
        char *path = rill__xasprintf("%s/%s", dir, RILL_CKPT_METADATA_NAME);
        rc = rill__ckpt_file_write_atomic(path, RILL_CKPT_SAVEPOINT_METADATA, meta.data, meta.len,
                                          err);
        free(path);
        rill__buf_free(&meta);
    }
    if (rc)
        rill__remove_tree(dir); /* no half-written savepoint is left to be mistaken for one */
out:
    if (rc == 0)
        *loc_out = dir;
    else
        free(dir);
    return rc;
}

static int try_complete(rill__coordinator *c, int i, rill__err *job_err)
{
    pending_ckpt *p = &c->pending[i];
    int open = 0;
    for (int t = 0; t < c->g->n_tasks; t++)
        open += !p->acked[t] && !c->finished[t];
    if (open > 0)
        return 0;
    int64_t now = rill__now_ms();
    /* a savepoint is written before its checkpoint completes: one that cannot be written fails
     * the checkpoint, so a stop-with-savepoint that fails has ended nothing (its sinks have not
     * committed, its sources read on) */
    char *loc = NULL;
    if (p->savepoint_dir) {
        rill__err se = {0};
        if (write_savepoint(c, p, &loc, &se) != 0) {
            char why[RILL_ERRMSG_MAX + 32];
            snprintf(why, sizeof why, "writing the savepoint: %s", se.msg);
            return fail_pending(c, i, why, job_err);
        }
    }
    rill__buf meta = {0};
    build_meta(c, p, now, &meta);
    rill__err e = {0};
    int rc = rill__ckpt_commit(c->store, (int64_t)p->id, meta.data, meta.len, &e);
    rill__buf_free(&meta);
    if (rc) {
        if (loc) /* no savepoint of a checkpoint that did not complete */
            rill__remove_tree(loc);
        free(loc);
        return fail_pending(c, i, e.msg, job_err);
    }
    c->consecutive_failures = 0;
    if (p->id > c->last_completed)
        c->last_completed = p->id;
    if (p->savepoint_dir) {
        sp_record(c, p->id, 0, loc, "");
        rill__log(RILL_LOG_INFO, "job '%s': savepoint %llu written to %s", c->env->name,
                  (unsigned long long)p->id, loc);
        free(loc);
    }
    /* the final checkpoint, or a newer one (a savepoint) that the waiting sources took too; or a
     * stop-with-savepoint: the sources end now */
    if ((c->final_id && p->id >= c->final_id) || p->stop)
        c->final_done = true;
    rill__log(RILL_LOG_INFO, "job '%s': %scheckpoint %llu completed in %lld ms (%llu bytes)",
              c->env->name, p->final ? "final " : "", (unsigned long long)p->id,
              (long long)(now - p->trigger_ms), (unsigned long long)p->bytes);
    record(c, p, now, "COMPLETED", NULL);
    op_state_of(c, p);
    /* older checkpoints still in flight are subsumed by this one */
    uint64_t done_id = p->id;
    for (int j = c->n_pending - 1; j >= 0; j--) {
        if (c->pending[j].id >= done_id)
            continue;
        if (c->pending[j].savepoint_dir)
            sp_record(c, c->pending[j].id, RILL_EIO, NULL, "subsumed by a newer checkpoint");
        pending_remove(c, j);
        if (j < i)
            i--;
    }
    pending_remove(c, i);
    c->next_trigger_ms = RILL_MAX(c->next_trigger_ms, now + c->env->ckpt_min_pause_ms);
    c->final_after_ms = RILL_MAX(c->final_after_ms, now + c->env->ckpt_min_pause_ms);
    return 0;
}

/* A new checkpoint in flight, triggered at now. */
static pending_ckpt *pending_add(rill__coordinator *c, int64_t now)
{
    pending_ckpt p = {.id = ++c->last_id, .trigger_ms = now};
    p.acked = rill__xcalloc((size_t)c->g->n_tasks, sizeof *p.acked);
    p.files = rill__xcalloc((size_t)c->g->n_tasks, sizeof *p.files);
    p.sizes = rill__xcalloc((size_t)c->g->n_tasks, sizeof *p.sizes);
    p.usage = rill__xcalloc((size_t)c->g->n_tasks, sizeof *p.usage);
    p.has_usage = rill__xcalloc((size_t)c->g->n_tasks, sizeof *p.has_usage);
    c->pending = rill__xrealloc(c->pending, (size_t)(c->n_pending + 1) * sizeof *c->pending);
    c->pending[c->n_pending++] = p;
    return &c->pending[c->n_pending - 1];
}

uint64_t rill__coord_tick(rill__coordinator *c, int64_t now, bool *stop_out, rill__err *job_err,
                          int *rc_out)
{
    *rc_out = 0;
    *stop_out = false;
    for (int i = c->n_pending - 1; i >= 0; i--) {
        if (now - c->pending[i].trigger_ms >= c->env->ckpt_timeout_ms) {
            char why[64];
            snprintf(why, sizeof why, "timed out after %lld ms",
                     (long long)c->env->ckpt_timeout_ms);
            if ((*rc_out = fail_pending(c, i, why, job_err)) < 0)
                return 0;
        }
    }
    bool savepoint_pending = false;
    for (int i = 0; i < c->n_pending; i++)
        savepoint_pending |= c->pending[i].savepoint_dir != NULL;
    if (c->final_done) /* the sources are ending */
        return 0;
    if (c->final_id || savepoint_pending) /* a newer checkpoint would subsume it */
        return 0;
    if (c->n_sources_live > 0 && c->n_sources_waiting == c->n_sources_live) {
        /* every source waits at the end of its input: the final checkpoint, also without an
         * interval (savepoints only), whose completion ends the sources */
        if (now < c->final_after_ms || c->n_pending >= c->env->ckpt_max_concurrent)
            return 0;
        pending_ckpt *p = pending_add(c, now);
        p->final = true;
        c->final_id = p->id;
        *stop_out = true;
        rill__log(RILL_LOG_INFO, "job '%s': every source has reached the end of its input: "
                  "final checkpoint %llu", c->env->name, (unsigned long long)p->id);
        return p->id;
    }
    if (c->env->ckpt_interval_ms <= 0 || now < c->next_trigger_ms ||
        c->n_pending >= c->env->ckpt_max_concurrent || c->n_sources_live == 0)
        return 0; /* no periodic checkpoints (savepoints only), or none due */
    uint64_t id = pending_add(c, now)->id;
    c->next_trigger_ms = now + c->env->ckpt_interval_ms;
    return id;
}

void rill__coord_end_of_data(rill__coordinator *c, int task)
{
    if (task < 0 || task >= c->g->n_tasks || !c->is_source[task] || c->finished[task] ||
        c->waiting[task])
        return;
    c->waiting[task] = true;
    c->n_sources_waiting++;
}

uint64_t rill__coord_final_pending(const rill__coordinator *c)
{
    return c->final_id;
}

int rill__coord_ack(rill__coordinator *c, int task, uint64_t id, int rc, uint64_t bytes,
                    uint64_t full_bytes, int64_t align_ms, const rill__state_usage *usage, const char *file,
                    const char *reason, rill__err *job_err)
{
    if (task < 0 || task >= c->g->n_tasks) { /* (once acks come over the network) */
        rill__log(RILL_LOG_WARN, "checkpoint %llu: an ack from task %d, which the job does not "
                  "have: ignored", (unsigned long long)id, task);
        return 0;
    }
    for (int i = 0; i < c->n_pending; i++) {
        pending_ckpt *p = &c->pending[i];
        if (p->id != id)
            continue;
        if (rc < 0)
            return fail_pending(c, i, reason && *reason ? reason : rill_strerror(rc), job_err);
        if (!p->acked[task]) {
            p->acked[task] = true;
            p->n_acked++;
            p->sizes[task] = bytes;
            p->bytes += bytes;
            p->full_bytes += RILL_MAX(full_bytes, bytes);
            if (usage) {
                p->usage[task] = *usage;
                p->has_usage[task] = true;
            }
            if (align_ms > p->align_ms)
                p->align_ms = align_ms;
            free(p->files[task]);
            p->files[task] = rill__xstrdup(file);
        }
        return try_complete(c, i, job_err);
    }
    return 0; /* a checkpoint already given up */
}

int rill__coord_task_finished(rill__coordinator *c, int task, rill__err *job_err)
{
    if (task < 0 || task >= c->g->n_tasks) {
        rill__log(RILL_LOG_WARN, "task %d, which the job does not have, finished: ignored", task);
        return 0;
    }
    if (c->finished[task])
        return 0;
    c->finished[task] = true;
    if (c->is_source[task])
        c->n_sources_live--;
    if (c->waiting[task]) {
        c->waiting[task] = false;
        c->n_sources_waiting--;
    }
    /* a finished task has no more state to give: checkpoints waiting on it may complete */
    for (int i = c->n_pending - 1; i >= 0 && i < c->n_pending; i--) {
        int rc = try_complete(c, i, job_err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

const rill__ckpt_stats *rill__coord_stats(const rill__coordinator *c, size_t *n_out)
{
    *n_out = c->n_stats;
    return c->stats;
}

void rill__coord_reset(rill__coordinator *c)
{
    int64_t now = rill__now_ms();
    while (c->n_pending > 0) {
        rill__err e = {0};
        rill__ckpt_abort(c->store, (int64_t)c->pending[c->n_pending - 1].id, &e);
        record(c, &c->pending[c->n_pending - 1], now, "FAILED", "the job restarted");
        if (c->pending[c->n_pending - 1].savepoint_dir)
            sp_record(c, c->pending[c->n_pending - 1].id, RILL_EIO, NULL, "the job restarted");
        pending_remove(c, c->n_pending - 1);
    }
    c->n_sources_live = 0;
    c->n_sources_waiting = 0;
    for (int t = 0; t < c->g->n_tasks; t++) {
        c->finished[t] = false;
        c->waiting[t] = false;
        c->n_sources_live += c->is_source[t];
    }
    c->final_id = 0;
    c->final_done = false;
    c->final_after_ms = 0;
    c->next_trigger_ms = now + c->env->ckpt_interval_ms;
}

uint64_t rill__coord_last_completed(const rill__coordinator *c)
{
    return c->last_completed;
}

uint64_t rill__coord_trigger_savepoint(rill__coordinator *c, const char *dir, bool stop,
                                       rill__err *err)
{
    if (c->n_sources_live == 0 || c->final_done) { /* (ending after the final checkpoint) */
        rill__err_set(err, RILL_EPERM, "the job's sources have finished: no savepoint can be taken");
        return 0;
    }
    for (int i = 0; i < c->n_pending; i++) {
        if (c->pending[i].stop) {
            rill__err_set(err, RILL_EPERM, "job '%s' is stopping (stop-with-savepoint %llu in "
                          "flight): no other savepoint can be taken", c->env->name,
                          (unsigned long long)c->pending[i].id);
            return 0;
        }
    }
    pending_ckpt *p = pending_add(c, rill__now_ms());
    p->savepoint_dir = rill__xstrdup(dir);
    p->stop = stop;
    return p->id;
}

void rill__coord_abort_savepoint(rill__coordinator *c, uint64_t id, const char *reason)
{
    for (int i = 0; i < c->n_pending; i++) {
        if (c->pending[i].id == id && c->pending[i].savepoint_dir) {
            rill__err unused = {0}; /* a failed savepoint fails only itself */
            fail_pending(c, i, reason, &unused);
            return;
        }
    }
}

int rill__coord_savepoint_result(rill__coordinator *c, uint64_t id, char **location_out,
                                 rill__err *err)
{
    for (size_t i = 0; i < c->n_sp; i++) {
        if (c->sp[i].id != id)
            continue;
        if (c->sp[i].rc)
            return rill__err_set(err, c->sp[i].rc, "savepoint %llu failed: %s",
                                 (unsigned long long)id, c->sp[i].reason);
        *location_out = rill__xstrdup(c->sp[i].location);
        return 1;
    }
    return 0;
}
