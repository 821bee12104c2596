/* test_metrics.c - the metric registry (runtime/metrics.c) and rill_env_metric over it: during a
 * run and after it. */
#include "rill.h"
#include "runtime/runtime.h"
#include "test.h"

typedef struct seen {
    int n;
    const char *uids[4];
} seen;

static void count_visit(void *arg, rill__task_metrics *m)
{
    seen *s = arg;
    if (s->n < 4)
        s->uids[s->n] = m->ops[0].uid;
    s->n++;
}

TEST(metrics_registry_folds_into_nodes_once)
{
    rill__node node = {0};
    atomic_init(&node.fin.wm_in, RILL_TS_MIN);
    atomic_init(&node.fin.wm_out, RILL_TS_MIN);
    rill__node *nodes[] = {&node};
    const char *uids[] = {"op-a"};
    seen before = {0};
    rill__metrics_foreach(count_visit, &before);
    rill__task_metrics *m = rill__metrics_task_new("j", "op-a", 0, 1, 1, uids, nodes, NULL);
    rill__metric_add(&m->ops[0].records_in, 40);
    rill__metric_add(&m->ops[0].records_in, 2);
    rill__metric_set(&m->ops[0].records_out, 7);
    rill__metric_set(&m->ops[0].wm_in, 1000);
    rill__metric_set(&m->ops[0].late_dropped, 3);
    rill__metric_set(&m->bytes_in, 4096);
    seen during = {0};
    rill__metrics_foreach(count_visit, &during);
    CHECK_EQ(during.n, before.n + 1);
    CHECK_STR(during.uids[0], "op-a"); /* newest first */
    CHECK_EQ(atomic_load(&node.records_in), 0);
    rill__metrics_task_free(m, true);
    seen after = {0};
    rill__metrics_foreach(count_visit, &after);
    CHECK_EQ(after.n, before.n);
    CHECK_EQ(atomic_load(&node.records_in), 42);
    CHECK_EQ(atomic_load(&node.records_out), 7);
    CHECK_EQ(atomic_load(&node.fin.late_dropped), 3);
    CHECK_EQ(atomic_load(&node.fin.wm_in), 1000);
    CHECK_EQ(atomic_load(&node.fin.wm_out), RILL_TS_MIN);
    CHECK_EQ(atomic_load(&node.fin.bytes_in), 4096);
    /* a block freed without folding leaves the totals alone */
    m = rill__metrics_task_new("j", "op-a", 0, 1, 1, uids, nodes, NULL);
    rill__metric_set(&m->ops[0].records_in, 5);
    rill__metrics_task_free(m, false);
    CHECK_EQ(atomic_load(&node.records_in), 42);
    rill__metrics_task_free(NULL, true);
    CHECK(rill__metrics_rss_bytes() > 0);
    CHECK(rill__metrics_cpu_ms() >= 0);
}

#define EVENTS   100000
#define PROBE_AT 60000

typedef struct probe {
    rill_env *env;
    int64_t gen_out, map_in, wm;
    int rc;
} probe;

/* Row n: time n ms, except every 100th row from 20000 on, 10 s in the past (late). */
static int gen_ts(rill_ctx *ctx, uint64_t n, rill_row *row)
{
    (void)ctx;
    int64_t ts = (int64_t)n;
    if (n >= 20000 && n % 100 == 0)
        ts -= 10000;
    rill_row_set_i64(row, 1, ts);
    return 0;
}

/* Reads the job's metrics from inside it, while it runs. */
static int probe_map(rill_ctx *ctx, const rill_row *in, rill_row *out)
{
    probe *p = rill_ctx_user(ctx);
    if (rill_row_i64(in, 2) == PROBE_AT) {
        p->rc = rill_env_metric(p->env, "gen", "numRecordsOut", &p->gen_out);
        if (!p->rc)
            p->rc = rill_env_metric(p->env, "probe", "records_in", &p->map_in);
        if (!p->rc)
            p->rc = rill_env_metric(p->env, "window", "currentInputWatermark", &p->wm);
    }
    return rill_row_copy(out, in);
}

TEST(metrics_env_metric_during_and_after_a_run)
{
    rill_env *env = rill_env_new();
    CHECK_RC(rill_env_set(env, "name", "metrics-test"));
    CHECK_RC(rill_env_set(env, "batch-size", "1000"));
    rill_schema *s = NULL;
    CHECK_RC(rill_schema_parse("k INT64 NOT NULL, ts TIMESTAMP NOT NULL, seq INT64 NOT NULL", &s));
    rill_gen_field f[] = {
        {.name = "k", .kind = RILL_GEN_MODULO, .a = 0, .b = 10},
        {.name = "seq", .kind = RILL_GEN_SEQUENCE, .a = 0, .b = 1},
    };
    rill_gen_opts g = {.seed = 1, .events = EVENTS, .fields = f, .n_fields = 2, .fn = gen_ts};
    probe p = {.env = env, .gen_out = -1, .map_in = -1};
    rill_stream *src = rill_stream_uid(rill_source_generator(env, s, &g), "gen");
    rill_stream *m = rill_stream_uid(rill_stream_map(src, s, probe_map, &p), "probe");
    rill_watermark_opts wm = {.kind = RILL_WM_MONOTONOUS};
    m = rill_stream_event_time(m, "ts", &wm);
    rill_window_spec w = {.kind = RILL_WINDOW_TUMBLING, .domain = RILL_EVENT_TIME, .size_ms = 100};
    rill_agg_spec aggs[] = {{RILL_AGG_COUNT, NULL, "n"}};
    rill_stream *win =
        rill_stream_uid(rill_window_aggregate(rill_stream_key_by(m, "k"), &w, aggs, 1), "window");
    rill_stream_uid(rill_sink_blackhole(win), "sink");
    rill_schema_free(s);
    int rc = rill_env_execute(env);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "job failed: %s", rill_errmsg(env));
    /* during: counts published by the task thread at its earlier batches, none beyond */
    CHECK_RC(p.rc);
    CHECK_INT(p.gen_out, >=, PROBE_AT - 1000);
    CHECK_INT(p.gen_out, <=, PROBE_AT + 1000);
    CHECK_INT(p.map_in, >=, PROBE_AT - 1000);
    CHECK_INT(p.map_in, <=, PROBE_AT + 1000);
    CHECK_INT(p.wm, >, 0); /* the window had seen event time advance */
    CHECK_INT(p.wm, <, PROBE_AT + 1000);
    /* after: exact totals */
    int64_t v = 0;
    CHECK_RC(rill_env_metric(env, "gen", "records_out", &v));
    CHECK_EQ(v, EVENTS);
    CHECK_RC(rill_env_metric(env, "gen", "numRecordsOut", &v));
    CHECK_EQ(v, EVENTS);
    CHECK_RC(rill_env_metric(env, "window", "numRecordsIn", &v));
    CHECK_EQ(v, EVENTS);
    int64_t late = 0, windows = 0;
    CHECK_RC(rill_env_metric(env, "window", "numLateRecordsDropped", &late));
    CHECK_INT(late, >, 0);
    CHECK_INT(late, <=, 800); /* every 100th row of 20000..99999 */
    CHECK_RC(rill_env_metric(env, "window", "numRecordsOut", &windows));
    CHECK_RC(rill_env_metric(env, "sink", "records_in", &v));
    CHECK_EQ(v, windows);
    CHECK_INT(windows, >=, 10 * (EVENTS / 100) - 10);
    CHECK_RC(rill_env_metric(env, "window", "currentInputWatermark", &v));
    CHECK_EQ(v, RILL_TS_MAX);
    CHECK_RC(rill_env_metric(env, "window", "currentOutputWatermark", &v));
    CHECK_EQ(v, RILL_TS_MAX);
    CHECK_RC(rill_env_metric(env, "window", "numBytesIn", &v));
    CHECK_INT(v, >=, (int64_t)EVENTS * 3 * 8);
    CHECK_RC(rill_env_metric(env, "gen", "numBytesOut", &v));
    CHECK_INT(v, >=, (int64_t)EVENTS * 3 * 8);
    int64_t busy = 0, idle = 0, bp = 0;
    CHECK_RC(rill_env_metric(env, "window", "busyTimeMsPerSecond", &busy));
    CHECK_RC(rill_env_metric(env, "window", "idleTimeMsPerSecond", &idle));
    CHECK_RC(rill_env_metric(env, "window", "backPressuredTimeMsPerSecond", &bp));
    CHECK_INT(busy + idle + bp, >=, 998);
    CHECK_INT(busy + idle + bp, <=, 1002);
    CHECK_RC(rill_env_metric(env, "gen", "numRecordsOutPerSecond", &v));
    CHECK_INT(v, >, 0);
    CHECK_RC(rill_env_metric(env, NULL, "uptime", &v));
    CHECK_INT(v, >=, 0);
    CHECK_RC(rill_env_metric(env, NULL, "numRestarts", &v));
    CHECK_EQ(v, 0);
    CHECK_EQ(rill_env_metric(env, "window", "noSuchMetric", &v), RILL_ENOENT);
    CHECK_EQ(rill_env_metric(env, NULL, "noSuchMetric", &v), RILL_ENOENT);
    CHECK_EQ(rill_env_metric(env, "nope", "numRecordsIn", &v), RILL_ENOENT);
    rill_env_free(env);
}
