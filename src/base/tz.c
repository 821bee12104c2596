/*
 * tz.c - base layer: time zones by name (tz.h). Fixed offsets are parsed from the name; a
 * region's TZif file (RFC 8536) is read once: its 64-bit transitions, then the POSIX TZ rule of
 * its footer for instants after the last one. Zones are kept in a list that is only ever
 * prepended to, so readers walk it without a lock.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "tz.h"

#define ZONEINFO "/usr/share/zoneinfo"

/* A POSIX rule's transition date: Jn (1..365, February 29 never counted), n (0..365), or
 * Mm.w.d (day d of week w of month m; week 5 is the last), at secs local time. */
typedef struct rule_date {
    char kind; /* 'J', 'N', 'M' */
    int n, m, w, d;
    int32_t secs;
} rule_date;

struct rill__tz {
    char *name;
    int n;           /* transitions */
    int64_t *times;  /* when each transition happens (UTC seconds), ascending */
    int32_t *offs;   /* the offset from that transition on */
    int32_t initial; /* the offset before the first transition */
    bool has_rule;   /* after the last transition (or always, with none): the POSIX rule */
    bool has_dst;
    int32_t std_off, dst_off;
    rule_date start, end;
    struct rill__tz *next;
};

static _Atomic(rill__tz *) zones;
static pthread_mutex_t zones_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- calendar ------------------------------------------------------------------------------ */

static int64_t year_of_days(int64_t days)
{
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    return yoe + era * 400 + (mp >= 10);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return q - ((a % b != 0) && ((a < 0) != (b < 0)));
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

/* ---- POSIX TZ rules ------------------------------------------------------------------------ */

/* [+-]hh[:mm[:ss]] as seconds; false when there is none. */
static bool posix_time(const char **s, int32_t *out)
{
    const char *p = *s;
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (*p < '0' || *p > '9')
        return false;
    int32_t v[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (i && *p != ':')
            break;
        if (i)
            p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9' && v[i] < 1000)
            v[i] = v[i] * 10 + (*p++ - '0');
    }
    *out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
    *s = p;
    return true;
}

static bool posix_name(const char **s)
{
    const char *p = *s;
    if (*p == '<') {
        while (*p && *p != '>')
            p++;
        if (*p != '>')
            return false;
        *s = p + 1;
        return true;
    }
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    if (p - *s < 3)
        return false;
    *s = p;
    return true;
}

static bool posix_num(const char **s, int *out)
{
    const char *p = *s;
    if (*p < '0' || *p > '9')
        return false;
    int v = 0;
    while (*p >= '0' && *p <= '9' && v < 100000)
        v = v * 10 + (*p++ - '0');
    *out = v;
    *s = p;
    return true;
}

static bool posix_date(const char **s, rule_date *r)
{
    const char *p = *s;
    r->secs = 7200;
    if (*p == 'J') {
        p++;
        r->kind = 'J';
        if (!posix_num(&p, &r->n) || r->n < 1 || r->n > 365)
            return false;
    } else if (*p == 'M') {
        p++;
        r->kind = 'M';
        if (!posix_num(&p, &r->m) || *p++ != '.' || !posix_num(&p, &r->w) || *p++ != '.' ||
            !posix_num(&p, &r->d) || r->m < 1 || r->m > 12 || r->w < 1 || r->w > 5 || r->d > 6)
            return false;
    } else {
        r->kind = 'N';
        if (!posix_num(&p, &r->n) || r->n > 365)
            return false;
    }
    if (*p == '/') {
        p++;
        if (!posix_time(&p, &r->secs))
            return false;
    }
    *s = p;
    return true;
}

/* "STD offset [DST [offset] [,start[/time],end[/time]]]" into z. */
static bool posix_rule(rill__tz *z, const char *s)
{
    int32_t off;
    if (!posix_name(&s) || !posix_time(&s, &off))
        return false;
    z->std_off = -off;
    z->has_rule = true;
    if (!*s)
        return true;
    if (!posix_name(&s))
        return false;
    z->has_dst = true;
    z->dst_off = z->std_off + 3600;
    if (*s && *s != ',') {
        if (!posix_time(&s, &off))
            return false;
        z->dst_off = -off;
    }
    if (!*s) { /* no rule given: the US rule POSIX falls back to */
        z->start = (rule_date){'M', 0, 3, 2, 0, 7200};
        z->end = (rule_date){'M', 0, 11, 1, 0, 7200};
        return true;
    }
    if (*s++ != ',' || !posix_date(&s, &z->start) || *s++ != ',' || !posix_date(&s, &z->end))
        return false;
    return *s == '\0';
}

/* The local seconds (since 1970-01-01T00:00 local) at which a rule date falls in year y. */
static int64_t rule_local(const rule_date *r, int64_t y)
{
    int64_t jan1 = rill__days_from_civil(y, 1, 1), day;
    if (r->kind == 'J')
        day = jan1 + r->n - 1 + (is_leap(y) && r->n >= 60);
    else if (r->kind == 'N')
        day = jan1 + r->n;
    else {
        int64_t first = rill__days_from_civil(y, r->m, 1);
        int dow = (int)((first % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday (4) */
        int d = 1 + (r->d - dow + 7) % 7 + (r->w - 1) * 7;
        while (d > month_days(y, r->m))
            d -= 7;
        day = first + d - 1;
    }
    return day * 86400 + r->secs;
}

static int32_t rule_offset(const rill__tz *z, int64_t utc)
{
    if (!z->has_dst)
        return z->std_off;
    int64_t y = year_of_days(floor_div(utc + z->std_off, 86400));
    int64_t s = rule_local(&z->start, y) - z->std_off, e = rule_local(&z->end, y) - z->dst_off;
    bool dst = s < e ? utc >= s && utc < e : !(utc >= e && utc < s);
    return dst ? z->dst_off : z->std_off;
}

/* ---- TZif ---------------------------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* One data block (v1: 32-bit times, else 64-bit) at p into z; its end in *end. */
static bool tzif_block(rill__tz *z, const unsigned char *p, size_t n, bool wide, size_t *end)
{
    if (n < 44 || memcmp(p, "TZif", 4))
        return false;
    uint32_t isut = be32(p + 20), isstd = be32(p + 24), leap = be32(p + 28);
    uint32_t timecnt = be32(p + 32), typecnt = be32(p + 36), charcnt = be32(p + 40);
    size_t tsz = wide ? 8 : 4;
    if (timecnt > 100000 || typecnt == 0 || typecnt > 256 || charcnt > 100000 || leap > 100000 ||
        isut > 256 || isstd > 256)
        return false;
    size_t need =
        44 + timecnt * tsz + timecnt + typecnt * 6 + charcnt + leap * (tsz + 4) + isstd + isut;
    if (need > n)
        return false;
    const unsigned char *tt = p + 44, *idx = tt + timecnt * tsz, *types = idx + timecnt;
    for (uint32_t i = 0; i < timecnt; i++)
        if (idx[i] >= typecnt)
            return false;
    z->n = (int)timecnt;
    z->times = rill__xcalloc(timecnt + 1, sizeof *z->times);
    z->offs = rill__xcalloc(timecnt + 1, sizeof *z->offs);
    for (uint32_t i = 0; i < timecnt; i++) {
        z->times[i] = wide ? be64(tt + i * 8) : (int64_t)(int32_t)be32(tt + i * 4);
        z->offs[i] = (int32_t)be32(types + idx[i] * 6);
    }
    z->initial = (int32_t)be32(types);
    *end = need;
    return true;
}

static bool tzif_parse(rill__tz *z, const unsigned char *p, size_t n)
{
    size_t end;
    if (n < 44 || memcmp(p, "TZif", 4))
        return false;
    if (p[4] == '\0') /* version 1: 32-bit only, no footer */
        return tzif_block(z, p, n, false, &end);
    rill__tz v1 = {0};
    bool ok = tzif_block(&v1, p, n, false, &end);
    free(v1.times);
    free(v1.offs);
    if (!ok)
        return false;
    p += end, n -= end;
    if (!tzif_block(z, p, n, true, &end))
        return false;
    p += end, n -= end;
    /* the footer: "\n<POSIX TZ>\n" (empty: no rule) */
    if (n >= 2 && p[0] == '\n') {
        const unsigned char *nl = memchr(p + 1, '\n', n - 1);
        if (nl && nl > p + 1) {
            char rule[128];
            size_t len = (size_t)(nl - p - 1);
            if (len < sizeof rule) {
                memcpy(rule, p + 1, len);
                rule[len] = '\0';
                if (!posix_rule(z, rule))
                    z->has_rule = z->has_dst = false;
            }
        }
    }
    return true;
}

static bool read_region(rill__tz *z, const char *name)
{
    /* a region name as Java takes it: letters, digits and ~/._+-, no climbing out with .. */
    size_t len = strlen(name);
    if (len == 0 || len > 200 || name[0] == '/' || name[0] == '.' || strstr(name, ".."))
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              strchr("~/._+-", *c)))
            return false;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", ZONEINFO, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    unsigned char *buf = rill__xmalloc(1 << 20);
    size_t n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    bool ok = n < (1 << 20) && tzif_parse(z, buf, n);
    free(buf);
    return ok;
}

/* ---- fixed offsets ------------------------------------------------------------------------- */

/* Java's ZoneOffset.of: +h, +hh, +hh:mm, +hhmm, +hh:mm:ss, +hhmmss (at most 18 hours). */
static bool parse_offset(const char *s, int32_t *out)
{
    if (*s != '+' && *s != '-')
        return false;
    int sign = *s++ == '-' ? -1 : 1;
    int f[3] = {0, 0, 0}, nf = 0;
    size_t len = strlen(s);
    bool colon = len > 2 && s[2] == ':';
    if (len == 1 || len == 2) {
        for (size_t i = 0; i < len; i++) {
            if (s[i] < '0' || s[i] > '9')
                return false;
            f[0] = f[0] * 10 + (s[i] - '0');
        }
        nf = 1;
    } else {
        size_t i = 0;
        while (i < len && nf < 3) {
            if (nf && colon) {
                if (s[i++] != ':')
                    return false;
            }
            if (i + 2 > len || s[i] < '0' || s[i] > '9' || s[i + 1] < '0' || s[i + 1] > '9')
                return false;
            f[nf++] = (s[i] - '0') * 10 + (s[i + 1] - '0');
            i += 2;
        }
        if (i != len || nf < 2)
            return false;
    }
    if (f[0] > 18 || f[1] > 59 || f[2] > 59 || (f[0] == 18 && (f[1] || f[2])))
        return false;
    *out = sign * (f[0] * 3600 + f[1] * 60 + f[2]);
    return true;
}

static bool fixed_zone(const char *name, int32_t *off)
{
    *off = 0;
    if (!strcmp(name, "Z") || !strcmp(name, "UTC") || !strcmp(name, "GMT") || !strcmp(name, "UT"))
        return true;
    if (parse_offset(name, off))
        return true;
    static const char *const prefixes[] = {"UTC", "GMT", "UT"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(prefixes[i]);
        if (!strncmp(name, prefixes[i], n) && parse_offset(name + n, off))
            return true;
    }
    return false;
}

/* ---- the cache ----------------------------------------------------------------------------- */

static const rill__tz *find(rill__tz *head, const char *name)
{
    for (rill__tz *z = head; z; z = z->next)
        if (!strcmp(z->name, name))
            return z;
    return NULL;
}

const rill__tz *rill__tz_get(const char *name)
{
    if (!name)
        return NULL;
    const rill__tz *hit = find(atomic_load_explicit(&zones, memory_order_acquire), name);
    if (hit)
        return hit;
    pthread_mutex_lock(&zones_lock);
    rill__tz *head = atomic_load_explicit(&zones, memory_order_acquire);
    hit = find(head, name);
    if (!hit) {
        rill__tz *z = rill__xcalloc(1, sizeof *z);
        int32_t off;
        bool ok = true;
        if (fixed_zone(name, &off))
            z->initial = off;
        else
            ok = read_region(z, name);
        if (ok) {
            z->name = rill__xstrdup(name);
            z->next = head;
            atomic_store_explicit(&zones, z, memory_order_release);
            hit = z;
        } else {
            free(z->times);
            free(z->offs);
            free(z);
        }
    }
    pthread_mutex_unlock(&zones_lock);
    return hit;
}

int32_t rill__tz_offset(const rill__tz *z, int64_t utc)
{
    if (z->n == 0)
        return z->has_rule ? rule_offset(z, utc) : z->initial;
    if (utc < z->times[0])
        return z->initial;
    if (utc >= z->times[z->n - 1] && z->has_rule)
        return rule_offset(z, utc);
    int lo = 0, hi = z->n - 1; /* the last transition at or before utc */
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (z->times[mid] <= utc)
            lo = mid;
        else
            hi = mid - 1;
    }
    return z->offs[lo];
}

int64_t rill__tz_from_local(const rill__tz *z, int64_t local)
{
    /* the offsets a day before and after (no zone changes twice within two days) */
    int32_t before = rill__tz_offset(z, local - 86400 - 64800);
    int32_t after = rill__tz_offset(z, local + 86400 + 64800);
    if (before == after)
        return local - before;
    bool b_ok = rill__tz_offset(z, local - before) == before;
    bool a_ok = rill__tz_offset(z, local - after) == after;
    if (b_ok) /* the only one, or the earlier of an overlap */
        return local - before;
    if (a_ok)
        return local - after;
    return local - before; /* a gap: later by its length */
}

/* ---- windows of local time ------------------------------------------------------------------ */

#define HOUR_MS INT64_C(3600000)

static int64_t floor_div_ms(int64_t a)
{
    return a / 1000 - (a % 1000 < 0);
}

int64_t rill__tz_local_ms(const rill__tz *z, int64_t ms)
{
    if (!z || ms == INT64_MIN || ms == INT64_MAX)
        return ms;
    int64_t off = (int64_t)rill__tz_offset(z, floor_div_ms(ms)) * 1000, r;
    return __builtin_add_overflow(ms, off, &r) ? (off > 0 ? INT64_MAX : INT64_MIN) : r;
}

int64_t rill__tz_instant_ms(const rill__tz *z, int64_t x)
{
    if (!z || x == INT64_MIN || x == INT64_MAX)
        return x;
    int64_t secs = floor_div_ms(x);
    return rill__tz_from_local(z, secs) * 1000 + (x - secs * 1000);
}

int64_t rill__tz_timer_ms(const rill__tz *z, int64_t x)
{
    if (!z || x == INT64_MIN || x == INT64_MAX)
        return x;
    int64_t t1 = rill__tz_instant_ms(z, x);
    int64_t t2 = x > INT64_MAX - HOUR_MS ? t1 + HOUR_MS : rill__tz_instant_ms(z, x + HOUR_MS);
    if (t1 == t2) /* x is in a gap: the gap's hour */
        return t1 - (t1 % HOUR_MS + HOUR_MS) % HOUR_MS;
    if (t2 - t1 > HOUR_MS) /* x is in an overlap: its second occurrence */
        return t1 + HOUR_MS;
    return t1;
}
