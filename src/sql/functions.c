/*
 * functions.c - the registry of scalar functions: each family's table searched by name.
 */
#include <strings.h>

#include "functions.h"

static const rill__sql_fn *const FAMILIES[] = {rill__sql_fn_string, rill__sql_fn_time,
                                               rill__sql_fn_math};

const rill__sql_fn *rill__sql_fn_find(const char *name)
{
    for (size_t f = 0; f < sizeof FAMILIES / sizeof *FAMILIES; f++)
        for (const rill__sql_fn *fn = FAMILIES[f]; fn->name; fn++)
            if (!strcasecmp(fn->name, name))
                return fn;
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
