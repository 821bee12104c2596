/* test_remote_job.c - job runs across processes (runtime layer): one job graph built twice, as
 * two TaskManagers would, its tasks split between "process 0" and "process 1" whose channels
 * meet over one data-plane connection (rill__placement, remote endpoints). */
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/remote.h"
#include "test.h"

#define MAX_TASKS 64
#define WAIT_NS   (10 * INT64_C(1000000000))

/* ---- what the tasks of both sides report -------------------------------------------------- */

typedef struct out_row {
    int64_t k, n, sum;
} out_row;

static struct {
    pthread_mutex_t mu;
    out_row *rows;
    size_t n_rows, cap_rows;
    /* by side and task index: the task's final state (0 while running), its snapshots */
    rill__task_state state[2][MAX_TASKS];
    int snaps[2][MAX_TASKS][4]; /* by checkpoint id 1..3: snapshots reported */
    int snap_failures;
    char failure[RILL_ERRMSG_MAX];
} rec = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void rec_reset(void)
{
    pthread_mutex_lock(&rec.mu);
    free(rec.rows);
    rec.rows = NULL;
    rec.n_rows = rec.cap_rows = 0;
    memset(rec.state, 0, sizeof rec.state);
    memset(rec.snaps, 0, sizeof rec.snaps);
    rec.snap_failures = 0;
    rec.failure[0] = 0;
    pthread_mutex_unlock(&rec.mu);
}

static size_t n_rows(void)
{
    pthread_mutex_lock(&rec.mu);
    size_t n = rec.n_rows;
    pthread_mutex_unlock(&rec.mu);
    return n;
}

/* The running count and sum of v per key: (k, count, sum). */
static int running_sum(rill_ctx *ctx, const rill_row *in)
{
    const rill_state_desc *desc = rill_ctx_user(ctx);
    int64_t st[2] = {0, 0};
    int rc = rill_value_get(ctx, desc, st);
    if (rc < 0)
        return rc;
    st[0]++;
    st[1] += rill_row_i64(in, 1);
    if ((rc = rill_value_set(ctx, desc, st)) < 0)
        return rc;
    rill_row out;
    if ((rc = rill_emit(ctx, &out)) < 0)
        return rc;
    rill_row_set_i64(&out, 0, rill_row_i64(in, 0));
    rill_row_set_i64(&out, 1, st[0]);
    rill_row_set_i64(&out, 2, st[1]);
    return 0;
}

/* Keeps every row it sees (both sides share the record: one process in this test). */
static int collect(rill_ctx *ctx, const rill_row *in, rill_row *out)
{
    (void)ctx;
    out_row r = {rill_row_i64(in, 0), rill_row_i64(in, 1), rill_row_i64(in, 2)};
    pthread_mutex_lock(&rec.mu);
    rill__grow((void **)&rec.rows, &rec.cap_rows, rec.n_rows + 1, sizeof *rec.rows);
    rec.rows[rec.n_rows++] = r;
    pthread_mutex_unlock(&rec.mu);
    return rill_row_copy(out, in);
}

static int row_cmp(const void *a, const void *b)
{
    const out_row *x = a, *y = b;
    if (x->k != y->k)
        return x->k < y->k ? -1 : 1;
    return x->n == y->n ? 0 : (x->n < y->n ? -1 : 1);
}

/* What the sinks received, independent of the order of rows between subtasks: per key, its
 * row count and final sum ("k:count:sum "), checking that each key's counts are exactly
 * 1..count (no row lost or duplicated). Freed by the caller. */
static char *digest(void)
{
    pthread_mutex_lock(&rec.mu);
    qsort(rec.rows, rec.n_rows, sizeof *rec.rows, row_cmp);
    rill__buf b = {0};
    for (size_t i = 0; i < rec.n_rows; i++) {
        out_row *r = &rec.rows[i];
        int64_t want = i > 0 && rec.rows[i - 1].k == r->k ? rec.rows[i - 1].n + 1 : 1;
        if (r->n != want)
            rill_test_fail(__FILE__, __LINE__, "key %lld: count %lld after %lld", (long long)r->k,
                           (long long)r->n, (long long)want - 1);
        if (i + 1 == rec.n_rows || rec.rows[i + 1].k != r->k) {
            char s[96];
            int n = snprintf(s, sizeof s, "%lld:%lld:%lld ", (long long)r->k, (long long)r->n,
                             (long long)r->sum);
            rill__buf_append(&b, s, (size_t)n);
        }
    }
    pthread_mutex_unlock(&rec.mu);
    rill__buf_append(&b, "", 1);
    return b.data;
}

/* ---- two sides ------------------------------------------------------------------------------ */

typedef struct side {
    int no; /* 0 or 1; -1: the whole job in one process */
    rill_env *env;
    rill_schema *schema;
    rill__exec_graph *g;
    rill__job_run *run;
    rill__remote *ep; /* to the other side */
    int fd;           /* the endpoint's socket (the endpoint owns it) */
    atomic_int end_rc, ended;
    char end_msg[RILL_ERRMSG_MAX];
} side;

static void on_task(void *arg, rill__task *t, rill__task_state state, int rc, const char *msg)
{
    side *s = arg;
    (void)rc;
    if (state < RILL_TASK_FINISHED)
        return;
    pthread_mutex_lock(&rec.mu);
    rec.state[s->no < 0 ? 0 : s->no][rill__task_index(t)] = state;
    if (state == RILL_TASK_FAILED && !rec.failure[0])
        snprintf(rec.failure, sizeof rec.failure, "task %s failed: %s", rill__task_name(t), msg);
    pthread_mutex_unlock(&rec.mu);
}

static void on_snapshot(void *arg, rill__task *t, uint64_t id, int rc, rill__task_snap *ts,
                        int64_t align_ms)
{
    side *s = arg;
    (void)align_ms;
    rill__buf b = {0};
    if (rc == 0 && rill__task_snap_write(ts, &b, NULL, NULL, NULL) < 0)
        rc = RILL_EIO;
    rill__task_snap_free(ts);
    rill__buf_free(&b);
    pthread_mutex_lock(&rec.mu);
    if (rc < 0 || id < 1 || id > 3)
        rec.snap_failures++;
    else
        rec.snaps[s->no][rill__task_index(t)][id]++;
    pthread_mutex_unlock(&rec.mu);
}

/* The TaskManager's part: a connection's error fails the job run (its tasks are canceled). */
static void on_end(void *arg, rill__remote *e, int rc, const char *msg)
{
    side *s = arg;
    (void)e;
    if (atomic_load(&s->ended))
        return;
    snprintf(s->end_msg, sizeof s->end_msg, "%s", msg);
    atomic_store(&s->end_rc, rc);
    atomic_store(&s->ended, 1);
    if (rc != 0 && rc != RILL_ECANCELED && s->run)
        rill__job_run_cancel(s->run);
}

static rill__remote *endpoint_of(void *arg, int p, rill__err *err)
{
    side *s = arg;
    if (p != 1 - s->no) {
        rill__err_set(err, RILL_EINVAL, "no process %d", p);
        return NULL;
    }
    return s->ep;
}

/* generator (p_src) -> key_by k -> running sum (p_sum) -> collect (p_out) -> blackhole; events 0:
 * unbounded at rate rows per second. */
static void build(side *s, int no, int p_src, int p_sum, int p_out, int64_t events, double rate)
{
    memset(s, 0, sizeof *s);
    s->no = no;
    s->fd = -1;
    s->env = rill__env_new();
    CHECK_RC(rill_env_set(s->env, "batch-size", "7"));
    CHECK_RC(rill_env_set(s->env, "channel-capacity", "4"));
    CHECK_RC(
        rill_schema_parse("k INT64 NOT NULL, v INT64 NOT NULL, seq INT64 NOT NULL", &s->schema));
    static rill_gen_field f[3];
    f[0] = (rill_gen_field){.name = "k", .kind = RILL_GEN_UNIFORM_INT, .a = 0, .b = 49};
    f[1] = (rill_gen_field){.name = "v", .kind = RILL_GEN_UNIFORM_INT, .a = -1000, .b = 1000};
    f[2] = (rill_gen_field){.name = "seq", .kind = RILL_GEN_SEQUENCE, .a = 0, .b = 1};
    rill_gen_opts g = {.seed = 11, .events = events, .rate = rate, .fields = f, .n_fields = 3};
    rill_stream *src = rill_stream_uid(rill_source_generator(s->env, s->schema, &g), "gen");
    rill_stream_parallelism(src, p_src);
    rill_state_desc *desc = rill_value_state(s->env, "sum", 16);
    rill_stream *p = rill_keyed_process(rill_stream_key_by(src, "k"), NULL, running_sum, desc);
    rill_stream_parallelism(rill_stream_uid(p, "sum"), p_sum);
    rill_stream *c = rill_stream_uid(rill_stream_map(p, NULL, collect, NULL), "collect");
    rill_stream_parallelism(c, p_out);
    rill_stream_parallelism(rill_sink_blackhole(c), p_out);
    CHECK_RC(rill__exec_build(s->env, &s->g));
    CHECK_INT(s->g->n_tasks, <=, MAX_TASKS);
}

static void side_free(side *s)
{
    rill__job_run_free(s->run);
    rill__exec_free(s->g);
    rill_env_free(s->env);
    rill_schema_free(s->schema);
}

/* Even subtasks run in process 0, odd ones in process 1. */
static void split(const rill__exec_graph *g, int *proc_of_task)
{
    for (int v = 0; v < g->n_vertices; v++)
        for (int i = 0; i < g->vertices[v]->parallelism; i++)
            proc_of_task[g->vertices[v]->first_task + i] = i % 2;
}

/* Both sides' job runs over a socketpair, endpoints started (job runs not). */
static void connect_sides(side *a, side *b, int *proc_of_task, uint32_t out_cap)
{
    int fds[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    side *sides[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        side *s = sides[k];
        static const uint16_t none[] = {RILL_FT_HEARTBEAT};
        rill__frame_reader rd;
        rill__frame_reader_init(&rd, RILL_FRAME_CONTROL_MAX, none, 1);
        rill__remote_config cfg;
        rill__remote_config_default(&cfg);
        cfg.out_capacity = out_cap;
        cfg.max_rows = 16;
        cfg.out_buffer_bytes = 4096;
        cfg.half_close = true;
        cfg.on_end = on_end;
        cfg.on_end_arg = s;
        s->fd = fds[k];
        s->ep = rill__remote_new(fds[k], &rd, &cfg, k ? "process 0" : "process 1");
    }
    split(a->g, proc_of_task);
    for (int k = 0; k < 2; k++) {
        side *s = sides[k];
        int tasks[MAX_TASKS], n = 0;
        for (int t = 0; t < s->g->n_tasks; t++)
            if (proc_of_task[t] == s->no)
                tasks[n++] = t;
        rill__placement pl = {
            .proc_of_task = proc_of_task, .self = s->no, .endpoint = endpoint_of, .arg = s};
        rill__err err = {0};
        int rc = rill__job_run_new(s->g, tasks, n, &pl, NULL, on_task, s, &err, &s->run);
        if (rc)
            rill_test_fail(__FILE__, __LINE__, "job run %d: %s", s->no, err.msg);
    }
    CHECK_RC(rill__remote_start(a->ep));
    CHECK_RC(rill__remote_start(b->ep));
}

static int64_t node_count(const rill_env *env, const char *uid, bool in)
{
    for (size_t i = 0; i < env->n_nodes; i++)
        if (env->nodes[i]->uid && !strcmp(env->nodes[i]->uid, uid))
            return in ? atomic_load(&env->nodes[i]->records_in)
                      : atomic_load(&env->nodes[i]->records_out);
    rill_test_fail(__FILE__, __LINE__, "no node %s", uid);
}

/* The whole job in one process: the oracle. */
static char *run_local(int p_src, int p_sum, int p_out, int64_t events)
{
    rec_reset();
    side s;
    build(&s, -1, p_src, p_sum, p_out, events, 0);
    rill__err err = {0};
    CHECK_RC(rill__job_run_new(s.g, NULL, s.g->n_tasks, NULL, NULL, on_task, &s, &err, &s.run));
    CHECK_RC(rill__job_run_start(s.run));
    rill__job_run_join(s.run);
    CHECK_STR(rec.failure, "");
    CHECK_EQ(node_count(s.env, "sum", true), events);
    CHECK_EQ(n_rows(), (size_t)events);
    side_free(&s);
    return digest();
}

static void wait_until(bool (*cond)(void *), void *arg, const char *what)
{
    int64_t t0 = rill__mono_ns();
    while (!cond(arg)) {
        if (rill__mono_ns() - t0 > WAIT_NS)
            rill_test_fail(__FILE__, __LINE__, "timed out waiting for %s (%s)", what,
                           rec.failure[0] ? rec.failure : "no task failed");
        usleep(1000);
    }
}

static bool rows_flow(void *arg)
{
    return n_rows() >= (size_t)(intptr_t)arg;
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* The split job's sinks see what the job in one process sees; every channel kind crosses. */
static void split_equals_local(int p_src, int p_sum, int p_out, int64_t events, uint32_t out_cap)
{
    char *want = run_local(p_src, p_sum, p_out, events);
    rec_reset();
    side a, b;
    build(&a, 0, p_src, p_sum, p_out, events, 0);
    build(&b, 1, p_src, p_sum, p_out, events, 0);
    int proc_of_task[MAX_TASKS];
    connect_sides(&a, &b, proc_of_task, out_cap);
    /* only the channels with an end here have rings; the rest are the other process's */
    for (int e = 0; e < a.g->n_edges; e++) {
        rill__exec_edge *ed = a.g->edges[e];
        for (int i = 0; i < ed->src_v->parallelism; i++)
            for (int j = 0; j < ed->dst_v->parallelism; j++) {
                bool src0 = proc_of_task[ed->src_v->first_task + i] == 0;
                bool dst0 = proc_of_task[ed->dst_v->first_task + j] == 0;
                CHECK_EQ(rill__job_run_channel(a.run, e, i, j) != NULL, src0 || dst0);
                CHECK_EQ(rill__job_run_channel(b.run, e, i, j) != NULL, !src0 || !dst0);
            }
    }
    CHECK_RC(rill__job_run_start(a.run));
    CHECK_RC(rill__job_run_start(b.run));
    rill__job_run_join(a.run);
    rill__job_run_join(b.run);
    CHECK_STR(rec.failure, "");
    /* every message has crossed: both connections end in order by themselves */
    rill__err err = {0};
    CHECK_EQ(rill__remote_wait(a.ep, 10000, &err), 0);
    CHECK_CONTAINS(err.msg, "every channel ended");
    CHECK_EQ(rill__remote_wait(b.ep, 10000, &err), 0);
    rill__remote_stats st;
    rill__remote_get_stats(a.ep, &st);
    CHECK_INT(st.frames_out, >, 0);
    rill__remote_get_stats(b.ep, &st);
    CHECK_INT(st.frames_out, >, 0);
    rill__remote_free(a.ep);
    rill__remote_free(b.ep);
    for (int t = 0; t < a.g->n_tasks; t++)
        CHECK_EQ(rec.state[proc_of_task[t]][t], RILL_TASK_FINISHED);
    /* the counts of both halves add up to the whole job's */
    CHECK_EQ(node_count(a.env, "gen", false) + node_count(b.env, "gen", false), events);
    CHECK_EQ(node_count(a.env, "sum", true) + node_count(b.env, "sum", true), events);
    CHECK_EQ(node_count(a.env, "collect", true) + node_count(b.env, "collect", true), events);
    CHECK_EQ(n_rows(), (size_t)events);
    char *got = digest();
    CHECK_STR(got, want);
    free(got);
    free(want);
    side_free(&a);
    side_free(&b);
    rec_reset();
}

TEST(remote_job_split_equals_one_process)
{
    /* hash edge 1 -> 3 (the source only in process 0), rebalance 3 -> 2 */
    split_equals_local(1, 3, 2, 5000, 4);
    /* hash 2 -> 4, rebalance 4 -> 3; tiny remote rings: back-pressure across the connection */
    split_equals_local(2, 4, 3, 20000, 2);
}

TEST(remote_job_without_placement_refuses_crossing)
{
    side a;
    build(&a, 0, 2, 3, 2, 10, 0);
    int proc_of_task[MAX_TASKS], tasks[MAX_TASKS], n = 0;
    split(a.g, proc_of_task);
    for (int t = 0; t < a.g->n_tasks; t++)
        if (proc_of_task[t] == 0)
            tasks[n++] = t;
    rill__err err = {0};
    CHECK_EQ(rill__job_run_new(a.g, tasks, n, NULL, NULL, NULL, NULL, &err, &a.run), RILL_ENOTSUP);
    CHECK_CONTAINS(err.msg, "crosses processes");
    CHECK(a.run == NULL);
    /* a task placed here but left out, and a listed task placed elsewhere */
    a.ep = NULL;
    rill__placement pl = {
        .proc_of_task = proc_of_task, .self = 0, .endpoint = endpoint_of, .arg = &a};
    err = (rill__err){0};
    CHECK_EQ(rill__job_run_new(a.g, tasks + 1, n - 1, &pl, NULL, NULL, NULL, &err, &a.run),
             RILL_EINVAL); /* source subtask 0 left out */
    CHECK_CONTAINS(err.msg, "placed in this process");
    err = (rill__err){0};
    pl.self = 1;
    CHECK_EQ(rill__job_run_new(a.g, tasks, n, &pl, NULL, NULL, NULL, &err, &a.run), RILL_EINVAL);
    CHECK_CONTAINS(err.msg, "placed in process 0");
    /* no endpoint to the other process */
    pl.self = 0;
    err = (rill__err){0};
    CHECK_EQ(rill__job_run_new(a.g, tasks, n, &pl, NULL, NULL, NULL, &err, &a.run), RILL_EINVAL);
    CHECK_CONTAINS(err.msg, "no data connection to process 1");
    side_free(&a);
}

static bool all_snapshotted(void *arg)
{
    const int *proc_of_task = ((void **)arg)[0];
    intptr_t ctx = (intptr_t)((void **)arg)[1];
    int n_tasks = (int)(ctx >> 8), id = (int)(ctx & 0xff);
    pthread_mutex_lock(&rec.mu);
    bool all = true;
    for (int t = 0; t < n_tasks && all; t++)
        all = rec.snaps[proc_of_task[t]][t][id] > 0;
    pthread_mutex_unlock(&rec.mu);
    return all;
}

TEST(remote_job_barriers_align_across_processes)
{
    rec_reset();
    side a, b;
    build(&a, 0, 2, 3, 2, 0, 50000); /* unbounded: the sources still read at the trigger */
    build(&b, 1, 2, 3, 2, 0, 50000);
    int proc_of_task[MAX_TASKS];
    connect_sides(&a, &b, proc_of_task, 4);
    rill__job_run_on_snapshot(a.run, on_snapshot, &a, true);
    rill__job_run_on_snapshot(b.run, on_snapshot, &b, true);
    CHECK_RC(rill__job_run_start(a.run));
    CHECK_RC(rill__job_run_start(b.run));
    wait_until(rows_flow, (void *)(intptr_t)100, "rows through both processes");
    for (int id = 1; id <= 3; id++) {
        /* the coordinator triggers every source, in whichever process it runs */
        rill__job_run_trigger(a.run, (uint64_t)id, RILL_STOP_NONE, false);
        rill__job_run_trigger(b.run, (uint64_t)id, RILL_STOP_NONE, false);
        void *arg[2] = {proc_of_task, (void *)(intptr_t)(a.g->n_tasks << 8 | id)};
        wait_until(all_snapshotted, arg, "every task's snapshot");
    }
    pthread_mutex_lock(&rec.mu);
    for (int t = 0; t < a.g->n_tasks; t++) /* exactly once per checkpoint, on its own side */
        for (int id = 1; id <= 3; id++) {
            CHECK_EQ(rec.snaps[proc_of_task[t]][t][id], 1);
            CHECK_EQ(rec.snaps[1 - proc_of_task[t]][t][id], 0);
        }
    CHECK_EQ(rec.snap_failures, 0);
    pthread_mutex_unlock(&rec.mu);
    CHECK_STR(rec.failure, "");
    /* the joins return: every task saw the cancel (no wall-clock bound: a loaded machine) */
    rill__job_run_cancel(a.run);
    rill__job_run_cancel(b.run);
    rill__job_run_join(a.run);
    rill__job_run_join(b.run);
    for (int t = 0; t < a.g->n_tasks; t++)
        CHECK_EQ(rec.state[proc_of_task[t]][t], RILL_TASK_CANCELED);
    rill__remote_free(a.ep);
    rill__remote_free(b.ep);
    side_free(&a);
    side_free(&b);
    rec_reset();
}

static bool side_ended(void *arg)
{
    return atomic_load(&((side *)arg)->ended) != 0;
}

/* The connection dies mid-job: process 1's socket is shut (free_b false) or process 1 goes
 * away as a whole (its job run canceled, its endpoint freed). Process 0's endpoint reports the
 * error, its on_end cancels the job run, and every task ends at once. */
static void peer_dies(bool free_b)
{
    rec_reset();
    side a, b;
    build(&a, 0, 2, 3, 2, 0, 0); /* unbounded, full speed: tasks block on full rings */
    build(&b, 1, 2, 3, 2, 0, 0);
    int proc_of_task[MAX_TASKS];
    connect_sides(&a, &b, proc_of_task, 2);
    CHECK_RC(rill__job_run_start(a.run));
    CHECK_RC(rill__job_run_start(b.run));
    wait_until(rows_flow, (void *)(intptr_t)1000, "rows through both processes");
    if (free_b) {
        rill__job_run_cancel(b.run);
        rill__job_run_join(b.run);
        rill__remote_free(b.ep);
        b.ep = NULL;
    } else {
        CHECK_EQ(shutdown(b.fd, SHUT_RDWR), 0);
    }
    rill__err err = {0};
    int rc = rill__remote_wait(a.ep, 10000, &err);
    CHECK_INT(rc, <, 0);
    CHECK_INT(rc, !=, RILL_ECANCELED);
    CHECK_CONTAINS(err.msg, "process 1");
    wait_until(side_ended, &a, "on_end"); /* told right after the wait's wake-up */
    CHECK_EQ(atomic_load(&a.end_rc), rc);
    rill__job_run_join(a.run); /* canceled by on_end */
    if (!free_b) {
        CHECK_INT(rill__remote_wait(b.ep, 10000, &err), <, 0);
        rill__job_run_join(b.run); /* its own endpoint failed too */
    }
    for (int t = 0; t < a.g->n_tasks; t++) {
        rill__task_state s = rec.state[proc_of_task[t]][t];
        if (s != RILL_TASK_CANCELED && s != RILL_TASK_FAILED)
            rill_test_fail(__FILE__, __LINE__, "task %d ended %s", t, rill__task_state_name(s));
    }
    rill__remote_free(a.ep);
    rill__remote_free(b.ep);
    side_free(&a);
    side_free(&b);
    rec_reset();
}

TEST(remote_job_peer_socket_dies)
{
    peer_dies(false);
}

TEST(remote_job_peer_process_goes_away)
{
    peer_dies(true);
}
