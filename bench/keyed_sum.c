/*
 * keyed_sum.c - benchmark job (b): generator -> key_by -> keyed running sum in ValueState ->
 * blackhole. Rows (key INT64, value INT64): key = i mod K, value = i mod 1024; every row
 * updates its key's sum and emits (key, sum), as a rolling keyBy().sum() does in Flink.
 *   rill run build/bench/keyed_sum.so -- --events 50000000 --keys 1000
 * With --list, every row appends its value to its key's ListState instead (list appends, the
 * lists never read) and emits (key, value).
 * With --update-rate R (bench/checkpoints): rows 0..K-1 fill every key once at full speed, then
 * rows go to keys spread uniformly by a hash of i, R per second: a large state of which each
 * checkpoint interval changes only a part.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rill.h"

static const rill_state_desc *sum_state, *list_state;

static int running_sum(rill_ctx *ctx, const rill_row *in)
{
    int64_t sum = 0;
    int rc = rill_value_get(ctx, sum_state, &sum);
    if (rc < 0)
        return rc;
    sum += rill_row_i64(in, 1);
    if ((rc = rill_value_set(ctx, sum_state, &sum)) < 0)
        return rc;
    rill_row out;
    if ((rc = rill_emit(ctx, &out)) < 0)
        return rc;
    rill_row_set_i64(&out, 0, rill_row_i64(in, 0));
    rill_row_set_i64(&out, 1, sum);
    return 0;
}

static int list_append(rill_ctx *ctx, const rill_row *in)
{
    int64_t v = rill_row_i64(in, 1);
    int rc = rill_list_add(ctx, list_state, &v, sizeof v);
    if (rc < 0)
        return rc;
    rill_row out;
    if ((rc = rill_emit(ctx, &out)) < 0)
        return rc;
    rill_row_set_i64(&out, 0, rill_row_i64(in, 0));
    rill_row_set_i64(&out, 1, v);
    return 0;
}

static long long n_keys, update_rate;

static uint64_t mix64(uint64_t x) /* splitmix64's finaliser */
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Row n >= K goes to a hashed key, paced to update_rate rows per second from the end of the
 * fill. The generator's own rate would limit the fill too, so the pacing sleeps here, every
 * 256 rows, in the source's thread (the job runs the source at parallelism 1). */
static int update_row(rill_ctx *ctx, uint64_t n, rill_row *row)
{
    static double t0;
    (void)ctx;
    if (n < (uint64_t)n_keys)
        return 0;
    uint64_t j = n - (uint64_t)n_keys;
    if (j == 0) {
        struct timespec wall;
        clock_gettime(CLOCK_REALTIME, &wall);
        fprintf(stderr, "keyed_sum: %lld keys filled at %lld ms\n", n_keys,
                (long long)wall.tv_sec * 1000 + wall.tv_nsec / 1000000);
        t0 = now_s();
    } else if (j % 256 == 0) {
        double wait = t0 + (double)j / (double)update_rate - now_s();
        if (wait > 0) {
            struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
            nanosleep(&ts, NULL);
        }
    }
    rill_row_set_i64(row, 0, (int64_t)(mix64(n) % (uint64_t)n_keys));
    return 0;
}

int rill_job(rill_env *env, int argc, char **argv)
{
    long long events = 50000000, keys = 1000;
    bool list = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--list"))
            list = true;
        else if (!strcmp(argv[i], "--events") && i + 1 < argc)
            events = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--keys") && i + 1 < argc)
            keys = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--update-rate") && i + 1 < argc)
            update_rate = atoll(argv[++i]);
    }
    n_keys = keys;
    rill_schema *schema = NULL;
    rill_schema_parse("key INT64 NOT NULL, value INT64 NOT NULL", &schema);
    rill_gen_field fields[] = {
        {.name = "key", .kind = RILL_GEN_MODULO, .a = 0, .b = keys},
        {.name = "value", .kind = RILL_GEN_MODULO, .a = 0, .b = 1024},
    };
    rill_gen_opts gen = {.seed = 1, .events = events, .fields = fields, .n_fields = 2,
                         .fn = update_rate > 0 ? update_row : NULL};
    if (list)
        list_state = rill_list_state(env, "values", sizeof(int64_t));
    else
        sum_state = rill_value_state(env, "sum", sizeof(int64_t));
    rill_stream *s = rill_stream_uid(rill_source_generator(env, schema, &gen), "source");
    s = rill_keyed_process(rill_stream_key_by(s, "key"), NULL, list ? list_append : running_sum,
                           NULL);
    rill_stream_uid(rill_sink_blackhole(rill_stream_uid(s, "sum")), "sink");
    rill_schema_free(schema);
    int rc = rill_env_execute(env);
    if (rc == 0) {
        int64_t n = 0, out = 0, ms = rill_env_elapsed_ms(env);
        rill_env_metric(env, "source", "records_out", &n);
        rill_env_metric(env, "sink", "records_in", &out);
        printf("events=%lld out=%lld elapsed_ms=%lld events_per_s=%.0f\n", (long long)n,
               (long long)out, (long long)ms, ms ? (double)n * 1000.0 / (double)ms : 0.0);
    }
    return rc;
}
