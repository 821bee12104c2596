/*
 * slow_filter.h - for the e2e test jobs: a filter that keeps every row and makes its subtask
 * sleep 1 ms after every slow_rows_per_ms rows (0: never), so that a test can kill or stop a
 * job part way through a small input.
 */
#ifndef RILL_TEST_SLOW_FILTER_H
#define RILL_TEST_SLOW_FILTER_H

#include <time.h>

#include "rill.h"

static long long slow_rows_per_ms = 0;
static _Thread_local long long slow_seen; /* rows of the subtask on this thread */

static int slow_filter(rill_ctx *ctx, const rill_row *in)
{
    (void)ctx;
    (void)in;
    if (slow_rows_per_ms > 0 && ++slow_seen % slow_rows_per_ms == 0) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return 1;
}

#endif
