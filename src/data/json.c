/*
 * json.c - data layer: the JSON-lines codec, a small strict parser of one object per line
 * (fields by key, typed by the schema) and the encoder of rows as objects in schema order.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec_int.h"

/* Nesting allowed inside the values of ignored keys. */
#define JSON_MAX_DEPTH 128

typedef struct json_impl {
    const rill_schema *schema;
    uint32_t mask;    /* table size - 1 */
    int32_t *table;   /* open addressing on the key hash: field index + 1, 0 = empty */
    size_t *name_len; /* per field */
    uint32_t *seen;   /* per field: the gen of the record that set it (duplicate keys) */
    uint32_t gen;
    int *required; /* NOT NULL fields */
    int n_required;
    /* the paths of nested ROW columns ("r", "r.y" of the leaf "r.y.z"): a key that names one
     * holds an object whose keys are the next level's; sorted */
    char **prefixes;
    int n_prefixes;
    uint32_t *prefix_seen; /* per prefix: the gen of the record that had its key */
    rill__buf path; /* the path of the object being read, "r.y." */
} json_impl;

/* The parse position within one line. */
typedef struct jp {
    const char *line, *p, *e;
    rill__decoder *d;
    rill__parse_err *err;
} jp;

void *rill__json_impl_new(const rill_schema *schema)
{
    json_impl *j = rill__xcalloc(1, sizeof *j);
    int n = schema->n_fields;
    size_t nn = (size_t)(n ? n : 1);
    uint32_t size = 8;
    while (size < 2 * (uint32_t)n)
        size *= 2;
    j->schema = schema;
    j->mask = size - 1;
    j->table = rill__xcalloc(size, sizeof *j->table);
    j->name_len = rill__xmalloc(nn * sizeof *j->name_len);
    j->seen = rill__xcalloc(nn, sizeof *j->seen);
    j->required = rill__xmalloc(nn * sizeof *j->required);
    for (int i = 0; i < n; i++) {
        const char *name = schema->fields[i].name;
        size_t len = strlen(name);
        j->name_len[i] = len;
        uint32_t h = (uint32_t)rill__hash_bytes(name, len, 0) & j->mask;
        while (j->table[h])
            h = (h + 1) & j->mask;
        j->table[h] = i + 1;
        if (!schema->fields[i].nullable)
            j->required[j->n_required++] = i;
        for (const char *dot = strchr(name, '.'); dot; dot = strchr(dot + 1, '.')) {
            char *p = rill__xstrndup(name, (size_t)(dot - name));
            bool have = false;
            for (int k = 0; k < j->n_prefixes && !have; k++)
                have = !strcmp(j->prefixes[k], p);
            if (have) {
                free(p);
                continue;
            }
            j->prefixes = rill__xrealloc(j->prefixes, (size_t)(j->n_prefixes + 1) * sizeof(char *));
            j->prefixes[j->n_prefixes++] = p;
        }
    }
    j->prefix_seen = rill__xcalloc((size_t)j->n_prefixes + 1, sizeof *j->prefix_seen);
    return j;
}

void rill__json_impl_free(void *impl)
{
    json_impl *j = impl;
    if (!j)
        return;
    free(j->table);
    free(j->name_len);
    free(j->seen);
    free(j->required);
    for (int k = 0; k < j->n_prefixes; k++)
        free(j->prefixes[k]);
    free(j->prefixes);
    free(j->prefix_seen);
    rill__buf_free(&j->path);
    free(j);
}

/* The index of the nested ROW column whose path is k (n bytes), or -1. */
static int prefix_of(const json_impl *j, const char *k, size_t n)
{
    for (int i = 0; i < j->n_prefixes; i++)
        if (strlen(j->prefixes[i]) == n && !memcmp(j->prefixes[i], k, n))
            return i;
    return -1;
}

/* The field Flink names when leaf f is missing: the outermost ROW on its path whose key the
 * record lacks, or the leaf; its last name (Flink names a field within its row). */
static const char *missing_name(const json_impl *j, int f, size_t *len)
{
    const char *name = j->schema->fields[f].name, *from = name;
    for (const char *dot = strchr(name, '.'); dot; dot = strchr(dot + 1, '.')) {
        int p = prefix_of(j, name, (size_t)(dot - name));
        if (p >= 0 && j->prefix_seen[p] != j->gen) {
            *len = (size_t)(dot - from);
            return from;
        }
        from = dot + 1;
    }
    *len = strlen(from);
    return from;
}

static int lookup(const json_impl *j, const char *k, size_t n)
{
    uint32_t h = (uint32_t)rill__hash_bytes(k, n, 0) & j->mask;
    for (;;) {
        int32_t f = j->table[h];
        if (f == 0)
            return -1;
        f--;
        if (j->name_len[f] == n && !memcmp(j->schema->fields[f].name, k, n))
            return f;
        h = (h + 1) & j->mask;
    }
}

/* ---- parsing ------------------------------------------------------------------------------- */

static long col_of(const jp *j, const char *p)
{
    return (long)(p - j->line) + 1;
}

/* "'x'" for the character at p, or "end of line". */
static const char *got_char(const jp *j, const char *p, char *buf, size_t cap)
{
    if (p >= j->e)
        return "end of line";
    char shown[8];
    snprintf(buf, cap, "'%s'", rill__codec_show(shown, sizeof shown, p, 1));
    return buf;
}

static int fail_at(jp *j, const char *p, int field, const char *expected)
{
    char buf[16];
    return rill__codec_fail(j->err, col_of(j, p), field, "expected %s, got %s", expected,
                            got_char(j, p, buf, sizeof buf));
}

static void skip_ws(jp *j)
{
    const char *p = j->p;
    while (p < j->e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    j->p = p;
}

static int hex4(const char *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static void put_utf8(rill__buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12);
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | cp >> 18);
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    rill__buf_append(b, u, n);
}

/*
 * The string at j->p (which is at its opening quote), escapes undone: *s points into the line
 * when there were none, else into d->scratch (valid until the next string). Leaves j->p after
 * the closing quote.
 */
static int parse_string(jp *j, int field, const char **s_out, size_t *n_out)
{
    const char *open = j->p, *p = open + 1, *e = j->e;
    const char *s = p;
    while (p < e) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            *s_out = s;
            *n_out = (size_t)(p - s);
            j->p = p + 1;
            return 0;
        }
        if (c == '\\')
            break;
        if (RILL_UNLIKELY(c < 0x20))
            goto control;
        p++;
    }
    rill__buf *sb = &j->d->scratch;
    sb->len = 0;
    rill__buf_append(sb, s, (size_t)(p - s));
    while (p < e) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            *s_out = sb->data;
            *n_out = sb->len;
            j->p = p + 1;
            return 0;
        }
        if (c < 0x20)
            goto control;
        if (c != '\\') {
            const char *run = p;
            while (p < e && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
                p++;
            rill__buf_append(sb, run, (size_t)(p - run));
            continue;
        }
        if (p + 1 >= e)
            break;
        char x = p[1];
        switch (x) {
        case '"':
        case '\\':
        case '/':
            rill__buf_putc(sb, x);
            break;
        case 'b':
            rill__buf_putc(sb, '\b');
            break;
        case 'f':
            rill__buf_putc(sb, '\f');
            break;
        case 'n':
            rill__buf_putc(sb, '\n');
            break;
        case 'r':
            rill__buf_putc(sb, '\r');
            break;
        case 't':
            rill__buf_putc(sb, '\t');
            break;
        case 'u': {
            uint32_t cp, lo;
            if (e - p < 6 || hex4(p + 2, &cp))
                return rill__codec_fail(j->err, col_of(j, p), field,
                                        "expected 4 hex digits after \\u, got \"%.*s\"",
                                        (int)RILL_MIN(e - p, 6), p);
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return rill__codec_fail(j->err, col_of(j, p), field,
                                        "expected a high surrogate before \\u%.4s, got none",
                                        p + 2);
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (e - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, &lo) || lo < 0xdc00 ||
                    lo > 0xdfff)
                    return rill__codec_fail(j->err, col_of(j, p), field,
                                            "expected a low surrogate \\uDC00-\\uDFFF after "
                                            "\\u%.4s, got \"%.*s\"",
                                            p + 2, (int)RILL_MIN(e - p - 6, 6), p + 6);
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }
            put_utf8(sb, cp);
            p += 4;
            break;
        }
        default: {
            char shown[8];
            return rill__codec_fail(j->err, col_of(j, p), field,
                                    "expected an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t "
                                    "\\uXXXX), got '\\%s'",
                                    rill__codec_show(shown, sizeof shown, p + 1, 1));
        }
        }
        p += 2;
    }
    return rill__codec_fail(j->err, col_of(j, open), field,
                            "expected a closing quote for the string that starts at column "
                            "%ld, got end of line",
                            col_of(j, open));
control:
    return rill__codec_fail(j->err, col_of(j, p), field,
                            "expected a character or escape in the string, got control "
                            "character 0x%02x",
                            (unsigned)(unsigned char)*p);
}

/* A number per the JSON grammar at j->p; *is_int when it has no fraction and no exponent. */
static int scan_number(jp *j, int field, bool *is_int)
{
    const char *p = j->p, *e = j->e;
    if (p < e && *p == '-')
        p++;
    if (p < e && *p == '0')
        p++;
    else if (p < e && *p >= '1' && *p <= '9')
        while (p < e && (unsigned)(*p - '0') <= 9)
            p++;
    else
        return fail_at(j, p, field, "a digit");
    *is_int = true;
    if (p < e && *p == '.') {
        p++;
        if (p >= e || (unsigned)(*p - '0') > 9)
            return fail_at(j, p, field, "a digit after the decimal point");
        while (p < e && (unsigned)(*p - '0') <= 9)
            p++;
        *is_int = false;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || (unsigned)(*p - '0') > 9)
            return fail_at(j, p, field, "a digit in the exponent");
        while (p < e && (unsigned)(*p - '0') <= 9)
            p++;
        *is_int = false;
    }
    j->p = p;
    return 0;
}

static bool literal(jp *j, const char *word, size_t n)
{
    if ((size_t)(j->e - j->p) < n || memcmp(j->p, word, n) != 0)
        return false;
    j->p += n;
    return true;
}

/* Skips any value (of an ignored key), checking its syntax. */
static int skip_value(jp *j, int depth)
{
    if (j->p >= j->e)
        return fail_at(j, j->p, -1, "a value");
    const char *s;
    size_t n;
    bool is_int;
    char c = *j->p;
    switch (c) {
    case '"':
        return parse_string(j, -1, &s, &n);
    case 't':
    case 'f':
    case 'n':
        if (literal(j, "true", 4) || literal(j, "false", 5) || literal(j, "null", 4))
            return 0;
        return fail_at(j, j->p, -1, "a value (true, false or null)");
    case '{':
    case '[': {
        char close = c == '{' ? '}' : ']';
        if (depth >= JSON_MAX_DEPTH)
            return rill__codec_fail(j->err, col_of(j, j->p), -1,
                                    "expected at most %d levels of nesting, got more",
                                    JSON_MAX_DEPTH);
        j->p++;
        skip_ws(j);
        if (j->p < j->e && *j->p == close) {
            j->p++;
            return 0;
        }
        for (;;) {
            int rc;
            if (c == '{') {
                if (j->p >= j->e || *j->p != '"')
                    return fail_at(j, j->p, -1, "a key string");
                if ((rc = parse_string(j, -1, &s, &n)))
                    return rc;
                skip_ws(j);
                if (j->p >= j->e || *j->p != ':')
                    return fail_at(j, j->p, -1, "':' after the key");
                j->p++;
                skip_ws(j);
            }
            if ((rc = skip_value(j, depth + 1)))
                return rc;
            skip_ws(j);
            if (j->p < j->e && *j->p == ',') {
                j->p++;
                skip_ws(j);
                continue;
            }
            if (j->p < j->e && *j->p == close) {
                j->p++;
                return 0;
            }
            return fail_at(j, j->p, -1, c == '{' ? "',' or '}'" : "',' or ']'");
        }
    }
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return scan_number(j, -1, &is_int);
        return fail_at(j, j->p, -1, "a value");
    }
}

/* The value at j->p does not fit field f: say what it is. */
static int mismatch(jp *j, int f, const char *start, int range_rc)
{
    const rill__field *fd = &j->d->schema->fields[f];
    bool sql = rill__codec_is_sql_kind(fd);
    const char *tail = fd->type == RILL_T_TIMESTAMP && !sql ? " (epoch ms or ISO-8601)" : "";
    char expect[96];
    const char *tname =
        sql ? rill__codec_expect(fd, expect, sizeof expect) : rill_type_name(fd->type);
    if (*start == '{' || *start == '[')
        return rill__codec_fail(
            j->err, col_of(j, start), f, "expected %s%s for field '%s', got a JSON %s",
            tname, tail, fd->name, *start == '{' ? "object" : "array");
    j->p = start;
    int rc = skip_value(j, 0);
    if (rc) {
        if (j->err)
            j->err->field = f;
        return rc;
    }
    char shown[RILL_CODEC_SHOW_MAX * 4 + 8];
    return rill__codec_fail(j->err, col_of(j, start), f, "expected %s%s for field '%s', got %s%s",
                            tname, tail, fd->name,
                            rill__codec_show(shown, sizeof shown, start, (size_t)(j->p - start)),
                            range_rc == RILL_ERANGE ? " (out of range)" : "");
}

/* A SQL kind's value at start: a JSON number or string, its text parsed by the shared codec. */
static int parse_sql_field(jp *j, rill_row *row, int f, const char *start, bool is_number)
{
    const rill__field *fd = &j->d->schema->fields[f];
    const char *s;
    size_t n;
    int rc;
    if (is_number && !rill__codec_sql_quoted(fd)) {
        bool is_int;
        if ((rc = scan_number(j, f, &is_int)))
            return rc;
        s = start;
        n = (size_t)(j->p - start);
    } else if (*start == '"') {
        if ((rc = parse_string(j, f, &s, &n)))
            return rc;
    } else if (is_number && fd->type != RILL_T_BYTES) { /* epoch units or days as a number */
        bool is_int;
        if ((rc = scan_number(j, f, &is_int)))
            return rc;
        s = start;
        n = (size_t)(j->p - start);
    } else {
        return mismatch(j, f, start, 0);
    }
    if (fd->type == RILL_T_BYTES && s == j->d->scratch.data) {
        /* the string was unescaped into the decoder's scratch, which BYTES decodes into too */
        char *copy = rill__xstrndup(s, n);
        rc = rill__codec_parse_sql(fd, row, f, copy, n, &j->d->scratch);
        free(copy);
    } else {
        rc = rill__codec_parse_sql(fd, row, f, s, n, &j->d->scratch);
    }
    if (RILL_UNLIKELY(rc == RILL_ELIMIT)) {
        rill__codec_fail(j->err, col_of(j, start), f,
                         "field '%s': no room for the value in the batch", fd->name);
        return RILL_ELIMIT;
    }
    if (RILL_UNLIKELY(rc))
        return mismatch(j, f, start, rc);
    return 0;
}

/*
 * Flink's json format reads a value of another JSON kind than its column's through Jackson's
 * asText (JsonToRowDataConverters): a number into a STRING column is its text, a string into a
 * number column is parsed, and so on. value_text gives that text for the value at j->p and
 * moves past it: a string's characters, an integer's digits, another number as Java's
 * Double.toString, true/false, an object or array as its JSON text without white space. *kind
 * says which it was: 's', 'i', 'd', 'b', 'c'. The text is in the line or d->scratch.
 */
static int value_text(jp *j, int f, const char **s_out, size_t *n_out, char *kind)
{
    const char *start = j->p;
    char c = *start;
    int rc;
    rill__buf *sb = &j->d->scratch;
    if (c == '"') {
        *kind = 's';
        return parse_string(j, f, s_out, n_out);
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        bool is_int;
        if ((rc = scan_number(j, f, &is_int)))
            return rc;
        size_t n = (size_t)(j->p - start);
        *kind = is_int ? 'i' : 'd';
        if (is_int) {
            bool zero = n == 2 && start[0] == '-' && start[1] == '0'; /* Jackson's -0 is 0 */
            *s_out = zero ? start + 1 : start;
            *n_out = zero ? 1 : n;
            return 0;
        }
        double d;
        if (rill__parse_f64(start, n, &d) == RILL_ERANGE)
            d = start[0] == '-' ? -HUGE_VAL : HUGE_VAL;
        sb->len = 0;
        rill__java_number(sb, d, false);
        *s_out = sb->data;
        *n_out = sb->len;
        return 0;
    }
    if (literal(j, "true", 4) || literal(j, "false", 5)) {
        *kind = 'b';
        *s_out = start;
        *n_out = (size_t)(j->p - start);
        return 0;
    }
    if ((rc = skip_value(j, 0))) {
        if (j->err)
            j->err->field = f;
        return rc;
    }
    *kind = 'c'; /* an object or array: its text, white space outside strings taken out */
    sb->len = 0;
    bool in_str = false;
    for (const char *p = start; p < j->p; p++) {
        if (in_str && *p == '\\') {
            rill__buf_append(sb, p, 2);
            p++;
            continue;
        }
        if (*p == '"')
            in_str = !in_str;
        else if (!in_str && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
            continue;
        rill__buf_putc(sb, *p);
    }
    *s_out = sb->data;
    *n_out = sb->len;
    return 0;
}

/* Java's String.trim: characters up to U+0020 off both ends. */
static void java_trim(const char **s, size_t *n)
{
    while (*n > 0 && (unsigned char)(*s)[0] <= ' ')
        (*s)++, (*n)--;
    while (*n > 0 && (unsigned char)(*s)[*n - 1] <= ' ')
        (*n)--;
}

/* An integer field of range [lo, hi] as Flink reads one: a JSON integer, a number with a
 * fraction when the column is INT or BIGINT (Jackson's canConvertToInt/Long, then asInt/Long:
 * truncated toward zero, when within the range), or text that Integer/Long.parseInt reads
 * (after trimming). TINYINT and SMALLINT parse the value's text, so 4.0 is an error there. */
static int parse_int_field(jp *j, rill_row *row, int f, const char *start, int64_t lo, int64_t hi,
                           bool fraction_ok)
{
    const char *s;
    size_t n;
    char kind;
    int rc = value_text(j, f, &s, &n, &kind);
    if (rc)
        return rc;
    int64_t v;
    if (kind == 'd' && fraction_ok) {
        double d;
        rc = rill__parse_f64(start, (size_t)(j->p - start), &d);
        /* Java's (int)/(long) of a double in range: toward zero; 2^63 is Long.MAX_VALUE */
        if (rc || !(d >= (double)lo && d <= (double)hi + (hi == INT64_MAX ? 1.0 : 0.0)))
            return mismatch(j, f, start, rc ? rc : RILL_ERANGE);
        v = d >= 9223372036854775807.0 ? INT64_MAX : (int64_t)d;
    } else {
        if (kind == 's')
            java_trim(&s, &n);
        if (kind == 'c' || kind == 'b' || kind == 'd')
            return mismatch(j, f, start, 0);
        rc = rill__parse_i64(s, n, &v);
        if (rc == 0 && (v < lo || v > hi))
            rc = RILL_ERANGE;
        if (rc)
            return mismatch(j, f, start, rc);
    }
    rill_row_set_i64(row, f, v);
    return 0;
}

/* A DOUBLE or FLOAT: a number, or text that Double.parseDouble reads (after trimming). */
static int parse_float_field(jp *j, rill_row *row, int f, const char *start, bool is_float)
{
    const char *s;
    size_t n;
    char kind;
    int rc = value_text(j, f, &s, &n, &kind);
    if (rc)
        return rc;
    if (kind == 'i' || kind == 'd') {
        s = start;
        n = (size_t)(j->p - start);
    } else if (kind == 's') {
        java_trim(&s, &n);
    } else {
        return mismatch(j, f, start, 0);
    }
    double d;
    size_t k = n && (s[0] == '-' || s[0] == '+');
    if (n - k == 3 && !memcmp(s + k, "NaN", 3))
        d = nan("");
    else if (n - k == 8 && !memcmp(s + k, "Infinity", 8))
        d = s[0] == '-' ? -HUGE_VAL : HUGE_VAL;
    else if ((rc = rill__parse_f64(s, n, &d)) == RILL_ERANGE)
        d = s[0] == '-' ? -HUGE_VAL : HUGE_VAL; /* Java's: out of range is infinite */
    else if (rc)
        return mismatch(j, f, start, rc);
    if (is_float)
        rill_row_set_f32(row, f, (float)d);
    else
        rill_row_set_f64(row, f, d);
    return 0;
}

/* Reads the value at j->p into field f of row. */
static int parse_field(jp *j, rill_row *row, int f)
{
    const rill__field *fd = &j->d->schema->fields[f];
    const char *start = j->p;
    if (start >= j->e)
        return fail_at(j, start, f, "a value");
    char c = *start;
    int rc;
    if (c == 'n' && literal(j, "null", 4)) {
        if (RILL_LIKELY(fd->nullable))
            return 0; /* the row starts all NULL */
        char expect[96];
        return rill__codec_fail(j->err, col_of(j, start), f,
                                "expected %s for NOT NULL field '%s', got null",
                                rill__codec_is_sql_kind(fd)
                                    ? rill__codec_expect(fd, expect, sizeof expect)
                                    : rill_type_name(fd->type),
                                fd->name);
    }
    bool is_number = c == '-' || (c >= '0' && c <= '9');
    switch (fd->type) {
    case RILL_T_BOOL: {
        if (literal(j, "true", 4)) {
            rill_row_set_bool(row, f, true);
            return 0;
        }
        if (literal(j, "false", 5)) {
            rill_row_set_bool(row, f, false);
            return 0;
        }
        /* Flink's: Boolean.parseBoolean of the value's text, so anything but "true" is false */
        const char *s;
        size_t n;
        char kind;
        if ((rc = value_text(j, f, &s, &n, &kind)))
            return rc;
        if (kind == 's')
            java_trim(&s, &n);
        rill_row_set_bool(row, f, kind != 'c' && n == 4 && !strncasecmp(s, "true", 4));
        return 0;
    }
    case RILL_T_INT64:
        return parse_int_field(j, row, f, start, INT64_MIN, INT64_MAX, true);
    case RILL_T_TIMESTAMP: {
        int64_t v;
        if (RILL_UNLIKELY(fd->precision != 3))
            return parse_sql_field(j, row, f, start, is_number);
        if (is_number) {
            bool is_int;
            if ((rc = scan_number(j, f, &is_int)))
                return rc;
            if (!is_int)
                return mismatch(j, f, start, 0);
            rc = rill__parse_i64(start, (size_t)(j->p - start), &v);
        } else if (c == '"') {
            const char *s;
            size_t n;
            if ((rc = parse_string(j, f, &s, &n)))
                return rc;
            rc = rill__codec_parse_ts(s, n, &v);
        } else {
            return mismatch(j, f, start, 0);
        }
        if (RILL_UNLIKELY(rc))
            return mismatch(j, f, start, rc);
        rill_row_set_i64(row, f, v);
        return 0;
    }
    case RILL_T_DOUBLE:
        if (is_number) { /* the common case */
            double v;
            bool is_int;
            if ((rc = scan_number(j, f, &is_int)))
                return rc;
            if (RILL_UNLIKELY(rc = rill__parse_f64(start, (size_t)(j->p - start), &v))) {
                j->p = start;
                return parse_float_field(j, row, f, start, false);
            }
            rill_row_set_f64(row, f, v);
            return 0;
        }
        return parse_float_field(j, row, f, start, false);
    case RILL_T_FLOAT:
        return parse_float_field(j, row, f, start, true);
    case RILL_T_INT8:
        return parse_int_field(j, row, f, start, INT8_MIN, INT8_MAX, false);
    case RILL_T_INT16:
        return parse_int_field(j, row, f, start, INT16_MIN, INT16_MAX, false);
    case RILL_T_INT32:
    case RILL_T_INTERVAL_YM:
        return parse_int_field(j, row, f, start, INT32_MIN, INT32_MAX, true);
    case RILL_T_STRING: {
        const char *s;
        size_t n;
        char kind;
        if ((rc = c == '"' ? parse_string(j, f, &s, &n) : value_text(j, f, &s, &n, &kind)))
            return rc;
        if (RILL_UNLIKELY(rill_row_set_str(row, f, s, n) != 0)) {
            rill__codec_fail(j->err, col_of(j, start), f,
                             "field '%s': no room for the string in the batch", fd->name);
            return RILL_ELIMIT;
        }
        return 0;
    }
    case RILL_T_DECIMAL: {
        /* new BigDecimal(text), then DecimalData.fromBigDecimal: NULL when it does not fit */
        const char *s;
        size_t n;
        char kind;
        if ((rc = value_text(j, f, &s, &n, &kind)))
            return rc;
        if (kind == 'd') { /* the number as written (Jackson reads floats as BigDecimal then) */
            s = start;
            n = (size_t)(j->p - start);
        } else if (kind != 's' && kind != 'i') {
            return mismatch(j, f, start, 0);
        }
        rill__i128 x;
        rc = rill__dec_parse(s, n, fd->precision, fd->scale, &x);
        if (rc == RILL_ERANGE)
            return 0; /* NULL */
        if (rc)
            return mismatch(j, f, start, rc);
        return rill__row_set_dec(row, f, x);
    }
    default:
        return parse_sql_field(j, row, f, start, is_number);
    }
}

/* Marks every leaf under the ROW path p (n bytes, without the trailing dot) as given: a null
 * nested object leaves them NULL. */
static void mark_nested(json_impl *im, const char *p, size_t n)
{
    for (int f = 0; f < im->schema->n_fields; f++) {
        const char *name = im->schema->fields[f].name;
        if (im->name_len[f] > n && !memcmp(name, p, n) && name[n] == '.')
            im->seen[f] = im->gen;
    }
}

/* The members of the object at j->p (at its '{'), whose keys are the fields under im->path
 * (empty at the top level); a key that names a nested ROW column holds an object read the same
 * way. Leaves j->p after the '}'. */
static int parse_members(jp *j, json_impl *im, rill_row *row, int depth)
{
    rill__decoder *d = j->d;
    size_t base = im->path.len;
    int rc;
    j->p++;
    skip_ws(j);
    if (j->p < j->e && *j->p == '}') {
        j->p++;
        return 0;
    }
    for (;;) {
        if (j->p >= j->e || *j->p != '"')
            return fail_at(j, j->p, -1, "a key string");
        const char *key_start = j->p, *k;
        size_t kn;
        if ((rc = parse_string(j, -1, &k, &kn)))
            return rc;
        if (base) { /* a nested object: the key's full path */
            im->path.len = base;
            rill__buf_append(&im->path, k, kn);
            k = im->path.data;
            kn = im->path.len;
        }
        skip_ws(j);
        if (j->p >= j->e || *j->p != ':')
            return fail_at(j, j->p, -1, "':' after the key");
        j->p++;
        skip_ws(j);
        int f = lookup(im, k, kn), pf = -1;
        if (f >= 0 && d->opts.given && d->opts.given[f])
            f = -1; /* a partition column's: not in the line (Flink's format has no such key) */
        if (f < 0 && im->n_prefixes && (pf = prefix_of(im, k, kn)) >= 0) {
            im->prefix_seen[pf] = im->gen;
            if (j->p < j->e && *j->p == '{' && depth < JSON_MAX_DEPTH) {
                if (!base) {
                    im->path.len = 0;
                    rill__buf_append(&im->path, k, kn);
                }
                rill__buf_putc(&im->path, '.');
                rc = parse_members(j, im, row, depth + 1);
            } else if (literal(j, "null", 4)) {
                mark_nested(im, k, kn);
                rc = 0;
            } else {
                char buf[16];
                rc = rill__codec_fail(j->err, col_of(j, j->p), -1,
                                      "expected a JSON object for the ROW column '%.*s', got %s",
                                      (int)kn, k, got_char(j, j->p, buf, sizeof buf));
            }
        } else if (f < 0) {
            rc = skip_value(j, 0);
        } else if (RILL_UNLIKELY(im->seen[f] == im->gen)) {
            return rill__codec_fail(j->err, col_of(j, key_start), f,
                                    "expected each key once, got \"%s\" twice",
                                    d->schema->fields[f].name);
        } else {
            im->seen[f] = im->gen;
            rc = parse_field(j, row, f);
        }
        im->path.len = base;
        if (rc)
            return rc;
        skip_ws(j);
        if (j->p < j->e && *j->p == ',') {
            j->p++;
            skip_ws(j);
            continue;
        }
        if (j->p < j->e && *j->p == '}') {
            j->p++;
            return 0;
        }
        return fail_at(j, j->p, -1, "',' or '}' after a value");
    }
}

int rill__json_decode(rill__decoder *d, const char *line, size_t len, rill_row *row,
                      rill__parse_err *err)
{
    json_impl *im = d->impl;
    jp j = {.line = line, .p = line, .e = line + len, .d = d, .err = err};
    if (RILL_UNLIKELY(++im->gen == 0)) {
        memset(im->seen, 0,
               (size_t)(im->schema->n_fields ? im->schema->n_fields : 1) * sizeof *im->seen);
        im->gen = 1;
    }
    int rc;
    skip_ws(&j);
    if (j.p >= j.e || *j.p != '{')
        return fail_at(&j, j.p, -1, "'{' to start a JSON object");
    im->path.len = 0;
    if ((rc = parse_members(&j, im, row, 0)))
        return rc;
    const char *close = j.p - 1;
    skip_ws(&j);
    if (RILL_UNLIKELY(j.p < j.e))
        return fail_at(&j, j.p, -1, "end of line after the JSON object");
    if (RILL_UNLIKELY(d->opts.fail_on_missing)) {
        for (int f = 0; f < im->schema->n_fields; f++)
            if (im->seen[f] != im->gen && !(d->opts.given && d->opts.given[f])) {
                size_t n;
                const char *name = missing_name(im, f, &n);
                return rill__codec_fail(err, col_of(&j, close), f,
                                        "Could not find field with name '%.*s'.", (int)n, name);
            }
    }
    for (int i = 0; i < im->n_required; i++) {
        int f = im->required[i];
        if (RILL_UNLIKELY(im->seen[f] != im->gen) && !(d->opts.given && d->opts.given[f]))
            return rill__codec_fail(err, col_of(&j, close), f,
                                    "expected key \"%s\" for NOT NULL field '%s', found none",
                                    d->schema->fields[f].name, d->schema->fields[f].name);
    }
    return 0;
}

/* ---- encoding ------------------------------------------------------------------------------ */

static void json_put_str(rill__buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (n == 0) { /* s may be NULL then */
        rill__buf_append(out, "\"\"", 2);
        return;
    }
    rill__buf_reserve(out, n + 2);
    rill__buf_putc(out, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (RILL_LIKELY(c >= 0x20 && c != '"' && c != '\\'))
            continue;
        rill__buf_append(out, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t en = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            en = 6;
            break;
        }
        rill__buf_append(out, esc, en);
    }
    rill__buf_append(out, s + run, n - run);
    rill__buf_putc(out, '"');
}

/* A SQL kind's value: a number, or a string that needs no escaping. */
static void json_put_sql(const rill__field *fd, const rill_row *row, int i, rill__buf *out)
{
    if (fd->type == RILL_T_FLOAT && !isfinite(rill_row_f32(row, i))) {
        rill__buf_append(out, "null", 4); /* JSON has no NaN or Infinity */
        return;
    }
    bool quoted = rill__codec_sql_quoted(fd);
    if (quoted)
        rill__buf_putc(out, '"');
    rill__codec_put_sql(fd, row, i, out);
    if (quoted)
        rill__buf_putc(out, '"');
}

void rill__encode_json_row(const rill_schema *s, const rill_row *row, rill__buf *out)
{
    rill__buf_putc(out, '{');
    for (int i = 0; i < s->n_fields; i++) {
        if (i)
            rill__buf_putc(out, ',');
        json_put_str(out, s->fields[i].name, strlen(s->fields[i].name));
        rill__buf_putc(out, ':');
        if (rill_row_is_null(row, i)) {
            rill__buf_append(out, "null", 4);
            continue;
        }
        switch (s->fields[i].type) {
        case RILL_T_BOOL:
            if (rill_row_bool(row, i))
                rill__buf_append(out, "true", 4);
            else
                rill__buf_append(out, "false", 5);
            break;
        case RILL_T_TIMESTAMP:
            if (RILL_UNLIKELY(s->fields[i].precision != 3 || s->sql_text)) {
                json_put_sql(&s->fields[i], row, i, out);
                break;
            }
            /* TIMESTAMP(3) is epoch milliseconds, as it always was */
            /* fall through */
        case RILL_T_INT64:
            rill__codec_put_i64(out, rill_row_i64(row, i));
            break;
        case RILL_T_DOUBLE: {
            double v = rill_row_f64(row, i);
            if (!isfinite(v)) {
                rill__buf_append(out, "null", 4); /* JSON has no NaN or Infinity */
                break;
            }
            char num[40];
            int n = rill__format_f64(num, sizeof num, v);
            rill__buf_append(out, num, (size_t)n);
            break;
        }
        case RILL_T_STRING: {
            size_t n;
            const char *p = rill_row_str(row, i, &n);
            json_put_str(out, p, n);
            break;
        }
        default:
            json_put_sql(&s->fields[i], row, i, out);
            break;
        }
    }
    rill__buf_append(out, "}\n", 2);
}
