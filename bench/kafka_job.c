/*
 * kafka_job.c - the Kafka benchmark's job (bench/kafka runs it):
 *
 *   --read URL --events N       read N 100-byte CSV records (id,ts,pad) from the topic (bounded
 *                               at its end) into a blackhole
 *   --write URL --events N      generate N such records and write them to the topic
 *                               (at-least-once)
 *   --stamp URL --events N --rate R
 *                               generate N records at R per second, ts the wall-clock time each
 *                               was made, and write them to the topic
 *   --latency URL --events N    read N records from partition 0 of the topic (stopping at offset
 *                               N), each one's latency now - ts, and print p50/p99/p999/max
 *   --fetch-wait-ms W, --linger-ms L
 *                               the consumer's fetch.wait.max.ms and the producer's linger.ms
 *
 * It prints "kafka_job: events=N ms=T" (the job's execution) and, with --latency,
 * "latency_us: p50=... p99=... p999=... max=...".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rill.h"

static int64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool stamp_now;

/* id, ts (µs: the wall clock when made, with --stamp), pad: 100 bytes as CSV with the commas */
static int gen_row(rill_ctx *ctx, uint64_t n, rill_row *row)
{
    (void)ctx;
    static const char pad[] = "................................................................"
                              "..............";
    rill_row_set_i64(row, 0, (int64_t)n);
    rill_row_set_i64(row, 1, stamp_now ? wall_us() : 1700000000000000 + (int64_t)n);
    char id[24], ts[24];
    size_t used = (size_t)snprintf(id, sizeof id, "%llu", (unsigned long long)n) +
                  (size_t)snprintf(ts, sizeof ts, "%lld", (long long)(1700000000000000 + n)) + 3;
    return rill_row_set_str(row, 2, pad, used < 100 ? 100 - used : 1);
}

static int64_t *lat;
static int64_t n_lat, cap_lat;

static int record(rill_ctx *ctx, const rill_row *in)
{
    (void)ctx;
    if (n_lat < cap_lat)
        lat[n_lat++] = wall_us() - rill_row_i64(in, 1);
    return 0; /* filtered out: nothing reaches the sink */
}

static int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int rill_job(rill_env *env, int argc, char **argv)
{
    const char *mode = NULL, *url = NULL;
    long long events = 100000, rate = 0;
    const char *wait_ms = NULL, *linger_ms = NULL; /* client properties, for the latency runs */
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--read") || !strcmp(argv[i], "--write") ||
            !strcmp(argv[i], "--stamp") || !strcmp(argv[i], "--latency"))
            mode = argv[i] + 2, url = argv[i + 1];
        else if (!strcmp(argv[i], "--events"))
            events = strtoll(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--rate"))
            rate = strtoll(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--fetch-wait-ms"))
            wait_ms = argv[i + 1];
        else if (!strcmp(argv[i], "--linger-ms"))
            linger_ms = argv[i + 1];
    }
    if (!mode || events < 1) {
        fprintf(stderr, "kafka_job: -- --read|--write|--stamp|--latency URL --events N "
                        "[--rate R]\n");
        return RILL_EINVAL;
    }
    rill_schema *schema = NULL;
    rill_schema_parse("id INT64 NOT NULL, ts INT64 NOT NULL, pad STRING NOT NULL", &schema);
    rill_stream *s;
    if (!strcmp(mode, "read") || !strcmp(mode, "latency")) {
        char end[64];
        snprintf(end, sizeof end, "partition:0,offset:%lld", events);
        bool lat_mode = mode[0] == 'l';
        const char *opts[] = {"url", url, "scan.startup.mode", "earliest-offset",
                              "properties.fetch.wait.max.ms", wait_ms ? wait_ms : "500",
                              "scan.bounded.mode", lat_mode ? "specific-offsets" : "latest-offset",
                              lat_mode ? "scan.bounded.specific-offsets" : NULL, end, NULL};
        s = rill_source_kafka(env, schema, opts);
        if (lat_mode) {
            cap_lat = events;
            lat = calloc((size_t)events, sizeof *lat);
            s = rill_stream_filter(s, record, NULL);
        }
    } else {
        stamp_now = mode[0] == 's';
        rill_gen_opts g = {.events = events, .rate = (double)rate, .fn = gen_row};
        s = rill_source_generator(env, schema, &g);
    }
    rill_stream_uid(s, "src");
    if (!strcmp(mode, "write") || !strcmp(mode, "stamp")) {
        const char *opts[] = {"url", url, "properties.linger.ms", linger_ms ? linger_ms : "5",
                              NULL};
        rill_sink_kafka(s, opts);
    } else {
        rill_sink_blackhole(s);
    }
    rill_schema_free(schema);
    int rc = rill_env_execute(env);
    int64_t n = 0;
    rill_env_metric(env, "src", "records_out", &n);
    printf("kafka_job: events=%lld ms=%lld\n", (long long)n, (long long)rill_env_elapsed_ms(env));
    if (rc == 0 && lat && n_lat > 0) {
        qsort(lat, (size_t)n_lat, sizeof *lat, cmp);
        printf("latency_us: p50=%lld p99=%lld p999=%lld max=%lld n=%lld\n",
               (long long)lat[n_lat / 2], (long long)lat[n_lat * 99 / 100],
               (long long)lat[n_lat * 999 / 1000], (long long)lat[n_lat - 1], (long long)n_lat);
    }
    free(lat);
    return rc;
}
