/*
 * sql_client.c - cli layer: `rill sql`, an interactive SQL client in the manner of Flink's
 * sql-client.sh. Statements end at ';' (lines before it read with a continuation prompt); each
 * runs in one session (src/sql's rill__sql_session: SET options and the catalog kept), each
 * INSERT and SELECT as a job of its own on the embedded mini-cluster. A SELECT's rows print
 * as they come in Flink's streaming tableau form; Ctrl-C cancels the running job and the
 * client goes on. Line editing and history with libedit when stdin is a terminal.
 */
#include <errno.h>
#include <fcntl.h>
#include <histedit.h>
#include <poll.h>
#include <signal.h>
#include <wchar.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/net.h"
#include "cli/client.h"
#include "cli/sql_input.h"
#include "cluster/cluster.h"
#include "sql/sql.h"

static const char usage_sql[] =
    "usage: rill sql [-i INIT.sql] [-f FILE.sql] [options]\n"
    "\n"
    "An interactive SQL client (Flink's SQL client, in tableau result mode): statements end\n"
    "at ';'. SET/RESET, CREATE, DROP, SHOW, DESCRIBE and EXPLAIN take effect at once; each\n"
    "INSERT (and EXECUTE STATEMENT SET) and each SELECT runs as a job of its own on an\n"
    "embedded mini-cluster, with the session's SET options and the options below. A SELECT's\n"
    "rows print as they come, with their change kind (+I, -U, +U, -D) in the 'op' column;\n"
    "Ctrl-C cancels the running job. HELP; lists the statements, QUIT; ends the session.\n"
    "When stdin is not a terminal, statements are read from it without line editing.\n"
    "\n"
    "options:\n"
    "  -i, --init FILE   run FILE's statements first (stops at the first error)\n"
    "  -f, --file FILE   run FILE's statements, each INSERT and SELECT a job, then exit\n"
    "                    (stops at the first error, exit status 1)\n"
    "  rill run's options (-p, --checkpoint-dir, --checkpoint-interval, --state-backend, ...:\n"
    "  `rill run --help`) apply to every job of the session.\n"
    "\n"
    "History: ~/.rill_sql_history (or $RILL_SQL_HISTORY).\n";

static const char help_text[] =
    "The following commands are available:\n"
    "\n"
    "CLEAR\t\tClears the current terminal.\n"
    "CREATE TABLE\t\tCreates a table. Syntax: 'CREATE TABLE <name> (<columns>) WITH "
    "(<options>);'\n"
    "CREATE VIEW\t\tCreates a virtual table from a query. Syntax: 'CREATE VIEW <name> AS "
    "<query>;'\n"
    "DESCRIBE\t\tDescribes the schema of a table with the given name.\n"
    "DROP TABLE\t\tDeletes a table. Syntax: 'DROP TABLE <name>;'\n"
    "DROP VIEW\t\tDeletes a view. Syntax: 'DROP VIEW <name>;'\n"
    "EXPLAIN\t\tDescribes the execution plan of a query, an INSERT or a statement set.\n"
    "HELP\t\tPrints the available commands.\n"
    "INSERT INTO\t\tInserts the results of a query into a table: runs it as a job.\n"
    "EXECUTE STATEMENT SET\t\tRuns several INSERTs as one job. Syntax: 'EXECUTE STATEMENT SET "
    "BEGIN <insert>; ... END;'\n"
    "QUIT/EXIT\t\tQuits the SQL client.\n"
    "RESET\t\tResets a session option to its default. Syntax: 'RESET '<key>';'. Use 'RESET;' "
    "to reset all.\n"
    "SELECT\t\tRuns a query as a job and prints its rows as they come (Ctrl-C cancels it).\n"
    "SET\t\tSets a session option. Syntax: 'SET '<key>'='<value>';'. Use 'SET;' to list "
    "them.\n"
    "SHOW FUNCTIONS\t\tShows the functions (SHOW USER FUNCTIONS: the user's).\n"
    "SHOW TABLES\t\tShows the tables and views.\n"
    "\n"
    "Hint: Make sure that a statement ends with ';' for finalizing (multi-line) statements.\n";

#define PROMPT      "rill SQL> "
#define PROMPT_MORE "> "

/* Set by SIGINT: a job running is canceled; at the prompt the line being typed is dropped.
 * The handler also writes a byte to a pipe the prompt polls beside the terminal: a flag alone
 * loses a Ctrl-C that comes after libedit drew the prompt but before it blocked in read(), or
 * one that the kernel gave to another thread. */
static volatile sig_atomic_t interrupted;
static volatile sig_atomic_t job_running;
static int sigint_pipe[2] = {-1, -1};

static void on_sigint(int sig)
{
    (void)sig;
    int saved = errno;
    interrupted = 1;
    if (job_running)
        rill__minicluster_request_cancel();
    if (sigint_pipe[1] >= 0) {
        char b = 1;
        ssize_t w = write(sigint_pipe[1], &b, 1); /* full: a Ctrl-C is already waiting */
        (void)w;
    }
    errno = saved;
}

/* Empties the pipe: a Ctrl-C before the prompt is up does not drop the next line. */
static void sigint_drain(void)
{
    char b[64];
    while (sigint_pipe[0] >= 0 && read(sigint_pipe[0], b, sizeof b) > 0)
        ;
}

/* libedit's read function: one character from the terminal, or -1 (EINTR) once Ctrl-C is
 * pressed. Bytes are decoded as libedit decodes them (the locale's multibyte form; an invalid
 * byte is dropped). */
static int read_key(EditLine *el, wchar_t *wc)
{
    (void)el;
    mbstate_t st;
    memset(&st, 0, sizeof st);
    for (;;) {
        struct pollfd p[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                              {.fd = sigint_pipe[0], .events = POLLIN}};
        int r = poll(p, sigint_pipe[0] >= 0 ? 2 : 1, -1);
        if (interrupted || (r > 0 && (p[1].revents & POLLIN))) {
            interrupted = 1;
            errno = EINTR;
            return -1;
        }
        if (r < 0 && errno != EINTR)
            return -1;
        if (r <= 0)
            continue;
        char byte;
        ssize_t n = read(STDIN_FILENO, &byte, 1);
        if (n == 0)
            return 0;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        size_t k = mbrtowc(wc, &byte, 1, &st);
        if (k == (size_t)-2)
            continue; /* more bytes of one character */
        if (k == (size_t)-1) {
            memset(&st, 0, sizeof st);
            continue;
        }
        if (k == 0)
            *wc = 0;
        return 1;
    }
}

typedef struct sql_cli {
    rill__run_args ra;
    rill__minicluster_cfg mc;
    FILE *out;
    /* the SELECT running: its columns' widths (the op column first), rows received */
    int n_cols;
    int *widths;
    char *border;
    long n_rows;
    rill__buf line; /* one row being formatted */
} sql_cli;

/* ---- each job's env ---------------------------------------------------------------------- */

/* The env of one job: its name, then rill sql's flags as `rill run` sets them. A bad flag
 * leaves its error in the env (checked once at the start). */
static rill_env *make_env(void *arg, const char *name)
{
    sql_cli *c = arg;
    rill_env *env = rill_env_new();
    rill_env_set(env, "name", name);
    env->executor_arg = &c->mc;
    if (c->ra.parallelism) {
        rill_env_set(env, "parallelism", c->ra.parallelism);
        env->parallelism_fixed = true;
    }
    for (int k = 0; k < c->ra.n_opts; k++)
        rill_env_set(env, c->ra.opts[k].key, c->ra.opts[k].value);
    env->ckpt_dir_shared = true; /* the session's jobs, each in DIR/<its name>/ */
    return env;
}

/* The flags checked once, naming the bad one as typed: 0 or 2. */
static int check_flags(sql_cli *c)
{
    rill_env *env = rill_env_new();
    int rc = 0;
    const char *bad = NULL;
    if (c->ra.parallelism && (rc = rill_env_set(env, "parallelism", c->ra.parallelism)) != 0)
        bad = "--parallelism";
    for (int k = 0; k < c->ra.n_opts && rc == 0; k++)
        if ((rc = rill_env_set(env, c->ra.opts[k].key, c->ra.opts[k].value)) != 0)
            bad = c->ra.opts[k].flag;
    if (rc)
        fprintf(stderr, "rill: %s: %s\n", bad, rill_errmsg(env));
    rill_env_free(env);
    return rc ? 2 : 0;
}

/* ---- a SELECT's rows, in Flink's streaming tableau form ---------------------------------- */

/* Display width of UTF-8 text: its code points (every one counted as one column). */
static int text_width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* One cell: right-aligned in w columns, or cut to w - 3 columns and "..." when longer. */
static void put_cell(rill__buf *b, const char *v, int w)
{
    int tw = text_width(v);
    rill__buf_append(b, "| ", 2);
    if (tw <= w) {
        for (int k = tw; k < w; k++)
            rill__buf_putc(b, ' ');
        rill__buf_append(b, v, strlen(v));
    } else {
        int keep = w - 3, n = 0;
        const char *p = v;
        for (; *p; p++) {
            if (((unsigned char)*p & 0xC0) != 0x80 && n++ == keep)
                break;
        }
        rill__buf_append(b, v, (size_t)(p - v));
        rill__buf_append(b, "...", 3);
    }
    rill__buf_putc(b, ' ');
}

/* Writes the rows' lines past a Ctrl-C: the signal may land on the sink's thread while it
 * writes (the handler is installed without SA_RESTART, for the prompt's sake). */
static void write_all(FILE *out, const void *data, size_t len)
{
    fflush(out);
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fileno(out), p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* the reader is gone: the rows have nowhere to go */
        p += n;
        len -= (size_t)n;
    }
}

static void rows_begin(void *arg, int n_cols, const char *const *names, const int *widths)
{
    sql_cli *c = arg;
    free(c->widths);
    free(c->border);
    c->n_cols = n_cols + 1;
    c->n_rows = 0;
    c->widths = rill__xcalloc((size_t)c->n_cols, sizeof *c->widths);
    c->widths[0] = 2;                /* "op" */
    for (int i = 0; i < n_cols; i++) /* room for the name and for <NULL> (Flink's) */
        c->widths[i + 1] = RILL_MAX(RILL_MAX(widths[i], 6), text_width(names[i]));
    rill__buf b = {0};
    for (int i = 0; i < c->n_cols; i++) {
        rill__buf_putc(&b, '+');
        for (int k = 0; k < c->widths[i] + 2; k++)
            rill__buf_putc(&b, '-');
    }
    rill__buf_append(&b, "+\n", 3); /* with its NUL */
    c->border = (char *)b.data;
    c->line.len = 0;
    put_cell(&c->line, "op", 2);
    for (int i = 0; i < n_cols; i++)
        put_cell(&c->line, names[i], c->widths[i + 1]);
    rill__buf_append(&c->line, "|\n", 2);
    write_all(c->out, c->border, strlen(c->border));
    write_all(c->out, c->line.data, c->line.len);
    write_all(c->out, c->border, strlen(c->border));
}

static void rows_row(void *arg, const char *kind, int n_cols, const char *const *values)
{
    sql_cli *c = arg;
    c->line.len = 0;
    put_cell(&c->line, kind, 2);
    for (int i = 0; i < n_cols && i + 1 < c->n_cols; i++)
        put_cell(&c->line, values[i] ? values[i] : "<NULL>", c->widths[i + 1]);
    rill__buf_append(&c->line, "|\n", 2);
    write_all(c->out, c->line.data, c->line.len);
    c->n_rows++;
}

/* ---- running statements ------------------------------------------------------------------- */

enum { GO_ON, STOP_OK, STOP_ERROR };

/* Runs the statement at text[start, +len) and prints its outcome as Flink's client does.
 * GO_ON; STOP_OK after QUIT; STOP_ERROR after an error when stop_on_error (a file). */
static int run_one(sql_cli *c, rill__sql_session *s, const char *text, size_t start, size_t len,
                   bool stop_on_error)
{
    rill__err err = {0};
    rill__sql_done done = RILL_SQL_DONE_OK;
    c->n_cols = 0; /* no SELECT's header printed yet */
    interrupted = 0;
    rill__minicluster_clear_cancel();
    job_running = 1;
    int rc = rill__sql_session_exec(s, text, start, len, &done, &err);
    job_running = 0;
    bool canceled = rc == RILL_ECANCELED || (rc && interrupted);
    rill__minicluster_clear_cancel();
    FILE *out = c->out;
    if (canceled && done == RILL_SQL_DONE_QUERY && c->n_cols) {
        fprintf(out, "Query terminated, received a total of %ld row%s\n", c->n_rows,
                c->n_rows > 1 ? "s" : "");
    } else if (canceled) {
        fputs("[INFO] The job was canceled.\n", out);
    } else if (rc) {
        fprintf(out, "[ERROR] Could not execute SQL statement. Reason:\n%s\n",
                err.msg[0] ? err.msg : rill_strerror(rc));
    } else {
        switch (done) {
        case RILL_SQL_DONE_OK:
            fputs("[INFO] Execute statement succeed.\n", out);
            break;
        case RILL_SQL_DONE_INSERT:
            fputs("[INFO] Complete execution of the SQL update statement.\n", out);
            break;
        case RILL_SQL_DONE_QUERY:
            if (c->n_rows > 0)
                fputs(c->border, out);
            fprintf(out, "Received a total of %ld row%s\n", c->n_rows, c->n_rows > 1 ? "s" : "");
            break;
        case RILL_SQL_DONE_HELP:
            fputs(help_text, out);
            break;
        case RILL_SQL_DONE_CLEAR:
            if (isatty(fileno(out)))
                fputs("\033[H\033[2J", out);
            break;
        case RILL_SQL_DONE_QUIT:
            fputs("Exiting the rill SQL client...\n", out);
            fflush(out);
            return STOP_OK;
        case RILL_SQL_DONE_PRINTED:
            break;
        }
    }
    fputc('\n', out);
    fflush(out);
    interrupted = 0;
    if (rc && !canceled && stop_on_error)
        return STOP_ERROR;
    return GO_ON;
}

/* A whole file, statement by statement (-i, -f): GO_ON, STOP_OK (QUIT) or STOP_ERROR. */
static int run_file(sql_cli *c, rill__sql_session *s, const char *path)
{
    char *text = NULL;
    size_t n = 0;
    int rrc = rill__read_file(path, (size_t)64 << 20, &text, &n);
    if (rrc) {
        fprintf(stderr, "rill: cannot read '%s': %s\n", path, rill_strerror(rrc));
        return STOP_ERROR;
    }
    size_t off = 0;
    int status = GO_ON;
    while (status == GO_ON) {
        size_t start, len;
        rill__err err = {0};
        if (rill__sql_split(text, n, &off, &start, &len, &err) != 0) {
            fprintf(c->out, "[ERROR] Could not execute SQL statement. Reason:\n%s: %s\n\n", path,
                    err.msg);
            status = STOP_ERROR;
            break;
        }
        if (len == 0)
            break;
        status = run_one(c, s, text, start, len, true);
    }
    free(text);
    return status;
}

/* ---- reading statements ------------------------------------------------------------------- */

static const char *prompt_now = PROMPT;

static char *prompt_fn(EditLine *el)
{
    (void)el;
    return (char *)prompt_now;
}

/* The history file: $RILL_SQL_HISTORY, else ~/.rill_sql_history; NULL: none. */
static char *history_path(void)
{
    const char *p = getenv("RILL_SQL_HISTORY");
    if (p && *p)
        return rill__xstrdup(p);
    const char *home = getenv("HOME");
    return home && *home ? rill__xasprintf("%s/.rill_sql_history", home) : NULL;
}

/* Reads statements until QUIT or the end of the input: line editing when stdin is a
 * terminal. The exit status. */
static int interact(sql_cli *c, rill__sql_session *s)
{
    bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    EditLine *el = NULL;
    History *hist = NULL;
    HistEvent ev;
    char *hpath = NULL;
    if (tty) {
        hist = history_init();
        history(hist, &ev, H_SETSIZE, 1000);
        history(hist, &ev, H_SETUNIQUE, 1);
        hpath = history_path();
        if (hpath)
            history(hist, &ev, H_LOAD, hpath); /* none yet: no matter */
        el = el_init("rill", stdin, stdout, stderr);
        el_set(el, EL_EDITOR, "emacs");
        el_set(el, EL_PROMPT, prompt_fn);
        el_set(el, EL_HIST, history, hist);
        if (pipe(sigint_pipe) == 0) {
            for (int i = 0; i < 2; i++) {
                fcntl(sigint_pipe[i], F_SETFL, fcntl(sigint_pipe[i], F_GETFL) | O_NONBLOCK);
                fcntl(sigint_pipe[i], F_SETFD, FD_CLOEXEC);
            }
        } else {
            sigint_pipe[0] = sigint_pipe[1] = -1; /* the flag alone, as before */
        }
        el_set(el, EL_GETCFN, read_key);
        fputs("Welcome to rill's SQL client! Enter 'HELP;' to list all available commands. "
              "'QUIT;' to exit.\n\n",
              c->out);
    }
    rill__sql_input in = {0};
    char *buf = NULL;
    size_t cap = 0;
    int status = GO_ON;
    while (status == GO_ON) {
        prompt_now = rill__sql_input_waiting(&in) ? PROMPT_MORE : PROMPT;
        const char *line;
        ssize_t n;
        interrupted = 0;
        if (tty) {
            sigint_drain();
            int count = 0;
            line = el_gets(el, &count);
            n = count;
            if (!line && interrupted) { /* Ctrl-C at the prompt: the statement typed is dropped */
                fputc('\n', c->out);
                rill__sql_input_clear(&in);
                continue;
            }
        } else {
            errno = 0;
            n = getline(&buf, &cap, stdin);
            line = n >= 0 ? buf : NULL;
            if (!line && errno == EINTR)
                continue;
        }
        if (!line || n <= 0)
            break;
        rill__sql_input_add(&in, line, (size_t)n);
        size_t start, len;
        while (status == GO_ON && rill__sql_input_next(&in, &start, &len)) {
            if (hist) { /* the statement as one history entry */
                char *entry = rill__xasprintf("%.*s;", (int)len, in.text + start);
                history(hist, &ev, H_ENTER, entry);
                free(entry);
                if (hpath)
                    history(hist, &ev, H_SAVE, hpath);
            }
            status = run_one(c, s, in.text, start, len, false);
        }
        rill__sql_input_drop(&in);
    }
    size_t start, len;
    if (status == GO_ON && rill__sql_input_rest(&in, &start, &len)) /* the last, without ';' */
        status = run_one(c, s, in.text, start, len, false);
    if (tty && status == GO_ON)
        fputc('\n', c->out);
    rill__sql_input_free(&in);
    free(buf);
    if (el)
        el_end(el);
    if (hist)
        history_end(hist);
    for (int i = 0; i < 2; i++) {
        int fd = sigint_pipe[i];
        sigint_pipe[i] = -1;
        if (fd >= 0)
            close(fd);
    }
    free(hpath);
    return 0;
}

int rill__cli_sql(int argc, char **argv)
{
    sql_cli c = {.out = stdout};
    int status = rill__cli_sql_parse(argc, argv, &c.ra);
    if (status)
        return status;
    if (c.ra.help) {
        fputs(usage_sql, stdout);
        return 0;
    }
    if (c.ra.verbose)
        rill__log_set_level(RILL_LOG_INFO);
    uint8_t *secret = NULL;
    size_t secret_len = 0;
    rill__err serr = {0};
    if (c.ra.secret_file &&
        rill__secret_read_file(c.ra.secret_file, &secret, &secret_len, &serr) != 0) {
        fprintf(stderr, "rill: --secret-file: %s\n", serr.msg);
        return 2;
    }
    c.mc = (rill__minicluster_cfg){
        .rest_bind = c.ra.rest_bind, .secret = secret, .secret_len = secret_len};
    if (c.ra.rest_bind && rill__net_check_bind("the REST API (--rest-bind)", c.ra.rest_bind,
                                               secret != NULL, &serr) != 0) {
        fprintf(stderr, "rill: %s\n", serr.msg);
        rill__secret_free(secret, secret_len);
        return 2;
    }
    if ((status = check_flags(&c)) != 0) {
        rill__secret_free(secret, secret_len);
        return status;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint; /* no SA_RESTART: a read at the prompt returns */
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    rill__sql_rows_cb rows = {.begin = rows_begin, .row = rows_row, .arg = &c};
    rill__sql_session *s = rill__sql_session_new(stdout, make_env, &c, &rows);
    int step = GO_ON;
    if (c.ra.sql_init)
        step = run_file(&c, s, c.ra.sql_init);
    if (step == GO_ON && c.ra.sql_file)
        step = run_file(&c, s, c.ra.sql_file);
    else if (step == GO_ON)
        interact(&c, s);
    rill__sql_session_free(s);
    free(c.widths);
    free(c.border);
    rill__buf_free(&c.line);
    rill__secret_free(secret, secret_len);
    return step == STOP_ERROR ? 1 : 0;
}
