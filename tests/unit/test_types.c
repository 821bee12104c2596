/* test_types.c - the SQL slot kinds: DECIMAL arithmetic, schema names, codecs, keys, the data
 * frame and row kinds. Expected values are computed here by other means (plain integer
 * arithmetic, day counting, strings), never by the code under test. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dec128.h"
#include "data/codec_int.h"
#include "data/data.h"
#include "runtime/remote.h"
#include "test.h"

/* ---- helpers computed independently -------------------------------------------------------- */

static rill__i128 dec(const char *s, int p, int sc)
{
    rill__i128 v = 0;
    int rc = rill__dec_parse(s, strlen(s), p, sc, &v);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "parse \"%s\" as DECIMAL(%d, %d): %d", s, p, sc, rc);
    return v;
}

static const char *fmt(rill__i128 v, int sc)
{
    static char buf[4][RILL_DECIMAL_STR_MAX];
    static int k;
    char *b = buf[k++ & 3];
    rill__dec_format(v, sc, b);
    return b;
}

/* "1" followed by n zeros / n nines, built as strings. */
static const char *ones(char c, int n, const char *prefix)
{
    static char buf[4][64];
    static int k;
    char *b = buf[k++ & 3];
    size_t o = (size_t)snprintf(b, 64, "%s", prefix);
    for (int i = 0; i < n; i++)
        b[o++] = c;
    b[o] = '\0';
    return b;
}

/* q = n / d rounded half away from zero, by plain __int128 division (|n| well below 2^126). */
static rill__i128 half_up_div(rill__i128 n, rill__i128 d)
{
    rill__i128 q = n / d, r = n % d;
    rill__i128 ar = r < 0 ? -r : r, ad = d < 0 ? -d : d;
    if (2 * ar >= ad)
        q += ((n < 0) != (d < 0)) ? -1 : 1;
    return q;
}

static rill__i128 p10(int n)
{
    rill__i128 v = 1;
    while (n-- > 0)
        v *= 10;
    return v;
}

/* ---- DECIMAL arithmetic -------------------------------------------------------------------- */

TEST(types_decimal_38_digit_bounds)
{
    const char *max38 = ones('9', 38, "");
    rill__i128 m = dec(max38, 38, 0);
    CHECK_STR(fmt(m, 0), max38);
    rill__i128 v;
    /* 39 digits do not fit */
    const char *big = ones('0', 38, "1");
    CHECK_EQ(rill__dec_parse(big, strlen(big), 38, 0, &v), RILL_ERANGE);
    CHECK_EQ(rill__dec_add(m, 0, 1, 0, 38, 0, &v), RILL_ERANGE);
    CHECK_EQ(rill__dec_sub(-m, 0, 1, 0, 38, 0, &v), RILL_ERANGE);
    CHECK_RC(rill__dec_sub(m, 0, m, 0, 38, 0, &v));
    CHECK_STR(fmt(v, 0), "0");
    /* 10^19 * 10^19 = 10^38: 39 digits; 10^18 * 10^19 = 10^37 fits */
    rill__i128 e19 = dec(ones('0', 19, "1"), 38, 0), e18 = dec(ones('0', 18, "1"), 38, 0);
    CHECK_EQ(rill__dec_mul(e19, 0, e19, 0, 38, 0, &v), RILL_ERANGE);
    CHECK_RC(rill__dec_mul(e18, 0, e19, 0, 38, 0, &v));
    CHECK_STR(fmt(v, 0), ones('0', 37, "1"));
    CHECK_RC(rill__dec_mul(-e18, 0, e19, 0, 38, 0, &v));
    CHECK_STR(fmt(v, 0), ones('0', 37, "-1"));
    /* max * max (76 digits) scaled back down by 38 digits: 0.99.. * 0.99.. at scale 38 */
    CHECK_RC(rill__dec_mul(m, 38, m, 38, 38, 38, &v));
    /* (1 - 10^-38)^2 = 1 - 2*10^-38 + 10^-76: rounds to 0.99..98 */
    char want[64];
    snprintf(want, sizeof want, "%s8", ones('9', 37, "0."));
    CHECK_STR(fmt(v, 38), want);
}

TEST(types_decimal_half_up_and_negatives)
{
    static const struct {
        const char *in;
        int p, s;
        const char *out;
    } cases[] = {
        {"2.5", 5, 0, "3"},          {"-2.5", 5, 0, "-3"},    {"2.4999", 5, 0, "2"},
        {"-2.45", 5, 1, "-2.5"},     {"2.449", 5, 1, "2.4"},  {"-0.05", 5, 1, "-0.1"},
        {"-0.04", 5, 1, "0.0"},      {"0.005", 5, 2, "0.01"}, {"1e2", 5, 0, "100"},
        {"1.25E-1", 5, 2, "0.13"},   {"+.5", 3, 1, "0.5"},    {"-12.345", 10, 2, "-12.35"},
        {"00012.10", 4, 2, "12.10"}, {"99.995", 4, 2, NULL}, /* rounds up to 100.00: 5 digits */
        {"7.", 3, 0, "7"},
    };
    for (size_t i = 0; i < RILL_ARRAY_LEN(cases); i++) {
        rill__i128 v;
        int rc = rill__dec_parse(cases[i].in, strlen(cases[i].in), cases[i].p, cases[i].s, &v);
        if (!cases[i].out) {
            CHECK_EQ(rc, RILL_ERANGE);
            continue;
        }
        if (rc)
            rill_test_fail(__FILE__, __LINE__, "\"%s\": rc %d", cases[i].in, rc);
        CHECK_STR(fmt(v, cases[i].s), cases[i].out);
    }
    rill__i128 v;
    static const char *const bad[] = {"", "-", ".", "1.2.3", "1e", "1x", " 1", "--1", "e5"};
    for (size_t i = 0; i < RILL_ARRAY_LEN(bad); i++)
        CHECK_EQ(rill__dec_parse(bad[i], strlen(bad[i]), 10, 2, &v), RILL_EPARSE);
    /* rescale: HALF_UP on the way down, exact on the way up, precision checked */
    CHECK_RC(rill__dec_rescale(-12345, 3, 10, 1, &v)); /* -12.345 -> -12.3 */
    CHECK_STR(fmt(v, 1), "-12.3");
    CHECK_RC(rill__dec_rescale(-12355, 3, 10, 2, &v)); /* -12.355 -> -12.36 */
    CHECK_STR(fmt(v, 2), "-12.36");
    CHECK_EQ(rill__dec_rescale(12345, 0, 6, 2, &v), RILL_ERANGE); /* 12345.00: 7 digits */
}

TEST(types_decimal_division_and_result_types)
{
    rill__i128 v;
    int p, s;
    /* DECIMAL(10, 2) / DECIMAL(10, 2): scale max(6, 2 + 10 + 1) = 13, p = 10 - 2 + 2 + 13 */
    CHECK_RC(rill__dec_result_type('/', 10, 2, 10, 2, &p, &s));
    CHECK_EQ(p, 23);
    CHECK_EQ(s, 13);
    CHECK_RC(rill__dec_div(100, 2, 300, 2, p, s, &v)); /* 1.00 / 3.00 */
    CHECK_STR(fmt(v, s), "0.3333333333333");
    CHECK_RC(rill__dec_div(-200, 2, 300, 2, p, s, &v));
    CHECK_STR(fmt(v, s), "-0.6666666666667");
    CHECK_RC(rill__dec_div(1, 0, -8, 0, 10, 2, &v)); /* -0.125 -> -0.13 (half away from 0) */
    CHECK_STR(fmt(v, 2), "-0.13");
    CHECK_EQ(rill__dec_div(1, 0, 0, 0, 10, 2, &v), RILL_EINVAL);
    /* Flink's "0.908 * price" with price BIGINT (DECIMAL(19, 0)): the literal is DECIMAL(4, 3)
     * (Calcite counts the digits of "0.908", its leading 0 too), the product DECIMAL(23, 3) */
    CHECK_RC(rill__dec_result_type('*', 4, 3, 19, 0, &p, &s));
    CHECK_EQ(p, 23);
    CHECK_EQ(s, 3);
    CHECK_RC(rill__dec_mul(908, 3, 12345, 0, p, s, &v));
    CHECK_STR(fmt(v, s), "11209.260");
    /* + : DECIMAL(10, 2) + DECIMAL(5, 4) -> s 4, p max(8, 1) + 4 + 1 = 13 */
    CHECK_RC(rill__dec_result_type('+', 10, 2, 5, 4, &p, &s));
    CHECK_EQ(p, 13);
    CHECK_EQ(s, 4);
    /* past 38: DECIMAL(38, 10) * DECIMAL(38, 10) -> p 76, s 20: 56 integer digits win, s 6 */
    CHECK_RC(rill__dec_result_type('*', 38, 10, 38, 10, &p, &s));
    CHECK_EQ(p, 38);
    CHECK_EQ(s, 6);
    /* DECIMAL(38, 0) / DECIMAL(38, 0): s 39, p 77: 38 integer digits, s min(39, 6) = 6 */
    CHECK_RC(rill__dec_result_type('/', 38, 0, 38, 0, &p, &s));
    CHECK_EQ(p, 38);
    CHECK_EQ(s, 6);
    CHECK_EQ(rill__dec_result_type('^', 1, 0, 1, 0, &p, &s), RILL_EINVAL);
    /* MOD: the dividend's sign */
    CHECK_RC(rill__dec_mod(-75, 1, 20, 1, 10, 1, &v)); /* -7.5 mod 2.0 = -1.5 */
    CHECK_STR(fmt(v, 1), "-1.5");
}

/* Random operands against plain __int128 arithmetic with its own rounding. */
TEST(types_decimal_random_against_int128)
{
    uint64_t st = 1;
    for (int it = 0; it < 20000; it++) {
        st = rill__mix64(st);
        int64_t a = (int64_t)(st % 2000000001) - 1000000000;
        st = rill__mix64(st);
        int64_t b = (int64_t)(st % 2000000001) - 1000000000;
        int sa = (int)((st >> 40) % 5), sb = (int)((st >> 50) % 5), s = (int)((st >> 20) % 7);
        rill__i128 v, want;
        /* a*b at scale sa+sb, to scale s */
        rill__i128 prod = (rill__i128)a * b;
        int k = sa + sb - s;
        want = k >= 0 ? half_up_div(prod, p10(k)) : prod * p10(-k);
        CHECK_RC(rill__dec_mul(a, sa, b, sb, 38, s, &v));
        CHECK(v == want);
        /* a+b at scale max, to s */
        int m = sa > sb ? sa : sb;
        rill__i128 sum = (rill__i128)a * p10(m - sa) + (rill__i128)b * p10(m - sb);
        k = m - s;
        want = k >= 0 ? half_up_div(sum, p10(k)) : sum * p10(-k);
        CHECK_RC(rill__dec_add(a, sa, b, sb, 38, s, &v));
        CHECK(v == want);
        CHECK_RC(rill__dec_sub(a, sa, -b, sb, 38, s, &v));
        CHECK(v == want);
        if (b != 0) { /* a/b at scale s: a * 10^(s - sa + sb) / b */
            int e = s - sa + sb;
            rill__i128 n = (rill__i128)a, d = (rill__i128)b;
            if (e >= 0)
                n *= p10(e);
            else
                d *= p10(-e);
            want = half_up_div(n, d);
            CHECK_RC(rill__dec_div(a, sa, b, sb, 38, s, &v));
            CHECK(v == want);
            /* and near enough to long double division */
            long double q = (long double)a / powl(10, sa) / ((long double)b / powl(10, sb));
            CHECK(fabsl((long double)v / powl(10, s) - q) <= 0.5L / powl(10, s) * 1.0001L + 1e-12L);
        }
        CHECK_EQ(rill__dec_cmp(a, sa, b, sb),
                 (long double)a / powl(10, sa) < (long double)b / powl(10, sb)   ? -1
                 : (long double)a / powl(10, sa) > (long double)b / powl(10, sb) ? 1
                                                                                 : 0);
    }
}

TEST(types_decimal_double_and_public_api)
{
    rill__i128 v;
    CHECK_RC(rill__dec_from_double(0.1, 10, 2, &v));
    CHECK_STR(fmt(v, 2), "0.10");
    /* Flink's cast goes through the double's shortest text: 1.005 -> 1.01, not 1.00 */
    CHECK_RC(rill__dec_from_double(1.005, 10, 2, &v));
    CHECK_STR(fmt(v, 2), "1.01");
    CHECK_RC(rill__dec_from_double(-1e20, 38, 0, &v));
    CHECK_STR(fmt(v, 0), ones('0', 20, "-1"));
    CHECK_EQ(rill__dec_from_double(1e40, 38, 0, &v), RILL_ERANGE);
    CHECK_EQ(rill__dec_from_double((double)NAN, 38, 0, &v), RILL_ERANGE);
    CHECK(rill__dec_to_double(dec("0.1", 5, 1), 1) == 0.1);
    CHECK(rill__dec_to_double(dec("-123.456", 10, 3), 3) == -123.456);

    rill_decimal d;
    CHECK_RC(rill_decimal_parse("-0.5", 4, 5, 3, &d));
    char buf[RILL_DECIMAL_STR_MAX];
    CHECK_EQ(rill_decimal_format(&d, buf, sizeof buf), 6);
    CHECK_STR(buf, "-0.500");
    CHECK_EQ(rill_decimal_parse("1234", 4, 3, 0, &d), RILL_ERANGE);
    CHECK_EQ(rill_decimal_parse("12", 2, 39, 0, &d), RILL_EINVAL);
    rill_decimal a, b;
    CHECK_RC(rill_decimal_parse("1.50", 4, 5, 2, &a));
    CHECK_RC(rill_decimal_parse("1.5", 3, 5, 1, &b));
    CHECK_EQ(rill_decimal_cmp(&a, &b), 0);
    CHECK_RC(rill_decimal_parse("-1.5", 4, 5, 1, &b));
    CHECK_EQ(rill_decimal_cmp(&a, &b), 1);
    /* wide values through the public struct: hi/lo as two's complement */
    const char *w = ones('9', 30, "-");
    CHECK_RC(rill_decimal_parse(w, strlen(w), 38, 0, &d));
    CHECK(d.hi < 0);
    rill_decimal_format(&d, buf, sizeof buf);
    CHECK_STR(buf, w);
    CHECK_EQ(rill_decimal_format(&d, buf, 5), 31); /* cut, length as snprintf */
    CHECK_STR(buf, "-999");
}

/* ---- schemas ------------------------------------------------------------------------------- */

TEST(types_schema_parse_and_describe_every_name)
{
    static const struct {
        const char *in, *flink; /* the text rill_type_format gives */
        rill_type type;
        int p, s, len;
        bool fixed;
    } cases[] = {
        {"BOOLEAN", "BOOLEAN", RILL_T_BOOL, 0, 0, 0, 0},
        {"TINYINT", "TINYINT", RILL_T_INT8, 0, 0, 0, 0},
        {"SMALLINT", "SMALLINT", RILL_T_INT16, 0, 0, 0, 0},
        {"INT", "INT", RILL_T_INT32, 0, 0, 0, 0},
        {"integer", "INT", RILL_T_INT32, 0, 0, 0, 0},
        {"BIGINT", "BIGINT", RILL_T_INT64, 0, 0, 0, 0},
        {"FLOAT", "FLOAT", RILL_T_FLOAT, 0, 0, 0, 0},
        {"REAL", "FLOAT", RILL_T_FLOAT, 0, 0, 0, 0},
        {"DOUBLE PRECISION", "DOUBLE", RILL_T_DOUBLE, 0, 0, 0, 0},
        {"DECIMAL", "DECIMAL(10, 0)", RILL_T_DECIMAL, 10, 0, 0, 0},
        {"DECIMAL(10, 2)", "DECIMAL(10, 2)", RILL_T_DECIMAL, 10, 2, 0, 0},
        {"NUMERIC(38,38)", "DECIMAL(38, 38)", RILL_T_DECIMAL, 38, 38, 0, 0},
        {"DEC( 5 )", "DECIMAL(5, 0)", RILL_T_DECIMAL, 5, 0, 0, 0},
        {"CHAR", "CHAR(1)", RILL_T_STRING, 0, 0, 1, 1},
        {"CHAR(3)", "CHAR(3)", RILL_T_STRING, 0, 0, 3, 1},
        {"VARCHAR(20)", "VARCHAR(20)", RILL_T_STRING, 0, 0, 20, 0},
        {"VARCHAR", "STRING", RILL_T_STRING, 0, 0, 0, 0},
        {"STRING", "STRING", RILL_T_STRING, 0, 0, 0, 0},
        {"BINARY(16)", "BINARY(16)", RILL_T_BYTES, 0, 0, 16, 1},
        {"VARBINARY(8)", "VARBINARY(8)", RILL_T_BYTES, 0, 0, 8, 0},
        {"BYTES", "BYTES", RILL_T_BYTES, 0, 0, 0, 0},
        {"DATE", "DATE", RILL_T_DATE, 0, 0, 0, 0},
        {"TIME", "TIME(0)", RILL_T_TIME, 0, 0, 0, 0},
        {"TIME(3) WITHOUT TIME ZONE", "TIME(3)", RILL_T_TIME, 3, 0, 0, 0},
        {"TIMESTAMP", "TIMESTAMP(3)", RILL_T_TIMESTAMP, 3, 0, 0, 0},
        {"TIMESTAMP(9)", "TIMESTAMP(9)", RILL_T_TIMESTAMP, 9, 0, 0, 0},
        {"TIMESTAMP(6) WITHOUT TIME ZONE", "TIMESTAMP(6)", RILL_T_TIMESTAMP, 6, 0, 0, 0},
        {"TIMESTAMP_LTZ(3)", "TIMESTAMP_LTZ(3)", RILL_T_TIMESTAMP_LTZ, 3, 0, 0, 0},
        {"TIMESTAMP_LTZ", "TIMESTAMP_LTZ(6)", RILL_T_TIMESTAMP_LTZ, 6, 0, 0, 0},
        {"TIMESTAMP WITH LOCAL TIME ZONE", "TIMESTAMP_LTZ(6)", RILL_T_TIMESTAMP_LTZ, 6, 0, 0, 0},
        {"TIMESTAMP(0) WITH LOCAL TIME ZONE", "TIMESTAMP_LTZ(0)", RILL_T_TIMESTAMP_LTZ, 0, 0, 0, 0},
        {"INTERVAL YEAR TO MONTH", "INTERVAL YEAR(2) TO MONTH", RILL_T_INTERVAL_YM, 2, 0, 0, 0},
        {"INTERVAL YEAR(4)", "INTERVAL YEAR(4) TO MONTH", RILL_T_INTERVAL_YM, 4, 0, 0, 0},
        {"INTERVAL MONTH", "INTERVAL YEAR(2) TO MONTH", RILL_T_INTERVAL_YM, 2, 0, 0, 0},
        {"INTERVAL DAY TO SECOND(3)", "INTERVAL DAY(2) TO SECOND(3)", RILL_T_INTERVAL_DT, 2, 3, 0,
         0},
        {"INTERVAL HOUR TO MINUTE", "INTERVAL DAY(2) TO SECOND(6)", RILL_T_INTERVAL_DT, 2, 6, 0, 0},
        {"INTERVAL SECOND(3, 1)", "INTERVAL DAY(3) TO SECOND(1)", RILL_T_INTERVAL_DT, 3, 1, 0, 0},
    };
    for (size_t i = 0; i < RILL_ARRAY_LEN(cases); i++) {
        char spec[128];
        snprintf(spec, sizeof spec, "a INT64, x %s NOT NULL, z BOOL", cases[i].in);
        rill_schema *s = NULL;
        int rc = rill_schema_parse(spec, &s);
        if (rc)
            rill_test_fail(__FILE__, __LINE__, "\"%s\": %s", spec, rill_last_error());
        rill_type_info t = rill_schema_field_info(s, 1);
        if (t.type != cases[i].type || t.precision != cases[i].p || t.scale != cases[i].s ||
            t.length != cases[i].len || t.fixed != cases[i].fixed)
            rill_test_fail(__FILE__, __LINE__, "\"%s\": type %d (%d, %d) len %d fixed %d",
                           cases[i].in, t.type, t.precision, t.scale, t.length, t.fixed);
        CHECK(!rill_schema_field_nullable(s, 1));
        char name[64];
        rill_type_format(t, name, sizeof name);
        CHECK_STR(name, cases[i].flink);
        /* the description parses back to the same types */
        rill__buf b = {0};
        rill__schema_describe(s, &b);
        rill_schema *s2 = NULL;
        if (rill_schema_parse(rill__buf_cstr(&b), &s2))
            rill_test_fail(__FILE__, __LINE__, "\"%s\" does not parse back: %s", rill__buf_cstr(&b),
                           rill_last_error());
        CHECK(rill__schema_compatible(s, s2));
        rill_type_info t2 = rill_schema_field_info(s2, 1);
        CHECK_EQ(t2.length, t.length);
        CHECK_EQ(t2.fixed, t.fixed);
        rill__buf_free(&b);
        rill_schema_free(s2);
        rill_schema_free(s);
    }
    /* the old names describe as they always did */
    rill_schema *s = NULL;
    CHECK_RC(
        rill_schema_parse("a INT64, b TIMESTAMP, c STRING, d DECIMAL(20,3), e TIMESTAMP(6)", &s));
    rill__buf b = {0};
    rill__schema_describe(s, &b);
    CHECK_STR(rill__buf_cstr(&b),
              "a INT64, b TIMESTAMP, c STRING, d DECIMAL(20, 3), e TIMESTAMP(6)");
    CHECK(s->fields[3].in_bytes);
    CHECK(!s->fields[4].in_bytes);
    rill__buf_free(&b);
    rill_schema_free(s);
    CHECK_STR(rill_type_name(RILL_T_DECIMAL), "DECIMAL");
    CHECK_STR(rill_type_name(RILL_T_TIMESTAMP_LTZ), "TIMESTAMP_LTZ");
}

TEST(types_schema_parameter_errors)
{
    static const struct {
        const char *spec, *msg;
    } bad[] = {
        {"x DECIMAL(39)", "precision 39 is not in 1..38"},
        {"x DECIMAL(0)", "precision 0"},
        {"x DECIMAL(5, 6)", "the scale is not in 0..5"},
        {"x TIMESTAMP(10)", "TIMESTAMP precision 10"},
        {"x TIME(12)", "TIME precision 12"},
        {"x CHAR(0)", "length"},
        {"x VARCHAR(3", "malformed VARCHAR type at column 3"},
        {"x DECIMAL(1,2,3)", "malformed DECIMAL"},
        {"x INTERVAL MONTH TO YEAR", "malformed INTERVAL"},
        {"x INTERVAL WEEK", "malformed INTERVAL"},
        {"x INT32", "unknown type 'INT32'"},
    };
    for (size_t i = 0; i < RILL_ARRAY_LEN(bad); i++) {
        rill_schema *s = (rill_schema *)1;
        CHECK_EQ(rill_schema_parse(bad[i].spec, &s), RILL_EPARSE);
        CHECK(s == NULL);
        CHECK_CONTAINS(rill_last_error(), bad[i].msg);
    }
    rill_schema *s = rill_schema_new();
    CHECK_EQ(rill_schema_add_typed(s, "d", (rill_type_info){RILL_T_DECIMAL, 40, 0, 0, 0}, true),
             RILL_EINVAL);
    CHECK_CONTAINS(rill_last_error(), "field 'd'");
    CHECK_EQ(rill_schema_add_typed(s, "i", (rill_type_info){RILL_T_INT32, 3, 0, 0, 0}, true),
             RILL_EINVAL);
    CHECK_RC(rill_schema_add_typed(s, "d", (rill_type_info){RILL_T_DECIMAL, 19, 2, 0, 0}, true));
    CHECK(s->fields[0].in_bytes);
    CHECK_EQ(rill_schema_field_info(s, 5).type, 0);
    rill_schema_free(s);
}

/* ---- codecs -------------------------------------------------------------------------------- */

/* Days from 1970-01-01 by counting, month by month (an independent calendar). */
static int64_t count_days(int y, int m, int d)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t n = 0;
    for (int yy = 1970; yy < y; yy++)
        n += ((yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0) ? 366 : 365;
    for (int yy = y; yy < 1970; yy++)
        n -= ((yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0) ? 366 : 365;
    for (int mm = 1; mm < m; mm++)
        n += dm[mm - 1] + (mm == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    return n + d - 1;
}

static const char *kinds_spec =
    "i8 TINYINT, i16 SMALLINT, i32 INT, f FLOAT, d DECIMAL(10, 2), w DECIMAL(30, 4), "
    "dt DATE, t3 TIME(3), t9 TIME(9), ts6 TIMESTAMP(6), ltz TIMESTAMP_LTZ(3), by BYTES, "
    "ym INTERVAL YEAR TO MONTH, ds INTERVAL DAY TO SECOND(3), ts TIMESTAMP, s VARCHAR(5)";

/* The CSV line and JSON object of one row of kinds_spec, and the slot values they mean. */
static const char *csv_line = "-128,32767,-2147483648,1.5,-12.345,"
                              "-123456789012345678901234.56789,2024-02-29,23:59:59.999,"
                              "00:00:01.000000001,1969-12-31 23:59:59.999999,"
                              "2024-05-01 12:00:00.25Z,aGVsbG8=,-14,90061001,"
                              "2024-05-01T12:00:00Z,abc";
static const char *csv_out = "-128,32767,-2147483648,1.5,-12.35,"
                             "-123456789012345678901234.5679,2024-02-29,23:59:59.999,"
                             "00:00:01.000000001,1969-12-31 23:59:59.999999,"
                             "2024-05-01 12:00:00.25Z,aGVsbG8=,-14,90061001,1714564800000,abc\n";

static void check_kinds_row(const rill_row *r)
{
    CHECK_EQ(rill_row_i32(r, 0), -128);
    CHECK_EQ(rill_row_i64(r, 0), -128); /* sign-extended */
    CHECK_EQ(rill_row_i32(r, 1), 32767);
    CHECK_EQ(rill_row_i32(r, 2), INT32_MIN);
    CHECK(rill_row_f32(r, 3) == 1.5f);
    CHECK_EQ(r->v[3] >> 32, 0);
    rill_decimal d = rill_row_decimal(r, 4);
    CHECK_EQ(d.scale, 2);
    CHECK_EQ((int64_t)d.lo, -1235);
    CHECK_EQ(d.hi, -1);
    d = rill_row_decimal(r, 5);
    char buf[RILL_DECIMAL_STR_MAX];
    rill_decimal_format(&d, buf, sizeof buf);
    CHECK_STR(buf, "-123456789012345678901234.5679"); /* ...56789 HALF_UP to 4 digits */
    CHECK_EQ(rill_row_i32(r, 6), count_days(2024, 2, 29));
    CHECK_EQ(rill_row_i64(r, 7), 86399999);
    CHECK_EQ(rill_row_i64(r, 8), 1000000001);
    CHECK_EQ(rill_row_i64(r, 9), -1000); /* ns: one microsecond before the epoch */
    CHECK_EQ(rill_row_i64(r, 10), (count_days(2024, 5, 1) * 86400 + 12 * 3600) * 1000 + 250);
    size_t n;
    const void *p = rill_row_bytes(r, 11, &n);
    CHECK_EQ(n, 5);
    CHECK(memcmp(p, "hello", 5) == 0);
    CHECK_EQ(rill_row_i32(r, 12), -14);
    CHECK_EQ(rill_row_i64(r, 13), ((1 * 24 + 1) * 3600 + 60 + 1) * INT64_C(1000) + 1);
    CHECK_EQ(rill_row_ts(r, 14), (count_days(2024, 5, 1) * 86400 + 12 * 3600) * 1000);
}

TEST(types_csv_and_json_round_trip_every_kind)
{
    rill_schema *s = NULL;
    CHECK_RC(rill_schema_parse(kinds_spec, &s));
    rill_batch *b = rill__batch_new(s, 8);
    rill__decoder d;
    rill__parse_err err;
    rill__decoder_init(&d, s, RILL_FMT_CSV, ',');
    if (rill__decode_line(&d, csv_line, strlen(csv_line), b, &err))
        rill_test_fail(__FILE__, __LINE__, "decode: %s (column %ld)", err.what, err.column);
    rill__decoder_close(&d);
    rill_row r = rill__batch_row(b, 0);
    check_kinds_row(&r);
    rill__buf out = {0};
    rill__encode_csv_row(s, &r, ',', &out);
    CHECK_STR(rill__buf_cstr(&out), csv_out);
    /* the CSV output decodes to the same row */
    rill__decoder_init(&d, s, RILL_FMT_CSV, ',');
    CHECK_RC(rill__decode_line(&d, out.data, out.len - 1, b, &err));
    rill__decoder_close(&d);
    r = rill__batch_row(b, 1);
    check_kinds_row(&r);
    /* JSON: out, and back in */
    out.len = 0;
    rill__encode_json_row(s, &r, &out);
    CHECK_STR(rill__buf_cstr(&out),
              "{\"i8\":-128,\"i16\":32767,\"i32\":-2147483648,\"f\":1.5,\"d\":-12.35,"
              "\"w\":-123456789012345678901234.5679,\"dt\":\"2024-02-29\",\"t3\":\"23:59:59.999\","
              "\"t9\":\"00:00:01.000000001\",\"ts6\":\"1969-12-31 23:59:59.999999\","
              "\"ltz\":\"2024-05-01 12:00:00.25Z\",\"by\":\"aGVsbG8=\",\"ym\":-14,"
              "\"ds\":90061001,\"ts\":1714564800000,\"s\":\"abc\"}\n");
    rill__decoder_init(&d, s, RILL_FMT_JSON, 0);
    CHECK_RC(rill__decode_line(&d, out.data, out.len - 1, b, &err));
    r = rill__batch_row(b, 2);
    check_kinds_row(&r);
    /* JSON with ISO-8601 'T' timestamps, strings for numbers where Flink allows */
    const char *j =
        "{\"i8\":-128,\"i16\":32767,\"i32\":-2147483648,\"f\":1.5,\"d\":\"-12.345\","
        "\"w\":-1.2345678901234567890123456789e23,\"dt\":\"2024-02-29\","
        "\"t3\":\"23:59:59.999\",\"t9\":\"00:00:01.000000001\","
        "\"ts6\":\"1969-12-31T23:59:59.999999\",\"ltz\":\"2024-05-01T12:00:00.250Z\","
        "\"by\":\"aGVsbG8=\",\"ym\":-14,\"ds\":90061001,\"ts\":\"2024-05-01T12:00:00Z\"}";
    CHECK_RC(rill__decode_line(&d, j, strlen(j), b, &err));
    r = rill__batch_row(b, 3);
    rill_decimal w = rill_row_decimal(&r, 5);
    char buf[RILL_DECIMAL_STR_MAX];
    rill_decimal_format(&w, buf, sizeof buf);
    CHECK_STR(buf, "-123456789012345678901234.5679");
    CHECK_EQ((int64_t)rill_row_decimal(&r, 4).lo, -1235);
    CHECK_EQ(rill_row_i64(&r, 9), -1000);
    CHECK_EQ(rill_row_i64(&r, 10), (count_days(2024, 5, 1) * 86400 + 12 * 3600) * 1000 + 250);
    CHECK(rill_row_is_null(&r, 15));
    rill__decoder_close(&d);
    rill__buf_free(&out);
    rill__batch_unref(b);
    rill_schema_free(s);
}

TEST(types_codec_range_errors_name_the_column)
{
    rill_schema *s = NULL;
    CHECK_RC(rill_schema_parse(kinds_spec, &s));
    rill_batch *b = rill__batch_new(s, 8);
    static const struct {
        int col;
        const char *val, *msg;
    } cases[] = {
        {0, "128", "expected TINYINT for field 'i8', got \"128\" (out of range)"},
        {1, "-32769", "SMALLINT for field 'i16', got \"-32769\" (out of range)"},
        {2, "2147483648", "INT for field 'i32', got \"2147483648\" (out of range)"},
        {3, "1e39", "FLOAT for field 'f', got \"1e39\" (out of range)"},
        {4, "123456789.1", "DECIMAL(10, 2) for field 'd', got \"123456789.1\" (out of range)"},
        {4, "1.2.3", "DECIMAL(10, 2) for field 'd', got \"1.2.3\""},
        {6, "2023-02-29", "DATE (yyyy-MM-dd) for field 'dt'"},
        {7, "24:00:00", "TIME(3)"},
        {9, "2263-01-01 00:00:00",
         "TIMESTAMP(6) (yyyy-MM-dd HH:mm:ss[.f], ISO-8601 or epoch "
         "units) for field 'ts6', got \"2263-01-01 00:00:00\" (out of "
         "range)"},
        {11, "aGVsbG8", "BYTES (base64) for field 'by'"},
        {12, "2147483648", "field 'ym', got \"2147483648\" (out of range)"},
    };
    for (size_t i = 0; i < RILL_ARRAY_LEN(cases); i++) {
        char line[256] = "";
        for (int c = 0; c < 16; c++) {
            if (c)
                strcat(line, ",");
            if (c == cases[i].col)
                strcat(line, cases[i].val);
        }
        rill__decoder d;
        rill__parse_err err = {0};
        rill__decoder_init(&d, s, RILL_FMT_CSV, ',');
        CHECK_EQ(rill__decode_line(&d, line, strlen(line), b, &err), RILL_EPARSE);
        CHECK_EQ(err.field, cases[i].col);
        CHECK_CONTAINS(err.what, cases[i].msg);
        rill__decoder_close(&d);
        CHECK_EQ(b->n_rows, 0);
    }
    /* TIMESTAMP(9) holds 1677-09-21..2262-04-11 */
    rill_schema *s9 = NULL;
    CHECK_RC(rill_schema_parse("t TIMESTAMP(9)", &s9));
    rill_batch *b9 = rill__batch_new(s9, 4);
    rill__decoder d;
    rill__parse_err err;
    rill__decoder_init(&d, s9, RILL_FMT_JSON, 0);
    const char *ok = "{\"t\":\"2262-04-11 23:47:16.854775807\"}";
    CHECK_RC(rill__decode_line(&d, ok, strlen(ok), b9, &err));
    rill_row r = rill__batch_row(b9, 0);
    CHECK_EQ(rill_row_i64(&r, 0), INT64_MAX);
    const char *bad = "{\"t\":\"2262-04-11 23:47:16.854775808\"}";
    CHECK_EQ(rill__decode_line(&d, bad, strlen(bad), b9, &err), RILL_EPARSE);
    CHECK_CONTAINS(err.what, "got \"2262-04-11 23:47:16.854775808\" (out of range)");
    const char *old = "{\"t\":\"1677-09-21 00:12:43.145224192\"}";
    CHECK_RC(rill__decode_line(&d, old, strlen(old), b9, &err));
    r = rill__batch_row(b9, 1);
    CHECK_EQ(rill_row_i64(&r, 0), INT64_MIN);
    rill__buf out = {0};
    rill__encode_json_row(s9, &r, &out);
    CHECK_STR(rill__buf_cstr(&out), "{\"t\":\"1677-09-21 00:12:43.145224192\"}\n");
    rill__buf_free(&out);
    rill__decoder_close(&d);
    rill__batch_unref(b9);
    rill_schema_free(s9);
    rill__batch_unref(b);
    rill_schema_free(s);
}

/* ---- keys ---------------------------------------------------------------------------------- */

TEST(types_key_bytes_of_every_kind)
{
    rill_schema *s = NULL;
    CHECK_RC(rill_schema_parse("a TINYINT NOT NULL, b FLOAT NOT NULL, c DECIMAL(30, 2) NOT NULL, "
                               "d DATE, e BYTES NOT NULL",
                               &s));
    rill__key_spec k;
    rill__err e = {0};
    CHECK_RC(rill__key_spec_init(&k, s, "a,b,c,d,e", &e));
    CHECK(k.any_nullable);
    rill_batch *b1 = rill__batch_new(s, 4), *b2 = rill__batch_new(s, 4);
    rill_row r = rill__batch_append(b1);
    rill_row_set_i32(&r, 0, -5);
    rill_row_set_f32(&r, 1, 2.0f);
    rill_decimal dv;
    CHECK_RC(rill_decimal_parse("-1.25", 5, 30, 2, &dv));
    CHECK_RC(rill_row_set_decimal(&r, 2, &dv));
    rill_row_set_i32(&r, 3, 19000);
    CHECK_RC(rill_row_set_bytes(&r, 4, "\x00\x01", 2));
    rill__buf kb = {0};
    size_t n = rill__key_encode(&k, &r, &kb);
    /* null bytes (5), then 8 + 8 + (4 + 16) + 8 + (4 + 2) */
    CHECK_EQ(n, 5 + 8 + 8 + 20 + 8 + 6);
    unsigned char want[64] = {0, 0, 0, 0, 0};
    size_t o = 5;
    int64_t m5 = -5;
    memcpy(want + o, &m5, 8), o += 8;
    float two = 2.0f;
    uint64_t fb = 0;
    memcpy(&fb, &two, 4);
    memcpy(want + o, &fb, 8), o += 8;
    uint32_t l16 = 16;
    memcpy(want + o, &l16, 4), o += 4;
    /* -125 as 16 little-endian two's-complement bytes: 0x83 then 15 x 0xff */
    want[o] = 0x83;
    memset(want + o + 1, 0xff, 15);
    o += 16;
    int64_t days = 19000;
    memcpy(want + o, &days, 8), o += 8;
    uint32_t l2 = 2;
    memcpy(want + o, &l2, 4), o += 4;
    want[o++] = 0;
    want[o++] = 1;
    CHECK_EQ(o, n);
    CHECK(memcmp(kb.data, want, n) == 0);
    /* the same values in another batch (other byte offsets): the same key bytes and hash */
    rill_row r2 = rill__batch_append(b2);
    CHECK_RC(rill_row_set_bytes(&r2, 4, "pad", 3)); /* shifts the byte offsets */
    rill_row_copy(&r2, &r);
    rill__buf kb2 = {0};
    CHECK_EQ(rill__key_encode(&k, &r2, &kb2), n);
    CHECK(memcmp(kb2.data, kb.data, n) == 0);
    CHECK(rill__key_hash(&k, &r, &kb) == rill__key_hash(&k, &r2, &kb2));
    /* a non-nullable single 8-byte kind is the fast path; a wide decimal is not */
    rill__key_spec k1;
    CHECK_RC(rill__key_spec_init(&k1, s, "a", &e));
    CHECK(k1.fast_u64);
    CHECK_RC(rill__key_spec_init(&k1, s, "c", &e));
    CHECK(!k1.fast_u64);
    rill__buf_free(&kb);
    rill__buf_free(&kb2);
    rill__batch_unref(b1);
    rill__batch_unref(b2);
    rill_schema_free(s);
}

/* ---- row kinds ----------------------------------------------------------------------------- */

TEST(types_row_kinds_in_batches)
{
    rill_schema *s = NULL;
    CHECK_RC(rill_schema_parse("k INT64, v DECIMAL(20, 1)", &s));
    rill_batch *b = rill__batch_new(s, 8), *c = rill__batch_new(s, 8);
    for (int i = 0; i < 6; i++) {
        rill_row r = rill__batch_append(b);
        rill_row_set_i64(&r, 0, i);
        rill_decimal dv = {.lo = (uint64_t)(i * 10 + 5), .hi = 0, .scale = 1};
        CHECK_RC(rill_row_set_decimal(&r, 1, &dv));
        CHECK_EQ(rill_row_kind(&r), RILL_ROW_INSERT);
        if (i == 0)
            CHECK(!b->has_kinds); /* inserts allocate nothing */
        CHECK_RC(rill_row_set_kind(&r, (rill_rowkind)(i % 4)));
    }
    CHECK(b->has_kinds);
    for (uint32_t i = 0; i < 6; i++) {
        rill_row r = rill__batch_row(b, i);
        CHECK_EQ(rill_row_kind(&r), (int)(i % 4));
        rill__batch_append_copy(c, &r);
        rill_row rc_ = rill__batch_row(c, i);
        CHECK_EQ(rill_row_kind(&rc_), (int)(i % 4));
        CHECK_EQ((int64_t)rill_row_decimal(&rc_, 1).lo, (int64_t)i * 10 + 5);
    }
    CHECK_STR(rill_row_kind_name(RILL_ROW_UPDATE_BEFORE), "-U");
    CHECK_STR(rill_row_kind_name(RILL_ROW_DELETE), "-D");
    CHECK_STR(rill_row_kind_name((rill_rowkind)9), "?");
    /* a popped row's kind does not leak into the next one appended */
    rill__batch_pop(c);
    rill_row r = rill__batch_append(c);
    CHECK_EQ(rill_row_kind(&r), RILL_ROW_INSERT);
    /* a scratch view is not a row of its batch */
    uint64_t scratch[3] = {0};
    rill_row sv = {.v = scratch + 1, .nulls = scratch, .batch = b};
    CHECK_EQ(rill_row_set_kind(&sv, RILL_ROW_DELETE), RILL_EINVAL);
    CHECK_EQ(rill_row_kind(&sv), RILL_ROW_INSERT);
    CHECK_EQ(rill_row_set_kind(&r, (rill_rowkind)4), RILL_EINVAL);
    /* clear forgets them */
    rill__batch_clear(b);
    CHECK(!b->has_kinds);
    r = rill__batch_append(b);
    CHECK_EQ(rill_row_kind(&r), RILL_ROW_INSERT);
    rill__batch_unref(b);
    rill__batch_unref(c);
    rill_schema_free(s);
}

TEST(types_data_frame_round_trip_with_kinds)
{
    rill_schema *s = NULL;
    CHECK_RC(rill_schema_parse(kinds_spec, &s));
    rill_batch *b = rill__batch_new(s, 8);
    rill__decoder d;
    rill__parse_err perr;
    rill__decoder_init(&d, s, RILL_FMT_CSV, ',');
    for (int i = 0; i < 3; i++)
        CHECK_RC(rill__decode_line(&d, csv_line, strlen(csv_line), b, &perr));
    const char *nulls = ",,,,,,,,,,,,,,,";
    CHECK_RC(rill__decode_line(&d, nulls, strlen(nulls), b, &perr));
    rill__decoder_close(&d);
    rill_row r1 = rill__batch_row(b, 1), r3 = rill__batch_row(b, 3);
    CHECK_RC(rill_row_set_kind(&r1, RILL_ROW_UPDATE_AFTER));
    CHECK_RC(rill_row_set_kind(&r3, RILL_ROW_DELETE));
    rill__msg in = {.kind = RILL_MSG_BATCH, .batch = b};
    rill__remote_chan_id id = {1, 2, 3}, got;
    rill__buf w = {0};
    rill__err err = {0};
    uint16_t type;
    CHECK_RC(rill__remote_enc_msg(&w, id, &in, &type, &err));
    rill__remote_spec spec = {.schema = s, .max_rows = 64};
    rill__msg m;
    CHECK_RC(rill__remote_dec_msg(type, w.data, w.len, &spec, &got, &m, &err));
    rill_batch *o = m.batch;
    CHECK_EQ(o->n_rows, 4);
    for (uint32_t i = 0; i < 3; i++) {
        rill_row r = rill__batch_row(o, i);
        check_kinds_row(&r);
    }
    rill_row r = rill__batch_row(o, 1);
    CHECK_EQ(rill_row_kind(&r), RILL_ROW_UPDATE_AFTER);
    r = rill__batch_row(o, 0);
    CHECK_EQ(rill_row_kind(&r), RILL_ROW_INSERT);
    r = rill__batch_row(o, 3);
    CHECK_EQ(rill_row_kind(&r), RILL_ROW_DELETE);
    for (int f = 0; f < 16; f++)
        CHECK(rill_row_is_null(&r, f));
    rill__batch_unref(o);
    /* the kinds are the frame's last n_rows bytes: a kind of 4 is refused by name */
    w.data[w.len - 1] = 4;
    CHECK_EQ(rill__remote_dec_msg(type, w.data, w.len, &spec, &got, &m, &err), RILL_EPROTO);
    CHECK_CONTAINS(err.msg, "kind");
    /* an insert-only batch sends no kinds (the frame is n_rows bytes shorter) */
    size_t with = w.len;
    rill__batch_clear(b);
    rill__decoder_init(&d, s, RILL_FMT_CSV, ',');
    for (int i = 0; i < 3; i++)
        CHECK_RC(rill__decode_line(&d, csv_line, strlen(csv_line), b, &perr));
    CHECK_RC(rill__decode_line(&d, nulls, strlen(nulls), b, &perr));
    rill__decoder_close(&d);
    w.len = 0;
    CHECK_RC(rill__remote_enc_msg(&w, id, &in, &type, &err));
    CHECK_EQ(w.len, with - 4);
    /* a TINYINT slot out of its range from a peer is refused */
    rill__batch_clear(b);
    rill_row bad = rill__batch_append(b);
    rill_row_set_i64(&bad, 0, 300);
    w.len = 0;
    CHECK_RC(rill__remote_enc_msg(&w, id, &in, &type, &err));
    CHECK_EQ(rill__remote_dec_msg(type, w.data, w.len, &spec, &got, &m, &err), RILL_EPROTO);
    CHECK_CONTAINS(err.msg, "out of its type's range");
    rill__buf_free(&w);
    rill__batch_unref(b);
    rill_schema_free(s);
}

/* ---- row kinds through a job: map sets them, key_by partitions to 3 subtasks --------------- */

static atomic_long kinds_seen, kinds_wrong;

static int set_kind_map(rill_ctx *ctx, const rill_row *in, rill_row *out)
{
    (void)ctx;
    rill_row_copy(out, in);
    return rill_row_set_kind(out, (rill_rowkind)(rill_row_i64(in, 1) % 4));
}

static int copy_map(rill_ctx *ctx, const rill_row *in, rill_row *out)
{
    (void)ctx;
    return rill_row_copy(out, in); /* the kind comes along without being set */
}

static int drop_thirds(rill_ctx *ctx, const rill_row *in)
{
    (void)ctx;
    return rill_row_i64(in, 1) % 3 != 0;
}

static int check_kind(rill_ctx *ctx, const rill_row *in)
{
    (void)ctx;
    atomic_fetch_add(&kinds_seen, 1);
    if ((int64_t)rill_row_kind(in) != rill_row_i64(in, 1) % 4)
        atomic_fetch_add(&kinds_wrong, 1);
    return 0;
}

TEST(types_row_kinds_through_partitioning)
{
    atomic_store(&kinds_seen, 0);
    atomic_store(&kinds_wrong, 0);
    rill_env *env = rill_env_new();
    CHECK_RC(rill_env_set(env, "batch-size", "7"));
    rill_schema *s = NULL;
    CHECK_RC(rill_schema_parse("k INT64 NOT NULL, seq INT64 NOT NULL", &s));
    rill_gen_field f[2] = {
        {.name = "k", .kind = RILL_GEN_UNIFORM_INT, .a = 0, .b = 50},
        {.name = "seq", .kind = RILL_GEN_SEQUENCE, .a = 0, .b = 1},
    };
    rill_gen_opts g = {.seed = 3, .events = 5000, .fields = f, .n_fields = 2};
    rill_stream *src = rill_source_generator(env, s, &g);
    rill_stream_parallelism(src, 1);
    rill_schema *out = NULL;
    CHECK_RC(rill_schema_parse("k INT64 NOT NULL, seq INT64 NOT NULL", &out));
    rill_stream *m = rill_stream_map(src, out, set_kind_map, NULL);
    /* a filter (in place: its batch is its own), whose batches go to two consumers, so that
     * the map after it cannot run in place and copies rows without setting kinds */
    rill_stream *fl = rill_stream_filter(m, drop_thirds, NULL);
    rill_stream *m2 = rill_stream_map(fl, out, copy_map, NULL);
    rill_sink_blackhole(fl);
    rill_stream *p = rill_keyed_process(rill_stream_key_by(m2, "k"), NULL, check_kind, NULL);
    rill_stream_parallelism(p, 3);
    rill_sink_blackhole(p);
    int rc = rill_env_execute(env);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "job: %s", rill_errmsg(env));
    CHECK_EQ(atomic_load(&kinds_seen), 5000 - 1667); /* seq 0..4999 but multiples of 3 */
    CHECK_EQ(atomic_load(&kinds_wrong), 0);
    rill_schema_free(out);
    rill_schema_free(s);
    rill_env_free(env);
}

/* ---- SQL kinds as window keys, end to end: file source, key_by, window state, file sink ---- */

TEST(types_window_keyed_by_wide_decimal_and_bytes)
{
    const char *dir = rill_test_tmpdir();
    char in[512], outp[512];
    snprintf(in, sizeof in, "%s/in.csv", dir);
    snprintf(outp, sizeof outp, "%s/out.csv", dir);
    FILE *f = fopen(in, "w");
    CHECK(f != NULL);
    fputs("d,by,ts\n", f);
    /* two keys that differ only past the 18th digit, and bytes keys "hi"/"ho"; windows of 10 ms */
    static const char *const keys[] = {"1234567890123456789.01", "1234567890123456789.02"};
    static const char *const bys[] = {"aGk=", "aG8="};
    int count[2][2][3] = {{{0}}};
    for (int i = 0; i < 300; i++) {
        int a = i % 2, b = (i / 2) % 2, w = (i * 7 % 30) / 10; /* ts out of order within 30 ms */
        fprintf(f, "%s,%s,%d\n", keys[a], bys[b], i * 7 % 30);
        count[a][b][w]++;
    }
    fclose(f);
    rill_env *env = rill_env_new();
    CHECK_RC(rill_env_set(env, "parallelism", "2"));
    rill_schema *s = NULL;
    CHECK_RC(rill_schema_parse("d DECIMAL(21, 2) NOT NULL, by BYTES NOT NULL, ts TIMESTAMP NOT NULL",
                               &s));
    rill_stream *src = rill_source_file(env, in, s, NULL);
    rill_stream_parallelism(src, 1);
    rill_watermark_opts wo = {.kind = RILL_WM_BOUNDED, .max_delay_ms = 30};
    rill_stream *et = rill_stream_event_time(src, "ts", &wo);
    rill_window_spec w = {.kind = RILL_WINDOW_TUMBLING, .size_ms = 10};
    rill_agg_spec agg = {.kind = RILL_AGG_COUNT};
    rill_stream *out = rill_window_aggregate(rill_stream_key_by(et, "d,by"), &w, &agg, 1);
    rill_type_info ti = rill_schema_field_info(rill_stream_schema(out), 0);
    CHECK_EQ(ti.type, RILL_T_DECIMAL);
    CHECK_EQ(ti.precision, 21);
    CHECK_EQ(ti.scale, 2);
    rill_stream_parallelism(rill_sink_file(out, outp, NULL), 1);
    int rc = rill_env_execute(env);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "job: %s", rill_errmsg(env));
    rill_env_free(env);
    rill_schema_free(s);
    /* every (key, window) once, with its count */
    f = fopen(outp, "r");
    CHECK(f != NULL);
    char line[256];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        char d[64], by[16];
        long long ws, we, n;
        if (lines == 0 && strncmp(line, "d,by,window_start", 17) == 0)
            continue; /* the header */
        if (sscanf(line, "%63[^,],%15[^,],%lld,%lld,%lld", d, by, &ws, &we, &n) != 5)
            rill_test_fail(__FILE__, __LINE__, "output line \"%s\"", line);
        int a = strcmp(d, keys[0]) == 0 ? 0 : strcmp(d, keys[1]) == 0 ? 1 : -1;
        int b = strcmp(by, bys[0]) == 0 ? 0 : strcmp(by, bys[1]) == 0 ? 1 : -1;
        if (a < 0 || b < 0 || ws % 10 || we != ws + 10 || ws < 0 || ws > 20)
            rill_test_fail(__FILE__, __LINE__, "output line \"%s\"", line);
        CHECK_EQ(n, count[a][b][ws / 10]);
        count[a][b][ws / 10] = -1; /* seen */
        lines++;
    }
    fclose(f);
    CHECK_EQ(lines, 12);
}
