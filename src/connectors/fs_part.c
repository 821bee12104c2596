/*
 * fs_part.c - connectors layer: the filesystem sink's options, Hive-style partition paths and
 * the partition commit rule (Flink's FileSystem SQL connector semantics).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fs_int.h"

/* ---- durations and sizes -------------------------------------------------------------------- */

/* A non-negative decimal number at *p, then optional blanks; the rest is the unit. */
static int number_unit(const char *s, uint64_t *n_out, const char **unit_out)
{
    const char *p = s;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!isdigit((unsigned char)*p))
        return RILL_ECONFIG;
    uint64_t n = 0;
    while (isdigit((unsigned char)*p)) {
        if (n > (UINT64_MAX - 9) / 10)
            return RILL_ECONFIG;
        n = n * 10 + (uint64_t)(*p++ - '0');
    }
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = strlen(p);
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    *n_out = n;
    *unit_out = p;
    return len < 32 ? 0 : RILL_ECONFIG;
}

static bool unit_is(const char *u, const char *const *names)
{
    size_t len = strlen(u);
    while (len > 0 && (u[len - 1] == ' ' || u[len - 1] == '\t'))
        len--;
    for (; *names; names++)
        if (strlen(*names) == len && !strncasecmp(u, *names, len))
            return true;
    return false;
}

int rill__fs_parse_duration(const char *s, int64_t *ms_out)
{
    static const char *const ns[] = {"ns", "nano", "nanos", "nanosecond", "nanoseconds", NULL};
    static const char *const us[] = {"us", "micro", "micros", "microsecond", "microseconds", NULL};
    static const char *const ms[] = {"",  "ms", "milli", "millis", "millisecond", "milliseconds",
                                     NULL};
    static const char *const sec[] = {"s", "sec", "secs", "second", "seconds", NULL};
    static const char *const min[] = {"m", "min", "mins", "minute", "minutes", NULL};
    static const char *const hour[] = {"h", "hour", "hours", NULL};
    static const char *const day[] = {"d", "day", "days", NULL};
    uint64_t n;
    const char *u;
    if (!s || number_unit(s, &n, &u))
        return RILL_ECONFIG;
    uint64_t mul, div = 1;
    if (unit_is(u, ns))
        mul = 1, div = 1000000;
    else if (unit_is(u, us))
        mul = 1, div = 1000;
    else if (unit_is(u, ms))
        mul = 1;
    else if (unit_is(u, sec))
        mul = 1000;
    else if (unit_is(u, min))
        mul = 60000;
    else if (unit_is(u, hour))
        mul = 3600000;
    else if (unit_is(u, day))
        mul = 86400000;
    else
        return RILL_ECONFIG;
    if (n / div > (uint64_t)INT64_MAX / mul)
        return RILL_ECONFIG;
    *ms_out = (int64_t)(n / div * mul);
    return 0;
}

int rill__fs_parse_size(const char *s, uint64_t *bytes_out)
{
    static const char *const b[] = {"", "b", "bytes", NULL};
    static const char *const k[] = {"k", "kb", "kibibytes", NULL};
    static const char *const m[] = {"m", "mb", "mebibytes", NULL};
    static const char *const g[] = {"g", "gb", "gibibytes", NULL};
    static const char *const t[] = {"t", "tb", "tebibytes", NULL};
    uint64_t n;
    const char *u;
    if (!s || number_unit(s, &n, &u))
        return RILL_ECONFIG;
    int shift;
    if (unit_is(u, b))
        shift = 0;
    else if (unit_is(u, k))
        shift = 10;
    else if (unit_is(u, m))
        shift = 20;
    else if (unit_is(u, g))
        shift = 30;
    else if (unit_is(u, t))
        shift = 40;
    else
        return RILL_ECONFIG;
    if (shift && n > (UINT64_MAX >> shift))
        return RILL_ECONFIG;
    *bytes_out = n << shift;
    return 0;
}

/* ---- escaping ------------------------------------------------------------------------------- */

static bool needs_escape(unsigned char c)
{
    return c < 0x20 || c == 0x7f || (c && strchr("\"#%'*/:=?\\{[]^", c) != NULL);
}

void rill__fs_escape(const char *s, size_t n, rill__buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (needs_escape(c)) {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rill__buf_append(out, e, 3);
        } else {
            rill__buf_append(out, &s[i], 1);
        }
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void rill__fs_unescape(const char *s, size_t n, rill__buf *out)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            char c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            rill__buf_append(out, &c, 1);
            i += 2;
            continue;
        }
        rill__buf_append(out, &s[i], 1);
    }
}

/* ---- partition time ------------------------------------------------------------------------- */

static int month_days(int64_t y, int m)
{
    static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : md[m - 1];
}

typedef struct dt_fields {
    int64_t year;
    int month, day, hour, minute, second, milli;
    bool has_date, has_time;
} dt_fields;

/* Reads min..max digits at *p. */
static bool digits(const char **p, int min, int max, int64_t *out)
{
    const char *q = *p;
    int64_t v = 0;
    int n = 0;
    while (n < max && isdigit((unsigned char)*q)) {
        v = v * 10 + (*q++ - '0');
        n++;
    }
    if (n < min)
        return false;
    *p = q;
    *out = v;
    return true;
}

/* Flink's lenient default: y-M-d, optionally followed by " H:m:s" and a fraction. */
static bool parse_default(const char *s, dt_fields *f)
{
    const char *p = s;
    int64_t v;
    if (!digits(&p, 1, 10, &f->year) || *p++ != '-' || !digits(&p, 1, 2, &v))
        return false;
    f->month = (int)v;
    if (*p++ != '-' || !digits(&p, 1, 2, &v))
        return false;
    f->day = (int)v;
    f->has_date = true;
    if (*p == '\0')
        return true;
    if (*p++ != ' ' || !digits(&p, 1, 2, &v))
        return false;
    f->hour = (int)v;
    if (*p++ != ':' || !digits(&p, 1, 2, &v))
        return false;
    f->minute = (int)v;
    if (*p++ != ':' || !digits(&p, 1, 2, &v))
        return false;
    f->second = (int)v;
    f->has_time = true;
    if (*p == '.') {
        p++;
        const char *q = p;
        if (!digits(&p, 1, 9, &v))
            return false;
        for (int n = (int)(p - q); n < 3; n++)
            v *= 10;
        for (int n = (int)(p - q); n > 3; n--)
            v /= 10;
        f->milli = (int)v;
    }
    return *p == '\0';
}

/* A Java DateTimeFormatter pattern (letters y u M d H m s S; 'quoted' and other characters
 * literal): a letter repeated n times reads n digits (1 or 2 for a single letter; the year
 * 4 to 9 for "yyyy"). */
static bool parse_format(const char *fmt, const char *s, dt_fields *f)
{
    const char *p = s;
    for (const char *q = fmt; *q;) {
        char c = *q;
        if (c == '\'') {
            q++;
            if (*q == '\'') { /* '' is a quote */
                if (*p++ != '\'')
                    return false;
                q++;
                continue;
            }
            while (*q && *q != '\'') {
                if (*p++ != *q++)
                    return false;
            }
            if (*q == '\'')
                q++;
            continue;
        }
        if (!isalpha((unsigned char)c)) {
            if (*p++ != c)
                return false;
            q++;
            continue;
        }
        int n = 0;
        while (q[n] == c)
            n++;
        q += n;
        int64_t v;
        int min = n == 1 ? 1 : n, max = n == 1 ? 2 : n;
        if ((c == 'y' || c == 'u') && n >= 4 && !isalpha((unsigned char)*q))
            max = 9; /* a wider year, unless another number follows at once ("yyyyMMdd") */
        if (c == 'S')
            min = max = n;
        if (!digits(&p, min, max, &v))
            return false;
        switch (c) {
        case 'y':
        case 'u':
            if (n == 2)
                v += 2000;
            f->year = v;
            f->has_date = true;
            break;
        case 'M':
            f->month = (int)v;
            break;
        case 'd':
            f->day = (int)v;
            break;
        case 'H':
            f->hour = (int)v;
            f->has_time = true;
            break;
        case 'm':
            f->minute = (int)v;
            break;
        case 's':
            f->second = (int)v;
            break;
        case 'S':
            for (int k = n; k < 3; k++)
                v *= 10;
            for (int k = n; k > 3; k--)
                v /= 10;
            f->milli = (int)v;
            break;
        default:
            return false; /* a field rill does not read */
        }
    }
    return *p == '\0';
}

int rill__fs_partition_time(const rill__fs_opts *o, const char *rel, int64_t *ms_out,
                            rill__err *err)
{
    /* the partition's values, unescaped, in key order */
    rill__buf vals[16];
    int nv = 0;
    const char *p = rel;
    while (*p && nv < 16) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        memset(&vals[nv], 0, sizeof vals[nv]);
        if (eq)
            rill__fs_unescape(eq + 1, len - (size_t)(eq + 1 - p), &vals[nv]);
        rill__buf_putc(&vals[nv], '\0');
        nv++;
        p = end ? end + 1 : p + len;
    }
    rill__buf text = {0};
    if (!o->time_pattern) {
        if (nv > 0)
            rill__buf_append(&text, vals[0].data, vals[0].len - 1);
    } else {
        /* each $key in turn, as Flink replaces them one key after the other */
        rill__buf cur = {0};
        rill__buf_append(&cur, o->time_pattern, strlen(o->time_pattern));
        for (int k = 0; k < o->n_keys && k < nv; k++) {
            rill__buf next = {0};
            size_t kl = strlen(o->keys[k]);
            for (size_t i = 0; i < cur.len;) {
                if (cur.data[i] == '$' && i + 1 + kl <= cur.len &&
                    !memcmp(cur.data + i + 1, o->keys[k], kl)) {
                    rill__buf_append(&next, vals[k].data, vals[k].len - 1);
                    i += 1 + kl;
                } else {
                    rill__buf_append(&next, cur.data + i, 1);
                    i++;
                }
            }
            rill__buf_free(&cur);
            cur = next;
        }
        rill__buf_append(&text, cur.data, cur.len);
        rill__buf_free(&cur);
    }
    rill__buf_putc(&text, '\0');
    for (int i = 0; i < nv; i++)
        rill__buf_free(&vals[i]);
    const char *t = (const char *)text.data;
    dt_fields f = {.month = 1, .day = 1};
    bool ok = o->time_format ? parse_format(o->time_format, t, &f) : parse_default(t, &f);
    ok = ok && f.has_date && f.month >= 1 && f.month <= 12 && f.day >= 1 &&
         f.day <= month_days(f.year, f.month) && f.hour < 24 && f.minute < 60 && f.second < 60;
    int rc = 0;
    if (!ok)
        rc = rill__err_set(err, RILL_EPARSE,
                           "partition '%s': its time text '%s' does not parse as %s "
                           "('partition.time-extractor.timestamp-pattern' / "
                           "'partition.time-extractor.timestamp-formatter')",
                           rel, t, o->time_format ? o->time_format : "yyyy-MM-dd [HH:mm:ss]");
    else
        *ms_out = rill__days_from_civil(f.year, f.month, f.day) * 86400000 + (int64_t)f.hour * 3600000 +
                  (int64_t)f.minute * 60000 + (int64_t)f.second * 1000 + f.milli;
    rill__buf_free(&text);
    return rc;
}

int rill__fs_committable(const rill__fs_opts *o, const char *rel, int64_t created_ms, int64_t wm,
                         int64_t now, rill__err *err)
{
    if (o->trigger == RILL_FS_TRIGGER_PROCESS_TIME)
        return wm == INT64_MAX || now > created_ms + o->delay_ms;
    if (wm == INT64_MAX)
        return 1;
    int64_t t;
    int rc = rill__fs_partition_time(o, rel, &t, err);
    if (rc)
        return rc;
    /* Flink: committable when watermark > partition time + delay */
    return t <= INT64_MAX - o->delay_ms && wm > t + o->delay_ms;
}

/* ---- options -------------------------------------------------------------------------------- */

void rill__fs_opts_free(rill__fs_opts *o)
{
    for (int i = 0; i < o->n_keys; i++)
        free(o->keys[i]);
    free(o->keys);
    free(o->success_name);
    free(o->default_name);
    free(o->time_pattern);
    free(o->time_format);
    free(o->part_prefix);
    memset(o, 0, sizeof *o);
}

#define FS_BAD(...) (rc = rill__err_set(err, RILL_ECONFIG, "filesystem sink: " __VA_ARGS__))

int rill__fs_parse_options(const char *const *options, const char *const *keys, int n_keys,
                           char **dir_out, rill__fmt *fmt_out, rill__fs_opts *o, rill__err *err)
{
    memset(o, 0, sizeof *o);
    *dir_out = NULL;
    *fmt_out = (rill__fmt){RILL_FMT_CSV, true, ','};
    /* Flink's defaults */
    o->roll_size = (uint64_t)128 << 20;
    o->roll_interval_ms = 30 * 60000;
    o->roll_inactive_ms = 30 * 60000;
    o->check_interval_ms = 60000;
    o->success_name = rill__xstrdup("_SUCCESS");
    o->default_name = rill__xstrdup("__DEFAULT_PARTITION__");
    o->n_keys = n_keys;
    o->keys = rill__xcalloc((size_t)n_keys + 1, sizeof *o->keys);
    for (int i = 0; i < n_keys; i++)
        o->keys[i] = rill__xstrdup(keys[i]);
    const char *path = NULL, *format = NULL, *delim = NULL, *trigger = NULL, *policy = NULL;
    int rc = 0;
    for (size_t i = 0; options && options[i] && rc == 0; i += 2) {
        const char *k = options[i], *v = options[i + 1] ? options[i + 1] : "";
        if (!strcmp(k, "connector") || !strcmp(k, "connector.type")) {
            continue;
        } else if (!strcmp(k, "path") || !strcmp(k, "connector.path")) {
            path = v;
        } else if (!strcmp(k, "format") || !strcmp(k, "format.type")) {
            format = v;
        } else if (!strcmp(k, "csv.field-delimiter")) {
            delim = v;
        } else if (!strcmp(k, "sink.rolling-policy.file-size")) {
            if (rill__fs_parse_size(v, &o->roll_size) || o->roll_size == 0)
                FS_BAD("option '%s': '%s' is not a memory size such as '128MB'", k, v);
        } else if (!strcmp(k, "sink.rolling-policy.rollover-interval") ||
                   !strcmp(k, "sink.rolling-policy.inactivity-interval") ||
                   !strcmp(k, "sink.rolling-policy.check-interval") ||
                   !strcmp(k, "sink.partition-commit.delay")) {
            int64_t ms;
            bool zero_ok = !strcmp(k, "sink.partition-commit.delay");
            if (rill__fs_parse_duration(v, &ms) || (ms == 0 && !zero_ok))
                FS_BAD("option '%s': '%s' is not a %sduration such as '1 min' or '30 s'", k, v,
                       zero_ok ? "" : "positive ");
            else if (!strcmp(k, "sink.rolling-policy.rollover-interval"))
                o->roll_interval_ms = ms;
            else if (!strcmp(k, "sink.rolling-policy.inactivity-interval"))
                o->roll_inactive_ms = ms;
            else if (!strcmp(k, "sink.rolling-policy.check-interval"))
                o->check_interval_ms = ms;
            else
                o->delay_ms = ms;
        } else if (!strcmp(k, "sink.partition-commit.trigger")) {
            trigger = v;
        } else if (!strcmp(k, "sink.partition-commit.policy.kind")) {
            policy = v;
        } else if (!strcmp(k, "sink.partition-commit.success-file.name")) {
            if (!*v || strchr(v, '/') || !strcmp(v, ".") || !strcmp(v, ".."))
                FS_BAD("option '%s': '%s' is not a file name", k, v);
            free(o->success_name);
            o->success_name = rill__xstrdup(v);
        } else if (!strcmp(k, "sink.partition-commit.watermark-time-zone")) {
            if (strcmp(v, "UTC") && strcmp(v, "GMT") && strcmp(v, "Z") && strcmp(v, "+00:00") &&
                strcmp(v, "Etc/UTC"))
                FS_BAD("option '%s': time zone '%s' is not supported (only UTC)", k, v);
        } else if (!strcmp(k, "partition.time-extractor.kind")) {
            if (strcmp(v, "default"))
                FS_BAD("option '%s': '%s' is not supported (only 'default')", k, v);
        } else if (!strcmp(k, "partition.time-extractor.timestamp-pattern")) {
            free(o->time_pattern);
            o->time_pattern = rill__xstrdup(v);
        } else if (!strcmp(k, "partition.time-extractor.timestamp-formatter")) {
            for (const char *c = v; *c && rc == 0; c++)
                if (isalpha((unsigned char)*c) && !strchr("yuMdHmsS", *c)) {
                    FS_BAD("option '%s': pattern letter '%c' in '%s' is not supported (y u M d H "
                           "m s S)",
                           k, *c, v);
                } else if (*c == '\'') {
                    const char *e = strchr(c + 1, '\'');
                    if (!e) {
                        FS_BAD("option '%s': unclosed quote in '%s'", k, v);
                        break;
                    }
                    c = e;
                }
            free(o->time_format);
            o->time_format = rill__xstrdup(v);
        } else if (!strcmp(k, "sink.part-prefix")) {
            /* the part files' names (Flink's OutputFileConfig part prefix): two sinks writing
             * one directory need their own, or each takes the other's files for its own */
            bool ok = isalpha((unsigned char)v[0]) && strlen(v) <= 64;
            for (const char *c = v; *c && ok; c++)
                ok = isalnum((unsigned char)*c) || *c == '-' || *c == '_';
            if (!ok)
                FS_BAD("option '%s': '%s' is not a file name prefix (a letter, then letters, "
                       "digits, '-' or '_', at most 64)", k, v);
            free(o->part_prefix);
            o->part_prefix = rill__xstrdup(v);
        } else if (!strcmp(k, "partition.default-name")) {
            if (!*v || strchr(v, '/'))
                FS_BAD("option '%s': '%s' is not a directory name", k, v);
            free(o->default_name);
            o->default_name = rill__xstrdup(v);
        } else if (!strcmp(k, "sink.shuffle-by-partition.enable")) {
            if (strcasecmp(v, "true") && strcasecmp(v, "false"))
                FS_BAD("option '%s': '%s' is not a boolean", k, v);
            o->shuffle = !strcasecmp(v, "true");
        } else if (!strcmp(k, "csv.ignore-parse-errors") || !strcmp(k, "csv.allow-comments") ||
                   !strcmp(k, "json.ignore-parse-errors") ||
                   !strcmp(k, "json.fail-on-missing-field") ||
                   !strcmp(k, "source.monitor-interval") ||
                   !strcmp(k, "lookup.join.cache.ttl")) {
            continue; /* options of reading: nothing to the sink, as in Flink */
        } else if (!strncmp(k, "csv.", 4) || !strncmp(k, "json.", 5) ||
                   !strncmp(k, "source.", 7) || !strcmp(k, "sink.parallelism") ||
                   !strcmp(k, "auto-compaction") || !strcmp(k, "compaction.file-size") ||
                   !strcmp(k, "sink.partition-commit.policy.class") ||
                   !strcmp(k, "partition.time-extractor.class")) {
            FS_BAD("option '%s' is not supported by the filesystem sink yet (docs/sql.md lists "
                   "its options)",
                   k);
        } else {
            FS_BAD("Unsupported options found for 'filesystem': %s (docs/sql.md lists the "
                   "filesystem sink's options)",
                   k);
        }
    }
    if (rc == 0 && (!path || !*path))
        FS_BAD("option 'path' is missing");
    if (rc == 0 && !format)
        FS_BAD("option 'format' is missing");
    if (rc == 0) {
        if (!strcmp(format, "csv"))
            fmt_out->format = RILL_FMT_CSV;
        else if (!strcmp(format, "json"))
            fmt_out->format = RILL_FMT_JSON;
        else
            FS_BAD("option 'format': '%s' is not supported (csv, json)", format);
    }
    if (rc == 0 && delim) {
        if (strlen(delim) != 1 || *delim == '"' || *delim == '\n' || *delim == '\r')
            FS_BAD("option 'csv.field-delimiter': '%s' is not one character other than a quote "
                   "or a line break",
                   delim);
        else
            fmt_out->delim = *delim;
    }
    if (rc == 0 && trigger) {
        if (!strcmp(trigger, "process-time"))
            o->trigger = RILL_FS_TRIGGER_PROCESS_TIME;
        else if (!strcmp(trigger, "partition-time"))
            o->trigger = RILL_FS_TRIGGER_PARTITION_TIME;
        else
            FS_BAD("option 'sink.partition-commit.trigger': '%s' is not one of process-time, "
                   "partition-time",
                   trigger);
    }
    if (rc == 0 && policy) {
        /* a comma-separated list, as in Flink */
        char *copy = rill__xstrdup(policy), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t && rc == 0; t = strtok_r(NULL, ",", &save)) {
            while (*t == ' ')
                t++;
            size_t n = strlen(t);
            while (n && t[n - 1] == ' ')
                t[--n] = '\0';
            if (!strcmp(t, "success-file"))
                o->success_file = true;
            else if (!strcmp(t, "metastore"))
                FS_BAD("option 'sink.partition-commit.policy.kind': 'metastore' is not available "
                       "(rill has no metastore; use 'success-file')");
            else
                FS_BAD("option 'sink.partition-commit.policy.kind': '%s' is not supported "
                       "(success-file)",
                       t);
        }
        free(copy);
        if (rc == 0 && n_keys == 0)
            FS_BAD("option 'sink.partition-commit.policy.kind' needs a partitioned table "
                   "(PARTITIONED BY)");
    }
    if (rc == 0 && o->time_pattern)
        for (const char *c = strchr(o->time_pattern, '$'); c && rc == 0; c = strchr(c + 1, '$')) {
            bool known = false;
            for (int i = 0; i < n_keys && !known; i++)
                known = !strncmp(c + 1, keys[i], strlen(keys[i]));
            if (!known)
                FS_BAD("option 'partition.time-extractor.timestamp-pattern': '%s' names no "
                       "partition key at '%s'",
                       o->time_pattern, c);
        }
    if (rc == 0 && o->trigger == RILL_FS_TRIGGER_PARTITION_TIME && n_keys == 0)
        FS_BAD("option 'sink.partition-commit.trigger' = 'partition-time' needs a partitioned "
               "table (PARTITIONED BY)");
    if (rc == 0) {
        if (!strncmp(path, "file://", 7)) {
            path += 7;
            if (*path != '/')
                FS_BAD("option 'path': '%s' is not a file:// URI with an absolute path "
                       "(file:///dir)",
                       path - 7);
        } else if (strstr(path, "://")) {
            FS_BAD("option 'path': '%s': only local paths and file:// URIs are supported", path);
        }
    }
    if (rc == 0) {
        size_t n = strlen(path);
        while (n > 1 && path[n - 1] == '/')
            n--;
        *dir_out = rill__xasprintf("%.*s", (int)n, path);
    }
    if (rc)
        rill__fs_opts_free(o);
    return rc;
}
