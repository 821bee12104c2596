/*
 * types.c - sql layer: Flink's logical types and their rules (see types.h). The cast tables
 * and the common-type rules follow Flink's LogicalTypeCasts and LogicalTypeMerging; the decimal
 * arithmetic follows Flink 1.x's (the product's precision is p1 + p2).
 */
#include <stdio.h>
#include <string.h>

#include "base/dec128.h"
#include "types.h"

static void puts_(rill__buf *b, const char *s)
{
    rill__buf_append(b, s, strlen(s));
}

/* ---- making types ------------------------------------------------------------------------- */

static rill__sql_ltype *alloc_type(rill__arena *a)
{
    rill__sql_ltype *t = rill__arena_alloc(a, sizeof *t);
    memset(t, 0, sizeof *t);
    return t;
}

const rill__sql_ltype *rill__sql_type_make(rill__arena *a, rill__sql_root root, int precision,
                                           int scale, bool nullable)
{
    rill__sql_ltype *t = alloc_type(a);
    t->root = root;
    t->precision = precision;
    t->scale = scale;
    t->nullable = nullable || root == RILL_SQLT_NULL;
    return t;
}

const rill__sql_ltype *rill__sql_type_interval(rill__arena *a, rill__sql_tunit from,
                                               rill__sql_tunit to, int precision,
                                               int frac_precision, bool nullable)
{
    rill__sql_ltype *t = alloc_type(a);
    t->root = from <= RILL_SQLU_MONTH ? RILL_SQLT_INTERVAL_YM : RILL_SQLT_INTERVAL_DT;
    t->from = from;
    t->to = to;
    t->precision = precision;
    t->scale = t->root == RILL_SQLT_INTERVAL_DT ? frac_precision : 0;
    t->nullable = nullable;
    return t;
}

const rill__sql_ltype *rill__sql_type_of(rill__arena *a, rill__sql_root root, bool nullable)
{
    switch (root) {
    case RILL_SQLT_DECIMAL:
        return rill__sql_type_make(a, root, 10, 0, nullable);
    case RILL_SQLT_CHAR:
    case RILL_SQLT_VARCHAR:
    case RILL_SQLT_BINARY:
    case RILL_SQLT_VARBINARY:
        return rill__sql_type_make(a, root, 1, 0, nullable);
    case RILL_SQLT_TIMESTAMP:
    case RILL_SQLT_TIMESTAMP_LTZ:
        return rill__sql_type_make(a, root, 6, 0, nullable);
    case RILL_SQLT_INTERVAL_YM:
        return rill__sql_type_interval(a, RILL_SQLU_YEAR, RILL_SQLU_MONTH, 2, 0, nullable);
    case RILL_SQLT_INTERVAL_DT:
        return rill__sql_type_interval(a, RILL_SQLU_DAY, RILL_SQLU_SECOND, 2, 6, nullable);
    default:
        return rill__sql_type_make(a, root, 0, 0, nullable);
    }
}

const rill__sql_ltype *rill__sql_type_row(rill__arena *a, int n, const char *const *names,
                                          const rill__sql_ltype *const *types, bool nullable)
{
    rill__sql_ltype *t = alloc_type(a);
    t->root = RILL_SQLT_ROW;
    t->nullable = nullable;
    t->n_fields = n;
    rill__sql_lfield *f = n ? rill__arena_alloc(a, (size_t)n * sizeof *f) : NULL;
    for (int i = 0; i < n; i++)
        f[i] = (rill__sql_lfield){rill__arena_strdup(a, names[i]), types[i]};
    t->fields = f;
    return t;
}

const rill__sql_ltype *rill__sql_type_collection(rill__arena *a, rill__sql_root root,
                                                 const rill__sql_ltype *elem,
                                                 const rill__sql_ltype *value, bool nullable)
{
    rill__sql_ltype *t = alloc_type(a);
    t->root = root;
    t->nullable = nullable;
    t->elem = elem;
    t->value = value;
    return t;
}

const rill__sql_ltype *rill__sql_type_copy(rill__arena *a, const rill__sql_ltype *t)
{
    rill__sql_ltype *c = alloc_type(a);
    *c = *t;
    if (t->n_fields) {
        rill__sql_lfield *f = rill__arena_alloc(a, (size_t)t->n_fields * sizeof *f);
        for (int i = 0; i < t->n_fields; i++)
            f[i] = (rill__sql_lfield){rill__arena_strdup(a, t->fields[i].name),
                                      rill__sql_type_copy(a, t->fields[i].type)};
        c->fields = f;
    }
    if (t->elem)
        c->elem = rill__sql_type_copy(a, t->elem);
    if (t->value)
        c->value = rill__sql_type_copy(a, t->value);
    return c;
}

const rill__sql_ltype *rill__sql_type_with_null(rill__arena *a, const rill__sql_ltype *t,
                                                bool nullable)
{
    if (t->nullable == nullable || t->root == RILL_SQLT_NULL)
        return t;
    rill__sql_ltype *c = alloc_type(a);
    *c = *t;
    c->nullable = nullable;
    return c;
}

const rill__sql_ltype *rill__sql_type_with_attr(rill__arena *a, const rill__sql_ltype *t,
                                                rill__sql_time_attr attr)
{
    if (t->attr == attr)
        return t;
    rill__sql_ltype *c = alloc_type(a);
    *c = *t;
    c->attr = attr;
    return c;
}

/* ---- what types are -------------------------------------------------------------------------- */

bool rill__sql_is_integer(const rill__sql_ltype *t)
{
    return t->root >= RILL_SQLT_TINYINT && t->root <= RILL_SQLT_BIGINT;
}

bool rill__sql_is_exact(const rill__sql_ltype *t)
{
    return rill__sql_is_integer(t) || t->root == RILL_SQLT_DECIMAL;
}

bool rill__sql_is_approx(const rill__sql_ltype *t)
{
    return t->root == RILL_SQLT_FLOAT || t->root == RILL_SQLT_DOUBLE;
}

bool rill__sql_is_numeric(const rill__sql_ltype *t)
{
    return rill__sql_is_exact(t) || rill__sql_is_approx(t);
}

bool rill__sql_in_bytes(const rill__sql_ltype *t)
{
    return rill__sql_is_character(t) || rill__sql_is_binary(t) ||
           (t->root == RILL_SQLT_DECIMAL && t->precision > 18);
}

bool rill__sql_is_character(const rill__sql_ltype *t)
{
    return t->root == RILL_SQLT_CHAR || t->root == RILL_SQLT_VARCHAR;
}

bool rill__sql_is_binary(const rill__sql_ltype *t)
{
    return t->root == RILL_SQLT_BINARY || t->root == RILL_SQLT_VARBINARY;
}

bool rill__sql_is_timestamp(const rill__sql_ltype *t)
{
    return t->root == RILL_SQLT_TIMESTAMP || t->root == RILL_SQLT_TIMESTAMP_LTZ;
}

bool rill__sql_is_datetime(const rill__sql_ltype *t)
{
    return rill__sql_is_timestamp(t) || t->root == RILL_SQLT_DATE || t->root == RILL_SQLT_TIME;
}

bool rill__sql_is_interval(const rill__sql_ltype *t)
{
    return t->root == RILL_SQLT_INTERVAL_YM || t->root == RILL_SQLT_INTERVAL_DT;
}

bool rill__sql_is_constructed(const rill__sql_ltype *t)
{
    return t->root >= RILL_SQLT_ROW;
}

bool rill__sql_type_equal(const rill__sql_ltype *x, const rill__sql_ltype *y, bool ignore_null)
{
    if (x == y)
        return true;
    if (x->root != y->root || (!ignore_null && x->nullable != y->nullable) ||
        x->precision != y->precision || x->scale != y->scale || x->from != y->from ||
        x->to != y->to || x->n_fields != y->n_fields)
        return false;
    for (int i = 0; i < x->n_fields; i++)
        if (strcmp(x->fields[i].name, y->fields[i].name) ||
            !rill__sql_type_equal(x->fields[i].type, y->fields[i].type, false))
            return false;
    if ((x->elem == NULL) != (y->elem == NULL) || (x->value == NULL) != (y->value == NULL))
        return false;
    return (!x->elem || rill__sql_type_equal(x->elem, y->elem, false)) &&
           (!x->value || rill__sql_type_equal(x->value, y->value, false));
}

bool rill__sql_as_decimal(const rill__sql_ltype *t, int *p, int *s)
{
    static const int digits[] = {[RILL_SQLT_TINYINT] = 3,
                                 [RILL_SQLT_SMALLINT] = 5,
                                 [RILL_SQLT_INT] = 10,
                                 [RILL_SQLT_BIGINT] = 19};
    *s = 0;
    if (rill__sql_is_integer(t)) {
        *p = digits[t->root];
        return true;
    }
    if (t->root != RILL_SQLT_DECIMAL)
        return false;
    *p = t->precision;
    *s = t->scale;
    return true;
}

/* ---- names ---------------------------------------------------------------------------------- */

static const char *const UNIT_NAMES[] = {"?", "YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"};

static void describe_interval(const rill__sql_ltype *t, rill__buf *out)
{
    puts_(out, "INTERVAL ");
    if (t->from == RILL_SQLU_SECOND) {
        rill__buf_printf(out, "SECOND(%d)", t->scale);
        return;
    }
    if (t->from == RILL_SQLU_MONTH) {
        puts_(out, "MONTH");
        return;
    }
    rill__buf_printf(out, "%s(%d)", UNIT_NAMES[t->from], t->precision);
    if (t->to != t->from) {
        rill__buf_printf(out, " TO %s", UNIT_NAMES[t->to]);
        if (t->to == RILL_SQLU_SECOND)
            rill__buf_printf(out, "(%d)", t->scale);
    }
}

static void describe_name(rill__buf *out, const char *name)
{
    rill__buf_putc(out, '`');
    for (const char *c = name; *c; c++) {
        if (*c == '`')
            rill__buf_putc(out, '`');
        rill__buf_putc(out, *c);
    }
    rill__buf_putc(out, '`');
}

void rill__sql_type_describe(const rill__sql_ltype *t, rill__buf *out)
{
    static const char *const plain[] = {
        [RILL_SQLT_NULL] = "NULL",       [RILL_SQLT_BOOLEAN] = "BOOLEAN",
        [RILL_SQLT_TINYINT] = "TINYINT", [RILL_SQLT_SMALLINT] = "SMALLINT",
        [RILL_SQLT_INT] = "INT",         [RILL_SQLT_BIGINT] = "BIGINT",
        [RILL_SQLT_FLOAT] = "FLOAT",     [RILL_SQLT_DOUBLE] = "DOUBLE",
        [RILL_SQLT_DATE] = "DATE",
    };
    switch (t->root) {
    case RILL_SQLT_DECIMAL:
        rill__buf_printf(out, "DECIMAL(%d, %d)", t->precision, t->scale);
        break;
    case RILL_SQLT_CHAR:
        rill__buf_printf(out, "CHAR(%d)", t->precision);
        break;
    case RILL_SQLT_VARCHAR:
        if (t->precision == RILL_SQL_MAX_LENGTH)
            puts_(out, "STRING");
        else
            rill__buf_printf(out, "VARCHAR(%d)", t->precision);
        break;
    case RILL_SQLT_BINARY:
        rill__buf_printf(out, "BINARY(%d)", t->precision);
        break;
    case RILL_SQLT_VARBINARY:
        if (t->precision == RILL_SQL_MAX_LENGTH)
            puts_(out, "BYTES");
        else
            rill__buf_printf(out, "VARBINARY(%d)", t->precision);
        break;
    case RILL_SQLT_TIME:
        rill__buf_printf(out, "TIME(%d)", t->precision);
        break;
    case RILL_SQLT_TIMESTAMP:
        rill__buf_printf(out, "TIMESTAMP(%d)", t->precision);
        break;
    case RILL_SQLT_TIMESTAMP_LTZ:
        rill__buf_printf(out, "TIMESTAMP_LTZ(%d)", t->precision);
        break;
    case RILL_SQLT_INTERVAL_YM:
    case RILL_SQLT_INTERVAL_DT:
        describe_interval(t, out);
        break;
    case RILL_SQLT_ROW:
        puts_(out, "ROW<");
        for (int i = 0; i < t->n_fields; i++) {
            if (i)
                puts_(out, ", ");
            describe_name(out, t->fields[i].name);
            rill__buf_putc(out, ' ');
            rill__sql_type_describe(t->fields[i].type, out);
        }
        rill__buf_putc(out, '>');
        break;
    case RILL_SQLT_ARRAY:
    case RILL_SQLT_MULTISET:
        puts_(out, t->root == RILL_SQLT_ARRAY ? "ARRAY<" : "MULTISET<");
        rill__sql_type_describe(t->elem, out);
        rill__buf_putc(out, '>');
        break;
    case RILL_SQLT_MAP:
        puts_(out, "MAP<");
        rill__sql_type_describe(t->elem, out);
        puts_(out, ", ");
        rill__sql_type_describe(t->value, out);
        rill__buf_putc(out, '>');
        break;
    default:
        puts_(out, plain[t->root]);
        break;
    }
    if (!t->nullable && t->root != RILL_SQLT_NULL)
        puts_(out, " NOT NULL");
    if (t->attr == RILL_SQLA_ROWTIME)
        puts_(out, " *ROWTIME*");
    else if (t->attr == RILL_SQLA_PROCTIME)
        puts_(out, " *PROCTIME*");
}

const char *rill__sql_type_str(rill__arena *a, const rill__sql_ltype *t)
{
    rill__buf b = {0};
    rill__sql_type_describe(t, &b);
    rill__buf_putc(&b, '\0');
    char *s = rill__arena_strdup(a, (const char *)b.data);
    rill__buf_free(&b);
    return s;
}

/* ---- casts ---------------------------------------------------------------------------------- */

/* A set of roots as bits. */
#define R(x)         (UINT32_C(1) << RILL_SQLT_##x)
#define F_INTEGER    (R(TINYINT) | R(SMALLINT) | R(INT) | R(BIGINT))
#define F_EXACT      (F_INTEGER | R(DECIMAL))
#define F_NUMERIC    (F_EXACT | R(FLOAT) | R(DOUBLE))
#define F_CHARACTER  (R(CHAR) | R(VARCHAR))
#define F_BINARY     (R(BINARY) | R(VARBINARY))
#define F_TIMESTAMP  (R(TIMESTAMP) | R(TIMESTAMP_LTZ))
#define F_DATETIME   (F_TIMESTAMP | R(DATE) | R(TIME))
#define F_INTERVAL   (R(INTERVAL_YM) | R(INTERVAL_DT))
#define F_PREDEFINED (R(BOOLEAN) | F_NUMERIC | F_CHARACTER | F_BINARY | F_DATETIME | F_INTERVAL)

/* Per target root: the roots it takes implicitly, and besides those, explicitly (Flink's
 * LogicalTypeCasts tables). Constructed types and NULL are handled apart. */
static const struct {
    uint32_t implicit, explicit_;
} CASTS[] = {
    [RILL_SQLT_CHAR] = {R(CHAR), F_PREDEFINED},
    [RILL_SQLT_VARCHAR] = {F_CHARACTER, F_PREDEFINED},
    [RILL_SQLT_BOOLEAN] = {R(BOOLEAN), F_CHARACTER | F_NUMERIC},
    [RILL_SQLT_BINARY] = {R(BINARY), F_CHARACTER | R(VARBINARY)},
    [RILL_SQLT_VARBINARY] = {F_BINARY, F_CHARACTER},
    [RILL_SQLT_DECIMAL] = {F_NUMERIC, F_CHARACTER | F_INTERVAL | R(BOOLEAN) | F_TIMESTAMP},
    [RILL_SQLT_TINYINT] = {R(TINYINT),
                           F_NUMERIC | F_CHARACTER | F_INTERVAL | R(BOOLEAN) | F_TIMESTAMP},
    [RILL_SQLT_SMALLINT] = {R(TINYINT) | R(SMALLINT),
                            F_NUMERIC | F_CHARACTER | F_INTERVAL | R(BOOLEAN) | F_TIMESTAMP},
    [RILL_SQLT_INT] = {R(TINYINT) | R(SMALLINT) | R(INT),
                       F_NUMERIC | F_CHARACTER | F_INTERVAL | R(BOOLEAN) | F_TIMESTAMP},
    [RILL_SQLT_BIGINT] = {F_INTEGER,
                          F_NUMERIC | F_CHARACTER | F_INTERVAL | R(BOOLEAN) | F_TIMESTAMP},
    [RILL_SQLT_FLOAT] = {F_EXACT | R(FLOAT), F_NUMERIC | F_CHARACTER | R(BOOLEAN) | F_TIMESTAMP},
    [RILL_SQLT_DOUBLE] = {F_NUMERIC, F_CHARACTER | R(BOOLEAN) | F_TIMESTAMP},
    [RILL_SQLT_DATE] = {R(DATE) | R(TIMESTAMP), F_TIMESTAMP | F_CHARACTER | F_BINARY},
    [RILL_SQLT_TIME] = {R(TIME) | R(TIMESTAMP), R(TIME) | F_TIMESTAMP | F_CHARACTER | F_BINARY},
    [RILL_SQLT_TIMESTAMP] = {F_TIMESTAMP, F_DATETIME | F_CHARACTER | F_BINARY | F_NUMERIC},
    [RILL_SQLT_TIMESTAMP_LTZ] = {F_TIMESTAMP, F_DATETIME | F_CHARACTER | F_BINARY | F_NUMERIC},
    [RILL_SQLT_INTERVAL_YM] = {R(INTERVAL_YM), F_EXACT | F_CHARACTER},
    [RILL_SQLT_INTERVAL_DT] = {R(INTERVAL_DT), F_EXACT | F_CHARACTER},
};

static bool single_unit(const rill__sql_ltype *t)
{
    return t->from == t->to;
}

static bool casts(const rill__sql_ltype *from, const rill__sql_ltype *to, bool explicit_)
{
    /* a NOT NULL type cannot hold a NULL (an explicit cast may, knowing the data) */
    if (from->nullable && !to->nullable && !explicit_)
        return false;
    if (rill__sql_type_equal(from, to, true) || from->root == RILL_SQLT_NULL)
        return true;
    if (rill__sql_is_interval(from) && rill__sql_is_exact(to))
        return single_unit(from) && explicit_;
    if (rill__sql_is_exact(from) && rill__sql_is_interval(to))
        return single_unit(to) && explicit_;
    if (rill__sql_is_constructed(from) || rill__sql_is_constructed(to)) {
        if (from->root != to->root || from->n_fields != to->n_fields)
            return false;
        for (int i = 0; i < from->n_fields; i++)
            if (!casts(from->fields[i].type, to->fields[i].type, explicit_))
                return false;
        return (!from->elem || casts(from->elem, to->elem, explicit_)) &&
               (!from->value || casts(from->value, to->value, explicit_));
    }
    if (to->root >= sizeof CASTS / sizeof *CASTS)
        return false;
    uint32_t bit = UINT32_C(1) << from->root;
    if (CASTS[to->root].implicit & bit)
        return true;
    return explicit_ && (CASTS[to->root].explicit_ & bit);
}

bool rill__sql_cast_implicit(const rill__sql_ltype *from, const rill__sql_ltype *to)
{
    return casts(from, to, false);
}

bool rill__sql_cast_explicit(const rill__sql_ltype *from, const rill__sql_ltype *to)
{
    return casts(from, to, true);
}

/* ---- common types ------------------------------------------------------------------------- */

static int combine_len(const rill__sql_ltype *x, const rill__sql_ltype *y)
{
    return RILL_MAX(x->precision, y->precision);
}

static bool similar(const rill__sql_ltype *x, const rill__sql_ltype *y)
{
    return (rill__sql_is_character(x) && rill__sql_is_character(y)) ||
           (rill__sql_is_binary(x) && rill__sql_is_binary(y)) ||
           (rill__sql_is_numeric(x) && rill__sql_is_numeric(y)) ||
           (x->root == RILL_SQLT_TIME && y->root == RILL_SQLT_TIME) ||
           (rill__sql_is_timestamp(x) && rill__sql_is_timestamp(y)) || x->root == y->root;
}

static const rill__sql_ltype *common_exact(rill__arena *a, const rill__sql_ltype *x,
                                           const rill__sql_ltype *y)
{
    if (rill__sql_type_equal(x, y, true))
        return x;
    if (x->root != RILL_SQLT_DECIMAL && y->root != RILL_SQLT_DECIMAL)
        return y->root > x->root ? y : x; /* the roots are in order of width */
    int p1, s1, p2, s2;
    rill__sql_as_decimal(x, &p1, &s1);
    rill__sql_as_decimal(y, &p2, &s2);
    int d = RILL_MIN(RILL_MAX(p1 - s1, p2 - s2), RILL_SQL_MAX_DECIMAL);
    int s = RILL_MIN(RILL_MAX(s1, s2), RILL_SQL_MAX_DECIMAL - d);
    return rill__sql_type_make(a, RILL_SQLT_DECIMAL, d + s, s, true);
}

static const rill__sql_ltype *common_of_two(rill__arena *a, const rill__sql_ltype *r,
                                            const rill__sql_ltype *t);

/* Field by field (ROW), element by element (ARRAY, MULTISET, MAP). */
static const rill__sql_ltype *common_constructed(rill__arena *a, const rill__sql_ltype *r,
                                                 const rill__sql_ltype *t)
{
    if (r->root != t->root || r->n_fields != t->n_fields)
        return NULL;
    if (r->root == RILL_SQLT_ROW) {
        const char **names = rill__arena_alloc(a, (size_t)r->n_fields * sizeof *names + 1);
        const rill__sql_ltype **types =
            rill__arena_alloc(a, (size_t)r->n_fields * sizeof *types + 1);
        for (int i = 0; i < r->n_fields; i++) {
            const rill__sql_ltype *pair[] = {r->fields[i].type, t->fields[i].type};
            names[i] = r->fields[i].name;
            if (!(types[i] = rill__sql_common_type(a, pair, 2)))
                return NULL;
        }
        return rill__sql_type_row(a, r->n_fields, names, types, true);
    }
    const rill__sql_ltype *pe[] = {r->elem, t->elem}, *pv[] = {r->value, t->value};
    const rill__sql_ltype *e = rill__sql_common_type(a, pe, 2);
    const rill__sql_ltype *v = r->value ? rill__sql_common_type(a, pv, 2) : NULL;
    if (!e || (r->value && !v))
        return NULL;
    return rill__sql_type_collection(a, r->root, e, v, true);
}

/* The merged type of a result so far (r, nullable) and the next type t (nullable), or NULL. */
static const rill__sql_ltype *common_of_two(rill__arena *a, const rill__sql_ltype *r,
                                            const rill__sql_ltype *t)
{
    /* datetime and interval (or exact numeric as days): the datetime */
    if (rill__sql_is_datetime(r) && rill__sql_is_interval(t))
        return r;
    if (rill__sql_is_interval(r) && rill__sql_is_datetime(t))
        return t;
    if ((rill__sql_is_timestamp(r) || r->root == RILL_SQLT_DATE) && rill__sql_is_exact(t))
        return r;
    if (rill__sql_is_exact(r) && (rill__sql_is_timestamp(t) || t->root == RILL_SQLT_DATE))
        return t;
    if (rill__sql_is_constructed(t) || rill__sql_is_constructed(r))
        return common_constructed(a, r, t);
    if (!similar(r, t))
        return NULL;
    if (rill__sql_is_character(t) || rill__sql_is_binary(t)) {
        int len = combine_len(r, t);
        if (r->root == RILL_SQLT_VARCHAR || r->root == RILL_SQLT_VARBINARY)
            return rill__sql_type_make(a, r->root, len, 0, true);
        if (r->precision != t->precision) /* different fixed lengths: variable (no padding) */
            return rill__sql_type_make(
                a, r->root == RILL_SQLT_CHAR ? RILL_SQLT_VARCHAR : RILL_SQLT_VARBINARY, len, 0,
                true);
        return rill__sql_type_make(a, t->root, len, 0, true);
    }
    if (rill__sql_is_exact(t)) {
        if (rill__sql_is_exact(r))
            return common_exact(a, r, t);
        /* already approximate: DECIMAL makes it DOUBLE */
        return t->root == RILL_SQLT_DECIMAL ? rill__sql_type_of(a, RILL_SQLT_DOUBLE, true) : r;
    }
    if (rill__sql_is_approx(t)) {
        if (rill__sql_is_approx(r))
            return r->root == RILL_SQLT_DOUBLE || t->root == RILL_SQLT_DOUBLE
                       ? rill__sql_type_of(a, RILL_SQLT_DOUBLE, true)
                       : r;
        return r->root == RILL_SQLT_DECIMAL ? rill__sql_type_of(a, RILL_SQLT_DOUBLE, true) : t;
    }
    if (t->root == RILL_SQLT_DATE)
        return r->root == RILL_SQLT_DATE ? r : NULL;
    if (t->root == RILL_SQLT_TIME)
        return rill__sql_type_make(a, RILL_SQLT_TIME, RILL_MAX(r->precision, t->precision), 0,
                                   true);
    if (rill__sql_is_timestamp(t)) {
        int p = RILL_MAX(r->precision, t->precision);
        /* TIMESTAMP with TIMESTAMP_LTZ: the zoned one */
        rill__sql_root root = r->root == t->root ? r->root : RILL_SQLT_TIMESTAMP_LTZ;
        return rill__sql_type_make(a, root, p, 0, true);
    }
    if (rill__sql_is_interval(t)) {
        /* the widest qualifier of the two, the largest precisions */
        rill__sql_tunit from = RILL_MIN(r->from, t->from), to = RILL_MAX(r->to, t->to);
        return rill__sql_type_interval(a, from, to, RILL_MAX(r->precision, t->precision),
                                       RILL_MAX(r->scale, t->scale), true);
    }
    if (r->root == t->root) /* BOOLEAN */
        return r;
    return NULL;
}

const rill__sql_ltype *rill__sql_common_type(rill__arena *a, const rill__sql_ltype *const *types,
                                             int n)
{
    bool any_null = false;
    const rill__sql_ltype *r = NULL;
    for (int i = 0; i < n; i++) {
        const rill__sql_ltype *t = rill__sql_type_with_null(a, types[i], true);
        any_null |= types[i]->nullable;
        if (t->root == RILL_SQLT_NULL)
            continue;
        if (!r) {
            r = t;
            continue;
        }
        const rill__sql_ltype *m = common_of_two(a, r, t);
        if (!m) {
            /* no merge rule: the one the others cast to implicitly, if any */
            if (casts(r, t, false))
                m = t;
            else if (casts(t, r, false))
                m = r;
            else
                return NULL;
        }
        r = m;
    }
    if (!r) /* NULLs only: no type */
        return NULL;
    r = rill__sql_type_with_attr(a, r, RILL_SQLA_NONE);
    return rill__sql_type_with_null(a, r, any_null);
}

/* ---- arithmetic ------------------------------------------------------------------------- */

void rill__sql_decimal_result(rill__sql_arith op, int p1, int s1, int p2, int s2, int *p, int *s)
{
    static const char ops[] = {[RILL_SQL_PLUS] = '+',
                               [RILL_SQL_MINUS] = '-',
                               [RILL_SQL_TIMES] = '*',
                               [RILL_SQL_DIVIDE] = '/',
                               [RILL_SQL_MOD] = '%'};
    int rc = rill__dec_result_type(ops[op], p1, s1, p2, s2, p, s);
    RILL_ASSERT(rc == 0);
}

const rill__sql_ltype *rill__sql_arith_type(rill__arena *a, rill__sql_arith op,
                                            const rill__sql_ltype *x, const rill__sql_ltype *y)
{
    bool nullable = x->nullable || y->nullable;
    if (x->root == RILL_SQLT_NULL || y->root == RILL_SQLT_NULL) {
        const rill__sql_ltype *o = x->root == RILL_SQLT_NULL ? y : x;
        return o->root == RILL_SQLT_NULL ? NULL : rill__sql_type_with_null(a, o, true);
    }
    if (rill__sql_is_numeric(x) && rill__sql_is_numeric(y)) {
        if (rill__sql_is_approx(x) || rill__sql_is_approx(y)) {
            bool dbl = x->root == RILL_SQLT_DOUBLE || y->root == RILL_SQLT_DOUBLE ||
                       x->root == RILL_SQLT_DECIMAL || y->root == RILL_SQLT_DECIMAL;
            return rill__sql_type_of(a, dbl ? RILL_SQLT_DOUBLE : RILL_SQLT_FLOAT, nullable);
        }
        if (rill__sql_is_integer(x) && rill__sql_is_integer(y)) {
            rill__sql_root root = RILL_MAX(x->root, y->root);
            if (op == RILL_SQL_MOD) /* the result is no wider than the divisor */
                root = y->root;
            return rill__sql_type_of(a, root, nullable);
        }
        int p1, s1, p2, s2, p, s;
        rill__sql_as_decimal(x, &p1, &s1);
        rill__sql_as_decimal(y, &p2, &s2);
        rill__sql_decimal_result(op, p1, s1, p2, s2, &p, &s);
        return rill__sql_type_make(a, RILL_SQLT_DECIMAL, p, s, nullable);
    }
    /* datetime +/- interval; interval + datetime */
    if (op == RILL_SQL_PLUS || op == RILL_SQL_MINUS) {
        const rill__sql_ltype *dt = rill__sql_is_datetime(x) ? x : y;
        const rill__sql_ltype *iv = dt == x ? y : x;
        if (rill__sql_is_datetime(dt) && rill__sql_is_interval(iv) &&
            (dt == x || op == RILL_SQL_PLUS)) {
            /* a DATE plus an interval that starts below days is a TIMESTAMP (Calcite's
             * datetime plus, which Flink uses) */
            if (dt->root == RILL_SQLT_DATE && iv->from > RILL_SQLU_DAY)
                return rill__sql_type_of(a, RILL_SQLT_TIMESTAMP, nullable);
            if (dt->root == RILL_SQLT_TIME && iv->root == RILL_SQLT_INTERVAL_YM)
                return NULL;
            return rill__sql_type_with_null(a, rill__sql_type_with_attr(a, dt, RILL_SQLA_NONE),
                                            nullable);
        }
        if (rill__sql_is_interval(x) && x->root == y->root) /* the units of both */
            return rill__sql_type_interval(a, RILL_MIN(x->from, y->from), RILL_MAX(x->to, y->to),
                                           RILL_MAX(x->precision, y->precision),
                                           RILL_MAX(x->scale, y->scale), nullable);
    }
    /* interval * or / a number */
    if ((op == RILL_SQL_TIMES || op == RILL_SQL_DIVIDE) && rill__sql_is_interval(x) &&
        rill__sql_is_numeric(y))
        return rill__sql_type_with_null(a, x, nullable);
    if (op == RILL_SQL_TIMES && rill__sql_is_numeric(x) && rill__sql_is_interval(y))
        return rill__sql_type_with_null(a, y, nullable);
    return NULL;
}

const rill__sql_ltype *rill__sql_sum_type(rill__arena *a, const rill__sql_ltype *arg)
{
    if (arg->root != RILL_SQLT_DECIMAL)
        return arg;
    return rill__sql_type_make(a, RILL_SQLT_DECIMAL, RILL_SQL_MAX_DECIMAL, arg->scale,
                               arg->nullable);
}

const rill__sql_ltype *rill__sql_avg_type(rill__arena *a, const rill__sql_ltype *arg)
{
    if (arg->root != RILL_SQLT_DECIMAL)
        return arg;
    int p, s;
    rill__sql_decimal_result(RILL_SQL_DIVIDE, RILL_SQL_MAX_DECIMAL, arg->scale, 20, 0, &p, &s);
    return rill__sql_type_make(a, RILL_SQLT_DECIMAL, p, s, arg->nullable);
}

void rill__sql_round_decimal(int p, int s, int r, int *p_out, int *s_out)
{
    if (r >= s) {
        *p_out = p, *s_out = s;
    } else if (r < 0) {
        *p_out = RILL_MIN(RILL_SQL_MAX_DECIMAL, 1 + p - s), *s_out = 0;
    } else { /* rounding may add a digit */
        *p_out = 1 + p - s + r, *s_out = r;
    }
}
