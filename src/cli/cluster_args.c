/* cluster_args.c - cli layer: the arguments of `rill jobmanager` and `rill taskmanager`, parsed
 * and checked without acting on them (cluster_cmd.c starts the servers; the fuzz target
 * tests/fuzz/fuzz_cluster_args.c feeds them anything). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "base/net.h"
#include "cli/client.h"
#include "cluster/cluster.h"

_Static_assert(sizeof((rill__tm_args *)0)->jm_host == RILL_HOST_MAX + 1, "jm_host's size");

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
    "      --metrics-port P        serve GET /metrics (Prometheus) on 127.0.0.1:P (0: a free\n"
    "                              one, added to the ready line as metrics=ADDR:PORT)\n"
    "      --work-dir DIR          where job objects it runs are kept (default\n"
    "                              $TMPDIR/rill-taskmanager-<id>, removed at exit)\n"
    "      --secret-file FILE      the shared secret (as the JobManager's)\n"
    "      --cluster-id ID         the cluster's id (default \"rill\")\n"
    "      --heartbeat-interval MS (default 1000)\n"
    "      --heartbeat-timeout MS  a JobManager silent this long is reconnected to (10000)\n"
    "  -h, --help                  show this help\n";

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

/* 1 when a[i] was a common option (i advanced past its value), 0 when not, 2 on an error. */
static int common_opt(const char *cmd, rill__cluster_args *o, int argc, char **argv, int *i)
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
static int next_opt(const char *cmd, const char *usage, rill__cluster_args *o,
                    const char *const *own, int argc, char **argv, int *i, const char **v)
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

/* Checks the common options together once all are in: 0 or 2 (printed). */
static int common_check(const char *cmd, const rill__cluster_args *o)
{
    size_t n = strlen(o->cluster_id);
    if (n == 0 || n > RILL_CLUSTER_ID_MAX)
        return usage_error(cmd, "--cluster-id must be 1..%d bytes", RILL_CLUSTER_ID_MAX);
    if (o->hb_timeout <= o->hb_interval)
        return usage_error(cmd,
                           "--heartbeat-timeout (%d ms) must be longer than "
                           "--heartbeat-interval (%d ms)",
                           o->hb_timeout, o->hb_interval);
    return 0;
}

static void common_defaults(rill__cluster_args *o)
{
    *o = (rill__cluster_args){.cluster_id = "rill", .hb_interval = 1000, .hb_timeout = 10000};
}

int rill__cli_jobmanager_parse(int argc, char **argv, rill__jm_args *out)
{
    const char *cmd = "jobmanager";
    memset(out, 0, sizeof *out);
    common_defaults(&out->common);
    out->rest_bind = RILL_NET_DEFAULT_BIND;
    out->port = 6123;
    out->rest_port = 8081;
    static const char *const own[] = {"--port",           "--rest-port",  "--rest-bind",
                                      "--checkpoint-dir", "--upload-dir", NULL};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int c = next_opt(cmd, usage_jobmanager, &out->common, own, argc, argv, &i, &v);
        if (c != OPT_OWN) {
            if (c == OPT_NEXT)
                continue;
            out->help = c == OPT_HELP;
            return c == OPT_HELP ? 0 : 2;
        }
        if (!strcmp(a, "--port") && int_opt(cmd, a, v, 0, 65535, &out->port))
            return 2;
        if (!strcmp(a, "--rest-port") && int_opt(cmd, a, v, 0, 65535, &out->rest_port))
            return 2;
        if (!strcmp(a, "--rest-bind"))
            out->rest_bind = v;
        if (!strcmp(a, "--checkpoint-dir"))
            out->ckpt_dir = v;
        if (!strcmp(a, "--upload-dir"))
            out->upload_dir = v;
    }
    return common_check(cmd, &out->common);
}

int rill__cli_taskmanager_parse(int argc, char **argv, rill__tm_args *out)
{
    const char *cmd = "taskmanager";
    memset(out, 0, sizeof *out);
    common_defaults(&out->common);
    out->slots = 1;
    out->metrics_port = -1;
    static const char *const own[] = {"--jobmanager", "--slots",        "--data-port",
                                      "--work-dir",   "--metrics-port", NULL};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int c = next_opt(cmd, usage_taskmanager, &out->common, own, argc, argv, &i, &v);
        if (c != OPT_OWN) {
            if (c == OPT_NEXT)
                continue;
            out->help = c == OPT_HELP;
            return c == OPT_HELP ? 0 : 2;
        }
        if (!strcmp(a, "--jobmanager"))
            out->jm_addr = v;
        if (!strcmp(a, "--work-dir"))
            out->work_dir = v;
        if (!strcmp(a, "--slots") && int_opt(cmd, a, v, 1, RILL_TM_SLOTS_MAX, &out->slots))
            return 2;
        if (!strcmp(a, "--data-port") && int_opt(cmd, a, v, 0, 65535, &out->data_port))
            return 2;
        if (!strcmp(a, "--metrics-port") && int_opt(cmd, a, v, 0, 65535, &out->metrics_port))
            return 2;
    }
    if (!out->jm_addr)
        return usage_error(cmd, "--jobmanager HOST:PORT is required");
    if (rill__net_parse_hostport(out->jm_addr, out->jm_host, sizeof out->jm_host, &out->jm_port) !=
        0)
        return usage_error(cmd, "--jobmanager must be HOST:PORT, not '%s'", out->jm_addr);
    return common_check(cmd, &out->common);
}
