/* task_int.h - runtime layer, private: a task and a job run, shared by task.c (running them)
 * and task_snap.c (their part in checkpoints and restores). */
#ifndef RILL_TASK_INT_H
#define RILL_TASK_INT_H

#include "runtime.h"

struct rill__task {
    int index; /* global task index in the execution graph */
    rill__vertex *v;
    int subtask;
    char *name;
    rill__job_run *run;
    rill__operator **ops;  /* by position in v->nodes */
    rill__source *source;  /* when the head is a source */
    rill__batch_pool *source_pool;
    rill__channel **in;    /* the input gate */
    int *in_input;         /* each channel's input of the head (its edge's dst_input) */
    int n_in;
    bool *in_ended;
    int n_ended;
    /* checkpoints */
    atomic_uint_fast64_t trigger; /* sources: the newest checkpoint asked for */
    atomic_uint_fast64_t stop_req; /* sources: the stop asked for, id << 2 | rill__stop_mode */
    uint64_t stop_id;             /* gates: the savepoint an input stopped at (no drain), 0 */
    rill__output **writers;       /* the outputs of the task's edges (borrowed: ops own them) */
    int n_writers;
    uint64_t last_barrier;        /* the newest barrier this task has passed on */
    uint64_t notified;            /* the newest completed checkpoint told to the operators */
    uint64_t aligning;            /* the barrier being aligned, 0: none */
    bool aligning_savepoint;      /* it came flagged RILL_BARRIER_SAVEPOINT */
    bool *barrier_in;             /* by input: barrier `aligning` has arrived */
    int64_t align_start_ns;       /* when the first barrier of `aligning` arrived */
    int n_barrier_in;
    rill__wm_merger wm;    /* the inputs' watermarks */
    bool in_ended_init;    /* wm is initialised */
    bool gate_idle;        /* every input idle: told downstream */
    rill__parker parker;
    pthread_t thread;
    bool started;
    atomic_bool cancel;
    rill__task_state state;
    rill__err err;
    /* metrics (NULL when collection is off): this thread's counts, published into the block */
    rill__task_metrics *metrics;
    int64_t bytes_in, bytes_out, idle_ns, bp_ns;
    unsigned n_published;
};

struct rill__job_run {
    rill__exec_graph *g;
    rill__task **tasks; /* by global task index; NULL when not deployed here */
    int n_tasks;
    rill__channel **channels; /* by edge_base + from * pd + to; NULL: no task here uses it */
    bool *owned;              /* by channel: this job run frees it (not an endpoint's ring) */
    int n_channels;
    int *edge_base; /* by edge id: index of the edge's first channel */
    rill__task_listener listener;
    void *listener_arg;
    rill__snapshot_fn snap_fn;
    void *snap_arg;
    bool exactly_once;
    rill__end_of_data_fn eod_fn; /* final checkpoints: sources wait at the end of input */
    void *eod_arg;
    const rill__restore *restore; /* start from this checkpoint */
    atomic_uint_fast64_t completed; /* the newest completed checkpoint */
    atomic_uint_fast64_t savepoint; /* the newest checkpoint triggered as a savepoint */
};

/* Checkpoint id at task t: the synchronous part of its snapshot, handed to the job run's
 * snapshot function; then the barrier goes on downstream. align_ms: how long alignment took. */
int rill__task_checkpoint(rill__task *t, uint64_t id, bool savepoint, int64_t align_ms);
/* Puts the checkpoint's state into the task's operators (after they opened); *source_finished:
 * the source had read everything before the checkpoint. */
int rill__task_restore(rill__task *t, bool *source_finished);

#endif /* RILL_TASK_INT_H */
