/*
 * chaos_windows.c - e2e test job for the chaos tests: clicks per page in event-time tumbling
 * windows, written by the exactly-once file sink. The CSV file(s) --input (header
 * ts,user_id,page; or kafka://HOST:PORT/TOPIC, values without header; uid "clicks") get event time with a bounded delay (--max-delay-ms), pass a
 * slow filter (uid "slow": a subtask sleeps 1 ms after every --rows-per-ms rows), are keyed by
 * page into windows of --size-ms (uid "windows"), and the counts (page,window_start,
 * window_end,clicks) go to directory --output (or kafka://HOST:PORT/TOPIC, in transactions;
 * uid "out", parallelism 1). Late clicks are
 * dropped. A correct run, killed and resumed at any parallelism or not, commits exactly the
 * windows of one uninterrupted run, each once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rill.h"
#include "slow_filter.h"

int rill_job(rill_env *env, int argc, char **argv)
{
    const char *input = NULL, *output = NULL;
    long long max_delay = 1000, size = 10000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--input"))
            input = argv[i + 1];
        else if (!strcmp(argv[i], "--output"))
            output = argv[i + 1];
        else if (!strcmp(argv[i], "--rows-per-ms"))
            slow_rows_per_ms = strtoll(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--max-delay-ms"))
            max_delay = strtoll(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--size-ms"))
            size = strtoll(argv[i + 1], NULL, 10);
    }
    if (!input || !output || slow_rows_per_ms < 0 || max_delay < 0 || size < 1) {
        fprintf(stderr, "chaos_windows: usage: -- --input FILE --output DIR [--rows-per-ms R] "
                        "[--max-delay-ms D] [--size-ms S]\n");
        return RILL_EINVAL;
    }
    rill_schema *schema = NULL;
    if (rill_schema_parse("ts TIMESTAMP NOT NULL, user_id INT64 NOT NULL, page STRING NOT NULL",
                          &schema) != 0)
        return RILL_EINVAL;
    rill_stream *clicks = rill_stream_uid(rill_source_at(env, input, schema, NULL), "clicks");
    rill_schema_free(schema);
    rill_watermark_opts wm = {.kind = RILL_WM_BOUNDED, .max_delay_ms = max_delay};
    clicks = rill_stream_event_time(clicks, "ts", &wm);
    clicks = rill_stream_uid(rill_stream_filter(clicks, slow_filter, NULL), "slow");
    rill_window_spec w = {.kind = RILL_WINDOW_TUMBLING, .domain = RILL_EVENT_TIME,
                          .size_ms = size, .slide_ms = size};
    rill_agg_spec count = {RILL_AGG_COUNT, NULL, "clicks"};
    rill_stream *counts = rill_window_aggregate(rill_stream_key_by(clicks, "page"), &w, &count, 1);
    rill_stream_uid(counts, "windows");
    rill_io_opts io = {.exactly_once = true};
    rill_stream *sink = rill_sink_at(counts, output, &io);
    rill_stream_parallelism(rill_stream_uid(sink, "out"), 1);
    int rc = rill_env_execute(env);
    int64_t n = 0;
    rill_env_metric(env, "clicks", "records_out", &n);
    printf("chaos_windows: rows=%lld\n", (long long)n);
    return rc;
}
