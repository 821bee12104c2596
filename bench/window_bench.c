/*
 * window_bench.c - benchmark (c), a standalone program on the embedded engine (rill_env_new):
 * generator -> event time -> key_by -> window sum + count -> blackhole. Row i has key i mod K,
 * value i mod 1024 and event time i microseconds (ts_ms = i / 1000), in order, with watermarks
 * from the generator. Tumbling windows when the slide equals the size, sliding otherwise.
 *   build/bench/window_bench --events 20000000 --keys 1000 --size-us 1000000 --slide-us 100000
 * Prints one line: events, windows, elapsed_ms, events_per_s.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rill.h"

static int usage(const char *msg, const char *arg)
{
    fprintf(stderr, "window_bench: %s%s\n", msg, arg ? arg : "");
    fprintf(stderr, "usage: window_bench [--events N] [--keys K] [--size-us US] [--slide-us US] "
                    "[--checkpoint-interval MS] [--checkpoint-dir DIR] [--resume] "
                    "[--parallelism P] [--state-backend heap|rocksdb] [--state-memory SIZE]\n");
    return 2;
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

int main(int argc, char **argv)
{
    int64_t events = 20000000, keys = 1000, size_us = 1000000, slide_us = -1, parallelism = 1;
    int64_t ckpt_ms = 0;
    bool resume = false;
    const char *ckpt_dir = NULL, *backend = NULL, *state_memory = NULL;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        int64_t *num = NULL;
        if (!strcmp(a, "--resume")) {
            resume = true;
            i--; /* a flag: no value */
            continue;
        }
        if (!strcmp(a, "--checkpoint-dir") || !strcmp(a, "--state-backend") ||
            !strcmp(a, "--state-memory")) {
            if (i + 1 >= argc)
                return usage("missing value for ", a);
            if (!strcmp(a, "--checkpoint-dir"))
                ckpt_dir = argv[i + 1];
            else if (!strcmp(a, "--state-backend"))
                backend = argv[i + 1];
            else
                state_memory = argv[i + 1];
            continue;
        }
        if (!strcmp(a, "--events"))
            num = &events;
        else if (!strcmp(a, "--keys"))
            num = &keys;
        else if (!strcmp(a, "--size-us"))
            num = &size_us;
        else if (!strcmp(a, "--slide-us"))
            num = &slide_us;
        else if (!strcmp(a, "--parallelism") || !strcmp(a, "-p"))
            num = &parallelism;
        else if (!strcmp(a, "--checkpoint-interval"))
            num = &ckpt_ms;
        else
            return usage("unknown argument ", a);
        if (i + 1 >= argc)
            return usage("missing value for ", a);
        if (parse_i64(argv[i + 1], num) != 0)
            return usage("not an integer: ", argv[i + 1]);
    }
    if (slide_us < 0)
        slide_us = size_us;
    if (events < 1 || keys < 1 || size_us <= 0 || slide_us <= 0 || parallelism < 1)
        return usage("--events, --keys, --size-us, --slide-us and --parallelism must be > 0", NULL);
    /* event time is in milliseconds: a window must be a whole number of them */
    if (size_us % 1000 != 0 || slide_us % 1000 != 0)
        return usage("--size-us and --slide-us must be whole milliseconds (multiples of 1000)",
                     NULL);

    rill_env *env = rill_env_new();
    char num[32];
    snprintf(num, sizeof num, "%lld", (long long)parallelism);
    rill_env_set(env, "name", "window_bench");
    rill_env_set(env, "parallelism", num);
    if ((backend && rill_env_set(env, "state.backend", backend) != 0) ||
        (state_memory && rill_env_set(env, "state.memory", state_memory) != 0)) {
        fprintf(stderr, "window_bench: %s\n", rill_errmsg(env));
        rill_env_free(env);
        return 2;
    }
    if (ckpt_ms > 0) { /* checkpoints while it runs: the overhead benchmark */
        snprintf(num, sizeof num, "%lld", (long long)ckpt_ms);
        rill_env_set(env, "checkpoint.dir", ckpt_dir ? ckpt_dir : "/tmp/rill-window-bench-ckpt");
        rill_env_set(env, "checkpoint.interval", num);
        if (resume) /* restore time: start from the newest checkpoint in the directory */
            rill_env_set(env, "resume", "true");
    }

    rill_schema *schema = NULL;
    rill_schema_parse("key INT64 NOT NULL, value INT64 NOT NULL, ts TIMESTAMP NOT NULL", &schema);
    rill_gen_field fields[] = {
        {.name = "key", .kind = RILL_GEN_MODULO, .a = 0, .b = keys},
        {.name = "value", .kind = RILL_GEN_MODULO, .a = 0, .b = 1024},
        {.name = "ts", .kind = RILL_GEN_SEQUENCE, .a = 0, .b = 1, .c = 1000},
    };
    rill_gen_opts gen = {.seed = 1, .events = events, .fields = fields, .n_fields = 3};
    rill_stream *s = rill_stream_uid(rill_source_generator(env, schema, &gen), "source");
    rill_schema_free(schema);

    /* rows come in time order: the watermark follows the largest timestamp (delay 0) */
    rill_watermark_opts wm = {.kind = RILL_WM_MONOTONOUS};
    s = rill_stream_event_time(s, "ts", &wm);

    rill_window_spec w = {
        .kind = slide_us == size_us ? RILL_WINDOW_TUMBLING : RILL_WINDOW_SLIDING,
        .domain = RILL_EVENT_TIME,
        .size_ms = size_us / 1000,
        .slide_ms = slide_us / 1000,
    };
    rill_agg_spec aggs[] = {{RILL_AGG_SUM, "value", "sum"}, {RILL_AGG_COUNT, NULL, "count"}};
    s = rill_window_aggregate(rill_stream_key_by(s, "key"), &w, aggs, 2);
    rill_stream_uid(s, "window");
    rill_stream_uid(rill_sink_blackhole(s), "sink");

    int rc = rill_env_execute(env);
    if (rc != 0) {
        fprintf(stderr, "window_bench: %s: %s\n", rill_err_name(rc), rill_errmsg(env));
        rill_env_free(env);
        return 1;
    }
    int64_t n = 0, windows = 0, ms = rill_env_elapsed_ms(env);
    rill_env_metric(env, "source", "records_out", &n);
    rill_env_metric(env, "sink", "records_in", &windows);
    printf("window_bench: events=%lld windows=%lld keys=%lld size_us=%lld slide_us=%lld "
           "parallelism=%lld elapsed_ms=%lld events_per_s=%.0f\n",
           (long long)n, (long long)windows, (long long)keys, (long long)size_us,
           (long long)slide_us, (long long)parallelism, (long long)ms,
           ms > 0 ? (double)n * 1000.0 / (double)ms : 0.0);
    rill_env_free(env);
    return 0;
}
