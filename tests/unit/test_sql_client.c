/* test_sql_client.c - unit tests of how `rill sql` cuts the lines it reads into statements
 * (cli/sql_input.c): a statement ends at a ';' outside strings, comments and EXECUTE
 * STATEMENT SET BEGIN ... END, and waits for more lines (the continuation prompt) until then;
 * and of the parsing of `rill sql`'s arguments. */
#include <string.h>

#include "base/base.h"
#include "cli/client.h"
#include "cli/sql_input.h"
#include "test.h"

static void add(rill__sql_input *in, const char *line)
{
    rill__sql_input_add(in, line, strlen(line));
}

/* The next statement as a NUL-terminated copy in out ("" when none is complete). */
static const char *next(rill__sql_input *in, char *out, size_t cap)
{
    size_t start, len;
    out[0] = '\0';
    if (rill__sql_input_next(in, &start, &len)) {
        snprintf(out, cap, "%.*s", (int)len, in->text + start);
    }
    return out;
}

TEST(sql_input_continuation_lines)
{
    rill__sql_input in = {0};
    char s[256];
    CHECK(!rill__sql_input_waiting(&in));
    add(&in, "SELECT a,\n");
    CHECK_STR(next(&in, s, sizeof s), "");
    CHECK(rill__sql_input_waiting(&in)); /* the continuation prompt */
    add(&in, "  b FROM t");
    CHECK_STR(next(&in, s, sizeof s), "");
    add(&in, "WHERE x = ';'   -- a ; in a comment");
    CHECK_STR(next(&in, s, sizeof s), "");
    CHECK(rill__sql_input_waiting(&in));
    add(&in, "  ;  SET 'k' = 'v'; SHOW");
    CHECK_STR(next(&in, s, sizeof s), "SELECT a,\n  b FROM t\nWHERE x = ';'"); /* no comment */
    CHECK_STR(next(&in, s, sizeof s), "SET 'k' = 'v'");
    CHECK_STR(next(&in, s, sizeof s), "");
    rill__sql_input_drop(&in);
    CHECK(rill__sql_input_waiting(&in));
    CHECK_STR(in.text, " SHOW\n"); /* what is left starts the next statement's lines */
    add(&in, "TABLES;");
    CHECK_STR(next(&in, s, sizeof s), "SHOW\nTABLES");
    rill__sql_input_drop(&in);
    CHECK(!rill__sql_input_waiting(&in));
    CHECK_EQ(in.len, 0);
    rill__sql_input_free(&in);
}

TEST(sql_input_strings_comments_and_statement_sets)
{
    rill__sql_input in = {0};
    char s[256];
    add(&in, "SELECT 'it''s; not");
    CHECK_STR(next(&in, s, sizeof s), ""); /* a string not closed: more lines */
    CHECK(rill__sql_input_waiting(&in));
    add(&in, "the end';");
    CHECK_STR(next(&in, s, sizeof s), "SELECT 'it''s; not\nthe end'");
    rill__sql_input_drop(&in);
    add(&in, "/* a comment;");
    CHECK_STR(next(&in, s, sizeof s), "");
    CHECK(rill__sql_input_waiting(&in));
    add(&in, "still */ SHOW TABLES;");
    CHECK_STR(next(&in, s, sizeof s), "SHOW TABLES");
    rill__sql_input_drop(&in);
    add(&in, "EXECUTE STATEMENT SET BEGIN");
    add(&in, "INSERT INTO a SELECT 1;");
    CHECK_STR(next(&in, s, sizeof s), "");
    add(&in, "INSERT INTO b SELECT 2;");
    CHECK_STR(next(&in, s, sizeof s), "");
    add(&in, "END;");
    CHECK_STR(next(&in, s, sizeof s),
              "EXECUTE STATEMENT SET BEGIN\nINSERT INTO a SELECT 1;\nINSERT INTO b SELECT 2;\nEND");
    rill__sql_input_drop(&in);
    add(&in, "EXPLAIN STATEMENT SET BEGIN INSERT INTO a SELECT 1;");
    CHECK_STR(next(&in, s, sizeof s), ""); /* inside it: more lines */
    add(&in, "END;");
    CHECK_STR(next(&in, s, sizeof s), "EXPLAIN STATEMENT SET BEGIN INSERT INTO a SELECT 1;\nEND");
    rill__sql_input_drop(&in);
    /* only comments and space: nothing waits */
    add(&in, "-- just a comment");
    add(&in, "   ");
    CHECK_STR(next(&in, s, sizeof s), "");
    CHECK(!rill__sql_input_waiting(&in));
    rill__sql_input_drop(&in);
    CHECK_EQ(in.len, 0);
    /* a character no token starts with: given at its ';' so that running it reports it */
    add(&in, "SELECT # FROM t;");
    CHECK_STR(next(&in, s, sizeof s), "SELECT # FROM t");
    rill__sql_input_drop(&in);
    /* the end of the input: the last statement without its ';' */
    add(&in, "SHOW");
    add(&in, "TABLES");
    size_t start, len;
    CHECK_EQ(rill__sql_input_rest(&in, &start, &len), 1);
    CHECK_EQ(len, strlen("SHOW\nTABLES"));
    CHECK(!memcmp(in.text + start, "SHOW\nTABLES", len));
    CHECK_EQ(rill__sql_input_rest(&in, &start, &len), 0);
    /* Ctrl-C at the prompt */
    add(&in, "SELECT");
    rill__sql_input_clear(&in);
    CHECK(!rill__sql_input_waiting(&in));
    rill__sql_input_free(&in);
}

TEST(sql_client_args)
{
    rill__run_args a;
    char *argv[] = {"-i", "init.sql", "-p", "3", "--checkpoint-interval", "100", "-f", "x.sql"};
    CHECK_EQ(rill__cli_sql_parse(8, argv, &a), 0);
    CHECK_STR(a.sql_init, "init.sql");
    CHECK_STR(a.sql_file, "x.sql");
    CHECK_STR(a.parallelism, "3");
    CHECK_EQ(a.n_opts, 1);
    CHECK_STR(a.opts[0].key, "checkpoint.interval");
    char *none[] = {"--init"};
    CHECK_EQ(rill__cli_sql_parse(1, none, &a), 2);
    char *stray[] = {"job.sql"};
    CHECK_EQ(rill__cli_sql_parse(1, stray, &a), 2);
    char *remote[] = {"-m", "h:1"};
    CHECK_EQ(rill__cli_sql_parse(2, remote, &a), 2);
    char *help[] = {"-h"};
    CHECK_EQ(rill__cli_sql_parse(1, help, &a), 0);
    CHECK(a.help);
}
