/* test_alignment.c - unit tests of checkpoints below the job level: barrier alignment in the
 * input gate of a task with several inputs (runtime layer), fed by hand through the task's
 * channels, and the checkpoint coordinator's timeout, tolerance, minimum pause and number of
 * checkpoints in flight (cluster layer), driven directly with the times the test chooses. */
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "harness.h"
#include "test.h"

#define WAIT_NS ((int64_t)20 * 1000 * 1000 * 1000) /* generous: a loaded machine is slow */

/* ---- a source that never emits a row ----------------------------------------------------------
 * Its task sends only the startup wave (its first message) into its channel; from then on the
 * test is the channel's one producer. */

static const rill__source_ops silent_source_ops;

static int silent_create(const void *cfg, const rill_schema *schema, const rill__conn_init *init,
                         rill__source **out)
{
    (void)cfg, (void)schema, (void)init;
    rill__source *s = rill__xcalloc(1, sizeof *s);
    s->ops = &silent_source_ops;
    *out = s;
    return 0;
}

static int silent_poll(rill__source *s, rill_batch *b, int64_t *wait_ns_out)
{
    (void)s, (void)b;
    *wait_ns_out = 50 * 1000 * 1000;
    return RILL_AGAIN;
}

static void silent_destroy(rill__source *s)
{
    free(s);
}

static const rill__source_ops silent_source_ops = {
    .kind = "silent", .create = silent_create, .poll = silent_poll, .destroy = silent_destroy};

/* ---- what the task under test did ------------------------------------------------------------ */

#define LOG_CAP   1024
#define MAX_SNAPS 16

typedef struct snap {
    int task;
    uint64_t id;
    int rc;
    int n_logged; /* rows the count operator had processed when the snapshot was taken */
    char *data;
    size_t len;
    int64_t align_ms;
} snap;

static struct {
    int64_t tag[LOG_CAP], wm[LOG_CAP]; /* by processed row: its tag, the watermark it saw */
    atomic_int n;
    pthread_mutex_t mu;
    snap snaps[MAX_SNAPS];
    int n_snaps;
    char failure[RILL_ERRMSG_MAX];
} rec = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const rill_state_desc *count_desc;

/* The keyed operator under test: counts rows per key and logs each row it processes. */
static int count_row(rill_ctx *ctx, const rill_row *in)
{
    int64_t n = 0;
    int rc = rill_value_get(ctx, count_desc, &n);
    if (rc < 0)
        return rc;
    n++;
    if ((rc = rill_value_set(ctx, count_desc, &n)) < 0)
        return rc;
    int i = atomic_load_explicit(&rec.n, memory_order_relaxed);
    RILL_ASSERT(i < LOG_CAP);
    rec.tag[i] = rill_row_i64(in, 1);
    rec.wm[i] = rill_ctx_watermark(ctx);
    atomic_store_explicit(&rec.n, i + 1, memory_order_release);
    return 0;
}

static void on_snapshot(void *arg, rill__task *t, uint64_t id, int rc, rill__task_snap *ts,
                        int64_t align_ms)
{
    (void)arg;
    /* written at once, on the task's thread: what the barrier saw */
    rill__buf b = {0};
    if (rc == 0 && rill__task_snap_write(ts, &b, NULL, NULL, NULL) < 0)
        rc = RILL_EIO;
    rill__task_snap_free(ts);
    char *data = b.data;
    size_t len = b.len;
    pthread_mutex_lock(&rec.mu);
    if (rec.n_snaps < MAX_SNAPS) {
        rec.snaps[rec.n_snaps++] =
            (snap){rill__task_index(t), id, rc, atomic_load(&rec.n), data, len, align_ms};
        data = NULL;
    }
    pthread_mutex_unlock(&rec.mu);
    free(data);
}

static void on_task_state(void *arg, rill__task *t, rill__task_state state, int rc, const char *msg)
{
    (void)arg, (void)rc;
    if (state != RILL_TASK_FAILED)
        return;
    pthread_mutex_lock(&rec.mu);
    snprintf(rec.failure, sizeof rec.failure, "task %s failed: %s", rill__task_name(t), msg);
    pthread_mutex_unlock(&rec.mu);
}

static int n_logged(void)
{
    return atomic_load_explicit(&rec.n, memory_order_acquire);
}

static int n_snaps(void)
{
    pthread_mutex_lock(&rec.mu);
    int n = rec.n_snaps;
    pthread_mutex_unlock(&rec.mu);
    return n;
}

/* The tags of the rows logged in [from, to), sorted: "101 102 201". Four rotating buffers. */
static const char *tags(int from, int to)
{
    static char bufs[4][1024];
    static int next;
    char *out = bufs[next++ % 4];
    int64_t t[LOG_CAP];
    int n = 0;
    for (int i = from; i < to; i++) {
        int64_t v = rec.tag[i];
        int j = n++;
        for (; j > 0 && t[j - 1] > v; j--)
            t[j] = t[j - 1];
        t[j] = v;
    }
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < n && len < 1000; i++)
        len += (size_t)snprintf(out + len, 1024 - len, "%s%lld", i ? " " : "", (long long)t[i]);
    return out;
}

/* The watermark the row tagged tag saw. */
static int64_t wm_of(int64_t tag)
{
    int n = n_logged();
    for (int i = 0; i < n; i++)
        if (rec.tag[i] == tag)
            return rec.wm[i];
    rill_test_fail(__FILE__, __LINE__, "row %lld was not processed", (long long)tag);
}

/* Waits for cond(arg), failing with what the task did when it takes longer than WAIT_NS. */
static void wait_for(bool (*cond)(const void *), const void *arg, const char *what)
{
    int64_t t0 = rill__mono_ns();
    while (!cond(arg)) {
        if (rill__mono_ns() - t0 > WAIT_NS) {
            pthread_mutex_lock(&rec.mu);
            rill_test_fail(__FILE__, __LINE__,
                           "timed out waiting for %s; processed: %s; "
                           "snapshots: %d; %s",
                           what, tags(0, n_logged()), rec.n_snaps, rec.failure);
        }
        usleep(50);
    }
}

static bool is_logged(const void *arg)
{
    int64_t tag = *(const int64_t *)arg;
    int n = n_logged();
    for (int i = 0; i < n; i++)
        if (rec.tag[i] == tag)
            return true;
    return false;
}

static void wait_logged(int64_t tag)
{
    char what[64];
    snprintf(what, sizeof what, "row %lld", (long long)tag);
    wait_for(is_logged, &tag, what);
}

static bool has_snaps(const void *arg)
{
    return n_snaps() >= *(const int *)arg;
}

/* The i-th snapshot taken (0-based), once it is. */
static const snap *wait_snapshot(int i)
{
    int want = i + 1;
    wait_for(has_snaps, &want, "a snapshot");
    pthread_mutex_lock(&rec.mu);
    const snap *s = &rec.snaps[i];
    pthread_mutex_unlock(&rec.mu);
    return s;
}

/* ---- a job whose gate the test feeds ----------------------------------------------------------
 * src (silent, parallelism n) -> key_by k -> count (parallelism 1) -> blackhole. The count task
 * has n inputs, input c being the channel from source subtask c; rows, watermarks, barriers and
 * ends of input arrive on each exactly where the test puts them. */

enum { A, B, C };

typedef struct gate {
    rill_env *env;
    rill_schema *schema;
    rill__exec_graph *g;
    rill__job_run *run;
    rill__channel *in[4];
    int n_in;
    int task; /* the count task's index */
} gate;

/* Builds src -> key_by -> count -> blackhole in env; the source runs as n_src subtasks. */
static void build_job(rill_env *env, const rill_schema *schema, int n_src)
{
    rill__node *n = rill__graph_node(env, RILL_NODE_SOURCE, NULL, schema);
    n->source_ops = &silent_source_ops;
    rill_stream *src = rill__graph_stream(env, n, -1, n->out_schema);
    rill_stream_parallelism(rill_stream_uid(src, "src"), n_src);
    count_desc = rill_value_state(env, "count", 8);
    rill_stream *p = rill_keyed_process(rill_stream_key_by(src, "k"), NULL, count_row, NULL);
    rill_stream_parallelism(rill_stream_uid(p, "count"), 1);
    rill_stream_parallelism(rill_sink_blackhole(p), 1);
}

static bool wave_sent(const void *arg)
{
    return atomic_load_explicit(&((const rill__channel *)arg)->tail, memory_order_acquire) >= 1;
}

static void gate_start(gate *f, int n_in, bool exactly_once)
{
    memset(f, 0, sizeof *f);
    f->n_in = n_in;
    f->env = rill__env_new();
    CHECK_RC(rill_schema_parse("k INT64 NOT NULL, tag INT64 NOT NULL", &f->schema));
    build_job(f->env, f->schema, n_in);
    CHECK_RC(rill__exec_build(f->env, &f->g));
    CHECK_EQ(f->g->n_edges, 1);
    CHECK_EQ(f->g->n_vertices, 2);
    CHECK_EQ(f->g->edges[0]->dst_v->parallelism, 1);
    f->task = f->g->edges[0]->dst_v->first_task;
    rill__err err = {0};
    CHECK_RC(
        rill__job_run_new(f->g, NULL, f->g->n_tasks, NULL, NULL, on_task_state, NULL, &err, &f->run));
    rill__job_run_on_snapshot(f->run, on_snapshot, NULL, exactly_once);
    CHECK_RC(rill__job_run_start(f->run));
    for (int c = 0; c < n_in; c++) {
        f->in[c] = rill__job_run_channel(f->run, 0, c, 0);
        wait_for(wave_sent, f->in[c], "a source's first message");
    }
}

static void gate_stop(gate *f)
{
    rill__job_run_cancel(f->run);
    rill__job_run_join(f->run);
    rill__job_run_free(f->run);
    rill__exec_free(f->g);
    rill_env_free(f->env);
    rill_schema_free(f->schema);
    for (int i = 0; i < rec.n_snaps; i++)
        free(rec.snaps[i].data);
}

static void push(gate *f, int c, rill__msg m)
{
    int64_t t0 = rill__mono_ns();
    while (!rill__channel_try_push(f->in[c], &m)) {
        if (rill__mono_ns() - t0 > WAIT_NS)
            rill_test_fail(__FILE__, __LINE__, "input %d stays full", c);
        usleep(50);
    }
}

/* A batch of one row (k, tag) on input c. */
static void row(gate *f, int c, int64_t k, int64_t tag)
{
    rill_batch *b = rill__batch_new(f->schema, 1);
    rill_row r = rill__batch_append(b);
    rill_row_set_i64(&r, 0, k);
    rill_row_set_i64(&r, 1, tag);
    push(f, c, (rill__msg){.kind = RILL_MSG_BATCH, .batch = b});
}

static void barrier(gate *f, int c, uint64_t id)
{
    push(f, c, (rill__msg){.kind = RILL_MSG_BARRIER, .value = (int64_t)id});
}

static void watermark(gate *f, int c, int64_t wm)
{
    push(f, c, (rill__msg){.kind = RILL_MSG_WATERMARK, .value = wm});
}

static void end_input(gate *f, int c)
{
    push(f, c, (rill__msg){.kind = RILL_MSG_END});
}

static bool gate_parked(const void *arg)
{
    const gate *f = arg;
    return atomic_load(&f->in[0]->consumer->sleeping) != 0;
}

/*
 * Sends row (k, tag) on input c, which must be read, and waits until the task has processed it
 * and then gone idle: the task announces sleep only after hundreds of passes over its inputs
 * that found nothing to read, so whatever it could read from an input by then, it has read.
 * What is still unread afterwards is held back, with no timing assumption.
 */
static void settle(gate *f, int c, int64_t k, int64_t tag)
{
    row(f, c, k, tag);
    wait_logged(tag);
    wait_for(gate_parked, f, "the task to go idle");
}

static int report_count(rill_ctx *ctx, const rill_row *in)
{
    int64_t n = 0;
    int rc = rill_value_get(ctx, count_desc, &n);
    if (rc < 0)
        return rc;
    rill_row out;
    if ((rc = rill_emit(ctx, &out)) < 0)
        return rc;
    rill_row_set_i64(&out, 0, rill_row_i64(in, 0));
    rill_row_set_i64(&out, 1, n);
    return 0;
}

/*
 * The count operator's state in snapshot s (task data: u32 operators, then per operator its uid
 * and state), restored into a new count operator and read for keys 0..3: "k,count|...".
 */
static const char *restored_counts(gate *f, const snap *s)
{
    static char out[256];
    const unsigned char *p = (const unsigned char *)s->data, *end = p + s->len;
    const void *state = NULL;
    uint64_t state_len = 0;
    uint32_t n_ops;
    CHECK(end - p >= 4);
    memcpy(&n_ops, p, 4);
    p += 4;
    for (uint32_t i = 0; i < n_ops; i++) {
        uint32_t ul;
        uint64_t len;
        CHECK(end - p >= 4);
        memcpy(&ul, p, 4);
        CHECK((uint64_t)(end - p) >= 4 + (uint64_t)ul + 8);
        bool mine = ul == 5 && memcmp(p + 4, "count", 5) == 0;
        p += 4 + ul;
        memcpy(&len, p, 8);
        p += 8;
        CHECK((uint64_t)(end - p) >= len);
        if (mine) {
            state = p;
            state_len = len;
        }
        p += len;
    }
    CHECK(p == end);
    CHECK(state != NULL);
    rill_schema *out_schema = NULL;
    CHECK_RC(rill_schema_parse("k INT64 NOT NULL, n INT64 NOT NULL", &out_schema));
    rill__key_spec key;
    rill__err e = {0};
    CHECK_RC(rill__key_spec_init(&key, f->schema, "k", &e));
    harness h;
    rill__op_init init = harness_init(&h, f->schema, out_schema, 0);
    rill__operator *op =
        rill__op_keyed_process(&init, &key, &rill__heap_backend_ops, report_count, NULL);
    CHECK_RC(harness_open(&h, op));
    CHECK_RC(op->ops->restore(op, 0, 1, state, (size_t)state_len));
    const char *const keys[] = {"0,0", "1,0", "2,0", "3,0", NULL};
    CHECK_RC(harness_push(&h, keys, false));
    snprintf(out, sizeof out, "%s", harness_rows(&h, &h.main));
    harness_close(&h);
    rill_schema_free(out_schema);
    return out;
}

/* Rows are tagged by input and order: 101, 102... on A, 201... on B, 301... on C. */

TEST(align_exactly_once_holds_an_input_back_after_its_barrier)
{
    gate f;
    gate_start(&f, 2, true);
    int64_t t0 = rill__mono_ns();
    row(&f, A, 0, 101);
    row(&f, A, 1, 102);
    barrier(&f, A, 1);
    row(&f, A, 0, 103);
    row(&f, A, 2, 104);
    settle(&f, B, 3, 201); /* B is read on; A's rows after its barrier are not */
    CHECK_STR(tags(0, n_logged()), "101 102 201");
    CHECK_EQ(n_snaps(), 0);
    usleep(30 * 1000); /* an alignment long enough to be measured */
    row(&f, B, 1, 202);
    barrier(&f, B, 1);
    row(&f, B, 3, 203);
    const snap *s = wait_snapshot(0);
    int64_t elapsed_ms = (rill__mono_ns() - t0) / 1000000;
    CHECK_EQ(s->id, 1);
    CHECK_EQ(s->rc, 0);
    CHECK_EQ(s->task, f.task);
    CHECK_STR(tags(0, s->n_logged), "101 102 201 202"); /* exactly what preceded the barriers */
    CHECK_INT(s->align_ms, >=, 30);
    CHECK_INT(s->align_ms, <=, elapsed_ms);
    /* the snapshot's state, restored: the counts of the rows before the barriers */
    CHECK_STR(restored_counts(&f, s), "0,1|1,2|2,0|3,1");
    /* then the held-back rows go on */
    wait_logged(103);
    wait_logged(104);
    wait_logged(203);
    CHECK_STR(tags(s->n_logged, n_logged()), "103 104 203");
    settle(&f, A, 0, 105);
    CHECK_EQ(n_snaps(), 1);
    gate_stop(&f);
}

TEST(align_at_least_once_reads_on_and_snapshots_at_the_last_barrier)
{
    gate f;
    gate_start(&f, 2, false);
    row(&f, A, 0, 101);
    barrier(&f, A, 1);
    row(&f, A, 1, 102);
    wait_logged(102); /* read on past A's barrier while B's is still to come */
    settle(&f, B, 2, 201);
    CHECK_EQ(n_snaps(), 0); /* the snapshot waits for the last barrier */
    row(&f, B, 3, 202);
    barrier(&f, B, 1);
    row(&f, B, 3, 203);
    const snap *s = wait_snapshot(0);
    CHECK_EQ(s->id, 1);
    CHECK_EQ(s->rc, 0);
    /* 102 came after A's barrier and is in (at least once); 203 after B's, the last, is not */
    CHECK_STR(tags(0, s->n_logged), "101 102 201 202");
    CHECK_STR(restored_counts(&f, s), "0,1|1,1|2,1|3,1");
    wait_logged(203);
    settle(&f, A, 0, 103);
    CHECK_EQ(n_snaps(), 1);
    gate_stop(&f);
}

TEST(align_input_ending_while_aligning_no_longer_counts)
{
    gate f;
    gate_start(&f, 3, true);
    row(&f, A, 0, 101);
    barrier(&f, A, 1);
    row(&f, A, 1, 102);
    row(&f, B, 0, 201);
    barrier(&f, B, 1);
    row(&f, B, 2, 202);
    settle(&f, C, 3, 301); /* C has no barrier yet: A and B wait for it */
    CHECK_STR(tags(0, n_logged()), "101 201 301");
    CHECK_EQ(n_snaps(), 0);
    row(&f, C, 3, 302);
    end_input(&f, C); /* C ends without a barrier: the alignment completes with A and B */
    const snap *s = wait_snapshot(0);
    CHECK_EQ(s->id, 1);
    CHECK_STR(tags(0, s->n_logged), "101 201 301 302");
    CHECK_STR(restored_counts(&f, s), "0,2|1,0|2,0|3,2");
    wait_logged(102);
    wait_logged(202);
    /* the next checkpoint aligns the two inputs left */
    barrier(&f, A, 2);
    settle(&f, B, 1, 203);
    CHECK_EQ(n_snaps(), 1);
    barrier(&f, B, 2);
    s = wait_snapshot(1);
    CHECK_EQ(s->id, 2);
    CHECK_STR(tags(0, s->n_logged), "101 102 201 202 203 301 302");
    CHECK_STR(restored_counts(&f, s), "0,2|1,2|2,1|3,2");
    gate_stop(&f);
}

TEST(align_newer_barrier_abandons_the_older_alignment)
{
    gate f;
    gate_start(&f, 2, true);
    row(&f, A, 0, 101);
    barrier(&f, A, 1);
    row(&f, A, 1, 102);
    barrier(&f, A, 2);
    row(&f, A, 2, 103);
    settle(&f, B, 3, 201);
    CHECK_STR(tags(0, n_logged()), "101 201");
    row(&f, B, 3, 202);
    barrier(&f, B, 2); /* B's source was asked for checkpoint 2 only */
    /* checkpoint 1 is given up: A is read again, up to its barrier 2 */
    const snap *s = wait_snapshot(0);
    CHECK_EQ(s->id, 2);
    CHECK_EQ(s->rc, 0);
    CHECK_STR(tags(0, s->n_logged), "101 102 201 202");
    CHECK_STR(restored_counts(&f, s), "0,1|1,1|2,0|3,2");
    wait_logged(103);
    settle(&f, B, 0, 203);
    CHECK_EQ(n_snaps(), 1); /* none for checkpoint 1, ever */
    /* and the next one aligns as usual */
    barrier(&f, A, 3);
    barrier(&f, B, 3);
    s = wait_snapshot(1);
    CHECK_EQ(s->id, 3);
    CHECK_STR(tags(0, s->n_logged), "101 102 103 201 202 203");
    gate_stop(&f);
}

TEST(align_older_barrier_during_a_newer_alignment_is_ignored)
{
    gate f;
    gate_start(&f, 2, true);
    row(&f, A, 0, 101);
    barrier(&f, A, 2); /* A's source was asked for checkpoint 2 only */
    row(&f, A, 1, 102);
    settle(&f, B, 2, 201);
    CHECK_STR(tags(0, n_logged()), "101 201");
    row(&f, B, 2, 202);
    barrier(&f, B, 1); /* an older checkpoint than the one aligning: not B's barrier 2 */
    row(&f, B, 3, 203);
    barrier(&f, B, 2);
    row(&f, B, 3, 204);
    const snap *s = wait_snapshot(0);
    CHECK_EQ(s->id, 2);
    /* B's source recorded its position for checkpoint 2 after 203: the state must hold 203 */
    CHECK_STR(tags(0, s->n_logged), "101 201 202 203");
    CHECK_STR(restored_counts(&f, s), "0,1|1,0|2,2|3,1");
    wait_logged(102);
    wait_logged(204);
    settle(&f, A, 0, 103);
    CHECK_EQ(n_snaps(), 1);
    gate_stop(&f);
}

TEST(align_barriers_keep_their_place_among_watermarks)
{
    gate f;
    gate_start(&f, 2, true);
    row(&f, A, 0, 101);
    watermark(&f, A, 100);
    barrier(&f, A, 1);
    watermark(&f, A, 300); /* after A's barrier: held back with A's rows */
    row(&f, A, 1, 102);
    settle(&f, B, 2, 201); /* A has been read up to its barrier */
    watermark(&f, B, 200);
    settle(&f, B, 3, 202);
    CHECK_EQ(wm_of(101), RILL_TS_MIN);
    CHECK_EQ(wm_of(202), 100); /* min(100, 200): A's 300 has not been read */
    barrier(&f, B, 1);
    const snap *s = wait_snapshot(0);
    CHECK_EQ(s->id, 1);
    CHECK_STR(tags(0, s->n_logged), "101 201 202");
    wait_logged(102);
    CHECK_EQ(wm_of(102), 200); /* aligned: A's 300 read, B still at 200 */
    watermark(&f, B, 400);
    settle(&f, B, 0, 203);
    CHECK_EQ(wm_of(203), 300);
    gate_stop(&f);
}

/* ---- the coordinator ----------------------------------------------------------------------------
 * rill__coord_tick takes the time from its caller; completions and failures count the pause
 * from the wall clock. The tests' times stay close to the wall clock, with margins of a minute
 * where the two meet. */

#define HOUR_MS   3600000
#define MINUTE_MS 60000

typedef struct coord_fx {
    rill_env *env;
    rill_schema *schema;
    rill__exec_graph *g;
    rill__coordinator *c;
    rill__err job_err;
} coord_fx;

/* A coordinator of src -> count (two tasks: 0 the source, 1 count), options as name, value
 * pairs, NULL-terminated. */
static void coord_open(coord_fx *f, const char *const *opts)
{
    memset(f, 0, sizeof *f);
    f->env = rill__env_new();
    CHECK_RC(rill_env_set(f->env, "name", "coord"));
    CHECK_RC(rill_env_set(f->env, "checkpoint.dir", rill_test_tmpdir()));
    for (int i = 0; opts[i]; i += 2)
        CHECK_RC(rill_env_set(f->env, opts[i], opts[i + 1]));
    CHECK_RC(rill_schema_parse("k INT64 NOT NULL, tag INT64 NOT NULL", &f->schema));
    build_job(f->env, f->schema, 1);
    CHECK_RC(rill__exec_build(f->env, &f->g));
    CHECK_EQ(f->g->n_tasks, 2);
    rill__err err = {0};
    CHECK_RC(rill__coord_new(f->env, f->g, &f->c, &err));
}

static void coord_close(coord_fx *f)
{
    rill__coord_free(f->c);
    rill__exec_free(f->g);
    rill_env_free(f->env);
    rill_schema_free(f->schema);
}

static uint64_t tick(coord_fx *f, int64_t now, int *rc)
{
    bool stop = false;
    uint64_t id = rill__coord_tick(f->c, now, &stop, &f->job_err, rc);
    CHECK(!stop); /* these jobs' sources never reach their end */
    return id;
}

/* Task `task` writes its data file of checkpoint id and acknowledges it, as a TaskManager does;
 * the acknowledgement's result. */
static int ack(coord_fx *f, int task, uint64_t id)
{
    char name[32];
    snprintf(name, sizeof name, "task-%d", task);
    rill__err e = {0};
    CHECK_RC(rill__ckpt_write_data(rill__coord_store(f->c), (int64_t)id, name, "state", 5, &e));
    return rill__coord_ack(f->c, task, id, 0, 5, 5, 0, NULL, name, NULL, &f->job_err);
}

static const rill__ckpt_stats *stats(coord_fx *f, size_t i)
{
    size_t n;
    const rill__ckpt_stats *st = rill__coord_stats(f->c, &n);
    if (i >= n)
        rill_test_fail(__FILE__, __LINE__, "statistics of %zu checkpoints, not %zu", n, i + 1);
    return &st[i];
}

static size_t n_stats(coord_fx *f)
{
    size_t n;
    rill__coord_stats(f->c, &n);
    return n;
}

static bool chk_dir_exists(coord_fx *f, uint64_t id)
{
    char *dir = rill__ckpt_store_chk_dir(rill__coord_store(f->c), (int64_t)id);
    struct stat st;
    bool there = stat(dir, &st) == 0;
    free(dir);
    return there;
}

TEST(coord_timeout_fails_the_checkpoint_and_at_tolerance_0_the_job)
{
    coord_fx f;
    coord_open(&f, (const char *const[]){"checkpoint.interval", "100", "checkpoint.timeout", "5000",
                                         "checkpoint.tolerable-failures", "0", NULL});
    int rc;
    int64_t t0 = rill__now_ms();
    CHECK_EQ(tick(&f, t0 + 100, &rc), 1);
    CHECK_EQ(rc, 0);
    CHECK_EQ(ack(&f, 0, 1), 0); /* the source acknowledges, the count task does not */
    CHECK(chk_dir_exists(&f, 1));
    /* one millisecond short of the timeout: still pending (and max-concurrent 1: no other) */
    CHECK_EQ(tick(&f, t0 + 100 + 4999, &rc), 0);
    CHECK_EQ(rc, 0);
    CHECK_EQ(n_stats(&f), 0);
    CHECK_EQ(tick(&f, t0 + 100 + 5000, &rc), 0);
    CHECK_EQ(rc, RILL_EIO);
    CHECK_EQ(f.job_err.code, RILL_EIO);
    CHECK_STR(f.job_err.msg, "checkpoint 1 failed: timed out after 5000 ms (tolerable failed "
                             "checkpoints: 0)");
    CHECK_EQ(n_stats(&f), 1);
    CHECK_EQ(stats(&f, 0)->id, 1);
    CHECK_STR(stats(&f, 0)->status, "FAILED");
    CHECK_STR(stats(&f, 0)->reason, "timed out after 5000 ms");
    CHECK(!chk_dir_exists(&f, 1)); /* its files are gone */
    /* the count task's acknowledgement, late, success or failure, changes nothing */
    rill__err late = {0};
    CHECK_EQ(rill__coord_ack(f.c, 1, 1, 0, 5, 5, 0, NULL, "task-1", NULL, &late), 0);
    CHECK_EQ(rill__coord_ack(f.c, 1, 1, RILL_EIO, 0, 0, 0, NULL, "", "disk full", &late), 0);
    CHECK_EQ(late.code, 0);
    CHECK_EQ(rill__coord_last_completed(f.c), 0);
    CHECK_EQ(n_stats(&f), 1);
    coord_close(&f);
}

TEST(coord_timeouts_count_against_the_tolerance)
{
    coord_fx f;
    coord_open(&f, (const char *const[]){"checkpoint.interval", "100", "checkpoint.timeout", "5000",
                                         "checkpoint.tolerable-failures", "1",
                                         "checkpoint.min-pause", "3600000", NULL});
    int rc;
    int64_t t0 = rill__now_ms();
    CHECK_EQ(tick(&f, t0 + 100, &rc), 1);
    CHECK_EQ(tick(&f, t0 + 100 + 5000, &rc), 0);
    CHECK_EQ(rc, 0); /* one failure is tolerated */
    CHECK_EQ(f.job_err.code, 0);
    CHECK_STR(stats(&f, 0)->status, "FAILED");
    CHECK_STR(stats(&f, 0)->reason, "timed out after 5000 ms");
    /* both tasks' data and acknowledgements of 1 come after its timeout: ignored */
    CHECK_EQ(ack(&f, 0, 1), 0);
    CHECK_EQ(ack(&f, 1, 1), 0);
    CHECK_EQ(rill__coord_last_completed(f.c), 0);
    CHECK_EQ(n_stats(&f), 1);
    /* the minimum pause follows a failed checkpoint too */
    int64_t t1 = rill__now_ms();
    CHECK_EQ(tick(&f, t1 + HOUR_MS - MINUTE_MS, &rc), 0);
    int64_t t2 = t1 + HOUR_MS + MINUTE_MS;
    CHECK_EQ(tick(&f, t2, &rc), 2);
    CHECK_EQ(ack(&f, 0, 2), 0);
    CHECK_EQ(ack(&f, 1, 2), 0);
    CHECK_EQ(rill__coord_last_completed(f.c), 2);
    CHECK_STR(stats(&f, 1)->status, "COMPLETED");
    CHECK(!chk_dir_exists(&f, 1)); /* what the late acknowledgements wrote went with the commit */
    CHECK(chk_dir_exists(&f, 2));
    /* the completion reset the count: one more timeout is tolerated */
    int64_t t3 = t2 + 100;
    CHECK_EQ(tick(&f, t3, &rc), 3);
    int64_t t4 = t3 + 5000;
    uint64_t id = tick(&f, t4, &rc);
    CHECK_EQ(rc, 0);
    CHECK_EQ(f.job_err.code, 0);
    CHECK_STR(stats(&f, 2)->status, "FAILED");
    if (id == 0) /* the next checkpoint: at once here (the pause counts from the wall clock) */
        id = tick(&f, t4 = t3 + 5000 + HOUR_MS + MINUTE_MS, &rc);
    CHECK_EQ(id, 4);
    /* but not a second one in a row */
    CHECK_EQ(tick(&f, t4 + 5000, &rc), 0);
    CHECK_EQ(rc, RILL_EIO);
    CHECK_STR(f.job_err.msg, "checkpoint 4 failed: timed out after 5000 ms (tolerable failed "
                             "checkpoints: 1)");
    coord_close(&f);
}

TEST(coord_min_pause_after_a_completed_checkpoint)
{
    coord_fx f;
    coord_open(&f, (const char *const[]){"checkpoint.interval", "100", "checkpoint.min-pause",
                                         "3600000", NULL});
    int rc;
    int64_t t0 = rill__now_ms();
    CHECK_EQ(tick(&f, t0 + 100, &rc), 1);
    CHECK_EQ(ack(&f, 0, 1), 0);
    CHECK_EQ(ack(&f, 1, 1), 0);
    CHECK_EQ(rill__coord_last_completed(f.c), 1);
    CHECK_EQ(tick(&f, t0 + 200, &rc), 0); /* the interval has passed, the pause has not */
    int64_t t1 = rill__now_ms();
    CHECK_EQ(tick(&f, t1 + HOUR_MS - MINUTE_MS, &rc), 0);
    CHECK_EQ(tick(&f, t1 + HOUR_MS + MINUTE_MS, &rc), 2);
    CHECK_EQ(rc, 0);
    coord_close(&f);
}

TEST(coord_max_concurrent_checkpoints_in_flight)
{
    coord_fx f;
    coord_open(&f, (const char *const[]){"checkpoint.interval", "100", "checkpoint.max-concurrent",
                                         "2", NULL});
    int rc;
    int64_t t0 = rill__now_ms();
    CHECK_EQ(tick(&f, t0 + 100, &rc), 1);
    CHECK_EQ(tick(&f, t0 + 200, &rc), 2);
    CHECK_EQ(tick(&f, t0 + 300, &rc), 0); /* two in flight: the most allowed */
    CHECK_EQ(tick(&f, t0 + 10000, &rc), 0);
    CHECK_EQ(ack(&f, 0, 1), 0);
    CHECK_EQ(ack(&f, 1, 1), 0);
    CHECK_EQ(rill__coord_last_completed(f.c), 1);
    CHECK_EQ(tick(&f, t0 + 10000, &rc), 3); /* 2 and 3 in flight */
    CHECK_EQ(tick(&f, t0 + 20000, &rc), 0);
    CHECK_EQ(ack(&f, 0, 3), 0);
    CHECK_EQ(ack(&f, 1, 3), 0); /* 3 completes and subsumes 2 */
    CHECK_EQ(rill__coord_last_completed(f.c), 3);
    CHECK_EQ(tick(&f, t0 + 20000, &rc), 4); /* none in flight */
    CHECK_EQ(tick(&f, t0 + 20100, &rc), 5);
    CHECK_EQ(tick(&f, t0 + 20200, &rc), 0);
    CHECK_EQ(ack(&f, 0, 2), 0); /* late for the subsumed checkpoint: ignored */
    CHECK_EQ(ack(&f, 1, 2), 0);
    CHECK_EQ(rill__coord_last_completed(f.c), 3);
    CHECK_EQ(n_stats(&f), 2);
    CHECK_STR(stats(&f, 0)->status, "COMPLETED");
    CHECK_EQ(stats(&f, 1)->id, 3);
    CHECK_EQ(rc, 0);
    CHECK_EQ(f.job_err.code, 0);
    coord_close(&f);
}
