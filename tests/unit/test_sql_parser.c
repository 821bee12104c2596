/* test_sql_parser.c - the SQL parser and printer (src/sql/parser.c, ast.c): every statement
 * form, expression, type and FROM form of Flink's grammar, the tree's shape, the printer's round
 * trip (print, parse, print gives the same text), and bad SQL with its exact message, line and
 * column. */
#include <string.h>

#include "sql/ast.h"
#include "test.h"

/* Parses sql (failing the test when it does not), checks the round trip, and returns the tree;
 * *print_out (when not NULL) gets the canonical text (free it). */
static rill__sql_ast *parse_print(const char *sql, char **print_out)
{
    rill__sql_ast *ast;
    rill__err err = {0};
    int rc = rill__sql_parse(sql, 0, strlen(sql), &ast, &err);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "does not parse: %s\n%s", sql, err.msg);
    rill__buf p1 = {0}, p2 = {0};
    rill__sql_print_stmt(&p1, ast->stmt);
    rill__sql_ast *again;
    rc = rill__sql_parse(rill__buf_cstr(&p1), 0, p1.len, &again, &err);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "the print does not parse: %s\n%s", rill__buf_cstr(&p1),
                       err.msg);
    rill__sql_print_stmt(&p2, again->stmt);
    CHECK_STR(rill__buf_cstr(&p2), rill__buf_cstr(&p1));
    rill__sql_ast_free(again);
    if (print_out)
        *print_out = rill__xstrdup(rill__buf_cstr(&p1));
    rill__buf_free(&p1);
    rill__buf_free(&p2);
    return ast;
}

static rill__sql_stmt *parse(const char *sql, rill__sql_ast **ast_out)
{
    *ast_out = parse_print(sql, NULL);
    return (*ast_out)->stmt;
}

/* The canonical print of sql. */
#define CHECK_PRINT(sql, want)                                                                     \
    do {                                                                                           \
        char *got_;                                                                                \
        rill__sql_ast_free(parse_print((sql), &got_));                                             \
        CHECK_STR(got_, (want));                                                                   \
        free(got_);                                                                                \
    } while (0)

/* sql does not parse, with exactly the message want (line, caret and all). */
#define CHECK_ERROR(sql, want)                                                                     \
    do {                                                                                           \
        rill__sql_ast *bad_ast_ = (rill__sql_ast *)1;                                              \
        rill__err e_ = {0};                                                                        \
        CHECK_EQ(rill__sql_parse((sql), 0, strlen(sql), &bad_ast_, &e_), RILL_EPARSE);             \
        CHECK(bad_ast_ == NULL);                                                                   \
        CHECK_STR(e_.msg, (want));                                                                 \
    } while (0)

static const char *id0(const rill__sql_name *n)
{
    return n->n_parts ? n->parts[n->n_parts - 1].text : "";
}

/* The select of a query statement. */
static rill__sql_query *select_of(rill__sql_stmt *s)
{
    CHECK_EQ(s->kind, RILL_SQL_S_QUERY);
    return s->u.query;
}

/* ---- statements ---------------------------------------------------------------------------- */

TEST(sql_parse_client_statements)
{
    rill__sql_ast *ast;
    rill__sql_stmt *s = parse("SET 'parallelism.default' = '2'", &ast);
    CHECK_EQ(s->kind, RILL_SQL_S_SET);
    CHECK_STR(s->u.set.key, "parallelism.default");
    CHECK_STR(s->u.set.value, "2");
    rill__sql_ast_free(ast);
    s = parse("set", &ast);
    CHECK(s->kind == RILL_SQL_S_SET && !s->u.set.key);
    rill__sql_ast_free(ast);
    s = parse("RESET 'table.local-time-zone';", &ast);
    CHECK(s->kind == RILL_SQL_S_RESET && !strcmp(s->u.set.key, "table.local-time-zone"));
    rill__sql_ast_free(ast);
    s = parse("RESET", &ast);
    CHECK(s->kind == RILL_SQL_S_RESET && !s->u.set.key);
    rill__sql_ast_free(ast);

    static const struct {
        const char *sql;
        rill__sql_show what;
    } shows[] = {{"SHOW TABLES", RILL_SQL_SHOW_TABLES},
                 {"show views", RILL_SQL_SHOW_VIEWS},
                 {"SHOW FUNCTIONS", RILL_SQL_SHOW_FUNCTIONS},
                 {"SHOW CATALOGS", RILL_SQL_SHOW_CATALOGS},
                 {"SHOW DATABASES", RILL_SQL_SHOW_DATABASES},
                 {"SHOW CURRENT CATALOG", RILL_SQL_SHOW_CURRENT_CATALOG},
                 {"SHOW CURRENT DATABASE", RILL_SQL_SHOW_CURRENT_DATABASE},
                 {"SHOW JOBS", RILL_SQL_SHOW_JOBS}};
    for (size_t i = 0; i < sizeof shows / sizeof *shows; i++) {
        s = parse(shows[i].sql, &ast);
        CHECK_EQ(s->kind, RILL_SQL_S_SHOW);
        CHECK_EQ(s->u.show.what, shows[i].what);
        rill__sql_ast_free(ast);
    }
    s = parse("show user functions", &ast);
    CHECK(s->u.show.what == RILL_SQL_SHOW_FUNCTIONS && s->u.show.user && !s->u.show.like);
    rill__sql_ast_free(ast);
    s = parse("SHOW FUNCTIONS IN default_catalog.default_database NOT ILIKE 'a%'", &ast);
    CHECK(s->u.show.what == RILL_SQL_SHOW_FUNCTIONS && !s->u.show.user);
    CHECK(s->u.show.not_like && s->u.show.ilike && s->u.show.name.n_parts == 2);
    CHECK_STR(s->u.show.like, "a%");
    rill__sql_ast_free(ast);
    CHECK_PRINT("show user functions like 'x_%'", "SHOW USER FUNCTIONS LIKE 'x_%'");
    CHECK_PRINT("SHOW FUNCTIONS FROM db NOT LIKE 'x'", "SHOW FUNCTIONS FROM db NOT LIKE 'x'");
    s = parse("SHOW CREATE TABLE cat.db.Orders", &ast);
    CHECK_EQ(s->u.show.what, RILL_SQL_SHOW_CREATE_TABLE);
    CHECK_EQ(s->u.show.name.n_parts, 3);
    CHECK_STR(s->u.show.name.parts[0].text, "cat");
    CHECK_STR(s->u.show.name.parts[2].text, "Orders");
    rill__sql_ast_free(ast);
    CHECK_PRINT("show create view v", "SHOW CREATE VIEW v");
    s = parse("DESC Orders", &ast);
    CHECK(s->kind == RILL_SQL_S_DESCRIBE && !strcmp(id0(&s->u.describe.name), "Orders"));
    rill__sql_ast_free(ast);
    CHECK_PRINT("describe extended `my table`", "DESCRIBE EXTENDED `my table`");
    s = parse("USE CATALOG my_cat", &ast);
    CHECK(s->kind == RILL_SQL_S_USE && s->u.use.catalog);
    rill__sql_ast_free(ast);
    s = parse("use my_cat.db", &ast);
    CHECK(s->kind == RILL_SQL_S_USE && !s->u.use.catalog && s->u.use.name.n_parts == 2);
    rill__sql_ast_free(ast);
    static const struct {
        const char *sql;
        rill__sql_stmt_kind kind;
    } words[] = {{"HELP", RILL_SQL_S_HELP},
                 {"quit", RILL_SQL_S_QUIT},
                 {"EXIT", RILL_SQL_S_QUIT},
                 {"CLEAR", RILL_SQL_S_CLEAR},
                 {"BEGIN STATEMENT SET", RILL_SQL_S_BEGIN_SET},
                 {"END", RILL_SQL_S_END}};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        s = parse(words[i].sql, &ast);
        CHECK_EQ(s->kind, words[i].kind);
        rill__sql_ast_free(ast);
    }
}

TEST(sql_parse_create_drop)
{
    rill__sql_ast *ast;
    rill__sql_stmt *s = parse(
        "CREATE TEMPORARY VIEW IF NOT EXISTS db.v (a, `B`) COMMENT 'a view' AS SELECT x, y FROM t",
        &ast);
    CHECK_EQ(s->kind, RILL_SQL_S_CREATE_VIEW);
    CHECK(s->u.create_view.temporary && s->u.create_view.if_not_exists);
    CHECK_EQ(s->u.create_view.n_cols, 2);
    CHECK(s->u.create_view.cols[1].quoted && !strcmp(s->u.create_view.cols[1].text, "B"));
    CHECK_STR(s->u.create_view.comment, "a view");
    CHECK_EQ(s->u.create_view.query->u.select.n_items, 2);
    rill__sql_ast_free(ast);
    CHECK_PRINT("create view v as select * from t", "CREATE VIEW v AS SELECT * FROM t");

    s = parse("CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS count_char AS 'count_char' "
              "LANGUAGE C USING JAR 'nexmark_udf.so', JAR 'more.so'",
              &ast);
    CHECK_EQ(s->kind, RILL_SQL_S_CREATE_FUNCTION);
    CHECK(s->u.create_function.temporary && s->u.create_function.system &&
          s->u.create_function.if_not_exists);
    CHECK_STR(s->u.create_function.identifier, "count_char");
    CHECK_EQ(s->u.create_function.language, RILL_SQL_LANG_C);
    CHECK_EQ(s->u.create_function.n_jars, 2);
    CHECK_STR(s->u.create_function.jars[1], "more.so");
    rill__sql_ast_free(ast);
    CHECK_PRINT("create function f as 'com.example.F' language java",
                "CREATE FUNCTION f AS 'com.example.F' LANGUAGE JAVA");
    CHECK_PRINT("CREATE TEMPORARY FUNCTION f AS 'm.f' LANGUAGE PYTHON",
                "CREATE TEMPORARY FUNCTION f AS 'm.f' LANGUAGE PYTHON");

    s = parse("DROP TEMPORARY TABLE IF EXISTS cat.db.t", &ast);
    CHECK(s->kind == RILL_SQL_S_DROP && s->u.drop.object == RILL_SQL_OBJ_TABLE &&
          s->u.drop.temporary && s->u.drop.if_exists && s->u.drop.name.n_parts == 3);
    rill__sql_ast_free(ast);
    s = parse("DROP VIEW v", &ast);
    CHECK(s->u.drop.object == RILL_SQL_OBJ_VIEW && !s->u.drop.if_exists);
    rill__sql_ast_free(ast);
    s = parse("DROP TEMPORARY SYSTEM FUNCTION f", &ast);
    CHECK(s->u.drop.object == RILL_SQL_OBJ_FUNCTION && s->u.drop.system);
    rill__sql_ast_free(ast);
}

/* Nexmark's DDL in its style: nested ROW columns, a computed column, a WATERMARK. */
TEST(sql_parse_create_table_nexmark)
{
    const char *ddl =
        "CREATE TABLE datagen (\n"
        "    event_type int,\n"
        "    person ROW<\n"
        "        id  BIGINT,\n"
        "        name  VARCHAR,\n"
        "        emailAddress  VARCHAR,\n"
        "        dateTime TIMESTAMP(3),\n"
        "        extra  VARCHAR>,\n"
        "    bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,\n"
        "        dateTime TIMESTAMP(3), extra VARCHAR>,\n"
        "    dateTime AS\n"
        "        CASE\n"
        "            WHEN event_type = 0 THEN person.dateTime\n"
        "            ELSE bid.dateTime\n"
        "        END,\n"
        "    WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND\n"
        ") WITH (\n"
        "    'connector' = 'nexmark',\n"
        "    'first-event.rate' = '10000000',\n"
        "    'events.num' = '100000000'\n"
        ")";
    rill__sql_ast *ast;
    rill__sql_stmt *s = parse(ddl, &ast);
    CHECK_EQ(s->kind, RILL_SQL_S_CREATE_TABLE);
    rill__sql_create_table *ct = &s->u.create_table;
    CHECK_STR(id0(&ct->name), "datagen");
    CHECK_EQ(ct->n_columns, 4);
    CHECK_EQ(ct->columns[0].kind, RILL_SQL_COL_PHYSICAL);
    CHECK_EQ(ct->columns[0].type->kind, RILL_SQL_T_INT);
    rill__sql_type *person = ct->columns[1].type;
    CHECK_EQ(person->kind, RILL_SQL_T_ROW);
    CHECK_EQ(person->n_fields, 5);
    CHECK_STR(person->fields[2].name.text, "emailAddress");
    CHECK_EQ(person->fields[1].type->kind, RILL_SQL_T_VARCHAR);
    /* VARCHAR alone is VARCHAR(2147483647) in Flink SQL (its type system's default) */
    CHECK_EQ(person->fields[1].type->precision, 2147483647);
    CHECK(!person->fields[1].type->precision_given);
    CHECK_EQ(person->fields[3].type->kind, RILL_SQL_T_TIMESTAMP);
    CHECK_EQ(person->fields[3].type->precision, 3);
    CHECK(person->fields[3].type->precision_given);
    CHECK_EQ(ct->columns[2].type->n_fields, 7);
    rill__sql_column *computed = &ct->columns[3];
    CHECK_EQ(computed->kind, RILL_SQL_COL_COMPUTED);
    CHECK_STR(computed->name.text, "dateTime");
    CHECK_EQ(computed->expr->kind, RILL_SQL_E_CASE);
    CHECK_EQ(computed->expr->u.kase.n_whens, 1);
    rill__sql_expr *then = computed->expr->u.kase.whens[0].then;
    CHECK_EQ(then->kind, RILL_SQL_E_IDENT);
    CHECK_EQ(then->u.name.n_parts, 2);
    CHECK_STR(then->u.name.parts[0].text, "person");
    CHECK(ct->has_watermark);
    CHECK_STR(id0(&ct->watermark_col), "dateTime");
    CHECK_EQ(ct->watermark->kind, RILL_SQL_E_BINARY);
    CHECK_EQ(ct->watermark->u.binary.op, RILL_SQL_OP_MINUS);
    rill__sql_expr *iv = ct->watermark->u.binary.right;
    CHECK_EQ(iv->kind, RILL_SQL_E_INTERVAL);
    CHECK_STR(iv->u.interval.text, "4");
    CHECK_EQ(iv->u.interval.q.start, RILL_SQL_UNIT_SECOND);
    CHECK_EQ(ct->n_options, 3);
    CHECK_STR(ct->options[1].key, "first-event.rate");
    CHECK_STR(ct->options[1].value, "10000000");
    /* positions: the WATERMARK's expression starts on line 16, column 31 */
    CHECK_EQ(ct->watermark->pos.line, 16);
    CHECK_EQ(ct->watermark->pos.col, 31);
    CHECK_EQ(ct->columns[1].name.pos.line, 3);
    CHECK_EQ(ct->columns[1].name.pos.col, 5);
    rill__sql_ast_free(ast);
}

TEST(sql_parse_create_table_columns)
{
    rill__sql_ast *ast;
    rill__sql_stmt *s = parse(
        "CREATE TEMPORARY TABLE IF NOT EXISTS cat.db.kafka_t (\n"
        "  id INT NOT NULL COMMENT 'the id',\n"
        "  ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,\n"
        "  `offset` BIGINT METADATA VIRTUAL,\n"
        "  part INT METADATA FROM 'partition',\n"
        "  cost AS price * quantity COMMENT 'computed',\n"
        "  price DECIMAL(10, 2), quantity INT,\n"
        "  CONSTRAINT pk PRIMARY KEY (id, part) NOT ENFORCED\n"
        ") COMMENT 'orders' PARTITIONED BY (part, id) WITH ('connector' = 'kafka', 'topic' = 'o')",
        &ast);
    rill__sql_create_table *ct = &s->u.create_table;
    CHECK(ct->temporary && ct->if_not_exists);
    CHECK_EQ(ct->n_columns, 7);
    CHECK(ct->columns[0].type->not_null);
    CHECK_STR(ct->columns[0].comment, "the id");
    CHECK_EQ(ct->columns[1].kind, RILL_SQL_COL_METADATA);
    CHECK_STR(ct->columns[1].metadata_key, "timestamp");
    CHECK(ct->columns[1].is_virtual);
    CHECK_EQ(ct->columns[1].type->kind, RILL_SQL_T_TIMESTAMP_LTZ);
    CHECK(ct->columns[2].name.quoted && !strcmp(ct->columns[2].name.text, "offset"));
    CHECK(ct->columns[2].metadata_key == NULL && ct->columns[2].is_virtual);
    CHECK(!ct->columns[3].is_virtual);
    CHECK_EQ(ct->columns[4].kind, RILL_SQL_COL_COMPUTED);
    CHECK_STR(ct->columns[4].comment, "computed");
    CHECK_EQ(ct->n_pk, 2);
    CHECK_STR(ct->pk[1].text, "part");
    CHECK_STR(ct->pk_constraint->text, "pk");
    CHECK_STR(ct->comment, "orders");
    CHECK_EQ(ct->n_partitioned, 2);
    CHECK_STR(ct->partitioned[0].text, "part");
    rill__sql_ast_free(ast);
    /* a column's own primary key */
    s = parse("CREATE TABLE t (id BIGINT PRIMARY KEY NOT ENFORCED, v STRING) WITH ('a' = 'b')",
              &ast);
    CHECK(s->u.create_table.columns[0].primary_key);
    CHECK_EQ(s->u.create_table.n_pk, 1);
    CHECK_STR(s->u.create_table.pk[0].text, "id");
    rill__sql_ast_free(ast);
    CHECK_PRINT("create table t (a int, b string, primary key (a) not enforced) "
                "with ('connector'='print')",
                "CREATE TABLE t (a INT, b STRING, PRIMARY KEY (a) NOT ENFORCED) WITH "
                "('connector' = 'print')");
    CHECK_PRINT("CREATE TABLE t (`watermark` INT, `select` INT) WITH ('k' = 'it''s')",
                "CREATE TABLE t (`watermark` INT, `select` INT) WITH ('k' = 'it''s')");
}

TEST(sql_parse_insert_explain_execute)
{
    rill__sql_ast *ast;
    rill__sql_stmt *s = parse("INSERT OVERWRITE db.sink /*+ OPTIONS('sink.parallelism' = '2') */ "
                              "PARTITION (dt = '2020-01-01', h = 10) (a, b) SELECT a, b FROM src",
                              &ast);
    CHECK_EQ(s->kind, RILL_SQL_S_INSERT);
    CHECK(s->u.insert.overwrite);
    CHECK_EQ(s->u.insert.target.n_parts, 2);
    CHECK_EQ(s->u.insert.n_hints, 1);
    CHECK_STR(s->u.insert.hints[0].name.text, "OPTIONS");
    CHECK_STR(s->u.insert.hints[0].options[0].key, "sink.parallelism");
    CHECK_EQ(s->u.insert.n_partition, 2);
    CHECK_STR(s->u.insert.partition[0].value, "2020-01-01");
    CHECK_STR(s->u.insert.partition[1].value, "10");
    CHECK_EQ(s->u.insert.n_cols, 2);
    CHECK_EQ(s->u.insert.query->kind, RILL_SQL_Q_SELECT);
    rill__sql_ast_free(ast);
    s = parse("INSERT INTO t VALUES (1, 'a'), (2, 'b')", &ast);
    CHECK_EQ(s->u.insert.query->kind, RILL_SQL_Q_VALUES);
    CHECK_EQ(s->u.insert.query->u.values.n_rows, 2);
    CHECK_EQ(s->u.insert.query->u.values.rows[1]->kind, RILL_SQL_E_ROW);
    rill__sql_ast_free(ast);
    CHECK_PRINT("insert into t (select 1)", "INSERT INTO t SELECT 1");

    s = parse("EXECUTE STATEMENT SET\nBEGIN\n  INSERT INTO a SELECT * FROM s;\n"
              "  INSERT INTO b SELECT x FROM s WHERE x > 1;\nEND",
              &ast);
    CHECK_EQ(s->kind, RILL_SQL_S_STATEMENT_SET);
    CHECK_EQ(s->u.statement_set.n_inserts, 2);
    CHECK_STR(id0(&s->u.statement_set.inserts[1]->u.insert.target), "b");
    CHECK_EQ(s->u.statement_set.inserts[1]->pos.line, 4);
    rill__sql_ast_free(ast);
    s = parse("EXECUTE INSERT INTO a SELECT 1", &ast);
    CHECK(s->kind == RILL_SQL_S_EXECUTE && s->u.inner->kind == RILL_SQL_S_INSERT);
    rill__sql_ast_free(ast);
    s = parse("EXECUTE SELECT 1", &ast);
    CHECK(s->kind == RILL_SQL_S_EXECUTE && s->u.inner->kind == RILL_SQL_S_QUERY);
    rill__sql_ast_free(ast);

    s = parse("EXPLAIN PLAN FOR SELECT * FROM t", &ast);
    CHECK(s->kind == RILL_SQL_S_EXPLAIN && s->u.explain.plan_for);
    CHECK_EQ(s->u.explain.inner->kind, RILL_SQL_S_QUERY);
    rill__sql_ast_free(ast);
    s = parse("EXPLAIN CHANGELOG_MODE, ESTIMATED_COST, JSON_EXECUTION_PLAN INSERT INTO t SELECT 1",
              &ast);
    CHECK_EQ(s->u.explain.details, RILL_SQL_EXPLAIN_CHANGELOG_MODE |
                                       RILL_SQL_EXPLAIN_ESTIMATED_COST |
                                       RILL_SQL_EXPLAIN_JSON_EXECUTION_PLAN);
    CHECK_EQ(s->u.explain.inner->kind, RILL_SQL_S_INSERT);
    rill__sql_ast_free(ast);
    s = parse("EXPLAIN STATEMENT SET BEGIN INSERT INTO a SELECT 1; END", &ast);
    CHECK_EQ(s->u.explain.inner->kind, RILL_SQL_S_STATEMENT_SET);
    rill__sql_ast_free(ast);
    CHECK_PRINT("explain select 1", "EXPLAIN SELECT 1");
}

/* ---- queries ------------------------------------------------------------------------------- */

TEST(sql_parse_select_clauses)
{
    rill__sql_ast *ast;
    rill__sql_stmt *s = parse(
        "SELECT DISTINCT a AS x, b y, t.*, * FROM t WHERE a > 1 GROUP BY a, b HAVING COUNT(*) > 2 "
        "WINDOW w AS (PARTITION BY a ORDER BY ts) ORDER BY x DESC NULLS FIRST, y LIMIT 10",
        &ast);
    rill__sql_query *q = select_of(s);
    CHECK_EQ(q->kind, RILL_SQL_Q_SELECT);
    CHECK_EQ(q->u.select.quantifier, 1);
    CHECK_EQ(q->u.select.n_items, 4);
    CHECK_STR(q->u.select.items[0].alias->text, "x");
    CHECK_STR(q->u.select.items[1].alias->text, "y");
    CHECK_EQ(q->u.select.items[2].expr->kind, RILL_SQL_E_STAR);
    CHECK_STR(q->u.select.items[2].expr->u.star.qualifier.parts[0].text, "t");
    CHECK_EQ(q->u.select.items[3].expr->u.star.qualifier.n_parts, 0);
    CHECK_EQ(q->u.select.from->kind, RILL_SQL_F_TABLE);
    CHECK_EQ(q->u.select.where->u.binary.op, RILL_SQL_OP_GT);
    CHECK(q->u.select.has_group_by && q->u.select.n_group == 2);
    CHECK_EQ(q->u.select.having->kind, RILL_SQL_E_BINARY);
    CHECK_EQ(q->u.select.n_windows, 1);
    CHECK_EQ(q->u.select.windows[0].spec->n_partition, 1);
    CHECK_EQ(q->n_order, 2);
    CHECK(q->order[0].desc && q->order[0].nulls == 1 && !q->order[1].desc);
    CHECK_STR(q->limit->u.lit.text, "10");
    rill__sql_ast_free(ast);

    s = parse("SELECT a FROM t ORDER BY a OFFSET 5 ROWS FETCH FIRST 3 ROWS ONLY", &ast);
    q = select_of(s);
    CHECK(q->fetch && !strcmp(q->limit->u.lit.text, "3") && !strcmp(q->offset->u.lit.text, "5"));
    rill__sql_ast_free(ast);
    CHECK_PRINT("select 1", "SELECT 1");
    CHECK_PRINT("select all a from t limit 2", "SELECT ALL a FROM t LIMIT 2");

    s = parse("SELECT a, COUNT(*) FROM t GROUP BY GROUPING SETS ((a, b), (a), ()), ROLLUP (a, b), "
              "CUBE (c)",
              &ast);
    q = select_of(s);
    CHECK_EQ(q->u.select.n_group, 3);
    rill__sql_group *gs = q->u.select.group[0];
    CHECK_EQ(gs->kind, RILL_SQL_G_GROUPING_SETS);
    CHECK_EQ(gs->n_elems, 3);
    CHECK_EQ(gs->elems[0]->expr->kind, RILL_SQL_E_ROW);
    CHECK_EQ(gs->elems[1]->expr->kind, RILL_SQL_E_IDENT);
    CHECK_EQ(gs->elems[2]->kind, RILL_SQL_G_EMPTY);
    CHECK_EQ(q->u.select.group[1]->kind, RILL_SQL_G_ROLLUP);
    CHECK_EQ(q->u.select.group[2]->kind, RILL_SQL_G_CUBE);
    rill__sql_ast_free(ast);
}

TEST(sql_parse_set_operations_with_values)
{
    rill__sql_ast *ast;
    /* INTERSECT binds tighter than UNION and EXCEPT; those lean left */
    rill__sql_stmt *s = parse("SELECT a FROM x UNION ALL SELECT b FROM y INTERSECT SELECT c FROM z "
                              "EXCEPT SELECT d FROM w",
                              &ast);
    rill__sql_query *q = select_of(s);
    CHECK(q->kind == RILL_SQL_Q_SETOP && q->u.setop.op == RILL_SQL_SET_EXCEPT);
    rill__sql_query *u = q->u.setop.left;
    CHECK(u->kind == RILL_SQL_Q_SETOP && u->u.setop.op == RILL_SQL_SET_UNION && u->u.setop.all);
    CHECK_EQ(u->u.setop.right->u.setop.op, RILL_SQL_SET_INTERSECT);
    rill__sql_ast_free(ast);
    CHECK_PRINT("select 1 union select 2 minus select 3",
                "SELECT 1 UNION SELECT 2 EXCEPT SELECT 3");
    CHECK_PRINT("(select 1 union select 2) intersect (select 3 order by 1 limit 1)",
                "(SELECT 1 UNION SELECT 2) INTERSECT (SELECT 3 ORDER BY 1 LIMIT 1)");

    s = parse("WITH a (x) AS (SELECT 1), b AS (SELECT * FROM a) SELECT * FROM a, b", &ast);
    q = select_of(s);
    CHECK_EQ(q->n_with, 2);
    CHECK_STR(q->with[0].name.text, "a");
    CHECK_EQ(q->with[0].n_cols, 1);
    CHECK_EQ(q->with[1].query->u.select.from->kind, RILL_SQL_F_TABLE);
    CHECK_EQ(q->u.select.from->kind, RILL_SQL_F_JOIN);
    CHECK_EQ(q->u.select.from->u.join.kind, RILL_SQL_J_COMMA);
    rill__sql_ast_free(ast);
    CHECK_PRINT("values (1, 'a'), (2, 'b')", "VALUES (1, 'a'), (2, 'b')");
    CHECK_PRINT("values row(1, 'a'), (2)", "VALUES ROW(1, 'a'), (2)");
    CHECK_PRINT("select * from (values (1), (2)) as t (x)",
                "SELECT * FROM (VALUES (1), (2)) AS t (x)");
}

TEST(sql_parse_from_forms)
{
    rill__sql_ast *ast;
    rill__sql_stmt *s = parse(
        "SELECT * FROM a LEFT JOIN b ON a.x = b.x RIGHT OUTER JOIN c USING (y) "
        "FULL JOIN d ON TRUE CROSS JOIN e INNER JOIN f ON 1 = 1, LATERAL TABLE(split(s)) AS T(w)",
        &ast);
    rill__sql_from *f = select_of(s)->u.select.from;
    /* left-deep: (((((a LEFT b) RIGHT c) FULL d) CROSS e) INNER f), lateral */
    CHECK(f->kind == RILL_SQL_F_JOIN && f->u.join.kind == RILL_SQL_J_COMMA);
    CHECK(f->u.join.right->kind == RILL_SQL_F_FUNCTION && f->u.join.right->lateral);
    CHECK_STR(f->u.join.right->alias->text, "T");
    CHECK_EQ(f->u.join.right->n_cols, 1);
    rill__sql_from *j = f->u.join.left;
    CHECK_EQ(j->u.join.kind, RILL_SQL_J_INNER);
    j = j->u.join.left;
    CHECK_EQ(j->u.join.kind, RILL_SQL_J_CROSS);
    j = j->u.join.left;
    CHECK_EQ(j->u.join.kind, RILL_SQL_J_FULL);
    j = j->u.join.left;
    CHECK(j->u.join.kind == RILL_SQL_J_RIGHT && j->u.join.n_using == 1);
    j = j->u.join.left;
    CHECK(j->u.join.kind == RILL_SQL_J_LEFT && j->u.join.on != NULL);
    CHECK_STR(id0(&j->u.join.left->u.table.name), "a");
    rill__sql_ast_free(ast);

    s = parse("SELECT * FROM Orders AS o JOIN Rates FOR SYSTEM_TIME AS OF o.proctime AS r "
              "ON o.currency = r.currency",
              &ast);
    f = select_of(s)->u.select.from;
    CHECK_STR(f->u.join.left->alias->text, "o");
    rill__sql_from *r = f->u.join.right;
    CHECK(r->kind == RILL_SQL_F_TABLE && r->u.table.system_time != NULL);
    CHECK_EQ(r->u.table.system_time->u.name.n_parts, 2);
    CHECK_STR(r->alias->text, "r");
    rill__sql_ast_free(ast);

    s = parse("SELECT * FROM cat.db.t /*+ OPTIONS('scan.startup.mode'='earliest-offset', "
              "'a' = 'b') */ x",
              &ast);
    f = select_of(s)->u.select.from;
    CHECK_EQ(f->u.table.name.n_parts, 3);
    CHECK_EQ(f->u.table.n_hints, 1);
    CHECK_EQ(f->u.table.hints[0].n_options, 2);
    CHECK_STR(f->u.table.hints[0].options[0].value, "earliest-offset");
    CHECK_STR(f->alias->text, "x");
    rill__sql_ast_free(ast);
    s = parse("SELECT /*+ BROADCAST(dim), STATE_TTL('o' = '1d') */ * FROM t", &ast);
    rill__sql_query *q = select_of(s);
    CHECK_EQ(q->u.select.n_hints, 2);
    CHECK_EQ(q->u.select.hints[0].n_values, 1);
    CHECK_STR(q->u.select.hints[0].values[0], "dim");
    CHECK_STR(q->u.select.hints[1].options[0].key, "o");
    rill__sql_ast_free(ast);

    s = parse("SELECT * FROM (SELECT a FROM t) AS s (x), UNNEST(arr) WITH ORDINALITY AS u (v, n)",
              &ast);
    f = select_of(s)->u.select.from;
    CHECK_EQ(f->u.join.left->kind, RILL_SQL_F_QUERY);
    CHECK_EQ(f->u.join.left->n_cols, 1);
    CHECK(f->u.join.right->kind == RILL_SQL_F_UNNEST && f->u.join.right->u.unnest.ordinality);
    rill__sql_ast_free(ast);
    CHECK_PRINT("select * from a join (b join c on true) on true",
                "SELECT * FROM a JOIN (b JOIN c ON TRUE) ON TRUE");
    CHECK_PRINT("select * from a natural join b", "SELECT * FROM a NATURAL JOIN b");
}

TEST(sql_parse_window_tvfs)
{
    rill__sql_ast *ast;
    rill__sql_stmt *s = parse("SELECT window_start, window_end, SUM(price) FROM TABLE(\n"
                              "  TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '10' MINUTES))\n"
                              "GROUP BY window_start, window_end",
                              &ast);
    rill__sql_from *f = select_of(s)->u.select.from;
    CHECK(f->kind == RILL_SQL_F_FUNCTION && !f->lateral);
    rill__sql_call *c = &f->u.call->u.call;
    CHECK_STR(c->name.parts[0].text, "TUMBLE");
    CHECK_EQ(c->n_args, 3);
    CHECK_EQ(c->args[0]->kind, RILL_SQL_E_TABLE_ARG);
    CHECK_STR(id0(&c->args[0]->u.table_arg.table), "Bid");
    CHECK_EQ(c->args[1]->kind, RILL_SQL_E_CALL);
    CHECK_STR(c->args[1]->u.call.name.parts[0].text, "DESCRIPTOR");
    CHECK_EQ(c->args[2]->kind, RILL_SQL_E_INTERVAL);
    CHECK_EQ(c->args[2]->u.interval.q.start, RILL_SQL_UNIT_MINUTE); /* MINUTES: the plural */
    CHECK_EQ(c->args[0]->pos.line, 2);
    CHECK_EQ(c->args[0]->pos.col, 10);
    rill__sql_ast_free(ast);

    s = parse("SELECT * FROM TABLE(HOP(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '5' MINUTES, "
              "INTERVAL '10' MINUTES))",
              &ast);
    CHECK_EQ(select_of(s)->u.select.from->u.call->u.call.n_args, 4);
    rill__sql_ast_free(ast);
    s = parse("SELECT * FROM TABLE(CUMULATE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '2' MINUTES, "
              "INTERVAL '10' MINUTES, INTERVAL '1' MINUTE))",
              &ast);
    CHECK_EQ(select_of(s)->u.select.from->u.call->u.call.n_args, 5);
    rill__sql_ast_free(ast);
    s = parse("SELECT * FROM TABLE(SESSION(TABLE Bid PARTITION BY item, DESCRIPTOR(bidtime), "
              "INTERVAL '5' MINUTES))",
              &ast);
    c = &select_of(s)->u.select.from->u.call->u.call;
    CHECK_EQ(c->args[0]->u.table_arg.n_partition, 1);
    CHECK_STR(id0(&c->args[0]->u.table_arg.partition[0]->u.name), "item");
    CHECK_EQ(c->n_args, 3);
    rill__sql_ast_free(ast);
    CHECK_PRINT("SELECT * FROM TABLE(SESSION(TABLE Bid PARTITION BY (item, seller), "
                "DESCRIPTOR(bidtime), INTERVAL '5' MINUTE))",
                "SELECT * FROM TABLE(SESSION(TABLE Bid PARTITION BY (item, seller), "
                "DESCRIPTOR(bidtime), INTERVAL '5' MINUTE))");

    s = parse("SELECT * FROM TABLE(TUMBLE(DATA => TABLE Bid, TIMECOL => DESCRIPTOR(bidtime), "
              "SIZE => INTERVAL '10' MINUTES, `OFFSET` => INTERVAL '1' MINUTES))",
              &ast);
    c = &select_of(s)->u.select.from->u.call->u.call;
    CHECK_EQ(c->n_args, 4);
    CHECK_EQ(c->args[0]->kind, RILL_SQL_E_NAMED_ARG);
    CHECK_STR(c->args[0]->u.named.name.text, "DATA");
    CHECK_EQ(c->args[0]->u.named.value->kind, RILL_SQL_E_TABLE_ARG);
    CHECK_STR(c->args[2]->u.named.name.text, "SIZE");
    CHECK(c->args[3]->u.named.name.quoted);
    CHECK_EQ(c->args[3]->u.named.value->kind, RILL_SQL_E_INTERVAL);
    rill__sql_ast_free(ast);
    /* a reserved word names a parameter unquoted */
    CHECK_PRINT("SELECT * FROM TABLE(TUMBLE(data => TABLE Bid, timecol => DESCRIPTOR(bidtime), "
                "size => INTERVAL '10' MINUTES, offset => INTERVAL '1' MINUTES))",
                "SELECT * FROM TABLE(TUMBLE(data => TABLE Bid, timecol => DESCRIPTOR(bidtime), "
                "size => INTERVAL '10' MINUTE, offset => INTERVAL '1' MINUTE))");
}

/* Queries in the style of Nexmark's q0-q22 (our own texts): each parses and prints back. */
TEST(sql_parse_nexmark_style_queries)
{
    static const char *const qs[] = {
        "SELECT auction, bidder, price, dateTime, extra FROM bid",
        "SELECT auction, bidder, 0.908 * price as price, dateTime, extra FROM bid",
        "SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0",
        "SELECT P.name, P.city, P.state, A.id FROM auction AS A INNER JOIN person AS P "
        "on A.seller = P.id WHERE A.category = 10 and (P.state = 'OR' OR P.state = 'ID' OR "
        "P.state = 'CA')",
        "SELECT Q.category, AVG(Q.final) FROM (SELECT MAX(B.price) AS final, A.category FROM "
        "auction A, bid B WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND "
        "A.expires GROUP BY A.id, A.category) Q GROUP BY Q.category",
        "SELECT AuctionBids.auction, AuctionBids.num FROM (SELECT auction, count(*) AS num, "
        "window_start AS starttime, window_end AS endtime FROM TABLE(HOP(TABLE bid, "
        "DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND)) GROUP BY auction, "
        "window_start, window_end) AS AuctionBids JOIN (SELECT max(CountBids.num) AS maxn, "
        "CountBids.starttime, CountBids.endtime FROM (SELECT count(*) AS num, window_start AS "
        "starttime, window_end AS endtime FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), "
        "INTERVAL '2' SECOND, INTERVAL '10' SECOND)) GROUP BY auction, window_start, window_end) "
        "AS CountBids GROUP BY CountBids.starttime, CountBids.endtime) AS MaxBids ON "
        "AuctionBids.starttime = MaxBids.starttime AND AuctionBids.endtime = MaxBids.endtime "
        "AND AuctionBids.num >= MaxBids.maxn",
        "SELECT seller, AVG(final) OVER (PARTITION BY seller ORDER BY dateTime ROWS BETWEEN 10 "
        "PRECEDING AND CURRENT ROW) FROM (SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION "
        "BY id ORDER BY price DESC, dateTime ASC) AS rownum FROM auction) WHERE rownum <= 1)",
        "SELECT B.auction, B.price, B.bidder, B.dateTime, B.extra from bid B JOIN (SELECT "
        "MAX(price) AS maxprice, window_end as dateTime FROM TABLE(TUMBLE(TABLE bid, "
        "DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) GROUP BY window_start, window_end) B1 ON "
        "B.price = B1.maxprice WHERE B.dateTime BETWEEN B1.dateTime - INTERVAL '10' SECOND AND "
        "B1.dateTime",
        "SELECT P.id, P.name, P.starttime FROM (SELECT id, name, window_start AS starttime, "
        "window_end AS endtime FROM TABLE(TUMBLE(TABLE person, DESCRIPTOR(dateTime), INTERVAL "
        "'10' SECOND)) GROUP BY id, name, window_start, window_end) P JOIN (SELECT seller, "
        "window_start AS starttime, window_end AS endtime FROM TABLE(TUMBLE(TABLE auction, "
        "DESCRIPTOR(dateTime), INTERVAL '10' SECOND)) GROUP BY seller, window_start, window_end) "
        "A ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime",
        "SELECT auction, bidder, price, dateTime, extra, DATE_FORMAT(dateTime, 'yyyy-MM-dd'), "
        "DATE_FORMAT(dateTime, 'HH:mm') FROM bid",
        "SELECT B.bidder, count(*) as bid_count, SESSION_START(B.dateTime, INTERVAL '10' "
        "SECOND) as starttime, SESSION_END(B.dateTime, INTERVAL '10' SECOND) as endtime FROM bid "
        "B GROUP BY B.bidder, SESSION(B.dateTime, INTERVAL '10' SECOND)",
        "SELECT B.bidder, count(*) as bid_count, window_start, window_end FROM "
        "TABLE(TUMBLE(TABLE bid, DESCRIPTOR(p_time), INTERVAL '10' SECOND)) B GROUP BY "
        "B.bidder, window_start, window_end",
        "SELECT auction, bidder, 0.908 * price as price, CASE WHEN HOUR(dateTime) >= 8 AND "
        "HOUR(dateTime) <= 18 THEN 'dayTime' WHEN HOUR(dateTime) <= 6 OR HOUR(dateTime) >= 20 "
        "THEN 'nightTime' ELSE 'otherTime' END AS bidTimeType, dateTime, extra, "
        "count_char(extra, 'c') AS c_counts FROM bid WHERE 0.908 * price > 1000000 AND 0.908 * "
        "price < 50000000",
        "SELECT DATE_FORMAT(dateTime, 'yyyy-MM-dd') as `day`, count(*) AS total_bids, "
        "count(*) filter (where price < 10000) AS rank1_bids, count(distinct bidder) AS "
        "total_bidders, count(distinct bidder) filter (where price >= 10000 and price < "
        "1000000) AS rank2_bidders, count(distinct auction) filter (where price >= 1000000) AS "
        "rank3_auctions FROM bid GROUP BY DATE_FORMAT(dateTime, 'yyyy-MM-dd')",
        "SELECT channel, DATE_FORMAT(dateTime, 'yyyy-MM-dd') as `day`, max(DATE_FORMAT(dateTime, "
        "'HH:mm')) as `minute`, count(*) AS total_bids FROM bid GROUP BY channel, "
        "DATE_FORMAT(dateTime, 'yyyy-MM-dd')",
        "SELECT auction, DATE_FORMAT(dateTime, 'yyyy-MM-dd') as `day`, count(*) AS total_bids, "
        "min(price) AS min_price, max(price) AS max_price, avg(price) AS avg_price, sum(price) "
        "AS sum_price FROM bid GROUP BY auction, DATE_FORMAT(dateTime, 'yyyy-MM-dd')",
        "SELECT auction, bidder, price, channel, CASE WHEN lower(channel) = 'apple' THEN '0' "
        "WHEN lower(channel) = 'google' THEN '1' WHEN lower(channel) = 'facebook' THEN '2' WHEN "
        "lower(channel) = 'baidu' THEN '3' ELSE REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', "
        "2) END AS channel_id FROM bid where REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2) "
        "is not null or lower(channel) in ('apple', 'google', 'facebook', 'baidu')",
        "SELECT auction, bidder, price, channel, SPLIT_INDEX(url, '/', 3) as dir1, "
        "SPLIT_INDEX(url, '/', 4) as dir2, SPLIT_INDEX(url, '/', 5) as dir3 FROM bid",
        "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY "
        "dateTime DESC) AS rank_number FROM bid) WHERE rank_number <= 1",
        "SELECT auction, bidder, price, dateTime, extra, itemName, description, initialBid, "
        "reserve, A.dateTime, expires, seller, category, A.extra FROM bid AS B INNER JOIN "
        "auction AS A on B.auction = A.id WHERE A.category = 10",
        "INSERT INTO discard_sink SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0",
    };
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++)
        rill__sql_ast_free(parse_print(qs[i], NULL));
    /* the names Nexmark uses, some of them Flink keywords that are not reserved */
    rill__sql_ast *ast;
    rill__sql_stmt *s = parse("SELECT dateTime, extra, channel, url, window_start, name, state, "
                              "city, description, reserve, `value` FROM bid",
                              &ast);
    rill__sql_query *q = select_of(s);
    CHECK_EQ(q->u.select.n_items, 11);
    CHECK_STR(q->u.select.items[0].expr->u.name.parts[0].text, "dateTime"); /* case kept */
    CHECK(!q->u.select.items[0].expr->u.name.parts[0].quoted);
    CHECK(q->u.select.items[10].expr->u.name.parts[0].quoted);
    rill__sql_ast_free(ast);
}

TEST(sql_parse_match_recognize)
{
    rill__sql_ast *ast;
    rill__sql_stmt *s =
        parse("SELECT * FROM Ticker\n"
              "MATCH_RECOGNIZE (\n"
              "  PARTITION BY symbol\n"
              "  ORDER BY rowtime\n"
              "  MEASURES\n"
              "    START_ROW.rowtime AS start_tstamp,\n"
              "    LAST(PRICE_DOWN.rowtime) AS bottom_tstamp,\n"
              "    AVG(PRICE_UP.price) AS avg_up\n"
              "  ONE ROW PER MATCH\n"
              "  AFTER MATCH SKIP TO LAST PRICE_UP\n"
              "  PATTERN (START_ROW PRICE_DOWN+? (X | Y)* PRICE_UP{2,} Z{1,3} W?)\n"
              "  WITHIN INTERVAL '1' HOUR\n"
              "  DEFINE\n"
              "    PRICE_DOWN AS (LAST(PRICE_DOWN.price, 1) IS NULL AND PRICE_DOWN.price < "
              "START_ROW.price) OR PRICE_DOWN.price < LAST(PRICE_DOWN.price, 1),\n"
              "    PRICE_UP AS PRICE_UP.price > PREV(PRICE_UP.price)\n"
              ") AS MR",
              &ast);
    rill__sql_from *f = select_of(s)->u.select.from;
    CHECK_EQ(f->kind, RILL_SQL_F_MATCH);
    CHECK_STR(f->alias->text, "MR");
    CHECK_STR(id0(&f->u.match.input->u.table.name), "Ticker");
    rill__sql_match *m = &f->u.match.spec;
    CHECK(m->n_partition == 1 && m->n_order == 1 && m->n_measures == 3);
    CHECK_STR(m->measures[1].alias.text, "bottom_tstamp");
    CHECK_EQ(m->rows_per_match, 1);
    CHECK_EQ(m->skip, RILL_SQL_SKIP_TO_LAST);
    CHECK_STR(m->skip_var.text, "PRICE_UP");
    rill__sql_pattern *pt = m->pattern;
    CHECK(pt->kind == RILL_SQL_P_SEQ && pt->n_items == 6);
    CHECK(pt->items[0]->kind == RILL_SQL_P_VAR && !pt->items[0]->quantified);
    CHECK(pt->items[1]->quantified && pt->items[1]->reluctant && pt->items[1]->min == 1 &&
          pt->items[1]->max == -1);
    CHECK(pt->items[2]->kind == RILL_SQL_P_GROUP && pt->items[2]->min == 0);
    CHECK_EQ(pt->items[2]->items[0]->kind, RILL_SQL_P_ALT);
    CHECK(pt->items[3]->min == 2 && pt->items[3]->max == -1);
    CHECK(pt->items[4]->min == 1 && pt->items[4]->max == 3);
    CHECK(pt->items[5]->min == 0 && pt->items[5]->max == 1 && !pt->items[5]->reluctant);
    CHECK_EQ(m->within->kind, RILL_SQL_E_INTERVAL);
    CHECK_EQ(m->n_defines, 2);
    CHECK_STR(m->defines[1].var.text, "PRICE_UP");
    CHECK_EQ(m->defines[0].cond->u.binary.op, RILL_SQL_OP_OR);
    CHECK_EQ(m->defines[1].cond->pos.line, 15);
    rill__sql_ast_free(ast);
    CHECK_PRINT("select * from t match_recognize (order by ts all rows per match after match skip "
                "to next row pattern (a b{3}) define a as true)",
                "SELECT * FROM t MATCH_RECOGNIZE (ORDER BY ts ALL ROWS PER MATCH AFTER MATCH SKIP "
                "TO NEXT ROW PATTERN (a b{3}) DEFINE a AS TRUE)");
}

/* ---- expressions --------------------------------------------------------------------------- */

/* The print of one expression, through SELECT <expr>. */
static char *expr_print(const char *expr)
{
    char sql[2048], *out;
    snprintf(sql, sizeof sql, "SELECT %s", expr);
    rill__sql_ast_free(parse_print(sql, &out));
    memmove(out, out + 7, strlen(out + 7) + 1);
    return out;
}

#define CHECK_EXPR(expr, want)                                                                     \
    do {                                                                                           \
        char *g_ = expr_print(expr);                                                               \
        CHECK_STR(g_, (want));                                                                     \
        free(g_);                                                                                  \
    } while (0)

static rill__sql_expr *first_item(const char *sql, rill__sql_ast **ast)
{
    return select_of(parse(sql, ast))->u.select.items[0].expr;
}

TEST(sql_parse_operator_precedence)
{
    /* Calcite's levels: OR < AND < NOT < comparisons, IS, BETWEEN, IN, LIKE < + - < * / % || */
    CHECK_EXPR("a OR b AND c", "(a OR (b AND c))");
    CHECK_EXPR("NOT a = b AND c", "((NOT (a = b)) AND c)");
    CHECK_EXPR("a + b * c - d", "(a + (b * c) - d)");
    CHECK_EXPR("a || b + c", "((a || b) + c)");
    CHECK_EXPR("a * b || c", "(a * b || c)");
    CHECK_EXPR("- a * b", "((- a) * b)");
    CHECK_EXPR("- - a", "(- - a)");
    CHECK_EXPR("a + b = c * d", "((a + b) = (c * d))");
    CHECK_EXPR("a % 2 <> 0", "((a % 2) <> 0)");
    CHECK_EXPR("a != b", "(a <> b)");
    CHECK_EXPR("a BETWEEN b + 1 AND c AND d", "((a BETWEEN (b + 1) AND c) AND d)");
    CHECK_EXPR("a IS NULL OR b IS NOT TRUE", "((a IS NULL) OR (b IS NOT TRUE))");
    CHECK_EXPR("NOT a IN (1, 2)", "(NOT (a IN (1, 2)))");
    CHECK_EXPR("a NOT IN (1, 2)", "(a NOT IN (1, 2))");
    CHECK_EXPR("a = 1 OR a = 2 OR a = 3", "((a = 1) OR (a = 2) OR (a = 3))");
    CHECK_EXPR("(a + b) * c", "((a + b) * c)");
    /* BETWEEN, IN, LIKE above the comparisons; IS ... below them */
    CHECK_EXPR("a = b LIKE c", "(a = (b LIKE c))");
    CHECK_EXPR("a LIKE b = c", "((a LIKE b) = c)");
    CHECK_EXPR("a = b BETWEEN 1 AND 2", "(a = (b BETWEEN 1 AND 2))");
    CHECK_EXPR("a <> b IN (1)", "(a <> (b IN (1)))");
    CHECK_EXPR("a = b IS NULL", "((a = b) IS NULL)");
    CHECK_EXPR("a IS NULL = b", "((a IS NULL) = b)");
    CHECK_EXPR("a = b = c", "(a = b = c)");
    CHECK_EXPR("a - (b - c)", "(a - (b - c))");
    rill__sql_ast *ast;
    rill__sql_expr *e = first_item("SELECT a - b - c", &ast);
    CHECK_EQ(e->u.binary.op, RILL_SQL_OP_MINUS);
    CHECK_EQ(e->u.binary.left->kind, RILL_SQL_E_BINARY); /* (a - b) - c */
    CHECK_EQ(e->u.binary.right->kind, RILL_SQL_E_IDENT);
    rill__sql_ast_free(ast);
}

TEST(sql_parse_predicates)
{
    rill__sql_ast *ast;
    rill__sql_expr *e = first_item("SELECT a NOT BETWEEN SYMMETRIC 1 AND 10", &ast);
    CHECK(e->kind == RILL_SQL_E_BETWEEN && e->u.between.negated && e->u.between.symmetry == 2);
    rill__sql_ast_free(ast);
    e = first_item("SELECT a IS NOT DISTINCT FROM b", &ast);
    CHECK(e->kind == RILL_SQL_E_BINARY && e->u.binary.op == RILL_SQL_OP_NOT_DISTINCT);
    rill__sql_ast_free(ast);
    e = first_item("SELECT a IS UNKNOWN", &ast);
    CHECK(e->kind == RILL_SQL_E_IS && e->u.is.test == RILL_SQL_IS_UNKNOWN && !e->u.is.negated);
    rill__sql_ast_free(ast);
    e = first_item("SELECT s NOT LIKE 'a!%%' ESCAPE '!'", &ast);
    CHECK(e->kind == RILL_SQL_E_LIKE && e->u.like.negated && !e->u.like.similar);
    CHECK_STR(e->u.like.escape->u.lit.text, "!");
    rill__sql_ast_free(ast);
    e = first_item("SELECT s SIMILAR TO '[a-z]+'", &ast);
    CHECK(e->kind == RILL_SQL_E_LIKE && e->u.like.similar);
    rill__sql_ast_free(ast);
    e = first_item("SELECT a IN (SELECT b FROM t)", &ast);
    CHECK(e->kind == RILL_SQL_E_IN && e->u.in.query != NULL && e->u.in.n_list == 0);
    rill__sql_ast_free(ast);
    e = first_item("SELECT EXISTS (SELECT 1 FROM t)", &ast);
    CHECK_EQ(e->kind, RILL_SQL_E_EXISTS);
    rill__sql_ast_free(ast);
    e = first_item("SELECT (SELECT MAX(a) FROM t) + 1", &ast);
    CHECK_EQ(e->u.binary.left->kind, RILL_SQL_E_SUBQUERY);
    rill__sql_ast_free(ast);
    CHECK_EXPR("a is distinct from b", "(a IS DISTINCT FROM b)");
    CHECK_EXPR("a between asymmetric 1 and 2", "(a BETWEEN ASYMMETRIC 1 AND 2)");
    CHECK_EXPR("s not similar to 'x' escape '\\'", "(s NOT SIMILAR TO 'x' ESCAPE '\\')");
    CHECK_EXPR("exists (select 1)", "EXISTS (SELECT 1)");
}

TEST(sql_parse_literals)
{
    rill__sql_ast *ast;
    rill__sql_query *q = select_of(parse(
        "SELECT 42, 4.2, .5, 1.5E-3, 'it''s', U&'\\00e9t\\00e9', X'0aFF', TRUE, FALSE, UNKNOWN, "
        "NULL, DATE '2020-01-01', TIME '10:00:00', TIMESTAMP '2020-01-01 10:00:00.123'",
        &ast));
    static const rill__sql_lit_kind kinds[] = {
        RILL_SQL_L_INTEGER, RILL_SQL_L_DECIMAL,  RILL_SQL_L_DECIMAL, RILL_SQL_L_APPROX,
        RILL_SQL_L_STRING,  RILL_SQL_L_STRING,   RILL_SQL_L_BINARY,  RILL_SQL_L_TRUE,
        RILL_SQL_L_FALSE,   RILL_SQL_L_UNKNOWN,  RILL_SQL_L_NULL,    RILL_SQL_L_DATE,
        RILL_SQL_L_TIME,    RILL_SQL_L_TIMESTAMP};
    CHECK_EQ(q->u.select.n_items, 14);
    for (size_t i = 0; i < 14; i++) {
        CHECK_EQ(q->u.select.items[i].expr->kind, RILL_SQL_E_LITERAL);
        CHECK_EQ(q->u.select.items[i].expr->u.lit.kind, kinds[i]);
    }
    CHECK_STR(q->u.select.items[1].expr->u.lit.text, "4.2");
    CHECK_STR(q->u.select.items[4].expr->u.lit.text, "it's");
    CHECK_STR(q->u.select.items[5].expr->u.lit.text, "\xc3\xa9t\xc3\xa9");
    CHECK_STR(q->u.select.items[6].expr->u.lit.text, "0aFF");
    CHECK_STR(q->u.select.items[13].expr->u.lit.text, "2020-01-01 10:00:00.123");
    rill__sql_ast_free(ast);
    /* a NUL in a string survives the round trip as an escape */
    rill__sql_expr *e = first_item("SELECT U&'a\\0000b'", &ast);
    CHECK_EQ(e->u.lit.len, 3);
    CHECK(!memcmp(e->u.lit.text, "a\0b", 3));
    rill__sql_ast_free(ast);
    CHECK_EXPR("U&'a\\0000\\\\'", "U&'a\\0000\\\\'");
    /* adjacent literals are one */
    CHECK_EXPR("'ab'\n  'c''d' -- a comment\n 'e'", "'abc''de'");
    CHECK_PRINT("CREATE TABLE t (a INT) WITH ('path' = '/data/'\n'in')",
                "CREATE TABLE t (a INT) WITH ('path' = '/data/in')");

    /* intervals */
    e = first_item("SELECT INTERVAL '1:30' MINUTE TO SECOND", &ast);
    CHECK_EQ(e->kind, RILL_SQL_E_INTERVAL);
    CHECK_STR(e->u.interval.text, "1:30");
    CHECK(e->u.interval.q.start == RILL_SQL_UNIT_MINUTE &&
          e->u.interval.q.end == RILL_SQL_UNIT_SECOND);
    CHECK(e->u.interval.q.frac == 6 && !e->u.interval.q.frac_given);
    CHECK_EQ(e->u.interval.sign, 1);
    rill__sql_ast_free(ast);
    e = first_item("SELECT INTERVAL '10' SECOND(3)", &ast);
    CHECK(e->u.interval.q.precision == 3 && e->u.interval.q.precision_given);
    rill__sql_ast_free(ast);
    e = first_item("SELECT INTERVAL -'1-2' YEAR(4) TO MONTH", &ast);
    CHECK_EQ(e->u.interval.sign, -1);
    CHECK_EQ(e->u.interval.q.precision, 4);
    CHECK_EQ(e->u.interval.q.end, RILL_SQL_UNIT_MONTH);
    rill__sql_ast_free(ast);
    e = first_item("SELECT INTERVAL '1 10:00:00.5' DAY(3) TO SECOND(3)", &ast);
    CHECK(e->u.interval.q.precision == 3 && e->u.interval.q.frac == 3);
    rill__sql_ast_free(ast);
    CHECK_EXPR("interval '2' days", "INTERVAL '2' DAY");
    CHECK_EXPR("INTERVAL '1' HOUR TO MINUTE", "INTERVAL '1' HOUR TO MINUTE");
    CHECK_EXPR("INTERVAL '1.5' SECOND(2, 3)", "INTERVAL '1.5' SECOND(2, 3)");
    CHECK_EXPR("-1.5e3", "(- 1.5e3)");
}

TEST(sql_parse_calls)
{
    rill__sql_ast *ast;
    rill__sql_expr *e = first_item("SELECT COUNT(DISTINCT a) FILTER (WHERE b > 1)", &ast);
    CHECK(e->kind == RILL_SQL_E_CALL && e->u.call.quantifier == 1 && e->u.call.filter != NULL);
    CHECK_STR(e->u.call.name.parts[0].text, "COUNT");
    rill__sql_ast_free(ast);
    e = first_item("SELECT count(*)", &ast);
    CHECK(e->u.call.n_args == 1 && e->u.call.args[0]->kind == RILL_SQL_E_STAR);
    rill__sql_ast_free(ast);
    e = first_item("SELECT SUM(ALL x)", &ast);
    CHECK_EQ(e->u.call.quantifier, 2);
    rill__sql_ast_free(ast);
    e = first_item("SELECT CAST(a AS DECIMAL(10, 2))", &ast);
    CHECK(e->kind == RILL_SQL_E_CAST && !e->u.cast.try_cast);
    CHECK(e->u.cast.type->kind == RILL_SQL_T_DECIMAL && e->u.cast.type->scale == 2);
    rill__sql_ast_free(ast);
    e = first_item("SELECT TRY_CAST(a AS INT)", &ast);
    CHECK(e->kind == RILL_SQL_E_CAST && e->u.cast.try_cast);
    rill__sql_ast_free(ast);
    e = first_item("SELECT EXTRACT(DOW FROM ts)", &ast);
    CHECK(e->u.call.form == RILL_SQL_C_EXTRACT && e->u.call.unit == RILL_SQL_UNIT_DOW);
    rill__sql_ast_free(ast);
    e = first_item("SELECT TRIM(LEADING 'x' FROM s)", &ast);
    CHECK(e->u.call.form == RILL_SQL_C_TRIM && e->u.call.trim == RILL_SQL_TRIM_LEADING);
    CHECK_EQ(e->u.call.n_args, 2);
    CHECK_EQ(e->u.call.args[0]->kind, RILL_SQL_E_IDENT); /* the string trimmed comes first */
    rill__sql_ast_free(ast);
    e = first_item("SELECT TIMESTAMPDIFF(HOUR, a, b)", &ast);
    CHECK(e->u.call.unit == RILL_SQL_UNIT_HOUR && e->u.call.n_args == 2);
    rill__sql_ast_free(ast);
    e = first_item("SELECT FLOOR(ts TO HOUR)", &ast);
    CHECK(e->u.call.form == RILL_SQL_C_CEIL_TO && e->u.call.unit == RILL_SQL_UNIT_HOUR);
    rill__sql_ast_free(ast);
    e = first_item("SELECT CURRENT_TIMESTAMP", &ast);
    CHECK(e->kind == RILL_SQL_E_CALL && e->u.call.form == RILL_SQL_C_NILADIC);
    rill__sql_ast_free(ast);
    e = first_item("SELECT SUM(a) OVER (PARTITION BY b ORDER BY ts RANGE BETWEEN INTERVAL '1' "
                   "HOUR PRECEDING AND CURRENT ROW)",
                   &ast);
    rill__sql_window *w = e->u.call.window;
    CHECK(e->u.call.over && w->n_partition == 1 && w->n_order == 1 && w->frame == 2);
    CHECK(w->between && w->lo.kind == RILL_SQL_B_PRECEDING && w->hi.kind == RILL_SQL_B_CURRENT_ROW);
    CHECK_EQ(w->lo.offset->kind, RILL_SQL_E_INTERVAL);
    rill__sql_ast_free(ast);
    e = first_item("SELECT MIN(a) OVER w FROM t WINDOW w AS (ORDER BY ts ROWS 2 PRECEDING)", &ast);
    CHECK(e->u.call.over && !strcmp(e->u.call.over_name->text, "w"));
    rill__sql_ast_free(ast);
    CHECK_EXPR("CAST(a AS STRING)", "CAST(a AS STRING)");
    CHECK_EXPR("extract(year from d)", "EXTRACT(YEAR FROM d)");
    CHECK_EXPR("position('a' in s)", "POSITION('a' IN s)");
    CHECK_EXPR("trim(s)", "TRIM(FROM s)");
    CHECK_EXPR("trim(both ' ' from s)", "TRIM(BOTH ' ' FROM s)");
    CHECK_EXPR("substring(s from 2 for 3)", "SUBSTRING(s FROM 2 FOR 3)");
    CHECK_EXPR("substring(s, 2)", "SUBSTRING(s, 2)");
    CHECK_EXPR("overlay(s placing 'x' from 2 for 1)", "OVERLAY(s PLACING 'x' FROM 2 FOR 1)");
    CHECK_EXPR("ceiling(ts to day)", "CEIL(ts TO DAY)");
    CHECK_EXPR("timestampadd(minute, 1, ts)", "TIMESTAMPADD(MINUTE, 1, ts)");
    CHECK_EXPR("CURRENT_DATE, LOCALTIMESTAMP, CURRENT_ROW_TIMESTAMP(), PROCTIME()",
               "CURRENT_DATE, LOCALTIMESTAMP, CURRENT_ROW_TIMESTAMP(), PROCTIME()");
    CHECK_EXPR("ROW_NUMBER() OVER (PARTITION BY a ORDER BY b DESC ROWS BETWEEN UNBOUNDED "
               "PRECEDING AND UNBOUNDED FOLLOWING)",
               "ROW_NUMBER() OVER (PARTITION BY a ORDER BY b DESC ROWS BETWEEN UNBOUNDED "
               "PRECEDING AND UNBOUNDED FOLLOWING)");
    CHECK_EXPR("my_cat.my_db.f(1)", "my_cat.my_db.f(1)");
}

TEST(sql_parse_constructors_and_access)
{
    rill__sql_ast *ast;
    rill__sql_expr *e = first_item("SELECT CASE WHEN a = 1 THEN 'x' WHEN a = 2 THEN 'y' END", &ast);
    CHECK(e->kind == RILL_SQL_E_CASE && e->u.kase.operand == NULL && e->u.kase.n_whens == 2 &&
          e->u.kase.else_ == NULL);
    rill__sql_ast_free(ast);
    e = first_item("SELECT CASE a WHEN 1 THEN 'x' ELSE 'z' END", &ast);
    CHECK(e->u.kase.operand != NULL && e->u.kase.else_ != NULL);
    rill__sql_ast_free(ast);
    e = first_item("SELECT ROW(a, 1)", &ast);
    CHECK(e->kind == RILL_SQL_E_ROW && e->u.list.explicit_row && e->u.list.n_items == 2);
    rill__sql_ast_free(ast);
    e = first_item("SELECT (a, 1)", &ast);
    CHECK(e->kind == RILL_SQL_E_ROW && !e->u.list.explicit_row);
    rill__sql_ast_free(ast);
    e = first_item("SELECT MAP['k', 1, 'l', 2]", &ast);
    CHECK(e->kind == RILL_SQL_E_MAP && e->u.list.n_items == 4);
    rill__sql_ast_free(ast);
    e = first_item("SELECT arr[1].f", &ast);
    CHECK_EQ(e->kind, RILL_SQL_E_FIELD);
    CHECK_STR(e->u.field.field.text, "f");
    CHECK_EQ(e->u.field.arg->kind, RILL_SQL_E_ITEM);
    rill__sql_ast_free(ast);
    e = first_item("SELECT m['key']", &ast);
    CHECK(e->kind == RILL_SQL_E_ITEM && e->u.item.index->u.lit.kind == RILL_SQL_L_STRING);
    rill__sql_ast_free(ast);
    e = first_item("SELECT t.col.nested.field", &ast);
    CHECK(e->kind == RILL_SQL_E_IDENT && e->u.name.n_parts == 4);
    rill__sql_ast_free(ast);
    CHECK_EXPR("array[1, 2], map['a', 1], row(1), (1, 'x')",
               "ARRAY[1, 2], MAP['a', 1], ROW(1), (1, 'x')");
    CHECK_EXPR("(a).b, f(x).y, (4).p, ('s').q", "(a).b, f(x).y, (4).p, ('s').q");
}

/* ---- types --------------------------------------------------------------------------------- */

static rill__sql_type *cast_type(const char *type, rill__sql_ast **ast)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT CAST(x AS %s)", type);
    rill__sql_expr *e = first_item(sql, ast);
    CHECK_EQ(e->kind, RILL_SQL_E_CAST);
    return e->u.cast.type;
}

TEST(sql_parse_types)
{
    static const struct {
        const char *text, *print;
        rill__sql_type_kind kind;
        int precision, scale;
        bool given;
    } cases[] = {
        {"BOOLEAN", "BOOLEAN", RILL_SQL_T_BOOLEAN, 0, 0, false},
        {"TINYINT", "TINYINT", RILL_SQL_T_TINYINT, 0, 0, false},
        {"SMALLINT", "SMALLINT", RILL_SQL_T_SMALLINT, 0, 0, false},
        {"INTEGER", "INT", RILL_SQL_T_INT, 0, 0, false},
        {"BIGINT", "BIGINT", RILL_SQL_T_BIGINT, 0, 0, false},
        {"REAL", "FLOAT", RILL_SQL_T_FLOAT, 0, 0, false},
        {"DOUBLE PRECISION", "DOUBLE", RILL_SQL_T_DOUBLE, 0, 0, false},
        {"DECIMAL", "DECIMAL", RILL_SQL_T_DECIMAL, 10, 0, false},
        {"DEC(5)", "DECIMAL(5)", RILL_SQL_T_DECIMAL, 5, 0, true},
        {"NUMERIC(38, 18)", "DECIMAL(38, 18)", RILL_SQL_T_DECIMAL, 38, 18, true},
        {"CHAR", "CHAR", RILL_SQL_T_CHAR, 1, 0, false},
        {"CHAR(3)", "CHAR(3)", RILL_SQL_T_CHAR, 3, 0, true},
        {"VARCHAR", "VARCHAR", RILL_SQL_T_VARCHAR, 2147483647, 0, false},
        {"CHARACTER VARYING", "VARCHAR", RILL_SQL_T_VARCHAR, 2147483647, 0, false},
        {"VARCHAR(100)", "VARCHAR(100)", RILL_SQL_T_VARCHAR, 100, 0, true},
        {"STRING", "STRING", RILL_SQL_T_VARCHAR, 2147483647, 0, false},
        {"BINARY(4)", "BINARY(4)", RILL_SQL_T_BINARY, 4, 0, true},
        {"VARBINARY", "VARBINARY", RILL_SQL_T_VARBINARY, 2147483647, 0, false},
        {"BINARY", "BINARY", RILL_SQL_T_BINARY, 1, 0, false},
        {"BYTES", "BYTES", RILL_SQL_T_VARBINARY, 2147483647, 0, false},
        {"DATE", "DATE", RILL_SQL_T_DATE, 0, 0, false},
        {"TIME", "TIME", RILL_SQL_T_TIME, 0, 0, false},
        {"TIME(3) WITHOUT TIME ZONE", "TIME(3)", RILL_SQL_T_TIME, 3, 0, true},
        {"TIMESTAMP", "TIMESTAMP", RILL_SQL_T_TIMESTAMP, 6, 0, false},
        {"TIMESTAMP(3) WITHOUT TIME ZONE", "TIMESTAMP(3)", RILL_SQL_T_TIMESTAMP, 3, 0, true},
        {"TIMESTAMP(9) WITH LOCAL TIME ZONE", "TIMESTAMP(9) WITH LOCAL TIME ZONE",
         RILL_SQL_T_TIMESTAMP_LTZ, 9, 0, true},
        {"TIMESTAMP_LTZ", "TIMESTAMP_LTZ", RILL_SQL_T_TIMESTAMP_LTZ, 6, 0, false},
        {"TIMESTAMP_LTZ(3)", "TIMESTAMP_LTZ(3)", RILL_SQL_T_TIMESTAMP_LTZ, 3, 0, true},
        {"INTERVAL DAY(2) TO SECOND(3)", "INTERVAL DAY(2) TO SECOND(3)", RILL_SQL_T_INTERVAL, 0, 0,
         false},
        {"ARRAY<INT NOT NULL>", "ARRAY<INT NOT NULL>", RILL_SQL_T_ARRAY, 0, 0, false},
        {"INT ARRAY", "ARRAY<INT>", RILL_SQL_T_ARRAY, 0, 0, false},
        {"MULTISET<STRING>", "MULTISET<STRING>", RILL_SQL_T_MULTISET, 0, 0, false},
        {"MAP<STRING, ARRAY<BIGINT>>", "MAP<STRING, ARRAY<BIGINT>>", RILL_SQL_T_MAP, 0, 0, false},
        {"ROW<a INT NOT NULL, `b c` STRING COMMENT 'x'>",
         "ROW<a INT NOT NULL, `b c` STRING COMMENT 'x'>", RILL_SQL_T_ROW, 0, 0, false},
        {"ROW(a INT, b ROW<c DOUBLE>)", "ROW(a INT, b ROW<c DOUBLE>)", RILL_SQL_T_ROW, 0, 0, false},
        {"BIGINT NOT NULL", "BIGINT NOT NULL", RILL_SQL_T_BIGINT, 0, 0, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        rill__sql_ast *ast;
        rill__sql_type *t = cast_type(cases[i].text, &ast);
        CHECK_EQ(t->kind, cases[i].kind);
        CHECK_EQ(t->precision, cases[i].precision);
        CHECK_EQ(t->scale, cases[i].scale);
        CHECK_EQ(t->precision_given, cases[i].given);
        rill__buf b = {0};
        rill__sql_print_type(&b, t);
        CHECK_STR(rill__buf_cstr(&b), cases[i].print);
        rill__buf_free(&b);
        rill__sql_ast_free(ast);
    }
    rill__sql_ast *ast;
    rill__sql_type *t = cast_type("MAP<STRING, ROW<a INT NOT NULL>> NOT NULL", &ast);
    CHECK(t->not_null && !t->element->not_null);
    CHECK(t->value->fields[0].type->not_null);
    rill__sql_ast_free(ast);
    t = cast_type("INTERVAL YEAR TO MONTH", &ast);
    CHECK(t->interval.start == RILL_SQL_UNIT_YEAR && t->interval.end == RILL_SQL_UNIT_MONTH &&
          t->interval.precision == 2 && !t->interval.precision_given);
    rill__sql_ast_free(ast);
}

/* ---- identifiers --------------------------------------------------------------------------- */

TEST(sql_parse_identifiers)
{
    rill__sql_ast *ast;
    rill__sql_expr *e = first_item("SELECT `My Col`, MyCol, `select`, `a``b` FROM t", &ast);
    CHECK(e->u.name.parts[0].quoted && !strcmp(e->u.name.parts[0].text, "My Col"));
    rill__sql_query *q = select_of(ast->stmt);
    CHECK(!q->u.select.items[1].expr->u.name.parts[0].quoted);
    CHECK_STR(q->u.select.items[1].expr->u.name.parts[0].text, "MyCol");
    CHECK_STR(q->u.select.items[3].expr->u.name.parts[0].text, "a`b");
    rill__sql_ast_free(ast);
    /* keywords in any case; names printed back-quoted only when they must be */
    CHECK_PRINT("select `My Col`, `select`, `a``b`, `x`, `timestamp` from T where `value` > 1",
                "SELECT `My Col`, `select`, `a``b`, x, `timestamp` FROM T WHERE (`value` > 1)");
    /* non-reserved keywords are names */
    CHECK_PRINT("SELECT name, comment, `language`, description, ts AS window_start FROM t",
                "SELECT name, comment, `language`, description, ts AS window_start FROM t");
    /* a statement inside a script keeps the script's lines and columns */
    const char *script = "SET 'a' = 'b';\n\nSELECT x,\n  y FROM t";
    size_t off = 0, start, len;
    rill__err err = {0};
    CHECK_RC(rill__sql_split(script, strlen(script), &off, &start, &len, &err));
    CHECK_RC(rill__sql_split(script, strlen(script), &off, &start, &len, &err));
    CHECK_RC(rill__sql_parse(script, start, len, &ast, &err));
    q = select_of(ast->stmt);
    CHECK_EQ(q->pos.line, 3);
    CHECK_EQ(q->u.select.items[1].expr->pos.line, 4);
    CHECK_EQ(q->u.select.items[1].expr->pos.col, 3);
    /* offsets are into ast->text, so the planner's errors point with rill__sql_error */
    CHECK_EQ(ast->text[q->u.select.items[1].expr->pos.off], 'y');
    rill__sql_error(&err, ast->text, q->u.select.items[1].expr->pos, "Column 'y' not found");
    CHECK_STR(err.msg, "Column 'y' not found at line 4, column 3:\n  y FROM t\n  ^");
    rill__sql_ast_free(ast);
    rill__sql_ast *bad = NULL;
    CHECK_EQ(rill__sql_parse("SET 'a' = 'b';\nSELECT x,", 15, 9, &bad, &err), RILL_EPARSE);
    CHECK_STR(err.msg, "Encountered \"<EOF>\" at line 2, column 10:\nSELECT x,\n         ^\n"
                       "Was expecting an expression");
}

/* ---- errors -------------------------------------------------------------------------------- */

TEST(sql_parse_errors)
{
    CHECK_ERROR("SELECT a FROM t WHERE",
                "Encountered \"<EOF>\" at line 1, column 22:\nSELECT a FROM t WHERE\n"
                "                     ^\nWas expecting an expression");
    CHECK_ERROR("SELECT a, FROM t",
                "Incorrect syntax near the keyword 'FROM' at line 1, column 11:\n"
                "SELECT a, FROM t\n          ^\nWas expecting an expression (a name that is a "
                "reserved keyword is written back-quoted)");
    CHECK_ERROR("SELECT value FROM t",
                "Incorrect syntax near the keyword 'value' at line 1, column 8:\n"
                "SELECT value FROM t\n       ^\nWas expecting an expression (a name that is a "
                "reserved keyword is written back-quoted)");
    CHECK_ERROR("CREATE TABLE t (select INT)",
                "Incorrect syntax near the keyword 'select' at line 1, column 17:\n"
                "CREATE TABLE t (select INT)\n                ^\nWas expecting a name (a "
                "reserved keyword is a name only back-quoted)");
    CHECK_ERROR("SELECT 1 1",
                "Encountered \"1\" at line 1, column 10:\nSELECT 1 1\n         ^\nWas expecting "
                "one of: \"FROM\", \"WHERE\", \"GROUP BY\", \"HAVING\", \"WINDOW\", "
                "\"ORDER BY\", \"LIMIT\", \"OFFSET\", \"FETCH\", \"UNION\", \"INTERSECT\", "
                "\"EXCEPT\", the end of the statement");
    /* a misspelt clause, with the clauses that could come there */
    CHECK_ERROR("SELECT a FROM t GROUP BY a HAVNG x > 1",
                "Encountered \"HAVNG\" at line 1, column 28:\nSELECT a FROM t GROUP BY a HAVNG x "
                "> 1\n                           ^\nWas expecting one of: \"HAVING\", "
                "\"WINDOW\", \"ORDER BY\", \"LIMIT\", \"OFFSET\", \"FETCH\", \"UNION\", "
                "\"INTERSECT\", \"EXCEPT\", the end of the statement");
    CHECK_ERROR("CREATE VIEW v AS SELECT 1 ORDER BY 1 x",
                "Encountered \"x\" at line 1, column 38:\nCREATE VIEW v AS SELECT 1 ORDER BY 1 x\n"
                "                                     ^\nWas expecting the end of the statement");
    CHECK_ERROR("SELECT a FROM t GROUP a",
                "Encountered \"a\" at line 1, column 23:\nSELECT a FROM t GROUP a\n"
                "                      ^\nWas expecting \"BY\"");
    CHECK_ERROR("SELECT (a + b FROM t",
                "Encountered \"FROM\" at line 1, column 15:\nSELECT (a + b FROM t\n"
                "              ^\nWas expecting \")\"");
    CHECK_ERROR("SELECT CASE WHEN a THEN b FROM t",
                "Encountered \"FROM\" at line 1, column 27:\nSELECT CASE WHEN a THEN b FROM t\n"
                "                          ^\nWas expecting one of: \"WHEN\", \"ELSE\", \"END\"");
    CHECK_ERROR("FOO BAR", "Encountered \"FOO\" at line 1, column 1:\nFOO BAR\n^\nWas expecting "
                           "one of: \"SELECT\", \"INSERT\", \"CREATE\", \"DROP\", \"SET\", "
                           "\"RESET\", \"SHOW\", \"DESCRIBE\", \"USE\", \"EXPLAIN\", "
                           "\"EXECUTE\", \"WITH\", \"VALUES\", \"BEGIN\", \"END\", \"HELP\", "
                           "\"QUIT\"");
    CHECK_ERROR("", "no statement (the text is empty) at line 1, column 1:\n\n^");
    CHECK_ERROR("DROP DATABASE d", "Encountered \"DATABASE\" at line 1, column 6:\n"
                                   "DROP DATABASE d\n     ^\nWas expecting one of: \"TABLE\", "
                                   "\"VIEW\", \"FUNCTION\"");
    CHECK_ERROR("SELECT * FROM a JOIN b", "Encountered \"<EOF>\" at line 1, column 23:\n"
                                          "SELECT * FROM a JOIN b\n                      ^\n"
                                          "Was expecting one of: \"ON\", \"USING\"");
    CHECK_ERROR("SELECT x IS FOO",
                "Encountered \"FOO\" at line 1, column 13:\nSELECT x IS FOO\n            ^\n"
                "Was expecting one of: \"NULL\", \"TRUE\", \"FALSE\", \"UNKNOWN\", "
                "\"DISTINCT FROM\"");
    CHECK_ERROR("SELECT COUNT(*) OVER (ORDER BY a ROWS 1)",
                "Encountered \")\" at line 1, column 40:\nSELECT COUNT(*) OVER (ORDER BY a ROWS "
                "1)\n                                       ^\nWas expecting one of: "
                "\"PRECEDING\", \"FOLLOWING\"");
    CHECK_ERROR("EXECUTE STATEMENT SET BEGIN SELECT 1; END",
                "Encountered \"SELECT\" at line 1, column 29:\nEXECUTE STATEMENT SET BEGIN "
                "SELECT 1; END\n                            ^\nWas expecting \"INSERT\"");
    CHECK_ERROR("EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1;",
                "Encountered \"<EOF>\" at line 1, column 52:\nEXECUTE STATEMENT SET BEGIN INSERT "
                "INTO a SELECT 1;\n                                                   ^\n"
                "Was expecting one of: \"INSERT\", \"END\"");
    CHECK_ERROR("SELECT 2 * * FROM t",
                "Encountered \"*\" at line 1, column 12:\nSELECT 2 * * FROM t\n           ^\n"
                "Was expecting an expression");
    CHECK_ERROR("SELECT 1;;", "Encountered \";\" at line 1, column 9:\nSELECT 1;;\n        ^\n"
                              "Was expecting the end of the statement");
    /* over two lines: the caret under the place on its own line */
    CHECK_ERROR("SELECT a\nFROM t WHERE b = = c",
                "Encountered \"=\" at line 2, column 18:\nFROM t WHERE b = = c\n"
                "                 ^\nWas expecting an expression");
    /* the lexer's errors come through */
    CHECK_ERROR("SELECT 'abc", "string not closed (no ') at line 1, column 8:\nSELECT 'abc\n"
                               "       ^");
    CHECK_ERROR("SELECT U&'\\zz'", "a Unicode escape is \\XXXX or \\+XXXXXX (hex digits of a "
                                   "code point), or \\\\ at line 1, column 11:\nSELECT U&'\\zz'\n"
                                   "          ^");
}

TEST(sql_parse_errors_types_and_ddl)
{
    CHECK_ERROR("SELECT CAST(a AS DECIMAL(39, 2))",
                "Decimal precision must be between 1 and 38 (both inclusive), not 39 at line 1, "
                "column 26:\nSELECT CAST(a AS DECIMAL(39, 2))\n                         ^");
    CHECK_ERROR("SELECT CAST(a AS DECIMAL(10, 11))",
                "Decimal scale must be between 0 and the precision 10 (both inclusive), not 11 "
                "at line 1, column 30:\nSELECT CAST(a AS DECIMAL(10, 11))\n"
                "                             ^");
    CHECK_ERROR("SELECT CAST(a AS TIMESTAMP(10))",
                "Timestamp precision must be between 0 and 9 (not 10) at line 1, column 28:\n"
                "SELECT CAST(a AS TIMESTAMP(10))\n                           ^");
    CHECK_ERROR("SELECT CAST(a AS TIME(12))",
                "Time precision must be between 0 and 9 (not 12) at line 1, column 23:\n"
                "SELECT CAST(a AS TIME(12))\n                      ^");
    CHECK_ERROR("SELECT CAST(a AS VARCHAR(0))",
                "Character string length must be between 1 and 2147483647 (not 0) at line 1, "
                "column 26:\nSELECT CAST(a AS VARCHAR(0))\n                         ^");
    CHECK_ERROR("SELECT CAST(a AS DECIMAL(99999999999))",
                "99999999999 is too large here (at most 2147483647) at line 1, column 26:\n"
                "SELECT CAST(a AS DECIMAL(99999999999))\n                         ^");
    CHECK_ERROR("SELECT CAST(a AS FOO)",
                "Unknown type 'FOO' at line 1, column 18:\nSELECT CAST(a AS FOO)\n"
                "                 ^\nWas expecting a type: BOOLEAN, TINYINT, SMALLINT, INT, "
                "BIGINT, FLOAT, DOUBLE, DECIMAL, CHAR, VARCHAR, STRING, BINARY, VARBINARY, "
                "BYTES, DATE, TIME, TIMESTAMP, TIMESTAMP_LTZ, INTERVAL, ROW, ARRAY, MAP, "
                "MULTISET");
    CHECK_ERROR("SELECT CAST(a AS RAW('c', 's'))",
                "RAW types are not supported at line 1, column 18:\n"
                "SELECT CAST(a AS RAW('c', 's'))\n                 ^");
    CHECK_ERROR("SELECT CAST(a AS ROW<x INT)",
                "Encountered \")\" at line 1, column 27:\nSELECT CAST(a AS ROW<x INT)\n"
                "                          ^\nWas expecting \">\"");
    CHECK_ERROR("SELECT INTERVAL '1' DAY TO YEAR",
                "DAY TO YEAR is not an interval qualifier at line 1, column 28:\n"
                "SELECT INTERVAL '1' DAY TO YEAR\n                           ^");
    CHECK_ERROR("SELECT INTERVAL '1' WEEK",
                "WEEK is not a unit of an interval qualifier (YEAR, MONTH, DAY, HOUR, MINUTE, "
                "SECOND) at line 1, column 21:\nSELECT INTERVAL '1' WEEK\n                    ^");
    CHECK_ERROR("SELECT INTERVAL '1' YEAR(5)",
                "the precision of YEAR must be between 1 and 4 (not 5) at line 1, column 26:\n"
                "SELECT INTERVAL '1' YEAR(5)\n                         ^");
    CHECK_ERROR("SELECT INTERVAL 1 DAY",
                "Encountered \"1\" at line 1, column 17:\nSELECT INTERVAL 1 DAY\n"
                "                ^\nWas expecting a string literal (INTERVAL '1' DAY)");
    CHECK_ERROR("CREATE TABLE t (a INT, PRIMARY KEY (a))",
                "Flink doesn't support ENFORCED mode for PRIMARY KEY constraint: write PRIMARY "
                "KEY ... NOT ENFORCED at line 1, column 39:\n"
                "CREATE TABLE t (a INT, PRIMARY KEY (a))\n                                      ^");
    CHECK_ERROR("CREATE TABLE t (a INT PRIMARY KEY NOT ENFORCED, PRIMARY KEY (a) NOT ENFORCED)",
                "a table has one primary key (one is declared already) at line 1, column 49:\n"
                "CREATE TABLE t (a INT PRIMARY KEY NOT ENFORCED, PRIMARY KEY (a) NOT ENFORCED)\n"
                "                                                ^");
    CHECK_ERROR("CREATE TABLE t (a INT, WATERMARK FOR a AS a, WATERMARK FOR a AS a)",
                "a table has one WATERMARK at line 1, column 46:\nCREATE TABLE t (a INT, "
                "WATERMARK FOR a AS a, WATERMARK FOR a AS a)\n"
                "                                             ^");
    CHECK_ERROR("CREATE TABLE t (a INT) WITH (k = 'v')",
                "Encountered \"k\" at line 1, column 30:\nCREATE TABLE t (a INT) WITH (k = 'v')\n"
                "                             ^\nWas expecting a string literal");
    CHECK_ERROR("CREATE TABLE t (a INT) WITH ('k' = 'v') LIKE s",
                "CREATE TABLE ... LIKE is not supported yet at line 1, column 41:\n"
                "CREATE TABLE t (a INT) WITH ('k' = 'v') LIKE s\n"
                "                                        ^");
    CHECK_ERROR("CREATE TABLE t (a INT,)",
                "Encountered \")\" at line 1, column 23:\nCREATE TABLE t (a INT,)\n"
                "                      ^\nWas expecting an identifier");
    CHECK_ERROR("SELECT * FROM t MATCH_RECOGNIZE (PARTITION BY a)",
                "Encountered \")\" at line 1, column 48:\n"
                "SELECT * FROM t MATCH_RECOGNIZE (PARTITION BY a)\n"
                "                                               ^\nWas expecting \"PATTERN\"");
    CHECK_ERROR("SELECT * FROM t MATCH_RECOGNIZE (ORDER BY ts PATTERN (A{3,1}) DEFINE A AS TRUE)",
                "a quantifier's upper bound 1 is below its lower bound 3 at line 1, column 56:\n"
                "SELECT * FROM t MATCH_RECOGNIZE (ORDER BY ts PATTERN (A{3,1}) DEFINE A AS "
                "TRUE)\n                                                       ^");
    CHECK_ERROR("SELECT * FROM t MATCH_RECOGNIZE (ORDER BY ts PATTERN (A{}) DEFINE A AS TRUE)",
                "Encountered \"}\" at line 1, column 57:\n"
                "SELECT * FROM t MATCH_RECOGNIZE (ORDER BY ts PATTERN (A{}) DEFINE A AS TRUE)\n"
                "                                                        ^\n"
                "Was expecting an integer");
    CHECK_ERROR("SELECT * FROM t MATCH_RECOGNIZE (ORDER BY ts PATTERN (A))",
                "Encountered \")\" at line 1, column 57:\n"
                "SELECT * FROM t MATCH_RECOGNIZE (ORDER BY ts PATTERN (A))\n"
                "                                                        ^\n"
                "Was expecting \"DEFINE\"");
    CHECK_ERROR("SELECT * FROM t /*+ OPTIONS('a' = ) */",
                "Encountered \")\" at line 1, column 35:\n"
                "SELECT * FROM t /*+ OPTIONS('a' = ) */\n                                  ^\n"
                "Was expecting a string literal");
    CHECK_ERROR("SELECT MAP['a']", "MAP[...] takes keys and values in pairs (it has 1 items) "
                                   "at line 1, column 8:\nSELECT MAP['a']\n       ^");
    CHECK_ERROR("WITH RECURSIVE x AS (SELECT 1) SELECT 1",
                "WITH RECURSIVE is not supported at line 1, column 6:\n"
                "WITH RECURSIVE x AS (SELECT 1) SELECT 1\n     ^");
}

TEST(sql_parse_depth_limit)
{
    /* deep nesting is refused with a message, not a stack overflow */
    static const char *const opens[] = {"(", "- ", "NOT ", "f(", "(SELECT ", "ROW<a "};
    static const char *const heads[] = {"SELECT ", "SELECT ", "SELECT ",
                                        "SELECT ", "SELECT ", "SELECT CAST(x AS "};
    for (size_t k = 0; k < sizeof opens / sizeof *opens; k++) {
        rill__buf b = {0};
        rill__buf_printf(&b, "%s", heads[k]);
        for (int i = 0; i < 100000; i++)
            rill__buf_printf(&b, "%s", opens[k]);
        rill__buf_printf(&b, "1");
        rill__sql_ast *ast;
        rill__err err = {0};
        CHECK_EQ(rill__sql_parse(rill__buf_cstr(&b), 0, b.len, &ast, &err), RILL_EPARSE);
        CHECK_CONTAINS(err.msg, "the statement nests deeper than 256 levels at line 1, column ");
        rill__buf_free(&b);
    }
    /* below the limit it parses, and prints back */
    rill__buf b = {0};
    rill__buf_printf(&b, "SELECT ");
    for (int i = 0; i < 100; i++)
        rill__buf_printf(&b, "(");
    rill__buf_printf(&b, "1");
    for (int i = 0; i < 100; i++)
        rill__buf_printf(&b, ")");
    CHECK_PRINT(rill__buf_cstr(&b), "SELECT 1");
    rill__buf_free(&b);
    /* a long chain of one operator is no deeper than one level, printed or parsed */
    b = (rill__buf){0};
    rill__buf_printf(&b, "SELECT a = 0");
    for (int i = 1; i < 2000; i++)
        rill__buf_printf(&b, " OR a = %d", i);
    rill__sql_ast_free(parse_print(rill__buf_cstr(&b), NULL));
    rill__buf_free(&b);
    b = (rill__buf){0};
    rill__buf_printf(&b, "SELECT 1");
    for (int i = 1; i < 2000; i++)
        rill__buf_printf(&b, " UNION ALL SELECT %d", i);
    rill__sql_ast_free(parse_print(rill__buf_cstr(&b), NULL));
    rill__buf_free(&b);
}
