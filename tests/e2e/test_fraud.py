"""End-to-end tests of the fraud example job: `rill run fraud.so` on random transaction files
at parallelism 1, 2 and 4, checked against alerts computed independently here."""
import datetime
import os
import random
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import (ALERT_HEADER, Failure, compare_alerts, expect, expect_rc,  # noqa: E402
                      expected_alerts, fraud_so, gen_transactions, main, parse_alerts,
                      read_text, run, write_csv)

# (seed, rows, threshold)
DATASETS = [(1, 20000, 1000.0), (2, 35000, 2500.5), (3, 50000, 5000.0)]


def run_fraud(tmp, input_path, threshold, parallelism, extra=(), tag=""):
    out = os.path.join(tmp, "alerts-p%d%s.csv" % (parallelism, tag))
    args = ["run", fraud_so(), "--parallelism", str(parallelism)] + list(extra) + [
        "--", "--input", input_path, "--output", out, "--threshold", repr(threshold)]
    r = run(args)
    expect_rc(r, 0)
    expect(os.path.isfile(out), "output %s is one regular file" % out, "a file",
           "a directory" if os.path.isdir(out) else "missing", r)
    return parse_alerts(read_text(out), "p=%d %s" % (parallelism, " ".join(extra)))


def test_random_parallelism(tmp):
    for seed, n, threshold in DATASETS:
        rows = gen_transactions(seed, n)
        path = os.path.join(tmp, "tx-%d.csv" % seed)
        write_csv(path, rows)
        expected = expected_alerts(rows, threshold)
        expect(len(expected) > 100, "seed %d makes enough alerts" % seed, "> 100",
               len(expected))
        for p in (1, 2, 4):
            actual = run_fraud(tmp, path, threshold, p)
            compare_alerts(expected, actual, "seed %d, parallelism %d" % (seed, p))


def test_small_batches(tmp):
    rows = gen_transactions(11, 20000)
    path = os.path.join(tmp, "tx.csv")
    write_csv(path, rows)
    expected = expected_alerts(rows, 1500.0)
    for p, batch in ((1, 1), (3, 7), (4, 100)):
        actual = run_fraud(tmp, path, 1500.0, p, ("--batch-size", str(batch)), "-b%d" % batch)
        compare_alerts(expected, actual, "parallelism %d, batch size %d" % (p, batch))


def split_by_user(rows, k):
    parts = [[] for _ in range(k)]
    for row in rows:
        parts[row[0] % k].append(row)
    return parts


def test_directory_input(tmp):
    rows = gen_transactions(21, 30000)
    d = os.path.join(tmp, "in")
    os.mkdir(d)
    for i, part in enumerate(split_by_user(rows, 3)):
        write_csv(os.path.join(d, "tx-%d.csv" % i), part)
    expected = expected_alerts(rows, 1000.0)
    for p in (1, 2, 4):
        compare_alerts(expected, run_fraud(tmp, d, 1000.0, p), "directory, parallelism %d" % p)


def test_glob_input(tmp):
    rows = gen_transactions(22, 30000)
    d = os.path.join(tmp, "in")
    os.mkdir(d)
    for i, part in enumerate(split_by_user(rows, 3)):
        write_csv(os.path.join(d, "part-%d.csv" % i), part)
    # files the glob must not pick up: they would not parse as transactions
    with open(os.path.join(d, "notes.txt"), "w") as f:
        f.write("not,a,transaction\nx,y,z\n")
    with open(os.path.join(d, "other-0.csv"), "w") as f:
        f.write("user_id,amount,ts\n1,not-a-number,0\n")
    expected = expected_alerts(rows, 1000.0)
    pattern = os.path.join(d, "part-*.csv")
    for p in (1, 3):
        compare_alerts(expected, run_fraud(tmp, pattern, 1000.0, p), "glob, parallelism %d" % p)


def iso_ms(ms):
    """epoch ms -> ISO-8601 UTC with milliseconds: 2023-11-14T22:13:20.123Z"""
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def test_csv_columns_by_name(tmp):
    # columns in another order, an extra quoted column with delimiters and "" escapes, some
    # timestamps in ISO-8601, CRLF line ends: the header maps columns to the schema by name
    rows = gen_transactions(23, 20000)
    rng = random.Random(23)
    path = os.path.join(tmp, "tx.csv")
    with open(path, "w", newline="") as f:
        f.write("ts,note,amount,user_id\r\n")
        for user, amount, ts in rows:
            t = iso_ms(ts) if rng.random() < 0.3 else str(ts)
            note = rng.choice(['plain', '"a,b"', '"say ""hi"""', '', '"x, ""y"", z"'])
            amt = '"%s"' % amount if rng.random() < 0.1 else amount
            f.write("%s,%s,%s,%d\r\n" % (t, note, amt, user))
    expected = expected_alerts(rows, 1200.0)
    for p in (1, 2):
        compare_alerts(expected, run_fraud(tmp, path, 1200.0, p), "columns by name, p=%d" % p)


def test_empty_input(tmp):
    path = os.path.join(tmp, "empty.csv")
    write_csv(path, [])
    for p in (1, 2):
        out = os.path.join(tmp, "alerts-%d.csv" % p)
        r = run(["run", fraud_so(), "-p", str(p), "--", "--input", path, "--output", out])
        expect_rc(r, 0)
        text = read_text(out)
        expect(text == ALERT_HEADER + "\n", "p=%d: output of an empty input" % p,
               repr(ALERT_HEADER + "\n"), repr(text), r)


def test_generated_demo(tmp):
    r = run(["run", fraud_so(), "--", "--events", "200000"])
    expect_rc(r, 0)
    pat = r"fraud: events=200000 alerts=\d+ .* events_per_s="
    expect(re.search(pat, r.out) is not None, "summary line", pat, r.out, r)
    # at parallelism 4 every generated event is still counted once (the alert count may
    # differ: a user's events come from several source subtasks, in no fixed order)
    r4 = run(["run", fraud_so(), "-p", "4", "--", "--events", "200000", "--users", "100"])
    expect_rc(r4, 0)
    expect(re.search(pat, r4.out) is not None, "summary line at parallelism 4", pat, r4.out, r4)


def test_output_stdout(tmp):
    rows = gen_transactions(31, 5000)
    path = os.path.join(tmp, "tx.csv")
    write_csv(path, rows)
    expected = expected_alerts(rows, 800.0)
    for p in (1, 2):
        r = run(["run", fraud_so(), "-p", str(p), "--", "--input", path, "--output", "-",
                 "--threshold", "800"])
        expect_rc(r, 0)
        try:
            actual = parse_alerts(r.out, "stdout p=%d" % p)
        except Failure as e:
            raise Failure("%s\n%s" % (e, r.describe()))
        compare_alerts(expected, actual, "stdout, parallelism %d" % p)


if __name__ == "__main__":
    main([test_random_parallelism, test_small_batches, test_directory_input, test_glob_input,
          test_csv_columns_by_name, test_empty_input, test_generated_demo, test_output_stdout])
