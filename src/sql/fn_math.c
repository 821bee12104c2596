/*
 * fn_math.c - numeric and conditional scalar functions, with Java's semantics (Flink's
 * generated code calls java.lang.Math and BigDecimal).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "functions.h"

/* ABS(numeric): the argument's type; an integer's minimum stays itself (Java's Math.abs). */
static const rill__sql_ltype *abs_infer(rill__arena *a, const rill__sql_fn_call *call,
                                        const rill__sql_ltype **cast, char *msg, size_t cap)
{
    (void)a;
    (void)cast;
    const rill__sql_ltype *t = call->args[0]->type;
    if (!rill__sql_is_numeric(t) && !rill__sql_is_interval(t)) {
        snprintf(msg, cap, "Cannot apply 'ABS' to a value that is not a number");
        return NULL;
    }
    return t;
}

static int abs_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    const rill__sql_ltype *t = c->x->type;
    if (t->root == RILL_SQLT_DOUBLE)
        rill__sql_val_set_double(out, fabs(rill__sql_val_double(&args[0])));
    else if (t->root == RILL_SQLT_FLOAT)
        rill__sql_val_set_float(out, fabsf(rill__sql_val_float(&args[0])));
    else if (t->root == RILL_SQLT_DECIMAL)
        out->dec = args[0].dec < 0 ? -args[0].dec : args[0].dec;
    else {
        int64_t v = (int64_t)args[0].v;
        uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        switch (t->root) { /* wrapped to the width: ABS of the minimum is the minimum */
        case RILL_SQLT_TINYINT:
            m = (uint64_t)(int64_t)(int8_t)(uint8_t)m;
            break;
        case RILL_SQLT_SMALLINT:
            m = (uint64_t)(int64_t)(int16_t)(uint16_t)m;
            break;
        case RILL_SQLT_INT:
            m = (uint64_t)(int64_t)(int32_t)(uint32_t)m;
            break;
        default:
            break;
        }
        out->v = m;
    }
    return 0;
}

const rill__sql_fn rill__sql_fn_math[] = {
    {"ABS", 1, 1, RILL_SQLF_STRICT, abs_infer, abs_row, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL, NULL},
};
