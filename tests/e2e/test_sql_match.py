"""End-to-end tests of MATCH_RECOGNIZE (Flink's Match, one row per match):

- hand-written sequences for every quantifier (*, +, ?, {n}, {n,}, {n,m}, each greedy and
  reluctant), alternation and groups, every AFTER MATCH SKIP strategy, WITHIN, and the
  navigation of DEFINE and MEASURES (PREV, FIRST and LAST with offsets, a variable's column,
  COUNT, SUM, AVG, MIN, MAX, MATCH_ROWTIME()), with the matches written out here;
- random sequences with rows out of order and late rows, at parallelism 1 and 3, against a
  backtracking matcher written here (leftmost start first, the preferred path of the pattern:
  greedy takes more rows, reluctant fewer, alternatives left to right);
- kill -9 and --resume at random parallelisms into an exactly-once file sink: the committed
  rows are exactly the matches computed here;
- errors that name the place of what is not supported.
"""
import datetime
import os
import re
import sys
from collections import defaultdict

sys.dont_write_bytecode = True
sys.setrecursionlimit(20000)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import committed_rows, expect, expect_in, expect_rc, main, run, seeded_rng  # noqa: E402
from test_sql_recovery import kill_and_resume, savepoint_and_restore  # noqa: E402

EPOCH = datetime.datetime(1970, 1, 1)
T0 = 1714564800000  # 2024-05-01 12:00:00 UTC


def ts_text(ms):
    d = EPOCH + datetime.timedelta(milliseconds=ms)
    return d.strftime("%Y-%m-%d %H:%M:%S.") + "%03d" % (ms % 1000)


def java_ts(ms):
    """LocalDateTime.toString, as the print connector prints a TIMESTAMP(3)."""
    d = EPOCH + datetime.timedelta(milliseconds=ms)
    s = d.strftime("%Y-%m-%dT%H:%M")
    if d.second or ms % 1000:
        s += ":%02d" % d.second
        if ms % 1000:
            s += ".%03d" % (ms % 1000)
    return s


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def printed(r, tag):
    """The printed rows of query tag (its first column), without it ("N> " prefixes allowed)."""
    out = []
    for line in r.out.splitlines():
        line = re.sub(r"^\d+> ", "", line)
        m = re.match(r"^\+I\[(.*)\]$", line)
        if m and (m.group(1) + ",").startswith(tag + ","):
            out.append(tuple(m.group(1).split(", ")[1:]))
    return out


TABLE = """
CREATE TABLE t (k STRING, id BIGINT, ts TIMESTAMP(3), c STRING, price INT,
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH ('connector' = 'filesystem', 'path' = '%(inp)s', 'format' = 'csv');
"""

# ---- hand-written sequences ---------------------------------------------------------------------

# (tag, pattern, after, defines, the key's classes, the matches as (first id, last id)). Ids
# count the key's rows from 1, a row a second.
A, B, C, D = "A AS c = 'a'", "B AS c = 'b'", "C AS c = 'c'", "D AS c = 'd'"
CASES = [
    ("star", "A B* C", "", [A, B, C], "acabbcbc", [(1, 2), (3, 6)]),
    ("plus", "A B+ C", "", [A, B, C], "acabcabbbc", [(3, 5), (6, 10)]),
    ("opt", "A B? C", "", [A, B, C], "acabcabbc", [(1, 2), (3, 5)]),
    ("exact", "A B{2} C", "", [A, B, C], "abcabbcabbbc", [(4, 7)]),
    ("atleast", "A B{2,} C", "", [A, B, C], "abcabbcabbbc", [(4, 7), (8, 12)]),
    ("range", "A B{1,2} C", "", [A, B, C], "abcabbcabbbc", [(1, 3), (4, 7)]),
    ("upto", "A B{,2} C", "", [A, B, C], "acabbcabbbc", [(1, 2), (3, 6)]),
    # C may be a b too: greedy B* leaves it the last b, reluctant the first
    ("greedy", "A B* C", "", [A, B, "C AS c IN ('b', 'c')"], "abbc", [(1, 4)]),
    ("rel-star", "A B*? C", "", [A, B, "C AS c IN ('b', 'c')"], "abbcabbc", [(1, 2), (5, 6)]),
    ("rel-plus", "A B+? C", "", [A, B, "C AS c IN ('b', 'c')"], "abbc", [(1, 3)]),
    ("rel-atleast", "A B{2,}? C", "", [A, B, "C AS c IN ('b', 'c')"], "abbbc", [(1, 4)]),
    ("rel-opt", "A B?? C", "", [A, B, "C AS c IN ('b', 'c')"], "abc", [(1, 2)]),
    ("rel-range", "A B{1,3}? C", "", [A, B, "C AS c IN ('b', 'c')"], "abbbbc", [(1, 3)]),
    ("rel-end-star", "A B*?", "", [A, B], "aba", [(1, 1), (3, 3)]),
    ("rel-end-plus", "A B+?", "", [A, B], "abbab", [(1, 2), (4, 5)]),
    ("group", "(A B)+ C", "", [A, B, C], "ababcabc", [(1, 5), (6, 8)]),
    ("alt", "A (B | C) A", "", [A, B, C], "acabab", [(1, 3)]),
    ("alt-order", "A (B | B C) D?? ", "", [A, B, C, D], "abcd", [(1, 2)]),
    ("within", "A B* C", "WITHIN INTERVAL '3' SECOND", [A, B, C], "abbcabc", [(5, 7)]),
    # skips: A may be an a, b or m; the match of a m b b c is 1..5 in each
    ("past", "A M? B+ C", "AFTER MATCH SKIP PAST LAST ROW",
     ["A AS c IN ('a', 'b', 'm')", "M AS c = 'm'", B, C], "ambbc", [(1, 5)]),
    ("next", "A M? B+ C", "AFTER MATCH SKIP TO NEXT ROW",
     ["A AS c IN ('a', 'b', 'm')", "M AS c = 'm'", B, C], "ambbc", [(1, 5), (2, 5), (3, 5)]),
    ("first", "A M? B+ C", "AFTER MATCH SKIP TO FIRST B",
     ["A AS c IN ('a', 'b', 'm')", "M AS c = 'm'", B, C], "ambbc", [(1, 5), (3, 5)]),
    ("last", "A M? B+ C", "AFTER MATCH SKIP TO LAST B",
     ["A AS c IN ('a', 'b', 'm')", "M AS c = 'm'", B, C], "ambbc", [(1, 5)]),
    ("last-c", "A B+ C", "AFTER MATCH SKIP TO LAST C",
     ["A AS c IN ('a', 'c')", B, C], "abcbcb", [(1, 3), (3, 5)]),
    ("to-c", "A B+ C", "AFTER MATCH SKIP TO C",
     ["A AS c IN ('a', 'c')", B, C], "abcbcb", [(1, 3), (3, 5)]),
    ("past-c", "A B+ C", "", ["A AS c IN ('a', 'c')", B, C], "abcbcb", [(1, 3)]),
]


def hand_rows(cases):
    """The table's rows: each case's key with its classes, a row a second (the keys a ms apart),
    in time order."""
    rows = []
    for n, case in enumerate(cases):
        for i, cls in enumerate(case[4]):
            rows.append(("k-" + case[0], i + 1, T0 + 1000 * i + n, cls, 10))
    return sorted(rows, key=lambda x: x[2])


def case_sql(case):
    tag, pattern, after, defines = case[:4]
    within = ""
    if after.startswith("WITHIN"):
        within, after = after, ""
    return """SELECT '%s', k, f, l FROM t MATCH_RECOGNIZE (
  PARTITION BY k ORDER BY ts
  MEASURES FIRST(id) AS f, LAST(id) AS l
  ONE ROW PER MATCH %s
  PATTERN (%s) %s
  DEFINE %s);
""" % (tag, after, pattern, within, ", ".join(defines))


NAV_SQL = """SELECT 'nav', k, s_id, d1, dn, d_second, n, sd, ad, mind, maxd, up, prv, mt
FROM t MATCH_RECOGNIZE (
  PARTITION BY k ORDER BY ts
  MEASURES S.id AS s_id, FIRST(D.id) AS d1, LAST(D.id) AS dn, FIRST(D.price, 1) AS d_second,
    COUNT(D.price) AS n, SUM(D.price) AS sd, AVG(D.price) AS ad, MIN(D.price) AS mind,
    MAX(D.price) AS maxd, LAST(U.price) AS up, PREV(price) AS prv, MATCH_ROWTIME() AS mt
  ONE ROW PER MATCH
  AFTER MATCH SKIP TO LAST U
  PATTERN (S D+ U)
  DEFINE
    D AS (LAST(D.price, 1) IS NULL AND D.price < S.price) OR D.price < LAST(D.price, 1),
    U AS U.price > LAST(D.price, 1)
) WHERE k = 'nav';
"""
NAV_PRICES = [10, 9, 8, 12, 11, 7, 6, 9]

# rows of one time, in the order ORDER BY's second column gives them (file order: c, a, b)
ORD_SQL = """SELECT '%s', k, f, l FROM t MATCH_RECOGNIZE (
  PARTITION BY k ORDER BY ts, price%s MEASURES FIRST(id) AS f, LAST(id) AS l
  ONE ROW PER MATCH PATTERN (%s) DEFINE A AS c = 'a', B AS c = 'b', C AS c = 'c')
WHERE k = 'ord';
"""
ORD_ROWS = [("ord", 1, T0 + 700, "c", 3), ("ord", 2, T0 + 700, "a", 1), ("ord", 3, T0 + 700, "b", 2)]


def test_hand_written(tmp):
    rows = hand_rows(CASES)
    nav0 = T0 + 500
    rows += [("nav", i + 1, nav0 + 1000 * i, "x", p) for i, p in enumerate(NAV_PRICES)]
    rows += ORD_ROWS
    rows.sort(key=lambda x: x[2])
    inp = os.path.join(tmp, "t.csv")
    write(inp, "".join("%s,%d,%s,%s,%d\n" % (k, i, ts_text(ts), c, p) for k, i, ts, c, p in rows))
    script = os.path.join(tmp, "q.sql")
    write(script, TABLE % {"inp": inp} + "".join(case_sql(c) for c in CASES) + NAV_SQL +
          ORD_SQL % ("asc", "", "A B C") + ORD_SQL % ("desc", " DESC", "C B A"))
    for par in (1, 3):
        r = run(["run", "-p", str(par), script])
        expect_rc(r, 0)
        for case in CASES:
            got = sorted((int(f), int(l)) for k, f, l in printed(r, case[0])
                         if k == "k-" + case[0])
            expect(got == sorted(case[5]), "p%d %s: PATTERN (%s) over %s" % (
                par, case[0], case[1], case[4]), case[5], got, r)
        # S=10 D=9,8 U=12; then from the last U: S=12 D=11,7,6 U=9 (over LAST(D.price, 1) = 7)
        want = [("nav", "1", "2", "3", "8", "2", "17", "8", "8", "9", "12", "8",
                 java_ts(nav0 + 3000)),
                ("nav", "4", "5", "7", "7", "3", "24", "8", "6", "11", "9", "6",
                 java_ts(nav0 + 7000))]
        got = sorted(printed(r, "nav"))
        expect(got == want, "p%d navigation and aggregates" % par, want, got, r)
        for tag, want in (("asc", [("ord", "2", "1")]), ("desc", [("ord", "1", "2")])):
            got = printed(r, tag)
            expect(got == want, "p%d rows of one time by ORDER BY ts, price %s" % (par, tag),
                   want, got, r)


# ---- a matcher written here ---------------------------------------------------------------------

def seq(*items):
    return ("seq", list(items))


def alt(*items):
    return ("alt", list(items))


def var(v, lo=1, hi=1, greedy=True):
    return ("q", ("var", v), lo, hi, greedy)


def quant(node, lo, hi, greedy=True):
    return ("q", node, lo, hi, greedy)


class Matcher:
    """Backtracking over one key's rows (dicts with ts, id, c, price): the first match at each
    start in the pattern's order of preference, then the skip."""

    def __init__(self, pattern, defines, skip="past", skip_var=None, within=None):
        self.pattern, self.defines = pattern, defines
        self.skip, self.skip_var, self.within = skip, skip_var, within

    def match(self, node, i, k):
        kind = node[0]
        if kind == "var":
            v = node[1]
            if i >= len(self.rows):
                return None
            if self.within and self.rows[i]["ts"] - self.rows[self.s]["ts"] >= self.within:
                return None
            self.assign[i] = v
            f = self.defines.get(v)
            if f and not f(self, i):
                return None
            return k(i + 1)
        if kind == "seq":
            def chain(n, j):
                if n == len(node[1]):
                    return k(j)
                return self.match(node[1][n], j, lambda j2: chain(n + 1, j2))
            return chain(0, i)
        if kind == "alt":
            for a in node[1]:
                r = self.match(a, i, k)
                if r is not None:
                    return r
            return None
        _, body, lo, hi, greedy = node

        def rep(n, j):
            if n < lo:
                return self.match(body, j, lambda j2: rep(n + 1, j2))
            more = hi is None or n < hi
            if greedy:
                if more:
                    r = self.match(body, j, lambda j2: rep(n + 1, j2) if j2 > j else None)
                    if r is not None:
                        return r
                return k(j)
            r = k(j)
            if r is not None or not more:
                return r
            return self.match(body, j, lambda j2: rep(n + 1, j2) if j2 > j else None)
        return rep(0, i)

    # navigation over the match so far (rows s..i, assign), as DEFINE and MEASURES see it
    def rows_of(self, v, i):
        return [p for p in range(self.s, i + 1) if v is None or self.assign[p] == v]

    def last(self, v, col, i, off=0):
        ps = self.rows_of(v, i)
        return self.rows[ps[-1 - off]][col] if off < len(ps) else None

    def first(self, v, col, i, off=0):
        ps = self.rows_of(v, i)
        return self.rows[ps[off]][col] if off < len(ps) else None

    def prev(self, col, i, n=1):
        return self.rows[i - n][col] if i - n >= 0 else None

    def values(self, v, col, i):
        return [self.rows[p][col] for p in self.rows_of(v, i)]

    def run(self, rows, measures):
        self.rows = rows
        out, s = [], 0
        while s < len(rows):
            self.s = s
            self.assign = {}
            e = self.match(self.pattern, s, lambda j: j)
            if e is None or e == s:
                s += 1
                continue
            out.append(measures(self, s, e - 1))
            nxt = s + 1
            if self.skip == "past":
                nxt = e
            elif self.skip in ("first", "last"):
                ps = [p for p in range(s, e) if self.assign[p] == self.skip_var]
                if ps:
                    nxt = ps[0] if self.skip == "first" else ps[-1]
            s = nxt if nxt > s else s + 1
        return out


def jdiv(a, b):
    """Java's long division (towards zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def avg_below(m, i):
    vs = m.values("A", "price", i)
    return jdiv(sum(vs), len(vs)) < 50


def d_down(m, i):
    p1 = m.last("D", "price", i, 1)
    cur = m.rows[i]["price"]
    return (p1 is None and cur < m.last("S", "price", i)) or (p1 is not None and cur < p1)


def u_up(m, i):
    p1 = m.last("D", "price", i, 1)
    return p1 is not None and m.rows[i]["price"] > p1


def fl(m, s, e):
    return (m.rows[s]["id"], m.rows[e]["id"])


# (tag, SQL of PATTERN .. DEFINE, matcher, measures SQL, measures here)
RANDOM = [
    ("r1", "AFTER MATCH SKIP PAST LAST ROW PATTERN (A B* C) "
     "DEFINE A AS c = 'a', B AS c = 'b' OR price > PREV(price), C AS c = 'c'",
     Matcher(seq(var("A"), var("B", 0, None), var("C")),
             {"A": lambda m, i: m.rows[i]["c"] == "a",
              "B": lambda m, i: m.rows[i]["c"] == "b" or (
                  i > 0 and m.rows[i]["price"] > m.prev("price", i)),
              "C": lambda m, i: m.rows[i]["c"] == "c"}),
     "FIRST(id) AS f, LAST(id) AS l", fl),
    ("r2", "AFTER MATCH SKIP TO NEXT ROW PATTERN (A+? B{1,3} C) "
     "DEFINE A AS c <> 'c', B AS c = 'b', C AS c IN ('b', 'c')",
     Matcher(seq(var("A", 1, None, False), var("B", 1, 3), var("C")),
             {"A": lambda m, i: m.rows[i]["c"] != "c",
              "B": lambda m, i: m.rows[i]["c"] == "b",
              "C": lambda m, i: m.rows[i]["c"] in ("b", "c")}, skip="next"),
     "FIRST(id) AS f, LAST(id) AS l", fl),
    ("r3", "AFTER MATCH SKIP TO LAST A PATTERN (A (B | C C)+? A) "
     "DEFINE A AS c = 'a', B AS c = 'b', C AS c = 'c'",
     Matcher(seq(var("A"), quant(alt(var("B"), seq(var("C"), var("C"))), 1, None, False),
                 var("A")),
             {"A": lambda m, i: m.rows[i]["c"] == "a", "B": lambda m, i: m.rows[i]["c"] == "b",
              "C": lambda m, i: m.rows[i]["c"] == "c"}, skip="last", skip_var="A"),
     "FIRST(id) AS f, LAST(id) AS l, COUNT(B.id) AS nb", lambda m, s, e: fl(m, s, e) + (
         len(m.values("B", "id", e)),)),
    ("r4", "AFTER MATCH SKIP TO LAST U PATTERN (S D+ U) WITHIN INTERVAL '5' SECOND "
     "DEFINE D AS (LAST(D.price, 1) IS NULL AND D.price < S.price) OR "
     "D.price < LAST(D.price, 1), U AS U.price > LAST(D.price, 1)",
     Matcher(seq(var("S"), var("D", 1, None), var("U")), {"D": d_down, "U": u_up},
             skip="last", skip_var="U", within=5000),
     "S.id AS s, LAST(D.id) AS d, U.id AS u, MIN(D.price) AS mn",
     lambda m, s, e: (m.rows[s]["id"], m.last("D", "id", e), m.rows[e]["id"],
                      min(m.values("D", "price", e)))),
    ("r5", "AFTER MATCH SKIP TO NEXT ROW PATTERN (A+ B) DEFINE A AS AVG(A.price) < 50",
     Matcher(seq(var("A", 1, None), var("B")), {"A": avg_below}, skip="next"),
     "FIRST(A.id) AS f, LAST(A.id) AS l, AVG(A.price) AS a, SUM(A.price) AS sm",
     lambda m, s, e: (m.first("A", "id", e), m.last("A", "id", e),
                      jdiv(sum(m.values("A", "price", e)), len(m.values("A", "price", e))),
                      sum(m.values("A", "price", e)))),
]


def random_rows(rng, n_keys, n_rows, late=True, delay=2000):
    """Rows in file order: times rising with jitter inside the watermark's delay, and (late)
    now and then a row far behind the watermark. Returns (rows, the rows the job keeps)."""
    rows, kept, hi, t = [], [], None, T0
    ids = defaultdict(int)
    used = set()
    for n in range(n_rows):
        t += rng.randint(0, 300)
        k = "k%d" % rng.randrange(n_keys)
        if late and hi is not None and rng.random() < 0.03:
            ts = hi - delay - rng.randint(3000, 10000)
            is_late = True
        else:
            ts = t - rng.randint(0, delay - 500)
            is_late = False
        while (k, ts) in used:
            ts += 1
        used.add((k, ts))
        if hi is not None and not is_late:
            is_late = ts <= hi - delay - 1
        ids[k] += 1
        row = {"k": k, "id": n + 1, "ts": ts, "c": rng.choice("aabbc"), "price": rng.randrange(100)}
        rows.append(row)
        if not is_late:
            kept.append(row)
        hi = ts if hi is None else max(hi, ts)
    return rows, kept


def expected(kept, matcher, measures):
    by_k = defaultdict(list)
    for row in kept:
        by_k[row["k"]].append(row)
    out = []
    for k, rs in by_k.items():
        rs.sort(key=lambda x: x["ts"])
        out += [(k,) + tuple(str(x) for x in v) for v in matcher.run(rs, measures)]
    return sorted(out)


def random_sql(inp, sink=None):
    text = TABLE % {"inp": inp}
    for tag, body, _m, meas, _f in RANDOM:
        text += ("SELECT '%s', k, * FROM (SELECT * FROM t MATCH_RECOGNIZE (PARTITION BY k "
                 "ORDER BY ts MEASURES %s ONE ROW PER MATCH %s));\n" % (tag, meas, body))
    return text


def write_rows(path, rows):
    write(path, "".join("%s,%d,%s,%s,%d\n" % (x["k"], x["id"], ts_text(x["ts"]), x["c"],
                                               x["price"]) for x in rows))


def test_random_out_of_order_and_late(tmp):
    rng = seeded_rng("sql-match-random")
    rows, kept = random_rows(rng, 12, 3000)
    inp = os.path.join(tmp, "t.csv")
    write_rows(inp, rows)
    script = os.path.join(tmp, "q.sql")
    write(script, random_sql(inp))
    want = {tag: expected(kept, m, f) for tag, _b, m, _ms, f in RANDOM}
    for tag in want:
        expect(len(want[tag]) >= 5, "%s: the random input has matches" % tag, ">= 5",
               len(want[tag]))
    for par in (1, 3):
        # one row a batch: the watermark follows each row, so which rows are late is known
        r = run(["run", "-p", str(par), "--batch-size", "1", script])
        expect_rc(r, 0)
        for tag in want:
            got = sorted(tuple(x[:1]) + tuple(x[2:]) for x in printed(r, tag))
            if got != want[tag]:
                diff = sorted(set(got) ^ set(want[tag]))[:4]
                expect(False, "p%d %s: the matches computed here" % (par, tag),
                       "%d rows" % len(want[tag]), "%d rows, differing: %s" % (len(got), diff), r)


# ---- kill -9 and --resume -----------------------------------------------------------------------

RECOVERY_SQL = """
SET 'pipeline.name' = 'match-recovery';
CREATE TABLE t (k STRING, id BIGINT, ts TIMESTAMP(3), c STRING, price INT,
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
) WITH ('connector' = 'filesystem', 'path' = '%(inp)s', 'format' = 'csv');
CREATE TABLE out_t (k STRING, f BIGINT, l BIGINT, mn INT) WITH ('connector' = 'filesystem',
  'path' = '%(out)s', 'format' = 'csv');
CREATE TEMPORARY FUNCTION slow AS 'slow' LANGUAGE C USING JAR '%(slow_so)s';
CREATE VIEW s AS SELECT * FROM t WHERE slow(id, 20) >= 0;
INSERT INTO out_t SELECT * FROM s MATCH_RECOGNIZE (PARTITION BY k ORDER BY ts
  MEASURES FIRST(id) AS f, LAST(id) AS l, MIN(price) AS mn
  ONE ROW PER MATCH AFTER MATCH SKIP PAST LAST ROW
  PATTERN (A B* C) DEFINE A AS c = 'a', B AS c = 'b' OR price > PREV(price), C AS c = 'c');
"""


def recovery_case(tmp, rng, n_rows):
    """The recovery script over random rows in order (none late), and its rows computed here."""
    rows, kept = random_rows(rng, 20, n_rows, late=False)
    expect(len(kept) == len(rows), "no late rows", len(rows), len(kept))
    inp = os.path.join(tmp, "t.csv")
    write_rows(inp, rows)
    out = os.path.join(tmp, "out")
    script = os.path.join(tmp, "q.sql")
    write(script, RECOVERY_SQL % {"inp": inp, "out": out, "slow_so": os.path.join(
        os.environ.get("RILL_TEST_JOBS", ""), "sql_slow_udf.so")})
    m = RANDOM[0][2]
    want = sorted("%s,%s,%s,%s" % x for x in expected(kept, m, lambda m, s, e: (
        m.rows[s]["id"], m.rows[e]["id"], min(m.rows[p]["price"] for p in range(s, e + 1)))))
    expect(len(want) >= 50, "the input has matches", ">= 50", len(want))
    return script, out, want


def test_kill_and_resume(tmp):
    rng = seeded_rng("sql-match-kill")
    script, out, want = recovery_case(tmp, rng, 2500)
    r, kills = kill_and_resume(tmp, rng, "kill", script, "heap", rng.randint(1, 3), max_kills=3)
    expect(kills >= 1, "the job was killed", ">= 1 kill", kills, r)
    got = committed_rows(out, header=False)
    if got != want:
        expect(False, "after %d kills: each match committed once" % kills, "%d rows" % len(want),
               "%d rows, differing: %s" % (len(got), sorted(set(got) ^ set(want))[:4]), r)


def test_savepoint_rescaled_and_changed_pattern(tmp):
    rng = seeded_rng("sql-match-savepoint")
    script, out, want = recovery_case(tmp, rng, 4000)
    r = savepoint_and_restore(tmp, rng, "sp", script, "match-recovery", "heap")
    got = committed_rows(out, header=False)
    if got != want:
        expect(False, "after a savepoint restored at another parallelism: each match once",
               "%d rows" % len(want), "%d rows, differing: %s" % (
                   len(got), sorted(set(got) ^ set(want))[:4]), r)
    # another pattern does not fit the partial matches of this one
    changed = os.path.join(tmp, "changed.sql")
    with open(script, encoding="utf-8") as f:
        write(changed, f.read().replace("PATTERN (A B* C)", "PATTERN (A B+ C)"))
    sp = os.path.join(tmp, "sp-sp")
    sp = os.path.join(sp, sorted(os.listdir(sp))[0]) if not os.path.exists(
        os.path.join(sp, "_metadata")) else sp
    r = run(["run", "--from-savepoint", sp, changed])
    expect(r.rc == 1, "a changed pattern refuses the savepoint", "exit status 1", r.rc, r)
    expect(re.search(r"operator '[^']*/Match-\d+' .*does not fit", r.err) is not None,
           "the refusal names the Match operator", "operator '.../Match-N' ... does not fit",
           r.err, r)


# ---- errors -------------------------------------------------------------------------------------

ERRORS = [
    ("ONE ROW PER MATCH", "ALL ROWS PER MATCH", "ALL ROWS PER MATCH is not supported yet",
     (4, 17)),
    ("PATTERN (A B* C)", "PATTERN (A B*)", "Greedy quantifiers are not allowed as the last "
     "element of a Pattern yet", (7, 14)),
    ("ORDER BY ts", "ORDER BY id", "You must specify either rowtime or proctime for order by",
     (5, 27)),
    ("B AS c = 'b'", "X AS c = 'b'", "Pattern variable 'X' is defined but not in the pattern",
     (8, 24)),
    ("FIRST(id) AS f", "NEXT(id) AS f", "NEXT is not supported yet in MATCH_RECOGNIZE", (6, 12)),
    ("ORDER BY ts", "ORDER BY ts DESC", "Primary sort order of a streaming table must be "
     "ascending on time", (5, 27)),
    ("FIRST(id) AS f", "FIRST(id * 2) AS f", "Only a column or a pattern variable's column",
     (6, 18)),
    ("PATTERN (A B* C)", "PATTERN (A (B?)* C)", "A repeated group that can match no rows is "
     "not supported", (7, 14)),
    ("AFTER MATCH SKIP PAST LAST ROW", "AFTER MATCH SKIP TO LAST Z",
     "Unknown pattern variable 'Z' in AFTER MATCH SKIP", (6, 70)),
]

ERR_SQL = """CREATE TABLE t (k STRING, id BIGINT, ts TIMESTAMP(3), c STRING, price INT,
  WATERMARK FOR ts AS ts - INTERVAL '2' SECOND) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
CREATE VIEW v AS SELECT k, COUNT(*) AS n FROM t GROUP BY k;
SELECT * FROM t MATCH_RECOGNIZE (
  PARTITION BY k ORDER BY ts
  MEASURES FIRST(id) AS f ONE ROW PER MATCH AFTER MATCH SKIP PAST LAST ROW
  PATTERN (A B* C)
  DEFINE A AS c = 'a', B AS c = 'b', C AS c = 'c');
"""


def test_errors(tmp):
    inp = os.path.join(tmp, "t.csv")
    write(inp, "")
    base = ERR_SQL % inp
    script = os.path.join(tmp, "q.sql")
    write(script, base)
    r = run(["run", script])
    expect_rc(r, 0)
    for old, new, msg, (line, col) in ERRORS:
        expect(old in base, "the script has %r" % old, old, base)
        write(script, base.replace(old, new, 1))
        r = run(["run", script])
        expect(r.rc != 0, "%r is refused" % new, "rc != 0", r.rc, r)
        expect_in(msg, r.err, "the error of %r" % new, r)
        expect_in("at line %d, column %d" % (line, col), r.err, "the place of %r" % new, r)
    write(script, base.replace("FROM t MATCH_RECOGNIZE", "FROM v MATCH_RECOGNIZE").replace(
        "ORDER BY ts", "ORDER BY n"))
    r = run(["run", script])
    expect(r.rc != 0, "an updating input is refused", "rc != 0", r.rc, r)
    expect_in("Match Recognize doesn't support consuming update changes", r.err,
              "the error of an updating input", r)
    # alternatives that overlap: each row is A and B, 2^n paths and no C; the job fails
    # saying why instead of hanging
    write(inp, "".join("k,%d,%s,a,1\n" % (i, ts_text(T0 + 1000 * i)) for i in range(40)))
    write(script, base.replace("PATTERN (A B* C)", "PATTERN ((A | B)+ C)").replace(
        "B AS c = 'b'", "B AS c = 'a'"))
    r = run(["run", script])
    expect(r.rc != 0, "an exponential search fails the job", "rc != 0", r.rc, r)
    expect_in("more than 20000000 steps trying the pattern at one row", r.err,
              "the error of an exponential search", r)


def test_explain(tmp):
    inp = os.path.join(tmp, "t.csv")
    write(inp, "")
    script = os.path.join(tmp, "q.sql")
    write(script, ERR_SQL.replace("SELECT * FROM t MATCH", "EXPLAIN SELECT * FROM t MATCH") % inp)
    r = run(["run", script])
    expect_rc(r, 0)
    expect_in("Match(partitionBy=[k], orderBy=[ts ASC], measures=[FINAL(FIRST(id)) AS f], "
              "rowsPerMatch=[ONE ROW PER MATCH], after=[SKIP PAST LAST ROW], "
              "pattern=[A B* C], define=[A AS (c = 'a'), B AS (c = 'b'), C AS (c = 'c')]",
              r.out, "EXPLAIN's Match", r)
    # projection push-down through it: price is read by nothing
    expect_in("project=[k, id, ts, c]]]", r.out, "the scan reads what the Match reads", r)


if __name__ == "__main__":
    main([test_hand_written, test_random_out_of_order_and_late, test_kill_and_resume,
          test_savepoint_rescaled_and_changed_pattern, test_errors, test_explain],
         need_jobs=True)
