/* taskmanager.c - cluster layer: the TaskManager. Holds slots, turns a deployment into a job
 * run (tasks and local channels), starts it, and reports task states to its JobManager. */
#include <stdlib.h>

#include "cluster.h"
#include "runtime/remote.h"

/* A snapshot waiting for the writer thread, or (name NULL) a task state report queued behind
 * that task's snapshots, so the JobManager never sees a task finish before its last ack. */
typedef struct snap_item {
    struct snap_item *next;
    int task;
    char *name;
    uint64_t id;
    rill__task_snap *snap;
    rill__task_state state;
    int rc;
    char *msg;
    int64_t align_ms;
} snap_item;

typedef struct tm_job {
    uint64_t id;
    uint32_t attempt;
    rill__job_run *run;
    rill__remote **eps; /* data connections to other TaskManagers (owned), by process */
    int n_eps;
    rill__tm_connect_fn connect; /* makes them */
    void *connect_arg;
    atomic_bool failed_sent; /* a broken data connection was reported */
    atomic_bool canceled;    /* asked to stop (or a data connection broke) */
    struct tm_job *next;
    rill__taskmanager *tm;
    rill__ckpt_store *store; /* checkpointing on: where task snapshots go */
    /* the writer: task snapshots are written and acknowledged off the tasks' threads */
    pthread_t writer;
    bool has_writer, stopping;
    pthread_mutex_t qmu;
    pthread_cond_t qcv;
    snap_item *head, *tail;
    rill__buf wbuf; /* the writer's: reused, so a large snapshot does not fault in fresh pages
                       every checkpoint */
} tm_job;

struct rill__taskmanager {
    pthread_mutex_t mu;
    int slots;
    rill__jm_gateway jm;
    tm_job *jobs;
};

/* Writes what is queued, then stops the writer (after the tasks have stopped). */
static void writer_stop(tm_job *j)
{
    if (!j->has_writer)
        return;
    pthread_mutex_lock(&j->qmu);
    j->stopping = true;
    pthread_cond_signal(&j->qcv);
    pthread_mutex_unlock(&j->qmu);
    pthread_join(j->writer, NULL);
    j->has_writer = false;
    rill__buf_free(&j->wbuf);
    pthread_mutex_destroy(&j->qmu);
    pthread_cond_destroy(&j->qcv);
}

/* Waits for the job's threads and frees it: tasks, then the writer, then the data
 * connections (their rings are the tasks'), then the run. */
static void job_free(tm_job *j)
{
    rill__job_run_join(j->run);
    writer_stop(j);
    /* a job that ended by itself: its last messages (the ends of input) leave the endpoints'
     * rings before the connections close */
    for (int i = 0; i < j->n_eps && !atomic_load(&j->canceled); i++)
        if (j->eps[i] && rill__remote_wait(j->eps[i], 2000, NULL) == RILL_AGAIN)
            rill__log(RILL_LOG_WARN, "job %llu: a data connection did not end within 2 s of "
                      "the job's end; closing it", (unsigned long long)j->id);
    for (int i = 0; i < j->n_eps; i++)
        rill__remote_free(j->eps[i]); /* NULL-safe */
    free(j->eps);
    rill__job_run_free(j->run);
    rill__ckpt_store_free(j->store);
    free(j);
}

rill__taskmanager *rill__tm_new(int slots, const rill__jm_gateway *jm)
{
    rill__taskmanager *tm = rill__xcalloc(1, sizeof *tm);
    pthread_mutex_init(&tm->mu, NULL);
    tm->slots = slots;
    tm->jm = *jm;
    return tm;
}

void rill__tm_free(rill__taskmanager *tm)
{
    if (!tm)
        return;
    while (tm->jobs) {
        tm_job *j = tm->jobs;
        tm->jobs = j->next;
        atomic_store(&j->canceled, true);
        rill__job_run_cancel(j->run);
        job_free(j);
    }
    pthread_mutex_destroy(&tm->mu);
    free(tm);
}

static void enqueue(tm_job *j, snap_item *it)
{
    pthread_mutex_lock(&j->qmu);
    if (j->tail)
        j->tail->next = it;
    else
        j->head = it;
    j->tail = it;
    pthread_cond_signal(&j->qcv);
    pthread_mutex_unlock(&j->qmu);
}

static void on_task(void *arg, rill__task *t, rill__task_state state, int rc, const char *msg)
{
    tm_job *j = arg;
    rill__log(RILL_LOG_DEBUG, "task %s: %s", rill__task_name(t), rill__task_state_name(state));
    if (j->has_writer && state >= RILL_TASK_FINISHED) {
        snap_item *it = rill__xcalloc(1, sizeof *it);
        it->task = rill__task_index(t);
        it->state = state;
        it->rc = rc;
        it->msg = rill__xstrdup(msg ? msg : "");
        enqueue(j, it);
        return;
    }
    j->tm->jm.task_state(j->tm->jm.jm, j->id, j->attempt, rill__task_index(t), state, rc,
                         msg);
}

/* The writer thread: writes each task snapshot as the data file task-<index> of its
 * checkpoint, fsynced, then acknowledges it to the JobManager. */
static void *writer_main(void *arg)
{
    tm_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->qmu);
        while (!j->head && !j->stopping)
            pthread_cond_wait(&j->qcv, &j->qmu);
        snap_item *it = j->head;
        if (it) {
            j->head = it->next;
            if (!j->head)
                j->tail = NULL;
        }
        pthread_mutex_unlock(&j->qmu);
        if (!it)
            return NULL; /* stopping, and the queue is empty */
        if (!it->name) { /* a task state change, in order after its acks */
            j->tm->jm.task_state(j->tm->jm.jm, j->id, j->attempt, it->task, it->state, it->rc,
                                 it->msg);
            free(it->msg);
            free(it);
            continue;
        }
        /* the keyed state is serialised here, from copy-on-write views: the task went on */
        rill__err e = {0};
        rill__buf data = j->wbuf;
        data.len = 0;
        int64_t t0 = rill__mono_ns(), sync_ns = rill__task_snap_sync_ns(it->snap);
        rill__state_usage usage;
        bool has_usage = rill__task_snap_usage(it->snap, &usage);
        /* native keyed snapshots put their files beside the data file */
        char *dir = rill__ckpt_store_chk_dir(j->store, (int64_t)it->id);
        int rc = rill__mkdirs(dir, 0755);
        if (rc)
            rill__err_set(&e, rc, "cannot create %s: %s", dir, rill_strerror(rc));
        else
            rc = rill__task_snap_write(it->snap, &data, dir, it->name, &e);
        free(dir);
        rill__files_size files = rill__task_snap_files(it->snap);
        rill__task_snap_free(it->snap);
        if (rc == 0)
            rc = rill__ckpt_write_data(j->store, (int64_t)it->id, it->name, data.data, data.len,
                                       &e);
        else {
            char why[RILL_ERRMSG_MAX];
            snprintf(why, sizeof why, "%s", e.msg);
            rill__err_set(&e, rc, "%s: snapshot of checkpoint %llu failed: %s", it->name,
                          (unsigned long long)it->id, why);
        }
        rill__log(RILL_LOG_DEBUG,
                  "%s: checkpoint %llu: %.3f ms at the barrier, %.1f ms serialising and "
                  "writing %zu bytes and %d of %d state files (%lld of %lld bytes)",
                  it->name, (unsigned long long)it->id, (double)sync_ns / 1e6,
                  (double)(rill__mono_ns() - t0) / 1e6, data.len, files.n_new, files.n_files,
                  (long long)files.new_bytes, (long long)files.full_bytes);
        uint64_t bytes = rc == 0 ? data.len + (uint64_t)files.new_bytes : 0;
        uint64_t full = rc == 0 ? data.len + (uint64_t)files.full_bytes : 0;
        j->tm->jm.ack(j->tm->jm.jm, j->id, j->attempt, it->task, it->id, rc, bytes, full,
                      it->align_ms, has_usage ? &usage : NULL, it->name, e.msg);
        j->wbuf = data;
        free(it->name);
        free(it);
    }
}

/* A task's snapshot (on its thread): queued for the writer, so the task goes on at once. */
static void on_snapshot(void *arg, rill__task *t, uint64_t id, int rc, rill__task_snap *snap,
                        int64_t align_ms)
{
    tm_job *j = arg;
    if (rc < 0) {
        char why[RILL_ERRMSG_MAX];
        const char *msg = rill__task_errmsg(t);
        snprintf(why, sizeof why, "task %s: snapshot failed: %s", rill__task_name(t),
                 *msg ? msg : rill_strerror(rc));
        j->tm->jm.ack(j->tm->jm.jm, j->id, j->attempt, rill__task_index(t), id, rc, 0, 0,
                      align_ms, NULL, "", why);
        rill__task_snap_free(snap);
        return;
    }
    snap_item *it = rill__xcalloc(1, sizeof *it);
    it->task = rill__task_index(t);
    it->name = rill__xasprintf("task-%d", it->task);
    it->id = id;
    it->snap = snap;
    it->align_ms = align_ms;
    enqueue(j, it);
}

/* A source at the end of its input (on its thread): the JobManager triggers the final
 * checkpoint once every source waits. */
static void on_end_of_data(void *arg, rill__task *t)
{
    tm_job *j = arg;
    if (j->tm->jm.end_of_data)
        j->tm->jm.end_of_data(j->tm->jm.jm, j->id, j->attempt, rill__task_index(t));
}

/* A data connection ended (on its I/O thread): with an error, the attempt fails over. */
static void on_remote_end(void *arg, rill__remote *e, int rc, const char *msg)
{
    (void)e;
    tm_job *j = arg;
    if (rc == 0 || atomic_exchange(&j->failed_sent, true))
        return;
    rill__log(RILL_LOG_ERROR, "job %llu: %s", (unsigned long long)j->id, msg);
    atomic_store(&j->canceled, true);
    rill__job_run_cancel(j->run);
    if (j->tm->jm.job_failed)
        j->tm->jm.job_failed(j->tm->jm.jm, j->id, j->attempt, rc < 0 ? rc : RILL_EIO, msg);
}

/* The placement's endpoint function: the job's connection to process p, made once. */
static rill__remote *endpoint_of(void *arg, int p, rill__err *err)
{
    tm_job *j = arg;
    if (p < 0 || p >= j->n_eps || !j->connect) {
        rill__err_set(err, RILL_EINVAL, "no data connection to process %d", p);
        return NULL;
    }
    if (!j->eps[p]) {
        rill__remote_config cfg;
        rill__remote_config_default(&cfg);
        cfg.on_end = on_remote_end;
        cfg.on_end_arg = j;
        cfg.half_close = true; /* both ends see every channel's end, then close */
        j->eps[p] = j->connect(j->connect_arg, p, &cfg, err);
    }
    return j->eps[p];
}

int rill__tm_deploy_run(rill__taskmanager *tm, uint64_t job_id, uint32_t attempt,
                        rill__exec_graph *g, const int *tasks, int n,
                        const rill__placement *placement, rill__tm_connect_fn connect,
                        void *connect_arg, const rill__restore *restore, rill__err *err)
{
    tm_job *j = rill__xcalloc(1, sizeof *j);
    j->id = job_id;
    j->attempt = attempt;
    j->tm = tm;
    int rc = 0;
    rill__placement pl;
    if (placement) {
        /* a data connection per peer, made when the first channel to it is built */
        for (int t = 0; t < g->n_tasks; t++)
            j->n_eps = RILL_MAX(j->n_eps, placement->proc_of_task[t] + 1);
        j->eps = rill__xcalloc((size_t)j->n_eps + 1, sizeof *j->eps);
        j->connect = connect;
        j->connect_arg = connect_arg;
        pl = *placement;
        pl.endpoint = endpoint_of;
        pl.arg = j;
    }
    rc = rill__job_run_new(g, tasks, n, placement ? &pl : NULL, restore, on_task, j, err,
                           &j->run);
    if (rc < 0) {
        for (int i = 0; i < j->n_eps; i++)
            rill__remote_free(j->eps[i]);
        free(j->eps);
        free(j);
        return rc;
    }
    rill_env *env = g->env;
    if (rill__env_checkpointing(env)) {
        rc = rill__ckpt_store_open(env->ckpt_dir, env->name, env->ckpt_retain, &j->store, err);
        if (rc == 0) {
            rill__job_run_on_snapshot(j->run, on_snapshot, j, !env->ckpt_at_least_once);
            rill__job_run_on_end_of_data(j->run, on_end_of_data, j); /* final checkpoints */
            pthread_mutex_init(&j->qmu, NULL);
            pthread_cond_init(&j->qcv, NULL);
            int prc = pthread_create(&j->writer, NULL, writer_main, j);
            if (prc != 0) {
                pthread_mutex_destroy(&j->qmu);
                pthread_cond_destroy(&j->qcv);
                rc = rill__err_set(err, RILL_ENOMEM,
                                   "cannot start the snapshot writer thread: %s", strerror(prc));
            } else {
                j->has_writer = true;
            }
        }
        if (rc < 0) {
            job_free(j);
            return rc;
        }
    }
    for (int i = 0; i < j->n_eps; i++)
        if (j->eps[i] && (rc = rill__remote_start(j->eps[i])) != 0) {
            job_free(j);
            return rill__err_set(err, rc, "cannot start a data connection: %s",
                                 rill_strerror(rc));
        }
    pthread_mutex_lock(&tm->mu);
    j->next = tm->jobs;
    tm->jobs = j;
    pthread_mutex_unlock(&tm->mu);
    rc = rill__job_run_start(j->run);
    if (rc < 0)
        return rill__err_set(err, rc, "cannot start task threads: %s", rill_strerror(rc));
    return 0;
}

static int tm_deploy(void *arg, uint64_t job_id, uint32_t attempt, rill__exec_graph *g,
                     const int *tasks, int n, const rill__deploy_plan *plan,
                     const rill__restore *restore, rill__err *err)
{
    (void)plan; /* one TaskManager in this process: every channel is local */
    return rill__tm_deploy_run(arg, job_id, attempt, g, tasks, n, NULL, NULL, NULL, restore,
                               err);
}

static tm_job *find(rill__taskmanager *tm, uint64_t job_id, uint32_t attempt)
{
    for (tm_job *j = tm->jobs; j; j = j->next)
        if (j->id == job_id && j->attempt == attempt)
            return j;
    return NULL;
}

static void tm_cancel(void *arg, uint64_t job_id, uint32_t attempt)
{
    rill__taskmanager *tm = arg;
    pthread_mutex_lock(&tm->mu);
    tm_job *j = find(tm, job_id, attempt);
    if (j) {
        atomic_store(&j->canceled, true);
        rill__job_run_cancel(j->run);
    }
    pthread_mutex_unlock(&tm->mu);
}

static void tm_trigger(void *arg, uint64_t job_id, uint32_t attempt, uint64_t ckpt_id,
                       rill__stop_mode stop, bool savepoint)
{
    rill__taskmanager *tm = arg;
    pthread_mutex_lock(&tm->mu);
    tm_job *j = find(tm, job_id, attempt);
    if (j)
        rill__job_run_trigger(j->run, ckpt_id, stop, savepoint);
    pthread_mutex_unlock(&tm->mu);
}

static void tm_abort_stop(void *arg, uint64_t job_id, uint32_t attempt, uint64_t ckpt_id)
{
    rill__taskmanager *tm = arg;
    pthread_mutex_lock(&tm->mu);
    tm_job *j = find(tm, job_id, attempt);
    if (j)
        rill__job_run_abort_stop(j->run, ckpt_id);
    pthread_mutex_unlock(&tm->mu);
}

static void tm_complete(void *arg, uint64_t job_id, uint32_t attempt, uint64_t ckpt_id)
{
    rill__taskmanager *tm = arg;
    pthread_mutex_lock(&tm->mu);
    tm_job *j = find(tm, job_id, attempt);
    if (j)
        rill__job_run_complete(j->run, ckpt_id);
    pthread_mutex_unlock(&tm->mu);
}

static void tm_release(void *arg, uint64_t job_id, uint32_t attempt)
{
    rill__taskmanager *tm = arg;
    pthread_mutex_lock(&tm->mu);
    tm_job **pp = &tm->jobs;
    while (*pp && ((*pp)->id != job_id || (*pp)->attempt != attempt))
        pp = &(*pp)->next;
    tm_job *j = *pp;
    if (j)
        *pp = j->next;
    pthread_mutex_unlock(&tm->mu);
    if (j)
        job_free(j);
}

void rill__tm_cancel_all(rill__taskmanager *tm)
{
    pthread_mutex_lock(&tm->mu);
    for (tm_job *j = tm->jobs; j; j = j->next) {
        atomic_store(&j->canceled, true);
        rill__job_run_cancel(j->run);
    }
    pthread_mutex_unlock(&tm->mu);
}

rill__tm_gateway rill__tm_gateway_local(rill__taskmanager *tm)
{
    return (rill__tm_gateway){.tm = tm,
                              .slots = tm->slots,
                              .deploy = tm_deploy,
                              .cancel = tm_cancel,
                              .release = tm_release,
                              .trigger = tm_trigger,
                              .abort_stop = tm_abort_stop,
                              .complete = tm_complete};
}
