/*
 * sql_slow_udf.c - a SQL scalar function for the e2e tests: slow(x, n) is x, and its task
 * sleeps 1 ms after every n rows, so a test can kill -9 a SQL job part way through a small
 * file (the filesystem source reads as fast as it can).
 */
#include <time.h>

#include "rill.h"

static _Thread_local long long slow_seen; /* rows of the task on this thread */

static int slow_eval(void *state, const rill_udf_value *args, rill_udf_value *out, char *msg,
                     size_t cap)
{
    (void)state, (void)msg, (void)cap;
    if (args[1].i > 0 && ++slow_seen % args[1].i == 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    out->i = args[0].i;
    return 0;
}
static const char *const slow_args[] = {"BIGINT", "BIGINT"};
RILL_API const rill_udf slow = {RILL_UDF_ABI,          "slow", NULL, "BIGINT", 2, slow_args,
                                RILL_UDF_NULL_ON_NULL, NULL,   NULL, slow_eval};
