/*
 * eo_files.c - e2e test job: the CSV files --input (a directory or a glob; header "id"; or a
 * Kafka topic kafka://HOST:PORT/TOPIC, values without header) read by the source (uid "files"),
 * passed through a slow filter (uid "slow": a subtask sleeps 1 ms after every --rows-per-ms rows)
 * into the exactly-once file sink --output (or kafka://..., in transactions; uid "out"), all at
 * the job's parallelism. A correct run, through any savepoints, kills and rescaled restores,
 * commits every id of the input exactly once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rill.h"
#include "slow_filter.h"

int rill_job(rill_env *env, int argc, char **argv)
{
    const char *input = NULL, *output = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--input"))
            input = argv[i + 1];
        else if (!strcmp(argv[i], "--output"))
            output = argv[i + 1];
        else if (!strcmp(argv[i], "--rows-per-ms"))
            slow_rows_per_ms = strtoll(argv[i + 1], NULL, 10);
    }
    if (!input || !output || slow_rows_per_ms < 0) {
        fprintf(stderr, "eo_files: usage: -- --input DIR|GLOB --output DIR [--rows-per-ms R]\n");
        return RILL_EINVAL;
    }
    rill_schema *schema = NULL;
    if (rill_schema_parse("id INT64 NOT NULL", &schema) != 0)
        return RILL_EINVAL;
    rill_stream *rows = rill_stream_uid(rill_source_at(env, input, schema, NULL), "files");
    rows = rill_stream_uid(rill_stream_filter(rows, slow_filter, NULL), "slow");
    rill_io_opts io = {.exactly_once = true};
    rill_stream_uid(rill_sink_at(rows, output, &io), "out");
    rill_schema_free(schema);
    int rc = rill_env_execute(env);
    int64_t n = 0;
    rill_env_metric(env, "files", "records_out", &n);
    printf("eo_files: rows=%lld\n", (long long)n);
    return rc;
}
