/*
 * failing_map.c - e2e test job: reads transactions (user_id,amount,ts) and copies them to the
 * output through a map (or, with --in process, a keyed process function) of uid "boom" that
 * fails the job with rill_ctx_fail when an amount is negative.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rill.h"

enum { F_USER = 0, F_AMOUNT = 1, F_TS = 2 };

static int check_map(rill_ctx *ctx, const rill_row *in, rill_row *out)
{
    double amount = rill_row_f64(in, F_AMOUNT);
    if (amount < 0)
        return rill_ctx_fail(ctx, "bad amount %f for user %lld", amount,
                             (long long)rill_row_i64(in, F_USER));
    return rill_row_copy(out, in);
}

static int check_process(rill_ctx *ctx, const rill_row *in)
{
    double amount = rill_row_f64(in, F_AMOUNT);
    if (amount < 0)
        return rill_ctx_fail(ctx, "bad amount %f for user %lld", amount,
                             (long long)rill_row_i64(in, F_USER));
    rill_row out;
    int rc = rill_emit(ctx, &out);
    if (rc < 0)
        return rc;
    return rill_row_copy(&out, in);
}

int rill_job(rill_env *env, int argc, char **argv)
{
    const char *input = NULL, *output = NULL, *where = "map";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--input"))
            input = argv[i + 1];
        else if (!strcmp(argv[i], "--output"))
            output = argv[i + 1];
        else if (!strcmp(argv[i], "--in"))
            where = argv[i + 1];
    }
    if (!input || !output) {
        fprintf(stderr, "failing_map: usage: -- --input IN --output OUT [--in map|process]\n");
        return RILL_EINVAL;
    }
    rill_schema *schema = NULL;
    if (rill_schema_parse("user_id INT64 NOT NULL, amount DOUBLE NOT NULL, ts TIMESTAMP NOT NULL",
                          &schema) != 0)
        return RILL_EINVAL;
    rill_stream *tx = rill_stream_uid(rill_source_file(env, input, schema, NULL), "tx");
    rill_stream *checked;
    if (!strcmp(where, "process"))
        checked = rill_keyed_process(rill_stream_key_by(tx, "user_id"), NULL, check_process,
                                     NULL);
    else
        checked = rill_stream_map(tx, NULL, check_map, NULL);
    rill_stream_uid(checked, "boom");
    rill_stream_parallelism(rill_stream_uid(rill_sink_file(checked, output, NULL), "out"), 1);
    rill_schema_free(schema);
    return rill_env_execute(env);
}
