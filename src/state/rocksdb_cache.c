/*
 * rocksdb_cache.c - state layer, the RocksDB backend: the bounded write-back cache of
 * value-table entries in front of RocksDB, and the bloom filter of the keys ever written, which
 * spares a new key its RocksDB read.
 */
#include <stdlib.h>
#include <string.h>

#include "rocksdb_int.h"

#define CENTRY_COST (sizeof(centry) + 32) /* an entry's own bytes and two mallocs' overhead */

/* ---- the bloom filter of keys ever written -------------------------------------------------- */

/* Never cleared (a delete leaves its key in: a false positive only costs a read); the DB is
 * fresh per instance, so "not in the filter" means "not in RocksDB" for a value-table key
 * (files_restore, whose files bring keys it never saw, fills it with ones). One
 * 64-byte block per key (one cache miss), three bits in it. */
static inline const uint64_t *bl_block(const rdb_backend *b, uint64_t h)
{
    return b->bloom + 8 * ((size_t)(h >> 40) & (b->n_bloom - 1));
}

static inline void bl_add(rdb_backend *b, uint64_t h)
{
    uint64_t *w = (uint64_t *)bl_block(b, h);
    for (int i = 0; i < 3; i++) {
        unsigned bit = (unsigned)(h >> (9 * i)) & 511;
        w[bit >> 6] |= UINT64_C(1) << (bit & 63);
    }
}

bool rill__rdb_bloom_maybe(const rdb_backend *b, uint64_t h)
{
    const uint64_t *w = bl_block(b, h);
    for (int i = 0; i < 3; i++) {
        unsigned bit = (unsigned)(h >> (9 * i)) & 511;
        if (!(w[bit >> 6] >> (bit & 63) & 1))
            return false;
    }
    return true;
}

/* ---- the value cache ------------------------------------------------------------------------ */

/*
 * The value cache: a bounded write-back cache of value-table entries (not map tables) in front
 * of RocksDB, so that a hot value (a running sum, a window's accumulator) costs no RocksDB read
 * or write per record. Keyed by the encoded RocksDB key (which starts with the table id, so one
 * cache serves every value table of the instance). An entry is present (a value) or absent (a
 * known-absent key: a miss that RocksDB answered "absent", or a delete not yet written); dirty
 * when RocksDB does not hold what the entry says yet. Chained hashing (entries never move, so a
 * pointer handed out stays put), CLOCK eviction by bucket with the reference bit set on every
 * access; when the bytes go over the budget, the next operation first evicts down to 7/8 of it,
 * writing the dirty victims in one write batch (in key order). Everything that reads RocksDB
 * directly for a range writes the dirty entries first (flush): iterate_kg, snap_begin, a
 * cleanup round's start, compact. An entry can also be pending appends to a list that was not
 * cached (merge): its bytes go to RocksDB as a merge operand, after which the entry is
 * dropped; a get first reads RocksDB's value and makes the entry that value plus the appends.
 */

static inline size_t c_cost(const centry *e)
{
    return CENTRY_COST + e->klen + e->vcap;
}

centry *rill__rdb_cache_find(const vcache *c, uint64_t h, const unsigned char *key, size_t kn)
{
    if (!c->n)
        return NULL;
    for (centry *e = c->slots[h & (c->n_slots - 1)]; e; e = e->next)
        if (e->h == h && e->klen == kn && memcmp(e->key, key, kn) == 0)
            return e;
    return NULL;
}

static inline void c_link(vcache *c, centry *e)
{
    centry **s = &c->slots[e->h & (c->n_slots - 1)];
    e->next = *s;
    *s = e;
}

static void c_grow(vcache *c)
{
    size_t old = c->n_slots;
    centry **slots = c->slots;
    c->n_slots = old ? 2 * old : 64;
    c->slots = rill__xcalloc(c->n_slots, sizeof *c->slots);
    c->bytes += (c->n_slots - old) * sizeof *c->slots;
    for (size_t i = 0; i < old; i++)
        for (centry *e = slots[i], *nx; e; e = nx) {
            nx = e->next;
            c_link(c, e);
        }
    free(slots);
    c->hand = 0;
}

/* A new clean, absent entry for key[0..kn). */
static centry *c_insert(vcache *c, uint64_t h, const unsigned char *key, size_t kn)
{
    if (c->n >= c->n_slots)
        c_grow(c);
    centry *e = rill__xmalloc(sizeof *e + kn);
    *e = (centry){.h = h, .klen = (uint32_t)kn, .ref = true};
    memcpy(e->key, key, kn);
    c_link(c, e);
    c->n++;
    c->bytes += c_cost(e);
    return e;
}

void rill__rdb_cache_set(vcache *c, centry *e, const void *val, size_t len)
{
    if (len > e->vcap || e->vcap > 4 * len + 64) {
        unsigned char *nv = len ? rill__xmalloc(len) : NULL;
        if (len)
            memcpy(nv, val, len);
        free(e->val);
        c->bytes = c->bytes - e->vcap + len;
        e->val = nv;
        e->vcap = (uint32_t)len;
    } else if (len) {
        memmove(e->val, val, len);
    }
    e->vlen = (uint32_t)len;
}

void rill__rdb_cache_append(vcache *c, centry *e, const void *val, size_t len)
{
    size_t need = (size_t)e->vlen + len;
    if (need > e->vcap) {
        size_t cap = RILL_MAX(need, (size_t)e->vcap + e->vcap / 2);
        cap = RILL_MIN(cap, (size_t)UINT32_MAX);
        unsigned char *nv = rill__xmalloc(cap);
        if (e->vlen)
            memcpy(nv, e->val, e->vlen);
        if (len)
            memcpy(nv + e->vlen, val, len);
        free(e->val);
        c->bytes = c->bytes - e->vcap + cap;
        e->val = nv;
        e->vcap = (uint32_t)cap;
    } else if (len) {
        memmove(e->val + e->vlen, val, len);
    }
    e->vlen = (uint32_t)need;
}

static void c_free(vcache *c, centry *e)
{
    c->n--;
    c->bytes -= c_cost(e);
    free(e->val);
    free(e);
}

void rill__rdb_cache_remove(rdb_backend *b, centry *e)
{
    vcache *c = &b->c;
    centry **p = &c->slots[e->h & (c->n_slots - 1)];
    while (*p != e)
        p = &(*p)->next;
    *p = e->next;
    if (c->lent == e)
        c->lent = NULL;
    c_account_present(c, e, false);
    c_set_clean(b, e);
    c_free(c, e);
}

void rill__rdb_cache_clear(vcache *c)
{
    for (size_t i = 0; i < c->n_slots; i++) {
        for (centry *e = c->slots[i], *nx; e; e = nx) {
            nx = e->next;
            c_free(c, e);
        }
        c->slots[i] = NULL;
    }
    c->n_dirty = c->n_dirty_present = 0;
    c->lent = NULL;
}

/* Adds what a dirty entry says to wb. */
static inline void c_batch(rdb_backend *b, rocksdb_writebatch_t *wb, const centry *e)
{
    if (e->merge) {
        bl_add(b, e->h);
        rocksdb_writebatch_merge(wb, (const char *)e->key, e->klen,
                                 e->vlen ? (const char *)e->val : "", e->vlen);
    } else if (e->present) {
        bl_add(b, e->h);
        rocksdb_writebatch_put(wb, (const char *)e->key, e->klen,
                               e->vlen ? (const char *)e->val : "", e->vlen);
    } else
        rocksdb_writebatch_delete(wb, (const char *)e->key, e->klen);
}

static int c_write(rdb_backend *b, rocksdb_writebatch_t *wb, const char *what)
{
    char *err = NULL;
    perf_off();
    rocksdb_write(b->db, b->wopts, wb, &err);
    rocksdb_writebatch_destroy(wb);
    return err ? rill__rdb_fail(b, err, what) : 0;
}

/* Orders entries by key (RocksDB's order). */
static int c_cmp(const void *x, const void *y)
{
    const centry *a = *(const centry *const *)x, *b = *(const centry *const *)y;
    int d = memcmp(a->key, b->key, RILL_MIN(a->klen, b->klen));
    return d ? d : (a->klen > b->klen) - (a->klen < b->klen);
}

/* The entries es[0..n) in one write batch, in key order: the memtable inserts a sorted batch
 * next to the previous key (its skiplist splice is reused), a random one from the top. */
static int c_write_sorted(rdb_backend *b, centry **es, size_t n, const char *what)
{
    qsort(es, n, sizeof *es, c_cmp);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    for (size_t i = 0; i < n; i++)
        c_batch(b, wb, es[i]);
    return c_write(b, wb, what);
}

int rill__rdb_cache_flush(rdb_backend *b)
{
    vcache *c = &b->c;
    if (!c->n_dirty)
        return 0;
    centry **es = rill__xmalloc(c->n_dirty * sizeof *es);
    size_t n = 0;
    for (size_t i = 0; i < c->n_slots; i++)
        for (centry *e = c->slots[i]; e; e = e->next)
            if (e->dirty)
                es[n++] = e;
    RILL_ASSERT(n == c->n_dirty);
    int rc = c_write_sorted(b, es, n, "write the value cache");
    for (size_t i = 0; !rc && i < n; i++) {
        centry *e = es[i];
        if (e->merge) { /* its bytes are not the value: RocksDB now has it */
            rill__rdb_cache_remove(b, e);
            continue;
        }
        if (e->present)
            ttl_seen(c_table(b, e), e->val, e->vlen);
        c_set_clean(b, e);
    }
    free(es);
    if (rc)
        return rc;
    RILL_ASSERT(c->n_dirty == 0 && c->n_dirty_present == 0);
    return 0;
}

/*
 * Over budget: evicts down to 7/8 of it, CLOCK by bucket (an entry referenced since the hand
 * last passed gets another round), the dirty victims written in one batch. Called at the start
 * of an operation, so that what this one hands out cannot go (nor the value the last value_get
 * handed out, which the caller may pass back in). On a failed write nothing is evicted.
 */
static int c_evict(rdb_backend *b)
{
    vcache *c = &b->c;
    size_t target = c->budget - c->budget / 8, freed = 0;
    centry *victims = NULL;
    centry **dirty = NULL;
    size_t n_dirty = 0, cap = 0;
    /* two full turns at most: the first clears every reference bit */
    for (size_t turn = 0; turn < 2 * c->n_slots && c->bytes - freed > target; turn++) {
        centry **p = &c->slots[c->hand];
        c->hand = (c->hand + 1) & (c->n_slots - 1);
        while (*p) {
            centry *e = *p;
            if (e->ref || e == c->lent) {
                e->ref = false;
                p = &e->next;
                continue;
            }
            *p = e->next;
            e->next = victims;
            victims = e;
            freed += c_cost(e);
            if (e->dirty) {
                if (n_dirty == cap) {
                    cap = cap ? 2 * cap : 1024;
                    dirty = rill__xrealloc(dirty, cap * sizeof *dirty);
                }
                dirty[n_dirty++] = e;
            }
        }
    }
    int rc = n_dirty ? c_write_sorted(b, dirty, n_dirty, "write evicted values") : 0;
    free(dirty);
    for (centry *e = victims, *nx; e; e = nx) {
        nx = e->next;
        if (rc) {
            c_link(c, e); /* kept, dirty: written later */
            continue;
        }
        if (e->dirty && e->present)
            ttl_seen(c_table(b, e), e->val, e->vlen);
        c_account_present(c, e, false);
        c_set_clean(b, e);
        c_free(c, e);
    }
    return rc;
}

int rill__rdb_cache_load(rdb_table *t, size_t kn, centry **out)
{
    rdb_backend *b = t->b;
    vcache *c = &b->c;
    *out = NULL;
    if (RILL_UNLIKELY(c->bytes > c->budget)) {
        int rc = c_evict(b);
        if (rc < 0)
            return rc;
    }
    uint64_t h = rill__hash_bytes(b->kbuf, kn, 0);
    centry *e = rill__rdb_cache_find(c, h, b->kbuf, kn);
    if (RILL_LIKELY(e != NULL && !e->merge)) {
        e->ref = true;
        *out = e;
        return 0;
    }
    const void *v = NULL;
    size_t n = 0;
    int rc = rill__rdb_bloom_maybe(b, h) ? rill__rdb_get_raw(t, kn, &v, &n) : 0;
    if (rc < 0)
        return rc;
    if (rc == 1 && n + (e ? e->vlen : 0) > UINT32_MAX) {
        rocksdb_pinnableslice_destroy(b->got);
        b->got = NULL;
        return rill__last_error_set(RILL_ELIMIT, "state '%s' of operator %s: a value over 4 GiB",
                                    t->h.name, b->uid);
    }
    if (e) { /* pending appends: RocksDB's value and then them, dirty (written as a put) */
        e->ref = true;
        e->merge = false;
        unsigned char *ops = e->val;
        size_t n_ops = e->vlen;
        e->val = NULL;
        c->bytes -= e->vcap;
        e->vlen = e->vcap = 0;
        if (rc == 1)
            rill__rdb_cache_set(c, e, v, n);
        rill__rdb_cache_append(c, e, ops, n_ops);
        free(ops);
        c_account_present(c, e, true);
    } else {
        e = c_insert(c, h, b->kbuf, kn);
        if (rc == 1) {
            rill__rdb_cache_set(c, e, v, n);
            e->present = true;
        }
    }
    rocksdb_pinnableslice_destroy(b->got); /* copied: nothing to keep pinned */
    b->got = NULL;
    *out = e;
    return 0;
}

centry *rill__rdb_cache_entry(rdb_table *t, size_t kn, int *rc, bool *fresh)
{
    rdb_backend *b = t->b;
    vcache *c = &b->c;
    *rc = 0;
    if (RILL_UNLIKELY(c->bytes > c->budget)) {
        *rc = c_evict(b);
        if (*rc < 0)
            return NULL;
    }
    uint64_t h = rill__hash_bytes(b->kbuf, kn, 0);
    centry *e = rill__rdb_cache_find(c, h, b->kbuf, kn);
    *fresh = !e;
    if (e)
        e->ref = true;
    else
        e = c_insert(c, h, b->kbuf, kn);
    return e;
}
