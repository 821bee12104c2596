/* minicluster.c - cluster layer: the embedded mini-cluster (a JobManager and one TaskManager in
 * this process, joined by local gateways), and rill_env_new, whose jobs run on it. */
#include <stdlib.h>

#include "cluster.h"

static atomic_bool cancel_requested;

void rill__minicluster_request_cancel(void)
{
    atomic_store(&cancel_requested, true);
}

int rill__minicluster_execute(rill_env *env, void *arg)
{
    (void)arg;
    rill__exec_graph *g = NULL;
    int rc = rill__exec_build(env, &g);
    if (rc)
        return rc;
    if (rill__log_level() >= RILL_LOG_INFO) {
        rill__buf b = {0};
        rill__exec_describe(g, &b);
        rill__log(RILL_LOG_INFO, "job '%s': %d tasks in %d chains\n%s", env->name, g->n_tasks,
                  g->n_vertices, rill__buf_cstr(&b));
        rill__buf_free(&b);
    }
    rill__jobmanager *jm = rill__jm_new();
    rill__jm_gateway jgw = rill__jm_gateway_local(jm);
    rill__taskmanager *tm = rill__tm_new(g->max_vertex_p, &jgw);
    rill__tm_gateway tgw = rill__tm_gateway_local(tm);
    rill__jm_register_tm(jm, &tgw);
    uint64_t job_id;
    rill__err err = {0};
    rc = rill__jm_submit(jm, g, &job_id, &err);
    if (rc == 0)
        rc = rill__jm_wait(jm, job_id, &cancel_requested, &err);
    if (rc)
        rill__err_first(&env->err, rc, "%s", err.msg);
    rill__tm_free(tm);
    rill__jm_free(jm);
    rill__exec_free(g);
    return rc;
}

rill_env *rill_env_new(void)
{
    rill_env *env = rill__env_new();
    env->executor = rill__minicluster_execute;
    return env;
}
