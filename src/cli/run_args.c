/* run_args.c - cli layer: the arguments of `rill run`, parsed without acting on them (main.c
 * acts; the fuzz target tests/fuzz/fuzz_cli.c feeds them anything). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "cli/client.h"

static const char *usage_cmd = "run"; /* the command whose --help the usage errors name */

RILL_PRINTF(1, 2) static int fail_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rill: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see `rill %s --help`)\n", usage_cmd);
    va_end(ap);
    return 2;
}

/* rill run's flags that set a job option, as its key: the one mapping, used to set the env
 * locally and to send the options with `-m` (POST /jars/<id>/run). */
static const struct run_flag {
    const char *flag, *alias, *key;
    bool no_value;   /* a switch: the value is "true" */
    bool local_only; /* means nothing on a cluster: refused with -m */
} run_flags[] = {
    {"--parallelism", "-p", "parallelism", false, false},
    {"--max-parallelism", NULL, "max-parallelism", false, false},
    {"--batch-size", NULL, "batch-size", false, false},
    {"--name", NULL, "name", false, false},
    {"--bad-records", NULL, "bad-records", false, false},
    {"--dead-letter-file", NULL, "dead-letter-file", false, false},
    {"--checkpoint-dir", NULL, "checkpoint.dir", false, false},
    {"--checkpoint-interval", NULL, "checkpoint.interval", false, false},
    {"--checkpoint-mode", NULL, "checkpoint.mode", false, false},
    {"--checkpoint-timeout", NULL, "checkpoint.timeout", false, false},
    {"--checkpoint-min-pause", NULL, "checkpoint.min-pause", false, false},
    {"--checkpoint-max-concurrent", NULL, "checkpoint.max-concurrent", false, false},
    {"--checkpoint-tolerable-failures", NULL, "checkpoint.tolerable-failures", false, false},
    {"--checkpoints-retained", NULL, "checkpoint.retain", false, false},
    {"--restart-strategy", NULL, "restart-strategy", false, false},
    {"--from-savepoint", NULL, "from-savepoint", false, false},
    {"--rest-port", NULL, "rest-port", false, true},
    {"--restart-attempts", NULL, "restart.attempts", false, false},
    {"--restart-delay", NULL, "restart.delay", false, false},
    {"--restart-max-delay", NULL, "restart.max-delay", false, false},
    {"--restart-max-failures", NULL, "restart.failure-rate.max-failures", false, false},
    {"--restart-failure-interval", NULL, "restart.failure-rate.interval", false, false},
    {"--resume", NULL, "resume", true, false},
    {"--allow-fresh-start", NULL, "allow-fresh-start", true, false},
    {"--allow-non-restored-state", NULL, "allow-non-restored-state", true, false},
    {"--state-backend", NULL, "state.backend", false, false},
    {"--state-dir", NULL, "state.dir", false, false},
    {"--state-memory", NULL, "state.memory", false, false},
    {"--incremental-checkpoints", NULL, "state.backend.incremental", true, false},
    {"--state-timers", NULL, "state.backend.rocksdb.timer-service.factory", false, false},
};
#define N_RUN_FLAGS ((int)RILL_ARRAY_LEN(run_flags))
_Static_assert(RILL_ARRAY_LEN(run_flags) <= RILL_RUN_FLAGS_MAX, "rill__run_args.opts is too small");

static const struct run_flag *run_flag_of(const char *a)
{
    for (int k = 0; k < N_RUN_FLAGS; k++)
        if (!strcmp(a, run_flags[k].flag) || (run_flags[k].alias && !strcmp(a, run_flags[k].alias)))
            return &run_flags[k];
    return NULL;
}

static int parse(int argc, char **argv, rill__run_args *out, bool sql);

int rill__cli_run_parse(int argc, char **argv, rill__run_args *out)
{
    usage_cmd = "run";
    return parse(argc, argv, out, false);
}

int rill__cli_sql_parse(int argc, char **argv, rill__run_args *out)
{
    usage_cmd = "sql";
    int status = parse(argc, argv, out, true);
    if (status || out->help)
        return status;
    if (out->jobmanager || out->detached)
        return fail_usage("%s", "rill sql runs its jobs on the embedded mini-cluster: -m and -d "
                                "are not supported (yet)");
    return 0;
}

static int parse(int argc, char **argv, rill__run_args *out, bool sql)
{
    memset(out, 0, sizeof *out);
    int i = 0;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (sql && (!strcmp(a, "-f") || !strcmp(a, "--file") || !strcmp(a, "-i") ||
                    !strcmp(a, "--init"))) {
            if (i + 1 >= argc)
                return fail_usage("option %s needs a value", a);
            if (a[1] == 'f' || a[2] == 'f')
                out->sql_file = argv[++i];
            else
                out->sql_init = argv[++i];
            continue;
        }
        if (sql && a[0] != '-')
            return fail_usage("unexpected argument '%s' (a script goes after -f)", a);
        if (!strcmp(a, "--") && !sql) {
            i++;
            break;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            out->help = true;
            return 0;
        }
        if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            out->verbose = true;
            continue;
        }
        if (!strcmp(a, "-d") || !strcmp(a, "--detached")) {
            out->detached = true;
            continue;
        }
        if (!strcmp(a, "--rest-bind") || !strcmp(a, "--secret-file") || !strcmp(a, "-m") ||
            !strcmp(a, "--jobmanager")) {
            if (i + 1 >= argc)
                return fail_usage("option %s needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--rest-bind"))
                out->rest_bind = v, out->local_flag = a;
            else if (!strcmp(a, "--secret-file"))
                out->secret_file = v;
            else
                out->jobmanager = v;
            continue;
        }
        const struct run_flag *f = run_flag_of(a);
        if (f) {
            const char *v = "true";
            if (!f->no_value) {
                if (i + 1 >= argc)
                    return fail_usage("option %s needs a value", a);
                v = argv[++i];
            }
            if (f->local_only)
                out->local_flag = a;
            if (!strcmp(f->key, "parallelism")) {
                out->parallelism = v;
            } else {
                int k = 0;
                while (k < out->n_opts && strcmp(out->opts[k].key, f->key) != 0)
                    k++;
                if (k == out->n_opts)
                    out->n_opts++;
                out->opts[k].key = f->key; /* given twice: the last value counts */
                out->opts[k].flag = a;
                out->opts[k].value = v;
            }
            continue;
        }
        if (a[0] == '-')
            return fail_usage("unknown option '%s'", a);
        if (out->job_path)
            return fail_usage("unexpected argument '%s' (job arguments go after `--`)", a);
        out->job_path = a;
    }
    out->first_arg = i;
    if (sql)
        return 0;
    if (!out->job_path)
        return fail_usage("%s", "run: no job object given");
    if (out->detached && !out->jobmanager)
        return fail_usage("%s", "-d/--detached needs -m HOST:PORT (a job on the embedded "
                                "mini-cluster ends with this process)");
    if (out->jobmanager && out->local_flag)
        return fail_usage("%s means nothing with -m: the JobManager serves the REST API "
                          "(rill jobmanager --rest-port/--rest-bind)",
                          out->local_flag);
    return 0;
}
