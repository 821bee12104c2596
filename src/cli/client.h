/*
 * client.h - cli layer: the commands that talk to a running JobManager over its REST API
 * (list, savepoint, stop, cancel, checkpoints) and the small HTTP/1.1 client under them.
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
 * Sends one request (Connection: close; body, when not NULL, as application/json with its
 * Content-Length; auth, when not NULL, as the Authorization header's value) to host:port and
 * reads the whole answer. Gives up connecting after connect_ms and waiting for the answer after
 * total_ms. 0 and *out (free its body), or -1 with the reason in why (e.g. "Connection
 * refused"); `malformed` is set when the server answered something that is not HTTP. A host,
 * path or auth value with a control character (CR, LF, ...) or a space is refused unsent.
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
/* `rill jobmanager` and `rill taskmanager` (cluster_cmd.c): the process's exit status. */
int rill__cli_jobmanager(int argc, char **argv);
int rill__cli_taskmanager(int argc, char **argv);

#endif /* RILL_CLI_CLIENT_H */
