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


# ---- windows over a TIMESTAMP_LTZ rowtime, in the session zone ---------------------------------

HOUR_MS = 3600000


def to_local_ms(ms, z):
    """Flink's toUtcTimestampMills: the wall-clock time of instant ms in z, as ms since 1970
    counted as if it were UTC."""
    return total_ms(local_of_instant(ms, z).replace(tzinfo=None))


def instant_ms(x, z):
    """Flink's toEpochMills (LocalDateTime.atZone): the instant of local time x; Python's fold=0
    takes the earlier offset in an overlap and, in a gap, the offset before it, which is Java's
    'later by the length of the gap'."""
    secs, frac = divmod(x, 1000)
    a = (EPOCH + dt.timedelta(seconds=secs)).replace(tzinfo=z, fold=0)
    d = a.astimezone(UTC) - dt.datetime(1970, 1, 1, tzinfo=UTC)
    return (d.days * 86400 + d.seconds) * 1000 + frac


def timer_ms(x, z):
    """Flink's toEpochMillsForTimer: when the window ending at local x + 1 fires (a time in a
    gap at the gap's hour, one in an overlap at its second occurrence)."""
    t1, t2 = instant_ms(x, z), instant_ms(x + HOUR_MS, z)
    if t1 == t2:
        return t1 - t1 % HOUR_MS
    if t2 - t1 > HOUR_MS:
        return t1 + HOUR_MS
    return t1


def ldt_text(x):
    """LocalDateTime.toString of local ms x."""
    t = EPOCH + dt.timedelta(milliseconds=x)
    s = "%04d-%02d-%02dT%02d:%02d" % (t.year, t.month, t.day, t.hour, t.minute)
    if t.second or t.microsecond:
        s += ":%02d" % t.second
    if t.microsecond:
        s += ".%03d" % (t.microsecond // 1000)
    return s


def instant_text(ms):
    """Instant.toString."""
    t = EPOCH + dt.timedelta(milliseconds=ms)
    s = "%04d-%02d-%02dT%02d:%02d:%02d" % (t.year, t.month, t.day, t.hour, t.minute, t.second)
    return s + (".%03d" % (t.microsecond // 1000) if t.microsecond else "") + "Z"


def local_windows(kind, x, a, b):
    """The windows [s, e) of local time x: TUMBLE size a; HOP slide a, size b; CUMULATE step a,
    size b (SEMANTICS.md, offset 0)."""
    if kind == "T":
        s = x - x % a
        return [(s, s + a)]
    if kind == "H":
        out, st = [], x - x % a
        while st > x - b:
            out.append((st, st + b))
            st -= a
        return out
    base = x - x % b
    e = base + (x - base) // a * a + a
    out = []
    while e <= base + b:
        out.append((base, e))
        e += a
    return out


def ltz_rows(rng):
    """Rows around New York's two DST changes of 2024 (and the hour that happens twice), mostly
    in order, some hours late."""
    rows, i = [], 0
    for start in (1710000000000, 1730530000000):  # 2024-03-09 16:00Z, 2024-11-02 06:46Z
        t = start
        for _ in range(700):
            t += rng.randrange(0, 240000)
            ts = t - rng.randrange(0, 3 * HOUR_MS) if rng.random() < 0.1 else t
            rows.append((i, ts, rng.choice("abc"), rng.randrange(100)))
            i += 1
    return rows


def expected_aggs(rows, z, kind, a, b, tag):
    """Window aggregation rows as Flink gives them when a watermark (ts - 1 s) follows every
    row: a row counts in each of its windows that has not fired when it comes (a window [s, e)
    fires once the watermark reaches timer_ms(e - 1))."""
    acc, wm = {}, None
    for _, ts, k, v in rows:
        for s, e in local_windows(kind, to_local_ms(ts, z), a, b):
            if wm is None or timer_ms(e - 1, z) > wm:
                c = acc.setdefault((k, s, e), [0, 0])
                c[0] += 1
                c[1] += v
        wm = ts - 1000 if wm is None else max(wm, ts - 1000)
    return sorted("+I[%s, %s, %s, %s, %d, %d]" % (tag, k, ldt_text(s), ldt_text(e), c, t)
                  for (k, s, e), (c, t) in acc.items())


def expected_sessions(rows, z, gap, tag):
    """SESSION windows of local time per key: a row opens [x, x + gap) (dropped when that
    window has fired), sessions that overlap or touch merge; a session fires (and is gone) once
    the watermark reaches timer_ms(end - 1)."""
    open_, out, wm = {}, [], None
    for _, ts, k, v in rows:
        if wm is not None:
            for key in list(open_):
                keep = []
                for s in open_[key]:
                    if timer_ms(s[1] - 1, z) <= wm:
                        out.append((key, s))
                    else:
                        keep.append(s)
                open_[key] = keep
        x = to_local_ms(ts, z)
        if wm is None or timer_ms(x + gap - 1, z) > wm:
            cur = [x, x + gap, 1, v]
            rest = []
            for s in open_.get(k, []):
                if s[0] <= cur[1] and s[1] >= cur[0]:
                    cur = [min(s[0], cur[0]), max(s[1], cur[1]), s[2] + cur[2], s[3] + cur[3]]
                else:
                    rest.append(s)
            open_[k] = rest + [cur]
        wm = ts - 1000 if wm is None else max(wm, ts - 1000)
    out += [(k, s) for k, ss in open_.items() for s in ss]
    return sorted("+I[%s, %s, %s, %s, %d, %d]" % (tag, k, ldt_text(s[0]), ldt_text(s[1]), s[2],
                                                  s[3]) for k, s in out)


def expected_tvf_rows(rows, z, kind, a, b, tag):
    return sorted("+I[%s, %d, %s, %s, %s]" % (tag, i, ldt_text(s), ldt_text(e),
                                              instant_text(instant_ms(e - 1, z)))
                  for i, ts, _, _ in rows for s, e in local_windows(kind, to_local_ms(ts, z), a, b))


LTZ_SQL = """SET 'table.local-time-zone' = '%(zone)s';
SET 'parallelism.default' = '%(par)d';
CREATE TABLE e (id BIGINT, ms BIGINT, k STRING, v INT, ts AS TO_TIMESTAMP_LTZ(ms, 3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'filesystem', 'path' = '%(inp)s', 'format' = 'csv');
SELECT 'td', k, window_start, window_end, COUNT(*), SUM(v)
  FROM TABLE(TUMBLE(TABLE e, DESCRIPTOR(ts), INTERVAL '1' DAY)) GROUP BY k, window_start, window_end;
SELECT 'th', k, window_start, window_end, COUNT(*), SUM(v)
  FROM TABLE(TUMBLE(TABLE e, DESCRIPTOR(ts), INTERVAL '1' HOUR)) GROUP BY k, window_start, window_end;
SELECT 'hp', k, window_start, window_end, COUNT(*), SUM(v)
  FROM TABLE(HOP(TABLE e, DESCRIPTOR(ts), INTERVAL '6' HOUR, INTERVAL '1' DAY))
  GROUP BY k, window_start, window_end;
SELECT 'cu', k, window_start, window_end, COUNT(*), SUM(v)
  FROM TABLE(CUMULATE(TABLE e, DESCRIPTOR(ts), INTERVAL '8' HOUR, INTERVAL '1' DAY))
  GROUP BY k, window_start, window_end;
SELECT 'se', k, window_start, window_end, COUNT(*), SUM(v)
  FROM TABLE(SESSION(TABLE e PARTITION BY k, DESCRIPTOR(ts), INTERVAL '30' MINUTE))
  GROUP BY k, window_start, window_end;
SELECT 'lg', k, TUMBLE_START(ts, INTERVAL '1' DAY), TUMBLE_END(ts, INTERVAL '1' DAY), COUNT(*),
  SUM(v) FROM e GROUP BY k, TUMBLE(ts, INTERVAL '1' DAY);
SELECT 'nt', id, window_start, window_end, window_time
  FROM TABLE(TUMBLE(TABLE e, DESCRIPTOR(ts), INTERVAL '1' DAY));
SELECT 'nh', id, window_start, window_end, window_time
  FROM TABLE(HOP(TABLE e, DESCRIPTOR(ts), INTERVAL '6' HOUR, INTERVAL '1' DAY));
SELECT 'nc', id, window_start, window_end, window_time
  FROM TABLE(CUMULATE(TABLE e, DESCRIPTOR(ts), INTERVAL '8' HOUR, INTERVAL '1' DAY));
"""


def test_ltz_windows_in_session_zone(tmp):
    """Window TVFs (TUMBLE, HOP, CUMULATE, SESSION; aggregated and not) and a legacy group
    window over a TIMESTAMP_LTZ rowtime with table.local-time-zone set: as Flink, the windows
    are of the zone's local time (a day from local midnight: 23 hours on 2024-03-10 in New
    York, 25 on 2024-11-03), window_start/window_end are TIMESTAMP(3) in local time,
    window_time the TIMESTAMP_LTZ instant of window_end - 1 ms, and a window fires when the
    watermark passes Flink's timer for its end (the second occurrence of a repeated hour), which
    decides the late rows dropped. Every row is computed here with zoneinfo, for a DST zone
    and a fixed offset, at parallelism 1 and 3."""
    rng = seeded_rng("sql-ltz-windows")
    rows = ltz_rows(rng)
    inp = os.path.join(tmp, "e.csv")
    with open(inp, "w", encoding="utf-8") as f:
        f.write("".join("%d,%d,%s,%d\n" % r for r in rows))
    day, h6, h8 = 24 * HOUR_MS, 6 * HOUR_MS, 8 * HOUR_MS
    for zname, par in (("America/New_York", 1), ("America/New_York", 3), ("+05:30", 2)):
        z = zone(zname)
        want = {
            "td": expected_aggs(rows, z, "T", day, 0, "td"),
            "th": expected_aggs(rows, z, "T", HOUR_MS, 0, "th"),
            "hp": expected_aggs(rows, z, "H", h6, day, "hp"),
            "cu": expected_aggs(rows, z, "C", h8, day, "cu"),
            "se": expected_sessions(rows, z, 30 * 60000, "se"),
            "lg": expected_aggs(rows, z, "T", day, 0, "lg"),
            "nt": expected_tvf_rows(rows, z, "T", day, 0, "nt"),
            "nh": expected_tvf_rows(rows, z, "H", h6, day, "nh"),
            "nc": expected_tvf_rows(rows, z, "C", h8, day, "nc"),
        }
        script = os.path.join(tmp, "w.sql")
        with open(script, "w", encoding="utf-8") as f:
            f.write(LTZ_SQL % {"zone": zname, "par": par, "inp": inp})
        r = run(["run", script])
        expect_rc(r, 0)
        got = {}
        for line in r.out.splitlines():
            line = re.sub(r"^\d+> ", "", line)
            got.setdefault(line[3:5], []).append(line)
        if zname == "America/New_York":  # the days of 23 and 25 hours are there
            for d in ("+I[td, a, 2024-03-10T00:00, 2024-03-11T00:00",
                      "+I[td, a, 2024-11-03T00:00, 2024-11-04T00:00"):
                expect(any(x.startswith(d) for x in want["td"]), "a DST day in the input", d,
                       want["td"][:5])
        for tag, w in want.items():
            g = sorted(got.get(tag, []))
            if g != w:
                expect(False, "zone %s p=%d: the %s rows" % (zname, par, tag),
                       "%d rows, e.g. %s" % (len(w), sorted(set(w) - set(g))[:3]),
                       "%d rows, e.g. %s" % (len(g), sorted(set(g) - set(w))[:3]), r)


def test_proctime_windows_in_session_zone(tmp):
    """A window over processing time (PROCTIME() is a TIMESTAMP_LTZ) is of the session zone's
    local time, as Flink's: with '+05:30', 1-hour windows start at a local hour (xx:30 UTC),
    window_start/window_end are TIMESTAMP(3) of local time, and they hold the run's clock."""
    import time
    inp = os.path.join(tmp, "p.csv")
    with open(inp, "w", encoding="utf-8") as f:
        f.write("".join("%s,%d\n" % ("ab"[i % 2], i) for i in range(1000)))
    script = os.path.join(tmp, "p.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write("SET 'table.local-time-zone' = '+05:30';\n"
                "CREATE TABLE t (k STRING, v INT, p AS PROCTIME()) WITH ('connector' = "
                "'filesystem', 'path' = '%s', 'format' = 'csv');\n"
                "SELECT k, COUNT(*), window_start, window_end FROM TABLE(TUMBLE(TABLE t, "
                "DESCRIPTOR(p), INTERVAL '1' HOUR)) GROUP BY k, window_start, window_end;\n"
                % inp)
    z = zone("+05:30")
    before = to_local_ms(int(time.time() * 1000), z)
    r = run(["run", script])
    after = to_local_ms(int(time.time() * 1000), z)
    expect_rc(r, 0)
    n = 0
    for line in r.out.splitlines():
        m = re.fullmatch(r"(?:\d+> )?\+I\[(\w), (\d+), ([\dT:-]+), ([\dT:-]+)\]", line)
        expect(m is not None, "a window row of local time (TIMESTAMP(3), no zone)",
               "+I[k, n, yyyy-MM-ddTHH:00, yyyy-MM-ddTHH:00]", line, r)
        ws = total_ms(dt.datetime.fromisoformat(m.group(3)))
        we = total_ms(dt.datetime.fromisoformat(m.group(4)))
        expect(we - ws == HOUR_MS and ws % HOUR_MS == 0, "a local hour", "xx:00 to xx+1:00",
               line, r)
        expect(before - before % HOUR_MS <= ws <= after, "a window of the run's local clock",
               (ldt_text(before), ldt_text(after)), line, r)
        n += int(m.group(2))
    expect(n == 1000, "every row counted once", 1000, n, r)


def test_ltz_cascade_and_window_join(tmp):
    """A cascading window aggregation and a window join over windows of the session zone's
    local time: their rows are those of the local windows (a 6-hour window from local
    midnight), every row in them. Rows every 10 minutes from 2024-05-01T02:00Z; the expected
    counts and sums per 6-hour local window are computed here. (Their firing at the instant of
    the local end shows in latency, not in the rows of a bounded input: this checks the rows.)"""
    z = zone("America/New_York")
    t0, rows = 1714528800000, []
    for i in range(200):
        rows.append((t0 + i * 600000, "ab"[i % 2], i))
    inp = os.path.join(tmp, "z.csv")
    with open(inp, "w", encoding="utf-8") as f:
        f.write("".join("%d,%s,%d\n" % r for r in rows))
    script = os.path.join(tmp, "c.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write("""SET 'table.local-time-zone' = 'America/New_York';
CREATE TABLE e (ms BIGINT, k STRING, v INT, ts AS TO_TIMESTAMP_LTZ(ms, 3),
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
CREATE VIEW w AS SELECT k, window_start, window_end, COUNT(*) AS n
  FROM TABLE(TUMBLE(TABLE e, DESCRIPTOR(ts), INTERVAL '6' HOUR)) GROUP BY k, window_start, window_end;
CREATE VIEW w2 AS SELECT k, window_start, window_end, SUM(v) AS s
  FROM TABLE(TUMBLE(TABLE e, DESCRIPTOR(ts), INTERVAL '6' HOUR)) GROUP BY k, window_start, window_end;
SELECT 'C', window_start, window_end, SUM(n) FROM w GROUP BY window_start, window_end;
SELECT 'J', w.k, w.window_start, w.n, w2.s FROM w JOIN w2 ON w.k = w2.k
  AND w.window_start = w2.window_start AND w.window_end = w2.window_end;
""" % inp)
    r = run(["run", script])
    expect_rc(r, 0)
    six = 6 * HOUR_MS
    per, per_k = {}, {}
    for ms, k, v in rows:
        x = to_local_ms(ms, z)
        s = x - x % six
        per[s] = per.get(s, 0) + 1
        c = per_k.setdefault((k, s), [0, 0])
        c[0] += 1
        c[1] += v
    want = sorted(["+I[C, %s, %s, %d]" % (ldt_text(s), ldt_text(s + six), n)
                   for s, n in per.items()] +
                  ["+I[J, %s, %s, %d, %d]" % (k, ldt_text(s), n, t)
                   for (k, s), (n, t) in per_k.items()])
    got = sorted(line for line in r.out.splitlines() if line)
    expect(got == want, "the cascade's and the window join's rows", want, got, r)


if __name__ == "__main__":
    main([test_functions_against_python, test_literals_and_niladic, test_errors_name_the_place,
          test_ltz_windows_in_session_zone, test_proctime_windows_in_session_zone,
          test_ltz_cascade_and_window_join])
