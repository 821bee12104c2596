/*
 * cluster.h - the cluster layer's interface: the JobManager (execution graph -> slots ->
 * deployment, task states, the job's end) and the TaskManager (slots; runs the tasks it is
 * given), which talk only through the two gateways below. In the embedded mini-cluster the
 * gateways are direct calls; a networked cluster swaps in RPC stubs with the same shape.
 * Depends on every layer below.
 */
#ifndef RILL_CLUSTER_H
#define RILL_CLUSTER_H

#include "runtime/runtime.h"

typedef struct rill__jobmanager rill__jobmanager;
typedef struct rill__taskmanager rill__taskmanager;

typedef enum rill__job_state {
    RILL_JOB_CREATED = 0,
    RILL_JOB_RUNNING,
    RILL_JOB_FINISHED,
    RILL_JOB_FAILED,
    RILL_JOB_CANCELED,
} rill__job_state;

const char *rill__job_state_name(rill__job_state s);

/* What a JobManager may ask of a TaskManager. */
typedef struct rill__tm_gateway {
    void *tm;
    int slots;
    /* Runs the listed tasks of job_id (global task indices of g). 0 or an error in err. */
    int (*deploy)(void *tm, uint64_t job_id, rill__exec_graph *g, const int *tasks, int n,
                  rill__err *err);
    /* Asks the job's tasks to stop; returns at once. */
    void (*cancel)(void *tm, uint64_t job_id);
    /* The job is over: wait for its threads and free everything it held. */
    void (*release)(void *tm, uint64_t job_id);
} rill__tm_gateway;

/* What a TaskManager tells its JobManager. */
typedef struct rill__jm_gateway {
    void *jm;
    void (*task_state)(void *jm, uint64_t job_id, int task, rill__task_state state, int rc,
                       const char *msg);
} rill__jm_gateway;

/* ---- JobManager ----------------------------------------------------------------------------- */

rill__jobmanager *rill__jm_new(void);
void rill__jm_free(rill__jobmanager *jm);
/* The gateway a TaskManager uses to report to this JobManager. */
rill__jm_gateway rill__jm_gateway_local(rill__jobmanager *jm);
/* Adds a TaskManager and its slots. */
int rill__jm_register_tm(rill__jobmanager *jm, const rill__tm_gateway *tm);
/* Schedules g over the registered slots (slot sharing: slot k runs subtask k of every vertex)
 * and deploys it. 0 and the job id, or an error in err. */
int rill__jm_submit(rill__jobmanager *jm, rill__exec_graph *g, uint64_t *job_id, rill__err *err);
/* Blocks until the job has ended; releases its tasks. 0 when it finished, else the failure
 * code with its message in err. Cancels the job when *cancel_flag becomes true. */
int rill__jm_wait(rill__jobmanager *jm, uint64_t job_id, const atomic_bool *cancel_flag,
                  rill__err *err);
void rill__jm_cancel(rill__jobmanager *jm, uint64_t job_id);

/* ---- TaskManager ---------------------------------------------------------------------------- */

rill__taskmanager *rill__tm_new(int slots, const rill__jm_gateway *jm);
void rill__tm_free(rill__taskmanager *tm);
rill__tm_gateway rill__tm_gateway_local(rill__taskmanager *tm);

/* ---- mini-cluster --------------------------------------------------------------------------- */

/* The executor rill_env_new installs: a JobManager and one TaskManager in this process, with as
 * many slots as the job needs. */
int rill__minicluster_execute(rill_env *env, void *arg);
/* Async-signal-safe: asks every job running in a mini-cluster of this process to cancel. */
void rill__minicluster_request_cancel(void);

#endif /* RILL_CLUSTER_H */
