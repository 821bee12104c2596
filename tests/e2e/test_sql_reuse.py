"""Shared sub-plans (Flink's table.optimizer.reuse-sub-plan-enabled): a view that several
INSERTs of one job read is computed once, its rows fanned out to each reader.

- a GROUP BY view and a window TVF aggregation view, each read by two INSERTs (other columns,
  a filter above one), over out-of-order input with late rows, at parallelism 1 and 3 with
  checkpoints on and off: the job has one GroupAggregate and one WindowAggregate (two of each
  with the option off), and every sink's rows equal those computed here, with it on and off;
- a LIMIT view with a random column over three parallel generators read by two INSERTs: both
  get the same rows and the same random numbers (computed twice, they would differ);
- kill -9 and --resume of a shared window aggregation feeding two exactly-once file sinks at
  random parallelisms: every window once in each, as computed here;
- the option's bad value is an error naming it.
"""
import os
import re
import sys
from collections import defaultdict

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import (committed_rows, expect, expect_in, expect_rc,  # noqa: E402
                      kill_and_resume, main, replay_changelog, run, seeded_rng, ts_ms, ts_text)

OFF = "SET 'table.optimizer.reuse-sub-plan-enabled' = 'false';\n"
T0 = 1714564800000  # 2024-05-01 12:00:00 UTC, in ms
KEYS = ["a", "b", "c", "d", "e"]


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def window_rows(d):
    """A file sink's committed rows, each (key, window start in ms, the rest as ints)."""
    out = []
    for line in committed_rows(d, header=False):
        f = line.split(",")
        out.append(tuple([f[0], ts_ms(f[1])] + [int(x) for x in f[2:]]))
    return sorted(out)


def operators(r, what):
    """The number of operators named `what` in the plan `rill run -v` logs (its task lines)."""
    tasks = "\n".join(line for line in r.err.splitlines() if line.startswith("  task "))
    return len(re.findall(r"/%s-\d+#" % what, tasks))


class Printed:
    """The lines one print table (its identifier) wrote, as replay_changelog reads them."""

    def __init__(self, r, ident):
        self.args, self.rc, self.err = r.args, r.rc, r.err
        lines = []
        for line in r.out.splitlines():
            m = re.match(r"^%s(?::\d+)?> (.*)$" % re.escape(ident), line)
            if m:
                lines.append(m.group(1))
        self.out = "\n".join(lines) + "\n"

    def describe(self):
        return "rill %s: rc %s\n%s" % (" ".join(self.args), self.rc, self.err[-3000:])


# ---- a GROUP BY view and a window view, each read twice --------------------------------------

SHARED_SQL = """
SET 'batch-size' = '128';
CREATE TABLE t (id BIGINT, k STRING, v INT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'filesystem', 'path' = '%(inp)s', 'format' = 'csv');
CREATE VIEW per_k AS SELECT k, COUNT(*) AS c, SUM(v) AS s, MAX(v) AS mx FROM t GROUP BY k;
CREATE VIEW win AS
  SELECT k, window_start AS ws, COUNT(*) AS n, SUM(v) AS total
  FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND))
  GROUP BY k, window_start, window_end;
CREATE TABLE pa (k STRING, c BIGINT, s BIGINT, PRIMARY KEY (k) NOT ENFORCED)
  WITH ('connector' = 'print', 'print-identifier' = 'pa');
CREATE TABLE pb (k STRING, mx INT, PRIMARY KEY (k) NOT ENFORCED)
  WITH ('connector' = 'print', 'print-identifier' = 'pb');
CREATE TABLE w1 (k STRING, ws TIMESTAMP(3), n BIGINT, total BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s-w1', 'format' = 'csv');
CREATE TABLE w2 (k STRING, ws TIMESTAMP(3), n BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s-w2', 'format' = 'csv');
EXECUTE STATEMENT SET BEGIN
INSERT INTO pa SELECT k, c, s FROM per_k;
INSERT INTO pb SELECT k, mx FROM per_k WHERE c > 10;
INSERT INTO w1 SELECT * FROM win;
INSERT INTO w2 SELECT k, ws, n FROM win WHERE n >= 3;
END;
"""


def shared_input(rng, n=6000):
    """Rows out of order by less than the watermark's 1 s, and every 150th row (after the first
    2,000) 6 s or more behind the largest time of the rows 1,500 before it: late whatever the
    batches are. Returns the rows (id, k, v, ts ms) and the late rows' ids."""
    rows, late, t, best = [], set(), T0, []
    for i in range(n):
        t += rng.randrange(0, 20)
        ts = t - rng.randrange(0, 900)
        if i > 2000 and i % 150 == 0:
            ts = best[i - 1500] - 6000 - rng.randrange(0, 3000)
            late.add(i)
        best.append(max(best[-1] if best else ts, ts))
        rows.append((i, rng.choice(KEYS), rng.randint(-50, 100), ts))
    return rows, late


def shared_oracle(rows, late):
    per_k = {}
    for _, k, v, _ in rows:
        c, s, mx = per_k.get(k, (0, 0, None))
        per_k[k] = (c + 1, s + v, v if mx is None else max(mx, v))
    pa = {k: "%d, %d" % (c, s) for k, (c, s, _) in per_k.items()}
    pb = {k: "%d" % mx for k, (c, _, mx) in per_k.items() if c > 10}
    win = defaultdict(lambda: [0, 0])
    for i, k, v, ts in rows:
        if i in late:
            continue
        w = win[(k, ts - ts % 1000)]
        w[0] += 1
        w[1] += v
    w1 = sorted((k, ws, n, s) for (k, ws), (n, s) in win.items())
    w2 = sorted((k, ws, n) for (k, ws), (n, _) in win.items() if n >= 3)
    return pa, pb, w1, w2


def test_shared_views(tmp):
    rng = seeded_rng("sql-reuse-shared")
    rows, late = shared_input(rng)
    pa, pb, w1, w2 = shared_oracle(rows, late)
    expect(len(late) > 20 and len(w2) > 50, "late rows and windows in the input", "some",
           (len(late), len(w2)))
    inp = os.path.join(tmp, "in.csv")
    write(inp, "".join("%d,%s,%d,%s\n" % (i, k, v, ts_text(ts)) for i, k, v, ts in rows))
    for n, (reuse, par, ckpt) in enumerate([(True, 1, False), (True, 3, True), (False, 3, False),
                                            (True, 2, False), (False, 1, True)]):
        out = os.path.join(tmp, "out%d" % n)
        script = os.path.join(tmp, "shared%d.sql" % n)
        write(script, ("" if reuse else OFF) + SHARED_SQL % {"inp": inp, "out": out})
        args = ["run", "-v", "-p", str(par)]
        if ckpt:
            args += ["--checkpoint-dir", os.path.join(tmp, "ck%d" % n),
                     "--checkpoint-interval", "20"]
        r = run(args + [script])
        expect_rc(r, 0)
        what = "reuse %s, p%d, checkpoints %s" % ("on" if reuse else "off", par,
                                                   "on" if ckpt else "off")
        copies = 1 if reuse else 2
        expect(operators(r, "GroupAggregate") == copies,
               "%s: GroupAggregates in the plan" % what, copies, operators(r, "GroupAggregate"),
               r)
        expect(operators(r, "WindowAggregate") == copies,
               "%s: WindowAggregates in the plan" % what, copies,
               operators(r, "WindowAggregate"), r)
        for ident, want in (("pa", pa), ("pb", pb)):
            got = replay_changelog(Printed(r, ident), "%s: %s" % (what, ident))
            expect(got == want, "%s: %s's final table" % (what, ident), want, got, r)
        for name, want in (("w1", w1), ("w2", w2)):
            got = window_rows(out + "-" + name)
            expect(got == want, "%s: %s's windows (late rows dropped)" % (what, name),
                   "%d, e.g. %s" % (len(want), sorted(set(want) - set(got))[:3]),
                   "%d, e.g. %s" % (len(got), sorted(set(got) - set(want))[:3]), r)


# ---- a LIMIT read twice: the same rows -------------------------------------------------------

LIMIT_SQL = """
CREATE TABLE g (id BIGINT, x INT) WITH ('connector' = 'datagen', 'number-of-rows' = '3000',
  'fields.id.min' = '1', 'fields.id.max' = '1000000000000');
CREATE VIEW firsts AS SELECT id, x, RAND_INTEGER(1000000000) AS r FROM g LIMIT 200;
CREATE TABLE l1 (id BIGINT, x INT, r INT)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s-l1', 'format' = 'csv');
CREATE TABLE l2 (id BIGINT, r INT)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s-l2', 'format' = 'csv');
EXECUTE STATEMENT SET BEGIN
INSERT INTO l1 SELECT * FROM firsts;
INSERT INTO l2 SELECT id, r FROM firsts;
END;
"""


def test_shared_limit_same_rows(tmp):
    for n in range(3):
        out = os.path.join(tmp, "out%d" % n)
        script = os.path.join(tmp, "limit%d.sql" % n)
        write(script, LIMIT_SQL % {"out": out})
        r = run(["run", "-v", "-p", "3", "--batch-size", "7", script])
        expect_rc(r, 0)
        expect(operators(r, "Limit") == 1, "one Limit in the plan", 1, operators(r, "Limit"), r)
        l1 = sorted("%s,%s" % (line.split(",")[0], line.split(",")[2])
                    for line in committed_rows(out + "-l1", header=False))
        l2 = committed_rows(out + "-l2", header=False)
        expect(len(l1) == 200, "run %d: LIMIT 200's rows" % n, 200, len(l1), r)
        expect(l1 == l2, "run %d: both readers of the LIMIT got the same rows" % n,
               l1[:5], sorted(set(l2) ^ set(l1))[:5], r)


# ---- kill -9 and --resume ----------------------------------------------------------------------

KILL_SQL = """
CREATE TABLE a (id BIGINT,
  ts AS TIMESTAMPADD(MILLISECOND, CAST(id * 7 AS INT), TIMESTAMP '1970-01-01 00:00:00.000'),
  WATERMARK FOR ts AS ts - INTERVAL '0.2' SECOND
) WITH ('connector' = 'datagen', 'rows-per-second' = '5000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '%(n)d');
CREATE VIEW win AS
  SELECT id %% 4 AS k, window_start AS ws, COUNT(*) AS c, SUM(id) AS s
  FROM TABLE(TUMBLE(TABLE a, DESCRIPTOR(ts), INTERVAL '0.5' SECOND))
  GROUP BY id %% 4, window_start, window_end;
CREATE TABLE o1 (k BIGINT, ws TIMESTAMP(3), c BIGINT, s BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s-1', 'format' = 'csv');
CREATE TABLE o2 (k BIGINT, s BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s-2', 'format' = 'csv');
EXECUTE STATEMENT SET BEGIN
INSERT INTO o1 SELECT * FROM win;
INSERT INTO o2 SELECT k, s FROM win WHERE c > 10;
END;
"""


def test_kill_and_resume(tmp):
    rng = seeded_rng("sql-reuse-kill")
    n = 15000
    want = defaultdict(lambda: [0, 0])
    for i in range(1, n + 1):
        w = want[(i % 4, (i * 7) // 500 * 500)]
        w[0] += 1
        w[1] += i
    w1 = sorted((str(k), ws, c, s) for (k, ws), (c, s) in want.items())
    w2 = sorted("%d,%d" % (k, s) for (k, _), (c, s) in want.items() if c > 10)
    out, ck = os.path.join(tmp, "out"), os.path.join(tmp, "ck")
    script = os.path.join(tmp, "kill.sql")
    write(script, KILL_SQL % {"n": n, "out": out})
    kills, r = kill_and_resume(tmp, rng, ["--checkpoint-dir", ck, "--checkpoint-interval",
                                          "100", "--resume", script], ck)
    expect(kills >= 2, "most runs were killed", ">= 2 kills", kills)
    for name, want_rows in (("1", w1), ("2", w2)):
        got = window_rows(out + "-1") if name == "1" else committed_rows(out + "-2", header=False)
        if got != want_rows:
            expect(False, "o%s's committed windows after %d kills" % (name, kills),
                   "%d rows, e.g. %s" % (len(want_rows), sorted(set(want_rows) - set(got))[:3]),
                   "%d rows, e.g. %s" % (len(got), sorted(set(got) - set(want_rows))[:3]), r)


def test_bad_option(tmp):
    script = os.path.join(tmp, "bad.sql")
    write(script, "SET 'table.optimizer.reuse-sub-plan-enabled' = 'sometimes';\n" +
          LIMIT_SQL % {"out": os.path.join(tmp, "out")})
    r = run(["run", script])
    expect_rc(r, 1)
    expect_in("'table.optimizer.reuse-sub-plan-enabled': 'sometimes' is not true or false",
              r.err, "the error names the option and the value", r)


if __name__ == "__main__":
    main([test_shared_views, test_shared_limit_same_rows, test_kill_and_resume, test_bad_option])
