/*
 * fn_string.c - character and binary string functions (UTF-8; positions and lengths count
 * characters as Flink's do), with Flink's results for NULLs and out-of-range positions.
 */
#include <stdio.h>
#include <string.h>

#include "functions.h"

/* UPPER/LOWER(string): ASCII letters mapped (other characters kept as they are). */
static const rill__sql_ltype *case_infer(rill__arena *a, const rill__sql_fn_call *call,
                                         const rill__sql_ltype **cast, char *msg, size_t cap)
{
    (void)cast;
    const rill__sql_ltype *t = call->args[0]->type;
    if (!rill__sql_is_character(t) && t->root != RILL_SQLT_NULL) {
        snprintf(msg, cap, "Cannot apply '%s' to a value that is not a character string",
                 call->name);
        return NULL;
    }
    return rill__sql_fn_type(a, RILL_SQLT_VARCHAR, RILL_SQL_MAX_LENGTH, 0, t->nullable);
}

static int case_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    bool up = c->x->call->name[0] == 'U';
    rill__buf_reserve(&c->tmp, args[0].len);
    char *o = (char *)c->tmp.data;
    for (size_t i = 0; i < args[0].len; i++) {
        char ch = args[0].b[i];
        o[i] = up && ch >= 'a' && ch <= 'z'   ? (char)(ch - 32)
               : !up && ch >= 'A' && ch <= 'Z' ? (char)(ch + 32)
                                               : ch;
    }
    out->b = o;
    out->len = args[0].len;
    return 0;
}

const rill__sql_fn rill__sql_fn_string[] = {
    {"UPPER", 1, 1, RILL_SQLF_STRICT, case_infer, case_row, NULL, NULL},
    {"LOWER", 1, 1, RILL_SQLF_STRICT, case_infer, case_row, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL, NULL},
};

