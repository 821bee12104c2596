/* tmhost.c - cluster layer: what a TaskManager process does with the deployments its
 * JobManager sends. Keeps the job objects that arrive in JAR_DATA pieces; builds each deployed
 * job's graph by loading its object and calling its rill_job with the options and arguments
 * the JobManager used; makes the attempt's data connections to the other TaskManagers (the one
 * whose id sorts lower connects; the other accepts on its data port); runs the tasks placed on
 * it on the process's TaskManager; answers RELEASE once they have ended. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "runtime/remote.h"

/* How long a deployment waits for a data connection its peer makes. */
#define DATA_ACCEPT_TIMEOUT_MS 30000
/* An accepted data connection no deployment claimed is closed after this. */
#define DATA_PENDING_MAX_MS 60000

typedef struct host_job host_job;

/* A data connection accepted on the data port, waiting for its deployment. */
typedef struct pending_conn {
    struct pending_conn *next;
    rill__msg_data_open open;
    int fd;
    rill__frame_reader *rd;
    int64_t since_ns;
} pending_conn;

typedef struct known_jar {
    char id[RILL_JAR_ID_MAX + 1];
    uint8_t sha256[RILL_SHA256_LEN];
} known_jar;

struct rill__tm_host {
    rill__tm_host_cfg cfg;
    char *jar_dir;
    rill__taskmanager *tm;
    rill__tm_host_send_fn send;
    void *send_arg;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    host_job *jobs;
    pending_conn *pending;
    known_jar *jars;
    int n_jars;
    /* the object being received */
    char part_id[RILL_JAR_ID_MAX + 1];
    int part_fd;
    uint64_t part_total, part_next;
    rill__sha256 part_sha;
    char *part_path;
    /* the last object that could not be stored, and why (for its deployment's failure) */
    char fail_id[RILL_JAR_ID_MAX + 1];
    char fail_why[RILL_ERRMSG_MAX];
    /* the data port's acceptor */
    pthread_t acceptor;
    atomic_bool stopping;
};

struct host_job {
    host_job *next;
    rill__tm_host *h;
    rill__msg_deploy d;
    pthread_t thread;
    int self;           /* this TaskManager's index in d.tms */
    bool release;       /* RELEASE arrived, or the JobManager is gone (under h->mu) */
    bool send_released; /* answer RELEASED when done */
    bool canceled;      /* CANCEL arrived before the tasks ran */
    bool done;          /* the thread has ended: join and free */
    bool ran;           /* host_execute was called: it reports its own failures */
};

/* ---- reporting to the JobManager ----------------------------------------------------------- */

static void send_job_failed(rill__tm_host *h, const host_job *j, int rc, const char *msg)
{
    rill__msg_task_state m = {.job_id = j->d.job_id, .attempt = j->d.attempt,
                              .rc = rc < 0 ? rc : RILL_EIO};
    snprintf(m.msg, sizeof m.msg, "taskmanager %s: %s", h->cfg.tm_id, msg);
    rill__buf b = {0};
    if (rill__msg_task_state_enc(&b, RILL_FT_JOB_FAILED, &m) == 0)
        h->send(h->send_arg, RILL_FT_JOB_FAILED, &b);
    rill__buf_free(&b);
}

static void send_released(rill__tm_host *h, uint64_t job_id, uint32_t attempt)
{
    rill__buf b = {0};
    rill__msg_job m = {.job_id = job_id, .attempt = attempt};
    if (rill__msg_job_enc(&b, RILL_FT_RELEASED, &m) == 0)
        h->send(h->send_arg, RILL_FT_RELEASED, &b);
    rill__buf_free(&b);
}

/* The rill__jm_gateway the process's TaskManager reports through: frames to the JobManager. */
static void jg_task_state(void *arg, uint64_t job_id, uint32_t attempt, int task,
                          rill__task_state state, int rc, const char *msg)
{
    rill__tm_host *h = arg;
    if (state < RILL_TASK_RUNNING)
        return;
    rill__msg_task_state m = {.job_id = job_id, .attempt = attempt, .task = (uint32_t)task,
                              .state = (uint8_t)state, .rc = rc};
    snprintf(m.msg, sizeof m.msg, "%s", msg ? msg : "");
    rill__buf b = {0};
    if (rill__msg_task_state_enc(&b, RILL_FT_TASK_STATE, &m) == 0)
        h->send(h->send_arg, RILL_FT_TASK_STATE, &b);
    rill__buf_free(&b);
}

static void jg_ack(void *arg, uint64_t job_id, uint32_t attempt, int task, uint64_t ckpt_id,
                   int rc, uint64_t bytes, uint64_t full_bytes, int64_t align_ms,
                   const rill__state_usage *usage, const char *file, const char *reason)
{
    rill__tm_host *h = arg;
    rill__msg_ack m = {.job_id = job_id, .attempt = attempt, .task = (uint32_t)task,
                       .ckpt_id = ckpt_id, .rc = rc, .bytes = bytes,
                       .full_bytes = RILL_MAX(full_bytes, bytes),
                       .align_ms = RILL_MAX(align_ms, 0), .has_state = usage != NULL};
    if (usage) {
        m.state.keys = RILL_MAX(usage->keys, 0);
        m.state.memory_bytes = RILL_MAX(usage->memory_bytes, 0);
        m.state.disk_bytes = RILL_MAX(usage->disk_bytes, 0);
    }
    snprintf(m.file, sizeof m.file, "%s", file ? file : "");
    snprintf(m.reason, sizeof m.reason, "%s", reason ? reason : "");
    rill__buf b = {0};
    if (rill__msg_ack_enc(&b, &m) == 0)
        h->send(h->send_arg, RILL_FT_ACK, &b);
    rill__buf_free(&b);
}

static void jg_end_of_data(void *arg, uint64_t job_id, uint32_t attempt, int task)
{
    rill__tm_host *h = arg;
    rill__msg_job m = {.job_id = job_id, .attempt = attempt, .task = (uint32_t)task};
    rill__buf b = {0};
    if (rill__msg_job_enc(&b, RILL_FT_END_OF_DATA, &m) == 0)
        h->send(h->send_arg, RILL_FT_END_OF_DATA, &b);
    rill__buf_free(&b);
}

static void jg_job_failed(void *arg, uint64_t job_id, uint32_t attempt, int rc, const char *msg)
{
    rill__tm_host *h = arg;
    host_job j = {.d = {.job_id = job_id, .attempt = attempt}};
    send_job_failed(h, &j, rc, msg);
}

/* ---- data connections ------------------------------------------------------------------- */

static rill__hs_config data_hs(const rill__tm_host *h, char *name, size_t cap)
{
    snprintf(name, cap, "taskmanager %s data", h->cfg.tm_id);
    return (rill__hs_config){
        .cluster_id = h->cfg.cluster_id,
        .name = name,
        .role = RILL_ROLE_DATA,
        .peer_roles = RILL_ROLE_BIT(RILL_ROLE_DATA),
        .secret = h->cfg.secret,
        .secret_len = h->cfg.secret_len,
        .timeout_ms = h->cfg.handshake_timeout_ms,
    };
}

/* Handshake and DATA_OPEN of one accepted connection, then it waits for its deployment. */
static void accept_one(rill__tm_host *h, int fd, const char *peer)
{
    char name[RILL_PEER_NAME_MAX + 1];
    rill__hs_config hc = data_hs(h, name, sizeof name);
    rill__frame_reader *rd = rill__xcalloc(1, sizeof *rd);
    rill__frame_reader_init(rd, RILL_FRAME_MAX_PAYLOAD, NULL, 0);
    rill__hs_peer hp;
    rill__err err = {0};
    int rc = rill__hs_server(fd, &hc, rd, &hp, &err);
    rill__frame f;
    static const uint16_t open_type[] = {RILL_FT_DATA_OPEN};
    rill__msg_data_open m;
    if (rc == 0) {
        rill__frame_reader_accept(rd, open_type, 1);
        rc = rill__frame_recv(rd, fd, h->cfg.handshake_timeout_ms, &f);
        if (rc == 0)
            rc = rill__msg_data_open_dec(f.payload, f.len, &m, &err);
        else
            rill__err_set(&err, rc, "no DATA_OPEN: %s",
                          rd->err.msg[0] ? rd->err.msg : rill_strerror(rc));
        if (rc == 0 && strcmp(m.to_tm, h->cfg.tm_id) != 0)
            rc = rill__err_set(&err, RILL_EPROTO, "DATA_OPEN is for taskmanager %s, not this one",
                               m.to_tm);
    }
    if (rc) {
        rill__log(RILL_LOG_WARN, "data connection from %s refused: %s", peer, err.msg);
        rill__frame_reader_close(rd);
        free(rd);
        close(fd);
        return;
    }
    pending_conn *p = rill__xcalloc(1, sizeof *p);
    p->open = m;
    p->fd = fd;
    p->rd = rd;
    p->since_ns = rill__mono_ns();
    pthread_mutex_lock(&h->mu);
    p->next = h->pending;
    h->pending = p;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

static void pending_free(pending_conn *p)
{
    if (p->rd) {
        rill__frame_reader_close(p->rd);
        free(p->rd);
    }
    if (p->fd >= 0)
        close(p->fd);
    free(p);
}

static void *acceptor_main(void *arg)
{
    rill__tm_host *h = arg;
    while (!atomic_load(&h->stopping)) {
        /* connections nobody claimed in time */
        pthread_mutex_lock(&h->mu);
        int64_t now = rill__mono_ns();
        for (pending_conn **pp = &h->pending; *pp;) {
            pending_conn *p = *pp;
            if (now - p->since_ns > (int64_t)DATA_PENDING_MAX_MS * 1000000) {
                *pp = p->next;
                rill__log(RILL_LOG_WARN, "data connection from taskmanager %s for job %llu "
                          "attempt %u: no such deployment here; closed", p->open.from_tm,
                          (unsigned long long)p->open.job_id, p->open.attempt);
                pending_free(p);
            } else {
                pp = &p->next;
            }
        }
        pthread_mutex_unlock(&h->mu);
        int fd;
        char peer[RILL_NET_NAME_MAX];
        rill__err err = {0};
        int rc = rill__net_accept(h->cfg.data_lfd, 200, &fd, peer, sizeof peer, &err);
        if (rc == -ETIMEDOUT || rc == RILL_AGAIN || rc == -EINTR)
            continue;
        if (rc) {
            rill__log(RILL_LOG_WARN, "data port: accept: %s", err.msg);
            rill__sleep_ns(100 * 1000000LL);
            continue;
        }
        accept_one(h, fd, peer);
    }
    return NULL;
}

/* The placement's connection maker: the data connection to TaskManager p of the attempt. */
static rill__remote *connect_peer(void *arg, int p, const rill__remote_config *cfg,
                                  rill__err *err)
{
    host_job *j = arg;
    rill__tm_host *h = j->h;
    const rill__deploy_tm *peer = &j->d.tms[p];
    char name[RILL_TM_ID_MAX + RILL_HOST_MAX + 64];
    snprintf(name, sizeof name, "data connection to taskmanager %s (%s:%u)", peer->tm_id,
             peer->data_host, peer->data_port);
    if (strcmp(h->cfg.tm_id, peer->tm_id) < 0) {
        /* this side connects */
        int64_t deadline = rill__mono_ns() + (int64_t)DATA_ACCEPT_TIMEOUT_MS * 1000000;
        int fd = -1, rc;
        for (;;) {
            rc = rill__net_connect(peer->data_host, peer->data_port, h->cfg.handshake_timeout_ms,
                                   &fd, err);
            if (rc == 0 || rill__mono_ns() >= deadline)
                break;
            pthread_mutex_lock(&h->mu);
            bool gone = j->canceled || j->release || atomic_load(&h->stopping);
            pthread_mutex_unlock(&h->mu);
            if (gone)
                break; /* the attempt is over: stop trying */
            rill__sleep_ns(100 * 1000000LL);
        }
        if (rc) {
            char why[RILL_ERRMSG_MAX];
            snprintf(why, sizeof why, "%s", err->msg);
            rill__err_set(err, rc, "%s: %s", name, why);
            return NULL;
        }
        char hname[RILL_PEER_NAME_MAX + 1];
        rill__hs_config hc = data_hs(h, hname, sizeof hname);
        rill__frame_reader rd;
        rill__frame_reader_init(&rd, RILL_FRAME_MAX_PAYLOAD, NULL, 0);
        rill__hs_peer hp;
        rc = rill__hs_client(fd, &hc, &rd, &hp, err);
        rill__buf b = {0};
        if (rc == 0) {
            rill__msg_data_open m = {.job_id = j->d.job_id, .attempt = j->d.attempt};
            memcpy(m.from_tm, h->cfg.tm_id, sizeof m.from_tm);
            memcpy(m.to_tm, peer->tm_id, sizeof m.to_tm);
            rc = rill__msg_data_open_enc(&b, &m);
            if (rc == 0)
                rc = rill__frame_send(fd, RILL_FT_DATA_OPEN, b.data, b.len,
                                      h->cfg.handshake_timeout_ms, err);
        }
        rill__buf_free(&b);
        if (rc) {
            char why[RILL_ERRMSG_MAX];
            snprintf(why, sizeof why, "%s", err->msg);
            rill__err_set(err, rc, "%s: %s", name, why);
            rill__frame_reader_close(&rd);
            close(fd);
            return NULL;
        }
        return rill__remote_new(fd, &rd, cfg, name);
    }
    /* the peer connects: wait for its connection */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += DATA_ACCEPT_TIMEOUT_MS / 1000;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        for (pending_conn **pp = &h->pending; *pp; pp = &(*pp)->next) {
            pending_conn *pc = *pp;
            if (pc->open.job_id == j->d.job_id && pc->open.attempt == j->d.attempt &&
                !strcmp(pc->open.from_tm, peer->tm_id)) {
                *pp = pc->next;
                pthread_mutex_unlock(&h->mu);
                rill__remote *e = rill__remote_new(pc->fd, pc->rd, cfg, name);
                pc->fd = -1;
                rill__frame_reader_close(pc->rd); /* emptied by the take-over */
                pending_free(pc);
                return e;
            }
        }
        if (j->release || j->canceled || atomic_load(&h->stopping)) {
            pthread_mutex_unlock(&h->mu);
            rill__err_set(err, RILL_ECANCELED, "%s: the deployment was canceled", name);
            return NULL;
        }
        if (pthread_cond_timedwait(&h->cv, &h->mu, &ts) == ETIMEDOUT) {
            pthread_mutex_unlock(&h->mu);
            rill__err_set(err, -ETIMEDOUT, "%s: it did not connect within %d ms", name,
                          DATA_ACCEPT_TIMEOUT_MS);
            return NULL;
        }
    }
}

/* ---- a deployment ---------------------------------------------------------------------------- */

/* Loads the checkpoint or savepoint the deployment starts from. */
static int load_restore(const host_job *j, rill_env *env, rill__restore **out, rill__err *err)
{
    *out = NULL;
    if (j->d.restore_kind == RILL_RESTORE_SAVEPOINT) {
        if (!env->from_savepoint)
            return rill__err_set(err, RILL_ECONFIG, "the deployment restores a savepoint but the "
                                 "job's options name none");
        return rill__restore_load_dir(env->from_savepoint, out, err);
    }
    if (j->d.restore_kind != RILL_RESTORE_CHECKPOINT)
        return 0;
    if (!env->ckpt_dir)
        return rill__err_set(err, RILL_ECONFIG, "the deployment restores checkpoint %llu but the "
                             "job has no checkpoint directory",
                             (unsigned long long)j->d.restore_id);
    rill__ckpt_store *store;
    int rc = rill__ckpt_store_open(env->ckpt_dir, env->name, env->ckpt_retain, &store, err);
    if (rc)
        return rc;
    void *meta = NULL;
    size_t len = 0;
    rc = rill__ckpt_read_meta(store, (int64_t)j->d.restore_id, &meta, &len, err);
    if (rc == 0)
        rc = rill__restore_load(store, (int64_t)j->d.restore_id, meta, len, out, err);
    free(meta);
    rill__ckpt_store_free(store);
    return rc;
}

/* The executor rill_job's rill_env_execute calls in a TaskManager process: runs the tasks
 * placed here until the JobManager releases the attempt. */
static int host_execute(rill_env *env, void *arg)
{
    host_job *j = arg;
    rill__tm_host *h = j->h;
    j->ran = true;
    /* the JobManager's view of the job: a REST API there (savepoints), its name */
    env->rest_port = 0;
    if (strcmp(env->name, j->d.job_name) != 0) {
        free(env->name);
        env->name = rill__xstrdup(j->d.job_name);
    }
    rill__exec_graph *g = NULL;
    rill__restore *rs = NULL;
    int *tasks = NULL, *proc = NULL;
    rill__err err = {0};
    int rc = rill__exec_build(env, &g);
    if (rc)
        rill__err_set(&err, rc, "cannot build the job's graph: %s", rill_errmsg(env));
    if (rc == 0 && (uint32_t)g->n_tasks != j->d.n_tasks)
        rc = rill__err_set(&err, RILL_EGRAPH,
                           "the job's graph has %d tasks here but %u on the JobManager "
                           "(rill_job must build the same graph every time)",
                           g->n_tasks, j->d.n_tasks);
    if (rc == 0)
        rc = load_restore(j, env, &rs, &err);
    if (rc == 0) {
        tasks = rill__xcalloc((size_t)g->n_tasks + 1, sizeof *tasks);
        proc = rill__xcalloc((size_t)g->n_tasks + 1, sizeof *proc);
        int n = 0;
        for (int t = 0; t < g->n_tasks; t++) {
            proc[t] = j->d.tm_of_task[t];
            if (proc[t] == j->self)
                tasks[n++] = t;
        }
        rill__placement pl = {.proc_of_task = proc, .self = j->self};
        pthread_mutex_lock(&h->mu);
        bool go = !j->canceled && !j->release;
        pthread_mutex_unlock(&h->mu);
        if (!go)
            rc = rill__err_set(&err, RILL_ECANCELED, "canceled before it ran");
        else
            rc = rill__tm_deploy_run(h->tm, j->d.job_id, j->d.attempt, g, tasks, n, &pl,
                                     connect_peer, j, rs, &err);
        if (rc == 0)
            rill__log(RILL_LOG_INFO, "job '%s' (%llu) attempt %u: %d tasks running here",
                      env->name, (unsigned long long)j->d.job_id, j->d.attempt, n);
    }
    pthread_mutex_lock(&h->mu);
    bool canceled_meanwhile = j->canceled || j->release; /* (release: the JobManager is gone) */
    pthread_mutex_unlock(&h->mu);
    if (rc && rc != RILL_ECANCELED) {
        rill__log(RILL_LOG_ERROR, "job %llu attempt %u: %s", (unsigned long long)j->d.job_id,
                  j->d.attempt, err.msg);
        send_job_failed(h, j, rc, err.msg);
    }
    rill__tm_gateway gw = rill__tm_gateway_local(h->tm);
    if (rc == 0 && canceled_meanwhile) /* a CANCEL that came while it was being built */
        gw.cancel(gw.tm, j->d.job_id, j->d.attempt);
    /* the attempt lives until the JobManager releases it (or is gone) */
    pthread_mutex_lock(&h->mu);
    while (!j->release)
        pthread_cond_wait(&h->cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
    if (rc == 0) /* (a CANCEL came first if its tasks had not ended) */
        gw.release(gw.tm, j->d.job_id, j->d.attempt);
    rill__restore_free(rs);
    free(tasks);
    free(proc);
    rill__exec_free(g);
    return rc == RILL_ECANCELED ? 0 : rc;
}

static void *job_main(void *arg)
{
    host_job *j = arg;
    rill__tm_host *h = j->h;
    char *path = rill__xasprintf("%s/%s", h->jar_dir, j->d.jar_id);
    void *so = NULL;
    rill_job_fn job = NULL;
    char why[RILL_ERRMSG_MAX];
    int rc = rill__job_entry(path, &job, &so, why, sizeof why);
    rill_env *env = NULL;
    if (rc == 0) {
        env = rill_env_new();
        env->executor = host_execute;
        env->executor_arg = j;
        rc = rill_env_set(env, "name", j->d.job_name);
        for (uint32_t i = 0; i < j->d.n_opts && rc == 0; i++) {
            rc = rill_env_set(env, j->d.opt_keys[i], j->d.opt_values[i]);
            if (!strcmp(j->d.opt_keys[i], "parallelism"))
                env->parallelism_fixed = true;
        }
        if (rc)
            snprintf(why, sizeof why, "option: %s", rill_errmsg(env));
    }
    if (rc == 0) {
        char **argv = rill__xcalloc((size_t)j->d.n_args + 2, sizeof *argv);
        argv[0] = path;
        for (uint32_t i = 0; i < j->d.n_args; i++)
            argv[i + 1] = j->d.args[i];
        rc = job(env, (int)j->d.n_args + 1, argv);
        if (rc == 0 && !env->executed && env->n_nodes > 0)
            rc = rill_env_execute(env);
        free(argv);
        if (rc && !env->executed)
            snprintf(why, sizeof why, "rill_job failed before running: %s",
                     rill_errmsg(env)[0] ? rill_errmsg(env) : rill_strerror(rc));
        else if (rc == 0 && !env->executed)
            snprintf(why, sizeof why, "%s", "rill_job built no job here"), rc = RILL_EGRAPH;
    }
    if (rc && !j->ran) { /* (host_execute reports its own failures) */
        rill__log(RILL_LOG_ERROR, "job %llu attempt %u: %s", (unsigned long long)j->d.job_id,
                  j->d.attempt, why);
        send_job_failed(h, j, rc, why);
        pthread_mutex_lock(&h->mu);
        while (!j->release)
            pthread_cond_wait(&h->cv, &h->mu);
        pthread_mutex_unlock(&h->mu);
    }
    rill_env_free(env);
    /* the object stays loaded: its code may be referenced by atexit handlers */
    free(path);
    pthread_mutex_lock(&h->mu);
    bool answer = j->send_released;
    j->done = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    if (answer)
        send_released(h, j->d.job_id, j->d.attempt);
    return NULL;
}

/* Joins and frees the deployments whose thread has ended (h->mu held; released meanwhile). */
static void reap_jobs(rill__tm_host *h)
{
    for (host_job **pp = &h->jobs; *pp;) {
        host_job *j = *pp;
        if (!j->done) {
            pp = &j->next;
            continue;
        }
        *pp = j->next;
        pthread_mutex_unlock(&h->mu);
        pthread_join(j->thread, NULL);
        rill__msg_deploy_free(&j->d);
        free(j);
        pthread_mutex_lock(&h->mu);
        pp = &h->jobs;
    }
}

static host_job *find_job(rill__tm_host *h, uint64_t id, uint32_t attempt)
{
    for (host_job *j = h->jobs; j; j = j->next)
        if (j->d.job_id == id && j->d.attempt == attempt && !j->release)
            return j;
    return NULL;
}

static int on_deploy(rill__tm_host *h, const rill__frame *f, rill__err *err)
{
    host_job *j = rill__xcalloc(1, sizeof *j);
    j->h = h;
    int rc = rill__msg_deploy_dec(f->payload, f->len, &j->d, err);
    if (rc) {
        free(j);
        return rc;
    }
    j->self = -1;
    for (uint32_t i = 0; i < j->d.n_tms; i++)
        if (!strcmp(j->d.tms[i].tm_id, h->cfg.tm_id))
            j->self = (int)i;
    pthread_mutex_lock(&h->mu);
    reap_jobs(h);
    bool have = false;
    for (int i = 0; i < h->n_jars; i++)
        have |= !strcmp(h->jars[i].id, j->d.jar_id) &&
                !memcmp(h->jars[i].sha256, j->d.jar_sha256, RILL_SHA256_LEN);
    bool dup = find_job(h, j->d.job_id, j->d.attempt) != NULL;
    char missing[RILL_ERRMSG_MAX + 128];
    snprintf(missing, sizeof missing, "its job object %s was not received%s%s", j->d.jar_id,
             strcmp(h->fail_id, j->d.jar_id) ? "" : ": ",
             strcmp(h->fail_id, j->d.jar_id) ? "" : h->fail_why);
    pthread_mutex_unlock(&h->mu);
    const char *bad = j->self < 0 ? "the deployment does not place any task on this TaskManager"
                      : !have     ? missing
                      : dup       ? "this attempt is deployed here already"
                                  : NULL;
    if (bad) {
        rill__log(RILL_LOG_ERROR, "job %llu attempt %u: %s", (unsigned long long)j->d.job_id,
                  j->d.attempt, bad);
        send_job_failed(h, j, RILL_EPROTO, bad);
        rill__msg_deploy_free(&j->d);
        free(j);
        return 0;
    }
    rill__log(RILL_LOG_INFO, "job '%s' (%llu) attempt %u deployed here", j->d.job_name,
              (unsigned long long)j->d.job_id, j->d.attempt);
    pthread_mutex_lock(&h->mu);
    j->next = h->jobs;
    h->jobs = j;
    int prc = pthread_create(&j->thread, NULL, job_main, j);
    if (prc != 0) {
        h->jobs = j->next;
        pthread_mutex_unlock(&h->mu);
        send_job_failed(h, j, -prc, "cannot start the deployment's thread");
        rill__msg_deploy_free(&j->d);
        free(j);
        return 0;
    }
    pthread_mutex_unlock(&h->mu);
    return 0;
}

/* Object id could not be stored: logged, and kept for the deployment that needs it. */
RILL_PRINTF(3, 4) static void jar_failed(rill__tm_host *h, const char *id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&h->mu);
    snprintf(h->fail_id, sizeof h->fail_id, "%s", id);
    vsnprintf(h->fail_why, sizeof h->fail_why, fmt, ap);
    rill__log(RILL_LOG_ERROR, "job object %s: %s", id, h->fail_why);
    pthread_mutex_unlock(&h->mu);
    va_end(ap);
}

/* A JAR_DATA piece: appended to the object being received; the last one is checked against
 * the SHA-256 and the object renamed into place. */
static int on_jar_data(rill__tm_host *h, const rill__frame *f, rill__err *err)
{
    rill__msg_jar_data m;
    int rc = rill__msg_jar_data_dec(f->payload, f->len, &m, err);
    if (rc)
        return rc;
    if (m.offset == 0) {
        if (h->part_fd >= 0) {
            close(h->part_fd);
            unlink(h->part_path);
            free(h->part_path);
        }
        memcpy(h->part_id, m.jar_id, sizeof h->part_id);
        h->part_path = rill__xasprintf("%s/.%s.part", h->jar_dir, m.jar_id);
        h->part_fd = open(h->part_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (h->part_fd < 0) {
            jar_failed(h, m.jar_id, "cannot store it: %s: %s", h->part_path, strerror(errno));
            free(h->part_path);
            h->part_path = NULL;
            return 0; /* its deployment fails: the object is missing */
        }
        h->part_total = m.total;
        h->part_next = 0;
        rill__sha256_init(&h->part_sha);
    }
    if (h->part_fd < 0)
        return 0;
    if (strcmp(m.jar_id, h->part_id) != 0 || m.offset != h->part_next || m.total != h->part_total)
        return rill__err_set(err, RILL_EPROTO,
                             "JAR_DATA: piece of %s at %llu out of order (expected %s at %llu)",
                             m.jar_id, (unsigned long long)m.offset, h->part_id,
                             (unsigned long long)h->part_next);
    rill__sha256_update(&h->part_sha, m.data, m.len);
    int wrc = rill__write_all(h->part_fd, m.data, m.len);
    h->part_next += m.len;
    bool last = h->part_next == h->part_total;
    if (wrc == 0 && !last)
        return 0;
    uint8_t sum[RILL_SHA256_LEN];
    rill__sha256_final(&h->part_sha, sum);
    if (wrc == 0 && fsync(h->part_fd) != 0)
        wrc = -errno;
    close(h->part_fd);
    h->part_fd = -1;
    char *final = rill__xasprintf("%s/%s", h->jar_dir, h->part_id);
    if (wrc != 0)
        jar_failed(h, h->part_id, "cannot store it: %s: %s", h->part_path, strerror(-wrc));
    else if (memcmp(sum, m.sha256, RILL_SHA256_LEN) != 0)
        jar_failed(h, h->part_id, "its SHA-256 does not match what the JobManager sent: dropped");
    else if (rename(h->part_path, final) != 0)
        jar_failed(h, h->part_id, "cannot store it: rename to %s: %s", final, strerror(errno));
    else {
        pthread_mutex_lock(&h->mu);
        h->jars = rill__xrealloc(h->jars, (size_t)(h->n_jars + 1) * sizeof *h->jars);
        memcpy(h->jars[h->n_jars].id, h->part_id, sizeof h->jars[0].id);
        memcpy(h->jars[h->n_jars].sha256, sum, RILL_SHA256_LEN);
        h->n_jars++;
        pthread_mutex_unlock(&h->mu);
        rill__log(RILL_LOG_INFO, "job object %s received (%llu bytes)", h->part_id,
                  (unsigned long long)h->part_total);
    }
    unlink(h->part_path); /* gone after the rename; removes a failed one */
    free(h->part_path);
    h->part_path = NULL;
    free(final);
    return 0;
}

int rill__tm_host_on_frame(rill__tm_host *h, const rill__frame *f, rill__err *err)
{
    if (f->type == RILL_FT_JAR_DATA)
        return on_jar_data(h, f, err);
    if (f->type == RILL_FT_DEPLOY)
        return on_deploy(h, f, err);
    rill__msg_job m;
    int rc = rill__msg_job_dec(f->type, f->payload, f->len, &m, err);
    if (rc)
        return rc;
    rill__tm_gateway gw = rill__tm_gateway_local(h->tm);
    switch (f->type) {
    case RILL_FT_CANCEL: {
        pthread_mutex_lock(&h->mu);
        host_job *j = find_job(h, m.job_id, m.attempt);
        if (j)
            j->canceled = true;
        pthread_cond_broadcast(&h->cv); /* a deployment waiting for a data connection */
        pthread_mutex_unlock(&h->mu);
        gw.cancel(gw.tm, m.job_id, m.attempt);
        break;
    }
    case RILL_FT_RELEASE: {
        pthread_mutex_lock(&h->mu);
        host_job *j = find_job(h, m.job_id, m.attempt);
        if (j) {
            j->release = true;
            j->send_released = true;
            pthread_cond_broadcast(&h->cv);
        }
        pthread_mutex_unlock(&h->mu);
        if (!j) /* nothing of it here (any more) */
            send_released(h, m.job_id, m.attempt);
        break;
    }
    case RILL_FT_TRIGGER:
        gw.trigger(gw.tm, m.job_id, m.attempt, m.ckpt_id, (rill__stop_mode)m.stop,
                   m.savepoint != 0);
        break;
    case RILL_FT_ABORT_STOP:
        gw.abort_stop(gw.tm, m.job_id, m.attempt, m.ckpt_id);
        break;
    case RILL_FT_COMPLETE:
        gw.complete(gw.tm, m.job_id, m.attempt, m.ckpt_id);
        break;
    default:
        return rill__err_set(err, RILL_EPROTO, "unexpected frame type 0x%04x", f->type);
    }
    return 0;
}

void rill__tm_host_session_lost(rill__tm_host *h)
{
    pthread_mutex_lock(&h->mu);
    int n = 0;
    for (host_job *j = h->jobs; j; j = j->next)
        if (!j->release) {
            j->release = true; /* the JobManager fails these over; nothing to answer */
            n++;
        }
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    if (n)
        rill__log(RILL_LOG_WARN, "the JobManager is gone: canceling the %d deployment%s here",
                  n, n == 1 ? "" : "s");
    rill__tm_cancel_all(h->tm);
}

int rill__tm_host_new(const rill__tm_host_cfg *cfg, rill__tm_host_send_fn send, void *send_arg,
                      rill__tm_host **out, rill__err *err)
{
    *out = NULL;
    char *jar_dir = rill__xasprintf("%s/jobs", cfg->work_dir);
    if ((mkdir(cfg->work_dir, 0700) != 0 && errno != EEXIST) ||
        (mkdir(jar_dir, 0700) != 0 && errno != EEXIST)) {
        int e = errno;
        free(jar_dir);
        return rill__err_set(err, -e, "cannot create the working directory %s: %s",
                             cfg->work_dir, strerror(e));
    }
    rill__tm_host *h = rill__xcalloc(1, sizeof *h);
    h->cfg = *cfg;
    h->jar_dir = jar_dir;
    h->send = send;
    h->send_arg = send_arg;
    h->part_fd = -1;
    pthread_mutex_init(&h->mu, NULL);
    rill__cond_init_monotonic(&h->cv);
    rill__jm_gateway jg = {.jm = h,
                           .task_state = jg_task_state,
                           .ack = jg_ack,
                           .end_of_data = jg_end_of_data,
                           .job_failed = jg_job_failed};
    h->tm = rill__tm_new(cfg->slots, &jg);
    int rc = pthread_create(&h->acceptor, NULL, acceptor_main, h);
    if (rc != 0) {
        rill__tm_free(h->tm);
        pthread_mutex_destroy(&h->mu);
        pthread_cond_destroy(&h->cv);
        free(h->jar_dir);
        free(h);
        return rill__err_set(err, -rc, "cannot start the data port's thread: %s", strerror(rc));
    }
    *out = h;
    return 0;
}

void rill__tm_host_free(rill__tm_host *h)
{
    if (!h)
        return;
    rill__tm_host_session_lost(h);
    atomic_store(&h->stopping, true);
    pthread_join(h->acceptor, NULL);
    pthread_mutex_lock(&h->mu);
    pthread_cond_broadcast(&h->cv);
    while (h->jobs) {
        reap_jobs(h);
        if (h->jobs)
            pthread_cond_wait(&h->cv, &h->mu);
    }
    while (h->pending) {
        pending_conn *p = h->pending;
        h->pending = p->next;
        pending_free(p);
    }
    pthread_mutex_unlock(&h->mu);
    rill__tm_free(h->tm);
    if (h->part_fd >= 0) {
        close(h->part_fd);
        unlink(h->part_path);
    }
    free(h->part_path);
    free(h->jars);
    free(h->jar_dir);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
}
