/*
 * stateless.c - benchmark job (a): generator -> filter -> map -> blackhole, stateless.
 * Rows (id INT64, value INT64): value = id mod 1024; keep rows with an even value; map to
 * value * 3 + 1. Prints one line: events, elapsed, events per second.
 *   rill run build/bench/stateless.so -- --events 100000000
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rill.h"

static int keep_even(rill_ctx *ctx, const rill_row *in)
{
    (void)ctx;
    return (rill_row_i64(in, 1) & 1) == 0;
}

static int scale(rill_ctx *ctx, const rill_row *in, rill_row *out)
{
    (void)ctx;
    rill_row_set_i64(out, 0, rill_row_i64(in, 0));
    rill_row_set_i64(out, 1, rill_row_i64(in, 1) * 3 + 1);
    return 0;
}

int rill_job(rill_env *env, int argc, char **argv)
{
    long long events = 100000000;
    for (int i = 1; i + 1 < argc; i += 2)
        if (!strcmp(argv[i], "--events"))
            events = atoll(argv[i + 1]);
    rill_schema *schema = NULL;
    rill_schema_parse("id INT64 NOT NULL, value INT64 NOT NULL", &schema);
    rill_gen_field fields[] = {
        {.name = "id", .kind = RILL_GEN_SEQUENCE, .a = 0, .b = 1},
        {.name = "value", .kind = RILL_GEN_MODULO, .a = 0, .b = 1024},
    };
    rill_gen_opts gen = {.seed = 1, .events = events, .fields = fields, .n_fields = 2};
    rill_stream *s = rill_stream_uid(rill_source_generator(env, schema, &gen), "source");
    s = rill_stream_filter(s, keep_even, NULL);
    s = rill_stream_map(s, NULL, scale, NULL);
    rill_stream_uid(rill_sink_blackhole(s), "sink");
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
