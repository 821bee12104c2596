/* tables.c - state layer: the registry of a backend instance's state tables, which every
 * backend shares (lookup by descriptor id and name, the registration checks, the restore's
 * registration by name). */
#include <stdlib.h>
#include <string.h>

#include "state.h"

static void bind_id(rill__table_reg *r, rill__table_head *h, const rill_state_desc *desc)
{
    if (desc->id < 0)
        return;
    if ((size_t)desc->id >= r->cap_by_id) {
        size_t old = r->cap_by_id;
        rill__grow((void **)&r->by_id, &r->cap_by_id, (size_t)desc->id + 1, sizeof *r->by_id);
        memset(r->by_id + old, 0, (r->cap_by_id - old) * sizeof *r->by_id);
    }
    if (!r->by_id[desc->id])
        r->by_id[desc->id] = h;
}

int rill__table_reg_find(rill__table_reg *r, const rill_state_desc *desc, const char *backend,
                         const char *uid, rill__table_head **out)
{
    *out = NULL;
    if (!desc || !desc->name)
        return RILL_EINVAL;
    bool id_ok = desc->id >= 0 && (size_t)desc->id < r->cap_by_id;
    rill__table_head *t = id_ok ? r->by_id[desc->id] : NULL;
    if (t && strcmp(t->name, desc->name) != 0)
        t = NULL;
    for (size_t i = 0; !t && i < r->n; i++)
        if (!strcmp(r->tables[i]->name, desc->name))
            t = r->tables[i];
    if (!t) {
        if (desc->kind < RILL_STATE_VALUE || desc->kind > RILL_STATE_AGGREGATING)
            return rill__last_error_set(RILL_EINVAL,
                                        "state '%s' of operator %s: kind %d "
                                        "not supported by the %s backend",
                                        desc->name, uid, (int)desc->kind, backend);
        return 0;
    }
    if (t->kind != desc->kind || t->value_size != desc->value_size ||
        t->ttl != (desc->ttl_ms > 0))
        return rill__last_error_set(RILL_EINVAL,
                                    "state '%s' of operator %s: registered with kind %d, "
                                    "value size %zu%s, now kind %d, value size %zu%s",
                                    t->name, uid, (int)t->kind, t->value_size,
                                    t->ttl ? " and TTL" : "", (int)desc->kind, desc->value_size,
                                    desc->ttl_ms > 0 ? " and TTL" : "");
    /* The operator's own descriptor (a restore registers with id -1 first) has the say. */
    if (desc->id >= 0 && t->ttl)
        t->ttl_ms = desc->ttl_ms;
    bind_id(r, t, desc);
    *out = t;
    return 1;
}

void rill__table_head_init(rill__table_head *h, const rill_state_desc *desc)
{
    h->name = rill__xstrdup(desc->name);
    h->kind = desc->kind;
    h->value_size = desc->value_size;
    h->ttl = desc->ttl_ms > 0;
    h->ttl_ms = h->ttl ? desc->ttl_ms : 0;
    /* Lists grow by appends and maps hold no value bytes: only the one-value kinds are fixed. */
    h->fixed_len = 0;
    if (desc->value_size && desc->kind != RILL_STATE_LIST && desc->kind != RILL_STATE_MAP)
        h->fixed_len = desc->value_size + (h->ttl ? 8 : 0);
}

void rill__table_head_fini(rill__table_head *h)
{
    free(h->name);
    h->name = NULL;
}

void rill__table_reg_add(rill__table_reg *r, rill__table_head *h, const rill_state_desc *desc)
{
    h->idx = r->n;
    rill__grow((void **)&r->tables, &r->cap, r->n + 1, sizeof *r->tables);
    r->tables[r->n++] = h;
    bind_id(r, h, desc);
}

void rill__table_reg_free(rill__table_reg *r)
{
    free(r->tables);
    free(r->by_id);
    memset(r, 0, sizeof *r);
}

int rill__table_reg_visit(const rill__table_reg *r,
                          int (*fn)(void *arg, const char *name, rill__state_kind kind,
                                    size_t value_size, int64_t ttl_ms, rill__state_table *t),
                          void *arg)
{
    for (size_t i = 0; i < r->n; i++) {
        rill__table_head *h = r->tables[i];
        int rc = fn(arg, h->name, h->kind, h->value_size, h->ttl_ms,
                    (rill__state_table *)(void *)h);
        if (rc)
            return rc;
    }
    return 0;
}
