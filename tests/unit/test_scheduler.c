/* test_scheduler.c - the JobManager's scheduling and failover with TaskManagers registered as
 * remote ones, through fake gateways that record what they are asked: jobs wait for slots,
 * slots are spread over TaskManagers, a lost TaskManager fails the attempt over to the slots
 * left (and a new TaskManager), reports of an older attempt are ignored. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "state/checkpoint.h"
#include "test.h"

/* A TaskManager that runs nothing: it remembers its deployments. */
typedef struct fake_tm {
    pthread_mutex_t mu;
    int slots;
    int deploys, releases, cancels;
    uint32_t last_attempt;
    int tasks[64];
    int n_tasks;
    int self;
    int plan_tms;
    bool dropped;
    uint64_t triggered; /* the newest checkpoint triggered */
} fake_tm;

static void fake_trigger(void *tm, uint64_t job_id, uint32_t attempt, uint64_t ckpt_id,
                         rill__stop_mode stop, bool savepoint)
{
    fake_tm *f = tm;
    pthread_mutex_lock(&f->mu);
    f->triggered = ckpt_id;
    pthread_mutex_unlock(&f->mu);
}

static int fake_deploy(void *tm, uint64_t job_id, uint32_t attempt, rill__exec_graph *g,
                       const int *tasks, int n, const rill__deploy_plan *plan,
                       const rill__restore *restore, rill__err *err)
{
    fake_tm *f = tm;
    pthread_mutex_lock(&f->mu);
    f->deploys++;
    f->last_attempt = attempt;
    f->n_tasks = n;
    for (int i = 0; i < n && i < 64; i++) {
        f->tasks[i] = tasks[i];
        CHECK_EQ(plan->tm_of_task[tasks[i]], plan->self); /* its tasks are placed on it */
    }
    f->self = plan->self;
    f->plan_tms = plan->n_tms;
    pthread_mutex_unlock(&f->mu);
    return 0;
}

static void fake_cancel(void *tm, uint64_t job_id, uint32_t attempt)
{
    fake_tm *f = tm;
    pthread_mutex_lock(&f->mu);
    f->cancels++;
    pthread_mutex_unlock(&f->mu);
}

static void fake_release(void *tm, uint64_t job_id, uint32_t attempt)
{
    fake_tm *f = tm;
    pthread_mutex_lock(&f->mu);
    f->releases++;
    pthread_mutex_unlock(&f->mu);
}

static void fake_drop(void *tm)
{
    fake_tm *f = tm;
    pthread_mutex_lock(&f->mu);
    f->dropped = true;
    pthread_mutex_unlock(&f->mu);
}

static uint64_t add_tm(rill__jobmanager *jm, fake_tm *f, const char *id, int slots)
{
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    f->slots = slots;
    rill__msg_register_tm m = {.slots = (uint32_t)slots, .data_port = 7000};
    snprintf(m.tm_id, sizeof m.tm_id, "%s", id);
    snprintf(m.data_host, sizeof m.data_host, "127.0.0.1");
    rill__tm_gateway gw = {.tm = f,
                           .slots = slots,
                           .deploy = fake_deploy,
                           .cancel = fake_cancel,
                           .release = fake_release,
                           .trigger = fake_trigger,
                           .drop = fake_drop};
    uint64_t h, replaced;
    rill__jm_remote_tm_add(jm, &m, &gw, &h, &replaced);
    CHECK_EQ(replaced, 0);
    return h;
}

static int deploys_of(fake_tm *f)
{
    pthread_mutex_lock(&f->mu);
    int n = f->deploys;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* Waits up to 5 s for f to have been deployed to n times. */
static void wait_deploys(fake_tm *f, int n)
{
    for (int i = 0; i < 500 && deploys_of(f) < n; i++)
        usleep(10000);
    CHECK_EQ(deploys_of(f), n);
}

typedef struct waiter {
    rill__jobmanager *jm;
    uint64_t job;
    int rc;
    rill__err err;
    pthread_t thread;
} waiter;

static void *wait_main(void *arg)
{
    waiter *w = arg;
    w->rc = rill__jm_wait(w->jm, w->job, NULL, &w->err);
    return NULL;
}

/* generator -> key_by -> sink at parallelism 2: 2 slots, 4 tasks */
static rill_env *job(void)
{
    rill_env *env = rill_env_new();
    CHECK_RC(rill_env_set(env, "name", "sched"));
    CHECK_RC(rill_env_set(env, "parallelism", "2"));
    CHECK_RC(rill_env_set(env, "restart-strategy", "fixed-delay"));
    CHECK_RC(rill_env_set(env, "restart.attempts", "3"));
    CHECK_RC(rill_env_set(env, "restart.delay", "0"));
    rill_schema *s = NULL;
    CHECK_RC(rill_schema_parse("k INT64 NOT NULL, ts TIMESTAMP NOT NULL", &s));
    static rill_gen_field fl[2];
    fl[0] = (rill_gen_field){.name = "k", .kind = RILL_GEN_MODULO, .a = 0, .b = 10};
    fl[1] = (rill_gen_field){.name = "ts", .kind = RILL_GEN_SEQUENCE, .a = 0, .b = 1};
    rill_gen_opts g = {.seed = 1, .events = 100, .fields = fl, .n_fields = 2};
    rill_stream *src = rill_source_generator(env, s, &g);
    rill_watermark_opts wm = {.kind = RILL_WM_BOUNDED, .max_delay_ms = 0};
    rill_stream *et = rill_stream_event_time(src, "ts", &wm);
    rill_window_spec w = {
        .kind = RILL_WINDOW_TUMBLING, .domain = RILL_EVENT_TIME, .size_ms = 1000, .slide_ms = 1000};
    rill_agg_spec count = {RILL_AGG_COUNT, NULL, "n"};
    rill_sink_blackhole(rill_window_aggregate(rill_stream_key_by(et, "k"), &w, &count, 1));
    rill_schema_free(s);
    return env;
}

static rill__job_info info_of(rill__jobmanager *jm)
{
    rill__job_info *v;
    size_t n;
    CHECK_RC(rill__jm_jobs(jm, &v, &n));
    CHECK_EQ(n, 1);
    rill__job_info i = v[0];
    free(v);
    return i;
}

static void report_all(rill__jobmanager *jm, uint64_t job, uint32_t attempt, int n_tasks,
                       rill__task_state st)
{
    rill__jm_gateway jg = rill__jm_gateway_local(jm);
    for (int t = 0; t < n_tasks; t++)
        jg.task_state(jg.jm, job, attempt, t, st, 0, "");
}

TEST(scheduler_waits_spreads_and_fails_over)
{
    rill_env *env = job();
    rill__exec_graph *g;
    CHECK_RC(rill__exec_build(env, &g));
    CHECK_EQ(g->max_vertex_p, 2);
    rill__jobmanager *jm = rill__jm_new();
    rill__jm_set_wait_for_slots(jm, true);
    waiter w = {.jm = jm};
    rill__err err = {0};
    CHECK_RC(rill__jm_submit(jm, g, &w.job, &err));
    rill__job_info i = info_of(jm);
    CHECK_EQ(i.state, RILL_JOB_CREATED);
    CHECK_CONTAINS(i.status, "waiting for slots: the job needs 2, 0 free");
    pthread_create(&w.thread, NULL, wait_main, &w);

    /* one slot is not enough */
    fake_tm a, b, c;
    add_tm(jm, &a, "tm-a", 1);
    usleep(50000);
    CHECK_EQ(deploys_of(&a), 0);
    CHECK_CONTAINS(info_of(jm).status, "needs 2, 1 free on 1 TaskManager");
    /* a second TaskManager: subtask 0 of every vertex on one, subtask 1 on the other */
    uint64_t hb = add_tm(jm, &b, "tm-b", 1);
    wait_deploys(&a, 1);
    wait_deploys(&b, 1);
    CHECK_EQ(info_of(jm).state, RILL_JOB_RUNNING);
    CHECK_EQ(a.n_tasks + b.n_tasks, g->n_tasks);
    CHECK_EQ(a.n_tasks, b.n_tasks);
    CHECK_EQ(a.plan_tms, 2);
    CHECK(a.self != b.self);
    for (int k = 0; k < a.n_tasks; k++)
        for (int v = 0; v < g->n_vertices; v++)
            if (a.tasks[k] >= g->vertices[v]->first_task &&
                a.tasks[k] < g->vertices[v]->first_task + g->vertices[v]->parallelism)
                CHECK_EQ(a.tasks[k] - g->vertices[v]->first_task, a.tasks[0] == 0 ? 0 : 1);
    rill__tm_info *tms;
    size_t n_tms;
    CHECK_RC(rill__jm_taskmanagers(jm, &tms, &n_tms));
    CHECK_EQ(n_tms, 2);
    CHECK_EQ(tms[0].free_slots + tms[1].free_slots, 0);
    free(tms);

    /* tm-b is lost: the attempt fails over; one slot is left, so it waits for a new one */
    rill__jm_remote_tm_remove(jm, hb, "no heartbeat for 10000 ms");
    usleep(30000);
    CHECK_EQ(info_of(jm).restarts, 0); /* tm-a's tasks have not ended yet */
    pthread_mutex_lock(&a.mu);
    CHECK_EQ(a.cancels, 1);
    pthread_mutex_unlock(&a.mu);
    rill__jm_gateway jg = rill__jm_gateway_local(jm);
    for (int k = 0; k < a.n_tasks; k++) /* they end, canceled */
        jg.task_state(jg.jm, w.job, 0, a.tasks[k], RILL_TASK_CANCELED, 0, "");
    for (int k = 0; k < 500 && info_of(jm).restarts < 1; k++)
        usleep(10000);
    i = info_of(jm);
    CHECK_EQ(i.restarts, 1);
    CHECK_CONTAINS(i.error, "TaskManager tm-b (127.0.0.1:7000) was lost: no heartbeat");
    pthread_mutex_lock(&a.mu);
    CHECK(a.cancels >= 1);
    CHECK(a.releases >= 1);
    pthread_mutex_unlock(&a.mu);
    for (int k = 0; k < 500 && !b.dropped; k++)
        usleep(10000);
    CHECK(b.dropped); /* the JobManager holds the lost one's gateway no more */
    CHECK_CONTAINS(info_of(jm).status, "waiting for slots");
    add_tm(jm, &c, "tm-c", 1);
    wait_deploys(&a, 2);
    wait_deploys(&c, 1);
    CHECK_EQ(a.last_attempt, 1);
    CHECK_EQ(c.last_attempt, 1);

    /* reports about attempt 0 are stale: the job does not end on them */
    report_all(jm, w.job, 0, g->n_tasks, RILL_TASK_FAILED);
    usleep(50000);
    CHECK_EQ(info_of(jm).state, RILL_JOB_RUNNING);
    CHECK_EQ(info_of(jm).restarts, 1);
    /* duplicates count once; attempt 1 finishes */
    report_all(jm, w.job, 1, g->n_tasks, RILL_TASK_FINISHED);
    report_all(jm, w.job, 1, g->n_tasks, RILL_TASK_FINISHED);
    pthread_join(w.thread, NULL);
    CHECK_RC(w.rc);
    i = info_of(jm);
    CHECK_EQ(i.state, RILL_JOB_FINISHED);
    CHECK(i.end_ms >= i.start_ms);
    rill__jm_free(jm);
    CHECK(a.dropped && c.dropped);
    rill__exec_free(g);
    rill_env_free(env);
}

TEST(scheduler_cancel_while_waiting_for_slots)
{
    rill_env *env = job();
    rill__exec_graph *g;
    CHECK_RC(rill__exec_build(env, &g));
    rill__jobmanager *jm = rill__jm_new();
    rill__jm_set_wait_for_slots(jm, true);
    waiter w = {.jm = jm};
    rill__err err = {0};
    CHECK_RC(rill__jm_submit(jm, g, &w.job, &err));
    pthread_create(&w.thread, NULL, wait_main, &w);
    usleep(30000);
    rill__jm_cancel(jm, w.job);
    pthread_join(w.thread, NULL);
    CHECK_EQ(w.rc, RILL_ECANCELED);
    CHECK_EQ(info_of(jm).state, RILL_JOB_CANCELED);
    rill__jm_free(jm);
    rill__exec_free(g);
    rill_env_free(env);
}

TEST(scheduler_without_waiting_refuses_too_few_slots)
{
    rill_env *env = job();
    rill__exec_graph *g;
    CHECK_RC(rill__exec_build(env, &g));
    rill__jobmanager *jm = rill__jm_new();
    fake_tm a;
    add_tm(jm, &a, "tm-a", 1);
    uint64_t id;
    rill__err err = {0};
    CHECK_EQ(rill__jm_submit(jm, g, &id, &err), RILL_ELIMIT);
    CHECK_CONTAINS(err.msg, "needs 2 slots");
    rill__jm_free(jm);
    rill__exec_free(g);
    rill_env_free(env);
}

static void wait_state(rill__jobmanager *jm, rill__job_state st)
{
    for (int i = 0; i < 1000 && info_of(jm).state != st; i++)
        usleep(10000);
    CHECK_EQ(info_of(jm).state, st);
}

/* A cancel while the job waits out its restart delay ends the job at once, CANCELED: not
 * FAILED, and not after the delay (a day here: the test would time out). */
TEST(scheduler_cancel_during_restart_delay)
{
    rill_env *env = job();
    CHECK_RC(rill_env_set(env, "restart.delay", "86400000"));
    rill__exec_graph *g;
    CHECK_RC(rill__exec_build(env, &g));
    rill__jobmanager *jm = rill__jm_new();
    fake_tm a, b;
    add_tm(jm, &a, "tm-a", 1);
    add_tm(jm, &b, "tm-b", 1);
    waiter w = {.jm = jm};
    rill__err err = {0};
    CHECK_RC(rill__jm_submit(jm, g, &w.job, &err));
    pthread_create(&w.thread, NULL, wait_main, &w);
    wait_deploys(&a, 1);
    rill__jm_gateway jg = rill__jm_gateway_local(jm);
    jg.task_state(jg.jm, w.job, 0, 0, RILL_TASK_FAILED, RILL_EIO, "injected failure");
    report_all(jm, w.job, 0, g->n_tasks, RILL_TASK_CANCELED);
    wait_state(jm, RILL_JOB_RESTARTING);
    CHECK_EQ(info_of(jm).restarts, 1);
    rill__jm_cancel(jm, w.job);
    pthread_join(w.thread, NULL);
    CHECK_EQ(w.rc, RILL_ECANCELED);
    CHECK_CONTAINS(w.err.msg, "canceled");
    rill__job_info i = info_of(jm);
    CHECK_EQ(i.state, RILL_JOB_CANCELED);
    CHECK_EQ(deploys_of(&a), 1); /* never deployed again */
    rill__jm_free(jm);
    rill__exec_free(g);
    rill_env_free(env);
}

/* A checkpoint that cannot be read while the job restarts (here: chk-1/_metadata is a
 * directory, an I/O error that is no sign of a damaged checkpoint) fails that restart, and the
 * restart strategy tries again: attempt after attempt until it loads, or until the strategy
 * gives up, with the reason. */
TEST(scheduler_restart_retries_a_checkpoint_it_cannot_read)
{
    char *ck = rill__xasprintf("%s/ck", rill_test_tmpdir());
    char *meta = rill__xasprintf("%s/sched/chk-1/_metadata", ck);
    for (int pass = 0; pass < 2; pass++) { /* 0: it passes; 1: the attempts run out */
        CHECK_RC(rill__mkdirs(meta, 0755));
        rill_env *env = job();
        CHECK_RC(rill_env_set(env, "checkpoint.dir", ck));
        CHECK_RC(rill_env_set(env, "checkpoint.interval", "86400000"));
        CHECK_RC(rill_env_set(env, "restart.attempts", pass == 0 ? "100000" : "3"));
        CHECK_RC(rill_env_set(env, "restart.delay", pass == 0 ? "5" : "0"));
        rill__exec_graph *g;
        CHECK_RC(rill__exec_build(env, &g));
        rill__jobmanager *jm = rill__jm_new();
        fake_tm a, b;
        add_tm(jm, &a, "tm-a", 1);
        add_tm(jm, &b, "tm-b", 1);
        waiter w = {.jm = jm};
        rill__err err = {0};
        CHECK_RC(rill__jm_submit(jm, g, &w.job, &err));
        pthread_create(&w.thread, NULL, wait_main, &w);
        wait_deploys(&a, 1);
        rill__jm_gateway jg = rill__jm_gateway_local(jm);
        jg.task_state(jg.jm, w.job, 0, 0, RILL_TASK_FAILED, RILL_EIO, "injected failure");
        report_all(jm, w.job, 0, g->n_tasks, RILL_TASK_CANCELED);
        if (pass == 1) {
            pthread_join(w.thread, NULL);
            CHECK_EQ(w.rc, -EISDIR);
            CHECK_CONTAINS(w.err.msg, "restart failed");
            CHECK_CONTAINS(w.err.msg, meta);
            rill__job_info i = info_of(jm);
            CHECK_EQ(i.state, RILL_JOB_FAILED);
            CHECK_EQ(i.restarts, 3);
            CHECK_EQ(deploys_of(&a), 1);
        } else {
            /* tried again and again, each time failing to read the checkpoint */
            for (int k = 0; k < 1000 && info_of(jm).restarts < 3; k++)
                usleep(10000);
            rill__job_info i = info_of(jm);
            CHECK(i.restarts >= 3);
            CHECK_CONTAINS(i.error, "restart failed");
            CHECK_CONTAINS(i.error, meta);
            CHECK_EQ(deploys_of(&a), 1);
            /* the error passes: no checkpoint at all now, so the job starts over */
            char *chk = rill__xasprintf("%s/sched/chk-1", ck);
            CHECK_RC(rill__remove_tree(chk));
            free(chk);
            wait_deploys(&a, 2);
            uint32_t attempt = a.last_attempt;
            CHECK(attempt >= 3);
            report_all(jm, w.job, attempt, g->n_tasks, RILL_TASK_FINISHED);
            pthread_join(w.thread, NULL);
            CHECK_RC(w.rc);
            CHECK_EQ(info_of(jm).state, RILL_JOB_FINISHED);
        }
        rill__jm_free(jm);
        rill__exec_free(g);
        rill_env_free(env);
        CHECK_RC(rill__remove_tree(ck));
    }
    free(meta);
    free(ck);
}

typedef struct sp_waiter {
    rill__jobmanager *jm;
    uint64_t job;
    const char *dir;
    int rc;
    char *location;
    rill__err err;
    atomic_bool done;
    pthread_t thread;
} sp_waiter;

static void *savepoint_main(void *arg)
{
    sp_waiter *s = arg;
    s->rc = rill__jm_savepoint(s->jm, s->job, s->dir, RILL_STOP_NONE, 100000, &s->location,
                               &s->err);
    atomic_store(&s->done, true);
    return NULL;
}

/* A checkpoint's commit (here a savepoint's copy, held up on a full pipe where a task file goes)
 * does not hold the JobManager's lock: while it cannot go on, task reports, heartbeats, the
 * REST API's calls and checkpoint acknowledgements are all answered; and it ends with its
 * outcome once the file I/O can go on. */
TEST(scheduler_commit_io_outside_the_lock)
{
    char *ck = rill__xasprintf("%s/ck", rill_test_tmpdir());
    char *sp = rill__xasprintf("%s/sp", rill_test_tmpdir());
    rill_env *env = job();
    CHECK_RC(rill_env_set(env, "checkpoint.dir", ck));
    CHECK_RC(rill_env_set(env, "checkpoint.interval", "86400000"));
    rill__exec_graph *g;
    CHECK_RC(rill__exec_build(env, &g));
    rill__jobmanager *jm = rill__jm_new();
    fake_tm a, b;
    add_tm(jm, &a, "tm-a", 1);
    uint64_t hb = add_tm(jm, &b, "tm-b", 1);
    waiter w = {.jm = jm};
    rill__err err = {0};
    CHECK_RC(rill__jm_submit(jm, g, &w.job, &err));
    pthread_create(&w.thread, NULL, wait_main, &w);
    wait_deploys(&a, 1);
    report_all(jm, w.job, 0, g->n_tasks, RILL_TASK_RUNNING);

    /* the savepoint's task-0 is a pipe that nobody reads yet: its copy stops when it is full */
    char *sp_dir = rill__xasprintf("%s/savepoint-sched-1", sp);
    CHECK_RC(rill__mkdirs(sp_dir, 0755));
    char *fifo = rill__xasprintf("%s/task-0", sp_dir);
    CHECK(mkfifo(fifo, 0644) == 0);
    int rfd = open(fifo, O_RDONLY | O_NONBLOCK);
    CHECK(rfd >= 0);

    sp_waiter s = {.jm = jm, .job = w.job, .dir = sp};
    pthread_create(&s.thread, NULL, savepoint_main, &s);
    for (int k = 0; k < 1000; k++) {
        pthread_mutex_lock(&a.mu);
        uint64_t id = a.triggered;
        pthread_mutex_unlock(&a.mu);
        if (id)
            break;
        usleep(10000);
    }
    CHECK_EQ(a.triggered, 1);
    rill__ckpt_store *store;
    CHECK_RC(rill__ckpt_store_open(ck, "sched", 1, &store, &err));
    size_t big = (size_t)1 << 20; /* well over a pipe's 64 KiB */
    char *data = rill__xcalloc(big, 1);
    rill__jm_gateway jg = rill__jm_gateway_local(jm);
    for (int t = 0; t < g->n_tasks; t++) {
        char name[32];
        snprintf(name, sizeof name, "task-%d", t);
        CHECK_RC(rill__ckpt_write_data(store, 1, name, data, t == 0 ? big : 10, &err));
        jg.ack(jg.jm, w.job, 0, t, 1, 0, 10, 10, 0, NULL, name, NULL);
    }
    /* the commit is under way: bytes of task-0 are in the pipe, and the rest of its 1 MiB
     * cannot follow until the pipe is read */
    int avail = 0;
    for (int k = 0; k < 1000 && avail == 0; k++) {
        CHECK(ioctl(rfd, FIONREAD, &avail) == 0);
        if (avail == 0)
            usleep(10000);
    }
    CHECK(avail > 0);
    /* meanwhile: the REST API, heartbeats, task reports, acknowledgements all go through */
    rill__job_info i = info_of(jm);
    CHECK_EQ(i.state, RILL_JOB_RUNNING);
    CHECK_EQ(i.last_checkpoint, 0);
    rill__jm_remote_tm_seen(jm, hb);
    rill__tm_info *tms;
    size_t n_tms;
    CHECK_RC(rill__jm_taskmanagers(jm, &tms, &n_tms));
    CHECK_EQ(n_tms, 2);
    free(tms);
    rill__ckpt_stats *st;
    rill__op_state *ops;
    size_t n_st, n_ops;
    CHECK_RC(rill__jm_checkpoint_stats(jm, w.job, &st, &n_st, &ops, &n_ops, &err));
    CHECK_EQ(n_st, 0); /* not complete yet */
    free(st);
    free(ops);
    uint64_t found;
    CHECK_RC(rill__jm_find(jm, "sched", &found));
    CHECK_EQ(found, w.job);
    jg.task_state(jg.jm, w.job, 0, 0, RILL_TASK_RUNNING, 0, "");
    jg.ack(jg.jm, w.job, 0, 1, 1, 0, 10, 10, 0, NULL, "task-1", NULL); /* a duplicate */
    CHECK(!atomic_load(&s.done));

    /* the pipe is read: the copy goes on, and fails (a pipe cannot be fsynced), which fails
     * the savepoint with the reason; the job runs on */
    int fl = fcntl(rfd, F_GETFL);
    CHECK(fcntl(rfd, F_SETFL, fl & ~O_NONBLOCK) == 0);
    size_t got = 0;
    for (ssize_t r; (r = read(rfd, data, big)) > 0;)
        got += (size_t)r;
    CHECK(got > big);
    close(rfd);
    pthread_join(s.thread, NULL);
    CHECK(s.rc < 0);
    CHECK_CONTAINS(s.err.msg, "savepoint 1 failed: writing the savepoint");
    CHECK_CONTAINS(s.err.msg, fifo);
    CHECK_EQ(info_of(jm).state, RILL_JOB_RUNNING);
    CHECK_RC(rill__jm_checkpoint_stats(jm, w.job, &st, &n_st, &ops, &n_ops, &err));
    CHECK_EQ(n_st, 1);
    CHECK_STR(st[0].status, "FAILED");
    free(st);
    free(ops);

    report_all(jm, w.job, 0, g->n_tasks, RILL_TASK_FINISHED);
    pthread_join(w.thread, NULL);
    CHECK_RC(w.rc);
    rill__ckpt_store_free(store);
    free(data);
    free(fifo);
    free(sp_dir);
    rill__jm_free(jm);
    rill__exec_free(g);
    rill_env_free(env);
    free(sp);
    free(ck);
}
