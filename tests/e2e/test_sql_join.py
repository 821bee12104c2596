"""Regular joins in SQL (`rill run SCRIPT.sql`) checked against joins computed here:

- INNER, LEFT, RIGHT and FULL OUTER equi-joins with a further condition, duplicates and NULL
  keys, the same with USING (k) and NATURAL JOIN (k once: the left's, the right's, either), a
  comma join whose WHERE becomes the join's condition, a join without an equality (one
  subtask), a three-way join (a table joined twice under two names), and joins of an updating
  input (a GROUP BY below) with retractions in and out, at
  parallelism 1 and 3 with checkpoints on and off: the changelog each prints is valid (every
  -U/-D takes back a row that is there) and its final table is the one computed here;
- a join feeding a GROUP BY (Nexmark q3/q4's shape) into an upsert table;
- kill -9 and --resume at random parallelisms of an inner join of two paced sources into an
  exactly-once file sink: every pair once;
- a savepoint at parallelism 2 restored at 1 or 3: every pair once; the same for a FULL interval
  join and a FULL window join (their rows by time and open windows) and a LEFT temporal join
  (its waiting orders and versions);
- state TTL: a row whose partner comes after the TTL finds nothing;
- errors that name the place.
"""
import os
import re
import sys
import time
from collections import Counter

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import (Started, committed_rows, completed_checkpoints,  # noqa: E402
                      expect, expect_in, expect_rc, kill_and_resume, main, run, savepoint_path,
                      seeded_rng, ts_ms, ts_text)
from rill_e2e import job_so  # noqa: E402
from test_sql_recovery import savepoint_and_restore  # noqa: E402


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def nul(x):
    return "" if x is None else str(x)


def show(x):
    return "null" if x is None else str(x)


def replay(r, ident, what):
    """The final multiset of rows a print table (its identifier) wrote as a changelog, checking
    that each -U/-D takes back a row that is there."""
    rows = Counter()
    for line in r.out.splitlines():
        m = re.match(r"^%s(?::\d+)?> ([+-][IUD])\[(.*)\]$" % re.escape(ident), line)
        if not m:
            continue
        kind, row = m.group(1), m.group(2)
        if kind in ("-U", "-D"):
            expect(rows[row] > 0, "%s: %s takes back a row that is there" % (what, kind),
                   "a row %r" % row, "none", r)
            rows[row] -= 1
            if rows[row] == 0:
                del rows[row]
        else:
            rows[row] += 1
    return rows


def compare(want, got, what, r):
    if want != got:
        missing = sorted((want - got).elements())[:4]
        extra = sorted((got - want).elements())[:4]
        expect(False, what, "%d rows, missing e.g. %s" % (sum(want.values()), missing),
               "%d rows, extra e.g. %s" % (sum(got.values()), extra), r)


# ---- the inputs ---------------------------------------------------------------------------------

def gen_tables(rng, na=400, nb=300):
    """A (id, k, v) and B (id, k, w): keys from a small range with duplicates and NULLs."""
    a = [(i, None if rng.random() < 0.05 else rng.randrange(40), "v%d" % rng.randrange(9))
         for i in range(na)]
    b = [(1000 + i, None if rng.random() < 0.05 else rng.randrange(50), rng.randrange(-20, 120))
         for i in range(nb)]
    return a, b


TABLES = """
SET 'batch-size' = '%(batch)d';
CREATE TABLE A (id INT, k INT, v STRING)
  WITH ('connector' = 'filesystem', 'path' = '%(a)s', 'format' = 'csv');
CREATE TABLE B (id INT, k INT, w INT)
  WITH ('connector' = 'filesystem', 'path' = '%(b)s', 'format' = 'csv');
"""

JOINS_SQL = TABLES + """
CREATE TABLE q1 (aid INT, bid INT, v STRING, w INT) WITH ('connector' = 'print',
  'print-identifier' = 'q1');
CREATE TABLE q2 (aid INT, bid INT, w INT) WITH ('connector' = 'print', 'print-identifier' = 'q2');
CREATE TABLE q3 (aid INT, bid INT) WITH ('connector' = 'print', 'print-identifier' = 'q3');
CREATE TABLE q4 (aid INT, ak INT, bid INT, bk INT) WITH ('connector' = 'print',
  'print-identifier' = 'q4');
CREATE TABLE q5 (aid INT, bid INT) WITH ('connector' = 'print', 'print-identifier' = 'q5');
CREATE TABLE q6 (aid INT, k INT, c BIGINT, s INT) WITH ('connector' = 'print',
  'print-identifier' = 'q6');
CREATE TABLE q7 (k INT, c BIGINT, aid INT) WITH ('connector' = 'print',
  'print-identifier' = 'q7');
CREATE TABLE q8 (aid INT, bid INT) WITH ('connector' = 'print', 'print-identifier' = 'q8');
CREATE TABLE q9 (aid INT, bid INT, cid INT) WITH ('connector' = 'print',
  'print-identifier' = 'q9');
CREATE TABLE q10 (k INT, aid INT, bid INT) WITH ('connector' = 'print',
  'print-identifier' = 'q10');
CREATE TABLE q11 (k INT, aid INT, bid INT) WITH ('connector' = 'print',
  'print-identifier' = 'q11');
CREATE TABLE q12 (k INT, aid INT, bid INT) WITH ('connector' = 'print',
  'print-identifier' = 'q12');
CREATE TABLE q13 (k INT, aid INT, v STRING, bid INT, w INT) WITH ('connector' = 'print',
  'print-identifier' = 'q13');
CREATE TABLE q14 (k INT, aid INT, bid INT) WITH ('connector' = 'print',
  'print-identifier' = 'q14');
EXECUTE STATEMENT SET BEGIN
INSERT INTO q1 SELECT A.id, B.id, A.v, B.w FROM A JOIN B ON A.k = B.k AND A.id %% 7 <> B.w %% 7;
INSERT INTO q2 SELECT A.id, B.id, B.w FROM A LEFT JOIN B ON A.k = B.k AND B.w > 50;
INSERT INTO q3 SELECT A.id, B.id FROM A RIGHT JOIN B ON B.k = A.k + 1 AND A.v <> 'v3';
INSERT INTO q4 SELECT A.id, A.k, B.id, B.k FROM A FULL JOIN B ON A.k = B.k AND A.id < B.w;
INSERT INTO q5 SELECT A.id, B.id FROM A, B WHERE A.k = B.k AND B.w < 0 AND A.v = 'v1';
INSERT INTO q6 SELECT A.id, G.k, G.c, G.s FROM A JOIN
  (SELECT k, COUNT(*) AS c, SUM(w) AS s FROM B GROUP BY k) G ON A.k = G.k WHERE A.id < 60;
INSERT INTO q7 SELECT G.k, G.c, A.id FROM
  (SELECT k, COUNT(*) AS c FROM B GROUP BY k) G LEFT JOIN A ON G.k = A.k AND A.id %% 9 = 0;
INSERT INTO q8 SELECT A.id, B.id FROM A JOIN B ON A.id + 990 < B.id AND B.id < A.id + 1000;
INSERT INTO q9 SELECT A.id, B.id, C.id FROM A JOIN B ON A.k = B.k JOIN B AS C ON C.k = B.k + 1
  WHERE C.w > 100;
INSERT INTO q10 SELECT k, A.id, B.id FROM A JOIN B USING (k) WHERE w > 100;
INSERT INTO q11 SELECT k, A.id, B.id FROM A LEFT JOIN B USING (k);
INSERT INTO q12 SELECT k, A.id, B.id FROM A RIGHT JOIN B USING (k);
INSERT INTO q13 SELECT * FROM A FULL JOIN B USING (k);
INSERT INTO q14 SELECT * FROM (SELECT id AS aid, k FROM A) NATURAL JOIN
  (SELECT k, id AS bid FROM B);
END;
"""


def jmod(x, m):
    """SQL's (Java's) %: the sign of the dividend."""
    return -((-x) % m) if x < 0 else x % m


def oracle(a, b):
    """Each query's final multiset of printed rows."""
    def eq(x, y):
        return x is not None and y is not None and x == y

    out = {}
    out["q1"] = Counter("%d, %d, %s, %d" % (x[0], y[0], x[2], y[2]) for x in a for y in b
                        if eq(x[1], y[1]) and x[0] % 7 != jmod(y[2], 7))
    q2 = Counter()
    for x in a:
        m = [y for y in b if eq(x[1], y[1]) and y[2] > 50]
        for y in m:
            q2["%d, %d, %d" % (x[0], y[0], y[2])] += 1
        if not m:
            q2["%d, null, null" % x[0]] += 1
    out["q2"] = q2
    q3 = Counter()
    for y in b:
        m = [x for x in a if x[1] is not None and eq(y[1], x[1] + 1) and x[2] != "v3"]
        for x in m:
            q3["%d, %d" % (x[0], y[0])] += 1
        if not m:
            q3["null, %d" % y[0]] += 1
    out["q3"] = q3
    q4 = Counter()
    matched_b = set()
    for x in a:
        m = [y for y in b if eq(x[1], y[1]) and x[0] < y[2]]
        for y in m:
            q4["%d, %s, %d, %s" % (x[0], show(x[1]), y[0], show(y[1]))] += 1
            matched_b.add(y[0])
        if not m:
            q4["%d, %s, null, null" % (x[0], show(x[1]))] += 1
    for y in b:
        if y[0] not in matched_b:
            q4["null, null, %d, %s" % (y[0], show(y[1]))] += 1
    out["q4"] = q4
    out["q5"] = Counter("%d, %d" % (x[0], y[0]) for x in a for y in b
                        if eq(x[1], y[1]) and y[2] < 0 and x[2] == "v1")
    groups = {}
    for y in b:  # GROUP BY k: NULL is a group of its own
        c, s = groups.get(y[1], (0, 0))
        groups[y[1]] = (c + 1, s + y[2])
    out["q6"] = Counter("%d, %d, %d, %d" % (x[0], x[1], groups[x[1]][0], groups[x[1]][1])
                        for x in a if x[0] < 60 and x[1] is not None and x[1] in groups)
    q7 = Counter()
    for k, (c, _) in groups.items():
        m = [x for x in a if eq(k, x[1]) and x[0] % 9 == 0]
        for x in m:
            q7["%d, %d, %d" % (k, c, x[0])] += 1
        if not m:
            q7["%s, %d, null" % (show(k), c)] += 1
    out["q7"] = q7
    out["q8"] = Counter("%d, %d" % (x[0], y[0]) for x in a for y in b
                        if x[0] + 990 < y[0] < x[0] + 1000)
    out["q9"] = Counter("%d, %d, %d" % (x[0], y[0], z[0]) for x in a for y in b
                        if eq(x[1], y[1]) for z in b
                        if y[1] is not None and eq(z[1], y[1] + 1) and z[2] > 100)
    # USING (k) and NATURAL: k once (the left's, the right's in a RIGHT join, either in FULL)
    out["q10"] = Counter("%d, %d, %d" % (x[1], x[0], y[0]) for x in a for y in b
                         if eq(x[1], y[1]) and y[2] > 100)
    q11, q12, q13 = Counter(), Counter(), Counter()
    for x in a:
        m = [y for y in b if eq(x[1], y[1])]
        for y in m:
            q11["%d, %d, %d" % (x[1], x[0], y[0])] += 1
            q13["%d, %d, %s, %d, %d" % (x[1], x[0], x[2], y[0], y[2])] += 1
        if not m:
            q11["%s, %d, null" % (show(x[1]), x[0])] += 1
            q13["%s, %d, %s, null, null" % (show(x[1]), x[0], x[2])] += 1
    for y in b:
        m = [x for x in a if eq(x[1], y[1])]
        for x in m:
            q12["%d, %d, %d" % (y[1], x[0], y[0])] += 1
        if not m:
            q12["%s, null, %d" % (show(y[1]), y[0])] += 1
            q13["%s, null, null, %d, %d" % (show(y[1]), y[0], y[2])] += 1
    out["q11"], out["q12"], out["q13"] = q11, q12, q13
    out["q14"] = Counter("%d, %d, %d" % (x[1], x[0], y[0]) for x in a for y in b
                         if eq(x[1], y[1]))
    return out


def test_joins(tmp):
    rng = seeded_rng("sql-join")
    a, b = gen_tables(rng)
    want = oracle(a, b)
    for q in want:
        expect(sum(want[q].values()) > 10, "%s: rows to compare" % q, "> 10",
               sum(want[q].values()))
    pa, pb = os.path.join(tmp, "a.csv"), os.path.join(tmp, "b.csv")
    write(pa, "".join("%d,%s,%s\n" % (i, nul(k), v) for i, k, v in a))
    write(pb, "".join("%d,%s,%d\n" % (i, nul(k), w) for i, k, w in b))
    for n, (par, ckpt, batch) in enumerate([(1, False, 64), (3, True, 7), (2, False, 1),
                                             (3, False, 256)]):
        script = os.path.join(tmp, "joins%d.sql" % n)
        write(script, JOINS_SQL % {"a": pa, "b": pb, "batch": batch})
        args = ["run", "-p", str(par)]
        if ckpt:
            args += ["--checkpoint-dir", os.path.join(tmp, "ck%d" % n),
                     "--checkpoint-interval", "20"]
        r = run(args + [script])
        expect_rc(r, 0)
        for q in sorted(want):
            what = "p%d, batch %d, checkpoints %s: %s" % (par, batch, "on" if ckpt else "off", q)
            compare(want[q], replay(r, q, what), what + "'s final rows", r)


# ---- window joins ------------------------------------------------------------------------------

T0 = 1714564800000  # 2024-05-01 12:00:00 UTC
SIZE = 1000  # 1 s tumbling windows
DELAY = 1000  # WATERMARK FOR ts AS ts - INTERVAL '1' SECOND


def timed_table(rng, first_id, n, late):
    """Rows (id, k, ts) in file order, out of order by less than the watermark's delay; with
    late, every 25th row far behind. Returns the rows and the ids of those whose window had
    ended by their own table's watermark when they came (maybe late at the join, whose
    watermark is the least of both tables')."""
    rows, maybe, t, top = [], set(), T0, None
    for i in range(n):
        t += rng.randint(0, 120)
        ts = t - rng.randint(0, DELAY - 1)
        if late and i > 20 and i % 25 == 0:
            ts = t - DELAY - rng.randint(0, 4000)
        wm = top - DELAY if top is not None else None
        if wm is not None and ts - ts % SIZE + SIZE - 1 <= wm:
            maybe.add(first_id + i)
        top = ts if top is None else max(top, ts)
        rows.append((first_id + i, rng.choice("abcde"), ts))
    return rows, maybe


WINDOW_TABLES = """
SET 'batch-size' = '%(batch)d';
CREATE TABLE A (id INT, k STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '%(a)s', 'format' = 'csv');
CREATE TABLE B (id INT, k STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '%(b)s', 'format' = 'csv');
CREATE VIEW WA AS SELECT * FROM TABLE(TUMBLE(TABLE A, DESCRIPTOR(ts), INTERVAL '1' SECOND));
CREATE VIEW WB AS SELECT * FROM TABLE(TUMBLE(TABLE B, DESCRIPTOR(ts), INTERVAL '1' SECOND));
CREATE TABLE w (aid INT, bid INT, ws TIMESTAMP(3))
  WITH ('connector' = 'filesystem', 'path' = '%(out)s', 'format' = 'csv');
"""

WINDOW_JOIN = {
    "inner": "INSERT INTO w SELECT L.id, R.id, L.window_start FROM WA L JOIN WB R ON L.k = R.k "
             "AND L.window_start = R.window_start AND L.window_end = R.window_end "
             "AND L.id % 3 <> R.id % 3;",
    "left": "INSERT INTO w SELECT L.id, R.id, L.window_start FROM WA L LEFT JOIN WB R "
            "ON L.k = R.k AND L.window_start = R.window_start AND L.window_end = R.window_end;",
    "full": "INSERT INTO w SELECT L.id, R.id, COALESCE(L.window_start, R.window_start) FROM WA L "
            "FULL JOIN WB R ON L.window_start = R.window_start AND L.window_end = R.window_end "
            "AND L.k = R.k AND R.id > L.id + 1000;",
    # two window aggregations joined on their windows (Nexmark q8's shape)
    "aggs": "INSERT INTO w SELECT CAST(L.n AS INT), CAST(R.n AS INT), L.ws FROM (SELECT k, COUNT(*) AS n, window_start AS "
            "ws, window_end AS we FROM WA GROUP BY k, window_start, window_end) L JOIN (SELECT k, "
            "COUNT(*) AS n, window_start AS ws, window_end AS we FROM WB GROUP BY k, "
            "window_start, window_end) R ON L.k = R.k AND L.ws = R.ws AND L.we = R.we;",
}


def window_pairs(kind, a, b):
    """The rows of query kind over the rows a and b (those a window drops already left out)."""
    def win(ts):
        return ts - ts % SIZE
    out = Counter()
    if kind == "aggs":
        ca, cb = Counter((k, win(t)) for _, k, t in a), Counter((k, win(t)) for _, k, t in b)
        for (k, w), n in ca.items():
            if (k, w) in cb:
                out[(str(n), str(cb[(k, w)]), w)] += 1
        return out
    cond = {"inner": lambda x, y: x[0] % 3 != y[0] % 3, "left": lambda x, y: True,
            "full": lambda x, y: y[0] > x[0] + 1000}[kind]
    matched = set()
    for x in a:
        m = [y for y in b if y[1] == x[1] and win(y[2]) == win(x[2]) and cond(x, y)]
        for y in m:
            out[(str(x[0]), str(y[0]), win(x[2]))] += 1
            matched.add(y[0])
        if not m and kind in ("left", "full"):
            out[(str(x[0]), "", win(x[2]))] += 1
    if kind == "full":
        for y in b:
            if y[0] not in matched:
                out[("", str(y[0]), win(y[2]))] += 1
    return out


def read_pairs(out):
    got = Counter()
    for line in committed_rows(out, header=False):
        aid, bid, ws = line.split(",")
        got[(aid, bid, ts_ms(ws))] += 1
    return got


def test_window_joins(tmp):
    """Window joins of two TUMBLE TVFs (inner, left, full) and of two window aggregations, at
    parallelism 1 and 3: each window's pairs once, when it ends. With late rows (inner, and
    the aggregations, which drop them in their own table exactly): every pair of rows on time
    in their own tables is there, and a row that may be late at the join (its table's
    watermark had passed its window; the join's is the least of both) has all its pairs with
    rows on time or none."""
    rng = seeded_rng("sql-window-join")
    data = {}
    for late in (False, True):
        a, ma = timed_table(rng, 0, 500, late)
        b, mb = timed_table(rng, 5000, 400, late)
        expect(not late or (len(ma) > 5 and len(mb) > 5), "late rows in the input", "some",
               (len(ma), len(mb)))
        pa, pb = os.path.join(tmp, "a%d.csv" % late), os.path.join(tmp, "b%d.csv" % late)
        write(pa, "".join("%d,%s,%s\n" % (i, k, ts_text(t)) for i, k, t in a))
        write(pb, "".join("%d,%s,%s\n" % (i, k, ts_text(t)) for i, k, t in b))
        data[late] = (a, b, ma | mb, pa, pb)
    cases = [("inner", True), ("left", False), ("full", False), ("aggs", True)]
    for n, (kind, late) in enumerate(cases):
        a, b, maybe, pa, pb = data[late]
        for par in (1, 3):
            out = os.path.join(tmp, "w%d-%d" % (n, par))
            script = os.path.join(tmp, "w%d-%d.sql" % (n, par))
            write(script, WINDOW_TABLES % {"a": pa, "b": pb, "out": out, "batch": 16} +
                  WINDOW_JOIN[kind] + "\n")
            r = run(["run", "-p", str(par), script])
            expect_rc(r, 0)
            got = read_pairs(out)
            what = "%s window join at p%d" % (kind, par)
            if kind == "aggs":  # the aggregations drop late rows in their own table, exactly
                on = [x for x in a if x[0] not in maybe], [y for y in b if y[0] not in maybe]
                compare(window_pairs(kind, *on), got, what, r)
                continue
            if not late:
                compare(window_pairs(kind, a, b), got, what, r)
                continue
            on_a = [x for x in a if x[0] not in maybe]
            on_b = [y for y in b if y[0] not in maybe]
            certain = window_pairs(kind, on_a, on_b)
            every = window_pairs(kind, a, b)
            compare(certain, got & certain, what + ": the pairs of rows on time", r)
            extra = got - certain
            expect(not (extra - every), what + ": no pair but the query's", "none",
                   sorted((extra - every).elements())[:3], r)
            for row in maybe:
                key = str(row)
                mine = Counter({p: c for p, c in every.items()
                                if key in p[:2] and all(int(q) not in maybe or q == key
                                                        for q in p[:2] if q)})
                have = got & mine
                expect(not have or have == mine, what + ": row %s joined whole or not at all"
                       % row, "all %d or none" % sum(mine.values()), sum(have.values()), r)


CASCADE_SQL = WINDOW_TABLES.replace("TUMBLE(TABLE A, DESCRIPTOR(ts), INTERVAL '1' SECOND)",
                                    "HOP(TABLE A, DESCRIPTOR(ts), INTERVAL '1' SECOND, "
                                    "INTERVAL '3' SECOND)") + """
CREATE TABLE m (n INT, c INT, ws TIMESTAMP(3))
  WITH ('connector' = 'filesystem', 'path' = '%(out)s-m', 'format' = 'csv');
INSERT INTO m SELECT CAST(MAX(n) AS INT), CAST(COUNT(*) AS INT), starttime FROM (
  SELECT k, COUNT(*) AS n, window_start AS starttime, window_end AS endtime FROM WA
  GROUP BY k, window_start, window_end) GROUP BY starttime, endtime;
"""


def test_cascading_windows(tmp):
    """A window aggregation of a window aggregation's rows grouped by its windows (Flink's
    cascading window aggregation, Nexmark q5's MaxBids): append-only (into a file), each
    window's largest count per key and its number of keys, with late rows dropped by the
    first aggregation, at parallelism 1 and 3."""
    rng = seeded_rng("sql-cascade")
    a, _ = timed_table(rng, 0, 600, True)
    pa = os.path.join(tmp, "a.csv")
    write(pa, "".join("%d,%s,%s\n" % (i, k, ts_text(t)) for i, k, t in a))
    # HOP 3 s by 1 s: a row counts in each of its windows that had not ended when it came
    counts = Counter()
    top = None
    for i, k, t in a:
        wm = top - DELAY if top is not None else None
        for ws in range(t - t % 1000 - 2000, t - t % 1000 + 1, 1000):
            if wm is None or ws + 3000 - 1 > wm:  # that window had not ended
                counts[(k, ws)] += 1
        top = t if top is None else max(top, t)
    per_window = {}
    for (k, ws), n in counts.items():
        mx, c = per_window.get(ws, (0, 0))
        per_window[ws] = (max(mx, n), c + 1)
    want = Counter("%d,%d,%d" % (mx, c, ws) for ws, (mx, c) in per_window.items())
    for par in (1, 3):
        out = os.path.join(tmp, "c%d" % par)
        script = os.path.join(tmp, "c%d.sql" % par)
        write(script, CASCADE_SQL % {"a": pa, "b": pa, "out": out, "batch": 1})
        r = run(["run", "-p", str(par), script])
        expect_rc(r, 0)
        got = Counter()
        for line in committed_rows(out + "-m", header=False):
            mx, c, ws = line.split(",")
            got["%s,%s,%d" % (mx, c, ts_ms(ws))] += 1
        compare(want, got, "p%d: each window's top count and keys" % par, r)


# ---- interval joins ----------------------------------------------------------------------------

INTERVAL_TABLES = """
SET 'batch-size' = '%(batch)d';
CREATE TABLE A (id INT, k STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '%(a)s', 'format' = 'csv');
CREATE TABLE B (id INT, k STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '%(b)s', 'format' = 'csv');
CREATE TABLE o (aid INT, bid INT) WITH ('connector' = 'filesystem', 'path' = '%(out)s',
  'format' = 'csv');
"""

# (query, the pair's condition on (a row, b row), the join kind)
INTERVAL_JOIN = {
    "inner": ("INSERT INTO o SELECT A.id, B.id FROM A, B WHERE A.k = B.k AND A.ts BETWEEN "
              "B.ts - INTERVAL '2' SECOND AND B.ts + INTERVAL '1' SECOND;",
              lambda x, y: y[2] - 2000 <= x[2] <= y[2] + 1000),
    "strict": ("INSERT INTO o SELECT A.id, B.id FROM A JOIN B ON A.k = B.k AND A.ts > B.ts AND "
               "B.ts + INTERVAL '1.5' SECOND > A.ts AND A.id % 2 = 0;",
               lambda x, y: y[2] < x[2] < y[2] + 1500 and x[0] % 2 == 0),
    "left": ("INSERT INTO o SELECT A.id, B.id FROM A LEFT JOIN B ON A.k = B.k AND B.ts BETWEEN "
             "A.ts AND A.ts + INTERVAL '0.8' SECOND;",
             lambda x, y: x[2] <= y[2] <= x[2] + 800),
    # the window_end of a window aggregation as the bound (Nexmark q7's shape)
    "window_end": ("INSERT INTO o SELECT A.id, CAST(W.n AS INT) FROM A JOIN (SELECT k, "
                   "COUNT(*) AS n, window_end AS we FROM TABLE(TUMBLE(TABLE B, DESCRIPTOR(ts), "
                   "INTERVAL '1' SECOND)) GROUP BY k, window_start, window_end) W ON A.k = W.k "
                   "AND A.ts BETWEEN W.we - INTERVAL '1' SECOND AND W.we;", None),
    "full": ("INSERT INTO o SELECT A.id, B.id FROM A FULL JOIN B ON A.k = B.k AND A.ts >= "
             "B.ts - INTERVAL '0.3' SECOND AND A.ts <= B.ts + INTERVAL '0.3' SECOND;",
             lambda x, y: y[2] - 300 <= x[2] <= y[2] + 300),
}


def late_rows(rows):
    """The ids of the rows at or below their table's watermark when they came (maybe late at
    the join, whose watermark is the least of both tables')."""
    late, top = set(), None
    for i, _, t in rows:
        if top is not None and t <= top - DELAY:
            late.add(i)
        top = t if top is None else max(top, t)
    return late


def interval_pairs(kind, a, b, b_window_late=()):
    if kind == "window_end":  # b's windows (its window-late rows dropped), then the pairs
        n = Counter((k, t - t % SIZE + SIZE) for i, k, t in b if i not in b_window_late)
        return Counter((str(x[0]), str(c)) for x in a for (k, we), c in n.items()
                       if k == x[1] and we - 1000 <= x[2] <= we)
    cond = INTERVAL_JOIN[kind][1]
    out, matched = Counter(), set()
    for x in a:
        m = [y for y in b if y[1] == x[1] and cond(x, y)]
        for y in m:
            out[(str(x[0]), str(y[0]))] += 1
            matched.add(y[0])
        if not m and kind in ("left", "full"):
            out[(str(x[0]), "")] += 1
    if kind == "full":
        for y in b:
            if y[0] not in matched:
                out[("", str(y[0]))] += 1
    return out


def test_interval_joins(tmp):
    """Interval joins (a bound on both sides of A.ts - B.ts, written with BETWEEN, >, < and
    interval arithmetic; inner, left, full) at parallelism 1 and 3 with checkpoints on and off:
    EXPLAIN shows an IntervalJoin; the rows are those computed here, exactly without late rows;
    with late rows (inner), every pair of rows on time in their own tables is there and
    nothing else but pairs of the query."""
    rng = seeded_rng("sql-interval-join")
    data = {}
    for late in (False, True):
        a, _ = timed_table(rng, 0, 500, late)
        b, window_late = timed_table(rng, 5000, 400, late)
        ma, mb = late_rows(a), late_rows(b)
        data["window_late", late] = window_late
        pa, pb = os.path.join(tmp, "ia%d.csv" % late), os.path.join(tmp, "ib%d.csv" % late)
        write(pa, "".join("%d,%s,%s\n" % (i, k, ts_text(t)) for i, k, t in a))
        write(pb, "".join("%d,%s,%s\n" % (i, k, ts_text(t)) for i, k, t in b))
        data[late] = (a, b, ma | mb, pa, pb)
    cases = [("inner", True), ("strict", True), ("left", False), ("full", False),
             ("window_end", False)]
    for n, (kind, late) in enumerate(cases):
        a, b, maybe, pa, pb = data[late]
        if kind == "window_end":  # A on time; B's late rows are dropped by its windows
            a, b, maybe, _, pb = data[True]
            a, _, _, pa, _ = data[False]
        for par, ckpt in ((1, False), (3, True)):
            out = os.path.join(tmp, "i%d-%d" % (n, par))
            script = os.path.join(tmp, "i%d-%d.sql" % (n, par))
            tables = INTERVAL_TABLES % {"a": pa, "b": pb, "out": out, "batch": 16}
            write(script, tables + "EXPLAIN " + INTERVAL_JOIN[kind][0] + "\n")
            r = run(["run", script])
            expect_rc(r, 0)
            expect_in("IntervalJoin(windowBounds=[isRowTime=true", r.out,
                      "%s: EXPLAIN shows an interval join" % kind, r)
            write(script, tables + INTERVAL_JOIN[kind][0] + "\n")
            args = ["run", "-p", str(par)]
            if ckpt:
                args += ["--checkpoint-dir", os.path.join(tmp, "ck-i%d" % n),
                         "--checkpoint-interval", "20"]
            r = run(args + [script])
            expect_rc(r, 0)
            got = Counter(tuple(line.split(",")) for line in committed_rows(out, header=False))
            what = "%s interval join at p%d" % (kind, par)
            if kind == "window_end":
                compare(interval_pairs(kind, a, b, data["window_late", True]), got, what, r)
                continue
            if not late:
                compare(interval_pairs(kind, a, b), got, what, r)
                continue
            on = ([x for x in a if x[0] not in maybe], [y for y in b if y[0] not in maybe])
            certain, every = interval_pairs(kind, *on), interval_pairs(kind, a, b)
            compare(certain, got & certain, what + ": the pairs of rows on time", r)
            expect(not (got - every), what + ": no pair but the query's", "none",
                   sorted((got - every).elements())[:3], r)


PROC_INTERVAL_SQL = """
CREATE TABLE A (id INT, k INT, p AS PROCTIME())
  WITH ('connector' = 'filesystem', 'path' = '%(a)s', 'format' = 'csv');
CREATE TABLE B (n BIGINT, p AS PROCTIME()) WITH ('connector' = 'datagen',
  'rows-per-second' = '1', 'number-of-rows' = '11',
  'fields.n.kind' = 'sequence', 'fields.n.start' = '1', 'fields.n.end' = '11');
%(explain)sSELECT A.id, B.n FROM A LEFT JOIN B ON A.k = B.n %% 5
  AND A.p BETWEEN B.p - INTERVAL '2' SECOND AND B.p + INTERVAL '2' SECOND;
"""


def test_processing_time_interval_join(tmp):
    """A processing-time interval join (both times PROCTIME()): the bounds hold between the
    rows' arrival times, and a row goes when the clock passes its arrival plus the bound. A's
    rows come at once; B's row n (key n % 5) at about n - 1 s. A's row 1 meets B's row 1 (about
    0 s apart), never rows 6 or 11 (5 and 10 s); A's row 7 has no key in B and is sent padded
    when it expires, while the job still runs. Margins of 2 s and more against a loaded
    machine; rows 2 to 5 (1 to 4 s) are not judged."""
    pa = os.path.join(tmp, "a.csv")
    write(pa, "1,1\n7,7\n")
    script = os.path.join(tmp, "p.sql")
    write(script, PROC_INTERVAL_SQL % {"a": pa, "explain": "EXPLAIN "})
    r = run(["run", script])
    expect_rc(r, 0)
    expect_in("IntervalJoin(windowBounds=[isRowTime=false, leftLowerBound=-2000, "
              "leftUpperBound=2000", r.out, "EXPLAIN: a processing-time interval join", r)
    expect_in("dropped when the clock passes their arrival plus the bound", r.out,
              "EXPLAIN: its state", r)
    write(script, PROC_INTERVAL_SQL % {"a": pa, "explain": ""})
    r = run(["run", script])
    expect_rc(r, 0)
    rows = Counter(line for line in r.out.splitlines() if line.startswith("+I["))
    expect(rows["+I[1, 1]"] == 1, "A's row 1 with B's row 1 (0 s apart)", 1, rows, r)
    expect(rows["+I[7, null]"] == 1, "A's row 7 padded when it expired", 1, rows, r)
    for n in (6, 11):
        expect(not rows["+I[1, %d]" % n], "A's row 1 not with B's row %d (%d s later)" % (
            n, n - 1), 0, rows, r)
    expect(not rows["+I[1, null]"], "A's row 1 matched: never padded", 0, rows, r)
    expect(sum(rows.values()) == len(r.out.strip().splitlines()), "only +I rows",
           "+I only", r.out, r)


# ---- event-time temporal joins -------------------------------------------------------------------

TEMPORAL_SQL = """
SET 'batch-size' = '%(batch)d';
CREATE TABLE orders (id INT, cur STRING, amount INT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '%(o)s', 'format' = 'csv');
CREATE TABLE rates (cur STRING, rate INT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND, PRIMARY KEY (cur) NOT ENFORCED)
  WITH ('connector' = 'filesystem', 'path' = '%(r)s', 'format' = 'csv');
CREATE TABLE o (id INT, rate INT) WITH ('connector' = 'filesystem', 'path' = '%(out)s',
  'format' = 'csv');
"""

TEMPORAL_JOIN = {
    "inner": "INSERT INTO o SELECT orders.id, r.rate FROM orders JOIN rates FOR SYSTEM_TIME AS "
             "OF orders.ts AS r ON orders.cur = r.cur AND orders.amount < r.rate * 3;",
    "left": "INSERT INTO o SELECT orders.id, r.rate FROM orders LEFT JOIN rates FOR SYSTEM_TIME "
            "AS OF orders.ts AS r ON r.cur = orders.cur;",
}


def test_temporal_joins(tmp):
    """Event-time temporal joins of orders with the versions of a rates table (a primary key
    and a rowtime): each order on time gets the rate of its currency valid at its time (the
    last version at or before it) when it meets the condition, padded (LEFT) when there is
    none; an order that may be late gets one of its currency's rates or none. At parallelism 1
    and 3, checkpoints on and off."""
    rng = seeded_rng("sql-temporal-join")
    curs = ["EUR", "USD", "GBP", "JPY", "CHF", "XXX"]
    rates, t = [], T0
    for _ in range(150):  # versions in time order but for a jitter under the watermark's delay
        t += rng.randint(0, 400)
        rates.append((rng.choice(curs[:5]), rng.randint(1, 100), t - rng.randint(0, 900)))
    orders, _ = timed_table(rng, 0, 600, True)
    orders = [(i, rng.choice(curs), rng.randint(1, 300), ts) for i, _, ts in orders]
    maybe = late_rows([(i, c, ts) for i, c, _, ts in orders])
    po, pr = os.path.join(tmp, "orders.csv"), os.path.join(tmp, "rates.csv")
    write(po, "".join("%d,%s,%d,%s\n" % (i, c, a, ts_text(t)) for i, c, a, t in orders))
    write(pr, "".join("%s,%d,%s\n" % (c, v, ts_text(t)) for c, v, t in rates))
    versions = {}
    for c, v, tv in rates:  # the last row of a time wins
        versions.setdefault(c, {})[tv] = v

    def rate_at(c, tt):
        times = [tv for tv in versions.get(c, {}) if tv <= tt]
        return versions[c][max(times)] if times else None

    for kind, q in TEMPORAL_JOIN.items():
        want = Counter()
        for i, c, a, tt in orders:
            if i in maybe:
                continue
            v = rate_at(c, tt)
            if v is not None and (kind == "left" or a < v * 3):
                want[(str(i), str(v))] += 1
            elif kind == "left":
                want[(str(i), "")] += 1
        for par, ckpt in ((1, False), (3, True)):
            out = os.path.join(tmp, "t-%s-%d" % (kind, par))
            script = os.path.join(tmp, "t-%s-%d.sql" % (kind, par))
            write(script, TEMPORAL_SQL % {"o": po, "r": pr, "out": out, "batch": 16} + q + "\n")
            args = ["run", "-p", str(par)]
            if ckpt:
                args += ["--checkpoint-dir", os.path.join(tmp, "ck-t-%s" % kind),
                         "--checkpoint-interval", "20"]
            r = run(args + [script])
            expect_rc(r, 0)
            got = Counter(tuple(line.split(",")) for line in committed_rows(out, header=False))
            what = "%s temporal join at p%d" % (kind, par)
            late_got = Counter({p: n for p, n in got.items() if int(p[0]) in maybe})
            compare(want, got - late_got, what + ": the orders on time", r)
            by_id = {i: c for i, c, _, _ in orders}
            for (i, v), n in late_got.items():
                ok = n == 1 and (v == "" or int(v) in versions.get(by_id[int(i)], {}).values())
                expect(ok, what + ": order %s (maybe late) once with a rate of its currency"
                       % i, "once", (v, n), r)
    # Flink's refusals, with the place
    bad = [
        ("SELECT * FROM orders FULL JOIN rates FOR SYSTEM_TIME AS OF orders.ts AS r "
         "ON orders.cur = r.cur;", "only support INNER JOIN and LEFT JOIN"),
        ("SELECT * FROM orders JOIN rates FOR SYSTEM_TIME AS OF orders.ts AS r "
         "ON orders.amount = r.rate;", "primary key [cur] must be included"),
        ("SELECT * FROM orders JOIN rates FOR SYSTEM_TIME AS OF orders.id AS r "
         "ON orders.cur = r.cur;", "takes a time attribute of the left input"),
        ("SELECT * FROM orders JOIN orders FOR SYSTEM_TIME AS OF orders.ts AS r "
         "ON orders.cur = r.cur;", "requires primary key and row time attribute"),
    ]
    for n, (q, msg) in enumerate(bad):
        script = os.path.join(tmp, "bad%d.sql" % n)
        write(script, TEMPORAL_SQL % {"o": po, "r": pr, "out": tmp + "/x", "batch": 8} + q)
        r = run(["run", script])
        expect_rc(r, 1)
        expect_in(msg, r.err, "refusal %d" % n, r)
        expect_in("line 11", r.err, "refusal %d: its place" % n, r)


def test_temporal_join_savepoint_rescaled(tmp):
    """A LEFT event-time temporal join's state (the orders waiting for the watermark, each
    currency's versions) in a savepoint taken at parallelism 2, restored at 1 or 3 on either
    backend: each order once, with the rate valid at its time or padded."""
    rng = seeded_rng("sql-temporal-savepoint")
    curs = ["EUR", "USD", "GBP", "XXX"]
    rates, t = [], T0
    for _ in range(200):
        t += rng.randint(0, 300)
        rates.append((rng.choice(curs[:3]), rng.randint(1, 100), t - rng.randint(0, 900)))
    orders, _ = timed_table(rng, 0, 900, False)
    orders = [(i, rng.choice(curs), rng.randint(1, 300), ts) for i, _, ts in orders]
    po, pr = os.path.join(tmp, "orders.csv"), os.path.join(tmp, "rates.csv")
    write(po, "".join("%d,%s,%d,%s\n" % (i, c, a, ts_text(t)) for i, c, a, t in orders))
    write(pr, "".join("%s,%d,%s\n" % (c, v, ts_text(t)) for c, v, t in rates))
    versions = {}
    for c, v, tv in rates:
        versions.setdefault(c, {})[tv] = v
    want = Counter()
    for i, c, a, tt in orders:
        times = [tv for tv in versions.get(c, {}) if tv <= tt]
        want[(str(i), str(versions[c][max(times)]) if times else "")] += 1
    out = os.path.join(tmp, "out")
    script = os.path.join(tmp, "sp.sql")
    tables = (TEMPORAL_SQL % {"o": po, "r": pr, "out": out, "batch": 1}).replace(
        "CREATE TABLE orders (", "CREATE TABLE orders_raw (")
    write(script, "SET 'pipeline.name' = 'temporal';\n" + tables +
          "CREATE TEMPORARY FUNCTION slow AS 'slow' LANGUAGE C USING JAR '%s';\n"
          "CREATE VIEW orders AS SELECT * FROM orders_raw WHERE slow(id, 3) >= 0;\n"
          % job_so("sql_slow_udf") + TEMPORAL_JOIN["left"] + "\n")
    r = savepoint_and_restore(tmp, rng, "sp", script, "temporal",
                              rng.choice(("heap", "rocksdb")))
    got = Counter(tuple(line.split(",")) for line in committed_rows(out, header=False))
    compare(want, got, "the LEFT temporal join after a savepoint", r)


# ---- lookup joins ------------------------------------------------------------------------------

LOOKUP_SQL = """
SET 'batch-size' = '%(batch)d';
CREATE TABLE A (id INT, k INT, v STRING, p AS PROCTIME())
  WITH ('connector' = 'filesystem', 'path' = '%(a)s', 'format' = 'csv');
CREATE TABLE side (k BIGINT, name STRING, w INT)
  WITH ('connector' = 'filesystem', 'path' = 'file://%(side)s', 'format' = '%(fmt)s');
CREATE TABLE o (id INT, name STRING) WITH ('connector' = 'print', 'print-identifier' = 'o');
"""

LOOKUP_JOIN = {
    "inner": "INSERT INTO o SELECT A.id, S.name FROM A JOIN side FOR SYSTEM_TIME AS OF A.p AS S "
             "ON A.k = S.k AND S.w > A.id % 50;",
    "left": "INSERT INTO o SELECT A.id, S.name FROM A LEFT JOIN side FOR SYSTEM_TIME AS OF A.p "
            "AS S ON S.k = A.k + 1;",
}


def test_lookup_joins(tmp):
    """Lookup joins (FOR SYSTEM_TIME AS OF a PROCTIME() column) against a CSV and a JSON
    filesystem table with duplicate keys and a NULL key, inner with a condition and left, at
    parallelism 1 and 3: each row of A with its table rows, as computed here."""
    rng = seeded_rng("sql-lookup-join")
    a, _ = gen_tables(rng, 300, 0)
    side = [(None if i == 7 else rng.randrange(45), "n%d" % i, rng.randrange(0, 60))
            for i in range(80)]
    pa = os.path.join(tmp, "a.csv")
    write(pa, "".join("%d,%s,%s\n" % (i, nul(k), v) for i, k, v in a))
    import json
    files = {"csv": os.path.join(tmp, "side.csv"), "json": os.path.join(tmp, "side.json")}
    write(files["csv"], "".join("%s,%s,%d\n" % (nul(k), n, w) for k, n, w in side))
    write(files["json"], "".join(json.dumps({"k": k, "name": n, "w": w}) + "\n"
                                 for k, n, w in side))
    for kind, q in LOOKUP_JOIN.items():
        want = Counter()
        for i, k, _ in a:
            if kind == "inner":
                m = [n for sk, n, w in side if k is not None and sk == k and w > i % 50]
            else:
                m = [n for sk, n, w in side if k is not None and sk == k + 1]
            for n in m:
                want["%d, %s" % (i, n)] += 1
            if not m and kind == "left":
                want["%d, null" % i] += 1
        for fmt in ("csv", "json"):
            for par in (1, 3):
                script = os.path.join(tmp, "l-%s-%s-%d.sql" % (kind, fmt, par))
                write(script, LOOKUP_SQL % {"a": pa, "side": files[fmt], "fmt": fmt,
                                            "batch": 16} + q + "\n")
                r = run(["run", "-p", str(par), script])
                expect_rc(r, 0)
                what = "%s lookup join of a %s table at p%d" % (kind, fmt, par)
                compare(want, replay(r, "o", what), what, r)


# ---- kill -9 and --resume, savepoints -------------------------------------------------------

PACED_SQL = """
CREATE TABLE a (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '%(rate)d',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '%(na)d');
CREATE TABLE b (n BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '%(rate)d',
  'fields.n.kind' = 'sequence', 'fields.n.start' = '1', 'fields.n.end' = '%(nb)d');
CREATE TABLE pairs (aid BIGINT, bn BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s', 'format' = 'csv');
INSERT INTO pairs SELECT a.id, b.n FROM a JOIN b ON a.id %% 97 = (b.n * 7) %% 97
  AND a.id %% 5 <> b.n %% 3;
"""


def paced_pairs(na, nb):
    by_key = {}
    for n in range(1, nb + 1):
        by_key.setdefault((n * 7) % 97, []).append(n)
    return sorted("%d,%d" % (i, n) for i in range(1, na + 1) for n in by_key.get(i % 97, [])
                  if i % 5 != n % 3)


def test_kill_and_resume(tmp):
    rng = seeded_rng("sql-join-kill")
    na, nb = 4000, 3000
    want = paced_pairs(na, nb)
    out, ck = os.path.join(tmp, "out"), os.path.join(tmp, "ck")
    script = os.path.join(tmp, "kill.sql")
    write(script, PACED_SQL % {"na": na, "nb": nb, "out": out, "rate": 2500})
    kills, r = kill_and_resume(tmp, rng, ["--checkpoint-dir", ck, "--checkpoint-interval",
                                          "100", "--resume", script], ck)
    expect(kills >= 2, "most runs were killed", ">= 2 kills", kills)
    got = committed_rows(out, header=False)
    if got != want:
        expect(False, "the committed pairs after %d kills" % kills,
               "%d, e.g. %s" % (len(want), sorted(set(want) - set(got))[:3]),
               "%d, e.g. %s" % (len(got), sorted(set(got) - set(want))[:3]), r)


def test_savepoint_rescaled(tmp):
    rng = seeded_rng("sql-join-savepoint")
    na, nb = 3000, 2500
    want = paced_pairs(na, nb)
    for backend in ("heap", "rocksdb"):
        out, ck = os.path.join(tmp, "out-" + backend), os.path.join(tmp, "ck-" + backend)
        script = os.path.join(tmp, "sp-%s.sql" % backend)
        write(script, PACED_SQL % {"na": na, "nb": nb, "out": out, "rate": 2000})
        name = "sp-" + backend
        s = Started(tmp, name, ["run", "--state-backend", backend, "-p", "2",
                                "--checkpoint-dir", ck, "--checkpoint-interval", "100",
                                "--rest-port", "0", script])
        port = s.rest_port()
        deadline = time.monotonic() + 60
        while not completed_checkpoints(ck):
            expect(time.monotonic() < deadline and s.p.poll() is None,
                   "%s: a checkpoint while the job runs" % backend, "one", "none")
            time.sleep(0.01)
        r = run(["stop", name, "--savepoint", os.path.join(tmp, "sp-" + backend),
                 "-m", "127.0.0.1:%d" % port])
        expect_rc(r, 0)
        sp = savepoint_path(r, "%s: stop with a savepoint" % backend)
        expect_rc(s.wait(), 0)
        par = rng.choice((1, 3))
        r = run(["run", "--state-backend", backend, "-p", str(par), "--checkpoint-dir", ck,
                 "--checkpoint-interval", "100", "--from-savepoint", sp, script])
        expect_rc(r, 0)
        got = committed_rows(out, header=False)
        if got != want:
            expect(False, "%s: the pairs after a savepoint restored at p%d" % (backend, par),
                   "%d, e.g. %s" % (len(want), sorted(set(want) - set(got))[:3]),
                   "%d, e.g. %s" % (len(got), sorted(set(got) - set(want))[:3]), r)


def test_time_joins_savepoint_rescaled(tmp):
    """The state of a FULL interval join (rows by time, whether each met a partner) and of a
    FULL window join (each open window's rows) in a savepoint taken at parallelism 2, restored
    at 1 or 3 on either backend: the rows computed here, each once."""
    rng = seeded_rng("sql-time-join-savepoint")
    a, _ = timed_table(rng, 0, 700, False)
    b, _ = timed_table(rng, 5000, 600, False)
    pa, pb = os.path.join(tmp, "a.csv"), os.path.join(tmp, "b.csv")
    write(pa, "".join("%d,%s,%s\n" % (i, k, ts_text(t)) for i, k, t in a))
    write(pb, "".join("%d,%s,%s\n" % (i, k, ts_text(t)) for i, k, t in b))
    oi, ow = os.path.join(tmp, "oi"), os.path.join(tmp, "ow")
    script = os.path.join(tmp, "sp.sql")
    # A and B read slowly (1 ms every 4 rows), so checkpoints complete while the job runs
    tables = (WINDOW_TABLES % {"a": pa, "b": pb, "out": ow, "batch": 1}).replace(
        "CREATE TABLE A (", "CREATE TABLE A_raw (").replace("CREATE TABLE B (",
                                                            "CREATE TABLE B_raw (")
    tables = tables.replace("CREATE VIEW WA", "CREATE TEMPORARY FUNCTION slow AS 'slow' LANGUAGE "
                            "C USING JAR '%s';\nCREATE VIEW A AS SELECT * FROM A_raw WHERE "
                            "slow(id, 4) >= 0;\nCREATE VIEW B AS SELECT * FROM B_raw WHERE "
                            "slow(id, 4) >= 0;\nCREATE VIEW WA" % job_so("sql_slow_udf"), 1)
    write(script, "SET 'pipeline.name' = 'time-joins';\n" + tables +
          "CREATE TABLE o (aid INT, bid INT) WITH ('connector' = 'filesystem', 'path' = '%s', "
          "'format' = 'csv');\n" % oi +
          "EXECUTE STATEMENT SET BEGIN\n" + INTERVAL_JOIN["full"][0] + "\n" +
          WINDOW_JOIN["full"] + "\nEND;\n")
    r = savepoint_and_restore(tmp, rng, "sp", script, "time-joins",
                              rng.choice(("heap", "rocksdb")))
    got = Counter(tuple(line.split(",")) for line in committed_rows(oi, header=False))
    compare(interval_pairs("full", a, b), got, "the FULL interval join after a savepoint", r)
    compare(window_pairs("full", a, b), read_pairs(ow), "the FULL window join after a savepoint",
            r)


# ---- a join under a GROUP BY into an upsert table (Nexmark q3/q4's shape) -----------------------

AGG_SQL = TABLES + """
CREATE TABLE per_v (v STRING, n BIGINT, top INT, PRIMARY KEY (v) NOT ENFORCED)
  WITH ('connector' = 'print', 'print-identifier' = 'agg');
INSERT INTO per_v SELECT A.v, COUNT(*), MAX(B.w) FROM A LEFT JOIN B ON A.k = B.k GROUP BY A.v;
"""


def test_join_under_group_by(tmp):
    rng = seeded_rng("sql-join-agg")
    a, b = gen_tables(rng, 300, 200)
    pa, pb = os.path.join(tmp, "a.csv"), os.path.join(tmp, "b.csv")
    write(pa, "".join("%d,%s,%s\n" % (i, nul(k), v) for i, k, v in a))
    write(pb, "".join("%d,%s,%d\n" % (i, nul(k), w) for i, k, w in b))
    want = {}
    for x in a:
        m = [y for y in b if x[1] is not None and x[1] == y[1]] or [None]
        for y in m:
            n, top = want.get(x[2], (0, None))
            w = y[2] if y else None
            want[x[2]] = (n + 1, top if w is None else w if top is None else max(top, w))
    want = Counter("%s, %d, %s" % (v, n, show(t)) for v, (n, t) in want.items())
    for par in (1, 3):
        script = os.path.join(tmp, "agg%d.sql" % par)
        write(script, AGG_SQL % {"a": pa, "b": pb, "batch": 16})
        r = run(["run", "-p", str(par), script])
        expect_rc(r, 0)
        compare(want, replay(r, "agg", "p%d" % par), "p%d: COUNT and MAX per v" % par, r)


# ---- state TTL ---------------------------------------------------------------------------------

TTL_SQL = """
SET 'table.exec.state.ttl' = '300 ms';
CREATE TABLE a (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '20',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '30');
CREATE TABLE b (n BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '20',
  'fields.n.kind' = 'sequence', 'fields.n.start' = '1', 'fields.n.end' = '30');
CREATE TABLE o (aid BIGINT, bn BIGINT) WITH ('connector' = 'print', 'print-identifier' = 'o');
INSERT INTO o SELECT a.id, b.n FROM a JOIN b ON a.id % 2 = b.n % 2;
"""


def test_state_ttl(tmp):
    """Both inputs run at 20 rows a second for 1.5 s with a 300 ms TTL: a row joins the other
    side's rows of the last ~300 ms only, never those of the start."""
    script = os.path.join(tmp, "ttl.sql")
    write(script, TTL_SQL)
    r = run(["run", "-p", "1", script])
    expect_rc(r, 0)
    pairs = [tuple(int(v) for v in row.split(", ")) for row in replay(r, "o", "ttl").elements()]
    expect(len(pairs) > 30, "pairs of rows close in time", "> 30", len(pairs), r)
    far = [p for p in pairs if abs(p[0] - p[1]) > 12]  # 600 ms apart or more
    expect(not far, "no pair of rows 600 ms apart (the TTL is 300 ms)", "none", far[:5], r)


# ---- errors ------------------------------------------------------------------------------------

def test_errors(tmp):
    pa, pb = os.path.join(tmp, "a.csv"), os.path.join(tmp, "b.csv")
    write(pa, "1,1,x\n")
    write(pb, "1,1,1\n")
    cases = [
        ("SELECT k FROM A JOIN B ON A.k = B.k;", "Column 'k' is ambiguous", "line 7, column 8"),
        ("SELECT A.id FROM A JOIN B ON A.k = B.nope;", "Column 'nope' not found in table 'B'", "line 7, column 36"),
        ("SELECT A.id FROM A JOIN B USING (nope);", "Column 'nope' not found in the left "
         "input of the join", "line 7, column 34"),
        ("SELECT A.id FROM A JOIN (SELECT id FROM B) USING (k);", "Column 'k' not found in "
         "the right input of the join", "line 7, column 51"),
        ("SELECT A.id FROM A JOIN B ON A.v;", "ON clause must be a condition", "line 7"),
        ("SELECT A.id FROM A JOIN B;", 'Was expecting one of: "ON", "USING"', "line 7, column 26"),
    ]
    for n, (q, msg, where) in enumerate(cases):
        script = os.path.join(tmp, "err%d.sql" % n)
        write(script, TABLES % {"a": pa, "b": pb, "batch": 8} + q + "\n")
        r = run(["run", script])
        expect_rc(r, 1)
        expect_in(msg, r.err, "%s: the message" % q, r)
        expect_in(where, r.err, "%s: the place" % q, r)


if __name__ == "__main__":
    main([test_joins, test_join_under_group_by, test_window_joins, test_cascading_windows,
          test_interval_joins, test_processing_time_interval_join,
          test_temporal_joins, test_lookup_joins,
          test_kill_and_resume,
          test_savepoint_rescaled, test_time_joins_savepoint_rescaled,
          test_temporal_join_savepoint_rescaled, test_state_ttl,
          test_errors])
