/*
 * cluster.h - the cluster layer's interface: the JobManager (execution graph -> slots ->
 * deployment, task states, the job's end) and the TaskManager (slots; runs the tasks it is
 * given), which talk only through the two gateways below. In the embedded mini-cluster the
 * gateways are direct calls; a networked cluster swaps in RPC stubs with the same shape.
 * Depends on every layer below.
 */
#ifndef RILL_CLUSTER_H
#define RILL_CLUSTER_H

#include "base/net.h"
#include "runtime/runtime.h"
#include "state/checkpoint.h"

typedef struct rill__jobmanager rill__jobmanager;
typedef struct rill__taskmanager rill__taskmanager;

typedef enum rill__job_state {
    RILL_JOB_CREATED = 0,
    RILL_JOB_RUNNING,
    RILL_JOB_FINISHED,
    RILL_JOB_FAILED,
    RILL_JOB_CANCELED,
    RILL_JOB_RESTARTING, /* failed; runs again from its latest checkpoint after the delay */
} rill__job_state;

const char *rill__job_state_name(rill__job_state s);

struct rill__deploy_tm; /* control.h: a TaskManager's data address in a deployment */

/* Where an attempt's tasks run: every TaskManager taking part learns the whole placement, so
 * it knows where the other end of each channel is. */
typedef struct rill__deploy_plan {
    int n_tms;
    const struct rill__deploy_tm *tms; /* the attempt's TaskManagers (remote: data addresses) */
    const int *tm_of_task;             /* per global task index: an index into tms */
    int self;                          /* the TaskManager this deployment goes to */
} rill__deploy_plan;

/* What a JobManager may ask of a TaskManager. Every call names the job and its attempt (0 for
 * the first run, +1 per restart); a call for an attempt the TaskManager does not run does
 * nothing. */
typedef struct rill__tm_gateway {
    void *tm;
    int slots;
    /* Runs the listed tasks of job_id (global task indices of g) placed as plan says,
     * starting from restore when not NULL (borrowed until the job is released). 0 or an error
     * in err. */
    int (*deploy)(void *tm, uint64_t job_id, uint32_t attempt, rill__exec_graph *g,
                  const int *tasks, int n, const rill__deploy_plan *plan,
                  const rill__restore *restore, rill__err *err);
    /* Asks the job's tasks to stop; returns at once. */
    void (*cancel)(void *tm, uint64_t job_id, uint32_t attempt);
    /* The attempt is over: wait for its threads and free everything it held (a TaskManager
     * that cannot be reached any more: returns at once). */
    void (*release)(void *tm, uint64_t job_id, uint32_t attempt);
    /* Take checkpoint ckpt_id: the job's source tasks here emit its barrier (and with a stop
     * mode, stop reading there and end once it has completed: see rill__stop_mode). A
     * savepoint's snapshots are canonical (never incremental). */
    void (*trigger)(void *tm, uint64_t job_id, uint32_t attempt, uint64_t ckpt_id,
                    rill__stop_mode stop, bool savepoint);
    /* The stop triggered with checkpoint ckpt_id is withdrawn: its savepoint failed. */
    void (*abort_stop)(void *tm, uint64_t job_id, uint32_t attempt, uint64_t ckpt_id);
    /* Checkpoint ckpt_id is complete: the job's tasks here commit (two-phase commit). */
    void (*complete)(void *tm, uint64_t job_id, uint32_t attempt, uint64_t ckpt_id);
    /* The JobManager holds this gateway no more (may be NULL). */
    void (*drop)(void *tm);
} rill__tm_gateway;

/* What a TaskManager tells its JobManager, about an attempt of a job (a report about an
 * attempt that is not the job's current one is stale, and ignored). */
typedef struct rill__jm_gateway {
    void *jm;
    void (*task_state)(void *jm, uint64_t job_id, uint32_t attempt, int task,
                       rill__task_state state, int rc, const char *msg);
    /* A task's snapshot for checkpoint ckpt_id is durable in data file `file` (or, rc < 0,
     * failed for `reason`): bytes were written for it (the data file, and the files of native
     * snapshots that no earlier checkpoint had), full_bytes is all it needs (with the files
     * shared with earlier checkpoints); usage (NULL: none) is its keyed state's size at the
     * barrier. */
    void (*ack)(void *jm, uint64_t job_id, uint32_t attempt, int task, uint64_t ckpt_id, int rc,
                uint64_t bytes, uint64_t full_bytes, int64_t align_ms,
                const rill__state_usage *usage, const char *file, const char *reason);
    /* Source task `task` has emitted all of its input and waits for the final checkpoint. */
    void (*end_of_data)(void *jm, uint64_t job_id, uint32_t attempt, int task);
    /* The attempt failed on this TaskManager beyond one task (a data connection broke): the
     * job fails over. */
    void (*job_failed)(void *jm, uint64_t job_id, uint32_t attempt, int rc, const char *msg);
} rill__jm_gateway;

/* Whether a job takes checkpoints (a directory, and an interval or savepoints through REST):
 * the JobManager coordinates them exactly when the TaskManagers write them. */
static inline bool rill__env_checkpointing(const rill_env *env)
{
    return env->ckpt_dir && (env->ckpt_interval_ms > 0 || env->rest_port >= 0);
}

/* ---- checkpoint coordinator (one per job with checkpointing on; the JobManager's lock held
 * around every call but rill__coord_io_run) -------------------------------------------------- */

typedef struct rill__coordinator rill__coordinator;

typedef struct rill__ckpt_stats {
    uint64_t id;
    int64_t trigger_ms, duration_ms;
    int64_t alignment_ms; /* the longest a task waited to align its barriers */
    uint64_t bytes;      /* written for it: incremental checkpoints write what changed */
    uint64_t full_bytes; /* all it needs, files shared with earlier checkpoints too */
    rill__state_usage state; /* the job's keyed state at the barrier, summed over tasks */
    char status[16]; /* COMPLETED, FAILED */
    char reason[256];
} rill__ckpt_stats;

int rill__coord_new(rill_env *env, rill__exec_graph *g, rill__coordinator **out, rill__err *err);
void rill__coord_free(rill__coordinator *c);
rill__ckpt_store *rill__coord_store(rill__coordinator *c);
/* Due work at now: times out checkpoints, and returns the id of a checkpoint to trigger (0:
 * none); *stop_out is then true for the final checkpoint, whose completion ends the sources. A
 * failure past the tolerance sets *rc_out and job_err. */
uint64_t rill__coord_tick(rill__coordinator *c, int64_t now, bool *stop_out, rill__err *job_err,
                          int *rc_out);
/* Source task `task` has reached the end of its input and waits. Once every source that has not
 * finished waits, the next tick triggers the final checkpoint (honouring the minimum pause and
 * the number in flight); if it fails, it counts against the tolerance like any checkpoint and
 * is triggered again after max(min-pause, interval). */
void rill__coord_end_of_data(rill__coordinator *c, int task);
/* The id of the final checkpoint in flight, 0: none. */
uint64_t rill__coord_final_pending(const rill__coordinator *c);
int rill__coord_ack(rill__coordinator *c, int task, uint64_t id, int rc, uint64_t bytes,
                    uint64_t full_bytes, int64_t align_ms, const rill__state_usage *usage, const char *file,
                    const char *reason, rill__err *job_err);
/* The keyed state of each operator that has some, summed over its subtasks, as of the newest
 * completed checkpoint (*n_out 0 before one). */
typedef struct rill__op_state {
    char uid[128];
    int subtasks; /* that reported */
    rill__state_usage usage;
} rill__op_state;
const rill__op_state *rill__coord_op_state(const rill__coordinator *c, size_t *n_out);
int rill__coord_task_finished(rill__coordinator *c, int task, rill__err *job_err);
/* A savepoint into dir: a checkpoint triggered now (the caller tells the TaskManagers), copied
 * into dir/savepoint-<job>-<id>/ before it completes (a savepoint that cannot be written fails
 * its checkpoint). With stop (stop-with-savepoint), its completion ends the job: no checkpoint
 * is triggered after it, and no other savepoint is taken while it is in flight. Its id, or 0
 * with err set. */
uint64_t rill__coord_trigger_savepoint(rill__coordinator *c, const char *dir, bool stop,
                                       rill__err *err);
/* Gives savepoint id up (its waiter stopped waiting) if it is still in flight, as failed for
 * reason. */
void rill__coord_abort_savepoint(rill__coordinator *c, uint64_t id, const char *reason);
/* 1 and the location (malloc'd) when savepoint id is written, 0 while pending, negative with
 * err when it failed. */
int rill__coord_savepoint_result(rill__coordinator *c, uint64_t id, char **location_out,
                                 rill__err *err);
/* The newest completed checkpoint (0: none). */
uint64_t rill__coord_last_completed(const rill__coordinator *c);
/* The job restarts: checkpoints in flight are given up, every task runs again. */
void rill__coord_reset(rill__coordinator *c);

/* The coordinator's file I/O: commits (with their savepoint copies: every task file read and
 * written again) and removals of failed checkpoints. By default it runs inside the call that
 * causes it (an ack, a tick, a reset). After rill__coord_defer_io those calls only queue it, so
 * that the JobManager's lock is not held across fsyncs: its owner takes the work under the
 * lock (rill__coord_io_take: false when there is none, or while a commit is being done), does
 * it without (rill__coord_io_run, which touches only the store and the work item), and applies
 * the outcome under the lock again (rill__coord_io_finish: completes the checkpoint, or fails
 * it; < 0 with job_err when failures pass the tolerance), all on one thread, the one that
 * ticks and resets. Checkpoints complete in id order. */
typedef struct rill__coord_io rill__coord_io;
void rill__coord_defer_io(rill__coordinator *c);
bool rill__coord_io_take(rill__coordinator *c, rill__coord_io **out);
void rill__coord_io_run(rill__coordinator *c, rill__coord_io *io);
int rill__coord_io_finish(rill__coordinator *c, rill__coord_io *io, rill__err *job_err);
const rill__ckpt_stats *rill__coord_stats(const rill__coordinator *c, size_t *n_out);

#include "control.h" /* the control protocol's messages */

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

/* ---- what the REST API asks of a JobManager (each call takes the JobManager's lock) -----------
 */

typedef struct rill__job_info {
    uint64_t id;
    char name[256];
    rill__job_state state;
    int restarts;
    int n_tasks;
    uint64_t last_checkpoint; /* the newest completed, 0: none */
    char status[192];         /* "" or what it waits for ("waiting for slots: ...") */
    int64_t start_ms, end_ms; /* wall clock: submitted, ended (-1 while it has not) */
    char error[RILL_ERRMSG_MAX]; /* "" or the failure that ended it (or the latest restart's) */
} rill__job_info;

/* Every job, newest last (*out malloc'd, free()). */
int rill__jm_jobs(rill__jobmanager *jm, rill__job_info **out, size_t *n_out);
/* A registered TaskManager as the REST API shows it. */
typedef struct rill__tm_info {
    int index;      /* registration order, from 0 */
    int slots;      /* slots it offers */
    int free_slots; /* of them, those no job that has not ended occupies */
    int data_port;  /* -1: none (it exchanges data in this process) */
    bool remote;    /* a TaskManager process: the fields below are set */
    char id[RILL_TM_ID_MAX + 1];
    char address[RILL_HOST_MAX + 1]; /* its data host */
    int64_t since_heartbeat_ms;      /* since its last heartbeat arrived */
} rill__tm_info;
/* Every TaskManager: those in this process in registration order, then the remote ones in
 * registration order (*out malloc'd, free()). */
int rill__jm_taskmanagers(rill__jobmanager *jm, rill__tm_info **out, size_t *n_out);

/* Remote TaskManagers (registered over the control protocol, jmserver.c): listed, their
 * liveness tracked, jobs scheduled on their slots through gw (an RPC stub over the
 * connection). */
/* Adds one; *handle_out names this registration. An id already registered is replaced (the
 * same TaskManager reconnected; its jobs fail over): *replaced_out (may be NULL) is then the
 * old handle, else 0. gw->drop is called once the JobManager no longer uses gw. */
void rill__jm_remote_tm_add(rill__jobmanager *jm, const rill__msg_register_tm *m,
                            const rill__tm_gateway *gw, uint64_t *handle_out,
                            uint64_t *replaced_out);
/* A heartbeat from registration handle arrived (nothing when it is gone). */
void rill__jm_remote_tm_seen(rill__jobmanager *jm, uint64_t handle);
/* Removes registration handle (nothing when it is gone already): every job with tasks on it
 * fails over (why: what happened to it, for the job's error). */
void rill__jm_remote_tm_remove(rill__jobmanager *jm, uint64_t handle, const char *why);
/* A JobManager process: a job that does not find enough free slots waits for them (its state
 * CREATED, its status saying so), instead of failing. */
void rill__jm_set_wait_for_slots(rill__jobmanager *jm, bool wait);
/* A job by its id ("3") or, when no id matches, its name. RILL_ENOENT when there is none. */
int rill__jm_find(rill__jobmanager *jm, const char *id_or_name, uint64_t *job_id_out);
/* The checkpoint statistics of a job, and its keyed state per operator as of the newest
 * completed checkpoint (*out and *ops_out malloc'd, free()); RILL_ENOTSUP when the job has no
 * checkpointing. */
int rill__jm_checkpoint_stats(rill__jobmanager *jm, uint64_t job_id, rill__ckpt_stats **out,
                              size_t *n_out, rill__op_state **ops_out, size_t *n_ops_out,
                              rill__err *err);
/*
 * Takes a savepoint of a running job into directory dir (created): a checkpoint triggered now,
 * written as dir/savepoint-<job>-<n>/ (its _metadata of savepoint kind and the task files, all
 * named relative to that directory, so it can be moved). With a stop mode (stop-with-savepoint,
 * see rill__stop_mode), the sources stop at the savepoint's barrier and the job finishes once it
 * has completed (its sinks commit what it covers); if it fails, the stop is withdrawn and the
 * job goes on (without drain: the sources read on; with drain the end of event time is out, so
 * the job fails over to its latest checkpoint). Blocks until the savepoint is written, has
 * failed, or timeout_ms passed (then it is given up). 0 and the savepoint's path in
 * *location_out (malloc'd), or an error in err.
 */
int rill__jm_savepoint(rill__jobmanager *jm, uint64_t job_id, const char *dir, rill__stop_mode stop,
                       int64_t timeout_ms, char **location_out, rill__err *err);

/* ---- job objects and submissions on a JobManager process (`rill run -m`) -------------------
 * The client uploads the job's shared object (REST POST /jars/upload); the JobManager stores
 * it under a name it generates (rill__jar_id_ok), never one from the request, and runs it on
 * request (POST /jars/<id>/run): a driver thread loads it and calls its rill_job, whose
 * execution is scheduled on the TaskManagers, which get the object over their control
 * connections. */

typedef struct rill__jar_store rill__jar_store;
/* Opens (creating, mode 0700) the directory stored objects live in. */
int rill__jar_store_open(const char *dir, rill__jar_store **out, rill__err *err);
void rill__jar_store_free(rill__jar_store *s); /* NULL-safe; the files stay */
/* Stores n bytes (an ELF shared object, 1..RILL_JAR_SIZE_MAX) under a new name: 0 and the name
 * in id_out (RILL_JAR_ID_MAX + 1 bytes), written to a temporary file, fsynced and renamed. */
int rill__jar_store_put(rill__jar_store *s, const void *p, size_t n, char *id_out,
                        rill__err *err);
/* The path (malloc'd), size and SHA-256 of stored object id; RILL_ENOENT when there is none
 * (id not of the generated form is RILL_ENOENT too, and never touches the filesystem). */
int rill__jar_store_get(rill__jar_store *s, const char *id, char **path_out, uint64_t *size_out,
                        uint8_t sha256_out[RILL_SHA256_LEN], rill__err *err);
typedef struct rill__jar_info {
    char id[RILL_JAR_ID_MAX + 1];
    uint64_t size;
    int64_t uploaded_ms; /* wall clock */
} rill__jar_info;
/* Every stored object, oldest first (*out malloc'd, free()). */
int rill__jar_store_list(rill__jar_store *s, rill__jar_info **out, size_t *n_out, rill__err *err);
int rill__jar_store_delete(rill__jar_store *s, const char *id, rill__err *err);

/* A request to run a stored object. */
typedef struct rill__run_request {
    const char *jar_id;
    const char *name; /* NULL: the job's default ("job-<jar id prefix>" or what rill_job sets) */
    /* options as `rill run` takes them, by key (rill_env_set): "parallelism", "checkpoint.dir",
     * "checkpoint.interval", "restart-strategy", ... */
    const char *const *opt_keys;
    const char *const *opt_values;
    size_t n_opts;
    const char *const *args; /* the job's arguments (after `--`), without argv[0] */
    size_t n_args;
} rill__run_request;

/* What TaskManager processes need to build a job's graph again, as the JobManager did: its
 * object and the options and arguments rill_job was called with (env->cluster_spec). */
typedef struct rill__job_spec {
    char jar_id[RILL_JAR_ID_MAX + 1];
    uint8_t jar_sha256[RILL_SHA256_LEN];
    char *jar_path; /* on the JobManager */
    uint64_t jar_size;
    size_t n_opts;
    char **opt_keys, **opt_values;
    size_t n_args; /* without argv[0] */
    char **args;
} rill__job_spec;

/* What runs requests on a JobManager process (cluster_run.c installs it; the mini-cluster has
 * none). */
typedef struct rill__jm_runner {
    void *arg;
    rill__jar_store *jars;
    /* Loads the object and calls its rill_job on a driver thread; returns once the job is
     * submitted (0 and its id; it may still wait for slots) or failed before (the error, e.g.
     * an option or the graph, in err). */
    int (*run)(void *arg, const rill__run_request *rq, uint64_t *job_id, rill__err *err);
} rill__jm_runner;
void rill__jm_set_runner(rill__jobmanager *jm, const rill__jm_runner *runner);
/* The runner's jar store, NULL when this JobManager takes no uploads. */
rill__jar_store *rill__jm_jars(rill__jobmanager *jm);
/* Runs rq through the runner: RILL_ENOTSUP when there is none. */
int rill__jm_run(rill__jobmanager *jm, const rill__run_request *rq, uint64_t *job_id,
                 rill__err *err);

/* The runner of a JobManager process (cluster_run.c): installs itself in jm (rill__jm_set_runner,
 * with jars) and makes jobs wait for slots. A job that names no checkpoint directory gets
 * default_ckpt_dir (NULL: none). */
typedef struct rill__cluster_runner rill__cluster_runner;
int rill__cluster_runner_new(rill__jobmanager *jm, rill__jar_store *jars,
                             const char *default_ckpt_dir, rill__cluster_runner **out);
/* Cancels every job it runs and waits for them to end (call before the control server stops:
 * the TaskManagers report the cancellations). NULL-safe. */
void rill__cluster_runner_free(rill__cluster_runner *r);

/* ---- REST API (libmicrohttpd) -----------------------------------------------------------------
 */

typedef struct rill__rest rill__rest;
/* Serves the JobManager's REST API on bind_addr:port (bind_addr NULL: 127.0.0.1; port 0: a free
 * one). JSON, in Flink's shape where it fits: GET /overview, GET /jobs, GET /jobs/<id>,
 * GET /jobs/<id>/checkpoints, GET /taskmanagers, POST /jobs/<id>/savepoints
 * {"target-directory": DIR}, POST /jobs/<id>/stop {"targetDirectory": DIR},
 * PATCH /jobs/<id>?mode=cancel. With a secret (secret_len bytes, copied as its token only),
 * every request must carry "Authorization: Bearer <rill__rest_token of it>" or is answered 401.
 * A bind address beyond loopback without a secret is RILL_ECONFIG (rill__net_check_bind). */
int rill__rest_start(rill__jobmanager *jm, const char *bind_addr, int port, const uint8_t *secret,
                     size_t secret_len, rill__rest **out, rill__err *err);
/* The REST bearer token of a secret: lowercase hex of HMAC-SHA256(secret, RILL_REST_TOKEN_CONTEXT)
 * into out (RILL_REST_TOKEN_LEN characters and a NUL). It proves the secret without revealing
 * it, and the context keeps it apart from the handshake's proofs (docs/protocol.md). */
#define RILL_REST_TOKEN_CONTEXT "rill-rest-token-v1"
#define RILL_REST_TOKEN_LEN     (2 * RILL_SHA256_LEN)
void rill__rest_token(const uint8_t *secret, size_t secret_len, char out[RILL_REST_TOKEN_LEN + 1]);
/* May v be written as an HTTP header value: no CR, LF, NUL or other control character but
 * tab? Every header value rill writes (server and client) goes through this. */
bool rill__http_header_value_ok(const char *v);
int rill__rest_port(const rill__rest *r);
void rill__rest_stop(rill__rest *r); /* NULL-safe */
/* A REST server (as rill__rest_start's) that listens nowhere and runs no thread: it serves only
 * the connections rill__rest_exchange hands it. For tests and the fuzz target. 0 or RILL_EIO. */
int rill__rest_new_unbound(rill__jobmanager *jm, const uint8_t *secret, size_t secret_len,
                           rill__rest **out, rill__err *err);
/* Sends the len bytes of request to r (made by rill__rest_new_unbound) over a new connection,
 * closes its sending side, and appends everything the server answers to response until the
 * server closes the connection: 0, or RILL_ECANCELED when it has not closed it within
 * timeout_ms (what arrived is in response), or -errno / RILL_EIO when there is no connection. */
int rill__rest_exchange(rill__rest *r, const void *request, size_t len, int timeout_ms,
                        rill__buf *response);
/* Answers one request without a socket, as the server does once its headers passed (so with no
 * token check or body limit): method, path as sent (percent-encoded), the "mode" query argument
 * (NULL: none) and the body. The status goes to *status_out (0: no answer, the connection would
 * be closed) and the JSON is appended to out. For tests and the fuzz target. */
void rill__rest_handle(rill__jobmanager *jm, const char *method, const char *path, const char *mode,
                       const void *body, size_t len, unsigned *status_out, rill__buf *out);

/* The bodies the REST API reads (parsed by jansson), for the handlers, the tests and the fuzz
 * targets. Each parse is 0 with *out filled (free the run body with rill__rest_run_body_free),
 * or -1 with why in msg and *out empty. */
typedef struct rill__rest_savepoint_body {
    char *dir;   /* "target-directory" or "targetDirectory" (malloc'd; NULL: none or null) */
    bool cancel; /* "cancel-job": true */
    bool drain;  /* "drain": true */
} rill__rest_savepoint_body;
/* POST /jobs/<id>/savepoints and /stop: one object of strings, booleans and nulls. */
int rill__rest_parse_savepoint_body(const char *body, size_t len, rill__rest_savepoint_body *out,
                                    char *msg, size_t msg_size);
/* POST /jars/<id>/run (empty: no options, no arguments):
 *   {"programArgsList": ["a", ...], "options": {"key": "value" | number | bool, ...},
 *    "name": "job name" | null}
 * every field optional, any other refused; counts and lengths within RILL_DEPLOY_ARGS_MAX,
 * RILL_DEPLOY_OPTS_MAX, RILL_ARG_MAX, RILL_OPT_KEY_MAX, RILL_OPT_VALUE_MAX, RILL_JOB_NAME_MAX.
 * A number option is its shortest text (1.5e3 is "1500"). */
typedef struct rill__rest_run_body {
    char *name; /* NULL: the job's default */
    char **keys, **values;
    size_t n_opts;
    char **args;
    size_t n_args;
} rill__rest_run_body;
int rill__rest_parse_run_body(const char *body, size_t len, rill__rest_run_body *out, char *msg,
                              size_t msg_size);
void rill__rest_run_body_free(rill__rest_run_body *rb);
/* ---- Prometheus (prometheus.c) -------------------------------------------------------------- */

#define RILL_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* Appends the metrics of this process in Prometheus's text format: with a JobManager (may be
 * NULL) its jobs, checkpoints and TaskManagers (rill_jobmanager_*), then every task registered in
 * this process (rill_taskmanager_job_task_[operator_]*, labels job, task, operator, subtask) and
 * the process's memory and CPU (rill_taskmanager_Status_*). */
void rill__prom_write(rill__jobmanager *jm, rill__buf *out);
void rill__prom_write_jobs(rill__jobmanager *jm, rill__buf *out);
void rill__prom_write_tasks(rill__buf *out);
/* A set of samples by family (what a TaskManager reports to its JobManager). */
typedef struct rill__prom_set rill__prom_set;
rill__prom_set *rill__prom_set_new(void);      /* never NULL */
void rill__prom_set_free(rill__prom_set *set); /* NULL-safe */
/* Adds one sample (labels: name, value pairs ended by NULL, or NULL) to family name. */
void rill__prom_set_add(rill__prom_set *set, const char *name, const char *help,
                        const char *const *labels, double v);
/* Adds this process's tasks and its memory and CPU (rill_<scope>_Status_Process_*); tm_id, when
 * not NULL, is a label of every sample. */
void rill__prom_set_collect(rill__prom_set *set, const char *scope, const char *tm_id);
/* Writes sets (NULL entries skipped) as one exposition: a family's samples from every set under
 * one HELP and TYPE. */
void rill__prom_write_sets(rill__buf *out, rill__prom_set *const *sets, int n_sets);
/* The METRICS frame's payload: samples past max_bytes are left out (the counts say so). 0 or
 * the codec's error. Decoding checks names and limits: 0, or RILL_EPROTO/RILL_ELIMIT in err. */
int rill__prom_set_encode(const rill__prom_set *set, size_t max_bytes, rill__buf *out);
int rill__prom_set_decode(const void *p, size_t len, rill__prom_set **out, rill__err *err);
/* A remote TaskManager's report (set taken; dropped when the registration is gone), and every
 * report merged after local (may be NULL) into out, under the JobManager's lock. */
void rill__jm_remote_tm_metrics(rill__jobmanager *jm, uint64_t handle, rill__prom_set *set);
void rill__jm_write_tm_metrics(rill__jobmanager *jm, rill__prom_set *local, rill__buf *out);
/* One family's HELP and TYPE (gauge) lines, and one sample: labels are name, value pairs ended
 * by NULL (NULL: none); values are escaped as the format requires. */
void rill__prom_family(rill__buf *out, const char *name, const char *help);
void rill__prom_sample(rill__buf *out, const char *name, const char *const *labels, double v);
/* A TaskManager's own listener: GET /metrics (rill__prom_write without a JobManager) on
 * bind_addr:port (NULL: 127.0.0.1; 0: a free one; loopback only, as it has no secret). */
typedef struct rill__prom_server rill__prom_server;
int rill__prom_server_start(const char *bind_addr, int port, rill__prom_server **out,
                            rill__err *err);
int rill__prom_server_port(const rill__prom_server *s);
/* The TaskManager's id, a label of every sample from now on (once the agent has chosen it). */
void rill__prom_server_set_tm_id(rill__prom_server *s, const char *tm_id);
void rill__prom_server_stop(rill__prom_server *s); /* NULL-safe */

/* ---- TaskManager ---------------------------------------------------------------------------- */

rill__taskmanager *rill__tm_new(int slots, const rill__jm_gateway *jm);
void rill__tm_free(rill__taskmanager *tm);
rill__tm_gateway rill__tm_gateway_local(rill__taskmanager *tm);
struct rill__remote_config;
/* Makes the data connection to process p of a placement for a job (connected, handshake done,
 * not started), configured with cfg (its end reported to the job). NULL with err. */
typedef struct rill__remote *(*rill__tm_connect_fn)(void *arg, int p,
                                                     const struct rill__remote_config *cfg,
                                                     rill__err *err);
/* A TaskManager process's deployment: the listed tasks of attempt `attempt` of job_id, their
 * channels to tasks elsewhere (placement; NULL: all local) over connections made by connect,
 * one per peer, owned by the job from then on; a connection that breaks fails the attempt
 * (the JobManager is told through job_failed). Released through the local gateway's release. */
int rill__tm_deploy_run(rill__taskmanager *tm, uint64_t job_id, uint32_t attempt,
                        rill__exec_graph *g, const int *tasks, int n,
                        const rill__placement *placement, rill__tm_connect_fn connect,
                        void *connect_arg, const rill__restore *restore, rill__err *err);
/* Asks every task of every job here to stop (the JobManager is gone). */
void rill__tm_cancel_all(rill__taskmanager *tm);

/* ---- the JobManager's control server (jmserver.c): accepts TaskManagers, registers them in
 * the JobManager (rill__jm_remote_tm_*), answers their heartbeats and removes those that stop.
 * One thread accepts; each connection has its own thread (the handshake blocks, with a
 * deadline, so a silent peer holds only its own thread). -------------------------------------
 */

typedef struct rill__cluster_cfg {
    const char *bind;       /* NULL: 127.0.0.1; beyond loopback needs the secret */
    int port;               /* 0: a free one (rill__jm_server_port) */
    const char *cluster_id; /* 1..RILL_CLUSTER_ID_MAX bytes */
    const uint8_t *secret;  /* borrowed; NULL: none */
    size_t secret_len;
    int heartbeat_interval_ms; /* > 0 */
    int heartbeat_timeout_ms;  /* > heartbeat_interval_ms */
    int handshake_timeout_ms;  /* > 0 */
} rill__cluster_cfg;

typedef struct rill__jm_server rill__jm_server;
/* Listens and starts accepting. cfg's strings and secret must outlive the server. 0 and *out, or
 * an error in err (RILL_ECONFIG for a bind beyond loopback without a secret). */
int rill__jm_server_start(rill__jobmanager *jm, const rill__cluster_cfg *cfg, rill__jm_server **out,
                          rill__err *err);
int rill__jm_server_port(const rill__jm_server *s);
/* Tells every TaskManager it is going away (DISCONNECT shutdown), closes every connection and
 * joins every thread. NULL-safe. */
void rill__jm_server_stop(rill__jm_server *s);

/* ---- a TaskManager process's link to its JobManager (tmagent.c) ------------------------- */

typedef struct rill__tm_agent_cfg {
    const char *jm_host;
    int jm_port;
    int slots;              /* 1..RILL_TM_SLOTS_MAX */
    const char *bind;       /* the data listener's address; NULL: 127.0.0.1 */
    int data_port;          /* 0: a free one */
    const char *cluster_id; /* 1..RILL_CLUSTER_ID_MAX bytes */
    const uint8_t *secret;  /* borrowed; NULL: none */
    size_t secret_len;
    int heartbeat_interval_ms, heartbeat_timeout_ms, handshake_timeout_ms;
    int max_backoff_ms;   /* the longest wait between connection attempts */
    const char *work_dir; /* job objects it receives; NULL: $TMPDIR/rill-taskmanager-<id> */
} rill__tm_agent_cfg;

/* Opens the data listener, then connects, registers and heartbeats until *stop becomes true,
 * reconnecting with backoff whenever the JobManager is unreachable, silent for the heartbeat
 * timeout, or closes the connection. on_ready (may be NULL) is called once the data listener is
 * open, with the TaskManager's id and data port. Returns 0 after a stop (having told the
 * JobManager: DISCONNECT shutdown), or an error in err that retrying cannot cure: the data
 * listener cannot open, or the JobManager refused the handshake for its configuration (cluster
 * id, secret, role, version) or rejected the registration. */
int rill__tm_agent_run(const rill__tm_agent_cfg *cfg, const atomic_bool *stop,
                       void (*on_ready)(void *arg, const char *tm_id, int data_port), void *arg,
                       rill__err *err);

/* ---- what a TaskManager process does with its deployments (tmhost.c) ---------------------- */

typedef struct rill__tm_host rill__tm_host;
typedef struct rill__tm_host_cfg {
    const char *tm_id;
    const char *work_dir;   /* created (0700): job objects go to work_dir/jobs */
    int slots;
    int data_lfd;           /* the data port's listening socket (borrowed) */
    const char *cluster_id; /* for data connections' handshakes */
    const uint8_t *secret;  /* borrowed; NULL: none */
    size_t secret_len;
    int handshake_timeout_ms;
} rill__tm_host_cfg;
/* Sends a frame to the JobManager (dropped while there is no connection). Any thread. */
typedef void (*rill__tm_host_send_fn)(void *arg, uint16_t type, const rill__buf *payload);
/* Starts accepting data connections. cfg's strings must outlive the host. */
int rill__tm_host_new(const rill__tm_host_cfg *cfg, rill__tm_host_send_fn send, void *send_arg,
                      rill__tm_host **out, rill__err *err);
/* A control frame from the JobManager: JAR_DATA, DEPLOY, CANCEL, RELEASE, TRIGGER, ABORT_STOP,
 * COMPLETE. 0, or a protocol error (the connection must be closed) in err. */
int rill__tm_host_on_frame(rill__tm_host *h, const rill__frame *f, rill__err *err);
/* The connection to the JobManager ended: every deployment is canceled and released (the
 * JobManager fails them over). */
void rill__tm_host_session_lost(rill__tm_host *h);
/* Cancels and releases everything, stops accepting. NULL-safe. */
void rill__tm_host_free(rill__tm_host *h);

/* ---- mini-cluster --------------------------------------------------------------------------- */

/* What `rill run` sets beyond the env's options, through env->executor_arg (NULL: defaults). */
typedef struct rill__minicluster_cfg {
    const char *rest_bind; /* the REST API's address; NULL: 127.0.0.1 */
    const uint8_t *secret; /* the shared secret (borrowed); NULL: none */
    size_t secret_len;
} rill__minicluster_cfg;

/* The executor rill_env_new installs: a JobManager and one TaskManager in this process, with as
 * many slots as the job needs. */
int rill__minicluster_execute(rill_env *env, void *arg); /* arg: rill__minicluster_cfg * */
/* Async-signal-safe: asks every job running in a mini-cluster of this process to cancel. */
void rill__minicluster_request_cancel(void);
/* Takes a request back, so that the next job runs (`rill sql` runs one job after another in
 * one process: a Ctrl-C cancels the one running then). */
void rill__minicluster_clear_cancel(void);

/* ---- job objects -------------------------------------------------------------------------- */

/* How a job object that is not a shared object runs (a SQL script, `rill run -m FILE.sql`):
 * set by the command (cli layer, above sql) at start; NULL when the process runs none. Called
 * as a rill_job with argv[0] the object's path. */
extern rill_job_fn rill__cluster_script_job;

/* The entry of the job object at path: a shared object's rill_job (*so: its handle), or, for a
 * script (anything not ELF), rill__cluster_script_job (*so NULL). 0, or RILL_ECONFIG with why. */
int rill__job_entry(const char *path, rill_job_fn *job, void **so, char *why, size_t cap);

#endif /* RILL_CLUSTER_H */
