/*
 * heap.c - state layer: the heap keyed-state backend. Per registered table and per owned key
 * group, one open-addressing hash table (linear probing, backward-shift deletion) whose 64-byte
 * slots hold small keys and values inline, so the per-record get/put allocates nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "state.h"

#define INLINE_MAX 16 /* key+namespace bytes, and value bytes, kept in the slot */
#define KG_MIN_CAP 16 /* slots of a key group's table at its first insert */
#define KG_MAX_CAP (UINT32_C(1) << 31)

enum { F_USED = 1, F_KEXT = 2, F_VEXT = 4 };

/* One slot: a cache line, so a hit touches one line. */
typedef struct entry {
    uint64_t hash;     /* of key and namespace: where the entry probes from */
    uint64_t key_hash; /* the key's own hash, given back by iteration */
    uint32_t key_len, ns_len, val_len, flags;
    union {
        unsigned char inl[INLINE_MAX]; /* key bytes, then namespace bytes */
        unsigned char *ext;            /* F_KEXT: the same, allocated */
    } k;
    union {
        unsigned char inl[INLINE_MAX];
        struct {
            unsigned char *p; /* F_VEXT: allocated, cap bytes */
            uint32_t cap;
        } ext;
    } v;
} entry;
_Static_assert(sizeof(entry) == 64, "entry is one cache line");

/* The entries of one key group in one state table. */
typedef struct kg_table {
    entry *slots;     /* NULL until the first insert */
    uint32_t mask;    /* capacity - 1 */
    uint32_t n;       /* used slots */
    uint32_t grow_at; /* n that triggers a doubling: 3/4 of capacity */
} kg_table;

typedef struct heap_backend heap_backend;

typedef struct heap_table {
    heap_backend *b;
    char *name;
    rill__state_kind kind;
    size_t value_size;
    unsigned kg_first, n_kg;
    kg_table *kgs; /* n_kg, indexed by kg - kg_first */
    entry *last;   /* last hit; NULL after anything that moves or removes entries */
    int64_t n_entries;
    size_t slot_bytes; /* slot arrays */
    size_t ext_bytes;  /* out-of-line keys and values */
} heap_table;

struct heap_backend {
    rill__state_backend base;
    char *uid;           /* copy of cfg.operator_uid */
    heap_table **tables; /* in registration order */
    size_t n_tables, cap_tables;
    heap_table **by_id; /* by desc->id, for O(1) lookup; NULL holes */
    size_t cap_by_id;
};

/* rill__state_table is opaque to callers; each backend has its own table struct behind it. */
static inline heap_table *htab(rill__state_table *t)
{
    return (heap_table *)(void *)t;
}

/* ---- entries ------------------------------------------------------------------------------ */

static inline uint64_t full_hash(const rill__state_key *k)
{
    return k->ns_len ? rill__hash_bytes(k->ns, k->ns_len, k->hash) : k->hash;
}

static inline const unsigned char *entry_key(const entry *e)
{
    return (e->flags & F_KEXT) ? e->k.ext : e->k.inl;
}

static inline unsigned char *entry_val(entry *e)
{
    return (e->flags & F_VEXT) ? e->v.ext.p : e->v.inl;
}

static inline bool bytes_eq(const void *a, const void *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

static inline bool entry_is(const entry *e, uint64_t h, const rill__state_key *k)
{
    if (e->hash != h || e->key_len != k->key_len || e->ns_len != k->ns_len)
        return false;
    const unsigned char *kb = entry_key(e);
    if (RILL_LIKELY(k->key_len == 8 && k->ns_len == 0)) {
        uint64_t x, y;
        memcpy(&x, kb, 8);
        memcpy(&y, k->key, 8);
        return x == y;
    }
    return bytes_eq(kb, k->key, k->key_len) && bytes_eq(kb + k->key_len, k->ns, k->ns_len);
}

/* The key group's table of k, or NULL (a programming error) when k is outside the range. */
static inline kg_table *kg_of(heap_table *t, const rill__state_key *k)
{
    unsigned i = (unsigned)k->kg - t->kg_first;
    RILL_DASSERT(i < t->n_kg);
    RILL_DASSERT(t->b->base.cfg.max_parallelism <= 0 ||
                 k->kg == rill__key_group(k->hash, t->b->base.cfg.max_parallelism));
    if (RILL_UNLIKELY(i >= t->n_kg))
        return NULL;
    return &t->kgs[i];
}

static inline entry *find(const kg_table *g, uint64_t h, const rill__state_key *k)
{
    if (!g->slots)
        return NULL;
    for (uint32_t i = (uint32_t)h & g->mask;; i = (i + 1) & g->mask) {
        entry *e = &g->slots[i];
        if (!(e->flags & F_USED))
            return NULL;
        if (entry_is(e, h, k))
            return e;
    }
}

static entry *alloc_slots(size_t cap)
{
    entry *s = aligned_alloc(RILL_CACHELINE, cap * sizeof(entry));
    if (!s)
        rill__panic(__FILE__, __LINE__, "out of memory (%zu bytes of state slots)",
                    cap * sizeof(entry));
    memset(s, 0, cap * sizeof(entry));
    return s;
}

/* Doubles g (or gives it its first slots). Moves entries, so drops the last-hit cache. */
static void grow(heap_table *t, kg_table *g)
{
    size_t old_cap = g->slots ? (size_t)g->mask + 1 : 0;
    size_t cap = old_cap ? old_cap * 2 : KG_MIN_CAP;
    if (cap > KG_MAX_CAP)
        rill__panic(__FILE__, __LINE__, "state table '%s': over %u entries in one key group",
                    t->name, (unsigned)(KG_MAX_CAP / 4 * 3));
    entry *slots = alloc_slots(cap);
    uint32_t mask = (uint32_t)(cap - 1);
    for (size_t s = 0; s < old_cap; s++) {
        const entry *e = &g->slots[s];
        if (!(e->flags & F_USED))
            continue;
        uint32_t i = (uint32_t)e->hash & mask;
        while (slots[i].flags & F_USED)
            i = (i + 1) & mask;
        slots[i] = *e;
    }
    free(g->slots);
    g->slots = slots;
    g->mask = mask;
    g->grow_at = (uint32_t)(cap / 4 * 3);
    t->slot_bytes += (cap - old_cap) * sizeof(entry);
    t->last = NULL;
}

/* A new entry for k (known absent) with an empty value. */
static entry *insert_new(heap_table *t, kg_table *g, uint64_t h, const rill__state_key *k)
{
    if (g->n >= g->grow_at)
        grow(t, g);
    uint32_t i = (uint32_t)h & g->mask;
    while (g->slots[i].flags & F_USED)
        i = (i + 1) & g->mask;
    entry *e = &g->slots[i];
    e->hash = h;
    e->key_hash = k->hash;
    e->key_len = (uint32_t)k->key_len;
    e->ns_len = (uint32_t)k->ns_len;
    e->val_len = 0;
    e->flags = F_USED;
    size_t kn = k->key_len + k->ns_len;
    unsigned char *kb = e->k.inl;
    if (kn > INLINE_MAX) {
        kb = rill__xmalloc(kn);
        e->k.ext = kb;
        e->flags |= F_KEXT;
        t->ext_bytes += kn;
    }
    if (k->key_len)
        memcpy(kb, k->key, k->key_len);
    if (k->ns_len)
        memcpy(kb + k->key_len, k->ns, k->ns_len);
    g->n++;
    t->n_entries++;
    return e;
}

static inline void set_val(heap_table *t, entry *e, const void *val, size_t len)
{
    if (RILL_LIKELY(!(e->flags & F_VEXT))) {
        if (RILL_LIKELY(len == 8)) {
            memcpy(e->v.inl, val, 8);
            e->val_len = 8;
            return;
        }
        if (len <= INLINE_MAX) {
            if (len)
                memcpy(e->v.inl, val, len);
            e->val_len = (uint32_t)len;
            return;
        }
        e->v.ext.p = rill__xmalloc(len);
        e->v.ext.cap = (uint32_t)len;
        e->flags |= F_VEXT;
        t->ext_bytes += len;
    } else if (len > e->v.ext.cap) {
        /* Grows only: a value that shrinks keeps its buffer for the next growth. */
        e->v.ext.p = rill__xrealloc(e->v.ext.p, len);
        t->ext_bytes += len - e->v.ext.cap;
        e->v.ext.cap = (uint32_t)len;
    }
    if (len)
        memcpy(e->v.ext.p, val, len);
    e->val_len = (uint32_t)len;
}

static void free_ext(heap_table *t, entry *e)
{
    if (e->flags & F_KEXT) {
        free(e->k.ext);
        t->ext_bytes -= (size_t)e->key_len + e->ns_len;
    }
    if (e->flags & F_VEXT) {
        free(e->v.ext.p);
        t->ext_bytes -= e->v.ext.cap;
    }
}

/* Removes e from g, shifting back the entries of its probe run (no tombstones). */
static void erase(heap_table *t, kg_table *g, entry *e)
{
    free_ext(t, e);
    uint32_t mask = g->mask, i = (uint32_t)(e - g->slots), j = i;
    for (;;) {
        j = (j + 1) & mask;
        entry *f = &g->slots[j];
        if (!(f->flags & F_USED))
            break;
        /* f may fill the hole at i unless its home lies cyclically in (i, j]. */
        uint32_t home = (uint32_t)f->hash & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            g->slots[i] = *f;
            i = j;
        }
    }
    memset(&g->slots[i], 0, sizeof(entry));
    g->n--;
    t->n_entries--;
    t->last = NULL;
}

/* ---- ops ---------------------------------------------------------------------------------- */

static int heap_value_get(rill__state_table *tt, const rill__state_key *k, const void **val_out,
                          size_t *len_out)
{
    heap_table *t = htab(tt);
    kg_table *g = kg_of(t, k);
    if (RILL_UNLIKELY(!g)) {
        *val_out = NULL;
        *len_out = 0;
        return RILL_ESTATE;
    }
    uint64_t h = full_hash(k);
    entry *e = t->last;
    if (!e || !entry_is(e, h, k)) {
        e = find(g, h, k);
        if (!e) {
            *val_out = NULL;
            *len_out = 0;
            return 0;
        }
        t->last = e;
    }
    *val_out = entry_val(e);
    *len_out = e->val_len;
    return 1;
}

static int heap_value_put(rill__state_table *tt, const rill__state_key *k, const void *val,
                          size_t len)
{
    heap_table *t = htab(tt);
    if (RILL_UNLIKELY(t->value_size ? len != t->value_size : len > UINT32_MAX))
        return t->value_size ? RILL_EINVAL : RILL_ELIMIT;
    kg_table *g = kg_of(t, k);
    if (RILL_UNLIKELY(!g))
        return RILL_ESTATE;
    uint64_t h = full_hash(k);
    entry *e = t->last;
    if (!e || !entry_is(e, h, k)) {
        e = find(g, h, k);
        if (!e) {
            if (RILL_UNLIKELY(k->key_len > UINT32_MAX || k->ns_len > UINT32_MAX ||
                              k->key_len + k->ns_len > UINT32_MAX))
                return RILL_ELIMIT;
            e = insert_new(t, g, h, k);
        }
        t->last = e;
    }
    set_val(t, e, val, len);
    return 0;
}

static int heap_value_del(rill__state_table *tt, const rill__state_key *k)
{
    heap_table *t = htab(tt);
    kg_table *g = kg_of(t, k);
    if (RILL_UNLIKELY(!g))
        return RILL_ESTATE;
    /* Not through the last-hit cache: erase needs the entry's own key group table. */
    entry *e = find(g, full_hash(k), k);
    if (e)
        erase(t, g, e);
    return 0;
}

static int heap_iterate_kg(rill__state_table *tt, int kg, rill__state_visit_fn fn, void *arg)
{
    heap_table *t = htab(tt);
    unsigned i = (unsigned)kg - t->kg_first;
    RILL_DASSERT(i < t->n_kg);
    if (i >= t->n_kg)
        return RILL_ESTATE;
    kg_table *g = &t->kgs[i];
    if (!g->slots)
        return 0;
    for (size_t s = 0; s <= g->mask; s++) {
        entry *e = &g->slots[s];
        if (!(e->flags & F_USED))
            continue;
        const unsigned char *kb = entry_key(e);
        rill__state_key k = {.key = kb,
                             .key_len = e->key_len,
                             .hash = e->key_hash,
                             .kg = kg,
                             .ns = e->ns_len ? kb + e->key_len : NULL,
                             .ns_len = e->ns_len};
        int rc = fn(arg, &k, entry_val(e), e->val_len);
        if (rc)
            return rc;
    }
    return 0;
}

static heap_table *table_new(heap_backend *b, const rill_state_desc *desc)
{
    heap_table *t = rill__xcalloc(1, sizeof *t);
    t->b = b;
    t->name = rill__xstrdup(desc->name);
    t->kind = desc->kind;
    t->value_size = desc->value_size;
    t->kg_first = (unsigned)b->base.cfg.kg_first;
    t->n_kg = (unsigned)(b->base.cfg.kg_last - b->base.cfg.kg_first + 1);
    t->kgs = rill__xcalloc(t->n_kg, sizeof *t->kgs);
    return t;
}

static void table_free(heap_table *t)
{
    for (unsigned i = 0; i < t->n_kg; i++) {
        kg_table *g = &t->kgs[i];
        if (!g->slots)
            continue;
        for (size_t s = 0; s <= g->mask; s++)
            if (g->slots[s].flags & F_USED)
                free_ext(t, &g->slots[s]);
        free(g->slots);
    }
    free(t->kgs);
    free(t->name);
    free(t);
}

static int heap_table_op(rill__state_backend *bb, const rill_state_desc *desc,
                         rill__state_table **out)
{
    heap_backend *b = (heap_backend *)bb;
    *out = NULL;
    if (!desc || !desc->name)
        return RILL_EINVAL;
    bool id_ok = desc->id >= 0 && (size_t)desc->id < b->cap_by_id;
    heap_table *t = id_ok ? b->by_id[desc->id] : NULL;
    if (t && strcmp(t->name, desc->name) != 0)
        t = NULL;
    for (size_t i = 0; !t && i < b->n_tables; i++)
        if (!strcmp(b->tables[i]->name, desc->name))
            t = b->tables[i];
    if (t) {
        if (t->kind != desc->kind || t->value_size != desc->value_size)
            return rill__last_error_set(RILL_EINVAL,
                                        "state '%s' of operator %s: registered with kind %d "
                                        "and value size %zu, now kind %d and value size %zu",
                                        t->name, b->uid, (int)t->kind, t->value_size,
                                        (int)desc->kind, desc->value_size);
    } else {
        if (desc->kind != RILL_STATE_VALUE)
            return rill__last_error_set(RILL_EINVAL,
                                        "state '%s' of operator %s: kind %d "
                                        "not supported by the heap backend",
                                        desc->name, b->uid, (int)desc->kind);
        t = table_new(b, desc);
        rill__grow((void **)&b->tables, &b->cap_tables, b->n_tables + 1, sizeof *b->tables);
        b->tables[b->n_tables++] = t;
    }
    if (desc->id >= 0) {
        if ((size_t)desc->id >= b->cap_by_id) {
            size_t old = b->cap_by_id;
            rill__grow((void **)&b->by_id, &b->cap_by_id, (size_t)desc->id + 1, sizeof *b->by_id);
            memset(b->by_id + old, 0, (b->cap_by_id - old) * sizeof *b->by_id);
        }
        if (!b->by_id[desc->id])
            b->by_id[desc->id] = t;
    }
    *out = (rill__state_table *)(void *)t;
    return 0;
}

static int heap_create(const rill__state_backend_cfg *cfg, rill__state_backend **out)
{
    *out = NULL;
    if (!cfg || cfg->kg_first < 0 || cfg->kg_last < cfg->kg_first ||
        (cfg->max_parallelism > 0 && cfg->kg_last >= cfg->max_parallelism))
        return RILL_EINVAL;
    heap_backend *b = rill__xcalloc(1, sizeof *b);
    b->base.ops = &rill__heap_backend_ops;
    b->base.cfg = *cfg;
    b->uid = rill__xstrdup(cfg->operator_uid ? cfg->operator_uid : "?");
    b->base.cfg.operator_uid = b->uid;
    *out = &b->base;
    return 0;
}

static void heap_destroy(rill__state_backend *bb)
{
    heap_backend *b = (heap_backend *)bb;
    if (!b)
        return;
    for (size_t i = 0; i < b->n_tables; i++)
        table_free(b->tables[i]);
    free(b->tables);
    free(b->by_id);
    free(b->uid);
    free(b);
}

static void heap_prefetch(rill__state_backend *bb, const rill__state_key *k)
{
    heap_backend *b = (heap_backend *)bb;
    uint64_t h = full_hash(k);
    for (size_t i = 0; i < b->n_tables; i++) {
        heap_table *t = b->tables[i];
        unsigned g = (unsigned)k->kg - t->kg_first;
        if (g < t->n_kg && t->kgs[g].slots)
            __builtin_prefetch(&t->kgs[g].slots[(uint32_t)h & t->kgs[g].mask]);
    }
}

static void heap_stats(rill__state_backend *bb, int64_t *entries_out, int64_t *bytes_out)
{
    heap_backend *b = (heap_backend *)bb;
    int64_t n = 0;
    size_t bytes = sizeof *b + b->cap_tables * sizeof *b->tables + b->cap_by_id * sizeof *b->by_id;
    for (size_t i = 0; i < b->n_tables; i++) {
        const heap_table *t = b->tables[i];
        n += t->n_entries;
        bytes += sizeof *t + t->n_kg * sizeof *t->kgs + t->slot_bytes + t->ext_bytes;
    }
    if (entries_out)
        *entries_out = n;
    if (bytes_out)
        *bytes_out = (int64_t)bytes;
}

const rill__state_backend_ops rill__heap_backend_ops = {
    .name = "heap",
    .create = heap_create,
    .destroy = heap_destroy,
    .table = heap_table_op,
    .value_get = heap_value_get,
    .value_put = heap_value_put,
    .value_del = heap_value_del,
    .iterate_kg = heap_iterate_kg,
    .prefetch = heap_prefetch,
    .stats = heap_stats,
};
