/* main.c - cli layer: the rill command. `rill run JOB.so` loads a job object and runs it on
 * the embedded mini-cluster (with -m, submits it to a JobManager process: client.c); list,
 * savepoint, stop, cancel and checkpoints (client.c) talk to a running one; `rill sql` is the
 * SQL client (sql_client.c). */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/net.h"
#include "cli/client.h"
#include "cluster/cluster.h"
#include "sql/sql.h"

static const char usage_main[] =
    "usage: rill <command> [options]\n"
    "\n"
    "rill is a stateful stream processor: keyed state, windows and exactly-once results,\n"
    "for C jobs built against rill.h.\n"
    "\n"
    "commands:\n"
    "  run JOB.so [options] [-- job args]   run a job on the embedded mini-cluster\n"
    "  run -m HOST:PORT JOB.so [options] [-- job args]\n"
    "                                 submit it to a `rill jobmanager` instead\n"
    "  sql [-i INIT.sql] [-f FILE.sql] [options]\n"
    "                                 an interactive SQL client (docs/sql.md): each INSERT and\n"
    "                                 SELECT a job on the embedded mini-cluster\n"
    "  jobmanager [options]           run a cluster's JobManager (docs/cluster.md)\n"
    "  taskmanager --jobmanager HOST:PORT [options]\n"
    "                                 run a TaskManager that joins it\n"
    "\n"
    "  talking to a running job's REST API (`rill run --rest-port P`; -m HOST:PORT, default\n"
    "  127.0.0.1:8081; --secret-file FILE when it has a secret; JOB is a job's id or name):\n"
    "  list                           the jobs: id, name, state, restarts, last checkpoint\n"
    "  savepoint JOB [DIR]            take a savepoint into DIR (default ./savepoints)\n"
    "  stop JOB --savepoint DIR [--drain]\n"
    "                                 stop the job at a savepoint; its windows stay in it\n"
    "                                 (--drain: fire every window into it first)\n"
    "  cancel JOB                     cancel the job at once, without a savepoint\n"
    "  checkpoints JOB                the job's recent checkpoints\n"
    "\n"
    "options (every command's take a value as `--flag VALUE` or `--flag=VALUE`, `-p 2` or\n"
    "`-p2`; a long flag may be shortened while it stays unique; `--` ends them):\n"
    "  -h, --help      show this help (`rill run --help`, `rill list --help` for more)\n"
    "  -V, --version   show the version\n";

static const char usage_run[] =
    "usage: rill run JOB.so [options] [-- job args]\n"
    "\n"
    "Loads JOB.so, calls its `int rill_job(rill_env *env, int argc, char **argv)` with the\n"
    "arguments after `--`, and runs the dataflow it builds on an embedded mini-cluster\n"
    "(a JobManager and a TaskManager in this process). Ctrl-C cancels the job.\n"
    "\n"
    "With -m HOST:PORT, uploads JOB.so to that `rill jobmanager`'s REST API and runs it there\n"
    "with the same options and arguments; prints `rill-job id=ID` on stdout, then follows the\n"
    "job until it ends (state changes on stderr). Ctrl-C then only stops following: the job\n"
    "keeps running on the cluster (`rill cancel ID -m HOST:PORT` cancels it).\n"
    "\n"
    "options:\n"
    "  -m, --jobmanager HOST:PORT  submit to this JobManager's REST API (docs/cluster.md)\n"
    "  -d, --detached            with -m: print the job's id and return at once\n"
    "  -p, --parallelism N       default parallelism of every operator (overrides the job's)\n"
    "      --max-parallelism N   number of key groups (default 128)\n"
    "      --batch-size N        rows per batch (default 1024)\n"
    "      --name NAME           job name (default: the job object's file name)\n"
    "      --bad-records POLICY  fail (default) or skip malformed input records\n"
    "      --dead-letter-file F  with skip: append skipped records to F (JSON lines)\n"
    "      --checkpoint-dir DIR  where checkpoints go (DIR/<job>/chk-<n>/)\n";
/* (two strings: one would pass the length C99 compilers must support) */
static const char usage_run_state[] =
    "      --state-backend B     keyed state on the heap (default) or in rocksdb\n"
    "      --state-dir DIR       where rocksdb keeps its working files (default $TMPDIR)\n"
    "      --state-memory SIZE   memory for keyed state per slot, e.g. 512m (default 256m):\n"
    "                            rocksdb's block cache and write buffers\n"
    "      --state-timers T      rocksdb: timers in rocksdb (default; memory holds the earliest)\n"
    "                            or on the heap\n"
    "      --incremental-checkpoints  rocksdb: a checkpoint writes only the files that changed\n"
    "                            since the previous one (savepoints stay full and canonical)\n"
    "      --checkpoint-interval MS   take a checkpoint every MS (default: off)\n"
    "      --checkpoint-mode M   exactly-once (default, barriers aligned) or at-least-once\n"
    "      --checkpoint-timeout MS    give a checkpoint up after MS (default 600000)\n"
    "      --checkpoint-min-pause MS  at least MS between a checkpoint's end and the next\n"
    "      --checkpoint-max-concurrent N  checkpoints in progress at once (default 1)\n"
    "      --checkpoint-tolerable-failures N  failed checkpoints before the job fails (0)\n"
    "      --checkpoints-retained N   completed checkpoints kept (default 1)\n"
    "      --resume              start from the newest completed checkpoint of this job (its\n"
    "                            name) in --checkpoint-dir, e.g. after the process was killed\n"
    "      --allow-fresh-start   with --resume: start from the beginning when no checkpoint of\n"
    "                            the job can be restored although the directory holds some\n"
    "                            (unreadable ones, or other jobs' only), instead of refusing\n"
    "      --from-savepoint DIR  start from a savepoint (a savepoint-<job>-<n> directory)\n"
    "      --allow-non-restored-state  drop savepoint state of operators the job lacks\n"
    "      --rest-port P         serve the REST API on port P (0: a free port, printed);\n"
    "                            savepoints need it and --checkpoint-dir\n"
    "      --rest-bind ADDR      the REST API's numeric address (default 127.0.0.1); any\n"
    "                            address beyond loopback needs --secret-file\n"
    "      --secret-file FILE    the shared secret (16-4096 bytes; a file neither group nor\n"
    "                            others may read): every REST request must then carry\n"
    "                            \"Authorization: Bearer <hex HMAC-SHA256(secret,\n"
    "                            \\\"" RILL_REST_TOKEN_CONTEXT
    "\\\")>\" (`rill list --secret-file`)\n"
    "      --restart-strategy S  none, fixed-delay, exponential-delay or failure-rate\n"
    "                            (default: fixed-delay with checkpoints, else none)\n"
    "      --restart-attempts N  fixed-delay: restarts before the job fails (default: no limit)\n"
    "      --restart-delay MS    wait before a restart (default 1000; exponential: the first)\n"
    "      --restart-max-delay MS     exponential-delay: the longest wait (default 60000)\n"
    "      --restart-max-failures N   failure-rate: failures allowed per interval (default 3)\n"
    "      --restart-failure-interval MS  failure-rate: the interval (default 60000)\n"
    "  -v, --verbose             log the execution plan and task states (RILL_LOG=info)\n"
    "  -h, --help                show this help\n"
    "\n"
    "exit status: 0 when the job finished (with -d: was submitted), 1 when it failed, was\n"
    "canceled or was refused, 2 for bad usage, 3 when a user function crashed the process\n"
    "(SIGSEGV, abort(), ...: one line on stderr names the operator), 130 when Ctrl-C stopped\n"
    "following it (-m).\n";

static void on_signal(int sig)
{
    (void)sig;
    rill__minicluster_request_cancel();
}

/* "build/examples/fraud.so" -> "fraud" */
static char *job_name_of(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 3 && !strcmp(base + n - 3, ".so"))
        n -= 3;
    else if (n > 4 && !strcmp(base + n - 4, ".sql"))
        n -= 4;
    return rill__xstrndup(base, n);
}

/* A SQL script as a job object on a cluster (`rill run -m FILE.sql`): the JobManager's driver
 * and every TaskManager plan the same script into the same graph (rill__cluster_script_job). */
static int sql_script_job(rill_env *env, int argc, char **argv)
{
    if (argc < 1)
        return RILL_EINVAL;
    char *text = NULL;
    size_t len = 0;
    int rc = rill__read_file(argv[0], (size_t)64 << 20, &text, &len);
    if (rc)
        return rill__err_set(&env->err, rc, "cannot read the SQL script: %s", rill_strerror(rc));
    rill__err err = {0};
    rc = rill__sql_run_script(env, text, len, NULL, &err);
    free(text);
    if (rc && err.msg[0])
        rill__err_set(&env->err, rc, "%s", err.msg);
    return rc;
}

/* `rill run -m`: the options parsed, the job object goes to the JobManager. */
static int run_on_cluster(const char *jobmanager, const char *secret_file, const char *job_path,
                          const char **keys, const char **values, int n_opts, char **args,
                          int n_args, bool detached)
{
    struct stat st;
    if (stat(job_path, &st) != 0) {
        fprintf(stderr, "rill: cannot open job '%s': %s\n", job_path, strerror(errno));
        return 1;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "rill: job '%s' is not a regular file\n", job_path);
        return 1;
    }
    /* the name travels as the request's own field; by default the file's name, as locally */
    char *name = job_name_of(job_path);
    const char *ks[RILL_RUN_FLAGS_MAX + 1], *vs[RILL_RUN_FLAGS_MAX + 1];
    size_t n = 0;
    for (int k = 0; k < n_opts; k++) {
        if (!strcmp(keys[k], "name")) {
            free(name);
            name = rill__xstrdup(values[k]);
            continue;
        }
        ks[n] = keys[k];
        vs[n++] = values[k];
    }
    rill__remote_run rr = {
        .jobmanager = jobmanager,
        .secret_file = secret_file,
        .job_path = job_path,
        .name = name,
        .opt_keys = ks,
        .opt_values = vs,
        .n_opts = n,
        .args = args,
        .n_args = (size_t)n_args,
        .detached = detached,
    };
    int status = rill__cli_run_remote(&rr);
    free(name);
    return status;
}

/* `rill run SCRIPT.sql`: the script's statements as one job on the mini-cluster. */
static int run_sql_script(const char *path, const rill__run_args *ra, rill__minicluster_cfg *mc)
{
    char *text = NULL;
    size_t text_len = 0;
    rill__err err = {0};
    int rrc = rill__read_file(path, (size_t)64 << 20, &text, &text_len);
    if (rrc) {
        fprintf(stderr, "rill: cannot read '%s': %s\n", path, rill_strerror(rrc));
        return 1;
    }
    rill_env *env = rill_env_new();
    char *name = job_name_of(path);
    rill_env_set(env, "name", name);
    free(name);
    env->executor_arg = mc;
    int rc = 0;
    const char *bad_flag = NULL;
    if (ra->parallelism) {
        rc = rill_env_set(env, "parallelism", ra->parallelism);
        env->parallelism_fixed = true;
        bad_flag = rc ? "--parallelism" : NULL;
    }
    for (int k = 0; k < ra->n_opts && rc == 0; k++)
        if ((rc = rill_env_set(env, ra->opts[k].key, ra->opts[k].value)) != 0)
            bad_flag = ra->opts[k].flag;
    if (rc) {
        fprintf(stderr, "rill: %s: %s\n", bad_flag ? bad_flag : "option", rill_errmsg(env));
        rill_env_free(env);
        free(text);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = rill__sql_run_script(env, text, text_len, path, &err);
    int status = 0;
    if (rc) {
        fprintf(stderr, "rill: %s\n", err.msg[0] ? err.msg : rill_strerror(rc));
        status = 1;
    }
    rill_env_free(env);
    free(text);
    return status;
}

static int cmd_run(int argc, char **argv)
{
    rill__run_args ra;
    int status = rill__cli_run_parse(argc, argv, &ra);
    if (status)
        return status;
    if (ra.help) {
        fputs(usage_run, stdout);
        fputs(usage_run_state, stdout);
        return 0;
    }
    if (ra.verbose)
        rill__log_set_level(RILL_LOG_INFO);
    const char *job_path = ra.job_path, *parallelism = ra.parallelism;
    const char *rest_bind = ra.rest_bind, *secret_file = ra.secret_file;
    int i = ra.first_arg, n_opts = ra.n_opts;
    const rill__run_opt *opts = ra.opts;
    if (ra.jobmanager) {
        const char *keys[RILL_RUN_FLAGS_MAX + 1], *values[RILL_RUN_FLAGS_MAX + 1];
        int n = 0;
        if (parallelism)
            keys[n] = "parallelism", values[n++] = parallelism;
        for (int k = 0; k < n_opts; k++)
            keys[n] = opts[k].key, values[n++] = opts[k].value;
        return run_on_cluster(ra.jobmanager, secret_file, job_path, keys, values, n, argv + i,
                              argc - i, ra.detached);
    }

    /* the security rules before anything runs: a readable secret, and none missing */
    rill__minicluster_cfg mc = {.rest_bind = rest_bind};
    uint8_t *secret = NULL;
    size_t secret_len = 0;
    rill__err serr = {0};
    if (secret_file && rill__secret_read_file(secret_file, &secret, &secret_len, &serr) != 0) {
        fprintf(stderr, "rill: --secret-file: %s\n", serr.msg);
        return 2;
    }
    mc.secret = secret;
    mc.secret_len = secret_len;
    if (rest_bind &&
        rill__net_check_bind("the REST API (--rest-bind)", rest_bind, secret != NULL, &serr) != 0) {
        fprintf(stderr, "rill: %s\n", serr.msg);
        status = 2;
        goto out;
    }

    struct stat st;
    if (stat(job_path, &st) != 0) {
        fprintf(stderr, "rill: cannot open job '%s': %s\n", job_path, strerror(errno));
        status = 1;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "rill: job '%s' is not a regular file\n", job_path);
        status = 1;
        goto out;
    }
    size_t path_len = strlen(job_path);
    if (path_len > 4 && !strcmp(job_path + path_len - 4, ".sql")) {
        status = run_sql_script(job_path, &ra, &mc);
        goto out;
    }
    /* dlopen searches the library path for names without a slash */
    char *load_path =
        strchr(job_path, '/') ? rill__xstrdup(job_path) : rill__xasprintf("./%s", job_path);
    void *so = dlopen(load_path, RTLD_NOW | RTLD_LOCAL);
    free(load_path);
    if (!so) {
        fprintf(stderr, "rill: cannot load job '%s': %s\n", job_path, dlerror());
        status = 1;
        goto out;
    }
    rill_job_fn job;
    *(void **)&job = dlsym(so, RILL_JOB_SYMBOL);
    if (!job) {
        fprintf(stderr,
                "rill: job '%s' does not export " RILL_JOB_SYMBOL
                " (int rill_job(rill_env *env, int argc, char **argv))\n",
                job_path);
        dlclose(so);
        status = 1;
        goto out;
    }

    rill_env *env = rill_env_new();
    char *name = job_name_of(job_path);
    rill_env_set(env, "name", name);
    free(name);
    env->job_path = rill__xstrdup(job_path);
    env->executor_arg = &mc; /* the REST API's address and the secret */
    int rc = 0;
    if (parallelism) {
        rc = rill_env_set(env, "parallelism", parallelism);
        env->parallelism_fixed = true;
    }
    const char *bad_flag = parallelism && rc ? "--parallelism" : NULL;
    for (int k = 0; k < n_opts && rc == 0; k++)
        if ((rc = rill_env_set(env, opts[k].key, opts[k].value)) != 0)
            bad_flag = opts[k].flag;
    if (rc) { /* name the flag as typed: the message names the option's internal key */
        fprintf(stderr, "rill: %s: %s\n", bad_flag ? bad_flag : "option", rill_errmsg(env));
        rill_env_free(env);
        dlclose(so);
        status = 2;
        goto out;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int job_argc = argc - i + 1;
    char **job_argv = rill__xcalloc((size_t)job_argc + 1, sizeof *job_argv);
    job_argv[0] = (char *)job_path;
    for (int k = 1; k < job_argc; k++)
        job_argv[k] = argv[i + k - 1];
    rc = job(env, job_argc, job_argv);
    if (rc == 0 && !env->executed && env->n_nodes > 0)
        rc = rill_env_execute(env);                /* the job built a graph but did not run it */
    if (rc == 0 && env->executed && env->err.code) /* the job ignored its execute's result */
        rc = env->err.code;
    if (rc > 0) {
        fprintf(stderr, "rill: job '%s' failed: rill_job returned %d\n", env->name, rc);
        status = 1;
    } else if (rc != 0) {
        const char *msg = rill_errmsg(env);
        fprintf(stderr, "rill: job '%s' failed: %s\n", env->name,
                msg && *msg ? msg : rill_strerror(rc));
        status = 1;
    }
    free(job_argv);
    rill_env_free(env);
    /* the job object stays loaded: its functions may still be referenced by atexit handlers */
out:
    rill__secret_free(secret, secret_len);
    return status;
}

int main(int argc, char **argv)
{
    rill__cluster_script_job = sql_script_job; /* SQL scripts as jobs on a cluster */
    if (argc < 2) {
        fputs(usage_main, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("rill %s\n", RILL_VERSION_STRING);
        return 0;
    }
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 2, argv + 2);
    if (!strcmp(cmd, "sql"))
        return rill__cli_sql(argc - 2, argv + 2);
    if (!strcmp(cmd, "jobmanager"))
        return rill__cli_jobmanager(argc - 2, argv + 2);
    if (!strcmp(cmd, "taskmanager"))
        return rill__cli_taskmanager(argc - 2, argv + 2);
    int status = rill__cli_remote(cmd, argc - 2, argv + 2);
    if (status >= 0)
        return status;
    fprintf(stderr, "rill: unknown command '%s'\n", cmd);
    fputs(usage_main, stderr);
    return 2;
}
