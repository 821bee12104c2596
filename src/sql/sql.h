/*
 * sql.h - the SQL layer's interface: Flink's SQL dialect on the engine (DESIGN.md §3: above
 * cluster and runtime, below cli). So far its tokenizer: the lexical rules of Flink SQL
 * (Calcite's, as Flink configures them) and the positions errors are reported at (line and
 * column, with the line and a caret under the place). The parser, catalog and planner follow
 * (issue 14). Depends on every layer below it.
 */
#ifndef RILL_SQL_H
#define RILL_SQL_H

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

/* ---- running ------------------------------------------------------------------------------ */

typedef struct rill_env rill_env;
/* Runs the script text[0..len) (Flink SQL statements separated by ';') as one job of env: SET,
 * CREATE, DROP, SHOW and DESCRIBE in order, every INSERT and bare SELECT planned into the job,
 * which runs at the end (nothing runs when there is none). path names the script in errors.
 * 0, or an error with err saying what and where (line, column and a caret under the place). */
int rill__sql_run_script(rill_env *env, const char *text, size_t len, const char *path,
                         rill__err *err);

#endif /* RILL_SQL_H */
