/*
 * functions.c - the registry of scalar functions: each family's table searched by name.
 */
#include <stdio.h>
#include <strings.h>

#include "functions.h"

/* PROCTIME(): the processing time attribute, TIMESTAMP_LTZ(3) NOT NULL *PROCTIME*; as a value,
 * the wall clock when the row is computed. */
static const rill__sql_ltype *proctime_infer(rill__arena *a, const rill__sql_fn_call *call,
                                             const rill__sql_ltype **cast, char *msg, size_t cap)
{
    (void)call;
    (void)cast;
    (void)msg;
    (void)cap;
    return rill__sql_type_with_attr(
        a, rill__sql_type_make(a, RILL_SQLT_TIMESTAMP_LTZ, 3, 0, false), RILL_SQLA_PROCTIME);
}

static int proctime_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    (void)c;
    (void)args;
    out->v = (uint64_t)rill__now_ms();
    return 0;
}

static const rill__sql_fn CORE[] = {
    {"PROCTIME", 0, 0, RILL_SQLF_VOLATILE, proctime_infer, proctime_row, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL, NULL},
};

static const rill__sql_fn *const FAMILIES[] = {CORE, rill__sql_fn_string, rill__sql_fn_time,
                                               rill__sql_fn_math};

const rill__sql_fn *rill__sql_fn_find(const char *name)
{
    for (size_t f = 0; f < sizeof FAMILIES / sizeof *FAMILIES; f++)
        for (const rill__sql_fn *fn = FAMILIES[f]; fn->name; fn++)
            if (!strcasecmp(fn->name, name))
                return fn;
    return NULL;
}

const char *rill__sql_fn_name_at(size_t i)
{
    /* planned by the binder or the planner, not by the registry */
    static const char *const planned[] = {"AVG",         "CAST",         "CHARACTER_LENGTH",
                                          "CHAR_LENGTH", "COALESCE",     "CONCAT",
                                          "COUNT",       "CUMULATE",     "HOP",
                                          "HOP_END",     "HOP_START",    "IFNULL",
                                          "MAX",         "MIN",          "MOD",
                                          "SESSION",     "SESSION_END",  "SESSION_START",
                                          "SUM",         "TRY_CAST",     "TUMBLE",
                                          "TUMBLE_END",  "TUMBLE_START", NULL};
    for (size_t f = 0; f < sizeof FAMILIES / sizeof *FAMILIES; f++)
        for (const rill__sql_fn *fn = FAMILIES[f]; fn->name; fn++)
            if (i-- == 0)
                return fn->name;
    for (int k = 0; planned[k]; k++)
        if (i-- == 0)
            return planned[k];
    return NULL;
}

bool rill__sql_fn_any_nullable(const rill__sql_fn_call *call)
{
    for (int i = 0; i < call->n_args; i++)
        if (call->args[i]->type->nullable)
            return true;
    return false;
}

const rill__sql_ltype *rill__sql_fn_type(rill__arena *a, rill__sql_root root, int precision,
                                         int scale, bool nullable)
{
    return rill__sql_type_make(a, root, precision, scale, nullable);
}

/* ---- internal functions (not callable by name) ---------------------------------------------- */

/* $NOT_NULL(x, 'column'): x, or the job fails naming the column when x is NULL (a NOT NULL sink
 * column with table.exec.sink.not-null-enforcer = ERROR, Flink's default). */
static const rill__sql_ltype *not_null_infer(rill__arena *a, const rill__sql_fn_call *call,
                                             const rill__sql_ltype **cast, char *msg, size_t cap)
{
    (void)cast;
    (void)msg;
    (void)cap;
    return rill__sql_type_with_null(a, call->args[0]->type, false);
}

static int not_null_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    if (args[0].null)
        return rill__sql_fn_fail(c,
                                 "Column '%.*s' is NOT NULL, however, a null value is being "
                                 "written into it. You can set job configuration "
                                 "'table.exec.sink.not-null-enforcer'='DROP' to suppress this "
                                 "exception and drop such records silently.",
                                 (int)args[1].len, args[1].b);
    *out = args[0];
    return 0;
}

const rill__sql_fn rill__sql_fn_not_null = {"$NOT_NULL", 2, 2, 0, not_null_infer, not_null_row,
                                            NULL, NULL};

/* $WINDOW_START(ts, size, offset): the start of the tumbling window of ts (SEMANTICS.md: ts -
 * ((ts - offset) mod size), the mod never negative), in ts's unit (ms, or ns past precision 3;
 * size and offset are ms). */
static const rill__sql_ltype *window_start_infer(rill__arena *a, const rill__sql_fn_call *call,
                                                 const rill__sql_ltype **cast, char *msg,
                                                 size_t cap)
{
    (void)cast;
    (void)msg;
    (void)cap;
    return rill__sql_type_with_attr(a, call->args[0]->type, RILL_SQLA_NONE);
}

static int window_start_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    int64_t unit = c->x->args[0]->type->precision > 3 ? 1000000 : 1;
    int64_t t = (int64_t)args[0].v, size = (int64_t)args[1].v * unit;
    int64_t off = (int64_t)args[2].v * unit;
    int64_t m = (t - off) % size;
    out->v = (uint64_t)(t - (m < 0 ? m + size : m));
    return 0;
}

const rill__sql_fn rill__sql_fn_window_start = {
    "$WINDOW_START", 3, 3, RILL_SQLF_STRICT, window_start_infer, window_start_row, NULL, NULL};
