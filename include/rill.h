/*
 * rill.h - the public C API of rill, a stateful stream processor.
 *
 * A job is a dataflow built with this API: sources, per-row functions, key_by,
 * keyed process functions with state, and sinks. rill_env_execute() runs it.
 * Everything not declared here is private to the engine.
 */
#ifndef RILL_H
#define RILL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define RILL_API __attribute__((visibility("default")))
#define RILL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define RILL_API
#define RILL_PRINTF(f, a)
#endif

#define RILL_VERSION_MAJOR 0
#define RILL_VERSION_MINOR 1
#define RILL_VERSION_PATCH 0
#define RILL_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------------------------------ */
/* Result codes                                                                                */
/* ------------------------------------------------------------------------------------------ */

/*
 * Every call that can fail returns int: 0 on success, a negative RILL_E* code on failure.
 * System errors are -errno (as in libuv). Positive values are statuses, not errors.
 * The text that says what was wrong and where is kept beside the code: rill_errmsg(env).
 */
#define RILL_ERRNO_MAP(X)                                                                     \
    X(EPERM, -EPERM, "operation not permitted")                                               \
    X(ENOENT, -ENOENT, "no such file or directory")                                           \
    X(EIO, -EIO, "input/output error")                                                        \
    X(ENOMEM, -ENOMEM, "out of memory")                                                       \
    X(EACCES, -EACCES, "permission denied")                                                   \
    X(EEXIST, -EEXIST, "already exists")                                                      \
    X(ENOTDIR, -ENOTDIR, "not a directory")                                                   \
    X(EISDIR, -EISDIR, "is a directory")                                                      \
    X(EINVAL, -EINVAL, "invalid argument")                                                    \
    X(ENOSPC, -ENOSPC, "no space left on device")                                             \
    X(ERANGE, -ERANGE, "value out of range")                                                  \
    X(ECANCELED, -ECANCELED, "operation canceled")                                            \
    X(EPARSE, -4001, "malformed input record")                                                \
    X(ETYPE, -4002, "type mismatch")                                                          \
    X(ECONFIG, -4003, "invalid configuration")                                                \
    X(EUSER, -4004, "user function failed")                                                   \
    X(ESTATE, -4005, "invalid state access")                                                  \
    X(ECORRUPT, -4006, "corrupt data")                                                        \
    X(ENOSYM, -4007, "symbol not found in job object")                                        \
    X(EGRAPH, -4008, "invalid job graph")                                                     \
    X(ELIMIT, -4009, "limit exceeded")                                                        \
    X(ENOTSUP, -4010, "not supported")                                                        \
    X(EPROTO, -4011, "protocol error")                                                        \
    X(EAUTH, -4012, "authentication failed")

typedef enum rill_errno {
#define RILL_ERRNO_ENUM_(name, value, text) RILL_##name = (value),
    RILL_ERRNO_MAP(RILL_ERRNO_ENUM_)
#undef RILL_ERRNO_ENUM_
} rill_errno;

/* Statuses (positive, not errors). */
#define RILL_OK 0
#define RILL_AGAIN 1 /* output full or input empty: back-pressure, call again later */
#define RILL_DONE 2  /* input exhausted */

/* Text for a code: "invalid argument". Never NULL; static storage. */
RILL_API const char *rill_strerror(int rc);
/* Name of a code: "RILL_EINVAL". Never NULL; static storage. */
RILL_API const char *rill_err_name(int rc);

/* ------------------------------------------------------------------------------------------ */
/* Schemas                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/*
 * Field types. Every value lives in one 8-byte slot of its row; the SQL types are slot kinds of
 * the same model (numbers are stable: they appear in checkpoints and frames).
 *   BOOL          0 or 1
 *   INT8/16/32    TINYINT, SMALLINT, INT: the sign-extended value as int64
 *   INT64         BIGINT
 *   FLOAT         REAL: the IEEE single in the slot's low 32 bits, high bits 0
 *   DOUBLE        IEEE double
 *   DECIMAL(p,s)  p 1..18: the unscaled value as int64; p 19..38: 16 bytes (little-endian
 *                 two's-complement int128 unscaled value) in the batch's byte area, the slot
 *                 (offset << 32 | 16) like a STRING's. Read it with rill_row_decimal.
 *   STRING        CHAR(n), VARCHAR(n), STRING: (offset << 32 | length) into the byte area
 *   BYTES         BINARY(n), VARBINARY(n), BYTES: like STRING
 *   DATE          days since 1970-01-01, sign-extended int32
 *   TIME(p)       p 0..3: milliseconds of the day; p 4..9: nanoseconds of the day
 *   TIMESTAMP(p)  p 0..3: int64 milliseconds since the epoch (as event time uses it);
 *                 p 4..9: int64 nanoseconds since the epoch (years 1677..2262 only)
 *   TIMESTAMP_LTZ(p) the same representation as TIMESTAMP(p), an instant in UTC
 *   INTERVAL_YM   INTERVAL YEAR TO MONTH: int32 months, sign-extended
 *   INTERVAL_DT   INTERVAL DAY TO SECOND: int64 milliseconds
 */
typedef enum rill_type {
    RILL_T_BOOL = 1,
    RILL_T_INT64 = 2,
    RILL_T_DOUBLE = 3,
    RILL_T_STRING = 4,
    RILL_T_TIMESTAMP = 5,
    RILL_T_INT8 = 6,
    RILL_T_INT16 = 7,
    RILL_T_INT32 = 8,
    RILL_T_FLOAT = 9,
    RILL_T_DECIMAL = 10,
    RILL_T_DATE = 11,
    RILL_T_TIME = 12,
    RILL_T_TIMESTAMP_LTZ = 13,
    RILL_T_BYTES = 14,
    RILL_T_INTERVAL_YM = 15,
    RILL_T_INTERVAL_DT = 16,
} rill_type;
#define RILL_T_LAST RILL_T_INTERVAL_DT

/* Largest DECIMAL precision; DECIMALs of at most this many digits live in the slot itself. */
#define RILL_DECIMAL_MAX_PRECISION 38
#define RILL_DECIMAL_MAX_COMPACT 18

/*
 * A field's type with its parameters (Flink's logical type without nullability).
 *   precision  DECIMAL: 1..38 (digits); TIME, TIMESTAMP, TIMESTAMP_LTZ: 0..9 (fraction
 *              digits of a second); INTERVAL_DT: fraction digits of the seconds (0..9, the
 *              slot keeps ms); other types: 0
 *   scale      DECIMAL: 0..precision; else 0
 *   length     STRING, BYTES: the n of CHAR(n)/VARCHAR(n)/BINARY(n)/VARBINARY(n), 0 for
 *              unbounded (STRING, BYTES); the data layer records it, the SQL layer enforces it
 *   fixed      CHAR(n) / BINARY(n) rather than VARCHAR(n) / VARBINARY(n)
 */
typedef struct rill_type_info {
    rill_type type;
    int precision;
    int scale;
    int length;
    bool fixed;
} rill_type_info;

/* The parameters rill_schema_add gives a type: DECIMAL(10, 0), TIME(0), TIMESTAMP(3),
 * TIMESTAMP_LTZ(3), INTERVAL DAY TO SECOND(3), unbounded STRING/BYTES. */
RILL_API rill_type_info rill_type_default(rill_type type);

/* An ordered list of typed, named fields. Reference-counted and immutable once used by a
 * stream. Threads: a schema may be read from any thread; build it in one. */
typedef struct rill_schema rill_schema;

/* Max fields in one schema. */
#define RILL_MAX_FIELDS 1024

/*
 * Parses "name TYPE [NOT NULL], ..." (case-insensitive). TYPE is one of rill's names (BOOL,
 * INT64, DOUBLE, STRING, TIMESTAMP) or Flink's, with parameters: BOOLEAN, TINYINT, SMALLINT,
 * INT/INTEGER, BIGINT, FLOAT/REAL, DOUBLE [PRECISION], DECIMAL/DEC/NUMERIC[(p[, s])],
 * CHAR[(n)], VARCHAR[(n)], STRING, BINARY[(n)], VARBINARY[(n)], BYTES, DATE, TIME[(p)],
 * TIMESTAMP[(p)] [WITHOUT TIME ZONE], TIMESTAMP_LTZ[(p)], TIMESTAMP[(p)] WITH LOCAL TIME ZONE,
 * INTERVAL YEAR[(p)] [TO MONTH], INTERVAL MONTH, INTERVAL DAY[(p)] [TO HOUR|MINUTE|SECOND[(p)]],
 * INTERVAL HOUR|MINUTE|SECOND ... . Defaults follow Flink (DECIMAL(10, 0), TIME(0),
 * TIMESTAMP_LTZ(6), CHAR(1), VARCHAR/STRING unbounded) except bare TIMESTAMP, which stays
 * TIMESTAMP(3) (milliseconds) as rill has always read it; write TIMESTAMP(6) for Flink's default.
 * Fields are nullable unless NOT NULL is given.
 * Returns 0 and *schema_out; or RILL_EPARSE for text that does not parse (or a parameter out of
 * range), RILL_EINVAL for a NULL spec or a field named twice, with *schema_out NULL (message:
 * rill_last_error()). The caller owns the schema: rill_schema_free().
 */
RILL_API int rill_schema_parse(const char *spec, rill_schema **schema_out);
/* An empty schema to add fields to. Never NULL (aborts on out of memory). */
RILL_API rill_schema *rill_schema_new(void);
/* Appends a field. RILL_EINVAL for an empty or duplicate name or a bad type, RILL_ELIMIT past
 * RILL_MAX_FIELDS, RILL_EPERM once the schema is in use by a stream. */
RILL_API int rill_schema_add(rill_schema *schema, const char *name, rill_type type, bool nullable);
/* Appends a field of a parameterised type. RILL_EINVAL also for parameters out of range
 * (see rill_type_info), with the field named in rill_last_error(). */
RILL_API int rill_schema_add_typed(rill_schema *schema, const char *name, rill_type_info type,
                                   bool nullable);
/* Drops the caller's reference. NULL-safe. */
RILL_API void rill_schema_free(rill_schema *schema);
RILL_API int rill_schema_n_fields(const rill_schema *schema);
/* Index of the named field, or RILL_ENOENT. */
RILL_API int rill_schema_index(const rill_schema *schema, const char *name);
/* Name of field i (borrowed, lives as long as the schema), or NULL when out of range. */
RILL_API const char *rill_schema_field_name(const rill_schema *schema, int i);
/* Type of field i, or 0 when out of range. */
RILL_API rill_type rill_schema_field_type(const rill_schema *schema, int i);
RILL_API bool rill_schema_field_nullable(const rill_schema *schema, int i);
/* Type and parameters of field i; type 0 when out of range. */
RILL_API rill_type_info rill_schema_field_info(const rill_schema *schema, int i);
/* "BOOL", "INT64", "DECIMAL", "TIMESTAMP_LTZ", ... (the bare name); "?" for an unknown value. */
RILL_API const char *rill_type_name(rill_type type);
/* Writes Flink's name of t with its parameters ("DECIMAL(10, 2)", "VARCHAR(20)",
 * "TIMESTAMP(3)", "TIMESTAMP_LTZ(3)", "INTERVAL DAY(2) TO SECOND(3)"; rill's old names for
 * BOOL/INT64/STRING/TIMESTAMP(3) are printed as BOOLEAN, BIGINT, STRING, TIMESTAMP(3)) into
 * buf (NUL-terminated, cut to cap). Returns the length it needed, as snprintf does. */
RILL_API int rill_type_format(rill_type_info t, char *buf, size_t cap);

/* The message of the last failed call on this thread that has no object to keep it
 * (rill_schema_parse, rill_env_new). Thread-local, valid until the next such call. */
RILL_API const char *rill_last_error(void);

/* ------------------------------------------------------------------------------------------ */
/* Rows                                                                                        */
/* ------------------------------------------------------------------------------------------ */

/* One batch of rows. Opaque; rows are reached through rill_row views. */
typedef struct rill_batch rill_batch;

/*
 * A view of one row inside a batch: 8-byte slots, one per field, and a null bitmap.
 * A row passed to a user function is valid only during that call. The accessors below do
 * not check the field's type: field i must have the type the accessor names (TIMESTAMP
 * reads as int64; INT8/16/32, DATE and INTERVAL_YM read as int32 with rill_row_i32; TIME,
 * TIMESTAMP_LTZ and INTERVAL_DT as int64). Reading a NULL field gives 0.
 */
typedef struct rill_row {
    uint64_t *v;       /* field slots */
    uint64_t *nulls;   /* null bitmap: bit i set means field i is NULL */
    rill_batch *batch; /* owner of the row's string bytes */
} rill_row;

static inline bool rill_row_is_null(const rill_row *r, int i)
{
    return (r->nulls[i >> 6] >> (i & 63)) & 1u;
}
static inline int64_t rill_row_i64(const rill_row *r, int i)
{
    return (int64_t)r->v[i];
}
static inline int64_t rill_row_ts(const rill_row *r, int i)
{
    return (int64_t)r->v[i];
}
static inline double rill_row_f64(const rill_row *r, int i)
{
    double d;
    memcpy(&d, &r->v[i], sizeof d);
    return d;
}
static inline bool rill_row_bool(const rill_row *r, int i)
{
    return r->v[i] != 0;
}
static inline void rill_row_set_i64(rill_row *r, int i, int64_t x)
{
    r->v[i] = (uint64_t)x;
    r->nulls[i >> 6] &= ~(UINT64_C(1) << (i & 63));
}
static inline void rill_row_set_ts(rill_row *r, int i, int64_t ms)
{
    rill_row_set_i64(r, i, ms);
}
static inline void rill_row_set_f64(rill_row *r, int i, double d)
{
    memcpy(&r->v[i], &d, sizeof d);
    r->nulls[i >> 6] &= ~(UINT64_C(1) << (i & 63));
}
static inline void rill_row_set_bool(rill_row *r, int i, bool b)
{
    r->v[i] = b ? 1u : 0u;
    r->nulls[i >> 6] &= ~(UINT64_C(1) << (i & 63));
}
static inline void rill_row_set_null(rill_row *r, int i)
{
    r->v[i] = 0;
    r->nulls[i >> 6] |= UINT64_C(1) << (i & 63);
}

/* The bytes of STRING field i (not NUL-terminated), length in *len_out. Borrowed: valid until
 * the row's batch is released, i.e. during the current call. NULL field: "" and 0. */
RILL_API const char *rill_row_str(const rill_row *r, int i, size_t *len_out);
/* Copies len bytes into the row's batch as STRING field i. RILL_ELIMIT if the batch's string
 * area would pass 4 GiB. */
RILL_API int rill_row_set_str(rill_row *r, int i, const char *s, size_t len);
/* Copies every field of src into dst (same field types, by position), strings included. */
RILL_API int rill_row_copy(rill_row *dst, const rill_row *src);

/* INT8, INT16, INT32, DATE (days since 1970-01-01), INTERVAL_YM (months). The setter does not
 * range-check: a TINYINT field must be given a value in -128..127. */
static inline int32_t rill_row_i32(const rill_row *r, int i)
{
    return (int32_t)(int64_t)r->v[i];
}
static inline void rill_row_set_i32(rill_row *r, int i, int32_t x)
{
    rill_row_set_i64(r, i, x);
}
/* FLOAT: the IEEE single in the slot's low 32 bits. */
static inline float rill_row_f32(const rill_row *r, int i)
{
    float f;
    uint32_t u = (uint32_t)r->v[i];
    memcpy(&f, &u, sizeof f);
    return f;
}
static inline void rill_row_set_f32(rill_row *r, int i, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    r->v[i] = u;
    r->nulls[i >> 6] &= ~(UINT64_C(1) << (i & 63));
}
/* BYTES field i: like rill_row_str / rill_row_set_str (arbitrary bytes, no encoding). */
static inline const void *rill_row_bytes(const rill_row *r, int i, size_t *len_out)
{
    return rill_row_str(r, i, len_out);
}
static inline int rill_row_set_bytes(rill_row *r, int i, const void *p, size_t len)
{
    return rill_row_set_str(r, i, (const char *)p, len);
}

/*
 * An exact decimal value: unscaled * 10^-scale, the unscaled value a 128-bit two's-complement
 * integer (hi:lo) of at most 38 digits. A small value type: copy it freely.
 */
typedef struct rill_decimal {
    uint64_t lo;  /* low 64 bits of the unscaled value */
    int64_t hi;   /* high 64 bits (sign) */
    int32_t scale; /* 0..38 */
} rill_decimal;

/* Longest text rill_decimal_format writes, NUL included ("-0." and 38 digits). */
#define RILL_DECIMAL_STR_MAX 44

/* Parses plain decimal text ("-12.345", "+7", ".5"; no exponent, no spaces) into a DECIMAL(p,s):
 * more fraction digits than s are rounded HALF_UP (Flink's rounding). 0; RILL_EPARSE for text
 * that is not a decimal number; RILL_ERANGE when the value needs more than p - s integer
 * digits; RILL_EINVAL for p, s out of range. */
RILL_API int rill_decimal_parse(const char *s, size_t len, int precision, int scale,
                                rill_decimal *out);
/* Writes d as plain text with exactly d->scale fraction digits ("-0.50", "12"; never an
 * exponent) into buf (cap >= RILL_DECIMAL_STR_MAX is always enough). Returns the length. */
RILL_API int rill_decimal_format(const rill_decimal *d, char *buf, size_t cap);
/* -1, 0, 1 as a is less than, equal to, greater than b (numerically, any scales). */
RILL_API int rill_decimal_cmp(const rill_decimal *a, const rill_decimal *b);

/* DECIMAL field i of a row of a batch (its precision and scale come from the batch's schema).
 * NULL reads as 0 at the field's scale. */
RILL_API rill_decimal rill_row_decimal(const rill_row *r, int i);
/* Stores d into DECIMAL field i, rescaled to the field's scale (HALF_UP). RILL_ERANGE when the
 * value does not fit the field's precision (the field is left unchanged), RILL_ELIMIT when the
 * batch's byte area is full. */
RILL_API int rill_row_set_decimal(rill_row *r, int i, const rill_decimal *d);

/*
 * Row kinds (Flink's RowKind): what a row means in a changelog. Every row is an INSERT unless
 * set otherwise; append-only jobs never see another kind.
 */
typedef enum rill_rowkind {
    RILL_ROW_INSERT = 0,        /* +I */
    RILL_ROW_UPDATE_BEFORE = 1, /* -U: retracts the previous row of an update */
    RILL_ROW_UPDATE_AFTER = 2,  /* +U: the new row of an update */
    RILL_ROW_DELETE = 3,        /* -D */
} rill_rowkind;

/* The kind of a row of a batch (RILL_ROW_INSERT for a row that is not in a batch's rows). */
RILL_API rill_rowkind rill_row_kind(const rill_row *r);
/* Sets the kind of a row of a batch. RILL_EINVAL for a kind out of range or a row that is not
 * one of its batch's rows (a scratch copy). */
RILL_API int rill_row_set_kind(rill_row *r, rill_rowkind kind);
/* "+I", "-U", "+U", "-D"; "?" otherwise. */
RILL_API const char *rill_row_kind_name(rill_rowkind kind);

/* ------------------------------------------------------------------------------------------ */
/* Environment and job                                                                         */
/* ------------------------------------------------------------------------------------------ */

/* A job being built, with its options. One thread builds it; rill_env_execute runs it. */
typedef struct rill_env rill_env;
/* A stream: the output of one operator. Owned by the env; never freed by the caller. */
typedef struct rill_stream rill_stream;
/* A stream partitioned by key (rill_stream_key_by). Owned by the env. */
typedef struct rill_keyed_stream rill_keyed_stream;

/*
 * A new env that executes on an embedded mini-cluster in this process. Never NULL (aborts on
 * out of memory). Free with rill_env_free. Jobs run by `rill run` receive their env and must
 * not free it.
 */
RILL_API rill_env *rill_env_new(void);
RILL_API void rill_env_free(rill_env *env);

/*
 * Sets a job option by name: "name", "parallelism" (1..32768, default 1; keyed operators must
 * not exceed max-parallelism), "max-parallelism" (key groups, default 128), "batch-size",
 * "checkpoint.interval", "state.backend" and the others in docs/options.md, which lists every
 * key with its type, default, range and `rill run` flag (generated from the one option table).
 * Returns 0, or RILL_ECONFIG for an unknown key or bad value (message: rill_errmsg; the error
 * is also kept, so rill_env_execute fails with it). Options
 * given to `rill run` (--parallelism) are set before rill_job runs and win over the job's
 * own calls only for "parallelism" when given on the command line.
 */
RILL_API int rill_env_set(rill_env *env, const char *key, const char *value);
/* Current value of an option as text (borrowed until the next rill_env_set), or NULL for an
 * unknown key or an unset one (a path not given, "restart-strategy" left to its default). */
RILL_API const char *rill_env_get(const rill_env *env, const char *key);

/*
 * The first error met while building or running the job: what was wrong and where (operator
 * uid, file, line, column). "" when there was none. Borrowed: valid until the env changes.
 */
RILL_API const char *rill_errmsg(const rill_env *env);

/*
 * Runs the job to completion and returns 0, or a negative code when it failed (message:
 * rill_errmsg). A bounded job finishes when every source is exhausted and all records have
 * reached the sinks; an unbounded one runs until canceled (SIGINT/SIGTERM under `rill run`).
 * Errors met while building the graph (unknown key field, bad option) are reported here too.
 * Call once per env.
 */
RILL_API int rill_env_execute(rill_env *env);

/*
 * A metric of operator `uid` (Flink's names), during rill_env_execute (from another thread, or
 * from a user function of the job) or after it. Counts are summed over the operator's subtasks
 * and restarts; during the run they lag the rows by up to a batch (each task publishes its
 * counters once per batch, which keeps the per-row path free of shared writes).
 *   "numRecordsIn", "numRecordsOut"   rows received and emitted (also "records_in",
 *                                      "records_out")
 *   "records_skipped"                  malformed records a source skipped ("skip" policy)
 *   "numRecordsInPerSecond", "numRecordsOutPerSecond"
 *                                      during: over the last second or more, summed over the
 *                                      subtasks; after: averaged over the whole run
 *   "numBytesIn", "numBytesOut"        bytes of the batches its task took from / put into
 *                                      channels (its task's figure: every operator of a chain
 *                                      reports its task's)
 *   "currentInputWatermark", "currentOutputWatermark"
 *                                      ms since the epoch; INT64_MIN before the first; during:
 *                                      the slowest subtask's; after: the highest reached
 *   "busyTimeMsPerSecond", "idleTimeMsPerSecond", "backPressuredTimeMsPerSecond"
 *                                      its task's time per second waiting for nothing, for
 *                                      input, for room downstream; mean over subtasks; after
 *                                      the run: shares of the tasks' lifetime
 *   "inPoolUsage", "outPoolUsage"      percent fill of the fullest input / output channel of
 *                                      its task (during the run; 0 after)
 *   "numLateRecordsDropped"            rows a window dropped as late (no late side output)
 * With uid NULL, a figure of the job: "uptime" (ms; after the run, its duration),
 * "numRestarts", "numberOfCompletedCheckpoints", "numberOfFailedCheckpoints",
 * "lastCheckpointDuration" (ms), "lastCheckpointSize" (bytes written), "stateSize" (bytes of
 * the last completed checkpoint in full). RILL_ENOENT for an unknown uid or metric. Thread-safe.
 * Metrics are collected unless the environment variable RILL_METRICS is "off" (then only the
 * counts of finished tasks are there, after the run).
 */
RILL_API int rill_env_metric(const rill_env *env, const char *uid, const char *metric,
                             int64_t *value_out);
/* Wall time of the last rill_env_execute in milliseconds. */
RILL_API int64_t rill_env_elapsed_ms(const rill_env *env);

/* The entry point a job shared object exports: builds the graph, calls rill_env_execute and
 * returns its result (0 for success). argv[0] is the job object's path; the rest are the
 * arguments after `--` on the rill command line. */
typedef int (*rill_job_fn)(rill_env *env, int argc, char **argv);
#define RILL_JOB_SYMBOL "rill_job"
/* Declared here so a job object defines it with the right signature and exports it. */
RILL_API int rill_job(rill_env *env, int argc, char **argv);

/* ------------------------------------------------------------------------------------------ */
/* Function context                                                                            */
/* ------------------------------------------------------------------------------------------ */

/* What a user function sees of the engine: its user pointer, the subtask it runs in, the
 * current key and state (keyed functions), and the outputs. Valid only during the call;
 * every call on it must come from that thread. */
typedef struct rill_ctx rill_ctx;

/* The user pointer given when the function was added to the graph. Shared by all parallel
 * subtasks: treat it as read-only, or keep per-subtask data with rill_ctx_set_local. */
RILL_API void *rill_ctx_user(const rill_ctx *ctx);
/* Per-subtask data of this operator (NULL until set). Free it in the close hook. */
RILL_API void *rill_ctx_local(const rill_ctx *ctx);
RILL_API void rill_ctx_set_local(rill_ctx *ctx, void *local);
/* This subtask's index, 0..parallelism-1, and the operator's parallelism. */
RILL_API int rill_ctx_subtask(const rill_ctx *ctx);
RILL_API int rill_ctx_parallelism(const rill_ctx *ctx);
/* The operator's uid. Borrowed, lives as long as the job. */
RILL_API const char *rill_ctx_uid(const rill_ctx *ctx);

/*
 * Records why the function failed and returns RILL_EUSER, so a function can
 * `return rill_ctx_fail(ctx, "amount %f is negative", a);`. The job then fails with
 * "operator 'uid' (subtask i/p): message".
 */
RILL_API int rill_ctx_fail(rill_ctx *ctx, const char *fmt, ...) RILL_PRINTF(2, 3);

/*
 * Appends a new row to the function's main output and gives a view of it in *row_out, all
 * fields NULL until set. The view is valid until the next rill_emit* call or the function's
 * return. For flat_map and process functions only; RILL_EPERM elsewhere.
 */
RILL_API int rill_emit(rill_ctx *ctx, rill_row *row_out);

/* A named side output with its own schema (Flink's OutputTag). Owned by the env. */
typedef struct rill_output_tag rill_output_tag;
RILL_API rill_output_tag *rill_output_tag_new(rill_env *env, const char *name,
                                              const rill_schema *schema);
/* Like rill_emit, to a side output. A side output that no stream consumes discards rows
 * (counted in the operator's records). RILL_EPERM outside flat_map and process functions. */
RILL_API int rill_emit_side(rill_ctx *ctx, const rill_output_tag *tag, rill_row *row_out);

/* Per-job counters (Flink's accumulators): cheap to add from any function, summed over all
 * subtasks when the job ends. Owned by the env. */
typedef struct rill_counter rill_counter;
RILL_API rill_counter *rill_counter_new(rill_env *env, const char *name);
RILL_API void rill_counter_add(rill_ctx *ctx, rill_counter *counter, int64_t n);
/* The total; exact after rill_env_execute returns. */
RILL_API int64_t rill_counter_value(const rill_counter *counter);

/* ------------------------------------------------------------------------------------------ */
/* User functions                                                                              */
/* ------------------------------------------------------------------------------------------ */

/* One output row per input row. out has the stream's output schema, all fields NULL.
 * Return 0, or a negative code (usually from rill_ctx_fail) to fail the job. */
typedef int (*rill_map_fn)(rill_ctx *ctx, const rill_row *in, rill_row *out);
/* Return 1 to keep the row, 0 to drop it, negative to fail the job. */
typedef int (*rill_filter_fn)(rill_ctx *ctx, const rill_row *in);
/* Zero or more output rows per input row, through rill_emit. Return 0 or negative. */
typedef int (*rill_flat_map_fn)(rill_ctx *ctx, const rill_row *in);
/* Keyed: like flat_map, with the row's key current for state access. Return 0 or negative. */
typedef int (*rill_process_fn)(rill_ctx *ctx, const rill_row *in);
/* Lifecycle hooks, once per subtask: open before the first row (return 0 or negative),
 * close after the last (also when the job fails or is canceled, if open succeeded). */
typedef int (*rill_open_fn)(rill_ctx *ctx);
typedef void (*rill_close_fn)(rill_ctx *ctx);

/* ------------------------------------------------------------------------------------------ */
/* Building the dataflow                                                                       */
/* ------------------------------------------------------------------------------------------ */

/*
 * Graph calls never fail loudly in the middle of a chain of calls: a bad argument (unknown
 * field, schema mismatch) is recorded in the env, the call returns a stream that carries the
 * error along, and rill_env_execute reports the first one. NULL is returned only when a NULL
 * stream or env is passed in.
 */

/* Main output of a map: out_schema NULL keeps the input schema (and the function may then run
 * in place). The schema is referenced, not copied; the caller keeps its own reference.
 * A map's output row has its input row's kind (rill_row_kind) unless the function sets one;
 * a filter keeps the kinds of the rows it keeps. Rows emitted by flat_map, keyed process
 * functions and windows are inserts unless the function sets their kind. */
RILL_API rill_stream *rill_stream_map(rill_stream *in, const rill_schema *out_schema,
                                      rill_map_fn fn, void *user);
RILL_API rill_stream *rill_stream_filter(rill_stream *in, rill_filter_fn fn, void *user);
RILL_API rill_stream *rill_stream_flat_map(rill_stream *in, const rill_schema *out_schema,
                                           rill_flat_map_fn fn, void *user);

/* Partitions by the comma-separated key fields ("user_id" or "region,page"): every row with
 * the same key values reaches the same subtask, in the order it was sent. */
RILL_API rill_keyed_stream *rill_stream_key_by(rill_stream *in, const char *fields);

/* A keyed process function. out_schema NULL keeps the input schema. */
RILL_API rill_stream *rill_keyed_process(rill_keyed_stream *in, const rill_schema *out_schema,
                                         rill_process_fn fn, void *user);

/* Two keyed streams processed together (Flink's KeyedCoProcessFunction): a and b are keyed by
 * keys of the same field types in the same order (their names may differ); rows of a go to
 * fn1, rows of b to fn2, and the keyed state and timers of a key are shared by both
 * (rill_stream_on_timer on the result sets the timer function). The watermark is the least of
 * the two inputs', and checkpoint barriers are aligned over both. out_schema NULL keeps a's. */
RILL_API rill_stream *rill_keyed_co_process(rill_keyed_stream *a, rill_keyed_stream *b,
                                            const rill_schema *out_schema, rill_process_fn fn1,
                                            rill_process_fn fn2, void *user);

/* The rows a function emitted to tag (a stream with the tag's schema). */
RILL_API rill_stream *rill_stream_side_output(rill_stream *s, const rill_output_tag *tag);

/* The rows of streams[0..n) as one stream, in no particular order between the inputs (Flink's
 * DataStream#union). The inputs must have the same field types in the same order; names are the
 * first input's, and a field is nullable when it is in any input. The union's watermark is the
 * least of its inputs'. A stream given twice is read twice. */
RILL_API rill_stream *rill_stream_union(rill_stream *const *streams, int n);

/* Sets the stable uid of the operator that produced s (default: kind and a number, e.g.
 * "map-2"). Uids must be unique in a job; they name operators in errors, metrics and, later,
 * savepoints. Returns s. */
RILL_API rill_stream *rill_stream_uid(rill_stream *s, const char *uid);
/* Sets the parallelism of the operator that produced s (1..max-parallelism). Returns s. */
RILL_API rill_stream *rill_stream_parallelism(rill_stream *s, int parallelism);
/* Lifecycle hooks for the operator that produced s. Returns s. */
RILL_API rill_stream *rill_stream_hooks(rill_stream *s, rill_open_fn open, rill_close_fn close);
/* The schema of the rows on s (borrowed, lives as long as the env). */
RILL_API const rill_schema *rill_stream_schema(const rill_stream *s);

/* ------------------------------------------------------------------------------------------ */
/* Keyed state                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/*
 * A state descriptor (Flink's ValueStateDescriptor): a name and a value size. Owned by the
 * env. The same descriptor used by two operators gives each its own state. value_size 0
 * means values of any length (rill_value_*_bytes); otherwise every value is exactly that
 * many bytes (rill_value_get/set).
 */
typedef struct rill_state_desc rill_state_desc;
RILL_API rill_state_desc *rill_value_state(rill_env *env, const char *name, size_t value_size);

/*
 * Keyed ValueState of the current key, from a keyed process function only (RILL_ESTATE
 * elsewhere). rill_value_get copies the value into out and returns 1, or returns 0 when the
 * key has no value. rill_value_set stores value_size bytes from val. The _bytes forms serve
 * variable-length descriptors; the pointer from rill_value_get_bytes is borrowed until the
 * next state call in this task: copy to keep.
 */
RILL_API int rill_value_get(rill_ctx *ctx, const rill_state_desc *desc, void *out);
RILL_API int rill_value_set(rill_ctx *ctx, const rill_state_desc *desc, const void *val);
RILL_API int rill_value_get_bytes(rill_ctx *ctx, const rill_state_desc *desc, const void **ptr_out,
                                  size_t *len_out);
RILL_API int rill_value_set_bytes(rill_ctx *ctx, const rill_state_desc *desc, const void *val,
                                  size_t len);
RILL_API int rill_value_clear(rill_ctx *ctx, const rill_state_desc *desc);

/*
 * The other keyed state kinds (Flink's ListState, MapState, ReducingState, AggregatingState).
 * Every call is for the current key (also inside window functions: state there is per key, not
 * per window) and returns a negative code on misuse, 0 or 1 as stated. Borrowed pointers live
 * until the next state call in this task.
 */

/* ListState: a list of values of element_size bytes (0: any length). */
RILL_API rill_state_desc *rill_list_state(rill_env *env, const char *name, size_t element_size);
RILL_API int rill_list_add(rill_ctx *ctx, const rill_state_desc *desc, const void *val, size_t len);
/* The number of elements (0 when the key has none). */
RILL_API int64_t rill_list_size(rill_ctx *ctx, const rill_state_desc *desc);
/* Element i (0-based, in insertion order): 1 and the element, or 0 past the end. */
RILL_API int rill_list_get(rill_ctx *ctx, const rill_state_desc *desc, int64_t i,
                           const void **ptr_out, size_t *len_out);
RILL_API int rill_list_clear(rill_ctx *ctx, const rill_state_desc *desc);

/* MapState: user keys to values (both any length). */
RILL_API rill_state_desc *rill_map_state(rill_env *env, const char *name);
/* 1 and the value, or 0 when absent. */
RILL_API int rill_map_get(rill_ctx *ctx, const rill_state_desc *desc, const void *ukey,
                          size_t ukey_len, const void **val_out, size_t *len_out);
RILL_API int rill_map_put(rill_ctx *ctx, const rill_state_desc *desc, const void *ukey,
                          size_t ukey_len, const void *val, size_t len);
/* 1 when it was there, 0 when not. */
RILL_API int rill_map_remove(rill_ctx *ctx, const rill_state_desc *desc, const void *ukey,
                             size_t ukey_len);
/* Calls fn for every entry of the current key (order unspecified); fn returns 0 to go on,
 * nonzero to stop (that value is returned). fn must not change this map state. */
typedef int (*rill_map_visit_fn)(void *arg, const void *ukey, size_t ukey_len, const void *val,
                                 size_t len);
RILL_API int rill_map_iterate(rill_ctx *ctx, const rill_state_desc *desc, rill_map_visit_fn fn,
                              void *arg);
RILL_API int rill_map_clear(rill_ctx *ctx, const rill_state_desc *desc);

/* ReducingState: one value of value_size bytes; rill_reducing_add folds a new value into it
 * with reduce(acc, val) (acc is updated in place). */
typedef void (*rill_reduce_fn)(void *acc, const void *val, void *user);
RILL_API rill_state_desc *rill_reducing_state(rill_env *env, const char *name, size_t value_size,
                                              rill_reduce_fn reduce, void *user);
RILL_API int rill_reducing_add(rill_ctx *ctx, const rill_state_desc *desc, const void *val);
/* 1 and the value (copied to out), or 0 when nothing was added yet. */
RILL_API int rill_reducing_get(rill_ctx *ctx, const rill_state_desc *desc, void *out);

/* An aggregate function over rows (Flink's AggregateFunction): an accumulator of acc_size bytes
 * made by create, updated by add, combined by merge (sessions, sliding slices), read by result
 * (which fills a row of the output schema). add and result may fail with a negative code; in a
 * window aggregation they reach user through rill_ctx_user. */
typedef struct rill_aggregate {
    size_t acc_size;
    void (*create)(void *acc, void *user);
    int (*add)(rill_ctx *ctx, void *acc, const rill_row *in);
    void (*merge)(void *acc, const void *other, void *user);
    int (*result)(rill_ctx *ctx, const void *acc, rill_row *out);
    void *user;
} rill_aggregate;

/* AggregatingState: one accumulator per key; rill_aggregating_add adds a row to it. */
RILL_API rill_state_desc *rill_aggregating_state(rill_env *env, const char *name,
                                                 const rill_aggregate *agg);
RILL_API int rill_aggregating_add(rill_ctx *ctx, const rill_state_desc *desc, const rill_row *in);
/* 1 and a pointer to the accumulator, or 0 when nothing was added yet. */
RILL_API int rill_aggregating_get(rill_ctx *ctx, const rill_state_desc *desc, const void **acc_out);

/* Clears the value of any state kind for the current key. */
RILL_API int rill_state_clear(rill_ctx *ctx, const rill_state_desc *desc);

/* State time-to-live (Flink's StateTtlConfig), set on a descriptor before the job runs. A value
 * not written (or, with RILL_TTL_ON_READ_AND_WRITE, not read or written) for ttl_ms of
 * processing time is expired: never returned, and removed by incremental cleanup as state is
 * accessed, so state does not grow without bound. */
typedef enum rill_ttl_update {
    RILL_TTL_ON_CREATE_AND_WRITE = 0,
    RILL_TTL_ON_READ_AND_WRITE = 1,
} rill_ttl_update;
RILL_API int rill_state_ttl(rill_state_desc *desc, int64_t ttl_ms, rill_ttl_update update);

/* ------------------------------------------------------------------------------------------ */
/* Event time, watermarks and timers                                                          */
/* ------------------------------------------------------------------------------------------ */

/* The largest timestamp: the watermark of an input that has ended. */
#define RILL_TS_MAX INT64_MAX
#define RILL_TS_MIN INT64_MIN

typedef enum rill_watermark_kind {
    RILL_WM_BOUNDED = 0,    /* bounded out-of-orderness: max timestamp seen - delay - 1 */
    RILL_WM_MONOTONOUS = 1, /* ascending timestamps: max timestamp seen - 1 */
    RILL_WM_NONE = 2,       /* timestamps only, no watermarks (until the input ends) */
    RILL_WM_OFFSET = 3,     /* max timestamp seen - delay (Flink SQL's WATERMARK FOR ts AS
                               ts - INTERVAL ...; delay 0: AS ts) */
} rill_watermark_kind;

typedef struct rill_watermark_opts {
    rill_watermark_kind kind;
    int64_t max_delay_ms;    /* RILL_WM_BOUNDED, RILL_WM_OFFSET */
    int64_t idle_timeout_ms; /* > 0: an input with no rows for this long stops holding the
                                watermark back until rows come again */
} rill_watermark_opts;

/*
 * Event time for the rows of s: each row's timestamp is its TIMESTAMP (or INT64) field
 * ts_field, and watermarks follow opts (NULL: bounded with delay 0). Placed directly on a
 * source, each split (file) keeps its own watermark and the source emits their minimum, as
 * Flink's per-split watermarks do. Watermarks never go backwards; the end of a bounded input
 * sends RILL_TS_MAX so every window and timer fires. A row whose timestamp field is NULL fails
 * the job (or is skipped under the "skip" bad-records policy).
 */
RILL_API rill_stream *rill_stream_event_time(rill_stream *s, const char *ts_field,
                                             const rill_watermark_opts *opts);

/* The current row's event timestamp (RILL_TS_MIN when the stream has none). */
RILL_API int64_t rill_ctx_timestamp(const rill_ctx *ctx);
/* The operator's current watermark (RILL_TS_MIN before the first). */
RILL_API int64_t rill_ctx_watermark(const rill_ctx *ctx);
/* Processing time: the task's clock in epoch milliseconds. */
RILL_API int64_t rill_ctx_now(const rill_ctx *ctx);
/* The id of the newest completed checkpoint this task has been told of (0: none yet). */
RILL_API int64_t rill_ctx_last_checkpoint(const rill_ctx *ctx);

/* Timers of the current key, from keyed process functions (and their on_timer). Registering the
 * same (key, timestamp, domain) twice fires once. Event-time timers fire when the watermark
 * reaches their time, processing-time ones when the clock does, in timestamp order. */
RILL_API int rill_timer_event(rill_ctx *ctx, int64_t ts);
RILL_API int rill_timer_event_delete(rill_ctx *ctx, int64_t ts);
RILL_API int rill_timer_processing(rill_ctx *ctx, int64_t ts);
RILL_API int rill_timer_processing_delete(rill_ctx *ctx, int64_t ts);

typedef enum rill_time_domain {
    RILL_EVENT_TIME = 0,
    RILL_PROCESSING_TIME = 1,
} rill_time_domain;

/* Called when a timer fires, with its key current (state, rill_emit and new timers work as in
 * the process function). Rows emitted from an event-time timer get the timer's timestamp as
 * their event time; from a processing-time timer they have none (as in Flink). Processing-time
 * timers still pending when the input ends do not fire. */
typedef int (*rill_timer_fn)(rill_ctx *ctx, int64_t ts, rill_time_domain domain);
/* Sets the on_timer function of the keyed process function that produced s. Returns s. */
RILL_API rill_stream *rill_stream_on_timer(rill_stream *s, rill_timer_fn fn);

/* The fields of the current key, in on_timer and process functions (field i of the key_by
 * list): as int64 every kind whose slot is an integer (BOOL, INT8..INT64, DATE, TIME,
 * TIMESTAMP(_LTZ) in the field's unit, intervals); DOUBLE; STRING or BYTES (borrowed until the
 * function returns). A DECIMAL or FLOAT key field has no getter here (RILL_ETYPE).
 * RILL_ETYPE or RILL_ERANGE when the field does not have that type or does not exist. */
RILL_API int rill_ctx_key_i64(const rill_ctx *ctx, int i, int64_t *out);
RILL_API int rill_ctx_key_f64(const rill_ctx *ctx, int i, double *out);
RILL_API int rill_ctx_key_str(const rill_ctx *ctx, int i, const char **ptr_out, size_t *len_out);
/* Whether key field i of the current key is NULL (the getters above give 0 or "" for one). */
RILL_API bool rill_ctx_key_is_null(const rill_ctx *ctx, int i);

/* ------------------------------------------------------------------------------------------ */
/* Windows                                                                                    */
/* ------------------------------------------------------------------------------------------ */

typedef enum rill_window_kind {
    RILL_WINDOW_TUMBLING = 1, /* size, offset */
    RILL_WINDOW_SLIDING = 2,  /* size, slide, offset */
    RILL_WINDOW_SESSION = 3,  /* gap: windows of one key merge when they touch or overlap */
    RILL_WINDOW_GLOBAL = 4,   /* one window per key; fires only by trigger (count, early) */
    RILL_WINDOW_CUMULATE = 5, /* size (the largest), slide (the step; size a multiple of it),
                               * offset: windows [s, s + slide), [s, s + 2 * slide), ...,
                               * [s, s + size) for each s = offset + k * size (Flink's) */
} rill_window_kind;

typedef enum rill_trigger_kind {
    RILL_TRIGGER_DEFAULT = 0, /* fire when the time (watermark, or clock) passes the window */
    RILL_TRIGGER_COUNT = 1,   /* fire every `count` rows of the window (and purge) */
} rill_trigger_kind;

typedef struct rill_window_spec {
    rill_window_kind kind;
    rill_time_domain domain;     /* event time (default) or processing time */
    int64_t size_ms, slide_ms, offset_ms, gap_ms;
    int64_t allowed_lateness_ms; /* event time: late rows within it update and re-fire */
    rill_trigger_kind trigger;
    int64_t count;               /* RILL_TRIGGER_COUNT */
    int64_t early_every_ms;      /* > 0: also fire early every interval of processing time */
    const rill_output_tag *late; /* rows later than the allowed lateness go here (tag with the
                                    input's schema), as they came in; counted in any case */
    const char *time_zone;       /* NULL: windows of UTC. A zone name ("America/New_York",
                                  * "+08:00"): windows of its local time, as Flink SQL's over a
                                  * TIMESTAMP_LTZ (a 1-day window from local midnight, 23 or 25
                                  * hours long on DST days); window start and end are local
                                  * times (ms as if UTC), a window fires when the time passes its
                                  * local end, emitted rows get the instant of end - 1. Not with
                                  * early firings. Copied. */
} rill_window_spec;

/* Built-in incremental aggregates over one field (COUNT counts rows; field may be NULL). NULL
 * values are ignored, as in SQL. Result types: COUNT INT64; SUM the field's type; MIN/MAX the
 * field's type; AVG DOUBLE (NULL for no values). */
typedef enum rill_agg_kind {
    RILL_AGG_COUNT = 1,
    RILL_AGG_SUM,
    RILL_AGG_MIN,
    RILL_AGG_MAX,
    RILL_AGG_AVG,
} rill_agg_kind;

typedef struct rill_agg_spec {
    rill_agg_kind kind;
    const char *field; /* input field (not for COUNT) */
    const char *as;    /* output field name (default: "count", "sum_<field>", ...) */
} rill_agg_spec;

/*
 * Windowed aggregation with built-in aggregates. The output rows are: the key fields, then
 * window_start and window_end (TIMESTAMP), then one field per aggregate; their event time is
 * window_end - 1. Sliding windows are computed from shared slices: each row is aggregated once.
 */
RILL_API rill_stream *rill_window_aggregate(rill_keyed_stream *in, const rill_window_spec *w,
                                            const rill_agg_spec *aggs, int n_aggs);

/* The window being emitted, in window functions. */
typedef struct rill_window {
    int64_t start, end; /* [start, end); the global window is [RILL_TS_MIN, RILL_TS_MAX) */
} rill_window;
RILL_API int rill_ctx_window(const rill_ctx *ctx, rill_window *w_out);

/* Windowed aggregation with a user aggregate: result fills one row of out_schema per firing
 * (rill_ctx_window and the rill_ctx_key_* calls tell which window and key). */
RILL_API rill_stream *rill_window_aggregate_fn(rill_keyed_stream *in, const rill_window_spec *w,
                                               const rill_schema *out_schema,
                                               const rill_aggregate *agg);

/* The rows of a window, in arrival order, for a full window process function. */
typedef struct rill_rows rill_rows;
/* 1 and the next row, or 0 at the end. The row is valid until the next call. */
RILL_API int rill_rows_next(rill_rows *rows, rill_row *row_out);
RILL_API int64_t rill_rows_count(const rill_rows *rows);

/* A full window function: sees every row of the window (or, after an aggregate, the one
 * aggregated row) and emits any number of rows with rill_emit. */
typedef int (*rill_window_fn)(rill_ctx *ctx, const rill_window *w, rill_rows *rows);

/* Windowing with a full window function (rows are kept in state until the window fires). */
RILL_API rill_stream *rill_window_process(rill_keyed_stream *in, const rill_window_spec *w,
                                          const rill_schema *out_schema, rill_window_fn fn,
                                          void *user);
/* An aggregate (built-in aggs, or agg when aggs is NULL) whose one result row per firing is
 * handed to fn, with the window (Flink's aggregate(agg, windowFunction)). */
RILL_API rill_stream *rill_window_aggregate_process(rill_keyed_stream *in,
                                                    const rill_window_spec *w,
                                                    const rill_agg_spec *aggs, int n_aggs,
                                                    const rill_aggregate *agg,
                                                    const rill_schema *agg_schema,
                                                    const rill_schema *out_schema,
                                                    rill_window_fn fn, void *user);

/* ------------------------------------------------------------------------------------------ */
/* Sources                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* How one field of a generated row is made from the row's sequence number n (0, 1, 2, ...). */
typedef enum rill_gen_kind {
    RILL_GEN_NULL = 0,       /* NULL (the field must be nullable), or 0 for NOT NULL fields */
    RILL_GEN_SEQUENCE,       /* a + n * b / (c ? c : 1)  (INT64, TIMESTAMP; DOUBLE gets it too) */
    RILL_GEN_MODULO,         /* a + n mod b  (b > 0) */
    RILL_GEN_UNIFORM_INT,    /* uniform in [a, b] */
    RILL_GEN_UNIFORM_DOUBLE, /* uniform in [x, y) */
    RILL_GEN_STRING,         /* one of choices[0..n_choices), uniform; or "<prefix><k>" with k
                                uniform in [a, b] when n_choices is 0 (prefix = choices[0]
                                or "" when choices is NULL) */
    RILL_GEN_CONSTANT,       /* a (INT64, TIMESTAMP, BOOL), x (DOUBLE), choices[0] (STRING) */
} rill_gen_kind;

typedef struct rill_gen_field {
    const char *name; /* field of the schema */
    rill_gen_kind kind;
    int64_t a, b, c;
    double x, y;
    const char *const *choices;
    int n_choices;
} rill_gen_field;

/* Optional per-row hook after the field specs: fill or change fields of row from n. Must be
 * a pure function of n (and the user pointer) for the source to be deterministic. */
typedef int (*rill_gen_fn)(rill_ctx *ctx, uint64_t n, rill_row *row);

typedef struct rill_gen_opts {
    uint64_t seed;                 /* random fields are a pure function of (seed, n, field) */
    int64_t events;                /* rows in all, over all subtasks; 0 = unbounded */
    double rate;                   /* rows per second over all subtasks; 0 = full speed */
    const rill_gen_field *fields;  /* fields not listed are NULL (or 0 if NOT NULL) */
    int n_fields;
    rill_gen_fn fn;                /* optional */
    void *user;                    /* for fn, through rill_ctx_user */
} rill_gen_opts;

/*
 * A deterministic generator. Row n is the same whatever the parallelism: subtask i of p makes
 * rows i, i+p, i+2p, ... Field specs are checked against the schema here; errors go to the
 * env as for every graph call.
 */
RILL_API rill_stream *rill_source_generator(rill_env *env, const rill_schema *schema,
                                            const rill_gen_opts *opts);

typedef enum rill_format {
    RILL_FMT_CSV = 1,  /* RFC 4180: quoted fields, "" for a quote, CRLF or LF */
    RILL_FMT_JSON = 2, /* JSON lines: one object per line, fields by name */
} rill_format;

typedef struct rill_file_opts {
    rill_format format; /* 0 means CSV */
    bool no_header;     /* CSV: the files have no header line; columns are in schema order */
    char delimiter;     /* CSV: 0 means ',' */
} rill_file_opts;

/*
 * Reads every row of one file, of the files a glob matches, or of the regular files under a
 * directory, recursively, names that start with '.' or '_' skipped, as Flink's file source
 * (sorted by path; one split each, spread over the subtasks). A CSV header names
 * the columns: they are matched to the schema by name, extra columns are ignored, and a
 * missing NOT NULL field is an error. Malformed records follow the env's "bad-records" policy;
 * the error names the file, line, column and what was expected. Bounded: the stream ends after
 * the last file. opts NULL means CSV with a header.
 */
RILL_API rill_stream *rill_source_file(rill_env *env, const char *path, const rill_schema *schema,
                                       const rill_file_opts *opts);

/*
 * Reads Kafka topics (librdkafka). options: NULL-terminated key, value pairs named as Flink's
 * Kafka connector names them (docs/kafka.md): "topic" (several: "a;b") or "topic-pattern",
 * "properties.bootstrap.servers" (or "url", "kafka://HOST:PORT[,HOST:PORT...]/TOPIC"),
 * "properties.group.id", "properties.<any librdkafka property>", "scan.startup.mode"
 * (group-offsets, earliest-offset, latest-offset, timestamp, specific-offsets),
 * "scan.bounded.mode" (unbounded, latest-offset, timestamp, group-offsets, specific-offsets),
 * "format" (csv: one line per message value, the non-metadata fields in order, no header;
 * json; raw: the value as the one STRING field), "metadata.<field>" (topic, partition, offset,
 * timestamp, timestamp-type, key, headers, header.<name>), "key.fields" with "key.format" and
 * "value.fields-include" EXCEPT_KEY (fields read from the message key). Partitions are the
 * splits, spread over the subtasks by rill; their offsets are the source's state in
 * checkpoints, restored exactly at any parallelism, and committed to the group (when one is
 * set) as checkpoints complete. Each row's event timestamp is its message's timestamp:
 * rill_stream_event_time with a NULL field keeps it. A bad option fails here, naming it.
 */
RILL_API rill_stream *rill_source_kafka(rill_env *env, const rill_schema *schema,
                                        const char *const *options);

/*
 * Generates rows as Flink's 'datagen' connector does (docs/sql.md, "The datagen connector").
 * options: NULL-terminated key, value pairs with Flink's names: "rows-per-second" (all
 * subtasks together; default 10000), "number-of-rows" (bounded; default unbounded), and per
 * field "fields.<field>.kind" (random, the default, or sequence), ".min", ".max", ".max-past",
 * ".length", ".var-len", ".null-rate" (random) and ".start", ".end" (sequence: each value once,
 * the stream ends when a sequence is exhausted); rill's own "seed" changes the random values.
 * Row n of the stream is a pure function of n and the options (timestamps, dates and times
 * excepted: they follow the wall clock). Sequences are checkpointed and restore exactly at any
 * parallelism. A bad or unknown option fails here, naming it.
 */
RILL_API rill_stream *rill_source_datagen(rill_env *env, const rill_schema *schema,
                                          const char *const *options);

/* ------------------------------------------------------------------------------------------ */
/* Sinks                                                                                       */
/* ------------------------------------------------------------------------------------------ */

/*
 * Sinks end a stream. Each returns the sink's own stream handle, for rill_stream_uid and
 * rill_stream_parallelism; it cannot be consumed further.
 */

/* Writes rows to standard output, CSV (with a header) or JSON lines. opts NULL: CSV. */
RILL_API rill_stream *rill_sink_print(rill_stream *in, const rill_file_opts *opts);
/*
 * Writes rows to path as CSV (header first) or JSON lines. At parallelism 1 path is the file
 * (created or truncated); above 1, path is a directory with one file "part-<subtask>" each.
 */
RILL_API rill_stream *rill_sink_file(rill_stream *in, const char *path, const rill_file_opts *opts);
/*
 * Exactly-once file sink (two-phase commit): writes part files into directory dir (created),
 * each subtask its own "part-<subtask>-<n>". Rows go to hidden in-progress files
 * (".part-<subtask>-<n>.inprogress"), made durable at each checkpoint's barrier and renamed to
 * their final names when that checkpoint completes; after a failure, output that no completed
 * checkpoint covers is discarded and replayed. Readers of dir only ever see committed files.
 * Without checkpointing, files are committed when the input ends.
 */
RILL_API rill_stream *rill_sink_file_exactly_once(rill_stream *in, const char *dir,
                                                  const rill_file_opts *opts);
/*
 * Writes each row as one Kafka message (librdkafka) to the one "topic". options as for
 * rill_source_kafka ("topic", "properties.*", "url", "format": csv lines without header or
 * json), and "sink.delivery-guarantee": at-least-once (the default: every message acknowledged
 * before a checkpoint completes), none, or exactly-once (Kafka transactions, one per subtask
 * and checkpoint, committed when it completes; needs "sink.transactional-id-prefix");
 * "key.fields" (the fields the message key is made of, "a;b"; "key.format" raw, the one
 * field's text, by default, or csv, json; "value.fields-include" EXCEPT_KEY leaves them out of
 * the value), "sink.partitioner" (default: by key hash, fixed, round-robin), "sink.timestamp"
 * (event-time, the default, or now).
 */
RILL_API rill_stream *rill_sink_kafka(rill_stream *in, const char *const *options);
/* Where rows come from or go to, by a location string: rill_source_at and rill_sink_at. */
typedef struct rill_io_opts {
    const rill_file_opts *format; /* files, and Kafka message values (CSV without header); NULL:
                                     CSV (files with a header) */
    bool exactly_once; /* sinks: a path is a directory written by the exactly-once file sink;
                          Kafka output goes in transactions */
    bool unbounded;    /* Kafka sources: keep reading; else stop at the offsets that were the
                          latest when the job started */
} rill_io_opts;

/*
 * A source from a location: "kafka://HOST:PORT[,HOST:PORT...]/TOPIC" (rill_source_kafka: one
 * row per message value, read from the earliest offset, bounded unless opts->unbounded; each
 * row's event timestamp its message's) or a file, glob or directory (rill_source_file). opts
 * may be NULL.
 */
RILL_API rill_stream *rill_source_at(rill_env *env, const char *location,
                                     const rill_schema *schema, const rill_io_opts *opts);
/*
 * A sink to a location: "-" (rill_sink_print), "kafka://HOST:PORT[,...]/TOPIC"
 * (rill_sink_kafka: one message per row, its value a CSV line without header or a JSON object;
 * exactly_once: transactions with the prefix "rill-<job name>", their ids
 * "rill-<job name>-<sink uid>-<subtask>"), a path
 * (rill_sink_file; exactly_once: rill_sink_file_exactly_once into that directory), or NULL
 * (rill_sink_blackhole). opts may be NULL.
 */
RILL_API rill_stream *rill_sink_at(rill_stream *in, const char *location,
                                   const rill_io_opts *opts);
/* Discards rows, counting them (rill_env_metric "records_in"). */
RILL_API rill_stream *rill_sink_blackhole(rill_stream *in);

/* ------------------------------------------------------------------------------------------ */
/* SQL functions in C                                                                         */
/* ------------------------------------------------------------------------------------------ */

/*
 * A scalar SQL function written in C, in a shared library: CREATE FUNCTION f AS 'symbol'
 * LANGUAGE C USING JAR 'lib.so' finds the rill_udf named `symbol` in lib.so. A library can also
 * list its functions in `const rill_udf *const rill_udfs[]` (NULL-ended): then CREATE FUNCTION
 * f AS 'com.example.SomeClass' (a Java class name, as a Flink script has it) finds the one whose
 * java_class is that name in a library of 'pipeline.jars' (SET 'pipeline.jars' =
 * 'file:///path/lib.so;...'), so such scripts run unchanged.
 *
 * Values by the SQL type: BOOLEAN (0/1), TINYINT..BIGINT, DATE (days since 1970-01-01), TIME
 * (ms of the day), TIMESTAMP(3) and TIMESTAMP_LTZ(3) (ms since the epoch) in i; FLOAT and
 * DOUBLE in d; CHAR, VARCHAR/STRING (UTF-8) and BINARY/BYTES in s and len. Arguments are cast
 * to arg_types first (as Flink casts a call's arguments to its eval's parameters).
 */
#define RILL_UDF_ABI 1

typedef struct rill_udf_value {
    bool is_null;
    int64_t i;
    double d;
    const char *s; /* not NUL-terminated */
    size_t len;
} rill_udf_value;

enum {
    RILL_UDF_NULL_ON_NULL = 1u << 0, /* a NULL argument gives NULL, eval not called */
    RILL_UDF_VOLATILE = 1u << 1,     /* a new value each call (never folded) */
};

typedef struct rill_udf {
    int abi;                      /* RILL_UDF_ABI */
    const char *name;             /* for messages */
    const char *java_class;       /* NULL, or the Java class it stands in for */
    const char *result_type;      /* a SQL type: "BIGINT", "STRING", "DOUBLE", "TIMESTAMP(3)" */
    int n_args;                   /* the arguments: exactly this many */
    const char *const *arg_types; /* their SQL types */
    unsigned flags;               /* RILL_UDF_* */
    /* Optional: once per task that uses the function (its state, may be NULL), and when the
     * task ends. */
    void *(*open)(const struct rill_udf *f);
    void (*close)(void *state);
    /* One row: out->is_null false and zeros on entry. out->s may point into the arguments or
     * into memory of the function's own that stays valid until its next call on this state.
     * 0, or nonzero with msg set (a sentence): the job fails naming the function and the
     * place in the script. */
    int (*eval)(void *state, const rill_udf_value *args, rill_udf_value *out, char *msg,
                size_t msg_cap);
} rill_udf;

#ifdef __cplusplus
}
#endif
#endif /* RILL_H */
