/* minicluster.c - cluster layer: the embedded mini-cluster (a JobManager and one TaskManager in
 * this process, joined by local gateways), and rill_env_new, whose jobs run on it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

static atomic_bool cancel_requested;

void rill__minicluster_request_cancel(void)
{
    atomic_store(&cancel_requested, true);
}

void rill__minicluster_clear_cancel(void)
{
    atomic_store(&cancel_requested, false);
}

int rill__minicluster_execute(rill_env *env, void *arg)
{
    const rill__minicluster_cfg *cfg = arg;
    const char *bind = cfg && cfg->rest_bind ? cfg->rest_bind : RILL_NET_DEFAULT_BIND;
    /* savepoints need a place to stage their checkpoint, and checkpoints a place to go: a
     * private temporary directory, removed when the job ends, when the job has no checkpoint
     * directory of its own (as Flink keeps checkpoints in the JobManager's memory then: a
     * restart within the job restores, nothing outlives it) */
    char staging[] = "/tmp/rill-staging-XXXXXX";
    bool staged = false;
    bool ckpt = env->ckpt_interval_ms > 0 && !env->resume && env->ckpt_private;
    if ((env->rest_port >= 0 || ckpt) && !env->ckpt_dir) {
        if (!mkdtemp(staging))
            return rill__err_set(&env->err, -errno,
                                 "cannot create a staging directory for checkpoints and "
                                 "savepoints in /tmp: %s",
                                 strerror(errno));
        env->ckpt_dir = rill__xstrdup(staging);
        staged = true;
        if (ckpt)
            rill__log(RILL_LOG_INFO,
                      "job '%s': checkpoints in %s, removed when the job ends (no checkpoint "
                      "directory given: --checkpoint-dir or SET 'execution.checkpointing.dir' "
                      "keeps them for --resume)",
                      env->name, staging);
    }
    rill__exec_graph *g = NULL;
    int rc = rill__exec_build(env, &g);
    if (rc) {
        if (staged) {
            rill__remove_tree(staging);
            free(env->ckpt_dir);
            env->ckpt_dir = NULL;
        }
        return rc;
    }
    rill__exec_log(g);
    rill__jobmanager *jm = rill__jm_new();
    rill__rest *rest = NULL;
    if (env->rest_port >= 0) {
        rill__err rerr = {0};
        rc = rill__rest_start(jm, bind, env->rest_port, cfg ? cfg->secret : NULL,
                              cfg ? cfg->secret_len : 0, &rest, &rerr);
        if (rc) {
            rill__jm_free(jm);
            rill__exec_free(g);
            if (staged)
                rill__remove_tree(staging);
            return rill__err_set(&env->err, rc, "REST API: %s", rerr.msg);
        }
    }
    rill__jm_gateway jgw = rill__jm_gateway_local(jm);
    rill__taskmanager *tm = rill__tm_new(g->max_vertex_p, &jgw);
    rill__tm_gateway tgw = rill__tm_gateway_local(tm);
    rill__jm_register_tm(jm, &tgw);
    uint64_t job_id;
    rill__err err = {0};
    rc = rill__jm_submit(jm, g, &job_id, &err);
    if (rc == 0 && rest) { /* announced once the job is there to be asked about */
        bool v6 = strchr(bind, ':') != NULL;
        fprintf(stderr, "rill: REST API at http://%s%s%s:%d%s\n", v6 ? "[" : "", bind,
                v6 ? "]" : "", rill__rest_port(rest),
                cfg && cfg->secret ? " (requests need the secret's bearer token)" : "");
        fflush(stderr);
    }
    if (rc == 0)
        rc = rill__jm_wait(jm, job_id, &cancel_requested, &err);
    if (rc)
        rill__err_first(&env->err, rc, "%s", err.msg);
    rill__rest_stop(rest); /* before the JobManager it serves */
    rill__tm_free(tm);
    rill__jm_free(jm);
    rill__exec_free(g);
    if (staged) {
        rill__remove_tree(staging);
        free(env->ckpt_dir);
        env->ckpt_dir = NULL;
    }
    return rc;
}

rill_env *rill_env_new(void)
{
    rill_env *env = rill__env_new();
    env->executor = rill__minicluster_execute;
    return env;
}
