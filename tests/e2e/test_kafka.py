#!/usr/bin/env python3
"""test_kafka.py - the Kafka source and sink on the real binary, against librdkafka's mock
cluster in a process of its own (tests/kafka/mock_kafka.c: 3 brokers on loopback) with kcat as
the independent client that writes the input and reads the output.

The examples read `--input kafka://BOOTSTRAP/TOPIC` and write `--output kafka://...`: their
results equal the oracles of test_windows.py (and the fraud oracle) on random input with late
rows, at several parallelisms, with checkpointing on and off. A topic of one partition keeps
the file's order, so late rows are the oracle's; over several partitions each keeps its own
watermark, so those runs have no late rows. Through kill -9 and --resume at random
parallelisms, Kafka input into the exactly-once file sink commits exactly the oracle's windows
and every id once; brokers going down, a leader moving and failed fetches change nothing; with
the whole cluster killed the job waits, and resumed against it back loses nothing; a
poison record fails the job naming topic, partition and offset, or goes to the dead-letter
file; the exactly-once Kafka sink commits each checkpoint's rows once across kills (its own log
of transactions says which it committed and which a restore found committed already).

What the mock cannot show, and so only a real broker would: read_committed consumers do not see
aborted transactions (the mock shows everything), transactional offset commits (the mock
ignores them; the sink repeats its marker outside the transaction), offsets by timestamp.
"""
import csv
import os
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chaos  # noqa: E402
import rill_e2e  # noqa: E402
import test_cluster  # noqa: E402
import test_cluster_jobs as tcj  # noqa: E402
import test_windows as tw  # noqa: E402
from rill_e2e import (RILL_EXAMPLES, MockKafka, expect, expect_in, expect_rc, main,  # noqa: E402
                      run)


def so(name):
    return os.path.join(RILL_EXAMPLES, name + ".so")


def parse_values(lines, types, what):
    rows = []
    for n, row in enumerate(csv.reader(lines), start=1):
        expect(len(row) == len(types), "%s: message %d has %d columns" % (what, n, len(types)),
               len(types), row)
        rows.append(tuple(t(v) for t, v in zip(types, row)))
    return rows


# (parallelism, checkpoint interval or None)
RUNS = ((1, None), (2, 40), (3, None), (3, 15))


def run_example(m, tmp, name, in_topic, args, runs, types, expected, what):
    for i, (p, interval) in enumerate(runs):
        out = "%s-out-%d" % (in_topic, i)
        m.command("topic %s 1" % out)
        ck = ["--checkpoint-dir", os.path.join(tmp, "ck-%s-%d" % (in_topic, i)),
              "--checkpoint-interval", str(interval)] if interval else []
        r = run(["run", "-p", str(p)] + ck + [so(name), "--", "--input", m.url(in_topic),
                                              "--output", m.url(out)] + [str(a) for a in args])
        expect_rc(r, 0)
        w = "%s p=%d %s" % (what, p, "checkpoints every %d ms" % interval if interval else "")
        tw.compare(expected, parse_values(m.consume(out), types, w), w, r)


def test_examples_against_oracles(tmp):
    """clicks, sessions, log_errors and fraud: Kafka in, Kafka out, the oracles' results."""
    m = MockKafka(["clicks:1", "logs:1", "tx:1", "clicks4:4"])
    try:
        delay, size = 1000, 10000
        rows = tw.clicks_rows(7, 3000, delay, size, size, 1700000000000)
        m.produce("clicks", rill_e2e.csv_lines(rows))
        expected, late = tw.oracle_fixed(tw.click_events(rows, "page"), tw.tumbling(size), delay)
        expect(len(late) > 20, "the clicks have late rows", "> 20", len(late))
        run_example(m, tmp, "clicks", "clicks", ["--max-delay-ms", delay, "--size-ms", size,
                                                 "--slide-ms", size], RUNS,
                    (str, int, int, int), expected, "clicks")

        gap = 3000
        srows = tw.sessions_rows(8, 3000, delay, gap, 1700000000000)
        m.command("topic sclicks 1")
        m.produce("sclicks", rill_e2e.csv_lines(srows))
        expected, late = tw.oracle_sessions(tw.click_events(srows, "user"), gap, delay)
        run_example(m, tmp, "sessions", "sclicks", ["--max-delay-ms", delay, "--gap-ms", gap],
                    RUNS[:3], (int, int, int, int), expected, "sessions")

        window = 5000
        lrows = tw.gen_logs(9, 3000, delay, window, 0.05)
        m.produce("logs", rill_e2e.csv_lines(lrows))
        expected, late = tw.oracle_fixed(tw.log_events(lrows), tw.tumbling(window), delay, 0)
        run_example(m, tmp, "log_errors", "logs", ["--max-delay-ms", delay, "--window-ms",
                                                   window], RUNS[:3], (str, int, int, int),
                    expected, "log_errors")

        tx = rill_e2e.gen_transactions(10, 4000, n_users=200)
        m.produce("tx", rill_e2e.csv_lines(tx))
        alerts = rill_e2e.expected_alerts(tx, 20000)
        for p in (1, 3):
            m.command("topic alerts%d 1" % p)
            r = run(["run", "-p", str(p), so("fraud"), "--", "--input", m.url("tx"),
                     "--output", m.url("alerts%d" % p), "--threshold", "20000"])
            expect_rc(r, 0)
            rill_e2e.compare_alerts(alerts, parse_values(m.consume("alerts%d" % p),
                                                         (int, float, int), "fraud"),
                                    "fraud p=%d" % p)

        # four partitions, no late rows: each partition's watermark, merged, loses nothing
        rows4 = tw.clicks_rows(11, 4000, delay, size, size, 1700000000000, p_late=0,
                               max_jitter=delay // 2)
        m.spread("clicks4", rill_e2e.csv_lines(rows4), 4)
        expected, late = tw.oracle_fixed(tw.click_events(rows4, "page"), tw.tumbling(size),
                                         delay)
        expect(late == [], "no late rows over four partitions", [], late[:5])
        run_example(m, tmp, "clicks", "clicks4", ["--max-delay-ms", 2 * size, "--size-ms",
                                                  size, "--slide-ms", size],
                    ((1, None), (2, 30), (4, None), (3, 20)), (str, int, int, int), expected,
                    "clicks over 4 partitions")
    finally:
        m.stop()


def test_kill_and_resume_windows_and_ids(tmp):
    """kill -9 at random moments and --resume at random parallelisms: Kafka input into the
    exactly-once file sink commits the oracle's windows (one partition, late rows) and every id
    of a four-partition topic exactly once (chaos.py's kafka job, 6 kills each)."""
    log = chaos.kafka(tmp, rill_e2e.seeded_rng("kafka-chaos"), 6, verbose=True)
    print("  " + log.summary())


def test_brokers_down_leader_moved_fetch_errors(tmp):
    """A broker down for a while, a partition's leader moved, failed fetches: the job waits or
    retries and every id arrives once."""
    m = MockKafka(["ids:3"])
    try:
        total = 30000
        m.spread("ids", [str(i) for i in range(total)], 3)
        out = os.path.join(tmp, "out")
        p = rill_e2e.Started(tmp, "faults", [
            "run", "-p", "2", "--checkpoint-dir", os.path.join(tmp, "ck"),
            "--checkpoint-interval", "100", rill_e2e.job_so("eo_files"), "--", "--input",
            m.url("ids"), "--output", out, "--rows-per-ms", "4"])
        try:
            time.sleep(0.5)
            m.command("down 1")
            time.sleep(1.0)
            m.command("up 1")
            m.command("leader ids 0 2")
            m.command("leader ids 1 3")
            m.command("errors 1 6 3")  # Fetch: NOT_LEADER_OR_FOLLOWER, three times
            r = p.wait(120)
        finally:
            p.kill9()
        expect_rc(r, 0)
        ids = [int(x) for x in rill_e2e.committed_rows(out)]
        rill_e2e.expect_each_once(ids, total, "ids through broker faults", r)
    finally:
        m.stop()


def test_cluster_killed_mid_run(tmp):
    """The whole Kafka cluster killed mid-run: the job waits (it neither ends nor loses its
    place); killed itself and resumed against the cluster back (the same topics and data, at new
    addresses, as after a restart of the brokers), it goes on from its checkpoint: every id is
    committed once."""
    total = 30000
    ids = [str(i) for i in range(total)]
    m = MockKafka(["ids:3"])
    m.spread("ids", ids, 3)
    out, ck = os.path.join(tmp, "out"), os.path.join(tmp, "ck")

    def args(mk):
        return ["run", "-p", "2", "--checkpoint-dir", ck, "--checkpoint-interval", "100",
                "--resume", rill_e2e.job_so("eo_files"), "--", "--input", mk.url("ids"),
                "--output", out, "--rows-per-ms", "3"]
    p = rill_e2e.Started(tmp, "before", args(m), log_level="info")
    try:
        p.wait_for_stderr(r"checkpoint \d+ completed", 60)
        m.p.kill()  # the brokers are gone, with no goodbye
        m.p.wait()
        time.sleep(2.0)
        expect(p.p.poll() is None, "with the brokers gone the job waits", "still running",
               "ended with %s" % p.p.returncode)
    finally:
        r = p.kill9()
        m.stop()
    expect("librdkafka" in r.err or "brokers" in r.err.lower(),
           "the log says the brokers went away", "a librdkafka warning", r.err[-2000:], r)
    m2 = MockKafka(["ids:3"])
    try:
        m2.spread("ids", ids, 3)
        p = rill_e2e.Started(tmp, "after", args(m2), log_level="info")
        r = p.wait(180)
        expect_rc(r, 0)
        expect(rill_e2e.restored_checkpoint(r.err) is not None, "resumed from a checkpoint",
               "restoring checkpoint N", r.err[-2000:], r)
        got = [int(x) for x in rill_e2e.committed_rows(out)]
        rill_e2e.expect_each_once(got, total, "ids after the cluster was killed", r)
    finally:
        m2.stop()


def test_poison_record(tmp):
    """A value that does not parse: the job fails naming topic, partition, offset and the
    field; under --bad-records skip it goes to the dead-letter file and the rest is read."""
    m = MockKafka(["tx:1"])
    try:
        good = rill_e2e.gen_transactions(12, 50, n_users=5, heavy=2)
        lines = rill_e2e.csv_lines(good[:20]) + ["7,twelve,1700000000999"] + rill_e2e.csv_lines(good[20:])
        m.produce("tx", lines)
        r = run(["run", so("fraud"), "--", "--input", m.url("tx"), "--output", "-",
                 "--threshold", "1000"])
        expect(r.rc == 1, "a poison record fails the job", "exit status 1", r.rc, r)
        expect_in("topic tx partition 0 offset 20", r.err, "the error names where it is", r)
        expect_in("'amount'", r.err, "the error names the field", r)
        dl = os.path.join(tmp, "dead.jsonl")
        r = run(["run", "--bad-records", "skip", "--dead-letter-file", dl, so("fraud"), "--",
                 "--input", m.url("tx"), "--output", "-", "--threshold", "1000"])
        expect_rc(r, 0)
        text = rill_e2e.read_text(dl)
        expect(re.search(r'"topic":"tx","partition":0,"offset":20,.*"record":'
                         r'"7,twelve,1700000000999"', text) is not None,
               "the dead-letter line says where the record was", "topic, partition, offset",
               text, r)
        alerts = rill_e2e.expected_alerts(good, 1000)
        got = [tuple(x) for x in parse_values([line for line in r.out.splitlines()[1:]
                                               if line and not line.startswith("fraud:")],
                                              (int, float, int), "fraud skip")]
        rill_e2e.compare_alerts(alerts, got, "fraud without the poison record")
    finally:
        m.stop()


def test_exactly_once_kafka_sink_through_kills(tmp):
    """Windows into Kafka in transactions, killed right after a transaction committed (its log
    line) and resumed: the restore finds that epoch committed and writes nothing twice; the
    output is the oracle's windows, each once."""
    m = MockKafka(["clicks:1", "counts:1"])
    try:
        delay, size = 1000, 10000
        rows = tw.gen_clicks(13, 20000, delay, [size], 1700000000000, n_users=20, n_pages=5,
                             step=40, p_late=0.1, late_max=2 * size)
        m.produce("clicks", rill_e2e.csv_lines(rows))
        expected, late = tw.oracle_fixed(tw.click_events(rows, "page"), tw.tumbling(size), delay)
        ck = os.path.join(tmp, "ck")
        job = rill_e2e.job_so("chaos_windows")
        found_committed = 0
        for attempt in range(4):
            args = ["run", "--checkpoint-dir", ck, "--checkpoint-interval", "150", "-p",
                    str(1 + attempt % 3)] + (["--resume"] if attempt else []) + [
                job, "--", "--input", m.url("clicks"), "--output", m.url("counts"),
                "--rows-per-ms", "6", "--max-delay-ms", str(delay), "--size-ms", str(size)]
            p = rill_e2e.Started(tmp, "eo-%d" % attempt, args, log_level="info")
            if attempt == 3:
                r = p.wait(120)
                expect_rc(r, 0)
                found_committed += r.err.count("was committed before the failure")
                break
            # a transaction committed, and its marker: then the kill
            p.wait_for_stderr(r"transaction \S+ committed epoch", 60)
            r = p.kill9()
            if attempt:
                found_committed += r.err.count("was committed before the failure")
        expect(found_committed > 0, "a restore found an epoch of its checkpoint committed "
               "already (and did not write it again)", "> 0", found_committed)
        actual = parse_values(m.consume("counts"), (str, int, int, int), "counts")
        tw.compare(expected, actual, "windows through the transactional Kafka sink")
    finally:
        m.stop()


def test_cluster_reads_and_writes_kafka(tmp):
    """The clicks example on a JobManager and two TaskManagers, Kafka in and Kafka out
    (exactly-once): the TaskManagers connect to the brokers themselves; the oracle's windows,
    each once."""
    m = MockKafka(["clicks:3", "counts:1"])
    try:
        delay, size = 1000, 10000
        rows = tw.clicks_rows(21, 3000, delay, size, size, 1700000000000, p_late=0,
                              max_jitter=delay // 2)
        m.spread("clicks", rill_e2e.csv_lines(rows), 3)
        expected, late = tw.oracle_fixed(tw.click_events(rows, "page"), tw.tumbling(size),
                                         delay)

        def body(c):
            jm, a, b = tcj.two_taskmanagers(c)
            r = run(["run", "-m", "127.0.0.1:%d" % jm.rest, "-p", "4", "--checkpoint-dir",
                     os.path.join(tmp, "ck"), "--checkpoint-interval", "100", so("clicks"), "--", "--input", m.url("clicks"), "--output",
                     m.url("counts"), "--exactly-once", "--max-delay-ms", str(2 * size),
                     "--size-ms", str(size), "--slide-ms", str(size)])
            expect_rc(r, 0)
            jid = tcj.JOB_LINE.search(r.out).group(1)
            doc = tcj.job_doc(jm, jid)
            expect(doc["state"] == "FINISHED", "the job finished on the cluster", "FINISHED",
                   doc, r)
            tcj.expect_both_ran([a, b], jid, doc["tasks"])
        test_cluster.run_cluster(tmp, body)
        tw.compare(expected, parse_values(m.consume("counts"), (str, int, int, int),
                                          "counts"), "clicks on the cluster over Kafka")
    finally:
        m.stop()


if __name__ == "__main__":
    main([test_examples_against_oracles, test_kill_and_resume_windows_and_ids,
          test_brokers_down_leader_moved_fetch_errors, test_poison_record,
          test_exactly_once_kafka_sink_through_kills, test_cluster_reads_and_writes_kafka,
          test_cluster_killed_mid_run],
         need_jobs=True)
