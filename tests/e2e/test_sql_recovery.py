#!/usr/bin/env python3
"""SQL operators through kill -9 and --resume at random parallelisms (1..3), and through a
savepoint restored at another parallelism, with heap and rocksdb state: random input written
as CSV and read by the filesystem connector (bounded), checkpoints every 100 ms, the job killed
with SIGKILL at random moments (the first time after a checkpoint completed, later ones after
the resumed run completed one more) until it ends by itself. The committed output equals the
result computed here in Python and the uninterrupted run's:

- unbounded GROUP BY with COUNT(DISTINCT), SUM(DISTINCT), MIN/MAX of strings, MIN/MAX over an
  updating input (map state with counts), and a GROUP BY of a GROUP BY whose groups empty
  (tombstones), into exactly-once upsert-kafka tables, read back with kcat and compacted by
  key (the last value of a key; a tombstone deletes it);
- LIMIT / OFFSET (one counter under one key) into the exactly-once file sink: exactly the
  rows after the offset, in the file's order (one file, one split), none twice;
- window TVF rows without an aggregation (TUMBLE, HOP, CUMULATE: a row per window it is in,
  late rows included) into the exactly-once file sink.

Each test's seed comes from RILL_E2E_SEED (printed) so a failure replays. The runs use small
batch sizes and in slow motion (stopped with SIGSTOP for most of the time) so that a
few ten thousand rows take long enough to be killed mid-way.
"""
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import (MockKafka, Result, Started, committed_rows,  # noqa: E402
                      completed_checkpoints, expect, expect_rc, job_so, main, rill_cmd,
                      run, savepoint_path, seeded_rng)
from test_sql import fmt_ts  # noqa: E402

BACKENDS = ("heap", "rocksdb")


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def slow_motion(p, cond, run_s=0.01, pause_s=0.03, timeout=240):
    """Lets process p (a Started) run in slices of run_s, each followed by a pause of pause_s
    in which it is stopped (SIGSTOP), until cond() holds in a pause (returns True, p stopped)
    or p ended (returns False). A bounded input read at full speed would end before a
    checkpoint or two completed; in slow motion the checkpoints (every 100 ms of wall time) come
    several times as often per row, and a kill can wait for one without racing the end."""
    deadline = time.monotonic() + timeout
    while True:
        if p.p.poll() is not None:
            return False
        os.kill(p.p.pid, signal.SIGCONT)
        time.sleep(run_s)
        if p.p.poll() is not None:
            return False
        os.kill(p.p.pid, signal.SIGSTOP)
        if cond():
            return True
        if time.monotonic() > deadline:
            r = p.kill9()
            expect(False, "the condition within %d s" % timeout, "met", "not met", r)
        time.sleep(pause_s)


def last_checkpoint(ck):
    done = completed_checkpoints(ck)
    return done[-1] if done else 0


def kill_and_resume(tmp, rng, tag, script, backend, first_par, max_kills=4):
    """Runs script with --resume into checkpoint directory tmp/ck-TAG in slow motion, killed
    with SIGKILL once a checkpoint completed (and a random number of slices later; a resumed
    run now and then a few slices after its start, whether or not it completed one) and resumed
    at a random parallelism, until it ends by itself (at most max_kills kills); returns (the
    last Result, the number of kills)."""
    ck = os.path.join(tmp, "ck-" + tag)
    kills = 0
    k = 0
    incremental = rng.random() < 0.5  # rocksdb: the same for every run of the chain
    while True:
        par = first_par if k == 0 else rng.randint(1, 3)
        args = ["run", "--state-backend", backend, "-p", str(par), "--batch-size",
                str(rng.choice((1, 2, 5))), "--checkpoint-dir", ck, "--checkpoint-interval",
                "100", "--resume", script]
        if backend == "rocksdb" and incremental:
            args.insert(1, "--incremental-checkpoints")
        p = Started(tmp, "%s-%d" % (tag, k), args)
        k += 1
        if kills >= max_kills:
            r = p.wait()
            expect_rc(r, 0)
            print("  %s%s: %d kills" % (
                tag, " (incremental)" if incremental and backend == "rocksdb" else "", kills),
                  flush=True)
            return r, kills
        before, more = last_checkpoint(ck), rng.randrange(0, 4)
        early = k > 1 and rng.random() < 0.3  # now and then mid-restore, before a checkpoint
        ticks = []

        def due():
            if early or last_checkpoint(ck) > before:
                ticks.append(1)
            return len(ticks) > more
        slow_motion(p, due)
        r = p.kill9()
        if r.rc == 0:
            print("  %s%s: %d kills, then it ended by itself" % (
                tag, " (incremental)" if incremental and backend == "rocksdb" else "", kills),
                  flush=True)
            return r, kills
        expect(r.rc == -9, "%s run %d ended by the kill or by itself" % (tag, k), "0 or -9",
               r.rc, r)
        kills += 1


def savepoint_and_restore(tmp, rng, tag, script, name, backend):
    """Runs script at parallelism 2 in slow motion, stops it with a savepoint after one to four
    checkpoints completed, and runs it to its end from the savepoint at parallelism 1 or 3
    with this backend or the other (a savepoint's format is the same for both). Returns the
    last Result."""
    ck = os.path.join(tmp, "ck-" + tag)
    s = Started(tmp, tag + "-first", ["run", "--state-backend", backend, "-p", "2",
                                      "--batch-size", "1", "--checkpoint-dir", ck,
                                      "--checkpoint-interval", "100", "--rest-port", "0",
                                      script])
    port = s.rest_port()
    at = rng.randint(1, 4)
    expect(slow_motion(s, lambda: last_checkpoint(ck) >= at), "%s: the job still runs after "
           "checkpoint %d" % (tag, at), "running", "ended", s.result())
    stop = subprocess.Popen(rill_cmd(["stop", name, "--savepoint", os.path.join(tmp, "sp-" + tag),
                                      "-m", "127.0.0.1:%d" % port]),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    slow_motion(s, lambda: False)  # until the job ends, stopped by the savepoint
    out, err = stop.communicate(timeout=60)
    r = Result(stop.args, stop.returncode, out, err, 0)
    expect_rc(r, 0)
    sp = savepoint_path(r, "%s: stop with a savepoint" % tag)
    expect_rc(s.wait(), 0)
    other = BACKENDS[1 - BACKENDS.index(backend)]
    r = run(["run", "--state-backend", rng.choice((backend, other)), "-p",
             str(rng.choice((1, 3))), "--checkpoint-dir", ck, "--checkpoint-interval", "100",
             "--from-savepoint", sp, script])
    expect_rc(r, 0)
    return r


# ---- GROUP BY into upsert-kafka ------------------------------------------------------------

WORDS = ["apple", "ab", "b", "ba", "zeta", "\u00e9t\u00e9", "a", "\u4e2d", "Zz"]


def group_rows(rng, n):
    rows = []
    for _ in range(n):
        k = "k%d" % rng.randrange(30)
        k2 = rng.randrange(6)
        v = None if rng.random() < 0.1 else rng.randrange(-15, 15)
        s = None if rng.random() < 0.1 else rng.choice(WORDS)
        rows.append((k, k2, v, s))
    return rows


def nul(x):
    return "" if x is None else str(x)


def group_oracle(rows):
    """{query: {message key: message value}}: the final tables of the three queries."""
    def agg(vals, f):
        vals = [x for x in vals if x is not None]
        return f(vals) if vals else None

    by_k = {}
    for r in rows:
        by_k.setdefault(r[0], []).append(r)
    q1 = {}
    for k, g in by_k.items():
        dv = {v for _, _, v, _ in g if v is not None}
        q1[k] = ",".join(nul(x) for x in (k, len(dv), agg(dv, sum), agg([r[3] for r in g], min),
                                          agg([r[3] for r in g], max)))
    inner = {}
    for k, k2, v, s in rows:
        c, m = inner.get((k, k2), (0, None))
        inner[(k, k2)] = (c + 1, s if m is None or (s is not None and s > m) else m)
    q2 = {}
    for k2 in {k2 for _, k2 in inner}:
        cs = [c for (_, b), (c, _) in inner.items() if b == k2]
        ms = [m for (_, b), (_, m) in inner.items() if b == k2]
        q2[str(k2)] = ",".join(nul(x) for x in (k2, max(cs), min(cs), agg(ms, min),
                                                 agg(ms, max)))
    counts = {}
    for k in by_k:
        counts[len(by_k[k])] = counts.get(len(by_k[k]), 0) + 1
    q3 = {str(c): "%d,%d" % (c, n) for c, n in counts.items()}
    return {"q1": q1, "q2": q2, "q3": q3}


GROUP_SQL = """
SET 'pipeline.name' = '%(name)s';
CREATE TABLE t (k STRING, k2 INT, v BIGINT, s STRING) WITH ('connector' = 'filesystem',
  'path' = '%(inp)s', 'format' = 'csv');
CREATE TABLE q1 (k STRING, nd BIGINT, sd BIGINT, lo STRING, hi STRING,
  PRIMARY KEY (k) NOT ENFORCED) %(with_q1)s;
CREATE TABLE q2 (k2 INT, cmax BIGINT, cmin BIGINT, mlo STRING, mhi STRING,
  PRIMARY KEY (k2) NOT ENFORCED) %(with_q2)s;
CREATE TABLE q3 (c BIGINT, keys BIGINT, PRIMARY KEY (c) NOT ENFORCED) %(with_q3)s;
EXECUTE STATEMENT SET BEGIN
INSERT INTO q1 SELECT k, COUNT(DISTINCT v), SUM(DISTINCT v), MIN(s), MAX(s) FROM t GROUP BY k;
INSERT INTO q2 SELECT k2, MAX(c), MIN(c), MIN(m), MAX(m)
  FROM (SELECT k, k2, COUNT(*) AS c, MAX(s) AS m FROM t GROUP BY k, k2) GROUP BY k2;
INSERT INTO q3 SELECT c, COUNT(*) FROM (SELECT k, COUNT(*) AS c FROM t GROUP BY k) GROUP BY c;
END;
"""


def group_script(tmp, m, tag, inp):
    """A script whose three sinks are the upsert-kafka topics TAG-q1..q3 (exactly-once)."""
    kw = {"name": tag, "inp": inp}
    for q in ("q1", "q2", "q3"):
        topic = "%s-%s" % (tag, q)
        m.command("topic %s 2" % topic)
        kw["with_" + q] = (
            "WITH ('connector' = 'upsert-kafka', 'topic' = '%s', 'properties.bootstrap.servers'"
            " = '%s', 'key.format' = 'csv', 'value.format' = 'csv', 'sink.delivery-guarantee' ="
            " 'exactly-once', 'sink.transactional-id-prefix' = 'tx-%s')" % (topic, m.bootstrap,
                                                                           topic))
    path = os.path.join(tmp, tag + ".sql")
    write(path, GROUP_SQL % kw)
    return path


def compacted(m, topic):
    """The topic compacted by key: the last value of each key, a tombstone deleting it."""
    table = {}
    for line in m.consume(topic, fmt="%k\t%S\t%s\n"):
        key, size, value = line.split("\t", 2)
        if size == "-1":
            table.pop(key, None)
        else:
            table[key] = value
    return table


def compare_tables(want, got, what, r=None):
    if got != want:
        diff = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
        expect(False, what, "%d keys, e.g. %s" % (len(want), [(k, want.get(k)) for k in diff[:4]]),
               "%d keys, e.g. %s" % (len(got), [(k, got.get(k)) for k in diff[:4]]), r)


def test_group_by_upsert_kafka_kill_and_resume(tmp):
    """GROUP BY with DISTINCT aggregates, MIN/MAX of strings, MIN/MAX over an updating input and
    a GROUP BY of a GROUP BY (tombstones) into exactly-once upsert-kafka tables, killed and
    resumed, with heap and rocksdb state: each topic, compacted by key, equals Python's final
    table and the uninterrupted run's."""
    rng = seeded_rng("sql-recovery-group")
    rows = group_rows(rng, 6000)
    inp = os.path.join(tmp, "g.csv")
    write(inp, "".join("%s,%d,%s,%s\n" % (k, k2, nul(v), nul(s)) for k, k2, v, s in rows))
    want = group_oracle(rows)
    m = MockKafka()
    try:
        ref = group_script(tmp, m, "ref", inp)
        r = run(["run", "-p", str(rng.randint(1, 3)), "--checkpoint-dir",
                 os.path.join(tmp, "ck-ref"), "--checkpoint-interval", "100", ref])
        expect_rc(r, 0)
        uninterrupted = {q: compacted(m, "ref-" + q) for q in want}
        for q in want:
            compare_tables(want[q], uninterrupted[q], "%s: the uninterrupted run" % q, r)
        for backend in BACKENDS:
            tag = "kill-" + backend
            script = group_script(tmp, m, tag, inp)
            r, kills = kill_and_resume(tmp, rng, tag, script, backend, rng.randint(1, 3))
            expect(kills >= 1, "%s: the job was killed" % tag, ">= 1 kill", kills, r)
            for q in want:
                got = compacted(m, "%s-%s" % (tag, q))
                what = "%s %s after %d kills" % (backend, q, kills)
                compare_tables(want[q], got, what + ": Python's table", r)
                compare_tables(uninterrupted[q], got, what + ": the uninterrupted run's", r)
    finally:
        m.stop()


def test_group_by_savepoint_rescaled(tmp):
    """The GROUP BY job stopped with a savepoint at parallelism 2 and restored at 1 or 3 (heap
    and rocksdb): each topic, compacted by key, equals Python's final table."""
    rng = seeded_rng("sql-recovery-group-sp")
    rows = group_rows(rng, 15000)
    inp = os.path.join(tmp, "g.csv")
    write(inp, "".join("%s,%d,%s,%s\n" % (k, k2, nul(v), nul(s)) for k, k2, v, s in rows))
    want = group_oracle(rows)
    m = MockKafka()
    try:
        for backend in BACKENDS:
            tag = "sp-" + backend
            script = group_script(tmp, m, tag, inp)
            r = savepoint_and_restore(tmp, rng, tag, script, tag, backend)
            for q in want:
                compare_tables(want[q], compacted(m, "%s-%s" % (tag, q)),
                               "%s %s after a savepoint rescaled" % (backend, q), r)
    finally:
        m.stop()


# ---- LIMIT / OFFSET --------------------------------------------------------------------------

LIMIT_SQL = """
SET 'pipeline.name' = '%(name)s';
CREATE TABLE t (i BIGINT, v INT) WITH ('connector' = 'filesystem', 'path' = '%(inp)s',
  'format' = 'csv');
CREATE TABLE a (i BIGINT, v INT) WITH ('connector' = 'filesystem', 'path' = '%(out)s-a',
  'format' = 'csv');
CREATE TABLE b (i BIGINT, v INT) WITH ('connector' = 'filesystem', 'path' = '%(out)s-b',
  'format' = 'csv');
-- 1 ms of sleep every 20 rows: the job lasts over a second whatever the machine's load, so a
-- checkpoint (every 100 ms) always completes before it ends and the kill has one to wait for
CREATE TEMPORARY FUNCTION slow AS 'slow' LANGUAGE C USING JAR '%(slow_so)s';
CREATE VIEW s AS SELECT * FROM t WHERE slow(i, 20) >= 0;
EXECUTE STATEMENT SET BEGIN
INSERT INTO a SELECT i, v FROM s LIMIT %(limit_a)d OFFSET %(offset_a)d;
INSERT INTO b SELECT i, v FROM s WHERE v > 0 LIMIT %(limit_b)d;
END;
"""


def limit_case(tmp, rng, n):
    rows = [(i, rng.randrange(-100, 100)) for i in range(n)]
    inp = os.path.join(tmp, "l.csv")
    write(inp, "".join("%d,%d\n" % r for r in rows))
    kw = {"inp": inp, "slow_so": job_so("sql_slow_udf"),
          "offset_a": rng.randrange(n // 10, n // 3),
          "limit_a": rng.randrange(n // 4, n // 2), "limit_b": rng.randrange(n // 8, n // 3)}
    want_a = rows[kw["offset_a"]:kw["offset_a"] + kw["limit_a"]]
    want_b = [r for r in rows if r[1] > 0][:kw["limit_b"]]
    print("  LIMIT %(limit_a)d OFFSET %(offset_a)d; LIMIT %(limit_b)d" % kw, flush=True)

    def script(tag):
        path = os.path.join(tmp, tag + ".sql")
        write(path, LIMIT_SQL % dict(kw, name=tag, out=os.path.join(tmp, tag)))
        return path
    return script, want_a, want_b


def check_limit(tmp, tag, want_a, want_b, what, r):
    for side, want in (("a", want_a), ("b", want_b)):
        got = committed_rows(os.path.join(tmp, "%s-%s" % (tag, side)), header=False)
        w = sorted("%d,%d" % x for x in want)
        if got != w:
            expect(False, "%s: LIMIT %s's committed rows (the first ones after the offset, each "
                   "once)" % (what, side),
                   "%d rows, e.g. missing %s" % (len(w), sorted(set(w) - set(got))[:3]),
                   "%d rows (%d distinct), e.g. unexpected %s" % (
                       len(got), len(set(got)), sorted(set(got) - set(w))[:3]), r)


def test_limit_kill_and_resume(tmp):
    """LIMIT / OFFSET over one file (one split: its order) into the exactly-once file sink,
    killed and resumed with heap and rocksdb state: exactly the rows after the offset, none
    twice, as the uninterrupted run's."""
    rng = seeded_rng("sql-recovery-limit")
    script, want_a, want_b = limit_case(tmp, rng, 30000)
    r = run(["run", "-p", str(rng.randint(1, 3)), script("ref")])
    expect_rc(r, 0)
    check_limit(tmp, "ref", want_a, want_b, "the uninterrupted run", r)
    for backend in BACKENDS:
        tag = "kill-" + backend
        r, kills = kill_and_resume(tmp, rng, tag, script(tag), backend, rng.randint(1, 3))
        expect(kills >= 1, "%s: the job was killed" % tag, ">= 1 kill", kills, r)
        check_limit(tmp, tag, want_a, want_b, "%s after %d kills" % (backend, kills), r)


def test_limit_savepoint_rescaled(tmp):
    """LIMIT / OFFSET stopped with a savepoint at parallelism 2 and restored at 1 or 3: the
    same rows, none twice."""
    rng = seeded_rng("sql-recovery-limit-sp")
    script, want_a, want_b = limit_case(tmp, rng, 40000)
    for backend in BACKENDS:
        tag = "sp-" + backend
        r = savepoint_and_restore(tmp, rng, tag, script(tag), tag, backend)
        check_limit(tmp, tag, want_a, want_b, "%s after a savepoint rescaled" % backend, r)


# ---- window TVF rows -------------------------------------------------------------------------

TVF_SQL = """
CREATE TABLE t_raw (ts TIMESTAMP(3), i BIGINT, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '%(inp)s', 'format' = 'csv');
-- slowed down as LIMIT_SQL's input, for the same reason
CREATE TEMPORARY FUNCTION slow AS 'slow' LANGUAGE C USING JAR '%(slow_so)s';
CREATE VIEW t AS SELECT * FROM t_raw WHERE slow(i, 20) >= 0;
CREATE TABLE o_t (i BIGINT, ws TIMESTAMP(3), we TIMESTAMP(3)) WITH ('connector' = 'filesystem',
  'path' = '%(out)s-tumble', 'format' = 'csv');
CREATE TABLE o_h (i BIGINT, ws TIMESTAMP(3), we TIMESTAMP(3)) WITH ('connector' = 'filesystem',
  'path' = '%(out)s-hop', 'format' = 'csv');
CREATE TABLE o_c (i BIGINT, ws TIMESTAMP(3), we TIMESTAMP(3)) WITH ('connector' = 'filesystem',
  'path' = '%(out)s-cumulate', 'format' = 'csv');
EXECUTE STATEMENT SET BEGIN
INSERT INTO o_t SELECT i, window_start, window_end
  FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '3' SECOND, INTERVAL '1' SECOND));
INSERT INTO o_h SELECT i, window_start, window_end
  FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '6' SECOND));
INSERT INTO o_c SELECT i, window_start, window_end
  FROM TABLE(CUMULATE(TABLE t, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '6' SECOND));
END;
"""


def sink_ts(ms):
    """A TIMESTAMP(3) of whole seconds (window bounds here) as the file sink's CSV writes it."""
    assert ms % 1000 == 0
    return fmt_ts(ms)[0][:-4]


def test_window_tvf_rows_kill_and_resume(tmp):
    """TUMBLE, HOP and CUMULATE window TVFs without an aggregation (a row per window it is in,
    late rows too) over out-of-order input with late rows, into the exactly-once file sink,
    killed and resumed: each row once per window, as computed here and by the uninterrupted
    run."""
    rng = seeded_rng("sql-recovery-tvf")
    t0, rows, t = 1700000000000, [], 1700000000000
    for i in range(12000):
        t += rng.randrange(0, 20)
        late = rng.random() < 0.05
        rows.append((i, t - (rng.randrange(1000, 8000) if late else rng.randrange(0, 900))))
    # three files: three splits, each with its own watermark, spread over the readers (a
    # restore at another parallelism starts from the lowest of the old readers' watermarks)
    inp = os.path.join(tmp, "w")
    os.mkdir(inp)
    files = [[] for _ in range(3)]
    for i, ms in rows:
        files[rng.randrange(3)].append("%s,%d\n" % (fmt_ts(ms)[0], i))
    for n, lines in enumerate(files):
        write(os.path.join(inp, "part-%d.csv" % n), "".join(lines))
    windows = {
        "tumble": lambda ms: [(ms - (ms - 1000) % 3000, ms - (ms - 1000) % 3000 + 3000)],
        "hop": lambda ms: [(st, st + 6000) for st in range(ms - ms % 2000, ms - 6000, -2000)],
        "cumulate": lambda ms: [(ms - ms % 6000, ms - ms % 6000 + k * 2000) for k in (1, 2, 3)
                                if ms - ms % 6000 + k * 2000 > ms],
    }
    want = {kind: sorted("%d,%s,%s" % (i, sink_ts(st), sink_ts(en)) for i, ms in rows
                         for st, en in f(ms)) for kind, f in windows.items()}
    del t0

    def script(tag):
        path = os.path.join(tmp, tag + ".sql")
        write(path, TVF_SQL % {"inp": inp, "out": os.path.join(tmp, tag),
                                "slow_so": job_so("sql_slow_udf")})
        return path
    r = run(["run", "-p", str(rng.randint(1, 3)), script("ref")])
    expect_rc(r, 0)
    ref = {kind: committed_rows(os.path.join(tmp, "ref-" + kind), header=False)
           for kind in windows}
    backend = rng.choice(BACKENDS)  # no keyed state: one backend is enough
    r, kills = kill_and_resume(tmp, rng, "kill", script("kill"), backend, rng.randint(1, 3))
    expect(kills >= 1, "the job was killed", ">= 1 kill", kills, r)
    for kind in windows:
        got = committed_rows(os.path.join(tmp, "kill-" + kind), header=False)
        for what, w in (("Python's", want[kind]), ("the uninterrupted run's", ref[kind])):
            if got != w:
                expect(False, "%s rows after %d kills equal %s" % (kind, kills, what),
                       "%d rows, e.g. missing %s" % (len(w), sorted(set(w) - set(got))[:3]),
                       "%d rows, e.g. unexpected %s" % (len(got), sorted(set(got) - set(w))[:3]),
                       r)


if __name__ == "__main__":
    main([test_group_by_upsert_kafka_kill_and_resume, test_group_by_savepoint_rescaled,
          test_limit_kill_and_resume, test_limit_savepoint_rescaled,
          test_window_tvf_rows_kill_and_resume], need_jobs=True)
