/*
 * checkpoint.h - the state layer's checkpoint storage: framed, checksummed files and a store of
 * completed checkpoints DIR/<job-id>/chk-<n>/ on a local or shared filesystem, whose commit point
 * is the atomic rename of chk-<n>/_metadata (DESIGN.md §6). Savepoints reuse the framed files.
 * Depends on base only.
 */
#ifndef RILL_STATE_CHECKPOINT_H
#define RILL_STATE_CHECKPOINT_H

#include "base/base.h"

/*
 * Error reporting, for every call below that takes `rill__err *err`: on failure the message goes
 * to *err, which the caller owns (so task threads writing data files concurrently each pass
 * their own), or, when err is NULL, to this thread's last error (rill_last_error()). Messages
 * name the file and what was wrong with it. System errors come back as -errno.
 */

/* ---- framed files ----------------------------------------------------------------------------
 * Every checkpoint and savepoint file, little-endian:
 *     magic "RILLCKPT" (8) | u32 format version | u32 kind | u64 payload length | payload |
 *     u32 CRC32C of everything before it
 * A reader checks, in this order, the magic, the version (a newer one is refused, since its
 * layout may differ), the kind, the exact length (a truncated file or trailing bytes is corrupt)
 * and the checksum. */

#define RILL_CKPT_MAGIC          "RILLCKPT"
#define RILL_CKPT_FORMAT_VERSION 1u /* the version written; older ones are read */
#define RILL_CKPT_HEADER_SIZE    24
#define RILL_CKPT_TRAILER_SIZE   4
#define RILL_CKPT_FRAME_OVERHEAD (RILL_CKPT_HEADER_SIZE + RILL_CKPT_TRAILER_SIZE)
/* Files larger than this are refused before being read (RILL_ELIMIT). */
#define RILL_CKPT_MAX_FILE ((size_t)1 << 40)
/* The name of the metadata file in a checkpoint or savepoint directory. */
#define RILL_CKPT_METADATA_NAME "_metadata"

typedef enum rill__ckpt_kind {
    RILL_CKPT_DATA = 1,              /* a state or position file written by a task */
    RILL_CKPT_METADATA = 2,          /* a checkpoint's _metadata, written by the coordinator */
    RILL_CKPT_SAVEPOINT_METADATA = 3 /* a savepoint's _metadata */
} rill__ckpt_kind;

/* "data", "metadata", "savepoint metadata" or "unknown"; static storage. */
const char *rill__ckpt_kind_name(uint32_t kind);

/* Appends the framed form of payload[0..len) to out. Cannot fail (out of memory aborts). */
void rill__ckpt_frame(rill__buf *out, rill__ckpt_kind kind, const void *payload, size_t len);

/*
 * Validates a framed file's bytes data[0..len) as a file of the given kind; what names the file
 * in messages. Returns 0 with *payload_out pointing into data (borrowed: valid as long as data)
 * and its length in *len_out; RILL_ECORRUPT for a bad magic, kind, length or checksum
 * ("<what>: truncated: 100 of 164 bytes", "<what>: checksum mismatch", ...); RILL_ENOTSUP for a
 * format version newer than RILL_CKPT_FORMAT_VERSION. Out-params are NULL/0 on failure.
 */
int rill__ckpt_unframe(const void *data, size_t len, rill__ckpt_kind kind, const char *what,
                       const void **payload_out, size_t *len_out, rill__err *err);

/*
 * Writes payload as a framed file at path, fully, and fsyncs it; creates the parent directory
 * (mkdir -p) when missing. Truncates an existing file. On failure the partial file is removed.
 * The directory entry is made durable by a later rill__ckpt_file_write_atomic() in the same
 * directory (its directory fsync), not here. Returns 0, or -errno naming the file and the step
 * ("fsync /x/chk-3/op-1: I/O error"). Safe to call concurrently for distinct paths.
 */
int rill__ckpt_file_write(const char *path, rill__ckpt_kind kind, const void *payload, size_t len,
                          rill__err *err);

/*
 * Writes payload as a framed file at path atomically: a temp file "<path>.tmp" beside it,
 * written and fsynced, renamed over path, then the directory fsynced. The rename is the commit
 * point. On any failure path does not exist afterwards (a renamed file whose directory fsync
 * failed is unlinked again) and -errno is returned with a message naming the step. The directory
 * must exist. Not safe to call concurrently for the same path.
 */
int rill__ckpt_file_write_atomic(const char *path, rill__ckpt_kind kind, const void *payload,
                                 size_t len, rill__err *err);

/*
 * Reads and validates the framed file at path. Returns 0 with the payload in *payload_out
 * (malloc'd, caller frees; followed by a NUL byte not counted in *len_out, for text payloads);
 * -ENOENT when the file is missing ("<path>: missing"), RILL_ECORRUPT or RILL_ENOTSUP as
 * rill__ckpt_unframe(), RILL_ELIMIT over RILL_CKPT_MAX_FILE, another -errno for an I/O error.
 * Out-params are NULL/0 on failure. Thread-safe.
 */
int rill__ckpt_file_read(const char *path, rill__ckpt_kind kind, void **payload_out,
                         size_t *len_out, rill__err *err);

/*
 * Checks a job id or file name that will become one path component: refused (RILL_EINVAL, with
 * a message) when empty, longer than 255 bytes, containing '/', "..", a NUL among its len bytes
 * or a control character, or equal to ".". Metadata must refer to data files by such names only,
 * which keeps checkpoints and savepoints relocatable. what ("job id", "file name") is for the
 * message. Thread-safe.
 */
int rill__ckpt_check_name(const char *name, size_t len, const char *what, rill__err *err);

/* ---- the checkpoint store --------------------------------------------------------------------
 * DIR/<job-id>/chk-<n>/ holds checkpoint n: data files written by tasks, then _metadata written
 * by commit. A checkpoint is completed exactly when its _metadata exists and validates; a
 * directory without one (in progress, failed, crashed mid-write) or with a corrupt one does not
 * exist for restore.
 *
 * Threads: the store's fields are immutable after open, so rill__ckpt_write_data() may be
 * called by several threads at once (for distinct names). Every other call takes the store for
 * itself: one thread (the coordinator) at a time, and not while data files of a checkpoint older
 * than the one being committed are still being written (commit subsumes and removes them). */

typedef struct rill__ckpt_store rill__ckpt_store;

/*
 * Opens the store of job_id under base_dir, creating DIR/<job_id>/ (and base_dir) when missing
 * and fsyncing base_dir so it stays. retain (>= 1) is how many completed checkpoints commit keeps.
 * Returns 0 and *out (free with rill__ckpt_store_free); RILL_EINVAL for a bad job id (see
 * rill__ckpt_check_name) or retain < 1; -errno when the directory cannot be created.
 */
int rill__ckpt_store_open(const char *base_dir, const char *job_id, int retain,
                          rill__ckpt_store **out, rill__err *err);
/*
 * Takes the lock of the job's directory, DIR/<job_id>/_lock, for the coordinator that commits
 * to it: an advisory open file description lock, which ends with the process (kill -9 leaves
 * none behind), and held until rill__ckpt_store_unlock or _free. A second lock of the same
 * directory, in this process or another, is refused, so two runs of a job cannot both commit
 * and prune there. (Stores that only write a task's data files take no lock.) Returns 0 (also
 * when held already); RILL_ECONFIG when another holds it (the message names the directory,
 * and the holder's pid when it could be read); -errno when the lock file cannot be created.
 */
int rill__ckpt_store_lock(rill__ckpt_store *s, rill__err *err);
/* Gives the directory's lock up (the job has ended; the store may still be read). Idempotent. */
void rill__ckpt_store_unlock(rill__ckpt_store *s);
/* Frees the store (and its lock); the files stay. NULL-safe. */
void rill__ckpt_store_free(rill__ckpt_store *s);
/* DIR/<job_id>, borrowed until rill__ckpt_store_free. */
const char *rill__ckpt_store_dir(const rill__ckpt_store *s);
/* DIR/<job_id>/chk-<id>, malloc'd (caller frees). For messages and savepoint copies. */
char *rill__ckpt_store_chk_dir(const rill__ckpt_store *s, int64_t id);

/*
 * Writes data file name of checkpoint id (>= 0) as DIR/<job>/chk-<id>/<name>, framed as
 * RILL_CKPT_DATA, fully written and fsynced (rill__ckpt_file_write). The name must pass
 * rill__ckpt_check_name and not start with '_' (reserved for the store's files). Returns 0,
 * RILL_EINVAL for a bad id or name, -errno for a failed write or fsync (the file is removed; the
 * checkpoint is failed: abort it, do not retry it). May run concurrently with other
 * write_data calls, and with commit of an older checkpoint.
 */
int rill__ckpt_write_data(rill__ckpt_store *s, int64_t id, const char *name, const void *data,
                          size_t len, rill__err *err);

/*
 * Completes checkpoint id: call after every data file of it has been written. Makes chk-<id>
 * durable in the job directory, then writes chk-<id>/_metadata (RILL_CKPT_METADATA) atomically
 * - temp file, fsync, rename, directory fsync: the commit point. Only then removes what the new
 * checkpoint supersedes: completed checkpoints older than id beyond the newest `retain` (id
 * counting as one), and older directories that are not completed checkpoints. A failed removal is
 * logged and does not fail the commit. Returns 0 when committed; RILL_EINVAL for a bad id;
 * RILL_EEXIST when id already has a _metadata (nothing is changed); -errno for a write or fsync
 * error - then the checkpoint has failed: no _metadata is left, its directory is removed, and it
 * must not be retried with the same data.
 */
int rill__ckpt_commit(rill__ckpt_store *s, int64_t id, const void *meta, size_t len,
                      rill__err *err);

/*
 * Removes the directory of checkpoint id, which failed or was declined before its commit.
 * Returns 0 (also when there is nothing to remove); RILL_EPERM when id is a completed checkpoint
 * (its _metadata validates), which abort never destroys; -errno when removing fails.
 */
int rill__ckpt_abort(rill__ckpt_store *s, int64_t id, rill__err *err);

/*
 * The newest completed checkpoint, to restore from: scans chk-* newest first and returns the
 * first whose _metadata validates, with its id in *id_out and its metadata payload in *meta_out
 * (malloc'd, caller frees; NUL-terminated beyond *len_out). Each checkpoint skipped because its
 * _metadata is missing, truncated, corrupt or of a newer format is logged (WARN) with the
 * reason. Returns 0; RILL_ENOENT when there is no completed checkpoint; -errno when a _metadata
 * cannot be read for another reason (an I/O error, permissions): then it fails rather than go
 * back past a checkpoint that may be completed, since sinks may already have committed its
 * output. Out-params are 0/NULL on failure.
 */
int rill__ckpt_latest(rill__ckpt_store *s, int64_t *id_out, void **meta_out, size_t *len_out,
                      rill__err *err);

/*
 * Why no checkpoint of the store can be restored: for every chk-<n> directory whose _metadata
 * exists but cannot be read or validated (a missing one means the checkpoint never committed,
 * and is left out), "chk-<n>: <reason>", joined by "; ", in *why_out (malloc'd, caller frees;
 * NULL when there is none) and their number in *n_out. Returns 0, or -errno when the job
 * directory cannot be listed.
 */
int rill__ckpt_unreadable(rill__ckpt_store *s, char **why_out, size_t *n_out, rill__err *err);

/*
 * The other jobs with checkpoints in base_dir: the names of its directories other than job_id
 * that hold a chk-<n> directory, quoted and joined by ", ", in *names_out (malloc'd, caller
 * frees; NULL when there is none), their number in *n_out. For a --resume that finds nothing
 * under its own name (a job renamed, a --name mistyped). Returns 0 (also when base_dir does not
 * exist), or -errno when it cannot be listed.
 */
int rill__ckpt_other_jobs(const char *base_dir, const char *job_id, char **names_out,
                          size_t *n_out, rill__err *err);

/*
 * The ids of the completed checkpoints, ascending, in *ids_out (malloc'd, caller frees; NULL when
 * there are none) and their number in *n_out. Incomplete ones are left out without logging.
 * Returns 0, or -errno as rill__ckpt_latest.
 */
int rill__ckpt_list(rill__ckpt_store *s, int64_t **ids_out, size_t *n_out, rill__err *err);

/*
 * The validated metadata payload of completed checkpoint id (malloc'd, caller frees). Returns 0;
 * -ENOENT when it has no _metadata; RILL_ECORRUPT / RILL_ENOTSUP / -errno as rill__ckpt_file_read.
 */
int rill__ckpt_read_meta(rill__ckpt_store *s, int64_t id, void **meta_out, size_t *len_out,
                         rill__err *err);

/*
 * The validated payload of data file name of checkpoint id (malloc'd, caller frees; NUL-terminated
 * beyond *len_out). Returns 0; RILL_EINVAL for a bad id or name; -ENOENT, RILL_ECORRUPT,
 * RILL_ENOTSUP or -errno as rill__ckpt_file_read. Thread-safe against other reads.
 */
int rill__ckpt_read_data(rill__ckpt_store *s, int64_t id, const char *name, void **data_out,
                         size_t *len_out, rill__err *err);

#endif /* RILL_STATE_CHECKPOINT_H */
