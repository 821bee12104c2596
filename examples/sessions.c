/*
 * sessions.c - example job: user sessions in event time. A user's clicks less than (or exactly)
 * the gap apart form one session; each session is written with its click count when the
 * watermark passes its end (last click + gap).
 *
 *   rill run build/examples/sessions.so -- --input clicks.csv --output sessions.csv \
 *       --max-delay-ms 5000 --gap-ms 1800000
 *
 * Input CSV: header ts,user_id,page (ts in epoch ms or ISO-8601). Output CSV: header
 * user_id,session_start,session_end,clicks with session_start the first click's ts and
 * session_end the last click's ts + gap (Flink's session window [start, end)). Clicks later
 * than the watermark (max_ts - max_delay - 1, made at the source) are dropped and counted.
 * Without --input the job reads generated clicks (--events N, default 50,000; --seed S; users
 * active one hour in four). It ends with a summary line: events, sessions emitted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rill.h"

enum { IN_TS = 0, IN_USER = 1, IN_PAGE = 2 };

/* Generated clicks: one every step_ms, up to jitter_ms early; user u clicks only in the hours h
 * with h mod 4 == u mod 4, so most users have several sessions. */
typedef struct gen_cfg {
    uint64_t seed;
    int64_t t0, step_ms, jitter_ms, users;
} gen_cfg;

static uint64_t mix64(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static int gen_click(rill_ctx *ctx, uint64_t n, rill_row *row)
{
    const gen_cfg *g = rill_ctx_user(ctx);
    uint64_t h = mix64(g->seed ^ mix64(n));
    int64_t base = g->t0 + (int64_t)n * g->step_ms;
    int64_t ts = base - (int64_t)(h % (uint64_t)(g->jitter_ms + 1));
    int64_t hour = base / 3600000;
    int64_t per_phase = g->users / 4 > 0 ? g->users / 4 : 1;
    int64_t user = (int64_t)((h >> 32) % (uint64_t)per_phase) * 4 + hour % 4 + 1;
    rill_row_set_ts(row, IN_TS, ts);
    rill_row_set_i64(row, IN_USER, user);
    return 0;
}

/* The window's output row, renamed: user_id, window_start, window_end, clicks have the types
 * of user_id, session_start, session_end, clicks. */
static int rename_session(rill_ctx *ctx, const rill_row *in, rill_row *out)
{
    (void)ctx;
    return rill_row_copy(out, in);
}

static int usage(const char *msg, const char *arg)
{
    fprintf(stderr, "sessions: %s%s\n", msg, arg ? arg : "");
    fprintf(stderr, "usage: rill run sessions.so -- [--input FILE.csv|kafka://HOST:PORT/TOPIC] "
                    "[--output OUT.csv|-|kafka://HOST:PORT/TOPIC] [--unbounded] "
                    "[--exactly-once] "
                    "[--max-delay-ms 5000] [--gap-ms 1800000] [--events N] [--users N] "
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
    int64_t max_delay = 5000, gap = 1800000, events = 50000, users = 200, seed = 13;
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
        else if (!strcmp(a, "--gap-ms"))
            num = &gap;
        else if (!strcmp(a, "--events"))
            num = &events;
        else if (!strcmp(a, "--users"))
            num = &users;
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
    if (gap <= 0 || max_delay < 0 || events < 0 || users < 1)
        return usage("--gap-ms and --users must be > 0, --max-delay-ms and --events >= 0", NULL);

    rill_schema *click_schema = NULL, *session_schema = NULL;
    rill_schema_parse("ts TIMESTAMP NOT NULL, user_id INT64 NOT NULL, page STRING NOT NULL",
                      &click_schema);
    rill_schema_parse("user_id INT64 NOT NULL, session_start TIMESTAMP NOT NULL, "
                      "session_end TIMESTAMP NOT NULL, clicks INT64 NOT NULL",
                      &session_schema);

    rill_stream *clicks;
    if (input) {
        clicks = rill_source_at(env, input, click_schema, &io);
    } else {
        static const char *const page_prefix[] = {"/page/"};
        static gen_cfg g; /* read by gen_click; lives as long as the job object is loaded */
        g = (gen_cfg){.seed = (uint64_t)seed,
                      .t0 = 1700000000000,
                      .step_ms = 1000,
                      .jitter_ms = max_delay < 2000 ? max_delay : 2000,
                      .users = users};
        rill_gen_field fields[] = {
            {.name = "page", .kind = RILL_GEN_STRING, .a = 1, .b = 20, .choices = page_prefix},
        };
        rill_gen_opts gen = {.seed = (uint64_t)seed,
                             .events = events,
                             .fields = fields,
                             .n_fields = 1,
                             .fn = gen_click,
                             .user = &g};
        clicks = rill_source_generator(env, click_schema, &gen);
    }
    rill_stream_uid(clicks, "clicks");

    /* an unbounded Kafka input: a partition (or a subtask without one) that has no data must
     * not hold every window back, so it is left out after 5 s without rows (Flink's idleness) */
    rill_watermark_opts wm = {.kind = RILL_WM_BOUNDED,
                              .max_delay_ms = max_delay,
                              .idle_timeout_ms = io.unbounded ? 5000 : 0};
    clicks = rill_stream_event_time(clicks, "ts", &wm);

    rill_window_spec w = {.kind = RILL_WINDOW_SESSION, .domain = RILL_EVENT_TIME, .gap_ms = gap};
    rill_agg_spec count = {RILL_AGG_COUNT, NULL, "clicks"};
    rill_stream *windows =
        rill_window_aggregate(rill_stream_key_by(clicks, "user_id"), &w, &count, 1);
    rill_stream_uid(windows, "windows");
    rill_stream *sessions = rill_stream_map(windows, session_schema, rename_session, NULL);
    rill_stream_uid(sessions, "sessions");

    rill_stream *sink;
    sink = rill_sink_at(sessions, output, &io);
    rill_stream_parallelism(rill_stream_uid(sink, "output"), 1);
    rill_schema_free(click_schema);
    rill_schema_free(session_schema);

    int rc = rill_env_execute(env);
    if (rc == 0) {
        int64_t n_events = 0, n_sessions = 0, ms = rill_env_elapsed_ms(env);
        rill_env_metric(env, "clicks", "records_out", &n_events);
        rill_env_metric(env, "output", "records_in", &n_sessions);
        /* keep printed rows apart from the summary */
        FILE *f = output && !strcmp(output, "-") ? stderr : stdout;
        fprintf(f, "sessions: events=%lld windows=%lld elapsed_ms=%lld\n", (long long)n_events,
                (long long)n_sessions, (long long)ms);
    }
    return rc;
}
