/*
 * csv.c - data layer: the CSV codec (RFC 4180), the decoder entry points that dispatch to
 * CSV or JSON lines, and the helpers both codecs share (error text, timestamps).
 */
#include <stdlib.h>
#include <string.h>

#include "codec_int.h"

/* ---- shared helpers ------------------------------------------------------------------------ */

int rill__codec_fail(rill__parse_err *err, long column, int field, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->what, sizeof err->what, fmt, ap);
        va_end(ap);
        err->column = column;
        err->field = field;
    }
    return RILL_EPARSE;
}

const char *rill__codec_show(char *buf, size_t cap, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    size_t lim = n > RILL_CODEC_SHOW_MAX ? RILL_CODEC_SHOW_MAX : n;
    for (size_t i = 0; i < lim && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f) {
            buf[o++] = (char)c;
        } else {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 15];
        }
    }
    if (lim < n && o + 4 <= cap) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

int rill__codec_parse_iso8601(const char *s, size_t n, int64_t *ms_out)
{
    int64_t secs, nanos;
    if (!rill__codec_parse_datetime(s, n, &secs, &nanos) || secs > INT64_MAX / 1000 - 1 ||
        secs < INT64_MIN / 1000 + 1)
        return RILL_EPARSE;
    *ms_out = secs * 1000 + nanos / 1000000; /* digits past the millisecond are dropped */
    return 0;
}

int rill__codec_parse_ts(const char *s, size_t n, int64_t *ms_out)
{
    int rc = rill__parse_i64(s, n, ms_out);
    if (rc != RILL_EPARSE)
        return rc;
    return rill__codec_parse_iso8601(s, n, ms_out);
}

/* ---- decoder entry points ------------------------------------------------------------------ */

void rill__decoder_init(rill__decoder *d, const rill_schema *schema, rill_format format, char delim)
{
    memset(d, 0, sizeof *d);
    d->schema = schema;
    d->format = format ? format : RILL_FMT_CSV;
    d->delim = delim ? delim : ',';
    d->opts.quote = '"';
    /* a quote or line break as the delimiter cannot be told apart: the caller checks options */
    RILL_ASSERT(d->delim != '"' && d->delim != '\n' && d->delim != '\r');
    if (d->format == RILL_FMT_JSON) {
        d->impl = rill__json_impl_new(schema);
        return;
    }
    d->n_cols = schema->n_fields;
    d->col_field = rill__xmalloc((size_t)(d->n_cols ? d->n_cols : 1) * sizeof *d->col_field);
    for (int i = 0; i < d->n_cols; i++)
        d->col_field[i] = i;
}

void rill__decoder_columns(rill__decoder *d, int n_cols, const int *leaves)
{
    free(d->col_field);
    d->n_cols = n_cols;
    d->col_field = rill__xmalloc((size_t)(n_cols ? n_cols : 1) * sizeof *d->col_field);
    for (int i = 0; i < n_cols; i++)
        d->col_field[i] = -1;
    for (int i = 0; i < d->schema->n_fields; i++)
        if (leaves[i] >= 0)
            d->col_field[leaves[i]] = i;
}

void rill__decoder_set_opts(rill__decoder *d, const rill__decode_opts *opts)
{
    d->opts = *opts;
    if (!d->opts.quote)
        d->opts.quote = '"';
    RILL_ASSERT(d->delim != d->opts.quote);
}

void rill__decoder_layout(rill__decoder *d, int n_cols, const int *col, const int *elem,
                          const int *n_elem)
{
    int n_fields = d->schema->n_fields;
    free(d->col_field);
    free(d->col_nelem);
    free(d->col_elem0);
    free(d->elem_field);
    d->n_cols = n_cols;
    size_t nc = (size_t)(n_cols ? n_cols : 1);
    d->col_field = rill__xmalloc(nc * sizeof *d->col_field);
    d->col_nelem = rill__xcalloc(nc, sizeof *d->col_nelem);
    d->col_elem0 = rill__xcalloc(nc, sizeof *d->col_elem0);
    int total = 0;
    for (int c = 0; c < n_cols; c++) {
        d->col_field[c] = -1;
        d->col_nelem[c] = n_elem[c];
        d->col_elem0[c] = total;
        total += n_elem[c];
    }
    d->elem_field = rill__xmalloc((size_t)(total ? total : 1) * sizeof *d->elem_field);
    for (int k = 0; k < total; k++)
        d->elem_field[k] = -1;
    for (int f = 0; f < n_fields; f++) {
        if (col[f] < 0)
            continue;
        if (elem[f] >= 0)
            d->elem_field[d->col_elem0[col[f]] + elem[f]] = f;
        else
            d->col_field[col[f]] = f;
    }
}

void rill__decoder_close(rill__decoder *d)
{
    if (!d)
        return;
    free(d->col_field);
    d->col_field = NULL;
    free(d->col_nelem);
    free(d->col_elem0);
    free(d->elem_field);
    d->col_nelem = d->col_elem0 = d->elem_field = NULL;
    rill__buf_free(&d->scratch);
    if (d->impl)
        rill__json_impl_free(d->impl);
    d->impl = NULL;
}

static int csv_decode(rill__decoder *d, const char *line, size_t len, rill_row *row,
                      rill__parse_err *err);

int rill__decode_line(rill__decoder *d, const char *line, size_t len, rill_batch *b,
                      rill__parse_err *err)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    size_t bytes0 = b->n_bytes;
    rill_row row = rill__batch_append(b);
    int rc = d->format == RILL_FMT_JSON ? rill__json_decode(d, line, len, &row, err)
                                        : csv_decode(d, line, len, &row, err);
    if (RILL_UNLIKELY(rc)) {
        /* the failed row's strings are only referenced by it: give their bytes back too */
        rill__batch_pop(b);
        b->n_bytes = bytes0;
    }
    return rc;
}

/* ---- CSV decoding -------------------------------------------------------------------------- */

/*
 * Reads the field that starts at line[*pos]: its text in *s and *n (pointing into the line, or
 * into d->scratch when "" escapes had to be undone), whether it was quoted, and whether a
 * delimiter follows (*more). Advances *pos past the delimiter. 0 or RILL_EPARSE.
 */
static int csv_field(rill__decoder *d, const char *line, size_t len, size_t *pos, const char **s,
                     size_t *n, bool *quoted, bool *more, rill__parse_err *err)
{
    size_t p = *pos;
    char delim = d->delim, quote = d->opts.quote;
    if (p < len && line[p] == quote) {
        size_t start = p + 1, q = start, n_esc = 0;
        for (;;) {
            if (q >= len)
                return rill__codec_fail(err, (long)p + 1, -1,
                                        "expected a closing quote for the field that starts at "
                                        "column %ld, got end of line",
                                        (long)p + 1);
            char c = line[q];
            if (c == quote) {
                if (q + 1 < len && line[q + 1] == quote) {
                    n_esc++;
                    q += 2;
                    continue;
                }
                break;
            }
            q++; /* line breaks inside quotes are data (RFC 4180) */
        }
        /* line[q] is the closing quote */
        if (q + 1 < len && line[q + 1] != delim) {
            char shown[8];
            return rill__codec_fail(err, (long)q + 2, -1,
                                    "expected a delimiter or end of line after the closing quote, "
                                    "got '%s'",
                                    rill__codec_show(shown, sizeof shown, line + q + 1, 1));
        }
        if (n_esc == 0) {
            *s = line + start;
            *n = q - start;
        } else {
            rill__buf *sb = &d->scratch;
            sb->len = 0;
            rill__buf_reserve(sb, q - start);
            for (size_t i = start; i < q; i++) {
                sb->data[sb->len++] = line[i];
                if (line[i] == quote)
                    i++;
            }
            *s = sb->data;
            *n = sb->len;
        }
        *quoted = true;
        *more = q + 1 < len;
        *pos = q + 2;
        return 0;
    }
    const char *e = p < len ? memchr(line + p, delim, len - p) : NULL;
    size_t end = e ? (size_t)(e - line) : len;
    *s = line + p;
    *n = end - p;
    *quoted = false;
    *more = e != NULL;
    *pos = end + 1;
    return 0;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The message of a value that failed (rc), or of an empty NOT NULL field (s NULL). Kept out
 * of csv_set: the error path's buffers stay off the per-value path's stack frame. */
__attribute__((noinline, cold)) static int csv_bad_value(const rill__field *fd, int f,
                                                         const char *s, size_t n, long column,
                                                         int rc, rill__parse_err *err)
{
    char shown[RILL_CODEC_SHOW_MAX * 4 + 8], expect[96];
    bool sql = rill__codec_is_sql_kind(fd);
    const char *tname = sql ? rill__codec_expect(fd, expect, sizeof expect)
                            : rill_type_name(fd->type);
    if (!s)
        return rill__codec_fail(err, column, f,
                                "expected %s for NOT NULL field '%s', got an empty field", tname,
                                fd->name);
    if (rc == RILL_ELIMIT) {
        rill__codec_fail(err, column, f, "field '%s': no room for the %s in the batch", fd->name,
                         fd->type == RILL_T_STRING ? "string" : "value");
        return RILL_ELIMIT;
    }
    return rill__codec_fail(
        err, column, f, "expected %s%s for field '%s', got \"%s\"%s", tname,
        fd->type == RILL_T_TIMESTAMP && !sql ? " (epoch ms or ISO-8601)" : "", fd->name,
        rill__codec_show(shown, sizeof shown, s, n), rc == RILL_ERANGE ? " (out of range)" : "");
}

/* Sets field f of row from CSV text. column is where the field starts in the line. */
static int csv_set(rill__decoder *d, rill_row *row, int f, const char *s, size_t n, bool quoted,
                   long column, rill__parse_err *err)
{
    const rill__field *fd = &d->schema->fields[f];
    const char *nl = d->opts.null_literal;
    if (RILL_UNLIKELY(nl != NULL) && strlen(nl) == n && !memcmp(nl, s, n))
        goto empty;
    if (fd->type == RILL_T_STRING) {
        if (n == 0 && !quoted)
            goto empty;
        if (RILL_UNLIKELY(rill_row_set_str(row, f, s, n) != 0))
            return csv_bad_value(fd, f, s, n, column, RILL_ELIMIT, err);
        return 0;
    }
    const char *t = s;
    size_t tn = n;
    while (tn > 0 && is_blank(t[0]))
        t++, tn--;
    while (tn > 0 && is_blank(t[tn - 1]))
        tn--;
    if (tn == 0) {
        if (quoted && fd->type == RILL_T_BYTES) /* "" is empty bytes, as for strings */
            return rill_row_set_bytes(row, f, "", 0) ? RILL_ELIMIT : 0;
        goto empty;
    }
    int rc;
    switch (fd->type) {
    case RILL_T_BOOL: {
        bool v;
        if ((rc = rill__parse_bool(t, tn, &v)) == 0)
            rill_row_set_bool(row, f, v);
        break;
    }
    case RILL_T_INT64: {
        int64_t v;
        if ((rc = rill__parse_i64(t, tn, &v)) == 0)
            rill_row_set_i64(row, f, v);
        break;
    }
    case RILL_T_DOUBLE: {
        double v;
        if ((rc = rill__parse_f64(t, tn, &v)) == 0)
            rill_row_set_f64(row, f, v);
        break;
    }
    case RILL_T_TIMESTAMP: {
        int64_t v;
        if (RILL_UNLIKELY(fd->precision != 3)) {
            rc = rill__codec_parse_sql(fd, row, f, t, tn, &d->scratch);
            break;
        }
        if ((rc = rill__codec_parse_ts(t, tn, &v)) == 0)
            rill_row_set_ts(row, f, v);
        break;
    }
    default:
        rc = rill__codec_parse_sql(fd, row, f, t, tn, &d->scratch);
        break;
    }
    if (RILL_LIKELY(rc == 0))
        return 0;
    return csv_bad_value(fd, f, s, n, column, rc, err);
empty:
    if (RILL_LIKELY(fd->nullable))
        return 0; /* the row starts all NULL */
    return csv_bad_value(fd, f, NULL, 0, column, 0, err);
}

int rill__decode_field_text(rill__decoder *d, rill_batch *b, int f, const char *s, size_t n,
                            rill__parse_err *err)
{
    RILL_ASSERT(b->n_rows > 0);
    rill_row row = rill__batch_row(b, b->n_rows - 1);
    const char *nl = d->opts.null_literal;
    d->opts.null_literal = NULL; /* the text is no field of the line */
    int rc = csv_set(d, &row, f, s, n, false, 1, err);
    d->opts.null_literal = nl;
    return rc;
}

/* Counts the columns from *pos on, for the "too many columns" message. */
static int csv_count_rest(rill__decoder *d, const char *line, size_t len, size_t pos, int *count,
                          rill__parse_err *err)
{
    bool more = true;
    while (more) {
        const char *s;
        size_t n;
        bool quoted;
        (*count)++; /* a malformed column is a column too */
        int rc = csv_field(d, line, len, &pos, &s, &n, &quoted, &more, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* The values of ROW column c (its text s, n bytes at column `column`) into their fields. */
static int csv_row_column(rill__decoder *d, rill_row *row, int c, const char *s, size_t n,
                          long column, rill__parse_err *err)
{
    int k = d->col_nelem[c];
    const int *fields = d->elem_field + d->col_elem0[c];
    if (n == 0)
        return 0; /* a NULL row: its fields stay NULL */
    const char *sep = d->opts.array_delim ? d->opts.array_delim : ";";
    size_t sl = strlen(sep);
    const char *p = s, *e = s + n;
    int j = 0;
    for (; j < k && p <= e; j++) {
        const char *q = sl ? memmem(p, (size_t)(e - p), sep, sl) : NULL;
        const char *end = q ? q : e;
        int rc;
        if (fields[j] >= 0 &&
            (rc = csv_set(d, row, fields[j], p, (size_t)(end - p), false,
                          column + (long)(p - s), err)))
            return rc;
        if (!q) {
            j++;
            break;
        }
        p = q + sl;
    }
    if (j < k && !d->opts.short_rows_null) /* Flink's validateArity */
        return rill__codec_fail(err, column, fields[j],
                                "Row length mismatch. %d fields expected but was %d.", k, j);
    return 0;
}

static int csv_decode(rill__decoder *d, const char *line, size_t len, rill_row *row,
                      rill__parse_err *err)
{
    size_t pos = 0;
    int col = 0;
    bool more = true;
    while (more) {
        size_t start = pos;
        if (RILL_UNLIKELY(col >= d->n_cols)) {
            int found = col;
            bool exact = csv_count_rest(d, line, len, pos, &found, err) == 0;
            return rill__codec_fail(err, (long)start + 1, -1,
                                    "too many columns: expected %d, found %s%d", d->n_cols,
                                    exact ? "" : "at least ", found);
        }
        const char *s;
        size_t n;
        bool quoted;
        int f = d->col_field[col++];
        int rc = csv_field(d, line, len, &pos, &s, &n, &quoted, &more, err);
        if (RILL_UNLIKELY(rc)) {
            if (err)
                err->field = f;
            return rc;
        }
        if (RILL_UNLIKELY(d->col_nelem != NULL) && d->col_nelem[col - 1] > 0) {
            if ((rc = csv_row_column(d, row, col - 1, s, n, (long)start + 1, err)))
                return rc;
            continue;
        }
        if (f >= 0 && RILL_UNLIKELY(rc = csv_set(d, row, f, s, n, quoted, (long)start + 1, err)))
            return rc;
    }
    if (RILL_UNLIKELY(col < d->n_cols) && d->opts.short_rows_null) {
        for (; col < d->n_cols; col++) { /* the missing columns are NULL (Flink's, when it
                                          * ignores parse errors) */
            int f = d->col_field[col];
            if (f >= 0 && !d->schema->fields[f].nullable)
                return csv_bad_value(&d->schema->fields[f], f, NULL, 0, (long)len + 1, 0, err);
        }
        return 0;
    }
    if (RILL_UNLIKELY(col < d->n_cols))
        return rill__codec_fail(err, (long)len + 1, d->col_field[col],
                                "too few columns: expected %d, found %d", d->n_cols, col);
    return 0;
}

int rill__decoder_header(rill__decoder *d, const char *line, size_t len, rill__parse_err *err)
{
    if (d->format == RILL_FMT_JSON)
        return 0;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    size_t pos = 0;
    if (len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3))
        pos = 3; /* UTF-8 byte order mark */
    const rill_schema *sc = d->schema;
    int n_fields = sc->n_fields;
    int *field_col = rill__xmalloc((size_t)(n_fields ? n_fields : 1) * sizeof *field_col);
    for (int i = 0; i < n_fields; i++)
        field_col[i] = -1;
    int *cols = NULL;
    size_t cap = 0;
    int n_cols = 0, rc = 0;
    bool more = true;
    char shown[RILL_CODEC_SHOW_MAX * 4 + 8];
    while (more) {
        size_t start = pos;
        const char *s;
        size_t n;
        bool quoted;
        rc = csv_field(d, line, len, &pos, &s, &n, &quoted, &more, err);
        if (rc)
            goto out;
        while (n > 0 && is_blank(s[0]))
            s++, n--;
        while (n > 0 && is_blank(s[n - 1]))
            n--;
        int f = -1;
        for (int i = 0; i < n_fields; i++)
            if (strlen(sc->fields[i].name) == n && !memcmp(sc->fields[i].name, s, n)) {
                f = i;
                break;
            }
        if (f >= 0 && field_col[f] >= 0) {
            rc = rill__codec_fail(err, (long)start + 1, f,
                                  "expected each column once in the header, got '%s' twice "
                                  "(columns %d and %d)",
                                  rill__codec_show(shown, sizeof shown, s, n), field_col[f] + 1,
                                  n_cols + 1);
            goto out;
        }
        if (f >= 0)
            field_col[f] = n_cols;
        rill__grow((void **)&cols, &cap, (size_t)n_cols + 1, sizeof *cols);
        cols[n_cols++] = f;
    }
    for (int i = 0; i < n_fields; i++) {
        if (field_col[i] < 0 && !sc->fields[i].nullable) {
            rc = rill__codec_fail(err, 1, i,
                                  "expected a column for NOT NULL field '%s' in the header, "
                                  "found none in \"%s\"",
                                  sc->fields[i].name,
                                  rill__codec_show(shown, sizeof shown, line, len));
            goto out;
        }
    }
    free(d->col_field);
    d->col_field = cols;
    d->n_cols = n_cols;
    cols = NULL;
out:
    free(cols);
    free(field_col);
    return rc;
}

/* ---- CSV encoding -------------------------------------------------------------------------- */

static void csv_put_str(rill__buf *out, const char *s, size_t n, char delim)
{
    if (n == 0) {
        rill__buf_append(out, "\"\"", 2); /* "" keeps an empty string apart from NULL */
        return;
    }
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++) {
        char c = s[i];
        quote = c == delim || c == '"' || c == '\n' || c == '\r';
    }
    if (!quote) {
        rill__buf_append(out, s, n);
        return;
    }
    rill__buf_reserve(out, n + 2);
    rill__buf_putc(out, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            rill__buf_append(out, s + run, i + 1 - run); /* up to and with the quote */
            rill__buf_putc(out, '"');
            run = i + 1;
        }
    }
    rill__buf_append(out, s + run, n - run);
    rill__buf_putc(out, '"');
}

/* A SQL kind's text, quoted when it holds the delimiter (a space or ':' delimiter, say). */
static void csv_put_sql(const rill__field *fd, const rill_row *row, int i, char delim,
                        rill__buf *out)
{
    size_t at = out->len;
    rill__codec_put_sql(fd, row, i, out);
    size_t n = out->len - at;
    if (n == 0) { /* empty BYTES: "" keeps it apart from NULL */
        rill__buf_append(out, "\"\"", 2);
        return;
    }
    if (!memchr(out->data + at, delim, n))
        return;
    char *copy = rill__xstrndup(out->data + at, n);
    out->len = at;
    csv_put_str(out, copy, n, delim);
    free(copy);
}

void rill__encode_csv_header(const rill_schema *s, char delim, rill__buf *out)
{
    if (!delim)
        delim = ',';
    for (int i = 0; i < s->n_fields; i++) {
        if (i)
            rill__buf_putc(out, delim);
        csv_put_str(out, s->fields[i].name, strlen(s->fields[i].name), delim);
    }
    rill__buf_putc(out, '\n');
}

void rill__encode_csv_row(const rill_schema *s, const rill_row *row, char delim, rill__buf *out)
{
    if (!delim)
        delim = ',';
    for (int i = 0; i < s->n_fields; i++) {
        if (i)
            rill__buf_putc(out, delim);
        if (rill_row_is_null(row, i))
            continue;
        switch (s->fields[i].type) {
        case RILL_T_BOOL:
            if (rill_row_bool(row, i))
                rill__buf_append(out, "true", 4);
            else
                rill__buf_append(out, "false", 5);
            break;
        case RILL_T_TIMESTAMP:
            if (RILL_UNLIKELY(s->fields[i].precision != 3 || s->sql_text)) {
                csv_put_sql(&s->fields[i], row, i, delim, out);
                break;
            }
            /* TIMESTAMP(3) is epoch milliseconds, as it always was */
            /* fall through */
        case RILL_T_INT64:
            rill__codec_put_i64(out, rill_row_i64(row, i));
            break;
        case RILL_T_DOUBLE: {
            char num[40];
            int n = rill__format_f64(num, sizeof num, rill_row_f64(row, i));
            rill__buf_append(out, num, (size_t)n);
            break;
        }
        case RILL_T_STRING: {
            size_t n;
            const char *p = rill_row_str(row, i, &n);
            csv_put_str(out, p, n, delim);
            break;
        }
        default:
            csv_put_sql(&s->fields[i], row, i, delim, out);
            break;
        }
    }
    rill__buf_putc(out, '\n');
}
