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
    bool ready;          /* every task acknowledged: its commit is queued (deferred I/O) */
    bool committing;     /* its commit is being done now, without the caller's lock */
    bool abandon;        /* a savepoint given up while being committed */
} pending_ckpt;

/* File I/O taken out of the coordinator's state to be done without the JobManager's lock: the
 * commit of a checkpoint (and its savepoint copy), or the removal of failed ones. */
struct rill__coord_io {
    bool commit;
    uint64_t id;
    rill__buf meta;      /* commit: the metadata, built when taken */
    char **files;        /* commit: by task, copies (NULL: a finished task) */
    char *savepoint_dir; /* commit of a savepoint */
    int64_t *abort_ids;  /* the checkpoints to remove */
    size_t n_abort;
    /* the outcome of a commit */
    int rc;
    char msg[RILL_ERRMSG_MAX + 32];
    char *location; /* the savepoint written */
};

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
    /* deferred I/O (the JobManager's): checkpoints to remove, queued for rill__coord_io_take */
    bool defer_io;
    int64_t *aborts;
    size_t n_aborts, cap_aborts;
};

/* A checkpoint that failed or was given up: its directory goes, now or (deferred I/O) soon. */
static void remove_failed(rill__coordinator *c, uint64_t id)
{
    if (c->defer_io) {
        rill__grow((void **)&c->aborts, &c->cap_aborts, c->n_aborts + 1, sizeof *c->aborts);
        c->aborts[c->n_aborts++] = (int64_t)id;
        return;
    }
    rill__err e = {0};
    rill__ckpt_abort(c->store, (int64_t)id, &e);
}

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
    /* the job's metrics (Flink's checkpointing metrics) */
    rill__job_metrics *jm = &c->env->jmetrics;
    if (!strcmp(status, "COMPLETED")) {
        rill__metric_add(&jm->ckpt_completed, 1);
        rill__metric_set(&jm->ckpt_last_duration_ms, st->duration_ms);
        rill__metric_set(&jm->ckpt_last_size, (int64_t)st->bytes);
        rill__metric_set(&jm->state_size, (int64_t)st->full_bytes);
    } else {
        rill__metric_add(&jm->ckpt_failed, 1);
    }
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
            if (vx->nodes[k]->kind == RILL_NODE_PROCESS || vx->nodes[k]->kind == RILL_NODE_WINDOW ||
                (vx->nodes[k]->kind == RILL_NODE_OPERATOR && vx->nodes[k]->keyed))
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
    free(c->aborts);
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

/* The metadata of a completed checkpoint: what restore needs to find every task's state
 * (restore.c reads it). */
static void build_meta(rill__coordinator *c, const pending_ckpt *p, int64_t now, rill__buf *b)
{
    rill__enc e;
    rill__enc_init(&e, b);
    rill__enc_u32(&e, META_VERSION);
    rill__enc_u64(&e, p->id);
    rill__enc_i64(&e, p->trigger_ms);
    rill__enc_i64(&e, now);
    rill__enc_u32(&e, (uint32_t)c->env->max_parallelism);
    rill__enc_str(&e, "job", c->env->name, SIZE_MAX);
    rill__enc_u32(&e, (uint32_t)c->g->n_tasks);
    for (int v = 0; v < c->g->n_vertices; v++) {
        rill__vertex *vx = c->g->vertices[v];
        for (int k = 0; k < vx->parallelism; k++) {
            int t = vx->first_task + k;
            rill__enc_u32(&e, (uint32_t)vx->id);
            rill__enc_u32(&e, (uint32_t)k);
            rill__enc_u32(&e, (uint32_t)vx->parallelism);
            rill__enc_str(&e, "uid", vx->nodes[0]->uid, SIZE_MAX);
            rill__enc_str(&e, "file", p->files[t], SIZE_MAX);
            rill__enc_u64(&e, (uint64_t)p->sizes[t]);
            rill__enc_u8(&e, p->files[t] == NULL);
        }
    }
}

/* Checkpoint i failed: its files go; the job fails once failures pass the tolerance. */
static int pending_index(const rill__coordinator *c, uint64_t id)
{
    for (int i = 0; i < c->n_pending; i++)
        if (c->pending[i].id == id)
            return i;
    return -1;
}

/*
 * Checkpoint id failed: the checkpoints in flight before it go too. A source that is asked for
 * a newer checkpoint before it took an older one takes only the newer, and a task that is
 * aligning an older barrier gives it up when a newer one comes (Flink declines it as subsumed):
 * once id's barriers are out, the older ones cannot complete. Kept, they would have held their
 * place in flight until their timeout, with no checkpoint, no final checkpoint and so no end of
 * the job until then (a failed savepoint did that). Not a failure of their own: they do not
 * count against the tolerance.
 */
static void give_up_older(rill__coordinator *c, uint64_t id, int64_t now)
{
    char why[96];
    snprintf(why, sizeof why, "given up for checkpoint %llu, which failed",
             (unsigned long long)id);
    for (int j = c->n_pending - 1; j >= 0; j--) {
        pending_ckpt *o = &c->pending[j];
        if (o->id >= id || o->ready || o->committing)
            continue; /* every task acknowledged it: it completes on its own */
        remove_failed(c, o->id);
        rill__log(RILL_LOG_INFO, "job '%s': checkpoint %llu %s", c->env->name,
                  (unsigned long long)o->id, why);
        record(c, o, now, "FAILED", why);
        if (o->savepoint_dir)
            sp_record(c, o->id, RILL_EIO, NULL, why);
        pending_remove(c, j);
    }
}

static int fail_pending(rill__coordinator *c, int i, const char *reason, rill__err *job_err)
{
    pending_ckpt *p = &c->pending[i];
    int64_t now = rill__now_ms();
    remove_failed(c, p->id);
    const char *kind = p->final ? "final checkpoint" : "checkpoint";
    rill__log(RILL_LOG_WARN, "job '%s': %s %llu failed: %s", c->env->name, kind,
              (unsigned long long)p->id, reason);
    record(c, p, now, "FAILED", reason);
    uint64_t id = p->id;
    bool final = p->final;
    give_up_older(c, id, now);
    i = pending_index(c, id);
    p = &c->pending[i];
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

/* Copies checkpoint id (its verified task files, and the metadata meta) into a self-contained
 * savepoint directory under sp_dir: files named relative to it, so it can be moved. Touches
 * only the store (immutable) and its arguments: runs without the caller's lock. */
static int write_savepoint(rill__coordinator *c, uint64_t id, const char *sp_dir, char **files,
                           const rill__buf *meta, char **loc_out, rill__err *err)
{
    char *dir = rill__xasprintf("%s/savepoint-%s-%llu", sp_dir, c->env->name,
                                (unsigned long long)id);
    int rc = rill__mkdirs(dir, 0755);
    if (rc) {
        rill__err_set(err, rc, "cannot create %s: %s", dir, rill_strerror(rc));
        goto out;
    }
    rc = rill__fsync_dir(sp_dir);
    if (rc)
        rill__err_set(err, rc, "fsync of %s: %s", sp_dir, rill_strerror(rc));
    for (int t = 0; rc == 0 && t < c->g->n_tasks; t++) {
        if (!files[t])
            continue;
        void *data = NULL;
        size_t len = 0;
        rc = rill__ckpt_read_data(c->store, (int64_t)id, files[t], &data, &len, err);
        if (rc == 0) {
            char *path = rill__xasprintf("%s/%s", dir, files[t]);
            rc = rill__ckpt_file_write(path, RILL_CKPT_DATA, data, len, err);
            free(path);
        }
        free(data);
    }
    if (rc == 0) {
        char *path = rill__xasprintf("%s/%s", dir, RILL_CKPT_METADATA_NAME);
        rc = rill__ckpt_file_write_atomic(path, RILL_CKPT_SAVEPOINT_METADATA, meta->data,
                                          meta->len, err);
        free(path);
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

static void io_free(rill__coordinator *c, rill__coord_io *io)
{
    if (!io)
        return;
    rill__buf_free(&io->meta);
    if (io->files)
        for (int t = 0; t < c->g->n_tasks; t++)
            free(io->files[t]);
    free(io->files);
    free(io->savepoint_dir);
    free(io->abort_ids);
    free(io->location);
    free(io);
}

void rill__coord_defer_io(rill__coordinator *c)
{
    c->defer_io = true;
}

bool rill__coord_io_take(rill__coordinator *c, rill__coord_io **out)
{
    *out = NULL;
    for (int i = 0; i < c->n_pending; i++)
        if (c->pending[i].committing)
            return false; /* one at a time */
    if (c->n_aborts > 0) {
        rill__coord_io *io = rill__xcalloc(1, sizeof *io);
        io->abort_ids = c->aborts;
        io->n_abort = c->n_aborts;
        c->aborts = NULL;
        c->n_aborts = c->cap_aborts = 0;
        *out = io;
        return true;
    }
    int next = -1; /* the oldest checkpoint ready to commit: they complete in order */
    for (int i = 0; i < c->n_pending; i++)
        if (c->pending[i].ready && (next < 0 || c->pending[i].id < c->pending[next].id))
            next = i;
    if (next < 0)
        return false;
    pending_ckpt *p = &c->pending[next];
    p->committing = true;
    rill__coord_io *io = rill__xcalloc(1, sizeof *io);
    io->commit = true;
    io->id = p->id;
    build_meta(c, p, rill__now_ms(), &io->meta);
    io->files = rill__xcalloc((size_t)c->g->n_tasks, sizeof *io->files);
    for (int t = 0; t < c->g->n_tasks; t++)
        io->files[t] = p->files[t] ? rill__xstrdup(p->files[t]) : NULL;
    io->savepoint_dir = p->savepoint_dir ? rill__xstrdup(p->savepoint_dir) : NULL;
    *out = io;
    return true;
}

void rill__coord_io_run(rill__coordinator *c, rill__coord_io *io)
{
    rill__err e = {0};
    for (size_t k = 0; k < io->n_abort; k++) {
        memset(&e, 0, sizeof e);
        if (rill__ckpt_abort(c->store, io->abort_ids[k], &e) != 0)
            rill__log(RILL_LOG_WARN, "job '%s': %s", c->env->name, e.msg);
    }
    if (!io->commit)
        return;
    /* a savepoint is written before its checkpoint completes: one that cannot be written fails
     * the checkpoint, so a stop-with-savepoint that fails has ended nothing (its sinks have not
     * committed, its sources read on) */
    if (io->savepoint_dir) {
        io->rc = write_savepoint(c, io->id, io->savepoint_dir, io->files, &io->meta,
                                 &io->location, &e);
        if (io->rc != 0) {
            snprintf(io->msg, sizeof io->msg, "writing the savepoint: %s", e.msg);
            return;
        }
    }
    io->rc = rill__ckpt_commit(c->store, (int64_t)io->id, io->meta.data, io->meta.len, &e);
    if (io->rc != 0) {
        snprintf(io->msg, sizeof io->msg, "%s", e.msg);
        if (io->location) /* no savepoint of a checkpoint that did not complete */
            rill__remove_tree(io->location);
        free(io->location);
        io->location = NULL;
    }
}

int rill__coord_io_finish(rill__coordinator *c, rill__coord_io *io, rill__err *job_err)
{
    int i = -1;
    for (int k = 0; io->commit && k < c->n_pending; k++)
        if (c->pending[k].id == io->id)
            i = k;
    if (i < 0) { /* removals (or a commit whose checkpoint is gone, which cannot happen: only
                  * the owner's thread resets or subsumes, and never during a commit) */
        io_free(c, io);
        return 0;
    }
    pending_ckpt *p = &c->pending[i];
    p->committing = false;
    p->ready = false;
    if (io->rc != 0) {
        char why[sizeof io->msg];
        snprintf(why, sizeof why, "%s", io->msg);
        io_free(c, io);
        return fail_pending(c, i, why, job_err);
    }
    int64_t now = rill__now_ms();
    c->consecutive_failures = 0;
    if (p->id > c->last_completed)
        c->last_completed = p->id;
    if (p->savepoint_dir && p->abandon) {
        /* its waiter gave up while it was being written: the checkpoint is complete (its
         * _metadata is committed), but the savepoint is withdrawn, and a stop does not happen */
        rill__remove_tree(io->location);
        sp_record(c, p->id, RILL_EIO, NULL, "given up while it was being written");
        p->stop = false;
    } else if (p->savepoint_dir) {
        sp_record(c, p->id, 0, io->location, "");
        rill__log(RILL_LOG_INFO, "job '%s': savepoint %llu written to %s", c->env->name,
                  (unsigned long long)p->id, io->location);
    }
    io_free(c, io);
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

/* Every task of pending checkpoint i has acknowledged (or finished): it is committed, at once,
 * or (deferred I/O) queued for the owner to commit without its lock. */
static int try_complete(rill__coordinator *c, int i, rill__err *job_err)
{
    pending_ckpt *p = &c->pending[i];
    if (p->ready)
        return 0;
    int open = 0;
    for (int t = 0; t < c->g->n_tasks; t++)
        open += !p->acked[t] && !c->finished[t];
    if (open > 0)
        return 0;
    p->ready = true;
    if (c->defer_io)
        return 0;
    rill__coord_io *io;
    while (rill__coord_io_take(c, &io)) {
        rill__coord_io_run(c, io);
        int rc = rill__coord_io_finish(c, io, job_err);
        if (rc < 0)
            return rc;
    }
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
        /* (a checkpoint every task acknowledged in time is being committed, or waits for it) */
        if (!c->pending[i].ready && now - c->pending[i].trigger_ms >= c->env->ckpt_timeout_ms) {
            char why[64];
            snprintf(why, sizeof why, "timed out after %lld ms",
                     (long long)c->env->ckpt_timeout_ms);
            if ((*rc_out = fail_pending(c, i, why, job_err)) < 0)
                return 0;
            i = c->n_pending; /* it gave up the older ones too: look again */
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
        if (p->ready)
            return 0; /* every task had acknowledged it: being committed */
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
        RILL_ASSERT(!c->pending[c->n_pending - 1].committing); /* the owner's thread commits */
        remove_failed(c, c->pending[c->n_pending - 1].id);
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
            if (c->pending[i].committing) { /* withdrawn when its commit ends */
                c->pending[i].abandon = true;
                return;
            }
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
