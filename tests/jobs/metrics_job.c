/*
 * metrics_job.c - e2e test job for the metrics: a generator (uid "gen", --events N at --rate R
 * rows per second over all subtasks; row n: key n mod 10, time n ms) -> map "stamp" -> event
 * time "wm" (ascending) -> key_by key -> tumbling 100 ms count "window" -> blackhole "sink".
 * With --gate PATH, "stamp" and "window" hold their close until PATH exists (at most 120 s): the
 * input has ended and every row is counted, and the tasks, still there, show the final counts
 * to a scrape. After the run it prints "metrics gen.numRecordsOut=... " (rill_env_metric).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rill.h"

static const char *gate;

static void hold(rill_ctx *ctx)
{
    (void)ctx;
    for (int i = 0; gate && i < 120 * 100 && access(gate, F_OK) != 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static int stamp(rill_ctx *ctx, const rill_row *in, rill_row *out)
{
    (void)ctx;
    return rill_row_copy(out, in);
}

int rill_job(rill_env *env, int argc, char **argv)
{
    long long events = 10000;
    double rate = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--events"))
            events = strtoll(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--rate"))
            rate = strtod(argv[i + 1], NULL);
        else if (!strcmp(argv[i], "--gate"))
            gate = argv[i + 1];
    }
    if (events < 1 || rate < 0) {
        fprintf(stderr, "metrics_job: usage: -- [--events N] [--rate R] [--gate PATH]\n");
        return RILL_EINVAL;
    }
    rill_schema *s = NULL;
    int rc = rill_schema_parse("k INT64 NOT NULL, ts TIMESTAMP NOT NULL", &s);
    if (rc)
        return rc;
    rill_gen_field f[] = {
        {.name = "k", .kind = RILL_GEN_MODULO, .a = 0, .b = 10},
        {.name = "ts", .kind = RILL_GEN_SEQUENCE, .a = 0, .b = 1},
    };
    rill_gen_opts g = {.seed = 1, .events = events, .rate = rate, .fields = f, .n_fields = 2};
    rill_stream *src = rill_stream_uid(rill_source_generator(env, s, &g), "gen");
    rill_stream *m = rill_stream_uid(rill_stream_map(src, s, stamp, NULL), "stamp");
    rill_stream_hooks(m, NULL, hold);
    rill_watermark_opts wm = {.kind = RILL_WM_MONOTONOUS};
    m = rill_stream_uid(rill_stream_event_time(m, "ts", &wm), "wm");
    rill_window_spec w = {.kind = RILL_WINDOW_TUMBLING, .domain = RILL_EVENT_TIME, .size_ms = 100};
    rill_agg_spec aggs[] = {{RILL_AGG_COUNT, NULL, "n"}};
    rill_stream *win =
        rill_stream_uid(rill_window_aggregate(rill_stream_key_by(m, "k"), &w, aggs, 1), "window");
    rill_stream_hooks(win, NULL, hold);
    rill_stream_uid(rill_sink_blackhole(win), "sink");
    rill_schema_free(s);
    rc = rill_env_execute(env);
    if (rc)
        return rc;
    static const char *const report[][2] = {
        {"gen", "numRecordsOut"},
        {"stamp", "numRecordsIn"},
        {"window", "numRecordsIn"},
        {"window", "numRecordsOut"},
        {"sink", "numRecordsIn"},
        {"window", "currentInputWatermark"},
        {"window", "numLateRecordsDropped"},
    };
    printf("metrics");
    for (size_t i = 0; i < sizeof report / sizeof *report; i++) {
        int64_t v = 0;
        if (rill_env_metric(env, report[i][0], report[i][1], &v) == 0)
            printf(" %s.%s=%lld", report[i][0], report[i][1], (long long)v);
    }
    printf("\n");
    fflush(stdout);
    return 0;
}
