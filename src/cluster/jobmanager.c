/* jobmanager.c - cluster layer: the JobManager. Places an execution graph onto TaskManager
 * slots (waiting for them in a JobManager process), deploys it through their gateways, follows
 * task states, cancels everything on the first failure (a task's, or a lost TaskManager's),
 * restarts from the newest completed checkpoint per the restart strategy, and reports the
 * job's end. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster.h"

/* A TaskManager: in this process (the mini-cluster's) or a process registered over the control
 * protocol. */
typedef struct jm_tm {
    uint64_t handle; /* this registration */
    rill__tm_gateway gw;
    bool remote;
    bool alive;                 /* false once removed: kept while an attempt still holds it */
    rill__msg_register_tm reg;  /* remote */
    int64_t last_heartbeat_ns;  /* remote; monotonic */
    rill__prom_set *metrics;    /* remote: its last report, NULL: none yet */
    int used;                   /* slots held by attempts not yet released */
    int refs;                   /* attempts holding it */
} jm_tm;

typedef struct jm_job {
    uint64_t id;
    char name[256];
    int64_t start_ms, end_ms; /* wall clock; end -1 until the waiter returns */
    rill__exec_graph *g; /* NULL once the job has ended and its waiter returned */
    rill__job_state state;
    int n_tasks, n_terminal, n_failed, n_canceled;
    /* tasks of the attempt that reported RUNNING: periodic checkpoints are triggered only once
     * all have (Flink's rule), as a TaskManager drops a trigger for a deployment it is still
     * building, and the checkpoint would then hang until its timeout */
    int n_running;
    uint8_t *task_done; /* per task: its terminal state was counted */
    /* the current attempt's placement: the TaskManagers it holds, slots on each, and per task
     * an index into held */
    jm_tm **held;
    int *held_slots;
    int n_held;
    int *tm_of_task;
    bool waiting;      /* for slots: not deployed yet */
    char status[192];  /* what it waits for */
    rill__err err;     /* the first failure */
    char last_failure[RILL_ERRMSG_MAX]; /* the failure the latest restart recovered from */
    bool cancel_sent;
    bool user_cancel;  /* canceled on request (not a failure) */
    rill__coordinator *coord; /* checkpointing on */
    rill__restore *restore;   /* the checkpoint the current attempt started from */
    int attempts;             /* restarts so far: the current attempt's number */
    int64_t *failure_ms;      /* failure-rate: when the recent failures happened */
    int n_failure_ms;
} jm_job;

struct rill__jobmanager {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    jm_tm **tms; /* registration order (removed ones stay while an attempt holds them) */
    int n_tms;
    uint64_t next_handle;
    bool wait_for_slots;
    jm_job **jobs;
    int n_jobs;
    uint64_t next_id;
    rill__jm_runner runner; /* a JobManager process: runs uploaded job objects */
};

const char *rill__job_state_name(rill__job_state s)
{
    static const char *names[] = {"CREATED",  "RUNNING",  "FINISHED",
                                  "FAILED",   "CANCELED", "RESTARTING"};
    return s <= RILL_JOB_RESTARTING ? names[s] : "?";
}

rill__jobmanager *rill__jm_new(void)
{
    rill__jobmanager *jm = rill__xcalloc(1, sizeof *jm);
    pthread_mutex_init(&jm->mu, NULL);
    rill__cond_init_monotonic(&jm->cv);
    jm->next_id = 1;
    return jm;
}

static void tm_free(jm_tm *t)
{
    rill__prom_set_free(t->metrics);
    if (t->gw.drop)
        t->gw.drop(t->gw.tm);
    free(t);
}

void rill__jm_free(rill__jobmanager *jm)
{
    if (!jm)
        return;
    for (int i = 0; i < jm->n_jobs; i++) {
        jm_job *j = jm->jobs[i];
        rill__coord_free(j->coord);
        rill__restore_free(j->restore);
        free(j->failure_ms);
        free(j->tm_of_task);
        free(j->task_done);
        free(j->held);
        free(j->held_slots);
        free(j);
    }
    for (int i = 0; i < jm->n_tms; i++)
        tm_free(jm->tms[i]);
    free(jm->jobs);
    free(jm->tms);
    pthread_mutex_destroy(&jm->mu);
    pthread_cond_destroy(&jm->cv);
    free(jm);
}

static jm_tm *tm_add(rill__jobmanager *jm, const rill__tm_gateway *gw, bool remote)
{
    jm_tm *t = rill__xcalloc(1, sizeof *t);
    t->handle = ++jm->next_handle;
    t->gw = *gw;
    t->remote = remote;
    t->alive = true;
    t->last_heartbeat_ns = rill__mono_ns();
    jm->tms = rill__xrealloc(jm->tms, (size_t)(jm->n_tms + 1) * sizeof *jm->tms);
    jm->tms[jm->n_tms++] = t;
    pthread_cond_broadcast(&jm->cv); /* jobs waiting for slots */
    return t;
}

/* Forgets a removed TaskManager once no attempt holds it (jm->mu held). */
static void tm_reap(rill__jobmanager *jm, jm_tm *t)
{
    if (t->alive || t->refs > 0)
        return;
    for (int i = 0; i < jm->n_tms; i++)
        if (jm->tms[i] == t) {
            memmove(&jm->tms[i], &jm->tms[i + 1], (size_t)(jm->n_tms - i - 1) * sizeof *jm->tms);
            jm->n_tms--;
            break;
        }
    tm_free(t);
}

int rill__jm_register_tm(rill__jobmanager *jm, const rill__tm_gateway *tm)
{
    pthread_mutex_lock(&jm->mu);
    tm_add(jm, tm, false);
    pthread_mutex_unlock(&jm->mu);
    return 0;
}

void rill__jm_set_wait_for_slots(rill__jobmanager *jm, bool wait)
{
    pthread_mutex_lock(&jm->mu);
    jm->wait_for_slots = wait;
    pthread_mutex_unlock(&jm->mu);
}

static jm_job *find_job(rill__jobmanager *jm, uint64_t id)
{
    for (int i = 0; i < jm->n_jobs; i++)
        if (jm->jobs[i]->id == id)
            return jm->jobs[i];
    return NULL;
}

/* The job and attempt a TaskManager reports about, NULL when stale (jm->mu held). */
static jm_job *find_attempt(rill__jobmanager *jm, uint64_t id, uint32_t attempt)
{
    jm_job *j = find_job(jm, id);
    if (!j || (uint32_t)j->attempts != attempt || j->waiting)
        return NULL;
    return j;
}

/* ---- placement ----------------------------------------------------------------------------- */

static int free_slots(const jm_tm *t)
{
    return t->alive ? (int)t->gw.slots - t->used : 0;
}

/* Places the current attempt of j on free slots (jm->mu held): slot sharing (slot k runs
 * subtask k of every vertex), the job's slots spread over the TaskManagers with free ones in
 * turn (Flink's evenly-spread-out slots). RILL_AGAIN with j->status set when there are too
 * few. */
static int place(rill__jobmanager *jm, jm_job *j)
{
    rill__exec_graph *g = j->g;
    int need = g->max_vertex_p, have = 0, n_with = 0;
    for (int i = 0; i < jm->n_tms; i++) {
        have += free_slots(jm->tms[i]);
        n_with += free_slots(jm->tms[i]) > 0;
    }
    if (have < need) {
        snprintf(j->status, sizeof j->status,
                 "waiting for slots: the job needs %d, %d free on %d TaskManager%s", need, have,
                 n_with, n_with == 1 ? "" : "s");
        return RILL_AGAIN;
    }
    int *slot_tm = rill__xcalloc((size_t)need, sizeof *slot_tm); /* slot -> index into held */
    int *left = rill__xcalloc((size_t)jm->n_tms + 1, sizeof *left);
    int *held_of = rill__xcalloc((size_t)jm->n_tms + 1, sizeof *held_of);
    for (int i = 0; i < jm->n_tms; i++) {
        left[i] = free_slots(jm->tms[i]);
        held_of[i] = -1;
    }
    free(j->held);
    free(j->held_slots);
    j->held = rill__xcalloc((size_t)jm->n_tms + 1, sizeof *j->held);
    j->held_slots = rill__xcalloc((size_t)jm->n_tms + 1, sizeof *j->held_slots);
    j->n_held = 0;
    for (int k = 0, i = 0; k < need; i = (i + 1) % jm->n_tms) {
        if (left[i] == 0)
            continue;
        left[i]--;
        if (held_of[i] < 0) {
            held_of[i] = j->n_held;
            j->held[j->n_held++] = jm->tms[i];
        }
        j->held_slots[held_of[i]]++;
        slot_tm[k++] = held_of[i];
    }
    for (int h = 0; h < j->n_held; h++) {
        j->held[h]->used += j->held_slots[h];
        j->held[h]->refs++;
    }
    for (int v = 0; v < g->n_vertices; v++)
        for (int k = 0; k < g->vertices[v]->parallelism; k++)
            j->tm_of_task[g->vertices[v]->first_task + k] = slot_tm[k];
    free(slot_tm);
    free(left);
    free(held_of);
    j->status[0] = '\0';
    return 0;
}

/* Gives the current attempt's slots back (jm->mu held). */
static void unplace(rill__jobmanager *jm, jm_job *j)
{
    for (int h = 0; h < j->n_held; h++) {
        jm_tm *t = j->held[h];
        t->used -= j->held_slots[h];
        t->refs--;
        tm_reap(jm, t);
    }
    j->n_held = 0;
    pthread_cond_broadcast(&jm->cv); /* jobs waiting for slots */
}

/* ---- task states -------------------------------------------------------------------------- */

/* Counts task's terminal state once (jm->mu held); the job ends when every task has. */
static void task_terminal(rill__jobmanager *jm, jm_job *j, int task, rill__task_state state,
                          int rc, const char *msg);

/* With jm->mu held. */
static void cancel_locked(rill__jobmanager *jm, jm_job *j)
{
    if (j->cancel_sent)
        return;
    j->cancel_sent = true;
    if (j->waiting) { /* nothing deployed: the job ends here */
        j->waiting = false;
        for (int t = 0; t < j->n_tasks; t++)
            task_terminal(jm, j, t, RILL_TASK_CANCELED, 0, "");
        return;
    }
    for (int h = 0; h < j->n_held; h++)
        j->held[h]->gw.cancel(j->held[h]->gw.tm, j->id, (uint32_t)j->attempts);
}

static void task_terminal(rill__jobmanager *jm, jm_job *j, int task, rill__task_state state,
                          int rc, const char *msg)
{
    if (task < 0 || task >= j->n_tasks || j->task_done[task])
        return;
    j->task_done[task] = 1;
    j->n_terminal++;
    if (state == RILL_TASK_FAILED) {
        j->n_failed++;
        rill__err_first(&j->err, rc ? rc : RILL_EIO, "%s", msg && *msg ? msg : "task failed");
        rill__log(RILL_LOG_ERROR, "job %llu: task %d failed: %s", (unsigned long long)j->id, task,
                  msg && *msg ? msg : "task failed");
        cancel_locked(jm, j);
    } else if (state == RILL_TASK_CANCELED) {
        j->n_canceled++;
    }
    if (j->n_terminal == j->n_tasks) {
        j->state = j->n_failed ? RILL_JOB_FAILED
                   : (j->n_canceled || j->cancel_sent) ? RILL_JOB_CANCELED
                                                      : RILL_JOB_FINISHED;
        rill__log(RILL_LOG_INFO, "job %llu %s", (unsigned long long)j->id,
                  rill__job_state_name(j->state));
        pthread_cond_broadcast(&jm->cv);
    }
}

/* The whole attempt failed (jm->mu held): a lost TaskManager, a broken data connection, a
 * deployment that did not go through. Tasks not yet ended count as failed with why. */
static void fail_attempt(rill__jobmanager *jm, jm_job *j, int rc, const char *why,
                         int only_held /* -1: every task; else those on held[only_held] */)
{
    /* while the attempt is being canceled anyway, what breaks is its tearing down: the tasks
     * that will not report count as canceled, and the cancel's cause stands */
    bool canceling = j->cancel_sent;
    if (!canceling) {
        rill__err_first(&j->err, rc ? rc : RILL_EIO, "%s", why);
        rill__log(RILL_LOG_ERROR, "job %llu: %s", (unsigned long long)j->id, why);
        cancel_locked(jm, j);
    }
    for (int t = 0; t < j->n_tasks; t++)
        if (only_held < 0 || j->tm_of_task[t] == only_held)
            task_terminal(jm, j, t, canceling ? RILL_TASK_CANCELED : RILL_TASK_FAILED,
                          rc ? rc : RILL_EIO, why);
}

/* Tells the TaskManagers of a checkpoint that has just completed (jm->mu held). */
static void notify_complete(rill__jobmanager *jm, jm_job *j, uint64_t before)
{
    (void)jm;
    uint64_t done = rill__coord_last_completed(j->coord);
    if (done <= before)
        return;
    for (int h = 0; h < j->n_held; h++)
        if (j->held[h]->gw.complete)
            j->held[h]->gw.complete(j->held[h]->gw.tm, j->id, (uint32_t)j->attempts, done);
}

static void trigger_all(jm_job *j, uint64_t id, rill__stop_mode stop, bool savepoint)
{
    for (int h = 0; h < j->n_held; h++)
        if (j->held[h]->gw.trigger)
            j->held[h]->gw.trigger(j->held[h]->gw.tm, j->id, (uint32_t)j->attempts, id, stop,
                                   savepoint);
}

static void on_task_state(void *arg, uint64_t job_id, uint32_t attempt, int task,
                          rill__task_state state, int rc, const char *msg)
{
    rill__jobmanager *jm = arg;
    pthread_mutex_lock(&jm->mu);
    jm_job *j = find_attempt(jm, job_id, attempt);
    if (j && state == RILL_TASK_RUNNING && task >= 0 && task < j->n_tasks &&
        j->n_running < j->n_tasks) /* (once per task and attempt) */
        j->n_running++;
    if (!j || state < RILL_TASK_FINISHED || task < 0 || task >= j->n_tasks ||
        j->task_done[task]) {
        pthread_mutex_unlock(&jm->mu);
        return;
    }
    if (state == RILL_TASK_FINISHED && j->coord) {
        uint64_t before = rill__coord_last_completed(j->coord);
        if (rill__coord_task_finished(j->coord, task, &j->err) < 0)
            cancel_locked(jm, j);
        else
            notify_complete(jm, j, before);
        pthread_cond_broadcast(&jm->cv); /* savepoint waiters */
    }
    task_terminal(jm, j, task, state, rc, msg);
    pthread_mutex_unlock(&jm->mu);
}

static void on_ack(void *arg, uint64_t job_id, uint32_t attempt, int task, uint64_t ckpt_id,
                   int rc, uint64_t bytes, uint64_t full_bytes, int64_t align_ms,
                   const rill__state_usage *usage, const char *file, const char *reason)
{
    rill__jobmanager *jm = arg;
    pthread_mutex_lock(&jm->mu);
    jm_job *j = find_attempt(jm, job_id, attempt);
    if (j && j->coord && j->state == RILL_JOB_RUNNING) {
        uint64_t before = rill__coord_last_completed(j->coord);
        if (rill__coord_ack(j->coord, task, ckpt_id, rc, bytes, full_bytes, align_ms, usage,
                            file, reason, &j->err) < 0)
            cancel_locked(jm, j); /* failed checkpoints past the tolerance fail the job */
        else
            notify_complete(jm, j, before);
        pthread_cond_broadcast(&jm->cv); /* savepoint waiters */
    }
    pthread_mutex_unlock(&jm->mu);
}

static void on_end_of_data(void *arg, uint64_t job_id, uint32_t attempt, int task)
{
    rill__jobmanager *jm = arg;
    pthread_mutex_lock(&jm->mu);
    jm_job *j = find_attempt(jm, job_id, attempt);
    if (j && j->coord && j->state == RILL_JOB_RUNNING && !j->cancel_sent) {
        rill__coord_end_of_data(j->coord, task);
        pthread_cond_broadcast(&jm->cv); /* the waiter triggers the final checkpoint at once */
    }
    pthread_mutex_unlock(&jm->mu);
}

static void on_job_failed(void *arg, uint64_t job_id, uint32_t attempt, int rc, const char *msg)
{
    rill__jobmanager *jm = arg;
    pthread_mutex_lock(&jm->mu);
    jm_job *j = find_attempt(jm, job_id, attempt);
    if (j && j->state == RILL_JOB_RUNNING && !j->cancel_sent)
        fail_attempt(jm, j, rc, msg && *msg ? msg : "a TaskManager failed the job", -1);
    pthread_mutex_unlock(&jm->mu);
}

rill__jm_gateway rill__jm_gateway_local(rill__jobmanager *jm)
{
    return (rill__jm_gateway){.jm = jm,
                              .task_state = on_task_state,
                              .ack = on_ack,
                              .end_of_data = on_end_of_data,
                              .job_failed = on_job_failed};
}

/* ---- deployment ---------------------------------------------------------------------------- */

/* Deploys the current attempt of j, placed already (called with jm->mu held; released while
 * the TaskManagers are called). A failure fails the attempt. */
static void deploy_all(rill__jobmanager *jm, jm_job *j)
{
    rill__exec_graph *g = j->g;
    int n_held = j->n_held;
    uint32_t attempt = (uint32_t)j->attempts;
    rill__tm_gateway *gws = rill__xcalloc((size_t)n_held + 1, sizeof *gws);
    rill__deploy_tm *dtms = rill__xcalloc((size_t)n_held + 1, sizeof *dtms);
    for (int h = 0; h < n_held; h++) {
        jm_tm *t = j->held[h];
        gws[h] = t->gw;
        if (t->remote) {
            memcpy(dtms[h].tm_id, t->reg.tm_id, sizeof dtms[h].tm_id);
            memcpy(dtms[h].data_host, t->reg.data_host, sizeof dtms[h].data_host);
            dtms[h].data_port = t->reg.data_port;
        } else {
            snprintf(dtms[h].tm_id, sizeof dtms[h].tm_id, "local-%llu",
                     (unsigned long long)t->handle);
        }
    }
    int *tm_of_task = rill__xcalloc((size_t)g->n_tasks, sizeof *tm_of_task);
    memcpy(tm_of_task, j->tm_of_task, (size_t)g->n_tasks * sizeof *tm_of_task);
    const rill__restore *restore = j->restore;
    pthread_mutex_unlock(&jm->mu);
    int *tasks = rill__xcalloc((size_t)g->n_tasks, sizeof *tasks);
    int rc = 0;
    rill__err err = {0};
    for (int h = 0; h < n_held && rc == 0; h++) {
        int n = 0;
        for (int t = 0; t < g->n_tasks; t++)
            if (tm_of_task[t] == h)
                tasks[n++] = t;
        rill__deploy_plan plan = {.n_tms = n_held, .tms = dtms, .tm_of_task = tm_of_task,
                                  .self = h};
        if (n > 0)
            rc = gws[h].deploy(gws[h].tm, j->id, attempt, g, tasks, n, &plan, restore, &err);
        if (rc)
            rill__log(RILL_LOG_ERROR, "job '%s': deploying to TaskManager %s failed: %s",
                      g->env->name, dtms[h].tm_id, err.msg);
    }
    free(tasks);
    free(tm_of_task);
    free(dtms);
    free(gws);
    pthread_mutex_lock(&jm->mu);
    if (rc != 0 && (uint32_t)j->attempts == attempt) {
        char why[RILL_ERRMSG_MAX + 32];
        snprintf(why, sizeof why, "deployment failed: %s", err.msg);
        fail_attempt(jm, j, rc, why, -1);
    }
}

/* Starts the attempt when its slots are free (jm->mu held). */
static void try_start(rill__jobmanager *jm, jm_job *j)
{
    if (place(jm, j) != 0)
        return;
    j->waiting = false;
    j->state = RILL_JOB_RUNNING;
    rill__log(RILL_LOG_INFO, "job '%s': attempt %d placed on %d TaskManager%s", j->g->env->name,
              j->attempts, j->n_held, j->n_held == 1 ? "" : "s");
    deploy_all(jm, j);
}

/* Releases the current attempt everywhere and gives its slots back (jm->mu held; released
 * while the TaskManagers wait for their threads). */
static void release_all(rill__jobmanager *jm, jm_job *j)
{
    int n_held = j->n_held;
    uint32_t attempt = (uint32_t)j->attempts;
    rill__tm_gateway *gws = rill__xcalloc((size_t)n_held + 1, sizeof *gws);
    for (int h = 0; h < n_held; h++)
        gws[h] = j->held[h]->gw;
    pthread_mutex_unlock(&jm->mu);
    for (int h = 0; h < n_held; h++)
        gws[h].release(gws[h].tm, j->id, attempt);
    free(gws);
    pthread_mutex_lock(&jm->mu);
    unplace(jm, j);
}

/* Does the checkpoint coordinator's file I/O (commits with their savepoint copies, removal of
 * failed checkpoints) with jm->mu released, so that task reports, heartbeats and REST calls do
 * not wait behind fsyncs and copies (jm->mu held; released while the files are written). Only
 * the job's waiter calls it, the thread that also ticks and restarts the coordinator, so one
 * commit at a time and never during a reset. */
static void coord_io(rill__jobmanager *jm, jm_job *j)
{
    rill__coord_io *io;
    while (j->coord && rill__coord_io_take(j->coord, &io)) {
        uint64_t before = rill__coord_last_completed(j->coord);
        pthread_mutex_unlock(&jm->mu);
        rill__coord_io_run(j->coord, io);
        pthread_mutex_lock(&jm->mu);
        if (rill__coord_io_finish(j->coord, io, &j->err) < 0)
            cancel_locked(jm, j); /* failed checkpoints past the tolerance fail the job */
        else
            notify_complete(jm, j, before);
        pthread_cond_broadcast(&jm->cv); /* savepoint waiters */
    }
}

/* Whether the failed job may restart now, and after how long (the restart strategy). */
static bool may_restart(jm_job *j, int64_t *delay_ms)
{
    rill_env *env = j->g->env;
    int code = j->err.code;
    if (code == RILL_ENOTSUP || code == RILL_ECONFIG || code == RILL_EGRAPH ||
        code == RILL_ECORRUPT || code == RILL_EPARSE || code == RILL_ETYPE) {
        /* the same input or configuration fails the same way again (a malformed record under
         * --bad-records fail, a rescale that cannot be done) */
        rill__log(RILL_LOG_WARN, "job '%s': not restarting: a restart cannot fix this failure",
                  env->name);
        return false;
    }
    /* the default: fixed-delay when the job takes periodic checkpoints, none otherwise */
    int kind = env->restart_kind ? env->restart_kind
                                 : (j->coord && env->ckpt_interval_ms > 0 ? 2 : 1);
    *delay_ms = env->restart_delay_ms;
    switch (kind) {
    case 2: /* fixed-delay */
        return j->attempts < env->restart_attempts;
    case 3: { /* exponential-delay */
        int64_t d = env->restart_delay_ms;
        for (int i = 0; i < j->attempts && d < env->restart_max_delay_ms; i++)
            d *= 2;
        *delay_ms = RILL_MIN(d, env->restart_max_delay_ms);
        return true;
    }
    case 4: { /* failure-rate: at most so many failures in the interval */
        int64_t now = rill__now_ms();
        int kept = 0;
        for (int i = 0; i < j->n_failure_ms; i++)
            if (now - j->failure_ms[i] < env->restart_rate_interval_ms)
                j->failure_ms[kept++] = j->failure_ms[i];
        j->failure_ms = rill__xrealloc(j->failure_ms, (size_t)(kept + 1) * sizeof(int64_t));
        j->failure_ms[kept++] = now;
        j->n_failure_ms = kept;
        return kept <= env->restart_rate_failures;
    }
    default:
        return false;
    }
}

/* --resume found no checkpoint to restore. Starting from the beginning is right for a job that
 * never completed one; but when the directory holds checkpoints this job cannot use (every
 * _metadata unreadable, or only other jobs' checkpoints: a renamed job, a mistyped --name), it
 * would silently repeat output the sinks may have committed. Refused then, unless the user
 * said --allow-fresh-start. (Other jobs' checkpoints do not count in a directory shared by
 * design: the jobs of a `rill sql` session, each under its own name.) */
static int check_fresh_start(rill__coordinator *c, rill_env *env, rill__err *err)
{
    rill__ckpt_store *store = rill__coord_store(c);
    char *unreadable = NULL, *others = NULL;
    size_t n_unreadable = 0, n_others = 0;
    int rc = rill__ckpt_unreadable(store, &unreadable, &n_unreadable, err);
    if (rc == 0 && !env->ckpt_dir_shared)
        rc = rill__ckpt_other_jobs(env->ckpt_dir, env->name, &others, &n_others, err);
    if (rc == 0 && (n_unreadable || n_others)) {
        char found[RILL_ERRMSG_MAX];
        if (n_unreadable)
            snprintf(found, sizeof found, "%zu checkpoint%s whose _metadata cannot be read (%s)",
                     n_unreadable, n_unreadable == 1 ? "" : "s", unreadable);
        else
            snprintf(found, sizeof found, "no checkpoint of job '%s', but checkpoints of %s %s "
                     "in %s (was the job renamed, or is --name wrong?)", env->name,
                     n_others == 1 ? "job" : "jobs", others, env->ckpt_dir);
        if (env->allow_fresh_start) {
            rill__log(RILL_LOG_WARN, "job '%s': --resume: %s holds %s; starting from the "
                      "beginning (--allow-fresh-start)", env->name, rill__ckpt_store_dir(store),
                      found);
        } else {
            rc = rill__err_set(err, RILL_ECONFIG, "--resume: %s holds %s; not starting from the "
                               "beginning, which could repeat output already committed (pass "
                               "--allow-fresh-start to start over anyway)",
                               rill__ckpt_store_dir(store), found);
        }
    }
    free(unreadable);
    free(others);
    return rc;
}

/* The newest completed checkpoint in the coordinator's store that loads whole (a checkpoint
 * whose metadata or task data is damaged or missing is skipped, with the reason logged, for
 * the one before it); NULL when there is none: the job starts from the beginning (for the
 * --resume of a job submitted, resume_env: only when check_fresh_start allows it). */
static int load_latest(rill__coordinator *c, const char *job, rill_env *resume_env,
                       rill__restore **out, rill__err *err)
{
    *out = NULL;
    rill__ckpt_store *store = rill__coord_store(c);
    int64_t id, t0 = rill__mono_ns();
    void *meta = NULL;
    size_t len;
    int rc = rill__ckpt_latest(store, &id, &meta, &len, err); /* skips damaged metadata */
    if (rc == RILL_ENOENT || (rc == 0 && !meta)) {
        free(meta);
        if (resume_env && (rc = check_fresh_start(c, resume_env, err)) != 0)
            return rc;
        rill__log(RILL_LOG_WARN, "job '%s': no completed checkpoint in %s: starting from the "
                  "beginning", job, rill__ckpt_store_dir(store));
        return 0;
    }
    if (rc)
        return rc;
    int64_t *ids = NULL;
    size_t n = 0;
    rill__err e = {0};
    rill__ckpt_list(store, &ids, &n, &e);
    for (;;) {
        rc = rill__restore_load(store, id, meta, len, out, err);
        free(meta);
        meta = NULL;
        if (rc == 0) {
            rill__log(RILL_LOG_INFO, "job '%s': restoring checkpoint %lld (read and verified in "
                      "%lld ms)", job, (long long)id, (long long)((rill__mono_ns() - t0) / 1000000));
            break;
        }
        /* a data file that is damaged or gone: that checkpoint cannot be restored, the one
         * before it may (an I/O error or permissions may pass: not skipped, see restart) */
        if (rc != RILL_ECORRUPT && rc != -ENOENT && rc != -ENOTDIR)
            break;
        rill__log(RILL_LOG_WARN, "job '%s': skipping checkpoint %lld: %s", job, (long long)id,
                  err->msg);
        int64_t prev = -1; /* the newest completed checkpoint older than id */
        for (size_t i = 0; i < n; i++)
            if (ids[i] < id && ids[i] > prev)
                prev = ids[i];
        if (prev < 0)
            break; /* nothing older to fall back to: the error stands */
        id = prev;
        if ((rc = rill__ckpt_read_meta(store, id, &meta, &len, err)) != 0)
            break;
    }
    free(ids);
    return rc;
}

/* Every operator uid with state in rs must be in the job, unless the job allows state to be
 * left behind (--allow-non-restored-state). */
static int check_restored_uids(rill__exec_graph *g, const rill__restore *rs, rill__err *err)
{
    rill_env *env = g->env;
    for (size_t i = 0;; i++) {
        const char *uid = rill__restore_uid(rs, i);
        if (!uid)
            return 0;
        bool found = false;
        for (size_t n = 0; n < env->n_nodes && !found; n++)
            found = !strcmp(env->nodes[n]->uid, uid);
        /* a SQL operator's uid ends in '#' and a digest of its definition: the same operator
         * changed so that its state no longer fits */
        const char *hash = strrchr(uid, '#');
        const char *changed = NULL;
        for (size_t n = 0; n < env->n_nodes && !found && hash && !changed; n++) {
            const char *u = env->nodes[n]->uid, *h = strrchr(u, '#');
            if (h && h - u == hash - uid && !strncmp(u, uid, (size_t)(hash - uid)))
                changed = u;
        }
        if (!found && changed && !env->allow_non_restored)
            return rill__err_set(err, RILL_ECONFIG,
                                 "the state of operator '%.*s' in the checkpoint or savepoint "
                                 "does not fit the query any more: its keys, aggregates (or "
                                 "the expressions computing them), window or connector changed "
                                 "(%s in the savepoint, %s now), so "
                                 "it cannot be restored (pass --allow-non-restored-state to "
                                 "start that operator empty and keep the others' state)",
                                 (int)(hash - uid), uid, hash, strrchr(changed, '#'));
        if (!found && !env->allow_non_restored)
            return rill__err_set(err, RILL_ECONFIG,
                                 "the checkpoint or savepoint has state for operator '%s', which "
                                 "this job does not have (give operators stable uids, or pass "
                                 "--allow-non-restored-state to drop that state)", uid);
        if (!found)
            rill__log(RILL_LOG_WARN, "job '%s': dropping the state of operator '%s', which the "
                      "job does not have", env->name, uid);
    }
}

/* Whether the job was canceled (by the REST API, or the waiter's flag: Ctrl-C) (jm->mu held). */
static bool cancel_requested(const jm_job *j, const atomic_bool *cancel_flag)
{
    return j->user_cancel || (cancel_flag && atomic_load(cancel_flag));
}

/* The failed attempt of j is released and the job runs again from its newest completed
 * checkpoint, on the slots free then (jm->mu held; released while the old tasks are joined,
 * waited on during the restart delay, and released while the checkpoint is loaded). A cancel
 * during the delay ends it at once, and the job is CANCELED. A checkpoint that cannot be loaded
 * now (an I/O error) fails this attempt too: the restart strategy decides whether to try again
 * after its delay, as for any failure. 0, or an error in j->err. */
static int restart(rill__jobmanager *jm, jm_job *j, int64_t delay_ms,
                   const atomic_bool *cancel_flag)
{
    char why[RILL_ERRMSG_MAX];
    snprintf(why, sizeof why, "%s", j->err.msg);
    snprintf(j->last_failure, sizeof j->last_failure, "%s", why);
    j->state = RILL_JOB_RESTARTING;
    release_all(jm, j);
    rill__err err = {0};
    int rc;
    rill__restore *rs = NULL;
    for (;;) {
        j->attempts++;
        rill__metric_set(&j->g->env->jmetrics.restarts, j->attempts);
        rill__log(RILL_LOG_WARN, "job '%s' failed: %s; restarting (attempt %d) in %lld ms",
                  j->g->env->name, why, j->attempts, (long long)delay_ms);
        int64_t until = rill__mono_ns() + delay_ms * 1000000;
        for (int64_t now; !cancel_requested(j, cancel_flag) && (now = rill__mono_ns()) < until;)
            rill__cond_wait_ms(&jm->cv, &jm->mu, RILL_MIN(20, (until - now) / 1000000 + 1));
        rc = 0;
        if (cancel_requested(j, cancel_flag))
            break;
        pthread_mutex_unlock(&jm->mu);
        if (j->coord)
            rc = load_latest(j->coord, j->g->env->name, NULL, &rs, &err);
        if (rc == 0 && !rs && j->coord && rill__coord_last_completed(j->coord) > 0)
            rc = rill__err_set(&err, RILL_ECORRUPT,
                               "checkpoints completed in %s, but none of them can be loaded "
                               "now: not starting again from the beginning (that would repeat "
                               "output)", rill__ckpt_store_dir(rill__coord_store(j->coord)));
        pthread_mutex_lock(&jm->mu);
        if (rc == 0 || cancel_requested(j, cancel_flag))
            break;
        /* the restart itself failed: a failure like any other, for the restart strategy */
        rill__err_set(&j->err, rc, "restart failed: %s", err.msg);
        snprintf(why, sizeof why, "%s", j->err.msg);
        snprintf(j->last_failure, sizeof j->last_failure, "%s", why);
        if (!may_restart(j, &delay_ms))
            break;
        memset(&j->err, 0, sizeof j->err);
    }
    if (rs) { /* else: no checkpoint yet, so the attempt starts where the job started (its
               * savepoint or resumed checkpoint, or the beginning) */
        rill__restore_free(j->restore);
        j->restore = rs;
    }
    j->n_terminal = j->n_failed = j->n_canceled = j->n_running = 0;
    memset(j->task_done, 0, (size_t)j->n_tasks);
    j->cancel_sent = false;
    if (j->coord)
        rill__coord_reset(j->coord);
    if (cancel_requested(j, cancel_flag)) { /* canceled during the restart: not a failure */
        memset(&j->err, 0, sizeof j->err);
        j->state = RILL_JOB_CANCELED;
        j->n_terminal = j->n_tasks;
        return RILL_ECANCELED;
    }
    if (rc != 0) { /* j->err says why: the restart strategy allows no more */
        j->state = RILL_JOB_FAILED;
        j->n_terminal = j->n_tasks;
        return rc;
    }
    memset(&j->err, 0, sizeof j->err);
    /* placed and deployed by the waiter's loop, once slots are free (RESTARTING until then) */
    j->waiting = true;
    try_start(jm, j);
    return 0;
}

int rill__jm_submit(rill__jobmanager *jm, rill__exec_graph *g, uint64_t *job_id, rill__err *err)
{
    pthread_mutex_lock(&jm->mu);
    int total_slots = 0;
    for (int i = 0; i < jm->n_tms; i++)
        total_slots += jm->tms[i]->alive ? jm->tms[i]->gw.slots : 0;
    if (total_slots < g->max_vertex_p && !jm->wait_for_slots) {
        pthread_mutex_unlock(&jm->mu);
        return rill__err_set(err, RILL_ELIMIT,
                             "the job needs %d slots (its largest parallelism) but the cluster "
                             "has %d", g->max_vertex_p, total_slots);
    }
    /* the checkpoint directory and what to restore are read without the lock: a large
     * checkpoint takes a while to read and verify, and the job is nobody else's yet */
    pthread_mutex_unlock(&jm->mu);
    jm_job *j = rill__xcalloc(1, sizeof *j);
    int rc = 0;
    if (rill__env_checkpointing(g->env)) {
        /* periodic checkpoints, or savepoints on request through the REST API */
        rc = rill__coord_new(g->env, g, &j->coord, err);
        if (rc == 0)
            rill__coord_defer_io(j->coord); /* commits are done by the waiter, unlocked */
        if (rc == 0 && g->env->resume)
            rc = load_latest(j->coord, g->env->name, g->env->from_savepoint ? NULL : g->env,
                             &j->restore, err);
    } else if (g->env->resume) {
        rc = rill__err_set(err, RILL_ECONFIG,
                           "--resume needs checkpointing (--checkpoint-dir and "
                           "--checkpoint-interval)");
    }
    if (rc == 0 && g->env->from_savepoint) {
        rill__restore_free(j->restore); /* a savepoint wins over --resume */
        j->restore = NULL;
        rc = rill__restore_load_dir(g->env->from_savepoint, &j->restore, err);
        if (rc == 0)
            rill__log(RILL_LOG_INFO, "job '%s': restoring savepoint %s", g->env->name,
                      g->env->from_savepoint);
    }
    if (rc == 0 && j->restore)
        rc = check_restored_uids(g, j->restore, err);
    if (rc) {
        rill__restore_free(j->restore);
        rill__coord_free(j->coord);
        free(j);
        return rc;
    }
    pthread_mutex_lock(&jm->mu);
    j->id = jm->next_id++;
    j->g = g;
    snprintf(j->name, sizeof j->name, "%s", g->env->name);
    j->start_ms = rill__now_ms();
    j->end_ms = -1;
    j->n_tasks = g->n_tasks;
    j->tm_of_task = rill__xcalloc((size_t)g->n_tasks, sizeof *j->tm_of_task);
    j->task_done = rill__xcalloc((size_t)g->n_tasks, 1);
    j->state = RILL_JOB_CREATED;
    j->waiting = true;
    jm->jobs = rill__xrealloc(jm->jobs, (size_t)(jm->n_jobs + 1) * sizeof *jm->jobs);
    jm->jobs[jm->n_jobs++] = j;
    *job_id = j->id;
    try_start(jm, j);
    if (j->waiting)
        rill__log(RILL_LOG_WARN, "job '%s' (%llu): %s", g->env->name,
                  (unsigned long long)j->id, j->status);
    pthread_mutex_unlock(&jm->mu);
    return 0;
}

void rill__jm_cancel(rill__jobmanager *jm, uint64_t job_id)
{
    pthread_mutex_lock(&jm->mu);
    jm_job *j = find_job(jm, job_id);
    if (j && (j->state == RILL_JOB_RUNNING || j->state == RILL_JOB_CREATED ||
              j->state == RILL_JOB_RESTARTING)) {
        j->user_cancel = true;
        cancel_locked(jm, j);
        pthread_cond_broadcast(&jm->cv); /* a restart waiting out its delay ends now */
    }
    pthread_mutex_unlock(&jm->mu);
}

int rill__jm_wait(rill__jobmanager *jm, uint64_t job_id, const atomic_bool *cancel_flag,
                  rill__err *err)
{
    pthread_mutex_lock(&jm->mu);
    jm_job *j = find_job(jm, job_id);
    if (!j) {
        pthread_mutex_unlock(&jm->mu);
        return rill__err_set(err, RILL_ENOENT, "no job %llu", (unsigned long long)job_id);
    }
again:
    while (j->n_terminal < j->n_tasks) {
        if (cancel_flag && atomic_load(cancel_flag) && !j->cancel_sent) {
            rill__log(RILL_LOG_WARN, "job %llu: canceling on request", (unsigned long long)job_id);
            j->user_cancel = true;
            cancel_locked(jm, j);
            continue;
        }
        if (j->waiting) {
            try_start(jm, j);
        } else if (j->coord && !j->cancel_sent && j->n_running == j->n_tasks) {
            int crc;
            bool stop; /* the final checkpoint: the sources end once it has completed */
            uint64_t id = rill__coord_tick(j->coord, rill__now_ms(), &stop, &j->err, &crc);
            if (crc < 0)
                cancel_locked(jm, j);
            if (id)
                trigger_all(j, id, stop ? RILL_STOP_DRAIN : RILL_STOP_NONE, false);
        }
        coord_io(jm, j);
        if (j->n_terminal == j->n_tasks)
            break;
        rill__cond_wait_ms(&jm->cv, &jm->mu, j->coord || j->waiting ? 10 : 100);
    }
    coord_io(jm, j); /* what the last acknowledgements and failures left to do */
    if (j->err.code && j->state == RILL_JOB_CANCELED)
        j->state = RILL_JOB_FAILED;
    int64_t delay;
    if (j->state == RILL_JOB_FAILED && !j->user_cancel &&
        !(cancel_flag && atomic_load(cancel_flag)) && may_restart(j, &delay)) {
        if (restart(jm, j, delay, cancel_flag) == 0)
            goto again;
    }
    release_all(jm, j);
    if (j->coord) /* another run of the job may use the directory now */
        rill__ckpt_store_unlock(rill__coord_store(j->coord));
    j->g = NULL; /* the caller frees it: what the REST API shows of the job stays */
    j->end_ms = rill__now_ms();
    pthread_mutex_unlock(&jm->mu);
    if (j->err.code && j->state == RILL_JOB_CANCELED)
        j->state = RILL_JOB_FAILED; /* canceled because of a failure (a checkpoint's, say) */
    switch (j->state) {
    case RILL_JOB_FINISHED:
        return 0;
    case RILL_JOB_CANCELED:
        return rill__err_set(err, RILL_ECANCELED, "job canceled");
    default:
        return rill__err_set(err, j->err.code ? j->err.code : RILL_EIO, "%s", j->err.msg);
    }
}

void rill__jm_set_runner(rill__jobmanager *jm, const rill__jm_runner *runner)
{
    pthread_mutex_lock(&jm->mu);
    jm->runner = *runner;
    pthread_mutex_unlock(&jm->mu);
}

rill__jar_store *rill__jm_jars(rill__jobmanager *jm)
{
    pthread_mutex_lock(&jm->mu);
    rill__jar_store *s = jm->runner.jars;
    pthread_mutex_unlock(&jm->mu);
    return s;
}

int rill__jm_run(rill__jobmanager *jm, const rill__run_request *rq, uint64_t *job_id,
                 rill__err *err)
{
    pthread_mutex_lock(&jm->mu);
    rill__jm_runner runner = jm->runner;
    pthread_mutex_unlock(&jm->mu);
    if (!runner.run)
        return rill__err_set(err, RILL_ENOTSUP,
                             "this JobManager runs no uploaded jobs (it is a `rill run` "
                             "mini-cluster; start `rill jobmanager` for that)");
    return runner.run(runner.arg, rq, job_id, err);
}

/* ---- what the REST API asks --------------------------------------------------------------- */

int rill__jm_jobs(rill__jobmanager *jm, rill__job_info **out, size_t *n_out)
{
    pthread_mutex_lock(&jm->mu);
    rill__job_info *v = rill__xcalloc((size_t)jm->n_jobs + 1, sizeof *v);
    for (int i = 0; i < jm->n_jobs; i++) {
        jm_job *j = jm->jobs[i];
        v[i].id = j->id;
        snprintf(v[i].name, sizeof v[i].name, "%s", j->name);
        v[i].state = j->state;
        v[i].restarts = j->attempts;
        v[i].n_tasks = j->n_tasks;
        v[i].last_checkpoint = j->coord ? rill__coord_last_completed(j->coord) : 0;
        snprintf(v[i].status, sizeof v[i].status, "%s", j->waiting ? j->status : "");
        v[i].start_ms = j->start_ms;
        v[i].end_ms = j->end_ms;
        snprintf(v[i].error, sizeof v[i].error, "%s", j->err.msg[0] ? j->err.msg : j->last_failure);
    }
    *n_out = (size_t)jm->n_jobs;
    pthread_mutex_unlock(&jm->mu);
    *out = v;
    return 0;
}

int rill__jm_taskmanagers(rill__jobmanager *jm, rill__tm_info **out, size_t *n_out)
{
    pthread_mutex_lock(&jm->mu);
    rill__tm_info *v = rill__xcalloc((size_t)jm->n_tms + 1, sizeof *v);
    int64_t now = rill__mono_ns();
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++) /* those in this process first, then the remote ones */
        for (int i = 0; i < jm->n_tms; i++) {
            const jm_tm *t = jm->tms[i];
            if (t->remote != (pass == 1) || !t->alive)
                continue;
            rill__tm_info *o = &v[n];
            o->index = (int)n++;
            o->slots = t->gw.slots;
            o->free_slots = free_slots(t);
            o->data_port = -1; /* TaskManagers in this process exchange data without a port */
            if (t->remote) {
                o->data_port = t->reg.data_port;
                o->remote = true;
                memcpy(o->id, t->reg.tm_id, sizeof o->id);
                memcpy(o->address, t->reg.data_host, sizeof o->address);
                o->since_heartbeat_ms = (now - t->last_heartbeat_ns) / 1000000;
            }
        }
    *n_out = n;
    pthread_mutex_unlock(&jm->mu);
    *out = v;
    return 0;
}

/* Removes TaskManager t (jm->mu held): the attempts on it fail over. */
static void tm_lost(rill__jobmanager *jm, jm_tm *t, const char *why)
{
    t->alive = false;
    for (int i = 0; i < jm->n_jobs; i++) {
        jm_job *j = jm->jobs[i];
        if (j->state != RILL_JOB_RUNNING || j->waiting)
            continue;
        for (int h = 0; h < j->n_held; h++)
            if (j->held[h] == t) {
                char msg[RILL_ERRMSG_MAX];
                snprintf(msg, sizeof msg, "TaskManager %s (%s:%u) was lost: %s", t->reg.tm_id,
                         t->reg.data_host, t->reg.data_port, why);
                fail_attempt(jm, j, RILL_EIO, msg, h);
            }
    }
    tm_reap(jm, t);
    pthread_cond_broadcast(&jm->cv);
}

void rill__jm_remote_tm_add(rill__jobmanager *jm, const rill__msg_register_tm *m,
                            const rill__tm_gateway *gw, uint64_t *handle_out,
                            uint64_t *replaced_out)
{
    pthread_mutex_lock(&jm->mu);
    uint64_t replaced = 0;
    for (int i = 0; i < jm->n_tms; i++)
        if (jm->tms[i]->remote && jm->tms[i]->alive && !strcmp(jm->tms[i]->reg.tm_id, m->tm_id)) {
            replaced = jm->tms[i]->handle;
            tm_lost(jm, jm->tms[i], "it registered again on a new connection");
            break;
        }
    jm_tm *t = tm_add(jm, gw, true);
    t->reg = *m;
    *handle_out = t->handle;
    if (replaced_out)
        *replaced_out = replaced;
    pthread_mutex_unlock(&jm->mu);
}

static jm_tm *find_tm(rill__jobmanager *jm, uint64_t handle)
{
    for (int i = 0; i < jm->n_tms; i++)
        if (jm->tms[i]->handle == handle && jm->tms[i]->alive)
            return jm->tms[i];
    return NULL;
}

void rill__jm_remote_tm_seen(rill__jobmanager *jm, uint64_t handle)
{
    pthread_mutex_lock(&jm->mu);
    jm_tm *t = find_tm(jm, handle);
    if (t)
        t->last_heartbeat_ns = rill__mono_ns();
    pthread_mutex_unlock(&jm->mu);
}

void rill__jm_remote_tm_metrics(rill__jobmanager *jm, uint64_t handle, rill__prom_set *set)
{
    pthread_mutex_lock(&jm->mu);
    jm_tm *t = find_tm(jm, handle);
    if (t) {
        rill__prom_set_free(t->metrics);
        t->metrics = set;
        set = NULL;
    }
    pthread_mutex_unlock(&jm->mu);
    rill__prom_set_free(set);
}

void rill__jm_write_tm_metrics(rill__jobmanager *jm, rill__prom_set *local, rill__buf *out)
{
    pthread_mutex_lock(&jm->mu);
    rill__prom_set **sets = rill__xcalloc((size_t)jm->n_tms + 1, sizeof *sets);
    int n = 0;
    sets[n++] = local;
    for (int i = 0; i < jm->n_tms; i++)
        if (jm->tms[i]->alive && jm->tms[i]->metrics)
            sets[n++] = jm->tms[i]->metrics;
    rill__prom_write_sets(out, sets, n);
    pthread_mutex_unlock(&jm->mu);
    free(sets);
}

void rill__jm_remote_tm_remove(rill__jobmanager *jm, uint64_t handle, const char *why)
{
    pthread_mutex_lock(&jm->mu);
    jm_tm *t = find_tm(jm, handle);
    if (t)
        tm_lost(jm, t, why && *why ? why : "its connection ended");
    pthread_mutex_unlock(&jm->mu);
}

int rill__jm_find(rill__jobmanager *jm, const char *id_or_name, uint64_t *job_id_out)
{
    pthread_mutex_lock(&jm->mu);
    int64_t num = -1;
    if (rill__parse_i64(id_or_name, strlen(id_or_name), &num) != 0)
        num = -1;
    int rc = RILL_ENOENT;
    for (int i = jm->n_jobs - 1; i >= 0 && rc; i--) /* the newest job of a name wins */
        if ((num >= 0 && jm->jobs[i]->id == (uint64_t)num) ||
            !strcmp(jm->jobs[i]->name, id_or_name)) {
            *job_id_out = jm->jobs[i]->id;
            rc = 0;
        }
    pthread_mutex_unlock(&jm->mu);
    return rc;
}

int rill__jm_checkpoint_stats(rill__jobmanager *jm, uint64_t job_id, rill__ckpt_stats **out,
                              size_t *n_out, rill__op_state **ops_out, size_t *n_ops_out,
                              rill__err *err)
{
    *out = NULL;
    *n_out = 0;
    *ops_out = NULL;
    *n_ops_out = 0;
    pthread_mutex_lock(&jm->mu);
    jm_job *j = find_job(jm, job_id);
    int rc = 0;
    if (!j)
        rc = rill__err_set(err, RILL_ENOENT, "no job %llu", (unsigned long long)job_id);
    else if (!j->coord)
        rc = rill__err_set(err, RILL_ENOTSUP, "job '%s' runs without checkpoints", j->name);
    else { /* (both arrays are NULL before the first checkpoint) */
        const rill__ckpt_stats *st = rill__coord_stats(j->coord, n_out);
        *out = rill__xcalloc(*n_out + 1, sizeof **out);
        if (*n_out)
            memcpy(*out, st, *n_out * sizeof *st);
        const rill__op_state *ops = rill__coord_op_state(j->coord, n_ops_out);
        *ops_out = rill__xcalloc(*n_ops_out + 1, sizeof **ops_out);
        if (*n_ops_out)
            memcpy(*ops_out, ops, *n_ops_out * sizeof *ops);
    }
    pthread_mutex_unlock(&jm->mu);
    return rc;
}

int rill__jm_savepoint(rill__jobmanager *jm, uint64_t job_id, const char *dir,
                       rill__stop_mode stop, int64_t timeout_ms, char **location_out,
                       rill__err *err)
{
    *location_out = NULL;
    if (!dir || !*dir)
        return rill__err_set(err, RILL_EINVAL, "savepoint: no target directory given");
    pthread_mutex_lock(&jm->mu);
    jm_job *j = find_job(jm, job_id);
    int rc = 0;
    if (!j)
        rc = rill__err_set(err, RILL_ENOENT, "no job %llu", (unsigned long long)job_id);
    else if (!j->coord)
        rc = rill__err_set(err, RILL_ENOTSUP,
                           "job '%s' cannot take savepoints: it runs without a checkpoint "
                           "directory (--checkpoint-dir)", j->name);
    else if (j->state != RILL_JOB_RUNNING)
        rc = rill__err_set(err, RILL_EPERM, "job '%s' is %s", j->name,
                           rill__job_state_name(j->state));
    /* a TaskManager still building its part of the attempt would drop the trigger: wait (up to
     * the timeout) until every task runs, as periodic checkpoints do */
    int64_t deadline = rill__now_ms() + timeout_ms;
    while (rc == 0 && j->n_running < j->n_tasks) {
        if (j->state != RILL_JOB_RUNNING || rill__now_ms() >= deadline) {
            rc = rill__err_set(err, RILL_EPERM, "job '%s' is %s: not every task runs yet",
                               j->name, j->waiting ? "waiting for slots"
                                                   : rill__job_state_name(j->state));
            break;
        }
        rill__cond_wait_ms(&jm->cv, &jm->mu, 20);
    }
    uint64_t id = 0;
    if (rc == 0 &&
        (id = rill__coord_trigger_savepoint(j->coord, dir, stop != RILL_STOP_NONE, err)) == 0)
        rc = err->code ? err->code : RILL_EIO;
    if (rc == 0)
        trigger_all(j, id, stop, true);
    bool withdraw = false; /* the savepoint failed: a stop must not happen */
    while (rc == 0) {
        int r = rill__coord_savepoint_result(j->coord, id, location_out, err);
        if (r < 0) {
            rc = r;
            withdraw = true;
        }
        if (r != 0)
            break;
        if (j->state != RILL_JOB_RUNNING) {
            rc = rill__err_set(err, RILL_ECANCELED, "savepoint %llu: the job ended first",
                               (unsigned long long)id);
            break;
        }
        if (rill__now_ms() >= deadline) {
            rc = rill__err_set(err, RILL_EIO, "savepoint %llu: timed out after %lld ms",
                               (unsigned long long)id, (long long)timeout_ms);
            rill__coord_abort_savepoint(j->coord, id, err->msg); /* it must not complete now */
            withdraw = true;
            break;
        }
        rill__cond_wait_ms(&jm->cv, &jm->mu, 50);
    }
    if (withdraw && stop != RILL_STOP_NONE) {
        /* Flink's rule: a stop whose savepoint failed does not stop the job */
        for (int h = 0; h < j->n_held; h++)
            if (j->held[h]->gw.abort_stop)
                j->held[h]->gw.abort_stop(j->held[h]->gw.tm, job_id, (uint32_t)j->attempts, id);
        char why[RILL_ERRMSG_MAX];
        snprintf(why, sizeof why, "%s", err->msg);
        if (stop == RILL_STOP_DRAIN)
            rill__err_set(err, rc, "stop-with-savepoint of job '%s' failed: %s; the end of event "
                          "time had been sent (--drain), so the job fails over to its latest "
                          "checkpoint", j->name, why);
        else
            rill__err_set(err, rc, "stop-with-savepoint of job '%s' failed: %s; the job goes on "
                          "running", j->name, why);
    }
    pthread_mutex_unlock(&jm->mu);
    return rc;
}
