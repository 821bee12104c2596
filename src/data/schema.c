/* schema.c - data layer: schemas of typed, named, nullable fields; parsing "name TYPE, ...". */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data.h"

rill_schema *rill_schema_new(void)
{
    rill_schema *s = rill__xcalloc(1, sizeof *s);
    atomic_init(&s->refs, 1);
    return s;
}

rill_schema *rill__schema_ref(const rill_schema *cs)
{
    rill_schema *s = (rill_schema *)cs;
    atomic_fetch_add(&s->refs, 1);
    return s;
}

void rill__schema_freeze(const rill_schema *s)
{
    atomic_store(&((rill_schema *)s)->frozen, true);
}

void rill_schema_free(rill_schema *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    for (int i = 0; i < s->n_fields; i++)
        free(s->fields[i].name);
    free(s->fields);
    free(s);
}

rill_type_info rill_type_default(rill_type t)
{
    rill_type_info ti = {.type = t};
    switch (t) {
    case RILL_T_DECIMAL:
        ti.precision = 10;
        break;
    case RILL_T_TIMESTAMP:
    case RILL_T_TIMESTAMP_LTZ:
        ti.precision = 3;
        break;
    case RILL_T_INTERVAL_YM:
        ti.precision = 2;
        break;
    case RILL_T_INTERVAL_DT:
        ti.precision = 2;
        ti.scale = 3;
        break;
    default:
        break;
    }
    return ti;
}

int rill__type_check(rill_type_info t, char *msg, size_t cap)
{
    if (t.type < RILL_T_BOOL || t.type > RILL_T_LAST) {
        snprintf(msg, cap, "unknown type %d", (int)t.type);
        return RILL_EINVAL;
    }
    const char *name = rill_type_name(t.type);
    bool stringy = t.type == RILL_T_STRING || t.type == RILL_T_BYTES;
    if (!stringy && (t.length || t.fixed)) {
        snprintf(msg, cap, "%s takes no length", name);
        return RILL_EINVAL;
    }
    switch (t.type) {
    case RILL_T_DECIMAL:
        if (t.precision < 1 || t.precision > RILL_DECIMAL_MAX_PRECISION) {
            snprintf(msg, cap, "DECIMAL precision %d is not in 1..38", t.precision);
            return RILL_EINVAL;
        }
        if (t.scale < 0 || t.scale > t.precision) {
            snprintf(msg, cap, "DECIMAL(%d, %d): the scale is not in 0..%d", t.precision, t.scale,
                     t.precision);
            return RILL_EINVAL;
        }
        return 0;
    case RILL_T_TIME:
    case RILL_T_TIMESTAMP:
    case RILL_T_TIMESTAMP_LTZ:
        if (t.precision < 0 || t.precision > 9 || t.scale) {
            snprintf(msg, cap, "%s precision %d is not in 0..9", name, t.precision);
            return RILL_EINVAL;
        }
        return 0;
    case RILL_T_INTERVAL_YM:
    case RILL_T_INTERVAL_DT:
        if (t.precision < 1 || t.precision > 6) {
            snprintf(msg, cap, "%s leading precision %d is not in 1..6", name, t.precision);
            return RILL_EINVAL;
        }
        if (t.scale < 0 || t.scale > 9 || (t.type == RILL_T_INTERVAL_YM && t.scale)) {
            snprintf(msg, cap, "%s fraction precision %d is out of range", name, t.scale);
            return RILL_EINVAL;
        }
        return 0;
    case RILL_T_STRING:
    case RILL_T_BYTES:
        if (t.precision || t.scale || t.length < 0 || (t.fixed && t.length < 1)) {
            snprintf(msg, cap, "%s length %d is not valid (1..2147483647, or 0 for unbounded)",
                     name, t.length);
            return RILL_EINVAL;
        }
        return 0;
    default:
        if (t.precision || t.scale) {
            snprintf(msg, cap, "%s takes no precision or scale", name);
            return RILL_EINVAL;
        }
        return 0;
    }
}

int rill_schema_add_typed(rill_schema *s, const char *name, rill_type_info type, bool nullable)
{
    if (!s || !name || !*name)
        return rill__last_error_set(RILL_EINVAL, "schema field needs a name");
    char why[160];
    if (rill__type_check(type, why, sizeof why))
        return rill__last_error_set(RILL_EINVAL, "field '%s': %s", name, why);
    if (atomic_load(&s->frozen))
        return rill__last_error_set(RILL_EPERM, "field '%s': schema is already used by a stream",
                                    name);
    if (s->n_fields >= RILL_MAX_FIELDS)
        return rill__last_error_set(RILL_ELIMIT, "field '%s': more than %d fields", name,
                                    RILL_MAX_FIELDS);
    if (rill_schema_index(s, name) >= 0)
        return rill__last_error_set(RILL_EINVAL, "field '%s' appears twice", name);
    rill__grow((void **)&s->fields, &s->cap, (size_t)s->n_fields + 1, sizeof *s->fields);
    s->fields[s->n_fields++] = (rill__field){
        .name = rill__xstrdup(name),
        .type = type.type,
        .nullable = nullable,
        .in_bytes = rill__type_in_bytes(type.type, type.precision),
        .precision = type.precision,
        .scale = type.scale,
        .length = type.length,
        .fixed = type.fixed,
    };
    s->null_words = (s->n_fields + 63) / 64;
    return 0;
}

int rill_schema_add(rill_schema *s, const char *name, rill_type type, bool nullable)
{
    if (s && name && *name && (type < RILL_T_BOOL || type > RILL_T_LAST))
        return rill__last_error_set(RILL_EINVAL, "field '%s': unknown type %d", name, (int)type);
    return rill_schema_add_typed(s, name, rill_type_default(type), nullable);
}

rill_type_info rill_schema_field_info(const rill_schema *s, int i)
{
    if (!s || i < 0 || i >= s->n_fields)
        return (rill_type_info){0};
    return rill__field_info(&s->fields[i]);
}

int rill_schema_n_fields(const rill_schema *s)
{
    return s ? s->n_fields : 0;
}

int rill_schema_index(const rill_schema *s, const char *name)
{
    for (int i = 0; s && i < s->n_fields; i++)
        if (!strcmp(s->fields[i].name, name))
            return i;
    return RILL_ENOENT;
}

const char *rill_schema_field_name(const rill_schema *s, int i)
{
    return s && i >= 0 && i < s->n_fields ? s->fields[i].name : NULL;
}

rill_type rill_schema_field_type(const rill_schema *s, int i)
{
    return s && i >= 0 && i < s->n_fields ? s->fields[i].type : (rill_type)0;
}

bool rill_schema_field_nullable(const rill_schema *s, int i)
{
    return s && i >= 0 && i < s->n_fields && s->fields[i].nullable;
}

const char *rill_type_name(rill_type t)
{
    switch (t) {
    case RILL_T_BOOL: return "BOOL";
    case RILL_T_INT64: return "INT64";
    case RILL_T_DOUBLE: return "DOUBLE";
    case RILL_T_STRING: return "STRING";
    case RILL_T_TIMESTAMP: return "TIMESTAMP";
    case RILL_T_INT8: return "TINYINT";
    case RILL_T_INT16: return "SMALLINT";
    case RILL_T_INT32: return "INT";
    case RILL_T_FLOAT: return "FLOAT";
    case RILL_T_DECIMAL: return "DECIMAL";
    case RILL_T_DATE: return "DATE";
    case RILL_T_TIME: return "TIME";
    case RILL_T_TIMESTAMP_LTZ: return "TIMESTAMP_LTZ";
    case RILL_T_BYTES: return "BYTES";
    case RILL_T_INTERVAL_YM: return "INTERVAL YEAR TO MONTH";
    case RILL_T_INTERVAL_DT: return "INTERVAL DAY TO SECOND";
    }
    return "?";
}

int rill_type_format(rill_type_info t, char *buf, size_t cap)
{
    switch (t.type) {
    case RILL_T_BOOL: return snprintf(buf, cap, "BOOLEAN");
    case RILL_T_INT64: return snprintf(buf, cap, "BIGINT");
    case RILL_T_STRING:
    case RILL_T_BYTES: {
        bool str = t.type == RILL_T_STRING;
        if (t.length == 0)
            return snprintf(buf, cap, "%s", str ? "STRING" : "BYTES");
        const char *n = str ? (t.fixed ? "CHAR" : "VARCHAR") : (t.fixed ? "BINARY" : "VARBINARY");
        return snprintf(buf, cap, "%s(%d)", n, t.length);
    }
    case RILL_T_DECIMAL: return snprintf(buf, cap, "DECIMAL(%d, %d)", t.precision, t.scale);
    case RILL_T_TIME:
    case RILL_T_TIMESTAMP:
    case RILL_T_TIMESTAMP_LTZ:
        return snprintf(buf, cap, "%s(%d)", rill_type_name(t.type), t.precision);
    case RILL_T_INTERVAL_YM: return snprintf(buf, cap, "INTERVAL YEAR(%d) TO MONTH", t.precision);
    case RILL_T_INTERVAL_DT:
        return snprintf(buf, cap, "INTERVAL DAY(%d) TO SECOND(%d)", t.precision, t.scale);
    default: return snprintf(buf, cap, "%s", rill_type_name(t.type));
    }
}

bool rill__schema_compatible(const rill_schema *a, const rill_schema *b)
{
    if (a->n_fields != b->n_fields)
        return false;
    for (int i = 0; i < a->n_fields; i++) {
        const rill__field *x = &a->fields[i], *y = &b->fields[i];
        if (x->type != y->type || x->precision != y->precision || x->scale != y->scale)
            return false;
    }
    return true;
}

/* rill's old name when the type is an old one with its old parameters: existing messages and
 * tests keep their text; Flink's name with parameters otherwise. */
static void describe_type(const rill__field *f, rill__buf *b)
{
    bool old = f->type == RILL_T_BOOL || f->type == RILL_T_INT64 || f->type == RILL_T_DOUBLE ||
               (f->type == RILL_T_STRING && f->length == 0) ||
               (f->type == RILL_T_TIMESTAMP && f->precision == 3);
    if (old) {
        rill__buf_printf(b, "%s", rill_type_name(f->type));
        return;
    }
    char tmp[64];
    rill_type_format(rill__field_info(f), tmp, sizeof tmp);
    rill__buf_printf(b, "%s", tmp);
}

void rill__schema_describe(const rill_schema *s, rill__buf *b)
{
    for (int i = 0; i < s->n_fields; i++) {
        rill__buf_printf(b, "%s%s ", i ? ", " : "", s->fields[i].name);
        describe_type(&s->fields[i], b);
        if (!s->fields[i].nullable)
            rill__buf_printf(b, " NOT NULL");
    }
}

/* The type names rill_schema_parse knows; params: which "(n[, m])" list it takes. */
enum { P_NONE, P_LEN, P_PREC, P_DEC, P_INTERVAL };
static const struct {
    const char *name;
    rill_type type;
    int params;
    bool fixed;
} type_names[] = {
    {"BOOL", RILL_T_BOOL, P_NONE, 0},           {"BOOLEAN", RILL_T_BOOL, P_NONE, 0},
    {"TINYINT", RILL_T_INT8, P_NONE, 0},        {"SMALLINT", RILL_T_INT16, P_NONE, 0},
    {"INT", RILL_T_INT32, P_NONE, 0},           {"INTEGER", RILL_T_INT32, P_NONE, 0},
    {"INT64", RILL_T_INT64, P_NONE, 0},         {"BIGINT", RILL_T_INT64, P_NONE, 0},
    {"FLOAT", RILL_T_FLOAT, P_NONE, 0},         {"REAL", RILL_T_FLOAT, P_NONE, 0},
    {"DOUBLE", RILL_T_DOUBLE, P_NONE, 0},       {"DECIMAL", RILL_T_DECIMAL, P_DEC, 0},
    {"DEC", RILL_T_DECIMAL, P_DEC, 0},          {"NUMERIC", RILL_T_DECIMAL, P_DEC, 0},
    {"STRING", RILL_T_STRING, P_NONE, 0},       {"VARCHAR", RILL_T_STRING, P_LEN, 0},
    {"CHAR", RILL_T_STRING, P_LEN, 1},          {"BYTES", RILL_T_BYTES, P_NONE, 0},
    {"VARBINARY", RILL_T_BYTES, P_LEN, 0},      {"BINARY", RILL_T_BYTES, P_LEN, 1},
    {"DATE", RILL_T_DATE, P_NONE, 0},           {"TIME", RILL_T_TIME, P_PREC, 0},
    {"TIMESTAMP", RILL_T_TIMESTAMP, P_PREC, 0}, {"TIMESTAMP_LTZ", RILL_T_TIMESTAMP_LTZ, P_PREC, 0},
    {"INTERVAL", RILL_T_INTERVAL_DT, P_INTERVAL, 0},
};

static const char *skip_ws(const char *p)
{
    while (isspace((unsigned char)*p))
        p++;
    return p;
}

static const char *word(const char *p, size_t *len)
{
    const char *s = p;
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    *len = (size_t)(p - s);
    return s;
}

/* Case-insensitive: the word at p (of length n) is w. */
static bool is_word(const char *p, size_t n, const char *w)
{
    return strlen(w) == n && !strncasecmp(p, w, n);
}

/* After a word: "(a)" or "(a, b)" (at most max_n numbers); *n_out numbers read (0: no
 * parenthesis). false for a malformed list. */
static bool params(const char **pp, int max_n, long *v, int *n_out)
{
    const char *p = skip_ws(*pp);
    *n_out = 0;
    if (*p != '(')
        return true;
    p = skip_ws(p + 1);
    for (;;) {
        if (!isdigit((unsigned char)*p) || *n_out >= max_n)
            return false;
        long x = 0;
        while (isdigit((unsigned char)*p)) {
            if (x < 100000000000L)
                x = x * 10 + (*p - '0');
            p++;
        }
        v[(*n_out)++] = x;
        p = skip_ws(p);
        if (*p == ')')
            break;
        if (*p != ',')
            return false;
        p = skip_ws(p + 1);
    }
    *pp = p + 1;
    return true;
}

/* Words that may follow: each of ws in turn, all (consumed) or none. */
static bool words_follow(const char **pp, const char *const *ws, int n)
{
    const char *p = *pp;
    for (int i = 0; i < n; i++) {
        size_t l;
        const char *w = word(skip_ws(p), &l);
        if (!is_word(w, l, ws[i]))
            return false;
        p = w + l;
    }
    *pp = p;
    return true;
}

static int interval_unit(const char *w, size_t l)
{
    static const char *const units[] = {"YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"};
    for (int i = 0; i < 6; i++)
        if (is_word(w, l, units[i]))
            return i;
    return -1;
}

/* INTERVAL's units: "YEAR[(p)] [TO MONTH]", "MONTH", "DAY[(p)] [TO HOUR|MINUTE|SECOND[(q)]]",
 * "HOUR [TO MINUTE|SECOND[(q)]]", "MINUTE [TO SECOND[(q)]]", "SECOND[(p[, q])]". */
static bool interval_units(const char **pp, rill_type_info *t)
{
    size_t l;
    const char *w = word(skip_ws(*pp), &l), *p = w + l;
    int u = interval_unit(w, l);
    if (u < 0)
        return false;
    long v[2];
    int n;
    if (!params(&p, u == 5 ? 2 : 1, v, &n) || (u == 1 && n))
        return false;
    t->type = u <= 1 ? RILL_T_INTERVAL_YM : RILL_T_INTERVAL_DT;
    t->precision = 2;
    t->scale = u <= 1 ? 0 : 6;
    if (n >= 1)
        t->precision = v[0] > 99 ? 99 : (int)v[0];
    if (u == 5 && n == 2)
        t->scale = v[1] > 99 ? 99 : (int)v[1];
    size_t l2;
    const char *w2 = word(skip_ws(p), &l2);
    if (is_word(w2, l2, "TO")) {
        const char *w3 = word(skip_ws(w2 + l2), &l2);
        int u2 = interval_unit(w3, l2);
        if (u2 <= u || (u <= 1) != (u2 <= 1) || u == 5)
            return false;
        p = w3 + l2;
        if (u2 == 5) {
            if (!params(&p, 1, v, &n))
                return false;
            if (n == 1)
                t->scale = v[0] > 99 ? 99 : (int)v[0];
        }
    }
    *pp = p;
    return true;
}

/* One type at *pp, with its parameters and trailing words. 0, or RILL_EPARSE with the last
 * error set. */
static int parse_type(const char *spec, const char **pp, rill_type_info *out)
{
    size_t tlen;
    const char *type = word(*pp, &tlen);
    int k = -1;
    for (size_t i = 0; i < RILL_ARRAY_LEN(type_names); i++)
        if (is_word(type, tlen, type_names[i].name))
            k = (int)i;
    if (tlen == 0 || k < 0)
        return rill__last_error_set(RILL_EPARSE,
                                    "schema: unknown type '%.*s' at column %ld (expected BOOL, "
                                    "INT64, DOUBLE, STRING, TIMESTAMP or a Flink SQL type)",
                                    (int)tlen, type, (long)(type - spec) + 1);
    rill_type_info t = rill_type_default(type_names[k].type);
    const char *p = type + tlen;
    long v[2];
    int n = 0;
    bool ok = true;
    switch (type_names[k].params) {
    case P_NONE:
        if (t.type == RILL_T_DOUBLE)
            words_follow(&p, (const char *const[]){"PRECISION"}, 1);
        break;
    case P_LEN:
        ok = params(&p, 1, v, &n);
        t.fixed = type_names[k].fixed;
        if (n == 1)
            t.length = v[0] > INT32_MAX || v[0] == 0 ? -1 : (int)v[0]; /* -1: refused below */
        else if (t.fixed)
            t.length = 1; /* CHAR is CHAR(1), BINARY is BINARY(1) (Flink) */
        break;
    case P_PREC:
        ok = params(&p, 1, v, &n);
        if (t.type == RILL_T_TIME)
            t.precision = 0;
        if (t.type == RILL_T_TIMESTAMP_LTZ)
            t.precision = 6;
        if (n == 1)
            t.precision = v[0] > 99 ? 99 : (int)v[0];
        if (ok && t.type == RILL_T_TIMESTAMP) {
            if (words_follow(&p, (const char *const[]){"WITH", "LOCAL", "TIME", "ZONE"}, 4)) {
                t.type = RILL_T_TIMESTAMP_LTZ;
                if (n == 0)
                    t.precision = 6;
            } else {
                words_follow(&p, (const char *const[]){"WITHOUT", "TIME", "ZONE"}, 3);
            }
        } else if (ok && t.type == RILL_T_TIME) {
            words_follow(&p, (const char *const[]){"WITHOUT", "TIME", "ZONE"}, 3);
        }
        break;
    case P_DEC:
        ok = params(&p, 2, v, &n);
        if (n >= 1)
            t.precision = v[0] > 99 ? 99 : (int)v[0];
        t.scale = n == 2 ? (v[1] > 99 ? 99 : (int)v[1]) : 0;
        break;
    case P_INTERVAL:
        ok = interval_units(&p, &t);
        break;
    }
    if (!ok)
        return rill__last_error_set(RILL_EPARSE,
                                    "schema: malformed %s type at column %ld of \"%s\"",
                                    type_names[k].name, (long)(type - spec) + 1, spec);
    char why[160];
    if (rill__type_check(t, why, sizeof why))
        return rill__last_error_set(RILL_EPARSE, "schema: %s at column %ld", why,
                                    (long)(type - spec) + 1);
    *out = t;
    *pp = p;
    return 0;
}

int rill_schema_parse(const char *spec, rill_schema **schema_out)
{
    *schema_out = NULL;
    if (!spec)
        return rill__last_error_set(RILL_EINVAL, "schema: no text given");
    rill_schema *s = rill_schema_new();
    const char *p = skip_ws(spec);
    while (*p) {
        size_t nlen;
        const char *name = word(p, &nlen);
        if (nlen == 0)
            goto bad;
        p = skip_ws(name + nlen);
        size_t tlen;
        word(p, &tlen);
        if (tlen == 0)
            goto bad;
        rill_type_info t;
        int rc = parse_type(spec, &p, &t);
        if (rc) {
            rill_schema_free(s);
            return rc;
        }
        p = skip_ws(p);
        bool nullable = true;
        size_t wl;
        const char *w = word(p, &wl);
        if (wl == 3 && !strncasecmp(w, "NOT", 3)) {
            p = skip_ws(w + 3);
            w = word(p, &wl);
            if (!(wl == 4 && !strncasecmp(w, "NULL", 4)))
                goto bad;
            nullable = false;
            p = skip_ws(w + 4);
        }
        char *fname = rill__xstrndup(name, nlen);
        rc = rill_schema_add_typed(s, fname, t, nullable);
        free(fname);
        if (rc) {
            rill_schema_free(s);
            return rc;
        }
        if (*p == ',')
            p = skip_ws(p + 1);
        else if (*p)
            goto bad;
    }
    if (s->n_fields == 0) {
        rill_schema_free(s);
        return rill__last_error_set(RILL_EPARSE, "schema: no fields in \"%s\"", spec);
    }
    *schema_out = s;
    return 0;
bad:
    rill_schema_free(s);
    return rill__last_error_set(RILL_EPARSE,
                                "schema: expected \"name TYPE [NOT NULL]\" at column %ld of \"%s\"",
                                (long)(p - spec) + 1, spec);
}
