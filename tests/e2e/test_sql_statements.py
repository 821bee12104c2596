"""Statements of Flink SQL scripts beyond queries, run by `rill run`: SET keys that change
results (honoured, or refused naming the key), SHOW FUNCTIONS, SELECT without FROM, INSERT
with a column list, table hints (dynamic table options), EXPLAIN of a statement set and
DESCRIBE of computed columns. Results are checked against values computed here."""
import os
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


if __name__ == "__main__":
    main([test_explain_statement_set])
