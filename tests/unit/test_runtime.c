/* test_runtime.c - unit tests of the runtime and cluster layers: channels, chaining, jobs run
 * in-process on the mini-cluster through the public API, determinism, cancel, graph errors. */
#include <pthread.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "test.h"

/* ---- channels ------------------------------------------------------------------------------- */

typedef struct chan_test {
    rill__channel *c;
    rill__parker prod, cons;
    long n;
} chan_test;

static void *producer(void *arg)
{
    chan_test *t = arg;
    for (long i = 0; i < t->n; i++) {
        rill__msg m = {.kind = RILL_MSG_WATERMARK, .value = i};
        while (!rill__channel_try_push(t->c, &m)) {
            rill__parker_prepare(&t->prod);
            if (rill__channel_try_push(t->c, &m)) {
                rill__parker_cancel(&t->prod);
                break;
            }
            rill__parker_park(&t->prod, 1000000);
        }
    }
    rill__msg end = {.kind = RILL_MSG_END};
    while (!rill__channel_try_push(t->c, &end))
        rill__parker_park(&t->prod, 1000000);
    return NULL;
}

TEST(runtime_channel_spsc_in_order_and_bounded)
{
    chan_test t = {.c = rill__channel_new(8), .n = 1000000};
    rill__parker_init(&t.prod);
    rill__parker_init(&t.cons);
    t.c->producer = &t.prod;
    t.c->consumer = &t.cons;
    pthread_t th;
    pthread_create(&th, NULL, producer, &t);
    long expect = 0;
    for (;;) {
        size_t queued = atomic_load(&t.c->tail) - atomic_load(&t.c->head);
        CHECK(queued <= 8);
        rill__msg m;
        if (!rill__channel_try_pop(t.c, &m)) {
            rill__parker_prepare(&t.cons);
            if (atomic_load(&t.c->tail) != atomic_load(&t.c->head)) {
                rill__parker_cancel(&t.cons);
                continue;
            }
            rill__parker_park(&t.cons, 1000000);
            continue;
        }
        if (m.kind == RILL_MSG_END)
            break;
        CHECK_EQ(m.value, expect);
        expect++;
    }
    CHECK_EQ(expect, t.n);
    pthread_join(th, NULL);
    rill__channel_free(t.c);
    rill__parker_destroy(&t.prod);
    rill__parker_destroy(&t.cons);
}

TEST(runtime_channel_free_releases_queued_batches)
{
    rill_schema *s = NULL;
    CHECK_RC(rill_schema_parse("a INT64", &s));
    rill__channel *c = rill__channel_new(4);
    rill__parker p;
    rill__parker_init(&p);
    c->producer = c->consumer = &p;
    for (int i = 0; i < 3; i++) {
        rill__msg m = {.kind = RILL_MSG_BATCH, .batch = rill__batch_new(s, 4)};
        CHECK(rill__channel_try_push(c, &m));
    }
    rill__channel_free(c); /* LeakSanitizer fails the test if a batch is left */
    rill__parker_destroy(&p);
    rill_schema_free(s);
}

/* ---- graphs and jobs ------------------------------------------------------------------------ */

static int pass(rill_ctx *ctx, const rill_row *in, rill_row *out)
{
    (void)ctx;
    return rill_row_copy(out, in);
}

static int keep_all(rill_ctx *ctx, const rill_row *in)
{
    (void)ctx, (void)in;
    return 1;
}

static const rill_state_desc *sum_desc;

static int running_sum(rill_ctx *ctx, const rill_row *in)
{
    int64_t sum = 0;
    int rc = rill_value_get(ctx, sum_desc, &sum);
    if (rc < 0)
        return rc;
    sum += rill_row_i64(in, 1);
    if ((rc = rill_value_set(ctx, sum_desc, &sum)) < 0)
        return rc;
    rill_row out;
    if ((rc = rill_emit(ctx, &out)) < 0)
        return rc;
    rill_row_set_i64(&out, 0, rill_row_i64(in, 0));
    rill_row_set_i64(&out, 1, sum);
    rill_row_set_i64(&out, 2, rill_row_i64(in, 2));
    return 0;
}

static rill_schema *kv_schema(void)
{
    rill_schema *s = NULL;
    rill_schema_parse("k INT64 NOT NULL, v INT64 NOT NULL, seq INT64 NOT NULL", &s);
    return s;
}

static rill_gen_opts kv_gen(int64_t events)
{
    static rill_gen_field f[3];
    f[0] = (rill_gen_field){.name = "k", .kind = RILL_GEN_UNIFORM_INT, .a = 0, .b = 99};
    f[1] = (rill_gen_field){.name = "v", .kind = RILL_GEN_UNIFORM_INT, .a = -1000, .b = 1000};
    f[2] = (rill_gen_field){.name = "seq", .kind = RILL_GEN_SEQUENCE, .a = 0, .b = 1};
    return (rill_gen_opts){.seed = 7, .events = events, .fields = f, .n_fields = 3};
}

TEST(runtime_chaining_builds_expected_vertices)
{
    rill_env *env = rill_env_new();
    rill_schema *s = kv_schema();
    rill_gen_opts g = kv_gen(10);
    rill_stream *src = rill_source_generator(env, s, &g);
    rill_stream *m = rill_stream_filter(rill_stream_map(src, NULL, pass, NULL), keep_all, NULL);
    sum_desc = rill_value_state(env, "sum", 8);
    rill_stream *p = rill_keyed_process(rill_stream_key_by(m, "k"), NULL, running_sum, NULL);
    rill_stream_parallelism(p, 3);
    rill_stream_parallelism(rill_sink_blackhole(p), 3);      /* p=3: chained to the process */
    rill_stream_parallelism(rill_sink_blackhole(m), 2);      /* p=2 != 1: rebalance edge */
    rill__exec_graph *eg = NULL;
    CHECK_RC(rill__exec_build(env, &eg));
    CHECK_EQ(eg->n_vertices, 3);
    CHECK_EQ(eg->vertices[0]->n_nodes, 3); /* source -> map -> filter */
    CHECK_EQ(eg->vertices[1]->n_nodes, 2); /* process -> sink */
    CHECK_EQ(eg->vertices[1]->parallelism, 3);
    CHECK_EQ(eg->vertices[1]->in_edges[0]->partition, RILL_PART_HASH);
    CHECK_EQ(eg->vertices[2]->in_edges[0]->partition, RILL_PART_REBALANCE);
    CHECK_EQ(eg->n_tasks, 1 + 3 + 2);
    CHECK_EQ(eg->max_vertex_p, 3);
    rill__exec_free(eg);
    rill_schema_free(s);
    rill_env_free(env);
}

/* Runs generator -> key_by -> running sum -> file sink and returns the sorted output lines. */
static char *run_sum_job(int parallelism, int batch_size, int64_t events, const char *path)
{
    rill_env *env = rill_env_new();
    char buf[32];
    snprintf(buf, sizeof buf, "%d", parallelism);
    CHECK_RC(rill_env_set(env, "parallelism", buf));
    snprintf(buf, sizeof buf, "%d", batch_size);
    CHECK_RC(rill_env_set(env, "batch-size", buf));
    CHECK_RC(rill_env_set(env, "channel-capacity", "2"));
    rill_schema *s = kv_schema();
    rill_gen_opts g = kv_gen(events);
    sum_desc = rill_value_state(env, "sum", 8);
    /* one source subtask: each key's rows then reach the sum in one order at any parallelism
     * of the keyed operator (rows of one key from two source subtasks may interleave) */
    rill_stream *src = rill_stream_uid(rill_source_generator(env, s, &g), "gen");
    rill_stream_parallelism(src, 1);
    rill_stream *p = rill_keyed_process(rill_stream_key_by(src, "k"), NULL, running_sum, NULL);
    rill_stream_parallelism(rill_sink_file(rill_stream_uid(p, "sum"), path, NULL), 1);
    rill_schema_free(s);
    int rc = rill_env_execute(env);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "job failed: %s", rill_errmsg(env));
    int64_t n = 0;
    CHECK_RC(rill_env_metric(env, "gen", "records_out", &n));
    CHECK_EQ(n, events);
    CHECK_RC(rill_env_metric(env, "sum", "records_in", &n));
    CHECK_EQ(n, events);
    CHECK_EQ(rill_env_metric(env, "nope", "records_in", &n), RILL_ENOENT);
    rill_env_free(env);
    char *cmd = rill__xasprintf("sort %s", path);
    FILE *f = popen(cmd, "r");
    free(cmd);
    rill__buf out = {0};
    char line[256];
    while (fgets(line, sizeof line, f))
        rill__buf_append(&out, line, strlen(line));
    pclose(f);
    rill__buf_cstr(&out);
    return out.data;
}

TEST(runtime_same_result_at_any_parallelism_and_batch_size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/out.csv", rill_test_tmpdir());
    char *expect = run_sum_job(1, 1024, 20000, path);
    CHECK(strlen(expect) > 20000 * 6);
    unsigned seed = 12345;
    for (int round = 0; round < 4; round++) {
        int p = 1 + (int)(rand_r(&seed) % 4);
        int bs = 1 + (int)(rand_r(&seed) % 700);
        char *got = run_sum_job(p, bs, 20000, path);
        if (strcmp(expect, got) != 0)
            rill_test_fail(__FILE__, __LINE__, "parallelism %d batch size %d differs", p, bs);
        free(got);
    }
    free(expect);
}

static void *cancel_later(void *arg)
{
    (void)arg;
    usleep(200 * 1000);
    rill__minicluster_request_cancel();
    return NULL;
}

TEST(runtime_unbounded_job_cancels_cleanly)
{
    rill_env *env = rill_env_new();
    rill_env_set(env, "parallelism", "2");
    rill_schema *s = kv_schema();
    rill_gen_opts g = kv_gen(0); /* unbounded */
    sum_desc = rill_value_state(env, "sum", 8);
    rill_stream *src = rill_source_generator(env, s, &g);
    rill_sink_blackhole(rill_keyed_process(rill_stream_key_by(src, "k"), NULL, running_sum, NULL));
    rill_schema_free(s);
    pthread_t th;
    pthread_create(&th, NULL, cancel_later, NULL);
    CHECK_EQ(rill_env_execute(env), RILL_ECANCELED);
    pthread_join(th, NULL);
    CHECK_CONTAINS(rill_errmsg(env), "canceled");
    rill_env_free(env);
}

static int fail_at_500(rill_ctx *ctx, const rill_row *in)
{
    if (rill_row_i64(in, 2) == 500)
        return rill_ctx_fail(ctx, "row %lld is poisoned", (long long)rill_row_i64(in, 2));
    return running_sum(ctx, in);
}

TEST(runtime_failing_function_fails_the_job_with_its_message)
{
    rill_env *env = rill_env_new();
    rill_env_set(env, "parallelism", "3");
    rill_schema *s = kv_schema();
    rill_gen_opts g = kv_gen(0); /* unbounded: only the failure ends it */
    sum_desc = rill_value_state(env, "sum", 8);
    rill_stream *src = rill_source_generator(env, s, &g);
    rill_stream *p = rill_keyed_process(rill_stream_key_by(src, "k"), NULL, fail_at_500, NULL);
    rill_sink_blackhole(rill_stream_uid(p, "poison"));
    rill_schema_free(s);
    CHECK_EQ(rill_env_execute(env), RILL_EUSER);
    CHECK_CONTAINS(rill_errmsg(env), "operator 'poison' (subtask ");
    CHECK_CONTAINS(rill_errmsg(env), "/3): row 500 is poisoned");
    rill_env_free(env);
}

TEST(runtime_graph_errors_are_reported_by_execute)
{
    rill_schema *s = kv_schema();
    rill_gen_opts g = kv_gen(10);

    rill_env *env = rill_env_new();
    rill_stream *src = rill_source_generator(env, s, &g);
    rill_keyed_stream *k = rill_stream_key_by(src, "nope");
    rill_sink_blackhole(rill_keyed_process(k, NULL, running_sum, NULL));
    CHECK_EQ(rill_env_execute(env), RILL_EINVAL);
    CHECK_CONTAINS(rill_errmsg(env), "no field 'nope'");
    rill_env_free(env);

    env = rill_env_new();
    rill_stream_map(rill_source_generator(env, s, &g), NULL, pass, NULL);
    CHECK_EQ(rill_env_execute(env), RILL_EGRAPH);
    CHECK_CONTAINS(rill_errmsg(env), "no sink");
    rill_env_free(env);

    env = rill_env_new();
    src = rill_source_generator(env, s, &g);
    rill_stream_uid(rill_sink_blackhole(src), "x");
    rill_stream_uid(rill_sink_blackhole(rill_stream_uid(rill_stream_map(src, NULL, pass, NULL),
                                                        "x")), "y");
    CHECK_EQ(rill_env_execute(env), RILL_EGRAPH);
    CHECK_CONTAINS(rill_errmsg(env), "uid 'x' is used by two operators");
    rill_env_free(env);

    env = rill_env_new();
    rill_gen_field bad = {.name = "missing", .kind = RILL_GEN_SEQUENCE};
    rill_gen_opts bg = {.events = 1, .fields = &bad, .n_fields = 1};
    rill_sink_blackhole(rill_stream_map(rill_source_generator(env, s, &bg), NULL, pass, NULL));
    CHECK(rill_env_execute(env) < 0);
    CHECK_CONTAINS(rill_errmsg(env), "missing");
    CHECK_EQ(rill_env_execute(env), RILL_EPERM); /* once per env */
    rill_env_free(env);

    env = rill_env_new();
    CHECK_EQ(rill_env_set(env, "parallelism", "0"), RILL_ECONFIG);
    CHECK_CONTAINS(rill_errmsg(env), "parallelism");
    CHECK_EQ(rill_env_set(env, "colour", "blue"), RILL_ECONFIG);
    CHECK_EQ(rill_env_set(env, "channel-capacity", "3"), RILL_ECONFIG);
    CHECK_RC(rill_env_set(env, "max-parallelism", "256"));
    CHECK_STR(rill_env_get(env, "max-parallelism"), "256");
    CHECK_STR(rill_env_get(env, "bad-records"), "fail");
    rill_env_free(env);
    rill_schema_free(s);
}

TEST(runtime_too_few_slots_is_reported)
{
    rill_env *env = rill__env_new();
    rill_schema *s = kv_schema();
    rill_gen_opts g = kv_gen(10);
    rill_stream_parallelism(rill_sink_blackhole(rill_source_generator(env, s, &g)), 4);
    rill__exec_graph *eg = NULL;
    CHECK_RC(rill__exec_build(env, &eg));
    rill__jobmanager *jm = rill__jm_new();
    rill__jm_gateway jgw = rill__jm_gateway_local(jm);
    rill__taskmanager *tm = rill__tm_new(2, &jgw);
    rill__tm_gateway tgw = rill__tm_gateway_local(tm);
    rill__jm_register_tm(jm, &tgw);
    rill__err err = {0};
    uint64_t id;
    CHECK_EQ(rill__jm_submit(jm, eg, &id, &err), RILL_ELIMIT);
    CHECK_CONTAINS(err.msg, "needs 4 slots");
    rill__tm_free(tm);
    rill__jm_free(jm);
    rill__exec_free(eg);
    rill_schema_free(s);
    rill_env_free(env);
}

/* ---- fault injection: every N-th read, write or fsync failing ends in the right output or a
 * clear error naming the file, never a crash, a hang or a partial "success" ------------------ */

#ifdef RILL_FAULT_INJECTION
static int run_file_job(const char *in, const char *out, rill__err *err_out)
{
    rill_env *env = rill_env_new();
    rill_schema *s = NULL;
    rill_schema_parse("k INT64 NOT NULL, v INT64 NOT NULL, seq INT64 NOT NULL", &s);
    sum_desc = rill_value_state(env, "sum", 8);
    rill_stream *src = rill_source_file(env, in, s, NULL);
    rill_stream *p = rill_keyed_process(rill_stream_key_by(src, "k"), NULL, running_sum, NULL);
    rill_sink_file(p, out, NULL);
    rill_schema_free(s);
    int rc = rill_env_execute(env);
    rill__err_set(err_out, rc, "%s", rill_errmsg(env));
    rill_env_free(env);
    return rc;
}

static char *slurp(const char *path)
{
    char *data = NULL;
    size_t len;
    if (rill__read_file(path, 1 << 26, &data, &len) != 0)
        return NULL;
    return data;
}

TEST(runtime_fault_loop_file_io)
{
    char in[512], out[512];
    snprintf(in, sizeof in, "%s/in.csv", rill_test_tmpdir());
    snprintf(out, sizeof out, "%s/out.csv", rill_test_tmpdir());
    FILE *f = fopen(in, "w");
    fprintf(f, "k,v,seq\n");
    for (int i = 0; i < 30000; i++)
        fprintf(f, "%d,%d,%d\n", i % 37, (i * 7919) % 1000, i);
    fclose(f);
    rill__err err = {0};
    CHECK_RC(run_file_job(in, out, &err));
    char *expect = slurp(out);
    CHECK(expect != NULL);
    static const rill__fault_point points[] = {RILL_FAULT_READ, RILL_FAULT_WRITE,
                                               RILL_FAULT_FSYNC};
    static const char *names[] = {"read", "write", "fsync"};
    for (size_t p = 0; p < RILL_ARRAY_LEN(points); p++) {
        int failures = 0;
        for (long nth = 1; nth <= 40; nth++) {
            rill__fault_arm(points[p], nth, false);
            remove(out);
            int rc = run_file_job(in, out, &err);
            long seen = rill__fault_arm(points[p], 0, false);
            if (rc == 0) {
                char *got = slurp(out);
                if (!got || strcmp(got, expect) != 0)
                    rill_test_fail(__FILE__, __LINE__, "%s fault at call %ld: job succeeded "
                                   "with wrong output", names[p], nth);
                free(got);
                if (seen < nth)
                    break; /* fewer calls than nth: every injection point was covered */
            } else {
                failures++;
                if (!strstr(err.msg, rill_test_tmpdir()))
                    rill_test_fail(__FILE__, __LINE__, "%s fault at call %ld: message names no "
                                   "file: %s", names[p], nth, err.msg);
            }
        }
        CHECK(failures > 0); /* the loop did reach an injection point */
    }
    free(expect);
}
#endif

/* ---- checkpoints ------------------------------------------------------------------------------ */

typedef struct blob_count {
    int blobs;
    size_t bytes;
} blob_count;

static int count_blob(void *arg, int subtask, int parallelism, bool finished, const void *data,
                      size_t len)
{
    blob_count *b = arg;
    (void)subtask, (void)parallelism, (void)finished, (void)data;
    b->blobs++;
    b->bytes += len;
    return 0;
}

TEST(runtime_checkpoints_complete_and_load_for_restore)
{
    rill_env *env = rill_env_new();
    CHECK_RC(rill_env_set(env, "name", "ckjob"));
    CHECK_RC(rill_env_set(env, "parallelism", "2"));
    CHECK_RC(rill_env_set(env, "checkpoint.dir", rill_test_tmpdir()));
    CHECK_RC(rill_env_set(env, "checkpoint.interval", "20"));
    CHECK_RC(rill_env_set(env, "checkpoint.retain", "2"));
    rill_schema *s = kv_schema();
    rill_gen_opts g = kv_gen(0); /* unbounded, rate limited */
    g.rate = 50000;
    sum_desc = rill_value_state(env, "sum", 8);
    rill_stream *src = rill_stream_uid(rill_source_generator(env, s, &g), "gen");
    rill_stream *p = rill_keyed_process(rill_stream_key_by(src, "k"), NULL, running_sum, NULL);
    rill_sink_blackhole(rill_stream_uid(p, "sum"));
    rill_schema_free(s);
    pthread_t th;
    pthread_create(&th, NULL, cancel_later, NULL); /* cancels after 200 ms */
    CHECK_EQ(rill_env_execute(env), RILL_ECANCELED);
    pthread_join(th, NULL);
    rill_env_free(env);

    rill__ckpt_store *store = NULL;
    rill__err err = {0};
    CHECK_RC(rill__ckpt_store_open(rill_test_tmpdir(), "ckjob", 2, &store, &err));
    int64_t *ids = NULL;
    size_t n = 0;
    CHECK_RC(rill__ckpt_list(store, &ids, &n, &err));
    CHECK(n >= 1 && n <= 2); /* retention keeps at most two */
    free(ids);
    int64_t id;
    void *meta = NULL;
    size_t len;
    CHECK_RC(rill__ckpt_latest(store, &id, &meta, &len, &err));
    rill__restore *rs = NULL;
    CHECK_RC(rill__restore_load(store, id, meta, len, &rs, &err));
    blob_count gen = {0}, sum = {0};
    CHECK_RC(rill__restore_blobs(rs, "gen", count_blob, &gen));
    CHECK_RC(rill__restore_blobs(rs, "sum", count_blob, &sum));
    CHECK_EQ(gen.blobs, 2);     /* each source subtask's position */
    CHECK_EQ(gen.bytes, 2 * 24);
    CHECK_EQ(sum.blobs, 2);     /* each keyed subtask's key groups */
    CHECK(sum.bytes > 100);     /* 100 keys of running sums */
    CHECK(!rill__restore_has(rs, "nope"));
    rill__restore_free(rs);
    free(meta);
    rill__ckpt_store_free(store);
}

#ifdef RILL_FAULT_INJECTION
/* Runs a bounded, rate-limited keyed job with checkpoints every 10 ms; returns its result. */
static int run_ckpt_job(const char *dir, const char *tolerable, rill_env **env_out)
{
    rill_env *env = rill_env_new();
    CHECK_RC(rill_env_set(env, "name", "tolerance"));
    CHECK_RC(rill_env_set(env, "checkpoint.dir", dir));
    CHECK_RC(rill_env_set(env, "checkpoint.interval", "10"));
    CHECK_RC(rill_env_set(env, "checkpoint.tolerable-failures", tolerable));
    CHECK_RC(rill_env_set(env, "restart-strategy", "none"));
    rill_schema *s = kv_schema();
    rill_gen_opts g = kv_gen(40000);
    g.rate = 100000; /* about 0.4 s: dozens of checkpoints */
    sum_desc = rill_value_state(env, "sum", 8);
    rill_stream *src = rill_source_generator(env, s, &g);
    rill_sink_blackhole(rill_keyed_process(rill_stream_key_by(src, "k"), NULL, running_sum, NULL));
    rill_schema_free(s);
    int rc = rill_env_execute(env);
    *env_out = env;
    return rc;
}

static void *disarm_writes_later(void *arg)
{
    (void)arg;
    usleep(800 * 1000);
    rill__fault_arm(RILL_FAULT_WRITE, 0, false);
    return NULL;
}

TEST(runtime_checkpoint_failures_against_the_tolerance)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/a", rill_test_tmpdir());
    rill_env *env;
    /* every file write fails from now on: each checkpoint fails; tolerance 0 fails the job */
    rill__fault_arm(RILL_FAULT_WRITE, 1, true);
    int rc = run_ckpt_job(dir, "0", &env);
    rill__fault_arm(RILL_FAULT_WRITE, 0, false);
    CHECK(rc < 0);
    CHECK_CONTAINS(rill_errmsg(env), "failed");
    CHECK_CONTAINS(rill_errmsg(env), "tolerable failed checkpoints: 0");
    rill_env_free(env);

    /* failed checkpoints tolerated: the job runs to the end of its input (0.4 s), where the
     * final checkpoint fails again and again, until writes work again (after 0.8 s); then it
     * completes, and the job finishes */
    snprintf(dir, sizeof dir, "%s/b", rill_test_tmpdir());
    rill__fault_arm(RILL_FAULT_WRITE, 1, true);
    pthread_t th;
    pthread_create(&th, NULL, disarm_writes_later, NULL);
    rc = run_ckpt_job(dir, "1000000", &env);
    pthread_join(th, NULL);
    if (rc != 0)
        rill_test_fail(__FILE__, __LINE__, "job failed: %s", rill_errmsg(env));
    rill_env_free(env);
    rill__ckpt_store *store = NULL;
    rill__err err = {0};
    CHECK_RC(rill__ckpt_store_open(dir, "tolerance", 1, &store, &err));
    int64_t id;
    void *meta = NULL;
    size_t len;
    CHECK_RC(rill__ckpt_latest(store, &id, &meta, &len, &err)); /* the final checkpoint */
    CHECK(id > 1);
    free(meta);
    rill__ckpt_store_free(store);
}
#endif
