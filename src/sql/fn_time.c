/*
 * fn_time.c - date, time and timestamp functions, with Flink's semantics for TIMESTAMP
 * (a local date-time) and TIMESTAMP_LTZ (an instant, shown in the session's
 * table.local-time-zone); CAST between them and character strings; INTERVAL, DATE and TIME
 * literals for the binder. Time zones come from base/tz.h (TZif files, never TZ/localtime).
 *
 * Values work as (seconds, nanoseconds) of a local date-time: a DATE is its midnight, a TIME
 * its time on 1970-01-01, a TIMESTAMP_LTZ its instant moved by the zone's offset then.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/tz.h"
#include "functions.h"

#define NS   INT64_C(1000000000)
#define DAYS INT64_C(86400)

/* ---- calendar ------------------------------------------------------------------------------ */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return q - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    return a - floor_div(a, b) * b;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
    static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : md[m - 1];
}

/* 0 Sunday .. 6 Saturday (1970-01-01 was a Thursday). */
static int weekday(int64_t days)
{
    return (int)floor_mod(days + 4, 7);
}

/* The ISO 8601 week (1..53) of a day, and its week-based year. */
static int iso_week(int64_t days, int64_t *year_out)
{
    int64_t y;
    int m, d;
    rill__civil_from_days(days, &y, &m, &d);
    int isodow = (weekday(days) + 6) % 7; /* 0 Monday */
    int64_t thursday = days - isodow + 3; /* the week's Thursday decides its year */
    int64_t ty;
    rill__civil_from_days(thursday, &ty, &m, &d);
    *year_out = ty;
    return (int)((thursday - rill__days_from_civil(ty, 1, 1)) / 7 + 1);
}

/* A date plus m months, the day cut to the month's length (Flink's addMonths). */
static int64_t add_months(int64_t days, int64_t months)
{
    int64_t y;
    int m, d;
    rill__civil_from_days(days, &y, &m, &d);
    int64_t t = y * 12 + (m - 1) + months;
    y = floor_div(t, 12);
    m = (int)floor_mod(t, 12) + 1;
    if (d > month_days(y, m))
        d = month_days(y, m);
    return rill__days_from_civil(y, m, d);
}

/* Whole months from (d1, t1) to (d0, t0) (days and time of day), as Calcite counts them: the
 * largest m with d1 + m months not past d0, one less when that lands on d0 at an earlier time. */
static int64_t months_between(int64_t d0, int64_t t0, int64_t d1, int64_t t1)
{
    if (d0 < d1 || (d0 == d1 && t0 < t1))
        return -months_between(d1, t1, d0, t0);
    int64_t m = (d0 - d1) / 31;
    for (;;) {
        if (add_months(d1, m + 1) > d0)
            break;
        m++;
    }
    if (add_months(d1, m) == d0 && t0 < t1)
        m--;
    return m;
}

/* A local date-time broken down. */
typedef struct dtm {
    int64_t days, y;
    int mo, d, h, mi, s;
    int64_t ns;
} dtm;

static void split(int64_t secs, int64_t ns, dtm *t)
{
    t->days = floor_div(secs, DAYS);
    int64_t sod = secs - t->days * DAYS;
    rill__civil_from_days(t->days, &t->y, &t->mo, &t->d);
    t->h = (int)(sod / 3600);
    t->mi = (int)(sod / 60 % 60);
    t->s = (int)(sod % 60);
    t->ns = ns;
}

/* ---- values -------------------------------------------------------------------------------- */

static bool in_nanos(const rill__sql_ltype *t)
{
    return t->root != RILL_SQLT_DATE && t->root != RILL_SQLT_TIME && t->precision > 3;
}

static const rill__tz *utc_zone(void)
{
    return rill__tz_get("UTC");
}

/* The session's zone of a call (checked when planned; UTC if it has gone). */
static const rill__tz *zone_of(const rill__sql_fn_ctx *c)
{
    const rill__tz *z = c->x->call ? rill__tz_get(c->x->call->zone) : NULL;
    return z ? z : utc_zone();
}

/* The local (seconds, nanoseconds) of a datetime value. */
static void local_of(const rill__sql_ltype *t, uint64_t v, const rill__tz *z, int64_t *secs,
                     int64_t *ns)
{
    int64_t x = (int64_t)v;
    switch (t->root) {
    case RILL_SQLT_DATE:
        *secs = x * DAYS, *ns = 0;
        return;
    case RILL_SQLT_TIME:
        *secs = floor_div(x, 1000), *ns = floor_mod(x, 1000) * 1000000;
        return;
    default:
        if (in_nanos(t))
            *secs = floor_div(x, NS), *ns = floor_mod(x, NS);
        else
            *secs = floor_div(x, 1000), *ns = floor_mod(x, 1000) * 1000000;
        if (t->root == RILL_SQLT_TIMESTAMP_LTZ)
            *secs += rill__tz_offset(z, *secs);
        return;
    }
}

/* A value of type t from a local (seconds, nanoseconds), cut to t's precision; false when it
 * is out of t's range. */
static bool value_of(const rill__sql_ltype *t, int64_t secs, int64_t ns, const rill__tz *z,
                     uint64_t *out)
{
    static const int64_t cut[] = {1000000000, 100000000, 10000000, 1000000, 100000,
                                  10000,      1000,      100,      10,      1};
    int p = t->precision < 0 ? 0 : t->precision > 9 ? 9 : t->precision;
    if (secs > INT64_MAX / 2000 || secs < INT64_MIN / 2000) /* past any calendar we show */
        return false;
    switch (t->root) {
    case RILL_SQLT_DATE:
        *out = (uint64_t)floor_div(secs, DAYS);
        return true;
    case RILL_SQLT_TIME:
        *out = (uint64_t)(floor_mod(secs, DAYS) * 1000 + (ns - ns % cut[RILL_MIN(p, 3)]) / 1000000);
        return true;
    default:
        if (t->root == RILL_SQLT_TIMESTAMP_LTZ)
            secs = rill__tz_from_local(z, secs);
        ns -= ns % cut[p];
        if (in_nanos(t)) {
            if (secs > INT64_MAX / NS - 1 || secs < INT64_MIN / NS + 1)
                return false;
            *out = (uint64_t)(secs * NS + ns);
        } else {
            *out = (uint64_t)(secs * 1000 + ns / 1000000);
        }
        return true;
    }
}

/* ---- text ---------------------------------------------------------------------------------- */

static void put_date(rill__buf *b, int64_t days)
{
    int64_t y;
    int m, d;
    rill__civil_from_days(days, &y, &m, &d);
    rill__buf_printf(b, "%04lld-%02d-%02d", (long long)y, m, d);
}

/* HH:mm:ss and, for p > 0, '.' and p digits of the fraction. */
static void put_hms(rill__buf *b, int64_t sod, int64_t ns, int p)
{
    rill__buf_printf(b, "%02d:%02d:%02d", (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
    if (p > 0) {
        char f[16];
        snprintf(f, sizeof f, "%09lld", (long long)ns);
        rill__buf_putc(b, '.');
        rill__buf_append(b, f, (size_t)RILL_MIN(p, 9));
    }
}

static void put_local(rill__buf *b, int64_t secs, int64_t ns, int p)
{
    put_date(b, floor_div(secs, DAYS));
    rill__buf_putc(b, ' ');
    put_hms(b, floor_mod(secs, DAYS), ns, p);
}

/* Up to max digits (at least min) at *p; false when fewer. */
static bool digits(const char **p, const char *e, int min, int max, int64_t *v)
{
    int n = 0;
    int64_t x = 0;
    while (*p < e && n < max && **p >= '0' && **p <= '9') {
        x = x * 10 + (*(*p)++ - '0');
        n++;
    }
    *v = x;
    return n >= min;
}

static void trim(const char **s, const char **e)
{
    while (*s < *e && (unsigned char)**s <= ' ')
        (*s)++;
    while (*e > *s && (unsigned char)(*e)[-1] <= ' ')
        (*e)--;
}

static bool valid_ymd(int64_t y, int64_t m, int64_t d)
{
    return y >= 0 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= month_days(y, (int)m);
}

/* yyyy-M-d */
static bool parse_ymd(const char **p, const char *e, int64_t *days)
{
    int64_t y, m, d;
    if (!digits(p, e, 1, 4, &y) || *p >= e || *(*p)++ != '-' || !digits(p, e, 1, 2, &m) ||
        *p >= e || *(*p)++ != '-' || !digits(p, e, 1, 2, &d) || !valid_ymd(y, m, d))
        return false;
    *days = rill__days_from_civil(y, (int)m, (int)d);
    return true;
}

/* H:m[:s[.f]] (seconds required when need_secs) */
static bool parse_hms(const char **p, const char *e, bool need_secs, int64_t *sod, int64_t *ns)
{
    int64_t h, mi, s = 0, f = 0;
    if (!digits(p, e, 1, 2, &h) || *p >= e || *(*p)++ != ':' || !digits(p, e, 1, 2, &mi))
        return false;
    *ns = 0;
    if (*p < e && **p == ':') {
        (*p)++;
        if (!digits(p, e, 1, 2, &s))
            return false;
        if (*p < e && **p == '.') {
            (*p)++;
            const char *at = *p;
            if (!digits(p, e, 1, 9, &f))
                return false;
            for (ptrdiff_t k = *p - at; k < 9; k++)
                f *= 10;
            *ns = f;
        }
    } else if (need_secs) {
        return false;
    }
    if (h > 23 || mi > 59 || s > 59)
        return false;
    *sod = h * 3600 + mi * 60 + s;
    return true;
}

/* Flink's timestamp text: yyyy-M-d[( |T)H:m[:s[.f]]], trimmed. */
static bool parse_ts_text(const char *s, size_t n, int64_t *secs, int64_t *ns)
{
    const char *p = s, *e = s + n;
    trim(&p, &e);
    int64_t days, sod = 0;
    *ns = 0;
    if (!parse_ymd(&p, e, &days))
        return false;
    if (p < e) {
        if (*p != ' ' && *p != 'T')
            return false;
        p++;
        if (!parse_hms(&p, e, false, &sod, ns))
            return false;
    }
    *secs = days * DAYS + sod;
    return p == e;
}

/* Flink's date text (DateTimeUtils.parseDate): what comes before a space; yyyy[-M[-d]]. */
static bool parse_date_text(const char *s, size_t n, int64_t *days)
{
    const char *p = s, *e = s + n;
    trim(&p, &e);
    const char *sp = memchr(p, ' ', (size_t)(e - p));
    if (sp)
        e = sp;
    int64_t v[3] = {0, 1, 1};
    for (int i = 0; i < 3; i++) {
        const char *q = p;
        while (q < e && *q != '-')
            q++;
        const char *a = p, *b = q;
        trim(&a, &b);
        if (a == b || b - a > 9)
            return false;
        if (!digits(&a, b, 1, 9, &v[i]) || a != b)
            return false;
        if (q == e)
            break;
        if (i == 2)
            return false;
        p = q + 1;
    }
    if (!valid_ymd(v[0], v[1], v[2]))
        return false;
    *days = rill__days_from_civil(v[0], (int)v[1], (int)v[2]);
    return true;
}

/* ---- patterns (Java's SimpleDateFormat / DateTimeFormatter letters) ------------------------ */

static const char *const MONTHS[] = {"January",   "February", "March",    "April",
                                     "May",       "June",     "July",     "August",
                                     "September", "October",  "November", "December"};
static const char *const WEEKDAYS[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                       "Thursday", "Friday", "Saturday"};

/* One item of a pattern at *p: a letter run (letter, count) or literal text (letter 0, the
 * bytes in lit/lit_len; a quoted '' is one quote). False at the end; -1 in *count for an
 * unclosed quote. */
typedef struct pitem {
    char letter;
    int count;
    char lit[64];
    size_t lit_len;
} pitem;

static bool next_item(const char **p, const char *e, pitem *it)
{
    if (*p >= e)
        return false;
    it->letter = 0;
    it->count = 0;
    it->lit_len = 0;
    char c = **p;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        it->letter = c;
        while (*p < e && **p == c)
            (*p)++, it->count++;
        return true;
    }
    if (c == '\'') {
        (*p)++;
        if (*p < e && **p == '\'') { /* '' is a quote */
            (*p)++;
            it->lit[it->lit_len++] = '\'';
            return true;
        }
        for (;;) {
            if (*p >= e) {
                it->count = -1;
                return true;
            }
            if (**p == '\'') {
                if (*p + 1 < e && (*p)[1] == '\'') {
                    if (it->lit_len < sizeof it->lit)
                        it->lit[it->lit_len++] = '\'';
                    *p += 2;
                    continue;
                }
                (*p)++;
                return true;
            }
            if (it->lit_len < sizeof it->lit)
                it->lit[it->lit_len++] = **p;
            (*p)++;
        }
    }
    it->lit[it->lit_len++] = c;
    (*p)++;
    return true;
}

static void put_num(rill__buf *b, int64_t v, int width)
{
    if (v < 0) {
        rill__buf_putc(b, '-');
        v = -v;
    }
    rill__buf_printf(b, "%0*lld", width, (long long)v);
}

static void put_offset(rill__buf *b, int32_t off, bool colon, bool z_for_zero, int count)
{
    if (z_for_zero && off == 0) {
        rill__buf_putc(b, 'Z');
        return;
    }
    int a = off < 0 ? -off : off;
    rill__buf_printf(b, "%c%02d", off < 0 ? '-' : '+', a / 3600);
    if (count == 1 && z_for_zero && a % 3600 == 0) /* X: +08 */
        return;
    rill__buf_printf(b, "%s%02d", colon ? ":" : "", a / 60 % 60);
}

/* Formats a local date-time with a pattern into b. sdf: SimpleDateFormat's letters (S counts
 * milliseconds, u is the day of the week), else DateTimeFormatter's (S is the fraction, u the
 * year). has_off: an offset is known (Z, X print it). NULL, or the message of a bad pattern. */
static const char *format_pattern(rill__buf *b, const char *pat, size_t n, const dtm *t, bool sdf,
                                  bool has_off, int32_t off, char msg[64])
{
    const char *p = pat, *e = pat + n;
    pitem it;
    while (next_item(&p, e, &it)) {
        if (it.count < 0)
            return "an unclosed quote in the pattern";
        if (!it.letter) {
            rill__buf_append(b, it.lit, it.lit_len);
            continue;
        }
        int c = it.count;
        switch (it.letter) {
        case 'G':
            rill__buf_append(b, t->y > 0 ? "AD" : "BC", 2);
            break;
        case 'u': /* SimpleDateFormat: the day of the week; DateTimeFormatter: the year */
        case 'y':
            if (it.letter == 'u' && sdf)
                put_num(b, (weekday(t->days) + 6) % 7 + 1, c);
            else if (c == 2)
                put_num(b, floor_mod(t->y, 100), 2);
            else
                put_num(b, t->y, c);
            break;
        case 'M':
        case 'L':
            if (c >= 4)
                rill__buf_printf(b, "%s", MONTHS[t->mo - 1]);
            else if (c == 3)
                rill__buf_printf(b, "%.3s", MONTHS[t->mo - 1]);
            else
                put_num(b, t->mo, c);
            break;
        case 'd':
            put_num(b, t->d, c);
            break;
        case 'D':
            put_num(b, t->days - rill__days_from_civil(t->y, 1, 1) + 1, c);
            break;
        case 'H':
            put_num(b, t->h, c);
            break;
        case 'k':
            put_num(b, t->h ? t->h : 24, c);
            break;
        case 'K':
            put_num(b, t->h % 12, c);
            break;
        case 'h':
            put_num(b, t->h % 12 ? t->h % 12 : 12, c);
            break;
        case 'm':
            put_num(b, t->mi, c);
            break;
        case 's':
            put_num(b, t->s, c);
            break;
        case 'S':
            if (sdf) {
                put_num(b, t->ns / 1000000, c);
            } else {
                char f[16];
                snprintf(f, sizeof f, "%09lld", (long long)t->ns);
                if (c > 9)
                    return "too many pattern letters: S";
                rill__buf_append(b, f, (size_t)c);
            }
            break;
        case 'E':
            if (c >= 4)
                rill__buf_printf(b, "%s", WEEKDAYS[weekday(t->days)]);
            else
                rill__buf_printf(b, "%.3s", WEEKDAYS[weekday(t->days)]);
            break;
        case 'a':
            rill__buf_append(b, t->h < 12 ? "AM" : "PM", 2);
            break;
        case 'Z':
        case 'X':
        case 'x':
            if (!has_off)
                return "Unsupported field: OffsetSeconds (a date-time without a zone)";
            if (it.letter == 'Z')
                put_offset(b, off, c >= 4 && c != 4, false, 2);
            else
                put_offset(b, off, c >= 3, it.letter == 'X', c);
            break;
        default:
            snprintf(msg, 64, "Unknown pattern letter: %c", it.letter);
            return msg;
        }
    }
    return NULL;
}

static bool is_num_letter(char l)
{
    return l && strchr("yuMdDHkKhmsS", l) && l != 0;
}

static int match_name(const char **p, const char *e, const char *const *names, int n, bool short_)
{
    for (int i = 0; i < n; i++) {
        size_t len = short_ ? 3 : strlen(names[i]);
        if ((size_t)(e - *p) >= len && !strncasecmp(*p, names[i], len)) {
            *p += len;
            return i;
        }
    }
    return -1;
}

/* Parses text with a pattern into a local (seconds, nanoseconds); fields not in the pattern
 * are 1970-01-01 00:00:00. sdf: SimpleDateFormat's lenient parse (numbers take any digits,
 * text after the pattern is ignored, an offset in the text is applied: *has_off); else
 * DateTimeFormatter's (fixed widths, the whole text). False when it does not parse. */
static bool parse_pattern(const char *s, size_t n, const char *pat, size_t pn, bool sdf,
                          int64_t *secs, int64_t *ns, bool *has_off, int32_t *off)
{
    int64_t y = 1970, mo = 1, d = 1, h = 0, mi = 0, sec = 0, frac = 0;
    int pm = -1, h12 = -1;
    *has_off = false;
    const char *p = s, *e = s + n, *q = pat, *qe = pat + pn;
    pitem it, nx;
    bool have = next_item(&q, qe, &it);
    while (have) {
        const char *save = q;
        bool more = next_item(&q, qe, &nx);
        q = save;
        if (it.count < 0)
            return false;
        if (!it.letter) {
            if ((size_t)(e - p) < it.lit_len || memcmp(p, it.lit, it.lit_len))
                return false;
            p += it.lit_len;
        } else {
            char l = it.letter == 'u' && !sdf ? 'y' : it.letter;
            bool adjacent = more && is_num_letter(nx.letter);
            int c = it.count;
            int64_t v = 0;
            if (is_num_letter(l) && !(l == 'M' && c >= 3)) {
                int min = 1, max = 9;
                if (adjacent || (!sdf && c >= 2 && l != 'y'))
                    min = max = c;
                if (!sdf && l == 'y' && c != 2 && !adjacent)
                    min = c == 1 ? 1 : c, max = 9;
                if (!sdf && l == 'y' && c == 2)
                    min = max = 2;
                if (l == 'S' && !sdf)
                    max = RILL_MIN(c, 9), min = max;
                bool neg = false;
                if (l == 'y' && p < e && *p == '-' && sdf)
                    neg = true, p++;
                const char *at = p;
                if (!digits(&p, e, min, max, &v))
                    return false;
                if (neg)
                    v = -v;
                switch (l) {
                case 'y':
                    y = (c == 2 && p - at == 2) ? 2000 + v : v;
                    if (sdf && c <= 2 && p - at == 2) /* SimpleDateFormat: within 80 years */
                        y = v + 2000 > 2046 ? 1900 + v : 2000 + v;
                    break;
                case 'M':
                    mo = v;
                    break;
                case 'd':
                    d = v;
                    break;
                case 'D':
                    mo = 1, d = v;
                    break;
                case 'H':
                    h = v;
                    break;
                case 'k':
                    h = v == 24 ? 0 : v;
                    break;
                case 'K':
                case 'h':
                    h12 = (int)(v % 12);
                    break;
                case 'm':
                    mi = v;
                    break;
                case 's':
                    sec = v;
                    break;
                case 'S':
                    if (sdf) {
                        frac = v * 1000000; /* milliseconds */
                    } else {
                        frac = v;
                        for (ptrdiff_t k = p - at; k < 9; k++)
                            frac *= 10;
                    }
                    break;
                case 'u':
                    break; /* the day of the week: not checked */
                }
            } else if (l == 'M') {
                int i = match_name(&p, e, MONTHS, 12, c == 3);
                if (i < 0)
                    return false;
                mo = i + 1;
            } else if (l == 'E') {
                if (match_name(&p, e, WEEKDAYS, 7, c < 4) < 0)
                    return false;
            } else if (l == 'a') {
                if ((size_t)(e - p) < 2 || (strncasecmp(p, "AM", 2) && strncasecmp(p, "PM", 2)))
                    return false;
                pm = (p[0] | 0x20) == 'p';
                p += 2;
            } else if (l == 'Z' || l == 'X' || l == 'x') {
                if (p < e && *p == 'Z' && l == 'X') {
                    p++;
                    *off = 0;
                } else {
                    if (p >= e || (*p != '+' && *p != '-'))
                        return false;
                    int sign = *p++ == '-' ? -1 : 1;
                    int64_t oh, om = 0;
                    if (!digits(&p, e, 2, 2, &oh))
                        return false;
                    if (p < e && *p == ':')
                        p++;
                    if (p < e && *p >= '0' && *p <= '9' && !digits(&p, e, 2, 2, &om))
                        return false;
                    *off = (int32_t)(sign * (oh * 3600 + om * 60));
                }
                *has_off = true;
            } else if (l == 'G') {
                if ((size_t)(e - p) < 2 || (strncmp(p, "AD", 2) && strncmp(p, "BC", 2)))
                    return false;
                p += 2;
            } else {
                return false;
            }
        }
        have = more;
        if (more)
            next_item(&q, qe, &it);
    }
    if (!sdf && p != e)
        return false;
    if (h12 >= 0)
        h = h12 + (pm == 1 ? 12 : 0);
    else if (pm == 1 && h < 12)
        h += 12;
    if (sdf) { /* lenient: out-of-range fields roll over */
        int64_t t = y * 12 + (mo - 1);
        int64_t days = rill__days_from_civil(floor_div(t, 12), (int)floor_mod(t, 12) + 1, 1) + d - 1;
        *secs = days * DAYS + h * 3600 + mi * 60 + sec;
    } else {
        if (!valid_ymd(y, mo, d) || h > 23 || mi > 59 || sec > 59)
            return false;
        *secs = rill__days_from_civil(y, (int)mo, (int)d) * DAYS + h * 3600 + mi * 60 + sec;
    }
    *ns = frac;
    return true;
}

/* ---- CAST to and from character strings ---------------------------------------------------- */

bool rill__sql_cast_time_text_ok(const rill__sql_ltype *from, const rill__sql_ltype *to)
{
    const rill__sql_ltype *other = rill__sql_is_character(from) ? to : from;
    return (rill__sql_is_character(from) || rill__sql_is_character(to)) &&
           rill__sql_is_datetime(other);
}

int rill__sql_cast_time_text(rill__sql_fn_ctx *c, const rill__sql_ltype *from,
                             const rill__sql_ltype *to, const rill__sql_val *in, rill__sql_val *out)
{
    /* TIMESTAMP_LTZ's text is its local date-time in the session's zone (the CAST's) */
    const rill__tz *z = c->x->zone ? rill__tz_get(c->x->zone) : NULL;
    if (!z)
        z = utc_zone();
    if (!rill__sql_is_character(from)) { /* to text: Flink's yyyy-MM-dd HH:mm:ss[.f{p}] */
        int64_t secs, ns;
        local_of(from, in->v, z, &secs, &ns);
        if (from->root == RILL_SQLT_DATE)
            put_date(&c->tmp, floor_div(secs, DAYS));
        else if (from->root == RILL_SQLT_TIME)
            put_hms(&c->tmp, floor_mod(secs, DAYS), ns, RILL_MIN(from->precision, 3));
        else
            put_local(&c->tmp, secs, ns, from->precision);
        out->b = (const char *)c->tmp.data;
        out->len = c->tmp.len;
        return 0;
    }
    int64_t secs = 0, ns = 0, days, sod;
    bool ok;
    const char *p = in->b, *e = in->b + in->len;
    switch (to->root) {
    case RILL_SQLT_DATE:
        ok = parse_date_text(in->b, in->len, &days);
        secs = ok ? days * DAYS : 0;
        break;
    case RILL_SQLT_TIME:
        trim(&p, &e);
        ok = parse_hms(&p, e, false, &sod, &ns) && p == e;
        secs = ok ? sod : 0;
        break;
    default:
        ok = parse_ts_text(in->b, in->len, &secs, &ns);
        break;
    }
    if (!ok || !value_of(to, secs, ns, z, &out->v)) {
        static const char *const names[] = {[RILL_SQLT_DATE] = "DATE",
                                            [RILL_SQLT_TIME] = "TIME",
                                            [RILL_SQLT_TIMESTAMP] = "TIMESTAMP",
                                            [RILL_SQLT_TIMESTAMP_LTZ] = "TIMESTAMP_LTZ"};
        return rill__sql_fn_fail(c, "Cannot cast '%.*s' to %s", (int)RILL_MIN(in->len, 64), in->b,
                                 names[to->root]);
    }
    return 0;
}

/* ---- infer helpers ------------------------------------------------------------------------- */

static bool is_null_type(const rill__sql_ltype *t)
{
    return t->root == RILL_SQLT_NULL;
}

static bool is_text(const rill__sql_ltype *t)
{
    return rill__sql_is_character(t) || is_null_type(t);
}

static const rill__sql_ltype *string_type(rill__arena *a, bool nullable)
{
    return rill__sql_fn_type(a, RILL_SQLT_VARCHAR, RILL_SQL_MAX_LENGTH, 0, nullable);
}

/* The session zone must be one rill knows (planning refuses it otherwise). */
static bool zone_ok(const rill__sql_fn_call *call, char *msg, size_t cap)
{
    if (rill__tz_get(call->zone))
        return true;
    snprintf(msg, cap,
             "Invalid time zone '%s' in 'table.local-time-zone': expected a region such as "
             "'America/Los_Angeles', 'UTC', or an offset such as 'GMT-08:00' or '+08:00'",
             call->zone);
    return false;
}

/* A constant zone argument must be known. */
static bool zone_arg_ok(const rill__sql_fn_call *call, int i, char *msg, size_t cap)
{
    const rill__sql_rex *x = call->args[i];
    if (x->op != RILL_SQLX_LITERAL || x->lit_null || !x->lit_bytes)
        return true;
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)RILL_MIN(x->lit, 127), x->lit_bytes);
    if (rill__tz_get(name))
        return true;
    snprintf(msg, cap, "Invalid time zone '%s' in %s", name, call->name);
    return false;
}

static bool any_ltz(const rill__sql_fn_call *call)
{
    for (int i = 0; i < call->n_args; i++)
        if (call->args[i]->type->root == RILL_SQLT_TIMESTAMP_LTZ)
            return true;
    return false;
}

/* A zone named by a string value. */
static const rill__tz *zone_named(rill__sql_fn_ctx *c, const rill__sql_val *v, int *rc)
{
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)RILL_MIN(v->len, 127), v->b);
    const rill__tz *z = rill__tz_get(name);
    *rc = z ? 0 : rill__sql_fn_fail(c, "Invalid time zone '%s' in %s", name, c->x->call->name);
    return z;
}

static int set_text(rill__sql_fn_ctx *c, rill__sql_val *out)
{
    out->b = (const char *)c->tmp.data;
    out->len = c->tmp.len;
    return 0;
}

/* ---- DATE_FORMAT ----------------------------------------------------------------------------- */

static const rill__sql_ltype *date_format_infer(rill__arena *a, const rill__sql_fn_call *call,
                                                const rill__sql_ltype **cast, char *msg, size_t cap)
{
    (void)cast;
    const rill__sql_ltype *t = call->args[0]->type;
    if ((!rill__sql_is_datetime(t) || t->root == RILL_SQLT_TIME) && !is_text(t)) {
        snprintf(msg, cap, "DATE_FORMAT takes a timestamp or a string, and a format string");
        return NULL;
    }
    if (!is_text(call->args[1]->type)) {
        snprintf(msg, cap, "DATE_FORMAT's format must be a string");
        return NULL;
    }
    if (any_ltz(call) && !zone_ok(call, msg, cap))
        return NULL;
    return string_type(a, rill__sql_fn_any_nullable(call));
}

static int date_format_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    const rill__sql_ltype *t = c->x->args[0]->type;
    int64_t secs, ns;
    const char *bad;
    char bad_msg[64];
    dtm d;
    if (rill__sql_is_character(t)) {
        /* Flink: the string read as yyyy-MM-dd HH:mm:ss, formatted by SimpleDateFormat */
        bool ho;
        int32_t off;
        static const char def[] = "yyyy-MM-dd HH:mm:ss";
        if (!parse_pattern(args[0].b, args[0].len, def, sizeof def - 1, true, &secs, &ns, &ho,
                           &off)) {
            out->null = true;
            return 0;
        }
        if (ho)
            secs -= off;
        split(secs, ns, &d);
        bad = format_pattern(&c->tmp, args[1].b, args[1].len, &d, true, true, 0, bad_msg);
    } else {
        local_of(t, args[0].v, zone_of(c), &secs, &ns);
        split(secs, ns, &d);
        bad = format_pattern(&c->tmp, args[1].b, args[1].len, &d, false, false, 0, bad_msg);
    }
    if (bad)
        return rill__sql_fn_fail(c, "DATE_FORMAT with the format '%.*s': %s",
                                 (int)RILL_MIN(args[1].len, 64), args[1].b, bad);
    return set_text(c, out);
}

/* ---- EXTRACT and YEAR(), MONTH()... ---------------------------------------------------------- */

static bool date_unit(rill__sql_unit u)
{
    switch (u) {
    case RILL_SQL_UNIT_YEAR:
    case RILL_SQL_UNIT_QUARTER:
    case RILL_SQL_UNIT_MONTH:
    case RILL_SQL_UNIT_WEEK:
    case RILL_SQL_UNIT_DAY:
    case RILL_SQL_UNIT_DOW:
    case RILL_SQL_UNIT_DOY:
    case RILL_SQL_UNIT_DECADE:
    case RILL_SQL_UNIT_CENTURY:
    case RILL_SQL_UNIT_MILLENNIUM:
    case RILL_SQL_UNIT_ISODOW:
    case RILL_SQL_UNIT_ISOYEAR:
        return true;
    default:
        return false;
    }
}

/* The unit a call extracts: EXTRACT's own, or the one its name stands for. */
static rill__sql_unit part_unit(const rill__sql_fn_call *call)
{
    static const struct {
        const char *name;
        rill__sql_unit unit;
    } names[] = {{"YEAR", RILL_SQL_UNIT_YEAR},     {"QUARTER", RILL_SQL_UNIT_QUARTER},
                 {"MONTH", RILL_SQL_UNIT_MONTH},   {"WEEK", RILL_SQL_UNIT_WEEK},
                 {"DAYOFYEAR", RILL_SQL_UNIT_DOY}, {"DAYOFMONTH", RILL_SQL_UNIT_DAY},
                 {"DAYOFWEEK", RILL_SQL_UNIT_DOW}, {"HOUR", RILL_SQL_UNIT_HOUR},
                 {"MINUTE", RILL_SQL_UNIT_MINUTE}, {"SECOND", RILL_SQL_UNIT_SECOND}};
    if (call->form == RILL_SQL_C_EXTRACT)
        return call->unit;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(call->name, names[i].name))
            return names[i].unit;
    return RILL_SQL_UNIT_NONE;
}

static const rill__sql_ltype *extract_infer(rill__arena *a, const rill__sql_fn_call *call,
                                            const rill__sql_ltype **cast, char *msg, size_t cap)
{
    (void)cast;
    const rill__sql_ltype *t = call->args[0]->type;
    rill__sql_unit u = part_unit(call);
    const char *un = rill__sql_unit_name(u);
    bool ok;
    switch (t->root) {
    case RILL_SQLT_NULL:
        ok = true;
        break;
    case RILL_SQLT_DATE:
        ok = date_unit(u) || u == RILL_SQL_UNIT_EPOCH;
        break;
    case RILL_SQLT_TIME:
        ok = !date_unit(u) && u != RILL_SQL_UNIT_EPOCH;
        break;
    case RILL_SQLT_TIMESTAMP:
    case RILL_SQLT_TIMESTAMP_LTZ:
        ok = true;
        break;
    case RILL_SQLT_INTERVAL_YM:
        ok = u == RILL_SQL_UNIT_YEAR || u == RILL_SQL_UNIT_MONTH || u == RILL_SQL_UNIT_QUARTER;
        break;
    case RILL_SQLT_INTERVAL_DT:
        ok = u == RILL_SQL_UNIT_DAY || u == RILL_SQL_UNIT_HOUR || u == RILL_SQL_UNIT_MINUTE ||
             u == RILL_SQL_UNIT_SECOND || u == RILL_SQL_UNIT_MILLISECOND ||
             u == RILL_SQL_UNIT_EPOCH;
        break;
    default:
        ok = false;
        break;
    }
    if (!ok) {
        if (call->form == RILL_SQL_C_EXTRACT)
            snprintf(msg, cap,
                     "Cannot apply 'EXTRACT' to arguments of type 'EXTRACT(<INTERVAL %s> FROM "
                     "<%s>)'",
                     un, rill__sql_type_str(a, rill__sql_type_with_null(a, t, false)));
        else
            snprintf(msg, cap, "Cannot apply '%s' to an argument of type '%s'", call->name,
                     rill__sql_type_str(a, t));
        return NULL;
    }
    if (t->root == RILL_SQLT_TIMESTAMP_LTZ && !zone_ok(call, msg, cap))
        return NULL;
    return rill__sql_fn_type(a, RILL_SQLT_BIGINT, 0, 0, t->nullable);
}

/* A unit of a local date-time. */
static int64_t extract_local(rill__sql_unit u, int64_t secs, int64_t ns)
{
    dtm d;
    split(secs, ns, &d);
    int64_t iy;
    switch (u) {
    case RILL_SQL_UNIT_YEAR:
        return d.y;
    case RILL_SQL_UNIT_QUARTER:
        return (d.mo + 2) / 3;
    case RILL_SQL_UNIT_MONTH:
        return d.mo;
    case RILL_SQL_UNIT_WEEK:
        return iso_week(d.days, &iy);
    case RILL_SQL_UNIT_ISOYEAR:
        iso_week(d.days, &iy);
        return iy;
    case RILL_SQL_UNIT_DAY:
        return d.d;
    case RILL_SQL_UNIT_HOUR:
        return d.h;
    case RILL_SQL_UNIT_MINUTE:
        return d.mi;
    case RILL_SQL_UNIT_SECOND:
        return d.s;
    case RILL_SQL_UNIT_MILLISECOND: /* Flink's: within the second */
        return ns / 1000000;
    case RILL_SQL_UNIT_MICROSECOND:
        return ns / 1000;
    case RILL_SQL_UNIT_NANOSECOND:
        return ns;
    case RILL_SQL_UNIT_DOW:
        return weekday(d.days) + 1;
    case RILL_SQL_UNIT_ISODOW:
        return (weekday(d.days) + 6) % 7 + 1;
    case RILL_SQL_UNIT_DOY:
        return d.days - rill__days_from_civil(d.y, 1, 1) + 1;
    case RILL_SQL_UNIT_EPOCH: /* Flink's: milliseconds / 1000, truncated */
        return secs < 0 && ns > 0 ? secs + 1 : secs;
    case RILL_SQL_UNIT_DECADE:
        return d.y / 10;
    case RILL_SQL_UNIT_CENTURY:
        return d.y > 0 ? (d.y + 99) / 100 : (d.y - 99) / 100;
    case RILL_SQL_UNIT_MILLENNIUM:
        return d.y > 0 ? (d.y + 999) / 1000 : (d.y - 999) / 1000;
    default:
        return 0;
    }
}

static int extract_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    const rill__sql_ltype *t = c->x->args[0]->type;
    rill__sql_unit u = part_unit(c->x->call);
    int64_t v = (int64_t)args[0].v, r;
    if (t->root == RILL_SQLT_INTERVAL_YM) {
        r = u == RILL_SQL_UNIT_YEAR ? v / 12 : u == RILL_SQL_UNIT_MONTH ? v % 12 : v % 12 / 3 + 1;
    } else if (t->root == RILL_SQLT_INTERVAL_DT) { /* Java's truncating division */
        r = u == RILL_SQL_UNIT_DAY      ? v / 86400000
            : u == RILL_SQL_UNIT_HOUR   ? v % 86400000 / 3600000
            : u == RILL_SQL_UNIT_MINUTE ? v % 3600000 / 60000
            : u == RILL_SQL_UNIT_SECOND ? v % 60000 / 1000
            : u == RILL_SQL_UNIT_EPOCH  ? v / 1000
                                        : v % 1000;
    } else {
        int64_t secs, ns;
        local_of(t, args[0].v, zone_of(c), &secs, &ns);
        r = extract_local(u, secs, ns);
    }
    out->v = (uint64_t)r;
    return 0;
}

/* ---- parsing: TO_TIMESTAMP, TO_DATE, UNIX_TIMESTAMP ------------------------------------------ */

static bool texts_ok(const rill__sql_fn_call *call, char *msg, size_t cap, const char *what)
{
    for (int i = 0; i < call->n_args; i++)
        if (!is_text(call->args[i]->type)) {
            snprintf(msg, cap, "%s takes %s", call->name, what);
            return false;
        }
    return true;
}

static const rill__sql_ltype *to_timestamp_infer(rill__arena *a, const rill__sql_fn_call *call,
                                                 const rill__sql_ltype **cast, char *msg,
                                                 size_t cap)
{
    (void)cast;
    if (!texts_ok(call, msg, cap, "a string and an optional format string"))
        return NULL;
    bool date = !strcmp(call->name, "TO_DATE");
    return rill__sql_fn_type(a, date ? RILL_SQLT_DATE : RILL_SQLT_TIMESTAMP, date ? 0 : 3, 0, true);
}

/* A local date-time from a string: Flink's default form, or a DateTimeFormatter pattern (then
 * Flink falls back to java.sql.Timestamp's yyyy-M-d H:m:s[.f] or Date's yyyy-M-d). */
static bool parse_local(const rill__sql_val *args, int n, int64_t *secs, int64_t *ns)
{
    if (n < 2)
        return parse_ts_text(args[0].b, args[0].len, secs, ns);
    bool ho;
    int32_t off;
    if (parse_pattern(args[0].b, args[0].len, args[1].b, args[1].len, false, secs, ns, &ho, &off))
        return true;
    const char *p = args[0].b, *e = p + args[0].len;
    trim(&p, &e);
    int64_t days, sod = 0;
    *ns = 0;
    if (!parse_ymd(&p, e, &days))
        return false;
    if (p < e && *p == ' ') {
        p++;
        if (!parse_hms(&p, e, true, &sod, ns))
            return false;
    }
    *secs = days * DAYS + sod;
    return p == e;
}

static int to_timestamp_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    int64_t secs, ns;
    bool date = c->x->type->root == RILL_SQLT_DATE;
    bool ok;
    if (date && c->x->n_args < 2) {
        int64_t days;
        ok = parse_date_text(args[0].b, args[0].len, &days);
        secs = days * DAYS, ns = 0;
    } else {
        ok = parse_local(args, c->x->n_args, &secs, &ns);
    }
    if (!ok || !value_of(c->x->type, secs, ns, utc_zone(), &out->v))
        out->null = true;
    return 0;
}

static const rill__sql_ltype *unix_timestamp_infer(rill__arena *a, const rill__sql_fn_call *call,
                                                   const rill__sql_ltype **cast, char *msg,
                                                   size_t cap)
{
    (void)cast;
    if (!texts_ok(call, msg, cap, "no argument, or a string and an optional format string") ||
        !zone_ok(call, msg, cap))
        return NULL;
    return rill__sql_fn_type(a, RILL_SQLT_BIGINT, 0, 0, rill__sql_fn_any_nullable(call));
}

static int unix_timestamp_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    if (c->x->n_args == 0) {
        out->v = (uint64_t)floor_div(rill__now_ms(), 1000);
        return 0;
    }
    static const char def[] = "yyyy-MM-dd HH:mm:ss";
    const char *pat = c->x->n_args > 1 ? args[1].b : def;
    size_t pn = c->x->n_args > 1 ? args[1].len : sizeof def - 1;
    int64_t secs, ns;
    bool ho;
    int32_t off;
    if (!parse_pattern(args[0].b, args[0].len, pat, pn, true, &secs, &ns, &ho, &off)) {
        out->v = (uint64_t)INT64_MIN; /* Flink's value for a string that does not parse */
        return 0;
    }
    out->v = (uint64_t)(ho ? secs - off : rill__tz_from_local(zone_of(c), secs));
    return 0;
}

/* ---- FROM_UNIXTIME, TO_TIMESTAMP_LTZ --------------------------------------------------------- */

static const rill__sql_ltype *from_unixtime_infer(rill__arena *a, const rill__sql_fn_call *call,
                                                  const rill__sql_ltype **cast, char *msg,
                                                  size_t cap)
{
    const rill__sql_ltype *t = call->args[0]->type;
    if (!rill__sql_is_integer(t) && !is_null_type(t)) {
        snprintf(msg, cap, "FROM_UNIXTIME takes an integer of seconds and an optional format");
        return NULL;
    }
    if (call->n_args > 1 && !is_text(call->args[1]->type)) {
        snprintf(msg, cap, "FROM_UNIXTIME's format must be a string");
        return NULL;
    }
    if (!zone_ok(call, msg, cap))
        return NULL;
    cast[0] = rill__sql_fn_type(a, RILL_SQLT_BIGINT, 0, 0, t->nullable);
    return string_type(a, rill__sql_fn_any_nullable(call));
}

static int from_unixtime_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    int64_t s = (int64_t)args[0].v;
    if (s > INT64_MAX / 2000 || s < INT64_MIN / 2000)
        return rill__sql_fn_fail(c, "FROM_UNIXTIME: %lld seconds is out of range", (long long)s);
    const rill__tz *z = zone_of(c);
    int32_t off = rill__tz_offset(z, s);
    dtm d;
    split(s + off, 0, &d);
    static const char def[] = "yyyy-MM-dd HH:mm:ss";
    char bad_msg[64];
    const char *bad =
        c->x->n_args > 1
            ? format_pattern(&c->tmp, args[1].b, args[1].len, &d, true, true, off, bad_msg)
            : format_pattern(&c->tmp, def, sizeof def - 1, &d, true, true, off, bad_msg);
    if (bad)
        return rill__sql_fn_fail(c, "FROM_UNIXTIME: %s", bad);
    return set_text(c, out);
}

static const rill__sql_ltype *to_ltz_infer(rill__arena *a, const rill__sql_fn_call *call,
                                           const rill__sql_ltype **cast, char *msg, size_t cap)
{
    (void)cast;
    const rill__sql_ltype *t = call->args[0]->type;
    if (!rill__sql_is_numeric(t) && !is_null_type(t)) {
        snprintf(msg, cap,
                 "TO_TIMESTAMP_LTZ takes a number of seconds or milliseconds and its "
                 "precision (0 or 3)");
        return NULL;
    }
    if (call->n_args > 1) {
        const rill__sql_rex *p = call->args[1];
        if (p->op != RILL_SQLX_LITERAL || !rill__sql_is_integer(p->type) || p->lit_null ||
            (p->lit != 0 && p->lit != 3)) {
            snprintf(msg, cap,
                     "The precision value for function TO_TIMESTAMP_LTZ(numeric, precision) is "
                     "unsupported, the supported value is '0' for second or '3' for millisecond");
            return NULL;
        }
    }
    if (t->root == RILL_SQLT_FLOAT)
        cast[0] = rill__sql_fn_type(a, RILL_SQLT_DOUBLE, 0, 0, t->nullable);
    return rill__sql_fn_type(a, RILL_SQLT_TIMESTAMP_LTZ, 3, 0, true);
}

static int to_ltz_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    const rill__sql_ltype *t = c->x->args[0]->type;
    bool secs = c->x->n_args > 1 && args[1].v == 0;
    /* Flink's range: years 0000 to 9999 */
    const double lo = -62167219200000.0, hi = 253402300799999.0;
    double ms;
    if (t->root == RILL_SQLT_DOUBLE) {
        double d = rill__sql_val_double(&args[0]);
        ms = secs ? d * 1000 : d;
        if (!(ms >= lo && ms <= hi)) {
            out->null = true;
            return 0;
        }
        out->v = (uint64_t)(int64_t)ms;
        return 0;
    }
    rill__i128 v;
    if (t->root == RILL_SQLT_DECIMAL) { /* the integer part (towards zero) */
        rill__i128 p = 1;
        for (int i = 0; i < t->scale; i++)
            p *= 10;
        v = args[0].dec / p;
    } else {
        v = (int64_t)args[0].v;
    }
    if (secs)
        v *= 1000;
    if (v < (rill__i128)lo || v > (rill__i128)hi) {
        out->null = true;
        return 0;
    }
    out->v = (uint64_t)(int64_t)v;
    return 0;
}

/* ---- the current time ------------------------------------------------------------------------ */

static const rill__sql_ltype *now_infer(rill__arena *a, const rill__sql_fn_call *call,
                                        const rill__sql_ltype **cast, char *msg, size_t cap)
{
    (void)cast;
    bool niladic = strcmp(call->name, "NOW") && strcmp(call->name, "CURRENT_ROW_TIMESTAMP");
    if (niladic != (call->form == RILL_SQL_C_NILADIC)) {
        snprintf(msg, cap,
                 niladic ? "%s is written without parentheses"
                         : "%s is written with parentheses: %s()",
                 call->name, call->name);
        return NULL;
    }
    if (!zone_ok(call, msg, cap))
        return NULL;
    const char *n = call->name;
    if (!strcmp(n, "CURRENT_DATE"))
        return rill__sql_fn_type(a, RILL_SQLT_DATE, 0, 0, false);
    if (!strcmp(n, "CURRENT_TIME") || !strcmp(n, "LOCALTIME"))
        return rill__sql_fn_type(a, RILL_SQLT_TIME, 0, 0, false);
    if (!strcmp(n, "LOCALTIMESTAMP"))
        return rill__sql_fn_type(a, RILL_SQLT_TIMESTAMP, 3, 0, false);
    return rill__sql_fn_type(a, RILL_SQLT_TIMESTAMP_LTZ, 3, 0, false);
}

static int now_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    (void)args;
    int64_t ms = rill__now_ms(), s = floor_div(ms, 1000);
    const rill__sql_ltype *t = c->x->type;
    if (t->root == RILL_SQLT_TIMESTAMP_LTZ) {
        out->v = (uint64_t)ms;
        return 0;
    }
    const rill__tz *z = zone_of(c);
    value_of(t, s + rill__tz_offset(z, s), (ms - s * 1000) * 1000000, z, &out->v);
    return 0;
}

/* ---- TIMESTAMPADD, TIMESTAMPDIFF ------------------------------------------------------------- */

/* A unit's length in nanoseconds (0: counted in months). */
static int64_t unit_ns(rill__sql_unit u)
{
    switch (u) {
    case RILL_SQL_UNIT_WEEK:
        return 7 * DAYS * NS;
    case RILL_SQL_UNIT_DAY:
        return DAYS * NS;
    case RILL_SQL_UNIT_HOUR:
        return 3600 * NS;
    case RILL_SQL_UNIT_MINUTE:
        return 60 * NS;
    case RILL_SQL_UNIT_SECOND:
        return NS;
    case RILL_SQL_UNIT_MILLISECOND:
        return 1000000;
    case RILL_SQL_UNIT_MICROSECOND:
        return 1000;
    case RILL_SQL_UNIT_NANOSECOND:
        return 1;
    default:
        return 0;
    }
}

static int64_t unit_months(rill__sql_unit u)
{
    return u == RILL_SQL_UNIT_YEAR ? 12 : u == RILL_SQL_UNIT_QUARTER ? 3 : 1;
}

static bool add_unit(rill__sql_unit u)
{
    return u == RILL_SQL_UNIT_YEAR || u == RILL_SQL_UNIT_QUARTER || u == RILL_SQL_UNIT_MONTH ||
           unit_ns(u) > 0;
}

static const rill__sql_ltype *tsadd_infer(rill__arena *a, const rill__sql_fn_call *call,
                                          const rill__sql_ltype **cast, char *msg, size_t cap)
{
    const rill__sql_ltype *n = call->args[0]->type, *t = call->args[1]->type;
    rill__sql_unit u = call->unit;
    if (!add_unit(u)) {
        snprintf(msg, cap, "TIMESTAMPADD does not take the unit %s", rill__sql_unit_name(u));
        return NULL;
    }
    if ((!rill__sql_is_integer(n) && !is_null_type(n)) ||
        (!rill__sql_is_datetime(t) && !is_null_type(t))) {
        snprintf(msg, cap, "TIMESTAMPADD takes a unit, an integer and a date, time or timestamp");
        return NULL;
    }
    bool nullable = rill__sql_fn_any_nullable(call);
    cast[0] = rill__sql_fn_type(a, RILL_SQLT_BIGINT, 0, 0, n->nullable);
    if (is_null_type(t))
        return rill__sql_fn_type(a, RILL_SQLT_TIMESTAMP, 3, 0, true);
    if (t->root == RILL_SQLT_TIME && (unit_ns(u) == 0 || unit_ns(u) >= DAYS * NS)) {
        snprintf(msg, cap, "TIMESTAMPADD cannot add %s to a TIME", rill__sql_unit_name(u));
        return NULL;
    }
    if (t->root == RILL_SQLT_TIMESTAMP_LTZ && !zone_ok(call, msg, cap))
        return NULL;
    if (t->root == RILL_SQLT_DATE && unit_ns(u) > 0 && unit_ns(u) < DAYS * NS)
        return rill__sql_fn_type(a, RILL_SQLT_TIMESTAMP, 3, 0, nullable);
    return rill__sql_type_with_null(a, rill__sql_type_with_attr(a, t, RILL_SQLA_NONE), nullable);
}

static int tsadd_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    const rill__sql_ltype *t = c->x->args[1]->type, *rt = c->x->type;
    rill__sql_unit u = c->x->call->unit;
    int64_t n = (int64_t)args[0].v, secs, ns;
    /* months count in the session's calendar; the other units are durations of the instant */
    const rill__tz *z = unit_ns(u) ? utc_zone() : zone_of(c);
    local_of(t, args[1].v, z, &secs, &ns);
    bool ok = true;
    if (unit_ns(u) == 0) { /* months, in the local calendar */
        rill__i128 m = (rill__i128)n * unit_months(u);
        if (m > INT32_MAX * (rill__i128)12 || m < -(rill__i128)INT32_MAX * 12) {
            ok = false;
        } else {
            int64_t days = floor_div(secs, DAYS), sod = secs - days * DAYS;
            secs = add_months(days, (int64_t)m) * DAYS + sod;
        }
    } else {
        rill__i128 total = (rill__i128)secs * NS + ns + (rill__i128)n * unit_ns(u);
        rill__i128 lim = (rill__i128)(INT64_MAX / 2000) * NS;
        if (total > lim || total < -lim) {
            ok = false;
        } else {
            secs = (int64_t)(total / NS);
            ns = (int64_t)(total % NS);
            if (ns < 0)
                ns += NS, secs--;
        }
    }
    if (!ok || !value_of(rt, secs, ns, z, &out->v))
        return rill__sql_fn_fail(c, "TIMESTAMPADD: the result is out of range");
    return 0;
}

static const rill__sql_ltype *tsdiff_infer(rill__arena *a, const rill__sql_fn_call *call,
                                           const rill__sql_ltype **cast, char *msg, size_t cap)
{
    (void)cast;
    const rill__sql_ltype *x = call->args[0]->type, *y = call->args[1]->type;
    if (!add_unit(call->unit)) {
        snprintf(msg, cap, "TIMESTAMPDIFF does not take the unit %s",
                 rill__sql_unit_name(call->unit));
        return NULL;
    }
    bool okx = rill__sql_is_datetime(x) || is_null_type(x);
    bool oky = rill__sql_is_datetime(y) || is_null_type(y);
    if (!okx || !oky || x->root == RILL_SQLT_TIME || y->root == RILL_SQLT_TIME) {
        snprintf(msg, cap, "TIMESTAMPDIFF takes a unit and two dates or timestamps");
        return NULL;
    }
    if ((x->root == RILL_SQLT_TIMESTAMP_LTZ) != (y->root == RILL_SQLT_TIMESTAMP_LTZ) &&
        !is_null_type(x) && !is_null_type(y)) {
        snprintf(msg, cap,
                 "TIMESTAMPDIFF takes two values of the same kind: TIMESTAMP_LTZ with "
                 "TIMESTAMP_LTZ, and DATE or TIMESTAMP with each other");
        return NULL;
    }
    if (any_ltz(call) && !zone_ok(call, msg, cap))
        return NULL;
    return rill__sql_fn_type(a, RILL_SQLT_INT, 0, 0, rill__sql_fn_any_nullable(call));
}

static int tsdiff_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    rill__sql_unit u = c->x->call->unit;
    const rill__tz *z = unit_ns(u) ? utc_zone() : zone_of(c); /* as TIMESTAMPADD */
    int64_t s0, n0, s1, n1;
    local_of(c->x->args[0]->type, args[0].v, z, &s0, &n0);
    local_of(c->x->args[1]->type, args[1].v, z, &s1, &n1);
    int64_t r;
    if (unit_ns(u) == 0) {
        int64_t d0 = floor_div(s0, DAYS), d1 = floor_div(s1, DAYS);
        int64_t t0 = (s0 - d0 * DAYS) * NS + n0, t1 = (s1 - d1 * DAYS) * NS + n1;
        r = months_between(d1, t1, d0, t0) / unit_months(u);
    } else {
        rill__i128 d = ((rill__i128)s1 - s0) * NS + (n1 - n0);
        r = (int64_t)(d / unit_ns(u));
    }
    out->v = (uint64_t)(int64_t)(int32_t)(uint32_t)(uint64_t)r; /* Java's (int) */
    return 0;
}

/* ---- CEIL/FLOOR(x TO unit) ------------------------------------------------------------------- */

const rill__sql_ltype *rill__sql_fn_time_ceil_floor_infer(rill__arena *a,
                                                          const rill__sql_fn_call *call,
                                                          const rill__sql_ltype **cast, char *msg,
                                                          size_t cap)
{
    (void)cast;
    const rill__sql_ltype *t = call->args[0]->type;
    rill__sql_unit u = call->unit;
    bool ok = rill__sql_is_datetime(t) &&
              (u == RILL_SQL_UNIT_DECADE || u == RILL_SQL_UNIT_CENTURY ||
               u == RILL_SQL_UNIT_MILLENNIUM || u == RILL_SQL_UNIT_YEAR ||
               u == RILL_SQL_UNIT_QUARTER || u == RILL_SQL_UNIT_MONTH || (unit_ns(u) >= 1000000));
    if (ok && t->root == RILL_SQLT_TIME && (unit_ns(u) == 0 || unit_ns(u) >= DAYS * NS))
        ok = false;
    if (!ok) {
        snprintf(msg, cap, "Cannot apply '%s' to arguments of type '%s(<%s> TO <%s>)'", call->name,
                 call->name, rill__sql_type_str(a, t), rill__sql_unit_name(u));
        return NULL;
    }
    if (t->root == RILL_SQLT_TIMESTAMP_LTZ && !zone_ok(call, msg, cap))
        return NULL;
    return rill__sql_type_with_attr(a, t, RILL_SQLA_NONE);
}

int rill__sql_fn_time_ceil_floor_row(rill__sql_fn_ctx *c, const rill__sql_val *args,
                                     rill__sql_val *out)
{
    const rill__sql_ltype *t = c->x->args[0]->type;
    rill__sql_unit u = c->x->call->unit;
    bool ceil = c->x->call->name[0] == 'C';
    const rill__tz *z = zone_of(c);
    int64_t secs, ns;
    local_of(t, args[0].v, z, &secs, &ns);
    int64_t days = floor_div(secs, DAYS);
    int64_t lo_s, lo_ns = 0, hi_s, hi_ns = 0; /* the unit's start at or before x, the next */
    if (unit_ns(u) && u != RILL_SQL_UNIT_WEEK) {
        rill__i128 v = (rill__i128)secs * NS + ns, un = unit_ns(u);
        rill__i128 f = v / un * un;
        if (f > v)
            f -= un;
        lo_s = (int64_t)(f / NS), lo_ns = (int64_t)(f % NS);
        if (lo_ns < 0)
            lo_ns += NS, lo_s--;
        f += un;
        hi_s = (int64_t)(f / NS), hi_ns = (int64_t)(f % NS);
        if (hi_ns < 0)
            hi_ns += NS, hi_s--;
    } else {
        int64_t y;
        int m, d;
        rill__civil_from_days(days, &y, &m, &d);
        int64_t lo, hi;
        switch (u) {
        case RILL_SQL_UNIT_WEEK: /* weeks start on Sunday */
            lo = days - weekday(days), hi = lo + 7;
            break;
        case RILL_SQL_UNIT_MONTH:
            lo = rill__days_from_civil(y, m, 1), hi = add_months(lo, 1);
            break;
        case RILL_SQL_UNIT_QUARTER:
            lo = rill__days_from_civil(y, (m - 1) / 3 * 3 + 1, 1), hi = add_months(lo, 3);
            break;
        case RILL_SQL_UNIT_YEAR:
            lo = rill__days_from_civil(y, 1, 1), hi = rill__days_from_civil(y + 1, 1, 1);
            break;
        case RILL_SQL_UNIT_DECADE:
            lo = rill__days_from_civil(floor_div(y, 10) * 10, 1, 1);
            hi = rill__days_from_civil(floor_div(y, 10) * 10 + 10, 1, 1);
            break;
        case RILL_SQL_UNIT_CENTURY: /* 2001-01-01 starts the 21st */
            lo = rill__days_from_civil(floor_div(y - 1, 100) * 100 + 1, 1, 1);
            hi = rill__days_from_civil(floor_div(y - 1, 100) * 100 + 101, 1, 1);
            break;
        default: /* MILLENNIUM */
            lo = rill__days_from_civil(floor_div(y - 1, 1000) * 1000 + 1, 1, 1);
            hi = rill__days_from_civil(floor_div(y - 1, 1000) * 1000 + 1001, 1, 1);
            break;
        }
        lo_s = lo * DAYS, hi_s = hi * DAYS;
    }
    bool on = lo_s == secs && lo_ns == ns;
    if (ceil && !on)
        secs = hi_s, ns = hi_ns;
    else
        secs = lo_s, ns = lo_ns;
    if (!value_of(c->x->type, secs, ns, z, &out->v))
        return rill__sql_fn_fail(c, "%s: the result is out of range", c->x->call->name);
    return 0;
}

/* ---- CONVERT_TZ ------------------------------------------------------------------------------ */

static const rill__sql_ltype *convert_tz_infer(rill__arena *a, const rill__sql_fn_call *call,
                                               const rill__sql_ltype **cast, char *msg, size_t cap)
{
    (void)cast;
    if (!texts_ok(call, msg, cap,
                  "three strings: a date-time, the zone it is in, and the zone "
                  "to show it in") ||
        !zone_arg_ok(call, 1, msg, cap) || !zone_arg_ok(call, 2, msg, cap))
        return NULL;
    return string_type(a, rill__sql_fn_any_nullable(call));
}

static int convert_tz_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    int rc;
    const rill__tz *from = zone_named(c, &args[1], &rc), *to;
    if (!from)
        return rc;
    if (!(to = zone_named(c, &args[2], &rc)))
        return rc;
    static const char def[] = "yyyy-MM-dd HH:mm:ss";
    int64_t secs, ns;
    bool ho;
    int32_t off;
    if (!parse_pattern(args[0].b, args[0].len, def, sizeof def - 1, true, &secs, &ns, &ho, &off)) {
        out->null = true;
        return 0;
    }
    int64_t inst = ho ? secs - off : rill__tz_from_local(from, secs);
    dtm d;
    char bad_msg[64];
    split(inst + rill__tz_offset(to, inst), 0, &d);
    format_pattern(&c->tmp, def, sizeof def - 1, &d, true, false, 0, bad_msg);
    return set_text(c, out);
}

const rill__sql_fn rill__sql_fn_time[] = {
    {"DATE_FORMAT", 2, 2, RILL_SQLF_STRICT, date_format_infer, date_format_row, NULL, NULL},
    {"EXTRACT", 1, 1, RILL_SQLF_STRICT, extract_infer, extract_row, NULL, NULL},
    {"YEAR", 1, 1, RILL_SQLF_STRICT, extract_infer, extract_row, NULL, NULL},
    {"QUARTER", 1, 1, RILL_SQLF_STRICT, extract_infer, extract_row, NULL, NULL},
    {"MONTH", 1, 1, RILL_SQLF_STRICT, extract_infer, extract_row, NULL, NULL},
    {"WEEK", 1, 1, RILL_SQLF_STRICT, extract_infer, extract_row, NULL, NULL},
    {"DAYOFYEAR", 1, 1, RILL_SQLF_STRICT, extract_infer, extract_row, NULL, NULL},
    {"DAYOFMONTH", 1, 1, RILL_SQLF_STRICT, extract_infer, extract_row, NULL, NULL},
    {"DAYOFWEEK", 1, 1, RILL_SQLF_STRICT, extract_infer, extract_row, NULL, NULL},
    {"HOUR", 1, 1, RILL_SQLF_STRICT, extract_infer, extract_row, NULL, NULL},
    {"MINUTE", 1, 1, RILL_SQLF_STRICT, extract_infer, extract_row, NULL, NULL},
    {"SECOND", 1, 1, RILL_SQLF_STRICT, extract_infer, extract_row, NULL, NULL},
    {"TO_TIMESTAMP", 1, 2, RILL_SQLF_STRICT, to_timestamp_infer, to_timestamp_row, NULL, NULL},
    {"TO_DATE", 1, 2, RILL_SQLF_STRICT, to_timestamp_infer, to_timestamp_row, NULL, NULL},
    {"TO_TIMESTAMP_LTZ", 1, 2, RILL_SQLF_STRICT, to_ltz_infer, to_ltz_row, NULL, NULL},
    {"UNIX_TIMESTAMP", 0, 2, RILL_SQLF_STRICT | RILL_SQLF_VOLATILE, unix_timestamp_infer,
     unix_timestamp_row, NULL, NULL},
    {"FROM_UNIXTIME", 1, 2, RILL_SQLF_STRICT, from_unixtime_infer, from_unixtime_row, NULL, NULL},
    {"CURRENT_TIMESTAMP", 0, 0, RILL_SQLF_VOLATILE, now_infer, now_row, NULL, NULL},
    {"NOW", 0, 0, RILL_SQLF_VOLATILE, now_infer, now_row, NULL, NULL},
    {"CURRENT_ROW_TIMESTAMP", 0, 0, RILL_SQLF_VOLATILE, now_infer, now_row, NULL, NULL},
    {"LOCALTIMESTAMP", 0, 0, RILL_SQLF_VOLATILE, now_infer, now_row, NULL, NULL},
    {"CURRENT_DATE", 0, 0, RILL_SQLF_VOLATILE, now_infer, now_row, NULL, NULL},
    {"CURRENT_TIME", 0, 0, RILL_SQLF_VOLATILE, now_infer, now_row, NULL, NULL},
    {"LOCALTIME", 0, 0, RILL_SQLF_VOLATILE, now_infer, now_row, NULL, NULL},
    {"TIMESTAMPADD", 2, 2, RILL_SQLF_STRICT, tsadd_infer, tsadd_row, NULL, NULL},
    {"TIMESTAMPDIFF", 2, 2, RILL_SQLF_STRICT, tsdiff_infer, tsdiff_row, NULL, NULL},
    {"CONVERT_TZ", 3, 3, RILL_SQLF_STRICT, convert_tz_infer, convert_tz_row, NULL, NULL},
    {NULL, 0, 0, 0, NULL, NULL, NULL, NULL},
};

/* ---- literals ------------------------------------------------------------------------------ */

const rill__sql_ltype *rill__sql_fn_time_literal(rill__arena *a, rill__sql_root root,
                                                 const char *text, uint64_t *value, char *msg,
                                                 size_t cap)
{
    const char *p = text, *e = text + strlen(text);
    int64_t days, sod, ns = 0;
    if (root == RILL_SQLT_DATE) {
        if (parse_ymd(&p, e, &days) && p == e) {
            *value = (uint64_t)days;
            return rill__sql_fn_type(a, RILL_SQLT_DATE, 0, 0, false);
        }
        snprintf(msg, cap, "Illegal DATE literal '%s': not in format 'yyyy-MM-dd'", text);
        return NULL;
    }
    const char *dot = strchr(text, '.');
    if (parse_hms(&p, e, true, &sod, &ns) && p == e) {
        int digits = dot ? (int)(e - dot - 1) : 0;
        *value = (uint64_t)(sod * 1000 + ns / 1000000);
        return rill__sql_fn_type(a, RILL_SQLT_TIME, RILL_MIN(digits, 3), 0, false);
    }
    snprintf(msg, cap, "Illegal TIME literal '%s': not in format 'HH:mm:ss[.SSS]'", text);
    return NULL;
}

const rill__sql_ltype *rill__sql_fn_time_interval(rill__arena *a, const char *text, int sign,
                                                  const rill__sql_interval_q *q, uint64_t *value,
                                                  char *msg, size_t cap)
{
    static const char *const names[] = {"", "YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"};
    static const int64_t ms[] = {0, 12, 1, 86400000, 3600000, 60000, 1000};
    static const int64_t limit[] = {0, 0, 12, 0, 24, 60, 60};
    rill__sql_tunit from = rill__sql_tunit_of(q->start);
    rill__sql_tunit to = q->end ? rill__sql_tunit_of(q->end) : from;
    const char *p = text, *e = text + strlen(text);
    trim(&p, &e);
    if (p < e && (*p == '-' || *p == '+'))
        sign *= *p++ == '-' ? -1 : 1;
    rill__i128 total = 0;
    for (int u = from; u <= (int)to; u++) {
        if (u > (int)from) {
            char sep = u == RILL_SQLU_MONTH ? '-' : u == RILL_SQLU_HOUR ? ' ' : ':';
            if (p >= e || *p++ != sep)
                goto bad;
        }
        const char *at = p;
        int64_t v;
        if (!digits(&p, e, 1, 18, &v))
            goto bad;
        if (u == (int)from && p - at > q->precision) {
            snprintf(msg, cap, "Interval field value %lld exceeds precision of %s(%d) field",
                     (long long)v, names[u], q->precision);
            return NULL;
        }
        if (u > (int)from && v >= limit[u]) {
            snprintf(msg, cap, "Illegal interval literal '%s': %s %lld is out of range", text,
                     names[u], (long long)v);
            return NULL;
        }
        total += (rill__i128)v * ms[u];
        if (u == RILL_SQLU_SECOND && p < e && *p == '.') {
            p++;
            int64_t f = 0;
            int n = 0;
            while (p < e && *p >= '0' && *p <= '9') {
                if (n++ < 3)
                    f = f * 10 + (*p - '0');
                p++;
            }
            if (n == 0)
                goto bad;
            for (; n < 3; n++)
                f *= 10;
            total += f;
        }
    }
    if (p != e)
        goto bad;
    if (total > INT64_MAX)
        goto bad;
    *value = (uint64_t)(sign < 0 ? -(int64_t)total : (int64_t)total);
    return rill__sql_type_interval(a, from, to, q->precision, to == RILL_SQLU_SECOND ? q->frac : 0,
                                   false);
bad:
    snprintf(msg, cap, "Illegal interval literal format '%s' for INTERVAL %s%s%s", text,
             names[from], from == to ? "" : " TO ", from == to ? "" : names[to]);
    return NULL;
}

/* ---- datetime arithmetic ------------------------------------------------------------------- */

bool rill__sql_fn_time_arith_ok(bool minus, const rill__sql_ltype *t, const rill__sql_ltype *x,
                                const rill__sql_ltype *y)
{
    if (rill__sql_is_interval(t))
        return x->root == t->root && y->root == t->root;
    if (!rill__sql_is_datetime(t))
        return false;
    const rill__sql_ltype *dt = rill__sql_is_datetime(x) ? x : y, *iv = dt == x ? y : x;
    if (!rill__sql_is_datetime(dt) || !rill__sql_is_interval(iv) || (minus && dt != x))
        return false;
    if (dt->root == t->root)
        return !(t->root == RILL_SQLT_TIME && iv->root == RILL_SQLT_INTERVAL_YM);
    return dt->root == RILL_SQLT_DATE && t->root == RILL_SQLT_TIMESTAMP &&
           iv->root == RILL_SQLT_INTERVAL_DT;
}

bool rill__sql_fn_time_arith(bool minus, const rill__sql_ltype *t, const rill__sql_ltype *x,
                             uint64_t vx, const rill__sql_ltype *y, uint64_t vy, uint64_t *out)
{
    bool first = rill__sql_is_datetime(x);
    const rill__sql_ltype *dt = first ? x : y, *iv = first ? y : x;
    int64_t d = (int64_t)(first ? vx : vy), n = (int64_t)(first ? vy : vx);
    if (minus)
        n = (int64_t)((uint64_t)0 - (uint64_t)n);
    if (dt->root == RILL_SQLT_DATE && t->root == RILL_SQLT_DATE) {
        *out = (uint64_t)(iv->root == RILL_SQLT_INTERVAL_YM ? add_months(d, n) : d + n / 86400000);
        return true;
    }
    if (dt->root == RILL_SQLT_TIME) { /* around the clock */
        *out = (uint64_t)floor_mod(floor_mod(d, 86400000) + floor_mod(n, 86400000), 86400000);
        return true;
    }
    /* timestamps (an LTZ's instant in UTC: months count in UTC's calendar) */
    const rill__tz *z = utc_zone();
    int64_t secs, ns;
    local_of(dt, (uint64_t)d, z, &secs, &ns);
    if (iv->root == RILL_SQLT_INTERVAL_YM) {
        int64_t days = floor_div(secs, DAYS);
        secs = add_months(days, n) * DAYS + (secs - days * DAYS);
    } else {
        rill__i128 total = (rill__i128)secs * NS + ns + (rill__i128)n * 1000000;
        rill__i128 lim = (rill__i128)(INT64_MAX / 2000) * NS;
        if (total > lim || total < -lim)
            return false;
        secs = (int64_t)(total / NS), ns = (int64_t)(total % NS);
        if (ns < 0)
            ns += NS, secs--;
    }
    return value_of(t, secs, ns, z, out);
}
