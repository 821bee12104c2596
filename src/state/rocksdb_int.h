/*
 * rocksdb_int.h - state layer, private to the RocksDB backend: its structs and what its three
 * files share. rocksdb.c is the backend (the instance, the key layout, point reads and writes,
 * scans, map state, tables, the TTL compaction filter, the merge operator, cleanup, snapshot
 * views, timers); rocksdb_cache.c the write-back value cache in front of RocksDB and the bloom
 * filter of written keys; rocksdb_files.c native snapshots (RocksDB checkpoints, for
 * incremental checkpoints) and their manifest.
 */
#ifndef RILL_ROCKSDB_INT_H
#define RILL_ROCKSDB_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include <rocksdb/c.h>

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

/* The timers' key range, after every table's (see the timers in rocksdb.c). */
#define TIMER_TID UINT32_C(0xfffffff0) /* beyond MAX_TABLES: the TTL filter leaves them alone */

typedef struct rdb_backend rdb_backend;

/* The value cache (rocksdb_cache.c says how it works): an entry, and the table of them. */
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

/* The i-th table registered (its head is its first member). */
static inline rdb_table *table_at(const rdb_backend *b, size_t i)
{
    return (rdb_table *)(void *)b->reg.tables[i];
}

/* RocksDB counts into its perf context by default (a thread-local, reached through
 * __tls_get_addr from a shared library at every key comparison): off on the calling thread
 * (a flag per file that calls it: turning it off twice does no harm). */
static inline void perf_off(void)
{
    static _Thread_local bool off;
    if (RILL_UNLIKELY(!off)) {
        rocksdb_set_perf_level(rocksdb_disable);
        off = true;
    }
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

/* ---- the value cache's bookkeeping (rocksdb_cache.c), inline for the per-record path ---- */

static inline rdb_table *c_table(rdb_backend *b, const centry *e)
{
    return table_at(b, rd_be32(e->key));
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

/* ---- rocksdb.c ------------------------------------------------------------------------------ */

/* RILL_EIO with RocksDB's message (freed here) and what was being done. */
int rill__rdb_fail(rdb_backend *b, char *err, const char *what);
/* 1 and the value of the key in b->kbuf[0..kn) (borrowed until the next get) when present, 0
 * when absent. */
int rill__rdb_get_raw(rdb_table *t, size_t kn, const void **val_out, size_t *len_out);
/* Closes the DB and removes its directory once neither the owner nor a view needs it. */
void rill__rdb_unref(rdb_backend *b);

/* ---- rocksdb_cache.c: the bloom filter of keys ever written, the value cache -------------- */

/* False: the key of hash h was never written to RocksDB (value tables). */
bool rill__rdb_bloom_maybe(const rdb_backend *b, uint64_t h);
/* The entry of key[0..kn) (hash h), or NULL. */
centry *rill__rdb_cache_find(const vcache *c, uint64_t h, const unsigned char *key, size_t kn);
/* Makes the value val[0..len) (which may point into the entry's own value), present. */
void rill__rdb_cache_set(vcache *c, centry *e, const void *val, size_t len);
/* Appends val[0..len) to the value (val may point into it); the caller checked the size. */
void rill__rdb_cache_append(vcache *c, centry *e, const void *val, size_t len);
/* Unlinks and frees e (clean or not: the caller wrote it or no longer needs it). */
void rill__rdb_cache_remove(rdb_backend *b, centry *e);
/* Every entry, without writing anything (destroy, compact after a flush). */
void rill__rdb_cache_clear(vcache *c);
/* Writes every dirty entry, in one write batch; they stay cached, clean. */
int rill__rdb_cache_flush(rdb_backend *b);
/* The cache entry of the key in b->kbuf[0..kn), loaded from RocksDB on a miss (clean: present
 * or absent). Evicts first when over budget. */
int rill__rdb_cache_load(rdb_table *t, size_t kn, centry **out);
/* The cache entry of the key in b->kbuf[0..kn), new and absent on a miss (*fresh; no RocksDB
 * read: the caller overwrites it, or makes it pending appends). */
centry *rill__rdb_cache_entry(rdb_table *t, size_t kn, int *rc, bool *fresh);

/* ---- rocksdb_files.c: native snapshots ---------------------------------------------------- */

/* The state backend calls of the same names (state.h). */
int rill__rdb_files_begin(rill__state_backend *bb, rill__state_files **out);
int rill__rdb_files_write(rill__state_files *f, const char *dir, const char *prefix,
                          rill__buf *manifest, rill__files_size *size, rill__err *err);
void rill__rdb_files_end(rill__state_files *f);
int rill__rdb_files_check(const char *dir, const void *manifest, size_t len, const char *uid,
                          rill__err *err);
int rill__rdb_files_restore(rill__state_backend *bb, const char *dir, const void *manifest,
                            size_t len, rill__err *err);
/* Drops the record of the last written snapshot (the next one copies every file). */
void rill__rdb_files_forget(rdb_backend *b);

#endif
