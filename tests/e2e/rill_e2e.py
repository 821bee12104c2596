"""Shared helpers for the rill end-to-end tests (python3, standard library only).

Each test script lists its test functions and calls main(tests): every test runs in its own
temporary directory (removed afterwards), failures print the expected and the actual value,
and the script exits non-zero when any test failed.
"""
import collections
import csv
import datetime
import glob
import io
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

RILL_BIN = os.environ.get("RILL_BIN", "")
RILL_EXAMPLES = os.environ.get("RILL_EXAMPLES", "")
RILL_BUILD = os.environ.get("RILL_BUILD", "")
RILL_TEST_JOBS = os.environ.get("RILL_TEST_JOBS", "")

# Generous: sanitizer builds are several times slower than release builds.
TIMEOUT = 120

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                   "ThreadSanitizer", "runtime error:")

ALERT_HEADER = "user_id,total,ts"


class Failure(Exception):
    """A failed check; the message says what was expected and what was found."""


def fraud_so():
    return os.path.join(RILL_EXAMPLES, "fraud.so")


def job_so(name):
    return os.path.join(RILL_TEST_JOBS, name + ".so")


def short(text, limit=3000):
    text = text if isinstance(text, str) else repr(text)
    return text if len(text) <= limit else text[:limit] + "... (%d more chars)" % (
        len(text) - limit)


class Result:
    def __init__(self, args, rc, out, err, secs):
        self.args, self.rc, self.out, self.err, self.secs = args, rc, out, err, secs

    def describe(self):
        return ("command: %s\nexit status: %s (%.1f s)\n--- stdout ---\n%s\n--- stderr ---\n%s"
                % (" ".join(self.args), self.rc, self.secs, short(self.out), short(self.err)))


def rill_cmd(args):
    """The command line of `rill ARGS`: with RILL_E2E_BACKEND set (CTest runs the recovery and
    savepoint tests once more with rocksdb), a `rill run` that names no state backend gets
    that one."""
    args = list(args)
    backend = os.environ.get("RILL_E2E_BACKEND")
    if backend and args[:1] == ["run"] and "--state-backend" not in args:
        args = ["run", "--state-backend", backend] + args[1:]
    return [RILL_BIN] + args


def committed_rows(d, header=True):
    """The data rows of every committed part file in directory d (hidden files ignored); with
    header, each part file starts with its header line (left out)."""
    rows = []
    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if name.startswith("."):
            continue
        with open(os.path.join(d, name), encoding="utf-8") as f:
            lines = f.read().splitlines()
        rows += [l for l in lines[1 if header else 0:] if l]
    return sorted(rows)


def window_rows(d):
    """{(k, window_start): n} of the committed rows of directory d; fails on a duplicate."""
    got = {}
    for line in committed_rows(d):
        k, start, _end, n = line.split(",")
        key = (int(k), int(start))
        expect(key not in got, "%s: window %s of key %s committed once" % (d, start, k),
               "one row", "a second row %r" % line)
        got[key] = int(n)
    return got


def committed_ids(d):
    """(ids in the committed part files of d, names of in-progress files left in d); every
    committed file must start with the header "id"."""
    ids, in_progress = [], []
    for name in sorted(os.listdir(d)):
        if name.endswith(".inprogress"):
            in_progress.append(name)
        if name.startswith("."):
            continue
        lines = read_text(os.path.join(d, name)).splitlines()
        expect(lines and lines[0] == "id", "header of %s" % os.path.join(d, name), "id",
               lines[:1])
        ids += [int(line) for line in lines[1:]]
    return ids, in_progress


def expect_each_once(ids, n, what, r=None):
    seen, dups = set(), []
    for i in ids:
        if i in seen:
            dups.append(i)
        seen.add(i)
    missing = [i for i in range(n) if i not in seen]
    extra = sorted(i for i in seen if not 0 <= i < n)
    expect(not dups and not missing and not extra, "%s: every id 0..%d committed exactly once"
           % (what, n - 1), "%d ids" % n, "%d ids; duplicates (first 10): %s; missing (first "
           "10): %s; unexpected: %s" % (len(ids), sorted(dups)[:10], missing[:10], extra[:10]),
           r)


SELFCHECK_SUMMARY = re.compile(r"selfcheck: events=(\d+) alerts=(\d+) gaps=(\d+) "
                               r"duplicates=(\d+)")


def selfcheck_summary(text, what):
    """[events, alerts, gaps, duplicates] of the self-checking job's summary line."""
    m = SELFCHECK_SUMMARY.search(text)
    expect(m is not None, "%s: summary line" % what, "selfcheck: events=...", text)
    return [int(g) for g in m.groups()]


def savepoint_path(r, what):
    """The savepoint directory that `rill savepoint` or `rill stop --savepoint` (Result r)
    printed; fails unless it has its _metadata."""
    m = re.search(r"savepoint written: (\S+)", r.out)
    expect(m is not None, "%s: the savepoint's path" % what, "savepoint written: PATH",
           r.out + r.err, r)
    path = m.group(1)
    expect(os.path.isfile(os.path.join(path, "_metadata")), "%s: _metadata exists" % what,
           path + "/_metadata", os.listdir(path) if os.path.isdir(path) else "missing", r)
    return path


def completed_checkpoints(ck):
    """Ids of the completed checkpoints (chk-N/_metadata written) of every job in directory
    ck, ascending."""
    return sorted(int(m.group(1)) for m in (
        re.search(r"chk-(\d+)", p) for p in glob.glob(os.path.join(ck, "*", "chk-*", "_metadata"))))


RESTORE_LINE = re.compile(r"restoring checkpoint (\d+)")


def restored_checkpoint(err):
    """The id of the checkpoint a run restored (its info log, RILL_LOG=info), or None."""
    m = RESTORE_LINE.findall(err)
    return int(m[-1]) if m else None


def seeded_rng(name):
    """A random.Random from RILL_E2E_SEED (new when unset), its seed printed to rerun with."""
    seed = int(os.environ.get("RILL_E2E_SEED") or random.randrange(1 << 31))
    print("  %s: seed %d (RILL_E2E_SEED)" % (name, seed), flush=True)
    return random.Random(seed)


def run(args, timeout=TIMEOUT, stdin_text=None, cwd=None):
    """Runs the rill binary with args; checks it ended by itself (no signal, no timeout) and
    that no sanitizer report was printed."""
    cmd = rill_cmd(args)
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, input=stdin_text, capture_output=True, text=True,
                           timeout=timeout, cwd=cwd, errors="replace")
    except subprocess.TimeoutExpired as e:
        raise Failure("command timed out after %d s: %s\nstdout: %s\nstderr: %s" % (
            timeout, " ".join(cmd), short(e.stdout or ""), short(e.stderr or "")))
    r = Result(cmd, p.returncode, p.stdout, p.stderr, time.monotonic() - t0)
    if r.rc < 0:
        raise Failure("expected the process to exit normally, it was killed by signal %d\n%s"
                      % (-r.rc, r.describe()))
    for mark in SANITIZER_MARKS:
        if mark in r.err:
            raise Failure("expected no sanitizer report, found %r\n%s" % (mark, r.describe()))
    return r


def expect_rc(r, rc):
    if r.rc != rc:
        raise Failure("expected exit status %d, got %d\n%s" % (rc, r.rc, r.describe()))


def expect(cond, what, expected, actual, r=None):
    if not cond:
        msg = "%s\n  expected: %s\n  actual:   %s" % (what, short(expected), short(actual))
        if r is not None:
            msg += "\n" + r.describe()
        raise Failure(msg)


def expect_in(needle, haystack, what, r=None):
    expect(needle in haystack, what, "text containing %r" % needle, haystack, r)


# ---- transactions and the fraud oracle -----------------------------------------------------

def gen_transactions(seed, n_rows, n_users=1000, ts0=1700000000000, heavy=10, neg=True):
    """Random transactions (user_id, amount text, ts) with strictly increasing ts, amounts in
    cents (a few refunds below zero), and a few heavy users holding a fifth of the rows."""
    rng = random.Random(seed)
    heavy_users = rng.sample(range(1, n_users + 1), heavy)
    rows, ts = [], ts0
    for _ in range(n_rows):
        if rng.random() < 0.2:
            user = rng.choice(heavy_users)
        else:
            user = rng.randint(1, n_users)
        cents = rng.randint(1, 50000)
        if neg and rng.random() < 0.02:
            cents = -cents // 4 - 1
        sign = "-" if cents < 0 else ""
        amount = "%s%d.%02d" % (sign, abs(cents) // 100, abs(cents) % 100)
        ts += rng.randint(1, 5)
        rows.append((user, amount, ts))
    return rows


def write_csv(path, rows, header="user_id,amount,ts"):
    with open(path, "w", newline="") as f:
        f.write(header + "\n")
        for row in rows:
            f.write(",".join(str(x) for x in row) + "\n")


def expected_alerts(rows, threshold):
    """Per user running total in input order; above the threshold: alert and reset to 0."""
    totals = collections.defaultdict(float)
    alerts = []
    for user, amount, ts in rows:
        t = totals[user] + float(amount)
        if t > threshold:
            alerts.append((int(user), t, int(ts)))
            t = 0.0
        totals[user] = t
    return alerts


def parse_alerts(text, what):
    """Parses the fraud output CSV: exact header, then user_id,total,ts rows in file order."""
    lines = text.splitlines()
    expect(len(lines) >= 1 and lines[0] == ALERT_HEADER, what + ": header line",
           ALERT_HEADER, lines[0] if lines else "(empty output)")
    alerts = []
    for n, line in enumerate(lines[1:], start=2):
        parts = line.split(",")
        try:
            expect(len(parts) == 3, "%s: line %d has 3 columns" % (what, n), 3, line)
            alerts.append((int(parts[0]), float(parts[1]), int(parts[2])))
        except ValueError:
            raise Failure("%s: line %d is not user_id,total,ts: %r" % (what, n, line))
    return alerts


def compare_alerts(expected, actual, what):
    """Multiset comparison (totals as exact floats) and per-user order by ts."""
    e, a = collections.Counter(expected), collections.Counter(actual)
    if e != a:
        missing = list((e - a).elements())
        extra = list((a - e).elements())
        raise Failure("%s: alerts differ\n  expected: %d alerts\n  actual:   %d alerts\n"
                      "  expected but missing (first 10): %s\n"
                      "  present but not expected (first 10): %s"
                      % (what, len(expected), len(actual), sorted(missing)[:10],
                         sorted(extra)[:10]))
    last = {}
    for user, total, ts in actual:
        if user in last and ts <= last[user]:
            raise Failure("%s: alerts of user %d out of ts order\n  expected: ts after %d\n"
                          "  actual:   %d" % (what, user, last[user], ts))
        last[user] = ts


def read_text(path):
    with open(path, newline="") as f:
        return f.read()


# ---- the test driver -----------------------------------------------------------------------

def check_env(need_jobs=False):
    missing = [name for name, val in (("RILL_BIN", RILL_BIN), ("RILL_EXAMPLES", RILL_EXAMPLES))
               if not val]
    if need_jobs and not RILL_TEST_JOBS:
        missing.append("RILL_TEST_JOBS")
    if missing:
        print("missing environment: %s (run through ctest)" % ", ".join(missing))
        sys.exit(2)


def main(tests, need_jobs=False):
    check_env(need_jobs)
    only = sys.argv[1:]
    failed = []
    selected = [fn for fn in tests if not only or fn.__name__ in only]
    for fn in selected:
        name = fn.__name__
        tmp = tempfile.mkdtemp(prefix="rill-e2e-")
        t0 = time.monotonic()
        try:
            fn(tmp)
            print("ok   %s (%.1f s)" % (name, time.monotonic() - t0), flush=True)
        except Failure as e:
            failed.append(name)
            print("FAIL %s: %s" % (name, e), flush=True)
        except Exception:  # a bug in the test itself still fails the script
            failed.append(name)
            print("FAIL %s: exception\n%s" % (name, traceback.format_exc()), flush=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if failed:
        print("%d of %d tests failed: %s" % (len(failed), len(selected), ", ".join(failed)))
        sys.exit(1)
    if not selected:
        print("no test matches %s" % " ".join(only))
        sys.exit(2)
    print("all %d tests passed" % len(selected))


class Started:
    """A rill process in the background, its output going to files in tmp."""

    def __init__(self, tmp, tag, args, log_level=None):
        self.args = rill_cmd(args)
        self.out_path = os.path.join(tmp, "%s.out" % tag)
        self.err_path = os.path.join(tmp, "%s.err" % tag)
        env = dict(os.environ)
        if log_level:
            env["RILL_LOG"] = log_level
        self.t0 = time.monotonic()
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.p = subprocess.Popen(self.args, stdout=out, stderr=err, env=env)

    def kill9(self):
        """SIGKILL if still running; returns the Result (rc -9 when killed)."""
        if self.p.poll() is None:
            self.p.kill()
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise Failure("process %d did not die within 30 s of SIGKILL" % self.p.pid)
        return self.result()

    def wait(self, timeout=TIMEOUT):
        """Waits for the process to end by itself (killed and failed after timeout s)."""
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            r = self.kill9()
            raise Failure("expected the process to end within %d s\n%s" % (timeout,
                                                                            r.describe()))
        return self.result()

    def wait_for_stderr(self, pattern, timeout=60):
        """Polls the process's stderr until a whole line matches regex pattern. Fails when the
        process ends or the timeout passes first."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            text = read_text(self.err_path)
            if rx.search(text[:text.rfind("\n") + 1]):
                return
            if self.p.poll() is not None or time.monotonic() > deadline:
                r = self.kill9()
                raise Failure("expected a line matching %r on stderr within %d s\n%s"
                              % (pattern, timeout, r.describe()))
            time.sleep(0.005)

    def rest_port(self, timeout=60):
        """The port of the REST API the process printed on stderr (`--rest-port 0`); polls
        its stderr file. Fails when the process ends or the timeout passes first."""
        deadline = time.monotonic() + timeout
        while True:
            text = read_text(self.err_path)
            m = REST_LINE.search(text[:text.rfind("\n") + 1])  # whole lines: the whole port
            if m:
                return int(m.group(1))
            if self.p.poll() is not None or time.monotonic() > deadline:
                r = self.kill9()
                raise Failure("expected the REST API line on stderr within %d s\n%s"
                              % (timeout, r.describe()))
            time.sleep(0.01)

    def result(self):
        r = Result(self.args, self.p.returncode, read_text(self.out_path),
                   read_text(self.err_path), time.monotonic() - self.t0)
        for mark in SANITIZER_MARKS:
            if mark in r.err:
                raise Failure("expected no sanitizer report, found %r\n%s" % (mark, r.describe()))
        return r


REST_LINE = re.compile(r"REST API at http://\S*:(\d+)")


def start_rest_job(args, timeout=30):
    """Starts `rill ARGS` (a job with a REST API) in the background; returns (process, REST
    port) once the process has printed where the API is (after the job was submitted: what it
    logged until then, the restore among it, is kept in p.early_stderr)."""
    p = subprocess.Popen(rill_cmd(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    p.early_stderr = ""
    deadline = time.monotonic() + timeout
    line = ""
    while time.monotonic() < deadline:
        line = p.stderr.readline()
        m = REST_LINE.search(line)
        if m:
            return p, int(m.group(1))
        p.early_stderr += line
        if not line and p.poll() is not None:
            break
    p.kill()
    out, err = p.communicate()
    raise Failure("expected the REST API line on stderr, got %r\n%s" % (line, err))


# ---- Kafka: librdkafka's mock cluster in a process of its own, kcat as the independent client

def replay_changelog(r, what, key_cols=1):
    """The final table of a changelog r printed as Flink's print connector prints it (+I[...],
    -U, +U, -D; "N> " subtask prefixes allowed), checking that each -U/-D retracts the current
    row of its key (the first key_cols values) and each +I/+U finds none."""
    table = {}
    for line in r.out.splitlines():
        line = re.sub(r"^\d+> ", "", line)
        m = re.match(r"^([+-][IUD])\[(.*)\]$", line)
        expect(m is not None, "%s: a changelog row" % what, "+I[...]", line, r)
        vals = m.group(2).split(", ")
        k, rest = ", ".join(vals[:key_cols]), ", ".join(vals[key_cols:])
        if m.group(1) in ("-U", "-D"):
            expect(table.get(k) == rest, "%s: %s retracts the current row of %r" % (
                what, m.group(1), k), table.get(k), rest, r)
            del table[k]
        else:
            expect(k not in table, "%s: %s on a key with a row" % (what, m.group(1)),
                   "no current row", table.get(k), r)
            table[k] = rest
    return table


def kill_and_resume(tmp, rng, args, ck, runs=4, pause=(0.1, 0.8), first_pause=(0, 0),
                    first_par=None, pars=(1, 3)):
    """`rill run -p P ARGS` (ARGS with --checkpoint-dir ck and --resume), P random in pars (the
    first run's first_par when given), started `runs` times and killed with SIGKILL: the first
    time once a checkpoint of ck has completed and then first_pause s more, the others after
    pause s; then once more to its end. Returns (kills, that last run's Result)."""
    kills = 0
    for k in range(runs):
        par = first_par if k == 0 and first_par else rng.randint(*pars)
        p = Started(tmp, "run%d" % k, ["run", "-p", str(par)] + args)
        if k == 0:
            deadline = time.monotonic() + 60
            while not completed_checkpoints(ck) and p.p.poll() is None:
                expect(time.monotonic() < deadline, "a checkpoint within 60 s", "one", "none")
                time.sleep(0.01)
            time.sleep(rng.uniform(*first_pause))
        else:
            time.sleep(rng.uniform(*pause))
        r = p.kill9()
        kills += r.rc == -9
        expect(r.rc in (0, -9), "run %d ended by the kill or by itself" % k, "0 or -9", r.rc, r)
    r = run(["run", "-p", str(rng.randint(*pars))] + args)
    expect_rc(r, 0)
    return kills, r


EPOCH = datetime.datetime(1970, 1, 1)


def ts_text(ms):
    """'2024-05-01 12:00:05.123': a TIMESTAMP(3) as SQL writes it, ms since the epoch (UTC)."""
    d = EPOCH + datetime.timedelta(milliseconds=ms)
    return d.strftime("%Y-%m-%d %H:%M:%S.") + "%03d" % (ms % 1000)


def ts_ms(text):
    """Milliseconds since the epoch of '2024-05-01 12:00:05[.123]' or of Java's
    LocalDateTime.toString ('2024-05-01T12:00:05.123', '2024-05-01T12:00')."""
    text = text.replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            d = datetime.datetime.strptime(text, fmt)
            return (d - EPOCH) // datetime.timedelta(milliseconds=1)
        except ValueError:
            pass
    raise ValueError("not a timestamp: %r" % text)


def load_bench():
    """bench/nexmark as a module (its QUERIES, FLINK_KPS_PER_CORE, script_of)."""
    import importlib.machinery
    import importlib.util
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(root, "bench", "nexmark")
    loader = importlib.machinery.SourceFileLoader("nexmark_bench", path)
    spec = importlib.util.spec_from_loader("nexmark_bench", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def csv_lines(rows):
    """Rows as CSV lines without header (quoted where needed), one message value each."""
    out = []
    for row in rows:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow(row)
        out.append(buf.getvalue())
    return out


class MockKafka:
    """rill-mock-kafka (tests/kafka/mock_kafka.c): 3 brokers on loopback. command() sends one of
    its commands (topic NAME N, down B, up B, leader T P B, errors API CODE N) and checks the
    answer; produce() and consume() use kcat. The cluster ends with stop(), or when this
    process ends (its stdin closes)."""

    def __init__(self, topics=(), brokers=3):
        exe = os.path.join(RILL_BUILD, "tests", "rill-mock-kafka")
        args = [exe, "--brokers", str(brokers)]
        for t in topics:
            args += ["--topic", t]
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        if not line.startswith("bootstrap "):
            self.p.kill()
            raise Failure("rill-mock-kafka did not start: %r %s" % (line, self.p.stderr.read()))
        self.bootstrap = line.split()[1]

    def url(self, topic):
        return "kafka://%s/%s" % (self.bootstrap, topic)

    def command(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        answer = self.p.stdout.readline().strip()
        if answer != "ok":
            raise Failure("rill-mock-kafka %r: %r" % (cmd, answer))

    def produce(self, topic, lines, partition=None):
        """Each line one message value (no line breaks in them)."""
        args = ["kcat", "-b", self.bootstrap, "-P", "-t", topic, "-q"]
        if partition is not None:
            args += ["-p", str(partition)]
        r = subprocess.run(args, input="".join(line + "\n" for line in lines), text=True,
                           capture_output=True, timeout=60)
        if r.returncode != 0:
            raise Failure("kcat -P %s: %s" % (topic, r.stderr))

    def spread(self, topic, lines, partitions):
        """Line i to partition i mod partitions (each partition keeps the lines' order)."""
        for part in range(partitions):
            self.produce(topic, lines[part::partitions], partition=part)

    def consume(self, topic, fmt="%s\\n"):
        """Every message value of topic, as kcat prints it (read to the end)."""
        r = subprocess.run(["kcat", "-b", self.bootstrap, "-C", "-t", topic, "-e", "-q",
                            "-f", fmt], text=True, capture_output=True, timeout=60)
        if r.returncode != 0:
            raise Failure("kcat -C %s: %s" % (topic, r.stderr))
        return r.stdout.splitlines()

    def stop(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.close()
            except OSError:
                pass
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
