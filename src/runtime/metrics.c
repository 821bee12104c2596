/* metrics.c - runtime layer: the process's metric registry (a list of task blocks under one
 * lock), the readers' meters, and the process's own figures (RSS, CPU). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "runtime.h"

#define METER_MIN_NS 1000000000LL /* rates are taken over a second at least, as Flink's meters */

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static rill__task_metrics *reg_head;
static atomic_int enabled = -1; /* -1: not decided yet (the environment decides) */

void rill__metrics_set_enabled(bool on)
{
    atomic_store(&enabled, on ? 1 : 0);
}

bool rill__metrics_enabled(void)
{
    int e = atomic_load(&enabled);
    if (e < 0) {
        const char *v = getenv("RILL_METRICS");
        e = !(v && (!strcmp(v, "off") || !strcmp(v, "0") || !strcmp(v, "false")));
        atomic_store(&enabled, e);
    }
    return e == 1;
}

rill__task_metrics *rill__metrics_task_new(const char *job, const char *task, int subtask,
                                           int parallelism, int n_ops, const char *const *uids,
                                           struct rill__node *const *nodes,
                                           const struct rill_env *env)
{
    rill__task_metrics *m = rill__xcalloc(1, sizeof *m);
    m->job = rill__xstrdup(job ? job : "job");
    m->task = rill__xstrdup(task ? task : "task");
    m->env = env;
    m->subtask = subtask;
    m->parallelism = parallelism;
    m->n_ops = n_ops;
    m->ops = rill__xcalloc((size_t)n_ops + 1, sizeof *m->ops);
    for (int i = 0; i < n_ops; i++) {
        rill__op_metrics *o = &m->ops[i];
        o->uid = rill__xstrdup(uids[i]);
        o->node = nodes ? nodes[i] : NULL;
        atomic_init(&o->wm_in, RILL_TS_MIN);
        atomic_init(&o->wm_out, RILL_TS_MIN);
    }
    m->start_ns = m->seen_ns = rill__mono_ns();
    pthread_mutex_lock(&reg_mu);
    m->next = reg_head;
    if (reg_head)
        reg_head->prev = m;
    reg_head = m;
    pthread_mutex_unlock(&reg_mu);
    return m;
}

static void fold_max(atomic_llong *c, int64_t v)
{
    long long cur = atomic_load(c);
    while (v > cur && !atomic_compare_exchange_weak(c, &cur, (long long)v))
        ;
}

/* Adds the block's counts to its nodes' totals (under reg_mu). */
static void fold(rill__task_metrics *m)
{
    int64_t life = rill__mono_ns() - m->start_ns;
    for (int i = 0; i < m->n_ops; i++) {
        rill__op_metrics *o = &m->ops[i];
        rill__node *n = o->node;
        if (!n)
            continue;
        atomic_fetch_add(&n->records_in, rill__metric_get(&o->records_in));
        atomic_fetch_add(&n->records_out, rill__metric_get(&o->records_out));
        atomic_fetch_add(&n->fin.late_dropped, rill__metric_get(&o->late_dropped));
        fold_max(&n->fin.wm_in, rill__metric_get(&o->wm_in));
        fold_max(&n->fin.wm_out, rill__metric_get(&o->wm_out));
        atomic_fetch_add(&n->fin.bytes_in, rill__metric_get(&m->bytes_in));
        atomic_fetch_add(&n->fin.bytes_out, rill__metric_get(&m->bytes_out));
        atomic_fetch_add(&n->fin.idle_ns, rill__metric_get(&m->idle_ns));
        atomic_fetch_add(&n->fin.bp_ns, rill__metric_get(&m->backpressured_ns));
        atomic_fetch_add(&n->fin.life_ns, life);
    }
}

void rill__metrics_task_free(rill__task_metrics *m, bool do_fold)
{
    if (!m)
        return;
    pthread_mutex_lock(&reg_mu);
    if (do_fold)
        fold(m);
    if (m->prev)
        m->prev->next = m->next;
    else
        reg_head = m->next;
    if (m->next)
        m->next->prev = m->prev;
    pthread_mutex_unlock(&reg_mu);
    for (int i = 0; i < m->n_ops; i++)
        free(m->ops[i].uid);
    free(m->ops);
    free(m->job);
    free(m->task);
    free(m);
}

/* Brings the block's meters up to date when a second or more has passed since the last time. */
static void update_meters(rill__task_metrics *m, int64_t now)
{
    int64_t dt = now - m->seen_ns;
    if (dt < METER_MIN_NS)
        return;
    double sec = (double)dt / 1e9;
    int64_t idle = rill__metric_get(&m->idle_ns), bp = rill__metric_get(&m->backpressured_ns);
    m->idle_ms_s = (double)(idle - m->seen_idle) / 1e6 / sec;
    m->bp_ms_s = (double)(bp - m->seen_bp) / 1e6 / sec;
    if (m->idle_ms_s > 1000)
        m->idle_ms_s = 1000;
    if (m->bp_ms_s > 1000 - m->idle_ms_s)
        m->bp_ms_s = 1000 - m->idle_ms_s;
    m->busy_ms_s = 1000 - m->idle_ms_s - m->bp_ms_s;
    m->seen_idle = idle;
    m->seen_bp = bp;
    for (int i = 0; i < m->n_ops; i++) {
        rill__op_metrics *o = &m->ops[i];
        int64_t in = rill__metric_get(&o->records_in), out = rill__metric_get(&o->records_out);
        o->rate_in = (double)(in - o->seen_in) / sec;
        o->rate_out = (double)(out - o->seen_out) / sec;
        o->seen_in = in;
        o->seen_out = out;
    }
    m->seen_ns = now;
}

void rill__metrics_foreach(rill__metrics_visit_fn fn, void *arg)
{
    pthread_mutex_lock(&reg_mu);
    int64_t now = rill__mono_ns();
    for (rill__task_metrics *m = reg_head; m; m = m->next) {
        update_meters(m, now);
        fn(arg, m);
    }
    pthread_mutex_unlock(&reg_mu);
}

int64_t rill__metrics_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    long long size = 0, resident = 0;
    int n = fscanf(f, "%lld %lld", &size, &resident);
    fclose(f);
    return n == 2 ? resident * (int64_t)sysconf(_SC_PAGESIZE) : 0;
}

int64_t rill__metrics_cpu_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
