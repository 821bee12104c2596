"""End-to-end tests of failing jobs: malformed input under the fail and skip policies (with a
dead-letter file), a user function that fails, and graphs that cannot run. Every failure must
end the process with status 1 and a message that says what and where, never a crash."""
import json
import os
import random
import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import (RILL_BIN, SANITIZER_MARKS, Failure, compare_alerts,  # noqa: E402
                      expect, expect_in, expect_rc, expected_alerts, fraud_so,
                      gen_transactions, job_so, main, parse_alerts, read_text, run, write_csv)

# malformed rows (text, what the message must mention: any one of the words)
BAD_ROWS = [
    ("1,12x,1000", ("amount", "DOUBLE")),
    ("abc,1.00,1000", ("user_id", "INT64")),
    ("7,1.00", ("column", "amount", "ts")),
    ("7,,1000", ("amount", "DOUBLE")),
    ("7,1.00,1000,9", ("column",)),
    ("7,1.00,notats", ("ts", "TIMESTAMP")),
    ("99999999999999999999,1.00,1000", ("user_id", "INT64")),
    ('7,"1x""2",1000', ("amount", "DOUBLE")),
    ("7,12\\x,1000", ("amount", "DOUBLE")),
]


def fraud_args(input_path, output_path, threshold=1000.0, p=1, extra=()):
    return ["run", fraud_so(), "-p", str(p)] + list(extra) + [
        "--", "--input", input_path, "--output", output_path, "--threshold", repr(threshold)]


def test_malformed_fails_by_default(tmp):
    for k, (bad, words) in enumerate(BAD_ROWS):
        path = os.path.join(tmp, "tx-%d.csv" % k)
        with open(path, "w") as f:
            f.write("user_id,amount,ts\n5,20.50,999\n%s\n6,1.25,1001\n" % bad)
        r = run(fraud_args(path, os.path.join(tmp, "out.csv")))
        expect_rc(r, 1)
        expect(re.search(re.escape(path) + r":3:\d+", r.err) is not None,
               "row %r: message names file:line:column" % bad, path + ":3:<column>", r.err, r)
        expect(any(w in r.err for w in words), "row %r: message says what was expected" % bad,
               "one of %s" % (words,), r.err, r)
    # the column: the amount field of `1,12x,1000` starts at column 3
    path = os.path.join(tmp, "tx-0.csv")
    r = run(fraud_args(path, os.path.join(tmp, "out.csv")))
    expect_in(path + ":3:3", r.err, "column of the bad amount", r)


def test_malformed_far_into_the_file(tmp):
    rows = gen_transactions(41, 20000)
    lines = ["%s,%s,%s" % row for row in rows]
    bad_line = 12345  # header is line 1
    lines[bad_line - 2] = "%d,12.3.4,%d" % (rows[bad_line - 2][0], rows[bad_line - 2][2])
    path = os.path.join(tmp, "tx.csv")
    with open(path, "w") as f:
        f.write("user_id,amount,ts\n" + "\n".join(lines) + "\n")
    for p, batch in ((1, 1024), (2, 100), (4, 1)):
        r = run(fraud_args(path, os.path.join(tmp, "out.csv"), p=p,
                           extra=("--batch-size", str(batch))))
        expect_rc(r, 1)
        expect_in("%s:%d:" % (path, bad_line), r.err,
                  "p=%d batch=%d: message names the bad line" % (p, batch), r)
        expect_in("12.3.4", r.err, "message shows the bad value", r)


def make_with_bad_rows(seed, n_good, n_bad):
    """Good rows with bad ones scattered in; returns (good rows, file lines, bad (line, raw))."""
    rng = random.Random(seed)
    good = gen_transactions(seed, n_good)
    lines, bad = [], []
    bad_at = set(rng.sample(range(n_good), n_bad))
    for i, row in enumerate(good):
        if i in bad_at:
            raw = rng.choice(BAD_ROWS)[0]
            lines.append(raw)
            bad.append((len(lines) + 1, raw))  # +1 for the header line
        lines.append("%s,%s,%s" % row)
    return good, lines, bad


def read_dead_letters(path, what):
    expect(os.path.isfile(path), what + ": dead-letter file exists", path, "missing")
    entries = []
    for n, line in enumerate(read_text(path).splitlines(), start=1):
        try:
            entries.append(json.loads(line))
        except ValueError as e:
            raise Failure("%s: dead-letter line %d is not JSON (%s): %r" % (what, n, e, line))
    for e in entries:
        expect(isinstance(e, dict) and isinstance(e.get("line"), int) and
               isinstance(e.get("record"), str), what + ": dead-letter entry fields",
               '{"line": <int>, "record": <str>, ...}', e)
    return entries


def test_skip_with_dead_letter_file(tmp):
    good, lines, bad = make_with_bad_rows(51, 20000, 30)
    path = os.path.join(tmp, "tx.csv")
    with open(path, "w") as f:
        f.write("user_id,amount,ts\n" + "\n".join(lines) + "\n")
    expected = expected_alerts(good, 1000.0)
    for p in (1, 2, 4):
        out = os.path.join(tmp, "out-%d.csv" % p)
        dl = os.path.join(tmp, "dead-%d.jsonl" % p)
        r = run(fraud_args(path, out, p=p,
                           extra=("--bad-records", "skip", "--dead-letter-file", dl)))
        expect_rc(r, 0)
        compare_alerts(expected, parse_alerts(read_text(out), "p=%d" % p),
                       "skip policy, parallelism %d" % p)
        entries = read_dead_letters(dl, "p=%d" % p)
        actual = sorted((e["line"], e["record"]) for e in entries)
        expect(actual == sorted(bad), "p=%d: dead letters (line, record)" % p, sorted(bad),
               actual, r)


def test_skip_over_several_files(tmp):
    d = os.path.join(tmp, "in")
    os.mkdir(d)
    expected_bad, all_good = [], []
    for k in range(2):
        good, lines, bad = make_with_bad_rows(60 + k, 10000, 10)
        # user ids of file k are kept apart: users 1..1000 in file 0, 1001..2000 in file 1
        good = [(u + 1000 * k, a, ts) for u, a, ts in good]
        lines = [line if any(line == b for _, b in bad) else
                 "%d,%s" % (int(line.split(",")[0]) + 1000 * k, line.split(",", 1)[1])
                 for line in lines]
        name = "tx-%d.csv" % k
        with open(os.path.join(d, name), "w") as f:
            f.write("user_id,amount,ts\n" + "\n".join(lines) + "\n")
        expected_bad += [(name, line, raw) for line, raw in bad]
        all_good += good
    expected = expected_alerts(all_good, 1000.0)
    out = os.path.join(tmp, "out.csv")
    dl = os.path.join(tmp, "dead.jsonl")
    r = run(fraud_args(d, out, p=2, extra=("--bad-records", "skip", "--dead-letter-file", dl)))
    expect_rc(r, 0)
    compare_alerts(expected, parse_alerts(read_text(out), "directory"), "skip, 2 files")
    entries = read_dead_letters(dl, "2 files")
    actual = sorted((os.path.basename(str(e.get("file"))), e["line"], e["record"])
                    for e in entries)
    expect(actual == sorted(expected_bad), "dead letters (file, line, record) of 2 files",
           sorted(expected_bad), actual, r)


def test_missing_input_file(tmp):
    path = os.path.join(tmp, "nope.csv")
    r = run(fraud_args(path, os.path.join(tmp, "out.csv")))
    expect_rc(r, 1)
    expect_in("nope.csv", r.err, "message names the missing input", r)


def test_missing_column(tmp):
    path = os.path.join(tmp, "tx.csv")
    with open(path, "w") as f:
        f.write("user_id,ts\n1,1000\n")
    r = run(fraud_args(path, os.path.join(tmp, "out.csv")))
    expect_rc(r, 1)
    expect_in("amount", r.err, "message names the missing NOT NULL column", r)


def write_failing_input(path, n, bad_index, users=200):
    rng = random.Random(n + bad_index)
    with open(path, "w") as f:
        f.write("user_id,amount,ts\n")
        for i in range(n):
            amount = "-3.50" if i == bad_index else "%d.%02d" % (rng.randint(0, 99),
                                                                   rng.randint(0, 99))
            user = 77 if i == bad_index else rng.randint(1, users)
            f.write("%d,%s,%d\n" % (user, amount, 1700000000000 + i))


def test_user_function_failure(tmp):
    n = 20000
    for bad_index in (0, 12345, n - 1):
        path = os.path.join(tmp, "tx-%d.csv" % bad_index)
        write_failing_input(path, n, bad_index)
        for where in ("map", "process"):
            for p in (1, 2, 4):
                out = os.path.join(tmp, "out.csv")
                r = run(["run", job_so("failing_map"), "-p", str(p), "--", "--input", path,
                         "--output", out, "--in", where])
                what = "row %d, %s, p=%d" % (bad_index, where, p)
                expect_rc(r, 1)
                expect_in("boom", r.err, what + ": message names the operator uid", r)
                expect_in("bad amount -3.500000 for user 77", r.err,
                          what + ": message carries the function's message", r)
    # the same job without a bad row succeeds and copies every row
    path = os.path.join(tmp, "ok.csv")
    write_failing_input(path, 5000, -1)
    out = os.path.join(tmp, "ok-out.csv")
    r = run(["run", job_so("failing_map"), "-p", "2", "--", "--input", path, "--output", out])
    expect_rc(r, 0)
    got_lines = read_text(out).splitlines()
    expect(got_lines[:1] == ["user_id,amount,ts"], "copy job header", "user_id,amount,ts",
           got_lines[:1], r)

    def parse(lines):  # numbers may be printed in another, equivalent form: "5.5" for "5.50"
        return sorted((int(a), float(b), int(c)) for a, b, c in (x.split(",") for x in lines))
    want, got = parse(read_text(path).splitlines()[1:]), parse(got_lines[1:])
    if got != want:
        missing = sorted(set(want) - set(got))[:5]
        extra = sorted(set(got) - set(want))[:5]
        raise Failure("copy job rows\n  expected: %d rows\n  actual:   %d rows\n"
                      "  missing (first 5): %s\n  unexpected (first 5): %s\n%s"
                      % (len(want), len(got), missing, extra, r.describe()))


# the exit status of a process whose user function crashed (RILL_EXIT_USER_CRASH)
USER_CRASH_EXIT = 3
CRASH_SIGNALS = {"null": "SIGSEGV", "abort": "SIGABRT", "overflow": "SIGSEGV", "fpe": "SIGFPE"}


def test_user_function_crash(tmp):
    """A user function that dereferences NULL, aborts, overflows its stack or raises SIGFPE
    ends the process with a one-line report naming the job, the operator and the signal, and a
    status of its own, also with checkpointing and a restart strategy on."""
    path = os.path.join(tmp, "tx.csv")
    write_failing_input(path, 5000, -1)
    for kind, sig in sorted(CRASH_SIGNALS.items()):
        for p, extra in ((1, ()), (2, ("--checkpoint-dir", os.path.join(tmp, "ck-" + kind),
                                       "--checkpoint-interval", "100",
                                       "--restart-strategy", "fixed-delay"))):
            what = "--crash %s, p=%d%s" % (kind, p, " with checkpoints" if extra else "")
            r = run(["run", job_so("failing_map"), "-p", str(p)] + list(extra) +
                    ["--", "--input", path, "--output", os.path.join(tmp, "out.csv"),
                     "--crash", kind, "--crash-after", "1000"])
            expect_rc(r, USER_CRASH_EXIT)
            lines = [x for x in r.err.splitlines() if "crashed in a user function" in x]
            expect(len(lines) == 1, what + ": one report line", 1, r.err, r)
            for needle in ("job 'failing_map'", "operator 'boom' (subtask ", sig,
                           "exits with status %d" % USER_CRASH_EXIT):
                expect_in(needle, lines[0], what + ": the report names " + needle, r)


def test_crash_signal_from_outside_keeps_default(tmp):
    """SIGSEGV sent by another process is not a user function's crash: it kills the process
    as it would without rill's handler (and dumps core where enabled)."""
    p = subprocess.Popen([RILL_BIN, "run", fraud_so(), "-p", "2", "--", "--events", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        expect(p.poll() is None, "an unbounded job still runs after 1 s", "running",
               "exited with %s" % p.poll())
        p.send_signal(signal.SIGSEGV)
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise Failure("expected SIGSEGV to end the process within 30 s, it did not")
    # (in a sanitizer build the outcome without rill's handler is the sanitizer's: a report,
    # then abort)
    sanitizer = "AddressSanitizer:DEADLYSIGNAL" in err
    expect(p.returncode == -signal.SIGSEGV or (sanitizer and p.returncode in (-signal.SIGABRT, 1)),
           "killed by SIGSEGV (or, in a sanitizer build, by the sanitizer's handler)",
           -signal.SIGSEGV, "%s\nstderr: %s" % (p.returncode, err))
    expect("crashed in a user function" not in err, "no user-crash report", "none", err)


def test_unwritable_outputs(tmp):
    path = os.path.join(tmp, "tx.csv")
    write_csv(path, gen_transactions(71, 2000))
    blocker = os.path.join(tmp, "a-file")
    with open(blocker, "w") as f:
        f.write("x\n")
    # the output's parent is a regular file
    out = os.path.join(blocker, "out.csv")
    r = run(fraud_args(path, out))
    expect_rc(r, 1)
    expect_in(blocker, r.err, "message names the path that cannot be written", r)
    # a full device
    if os.path.exists("/dev/full"):
        r = run(fraud_args(path, "/dev/full", threshold=100.0))
        expect_rc(r, 1)
        expect_in("/dev/full", r.err, "message names the full output", r)
    # a dead-letter file that cannot be opened, with a bad record to write there
    bad = os.path.join(tmp, "bad.csv")
    with open(bad, "w") as f:
        f.write("user_id,amount,ts\n1,5x,1\n2,1.00,2\n")
    dl = os.path.join(blocker, "dead.jsonl")
    r = run(fraud_args(bad, os.path.join(tmp, "out.csv"),
                       extra=("--bad-records", "skip", "--dead-letter-file", dl)))
    expect_rc(r, 1)
    expect_in(dl, r.err, "message names the dead-letter file", r)


def test_cancel_unbounded_job(tmp):
    for sig in (signal.SIGINT, signal.SIGTERM):
        p = subprocess.Popen([RILL_BIN, "run", fraud_so(), "-p", "2", "--", "--events", "0"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(1.0)
            expect(p.poll() is None, "an unbounded job still runs after 1 s", "running",
                   "exited with %s" % p.poll())
            p.send_signal(sig)
            out, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise Failure("%s: expected the job to stop within 30 s, it did not" % sig.name)
        expect(p.returncode == 1, "%s: exit status of a canceled job" % sig.name, 1,
               "%s\nstderr: %s" % (p.returncode, err))
        expect(not any(m in err for m in SANITIZER_MARKS), "%s: no sanitizer report" % sig.name,
               "none", err)
        expect_in("cancel", err, "%s: message says the job was canceled" % sig.name)


def test_unknown_key_field(tmp):
    r = run(["run", job_so("bad_key")])
    expect_rc(r, 1)
    expect_in("no_such_field", r.err, "message names the unknown key field", r)


def test_no_sink(tmp):
    r = run(["run", job_so("no_sink")])
    expect_rc(r, 1)
    expect_in("sink", r.err, "message says the job has no sink", r)


if __name__ == "__main__":
    main([test_malformed_fails_by_default, test_malformed_far_into_the_file,
          test_skip_with_dead_letter_file, test_skip_over_several_files, test_missing_input_file,
          test_missing_column, test_user_function_failure, test_user_function_crash,
          test_crash_signal_from_outside_keeps_default, test_unwritable_outputs,
          test_cancel_unbounded_job, test_unknown_key_field, test_no_sink], need_jobs=True)
