/*
 * client.h - cli layer: the commands that talk to a running JobManager over its REST API
 * (list, savepoint, stop, cancel, checkpoints) and the HTTP client under them (libcurl).
 */
#ifndef RILL_CLI_CLIENT_H
#define RILL_CLI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

/* One HTTP exchange's answer. */
typedef struct rill__http_resp {
    int status;
    char *body; /* malloc'd, NUL-terminated (also counted in body_len without the NUL) */
    size_t body_len;
} rill__http_resp;

/*
 * Sends one request with libcurl (plain HTTP, no proxy, no redirect followed; body, when not
 * NULL, as application/json with its Content-Length; auth, when not NULL, as the Authorization
 * header's value) to host:port and reads the whole answer, up to 16 MiB. Gives up connecting
 * after connect_ms and waiting for the answer total_ms later. 0 and *out (free its body), or -1
 * with the reason in why (curl's, e.g. "Failed to connect to ... Couldn't connect to server");
 * `malformed` is set when the server answered something that is not HTTP, or too much. A host,
 * path, method or auth value with a control character (CR, LF, ...) or a space is refused
 * unsent.
 */
int rill__http_request(const char *host, int port, const char *method, const char *path,
                       const char *body, const char *auth, int connect_ms, int total_ms,
                       rill__http_resp *out, char *why, size_t why_size, int *malformed);

/* The same with a body of body_len bytes of type content_type (both ignored when body is NULL). */
int rill__http_request_body(const char *host, int port, const char *method, const char *path,
                            const char *content_type, const void *body, size_t body_len,
                            const char *auth, int connect_ms, int total_ms, rill__http_resp *out,
                            char *why, size_t why_size, int *malformed);

/* `rill run -m HOST:PORT JOB.so`: what cmd_run (main.c) parsed, every string borrowed. */
typedef struct rill__remote_run {
    const char *jobmanager;  /* the REST API's HOST:PORT */
    const char *secret_file; /* NULL: none */
    const char *job_path;
    const char *name;                                /* NULL: the JobManager's default */
    const char *const *opt_keys, *const *opt_values; /* rill run's flags as key/value */
    size_t n_opts;
    char **args; /* after `--` */
    size_t n_args;
    bool detached; /* -d: print the job's id and return */
} rill__remote_run;
/* Uploads the job object (POST /jars/upload), runs it (POST /jars/<id>/run) and prints
 * `rill-job id=<id>` on stdout; then, unless detached, follows the job (GET /jobs/<id> every
 * 500 ms, state changes on stderr) until it ends. Exit status: 0 submitted (detached) or
 * FINISHED, 1 failed, canceled or refused, 2 bad usage, 130 on Ctrl-C (the job runs on). */
int rill__cli_run_remote(const rill__remote_run *rr);

/* Runs a client command (argv after the command name); its exit status, or -1 when cmd is not
 * one of them. */
int rill__cli_remote(const char *cmd, int argc, char **argv);

/* A client command's arguments, parsed (strings borrowed from argv). */
enum {
    RILL_REMOTE_LIST = 1,
    RILL_REMOTE_SAVEPOINT,
    RILL_REMOTE_STOP,
    RILL_REMOTE_CANCEL,
    RILL_REMOTE_CHECKPOINTS
};
typedef struct rill__remote_cmd {
    int which;        /* RILL_REMOTE_* */
    bool go_on;       /* false: nothing more to do, exit with the returned status */
    const char *addr; /* the JobManager's address as given: host and port below */
    char host[256];
    int port;
    const char *secret_file; /* NULL: none */
    const char *job;         /* its id or name; NULL for list */
    const char *dir;         /* savepoint and stop: where the savepoint goes */
    bool drain;              /* stop --drain */
} rill__remote_cmd;
/* Parses a client command's arguments, without doing anything else: -1 when cmd is not one,
 * else the exit status so far with out->go_on telling whether the command is to run (a usage
 * error is printed, and is 2; --help prints the usage, and is 0). */
int rill__cli_remote_parse(const char *cmd, int argc, char **argv, rill__remote_cmd *out);
/* What the command c does with the JobManager's answer to its request: prints the outcome
 * (stdout) or why not (stderr) and returns the exit status. Nothing in resp can crash it. For
 * the fuzz target: any server's answer, without a server. */
int rill__cli_remote_answer(const rill__remote_cmd *c, const rill__http_resp *resp);
/* `rill jobmanager` and `rill taskmanager` (cluster_cmd.c): the process's exit status. */
int rill__cli_jobmanager(int argc, char **argv);
int rill__cli_taskmanager(int argc, char **argv);

/* ---- `rill jobmanager`'s and `rill taskmanager`'s arguments (cluster_args.c) ---- */

/* The options both share, parsed (strings borrowed from argv). */
typedef struct rill__cluster_args {
    const char *bind;            /* NULL: RILL_NET_DEFAULT_BIND */
    const char *secret_file;     /* NULL: none; read by the command, not the parser */
    const char *cluster_id;      /* 1..RILL_CLUSTER_ID_MAX bytes */
    int hb_interval, hb_timeout; /* ms; hb_timeout > hb_interval */
} rill__cluster_args;
typedef struct rill__jm_args {
    rill__cluster_args common;
    const char *rest_bind;
    const char *ckpt_dir, *upload_dir; /* NULL: not given */
    int port, rest_port;               /* 0..65535 */
    bool help;
} rill__jm_args;
typedef struct rill__tm_args {
    rill__cluster_args common;
    const char *jm_addr; /* --jobmanager as given, split into jm_host and jm_port */
    char jm_host[256];   /* RILL_HOST_MAX + 1 */
    int jm_port;
    const char *work_dir; /* NULL: not given */
    int slots;            /* 1..RILL_TM_SLOTS_MAX */
    int data_port;        /* 0..65535 */
    int metrics_port;     /* 0..65535, -1: no metrics listener */
    bool help;
} rill__tm_args;
/* Parse and check a command's arguments (argv after its name) without acting on them: 0
 * (out->help: the usage was printed), or 2 with the usage error printed. */
int rill__cli_jobmanager_parse(int argc, char **argv, rill__jm_args *out);
int rill__cli_taskmanager_parse(int argc, char **argv, rill__tm_args *out);

/* ---- getopt_long for every command (getopts.c) ---- */

/* Starts a getopt_long scan of a command's arguments (argv after its name): returns a copy of
 * argv with a program name in front (free it; it has argc + 1 elements) to hand to
 * getopt_long(argc + 1, copy, ...). The scan is reset and getopt prints nothing. Every option
 * string starts with "-:" (each non-option comes back in order as 1 with optarg; a missing value
 * is ':'), so the copy is never permuted and index i of the copy is argv[i - 1]. */
char **rill__cli_getopt_begin(int argc, char **argv);
/* After getopt_long returned -1: the index in argv (not the copy) of the first argument left,
 * the one after "--" when one ended the options. */
int rill__cli_getopt_index(void);
/* The message for what getopt_long refused just now (c: '?' or ':'), as "unknown option
 * '--x'", "option --x needs a value" or "option --x takes no value". */
void rill__cli_getopt_problem(char **av, int c, char *buf, size_t size);

/* ---- `rill run`'s arguments (run_args.c) ---- */

#define RILL_RUN_FLAGS_MAX 48
/* One flag that sets a job option: its key (rill_env_set), value and the flag as typed. */
typedef struct rill__run_opt {
    const char *key, *value, *flag;
} rill__run_opt;
/* `rill run`'s arguments, parsed (strings borrowed from argv). */
typedef struct rill__run_args {
    const char *job_path;
    const char *parallelism; /* -p: set first, and fixed (NULL: the job's) */
    const char *rest_bind, *secret_file, *jobmanager;
    const char *local_flag; /* a flag given that means nothing with -m */
    bool help, verbose, detached;
    rill__run_opt opts[RILL_RUN_FLAGS_MAX]; /* each key once: a flag given twice, the last */
    int n_opts;
    int first_arg; /* the job's arguments are argv[first_arg..argc) */
    const char *sql_file, *sql_init; /* rill sql: -f FILE, -i FILE */
} rill__run_args;
/* Parses `rill run`'s arguments (argv after "run") without acting on them: 0 (out->help: the
 * usage was asked for), or 2 with the usage error printed. */
int rill__cli_run_parse(int argc, char **argv, rill__run_args *out);
/* `rill sql`'s arguments: rill run's flags (every job of the session gets them), -f FILE and
 * -i FILE, no job object; -m and -d refused. 0 or 2 as rill__cli_run_parse. */
int rill__cli_sql_parse(int argc, char **argv, rill__run_args *out);

/* `rill sql` (sql_client.c): its exit status. */
int rill__cli_sql(int argc, char **argv);

#endif /* RILL_CLI_CLIENT_H */
