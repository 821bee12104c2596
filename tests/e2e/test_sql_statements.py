"""Statements of Flink SQL scripts beyond queries, run by `rill run`: SET keys that change
results (honoured, or refused naming the key), SHOW FUNCTIONS, SELECT without FROM, INSERT
with a column list, table hints (dynamic table options), EXPLAIN of a statement set and
DESCRIBE of computed columns. Results are checked against values computed here."""
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import committed_rows, expect, expect_in, expect_rc, main, run  # noqa: E402


def script(tmp, text, name="s.sql"):
    path = os.path.join(tmp, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def csv_table(tmp, rows, name="t", cols="id INT, name STRING, amt DECIMAL(10, 2)"):
    """A filesystem CSV table of rows (tuples): its CREATE TABLE."""
    path = os.path.join(tmp, name + ".csv")
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(",".join("" if v is None else str(v) for v in r) + "\n")
    return ("CREATE TABLE %s (%s) WITH ('connector' = 'filesystem', 'path' = '%s', "
            "'format' = 'csv');\n" % (name, cols, path))


ROWS = [(1, "alice", "10.50"), (2, "bob", "20.25"), (3, "alice", None), (4, "carol", "1.00")]


def test_explain_statement_set(tmp):
    """EXPLAIN STATEMENT SET BEGIN ...; ...; END is one statement (the ';' inside it do not
    end it): each INSERT's plan under its Sink, a blank line between them, as Flink prints
    them; nothing runs."""
    path = script(tmp, csv_table(tmp, ROWS) + """
CREATE TABLE bh (id INT) WITH ('connector' = 'blackhole');
CREATE TABLE bh2 (id INT) WITH ('connector' = 'blackhole');
EXPLAIN STATEMENT SET BEGIN INSERT INTO bh SELECT id FROM t; INSERT INTO bh2 SELECT id + 1 FROM t;
END;
EXPLAIN EXECUTE STATEMENT SET BEGIN INSERT INTO bh SELECT id FROM t; END;
""")
    r = run(["run", "-p", "2", path])
    expect_rc(r, 0)
    plans = r.out.split("== Optimized Physical Plan ==\n")
    expect(len(plans) == 3 and plans[0] == "", "two plans", 2, len(plans) - 1, r)
    sinks = plans[1].rstrip("\n").split("\n\n")
    expect(len(sinks) == 2, "two sink trees, a blank line between", 2, len(sinks), r)
    expect(sinks[0].startswith("Sink(table=[default_catalog.default_database.bh], fields=[id], "
                               "parallelism=[2])\n+- "), "the first sink", "bh", sinks[0], r)
    expect(sinks[1].startswith("Sink(table=[default_catalog.default_database.bh2], "
                               "fields=[EXPR$0], parallelism=[2])\n+- "), "the second sink",
           "bh2", sinks[1], r)
    expect_in("(id + 1) AS EXPR$0", sinks[1], "the second INSERT's calc", r)
    expect(plans[2].count("Sink(") == 1, "EXPLAIN EXECUTE STATEMENT SET: one sink", 1,
           plans[2], r)


def changelog(names):
    """The changelog of SELECT name, COUNT(*) ... GROUP BY name over names, row by row."""
    n, out = {}, []
    for x in names:
        if x in n:
            out += ["-U[%s, %d]" % (x, n[x]), "+U[%s, %d]" % (x, n[x] + 1)]
            n[x] += 1
        else:
            n[x] = 1
            out.append("+I[%s, 1]" % x)
    return out


def test_set_keys_that_change_results(tmp):
    """SET of a Flink key whose value would change the results is refused naming the key (the
    batch runtime mode: rill runs streaming only), or honoured; keys that change nothing rill
    computes are taken."""
    table = csv_table(tmp, ROWS)
    query = "SELECT name, COUNT(*) FROM t GROUP BY name;\n"
    refused = [("execution.runtime-mode", "batch", "rill runs streaming only"),
               ("execution.runtime-mode", "AUTOMATIC", "rill runs streaming only"),
               ("table.exec.emit.early-fire.enabled", "true", "early firing of windows"),
               ("table.exec.emit.late-fire.enabled", "true", "late firing of windows"),
               ("table.exec.emit.allow-lateness", "1 min", "allowed lateness"),
               ("table.exec.legacy-cast-behaviour", "ENABLED", "legacy cast behaviour"),
               ("table.exec.sink.type-length-enforcer", "IGNORE", "TRIM_PAD"),
               ("table.sql-dialect", "hive", "default SQL dialect"),
               ("table.exec.source.idle-timeout", "soon", "is not a duration"),
               ("table.exec.mini-batch.enabled", "yes", "is not true or false"),
               ("table.dynamic-table-options.enabled", "maybe", "is not true or false")]
    for key, value, why in refused:
        path = script(tmp, "SET '%s' = '%s';\n" % (key, value) + table + query)
        r = run(["run", "-p", "1", path])
        expect_rc(r, 1)
        expect_in("SET '%s'" % key, r.err, "the refusal names the key", r)
        expect_in(why, r.err, "the refusal says why", r)
        expect_in("line 1, column 1", r.err, "the refusal's place", r)
        expect(r.out == "", "nothing runs", "", r.out, r)
    want = changelog([row[1] for row in ROWS])
    taken = [("execution.runtime-mode", "streaming"), ("execution.runtime-mode", "STREAMING"),
             ("table.exec.mini-batch.enabled", "true"),
             ("table.exec.mini-batch.allow-latency", "2 s"),
             ("table.exec.mini-batch.size", "5000"),
             ("table.exec.emit.early-fire.enabled", "false"),
             ("table.exec.emit.allow-lateness", "0 s"),
             ("pipeline.auto-watermark-interval", "200 ms"),
             ("table.optimizer.agg-phase-strategy", "TWO_PHASE"),
             ("table.exec.source.idle-timeout", "5 s")]
    for key, value in taken:
        path = script(tmp, "SET '%s' = '%s';\n" % (key, value) + table + query)
        r = run(["run", "-p", "1", path])
        expect_rc(r, 0)
        expect(r.out.splitlines() == want, "SET '%s' = '%s': the changelog" % (key, value),
               want, r.out.splitlines(), r)
    # honoured: Flink's parallelism of table programs, and the idle timeout of the watermarks
    path = script(tmp, """SET 'table.exec.resource.default-parallelism' = '3';
SET 'table.exec.source.idle-timeout' = '5 s';
CREATE TABLE e (ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '/nonexistent', 'format' = 'csv');
EXPLAIN SELECT ts FROM e;
""")
    r = run(["run", path])
    expect_rc(r, 0)
    expect_in("parallelism=[3]", r.out, "table.exec.resource.default-parallelism", r)
    expect_in("idle-timeout=[5000 ms]", r.out, "table.exec.source.idle-timeout", r)


def test_select_without_from(tmp):
    """SELECT without FROM is one row (Flink's Values of one row, a bounded query), its items
    computed over it; aggregates over it see that one row; WHERE may drop it."""
    a, b = 1234567, -89
    items = [("%d + %d" % (a, b), str(a + b)), ("%d * %d" % (a, b), str(a * b)),
             ("%d / %d" % (a, b), str(int(a / b))),  # Java truncates towards zero
             ("MOD(%d, 7)" % a, str(a % 7)), ("'ab' || 'cd'", "abcd"),
             ("CAST(NULL AS INT)", "null"), ("UPPER('x')", "X"), ("1.5 + 1", "2.5"),
             ("CHAR_LENGTH('h\u00e9llo')", "5")]
    path = script(tmp, "SELECT %s;\n" % ", ".join(e for e, _ in items))
    for p in ("1", "3"):
        r = run(["run", "-p", p, path])
        expect_rc(r, 0)
        want = "+I[%s]" % ", ".join(v for _, v in items)
        got = [re.sub(r"^\d+> ", "", line) for line in r.out.splitlines()]  # the subtask
        expect(got == [want], "the one row at p %s" % p, want, r.out, r)
    cases = [("SELECT 1 + 1;", ["+I[2]"]),
             ("SELECT COUNT(*) AS c, SUM(5) AS s, MAX('z');", ["+I[1, 5, z]"]),
             ("SELECT 1 AS x WHERE 1 = 0;", []),
             ("SELECT 'y' AS x WHERE 2 > 1;", ["+I[y]"]),
             ("SELECT 1 AS x UNION ALL SELECT 2;", ["+I[1]", "+I[2]"]),
             ("SELECT * FROM (SELECT 3 AS x) WHERE x > 2;", ["+I[3]"])]
    for sql, want in cases:
        r = run(["run", "-p", "1", script(tmp, sql)])
        expect_rc(r, 0)
        expect(sorted(r.out.splitlines()) == want, sql, want, r.out, r)
    r = run(["run", script(tmp, "EXPLAIN SELECT 1 + 1;")])
    expect_rc(r, 0)
    expect_in("Calc(select=[2 AS EXPR$0]", r.out, "the folded constant", r)
    expect_in("+- Values(tuples=[[{ 0 }]]", r.out, "Flink's one-row Values", r)
    r = run(["run", script(tmp, "SELECT *;")])
    expect_rc(r, 1)
    expect_in("SELECT * requires a FROM clause at line 1, column 8", r.err, "the refusal", r)


def tableau_rows(text):
    """The rows of Flink's tableau form as lists of cells (the header first)."""
    return [[c.strip() for c in line.strip("|").split("|")]
            for line in text.splitlines() if line.startswith("|")]


def test_describe_computed_columns(tmp):
    """DESCRIBE shows a computed column's type as its expression types it (Flink's rules:
    DECIMAL(p1, s1) + DECIMAL(p2, s2) is DECIMAL(max(p1 - s1, p2 - s2) + max(s1, s2) + 1,
    max(s1, s2)), ROUND(DECIMAL(p, s), n) is DECIMAL(1 + p - s + n, n)), its nullability, the
    time attribute it is, and AS expr in extras."""
    p, s_ = 10, 2
    path = script(tmp, """CREATE TABLE t (id INT NOT NULL, amt DECIMAL(%d, %d), name STRING,
  a2 AS amt + 1, r AS ROUND(amt, 1), n AS id + 1, u AS UPPER(name), pt AS PROCTIME(),
  ts AS TO_TIMESTAMP('2024-05-01 12:00:00'), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '/nonexistent', 'format' = 'csv');
DESCRIBE t;
""" % (p, s_))
    r = run(["run", path])
    expect_rc(r, 0)
    rows = {row[0]: row[1:] for row in tableau_rows(r.out)[1:]}
    add = "DECIMAL(%d, %d)" % (max(p - s_, 10 - 0) + max(s_, 0) + 1, max(s_, 0))  # INT: (10, 0)
    want = {"a2": [add, "TRUE", "", "AS (amt + 1)", ""],
            "r": ["DECIMAL(%d, 1)" % (1 + p - s_ + 1), "TRUE", "", "AS ROUND(amt, 1)", ""],
            "n": ["INT", "FALSE", "", "AS (id + 1)", ""],
            "u": ["STRING", "TRUE", "", "AS UPPER(name)", ""],
            "pt": ["TIMESTAMP_LTZ(3) *PROCTIME*", "FALSE", "", "AS PROCTIME()", ""],
            "ts": ["TIMESTAMP(3) *ROWTIME*", "TRUE", "", "AS TO_TIMESTAMP('2024-05-01 12:00:00')",
                   "(ts - INTERVAL '1' SECOND)"]}
    for col, cells in want.items():
        expect(rows.get(col) == cells, "DESCRIBE's row of %s" % col, cells, rows.get(col), r)


def like(name, pattern):
    """SQL LIKE: % any characters, _ one."""
    rx = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, name, re.S) is not None


def test_show_functions(tmp):
    """SHOW FUNCTIONS lists the built-in functions and the user's, in lower case (as Flink
    normalizes function names), sorted, each once, in Flink's tableau form; SHOW USER FUNCTIONS
    the user's only; LIKE / NOT LIKE / ILIKE filter them; the script goes on after them."""
    udf = os.path.join(os.environ["RILL_EXAMPLES"], "nexmark_udf.so")
    path = script(tmp, """SHOW USER FUNCTIONS;
CREATE FUNCTION Count_Char AS 'count_char' LANGUAGE C USING JAR '%s';
SHOW USER FUNCTIONS;
SHOW FUNCTIONS;
SHOW FUNCTIONS LIKE 'date%%';
SHOW FUNCTIONS NOT ILIKE '%%O%%';
SHOW USER FUNCTIONS LIKE 'count%%';
SELECT count_char('a,b,c', ',') AS n;
""" % udf)
    r = run(["run", path])
    expect_rc(r, 0)
    blocks = re.split(r"\+-+\+\n\| +function name \|\n", r.out)
    expect(len(blocks) == 7, "six tables of 'function name'", 6, len(blocks) - 1, r)

    def names(block):
        return [row[0] for row in tableau_rows(block)]
    expect_in("Empty set", blocks[1], "no user function yet", r)
    expect(names(blocks[2]) == ["count_char"], "SHOW USER FUNCTIONS", ["count_char"],
           names(blocks[2]), r)
    everything = names(blocks[3])
    expect(everything == sorted(set(everything)), "sorted, each once", "sorted",
           everything[:20], r)
    for fn in ("abs", "avg", "coalesce", "count", "count_char", "date_format", "hop", "mod",
               "proctime", "regexp_extract", "split_index", "sum", "to_timestamp", "tumble",
               "upper"):
        expect(fn in everything, "SHOW FUNCTIONS has %s" % fn, fn, everything, r)
    for block, keep in ((blocks[4], lambda n: like(n, "date%")),
                        (blocks[5], lambda n: not like(n.lower(), "%o%"))):
        want = [n for n in everything if keep(n)]
        expect(names(block) == want and want, "a LIKE filter", want, names(block), r)
    expect(names(blocks[6]) == ["count_char"], "SHOW USER FUNCTIONS LIKE", ["count_char"],
           names(blocks[6]), r)
    expect(r.out.splitlines()[-1] == "+I[2]", "the script goes on", "+I[2]",
           r.out.splitlines()[-1], r)


def jrow(vals):
    """A row as the print connector prints it."""
    return "+I[%s]" % ", ".join("null" if v is None else str(v) for v in vals)


def test_insert_column_list(tmp):
    """INSERT INTO t (a, c) SELECT ...: the query's columns go to the listed ones in order, the
    sink's other columns are NULL; a NOT NULL column left out, a count that differs, an unknown
    or repeated column are refused with Calcite's messages and the place."""
    table = csv_table(tmp, ROWS)
    out = os.path.join(tmp, "out")
    path = script(tmp, table + """
CREATE TABLE p (a INT, b STRING, c STRING) WITH ('connector' = 'print');
CREATE TABLE f (a INT, b STRING, c DECIMAL(12, 2), d INT)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
INSERT INTO p (c, a) SELECT name, id FROM t;
INSERT INTO f (d, c) SELECT id * 10, amt FROM t WHERE id > 1;
""" % out)
    r = run(["run", "-p", "1", path])
    expect_rc(r, 0)
    want = [jrow((i, None, n)) for i, n, _ in ROWS]
    expect(r.out.splitlines() == want, "the print sink's rows", want, r.out, r)
    got = committed_rows(out, header=False)
    want = sorted(",,%s,%d" % ("" if a is None else a, i * 10) for i, _, a in ROWS if i > 1)
    expect(got == want, "the file sink's rows", want, got, r)
    sink = "CREATE TABLE q (a INT NOT NULL, b STRING, c STRING) WITH ('connector' = 'print');\n"
    bad = [("INSERT INTO q (b) SELECT name FROM t;",
            "Column 'a' has no default value and does not allow NULLs at line 3, column 16"),
           ("INSERT INTO q (a, b) SELECT id FROM t;",
            "Number of INSERT target columns (2) does not equal number of source items (1)"),
           ("INSERT INTO q (a, x) SELECT id, name FROM t;",
            "Unknown target column 'x' at line 3, column 19"),
           ("INSERT INTO q (a, a) SELECT id, id FROM t;",
            "Target column assigned more than once: 'a' at line 3, column 19")]
    for sql, msg in bad:
        r = run(["run", script(tmp, table + sink + sql + "\n")])
        expect_rc(r, 1)
        expect_in(msg, r.err, sql, r)


def test_table_hints(tmp):
    """OPTIONS hints (Flink's dynamic table options) on a table in FROM and on INSERT INTO add
    to or override its WITH options for that statement only: a hinted path reads another
    file, beside a statement that reads the table's own; a print-identifier on the sink."""
    other = [(100, "zed", "5.00"), (101, "yan", None)]
    table = csv_table(tmp, ROWS)
    csv_table(tmp, other, name="other")
    hinted = "/*+ OPTIONS('path' = '%s') */" % os.path.join(tmp, "other.csv")
    path = script(tmp, table + """
CREATE TABLE p (a INT, b STRING) WITH ('connector' = 'print');
INSERT INTO p /*+ OPTIONS('print-identifier' = 'h') */ SELECT id, name FROM t %s;
INSERT INTO p SELECT id, name FROM t;
INSERT INTO p SELECT id, name FROM t %s WHERE id > 100;
EXPLAIN SELECT id FROM t %s;
""" % (hinted, hinted, hinted))
    r = run(["run", "-p", "1", path])
    expect_rc(r, 0)
    lines = r.out.splitlines()
    plan = [x for x in lines if "TableSourceScan" in x]
    expect(len(plan) == 1 and "dynamic options: {path=%s}" % os.path.join(tmp, "other.csv")
           in plan[0], "EXPLAIN shows the hint", "dynamic options", plan, r)
    rows = sorted(x for x in lines if "+I[" in x)
    want = sorted(["h> " + jrow((i, n)) for i, n, _ in other] +
                  [jrow((i, n)) for i, n, _ in ROWS] +
                  [jrow((i, n)) for i, n, _ in other if i > 100])
    expect(rows == want, "each statement's rows", want, rows, r)
    view = "CREATE VIEW v AS SELECT * FROM t;\n"
    bad = [(view + "SELECT * FROM v /*+ OPTIONS('path' = 'x') */;",
            "View 'v' cannot be enriched with new options"),
           ("SELECT * FROM t /*+ LOOKUP('table' = 't') */;",
            "Table hint 'LOOKUP' is not supported yet"),
           ("SET 'table.dynamic-table-options.enabled' = 'false';\n"
            "SELECT * FROM t /*+ OPTIONS('path' = 'x') */;",
            "OPTIONS hint is allowed only when table.dynamic-table-options.enabled is set to "
            "true"),
           ("SELECT * FROM t /*+ OPTIONS('format' = 'nope') */;", "nope"),
           ("SELECT /*+ STATE_TTL('t' = '1d') */ name, COUNT(*) FROM t GROUP BY name;",
            "Query hints are not supported yet ('STATE_TTL')")]
    for sql, msg in bad:
        r = run(["run", script(tmp, table + sql + "\n")])
        expect_rc(r, 1)
        expect_in(msg, r.err, sql, r)


if __name__ == "__main__":
    main([test_explain_statement_set, test_set_keys_that_change_results,
          test_select_without_from, test_describe_computed_columns, test_show_functions,
          test_insert_column_list, test_table_hints])
