"""End-to-end tests of the SQL filesystem sink with PARTITIONED BY (Nexmark q10's DDL, unchanged):
rows in Hive-style partition directories (values escaped as Flink escapes them, the keys left
out of the rows), the success-file partition commit by partition time and watermark, after the
checkpoint that holds the rows, and at the end of input; kill -9 and --resume at another
parallelism. Every expectation is computed here from the input rows.
"""
import csv
import datetime
import os
import random
import re
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import (MockKafka, Started, completed_checkpoints, expect,  # noqa: E402
                      expect_in, expect_rc, main, run, seeded_rng)

T0 = 1714564800000  # 2024-05-01 12:00:00 UTC
BOUND = 10000       # the watermark's out-of-orderness: dateTime - INTERVAL '10' SECOND
DELAY = 60000       # 'sink.partition-commit.delay' = '1 min'

Q10_SINK = """
CREATE TABLE nexmark_q10 (auction BIGINT, bidder BIGINT, price BIGINT, `dateTime` TIMESTAMP(3),
  extra VARCHAR, dt STRING, hm STRING)
PARTITIONED BY (dt, hm) WITH ('connector' = 'filesystem', 'path' = 'file://%(out)s/',
  'format' = 'csv',
  'sink.partition-commit.trigger' = 'partition-time', 'sink.partition-commit.delay' = '1 min',
  'sink.partition-commit.policy.kind' = 'success-file',
  'partition.time-extractor.timestamp-pattern' = '$dt $hm:00',
  'sink.rolling-policy.rollover-interval' = '1min', 'sink.rolling-policy.check-interval' = '1min');
INSERT INTO nexmark_q10 SELECT auction, bidder, price, `dateTime`, extra, dt, hm FROM bids;
"""

COLS = """(auction BIGINT, bidder BIGINT, price BIGINT, `dateTime` TIMESTAMP(3), extra VARCHAR,
  dt STRING, hm STRING, WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '10' SECOND)"""

FILE_SRC = "CREATE TABLE bids " + COLS + """
  WITH ('connector' = 'filesystem', 'path' = '%(inp)s', 'format' = 'csv');"""

KAFKA_SRC = "CREATE TABLE bids " + COLS + """
  WITH ('connector' = 'kafka', 'topic' = 'bids', 'properties.bootstrap.servers' = '%(boot)s',
        'scan.startup.mode' = 'earliest-offset', 'format' = 'csv');"""


def escape(v):
    """Flink's partition path escaping, written from its list of characters."""
    out = []
    for ch in v:
        c = ord(ch)
        if c < 0x20 or c == 0x7F or ch in "\"#%'*/:=?\\{[]^":
            out.append("%%%02X" % c)
        else:
            out.append(ch)
    return "".join(out)


def unescape(v):
    out, i = bytearray(), 0
    b = v.encode("utf-8")
    while i < len(b):
        if b[i:i + 1] == b"%" and i + 2 < len(b) and all(
                chr(x) in "0123456789abcdefABCDEF" for x in b[i + 1:i + 3]):
            out.append(int(b[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(b[i])
            i += 1
    return out.decode("utf-8")


def dt_hm(ts):
    d = datetime.datetime.fromtimestamp(ts / 1000, datetime.timezone.utc)
    return d.strftime("%Y-%m-%d"), d.strftime("%H:%M")


def part_time(dt, hm):
    d = datetime.datetime.strptime(dt + " " + hm + ":00", "%Y-%m-%d %H:%M:%S")
    return int(d.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


def gen_rows(rng, n, start, span, first_id=0):
    """n bids with dateTime rising from start over span ms, out of order by up to 8 s, and
    about 3% late by 1 to 3 minutes (behind the watermark when they come)."""
    rows = []
    for i in range(n):
        ts = start + span * i // n - rng.randint(0, 8000)
        late = rng.random() < 0.03
        if late:
            ts -= rng.randint(60000, 180000)
        extra = rng.choice(["", "x", "a,b", 'q"uote', "\u00e9t\u00e9", "sp ace"]) + str(i % 7)
        dt, hm = dt_hm(ts)
        rows.append((first_id + i, rng.randint(1, 1000), rng.randint(1, 10 ** 6), ts, extra, dt,
                     hm, late))
    return rows


def iso(ts):
    d = datetime.datetime.fromtimestamp(ts / 1000, datetime.timezone.utc)
    return d.strftime("%Y-%m-%d %H:%M:%S.") + "%03d" % (ts % 1000)


def csv_line(r):
    import io
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([r[0], r[1], r[2], iso(r[3]), r[4], r[5], r[6]])
    return buf.getvalue()


def flink_ts(ts):
    """TIMESTAMP(3) as Flink's CSV format writes it: trailing zeros of the fraction dropped."""
    d = datetime.datetime.fromtimestamp(ts / 1000, datetime.timezone.utc)
    frac = ("%03d" % (ts % 1000)).rstrip("0")
    return d.strftime("%Y-%m-%d %H:%M:%S") + ("." + frac if frac else "")


def expected(rows):
    """{(dt, hm): sorted rows as the sink writes them (no keys, dateTime in Flink's text)}"""
    want = {}
    for r in rows:
        want.setdefault((r[5], r[6]), []).append([str(r[0]), str(r[1]), str(r[2]),
                                                  flink_ts(r[3]), r[4]])
    return {k: sorted(v) for k, v in want.items()}


def read_partitions(out):
    """({(dt, hm): sorted committed rows}, {(dt, hm) with a _SUCCESS file}, in-progress files);
    checks the directory names are the escaped values."""
    got, success, hidden = {}, set(), []
    for dirpath, _dirs, files in os.walk(out):
        rel = os.path.relpath(dirpath, out)
        parts = rel.split(os.sep)
        if rel == "." or len(parts) != 2:
            expect(not [f for f in files if f.startswith("part-")],
                   "no part file outside a dt=/hm= directory (%s)" % rel, "none", files)
            continue
        expect(parts[0].startswith("dt=") and parts[1].startswith("hm="),
               "partition directories dt=/hm=", "dt=.../hm=...", rel)
        key = (unescape(parts[0][3:]), unescape(parts[1][3:]))
        expect(parts[1][3:] == escape(key[1]) and parts[0][3:] == escape(key[0]),
               "the directory name is the escaped value", escape(key[1]), parts[1][3:])
        for f in files:
            if f == "_SUCCESS":
                success.add(key)
            elif f.startswith("part-"):
                with open(os.path.join(dirpath, f), newline="", encoding="utf-8") as fh:
                    for row in csv.reader(fh):
                        expect(len(row) == 5, "5 columns in %s/%s (no dt, hm)" % (rel, f),
                               5, row)
                        got.setdefault(key, []).append(row)
            else:
                hidden.append(os.path.join(rel, f))
    return {k: sorted(v) for k, v in got.items()}, success, hidden


def check_rows(got, want, what, r=None):
    if got == want:
        return
    for k in sorted(set(got) | set(want)):
        g, w = got.get(k, []), want.get(k, [])
        if g != w:
            expect(False, "%s: partition %s holds each of its rows once" % (what, k),
                   "%d rows, missing e.g. %s" % (len(w), [x for x in w if x not in g][:2]),
                   "%d rows, extra e.g. %s" % (len(g), [x for x in g if x not in w][:2]), r)


def committable(keys, wm):
    """The partitions the rule commits with watermark wm: time + delay < wm."""
    return {k for k in keys if part_time(*k) + DELAY < wm}


def test_bounded_partitions(tmp):
    """q10's sink over files of random out-of-order rows with late rows, at parallelism 1 and
    3, checkpointing on and off: each partition holds exactly its rows, without the keys; the
    end of input commits every partition."""
    rng = seeded_rng("fs-partitions")
    rows = gen_rows(rng, 3000, T0, 12 * 60000)
    inp = os.path.join(tmp, "in")
    os.makedirs(inp)
    for k in range(3):  # three files: three splits, each with its own watermark
        with open(os.path.join(inp, "bids-%d.csv" % k), "w", encoding="utf-8") as f:
            f.write("".join(csv_line(r) + "\n" for r in rows[k::3]))
    want = expected(rows)
    for case, (par, ckpt) in enumerate([(1, False), (3, False), (1, True), (3, True)]):
        out = os.path.join(tmp, "out%d" % case)
        script = os.path.join(tmp, "q10-%d.sql" % case)
        with open(script, "w", encoding="utf-8") as f:
            f.write(FILE_SRC % {"inp": inp} + Q10_SINK % {"out": out})
        args = ["run", "-p", str(par), script]
        if ckpt:
            args[1:1] = ["--checkpoint-dir", os.path.join(tmp, "ck%d" % case),
                         "--checkpoint-interval", "20"]
        r = run(args)
        expect_rc(r, 0)
        got, success, hidden = read_partitions(out)
        what = "p=%d checkpoints %s" % (par, "on" if ckpt else "off")
        check_rows(got, want, what, r)
        expect(success == set(want), "%s: every partition committed at the end" % what,
               len(want), sorted(set(want) ^ success)[:3], r)
        expect(not hidden, "%s: no in-progress file left" % what, "none", hidden[:3], r)


def test_escaped_partition_values(tmp):
    """A partition key's values with the characters Flink escapes, non-ASCII text, '' and
    NULL (the default partition), with the process-time trigger: the directories are named as
    Flink names them, and each holds its rows."""
    rng = seeded_rng("fs-escape")
    values = ["a/b", "x=y", "50%", "12:00", "q'\"#*?", "\\{[]^", "caf\u00e9", "sp ace", "", None]
    rows = [(i, rng.choice(values)) for i in range(400)]
    inp = os.path.join(tmp, "in.csv")
    with open(inp, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        for i, v in rows:
            w.writerow([i, "" if v is None else v])
    out = os.path.join(tmp, "out")
    script = os.path.join(tmp, "esc.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write("""
CREATE TABLE src (id BIGINT, k STRING) WITH ('connector' = 'filesystem', 'path' = '%s',
  'format' = 'csv');
CREATE TABLE dst (id BIGINT, k STRING) PARTITIONED BY (k) WITH ('connector' = 'filesystem',
  'path' = '%s', 'format' = 'csv', 'sink.partition-commit.policy.kind' = 'success-file',
  'sink.partition-commit.success-file.name' = '_DONE', 'partition.default-name' = 'none');
INSERT INTO dst SELECT id, k FROM src;
""" % (inp, out))
    for par in (1, 3):
        if os.path.exists(out):
            import shutil
            shutil.rmtree(out)
        r = run(["run", "-p", str(par), script])
        expect_rc(r, 0)
        want = {}
        for i, v in rows:
            want.setdefault("k=" + ("none" if not v else escape(v)), []).append(str(i))
        got, done = {}, set()
        for d in os.listdir(out):
            for f in os.listdir(os.path.join(out, d)):
                if f == "_DONE":
                    done.add(d)
                elif f.startswith("part-"):
                    with open(os.path.join(out, d, f), encoding="utf-8") as fh:
                        got.setdefault(d, []).extend(fh.read().splitlines())
        expect(sorted(got) == sorted(want), "p=%d: the partition directories" % par,
               sorted(want), sorted(got), r)
        for d in want:
            expect(sorted(got[d]) == sorted(want[d]), "p=%d: the rows of %s" % (par, d),
                   sorted(want[d])[:5], sorted(got[d])[:5], r)
        expect(done == set(want), "p=%d: '_DONE' in every partition" % par, sorted(want),
               sorted(done), r)


def wait_for(cond, what, timeout, p=None):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline or (p is not None and p.p.poll() is not None):
            r = p.kill9() if p is not None else None
            expect(False, what, "within %d s" % timeout, "not reached", r)
        time.sleep(0.05)


def watermark_of(rows_by_part):
    """The source's watermark once every row is read: each Kafka partition is a split, the
    watermark the smallest of theirs (its largest dateTime - 10 s)."""
    return min(max(r[3] for r in rs) for rs in rows_by_part) - BOUND


def test_kafka_commit_before_the_end_kill_and_resume(tmp):
    """An unbounded Kafka source (three partitions) into q10's sink with checkpoints: while the
    job runs, '_SUCCESS' appears exactly in the partitions whose time + 1 min is below the
    watermark (never in another, and only with all their rows that were on time); killed with
    SIGKILL, more rows produced, resumed with --resume at another parallelism: every row is in
    its partition exactly once and the commits follow the new watermark."""
    rng = seeded_rng("fs-kafka")
    m = MockKafka(["bids:3"])
    try:
        ck, out = os.path.join(tmp, "ck"), os.path.join(tmp, "out")
        script = os.path.join(tmp, "q10k.sql")
        with open(script, "w", encoding="utf-8") as f:
            f.write(KAFKA_SRC % {"boot": m.bootstrap} + Q10_SINK % {"out": out})
        # half A: dateTime up to about 12:04:30, the last row of each partition near it
        a = gen_rows(rng, 1500, T0, 4 * 60000 + 20000)
        tail_a = [(9000 + k, 1, 1, T0 + 4 * 60000 + 30000 - k, "t", "2024-05-01", "12:04", False)
                  for k in range(3)]
        a += tail_a
        by_part = [a[k::3] for k in range(3)]
        for k in range(3):
            m.produce("bids", [csv_line(r) for r in by_part[k]], partition=k)
        wm_a = watermark_of(by_part)
        keys_a = set(expected(a))
        want_a = committable(keys_a, wm_a)
        expect(0 < len(want_a) < len(keys_a), "half A: some partitions to commit, not all",
               "some", len(want_a))
        # a partition is committed once the watermark passed it: by then each split has read
        # every row of it that was not late (at most 8 s out of order, the bound is 10 s)
        on_time = expected([r for r in a if not r[7]])
        p = Started(tmp, "run0", ["run", "-p", "1", "--checkpoint-dir", ck,
                                  "--checkpoint-interval", "100", script])

        def settled():
            got, success, _ = read_partitions(out)
            extra = success - want_a
            expect(not extra, "never a _SUCCESS beyond the rule (watermark <= %d)" % wm_a,
                   "none", sorted(extra)[:3])
            for k in success:  # sound at every moment, not only at the end
                g = got.get(k, [])
                missing = [x for x in on_time.get(k, []) if x not in g]
                expect(not missing, "committed partition %s holds its rows that were on time"
                       % (k,), "all", "missing %s" % missing[:2])
            return sum(len(v) for v in got.values()) == len(a) and success == want_a
        wait_for(settled, "half A: every row committed and the partitions of the rule "
                 "committed", 30, p)
        got, success, _ = read_partitions(out)
        check_rows(got, expected(a), "half A, while running")
        expect(completed_checkpoints(ck), "checkpoints completed", "some", "none")
        r = p.kill9()
        expect(r.rc == -9, "the unbounded job was running until killed", -9, r.rc, r)
        # half B, then --resume at parallelism 3 and 2, killed at random moments
        b = gen_rows(rng, 1500, T0 + 4 * 60000 + 30000, 4 * 60000, first_id=20000)
        tail_b = [(29000 + k, 1, 1, T0 + 9 * 60000 + 30000 - k, "t", "2024-05-01", "12:09", False)
                  for k in range(3)]
        b += tail_b
        for k in range(3):
            m.produce("bids", [csv_line(r) for r in b[k::3]], partition=k)
        everything = a + b
        by_part = [a[k::3] + b[k::3] for k in range(3)]
        wm = watermark_of(by_part)
        want = committable(set(expected(everything)), wm)
        p = Started(tmp, "run1", ["run", "-p", "3", "--checkpoint-dir", ck,
                                  "--checkpoint-interval", "100", "--resume", script])
        time.sleep(rng.uniform(0.3, 1.0))
        r = p.kill9()
        p = Started(tmp, "run2", ["run", "-p", "2", "--checkpoint-dir", ck,
                                  "--checkpoint-interval", "100", "--resume", script])

        def settled_all():
            got, success, _ = read_partitions(out)
            return sum(len(v) for v in got.values()) >= len(everything) and success == want
        wait_for(settled_all, "every row committed after the restores, and the partitions "
                 "of the new watermark", 30, p)
        time.sleep(0.3)  # a few more checkpoints: nothing more may come
        got, success, hidden = read_partitions(out)
        r = p.kill9()
        check_rows(got, expected(everything), "after kill -9 and --resume at p=3 and p=2", r)
        expect(success == want, "the committed partitions after the restores", sorted(want),
               sorted(success), r)
    finally:
        m.stop()


def test_bad_options_are_named(tmp):
    """Options rill does not know, or bad values, fail the script naming the option."""
    out = os.path.join(tmp, "out")
    cases = [
        ("'sink.partition-commit.policy.kind' = 'metastore'", "metastore"),
        ("'sink.partition-commit.delay' = 'soon'", "'sink.partition-commit.delay'"),
        ("'sink.rolling-policy.file-size' = '12 parsecs'", "'sink.rolling-policy.file-size'"),
        ("'sink.partition-commit.trigger' = 'whenever'", "'sink.partition-commit.trigger'"),
        ("'auto-compaction' = 'true'", "'auto-compaction'"),
        ("'partition.time-extractor.timestamp-pattern' = '$day'", "names no partition key"),
        ("'sink.part-prefix' = '.hidden'", "'sink.part-prefix'"),
    ]
    for opt, needle in cases:
        script = os.path.join(tmp, "bad.sql")
        with open(script, "w", encoding="utf-8") as f:
            f.write("""
CREATE TABLE src (a BIGINT, dt STRING) WITH ('connector' = 'filesystem', 'path' = '%s',
  'format' = 'csv');
CREATE TABLE dst (a BIGINT, dt STRING) PARTITIONED BY (dt) WITH ('connector' = 'filesystem',
  'path' = '%s', 'format' = 'csv', %s);
INSERT INTO dst SELECT a, dt FROM src;
""" % (script, out, opt))
        r = run(["run", script])
        expect(r.rc != 0, "%s is refused" % opt, "a failure", r.rc, r)
        expect_in(needle, r.err, "the error names it", r)
        expect_in("dst", r.err, "the error names the table", r)
    # a partition key that is no column
    with open(script, "w", encoding="utf-8") as f:
        f.write("""
CREATE TABLE src (a BIGINT) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
CREATE TABLE dst (a BIGINT, b BIGINT) PARTITIONED BY (c) WITH ('connector' = 'filesystem',
  'path' = '%s', 'format' = 'csv');
INSERT INTO dst SELECT a, a FROM src;
""" % (script, out))
    r = run(["run", script])
    expect(r.rc != 0, "an unknown partition key is refused", "a failure", r.rc, r)
    expect_in("'c'", r.err, "the error names the key", r)


TWO_INSERTS_SQL = """
CREATE TABLE gen (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '6000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '0', 'fields.id.end' = '%(last)d');
CREATE TABLE dst (tag STRING, id BIGINT) %(parts)s
  WITH ('connector' = 'filesystem', 'path' = '%(out)s', 'format' = 'csv');
INSERT INTO dst SELECT 'a', id FROM gen;
INSERT INTO dst SELECT 'b', id * 2 FROM gen WHERE MOD(id, 499) = 0;
"""


def test_two_inserts_into_one_table(tmp):
    """Two INSERTs into one filesystem table (one directory, also partitioned), with
    checkpoints, killed with SIGKILL and resumed at random parallelisms: each statement's rows
    are committed exactly once. The two sinks used to write the same part file names, each
    overwriting the other's files and deleting them as its own on a restore (rows lost with
    exit code 0, or a restore that failed forever)."""
    from rill_e2e import kill_and_resume
    rng = seeded_rng("sql-two-inserts")
    last = 17999
    want = sorted(["a,%d" % i for i in range(last + 1)] +
                  ["b,%d" % (2 * i) for i in range(last + 1) if i % 499 == 0])
    for parts in ("", "PARTITIONED BY (tag)"):
        out = os.path.join(tmp, "out%d" % bool(parts))
        ck = os.path.join(tmp, "ck%d" % bool(parts))
        script = os.path.join(tmp, "two%d.sql" % bool(parts))
        with open(script, "w", encoding="utf-8") as f:
            f.write(TWO_INSERTS_SQL % {"last": last, "out": out, "parts": parts})
        kills, r = kill_and_resume(tmp, rng, ["--checkpoint-dir", ck, "--checkpoint-interval",
                                              "100", "--resume", script], ck, runs=3,
                                   pause=(0.2, 0.8))
        got = []
        for root, _, files in os.walk(out):
            tag = os.path.basename(root)[4:] if os.path.basename(root).startswith("tag=") else None
            for name in files:
                if name.startswith("."):
                    continue
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    got += [(tag + "," + ln) if tag else ln for ln in f.read().splitlines()]
        got.sort()
        if got != want:
            expect(False, "%s: each INSERT's rows once after %d kills" % (parts or "plain", kills),
                   "%d rows" % len(want), "%d rows, %d missing, %d extra" % (
                       len(got), len(set(want) - set(got)), len(got) - len(set(got))), r)


def test_partitioned_source(tmp):
    """A filesystem table with PARTITIONED BY read back as Flink's FileSystemTableSource reads
    it: the files under the key=value directories (recursively, names starting with '.' or '_'
    skipped, files outside the partitions' depth not read), the partition columns filled from
    the path, unescaped and typed as the column (__DEFAULT_PARTITION__ or
    'partition.default-name' is NULL), also when a projection reads only some columns, in CSV
    and JSON; a non-partitioned table reads nested directories too. Rows written out by hand
    below, and the rows of a partitioned sink read back."""
    root = os.path.join(tmp, "in")

    def put(rel, text):
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    put("dt=2024-05-01/h=7/part-0-0", "1,a\n2,b\n")
    put("dt=2024-05-01/h=7/sub/more", "3,c\n")                   # nested: read
    put("dt=2024-05-02/h=12/part-0-0", "4,d\n")
    put("dt=2024-05-02/h=__DEFAULT_PARTITION__/part-0-0", "5,e\n")  # h NULL
    put("dt=x%3Ay/h=1/p", "6,f\n")                                 # dt 'x:y'
    put("dt=2024-05-02/h=12/_SUCCESS", "")                        # hidden
    put("dt=2024-05-02/h=12/.part-0-1.inprogress", "9,z\n")       # hidden
    put("_tmp/h=1/p", "9,z\n")                                     # hidden directory
    put("other=1/h=1/p", "9,z\n")                                  # no partition of dt
    put("dt=2024-05-03/stray", "9,z\n")                            # above the partitions
    ddl = ("CREATE TABLE pin (id INT, s STRING, dt STRING, h INT) PARTITIONED BY (dt, h) "
           "WITH ('connector'='filesystem','path'='%s','format'='csv'%%s);\n" % root)
    want = ["+I[1, a, 2024-05-01, 7]", "+I[2, b, 2024-05-01, 7]", "+I[3, c, 2024-05-01, 7]",
            "+I[4, d, 2024-05-02, 12]", "+I[5, e, 2024-05-02, null]", "+I[6, f, x:y, 1]"]
    script = os.path.join(tmp, "p.sql")

    def run_script(sql, par=1):
        with open(script, "w", encoding="utf-8") as f:
            f.write(sql)
        return run(["run", "-p", str(par), script])

    for par in (1, 2):
        r = run_script(ddl % "" + "SELECT * FROM pin;\n", par)
        expect_rc(r, 0)
        got = sorted(re.sub(r"^\d+> ", "", x) for x in r.out.splitlines() if x)
        expect(got == want, "p=%d: the partitioned table's rows" % par, want, got, r)
    r = run_script(ddl % "" + "SELECT h, s FROM pin WHERE id > 3;\n")
    expect_rc(r, 0)
    want_p = ["+I[12, d]", "+I[1, f]", "+I[null, e]"]
    expect(sorted(r.out.split("\n")[:-1]) == sorted(want_p), "a projection", want_p, r.out, r)
    # another default name; then __DEFAULT_PARTITION__ is a value, no INT: it fails, named
    other = os.path.join(tmp, "other")
    for rel, text in (("dt=a/h=none/p", "7,g\n"), ("dt=a/h=__DEFAULT_PARTITION__/p", "8,h\n")):
        os.makedirs(os.path.dirname(os.path.join(other, rel)), exist_ok=True)
        with open(os.path.join(other, rel), "w", encoding="utf-8") as f:
            f.write(text)
    ddl_o = ddl.replace(root, other) % ",'partition.default-name'='none'"
    r = run_script(ddl_o + "SELECT id, h FROM pin;\n")
    expect_rc(r, 1)
    expect_in("partition h=__DEFAULT_PARTITION__: expected INT for field 'h'", r.err,
              "a bad partition value is named", r)
    os.remove(os.path.join(other, "dt=a/h=__DEFAULT_PARTITION__/p"))
    r = run_script(ddl_o + "SELECT id, h FROM pin;\n")
    expect_rc(r, 0)
    expect(r.out.strip() == "+I[7, null]", "partition.default-name is NULL", "+I[7, null]",
           r.out, r)
    # JSON: the lines hold the other columns; a key named as a partition column is not read
    jroot = os.path.join(tmp, "json")
    os.makedirs(os.path.join(jroot, "dt=2024-05-01"))
    with open(os.path.join(jroot, "dt=2024-05-01", "p.json"), "w", encoding="utf-8") as f:
        f.write('{"id":1,"s":"a","dt":"nope"}\n{"s":"b","id":2}\n')
    r = run_script("CREATE TABLE pj (id INT, dt DATE, s STRING) PARTITIONED BY (dt) WITH ("
                   "'connector'='filesystem','path'='%s','format'='json',"
                   "'json.fail-on-missing-field'='true');\nSELECT * FROM pj;\n" % jroot)
    expect_rc(r, 0)
    want_j = ["+I[1, 2024-05-01, a]", "+I[2, 2024-05-01, b]"]
    expect(r.out.split("\n")[:-1] == want_j, "a partitioned JSON table", want_j, r.out, r)
    # a table that is not partitioned reads every file under its directory, nested too
    r = run_script("CREATE TABLE flat (id INT, s STRING) WITH ('connector'='filesystem',"
                   "'path'='%s','format'='csv');\nSELECT id FROM flat;\n" % root)
    expect_rc(r, 0)
    ids = sorted(int(x[3:-1]) for x in r.out.split("\n")[:-1])
    want_ids = [1, 2, 3, 4, 5, 6, 9, 9]  # other=1/h=1/p and dt=2024-05-03/stray too
    expect(ids == want_ids, "the nested files of a plain directory", want_ids, ids, r)
    # what a partitioned sink writes reads back as it was
    out = os.path.join(tmp, "out")
    r = run_script(ddl % "" + "CREATE TABLE dst (id INT, s STRING, dt STRING, h INT) "
                   "PARTITIONED BY (dt, h) WITH ('connector'='filesystem','path'='%s',"
                   "'format'='csv');\nINSERT INTO dst SELECT * FROM pin;\n" % out)
    expect_rc(r, 0)
    r = run_script(ddl.replace(root, out) % "" + "SELECT * FROM pin;\n")
    expect_rc(r, 0)
    got = sorted(r.out.split("\n")[:-1])
    expect(got == want, "the sink's partitions read back", want, got, r)
    expect(os.path.isdir(os.path.join(out, "dt=x%3Ay")) and
           os.path.isdir(os.path.join(out, "dt=2024-05-02", "h=__DEFAULT_PARTITION__")),
           "the sink's directories", "dt=x%3Ay and h=__DEFAULT_PARTITION__", os.listdir(out))


if __name__ == "__main__":
    main([test_bounded_partitions, test_escaped_partition_values,
          test_kafka_commit_before_the_end_kill_and_resume, test_bad_options_are_named,
          test_two_inserts_into_one_table, test_partitioned_source])
