/*
 * eo_rows.c - e2e test job: generated ids 0, 1, 2, ... (--events N, 0: unbounded; --rate R rows
 * per second) written by the exactly-once file sink into directory --output, one id per row.
 * The generator (uid "ids") and the sink (uid "out") run at the job's parallelism (-p), chained:
 * a savepoint restored at another -p rescales both. A correct run leaves every id committed
 * exactly once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rill.h"

int rill_job(rill_env *env, int argc, char **argv)
{
    const char *output = NULL;
    long long events = 100000, rate = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--output"))
            output = argv[i + 1];
        else if (!strcmp(argv[i], "--events"))
            events = strtoll(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--rate"))
            rate = strtoll(argv[i + 1], NULL, 10);
    }
    if (!output || events < 0 || rate < 0) {
        fprintf(stderr, "eo_rows: usage: -- --output DIR [--events N] [--rate R]\n");
        return RILL_EINVAL;
    }
    rill_schema *schema = NULL;
    if (rill_schema_parse("id INT64 NOT NULL", &schema) != 0)
        return RILL_EINVAL;
    rill_gen_field f = {.name = "id", .kind = RILL_GEN_SEQUENCE, .a = 0, .b = 1};
    rill_gen_opts gen = {
        .seed = 1, .events = events, .rate = (double)rate, .fields = &f, .n_fields = 1};
    rill_stream *ids = rill_stream_uid(rill_source_generator(env, schema, &gen), "ids");
    rill_stream_uid(rill_sink_file_exactly_once(ids, output, NULL), "out");
    rill_schema_free(schema);
    int rc = rill_env_execute(env);
    long long n = 0;
    int64_t v = 0;
    if (rill_env_metric(env, "ids", "records_out", &v) == 0)
        n = (long long)v;
    printf("eo_rows: rows=%lld\n", n);
    return rc;
}
