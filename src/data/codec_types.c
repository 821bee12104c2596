/*
 * codec_types.c - data layer, the codecs' text forms of the SQL slot kinds (Flink's CSV and
 * JSON formats): integers of each width, FLOAT, DECIMAL, DATE, TIME, TIMESTAMP(p),
 * TIMESTAMP_LTZ(p), BYTES (base64) and intervals.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dec128.h"
#include "codec_int.h"

#define NS_PER_S   INT64_C(1000000000)
#define MS_PER_DAY INT64_C(86400000)

/* ---- calendar ------------------------------------------------------------------------------ */


/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant's algorithm). */
static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* "yyyy-MM-dd" at s (exactly 10 bytes). */
static bool parse_date(const char *s, size_t n, int64_t *days)
{
    int y, mo, d;
    if (n < 10 || !rill__codec_digits(s, 4, &y) || s[4] != '-' || !rill__codec_digits(s + 5, 2, &mo) || s[7] != '-' ||
        !rill__codec_digits(s + 8, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return false;
    *days = rill__days_from_civil(y, mo, d);
    return true;
}

/* "HH:mm[:ss[.fffffffff]]" at s[*i..n): nanoseconds of the day; fraction digits past 9 are
 * dropped. */
static bool parse_time(const char *s, size_t n, size_t *i, int64_t *ns)
{
    int h, mi, sec = 0;
    int64_t frac = 0;
    size_t k = *i;
    if (n - k < 5 || !rill__codec_digits(s + k, 2, &h) || s[k + 2] != ':' || !rill__codec_digits(s + k + 3, 2, &mi))
        return false;
    k += 5;
    if (k < n && s[k] == ':') {
        if (n - k < 3 || !rill__codec_digits(s + k + 1, 2, &sec))
            return false;
        k += 3;
        if (k < n && (s[k] == '.' || s[k] == ',')) {
            size_t f = ++k;
            for (; k < n && (unsigned)(s[k] - '0') <= 9; k++)
                if (k - f < 9)
                    frac = frac * 10 + (s[k] - '0');
            if (k == f)
                return false;
            for (size_t z = k - f; z < 9; z++)
                frac *= 10;
        }
    }
    if (h > 23 || mi > 59 || sec > 59)
        return false;
    *ns = ((int64_t)h * 3600 + mi * 60 + sec) * NS_PER_S + frac;
    *i = k;
    return true;
}

/* A date-time "yyyy-MM-dd[(T| )HH:mm[:ss[.f]]][Z|(+|-)HH[[:]mm]]" as seconds since the epoch
 * and nanoseconds within the second. */
bool rill__codec_parse_datetime(const char *s, size_t n, int64_t *secs, int64_t *nanos)
{
    int64_t days, ns = 0;
    if (!parse_date(s, n, &days))
        return false;
    size_t i = 10;
    if (i < n && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
        i++;
        if (!parse_time(s, n, &i, &ns))
            return false;
    }
    int64_t off_s;
    if (!rill__codec_zone(s, n, &i, &off_s))
        return false;
    if (i != n)
        return false;
    *secs = days * 86400 + ns / NS_PER_S - off_s;
    *nanos = ns % NS_PER_S;
    return true;
}

/* Fraction digits of a value in the unit of precision p (ms for p <= 3, else ns). */
static bool ns_unit(int precision)
{
    return precision > 3;
}

int rill__codec_ts_from_parts(int64_t secs, int64_t nanos, int precision, int64_t *out)
{
    int64_t v;
    if (!ns_unit(precision)) {
        if (__builtin_mul_overflow(secs, 1000, &v) ||
            __builtin_add_overflow(v, nanos / 1000000, &v))
            return RILL_ERANGE;
    } else {
        if (secs < 0 && nanos > 0) { /* so that the product of the earliest second fits */
            secs++;
            nanos -= NS_PER_S;
        }
        if (__builtin_mul_overflow(secs, NS_PER_S, &v) || __builtin_add_overflow(v, nanos, &v))
            return RILL_ERANGE;
    }
    /* truncate to the field's precision (toward the past, as the ms parser always did) */
    int64_t unit = 1;
    for (int k = precision; k < (ns_unit(precision) ? 9 : 3); k++)
        unit *= 10;
    *out = floor_div(v, unit) * unit;
    return 0;
}

/* ---- base64 (RFC 4648, with padding) ------------------------------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_base64(rill__buf *out, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char q[4] = {b64[v >> 18], b64[(v >> 12) & 63], i + 1 < n ? b64[(v >> 6) & 63] : '=',
                     i + 2 < n ? b64[v & 63] : '='};
        rill__buf_append(out, q, 4);
    }
}

static int b64_val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes base64 text into scratch; false for text that is not base64. */
static bool parse_base64(const char *s, size_t n, rill__buf *scratch)
{
    if (n % 4)
        return false;
    scratch->len = 0;
    rill__buf_reserve(scratch, n / 4 * 3 + 1);
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            char c = s[i + k];
            if (c == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else {
                if (pad || (v[k] = b64_val(c)) < 0)
                    return false;
            }
        }
        uint32_t x =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        scratch->data[scratch->len++] = (char)(x >> 16);
        if (pad < 2)
            scratch->data[scratch->len++] = (char)(x >> 8);
        if (pad < 1)
            scratch->data[scratch->len++] = (char)x;
    }
    return true;
}

/* ---- decoding ------------------------------------------------------------------------------ */

bool rill__codec_is_sql_kind(const rill__field *fd)
{
    switch (fd->type) {
    case RILL_T_BOOL:
    case RILL_T_INT64:
    case RILL_T_DOUBLE:
    case RILL_T_STRING:
        return false;
    case RILL_T_TIMESTAMP:
        return fd->precision != 3;
    default:
        return true;
    }
}

const char *rill__codec_expect(const rill__field *fd, char *buf, size_t cap)
{
    char t[64];
    rill_type_format(rill__field_info(fd), t, sizeof t);
    const char *hint = "";
    switch (fd->type) {
    case RILL_T_DATE:
        hint = " (yyyy-MM-dd)";
        break;
    case RILL_T_TIME:
        hint = " (HH:mm:ss[.f])";
        break;
    case RILL_T_TIMESTAMP:
    case RILL_T_TIMESTAMP_LTZ:
        hint = " (yyyy-MM-dd HH:mm:ss[.f], ISO-8601 or epoch units)";
        break;
    case RILL_T_BYTES:
        hint = " (base64)";
        break;
    case RILL_T_INTERVAL_YM:
        hint = " (months)";
        break;
    case RILL_T_INTERVAL_DT:
        hint = " (milliseconds)";
        break;
    default:
        break;
    }
    snprintf(buf, cap, "%s%s", t, hint);
    return buf;
}

static int parse_int_range(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out)
{
    int rc = rill__parse_i64(s, n, out);
    if (rc)
        return rc;
    return *out < lo || *out > hi ? RILL_ERANGE : 0;
}

int rill__codec_parse_sql(const rill__field *fd, rill_row *row, int f, const char *s, size_t n,
                          rill__buf *scratch)
{
    int64_t v;
    int rc;
    switch (fd->type) {
    case RILL_T_INT8:
        rc = parse_int_range(s, n, INT8_MIN, INT8_MAX, &v);
        break;
    case RILL_T_INT16:
        rc = parse_int_range(s, n, INT16_MIN, INT16_MAX, &v);
        break;
    case RILL_T_INT32:
    case RILL_T_INTERVAL_YM:
        rc = parse_int_range(s, n, INT32_MIN, INT32_MAX, &v);
        break;
    case RILL_T_INTERVAL_DT:
        rc = rill__parse_i64(s, n, &v);
        break;
    case RILL_T_FLOAT: {
        double d;
        if ((rc = rill__parse_f64(s, n, &d)))
            return rc;
        float x = (float)d;
        if (isfinite(d) && !isfinite(x))
            return RILL_ERANGE;
        rill_row_set_f32(row, f, x);
        return 0;
    }
    case RILL_T_DECIMAL: {
        rill__i128 x;
        if ((rc = rill__dec_parse(s, n, fd->precision, fd->scale, &x)))
            return rc;
        return rill__row_set_dec(row, f, x);
    }
    case RILL_T_DATE:
        if (rill__parse_i64(s, n, &v) == 0) /* days since the epoch */
            rc = v < INT32_MIN || v > INT32_MAX ? RILL_ERANGE : 0;
        else
            rc = n == 10 && parse_date(s, n, &v) ? 0 : RILL_EPARSE;
        break;
    case RILL_T_TIME: {
        size_t i = 0;
        int64_t ns;
        if (!parse_time(s, n, &i, &ns) || i != n)
            return RILL_EPARSE;
        rc = rill__codec_ts_from_parts(ns / NS_PER_S, ns % NS_PER_S, fd->precision, &v);
        break;
    }
    case RILL_T_TIMESTAMP:
    case RILL_T_TIMESTAMP_LTZ: {
        if ((rc = rill__parse_i64(s, n, &v)) != RILL_EPARSE)
            break; /* an integer: epoch in the field's unit (ms for p <= 3, else ns) */
        int64_t secs, nanos;
        if (!rill__codec_parse_datetime(s, n, &secs, &nanos))
            return RILL_EPARSE;
        rc = rill__codec_ts_from_parts(secs, nanos, fd->precision, &v);
        break;
    }
    case RILL_T_BYTES:
        if (!parse_base64(s, n, scratch))
            return RILL_EPARSE;
        return rill_row_set_bytes(row, f, scratch->data, scratch->len) ? RILL_ELIMIT : 0;
    default:
        return RILL_EPARSE;
    }
    if (rc)
        return rc;
    rill_row_set_i64(row, f, v);
    return 0;
}

/* ---- encoding ------------------------------------------------------------------------------ */

static void put_fraction(rill__buf *out, int64_t frac, int width, int max_digits)
{
    /* frac has width digits; print at most max_digits, trailing zeros dropped */
    char d[10];
    for (int k = width - 1; k >= 0; k--) {
        d[k] = (char)('0' + frac % 10);
        frac /= 10;
    }
    int n = max_digits < width ? max_digits : width;
    while (n > 0 && d[n - 1] == '0')
        n--;
    if (n > 0) {
        rill__buf_putc(out, '.');
        rill__buf_append(out, d, (size_t)n);
    }
}

static void put_hms(rill__buf *out, int64_t secs_of_day)
{
    rill__buf_printf(out, "%02d:%02d:%02d", (int)(secs_of_day / 3600), (int)(secs_of_day / 60 % 60),
                     (int)(secs_of_day % 60));
}

static void put_date(rill__buf *out, int64_t days)
{
    int64_t y;
    int m, d;
    rill__civil_from_days(days, &y, &m, &d);
    rill__buf_printf(out, "%04lld-%02d-%02d", (long long)y, m, d);
}

/* Value v of a TIME / TIMESTAMP field of precision p as (whole seconds, fraction, digits). */
static void split_units(int64_t v, int precision, int64_t *secs, int64_t *frac, int *width)
{
    int64_t per = ns_unit(precision) ? NS_PER_S : 1000;
    *secs = floor_div(v, per);
    *frac = v % per; /* not v - secs * per: that overflows for the earliest instants */
    if (*frac < 0)
        *frac += per;
    *width = ns_unit(precision) ? 9 : 3;
}

bool rill__codec_put_sql(const rill__field *fd, const rill_row *row, int i, rill__buf *out)
{
    switch (fd->type) {
    case RILL_T_INT8:
    case RILL_T_INT16:
    case RILL_T_INT32:
    case RILL_T_INTERVAL_YM:
    case RILL_T_INTERVAL_DT:
        rill__codec_put_i64(out, rill_row_i64(row, i));
        return false;
    case RILL_T_FLOAT: {
        float x = rill_row_f32(row, i);
        char num[40];
        if (!isfinite(x)) { /* as DOUBLE writes them, so that they read back */
            int n = rill__format_f64(num, sizeof num, (double)x);
            rill__buf_append(out, num, (size_t)n);
            return false;
        }
        for (int prec = 1; prec <= 9; prec++) { /* the shortest text that reads back */
            snprintf(num, sizeof num, "%.*g", prec, (double)x);
            if (strtof(num, NULL) == x)
                break;
        }
        rill__buf_append(out, num, strlen(num));
        return false;
    }
    case RILL_T_DECIMAL: {
        char num[RILL_DECIMAL_STR_MAX];
        int n = rill__dec_format(rill__row_dec(row, i), fd->scale, num);
        rill__buf_append(out, num, (size_t)n);
        return false;
    }
    case RILL_T_DATE:
        put_date(out, rill_row_i32(row, i));
        return true;
    case RILL_T_TIME: {
        int64_t secs, frac;
        int width;
        split_units(rill_row_i64(row, i), fd->precision, &secs, &frac, &width);
        put_hms(out, secs);
        put_fraction(out, frac, width, fd->precision);
        return true;
    }
    case RILL_T_TIMESTAMP:
    case RILL_T_TIMESTAMP_LTZ: {
        int64_t secs, frac;
        int width;
        split_units(rill_row_i64(row, i), fd->precision, &secs, &frac, &width);
        int64_t days = floor_div(secs, 86400);
        put_date(out, days);
        rill__buf_putc(out, ' ');
        put_hms(out, secs - days * 86400);
        put_fraction(out, frac, width, fd->precision);
        if (fd->type == RILL_T_TIMESTAMP_LTZ)
            rill__buf_putc(out, 'Z');
        return true;
    }
    case RILL_T_BYTES: {
        size_t n;
        const void *p = rill_row_bytes(row, i, &n);
        put_base64(out, p, n);
        return true;
    }
    default:
        return false;
    }
}
