/*
 * slow_sink.c - e2e test job: a fast generator of wide rows (id, key, a --payload byte string;
 * --events N) keyed by key into a slow consumer (uid "slow", which sleeps 1 ms after every
 * --rows-per-ms rows of a subtask), whose narrow output (the id) goes to the file sink --output
 * at parallelism 1. Back-pressure must hold the generator back: without it the rows in flight
 * would pile up in memory. A correct run writes every id 0..N-1 once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rill.h"

static long long rows_per_ms = 20;

static int open_slow(rill_ctx *ctx)
{
    rill_ctx_set_local(ctx, calloc(1, sizeof(long long))); /* rows seen by this subtask */
    return rill_ctx_local(ctx) ? 0 : RILL_ENOMEM;
}

static void close_slow(rill_ctx *ctx)
{
    free(rill_ctx_local(ctx));
}

static int slow(rill_ctx *ctx, const rill_row *in)
{
    long long *seen = rill_ctx_local(ctx);
    if (++*seen % rows_per_ms == 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    rill_row out;
    int rc = rill_emit(ctx, &out);
    if (rc < 0)
        return rc;
    rill_row_set_i64(&out, 0, rill_row_i64(in, 0));
    return 0;
}

int rill_job(rill_env *env, int argc, char **argv)
{
    const char *output = NULL;
    long long events = 100000, payload = 1000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--output"))
            output = argv[i + 1];
        else if (!strcmp(argv[i], "--events"))
            events = strtoll(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--payload"))
            payload = strtoll(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--rows-per-ms"))
            rows_per_ms = strtoll(argv[i + 1], NULL, 10);
    }
    if (!output || events < 1 || payload < 1 || payload > 65536 || rows_per_ms < 1) {
        fprintf(stderr, "slow_sink: usage: -- --output FILE [--events N] [--payload BYTES] "
                        "[--rows-per-ms R]\n");
        return RILL_EINVAL;
    }
    /* made once, lives as long as the job object is loaded (tasks of any attempt use it) */
    static char *text;
    static const char *choices[1];
    if (!text) {
        if (!(text = malloc((size_t)payload + 1)))
            return RILL_ENOMEM;
        memset(text, 'x', (size_t)payload);
        text[payload] = '\0';
        choices[0] = text;
    }

    rill_schema *in_schema = NULL, *out_schema = NULL;
    if (rill_schema_parse("id INT64 NOT NULL, k INT64 NOT NULL, payload STRING NOT NULL",
                          &in_schema) != 0 ||
        rill_schema_parse("id INT64 NOT NULL", &out_schema) != 0)
        return RILL_EINVAL;
    rill_gen_field f[3] = {
        {.name = "id", .kind = RILL_GEN_SEQUENCE, .a = 0, .b = 1},
        {.name = "k", .kind = RILL_GEN_MODULO, .a = 0, .b = 64},
        {.name = "payload", .kind = RILL_GEN_CONSTANT, .choices = choices, .n_choices = 1},
    };
    rill_gen_opts gen = {.seed = 7, .events = events, .fields = f, .n_fields = 3};
    rill_stream *rows = rill_stream_uid(rill_source_generator(env, in_schema, &gen), "rows");
    rill_stream *ids = rill_keyed_process(rill_stream_key_by(rows, "k"), out_schema, slow, NULL);
    rill_stream_hooks(rill_stream_uid(ids, "slow"), open_slow, close_slow);
    rill_stream_parallelism(rill_stream_uid(rill_sink_file(ids, output, NULL), "out"), 1);
    rill_schema_free(in_schema);
    rill_schema_free(out_schema);
    return rill_env_execute(env);
}
