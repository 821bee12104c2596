/*
 * rocksdb.c - state layer: the RocksDB keyed-state backend. One DB per backend instance in a
 * fresh working directory, one column family for all its tables, every key prefixed with its
 * table and key group so that a key group of a table is one range scan. Asynchronous snapshots
 * are RocksDB snapshots; TTL values are also dropped by a compaction filter. Hot values of
 * value tables live in a bounded write-back cache in front of the DB; a bloom filter of the keys
 * ever written spares a new key its RocksDB read; appends to a list that is not cached are
 * RocksDB merges (a concatenating merge operator), never on TTL tables (see rdb_value_append).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rocksdb/c.h>

#include "checkpoint.h"
#include "state.h"

/*
 * Key layout (all integers big-endian, so byte order is numeric order):
 *
 *   [table id u32][kg u16][key hash u64][key_len u32][key][ns_len u32][ns]      value tables
 *   [table id u32][kg u16][key hash u64][key_len u32][key][ns_len u32][ns][ukey] map tables
 *
 * [table id][kg] (PFX_LEN bytes) makes iterate_kg, snapshots and the compaction filter's table
 * lookup a prefix. The (key, namespace) part is length-prefixed, so it is a prefix-free code:
 * no (key, ns) encoding is a prefix of another's, and the user key of a map entry is simply the
 * rest of the key (map_iterate of one (key, ns) is a prefix scan that cannot reach a neighbour,
 * whatever the user keys). The key's hash is kept because iteration hands it back and it is not
 * a function of the key bytes the backend could recompute (the caller chooses it).
 *
 * One column family for every table, not one per table: the memory bound is per column family
 * in RocksDB (each has its own memtables), so a CF per table would multiply the write buffers
 * by the number of tables; a table is a key range anyway, and a snapshot of one DB covers all.
 *
 * Values are stored as given (TTL values begin with their 8-byte last-access time, host order,
 * as in every backend). Table ids are the registration index: visit_tables order, and the
 * snapshot table index, are the table id.
 */
#define PFX_LEN    6 /* table id, key group */
#define HDR_LEN    (PFX_LEN + 8)
#define MAX_TABLES 4096 /* per instance: the compaction filter's TTL array is fixed */

#define MIB            (INT64_C(1) << 20)
#define DEFAULT_MEMORY (64 * MIB)
#define MIN_MEMORY     (4 * MIB)
#define N_MEMTABLES    3
#define MAX_OPEN_FILES 256
#define CACHE_SHARE    8 /* the value cache gets memory_bytes / CACHE_SHARE */
#define MIN_CACHE      4096
#define BLOOM_SHARE    32 /* the filter of written keys: memory_bytes / BLOOM_SHARE at most */
#define CENTRY_COST    (sizeof(centry) + 32) /* an entry's own bytes and two mallocs' overhead */

typedef struct rdb_backend rdb_backend;

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
typedef struct centry {
    struct centry *next; /* in its bucket */
    uint64_t h;
    unsigned char *val; /* vcap bytes; NULL when vcap is 0 */
    uint32_t klen, vlen, vcap;
    bool present, dirty, ref;
    /* pending appends to a list RocksDB may hold: val is what to add to RocksDB's value, not
     * the value (present is false); always dirty, written as a merge, then dropped */
    bool merge;
    unsigned char key[]; /* klen */
} centry;

typedef struct vcache {
    centry **slots;
    size_t n_slots; /* a power of two */
    size_t n, n_dirty, n_dirty_present;
    size_t bytes, budget; /* entries' (CENTRY_COST + key + value capacity) and the slots */
    size_t hand;          /* CLOCK: the next bucket to look at */
    /* the entry whose value value_get handed out last: not evicted by the next call, which may
     * be given that value (a get, then a put of what it returned) */
    centry *lent;
} vcache;

typedef struct rdb_table {
    rill__table_head h; /* first: name, kind, sizes, TTL, registration index (the table id) */
    rdb_backend *b;
    /* cleanup_step's position: the next key to look at (the cursor only says "go on") */
    unsigned char *clean_key;
    size_t clean_len, clean_cap;
    size_t n_dirty; /* its dirty entries in the value cache */
} rdb_table;

/* A file of a native snapshot: its name in the DB, where a snapshot put it, its size. */
typedef struct file_rec {
    char *name, *dest;
    int64_t size;
} file_rec;

struct rdb_backend {
    rill__state_backend base;
    char *uid;
    char *path;   /* the working directory: the DB in db/, native snapshots in chk-<n>/ */
    char *dbpath; /* path/db */
    int owner_fd; /* holds the lock on path/owner (see remove_stale) */
    char *dir;    /* cfg.dir, kept (for temporary instances made from this one's config) */
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_block_based_table_options_t *bbto;
    rocksdb_cache_t *cache;
    rocksdb_compactionfilter_t *filter;
    rocksdb_writeoptions_t *wopts;
    rocksdb_readoptions_t *ropts;
    /* owner's */
    rill__table_reg reg; /* the rdb_tables: in registration order, the index their table id */
    unsigned char *kbuf; /* key scratch */
    size_t kcap;
    vcache c;
    /* keys ever written to RocksDB (value tables): a blocked bloom filter, so that a cache miss
     * on a key never written (a new key) needs no RocksDB read; n_bloom 64-byte blocks, a
     * power of two */
    uint64_t *bloom;
    size_t n_bloom;
    /* the last get's result, handed out: pinned (no copy), released at the next get (rocksdb_get
     * cannot tell an empty value from an absent one) */
    rocksdb_pinnableslice_t *got;
    /* shared with the compaction filter's threads */
    _Atomic int64_t ttl_of[MAX_TABLES]; /* ms; 0: no TTL */
    _Atomic int64_t ttl_clock;          /* the latest last-access time written */
    atomic_int refs;                    /* the owner's (until destroy) and each view's */
    /* native snapshots: files_write's thread and files_restore's, under files_mu */
    pthread_mutex_t files_mu;
    uint64_t n_native;  /* native snapshots begun (the owner's): names their directories */
    unsigned char *tkey; /* timer key scratch (the owner's) */
    size_t tkcap;
    char *prev_dir;     /* the last written one's directory, and its files there */
    file_rec *prev;
    size_t n_prev;
};

typedef struct rdb_snap {
    rdb_backend *b;
    const rocksdb_snapshot_t *snap;
    size_t n_tabs;
    unsigned char *is_map; /* n_tabs */
} rdb_snap;

static inline rdb_table *rtab(rill__state_table *t)
{
    return (rdb_table *)(void *)t;
}

/* ---- bytes ---------------------------------------------------------------------------------- */

static inline void be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static inline uint32_t rd_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void be64(unsigned char *p, uint64_t v)
{
    be32(p, (uint32_t)(v >> 32));
    be32(p + 4, (uint32_t)v);
}

static inline uint64_t rd_be64(const unsigned char *p)
{
    return (uint64_t)rd_be32(p) << 32 | rd_be32(p + 4);
}

static inline void pfx(unsigned char *p, uint32_t tid, int kg)
{
    be32(p, tid);
    p[4] = (unsigned char)((unsigned)kg >> 8);
    p[5] = (unsigned char)kg;
}

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

/* RILL_EIO with RocksDB's message (freed here) and what was being done. */
static int db_fail(rdb_backend *b, char *err, const char *what)
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

/* A TTL value is written: the filter's clock moves on to its time. */
static inline void ttl_seen(rdb_table *t, const void *val, size_t len)
{
    if (!t->h.ttl || len < 8)
        return;
    int64_t ts = (int64_t)rill__le_get64(val);
    int64_t cur = atomic_load_explicit(&t->b->ttl_clock, memory_order_relaxed);
    while (ts > cur && !atomic_compare_exchange_weak_explicit(
                           &t->b->ttl_clock, &cur, ts, memory_order_relaxed, memory_order_relaxed))
        ;
}

/* ---- point reads and writes ----------------------------------------------------------------- */

static bool in_range(const rdb_table *t, const rill__state_key *k)
{
    const rill__state_backend_cfg *c = &t->b->base.cfg;
    RILL_DASSERT(k->kg >= c->kg_first && k->kg <= c->kg_last);
    return k->kg >= c->kg_first && k->kg <= c->kg_last;
}

/* RocksDB counts into its perf context by default (a thread-local, reached through
 * __tls_get_addr from a shared library at every key comparison): off on the calling thread. */
static inline void perf_off(void)
{
    static _Thread_local bool off;
    if (RILL_UNLIKELY(!off)) {
        rocksdb_set_perf_level(rocksdb_disable);
        off = true;
    }
}

/* 1 and the value (borrowed until the next get) when present, 0 when absent. */
static int get_raw(rdb_table *t, size_t kn, const void **val_out, size_t *len_out)
{
    rdb_backend *b = t->b;
    char *err = NULL;
    size_t n = 0;
    perf_off();
    rocksdb_pinnableslice_destroy(b->got);
    b->got = rocksdb_get_pinned(b->db, b->ropts, (const char *)b->kbuf, kn, &err);
    if (err) {
        b->got = NULL;
        return db_fail(b, err, "get");
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
        return db_fail(b, err, "put");
    ttl_seen(t, val, len);
    return 0;
}

static int del_raw(rdb_backend *b, const void *key, size_t kn)
{
    char *err = NULL;
    rocksdb_delete(b->db, b->wopts, key, kn, &err);
    return err ? db_fail(b, err, "delete") : 0;
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

static inline bool bl_maybe(const rdb_backend *b, uint64_t h)
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

/* The i-th table registered (its head is its first member). */
static inline rdb_table *table_at(const rdb_backend *b, size_t i)
{
    return (rdb_table *)(void *)b->reg.tables[i];
}

static inline rdb_table *c_table(rdb_backend *b, const centry *e)
{
    return table_at(b, rd_be32(e->key));
}

static inline size_t c_cost(const centry *e)
{
    return CENTRY_COST + e->klen + e->vcap;
}

/* The entry of key[0..kn) (hash h), or NULL. */
static inline centry *c_find(const vcache *c, uint64_t h, const unsigned char *key, size_t kn)
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

static inline void c_set_dirty(rdb_backend *b, centry *e)
{
    if (e->dirty)
        return;
    e->dirty = true;
    b->c.n_dirty++;
    b->c.n_dirty_present += e->present;
    c_table(b, e)->n_dirty++;
}

/* The entry holds nothing more to write (it was written, or is dropped). */
static inline void c_set_clean(rdb_backend *b, centry *e)
{
    if (!e->dirty)
        return;
    e->dirty = false;
    b->c.n_dirty--;
    b->c.n_dirty_present -= e->present;
    c_table(b, e)->n_dirty--;
}

static inline void c_account_present(vcache *c, centry *e, bool present)
{
    if (e->dirty && e->present != present)
        c->n_dirty_present += present ? 1 : (size_t)-1;
    e->present = present;
}

/* Makes the value val[0..len) (which may point into the entry's own value), present. */
static void c_set(vcache *c, centry *e, const void *val, size_t len)
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

/* Appends val[0..len) to the value (val may point into it); the caller checked the size. */
static void c_append(vcache *c, centry *e, const void *val, size_t len)
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

/* Unlinks and frees e (clean or not: the caller wrote it or no longer needs it). */
static void c_remove(rdb_backend *b, centry *e)
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

/* Every entry, without writing anything (destroy, compact after a flush). */
static void c_clear(vcache *c)
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
    return err ? db_fail(b, err, what) : 0;
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

/* Writes every dirty entry, in one write batch; they stay cached, clean. */
static int c_flush(rdb_backend *b)
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
            c_remove(b, e);
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

/* The cache entry of the key in b->kbuf[0..kn), loaded from RocksDB on a miss (clean: present
 * or absent). Evicts first when over budget. */
static int c_load(rdb_table *t, size_t kn, centry **out)
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
    centry *e = c_find(c, h, b->kbuf, kn);
    if (RILL_LIKELY(e != NULL && !e->merge)) {
        e->ref = true;
        *out = e;
        return 0;
    }
    const void *v = NULL;
    size_t n = 0;
    int rc = bl_maybe(b, h) ? get_raw(t, kn, &v, &n) : 0;
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
            c_set(c, e, v, n);
        c_append(c, e, ops, n_ops);
        free(ops);
        c_account_present(c, e, true);
    } else {
        e = c_insert(c, h, b->kbuf, kn);
        if (rc == 1) {
            c_set(c, e, v, n);
            e->present = true;
        }
    }
    rocksdb_pinnableslice_destroy(b->got); /* copied: nothing to keep pinned */
    b->got = NULL;
    *out = e;
    return 0;
}

/* The cache entry of the key in b->kbuf[0..kn), new and absent on a miss (*fresh; no RocksDB
 * read: the caller overwrites it, or makes it pending appends). */
static centry *c_entry(rdb_table *t, size_t kn, int *rc, bool *fresh)
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
    centry *e = c_find(c, h, b->kbuf, kn);
    *fresh = !e;
    if (e)
        e->ref = true;
    else
        e = c_insert(c, h, b->kbuf, kn);
    return e;
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
    int rc = c_load(t, kn, &e);
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
    centry *e = c_entry(t, kn, &rc, &fresh);
    if (!e)
        return rc;
    e->merge = false; /* a put replaces pending appends with their list */
    c_set(&t->b->c, e, val, len);
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
    centry *e = c_entry(t, kn, &rc, &fresh);
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
        rc = c_load(t, kn, &e);
    } else {
        e = c_entry(t, kn, &rc, &fresh);
        if (e && fresh && bl_maybe(t->b, e->h))
            e->merge = true; /* RocksDB may hold a value: append to it blindly */
    }
    if (rc < 0)
        return rc;
    if ((size_t)e->vlen + len > UINT32_MAX)
        return RILL_ELIMIT;
    c_append(&t->b->c, e, val, len);
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
    return err ? db_fail(b, err, "iterate") : 0;
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
        int rc = c_flush(t->b);
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
    int rc = get_raw(t, kn, &v, &n);
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
    int rc = get_raw(t, kn, &v, &n); /* the contract wants to know whether it was there */
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
            rc = db_fail(b, err, "clear a map");
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
    if ((!*cursor || !t->clean_len) && t->n_dirty && c_flush(b) < 0)
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
            cached ? c_find(&b->c, rill__hash_bytes(kp, kn, 0), (const void *)kp, kn) : NULL;
        if (e && e->dirty)
            continue;
        if (expired(arg, vp, vn) && del_raw(b, kp, kn) == 0) {
            removed++;
            if (e)
                c_remove(b, e);
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

static void backend_unref(rdb_backend *b);
static void files_forget(rdb_backend *b);

static int rdb_snap_begin(rill__state_backend *bb, rill__state_snap **out)
{
    rdb_backend *b = (rdb_backend *)bb;
    *out = NULL;
    int rc = c_flush(b); /* the snapshot must hold every dirty value */
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
    backend_unref(b);
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

/* Closes the DB and removes its directory once neither the owner nor a view needs it. */
static void backend_unref(rdb_backend *b)
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
    files_forget(b);
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
        backend_unref(b);
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
        int rc = db_fail(b, err, "open");
        backend_unref(b);
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
    c_clear(&b->c);
    free(b->c.slots);
    b->c.slots = NULL;
    free(b->bloom);
    b->bloom = NULL;
    rocksdb_pinnableslice_destroy(b->got);
    b->kbuf = NULL;
    b->got = NULL;
    backend_unref(b); /* a view still being read keeps the DB */
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
 * Timers are entries of their own key range, after every table's:
 *
 *   [TIMER_TID u32][kg u16][domain u8][ts u64, sign bit flipped][key_len u32][key][ns] -> hash
 *
 * (big-endian, so that one (kg, domain) is a range ordered by ts, then key length, key bytes
 * and namespace bytes: rill__timer_order). They bypass the value cache: the timer service
 * keeps its own cache of the earliest ones.
 */

#define TIMER_TID  UINT32_C(0xfffffff0) /* beyond MAX_TABLES: the TTL filter leaves them alone */
#define TPFX_LEN   7                    /* tid, kg, domain */
#define THDR_LEN   (TPFX_LEN + 8 + 4)

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
    return err ? db_fail(b, err, "timer put") : 0;
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
        return db_fail(b, err, "timer get");
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

/* ---- native snapshots: RocksDB checkpoints, for incremental checkpoints -----------------------
 *
 * files_begin writes the dirty cached values, flushes the memtables (there is no WAL) and makes
 * a RocksDB checkpoint in the working directory: hard links to the live SST files, copies of
 * MANIFEST, CURRENT and OPTIONS. files_write then puts those files into the checkpoint's
 * directory. SST files are immutable and named by a number the DB never reuses, so an SST file
 * this instance's previous written snapshot also had is the same file: it is hard-linked from
 * that snapshot's directory instead of being written again, and every checkpoint directory
 * holds (links to) all of its files. The filesystem's link count is the reference count: a
 * file shared by several retained checkpoints stays until the last of them is removed, and
 * removing a checkpoint (subsumed, aborted) never touches another one's files. A link that
 * fails (the previous directory is gone, another filesystem, no hard links) falls back to a
 * copy, so the outcome is always a complete checkpoint; only its size differs.
 *
 * Manifest (little-endian): u32 version (2), u32 n_tables (the tables the files hold: ids
 * 0..n_tables-1), u32 n_files, then per file: u32 length and the file's name in the DB, u32
 * length and its name in the checkpoint directory, u64 size.
 */

#define MANIFEST_VERSION 2u

struct rill__state_files {
    rdb_backend *b;
    uint32_t n_tables;
    char *local; /* the RocksDB checkpoint: path/chk-<n> */
    file_rec *files;
    size_t n;
};

static void recs_free(file_rec *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].name);
        free(r[i].dest);
    }
    free(r);
}

static void files_forget(rdb_backend *b)
{
    recs_free(b->prev, b->n_prev);
    b->prev = NULL;
    b->n_prev = 0;
    free(b->prev_dir);
    b->prev_dir = NULL;
}

/* An SST file: immutable once written (the other files of a checkpoint are not). */
static bool is_sst(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".sst") == 0;
}

/* The previous snapshot's record of file name (an SST file of that size), or NULL. */
static const file_rec *prev_find(const rdb_backend *b, const char *name, int64_t size)
{
    if (!is_sst(name))
        return NULL;
    for (size_t i = 0; i < b->n_prev; i++)
        if (b->prev[i].size == size && !strcmp(b->prev[i].name, name))
            return &b->prev[i];
    return NULL;
}

static int list_files(rill__state_files *f, rill__err *err)
{
    DIR *d = opendir(f->local);
    if (!d)
        return rill__err_set(err, -errno, "state backend rocksdb of operator %s: %s: %s",
                             f->b->uid, f->local, strerror(errno));
    size_t cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *path = rill__xasprintf("%s/%s", f->local, de->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            rc = rill__err_set(err, RILL_ESTATE, "state backend rocksdb of operator %s: %s: "
                               "not a regular file", f->b->uid, path);
            free(path);
            break;
        }
        free(path);
        rill__grow((void **)&f->files, &cap, f->n + 1, sizeof *f->files);
        f->files[f->n++] = (file_rec){rill__xstrdup(de->d_name), NULL, (int64_t)st.st_size};
    }
    closedir(d);
    return rc;
}

static void rdb_files_end(rill__state_files *f)
{
    if (!f)
        return;
    rill__remove_tree(f->local);
    free(f->local);
    recs_free(f->files, f->n);
    rdb_backend *b = f->b;
    free(f);
    backend_unref(b);
}

static int rdb_files_begin(rill__state_backend *bb, rill__state_files **out)
{
    rdb_backend *b = (rdb_backend *)bb;
    *out = NULL;
    int rc = c_flush(b); /* the files must hold every dirty value */
    if (rc < 0)
        return rc;
    char *err = NULL;
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    rocksdb_flush(b->db, fo, &err);
    rocksdb_flushoptions_destroy(fo);
    if (err)
        return db_fail(b, err, "flush for a snapshot");
    rill__state_files *f = rill__xcalloc(1, sizeof *f);
    f->b = b;
    f->n_tables = (uint32_t)b->reg.n;
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    f->local = rill__xasprintf("%s/chk-%llu", b->path, (unsigned long long)++b->n_native);
    rocksdb_checkpoint_t *cp = rocksdb_checkpoint_object_create(b->db, &err);
    if (!err)
        rocksdb_checkpoint_create(cp, f->local, 0, &err);
    if (cp)
        rocksdb_checkpoint_object_destroy(cp);
    if (err) {
        rc = db_fail(b, err, "checkpoint");
        rdb_files_end(f);
        return rc;
    }
    rill__err e = {0};
    rc = list_files(f, &e);
    if (rc) {
        rill__last_error_set(rc, "%s", e.msg);
        rdb_files_end(f);
        return rc;
    }
    *out = f;
    return 0;
}

static int rdb_files_write(rill__state_files *f, const char *dir, const char *prefix,
                           rill__buf *manifest, rill__files_size *size, rill__err *err)
{
    rdb_backend *b = f->b;
    pthread_mutex_lock(&b->files_mu);
    file_rec *recs = rill__xcalloc(f->n ? f->n : 1, sizeof *recs);
    size_t start = manifest->len;
    rill__enc e;
    rill__enc_init(&e, manifest);
    rill__enc_u32(&e, MANIFEST_VERSION);
    rill__enc_u32(&e, f->n_tables);
    rill__enc_u32(&e, (uint32_t)f->n);
    int rc = 0;
    size_t i = 0;
    for (; i < f->n && rc == 0; i++) {
        const file_rec *src = &f->files[i];
        char *dest = rill__xasprintf("%s%s", prefix, src->name);
        char *to = rill__xasprintf("%s/%s", dir, dest);
        recs[i] = (file_rec){rill__xstrdup(src->name), dest, src->size};
        const file_rec *old = b->prev_dir ? prev_find(b, src->name, src->size) : NULL;
        bool linked = false;
        if (old) {
            char *from = rill__xasprintf("%s/%s", b->prev_dir, old->dest);
            linked = link(from, to) == 0;
            free(from);
        }
        if (!linked) {
            char *from = rill__xasprintf("%s/%s", f->local, src->name);
            int64_t n = 0;
            rc = rill__copy_file(from, to, &n);
            if (rc)
                rill__err_set(err, rc, "state backend rocksdb of operator %s: copying %s to %s: %s",
                              b->uid, from, to, rill_strerror(rc));
            else if (n != src->size)
                rc = rill__err_set(err, RILL_ESTATE, "state backend rocksdb of operator %s: %s "
                                   "changed while copied (%lld of %lld bytes)", b->uid, from,
                                   (long long)n, (long long)src->size);
            free(from);
            size->new_bytes += n;
            size->n_new++;
        }
        size->full_bytes += src->size;
        size->n_files++;
        rill__enc_str(&e, "name", src->name, SIZE_MAX);
        rill__enc_str(&e, "dest", dest, SIZE_MAX);
        rill__enc_u64(&e, (uint64_t)src->size);
        free(to);
    }
    if (rc == 0) { /* the next snapshot links from this one */
        files_forget(b);
        b->prev_dir = rill__xstrdup(dir);
        b->prev = recs;
        b->n_prev = f->n;
    } else {
        recs_free(recs, i);
        manifest->len = start;
    }
    pthread_mutex_unlock(&b->files_mu);
    return rc;
}

/* Reads a manifest into recs (names checked). RILL_ECORRUPT with err. */
static int manifest_read(rdb_backend *b, const void *data, size_t len, file_rec **out, size_t *n_out,
                         uint32_t *n_tables_out, rill__err *err)
{
    rill__dec d;
    rill__dec_init(&d, data, len);
    *out = NULL;
    *n_out = 0;
    uint32_t version = rill__dec_u32(&d, "version");
    if (d.rc == 0 && version != MANIFEST_VERSION)
        return rill__err_set(err, RILL_ENOTSUP, "state backend rocksdb of operator %s: "
                             "snapshot manifest version %u (this build reads %u)", b->uid,
                             version, MANIFEST_VERSION);
    *n_tables_out = rill__dec_u32(&d, "tables");
    uint32_t n = rill__dec_u32(&d, "files");
    if (d.rc || n > len / 16 || *n_tables_out > MAX_TABLES)
        goto bad;
    file_rec *recs = rill__xcalloc(n ? n : 1, sizeof *recs);
    size_t i = 0;
    for (; i < n; i++) {
        char *names[2] = {NULL, NULL};
        for (int k = 0; k < 2; k++) {
            const uint8_t *p;
            size_t l;
            rill__dec_bytes(&d, k ? "dest" : "name", SIZE_MAX, &p, &l);
            if (d.rc)
                break;
            names[k] = rill__xstrndup((const char *)p, l);
            if (rill__ckpt_check_name(names[k], l, "file name", NULL) != 0 || names[k][0] == '_') {
                free(names[k]);
                names[k] = NULL;
                break;
            }
        }
        uint64_t sz = rill__dec_u64(&d, "size");
        if (d.rc || !names[0] || !names[1] || sz > INT64_MAX) {
            free(names[0]);
            free(names[1]);
            recs_free(recs, i);
            goto bad;
        }
        recs[i] = (file_rec){names[0], names[1], (int64_t)sz};
    }
    if (rill__dec_left(&d) != 0) {
        recs_free(recs, n);
        goto bad;
    }
    *out = recs;
    *n_out = n;
    return 0;
bad:
    return rill__err_set(err, RILL_ECORRUPT, "state backend rocksdb of operator %s: corrupt "
                         "snapshot manifest (%zu bytes)", b->uid, len);
}

/* Nothing was ever written to the DB (tables may be registered: the caller checks that the
 * files' tables begin with them, in their order, which is their ids). */
static bool db_empty(rdb_backend *b)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator(b->db, b->ropts);
    rocksdb_iter_seek_to_first(it);
    bool empty = !rocksdb_iter_valid(it);
    rocksdb_iter_destroy(it);
    return empty;
}

/* Deletes (range deletes) every key group outside the instance's range, of the tables 0..n-1
 * and of the timers: files of another parallelism's instance bring their key groups along. */
static int keep_own_range(rdb_backend *b, uint32_t n_tables)
{
    int first = b->base.cfg.kg_first, last = b->base.cfg.kg_last;
    if (first == 0 && last == 0xffff)
        return 0;
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    for (uint32_t i = 0; i <= n_tables; i++) {
        uint32_t tid = i < n_tables ? i : TIMER_TID;
        unsigned char lo[PFX_LEN], hi[PFX_LEN];
        pfx(lo, tid, 0);
        pfx(hi, tid, first);
        if (first > 0)
            rocksdb_writebatch_delete_range(wb, (const char *)lo, PFX_LEN, (const char *)hi,
                                            PFX_LEN);
        pfx(lo, tid, last + 1 > 0xffff ? 0xffff : last + 1);
        pfx(hi, tid + 1, 0);
        if (last < 0xffff)
            rocksdb_writebatch_delete_range(wb, (const char *)lo, PFX_LEN, (const char *)hi,
                                            PFX_LEN);
    }
    char *err = NULL;
    rocksdb_write(b->db, b->wopts, wb, &err);
    rocksdb_writebatch_destroy(wb);
    return err ? db_fail(b, err, "delete the key groups of other instances") : 0;
}

/* Opens the DB in b->dbpath (which must hold one, or be empty). */
static int reopen(rdb_backend *b)
{
    char *err = NULL;
    rocksdb_options_set_error_if_exists(b->opts, 0);
    b->db = rocksdb_open(b->opts, b->dbpath, &err);
    rocksdb_options_set_error_if_exists(b->opts, 1);
    return err ? db_fail(b, err, "open") : 0;
}

static int rdb_files_restore(rill__state_backend *bb, const char *dir, const void *manifest,
                             size_t len, rill__err *err)
{
    rdb_backend *b = (rdb_backend *)bb;
    if (b->c.n || !db_empty(b))
        return rill__err_set(err, RILL_EEXIST, "state backend rocksdb of operator %s: a restore "
                             "from files needs an instance that holds nothing yet", b->uid);
    file_rec *recs;
    size_t n;
    uint32_t n_tables = 0;
    int rc = manifest_read(b, manifest, len, &recs, &n, &n_tables, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&b->files_mu);
    rocksdb_close(b->db);
    b->db = NULL;
    rill__remove_tree(b->dbpath);
    rc = rill__mkdirs(b->dbpath, 0755);
    if (rc)
        rill__err_set(err, rc, "state backend rocksdb of operator %s: %s: %s", b->uid, b->dbpath,
                      rill_strerror(rc));
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *from = rill__xasprintf("%s/%s", dir, recs[i].dest);
        char *to = rill__xasprintf("%s/%s", b->dbpath, recs[i].name);
        struct stat st;
        if (stat(from, &st) != 0)
            rc = rill__err_set(err, errno == ENOENT ? RILL_ECORRUPT : -errno,
                               "state backend rocksdb of operator %s: snapshot file %s: %s",
                               b->uid, from, errno == ENOENT ? "missing" : strerror(errno));
        else if ((int64_t)st.st_size != recs[i].size)
            rc = rill__err_set(err, RILL_ECORRUPT, "state backend rocksdb of operator %s: "
                               "snapshot file %s has %lld bytes, its manifest says %lld",
                               b->uid, from, (long long)st.st_size, (long long)recs[i].size);
        /* the DB may share SST files (immutable) with the checkpoint; the others it writes */
        else if (!is_sst(recs[i].name) || link(from, to) != 0) {
            rc = rill__copy_file(from, to, NULL);
            if (rc)
                rill__err_set(err, rc, "state backend rocksdb of operator %s: copying %s: %s",
                              b->uid, from, rill_strerror(rc));
        }
        free(from);
        free(to);
    }
    if (rc == 0 && (rc = reopen(b)) != 0)
        rill__err_set(err, rc, "%s", rill_last_error());
    if (rc == 0 && (rc = keep_own_range(b, n_tables)) != 0)
        rill__err_set(err, rc, "%s", rill_last_error());
    if (rc) { /* an empty DB again: the instance stays usable (and fresh) */
        if (b->db)
            rocksdb_close(b->db);
        b->db = NULL;
        rill__remove_tree(b->dbpath);
        rill__mkdirs(b->dbpath, 0755);
        if (reopen(b) != 0)
            rill__log(RILL_LOG_ERROR, "%s", rill_last_error());
        recs_free(recs, n);
    } else { /* the next snapshot links what it still has from the one restored */
        /* the filter of written keys cannot vouch for keys that came in files: every miss
         * reads RocksDB from now on (a false positive only costs a read) */
        memset(b->bloom, 0xff, b->n_bloom * 64);
        files_forget(b);
        b->prev_dir = rill__xstrdup(dir);
        b->prev = recs;
        b->n_prev = n;
    }
    pthread_mutex_unlock(&b->files_mu);
    return rc;
}

int rill__rocksdb_compact(rill__state_backend *bb)
{
    if (!bb || bb->ops != &rill__rocksdb_backend_ops)
        return RILL_EINVAL;
    rdb_backend *b = (rdb_backend *)bb;
    int rc = c_flush(b); /* the filter sees only what is written; and what it drops must not */
    if (rc < 0)          /* be served from the cache afterwards */
        return rc;
    c_clear(&b->c);
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
    .files_begin = rdb_files_begin,
    .files_write = rdb_files_write,
    .files_end = rdb_files_end,
    .files_restore = rdb_files_restore,
    .timer_put = rdb_timer_put,
    .timer_get = rdb_timer_get,
    .timer_del = rdb_timer_del,
    .timer_scan = rdb_timer_scan,
};
