/*
 * snapshot.h - ops layer: the canonical snapshot of a keyed operator instance (its keyed state
 * and timers, per key group, backend-independent, rescalable) and a small container of named
 * blobs for non-keyed operator state (a source's position). Included by the runtime, which
 * puts the bytes into checkpoint and savepoint files.
 */
#ifndef RILL_SNAPSHOT_H
#define RILL_SNAPSHOT_H

#include "ops.h"

/*
 * ---- keyed snapshot, format version 1 ---------------------------------------------------------
 *
 * Only logical contents: table names and kinds, key / namespace / value bytes, timers. Any
 * backend writes and reads the same bytes through rill__state_backend_ops. Every integer is
 * little-endian; every byte string is a u32 length and the bytes. Offsets are from the start of
 * the snapshot.
 *
 *   header   u32 magic "RLKS" (52 4C 4B 53)   u32 version (1)
 *            u32 max_parallelism              u32 kg_first   u32 kg_last  (the writer's range)
 *            u32 n_tables, then per table (the catalog, registration order):
 *                bytes name (1..1024 bytes, no NUL)   u32 kind (rill__state_kind: VALUE 1,
 *                LIST 2, MAP 3, REDUCING 4, AGGREGATING 5)   u64 value_size   i64 ttl_ms (0: none)
 *   sections one per key group holding any entry or timer, ascending kg (empty ones omitted):
 *            u32 kg   u32 n_groups, then per table with entries in kg (ascending catalog index):
 *                u32 table (catalog index)   u64 n_entries (> 0), then per entry:
 *                    bytes key   bytes namespace   bytes value
 *            u64 n_timers, then per timer:
 *                u8 domain (rill_time_domain: 0 event, 1 processing)   i64 ts
 *                bytes key   bytes namespace
 *   index    u32 n_sections, then per section (ascending kg):
 *                u32 kg   u32 crc32c of the section's bytes   u64 offset   u64 length
 *   trailer  (the last 24 bytes) u64 index offset   u32 header length   u32 crc32c of the
 *            header   u32 crc32c of the index   u32 magic "RLKE" (52 4C 4B 45)
 *
 * Keys are the canonical key bytes (data.h); the key group is recomputed from them on restore
 * (rill__hash_bytes(key, len, 0), rill__key_group) and must be the section's. Values are the
 * bytes the ops layer stores: for a table with a TTL they begin with the 8-byte last-access
 * time; a list is its elements back to back; a map entry is one user key of one (key,
 * namespace): value = [u32 ukey_len][ukey][user value]. Value bytes themselves (TTL prefix,
 * numbers put by rill_value_put_*) are in host order: rill runs on little-endian hosts only.
 *
 * A reader needs only the trailer, the header, the index and the sections of the key groups it
 * restores: at a new parallelism each new instance reads its key groups from every old
 * instance's snapshot whose range overlaps its own.
 */

/* Appends the snapshot of key groups [kg_first, kg_last] (within the backend's range) of b
 * and timers (NULL: none) to out. The backend must have a max parallelism. 0; or RILL_EINVAL
 * for a bad range, RILL_ELIMIT for a field over 4 GiB, or what the backend's iteration
 * returned, with the message in err (may be NULL) and out as it was before the call. */
int rill__keyed_snapshot(rill__state_backend *b, rill__timer_service *timers, int kg_first,
                         int kg_last, rill__buf *out, rill__err *err);

/*
 * The same snapshot in two steps, so that the owner of b and timers goes on at once: begin
 * (on the owner's thread) takes the catalog and starts the backend's and the timer service's
 * views (rill__state_backend_ops.snap_begin, rill__timers_snap_begin; a backend without views
 * is written out right there); write, on any one thread, appends the snapshot to out (once;
 * errors as above; out as it was on failure) and ends the views; free ends them too when the
 * snapshot was never written, so it must always be called. The owner may change b and timers
 * meanwhile, and may even free them first: they keep what the snapshot needs.
 */
typedef struct rill__ksnap rill__ksnap;
int rill__ksnap_begin(rill__state_backend *b, rill__timer_service *timers, int kg_first,
                           int kg_last, rill__ksnap **out, rill__err *err);
int rill__ksnap_write(rill__ksnap *ks, rill__buf *out, rill__err *err);
void rill__ksnap_free(rill__ksnap *ks); /* NULL-safe */

/*
 * ---- native keyed snapshots (incremental checkpoints), format version 1 ----------------------
 *
 * A backend with native snapshots (files_begin: RocksDB) keeps its entries in files of its
 * own; the snapshot holds where they are, and the rest in canonical form. Little-endian:
 *
 *   u32 magic "RLKN" (52 4C 4B 4E)   u32 version (1)   bytes backend name ("rocksdb")
 *   u64 length, the backend's manifest (its files: names in the directory beside the snapshot)
 *   u64 length, a canonical snapshot (above) of the catalog and the timers, without entries
 *   u32 crc32c of everything before it
 *
 * The files are put in a checkpoint's directory by rill__ksnap_write_files; unchanged ones are
 * hard links to an earlier checkpoint's (see rill__state_backend_ops.files_write). A restore
 * needs that directory (rill__keyed_restore_dir): the same backend at the same key groups takes
 * the files as they are; any other (rescaling, another backend) reads them through a temporary
 * instance of the snapshot's backend. Savepoints are always canonical.
 */

/* begin for a native snapshot of the whole key-group range of b; a canonical one when the
 * backend has no native snapshots. rill__ksnap_is_native tells which. */
int rill__ksnap_begin_native(rill__state_backend *b, rill__timer_service *timers,
                             rill__ksnap **out, rill__err *err);
bool rill__ksnap_is_native(const rill__ksnap *ks);
/* write, with the directory a native snapshot's files go to (which exists) and the prefix of
 * their names there (unique per snapshot in dir); their sizes are added to *size (may be
 * NULL). A canonical snapshot ignores them; a native one fails (RILL_EINVAL) without dir.
 * rill__ksnap_write(ks, out, err) is this without a directory. */
int rill__ksnap_write_files(rill__ksnap *ks, rill__buf *out, const char *dir, const char *prefix,
                            rill__files_size *size, rill__err *err);
/* Bytes the snapshot will take, about (to reserve them). */
size_t rill__ksnap_size_hint(const rill__ksnap *ks);

/*
 * Puts the entries and timers of the key groups in [kg_first, kg_last] (within b's range and
 * the timer service's) that the snapshot holds back into b (value_put, map_put) and timers
 * (rill__timers_register; NULL when the snapshot has no timers there). Registers the
 * snapshot's tables by name with descriptors of id -1, so that the operator's own descriptors
 * find them when it registers them later. Called once per source snapshot; key groups
 * outside the snapshot's range are left alone. Everything read is checked first, so on
 * RILL_ECORRUPT (truncated or damaged bytes, a key in the wrong key group, a value of the
 * wrong size) b and timers are unchanged. Other codes: RILL_ENOTSUP (an unknown format
 * version), RILL_ECONFIG (another max parallelism), RILL_EINVAL (a bad range, no timer
 * service, a table registered before with another kind or size), or the backend's error.
 * The message is in err (may be NULL).
 */
int rill__keyed_restore(rill__state_backend *b, rill__timer_service *timers, int kg_first,
                        int kg_last, const void *data, size_t len, rill__err *err);
/* The same for a canonical or a native snapshot, whose files are in dir (NULL: none; a native
 * snapshot is then RILL_EINVAL). A native snapshot's files are checked (present, of their
 * size: RILL_ECORRUPT) as b takes them. */
int rill__keyed_restore_dir(rill__state_backend *b, rill__timer_service *timers, int kg_first,
                            int kg_last, const void *data, size_t len, const char *dir,
                            rill__err *err);

/* Whether a keyed snapshot's files are all there (without restoring it): 0 for a canonical
 * snapshot or anything else that is not a native one; for a native one, its checksum and its
 * backend's files in dir (present, of their size), else RILL_ECORRUPT (uid names the operator
 * in the message), RILL_ENOTSUP (a backend this build lacks) or -errno, the message in err. */
int rill__ksnap_check_files(const void *data, size_t len, const char *dir, const char *uid,
                            rill__err *err);

/* The max parallelism and key-group range a snapshot (canonical or native) was written for (checks the trailer,
 * header and index, not the sections), so that a caller can pick the snapshots overlapping a
 * new range. 0 or RILL_ECORRUPT / RILL_ENOTSUP with err (may be NULL). */
int rill__keyed_snapshot_info(const void *data, size_t len, int *max_par_out, int *kg_first_out,
                              int *kg_last_out, rill__err *err);

/*
 * ---- operator state: named blobs ----------------------------------------------------------
 *
 * For state that is not keyed (a source's offsets, a sink's pending transaction), one
 * container per operator instance, version 1, little-endian:
 *
 *   u32 magic "RLOS" (52 4C 4F 53)   u32 version (1)   u32 n
 *   n x { bytes name (1..1024 bytes, no NUL)   u64 length   the blob's bytes }
 *   u32 crc32c of everything before it
 *
 * Names are the operator's own (say "offsets"); blobs are opaque here. At a new parallelism
 * the runtime decides which old containers an instance reads (all of them, to redistribute
 * splits, say): rill__opstate_iterate walks one.
 */
typedef struct rill__opstate_writer {
    rill__buf *out;
    size_t start; /* where the container begins in out */
    uint32_t n;
} rill__opstate_writer;

/* Starts a container at the end of out. */
void rill__opstate_begin(rill__opstate_writer *w, rill__buf *out);
/* Adds a blob. 0, or RILL_EINVAL for an empty name, one over 1024 bytes or one used before
 * in this container (nothing is added then). */
int rill__opstate_put(rill__opstate_writer *w, const char *name, const void *data, size_t len);
/* Completes the container (count and checksum); the writer is done. */
void rill__opstate_end(rill__opstate_writer *w);
/* The blob called name: 1 with *val_out / *len_out pointing into data (borrowed as long as
 * data is), 0 when there is none (NULL, 0), RILL_ECORRUPT (err may be NULL) for a damaged or
 * truncated container. The whole container is checked on every call. */
int rill__opstate_get(const void *data, size_t len, const char *name, const void **val_out,
                      size_t *len_out, rill__err *err);
/* fn(arg, name, name_len, blob, blob_len) for every blob in order (name not NUL-terminated);
 * nonzero from fn stops it and is returned. RILL_ECORRUPT (checked before fn is called). */
int rill__opstate_iterate(const void *data, size_t len,
                          int (*fn)(void *arg, const char *name, size_t name_len, const void *val,
                                    size_t val_len),
                          void *arg, rill__err *err);

/*
 * A keyed operator's blob may begin with the event-time watermark the operator had at the
 * barrier (the window operator: a row of a window that fired before the checkpoint stays late
 * after a restore, also at another parallelism, where the sources' per-split state cannot follow
 * the splits), little-endian:
 *
 *   u32 magic "RLKW" (52 4C 4B 57)   i64 watermark
 *
 * then the keyed snapshot as above. rill__ksnap_put_watermark appends the prefix to out;
 * rill__ksnap_take_watermark reads one off the front of a blob (*data and *len then point past
 * it) and returns true, or false when the blob has none (blobs of older builds).
 */
void rill__ksnap_put_watermark(rill__buf *out, int64_t wm);
bool rill__ksnap_take_watermark(const void **data, size_t *len, int64_t *wm);

#endif /* RILL_SNAPSHOT_H */
