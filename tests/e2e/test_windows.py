"""End-to-end tests of the window example jobs (log_errors, clicks, sessions): `rill run` on
random event streams at parallelism 1, 2 and 4, checked against results computed here,
independently, from the definitions in SEMANTICS.md.

The oracle replays the input in file order. The watermark when a row is processed is
max(ts of the rows before it) - max_delay - 1 (one file is one split, read by one source
subtask, so the order of the file decides). A row is late when window_end - 1 +
allowed_lateness <= that watermark for every window it would belong to (sessions: the window
[ts, ts + gap) it opens); a window fires once when the watermark reaches window_end - 1 (at the
latest when the input ends), and each late row within the allowed lateness fires its window
again with the updated count. Outputs are compared as multisets.
"""
import collections
import csv
import io
import os
import random
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import (RILL_EXAMPLES, Failure, expect, expect_rc, main,  # noqa: E402
                      read_text, run)

TS_MIN = -(1 << 63)
LOG_HEADER = ["ts", "server", "level", "message"]
CLICK_HEADER = ["ts", "user_id", "page"]
ERRORS_HEADER = ["server", "window_start", "window_end", "count"]
CLICKS_HEADER = ["page", "window_start", "window_end", "clicks"]
SESSIONS_HEADER = ["user_id", "session_start", "session_end", "clicks"]

PARALLELISMS = (1, 2, 4)


def job(name):
    return os.path.join(RILL_EXAMPLES, name + ".so")


# ---- the oracle ------------------------------------------------------------------------------

class Watermark:
    """Bounded out-of-orderness: max timestamp seen - delay - 1; TS_MIN before any row."""

    def __init__(self, delay):
        self.delay, self.max = delay, None

    def current(self):
        return TS_MIN if self.max is None else self.max - self.delay - 1

    def see(self, ts):
        if self.max is None or ts > self.max:
            self.max = ts


def tumbling(size):
    def assign(t):
        start = t - t % size  # Python's % is never negative for size > 0
        return [(start, start + size)]
    return assign


def sliding(size, slide):
    def assign(t):
        out, start = [], t - t % slide
        while start > t - size:
            out.append((start, start + size))
            start -= slide
        return out
    return assign


def oracle_fixed(events, assign, delay, lateness=0):
    """Tumbling or sliding windows counting rows per key. events: (ts, key, raw) in file order;
    key None for a row that only moves the watermark (filtered out before the window).
    Returns (output rows (key, start, end, count), late raw rows)."""
    wm = Watermark(delay)
    on_time = collections.Counter()  # rows added before the window fired
    total = collections.Counter()
    refired, late = [], []
    for ts, key, raw in events:
        w = wm.current()
        if key is not None:
            wins = [(s, e) for s, e in assign(ts) if e - 1 + lateness > w]
            if not wins:
                late.append(raw)
            for s, e in wins:
                k = (key, s, e)
                total[k] += 1
                if e - 1 <= w:  # fired already: a row within the allowed lateness fires again
                    refired.append((key, s, e, total[k]))
                else:
                    on_time[k] += 1
        wm.see(ts)
    return [k + (c,) for k, c in on_time.items()] + refired, late


def merge_sessions(wins):
    """Flink's TimeWindow.mergeWindows: sorted by start, windows that intersect or touch merge."""
    wins = sorted(wins)
    out = [list(wins[0])]
    for s, e, c in wins[1:]:
        cur = out[-1]
        if cur[1] >= s:
            cur[1], cur[2] = max(cur[1], e), cur[2] + c
        else:
            out.append([s, e, c])
    return out


def oracle_sessions(events, gap, delay):
    """Session windows counting rows per key; a session fires (and is gone) as soon as the
    watermark reaches its end - 1, so a later row opens a new session even if it touches it."""
    wm = Watermark(delay)
    active = collections.defaultdict(list)  # key -> [[start, end, count]]
    out, late = [], []
    for ts, key, raw in events:
        w = wm.current()
        live = []
        for s, e, c in active[key]:
            if e - 1 <= w:
                out.append((key, s, e, c))
            else:
                live.append((s, e, c))
        if ts + gap - 1 <= w:
            late.append(raw)
        else:
            live.append((ts, ts + gap, 1))
            live = [tuple(x) for x in merge_sessions(live)]
        active[key] = live
        wm.see(ts)
    for key, wins in active.items():
        out.extend((key, s, e, c) for s, e, c in wins)
    return out, late


# ---- random streams --------------------------------------------------------------------------

def timeline(rng, n, t0, step_max, grains):
    """n non-decreasing base times from t0: random steps of 0..step_max (0 repeats a timestamp),
    now and then a jump to the next multiple of a grain (a window boundary), to one before it,
    or over a quiet stretch."""
    out, t = [], t0
    for _ in range(n):
        r = rng.random()
        if r < 0.08:
            t += -t % rng.choice(grains)
        elif r < 0.12:
            g = rng.choice(grains)
            nxt = t + -t % g
            t = nxt - 1 if nxt - 1 >= t else nxt + g - 1
        elif r < 0.125:
            t += rng.randint(step_max * 20, step_max * 200 + 1)
        else:
            t += rng.randint(0, step_max)
        out.append(t)
    return out


def jittered(rng, bases, max_jitter, p_late=0.0, late_max=0, delay=0):
    """Event times from non-decreasing base times: each up to max_jitter early (0 for 40% of
    rows, keeping boundaries exact), or with probability p_late more than `delay` early.
    With max_jitter <= delay every row is within the max delay of the rows before it."""
    out = []
    for b in bases:
        if p_late and rng.random() < p_late:
            out.append(b - delay - rng.randint(1, late_max))
        elif rng.random() < 0.4 or max_jitter == 0:
            out.append(b)
        else:
            out.append(b - rng.randint(0, max_jitter))
    return out


def write_rows(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow(row)


def sorted_by_ts(rows):
    return sorted(rows, key=lambda r: r[0])  # stable: equal timestamps keep file order


SERVERS = ["web-1", "web-2", "web-3", "db-1", "db-2", "cache", "eu,west", "q"]
LEVELS = ["ERROR"] * 4 + ["INFO"] * 3 + ["WARN"] * 2 + ["DEBUG", "error", "ERRORS"]
MESSAGES = ["disk full", "timeout after 30 s", "", "said \"no\", twice", "x", "upstream 502"]


def gen_logs(seed, n, delay, window, p_late=0.0, late_max=None, t0=1700000000000,
             max_jitter=None):
    """Log rows (ts, server, level, message): several servers, some levels that are not
    ERROR (or only look like it), empty and quoted messages."""
    rng = random.Random(seed)
    step = max(1, window // 40)
    bases = timeline(rng, n, t0, step, [window, window // 2 or 1])
    jit = delay if max_jitter is None else max_jitter
    tss = jittered(rng, bases, jit, p_late, late_max or 2 * window, delay)
    servers = SERVERS[:rng.randint(3, len(SERVERS))]
    return [(ts, rng.choice(servers), rng.choice(LEVELS), rng.choice(MESSAGES)) for ts in tss]


def gen_clicks(seed, n, delay, grains, t0, n_users, n_pages, step, p_late=0.0, late_max=1,
               echo_gap=None, max_jitter=None):
    """Click rows (ts, user_id, page). echo_gap: some clicks are repeated by the same user
    exactly echo_gap later (before jitter), so sessions meet at their boundary."""
    rng = random.Random(seed)
    bases = timeline(rng, n, t0, step, grains)
    users = [rng.randint(1, n_users) for _ in bases]
    pairs = list(zip(bases, users))
    if echo_gap:
        pairs += [(b + echo_gap, u) for b, u in pairs if rng.random() < 0.05]
        pairs.sort(key=lambda p: p[0])
    jit = delay if max_jitter is None else max_jitter
    tss = jittered(rng, [b for b, _ in pairs], jit, p_late, late_max, delay)
    return [(ts, u, "/p/%d" % rng.randint(1, n_pages)) for ts, (_, u) in zip(tss, pairs)]


def log_events(rows):
    return [(int(ts), server if level == "ERROR" else None, (str(ts), server, level, msg))
            for ts, server, level, msg in rows]


def click_events(rows, by):
    return [(int(ts), page if by == "page" else int(user), (str(ts), str(user), page))
            for ts, user, page in rows]


# ---- running the jobs and comparing ----------------------------------------------------------

def parse_csv(text, header, what, types):
    rows = list(csv.reader(io.StringIO(text)))
    expect(len(rows) >= 1 and rows[0] == header, what + ": header line", ",".join(header),
           ",".join(rows[0]) if rows else "(empty output)")
    out = []
    for n, row in enumerate(rows[1:], start=2):
        try:
            expect(len(row) == len(types), "%s: line %d has %d columns" % (what, n, len(types)),
                   len(types), row)
            out.append(tuple(t(v) for t, v in zip(types, row)))
        except ValueError:
            raise Failure("%s: line %d does not parse: %r" % (what, n, row))
    return out


def compare(expected, actual, what, r=None):
    e, a = collections.Counter(expected), collections.Counter(actual)
    if e != a:
        missing = sorted((e - a).elements(), key=repr)
        extra = sorted((a - e).elements(), key=repr)
        msg = ("%s: rows differ\n  expected: %d rows\n  actual:   %d rows\n"
               "  expected but missing (%d, first 10): %s\n"
               "  present but not expected (%d, first 10): %s"
               % (what, len(expected), len(actual), len(missing), missing[:10], len(extra),
                  extra[:10]))
        if r is not None:
            msg += "\n" + r.describe()
        raise Failure(msg)


def run_job(name, args, parallelism, extra=()):
    r = run(["run", job(name), "--parallelism", str(parallelism)] + list(extra) + ["--"] +
            [str(a) for a in args])
    expect_rc(r, 0)
    return r


def output_file(path, r):
    expect(os.path.isfile(path), "output %s is one regular file" % path, "a file",
           "a directory" if os.path.isdir(path) else "missing", r)
    return read_text(path)


def check_log_errors(tmp, tag, rows, delay, window, lateness, parallelisms=PARALLELISMS,
                     with_late=True, extra=()):
    path = os.path.join(tmp, "logs-%s.csv" % tag)
    write_rows(path, LOG_HEADER, rows)
    expected, late = oracle_fixed(log_events(rows), tumbling(window), delay, lateness)
    for p in parallelisms:
        out = os.path.join(tmp, "errors-%s-p%d.csv" % (tag, p))
        late_out = os.path.join(tmp, "late-%s-p%d.csv" % (tag, p))
        args = ["--input", path, "--output", out, "--max-delay-ms", delay, "--window-ms", window,
                "--allowed-lateness-ms", lateness]
        if with_late:
            args += ["--late", late_out]
        r = run_job("log_errors", args, p, extra)
        what = "log_errors %s p=%d %s" % (tag, p, " ".join(extra))
        actual = parse_csv(output_file(out, r), ERRORS_HEADER, what, (str, int, int, int))
        compare(expected, actual, what + " (windows)", r)
        if with_late:
            actual_late = parse_csv(output_file(late_out, r), LOG_HEADER, what + " late file",
                                    (str, str, str, str))
            compare(late, actual_late, what + " (late rows)", r)
        m = re.search(r"log_errors: .*\blate=(\d+)", r.out)
        expect(m is not None and int(m.group(1)) == len(late), what + ": late rows counted",
               "late=%d" % len(late), r.out, r)
    return expected, late


def check_clicks(tmp, tag, rows, delay, size, slide, parallelisms=PARALLELISMS, extra=()):
    path = os.path.join(tmp, "clicks-%s.csv" % tag)
    write_rows(path, CLICK_HEADER, rows)
    assign = tumbling(size) if size == slide else sliding(size, slide)
    expected, late = oracle_fixed(click_events(rows, "page"), assign, delay)
    for p in parallelisms:
        out = os.path.join(tmp, "counts-%s-p%d.csv" % (tag, p))
        r = run_job("clicks", ["--input", path, "--output", out, "--max-delay-ms", delay,
                               "--size-ms", size, "--slide-ms", slide], p, extra)
        what = "clicks %s p=%d %s" % (tag, p, " ".join(extra))
        actual = parse_csv(output_file(out, r), CLICKS_HEADER, what, (str, int, int, int))
        compare(expected, actual, what, r)
    return expected, late


def check_sessions(tmp, tag, rows, delay, gap, parallelisms=PARALLELISMS, extra=()):
    path = os.path.join(tmp, "clicks-%s.csv" % tag)
    write_rows(path, CLICK_HEADER, rows)
    expected, late = oracle_sessions(click_events(rows, "user"), gap, delay)
    for p in parallelisms:
        out = os.path.join(tmp, "sessions-%s-p%d.csv" % (tag, p))
        r = run_job("sessions", ["--input", path, "--output", out, "--max-delay-ms", delay,
                                 "--gap-ms", gap], p, extra)
        what = "sessions %s p=%d %s" % (tag, p, " ".join(extra))
        actual = parse_csv(output_file(out, r), SESSIONS_HEADER, what, (int, int, int, int))
        compare(expected, actual, what, r)
    return expected, late


# ---- log_errors ------------------------------------------------------------------------------

def test_log_errors_random(tmp):
    # (seed, rows, max delay, window, share of rows beyond the delay)
    cases = [(1, 4000, 2000, 10000, 0.03), (2, 3000, 500, 60000, 0.05),
             (3, 3000, 0, 5000, 0.02), (4, 2500, 7000, 3000, 0.1)]
    n_late = 0
    for seed, n, delay, window, p_late in cases:
        rows = gen_logs(seed, n, delay, window, p_late)
        expected, late = check_log_errors(tmp, "s%d" % seed, rows, delay, window, 0)
        expect(len(expected) > 20, "seed %d makes enough windows" % seed, "> 20", len(expected))
        n_late += len(late)
    expect(n_late > 20, "the streams have late rows", "> 20", n_late)


def test_log_errors_allowed_lateness(tmp):
    # late rows up to 3 windows behind: some within the allowed lateness, some beyond it
    n_refired = 0
    cases = [(11, 3000, 1000, 10000, 5000), (12, 3000, 2000, 4000, 9000),
             (13, 2000, 0, 2000, 1)]
    for seed, n, delay, window, lateness in cases:
        rows = gen_logs(seed, n, delay, window, 0.08, late_max=3 * window)
        expected, late = check_log_errors(tmp, "l%d" % seed, rows, delay, window, lateness)
        n_refired += len(expected) - len(collections.Counter(
            (k, s, e) for k, s, e, _ in expected))
        expect(len(late) > 0, "seed %d has rows beyond the allowed lateness" % seed, "> 0",
               len(late))
    expect(n_refired > 10, "windows fired again for rows within the allowed lateness", "> 10",
           n_refired)


def test_log_errors_without_late_output(tmp):
    rows = gen_logs(21, 3000, 1000, 8000, 0.05)
    _, late = check_log_errors(tmp, "nolate", rows, 1000, 8000, 2000, parallelisms=(1, 2),
                               with_late=False)
    expect(len(late) > 5, "rows beyond the allowed lateness", "> 5", len(late))


def test_log_errors_sorted_equals_shuffled(tmp):
    # every row within the max delay: none is late, so file order does not matter
    for seed, delay, window in ((31, 3000, 10000), (32, 1, 2000)):
        rows = gen_logs(seed, 3000, delay, window)
        shuffled, late = check_log_errors(tmp, "o%d" % seed, rows, delay, window, 0)
        expect(late == [], "seed %d: no late rows" % seed, [], late[:5])
        in_order, _ = check_log_errors(tmp, "o%d-sorted" % seed, sorted_by_ts(rows), delay,
                                       window, 0)
        compare(in_order, shuffled, "seed %d: oracle, sorted vs shuffled" % seed)


def test_log_errors_batch_sizes(tmp):
    rows = gen_logs(41, 3000, 1500, 6000, 0.05, late_max=12000)
    for p, batch in ((1, 1), (2, 7), (4, 64)):
        check_log_errors(tmp, "b%d" % batch, rows, 1500, 6000, 3000, parallelisms=(p,),
                         extra=("--batch-size", str(batch)))


# ---- clicks ----------------------------------------------------------------------------------

def clicks_rows(seed, n, delay, size, slide, t0, p_late=0.03, max_jitter=None):
    return gen_clicks(seed, n, delay, [size, slide], t0, n_users=50, n_pages=6,
                      step=max(1, slide // 30), p_late=p_late, late_max=2 * size,
                      max_jitter=max_jitter)


def test_clicks_tumbling(tmp):
    # (seed, rows, delay, size, first ts): negative timestamps, across zero, and recent ones
    cases = [(51, 4000, 2000, 10000, -150000), (52, 3000, 0, 1000, 1700000000000),
             (53, 3000, 5000, 60000, -3000000)]
    for seed, n, delay, size, t0 in cases:
        rows = clicks_rows(seed, n, delay, size, size, t0)
        expected, late = check_clicks(tmp, "t%d" % seed, rows, delay, size, size)
        expect(len(expected) > 20, "seed %d makes enough windows" % seed, "> 20", len(expected))
    expect(any(ts < 0 for ts, _, _ in clicks_rows(51, 4000, 2000, 10000, 10000, -150000)),
           "negative timestamps in the input", "some", "none")


def test_clicks_sliding(tmp):
    # (seed, rows, delay, size, slide, first ts): slide dividing the size or not
    cases = [(61, 3000, 1000, 10000, 2500, -40000), (62, 3000, 3000, 6000, 4000, 1700000000000),
             (63, 2000, 0, 1500, 1000, -7000)]
    for seed, n, delay, size, slide, t0 in cases:
        rows = clicks_rows(seed, n, delay, size, slide, t0)
        expected, _ = check_clicks(tmp, "w%d" % seed, rows, delay, size, slide)
        expect(len(expected) > 20, "seed %d makes enough windows" % seed, "> 20", len(expected))


def test_clicks_late_rows_first(tmp):
    # late rows in the very first batch: at parallelism > 1 the source subtasks without a split
    # must not hold the windows' watermark back (decided by file order, not by thread timing)
    rows = [(0, 1, "/a"), (10000, 1, "/a"), (5, 1, "/a"), (9999, 2, "/b"), (19999, 3, "/b")]
    for rep in range(4):
        expected, late = check_clicks(tmp, "first%d" % rep, rows, 0, 10000, 10000)
    expect(len(late) == 2, "two late rows", 2, len(late))


def test_clicks_sorted_equals_shuffled(tmp):
    for seed, delay, size, slide in ((71, 2500, 8000, 8000), (72, 2000, 9000, 3000)):
        rows = clicks_rows(seed, 3000, delay, size, slide, -20000, p_late=0)
        shuffled, late = check_clicks(tmp, "o%d" % seed, rows, delay, size, slide)
        expect(late == [], "seed %d: no late rows" % seed, [], late[:5])
        in_order, _ = check_clicks(tmp, "o%d-sorted" % seed, sorted_by_ts(rows), delay, size,
                                   slide)
        compare(in_order, shuffled, "seed %d: oracle, sorted vs shuffled" % seed)


def checkpointing(tmp, tag, interval):
    return ("--checkpoint-dir", os.path.join(tmp, "ck-%s" % tag), "--checkpoint-interval",
            str(interval))


def test_checkpointing_keeps_results(tmp):
    # A checkpoint coordinator must not change what a window counts: a source subtask with no
    # split, waiting for the final checkpoint, once said "active" first and its end of event
    # time only later, so rows late without checkpointing were counted (issue 12, the README's
    # clicks: ",4" in about 5 runs of 6 instead of ",3").
    readme = [("2024-05-01T12:00:05Z", 1, "/home"), ("2024-05-01T12:00:20Z", 2, "/home"),
              ("2024-05-01T12:00:50Z", 1, "/cart"), ("2024-05-01T12:00:59Z", 3, "/home"),
              ("2024-05-01T12:01:02Z", 2, "/home"), ("2024-05-01T12:00:58Z", 4, "/cart"),
              ("2024-05-01T12:01:30Z", 1, "/cart"), ("2024-05-01T12:00:40Z", 5, "/home"),
              ("2024-05-01T12:02:10Z", 3, "/home")]
    path = os.path.join(tmp, "readme-clicks.csv")
    write_rows(path, CLICK_HEADER, readme)
    for rep in range(6):
        for p in (2, 3):
            r = run_job("clicks", ["--input", path, "--output", "-", "--size-ms", 60000], p,
                        checkpointing(tmp, "readme%d-%d" % (rep, p), 1000))
            expect("/home,1714564800000,1714564860000,3" in r.out.splitlines(),
                   "README clicks p=%d run %d: the 12:00:40 row is late" % (p, rep),
                   "/home,1714564800000,1714564860000,3", r.out, r)
    # random streams with late rows, at several intervals, parallelisms and batch sizes
    rows = clicks_rows(101, 4000, 1000, 10000, 10000, 1700000000000, p_late=0.05)
    for rep, (interval, batch) in enumerate(((10, 1024), (50, 7), (1000, 64))):
        check_clicks(tmp, "ck%d" % rep, rows, 1000, 10000, 10000, parallelisms=(2, 3),
                     extra=checkpointing(tmp, "c%d" % rep, interval) +
                     ("--batch-size", str(batch)))
    rows = gen_logs(102, 3000, 800, 5000, 0.06, late_max=10000)
    check_log_errors(tmp, "ck", rows, 800, 5000, 2000, parallelisms=(2, 4),
                     extra=checkpointing(tmp, "l", 20))
    rows = sessions_rows(103, 3000, 500, 2000, -60000)
    check_sessions(tmp, "ck", rows, 500, 2000, parallelisms=(3,),
                   extra=checkpointing(tmp, "s", 20))


# ---- sessions --------------------------------------------------------------------------------

def sessions_rows(seed, n, delay, gap, t0, p_late=0.02, max_jitter=None, n_users=12):
    # each user clicks about every n_users * step / 2 ms on average: near the gap
    return gen_clicks(seed, n, delay, [gap], t0, n_users=n_users, n_pages=4,
                      step=max(1, 2 * gap // n_users), p_late=p_late, late_max=3 * gap,
                      echo_gap=gap, max_jitter=max_jitter)


def test_sessions_random(tmp):
    # (seed, rows, delay, gap, first ts)
    cases = [(81, 4000, 1000, 3000, -60000), (82, 3000, 0, 500, 1700000000000),
             (83, 3000, 4000, 10000, -5000000), (84, 2000, 200, 100, 0)]
    for seed, n, delay, gap, t0 in cases:
        rows = sessions_rows(seed, n, delay, gap, t0)
        expected, _ = check_sessions(tmp, "s%d" % seed, rows, delay, gap)
        expect(len(expected) > 30, "seed %d makes enough sessions" % seed, "> 30",
               len(expected))
        expect(any(c > 1 for _, _, _, c in expected), "seed %d: sessions of several clicks"
               % seed, "some", "none")


def test_sessions_sorted_equals_shuffled(tmp):
    # jitter below the max delay: no row is late and no session fires before a click that
    # touches it arrives, so file order does not matter
    for seed, delay, gap in ((91, 2000, 2500), (92, 1, 700)):
        rows = sessions_rows(seed, 3000, delay, gap, -30000, p_late=0, max_jitter=delay - 1)
        shuffled, late = check_sessions(tmp, "o%d" % seed, rows, delay, gap)
        expect(late == [], "seed %d: no late rows" % seed, [], late[:5])
        in_order, _ = check_sessions(tmp, "o%d-sorted" % seed, sorted_by_ts(rows), delay, gap)
        compare(in_order, shuffled, "seed %d: oracle, sorted vs shuffled" % seed)


# ---- demos and arguments ---------------------------------------------------------------------

def test_generated_demos(tmp):
    for name in ("log_errors", "clicks", "sessions"):
        for p in (1, 2):
            r = run(["run", job(name), "-p", str(p), "--", "--events", "20000"])
            expect_rc(r, 0)
            pat = r"%s: events=20000 .*windows=([1-9]\d*)" % name
            expect(re.search(pat, r.out) is not None, "%s p=%d summary line" % (name, p), pat,
                   r.out, r)


def test_bad_arguments(tmp):
    for name, args in (("log_errors", ["--window-ms", "0"]), ("clicks", ["--size-ms", "x"]),
                       ("sessions", ["--bogus", "1"]), ("clicks", ["--input"])):
        r = run(["run", job(name), "--"] + args)
        expect(r.rc != 0, "%s %s fails" % (name, " ".join(args)), "non-zero exit status",
               r.rc, r)


if __name__ == "__main__":
    main([test_log_errors_random, test_log_errors_allowed_lateness,
          test_log_errors_without_late_output, test_log_errors_sorted_equals_shuffled,
          test_log_errors_batch_sizes, test_clicks_tumbling, test_clicks_sliding,
          test_clicks_late_rows_first, test_clicks_sorted_equals_shuffled,
          test_checkpointing_keeps_results, test_sessions_random,
          test_sessions_sorted_equals_shuffled, test_generated_demos, test_bad_arguments])
