"""End-to-end tests of the SQL string functions (src/sql/fn_string.c): `rill run` over a CSV of
random strings (UTF-8 beyond ASCII, empty strings, NULLs) and integers (0, negative, out of
range), every function's printed rows compared, as a multiset, with values computed here
independently with Flink's semantics (its SqlFunctionUtils and BinaryStringDataUtil rules, in
characters), at parallelism 1 and 3; and errors that name the place.
"""
import base64
import hashlib
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import expect, expect_in, expect_rc, main, run, seeded_rng  # noqa: E402

WORDS = ["", "a", "hello", "Hello World", "  pad  ", "xxabxx", "abcabc", "a,b,,c", "foo123bar45",
         "\u00e9t\u00e9", "stra\u00dfe", "\u039f\u0394\u039f\u03a3", "\u0436\u0443\u043a",
         "\u65e5\u672c\u8a9e", "emoji \U0001F600!", "one two\tthree", "aaa", "b_c d-e",
         "x", "ABC def", "l", "o", ",", "ab", "1st-time", "\u00c4bc", "\u00c9\u03a3 x",
         "\u65e5\u03a3"]
PATTERNS = ["a", "b+", "^h", "(", "o$", "[0-9]", "x|y", "\\w+\\s", "", "[a-c]{2}"]
INTS = [0, 1, 2, 3, -1, -2, -7, 5, 12, 100, 2147483647, -2147483648]
CHRS = [65, 97, 233, 321, -1, 1000, 122, 48]


# ---- the oracle: Flink's functions over Python strings (characters are code points) ----------

def substr(s, pos, ln=None):
    if ln is not None and ln < 0:
        return None
    if s == "":
        return ""
    nc = len(s)
    if pos > 0:
        start = pos - 1
        if start >= nc:
            return ""
    elif pos < 0:
        start = nc + pos
        if start < 0:
            return ""
    else:
        start = 0
    return s[start:] if ln is None else s[start:start + ln]


def index_of(h, nd, frm):
    if nd == "":
        return 0
    return h.find(nd, max(frm, 0))


def locate(nd, h, frm=1):
    return index_of(h, nd, frm - 1 if frm > 0 else 0) + 1


def instr(s, sub, start=1, nth=1):
    if start == 0:
        return 0
    if start > 0:
        at, idx = start, 0
        for _ in range(nth):
            idx = index_of(s, sub, at - 1) + 1
            if idx == 0:
                return 0
            at = idx + 1
        return idx
    pos = instr(s[::-1], sub[::-1], -start, nth)
    return 0 if pos == 0 else len(s) + 2 - pos - len(sub)


def overlay(s, r, start, ln=None):
    if ln is None:
        ln = len(r)
    if start <= 0 or start > len(s):
        return s
    out = s[:start - 1] + r
    if start + ln <= len(s) and ln > 0:
        out += s[start - 1 + ln:]
    return out


def trim(s, chars, lead=True, trail=True):
    if lead:
        s = s.lstrip(chars) if chars else s
    if trail:
        s = s.rstrip(chars) if chars else s
    return s


def pad(s, n, p, left):
    if n < 0 or p == "":
        return None
    if n <= len(s):
        return s[:n]
    fill = (p * (n // len(p) + 1))[:n - len(s)]
    return fill + s if left else s + fill


def initcap(s):
    out, start = [], True
    for ch in s:
        digit, up, low = "0" <= ch <= "9", "A" <= ch <= "Z", "a" <= ch <= "z"
        if start and low:
            ch = ch.upper()
        elif not start and up:
            ch = ch.lower()
        start = not (digit or up or low)
        out.append(ch)
    return "".join(out)


def left(s, n):
    return "" if n <= 0 else s[:n]


def right(s, n):
    return "" if n <= 0 else s if n >= len(s) else s[len(s) - n:]


def ascii_(s):
    if s == "":
        return 0
    b = s.encode()[0]
    return b - 256 if b >= 128 else b


def chr_(n):
    return "" if n < 0 else chr(n & 0xFF)


def split_index(s, sep, i):
    if i < 0 or s == "":
        return None
    parts = re.split("[\t\n\x0b\x0c\r\x1c-\x1f ]", s) if sep == "" else s.split(sep)
    return parts[i] if i < len(parts) else None


# Java's \w, \d, \s are ASCII (re.ASCII); the patterns tested avoid syntax where re and
# java.util.regex differ otherwise.
def regexp(s, p):
    if p == "":
        return False
    try:
        return re.search(p, s, re.ASCII) is not None
    except re.error:
        return False


def regexp_extract(s, p, g=0):
    try:
        m = re.search(p, s, re.ASCII)
    except re.error:
        return None
    if m is None or g < 0 or g > (m.re.groups):
        return None
    return m.group(g)


def regexp_replace(s, p, r):
    try:
        return re.sub(p, lambda m: r, s, flags=re.ASCII)
    except re.error:
        return None


def hex_int(n):
    return "%X" % (n & 0xFFFFFFFFFFFFFFFF)


def java_upper(s):
    return s.upper()


def java_lower(s):
    return s.lower()


# ---- URLs: made from parts, so the expected parts are known ----------------------------------

def random_url(rng):
    """(url text, {part: value or None}) for a URL made of random parts."""
    scheme = rng.choice(["http", "https", "HTTP", "ftp", "gopher", ""])
    user = rng.choice([None, "bob", "bob:pw"])
    host = rng.choice(["example.com", "Host.ORG", "10.0.0.1", "h"])
    port = rng.choice([None, "80", "8080", "x1"])
    path = rng.choice(["", "/", "/a", "/a/b.html", "/%C3%A9"])
    query = rng.choice([None, "", "k=v", "a=1&b=2", "b=2&a=&c=3", "aa=1&a=2"])
    ref = rng.choice([None, "", "top", "s-1"])
    auth = (user + "@" if user else "") + host + (":" + port if port else "")
    url = (scheme + "://" if scheme else "") + auth + path
    if query is not None:
        url += "?" + query
    if ref is not None:
        url += "#" + ref
    ok = scheme.lower() in ("http", "https", "ftp") and (port is None or port.isdigit())
    parts = {}
    if ok:
        parts = {"HOST": host, "PATH": path, "QUERY": query, "REF": ref,
                 "PROTOCOL": scheme.lower(), "AUTHORITY": auth, "USERINFO": user,
                 "FILE": path + ("?" + query if query is not None else "")}
    return url, parts


def query_value(parts, key):
    q = parts.get("QUERY")
    if q is None:
        return None
    m = re.search("(&|^)" + re.escape(key) + "=([^&]*)", q)
    return m.group(2) if m else None


# ---- the table and the script ------------------------------------------------------------------

def random_rows(rng, n):
    rows = []
    for _ in range(n):
        def maybe(v):
            return None if rng.random() < 0.1 else v
        s = maybe(rng.choice(WORDS))
        t = maybe(rng.choice(WORDS + PATTERNS))
        a = maybe(rng.choice(INTS) if rng.random() < 0.7 else rng.randrange(-20, 20))
        b = maybe(rng.randrange(-3, 12))  # a count or a length: small (REPEAT, LPAD)
        u, parts = random_url(rng)
        rows.append((s, t, a, b, maybe(u), parts, maybe(rng.choice(CHRS))))
    return rows


def csv_str(v):
    return "" if v is None else '"' + v.replace('"', '""') + '"'


def csv_int(v):
    return "" if v is None else str(v)


def write_rows(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for s, t, a, b, u, _parts, c in rows:
            f.write(",".join([csv_str(s), csv_str(t), csv_int(a), csv_int(b), csv_str(u),
                              csv_int(c)]) + "\n")


DDL = """
SET 'parallelism.default' = '%(par)d';
CREATE TABLE src (s STRING, t STRING, a INT, b INT, u STRING, c INT)
WITH ('connector' = 'filesystem', 'path' = '%(input)s', 'format' = 'csv');
"""

# Each query: (tag, SELECT list after the tag, oracle of one row: (s, t, a, b, u, parts, c) ->
# the values). A function of NULL is NULL (strict) unless the oracle says otherwise.
QUERIES = []


def query(tag, select):
    def deco(f):
        QUERIES.append((tag, select, f))
        return f
    return deco


def strict(f, *args):
    return None if any(x is None for x in args) else f(*args)


@query("P", "SUBSTRING(s FROM a FOR b), SUBSTR(s, a), SUBSTRING(s, 2, 3), LEFT(s, a), "
            "RIGHT(s, a), POSITION(t IN s), LOCATE(t, s, a), INSTR(s, t, a, 1), "
            "OVERLAY(s PLACING t FROM a), OVERLAY(s PLACING 'XY' FROM 2 FOR b)")
def q_positions(s, t, a, b, u, parts, c):
    return [strict(substr, s, a, b), strict(substr, s, a), strict(lambda x: substr(x, 2, 3), s),
            strict(left, s, a), strict(right, s, a), strict(locate, t, s),
            strict(locate, t, s, a), strict(instr, s, t, a, 1), strict(overlay, s, t, a),
            strict(lambda x, y: overlay(x, "XY", 2, y), s, b)]


@query("T", "TRIM(s), TRIM(LEADING 'x' FROM s), TRIM(TRAILING t FROM s), TRIM(BOTH t FROM s), "
            "LTRIM(s), RTRIM(s), REPLACE(s, t, '<>'), REPLACE(s, 'a', t), "
            "CONCAT_WS('|', s, t, 'z'), CONCAT_WS(t, s, s)")
def q_trim(s, t, a, b, u, parts, c):
    ws = [x for x in (s, t, "z") if x is not None]
    return [strict(lambda x: trim(x, " "), s), strict(lambda x: trim(x, "x", True, False), s),
            strict(lambda x, y: trim(x, y, False, True), s, t), strict(trim, s, t),
            strict(lambda x: trim(x, " ", True, False), s),
            strict(lambda x: trim(x, " ", False, True), s),
            strict(lambda x, y: x.replace(y, "<>"), s, t),
            strict(lambda x, y: x.replace("a", y), s, t), "|".join(ws),
            None if t is None else t.join([x for x in (s, s) if x is not None])]


@query("B", "LPAD(s, b, 'ab'), RPAD(s, b, t), REPEAT(s, b), REVERSE(s), INITCAP(s), ASCII(s), "
            "CHR(c), SPLIT_INDEX(s, ',', b), SPLIT_INDEX(s, t, 1), UPPER(s), LOWER(s)")
def q_build(s, t, a, b, u, parts, c):
    return [strict(lambda x, n: pad(x, n, "ab", True), s, b),
            strict(lambda x, n, p: pad(x, n, p, False), s, b, t),
            strict(lambda x, n: x * max(n, 0), s, b), strict(lambda x: x[::-1], s),
            strict(initcap, s), strict(ascii_, s), strict(chr_, c),
            strict(lambda x, n: split_index(x, ",", n), s, b),
            strict(lambda x, y: split_index(x, y, 1), s, t), strict(java_upper, s),
            strict(java_lower, s)]


@query("R", "REGEXP(s, t), REGEXP(s, '[aeiou]{2}'), REGEXP_EXTRACT(s, '([a-z]+)([0-9]+)', b), "
            "REGEXP_EXTRACT(s, t), REGEXP_REPLACE(s, '[0-9]+', '#$1'), "
            "REGEXP_REPLACE(s, 'a*', '-'), REGEXP_REPLACE(s, t, '.')")
def q_regex(s, t, a, b, u, parts, c):
    return [strict(regexp, s, t), strict(lambda x: regexp(x, "[aeiou]{2}"), s),
            strict(lambda x, g: regexp_extract(x, "([a-z]+)([0-9]+)", g), s, b),
            strict(regexp_extract, s, t),
            strict(lambda x: regexp_replace(x, "[0-9]+", "#$1"), s),
            strict(lambda x: regexp_replace(x, "a*", "-"), s),
            strict(lambda x, p: regexp_replace(x, p, "."), s, t)]


@query("E", "MD5(s), SHA1(s), SHA256(t), TO_BASE64(s), FROM_BASE64(TO_BASE64(t)), HEX(s), HEX(a), "
            "CHAR_LENGTH(UUID()), REGEXP(UUID(), '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
            "[89ab][0-9a-f]{3}-[0-9a-f]{12}$')")
def q_encode(s, t, a, b, u, parts, c):
    def h(alg):
        return lambda x: hashlib.new(alg, x.encode()).hexdigest()
    return [strict(h("md5"), s), strict(h("sha1"), s), strict(h("sha256"), t),
            strict(lambda x: base64.b64encode(x.encode()).decode(), s), t,
            strict(lambda x: x.encode().hex().upper(), s), strict(hex_int, a), 36, True]


@query("U", "PARSE_URL(u, 'HOST'), PARSE_URL(u, 'PATH'), PARSE_URL(u, 'QUERY'), "
            "PARSE_URL(u, 'REF'), PARSE_URL(u, 'PROTOCOL'), PARSE_URL(u, 'FILE'), "
            "PARSE_URL(u, 'AUTHORITY'), PARSE_URL(u, 'USERINFO'), PARSE_URL(u, 'QUERY', 'a'), "
            "PARSE_URL(u, 'QUERY', t)")
def q_url(s, t, a, b, u, parts, c):
    if u is None:
        return [None] * 10
    names = ["HOST", "PATH", "QUERY", "REF", "PROTOCOL", "FILE", "AUTHORITY", "USERINFO"]
    return [parts.get(n) for n in names] + [query_value(parts, "a"),
                                            None if t is None else query_value(parts, t)]


def fmt(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def expected_lines(rows):
    want = []
    for tag, _select, f in QUERIES:
        for row in rows:
            want.append("+I[%s]" % ", ".join([tag] + [fmt(v) for v in f(*row)]))
    return sorted(want)


PREFIX = re.compile(r"^\d+> ")


def test_string_functions_against_oracle(tmp):
    rng = seeded_rng("string functions")
    rows = random_rows(rng, 400)
    data = os.path.join(tmp, "in.csv")
    write_rows(data, rows)
    want = expected_lines(rows)
    for par in (1, 3):
        script = os.path.join(tmp, "q%d.sql" % par)
        with open(script, "w", encoding="utf-8") as f:
            f.write(DDL % {"par": par, "input": data})
            for tag, select, _f in QUERIES:
                f.write("SELECT '%s', %s FROM src;\n" % (tag, select))
        r = run(["run", script])
        expect_rc(r, 0)
        got = sorted(PREFIX.sub("", line) for line in r.out.split("\n") if "+I[" in line)
        if got != want:
            gs, ws = set(got), set(want)
            extra = sorted(gs - ws)[:6]
            missing = sorted(ws - gs)[:6]
            expect(False, "p=%d: the printed rows (%d) against the oracle's (%d); missing (first):"
                   % (par, len(got), len(want)), "\n    ".join(missing), "\n    ".join(extra), r)


def test_errors_name_the_place(tmp):
    data = os.path.join(tmp, "in.csv")
    with open(data, "w", encoding="utf-8") as f:
        f.write('"abc",1\n"a@b",0\n')
    cases = [
        ("SELECT FROM_BASE64(s) FROM src;", "not base64", "line 4, column 8"),
        ("SELECT INSTR(s, 'b', 1, n) FROM src;", "nthAppearance must be positive", "column 8"),
        ("SELECT SUBSTRING(s, 'x') FROM src;", "argument 2 must be an integer", "column 8"),
        ("SELECT UPPER(n) FROM src;", "must be a character string", "column 8"),
        ("SELECT LPAD(s) FROM src;", "Invalid number of arguments to function 'LPAD'", "column 8"),
        ("SELECT REPEAT(s, 2000000000) FROM src;", "too long", "column 8"),
    ]
    for i, (select, msg, where) in enumerate(cases):
        script = os.path.join(tmp, "e%d.sql" % i)
        with open(script, "w", encoding="utf-8") as f:
            f.write("CREATE TABLE src (s STRING, n INT)\n"
                    "WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');\n\n"
                    % data)
            f.write(select + "\n")
        r = run(["run", script])
        expect_rc(r, 1)
        expect_in(msg, r.err, select, r)
        expect_in(where, r.err, select, r)


if __name__ == "__main__":
    main([test_string_functions_against_oracle, test_errors_name_the_place])
