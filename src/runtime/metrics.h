/*
 * metrics.h - runtime layer: the metric registry (Flink's metric system as the model). Each task
 * owns one block of counters that only its own thread writes (relaxed stores, no lock, no
 * read-modify-write); reporters (rill_env_metric, the Prometheus writer) read every block of the
 * process under the registry's lock, which only registration, removal and reading take.
 */
#ifndef RILL_METRICS_H
#define RILL_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct rill__node;
struct rill_env;

/* One operator of a task's chain. */
typedef struct rill__op_metrics {
    char *uid;
    struct rill__node *node; /* its job graph node (borrowed; outlives the block) */
    atomic_llong records_in, records_out, late_dropped;
    atomic_llong wm_in, wm_out; /* RILL_TS_MIN (INT64_MIN) before the first */
    /* the reader's meters (under the registry lock) */
    int64_t seen_in, seen_out;
    double rate_in, rate_out;
} rill__op_metrics;

/* One task (a subtask of a vertex): its chain and its input/output. */
typedef struct rill__task_metrics {
    char *job, *task;           /* the job's name, the task's name ("Source: gen -> map") */
    const struct rill_env *env; /* the env whose graph the task runs (borrowed) */
    int subtask, parallelism;
    int n_ops;
    rill__op_metrics *ops;
    /* written by the task thread */
    atomic_llong bytes_in, bytes_out;       /* batch bytes taken from / put into channels */
    atomic_llong idle_ns, backpressured_ns; /* parked for input / for room in an output */
    atomic_int in_usage, out_usage;         /* per mille of the fullest channel, last seen */
    int64_t start_ns;                       /* registration (monotonic) */
    /* the reader's meters (under the registry lock) */
    int64_t seen_ns, seen_idle, seen_bp;
    double idle_ms_s, bp_ms_s, busy_ms_s;
    struct rill__task_metrics *prev, *next;
} rill__task_metrics;

/* A job's own figures, kept in its env: the JobManager writes them (on its threads), readers
 * read them (rill_env_metric with no uid). */
typedef struct rill__job_metrics {
    atomic_llong start_ms, end_ms; /* wall clock; end 0 while it runs */
    atomic_llong restarts, ckpt_completed, ckpt_failed, ckpt_in_progress;
    atomic_llong ckpt_last_duration_ms, ckpt_last_size, state_size;
} rill__job_metrics;

/* Registers a block for a task of n_ops operators (uids and nodes by chain position). Never
 * NULL. env may be NULL (a test). */
rill__task_metrics *rill__metrics_task_new(const char *job, const char *task, int subtask,
                                           int parallelism, int n_ops, const char *const *uids,
                                           struct rill__node *const *nodes,
                                           const struct rill_env *env);
/* Unregisters and frees the block (NULL-safe). With fold, its counts are added to its nodes'
 * finished totals first, under the same lock, so a reader never counts them twice or not at all. */
void rill__metrics_task_free(rill__task_metrics *m, bool fold);

/* Relaxed store by the one writer: a plain mov on the platforms rill runs on. */
static inline void rill__metric_set(atomic_llong *c, int64_t v)
{
    atomic_store_explicit(c, v, memory_order_relaxed);
}
static inline void rill__metric_add(atomic_llong *c, int64_t d)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d,
                          memory_order_relaxed);
}
static inline int64_t rill__metric_get(const atomic_llong *c)
{
    return atomic_load_explicit((atomic_llong *)c, memory_order_relaxed);
}

/* Reading: fn is called for every registered block under the registry lock, after the block's
 * meters (records per second, busy/idle/back-pressured ms per second) were brought up to date
 * (over at least a second since the last update). fn must not call into the registry. */
typedef void (*rill__metrics_visit_fn)(void *arg, rill__task_metrics *m);
void rill__metrics_foreach(rill__metrics_visit_fn fn, void *arg);

/* The process: resident set size and CPU time (user + system) in ms; 0 when unknown. */
int64_t rill__metrics_rss_bytes(void);
int64_t rill__metrics_cpu_ms(void);

/* Switches the collection off (for measuring its cost): tasks then publish nothing. Read once
 * per task when it starts; the environment variable RILL_METRICS=off sets it too. */
void rill__metrics_set_enabled(bool on);
bool rill__metrics_enabled(void);

#endif /* RILL_METRICS_H */
