/*
 * backend.c - state layer: finding a keyed-state backend by its name ("heap", "rocksdb").
 */
#include <string.h>

#include "state.h"

const rill__state_backend_ops *rill__state_backend_find(const char *name)
{
    if (name && !strcmp(name, rill__heap_backend_ops.name))
        return &rill__heap_backend_ops;
    if (name && !strcmp(name, rill__rocksdb_backend_ops.name))
        return &rill__rocksdb_backend_ops;
    return NULL;
}
