/*
 * failing_map.c - e2e test job: reads transactions (user_id,amount,ts) and copies them to the
 * output through a map (or, with --in process, a keyed process function) of uid "boom" that
 * fails the job with rill_ctx_fail when an amount is negative. With --crash KIND it crashes
 * instead, in the map, at row --crash-after N of its subtask: KIND null (a NULL dereference),
 * abort (abort()), overflow (unbounded recursion: a stack overflow) or fpe (an integer division
 * by zero, raised as SIGFPE).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rill.h"

enum { F_USER = 0, F_AMOUNT = 1, F_TS = 2 };

static const char *crash_kind;
static long crash_after;

static volatile int *volatile nowhere; /* NULL, and the compiler cannot know it */

static volatile long recursion_limit = 1L << 40; /* never reached: the stack ends first */

static long recurse(volatile char *prev, long depth)
{
    volatile char frame[512];
    frame[0] = prev ? prev[0] : (char)depth;
    if (depth >= recursion_limit)
        return frame[0];
    return recurse(frame, depth + 1) + frame[0];
}

/* (the crash is the point: a sanitizer build must not report it as undefined behaviour first) */
__attribute__((no_sanitize("undefined"))) static void crash_now(void)
{
    if (!strcmp(crash_kind, "null")) {
        *nowhere = 42;
    } else if (!strcmp(crash_kind, "abort")) {
        abort();
    } else if (!strcmp(crash_kind, "overflow")) {
        (void)recurse(NULL, 0);
    } else if (!strcmp(crash_kind, "fpe")) {
        raise(SIGFPE); /* (a real division by zero is undefined behaviour the compiler may drop) */
    }
}

static int crash_map(rill_ctx *ctx, const rill_row *in, rill_row *out)
{
    static _Thread_local long seen;
    (void)ctx;
    if (++seen >= crash_after)
        crash_now();
    return rill_row_copy(out, in);
}

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
        else if (!strcmp(argv[i], "--crash"))
            crash_kind = argv[i + 1];
        else if (!strcmp(argv[i], "--crash-after"))
            crash_after = atol(argv[i + 1]);
    }
    if (!input || !output) {
        fprintf(stderr, "failing_map: usage: -- --input IN --output OUT [--in map|process] "
                        "[--crash null|abort|overflow|fpe --crash-after N]\n");
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
    else if (crash_kind)
        checked = rill_stream_map(tx, NULL, crash_map, NULL);
    else
        checked = rill_stream_map(tx, NULL, check_map, NULL);
    rill_stream_uid(checked, "boom");
    rill_stream_parallelism(rill_stream_uid(rill_sink_file(checked, output, NULL), "out"), 1);
    rill_schema_free(schema);
    return rill_env_execute(env);
}
