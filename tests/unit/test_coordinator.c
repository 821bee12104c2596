/* test_coordinator.c - unit tests of the checkpoint coordinator's final checkpoint (cluster
 * layer): triggered once every source waits at the end of its input, retried within the
 * tolerance, and, through whole jobs on the mini-cluster, the last rows of a bounded job
 * committed by it with nothing left for --resume. */
#include <dirent.h>
#include <pthread.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "test.h"

/* ---- the coordinator alone ------------------------------------------------------------------ */

/* A graph of 2 generator subtasks -> a keyed process at 2 -> a sink at 1 (5 tasks), with the
 * env's checkpoint options set from opts ("key=value" pairs, NULL-terminated). */
typedef struct coord_fixture {
    rill_env *env;
    rill__exec_graph *g;
    rill__coordinator *c;
    int src[2]; /* the source tasks */
    int others[3];
} coord_fixture;

static int pass_row(rill_ctx *ctx, const rill_row *in)
{
    rill_row out;
    int rc = rill_emit(ctx, &out);
    return rc < 0 ? rc : rill_row_copy(&out, in);
}

static void fixture_open(coord_fixture *f, const char *const *opts)
{
    memset(f, 0, sizeof *f);
    f->env = rill_env_new();
    CHECK_RC(rill_env_set(f->env, "name", "coord"));
    CHECK_RC(rill_env_set(f->env, "checkpoint.dir", rill_test_tmpdir()));
    for (int i = 0; opts && opts[i]; i += 2)
        CHECK_RC(rill_env_set(f->env, opts[i], opts[i + 1]));
    rill_schema *s = NULL;
    CHECK_RC(rill_schema_parse("k INT64 NOT NULL", &s));
    rill_gen_field fld = {.name = "k", .kind = RILL_GEN_SEQUENCE, .a = 0, .b = 1};
    rill_gen_opts g = {.seed = 1, .events = 10, .fields = &fld, .n_fields = 1};
    rill_stream *src = rill_stream_parallelism(rill_source_generator(f->env, s, &g), 2);
    rill_stream *p = rill_keyed_process(rill_stream_key_by(src, "k"), NULL, pass_row, NULL);
    rill_stream_parallelism(p, 2);
    rill_stream_parallelism(rill_sink_blackhole(p), 1);
    rill_schema_free(s);
    CHECK_RC(rill__exec_build(f->env, &f->g));
    CHECK_EQ(f->g->n_tasks, 5);
    int n_src = 0, n_other = 0;
    for (int v = 0; v < f->g->n_vertices; v++)
        for (int k = 0; k < f->g->vertices[v]->parallelism; k++) {
            int t = f->g->vertices[v]->first_task + k;
            if (f->g->vertices[v]->nodes[0]->kind == RILL_NODE_SOURCE)
                f->src[n_src++] = t;
            else
                f->others[n_other++] = t;
        }
    CHECK_EQ(n_src, 2);
    CHECK_EQ(n_other, 3);
    rill__err err = {0};
    if (rill__coord_new(f->env, f->g, &f->c, &err) != 0)
        rill_test_fail(__FILE__, __LINE__, "coordinator: %s", err.msg);
}

static void fixture_close(coord_fixture *f)
{
    rill__coord_free(f->c);
    rill__exec_free(f->g);
    rill_env_free(f->env);
}

/* tick at now: the id it triggers (0: none); *stop_out whether it is the final checkpoint. */
static uint64_t tick(coord_fixture *f, int64_t now, bool *stop_out, rill__err *err)
{
    int rc = 0;
    uint64_t id = rill__coord_tick(f->c, now, stop_out, err, &rc);
    if (rc < 0)
        rill_test_fail(__FILE__, __LINE__, "tick failed the job: %s", err->msg);
    return id;
}

/* Every task writes its data file of checkpoint id and acknowledges it; 0 or the job's
 * failure. */
static int ack_all(coord_fixture *f, uint64_t id, rill__err *err)
{
    for (int t = 0; t < f->g->n_tasks; t++) {
        char name[32];
        snprintf(name, sizeof name, "task-%d", t);
        CHECK_RC(
            rill__ckpt_write_data(rill__coord_store(f->c), (int64_t)id, name, "state", 5, err));
        int rc = rill__coord_ack(f->c, t, id, 0, 5, 5, 0, NULL, name, "", err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

TEST(coord_final_checkpoint_once_every_source_waits)
{
    static const char *const opts[] = {"checkpoint.interval", "60000", NULL};
    coord_fixture f;
    fixture_open(&f, opts);
    rill__err err = {0};
    bool stop = true;
    int64_t now = rill__now_ms();
    CHECK_EQ(tick(&f, now, &stop, &err), 0); /* the first periodic one is an interval away */
    CHECK(!stop);
    /* one source at the end, and reports from tasks that are not sources: not yet */
    rill__coord_end_of_data(f.c, f.src[0]);
    rill__coord_end_of_data(f.c, f.src[0]);
    for (int i = 0; i < 3; i++)
        rill__coord_end_of_data(f.c, f.others[i]);
    rill__coord_end_of_data(f.c, -1);
    rill__coord_end_of_data(f.c, 99);
    CHECK_EQ(tick(&f, now, &stop, &err), 0);
    CHECK_EQ(rill__coord_final_pending(f.c), 0);
    /* both: the final checkpoint at once, without waiting for the interval */
    rill__coord_end_of_data(f.c, f.src[1]);
    uint64_t id = tick(&f, now, &stop, &err);
    CHECK_EQ(id, 1);
    CHECK(stop);
    CHECK_EQ(rill__coord_final_pending(f.c), 1);
    /* no other checkpoint while it is in flight, even when a periodic one is due */
    CHECK_EQ(tick(&f, now + 120000, &stop, &err), 0);
    /* every task takes part (the waiting sources too), then it completes */
    for (int t = 0; t < f.g->n_tasks - 1; t++)
        CHECK_RC(rill__coord_ack(f.c, t, id, 0, 10, 10, 0, NULL, "task-x", "", &err));
    CHECK_EQ(rill__coord_last_completed(f.c), 0);
    CHECK_EQ(rill__coord_final_pending(f.c), 1);
    CHECK_RC(rill__coord_ack(f.c, f.g->n_tasks - 1, id, 0, 10, 10, 0, NULL, "task-x", "", &err));
    CHECK_EQ(rill__coord_last_completed(f.c), 1);
    CHECK_EQ(rill__coord_final_pending(f.c), 0);
    /* the sources are ending now: nothing is triggered any more, no savepoint either */
    CHECK_EQ(tick(&f, now + 240000, &stop, &err), 0);
    CHECK_EQ(rill__coord_trigger_savepoint(f.c, rill_test_tmpdir(), false, &err), 0);
    CHECK_CONTAINS(err.msg, "sources have finished");
    memset(&err, 0, sizeof err);
    rill__coord_task_finished(f.c, f.src[0], &err);
    CHECK_EQ(tick(&f, now + 360000, &stop, &err), 0);
    size_t n;
    const rill__ckpt_stats *st = rill__coord_stats(f.c, &n);
    CHECK_EQ(n, 1);
    CHECK_STR(st[0].status, "COMPLETED");
    /* it is on disk as a completed checkpoint */
    int64_t latest;
    void *meta = NULL;
    size_t len;
    CHECK_RC(rill__ckpt_latest(rill__coord_store(f.c), &latest, &meta, &len, &err));
    CHECK_EQ(latest, 1);
    free(meta);
    fixture_close(&f);
}

TEST(coord_final_checkpoint_retried_within_the_tolerance)
{
    static const char *const opts[] = {"checkpoint.interval", "60000",
                                       "checkpoint.tolerable-failures", "1", NULL};
    coord_fixture f;
    fixture_open(&f, opts);
    rill__err err = {0};
    bool stop;
    int64_t now = rill__now_ms();
    rill__coord_end_of_data(f.c, f.src[0]);
    rill__coord_end_of_data(f.c, f.src[1]);
    uint64_t id = tick(&f, now, &stop, &err);
    CHECK_EQ(id, 1);
    CHECK(stop);
    /* a task's snapshot failed: the first failure is tolerated */
    CHECK_RC(rill__coord_ack(f.c, f.others[2], id, RILL_EIO, 0, 0, 0, NULL, "", "disk full", &err));
    CHECK_EQ(err.code, 0);
    CHECK_EQ(rill__coord_final_pending(f.c), 0);
    /* triggered again, as a periodic checkpoint would be: after the interval */
    CHECK_EQ(tick(&f, rill__now_ms(), &stop, &err), 0);
    id = tick(&f, rill__now_ms() + 61000, &stop, &err);
    CHECK_EQ(id, 2);
    CHECK(stop);
    /* it times out too: past the tolerance, the job fails with the reason */
    int rc = 0;
    rill__err job_err = {0};
    CHECK_EQ(rill__coord_tick(f.c, rill__now_ms() + 61000 + 600000, &stop, &job_err, &rc), 0);
    CHECK_EQ(rc, RILL_EIO);
    CHECK_CONTAINS(job_err.msg, "final checkpoint 2 (at the end of input) failed");
    CHECK_CONTAINS(job_err.msg, "timed out");
    CHECK_CONTAINS(job_err.msg, "tolerable failed checkpoints: 1");
    size_t n;
    const rill__ckpt_stats *st = rill__coord_stats(f.c, &n);
    CHECK_EQ(n, 2);
    CHECK_STR(st[0].status, "FAILED");
    CHECK_STR(st[0].reason, "disk full");
    CHECK_STR(st[1].status, "FAILED");
    /* a restart: the sources read again, so nothing is final until they wait again */
    rill__coord_reset(f.c);
    CHECK_EQ(tick(&f, rill__now_ms(), &stop, &err), 0);
    rill__coord_end_of_data(f.c, f.src[0]);
    rill__coord_end_of_data(f.c, f.src[1]);
    id = tick(&f, rill__now_ms(), &stop, &err);
    CHECK_EQ(id, 3);
    CHECK(stop);
    CHECK_RC(ack_all(&f, id, &err));
    CHECK_EQ(rill__coord_last_completed(f.c), 3);
    fixture_close(&f);
}

TEST(coord_final_checkpoint_waits_for_checkpoints_in_flight)
{
    static const char *const opts[] = {"checkpoint.interval", "100", "checkpoint.min-pause", "50",
                                       NULL};
    coord_fixture f;
    fixture_open(&f, opts);
    rill__err err = {0};
    bool stop;
    int64_t now = rill__now_ms();
    uint64_t id = tick(&f, now + 100, &stop, &err); /* periodic */
    CHECK_EQ(id, 1);
    CHECK(!stop);
    /* a source restored as finished counts as done; the other one waits */
    CHECK_RC(rill__coord_task_finished(f.c, f.src[0], &err));
    rill__coord_end_of_data(f.c, f.src[0]); /* a finished task does not wait */
    rill__coord_end_of_data(f.c, f.src[1]);
    /* one checkpoint in flight at most: the final one waits for it */
    CHECK_EQ(tick(&f, now + 150, &stop, &err), 0);
    CHECK_RC(ack_all(&f, 1, &err));
    CHECK_EQ(rill__coord_last_completed(f.c), 1);
    /* ... and for the minimum pause after it */
    CHECK_EQ(tick(&f, rill__now_ms(), &stop, &err), 0);
    id = tick(&f, rill__now_ms() + 60, &stop, &err);
    CHECK_EQ(id, 2);
    CHECK(stop);
    /* a savepoint asked for meanwhile is newer: when it completes, it is the final one too */
    uint64_t sp = rill__coord_trigger_savepoint(f.c, rill_test_tmpdir(), false, &err);
    CHECK_EQ(sp, 3);
    CHECK_RC(ack_all(&f, sp, &err));
    CHECK_EQ(rill__coord_last_completed(f.c), 3);
    CHECK_EQ(rill__coord_final_pending(f.c), 0);
    CHECK_EQ(tick(&f, rill__now_ms() + 10000, &stop, &err), 0);
    char *loc = NULL;
    CHECK_EQ(rill__coord_savepoint_result(f.c, sp, &loc, &err), 1);
    free(loc);
    fixture_close(&f);

    /* every source finished (restored at the end, without waiting): no final checkpoint */
    fixture_open(&f, opts);
    CHECK_RC(rill__coord_task_finished(f.c, f.src[0], &err));
    CHECK_RC(rill__coord_task_finished(f.c, f.src[1], &err));
    CHECK_EQ(tick(&f, rill__now_ms() + 1000, &stop, &err), 0);
    fixture_close(&f);
}

/* ---- whole jobs: the final checkpoint commits the end of a bounded job ---------------------- */

#define EVENTS 20000 /* 20 windows of 1000 ms (one row per ms), 10 keys: 100 rows a window */

/* generator (ts = row number ms, k = row mod 10) at 2 -> event time -> tumbling 1 s count per
 * key -> exactly-once file sink at 2 into out (NULL: a blackhole). */
static rill_env *window_job(const char *ckpt_dir, const char *out, bool resume,
                            const char *interval)
{
    rill_env *env = rill_env_new();
    CHECK_RC(rill_env_set(env, "name", "final"));
    CHECK_RC(rill_env_set(env, "parallelism", "2"));
    CHECK_RC(rill_env_set(env, "restart-strategy", "none"));
    if (ckpt_dir) {
        CHECK_RC(rill_env_set(env, "checkpoint.dir", ckpt_dir));
        CHECK_RC(rill_env_set(env, "checkpoint.interval", interval));
    }
    if (resume)
        CHECK_RC(rill_env_set(env, "resume", "true"));
    rill_schema *s = NULL;
    CHECK_RC(rill_schema_parse("k INT64 NOT NULL, ts TIMESTAMP NOT NULL", &s));
    static rill_gen_field f[2];
    f[0] = (rill_gen_field){.name = "k", .kind = RILL_GEN_MODULO, .a = 0, .b = 10};
    f[1] = (rill_gen_field){.name = "ts", .kind = RILL_GEN_SEQUENCE, .a = 0, .b = 1};
    rill_gen_opts g = {.seed = 1, .events = EVENTS, .fields = f, .n_fields = 2};
    rill_stream *src = rill_stream_uid(rill_source_generator(env, s, &g), "gen");
    rill_watermark_opts wm = {.kind = RILL_WM_BOUNDED, .max_delay_ms = 0};
    rill_stream *et = rill_stream_event_time(src, "ts", &wm);
    rill_window_spec w = {
        .kind = RILL_WINDOW_TUMBLING, .domain = RILL_EVENT_TIME, .size_ms = 1000, .slide_ms = 1000};
    rill_agg_spec count = {RILL_AGG_COUNT, NULL, "n"};
    rill_stream *win = rill_window_aggregate(rill_stream_key_by(et, "k"), &w, &count, 1);
    rill_stream_uid(win, "windows");
    rill_stream_uid(out ? rill_sink_file_exactly_once(win, out, NULL) : rill_sink_blackhole(win),
                    "out");
    rill_schema_free(s);
    return env;
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of text, sorted (a new string). */
static char *sort_lines(const char *text)
{
    char *copy = rill__xstrdup(text), *save = NULL;
    char **lines = NULL;
    size_t n = 0, cap = 0;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        rill__grow((void **)&lines, &cap, n + 1, sizeof *lines);
        lines[n++] = l;
    }
    if (n > 1)
        qsort(lines, n, sizeof *lines, cmp_line);
    rill__buf b = {0};
    for (size_t i = 0; i < n; i++)
        rill__buf_printf(&b, "%s\n", lines[i]);
    free(lines);
    free(copy);
    char *s = rill__xstrdup(rill__buf_cstr(&b));
    rill__buf_free(&b);
    return s;
}

/* The names of the visible files of dir, one a line, sorted. */
static char *sorted_names(const char *dir)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    rill__buf b = {0};
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            rill__buf_printf(&b, "%s\n", de->d_name);
    closedir(d);
    char *s = sort_lines(rill__buf_cstr(&b));
    rill__buf_free(&b);
    return s;
}

/* The committed rows of dir (every visible part file, header dropped), one string. Checks that
 * no in-progress file is left when no_in_progress. Counts rows into *n_rows. */
static char *committed(const char *dir, bool no_in_progress, int *n_rows)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    char **lines = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            if (no_in_progress && strstr(de->d_name, ".inprogress"))
                rill_test_fail(__FILE__, __LINE__, "in-progress file left: %s/%s", dir, de->d_name);
            continue;
        }
        char *path = rill__xasprintf("%s/%s", dir, de->d_name);
        char *text;
        size_t len;
        CHECK_RC(rill__read_file(path, (size_t)1 << 26, &text, &len));
        free(path);
        char *save = NULL;
        bool header = true;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
            if (header) {
                header = false;
                continue;
            }
            rill__grow((void **)&lines, &cap, n + 1, sizeof *lines);
            lines[n++] = rill__xstrdup(l);
        }
        free(text);
    }
    closedir(d);
    if (n > 1)
        qsort(lines, n, sizeof *lines, cmp_line);
    rill__buf b = {0};
    for (size_t i = 0; i < n; i++) {
        rill__buf_printf(&b, "%s\n", lines[i]);
        free(lines[i]);
    }
    free(lines);
    *n_rows = (int)n;
    char *s = rill__xstrdup(rill__buf_cstr(&b));
    rill__buf_free(&b);
    return s;
}

/* The generator positions of the newest completed checkpoint in dir/final: (subtask, par, k). */
typedef struct gen_pos {
    int n;
    uint64_t v[4][3];
    bool finished;
} gen_pos;

static int take_pos(void *arg, int subtask, int parallelism, bool finished, const void *data,
                    size_t len)
{
    gen_pos *p = arg;
    (void)subtask, (void)parallelism;
    p->finished |= finished;
    if (p->n < 4 && len == sizeof p->v[0])
        memcpy(p->v[p->n], data, len);
    p->n++;
    return 0;
}

/* The pending part files the sink states list, as "part-<subtask>-<seq>" lines, sorted. */
typedef struct sink_pending {
    rill__buf names;
} sink_pending;

static int take_pending(void *arg, int subtask, int parallelism, bool finished, const void *data,
                        size_t len)
{
    sink_pending *sp = arg;
    const unsigned char *p = data;
    (void)parallelism;
    CHECK(!finished);
    CHECK(len >= 28 && !memcmp(p, "EOFS", 4));
    uint32_t sub, n;
    memcpy(&sub, p + 8, 4);
    memcpy(&n, p + 12, 4);
    CHECK_EQ(sub, subtask);
    /* version 3: entries { u64 checkpoint, u64 seq, u32 partition length (0 here), bytes } */
    uint32_t version;
    memcpy(&version, p + 4, 4);
    CHECK_EQ(version, 3);
    CHECK(len >= 24 + (size_t)n * 20 + 4 + 8 + 4 + 4);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t seq;
        uint32_t plen;
        memcpy(&seq, p + 24 + i * 20 + 8, 8);
        memcpy(&plen, p + 24 + i * 20 + 16, 4);
        CHECK_EQ(plen, 0); /* an unpartitioned sink */
        rill__buf_printf(&sp->names, "part-%u-%llu\n", sub, (unsigned long long)seq);
    }
    uint32_t m, k; /* adopted subtask indices (none: no rescaling here); partitions waiting */
    memcpy(&m, p + 24 + (size_t)n * 20, 4);
    CHECK_EQ(m, 0);
    memcpy(&k, p + 24 + (size_t)n * 20 + 4 + 8, 4);
    CHECK_EQ(k, 0);
    CHECK_EQ(len, 24 + (size_t)n * 20 + 4 + 8 + 4 + 4);
    return 0;
}

static int64_t newest_checkpoint(const char *dir, gen_pos *pos, sink_pending *sp)
{
    rill__ckpt_store *store = NULL;
    rill__err err = {0};
    CHECK_RC(rill__ckpt_store_open(dir, "final", 1, &store, &err));
    int64_t id;
    void *meta = NULL;
    size_t len;
    CHECK_RC(rill__ckpt_latest(store, &id, &meta, &len, &err));
    rill__restore *rs = NULL;
    CHECK_RC(rill__restore_load(store, id, meta, len, &rs, &err));
    memset(pos, 0, sizeof *pos);
    CHECK_RC(rill__restore_blobs(rs, "gen", take_pos, pos));
    if (sp)
        CHECK_RC(rill__restore_blobs(rs, "out", take_pending, sp));
    rill__restore_free(rs);
    free(meta);
    rill__ckpt_store_free(store);
    return id;
}

TEST(runtime_final_checkpoint_commits_the_end_of_a_bounded_job)
{
    char *ck = rill__xasprintf("%s/ck", rill_test_tmpdir());
    char *out = rill__xasprintf("%s/out", rill_test_tmpdir());
    char *out0 = rill__xasprintf("%s/out0", rill_test_tmpdir());
    /* without checkpoints: the oracle (the sink commits at the end of its input) */
    rill_env *env = window_job(NULL, out0, false, NULL);
    if (rill_env_execute(env) != 0)
        rill_test_fail(__FILE__, __LINE__, "job failed: %s", rill_errmsg(env));
    rill_env_free(env);
    int n0, n;
    char *want = committed(out0, true, &n0);
    CHECK_EQ(n0, (EVENTS / 1000) * 10); /* every window of every key */

    /* with checkpoints, but none periodic before the end (an hour apart): only the final one
     * can have committed the rows */
    env = window_job(ck, out, false, "3600000");
    if (rill_env_execute(env) != 0)
        rill_test_fail(__FILE__, __LINE__, "job failed: %s", rill_errmsg(env));
    int64_t rows = 0;
    CHECK_RC(rill_env_metric(env, "out", "records_in", &rows));
    CHECK_EQ(rows, n0);
    rill_env_free(env);
    char *got = committed(out, true, &n);
    CHECK_STR(got, want);
    free(got);
    gen_pos pos;
    sink_pending sp = {0};
    CHECK_EQ(newest_checkpoint(ck, &pos, &sp), 1);
    CHECK_EQ(pos.n, 2); /* both sources, still running at the checkpoint, at their end */
    CHECK(!pos.finished);
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pos.v[i][2], EVENTS / 2);
    /* every committed file was pre-committed in it: the windows fired before its barrier */
    char *files = sorted_names(out);
    CHECK(sp.names.len > 0);
    char *pending = sort_lines(rill__buf_cstr(&sp.names));
    CHECK_STR(pending, files);
    free(pending);
    free(files);
    rill__buf_free(&sp.names);

    /* --resume from it: the sources start at their end; nothing more is written */
    env = window_job(ck, out, true, "3600000");
    if (rill_env_execute(env) != 0)
        rill_test_fail(__FILE__, __LINE__, "resumed job failed: %s", rill_errmsg(env));
    CHECK_RC(rill_env_metric(env, "gen", "records_out", &rows));
    CHECK_EQ(rows, 0);
    CHECK_RC(rill_env_metric(env, "out", "records_in", &rows));
    CHECK_EQ(rows, 0);
    rill_env_free(env);
    got = committed(out, true, &n);
    CHECK_STR(got, want);
    free(got);
    CHECK_EQ(newest_checkpoint(ck, &pos, NULL), 2); /* the resumed run's own final one */
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pos.v[i][2], EVENTS / 2);
    free(want);
    free(ck);
    free(out);
    free(out0);
}

#ifdef RILL_FAULT_INJECTION
static void *cancel_after_500ms(void *arg)
{
    (void)arg;
    usleep(500 * 1000);
    rill__minicluster_request_cancel();
    return NULL;
}

/* The final checkpoint never completes (every file write fails, tolerated): the sources wait at
 * the end of their input, and a cancel still ends the job at once. */
TEST(runtime_waiting_sources_cancel_promptly)
{
    char *ck = rill__xasprintf("%s/ck", rill_test_tmpdir());
    rill_env *env = window_job(ck, NULL, false, "20");
    CHECK_RC(rill_env_set(env, "checkpoint.tolerable-failures", "1000000"));
    pthread_t th;
    pthread_create(&th, NULL, cancel_after_500ms, NULL);
    rill__fault_arm(RILL_FAULT_WRITE, 1, true);
    int rc = rill_env_execute(env); /* it returns: the cancel ended the run */
    rill__fault_arm(RILL_FAULT_WRITE, 0, false);
    pthread_join(th, NULL);
    CHECK_EQ(rc, RILL_ECANCELED);
    int64_t rows = 0;
    CHECK_RC(rill_env_metric(env, "gen", "records_out", &rows));
    CHECK_EQ(rows, EVENTS); /* the sources had reached their end */
    CHECK_RC(rill_env_metric(env, "out", "records_in", &rows));
    CHECK_EQ(rows, (EVENTS / 1000) * 10); /* and every window had fired */
    rill_env_free(env);
    free(ck);
}
#endif

/* ---- stop-with-savepoint ---------------------------------------------------------------------- */

TEST(coord_stop_savepoint_ends_checkpointing_and_refuses_other_savepoints)
{
    static const char *const opts[] = {"checkpoint.interval", "100", NULL};
    coord_fixture f;
    fixture_open(&f, opts);
    rill__err err = {0};
    bool stop;
    uint64_t sp = rill__coord_trigger_savepoint(f.c, rill_test_tmpdir(), true, &err);
    CHECK_EQ(sp, 1);
    /* while it is in flight: no periodic checkpoint, no other savepoint */
    CHECK_EQ(tick(&f, rill__now_ms() + 1000, &stop, &err), 0);
    CHECK_EQ(rill__coord_trigger_savepoint(f.c, rill_test_tmpdir(), false, &err), 0);
    CHECK_CONTAINS(err.msg, "is stopping (stop-with-savepoint 1 in flight)");
    memset(&err, 0, sizeof err);
    CHECK_RC(ack_all(&f, sp, &err));
    CHECK_EQ(rill__coord_last_completed(f.c), 1);
    char *loc = NULL;
    CHECK_EQ(rill__coord_savepoint_result(f.c, sp, &loc, &err), 1);
    CHECK_CONTAINS(loc, "savepoint-coord-1");
    free(loc);
    /* it has completed: the job ends, nothing more is triggered */
    CHECK_EQ(tick(&f, rill__now_ms() + 10000, &stop, &err), 0);
    CHECK_EQ(rill__coord_trigger_savepoint(f.c, rill_test_tmpdir(), false, &err), 0);
    fixture_close(&f);
}

/* A savepoint directory that cannot be made: under a regular file in the test's directory. */
static char *unwritable_dir(void)
{
    char *file = rill__xasprintf("%s/a-file", rill_test_tmpdir());
    CHECK_RC(rill__write_file_atomic(file, "x", 1));
    char *dir = rill__xasprintf("%s/sp", file);
    free(file);
    return dir;
}

/* A savepoint triggered while a periodic checkpoint is in flight fails: the tasks took the
 * savepoint's barrier instead of the older one's, which can never complete. It used to hold its
 * place in flight until its timeout (ten minutes): no checkpoint, no final checkpoint, no end of
 * the job until then (e2e.savepoints hung on a loaded machine). */
TEST(coord_failed_savepoint_gives_up_the_checkpoints_before_it)
{
    static const char *const opts[] = {"checkpoint.interval", "100",
                                       "checkpoint.tolerable-failures", "0", NULL};
    coord_fixture f;
    fixture_open(&f, opts);
    rill__err err = {0};
    bool stop;
    int64_t now = rill__now_ms() + 1000;
    uint64_t id = tick(&f, now, &stop, &err);
    CHECK_EQ(id, 1);
    char *dir = unwritable_dir();
    uint64_t sp = rill__coord_trigger_savepoint(f.c, dir, true, &err);
    CHECK_EQ(sp, 2);
    CHECK_RC(ack_all(&f, sp, &err)); /* the sources skipped checkpoint 1 for it */
    CHECK_EQ(err.code, 0);           /* neither failure fails the job */
    char *loc = NULL;
    CHECK(rill__coord_savepoint_result(f.c, sp, &loc, &err) < 0);
    memset(&err, 0, sizeof err);
    /* the next periodic checkpoint comes at once, and completes */
    id = tick(&f, now + 200, &stop, &err);
    CHECK_EQ(id, 3);
    CHECK(!stop);
    CHECK_RC(ack_all(&f, id, &err));
    CHECK_EQ(rill__coord_last_completed(f.c), 3);
    /* acknowledgements of the given-up checkpoint come too late and change nothing */
    CHECK_RC(ack_all(&f, 1, &err));
    CHECK_EQ(rill__coord_last_completed(f.c), 3);
    size_t n;
    const rill__ckpt_stats *st = rill__coord_stats(f.c, &n);
    bool given_up = false;
    for (size_t i = 0; i < n; i++)
        given_up |= st[i].id == 1 && strstr(st[i].reason, "given up for checkpoint 2") != NULL;
    CHECK(given_up);
    free(dir);
    fixture_close(&f);
}

TEST(coord_savepoint_that_cannot_be_written_fails_its_checkpoint)
{
    static const char *const opts[] = {"checkpoint.interval", "100",
                                       "checkpoint.tolerable-failures", "0", NULL};
    coord_fixture f;
    fixture_open(&f, opts);
    rill__err err = {0};
    bool stop;
    char *dir = unwritable_dir();
    uint64_t sp = rill__coord_trigger_savepoint(f.c, dir, true, &err);
    CHECK_EQ(sp, 1);
    CHECK_RC(ack_all(&f, sp, &err)); /* a failed savepoint does not fail the job */
    CHECK_EQ(err.code, 0);
    CHECK_EQ(rill__coord_last_completed(f.c), 0); /* its checkpoint did not complete */
    char *loc = NULL;
    CHECK(rill__coord_savepoint_result(f.c, sp, &loc, &err) < 0);
    CHECK(loc == NULL);
    CHECK_CONTAINS(err.msg, "savepoint 1 failed: writing the savepoint");
    CHECK_CONTAINS(err.msg, dir);
    /* the stop did not happen: checkpoints go on, and another stop may be asked for */
    memset(&err, 0, sizeof err);
    uint64_t id = tick(&f, rill__now_ms() + 1000, &stop, &err);
    CHECK_EQ(id, 2);
    CHECK(!stop);
    CHECK_RC(ack_all(&f, id, &err));
    CHECK_EQ(rill__coord_last_completed(f.c), 2);
    /* a savepoint given up by its waiter fails, and its acknowledgements come too late */
    sp = rill__coord_trigger_savepoint(f.c, rill_test_tmpdir(), true, &err);
    CHECK_EQ(sp, 3);
    rill__coord_abort_savepoint(f.c, sp, "timed out waiting");
    CHECK(rill__coord_savepoint_result(f.c, sp, &loc, &err) < 0);
    CHECK_CONTAINS(err.msg, "timed out waiting");
    memset(&err, 0, sizeof err);
    CHECK_RC(ack_all(&f, sp, &err));
    CHECK_EQ(rill__coord_last_completed(f.c), 2);
    free(dir);
    fixture_close(&f);
}

/* ---- stop-with-savepoint of a whole job: a JobManager and a TaskManager ------------------------ */

/* window_job's graph, unbounded at a rate, on a JobManager and a TaskManager of this process. */
typedef struct jm_fixture {
    rill_env *env;
    rill__exec_graph *g;
    rill__jobmanager *jm;
    rill__taskmanager *tm;
    uint64_t job;
    pthread_t waiter;
    int wait_rc;
    rill__err wait_err;
} jm_fixture;

static void *jm_waiter(void *arg)
{
    jm_fixture *f = arg;
    f->wait_rc = rill__jm_wait(f->jm, f->job, NULL, &f->wait_err);
    return NULL;
}

static rill_env *rated_window_job(const char *ckpt_dir, const char *out)
{
    rill_env *env = rill_env_new();
    CHECK_RC(rill_env_set(env, "name", "final"));
    CHECK_RC(rill_env_set(env, "parallelism", "2"));
    CHECK_RC(rill_env_set(env, "restart-strategy", "none"));
    CHECK_RC(rill_env_set(env, "checkpoint.dir", ckpt_dir));
    CHECK_RC(rill_env_set(env, "checkpoint.interval", "3600000")); /* savepoints only */
    rill_schema *s = NULL;
    CHECK_RC(rill_schema_parse("k INT64 NOT NULL, ts TIMESTAMP NOT NULL", &s));
    static rill_gen_field fl[2];
    fl[0] = (rill_gen_field){.name = "k", .kind = RILL_GEN_MODULO, .a = 0, .b = 10};
    fl[1] = (rill_gen_field){.name = "ts", .kind = RILL_GEN_SEQUENCE, .a = 0, .b = 1};
    rill_gen_opts g = {.seed = 1, .events = 0, .rate = 40000, .fields = fl, .n_fields = 2};
    rill_stream *src = rill_stream_uid(rill_source_generator(env, s, &g), "gen");
    rill_watermark_opts wm = {.kind = RILL_WM_BOUNDED, .max_delay_ms = 0};
    rill_stream *et = rill_stream_event_time(src, "ts", &wm);
    rill_window_spec w = {
        .kind = RILL_WINDOW_TUMBLING, .domain = RILL_EVENT_TIME, .size_ms = 1000, .slide_ms = 1000};
    rill_agg_spec count = {RILL_AGG_COUNT, NULL, "n"};
    rill_stream *win = rill_window_aggregate(rill_stream_key_by(et, "k"), &w, &count, 1);
    rill_stream_uid(win, "windows");
    rill_stream_uid(rill_sink_file_exactly_once(win, out, NULL), "out");
    rill_schema_free(s);
    return env;
}

static void jm_start(jm_fixture *f, const char *ck, const char *out)
{
    memset(f, 0, sizeof *f);
    f->env = rated_window_job(ck, out);
    CHECK_RC(rill__exec_build(f->env, &f->g));
    f->jm = rill__jm_new();
    rill__jm_gateway jgw = rill__jm_gateway_local(f->jm);
    f->tm = rill__tm_new(f->g->max_vertex_p, &jgw);
    rill__tm_gateway tgw = rill__tm_gateway_local(f->tm);
    CHECK_RC(rill__jm_register_tm(f->jm, &tgw));
    rill__err err = {0};
    if (rill__jm_submit(f->jm, f->g, &f->job, &err) != 0)
        rill_test_fail(__FILE__, __LINE__, "submit: %s", err.msg);
    pthread_create(&f->waiter, NULL, jm_waiter, f);
}

static void jm_finish(jm_fixture *f)
{
    pthread_join(f->waiter, NULL);
    rill__tm_free(f->tm);
    rill__jm_free(f->jm);
    rill__exec_free(f->g); /* f->env stays, for its metrics: the test frees it */
}

/* Counts of the committed rows of dir ("k,start,end,n" after a header): how many rows, how many
 * with n != 100 (a window that is not full), and the sum of n. */
static void window_counts(const char *dir, int *rows, int *partial, int64_t *sum)
{
    int n;
    char *text = committed(dir, false, &n);
    *rows = n, *partial = 0, *sum = 0;
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        const char *c = strrchr(l, ',');
        CHECK(c != NULL);
        long long v = atoll(c + 1);
        *partial += v != 100;
        *sum += v;
    }
    free(text);
}

TEST(jm_stop_without_drain_fires_nothing_and_commits_what_the_savepoint_covers)
{
    char *ck = rill__xasprintf("%s/ck", rill_test_tmpdir());
    char *out = rill__xasprintf("%s/out", rill_test_tmpdir());
    char *bad = unwritable_dir();
    char *spdir = rill__xasprintf("%s/sp", rill_test_tmpdir());
    jm_fixture f;
    jm_start(&f, ck, out);
    usleep(400 * 1000);
    /* a stop whose savepoint cannot be written fails; the job goes on */
    char *loc = NULL;
    rill__err err = {0};
    int rc = rill__jm_savepoint(f.jm, f.job, bad, RILL_STOP_NO_DRAIN, 60000, &loc, &err);
    CHECK(rc < 0);
    CHECK(loc == NULL);
    CHECK_CONTAINS(err.msg, "stop-with-savepoint of job 'final' failed");
    CHECK_CONTAINS(err.msg, "the job goes on running");
    usleep(300 * 1000);
    rill__job_info *jobs = NULL;
    size_t n_jobs = 0;
    CHECK_RC(rill__jm_jobs(f.jm, &jobs, &n_jobs));
    CHECK_EQ(n_jobs, 1);
    CHECK_STR(rill__job_state_name(jobs[0].state), "RUNNING");
    free(jobs);
    /* the stop: the job finishes once the savepoint is written */
    memset(&err, 0, sizeof err);
    rc = rill__jm_savepoint(f.jm, f.job, spdir, RILL_STOP_NO_DRAIN, 60000, &loc, &err);
    if (rc != 0)
        rill_test_fail(__FILE__, __LINE__, "stop: %s", err.msg);
    CHECK_CONTAINS(loc, "savepoint-final-");
    jm_finish(&f);
    CHECK_EQ(f.wait_rc, 0);
    /* no window fired at the stop: every committed one is full, and the rest is in the
     * savepoint; the sources read on after the failed stop (more than 0.4 s of rows) */
    int rows, partial;
    int64_t sum;
    window_counts(out, &rows, &partial, &sum);
    CHECK_INT(rows, >, 0);
    CHECK_EQ(partial, 0);
    sink_pending sp = {0};
    rill__restore *rs = NULL;
    CHECK_RC(rill__restore_load_dir(loc, &rs, &err));
    CHECK(rill__restore_has(rs, "windows"));
    CHECK_RC(rill__restore_blobs(rs, "out", take_pending, &sp));
    rill__restore_free(rs);
    /* the savepoint is the only completed checkpoint: what is committed is what it covers */
    char *pending = sort_lines(rill__buf_cstr(&sp.names));
    char *files = sorted_names(out);
    CHECK_STR(pending, files);
    free(pending);
    free(files);
    rill__buf_free(&sp.names);
    /* nothing committed after the savepoint: what the stopped run read past the windows
     * committed is in the savepoint's window state, not in the output */
    int64_t read = 0;
    CHECK_RC(rill_env_metric(f.env, "gen", "records_out", &read));
    CHECK_INT(sum, <, read);
    rill_env_free(f.env);
    free(loc);
    free(ck);
    free(out);
    free(bad);
    free(spdir);
}

TEST(jm_stop_with_drain_fires_every_window_before_the_savepoint)
{
    char *ck = rill__xasprintf("%s/ck", rill_test_tmpdir());
    char *out = rill__xasprintf("%s/out", rill_test_tmpdir());
    char *spdir = rill__xasprintf("%s/sp", rill_test_tmpdir());
    jm_fixture f;
    jm_start(&f, ck, out);
    usleep(400 * 1000);
    char *loc = NULL;
    rill__err err = {0};
    int rc = rill__jm_savepoint(f.jm, f.job, spdir, RILL_STOP_DRAIN, 60000, &loc, &err);
    if (rc != 0)
        rill_test_fail(__FILE__, __LINE__, "stop --drain: %s", err.msg);
    jm_finish(&f);
    CHECK_EQ(f.wait_rc, 0);
    int64_t read = 0;
    CHECK_RC(rill_env_metric(f.env, "gen", "records_out", &read));
    int rows, partial;
    int64_t sum;
    window_counts(out, &rows, &partial, &sum);
    CHECK_INT(read, >, 0);
    CHECK_EQ(sum, read); /* every row read is in a committed window */
    /* ... and in the savepoint, the only checkpoint (no periodic one within an hour): the sink
     * pre-committed every committed file at its barrier, none was committed after it */
    sink_pending sp = {0};
    rill__restore *rs = NULL;
    CHECK_RC(rill__restore_load_dir(loc, &rs, &err));
    CHECK_RC(rill__restore_blobs(rs, "out", take_pending, &sp));
    rill__restore_free(rs);
    char *pending = sort_lines(rill__buf_cstr(&sp.names));
    char *files = sorted_names(out);
    CHECK(sp.names.len > 0);
    CHECK_STR(pending, files);
    free(pending);
    free(files);
    rill__buf_free(&sp.names);
    rill_env_free(f.env);
    free(loc);
    free(ck);
    free(out);
    free(spdir);
}

/* The keyed state the tasks report with their acks: summed per keyed operator (the process
 * operator's two subtasks) and per checkpoint, from the newest completed one. */
TEST(coord_state_per_operator)
{
    static const char *const opts[] = {"checkpoint.interval", "10", NULL};
    coord_fixture f;
    fixture_open(&f, opts);
    rill__err err = {0};
    bool stop;
    int64_t now = rill__now_ms();
    size_t n;
    CHECK(rill__coord_op_state(f.c, &n) == NULL || n == 0); /* none before a checkpoint */
    uint64_t id = tick(&f, now + 1000, &stop, &err);
    CHECK(id >= 1);
    for (int t = 0; t < f.g->n_tasks; t++) {
        char name[32];
        snprintf(name, sizeof name, "task-%d", t);
        CHECK_RC(rill__ckpt_write_data(rill__coord_store(f.c), (int64_t)id, name, "s", 1, &err));
        bool keyed = false;
        for (int v = 0; v < f.g->n_vertices; v++)
            if (f.g->vertices[v]->nodes[0]->kind == RILL_NODE_PROCESS &&
                t >= f.g->vertices[v]->first_task &&
                t < f.g->vertices[v]->first_task + f.g->vertices[v]->parallelism)
                keyed = true;
        rill__state_usage u = {.keys = 10 + t, .memory_bytes = 1000, .disk_bytes = 7};
        CHECK_RC(rill__coord_ack(f.c, t, id, 0, 1, 1, 0, keyed ? &u : NULL, name, "", &err));
    }
    CHECK_EQ(rill__coord_last_completed(f.c), id);
    const rill__op_state *st = rill__coord_op_state(f.c, &n);
    CHECK_EQ(n, 1); /* the one keyed operator */
    CHECK_EQ(st[0].subtasks, 2);
    CHECK_EQ(st[0].usage.memory_bytes, 2000);
    CHECK_EQ(st[0].usage.disk_bytes, 14);
    int64_t keys = st[0].usage.keys;
    CHECK(keys >= 20 + 2 * 0 && keys <= 20 + 2 * 4);
    size_t ns;
    const rill__ckpt_stats *cs = rill__coord_stats(f.c, &ns);
    CHECK_EQ(ns, 1);
    CHECK_EQ(cs[0].state.keys, keys);
    CHECK_EQ(cs[0].state.memory_bytes, 2000);
    fixture_close(&f);
}
