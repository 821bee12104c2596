/*
 * eval.c - sql layer: typed expressions run a batch at a time (see expr.h). A program is the
 * expression trees flattened into steps, each with a column vector (values and a null bitmap)
 * as long as the batch; a run evaluates the filter over every row, then the projections over
 * the rows it keeps. Operators that cannot fail compute every row (tight loops the compiler
 * vectorises); those that can (division, casts) look at the mask of rows that are reached, so
 * that CASE WHEN x <> 0 THEN 10 / x END is no error where x is 0. Strings made by a step live
 * in the program's scratch bytes; only INPUT steps point into the input batch.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dec128.h"
#include "base/tz.h"
#include "expr.h"
#include "functions.h"

/* ---- makers --------------------------------------------------------------------------------- */

static rill__sql_rex *node(rill__arena *a, rill__sql_rexop op, const rill__sql_ltype *type)
{
    rill__sql_rex *x = rill__arena_alloc(a, sizeof *x);
    memset(x, 0, sizeof *x);
    x->op = op;
    x->type = type;
    return x;
}

rill__sql_rex *rill__sql_x_input(rill__arena *a, int input, const rill__sql_ltype *type)
{
    rill__sql_rex *x = node(a, RILL_SQLX_INPUT, type);
    x->input = input;
    return x;
}

rill__sql_rex *rill__sql_x_literal(rill__arena *a, const rill__sql_ltype *type, uint64_t slot)
{
    rill__sql_rex *x = node(a, RILL_SQLX_LITERAL, type);
    x->lit = slot;
    return x;
}

rill__sql_rex *rill__sql_x_string(rill__arena *a, const rill__sql_ltype *type, const char *s,
                                  size_t len)
{
    rill__sql_rex *x = node(a, RILL_SQLX_LITERAL, type);
    char *c = rill__arena_alloc(a, len + 1);
    memcpy(c, s, len);
    c[len] = '\0';
    x->lit = len;
    x->lit_bytes = c;
    return x;
}

rill__sql_rex *rill__sql_x_null(rill__arena *a, const rill__sql_ltype *type)
{
    rill__sql_rex *x = node(a, RILL_SQLX_LITERAL, type);
    x->lit_null = true;
    return x;
}

rill__sql_rex *rill__sql_x_call(rill__arena *a, rill__sql_rexop op, const rill__sql_ltype *type,
                                int n_args, rill__sql_rex *const *args)
{
    rill__sql_rex *x = node(a, op, type);
    x->n_args = n_args;
    x->args = rill__arena_alloc(a, (size_t)RILL_MAX(n_args, 1) * sizeof *x->args);
    memcpy(x->args, args, (size_t)n_args * sizeof *args);
    return x;
}

/* ---- programs ------------------------------------------------------------------------------ */

typedef struct step {
    const rill__sql_rex *x;
    int *args; /* step indices */
    uint64_t *v;
    uint64_t *nul; /* bit set: NULL */
    bool scratch;  /* string slots point into the scratch bytes (else the input batch's) */
    rill__sql_fn_ctx *fc; /* FUNC: the call's context */
    rill__sql_val *vals;  /* FUNC: one row's arguments */
} step;

struct rill__sql_prog {
    step *steps;
    int n_steps, cap_steps;
    int filter; /* step, or -1 */
    int n_out;
    int *outs;
    const char *text;
    uint32_t cap_rows; /* vectors' length */
    size_t words;      /* bitmap words for cap_rows */
    rill__buf scratch;
    rill__arena masks; /* reset every run */
    /* during a run */
    rill_batch *in;
    uint32_t n;
    rill__err *err;
};

static const char *const OP_NAMES[] = {
    "input",
    "literal",
    "CAST",
    "-",
    "+",
    "-",
    "*",
    "/",
    "MOD",
    "=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "IS DISTINCT FROM",
    "IS NOT DISTINCT FROM",
    "AND",
    "OR",
    "NOT",
    "IS NULL",
    "IS NOT NULL",
    "IS TRUE",
    "IS NOT TRUE",
    "IS FALSE",
    "IS NOT FALSE",
    "CASE",
    "COALESCE",
    "||",
    "CHAR_LENGTH",
    "LIKE",
    "function",
};

static int xerr(rill__err *err, const char *text, const rill__sql_rex *x, const char *fmt, ...)
    RILL_PRINTF(4, 5);
static int xerr(rill__err *err, const char *text, const rill__sql_rex *x, const char *fmt, ...)
{
    char msg[RILL_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (text && x->pos.line > 0)
        rill__sql_error(err, text, x->pos, "%s", msg);
    else
        rill__err_set(err, RILL_EPARSE, "%s", msg);
    err->code = RILL_EINVAL;
    return RILL_EINVAL;
}

/* What a root's slot is, for the operators. */
typedef enum slot_kind { K_BOOL, K_INT, K_FLOAT, K_DOUBLE, K_BYTES, K_DEC, K_OTHER } slot_kind;

static slot_kind kind_of(const rill__sql_ltype *t)
{
    switch (t->root) {
    case RILL_SQLT_BOOLEAN:
        return K_BOOL;
    case RILL_SQLT_TINYINT:
    case RILL_SQLT_SMALLINT:
    case RILL_SQLT_INT:
    case RILL_SQLT_BIGINT:
    case RILL_SQLT_DATE:
    case RILL_SQLT_TIME:
    case RILL_SQLT_TIMESTAMP:
    case RILL_SQLT_TIMESTAMP_LTZ:
    case RILL_SQLT_INTERVAL_YM:
    case RILL_SQLT_INTERVAL_DT:
        return K_INT;
    case RILL_SQLT_FLOAT:
        return K_FLOAT;
    case RILL_SQLT_DECIMAL:
        return K_DEC;
    case RILL_SQLT_DOUBLE:
        return K_DOUBLE;
    case RILL_SQLT_CHAR:
    case RILL_SQLT_VARCHAR:
    case RILL_SQLT_BINARY:
    case RILL_SQLT_VARBINARY:
        return K_BYTES;
    default:
        return K_OTHER;
    }
}

static bool same_root(const rill__sql_ltype *a, const rill__sql_ltype *b)
{
    return a->root == b->root || (kind_of(a) == K_BYTES && kind_of(b) == K_BYTES &&
                                  rill__sql_is_character(a) == rill__sql_is_character(b));
}

static bool castable(const rill__sql_ltype *from, const rill__sql_ltype *to)
{
    slot_kind f = kind_of(from), t = kind_of(to);
    if (from->root == RILL_SQLT_NULL)
        return true;
    if (rill__sql_is_timestamp(from) && rill__sql_is_timestamp(to))
        return true;
    if ((rill__sql_is_timestamp(from) &&
         (to->root == RILL_SQLT_DATE || to->root == RILL_SQLT_TIME)) ||
        (rill__sql_is_timestamp(to) &&
         (from->root == RILL_SQLT_DATE || from->root == RILL_SQLT_TIME)))
        return true;
    if (rill__sql_is_character(from) && rill__sql_is_character(to))
        return true;
    if (rill__sql_is_character(from) || rill__sql_is_character(to))
        return rill__sql_cast_string_ok(from, to);
    bool fnum = f == K_FLOAT || f == K_DOUBLE || rill__sql_is_integer(from) || f == K_BOOL;
    bool tnum = t == K_FLOAT || t == K_DOUBLE || rill__sql_is_integer(to) || t == K_BOOL;
    if (f == K_DEC || t == K_DEC) /* decimals: with every number (not BOOLEAN yet) */
        return (fnum || f == K_DEC) && (tnum || t == K_DEC) && f != K_BOOL && t != K_BOOL;
    return fnum && tnum;
}

/* A type's name for a message (into buf). */
static const char *tname(const rill__sql_ltype *t, char *buf, size_t n)
{
    rill__buf b = {0};
    rill__sql_type_describe(t, &b);
    snprintf(buf, n, "%.*s", (int)b.len, b.data ? (const char *)b.data : "");
    rill__buf_free(&b);
    return buf;
}

/* Checks node x's operands against its operator. */
static int check(const rill__sql_rex *x, const char *text, rill__err *err)
{
    const rill__sql_ltype *t = x->type;
    rill__sql_rex *const *a = x->args;
    slot_kind k = kind_of(t);
    char n1[128], n2[128];
    if (k == K_OTHER && t->root != RILL_SQLT_NULL)
        return xerr(err, text, x, "%s of type %s is not supported yet", OP_NAMES[x->op],
                    tname(t, n2, sizeof n2));
    switch (x->op) {
    case RILL_SQLX_INPUT:
    case RILL_SQLX_LITERAL:
        return 0;
    case RILL_SQLX_CAST:
        if (x->n_args == 1 && castable(a[0]->type, t))
            return 0;
        break;
    case RILL_SQLX_NEG:
        if (x->n_args == 1 && same_root(a[0]->type, t) &&
            (k == K_INT || k == K_FLOAT || k == K_DOUBLE || k == K_DEC))
            return 0;
        break;
    case RILL_SQLX_PLUS:
    case RILL_SQLX_MINUS:
    case RILL_SQLX_TIMES:
    case RILL_SQLX_DIVIDE:
    case RILL_SQLX_MOD:
        if (x->n_args == 2 && (rill__sql_is_integer(t) || k == K_FLOAT || k == K_DOUBLE) &&
            same_root(a[0]->type, t) && same_root(a[1]->type, t))
            return 0;
        if (x->n_args == 2 && k == K_DEC && rill__sql_is_exact(a[0]->type) &&
            rill__sql_is_exact(a[1]->type))
            return 0; /* decimals (or integers) at their own scales into DECIMAL(p, s) */
        if (x->n_args == 2 && (x->op == RILL_SQLX_PLUS || x->op == RILL_SQLX_MINUS) && k == K_INT &&
            rill__sql_fn_time_arith_ok(x->op == RILL_SQLX_MINUS, t, a[0]->type, a[1]->type))
            return 0; /* datetime +/- interval (fn_time.c), interval +/- interval */
        break;
    case RILL_SQLX_EQ:
    case RILL_SQLX_NE:
    case RILL_SQLX_LT:
    case RILL_SQLX_LE:
    case RILL_SQLX_GT:
    case RILL_SQLX_GE:
    case RILL_SQLX_IS_DISTINCT:
    case RILL_SQLX_IS_NOT_DISTINCT:
        if (x->n_args == 2 && k == K_BOOL && kind_of(a[0]->type) != K_OTHER &&
            (same_root(a[0]->type, a[1]->type) || a[0]->type->root == RILL_SQLT_NULL ||
             a[1]->type->root == RILL_SQLT_NULL) &&
            (a[0]->type->precision == a[1]->type->precision || !rill__sql_is_timestamp(a[0]->type)))
            return 0;
        break;
    case RILL_SQLX_AND:
    case RILL_SQLX_OR:
        if (x->n_args < 2 || k != K_BOOL)
            break;
        for (int i = 0; i < x->n_args; i++)
            if (kind_of(a[i]->type) != K_BOOL && a[i]->type->root != RILL_SQLT_NULL)
                return xerr(err, text, a[i], "%s takes BOOLEAN operands, not %s", OP_NAMES[x->op],
                            tname(a[i]->type, n1, sizeof n1));
        return 0;
    case RILL_SQLX_NOT:
    case RILL_SQLX_IS_TRUE:
    case RILL_SQLX_IS_NOT_TRUE:
    case RILL_SQLX_IS_FALSE:
    case RILL_SQLX_IS_NOT_FALSE:
        if (x->n_args == 1 && k == K_BOOL &&
            (kind_of(a[0]->type) == K_BOOL || a[0]->type->root == RILL_SQLT_NULL))
            return 0;
        break;
    case RILL_SQLX_IS_NULL:
    case RILL_SQLX_IS_NOT_NULL:
        if (x->n_args == 1 && k == K_BOOL)
            return 0;
        break;
    case RILL_SQLX_CASE:
        if (x->n_args < 2)
            break;
        for (int i = 0; i < x->n_args; i++) {
            bool cond = i % 2 == 0 && i + 1 < x->n_args;
            const rill__sql_ltype *at = a[i]->type;
            if (cond ? (kind_of(at) != K_BOOL && at->root != RILL_SQLT_NULL)
                     : !(same_root(at, t) || at->root == RILL_SQLT_NULL) ||
                           (at->root != RILL_SQLT_NULL && at->precision != t->precision &&
                            rill__sql_is_timestamp(t)))
                return xerr(err, text, a[i], "CASE %s of type %s (the CASE is %s)",
                            cond ? "condition" : "result", tname(at, n1, sizeof n1),
                            tname(t, n2, sizeof n2));
        }
        return 0;
    case RILL_SQLX_COALESCE:
        if (x->n_args < 1)
            break;
        for (int i = 0; i < x->n_args; i++)
            if (!same_root(a[i]->type, t) && a[i]->type->root != RILL_SQLT_NULL)
                return xerr(err, text, a[i], "COALESCE argument of type %s (the result is %s)",
                            tname(a[i]->type, n1, sizeof n1), tname(t, n2, sizeof n2));
        return 0;
    case RILL_SQLX_CONCAT:
        if (x->n_args >= 2 && rill__sql_is_character(t)) {
            for (int i = 0; i < x->n_args; i++)
                if (!rill__sql_is_character(a[i]->type) && a[i]->type->root != RILL_SQLT_NULL)
                    goto bad;
            return 0;
        }
        break;
    case RILL_SQLX_CHAR_LENGTH:
        if (x->n_args == 1 && t->root == RILL_SQLT_INT && rill__sql_is_character(a[0]->type))
            return 0;
        break;
    case RILL_SQLX_LIKE:
        if ((x->n_args == 2 || x->n_args == 3) && k == K_BOOL) {
            for (int i = 0; i < x->n_args; i++)
                if (!rill__sql_is_character(a[i]->type) && a[i]->type->root != RILL_SQLT_NULL)
                    goto bad;
            return 0;
        }
        break;
    case RILL_SQLX_FUNC: /* the function's infer chose the types; the casts make them so */
        if (x->fn && x->fn->row)
            return 0;
        break;
    }
bad:;
    rill__arena tmp;
    rill__arena_init(&tmp, 1024);
    rill__buf b = {0};
    for (int i = 0; i < x->n_args; i++)
        rill__buf_printf(&b, "%s%s", i ? ", " : "", rill__sql_type_str(&tmp, a[i]->type));
    rill__buf_putc(&b, '\0');
    int rc = xerr(err, text, x, "%s of (%s) giving %s is not supported", OP_NAMES[x->op],
                  b.data ? (const char *)b.data : "", rill__sql_type_str(&tmp, t));
    rill__buf_free(&b);
    rill__arena_close(&tmp);
    return rc;
}

/* Flattens x into steps (its arguments first); its step index in *at. */
static int add_steps(rill__sql_prog *p, const rill__sql_rex *x, int depth, int *at, rill__err *err)
{
    if (depth > 1000)
        return xerr(err, p->text, x, "the expression is nested too deeply");
    int rc = check(x, p->text, err);
    if (rc)
        return rc;
    int *args = x->n_args ? rill__xcalloc((size_t)x->n_args, sizeof *args) : NULL;
    for (int i = 0; i < x->n_args; i++)
        if ((rc = add_steps(p, x->args[i], depth + 1, &args[i], err)) != 0) {
            free(args);
            return rc;
        }
    if (p->n_steps == p->cap_steps) {
        p->cap_steps = p->cap_steps ? 2 * p->cap_steps : 16;
        p->steps = rill__xrealloc(p->steps, (size_t)p->cap_steps * sizeof *p->steps);
    }
    p->steps[p->n_steps] = (step){.x = x, .args = args};
    *at = p->n_steps++;
    bool str_cast = x->op == RILL_SQLX_CAST &&
                    (kind_of(x->type) == K_BYTES) != (kind_of(x->args[0]->type) == K_BYTES);
    if (x->op == RILL_SQLX_FUNC || str_cast) {
        step *s = &p->steps[*at];
        s->fc = rill__xcalloc(1, sizeof *s->fc);
        s->fc->x = x;
        s->fc->text = p->text;
        s->fc->err = err;
        s->vals = rill__xcalloc((size_t)RILL_MAX(x->n_args, 1), sizeof *s->vals);
        if (x->fn && x->fn->open && (rc = x->fn->open(s->fc)) != 0)
            return rc;
    }
    return 0;
}

void rill__sql_prog_free(rill__sql_prog *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_steps; i++) {
        step *s = &p->steps[i];
        if (s->fc) {
            if (s->x->fn && s->x->fn->close)
                s->x->fn->close(s->fc);
            rill__buf_free(&s->fc->tmp);
            free(s->fc);
        }
        free(s->vals);
        free(p->steps[i].args);
        free(p->steps[i].v);
        free(p->steps[i].nul);
    }
    free(p->steps);
    free(p->outs);
    rill__buf_free(&p->scratch);
    rill__arena_close(&p->masks);
    free(p);
}

int rill__sql_prog_new(const rill__sql_rex *filter, int n_out, rill__sql_rex *const *outs,
                       const char *text, rill__sql_prog **out, rill__err *err)
{
    *out = NULL;
    rill__sql_prog *p = rill__xcalloc(1, sizeof *p);
    p->text = text;
    p->filter = -1;
    p->n_out = n_out;
    p->outs = rill__xcalloc((size_t)RILL_MAX(n_out, 1), sizeof *p->outs);
    rill__arena_init(&p->masks, 16384);
    int rc = 0;
    if (filter) {
        if (kind_of(filter->type) != K_BOOL && filter->type->root != RILL_SQLT_NULL)
            rc = xerr(err, text, filter, "a filter must be BOOLEAN, not %s",
                      rill__sql_type_str(&p->masks, filter->type));
        else
            rc = add_steps(p, filter, 0, &p->filter, err);
    }
    for (int i = 0; rc == 0 && i < n_out; i++)
        rc = add_steps(p, outs[i], 0, &p->outs[i], err);
    if (rc) {
        rill__sql_prog_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* ---- masks ---------------------------------------------------------------------------------- */

static uint64_t *mask_new(rill__sql_prog *p)
{
    uint64_t *m = rill__arena_alloc(&p->masks, p->words * sizeof *m);
    memset(m, 0, p->words * sizeof *m);
    return m;
}

static inline bool bit(const uint64_t *m, uint32_t r)
{
    return (m[r >> 6] >> (r & 63)) & 1u;
}

static inline void set_bit(uint64_t *m, uint32_t r, bool on)
{
    if (on)
        m[r >> 6] |= UINT64_C(1) << (r & 63);
    else
        m[r >> 6] &= ~(UINT64_C(1) << (r & 63));
}

static void grow(rill__sql_prog *p, uint32_t n)
{
    if (n <= p->cap_rows)
        return;
    uint32_t cap = RILL_MAX(n, 64u);
    p->words = (cap + 63) / 64;
    for (int i = 0; i < p->n_steps; i++) {
        p->steps[i].v = rill__xrealloc(p->steps[i].v, (size_t)cap * sizeof(uint64_t));
        p->steps[i].nul = rill__xrealloc(p->steps[i].nul, p->words * sizeof(uint64_t));
    }
    p->cap_rows = cap;
}

/* ---- values -------------------------------------------------------------------------------- */

static inline double as_double(uint64_t v)
{
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

static inline uint64_t of_double(double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    return v;
}

static inline float as_float(uint64_t v)
{
    uint32_t u = (uint32_t)v;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint64_t of_float(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static const char *bytes_of(const rill__sql_prog *p, const step *s, uint64_t slot, size_t *len)
{
    *len = (size_t)(slot & 0xffffffffu);
    if (!*len)
        return "";
    const char *base = s->scratch ? (const char *)p->scratch.data : p->in->bytes;
    return base + (slot >> 32);
}

/* Appends bytes to the scratch area: their slot. */
static uint64_t put_scratch(rill__sql_prog *p, const char *b, size_t n)
{
    size_t off = p->scratch.len;
    rill__buf_append(&p->scratch, b, n);
    return (uint64_t)off << 32 | (uint64_t)n;
}

/* Whether a type's slot points into a byte area (strings, bytes, DECIMALs past 18 digits). */
static bool bytes_slot(const rill__sql_ltype *t)
{
    return kind_of(t) == K_BYTES || (t->root == RILL_SQLT_DECIMAL && t->precision > 18);
}

static int dec_scale(const rill__sql_ltype *t)
{
    return t->root == RILL_SQLT_DECIMAL ? t->scale : 0;
}

/* Row r of step s as an unscaled decimal (an integer: itself, scale 0). */
static rill__i128 dec_get(const rill__sql_prog *p, const step *s, uint32_t r)
{
    const rill__sql_ltype *t = s->x->type;
    if (t->root != RILL_SQLT_DECIMAL || t->precision <= 18)
        return (rill__i128)(int64_t)s->v[r];
    size_t len;
    const char *b = bytes_of(p, s, s->v[r], &len);
    return len == 16 ? rill__dec_load16((const unsigned char *)b) : 0;
}

/* Sets row r of decimal step s (the scratch holds values past 18 digits). */
static void dec_put(rill__sql_prog *p, step *s, uint32_t r, rill__i128 v)
{
    if (s->x->type->precision <= 18) {
        s->v[r] = (uint64_t)(int64_t)v;
        return;
    }
    unsigned char b[16];
    rill__dec_store16(v, b);
    s->v[r] = put_scratch(p, (const char *)b, 16);
    s->scratch = true;
}

/* Java's (long) of a double: NaN 0, saturated at the ends. */
static int64_t d2l(double d)
{
    if (d != d)
        return 0;
    if (d >= 9223372036854775807.0)
        return INT64_MAX;
    if (d <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)d;
}

/* Java's (int) of a double (then narrowed as Java narrows an int to a byte or a short). */
static int64_t d2i(double d)
{
    if (d != d)
        return 0;
    if (d >= 2147483647.0)
        return INT32_MAX;
    if (d <= -2147483648.0)
        return INT32_MIN;
    return (int64_t)(int32_t)d;
}

static int eval(rill__sql_prog *p, int si, const uint64_t *act);

/* ---- operators ----------------------------------------------------------------------------- */

/* 10^k, k 0..18 */
static int64_t pow10_(int k)
{
    int64_t v = 1;
    while (k-- > 0)
        v *= 10;
    return v;
}

/* Floor division (towards earlier times for timestamps before 1970). */
static int64_t floor_div(int64_t x, int64_t d)
{
    int64_t q = x / d;
    return (x % d != 0 && (x < 0) != (d < 0)) ? q - 1 : q;
}

/* Timestamps between precisions: milliseconds (precision <= 3) or nanoseconds (4..9); a
 * smaller precision truncates the fraction (Flink's fraction is never negative, so earlier
 * in time before 1970); a millisecond value outside what nanoseconds reach (1677..2262) is
 * an error, not a wrong value. */
/* A value of a timestamp type as ms (precision <= 3) or ns, in the other unit. */
static int64_t ts_units(int64_t v, int from_p, int to_p, bool *overflow)
{
    *overflow = false;
    if ((from_p <= 3) == (to_p <= 3))
        return v;
    if (from_p > 3)
        return floor_div(v, 1000000);
    if (v > INT64_MAX / 1000000 || v < INT64_MIN / 1000000) {
        *overflow = true;
        return 0;
    }
    return v * 1000000;
}

/* A TIMESTAMP's local date-time as the TIMESTAMP_LTZ instant in zone z (to_ltz), or back;
 * unit: 1000 (ms values) or 1000000000 (ns). */
static int64_t shift_zone(const rill__tz *z, int64_t v, int64_t unit, bool to_ltz)
{
    int64_t sec = floor_div(v, unit), frac = v - sec * unit;
    int64_t out = to_ltz ? rill__tz_from_local(z, sec) : sec + rill__tz_offset(z, sec);
    return out * unit + frac;
}

/* CAST between DATE or TIME and a timestamp: a DATE is its midnight, a TIME that time of
 * 1970-01-01; a timestamp's date (floored) or time of day. Through the session's zone for
 * TIMESTAMP_LTZ. */
static int cast_datetime(rill__sql_prog *p, step *s, const step *a, const uint64_t *act)
{
    const rill__sql_ltype *from = a->x->type, *to = s->x->type;
    const rill__tz *z = s->x->zone ? rill__tz_get(s->x->zone) : NULL;
    bool ltz = from->root == RILL_SQLT_TIMESTAMP_LTZ || to->root == RILL_SQLT_TIMESTAMP_LTZ;
    for (uint32_t r = 0; r < p->n; r++) {
        if (bit(s->nul, r)) {
            s->v[r] = 0;
            continue;
        }
        int64_t v = (int64_t)a->v[r], o;
        if (rill__sql_is_timestamp(from)) { /* to DATE or TIME */
            int64_t unit = from->precision > 3 ? 1000000000 : 1000;
            if (ltz && z)
                v = shift_zone(z, v, unit, false);
            int64_t day = 86400 * unit;
            o = to->root == RILL_SQLT_DATE ? floor_div(v, day)
                                           : (v - floor_div(v, day) * day) / (unit / 1000);
            if (to->root == RILL_SQLT_TIME) { /* cut to TIME(p)'s digits */
                int64_t keep = pow10_(3 - RILL_MIN(to->precision, 3));
                o = o / keep * keep;
            }
        } else { /* DATE or TIME to a timestamp */
            int64_t ms = from->root == RILL_SQLT_DATE ? v * 86400000 : v;
            bool over;
            o = ts_units(ms, 3, to->precision, &over);
            if (over || (from->root == RILL_SQLT_DATE && (v > INT64_MAX / 86400000 ||
                                                          v < INT64_MIN / 86400000))) {
                s->v[r] = 0;
                if (bit(act, r))
                    return xerr(p->err, p->text, s->x, "the date is outside TIMESTAMP(%d)'s range",
                                to->precision);
                continue;
            }
            if (ltz && z)
                o = shift_zone(z, o, to->precision > 3 ? 1000000000 : 1000, true);
        }
        s->v[r] = (uint64_t)o;
    }
    return 0;
}

static int cast_timestamp(rill__sql_prog *p, step *s, const step *a, const uint64_t *act)
{
    int fp = a->x->type->precision, tp = s->x->type->precision;
    const rill__tz *z = s->x->zone && a->x->type->root != s->x->type->root
                            ? rill__tz_get(s->x->zone)
                            : NULL;
    bool to_ltz = s->x->type->root == RILL_SQLT_TIMESTAMP_LTZ;
    for (uint32_t r = 0; r < p->n; r++) {
        int64_t v = (int64_t)a->v[r], o;
        if (bit(s->nul, r)) {
            s->v[r] = 0;
            continue;
        }
        if (fp <= 3 && tp <= 3) {
            int64_t unit = pow10_(3 - tp);
            o = floor_div(v, unit) * unit;
        } else if (fp > 3 && tp > 3) {
            int64_t unit = pow10_(9 - tp);
            o = floor_div(v, unit) * unit;
        } else if (fp > 3) { /* ns to ms */
            int64_t unit = pow10_(3 - tp);
            o = floor_div(floor_div(v, 1000000), unit) * unit;
        } else { /* ms to ns */
            if (v > INT64_MAX / 1000000 || v < INT64_MIN / 1000000) {
                s->v[r] = 0;
                if (bit(act, r))
                    return xerr(p->err, p->text, s->x,
                                "the timestamp %lld ms is outside "
                                "TIMESTAMP(%d)'s range (1677-09-21 to 2262-04-11)",
                                (long long)v, tp);
                continue;
            }
            o = v * 1000000;
        }
        if (z) /* TIMESTAMP <-> TIMESTAMP_LTZ in the session's zone */
            o = shift_zone(z, o, tp > 3 ? 1000000000 : 1000, to_ltz);
        s->v[r] = (uint64_t)o;
    }
    return 0;
}

/* Casts from or to DECIMAL (Flink's): between decimals and from integers HALF_UP at the new
 * scale, NULL when the value does not fit; to integers the integer part (towards zero), then
 * Java's narrowing; from and to FLOAT and DOUBLE by the value's decimal form. */
static int cast_decimal(rill__sql_prog *p, step *s, const step *a)
{
    const rill__sql_ltype *from = a->x->type, *to = s->x->type;
    slot_kind fk = kind_of(from), tk = kind_of(to);
    if (tk == K_DEC && to->precision > 18)
        s->scratch = true;
    for (uint32_t r = 0; r < p->n; r++) {
        if (bit(s->nul, r)) {
            s->v[r] = 0;
            continue;
        }
        rill__i128 o = 0;
        int rc = 0;
        if (tk == K_DEC) {
            if (fk == K_DOUBLE || fk == K_FLOAT) {
                double d = fk == K_DOUBLE ? as_double(a->v[r]) : (double)as_float(a->v[r]);
                rc = rill__dec_from_double(d, to->precision, to->scale, &o);
            } else {
                rc = rill__dec_rescale(dec_get(p, a, r), dec_scale(from), to->precision, to->scale,
                                       &o);
            }
            if (rc) { /* out of range: NULL, as Flink's cast */
                set_bit(s->nul, r, true);
                s->v[r] = 0;
            } else {
                dec_put(p, s, r, o);
            }
            continue;
        }
        rill__i128 v = dec_get(p, a, r);
        if (tk == K_DOUBLE || tk == K_FLOAT) {
            double d = rill__dec_to_double(v, from->scale);
            s->v[r] = tk == K_DOUBLE ? of_double(d) : of_float((float)d);
        } else { /* an integer: the integer part, wrapped as Java narrows a long */
            rill__i128 q = v / (rill__i128)rill__dec_pow10(from->scale);
            s->v[r] = rill__sql_wrap(to->root, (uint64_t)q);
        }
    }
    return 0;
}

static int cast_string(rill__sql_prog *p, step *s, const step *a, const uint64_t *act);

static int cast(rill__sql_prog *p, step *s, const step *a, const uint64_t *act)
{
    const rill__sql_ltype *from = a->x->type, *to = s->x->type;
    uint32_t n = p->n;
    memcpy(s->nul, a->nul, p->words * sizeof *s->nul);
    slot_kind fk = kind_of(from), tk = kind_of(to);
    if (from->root == RILL_SQLT_NULL) {
        memset(s->v, 0, n * sizeof *s->v);
        return 0;
    }
    if (s->fc)
        return cast_string(p, s, a, act);
    if (rill__sql_is_timestamp(from) && rill__sql_is_timestamp(to))
        return cast_timestamp(p, s, a, act);
    if (rill__sql_is_timestamp(from) || rill__sql_is_timestamp(to))
        return cast_datetime(p, s, a, act);
    if (fk == K_DEC || tk == K_DEC)
        return cast_decimal(p, s, a);
    if (fk == K_BYTES && tk == K_BYTES) {
        /* to (VAR)CHAR(n): cut to n characters, CHAR padded with spaces to n; to
         * (VAR)BINARY(n): cut to n bytes, BINARY padded with zero bytes (Flink's casts) */
        bool chars = rill__sql_is_character(to);
        bool fixed = to->root == RILL_SQLT_CHAR || to->root == RILL_SQLT_BINARY;
        size_t want = (size_t)to->precision;
        s->scratch = fixed || a->scratch;
        for (uint32_t r = 0; r < n; r++) {
            size_t len;
            const char *b = bytes_of(p, a, a->v[r], &len);
            size_t keep = 0, count = 0;
            while (keep < len && count < want) {
                unsigned char c = (unsigned char)b[keep];
                keep += !chars || c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
                count++;
            }
            keep = RILL_MIN(keep, len);
            if (bit(s->nul, r)) {
                s->v[r] = 0;
                continue;
            }
            if (!fixed || count >= want) { /* cut only: the same bytes, fewer of them */
                s->v[r] = !fixed || a->scratch ? (a->v[r] & ~UINT64_C(0xffffffff)) | keep
                                               : put_scratch(p, b, keep);
                continue;
            }
            /* pad: the kept bytes, then (want - count) spaces or zero bytes */
            size_t pad = want - count, off = p->scratch.len;
            size_t at = (size_t)(a->v[r] >> 32); /* b's offset when it is in the scratch */
            rill__buf_reserve(&p->scratch, keep + pad);
            if (keep)
                memmove(p->scratch.data + off, a->scratch ? (const char *)p->scratch.data + at : b,
                        keep);
            memset(p->scratch.data + off + keep, chars ? ' ' : 0, pad);
            p->scratch.len += keep + pad;
            s->v[r] = (uint64_t)off << 32 | (uint64_t)(keep + pad);
        }
        return 0;
    }
    for (uint32_t r = 0; r < n; r++) {
        uint64_t v = a->v[r], o;
        if (fk == K_DOUBLE || fk == K_FLOAT) {
            double d = fk == K_DOUBLE ? as_double(v) : (double)as_float(v);
            if (tk == K_DOUBLE)
                o = of_double(d);
            else if (tk == K_FLOAT)
                o = of_float((float)d);
            else if (tk == K_BOOL)
                o = d != 0.0;
            else if (to->root == RILL_SQLT_BIGINT)
                o = (uint64_t)d2l(d);
            else
                o = rill__sql_wrap(to->root, (uint64_t)d2i(d));
        } else { /* an integer or a boolean */
            int64_t i = (int64_t)v;
            if (tk == K_DOUBLE)
                o = of_double((double)i);
            else if (tk == K_FLOAT)
                o = of_float((float)i);
            else if (tk == K_BOOL)
                o = i != 0;
            else
                o = rill__sql_wrap(to->root, v);
        }
        s->v[r] = o;
    }
    return 0;
}

static void or_nulls(const rill__sql_prog *p, step *s, const step *a, const step *b)
{
    for (size_t w = 0; w < p->words; w++)
        s->nul[w] = a->nul[w] | b->nul[w];
}

/* Decimal arithmetic into the result's DECIMAL(p, s), rounded HALF_UP once; a result that
 * does not fit is NULL (Flink's), a division or modulo by zero fails where it is reached. */
static int arith_decimal(rill__sql_prog *p, step *s, const step *a, const step *b,
                         const uint64_t *act)
{
    const rill__sql_ltype *t = s->x->type;
    int sa = dec_scale(a->x->type), sb = dec_scale(b->x->type);
    if (t->precision > 18)
        s->scratch = true;
    for (uint32_t r = 0; r < p->n; r++) {
        if (bit(s->nul, r)) {
            s->v[r] = 0;
            continue;
        }
        rill__i128 x = dec_get(p, a, r), y = dec_get(p, b, r), o = 0;
        int rc;
        switch (s->x->op) {
        case RILL_SQLX_PLUS:
            rc = rill__dec_add(x, sa, y, sb, t->precision, t->scale, &o);
            break;
        case RILL_SQLX_MINUS:
            rc = rill__dec_sub(x, sa, y, sb, t->precision, t->scale, &o);
            break;
        case RILL_SQLX_TIMES:
            rc = rill__dec_mul(x, sa, y, sb, t->precision, t->scale, &o);
            break;
        case RILL_SQLX_DIVIDE:
            rc = rill__dec_div(x, sa, y, sb, t->precision, t->scale, &o);
            break;
        default:
            rc = rill__dec_mod(x, sa, y, sb, t->precision, t->scale, &o);
            break;
        }
        if (rc == RILL_EINVAL && bit(act, r))
            return xerr(p->err, p->text, s->x, "division by zero");
        if (rc) {
            set_bit(s->nul, r, true);
            s->v[r] = 0;
        } else {
            dec_put(p, s, r, o);
        }
    }
    return 0;
}

static int arith(rill__sql_prog *p, step *s, const step *a, const step *b, const uint64_t *act)
{
    rill__sql_rexop op = s->x->op;
    rill__sql_root root = s->x->type->root;
    slot_kind k = kind_of(s->x->type);
    uint32_t n = p->n;
    or_nulls(p, s, a, b);
    const uint64_t *x = a->v, *y = b->v;
    uint64_t *o = s->v;
    if (k == K_DEC)
        return arith_decimal(p, s, a, b, act);
    if (k == K_DOUBLE) {
        for (uint32_t r = 0; r < n; r++) {
            double u = as_double(x[r]), v = as_double(y[r]);
            o[r] = of_double(op == RILL_SQLX_PLUS     ? u + v
                             : op == RILL_SQLX_MINUS  ? u - v
                             : op == RILL_SQLX_TIMES  ? u * v
                             : op == RILL_SQLX_DIVIDE ? u / v
                                                      : fmod(u, v));
        }
        return 0;
    }
    if (k == K_FLOAT) { /* float arithmetic rounds every step to float, as Java's */
        for (uint32_t r = 0; r < n; r++) {
            float u = as_float(x[r]), v = as_float(y[r]);
            o[r] = of_float(op == RILL_SQLX_PLUS     ? u + v
                            : op == RILL_SQLX_MINUS  ? u - v
                            : op == RILL_SQLX_TIMES  ? u * v
                            : op == RILL_SQLX_DIVIDE ? u / v
                                                     : fmodf(u, v));
        }
        return 0;
    }
    if (rill__sql_is_datetime(s->x->type)) { /* datetime +/- interval (fn_time.c) */
        for (uint32_t r = 0; r < n; r++) {
            o[r] = 0;
            if (!bit(s->nul, r) &&
                !rill__sql_fn_time_arith(op == RILL_SQLX_MINUS, s->x->type, a->x->type, x[r],
                                         b->x->type, y[r], &o[r]) &&
                bit(act, r))
                return xerr(p->err, p->text, s->x, "the result is out of the type's range");
        }
        return 0;
    }
    switch (op) {
    case RILL_SQLX_PLUS:
        for (uint32_t r = 0; r < n; r++)
            o[r] = rill__sql_wrap(root, x[r] + y[r]);
        return 0;
    case RILL_SQLX_MINUS:
        for (uint32_t r = 0; r < n; r++)
            o[r] = rill__sql_wrap(root, x[r] - y[r]);
        return 0;
    case RILL_SQLX_TIMES:
        for (uint32_t r = 0; r < n; r++)
            o[r] = rill__sql_wrap(root, x[r] * y[r]);
        return 0;
    default:
        break;
    }
    /* DIVIDE, MOD: Java's truncating division; by zero is an error where reached */
    for (uint32_t r = 0; r < n; r++) {
        int64_t u = (int64_t)x[r], v = (int64_t)y[r];
        if (bit(s->nul, r)) {
            o[r] = 0;
            continue;
        }
        if (v == 0) {
            o[r] = 0;
            if (bit(act, r))
                return xerr(p->err, p->text, s->x, "division by zero (%s %lld %s 0)",
                            op == RILL_SQLX_DIVIDE ? "dividing" : "the remainder of", (long long)u,
                            op == RILL_SQLX_DIVIDE ? "by" : "divided by");
            continue;
        }
        if (v == -1) /* INT64_MIN / -1 overflows in C; Java wraps it to itself */
            o[r] = op == RILL_SQLX_DIVIDE ? rill__sql_wrap(root, (uint64_t)0 - (uint64_t)u) : 0;
        else
            o[r] = rill__sql_wrap(root, (uint64_t)(op == RILL_SQLX_DIVIDE ? u / v : u % v));
    }
    return 0;
}

/* <0, 0, >0: a against b (of one kind); strings bytewise (Flink's binary string order). */
static int compare(const rill__sql_prog *p, const step *a, const step *b, uint32_t r, slot_kind k,
                   bool *unordered)
{
    uint64_t x = a->v[r], y = b->v[r];
    switch (k) {
    case K_BOOL:
        return (x != 0) - (y != 0);
    case K_INT:
        return ((int64_t)x > (int64_t)y) - ((int64_t)x < (int64_t)y);
    case K_DEC:
        return rill__dec_cmp(dec_get(p, a, r), dec_scale(a->x->type), dec_get(p, b, r),
                             dec_scale(b->x->type));
    case K_FLOAT:
    case K_DOUBLE: {
        double u = k == K_DOUBLE ? as_double(x) : (double)as_float(x);
        double v = k == K_DOUBLE ? as_double(y) : (double)as_float(y);
        if (u != u || v != v) /* NaN: every comparison but <> is false (Java's primitives) */
            *unordered = true;
        return (u > v) - (u < v);
    }
    default: {
        size_t lx, ly;
        const char *bx = bytes_of(p, a, x, &lx), *by = bytes_of(p, b, y, &ly);
        int c = memcmp(bx, by, RILL_MIN(lx, ly));
        return c ? c : (lx > ly) - (lx < ly);
    }
    }
}

static void comparison(rill__sql_prog *p, step *s, const step *a, const step *b)
{
    rill__sql_rexop op = s->x->op;
    slot_kind k = kind_of(a->x->type);
    if (a->x->type->root == RILL_SQLT_NULL)
        k = kind_of(b->x->type);
    uint32_t n = p->n;
    bool distinct = op == RILL_SQLX_IS_DISTINCT || op == RILL_SQLX_IS_NOT_DISTINCT;
    if (!distinct)
        or_nulls(p, s, a, b);
    else
        memset(s->nul, 0, p->words * sizeof *s->nul);
    for (uint32_t r = 0; r < n; r++) {
        bool na = bit(a->nul, r), nb = bit(b->nul, r);
        if (na || nb) {
            s->v[r] = op == RILL_SQLX_IS_DISTINCT       ? na != nb
                      : op == RILL_SQLX_IS_NOT_DISTINCT ? na == nb
                                                        : 0;
            continue;
        }
        bool unordered = false;
        int c = compare(p, a, b, r, k, &unordered);
        bool v;
        switch (op) {
        case RILL_SQLX_EQ:
        case RILL_SQLX_IS_NOT_DISTINCT:
            v = !unordered && c == 0;
            break;
        case RILL_SQLX_NE:
        case RILL_SQLX_IS_DISTINCT:
            v = unordered || c != 0;
            break;
        case RILL_SQLX_LT:
            v = !unordered && c < 0;
            break;
        case RILL_SQLX_LE:
            v = !unordered && c <= 0;
            break;
        case RILL_SQLX_GT:
            v = !unordered && c > 0;
            break;
        default:
            v = !unordered && c >= 0;
            break;
        }
        s->v[r] = v;
    }
}

/* AND / OR with three values: each operand evaluated only on rows the ones before it leave
 * undecided (FALSE decides AND, TRUE decides OR). */
static int logic(rill__sql_prog *p, int si, const uint64_t *act)
{
    step *s = &p->steps[si];
    bool is_and = s->x->op == RILL_SQLX_AND;
    uint32_t n = p->n;
    uint64_t *open = mask_new(p); /* rows still undecided */
    memcpy(open, act, p->words * sizeof *open);
    memset(s->nul, 0, p->words * sizeof *s->nul);
    for (uint32_t r = 0; r < n; r++)
        s->v[r] = is_and; /* TRUE for AND, FALSE for OR, until an operand says otherwise */
    for (int i = 0; i < s->x->n_args; i++) {
        int rc = eval(p, s->args[i], open);
        if (rc)
            return rc;
        const step *a = &p->steps[s->args[i]];
        for (uint32_t r = 0; r < n; r++) {
            if (!bit(open, r))
                continue;
            if (bit(a->nul, r)) {
                set_bit(s->nul, r, true);
            } else if ((a->v[r] != 0) != is_and) { /* FALSE for AND, TRUE for OR: decided */
                s->v[r] = !is_and;
                set_bit(s->nul, r, false);
                set_bit(open, r, false);
            }
        }
    }
    return 0;
}

/* Copies row r of step a into s (strings into the scratch when s keeps them there). */
static void take(rill__sql_prog *p, step *s, const step *a, uint32_t r)
{
    if (bit(a->nul, r)) {
        set_bit(s->nul, r, true);
        s->v[r] = 0;
        return;
    }
    set_bit(s->nul, r, false);
    if (bytes_slot(s->x->type) && a->x->type->root != RILL_SQLT_NULL) {
        size_t len;
        const char *b = bytes_of(p, a, a->v[r], &len);
        if (a->scratch) {
            s->v[r] = a->v[r];
        } else {
            s->v[r] = put_scratch(p, b, len);
        }
        return;
    }
    s->v[r] = a->v[r];
}

static int case_when(rill__sql_prog *p, int si, const uint64_t *act)
{
    step *s = &p->steps[si];
    int n_args = s->x->n_args;
    uint32_t n = p->n;
    s->scratch = true;
    uint64_t *open = mask_new(p), *hit = mask_new(p);
    memcpy(open, act, p->words * sizeof *open);
    for (size_t w = 0; w < p->words; w++)
        s->nul[w] = ~UINT64_C(0); /* no branch taken, no ELSE: NULL */
    memset(s->v, 0, n * sizeof *s->v);
    int i = 0;
    for (; i + 1 < n_args; i += 2) {
        int rc = eval(p, s->args[i], open);
        if (rc)
            return rc;
        const step *c = &p->steps[s->args[i]];
        for (size_t w = 0; w < p->words; w++)
            hit[w] = open[w] & ~c->nul[w];
        for (uint32_t r = 0; r < n; r++)
            if (bit(hit, r) && !c->v[r])
                set_bit(hit, r, false);
        if ((rc = eval(p, s->args[i + 1], hit)) != 0)
            return rc;
        const step *v = &p->steps[s->args[i + 1]];
        for (uint32_t r = 0; r < n; r++)
            if (bit(hit, r))
                take(p, s, v, r);
        for (size_t w = 0; w < p->words; w++)
            open[w] &= ~hit[w];
    }
    if (i < n_args) { /* ELSE */
        int rc = eval(p, s->args[i], open);
        if (rc)
            return rc;
        const step *v = &p->steps[s->args[i]];
        for (uint32_t r = 0; r < n; r++)
            if (bit(open, r))
                take(p, s, v, r);
    }
    return 0;
}

static int coalesce(rill__sql_prog *p, int si, const uint64_t *act)
{
    step *s = &p->steps[si];
    uint32_t n = p->n;
    s->scratch = true;
    uint64_t *open = mask_new(p);
    memcpy(open, act, p->words * sizeof *open);
    for (size_t w = 0; w < p->words; w++)
        s->nul[w] = ~UINT64_C(0);
    memset(s->v, 0, n * sizeof *s->v);
    for (int i = 0; i < s->x->n_args; i++) {
        int rc = eval(p, s->args[i], open);
        if (rc)
            return rc;
        const step *a = &p->steps[s->args[i]];
        for (uint32_t r = 0; r < n; r++)
            if (bit(open, r) && !bit(a->nul, r)) {
                take(p, s, a, r);
                set_bit(open, r, false);
            }
    }
    return 0;
}

static void concat(rill__sql_prog *p, step *s)
{
    uint32_t n = p->n;
    s->scratch = true;
    memset(s->nul, 0, p->words * sizeof *s->nul);
    for (int i = 0; i < s->x->n_args; i++)
        for (size_t w = 0; w < p->words; w++)
            s->nul[w] |= p->steps[s->args[i]].nul[w];
    for (uint32_t r = 0; r < n; r++) {
        if (bit(s->nul, r)) {
            s->v[r] = 0;
            continue;
        }
        size_t off = p->scratch.len, total = 0;
        for (int i = 0; i < s->x->n_args; i++) {
            const step *a = &p->steps[s->args[i]];
            size_t len;
            const char *b = bytes_of(p, a, a->v[r], &len);
            /* b may point into the scratch, which the append can move: copy through a temp */
            if (a->scratch && len) {
                size_t at = (size_t)(a->v[r] >> 32);
                rill__buf_reserve(&p->scratch, len);
                memmove(p->scratch.data + p->scratch.len, p->scratch.data + at, len);
                p->scratch.len += len;
            } else {
                rill__buf_append(&p->scratch, b, len);
            }
            total += len;
        }
        s->v[r] = (uint64_t)off << 32 | (uint64_t)total;
    }
}

static size_t utf8_chars(const char *b, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)b[i] & 0xc0) != 0x80;
    return n;
}

/* The length of the UTF-8 character at b (1 for a byte that starts none). */
static size_t char_len(const char *b, size_t left)
{
    unsigned char c = (unsigned char)b[0];
    size_t n = c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    return RILL_MIN(n, left);
}

/* SQL LIKE: % any characters, _ one character, esc (or 0) making the next one literal. */
static bool like(const char *s, size_t sl, const char *pt, size_t pl, const char *esc, size_t el)
{
    size_t si = 0, pi = 0, star_p = SIZE_MAX, star_s = 0;
    while (si < sl) {
        if (pi < pl) {
            size_t pc = char_len(pt + pi, pl - pi);
            bool escaped = el && pc == el && !memcmp(pt + pi, esc, el) && pi + pc < pl;
            if (!escaped && pt[pi] == '%') {
                star_p = ++pi;
                star_s = si;
                continue;
            }
            size_t lit_at = escaped ? pi + pc : pi;
            size_t lit_len = escaped ? char_len(pt + lit_at, pl - lit_at) : pc;
            size_t sc = char_len(s + si, sl - si);
            if ((!escaped && pt[pi] == '_') ||
                (sc == lit_len && !memcmp(s + si, pt + lit_at, sc))) {
                si += sc;
                pi = lit_at + lit_len;
                continue;
            }
        }
        if (star_p == SIZE_MAX)
            return false;
        star_s += char_len(s + star_s, sl - star_s);
        si = star_s;
        pi = star_p;
    }
    while (pi < pl && pt[pi] == '%' && !(el == 1 && esc[0] == '%'))
        pi++;
    return pi == pl;
}

static int like_op(rill__sql_prog *p, step *s, const uint64_t *act)
{
    uint32_t n = p->n;
    memset(s->nul, 0, p->words * sizeof *s->nul);
    for (int i = 0; i < s->x->n_args; i++)
        for (size_t w = 0; w < p->words; w++)
            s->nul[w] |= p->steps[s->args[i]].nul[w];
    const step *a = &p->steps[s->args[0]], *b = &p->steps[s->args[1]];
    const step *e = s->x->n_args > 2 ? &p->steps[s->args[2]] : NULL;
    for (uint32_t r = 0; r < n; r++) {
        s->v[r] = 0;
        if (bit(s->nul, r))
            continue;
        size_t sl, pl, el = 0;
        const char *str = bytes_of(p, a, a->v[r], &sl), *pt = bytes_of(p, b, b->v[r], &pl);
        const char *esc = e ? bytes_of(p, e, e->v[r], &el) : NULL;
        if (e && utf8_chars(esc, el) != 1) {
            if (bit(act, r))
                return xerr(p->err, p->text, s->x,
                            "the ESCAPE of LIKE must be one character, "
                            "not '%.*s'",
                            (int)el, esc);
            continue;
        }
        for (size_t i = 0; e && i < pl; i += char_len(pt + i, pl - i)) {
            /* the escape makes only %, _ or itself literal; anything else is an error (Flink's
             * "Invalid escape sequence") */
            if (char_len(pt + i, pl - i) != el || memcmp(pt + i, esc, el))
                continue;
            size_t nx = i + el;
            bool ok = nx < pl && (pt[nx] == '%' || pt[nx] == '_' ||
                                  (char_len(pt + nx, pl - nx) == el && !memcmp(pt + nx, esc, el)));
            if (!ok) {
                if (bit(act, r))
                    return xerr(p->err, p->text, s->x,
                                "Invalid escape sequence '%.*s' at %zu "
                                "in the LIKE pattern '%.*s'",
                                (int)RILL_MIN(pl - i, 2 * el), pt + i, i, (int)pl, pt);
                goto next;
            }
            i = nx; /* the escaped character is passed over */
        }
        s->v[r] = like(str, sl, pt, pl, esc, el);
    next:;
    }
    return 0;
}

/* ---- the run ------------------------------------------------------------------------------- */

static void store(rill__sql_prog *p, step *s, uint32_t r, const rill__sql_val *res);

/* A function call over the active rows: arguments gathered per row, the kernel called, its
 * result stored (strings copied into the scratch). */
static int func(rill__sql_prog *p, step *s, const uint64_t *act)
{
    const rill__sql_rex *x = s->x;
    const rill__sql_fn *fn = x->fn;
    rill__sql_fn_ctx *c = s->fc;
    c->err = p->err;
    bool strict = fn->flags & RILL_SQLF_STRICT;
    bool out_bytes = kind_of(x->type) == K_BYTES;
    bool out_dec = kind_of(x->type) == K_DEC;
    memset(s->nul, 0xff, p->words * sizeof *s->nul);
    s->scratch = out_bytes || (out_dec && x->type->precision > 18);
    for (uint32_t r = 0; r < p->n; r++) {
        s->v[r] = 0;
        if (!bit(act, r))
            continue;
        bool any_null = false;
        for (int i = 0; i < x->n_args; i++) {
            const step *a = &p->steps[s->args[i]];
            rill__sql_val *v = &s->vals[i];
            v->null = bit(a->nul, r);
            any_null |= v->null;
            v->v = v->null ? 0 : a->v[r];
            v->b = NULL;
            v->len = 0;
            v->dec = 0;
            if (v->null)
                continue;
            slot_kind k = kind_of(a->x->type);
            if (k == K_BYTES)
                v->b = bytes_of(p, a, a->v[r], &v->len);
            else if (k == K_DEC)
                v->dec = dec_get(p, a, r);
        }
        if (strict && any_null)
            continue;
        rill__sql_val o = {0};
        c->tmp.len = 0;
        int rc = fn->row(c, s->vals, &o);
        if (rc)
            return rc;
        store(p, s, r, &o);
    }
    return 0;
}

/* Row r of s set to a kernel's result (strings copied into the scratch). */
static void store(rill__sql_prog *p, step *s, uint32_t r, const rill__sql_val *res)
{
    rill__sql_val o = *res;
    bool out_bytes = kind_of(s->x->type) == K_BYTES;
    bool out_dec = kind_of(s->x->type) == K_DEC;
    s->v[r] = 0;
    if (o.null)
        return;
    {
        set_bit(s->nul, r, false);
        if (out_dec) {
            dec_put(p, s, r, o.dec);
        } else if (out_bytes) {
            if (!o.len)
                return;
            const char *sd = (const char *)p->scratch.data;
            if (sd && o.b >= sd && o.b < sd + p->scratch.len) { /* a slice of the scratch */
                size_t at = (size_t)(o.b - sd);
                rill__buf_reserve(&p->scratch, o.len);
                size_t off = p->scratch.len;
                memmove(p->scratch.data + off, p->scratch.data + at, o.len);
                p->scratch.len += o.len;
                s->v[r] = (uint64_t)off << 32 | (uint64_t)o.len;
            } else {
                s->v[r] = put_scratch(p, o.b, o.len);
            }
        } else {
            s->v[r] = o.v;
        }
    }
}

/* CAST between a character string and another type: the kernel of fn_string.c per active
 * row; TRY_CAST turns a failure into NULL. */
static int cast_string(rill__sql_prog *p, step *s, const step *a, const uint64_t *act)
{
    rill__sql_fn_ctx *c = s->fc;
    c->err = p->err;
    const rill__sql_ltype *from = a->x->type, *to = s->x->type;
    memset(s->nul, 0xff, p->words * sizeof *s->nul);
    s->scratch = kind_of(to) == K_BYTES || (kind_of(to) == K_DEC && to->precision > 18);
    for (uint32_t r = 0; r < p->n; r++) {
        s->v[r] = 0;
        if (!bit(act, r) || bit(a->nul, r))
            continue;
        rill__sql_val in = {.v = a->v[r]}, o = {0};
        if (kind_of(from) == K_BYTES)
            in.b = bytes_of(p, a, a->v[r], &in.len);
        else if (kind_of(from) == K_DEC)
            in.dec = dec_get(p, a, r);
        c->tmp.len = 0;
        int rc = rill__sql_cast_string_row(c, from, to, &in, &o);
        if (rc && s->x->try_cast) {
            p->err->code = 0;
            p->err->msg[0] = '\0';
            continue;
        }
        if (rc)
            return rc;
        store(p, s, r, &o);
    }
    return 0;
}

int rill__sql_fn_fail(rill__sql_fn_ctx *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return xerr(c->err, c->text, c->x, "%s", msg);
}

static void load_input(rill__sql_prog *p, step *s)
{
    rill_batch *in = p->in;
    int f = s->x->input;
    uint32_t n = p->n, stride = in->row_words, nw = in->null_words;
    const uint64_t *rows = in->rows;
    memset(s->nul, 0, p->words * sizeof *s->nul);
    for (uint32_t r = 0; r < n; r++) {
        const uint64_t *row = rows + (size_t)r * stride;
        s->v[r] = row[nw + f];
        if ((row[f >> 6] >> (f & 63)) & 1u)
            s->nul[r >> 6] |= UINT64_C(1) << (r & 63);
    }
}

static int eval(rill__sql_prog *p, int si, const uint64_t *act)
{
    step *s = &p->steps[si];
    const rill__sql_rex *x = s->x;
    uint32_t n = p->n;
    s->scratch = false;
    switch (x->op) {
    case RILL_SQLX_INPUT:
        load_input(p, s);
        return 0;
    case RILL_SQLX_LITERAL: {
        uint64_t v = x->lit;
        if (x->lit_bytes && !x->lit_null) {
            v = put_scratch(p, x->lit_bytes, (size_t)x->lit);
            s->scratch = true;
        }
        for (uint32_t r = 0; r < n; r++)
            s->v[r] = x->lit_null ? 0 : v;
        memset(s->nul, x->lit_null ? 0xff : 0, p->words * sizeof *s->nul);
        return 0;
    }
    case RILL_SQLX_AND:
    case RILL_SQLX_OR:
        return logic(p, si, act);
    case RILL_SQLX_CASE:
        return case_when(p, si, act);
    case RILL_SQLX_COALESCE:
        return coalesce(p, si, act);
    default:
        break;
    }
    for (int i = 0; i < x->n_args; i++) {
        int rc = eval(p, s->args[i], act);
        if (rc)
            return rc;
    }
    const step *a = x->n_args > 0 ? &p->steps[s->args[0]] : NULL;
    const step *b = x->n_args > 1 ? &p->steps[s->args[1]] : NULL;
    switch (x->op) {
    case RILL_SQLX_CAST:
        return cast(p, s, a, act);
    case RILL_SQLX_NEG: {
        slot_kind k = kind_of(x->type);
        memcpy(s->nul, a->nul, p->words * sizeof *s->nul);
        if (k == K_DEC) { /* |v| < 10^38: its negation fits */
            for (uint32_t r = 0; r < n; r++)
                if (!bit(s->nul, r))
                    dec_put(p, s, r, -dec_get(p, a, r));
            return 0;
        }
        for (uint32_t r = 0; r < n; r++)
            s->v[r] = k == K_DOUBLE  ? of_double(-as_double(a->v[r]))
                      : k == K_FLOAT ? of_float(-as_float(a->v[r]))
                                     : rill__sql_wrap(x->type->root, (uint64_t)0 - a->v[r]);
        return 0;
    }
    case RILL_SQLX_PLUS:
    case RILL_SQLX_MINUS:
    case RILL_SQLX_TIMES:
    case RILL_SQLX_DIVIDE:
    case RILL_SQLX_MOD:
        return arith(p, s, a, b, act);
    case RILL_SQLX_EQ:
    case RILL_SQLX_NE:
    case RILL_SQLX_LT:
    case RILL_SQLX_LE:
    case RILL_SQLX_GT:
    case RILL_SQLX_GE:
    case RILL_SQLX_IS_DISTINCT:
    case RILL_SQLX_IS_NOT_DISTINCT:
        comparison(p, s, a, b);
        return 0;
    case RILL_SQLX_NOT:
        memcpy(s->nul, a->nul, p->words * sizeof *s->nul);
        for (uint32_t r = 0; r < n; r++)
            s->v[r] = !a->v[r];
        return 0;
    case RILL_SQLX_IS_NULL:
    case RILL_SQLX_IS_NOT_NULL:
    case RILL_SQLX_IS_TRUE:
    case RILL_SQLX_IS_NOT_TRUE:
    case RILL_SQLX_IS_FALSE:
    case RILL_SQLX_IS_NOT_FALSE:
        memset(s->nul, 0, p->words * sizeof *s->nul);
        for (uint32_t r = 0; r < n; r++) {
            bool nul = bit(a->nul, r), t = !nul && a->v[r], f = !nul && !a->v[r];
            bool v = x->op == RILL_SQLX_IS_NULL       ? nul
                     : x->op == RILL_SQLX_IS_NOT_NULL ? !nul
                     : x->op == RILL_SQLX_IS_TRUE     ? t
                     : x->op == RILL_SQLX_IS_NOT_TRUE ? !t
                     : x->op == RILL_SQLX_IS_FALSE    ? f
                                                      : !f;
            s->v[r] = v;
        }
        return 0;
    case RILL_SQLX_CONCAT:
        concat(p, s);
        return 0;
    case RILL_SQLX_CHAR_LENGTH:
        memcpy(s->nul, a->nul, p->words * sizeof *s->nul);
        for (uint32_t r = 0; r < n; r++) {
            size_t len;
            const char *c = bytes_of(p, a, a->v[r], &len);
            s->v[r] = bit(a->nul, r) ? 0 : (uint64_t)utf8_chars(c, len);
        }
        return 0;
    case RILL_SQLX_LIKE:
        return like_op(p, s, act);
    case RILL_SQLX_FUNC:
        return func(p, s, act);
    default:
        return xerr(p->err, p->text, x, "operator %d cannot be run", (int)x->op);
    }
}

int rill__sql_prog_run(rill__sql_prog *p, rill_batch *in, rill_batch *out, rill__err *err)
{
    uint32_t n = in->n_rows;
    if (n == 0)
        return 0;
    RILL_ASSERT(out->n_rows + n <= out->cap_rows);
    RILL_ASSERT((int)out->n_fields == p->n_out);
    grow(p, n);
    p->in = in;
    p->n = n;
    p->err = err;
    p->scratch.len = 0;
    rill__arena_reset(&p->masks);
    uint64_t *keep = mask_new(p);
    for (uint32_t r = 0; r < n; r++)
        set_bit(keep, r, true);
    int rc = 0;
    if (p->filter >= 0) {
        if ((rc = eval(p, p->filter, keep)) != 0)
            return rc;
        const step *f = &p->steps[p->filter];
        for (uint32_t r = 0; r < n; r++)
            set_bit(keep, r, !bit(f->nul, r) && f->v[r]);
    }
    for (int i = 0; i < p->n_out; i++)
        if ((rc = eval(p, p->outs[i], keep)) != 0)
            return rc;
    if (in->has_ts && !out->has_ts) {
        rill__batch_need_ts(out);
        out->has_ts = true;
    }
    for (uint32_t r = 0; r < n; r++) {
        if (!bit(keep, r))
            continue;
        uint32_t at = out->n_rows;
        rill_row row = rill__batch_append(out);
        for (int i = 0; i < p->n_out; i++) {
            const step *s = &p->steps[p->outs[i]];
            if (bit(s->nul, r))
                continue; /* appended NULL */
            uint64_t v = s->v[r];
            if (bytes_slot(s->x->type)) {
                size_t len;
                const char *b = bytes_of(p, s, v, &len);
                if ((rc = rill__batch_put_bytes(out, b, len, &v)) != 0)
                    return rill__err_set(err, rc, "a row's strings pass 4 GiB");
            }
            row.v[i] = v;
            row.nulls[i >> 6] &= ~(UINT64_C(1) << (i & 63));
        }
        if (out->has_ts)
            out->ts[at] = in->has_ts ? in->ts[r] : 0;
        if (RILL_UNLIKELY(in->has_kinds)) /* a changelog's rows keep their kinds */
            rill__batch_set_kind(out, at, rill__batch_kind(in, r));
    }
    return 0;
}

/* ---- constant folding ---------------------------------------------------------------------- */

rill__sql_rex *rill__sql_fold(rill__arena *a, rill__sql_rex *x, const char *text)
{
    if (!x || x->op == RILL_SQLX_INPUT || x->op == RILL_SQLX_LITERAL || x->n_args == 0)
        return x;
    bool all = true;
    for (int i = 0; i < x->n_args; i++) {
        x->args[i] = rill__sql_fold(a, x->args[i], text);
        all &= x->args[i]->op == RILL_SQLX_LITERAL;
    }
    if (!all && (x->op == RILL_SQLX_AND || x->op == RILL_SQLX_OR)) {
        /* TRUE AND y is y, FALSE AND y FALSE (y NULL too); FALSE OR y is y, TRUE OR y TRUE */
        bool is_and = x->op == RILL_SQLX_AND;
        int kept = 0;
        for (int i = 0; i < x->n_args; i++) {
            const rill__sql_rex *c = x->args[i];
            bool lit = c->op == RILL_SQLX_LITERAL && !c->lit_null;
            if (lit && (c->lit != 0) != is_and) /* decides the whole */
                return x->args[i];
            if (!lit || (c->lit != 0) != is_and)
                x->args[kept++] = x->args[i];
        }
        x->n_args = kept;
        if (kept == 1)
            return x->args[0];
        return x;
    }
    if (!all || (x->op == RILL_SQLX_FUNC && (x->fn->flags & RILL_SQLF_VOLATILE)))
        return x;
    slot_kind k = kind_of(x->type);
    bool chars = k == K_BYTES && rill__sql_is_character(x->type);
    if (!(k == K_BOOL || k == K_INT || k == K_FLOAT || k == K_DOUBLE || chars ||
          (k == K_DEC && x->type->precision <= 18)))
        return x;
    rill_type_info info = rill__sql_slot_of(x->type);
    if (!info.type)
        return x;
    /* one row of an input with no columns, through a program of x */
    rill_schema *in_s = rill_schema_new(), *out_s = rill_schema_new();
    rill_schema_add_typed(out_s, "v", info, true);
    rill_batch *in = rill__batch_new(in_s, 1), *out = rill__batch_new(out_s, 1);
    rill__batch_append(in);
    rill__sql_prog *p = NULL;
    rill__err err = {0};
    rill__sql_rex *res = x;
    if (rill__sql_prog_new(NULL, 1, &x, text, &p, &err) == 0 &&
        rill__sql_prog_run(p, in, out, &err) == 0 && out->n_rows == 1) {
        rill_row row = rill__batch_row(out, 0);
        if (rill_row_is_null(&row, 0)) {
            res = rill__sql_x_null(a, x->type);
        } else if (chars) {
            size_t len;
            const void *b = rill_row_bytes(&row, 0, &len);
            res = rill__sql_x_string(a, x->type, (const char *)b, len);
        } else {
            res = rill__sql_x_literal(a, x->type, row.v[0]);
        }
        res->pos = x->pos;
    }
    rill__sql_prog_free(p);
    rill__batch_unref(in);
    rill__batch_unref(out);
    rill_schema_free(in_s);
    rill_schema_free(out_s);
    return res;
}
