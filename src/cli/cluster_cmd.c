/* cluster_cmd.c - cli layer: `rill jobmanager` and `rill taskmanager`, the long-running
 * processes of a cluster (docs/cluster.md). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/net.h"
#include "cli/client.h"
#include "cluster/cluster.h"

static atomic_bool stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_requested, true);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Reads the --secret-file given (none: *secret NULL): 0, or 2 with the reason printed. */
static int read_secret(const char *cmd, const rill__cluster_args *o, uint8_t **secret, size_t *len)
{
    *secret = NULL;
    *len = 0;
    rill__err err = {0};
    if (o->secret_file && rill__secret_read_file(o->secret_file, secret, len, &err) != 0) {
        fprintf(stderr, "rill %s: --secret-file: %s\n", cmd, err.msg);
        return 2;
    }
    return 0;
}

/* Opens the jar store (dir, or the default beside the control port's number) and gives it to
 * the JobManager: uploads are taken from now on. 0, or 1 with the reason printed. */
static int install_jar_store(rill__jobmanager *jm, const char *dir, int control_port,
                             const char *ckpt_dir, rill__jar_store **out,
                             rill__cluster_runner **runner_out)
{
    char def[4096];
    if (!dir) {
        const char *tmp = getenv("TMPDIR");
        snprintf(def, sizeof def, "%s/rill-jobmanager-%d-jars", tmp && *tmp ? tmp : "/tmp",
                 control_port);
        dir = def;
    }
    rill__err err = {0};
    if (rill__jar_store_open(dir, out, &err) != 0) {
        fprintf(stderr, "rill jobmanager: --upload-dir: %s\n", err.msg);
        return 1;
    }
    /* runs what is uploaded; jobs wait for slots; checkpoints go to --checkpoint-dir unless a
     * job names its own directory */
    rill__cluster_runner_new(jm, *out, ckpt_dir, runner_out);
    rill__log(RILL_LOG_INFO, "uploaded job objects are kept in '%s'", dir);
    return 0;
}

static const char *bracket(const char *addr, char *buf, size_t cap)
{
    snprintf(buf, cap, strchr(addr, ':') ? "[%s]" : "%s", addr);
    return buf;
}

int rill__cli_jobmanager(int argc, char **argv)
{
    rill__jm_args a;
    int parsed = rill__cli_jobmanager_parse(argc, argv, &a);
    if (parsed || a.help)
        return parsed;
    const rill__cluster_args o = a.common;
    const char *rest_bind = a.rest_bind, *ckpt_dir = a.ckpt_dir;
    uint8_t *secret;
    size_t secret_len;
    if (read_secret("jobmanager", &o, &secret, &secret_len))
        return 2;
    int status = 0;
    rill__err err = {0};
    rill__jobmanager *jm = NULL;
    rill__jm_server *srv = NULL;
    rill__rest *rest = NULL;
    rill__jar_store *jars = NULL;
    rill__cluster_runner *runner = NULL;
    const char *bind = o.bind ? o.bind : RILL_NET_DEFAULT_BIND;
    if (rill__net_check_bind("the control port (--bind)", bind, secret != NULL, &err) ||
        rill__net_check_bind("the REST API (--rest-bind)", rest_bind, secret != NULL, &err)) {
        fprintf(stderr, "rill jobmanager: %s\n", err.msg);
        status = 2;
        goto out;
    }
    int rc;
    if (ckpt_dir && (rc = rill__mkdirs(ckpt_dir, 0755)) != 0) {
        fprintf(stderr, "rill jobmanager: --checkpoint-dir '%s': %s\n", ckpt_dir,
                rill_strerror(rc));
        status = 1;
        goto out;
    }
    if (rill__log_level() < RILL_LOG_INFO && !getenv("RILL_LOG"))
        rill__log_set_level(RILL_LOG_INFO); /* a server logs who joins and leaves */
    install_signals();
    jm = rill__jm_new();
    rill__cluster_cfg cfg = {
        .bind = bind,
        .port = a.port,
        .cluster_id = o.cluster_id,
        .secret = secret,
        .secret_len = secret_len,
        .heartbeat_interval_ms = o.hb_interval,
        .heartbeat_timeout_ms = o.hb_timeout,
        .handshake_timeout_ms = RILL_MIN(5000, o.hb_timeout),
    };
    if ((rc = rill__jm_server_start(jm, &cfg, &srv, &err)) != 0) {
        fprintf(stderr, "rill jobmanager: control port: %s\n", err.msg);
        status = 1;
        goto out;
    }
    if (install_jar_store(jm, a.upload_dir, rill__jm_server_port(srv), ckpt_dir, &jars, &runner)) {
        status = 1;
        goto out;
    }
    if ((rc = rill__rest_start(jm, rest_bind, a.rest_port, secret, secret_len, &rest, &err))) {
        fprintf(stderr, "rill jobmanager: REST API: %s\n", err.msg);
        status = 1;
        goto out;
    }
    char b1[RILL_HOST_MAX + 3], b2[RILL_HOST_MAX + 3];
    printf("rill-jobmanager control=%s:%d rest=%s:%d\n", bracket(bind, b1, sizeof b1),
           rill__jm_server_port(srv), bracket(rest_bind, b2, sizeof b2), rill__rest_port(rest));
    fflush(stdout);
    rill__log(RILL_LOG_INFO, "jobmanager of cluster '%s' running: control port %d, REST API %d%s",
              o.cluster_id, rill__jm_server_port(srv), rill__rest_port(rest),
              secret ? ", secret required" : "");
    while (!atomic_load(&stop_requested))
        rill__sleep_ns(50 * 1000000LL);
    rill__log(RILL_LOG_INFO, "jobmanager stopping");
out:
    rill__rest_stop(rest);
    rill__cluster_runner_free(runner); /* cancels the jobs: the TaskManagers still hear it */
    rill__jm_server_stop(srv);
    rill__jm_free(jm);
    rill__jar_store_free(jars);
    rill__secret_free(secret, secret_len);
    if (status == 0)
        rill__log(RILL_LOG_INFO, "jobmanager stopped");
    return status;
}

typedef struct tm_ready {
    const char *bind;
    int metrics_port;           /* -1: none */
    rill__prom_server *metrics; /* NULL: none */
} tm_ready;

static void on_tm_ready(void *arg, const char *tm_id, int data_port)
{
    const tm_ready *t = arg;
    char b[RILL_HOST_MAX + 3];
    printf("rill-taskmanager id=%s data=%s:%d", tm_id, bracket(t->bind, b, sizeof b), data_port);
    if (t->metrics) {
        rill__prom_server_set_tm_id(t->metrics, tm_id);
        printf(" metrics=%s:%d", RILL_NET_DEFAULT_BIND, t->metrics_port);
    }
    printf("\n");
    fflush(stdout);
}

int rill__cli_taskmanager(int argc, char **argv)
{
    rill__tm_args a;
    int parsed = rill__cli_taskmanager_parse(argc, argv, &a);
    if (parsed || a.help)
        return parsed;
    const rill__cluster_args o = a.common;
    uint8_t *secret;
    size_t secret_len;
    if (read_secret("taskmanager", &o, &secret, &secret_len))
        return 2;
    const char *bind = o.bind ? o.bind : RILL_NET_DEFAULT_BIND;
    rill__err err = {0};
    int status = 0;
    if (rill__net_check_bind("the data port (--bind)", bind, secret != NULL, &err)) {
        fprintf(stderr, "rill taskmanager: %s\n", err.msg);
        status = 2;
        goto out;
    }
    if (rill__log_level() < RILL_LOG_INFO && !getenv("RILL_LOG"))
        rill__log_set_level(RILL_LOG_INFO);
    install_signals();
    rill__tm_agent_cfg cfg = {
        .jm_host = a.jm_host,
        .jm_port = a.jm_port,
        .slots = a.slots,
        .bind = bind,
        .data_port = a.data_port,
        .cluster_id = o.cluster_id,
        .secret = secret,
        .secret_len = secret_len,
        .heartbeat_interval_ms = o.hb_interval,
        .heartbeat_timeout_ms = o.hb_timeout,
        .handshake_timeout_ms = RILL_MIN(5000, o.hb_timeout),
        .max_backoff_ms = RILL_MIN(5000, o.hb_timeout),
        .work_dir = a.work_dir,
    };
    tm_ready ready = {.bind = bind, .metrics_port = -1};
    rill__prom_server *metrics = NULL;
    if (a.metrics_port >= 0) {
        if (rill__prom_server_start(NULL, a.metrics_port, &metrics, &err) != 0) {
            fprintf(stderr, "rill taskmanager: %s\n", err.msg);
            status = 1;
            goto out;
        }
        ready.metrics_port = rill__prom_server_port(metrics);
        ready.metrics = metrics;
    }
    if (rill__tm_agent_run(&cfg, &stop_requested, on_tm_ready, &ready, &err) != 0) {
        fprintf(stderr, "rill taskmanager: %s\n", err.msg);
        status = 1;
    } else {
        rill__log(RILL_LOG_INFO, "taskmanager stopped");
    }
    rill__prom_server_stop(metrics);
out:
    rill__secret_free(secret, secret_len);
    return status;
}
