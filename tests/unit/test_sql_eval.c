/* test_sql_eval.c - typed SQL expressions run a batch at a time (src/sql/eval.c), against
 * values computed row by row in the test itself on random rows with NULLs and edge values:
 * Java's integer wrapping and truncating division, IEEE doubles with NaN, three-valued logic,
 * CASE reaching only its rows, COALESCE, strings (||, CHAR_LENGTH, LIKE over UTF-8), casts,
 * timestamp precisions, and errors that name the expression's place. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/plan.h"
#include "test.h"

static uint64_t seed = 0x9e3779b97f4a7c15u;

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

#define BIGINT ty(RILL_SQLT_BIGINT, 0)
#define INT_   ty(RILL_SQLT_INT, 0)
#define DOUBLE ty(RILL_SQLT_DOUBLE, 0)
#define BOOL   ty(RILL_SQLT_BOOLEAN, 0)
#define STR    ty(RILL_SQLT_VARCHAR, RILL_SQL_MAX_LENGTH)
#define TS(p)  ty(RILL_SQLT_TIMESTAMP, p)

static rill__sql_rex *in(int i, const rill__sql_ltype *t)
{
    return rill__sql_x_input(&A, i, t);
}

static rill__sql_rex *call(rill__sql_rexop op, const rill__sql_ltype *t, int n, ...)
{
    rill__sql_rex *args[8];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        args[i] = va_arg(ap, rill__sql_rex *);
    va_end(ap);
    return rill__sql_x_call(&A, op, t, n, args);
}

static rill__sql_rex *lit(const rill__sql_ltype *t, int64_t v)
{
    return rill__sql_x_literal(&A, t, (uint64_t)v);
}

static rill__sql_rex *slit(const char *s)
{
    return rill__sql_x_string(&A, STR, s, strlen(s));
}

/* (LIKE ... ESCAPE '\\' over these: an escape takes %, _ or itself only, else the job fails) */
/* The input: a, b BIGINT; i, j INT (as int32 values); d DOUBLE; s, t STRING; ts TIMESTAMP(3);
 * every column NULL in about one row of eight. */
enum { A_, B_, I_, J_, D_, S_, T_, TS_, N_COLS };
static const char *const SCHEMA = "a INT64, b INT64, i INT64, j INT64, d DOUBLE, s STRING, "
                                  "t STRING, ts TIMESTAMP";

static const int64_t EDGE[] = {0, 1, -1, 2, -2, 7, INT64_MAX, INT64_MIN, INT32_MAX, INT32_MIN};
static const char *const WORDS[] = {"",   "a",     "ab",  "ba",  "a%b", "a_b",
                                    "éa", "日本a", "xyz", "aaa", "\\%", "%"};

static rill_batch *random_batch(rill_schema **schema_out, uint32_t n)
{
    rill_schema *sc = NULL;
    CHECK_RC(rill_schema_parse(SCHEMA, &sc));
    rill_batch *b = rill__batch_new(sc, n);
    for (uint32_t r = 0; r < n; r++) {
        rill_row row = rill__batch_append(b);
        for (int c = 0; c < N_COLS; c++) {
            if (rnd() % 8 == 0)
                continue;
            uint64_t x = rnd();
            switch (c) {
            case A_:
            case B_:
                rill_row_set_i64(&row, c,
                                 x % 3 == 0 ? EDGE[x / 3 % 10] : (int64_t)(x >> 40) - (1 << 23));
                break;
            case I_:
            case J_:
                rill_row_set_i64(&row, c,
                                 x % 3 == 0 ? (int32_t)EDGE[x / 3 % 10] : (int32_t)(x >> 33));
                break;
            case D_: {
                static const double special[] = {
                    0.0, -0.0, 1.5, -2.25, 1e300, (double)NAN, (double)INFINITY};
                rill_row_set_f64(&row, c,
                                 x % 2 ? special[x / 2 % 7] : (double)(int64_t)(x >> 20) / 1024.0);
                break;
            }
            case S_:
            case T_: {
                const char *w = WORDS[x % 12];
                CHECK_RC(rill_row_set_str(&row, c, w, strlen(w)));
                break;
            }
            default:
                rill_row_set_ts(&row, c, (int64_t)(x % 4000000000000u) - 1000000000000);
                break;
            }
        }
    }
    *schema_out = sc;
    return b;
}

/* Runs filter / outs over in; the output batch. */
static rill_batch *run(rill__sql_rex *filter, int n, rill__sql_rex **outs, rill_batch *in,
                       int *rc_out, rill__err *err)
{
    rill_schema *os = rill_schema_new();
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "o%d", i);
        rill__sql_root r = outs[i]->type->root;
        rill_type t = r == RILL_SQLT_DOUBLE                                       ? RILL_T_DOUBLE
                      : r == RILL_SQLT_BOOLEAN                                    ? RILL_T_BOOL
                      : r == RILL_SQLT_VARCHAR                                    ? RILL_T_STRING
                      : r == RILL_SQLT_TIMESTAMP && outs[i]->type->precision <= 3 ? RILL_T_TIMESTAMP
                                                                                  : RILL_T_INT64;
        CHECK_RC(rill_schema_add(os, name, t, true));
    }
    rill__sql_prog *p = NULL;
    memset(err, 0, sizeof *err);
    int rc = rill__sql_prog_new(filter, n, outs, NULL, &p, err);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "compile: %s", err->msg);
    rill_batch *out = rill__batch_new(os, in->n_rows);
    *rc_out = rill__sql_prog_run(p, in, out, err);
    rill__sql_prog_free(p);
    rill_schema_free(os);
    return out;
}

/* The oracle's value of a cell. */
typedef struct val {
    bool null;
    int64_t i;
    double d;
    const char *s;
    size_t len;
} val;

static val get(rill_batch *b, uint32_t r, int c)
{
    rill_row row = rill__batch_row(b, r);
    val v = {.null = rill_row_is_null(&row, c)};
    v.i = rill_row_i64(&row, c);
    v.d = rill_row_f64(&row, c);
    if (rill_schema_field_type(b->schema, c) == RILL_T_STRING) { /* a C string copy */
        const char *p = rill_row_str(&row, c, &v.len);
        char *z = rill__arena_alloc(&A, v.len + 1);
        memcpy(z, p, v.len);
        z[v.len] = '\0';
        v.s = z;
    }
    return v;
}

static void expect_i(rill_batch *out, uint32_t r, int c, val want, const char *what)
{
    val got = get(out, r, c);
    if (got.null != want.null || (!want.null && got.i != want.i))
        rill_test_fail(__FILE__, __LINE__, "%s, row %u: got %s%lld, want %s%lld", what, r,
                       got.null ? "NULL " : "", (long long)got.i, want.null ? "NULL " : "",
                       (long long)want.i);
}

static val I(int64_t x)
{
    return (val){.i = x};
}

static const val NUL = {.null = true};

/* Java's int arithmetic on two's complement. */
static int64_t jint(uint64_t x)
{
    return (int64_t)(int32_t)(uint32_t)x;
}

TEST(sql_eval_integers_wrap_divide_and_compare_as_java)
{
    rill__arena_init(&A, 65536);
    rill_schema *sc;
    rill_batch *b = random_batch(&sc, 3000);
    rill__err err;
    rill__sql_rex *outs[] = {
        call(RILL_SQLX_PLUS, BIGINT, 2, in(A_, BIGINT), in(B_, BIGINT)),
        call(RILL_SQLX_TIMES, BIGINT, 2, in(A_, BIGINT), in(B_, BIGINT)),
        call(RILL_SQLX_PLUS, INT_, 2, in(I_, INT_), in(J_, INT_)),
        call(RILL_SQLX_MINUS, INT_, 2, in(I_, INT_), in(J_, INT_)),
        call(RILL_SQLX_NEG, BIGINT, 1, in(A_, BIGINT)),
        /* CASE WHEN b <> 0 THEN a / b ELSE -7 END, and a MOD b likewise */
        call(RILL_SQLX_CASE, BIGINT, 3, call(RILL_SQLX_NE, BOOL, 2, in(B_, BIGINT), lit(BIGINT, 0)),
             call(RILL_SQLX_DIVIDE, BIGINT, 2, in(A_, BIGINT), in(B_, BIGINT)), lit(BIGINT, -7)),
        call(RILL_SQLX_CASE, INT_, 2, call(RILL_SQLX_NE, BOOL, 2, in(J_, INT_), lit(INT_, 0)),
             call(RILL_SQLX_MOD, INT_, 2, in(I_, INT_), in(J_, INT_))),
        call(RILL_SQLX_LT, BOOL, 2, in(A_, BIGINT), in(B_, BIGINT)),
        call(RILL_SQLX_IS_DISTINCT, BOOL, 2, in(A_, BIGINT), in(B_, BIGINT)),
        call(RILL_SQLX_COALESCE, BIGINT, 3, in(A_, BIGINT), in(B_, BIGINT), lit(BIGINT, 42)),
        call(RILL_SQLX_CAST, INT_, 1, in(A_, BIGINT)),
    };
    int n = (int)(sizeof outs / sizeof *outs), rc;
    rill_batch *out = run(NULL, n, outs, b, &rc, &err);
    CHECK_RC(rc);
    CHECK_EQ(out->n_rows, b->n_rows);
    for (uint32_t r = 0; r < b->n_rows; r++) {
        val a = get(b, r, A_), bb = get(b, r, B_), i = get(b, r, I_), j = get(b, r, J_);
        uint64_t ua = (uint64_t)a.i, ub = (uint64_t)bb.i;
        bool nab = a.null || bb.null, nij = i.null || j.null;
        expect_i(out, r, 0, nab ? NUL : I((int64_t)(ua + ub)), "a + b");
        expect_i(out, r, 1, nab ? NUL : I((int64_t)(ua * ub)), "a * b");
        expect_i(out, r, 2, nij ? NUL : I(jint((uint64_t)i.i + (uint64_t)j.i)), "i + j");
        expect_i(out, r, 3, nij ? NUL : I(jint((uint64_t)i.i - (uint64_t)j.i)), "i - j");
        expect_i(out, r, 4, a.null ? NUL : I((int64_t)(0 - ua)), "-a");
        val q;
        if (bb.null || bb.i == 0)
            q = I(-7);
        else if (a.null)
            q = NUL;
        else if (bb.i == -1)
            q = I((int64_t)(0 - ua)); /* Java: MIN / -1 is MIN */
        else
            q = I(a.i / bb.i);
        expect_i(out, r, 5, q, "CASE WHEN b <> 0 THEN a / b ELSE -7 END");
        if (j.null || j.i == 0)
            q = NUL;
        else if (i.null)
            q = NUL;
        else
            q = I(j.i == -1 ? 0 : i.i % j.i);
        expect_i(out, r, 6, q, "CASE WHEN j <> 0 THEN i MOD j END");
        expect_i(out, r, 7, nab ? NUL : I(a.i < bb.i), "a < b");
        expect_i(out, r, 8, I(a.null != bb.null || (!a.null && a.i != bb.i)),
                 "a IS DISTINCT FROM b");
        expect_i(out, r, 9, !a.null ? I(a.i) : !bb.null ? I(bb.i) : I(42), "COALESCE");
        expect_i(out, r, 10, a.null ? NUL : I(jint(ua)), "CAST(a AS INT)");
    }
    rill__batch_unref(out);
    rill__batch_unref(b);
    rill_schema_free(sc);
    rill__arena_close(&A);
}

/* SQL's three values: 0 FALSE, 1 TRUE, 2 UNKNOWN. */
static int tv(val v, int64_t x)
{
    return v.null ? 2 : v.i < x;
}

TEST(sql_eval_three_valued_logic_and_doubles)
{
    rill__arena_init(&A, 65536);
    rill_schema *sc;
    rill_batch *b = random_batch(&sc, 3000);
    rill__err err;
    /* p = a < 0, q = b < 0 (UNKNOWN where NULL) */
    rill__sql_rex *p = call(RILL_SQLX_LT, BOOL, 2, in(A_, BIGINT), lit(BIGINT, 0));
    rill__sql_rex *q = call(RILL_SQLX_LT, BOOL, 2, in(B_, BIGINT), lit(BIGINT, 0));
    rill__sql_rex *outs[] = {
        call(RILL_SQLX_AND, BOOL, 2, p, q),
        call(RILL_SQLX_OR, BOOL, 2, p, q),
        call(RILL_SQLX_NOT, BOOL, 1, p),
        call(RILL_SQLX_IS_NOT_TRUE, BOOL, 1, call(RILL_SQLX_AND, BOOL, 2, p, q)),
        call(RILL_SQLX_IS_FALSE, BOOL, 1, call(RILL_SQLX_OR, BOOL, 2, p, q)),
        call(RILL_SQLX_IS_NULL, BOOL, 1, in(D_, DOUBLE)),
        call(RILL_SQLX_LT, BOOL, 2, in(D_, DOUBLE), rill__sql_x_literal(&A, DOUBLE, 0)),
        call(RILL_SQLX_NE, BOOL, 2, in(D_, DOUBLE), in(D_, DOUBLE)),
        call(RILL_SQLX_CAST, BIGINT, 1, in(D_, DOUBLE)),
        call(RILL_SQLX_DIVIDE, DOUBLE, 2, in(D_, DOUBLE), in(D_, DOUBLE)),
    };
    int n = (int)(sizeof outs / sizeof *outs), rc;
    rill_batch *out = run(NULL, n, outs, b, &rc, &err);
    CHECK_RC(rc);
    static const int AND3[3][3] = {{0, 0, 0}, {0, 1, 2}, {0, 2, 2}};
    static const int OR3[3][3] = {{0, 1, 2}, {1, 1, 1}, {2, 1, 2}};
    for (uint32_t r = 0; r < b->n_rows; r++) {
        int x = tv(get(b, r, A_), 0), y = tv(get(b, r, B_), 0);
        val d = get(b, r, D_);
        int and3 = AND3[x][y], or3 = OR3[x][y];
        expect_i(out, r, 0, and3 == 2 ? NUL : I(and3), "p AND q");
        expect_i(out, r, 1, or3 == 2 ? NUL : I(or3), "p OR q");
        expect_i(out, r, 2, x == 2 ? NUL : I(!x), "NOT p");
        expect_i(out, r, 3, I(and3 != 1), "(p AND q) IS NOT TRUE");
        expect_i(out, r, 4, I(or3 == 0), "(p OR q) IS FALSE");
        expect_i(out, r, 5, I(d.null), "d IS NULL");
        expect_i(out, r, 6, d.null ? NUL : I(d.d < 0.0), "d < 0.0");
        expect_i(out, r, 7, d.null ? NUL : I(d.d != d.d), "d <> d (NaN only)");
        int64_t l = d.d != d.d                      ? 0
                    : d.d >= 9.2233720368547758e18  ? INT64_MAX
                    : d.d <= -9.2233720368547758e18 ? INT64_MIN
                                                    : (int64_t)d.d;
        expect_i(out, r, 8, d.null ? NUL : I(l), "CAST(d AS BIGINT)");
        val got = get(out, r, 9);
        CHECK_EQ(got.null, d.null);
        if (!d.null) {
            double want = d.d / d.d;
            CHECK(want != want ? got.d != got.d : got.d == want);
        }
    }
    rill__batch_unref(out);
    rill__batch_unref(b);
    rill_schema_free(sc);
    rill__arena_close(&A);
}

/* LIKE written as the definition says, character by character (UTF-8), recursively. */
static size_t clen(const char *s)
{
    unsigned char c = (unsigned char)*s;
    return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

static bool like_ref(const char *s, const char *p, char esc)
{
    if (!*p)
        return !*s;
    if (*p == esc && p[1])
        return *s && clen(s) == clen(p + 1) && !memcmp(s, p + 1, clen(s)) &&
               like_ref(s + clen(s), p + 1 + clen(p + 1), esc);
    if (*p == '%')
        return like_ref(s, p + 1, esc) || (*s && like_ref(s + clen(s), p, esc));
    if (!*s)
        return false;
    if (*p == '_')
        return like_ref(s + clen(s), p + 1, esc);
    return clen(s) == clen(p) && !memcmp(s, p, clen(s)) && like_ref(s + clen(s), p + clen(p), esc);
}

TEST(sql_eval_strings_filters_and_event_time)
{
    rill__arena_init(&A, 65536);
    rill_schema *sc;
    rill_batch *b = random_batch(&sc, 2000);
    rill__batch_need_ts(b);
    b->has_ts = true;
    for (uint32_t r = 0; r < b->n_rows; r++)
        b->ts[r] = (int64_t)r * 10;
    rill__err err;
    /* WHERE s LIKE t ESCAPE '\' OR s LIKE '%a%' ; SELECT s || '-' || t, CHAR_LENGTH(s),
     * s < t, CASE WHEN s = 'a' THEN t ELSE s || '!' END, CAST(ts AS TIMESTAMP(0)) */
    rill__sql_rex *filter = call(
        RILL_SQLX_OR, BOOL, 2, call(RILL_SQLX_LIKE, BOOL, 3, in(S_, STR), in(T_, STR), slit("\\")),
        call(RILL_SQLX_LIKE, BOOL, 2, in(S_, STR), slit("%a%")));
    rill__sql_rex *outs[] = {
        call(RILL_SQLX_CONCAT, STR, 3, in(S_, STR), slit("-"), in(T_, STR)),
        call(RILL_SQLX_CHAR_LENGTH, INT_, 1, in(S_, STR)),
        call(RILL_SQLX_LT, BOOL, 2, in(S_, STR), in(T_, STR)),
        call(RILL_SQLX_CASE, STR, 3, call(RILL_SQLX_EQ, BOOL, 2, in(S_, STR), slit("a")),
             in(T_, STR), call(RILL_SQLX_CONCAT, STR, 2, in(S_, STR), slit("!"))),
        call(RILL_SQLX_CAST, TS(0), 1, in(TS_, TS(3))),
    };
    int n = (int)(sizeof outs / sizeof *outs), rc;
    rill_batch *out = run(filter, n, outs, b, &rc, &err);
    CHECK_RC(rc);
    CHECK(out->has_ts);
    uint32_t o = 0;
    char want[64];
    for (uint32_t r = 0; r < b->n_rows; r++) {
        val s = get(b, r, S_), t = get(b, r, T_), ts = get(b, r, TS_);
        int l1 = s.null || t.null ? 2 : like_ref(s.s, t.s, '\\');
        int l2 = s.null ? 2 : like_ref(s.s, "%a%", 0);
        if (!(l1 == 1 || l2 == 1))
            continue;
        CHECK(o < out->n_rows);
        CHECK_EQ(out->ts[o], (int64_t)r * 10);
        val c = get(out, o, 0);
        CHECK_EQ(c.null, s.null || t.null);
        if (!c.null) {
            snprintf(want, sizeof want, "%s-%s", s.s, t.s);
            CHECK(c.len == strlen(want) && !memcmp(c.s, want, c.len));
        }
        size_t chars = 0;
        for (const char *q = s.s; !s.null && *q; q += clen(q))
            chars++;
        expect_i(out, o, 1, s.null ? NUL : I((int64_t)chars), "CHAR_LENGTH(s)");
        expect_i(out, o, 2, s.null || t.null ? NUL : I(strcmp(s.s, t.s) < 0), "s < t");
        val k = get(out, o, 3);
        if (!s.null && !strcmp(s.s, "a")) {
            CHECK_EQ(k.null, t.null);
            CHECK(t.null || (k.len == strlen(t.s) && !memcmp(k.s, t.s, k.len)));
        } else {
            CHECK_EQ(k.null, s.null);
            if (!s.null) {
                snprintf(want, sizeof want, "%s!", s.s);
                CHECK(k.len == strlen(want) && !memcmp(k.s, want, k.len));
            }
        }
        int64_t sec = ts.i >= 0 ? ts.i / 1000 * 1000 : -((-ts.i + 999) / 1000) * 1000;
        expect_i(out, o, 4, ts.null ? NUL : I(sec), "CAST(ts AS TIMESTAMP(0))");
        o++;
    }
    CHECK_EQ(o, out->n_rows);
    CHECK(o > 100 && o < b->n_rows); /* the filter kept some and dropped some */
    rill__batch_unref(out);
    rill__batch_unref(b);
    rill_schema_free(sc);
    rill__arena_close(&A);
}

TEST(sql_eval_errors_name_the_place)
{
    rill__arena_init(&A, 65536);
    rill_schema *sc;
    rill_batch *b = random_batch(&sc, 500);
    rill__err err;
    /* a division by zero that is reached fails, naming line and column of the text */
    const char *text = "SELECT\n  a / (b - b) FROM t";
    rill__sql_rex *div = call(RILL_SQLX_DIVIDE, BIGINT, 2, in(A_, BIGINT),
                              call(RILL_SQLX_MINUS, BIGINT, 2, in(B_, BIGINT), in(B_, BIGINT)));
    div->pos = (rill__sql_pos){9, 2, 3};
    rill__sql_prog *p = NULL;
    CHECK_RC(rill__sql_prog_new(NULL, 1, &div, text, &p, &err));
    rill_schema *os = NULL;
    CHECK_RC(rill_schema_parse("x INT64", &os));
    rill_batch *out = rill__batch_new(os, b->n_rows);
    CHECK_EQ(rill__sql_prog_run(p, b, out, &err), RILL_EINVAL);
    CHECK_CONTAINS(err.msg, "division by zero");
    CHECK_CONTAINS(err.msg, "line 2, column 3");
    CHECK_CONTAINS(err.msg, "a / (b - b)");
    rill__sql_prog_free(p);
    /* operands the operator does not take: refused when compiled */
    rill__sql_rex *bad = call(RILL_SQLX_PLUS, BIGINT, 2, in(S_, STR), in(A_, BIGINT));
    CHECK_EQ(rill__sql_prog_new(NULL, 1, &bad, NULL, &p, &err), RILL_EINVAL);
    CHECK_CONTAINS(err.msg, "+ of (STRING, BIGINT) giving BIGINT is not supported");
    CHECK(p == NULL);
    rill__sql_rex *notbool = in(A_, BIGINT);
    CHECK_EQ(rill__sql_prog_new(notbool, 0, NULL, NULL, &p, &err), RILL_EINVAL);
    CHECK_CONTAINS(err.msg, "a filter must be BOOLEAN, not BIGINT");
    /* a LIKE escape of two characters, where reached */
    rill__sql_rex *lk = call(RILL_SQLX_LIKE, BOOL, 3, in(S_, STR), slit("a"), slit("ab"));
    CHECK_RC(rill__sql_prog_new(lk, 0, NULL, NULL, &p, &err));
    rill_schema *none = rill_schema_new();
    rill_batch *o2 = rill__batch_new(none, b->n_rows);
    CHECK_EQ(rill__sql_prog_run(p, b, o2, &err), RILL_EINVAL);
    CHECK_CONTAINS(err.msg, "ESCAPE of LIKE must be one character");
    rill__sql_prog_free(p);
    rill__batch_unref(o2);
    rill_schema_free(none);
    rill__batch_unref(out);
    rill_schema_free(os);
    rill__batch_unref(b);
    rill_schema_free(sc);
    rill__arena_close(&A);
}

/* The calc operator in a job (file source -> calc -> file sink) at parallelism 1 and 3 and
 * batch sizes 7 and 1024: WHERE a MOD 3 <> 0 OR s LIKE 'a%', SELECT a + b, s || '!',
 * CASE WHEN b <> 0 THEN a / b END; the output equals the rows computed here. */
/* The lines of a file (or of the files in a directory), the sink's header left out, sorted. */
static char *sorted_lines(const char *path)
{
    char *cmd = rill__xasprintf("cat %s/* 2>/dev/null || cat %s; true", path, path);
    char *sort = rill__xasprintf("(%s) | grep -v '^x,y,z$' | LC_ALL=C sort", cmd);
    FILE *f = popen(sort, "r");
    free(cmd);
    free(sort);
    rill__buf out = {0};
    char line[512];
    while (fgets(line, sizeof line, f))
        rill__buf_append(&out, line, strlen(line));
    pclose(f);
    rill__buf_putc(&out, '\0');
    return (char *)out.data;
}

TEST(sql_calc_in_a_job_at_several_parallelisms)
{
    rill__arena_init(&A, 65536);
    const char *dir = rill_test_tmpdir();
    char *in_path = rill__xasprintf("%s/calc-in.csv", dir);
    char *want_path = rill__xasprintf("%s/calc-want.csv", dir);
    FILE *f = fopen(in_path, "w"), *w = fopen(want_path, "w");
    CHECK(f && w);
    fprintf(f, "a,b,s\n");
    static const char *const words[] = {"a", "ab", "b", "éa", "xa", ""};
    for (int r = 0; r < 5000; r++) {
        bool na = rnd() % 9 == 0, nb = rnd() % 9 == 0, ns = rnd() % 9 == 0;
        int64_t a = (int64_t)(rnd() % 2001) - 1000, b = (int64_t)(rnd() % 21) - 10;
        const char *s = words[rnd() % 6];
        if (na)
            fprintf(f, ",");
        else
            fprintf(f, "%lld,", (long long)a);
        if (nb)
            fprintf(f, ",");
        else
            fprintf(f, "%lld,", (long long)b);
        fprintf(f, "%s\n", ns ? "" : s);
        /* an empty CSV field is NULL for every type, strings too */
        bool s_null = ns || !*s;
        int keep3 = na ? 2 : a % 3 != 0;
        int like_a = s_null ? 2 : s[0] == 'a';
        if (!(keep3 == 1 || like_a == 1))
            continue;
        if (na || nb)
            fprintf(w, ",");
        else
            fprintf(w, "%lld,", (long long)(a + b));
        if (s_null)
            fprintf(w, ",");
        else
            fprintf(w, "%s!,", s);
        if (nb || b == 0 || na)
            fprintf(w, "\n");
        else
            fprintf(w, "%lld\n", (long long)(a / b));
    }
    fclose(f);
    fclose(w);
    char *cmd = rill__xasprintf("LC_ALL=C sort -o %s %s", want_path, want_path);
    CHECK_EQ(system(cmd), 0);
    free(cmd);
    char *want = sorted_lines(want_path);
    static const char *const PAR[] = {"1", "3"}, *const BATCH[] = {"7", "1024"};
    for (int k = 0; k < 4; k++) {
        rill_env *env = rill_env_new();
        CHECK_RC(rill_env_set(env, "parallelism", PAR[k % 2]));
        CHECK_RC(rill_env_set(env, "batch-size", BATCH[k / 2]));
        rill_schema *sc = NULL, *os = NULL;
        CHECK_RC(rill_schema_parse("a INT64, b INT64, s STRING", &sc));
        CHECK_RC(rill_schema_parse("x INT64, y STRING, z INT64", &os));
        rill_stream *src = rill_source_file(env, in_path, sc, NULL);
        rill__sql_rex *filter = call(
            RILL_SQLX_OR, BOOL, 2,
            call(RILL_SQLX_NE, BOOL, 2,
                 call(RILL_SQLX_MOD, BIGINT, 2, in(0, BIGINT), lit(BIGINT, 3)), lit(BIGINT, 0)),
            call(RILL_SQLX_LIKE, BOOL, 2, in(2, STR), slit("a%")));
        rill__sql_rex *outs[] = {
            call(RILL_SQLX_PLUS, BIGINT, 2, in(0, BIGINT), in(1, BIGINT)),
            call(RILL_SQLX_CONCAT, STR, 2, in(2, STR), slit("!")),
            call(RILL_SQLX_CASE, BIGINT, 2,
                 call(RILL_SQLX_NE, BOOL, 2, in(1, BIGINT), lit(BIGINT, 0)),
                 call(RILL_SQLX_DIVIDE, BIGINT, 2, in(0, BIGINT), in(1, BIGINT))),
        };
        rill__err err = {0};
        rill_stream *c = rill__sql_calc(src, os, filter, 3, outs, NULL, &err);
        CHECK(c != NULL);
        char *out_path = rill__xasprintf("%s/calc-out-%d", dir, k);
        rill_file_opts fo = {.format = RILL_FMT_CSV, .no_header = true};
        rill_sink_file(c, out_path, &fo);
        int rc = rill_env_execute(env);
        if (rc)
            rill_test_fail(__FILE__, __LINE__, "job failed: %s", rill_errmsg(env));
        char *got = sorted_lines(out_path);
        if (strcmp(got, want))
            rill_test_fail(__FILE__, __LINE__,
                           "p=%s batch=%s: the output differs (%zu vs "
                           "%zu bytes)",
                           PAR[k % 2], BATCH[k / 2], strlen(got), strlen(want));
        free(got);
        free(out_path);
        rill_schema_free(sc);
        rill_schema_free(os);
        rill_env_free(env);
    }
    free(want);
    free(in_path);
    free(want_path);
    rill__arena_close(&A);
}

/* Constant folding: literal subtrees become literals with the evaluator's values; what reads a
 * column, what is volatile (RAND) and what fails (a division by zero) stays; TRUE AND y is y,
 * FALSE AND y FALSE, FALSE OR y y, TRUE OR y TRUE. */
TEST(sql_fold_constants)
{
    rill__arena_init(&A, 65536);
    const rill__sql_ltype *nn_big = rill__sql_type_make(&A, RILL_SQLT_BIGINT, 0, 0, false);
    const rill__sql_ltype *nn_bool = rill__sql_type_make(&A, RILL_SQLT_BOOLEAN, 0, 0, false);
    /* (1 + 2) * 3 - 20: -11, Java's wrap at BIGINT's width for INT64_MAX + 1 */
    rill__sql_rex *x = call(RILL_SQLX_MINUS, nn_big, 2,
                            call(RILL_SQLX_TIMES, nn_big, 2,
                                 call(RILL_SQLX_PLUS, nn_big, 2, lit(nn_big, 1), lit(nn_big, 2)),
                                 lit(nn_big, 3)),
                            lit(nn_big, 20));
    rill__sql_rex *f = rill__sql_fold(&A, x, NULL);
    CHECK_EQ(f->op, RILL_SQLX_LITERAL);
    CHECK_EQ((int64_t)f->lit, -11);
    f = rill__sql_fold(&A, call(RILL_SQLX_PLUS, nn_big, 2, lit(nn_big, INT64_MAX), lit(nn_big, 1)),
                       NULL);
    CHECK_EQ(f->op, RILL_SQLX_LITERAL);
    CHECK_EQ((int64_t)f->lit, INT64_MIN);
    /* a column's expression: only its constant part folds */
    f = rill__sql_fold(&A, call(RILL_SQLX_PLUS, BIGINT, 2, in(0, BIGINT),
                                call(RILL_SQLX_PLUS, nn_big, 2, lit(nn_big, 4), lit(nn_big, 5))),
                       NULL);
    CHECK_EQ(f->op, RILL_SQLX_PLUS);
    CHECK_EQ(f->args[1]->op, RILL_SQLX_LITERAL);
    CHECK_EQ((int64_t)f->args[1]->lit, 9);
    /* 1 / 0 is left to fail when rows come */
    f = rill__sql_fold(&A, call(RILL_SQLX_DIVIDE, nn_big, 2, lit(nn_big, 1), lit(nn_big, 0)),
                       NULL);
    CHECK_EQ(f->op, RILL_SQLX_DIVIDE);
    /* strings: 'ab' || 'c' */
    f = rill__sql_fold(&A, call(RILL_SQLX_CONCAT, STR, 2, slit("ab"), slit("c")), NULL);
    CHECK_EQ(f->op, RILL_SQLX_LITERAL);
    CHECK_EQ(f->lit, 3);
    CHECK(!memcmp(f->lit_bytes, "abc", 3));
    /* NULL + 1 is a NULL literal */
    f = rill__sql_fold(&A, call(RILL_SQLX_PLUS, BIGINT, 2, rill__sql_x_null(&A, BIGINT),
                                lit(nn_big, 1)),
                       NULL);
    CHECK(f->op == RILL_SQLX_LITERAL && f->lit_null);
    /* logic with a column */
    rill__sql_rex *y = call(RILL_SQLX_GT, BOOL, 2, in(0, BIGINT), lit(nn_big, 1));
    f = rill__sql_fold(&A, call(RILL_SQLX_AND, BOOL, 2, lit(nn_bool, 1), y), NULL);
    CHECK(f == y);
    f = rill__sql_fold(&A, call(RILL_SQLX_AND, BOOL, 2, y, lit(nn_bool, 0)), NULL);
    CHECK(f->op == RILL_SQLX_LITERAL && !f->lit_null && f->lit == 0);
    f = rill__sql_fold(&A, call(RILL_SQLX_OR, BOOL, 2, lit(nn_bool, 0), y), NULL);
    CHECK(f == y);
    f = rill__sql_fold(&A, call(RILL_SQLX_OR, BOOL, 3, y, lit(nn_bool, 1), y), NULL);
    CHECK(f->op == RILL_SQLX_LITERAL && f->lit == 1);
    /* NULL AND y: not decided (y FALSE gives FALSE): kept */
    f = rill__sql_fold(&A, call(RILL_SQLX_AND, BOOL, 2, rill__sql_x_null(&A, BOOL), y), NULL);
    CHECK_EQ(f->op, RILL_SQLX_AND);
    CHECK_EQ(f->n_args, 2);
    rill__arena_close(&A);
}
