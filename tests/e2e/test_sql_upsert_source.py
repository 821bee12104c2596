"""End-to-end tests of reading an upsert-kafka table (Flink's upsert-kafka source): a topic of
random upserts and tombstones over a handful of keys, written here with kcat on the mock Kafka
cluster, read back through ChangelogNormalize as a changelog. The final tables (the SELECT *
replayed, a global COUNT/SUM, a GROUP BY over another column) are compared with the topic
compacted here: each key's last value, keys whose last message is a tombstone absent. EXPLAIN
shows the ChangelogNormalize; a table without a primary key or key.format, and an append-only
sink of the changelog, are refused with the table named.
"""
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import replay_changelog as replay  # noqa: E402
from rill_e2e import (Failure, MockKafka, Started, completed_checkpoints,  # noqa: E402
                      expect, expect_in, expect_rc, main, read_text, run, savepoint_path,
                      seeded_rng)

PARTS = 3
KEYS = ["k%d" % i for i in range(7)]
GROUPS = ["ga", "gb", "gc"]


def produce(m, topic, msgs):
    """msgs: (key, value or None for a tombstone); a key's messages go to one partition, in
    order (kcat -K: splits the key off, -Z sends an empty value as NULL)."""
    for part in range(PARTS):
        lines = ["%s:%s" % (k, v if v is not None else "") for k, v in msgs
                 if int(k[1:]) % PARTS == part]
        r = subprocess.run(["kcat", "-b", m.bootstrap, "-P", "-t", topic, "-p", str(part),
                            "-K:", "-Z", "-q"], input="".join(x + "\n" for x in lines),
                           text=True, capture_output=True, timeout=60)
        if r.returncode != 0:
            raise Failure("kcat -P %s: %s" % (topic, r.stderr))


def random_topic(rng):
    """Messages over KEYS: a value 'k,g,v' (an upsert), a repeat of the key's last value now and
    then, or a tombstone (None); then k0 deleted last, and a tombstone of a key never written."""
    msgs, last = [], {}
    for _ in range(400):
        k = rng.choice(KEYS)
        roll = rng.random()
        if roll < 0.25:
            msgs.append((k, None))
            last.pop(k, None)
        elif roll < 0.32 and k in last:
            msgs.append((k, last[k]))
        else:
            v = "%s,%s,%d" % (k, rng.choice(GROUPS), rng.randrange(-100, 100))
            msgs.append((k, v))
            last[k] = v
    msgs += [("k0", "k0,ga,7"), ("k0", None), ("k6", None), ("k6", None)]
    msgs.insert(0, ("k3", None))  # a tombstone of a key with no row yet: nothing
    return msgs


def compacted(msgs):
    """Each key's last value (k, g, v), keys whose last message is a tombstone left out."""
    table = {}
    for k, v in msgs:
        if v is None:
            table.pop(k, None)
        else:
            key, g, val = v.split(",")
            table[k] = (g, int(val))
    return table



def ddl(m, topic, name="t", pk=", PRIMARY KEY (k) NOT ENFORCED",
        key_format="'key.format' = 'csv', ", bounded=True):
    return ("CREATE TABLE %s (k STRING, g STRING, v BIGINT%s) WITH ('connector' = "
            "'upsert-kafka', 'topic' = '%s', 'properties.bootstrap.servers' = '%s', %s"
            "'value.format' = 'csv'%s);\n"
            % (name, pk, topic, m.bootstrap, key_format,
               ", 'scan.bounded.mode' = 'latest-offset'" if bounded else ""))


def run_script(tmp, name, text, par=1):
    path = os.path.join(tmp, name + ".sql")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return run(["run", "-p", str(par), path])


def test_upsert_source_against_compaction(tmp):
    rng = seeded_rng("sql-upsert-source")
    msgs = random_topic(rng)
    want = compacted(msgs)
    expect("k0" not in want and "k6" not in want and want, "the topic deletes k0, k6 and "
           "keeps some keys", "some keys", want)
    m = MockKafka(["ups:%d" % PARTS])
    try:
        produce(m, "ups", msgs)
        got_msgs = m.consume("ups", fmt="%k\t%S\n")
        expect(len(got_msgs) == len(msgs), "the topic's messages", len(msgs), len(got_msgs))
        expect(sum(1 for x in got_msgs if x.endswith("\t-1")) ==
               sum(1 for _, v in msgs if v is None), "tombstones written as NULL values",
               "as many", got_msgs)
        # 1. the changelog replayed: the compacted topic, at parallelism 1 and 3
        rows = {k: "%s, %s, %d" % (k, g, v) for k, (g, v) in want.items()}
        for par in (1, 3):
            r = run_script(tmp, "all%d" % par, ddl(m, "ups") + "SELECT * FROM t;\n", par)
            expect_rc(r, 0)
            got = replay(r, "SELECT * p=%d" % par, 1)
            expect(got == {k: ", ".join(v.split(", ")[1:]) for k, v in rows.items()},
                   "SELECT * p=%d: the last row of each key" % par,
                   rows, got, r)
            expect_in("-D[", r.out, "p=%d: deletes in the changelog" % par, r)
            expect_in("-U[", r.out, "p=%d: updates in the changelog" % par, r)
        # 2. aggregations over the changelog
        n, total = len(want), sum(v for _, v in want.values())
        r = run_script(tmp, "count", ddl(m, "ups") + "SELECT COUNT(*), SUM(v) FROM t;\n", 3)
        expect_rc(r, 0)
        got = replay(r, "COUNT/SUM", 0)
        expect(got == {"": "%d, %d" % (n, total)}, "COUNT(*), SUM(v)", "%d, %d" % (n, total),
               got, r)
        by_g = {}
        for g, v in want.values():
            c, s = by_g.get(g, (0, 0))
            by_g[g] = (c + 1, s + v)
        for par in (1, 3):
            r = run_script(tmp, "groups%d" % par, ddl(m, "ups") +
                           "SELECT g, COUNT(*), SUM(v) FROM t GROUP BY g;\n", par)
            expect_rc(r, 0)
            got = replay(r, "GROUP BY g p=%d" % par, 1)
            w = {g: "%d, %d" % cs for g, cs in by_g.items()}
            expect(got == w, "GROUP BY g p=%d" % par, w, got, r)
        # EXPLAIN: the ChangelogNormalize above the scan
        r = run_script(tmp, "explain", ddl(m, "ups") +
                       "EXPLAIN CHANGELOG_MODE SELECT g, v FROM t;\n")
        expect_rc(r, 0)
        expect(re.search(r"ChangelogNormalize\(key=\[k\].*changelogMode=\[I,UB,UA,D\]\)\n.*"
                         r"Exchange\(distribution=\[hash\[k\]\].*\n.*TableSourceScan\(.*"
                         r"connector=\[upsert-kafka\].*changelogMode=\[UA,D\]", r.out)
               is not None, "EXPLAIN shows ChangelogNormalize over the scan",
               "ChangelogNormalize(key=[k]) ... TableSourceScan", r.out, r)
    finally:
        m.stop()


def stop_with_savepoint(tmp, s, name):
    """Waits for a checkpoint of Started s and for its first printed row (a checkpoint can
    complete before the source has fetched anything), stops its job with a savepoint: (path,
    Result)."""
    ck = os.path.join(tmp, "ck")
    port = s.rest_port()
    deadline = time.monotonic() + 60
    while not completed_checkpoints(ck) or not read_text(s.out_path).strip():
        expect(time.monotonic() < deadline and s.p.poll() is None, "a checkpoint", "one",
               "none")
        time.sleep(0.02)
    r = run(["stop", "upsp", "--savepoint", os.path.join(tmp, name), "-m",
             "127.0.0.1:%d" % port])
    expect_rc(r, 0)
    sp = savepoint_path(r, "stop with a savepoint")
    done = s.wait()
    expect_rc(done, 0)
    return sp, done


def test_state_restores_at_another_parallelism(tmp):
    """SELECT * at p1 over a first part of the topic, stopped with a savepoint; more messages;
    restored at p3 and stopped once it has printed the last message of every partition (a
    stop drains what the sources emitted): the two runs' changelogs, replayed one after the
    other, are the compacted topic, so the second run retracted rows that the first one's
    keyed state held."""
    rng = seeded_rng("sql-upsert-source-restore")
    first, second = random_topic(rng), random_topic(rng)
    ends = [("k10%d" % i, "k10%d,ga,%d" % (i, i)) for i in range(PARTS)]  # one per partition
    want = compacted(first + second + ends)
    m = MockKafka(["ups:%d" % PARTS])
    try:
        produce(m, "ups", first)
        script = os.path.join(tmp, "job.sql")
        with open(script, "w", encoding="utf-8") as f:
            f.write("SET 'pipeline.name' = 'upsp';\n" + ddl(m, "ups", bounded=False) +
                    "SELECT * FROM t;\n")
        args = ["--checkpoint-dir", os.path.join(tmp, "ck"), "--checkpoint-interval", "100",
                "--rest-port", "0"]
        s = Started(tmp, "first", ["run", "-p", "1"] + args + [script])
        sp, r1 = stop_with_savepoint(tmp, s, "sp1")
        produce(m, "ups", second + ends)
        s = Started(tmp, "second", ["run", "-p", "3", "--from-savepoint", sp] + args +
                    [script])
        deadline = time.monotonic() + 60
        while not all("+I[%s, " % k in open(s.out_path).read() for k, _ in ends):
            expect(time.monotonic() < deadline and s.p.poll() is None,
                   "the second run prints the last messages", "+I[k100, ...", "not yet")
            time.sleep(0.05)
        _, r2 = stop_with_savepoint(tmp, s, "sp2")
        expect(r1.out.strip() != "", "the first run read rows", "rows", r1.out, r1)
        r2.out = r1.out + r2.out
        got = replay(r2, "p1 then p3 from a savepoint", 1)
        w = {k: "%s, %d" % gv for k, gv in want.items()}
        expect(got == w, "the compacted topic across a savepoint", w, got, r2)
    finally:
        m.stop()


def test_upsert_source_refusals(tmp):
    m = MockKafka(["ups:1"])
    try:
        cases = [
            (ddl(m, "ups", "nopk", pk="") + "SELECT * FROM nopk;\n",
             "'upsert-kafka' tables require to define a PRIMARY KEY constraint (table 'nopk')"),
            (ddl(m, "ups", "nokf", key_format="") + "SELECT * FROM nokf;\n",
             "table 'nokf': upsert-kafka needs 'key.format'"),
            (ddl(m, "ups") + "CREATE TABLE o (k STRING, g STRING, v BIGINT) WITH ("
             "'connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');\n"
             "INSERT INTO o SELECT * FROM t;\n" % os.path.join(tmp, "o"),
             "Table sink 'default_catalog.default_database.o' doesn't support consuming update "
             "changes which is produced by node ChangelogNormalize(key=[k])"),
            (ddl(m, "ups").replace("'scan.bounded.mode'", "'scan.startup.mode' = "
                                   "'latest-offset', 'scan.bounded.mode'") +
             "SELECT * FROM t;\n",
             "Unsupported options found for 'upsert-kafka' (table 't'): scan.startup.mode"),
        ]
        for i, (text, message) in enumerate(cases):
            r = run_script(tmp, "bad%d" % i, text)
            expect_rc(r, 1)
            expect_in(message, r.err, "refusal %d" % i, r)
    finally:
        m.stop()


if __name__ == "__main__":
    main([test_upsert_source_against_compaction, test_state_restores_at_another_parallelism,
          test_upsert_source_refusals])
