"""End-to-end tests of `rill run SCRIPT.sql` (the SQL layer so far: DDL, SET, SHOW, DESCRIBE,
INSERT INTO ... SELECT and bare SELECT with expressions and WHERE over the filesystem
connector, into filesystem, print and blackhole tables), checked against rows computed here
with Flink's (Java's) semantics: integers wrap at their width, division truncates, NULLs
propagate, WHERE keeps TRUE only; and errors that name the place.
"""
import math
import os
import random
import re
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import replay_changelog as replay  # noqa: E402
from rill_e2e import (RILL_EXAMPLES, Started, committed_rows,  # noqa: E402
                      completed_checkpoints, expect,
                      expect_in, expect_rc, main, run, seeded_rng)

WORDS = ["a", "ab", "ba", "xa", "a%b", "b_c", "\u00e9a", "zz"]


def jint(v):
    """Java's int: two's complement wrap at 32 bits."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def jlong(v):
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v >= 1 << 63 else v


def jdiv(a, b):
    """Java's truncating division (b != 0)."""
    q = abs(a) // abs(b)
    return jlong(q if (a >= 0) == (b >= 0) else -q)


def like(s, pattern):
    """SQL LIKE, % and _ over characters, no escape."""
    rx = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, s, re.S) is not None


def random_rows(rng, n):
    rows = []
    for _ in range(n):
        a = None if rng.random() < 0.1 else rng.choice(
            [rng.randrange(-10**6, 10**6), 0, -1, 2**63 - 1, -2**63])
        b = None if rng.random() < 0.1 else rng.choice(
            [rng.randrange(-1000, 1000), 0, -1, 2**31 - 1, -2**31, 2**30])
        s = None if rng.random() < 0.1 else rng.choice(WORDS)
        rows.append((a, b, s))
    return rows


def csv_field(v):
    return "" if v is None else str(v)


def write_rows(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for a, b, s in rows:
            f.write("%s,%s,%s\n" % (csv_field(a), csv_field(b), csv_field(s)))


SCRIPT = """
-- the test's script: comments, SET, two tables and a statement per line
SET 'parallelism.default' = '%(par)d';
CREATE TABLE src (
  a BIGINT,
  b INT,
  s STRING,
  b2 AS b * 2          -- a computed column: INT arithmetic wraps
) WITH ('connector' = 'filesystem', 'path' = '%(input)s', 'format' = 'csv');
CREATE TABLE dst (
  a BIGINT,
  x BIGINT,
  q BIGINT,
  t STRING,
  flag BOOLEAN
) WITH ('connector' = 'filesystem', 'path' = '%(output)s', 'format' = 'csv');
INSERT INTO dst
SELECT a, b2 + a, CASE WHEN b <> 0 THEN a / b END, s || '!', a > b OR s LIKE 'a%%'
FROM src
WHERE s LIKE '%%a%%' OR (a BETWEEN -1000 AND 1000 AND b IS NOT NULL);
"""


def oracle(rows):
    """The rows the script's INSERT writes, as CSV fields (NULL as an empty field)."""
    out = []
    for a, b, s in rows:
        w1 = None if s is None else like(s, "%a%")
        between = None if a is None else -1000 <= a <= 1000
        w2 = False if b is None else between  # (between AND b IS NOT NULL)
        keep = w1 is True or w2 is True
        if not keep:
            continue
        b2 = None if b is None else jint(b * 2)
        x = None if b2 is None or a is None else jlong(b2 + a)
        q = None if b is None or b == 0 or a is None else jdiv(a, b)
        t = None if s is None else s + "!"
        gt = None if a is None or b is None else a > b
        lk = None if s is None else like(s, "a%")
        flag = True if gt is True or lk is True else (
            None if gt is None or lk is None else False)
        fmt = {None: "", True: "true", False: "false"}
        out.append(",".join([csv_field(a), csv_field(x), csv_field(q), csv_field(t),
                             fmt[flag]]))
    return sorted(out)


def test_insert_select_against_oracle(tmp):
    """Random rows with NULLs and edge values through WHERE, CASE, arithmetic, || and LIKE, at
    parallelism 1 and 3: the filesystem sink's committed rows equal the oracle's."""
    rng = seeded_rng("sql-insert")
    rows = random_rows(rng, 3000)
    inp = os.path.join(tmp, "in.csv")
    write_rows(inp, rows)
    want = oracle(rows)
    expect(len(want) > 100, "the oracle keeps rows", "> 100", len(want))
    for par in (1, 3):
        out = os.path.join(tmp, "out-%d" % par)
        script = os.path.join(tmp, "q%d.sql" % par)
        with open(script, "w", encoding="utf-8") as f:
            f.write(SCRIPT % {"par": par, "input": inp, "output": out})
        r = run(["run", script])
        expect_rc(r, 0)
        got = sorted(committed_rows(out, header=False))  # Flink's CSV has no header
        if got != want:
            missing = sorted(set(want) - set(got))[:5]
            extra = sorted(set(got) - set(want))[:5]
            expect(False, "p=%d: the committed rows equal the oracle's" % par,
                   "%d rows (missing e.g. %s)" % (len(want), missing),
                   "%d rows (extra e.g. %s)" % (len(got), extra), r)


def test_select_prints_as_flink(tmp):
    """A bare SELECT prints each row as Flink's print connector does: +I[v, null, true], and
    with a print table's identifier at parallelism 2: id:N> +I[...]."""
    inp = os.path.join(tmp, "in.csv")
    write_rows(inp, [(1, 10, "a"), (None, 3, None), (7, None, "b")])
    script = os.path.join(tmp, "p.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write("""
CREATE TABLE src (a BIGINT, b INT, s STRING)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
SELECT a, b * 2 AS b2, s, a IS NULL, 2.5E0 * b, 1e7 * 1, 4.9E-324,
  CAST(s AS CHAR(3)) || '|' FROM src;
""" % inp)
    r = run(["run", "-p", "1", script])
    expect_rc(r, 0)
    lines = sorted(r.out.splitlines())
    want = sorted(["+I[1, 20, a, false, 25.0, 1.0E7, 4.9E-324, a  |]",
                   "+I[null, 6, null, true, 7.5, 1.0E7, 4.9E-324, null]",
                   "+I[7, null, b, false, null, 1.0E7, 4.9E-324, b  |]"])
    expect(lines == want, "the printed rows", want, lines, r)
    with open(script, "w", encoding="utf-8") as f:
        f.write("""
CREATE TABLE src (a BIGINT, b INT, s STRING)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
CREATE TABLE p (a BIGINT) WITH ('connector' = 'print', 'print-identifier' = 'mine');
INSERT INTO p SELECT a FROM src WHERE a IS NOT NULL;
""" % inp)
    r = run(["run", "-p", "2", script])
    expect_rc(r, 0)
    got = sorted(re.sub(r"^mine:\d> ", "mine:N> ", x) for x in r.out.splitlines())
    expect(got == ["mine:N> +I[1]", "mine:N> +I[7]"], "identifier and subtask prefix",
           ["mine:N> +I[1]", "mine:N> +I[7]"], r.out, r)
    # intervals print as java.time.Duration and Period (Flink's external types)
    with open(script, "w", encoding="utf-8") as f:
        f.write("""
CREATE TABLE src (a BIGINT, b INT, s STRING)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
SELECT INTERVAL '1' DAY, INTERVAL '2' YEAR, INTERVAL '1 02:03:04.5' DAY TO SECOND,
  INTERVAL '-1.5' SECOND, INTERVAL '14' MONTH, INTERVAL '1-2' YEAR TO MONTH,
  INTERVAL '0' SECOND, INTERVAL '-0.25' SECOND, INTERVAL '61' MINUTE FROM src WHERE a = 1;
""" % inp)
    r = run(["run", script])
    expect_rc(r, 0)
    want = "+I[PT24H, P2Y, PT26H3M4.5S, PT-1.5S, P14M, P1Y2M, PT0S, PT-0.25S, PT1H1M]"
    expect(r.out.strip() == want, "intervals as Duration and Period", want, r.out, r)


def test_with_queries(tmp):
    """WITH: named queries in scope for the ones after them and the body, with column lists,
    hiding a table of the same name."""
    inp = os.path.join(tmp, "in.csv")
    write_rows(inp, [(1, 10, "a"), (2, 3, "b"), (None, 7, "c"), (4, 1, "d")])
    script = os.path.join(tmp, "w.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write("""
CREATE TABLE src (a BIGINT, b INT, s STRING)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
CREATE TABLE big (x INT) WITH ('connector' = 'blackhole');
WITH big AS (SELECT a, b * 10 AS w, s FROM src WHERE b > 2),
     named (aa, ww) AS (SELECT a, w + 1 FROM big)
SELECT aa, ww FROM named WHERE aa IS NOT NULL;
""" % inp)
    r = run(["run", script])
    expect_rc(r, 0)
    got = sorted(r.out.splitlines())
    expect(got == ["+I[1, 101]", "+I[2, 31]"], "WITH's rows", ["+I[1, 101]", "+I[2, 31]"], got, r)


def test_example_script(tmp):
    """examples/sql/clicks.sql, run from the repository's root as the README says, prints the
    README's windows (its late 12:00:40 click not counted)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    r = run(["run", "examples/sql/clicks.sql"], cwd=root)
    expect_rc(r, 0)
    want = sorted(["+I[/home, 2024-05-01T12:00, 2024-05-01T12:01, 3]",
                   "+I[/cart, 2024-05-01T12:00, 2024-05-01T12:01, 2]",
                   "+I[/home, 2024-05-01T12:01, 2024-05-01T12:02, 1]",
                   "+I[/cart, 2024-05-01T12:01, 2024-05-01T12:02, 1]",
                   "+I[/home, 2024-05-01T12:02, 2024-05-01T12:03, 1]"])
    expect(sorted(r.out.splitlines()) == want, "the example's windows", want, r.out, r)


def test_show_and_describe(tmp):
    script = os.path.join(tmp, "d.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write("""
CREATE TABLE orders (id BIGINT NOT NULL, amount DOUBLE, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND, PRIMARY KEY (id) NOT ENFORCED)
  WITH ('connector' = 'blackhole');
CREATE VIEW big AS SELECT id FROM orders WHERE amount > 100;
SHOW TABLES;
DESCRIBE orders;
DESCRIBE big;
""")
    r = run(["run", script])
    expect_rc(r, 0)
    for needle in ("|        big |", "|     orders |", "2 rows in set",
                   "| TIMESTAMP(3) *ROWTIME* |", "PRI(id)", "INTERVAL '5' SECOND",
                   "|   id | BIGINT | FALSE |     |        |           |\n"
                   "+------+--------+-------+-----+--------+-----------+\n1 row in set"):
        expect_in(needle, r.out, "SHOW TABLES / DESCRIBE output", r)


def test_explain(tmp):
    """EXPLAIN prints the plan in Flink's tree shape with the engine's parallelism, keys,
    state and watermark, and runs nothing."""
    script = os.path.join(tmp, "e.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write("""
CREATE TABLE clicks (ts TIMESTAMP(3), user_id BIGINT, page STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '/nonexistent', 'format' = 'csv');
CREATE TABLE out_t (page STRING, n BIGINT) WITH ('connector' = 'blackhole');
EXPLAIN INSERT INTO out_t SELECT page, COUNT(*) AS n
FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '1' MINUTE))
WHERE user_id > 0 GROUP BY page, window_start, window_end;
EXPLAIN CHANGELOG_MODE SELECT n, COUNT(*) FROM (
  SELECT page, COUNT(*) AS n FROM clicks GROUP BY page) GROUP BY n;
""")
    r = run(["run", "-p", "3", script])
    expect_rc(r, 0)
    # CHANGELOG_MODE: the row kinds of each node; an aggregation over an updating input
    # deletes the groups it empties
    for needle in ("GroupAggregate(groupBy=[n]", "changelog=[+I, -U, +U, -D], "
                   "changelogMode=[I,UB,UA,D])", "changelog=[+I, -U, +U], "
                   "changelogMode=[I,UB,UA])", "connector=[filesystem], parallelism=[3], "
                   "changelogMode=[I])"):
        expect_in(needle, r.out, "EXPLAIN CHANGELOG_MODE's plan", r)
    expect("changelogMode" not in r.out.split("== Optimized Physical Plan ==")[1],
           "plain EXPLAIN has no changelogMode", "none", r.out)
    for needle in ("== Optimized Physical Plan ==",
                   "Sink(table=[default_catalog.default_database.out_t]",
                   "WindowAggregate(groupBy=[page], window=[HOP(time_col=[ts], size=[60000 ms], "
                   "slide=[10000 ms])]",
                   "keyed by [page]", "parallelism=[3]",
                   "WatermarkAssigner(rowtime=[ts], watermark=[ts - 5000 ms]",
                   "where=[(user_id > 0)]",
                   "TableSourceScan(table=[[default_catalog, default_database, clicks]]"):
        expect_in(needle, r.out, "EXPLAIN's plan", r)


def test_negative_window_offsets(tmp):
    """A window TVF's offset may be negative, as in Flink (INTERVAL '-2' SECOND, INTERVAL -'2'
    SECOND, - INTERVAL '2' SECOND): the windows of offset -2 s and size 10 s are those of
    offset 8 s, for aggregations and for the rows of TUMBLE and HOP; a size stays positive."""
    rng = seeded_rng("sql-offsets")
    t, lines = 1714564800000, []
    for _ in range(300):
        t += rng.randint(0, 300)
        lines.append("%s,%d,%s" % (rng.choice("abc"), rng.randint(1, 9), fmt_ts(t)[0]))
    inp = os.path.join(tmp, "in.csv")
    with open(inp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    outs = {}
    for off in ("INTERVAL '8' SECOND", "INTERVAL '-2' SECOND", "- INTERVAL '2' SECOND",
                "INTERVAL -'2' SECOND"):
        script = os.path.join(tmp, "o.sql")
        with open(script, "w", encoding="utf-8") as f:
            f.write("""
CREATE TABLE a (k STRING, v BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '%(in)s', 'format' = 'csv');
SELECT 't', k, window_start, COUNT(*), SUM(v) FROM TABLE(TUMBLE(TABLE a, DESCRIPTOR(ts),
  INTERVAL '10' SECOND, %(off)s)) GROUP BY k, window_start, window_end;
SELECT 'h', window_start, window_end, COUNT(*) FROM TABLE(HOP(TABLE a, DESCRIPTOR(ts),
  INTERVAL '5' SECOND, INTERVAL '10' SECOND, %(off)s)) GROUP BY window_start, window_end;
SELECT 'r', k, v, window_start FROM TABLE(TUMBLE(TABLE a, DESCRIPTOR(ts), INTERVAL '10' SECOND,
  %(off)s));
""" % {"in": inp, "off": off})
        r = run(["run", script])
        expect_rc(r, 0)
        outs[off] = sorted(r.out.splitlines())
        starts = set(re.findall(r"T\d\d:\d\d:(\d\d)", "\n".join(
            ln for ln in r.out.splitlines() if ln[3:5] in ("t,", "r,"))))
        expect(starts and all(int(x) % 10 == 8 for x in starts),
               "%s: windows start 8 s after a multiple of 10 s" % off, "..:08, ..:18", starts, r)
    first = outs["INTERVAL '8' SECOND"]
    expect(len(first) > 300, "rows", "> 300", len(first))
    for off, got in outs.items():
        expect(got == first, "%s: the windows of offset 8 s" % off, len(first), len(got))
    with open(script, "w", encoding="utf-8") as f:
        f.write("CREATE TABLE a (k STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH "
                "('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');\n"
                "SELECT COUNT(*) FROM TABLE(TUMBLE(TABLE a, DESCRIPTOR(ts), INTERVAL '-10' "
                "SECOND)) GROUP BY window_start, window_end;\n" % inp)
    r = run(["run", script])
    expect(r.rc != 0, "a negative size is refused", "rc != 0", r.rc, r)
    expect_in("Illegal interval literal '-10'", r.err, "the message", r)


def test_group_by_changelog(tmp):
    """An unbounded GROUP BY prints a changelog (+I, then -U/+U as a group changes, nothing when
    it does not): replayed, it is consistent (each -U retracts the group's current row) and ends
    at the aggregates computed here (COUNT, COUNT(x), SUM, MIN, MAX, AVG as Java's long
    division, a DECIMAL SUM), at parallelism 1 and 3; an append-only sink refuses it with
    Flink's message."""
    from decimal import Decimal
    rng = seeded_rng("sql-group")
    rows = []
    for _ in range(2000):
        k = rng.choice(["a", "b", "c", "d", "e"])
        v = None if rng.random() < 0.1 else rng.randrange(-1000, 1000)
        d = Decimal(rng.randrange(-10**6, 10**6)) / 100
        rows.append((k, v, d))
    inp = os.path.join(tmp, "g.csv")
    with open(inp, "w", encoding="utf-8") as f:
        for k, v, d in rows:
            f.write("%s,%s,%s\n" % (k, "" if v is None else v, d))
    ddl = ("CREATE TABLE t (k STRING, v BIGINT, d DECIMAL(10, 2)) WITH ('connector' = "
           "'filesystem', 'path' = '%s', 'format' = 'csv');\n" % inp)
    script = os.path.join(tmp, "g.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write(ddl + "SELECT k, COUNT(*), COUNT(v), SUM(v), MIN(v), MAX(v), AVG(v), SUM(d) "
                "FROM t GROUP BY k;\n")
    want = {}
    for k in sorted({r[0] for r in rows}):
        vs = [v for kk, v, _ in rows if kk == k and v is not None]
        ds = [d for kk, _, d in rows if kk == k]
        n_all = sum(1 for r in rows if r[0] == k)
        avg = (abs(sum(vs)) // len(vs)) * (1 if sum(vs) >= 0 else -1)
        want[k] = "%d, %d, %d, %d, %d, %d, %s" % (n_all, len(vs), sum(vs), min(vs), max(vs),
                                                 avg, sum(ds))
    for par in (1, 3):
        r = run(["run", "-p", str(par), script])
        expect_rc(r, 0)
        table = {}
        for line in r.out.splitlines():
            line = re.sub(r"^\d+> ", "", line)
            m = re.match(r"^([+-][IUD])\[([^,]*), (.*)\]$", line)
            expect(m is not None, "p=%d: a changelog row" % par, "+I[k, ...]", line, r)
            kind, k, rest = m.groups()
            if kind in ("-U", "-D"):
                expect(table.get(k) == rest, "p=%d: %s retracts the current row of %s" % (
                    par, kind, k), table.get(k), rest, r)
                del table[k]
            else:
                expect(k not in table, "p=%d: %s on a retracted group" % (par, kind),
                       "no current row", table.get(k), r)
                table[k] = rest
        expect(table == want, "p=%d: the groups' final rows" % par, want, table, r)
        n_updates = sum(1 for x in r.out.splitlines() if "+U[" in x)
        expect(n_updates > 100, "p=%d: updates were emitted" % par, "> 100", n_updates, r)
    # GROUP BY an expression, aggregates of expressions (Java's MOD keeps the dividend's sign)
    with open(script, "w", encoding="utf-8") as f:
        f.write(ddl + "SELECT MOD(v, 3) + 10, COUNT(*), SUM(v * 2), MAX(CHAR_LENGTH(k) + v) "
                "FROM t WHERE v IS NOT NULL GROUP BY MOD(v, 3);\n")
    want = {}
    for m in (-2, -1, 0, 1, 2):
        vs = [v for _, v, _ in rows if v is not None and int(math.fmod(v, 3)) == m]
        if vs:
            want[str(m + 10)] = "%d, %d, %d" % (len(vs), 2 * sum(vs), 1 + max(vs))
    r = run(["run", "-p", "2", script])
    expect_rc(r, 0)
    table = {}
    for line in r.out.splitlines():
        m = re.match(r"^(?:\d+> )?([+-][IU])\[([^,]*), (.*)\]$", line)
        expect(m is not None, "a changelog row", "+I[k, ...]", line, r)
        if m.group(1) == "-U":
            del table[m.group(2)]
        else:
            table[m.group(2)] = m.group(3)
    expect(table == want, "GROUP BY MOD(v, 3): the groups' final rows", want, table, r)
    # SELECT DISTINCT: each distinct row once, as +I
    with open(script, "w", encoding="utf-8") as f:
        f.write(ddl + "SELECT DISTINCT k, MOD(v, 3) FROM t WHERE v IS NOT NULL;\n")
    r = run(["run", "-p", "3", script])
    expect_rc(r, 0)
    got = sorted(re.sub(r"^\d+> ", "", x) for x in r.out.splitlines())
    want_d = sorted("+I[%s, %d]" % kv for kv in {(k, int(math.fmod(v, 3)))
                                                  for k, v, _ in rows if v is not None})
    expect(got == want_d, "SELECT DISTINCT's rows", want_d, got, r)
    # retractions into a second aggregation: AVG of MAX, and COUNT of COUNT (groups that empty
    # are deleted: -D)
    maxes = {}
    for k, v, _ in rows:
        if v is not None:
            maxes[k] = max(maxes.get(k, v), v)
    counts = {}
    for k, _, _ in rows:
        counts[k] = counts.get(k, 0) + 1
    tot = sum(maxes.values())
    queries = [
        ("SELECT AVG(m), COUNT(*), SUM(m) FROM (SELECT k, MAX(v) AS m FROM t GROUP BY k);",
         {"%d" % ((abs(tot) // len(maxes)) * (1 if tot >= 0 else -1)):
          "%d, %d" % (len(maxes), tot)}),
        ("SELECT cnt, COUNT(*) FROM (SELECT k, COUNT(*) AS cnt FROM t GROUP BY k) "
         "GROUP BY cnt;",
         {str(c): str(sum(1 for x in counts.values() if x == c)) for c in set(counts.values())}),
    ]
    for query, want in queries:
        with open(script, "w", encoding="utf-8") as f:
            f.write(ddl + query + "\n")
        for par in (1, 3):
            r = run(["run", "-p", str(par), script])
            expect_rc(r, 0)
            table, n = {}, 0
            for line in r.out.splitlines():
                m = re.match(r"^(?:\d+> )?([+-][IUD])\[([^,]*), (.*)\]$", line)
                expect(m is not None, "a changelog row", "+I[k, ...]", line, r)
                kind, k, rest = m.groups()
                if kind in ("-U", "-D"):
                    expect(table.get(k) == rest, "%s retracts the current row" % kind,
                           table.get(k), rest, r)
                    del table[k]
                else:
                    table[k] = rest
                n += 1
            if len(want) == 1:  # a global aggregate: its one row, keyed by its first value
                expect(list(table.values()) and
                       {list(table)[0]: list(table.values())[0]} == want,
                       "p=%d %s" % (par, query), want, table, r)
            else:
                expect(table == want, "p=%d %s" % (par, query), want, table, r)
    with open(script, "w", encoding="utf-8") as f:
        f.write(ddl + "CREATE TABLE o (k STRING, n BIGINT) WITH ('connector' = 'filesystem', "
                "'path' = '%s', 'format' = 'csv');\nINSERT INTO o SELECT k, COUNT(*) FROM t "
                "GROUP BY k;\n" % os.path.join(tmp, "o"))
    r = run(["run", script])
    expect_rc(r, 1)
    expect_in("doesn't support consuming update changes", r.err, "an append-only sink", r)



def jtrunc_div(a, b):
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def test_group_by_distinct_filter_min_max(tmp):
    """DISTINCT aggregates, FILTER (WHERE ...), MIN and MAX of strings, and MIN and MAX over an
    updating input (each group keeps its values: a retracted minimum gives way to the next),
    replayed from the printed changelog and compared with the aggregates computed here, at
    parallelism 1 and 3."""
    rng = seeded_rng("sql-distinct")
    words = ["apple", "ab", "b", "ba", "zeta", "\u00e9t\u00e9", "a", "\u4e2d"]
    rows = []
    for _ in range(1500):
        k = "k%d" % rng.randrange(25)
        v = None if rng.random() < 0.1 else rng.randrange(-20, 20)
        w = None if rng.random() < 0.1 else rng.choice(words)
        rows.append((k, v, w))
    inp = os.path.join(tmp, "d.csv")
    with open(inp, "w", encoding="utf-8") as f:
        for k, v, w in rows:
            f.write("%s,%s,%s\n" % (k, "" if v is None else v, "" if w is None else w))
    ddl = ("CREATE TABLE t (k STRING, v BIGINT, s STRING) WITH ('connector' = "
           "'filesystem', 'path' = '%s', 'format' = 'csv');\n" % inp)
    script = os.path.join(tmp, "d.sql")

    def fmt(x):
        return "null" if x is None else str(x)

    def agg(vals, f):
        vals = [x for x in vals if x is not None]
        return f(vals) if vals else None

    want = {}
    for k in {r[0] for r in rows}:
        g = [r for r in rows if r[0] == k]
        dv = {v for _, v, _ in g if v is not None}
        want[k] = ", ".join(fmt(x) for x in [
            len(dv), agg(dv, sum), agg(dv, lambda x: jtrunc_div(sum(x), len(x))),
            sum(1 for _, v, _ in g if v is not None and v > 0),
            agg([v for _, v, w in g if w is not None and w.startswith("a")], sum),
            agg([w for _, _, w in g], min), agg([w for _, _, w in g], max),
            len({w for _, v, w in g if w is not None and v is not None and v < 0})])
    with open(script, "w", encoding="utf-8") as f:
        f.write(ddl + "SELECT k, COUNT(DISTINCT v), SUM(DISTINCT v), AVG(DISTINCT v), "
                "COUNT(*) FILTER (WHERE v > 0), SUM(v) FILTER (WHERE s LIKE 'a%'), MIN(s), "
                "MAX(s), COUNT(DISTINCT s) FILTER (WHERE v < 0) FROM t GROUP BY k;\n")
    for par in (1, 3):
        r = run(["run", "-p", str(par), script])
        expect_rc(r, 0)
        table = replay(r, "p=%d distinct/filter" % par)
        expect(table == want, "p=%d: DISTINCT, FILTER, MIN/MAX of strings" % par, want, table, r)
    # MIN and MAX over an updating input: groups move between buckets as their counts grow
    counts, firsts = {}, {}
    for k, v, w in rows:
        counts[k] = counts.get(k, 0) + 1
    want = {}
    for b in range(4):
        ks = [k for k, c in counts.items() if c % 4 == b]
        if ks:
            cs = [counts[k] for k in ks]
            want[str(b)] = "%s, %s, %d, %d" % (min(ks), max(ks), min(cs), max(cs))
    with open(script, "w", encoding="utf-8") as f:
        f.write(ddl + "SELECT MOD(c, 4), MIN(k), MAX(k), MIN(c), MAX(c) FROM (SELECT k, "
                "COUNT(*) AS c FROM t GROUP BY k) GROUP BY MOD(c, 4);\n")
    for par in (1, 3):
        r = run(["run", "-p", str(par), script])
        expect_rc(r, 0)
        table = replay(r, "p=%d MIN/MAX over updates" % par)
        expect(table == want, "p=%d: MIN/MAX over an updating input" % par, want, table, r)
        expect(r.out.count("-U[") + r.out.count("-D[") > 100, "p=%d: retractions" % par,
               "> 100", r.out.count("-U["), r)


def script_error(tmp, text, name="bad.sql"):
    path = os.path.join(tmp, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    r = run(["run", path])
    expect_rc(r, 1)
    return r


def test_errors_name_the_place(tmp):
    """Bad SQL of each kind: exit status 1, the script, the line and column, and a caret."""
    inp = os.path.join(tmp, "in.csv")
    write_rows(inp, [(1, 0, "a")])
    ddl = ("CREATE TABLE src (a BIGINT, b INT, s STRING) WITH ('connector' = 'filesystem', "
           "'path' = '%s', 'format' = 'csv');\n" % inp)
    cases = [
        ("SELECT a FROM src WHERE;\n", "line 2, column 24"),
        ("SELECT nope FROM src;\n", "Column 'nope' not found"),
        ("SELECT a FROM missing;\n", "Object 'missing' not found"),
        ("SELECT a + s FROM src;\n", "Cannot apply '+' to arguments of type 'BIGINT' and"),
        ("SELECT a FROM src ORDER BY a;\n", "ORDER BY is not supported yet"),
        ("SELECT a, COUNT(*) FROM src GROUP BY ROLLUP(a);\n", "not supported yet"),
        ("CREATE TABLE o (a BIGINT) WITH ('connector' = 'blackhole');\n"
         "INSERT INTO o SELECT s FROM src;\n", "Incompatible types for sink column 'a'"),
        ("CREATE TABLE o (a STRING) WITH ('connector' = 'blackhole');\n"
         "INSERT INTO o SELECT CAST(a AS DOUBLE) FROM src;\n",
         "Incompatible types for sink column 'a'"),
        ("CREATE TABLE o (a VARCHAR(19)) WITH ('connector' = 'blackhole');\n"
         "INSERT INTO o SELECT a FROM src;\n", "Incompatible types for sink column 'a'"),
        ("SELECT a / b FROM src;\n", "division by zero"),
        ("SELECT a, COUNT(*) FROM src;\n", "Expression 'a' is not being grouped"),
        ("SELECT s LIKE 'a!b' ESCAPE '!' FROM src;\n", "Invalid escape sequence '!b'"),
        ("CREATE TABLE w (ts TIMESTAMP(3), WATERMARK FOR ts AS ts) WITH ('connector' = "
         "'filesystem', 'path' = '%s', 'format' = 'csv');\nSELECT TUMBLE_START(ts, INTERVAL "
         "'1' SECOND) FROM w GROUP BY TUMBLE(ts, INTERVAL '2' SECOND);\n" % inp,
         "TUMBLE_START must be called with the arguments of a TUMBLE group window"),
        ("SELECT COUNT(*) FROM src GROUP BY TUMBLE(a, INTERVAL '1' SECOND);\n",
         "requires the timecol is a time attribute"),
    ]
    for text, needle in cases:
        r = script_error(tmp, ddl + text)
        expect_in(needle, r.err, "the error for %r" % text.strip(), r)
        expect_in("bad.sql", r.err, "the error names the script", r)
        if "line" in needle or "not found" in needle or "Cannot" in needle:
            expect("^" in r.err, "a caret under the place", "^", r.err, r)
    # beyond Flink, with a warning: an exact number into a string column, as CAST writes it
    out = os.path.join(tmp, "o.csv")
    path = os.path.join(tmp, "num.sql")
    with open(path, "w", encoding="utf-8") as f:
        f.write(ddl + "CREATE TABLE o (a STRING, b VARCHAR(5)) WITH ('connector' = "
                "'filesystem', 'path' = '%s', 'format' = 'csv');\n"
                "INSERT INTO o SELECT a * 1000, b = 0 FROM src;\n" % out)
    r = run(["run", path])
    expect_rc(r, 0)
    expect_in("warning: sink column 'a' is STRING and the query gives BIGINT", r.err,
              "the warning", r)
    expect_in("line 3, column 1", r.err, "the warning names the place", r)
    rows = "".join(open(os.path.join(out, f), encoding="utf-8").read()
                   for f in sorted(os.listdir(out)) if not f.startswith("."))
    expect(rows == "1000,TRUE\n", "the row written", "1000,TRUE", rows, r)


def test_names_over_unnamed_subqueries(tmp):
    """t.col over a FROM with an unnamed subquery: t's column, wherever the subquery stands (a
    column of an unnamed subquery once answered for any qualifier, so t.id gave the subquery's
    id when it came first); A.id for a column of an unnamed subquery whose inside called it
    A.id (Nexmark's q6 writes it so) when no FROM item has it; a bare name two FROM items have
    is ambiguous."""
    u, t = os.path.join(tmp, "u.csv"), os.path.join(tmp, "t.csv")
    write_rows(u, [(1, 10, "u")])
    write_rows(t, [(7, 70, "t")])
    ddl = "".join("CREATE TABLE %s (id BIGINT, b INT, s STRING) WITH ('connector' = "
                  "'filesystem', 'path' = '%s', 'format' = 'csv');\n" % (n, p)
                  for n, p in (("u", u), ("t", t)))
    path = os.path.join(tmp, "names.sql")
    with open(path, "w", encoding="utf-8") as f:
        f.write(ddl + "SELECT 'a', t.id, t.s FROM (SELECT id, s FROM u), t;\n"
                "SELECT 'b', t.id, t.s FROM t, (SELECT id, s FROM u);\n"
                "SELECT 'c', A.id, B.b FROM (SELECT A.id, B.b FROM u AS A, t AS B);\n")
    r = run(["run", path])
    expect_rc(r, 0)
    got = sorted(l for l in r.out.splitlines() if l.startswith("+I"))
    want = ["+I[a, 7, t]", "+I[b, 7, t]", "+I[c, 1, 70]"]
    expect(got == want, "the rows", want, got, r)
    r = script_error(tmp, ddl + "SELECT id FROM (SELECT id FROM u), t;\n")
    expect_in("Column 'id' is ambiguous", r.err, "a name two FROM items have", r)
    r = script_error(tmp, ddl + "SELECT X.b FROM (SELECT id, b FROM u), (SELECT b FROM t);\n")
    expect_in("Column 'b' is ambiguous", r.err, "a qualifier no FROM item has, two columns", r)


NEXMARK_DDL = """
CREATE TABLE datagen (
    event_type int,
    person ROW<id BIGINT, name VARCHAR, emailAddress VARCHAR, creditCard VARCHAR, city VARCHAR,
               state VARCHAR, `dateTime` TIMESTAMP(3), extra VARCHAR>,
    auction ROW<id BIGINT, itemName VARCHAR, description VARCHAR, initialBid BIGINT,
                reserve BIGINT, `dateTime` TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT,
                category BIGINT, extra VARCHAR>,
    bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
            `dateTime` TIMESTAMP(3), extra VARCHAR>,
    `dateTime` AS CASE WHEN event_type = 0 THEN person.`dateTime`
                       WHEN event_type = 1 THEN auction.`dateTime`
                       ELSE bid.`dateTime` END,
    WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND
) WITH (
    'connector' = 'nexmark',
    'first-event.rate' = '10000',
    'next-event.rate' = '10000',
    'events.num' = '%(events)d',
    'person.proportion' = '1',
    'auction.proportion' = '3',
    'bid.proportion' = '46',
    'events.base-time' = '1700000000000'
);
CREATE VIEW bid AS
SELECT
    bid.auction,
    bid.bidder,
    bid.price,
    bid.channel,
    bid.url,
    `dateTime`,
    bid.extra
FROM datagen WHERE event_type = 2;
"""


def test_nexmark_q0_q2(tmp):
    """Nexmark's DDL (nested ROWs, a computed dateTime, a view) with q0 (every bid, into files),
    q1 (0.908 * price as DECIMAL(23, 3)) and q2 (bids of every 123rd auction, printed) in one
    script: q1's and q2's rows are the ones computed here from q0's, and the bids are 46 of
    every 50 events."""
    from decimal import Decimal
    events = 60000
    out, out1 = os.path.join(tmp, "q0"), os.path.join(tmp, "q1")
    script = os.path.join(tmp, "nexmark.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write(NEXMARK_DDL % {"events": events} + """
CREATE TABLE nexmark_q0 (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
CREATE TABLE nexmark_q2 (auction BIGINT, price BIGINT) WITH ('connector' = 'print');
CREATE TABLE nexmark_q1 (auction BIGINT, bidder BIGINT, price DECIMAL(23, 3))
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
INSERT INTO nexmark_q0 SELECT auction, bidder, price, channel FROM bid;
INSERT INTO nexmark_q2 SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0;
INSERT INTO nexmark_q1 SELECT auction, bidder, 0.908 * price as price FROM bid;
""" % (out, out1))
    for par in (1, 2):
        r = run(["run", "-p", str(par), script])
        expect_rc(r, 0)
        bids = [line.split(",") for line in committed_rows(out, header=False)]
        expect(len(bids) == events // 50 * 46, "p=%d: the bids" % par, events // 50 * 46,
               len(bids), r)
        want = sorted("+I[%s, %s]" % (b[0], b[2]) for b in bids if int(b[0]) % 123 == 0)
        got = sorted(re.sub(r"^\d+> ", "", x) for x in r.out.splitlines())
        expect(want and got == want, "p=%d: q2's rows" % par, "%d rows" % len(want),
               "%d rows" % len(got), r)
        # q1: 0.908 * price, DECIMAL(23, 3)
        want1 = sorted("%s,%s,%s" % (b[0], b[1], Decimal("0.908") * int(b[2])) for b in bids)
        got1 = committed_rows(out1, header=False)
        expect(got1 == want1, "p=%d: q1's rows" % par, want1[:2], got1[:2], r)
        shutil.rmtree(out)
        shutil.rmtree(out1)


# ---- window TVF aggregation -------------------------------------------------------------------

def fmt_ts(ms):
    """Flink's SQL timestamp text (what the CSV holds) and LocalDateTime.toString (printed)."""
    import datetime
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=ms)
    sql = t.strftime("%Y-%m-%d %H:%M:%S") + ".%03d" % (ms % 1000)
    java = t.strftime("%Y-%m-%dT%H:%M")
    if t.second or ms % 1000:
        java += ":%02d" % t.second
        if ms % 1000:
            java += ".%03d" % (ms % 1000)
    return sql, java


def window_oracle(rows, delay, size, slide, keep_row, having=None, cumulate=False):
    """Flink's window TVF aggregation replayed in file order: the watermark before a row is
    max(ts before it) - delay; a row counts in each window [s, s + size) holding it whose
    end - 1 is above that watermark; every window fires once (at the end of input at the
    latest). Per (page, window): COUNT(*), SUM(uid), MIN(uid), MAX(ts), AVG(uid) (Java's
    long division); rows keep_row rejects never reach the windows (WHERE) but do move the
    watermark, which the table's scan makes before the WHERE. cumulate: CUMULATE's windows
    [s, s + k * slide) for s a multiple of size, k = 1..size/slide."""
    wm = None
    acc = {}
    for ts, uid, page in rows:
        if keep_row and not keep_row(ts, uid, page):
            # filtered after the scan: its timestamp still moves the table's watermark
            wm = ts - delay if wm is None else max(wm, ts - delay)
            continue
        if cumulate:
            base = ts - ts % size
            windows = [(base, base + k * slide) for k in range(1, size // slide + 1)
                       if base + k * slide > ts]
        else:
            windows = [(st, st + size) for st in range(ts - ts % slide, ts - size, -slide)]
        for start, end in windows:
            if wm is None or end - 1 > wm:
                a = acc.setdefault((page, start, end), [0, 0, None, None, 0])
                a[0] += 1
                a[1] += uid
                a[2] = uid if a[2] is None else min(a[2], uid)
                a[3] = ts if a[3] is None else max(a[3], ts)
        wm = ts - delay if wm is None else max(wm, ts - delay)
    out = []
    for (page, start, end), (n, total, lo, hi, _) in acc.items():
        if having and not having(n):
            continue
        avg = abs(total) // n * (1 if total >= 0 else -1)
        out.append("+I[%s, %s, %s, %d, %d, %d, %s, %d]" % (
            page, fmt_ts(start)[1], fmt_ts(end)[1], n, total, lo, fmt_ts(hi)[1], avg))
    return sorted(out)


def test_window_tvf_against_oracle(tmp):
    """TUMBLE, HOP and CUMULATE (and the legacy GROUP BY TUMBLE/HOP) with COUNT, SUM, MIN,
    MAX, AVG per page on random clicks out of order
    with late rows (a WATERMARK of 2 s), WHERE below and HAVING above the windows, at
    parallelism 1 and 3: the rows equal the oracle's."""
    rng = seeded_rng("sql-windows")
    t0 = 1714564800000
    rows, t = [], t0
    for _ in range(4000):
        t += rng.randrange(0, 40)
        ts = t - (rng.randrange(0, 6000) if rng.random() < 0.2 else rng.randrange(0, 1500))
        rows.append((ts, rng.randrange(-50, 1000), rng.choice(["/home", "/cart", "/buy"])))
    inp = os.path.join(tmp, "clicks.csv")
    with open(inp, "w", encoding="utf-8") as f:
        for ts, uid, page in rows:
            f.write("%s,%d,%s\n" % (fmt_ts(ts)[0], uid, page))
    ddl = """
CREATE TABLE clicks (ts TIMESTAMP(3), user_id BIGINT, page STRING,
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
""" % inp
    cols = ("page, window_start, window_end, COUNT(*), SUM(user_id), MIN(user_id), MAX(ts), "
            "AVG(user_id)")
    cases = [
        ("TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '5' SECOND)", "", "",
         window_oracle(rows, 2000, 5000, 5000, None)),
        ("HOP(TABLE clicks, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '6' SECOND)",
         "WHERE user_id >= 0", "HAVING COUNT(*) > 3",
         window_oracle(rows, 2000, 6000, 2000, lambda ts, u, p: u >= 0, lambda n: n > 3)),
        ("CUMULATE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '8' SECOND)",
         "", "", window_oracle(rows, 2000, 8000, 2000, None, cumulate=True)),
    ]
    # legacy group windows: GROUP BY TUMBLE(...) with TUMBLE_START/_END, the same windows
    legacy = [
        ("TUMBLE", "INTERVAL '5' SECOND", "", "", cases[0][3]),
        ("HOP", "INTERVAL '2' SECOND, INTERVAL '6' SECOND", "WHERE user_id >= 0",
         "HAVING COUNT(*) > 3", cases[1][3]),
    ]
    for fn, args, where, having, want in legacy:
        lcols = cols.replace("window_start", "%s_START(ts, %s)" % (fn, args)).replace(
            "window_end", "%s_end(ts, %s)" % (fn.lower(), args))
        cases.append(("legacy " + fn, where, having, want,
                      "SELECT %s FROM clicks %s GROUP BY page, %s(ts, %s) %s;\n" % (
                          lcols, where, fn, args, having)))
    for case in cases:
        tvf, where, having, want = case[:4]
        expect(len(want) > 20, "the oracle has windows", "> 20", len(want))
        script = os.path.join(tmp, "w.sql")
        with open(script, "w", encoding="utf-8") as f:
            f.write(ddl + (case[4] if len(case) > 4 else
                           "SELECT %s FROM TABLE(%s) %s GROUP BY page, window_start, "
                           "window_end %s;\n" % (cols, tvf, where, having)))
        for par in (1, 3):
            r = run(["run", "-p", str(par), script])
            expect_rc(r, 0)
            got = sorted(re.sub(r"^\d+> ", "", x) for x in r.out.splitlines())
            if got != want:
                expect(False, "p=%d %s: the windows" % (par, tvf.split("(")[0]),
                       "%d rows, e.g. %s" % (len(want), sorted(set(want) - set(got))[:3]),
                       "%d rows, e.g. %s" % (len(got), sorted(set(got) - set(want))[:3]), r)


def test_decimals_print_as_flink(tmp):
    """Nexmark q1's 0.908 * price (DECIMAL(23, 3)) and decimal arithmetic, casts and NULLs,
    printed as Java's BigDecimal prints them; values computed here with Python's Decimal."""
    from decimal import Decimal, ROUND_HALF_UP
    rng = seeded_rng("sql-decimals")
    rows = [(rng.randrange(-10**6, 10**6), Decimal(rng.randrange(-10**7, 10**7)) / 100)
            for _ in range(300)] + [(None, None)]
    inp = os.path.join(tmp, "d.csv")
    with open(inp, "w", encoding="utf-8") as f:
        for a, d in rows:
            f.write("%s,%s\n" % ("" if a is None else a, "" if d is None else d))
    script = os.path.join(tmp, "d.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write("""
CREATE TABLE src (price BIGINT, d DECIMAL(10, 2))
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
SELECT price, 0.908 * price, d * 3, d / 7, CAST(d AS INT), d + 0.005 FROM src;
""" % inp)
    r = run(["run", script])
    expect_rc(r, 0)

    def q(x, places):
        return x.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    want = []
    for a, d in rows:
        if a is None:
            want.append("+I[null, null, null, null, null, null]")
            continue
        div = q(d / Decimal(7), 13)  # DECIMAL(10, 2) / INT: scale max(6, 2 + 10 + 1)
        want.append("+I[%d, %s, %s, %s, %d, %s]" % (
            a, q(Decimal("0.908") * a, 3), q(d * 3, 2), div, int(d), q(d + Decimal("0.005"), 3)))
    got = sorted(r.out.splitlines())
    expect(got == sorted(want), "decimal results", sorted(want)[:3], got[:3], r)


def test_sql_equals_c_examples(tmp):
    """The window examples written in SQL give the C examples' rows on the same out-of-order
    inputs with late rows, at parallelism 1 and 3: errors per server per tumbling window
    (log_errors: WHERE level = 'ERROR'), clicks per page per hopping window (clicks) and clicks
    per user session (sessions: SESSION ... PARTITION BY user_id). The
    C jobs' watermark is max - delay - 1, so the SQL's WATERMARK is ts - (delay + 1 ms)."""
    import test_windows as tw
    cases = [
        ("log_errors", tw.gen_logs(71, 3000, 2000, 10000, p_late=0.05), 2000, 10000, 10000),
        ("log_errors", tw.gen_logs(72, 2000, 0, 3000, p_late=0.05, t0=-20000), 0, 3000, 3000),
        ("clicks", tw.clicks_rows(73, 3000, 1000, 10000, 2500, -40000), 1000, 10000, 2500),
        ("clicks", tw.clicks_rows(74, 2000, 3000, 6000, 3000, 1700000000000), 3000, 6000, 3000),
        ("sessions", tw.sessions_rows(75, 3000, 1000, 3000, -60000), 1000, 3000, 0),
        ("sessions", tw.sessions_rows(76, 2000, 0, 500, 1700000000000), 0, 500, 0),
    ]
    for k, (job, rows, delay, size, slide) in enumerate(cases):
        with_header = os.path.join(tmp, "in-%d.csv" % k)
        plain = os.path.join(tmp, "plain-%d.csv" % k)
        header = tw.LOG_HEADER if job == "log_errors" else tw.CLICK_HEADER
        tw.write_rows(with_header, header, rows)
        with open(with_header, encoding="utf-8") as f, open(plain, "w", encoding="utf-8") as g:
            g.write("".join(f.readlines()[1:]))
        out = os.path.join(tmp, "c-%d.csv" % k)
        if job == "log_errors":
            r = tw.run_job(job, ["--input", with_header, "--output", out, "--max-delay-ms",
                                 delay, "--window-ms", size], 1)
            c_rows = tw.parse_csv(tw.output_file(out, r), tw.ERRORS_HEADER, job,
                                  (str, int, int, int))
            sql = ("CREATE TABLE logs (ts TIMESTAMP(3), server STRING, level STRING, "
                   "message STRING, WATERMARK FOR ts AS ts - INTERVAL '%s' SECOND) WITH "
                   "('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');\n"
                   "SELECT server, window_start, window_end, COUNT(*) AS errors FROM TABLE("
                   "TUMBLE(TABLE logs, DESCRIPTOR(ts), INTERVAL '%s' SECOND)) WHERE level = "
                   "'ERROR' GROUP BY server, window_start, window_end;\n"
                   % ("%.3f" % ((delay + 1) / 1000), plain, "%.3f" % (size / 1000)))
        elif job == "sessions":
            r = tw.run_job(job, ["--input", with_header, "--output", out, "--max-delay-ms",
                                 delay, "--gap-ms", size], 1)
            c_rows = tw.parse_csv(tw.output_file(out, r), tw.SESSIONS_HEADER, job,
                                  (str, int, int, int))
            sql = ("CREATE TABLE clicks (ts TIMESTAMP(3), user_id BIGINT, page STRING, "
                   "WATERMARK FOR ts AS ts - INTERVAL '%s' SECOND) WITH ('connector' = "
                   "'filesystem', 'path' = '%s', 'format' = 'csv');\n"
                   "SELECT user_id, window_start, window_end, COUNT(*) AS clicks FROM TABLE("
                   "SESSION(TABLE clicks PARTITION BY user_id, DESCRIPTOR(ts), INTERVAL '%s' "
                   "SECOND)) GROUP BY user_id, window_start, window_end;\n"
                   % ("%.3f" % ((delay + 1) / 1000), plain, "%.3f" % (size / 1000)))
        else:
            r = tw.run_job(job, ["--input", with_header, "--output", out, "--max-delay-ms",
                                 delay, "--size-ms", size, "--slide-ms", slide], 1)
            c_rows = tw.parse_csv(tw.output_file(out, r), tw.CLICKS_HEADER, job,
                                  (str, int, int, int))
            sql = ("CREATE TABLE clicks (ts TIMESTAMP(3), user_id BIGINT, page STRING, "
                   "WATERMARK FOR ts AS ts - INTERVAL '%s' SECOND) WITH ('connector' = "
                   "'filesystem', 'path' = '%s', 'format' = 'csv');\n"
                   "SELECT page, window_start, window_end, COUNT(*) AS clicks FROM TABLE("
                   "HOP(TABLE clicks, DESCRIPTOR(ts), INTERVAL '%s' SECOND, INTERVAL '%s' "
                   "SECOND)) GROUP BY page, window_start, window_end;\n"
                   % ("%.3f" % ((delay + 1) / 1000), plain, "%.3f" % (slide / 1000),
                      "%.3f" % (size / 1000)))
        want = sorted("+I[%s, %s, %s, %d]" % (key, fmt_ts(ws)[1], fmt_ts(we)[1], n)
                      for key, ws, we, n in c_rows)
        expect(len(want) > 10, "%s case %d has windows" % (job, k), "> 10", len(want))
        script = os.path.join(tmp, "ex-%d.sql" % k)
        with open(script, "w", encoding="utf-8") as f:
            f.write(sql)
        for par in (1, 3):
            r = run(["run", "-p", str(par), script])
            expect_rc(r, 0)
            got = sorted(re.sub(r"^\d+> ", "", x) for x in r.out.splitlines())
            if got != want:
                expect(False, "%s case %d p=%d: SQL equals the C example" % (job, k, par),
                       "%d rows, e.g. %s" % (len(want), sorted(set(want) - set(got))[:3]),
                       "%d rows, e.g. %s" % (len(got), sorted(set(got) - set(want))[:3]), r)


KILL_SQL = """
CREATE TABLE datagen (
    event_type INT,
    person ROW<id BIGINT, `dateTime` TIMESTAMP(3)>,
    auction ROW<id BIGINT, `dateTime` TIMESTAMP(3)>,
    bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, `dateTime` TIMESTAMP(3)>,
    `dateTime` AS CASE WHEN event_type = 0 THEN person.`dateTime`
                       WHEN event_type = 1 THEN auction.`dateTime` ELSE bid.`dateTime` END,
    WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '1' SECOND
) WITH ('connector' = 'nexmark', 'first-event.rate' = '20000', 'events.num' = '%(events)d',
        'events.base-time' = '1700000000000', 'max-emit-speed' = 'false');
CREATE VIEW b AS SELECT MOD(bid.auction, 10) AS k, bid.price AS price, `dateTime`
  FROM datagen WHERE event_type = 2;
CREATE TABLE out_t (k BIGINT, ws TIMESTAMP(3), n BIGINT, total BIGINT, hi BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s', 'format' = 'csv');
CREATE TABLE out_c (k BIGINT, ws TIMESTAMP(3), we TIMESTAMP(3), n BIGINT, lo BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s-cumulate', 'format' = 'csv');
CREATE TABLE out_d (k BIGINT, ws TIMESTAMP(3), total DECIMAL(38, 2), mean DECIMAL(38, 6))
  WITH ('connector' = 'filesystem', 'path' = '%(out)s-decimal', 'format' = 'csv');
EXECUTE STATEMENT SET BEGIN
INSERT INTO out_t
SELECT k, window_start, COUNT(*), SUM(price), MAX(price)
FROM TABLE(TUMBLE(TABLE b, DESCRIPTOR(`dateTime`), INTERVAL '0.1' SECOND))
GROUP BY k, window_start, window_end;
INSERT INTO out_c
SELECT k, window_start, window_end, COUNT(*), MIN(price)
FROM TABLE(CUMULATE(TABLE b, DESCRIPTOR(`dateTime`), INTERVAL '0.1' SECOND, INTERVAL '0.4' SECOND))
GROUP BY k, window_start, window_end;
INSERT INTO out_d
SELECT k, window_start, SUM(CAST(price AS DECIMAL(20, 2)) / 100), AVG(CAST(price AS DECIMAL(20, 2)))
FROM TABLE(HOP(TABLE b, DESCRIPTOR(`dateTime`), INTERVAL '0.1' SECOND, INTERVAL '0.3' SECOND))
GROUP BY k, window_start, window_end;
END;
"""


def test_kill_and_resume(tmp):
    """A window aggregation over the Nexmark source (paced at 20,000 events/s of event time)
    into the exactly-once filesystem sink, killed with SIGKILL at random moments (the first
    time after a checkpoint completed) and resumed with --resume at random parallelisms: the
    committed rows equal an uninterrupted run's (the stream's splits are fixed by the first
    run's parallelism, 2, as in Nexmark's reference)."""
    import time
    rng = seeded_rng("sql-kill")
    events = 50000
    ref_out = os.path.join(tmp, "ref")
    script = os.path.join(tmp, "ref.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write(KILL_SQL % {"events": events, "out": ref_out})
    r = run(["run", "-p", "2", script])
    expect_rc(r, 0)
    want = committed_rows(ref_out, header=False)
    want_c = committed_rows(ref_out + "-cumulate", header=False)
    want_d = committed_rows(ref_out + "-decimal", header=False)
    expect(len(want) > 100, "the reference run's windows", "> 100", len(want), r)
    expect(len(want_c) > len(want), "the reference run's cumulating windows",
           "> %d" % len(want), len(want_c), r)
    out, ck = os.path.join(tmp, "out"), os.path.join(tmp, "ck")
    script = os.path.join(tmp, "chaos.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write(KILL_SQL % {"events": events, "out": out})
    kills = 0
    for k in range(5):
        par = 2 if k == 0 else rng.randint(1, 3)
        p = Started(tmp, "run%d" % k, ["run", "-p", str(par), "--checkpoint-dir", ck,
                                       "--checkpoint-interval", "100", "--resume", script])
        if k == 0:  # the first kill after a checkpoint: the splits are the first run's
            deadline = time.monotonic() + 60
            while not completed_checkpoints(ck) and p.p.poll() is None:
                expect(time.monotonic() < deadline, "a checkpoint within 60 s", "one", "none")
                time.sleep(0.01)
        else:
            time.sleep(rng.uniform(0.05, 0.8))
        r = p.kill9()
        kills += r.rc == -9
        expect(r.rc in (0, -9), "run %d ended by the kill or by itself" % k, "0 or -9", r.rc, r)
    r = run(["run", "-p", str(rng.randint(1, 3)), "--checkpoint-dir", ck,
             "--checkpoint-interval", "100", "--resume", script])
    expect_rc(r, 0)
    expect(kills >= 3, "most runs were killed", ">= 3 kills", kills)
    expect(len(want_d) > len(want), "the reference run's DECIMAL windows",
           "> %d" % len(want), len(want_d), r)
    for what, path, w in (("TUMBLE", out, want), ("CUMULATE", out + "-cumulate", want_c),
                          ("HOP of DECIMAL", out + "-decimal", want_d)):
        got = committed_rows(path, header=False)
        if got != w:
            expect(False, "the committed %s windows after %d kills equal the uninterrupted "
                   "run's" % (what, kills),
                   "%d rows, e.g. %s" % (len(w), sorted(set(w) - set(got))[:3]),
                   "%d rows, e.g. %s" % (len(got), sorted(set(got) - set(w))[:3]), r)


def test_kafka_tables(tmp):
    """Kafka tables with Flink's options: a window aggregation read from a topic of CSV
    messages (two partitions, late rows, a metadata column) into a Kafka sink table, read back
    with kcat: the rows equal those the same script gives over a file of the same lines."""
    from rill_e2e import MockKafka
    rng = seeded_rng("sql-kafka")
    t0 = 1714564800000
    lines, t = [], t0
    for _ in range(3000):
        t += rng.randrange(0, 30)
        ts = t - rng.randrange(0, 3000)
        lines.append("%s,%d,%s" % (fmt_ts(ts)[0], rng.randrange(0, 100),
                                   rng.choice(["/a", "/b", "/c"])))
    m = MockKafka(["clicks:1", "counts:2"])
    try:
        m.produce("clicks", lines, partition=0)
        query = ("SELECT page, window_start, COUNT(*), SUM(user_id) FROM TABLE(TUMBLE(TABLE "
                 "clicks, DESCRIPTOR(ts), INTERVAL '2' SECOND)) GROUP BY page, window_start, "
                 "window_end")
        kafka_sql = """
CREATE TABLE clicks (ts TIMESTAMP(3), user_id BIGINT, page STRING,
  off BIGINT METADATA FROM 'offset' VIRTUAL,
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'kafka', 'topic' = 'clicks', 'properties.bootstrap.servers' = '%s',
      'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset',
      'format' = 'csv');
CREATE TABLE counts (page STRING, ws TIMESTAMP(3), n BIGINT, total BIGINT)
WITH ('connector' = 'kafka', 'topic' = 'counts', 'properties.bootstrap.servers' = '%s',
      'format' = 'csv', 'key.fields' = 'page');
INSERT INTO counts %s;
""" % (m.bootstrap, m.bootstrap, query)
        script = os.path.join(tmp, "k.sql")
        with open(script, "w", encoding="utf-8") as f:
            f.write(kafka_sql)
        r = run(["run", "-p", "2", script])
        expect_rc(r, 0)
        got = sorted(x for x in m.consume("counts") if x)
    finally:
        m.stop()
    inp = os.path.join(tmp, "clicks.csv")
    with open(inp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    out = os.path.join(tmp, "file-out")
    with open(script, "w", encoding="utf-8") as f:
        f.write("""
CREATE TABLE clicks (ts TIMESTAMP(3), user_id BIGINT, page STRING,
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
CREATE TABLE counts (page STRING, ws TIMESTAMP(3), n BIGINT, total BIGINT)
WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
INSERT INTO counts %s;
""" % (inp, out, query))
    r = run(["run", "-p", "1", script])
    expect_rc(r, 0)
    want = committed_rows(out, header=False)
    expect(len(want) > 50 and got == want, "the Kafka table's rows equal the file's",
           "%d rows" % len(want), "%d rows, e.g. %s" % (len(got), got[:3]), r)


def test_upsert_kafka(tmp):
    """An updating query into an upsert-kafka table: messages keyed by the primary key, +I/+U
    as values, -D as tombstones, -U not written. Read back with kcat, the last message of each
    key (NULL: deleted) is the query's final table, computed here; at parallelism 1 and 3,
    at-least-once and exactly-once. An append-only kafka table and an upsert-kafka table
    without a primary key are refused."""
    from rill_e2e import MockKafka
    rng = seeded_rng("sql-upsert")
    rows = [("k%d" % rng.randrange(40), rng.randrange(-50, 50)) for _ in range(1200)]
    inp = os.path.join(tmp, "u.csv")
    with open(inp, "w", encoding="utf-8") as f:
        f.write("".join("%s,%d\n" % r for r in rows))
    counts, sums = {}, {}
    for k, v in rows:
        counts[k] = counts.get(k, 0) + 1
        sums[k] = sums.get(k, 0) + v
    by_count = {}
    for k, c in counts.items():
        by_count[c] = by_count.get(c, 0) + 1
    cases = [
        ("SELECT k, COUNT(*), SUM(v) FROM t GROUP BY k",
         "k STRING, n BIGINT, total BIGINT, PRIMARY KEY (k) NOT ENFORCED",
         {k: "%s,%d,%d" % (k, counts[k], sums[k]) for k in counts}),
        # groups of the outer aggregation empty as counts grow: tombstones
        ("SELECT c, COUNT(*) FROM (SELECT k, COUNT(*) AS c FROM t GROUP BY k) GROUP BY c",
         "c BIGINT, keys BIGINT, PRIMARY KEY (c) NOT ENFORCED",
         {str(c): "%d,%d" % (c, n) for c, n in by_count.items()}),
    ]
    m = MockKafka(["u0:2", "u1:2", "u2:2", "u3:2", "u4:2", "u5:2", "u6:2", "u7:2"])
    try:
        topic = 0
        for query, cols, want in cases:
            for par, guarantee in ((1, "at-least-once"), (3, "exactly-once")):
                name = "u%d" % topic
                topic += 1
                script = os.path.join(tmp, "%s.sql" % name)
                with open(script, "w", encoding="utf-8") as f:
                    f.write("""
SET 'execution.checkpointing.interval' = '200 ms';
SET 'state.checkpoints.dir' = '%s';
CREATE TABLE t (k STRING, v BIGINT) WITH ('connector' = 'filesystem', 'path' = '%s',
  'format' = 'csv');
CREATE TABLE o (%s) WITH ('connector' = 'upsert-kafka', 'topic' = '%s',
  'properties.bootstrap.servers' = '%s', 'key.format' = 'csv', 'value.format' = 'csv',
  'sink.delivery-guarantee' = '%s', 'sink.transactional-id-prefix' = 'tx-%s');
INSERT INTO o %s;
""" % (os.path.join(tmp, "cp-" + name), inp, cols, name, m.bootstrap, guarantee, name,
       query))
                r = run(["run", "-p", str(par), script])
                expect_rc(r, 0)
                msgs = m.consume(name, fmt="%p\t%k\t%S\t%s\n")
                table, tombstones = {}, 0
                for line in msgs:
                    part, key, size, value = line.split("\t", 3)
                    if size == "-1":
                        table.pop(key, None)
                        tombstones += 1
                    else:
                        table[key] = value
                what = "%s at p=%d %s" % (query, par, guarantee)
                expect(table == want, what, want, table, r)
                expect(len(msgs) > len(want), "%s: updates were written" % what,
                       "> %d messages" % len(want), len(msgs), r)
                if "GROUP BY c" in query:
                    expect(tombstones > 0, "%s: tombstones" % what, "> 0", tombstones, r)
        bad = [
            ("CREATE TABLE o (k STRING, n BIGINT) WITH ('connector' = 'kafka', 'topic' = 'x', "
             "'properties.bootstrap.servers' = '%s', 'format' = 'csv');" % m.bootstrap,
             "doesn't support consuming update changes"),
            ("CREATE TABLE o (k STRING, n BIGINT) WITH ('connector' = 'upsert-kafka', "
             "'topic' = 'x', 'properties.bootstrap.servers' = '%s', 'key.format' = 'csv', "
             "'value.format' = 'csv');" % m.bootstrap,
             "require to define a PRIMARY KEY"),
        ]
        for ddl, message in bad:
            script = os.path.join(tmp, "bad.sql")
            with open(script, "w", encoding="utf-8") as f:
                f.write("CREATE TABLE t (k STRING, v BIGINT) WITH ('connector' = 'filesystem', "
                        "'path' = '%s', 'format' = 'csv');\n%s\nINSERT INTO o SELECT k, "
                        "COUNT(*) FROM t GROUP BY k;\n" % (inp, ddl))
            r = run(["run", script])
            expect_rc(r, 1)
            expect_in(message, r.err, "the refusal", r)
    finally:
        m.stop()

def test_not_null_sink_columns(tmp):
    """A nullable column into a NOT NULL sink column is checked per row, as Flink's
    table.exec.sink.not-null-enforcer: ERROR (the default) fails the job naming the column,
    DROP leaves the row out."""
    inp = os.path.join(tmp, "n.csv")
    with open(inp, "w", encoding="utf-8") as f:
        f.write("a,1\n,2\nb,3\n")
    for enforcer in (None, "DROP"):
        out = os.path.join(tmp, "out-%s" % enforcer)
        script = os.path.join(tmp, "n.sql")
        with open(script, "w", encoding="utf-8") as f:
            f.write("%sCREATE TABLE t (k STRING, v INT) WITH ('connector' = 'filesystem', "
                    "'path' = '%s', 'format' = 'csv');\nCREATE TABLE o (k STRING NOT NULL, "
                    "v INT) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = "
                    "'csv');\nINSERT INTO o SELECT k, v FROM t;\n" % (
                        "SET 'table.exec.sink.not-null-enforcer' = '%s';\n" % enforcer
                        if enforcer else "", inp, out))
        r = run(["run", script])
        if enforcer is None:
            expect_rc(r, 1)
            expect_in("Column 'k' is NOT NULL, however, a null value is being written into "
                      "it", r.err, "the column named", r)
        else:
            expect_rc(r, 0)
            got = committed_rows(out, header=False)
            expect(got == ["a,1", "b,3"], "DROP: the row with a NULL left out",
                   ["a,1", "b,3"], got, r)

def test_c_functions(tmp):
    """CREATE FUNCTION with C functions: by symbol (LANGUAGE C USING JAR) and by the Java class
    a Flink script names (found through 'pipeline.jars'), each value kind in and out, per-task
    state, NULLs, at parallelism 1 and 3, against values computed here; Nexmark's count_char;
    and the errors: a library or symbol that is not there, an unusable function, a wrong call,
    a function that fails at run time (named with the place)."""
    jobs = os.environ.get("RILL_TEST_JOBS")
    lib = os.path.join(jobs, "sql_udfs.so")
    nexmark_lib = os.path.join(RILL_EXAMPLES, "nexmark_udf.so")
    rng = seeded_rng("sql-udfs")
    rows = []
    for _ in range(500):
        s = None if rng.random() < 0.1 else "".join(rng.choice("abcz") for _ in range(
            rng.randrange(0, 6)))
        n = None if rng.random() < 0.1 else rng.randrange(-2, 4)
        d = rng.randrange(-1000, 1000) / 8
        rows.append((s, n, d, 1714564800000 + rng.randrange(0, 10**6)))
    inp = os.path.join(tmp, "u.csv")
    with open(inp, "w", encoding="utf-8") as f:
        for s, n, d, ts in rows:
            f.write("%s,%s,%s,%s\n" % ("" if s is None else s, "" if n is None else n, d,
                                       fmt_ts(ts)[0]))
    ddl = ("SET 'pipeline.jars' = 'file://%s;%s';\n"
           "CREATE FUNCTION rep AS 'rep' LANGUAGE C USING JAR '%s';\n"
           "CREATE TEMPORARY FUNCTION later AS 'later' LANGUAGE C USING JAR '%s';\n"
           "CREATE FUNCTION scale AS 'org.example.Scale';\n"
           "CREATE FUNCTION count_char AS 'com.github.nexmark.flink.udf.CountChar';\n"
           "CREATE TABLE t (s STRING, n INT, d DOUBLE, ts TIMESTAMP(3)) WITH ('connector' = "
           "'filesystem', 'path' = '%s', 'format' = 'csv');\n" % (
               nexmark_lib, lib, lib, lib, inp))
    script = os.path.join(tmp, "u.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write(ddl + "SELECT s, n, rep(s, n), scale(d, n), later(ts, n), count_char(s, 'z') "
                "FROM t;\n")

    def jdouble(x):
        import struct
        return repr(struct.unpack("d", struct.pack("d", x))[0])

    want = []
    for s, n, d, ts in rows:
        # a CSV empty field reads as NULL for a STRING column too
        sv = None if s in (None, "") else s
        rep = None if sv is None or n is None or n < 0 else sv * n
        sc = None if n is None else d * n
        later = None if n is None else fmt_ts(ts + n)[1]
        want.append("+I[%s, %s, %s, %s, %s, %d]" % (
            "null" if sv is None else sv, "null" if n is None else n,
            "null" if rep is None else rep, "null" if sc is None else "%s" % sc,
            "null" if later is None else later, 0 if sv is None else sv.count("z")))
    for par in (1, 3):
        r = run(["run", "-p", str(par), script])
        expect_rc(r, 0)
        got = sorted(re.sub(r"^\d+> ", "", x) for x in r.out.splitlines())
        # doubles print as Java prints them: compare them as numbers
        def norm(line):
            parts = line[3:-1].split(", ")
            if parts[3] != "null":
                parts[3] = repr(float(parts[3]))
            return ", ".join(parts)
        g = sorted(norm(x) for x in got)
        w = sorted(norm(x) for x in want)
        expect(g == w, "p=%d: the C functions' values" % par, w[:5], g[:5], r)
    bad = [
        ("CREATE FUNCTION f AS 'nope' LANGUAGE C USING JAR '%s';\n" % lib,
         "No C function 'nope'"),
        ("CREATE FUNCTION f AS 'rep' LANGUAGE C USING JAR '/no/such/lib.so';\n",
         "cannot open '/no/such/lib.so'"),
        ("CREATE FUNCTION f AS 'org.example.Missing';\n", "Function class 'org.example.Missing' "
         "not found"),
        ("CREATE FUNCTION f AS 'old_abi' LANGUAGE C USING JAR '%s';\n" % lib,
         "abi is not RILL_UDF_ABI"),
        ("CREATE FUNCTION f AS 'decimal_result' LANGUAGE C USING JAR '%s';\n" % lib,
         "result type is not one"),
        ("CREATE FUNCTION f AS 'x' LANGUAGE PYTHON;\n", "Python functions are not supported"),
        ("CREATE FUNCTION f AS 'fails' LANGUAGE C USING JAR '%s';\nSELECT f(1, 2) FROM t;\n"
         % lib, "Invalid number of arguments to function 'F'"),
        ("CREATE FUNCTION f AS 'fails' LANGUAGE C USING JAR '%s';\nSELECT f(n + 13) FROM t "
         "WHERE n = 0;\n" % lib, "Function 'fails' failed: 13 is unlucky at line"),
        ("CREATE FUNCTION f AS 'fails' LANGUAGE C USING JAR '%s';\nDROP FUNCTION f;\n"
         "SELECT f(n) FROM t;\n" % lib, "No match found for function signature f"),
        ("CREATE FUNCTION f AS 'fails' LANGUAGE C USING JAR '%s';\nCREATE FUNCTION f AS "
         "'fails' LANGUAGE C USING JAR '%s';\n" % (lib, lib), "already exists"),
    ]
    for text, needle in bad:
        with open(script, "w", encoding="utf-8") as f:
            f.write("CREATE TABLE t (s STRING, n INT, d DOUBLE, ts TIMESTAMP(3)) WITH "
                    "('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');\n%s" % (
                        inp, text))
        r = run(["run", script])
        expect_rc(r, 1)
        expect_in(needle, r.err, "the error for %r" % text.strip(), r)

def test_processing_time_windows(tmp):
    """PROCTIME() in a view makes a processing-time attribute (Nexmark q12's shape): a TUMBLE
    over it counts every row once in windows of the clock (aligned, 2 s long, TIMESTAMP(3)),
    each key's counts summing to its rows, at parallelism 1 and 3."""
    import time
    rng = seeded_rng("sql-proctime")
    rows = [(rng.choice(["a", "b", "c", "d"]), rng.randrange(100)) for _ in range(3000)]
    inp = os.path.join(tmp, "p.csv")
    with open(inp, "w", encoding="utf-8") as f:
        f.write("".join("%s,%d\n" % r for r in rows))
    script = os.path.join(tmp, "p.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write("CREATE TABLE t (k STRING, v INT) WITH ('connector' = 'filesystem', 'path' = "
                "'%s', 'format' = 'csv');\nCREATE VIEW B AS SELECT *, PROCTIME() AS p_time "
                "FROM t;\nSELECT k, COUNT(*), SUM(v), window_start, window_end FROM TABLE("
                "TUMBLE(TABLE B, DESCRIPTOR(p_time), INTERVAL '2' SECOND)) GROUP BY k, "
                "window_start, window_end;\n" % inp)
    want_n, want_sum = {}, {}
    for k, v in rows:
        want_n[k] = want_n.get(k, 0) + 1
        want_sum[k] = want_sum.get(k, 0) + v
    for par in (1, 3):
        before = time.time()
        r = run(["run", "-p", str(par), script])
        after = time.time()
        expect_rc(r, 0)
        got_n, got_sum = {}, {}
        for line in r.out.splitlines():
            # window_start/window_end: TIMESTAMP(3) of the session zone's (UTC's) local time
            m = re.match(r"^(?:\d+> )?\+I\[(\w), (\d+), (\d+), (\S+), (\S+)\]$", line)
            expect(m is not None, "p=%d: a window row" % par, "+I[k, n, sum, start, end]",
                   line, r)
            k, n, total, ws, we = m.groups()
            import datetime
            start = datetime.datetime.fromisoformat(ws).replace(
                tzinfo=datetime.timezone.utc).timestamp()
            end = datetime.datetime.fromisoformat(we).replace(
                tzinfo=datetime.timezone.utc).timestamp()
            expect(end - start == 2 and start % 2 == 0, "p=%d: an aligned 2 s window" % par,
                   "2 s", (ws, we), r)
            expect(before - 2 <= start <= after, "p=%d: a window of the run's clock" % par,
                   (before, after), start, r)
            got_n[k] = got_n.get(k, 0) + int(n)
            got_sum[k] = got_sum.get(k, 0) + int(total)
        expect(got_n == want_n and got_sum == want_sum,
               "p=%d: every row counted once" % par, (want_n, want_sum), (got_n, got_sum), r)

def test_datetime_casts(tmp):
    """CAST between TIMESTAMP, TIMESTAMP_LTZ, DATE and TIME, through the session's
    table.local-time-zone, against Python's zoneinfo: a TIMESTAMP's date and time of day, its
    instant in the zone (Instant's text), and back; a DATE's midnight as TIMESTAMP and as an
    instant; at parallelism 1 and 3."""
    import datetime
    from zoneinfo import ZoneInfo
    rng = seeded_rng("sql-dtcasts")
    rows = [rng.randrange(-2 * 10**12, 4 * 10**12) for _ in range(300)]
    rows += [1710054000000 + rng.randrange(-4 * 3600000, 4 * 3600000) for _ in range(50)]
    # wall times in gaps and overlaps of the zones below (New York 2024 and 1974, Shanghai's
    # 1986 summer time): the random ones reach them only now and then
    for wall in ("2024-03-10 02:30:00.500", "2024-11-03 01:30:00.250", "1974-01-06 02:29:07.842",
                 "1986-05-04 02:15:00.000", "1986-09-14 01:45:00.000"):
        t = datetime.datetime.strptime(wall, "%Y-%m-%d %H:%M:%S.%f")
        rows.append((t - datetime.datetime(1970, 1, 1)) // datetime.timedelta(milliseconds=1))
    inp = os.path.join(tmp, "d.csv")
    with open(inp, "w", encoding="utf-8") as f:
        f.write("".join("%s\n" % fmt_ts(ms)[0] for ms in rows))

    def instant(ms):
        t = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=ms)
        out = t.strftime("%Y-%m-%dT%H:%M:%S")
        return out + (".%03d" % (ms % 1000) if ms % 1000 else "") + "Z"

    for zone in ("UTC", "Asia/Shanghai", "America/New_York"):
        z = ZoneInfo(zone)
        want = []
        for ms in rows:
            local = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=ms)
            day = (ms - ms % 86400000) // 86400000
            tod = ms % 86400000 // 1000
            # the local date-time in the zone. Java: a time in a gap moves later by the gap's
            # length, that is it is read with the offset before the transition; in an overlap
            # the earlier instant, also the offset before. Python's fold=0 reads both with the
            # offset before (PEP 495), so one rule covers all three cases
            aware = local.replace(tzinfo=z, fold=0)
            inst_ms = ms - int(aware.utcoffset().total_seconds() * 1000)
            back = inst_ms + int(datetime.datetime.fromtimestamp(
                inst_ms / 1000, tz=datetime.timezone.utc).astimezone(z).utcoffset()
                .total_seconds() * 1000)
            midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
            mid_inst = datetime.datetime.combine(midnight.date(), datetime.time(),
                                                 tzinfo=z).astimezone(datetime.timezone.utc)
            mid_ms = int((mid_inst - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc))
                         .total_seconds() * 1000)
            hm = "%02d:%02d" % (tod // 3600, tod // 60 % 60)  # LocalTime.toString
            want.append("+I[%s, %s, %s, %s, %s, %s]" % (
                (datetime.date(1970, 1, 1) + datetime.timedelta(days=day)).isoformat(),
                hm + (":%02d" % (tod % 60) if tod % 60 else ""), instant(inst_ms), fmt_ts(back)[1],
                fmt_ts(day * 86400000)[1], instant(mid_ms)))
        script = os.path.join(tmp, "d.sql")
        with open(script, "w", encoding="utf-8") as f:
            f.write("SET 'table.local-time-zone' = '%s';\nCREATE TABLE t (ts TIMESTAMP(3)) WITH "
                    "('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');\n"
                    "SELECT CAST(ts AS DATE), CAST(ts AS TIME), CAST(ts AS TIMESTAMP_LTZ(3)), "
                    "CAST(CAST(ts AS TIMESTAMP_LTZ(3)) AS TIMESTAMP(3)), "
                    "CAST(CAST(ts AS DATE) AS TIMESTAMP(3)), "
                    "CAST(CAST(ts AS DATE) AS TIMESTAMP_LTZ(3)) FROM t;\n" % (zone, inp))
        for par in (1, 3):
            r = run(["run", "-p", str(par), script])
            expect_rc(r, 0)
            got = sorted(re.sub(r"^\d+> ", "", x) for x in r.out.splitlines())
            expect(got == sorted(want), "%s p=%d: the casts" % (zone, par),
                   sorted(set(want) - set(got))[:3], sorted(set(got) - set(want))[:3], r)

def test_group_by_state_ttl(tmp):
    """table.exec.state.ttl on an unbounded GROUP BY over an unbounded Kafka table: a group
    updated within the TTL goes on counting (-U/+U); one idle for longer than the TTL is gone,
    and its next row starts it again with +I (Flink's); without the TTL it goes on."""
    import time
    from rill_e2e import MockKafka

    def stdout_rows(p):
        with open(p.out_path, encoding="utf-8") as f:
            return [re.sub(r"^\d+> ", "", x) for x in f.read().splitlines()]

    def wait_for(p, line, what):
        deadline = time.monotonic() + 60
        while line not in stdout_rows(p):
            if p.p.poll() is not None or time.monotonic() > deadline:
                r = p.kill9()
                expect(False, what, line, stdout_rows(p), r)
            time.sleep(0.02)

    for ttl in ("1 s", None):
        m = MockKafka(["in:1"])
        try:
            script = os.path.join(tmp, "ttl.sql")
            with open(script, "w", encoding="utf-8") as f:
                f.write("%sCREATE TABLE t (k STRING, v BIGINT) WITH ('connector' = 'kafka', "
                        "'topic' = 'in', 'properties.bootstrap.servers' = '%s', "
                        "'scan.startup.mode' = 'earliest-offset', 'format' = 'csv');\n"
                        "SELECT k, COUNT(*), SUM(v) FROM t GROUP BY k;\n" % (
                            "SET 'table.exec.state.ttl' = '%s';\n" % ttl if ttl else "",
                            m.bootstrap))
            p = Started(tmp, "ttl-%s" % bool(ttl), ["run", script])
            m.produce("in", ["a,1", "a,2", "a,3"])
            wait_for(p, "+U[a, 3, 6]", "the group counts within the TTL")
            time.sleep(3.0)  # idle for three times the TTL
            m.produce("in", ["a,10", "a,20"])
            if ttl:
                wait_for(p, "+U[a, 2, 30]", "the expired group starts again")
                rows = stdout_rows(p)
                after = rows[rows.index("+U[a, 3, 6]") + 1:]
                expect(after[:3] == ["+I[a, 1, 10]", "-U[a, 1, 10]", "+U[a, 2, 30]"],
                       "after the TTL: +I, then updates of the new group",
                       ["+I[a, 1, 10]", "-U[a, 1, 10]", "+U[a, 2, 30]"], after, p.kill9())
            else:
                wait_for(p, "+U[a, 5, 36]", "without a TTL the group goes on")
            p.kill9()
        finally:
            m.stop()

def test_values(tmp):
    """VALUES as a table (FROM (VALUES ...) AS t(cols), a bare VALUES, INSERT INTO t VALUES):
    constant rows with their columns' common types, at parallelism 1 and 3, through a filter
    and a GROUP BY; and its errors."""
    rng = seeded_rng("sql-values")
    rows = [(rng.randrange(-100, 100), rng.choice(["a", "b", "c"])) for _ in range(60)]
    values = ", ".join("(%d, '%s')" % r for r in rows)
    out = os.path.join(tmp, "out")
    script = os.path.join(tmp, "v.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write("CREATE TABLE o (x INT, s STRING) WITH ('connector' = 'filesystem', 'path' = "
                "'%s', 'format' = 'csv');\nINSERT INTO o SELECT x * 2, s FROM (VALUES %s) AS "
                "t(x, s) WHERE x > 0;\nSELECT s, COUNT(*), SUM(x) FROM (VALUES %s) AS t(x, s) "
                "GROUP BY s;\n" % (out, values, values))
    want = sorted("%d,%s" % (2 * x, s) for x, s in rows if x > 0)
    groups = {}
    for x, s in rows:
        n, t = groups.get(s, (0, 0))
        groups[s] = (n + 1, t + x)
    for par in (1, 3):
        shutil.rmtree(out, ignore_errors=True)
        r = run(["run", "-p", str(par), script])
        expect_rc(r, 0)
        got = committed_rows(out, header=False)
        expect(got == want, "p=%d: INSERT ... SELECT FROM VALUES" % par, want, got, r)
        table = replay(r, "p=%d: GROUP BY over VALUES" % par)
        w = {s: "%d, %d" % nt for s, nt in groups.items()}
        expect(table == w, "p=%d: GROUP BY over VALUES" % par, w, table, r)
    for text, needle in [
            ("SELECT * FROM (VALUES (1, 2), (3)) AS t(a, b);", "row 2 has 1 values"),
            ("SELECT * FROM (VALUES (1), ('x')) AS t(a);", "must have compatible types"),
            ("SELECT * FROM (VALUES (1, 2)) AS t(a);", "List of column aliases must have same "
             "degree as table")]:
        with open(script, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        r = run(["run", script])
        expect_rc(r, 1)
        expect_in(needle, r.err, "the error for %r" % text, r)

def test_statement_set_shares_its_source(tmp):
    """Two INSERTs reading one table in a statement set: the table's source is built once and
    fanned out (a shared sub-plan: EXPLAIN-free check through the job's operators in the log),
    and both sinks get exactly their rows, at parallelism 1 and 3."""
    rng = seeded_rng("sql-share")
    rows = [(rng.randrange(-50, 50), rng.choice(["a", "b"])) for _ in range(500)]
    inp = os.path.join(tmp, "in.csv")
    with open(inp, "w", encoding="utf-8") as f:
        f.write("".join("%d,%s\n" % r for r in rows))
    o1, o2 = os.path.join(tmp, "o1"), os.path.join(tmp, "o2")
    script = os.path.join(tmp, "s.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write("CREATE TABLE t (x INT, s STRING) WITH ('connector' = 'filesystem', 'path' = "
                "'%s', 'format' = 'csv');\nCREATE TABLE o1 (x INT) WITH ('connector' = "
                "'filesystem', 'path' = '%s', 'format' = 'csv');\nCREATE TABLE o2 (s STRING, x "
                "INT) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');\n"
                "EXECUTE STATEMENT SET BEGIN\nINSERT INTO o1 SELECT x FROM t WHERE x > 0;\n"
                "INSERT INTO o2 SELECT s, x * 2 FROM t WHERE s = 'a';\nEND;\n" % (inp, o1, o2))
    for par in (1, 3):
        for d in (o1, o2):
            shutil.rmtree(d, ignore_errors=True)
        r = run(["run", "-p", str(par), "-v", script])
        expect_rc(r, 0)
        expect(committed_rows(o1, header=False) == sorted(str(x) for x, _ in rows if x > 0),
               "p=%d: the first INSERT's rows" % par, "", "", r)
        expect(committed_rows(o2, header=False) ==
               sorted("a,%d" % (2 * x) for x, s in rows if s == "a"),
               "p=%d: the second INSERT's rows" % par, "", "", r)
        n = len(re.findall(r"source:t#[0-9a-f]{8}", r.err))  # the tasks' operator lists
        expect(n == 1, "p=%d: one source for the table in the job" % par, 1, n, r)

def test_window_decimal_aggregates(tmp):
    """Window aggregations of DECIMAL (exact: SUM to 38 digits, AVG with Flink's scale, MIN,
    MAX, COUNT) over out-of-order rows with late rows, TUMBLE and HOP, against Python's Decimal,
    at parallelism 1 and 3; keys with NULLs."""
    from decimal import Decimal, ROUND_HALF_UP
    rng = seeded_rng("sql-window-dec")
    t0, t, rows = 1714564800000, 1714564800000, []
    for _ in range(3000):
        t += rng.randrange(0, 30)
        ts = t - (rng.randrange(0, 4000) if rng.random() < 0.1 else rng.randrange(0, 500))
        amt = None if rng.random() < 0.05 else Decimal(rng.randrange(-10**13, 10**13)) / 100
        k = None if rng.random() < 0.05 else rng.choice(["a", "b", "c"])
        rows.append((ts, k, amt))
    inp = os.path.join(tmp, "d.csv")
    with open(inp, "w", encoding="utf-8") as f:
        for ts, k, amt in rows:
            f.write("%s,%s,%s\n" % (fmt_ts(ts)[0], "" if k is None else k,
                                     "" if amt is None else amt))
    ddl = ("CREATE TABLE t (ts TIMESTAMP(3), k STRING, amt DECIMAL(13, 2), WATERMARK FOR ts AS "
           "ts - INTERVAL '1' SECOND) WITH ('connector' = 'filesystem', 'path' = '%s', "
           "'format' = 'csv');\n" % inp)
    for tvf, size, slide in (("TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '2' SECOND)", 2000, 2000),
                             ("HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '3' "
                              "SECOND)", 3000, 1000)):
        acc, wm = {}, None
        for ts, k, amt in rows:
            for st in range(ts - ts % slide, ts - size, -slide):
                if wm is None or st + size - 1 > wm:
                    acc.setdefault((k, st), []).append(amt)
            wm = ts - 1000 if wm is None else max(wm, ts - 1000)
        want = []
        for (k, st), vals in acc.items():
            vs = [v for v in vals if v is not None]
            if vs:
                avg = (sum(vs) / len(vs)).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
                q = Decimal("0.01")
                agg = "%s, %s, %s, %s" % (sum(vs).quantize(q), avg, min(vs).quantize(q),
                                          max(vs).quantize(q))
            else:
                agg = "null, null, null, null"
            want.append("+I[%s, %s, %s, %d, %d]" % ("null" if k is None else k, fmt_ts(st)[1],
                                                  agg, len(vs), len(vals)))
        want.sort()
        script = os.path.join(tmp, "d.sql")
        with open(script, "w", encoding="utf-8") as f:
            f.write(ddl + "SELECT k, window_start, SUM(amt), AVG(amt), MIN(amt), MAX(amt), "
                    "COUNT(amt), COUNT(*) FROM TABLE(%s) GROUP BY k, window_start, window_end;\n"
                    % tvf)
        for par in (1, 3):
            r = run(["run", "-p", str(par), script])
            expect_rc(r, 0)
            got = sorted(re.sub(r"^\d+> ", "", x) for x in r.out.splitlines())
            expect(got == want, "p=%d %s: DECIMAL window aggregates" % (par, tvf.split("(")[0]),
                   sorted(set(want) - set(got))[:3], sorted(set(got) - set(want))[:3], r)

def test_window_tvf_rows(tmp):
    """Window TVFs without an aggregation: TUMBLE gives every row (late ones too, as Flink's
    WindowTableFunctionOperator emits them) with window_start, window_end and window_time,
    with an offset and timestamps before 1970; HOP and CUMULATE give a row per window it is
    in; at parallelism 1 and 3; SESSION without an aggregation is refused with a message."""
    rng = seeded_rng("sql-tvf-rows")
    rows = [rng.randrange(-10**7, 10**7) for _ in range(400)]
    inp = os.path.join(tmp, "r.csv")
    with open(inp, "w", encoding="utf-8") as f:
        f.write("".join("%s,%d\n" % (fmt_ts(ms)[0], i) for i, ms in enumerate(rows)))
    ddl = ("CREATE TABLE t (ts TIMESTAMP(3), i INT, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)"
           " WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');\n" % inp)
    size, off = 7000, 2000
    want = []
    for i, ms in enumerate(rows):
        st = ms - (ms - off) % size
        want.append("+I[%d, %s, %s, %s]" % (i, fmt_ts(st)[1], fmt_ts(st + size)[1],
                                            fmt_ts(st + size - 1)[1]))
    want.sort()
    script = os.path.join(tmp, "r.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write(ddl + "SELECT i, window_start, window_end, window_time FROM TABLE(TUMBLE(TABLE t, "
                "DESCRIPTOR(ts), INTERVAL '7' SECOND, INTERVAL '2' SECOND));\n")
    for par in (1, 3):
        r = run(["run", "-p", str(par), script])
        expect_rc(r, 0)
        got = sorted(re.sub(r"^\d+> ", "", x) for x in r.out.splitlines())
        expect(got == want, "p=%d: TUMBLE's rows" % par, want[:3],
               sorted(set(got) - set(want))[:3], r)
    # HOP and CUMULATE: a row per window it is in
    cases = [
        ("HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '6' SECOND)",
         lambda ms: [(st, st + 6000) for st in range(ms - ms % 2000, ms - 6000, -2000)]),
        ("CUMULATE(TABLE t, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '6' SECOND)",
         lambda ms: [(ms - ms % 6000, ms - ms % 6000 + k * 2000) for k in (1, 2, 3)
                     if ms - ms % 6000 + k * 2000 > ms]),
    ]
    for tvf, windows in cases:
        want = sorted("+I[%d, %s, %s, %s]" % (i, fmt_ts(st)[1], fmt_ts(en)[1], fmt_ts(en - 1)[1])
                      for i, ms in enumerate(rows) for st, en in windows(ms))
        with open(script, "w", encoding="utf-8") as f:
            f.write(ddl + "SELECT i, window_start, window_end, window_time FROM TABLE(%s);\n"
                    % tvf)
        for par in (1, 3):
            r = run(["run", "-p", str(par), script])
            expect_rc(r, 0)
            got = sorted(re.sub(r"^\d+> ", "", x) for x in r.out.splitlines())
            expect(got == want, "p=%d %s: a row per window" % (par, tvf.split("(")[0]),
                   want[:3], sorted(set(got) - set(want))[:3], r)
    with open(script, "w", encoding="utf-8") as f:
        f.write(ddl + "SELECT * FROM TABLE(SESSION(TABLE t, DESCRIPTOR(ts), INTERVAL '1' "
                "SECOND));\n")
    r = run(["run", script])
    expect_rc(r, 1)
    expect_in("supported under a GROUP BY window_start, window_end so far", r.err, "SESSION", r)

def test_limit_offset(tmp):
    """LIMIT n [OFFSET m] (Flink's streaming Limit): the rows after the first m, at most n, in
    the order they come: over one file read at parallelism 1 (one reader, the file's order)
    whatever the rest of the job's parallelism, at -p 1 and 3 (the limit's one counter sees
    every row); a negative LIMIT is refused."""
    rows = list(range(100, 160))
    inp = os.path.join(tmp, "l.csv")
    with open(inp, "w", encoding="utf-8") as f:
        f.write("".join("%d\n" % v for v in rows))
    script = os.path.join(tmp, "l.sql")
    for limit, offset, want in ((7, None, rows[:7]), (5, 10, rows[10:15]), (None, 55, rows[55:]),
                                (0, None, []), (100, 50, rows[50:])):
        clause = ("LIMIT %d" % limit if limit is not None else "") + \
                 (" OFFSET %d" % offset if offset is not None else "")
        with open(script, "w", encoding="utf-8") as f:
            f.write("CREATE TABLE t (v INT) WITH ('connector' = 'filesystem', 'path' = '%s', "
                    "'format' = 'csv');\nSELECT v + 0 FROM t %s;\n" % (inp, clause))
        for par in (1, 3):
            r = run(["run", "-p", str(par), script])
            expect_rc(r, 0)
            got = [re.sub(r"^\d+> ", "", x) for x in r.out.splitlines()]
            w = ["+I[%d]" % v for v in want]
            expect(got == w, "p=%d %s" % (par, clause), w, got, r)
    with open(script, "w", encoding="utf-8") as f:
        f.write("CREATE TABLE t (v INT) WITH ('connector' = 'filesystem', 'path' = '%s', "
                "'format' = 'csv');\nSELECT v FROM t LIMIT -1;\n" % inp)
    r = run(["run", script])
    expect_rc(r, 1)
    expect_in("LIMIT takes a constant integer", r.err, "the refusal", r)

if __name__ == "__main__":
    main([test_insert_select_against_oracle, test_select_prints_as_flink,
          test_show_and_describe, test_errors_name_the_place, test_nexmark_q0_q2,
          test_window_tvf_against_oracle, test_decimals_print_as_flink,
          test_sql_equals_c_examples, test_kill_and_resume, test_negative_window_offsets,
          test_kafka_tables,
          test_explain, test_group_by_changelog, test_group_by_distinct_filter_min_max,
          test_upsert_kafka, test_not_null_sink_columns, test_c_functions,
          test_processing_time_windows, test_datetime_casts, test_group_by_state_ttl,
          test_values, test_statement_set_shares_its_source, test_window_decimal_aggregates,
          test_window_tvf_rows, test_limit_offset,
          test_with_queries, test_example_script, test_names_over_unnamed_subqueries])
