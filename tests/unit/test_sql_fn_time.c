/* test_sql_fn_time.c - the SQL date and time functions (src/sql/fn_time.c) and time zones
 * (src/base/tz.c): zones by name against known offsets (DST changes, the POSIX rule past the
 * TZif table, gaps and overlaps), kernels on random timestamps against the C library's UTC
 * calendar (gmtime_r/timegm, no TZ involved), CEIL/FLOOR TO, datetime arithmetic run as a
 * program over a batch, casts to and from text, and errors that name the place. */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/tz.h"
#include "sql/functions.h"
#include "sql/plan.h"
#include "test.h"

static uint64_t seed = 0x2545f4914f6cdd1du;

static uint64_t rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
}

static rill__arena A;

static const rill__sql_ltype *ty(rill__sql_root root, int p)
{
    return rill__sql_type_make(&A, root, p, 0, true);
}

/* 2024-05-01T12:00:00Z and such as seconds */
static int64_t utc_secs(int y, int mo, int d, int h, int mi, int s)
{
    struct tm t = {.tm_year = y - 1900,
                   .tm_mon = mo - 1,
                   .tm_mday = d,
                   .tm_hour = h,
                   .tm_min = mi,
                   .tm_sec = s};
    return (int64_t)timegm(&t);
}

TEST(sql_tz_zones_by_name)
{
    const rill__tz *utc = rill__tz_get("UTC");
    CHECK(utc != NULL);
    CHECK(rill__tz_get("UTC") == utc); /* cached */
    CHECK_EQ(rill__tz_offset(utc, 1700000000), 0);
    static const struct {
        const char *name;
        int32_t off;
    } fixed[] = {{"Z", 0},         {"+08:00", 28800},     {"-05:30", -19800},
                 {"GMT+8", 28800}, {"UTC-05:30", -19800}, {"+0930", 34200},
                 {"GMT", 0},       {"UT+01", 3600},       {"+18:00", 64800}};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        const rill__tz *z = rill__tz_get(fixed[i].name);
        if (!z)
            rill_test_fail(__FILE__, __LINE__, "zone %s not found", fixed[i].name);
        CHECK_EQ(rill__tz_offset(z, 0), fixed[i].off);
        CHECK_EQ(rill__tz_offset(z, 4000000000LL), fixed[i].off);
    }
    static const char *const bad[] = {
        "Mars/Olympus",   "+19:00", "GMT+8:0", "../etc/passwd", "Asia/../../etc/passwd",
        "/etc/localtime", "",       "+8:00",   "UTC+",          "asia/shanghai"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (rill__tz_get(bad[i]))
            rill_test_fail(__FILE__, __LINE__, "zone '%s' should be unknown", bad[i]);
    CHECK(rill__tz_get(NULL) == NULL);
}

TEST(sql_tz_regions_dst_and_the_rule_past_the_table)
{
    const rill__tz *ny = rill__tz_get("America/New_York");
    const rill__tz *sh = rill__tz_get("Asia/Shanghai");
    const rill__tz *syd = rill__tz_get("Australia/Sydney");
    CHECK(ny && sh && syd);
    /* 2024: EDT from 2024-03-10 07:00Z to 2024-11-03 06:00Z */
    CHECK_EQ(rill__tz_offset(ny, utc_secs(2024, 3, 10, 6, 59, 59)), -5 * 3600);
    CHECK_EQ(rill__tz_offset(ny, utc_secs(2024, 3, 10, 7, 0, 0)), -4 * 3600);
    CHECK_EQ(rill__tz_offset(ny, utc_secs(2024, 11, 3, 5, 59, 59)), -4 * 3600);
    CHECK_EQ(rill__tz_offset(ny, utc_secs(2024, 11, 3, 6, 0, 0)), -5 * 3600);
    /* far past the table (2037): the footer's rule, the second Sunday of March 2100 is the
     * 14th, the first Sunday of November the 7th */
    CHECK_EQ(rill__tz_offset(ny, utc_secs(2100, 3, 14, 6, 59, 59)), -5 * 3600);
    CHECK_EQ(rill__tz_offset(ny, utc_secs(2100, 3, 14, 7, 0, 0)), -4 * 3600);
    CHECK_EQ(rill__tz_offset(ny, utc_secs(2100, 11, 7, 6, 0, 0)), -5 * 3600);
    CHECK_EQ(rill__tz_offset(ny, utc_secs(2100, 7, 1, 0, 0, 0)), -4 * 3600);
    /* the southern hemisphere: DST over the new year (AEDT +11 in January) */
    CHECK_EQ(rill__tz_offset(syd, utc_secs(2090, 1, 15, 0, 0, 0)), 11 * 3600);
    CHECK_EQ(rill__tz_offset(syd, utc_secs(2090, 7, 15, 0, 0, 0)), 10 * 3600);
    CHECK_EQ(rill__tz_offset(sh, utc_secs(2024, 5, 1, 0, 0, 0)), 8 * 3600);
    CHECK_EQ(rill__tz_offset(sh, utc_secs(2200, 5, 1, 0, 0, 0)), 8 * 3600);
    /* Shanghai's local mean time before 1901: +08:05:43 */
    CHECK_EQ(rill__tz_offset(sh, utc_secs(1890, 1, 1, 0, 0, 0)), 8 * 3600 + 5 * 60 + 43);
    /* local to instant: a gap moves later by its length, an overlap takes the earlier offset */
    int64_t gap = utc_secs(2024, 3, 10, 2, 30, 0); /* as a local date-time */
    CHECK_EQ(rill__tz_from_local(ny, gap), utc_secs(2024, 3, 10, 7, 30, 0));
    int64_t overlap = utc_secs(2024, 11, 3, 1, 30, 0);
    CHECK_EQ(rill__tz_from_local(ny, overlap), utc_secs(2024, 11, 3, 5, 30, 0));
    CHECK_EQ(rill__tz_from_local(ny, utc_secs(2024, 7, 1, 12, 0, 0)),
             utc_secs(2024, 7, 1, 16, 0, 0));
    /* round trips through every hour of 2024 */
    for (int64_t t = utc_secs(2024, 1, 1, 0, 0, 0); t < utc_secs(2025, 1, 1, 0, 0, 0); t += 3600)
        CHECK_EQ(rill__tz_from_local(sh, t + rill__tz_offset(sh, t)), t);
}

static void *get_zones(void *arg)
{
    (void)arg;
    static const char *const names[] = {"Europe/Paris", "Asia/Tokyo", "America/Chicago",
                                        "Europe/Paris", "+03:00"};
    for (int i = 0; i < 200; i++)
        if (!rill__tz_get(names[i % 5]))
            return (void *)1;
    return NULL;
}

TEST(sql_tz_is_thread_safe)
{
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, get_zones, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        CHECK(r == NULL);
    }
    CHECK(rill__tz_get("Europe/Paris") == rill__tz_get("Europe/Paris"));
}

/* ---- kernels called as the evaluator calls them ---------------------------------------------- */

typedef struct kcall {
    rill__sql_rex *x;
    rill__sql_fn_ctx c;
    rill__err err;
} kcall;

static rill__sql_rex *arg(const rill__sql_ltype *t)
{
    return rill__sql_x_input(&A, 0, t);
}

/* A bound call of a built-in: the result type from its infer; NULL (msg) when refused. */
static bool bind_call(kcall *k, const char *name, rill__sql_call_form form, rill__sql_unit unit,
                      const char *zone, int n, rill__sql_rex **args, char *msg)
{
    const rill__sql_fn *fn = rill__sql_fn_find(name);
    rill__sql_fn_call *call = rill__arena_alloc(&A, sizeof *call);
    *call = (rill__sql_fn_call){
        .name = name, .n_args = n, .args = args, .form = form, .unit = unit, .zone = zone};
    const rill__sql_ltype *cast[4] = {0};
    const rill__sql_ltype *t;
    msg[0] = '\0';
    if (form == RILL_SQL_C_CEIL_TO)
        t = rill__sql_fn_time_ceil_floor_infer(&A, call, cast, msg, 256);
    else
        t = fn ? fn->infer(&A, call, cast, msg, 256) : NULL;
    if (!t)
        return false;
    k->x = rill__sql_x_call(&A, RILL_SQLX_FUNC, t, n, args);
    k->x->fn = fn;
    k->x->call = call;
    memset(&k->c, 0, sizeof k->c);
    memset(&k->err, 0, sizeof k->err);
    k->c.x = k->x;
    k->c.err = &k->err;
    return true;
}

static kcall K(const char *name, rill__sql_call_form form, rill__sql_unit unit, const char *zone,
               int n, ...)
{
    kcall k;
    rill__sql_rex **args = rill__arena_alloc(&A, 4 * sizeof *args);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        args[i] = arg(va_arg(ap, const rill__sql_ltype *));
    va_end(ap);
    char msg[256];
    if (!bind_call(&k, name, form, unit, zone, n, args, msg))
        rill_test_fail(__FILE__, __LINE__, "%s refused: %s", name, msg);
    return k;
}

static int krun(kcall *k, const rill__sql_val *args, rill__sql_val *out)
{
    *out = (rill__sql_val){0};
    k->c.tmp.len = 0;
    k->c.err = &k->err; /* (k may have been copied since it was bound) */
    if (k->x->fn && k->x->call->form != RILL_SQL_C_CEIL_TO)
        return k->x->fn->row(&k->c, args, out);
    return rill__sql_fn_time_ceil_floor_row(&k->c, args, out);
}

static rill__sql_val V(int64_t v)
{
    return (rill__sql_val){.v = (uint64_t)v};
}

static rill__sql_val S(const char *s)
{
    return (rill__sql_val){.b = s, .len = strlen(s)};
}

static char *text(const rill__sql_val *v)
{
    char *s = rill__arena_alloc(&A, v->len + 1);
    memcpy(s, v->b, v->len);
    s[v->len] = '\0';
    return s;
}

/* A random ms timestamp in 1901..2099 (edges: around the epoch, month ends). */
static int64_t random_ms(void)
{
    uint64_t x = rnd();
    if (x % 10 == 0)
        return (int64_t)(x / 10 % 4000) - 2000;
    return (int64_t)(x % 6279004800000u) - 2177452800000;
}

static struct tm fields(int64_t ms)
{
    int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    return tm;
}

TEST(sql_fn_time_extract_and_format_against_gmtime)
{
    rill__arena_init(&A, 1 << 16);
    const rill__sql_ltype *ts = ty(RILL_SQLT_TIMESTAMP, 3);
    static const rill__sql_unit units[] = {
        RILL_SQL_UNIT_YEAR,        RILL_SQL_UNIT_MONTH,  RILL_SQL_UNIT_DAY,
        RILL_SQL_UNIT_HOUR,        RILL_SQL_UNIT_MINUTE, RILL_SQL_UNIT_SECOND,
        RILL_SQL_UNIT_MILLISECOND, RILL_SQL_UNIT_DOW,    RILL_SQL_UNIT_DOY,
        RILL_SQL_UNIT_QUARTER,     RILL_SQL_UNIT_WEEK,   RILL_SQL_UNIT_ISODOW};
    kcall ex[12];
    for (int u = 0; u < 12; u++)
        ex[u] = K("EXTRACT", RILL_SQL_C_EXTRACT, units[u], "UTC", 1, ts);
    kcall fmt = K("DATE_FORMAT", RILL_SQL_C_PLAIN, 0, "UTC", 2, ts, ty(RILL_SQLT_VARCHAR, 100));
    kcall cast_back = K("TO_TIMESTAMP", RILL_SQL_C_PLAIN, 0, "UTC", 1, ty(RILL_SQLT_VARCHAR, 100));
    kcall unix = K("UNIX_TIMESTAMP", RILL_SQL_C_PLAIN, 0, "UTC", 2, ty(RILL_SQLT_VARCHAR, 100),
                   ty(RILL_SQLT_VARCHAR, 100));
    for (int i = 0; i < 20000; i++) {
        int64_t ms = random_ms();
        struct tm tm = fields(ms);
        int64_t frac = ((ms % 1000) + 1000) % 1000;
        char iso[16];
        strftime(iso, sizeof iso, "%V %u", &tm);
        int64_t want[12] = {tm.tm_year + 1900, tm.tm_mon + 1,     tm.tm_mday, tm.tm_hour,
                            tm.tm_min,         tm.tm_sec,         frac,       tm.tm_wday + 1,
                            tm.tm_yday + 1,    tm.tm_mon / 3 + 1, atoi(iso),  atoi(iso + 3)};
        rill__sql_val in = V(ms), out;
        for (int u = 0; u < 12; u++) {
            CHECK_RC(krun(&ex[u], &in, &out));
            if ((int64_t)out.v != want[u])
                rill_test_fail(__FILE__, __LINE__, "EXTRACT(%s) of %lld ms: got %lld, want %lld",
                               rill__sql_unit_name(units[u]), (long long)ms, (long long)out.v,
                               (long long)want[u]);
        }
        char w[64];
        strftime(w, sizeof w, "%Y-%m-%d %H:%M:%S", &tm);
        rill__sql_val fa[2] = {V(ms), S("yyyy-MM-dd HH:mm:ss")};
        CHECK_RC(krun(&fmt, fa, &out));
        CHECK_STR(text(&out), w);
        /* and back: TO_TIMESTAMP keeps the seconds, UNIX_TIMESTAMP gives them */
        rill__sql_val sa = S(w);
        CHECK_RC(krun(&cast_back, &sa, &out));
        CHECK(!out.null);
        CHECK_EQ((int64_t)out.v, ms - frac);
        rill__sql_val ua[2] = {S(w), S("yyyy-MM-dd HH:mm:ss")};
        CHECK_RC(krun(&unix, ua, &out));
        CHECK_EQ((int64_t)out.v, (ms - frac) / 1000);
    }
    /* patterns: text fields, quotes, 12-hour clock, fractions */
    rill__sql_val fa[2] = {V(utc_secs(2024, 5, 1, 13, 4, 5) * 1000 + 67),
                           S("EEEE, MMMM d ''yy 'at' h:mm:ss.SS a (D) MMM EEE k K")};
    rill__sql_val out;
    CHECK_RC(krun(&fmt, fa, &out));
    CHECK_STR(text(&out), "Wednesday, May 1 '24 at 1:04:05.06 PM (122) May Wed 13 1");
    fa[1] = S("yyyy-qq");
    CHECK_EQ(krun(&fmt, fa, &out), RILL_EINVAL);
    CHECK_CONTAINS(fmt.err.msg, "Unknown pattern letter: q");
    rill__buf_free(&fmt.c.tmp);
    rill__arena_close(&A);
}

TEST(sql_fn_time_ceil_floor_to_units)
{
    rill__arena_init(&A, 1 << 16);
    const rill__sql_ltype *ts = ty(RILL_SQLT_TIMESTAMP, 3);
    for (int i = 0; i < 5000; i++) {
        int64_t ms = random_ms();
        struct tm tm = fields(ms);
        for (int c = 0; c < 2; c++) {
            const char *name = c ? "CEIL" : "FLOOR";
            /* DAY, HOUR: by arithmetic; MONTH, YEAR: by the calendar */
            static const rill__sql_unit us[] = {RILL_SQL_UNIT_DAY, RILL_SQL_UNIT_HOUR,
                                                RILL_SQL_UNIT_MONTH, RILL_SQL_UNIT_YEAR,
                                                RILL_SQL_UNIT_WEEK};
            for (int u = 0; u < 5; u++) {
                kcall k = K(name, RILL_SQL_C_CEIL_TO, us[u], "UTC", 1, ts);
                rill__sql_val in = V(ms), out;
                CHECK_RC(krun(&k, &in, &out));
                int64_t lo, hi;
                if (u < 2) {
                    int64_t unit = u == 0 ? 86400000 : 3600000;
                    lo = ms >= 0 ? ms / unit * unit : -((-ms + unit - 1) / unit) * unit;
                    hi = lo + unit;
                } else if (u == 4) {
                    int64_t day = (ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000));
                    lo = (day - tm.tm_wday) * 86400000, hi = lo + 7 * 86400000;
                } else {
                    struct tm a = tm, b;
                    a.tm_mday = 1, a.tm_hour = a.tm_min = a.tm_sec = 0;
                    if (u == 3)
                        a.tm_mon = 0;
                    b = a;
                    if (u == 3)
                        b.tm_year++;
                    else
                        b.tm_mon++;
                    lo = (int64_t)timegm(&a) * 1000, hi = (int64_t)timegm(&b) * 1000;
                }
                int64_t want = c && ms != lo ? hi : lo;
                if ((int64_t)out.v != want)
                    rill_test_fail(__FILE__, __LINE__, "%s(%lld TO %s): got %lld, want %lld", name,
                                   (long long)ms, rill__sql_unit_name(us[u]), (long long)out.v,
                                   (long long)want);
            }
        }
    }
    /* a TIMESTAMP_LTZ floors in the session's zone: 2024-05-01T20:00Z is 05-02 04:00 in
     * Shanghai, whose day starts at 05-01T16:00Z */
    kcall k = K("FLOOR", RILL_SQL_C_CEIL_TO, RILL_SQL_UNIT_DAY, "Asia/Shanghai", 1,
                ty(RILL_SQLT_TIMESTAMP_LTZ, 3));
    rill__sql_val in = V(utc_secs(2024, 5, 1, 20, 0, 0) * 1000), out;
    CHECK_RC(krun(&k, &in, &out));
    CHECK_EQ((int64_t)out.v, utc_secs(2024, 5, 1, 16, 0, 0) * 1000);
    /* CEIL of a DATE to MONTH; not to HOUR of a TIME... refused: TIME to DAY */
    kcall d = K("CEIL", RILL_SQL_C_CEIL_TO, RILL_SQL_UNIT_MONTH, "UTC", 1, ty(RILL_SQLT_DATE, 0));
    in = V(utc_secs(2024, 2, 2, 0, 0, 0) / 86400);
    CHECK_RC(krun(&d, &in, &out));
    CHECK_EQ((int64_t)out.v, utc_secs(2024, 3, 1, 0, 0, 0) / 86400);
    rill__sql_rex *targ = arg(ty(RILL_SQLT_TIME, 0));
    char msg[256];
    kcall bad;
    CHECK(!bind_call(&bad, "FLOOR", RILL_SQL_C_CEIL_TO, RILL_SQL_UNIT_DAY, "UTC", 1, &targ, msg));
    CHECK_CONTAINS(msg, "Cannot apply 'FLOOR'");
    rill__arena_close(&A);
}

TEST(sql_fn_time_add_diff_and_zones)
{
    rill__arena_init(&A, 1 << 16);
    const rill__sql_ltype *ts = ty(RILL_SQLT_TIMESTAMP, 3), *bi = ty(RILL_SQLT_BIGINT, 0);
    kcall add = K("TIMESTAMPADD", RILL_SQL_C_PLAIN, RILL_SQL_UNIT_MONTH, "UTC", 2, bi, ts);
    kcall diff = K("TIMESTAMPDIFF", RILL_SQL_C_PLAIN, RILL_SQL_UNIT_MONTH, "UTC", 2, ts, ts);
    rill__sql_val a[2], out;
    /* Jan 31 plus a month is Feb 29 (2024), back a month is Jan 29 */
    int64_t jan31 = utc_secs(2024, 1, 31, 10, 0, 0) * 1000;
    a[0] = V(1), a[1] = V(jan31);
    CHECK_RC(krun(&add, a, &out));
    CHECK_EQ((int64_t)out.v, utc_secs(2024, 2, 29, 10, 0, 0) * 1000);
    /* whole months: Jan 31 to Feb 29 is one; to Feb 29 at an earlier time none */
    a[0] = V(jan31), a[1] = V(utc_secs(2024, 2, 29, 10, 0, 0) * 1000);
    CHECK_RC(krun(&diff, a, &out));
    CHECK_EQ((int64_t)out.v, 1);
    a[1] = V(utc_secs(2024, 2, 29, 9, 0, 0) * 1000);
    CHECK_RC(krun(&diff, a, &out));
    CHECK_EQ((int64_t)out.v, 0);
    a[0] = a[1], a[1] = V(jan31); /* and negative */
    CHECK_RC(krun(&diff, a, &out));
    CHECK_EQ((int64_t)out.v, 0);
    a[0] = V(utc_secs(2025, 3, 1, 0, 0, 0) * 1000);
    CHECK_RC(krun(&diff, a, &out));
    CHECK_EQ((int64_t)out.v, -13);
    /* FROM_UNIXTIME in the session's zone; CONVERT_TZ across a DST change */
    kcall fu = K("FROM_UNIXTIME", RILL_SQL_C_PLAIN, 0, "America/New_York", 1, bi);
    a[0] = V(utc_secs(2024, 3, 10, 7, 0, 0));
    CHECK_RC(krun(&fu, a, &out));
    CHECK_STR(text(&out), "2024-03-10 03:00:00");
    const rill__sql_ltype *st = ty(RILL_SQLT_VARCHAR, 100);
    kcall cv = K("CONVERT_TZ", RILL_SQL_C_PLAIN, 0, "UTC", 3, st, st, st);
    rill__sql_val c3[3] = {S("2024-11-03 05:30:00"), S("UTC"), S("America/New_York")};
    CHECK_RC(krun(&cv, c3, &out));
    CHECK_STR(text(&out), "2024-11-03 01:30:00");
    c3[0] = S("1970-01-01 00:00:00"), c3[2] = S("America/Los_Angeles");
    CHECK_RC(krun(&cv, c3, &out));
    CHECK_STR(text(&out), "1969-12-31 16:00:00");
    c3[0] = S("not a date");
    CHECK_RC(krun(&cv, c3, &out));
    CHECK(out.null);
    c3[0] = S("1970-01-01 00:00:00"), c3[2] = S("Nowhere/City");
    CHECK_EQ(krun(&cv, c3, &out), RILL_EINVAL);
    CHECK_CONTAINS(cv.err.msg, "Invalid time zone 'Nowhere/City'");
    /* TO_TIMESTAMP_LTZ: seconds or ms; NULL past year 9999 */
    kcall tl = K("TO_TIMESTAMP_LTZ", RILL_SQL_C_PLAIN, 0, "UTC", 1, bi);
    rill__sql_rex *la[2] = {arg(bi), rill__sql_x_literal(&A, ty(RILL_SQLT_INT, 0), 0)};
    char msg[256];
    kcall tl0;
    CHECK(bind_call(&tl0, "TO_TIMESTAMP_LTZ", RILL_SQL_C_PLAIN, 0, "UTC", 2, la, msg));
    a[0] = V(1700000000), a[1] = V(0);
    CHECK_RC(krun(&tl0, a, &out));
    CHECK_EQ((int64_t)out.v, 1700000000000);
    a[0] = V(INT64_MAX / 1000);
    CHECK_RC(krun(&tl0, a, &out));
    CHECK(out.null);
    a[0] = V(-5);
    CHECK_RC(krun(&tl, a, &out));
    CHECK_EQ((int64_t)out.v, -5);
    la[1] = rill__sql_x_literal(&A, ty(RILL_SQLT_INT, 0), 6);
    CHECK(!bind_call(&tl0, "TO_TIMESTAMP_LTZ", RILL_SQL_C_PLAIN, 0, "UTC", 2, la, msg));
    CHECK_CONTAINS(msg, "'0' for second or '3' for millisecond");
    /* an unknown session zone is refused when planned */
    rill__sql_rex *none[1];
    CHECK(
        !bind_call(&tl0, "CURRENT_TIMESTAMP", RILL_SQL_C_NILADIC, 0, "Mars/Olympus", 0, none, msg));
    CHECK_CONTAINS(msg, "Invalid time zone 'Mars/Olympus'");
    rill__buf_free(&fu.c.tmp);
    rill__buf_free(&cv.c.tmp);
    rill__arena_close(&A);
}

TEST(sql_fn_time_casts_and_literals)
{
    rill__arena_init(&A, 1 << 16);
    rill__sql_fn_ctx c = {0};
    rill__err err = {0};
    rill__sql_rex *x = rill__sql_x_call(&A, RILL_SQLX_CAST, ty(RILL_SQLT_TIMESTAMP, 3), 1,
                                        (rill__sql_rex *[]){arg(ty(RILL_SQLT_VARCHAR, 10))});
    c.x = x;
    c.err = &err;
    const rill__sql_ltype *str = ty(RILL_SQLT_VARCHAR, 100);
    static const struct {
        rill__sql_root root;
        int p;
        const char *in, *out; /* out NULL: the cast fails */
    } cases[] = {
        {RILL_SQLT_TIMESTAMP, 3, "2024-05-01 12:00:00.12", "2024-05-01 12:00:00.120"},
        {RILL_SQLT_TIMESTAMP, 0, " 2024-5-1T1:2:3.999 ", "2024-05-01 01:02:03"},
        {RILL_SQLT_TIMESTAMP, 6, "2024-05-01", "2024-05-01 00:00:00.000000"},
        {RILL_SQLT_TIMESTAMP, 9, "1999-12-31 23:59:59.123456789", "1999-12-31 23:59:59.123456789"},
        {RILL_SQLT_TIMESTAMP, 3, "2024-02-30 00:00:00", NULL},
        {RILL_SQLT_TIMESTAMP, 3, "2024-05-01 24:00:00", NULL},
        {RILL_SQLT_TIMESTAMP, 3, "yesterday", NULL},
        {RILL_SQLT_DATE, 0, "2024-05-01 10:00:00", "2024-05-01"},
        {RILL_SQLT_DATE, 0, "2024", "2024-01-01"},
        {RILL_SQLT_DATE, 0, "2023-02-29", NULL},
        {RILL_SQLT_TIME, 0, "12:34", "12:34:00"},
        {RILL_SQLT_TIME, 3, "12:34:56.7", "12:34:56.700"},
        {RILL_SQLT_TIME, 0, "25:00:00", NULL},
        {RILL_SQLT_TIMESTAMP_LTZ, 3, "2024-05-01 12:00:00", "2024-05-01 12:00:00.000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const rill__sql_ltype *t = ty(cases[i].root, cases[i].p);
        CHECK(rill__sql_cast_time_text_ok(str, t) && rill__sql_cast_time_text_ok(t, str));
        rill__sql_val in = S(cases[i].in), mid = {0}, out = {0};
        c.tmp.len = 0;
        int rc = rill__sql_cast_time_text(&c, str, t, &in, &mid);
        if (!cases[i].out) {
            CHECK_EQ(rc, RILL_EINVAL);
            CHECK_CONTAINS(err.msg, "Cannot cast '");
            continue;
        }
        CHECK_RC(rc);
        c.tmp.len = 0;
        CHECK_RC(rill__sql_cast_time_text(&c, t, str, &mid, &out));
        CHECK_STR(text(&out), cases[i].out);
    }
    CHECK(!rill__sql_cast_time_text_ok(ty(RILL_SQLT_INT, 0), ty(RILL_SQLT_DATE, 0)));
    /* literals */
    uint64_t v;
    char msg[256];
    CHECK(rill__sql_fn_time_literal(&A, RILL_SQLT_DATE, "2024-02-29", &v, msg, sizeof msg));
    CHECK_EQ((int64_t)v, utc_secs(2024, 2, 29, 0, 0, 0) / 86400);
    CHECK(!rill__sql_fn_time_literal(&A, RILL_SQLT_DATE, "2024-02-30", &v, msg, sizeof msg));
    CHECK_CONTAINS(msg, "Illegal DATE literal '2024-02-30'");
    const rill__sql_ltype *tt =
        rill__sql_fn_time_literal(&A, RILL_SQLT_TIME, "01:02:03.45", &v, msg, sizeof msg);
    CHECK(tt && tt->precision == 2);
    CHECK_EQ((int64_t)v, 3723450);
    static const struct {
        const char *text;
        rill__sql_unit start, end;
        int sign;
        int64_t want; /* months or ms; INT64_MIN: refused */
    } iv[] = {
        {"1-6", RILL_SQL_UNIT_YEAR, RILL_SQL_UNIT_MONTH, 1, 18},
        {"-1-6", RILL_SQL_UNIT_YEAR, RILL_SQL_UNIT_MONTH, 1, -18},
        {"7", RILL_SQL_UNIT_MONTH, RILL_SQL_UNIT_NONE, -1, -7},
        {"3 04:05:06.789", RILL_SQL_UNIT_DAY, RILL_SQL_UNIT_SECOND, 1, 273906789},
        {"1 12", RILL_SQL_UNIT_DAY, RILL_SQL_UNIT_HOUR, 1, 129600000},
        {"10:30", RILL_SQL_UNIT_HOUR, RILL_SQL_UNIT_MINUTE, 1, 37800000},
        {"1.5", RILL_SQL_UNIT_SECOND, RILL_SQL_UNIT_NONE, 1, 1500},
        {"100", RILL_SQL_UNIT_DAY, RILL_SQL_UNIT_NONE, 1, INT64_MIN},
        {"1-12", RILL_SQL_UNIT_YEAR, RILL_SQL_UNIT_MONTH, 1, INT64_MIN},
        {"1:2", RILL_SQL_UNIT_DAY, RILL_SQL_UNIT_NONE, 1, INT64_MIN},
    };
    for (size_t i = 0; i < sizeof iv / sizeof *iv; i++) {
        rill__sql_interval_q q = {
            .start = iv[i].start, .end = iv[i].end, .precision = 2, .frac = 6};
        const rill__sql_ltype *t =
            rill__sql_fn_time_interval(&A, iv[i].text, iv[i].sign, &q, &v, msg, sizeof msg);
        if (iv[i].want == INT64_MIN) {
            if (t)
                rill_test_fail(__FILE__, __LINE__, "INTERVAL '%s' accepted", iv[i].text);
            continue;
        }
        if (!t)
            rill_test_fail(__FILE__, __LINE__, "INTERVAL '%s': %s", iv[i].text, msg);
        CHECK_EQ((int64_t)v, iv[i].want);
    }
    rill__buf_free(&c.tmp);
    rill__arena_close(&A);
}

/* Datetime +/- interval run as a program over a batch of random timestamps. */
TEST(sql_fn_time_arithmetic_in_a_program)
{
    rill__arena_init(&A, 1 << 16);
    rill_schema *sc = NULL;
    CHECK_RC(rill_schema_parse("ts TIMESTAMP", &sc));
    rill_batch *b = rill__batch_new(sc, 2000);
    int64_t ms[2000];
    for (int r = 0; r < 2000; r++) {
        rill_row row = rill__batch_append(b);
        ms[r] = random_ms();
        rill_row_set_ts(&row, 0, ms[r]);
    }
    const rill__sql_ltype *ts = rill__sql_type_make(&A, RILL_SQLT_TIMESTAMP, 3, 0, true);
    const rill__sql_ltype *ym =
        rill__sql_type_interval(&A, RILL_SQLU_YEAR, RILL_SQLU_MONTH, 2, 0, false);
    const rill__sql_ltype *dtv =
        rill__sql_type_interval(&A, RILL_SQLU_DAY, RILL_SQLU_SECOND, 2, 3, false);
    rill__sql_rex *in = rill__sql_x_input(&A, 0, ts);
    rill__sql_rex *outs[3] = {
        rill__sql_x_call(&A, RILL_SQLX_PLUS, ts, 2,
                         (rill__sql_rex *[]){in, rill__sql_x_literal(&A, ym, 13)}),
        rill__sql_x_call(&A, RILL_SQLX_MINUS, ts, 2,
                         (rill__sql_rex *[]){in, rill__sql_x_literal(&A, dtv, 90061001)}),
        rill__sql_x_call(&A, RILL_SQLX_PLUS, ts, 2,
                         (rill__sql_rex *[]){rill__sql_x_literal(&A, ym, -1), in}),
    };
    rill__sql_prog *p = NULL;
    rill__err err = {0};
    CHECK_RC(rill__sql_prog_new(NULL, 3, outs, NULL, &p, &err));
    rill_schema *os = NULL;
    CHECK_RC(rill_schema_parse("a TIMESTAMP, b TIMESTAMP, c TIMESTAMP", &os));
    rill_batch *out = rill__batch_new(os, 2000);
    CHECK_RC(rill__sql_prog_run(p, b, out, &err));
    for (int r = 0; r < 2000; r++) {
        rill_row row = rill__batch_row(out, (uint32_t)r);
        struct tm tm = fields(ms[r]);
        int64_t frac = ((ms[r] % 1000) + 1000) % 1000;
        int64_t want[3];
        for (int k = 0; k < 3; k += 2) {
            struct tm t = tm;
            int add = k == 0 ? 13 : -1;
            int mon = t.tm_mon + add;
            t.tm_year += mon >= 0 ? mon / 12 : -((11 - mon) / 12);
            t.tm_mon = ((mon % 12) + 12) % 12;
            static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
            int y = t.tm_year + 1900;
            int last = md[t.tm_mon] + (t.tm_mon == 1 && ((y % 4 == 0 && y % 100) || y % 400 == 0));
            if (t.tm_mday > last)
                t.tm_mday = last;
            want[k] = (int64_t)timegm(&t) * 1000 + frac;
        }
        want[1] = ms[r] - 90061001;
        for (int k = 0; k < 3; k++)
            if (rill_row_i64(&row, k) != want[k])
                rill_test_fail(__FILE__, __LINE__, "column %d of %lld ms: got %lld, want %lld", k,
                               (long long)ms[r], (long long)rill_row_i64(&row, k),
                               (long long)want[k]);
    }
    rill__sql_prog_free(p);
    rill__batch_unref(out);
    rill__batch_unref(b);
    rill_schema_free(os);
    rill_schema_free(sc);
    rill__arena_close(&A);
}
