"""The project's copies of Nexmark's CEP queries (bench/nexmark-sql/cep/q0..q3: MATCH_RECOGNIZE
over the bids) give the matches computed here from the same events: each query runs in one job
beside a dump of the bids it reads, its blackhole sink made a print table, at parallelism 1 and
3; its rows equal those of the backtracking matcher of test_sql_match over each (auction,
bidder)'s dumped bids in time order."""
import os
import sys
from collections import Counter, defaultdict

sys.dont_write_bytecode = True
sys.setrecursionlimit(20000)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import expect, expect_rc, load_bench, main, run, ts_ms  # noqa: E402
from test_nexmark_joins import fields, replay  # noqa: E402
from test_sql_match import Matcher, jdiv, seq, var  # noqa: E402

EVENTS = 10000
RATE = 200

DUMP = """
CREATE TABLE d_bid (auction BIGINT, bidder BIGINT, price BIGINT, dt STRING)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s/bid', 'format' = 'json');
INSERT INTO d_bid SELECT auction, bidder, price, CAST(`dateTime` AS STRING) FROM bid;
"""


def read_bids(d):
    import glob
    import json
    out = []
    for f in glob.glob(os.path.join(d, "bid", "*")):
        if os.path.basename(f).startswith((".", "_")):
            continue
        with open(f, encoding="utf-8") as fh:
            out += [json.loads(line) for line in fh if line.strip()]
    for b in out:
        b["ts"] = ts_ms(b["dt"])
    return out


def q0_down(m, i):
    p1 = m.last("D", "price", i, 1)
    cur = m.rows[i]["price"]
    return (p1 is None and cur < m.last("S", "price", i)) or (p1 is not None and cur < p1)


def q0_up(m, i):
    p1 = m.last("D", "price", i, 1)
    return p1 is not None and m.rows[i]["price"] > p1


def avg_a(m, i):
    vs = m.values("A", "price", i)
    return jdiv(sum(vs), len(vs)) < 10000


def runs(skip):
    return (Matcher(seq(var("A", 1, None), var("B")), {"A": avg_a}, skip=skip),
            lambda m, s, e: (m.first("A", "ts", e), m.last("A", "ts", e),
                             jdiv(sum(m.values("A", "price", e)),
                                  len(m.values("A", "price", e)))))


# each query: the matcher, and its measures (timestamps as ms)
QUERIES = {
    "q0": (Matcher(seq(var("S"), var("D", 1, None), var("U")), {"D": q0_down, "U": q0_up},
                   skip="last", skip_var="U"),
           lambda m, s, e: (m.rows[s]["ts"], m.last("D", "ts", e), m.rows[e]["ts"])),
    "q1": runs("past"),
    "q2": runs("next"),
    "q3": (Matcher(seq(var("A"), var("B", 0, None), var("C")),
                   {"B": lambda m, i: m.rows[i]["price"] > m.last("A", "price", i) - 50,
                    "C": lambda m, i: m.rows[i]["price"] < m.last("A", "price", i) - 50},
                   within=5000),
           lambda m, s, e: (m.rows[e]["ts"], m.rows[s]["price"] - m.rows[e]["price"])),
}


def oracle(q, bids):
    matcher, measures = QUERIES[q]
    parts = defaultdict(list)
    for b in bids:
        parts[(b["auction"], b["bidder"])].append(b)
    out = Counter()
    for (auction, bidder), rows in parts.items():
        rows.sort(key=lambda b: b["ts"])
        for v in matcher.run(rows, measures):
            out[(auction, bidder) + tuple(v)] += 1
    return out


def project(q, f):
    """A printed row as the oracle's tuple (timestamps as ms)."""
    n_ts = {"q0": 3, "q1": 2, "q2": 2, "q3": 1}[q]
    vals = [int(f[0]), int(f[1])] + [ts_ms(x) for x in f[2:2 + n_ts]]
    return tuple(vals + [int(x) for x in f[2 + n_ts:]])


def test_cep_queries(tmp):
    bench = load_bench()
    sql = bench.SQL
    for par in (1, 3):
        for q in QUERIES:
            out = os.path.join(tmp, "%s-p%d" % (q, par))
            os.makedirs(out)
            values = {"TPS": str(RATE), "EVENTS_NUM": str(EVENTS), "PERSON_PROPORTION": "1",
                      "AUCTION_PROPORTION": "3", "BID_PROPORTION": "46",
                      "NEXMARK_TABLE": "datagen"}
            text = ""
            for name in ("ddl.sql", "views.sql", os.path.join("cep", q + ".sql")):
                with open(os.path.join(sql, name), encoding="utf-8") as f:
                    text += bench.fill(f.read(), values) + "\n"
            text = text.replace("'connector' = 'blackhole'",
                                "'connector' = 'print', 'print-identifier' = '%s'" % q)
            script = os.path.join(tmp, "%s-p%d.sql" % (q, par))
            with open(script, "w", encoding="utf-8") as f:
                f.write(text + DUMP % {"out": out})
            r = run(["run", "-p", str(par), script])
            expect_rc(r, 0)
            bids = read_bids(out)
            expect(len(bids) > EVENTS // 2, "%s p%d: the dumped bids" % (q, par),
                   "most of %d events" % EVENTS, len(bids), r)
            times = Counter((b["auction"], b["bidder"], b["ts"]) for b in bids)
            expect(max(times.values()) == 1, "%s p%d: no two bids of a partition at one time "
                   "(their order would be the run's)" % (q, par), 1, max(times.values()), r)
            want = oracle(q, bids)
            got = Counter()
            for row, n in replay(r.out, q).items():
                got[project(q, fields(row))] += n
            expect(sum(want.values()) > 0, "%s: matches to compare" % q, "some", 0, r)
            print("  %s p%d: %d matches" % (q, par, sum(want.values())), flush=True)
            if want != got:
                expect(False, "%s p%d: the matches computed from the bids" % (q, par),
                       "%d rows, missing e.g. %s" % (sum(want.values()),
                                                     sorted((want - got).elements())[:3]),
                       "%d rows, extra e.g. %s" % (sum(got.values()),
                                                   sorted((got - want).elements())[:3]), r)


if __name__ == "__main__":
    main([test_cep_queries])
