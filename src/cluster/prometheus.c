/*
 * prometheus.c - cluster layer: the metrics in Prometheus's text exposition format (0.0.4), named
 * as Flink's PrometheusReporter names them under a rill_ prefix (scope and metric joined by '_':
 * rill_taskmanager_job_task_operator_numRecordsIn), and a TaskManager's own small /metrics
 * listener (libmicrohttpd). Every value is a gauge, as Flink's reporter exports its counters.
 */
#include <arpa/inet.h>
#include <math.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

/* ---- the text format -------------------------------------------------------------------- */

/* A label value: backslash, double quote and line feed escaped, as the format requires. */
static void label_value(rill__buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            rill__buf_printf(b, "\\%c", *s);
        else if (*s == '\n')
            rill__buf_append(b, "\\n", 2);
        else
            rill__buf_putc(b, *s);
    }
}

static void family(rill__buf *b, const char *name, const char *help)
{
    rill__buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* One sample: name{labels} value. labels: pairs of name and value, ended by NULL. */
static void sample(rill__buf *b, const char *name, const char *const *labels, double v)
{
    rill__buf_printf(b, "%s", name);
    for (int i = 0; labels && labels[i]; i += 2) {
        rill__buf_printf(b, "%s%s=\"", i ? "," : "{", labels[i]);
        label_value(b, labels[i + 1]);
        rill__buf_putc(b, '"');
    }
    if (labels && labels[0])
        rill__buf_putc(b, '}');
    if (isnan(v))
        rill__buf_printf(b, " NaN\n");
    else if (isinf(v))
        rill__buf_printf(b, " %s\n", v > 0 ? "+Inf" : "-Inf");
    else if (fabs(v) < 9e15 && v == (double)(int64_t)v) /* range first: the cast of a larger
                                                         * double is undefined */
        rill__buf_printf(b, " %lld\n", (long long)v);
    else
        rill__buf_printf(b, " %.17g\n", v);
}

void rill__prom_family(rill__buf *b, const char *name, const char *help)
{
    family(b, name, help);
}

void rill__prom_sample(rill__buf *b, const char *name, const char *const *labels, double v)
{
    sample(b, name, labels, v);
}

/* ---- sets of samples: what a TaskManager reports, merged at the JobManager ------------------ */

#define SET_LABELS_MAX 16   /* label pairs of one sample */
#define SET_STR_MAX    1024 /* bytes of a name, help text or label value */

typedef struct psample {
    char **kv; /* 2n strings and a NULL */
    int n;
    double v;
} psample;

typedef struct pfam {
    char *name, *help;
    psample *s;
    size_t n, cap;
} pfam;

struct rill__prom_set {
    pfam *f;
    size_t n, cap;
};

rill__prom_set *rill__prom_set_new(void)
{
    return rill__xcalloc(1, sizeof(rill__prom_set));
}

void rill__prom_set_free(rill__prom_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++) {
        pfam *f = &set->f[i];
        for (size_t k = 0; k < f->n; k++) {
            for (int j = 0; j < 2 * f->s[k].n; j++)
                free(f->s[k].kv[j]);
            free(f->s[k].kv);
        }
        free(f->s);
        free(f->name);
        free(f->help);
    }
    free(set->f);
    free(set);
}

static pfam *set_family(rill__prom_set *set, const char *name, const char *help)
{
    for (size_t i = 0; i < set->n; i++)
        if (!strcmp(set->f[i].name, name))
            return &set->f[i];
    rill__grow((void **)&set->f, &set->cap, set->n + 1, sizeof *set->f);
    pfam *f = &set->f[set->n++];
    memset(f, 0, sizeof *f);
    f->name = rill__xstrdup(name);
    f->help = rill__xstrdup(help);
    return f;
}

/* labels: name, value pairs ended by NULL. */
static void set_add(pfam *f, const char *const *labels, double v)
{
    int n = 0;
    while (labels && labels[2 * n])
        n++;
    rill__grow((void **)&f->s, &f->cap, f->n + 1, sizeof *f->s);
    psample *p = &f->s[f->n++];
    p->n = n;
    p->v = v;
    p->kv = rill__xcalloc((size_t)(2 * n + 1), sizeof *p->kv);
    for (int j = 0; j < 2 * n; j++)
        p->kv[j] = rill__xstrdup(labels[j]);
}

void rill__prom_set_add(rill__prom_set *set, const char *name, const char *help,
                        const char *const *labels, double v)
{
    set_add(set_family(set, name, help), labels, v);
}

typedef enum which {
    W_REC_IN,
    W_REC_OUT,
    W_RATE_IN,
    W_RATE_OUT,
    W_WM_IN,
    W_WM_OUT,
    W_LATE, /* by operator */
    W_BYTES_IN,
    W_BYTES_OUT,
    W_BUSY,
    W_IDLE,
    W_BP,
    W_IN_USAGE,
    W_OUT_USAGE, /* by task */
} which;

static const struct {
    which w;
    const char *name, *help;
} fams[] = {
    {W_REC_IN, "rill_taskmanager_job_task_operator_numRecordsIn", "Records the operator received."},
    {W_REC_OUT, "rill_taskmanager_job_task_operator_numRecordsOut",
     "Records the operator emitted."},
    {W_RATE_IN, "rill_taskmanager_job_task_operator_numRecordsInPerSecond",
     "Records received per second (over a second or more)."},
    {W_RATE_OUT, "rill_taskmanager_job_task_operator_numRecordsOutPerSecond",
     "Records emitted per second (over a second or more)."},
    {W_WM_IN, "rill_taskmanager_job_task_operator_currentInputWatermark",
     "The last watermark the operator received, ms since the epoch."},
    {W_WM_OUT, "rill_taskmanager_job_task_operator_currentOutputWatermark",
     "The last watermark the operator emitted, ms since the epoch."},
    {W_LATE, "rill_taskmanager_job_task_operator_numLateRecordsDropped",
     "Records dropped as late (no side output took them)."},
    {W_BYTES_IN, "rill_taskmanager_job_task_numBytesIn",
     "Bytes of the batches the task took "
     "from its input channels."},
    {W_BYTES_OUT, "rill_taskmanager_job_task_numBytesOut",
     "Bytes of the batches the task put "
     "into its output channels."},
    {W_BUSY, "rill_taskmanager_job_task_busyTimeMsPerSecond",
     "Ms per second the task was neither idle nor back-pressured."},
    {W_IDLE, "rill_taskmanager_job_task_idleTimeMsPerSecond",
     "Ms per second the task waited for input."},
    {W_BP, "rill_taskmanager_job_task_backPressuredTimeMsPerSecond",
     "Ms per second the task waited for room in an output channel."},
    {W_IN_USAGE, "rill_taskmanager_job_task_buffers_inPoolUsage",
     "Fill of the task's fullest input channel, 0 to 1."},
    {W_OUT_USAGE, "rill_taskmanager_job_task_buffers_outPoolUsage",
     "Fill of the task's fullest output channel, 0 to 1."},
};
#define N_FAMS (sizeof fams / sizeof *fams)

typedef struct collect {
    rill__prom_set *set;
    size_t f[N_FAMS]; /* indexes: the families' array grows */
    const char *tm_id;
} collect;

static void visit(void *arg, rill__task_metrics *m)
{
    collect *c = arg;
    char sub[16];
    snprintf(sub, sizeof sub, "%d", m->subtask);
    for (size_t k = 0; k < N_FAMS; k++) {
        which w = fams[k].w;
        if (w >= W_BYTES_IN) {
            const char *labels[] = {"job_name",
                                    m->job,
                                    "task_name",
                                    m->task,
                                    "subtask_index",
                                    sub,
                                    c->tm_id ? "tm_id" : NULL,
                                    c->tm_id,
                                    NULL};
            double v = 0;
            switch (w) {
            case W_BYTES_IN:
                v = (double)rill__metric_get(&m->bytes_in);
                break;
            case W_BYTES_OUT:
                v = (double)rill__metric_get(&m->bytes_out);
                break;
            case W_BUSY:
                v = m->busy_ms_s;
                break;
            case W_IDLE:
                v = m->idle_ms_s;
                break;
            case W_BP:
                v = m->bp_ms_s;
                break;
            case W_IN_USAGE:
                v = atomic_load_explicit(&m->in_usage, memory_order_relaxed) / 1000.0;
                break;
            case W_OUT_USAGE:
                v = atomic_load_explicit(&m->out_usage, memory_order_relaxed) / 1000.0;
                break;
            default:
                break;
            }
            set_add(&c->set->f[c->f[k]], labels, v);
            continue;
        }
        for (int i = 0; i < m->n_ops; i++) {
            rill__op_metrics *o = &m->ops[i];
            const char *labels[] = {"job_name",
                                    m->job,
                                    "task_name",
                                    m->task,
                                    "operator_name",
                                    o->uid,
                                    "subtask_index",
                                    sub,
                                    c->tm_id ? "tm_id" : NULL,
                                    c->tm_id,
                                    NULL};
            double v = 0;
            switch (w) {
            case W_REC_IN:
                v = (double)rill__metric_get(&o->records_in);
                break;
            case W_REC_OUT:
                v = (double)rill__metric_get(&o->records_out);
                break;
            case W_RATE_IN:
                v = o->rate_in;
                break;
            case W_RATE_OUT:
                v = o->rate_out;
                break;
            case W_WM_IN:
                v = (double)rill__metric_get(&o->wm_in);
                break;
            case W_WM_OUT:
                v = (double)rill__metric_get(&o->wm_out);
                break;
            case W_LATE:
                v = (double)rill__metric_get(&o->late_dropped);
                break;
            default:
                break;
            }
            set_add(&c->set->f[c->f[k]], labels, v);
        }
    }
}

void rill__prom_set_collect(rill__prom_set *set, const char *scope, const char *tm_id)
{
    collect c = {.set = set, .tm_id = tm_id};
    for (size_t k = 0; k < N_FAMS; k++)
        c.f[k] = (size_t)(set_family(set, fams[k].name, fams[k].help) - set->f);
    rill__metrics_foreach(visit, &c);
    const char *labels[] = {tm_id ? "tm_id" : NULL, tm_id, NULL};
    char name[128];
    snprintf(name, sizeof name, "rill_%s_Status_Process_Memory_RSS", scope);
    rill__prom_set_add(set, name, "Resident set size of the process, bytes.", labels,
                       (double)rill__metrics_rss_bytes());
    snprintf(name, sizeof name, "rill_%s_Status_Process_CPU_Time", scope);
    rill__prom_set_add(set, name, "CPU time of the process (user and system), ms.", labels,
                       (double)rill__metrics_cpu_ms());
}

void rill__prom_write_sets(rill__buf *b, rill__prom_set *const *sets, int n_sets)
{
    for (int i = 0; i < n_sets; i++) {
        if (!sets[i])
            continue;
        for (size_t k = 0; k < sets[i]->n; k++) {
            const pfam *f = &sets[i]->f[k];
            bool seen = false; /* written with an earlier set's family of that name */
            for (int j = 0; j < i && !seen; j++)
                for (size_t q = 0; sets[j] && q < sets[j]->n && !seen; q++)
                    seen = !strcmp(sets[j]->f[q].name, f->name);
            if (seen)
                continue;
            family(b, f->name, f->help);
            for (int j = i; j < n_sets; j++) {
                for (size_t q = 0; sets[j] && q < sets[j]->n; q++) {
                    const pfam *g = &sets[j]->f[q];
                    if (strcmp(g->name, f->name) != 0)
                        continue;
                    for (size_t r = 0; r < g->n; r++)
                        sample(b, g->name, (const char *const *)g->s[r].kv, g->s[r].v);
                }
            }
        }
    }
}

/* The wire form (docs/protocol.md's codec): u32 families; each: str name, str help, u32
 * samples; each: u8 label pairs, the pairs' strings, u64 the value's IEEE-754 bits. */
int rill__prom_set_encode(const rill__prom_set *set, size_t max_bytes, rill__buf *out)
{
    rill__enc e;
    rill__enc_init(&e, out);
    rill__enc_u32(&e, (uint32_t)set->n);
    for (size_t i = 0; i < set->n; i++) {
        const pfam *f = &set->f[i];
        rill__enc_str(&e, "name", f->name, SET_STR_MAX);
        rill__enc_str(&e, "help", f->help, SET_STR_MAX);
        size_t at = out->len;
        rill__enc_u32(&e, (uint32_t)f->n);
        size_t n = 0;
        for (; n < f->n && out->len < max_bytes; n++) {
            const psample *p = &f->s[n];
            rill__enc_u8(&e, (uint8_t)p->n);
            for (int j = 0; j < 2 * p->n; j++)
                rill__enc_str(&e, "label", p->kv[j], SET_STR_MAX);
            uint64_t bits;
            memcpy(&bits, &p->v, sizeof bits);
            rill__enc_u64(&e, bits);
        }
        if (n < f->n) /* over the frame's room: the rest is left out, the count says so */
            rill__le_put32(out->data + at, (uint32_t)n);
    }
    return rill__enc_finish(&e, "METRICS");
}

static bool name_ok(const char *s, bool colon)
{
    if (!*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || (colon && *s == ':')))
            return false;
    return true;
}

int rill__prom_set_decode(const void *p, size_t len, rill__prom_set **out, rill__err *err)
{
    *out = NULL;
    rill__dec d;
    rill__dec_init(&d, p, len);
    rill__prom_set *set = rill__prom_set_new();
    char name[SET_STR_MAX + 1], help[SET_STR_MAX + 1];
    uint32_t n_fams = rill__dec_u32(&d, "families");
    for (uint32_t i = 0; i < n_fams && !d.rc; i++) {
        size_t at = d.off;
        rill__dec_str(&d, "name", name, sizeof name);
        rill__dec_str(&d, "help", help, sizeof help);
        /* a TaskManager's families only: none may clash with the JobManager's own */
        if (!d.rc && (!name_ok(name, true) || strncmp(name, "rill_taskmanager_", 17) != 0))
            rill__dec_fail_at(&d, "name", at);
        for (char *c = help; *c; c++) /* one line of help, no escapes needed */
            if ((unsigned char)*c < 0x20 || *c == '\\')
                *c = ' ';
        pfam *f = d.rc ? NULL : set_family(set, name, help);
        uint32_t n = rill__dec_u32(&d, "samples");
        for (uint32_t k = 0; k < n && !d.rc; k++) {
            uint8_t n_labels = rill__dec_u8(&d, "labels");
            if (n_labels > SET_LABELS_MAX)
                rill__dec_fail_at(&d, "labels", d.off);
            char kv[2 * SET_LABELS_MAX][SET_STR_MAX + 1];
            const char *labels[2 * SET_LABELS_MAX + 1] = {0};
            for (int j = 0; j < 2 * n_labels && !d.rc; j++) {
                at = d.off;
                rill__dec_str(&d, "label", kv[j], sizeof kv[j]);
                if (!d.rc && j % 2 == 0 && !name_ok(kv[j], false))
                    rill__dec_fail_at(&d, "label", at);
                labels[j] = kv[j];
            }
            uint64_t bits = rill__dec_u64(&d, "value");
            if (!d.rc) {
                double v;
                memcpy(&v, &bits, sizeof v);
                set_add(f, labels, v);
            }
        }
    }
    int rc = rill__dec_finish(&d, "METRICS", err);
    if (rc) {
        rill__prom_set_free(set);
        return rc;
    }
    *out = set;
    return 0;
}

void rill__prom_write_tasks(rill__buf *b)
{
    rill__prom_set *set = rill__prom_set_new();
    rill__prom_set_collect(set, "taskmanager", NULL);
    rill__prom_write_sets(b, &set, 1);
    rill__prom_set_free(set);
}

/* ---- the JobManager's: jobs, checkpoints, TaskManagers ------------------------------------- */

typedef struct job_row {
    rill__job_info info;
    int64_t completed, failed, last_duration, last_size, state_size, state_memory;
} job_row;

void rill__prom_write_jobs(rill__jobmanager *jm, rill__buf *b)
{
    rill__job_info *jobs = NULL;
    size_t n_jobs = 0;
    if (rill__jm_jobs(jm, &jobs, &n_jobs) != 0)
        n_jobs = 0;
    job_row *rows = rill__xcalloc(n_jobs + 1, sizeof *rows);
    int running = 0;
    for (size_t i = 0; i < n_jobs; i++) {
        job_row *r = &rows[i];
        r->info = jobs[i];
        running += jobs[i].state == RILL_JOB_RUNNING;
        rill__ckpt_stats *st = NULL;
        rill__op_state *ops = NULL;
        size_t n_st = 0, n_ops = 0;
        rill__err err = {0};
        if (rill__jm_checkpoint_stats(jm, jobs[i].id, &st, &n_st, &ops, &n_ops, &err) == 0) {
            for (size_t k = 0; k < n_st; k++) {
                if (strcmp(st[k].status, "COMPLETED") != 0) {
                    r->failed++;
                    continue;
                }
                r->completed++;
                r->last_duration = st[k].duration_ms;
                r->last_size = (int64_t)st[k].bytes;
                r->state_size = (int64_t)st[k].full_bytes;
                r->state_memory = st[k].state.memory_bytes;
            }
        }
        free(st);
        free(ops);
    }
    int64_t now = rill__now_ms();
    static const struct {
        const char *name, *help;
    } jf[] = {
        {"rill_jobmanager_job_uptime", "Ms since the job was submitted (0 once it has ended)."},
        {"rill_jobmanager_job_numRestarts", "Restarts of the job so far."},
        {"rill_jobmanager_job_numberOfCompletedCheckpoints", "Checkpoints completed."},
        {"rill_jobmanager_job_numberOfFailedCheckpoints", "Checkpoints that failed."},
        {"rill_jobmanager_job_lastCheckpointDuration", "The last completed checkpoint's "
                                                       "duration, ms."},
        {"rill_jobmanager_job_lastCheckpointSize", "Bytes the last completed checkpoint wrote."},
        {"rill_jobmanager_job_stateSize", "Bytes of the last completed checkpoint in full."},
        {"rill_jobmanager_job_stateMemory", "Keyed state in memory at the last completed "
                                            "checkpoint's barrier, bytes."},
    };
    for (size_t f = 0; f < sizeof jf / sizeof *jf; f++) {
        family(b, jf[f].name, jf[f].help);
        for (size_t i = 0; i < n_jobs; i++) {
            job_row *r = &rows[i];
            char id[32];
            snprintf(id, sizeof id, "%llu", (unsigned long long)r->info.id);
            const char *labels[] = {"job_name", r->info.name, "job_id", id, NULL};
            int64_t v = 0;
            switch (f) {
            case 0:
                v = r->info.end_ms < 0 ? now - r->info.start_ms : 0;
                break;
            case 1:
                v = r->info.restarts;
                break;
            case 2:
                v = r->completed;
                break;
            case 3:
                v = r->failed;
                break;
            case 4:
                v = r->last_duration;
                break;
            case 5:
                v = r->last_size;
                break;
            case 6:
                v = r->state_size;
                break;
            default:
                v = r->state_memory;
                break;
            }
            sample(b, jf[f].name, labels, (double)v);
        }
    }
    rill__tm_info *tms = NULL;
    size_t n_tms = 0;
    if (rill__jm_taskmanagers(jm, &tms, &n_tms) != 0)
        n_tms = 0;
    int slots = 0, free_slots = 0;
    for (size_t i = 0; i < n_tms; i++) {
        slots += tms[i].slots;
        free_slots += tms[i].free_slots;
    }
    family(b, "rill_jobmanager_numRegisteredTaskManagers", "TaskManagers registered.");
    sample(b, "rill_jobmanager_numRegisteredTaskManagers", NULL, (double)n_tms);
    family(b, "rill_jobmanager_numRunningJobs", "Jobs running.");
    sample(b, "rill_jobmanager_numRunningJobs", NULL, running);
    family(b, "rill_jobmanager_taskSlotsTotal", "Slots the TaskManagers offer.");
    sample(b, "rill_jobmanager_taskSlotsTotal", NULL, slots);
    family(b, "rill_jobmanager_taskSlotsAvailable", "Of them, slots no job occupies.");
    sample(b, "rill_jobmanager_taskSlotsAvailable", NULL, free_slots);
    free(tms);
    free(rows);
    free(jobs);
}

void rill__prom_write(rill__jobmanager *jm, rill__buf *b)
{
    if (!jm) {
        rill__prom_write_tasks(b);
        return;
    }
    rill__prom_write_jobs(jm, b);
    /* this process's tasks (the mini-cluster's), then every remote TaskManager's last report */
    rill__prom_set *local = rill__prom_set_new();
    rill__prom_set_collect(local, "jobmanager", NULL);
    rill__jm_write_tm_metrics(jm, local, b);
    rill__prom_set_free(local);
}

/* ---- a TaskManager's listener --------------------------------------------------------------- */

struct rill__prom_server {
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t mu;
    char tm_id[RILL_TM_ID_MAX + 1]; /* "" until known */
};

void rill__prom_server_set_tm_id(rill__prom_server *s, const char *tm_id)
{
    pthread_mutex_lock(&s->mu);
    snprintf(s->tm_id, sizeof s->tm_id, "%s", tm_id);
    pthread_mutex_unlock(&s->mu);
}

static enum MHD_Result prom_request(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls)
{
    rill__prom_server *s = cls;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    if (!*con_cls) { /* the headers: answer once they are all in */
        *con_cls = c;
        return MHD_YES;
    }
    *upload_data_size = 0;
    bool get = !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
    rill__buf body = {0};
    unsigned status = MHD_HTTP_OK;
    const char *type = RILL_PROM_CONTENT_TYPE;
    if (strcmp(url, "/metrics") != 0) {
        status = MHD_HTTP_NOT_FOUND;
        type = "text/plain; charset=utf-8";
        rill__buf_printf(&body, "not found: this TaskManager serves GET /metrics only\n");
    } else if (!get) {
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
        type = "text/plain; charset=utf-8";
        rill__buf_printf(&body, "method not allowed: GET /metrics\n");
    } else {
        char tm_id[RILL_TM_ID_MAX + 1];
        pthread_mutex_lock(&s->mu);
        snprintf(tm_id, sizeof tm_id, "%s", s->tm_id);
        pthread_mutex_unlock(&s->mu);
        rill__prom_set *set = rill__prom_set_new();
        rill__prom_set_collect(set, "taskmanager", *tm_id ? tm_id : NULL);
        rill__prom_write_sets(&body, &set, 1);
        rill__prom_set_free(set);
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(body.len, body.data, MHD_RESPMEM_MUST_COPY);
    rill__buf_free(&body);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result r = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return r;
}

int rill__prom_server_start(const char *bind_addr, int port, rill__prom_server **out,
                            rill__err *err)
{
    *out = NULL;
    if (!bind_addr || !*bind_addr)
        bind_addr = RILL_NET_DEFAULT_BIND;
    struct sockaddr_storage ss;
    bool v6;
    int rc = rill__net_listen_addr("metrics", bind_addr, port, &ss, &v6, err);
    if (rc)
        return rc;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (v6)
        flags |= MHD_USE_IPv6;
    /* the metrics name jobs and operators: the same rule as the REST API's (no secret here,
     * so loopback only) */
    rc = rill__net_check_bind("metrics listener", bind_addr, false, err);
    if (rc)
        return rc;
    rill__prom_server *s = rill__xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    struct MHD_Daemon *d =
        MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, prom_request, s, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, 16U,
                         MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_END);
    if (!d) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        return rill__err_set(err, RILL_EIO, "metrics listener: cannot listen on %s:%d (in use?)",
                             bind_addr, port);
    }
    s->d = d;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : port;
    *out = s;
    return 0;
}

int rill__prom_server_port(const rill__prom_server *s)
{
    return s ? s->port : -1;
}

void rill__prom_server_stop(rill__prom_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->d);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
