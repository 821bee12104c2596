/*
 * print_sink.c - sql layer: Flink's print connector. Each row becomes "+I[v1, v2]" (its kind,
 * then its values as Java prints them: null, true, 42, 1.0E10, 2024-05-01T12:00:05.123), after
 * "<identifier>:<subtask>> " as Flink's PrintSinkOutputWriter writes it, on stdout. One batch
 * is written with one locked write so that parallel subtasks do not interleave within it.
 * The rows sink (`rill sql`'s SELECT) formats the values the same way and hands each row to a
 * callback instead.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dec128.h"
#include "sql_int.h"

typedef struct psink_cfg {
    char *identifier; /* NULL: none */
    int n;
    rill__sql_root *roots; /* each column's type, and its precision */
    int *precisions;
    int *scales;
    rill__sql_rows_cb rows; /* rows.row: the rows sink */
    pthread_mutex_t mu;     /* the rows sink: one callback at a time */
} psink_cfg;

typedef struct psink {
    rill__sink base;
    const psink_cfg *cfg;
    rill__err *err;
    char *prefix;
    rill__buf buf;
} psink;

/* Java's Double.toString: the shortest digits that read back as d, in plain notation for
 * 1e-3 <= |d| < 1e7 (at least one digit after the point), else as d.dddE[-]n. */
void rill__sql_java_double(rill__buf *out, double d)
{
    rill__java_number(out, d, false);
}

/* Java's Float.toString: the same forms, the shortest digits that read back as the float. */
void rill__sql_java_float(rill__buf *out, float f)
{
    rill__java_number(out, (double)f, true);
}

/* LocalDate.toString: yyyy-MM-dd. */
static void put_date(rill__buf *out, int64_t days)
{
    int64_t y;
    int m, d;
    rill__civil_from_days(days, &y, &m, &d);
    rill__buf_printf(out, "%04lld-%02lld-%02lld", (long long)y, (long long)m, (long long)d);
}

/* LocalTime.toString of ms (or ns) of the day: HH:mm, then :ss when seconds or a fraction are
 * there, the fraction in 3, 6 or 9 digits. */
static void put_time(rill__buf *out, int64_t v, bool nanos)
{
    int64_t ns = nanos ? v : v * 1000000, secs = ns / 1000000000, frac = ns % 1000000000;
    rill__buf_printf(out, "%02lld:%02lld", (long long)(secs / 3600), (long long)(secs / 60 % 60));
    if (secs % 60 || frac) {
        rill__buf_printf(out, ":%02lld", (long long)(secs % 60));
        if (frac % 1000000 == 0 && frac)
            rill__buf_printf(out, ".%03lld", (long long)(frac / 1000000));
        else if (frac % 1000 == 0 && frac)
            rill__buf_printf(out, ".%06lld", (long long)(frac / 1000));
        else if (frac)
            rill__buf_printf(out, ".%09lld", (long long)frac);
    }
}

void rill__sql_java_bigdecimal(rill__buf *out, rill__i128 v, int scale)
{
    char buf[64];
    rill__dec_format(v, 0, buf); /* the unscaled digits */
    const char *digits = buf[0] == '-' ? buf + 1 : buf;
    int n = (int)strlen(digits);
    int adjusted = n - 1 - scale;
    if (scale >= 0 && adjusted >= -6) { /* plain */
        char plain[80];
        rill__dec_format(v, scale, plain);
        rill__buf_append(out, plain, strlen(plain));
        return;
    }
    /* scientific: d.ddd E adjusted */
    if (buf[0] == '-')
        rill__buf_putc(out, '-');
    rill__buf_putc(out, digits[0]);
    if (n > 1) {
        rill__buf_putc(out, '.');
        rill__buf_append(out, digits + 1, (size_t)n - 1);
    }
    rill__buf_printf(out, "E%s%d", adjusted >= 0 ? "+" : "", adjusted);
}

/* Java's LocalDateTime.toString of a time in ms or ns since the epoch: yyyy-MM-ddTHH:mm, then
 * :ss when seconds or a fraction are there, then the fraction in 3, 6 or 9 digits; instant:
 * Instant.toString (seconds always, and 'Z'). */
void rill__sql_java_datetime(rill__buf *out, int64_t v, bool nanos, bool instant)
{
    int64_t unit = nanos ? 1000000000 : 1000;
    int64_t secs = v / unit, frac = v % unit;
    if (frac < 0)
        frac += unit, secs--;
    int64_t ns = nanos ? frac : frac * 1000000;
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0)
        sod += 86400, days--;
    int64_t y;
    int m, d;
    rill__civil_from_days(days, &y, &m, &d);
    rill__buf_printf(out, "%04lld-%02lld-%02lldT%02lld:%02lld", (long long)y, (long long)m,
                     (long long)d, (long long)(sod / 3600), (long long)(sod / 60 % 60));
    if (sod % 60 || ns || instant) {
        rill__buf_printf(out, ":%02lld", (long long)(sod % 60));
        if (ns % 1000000 == 0 && ns)
            rill__buf_printf(out, ".%03lld", (long long)(ns / 1000000));
        else if (ns % 1000 == 0 && ns)
            rill__buf_printf(out, ".%06lld", (long long)(ns / 1000));
        else if (ns)
            rill__buf_printf(out, ".%09lld", (long long)ns);
    }
    if (instant)
        rill__buf_putc(out, 'Z');
}

/* java.time.Duration.toString of ms: PT[nH][nM][s[.fff]S], "PT0S" for zero; a negative
 * fraction as Java writes it (-1.5 s is "PT-1.5S"). */
static void put_duration(rill__buf *out, int64_t ms)
{
    if (ms == 0) {
        rill__buf_append(out, "PT0S", 4);
        return;
    }
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000); /* floor */
    int64_t nanos = (ms - secs * 1000) * 1000000;
    int64_t eff = secs < 0 && nanos > 0 ? secs + 1 : secs;
    int64_t h = eff / 3600, m = eff % 3600 / 60, sec = eff % 60;
    size_t start = out->len;
    rill__buf_append(out, "PT", 2);
    if (h)
        rill__buf_printf(out, "%lldH", (long long)h);
    if (m)
        rill__buf_printf(out, "%lldM", (long long)m);
    if (sec == 0 && nanos == 0 && out->len - start > 2)
        return;
    if (secs < 0 && nanos > 0 && sec == 0)
        rill__buf_append(out, "-0", 2);
    else
        rill__buf_printf(out, "%lld", (long long)sec);
    if (nanos > 0) {
        char f[16];
        int64_t frac = secs < 0 ? 1000000000 - nanos : nanos;
        int n = snprintf(f, sizeof f, "%09lld", (long long)frac);
        while (n > 0 && f[n - 1] == '0')
            n--;
        rill__buf_printf(out, ".%.*s", n, f);
    }
    rill__buf_putc(out, 'S');
}

/* java.time.Period.toString of the period Flink makes of months (res 0: YEAR, Period.ofYears;
 * 1: YEAR TO MONTH, Period.of(y, m, 0); 2: MONTH, Period.ofMonths): P[nY][nM], "P0D" for
 * zero. */
static void put_period(rill__buf *out, int64_t months, int res)
{
    int64_t y = res == 2 ? 0 : months / 12, m = res == 1 ? months % 12 : res == 2 ? months : 0;
    if (!y && !m) {
        rill__buf_append(out, "P0D", 3);
        return;
    }
    rill__buf_putc(out, 'P');
    if (y)
        rill__buf_printf(out, "%lldY", (long long)y);
    if (m)
        rill__buf_printf(out, "%lldM", (long long)m);
}

/* ---- the sink -------------------------------------------------------------------------------- */

static void put_value(rill__buf *out, const psink_cfg *c, int i, const rill_row *row)
{
    if (rill_row_is_null(row, i)) {
        rill__buf_append(out, "null", 4);
        return;
    }
    uint64_t v = row->v[i];
    switch (c->roots[i]) {
    case RILL_SQLT_BOOLEAN:
        rill__buf_append(out, v ? "true" : "false", v ? 4 : 5);
        break;
    case RILL_SQLT_DOUBLE:
        rill__sql_java_double(out, rill_row_f64(row, i));
        break;
    case RILL_SQLT_FLOAT: {
        uint32_t u = (uint32_t)v;
        float f;
        memcpy(&f, &u, sizeof f);
        rill__sql_java_float(out, f);
        break;
    }
    case RILL_SQLT_DECIMAL: { /* BigDecimal.toString */
        rill__i128 d;
        if (c->precisions[i] <= 18) {
            d = (int64_t)v;
        } else {
            size_t len;
            const char *b = rill_row_bytes(row, i, &len);
            d = len == 16 ? rill__dec_load16((const unsigned char *)b) : 0;
        }
        rill__sql_java_bigdecimal(out, d, c->scales[i]);
        break;
    }
    case RILL_SQLT_DATE: /* LocalDate.toString */
        put_date(out, (int64_t)v);
        break;
    case RILL_SQLT_TIME: /* LocalTime.toString: HH:mm, :ss and a fraction when there are */
        put_time(out, (int64_t)v, c->precisions[i] > 3);
        break;
    case RILL_SQLT_BINARY:
    case RILL_SQLT_VARBINARY: { /* byte[] as Arrays.toString: [1, -2] */
        size_t len;
        const char *b = rill_row_bytes(row, i, &len);
        rill__buf_putc(out, '[');
        for (size_t k = 0; k < len; k++)
            rill__buf_printf(out, "%s%d", k ? ", " : "", (int)(signed char)b[k]);
        rill__buf_putc(out, ']');
        break;
    }
    case RILL_SQLT_CHAR:
    case RILL_SQLT_VARCHAR: {
        size_t len;
        const char *p = rill_row_str(row, i, &len);
        rill__buf_append(out, p, len);
        break;
    }
    case RILL_SQLT_TIMESTAMP:
    case RILL_SQLT_TIMESTAMP_LTZ: /* java.time.Instant: always with seconds, then 'Z' */
        rill__sql_java_datetime(out, (int64_t)v, c->precisions[i] > 3,
                                c->roots[i] == RILL_SQLT_TIMESTAMP_LTZ);
        break;
    case RILL_SQLT_INTERVAL_DT: /* java.time.Duration */
        put_duration(out, (int64_t)v);
        break;
    case RILL_SQLT_INTERVAL_YM: /* java.time.Period */
        put_period(out, (int64_t)v, c->scales[i]);
        break;
    default:
        rill__buf_printf(out, "%lld", (long long)(int64_t)v);
        break;
    }
}

static int psink_validate(const void *cfg, const rill_schema *schema, rill__err *err)
{
    const psink_cfg *c = cfg;
    if (rill_schema_n_fields(schema) != c->n)
        return rill__err_set(err, RILL_EINVAL, "print sink: %d columns for %d types",
                             rill_schema_n_fields(schema), c->n);
    return 0;
}

static int psink_create(const void *cfg, const rill_schema *schema, const rill__conn_init *init,
                        rill__sink **out)
{
    const psink_cfg *c = cfg;
    psink *s = rill__xcalloc(1, sizeof *s);
    s->base.ops = &rill__sql_print_sink_ops;
    s->cfg = c;
    s->err = init->err;
    /* Flink's PrintSinkOutputWriter: identifier, then ":" and the subtask (1-based) at
     * parallelism > 1, then "> " when either is there */
    rill__buf p = {0};
    if (c->identifier)
        rill__buf_append(&p, c->identifier, strlen(c->identifier));
    if (init->parallelism > 1)
        rill__buf_printf(&p, "%s%d", c->identifier ? ":" : "", init->subtask + 1);
    if (p.len)
        rill__buf_append(&p, "> ", 2);
    rill__buf_putc(&p, '\0');
    s->prefix = (char *)p.data;
    *out = &s->base;
    return 0;
}

static const char *const kinds[] = {"+I", "-U", "+U", "-D"};

/* The rows sink: each row's values formatted one after the other into buf (NUL-terminated),
 * then handed to the callback. */
static int rows_write(psink *s, rill_batch *b)
{
    const psink_cfg *c = s->cfg;
    size_t *at = rill__xcalloc((size_t)c->n + 1, sizeof *at);
    const char **vals = rill__xcalloc((size_t)c->n + 1, sizeof *vals);
    for (uint32_t r = 0; r < b->n_rows; r++) {
        rill_row row = rill__batch_row(b, r);
        s->buf.len = 0;
        for (int i = 0; i < c->n; i++) {
            at[i] = s->buf.len;
            if (!rill_row_is_null(&row, i))
                put_value(&s->buf, c, i, &row);
            rill__buf_putc(&s->buf, '\0');
        }
        for (int i = 0; i < c->n; i++)
            vals[i] = rill_row_is_null(&row, i) ? NULL : (const char *)s->buf.data + at[i];
        pthread_mutex_lock((pthread_mutex_t *)&c->mu);
        c->rows.row(c->rows.arg, kinds[rill__batch_kind(b, r)], c->n, vals);
        pthread_mutex_unlock((pthread_mutex_t *)&c->mu);
    }
    free(at);
    free(vals);
    return 0;
}

static int psink_write(rill__sink *sink, rill_batch *b)
{
    psink *s = (psink *)sink;
    if (s->cfg->rows.row)
        return rows_write(s, b);
    s->buf.len = 0;
    for (uint32_t r = 0; r < b->n_rows; r++) {
        rill_row row = rill__batch_row(b, r);
        rill__buf_append(&s->buf, s->prefix, strlen(s->prefix));
        rill__buf_append(&s->buf, kinds[rill__batch_kind(b, r)], 2);
        rill__buf_putc(&s->buf, '[');
        for (int i = 0; i < s->cfg->n; i++) {
            if (i)
                rill__buf_append(&s->buf, ", ", 2);
            put_value(&s->buf, s->cfg, i, &row);
        }
        rill__buf_append(&s->buf, "]\n", 2);
    }
    if (!s->buf.len)
        return 0;
    flockfile(stdout);
    errno = 0;
    size_t w = fwrite(s->buf.data, 1, s->buf.len, stdout);
    int rc = (w == s->buf.len && fflush(stdout) == 0) ? 0 : (errno ? -errno : RILL_EIO);
    funlockfile(stdout);
    if (rc)
        return rill__err_set(s->err, rc, "print sink: writing to stdout failed: %s",
                             rill_strerror(rc));
    return 0;
}

static int psink_finish(rill__sink *sink)
{
    (void)sink;
    return fflush(stdout) == 0 ? 0 : -errno;
}

static void psink_destroy(rill__sink *sink)
{
    psink *s = (psink *)sink;
    if (!s)
        return;
    rill__buf_free(&s->buf);
    free(s->prefix);
    free(s);
}

static void psink_cfg_free(void *cfg)
{
    psink_cfg *c = cfg;
    if (!c)
        return;
    free(c->identifier);
    free(c->roots);
    free(c->precisions);
    free(c->scales);
    if (c->rows.row)
        pthread_mutex_destroy(&c->mu);
    free(c);
}

const rill__sink_ops rill__sql_print_sink_ops = {
    .kind = "print",
    .validate = psink_validate,
    .create = psink_create,
    .write = psink_write,
    .finish = psink_finish,
    .destroy = psink_destroy,
    .cfg_free = psink_cfg_free,
};

static psink_cfg *cfg_new(int n, const rel_col *cols);

rill_stream *rill__sql_print_sink(rill_stream *in, int n, const rel_col *cols,
                                  const char *identifier)
{
    psink_cfg *c = cfg_new(n, cols);
    c->identifier = identifier ? rill__xstrdup(identifier) : NULL;
    return rill__graph_sink(in, &rill__sql_print_sink_ops, c);
}

rill_stream *rill__sql_rows_sink(rill_stream *in, int n, const rel_col *cols,
                                 const rill__sql_rows_cb *rows)
{
    psink_cfg *c = cfg_new(n, cols);
    c->rows = *rows;
    pthread_mutex_init(&c->mu, NULL);
    return rill__graph_sink(in, &rill__sql_print_sink_ops, c);
}

int rill__sql_display_width(const rill__sql_ltype *t)
{
    int p = t->precision;
    switch (t->root) {
    case RILL_SQLT_TINYINT:
        return 4; /* digits and a sign */
    case RILL_SQLT_SMALLINT:
        return 6;
    case RILL_SQLT_INT:
        return 11;
    case RILL_SQLT_BIGINT:
        return 20;
    case RILL_SQLT_DECIMAL:
        return p + 2; /* a sign and the point */
    case RILL_SQLT_BOOLEAN:
        return 5;
    case RILL_SQLT_DATE:
        return 10;
    case RILL_SQLT_TIME:
        return p == 0 ? 8 : p + 9;
    case RILL_SQLT_TIMESTAMP:
    case RILL_SQLT_TIMESTAMP_LTZ: /* yyyy-MM-ddTHH:mm:ss, the fraction, and LTZ's 'Z' */
        return 19 + (p == 0 ? 0 : p <= 3 ? 4 : p <= 6 ? 7 : 10) +
               (t->root == RILL_SQLT_TIMESTAMP_LTZ);
    default:
        return RILL_SQL_MAX_COLUMN_WIDTH;
    }
}

static psink_cfg *cfg_new(int n, const rel_col *cols)
{
    psink_cfg *c = rill__xcalloc(1, sizeof *c);
    c->n = n;
    c->roots = rill__xcalloc((size_t)n + 1, sizeof *c->roots);
    c->precisions = rill__xcalloc((size_t)n + 1, sizeof *c->precisions);
    c->scales = rill__xcalloc((size_t)n + 1, sizeof *c->scales);
    for (int i = 0; i < n; i++) {
        c->roots[i] = cols[i].type->root;
        c->precisions[i] = cols[i].type->precision;
        c->scales[i] = cols[i].type->scale;
        if (c->roots[i] == RILL_SQLT_INTERVAL_YM) /* the resolution, for Period */
            c->scales[i] = cols[i].type->from == RILL_SQLU_MONTH ? 2
                           : cols[i].type->to == RILL_SQLU_MONTH ? 1
                                                                 : 0;
    }
    return c;
}
