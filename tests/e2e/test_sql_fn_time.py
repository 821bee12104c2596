"""End-to-end tests of the SQL date and time functions (src/sql/fn_time.c) through `rill run`:
random timestamps (1901..2099, month ends, leap days, the zones' DST changes), epoch seconds and
date-time strings (valid, lenient, invalid, NULL) through DATE_FORMAT, EXTRACT, TIMESTAMPADD/
DIFF, interval arithmetic, FROM_UNIXTIME, TO_TIMESTAMP_LTZ, UNIX_TIMESTAMP, TO_TIMESTAMP,
TO_DATE, CONVERT_TZ and CAST, in several session time zones at parallelism 1 and 3; every row
is compared with values computed here with Python's datetime and zoneinfo (the same tzdata).
"""
import calendar
import datetime as dt
import os
import re
import sys
from zoneinfo import ZoneInfo

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import expect, expect_in, expect_rc, main, run, seeded_rng  # noqa: E402

EPOCH = dt.datetime(1970, 1, 1)
UTC = dt.timezone.utc
SKIP = object()  # a value the oracle does not decide (an ambiguous local time)
INT64_MIN = -(1 << 63)
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def zone(name):
    m = re.fullmatch(r"([+-])(\d\d):(\d\d)", name)
    if m:
        off = dt.timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
        return dt.timezone(-off if m.group(1) == "-" else off)
    return ZoneInfo(name)


def jint(v):
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def trunc_div(a, b):
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def ts_text(t):
    return "%04d-%02d-%02d %02d:%02d:%02d.%03d" % (t.year, t.month, t.day, t.hour, t.minute,
                                                   t.second, t.microsecond // 1000)


def secs_text(t):
    return "%04d-%02d-%02d %02d:%02d:%02d" % (t.year, t.month, t.day, t.hour, t.minute, t.second)


def total_ms(t):
    d = t - EPOCH
    return (d.days * 86400 + d.seconds) * 1000 + d.microseconds // 1000


def add_months(t, m):
    k = t.year * 12 + t.month - 1 + m
    y, mo = divmod(k, 12)
    mo += 1
    return t.replace(year=y, month=mo, day=min(t.day, calendar.monthrange(y, mo)[1]))


def months_between(a, b):
    """Whole months from a to b as Calcite counts them (TIMESTAMPDIFF's MONTH)."""
    if b < a:
        return -months_between(b, a)
    da, db = a.date(), b.date()
    m = ((db.year - da.year) * 12 + db.month - da.month) - 1
    m = max(m, 0)
    while add_months(dt.datetime.combine(da, dt.time()), m + 1).date() <= db:
        m += 1
    if add_months(dt.datetime.combine(da, dt.time()), m).date() == db and b.time() < a.time():
        m -= 1
    return m


def local_of_instant(ms, z):
    return (dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(milliseconds=ms)).astimezone(z)


def instant_of_local(naive, z):
    """Seconds of a local date-time in z, as Java's: the earlier offset in an overlap (SKIP
    there: java.util.Calendar's choice is not decided here), later by the gap in a gap."""
    a, b = naive.replace(tzinfo=z, fold=0), naive.replace(tzinfo=z, fold=1)
    if a.utcoffset() != b.utcoffset():
        back_a = a.astimezone(UTC).astimezone(z).replace(tzinfo=None)
        if back_a == naive:  # both exist: an overlap
            return SKIP
    d = a.astimezone(UTC) - dt.datetime(1970, 1, 1, tzinfo=UTC)
    return d.days * 86400 + d.seconds


def lenient(s):
    """SimpleDateFormat('yyyy-MM-dd HH:mm:ss')'s lenient parse of a prefix: fields roll over."""
    m = re.match(r"(\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+)", s)
    if not m:
        return None
    y, mo, d, h, mi, se = (int(x) for x in m.groups())
    k = y * 12 + mo - 1
    base = dt.datetime(k // 12, k % 12 + 1, 1)
    return base + dt.timedelta(days=d - 1, hours=h, minutes=mi, seconds=se)


def flink_ts(s):
    """yyyy-M-d[( |T)H:m[:s[.f]]] as Flink's TIMESTAMP text, or None."""
    m = re.fullmatch(r"\s*(\d{1,4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})"
                     r"(?::(\d{1,2})(?:\.(\d{1,9}))?)?)?\s*", s)
    if not m:
        return None
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    h, mi, se = (int(m.group(i)) if m.group(i) else 0 for i in (4, 5, 6))
    frac = (m.group(7) or "").ljust(9, "0")
    try:
        return dt.datetime(y, mo, d, h, mi, se, int(frac[:6]))
    except ValueError:
        return None


def flink_date(s):
    s = s.strip().split(" ")[0]
    parts = s.split("-")
    if not 1 <= len(parts) <= 3 or not all(p.strip().isdigit() for p in parts):
        return None
    v = [int(p) for p in parts] + [1] * (3 - len(parts))
    try:
        return dt.date(*v) if 0 < v[0] <= 9999 else None
    except ValueError:
        return None


def java_date_format(t, ms):
    """DATE_FORMAT(ts, 'yy/M/d h:mm a EEE SSS D')"""
    h = t.hour % 12 or 12
    return "%02d/%d/%d %d:%02d %s %s %03d %d" % (
        t.year % 100, t.month, t.day, h, t.minute, "AM" if t.hour < 12 else "PM",
        WEEKDAYS[t.weekday()], ms, t.timetuple().tm_yday)


def nz(f):
    """f over a value that may be NULL."""
    return lambda v, *a: None if v is None else f(v, *a)


# (SQL, oracle(row, zone)) per column after the id
def columns():
    c = []
    add = c.append
    add(("CAST(ts AS STRING)", lambda r, z: nz(ts_text)(r["ts"])))
    add(("DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss')", lambda r, z: nz(secs_text)(r["ts"])))
    add(("DATE_FORMAT(ts, 'yy/M/d h:mm a EEE SSS D')",
         lambda r, z: nz(lambda t: java_date_format(t, t.microsecond // 1000))(r["ts"])))
    for unit, f in (("YEAR", lambda t: t.year), ("QUARTER", lambda t: (t.month + 2) // 3),
                    ("MONTH", lambda t: t.month), ("WEEK", lambda t: t.isocalendar()[1]),
                    ("DAY", lambda t: t.day), ("HOUR", lambda t: t.hour),
                    ("MINUTE", lambda t: t.minute), ("SECOND", lambda t: t.second),
                    ("MILLISECOND", lambda t: t.microsecond // 1000),
                    ("DOW", lambda t: t.isoweekday() % 7 + 1),
                    ("DOY", lambda t: t.timetuple().tm_yday),
                    ("EPOCH", lambda t: trunc_div(total_ms(t), 1000))):
        add(("EXTRACT(%s FROM ts)" % unit, lambda r, z, f=f: nz(f)(r["ts"])))
    add(("DAYOFWEEK(ts)", lambda r, z: nz(lambda t: t.isoweekday() % 7 + 1)(r["ts"])))
    add(("CAST(TIMESTAMPADD(MONTH, k, ts) AS STRING)",
         lambda r, z: None if r["ts"] is None or r["k"] is None
         else ts_text(add_months(r["ts"], r["k"]))))
    add(("CAST(TIMESTAMPADD(HOUR, k, ts) AS STRING)",
         lambda r, z: None if r["ts"] is None or r["k"] is None
         else ts_text(r["ts"] + dt.timedelta(hours=r["k"]))))
    add(("TIMESTAMPDIFF(DAY, ts, ts2)",
         lambda r, z: None if r["ts"] is None or r["ts2"] is None
         else trunc_div(total_ms(r["ts2"]) - total_ms(r["ts"]), 86400000)))
    add(("TIMESTAMPDIFF(SECOND, ts, ts2)",
         lambda r, z: None if r["ts"] is None or r["ts2"] is None
         else jint(trunc_div(total_ms(r["ts2"]) - total_ms(r["ts"]), 1000))))
    add(("TIMESTAMPDIFF(MONTH, ts, ts2)",
         lambda r, z: None if r["ts"] is None or r["ts2"] is None
         else months_between(r["ts"], r["ts2"])))
    add(("TIMESTAMPDIFF(YEAR, ts, ts2)",
         lambda r, z: None if r["ts"] is None or r["ts2"] is None
         else trunc_div(months_between(r["ts"], r["ts2"]), 12)))
    add(("CAST(ts + INTERVAL '1' MONTH AS STRING)",
         lambda r, z: nz(lambda t: ts_text(add_months(t, 1)))(r["ts"])))
    add(("CAST(ts - INTERVAL '1 12:30' DAY TO MINUTE AS STRING)",
         lambda r, z: nz(lambda t: ts_text(t - dt.timedelta(days=1, hours=12, minutes=30)))(
             r["ts"])))
    add(("CAST(TO_TIMESTAMP(DATE_FORMAT(ts, 'yyyyMMddHHmmss'), 'yyyyMMddHHmmss') AS STRING)",
         lambda r, z: nz(lambda t: ts_text(t.replace(microsecond=0)))(r["ts"])))
    add(("FROM_UNIXTIME(n)",
         lambda r, z: nz(lambda n: secs_text(local_of_instant(n * 1000, z)))(r["n"])))
    add(("DATE_FORMAT(TO_TIMESTAMP_LTZ(ms, 3), 'yyyy-MM-dd HH:mm:ss.SSS')",
         lambda r, z: nz(lambda m: ts_text(local_of_instant(m, z)))(r["ms"])))
    add(("EXTRACT(HOUR FROM TO_TIMESTAMP_LTZ(ms, 3))",
         lambda r, z: nz(lambda m: local_of_instant(m, z).hour)(r["ms"])))
    add(("DAYOFMONTH(TO_TIMESTAMP_LTZ(n, 0))",
         lambda r, z: nz(lambda n: local_of_instant(n * 1000, z).day)(r["n"])))

    def unix_ts(s, z):
        t = lenient(s)
        return INT64_MIN if t is None else instant_of_local(t, z)
    add(("UNIX_TIMESTAMP(s)", lambda r, z: nz(unix_ts)(r["s"], z)))
    add(("CAST(TO_TIMESTAMP(s) AS STRING)",
         lambda r, z: nz(lambda s: nz(ts_text)(flink_ts(s)))(r["s"])))
    add(("CAST(TRY_CAST(s AS TIMESTAMP(3)) AS STRING)",
         lambda r, z: nz(lambda s: nz(ts_text)(flink_ts(s)))(r["s"])))
    add(("CAST(TO_DATE(s) AS STRING)",
         lambda r, z: nz(lambda s: nz(lambda d: d.isoformat())(flink_date(s)))(r["s"])))

    def convert(s):
        t = lenient(s)
        if t is None:
            return None
        secs = instant_of_local(t, UTC)
        return secs_text(local_of_instant(secs * 1000, ZoneInfo("America/New_York")))
    add(("CONVERT_TZ(s, 'UTC', 'America/New_York')", lambda r, z: nz(convert)(r["s"])))
    return c


EDGE_TS = ["2024-02-29 23:59:59.999", "2024-01-31 12:00:00.000", "2023-12-31 23:59:59.500",
           "1969-12-31 23:59:59.500", "1970-01-01 00:00:00.000", "2000-02-29 00:00:00.001",
           "2024-03-10 02:30:00.000", "2024-11-03 01:30:00.000", "1901-01-01 00:00:00.000",
           "2099-12-31 23:59:59.999", "2021-01-03 10:00:00.000", "2020-12-28 00:00:00.000"]
EDGE_S = ["abc", "", "2024-02-30 00:00:00", "2024-13-01 00:00:00", "2024-5-1 1:2:3",
          "2024-05-01", "2024-05-01 10:20:30.123", "2024-03-10 02:30:00", " 2024-05-01 10:20 ",
          "2024-05-01T10:20:30", "2024-11-03 01:30:00", "2999-12-31 23:59:59", "2024-05"]


def random_rows(rng, n):
    rows = []
    lo, hi = total_ms(dt.datetime(1901, 1, 1)), total_ms(dt.datetime(2099, 12, 31))
    for i in range(n):
        def ts():
            if rng.random() < 0.08:
                return None
            if rng.random() < 0.2:
                return dt.datetime.strptime(rng.choice(EDGE_TS), "%Y-%m-%d %H:%M:%S.%f")
            return EPOCH + dt.timedelta(milliseconds=rng.randrange(lo, hi))
        t, t2 = ts(), ts()
        k = None if rng.random() < 0.08 else rng.randrange(-30, 31)
        nsec = None if rng.random() < 0.08 else rng.choice(
            [rng.randrange(-2208988800, 4102444800), 0, -1, 1710052200, 1730611800])
        ms = None if nsec is None else nsec * 1000 + rng.randrange(1000)
        r = rng.random()
        if r < 0.08:
            s = None
        elif r < 0.4:
            s = rng.choice(EDGE_S)
        else:
            u = EPOCH + dt.timedelta(seconds=rng.randrange(lo // 1000, hi // 1000))
            s = rng.choice([secs_text(u), u.strftime("%Y-%m-%d"), ts_text(u),
                            "%d-%d-%d %d:%d:%d" % (u.year, u.month, u.day, u.hour, u.minute,
                                                   u.second)])
        rows.append({"id": i, "ts": t, "ts2": t2, "k": k, "n": nsec, "ms": ms, "s": s})
    return rows


def csv_line(r):
    def f(v):
        if v is None:
            return ""
        if isinstance(v, dt.datetime):
            return ts_text(v)
        if isinstance(v, str):
            return '"%s"' % v.replace('"', '""') if v else '""'
        return str(v)
    return ",".join(f(r[k]) for k in ("id", "ts", "ts2", "k", "n", "ms", "s"))


def printed(v):
    return "null" if v is None else str(v)


def compare(lines, rows, cols, zname, par, r):
    z = zone(zname)
    by_id = {}
    for line in lines:
        m = re.fullmatch(r"(?:\d+> )?\+I\[(.*)\]", line)
        expect(m is not None, "a printed row", "+I[...]", line, r)
        vals = m.group(1).split(", ")
        by_id[int(vals[0])] = vals[1:]
    expect(len(by_id) == len(rows), "zone %s p=%d: one row per input row" % (zname, par),
           len(rows), len(by_id), r)
    for row in rows:
        got = by_id[row["id"]]
        expect(len(got) == len(cols), "columns", len(cols), len(got), r)
        for (sql, f), g in zip(cols, got):
            want = f(row, z)
            if want is SKIP:
                continue
            if printed(want) != g:
                expect(False, "zone %s p=%d: %s for %s" % (
                    zname, par, sql, {k: str(v) for k, v in row.items()}), printed(want), g, r)


def test_functions_against_python(tmp):
    """Every column of every random row equals Python's value, in four session zones (a DST
    region on each side of UTC, a fixed offset, UTC) at parallelism 1 and 3."""
    rng = seeded_rng("sql-fn-time")
    rows = random_rows(rng, 400)
    inp = os.path.join(tmp, "in.csv")
    with open(inp, "w", encoding="utf-8") as f:
        f.write("".join(csv_line(r) + "\n" for r in rows))
    cols = columns()
    for zname, par in (("UTC", 1), ("America/New_York", 3), ("Asia/Shanghai", 1),
                       ("+05:30", 3), ("Europe/London", 1)):
        script = os.path.join(tmp, "q.sql")
        with open(script, "w", encoding="utf-8") as f:
            f.write("SET 'parallelism.default' = '%d';\n" % par)
            f.write("SET 'table.local-time-zone' = '%s';\n" % zname)
            f.write("CREATE TABLE src (id BIGINT, ts TIMESTAMP(3), ts2 TIMESTAMP(3), k INT, "
                    "n BIGINT, ms BIGINT, s STRING) WITH ('connector' = 'filesystem', "
                    "'path' = '%s', 'format' = 'csv');\n" % inp)
            f.write("SELECT id, %s FROM src;\n" % ",\n  ".join(sql for sql, _ in cols))
        r = run(["run", script])
        expect_rc(r, 0)
        compare(r.out.splitlines(), rows, cols, zname, par, r)


def test_literals_and_niladic(tmp):
    """DATE, TIME and INTERVAL literals, datetime arithmetic on them, and the current time
    (CURRENT_TIMESTAMP, LOCALTIMESTAMP, CURRENT_DATE, NOW(), UNIX_TIMESTAMP()) near the wall
    clock in the session's zone."""
    inp = os.path.join(tmp, "one.csv")
    with open(inp, "w", encoding="utf-8") as f:
        f.write("1\n")
    script = os.path.join(tmp, "l.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write("""
SET 'table.local-time-zone' = 'Asia/Shanghai';
CREATE TABLE t1 (x INT) WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
SELECT DATE '2024-01-31' + INTERVAL '1' MONTH, DATE '2024-03-01' - INTERVAL '1' DAY,
  TIME '23:30:00' + INTERVAL '45' MINUTE, CAST(TIME '01:02:03.5' AS STRING),
  CAST(TIMESTAMP '2024-01-01 00:00:00' + INTERVAL '1-6' YEAR TO MONTH AS STRING),
  CAST(DATE '2024-02-29' + INTERVAL '3' HOUR AS STRING),
  DATE_FORMAT(CURRENT_TIMESTAMP, 'yyyy-MM-dd HH:mm'), DATE_FORMAT(LOCALTIMESTAMP, 'yyyy-MM-dd HH:mm'),
  CAST(CURRENT_DATE AS STRING), UNIX_TIMESTAMP(), DATE_FORMAT(NOW(), 'yyyy'),
  EXTRACT(DAY FROM INTERVAL '3 04:05:06' DAY TO SECOND),
  DATE_FORMAT('2024-05-01 10:20:30', 'dd.MM.yyyy'), FROM_UNIXTIME(0, 'yyyy-MM-dd HH:mm:ss Z')
FROM t1;
""" % inp)
    before = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
    r = run(["run", script])
    after = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
    expect_rc(r, 0)
    m = re.fullmatch(r"\+I\[(.*)\]", r.out.strip())
    expect(m is not None, "one printed row", "+I[...]", r.out, r)
    v = m.group(1).split(", ")
    fixed = ["2024-02-29", "2024-02-29", "00:15", "01:02:03.5", "2025-07-01 00:00:00",
             "2024-02-29 03:00:00.000000"]
    expect(v[:6] == fixed, "literal arithmetic", fixed, v[:6], r)
    minutes = {before.strftime("%Y-%m-%d %H:%M"), after.strftime("%Y-%m-%d %H:%M")}
    expect_in(v[6], minutes, "CURRENT_TIMESTAMP in the session zone", r)
    expect_in(v[7], minutes, "LOCALTIMESTAMP in the session zone", r)
    expect_in(v[8], {before.strftime("%Y-%m-%d"), after.strftime("%Y-%m-%d")}, "CURRENT_DATE", r)
    expect(int(before.timestamp()) - 1 <= int(v[9]) <= int(after.timestamp()) + 1,
           "UNIX_TIMESTAMP()", "now", v[9], r)
    expect(v[10] == str(after.year) or v[10] == str(before.year), "NOW()", after.year, v[10], r)
    rest = ["3", "01.05.2024", "1970-01-01 08:00:00 +0800"]
    expect(v[11:] == rest, "interval EXTRACT, DATE_FORMAT of a string, FROM_UNIXTIME", rest,
           v[11:], r)


def test_errors_name_the_place(tmp):
    """An unknown session zone or zone argument is refused when planned; a string that is not a
    timestamp fails the CAST naming the place (TRY_CAST makes it NULL); a bad pattern too."""
    inp = os.path.join(tmp, "one.csv")
    with open(inp, "w", encoding="utf-8") as f:
        f.write("x\n")
    table = ("CREATE TABLE t1 (s STRING) WITH ('connector' = 'filesystem', 'path' = '%s', "
             "'format' = 'csv');\n" % inp)
    cases = [
        ("SET 'table.local-time-zone' = 'Mars/Olympus';\nSELECT CURRENT_TIMESTAMP FROM t1;",
         "Invalid time zone 'Mars/Olympus'"),
        ("SELECT CONVERT_TZ(s, 'UTC', 'Nowhere/City') FROM t1;", "Invalid time zone"),
        ("SELECT CAST(s AS TIMESTAMP(3)) FROM t1;", "Cannot cast 'x' to TIMESTAMP"),
        ("SELECT EXTRACT(HOUR FROM DATE '2024-01-01') FROM t1;", "Cannot apply 'EXTRACT'"),
        ("SELECT DATE_FORMAT(TIMESTAMP '2024-01-01 00:00:00', 'yyyy-qq') FROM t1;",
         "Unknown pattern letter: q"),
        ("SELECT TO_TIMESTAMP_LTZ(1, 6) FROM t1;", "supported value is '0'"),
        ("SELECT DATE '2024-02-30' FROM t1;", "Illegal DATE literal"),
        ("SELECT INTERVAL '100' DAY FROM t1;", "exceeds precision of DAY(2)"),
    ]
    for i, (sql, msg) in enumerate(cases):
        script = os.path.join(tmp, "e%d.sql" % i)
        with open(script, "w", encoding="utf-8") as f:
            f.write(table + sql + "\n")
        r = run(["run", script])
        expect(r.rc != 0, "%s fails" % sql, "rc != 0", r.rc, r)
        expect_in(msg, r.err, "the message of " + sql, r)
        expect_in("line ", r.err, "the place of " + sql, r)
    script = os.path.join(tmp, "try.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write(table + "SELECT TRY_CAST(s AS TIMESTAMP(3)), TRY_CAST(s AS DATE) FROM t1;\n")
    r = run(["run", script])
    expect_rc(r, 0)
    expect(r.out.strip() == "+I[null, null]", "TRY_CAST gives NULL", "+I[null, null]",
           r.out.strip(), r)


if __name__ == "__main__":
    main([test_functions_against_python, test_literals_and_niladic, test_errors_name_the_place])
