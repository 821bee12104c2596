/*
 * state.h - the state layer's interface: keyed state descriptors, the state backend interface
 * (rill__state_backend_ops), the heap backend and the RocksDB backend. Depends on base and data.
 */
#ifndef RILL_STATE_H
#define RILL_STATE_H

#include "data/data.h"

typedef enum rill__state_kind {
    RILL_STATE_VALUE = 1,
    RILL_STATE_LIST,
    RILL_STATE_MAP,
    RILL_STATE_REDUCING,
    RILL_STATE_AGGREGATING,
} rill__state_kind;

/* Public opaque rill_state_desc: an immutable description, shared by every subtask. */
struct rill_state_desc {
    int id; /* dense index within its env: operators keep an array of tables by id */
    char *name;
    rill__state_kind kind;
    size_t value_size; /* 0: variable length (LIST: element size; AGGREGATING: acc size) */
    /* REDUCING */
    rill_reduce_fn reduce;
    void *reduce_user;
    /* AGGREGATING */
    rill_aggregate agg;
    /* TTL: 0 = none */
    int64_t ttl_ms;
    rill_ttl_update ttl_update;
};

/*
 * The state of one key in one namespace. key is the canonical key bytes (data.h), hash their
 * hash and kg the key group it falls in; ns is the namespace (a window, say), empty when the
 * state has none. Borrowed for the duration of a call.
 */
typedef struct rill__state_key {
    const void *key;
    size_t key_len;
    uint64_t hash;
    int kg;
    const void *ns;
    size_t ns_len;
} rill__state_key;

typedef struct rill__state_backend rill__state_backend;

/* A backend instance's size: entries (an estimate for a disk-based one), bytes in memory, bytes
 * on disk. */
typedef struct rill__state_usage {
    int64_t keys, memory_bytes, disk_bytes;
} rill__state_usage;
/* Never defined: each backend casts it to its own table struct. */
typedef struct rill__state_table rill__state_table;
/* Never defined: a backend's asynchronous snapshot view (see snap_begin). */
typedef struct rill__state_snap rill__state_snap;
/* Never defined: a backend's native snapshot, its own files (see files_begin). */
typedef struct rill__state_files rill__state_files;

/* What a native snapshot's files took: every file it needs (the full size), and the bytes
 * written anew for it (the rest were already in an earlier checkpoint: the incremental size). */
typedef struct rill__files_size {
    int64_t full_bytes, new_bytes;
    int n_files, n_new;
} rill__files_size;

/* What a backend instance serves: one operator subtask's key-group range. */
typedef struct rill__state_backend_cfg {
    int kg_first, kg_last; /* inclusive range of key groups owned */
    int max_parallelism;
    const char *operator_uid; /* for messages */
    int subtask;
    /* a backend that keeps files: the directory it makes its own working directory in (a
     * fresh one per instance, removed by destroy); NULL: $TMPDIR or /tmp */
    const char *dir;
    int64_t memory_bytes; /* what the instance may use (caches, buffers); 0: its default */
} rill__state_backend_cfg;

/* Called for each entry of a table during iteration; nonzero stops it and is returned. */
typedef int (*rill__state_visit_fn)(void *arg, const rill__state_key *k, const void *val,
                                    size_t val_len);

/*
 * A keyed state backend. All calls of one instance come from its task's thread. A key given to
 * value_get/put/del must fall in the instance's key-group range.
 * Returned value pointers are borrowed until the next call on the same backend instance.
 */
typedef struct rill__state_backend_ops {
    const char *name; /* "heap", "rocksdb" */
    int (*create)(const rill__state_backend_cfg *cfg, rill__state_backend **out);
    void (*destroy)(rill__state_backend *b);
    /* The table for desc, registered on first use. RILL_EINVAL if the same name was registered
     * with another kind or value size. */
    int (*table)(rill__state_backend *b, const rill_state_desc *desc, rill__state_table **out);
    /* 1 and the value when present, 0 when absent. */
    int (*value_get)(rill__state_table *t, const rill__state_key *k, const void **val_out,
                     size_t *len_out);
    int (*value_put)(rill__state_table *t, const rill__state_key *k, const void *val, size_t len);
    /* 0 whether or not it was present. On a map table: removes the whole map of k. */
    int (*value_del)(rill__state_table *t, const rill__state_key *k);
    /* Appends len bytes to the value (creating it when absent): list state without a
     * read-modify-write of the whole list. */
    int (*value_append)(rill__state_table *t, const rill__state_key *k, const void *val,
                        size_t len);
    /* Every entry of key group kg (order unspecified); the table must not change meanwhile.
     * Snapshots rely on this contract: a value entry is visited once with its value bytes; a
     * map entry once per user key, val = [ukey_len u32, host order][ukey][value]. */
    int (*iterate_kg)(rill__state_table *t, int kg, rill__state_visit_fn fn, void *arg);

    /* Map state: entries (user key -> value) under one (key, namespace). */
    int (*map_get)(rill__state_table *t, const rill__state_key *k, const void *ukey,
                   size_t ukey_len, const void **val_out, size_t *len_out); /* 1 or 0 */
    int (*map_put)(rill__state_table *t, const rill__state_key *k, const void *ukey,
                   size_t ukey_len, const void *val, size_t len);
    int (*map_remove)(rill__state_table *t, const rill__state_key *k, const void *ukey,
                      size_t ukey_len); /* 1 when it was there, 0 when not */
    /* fn(arg, ukey, ukey_len, val, len) for every entry; nonzero stops it and is returned. */
    int (*map_iterate)(rill__state_table *t, const rill__state_key *k,
                       int (*fn)(void *arg, const void *ukey, size_t ukey_len, const void *val,
                                 size_t len),
                       void *arg);
    /* Removes the whole map of (key, namespace). */
    int (*map_clear)(rill__state_table *t, const rill__state_key *k);

    /* Incremental cleanup: looks at up to n entries from *cursor on (0 starts over; the next
     * position is stored back, 0 after a full round) and removes those for which expired()
     * returns true. For TTL: value bytes start with the 8-byte last-access time. Map entries
     * are checked one by one. Returns the number removed. */
    int64_t (*cleanup_step)(rill__state_table *t, uint64_t *cursor, int n,
                            bool (*expired)(void *arg, const void *val, size_t len), void *arg);
    /* A hint that k will be accessed soon in every registered table (may do nothing). */
    void (*prefetch)(rill__state_backend *b, const rill__state_key *k);
    /* Number of entries and approximate bytes used by the whole backend instance. */
    void (*stats)(rill__state_backend *b, int64_t *entries_out, int64_t *bytes_out);
    /* Every registered table, in registration order, with what it was registered with (the
     * TTL of its latest registration); nonzero from fn stops it and is returned. Snapshots list
     * the tables with it. A restore registers a snapshot's tables before the operator does, by
     * name with a descriptor whose id is -1: table() must find such a table again by name when
     * the operator registers its own descriptor later. */
    int (*visit_tables)(rill__state_backend *b,
                        int (*fn)(void *arg, const char *name, rill__state_kind kind,
                                  size_t value_size, int64_t ttl_ms, rill__state_table *t),
                        void *arg);

    /*
     * Asynchronous snapshots (NULL snap_begin: the backend has none, and a snapshot iterates
     * the live tables on the owner's thread). snap_begin, on the owner's thread, starts a view
     * of every table registered so far as it is now, and must be cheap: the owner goes on
     * changing the backend at once. One other thread then reads the view with snap_iterate_kg
     * (table: the index in visit_tables order at snap_begin; the same contract as iterate_kg;
     * each (table, kg) at most once) and releases it with snap_end (exactly once, also when it
     * iterated nothing). A view begun while the previous one is still being read is fine: the
     * backend keeps what the older one needs. destroy may come before snap_end.
     */
    int (*snap_begin)(rill__state_backend *b, rill__state_snap **out);
    int (*snap_iterate_kg)(rill__state_snap *s, size_t table, int kg, rill__state_visit_fn fn,
                           void *arg);
    void (*snap_end)(rill__state_snap *s);

    /* What the instance holds now (may be NULL: stats gives the keys and the memory). Cheap:
     * called at every checkpoint's barrier. */
    void (*usage)(rill__state_backend *b, struct rill__state_usage *out);

    /*
     * Native snapshots, for incremental checkpoints (NULL files_begin: the backend has none).
     * files_begin, on the owner's thread, fixes the instance's state in files of its own (for
     * RocksDB: its checkpoint, hard links to the immutable SST files); it covers every table
     * registered so far, whose registration order the files keep (a restore must register
     * them in that order). One other thread then calls files_write once: it puts the files
     * into directory dir (which exists) as "<prefix><name>", hard-linking each one that the
     * instance's previous written snapshot put into a directory that still holds it (an
     * unchanged file is not written again: that is the incremental part) and copying the
     * others, fsynced; appends the manifest, which files_restore reads, to manifest; and adds
     * the sizes to *size. files_end releases it (exactly once; destroy may come first).
     * Errors: -errno or RILL_ESTATE, with the message in err.
     */
    int (*files_begin)(rill__state_backend *b, rill__state_files **out);
    int (*files_write)(rill__state_files *f, const char *dir, const char *prefix,
                       rill__buf *manifest, rill__files_size *size, rill__err *err);
    void (*files_end)(rill__state_files *f);
    /*
     * An instance that holds nothing yet (nothing written; tables may be registered, and the
     * caller checks that the snapshot's tables begin with them, in the same order) becomes the
     * state a native snapshot's manifest describes, its files in dir (linked or copied in; dir
     * is left as it is), less the key groups outside its own range (the snapshot's may differ:
     * rescaling). The caller then registers the snapshot's tables in its order. RILL_EEXIST when the instance holds something
     * (nothing changed); RILL_ECORRUPT for a bad manifest or a file missing or of the wrong
     * size; -errno; the message in err.
     */
    int (*files_restore)(rill__state_backend *b, const char *dir, const void *manifest,
                         size_t len, rill__err *err);
    /* Whether a restore could take the files a manifest names (without an instance): each in
     * dir, of its size. 0; RILL_ECORRUPT (a bad manifest, a file missing or of another size,
     * the message naming it and operator uid); -errno. A checkpoint that fails this is skipped
     * for the one before it before any task starts. */
    int (*files_check)(const char *dir, const void *manifest, size_t len, const char *uid,
                       rill__err *err);

    /*
     * Timers kept by the backend (NULL timer_put: none; the timer service then keeps them in
     * memory). A timer is (domain 0..1, key, namespace, ts), stored with the key's hash; a put
     * of one already there changes nothing. Within one (domain, key group) timers are ordered
     * by ts, then key length, then key bytes, then namespace bytes (memcmp; a prefix first):
     * rill__timer_order. timer_scan visits those of (domain, kg) in that order from the first
     * one after (after_ts, after) (after NULL: from the first), at most max of them (0: all),
     * through view
     * (from snap_begin; NULL: the live state), with fn(arg, ts, key) until fn returns nonzero
     * (returned). Owner's thread, except a scan through a view (its reader's).
     */
    int (*timer_put)(rill__state_backend *b, int domain, const rill__state_key *k, int64_t ts);
    /* 1 when the timer is there, 0 when not */
    int (*timer_get)(rill__state_backend *b, int domain, const rill__state_key *k, int64_t ts);
    int (*timer_del)(rill__state_backend *b, int domain, const rill__state_key *k, int64_t ts);
    int (*timer_scan)(rill__state_backend *b, rill__state_snap *view, int domain, int kg,
                      int64_t after_ts, const rill__state_key *after, size_t max,
                      int (*fn)(void *arg, int64_t ts, const rill__state_key *k), void *arg);
} rill__state_backend_ops;

/* The order of timers within one (domain, key group) in a backend (see timer_put): < 0, 0,
 * > 0 as (ts_a, a) sorts before, with, or after (ts_b, b). */
int rill__timer_order(int64_t ts_a, const rill__state_key *a, int64_t ts_b,
                      const rill__state_key *b);

/* Every backend instance starts with this header. */
struct rill__state_backend {
    const rill__state_backend_ops *ops;
    rill__state_backend_cfg cfg;
};

extern const rill__state_backend_ops rill__heap_backend_ops;
/* RocksDB (rocksdb.c): one DB per instance in a fresh directory under cfg.dir, memory bounded
 * by cfg.memory_bytes, no WAL (checkpoints make state durable); snapshots are RocksDB
 * snapshots; stats are RocksDB's estimates (a map counts one entry per user key). */
extern const rill__state_backend_ops rill__rocksdb_backend_ops;
/* A full manual compaction of a rocksdb backend instance (its TTL filter runs), on the owner's
 * thread; for tests and tools. RILL_EINVAL for another backend. */
int rill__rocksdb_compact(rill__state_backend *b);

/* ---- what backends share: their state tables' registry (tables.c) -------------------------- */

/* The head every backend's state table starts with (its first member). */
typedef struct rill__table_head {
    char *name;
    rill__state_kind kind;
    size_t value_size; /* the descriptor's, checked at registration */
    size_t fixed_len;  /* every value_put must be this long (TTL prefix included); 0: any */
    bool ttl;          /* values carry an 8-byte last-access prefix */
    int64_t ttl_ms;    /* of the latest registration, for visit_tables */
    size_t idx;        /* in registration order: the index visit_tables and snapshots use */
} rill__table_head;

/* A backend instance's tables: in registration order, and by descriptor id. */
typedef struct rill__table_reg {
    rill__table_head **tables;
    size_t n, cap;
    rill__table_head **by_id; /* NULL holes */
    size_t cap_by_id;
} rill__table_reg;

/*
 * The table desc names (by its id, else by name: a restore registers a snapshot's tables with
 * id -1 before the operator registers its own descriptor). Registered: checked against desc
 * (kind, value size, TTL: RILL_EINVAL with the reason in rill__last_error), the operator's own
 * descriptor sets the TTL, its id is bound; 1 and *out. Not registered: 0 when backend (its
 * name, for messages) can keep desc's kind; the caller makes the table, fills its head with
 * rill__table_head_init and adds it with rill__table_reg_add.
 */
int rill__table_reg_find(rill__table_reg *r, const rill_state_desc *desc, const char *backend,
                         const char *uid, rill__table_head **out);
/* Fills h from desc (the name copied). */
void rill__table_head_init(rill__table_head *h, const rill_state_desc *desc);
void rill__table_head_fini(rill__table_head *h);
/* Registers h (made for desc) last: its idx, and desc's id. */
void rill__table_reg_add(rill__table_reg *r, rill__table_head *h, const rill_state_desc *desc);
void rill__table_reg_free(rill__table_reg *r); /* the arrays: the tables are the backend's */
/* visit_tables over r's tables (each passed as the table its head begins). */
int rill__table_reg_visit(const rill__table_reg *r,
                          int (*fn)(void *arg, const char *name, rill__state_kind kind,
                                    size_t value_size, int64_t ttl_ms, rill__state_table *t),
                          void *arg);

/* The backend ops named "heap" or "rocksdb", or NULL. */
const rill__state_backend_ops *rill__state_backend_find(const char *name);
/* b's usage: its usage op, or what stats says (entries, memory bytes, nothing on disk). */
void rill__state_backend_usage(rill__state_backend *b, rill__state_usage *out);

#endif /* RILL_STATE_H */
