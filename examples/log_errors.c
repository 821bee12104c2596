/*
 * log_errors.c - example job: errors per server in tumbling event-time windows. Log lines with
 * level ERROR are counted per server and window; lines later than the allowed lateness go to a
 * late-data side output, unchanged.
 *
 *   rill run build/examples/log_errors.so -- --input logs.csv --output errors.csv \
 *       --late late.csv --max-delay-ms 5000 --window-ms 300000 --allowed-lateness-ms 0
 *
 * Input CSV: header ts,server,level,message (ts in epoch ms or ISO-8601). Output CSV: header
 * server,window_start,window_end,count, one row per window with at least one error, written when
 * the window fires (and again, updated, for each late error within the allowed lateness).
 * --late: the late rows, header ts,server,level,message; without it they are dropped and
 * counted. Event time is ts, with watermarks max_ts - max_delay - 1 made at the source. Without
 * --input the job reads a generated log (--events N, default 50,000; --seed S). The job ends
 * with a summary line: events, errors, windows emitted, late rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rill.h"

enum { IN_TS = 0, IN_SERVER = 1, IN_LEVEL = 2, IN_MESSAGE = 3 };

/* The generated log: one line every step_ms, up to jitter_ms early, and one in a thousand
 * lines a straggler, straggle_ms behind (later than the max delay, so usually late). */
typedef struct gen_cfg {
    uint64_t seed;
    int64_t t0, step_ms, jitter_ms, straggle_ms;
} gen_cfg;

static uint64_t mix64(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static int gen_ts(rill_ctx *ctx, uint64_t n, rill_row *row)
{
    const gen_cfg *g = rill_ctx_user(ctx);
    uint64_t h = mix64(g->seed ^ mix64(n));
    int64_t ts = g->t0 + (int64_t)n * g->step_ms - (int64_t)(h % (uint64_t)(g->jitter_ms + 1));
    if ((h >> 40) % 1000 == 0)
        ts -= g->straggle_ms;
    rill_row_set_ts(row, IN_TS, ts);
    return 0;
}

static int is_error(rill_ctx *ctx, const rill_row *in)
{
    (void)ctx;
    size_t n;
    const char *level = rill_row_str(in, IN_LEVEL, &n);
    return n == 5 && memcmp(level, "ERROR", 5) == 0;
}

static int usage(const char *msg, const char *arg)
{
    fprintf(stderr, "log_errors: %s%s\n", msg, arg ? arg : "");
    fprintf(stderr, "usage: rill run log_errors.so -- [--input FILE.csv|kafka://HOST:PORT/TOPIC] "
                    "[--output OUT.csv|-|kafka://HOST:PORT/TOPIC] [--unbounded] "
                    "[--exactly-once] "
                    "[--late OUT_LATE.csv] [--max-delay-ms 5000] [--window-ms 300000] "
                    "[--allowed-lateness-ms 0] [--events N] [--seed S]\n");
    return RILL_EINVAL;
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static rill_io_opts io; /* --exactly-once, --unbounded */

/* Writes rows to path ("-": standard output, kafka://...), or counts them when path is NULL. */
static rill_stream *sink_to(rill_stream *s, const char *path, const char *uid)
{
    return rill_stream_parallelism(rill_stream_uid(rill_sink_at(s, path, &io), uid), 1);
}

int rill_job(rill_env *env, int argc, char **argv)
{
    const char *input = NULL, *output = NULL, *late_path = NULL;
    int64_t max_delay = 5000, window = 300000, lateness = 0, events = 50000, seed = 7;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--exactly-once")) {
            io.exactly_once = true;
            continue;
        }
        if (!strcmp(a, "--unbounded")) {
            io.unbounded = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t *num = NULL;
        if (!strcmp(a, "--input"))
            input = v;
        else if (!strcmp(a, "--output"))
            output = v;
        else if (!strcmp(a, "--late"))
            late_path = v;
        else if (!strcmp(a, "--max-delay-ms"))
            num = &max_delay;
        else if (!strcmp(a, "--window-ms"))
            num = &window;
        else if (!strcmp(a, "--allowed-lateness-ms"))
            num = &lateness;
        else if (!strcmp(a, "--events"))
            num = &events;
        else if (!strcmp(a, "--seed"))
            num = &seed;
        else
            return usage("unknown argument ", a);
        if (!v)
            return usage("missing value for ", a);
        if (num && parse_i64(v, num) != 0)
            return usage("not an integer: ", v);
        i++;
    }
    if (window <= 0 || max_delay < 0 || lateness < 0 || events < 0)
        return usage("--window-ms must be > 0; --max-delay-ms, --allowed-lateness-ms and "
                     "--events >= 0",
                     NULL);

    rill_schema *log_schema = NULL;
    rill_schema_parse("ts TIMESTAMP NOT NULL, server STRING NOT NULL, level STRING NOT NULL, "
                      "message STRING",
                      &log_schema);

    rill_stream *logs;
    if (input) {
        logs = rill_source_at(env, input, log_schema, &io);
    } else {
        static const char *const levels[] = {"DEBUG", "INFO", "INFO", "INFO", "WARN", "ERROR"};
        static const char *const messages[] = {"connection reset", "timeout after 30 s",
                                               "disk full", "bad request", "upstream 502"};
        static const char *const server_prefix[] = {"web-"};
        static gen_cfg g; /* read by gen_ts; lives as long as the job object is loaded */
        g = (gen_cfg){.seed = (uint64_t)seed,
                      .t0 = 1700000000000,
                      .step_ms = 100,
                      .jitter_ms = max_delay < 2000 ? max_delay : 2000,
                      .straggle_ms = max_delay + window / 2 + 1};
        rill_gen_field fields[] = {
            {.name = "server", .kind = RILL_GEN_STRING, .a = 1, .b = 8, .choices = server_prefix},
            {.name = "level", .kind = RILL_GEN_STRING, .choices = levels, .n_choices = 6},
            {.name = "message", .kind = RILL_GEN_STRING, .choices = messages, .n_choices = 5},
        };
        rill_gen_opts gen = {.seed = (uint64_t)seed,
                             .events = events,
                             .fields = fields,
                             .n_fields = 3,
                             .fn = gen_ts,
                             .user = &g};
        logs = rill_source_generator(env, log_schema, &gen);
    }
    rill_stream_uid(logs, "logs");

    /* watermarks at the source, one per split, so lateness follows the order of the file */
    /* an unbounded Kafka input: a partition (or a subtask without one) that has no data must
     * not hold every window back, so it is left out after 5 s without rows (Flink's idleness) */
    rill_watermark_opts wm = {.kind = RILL_WM_BOUNDED,
                              .max_delay_ms = max_delay,
                              .idle_timeout_ms = io.unbounded ? 5000 : 0};
    logs = rill_stream_event_time(logs, "ts", &wm);

    rill_stream *errors = rill_stream_uid(rill_stream_filter(logs, is_error, NULL), "errors");

    /* late rows keep the input's columns: the tag has the input's schema */
    rill_output_tag *late_tag = rill_output_tag_new(env, "late", log_schema);
    rill_window_spec w = {.kind = RILL_WINDOW_TUMBLING,
                          .domain = RILL_EVENT_TIME,
                          .size_ms = window,
                          .allowed_lateness_ms = lateness,
                          .late = late_tag};
    rill_agg_spec count = {RILL_AGG_COUNT, NULL, "count"};
    rill_stream *counts =
        rill_window_aggregate(rill_stream_key_by(errors, "server"), &w, &count, 1);
    rill_stream_uid(counts, "windows");

    sink_to(counts, output, "output");
    /* without --late the late rows are only counted (a blackhole counts what it drops) */
    sink_to(rill_stream_side_output(counts, late_tag), late_path, "late");
    rill_schema_free(log_schema);

    int rc = rill_env_execute(env);
    if (rc == 0) {
        int64_t n_events = 0, n_errors = 0, n_windows = 0, n_late = 0;
        rill_env_metric(env, "logs", "records_out", &n_events);
        rill_env_metric(env, "errors", "records_out", &n_errors);
        rill_env_metric(env, "output", "records_in", &n_windows);
        rill_env_metric(env, "late", "records_in", &n_late);
        int64_t ms = rill_env_elapsed_ms(env);
        bool to_stdout = (output && !strcmp(output, "-")) || (late_path && !strcmp(late_path, "-"));
        FILE *f = to_stdout ? stderr : stdout; /* keep printed rows apart from the summary */
        fprintf(f, "log_errors: events=%lld errors=%lld windows=%lld late=%lld elapsed_ms=%lld\n",
                (long long)n_events, (long long)n_errors, (long long)n_windows, (long long)n_late,
                (long long)ms);
    }
    return rc;
}
