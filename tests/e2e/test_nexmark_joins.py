"""The project's copies of Nexmark's join queries (bench/nexmark-sql/q3, q4, q5, q7, q8, q13,
q20, q23) give the rows computed here from the same events: each query runs in one job beside a dump
of the persons, auctions and bids it reads (so both see the same stream), its blackhole sink
made a print table, at parallelism 1 and 3; its final rows (a changelog replayed) equal those
computed from the dump."""
import glob
import json
import os
import re
import sys
from collections import Counter, defaultdict

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import (RILL_BUILD, expect, expect_rc, load_bench, main, run,  # noqa: E402
                      ts_ms)

EVENTS = 20000
RATE = 200

DUMP = """
CREATE TABLE d_person (id BIGINT, name STRING, city STRING, state STRING, dt STRING)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s/person', 'format' = 'json');
CREATE TABLE d_auction (id BIGINT, seller BIGINT, category BIGINT, dt STRING, expires STRING)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s/auction', 'format' = 'json');
CREATE TABLE d_bid (auction BIGINT, bidder BIGINT, price BIGINT, dt STRING)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s/bid', 'format' = 'json');
INSERT INTO d_person SELECT id, name, city, state, CAST(`dateTime` AS STRING) FROM person;
INSERT INTO d_auction SELECT id, seller, category, CAST(`dateTime` AS STRING),
  CAST(expires AS STRING) FROM auction;
INSERT INTO d_bid SELECT auction, bidder, price, CAST(`dateTime` AS STRING) FROM bid;
"""


def read_dump(d):
    def rows(name):
        out = []
        for f in glob.glob(os.path.join(d, name, "*")):
            if os.path.basename(f).startswith((".", "_")):
                continue
            with open(f, encoding="utf-8") as fh:
                out += [json.loads(line) for line in fh if line.strip()]
        return out
    persons, auctions, bids = rows("person"), rows("auction"), rows("bid")
    for r in persons + auctions + bids:
        r["t"] = ts_ms(r["dt"])
    for a in auctions:
        a["x"] = ts_ms(a["expires"])
    return persons, auctions, bids


def replay(out, ident):
    """The final multiset of rows of a print table (its identifier), a changelog."""
    rows = Counter()
    for line in out.splitlines():
        m = re.match(r"^%s(?::\d+)?> ([+-][IUD])\[(.*)\]$" % re.escape(ident), line)
        if not m:
            continue
        if m.group(1) in ("-U", "-D"):
            assert rows[m.group(2)] > 0, "%s takes back a row that is not there: %s" % (
                ident, line)
            rows[m.group(2)] -= 1
            if not rows[m.group(2)]:
                del rows[m.group(2)]
        else:
            rows[m.group(2)] += 1
    return rows


def fields(row):
    return row.split(", ")


# ---- each query's rows, computed from the dump --------------------------------------------------

def q3(persons, auctions, bids):
    by_id = defaultdict(list)
    for p in persons:
        by_id[p["id"]].append(p)
    return Counter("%s, %s, %s, %d" % (p["name"], p["city"], p["state"], a["id"])
                   for a in auctions if a["category"] == 10 for p in by_id[a["seller"]]
                   if p["state"] in ("OR", "ID", "CA"))


def q4(persons, auctions, bids):
    by_auction = defaultdict(list)
    for b in bids:
        by_auction[b["auction"]].append(b)
    finals = defaultdict(list)
    for a in auctions:
        inside = [b["price"] for b in by_auction[a["id"]] if a["t"] <= b["t"] <= a["x"]]
        if inside:
            finals[a["category"]].append(max(inside))
    return Counter("%d, %d" % (c, sum(v) // len(v)) for c, v in finals.items())


def windows(t, size, slide):
    start = t - t % slide
    while start > t - size:
        yield start
        start -= slide


def q5(persons, auctions, bids):
    counts = defaultdict(Counter)
    for b in bids:
        for w in windows(b["t"], 10000, 2000):
            counts[w][b["auction"]] += 1
    out = Counter()
    for w, c in counts.items():
        top = max(c.values())
        for auction, n in c.items():
            if n >= top:
                out["%d, %d" % (auction, n)] += 1
    return out


def q7(persons, auctions, bids):
    top = {}
    for b in bids:
        w = b["t"] - b["t"] % 10000
        top[w] = max(top.get(w, b["price"]), b["price"])
    out = Counter()
    for b in bids:
        for w, price in top.items():
            end = w + 10000
            if b["price"] == price and end - 10000 <= b["t"] <= end:
                out["%d, %d, %d" % (b["auction"], b["price"], b["bidder"])] += 1
    return out


def q8(persons, auctions, bids):
    sellers = set((a["seller"], a["t"] - a["t"] % 10000) for a in auctions)
    groups = set((p["id"], p["name"], p["t"] - p["t"] % 10000) for p in persons)
    return Counter("%d, %s, %d" % (i, n, w) for i, n, w in groups if (i, w) in sellers)


def q20(persons, auctions, bids):
    by_id = defaultdict(list)
    for a in auctions:
        by_id[a["id"]].append(a)
    return Counter("%d, %d, %d, %d" % (b["auction"], b["bidder"], b["price"], a["seller"])
                   for b in bids for a in by_id[b["auction"]] if a["category"] == 10)


def q23(persons, auctions, bids):
    person_ids = Counter(p["id"] for p in persons)
    sold = defaultdict(list)
    for a in auctions:
        sold[a["seller"]].append(a)
    return Counter("%d, %d, %d" % (b["bidder"], b["price"], a["seller"])
                   for b in bids for _ in range(person_ids[b["bidder"]])
                   for a in sold[b["bidder"]])


def q13(persons, auctions, bids):
    return Counter("%d, %d, %d, %d" % (b["auction"], b["bidder"], b["price"], b["auction"] % 10000)
                   for b in bids)


# what of each printed row is compared (its fields by place; a timestamp as ms)
CHECKS = {
    "q3": (q3, lambda f: ", ".join(f)),
    "q4": (q4, lambda f: ", ".join(f)),
    "q5": (q5, lambda f: ", ".join(f)),
    "q7": (q7, lambda f: "%s, %s, %s" % (f[0], f[1], f[2])),
    "q8": (q8, lambda f: "%s, %s, %d" % (f[0], f[1], ts_ms(f[2]))),
    "q13": (q13, lambda f: "%s, %s, %s, %s" % (f[0], f[1], f[2], f[4])),
    "q20": (q20, lambda f: "%s, %s, %s, %s" % (f[0], f[1], f[2], f[13])),
    "q23": (q23, lambda f: "%s, %s, %s" % (f[0], f[1], f[18])),
}


def test_join_queries(tmp):
    bench = load_bench()
    for par in (1, 3):
        for q, (oracle, project) in CHECKS.items():
            out = os.path.join(tmp, "%s-p%d" % (q, par))
            os.makedirs(out)
            text = bench.script_of(q, EVENTS, RILL_BUILD, out)
            # 200 events a second of event time (100 s): the stream spans several windows
            text = text.replace("'10000000'", "'%d'" % RATE)
            text = text.replace("'connector' = 'blackhole'",
                                "'connector' = 'print', 'print-identifier' = '%s'" % q)
            script = os.path.join(tmp, "%s-p%d.sql" % (q, par))
            with open(script, "w", encoding="utf-8") as f:
                f.write(text + DUMP % {"out": out})
            r = run(["run", "-p", str(par), script])
            expect_rc(r, 0)
            persons, auctions, bids = read_dump(out)
            expect(len(bids) > EVENTS // 2, "%s p%d: the dumped bids" % (q, par),
                   "most of %d events" % EVENTS, len(bids), r)
            want = oracle(persons, auctions, bids)
            try:
                got = Counter()
                for row, n in replay(r.out, q).items():
                    got[project(fields(row))] += n
            except AssertionError as e:
                expect(False, "%s p%d: a valid changelog" % (q, par), "valid", str(e), r)
            if q != "q23":
                expect(sum(want.values()) > 0, "%s: rows to compare" % q, "some", 0, r)
            print("  %s p%d: %d rows" % (q, par, sum(want.values())), flush=True)
            if want != got:
                expect(False, "%s p%d: the rows computed from the events" % (q, par),
                       "%d rows, missing e.g. %s" % (sum(want.values()),
                                                     sorted((want - got).elements())[:3]),
                       "%d rows, extra e.g. %s" % (sum(got.values()),
                                                   sorted((got - want).elements())[:3]), r)


if __name__ == "__main__":
    main([test_join_queries])
