/*
 * clicks.c - example job: clicks per page in event-time windows, tumbling when the slide equals
 * the size, sliding (hopping) otherwise.
 *
 *   rill run build/examples/clicks.so -- --input clicks.csv --output counts.csv \
 *       --max-delay-ms 5000 --size-ms 60000 --slide-ms 10000
 *
 * Input CSV: header ts,user_id,page (ts in epoch ms or ISO-8601). Output CSV: header
 * page,window_start,window_end,clicks, one row per window with at least one click, written when
 * the watermark (max_ts - max_delay - 1, made at the source) passes the window's end. Clicks
 * later than that are dropped and counted. Without --input the job reads generated clicks
 * (--events N, default 50,000; --seed S). It ends with a summary line: events, windows emitted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rill.h"

enum { IN_TS = 0, IN_USER = 1, IN_PAGE = 2 };

/* Generated clicks: one every step_ms, up to jitter_ms early (within the max delay). */
typedef struct gen_cfg {
    uint64_t seed;
    int64_t t0, step_ms, jitter_ms;
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
    rill_row_set_ts(row, IN_TS, ts);
    return 0;
}

static int usage(const char *msg, const char *arg)
{
    fprintf(stderr, "clicks: %s%s\n", msg, arg ? arg : "");
    fprintf(stderr, "usage: rill run clicks.so -- [--input FILE.csv|kafka://HOST:PORT/TOPIC] "
                    "[--output OUT.csv|-|kafka://HOST:PORT/TOPIC] [--unbounded] "
                    "[--exactly-once] "
                    "[--max-delay-ms 5000] [--size-ms 60000] [--slide-ms 60000] [--events N] "
                    "[--seed S]\n");
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

int rill_job(rill_env *env, int argc, char **argv)
{
    rill_io_opts io = {0}; /* --exactly-once, --unbounded */
    const char *input = NULL, *output = NULL;
    int64_t max_delay = 5000, size = 60000, slide = 60000, events = 50000, seed = 11;
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
        else if (!strcmp(a, "--max-delay-ms"))
            num = &max_delay;
        else if (!strcmp(a, "--size-ms"))
            num = &size;
        else if (!strcmp(a, "--slide-ms"))
            num = &slide;
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
    if (size <= 0 || slide <= 0 || max_delay < 0 || events < 0)
        return usage("--size-ms and --slide-ms must be > 0, --max-delay-ms and --events >= 0",
                     NULL);

    rill_schema *click_schema = NULL;
    rill_schema_parse("ts TIMESTAMP NOT NULL, user_id INT64 NOT NULL, page STRING NOT NULL",
                      &click_schema);

    rill_stream *clicks;
    if (input) {
        clicks = rill_source_at(env, input, click_schema, &io);
    } else {
        static const char *const page_prefix[] = {"/page/"};
        static gen_cfg g; /* read by gen_ts; lives as long as the job object is loaded */
        g = (gen_cfg){.seed = (uint64_t)seed,
                      .t0 = 1700000000000,
                      .step_ms = 10,
                      .jitter_ms = max_delay < 2000 ? max_delay : 2000};
        rill_gen_field fields[] = {
            {.name = "user_id", .kind = RILL_GEN_UNIFORM_INT, .a = 1, .b = 10000},
            {.name = "page", .kind = RILL_GEN_STRING, .a = 1, .b = 20, .choices = page_prefix},
        };
        rill_gen_opts gen = {.seed = (uint64_t)seed,
                             .events = events,
                             .fields = fields,
                             .n_fields = 2,
                             .fn = gen_ts,
                             .user = &g};
        clicks = rill_source_generator(env, click_schema, &gen);
    }
    rill_stream_uid(clicks, "clicks");
    rill_schema_free(click_schema);

    /* an unbounded Kafka input: a partition (or a subtask without one) that has no data must
     * not hold every window back, so it is left out after 5 s without rows (Flink's idleness) */
    rill_watermark_opts wm = {.kind = RILL_WM_BOUNDED,
                              .max_delay_ms = max_delay,
                              .idle_timeout_ms = io.unbounded ? 5000 : 0};
    clicks = rill_stream_event_time(clicks, "ts", &wm);

    rill_window_spec w = {.kind = slide == size ? RILL_WINDOW_TUMBLING : RILL_WINDOW_SLIDING,
                          .domain = RILL_EVENT_TIME,
                          .size_ms = size,
                          .slide_ms = slide};
    rill_agg_spec count = {RILL_AGG_COUNT, NULL, "clicks"};
    rill_stream *counts = rill_window_aggregate(rill_stream_key_by(clicks, "page"), &w, &count, 1);
    rill_stream_uid(counts, "windows");

    rill_stream *sink;
    sink = rill_sink_at(counts, output, &io);
    rill_stream_parallelism(rill_stream_uid(sink, "output"), 1);

    int rc = rill_env_execute(env);
    if (rc == 0) {
        int64_t n_events = 0, n_windows = 0, ms = rill_env_elapsed_ms(env);
        rill_env_metric(env, "clicks", "records_out", &n_events);
        rill_env_metric(env, "output", "records_in", &n_windows);
        /* keep printed rows apart from the summary */
        FILE *f = output && !strcmp(output, "-") ? stderr : stdout;
        fprintf(f, "clicks: events=%lld windows=%lld elapsed_ms=%lld\n", (long long)n_events,
                (long long)n_windows, (long long)ms);
    }
    return rc;
}
