/* test_sql_types.c - the SQL layer's logical types (src/sql/types.c): Flink's names, casts,
 * common types and arithmetic result types. Expected values are Flink's documented results
 * (its type docs and LogicalTypeMerging's table), worked out by hand here. */
#include <stdarg.h>
#include <string.h>

#include "sql/types.h"
#include "test.h"

static rill__arena A;

static const rill__sql_ltype *T(rill__sql_root root, int p, int s)
{
    return rill__sql_type_make(&A, root, p, s, true);
}

static const rill__sql_ltype *NN(const rill__sql_ltype *t)
{
    return rill__sql_type_with_null(&A, t, false);
}

static const char *str(const rill__sql_ltype *t)
{
    return t ? rill__sql_type_str(&A, t) : "(none)";
}

#define DEC(p, s)  T(RILL_SQLT_DECIMAL, p, s)
#define INT_       T(RILL_SQLT_INT, 0, 0)
#define BIGINT     T(RILL_SQLT_BIGINT, 0, 0)
#define VARCHAR(n) T(RILL_SQLT_VARCHAR, n, 0)

TEST(sql_types_are_named_as_flink_names_them)
{
    rill__arena_init(&A, 4096);
    CHECK_STR(str(NN(INT_)), "INT NOT NULL");
    CHECK_STR(str(DEC(23, 3)), "DECIMAL(23, 3)");
    CHECK_STR(str(VARCHAR(RILL_SQL_MAX_LENGTH)), "STRING");
    CHECK_STR(str(VARCHAR(20)), "VARCHAR(20)");
    CHECK_STR(str(T(RILL_SQLT_VARBINARY, RILL_SQL_MAX_LENGTH, 0)), "BYTES");
    CHECK_STR(str(T(RILL_SQLT_CHAR, 3, 0)), "CHAR(3)");
    const rill__sql_ltype *ts =
        rill__sql_type_with_attr(&A, T(RILL_SQLT_TIMESTAMP, 3, 0), RILL_SQLA_ROWTIME);
    CHECK_STR(str(ts), "TIMESTAMP(3) *ROWTIME*");
    CHECK_STR(
        str(NN(rill__sql_type_with_attr(&A, T(RILL_SQLT_TIMESTAMP_LTZ, 3, 0), RILL_SQLA_PROCTIME))),
        "TIMESTAMP_LTZ(3) NOT NULL *PROCTIME*");
    CHECK_STR(str(rill__sql_type_interval(&A, RILL_SQLU_DAY, RILL_SQLU_SECOND, 2, 3, true)),
              "INTERVAL DAY(2) TO SECOND(3)");
    CHECK_STR(str(rill__sql_type_interval(&A, RILL_SQLU_SECOND, RILL_SQLU_SECOND, 2, 3, true)),
              "INTERVAL SECOND(3)");
    CHECK_STR(str(rill__sql_type_interval(&A, RILL_SQLU_YEAR, RILL_SQLU_MONTH, 4, 0, true)),
              "INTERVAL YEAR(4) TO MONTH");
    const char *names[] = {"id", "na`me"};
    const rill__sql_ltype *types[] = {NN(BIGINT), VARCHAR(RILL_SQL_MAX_LENGTH)};
    CHECK_STR(str(rill__sql_type_row(&A, 2, names, types, true)),
              "ROW<`id` BIGINT NOT NULL, `na``me` STRING>");
    CHECK_STR(str(rill__sql_type_collection(&A, RILL_SQLT_MAP, VARCHAR(RILL_SQL_MAX_LENGTH), INT_,
                                            false)),
              "MAP<STRING, INT> NOT NULL");
    /* defaults */
    CHECK_STR(str(rill__sql_type_of(&A, RILL_SQLT_DECIMAL, true)), "DECIMAL(10, 0)");
    CHECK_STR(str(rill__sql_type_of(&A, RILL_SQLT_TIMESTAMP, true)), "TIMESTAMP(6)");
    CHECK_STR(str(rill__sql_type_of(&A, RILL_SQLT_VARCHAR, true)), "VARCHAR(1)");
    rill__arena_close(&A);
}

TEST(sql_types_casts_follow_flinks_tables)
{
    rill__arena_init(&A, 4096);
    const rill__sql_ltype *tiny = T(RILL_SQLT_TINYINT, 0, 0), *dbl = T(RILL_SQLT_DOUBLE, 0, 0);
    const rill__sql_ltype *flt = T(RILL_SQLT_FLOAT, 0, 0), *boo = T(RILL_SQLT_BOOLEAN, 0, 0);
    const rill__sql_ltype *date = T(RILL_SQLT_DATE, 0, 0), *ts3 = T(RILL_SQLT_TIMESTAMP, 3, 0);
    const rill__sql_ltype *ltz = T(RILL_SQLT_TIMESTAMP_LTZ, 3, 0);
    const rill__sql_ltype *str_ = VARCHAR(RILL_SQL_MAX_LENGTH);
    /* widening is implicit, narrowing explicit only */
    CHECK(rill__sql_cast_implicit(tiny, BIGINT));
    CHECK(rill__sql_cast_implicit(INT_, DEC(10, 0)));
    CHECK(rill__sql_cast_implicit(DEC(10, 2), dbl));
    CHECK(rill__sql_cast_implicit(DEC(10, 2), flt));
    CHECK(!rill__sql_cast_implicit(dbl, flt));
    CHECK(rill__sql_cast_explicit(dbl, flt));
    CHECK(!rill__sql_cast_implicit(BIGINT, INT_));
    CHECK(rill__sql_cast_explicit(BIGINT, INT_));
    /* strings: only into strings implicitly; everything predefined into them explicitly */
    CHECK(!rill__sql_cast_implicit(INT_, str_));
    CHECK(rill__sql_cast_explicit(INT_, str_));
    CHECK(rill__sql_cast_explicit(str_, INT_));
    CHECK(rill__sql_cast_implicit(T(RILL_SQLT_CHAR, 3, 0), str_));
    CHECK(!rill__sql_cast_implicit(str_, T(RILL_SQLT_CHAR, 3, 0)));
    /* booleans and numbers only explicitly, and never a DATE from a number */
    CHECK(!rill__sql_cast_implicit(boo, INT_));
    CHECK(rill__sql_cast_explicit(boo, INT_));
    CHECK(!rill__sql_cast_explicit(INT_, date));
    /* datetimes */
    CHECK(rill__sql_cast_implicit(ts3, date));
    CHECK(rill__sql_cast_implicit(ts3, ltz));
    CHECK(rill__sql_cast_implicit(ltz, ts3));
    CHECK(!rill__sql_cast_implicit(date, ts3));
    CHECK(rill__sql_cast_explicit(date, ts3));
    CHECK(rill__sql_cast_explicit(BIGINT, ts3));
    /* nullability: NULL into NOT NULL only explicitly; the NULL type into everything */
    CHECK(!rill__sql_cast_implicit(INT_, NN(BIGINT)));
    CHECK(rill__sql_cast_implicit(NN(INT_), BIGINT));
    CHECK(rill__sql_cast_explicit(INT_, NN(BIGINT)));
    CHECK(rill__sql_cast_implicit(rill__sql_type_of(&A, RILL_SQLT_NULL, true), date));
    /* single-unit intervals and exact numbers, explicitly */
    const rill__sql_ltype *sec =
        rill__sql_type_interval(&A, RILL_SQLU_SECOND, RILL_SQLU_SECOND, 2, 3, true);
    const rill__sql_ltype *d2s =
        rill__sql_type_interval(&A, RILL_SQLU_DAY, RILL_SQLU_SECOND, 2, 3, true);
    CHECK(rill__sql_cast_explicit(sec, BIGINT));
    CHECK(!rill__sql_cast_implicit(sec, BIGINT));
    CHECK(!rill__sql_cast_explicit(d2s, BIGINT));
    /* rows field by field */
    const char *n1[] = {"a", "b"};
    const rill__sql_ltype *r1[] = {INT_, str_}, *r2[] = {BIGINT, str_}, *r3[] = {str_, INT_};
    CHECK(rill__sql_cast_implicit(rill__sql_type_row(&A, 2, n1, r1, true),
                                  rill__sql_type_row(&A, 2, n1, r2, true)));
    CHECK(!rill__sql_cast_implicit(rill__sql_type_row(&A, 2, n1, r1, true),
                                   rill__sql_type_row(&A, 2, n1, r3, true)));
    CHECK(rill__sql_cast_explicit(rill__sql_type_row(&A, 2, n1, r1, true),
                                  rill__sql_type_row(&A, 2, n1, r3, true)));
    rill__arena_close(&A);
}

static const char *common(int n, ...)
{
    const rill__sql_ltype *v[8];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        v[i] = va_arg(ap, const rill__sql_ltype *);
    va_end(ap);
    return str(rill__sql_common_type(&A, v, n));
}

TEST(sql_types_common_type_is_the_least_restrictive)
{
    rill__arena_init(&A, 4096);
    const rill__sql_ltype *nul = rill__sql_type_of(&A, RILL_SQLT_NULL, true);
    /* Flink's own example: [INT, BIGINT, DECIMAL(2, 2)] gives DECIMAL(21, 2) */
    CHECK_STR(common(3, NN(INT_), NN(BIGINT), NN(DEC(2, 2))), "DECIMAL(21, 2) NOT NULL");
    CHECK_STR(common(2, NN(INT_), BIGINT), "BIGINT");
    CHECK_STR(common(2, NN(INT_), nul), "INT");
    CHECK_STR(common(2, nul, nul), "(none)");
    CHECK_STR(common(2, INT_, VARCHAR(3)), "(none)");
    CHECK_STR(common(2, T(RILL_SQLT_FLOAT, 0, 0), INT_), "FLOAT");
    CHECK_STR(common(2, T(RILL_SQLT_FLOAT, 0, 0), DEC(5, 2)), "DOUBLE");
    CHECK_STR(common(2, DEC(5, 2), DEC(10, 4)), "DECIMAL(10, 4)");
    /* 38 digits at most: the integral digits are kept */
    CHECK_STR(common(2, DEC(38, 0), DEC(38, 10)), "DECIMAL(38, 0)");
    /* strings: the longer length; fixed lengths that differ become variable */
    CHECK_STR(common(2, T(RILL_SQLT_CHAR, 3, 0), T(RILL_SQLT_CHAR, 5, 0)), "VARCHAR(5)");
    CHECK_STR(common(2, T(RILL_SQLT_CHAR, 3, 0), T(RILL_SQLT_CHAR, 3, 0)), "CHAR(3)");
    CHECK_STR(common(2, VARCHAR(3), T(RILL_SQLT_CHAR, 5, 0)), "VARCHAR(5)");
    /* timestamps: the larger precision, the zoned root when mixed; time attributes dropped */
    CHECK_STR(common(2,
                     rill__sql_type_with_attr(&A, T(RILL_SQLT_TIMESTAMP, 3, 0), RILL_SQLA_ROWTIME),
                     T(RILL_SQLT_TIMESTAMP, 6, 0)),
              "TIMESTAMP(6)");
    CHECK_STR(common(2, T(RILL_SQLT_TIMESTAMP, 3, 0), T(RILL_SQLT_TIMESTAMP_LTZ, 3, 0)),
              "TIMESTAMP_LTZ(3)");
    /* no merge rule: the one the other casts to implicitly (Flink: DATE) */
    CHECK_STR(common(2, T(RILL_SQLT_DATE, 0, 0), T(RILL_SQLT_TIMESTAMP, 3, 0)), "DATE");
    rill__arena_close(&A);
}

static const char *arith(rill__sql_arith op, const rill__sql_ltype *x, const rill__sql_ltype *y)
{
    return str(rill__sql_arith_type(&A, op, x, y));
}

TEST(sql_types_arithmetic_result_types)
{
    rill__arena_init(&A, 4096);
    /* Nexmark q1's 0.908 * price: the literal is DECIMAL(4, 3), BIGINT is DECIMAL(19, 0) */
    CHECK_STR(arith(RILL_SQL_TIMES, NN(DEC(4, 3)), BIGINT), "DECIMAL(23, 3)");
    /* the table: + - * / % */
    CHECK_STR(arith(RILL_SQL_PLUS, NN(DEC(10, 2)), NN(DEC(5, 4))), "DECIMAL(13, 4) NOT NULL");
    CHECK_STR(arith(RILL_SQL_MINUS, DEC(10, 2), INT_), "DECIMAL(13, 2)");
    CHECK_STR(arith(RILL_SQL_DIVIDE, DEC(10, 2), DEC(5, 1)), "DECIMAL(17, 8)");
    CHECK_STR(arith(RILL_SQL_MOD, DEC(10, 2), DEC(5, 1)), "DECIMAL(6, 2)");
    /* past 38 digits: scale cut, at least min(scale, 6) kept */
    CHECK_STR(arith(RILL_SQL_PLUS, DEC(38, 8), DEC(32, 8)), "DECIMAL(38, 7)");
    CHECK_STR(arith(RILL_SQL_TIMES, DEC(38, 10), DEC(38, 10)), "DECIMAL(38, 6)");
    CHECK_STR(arith(RILL_SQL_DIVIDE, DEC(38, 0), DEC(38, 0)), "DECIMAL(38, 6)");
    /* integers stay integers (integer division); approximate wins */
    CHECK_STR(arith(RILL_SQL_DIVIDE, NN(INT_), NN(INT_)), "INT NOT NULL");
    CHECK_STR(arith(RILL_SQL_PLUS, T(RILL_SQLT_SMALLINT, 0, 0), BIGINT), "BIGINT");
    CHECK_STR(arith(RILL_SQL_MOD, BIGINT, T(RILL_SQLT_TINYINT, 0, 0)), "TINYINT");
    CHECK_STR(arith(RILL_SQL_TIMES, T(RILL_SQLT_FLOAT, 0, 0), INT_), "FLOAT");
    CHECK_STR(arith(RILL_SQL_TIMES, T(RILL_SQLT_FLOAT, 0, 0), DEC(5, 2)), "DOUBLE");
    CHECK_STR(arith(RILL_SQL_PLUS, VARCHAR(3), INT_), "(none)");
    /* datetime and interval */
    const rill__sql_ltype *ts =
        rill__sql_type_with_attr(&A, NN(T(RILL_SQLT_TIMESTAMP, 3, 0)), RILL_SQLA_ROWTIME);
    const rill__sql_ltype *sec =
        NN(rill__sql_type_interval(&A, RILL_SQLU_SECOND, RILL_SQLU_SECOND, 2, 3, false));
    const rill__sql_ltype *day =
        NN(rill__sql_type_interval(&A, RILL_SQLU_DAY, RILL_SQLU_DAY, 2, 0, false));
    CHECK_STR(arith(RILL_SQL_MINUS, ts, sec), "TIMESTAMP(3) NOT NULL");
    CHECK_STR(arith(RILL_SQL_PLUS, sec, ts), "TIMESTAMP(3) NOT NULL");
    CHECK_STR(arith(RILL_SQL_MINUS, sec, ts), "(none)");
    CHECK_STR(arith(RILL_SQL_PLUS, T(RILL_SQLT_DATE, 0, 0), day), "DATE");
    CHECK_STR(arith(RILL_SQL_PLUS, T(RILL_SQLT_DATE, 0, 0), sec), "TIMESTAMP(6)");
    CHECK_STR(arith(RILL_SQL_TIMES, sec, INT_), "INTERVAL SECOND(3)");
    /* aggregates */
    CHECK_STR(str(rill__sql_sum_type(&A, DEC(10, 2))), "DECIMAL(38, 2)");
    CHECK_STR(str(rill__sql_avg_type(&A, DEC(10, 2))), "DECIMAL(38, 6)");
    CHECK_STR(str(rill__sql_avg_type(&A, DEC(10, 8))), "DECIMAL(38, 8)");
    CHECK_STR(str(rill__sql_avg_type(&A, NN(BIGINT))), "BIGINT NOT NULL");
    int p, s;
    rill__sql_round_decimal(10, 4, 2, &p, &s);
    CHECK(p == 9 && s == 2);
    rill__sql_round_decimal(10, 4, -1, &p, &s);
    CHECK(p == 7 && s == 0);
    rill__sql_round_decimal(10, 4, 6, &p, &s);
    CHECK(p == 10 && s == 4);
    rill__arena_close(&A);
}
