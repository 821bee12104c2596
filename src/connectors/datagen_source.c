/*
 * datagen_source.c - connectors layer: Flink's 'datagen' source. Row n (n = 0, 1, ...) is a
 * pure function of n: a sequence field holds start + n, a random field a value drawn from a
 * hash of (seed, field, n); the wall clock enters only timestamps, dates and times. The rows
 * are cut into splits when the job first starts (split s holds the rows n = s mod S), split s
 * belongs to subtask s mod parallelism, and each split's progress travels with it, so a
 * restore at any parallelism emits every row exactly once.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/dec128.h"
#include "conn_int.h"

#define GOLDEN UINT64_C(0x9e3779b97f4a7c15)

/* Splits at the first start: the first multiple of the parallelism at or above this, so that
 * at that parallelism subtask i emits the rows n = i mod parallelism (as Flink splits its
 * sequences), and a restore at a higher parallelism has splits to spread. */
#define MIN_SPLITS     64
#define MAX_SPLITS     65536
#define MAX_LENGTH     (16 << 20) /* longest random string or byte string */
#define BATCH_BYTES    (8 << 20)  /* a poll stops adding rows past this many bytes */
#define DEFAULT_RATE   10000.0    /* rows-per-second */
#define DEFAULT_LENGTH 100
#define DAY_MS         INT64_C(86400000)

/* ---- config: the options as given, compiled against the schema when used ----------------- */

typedef struct dg_cfg {
    char *who;   /* "datagen table 't'" or "datagen source", for messages */
    char **opts; /* key, value, ..., NULL (copies) */
    size_t n;    /* pairs */
} dg_cfg;

void *rill__datagen_source_cfg(const char *const *options, const char *table)
{
    dg_cfg *c = rill__xcalloc(1, sizeof *c);
    if (table) {
        size_t len = strlen(table) + 32;
        c->who = rill__xmalloc(len);
        snprintf(c->who, len, "datagen table '%s'", table);
    } else {
        c->who = rill__xstrdup("datagen source");
    }
    size_t n = 0;
    while (options && options[2 * n] && options[2 * n + 1])
        n++;
    c->opts = rill__xcalloc(2 * n + 1, sizeof *c->opts);
    for (size_t i = 0; i < 2 * n; i++)
        c->opts[i] = rill__xstrdup(options[i]);
    c->n = n;
    return c;
}

static void dg_cfg_free(void *cfg)
{
    dg_cfg *c = cfg;
    if (!c)
        return;
    for (size_t i = 0; i < 2 * c->n; i++)
        free(c->opts[i]);
    free(c->opts);
    free(c->who);
    free(c);
}

/* One field's generator. */
typedef struct dg_field {
    int idx;
    rill__field t;
    bool sequence;
    int64_t lo, hi;      /* random integers (also intervals); a sequence's start and end */
    rill__i128 dlo, dhi; /* random DECIMAL: unscaled bounds */
    double flo, fhi;     /* random FLOAT / DOUBLE */
    int64_t max_past;    /* random timestamps: ms */
    double null_rate;
    int64_t length; /* random STRING / BYTES */
    bool var_len;
    uint64_t seed;
    /* the options given, for the checks that need all of them */
    const char *o_min, *o_max, *o_start, *o_end;
} dg_field;

typedef struct dg_plan {
    dg_field *f;
    int n;
    double rate;    /* rows per second, all subtasks together */
    uint64_t total; /* rows: number-of-rows and the shortest sequence; UINT64_MAX unbounded */
    uint64_t seed;
} dg_plan;

static void plan_free(dg_plan *p)
{
    free(p->f);
    p->f = NULL;
}

/* The option suffixes of fields.<name>.<suffix>. */
static const char *const field_opts[] = {"kind",  "min", "max",       "max-past", "length",
                                         "start", "end", "null-rate", "var-len",  NULL};

static bool is_int_type(rill_type t)
{
    return t == RILL_T_INT8 || t == RILL_T_INT16 || t == RILL_T_INT32 || t == RILL_T_INT64 ||
           t == RILL_T_INTERVAL_YM || t == RILL_T_INTERVAL_DT;
}

static const char *type_str(const rill__field *f, char *buf, size_t cap)
{
    rill_type_info ti = {f->type, f->precision, f->scale, f->length, f->fixed};
    rill_type_format(ti, buf, cap);
    return buf;
}

/* Whether option suffix opt applies to field f (its kind and type). */
static bool applies(const dg_field *f, const char *opt)
{
    rill_type t = f->t.type;
    if (!strcmp(opt, "kind"))
        return true;
    if (f->sequence)
        return !strcmp(opt, "start") || !strcmp(opt, "end");
    if (!strcmp(opt, "null-rate"))
        return true;
    if (!strcmp(opt, "min") || !strcmp(opt, "max"))
        return is_int_type(t) || t == RILL_T_FLOAT || t == RILL_T_DOUBLE || t == RILL_T_DECIMAL;
    if (!strcmp(opt, "max-past"))
        return t == RILL_T_TIMESTAMP || t == RILL_T_TIMESTAMP_LTZ;
    if (!strcmp(opt, "length") || !strcmp(opt, "var-len"))
        return (t == RILL_T_STRING || t == RILL_T_BYTES) && !f->t.fixed;
    return false;
}

/* Whether a sequence can fill type t. */
static bool sequence_fits(rill_type t)
{
    return t == RILL_T_INT8 || t == RILL_T_INT16 || t == RILL_T_INT32 || t == RILL_T_INT64 ||
           t == RILL_T_FLOAT || t == RILL_T_DOUBLE || t == RILL_T_DECIMAL || t == RILL_T_STRING ||
           t == RILL_T_BYTES;
}

/* The text v without leading and trailing blanks, into buf. */
static const char *trimmed(const char *v, char *buf, size_t cap, size_t *len)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, v, n);
    buf[n] = 0;
    *len = n;
    return buf;
}

typedef struct parse_ctx {
    const dg_cfg *c;
    rill__err *err;
} parse_ctx;

static int bad_value(parse_ctx *pc, const char *key, const char *v, const char *what)
{
    return rill__err_set(pc->err, RILL_ECONFIG, "%s: option '%s': '%s' is not %s", pc->c->who, key,
                         v, what);
}

static int parse_int(parse_ctx *pc, const char *key, const char *v, int64_t *out)
{
    char buf[64];
    size_t n;
    trimmed(v, buf, sizeof buf, &n);
    if (strlen(v) >= sizeof buf || rill__parse_i64(buf, n, out) != 0)
        return bad_value(pc, key, v, "an integer (of 64 bits)");
    return 0;
}

static int parse_num(parse_ctx *pc, const char *key, const char *v, double *out)
{
    char buf[128];
    size_t n;
    trimmed(v, buf, sizeof buf, &n);
    if (strlen(v) >= sizeof buf || rill__parse_f64(buf, n, out) != 0 || !isfinite(*out))
        return bad_value(pc, key, v, "a finite number");
    return 0;
}

/* The range of integer type t. */
static void int_range(rill_type t, int64_t *lo, int64_t *hi)
{
    switch (t) {
    case RILL_T_INT8:
        *lo = INT8_MIN, *hi = INT8_MAX;
        break;
    case RILL_T_INT16:
        *lo = INT16_MIN, *hi = INT16_MAX;
        break;
    case RILL_T_INT32:
    case RILL_T_INTERVAL_YM:
        *lo = INT32_MIN, *hi = INT32_MAX;
        break;
    default:
        *lo = INT64_MIN, *hi = INT64_MAX;
        break;
    }
}

/* Reads option key = v (suffix opt) into field f. */
static int set_option(parse_ctx *pc, dg_field *f, const char *key, const char *opt, const char *v)
{
    if (!strcmp(opt, "null-rate")) {
        if (parse_num(pc, key, v, &f->null_rate))
            return RILL_ECONFIG;
        if (f->null_rate < 0 || f->null_rate > 1)
            return bad_value(pc, key, v, "a rate between 0 and 1");
        if (f->null_rate > 0 && !f->t.nullable)
            return rill__err_set(pc->err, RILL_ECONFIG, "%s: option '%s': column '%s' is NOT NULL",
                                 pc->c->who, key, f->t.name);
        return 0;
    }
    if (!strcmp(opt, "max-past")) {
        char buf[64];
        size_t n;
        trimmed(v, buf, sizeof buf, &n);
        if (strlen(v) >= sizeof buf || rill__parse_duration(buf, &f->max_past) != 0)
            return bad_value(pc, key, v, "a duration ('10 s', '5 min', '3000' ms)");
        return 0;
    }
    if (!strcmp(opt, "length")) {
        if (parse_int(pc, key, v, &f->length))
            return RILL_ECONFIG;
        if (f->length < 0 || f->length > MAX_LENGTH)
            return bad_value(pc, key, v, "a length between 0 and 16777216");
        if (f->t.length > 0 && f->length > f->t.length) {
            char ty[64];
            return rill__err_set(pc->err, RILL_ECONFIG,
                                 "%s: option '%s': %lld is longer than column '%s' (%s) holds",
                                 pc->c->who, key, (long long)f->length, f->t.name,
                                 type_str(&f->t, ty, sizeof ty));
        }
        return 0;
    }
    if (!strcmp(opt, "var-len")) {
        char buf[16];
        size_t n;
        trimmed(v, buf, sizeof buf, &n);
        if (strlen(v) >= sizeof buf || rill__parse_bool(buf, n, &f->var_len) != 0)
            return bad_value(pc, key, v, "true or false");
        return 0;
    }
    /* min, max, start, end: checked together once all are read */
    if (!strcmp(opt, "min"))
        f->o_min = v;
    else if (!strcmp(opt, "max"))
        f->o_max = v;
    else if (!strcmp(opt, "start"))
        f->o_start = v;
    else
        f->o_end = v;
    return 0;
}

/* fields.<name>.<opt>: the field and the suffix, or NULL. The name may hold dots (the leaves
 * of a ROW column are "row.field"). */
static dg_field *field_of(dg_plan *p, const char *key, const char **opt_out)
{
    const char *name = key + 7;
    for (int k = 0; field_opts[k]; k++) {
        size_t ol = strlen(field_opts[k]), kl = strlen(name);
        if (kl > ol + 1 && name[kl - ol - 1] == '.' && !strcmp(name + kl - ol, field_opts[k])) {
            for (int i = 0; i < p->n; i++)
                if (strlen(p->f[i].t.name) == kl - ol - 1 &&
                    !strncmp(p->f[i].t.name, name, kl - ol - 1)) {
                    *opt_out = field_opts[k];
                    return &p->f[i];
                }
        }
    }
    return NULL;
}

static int unsupported(parse_ctx *pc, const char *key)
{
    return rill__err_set(pc->err, RILL_ECONFIG,
                         "%s: unsupported option '%s' (options: rows-per-second, number-of-rows, "
                         "seed, fields.<column>.kind|min|max|max-past|length|var-len|start|end|"
                         "null-rate, for a column of the table)",
                         pc->c->who, key);
}

/* Random numbers: min and max (or the type's defaults), min <= max. */
static int random_bounds(parse_ctx *pc, dg_field *f)
{
    char kmin[300], kmax[300];
    snprintf(kmin, sizeof kmin, "fields.%s.min", f->t.name);
    snprintf(kmax, sizeof kmax, "fields.%s.max", f->t.name);
    rill_type t = f->t.type;
    bool bad = false;
    if (is_int_type(t)) {
        int64_t lo, hi;
        int_range(t, &lo, &hi);
        f->lo = t == RILL_T_INTERVAL_YM ? 0 : lo; /* Flink's: 0 to 10000 years */
        f->hi = t == RILL_T_INTERVAL_YM ? 120000 : hi;
        if ((f->o_min && parse_int(pc, kmin, f->o_min, &f->lo)) ||
            (f->o_max && parse_int(pc, kmax, f->o_max, &f->hi)))
            return RILL_ECONFIG;
        const char *k = f->lo < lo || f->lo > hi ? kmin : f->hi < lo || f->hi > hi ? kmax : NULL;
        if (k) {
            char ty[64];
            return rill__err_set(pc->err, RILL_ECONFIG,
                                 "%s: option '%s': out of the range of column '%s' (%s)",
                                 pc->c->who, k, f->t.name, type_str(&f->t, ty, sizeof ty));
        }
        bad = f->lo > f->hi;
    } else if (t == RILL_T_FLOAT || t == RILL_T_DOUBLE) {
        bool fl = t == RILL_T_FLOAT;
        double fmax = (double)FLT_MAX;
        f->flo = fl ? (double)FLT_TRUE_MIN : DBL_TRUE_MIN; /* Flink's: Float/Double.MIN_VALUE */
        f->fhi = fl ? fmax : DBL_MAX;
        if ((f->o_min && parse_num(pc, kmin, f->o_min, &f->flo)) ||
            (f->o_max && parse_num(pc, kmax, f->o_max, &f->fhi)))
            return RILL_ECONFIG;
        if (fl && (fabs(f->flo) > fmax || fabs(f->fhi) > fmax))
            return rill__err_set(pc->err, RILL_ECONFIG,
                                 "%s: option '%s': out of the range of FLOAT column '%s'",
                                 pc->c->who, fabs(f->flo) > fmax ? kmin : kmax, f->t.name);
        bad = f->flo > f->fhi;
    } else if (t == RILL_T_DECIMAL) {
        /* the column's range, Flink's default [MIN_VALUE, MAX_VALUE] cut to it */
        rill__i128 top = (rill__i128)rill__dec_pow10(f->t.precision) - 1;
        f->dlo = 0;
        f->dhi = top;
        const char *o[2] = {f->o_min, f->o_max}, *k[2] = {kmin, kmax};
        rill__i128 *d[2] = {&f->dlo, &f->dhi};
        for (int i = 0; i < 2; i++) {
            if (!o[i])
                continue;
            char buf[128];
            size_t n;
            trimmed(o[i], buf, sizeof buf, &n);
            if (strlen(o[i]) >= sizeof buf || rill__dec_parse(buf, n, 38, f->t.scale, d[i]) != 0)
                return bad_value(pc, k[i], o[i], "a decimal number (of at most 38 digits)");
            *d[i] = *d[i] > top ? top : *d[i] < -top ? -top : *d[i]; /* as Flink: cut */
        }
        bad = f->dlo > f->dhi;
    }
    if (bad)
        return rill__err_set(
            pc->err, RILL_ECONFIG, "%s: column '%s': min (%s) is greater than max (%s)", pc->c->who,
            f->t.name, f->o_min ? f->o_min : "default", f->o_max ? f->o_max : "default");
    return 0;
}

/* The number of decimal digits of |v| and a sign. */
static size_t text_len(int64_t v)
{
    char b[24];
    return (size_t)snprintf(b, sizeof b, "%lld", (long long)v);
}

/* A sequence: start and end given, start <= end, both values of the column's type. */
static int sequence_bounds(parse_ctx *pc, dg_field *f)
{
    char ks[300], ke[300], ty[64];
    snprintf(ks, sizeof ks, "fields.%s.start", f->t.name);
    snprintf(ke, sizeof ke, "fields.%s.end", f->t.name);
    rill_type t = f->t.type;
    if (!sequence_fits(t))
        return rill__err_set(pc->err, RILL_ECONFIG,
                             "%s: option 'fields.%s.kind': column '%s' is %s, which cannot be a "
                             "sequence (integers, FLOAT, DOUBLE, DECIMAL, strings and bytes can)",
                             pc->c->who, f->t.name, f->t.name, type_str(&f->t, ty, sizeof ty));
    if (!f->o_start || !f->o_end)
        return rill__err_set(pc->err, RILL_ECONFIG, "%s: column '%s' is a sequence: it needs '%s'",
                             pc->c->who, f->t.name, f->o_start ? ke : ks);
    if (parse_int(pc, ks, f->o_start, &f->lo) || parse_int(pc, ke, f->o_end, &f->hi))
        return RILL_ECONFIG;
    if (f->lo > f->hi)
        return rill__err_set(pc->err, RILL_ECONFIG,
                             "%s: column '%s': the sequence's start (%lld) is greater than its "
                             "end (%lld)",
                             pc->c->who, f->t.name, (long long)f->lo, (long long)f->hi);
    if ((uint64_t)f->hi - (uint64_t)f->lo >= (uint64_t)INT64_MAX)
        return rill__err_set(pc->err, RILL_ECONFIG,
                             "%s: column '%s': a sequence holds at most 2^63 - 1 values",
                             pc->c->who, f->t.name);
    int64_t lo = INT64_MIN, hi = INT64_MAX;
    if (t == RILL_T_INT8 || t == RILL_T_INT16 || t == RILL_T_INT32)
        int_range(t, &lo, &hi);
    else if (t == RILL_T_FLOAT)
        lo = -(INT64_C(1) << 24), hi = INT64_C(1) << 24; /* every value exact */
    else if (t == RILL_T_DOUBLE)
        lo = -(INT64_C(1) << 53), hi = INT64_C(1) << 53;
    else if (t == RILL_T_DECIMAL && f->t.precision - f->t.scale < 19) {
        hi = (int64_t)rill__dec_pow10(f->t.precision - f->t.scale) - 1;
        lo = -hi;
    }
    bool fits = f->lo >= lo && f->hi <= hi;
    if (t == RILL_T_STRING && f->t.length > 0)
        fits = RILL_MAX(text_len(f->lo), text_len(f->hi)) <= (size_t)f->t.length;
    if (t == RILL_T_BYTES && f->t.length > 0)
        fits = f->t.length >= 8; /* 8 bytes, big-endian, as Flink writes a long */
    if (!fits)
        return rill__err_set(pc->err, RILL_ECONFIG,
                             "%s: column '%s': the sequence %lld to %lld does not fit its type %s",
                             pc->c->who, f->t.name, (long long)f->lo, (long long)f->hi,
                             type_str(&f->t, ty, sizeof ty));
    return 0;
}

/* The fields' generators from the options: kinds first (they decide which options apply),
 * then every option. 0, or RILL_ECONFIG with the option and the table named in err. */
static int plan_compile(const dg_cfg *c, const rill_schema *schema, dg_plan *p, rill__err *err)
{
    parse_ctx pc = {c, err};
    memset(p, 0, sizeof *p);
    p->n = schema->n_fields;
    p->f = rill__xcalloc(p->n ? (size_t)p->n : 1, sizeof *p->f);
    p->rate = DEFAULT_RATE;
    p->total = UINT64_MAX;
    for (int i = 0; i < p->n; i++) {
        dg_field *f = &p->f[i];
        f->idx = i;
        f->t = schema->fields[i];
        f->length = f->t.length > 0 ? f->t.length : DEFAULT_LENGTH;
    }
    int rc = 0;
    for (size_t i = 0; i < c->n && !rc; i++) { /* kinds */
        const char *key = c->opts[2 * i], *v = c->opts[2 * i + 1], *opt;
        dg_field *f;
        if (strncmp(key, "fields.", 7) || !(f = field_of(p, key, &opt)) || strcmp(opt, "kind"))
            continue;
        if (!strcmp(v, "sequence"))
            f->sequence = true;
        else if (strcmp(v, "random"))
            rc = bad_value(&pc, key, v, "'random' or 'sequence'");
    }
    int64_t n_rows = -1;
    for (size_t i = 0; i < c->n && !rc; i++) {
        const char *key = c->opts[2 * i], *v = c->opts[2 * i + 1], *opt;
        dg_field *f;
        if (!strcmp(key, "connector") || !strcmp(key, "connector.type"))
            continue;
        if (!strcmp(key, "rows-per-second")) {
            int64_t rate;
            if (!(rc = parse_int(&pc, key, v, &rate)) && rate <= 0)
                rc = bad_value(&pc, key, v, "a number of rows above 0");
            p->rate = (double)rate;
        } else if (!strcmp(key, "number-of-rows")) {
            if (!(rc = parse_int(&pc, key, v, &n_rows)) && n_rows < 0)
                rc = bad_value(&pc, key, v, "a number of rows (0 or more)");
        } else if (!strcmp(key, "seed")) {
            int64_t s;
            if (!(rc = parse_int(&pc, key, v, &s)))
                p->seed = (uint64_t)s;
        } else if (!strcmp(key, "waveform-function-enabled") || !strcmp(key, "period") ||
                   !strcmp(key, "floating-gap")) {
            rc = rill__err_set(err, RILL_ECONFIG, "%s: option '%s' is not supported yet", c->who,
                               key);
        } else if (strncmp(key, "fields.", 7) || !(f = field_of(p, key, &opt))) {
            rc = unsupported(&pc, key);
        } else if (!applies(f, opt)) {
            char ty[64];
            rc = rill__err_set(err, RILL_ECONFIG,
                               "%s: option '%s' does not apply to column '%s' (%s, %s)", c->who,
                               key, f->t.name, type_str(&f->t, ty, sizeof ty),
                               f->sequence ? "sequence" : "random");
        } else if (strcmp(opt, "kind")) {
            rc = set_option(&pc, f, key, opt, v);
        }
    }
    if (n_rows >= 0)
        p->total = (uint64_t)n_rows;
    for (int i = 0; i < p->n && !rc; i++) {
        dg_field *f = &p->f[i];
        f->seed = rill__mix64(p->seed ^ rill__hash_bytes(f->t.name, strlen(f->t.name), 7));
        if (f->sequence) {
            if (!(rc = sequence_bounds(&pc, f)))
                p->total = RILL_MIN(p->total, (uint64_t)f->hi - (uint64_t)f->lo + 1);
        } else {
            rc = random_bounds(&pc, f);
        }
    }
    if (rc)
        plan_free(p);
    return rc;
}

static int dg_validate(const void *cfg, const rill_schema *schema, rill__err *err)
{
    dg_plan p;
    int rc = plan_compile(cfg, schema, &p, err);
    if (rc == 0)
        plan_free(&p);
    return rc;
}

/* ---- the source instance ------------------------------------------------------------------ */

typedef struct dg_split {
    uint32_t s;
    uint64_t k;    /* rows emitted: the next is s + k * n_splits */
    uint64_t rows; /* all it has (split_rows) */
} dg_split;

typedef struct dg_source {
    rill__source base;
    const dg_cfg *cfg;
    rill__err *err;
    char *uid;
    int subtask, par;
    dg_plan plan;
    uint32_t n_splits;
    dg_split *own;
    int n_own;
    int next;      /* the owned split that emits next, -1 when all have ended */
    char *scratch; /* one random string */
    /* pacing */
    double rate;   /* rows/s of this subtask */
    int64_t t0;    /* mono ns of the first poll since the start or a restore */
    uint64_t sent; /* rows emitted since t0 */
} dg_source;

/* Rows of split s: n = s + k * n_splits below total. */
static uint64_t split_rows(const dg_source *x, uint64_t s)
{
    uint64_t t = x->plan.total;
    return t > s ? (t - 1 - s) / x->n_splits + 1 : 0;
}

static int scan_next(const dg_source *x);

/* Owns the splits s = subtask mod par of n splits, all at their beginning. */
static void take_splits(dg_source *x, uint32_t n)
{
    free(x->own);
    x->n_splits = n;
    x->n_own = 0;
    x->own = rill__xcalloc(n / (uint32_t)x->par + 1, sizeof *x->own);
    for (uint32_t s = (uint32_t)x->subtask; s < n; s += (uint32_t)x->par)
        x->own[x->n_own++] = (dg_split){s, 0, split_rows(x, s)};
    x->next = scan_next(x);
}

static int dg_create(const void *cfg, const rill_schema *schema, const rill__conn_init *init,
                     rill__source **out)
{
    *out = NULL;
    dg_plan plan;
    int rc = plan_compile(cfg, schema, &plan, init->err);
    if (rc)
        return rc;
    dg_source *x = rill__xcalloc(1, sizeof *x);
    x->base.ops = &rill__datagen_source_ops;
    x->cfg = cfg;
    x->err = init->err;
    x->uid = rill__xstrdup(init->uid ? init->uid : "datagen");
    x->subtask = init->subtask;
    x->par = init->parallelism > 0 ? init->parallelism : 1;
    x->plan = plan;
    x->rate = plan.rate / x->par;
    int64_t longest = 0;
    for (int i = 0; i < plan.n; i++)
        longest = RILL_MAX(longest, plan.f[i].length);
    x->scratch = rill__xmalloc((size_t)longest + 32);
    uint32_t n = (uint32_t)x->par;
    while (n < MIN_SPLITS)
        n += (uint32_t)x->par;
    take_splits(x, n);
    *out = &x->base;
    return 0;
}

/* Draw j of field f for row n: a uniform 64-bit value. */
static inline uint64_t draw(const dg_field *f, uint64_t n, uint64_t j)
{
    return rill__mix64(rill__mix64(f->seed + n * GOLDEN) + j * GOLDEN);
}

/* A uniform value in [0, range) (range 0: any 64-bit value). */
static inline uint64_t below(uint64_t h, uint64_t range)
{
    __extension__ typedef unsigned __int128 u128;
    return range ? (uint64_t)(((u128)h * range) >> 64) : h;
}

static inline double unit(uint64_t h)
{
    return (double)(h >> 11) * 0x1p-53; /* [0, 1) */
}

/* A timestamp or time of day in the field's precision: ms cut to it, or ns. */
static uint64_t at_precision(int64_t ms, int p)
{
    if (p > 3)
        return (uint64_t)(ms * 1000000);
    static const int64_t div[] = {1000, 100, 10, 1};
    int64_t d = div[p < 0 ? 0 : p];
    int64_t q = ms / d - (ms % d < 0);
    return (uint64_t)(q * d);
}

static int put_text(rill_batch *b, rill_row *r, int i, const char *s, size_t n)
{
    uint64_t slot;
    int rc = rill__batch_put_bytes(b, s, n, &slot);
    if (rc == 0)
        rill_row_set_i64(r, i, (int64_t)slot);
    return rc;
}

/* Random field f of row n into r. */
static int fill_random(dg_source *x, const dg_field *f, rill_batch *b, rill_row *r, uint64_t n,
                       int64_t now)
{
    int i = f->idx;
    if (f->null_rate > 0 && unit(draw(f, n, 0)) < f->null_rate)
        return 0; /* the row starts with every field NULL */
    uint64_t h = draw(f, n, 1);
    switch (f->t.type) {
    case RILL_T_BOOL:
        rill_row_set_bool(r, i, h >> 63);
        return 0;
    case RILL_T_FLOAT:
    case RILL_T_DOUBLE: {
        double u = unit(h), d = (1 - u) * f->flo + u * f->fhi; /* no overflow at any bounds */
        d = d < f->flo ? f->flo : d > f->fhi ? f->fhi : d;
        if (f->t.type == RILL_T_DOUBLE) {
            rill_row_set_f64(r, i, d);
        } else {
            float v = (float)d;
            if ((double)v < f->flo)
                v = nextafterf(v, INFINITY);
            if ((double)v > f->fhi)
                v = nextafterf(v, -INFINITY);
            rill_row_set_f32(r, i, v);
        }
        return 0;
    }
    case RILL_T_DECIMAL: {
        __extension__ typedef unsigned __int128 u128;
        u128 range = (u128)f->dhi - (u128)f->dlo + 1, w = ((u128)h << 64) | draw(f, n, 2);
        return rill__row_set_dec(r, i, f->dlo + (rill__i128)(range ? w % range : w));
    }
    case RILL_T_STRING:
    case RILL_T_BYTES: {
        uint64_t len = (uint64_t)f->length;
        if (f->var_len && len > 1)
            len = 1 + below(h, len); /* 1 .. length */
        static const char hex[] = "0123456789abcdef";
        bool text = f->t.type == RILL_T_STRING;
        for (uint64_t k = 0; k < len; k += text ? 16 : 8) {
            uint64_t d = draw(f, n, 3 + k);
            for (uint64_t j = k; j < len && j < k + (text ? 16 : 8); j++, d >>= text ? 4 : 8)
                x->scratch[j] = text ? hex[d & 15] : (char)(d & 255);
        }
        return put_text(b, r, i, x->scratch, len);
    }
    case RILL_T_TIMESTAMP:
    case RILL_T_TIMESTAMP_LTZ: {
        int64_t past = f->max_past > 0 ? (int64_t)below(h, (uint64_t)f->max_past) : 0;
        rill_row_set_i64(r, i, (int64_t)at_precision(now - past, f->t.precision));
        return 0;
    }
    case RILL_T_DATE:
        rill_row_set_i64(r, i, now / DAY_MS - (now % DAY_MS < 0));
        return 0;
    case RILL_T_TIME: {
        int64_t ms = now % DAY_MS;
        rill_row_set_i64(r, i, (int64_t)at_precision(ms < 0 ? ms + DAY_MS : ms, f->t.precision));
        return 0;
    }
    default: /* integers, intervals */
        rill_row_set_i64(
            r, i, (int64_t)((uint64_t)f->lo + below(h, (uint64_t)f->hi - (uint64_t)f->lo + 1)));
        return 0;
    }
}

/* Sequence field f of row n (its value start + n) into r. */
static int fill_sequence(dg_source *x, const dg_field *f, rill_batch *b, rill_row *r, uint64_t n)
{
    int i = f->idx;
    int64_t v = (int64_t)((uint64_t)f->lo + n);
    switch (f->t.type) {
    case RILL_T_FLOAT:
        rill_row_set_f32(r, i, (float)v);
        return 0;
    case RILL_T_DOUBLE:
        rill_row_set_f64(r, i, (double)v);
        return 0;
    case RILL_T_DECIMAL:
        return rill__row_set_dec(r, i, (rill__i128)v * (rill__i128)rill__dec_pow10(f->t.scale));
    case RILL_T_STRING: {
        int len = snprintf(x->scratch, 24, "%lld", (long long)v);
        return put_text(b, r, i, x->scratch, (size_t)len);
    }
    case RILL_T_BYTES: {
        unsigned char be[8];
        for (int k = 0; k < 8; k++)
            be[k] = (unsigned char)((uint64_t)v >> (56 - 8 * k));
        return put_text(b, r, i, (const char *)be, 8);
    }
    default:
        rill_row_set_i64(r, i, v);
        return 0;
    }
}

/* The owned split with the next row in row order (fewest emitted, then lowest split), or -1
 * when all have ended. */
static int scan_next(const dg_source *x)
{
    int best = -1;
    for (int i = 0; i < x->n_own; i++) {
        const dg_split *sp = &x->own[i];
        if (sp->k < sp->rows && (best < 0 || sp->k < x->own[best].k))
            best = i;
    }
    return best;
}

/* The next split after own[i] emitted a row. own[] is sorted by split and own[i] was next: no
 * live split had emitted fewer rows, the ones before i had emitted more, so the first live
 * split after i that had emitted as many is next; only at the end of a round is a scan due. */
static int next_after(const dg_source *x, int i)
{
    uint64_t k = x->own[i].k - 1;
    for (int j = i + 1; j < x->n_own; j++)
        if (x->own[j].k == k && k < x->own[j].rows)
            return j;
    return scan_next(x);
}

/* Rows this subtask may emit now by its share of rows-per-second; 0 with *wait_ns set when
 * the next is not due yet. */
static uint64_t due_rows(dg_source *x, int64_t *wait_ns)
{
    int64_t now = rill__mono_ns();
    if (x->t0 == 0) {
        x->t0 = now;
        x->sent = 0;
    }
    /* row j (from 0) since t0 is due at t0 + j / rate; a poll takes the rows due within the
     * next millisecond, so a high rate fills batches and a low one waits in steps of >= 1 ms */
    double elapsed = (double)(now - x->t0) * 1e-9 + 1e-3;
    uint64_t due = (uint64_t)(elapsed * x->rate) + 1;
    if (due > x->sent)
        return due - x->sent;
    double at = (double)x->sent / x->rate - 1e-3;
    int64_t wait = (int64_t)ceil(at * 1e9) - (now - x->t0);
    *wait_ns = RILL_MIN(RILL_MAX(wait, (int64_t)100000), (int64_t)1000000000);
    return 0;
}

static int dg_poll(rill__source *s, rill_batch *b, int64_t *wait_ns_out)
{
    dg_source *x = (dg_source *)s;
    int64_t wait = 0;
    if (wait_ns_out)
        *wait_ns_out = 0;
    b->split = 0; /* one split per subtask, as event time sees it: rows in row order */
    if (x->next < 0)
        return RILL_DONE;
    uint64_t want = due_rows(x, &wait);
    if (want == 0) {
        if (wait_ns_out)
            *wait_ns_out = wait;
        return RILL_AGAIN;
    }
    int64_t now = rill__now_ms();
    while (want > 0 && b->n_rows < b->cap_rows && b->n_bytes < BATCH_BYTES) {
        if (x->next < 0)
            break;
        dg_split *sp = &x->own[x->next];
        uint64_t n = sp->s + sp->k * x->n_splits;
        rill_row r = rill__batch_append(b);
        for (int i = 0; i < x->plan.n; i++) {
            const dg_field *f = &x->plan.f[i];
            int rc = f->sequence ? fill_sequence(x, f, b, &r, n) : fill_random(x, f, b, &r, n, now);
            if (rc) {
                rill__batch_pop(b);
                return rill__err_set(x->err, rc, "datagen source '%s': row %llu, column '%s': %s",
                                     x->uid, (unsigned long long)n, f->t.name, rill_strerror(rc));
            }
        }
        sp->k++;
        x->next = next_after(x, x->next);
        x->sent++;
        want--;
    }
    return x->next < 0 ? RILL_DONE : 0;
}

static int64_t dg_skipped(rill__source *s)
{
    (void)s;
    return 0;
}

/* Position: u64 version, u64 number of splits, u64 n; then n x (u64 split, u64 rows emitted). */
#define POS_VERSION 1
#define POS_HEAD    24
#define POS_SPLIT   16

static int dg_position(rill__source *s, rill__buf *out)
{
    dg_source *x = (dg_source *)s;
    rill__buf_put_u64(out, POS_VERSION);
    rill__buf_put_u64(out, x->n_splits);
    rill__buf_put_u64(out, (uint64_t)x->n_own);
    for (int i = 0; i < x->n_own; i++) {
        rill__buf_put_u64(out, x->own[i].s);
        rill__buf_put_u64(out, x->own[i].k);
    }
    return 0;
}

/* The number of splits of a position, and where its splits are. RILL_ECORRUPT in x->err. */
static int read_head(dg_source *x, const rill__source_pos *p, uint64_t *n_splits, uint64_t *n)
{
    const unsigned char *d = p->data;
    if (p->len < POS_HEAD || rill__le_get64(d) != POS_VERSION)
        return rill__err_set(x->err, RILL_ECORRUPT,
                             "datagen source '%s': the checkpointed position of subtask %d of "
                             "%d (%zu bytes) is not one this version wrote",
                             x->uid, p->subtask, p->parallelism, p->len);
    *n_splits = rill__le_get64(d + 8);
    *n = rill__le_get64(d + 16);
    if (*n_splits == 0 || *n_splits > MAX_SPLITS || *n > *n_splits ||
        (p->len - POS_HEAD) % POS_SPLIT != 0 || (p->len - POS_HEAD) / POS_SPLIT != *n)
        return rill__err_set(x->err, RILL_ECORRUPT,
                             "datagen source '%s': the checkpointed position of subtask %d of "
                             "%d is damaged (%llu splits, %llu owned, %zu bytes)",
                             x->uid, p->subtask, p->parallelism, (unsigned long long)*n_splits,
                             (unsigned long long)*n, p->len);
    return 0;
}

/* Every split's progress from the old subtask that held it (a finished one had ended all of
 * its splits, s mod its parallelism == its subtask), each split exactly once. */
static int progress_of(dg_source *x, const rill__source_pos *pos, int n, uint64_t n_splits,
                       uint64_t *k, bool *seen)
{
    for (int i = 0; i < n; i++) {
        const rill__source_pos *p = &pos[i];
        if (p->finished) {
            for (uint64_t s = (uint64_t)p->subtask; s < n_splits; s += (uint64_t)p->parallelism) {
                if (seen[s])
                    goto twice;
                seen[s] = true;
                k[s] = UINT64_MAX; /* ended */
            }
            continue;
        }
        uint64_t ns, m;
        int rc = read_head(x, p, &ns, &m);
        if (rc)
            return rc;
        const unsigned char *e = (const unsigned char *)p->data + POS_HEAD;
        for (uint64_t j = 0; j < m; j++, e += POS_SPLIT) {
            uint64_t s = rill__le_get64(e);
            if (s >= n_splits)
                return rill__err_set(x->err, RILL_ECORRUPT,
                                     "datagen source '%s': the position of subtask %d of %d "
                                     "holds split %llu of %llu: damaged",
                                     x->uid, p->subtask, p->parallelism, (unsigned long long)s,
                                     (unsigned long long)n_splits);
            if (seen[s])
                goto twice;
            seen[s] = true;
            k[s] = rill__le_get64(e + 8);
        }
    }
    for (uint64_t s = 0; s < n_splits; s++)
        if (!seen[s])
            return rill__err_set(x->err, RILL_ECORRUPT,
                                 "datagen source '%s': no position of the checkpoint holds split "
                                 "%llu of %llu: the splits are not covered exactly once",
                                 x->uid, (unsigned long long)s, (unsigned long long)n_splits);
    return 0;
twice:
    return rill__err_set(x->err, RILL_ECORRUPT,
                         "datagen source '%s': two positions of the checkpoint hold one split: "
                         "the splits are not covered exactly once",
                         x->uid);
}

static int dg_seek_rescaled(rill__source *s, const rill__source_pos *pos, int n)
{
    dg_source *x = (dg_source *)s;
    if (n <= 0)
        return 0;
    uint64_t n_splits = 0;
    for (int i = 0; i < n; i++) {
        const rill__source_pos *p = &pos[i];
        if (p->parallelism <= 0 || p->subtask < 0 || p->subtask >= p->parallelism)
            return rill__err_set(x->err, RILL_ECORRUPT,
                                 "datagen source '%s': a checkpointed position of subtask %d "
                                 "of %d",
                                 x->uid, p->subtask, p->parallelism);
        if (p->finished)
            continue;
        uint64_t ns, m;
        int rc = read_head(x, p, &ns, &m);
        if (rc)
            return rc;
        if (n_splits && ns != n_splits)
            return rill__err_set(x->err, RILL_ECORRUPT,
                                 "datagen source '%s': the checkpoint's subtasks disagree on "
                                 "the number of splits (%llu, %llu)",
                                 x->uid, (unsigned long long)n_splits, (unsigned long long)ns);
        n_splits = ns;
    }
    if (n_splits == 0) { /* every old subtask had ended */
        x->n_own = 0;
        x->next = -1;
        return 0;
    }
    uint64_t *k = rill__xmalloc(n_splits * sizeof *k);
    bool *seen = rill__xcalloc(n_splits, sizeof *seen);
    int rc = progress_of(x, pos, n, n_splits, k, seen);
    if (rc == 0) {
        take_splits(x, (uint32_t)n_splits);
        for (int i = 0; i < x->n_own; i++)
            x->own[i].k = k[x->own[i].s];
        x->next = scan_next(x);
        x->t0 = 0; /* pacing restarts here */
    }
    free(k);
    free(seen);
    return rc;
}

static int dg_seek(rill__source *s, const void *pos, size_t len)
{
    dg_source *x = (dg_source *)s;
    rill__source_pos p = {x->subtask, x->par, false, pos, len};
    /* a position stands alone only when it holds every split (a job of one subtask); the
     * runtime restores through dg_seek_rescaled with every subtask's (restore_from_all) */
    return dg_seek_rescaled(s, &p, 1);
}

static void dg_destroy(rill__source *s)
{
    dg_source *x = (dg_source *)s;
    if (!x)
        return;
    plan_free(&x->plan);
    free(x->own);
    free(x->scratch);
    free(x->uid);
    free(x);
}

const rill__source_ops rill__datagen_source_ops = {
    .kind = "datagen",
    .validate = dg_validate,
    .create = dg_create,
    .poll = dg_poll,
    .skipped = dg_skipped,
    .position = dg_position,
    .seek = dg_seek,
    .seek_rescaled = dg_seek_rescaled,
    .restore_from_all = true,
    .destroy = dg_destroy,
    .cfg_free = dg_cfg_free,
};
