#!/usr/bin/env python3
"""DISTINCT aggregates and MIN/MAX of strings and dates in SQL window aggregations (TUMBLE, HOP,
CUMULATE, SESSION, a legacy GROUP BY TUMBLE) over random out-of-order rows with late ones,
against an independent computation here: at parallelism 1 and 3, checkpointing on and off, on
the heap and the rocksdb state backend, and through kill -9 and --resume at other
parallelisms."""
import datetime
import os
from decimal import Decimal

from rill_e2e import (committed_rows, expect, expect_in, expect_rc, job_so,
                      kill_and_resume, main, run, seeded_rng)

T0 = 1714564800000  # 2024-05-01 00:00:00 UTC
DELAY = 2000  # WATERMARK FOR ts AS ts - INTERVAL '2' SECOND
KEYS = ["a", "b", "c", "d", "e"]
WORDS = ["", "a", "ab", "b", "ba", "bb", "z", "za", "\u00e9", "ab\u00e9"]


def fmt_ts(ms):
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%d %H:%M:%S") + ".%03d" % (ms % 1000)


def parse_ts(text):
    """A TIMESTAMP(3) as the CSV sink writes it ('2024-05-01 00:00:02[.5]') in ms."""
    day, _, clock = text.partition(" ")
    hms, _, frac = clock.partition(".")
    t = datetime.datetime.strptime(day + " " + hms, "%Y-%m-%d %H:%M:%S")
    ms = int((t - datetime.datetime(1970, 1, 1)).total_seconds()) * 1000
    return ms + (int((frac + "000")[:3]) if frac else 0)


def gen_rows(rng, n):
    """Rows (id, ts, k, v, s, p, dt) in file order: out of order within ~1.5 s, a fifth up to
    6 s behind (late ones among them); NULLs in v, s, p and dt; few distinct values so that
    DISTINCT matters."""
    rows, t = [], T0
    for i in range(n):
        t += rng.randrange(0, 40)
        ts = t - (rng.randrange(0, 6000) if rng.random() < 0.2 else rng.randrange(0, 1500))
        v = None if rng.random() < 0.1 else rng.randrange(-5, 12)
        s = None if rng.random() < 0.1 else rng.choice(WORDS)
        p = None if rng.random() < 0.1 else Decimal(rng.randrange(-300, 3000)) / 100
        dt = None if rng.random() < 0.1 else datetime.date(2024, 1, 1) + datetime.timedelta(
            days=rng.randrange(0, 400))
        rows.append((i, ts, rng.choice(KEYS), v, s, p, dt))
    return rows


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for i, ts, k, v, s, p, dt in rows:
            # an empty CSV field is NULL; the empty string is written quoted
            f.write("%d,%s,%s,%s,%s,%s,%s\n" % (
                i, fmt_ts(ts), k, "" if v is None else v,
                "" if s is None else '"%s"' % s, "" if p is None else p,
                "" if dt is None else dt.isoformat()))


# ---- the independent computation ---------------------------------------------------------------

def sliced_windows(kind, ts, size, slide):
    if kind == "CUMULATE":
        base = ts - ts % size
        return [(base, base + k * slide) for k in range(1, size // slide + 1)
                if base + k * slide > ts]
    return [(st, st + size) for st in range(ts - ts % slide, ts - size, -slide)]


def oracle_sliced(rows, kind, size, slide, keyed):
    """Flink's window TVF aggregation replayed in file order: the watermark before a row is
    max(ts before it) - DELAY (one split: the file); a row counts in each of its windows whose
    end - 1 is above it (the others fired already), and every window fires."""
    wm, groups = None, {}
    for row in rows:
        ts, k = row[1], row[2] if keyed else None
        for w in sliced_windows(kind, ts, size, slide):
            if wm is None or w[1] - 1 > wm:
                groups.setdefault((k, w[0], w[1]), []).append(row)
        wm = ts - DELAY if wm is None else max(wm, ts - DELAY)
    return groups


def oracle_sessions(rows, gap):
    """SESSION per k: a row is late (dropped) when ts + gap - 1 <= the watermark before it; else
    its [ts, ts + gap) merges with every open session of its key it intersects or touches. A
    session fires (and is gone) once the watermark reaches its end - 1."""
    wm, open_, done = None, {}, {}
    for row in rows:
        ts, k = row[1], row[2]
        if wm is None or ts + gap - 1 > wm:
            start, end, members = ts, ts + gap, [row]
            kept = []
            for s in open_.get(k, []):
                if s[0] <= end and s[1] >= start:
                    start, end, members = min(start, s[0]), max(end, s[1]), members + s[2]
                else:
                    kept.append(s)
            open_[k] = kept + [(start, end, members)]
        wm = ts - DELAY if wm is None else max(wm, ts - DELAY)
        for key in open_:
            still = []
            for s in open_[key]:
                if s[1] - 1 <= wm:
                    done[(key, s[0], s[1])] = s[2]
                else:
                    still.append(s)
            open_[key] = still
    for key, sessions in open_.items():  # the end of input fires the rest
        for s in sessions:
            done[(key, s[0], s[1])] = s[2]
    return done


def java_avg(values):
    total = sum(values)
    return abs(total) // len(values) * (1 if total >= 0 else -1)


def results(groups, cols):
    """Each group's row: k (if keyed), window_start, window_end, then the aggregates."""
    out = []
    for (k, start, end), rows in groups.items():
        vs = {r[3] for r in rows if r[3] is not None}
        ss = [r[4] for r in rows if r[4] is not None]
        ps = {r[5] for r in rows if r[5] is not None}
        dts = [r[6] for r in rows if r[6] is not None]
        agg = {
            "cd": len(vs), "sd": sum(vs) if vs else None,
            "ad": java_avg(sorted(vs)) if vs else None,
            "cs": len(set(ss)),
            # strings compare by code point (UTF-8 bytes order is the same)
            "mins": min(ss) if ss else None, "maxs": max(ss) if ss else None,
            "n": len(rows), "sp": sum(ps) if ps else None,
            "mind": min(dts) if dts else None, "maxd": max(dts) if dts else None,
            "cf": len({r[4] for r in rows if r[4] is not None and r[3] is not None
                       and r[3] > 5}),
        }
        key = (k,) if k is not None else ()
        out.append(key + (start, end) + tuple(agg[c] for c in cols))
    return sorted(out, key=repr)


def parse_out(lines, cols, keyed):
    """The sink's CSV rows as the tuples results() makes."""
    out = []
    for line in lines:
        f = line.split(",")
        # strings may be quoted by the CSV writer; none of ours has a comma
        f = [x[1:-1].replace('""', '"') if len(x) >= 2 and x[0] == '"' else x for x in f]
        i = 0
        key = ()
        if keyed:
            key, i = (f[0],), 1
        row = key + (parse_ts(f[i]), parse_ts(f[i + 1]))
        for c, x in zip(cols, f[i + 2:]):
            if c in ("mins", "maxs"):
                row += (x,)  # NULL and '' both print empty: compared as text below
            elif x == "":
                row += (None,)
            elif c == "sp":
                row += (Decimal(x),)
            elif c in ("mind", "maxd"):
                row += (datetime.date.fromisoformat(x),)
            else:
                row += (int(x),)
        out.append(row)
    return sorted(out, key=repr)


def as_printed(rows, cols, keyed):
    """results() with the string columns as the CSV prints them (NULL and '' both empty)."""
    first = 3 if keyed else 2
    out = []
    for r in rows:
        r = list(r)
        for j, c in enumerate(cols):
            if c in ("mins", "maxs"):
                r[first + j] = r[first + j] or ""
        out.append(tuple(r))
    return sorted(out, key=repr)


# ---- the queries --------------------------------------------------------------------------------

ALL = ["cd", "sd", "ad", "cs", "mins", "maxs", "n", "sp", "mind", "maxd"]
SQL_OF = {"cd": "COUNT(DISTINCT v)", "sd": "SUM(DISTINCT v)", "ad": "AVG(DISTINCT v)",
          "cs": "COUNT(DISTINCT s)", "mins": "MIN(s)", "maxs": "MAX(s)", "n": "COUNT(*)",
          "sp": "SUM(DISTINCT p)", "mind": "MIN(dt)", "maxd": "MAX(dt)",
          "cf": "COUNT(DISTINCT s) FILTER (WHERE v > 5)"}
TYPE_OF = {"mins": "STRING", "maxs": "STRING", "sp": "DECIMAL(38, 2)", "mind": "DATE",
           "maxd": "DATE"}

# (name, FROM, GROUP BY, keyed, aggregates, the groups computed here)
CASES = [
    ("tumble", "TABLE(TUMBLE(TABLE src, DESCRIPTOR(ts), INTERVAL '5' SECOND))",
     "k, window_start, window_end", True, ALL,
     lambda rows: oracle_sliced(rows, "TUMBLE", 5000, 5000, True)),
    ("hop", "TABLE(HOP(TABLE src, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '6' SECOND))",
     "k, window_start, window_end", True, ALL,
     lambda rows: oracle_sliced(rows, "HOP", 6000, 2000, True)),
    ("cumulate", "TABLE(CUMULATE(TABLE src, DESCRIPTOR(ts), INTERVAL '2' SECOND, "
     "INTERVAL '8' SECOND))", "window_start, window_end", False, ["cd", "cs", "mins", "maxs",
                                                                 "cf", "n"],
     lambda rows: oracle_sliced(rows, "CUMULATE", 8000, 2000, False)),
    ("session", "TABLE(SESSION(TABLE src PARTITION BY k, DESCRIPTOR(ts), "
     "INTERVAL '0.25' SECOND))", "k, window_start, window_end", True, ALL,
     lambda rows: oracle_sessions(rows, 250)),
    ("legacy", "src", "k, TUMBLE(ts, INTERVAL '3' SECOND)", True,
     ["cd", "ad", "mins", "maxs", "maxd"],
     lambda rows: oracle_sliced(rows, "TUMBLE", 3000, 3000, True)),
]


def script(inp, out, slow_every=0):
    src = ("CREATE VIEW src AS SELECT * FROM raw WHERE slow(id, %d) >= 0;\n" % slow_every
           if slow_every else "CREATE VIEW src AS SELECT * FROM raw;\n")
    text = ("CREATE TABLE raw (id BIGINT, ts TIMESTAMP(3), k STRING, v BIGINT, s STRING, "
            "p DECIMAL(10, 2), dt DATE, WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)\n"
            "  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');\n" % inp)
    if slow_every:
        text += "CREATE TEMPORARY FUNCTION slow AS 'slow' LANGUAGE C USING JAR '%s';\n" % (
            job_so("sql_slow_udf"))
    text += src
    inserts = []
    for name, frm, group, keyed, cols, _ in CASES:
        legacy = name == "legacy"
        ws = "TUMBLE_START(ts, INTERVAL '3' SECOND)" if legacy else "window_start"
        we = "TUMBLE_END(ts, INTERVAL '3' SECOND)" if legacy else "window_end"
        text += "CREATE TABLE out_%s (%s ws TIMESTAMP(3), we TIMESTAMP(3), %s)\n" % (
            name, "k STRING," if keyed else "",
            ", ".join("%s %s" % (c, TYPE_OF.get(c, "BIGINT")) for c in cols))
        text += "  WITH ('connector' = 'filesystem', 'path' = '%s/%s', 'format' = 'csv');\n" % (
            out, name)
        inserts.append("INSERT INTO out_%s SELECT %s%s, %s, %s FROM %s GROUP BY %s;" % (
            name, "k, " if keyed else "", ws, we, ", ".join(SQL_OF[c] for c in cols), frm,
            group))
    return text + "EXECUTE STATEMENT SET BEGIN\n%s\nEND;\n" % "\n".join(inserts)


def check_out(rows, out, what, r=None):
    for name, _, _, keyed, cols, oracle in CASES:
        want = as_printed(results(oracle(rows), cols), cols, keyed)
        expect(len(want) > 20, "%s: the computation here has windows" % name, "> 20",
               len(want))
        got = parse_out(committed_rows(os.path.join(out, name), header=False), cols, keyed)
        if got != want:
            expect(False, "%s %s: the windows" % (what, name),
                   "%d rows, e.g. %s" % (len(want), [x for x in want if x not in got][:2]),
                   "%d rows, e.g. %s" % (len(got), [x for x in got if x not in want][:2]), r)


def late_rows(rows):
    wm, n = None, 0
    for row in rows:
        n += wm is not None and row[1] - row[1] % 5000 + 5000 - 1 <= wm
        wm = row[1] - DELAY if wm is None else max(wm, row[1] - DELAY)
    return n


# ---- the tests ----------------------------------------------------------------------------------

def test_windows_against_python(tmp):
    """Every window kind at parallelism 1 and 3 with checkpointing off and on (every 20 ms),
    on the heap and the rocksdb backends: the committed rows equal the computation here."""
    rows = gen_rows(seeded_rng("sql-window-distinct"), 4000)
    expect(late_rows(rows) > 20, "the input has late rows", "> 20", late_rows(rows))
    inp = os.path.join(tmp, "in.csv")
    write_csv(inp, rows)
    runs = [(1, False, None), (3, False, None), (1, True, None), (3, True, None),
            (3, True, "rocksdb"), (2, False, "rocksdb")]
    for i, (par, ckpt, backend) in enumerate(runs):
        out = os.path.join(tmp, "out%d" % i)
        path = os.path.join(tmp, "w%d.sql" % i)
        with open(path, "w", encoding="utf-8") as f:
            f.write(script(inp, out))
        args = ["run", "-p", str(par)]
        if backend:
            args += ["--state-backend", backend]
        if ckpt:
            args += ["--checkpoint-dir", os.path.join(tmp, "ck%d" % i),
                     "--checkpoint-interval", "20"]
        r = run(args + [path])
        expect_rc(r, 0)
        check_out(rows, out, "p=%d checkpoints=%s backend=%s" % (par, ckpt, backend or "heap"),
                  r)


def test_kill_and_resume(tmp):
    """The same windows, the input slowed down by a function of the test jobs (1 ms every 2
    rows), killed with SIGKILL at random moments (the first time after a checkpoint completed)
    and resumed with --resume at random parallelisms: the committed rows equal the
    computation here. The five statements share the source, each with its own event-time
    operator: every one of them must send its restored watermark first, and each window must
    judge rows against the watermark it had at the checkpoint before any row comes (at
    another parallelism the source's split state does not follow the split; a row late before
    the failure then reopened a window that had fired and emitted it twice)."""
    rng = seeded_rng("sql-window-distinct-kill")
    rows = gen_rows(rng, 2500)
    inp = os.path.join(tmp, "in.csv")
    write_csv(inp, rows)
    out, ck = os.path.join(tmp, "out"), os.path.join(tmp, "ck")
    path = os.path.join(tmp, "k.sql")
    with open(path, "w", encoding="utf-8") as f:
        f.write(script(inp, out, slow_every=2))
    backend = os.environ.get("RILL_E2E_BACKEND") or rng.choice(["heap", "rocksdb"])
    kills, r = kill_and_resume(tmp, rng, ["--state-backend", backend, "--checkpoint-dir", ck,
                                          "--checkpoint-interval", "50", "--resume", path], ck,
                               runs=3, pause=(0.1, 0.6), first_pause=(0, 0.3))
    expect(kills >= 1, "the first run was killed part way", ">= 1 kill", kills)
    check_out(rows, out, "after %d kills (%s)" % (kills, backend), r)


def test_explain_and_errors(tmp):
    """EXPLAIN names DISTINCT; a DISTINCT aggregate over a DECIMAL key is refused with the
    aggregate's line and column."""
    inp = os.path.join(tmp, "in.csv")
    write_csv(inp, gen_rows(seeded_rng("sql-window-distinct-x"), 10))
    ddl = ("CREATE TABLE raw (id BIGINT, ts TIMESTAMP(3), k STRING, v BIGINT, s STRING, "
           "p DECIMAL(10, 2), dt DATE, WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)\n"
           "  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');\n" % inp)
    path = os.path.join(tmp, "e.sql")
    with open(path, "w", encoding="utf-8") as f:
        f.write(ddl + "EXPLAIN SELECT k, COUNT(DISTINCT s), MAX(s) FROM TABLE(TUMBLE(TABLE raw, "
                "DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, k;\n")
    r = run(["run", path])
    expect_rc(r, 0)
    expect_in("COUNT(DISTINCT s)", r.out, "EXPLAIN's aggregate", r)
    expect_in("MAX(s)", r.out, "EXPLAIN's aggregate", r)
    with open(path, "w", encoding="utf-8") as f:
        f.write(ddl + "SELECT p,\n  COUNT(DISTINCT s) FROM TABLE(TUMBLE(TABLE raw, "
                "DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, p;\n")
    r = run(["run", path])
    expect_rc(r, 1)
    expect_in("line 4, column 3", r.err, "the error's place: the aggregate", r)
    expect_in("not supported yet", r.err, "the refusal", r)


if __name__ == "__main__":
    main([test_windows_against_python, test_kill_and_resume, test_explain_and_errors],
         need_jobs=True)
