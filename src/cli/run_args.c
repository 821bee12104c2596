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
#include "runtime/runtime.h"

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

/* rill run's flags that set a job option come from the option table (runtime/options.c): the
 * one mapping, used to set the env locally and to send the options with `-m` (POST
 * /jars/<id>/run). A SWITCH or BOOL option's flag takes no value: it sets "true". */
static bool no_value(const rill__option *o)
{
    return o->type == RILL__OPT_SWITCH || o->type == RILL__OPT_BOOL;
}

static int parse(int argc, char **argv, rill__run_args *out, bool sql);

/* Records flag f = v: "parallelism" apart (set first, and fixed), the others by key, each key
 * once (given twice, the last value counts). */
static void set_flag(rill__run_args *out, const rill__option *f, const char *v)
{
    if (f->flags & RILL__OPT_LOCAL)
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
    /* getopt_long's values: short letters for the flags with one, TABLE + k for rill__options[k] */
    enum { REST_BIND = 256, SECRET_FILE, TABLE = 512 };
    struct option longs[RILL_RUN_FLAGS_MAX + 10];
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
    for (size_t k = 0; k < rill__n_options; k++) {
        const rill__option *o = &rill__options[k];
        if (!o->flag)
            continue;
        RILL_ASSERT(n < RILL_RUN_FLAGS_MAX + 8 && !strncmp(o->flag, "--", 2));
        longs[n++] = (struct option){o->flag + 2, no_value(o) ? no_argument : required_argument,
                                     NULL, TABLE + (int)k};
    }
    longs[n] = (struct option){0};
    char **av = rill__cli_getopt_begin(argc, argv);
    int c, status = 0;
    while (status == 0 && (c = getopt_long(argc + 1, av, sql ? "-:hvdm:p:f:i:" : "-:hvdm:p:", longs,
                                           NULL)) != -1) {
        const rill__option *f = NULL;
        switch (c) {
        case 1: /* a non-option: the job object (rill run), nothing (rill sql) */
            if (sql)
                status = fail_usage("unexpected argument '%s' (a script goes after -f)", optarg);
            else if (out->job_path)
                status =
                    fail_usage("unexpected argument '%s' (job arguments go after `--`)", optarg);
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
            f = rill__option_find("parallelism");
            /* fall through */
        default:
            if (!f && c >= TABLE && c < TABLE + (int)rill__n_options)
                f = &rill__options[c - TABLE];
            RILL_ASSERT(f != NULL);
            set_flag(out, f, no_value(f) ? "true" : optarg);
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
