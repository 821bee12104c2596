/*
 * lexer.c - sql layer: Flink SQL's tokens (Calcite's lexical rules as Flink sets them:
 * back-quoted identifiers, keywords in any case, '' in strings, -- and block comments, hints),
 * error messages with a caret under the place, and the splitting of a script into statements.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sql.h"

/* Longest first: a prefix must not win over the whole operator. */
static const char *const OPS[] = {"<>", "<=", ">=", "!=", "||", "=>", "::", "(", ")", "[", "]",
                                  "{",  "}",  ",",  ";",  ".",  "=",  "<",  ">", "+", "-", "*",
                                  "/",  "%",  "?",  ":",  "|",  "^",  "&",  "~", NULL};

void rill__sql_lexer_init(rill__sql_lexer *lx, const char *text, size_t len)
{
    lx->text = text;
    lx->len = len;
    lx->at = (rill__sql_pos){0, 1, 1};
}

static int peek(const rill__sql_lexer *lx, size_t ahead)
{
    size_t i = lx->at.off + ahead;
    return i < lx->len ? (unsigned char)lx->text[i] : -1;
}

/* The columns a byte of UTF-8 text moves: Calcite counts UTF-16 code units, so a character
 * is 1 (its lead byte) and a supplementary one 2; continuation bytes move none. */
static int col_width(unsigned char c)
{
    return (c & 0xc0) == 0x80 ? 0 : c >= 0xf0 ? 2 : 1;
}

static void advance(rill__sql_lexer *lx, size_t n)
{
    for (size_t i = 0; i < n && lx->at.off < lx->len; i++) {
        unsigned char c = (unsigned char)lx->text[lx->at.off++];
        if (c == '\n') {
            lx->at.line++;
            lx->at.col = 1;
        } else {
            lx->at.col += col_width(c);
        }
    }
}

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int rill__sql_error(rill__err *err, const char *text, rill__sql_pos pos, const char *fmt, ...)
{
    char what[RILL_ERRMSG_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    /* the line pos is on, cut to 60 bytes either side of the column (at character bounds) */
    size_t bol = pos.off, eol = pos.off;
    while (bol > 0 && text[bol - 1] != '\n')
        bol--;
    while (text[eol] && text[eol] != '\n' && text[eol] != '\r')
        eol++;
    size_t from = pos.off - bol > 60 ? pos.off - 60 : bol;
    size_t to = eol - pos.off > 60 ? pos.off + 60 : eol;
    while (from < pos.off && ((unsigned char)text[from] & 0xc0) == 0x80)
        from++;
    while (to > pos.off && ((unsigned char)text[to] & 0xc0) == 0x80)
        to--;
    char line[160], caret[80];
    int n = snprintf(line, sizeof line, "%s%.*s%s", from > bol ? "..." : "", (int)(to - from),
                     text + from, to < eol ? "..." : "");
    (void)n;
    size_t sp = from > bol ? 3 : 0; /* the caret under the character: one space a character */
    for (size_t i = from; i < pos.off; i++)
        sp += ((unsigned char)text[i] & 0xc0) != 0x80;
    if (sp > sizeof caret - 2)
        sp = sizeof caret - 2;
    memset(caret, ' ', sp);
    caret[sp] = '^';
    caret[sp + 1] = '\0';
    for (char *c = line; *c; c++) /* tabs would move the caret: spaces keep it under */
        if (*c == '\t')
            *c = ' ';
    return rill__err_set(err, RILL_EPARSE, "%s at line %d, column %d:\n%s\n%s", what, pos.line,
                         pos.col, line, caret);
}

/* Skips white space and comments; a hint comment is left for the caller (returns true). */
static int skip(rill__sql_lexer *lx, bool *hint, rill__err *err)
{
    *hint = false;
    for (;;) {
        int c = peek(lx, 0);
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f') {
            advance(lx, 1);
        } else if (c == '-' && peek(lx, 1) == '-') {
            while (peek(lx, 0) != -1 && peek(lx, 0) != '\n')
                advance(lx, 1);
        } else if (c == '/' && peek(lx, 1) == '*') {
            if (peek(lx, 2) == '+') {
                *hint = true;
                return 0;
            }
            rill__sql_pos start = lx->at;
            advance(lx, 2);
            while (peek(lx, 0) != -1 && !(peek(lx, 0) == '*' && peek(lx, 1) == '/'))
                advance(lx, 1);
            if (peek(lx, 0) == -1)
                return rill__sql_error(err, lx->text, start, "comment not closed (no */)");
            advance(lx, 2);
        } else {
            return 0;
        }
    }
}

/* A quoted token from lx->at: q the quote, doubled inside for itself. */
static int quoted(rill__sql_lexer *lx, char q, size_t prefix, const char *what, rill__err *err)
{
    rill__sql_pos start = lx->at;
    advance(lx, prefix + 1);
    for (;;) {
        int c = peek(lx, 0);
        if (c == -1)
            return rill__sql_error(err, lx->text, start, "%s not closed (no %c)", what, q);
        if (c == q && peek(lx, 1) == q) {
            advance(lx, 2);
        } else if (c == q) {
            advance(lx, 1);
            return 0;
        } else {
            advance(lx, 1);
        }
    }
}

/* A number from lx->at: digits, a point, digits, an exponent. */
static int number(rill__sql_lexer *lx, rill__sql_tok *kind, rill__err *err)
{
    rill__sql_pos start = lx->at;
    *kind = RILL_SQL_INTEGER;
    while (is_digit(peek(lx, 0)))
        advance(lx, 1);
    if (peek(lx, 0) == '.') {
        *kind = RILL_SQL_DECIMAL;
        advance(lx, 1);
        while (is_digit(peek(lx, 0)))
            advance(lx, 1);
    }
    int c = peek(lx, 0);
    if (c == 'e' || c == 'E') {
        int c1 = peek(lx, 1), c2 = peek(lx, 2);
        if (is_digit(c1) || ((c1 == '+' || c1 == '-') && is_digit(c2))) {
            *kind = RILL_SQL_APPROX;
            advance(lx, is_digit(c1) ? 1 : 2);
            while (is_digit(peek(lx, 0)))
                advance(lx, 1);
        } else {
            return rill__sql_error(err, lx->text, start,
                                   "a number with an exponent needs its "
                                   "digits");
        }
    }
    if (is_alpha(peek(lx, 0)) || is_digit(peek(lx, 0)))
        return rill__sql_error(err, lx->text, start,
                               "a number runs into a name (a space is "
                               "missing?)");
    return 0;
}

int rill__sql_next(rill__sql_lexer *lx, rill__sql_token *tok, rill__err *err)
{
    bool hint;
    int rc = skip(lx, &hint, err);
    if (rc)
        return rc;
    rill__sql_pos start = lx->at;
    *tok = (rill__sql_token){RILL_SQL_END, start, lx->text + start.off, 0};
    int c = peek(lx, 0), c1 = peek(lx, 1);
    if (c == -1)
        return 0;
    if (hint) {
        advance(lx, 3);
        size_t body = lx->at.off;
        while (peek(lx, 0) != -1 && !(peek(lx, 0) == '*' && peek(lx, 1) == '/'))
            advance(lx, 1);
        if (peek(lx, 0) == -1)
            return rill__sql_error(err, lx->text, start, "hint not closed (no */)");
        tok->kind = RILL_SQL_HINT;
        tok->text = lx->text + body;
        tok->len = lx->at.off - body;
        advance(lx, 2);
        return 0;
    }
    if ((c == 'x' || c == 'X') && c1 == '\'') {
        if ((rc = quoted(lx, '\'', 1, "binary string", err)) != 0)
            return rc;
        size_t digits = lx->at.off - start.off - 3;
        for (size_t i = 0; i < digits; i++)
            if (!is_hex((unsigned char)lx->text[start.off + 2 + i]))
                return rill__sql_error(err, lx->text, start,
                                       "a binary string holds hex digits "
                                       "only");
        if (digits % 2)
            return rill__sql_error(err, lx->text, start,
                                   "a binary string needs an even number "
                                   "of hex digits");
        tok->kind = RILL_SQL_BINARY;
    } else if ((c == 'u' || c == 'U') && c1 == '&' && peek(lx, 2) == '\'') {
        if ((rc = quoted(lx, '\'', 2, "string", err)) != 0)
            return rc;
        tok->kind = RILL_SQL_STRING;
    } else if (is_alpha(c)) {
        while (is_alpha(peek(lx, 0)) || is_digit(peek(lx, 0)) || peek(lx, 0) == '$')
            advance(lx, 1);
        tok->kind = RILL_SQL_WORD;
    } else if (c == '`') {
        if ((rc = quoted(lx, '`', 0, "quoted identifier", err)) != 0)
            return rc;
        if (lx->at.off - start.off == 2)
            return rill__sql_error(err, lx->text, start, "an identifier cannot be empty");
        tok->kind = RILL_SQL_QUOTED;
    } else if (c == '\'') {
        if ((rc = quoted(lx, '\'', 0, "string", err)) != 0)
            return rc;
        tok->kind = RILL_SQL_STRING;
    } else if (is_digit(c) || (c == '.' && is_digit(c1))) {
        if ((rc = number(lx, &tok->kind, err)) != 0)
            return rc;
    } else {
        for (int i = 0; OPS[i]; i++) {
            size_t n = strlen(OPS[i]);
            if (start.off + n <= lx->len && !memcmp(lx->text + start.off, OPS[i], n)) {
                advance(lx, n);
                tok->kind = RILL_SQL_OP;
                break;
            }
        }
        if (tok->kind != RILL_SQL_OP) {
            if (c == '"')
                return rill__sql_error(err, lx->text, start,
                                       "double quotes are not used in "
                                       "Flink SQL: 'text' for a string, `name` for an "
                                       "identifier");
            return rill__sql_error(err, lx->text, start, "unexpected character %s%c%s",
                                   c >= 0x20 && c < 0x7f ? "'" : "0x",
                                   c >= 0x20 && c < 0x7f ? (char)c : '?',
                                   c >= 0x20 && c < 0x7f ? "'" : "");
        }
    }
    tok->len = lx->at.off - start.off;
    return 0;
}

bool rill__sql_is(const rill__sql_token *tok, const char *kw)
{
    size_t n = strlen(kw);
    if (tok->kind != RILL_SQL_WORD || tok->len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char a = tok->text[i], b = kw[i];
        if (a >= 'a' && a <= 'z')
            a = (char)(a - 32);
        if (b >= 'a' && b <= 'z')
            b = (char)(b - 32);
        if (a != b)
            return false;
    }
    return true;
}

bool rill__sql_is_op(const rill__sql_token *tok, const char *op)
{
    return tok->kind == RILL_SQL_OP && tok->len == strlen(op) && !memcmp(tok->text, op, tok->len);
}

/* Appends code point cp as UTF-8; false when it is not one. */
static bool put_utf8(rill__buf *out, unsigned long cp)
{
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return false;
    char b[4];
    int n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | cp >> 6);
        b[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | cp >> 12);
        b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (char)(0xf0 | cp >> 18);
        b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    rill__buf_append(out, b, (size_t)n);
    return true;
}

int rill__sql_unquote(const rill__sql_token *tok, rill__buf *out, rill__err *err)
{
    bool unicode = tok->kind == RILL_SQL_STRING && tok->text[0] != '\'';
    size_t skip_front = unicode ? 3 : 1;
    char q = tok->kind == RILL_SQL_QUOTED ? '`' : '\'';
    const char *p = tok->text + skip_front, *end = tok->text + tok->len - 1;
    while (p < end) {
        if (*p == q) { /* a doubled quote */
            rill__buf_putc(out, q);
            p += 2;
        } else if (unicode && *p == '\\') {
            if (p + 1 < end && p[1] == '\\') {
                rill__buf_putc(out, '\\');
                p += 2;
                continue;
            }
            int digits = p + 1 < end && p[1] == '+' ? 6 : 4;
            const char *h = p + (digits == 6 ? 2 : 1);
            unsigned long cp = 0;
            bool ok = h + digits <= end;
            for (int i = 0; ok && i < digits; i++) {
                ok = is_hex((unsigned char)h[i]);
                cp = cp * 16 + (unsigned long)(h[i] <= '9' ? h[i] - '0' : (h[i] | 0x20) - 'a' + 10);
            }
            if (!ok || !put_utf8(out, cp)) {
                rill__sql_pos at = tok->pos;
                at.off += (size_t)(p - tok->text);
                for (const char *b = tok->text; b < p; b++)
                    at.col += col_width((unsigned char)*b);
                return rill__sql_error(err, tok->text - tok->pos.off, at,
                                       "a Unicode escape is "
                                       "\\XXXX or \\+XXXXXX (hex digits of a code point), or \\\\");
            }
            p = h + digits;
        } else {
            rill__buf_putc(out, *p++);
        }
    }
    return 0;
}

int rill__sql_split(const char *text, size_t text_len, size_t *off, size_t *start, size_t *len,
                    rill__err *err)
{
    bool ended;
    return rill__sql_split_ended(text, text_len, off, start, len, &ended, err);
}

int rill__sql_split_ended(const char *text, size_t text_len, size_t *off, size_t *start,
                          size_t *len, bool *ended, rill__err *err)
{
    *ended = false;
    /* STATEMENT SET BEGIN ... END after EXECUTE or EXPLAIN [details] (Flink's): its INSERTs'
     * ';' are inside it */
    static const char *const set_words[] = {"STATEMENT", "SET", "BEGIN"};
    rill__sql_lexer lx;
    rill__sql_lexer_init(&lx, text, text_len);
    advance(&lx, *off); /* lines and columns counted up to where the last statement ended */
    *start = *off;
    *len = 0;
    rill__sql_token t;
    int idx = 0;  /* the token's place in the statement */
    bool set_head = false; /* the statement starts with EXECUTE or EXPLAIN */
    int seen = 0;          /* of STATEMENT SET BEGIN in a row; 3: inside, 4: after END */
    size_t last_end = *off;
    for (;; idx++) {
        int rc = rill__sql_next(&lx, &t, err);
        if (rc)
            return rc;
        if (t.kind == RILL_SQL_END)
            break;
        if (idx == 0) {
            *start = t.pos.off;
            set_head = rill__sql_is(&t, "EXECUTE") || rill__sql_is(&t, "EXPLAIN");
        } else if (set_head && seen < 3) {
            seen = rill__sql_is(&t, set_words[seen]) ? seen + 1
                   : rill__sql_is(&t, set_words[0])  ? 1
                                                     : 0;
        } else if (seen == 3 && rill__sql_is(&t, "END")) {
            seen = 4;
        }
        if (rill__sql_is_op(&t, ";") && seen != 3) {
            *off = t.pos.off + 1;
            *len = idx ? last_end - *start : 0;
            *ended = true;
            if (idx == 0) { /* an empty statement (";;"): go on to the next */
                *start = *off;
                idx = -1;
                continue;
            }
            return 0;
        }
        last_end = t.kind == RILL_SQL_HINT ? lx.at.off : t.pos.off + t.len;
    }
    *off = text_len;
    *len = idx ? last_end - *start : 0;
    *ended = false;
    return 0;
}
