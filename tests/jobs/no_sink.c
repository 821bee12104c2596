/*
 * no_sink.c - e2e test job: a generated stream through a map that no sink consumes; executing
 * a graph without a sink must fail with a clear message.
 */
#include "rill.h"

static int copy(rill_ctx *ctx, const rill_row *in, rill_row *out)
{
    return rill_row_copy(out, in);
}

int rill_job(rill_env *env, int argc, char **argv)
{
    rill_schema *schema = NULL;
    if (rill_schema_parse("n INT64 NOT NULL", &schema) != 0)
        return RILL_EINVAL;
    rill_gen_field fields[1] = {{.name = "n", .kind = RILL_GEN_SEQUENCE, .a = 0, .b = 1}};
    rill_gen_opts gen = {.seed = 1, .events = 1000, .fields = fields, .n_fields = 1};
    rill_stream *src = rill_stream_uid(rill_source_generator(env, schema, &gen), "gen");
    rill_stream_uid(rill_stream_map(src, NULL, copy, NULL), "copy");
    rill_schema_free(schema);
    return rill_env_execute(env);
}
