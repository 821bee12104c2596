/*
 * ops.h - the operators layer's interface: the operator contract (batches in, batches out
 * through an output), the function context handed to user functions, and the built-in
 * operators map, filter, flat_map and keyed process. Depends on base, data and state.
 */
#ifndef RILL_OPS_H
#define RILL_OPS_H

#include "time/time.h"

typedef struct rill__operator rill__operator;
typedef struct rill__output rill__output;
typedef struct rill__ksnap rill__ksnap; /* snapshot.h */

/* ---- outputs: where an operator's batches go (the next chained operator, a fan-out, a
 * channel writer of the runtime, or nowhere) -------------------------------------------------- */

typedef struct rill__output_ops {
    /* Takes over the caller's reference to b. 0 or a negative code (the task fails). */
    int (*batch)(rill__output *o, rill_batch *b);
    /* Event time has advanced to wm: every later row has a timestamp > wm. */
    int (*watermark)(rill__output *o, int64_t wm);
    /* The stream became idle (no rows, its watermark should not hold others back) or active. */
    int (*idle)(rill__output *o, bool idle);
    /* Checkpoint barrier `id`: everything before it belongs to checkpoint id. */
    int (*barrier)(rill__output *o, uint64_t id);
    /* The input has ended: flush and pass it on. */
    int (*end)(rill__output *o);
    void (*destroy)(rill__output *o);
} rill__output_ops;

struct rill__output {
    const rill__output_ops *ops;
};

/* An output that feeds operator op (chaining: no queue, no copy). */
rill__output *rill__output_chain(rill__operator *op);
/* An output that gives each batch to every one of outs (sharing it by reference); takes
 * ownership of the outs. */
rill__output *rill__output_fanout(rill__output **outs, int n);
/* An output that drops everything. */
rill__output *rill__output_discard(void);
void rill__output_free(rill__output *o); /* NULL-safe */

/* ---- side output tags and counters (public opaque types) ----------------------------------- */

struct rill_output_tag {
    int id; /* dense index within its env */
    char *name;
    rill_schema *schema;
};

struct rill_counter {
    int id; /* dense index within its env */
    char *name;
    atomic_llong total;
};

/* ---- the function context ------------------------------------------------------------------ */

/* Builds rows for one output: a batch from the pool being filled, pushed when full and at the
 * end of each input batch. */
typedef struct rill__emitter {
    rill__output *out;      /* NULL: this output is not consumed; rows are discarded */
    rill__batch_pool *pool;
    rill_batch *cur;
    rill_batch *scratch;    /* discard target */
    int64_t n_rows;
} rill__emitter;

struct rill_ctx {
    rill__operator *op;
    void *user, *local;
    int subtask, parallelism;
    const char *uid;
    bool can_emit;
    /* keyed operators: the current key and the state tables by descriptor id */
    bool keyed;
    rill__state_key key;
    rill__state_backend *backend;
    rill__state_table **tables;
    int n_tables;
    /* state kinds and TTL (state_kinds.c): scratch for TTL-prefixed values and the TTL cleanup
     * cursor of each table by descriptor id; freed by rill__ctx_state_fini */
    rill__buf state_scratch;
    uint64_t *ttl_cursors;
    int n_ttl_cursors;
    const rill__key_spec *key_spec; /* how the key bytes decode into fields */
    rill__timer_service *timers;    /* keyed operators with timers */
    rill__clock clock;              /* processing time (NULL now_ms: the wall clock) */
    const rill_window *window;      /* window functions: the window being emitted */
    /* user counters by id, added to the totals when the operator closes */
    int64_t *counters;
    rill_counter **counter_objs;
    int n_counters;
    rill__err user_err; /* what rill_ctx_fail recorded */
};

/* ---- operators ----------------------------------------------------------------------------- */

typedef struct rill__operator_ops {
    const char *kind;
    int (*open)(rill__operator *op);
    /* Takes over the reference to b. */
    int (*process)(rill__operator *op, rill_batch *b);
    /* The input's watermark advanced to wm (NULL: rill__operator_watermark, which forwards). */
    int (*watermark)(rill__operator *op, int64_t wm);
    /* Processing time has reached now_ms (called when op->next_tick_ms <= now). NULL: none. */
    int (*tick)(rill__operator *op, int64_t now_ms);
    /* Checkpoint id: appends the operator's state to out, taken when the barrier has arrived
     * on every input. Keyed state goes asynchronously: *keyed_out (NULL on entry) may be set
     * to a keyed snapshot begun here and written later on another thread; its bytes follow
     * those in out. NULL: the operator has no state. */
    int (*snapshot)(rill__operator *op, uint64_t id, rill__buf *out, rill__ksnap **keyed_out);
    /* Restore: the state this operator's uid left in one old subtask (of old_par), once per
     * old subtask; keyed operators keep the key groups they now own. NULL: stateless. */
    int (*restore)(rill__operator *op, int old_subtask, int old_par, const void *data,
                   size_t len);
    /* Checkpoint id is complete (every task's state is durable): two-phase commits commit.
     * Called on the task's thread. NULL: nothing to do. */
    int (*checkpoint_complete)(rill__operator *op, uint64_t id);
    /* All input has been processed: emit what is pending, then end the outputs. */
    int (*end_input)(rill__operator *op);
    /* The task stops without draining (stop-with-savepoint without --drain), after its savepoint
     * completed and was told to the operator: the input does not end, nothing fires, and the
     * outputs are left to the task. Keep what no checkpoint covers from being lost where that
     * is the operator's contract (a sink without two-phase commit flushes); a two-phase-commit
     * sink commits nothing more. NULL: nothing to do. */
    int (*stop)(rill__operator *op);
    /* Called once, after open succeeded or failed, also on failure and cancel. */
    void (*close)(rill__operator *op);
    void (*destroy)(rill__operator *op);
} rill__operator_ops;

/* Everything an operator instance needs from the graph and the task. */
typedef struct rill__op_init {
    const char *uid;
    int subtask, parallelism, max_parallelism;
    void *user;
    rill_open_fn open;
    rill_close_fn close;
    const rill_schema *in_schema, *out_schema; /* out_schema NULL: same as in_schema */
    uint32_t batch_size;
    rill_counter **counters; /* the env's counters, by id */
    int n_counters;
    int n_tags;              /* side output tags in the env (ids 0..n_tags-1) */
    rill__err *task_err;     /* the task's error, where failures are recorded */
    /* keyed operators: where their state backend keeps files, and its memory budget */
    const char *state_dir;
    int64_t state_memory;
    bool state_incremental; /* checkpoints take native snapshots (rill__ksnap_begin_native) */
    bool state_heap_timers; /* timers in memory even when the backend could keep them */
} rill__op_init;

struct rill__operator {
    const rill__operator_ops *ops;
    char *uid;
    rill__user_site site; /* marks its user functions' calls (crash reports) */
    int subtask, parallelism, max_parallelism;
    rill_open_fn open_hook;
    rill_close_fn close_hook;
    bool opened;
    rill_schema *in_schema, *out_schema;
    uint32_t batch_size;
    rill__emitter main;      /* main output */
    rill__emitter *side;     /* by tag id */
    int n_side;
    rill_ctx ctx;
    rill__err *task_err;
    char *state_dir; /* NULL: the backend's default */
    int64_t state_memory;
    bool state_incremental;
    bool state_heap_timers;
    /* set by the task for the snapshot it is about to take: a savepoint's, which must be
     * canonical (also with state_incremental) */
    bool snap_canonical;
    /* set by the task before restore: the directory of the checkpoint being restored (a native
     * snapshot's files are there); NULL when there is none */
    const char *restore_dir;
    int64_t records_in, records_out;
    /* rows dropped as late (no side output took them), Flink's numLateRecordsDropped */
    int64_t late_dropped;
    /* event time: the last watermark delivered to this operator (RILL_TS_MIN before the first);
     * watermark below is the last it sent on */
    int64_t in_watermark;
    /* the head of a task with several inputs: which input the batch being processed came
     * from (0: the first; set by the task before process) */
    int input;
    /* the event timestamp of the input row being processed, inherited by emitted rows */
    bool in_has_ts;
    int64_t in_ts;
    /* event time: the last watermark received (RILL_TS_MIN before the first) */
    int64_t watermark;
    /* event time: the watermark this operator had sent when the checkpoint it was restored
     * from was taken (RILL_TS_MIN: none); its task sends it as its first message, before any
     * row, so that downstream lateness is judged as it was before the failure */
    int64_t restored_watermark;
    /* processing time: when tick wants to run next (RILL_TS_MAX: never); the task reads it */
    int64_t next_tick_ms;
    /* the newest checkpoint known to be complete (0: none) */
    uint64_t last_checkpoint;
    rill__clock clock;
};

/* Common set-up and tear-down for operator implementations (also used by the connectors and
 * runtime layers for sources and sinks). */
void rill__operator_init(rill__operator *op, const rill__operator_ops *ops,
                         const rill__op_init *init);
void rill__operator_fini(rill__operator *op);
/* Runs the user open hook; records a failure in the task error. */
int rill__operator_open_hook(rill__operator *op);
void rill__operator_close_hook(rill__operator *op);
/* close's default: the user close hook, then the counters gathered are published (in that
 * order: the hook may still add to them). */
void rill__operator_close(rill__operator *op);
/* Connects the main output (tag < 0) or side output tag to out (taking ownership). */
void rill__operator_set_output(rill__operator *op, int tag, rill__output *out);
/* Records "operator 'uid' (subtask i/p): <what>" in the task error and returns rc. */
RILL_PRINTF(3, 4) int rill__operator_fail(rill__operator *op, int rc, const char *fmt, ...);
/* Turns a user function's negative result into a task failure with its message. */
int rill__operator_user_failed(rill__operator *op, int rc, const char *fn_name);
/* Pushes the emitters' partly filled batches downstream. */
int rill__operator_flush(rill__operator *op);
/* Sends batch b (taking the reference) to the main output, counting its rows. */
int rill__operator_forward(rill__operator *op, rill_batch *b);
/* end_input's default: flush, then end every output. */
int rill__operator_end_outputs(rill__operator *op);
/* watermark's default: flush, remember it, and pass it to every output. */
int rill__operator_watermark(rill__operator *op, int64_t wm);
/* Flushes, sets op->watermark to wm and passes it to every output (no check). */
int rill__operator_send_watermark(rill__operator *op, int64_t wm);
/* Passes an idle / active status to every output. */
int rill__operator_idle(rill__operator *op, bool idle);
/* Flushes and passes checkpoint barrier id to every output (after the operator's snapshot). */
int rill__operator_barrier(rill__operator *op, uint64_t id);
/* Delivers a watermark to op (its own callback or the default). */
static inline int rill__operator_deliver_watermark(rill__operator *op, int64_t wm)
{
    op->in_watermark = wm;
    return op->ops->watermark ? op->ops->watermark(op, wm) : rill__operator_watermark(op, wm);
}
/* Adds the user counters gathered by this instance to their totals. */
void rill__operator_publish_counters(rill__operator *op);

rill__operator *rill__op_map(const rill__op_init *init, rill_map_fn fn);
rill__operator *rill__op_filter(const rill__op_init *init, rill_filter_fn fn);
rill__operator *rill__op_flat_map(const rill__op_init *init, rill_flat_map_fn fn);
/* The rows of several inputs (the task's channels of every input edge) as one stream. */
rill__operator *rill__op_union(const rill__op_init *init);
/* A keyed process function over rows partitioned by key (hashes set by the partitioner). */
/* Two inputs (the task sets op->input): rows of input 1 go to fn2, keyed by key2 (key's types). */
rill__operator *rill__op_keyed_co_process(const rill__op_init *init, const rill__key_spec *key,
                                          const rill__key_spec *key2,
                                          const rill__state_backend_ops *backend,
                                          rill_process_fn fn, rill_process_fn fn2,
                                          rill_timer_fn on_timer);
rill__operator *rill__op_keyed_process(const rill__op_init *init, const rill__key_spec *key,
                                       const rill__state_backend_ops *backend,
                                       rill_process_fn fn, rill_timer_fn on_timer);

/* Event time: takes each row's timestamp from field ts_field and generates watermarks per
 * source split (batches tagged with their split) or for the whole stream, merged by minimum,
 * with idleness; emits RILL_TS_MAX when its input ends. Rows with a NULL timestamp fail the
 * job, or are dropped and counted with skip_null. Upstream watermarks are replaced. */
rill__operator *rill__op_event_time(const rill__op_init *init, int ts_field,
                                    const rill_watermark_opts *opts, bool skip_null);

/* ---- keyed state kinds (keyed.c, state_kinds.c) --------------------------------------------- */

/* The operator's table for desc, registered on first use; RILL_ESTATE (and the task error)
 * outside a keyed operator. */
int rill__ctx_table_slow(rill_ctx *ctx, const rill_state_desc *desc, rill__state_table **out);
static inline int rill__ctx_table(rill_ctx *ctx, const rill_state_desc *desc,
                                  rill__state_table **out)
{
    if (RILL_LIKELY(ctx && ctx->keyed && desc && desc->id < ctx->n_tables &&
                    ctx->tables[desc->id])) {
        *out = ctx->tables[desc->id];
        return 0;
    }
    return rill__ctx_table_slow(ctx, desc, out);
}
/* TTL value access for tables whose desc has ttl_ms > 0: the stored value is [last access
 * ms, 8 bytes][value]; these take and give the value without the prefix, treat an expired
 * value as absent, refresh the time as desc->ttl_update says and run a cleanup step. */
int rill__ttl_value_get(rill_ctx *ctx, rill__state_table *t, const rill_state_desc *desc,
                        const void **val_out, size_t *len_out);
int rill__ttl_value_put(rill_ctx *ctx, rill__state_table *t, const rill_state_desc *desc,
                        const void *val, size_t len);
int rill__ttl_value_del(rill_ctx *ctx, rill__state_table *t, const rill_state_desc *desc);
/* Frees what the state calls keep in ctx (keyed operators call it when destroyed). */
void rill__ctx_state_fini(rill_ctx *ctx);

/* ---- windows -------------------------------------------------------------------------------- */

typedef enum rill__window_mode {
    RILL_WMODE_BUILTIN = 1, /* built-in aggregates: key fields, start, end, aggregates */
    RILL_WMODE_AGG,         /* a user aggregate fills the output row */
    RILL_WMODE_PROCESS,     /* a window function over every row */
    RILL_WMODE_AGG_PROCESS, /* an aggregate's row handed to a window function */
} rill__window_mode;

typedef struct rill__window_agg {
    rill_agg_kind kind;
    int field;      /* input field, -1 for COUNT */
    rill_type type; /* the input field's type */
} rill__window_agg;

/* Everything a window operator is built from; checked and owned by the graph. */
typedef struct rill__window_cfg {
    rill_window_spec spec; /* its time_zone: NULL (resolved into zone) */
    const struct rill__tz *zone; /* windows of this zone's local time (spec.time_zone), or NULL */
    int late_tag; /* side output tag id for late rows, -1: none */
    rill__window_mode mode;
    rill__window_agg *aggs; /* BUILTIN (and AGG_PROCESS with built-ins) */
    int n_aggs;
    rill_aggregate agg; /* AGG (and AGG_PROCESS with a user aggregate) */
    rill_window_fn fn;  /* PROCESS, AGG_PROCESS */
    void *user;
    rill_schema *agg_schema; /* AGG_PROCESS: the aggregate's row */
    /* AGG: the aggregate keeps a map of values per slice or session beside its accumulator
     * (SQL's DISTINCT sets, MIN/MAX of strings: state of no fixed size), through
     * rill__window_vals_*. When sessions merge, an entry of the folded session whose user key
     * the other session has too replaces the other's value if vals_prefer says so. */
    bool vals;
    bool (*vals_prefer)(void *user, const void *ukey, size_t ukey_len, const void *from,
                        size_t from_len, const void *into, size_t into_len);
} rill__window_cfg;

/* Fills the part of a built-in aggregate output row after the key fields. */
rill__operator *rill__op_window(const rill__op_init *init, const rill__key_spec *key,
                                const rill__state_backend_ops *backend,
                                const rill__window_cfg *cfg);

/* The values of a window aggregate with cfg->vals, for its add and result only (RILL_ESTATE
 * elsewhere). In add: get and put an entry of the slice or session the row goes to (a got
 * value is valid until the next state call). In result: iterate the entries of every slice
 * (or the session) of the window being emitted, one namespace after another, so a user key
 * comes once per slice that has it; fn must not call state. Entries go with their window. */
int rill__window_vals_get(rill_ctx *ctx, const void *ukey, size_t ukey_len, const void **val_out,
                          size_t *len_out);
int rill__window_vals_put(rill_ctx *ctx, const void *ukey, size_t ukey_len, const void *val,
                          size_t len);
int rill__window_vals_iterate(rill_ctx *ctx,
                              int (*fn)(void *arg, const void *ukey, size_t ukey_len,
                                        const void *val, size_t len),
                              void *arg);

void rill__operator_free(rill__operator *op); /* NULL-safe: destroy */

#endif /* RILL_OPS_H */
