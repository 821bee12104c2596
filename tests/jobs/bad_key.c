/*
 * bad_key.c - e2e test job: a generated stream keyed by a field that is not in its schema
 * ("no_such_field"); the job must fail with a message naming that field.
 */
#include "rill.h"

static int pass(rill_ctx *ctx, const rill_row *in)
{
    rill_row out;
    int rc = rill_emit(ctx, &out);
    return rc < 0 ? rc : rill_row_copy(&out, in);
}

int rill_job(rill_env *env, int argc, char **argv)
{
    rill_schema *schema = NULL;
    if (rill_schema_parse("user_id INT64 NOT NULL, amount DOUBLE NOT NULL", &schema) != 0)
        return RILL_EINVAL;
    rill_gen_field fields[2] = {
        {.name = "user_id", .kind = RILL_GEN_MODULO, .a = 1, .b = 10},
        {.name = "amount", .kind = RILL_GEN_UNIFORM_DOUBLE, .x = 1, .y = 100},
    };
    rill_gen_opts gen = {.seed = 7, .events = 1000, .fields = fields, .n_fields = 2};
    rill_stream *src = rill_stream_uid(rill_source_generator(env, schema, &gen), "gen");
    rill_keyed_stream *keyed = rill_stream_key_by(src, "no_such_field");
    rill_stream *out = rill_stream_uid(rill_keyed_process(keyed, NULL, pass, NULL), "pass");
    rill_stream_uid(rill_sink_blackhole(out), "sink");
    rill_schema_free(schema);
    return rill_env_execute(env);
}
