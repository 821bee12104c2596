/* jobmanager.c - cluster layer: the JobManager. Schedules an execution graph onto TaskManager
 * slots, deploys it through their gateways, follows task states, cancels everything on the
 * first failure, and reports the job's end. Restart strategies come with checkpoints. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster.h"

typedef struct jm_job {
    uint64_t id;
    rill__exec_graph *g;
    rill__job_state state;
    int n_tasks, n_terminal, n_failed, n_canceled;
    int *tm_of_task; /* TaskManager index per task */
    rill__err err;   /* the first failure */
    bool cancel_sent;
    rill__coordinator *coord; /* checkpointing on */
    rill__restore *restore;   /* the checkpoint the current attempt started from */
    int attempts;             /* restarts so far */
    int64_t *failure_ms;      /* failure-rate: when the recent failures happened */
    int n_failure_ms;
} jm_job;

/* A TaskManager process registered over the control protocol (jmserver.c). */
typedef struct jm_remote_tm {
    uint64_t handle;
    rill__msg_register_tm reg;
    int64_t last_heartbeat_ns; /* monotonic */
} jm_remote_tm;

struct rill__jobmanager {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rill__tm_gateway *tms;
    int n_tms;
    jm_remote_tm *remote; /* registration order */
    int n_remote;
    uint64_t next_handle;
    jm_job **jobs;
    int n_jobs;
    uint64_t next_id;
    rill__jm_runner runner; /* a JobManager process: runs uploaded job objects */
};

const char *rill__job_state_name(rill__job_state s)
{
    static const char *names[] = {"CREATED", "RUNNING", "FINISHED", "FAILED", "CANCELED"};
    return s <= RILL_JOB_CANCELED ? names[s] : "?";
}

rill__jobmanager *rill__jm_new(void)
{
    rill__jobmanager *jm = rill__xcalloc(1, sizeof *jm);
    pthread_mutex_init(&jm->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&jm->cv, &ca);
    pthread_condattr_destroy(&ca);
    jm->next_id = 1;
    return jm;
}

void rill__jm_free(rill__jobmanager *jm)
{
    if (!jm)
        return;
    for (int i = 0; i < jm->n_jobs; i++) {
        rill__coord_free(jm->jobs[i]->coord);
        rill__restore_free(jm->jobs[i]->restore);
        free(jm->jobs[i]->failure_ms);
        free(jm->jobs[i]->tm_of_task);
        free(jm->jobs[i]);
    }
    free(jm->jobs);
    free(jm->tms);
    free(jm->remote);
    pthread_mutex_destroy(&jm->mu);
    pthread_cond_destroy(&jm->cv);
    free(jm);
}

int rill__jm_register_tm(rill__jobmanager *jm, const rill__tm_gateway *tm)
{
    pthread_mutex_lock(&jm->mu);
    jm->tms = rill__xrealloc(jm->tms, (size_t)(jm->n_tms + 1) * sizeof *jm->tms);
    jm->tms[jm->n_tms++] = *tm;
    pthread_mutex_unlock(&jm->mu);
    return 0;
}

static jm_job *find_job(rill__jobmanager *jm, uint64_t id)
{
    for (int i = 0; i < jm->n_jobs; i++)
        if (jm->jobs[i]->id == id)
            return jm->jobs[i];
    return NULL;
}

/* With jm->mu held. */
static void cancel_locked(rill__jobmanager *jm, jm_job *j)
{
    if (j->cancel_sent)
        return;
    j->cancel_sent = true;
    for (int i = 0; i < jm->n_tms; i++)
        jm->tms[i].cancel(jm->tms[i].tm, j->id);
}

/* Tells the TaskManagers of a checkpoint that has just completed (jm->mu held). */
static void notify_complete(rill__jobmanager *jm, jm_job *j, uint64_t before)
{
    uint64_t done = rill__coord_last_completed(j->coord);
    if (done <= before)
        return;
    for (int i = 0; i < jm->n_tms; i++)
        if (jm->tms[i].complete)
            jm->tms[i].complete(jm->tms[i].tm, j->id, done);
}

static void on_task_state(void *arg, uint64_t job_id, int task, rill__task_state state, int rc,
                          const char *msg)
{
    rill__jobmanager *jm = arg;
    pthread_mutex_lock(&jm->mu);
    jm_job *j = find_job(jm, job_id);
    if (!j || state < RILL_TASK_FINISHED) {
        pthread_mutex_unlock(&jm->mu);
        return;
    }
    j->n_terminal++;
    if (state == RILL_TASK_FINISHED && j->coord) {
        uint64_t before = rill__coord_last_completed(j->coord);
        if (rill__coord_task_finished(j->coord, task, &j->err) < 0)
            cancel_locked(jm, j);
        else
            notify_complete(jm, j, before);
        pthread_cond_broadcast(&jm->cv); /* savepoint waiters */
    }
    if (state == RILL_TASK_FAILED) {
        j->n_failed++;
        rill__err_first(&j->err, rc ? rc : RILL_EIO, "%s", msg && *msg ? msg : "task failed");
        rill__log(RILL_LOG_ERROR, "job %llu: task %d failed: %s", (unsigned long long)job_id,
                  task, j->err.msg);
        cancel_locked(jm, j);
    } else if (state == RILL_TASK_CANCELED) {
        j->n_canceled++;
    }
    if (j->n_terminal == j->n_tasks) {
        j->state = j->n_failed ? RILL_JOB_FAILED
                   : (j->n_canceled || j->cancel_sent) ? RILL_JOB_CANCELED
                                                      : RILL_JOB_FINISHED;
        rill__log(RILL_LOG_INFO, "job %llu %s", (unsigned long long)job_id,
                  rill__job_state_name(j->state));
        pthread_cond_broadcast(&jm->cv);
    }
    pthread_mutex_unlock(&jm->mu);
}

static void on_ack(void *arg, uint64_t job_id, int task, uint64_t ckpt_id, int rc,
                   uint64_t bytes, int64_t align_ms, const char *file, const char *reason)
{
    rill__jobmanager *jm = arg;
    pthread_mutex_lock(&jm->mu);
    jm_job *j = find_job(jm, job_id);
    if (j && j->coord && j->state == RILL_JOB_RUNNING) {
        uint64_t before = rill__coord_last_completed(j->coord);
        if (rill__coord_ack(j->coord, task, ckpt_id, rc, bytes, align_ms, file, reason,
                            &j->err) < 0)
            cancel_locked(jm, j); /* failed checkpoints past the tolerance fail the job */
        else
            notify_complete(jm, j, before);
        pthread_cond_broadcast(&jm->cv); /* savepoint waiters */
    }
    pthread_mutex_unlock(&jm->mu);
}

static void on_end_of_data(void *arg, uint64_t job_id, int task)
{
    rill__jobmanager *jm = arg;
    pthread_mutex_lock(&jm->mu);
    jm_job *j = find_job(jm, job_id);
    if (j && j->coord && j->state == RILL_JOB_RUNNING && !j->cancel_sent) {
        rill__coord_end_of_data(j->coord, task);
        pthread_cond_broadcast(&jm->cv); /* the waiter triggers the final checkpoint at once */
    }
    pthread_mutex_unlock(&jm->mu);
}

rill__jm_gateway rill__jm_gateway_local(rill__jobmanager *jm)
{
    return (rill__jm_gateway){.jm = jm,
                              .task_state = on_task_state,
                              .ack = on_ack,
                              .end_of_data = on_end_of_data};
}

/* Deploys every task of j on the TaskManagers its slots are on (without jm->mu held). */
static int deploy_all(rill__jobmanager *jm, jm_job *j, int n_tms, rill__err *err)
{
    rill__exec_graph *g = j->g;
    int *tasks = rill__xcalloc((size_t)g->n_tasks, sizeof *tasks);
    int rc = 0;
    for (int i = 0; i < n_tms && rc == 0; i++) {
        int n = 0;
        for (int t = 0; t < g->n_tasks; t++)
            if (j->tm_of_task[t] == i)
                tasks[n++] = t;
        if (n > 0)
            rc = jm->tms[i].deploy(jm->tms[i].tm, j->id, g, tasks, n, j->restore, err);
    }
    free(tasks);
    return rc;
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

/* The newest completed checkpoint in the coordinator's store that loads whole (a checkpoint
 * whose metadata or task data is damaged is skipped, with the reason logged, for the one before
 * it); NULL when there is none: the job starts from the beginning. */
static int load_latest(rill__coordinator *c, const char *job, rill__restore **out,
                       rill__err *err)
{
    *out = NULL;
    rill__ckpt_store *store = rill__coord_store(c);
    int64_t id, t0 = rill__mono_ns();
    void *meta = NULL;
    size_t len;
    int rc = rill__ckpt_latest(store, &id, &meta, &len, err); /* skips damaged metadata */
    if (rc == RILL_ENOENT || (rc == 0 && !meta)) {
        rill__log(RILL_LOG_WARN, "job '%s': no completed checkpoint in %s: starting from the "
                  "beginning", job, rill__ckpt_store_dir(store));
        free(meta);
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
        if (rc != RILL_ECORRUPT)
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

/* The failed job j runs again from its newest completed checkpoint (jm->mu held; released
 * while the old tasks are joined and the new ones deployed). 0, or an error in j->err. */
static int restart(rill__jobmanager *jm, jm_job *j, int64_t delay_ms,
                   const atomic_bool *cancel_flag)
{
    uint64_t job_id = j->id;
    int n_tms = jm->n_tms;
    char why[RILL_ERRMSG_MAX];
    snprintf(why, sizeof why, "%s", j->err.msg);
    j->attempts++;
    pthread_mutex_unlock(&jm->mu);
    for (int i = 0; i < n_tms; i++)
        jm->tms[i].release(jm->tms[i].tm, job_id);
    rill__log(RILL_LOG_WARN, "job '%s' failed: %s; restarting (attempt %d) in %lld ms",
              j->g->env->name, why, j->attempts, (long long)delay_ms);
    for (int64_t waited = 0; waited < delay_ms; waited += 20) {
        if (cancel_flag && atomic_load(cancel_flag))
            break;
        rill__sleep_ns(RILL_MIN(20, delay_ms - waited) * 1000000);
    }
    rill__err err = {0};
    int rc = 0;
    rill__restore *rs = NULL;
    if (j->coord)
        rc = load_latest(j->coord, j->g->env->name, &rs, &err);
    if (rc == 0 && !rs && j->coord && rill__coord_last_completed(j->coord) > 0)
        rc = rill__err_set(&err, RILL_ECORRUPT,
                           "checkpoints completed in %s, but none of them can be loaded now: "
                           "not starting again from the beginning (that would repeat output)",
                           rill__ckpt_store_dir(rill__coord_store(j->coord)));
    pthread_mutex_lock(&jm->mu);
    if (rs) { /* else: no checkpoint yet, so the attempt starts where the job started (its
               * savepoint or resumed checkpoint, or the beginning) */
        rill__restore_free(j->restore);
        j->restore = rs;
    }
    j->n_terminal = j->n_failed = j->n_canceled = 0;
    j->cancel_sent = false;
    memset(&j->err, 0, sizeof j->err);
    j->state = RILL_JOB_RUNNING;
    if (j->coord)
        rill__coord_reset(j->coord);
    if (rc == 0 && cancel_flag && atomic_load(cancel_flag))
        rc = rill__err_set(&err, RILL_ECANCELED, "job canceled");
    if (rc == 0) {
        pthread_mutex_unlock(&jm->mu);
        rc = deploy_all(jm, j, n_tms, &err);
        pthread_mutex_lock(&jm->mu);
    }
    if (rc != 0) {
        cancel_locked(jm, j); /* tasks deployed before the failure must stop too */
        rill__err_set(&j->err, rc, "restart failed: %s", err.msg);
        j->state = rc == RILL_ECANCELED ? RILL_JOB_CANCELED : RILL_JOB_FAILED;
        j->n_terminal = j->n_tasks;
        return rc;
    }
    return 0;
}

int rill__jm_submit(rill__jobmanager *jm, rill__exec_graph *g, uint64_t *job_id, rill__err *err)
{
    pthread_mutex_lock(&jm->mu);
    int total_slots = 0;
    for (int i = 0; i < jm->n_tms; i++)
        total_slots += jm->tms[i].slots;
    if (total_slots < g->max_vertex_p) {
        pthread_mutex_unlock(&jm->mu);
        return rill__err_set(err, RILL_ELIMIT,
                             "the job needs %d slots (its largest parallelism) but the cluster "
                             "has %d", g->max_vertex_p, total_slots);
    }
    jm_job *j = rill__xcalloc(1, sizeof *j);
    if (rill__env_checkpointing(g->env)) {
        /* periodic checkpoints, or savepoints on request through the REST API */
        int rc = rill__coord_new(g->env, g, &j->coord, err);
        if (rc == 0 && g->env->resume)
            rc = load_latest(j->coord, g->env->name, &j->restore, err);
        if (rc) {
            rill__coord_free(j->coord);
            free(j);
            pthread_mutex_unlock(&jm->mu);
            return rc;
        }
    } else if (g->env->resume) {
        free(j);
        pthread_mutex_unlock(&jm->mu);
        return rill__err_set(err, RILL_ECONFIG,
                             "--resume needs checkpointing (--checkpoint-dir and "
                             "--checkpoint-interval)");
    }
    if (g->env->from_savepoint) {
        rill__restore_free(j->restore); /* a savepoint wins over --resume */
        j->restore = NULL;
        int rc = rill__restore_load_dir(g->env->from_savepoint, &j->restore, err);
        if (rc == 0)
            rill__log(RILL_LOG_INFO, "job '%s': restoring savepoint %s", g->env->name,
                      g->env->from_savepoint);
        if (rc) {
            rill__coord_free(j->coord);
            free(j);
            pthread_mutex_unlock(&jm->mu);
            return rc;
        }
    }
    if (j->restore) {
        int rc = check_restored_uids(g, j->restore, err);
        if (rc) {
            rill__restore_free(j->restore);
            rill__coord_free(j->coord);
            free(j);
            pthread_mutex_unlock(&jm->mu);
            return rc;
        }
    }
    j->id = jm->next_id++;
    j->g = g;
    j->n_tasks = g->n_tasks;
    j->state = RILL_JOB_RUNNING;
    j->tm_of_task = rill__xcalloc((size_t)g->n_tasks, sizeof *j->tm_of_task);
    /* slot sharing: slot k holds subtask k of every vertex; slots are numbered across TMs */
    int *slot_tm = rill__xcalloc((size_t)total_slots, sizeof *slot_tm);
    for (int i = 0, s = 0; i < jm->n_tms; i++)
        for (int k = 0; k < jm->tms[i].slots; k++)
            slot_tm[s++] = i;
    for (int v = 0; v < g->n_vertices; v++)
        for (int k = 0; k < g->vertices[v]->parallelism; k++)
            j->tm_of_task[g->vertices[v]->first_task + k] = slot_tm[k];
    free(slot_tm);
    jm->jobs = rill__xrealloc(jm->jobs, (size_t)(jm->n_jobs + 1) * sizeof *jm->jobs);
    jm->jobs[jm->n_jobs++] = j;
    *job_id = j->id;
    int n_tms = jm->n_tms;
    pthread_mutex_unlock(&jm->mu);

    int rc = deploy_all(jm, j, n_tms, err);
    if (rc != 0) {
        pthread_mutex_lock(&jm->mu);
        cancel_locked(jm, j);
        j->state = RILL_JOB_FAILED;
        rill__err_first(&j->err, rc, "%s", err->msg);
        j->n_terminal = j->n_tasks; /* nothing more will be waited for */
        pthread_cond_broadcast(&jm->cv);
        pthread_mutex_unlock(&jm->mu);
        for (int i = 0; i < n_tms; i++)
            jm->tms[i].release(jm->tms[i].tm, j->id);
        return rc;
    }
    return 0;
}

void rill__jm_cancel(rill__jobmanager *jm, uint64_t job_id)
{
    pthread_mutex_lock(&jm->mu);
    jm_job *j = find_job(jm, job_id);
    if (j && j->state == RILL_JOB_RUNNING)
        cancel_locked(jm, j);
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
            cancel_locked(jm, j);
        }
        if (j->coord && !j->cancel_sent) {
            int crc;
            bool stop; /* the final checkpoint: the sources end once it has completed */
            uint64_t id = rill__coord_tick(j->coord, rill__now_ms(), &stop, &j->err, &crc);
            if (crc < 0)
                cancel_locked(jm, j);
            for (int i = 0; id && i < jm->n_tms; i++)
                if (jm->tms[i].trigger)
                    jm->tms[i].trigger(jm->tms[i].tm, job_id, id,
                                       stop ? RILL_STOP_DRAIN : RILL_STOP_NONE);
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += (j->coord ? 10 : 100) * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&jm->cv, &jm->mu, &ts);
    }
    if (j->err.code && j->state == RILL_JOB_CANCELED)
        j->state = RILL_JOB_FAILED;
    int64_t delay;
    if (j->state == RILL_JOB_FAILED && !(cancel_flag && atomic_load(cancel_flag)) &&
        may_restart(j, &delay)) {
        if (restart(jm, j, delay, cancel_flag) == 0)
            goto again;
    }
    int n_tms = jm->n_tms;
    pthread_mutex_unlock(&jm->mu);
    for (int i = 0; i < n_tms; i++)
        jm->tms[i].release(jm->tms[i].tm, job_id);
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
        snprintf(v[i].name, sizeof v[i].name, "%s", j->g->env->name);
        v[i].state = j->state;
        v[i].restarts = j->attempts;
        v[i].n_tasks = j->n_tasks;
        v[i].last_checkpoint = j->coord ? rill__coord_last_completed(j->coord) : 0;
    }
    *n_out = (size_t)jm->n_jobs;
    pthread_mutex_unlock(&jm->mu);
    *out = v;
    return 0;
}

int rill__jm_taskmanagers(rill__jobmanager *jm, rill__tm_info **out, size_t *n_out)
{
    pthread_mutex_lock(&jm->mu);
    /* slot sharing puts subtask k of every vertex of every job in global slot k, so the slots
     * in use are [0, the largest parallelism of a job not yet ended) */
    int used = 0;
    for (int i = 0; i < jm->n_jobs; i++)
        if (jm->jobs[i]->state == RILL_JOB_CREATED || jm->jobs[i]->state == RILL_JOB_RUNNING)
            used = RILL_MAX(used, jm->jobs[i]->g->max_vertex_p);
    rill__tm_info *v = rill__xcalloc((size_t)(jm->n_tms + jm->n_remote) + 1, sizeof *v);
    for (int i = 0, base = 0; i < jm->n_tms; i++) {
        int slots = jm->tms[i].slots;
        int busy = RILL_MIN(slots, RILL_MAX(0, used - base));
        v[i].index = i;
        v[i].slots = slots;
        v[i].free_slots = slots - busy;
        v[i].data_port = -1; /* TaskManagers in this process exchange data without a port */
        base += slots;
    }
    int64_t now = rill__mono_ns();
    for (int i = 0; i < jm->n_remote; i++) {
        const jm_remote_tm *r = &jm->remote[i];
        rill__tm_info *t = &v[jm->n_tms + i];
        t->index = jm->n_tms + i;
        t->slots = (int)r->reg.slots;
        t->free_slots = (int)r->reg.slots; /* no job is scheduled on remote slots yet */
        t->data_port = r->reg.data_port;
        t->remote = true;
        memcpy(t->id, r->reg.tm_id, sizeof t->id);
        memcpy(t->address, r->reg.data_host, sizeof t->address);
        t->since_heartbeat_ms = (now - r->last_heartbeat_ns) / 1000000;
    }
    *n_out = (size_t)(jm->n_tms + jm->n_remote);
    pthread_mutex_unlock(&jm->mu);
    *out = v;
    return 0;
}

void rill__jm_remote_tm_add(rill__jobmanager *jm, const rill__msg_register_tm *m,
                            uint64_t *handle_out, uint64_t *replaced_out)
{
    pthread_mutex_lock(&jm->mu);
    uint64_t replaced = 0;
    for (int i = 0; i < jm->n_remote; i++)
        if (!strcmp(jm->remote[i].reg.tm_id, m->tm_id)) {
            replaced = jm->remote[i].handle;
            memmove(&jm->remote[i], &jm->remote[i + 1],
                    (size_t)(jm->n_remote - i - 1) * sizeof *jm->remote);
            jm->n_remote--;
            break;
        }
    jm->remote = rill__xrealloc(jm->remote, (size_t)(jm->n_remote + 1) * sizeof *jm->remote);
    jm_remote_tm *r = &jm->remote[jm->n_remote++];
    r->handle = ++jm->next_handle;
    r->reg = *m;
    r->last_heartbeat_ns = rill__mono_ns();
    *handle_out = r->handle;
    if (replaced_out)
        *replaced_out = replaced;
    pthread_mutex_unlock(&jm->mu);
}

void rill__jm_remote_tm_seen(rill__jobmanager *jm, uint64_t handle)
{
    pthread_mutex_lock(&jm->mu);
    for (int i = 0; i < jm->n_remote; i++)
        if (jm->remote[i].handle == handle)
            jm->remote[i].last_heartbeat_ns = rill__mono_ns();
    pthread_mutex_unlock(&jm->mu);
}

void rill__jm_remote_tm_remove(rill__jobmanager *jm, uint64_t handle)
{
    pthread_mutex_lock(&jm->mu);
    for (int i = 0; i < jm->n_remote; i++)
        if (jm->remote[i].handle == handle) {
            memmove(&jm->remote[i], &jm->remote[i + 1],
                    (size_t)(jm->n_remote - i - 1) * sizeof *jm->remote);
            jm->n_remote--;
            break;
        }
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
            !strcmp(jm->jobs[i]->g->env->name, id_or_name)) {
            *job_id_out = jm->jobs[i]->id;
            rc = 0;
        }
    pthread_mutex_unlock(&jm->mu);
    return rc;
}

int rill__jm_checkpoint_stats(rill__jobmanager *jm, uint64_t job_id, rill__ckpt_stats **out,
                              size_t *n_out, rill__err *err)
{
    *out = NULL;
    *n_out = 0;
    pthread_mutex_lock(&jm->mu);
    jm_job *j = find_job(jm, job_id);
    int rc = 0;
    if (!j)
        rc = rill__err_set(err, RILL_ENOENT, "no job %llu", (unsigned long long)job_id);
    else if (!j->coord)
        rc = rill__err_set(err, RILL_ENOTSUP, "job '%s' runs without checkpoints",
                           j->g->env->name);
    else {
        size_t n;
        const rill__ckpt_stats *st = rill__coord_stats(j->coord, &n);
        *out = rill__xcalloc(n + 1, sizeof **out);
        if (n) /* st is NULL before the first checkpoint */
            memcpy(*out, st, n * sizeof *st);
        *n_out = n;
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
                           "directory (--checkpoint-dir)", j->g->env->name);
    else if (j->state != RILL_JOB_RUNNING)
        rc = rill__err_set(err, RILL_EPERM, "job '%s' is %s", j->g->env->name,
                           rill__job_state_name(j->state));
    uint64_t id = 0;
    if (rc == 0 &&
        (id = rill__coord_trigger_savepoint(j->coord, dir, stop != RILL_STOP_NONE, err)) == 0)
        rc = err->code ? err->code : RILL_EIO;
    for (int i = 0; rc == 0 && i < jm->n_tms; i++)
        if (jm->tms[i].trigger)
            jm->tms[i].trigger(jm->tms[i].tm, job_id, id, stop);
    int64_t deadline = rill__now_ms() + timeout_ms;
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
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 50 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&jm->cv, &jm->mu, &ts);
    }
    if (withdraw && stop != RILL_STOP_NONE) {
        /* Flink's rule: a stop whose savepoint failed does not stop the job */
        for (int i = 0; i < jm->n_tms; i++)
            if (jm->tms[i].abort_stop)
                jm->tms[i].abort_stop(jm->tms[i].tm, job_id, id);
        char why[RILL_ERRMSG_MAX];
        snprintf(why, sizeof why, "%s", err->msg);
        if (stop == RILL_STOP_DRAIN)
            rill__err_set(err, rc, "stop-with-savepoint of job '%s' failed: %s; the end of event "
                          "time had been sent (--drain), so the job fails over to its latest "
                          "checkpoint", j->g->env->name, why);
        else
            rill__err_set(err, rc, "stop-with-savepoint of job '%s' failed: %s; the job goes on "
                          "running", j->g->env->name, why);
    }
    pthread_mutex_unlock(&jm->mu);
    return rc;
}
