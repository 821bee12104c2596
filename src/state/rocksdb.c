/*
 * rocksdb.c - state layer: the RocksDB keyed-state backend. One DB per backend instance in a
 * fresh working directory, one column family for all its tables, every key prefixed with its
 * table and key group so that a key group of a table is one range scan. Asynchronous snapshots
 * are RocksDB snapshots; TTL values are also dropped by a compaction filter; appends to a list
 * that is not cached are RocksDB merges (a concatenating merge operator), never on TTL tables
 * (see rdb_value_append). Values go through the write-back cache of rocksdb_cache.c; native
 * snapshots (incremental checkpoints) are rocksdb_files.c's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rocksdb_int.h"

#define MIB            (INT64_C(1) << 20)
#define DEFAULT_MEMORY (64 * MIB)
#define MIN_MEMORY     (4 * MIB)
#define N_MEMTABLES    3
#define MAX_OPEN_FILES 256
#define CACHE_SHARE    8 /* the value cache gets memory_bytes / CACHE_SHARE */
#define MIN_CACHE      4096
#define BLOOM_SHARE    32 /* the filter of written keys: memory_bytes / BLOOM_SHARE at most */

typedef struct rdb_snap {
    rdb_backend *b;
    const rocksdb_snapshot_t *snap;
    size_t n_tabs;
    unsigned char *is_map; /* n_tabs */
} rdb_snap;

/* ---- keys (the layout: rocksdb_int.h) ------------------------------------------------------- */

static unsigned char *room(unsigned char **buf, size_t *cap, size_t n)
{
    if (*cap < n) {
        size_t c = *cap ? *cap : 256;
        while (c < n)
            c *= 2;
        *buf = rill__xrealloc(*buf, c);
        *cap = c;
    }
    return *buf;
}

/* The key of (t, k) plus extra bytes (a user key) into b->kbuf; its length, 0 when too long. */
static size_t enc_key(rdb_table *t, const rill__state_key *k, const void *extra, size_t extra_len)
{
    if (k->key_len > UINT32_MAX || k->ns_len > UINT32_MAX || extra_len > UINT32_MAX)
        return 0;
    size_t n = HDR_LEN + 4 + k->key_len + 4 + k->ns_len + extra_len;
    unsigned char *p = room(&t->b->kbuf, &t->b->kcap, n);
    pfx(p, (uint32_t)t->h.idx, k->kg);
    be64(p + PFX_LEN, k->hash);
    p += HDR_LEN;
    be32(p, (uint32_t)k->key_len);
    if (k->key_len)
        memcpy(p + 4, k->key, k->key_len);
    p += 4 + k->key_len;
    be32(p, (uint32_t)k->ns_len);
    if (k->ns_len)
        memcpy(p + 4, k->ns, k->ns_len);
    p += 4 + k->ns_len;
    if (extra_len)
        memcpy(p, extra, extra_len);
    return n;
}

/* The smallest key above every key that starts with p[0..n) (n > 0, p not all 0xff: keys
 * start with a table id below MAX_TABLES); its length, in place. */
static size_t successor(unsigned char *p, size_t n)
{
    while (n && p[n - 1] == 0xff)
        n--;
    RILL_ASSERT(n > 0);
    p[n - 1]++;
    return n;
}

/* Splits a stored key into the state key and the rest (a map's user key); false: malformed. */
static bool dec_key(const unsigned char *p, size_t n, rill__state_key *k,
                    const unsigned char **rest, size_t *rest_len)
{
    if (n < HDR_LEN + 8)
        return false;
    k->kg = (int)((unsigned)p[4] << 8 | p[5]);
    k->hash = rd_be64(p + PFX_LEN);
    size_t at = HDR_LEN;
    size_t kl = rd_be32(p + at);
    at += 4;
    if (kl > n - at || n - at - kl < 4)
        return false;
    k->key = p + at;
    k->key_len = kl;
    at += kl;
    size_t nl = rd_be32(p + at);
    at += 4;
    if (nl > n - at)
        return false;
    k->ns = nl ? p + at : NULL;
    k->ns_len = nl;
    at += nl;
    *rest = p + at;
    *rest_len = n - at;
    return true;
}

/* ---- errors ---------------------------------------------------------------------------------- */

int rill__rdb_fail(rdb_backend *b, char *err, const char *what)
{
    int rc = rill__last_error_set(RILL_EIO, "state backend rocksdb of operator %s (%s): %s: %s",
                                  b->uid, b->path, what, err ? err : "?");
    rocksdb_free(err);
    return rc;
}

/* ---- TTL: the compaction filter ------------------------------------------------------------- */

/* Last accessed at ts, expired at now (as the ops layer decides it: ts + ttl <= now). */
static inline bool ts_expired(int64_t ts, int64_t now, int64_t ttl)
{
    int64_t age;
    if (__builtin_sub_overflow(now, ts, &age))
        return now > ts;
    return age >= ttl;
}

/*
 * Runs on RocksDB's compaction threads. It drops a value of a TTL table whose last-access time
 * is ttl or more before "now", where now is the earlier of the wall clock and the latest
 * last-access time ever written to this instance: the ops layer's clock can be a test clock
 * far behind the wall clock, and the filter must never drop what the ops layer still considers
 * live. It is cleanup only: the ops layer checks expiry on every read. (RocksDB applies filters
 * regardless of snapshots, so a view may miss a value that expired while it was read.)
 */
static unsigned char ttl_filter(void *state, int level, const char *key, size_t key_len,
                                const char *val, size_t val_len, char **new_val,
                                size_t *new_val_len, unsigned char *changed)
{
    (void)level, (void)new_val, (void)new_val_len, (void)changed;
    rdb_backend *b = state;
    if (key_len < PFX_LEN || val_len < 8)
        return 0;
    uint32_t tid = rd_be32((const unsigned char *)key);
    if (tid >= MAX_TABLES)
        return 0;
    int64_t ttl = atomic_load_explicit(&b->ttl_of[tid], memory_order_relaxed);
    if (ttl <= 0)
        return 0;
    int64_t ts, now = rill__now_ms();
    int64_t seen = atomic_load_explicit(&b->ttl_clock, memory_order_relaxed);
    if (seen < now)
        now = seen;
    ts = (int64_t)rill__le_get64(val);
    return ts_expired(ts, now, ttl);
}

static void ttl_filter_free(void *state)
{
    (void)state; /* the backend owns it (RocksDB calls this unconditionally) */
}

static const char *ttl_filter_name(void *state)
{
    (void)state;
    return "rill.ttl";
}

/* ---- point reads and writes ----------------------------------------------------------------- */

static bool in_range(const rdb_table *t, const rill__state_key *k)
{
    const rill__state_backend_cfg *c = &t->b->base.cfg;
    RILL_DASSERT(k->kg >= c->kg_first && k->kg <= c->kg_last);
    return k->kg >= c->kg_first && k->kg <= c->kg_last;
}

int rill__rdb_get_raw(rdb_table *t, size_t kn, const void **val_out, size_t *len_out)
{
    rdb_backend *b = t->b;
    char *err = NULL;
    size_t n = 0;
    perf_off();
    rocksdb_pinnableslice_destroy(b->got);
    b->got = rocksdb_get_pinned(b->db, b->ropts, (const char *)b->kbuf, kn, &err);
    if (err) {
        b->got = NULL;
        return rill__rdb_fail(b, err, "get");
    }
    if (!b->got)
        return 0;
    const char *v = rocksdb_pinnableslice_value(b->got, &n);
    *val_out = n ? (const void *)v : (const void *)""; /* non-NULL when present */
    *len_out = n;
    return 1;
}

static int put_raw(rdb_table *t, size_t kn, const void *val, size_t len)
{
    rdb_backend *b = t->b;
    char *err = NULL;
    perf_off();
    rocksdb_put(b->db, b->wopts, (const char *)b->kbuf, kn, val, len, &err);
    if (err)
        return rill__rdb_fail(b, err, "put");
    ttl_seen(t, val, len);
    return 0;
}

static int del_raw(rdb_backend *b, const void *key, size_t kn)
{
    char *err = NULL;
    rocksdb_delete(b->db, b->wopts, key, kn, &err);
    return err ? rill__rdb_fail(b, err, "delete") : 0;
}

/* ---- list appends: the merge operator ------------------------------------------------------- */

/* Concatenates the operands (after the existing value, if any): a list's appends. Only value
 * tables without TTL get merges (see rdb_value_append). */
static char *concat(const char *base, size_t base_len, const char *const *ops,
                    const size_t *op_lens, int n_ops, unsigned char *success, size_t *len_out)
{
    size_t n = base_len;
    for (int i = 0; i < n_ops; i++)
        n += op_lens[i];
    char *v = rill__xmalloc(n ? n : 1), *p = v;
    if (base_len)
        memcpy(p, base, base_len);
    p += base_len;
    for (int i = 0; i < n_ops; i++) {
        if (op_lens[i])
            memcpy(p, ops[i], op_lens[i]);
        p += op_lens[i];
    }
    *len_out = n;
    *success = 1;
    return v;
}

static char *append_full(void *state, const char *key, size_t key_len, const char *base,
                         size_t base_len, const char *const *ops, const size_t *op_lens, int n_ops,
                         unsigned char *success, size_t *len_out)
{
    (void)state, (void)key, (void)key_len;
    return concat(base, base ? base_len : 0, ops, op_lens, n_ops, success, len_out);
}

static char *append_partial(void *state, const char *key, size_t key_len, const char *const *ops,
                            const size_t *op_lens, int n_ops, unsigned char *success,
                            size_t *len_out)
{
    (void)state, (void)key, (void)key_len;
    return concat(NULL, 0, ops, op_lens, n_ops, success, len_out);
}

static void append_free_value(void *state, const char *v, size_t len)
{
    (void)state, (void)len;
    free((void *)v);
}

static void append_destroy(void *state)
{
    (void)state;
}

static const char *append_name(void *state)
{
    (void)state;
    return "rill.append";
}

/* ---- values --------------------------------------------------------------------------------- */

static int rdb_value_get(rill__state_table *tt, const rill__state_key *k, const void **val_out,
                         size_t *len_out)
{
    rdb_table *t = rtab(tt);
    *val_out = NULL;
    *len_out = 0;
    if (RILL_UNLIKELY(!in_range(t, k) || t->h.kind == RILL_STATE_MAP))
        return RILL_ESTATE;
    size_t kn = enc_key(t, k, NULL, 0);
    if (!kn)
        return 0; /* too long to have been stored */
    centry *e;
    int rc = rill__rdb_cache_load(t, kn, &e);
    if (rc < 0 || !e->present)
        return rc;
    *val_out = e->vlen ? (const void *)e->val : (const void *)""; /* non-NULL when present */
    *len_out = e->vlen;
    t->b->c.lent = e;
    return 1;
}

static int rdb_value_put(rill__state_table *tt, const rill__state_key *k, const void *val,
                         size_t len)
{
    rdb_table *t = rtab(tt);
    if (RILL_UNLIKELY(t->h.fixed_len ? len != t->h.fixed_len
                                     : len > UINT32_MAX || t->h.kind == RILL_STATE_MAP))
        return t->h.fixed_len || t->h.kind == RILL_STATE_MAP ? RILL_EINVAL : RILL_ELIMIT;
    if (RILL_UNLIKELY(!in_range(t, k)))
        return RILL_ESTATE;
    size_t kn = enc_key(t, k, NULL, 0);
    if (!kn)
        return RILL_ELIMIT;
    int rc;
    bool fresh;
    centry *e = rill__rdb_cache_entry(t, kn, &rc, &fresh);
    if (!e)
        return rc;
    e->merge = false; /* a put replaces pending appends with their list */
    rill__rdb_cache_set(&t->b->c, e, val, len);
    c_set_dirty(t->b, e);
    c_account_present(&t->b->c, e, true);
    return 0;
}

static int rdb_map_clear(rill__state_table *tt, const rill__state_key *k);

/* On a map table: the whole map of k (clearing state of any kind is a value_del). A value
 * becomes a dirty absent entry: the delete is written with the other dirty entries. */
static int rdb_value_del(rill__state_table *tt, const rill__state_key *k)
{
    rdb_table *t = rtab(tt);
    if (RILL_UNLIKELY(!in_range(t, k)))
        return RILL_ESTATE;
    if (t->h.kind == RILL_STATE_MAP)
        return rdb_map_clear(tt, k);
    size_t kn = enc_key(t, k, NULL, 0);
    if (!kn)
        return 0;
    int rc;
    bool fresh;
    centry *e = rill__rdb_cache_entry(t, kn, &rc, &fresh);
    if (!e)
        return rc;
    e->merge = false;
    vcache *c = &t->b->c;
    c->bytes -= e->vcap;
    free(e->val);
    e->val = NULL;
    e->vlen = e->vcap = 0;
    c_set_dirty(t->b, e);
    c_account_present(c, e, false);
    return 0;
}

/*
 * Appends to the cached value: a list that stays hot is never read or written whole per
 * append. A list not cached is not read either (tables without TTL): the entry becomes pending
 * appends, written as a RocksDB merge (the merge operator concatenates); a get before that
 * reads RocksDB's value and appends them. A TTL list is always read first by the ops layer
 * (the time prefix decides between an append and a rewrite), so it is cached here: TTL tables
 * never have merges, and the compaction filter, which does not see merge operands, sees every
 * TTL value whole.
 */
static int rdb_value_append(rill__state_table *tt, const rill__state_key *k, const void *val,
                            size_t len)
{
    rdb_table *t = rtab(tt);
    if (RILL_UNLIKELY(t->h.fixed_len || t->h.kind == RILL_STATE_MAP))
        return RILL_EINVAL;
    if (RILL_UNLIKELY(!in_range(t, k)))
        return RILL_ESTATE;
    size_t kn = enc_key(t, k, NULL, 0);
    if (!kn || len > UINT32_MAX)
        return RILL_ELIMIT;
    centry *e;
    int rc;
    bool fresh = false;
    if (t->h.ttl) {
        rc = rill__rdb_cache_load(t, kn, &e);
    } else {
        e = rill__rdb_cache_entry(t, kn, &rc, &fresh);
        if (e && fresh && rill__rdb_bloom_maybe(t->b, e->h))
            e->merge = true; /* RocksDB may hold a value: append to it blindly */
    }
    if (rc < 0)
        return rc;
    if ((size_t)e->vlen + len > UINT32_MAX)
        return RILL_ELIMIT;
    rill__rdb_cache_append(&t->b->c, e, val, len);
    c_set_dirty(t->b, e);
    if (!e->merge)
        c_account_present(&t->b->c, e, true);
    return 0;
}

/* ---- scans ------------------------------------------------------------------------------------
 */

/* An iterator over [lo, hi) (copied: the bounds outlive the caller's buffers). */
typedef struct range_it {
    rocksdb_iterator_t *it;
    rocksdb_readoptions_t *ro;
    unsigned char *lo;
    size_t lo_len;
} range_it;

/* fill: whether the blocks read go into the block cache (not for whole-range scans: snapshots
 * and cleanup would push out the working set) */
static void range_open(range_it *r, rocksdb_t *db, const rocksdb_snapshot_t *snap,
                       const unsigned char *prefix, size_t n, bool fill)
{
    r->lo = rill__xmalloc(2 * n);
    memcpy(r->lo, prefix, n);
    memcpy(r->lo + n, prefix, n);
    r->lo_len = n;
    size_t hi_len = successor(r->lo + n, n);
    r->ro = rocksdb_readoptions_create();
    if (snap)
        rocksdb_readoptions_set_snapshot(r->ro, snap);
    rocksdb_readoptions_set_iterate_upper_bound(r->ro, (const char *)r->lo + n, hi_len);
    rocksdb_readoptions_set_fill_cache(r->ro, fill);
    r->it = rocksdb_create_iterator(db, r->ro);
    rocksdb_iter_seek(r->it, (const char *)r->lo, n);
}

/* 0, or RILL_EIO when the iteration stopped on an error. */
static int range_close(range_it *r, rdb_backend *b)
{
    char *err = NULL;
    rocksdb_iter_get_error(r->it, &err);
    rocksdb_iter_destroy(r->it);
    rocksdb_readoptions_destroy(r->ro);
    free(r->lo);
    return err ? rill__rdb_fail(b, err, "iterate") : 0;
}

/* Every entry of (tid, kg), with the iterate_kg contract; map entries go out as
 * [ukey_len u32 host order][ukey][value]. Any thread (snap: that snapshot, or the live DB). */
static int scan_kg(rdb_backend *b, const rocksdb_snapshot_t *snap, uint32_t tid, bool is_map,
                   int kg, rill__state_visit_fn fn, void *arg)
{
    unsigned char p[PFX_LEN];
    pfx(p, tid, kg);
    range_it r;
    range_open(&r, b->db, snap, p, sizeof p, false);
    unsigned char *mbuf = NULL;
    size_t mcap = 0;
    int rc = 0;
    for (; !rc && rocksdb_iter_valid(r.it); rocksdb_iter_next(r.it)) {
        size_t kn, vn;
        const unsigned char *kp = (const unsigned char *)rocksdb_iter_key(r.it, &kn);
        const unsigned char *vp = (const unsigned char *)rocksdb_iter_value(r.it, &vn);
        rill__state_key k;
        const unsigned char *uk;
        size_t ukl;
        if (!dec_key(kp, kn, &k, &uk, &ukl) || (!is_map && ukl)) {
            rc = RILL_ECORRUPT;
            break;
        }
        if (!is_map) {
            rc = fn(arg, &k, vn ? vp : (const unsigned char *)"", vn);
            continue;
        }
        unsigned char *m = room(&mbuf, &mcap, 4 + ukl + vn);
        uint32_t u = (uint32_t)ukl;
        memcpy(m, &u, 4);
        if (ukl)
            memcpy(m + 4, uk, ukl);
        if (vn)
            memcpy(m + 4 + ukl, vp, vn);
        rc = fn(arg, &k, m, 4 + ukl + vn);
    }
    free(mbuf);
    int rc2 = range_close(&r, b);
    if (rc == RILL_ECORRUPT)
        rill__last_error_set(rc,
                             "state backend rocksdb of operator %s (%s): malformed key in "
                             "table %u",
                             b->uid, b->path, (unsigned)tid);
    return rc ? rc : rc2;
}

static int rdb_iterate_kg(rill__state_table *tt, int kg, rill__state_visit_fn fn, void *arg)
{
    rdb_table *t = rtab(tt);
    const rill__state_backend_cfg *c = &t->b->base.cfg;
    if (kg < c->kg_first || kg > c->kg_last)
        return RILL_ESTATE;
    if (t->n_dirty) {
        int rc = rill__rdb_cache_flush(t->b);
        if (rc < 0)
            return rc;
    }
    return scan_kg(t->b, NULL, (uint32_t)t->h.idx, t->h.kind == RILL_STATE_MAP, kg, fn, arg);
}

/* ---- map state: one RocksDB entry per user key ------------------------------------------------
 */

static int rdb_map_get(rill__state_table *tt, const rill__state_key *k, const void *ukey,
                       size_t ukey_len, const void **val_out, size_t *len_out)
{
    rdb_table *t = rtab(tt);
    *val_out = NULL;
    *len_out = 0;
    if (RILL_UNLIKELY(t->h.kind != RILL_STATE_MAP || !in_range(t, k)))
        return RILL_ESTATE;
    size_t kn = enc_key(t, k, ukey, ukey_len);
    if (!kn)
        return 0;
    const void *v = NULL;
    size_t n = 0;
    int rc = rill__rdb_get_raw(t, kn, &v, &n);
    if (rc == 1) {
        *val_out = v;
        *len_out = n;
    }
    return rc;
}

static int rdb_map_put(rill__state_table *tt, const rill__state_key *k, const void *ukey,
                       size_t ukey_len, const void *val, size_t len)
{
    rdb_table *t = rtab(tt);
    if (RILL_UNLIKELY(ukey_len > UINT32_MAX || len > UINT32_MAX || 4 + ukey_len + len > UINT32_MAX))
        return RILL_ELIMIT;
    if (RILL_UNLIKELY(t->h.kind != RILL_STATE_MAP || !in_range(t, k)))
        return RILL_ESTATE;
    size_t kn = enc_key(t, k, ukey, ukey_len);
    if (!kn)
        return RILL_ELIMIT;
    return put_raw(t, kn, val, len);
}

static int rdb_map_remove(rill__state_table *tt, const rill__state_key *k, const void *ukey,
                          size_t ukey_len)
{
    rdb_table *t = rtab(tt);
    if (RILL_UNLIKELY(t->h.kind != RILL_STATE_MAP || !in_range(t, k)))
        return RILL_ESTATE;
    size_t kn = enc_key(t, k, ukey, ukey_len);
    if (!kn)
        return 0;
    const void *v;
    size_t n;
    int rc = rill__rdb_get_raw(t, kn, &v, &n); /* the contract wants to know whether it was there */
    if (rc != 1)
        return rc;
    rc = del_raw(t->b, t->b->kbuf, kn);
    return rc < 0 ? rc : 1;
}

/* fn may call other ops of the backend: the iterator reads its own copy of the bounds and a
 * consistent view, and the key scratch is not used after the open. */
static int rdb_map_iterate(rill__state_table *tt, const rill__state_key *k,
                           int (*fn)(void *arg, const void *ukey, size_t ukey_len, const void *val,
                                     size_t len),
                           void *arg)
{
    rdb_table *t = rtab(tt);
    if (RILL_UNLIKELY(t->h.kind != RILL_STATE_MAP || !in_range(t, k)))
        return RILL_ESTATE;
    size_t kn = enc_key(t, k, NULL, 0);
    if (!kn)
        return 0;
    range_it r;
    range_open(&r, t->b->db, NULL, t->b->kbuf, kn, true);
    int rc = 0;
    for (; !rc && rocksdb_iter_valid(r.it); rocksdb_iter_next(r.it)) {
        size_t n, vn;
        const char *kp = rocksdb_iter_key(r.it, &n);
        const char *vp = rocksdb_iter_value(r.it, &vn);
        rc = fn(arg, kp + kn, n - kn, vn ? vp : "", vn);
    }
    int rc2 = range_close(&r, t->b);
    return rc ? rc : rc2;
}

/* Deletes every user key of (key, ns) one by one in a batch: a map is usually small, and a
 * DeleteRange per clear would leave range tombstones that slow down every later read. */
static int rdb_map_clear(rill__state_table *tt, const rill__state_key *k)
{
    rdb_table *t = rtab(tt);
    rdb_backend *b = t->b;
    if (RILL_UNLIKELY(t->h.kind != RILL_STATE_MAP || !in_range(t, k)))
        return RILL_ESTATE;
    size_t kn = enc_key(t, k, NULL, 0);
    if (!kn)
        return 0;
    range_it r;
    range_open(&r, b->db, NULL, b->kbuf, kn, true);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    for (; rocksdb_iter_valid(r.it); rocksdb_iter_next(r.it)) {
        size_t n;
        const char *kp = rocksdb_iter_key(r.it, &n);
        rocksdb_writebatch_delete(wb, kp, n);
    }
    int rc = range_close(&r, b);
    if (!rc && rocksdb_writebatch_count(wb)) {
        char *err = NULL;
        rocksdb_write(b->db, b->wopts, wb, &err);
        if (err)
            rc = rill__rdb_fail(b, err, "clear a map");
    }
    rocksdb_writebatch_destroy(wb);
    return rc;
}

/* ---- incremental cleanup ----------------------------------------------------------------------
 */

/* The position of a round lives in the table (the next key to look at); the cursor is 0 to
 * start a round over and 1 while one is under way. Each RocksDB entry (a value, or one user key
 * of a map) counts as one of the n. A round starts by writing the table's dirty cached values
 * (so that it sees them); during the round a cached value is what counts: dirty, it is left for
 * the next round; clean, it is RocksDB's and goes from both when expired. */
static int64_t rdb_cleanup_step(rill__state_table *tt, uint64_t *cursor, int n,
                                bool (*expired)(void *arg, const void *val, size_t len), void *arg)
{
    rdb_table *t = rtab(tt);
    rdb_backend *b = t->b;
    if ((!*cursor || !t->clean_len) && t->n_dirty && rill__rdb_cache_flush(b) < 0)
        return 0; /* the error shows again at the next access */
    bool cached = t->h.kind != RILL_STATE_MAP && b->c.n;
    unsigned char tp[4];
    be32(tp, (uint32_t)t->h.idx);
    range_it r;
    range_open(&r, b->db, NULL, tp, sizeof tp, false);
    if (*cursor && t->clean_len)
        rocksdb_iter_seek(r.it, (const char *)t->clean_key, t->clean_len);
    int64_t removed = 0;
    for (int i = 0; i < n && rocksdb_iter_valid(r.it); i++, rocksdb_iter_next(r.it)) {
        size_t kn, vn;
        const char *kp = rocksdb_iter_key(r.it, &kn);
        const char *vp = rocksdb_iter_value(r.it, &vn);
        centry *e =
            cached ? rill__rdb_cache_find(&b->c, rill__hash_bytes(kp, kn, 0), (const void *)kp, kn)
                   : NULL;
        if (e && e->dirty)
            continue;
        if (expired(arg, vp, vn) && del_raw(b, kp, kn) == 0) {
            removed++;
            if (e)
                rill__rdb_cache_remove(b, e);
        }
    }
    if (rocksdb_iter_valid(r.it)) {
        size_t kn;
        const char *kp = rocksdb_iter_key(r.it, &kn);
        memcpy(room(&t->clean_key, &t->clean_cap, kn), kp, kn);
        t->clean_len = kn;
        *cursor = 1;
    } else {
        t->clean_len = 0;
        *cursor = 0; /* a full round */
    }
    range_close(&r, b); /* an error shows again at the next access */
    return removed;
}

/* ---- snapshot views -----------------------------------------------------------------------------
 */

static int rdb_snap_begin(rill__state_backend *bb, rill__state_snap **out)
{
    rdb_backend *b = (rdb_backend *)bb;
    *out = NULL;
    int rc = rill__rdb_cache_flush(b); /* the snapshot must hold every dirty value */
    if (rc < 0)
        return rc;
    rdb_snap *s = rill__xcalloc(1, sizeof *s);
    s->b = b;
    s->snap = rocksdb_create_snapshot(b->db); /* a sequence number and a list entry: cheap */
    s->n_tabs = b->reg.n;
    s->is_map = rill__xcalloc(s->n_tabs ? s->n_tabs : 1, 1);
    for (size_t i = 0; i < s->n_tabs; i++)
        s->is_map[i] = b->reg.tables[i]->kind == RILL_STATE_MAP;
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    *out = (rill__state_snap *)(void *)s;
    return 0;
}

static int rdb_snap_iterate_kg(rill__state_snap *ss, size_t table, int kg, rill__state_visit_fn fn,
                               void *arg)
{
    rdb_snap *s = (rdb_snap *)(void *)ss;
    const rill__state_backend_cfg *c = &s->b->base.cfg;
    if (table >= s->n_tabs || kg < c->kg_first || kg > c->kg_last)
        return RILL_ESTATE;
    return scan_kg(s->b, s->snap, (uint32_t)table, s->is_map[table], kg, fn, arg);
}

static void rdb_snap_end(rill__state_snap *ss)
{
    rdb_snap *s = (rdb_snap *)(void *)ss;
    rocksdb_release_snapshot(s->b->db, s->snap);
    rdb_backend *b = s->b;
    free(s->is_map);
    free(s);
    rill__rdb_unref(b);
}

/* ---- tables --------------------------------------------------------------------------------- */

static int rdb_table_op(rill__state_backend *bb, const rill_state_desc *desc,
                        rill__state_table **out)
{
    rdb_backend *b = (rdb_backend *)bb;
    *out = NULL;
    rill__table_head *h;
    int rc = rill__table_reg_find(&b->reg, desc, "rocksdb", b->uid, &h);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        if (b->reg.n >= MAX_TABLES)
            return rill__last_error_set(RILL_ELIMIT,
                                        "state '%s' of operator %s: over %d state tables",
                                        desc->name, b->uid, MAX_TABLES);
        rdb_table *t = rill__xcalloc(1, sizeof *t);
        t->b = b;
        rill__table_head_init(&t->h, desc);
        rill__table_reg_add(&b->reg, &t->h, desc);
        h = &t->h;
    }
    /* the compaction filter reads the table's TTL (the latest registration's) */
    atomic_store_explicit(&b->ttl_of[h->idx], h->ttl_ms, memory_order_relaxed);
    *out = (rill__state_table *)(void *)h;
    return 0;
}

static int rdb_visit_tables(rill__state_backend *bb,
                            int (*fn)(void *arg, const char *name, rill__state_kind kind,
                                      size_t value_size, int64_t ttl_ms, rill__state_table *t),
                            void *arg)
{
    return rill__table_reg_visit(&((rdb_backend *)bb)->reg, fn, arg);
}

/* ---- the instance --------------------------------------------------------------------------- */

void rill__rdb_unref(rdb_backend *b)
{
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (b->db)
        rocksdb_close(b->db);
    if (b->opts)
        rocksdb_options_destroy(b->opts);
    if (b->filter)
        rocksdb_compactionfilter_destroy(b->filter);
    if (b->bbto)
        rocksdb_block_based_options_destroy(b->bbto);
    if (b->cache)
        rocksdb_cache_destroy(b->cache);
    if (b->wopts)
        rocksdb_writeoptions_destroy(b->wopts);
    if (b->ropts)
        rocksdb_readoptions_destroy(b->ropts);
    if (b->path)
        rill__remove_tree(b->path);
    if (b->owner_fd >= 0)
        close(b->owner_fd); /* after the removal: see remove_stale */
    free(b->path);
    free(b->dbpath);
    free(b->dir);
    free(b->uid);
    rill__rdb_files_forget(b);
    pthread_mutex_destroy(&b->files_mu);
    free(b);
}

/*
 * Working directories that a process killed before it could remove them left in dir. An
 * instance holds an open file description lock on its directory's "owner" file from its
 * creation until its directory is gone (such a lock conflicts with any other, in this process
 * too): a directory whose owner file can be locked belongs to no live instance. One without an
 * owner file (being made: it is created right after the directory) counts only when it has not
 * changed for STALE_SECS and nobody holds its DB open (RocksDB's POSIX lock on db/LOCK). Each
 * is logged. Errors only mean that nothing is removed.
 */
#define OWNER_FILE "owner"
#define STALE_SECS 60

/* A write lock on path (the owner file), held by the returned descriptor; -1 when someone
 * else holds it, or it cannot be opened. */
static int lock_file(const char *path, bool create)
{
    int fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    if (fd < 0)
        return -1;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void remove_stale(const char *dir, const char *own)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    time_t now = time(NULL);
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "rill-rocksdb-", 13) != 0)
            continue;
        char *top = rill__xasprintf("%s/%s", dir, de->d_name);
        struct stat st;
        if (!strcmp(top, own) || lstat(top, &st) != 0 || !S_ISDIR(st.st_mode)) {
            free(top);
            continue;
        }
        char *owner = rill__xasprintf("%s/" OWNER_FILE, top);
        int fd = -1;
        if (access(owner, F_OK) == 0) {
            fd = lock_file(owner, false);
        } else if (now - st.st_mtime > STALE_SECS) {
            char *lock = rill__xasprintf("%s/db/LOCK", top);
            fd = lock_file(lock, false);
            free(lock);
        }
        if (fd >= 0) { /* removed while locked: no instance can start in it meanwhile */
            rill__log(RILL_LOG_WARN, "state backend rocksdb: removing %s, left by a process that "
                      "ended without removing it", top);
            rill__remove_tree(top);
            close(fd);
        }
        free(owner);
        free(top);
    }
    closedir(d);
}

/* The operator uid as a file name: [A-Za-z0-9._-], others '_', at most 64 characters. */
static void sanitize(char *dst, size_t cap, const char *uid)
{
    size_t n = 0;
    for (; uid[n] && n + 1 < cap && n < 64; n++) {
        char c = uid[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_';
        dst[n] = ok ? c : '_';
    }
    dst[n] = 0;
    if (dst[0] == '.')
        dst[0] = '_';
}

/*
 * Memory (cfg->memory_bytes, default 64 MiB): an eighth (at least MIN_CACHE) is the value
 * cache, and up to a 32nd (a power of two) the bloom filter of written keys, counted in the
 * cache's bytes; of the rest (at least MIN_MEMORY: below that RocksDB itself does not stay within
 * memory_bytes), half is the LRU block cache, which also holds the index and filter blocks (so
 * open files do not add unbounded table-reader memory), and the other half the write buffers:
 * N_MEMTABLES memtables of a third each (one being written, the others being flushed), capped
 * in all by db_write_buffer_size. Open files are limited to MAX_OPEN_FILES. The WAL is off:
 * durability comes from checkpoints (Flink).
 */
static void configure(rdb_backend *b, int64_t mem)
{
    if (mem <= 0)
        mem = DEFAULT_MEMORY;
    int64_t vc = RILL_MAX(mem / CACHE_SHARE, (int64_t)MIN_CACHE);
    size_t bloom = 64;
    while (bloom * 2 <= (size_t)(mem / BLOOM_SHARE))
        bloom *= 2;
    b->n_bloom = bloom / 64;
    b->bloom = rill__xcalloc(b->n_bloom, 64); /* pages are touched as keys come */
    b->c.budget = (size_t)vc + bloom;         /* the filter counts as the cache's */
    b->c.bytes = bloom;
    mem = RILL_MAX(mem - vc - (int64_t)bloom, MIN_MEMORY);
    size_t cache = (size_t)(mem / 2), wb_total = (size_t)(mem - mem / 2);
    b->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(b->opts, 1);
    rocksdb_options_set_error_if_exists(b->opts, 1);
    b->cache = rocksdb_cache_create_lru(cache);
    b->bbto = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(b->bbto, b->cache);
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(b->bbto, 1);
    rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(b->bbto, 1);
    rocksdb_options_set_block_based_table_factory(b->opts, b->bbto);
    rocksdb_options_set_write_buffer_size(b->opts, wb_total / N_MEMTABLES);
    rocksdb_options_set_max_write_buffer_number(b->opts, N_MEMTABLES);
    rocksdb_options_set_min_write_buffer_number_to_merge(b->opts, 1);
    /* a get of a key a memtable does not hold skips its skiplist (5% of the write buffers; no
     * SST filter: filter blocks thrash a small block cache, 2.5x slower at 4 MiB) */
    rocksdb_options_set_memtable_whole_key_filtering(b->opts, 1);
    rocksdb_options_set_memtable_prefix_bloom_size_ratio(b->opts, 0.05);
    rocksdb_options_set_db_write_buffer_size(b->opts, wb_total);
    rocksdb_options_set_max_open_files(b->opts, MAX_OPEN_FILES);
    rocksdb_options_set_max_background_jobs(b->opts, 2);
    rocksdb_options_set_keep_log_file_num(b->opts, 2);
    b->filter = rocksdb_compactionfilter_create(b, ttl_filter_free, ttl_filter, ttl_filter_name);
    rocksdb_compactionfilter_set_ignore_snapshots(b->filter, 1);
    rocksdb_options_set_compaction_filter(b->opts, b->filter);
    /* owned by the options (and the DB) from here on */
    rocksdb_options_set_merge_operator(
        b->opts, rocksdb_mergeoperator_create(NULL, append_destroy, append_full, append_partial,
                                              append_free_value, append_name));
    b->wopts = rocksdb_writeoptions_create();
    rocksdb_writeoptions_disable_WAL(b->wopts, 1);
    b->ropts = rocksdb_readoptions_create();
}

static int rdb_create(const rill__state_backend_cfg *cfg, rill__state_backend **out)
{
    *out = NULL;
    if (!cfg || cfg->kg_first < 0 || cfg->kg_last < cfg->kg_first || cfg->kg_last > 0xffff ||
        (cfg->max_parallelism > 0 && cfg->kg_last >= cfg->max_parallelism))
        return RILL_EINVAL;
    rdb_backend *b = rill__xcalloc(1, sizeof *b);
    b->base.ops = &rill__rocksdb_backend_ops;
    b->base.cfg = *cfg;
    b->uid = rill__xstrdup(cfg->operator_uid ? cfg->operator_uid : "?");
    b->base.cfg.operator_uid = b->uid;
    b->dir = cfg->dir ? rill__xstrdup(cfg->dir) : NULL;
    b->base.cfg.dir = b->dir;
    atomic_init(&b->refs, 1);
    b->owner_fd = -1;
    pthread_mutex_init(&b->files_mu, NULL);
    atomic_init(&b->ttl_clock, INT64_MIN);
    for (size_t i = 0; i < MAX_TABLES; i++)
        atomic_init(&b->ttl_of[i], 0);

    const char *dir = cfg->dir;
    if (!dir || !*dir)
        dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    char name[80];
    sanitize(name, sizeof name, b->uid);
    size_t n = strlen(dir) + strlen(name) + 64;
    b->path = rill__xmalloc(n);
    snprintf(b->path, n, "%s/rill-rocksdb-%s-%d-XXXXXX", dir, name, cfg->subtask);
    int mk = rill__mkdirs(dir, 0755); /* --state-dir need not exist yet (Flink's local dirs) */
    if (mk != 0)
        errno = -mk;
    if (mk != 0 || !mkdtemp(b->path)) {
        int rc = rill__last_error_set(-errno,
                                      "state backend rocksdb of operator %s: cannot make its "
                                      "working directory %s: %s",
                                      b->uid, b->path, strerror(errno));
        free(b->path);
        b->path = NULL; /* nothing to remove */
        rill__rdb_unref(b);
        return rc;
    }
    char *owner = rill__xasprintf("%s/" OWNER_FILE, b->path);
    b->owner_fd = lock_file(owner, true);
    free(owner);
    configure(b, cfg->memory_bytes);
    char *err = NULL;
    b->dbpath = rill__xasprintf("%s/db", b->path);
    b->db = rocksdb_open(b->opts, b->dbpath, &err);
    if (err) {
        int rc = rill__rdb_fail(b, err, "open");
        rill__rdb_unref(b);
        return rc;
    }
    remove_stale(dir, b->path);
    *out = &b->base;
    return 0;
}

static void rdb_destroy(rill__state_backend *bb)
{
    rdb_backend *b = (rdb_backend *)bb;
    if (!b)
        return;
    for (size_t i = 0; i < b->reg.n; i++) {
        rdb_table *t = table_at(b, i);
        rill__table_head_fini(&t->h);
        free(t->clean_key);
        free(t);
    }
    rill__table_reg_free(&b->reg);
    free(b->kbuf);
    free(b->tkey);
    rill__rdb_cache_clear(&b->c);
    free(b->c.slots);
    b->c.slots = NULL;
    free(b->bloom);
    b->bloom = NULL;
    rocksdb_pinnableslice_destroy(b->got);
    b->kbuf = NULL;
    b->got = NULL;
    rill__rdb_unref(b); /* a view still being read keeps the DB */
}

static void rdb_prefetch(rill__state_backend *b, const rill__state_key *k)
{
    (void)b, (void)k; /* a point lookup is its own prefetch */
}

static int64_t prop(rdb_backend *b, const char *name)
{
    uint64_t v = 0;
    if (rocksdb_property_int(b->db, name, &v) != 0)
        return 0;
    return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* Estimates (RocksDB's, plus the values only the cache holds yet: no flush, this is called
 * often): entries counts each map user key, and an overwrite or delete not yet compacted (or a
 * dirty cached value that overwrites one in RocksDB) can skew it. */
static int64_t keys_estimate(rdb_backend *b)
{
    return prop(b, "rocksdb.estimate-num-keys") + (int64_t)b->c.n_dirty_present;
}

static void rdb_stats(rill__state_backend *bb, int64_t *entries_out, int64_t *bytes_out)
{
    rdb_backend *b = (rdb_backend *)bb;
    if (entries_out)
        *entries_out = keys_estimate(b);
    if (bytes_out)
        *bytes_out = (int64_t)sizeof *b + prop(b, "rocksdb.total-sst-files-size") +
                     prop(b, "rocksdb.cur-size-all-mem-tables") + (int64_t)b->c.bytes;
}

/* Memory: the value cache, the memtables and what the block cache holds now; disk: the SST
 * files. */
static void rdb_usage(rill__state_backend *bb, rill__state_usage *out)
{
    rdb_backend *b = (rdb_backend *)bb;
    out->keys = keys_estimate(b);
    size_t cached = b->cache ? rocksdb_cache_get_usage(b->cache) : 0;
    out->memory_bytes = prop(b, "rocksdb.cur-size-all-mem-tables") + (int64_t)b->c.bytes +
                        (int64_t)RILL_MIN(cached, (size_t)INT64_MAX / 2);
    out->disk_bytes = prop(b, "rocksdb.total-sst-files-size");
}

/* ---- timers ----------------------------------------------------------------------------------
 *
 * Timers are entries of their own key range (TIMER_TID: rocksdb_int.h), after every table's:
 *
 *   [TIMER_TID u32][kg u16][domain u8][ts u64, sign bit flipped][key_len u32][key][ns] -> hash
 *
 * (big-endian, so that one (kg, domain) is a range ordered by ts, then key length, key bytes
 * and namespace bytes: rill__timer_order). They bypass the value cache: the timer service
 * keeps its own cache of the earliest ones.
 */

#define TPFX_LEN 7 /* tid, kg, domain */
#define THDR_LEN (TPFX_LEN + 8 + 4)

static size_t enc_timer(unsigned char **buf, size_t *cap, int domain, const rill__state_key *k,
                        int64_t ts)
{
    size_t n = THDR_LEN + k->key_len + k->ns_len;
    unsigned char *p = room(buf, cap, n);
    pfx(p, TIMER_TID, k->kg);
    p[PFX_LEN] = (unsigned char)domain;
    be64(p + TPFX_LEN, (uint64_t)ts ^ (UINT64_C(1) << 63));
    be32(p + TPFX_LEN + 8, (uint32_t)k->key_len);
    if (k->key_len)
        memcpy(p + THDR_LEN, k->key, k->key_len);
    if (k->ns_len)
        memcpy(p + THDR_LEN + k->key_len, k->ns, k->ns_len);
    return n;
}

/* The owner's timer key scratch holding (domain, k, ts): its length, 0 for a key too long for
 * the layout (such a timer cannot be there). */
static size_t timer_key(rdb_backend *b, int domain, const rill__state_key *k, int64_t ts)
{
    return k->key_len > UINT32_MAX ? 0 : enc_timer(&b->tkey, &b->tkcap, domain, k, ts);
}

static int rdb_timer_put(rill__state_backend *bb, int domain, const rill__state_key *k,
                         int64_t ts)
{
    rdb_backend *b = (rdb_backend *)bb;
    size_t n = timer_key(b, domain, k, ts);
    if (!n)
        return RILL_ELIMIT;
    char *err = NULL;
    rocksdb_put(b->db, b->wopts, (const char *)b->tkey, n, (const char *)&k->hash, 8, &err);
    return err ? rill__rdb_fail(b, err, "timer put") : 0;
}

static int rdb_timer_get(rill__state_backend *bb, int domain, const rill__state_key *k,
                         int64_t ts)
{
    rdb_backend *b = (rdb_backend *)bb;
    size_t n = timer_key(b, domain, k, ts);
    if (!n)
        return 0;
    char *err = NULL;
    perf_off();
    rocksdb_pinnableslice_t *got =
        rocksdb_get_pinned(b->db, b->ropts, (const char *)b->tkey, n, &err);
    if (err)
        return rill__rdb_fail(b, err, "timer get");
    rocksdb_pinnableslice_destroy(got);
    return got != NULL;
}

static int rdb_timer_del(rill__state_backend *bb, int domain, const rill__state_key *k,
                         int64_t ts)
{
    rdb_backend *b = (rdb_backend *)bb;
    size_t n = timer_key(b, domain, k, ts);
    return n ? del_raw(b, b->tkey, n) : 0;
}

static int rdb_timer_scan(rill__state_backend *bb, rill__state_snap *view, int domain, int kg,
                          int64_t after_ts, const rill__state_key *after, size_t max,
                          int (*fn)(void *arg, int64_t ts, const rill__state_key *k), void *arg)
{
    rdb_backend *b = (rdb_backend *)bb;
    const rocksdb_snapshot_t *snap = view ? ((rdb_snap *)(void *)view)->snap : NULL;
    unsigned char p[TPFX_LEN];
    pfx(p, TIMER_TID, kg);
    p[PFX_LEN] = (unsigned char)domain;
    range_it r;
    range_open(&r, b->db, snap, p, TPFX_LEN, true);
    unsigned char *from = NULL;
    size_t from_cap = 0, from_len = 0;
    if (after) {
        rill__state_key a = *after;
        a.kg = kg;
        from_len = enc_timer(&from, &from_cap, domain, &a, after_ts);
        rocksdb_iter_seek(r.it, (const char *)from, from_len);
    }
    int rc = 0;
    size_t seen = 0;
    for (; rocksdb_iter_valid(r.it) && (!max || seen < max); rocksdb_iter_next(r.it)) {
        size_t kn, vn;
        const unsigned char *key = (const unsigned char *)rocksdb_iter_key(r.it, &kn);
        const char *val = rocksdb_iter_value(r.it, &vn);
        if (after && kn == from_len && !memcmp(key, from, kn))
            continue; /* `after` itself */
        uint32_t kl;
        if (kn < THDR_LEN || vn != 8 || (kl = rd_be32(key + TPFX_LEN + 8)) > kn - THDR_LEN) {
            rc = rill__last_error_set(RILL_ECORRUPT, "state backend rocksdb of operator %s: a "
                                      "malformed timer entry (%zu bytes)", b->uid, kn);
            break;
        }
        rill__state_key k = {.key = key + THDR_LEN,
                             .key_len = kl,
                             .kg = kg,
                             .ns = kn > THDR_LEN + kl ? key + THDR_LEN + kl : NULL,
                             .ns_len = kn - THDR_LEN - kl};
        memcpy(&k.hash, val, 8);
        int64_t ts = (int64_t)(rd_be64(key + TPFX_LEN) ^ (UINT64_C(1) << 63));
        seen++;
        if ((rc = fn(arg, ts, &k)) != 0)
            break;
    }
    free(from);
    int crc = range_close(&r, b);
    return rc ? rc : crc;
}

int rill__rocksdb_compact(rill__state_backend *bb)
{
    if (!bb || bb->ops != &rill__rocksdb_backend_ops)
        return RILL_EINVAL;
    rdb_backend *b = (rdb_backend *)bb;
    /* the filter sees only what is written; and what it drops must not be served from the cache
     * afterwards */
    int rc = rill__rdb_cache_flush(b);
    if (rc < 0)
        return rc;
    rill__rdb_cache_clear(&b->c);
    rocksdb_compact_range(b->db, NULL, 0, NULL, 0);
    return 0;
}

const rill__state_backend_ops rill__rocksdb_backend_ops = {
    .name = "rocksdb",
    .create = rdb_create,
    .destroy = rdb_destroy,
    .table = rdb_table_op,
    .value_get = rdb_value_get,
    .value_put = rdb_value_put,
    .value_del = rdb_value_del,
    .value_append = rdb_value_append,
    .iterate_kg = rdb_iterate_kg,
    .map_get = rdb_map_get,
    .map_put = rdb_map_put,
    .map_remove = rdb_map_remove,
    .map_iterate = rdb_map_iterate,
    .map_clear = rdb_map_clear,
    .cleanup_step = rdb_cleanup_step,
    .prefetch = rdb_prefetch,
    .stats = rdb_stats,
    .visit_tables = rdb_visit_tables,
    .snap_begin = rdb_snap_begin,
    .snap_iterate_kg = rdb_snap_iterate_kg,
    .snap_end = rdb_snap_end,
    .usage = rdb_usage,
    .files_begin = rill__rdb_files_begin,
    .files_write = rill__rdb_files_write,
    .files_end = rill__rdb_files_end,
    .files_restore = rill__rdb_files_restore,
    .files_check = rill__rdb_files_check,
    .timer_put = rdb_timer_put,
    .timer_get = rdb_timer_get,
    .timer_del = rdb_timer_del,
    .timer_scan = rdb_timer_scan,
};
