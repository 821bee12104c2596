"""End-to-end tests of the SQL numeric and conditional functions and of CAST between strings
and numbers (`rill run SCRIPT.sql`, bare SELECTs printed as Flink's print connector does):
every printed row equals what is computed here independently with Java's semantics (Flink's
generated code): BigDecimal's HALF_UP for ROUND, java.lang.Math, java.util.Random's generator,
Long.toBinaryString/toHexString, Double.toString's text, and Flink's string parse rules; on
random rows with NULLs and edge values, at parallelism 1 and 3 (compared as multisets).
"""
import decimal
import math
import os
import re
import struct
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import expect, expect_in, expect_rc, main, run, seeded_rng  # noqa: E402

D = decimal.Decimal
decimal.getcontext().prec = 800
decimal.getcontext().Emax = 999999
decimal.getcontext().Emin = -999999

# ---- Java's arithmetic and text ------------------------------------------------------------


def wrap(v, bits):
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >= 1 << (bits - 1) else v


def f32(x):
    """The float nearest to double x (Java's (float) cast)."""
    try:
        return struct.unpack("f", struct.pack("f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def java_text(d, is_float=False):
    """Java's Double.toString (Float.toString with is_float): the shortest digits that read
    back as the value (a one-digit one as the closest two digits), plain for 1e-3 <= |d| < 1e7
    with at least one digit after the point, else d.dddE[-]n."""
    if d != d:
        return "NaN"
    if d in (math.inf, -math.inf):
        return "Infinity" if d > 0 else "-Infinity"
    if d == 0:
        return "-0.0" if math.copysign(1, d) < 0 else "0.0"
    for p in range(0, 17):
        t = "%.*e" % (p, d)
        if (f32(float(t)) == d) if is_float else (float(t) == d):
            break
    if p == 0:
        t = "%.1e" % d
    mant, exp = t.split("e")
    neg = mant.startswith("-")
    digits = mant.lstrip("-").replace(".", "").rstrip("0") or "0"
    e = int(exp)
    a = abs(d)
    out = "-" if neg else ""
    if 1e-3 <= a < 1e7:
        if e >= 0:
            ip = digits[:e + 1].ljust(e + 1, "0")
            fp = digits[e + 1:] or "0"
            return out + ip + "." + fp
        return out + "0." + "0" * (-e - 1) + digits
    return out + digits[0] + "." + (digits[1:] or "0") + "E" + str(e)


def bigdec_text(v, scale):
    """BigDecimal.toString of an exact decimal v at scale (plain: the scales here are small)."""
    q = D(v).quantize(D(1).scaleb(-scale))
    if q == 0:
        q = abs(q)  # a BigDecimal has no negative zero
    return format(q, "f")


def jround_double(d, n, down=False, is_float=False):
    """SqlFunctionUtils.sround(double, n) / struncate: BigDecimal.valueOf(d) (Java's text) moved
    n places, set to scale 0 HALF_UP (DOWN), moved back, doubleValue (floatValue)."""
    b = D(java_text(d)) if d != 0 else D(0)
    q = b.quantize(D(1).scaleb(-n), rounding=decimal.ROUND_DOWN if down else
                   decimal.ROUND_HALF_UP)
    r = f32(float(q)) if is_float else float(q)  # float(Decimal) rounds correctly
    return 0.0 if r == 0 else r


def jround_int(v, n, bits, down=False):
    if n >= 0:
        return v
    q = D(v).quantize(D(1).scaleb(-n), rounding=decimal.ROUND_DOWN if down else
                      decimal.ROUND_HALF_UP)
    return wrap(int(q), bits)


def safe(f, *a):
    """A java.lang.Math function: NaN where C's libm gives NaN, infinities where it overflows."""
    try:
        return f(*a)
    except ValueError:
        return math.nan
    except OverflowError:
        return math.inf


def jlog(x):
    if x != x or x < 0:
        return math.nan
    if x == 0:
        return -math.inf
    return math.log(x)


def jlog10(x):
    if x != x or x < 0:
        return math.nan
    if x == 0:
        return -math.inf
    return math.log10(x)


def jsinh(x):
    try:
        return math.sinh(x)
    except OverflowError:
        return math.copysign(math.inf, x)


def jcosh(x):
    return safe(math.cosh, x)


def jdiv(a, b):
    if b == 0:
        return math.nan if a == 0 or a != a else math.copysign(math.inf, a) * math.copysign(1, b)
    return a / b


class JavaRandom:
    """java.util.Random's 48-bit linear congruential generator."""

    def __init__(self, seed):
        self.seed = (seed ^ 0x5DEECE66D) & ((1 << 48) - 1)

    def next(self, bits):
        self.seed = (self.seed * 0x5DEECE66D + 0xB) & ((1 << 48) - 1)
        return wrap(self.seed >> (48 - bits), 32)

    def next_double(self):
        return ((self.next(26) << 27) + self.next(27)) * 2.0 ** -53

    def next_int(self, bound):
        if bound & -bound == bound:
            return (bound * self.next(31)) >> 31
        while True:
            bits = self.next(31)
            val = bits % bound
            if wrap(bits - val + (bound - 1), 32) >= 0:
                return val


# ---- Flink's string parse rules ---------------------------------------------------------------


def jtrim(s):
    i, j = 0, len(s)
    while i < j and ord(s[i]) <= 32:
        i += 1
    while j > i and ord(s[j - 1]) <= 32:
        j -= 1
    return s[i:j]


def parse_int(s, bits):
    """BinaryStringDataUtil.toInt/toLong of the trimmed text (a fraction dropped), the range
    of a TINYINT or SMALLINT checked; None where the cast fails."""
    t = jtrim(s)
    if t == "" or t in ("+", "-"):
        return None
    m = re.fullmatch(r"([+-]?)(\d*)(?:\.(\d*))?", t)
    if not m:
        return None
    v = int(m.group(2) or "0")
    v = -v if m.group(1) == "-" else v
    lim = 63 if bits == 64 else 31
    if not -(1 << lim) <= v < (1 << lim):
        return None
    if not -(1 << (bits - 1)) <= v < (1 << (bits - 1)):
        return None
    return v


DEC_RX = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"


def parse_double(s, is_float=False):
    t = jtrim(s)
    m = re.fullmatch(r"([+-]?)(NaN|Infinity)", t)
    if m:
        v = math.nan if m.group(2) == "NaN" else math.inf
        return -v if m.group(1) == "-" else v
    m = re.fullmatch(r"([+-]?)0[xX]([0-9a-fA-F]*(?:\.[0-9a-fA-F]*)?[pP][+-]?\d+)[fFdD]?", t)
    if m and re.search("[0-9a-fA-F]", m.group(2).split("p")[0].split("P")[0]):
        v = float.fromhex("0x" + m.group(2))
        return -v if m.group(1) == "-" else v
    if not re.fullmatch(DEC_RX + r"[fFdD]?", t):
        return None
    t = t.rstrip("fFdD")
    return f32(float(t)) if is_float else float(t)


def parse_decimal(s, p, scale):
    t = jtrim(s)
    if not re.fullmatch(DEC_RX, t):
        return None
    q = D(t).quantize(D(1).scaleb(-scale), rounding=decimal.ROUND_HALF_UP)
    if abs(q) >= D(10) ** (p - scale):
        return None
    return q


def parse_bool(s):
    t = jtrim(s).lower()
    if t in ("t", "true", "y", "yes", "1"):
        return True
    if t in ("f", "false", "n", "no", "0"):
        return False
    return None


# ---- the random input --------------------------------------------------------------------------

STRINGS = ["12", " 12 ", "-7", "+5", "1.9", "-1.9", ".", "+", "-", "1.", ".5", "abc", "1e3",
           "1.5e-3", "1E+2", "1e", "1.2.3", "0x1p3", "0x1.8p1", "NaN", "-Infinity", "Infinity",
           "1.5f", "2d", "127", "128", "-128", "-129", "32767", "32768", "2147483647",
           "2147483648", "-2147483648", "-2147483649", "9223372036854775807",
           "9223372036854775808", "-9223372036854775808", "yes", "N", "TRUE", "f", "0", "1",
           "99999999.994", "99999999.995", "-0.005", "0.005", "12345678901234567890", "1_000",
           "\t3\t", "0.1", "\u00e9a", "\u65e5\u672c", "a b", "x1", "3.4028236e38", "1e400",
           "-1e-400", "2.5", "-2.5", "00012"]
DOUBLES = [2.675, -2.675, 0.5, -0.5, 1.5, -2.5, 0.125, 1e-5, -1e-5, 1e7, 123456789.987, 1e20,
           -1e-320, 5e-324, 0.0, 1.0, -1.0, 0.1, 1e300, 999.9999, 1.005, 0.045]
INTS = [0, 1, -1, 5, -5, 15, -15, 25, 2147483647, -2147483648, 2147483645, 100, -100]
LONGS = [0, 1, -1, 9223372036854775807, -9223372036854775808, 255, -256, 4096]


def random_rows(rng, n):
    rows = []
    for _ in range(n):
        def maybe(v):
            return None if rng.random() < 0.08 else v
        i = maybe(rng.choice(INTS) if rng.random() < 0.4 else rng.randrange(-10**6, 10**6))
        b = maybe(rng.choice(LONGS) if rng.random() < 0.4 else rng.randrange(-2**63, 2**63))
        r = rng.random()
        d = maybe(rng.choice(DOUBLES) if r < 0.4 else
                  round(rng.uniform(-1000, 1000), rng.randrange(0, 6)) if r < 0.8 else
                  rng.uniform(-1e6, 1e6))
        f = maybe(f32(rng.choice([0.5, -2.5, 1.1, 3.4028235e38, 1e-7, 0.1]) if rng.random() < 0.3
                      else round(rng.uniform(-100, 100), rng.randrange(0, 4))))
        m = maybe(D(rng.randrange(-10**12 + 1, 10**12)).scaleb(-3) if rng.random() < 0.7 else
                  rng.choice([D("0.000"), D("-0.500"), D("2.450"), D("999999999.999"),
                              D("-999999999.999"), D("0.050"), D("-2.550")]))
        s = maybe(rng.choice(STRINGS) if rng.random() < 0.6 else
                  rng.choice(["%d" % rng.randrange(-10**6, 10**6),
                              "%.*f" % (rng.randrange(0, 5), rng.uniform(-1e4, 1e4)),
                              "%.3e" % rng.uniform(-1e9, 1e9)]))
        rows.append((i, b, d, f, m, s))
    return rows


def csv_text(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    return str(v)


# ---- the query and its oracle ----------------------------------------------------------------

EXPRS = [
    # ROUND / TRUNCATE / FLOOR / CEIL
    ("ROUND(d, 2)", lambda r: jround_double(r.d, 2)),
    ("ROUND(d)", lambda r: jround_double(r.d, 0)),
    ("ROUND(d, -2)", lambda r: jround_double(r.d, -2)),
    ("TRUNCATE(d, 1)", lambda r: jround_double(r.d, 1, down=True)),
    ("ROUND(f, 1)", lambda r: ("F", jround_double(r.f, 1, is_float=True))),
    ("ROUND(i, -1)", lambda r: jround_int(r.i, -1, 32)),
    ("ROUND(b, -3)", lambda r: jround_int(r.b, -3, 64)),
    ("TRUNCATE(i, -2)", lambda r: jround_int(r.i, -2, 32, down=True)),
    ("ROUND(m, 1)", lambda r: ("M", m_round(r.m, 1, False), 1)),
    ("ROUND(m, -2)", lambda r: ("M", m_round(r.m, -2, False), 0)),
    ("TRUNCATE(m, 2)", lambda r: ("M", m_round(r.m, 2, True), 2)),
    ("FLOOR(d)", lambda r: jfloor(r.d)),
    ("CEIL(d)", lambda r: jfloor(r.d, up=True)),
    ("FLOOR(m)", lambda r: ("M", r.m.to_integral_value(rounding=decimal.ROUND_FLOOR), 0)),
    ("CEILING(m)", lambda r: ("M", r.m.to_integral_value(rounding=decimal.ROUND_CEILING), 0)),
    ("FLOOR(i)", lambda r: r.i),
    # functions of doubles
    ("POWER(d, 2)", lambda r: safe(math.pow, r.d, 2)),
    ("POWER(i, 0.5)", lambda r: safe(math.pow, r.i, 0.5)),
    ("SQRT(d)", lambda r: safe(math.sqrt, r.d)),
    ("EXP(d)", lambda r: safe(math.exp, r.d)),
    ("LN(d)", lambda r: jlog(r.d)),
    ("LOG10(d)", lambda r: jlog10(r.d)),
    ("LOG2(d)", lambda r: jdiv(jlog(r.d), math.log(2))),
    ("LOG(d)", lambda r: jlog(r.d)),
    ("LOG(3, d)", lambda r: jdiv(jlog(r.d), math.log(3))),
    ("SIN(d)", lambda r: math.sin(r.d)),
    ("COS(d)", lambda r: math.cos(r.d)),
    ("TAN(d)", lambda r: math.tan(r.d)),
    ("COT(d)", lambda r: jdiv(1.0, math.tan(r.d))),
    ("ASIN(d)", lambda r: safe(math.asin, r.d)),
    ("ACOS(d)", lambda r: safe(math.acos, r.d)),
    ("ATAN(d)", lambda r: math.atan(r.d)),
    ("ATAN2(d, i)", lambda r: math.atan2(r.d, r.i)),
    ("SINH(d)", lambda r: jsinh(r.d)),
    ("COSH(d)", lambda r: jcosh(r.d)),
    ("TANH(d)", lambda r: math.tanh(r.d)),
    ("DEGREES(d)", lambda r: r.d * 57.29577951308232),
    ("RADIANS(d)", lambda r: r.d * 0.017453292519943295),
    ("SQRT(m)", lambda r: safe(math.sqrt, float(r.m))),
    ("SIGN(d)", lambda r: (1.0 if r.d > 0 else -1.0 if r.d < 0 else r.d)),
    ("SIGN(i)", lambda r: (r.i > 0) - (r.i < 0)),
    ("SIGN(m)", lambda r: ("M", D((r.m > 0) - (r.m < 0)), 3)),
    ("ABS(i)", lambda r: wrap(abs(r.i), 32)),
    # BIN, HEX
    ("BIN(i)", lambda r: format(r.i & ((1 << 64) - 1), "b")),
    ("HEX(b)", lambda r: format(r.b & ((1 << 64) - 1), "X")),
    ("HEX(s)", lambda r: r.s.encode("utf-8").hex().upper()),
    # GREATEST, LEAST, IF, NULLIF
    ("GREATEST(i, b)", lambda r: max(r.i, r.b)),
    ("LEAST(i, b, 0)", lambda r: min(r.i, r.b, 0)),
    ("LEAST(d, i)", lambda r: float(min(r.d, float(r.i)))),
    ("IF(i > 0, b, i)", lambda r: ("ANY", r.b if r.i is not None and r.i > 0 else r.i)),
    ("IF(d > 0, 'pos', 'neg')", lambda r: ("ANY", "pos" if r.d is not None and r.d > 0 else
                                            "neg")),
    ("NULLIF(i, 0)", lambda r: ("ANY", None if r.i is None or r.i == 0 else r.i)),
    ("IS_ALPHA(s)", lambda r: r.s is not None and r.s != "" and r.s.isalpha()),
    ("IS_DIGIT(s)", lambda r: r.s is not None and r.s != "" and all(c in "0123456789"
                                                                    for c in r.s)),
    ("IS_DECIMAL(s)", lambda r: r.s is not None and parse_double(r.s) is not None),
    ("IS_DIGIT(i)", lambda r: r.i is not None),
    # CAST to strings
    ("CAST(d AS STRING)", lambda r: java_text(r.d)),
    ("CAST(f AS STRING)", lambda r: java_text(r.f, True)),
    ("CAST(m AS STRING)", lambda r: bigdec_text(r.m, 3)),
    ("CAST(b AS STRING)", lambda r: str(r.b)),
    ("CAST(i AS CHAR(5)) || '|'", lambda r: str(r.i)[:5].ljust(5) + "|"),
    ("CAST(d AS VARCHAR(4))", lambda r: java_text(r.d)[:4]),
    ("CAST(i > 0 AS STRING)", lambda r: "TRUE" if r.i > 0 else "FALSE"),
    # CAST from strings
    ("TRY_CAST(s AS INT)", lambda r: ("ANY", parse_int(r.s, 32))),
    ("TRY_CAST(s AS BIGINT)", lambda r: ("ANY", parse_int(r.s, 64))),
    ("TRY_CAST(s AS TINYINT)", lambda r: ("ANY", parse_int(r.s, 8))),
    ("TRY_CAST(s AS SMALLINT)", lambda r: ("ANY", parse_int(r.s, 16))),
    ("TRY_CAST(s AS DOUBLE)", lambda r: ("ANY", parse_double(r.s))),
    ("TRY_CAST(s AS FLOAT)", lambda r: ("FANY", parse_double(r.s, True))),
    ("TRY_CAST(s AS DECIMAL(10, 2))", lambda r: ("MANY", parse_decimal(r.s, 10, 2), 2)),
    ("TRY_CAST(s AS BOOLEAN)", lambda r: ("ANY", parse_bool(r.s))),
]


def m_round(m, n, down):
    """ROUND/TRUNCATE of a DECIMAL(15, 3) to n digits: Flink's DECIMAL(13 + n, n), or
    DECIMAL(13, 0) for n < 0; NULL when the value does not fit."""
    q = m.quantize(D(1).scaleb(-n), rounding=decimal.ROUND_DOWN if down else
                   decimal.ROUND_HALF_UP)
    p, sc = (13, 0) if n < 0 else (13 + n, n)
    return None if abs(q) >= D(10) ** (p - sc) else q


def jfloor(x, up=False):
    """Math.floor / Math.ceil: a zero result keeps the argument's sign."""
    r = float(math.ceil(x) if up else math.floor(x))
    return math.copysign(0.0, x) if r == 0 else r


class Row:
    def __init__(self, t):
        self.i, self.b, self.d, self.f, self.m, self.s = t


def text(v):
    """Flink's print text of an oracle value."""
    if v is None:
        return "null"
    if isinstance(v, tuple):
        kind = v[0]
        if v[1] is None:
            return "null"
        if kind == "F" or kind == "FANY":
            return java_text(v[1], True)
        if kind in ("M", "MANY"):
            return bigdec_text(v[1], v[2])
        return text(v[1])
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return java_text(v)
    return str(v)


def oracle_line(t, exprs):
    r = Row(t)
    cols = []
    for sql, fn in exprs:
        names = re.findall(r"\b([ibdfms])\b", re.sub(r"'[^']*'", "", sql))
        if any(getattr(r, n) is None for n in names) and not sql.startswith(
                ("IF(", "NULLIF(", "IS_")):
            cols.append("null")
            continue
        try:
            cols.append(text(fn(r)))
        except Exception as e:  # the oracle itself failing is a test bug: show where
            raise RuntimeError("oracle of %s on %r: %s" % (sql, t, e))
    return "+I[" + ", ".join(cols) + "]"


TABLE = """
CREATE TABLE src (i INT, b BIGINT, d DOUBLE, f FLOAT, m DECIMAL(15, 3), s STRING)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
"""


def write_rows(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(",".join(csv_text(v) for v in row) + "\n")


def test_functions_and_casts_against_oracle(tmp):
    """Every function and cast of the family over random rows with NULLs and edge values, at
    parallelism 1 and 3: the printed rows equal the oracle's (as multisets)."""
    rng = seeded_rng("sql-fn-math")
    rows = random_rows(rng, 600)
    inp = os.path.join(tmp, "in.csv")
    write_rows(inp, rows)
    want = sorted(oracle_line(t, EXPRS) for t in rows)
    for par in (1, 3):
        script = os.path.join(tmp, "q%d.sql" % par)
        with open(script, "w", encoding="utf-8") as f:
            f.write("SET 'parallelism.default' = '%d';\n" % par)
            f.write(TABLE % inp)
            f.write("SELECT %s FROM src;\n" % ", ".join(sql for sql, _ in EXPRS))
        r = run(["run", script])
        expect_rc(r, 0)
        got = sorted(re.sub(r"^\d+> ", "", x) for x in r.out.splitlines() if x.strip())
        if got != want:
            for g, w in zip(got, want):
                if g != w:
                    gs, ws = g[3:-1].split(", "), w[3:-1].split(", ")
                    diff = ["%s: got %s, want %s" % (EXPRS[k][0], gs[k], ws[k])
                            for k in range(min(len(gs), len(ws), len(EXPRS)))
                            if gs[k] != ws[k]]
                    expect(False, "p=%d: the printed rows equal the oracle's" % par,
                           w, "%s\n  differences: %s" % (g, diff[:6]), r)
            expect(False, "p=%d: as many rows as the oracle" % par, len(want), len(got), r)


def test_rand_is_java_random(tmp):
    """RAND(seed) and RAND_INTEGER(seed, n) give java.util.Random's numbers in a task (here one
    task, rows in order); unseeded ones are in range."""
    inp = os.path.join(tmp, "in.csv")
    n = 200
    write_rows(inp, [(k, 0, 0.0, 0.0, D(0), "x") for k in range(n)])
    script = os.path.join(tmp, "r.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write(TABLE % inp)
        f.write("SELECT RAND(42), RAND_INTEGER(-7, 1000), RAND_INTEGER(3, 64), RAND(), "
                "RAND_INTEGER(i + 1) FROM src;\n")
    r = run(["run", "-p", "1", script])
    expect_rc(r, 0)
    lines = r.out.splitlines()
    expect(len(lines) == n, "one line per row", n, len(lines), r)
    r1, r2, r3 = JavaRandom(42), JavaRandom(-7), JavaRandom(3)
    for k, line in enumerate(lines):
        cols = line[3:-1].split(", ")
        want = [java_text(r1.next_double()), str(r2.next_int(1000)), str(r3.next_int(64))]
        expect(cols[:3] == want, "row %d: Java's Random" % k, want, cols[:3], r)
        expect(0.0 <= float(cols[3]) < 1.0, "RAND() in [0, 1)", "[0, 1)", cols[3], r)
        expect(0 <= int(cols[4]) <= k, "RAND_INTEGER(i + 1) in [0, i]", k, cols[4], r)


def test_errors_name_value_and_place(tmp):
    """A string that is not a number fails the job naming the value, the type and the place
    (TRY_CAST gives NULL instead); ROUND of NaN, RAND_INTEGER of a bound <= 0 and FLOOR(x TO
    unit) fail with their messages; a seed that is not a constant is refused."""
    inp = os.path.join(tmp, "in.csv")
    write_rows(inp, [(1, 2, 1.5, 0.5, D("1.5"), "abc"), (0, 2, -1.0, 0.5, D(1), "12")])
    cases = [
        ("SELECT CAST(s AS INT) FROM src", "Cannot cast 'abc' to INT: Invalid character found."),
        ("SELECT CAST(s || '9999999999' AS INT) FROM src WHERE i = 0",
         "Cannot cast '129999999999' to INT: Overflow."),
        ("SELECT CAST(s AS DECIMAL(5, 2)) FROM src", "Cannot cast 'abc' to DECIMAL(5, 2)"),
        ("SELECT CAST(s AS BOOLEAN) FROM src", "Cannot cast 'abc' to BOOLEAN"),
        ("SELECT CAST(s AS DOUBLE) FROM src", "Cannot cast 'abc' to DOUBLE"),
        ("SELECT ROUND(SQRT(d), 1) FROM src", "ROUND of a DOUBLE: the value is not a finite"),
        ("SELECT RAND_INTEGER(i) FROM src", "RAND_INTEGER's bound must be positive, not 0"),
        ("SELECT RAND(i) FROM src", "The seed of RAND must be a constant integer"),
        ("SELECT FLOOR(d TO DAY) FROM src", "Cannot apply 'FLOOR' to arguments of type"),
        ("SELECT GREATEST(i, s) FROM src", "have no common type"),
    ]
    for k, (sql, msg) in enumerate(cases):
        script = os.path.join(tmp, "e%d.sql" % k)
        with open(script, "w", encoding="utf-8") as f:
            f.write(TABLE % inp)
            f.write("\n" + sql + ";\n")
        r = run(["run", "-p", "1", script])
        expect(r.rc != 0, "%s fails" % sql, "a non-zero exit", r.rc, r)
        expect_in(msg, r.err, "the message of " + sql, r)
        if sql.startswith("SELECT CAST(s AS INT)"):
            expect_in("line 5, column 8", r.err, "the place of the cast", r)
    script = os.path.join(tmp, "t.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write(TABLE % inp)
        f.write("SELECT TRY_CAST(s AS INT), TRY_CAST(s AS DECIMAL(5, 2)), "
                "TRY_CAST(s AS BOOLEAN) FROM src;\n")
    r = run(["run", "-p", "1", script])
    expect_rc(r, 0)
    got = sorted(r.out.splitlines())
    want = ["+I[12, 12.00, null]", "+I[null, null, null]"]
    expect(got == want, "TRY_CAST's NULLs", want, got, r)


if __name__ == "__main__":
    main([test_functions_and_casts_against_oracle, test_rand_is_java_random,
          test_errors_name_value_and_place])
