/*
 * heap.c - state layer: the heap keyed-state backend. Per registered table and per owned key
 * group, one open-addressing hash table (linear probing, backward-shift deletion) whose 64-byte
 * slots hold small keys and values inline, so the per-record get/put allocates nothing. Map
 * state hangs a small nested hash map of user keys off each entry.
 *
 * Asynchronous snapshots are copy-on-write per (table, key group): snap_begin only marks every
 * key-group table pending. The snapshot thread then serialises each pending table in place
 * (the owner waits should it want to change that one meanwhile), and the owner, before it first
 * changes a pending table, copies it for the snapshot (a memcpy of its slots, plus its
 * out-of-line bytes), which the snapshot thread reads instead.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

#define INLINE_MAX 16 /* key+namespace bytes, and value bytes, kept in the slot */
#define KG_MIN_CAP 16 /* slots of a key group's table at its first insert */
#define KG_MAX_CAP (UINT32_C(1) << 31)

enum { F_USED = 1, F_KEXT = 2, F_VEXT = 4, F_MAP = 8 };

/* A user entry of a map: one allocation holding [ukey_len u32][ukey][value], which is also
 * exactly what iterate_kg hands out for it. p NULL: a free slot. */
typedef struct uent {
    uint64_t hash; /* of the user key */
    unsigned char *p;
    uint32_t len, cap; /* bytes used and allocated at p */
} uent;

/* The user entries of one (key, namespace): linear probing, backward-shift deletion. Never
 * empty while its entry exists: removing the last user key removes the entry. */
typedef struct umap {
    uent *slots;
    uint32_t mask, n;
    uint32_t clean; /* where incremental cleanup goes on in this map */
} umap;

#define UMAP_MIN_CAP 4
#define UENT_HDR     4 /* the ukey_len prefix */

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
        umap *map; /* F_MAP (val_len 0) */
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
typedef struct heap_snap heap_snap;

typedef struct heap_table {
    rill__table_head h; /* first: name, kind, sizes, TTL, registration index */
    heap_backend *b;
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
    rill__table_reg reg; /* the heap_tables, in registration order and by descriptor id */
    heap_snap *snap; /* the snapshot whose tables are still pending, if any (owner's) */
};

/* The i-th table registered (its head is its first member). */
static inline heap_table *table_at(const heap_backend *b, size_t i)
{
    return (heap_table *)(void *)b->reg.tables[i];
}

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
                    t->h.name, (unsigned)(KG_MAX_CAP / 4 * 3));
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

static void umap_free(heap_table *t, umap *m);

static void free_ext(heap_table *t, entry *e)
{
    if (e->flags & F_KEXT) {
        free(e->k.ext);
        t->ext_bytes -= (size_t)e->key_len + e->ns_len;
    }
    if (e->flags & F_VEXT) {
        free(e->v.ext.p);
        t->ext_bytes -= e->v.ext.cap;
    } else if (e->flags & F_MAP) {
        umap_free(t, e->v.map);
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

/* ---- asynchronous snapshots: copy-on-write per (table, key group) ------------------------- */

/* The life of one (table, key group) in a snapshot. PENDING: as at snap_begin, in the live
 * table. The snapshot thread takes it to WRITING, reads the live table and sets DONE; the owner
 * takes it to COPYING, copies it to frozen and sets COPIED. Only the owner changes live tables,
 * and never one in WRITING: it waits until DONE. */
enum { SNAP_PENDING, SNAP_COPYING, SNAP_COPIED, SNAP_WRITING, SNAP_DONE };

/* A key-group table copied for a snapshot: its used entries, back to back. */
typedef struct frozen_kg {
    entry *e;
    uint32_t n;
    unsigned char *arena; /* their out-of-line bytes */
} frozen_kg;

struct heap_snap {
    unsigned kg_first, n_kg;
    size_t n_tabs;
    heap_table **live; /* the tables at snap_begin: n_tabs */
    frozen_kg *frozen; /* n_tabs * n_kg: set when COPIED, freed once read */
    _Atomic unsigned char *status; /* n_tabs * n_kg */
    unsigned char *settled; /* owner's: 1 once its (table, kg) is COPIED or DONE */
    atomic_bool ended;      /* snap_end: nothing will be read any more */
    atomic_int refs;        /* the owner's (until detached) and the snapshot thread's */
};

/* Out-of-line bytes of a frozen table, 8-byte aligned pieces of one allocation. */
static inline size_t al8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static size_t ext_size(const entry *e)
{
    size_t n = 0;
    if (e->flags & F_KEXT)
        n += al8((size_t)e->key_len + e->ns_len);
    if (e->flags & F_VEXT) {
        n += al8(e->val_len);
    } else if (e->flags & F_MAP) {
        const umap *m = e->v.map;
        n += al8(sizeof *m) + ((size_t)m->mask + 1) * sizeof *m->slots;
        for (size_t u = 0; u <= m->mask; u++)
            if (m->slots[u].p)
                n += al8(m->slots[u].len);
    }
    return n;
}

static void *bump(unsigned char **at, const void *p, size_t n)
{
    void *c = *at;
    if (n)
        memcpy(c, p, n);
    *at += al8(n);
    return c;
}

/* A copy of live's entries that owns all its bytes: out-of-line keys, values and maps are
 * copied into one arena (the owner may free or reallocate the originals at once). */
static void freeze(frozen_kg *dst, const kg_table *live)
{
    *dst = (frozen_kg){0};
    if (!live->slots || !live->n)
        return;
    dst->e = rill__xmalloc((size_t)live->n * sizeof(entry));
    size_t ext = 0;
    for (size_t s = 0; s <= live->mask; s++)
        if (live->slots[s].flags & F_USED) {
            dst->e[dst->n++] = live->slots[s];
            if (live->slots[s].flags & (F_KEXT | F_VEXT | F_MAP))
                ext += ext_size(&live->slots[s]);
        }
    RILL_DASSERT(dst->n == live->n);
    if (!ext)
        return;
    unsigned char *at = dst->arena = rill__xmalloc(ext);
    for (size_t i = 0; i < dst->n; i++) {
        entry *e = &dst->e[i];
        if (e->flags & F_KEXT)
            e->k.ext = bump(&at, e->k.ext, (size_t)e->key_len + e->ns_len);
        if (e->flags & F_VEXT) {
            e->v.ext.p = bump(&at, e->v.ext.p, e->val_len);
            e->v.ext.cap = e->val_len;
        } else if (e->flags & F_MAP) {
            const umap *m = e->v.map;
            umap *c = bump(&at, m, sizeof *m);
            c->slots = bump(&at, m->slots, ((size_t)m->mask + 1) * sizeof *m->slots);
            for (size_t u = 0; u <= m->mask; u++)
                if (c->slots[u].p) {
                    c->slots[u].p = bump(&at, c->slots[u].p, c->slots[u].len);
                    c->slots[u].cap = c->slots[u].len;
                }
            e->v.map = c;
        }
    }
    RILL_DASSERT(at == dst->arena + ext);
}

static void frozen_free(frozen_kg *g)
{
    free(g->e);
    free(g->arena);
    *g = (frozen_kg){0};
}

static void snap_unref(heap_snap *s)
{
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < s->n_tabs * s->n_kg; i++)
        frozen_free(&s->frozen[i]); /* copied, but never read */
    free(s->live);
    free(s->frozen);
    free((void *)s->status);
    free(s->settled);
    free(s);
}

/* Owner: makes (table, kg) slot i of s safe to change: copies it when still pending, waits
 * while the snapshot thread reads it. */
static void snap_settle(heap_snap *s, size_t i)
{
    unsigned char v = SNAP_PENDING;
    if (atomic_compare_exchange_strong_explicit(&s->status[i], &v, SNAP_COPYING,
                                                memory_order_acquire, memory_order_acquire)) {
        freeze(&s->frozen[i], &s->live[i / s->n_kg]->kgs[i % s->n_kg]);
        atomic_store_explicit(&s->status[i], SNAP_COPIED, memory_order_release);
    } else {
        while (v == SNAP_WRITING) {
            sched_yield();
            v = atomic_load_explicit(&s->status[i], memory_order_acquire);
        }
    }
    s->settled[i] = 1;
}

/* Owner: lets go of the current snapshot, copying what it still needs. */
static void snap_detach(heap_backend *b)
{
    heap_snap *s = b->snap;
    if (!s)
        return;
    if (!atomic_load_explicit(&s->ended, memory_order_acquire))
        for (size_t i = 0; i < s->n_tabs * s->n_kg; i++)
            if (!s->settled[i])
                snap_settle(s, i);
    b->snap = NULL;
    snap_unref(s);
}

__attribute__((noinline)) static void cow_slow(heap_table *t, const kg_table *g)
{
    heap_snap *s = t->b->snap;
    if (atomic_load_explicit(&s->ended, memory_order_acquire)) {
        snap_detach(t->b);
        return;
    }
    if (t->h.idx >= s->n_tabs)
        return; /* registered after the snapshot began: not in it */
    size_t i = t->h.idx * s->n_kg + (size_t)(g - t->kgs);
    if (!s->settled[i])
        snap_settle(s, i);
}

/* Before the owner changes anything in g (a key-group table of t). */
static inline void cow(heap_table *t, const kg_table *g)
{
    if (RILL_UNLIKELY(t->b->snap != NULL))
        cow_slow(t, g);
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
    /* (a map table's entries hold maps: values cannot go there) */
    if (RILL_UNLIKELY(t->h.fixed_len ? len != t->h.fixed_len
                                   : len > UINT32_MAX || t->h.kind == RILL_STATE_MAP))
        return t->h.fixed_len || t->h.kind == RILL_STATE_MAP ? RILL_EINVAL : RILL_ELIMIT;
    kg_table *g = kg_of(t, k);
    if (RILL_UNLIKELY(!g))
        return RILL_ESTATE;
    cow(t, g);
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
    if (e) {
        cow(t, g);
        erase(t, g, e);
    }
    return 0;
}

/* Appends in place with geometric growth of the out-of-line buffer: a list of n elements costs
 * O(n) copying in all, not O(n^2). */
static int heap_value_append(rill__state_table *tt, const rill__state_key *k, const void *val,
                             size_t len)
{
    heap_table *t = htab(tt);
    if (RILL_UNLIKELY(t->h.fixed_len || t->h.kind == RILL_STATE_MAP))
        return RILL_EINVAL;
    kg_table *g = kg_of(t, k);
    if (RILL_UNLIKELY(!g))
        return RILL_ESTATE;
    cow(t, g);
    uint64_t h = full_hash(k);
    entry *e = t->last;
    if (!e || !entry_is(e, h, k)) {
        e = find(g, h, k);
        if (!e) {
            if (RILL_UNLIKELY(len > UINT32_MAX || k->key_len > UINT32_MAX ||
                              k->ns_len > UINT32_MAX || k->key_len + k->ns_len > UINT32_MAX))
                return RILL_ELIMIT;
            e = insert_new(t, g, h, k);
        }
        t->last = e;
    }
    size_t old = e->val_len, nl = old + len;
    if (RILL_UNLIKELY(len > UINT32_MAX || nl > UINT32_MAX))
        return RILL_ELIMIT;
    if (!(e->flags & F_VEXT)) {
        if (nl <= INLINE_MAX) {
            if (len)
                memcpy(e->v.inl + old, val, len);
            e->val_len = (uint32_t)nl;
            return 0;
        }
        size_t cap = nl < 64 ? 64 : nl + nl / 2;
        if (cap > UINT32_MAX)
            cap = UINT32_MAX;
        unsigned char *p = rill__xmalloc(cap);
        if (old)
            memcpy(p, e->v.inl, old);
        e->v.ext.p = p;
        e->v.ext.cap = (uint32_t)cap;
        e->flags |= F_VEXT;
        t->ext_bytes += cap;
    } else if (nl > e->v.ext.cap) {
        size_t cap = (size_t)e->v.ext.cap * 2;
        if (cap < nl)
            cap = nl;
        if (cap > UINT32_MAX)
            cap = UINT32_MAX;
        e->v.ext.p = rill__xrealloc(e->v.ext.p, cap);
        t->ext_bytes += cap - e->v.ext.cap;
        e->v.ext.cap = (uint32_t)cap;
    }
    memcpy(e->v.ext.p + old, val, len);
    e->val_len = (uint32_t)nl;
    return 0;
}

/* ---- map state: the nested user-key maps -------------------------------------------------- */

static inline uint32_t uent_klen(const uent *u)
{
    uint32_t n;
    memcpy(&n, u->p, sizeof n);
    return n;
}

static inline bool uent_is(const uent *u, uint64_t h, const void *ukey, size_t ukey_len)
{
    return u->hash == h && uent_klen(u) == ukey_len && bytes_eq(u->p + UENT_HDR, ukey, ukey_len);
}

static inline const unsigned char *uent_val(const uent *u, uint32_t *len_out)
{
    uint32_t kl = uent_klen(u);
    *len_out = u->len - UENT_HDR - kl;
    return u->p + UENT_HDR + kl;
}

static umap *umap_new(heap_table *t)
{
    umap *m = rill__xcalloc(1, sizeof *m);
    m->slots = rill__xcalloc(UMAP_MIN_CAP, sizeof *m->slots);
    m->mask = UMAP_MIN_CAP - 1;
    t->ext_bytes += sizeof *m + UMAP_MIN_CAP * sizeof *m->slots;
    return m;
}

static void umap_free(heap_table *t, umap *m)
{
    for (size_t s = 0; s <= m->mask; s++)
        if (m->slots[s].p) {
            t->ext_bytes -= m->slots[s].cap;
            free(m->slots[s].p);
        }
    t->ext_bytes -= sizeof *m + ((size_t)m->mask + 1) * sizeof *m->slots;
    free(m->slots);
    free(m);
}

static uent *umap_find(const umap *m, uint64_t h, const void *ukey, size_t ukey_len)
{
    for (uint32_t i = (uint32_t)h & m->mask;; i = (i + 1) & m->mask) {
        uent *u = &m->slots[i];
        if (!u->p)
            return NULL;
        if (uent_is(u, h, ukey, ukey_len))
            return u;
    }
}

static void umap_grow(heap_table *t, umap *m)
{
    size_t old_cap = (size_t)m->mask + 1, cap = old_cap * 2;
    if (cap > KG_MAX_CAP)
        rill__panic(__FILE__, __LINE__, "map state '%s': over %u user keys under one key", t->h.name,
                    (unsigned)(KG_MAX_CAP / 4 * 3));
    uent *slots = rill__xcalloc(cap, sizeof *slots);
    uint32_t mask = (uint32_t)(cap - 1);
    for (size_t s = 0; s < old_cap; s++) {
        const uent *u = &m->slots[s];
        if (!u->p)
            continue;
        uint32_t i = (uint32_t)u->hash & mask;
        while (slots[i].p)
            i = (i + 1) & mask;
        slots[i] = *u;
    }
    free(m->slots);
    m->slots = slots;
    m->mask = mask;
    t->ext_bytes += (cap - old_cap) * sizeof *slots;
}

static void umap_erase(heap_table *t, umap *m, uent *u)
{
    t->ext_bytes -= u->cap;
    free(u->p);
    uint32_t mask = m->mask, i = (uint32_t)(u - m->slots), j = i;
    for (;;) {
        j = (j + 1) & mask;
        uent *f = &m->slots[j];
        if (!f->p)
            break;
        uint32_t home = (uint32_t)f->hash & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->slots[i] = *f;
            i = j;
        }
    }
    memset(&m->slots[i], 0, sizeof *u);
    m->n--;
}

/* The map entry of k, or NULL; *g_out its key group table (NULL when k is out of range or t is
 * not a map table: the callers' RILL_ESTATE). */
static entry *map_entry(heap_table *t, const rill__state_key *k, kg_table **g_out)
{
    kg_table *g = RILL_LIKELY(t->h.kind == RILL_STATE_MAP) ? kg_of(t, k) : NULL;
    *g_out = g;
    if (RILL_UNLIKELY(!g))
        return NULL;
    uint64_t h = full_hash(k);
    entry *e = t->last;
    if (!e || !entry_is(e, h, k)) {
        e = find(g, h, k);
        if (e)
            t->last = e;
    }
    RILL_DASSERT(!e || (e->flags & F_MAP));
    return e;
}

static int heap_map_get(rill__state_table *tt, const rill__state_key *k, const void *ukey,
                        size_t ukey_len, const void **val_out, size_t *len_out)
{
    heap_table *t = htab(tt);
    kg_table *g;
    entry *e = map_entry(t, k, &g);
    *val_out = NULL;
    *len_out = 0;
    if (RILL_UNLIKELY(!g))
        return RILL_ESTATE;
    if (!e)
        return 0;
    uent *u = umap_find(e->v.map, rill__hash_bytes(ukey, ukey_len, 0), ukey, ukey_len);
    if (!u)
        return 0;
    uint32_t n;
    *val_out = uent_val(u, &n);
    *len_out = n;
    return 1;
}

static int heap_map_put(rill__state_table *tt, const rill__state_key *k, const void *ukey,
                        size_t ukey_len, const void *val, size_t len)
{
    heap_table *t = htab(tt);
    if (RILL_UNLIKELY(ukey_len > UINT32_MAX || len > UINT32_MAX ||
                      UENT_HDR + ukey_len + len > UINT32_MAX))
        return RILL_ELIMIT;
    kg_table *g;
    entry *e = map_entry(t, k, &g);
    if (RILL_UNLIKELY(!g))
        return RILL_ESTATE;
    cow(t, g);
    if (!e) {
        if (RILL_UNLIKELY(k->key_len > UINT32_MAX || k->ns_len > UINT32_MAX ||
                          k->key_len + k->ns_len > UINT32_MAX))
            return RILL_ELIMIT;
        e = insert_new(t, g, full_hash(k), k);
        e->v.map = umap_new(t);
        e->flags |= F_MAP;
        t->last = e;
    }
    umap *m = e->v.map;
    uint64_t h = rill__hash_bytes(ukey, ukey_len, 0);
    uint32_t total = (uint32_t)(UENT_HDR + ukey_len + len);
    uent *u = umap_find(m, h, ukey, ukey_len);
    if (!u) {
        if ((size_t)(m->n + 1) * 4 > ((size_t)m->mask + 1) * 3)
            umap_grow(t, m);
        uint32_t i = (uint32_t)h & m->mask;
        while (m->slots[i].p)
            i = (i + 1) & m->mask;
        u = &m->slots[i];
        u->hash = h;
        u->p = rill__xmalloc(total);
        u->cap = total;
        t->ext_bytes += total;
        uint32_t kl = (uint32_t)ukey_len;
        memcpy(u->p, &kl, sizeof kl);
        if (ukey_len)
            memcpy(u->p + UENT_HDR, ukey, ukey_len);
        m->n++;
    } else if (total > u->cap) {
        u->p = rill__xrealloc(u->p, total);
        t->ext_bytes += total - u->cap;
        u->cap = total;
    }
    if (len)
        memcpy(u->p + UENT_HDR + ukey_len, val, len);
    u->len = total;
    return 0;
}

static int heap_map_remove(rill__state_table *tt, const rill__state_key *k, const void *ukey,
                           size_t ukey_len)
{
    heap_table *t = htab(tt);
    kg_table *g;
    entry *e = map_entry(t, k, &g);
    if (RILL_UNLIKELY(!g))
        return RILL_ESTATE;
    if (!e)
        return 0;
    umap *m = e->v.map;
    uent *u = umap_find(m, rill__hash_bytes(ukey, ukey_len, 0), ukey, ukey_len);
    if (!u)
        return 0;
    cow(t, g);
    umap_erase(t, m, u);
    if (m->n == 0)
        erase(t, g, e);
    return 1;
}

static int heap_map_iterate(rill__state_table *tt, const rill__state_key *k,
                            int (*fn)(void *arg, const void *ukey, size_t ukey_len, const void *val,
                                      size_t len),
                            void *arg)
{
    heap_table *t = htab(tt);
    kg_table *g;
    entry *e = map_entry(t, k, &g);
    if (RILL_UNLIKELY(!g))
        return RILL_ESTATE;
    if (!e)
        return 0;
    const umap *m = e->v.map;
    for (size_t s = 0; s <= m->mask; s++) {
        const uent *u = &m->slots[s];
        if (!u->p)
            continue;
        uint32_t n;
        const unsigned char *v = uent_val(u, &n);
        int rc = fn(arg, u->p + UENT_HDR, uent_klen(u), v, n);
        if (rc)
            return rc;
    }
    return 0;
}

static int heap_map_clear(rill__state_table *tt, const rill__state_key *k)
{
    return heap_value_del(tt, k); /* erase frees the nested map */
}

/* ---- incremental cleanup ------------------------------------------------------------------ */

/* The cursor is 0 (start of a round) or 1 + (key group index << 32 | slot). Every slot, empty
 * key group and user value looked at counts as one of the n; a large map is worked through over
 * several calls, from the position it keeps itself (umap.clean), so a step stays small. */
static int64_t heap_cleanup_step(rill__state_table *tt, uint64_t *cursor, int n,
                                 bool (*expired)(void *arg, const void *val, size_t len), void *arg)
{
    heap_table *t = htab(tt);
    uint64_t pos = *cursor ? *cursor - 1 : 0;
    uint64_t gi = pos >> 32;
    uint32_t slot = (uint32_t)pos;
    int64_t removed = 0;
    int examined = 0;
    while (examined < n) {
        if (gi >= t->n_kg) {
            *cursor = 0; /* a full round: the next call starts over */
            return removed;
        }
        kg_table *g = &t->kgs[gi];
        if (!g->slots || slot > g->mask) {
            gi++;
            slot = 0;
            examined++;
            continue;
        }
        cow(t, g); /* it may remove entries (a no-op once settled) */
        entry *e = &g->slots[slot];
        if (!(e->flags & F_USED)) {
            slot++;
            examined++;
            continue;
        }
        if (e->flags & F_MAP) {
            /* An erase shifts a later user entry into the hole: the same slot is looked at
             * again. */
            umap *m = e->v.map;
            uint32_t s = m->clean > m->mask ? 0 : m->clean;
            while (examined < n && s <= m->mask && m->n) {
                uent *u = &m->slots[s];
                uint32_t vlen;
                const unsigned char *v;
                examined++;
                if (u->p && (v = uent_val(u, &vlen), expired(arg, v, vlen))) {
                    umap_erase(t, m, u);
                    removed++;
                    continue;
                }
                s++;
            }
            if (m->n == 0) {
                erase(t, g, e); /* a later entry may now sit in this slot: look again */
                continue;
            }
            if (s <= m->mask) {
                m->clean = s; /* out of budget inside this map: resume here next time */
                break;
            }
            m->clean = 0;
            slot++;
            continue;
        }
        examined++;
        if (expired(arg, entry_val(e), e->val_len)) {
            erase(t, g, e);
            removed++;
            continue;
        }
        slot++;
    }
    *cursor = 1 + ((gi << 32) | slot);
    return removed;
}

/*
 * Value entries are visited once with their value bytes. A map entry is visited once per user
 * key, with the same state key each time and val = [ukey_len u32, host order][ukey][value] (len
 * = 4 + ukey_len + value length), so a snapshot writes one record per user key and a restore
 * puts them back with map_put. (The used ones of n slots.)
 */
static int iterate_slots(const entry *slots, size_t n, int kg, rill__state_visit_fn fn, void *arg)
{
    for (size_t s = 0; s < n; s++) {
        const entry *e = &slots[s];
        if (!(e->flags & F_USED))
            continue;
        const unsigned char *kb = entry_key(e);
        rill__state_key k = {.key = kb,
                             .key_len = e->key_len,
                             .hash = e->key_hash,
                             .kg = kg,
                             .ns = e->ns_len ? kb + e->key_len : NULL,
                             .ns_len = e->ns_len};
        if (e->flags & F_MAP) {
            const umap *m = e->v.map;
            for (size_t u = 0; u <= m->mask; u++) {
                if (!m->slots[u].p)
                    continue;
                int rc = fn(arg, &k, m->slots[u].p, m->slots[u].len);
                if (rc)
                    return rc;
            }
            continue;
        }
        int rc = fn(arg, &k, entry_val((entry *)e), e->val_len);
        if (rc)
            return rc;
    }
    return 0;
}

static int iterate_g(const kg_table *g, int kg, rill__state_visit_fn fn, void *arg)
{
    return g->slots ? iterate_slots(g->slots, (size_t)g->mask + 1, kg, fn, arg) : 0;
}

static int heap_iterate_kg(rill__state_table *tt, int kg, rill__state_visit_fn fn, void *arg)
{
    heap_table *t = htab(tt);
    unsigned i = (unsigned)kg - t->kg_first;
    RILL_DASSERT(i < t->n_kg);
    if (i >= t->n_kg)
        return RILL_ESTATE;
    return iterate_g(&t->kgs[i], kg, fn, arg);
}

/* ---- snapshot views -------------------------------------------------------------------------- */

static heap_snap *hsnap(rill__state_snap *s)
{
    return (heap_snap *)(void *)s;
}

static int heap_snap_begin(rill__state_backend *bb, rill__state_snap **out)
{
    heap_backend *b = (heap_backend *)bb;
    snap_detach(b); /* an older view still being read keeps what it needs */
    heap_snap *s = rill__xcalloc(1, sizeof *s);
    s->kg_first = (unsigned)b->base.cfg.kg_first;
    s->n_kg = (unsigned)(b->base.cfg.kg_last - b->base.cfg.kg_first + 1);
    s->n_tabs = b->reg.n;
    size_t n = s->n_tabs * s->n_kg;
    s->live = rill__xcalloc(s->n_tabs ? s->n_tabs : 1, sizeof *s->live);
    for (size_t i = 0; i < s->n_tabs; i++)
        s->live[i] = table_at(b, i);
    s->frozen = rill__xcalloc(n ? n : 1, sizeof *s->frozen);
    s->status = rill__xcalloc(n ? n : 1, sizeof *s->status); /* all SNAP_PENDING */
    s->settled = rill__xcalloc(n ? n : 1, 1);
    atomic_init(&s->ended, false);
    atomic_init(&s->refs, 2);
    b->snap = s;
    *out = (rill__state_snap *)(void *)s;
    return 0;
}

/* The snapshot thread: reads (table, kg) in place when still pending, else the owner's copy. */
static int heap_snap_iterate_kg(rill__state_snap *ss, size_t table, int kg,
                                rill__state_visit_fn fn, void *arg)
{
    heap_snap *s = hsnap(ss);
    unsigned gi = (unsigned)kg - s->kg_first;
    if (table >= s->n_tabs || gi >= s->n_kg)
        return RILL_ESTATE;
    size_t i = table * s->n_kg + gi;
    unsigned char v = SNAP_PENDING;
    if (atomic_compare_exchange_strong_explicit(&s->status[i], &v, SNAP_WRITING,
                                                memory_order_acquire, memory_order_acquire)) {
        int rc = iterate_g(&s->live[table]->kgs[gi], kg, fn, arg);
        atomic_store_explicit(&s->status[i], SNAP_DONE, memory_order_release);
        return rc;
    }
    while (v == SNAP_COPYING) {
        sched_yield();
        v = atomic_load_explicit(&s->status[i], memory_order_acquire);
    }
    if (v != SNAP_COPIED)
        return RILL_ESTATE; /* read twice */
    int rc = iterate_slots(s->frozen[i].e, s->frozen[i].n, kg, fn, arg);
    frozen_free(&s->frozen[i]);
    return rc;
}

static void heap_snap_end(rill__state_snap *ss)
{
    heap_snap *s = hsnap(ss);
    atomic_store_explicit(&s->ended, true, memory_order_release);
    snap_unref(s);
}

static heap_table *table_new(heap_backend *b, const rill_state_desc *desc)
{
    heap_table *t = rill__xcalloc(1, sizeof *t);
    t->b = b;
    rill__table_head_init(&t->h, desc);
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
    rill__table_head_fini(&t->h);
    free(t);
}

static int heap_table_op(rill__state_backend *bb, const rill_state_desc *desc,
                         rill__state_table **out)
{
    heap_backend *b = (heap_backend *)bb;
    *out = NULL;
    rill__table_head *h;
    int rc = rill__table_reg_find(&b->reg, desc, "heap", b->uid, &h);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        h = &table_new(b, desc)->h;
        rill__table_reg_add(&b->reg, h, desc);
    }
    *out = (rill__state_table *)(void *)h;
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
    snap_detach(b); /* a view not yet read keeps copies of what it still needs */
    for (size_t i = 0; i < b->reg.n; i++)
        table_free(table_at(b, i));
    rill__table_reg_free(&b->reg);
    free(b->uid);
    free(b);
}

static void heap_prefetch(rill__state_backend *bb, const rill__state_key *k)
{
    heap_backend *b = (heap_backend *)bb;
    uint64_t h = full_hash(k);
    for (size_t i = 0; i < b->reg.n; i++) {
        heap_table *t = table_at(b, i);
        unsigned g = (unsigned)k->kg - t->kg_first;
        if (g < t->n_kg && t->kgs[g].slots)
            __builtin_prefetch(&t->kgs[g].slots[(uint32_t)h & t->kgs[g].mask]);
    }
}

static void heap_stats(rill__state_backend *bb, int64_t *entries_out, int64_t *bytes_out)
{
    heap_backend *b = (heap_backend *)bb;
    int64_t n = 0;
    size_t bytes =
        sizeof *b + b->reg.cap * sizeof *b->reg.tables + b->reg.cap_by_id * sizeof *b->reg.by_id;
    for (size_t i = 0; i < b->reg.n; i++) {
        const heap_table *t = table_at(b, i);
        n += t->n_entries;
        bytes += sizeof *t + t->n_kg * sizeof *t->kgs + t->slot_bytes + t->ext_bytes;
    }
    if (entries_out)
        *entries_out = n;
    if (bytes_out)
        *bytes_out = (int64_t)bytes;
}

static int heap_visit_tables(rill__state_backend *bb,
                             int (*fn)(void *arg, const char *name, rill__state_kind kind,
                                       size_t value_size, int64_t ttl_ms, rill__state_table *t),
                             void *arg)
{
    return rill__table_reg_visit(&((heap_backend *)bb)->reg, fn, arg);
}

const rill__state_backend_ops rill__heap_backend_ops = {
    .name = "heap",
    .create = heap_create,
    .destroy = heap_destroy,
    .table = heap_table_op,
    .value_get = heap_value_get,
    .value_put = heap_value_put,
    .value_del = heap_value_del,
    .value_append = heap_value_append,
    .iterate_kg = heap_iterate_kg,
    .map_get = heap_map_get,
    .map_put = heap_map_put,
    .map_remove = heap_map_remove,
    .map_iterate = heap_map_iterate,
    .map_clear = heap_map_clear,
    .cleanup_step = heap_cleanup_step,
    .prefetch = heap_prefetch,
    .stats = heap_stats,
    .visit_tables = heap_visit_tables,
    .snap_begin = heap_snap_begin,
    .snap_iterate_kg = heap_snap_iterate_kg,
    .snap_end = heap_snap_end,
};
