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

/* ---- outputs: where an operator's batches go (the next chained operator, a fan-out, a
 * channel writer of the runtime, or nowhere) -------------------------------------------------- */

typedef struct rill__output_ops {
    /* Takes over the caller's reference to b. 0 or a negative code (the task fails). */
    int (*batch)(rill__output *o, rill_batch *b);
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
    /* All input has been processed: emit what is pending, then end the outputs. */
    int (*end_input)(rill__operator *op);
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
} rill__op_init;

struct rill__operator {
    const rill__operator_ops *ops;
    char *uid;
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
    int64_t records_in, records_out;
    /* the event timestamp of the input row being processed, inherited by emitted rows */
    bool in_has_ts;
    int64_t in_ts;
};

/* Common set-up and tear-down for operator implementations (also used by the connectors and
 * runtime layers for sources and sinks). */
void rill__operator_init(rill__operator *op, const rill__operator_ops *ops,
                         const rill__op_init *init);
void rill__operator_fini(rill__operator *op);
/* Runs the user open hook; records a failure in the task error. */
int rill__operator_open_hook(rill__operator *op);
void rill__operator_close_hook(rill__operator *op);
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
/* Adds the user counters gathered by this instance to their totals. */
void rill__operator_publish_counters(rill__operator *op);

rill__operator *rill__op_map(const rill__op_init *init, rill_map_fn fn);
rill__operator *rill__op_filter(const rill__op_init *init, rill_filter_fn fn);
rill__operator *rill__op_flat_map(const rill__op_init *init, rill_flat_map_fn fn);
/* A keyed process function over rows partitioned by key (hashes set by the partitioner). */
rill__operator *rill__op_keyed_process(const rill__op_init *init, const rill__key_spec *key,
                                       const rill__state_backend_ops *backend,
                                       rill_process_fn fn);

void rill__operator_free(rill__operator *op); /* NULL-safe: destroy */

#endif /* RILL_OPS_H */
