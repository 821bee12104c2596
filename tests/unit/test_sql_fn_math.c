/* test_sql_fn_math.c - the numeric and conditional SQL functions (src/sql/fn_math.c) and CAST
 * between strings and numbers (src/sql/fn_cast.c), kernel by kernel: the result types the
 * binder gets from infer, and values with Java's semantics at the edges (BigDecimal's HALF_UP
 * on Java's text of a double, wrapping integers, java.util.Random, Double.toString, Flink's
 * string parse rules and its messages). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sql/functions.h"
#include "test.h"

static rill__arena A;

static const rill__sql_ltype *T(rill__sql_root root, int p, int s)
{
    return rill__sql_type_make(&A, root, p, s, true);
}

#define TINY      T(RILL_SQLT_TINYINT, 0, 0)
#define INT_      T(RILL_SQLT_INT, 0, 0)
#define BIGINT    T(RILL_SQLT_BIGINT, 0, 0)
#define DOUBLE    T(RILL_SQLT_DOUBLE, 0, 0)
#define FLOAT     T(RILL_SQLT_FLOAT, 0, 0)
#define BOOL      T(RILL_SQLT_BOOLEAN, 0, 0)
#define STR       T(RILL_SQLT_VARCHAR, RILL_SQL_MAX_LENGTH, 0)
#define DEC(p, s) T(RILL_SQLT_DECIMAL, p, s)

/* Values of each kind. */
static rill__sql_val I(int64_t v)
{
    return (rill__sql_val){.v = (uint64_t)v};
}

static rill__sql_val Dv(double d)
{
    rill__sql_val v = {0};
    rill__sql_val_set_double(&v, d);
    return v;
}

static rill__sql_val Fv(float f)
{
    rill__sql_val v = {0};
    rill__sql_val_set_float(&v, f);
    return v;
}

static rill__sql_val S(const char *s)
{
    return (rill__sql_val){.b = s, .len = strlen(s)};
}

static rill__sql_val Mv(rill__i128 unscaled)
{
    return (rill__sql_val){.dec = unscaled};
}

static const rill__sql_val NUL = {.null = true};

/* An argument: an input of type t, or a constant integer literal (ROUND's digits, seeds). */
typedef struct arg {
    const rill__sql_ltype *t;
    rill__sql_val v;
    bool constant;
} arg;

static arg A_(const rill__sql_ltype *t, rill__sql_val v)
{
    return (arg){t, v, false};
}

static arg K(int64_t v)
{
    return (arg){INT_, I(v), true};
}

/* A call's outcome: its type (NULL: infer refused, msg says why), rc and value (a string
 * copied into A), or the error. */
typedef struct res {
    const rill__sql_ltype *type;
    char msg[256];
    int rc;
    rill__sql_val out;
    rill__err err;
} res;

/* name(args) as the binder and the evaluator make it: infer, its casts as CAST nodes (the
 * values given are already of the cast types), open, the row (not called for a NULL argument
 * of a strict function), close. */
static res call_form(const char *name, rill__sql_call_form form, int n, const arg *args)
{
    res r;
    memset(&r, 0, sizeof r);
    const rill__sql_fn *fn = rill__sql_fn_find(name);
    if (!fn)
        rill_test_fail(__FILE__, __LINE__, "no function %s", name);
    rill__sql_rex **xs = rill__arena_alloc(&A, (size_t)(n + 1) * sizeof *xs);
    for (int i = 0; i < n; i++)
        xs[i] = args[i].constant ? rill__sql_x_literal(&A, args[i].t, args[i].v.v)
                                 : rill__sql_x_input(&A, i, args[i].t);
    rill__sql_fn_call *call = rill__arena_alloc(&A, sizeof *call);
    *call =
        (rill__sql_fn_call){.name = fn->name, .n_args = n, .args = xs, .form = form, .zone = "UTC"};
    const rill__sql_ltype **cast = rill__arena_alloc(&A, (size_t)(n + 1) * sizeof *cast);
    memset(cast, 0, (size_t)(n + 1) * sizeof *cast);
    r.type = fn->infer(&A, call, cast, r.msg, sizeof r.msg);
    if (!r.type)
        return r;
    for (int i = 0; i < n; i++)
        if (cast[i]) {
            rill__sql_rex *c = rill__sql_x_call(&A, RILL_SQLX_CAST, cast[i], 1, &xs[i]);
            xs[i] = c;
        }
    rill__sql_rex *x = rill__sql_x_call(&A, RILL_SQLX_FUNC, r.type, n, xs);
    x->fn = fn;
    x->call = call;
    call->args = x->args;
    rill__sql_fn_ctx c = {.x = x, .err = &r.err};
    if (fn->open)
        CHECK_RC(fn->open(&c));
    rill__sql_val vals[8];
    bool any_null = false;
    for (int i = 0; i < n; i++)
        vals[i] = args[i].v, any_null |= vals[i].null;
    if ((fn->flags & RILL_SQLF_STRICT) && any_null)
        r.out.null = true;
    else
        r.rc = fn->row(&c, vals, &r.out);
    if (!r.rc && !r.out.null && r.out.b) { /* copy a string out of c.tmp */
        char *z = rill__arena_alloc(&A, r.out.len + 1);
        memcpy(z, r.out.b, r.out.len);
        z[r.out.len] = '\0';
        r.out.b = z;
    }
    if (fn->close)
        fn->close(&c);
    rill__buf_free(&c.tmp);
    return r;
}

static res call(const char *name, int n, ...)
{
    arg args[8];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        args[i] = va_arg(ap, arg);
    va_end(ap);
    return call_form(name, RILL_SQL_C_PLAIN, n, args);
}

/* Repeated calls sharing one open state (RAND's generator). */
typedef struct session {
    const rill__sql_fn *fn;
    rill__sql_fn_ctx c;
    rill__err err;
} session;

static void session_open(session *s, const char *name, int n, const arg *args)
{
    memset(s, 0, sizeof *s);
    s->fn = rill__sql_fn_find(name);
    rill__sql_rex **xs = rill__arena_alloc(&A, (size_t)(n + 1) * sizeof *xs);
    for (int i = 0; i < n; i++)
        xs[i] = args[i].constant ? rill__sql_x_literal(&A, args[i].t, args[i].v.v)
                                 : rill__sql_x_input(&A, i, args[i].t);
    rill__sql_fn_call *call = rill__arena_alloc(&A, sizeof *call);
    *call = (rill__sql_fn_call){.name = s->fn->name, .n_args = n, .args = xs};
    const rill__sql_ltype *cast[8] = {0};
    char msg[256];
    const rill__sql_ltype *t = s->fn->infer(&A, call, cast, msg, sizeof msg);
    CHECK(t != NULL);
    rill__sql_rex *x = rill__sql_x_call(&A, RILL_SQLX_FUNC, t, n, xs);
    x->fn = s->fn;
    x->call = call;
    s->c.x = x;
    s->c.err = &s->err;
    CHECK_RC(s->fn->open(&s->c));
}

static rill__sql_val session_row(session *s, int n, const rill__sql_val *vals)
{
    (void)n;
    rill__sql_val o = {0};
    CHECK_RC(s->fn->row(&s->c, vals, &o));
    return o;
}

static void session_close(session *s)
{
    s->fn->close(&s->c);
    rill__buf_free(&s->c.tmp);
}

/* ---- checks ---------------------------------------------------------------------------------- */

static void type_is(int line, const res *r, rill__sql_root root, int p, int s)
{
    if (!r->type)
        rill_test_fail(__FILE__, line, "infer refused: %s", r->msg);
    if (r->type->root != root ||
        (root == RILL_SQLT_DECIMAL && (r->type->precision != p || r->type->scale != s)))
        rill_test_fail(__FILE__, line, "type %s, want root %d (%d, %d)",
                       rill__sql_type_str(&A, r->type), (int)root, p, s);
}

static void dbl_is(int line, res r, double want)
{
    if (!r.type || r.rc || r.out.null)
        rill_test_fail(__FILE__, line, "no value (%s%s)", r.msg, r.err.msg);
    double got = rill__sql_val_double(&r.out);
    bool same = (got != got && want != want) || (got == want && signbit(got) == signbit(want));
    if (!same)
        rill_test_fail(__FILE__, line, "got %.17g, want %.17g", got, want);
}

static void flt_is(int line, res r, float want)
{
    if (!r.type || r.rc || r.out.null)
        rill_test_fail(__FILE__, line, "no value (%s%s)", r.msg, r.err.msg);
    float got = rill__sql_val_float(&r.out);
    if (!(got == want || (got != got && want != want)))
        rill_test_fail(__FILE__, line, "got %.9g, want %.9g", (double)got, (double)want);
}

static void int_is(int line, res r, int64_t want)
{
    if (!r.type || r.rc || r.out.null)
        rill_test_fail(__FILE__, line, "no value (%s%s)", r.msg, r.err.msg);
    if ((int64_t)r.out.v != want)
        rill_test_fail(__FILE__, line, "got %lld, want %lld", (long long)(int64_t)r.out.v,
                       (long long)want);
}

static void dec_is(int line, res r, const char *want)
{
    if (!r.type || r.rc || r.out.null)
        rill_test_fail(__FILE__, line, "no value (%s%s)", r.msg, r.err.msg);
    char buf[RILL_DECIMAL_STR_MAX];
    rill__dec_format(r.out.dec, r.type->scale, buf);
    if (strcmp(buf, want))
        rill_test_fail(__FILE__, line, "got %s, want %s", buf, want);
}

static void str_is(int line, res r, const char *want)
{
    if (!r.type || r.rc || r.out.null)
        rill_test_fail(__FILE__, line, "no value (%s%s)", r.msg, r.err.msg);
    if (r.out.len != strlen(want) || memcmp(r.out.b ? r.out.b : "", want, r.out.len))
        rill_test_fail(__FILE__, line, "got '%.*s', want '%s'", (int)r.out.len,
                       r.out.b ? r.out.b : "", want);
}

static void null_is(int line, res r)
{
    if (!r.type || r.rc || !r.out.null)
        rill_test_fail(__FILE__, line, "want NULL (%s%s)", r.msg, r.err.msg);
}

static void fails(int line, res r, const char *msg)
{
    const char *got = r.type ? r.err.msg : r.msg;
    if ((r.type && !r.rc) || !strstr(got, msg))
        rill_test_fail(__FILE__, line, "want a failure with '%s', got rc %d: '%s'", msg, r.rc, got);
}

#define DBL_IS(r, w) dbl_is(__LINE__, r, w)
#define FLT_IS(r, w) flt_is(__LINE__, r, w)
#define INT_IS(r, w) int_is(__LINE__, r, w)
#define DEC_IS(r, w) dec_is(__LINE__, r, w)
#define STR_IS(r, w) str_is(__LINE__, r, w)
#define NULL_IS(r)   null_is(__LINE__, r)
#define FAILS(r, m)  fails(__LINE__, r, m)
#define TYPE_IS(r, root, p, s)                                                                     \
    do {                                                                                           \
        res t_ = (r);                                                                              \
        type_is(__LINE__, &t_, root, p, s);                                                        \
    } while (0)

/* ---- rounding -------------------------------------------------------------------------------- */

TEST(sql_fn_round_is_bigdecimal_half_up)
{
    rill__arena_init(&A, 65536);
    /* a double rounds from its Java text: 2.675 is "2.675", so 2.68 (not C's 2.67) */
    DBL_IS(call("ROUND", 2, A_(DOUBLE, Dv(2.675)), A_(INT_, I(2))), 2.68);
    DBL_IS(call("ROUND", 2, A_(DOUBLE, Dv(1.005)), A_(INT_, I(2))), 1.01);
    DBL_IS(call("ROUND", 1, A_(DOUBLE, Dv(2.5))), 3.0);
    DBL_IS(call("ROUND", 1, A_(DOUBLE, Dv(-2.5))), -3.0);
    DBL_IS(call("ROUND", 1, A_(DOUBLE, Dv(-0.4))), 0.0); /* no negative zero in BigDecimal */
    DBL_IS(call("ROUND", 2, A_(DOUBLE, Dv(1250.0)), A_(INT_, I(-2))), 1300.0);
    DBL_IS(call("ROUND", 2, A_(DOUBLE, Dv(-1249.99)), A_(INT_, I(-2))), -1200.0);
    DBL_IS(call("ROUND", 2, A_(DOUBLE, Dv(9.995)), A_(INT_, I(2))), 10.0);
    DBL_IS(call("ROUND", 2, A_(DOUBLE, Dv(1e300)), A_(INT_, I(2))), 1e300);
    DBL_IS(call("ROUND", 2, A_(DOUBLE, Dv(1e-5)), A_(INT_, I(4))), 0.0);
    DBL_IS(call("ROUND", 2, A_(DOUBLE, Dv(5e-5)), A_(INT_, I(4))), 1e-4);
    DBL_IS(call("ROUND", 2, A_(DOUBLE, Dv(123.456)), A_(INT_, I(400))), 123.456);
    DBL_IS(call("TRUNCATE", 2, A_(DOUBLE, Dv(-2.679)), A_(INT_, I(2))), -2.67);
    DBL_IS(call("TRUNCATE", 2, A_(DOUBLE, Dv(1999.0)), A_(INT_, I(-3))), 1000.0);
    DBL_IS(call("TRUNCATE", 1, A_(DOUBLE, Dv(-0.9))), 0.0);
    TYPE_IS(call("ROUND", 1, A_(DOUBLE, Dv(1))), RILL_SQLT_DOUBLE, 0, 0);
    /* a FLOAT through BigDecimal.valueOf((double) f), read back as a float */
    FLT_IS(call("ROUND", 2, A_(FLOAT, Fv(1.15f)), A_(INT_, I(1))), 1.1f); /* 1.149999976... */
    FLT_IS(call("ROUND", 2, A_(FLOAT, Fv(2.25f)), A_(INT_, I(1))), 2.3f);
    FLT_IS(call("ROUND", 2, A_(FLOAT, Fv(2.5f)), A_(INT_, I(0))), 3.0f);
    /* NaN and the infinities have no BigDecimal: the row fails */
    FAILS(call("ROUND", 1, A_(DOUBLE, Dv((double)NAN))), "not a finite number (NaN)");
    FAILS(call("TRUNCATE", 1, A_(DOUBLE, Dv(-(double)INFINITY))), "-Infinity");
    /* integers: only a negative n changes them; the result narrowed as Java narrows */
    INT_IS(call("ROUND", 2, A_(INT_, I(15)), A_(INT_, I(-1))), 20);
    INT_IS(call("ROUND", 2, A_(INT_, I(-15)), A_(INT_, I(-1))), -20);
    INT_IS(call("ROUND", 2, A_(INT_, I(-14)), A_(INT_, I(-1))), -10);
    INT_IS(call("ROUND", 2, A_(INT_, I(7)), A_(INT_, I(3))), 7);
    INT_IS(call("ROUND", 2, A_(INT_, I(INT32_MAX)), A_(INT_, I(-1))), (int32_t)2147483650u);
    INT_IS(call("ROUND", 2, A_(TINY, I(125)), A_(INT_, I(-1))), (int8_t)130);
    INT_IS(call("ROUND", 2, A_(BIGINT, I(INT64_MAX)), A_(INT_, I(-19))),
           (int64_t)UINT64_C(10000000000000000000));
    INT_IS(call("ROUND", 2, A_(BIGINT, I(INT64_MIN)), A_(INT_, I(-40))), 0);
    INT_IS(call("TRUNCATE", 2, A_(BIGINT, I(-19)), A_(INT_, I(-1))), -10);
    TYPE_IS(call("ROUND", 2, A_(TINY, I(1)), A_(INT_, I(-1))), RILL_SQLT_TINYINT, 0, 0);
    /* DECIMAL(p, s): Flink's type, HALF_UP, NULL when the value does not fit */
    res r = call("ROUND", 2, A_(DEC(10, 3), Mv(12345)), K(1));
    TYPE_IS(r, RILL_SQLT_DECIMAL, 9, 1);
    DEC_IS(r, "12.3");
    DEC_IS(call("ROUND", 2, A_(DEC(10, 3), Mv(12350)), K(1)), "12.4");
    DEC_IS(call("ROUND", 2, A_(DEC(10, 3), Mv(-12350)), K(1)), "-12.4");
    DEC_IS(call("TRUNCATE", 2, A_(DEC(10, 3), Mv(-12399)), K(1)), "-12.3");
    r = call("ROUND", 2, A_(DEC(5, 2), Mv(99999)), K(0));
    TYPE_IS(r, RILL_SQLT_DECIMAL, 4, 0);
    DEC_IS(r, "1000");
    r = call("ROUND", 2, A_(DEC(10, 3), Mv(-1250000)), K(-2));
    TYPE_IS(r, RILL_SQLT_DECIMAL, 8, 0);
    DEC_IS(r, "-1300");
    r = call("ROUND", 2, A_(DEC(10, 3), Mv(12345)), K(5));
    TYPE_IS(r, RILL_SQLT_DECIMAL, 10, 3);
    DEC_IS(r, "12.345");
    DEC_IS(call("ROUND", 1, A_(DEC(38, 10), Mv(-(rill__i128)rill__dec_pow10(37) + 5))),
           "-1000000000000000000000000000");
    r = call("ROUND", 2, A_(DEC(38, 0), Mv((rill__i128)rill__dec_pow10(38) - 1)), K(-1));
    NULL_IS(r); /* 10^38 does not fit DECIMAL(38, 0) */
    FAILS(call("ROUND", 2, A_(DEC(10, 3), Mv(1)), A_(INT_, I(1))), "needs a constant");
    FAILS(call("ROUND", 1, A_(STR, S("1"))), "not a number");
    NULL_IS(call("ROUND", 2, A_(DOUBLE, NUL), A_(INT_, I(1))));
    rill__arena_close(&A);
}

TEST(sql_fn_floor_ceil_sign_and_math)
{
    rill__arena_init(&A, 65536);
    DBL_IS(call("FLOOR", 1, A_(DOUBLE, Dv(-1.5))), -2.0);
    DBL_IS(call("CEIL", 1, A_(DOUBLE, Dv(-0.5))), -0.0); /* Math.ceil keeps the sign */
    DBL_IS(call("CEILING", 1, A_(DOUBLE, Dv(1.01))), 2.0);
    FLT_IS(call("FLOOR", 1, A_(FLOAT, Fv(2.5f))), 2.0f);
    INT_IS(call("CEIL", 1, A_(BIGINT, I(INT64_MIN))), INT64_MIN);
    res r = call("FLOOR", 1, A_(DEC(5, 2), Mv(-150)));
    TYPE_IS(r, RILL_SQLT_DECIMAL, 5, 0);
    DEC_IS(r, "-2");
    DEC_IS(call("CEIL", 1, A_(DEC(5, 2), Mv(-150))), "-1");
    DEC_IS(call("CEIL", 1, A_(DEC(5, 2), Mv(99901))), "1000");
    DEC_IS(call("CEIL", 1, A_(DEC(5, 2), Mv(-50))), "0");
    DEC_IS(call("FLOOR", 1, A_(DEC(38, 2), Mv(-(rill__i128)rill__dec_pow10(37)))),
           "-100000000000000000000000000000000000"); /* p > 18: 128-bit */
    /* FLOOR/CEIL(x TO unit) is the date/time functions' (without a unit: refused there) */
    arg ts = A_(T(RILL_SQLT_TIMESTAMP, 3, 0), I(0));
    FAILS(call_form("FLOOR", RILL_SQL_C_CEIL_TO, 1, &ts), "Cannot apply 'FLOOR'");
    /* SIGN keeps the type */
    DBL_IS(call("SIGN", 1, A_(DOUBLE, Dv(-0.0))), -0.0);
    DBL_IS(call("SIGN", 1, A_(DOUBLE, Dv(-3))), -1.0);
    INT_IS(call("SIGN", 1, A_(INT_, I(INT32_MIN))), -1);
    DEC_IS(call("SIGN", 1, A_(DEC(3, 2), Mv(50))), "1.00");
    NULL_IS(call("SIGN", 1, A_(DEC(2, 2), Mv(50)))); /* 1 does not fit DECIMAL(2, 2) */
    /* java.lang.Math, DOUBLE results of casts to DOUBLE */
    r = call("POWER", 2, A_(INT_, I(2)), A_(INT_, I(10)));
    TYPE_IS(r, RILL_SQLT_DOUBLE, 0, 0);
    DBL_IS(call("POWER", 2, A_(DOUBLE, Dv(2)), A_(DOUBLE, Dv(10))), 1024.0);
    DBL_IS(call("POWER", 2, A_(DOUBLE, Dv(-8)), A_(DOUBLE, Dv(1.0 / 3))), (double)NAN);
    DBL_IS(call("SQRT", 1, A_(DOUBLE, Dv(-1))), (double)NAN);
    DBL_IS(call("LN", 1, A_(DOUBLE, Dv(0))), -(double)INFINITY);
    DBL_IS(call("LOG2", 1, A_(DOUBLE, Dv(8))), log(8.0) / log(2.0));
    DBL_IS(call("LOG", 2, A_(DOUBLE, Dv(2)), A_(DOUBLE, Dv(1024))), log(1024.0) / log(2.0));
    DBL_IS(call("LOG", 1, A_(DOUBLE, Dv(M_E))), 1.0);
    DBL_IS(call("LOG10", 1, A_(DOUBLE, Dv(1000))), 3.0);
    DBL_IS(call("EXP", 1, A_(DOUBLE, Dv(1000))), (double)INFINITY);
    DBL_IS(call("COT", 1, A_(DOUBLE, Dv(0))), (double)INFINITY);
    DBL_IS(call("ATAN2", 2, A_(DOUBLE, Dv(1)), A_(DOUBLE, Dv(-1))), atan2(1, -1));
    DBL_IS(call("ASIN", 1, A_(DOUBLE, Dv(2))), (double)NAN);
    DBL_IS(call("DEGREES", 1, A_(DOUBLE, Dv(M_PI))), 180.0);
    DBL_IS(call("RADIANS", 1, A_(DOUBLE, Dv(180))), M_PI);
    DBL_IS(call("TANH", 1, A_(DOUBLE, Dv(1000))), 1.0);
    r = call("PI", 0);
    DBL_IS(r, M_PI);
    CHECK(!r.type->nullable);
    DBL_IS(call("E", 0), M_E);
    FAILS(call("SQRT", 1, A_(STR, S("4"))), "not a number");
    rill__arena_close(&A);
}

TEST(sql_fn_rand_is_java_util_random)
{
    rill__arena_init(&A, 65536);
    session s;
    arg seed42 = K(42);
    session_open(&s, "RAND", 1, &seed42);
    /* new java.util.Random(42).nextDouble(), twice */
    rill__sql_val o = session_row(&s, 0, NULL);
    CHECK(rill__sql_val_double(&o) == 0.7275636800328681);
    o = session_row(&s, 0, NULL);
    CHECK(rill__sql_val_double(&o) == 0.6832234717598454);
    session_close(&s);
    /* new Random(0): next(32) is -1155484576, so nextInt(2^30) is 784870680 and
     * nextInt(10) is 0, nextInt(1000) 360 */
    arg a[2] = {K(0), A_(INT_, I(1 << 30))};
    session_open(&s, "RAND_INTEGER", 2, a);
    rill__sql_val b = I(1 << 30);
    CHECK_EQ((int64_t)session_row(&s, 2, (rill__sql_val[]){I(0), b}).v, 784870680);
    session_close(&s);
    session_open(&s, "RAND_INTEGER", 2, a);
    CHECK_EQ((int64_t)session_row(&s, 2, (rill__sql_val[]){I(0), I(1000)}).v, 360);
    session_close(&s);
    session_open(&s, "RAND_INTEGER", 2, a);
    CHECK_EQ((int64_t)session_row(&s, 2, (rill__sql_val[]){I(0), I(10)}).v, 0);
    for (int k = 0; k < 1000; k++) { /* the rejection path stays in range */
        int64_t v = (int64_t)session_row(&s, 2, (rill__sql_val[]){I(0), I(1000000007)}).v;
        CHECK(v >= 0 && v < 1000000007);
    }
    session_close(&s);
    /* types; a NULL bound gives NULL, a bound <= 0 fails, a seed must be constant */
    res r = call("RAND", 0);
    TYPE_IS(r, RILL_SQLT_DOUBLE, 0, 0);
    CHECK(!r.type->nullable);
    CHECK(rill__sql_val_double(&r.out) >= 0 && rill__sql_val_double(&r.out) < 1);
    r = call("RAND_INTEGER", 1, A_(INT_, I(5)));
    TYPE_IS(r, RILL_SQLT_INT, 0, 0);
    CHECK((int64_t)r.out.v >= 0 && (int64_t)r.out.v < 5);
    NULL_IS(call("RAND_INTEGER", 1, A_(INT_, NUL)));
    FAILS(call("RAND_INTEGER", 1, A_(INT_, I(0))), "bound must be positive, not 0");
    FAILS(call("RAND", 1, A_(INT_, I(1))), "must be a constant integer");
    FAILS(call("RAND_INTEGER", 2, A_(INT_, I(1)), A_(INT_, I(5))), "must be a constant");
    FAILS(call("RAND", 1, A_(DOUBLE, Dv(1))), "integer arguments");
    rill__arena_close(&A);
}

TEST(sql_fn_bin_greatest_if_nullif)
{
    rill__arena_init(&A, 65536);
    STR_IS(call("BIN", 1, A_(BIGINT, I(12))), "1100");
    STR_IS(call("BIN", 1, A_(BIGINT, I(0))), "0");
    STR_IS(call("BIN", 1, A_(BIGINT, I(-1))),
           "1111111111111111111111111111111111111111111111111111111111111111");
    FAILS(call("BIN", 1, A_(STR, S("1"))), "BIN takes an integer");
    /* GREATEST and LEAST: the common type */
    res r = call("GREATEST", 3, A_(INT_, I(3)), A_(INT_, I(-7)), A_(INT_, I(5)));
    TYPE_IS(r, RILL_SQLT_INT, 0, 0);
    INT_IS(r, 5);
    INT_IS(call("LEAST", 3, A_(INT_, I(3)), A_(INT_, I(-7)), A_(INT_, I(5))), -7);
    TYPE_IS(call("GREATEST", 2, A_(INT_, I(1)), A_(BIGINT, I(2))), RILL_SQLT_BIGINT, 0, 0);
    TYPE_IS(call("GREATEST", 2, A_(INT_, I(1)), A_(DOUBLE, Dv(2))), RILL_SQLT_DOUBLE, 0, 0);
    STR_IS(call("GREATEST", 3, A_(STR, S("ab")), A_(STR, S("b")), A_(STR, S("abc"))), "b");
    STR_IS(call("LEAST", 3, A_(STR, S("ab")), A_(STR, S("é")), A_(STR, S("abc"))), "ab");
    DEC_IS(call("LEAST", 2, A_(DEC(5, 2), Mv(-150)), A_(DEC(5, 2), Mv(100))), "-1.50");
    NULL_IS(call("GREATEST", 2, A_(INT_, I(1)), A_(INT_, NUL)));
    FAILS(call("GREATEST", 2, A_(INT_, I(1)), A_(STR, S("a"))), "no common type");
    /* IF: a NULL condition takes the else branch; NULLIF */
    r = call("IF", 3, A_(BOOL, I(1)), A_(INT_, I(1)), A_(BIGINT, I(2)));
    TYPE_IS(r, RILL_SQLT_BIGINT, 0, 0);
    INT_IS(r, 1);
    INT_IS(call("IF", 3, A_(BOOL, NUL), A_(INT_, I(1)), A_(INT_, I(2))), 2);
    NULL_IS(call("IF", 3, A_(BOOL, I(0)), A_(INT_, I(1)), A_(INT_, NUL)));
    STR_IS(call("IF", 3, A_(BOOL, I(0)), A_(STR, S("x")), A_(STR, S("yz"))), "yz");
    FAILS(call("IF", 3, A_(INT_, I(1)), A_(INT_, I(1)), A_(INT_, I(2))), "must be a BOOLEAN");
    NULL_IS(call("NULLIF", 2, A_(INT_, I(3)), A_(INT_, I(3))));
    INT_IS(call("NULLIF", 2, A_(INT_, I(3)), A_(INT_, I(4))), 3);
    INT_IS(call("NULLIF", 2, A_(INT_, I(3)), A_(INT_, NUL)), 3);
    NULL_IS(call("NULLIF", 2, A_(INT_, NUL), A_(INT_, I(3))));
    DBL_IS(call("NULLIF", 2, A_(DOUBLE, Dv((double)NAN)), A_(DOUBLE, Dv((double)NAN))),
           (double)NAN);
    NULL_IS(call("NULLIF", 2, A_(STR, S("ab")), A_(STR, S("ab"))));
    rill__arena_close(&A);
}

TEST(sql_fn_is_alpha_decimal_digit)
{
    rill__arena_init(&A, 65536);
    res r = call("IS_ALPHA", 1, A_(STR, S("abc")));
    TYPE_IS(r, RILL_SQLT_BOOLEAN, 0, 0);
    CHECK(!r.type->nullable);
    INT_IS(r, 1);
    INT_IS(call("IS_ALPHA", 1, A_(STR, S("Zé日本"))), 1);
    INT_IS(call("IS_ALPHA", 1, A_(STR, S("a1"))), 0);
    INT_IS(call("IS_ALPHA", 1, A_(STR, S("a b"))), 0);
    INT_IS(call("IS_ALPHA", 1, A_(STR, S("a\xe2\x82\xac"))), 0); /* the euro sign */
    INT_IS(call("IS_ALPHA", 1, A_(STR, S("a\xff"))), 0);         /* not UTF-8 */
    INT_IS(call("IS_ALPHA", 1, A_(STR, S(""))), 0);
    INT_IS(call("IS_ALPHA", 1, A_(STR, NUL)), 0); /* FALSE, not NULL */
    INT_IS(call("IS_ALPHA", 1, A_(INT_, I(1))), 0);
    INT_IS(call("IS_DIGIT", 1, A_(STR, S("0123456789"))), 1);
    INT_IS(call("IS_DIGIT", 1, A_(STR, S("12.3"))), 0);
    INT_IS(call("IS_DIGIT", 1, A_(STR, S("-1"))), 0);
    INT_IS(call("IS_DIGIT", 1, A_(STR, S(""))), 0);
    INT_IS(call("IS_DIGIT", 1, A_(BIGINT, I(-5))), 1);
    INT_IS(call("IS_DIGIT", 1, A_(DOUBLE, Dv(1))), 0);
    INT_IS(call("IS_DECIMAL", 1, A_(STR, S("1.5e3"))), 1);
    INT_IS(call("IS_DECIMAL", 1, A_(STR, S(" -12 "))), 1);
    INT_IS(call("IS_DECIMAL", 1, A_(STR, S("NaN"))), 1);
    INT_IS(call("IS_DECIMAL", 1, A_(STR, S("1.2.3"))), 0);
    INT_IS(call("IS_DECIMAL", 1, A_(STR, S(" "))), 0);
    INT_IS(call("IS_DECIMAL", 1, A_(DEC(5, 2), Mv(1))), 1);
    INT_IS(call("IS_DECIMAL", 1, A_(INT_, NUL)), 0);
    FAILS(call("IS_DIGIT", 1, A_(BOOL, I(1))), "takes a character string or a number");
    rill__arena_close(&A);
}

/* ---- CAST ------------------------------------------------------------------------------------ */

typedef struct cres {
    int rc;
    rill__sql_val out;
    char text[256];
    rill__err err;
} cres;

/* CAST(v AS to) of a value of type from, through fn_cast.c's kernel. */
static cres cast(const rill__sql_ltype *from, const rill__sql_ltype *to, rill__sql_val v)
{
    cres r;
    memset(&r, 0, sizeof r);
    rill__sql_rex *in = rill__sql_x_input(&A, 0, from);
    rill__sql_rex *x = rill__sql_x_call(&A, RILL_SQLX_CAST, to, 1, &in);
    CHECK(rill__sql_cast_string_ok(from, to));
    rill__sql_fn_ctx c = {.x = x, .err = &r.err};
    r.rc = rill__sql_cast_string_row(&c, from, to, &v, &r.out);
    if (!r.rc && r.out.b)
        snprintf(r.text, sizeof r.text, "%.*s", (int)r.out.len, r.out.b);
    rill__buf_free(&c.tmp);
    return r;
}

static void text_is(int line, cres r, const char *want)
{
    if (r.rc || strcmp(r.text, want))
        rill_test_fail(__FILE__, line, "got '%s' (rc %d: %s), want '%s'", r.text, r.rc, r.err.msg,
                       want);
}

static void cast_fails(int line, cres r, const char *msg)
{
    if (!r.rc || !strstr(r.err.msg, msg))
        rill_test_fail(__FILE__, line, "want a failure with '%s', got rc %d: '%s'", msg, r.rc,
                       r.err.msg);
}

static void cint_is(int line, cres r, int64_t want)
{
    if (r.rc || r.out.null || (int64_t)r.out.v != want)
        rill_test_fail(__FILE__, line, "got %lld (rc %d: %s), want %lld",
                       (long long)(int64_t)r.out.v, r.rc, r.err.msg, (long long)want);
}

static void cdbl_is(int line, cres r, double want)
{
    double got = rill__sql_val_double(&r.out);
    if (r.rc || !((got == want && signbit(got) == signbit(want)) || (got != got && want != want)))
        rill_test_fail(__FILE__, line, "got %.17g (rc %d: %s), want %.17g", got, r.rc, r.err.msg,
                       want);
}

#define TEXT_IS(r, w)    text_is(__LINE__, r, w)
#define CAST_FAILS(r, m) cast_fails(__LINE__, r, m)
#define CINT_IS(r, w)    cint_is(__LINE__, r, w)
#define CDBL_IS(r, w)    cdbl_is(__LINE__, r, w)

TEST(sql_cast_numbers_to_strings_as_java)
{
    rill__arena_init(&A, 65536);
    static const struct {
        double d;
        const char *text;
    } DOUBLES[] = {
        {1e7, "1.0E7"},
        {9999999.0, "9999999.0"},
        {1e-3, "0.001"},
        {1e-4, "1.0E-4"},
        {123456789.0, "1.23456789E8"},
        {-0.0, "-0.0"},
        {0.0, "0.0"},
        {100.0, "100.0"},
        {0.1 + 0.2, "0.30000000000000004"},
        {5e-324, "4.9E-324"},
        {1.7976931348623157e308, "1.7976931348623157E308"},
        {-1.5e-7, "-1.5E-7"},
        {12345.678901, "12345.678901"},
        {1e21, "1.0E21"},
        {2e-3, "0.002"},
    };
    for (size_t k = 0; k < sizeof DOUBLES / sizeof *DOUBLES; k++)
        TEXT_IS(cast(DOUBLE, STR, Dv(DOUBLES[k].d)), DOUBLES[k].text);
    TEXT_IS(cast(DOUBLE, STR, Dv((double)NAN)), "NaN");
    TEXT_IS(cast(DOUBLE, STR, Dv(-(double)INFINITY)), "-Infinity");
    TEXT_IS(cast(FLOAT, STR, Fv(0.1f)), "0.1");
    TEXT_IS(cast(FLOAT, STR, Fv(-123.456f)), "-123.456");
    TEXT_IS(cast(FLOAT, STR, Fv(1e10f)), "1.0E10");
    TEXT_IS(cast(FLOAT, STR, Fv(3.4028235e38f)), "3.4028235E38");
    TEXT_IS(cast(FLOAT, STR, Fv(1.4e-45f)), "1.4E-45");
    TEXT_IS(cast(DEC(5, 2), STR, Mv(150)), "1.50");
    TEXT_IS(cast(DEC(5, 2), STR, Mv(-5)), "-0.05");
    TEXT_IS(cast(DEC(5, 2), STR, Mv(0)), "0.00");
    TEXT_IS(cast(DEC(38, 37), STR, Mv(1)), "0.0000000000000000000000000000000000001");
    TEXT_IS(cast(DEC(38, 0), STR, Mv(-((rill__i128)rill__dec_pow10(38) - 1))),
            "-99999999999999999999999999999999999999");
    TEXT_IS(cast(BIGINT, STR, I(INT64_MIN)), "-9223372036854775808");
    TEXT_IS(cast(TINY, STR, I(-125)), "-125");
    TEXT_IS(cast(BOOL, STR, I(1)), "TRUE");
    TEXT_IS(cast(BOOL, STR, I(0)), "FALSE");
    /* VARCHAR(n) cuts, CHAR(n) cuts and pads with spaces */
    TEXT_IS(cast(INT_, T(RILL_SQLT_VARCHAR, 3, 0), I(-12345678)), "-12");
    TEXT_IS(cast(DOUBLE, T(RILL_SQLT_VARCHAR, 3, 0), Dv(12345.678901)), "123");
    TEXT_IS(cast(BOOL, T(RILL_SQLT_VARCHAR, 3, 0), I(1)), "TRU");
    TEXT_IS(cast(INT_, T(RILL_SQLT_CHAR, 6, 0), I(-1234)), "-1234 ");
    TEXT_IS(cast(BOOL, T(RILL_SQLT_CHAR, 6, 0), I(0)), "FALSE ");
    TEXT_IS(cast(DEC(4, 3), T(RILL_SQLT_CHAR, 3, 0), Mv(9876)), "9.8");
    rill__arena_close(&A);
}

TEST(sql_cast_strings_to_numbers_as_flink_parses)
{
    rill__arena_init(&A, 65536);
    /* integers: BinaryStringDataUtil.toInt/toLong of the trimmed text, a fraction dropped */
    CINT_IS(cast(STR, INT_, S(" 12 ")), 12);
    CINT_IS(cast(STR, INT_, S("\t-7\n")), -7);
    CINT_IS(cast(STR, INT_, S("+5")), 5);
    CINT_IS(cast(STR, INT_, S("1.9")), 1);
    CINT_IS(cast(STR, INT_, S("-1.9")), -1);
    CINT_IS(cast(STR, INT_, S("1.")), 1);
    CINT_IS(cast(STR, INT_, S(".")), 0);
    CINT_IS(cast(STR, INT_, S("0012")), 12);
    CINT_IS(cast(STR, INT_, S("-2147483648")), INT32_MIN);
    CINT_IS(cast(STR, BIGINT, S("-9223372036854775808")), INT64_MIN);
    CINT_IS(cast(STR, BIGINT, S("9223372036854775807")), INT64_MAX);
    CINT_IS(cast(STR, TINY, S("-128")), -128);
    CINT_IS(cast(STR, T(RILL_SQLT_SMALLINT, 0, 0), S("32767")), 32767);
    CAST_FAILS(cast(STR, INT_, S("abc")), "Cannot cast 'abc' to INT: Invalid character found.");
    CAST_FAILS(cast(STR, INT_, S("")), "Cannot cast '' to INT: Input is empty.");
    CAST_FAILS(cast(STR, INT_, S("  ")), "Input is empty.");
    CAST_FAILS(cast(STR, INT_, S("-")), "Input has only positive or negative symbol.");
    CAST_FAILS(cast(STR, INT_, S("1e3")), "Invalid character found.");
    CAST_FAILS(cast(STR, INT_, S("1.5x")), "Invalid character found.");
    CAST_FAILS(cast(STR, INT_, S("1 2")), "Invalid character found.");
    CAST_FAILS(cast(STR, INT_, S("2147483648")), "Cannot cast '2147483648' to INT: Overflow.");
    CAST_FAILS(cast(STR, INT_, S("-2147483649")), "Overflow.");
    CAST_FAILS(cast(STR, BIGINT, S("9223372036854775808")), "to BIGINT: Overflow.");
    CAST_FAILS(cast(STR, BIGINT, S("99999999999999999999999")), "Overflow.");
    CAST_FAILS(cast(STR, TINY, S("128")), "to TINYINT: Overflow.");
    CAST_FAILS(cast(STR, T(RILL_SQLT_SMALLINT, 0, 0), S("-32769")), "to SMALLINT: Overflow.");
    /* DOUBLE and FLOAT: Double.parseDouble / Float.parseFloat */
    CDBL_IS(cast(STR, DOUBLE, S("1e3")), 1000.0);
    CDBL_IS(cast(STR, DOUBLE, S(" -1.5E-3 ")), -1.5e-3);
    CDBL_IS(cast(STR, DOUBLE, S(".5")), 0.5);
    CDBL_IS(cast(STR, DOUBLE, S("5.")), 5.0);
    CDBL_IS(cast(STR, DOUBLE, S("NaN")), (double)NAN);
    CDBL_IS(cast(STR, DOUBLE, S("-Infinity")), -(double)INFINITY);
    CDBL_IS(cast(STR, DOUBLE, S("+Infinity")), (double)INFINITY);
    CDBL_IS(cast(STR, DOUBLE, S("0x1.8p1")), 3.0);
    CDBL_IS(cast(STR, DOUBLE, S("1.5f")), 1.5);
    CDBL_IS(cast(STR, DOUBLE, S("2D")), 2.0);
    CDBL_IS(cast(STR, DOUBLE, S("1e400")), (double)INFINITY);
    CDBL_IS(cast(STR, DOUBLE, S("-1e-400")), -0.0);
    CDBL_IS(cast(STR, DOUBLE, S("0.30000000000000004")), 0.1 + 0.2);
    CAST_FAILS(cast(STR, DOUBLE, S("abc")), "Cannot cast 'abc' to DOUBLE");
    CAST_FAILS(cast(STR, DOUBLE, S("1e")), "to DOUBLE");
    CAST_FAILS(cast(STR, DOUBLE, S("nan")), "to DOUBLE");
    CAST_FAILS(cast(STR, DOUBLE, S("inf")), "to DOUBLE");
    CAST_FAILS(cast(STR, DOUBLE, S("0x1.8")), "to DOUBLE"); /* Java needs the p exponent */
    CAST_FAILS(cast(STR, DOUBLE, S("1.5ff")), "to DOUBLE");
    CAST_FAILS(cast(STR, DOUBLE, S("")), "Input is empty.");
    cres f = cast(STR, FLOAT, S("0.1"));
    CHECK(!f.rc && rill__sql_val_float(&f.out) == 0.1f);
    f = cast(STR, FLOAT, S("3.4028236e38"));
    CHECK(!f.rc && isinf(rill__sql_val_float(&f.out)));
    f = cast(STR, FLOAT, S("1.00000017881393432617187499")); /* rounds down as a float */
    CHECK(!f.rc && rill__sql_val_float(&f.out) == 1.0000001f);
    /* DECIMAL: BigDecimal's text, HALF_UP at the scale; too many digits fail */
    cres d = cast(STR, DEC(5, 2), S(" 1.005 "));
    CHECK(!d.rc && d.out.dec == 101);
    d = cast(STR, DEC(5, 2), S("-1.005"));
    CHECK(!d.rc && d.out.dec == -101);
    d = cast(STR, DEC(5, 2), S("1e2"));
    CHECK(!d.rc && d.out.dec == 10000);
    d = cast(STR, DEC(5, 2), S(".5"));
    CHECK(!d.rc && d.out.dec == 50);
    d = cast(STR, DEC(38, 0), S("99999999999999999999999999999999999999"));
    CHECK(!d.rc && d.out.dec == (rill__i128)rill__dec_pow10(38) - 1);
    CAST_FAILS(cast(STR, DEC(5, 2), S("999.995")), "to DECIMAL(5, 2): Overflow.");
    CAST_FAILS(cast(STR, DEC(5, 2), S("abc")), "Cannot cast 'abc' to DECIMAL(5, 2)");
    CAST_FAILS(cast(STR, DEC(5, 2), S("NaN")), "to DECIMAL(5, 2)");
    CAST_FAILS(cast(STR, DEC(5, 2), S("1e")), "to DECIMAL(5, 2)");
    /* BOOLEAN: Flink's words in any case */
    CINT_IS(cast(STR, BOOL, S(" TRUE ")), 1);
    CINT_IS(cast(STR, BOOL, S("yes")), 1);
    CINT_IS(cast(STR, BOOL, S("Y")), 1);
    CINT_IS(cast(STR, BOOL, S("1")), 1);
    CINT_IS(cast(STR, BOOL, S("FalsE")), 0);
    CINT_IS(cast(STR, BOOL, S("n")), 0);
    CINT_IS(cast(STR, BOOL, S("0")), 0);
    CAST_FAILS(cast(STR, BOOL, S("maybe")), "Cannot cast 'maybe' to BOOLEAN");
    CAST_FAILS(cast(STR, BOOL, S("")), "to BOOLEAN");
    /* a long value is cut in the message */
    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cres b = cast(STR, INT_, S(big));
    CHECK(b.rc && strstr(b.err.msg, "x...' to INT") && strlen(b.err.msg) < 200);
    /* what rill casts between strings and others */
    CHECK(rill__sql_cast_string_ok(STR, T(RILL_SQLT_VARBINARY, 10, 0)));
    CHECK(rill__sql_cast_string_ok(T(RILL_SQLT_BINARY, 3, 0), STR));
    CHECK(rill__sql_cast_string_ok(DEC(20, 2), T(RILL_SQLT_CHAR, 3, 0)));
    CHECK(!rill__sql_cast_string_ok(STR, T(RILL_SQLT_ARRAY, 0, 0)));
    rill__arena_close(&A);
}
