/* cluster_args.c - cli layer: the arguments of `rill jobmanager` and `rill taskmanager`, parsed
 * by getopt_long and checked without acting on them (cluster_cmd.c starts the servers; the fuzz
 * target tests/fuzz/fuzz_cluster_args.c feeds them anything). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The options both commands take, as getopt_long's (values from COMMON up), and the own ones
 * (values from OWN up, in the order of the command's list). */
enum { COMMON = 256, OWN = 512 };
static const struct option common_longs[] = {
    {"help", no_argument, NULL, 'h'},
    {"bind", required_argument, NULL, COMMON},
    {"secret-file", required_argument, NULL, COMMON + 1},
    {"cluster-id", required_argument, NULL, COMMON + 2},
    {"heartbeat-interval", required_argument, NULL, COMMON + 3},
    {"heartbeat-timeout", required_argument, NULL, COMMON + 4},
};

/* One step of a command's option loop: --help (printed: OPT_HELP), a common option (OPT_NEXT),
 * one of own (OPT_OWN + its index in own, with its value in *v), the end (OPT_END: argv[*end..]
 * is left over), or 2 (an error, printed). own is a NULL-ended list of long names, each taking
 * a value. */
enum { OPT_NEXT = 0, OPT_END = 1, OPT_HELP = 3, OPT_OWN = 16 };
static int next_opt(const char *cmd, const char *usage, rill__cluster_args *o,
                    const char *const *own, int argc, char **av, const char **v, int *end)
{
    struct option longs[RILL_ARRAY_LEN(common_longs) + 8];
    size_t n = 0;
    for (; n < RILL_ARRAY_LEN(common_longs); n++)
        longs[n] = common_longs[n];
    for (int k = 0; own[k]; k++)
        longs[n++] = (struct option){own[k], required_argument, NULL, OWN + k};
    longs[n] = (struct option){0};
    int c = getopt_long(argc + 1, av, "-:h", longs, NULL);
    switch (c) {
    case -1:
        *end = rill__cli_getopt_index();
        return OPT_END;
    case 'h':
        fputs(usage, stdout);
        return OPT_HELP;
    case 1:
        return usage_error(cmd, "unknown option or argument '%s'", optarg);
    case '?':
    case ':': {
        char msg[256];
        rill__cli_getopt_problem(av, c, msg, sizeof msg);
        return usage_error(cmd, "%s", msg);
    }
    case COMMON:
        o->bind = optarg;
        return OPT_NEXT;
    case COMMON + 1:
        o->secret_file = optarg;
        return OPT_NEXT;
    case COMMON + 2:
        o->cluster_id = optarg;
        return OPT_NEXT;
    case COMMON + 3:
        if (int_opt(cmd, "--heartbeat-interval", optarg, 1, 3600000, &o->hb_interval))
            return 2;
        return OPT_NEXT;
    case COMMON + 4:
        if (int_opt(cmd, "--heartbeat-timeout", optarg, 2, 3600000, &o->hb_timeout))
            return 2;
        return OPT_NEXT;
    default:
        *v = optarg;
        return OPT_OWN + (c - OWN);
    }
}

/* The loop over a command's options: calls own_fn for each own option (its index in own and
 * value; 0 or 2). 0, OPT_HELP or 2. */
static int scan(const char *cmd, const char *usage, rill__cluster_args *o, const char *const *own,
                int argc, char **argv, int (*own_fn)(void *arg, int k, const char *v), void *arg)
{
    char **av = rill__cli_getopt_begin(argc, argv);
    int status;
    for (;;) {
        const char *v = NULL;
        int end = argc;
        int c = next_opt(cmd, usage, o, own, argc, av, &v, &end);
        if (c == OPT_NEXT)
            continue;
        if (c >= OPT_OWN) {
            if ((status = own_fn(arg, c - OPT_OWN, v)) != 0)
                break;
            continue;
        }
        if (c == OPT_END && end < argc) /* after "--" */
            c = usage_error(cmd, "unknown option or argument '%s'", argv[end]);
        status = c == OPT_END ? 0 : c;
        break;
    }
    free(av);
    return status;
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

static const char *const jm_own[] = {"port",           "rest-port",  "rest-bind",
                                     "checkpoint-dir", "upload-dir", NULL};

static int jm_own_fn(void *arg, int k, const char *v)
{
    rill__jm_args *out = arg;
    switch (k) {
    case 0:
        return int_opt("jobmanager", "--port", v, 0, 65535, &out->port);
    case 1:
        return int_opt("jobmanager", "--rest-port", v, 0, 65535, &out->rest_port);
    case 2:
        out->rest_bind = v;
        break;
    case 3:
        out->ckpt_dir = v;
        break;
    default:
        out->upload_dir = v;
    }
    return 0;
}

int rill__cli_jobmanager_parse(int argc, char **argv, rill__jm_args *out)
{
    const char *cmd = "jobmanager";
    memset(out, 0, sizeof *out);
    common_defaults(&out->common);
    out->rest_bind = RILL_NET_DEFAULT_BIND;
    out->port = 6123;
    out->rest_port = 8081;
    int status = scan(cmd, usage_jobmanager, &out->common, jm_own, argc, argv, jm_own_fn, out);
    if (status == OPT_HELP) {
        out->help = true;
        return 0;
    }
    if (status)
        return status;
    return common_check(cmd, &out->common);
}

static const char *const tm_own[] = {"jobmanager", "slots",        "data-port",
                                     "work-dir",   "metrics-port", NULL};

static int tm_own_fn(void *arg, int k, const char *v)
{
    rill__tm_args *out = arg;
    switch (k) {
    case 0:
        out->jm_addr = v;
        break;
    case 1:
        return int_opt("taskmanager", "--slots", v, 1, RILL_TM_SLOTS_MAX, &out->slots);
    case 2:
        return int_opt("taskmanager", "--data-port", v, 0, 65535, &out->data_port);
    case 4:
        return int_opt("taskmanager", "--metrics-port", v, 0, 65535, &out->metrics_port);
    default:
        out->work_dir = v;
    }
    return 0;
}

int rill__cli_taskmanager_parse(int argc, char **argv, rill__tm_args *out)
{
    const char *cmd = "taskmanager";
    memset(out, 0, sizeof *out);
    common_defaults(&out->common);
    out->slots = 1;
    out->metrics_port = -1;
    int status = scan(cmd, usage_taskmanager, &out->common, tm_own, argc, argv, tm_own_fn, out);
    if (status == OPT_HELP) {
        out->help = true;
        return 0;
    }
    if (status)
        return status;
    if (!out->jm_addr)
        return usage_error(cmd, "--jobmanager HOST:PORT is required");
    if (rill__net_parse_hostport(out->jm_addr, out->jm_host, sizeof out->jm_host, &out->jm_port) !=
        0)
        return usage_error(cmd, "--jobmanager must be HOST:PORT, not '%s'", out->jm_addr);
    return common_check(cmd, &out->common);
}
