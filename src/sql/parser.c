/*
 * parser.c - sql layer: Flink SQL's grammar (Calcite's, with Flink's DDL and client statements)
 * by recursive descent over the lexer's tokens, expressions by precedence levels as Calcite
 * ranks its operators; builds the tree of ast.h in one arena and stops at the first error with
 * Flink's message shape (Encountered "x" at line L, column C ... Was expecting ...).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ast.h"

typedef struct parser {
    rill__sql_ast *ast;
    const char *text;
    rill__sql_token *toks;
    size_t n, cap, i;
    int depth;
    bool failed;
    size_t follow_at; /* where the last SELECT ended, and what could have come there */
    char follow[256];
    rill__err *err;
} parser;

/* ---- keywords ------------------------------------------------------------------------------ */

/* Calcite's reserved keywords as Flink's parser keeps them (SQL:2016's reserved words). */
static const char RESERVED[] =
    " ABS ALL ALLOCATE ALLOW ALTER AND ANY ARE ARRAY ARRAY_MAX_CARDINALITY AS ASENSITIVE "
    " ASYMMETRIC AT ATOMIC AUTHORIZATION AVG BEGIN BEGIN_FRAME BEGIN_PARTITION BETWEEN "
    " BIGINT BINARY BIT BLOB BOOLEAN BOTH BY CALL CALLED CARDINALITY CASCADED CASE CAST CEIL "
    " CEILING CHAR CHARACTER CHARACTER_LENGTH CHAR_LENGTH CHECK CLASSIFIER CLOB CLOSE "
    " COALESCE COLLATE COLLECT COLUMN COMMIT CONDITION CONNECT CONSTRAINT CONTAINS CONVERT "
    " CORR CORRESPONDING COUNT COVAR_POP COVAR_SAMP CREATE CROSS CUBE CUME_DIST CURRENT "
    " CURRENT_CATALOG CURRENT_DATE CURRENT_DEFAULT_TRANSFORM_GROUP CURRENT_PATH CURRENT_ROLE "
    " CURRENT_ROW CURRENT_SCHEMA CURRENT_TIME CURRENT_TIMESTAMP "
    " CURRENT_TRANSFORM_GROUP_FOR_TYPE CURRENT_USER CURSOR CYCLE DATE DAY DEALLOCATE DEC "
    " DECIMAL DECLARE DEFAULT DEFINE DELETE DENSE_RANK DEREF DESCRIBE DETERMINISTIC DISALLOW "
    " DISCONNECT DISTINCT DOUBLE DROP DYNAMIC EACH ELEMENT ELSE EMPTY END END_FRAME "
    " END_PARTITION EQUALS ESCAPE EVERY EXCEPT EXEC EXECUTE EXISTS EXP EXPLAIN EXTEND "
    " EXTERNAL EXTRACT FALSE FETCH FILTER FIRST_VALUE FLOAT FLOOR FOR FOREIGN FRAME_ROW FREE "
    " FROM FULL FUNCTION FUSION GET GLOBAL GRANT GROUP GROUPING GROUPS HAVING HOLD HOUR "
    " IDENTITY IMPORT IN INDICATOR INITIAL INNER INOUT INSENSITIVE INSERT INT INTEGER "
    " INTERSECT INTERSECTION INTERVAL INTO IS JOIN JSON_ARRAY JSON_ARRAYAGG JSON_EXISTS "
    " JSON_OBJECT JSON_OBJECTAGG JSON_QUERY JSON_VALUE LAG LANGUAGE LARGE LAST_VALUE LATERAL "
    " LEAD LEADING LEFT LIKE LIKE_REGEX LIMIT LN LOCAL LOCALTIME LOCALTIMESTAMP LOWER MATCH "
    " MATCHES MATCH_NUMBER MATCH_RECOGNIZE MAX MEASURES MEMBER MERGE METHOD MIN MINUS MINUTE "
    " MOD MODIFIES MODULE MONTH MULTISET NATIONAL NATURAL NCHAR NCLOB NEW NEXT NO NONE "
    " NORMALIZE NOT NTH_VALUE NTILE NULL NULLIF NUMERIC OCCURRENCES_REGEX OCTET_LENGTH OF "
    " OFFSET OLD OMIT ON ONE ONLY OPEN OR ORDER OUT OUTER OVER OVERLAPS OVERLAY PARAMETER "
    " PARTITION PATTERN PER PERCENT PERCENTILE_CONT PERCENTILE_DISC PERCENT_RANK PERIOD "
    " PERMUTE PORTION POSITION POSITION_REGEX POWER PRECEDES PRECISION PREPARE PREV PRIMARY "
    " PROCEDURE RANGE RANK READS REAL RECURSIVE REF REFERENCES REFERENCING REGR_AVGX "
    " REGR_AVGY REGR_COUNT REGR_INTERCEPT REGR_R2 REGR_SLOPE REGR_SXX REGR_SXY REGR_SYY "
    " RELEASE RESET RESULT RETURN RETURNS REVOKE RIGHT ROLLBACK ROLLUP ROW ROWS ROW_NUMBER "
    " RUNNING SAVEPOINT SCOPE SCROLL SEARCH SECOND SEEK SELECT SENSITIVE SESSION_USER SET "
    " SHOW SIMILAR SKIP SMALLINT SOME SPECIFIC SPECIFICTYPE SQL SQLEXCEPTION SQLSTATE "
    " SQLWARNING SQRT START STATIC STDDEV_POP STDDEV_SAMP STREAM SUBMULTISET SUBSET "
    " SUBSTRING SUBSTRING_REGEX SUCCEEDS SUM SYMMETRIC SYSTEM SYSTEM_TIME SYSTEM_USER TABLE "
    " TABLESAMPLE THEN TIME TIMESTAMP TIMEZONE_HOUR TIMEZONE_MINUTE TINYINT TO TRAILING "
    " TRANSLATE TRANSLATE_REGEX TRANSLATION TREAT TRIGGER TRIM TRIM_ARRAY TRUE TRUNCATE "
    " UESCAPE UNION UNIQUE UNKNOWN UNNEST UPDATE UPPER UPSERT USER USING VALUE VALUES "
    " VALUE_OF VARBINARY VARCHAR VARYING VAR_POP VAR_SAMP VERSIONING WHEN WHENEVER WHERE "
    " WIDTH_BUCKET WINDOW WITH WITHIN WITHOUT YEAR ";

/* Reserved words that still name functions when a '(' follows (Calcite's function names). */
static const char RESERVED_FUNCTIONS[] =
    " ABS AVG CARDINALITY CHAR_LENGTH CHARACTER_LENGTH COALESCE COLLECT CORR COUNT COVAR_POP "
    " COVAR_SAMP CUME_DIST DENSE_RANK ELEMENT EVERY EXP FIRST_VALUE FUSION GROUPING HOUR LAG "
    " LAST_VALUE LEAD LEFT LN LOWER MAX MIN MINUTE MOD MONTH NTH_VALUE NTILE NULLIF "
    " OCTET_LENGTH PERCENT_RANK PERCENTILE_CONT PERCENTILE_DISC POWER RANK REGR_COUNT "
    " REGR_SXX REGR_SYY RIGHT ROW_NUMBER SECOND SOME SQRT STDDEV_POP STDDEV_SAMP SUM "
    " TRUNCATE UPPER VAR_POP VAR_SAMP YEAR JSON_ARRAY JSON_ARRAYAGG JSON_EXISTS JSON_OBJECT "
    " JSON_OBJECTAGG JSON_QUERY JSON_VALUE CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP "
    " LOCALTIME LOCALTIMESTAMP DATE TIME TIMESTAMP TRANSLATE CONVERT WIDTH_BUCKET DAY PREV "
    " NEXT CLASSIFIER MATCH_NUMBER RUNNING FINAL ANY ";

/* Called without parentheses. */
static const char NILADIC[] =
    " CURRENT_TIMESTAMP CURRENT_DATE CURRENT_TIME LOCALTIME LOCALTIMESTAMP CURRENT_USER "
    " SESSION_USER SYSTEM_USER USER CURRENT_ROLE CURRENT_PATH CURRENT_CATALOG CURRENT_SCHEMA ";

/* Whether w (any case) is one of the words of list (upper case, each between spaces). */
static bool word_in(const char *w, size_t len, const char *list)
{
    char key[48];
    if (len == 0 || len + 2 >= sizeof key)
        return false;
    key[0] = ' ';
    for (size_t j = 0; j < len; j++) {
        char a = w[j];
        if (a == ' ' || a == '\0')
            return false;
        key[j + 1] = a >= 'a' && a <= 'z' ? (char)(a - 32) : a;
    }
    key[len + 1] = ' ';
    key[len + 2] = '\0';
    return strstr(list, key) != NULL;
}

bool rill__sql_reserved(const char *word, size_t len)
{
    return word_in(word, len, RESERVED);
}

static bool tok_reserved(const rill__sql_token *t)
{
    return t->kind == RILL_SQL_WORD && rill__sql_reserved(t->text, t->len);
}

/* ---- tokens and errors --------------------------------------------------------------------- */

static rill__sql_token *cur(parser *p)
{
    return &p->toks[p->i];
}

static rill__sql_token *ahead(parser *p, size_t k)
{
    size_t j = p->i + k;
    return &p->toks[j < p->n ? j : p->n - 1];
}

static bool is_kw(parser *p, const char *kw)
{
    return rill__sql_is(cur(p), kw);
}

static bool is_op(parser *p, const char *op)
{
    return rill__sql_is_op(cur(p), op);
}

static bool accept_kw(parser *p, const char *kw)
{
    if (!is_kw(p, kw))
        return false;
    p->i++;
    return true;
}

static bool accept_op(parser *p, const char *op)
{
    if (!is_op(p, op))
        return false;
    p->i++;
    return true;
}

/* Appends "\n<what>" after the caret of the message already in err. */
static void err_append(rill__err *err, const char *what)
{
    size_t n = strlen(err->msg);
    if (n + 1 < sizeof err->msg)
        snprintf(err->msg + n, sizeof err->msg - n, "\n%s", what);
}

/* Encountered "<token>" at line L, column C ... Was expecting: what. Returns NULL (for the
 * callers' `return fail(...)`). */
static void *fail_expect(parser *p, const char *what)
{
    if (p->failed)
        return NULL;
    p->failed = true;
    rill__sql_token *t = cur(p);
    if (t->kind == RILL_SQL_END)
        rill__sql_error(p->err, p->text, t->pos, "Encountered \"<EOF>\"");
    else if (t->kind == RILL_SQL_HINT)
        rill__sql_error(p->err, p->text, t->pos, "Encountered a hint");
    else
        rill__sql_error(p->err, p->text, t->pos, "Encountered \"%.*s\"",
                        (int)(t->len > 40 ? 40 : t->len), t->text);
    char buf[300];
    snprintf(buf, sizeof buf, "Was expecting %s%s", strchr(what, ',') ? "one of: " : "", what);
    err_append(p->err, buf);
    return NULL;
}

RILL_PRINTF(3, 4)
static void *fail_at(parser *p, rill__sql_pos pos, const char *fmt, ...)
{
    if (p->failed)
        return NULL;
    p->failed = true;
    char what[RILL_ERRMSG_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    rill__sql_error(p->err, p->text, pos, "%s", what);
    return NULL;
}

static bool expect_kw(parser *p, const char *kw)
{
    if (accept_kw(p, kw))
        return true;
    char what[64];
    snprintf(what, sizeof what, "\"%s\"", kw);
    fail_expect(p, what);
    return false;
}

static bool expect_op(parser *p, const char *op)
{
    if (accept_op(p, op))
        return true;
    char what[64];
    snprintf(what, sizeof what, "\"%s\"", op);
    fail_expect(p, what);
    return false;
}

static bool enter(parser *p)
{
    if (++p->depth > RILL_SQL_MAX_DEPTH) {
        fail_at(p, cur(p)->pos, "the statement nests deeper than %d levels", RILL_SQL_MAX_DEPTH);
        return false;
    }
    return true;
}

/* ---- allocation ---------------------------------------------------------------------------- */

static void *alloc(parser *p, size_t size)
{
    return rill__sql_ast_alloc(p->ast, size);
}

static char *strndup_a(parser *p, const char *s, size_t n)
{
    char *d = alloc(p, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* A growing list in the arena: push elem (size bytes) onto *arr holding *n. Capacity doubles at
 * powers of two, so it is derived from *n. */
static void *push(parser *p, void *arr_p, size_t *n, size_t size)
{
    void **arr = arr_p;
    size_t cap = 4;
    while (cap < *n)
        cap *= 2;
    if (*n == 0 || *n == cap) {
        size_t ncap = *n == 0 ? 4 : cap * 2;
        void *na = alloc(p, ncap * size);
        if (*n)
            memcpy(na, *arr, *n * size);
        *arr = na;
    }
    void *slot = (char *)*arr + *n * size;
    (*n)++;
    return slot;
}

#define PUSH(p, arr, n, val)                                                                       \
    do {                                                                                           \
        __typeof__(*(arr)) v_ = (val);                                                             \
        *(__typeof__(arr))push((p), &(arr), &(n), sizeof *(arr)) = v_;                             \
    } while (0)

static rill__sql_expr *new_expr(parser *p, rill__sql_expr_kind kind, rill__sql_pos pos)
{
    rill__sql_expr *e = alloc(p, sizeof *e);
    e->kind = kind;
    e->pos = pos;
    return e;
}

/* The unquoted value of a STRING or QUOTED token, in the arena; NULL on a bad escape. */
static char *unquote(parser *p, const rill__sql_token *t, size_t *len_out)
{
    rill__buf b = {0};
    if (rill__sql_unquote(t, &b, p->err) != 0) {
        p->failed = true;
        rill__buf_free(&b);
        return NULL;
    }
    char *s = strndup_a(p, b.data ? b.data : "", b.len);
    if (len_out)
        *len_out = b.len;
    rill__buf_free(&b);
    return s;
}

/* ---- names --------------------------------------------------------------------------------- */

static bool ident_tok(const rill__sql_token *t)
{
    return t->kind == RILL_SQL_QUOTED || (t->kind == RILL_SQL_WORD && !tok_reserved(t));
}

static bool parse_ident(parser *p, rill__sql_ident *id)
{
    rill__sql_token *t = cur(p);
    if (t->kind == RILL_SQL_WORD && tok_reserved(t)) {
        fail_at(p, t->pos, "Incorrect syntax near the keyword '%.*s'", (int)t->len, t->text);
        err_append(p->err, "Was expecting a name (a reserved keyword is a name only "
                           "back-quoted)");
        return false;
    }
    if (t->kind == RILL_SQL_WORD) {
        id->text = strndup_a(p, t->text, t->len);
        id->quoted = false;
    } else if (t->kind == RILL_SQL_QUOTED) {
        size_t len;
        char *s = unquote(p, t, &len);
        if (!s)
            return false;
        if (strlen(s) != len) {
            fail_at(p, t->pos, "an identifier cannot hold a NUL character");
            return false;
        }
        id->text = s;
        id->quoted = true;
    } else {
        fail_expect(p, "an identifier");
        return false;
    }
    id->pos = t->pos;
    p->i++;
    return true;
}

static bool parse_name(parser *p, rill__sql_name *name)
{
    memset(name, 0, sizeof *name);
    name->pos = cur(p)->pos;
    do {
        rill__sql_ident id;
        if (!parse_ident(p, &id))
            return false;
        PUSH(p, name->parts, name->n_parts, id);
    } while (is_op(p, ".") && ident_tok(ahead(p, 1)) && (p->i++, true));
    return true;
}

/* '(' ident, ... ')' */
static bool parse_ident_list(parser *p, rill__sql_ident **out, size_t *n)
{
    if (!expect_op(p, "("))
        return false;
    do {
        rill__sql_ident id;
        if (!parse_ident(p, &id))
            return false;
        PUSH(p, *out, *n, id);
    } while (accept_op(p, ","));
    return expect_op(p, ")");
}

/* A string literal at the cursor, with its continuations: 'ab' 'cd' is 'abcd' (SQL's, and
 * Calcite's, adjacent literals, as a long option value is written over lines). */
static char *string_lit(parser *p, size_t *len_out)
{
    size_t len;
    char *s = unquote(p, cur(p), &len);
    if (!s)
        return NULL;
    p->i++;
    while (cur(p)->kind == RILL_SQL_STRING) {
        size_t more;
        char *m = unquote(p, cur(p), &more);
        if (!m)
            return NULL;
        p->i++;
        char *joined = alloc(p, len + more + 1);
        memcpy(joined, s, len);
        memcpy(joined + len, m, more + 1);
        s = joined;
        len += more;
    }
    *len_out = len;
    return s;
}

static const char *parse_string(parser *p)
{
    if (cur(p)->kind != RILL_SQL_STRING)
        return fail_expect(p, "a string literal");
    size_t len;
    return string_lit(p, &len);
}

/* 'k' = 'v' */
static bool parse_option(parser *p, rill__sql_option *o)
{
    o->pos = cur(p)->pos;
    if (!(o->key = parse_string(p)) || !expect_op(p, "="))
        return false;
    return (o->value = parse_string(p)) != NULL;
}

/* ---- hints --------------------------------------------------------------------------------- */

/* The hints in a HINT token: NAME [( 'k' = 'v', ... | value, ... )], ... */
static bool parse_hint_token(parser *p, rill__sql_hint **hints, size_t *n_hints)
{
    rill__sql_token *ht = cur(p);
    rill__sql_lexer lx;
    size_t body = (size_t)(ht->text - p->text);
    rill__sql_lexer_init(&lx, p->text, body + ht->len);
    lx.at = (rill__sql_pos){body, ht->pos.line, ht->pos.col + 3};
    /* the hint's own tokens, parsed by a parser of its own over the same arena */
    parser sub = {.ast = p->ast, .text = p->text, .err = p->err};
    for (;;) {
        rill__sql_token t;
        if (rill__sql_next(&lx, &t, p->err) != 0) {
            p->failed = true;
            free(sub.toks);
            return false;
        }
        if (t.kind == RILL_SQL_HINT) {
            free(sub.toks);
            fail_at(p, t.pos, "a hint cannot hold another hint");
            return false;
        }
        rill__grow((void **)&sub.toks, &sub.cap, sub.n + 1, sizeof *sub.toks);
        sub.toks[sub.n++] = t;
        if (t.kind == RILL_SQL_END)
            break;
    }
    bool ok = true;
    do {
        rill__sql_hint h = {.pos = cur(&sub)->pos};
        if (!(ok = parse_ident(&sub, &h.name)))
            break;
        if (accept_op(&sub, "(") && !accept_op(&sub, ")")) {
            bool kv = ahead(&sub, 1)->kind == RILL_SQL_OP && rill__sql_is_op(ahead(&sub, 1), "=");
            do {
                if (kv) {
                    rill__sql_option o = {.pos = cur(&sub)->pos};
                    rill__sql_token *k = cur(&sub);
                    if (k->kind == RILL_SQL_STRING) {
                        ok = (o.key = parse_string(&sub)) != NULL;
                    } else {
                        rill__sql_ident id;
                        if ((ok = parse_ident(&sub, &id)))
                            o.key = id.text;
                    }
                    ok = ok && expect_op(&sub, "=") && (o.value = parse_string(&sub)) != NULL;
                    if (!ok)
                        break;
                    PUSH(&sub, h.options, h.n_options, o);
                } else {
                    rill__sql_token *v = cur(&sub);
                    const char *val = NULL;
                    if (v->kind == RILL_SQL_STRING) {
                        val = parse_string(&sub);
                    } else if (v->kind == RILL_SQL_INTEGER) {
                        val = strndup_a(&sub, v->text, v->len);
                        sub.i++;
                    } else {
                        rill__sql_ident id;
                        if (parse_ident(&sub, &id))
                            val = id.text;
                    }
                    if (!(ok = val != NULL))
                        break;
                    PUSH(&sub, h.values, h.n_values, val);
                }
            } while (accept_op(&sub, ","));
            if (!ok || !(ok = expect_op(&sub, ")")))
                break;
        }
        PUSH(p, *hints, *n_hints, h);
    } while (accept_op(&sub, ","));
    if (ok && cur(&sub)->kind != RILL_SQL_END)
        ok = fail_expect(&sub, "\",\" or the end of the hint") != NULL;
    if (!ok)
        p->failed = true;
    free(sub.toks);
    if (ok)
        p->i++;
    return ok;
}

static bool parse_hints(parser *p, rill__sql_hint **hints, size_t *n_hints)
{
    while (cur(p)->kind == RILL_SQL_HINT)
        if (!parse_hint_token(p, hints, n_hints))
            return false;
    return true;
}

/* ---- numbers, units, types ---------------------------------------------------------------- */

/* An INTEGER token's value, at most max. */
static bool parse_int(parser *p, long long max, int *out)
{
    rill__sql_token *t = cur(p);
    if (t->kind != RILL_SQL_INTEGER) {
        fail_expect(p, "an integer");
        return false;
    }
    long long v = 0;
    for (size_t i = 0; i < t->len; i++) {
        v = v * 10 + (t->text[i] - '0');
        if (v > max) {
            fail_at(p, t->pos, "%.*s is too large here (at most %lld)", (int)t->len, t->text, max);
            return false;
        }
    }
    *out = (int)v;
    p->i++;
    return true;
}

static const char *const UNIT_NAMES[] = {
    "",       "YEAR",   "QUARTER",     "MONTH",       "WEEK",       "DAY",     "HOUR",
    "MINUTE", "SECOND", "MILLISECOND", "MICROSECOND", "NANOSECOND", "DOW",     "DOY",
    "EPOCH",  "DECADE", "CENTURY",     "MILLENNIUM",  "ISODOW",     "ISOYEAR", NULL};

const char *rill__sql_unit_name(rill__sql_unit u)
{
    return (unsigned)u < sizeof UNIT_NAMES / sizeof *UNIT_NAMES - 1 ? UNIT_NAMES[u] : "";
}

static bool interval_unit(rill__sql_unit u)
{
    return u == RILL_SQL_UNIT_YEAR || u == RILL_SQL_UNIT_MONTH || u == RILL_SQL_UNIT_DAY ||
           u == RILL_SQL_UNIT_HOUR || u == RILL_SQL_UNIT_MINUTE || u == RILL_SQL_UNIT_SECOND;
}

/* A time unit word; only: the highest unit accepted (SECOND for interval qualifiers). */
static rill__sql_unit parse_unit(parser *p, rill__sql_unit last, const char *expecting)
{
    rill__sql_token *t = cur(p);
    for (int u = 1; u <= (int)last; u++) {
        if (accept_kw(p, UNIT_NAMES[u]))
            return (rill__sql_unit)u;
        /* Calcite's plurals: YEARS, MONTHS, DAYS, HOURS, MINUTES, SECONDS */
        size_t n = strlen(UNIT_NAMES[u]);
        if (u <= RILL_SQL_UNIT_SECOND && interval_unit((rill__sql_unit)u) &&
            t->kind == RILL_SQL_WORD && t->len == n + 1 && (t->text[n] | 0x20) == 's' &&
            !strncasecmp(t->text, UNIT_NAMES[u], n)) {
            p->i++;
            return (rill__sql_unit)u;
        }
    }
    fail_expect(p, expecting);
    return RILL_SQL_UNIT_NONE;
}

#define INTERVAL_UNITS "YEAR, MONTH, DAY, HOUR, MINUTE, SECOND"

/* An interval qualifier: unit [(p[, f])] [TO unit [(f)]], with Flink's limits. */
static bool parse_interval_q(parser *p, rill__sql_interval_q *q)
{
    memset(q, 0, sizeof *q);
    q->pos = cur(p)->pos;
    rill__sql_pos at = cur(p)->pos;
    rill__sql_unit u = parse_unit(p, RILL_SQL_UNIT_SECOND, INTERVAL_UNITS);
    if (!u)
        return false;
    if (!interval_unit(u)) {
        fail_at(p, at, "%s is not a unit of an interval qualifier (" INTERVAL_UNITS ")",
                UNIT_NAMES[u]);
        return false;
    }
    q->start = u;
    bool ym = u == RILL_SQL_UNIT_YEAR || u == RILL_SQL_UNIT_MONTH;
    q->precision = 2;
    if (accept_op(p, "(")) {
        rill__sql_pos pp = cur(p)->pos;
        if (!parse_int(p, 1000, &q->precision))
            return false;
        int hi = ym ? 4 : 6;
        if (q->precision < 1 || q->precision > hi)
            return fail_at(p, pp, "the precision of %s must be between 1 and %d (not %d)",
                           UNIT_NAMES[u], hi, q->precision) != NULL;
        q->precision_given = true;
        if (u == RILL_SQL_UNIT_SECOND && accept_op(p, ",")) {
            pp = cur(p)->pos;
            if (!parse_int(p, 1000, &q->frac))
                return false;
            if (q->frac > 9)
                return fail_at(p, pp,
                               "the fractional precision of SECOND must be between 0 "
                               "and 9 (not %d)",
                               q->frac) != NULL;
            q->frac_given = true;
        }
        if (!expect_op(p, ")"))
            return false;
    }
    if (accept_kw(p, "TO")) {
        at = cur(p)->pos;
        rill__sql_unit e = parse_unit(p, RILL_SQL_UNIT_SECOND, INTERVAL_UNITS);
        if (!e)
            return false;
        bool ok =
            (u == RILL_SQL_UNIT_YEAR && e == RILL_SQL_UNIT_MONTH) ||
            (u == RILL_SQL_UNIT_DAY &&
             (e == RILL_SQL_UNIT_HOUR || e == RILL_SQL_UNIT_MINUTE || e == RILL_SQL_UNIT_SECOND)) ||
            (u == RILL_SQL_UNIT_HOUR && (e == RILL_SQL_UNIT_MINUTE || e == RILL_SQL_UNIT_SECOND)) ||
            (u == RILL_SQL_UNIT_MINUTE && e == RILL_SQL_UNIT_SECOND);
        if (!ok || q->frac_given)
            return fail_at(p, at, "%s TO %s is not an interval qualifier", UNIT_NAMES[u],
                           UNIT_NAMES[e]) != NULL;
        q->end = e;
        if (e == RILL_SQL_UNIT_SECOND && accept_op(p, "(")) {
            rill__sql_pos pp = cur(p)->pos;
            if (!parse_int(p, 1000, &q->frac))
                return false;
            if (q->frac > 9)
                return fail_at(p, pp,
                               "the fractional precision of SECOND must be between 0 "
                               "and 9 (not %d)",
                               q->frac) != NULL;
            q->frac_given = true;
            if (!expect_op(p, ")"))
                return false;
        }
    }
    if ((q->start == RILL_SQL_UNIT_SECOND || q->end == RILL_SQL_UNIT_SECOND) && !q->frac_given)
        q->frac = 6;
    return true;
}

static rill__sql_type *parse_type(parser *p);

/* [(n)] with limits lo..hi: sets t->precision (or keeps the default). */
static bool type_param(parser *p, rill__sql_type *t, const char *what, int lo, int hi)
{
    if (!accept_op(p, "("))
        return true;
    rill__sql_pos pp = cur(p)->pos;
    if (!parse_int(p, INT_MAX, &t->precision))
        return false;
    if (t->precision < lo || t->precision > hi)
        return fail_at(p, pp, "%s must be between %d and %d (not %d)", what, lo, hi,
                       t->precision) != NULL;
    t->precision_given = true;
    return expect_op(p, ")");
}

/* name type [COMMENT 's'], ... up to close */
static bool parse_fields(parser *p, rill__sql_type *t, const char *close)
{
    if (accept_op(p, close))
        return true;
    do {
        rill__sql_field f = {0};
        if (!parse_ident(p, &f.name) || !(f.type = parse_type(p)))
            return false;
        if (accept_kw(p, "COMMENT") && !(f.comment = parse_string(p)))
            return false;
        PUSH(p, t->fields, t->n_fields, f);
    } while (accept_op(p, ","));
    return expect_op(p, close);
}

#define TYPE_NAMES                                                                                 \
    "a type: BOOLEAN, TINYINT, SMALLINT, INT, BIGINT, FLOAT, DOUBLE, DECIMAL, "                    \
    "CHAR, VARCHAR, STRING, BINARY, VARBINARY, BYTES, DATE, TIME, TIMESTAMP, TIMESTAMP_LTZ, "      \
    "INTERVAL, ROW, ARRAY, MAP, MULTISET"

static rill__sql_type *parse_type(parser *p)
{
    if (!enter(p))
        return NULL;
    rill__sql_type *t = alloc(p, sizeof *t);
    rill__sql_token *w = cur(p);
    t->pos = w->pos;
    bool ok = true;
    if (w->kind != RILL_SQL_WORD) {
        ok = fail_expect(p, TYPE_NAMES) != NULL;
    } else if (accept_kw(p, "BOOLEAN")) {
        t->kind = RILL_SQL_T_BOOLEAN;
    } else if (accept_kw(p, "TINYINT")) {
        t->kind = RILL_SQL_T_TINYINT;
    } else if (accept_kw(p, "SMALLINT")) {
        t->kind = RILL_SQL_T_SMALLINT;
    } else if (accept_kw(p, "INT") || accept_kw(p, "INTEGER")) {
        t->kind = RILL_SQL_T_INT;
    } else if (accept_kw(p, "BIGINT")) {
        t->kind = RILL_SQL_T_BIGINT;
    } else if (accept_kw(p, "FLOAT") || accept_kw(p, "REAL")) {
        t->kind = RILL_SQL_T_FLOAT;
    } else if (accept_kw(p, "DOUBLE")) {
        t->kind = RILL_SQL_T_DOUBLE;
        accept_kw(p, "PRECISION");
    } else if (accept_kw(p, "DECIMAL") || accept_kw(p, "DEC") || accept_kw(p, "NUMERIC")) {
        t->kind = RILL_SQL_T_DECIMAL;
        t->precision = 10;
        if (accept_op(p, "(")) {
            rill__sql_pos pp = cur(p)->pos;
            if (!parse_int(p, INT_MAX, &t->precision))
                return NULL;
            if (t->precision < 1 || t->precision > 38)
                return fail_at(p, pp,
                               "Decimal precision must be between 1 and 38 (both "
                               "inclusive), not %d",
                               t->precision);
            t->precision_given = true;
            if (accept_op(p, ",")) {
                pp = cur(p)->pos;
                if (!parse_int(p, INT_MAX, &t->scale))
                    return NULL;
                if (t->scale > t->precision)
                    return fail_at(p, pp,
                                   "Decimal scale must be between 0 and the precision "
                                   "%d (both inclusive), not %d",
                                   t->precision, t->scale);
                t->scale_given = true;
            }
            if (!expect_op(p, ")"))
                return NULL;
        }
    } else if (accept_kw(p, "CHAR") || accept_kw(p, "CHARACTER")) {
        t->kind = RILL_SQL_T_CHAR;
        t->precision = 1;
        if (accept_kw(p, "VARYING")) {
            t->kind = RILL_SQL_T_VARCHAR;
            t->precision = INT_MAX;
        }
        ok = type_param(p, t, "Character string length", 1, INT_MAX);
    } else if (accept_kw(p, "VARCHAR")) {
        /* Flink's SQL type system makes VARCHAR alone VARCHAR(2147483647), STRING (its
         * FlinkTypeSystem's default precision): Nexmark's DDL relies on it */
        t->kind = RILL_SQL_T_VARCHAR;
        t->precision = INT_MAX;
        ok = type_param(p, t, "Character string length", 1, INT_MAX);
    } else if (accept_kw(p, "STRING")) {
        t->kind = RILL_SQL_T_VARCHAR;
        t->precision = INT_MAX;
        t->is_string = true;
    } else if (accept_kw(p, "BINARY")) {
        t->kind = RILL_SQL_T_BINARY;
        t->precision = 1;
        ok = type_param(p, t, "Binary string length", 1, INT_MAX);
    } else if (accept_kw(p, "VARBINARY")) {
        t->kind = RILL_SQL_T_VARBINARY;
        t->precision = INT_MAX; /* as VARCHAR: BYTES */
        ok = type_param(p, t, "Binary string length", 1, INT_MAX);
    } else if (accept_kw(p, "BYTES")) {
        t->kind = RILL_SQL_T_VARBINARY;
        t->precision = INT_MAX;
        t->is_string = true;
    } else if (accept_kw(p, "DATE")) {
        t->kind = RILL_SQL_T_DATE;
    } else if (accept_kw(p, "TIME")) {
        t->kind = RILL_SQL_T_TIME;
        ok = type_param(p, t, "Time precision", 0, 9);
        if (ok && accept_kw(p, "WITHOUT"))
            ok = expect_kw(p, "TIME") && expect_kw(p, "ZONE");
    } else if (accept_kw(p, "TIMESTAMP")) {
        t->kind = RILL_SQL_T_TIMESTAMP;
        t->precision = 6;
        ok = type_param(p, t, "Timestamp precision", 0, 9);
        if (ok && accept_kw(p, "WITHOUT")) {
            ok = expect_kw(p, "TIME") && expect_kw(p, "ZONE");
        } else if (ok && accept_kw(p, "WITH")) {
            ok = expect_kw(p, "LOCAL") && expect_kw(p, "TIME") && expect_kw(p, "ZONE");
            t->kind = RILL_SQL_T_TIMESTAMP_LTZ;
            t->ltz_words = true;
        }
    } else if (accept_kw(p, "TIMESTAMP_LTZ")) {
        t->kind = RILL_SQL_T_TIMESTAMP_LTZ;
        t->precision = 6;
        ok = type_param(p, t, "Timestamp precision", 0, 9);
    } else if (accept_kw(p, "INTERVAL")) {
        t->kind = RILL_SQL_T_INTERVAL;
        ok = parse_interval_q(p, &t->interval);
    } else if (accept_kw(p, "ROW")) {
        t->kind = RILL_SQL_T_ROW;
        if (accept_op(p, "<")) {
            ok = parse_fields(p, t, ">");
        } else if (accept_op(p, "(")) {
            t->row_parens = true;
            ok = parse_fields(p, t, ")");
        } else {
            ok = fail_expect(p, "\"<\", \"(\"") != NULL;
        }
    } else if (accept_kw(p, "ARRAY") || accept_kw(p, "MULTISET")) {
        t->kind = rill__sql_is(w, "ARRAY") ? RILL_SQL_T_ARRAY : RILL_SQL_T_MULTISET;
        ok = expect_op(p, "<") && (t->element = parse_type(p)) && expect_op(p, ">");
    } else if (accept_kw(p, "MAP")) {
        t->kind = RILL_SQL_T_MAP;
        ok = expect_op(p, "<") && (t->element = parse_type(p)) && expect_op(p, ",") &&
             (t->value = parse_type(p)) && expect_op(p, ">");
    } else if (rill__sql_is(w, "RAW")) {
        ok = fail_at(p, w->pos, "RAW types are not supported") != NULL;
    } else {
        ok = fail_at(p, w->pos, "Unknown type '%.*s'", (int)w->len, w->text) != NULL;
        if (!ok)
            err_append(p->err, "Was expecting " TYPE_NAMES);
    }
    if (!ok)
        return NULL;
    /* t ARRAY, t MULTISET (Calcite's postfix collections) */
    while ((is_kw(p, "ARRAY") || is_kw(p, "MULTISET")) && !rill__sql_is_op(ahead(p, 1), "<")) {
        rill__sql_type *c = alloc(p, sizeof *c);
        c->kind = is_kw(p, "ARRAY") ? RILL_SQL_T_ARRAY : RILL_SQL_T_MULTISET;
        c->pos = t->pos;
        c->element = t;
        p->i++;
        t = c;
    }
    if (is_kw(p, "NOT") && rill__sql_is(ahead(p, 1), "NULL")) {
        p->i += 2;
        t->not_null = true;
    } else {
        accept_kw(p, "NULL");
    }
    p->depth--;
    return t;
}

/* ---- expressions --------------------------------------------------------------------------- */

static rill__sql_expr *parse_expr(parser *p);
static rill__sql_expr *parse_add(parser *p);
static rill__sql_query *parse_query(parser *p);
static rill__sql_window *parse_window_spec(parser *p);

static bool starts_query(const rill__sql_token *t)
{
    return rill__sql_is(t, "SELECT") || rill__sql_is(t, "WITH") || rill__sql_is(t, "VALUES");
}

static bool parse_expr_list(parser *p, rill__sql_expr ***out, size_t *n)
{
    do {
        rill__sql_expr *e = parse_expr(p);
        if (!e)
            return false;
        PUSH(p, *out, *n, e);
    } while (accept_op(p, ","));
    return true;
}

static bool parse_order_list(parser *p, rill__sql_order **out, size_t *n)
{
    do {
        rill__sql_order o = {0};
        if (!(o.expr = parse_expr(p)))
            return false;
        if (accept_kw(p, "DESC"))
            o.desc = true;
        else
            accept_kw(p, "ASC");
        if (accept_kw(p, "NULLS")) {
            if (accept_kw(p, "FIRST"))
                o.nulls = 1;
            else if (accept_kw(p, "LAST"))
                o.nulls = 2;
            else
                return fail_expect(p, "\"FIRST\", \"LAST\"") != NULL;
        }
        PUSH(p, *out, *n, o);
    } while (accept_op(p, ","));
    return true;
}

static rill__sql_expr *literal(parser *p, rill__sql_lit_kind kind, const char *text, size_t len,
                               rill__sql_pos pos)
{
    rill__sql_expr *e = new_expr(p, RILL_SQL_E_LITERAL, pos);
    e->u.lit.kind = kind;
    e->u.lit.text = text;
    e->u.lit.len = len;
    return e;
}

/* TABLE t [PARTITION BY k | PARTITION BY (k, ...)], a table function's table argument */
static rill__sql_expr *parse_table_arg(parser *p)
{
    rill__sql_expr *a = new_expr(p, RILL_SQL_E_TABLE_ARG, cur(p)->pos);
    p->i++; /* TABLE */
    if (!parse_name(p, &a->u.table_arg.table))
        return NULL;
    if (accept_kw(p, "PARTITION")) {
        if (!expect_kw(p, "BY"))
            return NULL;
        bool paren = accept_op(p, "(");
        do {
            rill__sql_expr *k = new_expr(p, RILL_SQL_E_IDENT, cur(p)->pos);
            if (!parse_name(p, &k->u.name))
                return NULL;
            PUSH(p, a->u.table_arg.partition, a->u.table_arg.n_partition, k);
        } while (paren && accept_op(p, ","));
        if (paren && !expect_op(p, ")"))
            return NULL;
    }
    return a;
}

/* '(' [DISTINCT|ALL] args ')' [FILTER (WHERE c)] [OVER w | OVER (spec)] after a name */
static rill__sql_expr *parse_call_rest(parser *p, rill__sql_expr *e)
{
    rill__sql_call *c = &e->u.call;
    if (!expect_op(p, "("))
        return NULL;
    if (accept_kw(p, "DISTINCT"))
        c->quantifier = 1;
    else if (accept_kw(p, "ALL"))
        c->quantifier = 2;
    if (is_op(p, "*") && rill__sql_is_op(ahead(p, 1), ")")) {
        PUSH(p, c->args, c->n_args, new_expr(p, RILL_SQL_E_STAR, cur(p)->pos));
        p->i++;
    } else if (!is_op(p, ")")) {
        do {
            rill__sql_expr *a;
            rill__sql_pos pos = cur(p)->pos;
            if (is_kw(p, "TABLE")) {
                if (!(a = parse_table_arg(p)))
                    return NULL;
            } else if ((cur(p)->kind == RILL_SQL_WORD || cur(p)->kind == RILL_SQL_QUOTED) &&
                       rill__sql_is_op(ahead(p, 1), "=>")) {
                /* a parameter's name: a reserved word too (OFFSET => ...), as nothing else
                 * can stand before => */
                a = new_expr(p, RILL_SQL_E_NAMED_ARG, pos);
                if (cur(p)->kind == RILL_SQL_WORD) {
                    a->u.named.name =
                        (rill__sql_ident){strndup_a(p, cur(p)->text, cur(p)->len), false, pos};
                    p->i++;
                } else if (!parse_ident(p, &a->u.named.name)) {
                    return NULL;
                }
                p->i++;
                if (!(a->u.named.value = is_kw(p, "TABLE") ? parse_table_arg(p) : parse_expr(p)))
                    return NULL;
            } else if (!(a = parse_expr(p))) {
                return NULL;
            }
            PUSH(p, c->args, c->n_args, a);
        } while (accept_op(p, ","));
    }
    if (!expect_op(p, ")"))
        return NULL;
    if (accept_kw(p, "FILTER")) {
        if (!expect_op(p, "(") || !expect_kw(p, "WHERE") || !(c->filter = parse_expr(p)) ||
            !expect_op(p, ")"))
            return NULL;
    }
    if (accept_kw(p, "OVER")) {
        c->over = true;
        if (is_op(p, "(")) {
            if (!(c->window = parse_window_spec(p)))
                return NULL;
        } else {
            c->over_name = alloc(p, sizeof *c->over_name);
            if (!parse_ident(p, c->over_name))
                return NULL;
        }
    }
    return e;
}

static rill__sql_expr *new_call(parser *p, const char *name, rill__sql_pos pos,
                                rill__sql_call_form form)
{
    rill__sql_expr *e = new_expr(p, RILL_SQL_E_CALL, pos);
    rill__sql_ident id = {strndup_a(p, name, strlen(name)), false, pos};
    e->u.call.name.pos = pos;
    PUSH(p, e->u.call.name.parts, e->u.call.name.n_parts, id);
    e->u.call.form = form;
    return e;
}

static bool push_arg(parser *p, rill__sql_expr *e, rill__sql_expr *a)
{
    if (!a)
        return false;
    PUSH(p, e->u.call.args, e->u.call.n_args, a);
    return true;
}

#define ALL_UNITS                                                                                  \
    "YEAR, QUARTER, MONTH, WEEK, DAY, HOUR, MINUTE, SECOND, MILLISECOND, "                         \
    "MICROSECOND, NANOSECOND, DOW, DOY, EPOCH, DECADE, CENTURY, MILLENNIUM"

/* The functions with keywords among their arguments: EXTRACT, POSITION, TRIM, SUBSTRING,
 * OVERLAY, CEIL/FLOOR TO, TIMESTAMPADD/TIMESTAMPDIFF; NULL when it is none of them (*matched
 * false). */
static rill__sql_expr *parse_special_call(parser *p, bool *matched)
{
    rill__sql_token *t = cur(p);
    rill__sql_pos pos = t->pos;
    *matched = true;
    rill__sql_expr *e;
    if (rill__sql_is(t, "EXTRACT")) {
        p->i += 2;
        e = new_call(p, "EXTRACT", pos, RILL_SQL_C_EXTRACT);
        if (!(e->u.call.unit = parse_unit(p, RILL_SQL_UNIT_ISOYEAR, ALL_UNITS)) ||
            !expect_kw(p, "FROM") || !push_arg(p, e, parse_expr(p)))
            return NULL;
    } else if (rill__sql_is(t, "POSITION")) {
        p->i += 2;
        e = new_call(p, "POSITION", pos, RILL_SQL_C_POSITION);
        if (!push_arg(p, e, parse_add(p)) || !expect_kw(p, "IN") || !push_arg(p, e, parse_expr(p)))
            return NULL;
    } else if (rill__sql_is(t, "TRIM")) {
        p->i += 2;
        e = new_call(p, "TRIM", pos, RILL_SQL_C_TRIM);
        rill__sql_call *c = &e->u.call;
        if (accept_kw(p, "BOTH"))
            c->trim = RILL_SQL_TRIM_BOTH;
        else if (accept_kw(p, "LEADING"))
            c->trim = RILL_SQL_TRIM_LEADING;
        else if (accept_kw(p, "TRAILING"))
            c->trim = RILL_SQL_TRIM_TRAILING;
        rill__sql_expr *chars = NULL;
        if (!is_kw(p, "FROM")) {
            if (!(chars = parse_expr(p)))
                return NULL;
        }
        if (accept_kw(p, "FROM")) {
            if (!push_arg(p, e, parse_expr(p)))
                return NULL;
            if (chars)
                push_arg(p, e, chars);
        } else if (c->trim) {
            return fail_expect(p, "\"FROM\"");
        } else {
            push_arg(p, e, chars); /* TRIM(x) */
        }
    } else if (rill__sql_is(t, "SUBSTRING")) {
        p->i += 2;
        e = new_call(p, "SUBSTRING", pos, RILL_SQL_C_SUBSTRING);
        if (!push_arg(p, e, parse_expr(p)))
            return NULL;
        if (accept_op(p, ",")) { /* SUBSTRING(x, a[, b]) */
            e->u.call.form = RILL_SQL_C_PLAIN;
            if (!push_arg(p, e, parse_expr(p)))
                return NULL;
            if (accept_op(p, ",") && !push_arg(p, e, parse_expr(p)))
                return NULL;
        } else {
            if (!expect_kw(p, "FROM") || !push_arg(p, e, parse_expr(p)))
                return NULL;
            if (accept_kw(p, "FOR") && !push_arg(p, e, parse_expr(p)))
                return NULL;
        }
    } else if (rill__sql_is(t, "OVERLAY")) {
        p->i += 2;
        e = new_call(p, "OVERLAY", pos, RILL_SQL_C_OVERLAY);
        if (!push_arg(p, e, parse_expr(p)) || !expect_kw(p, "PLACING") ||
            !push_arg(p, e, parse_expr(p)) || !expect_kw(p, "FROM") ||
            !push_arg(p, e, parse_expr(p)))
            return NULL;
        if (accept_kw(p, "FOR") && !push_arg(p, e, parse_expr(p)))
            return NULL;
    } else if (rill__sql_is(t, "CEIL") || rill__sql_is(t, "CEILING") || rill__sql_is(t, "FLOOR")) {
        p->i += 2;
        e = new_call(p, rill__sql_is(t, "FLOOR") ? "FLOOR" : "CEIL", pos, RILL_SQL_C_PLAIN);
        if (!push_arg(p, e, parse_expr(p)))
            return NULL;
        if (accept_kw(p, "TO")) {
            e->u.call.form = RILL_SQL_C_CEIL_TO;
            if (!(e->u.call.unit = parse_unit(p, RILL_SQL_UNIT_ISOYEAR, ALL_UNITS)))
                return NULL;
        }
    } else if (rill__sql_is(t, "TIMESTAMPADD") || rill__sql_is(t, "TIMESTAMPDIFF")) {
        p->i += 2;
        e = new_call(p, rill__sql_is(t, "TIMESTAMPADD") ? "TIMESTAMPADD" : "TIMESTAMPDIFF", pos,
                     RILL_SQL_C_PLAIN);
        if (!(e->u.call.unit = parse_unit(p, RILL_SQL_UNIT_NANOSECOND, ALL_UNITS)) ||
            !expect_op(p, ",") || !push_arg(p, e, parse_expr(p)) || !expect_op(p, ",") ||
            !push_arg(p, e, parse_expr(p)))
            return NULL;
    } else {
        *matched = false;
        return NULL;
    }
    if (!expect_op(p, ")"))
        return NULL;
    return e;
}

static bool is_special_call(parser *p)
{
    static const char names[] = " EXTRACT POSITION TRIM SUBSTRING OVERLAY CEIL CEILING FLOOR "
                                "TIMESTAMPADD TIMESTAMPDIFF ";
    return cur(p)->kind == RILL_SQL_WORD && word_in(cur(p)->text, cur(p)->len, names) &&
           rill__sql_is_op(ahead(p, 1), "(");
}

/* INTERVAL [+|-] 'text' qualifier, after INTERVAL */
static rill__sql_expr *parse_interval_lit(parser *p, rill__sql_pos pos)
{
    rill__sql_expr *e = new_expr(p, RILL_SQL_E_INTERVAL, pos);
    e->u.interval.sign = 1;
    if (accept_op(p, "-"))
        e->u.interval.sign = -1;
    else
        accept_op(p, "+");
    if (cur(p)->kind != RILL_SQL_STRING)
        return fail_expect(p, "a string literal (INTERVAL '1' DAY)");
    if (!(e->u.interval.text = unquote(p, cur(p), NULL)))
        return NULL;
    p->i++;
    if (!parse_interval_q(p, &e->u.interval.q))
        return NULL;
    return e;
}

static rill__sql_expr *parse_case(parser *p, rill__sql_pos pos)
{
    rill__sql_expr *e = new_expr(p, RILL_SQL_E_CASE, pos);
    if (!is_kw(p, "WHEN") && !(e->u.kase.operand = parse_expr(p)))
        return NULL;
    if (!is_kw(p, "WHEN"))
        return fail_expect(p, "\"WHEN\"");
    while (accept_kw(p, "WHEN")) {
        rill__sql_when w;
        if (!(w.when = parse_expr(p)) || !expect_kw(p, "THEN") || !(w.then = parse_expr(p)))
            return NULL;
        PUSH(p, e->u.kase.whens, e->u.kase.n_whens, w);
    }
    if (accept_kw(p, "ELSE") && !(e->u.kase.else_ = parse_expr(p)))
        return NULL;
    if (!is_kw(p, "END"))
        return fail_expect(p, "\"WHEN\", \"ELSE\", \"END\"");
    p->i++;
    return e;
}

static rill__sql_expr *parse_primary(parser *p)
{
    rill__sql_token *t = cur(p);
    rill__sql_pos pos = t->pos;
    switch (t->kind) {
    case RILL_SQL_INTEGER:
    case RILL_SQL_DECIMAL:
    case RILL_SQL_APPROX:
        p->i++;
        return literal(p,
                       t->kind == RILL_SQL_INTEGER   ? RILL_SQL_L_INTEGER
                       : t->kind == RILL_SQL_DECIMAL ? RILL_SQL_L_DECIMAL
                                                     : RILL_SQL_L_APPROX,
                       strndup_a(p, t->text, t->len), t->len, pos);
    case RILL_SQL_STRING: {
        size_t len;
        char *s = string_lit(p, &len);
        return s ? literal(p, RILL_SQL_L_STRING, s, len, pos) : NULL;
    }
    case RILL_SQL_BINARY:
        p->i++;
        return literal(p, RILL_SQL_L_BINARY, strndup_a(p, t->text + 2, t->len - 3), t->len - 3,
                       pos);
    case RILL_SQL_OP:
        if (rill__sql_is_op(t, "(")) {
            p->i++;
            if (starts_query(cur(p))) {
                rill__sql_expr *e = new_expr(p, RILL_SQL_E_SUBQUERY, pos);
                if (!(e->u.query = parse_query(p)) || !expect_op(p, ")"))
                    return NULL;
                return e;
            }
            rill__sql_expr *e = parse_expr(p);
            if (!e)
                return NULL;
            if (is_op(p, ",")) {
                rill__sql_expr *r = new_expr(p, RILL_SQL_E_ROW, pos);
                PUSH(p, r->u.list.items, r->u.list.n_items, e);
                p->i++;
                if (!parse_expr_list(p, &r->u.list.items, &r->u.list.n_items))
                    return NULL;
                e = r;
            }
            if (!expect_op(p, ")"))
                return NULL;
            return e;
        }
        return fail_expect(p, "an expression");
    case RILL_SQL_WORD:
        break;
    case RILL_SQL_QUOTED:
        goto name;
    default:
        return fail_expect(p, "an expression");
    }
    /* words */
    if (accept_kw(p, "NULL"))
        return literal(p, RILL_SQL_L_NULL, NULL, 0, pos);
    if (accept_kw(p, "TRUE"))
        return literal(p, RILL_SQL_L_TRUE, NULL, 0, pos);
    if (accept_kw(p, "FALSE"))
        return literal(p, RILL_SQL_L_FALSE, NULL, 0, pos);
    if (accept_kw(p, "UNKNOWN"))
        return literal(p, RILL_SQL_L_UNKNOWN, NULL, 0, pos);
    if ((rill__sql_is(t, "DATE") || rill__sql_is(t, "TIME") || rill__sql_is(t, "TIMESTAMP")) &&
        ahead(p, 1)->kind == RILL_SQL_STRING) {
        rill__sql_lit_kind k = rill__sql_is(t, "DATE")   ? RILL_SQL_L_DATE
                               : rill__sql_is(t, "TIME") ? RILL_SQL_L_TIME
                                                         : RILL_SQL_L_TIMESTAMP;
        p->i++;
        size_t len;
        char *s = unquote(p, cur(p), &len);
        if (!s)
            return NULL;
        p->i++;
        return literal(p, k, s, len, pos);
    }
    if (accept_kw(p, "INTERVAL"))
        return parse_interval_lit(p, pos);
    if (accept_kw(p, "CASE"))
        return parse_case(p, pos);
    if ((rill__sql_is(t, "CAST") || rill__sql_is(t, "TRY_CAST")) &&
        rill__sql_is_op(ahead(p, 1), "(")) {
        rill__sql_expr *e = new_expr(p, RILL_SQL_E_CAST, pos);
        e->u.cast.try_cast = rill__sql_is(t, "TRY_CAST");
        p->i += 2;
        if (!(e->u.cast.arg = parse_expr(p)) || !expect_kw(p, "AS") ||
            !(e->u.cast.type = parse_type(p)) || !expect_op(p, ")"))
            return NULL;
        return e;
    }
    if (accept_kw(p, "EXISTS")) {
        rill__sql_expr *e = new_expr(p, RILL_SQL_E_EXISTS, pos);
        if (!expect_op(p, "(") || !(e->u.query = parse_query(p)) || !expect_op(p, ")"))
            return NULL;
        return e;
    }
    if (rill__sql_is(t, "ROW") && rill__sql_is_op(ahead(p, 1), "(")) {
        p->i += 2;
        rill__sql_expr *e = new_expr(p, RILL_SQL_E_ROW, pos);
        e->u.list.explicit_row = true;
        if (!is_op(p, ")") && !parse_expr_list(p, &e->u.list.items, &e->u.list.n_items))
            return NULL;
        return expect_op(p, ")") ? e : NULL;
    }
    if ((rill__sql_is(t, "ARRAY") || rill__sql_is(t, "MAP")) && rill__sql_is_op(ahead(p, 1), "[")) {
        p->i += 2;
        rill__sql_expr *e =
            new_expr(p, rill__sql_is(t, "ARRAY") ? RILL_SQL_E_ARRAY : RILL_SQL_E_MAP, pos);
        if (!is_op(p, "]") && !parse_expr_list(p, &e->u.list.items, &e->u.list.n_items))
            return NULL;
        if (!expect_op(p, "]"))
            return NULL;
        if (e->kind == RILL_SQL_E_MAP && e->u.list.n_items % 2)
            return fail_at(p, pos,
                           "MAP[...] takes keys and values in pairs (it has %zu "
                           "items)",
                           e->u.list.n_items);
        return e;
    }
    if (word_in(t->text, t->len, NILADIC) && !rill__sql_is_op(ahead(p, 1), "(")) {
        p->i++;
        rill__sql_expr *e = new_call(p, "", pos, RILL_SQL_C_NILADIC);
        e->u.call.name.parts[0].text = strndup_a(p, t->text, t->len);
        return e;
    }
    if (is_special_call(p)) {
        bool matched;
        return parse_special_call(p, &matched);
    }
    if (tok_reserved(t) && rill__sql_is_op(ahead(p, 1), "(") &&
        word_in(t->text, t->len, RESERVED_FUNCTIONS)) {
        rill__sql_expr *e = new_expr(p, RILL_SQL_E_CALL, pos);
        rill__sql_ident id = {strndup_a(p, t->text, t->len), false, pos};
        e->u.call.name.pos = pos;
        PUSH(p, e->u.call.name.parts, e->u.call.name.n_parts, id);
        p->i++;
        return parse_call_rest(p, e);
    }
name:
    if (!ident_tok(t)) {
        if (tok_reserved(t)) {
            fail_at(p, t->pos, "Incorrect syntax near the keyword '%.*s'", (int)t->len, t->text);
            err_append(p->err, "Was expecting an expression (a name that is a reserved keyword "
                               "is written back-quoted)");
            return NULL;
        }
        return fail_expect(p, "an expression");
    }
    rill__sql_name name = {0};
    name.pos = pos;
    for (;;) {
        rill__sql_ident id;
        if (!parse_ident(p, &id))
            return NULL;
        PUSH(p, name.parts, name.n_parts, id);
        if (!is_op(p, "."))
            break;
        if (rill__sql_is_op(ahead(p, 1), "*")) {
            p->i += 2;
            rill__sql_expr *e = new_expr(p, RILL_SQL_E_STAR, pos);
            e->u.star.qualifier = name;
            return e;
        }
        p->i++;
    }
    if (is_op(p, "(")) {
        rill__sql_expr *e = new_expr(p, RILL_SQL_E_CALL, pos);
        e->u.call.name = name;
        return parse_call_rest(p, e);
    }
    rill__sql_expr *e = new_expr(p, RILL_SQL_E_IDENT, pos);
    e->u.name = name;
    return e;
}

static rill__sql_expr *parse_postfix(parser *p)
{
    rill__sql_expr *e = parse_primary(p);
    while (e) {
        rill__sql_pos pos = cur(p)->pos;
        if (accept_op(p, "[")) {
            rill__sql_expr *it = new_expr(p, RILL_SQL_E_ITEM, e->pos);
            it->u.item.arg = e;
            if (!(it->u.item.index = parse_expr(p)) || !expect_op(p, "]"))
                return NULL;
            e = it;
        } else if (is_op(p, ".") && e->kind != RILL_SQL_E_STAR) {
            p->i++;
            rill__sql_expr *f = new_expr(p, RILL_SQL_E_FIELD, e->pos);
            f->u.field.arg = e;
            if (!parse_ident(p, &f->u.field.field))
                return NULL;
            e = f;
        } else {
            break;
        }
        (void)pos;
    }
    return e;
}

static rill__sql_expr *unary(parser *p, rill__sql_op op, rill__sql_pos pos, rill__sql_expr *arg)
{
    if (!arg)
        return NULL;
    rill__sql_expr *e = new_expr(p, RILL_SQL_E_UNARY, pos);
    e->u.unary.op = op;
    e->u.unary.arg = arg;
    return e;
}

static rill__sql_expr *binary(parser *p, rill__sql_op op, rill__sql_expr *l, rill__sql_expr *r)
{
    if (!l || !r)
        return NULL;
    rill__sql_expr *e = new_expr(p, RILL_SQL_E_BINARY, l->pos);
    e->u.binary.op = op;
    e->u.binary.left = l;
    e->u.binary.right = r;
    return e;
}

static rill__sql_expr *parse_unary(parser *p)
{
    rill__sql_pos pos = cur(p)->pos;
    if (is_op(p, "-") || is_op(p, "+")) {
        rill__sql_op op = is_op(p, "-") ? RILL_SQL_OP_NEG : RILL_SQL_OP_POS;
        p->i++;
        if (!enter(p))
            return NULL;
        rill__sql_expr *e = unary(p, op, pos, parse_unary(p));
        p->depth--;
        return e;
    }
    return parse_postfix(p);
}

/* * / % || (Calcite ranks || with the multiplicative operators) */
static rill__sql_expr *parse_mul(parser *p)
{
    rill__sql_expr *l = parse_unary(p);
    for (;;) {
        rill__sql_op op;
        if (is_op(p, "*"))
            op = RILL_SQL_OP_MUL;
        else if (is_op(p, "/"))
            op = RILL_SQL_OP_DIV;
        else if (is_op(p, "%"))
            op = RILL_SQL_OP_MOD;
        else if (is_op(p, "||"))
            op = RILL_SQL_OP_CONCAT;
        else
            return l;
        if (!l)
            return NULL;
        p->i++;
        l = binary(p, op, l, parse_unary(p));
    }
}

static rill__sql_expr *parse_add(parser *p)
{
    rill__sql_expr *l = parse_mul(p);
    while (l && (is_op(p, "+") || is_op(p, "-"))) {
        rill__sql_op op = is_op(p, "+") ? RILL_SQL_OP_PLUS : RILL_SQL_OP_MINUS;
        p->i++;
        l = binary(p, op, l, parse_mul(p));
    }
    return l;
}

/* [NOT] BETWEEN, [NOT] IN, [NOT] LIKE, [NOT] SIMILAR TO applied to l; l itself (*matched
 * false) when none follows. */
static rill__sql_expr *like_suffix(parser *p, rill__sql_expr *l, bool *matched)
{
    rill__sql_pos pos = l->pos;
    *matched = true;
    bool neg = false;
    if (is_kw(p, "NOT")) {
        rill__sql_token *n = ahead(p, 1);
        if (!rill__sql_is(n, "BETWEEN") && !rill__sql_is(n, "IN") && !rill__sql_is(n, "LIKE") &&
            !rill__sql_is(n, "SIMILAR")) {
            *matched = false;
            return l;
        }
        p->i++;
        neg = true;
    }
    if (accept_kw(p, "BETWEEN")) {
        rill__sql_expr *e = new_expr(p, RILL_SQL_E_BETWEEN, pos);
        e->u.between.arg = l;
        e->u.between.negated = neg;
        if (accept_kw(p, "ASYMMETRIC"))
            e->u.between.symmetry = 1;
        else if (accept_kw(p, "SYMMETRIC"))
            e->u.between.symmetry = 2;
        if (!(e->u.between.lo = parse_add(p)) || !expect_kw(p, "AND") ||
            !(e->u.between.hi = parse_add(p)))
            return NULL;
        return e;
    } else if (accept_kw(p, "IN")) {
        rill__sql_expr *e = new_expr(p, RILL_SQL_E_IN, pos);
        e->u.in.arg = l;
        e->u.in.negated = neg;
        if (!expect_op(p, "("))
            return NULL;
        if (starts_query(cur(p))) {
            if (!(e->u.in.query = parse_query(p)))
                return NULL;
        } else if (!parse_expr_list(p, &e->u.in.list, &e->u.in.n_list)) {
            return NULL;
        }
        if (!expect_op(p, ")"))
            return NULL;
        return e;
    } else if (is_kw(p, "LIKE") || is_kw(p, "SIMILAR")) {
        rill__sql_expr *e = new_expr(p, RILL_SQL_E_LIKE, pos);
        e->u.like.arg = l;
        e->u.like.negated = neg;
        e->u.like.similar = accept_kw(p, "SIMILAR");
        if (e->u.like.similar ? !expect_kw(p, "TO") : !expect_kw(p, "LIKE"))
            return NULL;
        if (!(e->u.like.pattern = parse_add(p)))
            return NULL;
        if (accept_kw(p, "ESCAPE") && !(e->u.like.escape = parse_add(p)))
            return NULL;
        return e;
    } else {
        *matched = false;
        return l;
    }
}

/* BETWEEN, IN, LIKE, SIMILAR TO: Calcite ranks them above the comparisons (a = b LIKE c is
 * a = (b LIKE c)) */
static rill__sql_expr *parse_like(parser *p)
{
    rill__sql_expr *l = parse_add(p);
    bool matched = true;
    while (l && matched)
        l = like_suffix(p, l, &matched);
    return l;
}

/* comparisons and IS ...: a = b IS NULL is (a = b) IS NULL */
static rill__sql_expr *parse_pred(parser *p)
{
    rill__sql_expr *l = parse_like(p);
    while (l) {
        static const struct {
            const char *op;
            rill__sql_op code;
        } cmp[] = {{"=", RILL_SQL_OP_EQ}, {"<>", RILL_SQL_OP_NE}, {"!=", RILL_SQL_OP_NE},
                   {"<", RILL_SQL_OP_LT}, {"<=", RILL_SQL_OP_LE}, {">", RILL_SQL_OP_GT},
                   {">=", RILL_SQL_OP_GE}};
        int c = -1;
        for (int k = 0; k < 7; k++)
            if (is_op(p, cmp[k].op))
                c = k;
        if (c >= 0) {
            p->i++;
            l = binary(p, cmp[c].code, l, parse_like(p));
            continue;
        }
        rill__sql_pos pos = l->pos;
        if (accept_kw(p, "IS")) {
            bool neg = accept_kw(p, "NOT");
            if (accept_kw(p, "DISTINCT")) {
                if (!expect_kw(p, "FROM"))
                    return NULL;
                l = binary(p, neg ? RILL_SQL_OP_NOT_DISTINCT : RILL_SQL_OP_DISTINCT, l,
                           parse_like(p));
                continue;
            }
            rill__sql_expr *e = new_expr(p, RILL_SQL_E_IS, pos);
            e->u.is.arg = l;
            e->u.is.negated = neg;
            if (accept_kw(p, "NULL"))
                e->u.is.test = RILL_SQL_IS_NULL;
            else if (accept_kw(p, "TRUE"))
                e->u.is.test = RILL_SQL_IS_TRUE;
            else if (accept_kw(p, "FALSE"))
                e->u.is.test = RILL_SQL_IS_FALSE;
            else if (accept_kw(p, "UNKNOWN"))
                e->u.is.test = RILL_SQL_IS_UNKNOWN;
            else
                return fail_expect(p, "\"NULL\", \"TRUE\", \"FALSE\", \"UNKNOWN\", "
                                      "\"DISTINCT FROM\"");
            l = e;
            continue;
        }
        bool matched;
        l = like_suffix(p, l, &matched); /* (a = b) IS NULL LIKE c and the like */
        if (!matched)
            return l;
    }
    return l;
}

static rill__sql_expr *parse_not(parser *p)
{
    if (is_kw(p, "NOT")) {
        rill__sql_pos pos = cur(p)->pos;
        p->i++;
        if (!enter(p))
            return NULL;
        rill__sql_expr *e = unary(p, RILL_SQL_OP_NOT, pos, parse_not(p));
        p->depth--;
        return e;
    }
    return parse_pred(p);
}

static rill__sql_expr *parse_and(parser *p)
{
    rill__sql_expr *l = parse_not(p);
    while (l && accept_kw(p, "AND"))
        l = binary(p, RILL_SQL_OP_AND, l, parse_not(p));
    return l;
}

static rill__sql_expr *parse_expr(parser *p)
{
    if (!enter(p))
        return NULL;
    rill__sql_expr *l = parse_and(p);
    while (l && accept_kw(p, "OR"))
        l = binary(p, RILL_SQL_OP_OR, l, parse_and(p));
    p->depth--;
    return l;
}

/* ---- windows ------------------------------------------------------------------------------- */

static bool parse_bound(parser *p, rill__sql_bound *b)
{
    if (accept_kw(p, "UNBOUNDED")) {
        if (accept_kw(p, "PRECEDING"))
            b->kind = RILL_SQL_B_UNBOUNDED_PRECEDING;
        else if (accept_kw(p, "FOLLOWING"))
            b->kind = RILL_SQL_B_UNBOUNDED_FOLLOWING;
        else
            return fail_expect(p, "\"PRECEDING\", \"FOLLOWING\"") != NULL;
        return true;
    }
    if (is_kw(p, "CURRENT") && rill__sql_is(ahead(p, 1), "ROW")) {
        p->i += 2;
        b->kind = RILL_SQL_B_CURRENT_ROW;
        return true;
    }
    if (!(b->offset = parse_add(p)))
        return false;
    if (accept_kw(p, "PRECEDING"))
        b->kind = RILL_SQL_B_PRECEDING;
    else if (accept_kw(p, "FOLLOWING"))
        b->kind = RILL_SQL_B_FOLLOWING;
    else
        return fail_expect(p, "\"PRECEDING\", \"FOLLOWING\"") != NULL;
    return true;
}

/* '(' [base] [PARTITION BY ...] [ORDER BY ...] [ROWS|RANGE ...] ')' */
static rill__sql_window *parse_window_spec(parser *p)
{
    rill__sql_window *w = alloc(p, sizeof *w);
    w->pos = cur(p)->pos;
    if (!expect_op(p, "("))
        return NULL;
    if (ident_tok(cur(p)) && !is_kw(p, "PARTITION")) {
        w->base = alloc(p, sizeof *w->base);
        parse_ident(p, w->base);
    }
    if (accept_kw(p, "PARTITION")) {
        if (!expect_kw(p, "BY") || !parse_expr_list(p, &w->partition, &w->n_partition))
            return NULL;
    }
    if (accept_kw(p, "ORDER")) {
        if (!expect_kw(p, "BY") || !parse_order_list(p, &w->order, &w->n_order))
            return NULL;
    }
    if (is_kw(p, "ROWS") || is_kw(p, "RANGE")) {
        w->frame = is_kw(p, "ROWS") ? 1 : 2;
        p->i++;
        if (accept_kw(p, "BETWEEN")) {
            w->between = true;
            if (!parse_bound(p, &w->lo) || !expect_kw(p, "AND") || !parse_bound(p, &w->hi))
                return NULL;
        } else {
            if (!parse_bound(p, &w->lo))
                return NULL;
            w->hi.kind = RILL_SQL_B_CURRENT_ROW;
        }
    }
    if (!is_op(p, ")"))
        return fail_expect(p, w->frame ? "\")\""
                                       : "\"PARTITION BY\", \"ORDER BY\", \"ROWS\", "
                                         "\"RANGE\", \")\"");
    p->i++;
    return w;
}

/* ---- FROM ---------------------------------------------------------------------------------- */

static rill__sql_from *parse_from(parser *p);

static bool parse_alias(parser *p, rill__sql_from *f)
{
    bool as = accept_kw(p, "AS");
    if (!as && !ident_tok(cur(p)))
        return true;
    f->alias = alloc(p, sizeof *f->alias);
    if (!parse_ident(p, f->alias))
        return false;
    if (is_op(p, "(") && !parse_ident_list(p, &f->cols, &f->n_cols))
        return false;
    return true;
}

/* TABLE(f(...)) after TABLE or LATERAL TABLE */
static bool parse_table_function(parser *p, rill__sql_from *f)
{
    f->kind = RILL_SQL_F_FUNCTION;
    if (!expect_op(p, "("))
        return false;
    rill__sql_pos pos = cur(p)->pos;
    rill__sql_expr *c = parse_expr(p);
    if (!c)
        return false;
    if (c->kind != RILL_SQL_E_CALL)
        return fail_at(p, pos, "TABLE(...) takes a call of a table function") != NULL;
    f->u.call = c;
    return expect_op(p, ")");
}

/* Whether the '(' at the cursor opens a query (after more '(' perhaps). */
static bool paren_query(parser *p)
{
    size_t k = 0;
    while (rill__sql_is_op(ahead(p, k), "("))
        k++;
    return starts_query(ahead(p, k));
}

/* ---- MATCH_RECOGNIZE ----------------------------------------------------------------------- */

static rill__sql_pattern *parse_pattern_alt(parser *p);

/* var or ( pattern ), then a quantifier: * + ? {n} {n,} {n,m} {,m}, each reluctant with ? */
static rill__sql_pattern *parse_pattern_term(parser *p)
{
    rill__sql_pattern *t = alloc(p, sizeof *t);
    t->pos = cur(p)->pos;
    if (accept_op(p, "(")) {
        t->kind = RILL_SQL_P_GROUP;
        rill__sql_pattern *inner = parse_pattern_alt(p);
        if (!inner || !expect_op(p, ")"))
            return NULL;
        PUSH(p, t->items, t->n_items, inner);
    } else {
        t->kind = RILL_SQL_P_VAR;
        if (!ident_tok(cur(p)))
            return fail_expect(p, "a pattern variable, \"(\"");
        parse_ident(p, &t->var);
    }
    t->min = t->max = 1;
    if (is_op(p, "*") || is_op(p, "+") || is_op(p, "?")) {
        t->quant_op = *cur(p)->text;
        t->min = t->quant_op == '+' ? 1 : 0;
        t->max = t->quant_op == '?' ? 1 : -1;
        p->i++;
    } else if (is_op(p, "{")) {
        rill__sql_pos at = cur(p)->pos;
        p->i++;
        t->quant_op = '{';
        t->min = 0;
        bool lo = cur(p)->kind == RILL_SQL_INTEGER, hi = false;
        if (lo && !parse_int(p, INT_MAX, &t->min))
            return NULL;
        t->max = t->min;
        if (accept_op(p, ",")) {
            t->max = -1;
            hi = cur(p)->kind == RILL_SQL_INTEGER;
            if (hi && !parse_int(p, INT_MAX, &t->max))
                return NULL;
        }
        if (!lo && !hi)
            return fail_expect(p, "an integer");
        if (!expect_op(p, "}"))
            return NULL;
        if (t->max >= 0 && t->max < t->min)
            return fail_at(p, at, "a quantifier's upper bound %d is below its lower bound %d",
                           t->max, t->min);
    }
    if (t->quant_op) {
        t->quantified = true;
        t->reluctant = accept_op(p, "?");
    }
    return t;
}

static rill__sql_pattern *parse_pattern_seq(parser *p)
{
    rill__sql_pattern *s = alloc(p, sizeof *s);
    s->kind = RILL_SQL_P_SEQ;
    s->pos = cur(p)->pos;
    do {
        rill__sql_pattern *t = parse_pattern_term(p);
        if (!t)
            return NULL;
        PUSH(p, s->items, s->n_items, t);
    } while (!is_op(p, ")") && !is_op(p, "|"));
    return s->n_items == 1 ? s->items[0] : s;
}

static rill__sql_pattern *parse_pattern_alt(parser *p)
{
    if (!enter(p))
        return NULL;
    rill__sql_pattern *a = alloc(p, sizeof *a);
    a->kind = RILL_SQL_P_ALT;
    a->pos = cur(p)->pos;
    do {
        rill__sql_pattern *s = parse_pattern_seq(p);
        if (!s)
            return NULL;
        PUSH(p, a->items, a->n_items, s);
    } while (accept_op(p, "|"));
    p->depth--;
    return a->n_items == 1 ? a->items[0] : a;
}

/* ( [PARTITION BY] [ORDER BY] [MEASURES] [ONE ROW | ALL ROWS PER MATCH] [AFTER MATCH SKIP]
 *   PATTERN (...) [WITHIN interval] DEFINE ... ), after MATCH_RECOGNIZE */
static bool parse_match(parser *p, rill__sql_match *m)
{
    if (!expect_op(p, "("))
        return false;
    if (accept_kw(p, "PARTITION")) {
        if (!expect_kw(p, "BY") || !parse_expr_list(p, &m->partition, &m->n_partition))
            return false;
    }
    if (accept_kw(p, "ORDER")) {
        if (!expect_kw(p, "BY") || !parse_order_list(p, &m->order, &m->n_order))
            return false;
    }
    if (accept_kw(p, "MEASURES")) {
        do {
            rill__sql_measure ms;
            if (!(ms.expr = parse_expr(p)) || !expect_kw(p, "AS") || !parse_ident(p, &ms.alias))
                return false;
            PUSH(p, m->measures, m->n_measures, ms);
        } while (accept_op(p, ","));
    }
    if (accept_kw(p, "ONE")) {
        if (!expect_kw(p, "ROW") || !expect_kw(p, "PER") || !expect_kw(p, "MATCH"))
            return false;
        m->rows_per_match = 1;
    } else if (accept_kw(p, "ALL")) {
        if (!expect_kw(p, "ROWS") || !expect_kw(p, "PER") || !expect_kw(p, "MATCH"))
            return false;
        m->rows_per_match = 2;
    }
    if (accept_kw(p, "AFTER")) {
        if (!expect_kw(p, "MATCH") || !expect_kw(p, "SKIP"))
            return false;
        if (accept_kw(p, "PAST")) {
            if (!expect_kw(p, "LAST") || !expect_kw(p, "ROW"))
                return false;
            m->skip = RILL_SQL_SKIP_PAST_LAST_ROW;
        } else if (expect_kw(p, "TO")) {
            if (accept_kw(p, "NEXT")) {
                if (!expect_kw(p, "ROW"))
                    return false;
                m->skip = RILL_SQL_SKIP_TO_NEXT_ROW;
            } else {
                m->skip = RILL_SQL_SKIP_TO_LAST; /* TO var is TO LAST var */
                if (accept_kw(p, "FIRST"))
                    m->skip = RILL_SQL_SKIP_TO_FIRST;
                else
                    accept_kw(p, "LAST");
                if (!parse_ident(p, &m->skip_var))
                    return false;
            }
        } else {
            return false;
        }
    }
    if (!expect_kw(p, "PATTERN") || !expect_op(p, "(") || !(m->pattern = parse_pattern_alt(p)) ||
        !expect_op(p, ")"))
        return false;
    if (accept_kw(p, "WITHIN")) {
        rill__sql_pos at = cur(p)->pos;
        if (!(m->within = parse_add(p)))
            return false;
        if (m->within->kind != RILL_SQL_E_INTERVAL)
            return fail_at(p, at, "WITHIN takes an interval (WITHIN INTERVAL '1' HOUR)") != NULL;
    }
    if (is_kw(p, "SUBSET"))
        return fail_at(p, cur(p)->pos, "SUBSET is not supported (Flink has no SUBSET)") != NULL;
    if (!expect_kw(p, "DEFINE"))
        return false;
    do {
        rill__sql_define d;
        if (!parse_ident(p, &d.var) || !expect_kw(p, "AS") || !(d.cond = parse_expr(p)))
            return false;
        PUSH(p, m->defines, m->n_defines, d);
    } while (accept_op(p, ","));
    return expect_op(p, ")");
}

static rill__sql_from *parse_table_primary(parser *p)
{
    if (!enter(p))
        return NULL;
    rill__sql_from *f = alloc(p, sizeof *f);
    f->pos = cur(p)->pos;
    if (accept_kw(p, "LATERAL")) {
        f->lateral = true;
        if (accept_kw(p, "TABLE")) {
            if (!parse_table_function(p, f))
                return NULL;
        } else if (is_op(p, "(")) {
            p->i++;
            f->kind = RILL_SQL_F_QUERY;
            if (!(f->u.query = parse_query(p)) || !expect_op(p, ")"))
                return NULL;
        } else {
            return fail_expect(p, "\"TABLE\", \"(\"");
        }
    } else if (accept_kw(p, "TABLE")) {
        if (!parse_table_function(p, f))
            return NULL;
    } else if (accept_kw(p, "UNNEST")) {
        f->kind = RILL_SQL_F_UNNEST;
        if (!expect_op(p, "(") || !parse_expr_list(p, &f->u.unnest.args, &f->u.unnest.n_args) ||
            !expect_op(p, ")"))
            return NULL;
        if (is_kw(p, "WITH") && rill__sql_is(ahead(p, 1), "ORDINALITY")) {
            p->i += 2;
            f->u.unnest.ordinality = true;
        }
    } else if (is_op(p, "(")) {
        if (paren_query(p)) {
            p->i++;
            f->kind = RILL_SQL_F_QUERY;
            if (!(f->u.query = parse_query(p)) || !expect_op(p, ")"))
                return NULL;
        } else {
            p->i++;
            rill__sql_from *inner = parse_from(p);
            if (!inner || !expect_op(p, ")"))
                return NULL;
            p->depth--;
            return inner;
        }
    } else {
        f->kind = RILL_SQL_F_TABLE;
        if (!parse_name(p, &f->u.table.name) ||
            !parse_hints(p, &f->u.table.hints, &f->u.table.n_hints))
            return NULL;
        if (accept_kw(p, "FOR")) {
            if (!expect_kw(p, "SYSTEM_TIME") || !expect_kw(p, "AS") || !expect_kw(p, "OF") ||
                !(f->u.table.system_time = parse_add(p)))
                return NULL;
        }
    }
    if (is_kw(p, "MATCH_RECOGNIZE")) {
        rill__sql_from *m = alloc(p, sizeof *m);
        m->kind = RILL_SQL_F_MATCH;
        m->pos = cur(p)->pos;
        m->u.match.input = f;
        p->i++;
        if (!parse_match(p, &m->u.match.spec))
            return NULL;
        f = m;
    }
    if (!parse_alias(p, f))
        return NULL;
    p->depth--;
    return f;
}

static rill__sql_from *parse_from(parser *p)
{
    rill__sql_from *l = parse_table_primary(p);
    while (l) {
        rill__sql_pos pos = cur(p)->pos;
        rill__sql_join_kind kind;
        bool natural = accept_kw(p, "NATURAL");
        if (!natural && accept_op(p, ",")) {
            kind = RILL_SQL_J_COMMA;
        } else if (accept_kw(p, "JOIN")) {
            kind = RILL_SQL_J_INNER;
        } else if (accept_kw(p, "INNER")) {
            kind = RILL_SQL_J_INNER;
            if (!expect_kw(p, "JOIN"))
                return NULL;
        } else if (is_kw(p, "LEFT") || is_kw(p, "RIGHT") || is_kw(p, "FULL")) {
            kind = is_kw(p, "LEFT")    ? RILL_SQL_J_LEFT
                   : is_kw(p, "RIGHT") ? RILL_SQL_J_RIGHT
                                       : RILL_SQL_J_FULL;
            p->i++;
            accept_kw(p, "OUTER");
            if (!expect_kw(p, "JOIN"))
                return NULL;
        } else if (!natural && accept_kw(p, "CROSS")) {
            kind = RILL_SQL_J_CROSS;
            if (!expect_kw(p, "JOIN"))
                return NULL;
        } else if (natural) {
            return fail_expect(p, "\"JOIN\", \"INNER\", \"LEFT\", \"RIGHT\", \"FULL\"");
        } else {
            return l;
        }
        rill__sql_from *j = alloc(p, sizeof *j);
        j->kind = RILL_SQL_F_JOIN;
        j->pos = pos;
        j->u.join.kind = kind;
        j->u.join.natural = natural;
        j->u.join.left = l;
        if (!(j->u.join.right = parse_table_primary(p)))
            return NULL;
        if (kind != RILL_SQL_J_COMMA && kind != RILL_SQL_J_CROSS && !natural) {
            if (accept_kw(p, "ON")) {
                if (!(j->u.join.on = parse_expr(p)))
                    return NULL;
            } else if (accept_kw(p, "USING")) {
                if (!parse_ident_list(p, &j->u.join.using_, &j->u.join.n_using))
                    return NULL;
            } else {
                return fail_expect(p, "\"ON\", \"USING\"");
            }
        }
        l = j;
    }
    return NULL;
}

/* ---- queries ------------------------------------------------------------------------------- */

static rill__sql_group *parse_group_elem(parser *p);

static bool parse_group_list(parser *p, rill__sql_group ***out, size_t *n)
{
    do {
        rill__sql_group *g = parse_group_elem(p);
        if (!g)
            return false;
        PUSH(p, *out, *n, g);
    } while (accept_op(p, ","));
    return true;
}

static rill__sql_group *parse_group_elem(parser *p)
{
    if (!enter(p))
        return NULL;
    rill__sql_group *g = alloc(p, sizeof *g);
    g->pos = cur(p)->pos;
    if (is_op(p, "(") && rill__sql_is_op(ahead(p, 1), ")")) {
        p->i += 2;
        g->kind = RILL_SQL_G_EMPTY;
    } else if (is_kw(p, "GROUPING") && rill__sql_is(ahead(p, 1), "SETS")) {
        p->i += 2;
        g->kind = RILL_SQL_G_GROUPING_SETS;
    } else if ((is_kw(p, "ROLLUP") || is_kw(p, "CUBE")) && rill__sql_is_op(ahead(p, 1), "(")) {
        g->kind = is_kw(p, "ROLLUP") ? RILL_SQL_G_ROLLUP : RILL_SQL_G_CUBE;
        p->i++;
    } else {
        g->kind = RILL_SQL_G_EXPR;
        if (!(g->expr = parse_expr(p)))
            return NULL;
    }
    if (g->kind >= RILL_SQL_G_GROUPING_SETS) {
        if (!expect_op(p, "(") || !parse_group_list(p, &g->elems, &g->n_elems) ||
            !expect_op(p, ")"))
            return NULL;
    }
    p->depth--;
    return g;
}

static rill__sql_query *parse_select(parser *p)
{
    rill__sql_query *q = alloc(p, sizeof *q);
    q->kind = RILL_SQL_Q_SELECT;
    q->pos = cur(p)->pos;
    p->i++; /* SELECT */
    if (!parse_hints(p, &q->u.select.hints, &q->u.select.n_hints))
        return NULL;
    if (accept_kw(p, "DISTINCT"))
        q->u.select.quantifier = 1;
    else if (accept_kw(p, "ALL"))
        q->u.select.quantifier = 2;
    do {
        rill__sql_item it = {0};
        if (is_op(p, "*")) { /* * alone: a star stands nowhere else in an expression */
            it.expr = new_expr(p, RILL_SQL_E_STAR, cur(p)->pos);
            p->i++;
            PUSH(p, q->u.select.items, q->u.select.n_items, it);
            continue;
        }
        if (!(it.expr = parse_expr(p)))
            return NULL;
        bool as = accept_kw(p, "AS");
        if (as || ident_tok(cur(p))) {
            it.alias = alloc(p, sizeof *it.alias);
            if (!parse_ident(p, it.alias))
                return NULL;
        }
        PUSH(p, q->u.select.items, q->u.select.n_items, it);
    } while (accept_op(p, ","));
    if (accept_kw(p, "FROM") && !(q->u.select.from = parse_from(p)))
        return NULL;
    if (accept_kw(p, "WHERE") && !(q->u.select.where = parse_expr(p)))
        return NULL;
    if (accept_kw(p, "GROUP")) {
        if (!expect_kw(p, "BY"))
            return NULL;
        q->u.select.has_group_by = true;
        if (!parse_group_list(p, &q->u.select.group, &q->u.select.n_group))
            return NULL;
    }
    if (accept_kw(p, "HAVING") && !(q->u.select.having = parse_expr(p)))
        return NULL;
    if (accept_kw(p, "WINDOW")) {
        do {
            rill__sql_named_window w;
            if (!parse_ident(p, &w.name) || !expect_kw(p, "AS") || !(w.spec = parse_window_spec(p)))
                return NULL;
            PUSH(p, q->u.select.windows, q->u.select.n_windows, w);
        } while (accept_op(p, ","));
    }
    /* for "Was expecting" when what follows is wrong: the clauses that could still come */
    static const char *const clauses[] = {"\"WHERE\"", "\"GROUP BY\"", "\"HAVING\"", "\"WINDOW\""};
    bool given[] = {q->u.select.where != NULL, q->u.select.has_group_by, q->u.select.having != NULL,
                    q->u.select.n_windows > 0};
    int last = -1;
    for (int k = 0; k < 4; k++)
        if (given[k])
            last = k;
    p->follow[0] = '\0';
    if (!q->u.select.from)
        strcat(p->follow, "\"FROM\", ");
    for (int k = last + 1; k < 4; k++) {
        strcat(p->follow, clauses[k]);
        strcat(p->follow, ", ");
    }
    strcat(p->follow, "\"ORDER BY\", \"LIMIT\", \"OFFSET\", \"FETCH\", \"UNION\", "
                      "\"INTERSECT\", \"EXCEPT\"");
    p->follow_at = p->i;
    return q;
}

static rill__sql_query *parse_query_primary(parser *p)
{
    if (is_kw(p, "SELECT"))
        return parse_select(p);
    if (is_kw(p, "VALUES")) {
        rill__sql_query *q = alloc(p, sizeof *q);
        q->kind = RILL_SQL_Q_VALUES;
        q->pos = cur(p)->pos;
        p->i++;
        if (!parse_expr_list(p, &q->u.values.rows, &q->u.values.n_rows))
            return NULL;
        return q;
    }
    if (accept_op(p, "(")) {
        rill__sql_query *q = parse_query(p);
        if (!q || !expect_op(p, ")"))
            return NULL;
        return q;
    }
    if (is_kw(p, "WITH"))
        return parse_query(p);
    return fail_expect(p, "\"SELECT\", \"VALUES\", \"WITH\", \"(\"");
}

static rill__sql_query *setop(parser *p, rill__sql_setop_kind op, rill__sql_query *l,
                              rill__sql_query *(*next)(parser *))
{
    rill__sql_query *q = alloc(p, sizeof *q);
    q->kind = RILL_SQL_Q_SETOP;
    q->pos = l->pos;
    q->u.setop.op = op;
    q->u.setop.left = l;
    if (accept_kw(p, "ALL"))
        q->u.setop.all = true;
    else
        accept_kw(p, "DISTINCT");
    if (!(q->u.setop.right = next(p)))
        return NULL;
    return q;
}

static rill__sql_query *parse_intersect(parser *p)
{
    rill__sql_query *l = parse_query_primary(p);
    while (l && accept_kw(p, "INTERSECT"))
        l = setop(p, RILL_SQL_SET_INTERSECT, l, parse_query_primary);
    return l;
}

static rill__sql_query *parse_union(parser *p)
{
    rill__sql_query *l = parse_intersect(p);
    while (l && (is_kw(p, "UNION") || is_kw(p, "EXCEPT") || is_kw(p, "MINUS"))) {
        rill__sql_setop_kind op = is_kw(p, "UNION") ? RILL_SQL_SET_UNION : RILL_SQL_SET_EXCEPT;
        p->i++;
        l = setop(p, op, l, parse_intersect);
    }
    return l;
}

static rill__sql_query *parse_query(parser *p)
{
    if (!enter(p))
        return NULL;
    rill__sql_pos pos = cur(p)->pos;
    rill__sql_cte *with = NULL;
    size_t n_with = 0;
    if (accept_kw(p, "WITH")) {
        if (is_kw(p, "RECURSIVE"))
            return fail_at(p, cur(p)->pos, "WITH RECURSIVE is not supported");
        do {
            rill__sql_cte c = {0};
            if (!parse_ident(p, &c.name))
                return NULL;
            if (is_op(p, "(") && !parse_ident_list(p, &c.cols, &c.n_cols))
                return NULL;
            if (!expect_kw(p, "AS") || !expect_op(p, "(") || !(c.query = parse_query(p)) ||
                !expect_op(p, ")"))
                return NULL;
            PUSH(p, with, n_with, c);
        } while (accept_op(p, ","));
    }
    rill__sql_query *q = parse_union(p);
    if (!q)
        return NULL;
    if (n_with) {
        if (q->n_with)
            return fail_at(p, q->pos, "a query has one WITH clause");
        q->with = with;
        q->n_with = n_with;
        q->pos = pos;
    }
    if (is_kw(p, "ORDER")) {
        if (q->n_order)
            return fail_at(p, cur(p)->pos, "a query has one ORDER BY");
        p->i++;
        if (!expect_kw(p, "BY") || !parse_order_list(p, &q->order, &q->n_order))
            return NULL;
    }
    if (is_kw(p, "LIMIT") || is_kw(p, "OFFSET") || is_kw(p, "FETCH")) {
        if (q->limit || q->offset)
            return fail_at(p, cur(p)->pos, "a query has one LIMIT, OFFSET or FETCH");
        if (accept_kw(p, "LIMIT") && !(q->limit = parse_add(p)))
            return NULL;
        if (accept_kw(p, "OFFSET")) {
            if (!(q->offset = parse_add(p)))
                return NULL;
            if (!accept_kw(p, "ROWS"))
                accept_kw(p, "ROW");
        }
        if (!q->limit && accept_kw(p, "FETCH")) {
            q->fetch = true;
            if (!accept_kw(p, "FIRST") && !expect_kw(p, "NEXT"))
                return NULL;
            if (!(q->limit = parse_add(p)))
                return NULL;
            if (!accept_kw(p, "ROWS") && !expect_kw(p, "ROW"))
                return NULL;
            if (!expect_kw(p, "ONLY"))
                return NULL;
        }
    }
    p->depth--;
    return q;
}

/* ---- statements ---------------------------------------------------------------------------- */

static bool parse_options(parser *p, rill__sql_option **out, size_t *n)
{
    if (!expect_op(p, "("))
        return false;
    if (accept_op(p, ")"))
        return true;
    do {
        rill__sql_option o;
        if (!parse_option(p, &o))
            return false;
        PUSH(p, *out, *n, o);
    } while (accept_op(p, ","));
    return expect_op(p, ")");
}

static bool parse_if_not_exists(parser *p)
{
    if (is_kw(p, "IF") && rill__sql_is(ahead(p, 1), "NOT") && rill__sql_is(ahead(p, 2), "EXISTS")) {
        p->i += 3;
        return true;
    }
    return false;
}

static bool not_enforced(parser *p)
{
    if (is_kw(p, "NOT") && rill__sql_is(ahead(p, 1), "ENFORCED")) {
        p->i += 2;
        return true;
    }
    fail_at(p, cur(p)->pos,
            "Flink doesn't support ENFORCED mode for PRIMARY KEY constraint: "
            "write PRIMARY KEY ... NOT ENFORCED");
    return false;
}

static bool set_pk(parser *p, rill__sql_create_table *ct, rill__sql_pos pos)
{
    if (ct->pk)
        return fail_at(p, pos, "a table has one primary key (one is declared already)") != NULL;
    ct->pk_pos = pos;
    return true;
}

static bool parse_table_element(parser *p, rill__sql_create_table *ct)
{
    rill__sql_pos pos = cur(p)->pos;
    if (accept_kw(p, "WATERMARK")) {
        if (ct->has_watermark)
            return fail_at(p, pos, "a table has one WATERMARK") != NULL;
        ct->has_watermark = true;
        return expect_kw(p, "FOR") && parse_name(p, &ct->watermark_col) && expect_kw(p, "AS") &&
               (ct->watermark = parse_expr(p)) != NULL;
    }
    rill__sql_ident *constraint = NULL;
    if (accept_kw(p, "CONSTRAINT")) {
        constraint = alloc(p, sizeof *constraint);
        if (!parse_ident(p, constraint))
            return false;
        if (!is_kw(p, "PRIMARY"))
            return fail_expect(p, "\"PRIMARY KEY\"") != NULL;
    }
    if (accept_kw(p, "PRIMARY")) {
        if (!set_pk(p, ct, pos) || !expect_kw(p, "KEY"))
            return false;
        rill__sql_ident *cols = NULL;
        size_t n = 0;
        if (!parse_ident_list(p, &cols, &n) || !not_enforced(p))
            return false;
        ct->pk = cols;
        ct->n_pk = n;
        ct->pk_constraint = constraint;
        return true;
    }
    if (is_kw(p, "UNIQUE") || is_kw(p, "FOREIGN") || is_kw(p, "CHECK"))
        return fail_at(p, pos, "only PRIMARY KEY constraints are supported") != NULL;
    rill__sql_column c = {0};
    if (!parse_ident(p, &c.name))
        return false;
    if (accept_kw(p, "AS")) {
        c.kind = RILL_SQL_COL_COMPUTED;
        if (!(c.expr = parse_expr(p)))
            return false;
    } else {
        c.kind = RILL_SQL_COL_PHYSICAL;
        if (!(c.type = parse_type(p)))
            return false;
        if (accept_kw(p, "METADATA")) {
            c.kind = RILL_SQL_COL_METADATA;
            if (accept_kw(p, "FROM") && !(c.metadata_key = parse_string(p)))
                return false;
            c.is_virtual = accept_kw(p, "VIRTUAL");
        } else if (is_kw(p, "PRIMARY") || is_kw(p, "CONSTRAINT")) {
            rill__sql_ident *cn = NULL;
            if (accept_kw(p, "CONSTRAINT")) {
                cn = alloc(p, sizeof *cn);
                if (!parse_ident(p, cn))
                    return false;
            }
            rill__sql_pos kp = cur(p)->pos;
            if (!expect_kw(p, "PRIMARY") || !expect_kw(p, "KEY") || !set_pk(p, ct, kp) ||
                !not_enforced(p))
                return false;
            c.primary_key = true;
            ct->pk = alloc(p, sizeof *ct->pk);
            ct->pk[0] = c.name;
            ct->n_pk = 1;
            ct->pk_constraint = cn;
        }
    }
    if (accept_kw(p, "COMMENT") && !(c.comment = parse_string(p)))
        return false;
    PUSH(p, ct->columns, ct->n_columns, c);
    return true;
}

static rill__sql_stmt *new_stmt(parser *p, rill__sql_stmt_kind kind, rill__sql_pos pos)
{
    rill__sql_stmt *s = alloc(p, sizeof *s);
    s->kind = kind;
    s->pos = pos;
    return s;
}

static rill__sql_stmt *parse_create(parser *p, rill__sql_pos pos)
{
    bool temporary = accept_kw(p, "TEMPORARY"), system = false;
    if (temporary && is_kw(p, "SYSTEM") && rill__sql_is(ahead(p, 1), "FUNCTION")) {
        p->i++;
        system = true;
    }
    if (accept_kw(p, "TABLE")) {
        rill__sql_stmt *s = new_stmt(p, RILL_SQL_S_CREATE_TABLE, pos);
        rill__sql_create_table *ct = &s->u.create_table;
        ct->temporary = temporary;
        ct->if_not_exists = parse_if_not_exists(p);
        if (!parse_name(p, &ct->name))
            return NULL;
        if (accept_op(p, "(")) {
            do {
                if (!parse_table_element(p, ct))
                    return NULL;
            } while (accept_op(p, ","));
            if (!is_op(p, ")"))
                return fail_expect(p, "\",\", \")\"");
            p->i++;
        }
        if (accept_kw(p, "COMMENT") && !(ct->comment = parse_string(p)))
            return NULL;
        if (accept_kw(p, "PARTITIONED")) {
            if (!expect_kw(p, "BY") || !parse_ident_list(p, &ct->partitioned, &ct->n_partitioned))
                return NULL;
        }
        if (accept_kw(p, "WITH") && !parse_options(p, &ct->options, &ct->n_options))
            return NULL;
        if (is_kw(p, "LIKE"))
            return fail_at(p, cur(p)->pos, "CREATE TABLE ... LIKE is not supported yet");
        if (is_kw(p, "AS"))
            return fail_at(p, cur(p)->pos, "CREATE TABLE ... AS SELECT is not supported yet");
        return s;
    }
    if (accept_kw(p, "VIEW")) {
        rill__sql_stmt *s = new_stmt(p, RILL_SQL_S_CREATE_VIEW, pos);
        s->u.create_view.temporary = temporary;
        s->u.create_view.if_not_exists = parse_if_not_exists(p);
        if (!parse_name(p, &s->u.create_view.name))
            return NULL;
        if (is_op(p, "(") && !parse_ident_list(p, &s->u.create_view.cols, &s->u.create_view.n_cols))
            return NULL;
        if (accept_kw(p, "COMMENT") && !(s->u.create_view.comment = parse_string(p)))
            return NULL;
        if (!expect_kw(p, "AS") || !(s->u.create_view.query = parse_query(p)))
            return NULL;
        return s;
    }
    if (accept_kw(p, "FUNCTION")) {
        rill__sql_stmt *s = new_stmt(p, RILL_SQL_S_CREATE_FUNCTION, pos);
        __typeof__(s->u.create_function) *f = &s->u.create_function;
        f->temporary = temporary;
        f->system = system;
        f->if_not_exists = parse_if_not_exists(p);
        if (!parse_name(p, &f->name) || !expect_kw(p, "AS") || !(f->identifier = parse_string(p)))
            return NULL;
        if (accept_kw(p, "LANGUAGE")) {
            if (accept_kw(p, "JAVA"))
                f->language = RILL_SQL_LANG_JAVA;
            else if (accept_kw(p, "SCALA"))
                f->language = RILL_SQL_LANG_SCALA;
            else if (accept_kw(p, "PYTHON"))
                f->language = RILL_SQL_LANG_PYTHON;
            else if (accept_kw(p, "C"))
                f->language = RILL_SQL_LANG_C;
            else
                return fail_expect(p, "\"JAVA\", \"SCALA\", \"PYTHON\", \"C\"");
        }
        if (accept_kw(p, "USING")) {
            do {
                const char *jar;
                if (!expect_kw(p, "JAR") || !(jar = parse_string(p)))
                    return NULL;
                PUSH(p, f->jars, f->n_jars, jar);
            } while (accept_op(p, ","));
        }
        return s;
    }
    return fail_expect(p, temporary ? "\"TABLE\", \"VIEW\", \"FUNCTION\", \"SYSTEM FUNCTION\""
                                    : "\"TABLE\", \"VIEW\", \"FUNCTION\", \"TEMPORARY\"");
}

static rill__sql_stmt *parse_insert(parser *p)
{
    rill__sql_stmt *s = new_stmt(p, RILL_SQL_S_INSERT, cur(p)->pos);
    p->i++; /* INSERT */
    if (accept_kw(p, "OVERWRITE"))
        s->u.insert.overwrite = true;
    else if (!expect_kw(p, "INTO"))
        return NULL;
    if (!parse_name(p, &s->u.insert.target) ||
        !parse_hints(p, &s->u.insert.hints, &s->u.insert.n_hints))
        return NULL;
    if (accept_kw(p, "PARTITION")) {
        if (!expect_op(p, "("))
            return NULL;
        do {
            rill__sql_option o = {.pos = cur(p)->pos};
            rill__sql_ident k;
            if (!parse_ident(p, &k) || !expect_op(p, "="))
                return NULL;
            o.key = k.text;
            rill__sql_token *v = cur(p);
            if (v->kind == RILL_SQL_STRING) {
                o.value = parse_string(p);
            } else if (v->kind == RILL_SQL_INTEGER || v->kind == RILL_SQL_DECIMAL) {
                o.value = strndup_a(p, v->text, v->len);
                p->i++;
            } else {
                return fail_expect(p, "a literal");
            }
            if (!o.value)
                return NULL;
            PUSH(p, s->u.insert.partition, s->u.insert.n_partition, o);
        } while (accept_op(p, ","));
        if (!expect_op(p, ")"))
            return NULL;
    }
    if (is_op(p, "(") && !paren_query(p) &&
        !parse_ident_list(p, &s->u.insert.cols, &s->u.insert.n_cols))
        return NULL;
    if (!(s->u.insert.query = parse_query(p)))
        return NULL;
    return s;
}

/* STATEMENT SET BEGIN insert; ... END, after EXECUTE */
static rill__sql_stmt *parse_statement_set(parser *p, rill__sql_pos pos)
{
    rill__sql_stmt *s = new_stmt(p, RILL_SQL_S_STATEMENT_SET, pos);
    if (!expect_kw(p, "STATEMENT") || !expect_kw(p, "SET") || !expect_kw(p, "BEGIN"))
        return NULL;
    while (!is_kw(p, "END")) {
        if (!is_kw(p, "INSERT"))
            return fail_expect(p,
                               s->u.statement_set.n_inserts ? "\"INSERT\", \"END\"" : "\"INSERT\"");
        rill__sql_stmt *ins = parse_insert(p);
        if (!ins)
            return NULL;
        PUSH(p, s->u.statement_set.inserts, s->u.statement_set.n_inserts, ins);
        if (!accept_op(p, ";") && !is_kw(p, "END"))
            return fail_expect(p, "\";\", \"END\"");
    }
    p->i++;
    return s;
}

static const char *const SHOW_WORDS[] = {"TABLES",   "VIEWS",     "FUNCTIONS",
                                         "CATALOGS", "DATABASES", NULL};

static rill__sql_stmt *parse_stmt(parser *p, bool in_explain)
{
    rill__sql_token *t = cur(p);
    rill__sql_pos pos = t->pos;
    if (starts_query(t) || rill__sql_is_op(t, "(")) {
        rill__sql_stmt *s = new_stmt(p, RILL_SQL_S_QUERY, pos);
        return (s->u.query = parse_query(p)) ? s : NULL;
    }
    if (is_kw(p, "INSERT"))
        return parse_insert(p);
    if (in_explain) {
        if (is_kw(p, "EXECUTE") && rill__sql_is(ahead(p, 1), "STATEMENT")) {
            p->i++;
            return parse_statement_set(p, pos);
        }
        if (is_kw(p, "STATEMENT")) /* EXPLAIN STATEMENT SET BEGIN ... END */
            return parse_statement_set(p, pos);
        return fail_expect(p, "\"SELECT\", \"INSERT\", \"STATEMENT SET\"");
    }
    if (accept_kw(p, "SET")) {
        rill__sql_stmt *s = new_stmt(p, RILL_SQL_S_SET, pos);
        if (cur(p)->kind == RILL_SQL_END)
            return s;
        if (!(s->u.set.key = parse_string(p)) || !expect_op(p, "=") ||
            !(s->u.set.value = parse_string(p)))
            return NULL;
        return s;
    }
    if (accept_kw(p, "RESET")) {
        rill__sql_stmt *s = new_stmt(p, RILL_SQL_S_RESET, pos);
        if (cur(p)->kind != RILL_SQL_END && !(s->u.set.key = parse_string(p)))
            return NULL;
        return s;
    }
    if (accept_kw(p, "CREATE"))
        return parse_create(p, pos);
    if (accept_kw(p, "DROP")) {
        rill__sql_stmt *s = new_stmt(p, RILL_SQL_S_DROP, pos);
        s->u.drop.temporary = accept_kw(p, "TEMPORARY");
        if (s->u.drop.temporary && is_kw(p, "SYSTEM") && rill__sql_is(ahead(p, 1), "FUNCTION")) {
            p->i++;
            s->u.drop.system = true;
        }
        if (accept_kw(p, "TABLE"))
            s->u.drop.object = RILL_SQL_OBJ_TABLE;
        else if (accept_kw(p, "VIEW"))
            s->u.drop.object = RILL_SQL_OBJ_VIEW;
        else if (accept_kw(p, "FUNCTION"))
            s->u.drop.object = RILL_SQL_OBJ_FUNCTION;
        else
            return fail_expect(p, "\"TABLE\", \"VIEW\", \"FUNCTION\"");
        if (is_kw(p, "IF") && rill__sql_is(ahead(p, 1), "EXISTS")) {
            p->i += 2;
            s->u.drop.if_exists = true;
        }
        return parse_name(p, &s->u.drop.name) ? s : NULL;
    }
    if (accept_kw(p, "SHOW")) {
        rill__sql_stmt *s = new_stmt(p, RILL_SQL_S_SHOW, pos);
        /* SHOW [USER] FUNCTIONS [(FROM | IN) [catalog.]db] [[NOT] (LIKE | ILIKE) 'pattern'] */
        if ((s->u.show.user = accept_kw(p, "USER")) && !expect_kw(p, "FUNCTIONS"))
            return NULL;
        if (s->u.show.user || accept_kw(p, "FUNCTIONS")) {
            s->u.show.what = RILL_SQL_SHOW_FUNCTIONS;
            if ((accept_kw(p, "FROM") || accept_kw(p, "IN")) && !parse_name(p, &s->u.show.name))
                return NULL;
            s->u.show.not_like = accept_kw(p, "NOT");
            if ((s->u.show.ilike = accept_kw(p, "ILIKE")) || accept_kw(p, "LIKE")) {
                if (!(s->u.show.like = parse_string(p)))
                    return NULL;
            } else if (s->u.show.not_like) {
                return fail_expect(p, "\"LIKE\", \"ILIKE\"");
            }
            return s;
        }
        for (int k = 0; SHOW_WORDS[k]; k++)
            if (accept_kw(p, SHOW_WORDS[k])) {
                s->u.show.what = (rill__sql_show)k;
                return s;
            }
        if (accept_kw(p, "JOBS")) {
            s->u.show.what = RILL_SQL_SHOW_JOBS;
        } else if (accept_kw(p, "MODULES")) {
            s->u.show.what = RILL_SQL_SHOW_MODULES;
        } else if (accept_kw(p, "CURRENT")) {
            if (accept_kw(p, "CATALOG"))
                s->u.show.what = RILL_SQL_SHOW_CURRENT_CATALOG;
            else if (accept_kw(p, "DATABASE"))
                s->u.show.what = RILL_SQL_SHOW_CURRENT_DATABASE;
            else
                return fail_expect(p, "\"CATALOG\", \"DATABASE\"");
        } else if (accept_kw(p, "CREATE")) {
            if (accept_kw(p, "TABLE"))
                s->u.show.what = RILL_SQL_SHOW_CREATE_TABLE;
            else if (accept_kw(p, "VIEW"))
                s->u.show.what = RILL_SQL_SHOW_CREATE_VIEW;
            else
                return fail_expect(p, "\"TABLE\", \"VIEW\"");
            if (!parse_name(p, &s->u.show.name))
                return NULL;
        } else {
            return fail_expect(
                p, "\"TABLES\", \"VIEWS\", \"FUNCTIONS\", \"USER FUNCTIONS\", \"CATALOGS\", "
                   "\"DATABASES\", \"CURRENT CATALOG\", \"CURRENT DATABASE\", "
                   "\"JOBS\", \"MODULES\", \"CREATE TABLE\", \"CREATE VIEW\"");
        }
        return s;
    }
    if (accept_kw(p, "DESCRIBE") || accept_kw(p, "DESC")) {
        rill__sql_stmt *s = new_stmt(p, RILL_SQL_S_DESCRIBE, pos);
        s->u.describe.extended = accept_kw(p, "EXTENDED");
        return parse_name(p, &s->u.describe.name) ? s : NULL;
    }
    if (accept_kw(p, "USE")) {
        rill__sql_stmt *s = new_stmt(p, RILL_SQL_S_USE, pos);
        s->u.use.catalog = accept_kw(p, "CATALOG");
        return parse_name(p, &s->u.use.name) ? s : NULL;
    }
    if (accept_kw(p, "EXPLAIN")) {
        rill__sql_stmt *s = new_stmt(p, RILL_SQL_S_EXPLAIN, pos);
        static const char *const details[] = {"ESTIMATED_COST", "CHANGELOG_MODE",
                                              "JSON_EXECUTION_PLAN", "PLAN_ADVICE", NULL};
        if (accept_kw(p, "PLAN")) {
            s->u.explain.plan_for = true;
            if (!expect_kw(p, "FOR"))
                return NULL;
        } else {
            bool any = false;
            for (;;) {
                int k = 0;
                while (details[k] && !is_kw(p, details[k]))
                    k++;
                if (!details[k]) {
                    if (any)
                        return fail_expect(p, "\"ESTIMATED_COST\", \"CHANGELOG_MODE\", "
                                              "\"JSON_EXECUTION_PLAN\", \"PLAN_ADVICE\"");
                    break;
                }
                p->i++;
                s->u.explain.details |= 1 << k;
                any = true;
                if (!accept_op(p, ","))
                    break;
            }
        }
        if (!enter(p))
            return NULL;
        if (!(s->u.explain.inner = parse_stmt(p, true)))
            return NULL;
        p->depth--;
        return s;
    }
    if (accept_kw(p, "EXECUTE")) {
        if (is_kw(p, "STATEMENT"))
            return parse_statement_set(p, pos);
        rill__sql_stmt *s = new_stmt(p, RILL_SQL_S_EXECUTE, pos);
        if (!is_kw(p, "INSERT") && !starts_query(cur(p)) && !is_op(p, "("))
            return fail_expect(p, "\"STATEMENT SET\", \"INSERT\", \"SELECT\"");
        return (s->u.inner = parse_stmt(p, false)) ? s : NULL;
    }
    if (accept_kw(p, "BEGIN")) {
        if (!expect_kw(p, "STATEMENT") || !expect_kw(p, "SET"))
            return NULL;
        return new_stmt(p, RILL_SQL_S_BEGIN_SET, pos);
    }
    if (accept_kw(p, "END"))
        return new_stmt(p, RILL_SQL_S_END, pos);
    if (accept_kw(p, "HELP"))
        return new_stmt(p, RILL_SQL_S_HELP, pos);
    if (accept_kw(p, "QUIT") || accept_kw(p, "EXIT"))
        return new_stmt(p, RILL_SQL_S_QUIT, pos);
    if (accept_kw(p, "CLEAR"))
        return new_stmt(p, RILL_SQL_S_CLEAR, pos);
    if (t->kind == RILL_SQL_END)
        return fail_at(p, pos, "no statement (the text is empty)");
    return fail_expect(p, "\"SELECT\", \"INSERT\", \"CREATE\", \"DROP\", \"SET\", \"RESET\", "
                          "\"SHOW\", \"DESCRIBE\", \"USE\", \"EXPLAIN\", \"EXECUTE\", \"WITH\", "
                          "\"VALUES\", \"BEGIN\", \"END\", \"HELP\", \"QUIT\"");
}

/* ---- entry --------------------------------------------------------------------------------- */

rill__sql_ast *rill__sql_ast_new(void)
{
    rill__sql_ast *ast = rill__xcalloc(1, sizeof *ast);
    rill__arena_init(&ast->arena, 16384);
    return ast;
}

void *rill__sql_ast_alloc(rill__sql_ast *ast, size_t size)
{
    void *m = rill__arena_alloc(&ast->arena, size ? size : 1);
    memset(m, 0, size);
    return m;
}

void rill__sql_ast_free(rill__sql_ast *ast)
{
    if (!ast)
        return;
    rill__arena_close(&ast->arena);
    free(ast);
}

int rill__sql_parse(const char *script, size_t start, size_t len, rill__sql_ast **out,
                    rill__err *err)
{
    *out = NULL;
    rill__sql_ast *ast = rill__sql_ast_new();
    /* the copy starts at the statement's line (a script's statements each parsed would copy
     * the script over and over otherwise); lines and columns still count from the script's
     * start */
    size_t bol = start, end = start + len;
    while (bol > 0 && script[bol - 1] != '\n')
        bol--;
    int line = 1;
    for (const char *c = script; (c = memchr(c, '\n', (size_t)(script + bol - c))) != NULL; c++)
        line++;
    char *text = rill__arena_alloc(&ast->arena, end - bol + 1);
    memcpy(text, script + bol, end - bol);
    text[end - bol] = '\0';
    ast->text = text;
    parser p = {.ast = ast, .text = text, .err = err};
    rill__sql_lexer lx;
    rill__sql_lexer_init(&lx, text, end - bol);
    lx.at = (rill__sql_pos){start - bol, line, (int)(start - bol) + 1};
    for (;;) {
        rill__sql_token t;
        if (rill__sql_next(&lx, &t, err) != 0)
            goto fail;
        rill__grow((void **)&p.toks, &p.cap, p.n + 1, sizeof *p.toks);
        p.toks[p.n++] = t;
        if (t.kind == RILL_SQL_END)
            break;
    }
    /* one ';' may end the statement, but not the last INSERT of a statement set left open */
    bool open_set = false;
    for (size_t i = 0; i + 2 < p.n; i++)
        if (rill__sql_is(&p.toks[i], "STATEMENT") && rill__sql_is(&p.toks[i + 1], "SET") &&
            rill__sql_is(&p.toks[i + 2], "BEGIN"))
            open_set = true;
    if (open_set && p.n >= 3 && rill__sql_is(&p.toks[p.n - 3], "END"))
        open_set = false;
    if (p.n >= 2 && rill__sql_is_op(&p.toks[p.n - 2], ";") && !open_set) {
        p.toks[p.n - 2] = p.toks[p.n - 1];
        p.n--;
    }
    rill__sql_stmt *s = parse_stmt(&p, false);
    if (!s)
        goto fail;
    if (cur(&p)->kind != RILL_SQL_END) {
        if (p.follow_at == p.i && p.follow[0] && !rill__sql_is_op(cur(&p), ";")) {
            char what[300];
            snprintf(what, sizeof what, "%s, the end of the statement", p.follow);
            fail_expect(&p, what);
        } else {
            fail_expect(&p, "the end of the statement");
        }
        goto fail;
    }
    ast->stmt = s;
    free(p.toks);
    *out = ast;
    return 0;
fail:
    free(p.toks);
    rill__sql_ast_free(ast);
    if (err->code != RILL_EPARSE)
        err->code = RILL_EPARSE;
    return RILL_EPARSE;
}
