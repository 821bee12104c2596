/*
 * fn_math.c - numeric and conditional scalar functions, with Java's semantics (Flink's
 * generated code calls java.lang.Math, BigDecimal and java.util.Random): rounding, logarithms
 * and trigonometry, signs, random numbers, BIN, GREATEST/LEAST, IF and NULLIF.
 */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wctype.h>

#include "functions.h"
#include "sql_int.h"

/* ---- helpers for infer ---------------------------------------------------------------------- */

static bool numeric_or_null(const rill__sql_ltype *t)
{
    return rill__sql_is_numeric(t) || t->root == RILL_SQLT_NULL;
}

/* Every argument numeric (or an untyped NULL), else msg says which function refuses them. */
static bool all_numeric(const rill__sql_fn_call *call, char *msg, size_t cap)
{
    for (int i = 0; i < call->n_args; i++)
        if (!numeric_or_null(call->args[i]->type)) {
            snprintf(msg, cap, "Cannot apply '%s' to a value that is not a number", call->name);
            return false;
        }
    return true;
}

/* The value of a constant integer argument (a literal, maybe negated or cast): true and *v,
 * or false when x is not one. */
static bool const_int(const rill__sql_rex *x, int64_t *v)
{
    if (x->op == RILL_SQLX_CAST && x->n_args == 1)
        return const_int(x->args[0], v);
    if (x->op == RILL_SQLX_NEG && x->n_args == 1) {
        if (!const_int(x->args[0], v))
            return false;
        *v = (int64_t)((uint64_t)0 - (uint64_t)*v);
        return true;
    }
    if (x->op != RILL_SQLX_LITERAL || x->lit_null || !rill__sql_is_integer(x->type))
        return false;
    *v = (int64_t)x->lit;
    return true;
}

/* The type t with the nullability of a strict call over call's arguments. */
static const rill__sql_ltype *strict_type(rill__arena *a, const rill__sql_fn_call *call,
                                          const rill__sql_ltype *t)
{
    return rill__sql_type_with_null(a, t, rill__sql_fn_any_nullable(call));
}

/* ---- ABS ------------------------------------------------------------------------------------ */

/* ABS(numeric): the argument's type; an integer's minimum stays itself (Java's Math.abs). */
static const rill__sql_ltype *abs_infer(rill__arena *a, const rill__sql_fn_call *call,
                                        const rill__sql_ltype **cast, char *msg, size_t cap)
{
    (void)a;
    (void)cast;
    const rill__sql_ltype *t = call->args[0]->type;
    if (!rill__sql_is_numeric(t) && !rill__sql_is_interval(t)) {
        snprintf(msg, cap, "Cannot apply 'ABS' to a value that is not a number");
        return NULL;
    }
    return t;
}

static int abs_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    const rill__sql_ltype *t = c->x->type;
    if (t->root == RILL_SQLT_DOUBLE)
        rill__sql_val_set_double(out, fabs(rill__sql_val_double(&args[0])));
    else if (t->root == RILL_SQLT_FLOAT)
        rill__sql_val_set_float(out, fabsf(rill__sql_val_float(&args[0])));
    else if (t->root == RILL_SQLT_DECIMAL)
        out->dec = args[0].dec < 0 ? -args[0].dec : args[0].dec;
    else {
        int64_t v = (int64_t)args[0].v;
        out->v = rill__sql_wrap(t->root, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
    }
    return 0;
}

/* ---- ROUND and TRUNCATE --------------------------------------------------------------------- */

/*
 * ROUND(x[, n]) and TRUNCATE(x[, n]) move x to n digits after the point (before it when n is
 * negative), HALF_UP or towards zero, as BigDecimal does in Flink's SqlFunctionUtils: an
 * integer keeps its type (the result narrowed as Java narrows: ROUND(2147483647, -1) wraps);
 * DECIMAL(p, s) becomes Flink's DECIMAL (rill__sql_round_decimal, n must be a constant); a
 * DOUBLE or FLOAT is rounded from its Java text (BigDecimal.valueOf(d): ROUND(2.675, 2) is 2.68)
 * and read back correctly rounded.
 */
static const rill__sql_ltype *round_infer(rill__arena *a, const rill__sql_fn_call *call,
                                          const rill__sql_ltype **cast, char *msg, size_t cap)
{
    const rill__sql_ltype *t = call->args[0]->type;
    if (!rill__sql_is_numeric(t) && t->root != RILL_SQLT_NULL) {
        snprintf(msg, cap, "Cannot apply '%s' to a value that is not a number", call->name);
        return NULL;
    }
    if (call->n_args == 2) {
        const rill__sql_ltype *n = call->args[1]->type;
        if (!rill__sql_is_integer(n) && n->root != RILL_SQLT_NULL) {
            snprintf(msg, cap, "%s's second argument must be an integer", call->name);
            return NULL;
        }
        cast[1] = rill__sql_fn_type(a, RILL_SQLT_INT, 0, 0, n->nullable);
    }
    if (t->root == RILL_SQLT_NULL)
        t = rill__sql_fn_type(a, RILL_SQLT_DOUBLE, 0, 0, true), cast[0] = t;
    if (t->root != RILL_SQLT_DECIMAL)
        return strict_type(a, call, t);
    int64_t r = 0;
    if (call->n_args == 2 && !const_int(call->args[1], &r)) {
        snprintf(msg, cap, "%s of a DECIMAL needs a constant number of digits", call->name);
        return NULL;
    }
    r = RILL_MAX(RILL_MIN(r, 38), -38);
    int p, s;
    rill__sql_round_decimal(t->precision, t->scale, (int)r, &p, &s);
    return rill__sql_fn_type(a, RILL_SQLT_DECIMAL, p, s, rill__sql_fn_any_nullable(call));
}

/* v (scale s) with the digits below 10^-n dropped, HALF_UP (or towards zero with down), as an
 * unscaled value at scale max(n, 0) (n <= s); the caller checks the precision. */
static rill__i128 dec_round(rill__i128 v, int s, int n, bool down)
{
    int shift = s - n; /* digits dropped, > 0 */
    rill__u128 mag = v < 0 ? (rill__u128)0 - (rill__u128)v : (rill__u128)v;
    rill__u128 r;
    if (shift > 38) {
        r = 0; /* |v| < 10^38 < half of 10^39 */
    } else {
        rill__u128 q = rill__dec_pow10(shift), rem = mag % q;
        r = mag / q;
        if (!down && rem >= q - rem)
            r++;
    }
    if (n < 0)
        r = -n > 38 ? 0 : r * rill__dec_pow10(-n);
    return v < 0 ? -(rill__i128)r : (rill__i128)r;
}

/* Java's Double.toString(d) as digits and a power of ten: d = [-]digits * 10^e. */
static void java_digits(double d, char *digits, int *nd, int *e, bool *neg)
{
    rill__buf b = {0};
    rill__sql_java_double(&b, d);
    rill__buf_putc(&b, '\0');
    const char *t = (const char *)b.data;
    *neg = *t == '-';
    if (*neg)
        t++;
    int n = 0, frac = 0;
    bool point = false;
    for (; *t && *t != 'E'; t++) {
        if (*t == '.') {
            point = true;
            continue;
        }
        if (n < 40)
            digits[n++] = *t;
        frac += point;
    }
    *e = (*t == 'E' ? atoi(t + 1) : 0) - frac;
    *nd = n;
    rill__buf_free(&b);
}

/* ROUND/TRUNCATE of a finite double to n digits, as BigDecimal.valueOf(d) rounded then read
 * back (as a float when is_float: a FLOAT goes through BigDecimal.valueOf((double) f)). A
 * BigDecimal has no negative zero. */
static double round_double(double d, int n, bool down, bool is_float)
{
    char dig[48];
    int nd, e;
    bool neg;
    if (d == 0)
        return 0.0;
    java_digits(d, dig, &nd, &e, &neg);
    if (e >= -n) /* no digit below 10^-n */
        return d;
    /* the value's digits dig[0..nd) weigh 10^(e + nd - 1 - k): keep those of weight >= -n */
    int keep = nd + e + n; /* digits kept (may be <= 0) */
    char out[64];
    int len = 0;
    bool up = false;
    if (keep < 0) {
        up = false;
    } else {
        up = !down && keep < nd && dig[keep] >= '5';
        for (int k = 0; k < keep; k++)
            out[len++] = dig[k];
    }
    if (len == 0)
        out[len++] = '0';
    if (up) { /* add one to the last kept digit */
        int k = len - 1;
        while (k >= 0 && out[k] == '9')
            out[k--] = '0';
        if (k >= 0) {
            out[k]++;
        } else {
            memmove(out + 1, out, (size_t)len);
            out[0] = '1';
            len++;
        }
    }
    snprintf(out + len, sizeof out - (size_t)len, "e%d", -n);
    double r = is_float ? (double)strtof(out, NULL) : strtod(out, NULL);
    return neg && r != 0 ? -r : r;
}

static int round_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    bool down = c->x->call->name[0] == 'T';
    const rill__sql_ltype *t = c->x->args[0]->type, *rt = c->x->type;
    int64_t n64 = c->x->n_args == 2 ? (int64_t)(int32_t)args[1].v : 0;
    int n = (int)RILL_MAX(RILL_MIN(n64, 400), -400);
    switch (t->root) {
    case RILL_SQLT_DOUBLE:
    case RILL_SQLT_FLOAT: {
        bool is_float = t->root == RILL_SQLT_FLOAT;
        double d =
            is_float ? (double)rill__sql_val_float(&args[0]) : rill__sql_val_double(&args[0]);
        if (!isfinite(d)) /* BigDecimal.valueOf of NaN or an infinity throws */
            return rill__sql_fn_fail(c, "%s of %s: the value is not a finite number (%s)",
                                     c->x->call->name, is_float ? "a FLOAT" : "a DOUBLE",
                                     d != d  ? "NaN"
                                     : d > 0 ? "Infinity"
                                             : "-Infinity");
        double r = round_double(d, n, down, is_float);
        if (is_float)
            rill__sql_val_set_float(out, (float)r);
        else
            rill__sql_val_set_double(out, r);
        return 0;
    }
    case RILL_SQLT_DECIMAL: {
        int s = t->scale;
        if (n >= s) {
            out->dec = args[0].dec;
            return 0;
        }
        rill__i128 r = dec_round(args[0].dec, s, n, down);
        if (!rill__dec_fits(r, rt->precision))
            out->null = true; /* Flink's DecimalData of a value too wide: NULL */
        else
            out->dec = r;
        return 0;
    }
    default: /* integers: only a negative n changes them */
        if (n >= 0) {
            out->v = args[0].v;
            return 0;
        }
        out->v = rill__sql_wrap(rt->root, (uint64_t)(int64_t)dec_round((int64_t)args[0].v, 0, n, down));
        return 0;
    }
}

/* ---- FLOOR and CEIL ------------------------------------------------------------------------- */

/* FLOOR/CEIL(x): integers as they are, DOUBLE and FLOAT by Math.floor/ceil, DECIMAL(p, s) as
 * DECIMAL(p, 0). FLOOR/CEIL(x TO unit) belongs to the date/time functions. */
static const rill__sql_ltype *floor_infer(rill__arena *a, const rill__sql_fn_call *call,
                                          const rill__sql_ltype **cast, char *msg, size_t cap)
{
    if (call->form == RILL_SQL_C_CEIL_TO) /* a date-time's: fn_time.c */
        return rill__sql_fn_time_ceil_floor_infer(a, call, cast, msg, cap);
    if (!all_numeric(call, msg, cap))
        return NULL;
    const rill__sql_ltype *t = call->args[0]->type;
    if (t->root == RILL_SQLT_NULL)
        return cast[0] = rill__sql_fn_type(a, RILL_SQLT_DOUBLE, 0, 0, true);
    if (t->root == RILL_SQLT_DECIMAL)
        return rill__sql_fn_type(a, RILL_SQLT_DECIMAL, t->precision, 0, t->nullable);
    return t;
}

static int floor_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    if (c->x->call->form == RILL_SQL_C_CEIL_TO)
        return rill__sql_fn_time_ceil_floor_row(c, args, out);
    bool ceil_ = c->x->call->name[0] == 'C';
    const rill__sql_ltype *t = c->x->args[0]->type;
    switch (t->root) {
    case RILL_SQLT_DOUBLE: {
        double d = rill__sql_val_double(&args[0]);
        rill__sql_val_set_double(out, ceil_ ? ceil(d) : floor(d));
        break;
    }
    case RILL_SQLT_FLOAT: {
        float f = rill__sql_val_float(&args[0]);
        rill__sql_val_set_float(out, ceil_ ? ceilf(f) : floorf(f));
        break;
    }
    case RILL_SQLT_DECIMAL: {
        rill__i128 v = args[0].dec, q = (rill__i128)rill__dec_pow10(t->scale);
        rill__i128 r = v / q;
        if (v % q != 0 && (v < 0) != ceil_)
            r += ceil_ ? 1 : -1;
        if (!rill__dec_fits(r, c->x->type->precision))
            out->null = true;
        else
            out->dec = r;
        break;
    }
    default:
        out->v = args[0].v;
        break;
    }
    return 0;
}

/* ---- functions of doubles ------------------------------------------------------------------- */

/* The functions of java.lang.Math Flink calls: DOUBLE of DOUBLE arguments. */
static const rill__sql_ltype *double_infer(rill__arena *a, const rill__sql_fn_call *call,
                                           const rill__sql_ltype **cast, char *msg, size_t cap)
{
    if (!all_numeric(call, msg, cap))
        return NULL;
    for (int i = 0; i < call->n_args; i++)
        cast[i] = rill__sql_fn_type(a, RILL_SQLT_DOUBLE, 0, 0, call->args[i]->type->nullable);
    return rill__sql_fn_type(a, RILL_SQLT_DOUBLE, 0, 0, rill__sql_fn_any_nullable(call));
}

/* Java's Math.toDegrees and Math.toRadians multiply by these. */
#define RADIANS_TO_DEGREES 57.29577951308232
#define DEGREES_TO_RADIANS 0.017453292519943295

static int double_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    const char *f = c->x->call->name;
    double x = c->x->n_args ? rill__sql_val_double(&args[0]) : 0;
    double y = c->x->n_args > 1 ? rill__sql_val_double(&args[1]) : 0, r;
    if (!strcmp(f, "POWER"))
        r = pow(x, y);
    else if (!strcmp(f, "SQRT"))
        r = sqrt(x);
    else if (!strcmp(f, "EXP"))
        r = exp(x);
    else if (!strcmp(f, "LN"))
        r = log(x);
    else if (!strcmp(f, "LOG10"))
        r = log10(x);
    else if (!strcmp(f, "LOG2"))
        r = log(x) / log(2.0); /* as Flink computes it (not log2) */
    else if (!strcmp(f, "LOG"))
        r = c->x->n_args == 1 ? log(x) : log(y) / log(x);
    else if (!strcmp(f, "SIN"))
        r = sin(x);
    else if (!strcmp(f, "COS"))
        r = cos(x);
    else if (!strcmp(f, "TAN"))
        r = tan(x);
    else if (!strcmp(f, "COT"))
        r = 1.0 / tan(x);
    else if (!strcmp(f, "ASIN"))
        r = asin(x);
    else if (!strcmp(f, "ACOS"))
        r = acos(x);
    else if (!strcmp(f, "ATAN"))
        r = atan(x);
    else if (!strcmp(f, "ATAN2"))
        r = atan2(x, y);
    else if (!strcmp(f, "SINH"))
        r = sinh(x);
    else if (!strcmp(f, "COSH"))
        r = cosh(x);
    else if (!strcmp(f, "TANH"))
        r = tanh(x);
    else if (!strcmp(f, "DEGREES"))
        r = x * RADIANS_TO_DEGREES;
    else if (!strcmp(f, "RADIANS"))
        r = x * DEGREES_TO_RADIANS;
    else if (!strcmp(f, "PI"))
        r = M_PI;
    else /* E */
        r = M_E;
    rill__sql_val_set_double(out, r);
    return 0;
}

/* ---- SIGN ----------------------------------------------------------------------------------- */

static const rill__sql_ltype *sign_infer(rill__arena *a, const rill__sql_fn_call *call,
                                         const rill__sql_ltype **cast, char *msg, size_t cap)
{
    if (!all_numeric(call, msg, cap))
        return NULL;
    const rill__sql_ltype *t = call->args[0]->type;
    if (t->root == RILL_SQLT_NULL)
        return cast[0] = rill__sql_fn_type(a, RILL_SQLT_DOUBLE, 0, 0, true);
    return t;
}

static int sign_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    const rill__sql_ltype *t = c->x->type;
    if (t->root == RILL_SQLT_DOUBLE) {
        double d = rill__sql_val_double(&args[0]); /* Math.signum: NaN and zeros as they are */
        rill__sql_val_set_double(out, d > 0 ? 1.0 : d < 0 ? -1.0 : d);
    } else if (t->root == RILL_SQLT_FLOAT) {
        float f = rill__sql_val_float(&args[0]);
        rill__sql_val_set_float(out, f > 0 ? 1.0f : f < 0 ? -1.0f : f);
    } else if (t->root == RILL_SQLT_DECIMAL) {
        rill__i128 one = (rill__i128)rill__dec_pow10(t->scale);
        rill__i128 r = args[0].dec > 0 ? one : args[0].dec < 0 ? -one : 0;
        if (!rill__dec_fits(r, t->precision))
            out->null = true;
        else
            out->dec = r;
    } else {
        int64_t v = (int64_t)args[0].v;
        out->v = (uint64_t)(int64_t)(v > 0 ? 1 : v < 0 ? -1 : 0);
    }
    return 0;
}

/* ---- RAND and RAND_INTEGER: java.util.Random ----------------------------------------------- */

/*
 * Java's linear congruential generator: a seeded RAND gives the same numbers as
 * new java.util.Random(seed) in each task (Flink makes one per operator instance); an unseeded
 * one starts from the clock. The seed must be a constant.
 */
typedef struct jrandom {
    uint64_t seed; /* 48 bits */
} jrandom;

#define JR_MULT UINT64_C(0x5DEECE66D)
#define JR_MASK ((UINT64_C(1) << 48) - 1)

static void jr_seed(jrandom *r, int64_t seed)
{
    r->seed = ((uint64_t)seed ^ JR_MULT) & JR_MASK;
}

static int32_t jr_next(jrandom *r, int bits)
{
    r->seed = (r->seed * JR_MULT + 0xB) & JR_MASK;
    return (int32_t)(uint32_t)(r->seed >> (48 - bits));
}

static double jr_double(jrandom *r)
{
    int64_t hi = jr_next(r, 26), lo = jr_next(r, 27);
    return (double)((hi << 27) + lo) * 0x1.0p-53;
}

/* nextInt(bound), bound > 0 */
static int32_t jr_int(jrandom *r, int32_t bound)
{
    if ((bound & -bound) == bound)
        return (int32_t)(((int64_t)bound * (int64_t)jr_next(r, 31)) >> 31);
    int32_t bits, val;
    do {
        bits = jr_next(r, 31);
        val = bits % bound;
    } while ((int32_t)((uint32_t)bits - (uint32_t)val + (uint32_t)(bound - 1)) < 0);
    return val;
}

static bool is_rand_integer(const rill__sql_fn_call *call)
{
    return call->name[4] == '_';
}

static const rill__sql_ltype *rand_infer(rill__arena *a, const rill__sql_fn_call *call,
                                         const rill__sql_ltype **cast, char *msg, size_t cap)
{
    bool ri = is_rand_integer(call);
    int n_seed = call->n_args - ri; /* 0 or 1 */
    if (ri && call->n_args < 1) {
        snprintf(msg, cap, "Invalid number of arguments to function '%s'", call->name);
        return NULL;
    }
    for (int i = 0; i < call->n_args; i++) {
        const rill__sql_ltype *t = call->args[i]->type;
        if (!rill__sql_is_integer(t) && t->root != RILL_SQLT_NULL) {
            snprintf(msg, cap, "%s takes integer arguments", call->name);
            return NULL;
        }
    }
    int64_t seed;
    if (n_seed == 1 && !const_int(call->args[0], &seed)) {
        snprintf(msg, cap, "The seed of %s must be a constant integer", call->name);
        return NULL;
    }
    if (ri) {
        const rill__sql_rex *bound = call->args[call->n_args - 1];
        cast[call->n_args - 1] = rill__sql_fn_type(a, RILL_SQLT_INT, 0, 0, bound->type->nullable);
        return rill__sql_fn_type(a, RILL_SQLT_INT, 0, 0, bound->type->nullable);
    }
    return rill__sql_fn_type(a, RILL_SQLT_DOUBLE, 0, 0, false);
}

static int rand_open(rill__sql_fn_ctx *c)
{
    jrandom *r = rill__xcalloc(1, sizeof *r);
    int64_t seed;
    bool ri = is_rand_integer(c->x->call);
    if (c->x->n_args - ri == 1 && const_int(c->x->args[0], &seed)) {
        jr_seed(r, seed);
    } else { /* Java's new Random(): a seed nobody else gets */
        static uint64_t uniq = UINT64_C(8682522807148012);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        /* tasks open programs on their own threads */
        uint64_t u = __atomic_add_fetch(&uniq, UINT64_C(0x9E3779B97F4A7C15), __ATOMIC_RELAXED);
        u *= UINT64_C(1181783497276652981);
        jr_seed(r, (int64_t)(u ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                             (uint64_t)(uintptr_t)r));
    }
    c->state = r;
    return 0;
}

static void rand_close(rill__sql_fn_ctx *c)
{
    free(c->state);
    c->state = NULL;
}

static int rand_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    jrandom *r = c->state;
    if (!is_rand_integer(c->x->call)) {
        rill__sql_val_set_double(out, jr_double(r));
        return 0;
    }
    const rill__sql_val *b = &args[c->x->n_args - 1];
    if (b->null) {
        out->null = true;
        return 0;
    }
    int32_t bound = (int32_t)b->v;
    if (bound <= 0) /* Random.nextInt's IllegalArgumentException */
        return rill__sql_fn_fail(c, "RAND_INTEGER's bound must be positive, not %d", bound);
    out->v = (uint64_t)(int64_t)jr_int(r, bound);
    return 0;
}

/* ---- BIN ------------------------------------------------------------------------------------ */

/* BIN(integer): Long.toBinaryString (a negative number as its 64-bit two's complement). HEX is
 * the string functions' (fn_string.c). */
static const rill__sql_ltype *bin_infer(rill__arena *a, const rill__sql_fn_call *call,
                                        const rill__sql_ltype **cast, char *msg, size_t cap)
{
    const rill__sql_ltype *t = call->args[0]->type;
    if (!rill__sql_is_integer(t) && t->root != RILL_SQLT_NULL) {
        snprintf(msg, cap, "%s takes an integer", call->name);
        return NULL;
    }
    cast[0] = rill__sql_fn_type(a, RILL_SQLT_BIGINT, 0, 0, t->nullable);
    return rill__sql_fn_type(a, RILL_SQLT_VARCHAR, RILL_SQL_MAX_LENGTH, 0, t->nullable);
}

static int bin_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    rill__buf_reserve(&c->tmp, 65);
    char *o = (char *)c->tmp.data;
    uint64_t v = args[0].v;
    int n = 0;
    char rev[64];
    do {
        rev[n++] = (char)('0' + (v & 1));
        v >>= 1;
    } while (v);
    for (int i = 0; i < n; i++)
        o[i] = rev[n - 1 - i];
    out->b = o;
    out->len = (size_t)n;
    return 0;
}

/* ---- GREATEST, LEAST, IF, NULLIF ------------------------------------------------------------ */

/* The common type of arguments from..to-1 (NULL with msg when there is none), each cast to it. */
static const rill__sql_ltype *common_of(rill__arena *a, const rill__sql_fn_call *call, int from,
                                        const rill__sql_ltype **cast, char *msg, size_t cap)
{
    int n = call->n_args - from;
    const rill__sql_ltype **ts = rill__arena_alloc(a, (size_t)RILL_MAX(n, 1) * sizeof *ts);
    for (int i = 0; i < n; i++)
        ts[i] = call->args[from + i]->type;
    const rill__sql_ltype *t = rill__sql_common_type(a, ts, n);
    if (!t) {
        snprintf(msg, cap, "The arguments of %s have no common type", call->name);
        return NULL;
    }
    for (int i = from; i < call->n_args; i++)
        cast[i] = rill__sql_type_with_null(a, t, call->args[i]->type->nullable);
    return t;
}

static bool comparable(const rill__sql_ltype *t)
{
    return rill__sql_is_numeric(t) || rill__sql_is_character(t) || rill__sql_is_binary(t) ||
           rill__sql_is_datetime(t) || rill__sql_is_interval(t) || t->root == RILL_SQLT_BOOLEAN;
}

static const rill__sql_ltype *greatest_infer(rill__arena *a, const rill__sql_fn_call *call,
                                             const rill__sql_ltype **cast, char *msg, size_t cap)
{
    const rill__sql_ltype *t = common_of(a, call, 0, cast, msg, cap);
    if (!t)
        return NULL;
    if (!comparable(t)) {
        snprintf(msg, cap, "%s cannot compare values of type %s", call->name,
                 rill__sql_type_str(a, t));
        return NULL;
    }
    return strict_type(a, call, t);
}

/* -1, 0, 1: x against y, both of type t (not NULL). */
static int compare(const rill__sql_ltype *t, const rill__sql_val *x, const rill__sql_val *y)
{
    if (t->root == RILL_SQLT_DOUBLE) {
        double a = rill__sql_val_double(x), b = rill__sql_val_double(y);
        return a < b ? -1 : a > b;
    }
    if (t->root == RILL_SQLT_FLOAT) {
        float a = rill__sql_val_float(x), b = rill__sql_val_float(y);
        return a < b ? -1 : a > b;
    }
    if (t->root == RILL_SQLT_DECIMAL)
        return x->dec < y->dec ? -1 : x->dec > y->dec;
    if (rill__sql_is_character(t) || rill__sql_is_binary(t)) {
        int c = memcmp(x->b ? x->b : "", y->b ? y->b : "", RILL_MIN(x->len, y->len));
        return c ? (c < 0 ? -1 : 1) : x->len < y->len ? -1 : x->len > y->len;
    }
    int64_t a = (int64_t)x->v, b = (int64_t)y->v;
    return a < b ? -1 : a > b;
}

static int greatest_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    int want = c->x->call->name[0] == 'G' ? 1 : -1, best = 0;
    for (int i = 1; i < c->x->n_args; i++)
        if (compare(c->x->type, &args[i], &args[best]) == want)
            best = i;
    *out = args[best];
    return 0;
}

/* IF(cond, a, b): a where cond is TRUE, else b (a NULL cond too); the common type of a and b. */
static const rill__sql_ltype *if_infer(rill__arena *a, const rill__sql_fn_call *call,
                                       const rill__sql_ltype **cast, char *msg, size_t cap)
{
    const rill__sql_ltype *ct = call->args[0]->type;
    if (ct->root != RILL_SQLT_BOOLEAN && ct->root != RILL_SQLT_NULL) {
        snprintf(msg, cap, "IF's condition must be a BOOLEAN");
        return NULL;
    }
    cast[0] = rill__sql_fn_type(a, RILL_SQLT_BOOLEAN, 0, 0, ct->nullable);
    const rill__sql_ltype *t = common_of(a, call, 1, cast, msg, cap);
    if (!t)
        return NULL;
    return rill__sql_type_with_null(a, t,
                                    call->args[1]->type->nullable || call->args[2]->type->nullable);
}

static int if_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    (void)c;
    *out = !args[0].null && args[0].v ? args[1] : args[2];
    return 0;
}

/* NULLIF(a, b): NULL where a equals b, else a (compared in their common type). */
static const rill__sql_ltype *nullif_infer(rill__arena *a, const rill__sql_fn_call *call,
                                           const rill__sql_ltype **cast, char *msg, size_t cap)
{
    const rill__sql_ltype *t = common_of(a, call, 0, cast, msg, cap);
    if (!t)
        return NULL;
    if (!comparable(t)) {
        snprintf(msg, cap, "NULLIF cannot compare values of type %s", rill__sql_type_str(a, t));
        return NULL;
    }
    return rill__sql_type_with_null(a, t, true);
}

static int nullif_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    const rill__sql_ltype *t = c->x->type;
    bool nan = t->root == RILL_SQLT_DOUBLE  ? isnan(rill__sql_val_double(&args[0]))
               : t->root == RILL_SQLT_FLOAT ? isnan(rill__sql_val_float(&args[0]))
                                            : false; /* NaN = NaN is false, as in Java */
    if (args[0].null || (!args[1].null && !nan && compare(t, &args[0], &args[1]) == 0)) {
        out->null = true;
        return 0;
    }
    *out = args[0];
    return 0;
}

/* ---- IS_ALPHA, IS_DECIMAL, IS_DIGIT ---------------------------------------------------------- */

/*
 * Flink's SqlFunctionUtils.isAlpha/isDecimal/isDigit of a string or a number, BOOLEAN NOT NULL
 * (FALSE for NULL): a string is alphabetic when it is not empty and every character is a letter
 * (Character.isLetter: Unicode's letters, classified here by the C library's C.UTF-8 locale);
 * all digits when it is not empty and every character is 0..9; decimal when Java parses it as a
 * number (Double.parseDouble: trimmed, exponents, NaN, Infinity). Of numbers: IS_DECIMAL is
 * TRUE, IS_DIGIT TRUE for integers, IS_ALPHA FALSE.
 */
static const rill__sql_ltype *is_infer(rill__arena *a, const rill__sql_fn_call *call,
                                       const rill__sql_ltype **cast, char *msg, size_t cap)
{
    (void)cast;
    const rill__sql_ltype *t = call->args[0]->type;
    if (!rill__sql_is_character(t) && !numeric_or_null(t)) {
        snprintf(msg, cap, "%s takes a character string or a number", call->name);
        return NULL;
    }
    return rill__sql_fn_type(a, RILL_SQLT_BOOLEAN, 0, 0, false);
}

static int is_open(rill__sql_fn_ctx *c)
{
    if (c->x->call->name[3] == 'A') /* IS_ALPHA: Unicode's letters */
        c->state = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    return 0;
}

static void is_close(rill__sql_fn_ctx *c)
{
    if (c->state)
        freelocale((locale_t)c->state);
    c->state = NULL;
}

/* The code point at s[*i] (UTF-8), *i moved past it; -1 for a byte that starts none. */
static long utf8_next(const char *s, size_t n, size_t *i)
{
    unsigned char b = (unsigned char)s[(*i)++];
    int more = b < 0x80 ? 0 : b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : b >= 0xc0 ? 1 : -1;
    if (more < 0)
        return -1;
    long cp = more ? b & (0x3f >> more) : b;
    for (int k = 0; k < more; k++, (*i)++) {
        if (*i >= n || ((unsigned char)s[*i] & 0xc0) != 0x80)
            return -1;
        cp = cp << 6 | ((unsigned char)s[*i] & 0x3f);
    }
    return cp;
}

static int is_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    char kind = c->x->call->name[3]; /* A(LPHA), D(ECIMAL), D(IGIT) */
    bool decimal = !strcmp(c->x->call->name, "IS_DECIMAL");
    const rill__sql_ltype *t = c->x->args[0]->type;
    out->v = 0;
    if (args[0].null || t->root == RILL_SQLT_NULL)
        return 0;
    if (!rill__sql_is_character(t)) {
        out->v = decimal || (kind == 'D' && rill__sql_is_integer(t));
        return 0;
    }
    if (args[0].len == 0)
        return 0;
    if (decimal) { /* what CAST(s AS DOUBLE) takes: Java's parse */
        static const rill__sql_ltype DBL_T = {.root = RILL_SQLT_DOUBLE, .nullable = true};
        rill__err e = {0};
        rill__sql_fn_ctx tmp = {.x = c->x, .err = &e};
        rill__sql_val d = {0};
        out->v = rill__sql_cast_string_row(&tmp, t, &DBL_T, &args[0], &d) == 0;
        rill__buf_free(&tmp.tmp);
        return 0;
    }
    for (size_t i = 0; i < args[0].len;) {
        long cp = utf8_next(args[0].b, args[0].len, &i);
        bool ok =
            kind == 'A'
                ? cp >= 0 && (cp < 0x80 ? ((cp | 32) >= 'a' && (cp | 32) <= 'z')
                                        : c->state && iswalpha_l((wint_t)cp, (locale_t)c->state))
                : cp >= '0' && cp <= '9';
        if (!ok)
            return 0;
    }
    out->v = 1;
    return 0;
}

/* ---- the table ------------------------------------------------------------------------------ */

#define STRICT RILL_SQLF_STRICT
/* clang-format off */
#define DBL(name, n, m) {name, n, m, STRICT, double_infer, double_row, NULL, NULL}
/* clang-format on */

const rill__sql_fn rill__sql_fn_math[] = {
    {"ABS", 1, 1, STRICT, abs_infer, abs_row, NULL, NULL},
    {"ROUND", 1, 2, STRICT, round_infer, round_row, NULL, NULL},
    {"TRUNCATE", 1, 2, STRICT, round_infer, round_row, NULL, NULL},
    {"FLOOR", 1, 1, STRICT, floor_infer, floor_row, NULL, NULL},
    {"CEIL", 1, 1, STRICT, floor_infer, floor_row, NULL, NULL},
    {"CEILING", 1, 1, STRICT, floor_infer, floor_row, NULL, NULL},
    DBL("POWER", 2, 2),
    DBL("SQRT", 1, 1),
    DBL("EXP", 1, 1),
    DBL("LN", 1, 1),
    DBL("LOG10", 1, 1),
    DBL("LOG2", 1, 1),
    DBL("LOG", 1, 2),
    DBL("SIN", 1, 1),
    DBL("COS", 1, 1),
    DBL("TAN", 1, 1),
    DBL("COT", 1, 1),
    DBL("ASIN", 1, 1),
    DBL("ACOS", 1, 1),
    DBL("ATAN", 1, 1),
    DBL("ATAN2", 2, 2),
    DBL("SINH", 1, 1),
    DBL("COSH", 1, 1),
    DBL("TANH", 1, 1),
    DBL("DEGREES", 1, 1),
    DBL("RADIANS", 1, 1),
    DBL("PI", 0, 0),
    DBL("E", 0, 0),
    {"SIGN", 1, 1, STRICT, sign_infer, sign_row, NULL, NULL},
    {"RAND", 0, 1, RILL_SQLF_VOLATILE, rand_infer, rand_row, rand_open, rand_close},
    {"RAND_INTEGER", 1, 2, RILL_SQLF_VOLATILE, rand_infer, rand_row, rand_open, rand_close},
    {"BIN", 1, 1, STRICT, bin_infer, bin_row, NULL, NULL},
    {"GREATEST", 1, -1, STRICT, greatest_infer, greatest_row, NULL, NULL},
    {"LEAST", 1, -1, STRICT, greatest_infer, greatest_row, NULL, NULL},
    {"IF", 3, 3, 0, if_infer, if_row, NULL, NULL},
    {"NULLIF", 2, 2, 0, nullif_infer, nullif_row, NULL, NULL},
    {"IS_ALPHA", 1, 1, 0, is_infer, is_row, is_open, is_close},
    {"IS_DECIMAL", 1, 1, 0, is_infer, is_row, is_open, is_close},
    {"IS_DIGIT", 1, 1, 0, is_infer, is_row, is_open, is_close},
    {NULL, 0, 0, 0, NULL, NULL, NULL, NULL},
};
