/*
 * connectors.h - the connectors layer's interface: sources and sinks behind one interface
 * each, and the built-in generator, file (CSV / JSON lines), print, file and blackhole
 * connectors. Kafka and the exactly-once file sink slot in behind the same ops later.
 * Depends on base, data, state and ops.
 */
#ifndef RILL_CONNECTORS_H
#define RILL_CONNECTORS_H

#include "ops/ops.h"

/* What a source or sink does with a record it cannot decode or encode. */
typedef enum rill__bad_policy {
    RILL_BAD_FAIL = 0, /* fail the job with the record's position and what was wrong */
    RILL_BAD_SKIP = 1, /* count it, append it to the dead-letter file, go on */
} rill__bad_policy;

/* What every source or sink instance (one per parallel subtask) is created with. */
typedef struct rill__conn_init {
    const char *uid;
    int subtask, parallelism;
    uint32_t batch_size;
    rill__bad_policy bad_policy;
    const char *dead_letter_path; /* with RILL_BAD_SKIP; NULL: skipped records are only logged */
    rill__err *err;               /* where failures are described (the task's error) */
    bool restoring; /* the job restarts from a checkpoint: a sink keeps what it wrote before */
} rill__conn_init;

/* ---- sources ------------------------------------------------------------------------------- */

typedef struct rill__source rill__source;

/* One old subtask's position, for rescaling. */
typedef struct rill__source_pos {
    int subtask, parallelism;
    bool finished;
    const void *data;
    size_t len;
} rill__source_pos;

typedef struct rill__source_ops {
    const char *kind;
    /* Checks cfg when the graph is built: 0, or an error code with the message in err. */
    int (*validate)(const void *cfg, const rill_schema *schema, rill__err *err);
    /* One reader for one subtask. cfg is shared and read-only. */
    int (*create)(const void *cfg, const rill_schema *schema, const rill__conn_init *init,
                  rill__source **out);
    /*
     * Appends up to b->cap_rows rows to the empty batch b. Returns 0 (rows may be 0),
     * RILL_AGAIN when nothing is available now (*wait_ns_out: a hint of when to poll again),
     * RILL_DONE when exhausted (b may still hold the last rows), or a negative error with the
     * message in init->err.
     */
    int (*poll)(rill__source *s, rill_batch *b, int64_t *wait_ns_out);
    /* Records skipped by the bad-records policy so far. */
    int64_t (*skipped)(rill__source *s);
    /* Appends the reader's position (what it has emitted so far) to out: taken between polls,
     * it is what a checkpoint records and a restore rewinds to. */
    int (*position)(rill__source *s, rill__buf *out);
    /* Rewinds a new reader to a position `position` gave (same subtask and parallelism), before
     * its first poll. RILL_ENOTSUP when the position belongs to another parallelism. */
    int (*seek)(rill__source *s, const void *pos, size_t len);
    /* Rescaling: a new reader at another parallelism starts from the positions of every old
     * subtask (finished ones marked, with no data). NULL: the source cannot be rescaled. */
    int (*seek_rescaled)(rill__source *s, const struct rill__source_pos *pos, int n);
    /* true: a restore always goes through seek_rescaled with every old subtask's position, at
     * the same parallelism too (split states travel with their splits, and the splits a
     * subtask owns may differ from its old subtask's, as when a file was added) */
    bool restore_from_all;
    /* Optional: checkpoint id took the position just given (right after position), and
     * checkpoint id has completed (on the reader's thread; with the newest id completed, older
     * ones may be skipped). A Kafka reader commits that position's offsets to its consumer
     * group then, for monitoring. */
    void (*positioned)(rill__source *s, uint64_t id);
    int (*checkpoint_complete)(rill__source *s, uint64_t id);
    void (*destroy)(rill__source *s);
    void (*cfg_free)(void *cfg);
} rill__source_ops;

struct rill__source {
    const rill__source_ops *ops;
};

/* ---- sinks --------------------------------------------------------------------------------- */

typedef struct rill__sink rill__sink;

typedef struct rill__sink_ops {
    const char *kind;
    int (*validate)(const void *cfg, const rill_schema *schema, rill__err *err);
    int (*create)(const void *cfg, const rill_schema *schema, const rill__conn_init *init,
                  rill__sink **out);
    /* Writes every row of b (the caller keeps its reference). */
    int (*write)(rill__sink *s, rill_batch *b);
    /* End of input: make everything written durable or visible. */
    int (*finish)(rill__sink *s);
    /* Two-phase commit (exactly-once sinks; NULL for others). pre_commit: checkpoint id's
     * barrier has arrived: make what was written since the last one durable but not yet
     * visible, and append to state what commit and restore need. commit: checkpoint id is
     * complete: make everything pre-committed up to it visible (idempotent: it may be called
     * again after a restore). restore: a new instance starts from a checkpoint: called, before
     * any row, once for every old subtask of the checkpoint (old_subtask of old_par, at any
     * parallelism) with that subtask's state; the instance takes over the old subtasks it owns
     * at its own (subtask, parallelism): commits what their states pre-committed (the
     * checkpoint completed) and drops everything else they left in progress. */
    int (*pre_commit)(rill__sink *s, uint64_t id, rill__buf *state);
    int (*commit)(rill__sink *s, uint64_t id);
    int (*restore)(rill__sink *s, int old_subtask, int old_par, const void *state, size_t len);
    /* Optional: the input's watermark advanced to wm (in order with the rows and barriers). */
    int (*watermark)(rill__sink *s, int64_t wm);
    void (*destroy)(rill__sink *s);
    void (*cfg_free)(void *cfg);
} rill__sink_ops;

struct rill__sink {
    const rill__sink_ops *ops;
};

/* An operator that writes its input to a sink instance (taking ownership of it). */
rill__operator *rill__op_sink(const rill__op_init *init, rill__sink *sink);

/* ---- built-in connectors: ops and their configs (copied by the *_cfg functions) ------------ */

extern const rill__source_ops rill__generator_source_ops;
extern const rill__source_ops rill__file_source_ops;
extern const rill__source_ops rill__kafka_source_ops;
extern const rill__sink_ops rill__kafka_sink_ops;
extern const rill__sink_ops rill__print_sink_ops;
extern const rill__sink_ops rill__file_sink_ops;
extern const rill__sink_ops rill__blackhole_sink_ops;

/* A deep copy of the generator options (field names, choices). */
void *rill__generator_cfg(const rill_gen_opts *opts);
/* The Kafka connectors' config from options (NULL-terminated key, value pairs, Flink's names:
 * docs/kafka.md), for a source or a sink; NULL with RILL_ECONFIG and a message naming the option
 * in err. */
void *rill__kafka_source_cfg(const char *const *options, rill__err *err);
void *rill__kafka_sink_cfg(const char *const *options, rill__err *err);
/* The file source's config: path (file, glob or directory) and format options. */
void *rill__file_source_cfg(const char *path, const rill_file_opts *opts);
/* A projection of a CSV file source without a header (cfg: its node's): the lines have
 * n_columns columns, field i is column leaves[i]; the others are not converted. */
void rill__file_source_columns(void *cfg, int n_columns, int n_fields, const int *leaves);
/* The CSV layout of a file source without a header whose lines have ROW columns (Flink's csv
 * format: a ROW's values in one column, separated by the array element delimiter): field i is
 * column col[i] (-1: none, as a partition column), element elem[i] of it when >= 0; column c
 * has n_elem[c] elements (0: a plain column). Copied. */
void rill__file_source_layout(void *cfg, int n_columns, int n_fields, const int *col,
                              const int *elem, const int *n_elem);
/* The file source's format options (Flink's csv.* and json.*: copied), and whether a record
 * that does not parse is skipped (csv/json.ignore-parse-errors: counted, not an error). */
void rill__file_source_format(void *cfg, const rill__decode_opts *opts, bool skip_bad);
/* A partitioned directory (PARTITIONED BY): the files are read under key=value directories,
 * one level per key, and field fields[i] (-1: none; of n_fields) takes key i's value from the
 * path (unescaped, typed as a CSV field of its type; default_name is NULL), the lines holding
 * the other fields. */
void rill__file_source_partitions(void *cfg, int n_fields, int n_keys, const char *const *keys,
                                  const int *fields, const char *default_name);
/* Flink's datagen source (docs/sql.md): options are NULL-terminated key, value pairs with
 * Flink's names ("rows-per-second", "number-of-rows", "fields.<field>.kind", ...); they are
 * checked against the schema (its field names are the option's <field>) by validate. table
 * names the SQL table in messages (NULL: "datagen source"). */
extern const rill__source_ops rill__datagen_source_ops;
void *rill__datagen_source_cfg(const char *const *options, const char *table);
/* File sink config (path); print sink config (stdout, or the given FILE for tests). */
void *rill__file_sink_cfg(const char *path, const rill_file_opts *opts);
void *rill__print_sink_cfg(const rill_file_opts *opts, FILE *out);
/* The exactly-once file sink: dir receives part files, written in progress as hidden
 * ".part-<subtask>-<n>.inprogress" files and renamed to "part-<subtask>-<n>" when the checkpoint
 * that covers them completes (without checkpoints: when the input ends). It rescales: on restore
 * new subtask i takes over old subtask j when j mod (new parallelism) == i. */
extern const rill__sink_ops rill__exactly_once_file_sink_ops;
void *rill__exactly_once_file_sink_cfg(const char *dir, const rill_file_opts *opts);
/* Do the exactly-once file sinks of configs a and b write the same files (one directory, one
 * part file prefix)? Two such sinks in one job would take each other's files for their own. */
bool rill__eo_sink_same_files(const void *a, const void *b);
/* The same sink as the SQL filesystem connector (docs/sql.md): options are NULL-terminated key,
 * value pairs with Flink's names ('path' a directory or file:// URI, 'format', the rolling
 * policy and partition commit options); keys the partition keys (PARTITIONED BY), whose values
 * name each row's directory "k1=v1/k2=v2" below the path. NULL with RILL_ECONFIG and a message
 * naming the option in err. */
void *rill__fs_sink_cfg(const char *const *options, const char *const *keys, int n_keys,
                        rill__err *err);
/* 'sink.shuffle-by-partition.enable' of such a config. */
bool rill__fs_sink_cfg_shuffle(const void *cfg);

#endif /* RILL_CONNECTORS_H */
