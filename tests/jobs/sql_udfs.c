/*
 * sql_udfs.c - C functions for the SQL layer's tests (CREATE FUNCTION ... LANGUAGE C): each
 * value kind in and out, per-task state through open/close, a failing function and ones that
 * cannot be used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rill.h"

/* rep(s STRING, n INT): s repeated n times (n < 0: NULL), built in the task's own buffer */
typedef struct rep_state {
    char *buf;
    size_t cap;
} rep_state;

static void *rep_open(const rill_udf *f)
{
    (void)f;
    return calloc(1, sizeof(rep_state));
}

static void rep_close(void *state)
{
    rep_state *r = state;
    if (r)
        free(r->buf);
    free(r);
}

static int rep_eval(void *state, const rill_udf_value *args, rill_udf_value *out, char *msg,
                    size_t cap)
{
    rep_state *r = state;
    if (args[1].i < 0) {
        out->is_null = true;
        return 0;
    }
    size_t n = args[0].len * (size_t)args[1].i;
    if (n > (1u << 20)) {
        snprintf(msg, cap, "the result would be %zu bytes", n);
        return -1;
    }
    if (n > r->cap) {
        char *b = realloc(r->buf, n);
        if (!b)
            return -1;
        r->buf = b;
        r->cap = n;
    }
    for (int64_t i = 0; i < args[1].i; i++)
        memcpy(r->buf + (size_t)i * args[0].len, args[0].s, args[0].len);
    out->s = r->buf;
    out->len = n;
    return 0;
}

static const char *const rep_args[] = {"STRING", "INT"};
RILL_API const rill_udf rep = {RILL_UDF_ABI, "rep", NULL, "STRING", 2, rep_args,
                               RILL_UDF_NULL_ON_NULL, rep_open, rep_close, rep_eval};

/* scale(x DOUBLE, k BIGINT): x * k as DOUBLE */
static int scale_eval(void *state, const rill_udf_value *args, rill_udf_value *out, char *msg,
                      size_t cap)
{
    (void)state, (void)msg, (void)cap;
    out->d = args[0].d * (double)args[1].i;
    return 0;
}
static const char *const scale_args[] = {"DOUBLE", "BIGINT"};
RILL_API const rill_udf scale = {RILL_UDF_ABI, "scale", "org.example.Scale", "DOUBLE", 2,
                                 scale_args, RILL_UDF_NULL_ON_NULL, NULL, NULL, scale_eval};

/* later(ts TIMESTAMP(3), ms BIGINT): ts + ms; is_even(n BIGINT): BOOLEAN */
static int later_eval(void *state, const rill_udf_value *args, rill_udf_value *out, char *msg,
                      size_t cap)
{
    (void)state, (void)msg, (void)cap;
    out->i = args[0].i + args[1].i;
    return 0;
}
static const char *const later_args[] = {"TIMESTAMP(3)", "BIGINT"};
RILL_API const rill_udf later = {RILL_UDF_ABI, "later", NULL, "TIMESTAMP(3)", 2, later_args,
                                 RILL_UDF_NULL_ON_NULL, NULL, NULL, later_eval};

/* fails(n BIGINT): fails for n = 13, else n */
static int fails_eval(void *state, const rill_udf_value *args, rill_udf_value *out, char *msg,
                      size_t cap)
{
    (void)state;
    if (args[0].i == 13) {
        snprintf(msg, cap, "13 is unlucky");
        return -1;
    }
    out->i = args[0].i;
    return 0;
}
static const char *const fails_args[] = {"BIGINT"};
RILL_API const rill_udf fails = {RILL_UDF_ABI, "fails", NULL, "BIGINT", 1, fails_args,
                                 RILL_UDF_NULL_ON_NULL, NULL, NULL, fails_eval};

/* not usable: another ABI, a result type rill_udf_value does not carry */
RILL_API const rill_udf old_abi = {99, "old_abi", NULL, "BIGINT", 1, fails_args, 0, NULL, NULL,
                                   fails_eval};
RILL_API const rill_udf decimal_result = {RILL_UDF_ABI, "decimal_result", NULL, "DECIMAL(10, 2)",
                                          1, fails_args, 0, NULL, NULL, fails_eval};

RILL_API const rill_udf *const rill_udfs[] = {&scale, NULL};
