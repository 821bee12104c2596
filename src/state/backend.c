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

static int cmp_bytes(const void *a, size_t na, const void *b, size_t nb)
{
    size_t n = na < nb ? na : nb;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : (na > nb) - (na < nb);
}

int rill__timer_order(int64_t ts_a, const rill__state_key *a, int64_t ts_b,
                      const rill__state_key *b)
{
    if (ts_a != ts_b)
        return ts_a < ts_b ? -1 : 1;
    if (a->key_len != b->key_len)
        return a->key_len < b->key_len ? -1 : 1;
    int c = a->key_len ? memcmp(a->key, b->key, a->key_len) : 0;
    return c ? c : cmp_bytes(a->ns, a->ns_len, b->ns, b->ns_len);
}
