/* fuzz_cli.c - libFuzzer target: the rill command's argument parsing (src/cli/run_args.c for
 * `rill run`, src/cli/client.c for list, savepoint, stop, cancel and checkpoints) and the
 * parsing of every option value `rill run` sets (rill_env_set: numbers, durations, sizes,
 * policies), without acting on any of it. The input is the arguments separated by NUL bytes,
 * the command first. Every parse ends in a go-ahead with sane results or a usage status.
 * "sql" parses `rill sql`'s arguments; "sql-lines" feeds the arguments as lines to the cutting
 * of `rill sql`'s input into statements (src/cli/sql_input.c). */
#include <string.h>

#include "cli/client.h"
#include "cli/sql_input.h"
#include "fuzz_util.h"
#include "rill.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

static void fuzz_run(int argc, char **argv)
{
    rill__run_args ra;
    int status = rill__cli_run_parse(argc, argv, &ra);
    fuzz_check(status == 0 || status == 2, "rill run: a status other than 0 or 2");
    if (status || ra.help)
        return;
    fuzz_check(ra.job_path != NULL, "rill run: no job, and no usage error");
    fuzz_check(ra.first_arg >= 0 && ra.first_arg <= argc, "rill run: job arguments out of argv");
    fuzz_check(ra.n_opts >= 0 && ra.n_opts <= RILL_RUN_FLAGS_MAX, "rill run: options overflow");
    /* what cmd_run does with the options next: each value parsed by the env */
    rill_env *env = rill_env_new();
    if (ra.parallelism)
        rill_env_set(env, "parallelism", ra.parallelism);
    for (int k = 0; k < ra.n_opts; k++) {
        fuzz_check(ra.opts[k].key && ra.opts[k].value && ra.opts[k].flag, "rill run: a hole");
        for (int j = 0; j < k; j++)
            fuzz_check(strcmp(ra.opts[j].key, ra.opts[k].key) != 0, "rill run: a key twice");
        if (rill_env_set(env, ra.opts[k].key, ra.opts[k].value) != 0)
            fuzz_check(rill_errmsg(env)[0] != '\0', "rill_env_set: refused without a message");
    }
    rill_env_free(env);
}

static void fuzz_sql(int argc, char **argv)
{
    rill__run_args ra;
    int status = rill__cli_sql_parse(argc, argv, &ra);
    fuzz_check(status == 0 || status == 2, "rill sql: a status other than 0 or 2");
    if (status || ra.help)
        return;
    fuzz_check(!ra.jobmanager && !ra.detached && !ra.job_path, "rill sql: a job or -m taken");
    fuzz_check(ra.n_opts >= 0 && ra.n_opts <= RILL_RUN_FLAGS_MAX, "rill sql: options overflow");
}

/* Each statement given lies in the text after the one before, and the text left is never
 * given twice. */
static void fuzz_sql_lines(int argc, char **argv)
{
    rill__sql_input in = {0};
    for (int i = 0; i < argc; i++) {
        rill__sql_input_add(&in, argv[i], strlen(argv[i]));
        size_t start, len, last_end = 0;
        while (rill__sql_input_next(&in, &start, &len)) {
            fuzz_check(start >= last_end && start + len <= in.len && len > 0,
                       "sql input: a statement out of the text");
            fuzz_check(in.off <= in.len, "sql input: consumed past the text");
            last_end = start + len;
        }
        if (i % 5 == 4)
            rill__sql_input_clear(&in);
        else
            rill__sql_input_drop(&in);
    }
    size_t start, len;
    if (rill__sql_input_rest(&in, &start, &len))
        fuzz_check(start + len <= in.len, "sql input: the rest out of the text");
    fuzz_check(!rill__sql_input_rest(&in, &start, &len), "sql input: the rest given twice");
    rill__sql_input_free(&in);
}

static void fuzz_remote(const char *cmd, int argc, char **argv)
{
    rill__remote_cmd c;
    int status = rill__cli_remote_parse(cmd, argc, argv, &c);
    if (!c.go_on) {
        fuzz_check(status == -1 || status == 0 || status == 2, "a status other than -1, 0, 2");
        return;
    }
    fuzz_check(status == 0, "go on with a status");
    fuzz_check(c.port >= 1 && c.port <= 65535, "a port out of range");
    fuzz_check(c.host[0] && strlen(c.host) < sizeof c.host, "an empty host");
    fuzz_check(!strpbrk(c.host, " \t/\r\n"), "a host that would break the request");
    fuzz_check(c.which == RILL_REMOTE_LIST || (c.job && c.job[0]), "no job");
    fuzz_check(c.dir != NULL, "no savepoint directory");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const cmds[] = {"run",         "list", "savepoint", "stop", "cancel",
                                       "checkpoints", "sql",  "sql-lines"};
    if (size < 1)
        return 0;
    char *buf, *argv[MAX_ARGS];
    int argc = fuzz_args(data, size, argv, MAX_ARGS, &buf);
    /* the command: as given when it is one, else picked by the first byte */
    const char *cmd = cmds[(unsigned char)argv[0][0] % RILL_ARRAY_LEN(cmds)];
    for (size_t i = 0; i < RILL_ARRAY_LEN(cmds); i++)
        if (!strcmp(argv[0], cmds[i]))
            cmd = cmds[i];
    if (!strcmp(cmd, "run"))
        fuzz_run(argc - 1, argv + 1);
    else if (!strcmp(cmd, "sql"))
        fuzz_sql(argc - 1, argv + 1);
    else if (!strcmp(cmd, "sql-lines"))
        fuzz_sql_lines(argc - 1, argv + 1);
    else
        fuzz_remote(cmd, argc - 1, argv + 1);
    free(buf);
    return 0;
}
