/* fuzz_sql.c - libFuzzer target: the SQL tokenizer, script splitter and parser (src/sql) on
 * arbitrary text: every statement of the script is split off and tokenized, each token lies
 * inside its statement with its line and column where its offset says, strings and quoted
 * identifiers unquote, and every error is RILL_EPARSE with a line, a column and a caret. Each
 * statement is parsed; one that parses is printed, the print parsed again and printed again:
 * the two prints must be equal. */
#include <string.h>

#include "fuzz_util.h"
#include "sql/ast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_error(const rill__err *err)
{
    FUZZ_REQUIRE(err->code == RILL_EPARSE);
    FUZZ_REQUIRE(strstr(err->msg, " at line ") != NULL);
    FUZZ_REQUIRE(strchr(err->msg, '^') != NULL);
}

/* Parses the statement at start, and if it parses, checks the printer's round trip. */
static void check_parse(const char *text, size_t start, size_t len)
{
    rill__sql_ast *ast;
    rill__err err = {0};
    if (rill__sql_parse(text, start, len, &ast, &err) != 0) {
        check_error(&err);
        FUZZ_REQUIRE(ast == NULL);
        return;
    }
    rill__buf p1 = {0}, p2 = {0};
    rill__sql_print_stmt(&p1, ast->stmt);
    rill__sql_ast *again;
    rill__err err2 = {0};
    if (rill__sql_parse(rill__buf_cstr(&p1), 0, p1.len, &again, &err2) != 0 &&
        strstr(err2.msg, "nests deeper than")) {
        /* the print's parentheses cost depth the original's precedence did not (a + b * c
         * nests (b * c) one level deeper): near the limit, that is allowed */
        rill__buf_free(&p1);
        rill__sql_ast_free(ast);
        return;
    }
    if (err2.code) {
        fprintf(stderr, "the print does not parse:\n%s\n%s\n", rill__buf_cstr(&p1), err2.msg);
        FUZZ_REQUIRE(0 && "a printed statement does not parse");
    }
    rill__sql_print_stmt(&p2, again->stmt);
    if (strcmp(rill__buf_cstr(&p1), rill__buf_cstr(&p2)) != 0) {
        fprintf(stderr, "prints differ:\n%s\n%s\n", rill__buf_cstr(&p1), rill__buf_cstr(&p2));
        FUZZ_REQUIRE(0 && "print, parse, print changes the text");
    }
    rill__buf_free(&p1);
    rill__buf_free(&p2);
    rill__sql_ast_free(again);
    rill__sql_ast_free(ast);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = rill__xmalloc(size + 1); /* scripts are C strings: a NUL ends them */
    memcpy(text, data, size);
    text[size] = '\0';
    size_t n = strlen(text), off = 0, start, len;
    rill__err err = {0};
    int rc;
    for (int guard = 0; guard <= (int)n + 1; guard++) {
        size_t before = off;
        rc = rill__sql_split(text, n, &off, &start, &len, &err);
        if (rc) {
            check_error(&err);
            break;
        }
        FUZZ_REQUIRE(off > before || off == n);
        if (!len)
            break;
        FUZZ_REQUIRE(start >= before && start + len <= n);
        rill__sql_lexer lx;
        rill__sql_lexer_init(&lx, text + start, len);
        rill__sql_token t;
        size_t last = 0;
        while ((rc = rill__sql_next(&lx, &t, &err)) == 0 && t.kind != RILL_SQL_END) {
            FUZZ_REQUIRE(t.pos.off >= last && t.pos.off + t.len <= len);
            int line = 1, col = 1;
            for (size_t i = 0; i < t.pos.off; i++) { /* columns: UTF-16 units, as Calcite */
                unsigned char c = (unsigned char)text[start + i];
                if (c == '\n')
                    line++, col = 1;
                else if ((c & 0xc0) != 0x80)
                    col += c >= 0xf0 ? 2 : 1;
            }
            FUZZ_REQUIRE(line == t.pos.line && col == t.pos.col);
            last = t.pos.off + t.len;
            if (t.kind == RILL_SQL_STRING || t.kind == RILL_SQL_QUOTED) {
                rill__buf b = {0};
                rill__err e2 = {0};
                if (rill__sql_unquote(&t, &b, &e2) != 0)
                    check_error(&e2);
                rill__buf_free(&b);
            }
        }
        if (rc) { /* the splitter tokenized the same text: it would have failed first */
            check_error(&err);
            FUZZ_REQUIRE(0 && "a statement the splitter took does not tokenize");
        }
        check_parse(text, start, len);
        if (off >= n)
            break;
    }
    free(text);
    return 0;
}
