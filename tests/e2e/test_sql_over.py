"""End-to-end tests of OVER aggregations in SQL (COUNT, SUM, MIN, MAX, AVG OVER (PARTITION BY ..
ORDER BY t ROWS|RANGE BETWEEN .. PRECEDING AND CURRENT ROW)), against results computed here:

- event time, on random out-of-order input with late rows, at parallelism 1 and 3 with
  checkpoints on and off: ROWS n PRECEDING (timestamps unique per input, so the frame is
  defined), RANGE INTERVAL PRECEDING and RANGE UNBOUNDED PRECEDING (many rows sharing a
  timestamp: peers), several aggregates of one named window, an argument that is an
  expression. Every on-time row (above its table's watermark when it came) must be output
  with exactly the aggregates computed here over the rows the operator took; a late row may
  be dropped, and when it is not it must be among those rows (it then counts in the frames
  after it);
- processing time: ROWS frames are exact (one file: a key's rows come in file order), RANGE
  UNBOUNDED counts every row of the key so far;
- an updating input, Nexmark q6's shape (the average of the last rows per seller over a Top-1
  per auction), which Flink refuses: the changelog replayed by auction must retract only rows
  it emitted and end with each auction's winning bid and the average over its frame among the
  seller's winning bids ordered by time (and, with a RANGE frame of 10 s, the sum and count of
  the seller's winning bids in the 10 s before);
- kill -9 and --resume at random parallelisms of an event-time OVER aggregation into the
  exactly-once file sink: each row once, with the aggregates computed here;
- errors with the place: FOLLOWING, ORDER BY a column that is no time attribute, two windows,
  a RANGE bounded by a number, an unknown named window.
"""
import os
import sys
from collections import defaultdict

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import (committed_rows, expect, expect_in, expect_rc, job_so,  # noqa: E402
                      main, run, seeded_rng)
from test_sql import fmt_ts  # noqa: E402
from test_sql_rank import changelog, run_all, write  # noqa: E402
from test_sql_recovery import kill_and_resume, savepoint_and_restore  # noqa: E402

T0 = 1714564800000  # 2024-05-01 12:00:00 UTC
DELAY = 1000        # the tables' watermark: ts - INTERVAL '1' SECOND


def nul(x):
    return "null" if x is None else str(x)


def java_div(a, b):
    """Java's long division (truncated toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def aggs(frame):
    """COUNT(*), COUNT(v), SUM(v), AVG(v), MIN(v), MAX(v), SUM(v * 2 + 1) of the rows of frame
    (id, k, v, ts) as printed (v an INT: its SUM and AVG are INTs)."""
    vs = [x[2] for x in frame if x[2] is not None]
    if not vs:
        return [str(len(frame)), "0", "null", "null", "null", "null", "null"]
    s = sum(vs)
    return [str(len(frame)), str(len(vs)), str(s), str(java_div(s, len(vs))), str(min(vs)),
            str(max(vs)), str(sum(2 * v + 1 for v in vs))]


def frames(rows, rows_n=None, range_ms=None):
    """{id: the frame's rows} for rows (id, k, v, ts) of one partition in processing order:
    ROWS rows_n PRECEDING, RANGE range_ms PRECEDING (None for both: RANGE UNBOUNDED)."""
    out = {}
    for i, x in enumerate(rows):
        if rows_n is not None:
            out[x[0]] = rows[max(0, i - rows_n):i + 1]
        else:
            lo = x[3] - range_ms if range_ms is not None else -2 ** 63
            out[x[0]] = [y for y in rows if lo <= y[3] <= x[3]]
    return out


def on_time(rows):
    """The ids of rows (id, k, v, ts, in file order) above the watermark when they came."""
    ids, top = set(), None
    for x in rows:
        if top is None or x[3] > top - DELAY:
            ids.add(x[0])
        top = x[3] if top is None else max(top, x[3])
    return ids


def gen_rows(rng, n, unique):
    """n rows (id, k, v, ts) in file order: mostly ascending times with jitter, some late;
    unique: no two rows share a timestamp (else many do)."""
    rows, t, used = [], T0, set()
    keys = ["k%d" % i for i in range(7)]
    for i in range(n):
        t += rng.randrange(0, 60)
        late = rng.random() < 0.06
        ts = t - (rng.randrange(DELAY + 1, 4000) if late else rng.randrange(0, 700))
        if unique:
            while ts in used:
                ts += 1
            used.add(ts)
        else:
            ts -= ts % 100
        v = None if rng.random() < 0.07 else rng.randrange(-50, 60)
        rows.append((i, rng.choice(keys), v, ts))
    return rows


def write_rows(path, rows):
    write(path, "".join("%d,%s,%s,%s\n" % (i, k, "" if v is None else v, fmt_ts(ts)[0])
                        for i, k, v, ts in rows))


EVENT_SQL = """
SET 'parallelism.default' = '%%(par)d';
CREATE TABLE u (id BIGINT, k STRING, v INT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '%(unique)s', 'format' = 'csv');
CREATE TABLE p (id BIGINT, k STRING, v INT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '%(peers)s', 'format' = 'csv');
SELECT 'rows', id, COUNT(*) OVER w, COUNT(v) OVER w, SUM(v) OVER w, AVG(v) OVER w,
  MIN(v) OVER w, MAX(v) OVER w, SUM(v * 2 + 1) OVER w
FROM u WINDOW w AS (PARTITION BY k ORDER BY ts ROWS BETWEEN 4 PRECEDING AND CURRENT ROW);
SELECT 'range', id, COUNT(*) OVER w, COUNT(v) OVER w, SUM(v) OVER w, AVG(v) OVER w,
  MIN(v) OVER w, MAX(v) OVER w, SUM(v * 2 + 1) OVER w
FROM p WINDOW w AS (PARTITION BY k ORDER BY ts
  RANGE BETWEEN INTERVAL '0.5' SECOND PRECEDING AND CURRENT ROW);
SELECT 'unb', id, COUNT(*) OVER w, COUNT(v) OVER w, SUM(v) OVER w, AVG(v) OVER w,
  MIN(v) OVER w, MAX(v) OVER w, SUM(v * 2 + 1) OVER w
FROM p WHERE id >= 0 WINDOW w AS (PARTITION BY k ORDER BY ts);
SELECT 'urows', id, COUNT(*) OVER w, COUNT(v) OVER w, SUM(v) OVER w, AVG(v) OVER w,
  MIN(v) OVER w, MAX(v) OVER w, SUM(v * 2 + 1) OVER w
FROM u WINDOW w AS (ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);
"""


def check_event(r, what, tag, rows, keyed=True, **frame):
    """Query tag's rows: one per row the operator took, each on-time row among them, each with
    the aggregates over its frame among the rows taken (in time order)."""
    out = changelog(r, tag)
    got = {}
    for kind, vals in out:
        expect(kind == "+I", "%s %s: inserts only" % (what, tag), "+I", kind, r)
        i = int(vals[0])
        expect(i not in got, "%s %s: one row per input row" % (what, tag), "once", i, r)
        got[i] = vals[1:]
    ontime = on_time(rows)
    missing = sorted(ontime - set(got))
    expect(not missing, "%s %s: every on-time row is output" % (what, tag), "none missing",
           missing[:5], r)
    taken = [x for x in rows if x[0] in got]
    parts = defaultdict(list)
    for x in sorted(taken, key=lambda x: x[3]):  # stable: peers in file order
        parts[x[1] if keyed else ""].append(x)
    bad = []
    for p in parts.values():
        for i, fr in frames(p, **frame).items():
            if got[i] != aggs(fr):
                bad.append((i, aggs(fr), got[i]))
    expect(not bad, "%s %s: the aggregates over each row's frame (%d rows, %d late taken)" % (
        what, tag, len(got), len(set(got) - ontime)), bad[:1] and bad[0][1], bad[:1] and
        bad[0][2], r)


def test_event_time(tmp):
    rng = seeded_rng("sql-over-event")
    unique, peers = gen_rows(rng, 1500, True), gen_rows(rng, 1500, False)
    paths = {"unique": os.path.join(tmp, "u.csv"), "peers": os.path.join(tmp, "p.csv")}
    write_rows(paths["unique"], unique)
    write_rows(paths["peers"], peers)

    def check(r, what):
        check_event(r, what, "rows", unique, rows_n=4)
        check_event(r, what, "range", peers, range_ms=500)
        check_event(r, what, "unb", peers)
        check_event(r, what, "urows", unique, keyed=False, rows_n=10 ** 9)
    run_all(tmp, "event", EVENT_SQL % paths, check)


PROC_SQL = """
SET 'parallelism.default' = '%%(par)d';
CREATE TABLE t (id BIGINT, k STRING, v INT, ts TIMESTAMP(3), pt AS PROCTIME())
  WITH ('connector' = 'filesystem', 'path' = '%(inp)s', 'format' = 'csv');
SELECT 'prows', id, COUNT(*) OVER w, COUNT(v) OVER w, SUM(v) OVER w, AVG(v) OVER w,
  MIN(v) OVER w, MAX(v) OVER w, SUM(v * 2 + 1) OVER w
FROM t WINDOW w AS (PARTITION BY k ORDER BY pt ROWS BETWEEN 2 PRECEDING AND CURRENT ROW);
SELECT 'punb', id, k, COUNT(*) OVER (PARTITION BY k ORDER BY pt) FROM t;
SELECT 'prange', id, k, COUNT(*) OVER (PARTITION BY k ORDER BY pt
  RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW) FROM t;
"""


def test_processing_time(tmp):
    rng = seeded_rng("sql-over-proc")
    rows = gen_rows(rng, 800, True)
    inp = os.path.join(tmp, "t.csv")
    write_rows(inp, rows)
    by_k = defaultdict(list)
    for x in rows:
        by_k[x[1]].append(x)
    want_rows = {}
    place = {}
    for g in by_k.values():
        want_rows.update({i: aggs(fr) for i, fr in frames(g, rows_n=2).items()})
        place.update({x[0]: n + 1 for n, x in enumerate(g)})

    def check(r, what):
        got = {int(v[0]): v[1:] for _, v in changelog(r, "prows")}
        bad = [(i, want_rows[i], got.get(i)) for i in want_rows if got.get(i) != want_rows[i]]
        expect(not bad and len(got) == len(rows), "%s: ROWS 2 PRECEDING by processing time" %
               what, bad[:1] and bad[0][1], bad[:1] and bad[0][2], r)
        for tag in ("punb", "prange"):  # within the hour: every row of the key so far
            got = {int(v[0]): int(v[2]) for _, v in changelog(r, tag)}
            bad = [(i, place[i], got.get(i)) for i in place if got.get(i) != place[i]]
            expect(not bad, "%s %s: the rows of the key so far" % (what, tag),
                   bad[:1] and bad[0][1], bad[:1] and bad[0][2], r)
    run_all(tmp, "proc", PROC_SQL % {"inp": inp}, check)


# ---- an updating input: Nexmark q6's shape -----------------------------------------------------

Q6_SQL = """
SET 'parallelism.default' = '%%(par)d';
CREATE TABLE auction (id BIGINT, seller BIGINT, dt TIMESTAMP(3), expires TIMESTAMP(3))
  WITH ('connector' = 'filesystem', 'path' = '%(auctions)s', 'format' = 'csv');
CREATE TABLE bid (auction BIGINT, price BIGINT, dt TIMESTAMP(3))
  WITH ('connector' = 'filesystem', 'path' = '%(bids)s', 'format' = 'csv');
CREATE VIEW winners AS
  SELECT * FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY id, seller ORDER BY price DESC) AS rownum
    FROM (SELECT A.id, A.seller, B.price, B.dt FROM auction AS A, bid AS B
          WHERE A.id = B.auction AND B.dt BETWEEN A.dt AND A.expires))
  WHERE rownum <= 1;
SELECT 'q6', Q.id, Q.seller, Q.price, Q.dt,
  AVG(Q.price) OVER (PARTITION BY Q.seller ORDER BY Q.dt ROWS BETWEEN 3 PRECEDING AND CURRENT ROW),
  COUNT(*) OVER (PARTITION BY Q.seller ORDER BY Q.dt ROWS BETWEEN 3 PRECEDING AND CURRENT ROW)
FROM winners AS Q;
SELECT 'q6r', id, seller, SUM(price) OVER w, COUNT(*) OVER w FROM winners
WINDOW w AS (PARTITION BY seller ORDER BY dt
  RANGE BETWEEN INTERVAL '10' SECOND PRECEDING AND CURRENT ROW);
-- as Nexmark's q6.sql writes it: the WHERE names the rownum of its own select list, A. and B.
-- name columns of an unnamed subquery, and the BIGINT seller goes into a VARCHAR column
CREATE TABLE q6w (tag STRING, id BIGINT, seller VARCHAR, price BIGINT, dt TIMESTAMP(3),
  avg_price BIGINT, n BIGINT) WITH ('connector' = 'print');
INSERT INTO q6w
SELECT 'q6w', Q.id, Q.seller, Q.price, Q.dt,
  AVG(Q.price) OVER (PARTITION BY Q.seller ORDER BY Q.dt ROWS BETWEEN 3 PRECEDING AND CURRENT ROW),
  COUNT(*) OVER (PARTITION BY Q.seller ORDER BY Q.dt ROWS BETWEEN 3 PRECEDING AND CURRENT ROW)
FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY A.id, A.seller ORDER BY B.price DESC) AS rownum
    FROM (SELECT A.id, A.seller, B.price, B.dt FROM auction AS A, bid AS B
          WHERE A.id = B.auction and B.dt between A.dt and A.expires)
    WHERE rownum <= 1
) AS Q;
"""


def test_updating_input_q6(tmp):
    rng = seeded_rng("sql-over-q6")
    auctions, bids, t = [], [], T0
    for a in range(60):
        start = T0 + rng.randrange(0, 50000)
        auctions.append((a, rng.randrange(6), start, start + rng.randrange(5000, 30000)))
    used = set()
    prices = rng.sample(range(1, 100000), 900)  # no ties: the winner does not hang on order
    for n in range(900):
        a = rng.choice(auctions)
        t = a[2] + rng.randrange(-2000, 32000)
        while t in used:
            t += 1
        used.add(t)
        bids.append((a[0], prices[n], t))
    paths = {"auctions": os.path.join(tmp, "a.csv"), "bids": os.path.join(tmp, "b.csv")}
    write(paths["auctions"], "".join("%d,%d,%s,%s\n" % (i, s, fmt_ts(st)[0], fmt_ts(en)[0])
                                     for i, s, st, en in auctions))
    write(paths["bids"], "".join("%d,%d,%s\n" % (a, p, fmt_ts(ts)[0]) for a, p, ts in bids))
    # the winning bid of each auction: its highest while open (the first of equal ones)
    win = {}
    for a, p, ts in bids:
        _, seller, st, en = auctions[a]
        if st <= ts <= en and (a not in win or p > win[a][1]):
            win[a] = (seller, p, ts)
    by_seller = defaultdict(list)
    for a, (s, p, ts) in sorted(win.items(), key=lambda x: x[1][2]):
        by_seller[s].append((a, p, ts))
    want, want_r = {}, {}
    for s, g in by_seller.items():
        for i, (a, p, ts) in enumerate(g):
            fr = [x[1] for x in g[max(0, i - 3):i + 1]]
            want[a] = [str(s), str(p), fmt_ts(ts)[1], str(java_div(sum(fr), len(fr))),
                       str(len(fr))]
            fr = [x[1] for x in g if ts - 10000 <= x[2] <= ts]
            want_r[a] = [str(s), str(sum(fr)), str(len(fr))]

    def check(r, what):
        check_replay(r, what, "q6", want)
        check_replay(r, what + " RANGE", "q6r", want_r)
        check_replay(r, what + " as Nexmark writes it", "q6w", want)
        for warned in ("this WHERE names a window function of its own select list",
                       "sink column 'seller' is STRING and the query gives BIGINT"):
            expect(r.err.count(warned) == 1, "%s: a warning, once: %s" % (what, warned),
                   1, r.err.count(warned), r)

    def check_replay(r, what, tag, want):
        table, kinds = {}, set()
        for kind, vals in changelog(r, tag):
            kinds.add(kind)
            a = int(vals[0])
            if kind in ("-U", "-D"):
                expect(table.get(a) == vals[1:], "%s: %s retracts the current row of auction %d"
                       % (what, kind, a), table.get(a), vals[1:], r)
                del table[a]
            else:
                expect(a not in table, "%s: %s of auction %d with a row" % (what, kind, a),
                       "none", table.get(a), r)
                table[a] = vals[1:]
        bad = sorted(a for a in set(want) | set(table) if want.get(a) != table.get(a))
        expect(not bad, "%s: the final rows (%d auctions)" % (what, len(want)),
               bad[:1] and want.get(bad[0]), bad[:1] and table.get(bad[0]), r)
        expect(kinds == {"+I", "-U", "+U", "-D"}, "%s: a changelog of every kind" % what,
               "+I -U +U -D", " ".join(sorted(kinds)), r)
    run_all(tmp, "q6", Q6_SQL % paths, check)
    script = os.path.join(tmp, "q6-explain.sql")
    write(script, (Q6_SQL % paths).replace("SELECT 'q6'", "EXPLAIN SELECT 'q6'") % {"par": 1})
    r = run(["run", script])
    expect_rc(r, 0)
    expect_in("OverAggregate(partitionBy=[seller], orderBy=[dt ASC], window#0=[AVG(price) AS "
              "w0$o0, COUNT(*) AS w0$o1 ROWS BETWEEN 3 PRECEDING AND CURRENT ROW], select=[id, "
              "seller, price, dt, rownum, w0$o0, w0$o1])", r.out,
              "EXPLAIN: Flink's OverAggregate", r)
    expect_in("beyond Flink", r.out, "EXPLAIN says it goes beyond Flink", r)
    expect_in("Rank(strategy=[AppendFastStrategy]", r.out, "EXPLAIN: over a Top-1", r)


# ---- kill -9 and --resume --------------------------------------------------------------------

KILL_SQL = """
CREATE TABLE t_raw (id BIGINT, k STRING, v INT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '%(inp)s', 'format' = 'csv');
CREATE TEMPORARY FUNCTION slow AS 'slow' LANGUAGE C USING JAR '%(slow_so)s';
CREATE VIEW t AS SELECT * FROM t_raw WHERE slow(id, 20) >= 0;
CREATE TABLE o (id BIGINT, c BIGINT, s INT, mx INT) WITH ('connector' = 'filesystem',
  'path' = '%(out)s', 'format' = 'csv');
INSERT INTO o SELECT id, COUNT(*) OVER w, SUM(v) OVER w, MAX(v) OVER w
FROM t WINDOW w AS (PARTITION BY k ORDER BY ts ROWS BETWEEN 3 PRECEDING AND CURRENT ROW);
"""


def recovery_case(tmp, rng, name):
    """KILL_SQL's script over 3000 random on-time rows (no late rows: what a restored run drops
    can not differ from the first run) at tmp/name.sql, and the rows its sink must hold."""
    rows = [x for x in gen_rows(rng, 3000, True)]
    rows = [x for x in rows if x[0] in on_time(rows)]
    inp = os.path.join(tmp, "t.csv")
    write_rows(inp, rows)
    by_k = defaultdict(list)
    for x in sorted(rows, key=lambda x: x[3]):
        by_k[x[1]].append(x)
    want = []
    for g in by_k.values():
        for i, fr in frames(g, rows_n=3).items():
            a = aggs(fr)
            want.append("%d,%s,%s,%s" % (i, a[0], "" if a[2] == "null" else a[2],
                                         "" if a[5] == "null" else a[5]))
    path = os.path.join(tmp, name + ".sql")
    write(path, "SET 'pipeline.name' = 'over-recovery';\n" + KILL_SQL % {
        "inp": inp, "out": os.path.join(tmp, "out"), "slow_so": job_so("sql_slow_udf")})
    return path, want


def test_kill_and_resume(tmp):
    rng = seeded_rng("sql-over-kill")
    path, want = recovery_case(tmp, rng, "kill")
    backend = os.environ.get("RILL_E2E_BACKEND", rng.choice(("heap", "rocksdb")))
    r, kills = kill_and_resume(tmp, rng, "kill", path, backend, rng.randint(1, 3), max_kills=3)
    expect(kills >= 1, "the job was killed", ">= 1 kill", kills, r)
    got = committed_rows(os.path.join(tmp, "out"), header=False)
    if sorted(got) != sorted(want):
        diff = sorted(set(got) ^ set(want))
        expect(False, "each row once with its aggregates after %d kills" % kills,
               "%d rows" % len(want), "%d rows, e.g. %s" % (len(got), diff[:3]), r)


def test_savepoint_rescaled(tmp):
    """The OVER aggregation's state (each partition's rows and accumulators) in a savepoint
    taken at parallelism 2, restored at 1 or 3 on either backend: each row once, with the
    aggregates computed here."""
    rng = seeded_rng("sql-over-savepoint")
    path, want = recovery_case(tmp, rng, "sp")
    r = savepoint_and_restore(tmp, rng, "sp", path, "over-recovery",
                              rng.choice(("heap", "rocksdb")))
    got = committed_rows(os.path.join(tmp, "out"), header=False)
    if sorted(got) != sorted(want):
        diff = sorted(set(got) ^ set(want))
        expect(False, "after a savepoint restored at another parallelism: each row once",
               "%d rows" % len(want), "%d rows, e.g. %s" % (len(got), diff[:3]), r)


def test_errors(tmp):
    inp = os.path.join(tmp, "t.csv")
    write(inp, "1,a,2,2024-05-01 12:00:00.000\n")
    head = ("CREATE TABLE t (id BIGINT, k STRING, v INT, ts TIMESTAMP(3), WATERMARK FOR ts AS "
            "ts) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');\n" % inp)
    cases = [
        ("SELECT SUM(v) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 1 PRECEDING AND "
         "1 FOLLOWING) FROM t;", "OVER RANGE FOLLOWING windows are not supported yet.", 2, 77),
        ("SELECT id,\n  SUM(v) OVER (PARTITION BY k ORDER BY v) FROM t;",
         "OVER windows' ordering in stream mode must be defined on a time attribute.", 3, 40),
        ("SELECT COUNT(*) OVER (PARTITION BY k) FROM t;",
         "OVER windows' ordering in stream mode must be defined on a time attribute.", 2, 22),
        ("SELECT SUM(v) OVER (ORDER BY ts ROWS 2 PRECEDING), COUNT(*) OVER (ORDER BY ts) "
         "FROM t;", "All aggregates must be computed on the same window.", 2, 52),
        ("SELECT SUM(v) OVER (ORDER BY ts RANGE 5 PRECEDING) FROM t;",
         "A RANGE frame over a time attribute is bounded by an INTERVAL", 2, 39),
        ("SELECT SUM(v) OVER w FROM t WINDOW x AS (ORDER BY ts);", "Window 'w' not found", 2, 8),
    ]
    for sql, msg, line, col in cases:
        script = os.path.join(tmp, "e.sql")
        write(script, head + sql + "\n")
        r = run(["run", script])
        expect(r.rc == 1, "refused: %s" % sql, "exit status 1", r.rc, r)
        expect_in(msg, r.err, "the message", r)
        expect_in("at line %d, column %d" % (line, col), r.err, "the place of %r" % msg, r)


if __name__ == "__main__":
    main([test_event_time, test_processing_time, test_updating_input_q6, test_errors,
          test_kill_and_resume, test_savepoint_rescaled], need_jobs=True)
