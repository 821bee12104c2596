/*
 * cluster_window.c - benchmark job for bench/cluster: window_bench's pipeline (generator -> event
 * time -> key_by -> window sum + count -> sink) as a job object, so the same graph runs on the
 * mini-cluster and across TaskManagers, with each row stamped with the wall-clock time it was
 * generated and the sink measuring, per window result, latency = now - max stamp of its rows.
 *   rill run -p 4 build/bench/cluster_window.so -- --events 20000000 --latency-dir /tmp/lat
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rill.h"

/* Fields of the window result: key, window_start, window_end, sum, count, max_stamp, min_stamp */
enum { F_MAX_STAMP = 5, F_MIN_STAMP = 6 };

static const char *latency_dir; /* NULL: measure nothing at the sink */

static int64_t wall_us(void)
{
    struct timespec ts;
    /* CLOCK_REALTIME: comparable between processes on one machine (the stamp is made in a
     * TaskManager's source task, the latency taken in another's sink task) */
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * The generator hook: field 3 is the time the row was generated. This breaks the generator's
 * "pure function of n" rule on purpose (the job takes no checkpoints, so nothing is replayed).
 * The clock is read for every 8th row of a subtask: rows are generated a batch at a time, at
 * tens of nanoseconds each, so a stamp is at most a few hundred nanoseconds early.
 */
static int stamp_row(rill_ctx *ctx, uint64_t n, rill_row *row)
{
    int64_t *last = rill_ctx_local(ctx);
    if (!last) {
        last = calloc(1, sizeof *last); /* one per subtask; lives until the process ends */
        if (!last)
            return RILL_ENOMEM;
        rill_ctx_set_local(ctx, last);
    }
    if ((n / (uint64_t)rill_ctx_parallelism(ctx)) % 8 == 0 || *last == 0)
        *last = wall_us();
    rill_row_set_i64(row, 3, *last);
    return 0;
}

/* One sink subtask's measurements: every window result's latency in microseconds. */
typedef struct lat_sink {
    int64_t *us;
    size_t n, cap;
    int64_t min_stamp, last_now;
} lat_sink;

static int sink_open(rill_ctx *ctx)
{
    lat_sink *s = calloc(1, sizeof *s);
    if (!s)
        return RILL_ENOMEM;
    s->min_stamp = INT64_MAX;
    rill_ctx_set_local(ctx, s);
    return 0;
}

static int sink_row(rill_ctx *ctx, const rill_row *in)
{
    lat_sink *s = rill_ctx_local(ctx);
    int64_t now = wall_us();
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        int64_t *us = realloc(s->us, cap * sizeof *us);
        if (!us)
            return rill_ctx_fail(ctx, "out of memory for %zu latency samples", cap);
        s->us = us;
        s->cap = cap;
    }
    s->us[s->n++] = now - rill_row_i64(in, F_MAX_STAMP);
    if (rill_row_i64(in, F_MIN_STAMP) < s->min_stamp)
        s->min_stamp = rill_row_i64(in, F_MIN_STAMP);
    s->last_now = now;
    return 1; /* kept: the blackhole after it counts the results */
}

/* Writes <latency-dir>/latency-<subtask>.txt: a header line with the count, the earliest stamp
 * of any row this subtask saw and when it saw its last result, then one latency (µs) per line.
 * The driver merges the files of all subtasks. */
static void sink_close(rill_ctx *ctx)
{
    lat_sink *s = rill_ctx_local(ctx);
    if (!s)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/latency-%d.txt", latency_dir, rill_ctx_subtask(ctx));
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "count=%zu min_stamp_us=%lld last_us=%lld\n", s->n, (long long)s->min_stamp,
                (long long)s->last_now);
        for (size_t i = 0; i < s->n; i++)
            fprintf(f, "%lld\n", (long long)s->us[i]);
        if (fclose(f) != 0)
            fprintf(stderr, "cluster_window: writing %s: %s\n", path, strerror(errno));
    } else {
        fprintf(stderr, "cluster_window: %s: %s\n", path, strerror(errno));
    }
    free(s->us);
    free(s);
    rill_ctx_set_local(ctx, NULL);
}

static int usage(const char *msg, const char *arg)
{
    fprintf(stderr, "cluster_window: %s%s\n", msg, arg ? arg : "");
    fprintf(stderr, "usage: rill run [-m REST] -p P cluster_window.so -- [--events N] [--keys K] "
                    "[--size-us US] [--slide-us US] [--rate EVENTS_PER_S] [--latency-dir DIR]\n");
    return RILL_EINVAL;
}

int rill_job(rill_env *env, int argc, char **argv)
{
    long long events = 20000000, keys = 1000, size_us = 1000000, slide_us = -1;
    double rate = 0;
    latency_dir = NULL;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!v)
            return usage("missing value for ", a);
        if (!strcmp(a, "--latency-dir")) {
            latency_dir = v;
            continue;
        }
        errno = 0;
        if (!strcmp(a, "--rate")) {
            rate = strtod(v, &end);
        } else {
            long long x = strtoll(v, &end, 10);
            if (!strcmp(a, "--events"))
                events = x;
            else if (!strcmp(a, "--keys"))
                keys = x;
            else if (!strcmp(a, "--size-us"))
                size_us = x;
            else if (!strcmp(a, "--slide-us"))
                slide_us = x;
            else
                return usage("unknown argument ", a);
        }
        if (errno || end == v || *end != '\0')
            return usage("not a number: ", v);
    }
    if (slide_us < 0)
        slide_us = size_us;
    if (events < 1 || keys < 1 || size_us <= 0 || slide_us <= 0 || rate < 0)
        return usage("--events, --keys, --size-us and --slide-us must be > 0, --rate >= 0", NULL);
    if (size_us % 1000 != 0 || slide_us % 1000 != 0)
        return usage("--size-us and --slide-us must be whole milliseconds", NULL);

    rill_schema *schema = NULL;
    rill_schema_parse("key INT64 NOT NULL, value INT64 NOT NULL, ts TIMESTAMP NOT NULL, "
                      "stamp INT64 NOT NULL",
                      &schema);
    rill_gen_field fields[] = {
        {.name = "key", .kind = RILL_GEN_MODULO, .a = 0, .b = keys},
        {.name = "value", .kind = RILL_GEN_MODULO, .a = 0, .b = 1024},
        {.name = "ts", .kind = RILL_GEN_SEQUENCE, .a = 0, .b = 1, .c = 1000},
    };
    rill_gen_opts gen = {.seed = 1, .events = events, .rate = rate, .fields = fields,
                         .n_fields = 3, .fn = stamp_row};
    rill_stream *s = rill_stream_uid(rill_source_generator(env, schema, &gen), "source");
    rill_schema_free(schema);

    rill_watermark_opts wm = {.kind = RILL_WM_MONOTONOUS};
    s = rill_stream_event_time(s, "ts", &wm);
    rill_window_spec w = {
        .kind = slide_us == size_us ? RILL_WINDOW_TUMBLING : RILL_WINDOW_SLIDING,
        .domain = RILL_EVENT_TIME,
        .size_ms = size_us / 1000,
        .slide_ms = slide_us / 1000,
    };
    rill_agg_spec aggs[] = {{RILL_AGG_SUM, "value", "sum"},
                            {RILL_AGG_COUNT, NULL, "count"},
                            {RILL_AGG_MAX, "stamp", "max_stamp"},
                            {RILL_AGG_MIN, "stamp", "min_stamp"}};
    s = rill_window_aggregate(rill_stream_key_by(s, "key"), &w, aggs, 4);
    rill_stream_uid(s, "window");
    if (latency_dir) {
        s = rill_stream_filter(s, sink_row, NULL);
        rill_stream_hooks(rill_stream_uid(s, "latency"), sink_open, sink_close);
    }
    rill_stream_uid(rill_sink_blackhole(s), "sink");

    int rc = rill_env_execute(env);
    if (rc == 0) {
        int64_t n = 0, windows = 0, ms = rill_env_elapsed_ms(env);
        rill_env_metric(env, "source", "records_out", &n);
        rill_env_metric(env, "sink", "records_in", &windows);
        printf("cluster_window: events=%lld windows=%lld elapsed_ms=%lld events_per_s=%.0f\n",
               (long long)n, (long long)windows, (long long)ms,
               ms > 0 ? (double)n * 1000.0 / (double)ms : 0.0);
    }
    return rc;
}
