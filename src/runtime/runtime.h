/*
 * runtime.h - the runtime layer's interface: the job graph that the public API builds (env,
 * streams, nodes), the execution graph (operator chains as vertices, edges with their
 * partitioning), local channels (bounded SPSC rings), and tasks (one thread each, running one
 * parallel subtask of one vertex). Depends on base, data, state, ops and connectors.
 */
#ifndef RILL_RUNTIME_H
#define RILL_RUNTIME_H

#include <pthread.h>

#include "connectors/connectors.h"
#include "state/checkpoint.h"
#include "metrics.h"

/* ---- job graph ------------------------------------------------------------------------------ */

typedef enum rill__node_kind {
    RILL_NODE_SOURCE = 1,
    RILL_NODE_MAP,
    RILL_NODE_FILTER,
    RILL_NODE_FLAT_MAP,
    RILL_NODE_PROCESS,
    RILL_NODE_SINK,
    RILL_NODE_EVENT_TIME,
    RILL_NODE_WINDOW,
    RILL_NODE_OPERATOR, /* an operator a higher layer implements (rill__op_factory) */
    RILL_NODE_UNION,    /* the rows of several inputs (input, then more[]) as one stream */
} rill__node_kind;

/* An operator that a layer above the runtime implements (the SQL layer's calc, aggregates and
 * joins): one made per subtask from cfg, which the graph owns once given (cfg_free). */
typedef struct rill__op_factory {
    const char *kind; /* the default uid's stem: "sql-calc" */
    /* keyed: key is the stream's key (its state is keyed by it) and backend the job's state
     * backend; else both NULL. NULL when it cannot be made (the task's error set). */
    rill__operator *(*create)(const rill__op_init *init, const rill__key_spec *key,
                              const rill__state_backend_ops *backend, void *cfg);
    void (*cfg_free)(void *cfg);
} rill__op_factory;

typedef union rill__node_fn {
    rill_map_fn map;
    rill_filter_fn filter;
    rill_flat_map_fn flat_map;
    rill_process_fn process;
    void (*any)(void);
} rill__node_fn;

typedef struct rill__node rill__node;
struct rill__node {
    int id;
    rill__node_kind kind;
    char *uid;
    int parallelism; /* 0: the env's default */
    rill_schema *out_schema; /* NULL for sinks */
    rill__node *input;       /* NULL for sources */
    int input_tag;           /* -1: the input's main output; else a side output tag id */
    /* UNION: the inputs after the first, and their tags (owned). A node with more than one
     * input heads its own vertex, with one channel edge per input. */
    rill__node **more;
    int *more_tags;
    int n_more;
    bool keyed;              /* input is partitioned by key */
    rill__key_spec key;
    /* a keyed node with more inputs (co-process): the key of each of more[] (owned), of the
     * same field types as key */
    rill__key_spec *more_keys;
    rill__node_fn fn;
    void *user;
    rill_open_fn open;
    rill_close_fn close;
    const rill__source_ops *source_ops;
    const rill__sink_ops *sink_ops;
    void *conn_cfg;
    rill_timer_fn on_timer; /* PROCESS */
    rill_process_fn fn2;    /* PROCESS with two inputs: more[0]'s rows */
    /* EVENT_TIME */
    int ts_field;
    rill_watermark_opts wm_opts;
    /* OPERATOR: how it is made, and from what (owned) */
    const rill__op_factory *op_factory;
    void *op_cfg;
    /* WINDOW: its specification (owned) */
    struct rill__window_cfg *window;
    /* what the finished job counted */
    atomic_llong records_in, records_out, records_skipped;
    /* the rest of its finished tasks' metrics (metrics.c folds them in): by operator, and of
     * the tasks it ran in; the watermarks are the highest a subtask reached */
    struct {
        atomic_llong late_dropped, wm_in, wm_out;
        atomic_llong bytes_in, bytes_out, idle_ns, bp_ns, life_ns;
    } fin;
};

struct rill_stream {
    rill_env *env;
    rill__node *node; /* NULL when the stream carries an error */
    int tag;          /* -1 main output, else side output tag id */
    const rill_schema *schema;
};

struct rill_keyed_stream {
    rill_stream *in;
    rill__key_spec key;
};

/* ---- the job's options: one table (options.c) for rill_env_set/get, rill run's flags, SQL's
 * SET keys and docs/options.md ---- */
typedef enum {
    RILL__OPT_INT,    /* an integer in [lo, hi] */
    RILL__OPT_SIZE,   /* bytes, or with k, m, g; at least lo */
    RILL__OPT_STRING, /* text */
    RILL__OPT_PATH,   /* a path; "" unsets it */
    RILL__OPT_BOOL,   /* "true"/"1" or "false"/"0", anything else refused */
    RILL__OPT_SWITCH, /* a flag's switch: "true"/"1" sets it, anything else clears it */
    RILL__OPT_CHOICE, /* one of choices ("a|b"), stored as its index + lo (or as text) */
} rill__opt_type;
enum {
    RILL__OPT_SQL = 1,       /* SQL's SET takes the key itself (Flink's keys: flink) */
    RILL__OPT_NONEMPTY = 2,  /* a STRING that must not be empty */
    RILL__OPT_POW2 = 4,      /* an INT that must be a power of two */
    RILL__OPT_NOCASE = 8,    /* a CHOICE matched without case */
    RILL__OPT_AS_TEXT = 16,  /* a CHOICE stored as its text (a char * field) */
    RILL__OPT_LOCAL = 32,    /* means nothing on a cluster: `rill run -m` refuses its flag */
};
typedef struct rill__option {
    const char *key; /* rill_env_set's */
    rill__opt_type type;
    const char *def; /* the default, as the docs say it */
    int64_t lo, hi;  /* INT: the range; SIZE: the least; CHOICE: the first choice's value */
    const char *choices;
    size_t offset, size;    /* the rill_env field that holds it */
    const char *flag;       /* rill run's flag (NULL: none); a SWITCH or BOOL takes no value */
    const char *flink;      /* Flink's keys SET maps onto it ("a|b"; NULL: none) */
    bool flink_duration;    /* their value is a duration ("10 s"), converted to ms */
    unsigned flags;         /* RILL__OPT_* */
    const char *doc;        /* one line for the docs */
} rill__option;
extern const rill__option rill__options[];
extern const size_t rill__n_options;
/* The option of a key, of one of Flink's keys, or NULL. */
const rill__option *rill__option_find(const char *key);
const rill__option *rill__option_of_flink(const char *flink_key);
/* Checks value against o and stores it in env: 0, or RILL_ECONFIG with the message kept in env
 * (rill_errmsg). */
int rill__option_set(rill_env *env, const rill__option *o, const char *value);
/* o's value as text, borrowed until the next call (NULL: not set). */
const char *rill__option_get(rill_env *env, const rill__option *o);
/* "name, parallelism, ...": every key, for a message. */
void rill__option_keys(char *buf, size_t size);

/* How the job is run: set by whoever made the env (the mini-cluster, a TaskManager). */
typedef int (*rill__executor_fn)(rill_env *env, void *arg);

struct rill_env {
    char *name;
    int parallelism, max_parallelism;
    uint32_t batch_size, channel_capacity;
    rill__bad_policy bad_policy;
    char *dead_letter_path;
    bool parallelism_fixed; /* given on the command line: the job's own setting is ignored */
    /* checkpoints (off while interval is 0) */
    char *ckpt_dir;
    int64_t ckpt_interval_ms, ckpt_timeout_ms, ckpt_min_pause_ms;
    int ckpt_max_concurrent, ckpt_tolerable_failures, ckpt_retain;
    bool ckpt_at_least_once;
    bool resume; /* start from the newest completed checkpoint of this job in ckpt_dir */
    /* resume: when nothing can be restored (other jobs' checkpoints only, or every _metadata
     * unreadable), start from the beginning rather than refuse */
    bool allow_fresh_start;
    /* ckpt_dir holds other jobs' checkpoints by design (the jobs of one `rill sql` session):
     * a resume that finds none of its own starts from the beginning without counting theirs */
    bool ckpt_dir_shared;
    /* an interval without a directory checkpoints into a private one, removed when the job
     * ends (a SQL script's SET, as Flink's in-memory checkpoint storage); else it is an error */
    bool ckpt_private;
    char *from_savepoint;    /* start from this savepoint directory */
    bool allow_non_restored; /* state of operators the job lacks may be dropped */
    /* keyed state: the backend ("heap", "rocksdb"), where a disk-based one keeps its working
     * files, and the memory a slot's keyed operators may use for it (shared by them) */
    char *state_backend;
    char *state_dir;
    int64_t state_memory;
    /* checkpoints of a backend with native snapshots (rocksdb) are incremental: its files,
     * those unchanged since the previous checkpoint shared with it; savepoints stay canonical */
    bool state_incremental;
    /* rocksdb: timers in memory (Flink's timer-service.factory HEAP), not in RocksDB */
    bool state_heap_timers;
    int rest_port;           /* the REST API's port (0: any), -1: no REST API */
    /* restarts: kind 0 unset (none, or fixed-delay when checkpointing), 1 none, 2 fixed-delay,
     * 3 exponential-delay, 4 failure-rate */
    int restart_kind;
    int64_t restart_attempts, restart_delay_ms, restart_max_delay_ms;
    int64_t restart_rate_failures, restart_rate_interval_ms;
    char *job_path;

    rill__node **nodes;
    size_t n_nodes, cap_nodes;
    void **owned; /* streams, keyed streams: freed with the env */
    size_t n_owned, cap_owned;
    rill_state_desc **descs;
    size_t n_descs, cap_descs;
    rill_counter **counters;
    size_t n_counters, cap_counters;
    rill_output_tag **tags;
    size_t n_tags, cap_tags;

    rill__err err; /* the first error, building or running */
    bool executed;
    int64_t elapsed_ms;
    rill__job_metrics jmetrics; /* the running job's, set by whoever runs it */
    rill__executor_fn executor;
    void *executor_arg;
    /* set by a JobManager process's runner: what TaskManager processes need to build this
     * graph again (cluster.h, rill__job_spec); NULL elsewhere */
    const void *cluster_spec;
    char get_buf[64];
};

/* Graph building shared by the graph files: a new node fed by in, a stream of a node, a stream
 * carrying the env's error, and the checks every consumer of a stream makes. */
rill__node *rill__graph_node(rill_env *env, rill__node_kind kind, const rill_stream *in,
                             const rill_schema *out_schema);
rill_stream *rill__graph_stream(rill_env *env, rill__node *n, int tag, const rill_schema *schema);
rill_stream *rill__graph_error_stream(rill_env *env);
/* A stream through an operator of f made from cfg (the graph's from now on, also when this
 * fails); keyed: the operator takes a keyed stream (rill__graph_keyed_operator). */
rill_stream *rill__graph_operator(rill_stream *in, const rill_schema *out_schema,
                                  const rill__op_factory *f, void *cfg);
/* A sink of ops made from cfg (the graph's from now on, also when this fails). */
rill_stream *rill__graph_sink(rill_stream *in, const rill__sink_ops *ops, void *cfg);
rill_stream *rill__graph_keyed_operator(rill_keyed_stream *in, const rill_schema *out_schema,
                                        const rill__op_factory *f, void *cfg);
bool rill__graph_usable(rill_stream *in, const char *what);
/* Frees a window node's configuration. NULL-safe. */
void rill__window_cfg_free(struct rill__window_cfg *cfg);
/* Gives the window aggregate s (of rill_window_aggregate_fn) a map of values per slice or
 * session (rill__window_vals_*; prefer: see rill__window_cfg). 0, or RILL_EINVAL when s is not
 * such a stream. */
int rill__window_keep_values(rill_stream *s,
                             bool (*prefer)(void *user, const void *ukey, size_t ukey_len,
                                            const void *from, size_t from_len, const void *into,
                                            size_t into_len));

/* A fresh env with defaults and no executor. */
rill_env *rill__env_new(void);
/* The effective parallelism of a node. */
int rill__node_parallelism(const rill_env *env, const rill__node *n);
/* Checks the finished graph (uids unique, at least one sink, parallelism within max). */
int rill__env_validate(rill_env *env);

/* ---- execution graph ----------------------------------------------------------------------- */

typedef enum rill__partition {
    RILL_PART_FORWARD = 1, /* subtask i to subtask i */
    RILL_PART_HASH,        /* by key group */
    RILL_PART_REBALANCE,   /* round robin, whole batches */
} rill__partition;

typedef struct rill__vertex rill__vertex;

/* A non-chained connection: from node src (output tag) in vertex src_v to the head of dst_v,
 * as its input dst_input (0: the head's input, k: its more[k - 1]). */
typedef struct rill__exec_edge {
    int id;
    rill__node *src;
    int src_tag;
    rill__vertex *src_v, *dst_v;
    int dst_input;
    rill__partition partition;
} rill__exec_edge;

/* A chain of nodes run by one task per parallel subtask; nodes[0] is the head. */
struct rill__vertex {
    int id;
    int parallelism;
    rill__node **nodes;
    int n_nodes;
    rill__exec_edge **in_edges;
    int n_in;
    rill__exec_edge **out_edges;
    int n_out;
    int first_task; /* global index of subtask 0 of this vertex */
};

typedef struct rill__exec_graph {
    rill_env *env;
    rill__vertex **vertices;
    int n_vertices;
    rill__exec_edge **edges;
    int n_edges;
    int n_tasks;      /* subtasks over all vertices */
    int max_vertex_p; /* slots needed with slot sharing */
} rill__exec_graph;

int rill__exec_build(rill_env *env, rill__exec_graph **out);
void rill__exec_free(rill__exec_graph *g);
/* "source-1 -> map-2 (p=2) => process-3 (p=4)" one line per vertex, for logs. */
void rill__exec_describe(const rill__exec_graph *g, rill__buf *out);
/* Logs the job's tasks and chains at INFO level (nothing below it). */
void rill__exec_log(const rill__exec_graph *g);

/* ---- parking and channels ------------------------------------------------------------------- */

/* One per task thread: sleep until woken or a timeout (Java's LockSupport). */
typedef struct rill__parker {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int sleeping;
    bool permit;
    int wake_fd; /* -1, or an eventfd that unpark also signals: a thread that sleeps in poll(2)
                  * (the data plane's I/O thread) parks there instead of on cv */
} rill__parker;
void rill__parker_init(rill__parker *p);
void rill__parker_destroy(rill__parker *p);
/* Announce the intent to sleep; then re-check the condition; then park or cancel. */
void rill__parker_prepare(rill__parker *p);
void rill__parker_cancel(rill__parker *p);
void rill__parker_park(rill__parker *p, int64_t timeout_ns);
/* Wakes the parked (or about to park) thread. */
void rill__parker_unpark(rill__parker *p);
/* Wakes it only if it announced sleep: the cheap call for every push and pop. */
static inline void rill__parker_notify(rill__parker *p)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&p->sleeping, memory_order_relaxed))
        rill__parker_unpark(p);
}

/* A barrier's flag: its checkpoint is a savepoint, whose snapshots must be canonical (Flink's
 * CheckpointOptions travel with the barrier the same way). */
#define RILL_BARRIER_SAVEPOINT ((uint64_t)1 << 62)

typedef enum rill__msg_kind {
    RILL_MSG_BATCH = 1,
    RILL_MSG_WATERMARK, /* value: event time */
    RILL_MSG_IDLE,      /* value: 1 the producer is idle, 0 active again */
    RILL_MSG_BARRIER,   /* value: checkpoint id, | RILL_BARRIER_SAVEPOINT for a savepoint's */
    RILL_MSG_END,       /* the producer's input has ended */
} rill__msg_kind;

typedef struct rill__msg {
    rill__msg_kind kind;
    int64_t value;
    rill_batch *batch;
} rill__msg;

/* A bounded lock-free single-producer single-consumer ring between two local tasks. */
typedef struct rill__channel {
    _Alignas(RILL_CACHELINE) atomic_size_t head; /* next slot to read (consumer) */
    size_t tail_cache;
    _Alignas(RILL_CACHELINE) atomic_size_t tail; /* next slot to write (producer) */
    size_t head_cache;
    _Alignas(RILL_CACHELINE) size_t mask;
    rill__msg *slots;
    rill__parker *producer, *consumer;
} rill__channel;

rill__channel *rill__channel_new(size_t capacity); /* power of two */
/* Drops what is still queued (releasing batches) and frees. */
void rill__channel_free(rill__channel *c);
static inline bool rill__channel_try_push(rill__channel *c, const rill__msg *m)
{
    size_t t = atomic_load_explicit(&c->tail, memory_order_relaxed);
    if (t - c->head_cache > c->mask) {
        c->head_cache = atomic_load_explicit(&c->head, memory_order_acquire);
        if (t - c->head_cache > c->mask)
            return false;
    }
    c->slots[t & c->mask] = *m;
    atomic_store_explicit(&c->tail, t + 1, memory_order_release);
    rill__parker_notify(c->consumer);
    return true;
}
static inline bool rill__channel_try_pop(rill__channel *c, rill__msg *m)
{
    size_t h = atomic_load_explicit(&c->head, memory_order_relaxed);
    if (h == c->tail_cache) {
        c->tail_cache = atomic_load_explicit(&c->tail, memory_order_acquire);
        if (h == c->tail_cache)
            return false;
    }
    *m = c->slots[h & c->mask];
    atomic_store_explicit(&c->head, h + 1, memory_order_release);
    /* a producer waiting on a full ring is woken once it is half empty, not at every pop:
     * that keeps the two threads from waking each other per batch */
    if (c->tail_cache - (h + 1) <= (c->mask >> 1))
        rill__parker_notify(c->producer);
    return true;
}

/* ---- tasks ---------------------------------------------------------------------------------- */

typedef enum rill__task_state {
    RILL_TASK_CREATED = 0,
    RILL_TASK_RUNNING,
    RILL_TASK_FINISHED,
    RILL_TASK_FAILED,
    RILL_TASK_CANCELED,
} rill__task_state;

const char *rill__task_state_name(rill__task_state s);

typedef struct rill__task rill__task;

/* Told of every task state change, from the task's thread. */
typedef void (*rill__task_listener)(void *arg, rill__task *t, rill__task_state state,
                                    int rc, const char *msg);

/* The tasks of one job deployed in one process, with the local channels between them. */
typedef struct rill__job_run rill__job_run;
/* A completed checkpoint loaded for restore (see below). */
typedef struct rill__restore rill__restore;

struct rill__remote; /* runtime/remote.h */

/*
 * Where a job's tasks run when they span processes (TaskManagers). Every process builds the
 * same execution graph and derives the same channel ids from it (remote.h: edge id, source
 * subtask, destination subtask), so the two ends of a remote channel meet on the connection.
 *
 * A channel between a task listed here and a task in process p goes through p's data-plane
 * endpoint: the producer here pushes into a ring the endpoint owns (rill__remote_add_output),
 * or the endpoint's I/O thread fills the consumer's local input ring (rill__remote_add_input).
 * A channel with neither end here is not made at all.
 *
 * The caller's order, for each job run and the endpoints it uses:
 *   1. rill__job_run_new (registers the channels with the endpoints; on failure the endpoints
 *      hold registrations of the freed job run: free them, unstarted);
 *   2. rill__remote_start for each endpoint (the I/O threads take over the rings);
 *   3. rill__job_run_start; then, if needed, rill__job_run_cancel (on an endpoint's error, from
 *      its on_end: tasks blocked on its rings are not woken by the error itself);
 *   4. rill__job_run_join;
 *   5. every task finished: rill__remote_wait for each endpoint until it ends (rc 0: every
 *      message both ways has crossed; half_close in their config lets both sides end without
 *      waiting for the other's free). A task's end only means its messages are in the
 *      endpoint's ring, so freeing the endpoint before this drops them. Canceled or failed:
 *      skip the wait;
 *   6. rill__remote_free for each endpoint (the I/O threads point at the job run's rings and
 *      task parkers until then);
 *   7. rill__job_run_free (it never frees an endpoint's ring).
 */
typedef struct rill__placement {
    const int *proc_of_task; /* per global task index of g: the process that runs it */
    int self;                /* this process's number in proc_of_task */
    /* The data-plane endpoint to process p (connected, not started, borrowed). Called for each
     * channel between a task here and one in process p. NULL with err: the job run cannot be
     * built. */
    struct rill__remote *(*endpoint)(void *arg, int p, rill__err *err);
    void *arg;
} rill__placement;

/* Creates the tasks listed (global task indices of g; NULL, n = g->n_tasks: all) and the
 * channels between them, starting from restore when not NULL (borrowed until the tasks have
 * opened). A channel between two listed tasks is a local ring; one between a listed task and a
 * task of another process goes through that process's endpoint (placement, see above; without
 * one every channel of the listed tasks must be local: RILL_ENOTSUP). A listed task placed in
 * another process, or a task placed here but not listed that a listed task talks to, is
 * RILL_EINVAL. */
int rill__job_run_new(rill__exec_graph *g, const int *tasks, int n,
                      const rill__placement *placement, const rill__restore *restore,
                      rill__task_listener fn, void *arg, rill__err *err, rill__job_run **out);
/* ---- restore --------------------------------------------------------------------------------- */

/* A completed checkpoint loaded for restore: every task's data verified and split into the
 * state blobs of each operator uid. */
int rill__restore_load(rill__ckpt_store *store, int64_t id, const void *meta, size_t len,
                       rill__restore **out, rill__err *err);
void rill__restore_free(rill__restore *rs); /* NULL-safe */
int64_t rill__restore_id(const rill__restore *rs);
/* fn for every old subtask of operator uid (finished: the old task had ended, no data). */
int rill__restore_blobs(const rill__restore *rs, const char *uid,
                        int (*fn)(void *arg, int subtask, int parallelism, bool finished,
                                  const void *data, size_t len),
                        void *arg);
bool rill__restore_has(const rill__restore *rs, const char *uid);
/* The i-th distinct operator uid with state in rs, or NULL past the last. */
const char *rill__restore_uid(const rill__restore *rs, size_t i);
/* A savepoint directory (its _metadata and task files, named relative to it) loaded. */
int rill__restore_load_dir(const char *dir, rill__restore **out, rill__err *err);
/* The directory rs was loaded from (a checkpoint's chk-<n>, or a savepoint's): native keyed
 * snapshots' files are there. Borrowed until rill__restore_free. */
const char *rill__restore_dir(const rill__restore *rs);
/* Was rs loaded from a savepoint directory (rather than a checkpoint of a store)? */
bool rill__restore_is_savepoint(const rill__restore *rs);

/* A task's snapshot for one checkpoint, taken at the barrier. Its bytes are produced by
 * rill__task_snap_write, on any one thread, while the task goes on with its input: keyed state
 * is serialised there from copy-on-write views. Written at most once; always freed. */
typedef struct rill__task_snap rill__task_snap;
/* Appends the snapshot's bytes to out (as they were on failure, with err set). A native keyed
 * snapshot (incremental checkpoints) puts its files into dir (the checkpoint's directory,
 * which exists), their names starting with name (the task's data file there). */
int rill__task_snap_write(rill__task_snap *s, rill__buf *out, const char *dir, const char *name,
                          rill__err *err);
/* What the native snapshots' files of s took (zero without any), once written. */
rill__files_size rill__task_snap_files(const rill__task_snap *s);
void rill__task_snap_free(rill__task_snap *s); /* NULL-safe */
/* How long the part at the barrier took on the task's thread. */
int64_t rill__task_snap_sync_ns(const rill__task_snap *s);
/* The size of the task's keyed state at the barrier; false when it has none. */
bool rill__task_snap_usage(const rill__task_snap *s, rill__state_usage *out);

/* Told of every task's snapshot for checkpoint id (rc < 0: it failed), from the task's thread:
 * the function takes snap over, so the writing can go on elsewhere while the task goes on with
 * its input. align_ms: how long the task waited from the first barrier to the last (0 for
 * sources). */
typedef void (*rill__snapshot_fn)(void *arg, rill__task *t, uint64_t id, int rc,
                                  rill__task_snap *snap, int64_t align_ms);
/* Where snapshots go, and whether inputs align on barriers (exactly-once) or not. */
void rill__job_run_on_snapshot(rill__job_run *r, rill__snapshot_fn fn, void *arg,
                               bool exactly_once);
/* Checkpoint id is complete: every task tells its operators (two-phase commits commit). */
void rill__job_run_complete(rill__job_run *r, uint64_t id);
/* What a checkpoint's completion does to the job (stop-with-savepoint, the final checkpoint). */
typedef enum rill__stop_mode {
    RILL_STOP_NONE = 0, /* nothing: a checkpoint or a savepoint, the job goes on */
    /* drain: a source still reading sends the end of event time (RILL_TS_MAX) right before the
     * barrier, so every window fires into the checkpoint, and reads no more; once the
     * checkpoint has completed, the outputs end as at the end of input (the final checkpoint,
     * `rill stop --drain`) */
    RILL_STOP_DRAIN = 1,
    /* no drain: a source reads nothing after the barrier and sends no end of event time; once
     * the checkpoint has completed, every task is told of it (two-phase commits commit) and
     * ends without ending its operators' input: nothing fires, windows stay in the savepoint
     * (`rill stop`, Flink's stop-with-savepoint without --drain) */
    RILL_STOP_NO_DRAIN = 2,
} rill__stop_mode;
/* Asks every source task to take checkpoint id (the newest id wins; savepoint: its snapshots
 * are canonical, its barriers flagged RILL_BARRIER_SAVEPOINT); with a stop mode, a source
 * still reading stops at its barrier and waits, and it and a source waiting at the end of its
 * input (see below) end once checkpoint id, or a newer one, has completed, as the mode says. */
void rill__job_run_trigger(rill__job_run *r, uint64_t id, rill__stop_mode stop, bool savepoint);
/* The stop asked for with checkpoint id is withdrawn (its savepoint failed): a source that
 * stopped at its barrier without draining reads on; one that drained fails (the end of event
 * time is out, so the job must restart from its latest checkpoint). */
void rill__job_run_abort_stop(rill__job_run *r, uint64_t id);
/* Told, on a source task's thread, that the source has emitted all of its input and the end of
 * event time (RILL_TS_MAX) and now waits for the final checkpoint. */
typedef void (*rill__end_of_data_fn)(void *arg, rill__task *t);
/* Final checkpoints (checkpointing on; set before the start): a source that reaches the end of
 * its input keeps its outputs open, tells fn, and waits (still taking part in checkpoints, with
 * its position at the end) until a checkpoint triggered with stop completes; only then do its
 * outputs end, so the last rows are committed by that checkpoint. Not set: sources end at once. */
void rill__job_run_on_end_of_data(rill__job_run *r, rill__end_of_data_fn fn, void *arg);
/* Starts one thread per task. */
int rill__job_run_start(rill__job_run *r);
/* Asks every task to stop (a task blocked on a channel notices within milliseconds). */
void rill__job_run_cancel(rill__job_run *r);
/* Waits for every thread; then adds each task's counts into the graph's nodes. */
void rill__job_run_join(rill__job_run *r);
void rill__job_run_free(rill__job_run *r);
/* Task accessors for listeners. */
int rill__task_index(const rill__task *t);
const char *rill__task_name(const rill__task *t);
/* The task's error message ("" when none): what went wrong, and where. */
const char *rill__task_errmsg(const rill__task *t);
/* For tests that feed a task's input gate by hand: the local channel from subtask `from` of
 * edge `edge`'s source vertex to subtask `to` of its destination, borrowed until
 * rill__job_run_free. A channel has one producer: push only while its task pushes nothing.
 * With a placement: the ring a remote endpoint fills or drains when one end is elsewhere (push
 * into neither), NULL when neither end is here. */
rill__channel *rill__job_run_channel(rill__job_run *r, int edge, int from, int to);

/* The Nexmark source (the SQL layer's connector 'nexmark'): options are NULL-terminated key,
 * value pairs with Flink's names (docs/nexmark.md); schema is any subset of its flat columns in
 * any order, or NULL for all of them. Rows carry the events' dateTime as their timestamps. */
rill_stream *rill__source_nexmark(rill_env *env, const rill_schema *schema,
                                  const char *const *options);

/* The filesystem sink (the SQL layer's connector 'filesystem'): the exactly-once file sink with
 * partitions, rolling and partition commit; options and keys as for rill__fs_sink_cfg (a bad
 * option fails the env with the message naming it). */
rill_stream *rill__sink_filesystem(rill_stream *in, const char *const *options,
                                   const char *const *keys, int n_keys);

/* rill_source_datagen with the SQL table's name in its messages (NULL: "datagen source"). */
rill_stream *rill__source_datagen(rill_env *env, const rill_schema *schema,
                                  const char *const *options, const char *table);

#endif /* RILL_RUNTIME_H */
