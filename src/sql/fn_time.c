/*
 * fn_time.c - date, time and timestamp functions, with Flink's semantics for TIMESTAMP
 * (a local date-time) and TIMESTAMP_LTZ (an instant, shown in the session's
 * table.local-time-zone).
 */
#include <stdio.h>
#include <string.h>

#include "functions.h"

bool rill__sql_cast_time_text_ok(const rill__sql_ltype *from, const rill__sql_ltype *to)
{
    (void)from;
    (void)to;
    return false;
}

int rill__sql_cast_time_text(rill__sql_fn_ctx *c, const rill__sql_ltype *from,
                             const rill__sql_ltype *to, const rill__sql_val *in,
                             rill__sql_val *out)
{
    (void)from;
    (void)to;
    (void)in;
    (void)out;
    return rill__sql_fn_fail(c, "CAST between strings and date-times is not supported yet");
}

const rill__sql_fn rill__sql_fn_time[] = {
    {NULL, 0, 0, 0, NULL, NULL, NULL, NULL},
};
