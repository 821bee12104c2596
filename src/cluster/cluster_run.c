/* cluster_run.c - cluster layer: runs uploaded job objects on a JobManager process. Each run
 * gets a driver thread (Flink's application mode, in the JobManager): it loads the object,
 * calls its rill_job with the request's options and arguments, and the job's
 * rill_env_execute lands here: the graph is built, submitted to the JobManager (placed on the
 * TaskManagers' slots, or waiting for them) and followed until it ends. The TaskManagers build
 * the same graph from the same object, options and arguments (rill__job_spec). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

rill_job_fn rill__cluster_script_job;

int rill__job_entry(const char *path, rill_job_fn *job, void **so, char *why, size_t cap)
{
    *job = NULL;
    *so = NULL;
    unsigned char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(magic, 1, sizeof magic, f) : 0;
    if (f)
        fclose(f);
    if (!f) {
        snprintf(why, cap, "cannot open job object %s", path);
        return RILL_ECONFIG;
    }
    if (got < 4 || memcmp(magic, "\x7f" "ELF", 4)) { /* a script */
        if (!rill__cluster_script_job) {
            snprintf(why, cap, "job object %s is not a shared object, and this process runs "
                     "no scripts", path);
            return RILL_ECONFIG;
        }
        *job = rill__cluster_script_job;
        return 0;
    }
    *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!*so) {
        const char *e = dlerror();
        snprintf(why, cap, "cannot load the job object %s: %s", path, e ? e : "?");
        return RILL_ECONFIG;
    }
    if (!(*(void **)job = dlsym(*so, RILL_JOB_SYMBOL))) {
        snprintf(why, cap, "the job object %s does not export " RILL_JOB_SYMBOL
                 " (int rill_job(rill_env *env, int argc, char **argv))", path);
        return RILL_ECONFIG;
    }
    return 0;
}

typedef struct driver driver;

struct rill__cluster_runner {
    rill__jobmanager *jm;
    rill__jar_store *jars;
    char *default_ckpt_dir;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    driver *drivers;
    atomic_bool stopping; /* cancels every job */
};

struct driver {
    driver *next;
    rill__cluster_runner *r;
    pthread_t thread;
    rill__job_spec spec;
    char *name;
    /* told to the caller of run (under r->mu) */
    bool submitted, done;
    uint64_t job_id;
    rill__err err;
};

static void spec_free(rill__job_spec *s)
{
    for (size_t i = 0; i < s->n_opts; i++) {
        free(s->opt_keys[i]);
        free(s->opt_values[i]);
    }
    for (size_t i = 0; i < s->n_args; i++)
        free(s->args[i]);
    free(s->opt_keys);
    free(s->opt_values);
    free(s->args);
    free(s->jar_path);
}

static void tell(driver *d, bool submitted, uint64_t job_id, const rill__err *err)
{
    rill__cluster_runner *r = d->r;
    pthread_mutex_lock(&r->mu);
    if (submitted) {
        d->submitted = true;
        d->job_id = job_id;
    } else if (err && !d->submitted) {
        d->err = *err;
    }
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* rill_env_execute of a job on this JobManager. */
static int cluster_execute(rill_env *env, void *arg)
{
    driver *d = arg;
    rill__cluster_runner *r = d->r;
    env->rest_port = 0; /* the JobManager's REST API serves the job (savepoints) */
    rill__exec_graph *g = NULL;
    rill__err err = {0};
    int rc = rill__exec_build(env, &g);
    if (rc) {
        rill__err_set(&err, rc, "%s", rill_errmsg(env)[0] ? rill_errmsg(env) : rill_strerror(rc));
        tell(d, false, 0, &err);
        return rc;
    }
    rill__exec_log(g);
    uint64_t job_id;
    rc = rill__jm_submit(r->jm, g, &job_id, &err);
    if (rc) {
        tell(d, false, 0, &err);
        rill__err_first(&env->err, rc, "%s", err.msg);
        rill__exec_free(g);
        return rc;
    }
    tell(d, true, job_id, NULL);
    rc = rill__jm_wait(r->jm, job_id, &r->stopping, &err);
    if (rc)
        rill__err_first(&env->err, rc, "%s", err.msg);
    rill__log(rc ? RILL_LOG_WARN : RILL_LOG_INFO, "job '%s' (%llu) ended: %s", env->name,
              (unsigned long long)job_id, rc ? err.msg : "FINISHED");
    rill__exec_free(g);
    return rc;
}

static void *driver_main(void *arg)
{
    driver *d = arg;
    rill__err err = {0};
    int rc = 0;
    void *so = NULL;
    rill_job_fn job = NULL;
    char why[RILL_ERRMSG_MAX];
    if (rill__job_entry(d->spec.jar_path, &job, &so, why, sizeof why) != 0)
        rc = rill__err_set(&err, RILL_ECONFIG, "%s", why);
    rill_env *env = NULL;
    if (rc == 0) {
        env = rill_env_new();
        env->executor = cluster_execute;
        env->executor_arg = d;
        env->cluster_spec = &d->spec;
        rc = rill_env_set(env, "name", d->name);
        for (size_t i = 0; i < d->spec.n_opts && rc == 0; i++) {
            rc = rill_env_set(env, d->spec.opt_keys[i], d->spec.opt_values[i]);
            if (rc)
                rill__err_set(&err, rc, "option '%s': %s", d->spec.opt_keys[i], rill_errmsg(env));
            else if (!strcmp(d->spec.opt_keys[i], "parallelism"))
                env->parallelism_fixed = true;
        }
        if (rc && !err.code)
            rill__err_set(&err, rc, "%s", rill_errmsg(env));
    }
    if (rc == 0) {
        char **argv = rill__xcalloc(d->spec.n_args + 2, sizeof *argv);
        argv[0] = d->spec.jar_path;
        for (size_t i = 0; i < d->spec.n_args; i++)
            argv[i + 1] = d->spec.args[i];
        rc = job(env, (int)d->spec.n_args + 1, argv);
        if (rc == 0 && !env->executed && env->n_nodes > 0)
            rc = rill_env_execute(env);
        if (rc == 0 && env->executed && env->err.code)
            rc = env->err.code;
        free(argv);
        if (rc)
            rill__err_set(&err, rc, "%s", rill_errmsg(env)[0] ? rill_errmsg(env)
                                                              : "rill_job failed");
        else if (!env->executed)
            rc = rill__err_set(&err, RILL_EGRAPH, "rill_job built no job");
    }
    rill_env_free(env);
    /* the object stays loaded: its code may be referenced by atexit handlers */
    rill__cluster_runner *r = d->r;
    pthread_mutex_lock(&r->mu);
    if (rc && !d->submitted)
        d->err = err;
    d->done = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* Joins and frees the drivers whose job has ended (r->mu held; released meanwhile). */
static void reap(rill__cluster_runner *r, bool all)
{
    for (driver **pp = &r->drivers; *pp;) {
        driver *d = *pp;
        if (!d->done) {
            if (!all) {
                pp = &d->next;
                continue;
            }
            pthread_cond_wait(&r->cv, &r->mu);
            pp = &r->drivers;
            continue;
        }
        *pp = d->next;
        pthread_mutex_unlock(&r->mu);
        pthread_join(d->thread, NULL);
        spec_free(&d->spec);
        free(d->name);
        free(d);
        pthread_mutex_lock(&r->mu);
        pp = &r->drivers;
    }
}

static int run(void *arg, const rill__run_request *rq, uint64_t *job_id, rill__err *err)
{
    rill__cluster_runner *r = arg;
    driver *d = rill__xcalloc(1, sizeof *d);
    d->r = r;
    rill__job_spec *s = &d->spec;
    int rc = rill__jar_store_get(r->jars, rq->jar_id, &s->jar_path, &s->jar_size, s->jar_sha256,
                                 err);
    if (rc) {
        free(d);
        return rc;
    }
    snprintf(s->jar_id, sizeof s->jar_id, "%s", rq->jar_id);
    /* the JobManager's checkpoint directory, unless the request names one */
    bool has_dir = false;
    for (size_t i = 0; i < rq->n_opts; i++)
        has_dir |= !strcmp(rq->opt_keys[i], "checkpoint.dir");
    size_t n = rq->n_opts + (r->default_ckpt_dir && !has_dir);
    s->opt_keys = rill__xcalloc(n + 1, sizeof *s->opt_keys);
    s->opt_values = rill__xcalloc(n + 1, sizeof *s->opt_values);
    if (r->default_ckpt_dir && !has_dir) {
        s->opt_keys[s->n_opts] = rill__xstrdup("checkpoint.dir");
        s->opt_values[s->n_opts++] = rill__xstrdup(r->default_ckpt_dir);
    }
    for (size_t i = 0; i < rq->n_opts; i++) {
        if (!strcmp(rq->opt_keys[i], "rest-port")) {
            spec_free(s);
            free(d);
            return rill__err_set(err, RILL_ECONFIG, "option 'rest-port' has no meaning on a "
                                 "cluster: the JobManager's REST API serves every job");
        }
        s->opt_keys[s->n_opts] = rill__xstrdup(rq->opt_keys[i]);
        s->opt_values[s->n_opts++] = rill__xstrdup(rq->opt_values[i]);
    }
    s->args = rill__xcalloc(rq->n_args + 1, sizeof *s->args);
    for (size_t i = 0; i < rq->n_args; i++)
        s->args[s->n_args++] = rill__xstrdup(rq->args[i]);
    d->name = rq->name && *rq->name ? rill__xstrdup(rq->name)
                                    : rill__xasprintf("job-%.8s", rq->jar_id);
    pthread_mutex_lock(&r->mu);
    reap(r, false);
    if (atomic_load(&r->stopping)) {
        pthread_mutex_unlock(&r->mu);
        spec_free(s);
        free(d->name);
        free(d);
        return rill__err_set(err, RILL_ECANCELED, "the JobManager is shutting down");
    }
    int prc = pthread_create(&d->thread, NULL, driver_main, d);
    if (prc != 0) {
        pthread_mutex_unlock(&r->mu);
        spec_free(s);
        free(d->name);
        free(d);
        return rill__err_set(err, -prc, "cannot start the job's driver thread: %s",
                             strerror(prc));
    }
    d->next = r->drivers;
    r->drivers = d;
    while (!d->submitted && !d->done)
        pthread_cond_wait(&r->cv, &r->mu);
    if (d->submitted) {
        *job_id = d->job_id;
        rc = 0;
    } else {
        *err = d->err;
        rc = err->code ? err->code : RILL_EIO;
    }
    pthread_mutex_unlock(&r->mu);
    if (rc == 0)
        rill__log(RILL_LOG_INFO, "job '%s' submitted as %llu (object %s)", d->name,
                  (unsigned long long)*job_id, rq->jar_id);
    return rc;
}

int rill__cluster_runner_new(rill__jobmanager *jm, rill__jar_store *jars,
                             const char *default_ckpt_dir, rill__cluster_runner **out)
{
    rill__cluster_runner *r = rill__xcalloc(1, sizeof *r);
    r->jm = jm;
    r->jars = jars;
    r->default_ckpt_dir = default_ckpt_dir ? rill__xstrdup(default_ckpt_dir) : NULL;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    rill__jm_set_runner(jm, &(rill__jm_runner){.arg = r, .jars = jars, .run = run});
    rill__jm_set_wait_for_slots(jm, true);
    *out = r;
    return 0;
}

void rill__cluster_runner_free(rill__cluster_runner *r)
{
    if (!r)
        return;
    rill__jm_set_runner(r->jm, &(rill__jm_runner){.jars = r->jars});
    atomic_store(&r->stopping, true); /* every job's waiter cancels it */
    pthread_mutex_lock(&r->mu);
    reap(r, true);
    pthread_mutex_unlock(&r->mu);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r->default_ckpt_dir);
    free(r);
}
