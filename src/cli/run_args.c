/* run_args.c - cli layer: the arguments of `rill run` and `rill sql`, parsed by getopt_long
 * without acting on them (main.c acts; the fuzz target tests/fuzz/fuzz_cli.c feeds them
 * anything). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Records flag f = v: "parallelism" apart (set first, and fixed), the others by key, each key
 * once (given twice, the last value counts). */
static void set_flag(rill__run_args *out, const struct run_flag *f, const char *v)
{
    if (f->local_only)
        out->local_flag = f->flag;
    if (!strcmp(f->key, "parallelism")) {
        out->parallelism = v;
        return;
    }
    int k = 0;
    while (k < out->n_opts && strcmp(out->opts[k].key, f->key) != 0)
        k++;
    if (k == out->n_opts)
        out->n_opts++;
    out->opts[k].key = f->key;
    out->opts[k].flag = f->flag;
    out->opts[k].value = v;
}

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
    /* getopt_long's values: short letters for the flags with one, TABLE + k for run_flags[k] */
    enum { REST_BIND = 256, SECRET_FILE, TABLE = 512 };
    struct option longs[N_RUN_FLAGS + 10];
    int n = 0;
    longs[n++] = (struct option){"help", no_argument, NULL, 'h'};
    longs[n++] = (struct option){"verbose", no_argument, NULL, 'v'};
    longs[n++] = (struct option){"detached", no_argument, NULL, 'd'};
    longs[n++] = (struct option){"jobmanager", required_argument, NULL, 'm'};
    longs[n++] = (struct option){"rest-bind", required_argument, NULL, REST_BIND};
    longs[n++] = (struct option){"secret-file", required_argument, NULL, SECRET_FILE};
    if (sql) {
        longs[n++] = (struct option){"file", required_argument, NULL, 'f'};
        longs[n++] = (struct option){"init", required_argument, NULL, 'i'};
    }
    for (int k = 0; k < N_RUN_FLAGS; k++)
        longs[n++] = (struct option){run_flags[k].flag + 2,
                                     run_flags[k].no_value ? no_argument : required_argument, NULL,
                                     TABLE + k};
    longs[n] = (struct option){0};
    char **av = rill__cli_getopt_begin(argc, argv);
    int c, status = 0;
    while (status == 0 &&
           (c = getopt_long(argc + 1, av, sql ? "-:hvdm:p:f:i:" : "-:hvdm:p:", longs, NULL)) != -1) {
        const struct run_flag *f = NULL;
        switch (c) {
        case 1: /* a non-option: the job object (rill run), nothing (rill sql) */
            if (sql)
                status = fail_usage("unexpected argument '%s' (a script goes after -f)", optarg);
            else if (out->job_path)
                status = fail_usage("unexpected argument '%s' (job arguments go after `--`)",
                                    optarg);
            else
                out->job_path = optarg;
            break;
        case 'h':
            out->help = true;
            free(av);
            return 0;
        case 'v':
            out->verbose = true;
            break;
        case 'd':
            out->detached = true;
            break;
        case 'm':
            out->jobmanager = optarg;
            break;
        case 'f':
            out->sql_file = optarg;
            break;
        case 'i':
            out->sql_init = optarg;
            break;
        case REST_BIND:
            out->rest_bind = optarg;
            out->local_flag = "--rest-bind";
            break;
        case SECRET_FILE:
            out->secret_file = optarg;
            break;
        case '?':
        case ':': {
            char msg[256];
            rill__cli_getopt_problem(av, c, msg, sizeof msg);
            status = fail_usage("%s", msg);
            break;
        }
        case 'p':
            f = run_flag_of("--parallelism");
            /* fall through */
        default:
            if (!f && c >= TABLE && c < TABLE + N_RUN_FLAGS)
                f = &run_flags[c - TABLE];
            RILL_ASSERT(f != NULL);
            set_flag(out, f, f->no_value ? "true" : optarg);
        }
    }
    int i = rill__cli_getopt_index();
    free(av);
    if (status)
        return status;
    if (sql && i < argc)
        return fail_usage("unexpected argument '%s' (a script goes after -f)", argv[i]);
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
