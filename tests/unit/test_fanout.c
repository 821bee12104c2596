/* test_fanout.c - one stream consumed by several operators (fan-out): each consumer sees every
 * row of every batch, whatever another consumer does to the batch it got (event time cuts a
 * batch at a watermark; before each consumer had its own copy, a second event-time consumer of
 * a source lost the rows the first one's cut took off). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "rill.h"
#include "test.h"

/* ts: a timestamp that repeats (row n: n / 3 ms), so event time cuts batches often */
static int dup_ts(rill_ctx *ctx, uint64_t n, rill_row *row)
{
    (void)ctx;
    rill_row_set_ts(row, 0, (int64_t)(n / 3));
    rill_row_set_i64(row, 1, (int64_t)n);
    return 0;
}

static int64_t lines_of(const char *dir)
{
    char *cmd = rill__xasprintf("cat %s %s/* 2>/dev/null | grep -vc '^ts,'", dir, dir);
    FILE *p = popen(cmd, "r");
    long long n = -1;
    if (p) {
        if (fscanf(p, "%lld", &n) != 1)
            n = -1;
        pclose(p);
    }
    free(cmd);
    return n;
}

TEST(fanout_every_consumer_sees_every_row)
{
    const char *dir = rill_test_tmpdir();
    for (int par = 1; par <= 2; par++) {
        rill_env *env = rill_env_new();
        CHECK_RC(rill_env_set(env, "name", "fanout"));
        CHECK_RC(rill_env_set(env, "parallelism", par == 1 ? "1" : "2"));
        CHECK_RC(rill_env_set(env, "batch-size", "64"));
        rill_schema *s = NULL;
        CHECK_RC(rill_schema_parse("ts TIMESTAMP NOT NULL, n INT64 NOT NULL", &s));
        rill_gen_opts g = {.events = 30000, .fn = dup_ts};
        rill_stream *src = rill_source_generator(env, s, &g);
        rill_watermark_opts wo = {.kind = RILL_WM_OFFSET, .max_delay_ms = 0};
        char *outs[3];
        for (int k = 0; k < 3; k++) {
            rill_stream *et = rill_stream_event_time(src, "ts", &wo);
            outs[k] = rill__xasprintf("%s/fanout-%d-%d", dir, par, k);
            rill_file_opts fo = {.format = RILL_FMT_CSV, .no_header = true};
            rill_sink_file(et, outs[k], &fo);
        }
        rill_schema_free(s);
        int rc = rill_env_execute(env);
        if (rc)
            rill_test_fail(__FILE__, __LINE__, "job failed: %s", rill_errmsg(env));
        for (int k = 0; k < 3; k++) {
            int64_t n = lines_of(outs[k]); /* header lines aside */
            if (n != 30000)
                rill_test_fail(__FILE__, __LINE__, "p=%d consumer %d: %lld rows, not 30000", par,
                               k, (long long)n);
            free(outs[k]);
        }
        rill_env_free(env);
    }
}
