"""SQL scripts as jobs on a real cluster (`rill jobmanager` and two `rill taskmanager`
processes on loopback, `rill run -m HOST FILE.sql`): the JobManager's driver and each
TaskManager plan the same script into the same graph; a window aggregation over out-of-order
rows with late rows and an updating GROUP BY into an upsert-free print sink give the
mini-cluster's rows, with tasks on both TaskManagers; a UNION ALL across both TaskManagers
gives every row of its branches; a bad script fails with its message."""
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ["RILL_LOG"] = "info"

from rill_e2e import (committed_rows, expect, expect_in, expect_rc, main, run,  # noqa: E402
                      seeded_rng)
from test_cluster import run_cluster  # noqa: E402
from test_cluster_jobs import (JOB_LINE, expect_both_ran, job_doc,  # noqa: E402
                               two_taskmanagers)


def fmt(ms):
    import datetime
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%d %H:%M:%S") + ".%03d" % (ms % 1000)


UNION_SQL = """
CREATE TABLE clicks (ts TIMESTAMP(3), user_id BIGINT, page STRING)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
CREATE TABLE pages (page STRING, v BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
INSERT INTO pages
SELECT page, user_id FROM clicks WHERE user_id >= 0
UNION ALL
SELECT page, user_id * 2 FROM clicks WHERE page = '/a';
"""


JOIN_SQL = """
CREATE TABLE clicks (ts TIMESTAMP(3), user_id BIGINT, page STRING,
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
CREATE TABLE pairs (a BIGINT, b BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
INSERT INTO pairs
SELECT x.user_id, y.user_id FROM clicks x, clicks y
WHERE x.page = y.page AND x.user_id %% 97 = y.user_id %% 89 AND x.page <> '/d'
  AND x.user_id < 200;
"""


def test_sql_on_cluster_equals_minicluster(tmp):
    rng = seeded_rng("sql-cluster")
    t, lines = 1714564800000, []
    for _ in range(6000):
        t += rng.randrange(0, 20)
        ts = t - (rng.randrange(0, 5000) if rng.random() < 0.1 else rng.randrange(0, 800))
        lines.append("%s,%d,%s" % (fmt(ts), rng.randrange(-50, 1000),
                                   rng.choice(["/a", "/b", "/c", "/d"])))
    inp = os.path.join(tmp, "clicks.csv")
    with open(inp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    script = """
CREATE TABLE clicks (ts TIMESTAMP(3), user_id BIGINT, page STRING,
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
CREATE TABLE counts (page STRING, ws TIMESTAMP(3), n BIGINT, total BIGINT, hi BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
INSERT INTO counts
SELECT page, window_start, COUNT(*), SUM(user_id), MAX(user_id)
FROM TABLE(HOP(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' SECOND, INTERVAL '3' SECOND))
WHERE user_id >= 0
GROUP BY page, window_start, window_end;
"""
    outs = {}
    for where in ("cluster", "mini"):
        path = os.path.join(tmp, "q-%s.sql" % where)
        outs[where] = os.path.join(tmp, "out-" + where)
        with open(path, "w", encoding="utf-8") as f:
            f.write(script % (inp, outs[where]))

    def body(c):
        jm, a, b = two_taskmanagers(c)
        addr = "127.0.0.1:%d" % jm.rest
        r = run(["run", "-m", addr, "-p", "4", os.path.join(tmp, "q-cluster.sql")])
        expect_rc(r, 0)
        jid = JOB_LINE.search(r.out).group(1)
        doc = job_doc(jm, jid)
        expect(doc["state"] == "FINISHED", "the SQL job on the cluster: FINISHED", "FINISHED",
               doc)
        expect(doc.get("name") in (None, "q-cluster"), "the job is named by the script",
               "q-cluster", doc.get("name"))
        expect_both_ran([a, b], jid, doc["tasks"])
        m = run(["run", "-p", "4", os.path.join(tmp, "q-mini.sql")])
        expect_rc(m, 0)
        cl = committed_rows(outs["cluster"], header=False)
        mini = committed_rows(outs["mini"], header=False)
        expect(len(mini) > 100 and cl == mini, "the cluster's windows equal the mini-cluster's",
               "%d rows" % len(mini), "%d rows, e.g. %s" % (len(cl), sorted(
                   set(cl) ^ set(mini))[:4]))
        # a UNION ALL of two branches of one table across both TaskManagers: every row of each
        u_out = os.path.join(tmp, "out-union")
        u_sql = os.path.join(tmp, "q-union.sql")
        with open(u_sql, "w", encoding="utf-8") as f:
            f.write(UNION_SQL % (inp, u_out))
        r = run(["run", "-m", addr, "-p", "4", u_sql])
        expect_rc(r, 0)
        jid = JOB_LINE.search(r.out).group(1)
        expect_both_ran([a, b], jid, job_doc(jm, jid)["tasks"])
        want = sorted(["%s,%s" % (ln.split(",")[2], ln.split(",")[1]) for ln in lines
                       if int(ln.split(",")[1]) >= 0] +
                      ["%s,%d" % (ln.split(",")[2], 2 * int(ln.split(",")[1])) for ln in lines
                       if ln.split(",")[2] == "/a"])
        got = sorted(committed_rows(u_out, header=False))
        expect(got == want, "the union's rows on the cluster", "%d rows" % len(want),
               "%d rows, e.g. %s" % (len(got), sorted(set(got) ^ set(want))[:4]))
        # a regular join (a keyed operator with two inputs, each hash-partitioned by its own
        # key) across both TaskManagers: the mini-cluster's pairs (no time bound: late rows
        # would make an interval join's pairs depend on how the watermarks interleave)
        j_sql = {}
        for where in ("cluster", "mini"):
            j_sql[where] = os.path.join(tmp, "q-join-%s.sql" % where)
            with open(j_sql[where], "w", encoding="utf-8") as f:
                f.write(JOIN_SQL % (inp, os.path.join(tmp, "out-join-" + where)))
        r = run(["run", "-m", addr, "-p", "4", j_sql["cluster"]])
        expect_rc(r, 0)
        jid = JOB_LINE.search(r.out).group(1)
        expect_both_ran([a, b], jid, job_doc(jm, jid)["tasks"])
        m = run(["run", "-p", "3", j_sql["mini"]])
        expect_rc(m, 0)
        cl = sorted(committed_rows(os.path.join(tmp, "out-join-cluster"), header=False))
        mini = sorted(committed_rows(os.path.join(tmp, "out-join-mini"), header=False))
        expect(len(mini) > 100 and cl == mini, "the cluster's join equals the mini-cluster's",
               "%d rows" % len(mini), "%d rows, e.g. %s" % (len(cl), sorted(
                   set(cl) ^ set(mini))[:4]))
        # a script that does not plan: the job fails with the script's message
        bad = os.path.join(tmp, "bad.sql")
        with open(bad, "w", encoding="utf-8") as f:
            f.write("SELECT nope FROM nowhere;\n")
        r = run(["run", "-m", addr, bad])
        expect(r.rc != 0, "a bad script fails on the cluster", "exit status != 0", r.rc, r)
        expect_in("Object 'nowhere' not found", r.out + r.err, "the script's error", r)
    run_cluster(tmp, body)


if __name__ == "__main__":
    main([test_sql_on_cluster_equals_minicluster])
