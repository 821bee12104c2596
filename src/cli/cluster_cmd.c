/* cluster_cmd.c - cli layer: `rill jobmanager` and `rill taskmanager`, the long-running
 * processes of a cluster (docs/cluster.md). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base/net.h"
#include "cli/client.h"
#include "cluster/cluster.h"

static const char usage_jobmanager[] =
    "usage: rill jobmanager [options]\n"
    "\n"
    "Runs a JobManager: TaskManagers register on its control port, the REST API shows them.\n"
    "Prints one line `rill-jobmanager control=ADDR:PORT rest=ADDR:PORT` on stdout once both\n"
    "listen. SIGINT or SIGTERM stops it (canceling its jobs). `rill run -m` uploads jobs to it\n"
    "(REST /jars), which it schedules on the TaskManagers' slots: docs/cluster.md.\n"
    "\n"
    "options:\n"
    "      --bind ADDR             the control port's address (default 127.0.0.1)\n"
    "      --port P                the control port (default 6123; 0: a free one)\n"
    "      --rest-port P           the REST API's port (default 8081; 0: a free one)\n"
    "      --rest-bind ADDR        the REST API's address (default 127.0.0.1)\n"
    "      --checkpoint-dir DIR    jobs' checkpoints and savepoints' staging, unless a job\n"
    "                              names its own (created now; every TaskManager must reach\n"
    "                              the same path: a shared filesystem)\n"
    "      --upload-dir DIR        where uploaded job objects are kept (created 0700; its\n"
    "                              parent must exist; default\n"
    "                              $TMPDIR/rill-jobmanager-<control port>-jars)\n"
    "      --secret-file FILE      the shared secret every connection must prove (required\n"
    "                              when a listener binds beyond loopback)\n"
    "      --cluster-id ID         the cluster's id (default \"rill\"); peers must match\n"
    "      --heartbeat-interval MS (default 1000)\n"
    "      --heartbeat-timeout MS  a TaskManager silent this long is removed (default 10000)\n"
    "  -h, --help                  show this help\n";

static const char usage_taskmanager[] =
    "usage: rill taskmanager --jobmanager HOST:PORT [options]\n"
    "\n"
    "Runs a TaskManager: opens its data port, registers its slots with the JobManager and\n"
    "heartbeats, runs the tasks the JobManager deploys, exchanges their data with other\n"
    "TaskManagers over its data port; when the JobManager goes away it cancels its tasks and\n"
    "reconnects with backoff. Prints one line\n"
    "`rill-taskmanager id=ID data=ADDR:PORT` on stdout once its data port listens. Exits 1\n"
    "when the JobManager refuses it for its configuration (cluster id, secret, version): a\n"
    "retry cannot cure that. SIGINT or SIGTERM stops it.\n"
    "\n"
    "options:\n"
    "      --jobmanager HOST:PORT  the JobManager's control port (required)\n"
    "      --slots N               task slots offered (default 1)\n"
    "      --bind ADDR             the data port's address (default 127.0.0.1)\n"
    "      --data-port P           the data port (default 0: a free one)\n"
    "      --work-dir DIR          where job objects it runs are kept (default\n"
    "                              $TMPDIR/rill-taskmanager-<id>, removed at exit)\n"
    "      --secret-file FILE      the shared secret (as the JobManager's)\n"
    "      --cluster-id ID         the cluster's id (default \"rill\")\n"
    "      --heartbeat-interval MS (default 1000)\n"
    "      --heartbeat-timeout MS  a JobManager silent this long is reconnected to (10000)\n"
    "  -h, --help                  show this help\n";

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

RILL_PRINTF(2, 3) static int usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rill %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see `rill %s --help`)\n", cmd);
    va_end(ap);
    return 2;
}

/* An integer option in [lo, hi]; 0 or a usage error printed. */
static int int_opt(const char *cmd, const char *flag, const char *v, int lo, int hi, int *out)
{
    int64_t x;
    if (rill__parse_i64(v, strlen(v), &x) != 0 || x < lo || x > hi)
        return usage_error(cmd, "%s must be an integer in %d..%d, not '%s'", flag, lo, hi, v);
    *out = (int)x;
    return 0;
}

/* The options both processes share. */
typedef struct common_opts {
    const char *bind, *secret_file, *cluster_id;
    int hb_interval, hb_timeout;
    uint8_t *secret;
    size_t secret_len;
} common_opts;

/* 1 when a[i] was a common option (i advanced past its value), 0 when not, 2 on an error. */
static int common_opt(const char *cmd, common_opts *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    bool known = !strcmp(a, "--bind") || !strcmp(a, "--secret-file") ||
                 !strcmp(a, "--cluster-id") || !strcmp(a, "--heartbeat-interval") ||
                 !strcmp(a, "--heartbeat-timeout");
    if (!known)
        return 0;
    if (*i + 1 >= argc)
        return usage_error(cmd, "option %s needs a value", a);
    const char *v = argv[++*i];
    if (!strcmp(a, "--bind"))
        o->bind = v;
    else if (!strcmp(a, "--secret-file"))
        o->secret_file = v;
    else if (!strcmp(a, "--cluster-id"))
        o->cluster_id = v;
    else if (!strcmp(a, "--heartbeat-interval"))
        return int_opt(cmd, a, v, 1, 3600000, &o->hb_interval) ? 2 : 1;
    else
        return int_opt(cmd, a, v, 2, 3600000, &o->hb_timeout) ? 2 : 1;
    return 1;
}

/* One step of a command's option loop at argv[*i]: --help (printed: OPT_HELP), a common option
 * (OPT_NEXT), one of own (a NULL-ended list: OPT_OWN, with its value in *v), or 2 (an error,
 * printed). */
enum { OPT_NEXT = 0, OPT_OWN = 1, OPT_HELP = 3 };
static int next_opt(const char *cmd, const char *usage, common_opts *o, const char *const *own,
                    int argc, char **argv, int *i, const char **v)
{
    const char *a = argv[*i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
        fputs(usage, stdout);
        return OPT_HELP;
    }
    int c = common_opt(cmd, o, argc, argv, i);
    if (c)
        return c == 2 ? 2 : OPT_NEXT;
    bool known = false;
    for (const char *const *f = own; *f && !known; f++)
        known = !strcmp(a, *f);
    if (!known)
        return usage_error(cmd, "unknown option or argument '%s'", a);
    if (*i + 1 >= argc)
        return usage_error(cmd, "option %s needs a value", a);
    *v = argv[++*i];
    return OPT_OWN;
}

/* Checks what every command needs before it starts: 0 or 2 (printed). */
static int common_check(const char *cmd, common_opts *o)
{
    size_t n = strlen(o->cluster_id);
    if (n == 0 || n > RILL_CLUSTER_ID_MAX)
        return usage_error(cmd, "--cluster-id must be 1..%d bytes", RILL_CLUSTER_ID_MAX);
    if (o->hb_timeout <= o->hb_interval)
        return usage_error(cmd,
                           "--heartbeat-timeout (%d ms) must be longer than "
                           "--heartbeat-interval (%d ms)",
                           o->hb_timeout, o->hb_interval);
    rill__err err = {0};
    if (o->secret_file &&
        rill__secret_read_file(o->secret_file, &o->secret, &o->secret_len, &err) != 0) {
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
    const char *cmd = "jobmanager";
    common_opts o = {.cluster_id = "rill", .hb_interval = 1000, .hb_timeout = 10000};
    const char *rest_bind = RILL_NET_DEFAULT_BIND, *ckpt_dir = NULL, *upload_dir = NULL;
    int port = 6123, rest_port = 8081;
    static const char *const own[] = {"--port",           "--rest-port",  "--rest-bind",
                                      "--checkpoint-dir", "--upload-dir", NULL};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int c = next_opt(cmd, usage_jobmanager, &o, own, argc, argv, &i, &v);
        if (c != OPT_OWN) {
            if (c == OPT_NEXT)
                continue;
            return c == OPT_HELP ? 0 : 2;
        }
        if (!strcmp(a, "--port") && int_opt(cmd, a, v, 0, 65535, &port))
            return 2;
        if (!strcmp(a, "--rest-port") && int_opt(cmd, a, v, 0, 65535, &rest_port))
            return 2;
        if (!strcmp(a, "--rest-bind"))
            rest_bind = v;
        if (!strcmp(a, "--checkpoint-dir"))
            ckpt_dir = v;
        if (!strcmp(a, "--upload-dir"))
            upload_dir = v;
    }
    if (common_check(cmd, &o))
        return 2;
    int status = 0;
    rill__err err = {0};
    rill__jobmanager *jm = NULL;
    rill__jm_server *srv = NULL;
    rill__rest *rest = NULL;
    rill__jar_store *jars = NULL;
    rill__cluster_runner *runner = NULL;
    const char *bind = o.bind ? o.bind : RILL_NET_DEFAULT_BIND;
    if (rill__net_check_bind("the control port (--bind)", bind, o.secret != NULL, &err) ||
        rill__net_check_bind("the REST API (--rest-bind)", rest_bind, o.secret != NULL, &err)) {
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
        .port = port,
        .cluster_id = o.cluster_id,
        .secret = o.secret,
        .secret_len = o.secret_len,
        .heartbeat_interval_ms = o.hb_interval,
        .heartbeat_timeout_ms = o.hb_timeout,
        .handshake_timeout_ms = RILL_MIN(5000, o.hb_timeout),
    };
    if ((rc = rill__jm_server_start(jm, &cfg, &srv, &err)) != 0) {
        fprintf(stderr, "rill jobmanager: control port: %s\n", err.msg);
        status = 1;
        goto out;
    }
    if (install_jar_store(jm, upload_dir, rill__jm_server_port(srv), ckpt_dir, &jars, &runner)) {
        status = 1;
        goto out;
    }
    if ((rc = rill__rest_start(jm, rest_bind, rest_port, o.secret, o.secret_len, &rest, &err))) {
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
              o.secret ? ", secret required" : "");
    while (!atomic_load(&stop_requested))
        rill__sleep_ns(50 * 1000000LL);
    rill__log(RILL_LOG_INFO, "jobmanager stopping");
out:
    rill__rest_stop(rest);
    rill__cluster_runner_free(runner); /* cancels the jobs: the TaskManagers still hear it */
    rill__jm_server_stop(srv);
    rill__jm_free(jm);
    rill__jar_store_free(jars);
    rill__secret_free(o.secret, o.secret_len);
    if (status == 0)
        rill__log(RILL_LOG_INFO, "jobmanager stopped");
    return status;
}

typedef struct tm_ready {
    const char *bind;
} tm_ready;

static void on_tm_ready(void *arg, const char *tm_id, int data_port)
{
    const tm_ready *t = arg;
    char b[RILL_HOST_MAX + 3];
    printf("rill-taskmanager id=%s data=%s:%d\n", tm_id, bracket(t->bind, b, sizeof b), data_port);
    fflush(stdout);
}

int rill__cli_taskmanager(int argc, char **argv)
{
    const char *cmd = "taskmanager";
    common_opts o = {.cluster_id = "rill", .hb_interval = 1000, .hb_timeout = 10000};
    const char *jm_addr = NULL, *work_dir = NULL;
    int slots = 1, data_port = 0;
    static const char *const own[] = {"--jobmanager", "--slots", "--data-port", "--work-dir",
                                      NULL};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int c = next_opt(cmd, usage_taskmanager, &o, own, argc, argv, &i, &v);
        if (c != OPT_OWN) {
            if (c == OPT_NEXT)
                continue;
            return c == OPT_HELP ? 0 : 2;
        }
        if (!strcmp(a, "--jobmanager"))
            jm_addr = v;
        if (!strcmp(a, "--work-dir"))
            work_dir = v;
        if (!strcmp(a, "--slots") && int_opt(cmd, a, v, 1, RILL_TM_SLOTS_MAX, &slots))
            return 2;
        if (!strcmp(a, "--data-port") && int_opt(cmd, a, v, 0, 65535, &data_port))
            return 2;
    }
    if (!jm_addr)
        return usage_error(cmd, "--jobmanager HOST:PORT is required");
    char host[RILL_HOST_MAX + 1];
    int jm_port;
    if (rill__net_parse_hostport(jm_addr, host, sizeof host, &jm_port) != 0)
        return usage_error(cmd, "--jobmanager must be HOST:PORT, not '%s'", jm_addr);
    if (common_check(cmd, &o))
        return 2;
    const char *bind = o.bind ? o.bind : RILL_NET_DEFAULT_BIND;
    rill__err err = {0};
    int status = 0;
    if (rill__net_check_bind("the data port (--bind)", bind, o.secret != NULL, &err)) {
        fprintf(stderr, "rill taskmanager: %s\n", err.msg);
        status = 2;
        goto out;
    }
    if (rill__log_level() < RILL_LOG_INFO && !getenv("RILL_LOG"))
        rill__log_set_level(RILL_LOG_INFO);
    install_signals();
    rill__tm_agent_cfg cfg = {
        .jm_host = host,
        .jm_port = jm_port,
        .slots = slots,
        .bind = bind,
        .data_port = data_port,
        .cluster_id = o.cluster_id,
        .secret = o.secret,
        .secret_len = o.secret_len,
        .heartbeat_interval_ms = o.hb_interval,
        .heartbeat_timeout_ms = o.hb_timeout,
        .handshake_timeout_ms = RILL_MIN(5000, o.hb_timeout),
        .max_backoff_ms = RILL_MIN(5000, o.hb_timeout),
        .work_dir = work_dir,
    };
    tm_ready ready = {.bind = bind};
    if (rill__tm_agent_run(&cfg, &stop_requested, on_tm_ready, &ready, &err) != 0) {
        fprintf(stderr, "rill taskmanager: %s\n", err.msg);
        status = 1;
    } else {
        rill__log(RILL_LOG_INFO, "taskmanager stopped");
    }
out:
    rill__secret_free(o.secret, o.secret_len);
    return status;
}
