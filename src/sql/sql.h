/*
 * sql.h - the SQL layer's interface: Flink's SQL dialect on the engine (DESIGN.md §3: above
 * cluster and runtime, below cli). So far its tokenizer: the lexical rules of Flink SQL
 * (Calcite's, as Flink configures them) and the positions errors are reported at (line and
 * column, with the line and a caret under the place). The parser, catalog and planner follow
 * (issue 14). Depends on every layer below it.
 */
#ifndef RILL_SQL_H
#define RILL_SQL_H

#include <stdio.h>

#include "base/base.h"

/* ---- tokens ------------------------------------------------------------------------------ */

typedef enum rill__sql_tok {
    RILL_SQL_END = 0,   /* end of the text */
    RILL_SQL_WORD,      /* an identifier or keyword: letters, digits, '_', '$' (not first) */
    RILL_SQL_QUOTED,    /* a `back-quoted` identifier (`` for a back quote in it) */
    RILL_SQL_STRING,    /* 'a character string' ('' for a quote in it), also U&'...' */
    RILL_SQL_BINARY,    /* X'0a1B': hex digits, an even number of them */
    RILL_SQL_INTEGER,   /* 42 */
    RILL_SQL_DECIMAL,   /* 4.2, .5, 5. */
    RILL_SQL_APPROX,    /* 4.2e-3, 1E10: a DOUBLE literal */
    RILL_SQL_HINT,      /* a hint comment ("/" "*+" ... "*" "/"): its text, without its marks */
    RILL_SQL_OP,        /* an operator or punctuation: one of the strings in rill__sql_ops */
} rill__sql_tok;

/* Where a token starts: byte offset, 1-based line and column (in bytes). */
typedef struct rill__sql_pos {
    size_t off;
    int line, col;
} rill__sql_pos;

typedef struct rill__sql_token {
    rill__sql_tok kind;
    rill__sql_pos pos;
    const char *text; /* into the script: the token as written (quotes and all) */
    size_t len;
} rill__sql_token;

typedef struct rill__sql_lexer {
    const char *text;
    size_t len;
    rill__sql_pos at; /* the next byte */
} rill__sql_lexer;

void rill__sql_lexer_init(rill__sql_lexer *lx, const char *text, size_t len);
/* The next token, comments and white space (space, tab, CR, LF, FF) skipped: 0, or
 * RILL_EPARSE with err saying what is wrong and where (an unterminated string, identifier or
 * comment, a character no token starts with, a bad binary or numeric literal); see
 * rill__sql_error for the message's shape. */
int rill__sql_next(rill__sql_lexer *lx, rill__sql_token *tok, rill__err *err);

/* Whether a WORD token is the keyword kw (ASCII, case-insensitive, as Flink's keywords). */
bool rill__sql_is(const rill__sql_token *tok, const char *kw);
/* Whether an OP token is op. */
bool rill__sql_is_op(const rill__sql_token *tok, const char *op);

/* The value of a STRING or QUOTED token, its quotes removed and doubled quotes made one, and
 * U&'...' escapes (\XXXX, \+XXXXXX, \\) decoded to UTF-8; appended to out. RILL_EPARSE for a
 * bad escape (err names it). */
int rill__sql_unquote(const rill__sql_token *tok, rill__buf *out, rill__err *err);

/* ---- errors with a caret ------------------------------------------------------------------ */

/* Sets err to "<what> at line L, column C:\n<the line>\n<spaces>^" (RILL_EPARSE); the line is
 * the script's line at pos, cut around the column when long. */
RILL_PRINTF(4, 5)
int rill__sql_error(rill__err *err, const char *text, rill__sql_pos pos, const char *fmt, ...);

/* ---- scripts ------------------------------------------------------------------------------ */

/* The next statement of a script: its tokens run from *off to the ';' that ends it (or the
 * end), a ';' inside EXECUTE STATEMENT SET BEGIN ... END not ending it. *start and *len are
 * the statement's text (without the ';' and the space and comments around it; len 0: no
 * statement is left). 0 or RILL_EPARSE (err as rill__sql_next's). */
int rill__sql_split(const char *text, size_t text_len, size_t *off, size_t *start, size_t *len,
                    rill__err *err);

/* The same, and *ended: whether a ';' ended the statement (false when it runs to the end of the
 * text, which a client reading lines takes as "more lines to come"). */
int rill__sql_split_ended(const char *text, size_t text_len, size_t *off, size_t *start,
                          size_t *len, bool *ended, rill__err *err);

/* ---- running ------------------------------------------------------------------------------ */

typedef struct rill_env rill_env;
/* Runs the script text[0..len) (Flink SQL statements separated by ';') as one job of env: SET,
 * CREATE, DROP, SHOW and DESCRIBE in order, every INSERT and bare SELECT planned into the job,
 * which runs at the end (nothing runs when there is none). path names the script in errors.
 * 0, or an error with err saying what and where (line, column and a caret under the place). */
int rill__sql_run_script(rill_env *env, const char *text, size_t len, const char *path,
                         rill__err *err);

/* ---- a session: statements run as they come (`rill sql`) ------------------------------------ */

/* A session keeps the SET options and the catalog across statements and runs each statement as
 * it comes: SET, RESET, CREATE, DROP, SHOW, DESCRIBE, EXPLAIN and USE at once; each INSERT (and
 * EXECUTE STATEMENT SET) and each SELECT as a job of its own, on a fresh env made by the
 * session's env maker with the SET options replayed onto it, run to its end (or until
 * rill__minicluster_request_cancel). One thread uses a session. */
typedef struct rill__sql_session rill__sql_session;

/* Makes the env of one job: the caller's own options set (`rill sql`'s flags), named name
 * unless those options name it. Never NULL. The session sets the SET options on it after. */
typedef rill_env *(*rill__sql_env_fn)(void *arg, const char *name);

/* Where a SELECT's rows go. begin: before its job runs, the columns' names and their display
 * widths (Flink's tableau widths by type: 11 for an INT, 30 for a STRING...). row: one row,
 * kind "+I", "-U", "+U" or "-D", the values formatted as the print connector formats them and
 * NULL for a SQL NULL (borrowed for the call); called from the job's sink subtasks, one call
 * at a time. */
typedef struct rill__sql_rows_cb {
    void (*begin)(void *arg, int n_cols, const char *const *names, const int *widths);
    void (*row)(void *arg, const char *kind, int n_cols, const char *const *values);
    void *arg;
} rill__sql_rows_cb;

/* What a statement was, for the client's message after it. */
typedef enum rill__sql_done {
    RILL_SQL_DONE_OK,      /* it changed the session: SET k = v, RESET, CREATE, DROP, USE */
    RILL_SQL_DONE_PRINTED, /* it printed its answer to out: SET alone, SHOW, DESCRIBE, EXPLAIN */
    RILL_SQL_DONE_INSERT,  /* an INSERT or statement set: its job ran to its end */
    RILL_SQL_DONE_QUERY,   /* a SELECT: its job ran, its rows went to the rows callback */
    RILL_SQL_DONE_HELP,
    RILL_SQL_DONE_CLEAR,
    RILL_SQL_DONE_QUIT, /* QUIT or EXIT */
} rill__sql_done;

/* A new session printing to out; make_env(env_arg, name) makes each job's env; rows (copied)
 * receives SELECTs' rows. Never NULL. */
rill__sql_session *rill__sql_session_new(FILE *out, rill__sql_env_fn make_env, void *env_arg,
                                         const rill__sql_rows_cb *rows);
void rill__sql_session_free(rill__sql_session *s); /* NULL-safe */
/* Runs the one statement at text[start .. start + len) (as rill__sql_split gives it: lines and
 * columns in errors count from text's start). 0 with *done, or an error with err saying what
 * and where; RILL_ECANCELED when its job was canceled. The session goes on either way. */
int rill__sql_session_exec(rill__sql_session *s, const char *text, size_t start, size_t len,
                           rill__sql_done *done, rill__err *err);

#endif /* RILL_SQL_H */
