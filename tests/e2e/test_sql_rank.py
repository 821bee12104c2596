"""End-to-end tests of Top-N and deduplication in SQL (ROW_NUMBER() OVER (PARTITION BY ..
ORDER BY ..) bounded by the query over it, Flink's Rank and Deduplicate), against results
computed here on random inputs with many ties:

- Top-N of an append-only input with and without the rank column, a range not starting at 1,
  a constant rank (rownum = 2), one partition for all rows, NULLs first and last, other
  conjuncts kept as a filter; over an updating input (a GROUP BY below: retractions), with a
  total order and with ties; deduplication keeping the first and the last row by event time
  and by processing time, and a Top-2 by event time. Each runs at parallelism 1 and 3 with
  checkpoints on and off. The input is one file (one split), so every key's rows reach the
  ranking in file order and ties break by it (Flink's: the row that came first ranks first);
  each query's changelog is replayed by the key of its rows (-U and -D retract the current row
  of the key, +I and +U find none; a Top-N without the rank emits +I and -D only, a
  deduplication keeping the first row by processing time +I only) and its final table must
  equal the one computed here;
- Nexmark q18 (the last bid of each bidder on each auction, by event time), q19 (the ten
  highest bids of each auction) and q9 (the winning bid of each auction: a Top-1 over a join)
  in their shapes over the nexmark connector, against the auctions and bids the same job
  dumps, and their plans;
- kill -9 and --resume at random parallelisms of a Top-N with its rank into an exactly-once
  upsert-kafka table (keyed by partition and rank) and a deduplication into the exactly-once
  file sink: the compacted topic and the committed rows equal the result computed here;
- a savepoint at parallelism 2 restored at 1 or 3 (the same final tables), and the same
  savepoint refused by a query whose Top-N keeps another N, naming the operator;
- table.exec.state.ttl: a key whose state expired starts again;
- errors that name the place: RANK(), an unbounded ROW_NUMBER, an expression in OVER, a
  lower bound alone, a condition on the rank that is no bound, an updating Top-N into an
  append-only sink.
"""
import datetime
import os
import re
import sys
from collections import defaultdict

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import (MockKafka, committed_rows, expect, expect_in,  # noqa: E402
                      expect_rc, main, run, seeded_rng, ts_text)
from test_sql_recovery import (compacted, compare_tables, kill_and_resume,  # noqa: E402
                               savepoint_and_restore)

EPOCH = datetime.datetime(1970, 1, 1)
T0 = 1714564800000  # 2024-05-01 12:00:00 UTC
WORDS = ["a", "ab", "b", "ba", "zeta", "\u00e9t\u00e9", "\u4e2d", "Zz"]
RUNS = ((1, False), (3, True), (3, False), (1, True))  # (parallelism, checkpoints)


def java_ts(ms):
    """LocalDateTime.toString, as the print connector prints a TIMESTAMP(3)."""
    d = EPOCH + datetime.timedelta(milliseconds=ms)
    s = d.strftime("%Y-%m-%dT%H:%M")
    if d.second or ms % 1000:
        s += ":%02d" % d.second
        if ms % 1000:
            s += ".%03d" % (ms % 1000)
    return s


def nul(x):
    return "null" if x is None else str(x)


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def changelog(r, tag):
    """The (kind, values) of the printed rows of query tag, in order ("N> " prefixes allowed)."""
    out = []
    for line in r.out.splitlines():
        line = re.sub(r"^\d+> ", "", line)
        m = re.match(r"^([+-][IUD])\[(.*)\]$", line)
        if m and (m.group(2) + ",").startswith(tag + ","):
            out.append((m.group(1), m.group(2).split(", ")[1:]))
    return out


def replay(r, tag, key, what, kinds=("+I", "-U", "+U", "-D"), per_part=None):
    """The final table {key: row} of query tag's changelog, key(values) the key of a row: each
    -U and -D retracts the current row of its key, each +I and +U finds none; only kinds
    appear. per_part (part(values), n): a partition never holds more than n rows."""
    table, parts = {}, defaultdict(int)
    for kind, vals in changelog(r, tag):
        k = key(vals)
        expect(kind in kinds, "%s: row kinds %s only" % (what, "/".join(kinds)), kinds,
               "%s%s" % (kind, vals), r)
        if kind in ("-U", "-D"):
            expect(table.get(k) == vals, "%s: %s retracts the current row of %r" % (
                what, kind, k), table.get(k), vals, r)
            del table[k]
            if per_part:
                parts[per_part[0](vals)] -= 1
        else:
            expect(k not in table, "%s: %s on a key with a row" % (what, kind), "none",
                   table.get(k), r)
            table[k] = vals
            if per_part:
                p = per_part[0](vals)
                parts[p] += 1
                expect(parts[p] <= per_part[1], "%s: partition %r holds at most %d rows" % (
                    what, p, per_part[1]), per_part[1], parts[p], r)
    return table


def expect_table(want, got, what, r=None):
    if want != got:
        diff = sorted(set(want) ^ set(got) | {k for k in want if k in got and want[k] != got[k]},
                      key=str)
        expect(False, what, "%d rows, e.g. %s" % (len(want), [(k, want.get(k)) for k in diff[:3]]),
               "%d rows, e.g. %s" % (len(got), [(k, got.get(k)) for k in diff[:3]]), r)


def run_all(tmp, name, text, check, runs=RUNS):
    """Writes text (with %(par)d) as a script and runs it at each (parallelism, checkpoints)
    of runs; check(r, what) checks each run."""
    for par, ckpt in runs:
        script = os.path.join(tmp, "%s-%d-%d.sql" % (name, par, ckpt))
        write(script, text % {"par": par})
        args = ["run", "--batch-size", "7", script]
        if ckpt:
            args[1:1] = ["--checkpoint-dir", os.path.join(tmp, "ck-%s-%d" % (name, par)),
                         "--checkpoint-interval", "20"]
        r = run(args)
        expect_rc(r, 0)
        check(r, "%s p=%d checkpoints %s" % (name, par, "on" if ckpt else "off"))


def ranked(rows, sort_key):
    """rows in rank order: by sort_key, ties in arrival order (a stable sort)."""
    return sorted(rows, key=sort_key)


def asc(v):
    """ASC, NULL first (the smallest value, Flink's default)."""
    return (0, 0) if v is None else (1, v)


def desc_num(v):
    """DESC, NULL last."""
    return (1, 0) if v is None else (0, -v)


class DescStr:
    """A string sorted descending (NULL last)."""

    def __init__(self, s):
        self.s = s

    def __lt__(self, o):
        if self.s is None or o.s is None:
            return o.s is None and self.s is not None
        return self.s > o.s

    def __eq__(self, o):
        return self.s == o.s


# ---- Top-N of an append-only input ------------------------------------------------------------

APPEND_SQL = """
SET 'parallelism.default' = '%%(par)d';
CREATE TABLE t (k STRING, id BIGINT, v INT, w STRING)
  WITH ('connector' = 'filesystem', 'path' = '%(inp)s', 'format' = 'csv');
SELECT 'a', k, id, v, rn FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM t WHERE v IS NOT NULL)
WHERE rn <= 3;
SELECT 'b', k, id, v, w FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v, w DESC) AS rn FROM t)
WHERE rn < 4 AND MOD(id, 3) <> 0;
SELECT 'c', k, id, v, rn FROM (
  SELECT k, id, v, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC NULLS FIRST) AS rn FROM t)
WHERE rn BETWEEN 2 AND 4;
SELECT 'g', id, v, rn FROM (
  SELECT id, v, ROW_NUMBER() OVER (ORDER BY v DESC, id) AS rn FROM t WHERE v IS NOT NULL)
WHERE 5 >= rn;
WITH r AS (SELECT k, id, ROW_NUMBER() OVER (PARTITION BY k ORDER BY w NULLS LAST) AS rn FROM t)
SELECT 'e', k, id, rn FROM r WHERE rn = 2;
SELECT 'h', k, COUNT(*), SUM(v) FROM (
  SELECT k, v, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM t)
WHERE rn <= 3 AND v IS NOT NULL GROUP BY k;
"""


def test_top_n_append_only(tmp):
    rng = seeded_rng("sql-rank-append")
    keys = ["k%d" % i for i in range(6)]
    rows = [(rng.choice(keys), i, None if rng.random() < 0.08 else rng.randrange(12),
             None if rng.random() < 0.1 else rng.choice(WORDS)) for i in range(1500)]
    inp = os.path.join(tmp, "t.csv")
    write(inp, "".join("%s,%d,%s,%s\n" % (k, i, "" if v is None else v, "" if w is None else w)
                       for k, i, v, w in rows))
    by_k = defaultdict(list)
    for row in rows:
        by_k[row[0]].append(row)
    want_a, want_b, want_c, want_e, want_h = {}, {}, {}, {}, {}
    for k, g in by_k.items():
        top = ranked([x for x in g if x[2] is not None], lambda x: desc_num(x[2]))
        for n, x in enumerate(top[:3], 1):
            want_a[(k, str(n))] = [k, str(x[1]), str(x[2]), str(n)]
        top3 = [x[2] for x in ranked(g, lambda x: desc_num(x[2]))[:3] if x[2] is not None]
        if top3:  # NULLs rank last: a key's top 3 holds one only when it has no 3 values
            want_h[k] = [k, str(len(top3)), str(sum(top3))]
        top = ranked(g, lambda x: (asc(x[2]), DescStr(x[3])))
        for x in top[:3]:
            if x[1] % 3:
                want_b[str(x[1])] = [k, str(x[1]), nul(x[2]), nul(x[3])]
        top = ranked(g, lambda x: (0, 0) if x[2] is None else (1, -x[2]))  # DESC NULLS FIRST
        for n, x in enumerate(top[:4], 1):
            if n >= 2:
                want_c[(k, str(n))] = [k, str(x[1]), nul(x[2]), str(n)]
        top = ranked(g, lambda x: (1, "") if x[3] is None else (0, x[3]))  # ASC NULLS LAST
        if len(top) >= 2:
            want_e[k] = [k, str(top[1][1]), "2"]
    top = sorted([x for x in rows if x[2] is not None], key=lambda x: (-x[2], x[1]))
    want_g = {str(n): [str(x[1]), str(x[2]), str(n)] for n, x in enumerate(top[:5], 1)}
    expect(len(want_b) > 5 and len(want_c) > 10, "the oracle is not trivial", "rows", want_b)

    def check(r, what):
        got = replay(r, "a", lambda v: (v[0], v[3]), what + " a", ("+I", "-U", "+U"))
        expect_table(want_a, got, what + ": top 3 by v DESC with the rank", r)
        got = replay(r, "b", lambda v: v[1], what + " b", ("+I", "-D"),
                     per_part=(lambda v: v[0], 3))
        expect_table(want_b, got, what + ": top 3 by v, w DESC without the rank, filtered", r)
        got = replay(r, "c", lambda v: (v[0], v[3]), what + " c", ("+I", "-U", "+U"))
        expect_table(want_c, got, what + ": ranks 2 to 4 by v DESC NULLS FIRST", r)
        got = replay(r, "g", lambda v: v[2], what + " g", ("+I", "-U", "+U"))
        expect_table(want_g, got, what + ": the top 5 of all rows", r)
        got = replay(r, "e", lambda v: v[0], what + " e", ("+I", "-U", "+U"))
        expect_table(want_e, got, what + ": rank 2 (a constant) by w NULLS LAST", r)
        got = replay(r, "h", lambda v: v[0], what + " h")
        expect_table(want_h, got, what + ": COUNT and SUM of each key's top 3", r)
    run_all(tmp, "append", APPEND_SQL % {"inp": inp}, check)


# ---- Top-N over an updating input -----------------------------------------------------------

UPDATING_SQL = """
SET 'parallelism.default' = '%%(par)d';
CREATE TABLE t (k STRING, g INT, v INT)
  WITH ('connector' = 'filesystem', 'path' = '%(inp)s', 'format' = 'csv');
CREATE VIEW gs AS SELECT k, g, COUNT(*) AS c, SUM(v) AS s FROM t GROUP BY k, g;
SELECT 'u', k, g, c, rn FROM (
  SELECT k, g, c, ROW_NUMBER() OVER (PARTITION BY k ORDER BY c DESC, g) AS rn FROM gs)
WHERE rn <= 3;
SELECT 'v', k, g, c FROM (
  SELECT k, g, c, ROW_NUMBER() OVER (PARTITION BY k ORDER BY c DESC) AS rn FROM gs)
WHERE rn <= 2;
SELECT 'w', k, g, s, rn FROM (
  SELECT k, g, s, ROW_NUMBER() OVER (PARTITION BY k ORDER BY s) AS rn FROM gs)
WHERE rn > 1 AND rn <= 3;
"""


def test_top_n_over_updates(tmp):
    """A GROUP BY below the Top-N: every count change is a -U and +U, so rows leave the top and
    others come back into it. 'u' and 'w' have no ties (exact at every parallelism); 'v' ranks
    by the count alone: its ties break by which group changed last (it came last), exact at
    parallelism 1, where the order the groups change in is the file's."""
    rng = seeded_rng("sql-rank-updating")
    keys = ["k%d" % i for i in range(4)]
    rows = [(rng.choice(keys), rng.randrange(8), rng.randrange(-50, 50)) for _ in range(1200)]
    inp = os.path.join(tmp, "t.csv")
    write(inp, "".join("%s,%d,%d\n" % x for x in rows))
    count, total, last = defaultdict(int), defaultdict(int), {}
    for i, (k, g, v) in enumerate(rows):
        count[(k, g)] += 1
        total[(k, g)] += v
        last[(k, g)] = i
    want_u, want_v, want_w, v_counts = {}, {}, {}, {}
    for k in keys:
        gs = [g for (kk, g) in count if kk == k]
        top = sorted(gs, key=lambda g: (-count[(k, g)], g))
        for n, g in enumerate(top[:3], 1):
            want_u[(k, str(n))] = [k, str(g), str(count[(k, g)]), str(n)]
        top = sorted(gs, key=lambda g: (-count[(k, g)], last[(k, g)]))
        for g in top[:2]:
            want_v[(k, str(g))] = [k, str(g), str(count[(k, g)])]
        v_counts[k] = sorted(count[(k, g)] for g in top[:2])
        top = sorted(gs, key=lambda g: (total[(k, g)], g))
        s_ties = len({total[(k, g)] for g in gs}) != len(gs)
        for n, g in enumerate(top[:3], 1):
            if n > 1:
                want_w[(k, str(n))] = None if s_ties else [k, str(g), str(total[(k, g)]), str(n)]

    def check(r, what):
        got = replay(r, "u", lambda v: (v[0], v[3]), what + " u")
        expect_table(want_u, got, what + ": top 3 groups by count with the rank", r)
        got = replay(r, "v", lambda v: (v[0], v[1]), what + " v", ("+I", "-D"),
                     per_part=(lambda v: v[0], 2))
        if what.startswith("updating p=1"):
            expect_table(want_v, got, what + ": top 2 groups by count, ties by the last change",
                         r)
        else:  # the order of changes of groups on other subtasks decides ties
            got_c = defaultdict(list)
            for (k, g), vals in got.items():
                expect(count[(k, int(g))] == int(vals[2]), what + ": a group's final count",
                       count[(k, int(g))], vals, r)
                got_c[k].append(int(vals[2]))
            expect({k: sorted(c) for k, c in got_c.items()} == v_counts,
                   what + ": the counts of the top 2 groups", v_counts, dict(got_c), r)
        got = replay(r, "w", lambda v: (v[0], v[3]), what + " w")
        expect(set(got) == set(want_w), what + ": ranks 2 and 3 by sum", sorted(want_w),
               sorted(got), r)
        for key, vals in want_w.items():
            if vals is not None:
                expect(got[key] == vals, what + ": rank %s by sum" % (key,), vals, got[key], r)
    run_all(tmp, "updating", UPDATING_SQL % {"inp": inp}, check)


# ---- deduplication --------------------------------------------------------------------------

DEDUP_SQL = """
SET 'parallelism.default' = '%%(par)d';
CREATE TABLE d (k STRING, id BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'filesystem', 'path' = '%(inp)s', 'format' = 'csv');
CREATE VIEW dp AS SELECT *, PROCTIME() AS p FROM d;
SELECT 'f', k, id FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts) AS rn FROM d) WHERE rn = 1;
SELECT 'l', k, id, ts FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts DESC) AS rn FROM d) WHERE rn <= 1;
SELECT 'p', k, id FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY p) AS rn FROM dp) WHERE rn = 1;
SELECT 'q', k, id FROM (
  SELECT k, id, ROW_NUMBER() OVER (PARTITION BY k ORDER BY p DESC) AS rn FROM dp) WHERE rn < 2;
SELECT 'x', k, id, rn FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts DESC) AS rn FROM d) WHERE rn <= 2;
"""


def test_deduplicate(tmp):
    """Keep the first and the last row of each key by event time (out of order, with ties: the
    first of the earliest, the last of the latest, as Flink keeps them), by processing time
    (the first row of the key's, append-only; the last), and the two latest rows with their
    rank (a Top-2, not a deduplication)."""
    rng = seeded_rng("sql-rank-dedup")
    keys = ["k%d" % i for i in range(10)]
    rows, t = [], T0
    for i in range(2000):
        t += rng.randrange(0, 30)
        rows.append((rng.choice(keys), i, (t - rng.randrange(0, 400)) // 300 * 300))
    inp = os.path.join(tmp, "d.csv")
    write(inp, "".join("%s,%d,%s\n" % (k, i, ts_text(ts)) for k, i, ts in rows))
    by_k = defaultdict(list)
    for row in rows:
        by_k[row[0]].append(row)
    want_f, want_l, want_p, want_q, want_x = {}, {}, {}, {}, {}
    ties = 0
    for k, g in by_k.items():
        lo = min(ts for _, _, ts in g)
        hi = max(ts for _, _, ts in g)
        ties += sum(ts == hi for _, _, ts in g) > 1
        want_f[k] = [k, str([i for _, i, ts in g if ts == lo][0])]
        want_l[k] = [k, str([i for _, i, ts in g if ts == hi][-1]), java_ts(hi)]
        want_p[k] = [k, str(g[0][1])]
        want_q[k] = [k, str(g[-1][1])]
        top = sorted(g, key=lambda x: -x[2])  # stable: ties in arrival order
        for n, x in enumerate(top[:2], 1):
            want_x[(k, str(n))] = [k, str(x[1]), str(n)]
    expect(ties >= 2, "keys with ties on their latest time", ">= 2", ties)

    def check(r, what):
        for tag, want, kinds in (("f", want_f, ("+I", "-U", "+U")),
                                 ("l", want_l, ("+I", "-U", "+U")),
                                 ("p", want_p, ("+I",)), ("q", want_q, ("+I", "-U", "+U"))):
            got = replay(r, tag, lambda v: v[0], "%s %s" % (what, tag), kinds)
            expect_table(want, got, "%s: deduplication '%s'" % (what, tag), r)
        got = replay(r, "x", lambda v: (v[0], v[2]), what + " x", ("+I", "-U", "+U"))
        expect_table(want_x, got, what + ": the two latest rows of each key", r)
    run_all(tmp, "dedup", DEDUP_SQL % {"inp": inp}, check)


# ---- Nexmark q18 and q19 ------------------------------------------------------------------------

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def nexmark_ddl(events):
    """The project's Nexmark DDL and views (bench/nexmark-sql) for a stream of events."""
    values = {"TPS": "10000000", "EVENTS_NUM": str(events), "PERSON_PROPORTION": "1",
              "AUCTION_PROPORTION": "3", "BID_PROPORTION": "46", "NEXMARK_TABLE": "datagen"}
    text = ""
    for name in ("ddl", "views"):
        with open(os.path.join(ROOT, "bench", "nexmark-sql", name + ".sql"),
                  encoding="utf-8") as f:
            text += f.read() + "\n"
    return re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], text)


NEXMARK_SQL = """
SET 'parallelism.default' = '1';
%(ddl)s
%(explain)sSELECT 'bid', auction, bidder, price, `dateTime` FROM bid;
%(explain)sSELECT 'q18', auction, bidder, price, `dateTime` FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY `dateTime` DESC) AS rk
  FROM bid) WHERE rk <= 1;
%(explain)sSELECT 'q19', auction, bidder, price, `dateTime`, rk FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rk FROM bid)
WHERE rk <= 10;
%(explain)sSELECT 'auction', id, `dateTime`, expires FROM auction;
%(explain)sSELECT 'q9', id, price, bid_dateTime FROM (
  SELECT A.*, B.price, B.`dateTime` AS bid_dateTime,
    ROW_NUMBER() OVER (PARTITION BY A.id ORDER BY B.price DESC, B.`dateTime` ASC) AS rownum
  FROM auction A, bid B
  WHERE A.id = B.auction AND B.`dateTime` BETWEEN A.`dateTime` AND A.expires)
WHERE rownum <= 1;
"""


def test_nexmark_q18_q19(tmp):
    """q18 (a deduplication keeping the last bid of each bidder and auction by event time) and
    q19 (the ten highest bids of each auction, with their rank) in Nexmark's shapes over the
    nexmark connector, against the bids the same job prints (their order is the order the
    rankings see them in at parallelism 1); and their plans."""
    script = os.path.join(tmp, "explain.sql")
    write(script, NEXMARK_SQL % {"ddl": nexmark_ddl(1000), "explain": "EXPLAIN "})
    r = run(["run", script])
    expect_rc(r, 0)
    expect_in("Deduplicate(keep=[LastRow], key=[bidder, auction], order=[ROWTIME]", r.out,
              "q18 is a deduplication", r)
    expect_in("Rank(strategy=[AppendFastStrategy], rankType=[ROW_NUMBER], rankRange=[rankStart=1,"
              " rankEnd=10], partitionBy=[auction], orderBy=[price DESC], select=[auction, "
              "bidder, price, channel, url, dateTime, extra, w0$o0]", r.out, "q19 is a Top-N", r)
    expect_in("Rank(strategy=[AppendFastStrategy], rankType=[ROW_NUMBER], rankRange=[rankStart=1,"
              " rankEnd=1], partitionBy=[id], orderBy=[price DESC, dateTime ASC]", r.out,
              "q9 is a Top-1 over the join", r)
    write(script, NEXMARK_SQL % {"ddl": nexmark_ddl(20000), "explain": ""})
    r = run(["run", script])
    expect_rc(r, 0)
    bids = [(int(a), int(b), int(p), ts) for a, b, p, ts in
            (vals for _, vals in changelog(r, "bid"))]
    expect(len(bids) > 10000, "the bids", "> 10000", len(bids), r)
    last, by_auction = {}, defaultdict(list)
    for a, b, p, ts in bids:
        if (b, a) not in last or last[(b, a)][3] <= ts:  # ISO text: ordered as the time
            last[(b, a)] = (a, b, p, ts)
        by_auction[a].append((a, b, p, ts))
    want18 = {(str(b), str(a)): [str(x) for x in v] for (b, a), v in last.items()}
    got = replay(r, "q18", lambda v: (v[1], v[0]), "q18", ("+I", "-U", "+U"))
    expect_table(want18, got, "q18: the last bid of each bidder and auction", r)
    want19 = {}
    for a, g in by_auction.items():
        for n, x in enumerate(sorted(g, key=lambda x: -x[2])[:10], 1):
            want19[(str(a), str(n))] = [str(y) for y in x] + [str(n)]
    expect(max(len(g) for g in by_auction.values()) > 10, "an auction with more than 10 bids",
           "> 10", max(len(g) for g in by_auction.values()))
    got = replay(r, "q19", lambda v: (v[0], v[4]), "q19", ("+I", "-U", "+U"))
    expect_table(want19, got, "q19: the ten highest bids of each auction", r)
    # q9: the winning bid of each auction (the highest in its time, the earliest of equal ones)
    # over a join: the ORDER BY's columns are the same whichever of equal bids wins
    want9 = {}
    for _, (i, t0, t1) in changelog(r, "auction"):
        wins = [(-p, ts) for a, _, p, ts in by_auction.get(int(i), []) if t0 <= ts <= t1]
        if wins:
            p, ts = min(wins)
            want9[i] = [i, str(-p), ts]
    expect(len(want9) > 100, "auctions with bids in their time", "> 100", len(want9), r)
    got = replay(r, "q9", lambda v: v[0], "q9", ("+I", "-D"))
    expect_table(want9, got, "q9: the winning bid of each auction", r)


# ---- kill -9 and --resume; savepoints ---------------------------------------------------------

RECOVERY_SQL = """
SET 'pipeline.name' = '%(name)s';
CREATE TABLE t (k STRING, id BIGINT, v INT) WITH ('connector' = 'filesystem',
  'path' = '%(inp)s', 'format' = 'csv');
CREATE TABLE top_n (k STRING, id BIGINT, v INT, rn BIGINT, PRIMARY KEY (k, rn) NOT ENFORCED)
  WITH ('connector' = 'upsert-kafka', 'topic' = '%(topic)s',
  'properties.bootstrap.servers' = '%(servers)s', 'key.format' = 'csv',
  'value.format' = 'csv', 'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = 'tx-%(topic)s');
CREATE TABLE firsts (k STRING, id BIGINT) WITH ('connector' = 'filesystem',
  'path' = '%(out)s', 'format' = 'csv');
CREATE TEMPORARY FUNCTION slow AS 'slow' LANGUAGE C USING JAR '%(slow_so)s';
CREATE VIEW s AS SELECT *, PROCTIME() AS p FROM t WHERE slow(id, 20) >= 0;
EXECUTE STATEMENT SET BEGIN
INSERT INTO top_n SELECT k, id, v, rn FROM (
  SELECT k, id, v, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM s)
WHERE rn <= %(n)d;
INSERT INTO firsts SELECT k, id FROM (
  SELECT k, id, ROW_NUMBER() OVER (PARTITION BY k ORDER BY p) AS rn FROM s) WHERE rn = 1;
END;
"""


def recovery_case(tmp, rng, n_rows):
    keys = ["k%d" % i for i in range(50)]
    rows = [(rng.choice(keys), i, rng.randrange(40)) for i in range(n_rows)]
    inp = os.path.join(tmp, "t.csv")
    write(inp, "".join("%s,%d,%d\n" % x for x in rows))
    by_k = defaultdict(list)
    for row in rows:
        by_k[row[0]].append(row)
    want, firsts = {}, set()
    for k, g in by_k.items():
        for n, x in enumerate(sorted(g, key=lambda x: -x[2])[:3], 1):
            want["%s,%d" % (k, n)] = "%s,%d,%d,%d" % (k, x[1], x[2], n)
        firsts.add("%s,%d" % (k, g[0][1]))
    return inp, want, firsts


def recovery_script(tmp, m, tag, inp, n=3, file_name=None):
    """The script of tag (its topic made now, unless file_name names another script of the same
    tables and sinks)."""
    topic = "rank-" + tag
    if not file_name:
        m.command("topic %s 2" % topic)
    path = os.path.join(tmp, (file_name or tag) + ".sql")
    write(path, RECOVERY_SQL % {"name": tag, "inp": inp, "topic": topic, "servers": m.bootstrap,
                                "out": os.path.join(tmp, "out-" + tag), "n": n,
                                "slow_so": os.path.join(os.environ.get("RILL_TEST_JOBS", ""),
                                                        "sql_slow_udf.so")})
    return path, topic


def check_recovery(m, tmp, tag, topic, want, firsts, what, r):
    compare_tables(want, compacted(m, topic), what + ": the top 3 of each key in the topic", r)
    got = committed_rows(os.path.join(tmp, "out-" + tag), header=False)
    expect(sorted(got) == sorted(firsts), what + ": the first row of each key, once",
           "%d rows" % len(firsts), "%d rows, e.g. %s" % (len(got), sorted(
               set(got) ^ firsts)[:3]), r)


def test_kill_and_resume(tmp):
    rng = seeded_rng("sql-rank-kill")
    inp, want, firsts = recovery_case(tmp, rng, 4000)
    m = MockKafka()
    try:
        script, topic = recovery_script(tmp, m, "kill", inp)
        r, kills = kill_and_resume(tmp, rng, "kill", script, "heap", rng.randint(1, 3),
                                   max_kills=3)
        expect(kills >= 1, "the job was killed", ">= 1 kill", kills, r)
        check_recovery(m, tmp, "kill", topic, want, firsts, "after %d kills" % kills, r)
    finally:
        m.stop()


def test_savepoint_rescaled_and_changed_query(tmp):
    rng = seeded_rng("sql-rank-savepoint")
    inp, want, firsts = recovery_case(tmp, rng, 8000)
    m = MockKafka()
    try:
        script, topic = recovery_script(tmp, m, "sp", inp)
        r = savepoint_and_restore(tmp, rng, "sp", script, "sp", "heap")
        check_recovery(m, tmp, "sp", topic, want, firsts, "after a savepoint rescaled", r)
        # the Top-N keeping 4 rows does not fit the state of the one keeping 3
        changed, _ = recovery_script(tmp, m, "sp", inp, n=4, file_name="changed")
        sp = os.path.join(tmp, "sp-sp")
        sp = os.path.join(sp, sorted(os.listdir(sp))[0]) if not os.path.exists(
            os.path.join(sp, "_metadata")) else sp
        r = run(["run", "--from-savepoint", sp, changed])
        expect(r.rc == 1, "a changed Top-N refuses the savepoint", "exit status 1", r.rc, r)
        expect(re.search(r"operator '[^']*/Rank-\d+' .*does not fit", r.err) is not None,
               "the refusal names the Rank operator", "operator '.../Rank-N' ... does not fit",
               r.err, r)
    finally:
        m.stop()


# ---- state TTL --------------------------------------------------------------------------------

TTL_SQL = """
%(ttl)s
CREATE TABLE t (k STRING, id BIGINT) WITH ('connector' = 'filesystem', 'path' = '%(inp)s',
  'format' = 'csv');
CREATE TEMPORARY FUNCTION slow AS 'slow' LANGUAGE C USING JAR '%(slow_so)s';
CREATE VIEW s AS SELECT *, PROCTIME() AS p FROM t WHERE slow(id, 1) >= 0;
SELECT 'f', k, id FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY p) AS rn FROM s) WHERE rn = 1;
SELECT 't', k, id, rn FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY id DESC) AS rn FROM s) WHERE rn <= 2;
"""


def test_state_ttl(tmp):
    """table.exec.state.ttl: with a TTL shorter than the time between two rows of a key (a
    slow function sleeps 1 ms a row, 5 keys take turns), a key's state is gone when its next
    row comes: the deduplication takes it as the key's first again, the Top-2 as its only row;
    without, each key has its one first row and its Top-2 moves."""
    inp = os.path.join(tmp, "t.csv")
    write(inp, "".join("k%d,%d\n" % (i % 5, i) for i in range(200)))
    got = {}
    for ttl in ("", "SET 'table.exec.state.ttl' = '2 ms';"):
        script = os.path.join(tmp, "ttl.sql")
        write(script, TTL_SQL % {"ttl": ttl, "inp": inp, "slow_so": os.path.join(
            os.environ.get("RILL_TEST_JOBS", ""), "sql_slow_udf.so")})
        r = run(["run", "--batch-size", "1", script])
        expect_rc(r, 0)
        got[ttl] = (changelog(r, "f"), changelog(r, "t"))
    firsts, tops = got[""]
    expect(sorted(v for _, v in firsts) == [["k%d" % i, str(i)] for i in range(5)],
           "without a TTL: the first row of each key", "5 rows", firsts)
    expect(sum(k == "-U" for k, _ in tops) > 100, "without a TTL: the Top-2 moves",
           "> 100 updates", len(tops))
    firsts, tops = got["SET 'table.exec.state.ttl' = '2 ms';"]
    expect(len(firsts) > 20 and all(k == "+I" for k, _ in firsts),
           "with a TTL of 2 ms: a key's row after its state expired is a first again",
           "> 20 rows +I", firsts[:30])
    expect(sum(k == "+I" and v[2] == "1" for k, v in tops) > 20,
           "with a TTL of 2 ms: a key's row after its state expired ranks first alone",
           "> 20 +I of rank 1", tops[:30])


# ---- errors -----------------------------------------------------------------------------------

def test_errors(tmp):
    inp = os.path.join(tmp, "t.csv")
    write(inp, "a,1,2\n")
    head = ("CREATE TABLE t (k STRING, id BIGINT, v INT) WITH ('connector' = 'filesystem', "
            "'path' = '%s', 'format' = 'csv');\n" % inp)
    cases = [
        ("SELECT * FROM (SELECT *, RANK() OVER (PARTITION BY k ORDER BY v) AS r FROM t) "
         "WHERE r <= 2;", "RANK() on streaming table is not supported currently", 2, 26),
        ("SELECT * FROM (SELECT *, DENSE_RANK() OVER (ORDER BY v) AS r FROM t) WHERE r <= 2;",
         "DENSE_RANK() on streaming table is not supported currently", 2, 26),
        ("SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v) AS r FROM t);",
         "the query over it must bound it", 2, 26),
        ("SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v * 2) AS r "
         "FROM t) WHERE r <= 2;", "ORDER BY of an expression is not supported yet", 2, 69),
        ("SELECT * FROM (SELECT *,\n ROW_NUMBER() OVER (PARTITION BY k ORDER BY v) AS r "
         "FROM t) WHERE r > 2;", "Rank end is not specified", 3, 67),
        ("SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v) AS r FROM t) "
         "WHERE r <= 2 OR v > 1;", "A condition on the rank other than a bound", 2, 91),
        ("SELECT *, ROW_NUMBER() OVER (ORDER BY v) + 1 FROM t;",
         "is supported as a select item of its own", 2, 11),
    ]
    for sql, msg, line, col in cases:
        script = os.path.join(tmp, "e.sql")
        write(script, head + sql + "\n")
        r = run(["run", script])
        expect(r.rc == 1, "refused: %s" % sql, "exit status 1", r.rc, r)
        expect_in(msg, r.err, "the message", r)
        expect_in("at line %d, column %d" % (line, col), r.err, "the place of %r" % msg, r)
    write(os.path.join(tmp, "e.sql"), head + (
        "CREATE TABLE o (k STRING, id BIGINT) WITH ('connector' = 'filesystem', 'path' = '%s', "
        "'format' = 'csv');\nINSERT INTO o SELECT k, id FROM (SELECT *, ROW_NUMBER() OVER "
        "(PARTITION BY k ORDER BY v) AS r FROM t) WHERE r <= 2;\n" % os.path.join(tmp, "o")))
    r = run(["run", os.path.join(tmp, "e.sql")])
    expect(r.rc == 1, "an updating Top-N into the file sink", "exit status 1", r.rc, r)
    expect_in("doesn't support consuming update changes which is produced by node Rank("
              "strategy=[AppendFastStrategy], rankType=[ROW_NUMBER], rankRange=[rankStart=1, "
              "rankEnd=2], partitionBy=[k], orderBy=[v ASC], select=[k, id, v])", r.err,
              "the refusal names the Rank", r)


if __name__ == "__main__":
    main([test_top_n_append_only, test_top_n_over_updates, test_deduplicate,
          test_nexmark_q18_q19, test_kill_and_resume, test_savepoint_rescaled_and_changed_query,
          test_state_ttl, test_errors], need_jobs=True)
