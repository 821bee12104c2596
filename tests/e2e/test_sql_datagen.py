"""End-to-end tests of the datagen connector in SQL (`rill run SCRIPT.sql`): sequences give
every value exactly once at parallelism 1, 2 and 3 (read back from the exactly-once filesystem
sink and by SQL aggregates), random values stay within their options, number-of-rows bounds
the table and rows-per-second paces it, computed columns and a WATERMARK work on it, bad
options are refused naming the option and the table, and kill -9 with --resume at other
parallelisms still commits each value exactly once (and the same random values as an
uninterrupted run: rill's random fields are a function of the row's index).
"""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import (committed_rows, expect, expect_in, expect_rc,  # noqa: E402
                      kill_and_resume, main, run, seeded_rng)


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def each_once(ids, lo, hi, what, r=None):
    """ids holds every integer of [lo, hi] exactly once."""
    seen, dups = set(), []
    for i in ids:
        if i in seen:
            dups.append(i)
        seen.add(i)
    missing = [i for i in range(lo, hi + 1) if i not in seen][:10]
    extra = sorted(i for i in seen if not lo <= i <= hi)[:10]
    expect(not dups and not missing and not extra,
           "%s: every value %d..%d exactly once" % (what, lo, hi), "%d values" % (hi - lo + 1),
           "%d values; duplicates %s, missing %s, unexpected %s" % (len(ids), sorted(dups)[:10],
                                                                    missing, extra), r)


SEQ_SQL = """
SET 'parallelism.default' = '%(par)d';
CREATE TABLE gen (
  id BIGINT,
  small INT,
  name STRING
) WITH (
  'connector' = 'datagen',
  'rows-per-second' = '1000000',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '%(lo)d', 'fields.id.end' = '%(hi)d',
  'fields.small.kind' = 'sequence', 'fields.small.start' = '-1000000',
  'fields.small.end' = '1000000',
  'fields.name.length' = '5'
);
CREATE TABLE out_t (id BIGINT, small INT, name STRING)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s', 'format' = 'csv');
INSERT INTO out_t SELECT id, small, name FROM gen;
"""


def test_sequences_each_value_once(tmp):
    """A sequence of 20,000 values (and a longer one beside it) at parallelism 1, 2 and 3: the
    committed rows hold each value once, the second sequence in step with the first (the same
    row index), and names of 5 hex characters."""
    lo, hi = -7, 19992
    first = None
    for par in (1, 2, 3):
        out = os.path.join(tmp, "out-%d" % par)
        script = write(tmp, "seq%d.sql" % par, SEQ_SQL % {"par": par, "lo": lo, "hi": hi,
                                                           "out": out})
        r = run(["run", script])
        expect_rc(r, 0)
        rows = [line.split(",") for line in committed_rows(out, header=False)]
        ids = [int(c[0]) for c in rows]
        each_once(ids, lo, hi, "p=%d" % par, r)
        bad = [c for c in rows if int(c[1]) != -1000000 + int(c[0]) - lo or len(c[2]) != 5 or
               any(ch not in "0123456789abcdef" for ch in c[2])]
        expect(not bad, "p=%d: small = -1000000 + (id - start), 5 hex characters" % par, "[]",
               bad[:5], r)
        rows.sort(key=lambda c: int(c[0]))
        first = first or rows
        diff = [(a, b) for a, b in zip(first, rows) if a != b][:3]
        expect(not diff, "p=%d: the same rows as at p=1 (random names included)" % par,
               "no difference", diff, r)


AGG_SQL = """
CREATE TABLE gen (id INT, d DECIMAL(12, 2), s VARCHAR(6))
WITH ('connector' = 'datagen', 'rows-per-second' = '1000000',
      'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '5000',
      'fields.d.kind' = 'sequence', 'fields.d.start' = '1', 'fields.d.end' = '5000',
      'fields.s.kind' = 'sequence', 'fields.s.start' = '1', 'fields.s.end' = '5000');
SELECT COUNT(*), COUNT(DISTINCT id), SUM(id), MIN(id), MAX(id), SUM(d), COUNT(DISTINCT s)
FROM gen;
"""


def test_sequences_by_sql_aggregates(tmp):
    """COUNT, COUNT(DISTINCT), SUM, MIN and MAX over sequences of INT, DECIMAL and VARCHAR at
    parallelism 3: the last printed update is the exact total."""
    script = write(tmp, "agg.sql", AGG_SQL)
    r = run(["run", "-p", "3", script])
    expect_rc(r, 0)
    last = [line for line in r.out.splitlines() if line.strip()][-1]
    n = 5000
    want = "[%d, %d, %d, 1, %d, %d.00, %d]" % (n, n, n * (n + 1) // 2, n, n * (n + 1) // 2, n)
    expect(last.endswith(want), "the final aggregate", "...%s" % want, last, r)


RANDOM_SQL = """
CREATE TABLE gen (
  i INT, t TINYINT, big BIGINT, x DOUBLE, d DECIMAL(6, 2), s STRING, v VARCHAR(10),
  ts TIMESTAMP(3), b BOOLEAN
) WITH (
  'connector' = 'datagen',
  'number-of-rows' = '3000',
  'rows-per-second' = '1000000',
  'fields.i.min' = '-5', 'fields.i.max' = '5',
  'fields.big.min' = '1000', 'fields.big.max' = '1002',
  'fields.x.min' = '0.5', 'fields.x.max' = '0.75',
  'fields.d.min' = '-9.99', 'fields.d.max' = '-9.5',
  'fields.s.length' = '7', 'fields.s.null-rate' = '0.2',
  'fields.v.var-len' = 'true',
  'fields.ts.max-past' = '1 h'
);
CREATE TABLE out_t (i INT, t TINYINT, big BIGINT, x DOUBLE, d DECIMAL(6, 2), s STRING,
  v VARCHAR(10), ts TIMESTAMP(3), b BOOLEAN)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s', 'format' = 'csv');
INSERT INTO out_t SELECT * FROM gen;
"""


def test_random_values_within_options(tmp):
    """3,000 random rows at parallelism 2: each value within its min/max, lengths as set, about
    a fifth of s NULL, timestamps within the last hour, both booleans."""
    import csv
    import datetime
    import io
    out = os.path.join(tmp, "out")
    script = write(tmp, "rnd.sql", RANDOM_SQL % {"out": out})
    t0 = time.time()
    r = run(["run", "-p", "2", script])
    t1 = time.time()
    expect_rc(r, 0)
    rows = list(csv.reader(io.StringIO("\n".join(committed_rows(out, header=False)))))
    expect(len(rows) == 3000, "number-of-rows", 3000, len(rows), r)
    nulls, bools = 0, set()
    for c in rows:
        i, t, big, x, d = int(c[0]), int(c[1]), int(c[2]), float(c[3]), float(c[4])
        ok = -5 <= i <= 5 and -128 <= t <= 127 and 1000 <= big <= 1002 and 0.5 <= x <= 0.75
        ok = ok and -9.99 <= d <= -9.5 and 1 <= len(c[6]) <= 10
        if c[5] == "":
            nulls += 1
        else:
            ok = ok and len(c[5]) == 7
        ts = datetime.datetime.strptime(c[7].ljust(23, "0") if "." in c[7] else c[7] + ".000",
                                        "%Y-%m-%d %H:%M:%S.%f")
        ms = (ts - datetime.datetime(1970, 1, 1)).total_seconds()
        ok = ok and t0 - 3600 - 1 <= ms <= t1 + 1
        bools.add(c[8])
        expect(ok, "a row within the options", "within", c, r)
    expect(400 < nulls < 800, "about 20% of s NULL", "400..800", nulls, r)
    expect(bools == {"true", "false"}, "both booleans", {"true", "false"}, bools, r)


PACE_SQL = """
CREATE TABLE gen (id BIGINT, x INT)
WITH ('connector' = 'datagen', 'rows-per-second' = '%(rate)d', 'number-of-rows' = '%(n)d'%(seq)s);
CREATE TABLE out_t (id BIGINT, x INT)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s', 'format' = 'csv');
INSERT INTO out_t SELECT * FROM gen;
"""


def test_number_of_rows_and_rows_per_second(tmp):
    """number-of-rows bounds the table (and a shorter sequence ends it first); 600 rows at 1,000
    rows/s over 2 subtasks take at least ~0.6 s (loosely: no upper bound)."""
    out = os.path.join(tmp, "paced")
    script = write(tmp, "pace.sql", PACE_SQL % {"rate": 1000, "n": 600, "seq": "", "out": out})
    t0 = time.monotonic()
    r = run(["run", "-p", "2", script])
    took = time.monotonic() - t0
    expect_rc(r, 0)
    expect(len(committed_rows(out, header=False)) == 600, "600 rows", 600,
           len(committed_rows(out, header=False)), r)
    expect(took >= 0.5, "600 rows at 1000 rows/s take >= ~0.6 s", ">= 0.5 s", took, r)
    out = os.path.join(tmp, "short")
    seq = (", 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', "
           "'fields.id.end' = '250'")
    script = write(tmp, "short.sql", PACE_SQL % {"rate": 1000000, "n": 600, "seq": seq,
                                                 "out": out})
    r = run(["run", "-p", "3", script])
    expect_rc(r, 0)
    each_once([int(x.split(",")[0]) for x in committed_rows(out, header=False)], 1, 250,
              "a sequence shorter than number-of-rows", r)


WM_SQL = """
CREATE TABLE gen (
  id BIGINT,
  ts TIMESTAMP(3),
  id2 AS id * 2,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'datagen', 'rows-per-second' = '4000',
        'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '2000');
SELECT window_start, COUNT(*), SUM(id2)
FROM TABLE(TUMBLE(TABLE gen, DESCRIPTOR(ts), INTERVAL '1' SECOND))
GROUP BY window_start, window_end;
"""


def test_computed_column_and_watermark(tmp):
    """A computed column and a WATERMARK on a datagen table's timestamp (the wall clock): the
    one-second windows together count every row once and sum the computed column."""
    script = write(tmp, "wm.sql", WM_SQL)
    r = run(["run", "-p", "2", script])
    expect_rc(r, 0)
    rows = [line.rsplit("[", 1)[1].rstrip("]").split(", ") for line in r.out.splitlines()
            if "+I[" in line]
    expect(rows, "windows printed", "some", r.out, r)
    count = sum(int(c[1]) for c in rows)
    total = sum(int(c[2]) for c in rows)
    expect((count, total) == (2000, 2000 * 2001), "every row in one window", (2000, 2000 * 2001),
           (count, total), r)


def test_bad_options_name_the_option_and_table(tmp):
    """Unknown options, bad values, min > max, a sequence without an end or on a type that
    cannot be one: exit status 1, the table and the option named."""
    cases = [
        ("'fields.i.min' = '9', 'fields.i.max' = '1'", "column 'i': min (9) is greater than max"),
        ("'fields.i.max' = 'lots'", "option 'fields.i.max': 'lots' is not an integer"),
        ("'fields.i.kind' = 'sequence', 'fields.i.start' = '1'", "it needs 'fields.i.end'"),
        ("'fields.b.kind' = 'sequence', 'fields.b.start' = '1', 'fields.b.end' = '2'",
         "column 'b' is BOOLEAN, which cannot be a sequence"),
        ("'fields.nope.min' = '1'", "unsupported option 'fields.nope.min'"),
        ("'rows-per-sec' = '1'", "unsupported option 'rows-per-sec'"),
        ("'fields.b.length' = '3'", "option 'fields.b.length' does not apply to column 'b'"),
    ]
    for opts, want in cases:
        script = write(tmp, "bad.sql", "CREATE TABLE src_t (i INT, b BOOLEAN) WITH "
                       "('connector' = 'datagen', %s);\nSELECT * FROM src_t;\n" % opts)
        r = run(["run", script])
        expect_rc(r, 1)
        expect_in("datagen table 'src_t'", r.err, "the table named", r)
        expect_in(want, r.err, "the option named", r)


KILL_SQL = """
CREATE TABLE gen (id BIGINT, x INT, s STRING)
WITH ('connector' = 'datagen', 'rows-per-second' = '12000',
      'fields.id.kind' = 'sequence', 'fields.id.start' = '0', 'fields.id.end' = '%(last)d',
      'fields.x.min' = '0', 'fields.x.max' = '1000000', 'fields.s.length' = '6');
CREATE TABLE out_t (id BIGINT, x INT, s STRING)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s', 'format' = 'csv');
INSERT INTO out_t SELECT * FROM gen;
"""


def test_kill_and_resume_at_other_parallelisms(tmp):
    """A sequence of 36,000 values at 12,000 rows/s into the exactly-once filesystem sink,
    killed with SIGKILL at random moments (the first time after a checkpoint completed) and
    resumed with --resume at random parallelisms: each value is committed exactly once, with
    the random columns an uninterrupted run at parallelism 1 gives."""
    rng = seeded_rng("datagen-kill")
    last = 35999
    ref = os.path.join(tmp, "ref")
    r = run(["run", "-p", "1", write(tmp, "ref.sql", KILL_SQL % {"last": last, "out": ref})])
    expect_rc(r, 0)
    want = sorted(committed_rows(ref, header=False), key=lambda s: int(s.split(",")[0]))
    each_once([int(s.split(",")[0]) for s in want], 0, last, "the uninterrupted run", r)
    out, ck = os.path.join(tmp, "out"), os.path.join(tmp, "ck")
    script = write(tmp, "chaos.sql", KILL_SQL % {"last": last, "out": out})
    kills, r = kill_and_resume(tmp, rng, ["--checkpoint-dir", ck, "--checkpoint-interval",
                                          "100", "--resume", script], ck, pause=(0.2, 0.8),
                               first_pause=(0, 0.3))
    expect(kills >= 3, "most runs were killed", ">= 3 kills", kills)
    got = committed_rows(out, header=False)
    each_once([int(s.split(",")[0]) for s in got], 0, last, "after %d kills" % kills, r)
    got.sort(key=lambda s: int(s.split(",")[0]))
    diff = [(a, b) for a, b in zip(want, got) if a != b][:3]
    expect(not diff, "the rows equal the uninterrupted run's", "no difference", diff, r)


if __name__ == "__main__":
    main([test_sequences_each_value_once, test_sequences_by_sql_aggregates,
          test_random_values_within_options, test_number_of_rows_and_rows_per_second,
          test_computed_column_and_watermark, test_bad_options_name_the_option_and_table,
          test_kill_and_resume_at_other_parallelisms])
