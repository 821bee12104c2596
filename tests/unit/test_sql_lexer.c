/* test_sql_lexer.c - the SQL tokenizer (src/sql/lexer.c): Flink SQL's tokens, positions, errors
 * with a caret under the place, unquoting, and the splitting of scripts into statements. */
#include <string.h>

#include "sql/sql.h"
#include "test.h"

/* The tokens of text as "KIND:text" joined by spaces (kinds: W Q S B I D A H O). */
static char *tokens(const char *text, rill__err *err, int *rc_out)
{
    static const char kinds[] = "EWQSBIDAHO";
    rill__sql_lexer lx;
    rill__sql_lexer_init(&lx, text, strlen(text));
    rill__buf b = {0};
    rill__sql_token t;
    int rc;
    while ((rc = rill__sql_next(&lx, &t, err)) == 0 && t.kind != RILL_SQL_END)
        rill__buf_printf(&b, "%s%c:%.*s", b.len ? " " : "", kinds[t.kind], (int)t.len, t.text);
    *rc_out = rc;
    char *out = rill__xstrdup(rill__buf_cstr(&b));
    rill__buf_free(&b);
    return out;
}

TEST(sql_lexer_tokens)
{
    rill__err err = {0};
    int rc;
    char *s = tokens("SELECT `my col`, 'it''s', X'0aFF', 42, 4.5, .5, 5., 1e3, 2.5E-3\n"
                     "FROM t$1 -- a comment\n WHERE a<>b AND c<=d OR e||f /* block */ "
                     "/*+ OPTIONS('k'='v') */ u&'\\0041'",
                     &err, &rc);
    CHECK_RC(rc);
    CHECK_STR(s, "W:SELECT Q:`my col` O:, S:'it''s' O:, B:X'0aFF' O:, I:42 O:, D:4.5 O:, D:.5 "
                 "O:, D:5. O:, A:1e3 O:, A:2.5E-3 W:FROM W:t$1 W:WHERE W:a O:<> W:b W:AND W:c "
                 "O:<= W:d W:OR W:e O:|| W:f H: OPTIONS('k'='v')  S:u&'\\0041'");
    free(s);
    /* positions: line and column of each token */
    rill__sql_lexer lx;
    const char *text = "SET 'a'\n  = 'b';";
    rill__sql_lexer_init(&lx, text, strlen(text));
    rill__sql_token t;
    int want[][2] = {{1, 1}, {1, 5}, {2, 3}, {2, 5}, {2, 8}};
    for (int i = 0; i < 5; i++) {
        CHECK_RC(rill__sql_next(&lx, &t, &err));
        CHECK_EQ(t.pos.line, want[i][0]);
        CHECK_EQ(t.pos.col, want[i][1]);
    }
    CHECK_RC(rill__sql_next(&lx, &t, &err));
    CHECK_EQ(t.kind, RILL_SQL_END);
    rill__sql_lexer_init(&lx, "select", 6);
    CHECK_RC(rill__sql_next(&lx, &t, &err));
    CHECK(rill__sql_is(&t, "SELECT") && !rill__sql_is(&t, "SELEC"));
}

TEST(sql_lexer_errors_point_at_the_place)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"SELECT 'abc", "string not closed (no ') at line 1, column 8:\nSELECT 'abc\n       ^"},
        {"a\n  `b", "quoted identifier not closed (no `) at line 2, column 3:\n  `b\n  ^"},
        {"x /* open", "comment not closed (no */) at line 1, column 3"},
        {"SELECT \"a\"", "double quotes are not used in Flink SQL"},
        {"SELECT 12abc", "a number runs into a name"},
        {"SELECT 1e+", "a number with an exponent needs its digits"},
        {"X'0g'", "a binary string holds hex digits only"},
        {"X'abc'", "an even number of hex digits"},
        /* columns count characters as Calcite does (UTF-16 code units: an emoji is 2); the
         * caret goes under the character, one space per character before it */
        {"SELECT 'é😀' \"a", "at line 1, column 14:\nSELECT 'é😀' \"a\n            ^"},
        {"SELECT ``", "an identifier cannot be empty"},
        {"SELECT #", "unexpected character '#' at line 1, column 8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        rill__err err = {0};
        int rc;
        free(tokens(cases[i].text, &err, &rc));
        CHECK_EQ(rc, RILL_EPARSE);
        CHECK_CONTAINS(err.msg, cases[i].msg);
    }
    /* a long line is cut around the place, and the caret stays under it */
    rill__buf b = {0};
    for (int i = 0; i < 30; i++)
        rill__buf_printf(&b, "col%d, ", i);
    rill__buf_printf(&b, "'open");
    rill__err err = {0};
    int rc;
    free(tokens(rill__buf_cstr(&b), &err, &rc));
    CHECK_EQ(rc, RILL_EPARSE);
    const char *nl = strchr(err.msg, '\n'), *nl2 = strchr(nl + 1, '\n');
    CHECK(nl && nl2);
    CHECK_EQ(strchr(nl2 + 1, '^') - (nl2 + 1), strstr(nl + 1, "'open") - (nl + 1));
    rill__buf_free(&b);
}

TEST(sql_lexer_unquote)
{
    static const struct {
        const char *text, *value;
    } cases[] = {
        {"'it''s'", "it's"},
        {"``", ""},
        {"`a``b`", "a`b"},
        {"''", ""},
        {"U&'\\0041\\00e9'", "A\xc3\xa9"},
        {"u&'\\+01F600x'", "\xf0\x9f\x98\x80x"},
        {"U&'a\\\\b'", "a\\b"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        rill__sql_lexer lx;
        rill__sql_token t;
        rill__err err = {0};
        rill__sql_lexer_init(&lx, cases[i].text, strlen(cases[i].text));
        if (i == 1) { /* an empty quoted identifier is refused by the lexer: unquote it alone */
            t = (rill__sql_token){RILL_SQL_QUOTED, {0, 1, 1}, cases[i].text, 2};
        } else {
            CHECK_RC(rill__sql_next(&lx, &t, &err));
        }
        rill__buf b = {0};
        CHECK_RC(rill__sql_unquote(&t, &b, &err));
        CHECK_STR(rill__buf_cstr(&b), cases[i].value);
        rill__buf_free(&b);
    }
    rill__sql_lexer lx;
    rill__sql_token t;
    rill__err err = {0};
    rill__sql_lexer_init(&lx, "U&'\\00zz'", 9);
    CHECK_RC(rill__sql_next(&lx, &t, &err));
    rill__buf b = {0};
    CHECK_EQ(rill__sql_unquote(&t, &b, &err), RILL_EPARSE);
    CHECK_CONTAINS(err.msg, "a Unicode escape is \\XXXX or \\+XXXXXX");
    CHECK_CONTAINS(err.msg, "line 1, column 4");
    rill__buf_free(&b);
}

/* The statements of a script as "[text]" each. */
static char *statements(const char *script, int *rc_out, rill__err *err)
{
    rill__buf b = {0};
    size_t off = 0, start, len;
    int rc;
    while ((rc = rill__sql_split(script, strlen(script), &off, &start, &len, err)) == 0 && len)
        rill__buf_printf(&b, "[%.*s]", (int)len, script + start);
    *rc_out = rc;
    char *out = rill__xstrdup(rill__buf_cstr(&b));
    rill__buf_free(&b);
    return out;
}

TEST(sql_split_scripts)
{
    rill__err err = {0};
    int rc;
    char *s = statements("-- a script\nSET 'x' = 'a;b';\n\n;CREATE TABLE t (a INT) /* ; */ "
                         "WITH ('k' = 'v');\nEXECUTE STATEMENT SET BEGIN\n INSERT INTO a "
                         "SELECT 1;\n INSERT INTO b SELECT 2;\nEND;\nSELECT `;` FROM t\n"
                         "-- the end\n",
                         &rc, &err);
    CHECK_RC(rc);
    CHECK_STR(s, "[SET 'x' = 'a;b'][CREATE TABLE t (a INT) /* ; */ WITH ('k' = 'v')]"
                 "[EXECUTE STATEMENT SET BEGIN\n INSERT INTO a SELECT 1;\n INSERT INTO b SELECT "
                 "2;\nEND][SELECT `;` FROM t]");
    free(s);
    /* EXPLAIN [details] STATEMENT SET BEGIN ... END is one statement too */
    s = statements("EXPLAIN STATEMENT SET BEGIN INSERT INTO a SELECT 1; INSERT INTO b SELECT 2; "
                   "END;EXPLAIN CHANGELOG_MODE STATEMENT SET BEGIN INSERT INTO a SELECT 1; END;"
                   "EXPLAIN SELECT 1;SELECT 2",
                   &rc, &err);
    CHECK_RC(rc);
    CHECK_STR(s, "[EXPLAIN STATEMENT SET BEGIN INSERT INTO a SELECT 1; INSERT INTO b SELECT 2; "
                 "END][EXPLAIN CHANGELOG_MODE STATEMENT SET BEGIN INSERT INTO a SELECT 1; END]"
                 "[EXPLAIN SELECT 1][SELECT 2]");
    free(s);
    s = statements("  -- nothing\n ; ", &rc, &err);
    CHECK_RC(rc);
    CHECK_STR(s, "");
    free(s);
    /* an error in the second statement says where in the script it is */
    s = statements("SELECT 1;\nSELECT 'x", &rc, &err);
    CHECK_EQ(rc, RILL_EPARSE);
    CHECK_CONTAINS(err.msg, "line 2, column 8");
    free(s);
}
