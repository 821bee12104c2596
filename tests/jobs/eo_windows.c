/*
 * eo_windows.c - e2e test job: event-time tumbling windows into the exactly-once file sink.
 * Row i (i = 0, 1, 2, ...; --events N, --rate R rows per second) has ts = i ms and key i mod
 * --keys K (default 10); a count per key in windows of --window-ms W (default 1000), watermark
 * delay 0, so every window of every key counts W / K rows, and nothing is late. Output: the
 * directory --output, rows "k,window_start,window_end,n". The generator (uid "rows") runs at the
 * job's parallelism, the windows (uid "windows") too, the sink (uid "out") at 1. A correct run,
 * interrupted or not, commits every window exactly once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rill.h"

int rill_job(rill_env *env, int argc, char **argv)
{
    const char *output = NULL;
    long long events = 100000, rate = 0, keys = 10, window_ms = 1000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--output"))
            output = argv[i + 1];
        else if (!strcmp(argv[i], "--events"))
            events = strtoll(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--rate"))
            rate = strtoll(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--keys"))
            keys = strtoll(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--window-ms"))
            window_ms = strtoll(argv[i + 1], NULL, 10);
    }
    if (!output || events < 0 || rate < 0 || keys <= 0 || window_ms <= 0) {
        fprintf(stderr, "eo_windows: usage: -- --output DIR [--events N] [--rate R] [--keys K] "
                        "[--window-ms W]\n");
        return RILL_EINVAL;
    }
    rill_schema *schema = NULL;
    if (rill_schema_parse("k INT64 NOT NULL, ts TIMESTAMP NOT NULL", &schema) != 0)
        return RILL_EINVAL;
    rill_gen_field f[2] = {
        {.name = "k", .kind = RILL_GEN_MODULO, .a = 0, .b = keys},
        {.name = "ts", .kind = RILL_GEN_SEQUENCE, .a = 0, .b = 1},
    };
    rill_gen_opts gen = {
        .seed = 1, .events = events, .rate = (double)rate, .fields = f, .n_fields = 2};
    rill_stream *rows = rill_stream_uid(rill_source_generator(env, schema, &gen), "rows");
    rill_schema_free(schema);
    rill_watermark_opts wm = {.kind = RILL_WM_BOUNDED, .max_delay_ms = 0};
    rill_stream *et = rill_stream_event_time(rows, "ts", &wm);
    rill_window_spec w = {.kind = RILL_WINDOW_TUMBLING,
                          .domain = RILL_EVENT_TIME,
                          .size_ms = window_ms,
                          .slide_ms = window_ms};
    rill_agg_spec count = {RILL_AGG_COUNT, NULL, "n"};
    rill_stream *win = rill_window_aggregate(rill_stream_key_by(et, "k"), &w, &count, 1);
    rill_stream_uid(win, "windows");
    rill_stream *out = rill_stream_uid(rill_sink_file_exactly_once(win, output, NULL), "out");
    rill_stream_parallelism(out, 1);
    int rc = rill_env_execute(env);
    int64_t n = 0, n_windows = 0;
    rill_env_metric(env, "rows", "records_out", &n);
    rill_env_metric(env, "out", "records_in", &n_windows);
    printf("eo_windows: rows=%lld windows=%lld\n", (long long)n, (long long)n_windows);
    return rc;
}
