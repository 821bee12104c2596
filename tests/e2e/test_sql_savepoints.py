"""SQL jobs and their state across runs: a window aggregation stopped with a savepoint at one
parallelism and restored at another gives exactly the windows an uninterrupted computation
gives (computed here); operator uids come from the plan, so the same query, and a query changed
where no state lives (a filter before the aggregation), restore; a query whose aggregation
changed so that its state no longer fits (another aggregate, another key or argument
expression) is refused naming the operator, unless --allow-non-restored-state.""" 
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import replay_changelog as replay  # noqa: E402
from rill_e2e import (Result, Started, committed_rows, completed_checkpoints,  # noqa: E402
                      expect, expect_in, expect_rc, main, run, savepoint_path)

ROWS = 30000

SCRIPT = """
SET 'pipeline.name' = 'sqlsp';
CREATE TABLE src (
    id BIGINT,
    ts AS CAST(TO_TIMESTAMP_LTZ(id * 10, 3) AS TIMESTAMP(3)),
    WATERMARK FOR ts AS ts
) WITH ('connector' = 'datagen', 'rows-per-second' = '%(rate)d',
        'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '%(rows)d');
CREATE TABLE out_t (k BIGINT, ws TIMESTAMP(3), n BIGINT, total BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s', 'format' = 'csv');
INSERT INTO out_t
SELECT MOD(id, %(mod)d) AS k, window_start, COUNT(*)%(after)s, %(agg)s(%(arg)s)
FROM TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '1' SECOND))
%(where)s
GROUP BY MOD(id, %(mod)d), window_start, window_end;
"""

GROUP_SCRIPT = """
SET 'pipeline.name' = 'sqlgroup';
CREATE TABLE g (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '%(rate)d',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '%(rows)d');
CREATE TABLE o (k BIGINT, c BIGINT, s BIGINT) WITH ('connector' = 'print');
INSERT INTO o SELECT MOD(id, %(mod)d) AS k, COUNT(*)%(after)s AS c, SUM(%(arg)s) AS s
FROM g %(where)s GROUP BY MOD(id, %(mod)d);
"""


def oracle(agg, keep=lambda i: True):
    """Per key and 1 s window (100 ids each, ts = id * 10 ms): COUNT(*) and SUM or MAX(id)."""
    win = {}
    for i in range(1, ROWS + 1):
        if not keep(i):
            continue
        key = (i % 5, i * 10 // 1000)
        n, v = win.get(key, (0, None))
        win[key] = (n + 1, i if v is None else (v + i if agg == "SUM" else max(v, i)))
    out = []
    import datetime
    for (k, w), (n, v) in win.items():
        t = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=w)
        out.append("%d,%s,%d,%d" % (k, t.strftime("%Y-%m-%d %H:%M:%S"), n, v))
    return sorted(out)


def write(path, text=SCRIPT, **kw):
    args = {"mod": 5, "after": "", "arg": "id", "where": ""}
    args.update(kw)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text % args)


def savepoint_of(tmp, rate=8000, text=SCRIPT, name="sqlsp", mod=5):
    """Runs the query (the SUM one by default) at p2 until a checkpoint, stops it with a
    savepoint: its path and the first run's Result."""
    ck = os.path.join(tmp, "ck")
    script = os.path.join(tmp, "first.sql")
    write(script, text, rate=rate, rows=ROWS, out=os.path.join(tmp, "out"), agg="SUM", mod=mod)
    s = Started(tmp, "first", ["run", "-p", "2", "--checkpoint-dir", ck,
                               "--checkpoint-interval", "100", "--rest-port", "0", script])
    port = s.rest_port()
    deadline = time.monotonic() + 60
    while not completed_checkpoints(ck):
        expect(time.monotonic() < deadline and s.p.poll() is None, "a checkpoint", "one",
               "none")
        time.sleep(0.02)
    r = run(["stop", name, "--savepoint", os.path.join(tmp, "sp"), "-m",
             "127.0.0.1:%d" % port])
    expect_rc(r, 0)
    sp = savepoint_path(r, "stop with a savepoint")
    first = s.wait()
    expect_rc(first, 0)
    return sp, first


def test_savepoint_restores_at_another_parallelism(tmp):
    sp, _ = savepoint_of(tmp)
    script = os.path.join(tmp, "second.sql")
    write(script, rate=1000000, rows=ROWS, out=os.path.join(tmp, "out"), agg="SUM", where="")
    r = run(["run", "-p", "3", "--from-savepoint", sp, script])
    expect_rc(r, 0)
    got = committed_rows(os.path.join(tmp, "out"), header=False)
    want = oracle("SUM")
    expect(got == want, "the windows after a savepoint at p2 restored at p3",
           "%d rows, e.g. %s" % (len(want), sorted(set(want) - set(got))[:3]),
           "%d rows, e.g. %s" % (len(got), sorted(set(got) - set(want))[:3]), r)


def test_changed_query_keeps_or_refuses_state(tmp):
    sp, _ = savepoint_of(tmp)
    # the expression of a key or of an aggregate's argument changed: the state is another's
    for what, kw in (("a key's expression", {"mod": 4}), ("an argument's", {"arg": "id + 1"})):
        script = os.path.join(tmp, "key.sql")
        write(script, rate=1000000, rows=ROWS, out=os.path.join(tmp, "out4"), agg="SUM", **kw)
        r = run(["run", "-p", "1", "--from-savepoint", sp, script])
        expect_rc(r, 1)
        expect_in("the state of operator 'insert-out_t/WindowAggregate-0' in the checkpoint or "
                  "savepoint does not fit the query any more", r.err, "%s changed" % what, r)
    # a filter before the aggregation and an expression after it: its state still fits (the
    # same uids), and the result is the uninterrupted one
    out = os.path.join(tmp, "out")
    script = os.path.join(tmp, "filtered.sql")
    write(script, rate=1000000, rows=ROWS, out=out, agg="SUM", where="WHERE id > 0",
          after=" * 1")
    r = run(["run", "-p", "1", "--from-savepoint", sp, script])
    expect_rc(r, 0)
    got = committed_rows(out, header=False)
    expect(got == oracle("SUM"), "a filter before the aggregation keeps its state",
           len(oracle("SUM")), len(got), r)
    # another sink directory: the sink's pending files belong to the old one: refused
    script = os.path.join(tmp, "moved.sql")
    write(script, rate=1000000, rows=ROWS, out=os.path.join(tmp, "elsewhere"), agg="SUM",
          where="")
    r = run(["run", "-p", "1", "--from-savepoint", sp, script])
    expect_rc(r, 1)
    expect_in("the state of operator 'insert-out_t/sink:out_t-1'", r.err, "the refusal", r)
    # MAX instead of SUM: the aggregation's state means something else: refused, named
    script = os.path.join(tmp, "changed.sql")
    write(script, rate=1000000, rows=ROWS, out=os.path.join(tmp, "out3"), agg="MAX", where="")
    r = run(["run", "-p", "2", "--from-savepoint", sp, script])
    expect_rc(r, 1)
    expect_in("the state of operator 'insert-out_t/WindowAggregate-0' in the checkpoint or "
              "savepoint does not fit the query any more", r.err, "the refusal", r)
    r = run(["run", "-p", "2", "--from-savepoint", sp, "--allow-non-restored-state", script])
    expect_rc(r, 0)


def test_group_by_expression_change(tmp):
    """An unbounded GROUP BY MOD(id, 3) stopped with a savepoint: restored into GROUP BY
    MOD(id, 4) (or another argument) it is refused naming the operator, as its groups mean
    other things; with a filter before it and an expression after it, its groups go on: the
    last row of each key, over both runs, is the count and sum of all its ids."""
    sp, first = savepoint_of(tmp, rate=3000, text=GROUP_SCRIPT, name="sqlgroup", mod=3)
    script = os.path.join(tmp, "second.sql")
    for kw in ({"mod": 4}, {"mod": 3, "arg": "id * 2"}):
        write(script, GROUP_SCRIPT, rate=1000000, rows=ROWS, **kw)
        r = run(["run", "-p", "1", "--from-savepoint", sp, script])
        expect_rc(r, 1)
        expect_in("the state of operator 'insert-o/GroupAggregate-0' in the checkpoint or "
                  "savepoint does not fit the query any more", r.err, "the refusal", r)
        expect(r.out == "", "nothing printed", "", r.out[:300], r)
    write(script, GROUP_SCRIPT, rate=1000000, rows=ROWS, mod=3, where="WHERE id > 0",
          after=" + 0")
    r = run(["run", "-p", "2", "--from-savepoint", sp, script])
    expect_rc(r, 0)
    both = Result(r.args, 0, first.out + r.out, r.err, 0)
    got = replay(both, "the changelog over both runs")
    want = {}
    for i in range(1, ROWS + 1):
        c, t = want.get(i % 3, (0, 0))
        want[i % 3] = (c + 1, t + i)
    want = {str(k): "%d, %d" % v for k, v in want.items()}
    expect(got == want, "each key's last row over both runs", want, got, r)


RANK_SCRIPT = """
SET 'pipeline.name' = 'sqlrank';
CREATE TABLE g (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '%(rate)d',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '%(rows)d');
CREATE TABLE o (k BIGINT, id BIGINT, rn BIGINT) WITH ('connector' = 'print');
INSERT INTO o SELECT k, id, rn FROM (
  SELECT k, id, ROW_NUMBER() OVER (PARTITION BY k ORDER BY id DESC) AS rn
  FROM (SELECT MOD(id, %(mod)d) AS k, id%(after)s AS id FROM g %(where)s)) WHERE rn <= 1;
"""


def test_top_n_partition_expression_change(tmp):
    """A Top-N partitioned by a column a subquery computes as MOD(id, 3): restored with
    MOD(id, 4) it is refused naming the operator; with a filter before it, it goes on: the last
    row of each key over both runs is its largest id."""
    sp, first = savepoint_of(tmp, rate=3000, text=RANK_SCRIPT, name="sqlrank", mod=3)
    script = os.path.join(tmp, "second.sql")
    write(script, RANK_SCRIPT, rate=1000000, rows=ROWS, mod=4)
    r = run(["run", "-p", "1", "--from-savepoint", sp, script])
    expect_rc(r, 1)
    expect_in("the state of operator 'insert-o/Rank-0' in the checkpoint or savepoint does not "
              "fit the query any more", r.err, "the refusal", r)
    write(script, RANK_SCRIPT, rate=1000000, rows=ROWS, mod=3, where="WHERE id > 0")
    r = run(["run", "-p", "2", "--from-savepoint", sp, script])
    expect_rc(r, 0)
    got = replay(Result(r.args, 0, first.out + r.out, r.err, 0), "the Top-1 over both runs")
    want = {str(k): "%d, 1" % max(i for i in range(1, ROWS + 1) if i % 3 == k)
            for k in range(3)}
    expect(got == want, "each key's top row over both runs", want, got, r)


if __name__ == "__main__":
    main([test_savepoint_restores_at_another_parallelism,
          test_changed_query_keeps_or_refuses_state, test_group_by_expression_change,
          test_top_n_partition_expression_change])
