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

void rill__state_backend_usage(rill__state_backend *b, rill__state_usage *out)
{
    memset(out, 0, sizeof *out);
    if (b->ops->usage) {
        b->ops->usage(b, out);
        return;
    }
    b->ops->stats(b, &out->keys, &out->memory_bytes);
}
