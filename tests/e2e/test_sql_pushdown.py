"""Projection push-down into SQL sources: a scan reads only the columns its job uses. The rows
of queries over every connector that prunes (filesystem CSV and JSON, nexmark, datagen, Kafka's
metadata columns) equal the rows with push-down off and, where the input is the test's own, an
independent computation here; EXPLAIN names the pruned fields as Flink does; two INSERTs of a
statement set reading other columns of one table share one source; a savepoint restores into
the same query and into one that reads other columns of the table; kill -9 and --resume keep
the rows exact."""
import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import (Started, committed_rows, completed_checkpoints, expect,  # noqa: E402
                      expect_in, expect_rc, main, run, savepoint_path, seeded_rng)

OFF = "SET 'table.optimizer.source.projection-pushdown-enabled' = 'false';\n"
T0 = 1700000000000  # a whole second


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def sql_ts(ms):
    import datetime
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%d %H:%M:%S")


# ---- the filesystem source: CSV and JSON ---------------------------------------------------

FS_SQL = """
SET 'batch-size' = '256';
CREATE TABLE t (
    id BIGINT, k STRING, v DOUBLE, junk STRING, ts_ms BIGINT,
    ts AS CAST(TO_TIMESTAMP_LTZ(ts_ms, 3) AS TIMESTAMP(3)),
    WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH ('connector' = 'filesystem', 'path' = '%(inp)s', 'format' = '%(fmt)s');
CREATE TABLE out_p (id BIGINT, k STRING) WITH ('connector' = 'filesystem', 'path' = '%(out)s-p',
  'format' = 'csv');
CREATE TABLE out_w (k STRING, ws TIMESTAMP(3), n BIGINT, total BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s-w', 'format' = 'csv');
EXECUTE STATEMENT SET BEGIN
INSERT INTO out_p SELECT id, k FROM t WHERE id %% 3 = 0;
INSERT INTO out_w SELECT k, window_start, COUNT(*), SUM(id)
FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND))
GROUP BY k, window_start, window_end;
END;
"""


def fs_input(rng, n=12000):
    """Rows out of order by less than the watermark's 2 s (never late), and every 200th row
    far behind (8 s or more before what came 3,000 rows earlier: late whatever the batches
    are); its late rows' ids."""
    rows, late, t, seen = [], set(), T0, []
    for i in range(n):
        t += rng.randrange(0, 25)
        ts = t - rng.randrange(0, 1500)
        if i > 3000 and i % 200 == 0:
            ts = max(seen[:i - 3000]) - 8000 - rng.randrange(0, 5000)
            late.add(i)
        seen.append(ts if i not in late else T0)
        rows.append({"id": i, "k": rng.choice(["a", "b", "c"]), "v": rng.random() * 100,
                     "junk": "x" * rng.randrange(0, 40), "ts_ms": ts})
    # a running maximum is what the late rows are measured against
    return rows, late


def fs_oracle(rows, late):
    proj = sorted("%d,%s" % (r["id"], r["k"]) for r in rows if r["id"] % 3 == 0)
    win = {}
    for r in rows:
        if r["id"] in late:
            continue
        key = (r["k"], r["ts_ms"] // 1000 * 1000)
        n, s = win.get(key, (0, 0))
        win[key] = (n + 1, s + r["id"])
    return proj, sorted("%s,%s,%d,%d" % (k, sql_ts(w), n, s) for (k, w), (n, s) in win.items())


def test_filesystem_csv_and_json(tmp):
    rng = seeded_rng("pushdown-fs")
    rows, late = fs_input(rng)
    want_p, want_w = fs_oracle(rows, late)
    expect(len(late) > 20 and len(want_w) > 30, "late rows and windows in the input", "some",
           (len(late), len(want_w)))
    files = {"csv": os.path.join(tmp, "in.csv"), "json": os.path.join(tmp, "in.json")}
    write(files["csv"], "".join("%d,%s,%r,%s,%d\n" % (r["id"], r["k"], r["v"], r["junk"],
                                                      r["ts_ms"]) for r in rows))
    write(files["json"], "".join(json.dumps(r) + "\n" for r in rows))
    configs = [(True, 1, False), (True, 3, True), (True, 2, True), (False, 1, True),
               (False, 3, False), ("client", 2, False)]
    for fmt in ("csv", "json"):
        for k, (pushdown, par, ckpt) in enumerate(configs):
            client = pushdown == "client"  # `rill sql -f`: a job per statement
            out = os.path.join(tmp, "%s-%d" % (fmt, k))
            script = os.path.join(tmp, "%s-%d.sql" % (fmt, k))
            write(script, ("" if pushdown else OFF) +
                  FS_SQL % {"inp": files[fmt], "fmt": fmt, "out": out})
            args = ["sql", "-f"] if client else ["run", "-p", str(par)]
            if ckpt:
                args += ["--checkpoint-dir", os.path.join(tmp, "ck-%s-%d" % (fmt, k)),
                         "--checkpoint-interval", "20"]
            r = run(args + [script])
            expect_rc(r, 0)
            what = "%s, push-down %s, p%d, checkpoints %s" % (
                fmt, "on" if pushdown else "off", par, "on" if ckpt else "off")
            if client:
                what = "%s through `rill sql -f`" % fmt
            got_p = committed_rows(out + "-p", header=False)
            expect(got_p == want_p, "%s: the projected rows" % what, len(want_p),
                   "%d rows, e.g. %s" % (len(got_p), sorted(set(got_p) ^ set(want_p))[:3]), r)
            got_w = committed_rows(out + "-w", header=False)
            expect(got_w == want_w, "%s: the windows (late rows dropped)" % what,
                   "%d, e.g. %s" % (len(want_w), sorted(set(want_w) - set(got_w))[:3]),
                   "%d, e.g. %s" % (len(got_w), sorted(set(got_w) - set(want_w))[:3]), r)


UNION_SQL = """
CREATE TABLE t (a BIGINT, b STRING, c DOUBLE, d BIGINT, e STRING)
  WITH ('connector' = 'filesystem', 'path' = '%(inp)s', 'format' = 'csv');
CREATE TABLE o1 (x BIGINT, y STRING) WITH ('connector' = 'filesystem', 'path' = '%(out)s-1',
  'format' = 'csv');
CREATE TABLE o2 (e STRING) WITH ('connector' = 'filesystem', 'path' = '%(out)s-2',
  'format' = 'csv');
EXECUTE STATEMENT SET BEGIN
INSERT INTO o1 SELECT a, b FROM t WHERE a %% 2 = 0 UNION ALL SELECT d, b FROM t WHERE d > 500;
INSERT INTO o2 SELECT e FROM t WHERE a %% 5 = 1;
END;
"""


def test_union_branches_of_one_table(tmp):
    """A UNION ALL whose branches read other columns of one table, and an INSERT reading a
    third: one source producing what all read; the rows are the computed ones."""
    rng = seeded_rng("pushdown-union")
    rows = [(i, rng.choice("pqr"), rng.random(), rng.randrange(0, 1000), "e%d" % rng.randrange(9))
            for i in range(5000)]
    inp = os.path.join(tmp, "in.csv")
    write(inp, "".join("%d,%s,%r,%d,%s\n" % r for r in rows))
    want1 = sorted(["%d,%s" % (a, b) for a, b, _, _, _ in rows if a % 2 == 0] +
                   ["%d,%s" % (d, b) for _, b, _, d, _ in rows if d > 500])
    want2 = sorted(e for a, _, _, _, e in rows if a % 5 == 1)
    for pushdown, par in ((True, 1), (True, 3), (False, 2)):
        out = os.path.join(tmp, "o-%s-%d" % (pushdown, par))
        script = os.path.join(tmp, "u.sql")
        write(script, ("" if pushdown else OFF) + UNION_SQL % {"inp": inp, "out": out})
        r = run(["run", "-p", str(par), script])
        expect_rc(r, 0)
        what = "push-down %s, p%d" % (pushdown, par)
        got1 = committed_rows(out + "-1", header=False)
        expect(got1 == want1, "%s: the union's rows" % what, len(want1), len(got1), r)
        got2 = committed_rows(out + "-2", header=False)
        expect(got2 == want2, "%s: the other INSERT's rows" % what, len(want2), len(got2), r)
    write(script, UNION_SQL.split("EXECUTE")[0] % {"inp": inp, "out": out} +
          "EXPLAIN SELECT a, b FROM t UNION ALL SELECT d, b FROM t;\n")
    r = run(["run", script])
    expect_rc(r, 0)
    expect(r.out.count("project=[a, b, d]]], fields=[a, b, d]") == 2,
           "both branches' scans read the statement's union of columns", 2, r.out, r)


def test_csv_skips_unread_columns(tmp):
    """A value that does not parse in a column no query reads is not converted, so it is no
    error (Flink's CSV format with a projection); read, it is one, named."""
    inp = os.path.join(tmp, "in.csv")
    write(inp, "1,a,2.5\n2,b,oops\n3,c,0.5\n")
    base = ("CREATE TABLE t (id BIGINT, k STRING, v DOUBLE) WITH ('connector' = 'filesystem', "
            "'path' = '%s', 'format' = 'csv');\n" % inp)
    script = os.path.join(tmp, "a.sql")
    write(script, base + "SELECT id, k FROM t;\n")
    r = run(["run", script])
    expect_rc(r, 0)
    expect(sorted(r.out.split()) == ["+I[1,", "+I[2,", "+I[3,", "a]", "b]", "c]"],
           "the rows of the unread-column file", "1 a, 2 b, 3 c", r.out, r)
    write(script, base + "SELECT id, v FROM t;\n")
    r = run(["run", script])
    expect(r.rc != 0, "reading the bad column fails", "an error", r.rc, r)
    expect_in("in.csv:2:5: expected DOUBLE", r.err, "the error names file, line, column", r)
    # a statement with push-down off shares the source: it reads every column (one error)
    write(script, base + "SELECT id FROM t;\n" + OFF + "SELECT k FROM t;\n")
    r = run(["run", script])
    expect(r.rc != 0, "a statement with push-down off reads the bad column", "an error", r.rc,
           r)
    expect_in("in.csv:2:5: expected DOUBLE", r.err, "the error with push-down off", r)
    write(script, base + OFF.replace("false", "maybe") + "SELECT id FROM t;\n")
    r = run(["run", script])
    expect(r.rc != 0, "a bad push-down option", "an error", r.rc, r)
    expect_in("'maybe' is not true or false", r.err, "the bad option named", r)


def test_datagen_options_of_unread_columns_checked(tmp):
    """A bad option of a datagen column no query reads is still an error naming it, and the
    sequence column bounds the rows whether read or not."""
    script = os.path.join(tmp, "d.sql")
    ddl = ("CREATE TABLE src (id BIGINT, a INT, s STRING) WITH ('connector' = 'datagen', "
           "'fields.s.length' = '%s', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', "
           "'fields.id.end' = '37');\n")
    write(script, ddl % "-4" + "SELECT a FROM src;\n")
    r = run(["run", script])
    expect(r.rc != 0, "a bad option of an unread column", "an error", r.rc, r)
    expect_in("option 'fields.s.length': '-4'", r.err, "the error names the option", r)
    write(script, ddl % "4" + "SELECT a FROM src;\n")
    r = run(["run", "-p", "2", script])
    expect_rc(r, 0)
    expect(len([l for l in r.out.splitlines() if "+I[" in l]) == 37,
           "rows of the sequence, unread", 37, r.out.count("+I["), r)


# ---- EXPLAIN -------------------------------------------------------------------------------

def test_explain_shows_pruned_fields(tmp):
    """A computed column and a WATERMARK read a column the SELECT does not: the scan reads it;
    the others go; EXPLAIN shows the projection in Flink's digest, and not when it is off."""
    inp = os.path.join(tmp, "in.csv")
    write(inp, "")
    ddl = """
CREATE TABLE t (a BIGINT, b STRING, c DOUBLE, d BIGINT, e STRING,
  ts AS CAST(TO_TIMESTAMP_LTZ(d, 3) AS TIMESTAMP(3)), x AS a + 1,
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
CREATE TABLE o (x BIGINT, b STRING) WITH ('connector' = 'blackhole');
""" % inp
    script = os.path.join(tmp, "e.sql")
    write(script, ddl + "EXPLAIN INSERT INTO o SELECT x, b FROM t WHERE c > 1;\n")
    r = run(["run", script])
    expect_rc(r, 0)
    expect_in("TableSourceScan(table=[[default_catalog, default_database, t, "
              "project=[a, b, c, d]]], fields=[a, b, c, d]", r.out, "the pruned scan", r)
    expect_in("Calc(select=[b, c, CAST(TO_TIMESTAMP_LTZ(d, 3) AS TIMESTAMP(3)) AS ts, "
              "(a + 1) AS x]", r.out, "the computed columns' calc, e gone", r)
    write(script, OFF + ddl + "EXPLAIN INSERT INTO o SELECT x, b FROM t WHERE c > 1;\n")
    r = run(["run", script])
    expect_rc(r, 0)
    expect_in("TableSourceScan(table=[[default_catalog, default_database, t]], "
              "fields=[a, b, c, d, e]", r.out, "the scan with push-down off", r)
    # nested ROW leaves of the nexmark table
    write(script, """
CREATE TABLE nx (event_type INT,
  bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, url VARCHAR, `dateTime` TIMESTAMP(3)>)
WITH ('connector' = 'nexmark', 'events.num' = '10');
EXPLAIN SELECT bid.price FROM nx WHERE event_type = 2;
""")
    r = run(["run", script])
    expect_rc(r, 0)
    expect_in("project=[event_type, bid.price]]], fields=[event_type, bid.price]", r.out,
              "the nexmark scan's leaves", r)


# ---- nexmark -------------------------------------------------------------------------------

NX_SQL = """
CREATE TABLE datagen (
    event_type INT,
    person ROW<id BIGINT, name VARCHAR, `dateTime` TIMESTAMP(3)>,
    auction ROW<id BIGINT, itemName VARCHAR, `dateTime` TIMESTAMP(3)>,
    bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
            `dateTime` TIMESTAMP(3), extra VARCHAR>,
    `dateTime` AS CASE WHEN event_type = 0 THEN person.`dateTime`
                       WHEN event_type = 1 THEN auction.`dateTime` ELSE bid.`dateTime` END,
    WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND
) WITH ('connector' = 'nexmark', 'events.num' = '30000', 'events.base-time' = '1700000000000');
CREATE VIEW b AS SELECT bid.bidder AS bidder, `dateTime` FROM datagen WHERE event_type = 2;
CREATE TABLE o1 (auction BIGINT, price BIGINT) WITH ('connector' = 'filesystem',
  'path' = '%(out)s-1', 'format' = 'csv');
CREATE TABLE o2 (bidder BIGINT, ws TIMESTAMP(3), n BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s-2', 'format' = 'csv');
CREATE TABLE o3 (id BIGINT, name VARCHAR) WITH ('connector' = 'filesystem',
  'path' = '%(out)s-3', 'format' = 'csv');
EXECUTE STATEMENT SET BEGIN
INSERT INTO o1 SELECT bid.auction, bid.price FROM datagen
  WHERE event_type = 2 AND MOD(bid.auction, 7) = 0;
INSERT INTO o2 SELECT bidder, window_start, COUNT(*)
  FROM TABLE(TUMBLE(TABLE b, DESCRIPTOR(`dateTime`), INTERVAL '2' SECOND))
  GROUP BY bidder, window_start, window_end;
INSERT INTO o3 SELECT person.id, person.name FROM datagen WHERE event_type = 0;
END;
"""


def test_nexmark_equal_with_and_without(tmp):
    """Three INSERTs reading other leaves of the nexmark table (one source, the union of
    theirs): the same rows with push-down on and off, at parallelism 1 and 2 (the generator
    is the independent side: its stream is tested against Nexmark's elsewhere)."""
    results = {}
    for pushdown in (False, True):
        for par in (1, 2):
            out = os.path.join(tmp, "o-%s-%d" % (pushdown, par))
            script = os.path.join(tmp, "nx.sql")
            write(script, ("" if pushdown else OFF) + NX_SQL % {"out": out})
            r = run(["run", "-p", str(par), script])
            expect_rc(r, 0)
            results[(pushdown, par)] = [committed_rows(out + "-%d" % i, header=False)
                                        for i in (1, 2, 3)]
    for key, got in results.items():
        ref = results[(False, key[1])]  # the stream's splits are the starting parallelism's
        expect(all(len(x) > 50 for x in ref), "rows in each output", "> 50",
               [len(x) for x in ref])
        for i in range(3):
            expect(got[i] == ref[i], "output %d with push-down %s at p%d" % (i + 1, *key),
                   len(ref[i]), "%d, e.g. %s" % (len(got[i]), sorted(set(got[i]) ^
                                                                    set(ref[i]))[:3]))


# ---- datagen: kill -9 and --resume, savepoints ---------------------------------------------

DG_SQL = """
SET 'pipeline.name' = 'pd';
CREATE TABLE src (
    id BIGINT, a INT, b INT, junk STRING,
    ts AS CAST(TO_TIMESTAMP_LTZ(id * 10, 3) AS TIMESTAMP(3)),
    WATERMARK FOR ts AS ts
) WITH ('connector' = 'datagen', 'rows-per-second' = '%(rate)d', 'fields.id.kind' = 'sequence',
        'fields.id.start' = '1', 'fields.id.end' = '%(rows)d', 'fields.a.min' = '0',
        'fields.a.max' = '1000000', 'fields.b.min' = '0', 'fields.b.max' = '1000000',
        'fields.junk.length' = '60');
"""

KILL_SQL = DG_SQL + """
CREATE TABLE out_p (id BIGINT, m BIGINT) WITH ('connector' = 'filesystem',
  'path' = '%(out)s-p', 'format' = 'csv');
CREATE TABLE out_w (k BIGINT, ws TIMESTAMP(3), n BIGINT, total BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s-w', 'format' = 'csv');
EXECUTE STATEMENT SET BEGIN
INSERT INTO out_p SELECT id, MOD(id, 7) FROM src WHERE MOD(id, 3) = 0;
INSERT INTO out_w SELECT MOD(id, 5), window_start, COUNT(*), SUM(id)
FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '1' SECOND))
GROUP BY MOD(id, 5), window_start, window_end;
END;
"""


def kill_oracle(n):
    proj = sorted("%d,%d" % (i, i % 7) for i in range(1, n + 1) if i % 3 == 0)
    win = {}
    for i in range(1, n + 1):
        key = (i % 5, i * 10 // 1000)
        c, s = win.get(key, (0, 0))
        win[key] = (c + 1, s + i)
    return proj, sorted("%d,%s,%d,%d" % (k, sql_ts(w * 1000), c, s)
                        for (k, w), (c, s) in win.items())


TEMPORAL_VIEW_SQL = """
CREATE TABLE orders_raw (id INT, cur STRING, amount INT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '%(o)s', 'format' = 'csv');
CREATE VIEW orders AS SELECT * FROM orders_raw WHERE amount > 0;
CREATE TABLE rates (cur STRING, rate INT, note STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND, PRIMARY KEY (cur) NOT ENFORCED)
  WITH ('connector' = 'filesystem', 'path' = '%(r)s', 'format' = 'csv');
CREATE TABLE o (id INT, rate INT) WITH ('connector' = 'filesystem', 'path' = '%(out)s',
  'format' = 'csv');
INSERT INTO o SELECT orders.id, r.rate FROM orders LEFT JOIN rates FOR SYSTEM_TIME AS OF
  orders.ts AS r ON r.cur = orders.cur;
"""


def test_temporal_join_times_are_read(tmp):
    """A temporal join reads the left's AS OF time and the right's version time though the
    select list does not: over a view, push-down once made the left's time NULL, so every
    order was padded (exit 0). Against push-down off and the rates computed here."""
    rng = seeded_rng("pushdown-temporal")
    rates, orders, t = [], [], T0
    for i in range(300):
        t += rng.randint(0, 200)
        if i % 3 == 0:
            rates.append((rng.choice("ABC"), rng.randint(1, 99), t))
        orders.append((i, rng.choice("ABCD"), rng.randint(1, 9), t + 1))
    po, pr = os.path.join(tmp, "o.csv"), os.path.join(tmp, "r.csv")
    write(po, "".join("%d,%s,%d,%s\n" % (i, c, a, sql_ts(x) + ".%03d" % (x % 1000))
                      for i, c, a, x in orders))
    write(pr, "".join("%s,%d,note,%s\n" % (c, v, sql_ts(x) + ".%03d" % (x % 1000))
                      for c, v, x in rates))
    want = []
    for i, c, _, x in orders:
        vs = [v for rc, v, rt in rates if rc == c and rt <= x]
        want.append("%d,%s" % (i, vs[-1] if vs else ""))
    for pre in ("", OFF):
        out = os.path.join(tmp, "out%d" % len(pre))
        path = os.path.join(tmp, "t%d.sql" % len(pre))
        write(path, pre + TEMPORAL_VIEW_SQL % {"o": po, "r": pr, "out": out})
        r = run(["run", path])
        expect_rc(r, 0)
        got = sorted(committed_rows(out, header=False))
        expect(got == sorted(want), "the orders with their rates (push-down %s)" %
               ("off" if pre else "on"), sorted(want)[:3], got[:3], r)


def test_kill_and_resume(tmp):
    """The datagen table's pruned scan (a, b and junk unread) killed with SIGKILL at random
    moments and resumed at random parallelisms: the committed rows are the computed ones."""
    rng = seeded_rng("pushdown-kill")
    n = 40000
    want_p, want_w = kill_oracle(n)
    out, ck = os.path.join(tmp, "out"), os.path.join(tmp, "ck")
    script = os.path.join(tmp, "k.sql")
    write(script, KILL_SQL % {"rate": 20000, "rows": n, "out": out})
    for k in range(3):
        p = Started(tmp, "run%d" % k, ["run", "-p", str(rng.randint(1, 3)), "--checkpoint-dir",
                                       ck, "--checkpoint-interval", "100", "--resume", script])
        deadline = time.monotonic() + 30
        while k == 0 and not completed_checkpoints(ck) and p.p.poll() is None:
            expect(time.monotonic() < deadline, "a checkpoint within 30 s", "one", "none")
            time.sleep(0.01)
        time.sleep(rng.uniform(0.05, 0.5))
        r = p.kill9()
        expect(r.rc in (0, -9), "run %d ended by the kill or by itself" % k, "0 or -9", r.rc, r)
    r = run(["run", "-p", str(rng.randint(1, 3)), "--checkpoint-dir", ck,
             "--checkpoint-interval", "100", "--resume", script])
    expect_rc(r, 0)
    got_p = committed_rows(out + "-p", header=False)
    expect(got_p == want_p, "the projected rows after kills", len(want_p),
           "%d, e.g. %s" % (len(got_p), sorted(set(got_p) ^ set(want_p))[:3]), r)
    got_w = committed_rows(out + "-w", header=False)
    expect(got_w == want_w, "the windows after kills", len(want_w),
           "%d, e.g. %s" % (len(got_w), sorted(set(got_w) ^ set(want_w))[:3]), r)


SP_SQL = DG_SQL + """
CREATE TABLE out_t (id BIGINT, x INT) WITH ('connector' = 'filesystem', 'path' = '%(out)s',
  'format' = 'csv');
INSERT INTO out_t SELECT id, %(col)s FROM src;
"""


def test_savepoint_into_other_columns(tmp):
    """Stopped with a savepoint reading (id, a), the job restores into the same query and into
    one reading (id, b) of the same table: the source's uid and position do not depend on the
    columns. Each id comes once, with a's value before the savepoint and b's after (values as
    an unpruned run of the whole table gives them: pruning changes no column's values)."""
    n = 20000
    ref_out = os.path.join(tmp, "ref")
    script = os.path.join(tmp, "ref.sql")
    write(script, OFF + (DG_SQL % {"rate": 10000000, "rows": n}) + """
CREATE TABLE out_t (id BIGINT, a INT, b INT) WITH ('connector' = 'filesystem', 'path' = '%s',
  'format' = 'csv');
INSERT INTO out_t SELECT id, a, b FROM src;
""" % ref_out)
    r = run(["run", "-p", "2", script])
    expect_rc(r, 0)
    ref = {}
    for line in committed_rows(ref_out, header=False):
        i, a, b = line.split(",")
        ref[int(i)] = (a, b)
    expect(sorted(ref) == list(range(1, n + 1)), "the reference ids", n, len(ref), r)
    for col in ("a", "b"):
        out, ck = os.path.join(tmp, "out-" + col), os.path.join(tmp, "ck-" + col)
        script = os.path.join(tmp, "first-%s.sql" % col)
        write(script, SP_SQL % {"rate": 8000, "rows": n, "out": out, "col": "a"})
        s = Started(tmp, "first-" + col, ["run", "-p", "2", "--checkpoint-dir", ck,
                                          "--checkpoint-interval", "100", "--rest-port", "0",
                                          script])
        port = s.rest_port()
        deadline = time.monotonic() + 30
        while not completed_checkpoints(ck):
            expect(time.monotonic() < deadline and s.p.poll() is None, "a checkpoint", "one",
                   "none")
            time.sleep(0.02)
        r = run(["stop", "pd", "--savepoint", os.path.join(tmp, "sp-" + col), "-m",
                 "127.0.0.1:%d" % port])
        expect_rc(r, 0)
        sp = savepoint_path(r, "stop with a savepoint")
        expect_rc(s.wait(), 0)
        script = os.path.join(tmp, "second-%s.sql" % col)
        write(script, SP_SQL % {"rate": 10000000, "rows": n, "out": out, "col": col})
        r = run(["run", "-p", "3", "--from-savepoint", sp, script])
        expect_rc(r, 0)
        got = committed_rows(out, header=False)
        ids = sorted(int(line.split(",")[0]) for line in got)
        expect(ids == list(range(1, n + 1)), "restored into (id, %s): each id once" % col, n,
               len(ids), r)
        kinds = {"a": 0, "b": 0}
        for line in got:
            i, x = line.split(",")
            a, b = ref[int(i)]
            expect(x in (a, b) if col == "b" else x == a,
                   "id %s's value restored into (id, %s)" % (i, col), (a, b), x, r)
            kinds["a" if x == a else "b"] += 1
        expect(kinds["a"] > 0 and (col == "a" or kinds["b"] > 0),
               "values from before and after the savepoint", "both", kinds, r)


# ---- Kafka: metadata columns read only when used ------------------------------------------

def test_kafka_metadata_columns(tmp):
    """A Kafka table with two metadata columns: a query that reads them gets each message's
    partition and offset (computed here from what was produced), one that does not gets them
    pruned (EXPLAIN) and the same values; both equal with push-down off."""
    from rill_e2e import MockKafka
    rng = seeded_rng("pushdown-kafka")
    lines = ["%s,%d" % (rng.choice("pqr"), rng.randrange(0, 100)) for _ in range(2000)]
    parts = [lines[0::2], lines[1::2]]
    want_m = sorted("%s,%s,%d,%d" % (*l.split(","), p, off)
                    for p in (0, 1) for off, l in enumerate(parts[p]))
    want_v = sorted(l for l in lines if int(l.split(",")[1]) > 50)
    m = MockKafka(["ev:2"])
    try:
        m.spread("ev", lines, 2)
        ddl = """
CREATE TABLE ev (k STRING, v BIGINT, part BIGINT METADATA FROM 'partition' VIRTUAL,
  off BIGINT METADATA FROM 'offset' VIRTUAL)
WITH ('connector' = 'kafka', 'topic' = 'ev', 'properties.bootstrap.servers' = '%s',
      'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset',
      'format' = 'csv');
CREATE TABLE om (k STRING, v BIGINT, part BIGINT, off BIGINT) WITH ('connector' = 'filesystem',
  'path' = '%%(out)s-m', 'format' = 'csv');
CREATE TABLE ov (k STRING, v BIGINT) WITH ('connector' = 'filesystem',
  'path' = '%%(out)s-v', 'format' = 'csv');
""" % m.bootstrap
        script = os.path.join(tmp, "k.sql")
        write(script, ddl % {"out": "x"} + "EXPLAIN SELECT k, v FROM ev WHERE v > 50;\n")
        r = run(["run", script])
        expect_rc(r, 0)
        expect_in("project=[k, v]]], fields=[k, v]", r.out, "the metadata columns pruned", r)
        for pushdown in (True, False):
            for par, both in ((1, True), (2, False)):
                out = os.path.join(tmp, "o-%s-%d" % (pushdown, par))
                body = ("INSERT INTO ov SELECT k, v FROM ev WHERE v > 50;\n" if not both else
                        "EXECUTE STATEMENT SET BEGIN\n"
                        "INSERT INTO om SELECT k, v, part, off FROM ev;\n"
                        "INSERT INTO ov SELECT k, v FROM ev WHERE v > 50;\nEND;\n")
                write(script, ("" if pushdown else OFF) + ddl % {"out": out} + body)
                r = run(["run", "-p", str(par), script])
                expect_rc(r, 0)
                what = "push-down %s, p%d" % (pushdown, par)
                got_v = committed_rows(out + "-v", header=False)
                expect(got_v == want_v, "%s: the rows without metadata" % what, len(want_v),
                       len(got_v), r)
                if both:
                    got_m = committed_rows(out + "-m", header=False)
                    expect(got_m == want_m, "%s: the rows with partition and offset" % what,
                           want_m[:3], got_m[:3], r)
    finally:
        m.stop()


if __name__ == "__main__":
    main([test_filesystem_csv_and_json, test_union_branches_of_one_table,
          test_csv_skips_unread_columns,
          test_datagen_options_of_unread_columns_checked,
          test_explain_shows_pruned_fields, test_nexmark_equal_with_and_without,
          test_kill_and_resume, test_savepoint_into_other_columns, test_kafka_metadata_columns,
          test_temporal_join_times_are_read])
