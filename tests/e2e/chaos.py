"""Chaos: jobs killed with SIGKILL at random moments (during restores too) and resumed with
`rill run --resume` at a random parallelism each time, until they finish; then their committed
output must equal that of one uninterrupted run (Flink's "allround" end-to-end test is the
model). Used by test_chaos.py (a short version in `make test`) and by `make chaos` (the long
one, which prints what it did):

    python3 tests/e2e/chaos.py [--kills N] [--seed S] [--only NAME]   (RILL_* as for ctest)

The jobs:
- selfcheck: generated (key, seq) rows checked per key in keyed state for gaps and repeats;
  alerts to the exactly-once file sink. None may be committed. The source's parallelism
  changes too (generator positions rescaled).
- windows: clicks from one CSV file with late rows (beyond the max delay), per page in
  event-time tumbling windows, to the exactly-once file sink. The committed windows must be
  the ones computed here from SEMANTICS.md (test_windows's oracle), each once: late rows
  stay late through every kill and restore.
- files: ids from several CSV files, passed through, to the exactly-once file sink: each id
  committed exactly once (file split positions rescaled).
- sql_joins: a SQL script (one job) of a regular join and an interval join of two paced
  generators, and a window join of their window aggregations, each into an exactly-once file
  sink: every pair and window the joins make, computed here, committed once (join state, and
  the generators' positions, rescaled).
- kafka: the windows job reading a Kafka topic of one partition (late rows as in windows),
  then the files job reading ids from a topic of four partitions, both on librdkafka's mock
  cluster: the oracle's windows and every id, each committed once (Kafka offsets rescaled).
"""
import argparse
import os
import random
import sys
import tempfile
import shutil
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rill_e2e  # noqa: E402
from rill_e2e import Failure, expect, expect_rc  # noqa: E402
from rill_e2e import Started, restored_checkpoint  # noqa: E402
import test_windows  # noqa: E402

PARALLELISMS = (1, 2, 3, 4)
FINAL_TIMEOUT = 300


class Log:
    """What a chaos run did, printed as it goes."""

    def __init__(self, name, verbose):
        self.name, self.verbose = name, verbose
        self.kills = self.restores = self.runs = 0
        self.pars = []
        self.t0 = time.monotonic()

    def say(self, text):
        if self.verbose:
            print("  %s: %s" % (self.name, text), flush=True)

    def summary(self):
        return ("%s: %d runs, %d kills, %d restores from a checkpoint, parallelisms %s, "
                "%.1f s" % (self.name, self.runs, self.kills, self.restores,
                            "".join(str(p) for p in self.pars), time.monotonic() - self.t0))


def chaos(tmp, rng, log, args_for, kills, lo, hi):
    """Runs args_for(parallelism) with --resume, killed after a random lo..hi seconds, `kills`
    times (fewer if the job finishes first), then once more to its end. Returns the final
    Result."""
    for cycle in range(kills):
        par = rng.choice(PARALLELISMS)
        s = Started(tmp, "%s-%d" % (log.name, cycle), args_for(par), log_level="info")
        log.runs += 1
        log.pars.append(par)
        deadline = s.t0 + rng.uniform(lo, hi)
        while s.p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        ended = s.p.poll() is not None
        r = s.kill9()
        chk = restored_checkpoint(r.err)
        log.restores += chk is not None
        if ended:
            expect_rc(r, 0)
            log.say("run %d at -p %d finished by itself (restored %s)" % (cycle, par, chk))
            return r
        log.kills += 1
        log.say("run %d at -p %d killed after %.2f s (restored %s)" % (cycle, par, r.secs, chk))
    par = rng.choice(PARALLELISMS)
    log.pars.append(par)
    s = Started(tmp, "%s-final" % log.name, args_for(par), log_level="info")
    log.runs += 1
    while s.p.poll() is None and time.monotonic() < s.t0 + FINAL_TIMEOUT:
        time.sleep(0.05)
    if s.p.poll() is None:
        r = s.kill9()
        raise Failure("%s: the final run did not finish in %d s\n%s" % (log.name, FINAL_TIMEOUT,
                                                                       r.describe()))
    r = s.result()
    expect_rc(r, 0)
    log.restores += restored_checkpoint(r.err) is not None
    log.say("final run at -p %d finished (restored %s)" % (par, restored_checkpoint(r.err)))
    return r


def scale(kills):
    """How many times the short version's input a job needs to last for `kills` kills."""
    return max(1, round(kills / 9))


def common(ck, interval):
    return ["run", "--resume", "--checkpoint-dir", ck, "--checkpoint-interval", str(interval),
            "--restart-delay", "50"]


def selfcheck(tmp, rng, kills, verbose=False, rate=100000):
    """Generated sequences per key, checked in keyed state: no alert may be committed."""
    log = Log("selfcheck", verbose)
    events = 600000 * scale(kills)
    ck, alerts = os.path.join(tmp, "ck-selfcheck"), os.path.join(tmp, "alerts")
    so = os.path.join(rill_e2e.RILL_EXAMPLES, "selfcheck.so")

    def args_for(par):
        src_par = rng.choice(PARALLELISMS)
        return common(ck, 100) + ["-p", str(par), so, "--", "--keys", "12", "--events",
                                  str(events), "--rate", str(rate), "--source-parallelism",
                                  str(src_par), "--alerts", alerts]
    r = chaos(tmp, rng, log, args_for, kills, 0.05, 1.5)
    _events, alerts, gaps, dups = rill_e2e.selfcheck_summary(r.out, "selfcheck")
    expect(alerts == gaps == dups == 0,
           "selfcheck after %d kills: no alert, gap or duplicate in the final run" % log.kills,
           "alerts=0 gaps=0 duplicates=0", "alerts=%d gaps=%d duplicates=%d" % (
               alerts, gaps, dups), r)
    rows = rill_e2e.committed_rows(alerts)
    expect(rows == [], "selfcheck after %d kills: no alert committed" % log.kills, [],
           rows[:10], r)
    return log


def windows(tmp, rng, kills, verbose=False, rows_per_ms=8):
    """Event-time windows over one file with late rows: the committed windows are the
    oracle's."""
    log = Log("windows", verbose)
    n = 60000 * scale(kills)
    delay, size = 1000, 10000
    rows = test_windows.gen_clicks(rng.randrange(1 << 30), n, delay, [size], 1700000000000,
                                   n_users=50, n_pages=7, step=40, p_late=0.2,
                                   late_max=2 * size)
    path = os.path.join(tmp, "clicks.csv")
    test_windows.write_rows(path, test_windows.CLICK_HEADER, rows)
    expected, late = test_windows.oracle_fixed(test_windows.click_events(rows, "page"),
                                               test_windows.tumbling(size), delay)
    expect(len(late) > 100, "windows: the input has late rows", "> 100", len(late))
    ck, out = os.path.join(tmp, "ck-windows"), os.path.join(tmp, "windows")
    so = rill_e2e.job_so("chaos_windows")

    def args_for(par):
        return common(ck, 100) + ["-p", str(par), so, "--", "--input", path, "--output", out,
                                  "--rows-per-ms", str(rows_per_ms), "--max-delay-ms",
                                  str(delay), "--size-ms", str(size)]
    r = chaos(tmp, rng, log, args_for, kills, 0.05, 1.2)
    actual = test_windows.parse_csv("page,window_start,window_end,clicks\n" + "\n".join(
        rill_e2e.committed_rows(out)), test_windows.CLICKS_HEADER, "windows committed",
        (str, int, int, int))
    test_windows.compare(expected, actual, "windows after %d kills (committed vs computed)"
                         % log.kills, r)
    return log


def files(tmp, rng, kills, verbose=False, n_files=5, rows_per_ms=10):
    """Ids from several files, passed through: each committed exactly once."""
    log = Log("files", verbose)
    per_file = 16000 * scale(kills)
    src = os.path.join(tmp, "in")
    os.makedirs(src)
    total = 0
    for f in range(n_files):
        n = per_file + rng.randrange(per_file)
        with open(os.path.join(src, "part-%02d.csv" % f), "w") as fh:
            fh.write("id\n" + "".join("%d\n" % i for i in range(total, total + n)))
        total += n
    ck, out = os.path.join(tmp, "ck-files"), os.path.join(tmp, "files")
    so = rill_e2e.job_so("eo_files")

    def args_for(par):
        return common(ck, 100) + ["-p", str(par), so, "--", "--input", src, "--output", out,
                                  "--rows-per-ms", str(rows_per_ms)]
    r = chaos(tmp, rng, log, args_for, kills, 0.05, 1.2)
    ids = [int(x) for x in rill_e2e.committed_rows(out)]
    dup = len(ids) - len(set(ids))
    missing = total - len(set(ids))
    expect(dup == 0 and missing == 0 and sorted(set(ids)) == list(range(total)),
           "files after %d kills: every id committed exactly once" % log.kills,
           "%d ids" % total, "%d rows, %d duplicated, %d missing" % (len(ids), dup, missing), r)
    return log


SQL_JOINS = """
CREATE TABLE a (id BIGINT,
  ts AS TIMESTAMPADD(MILLISECOND, CAST(id * 7 AS INT), TIMESTAMP '2024-05-01 00:00:00.000'),
  WATERMARK FOR ts AS ts - INTERVAL '0.05' SECOND
) WITH ('connector' = 'datagen', 'rows-per-second' = '%(rate)d',
  'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '%(na)d');
CREATE TABLE b (n BIGINT,
  ts AS TIMESTAMPADD(MILLISECOND, CAST(n * 11 AS INT), TIMESTAMP '2024-05-01 00:00:00.000'),
  WATERMARK FOR ts AS ts - INTERVAL '0.05' SECOND
) WITH ('connector' = 'datagen', 'rows-per-second' = '%(rate)d',
  'fields.n.kind' = 'sequence', 'fields.n.start' = '1', 'fields.n.end' = '%(nb)d');
CREATE TABLE reg (aid BIGINT, bn BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s-reg', 'format' = 'csv');
CREATE TABLE itv (aid BIGINT, bn BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s-itv', 'format' = 'csv');
CREATE TABLE win (k BIGINT, ca BIGINT, cb BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s-win', 'format' = 'csv');
EXECUTE STATEMENT SET BEGIN
INSERT INTO reg SELECT a.id, b.n FROM a JOIN b ON a.id %% 211 = b.n %% 211;
INSERT INTO itv SELECT a.id, b.n FROM a, b WHERE a.id %% 5 = b.n %% 5
  AND a.ts BETWEEN b.ts - INTERVAL '0.02' SECOND AND b.ts + INTERVAL '0.01' SECOND;
INSERT INTO win SELECT x.k, x.c, y.c FROM
  (SELECT id %% 3 AS k, COUNT(*) AS c, window_start AS ws, window_end AS we
   FROM TABLE(TUMBLE(TABLE a, DESCRIPTOR(ts), INTERVAL '1' SECOND))
   GROUP BY id %% 3, window_start, window_end) x
  JOIN
  (SELECT n %% 3 AS k, COUNT(*) AS c, window_start AS ws, window_end AS we
   FROM TABLE(TUMBLE(TABLE b, DESCRIPTOR(ts), INTERVAL '1' SECOND))
   GROUP BY n %% 3, window_start, window_end) y
  ON x.k = y.k AND x.ws = y.ws AND x.we = y.we;
END;
"""


def sql_joins(tmp, rng, kills, verbose=False):
    """A regular, an interval and a window join in SQL (two paced generators in time order):
    every pair and window committed once, as computed here."""
    log = Log("sql_joins", verbose)
    na, nb = 7000 * scale(kills), 4500 * scale(kills)
    by_key = {}
    for n in range(1, nb + 1):
        by_key.setdefault(n % 211, []).append(n)
    reg = sorted("%d,%d" % (i, n) for i in range(1, na + 1) for n in by_key.get(i % 211, []))
    itv = []
    for i in range(1, na + 1):  # b.n * 11 - 20 <= i * 7 <= b.n * 11 + 10
        for n in range(max(1, (i * 7 - 10 + 10) // 11), min(nb, (i * 7 + 20) // 11) + 1):
            if n % 5 == i % 5 and n * 11 - 20 <= i * 7 <= n * 11 + 10:
                itv.append("%d,%d" % (i, n))
    itv.sort()
    ca, cb = {}, {}
    for i in range(1, na + 1):
        ca[(i % 3, i * 7 // 1000)] = ca.get((i % 3, i * 7 // 1000), 0) + 1
    for n in range(1, nb + 1):
        cb[(n % 3, n * 11 // 1000)] = cb.get((n % 3, n * 11 // 1000), 0) + 1
    win = sorted("%d,%d,%d" % (k, c, cb[(k, w)]) for (k, w), c in ca.items() if (k, w) in cb)
    ck, out = os.path.join(tmp, "ck-sql"), os.path.join(tmp, "sqlj")
    script = os.path.join(tmp, "joins.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write(SQL_JOINS % {"na": na, "nb": nb, "out": out, "rate": 1500})

    def args_for(par):
        return common(ck, 100) + ["-p", str(par), script]
    r = chaos(tmp, rng, log, args_for, kills, 0.05, 1.2)
    for name, want in (("reg", reg), ("itv", itv), ("win", win)):
        got = rill_e2e.committed_rows(out + "-" + name, header=False)
        if got != want:
            expect(False, "sql_joins %s after %d kills: every row once" % (name, log.kills),
                   "%d rows, e.g. %s" % (len(want), sorted(set(want) - set(got))[:3]),
                   "%d rows, e.g. %s" % (len(got), sorted(set(got) - set(want))[:3]), r)
    return log


def kafka(tmp, rng, kills, verbose=False):
    """windows and files over Kafka (librdkafka's mock cluster), killed kills times each."""
    log = Log("kafka", verbose)
    m = rill_e2e.MockKafka(["clicks:1", "ids:4"])
    try:
        delay, size = 1000, 10000
        n = 30000 * scale(kills)
        rows = test_windows.gen_clicks(rng.randrange(1 << 30), n, delay, [size], 1700000000000,
                                       n_users=50, n_pages=7, step=40, p_late=0.2,
                                       late_max=2 * size)
        m.produce("clicks", rill_e2e.csv_lines(rows))
        expected, late = test_windows.oracle_fixed(test_windows.click_events(rows, "page"),
                                                   test_windows.tumbling(size), delay)
        ck, out = os.path.join(tmp, "ck-kw"), os.path.join(tmp, "kafka-windows")
        so = rill_e2e.job_so("chaos_windows")

        def windows_args(par):
            return common(ck, 100) + ["-p", str(par), so, "--", "--input", m.url("clicks"),
                                      "--output", out, "--rows-per-ms", "8", "--max-delay-ms",
                                      str(delay), "--size-ms", str(size)]
        r = chaos(tmp, rng, log, windows_args, kills, 0.05, 1.0)
        actual = test_windows.parse_csv("page,window_start,window_end,clicks\n" + "\n".join(
            rill_e2e.committed_rows(out)), test_windows.CLICKS_HEADER, "windows committed",
            (str, int, int, int))
        test_windows.compare(expected, actual, "windows from Kafka after %d kills" % log.kills,
                             r)
        total = 40000 * scale(kills)
        m.spread("ids", [str(i) for i in range(total)], 4)
        ck2, out2 = os.path.join(tmp, "ck-kids"), os.path.join(tmp, "kafka-ids")
        so2 = rill_e2e.job_so("eo_files")

        def ids_args(par):
            return common(ck2, 100) + ["-p", str(par), so2, "--", "--input", m.url("ids"),
                                       "--output", out2, "--rows-per-ms", "10"]
        kills_before = log.kills
        r = chaos(tmp, rng, log, ids_args, kills, 0.05, 1.0)
        ids = [int(x) for x in rill_e2e.committed_rows(out2)]
        rill_e2e.expect_each_once(ids, total, "ids from 4 partitions after %d kills"
                                  % (log.kills - kills_before), r)
    finally:
        m.stop()
    return log


SCENARIOS = {"selfcheck": selfcheck, "windows": windows, "files": files, "kafka": kafka,
             "sql_joins": sql_joins}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=35, help="kills per job (default 35)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: new)")
    ap.add_argument("--only", choices=sorted(SCENARIOS), action="append")
    ap.add_argument("--repeat", type=int, default=1, help="whole runs in a row (default 1)")
    a = ap.parse_args()
    rill_e2e.check_env(need_jobs=True)
    seed = a.seed if a.seed is not None else random.randrange(1 << 31)
    total_kills, failed = 0, False
    for rep in range(a.repeat):
        for name in a.only or sorted(SCENARIOS):
            s = seed + rep * 1000 + sorted(SCENARIOS).index(name)
            print("chaos %s: seed %d, %d kills" % (name, s, a.kills), flush=True)
            tmp = tempfile.mkdtemp(prefix="rill-chaos-")
            try:
                log = SCENARIOS[name](tmp, random.Random(s), a.kills, verbose=True)
                total_kills += log.kills
                print("ok   " + log.summary(), flush=True)
            except Failure as e:
                failed = True
                print("FAIL chaos %s (seed %d): %s" % (name, s, e), flush=True)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    print("chaos: %d kills in all, %s" % (total_kills, "FAILED" if failed else "all passed"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
