/*
 * types.h - the SQL layer's logical types: Flink's type system as the planner sees it (the
 * roots, their parameters and nullability, nested ROW, time attributes), its names as Flink
 * prints them, and its rules: which casts are implicit or explicit, the common type of several
 * (UNION, CASE, IN, comparisons), and the result types of arithmetic and of the aggregates whose
 * type depends on their argument. Physical rows have no nested ROW: the planner flattens it into
 * leaf columns (DESIGN.md §2). Types live in an arena (the planner's) and are never changed once
 * made: functions that "change" one return a new one.
 */
#ifndef RILL_SQL_TYPES_H
#define RILL_SQL_TYPES_H

#include <string.h>

#include "base/base.h"

typedef enum rill__sql_root {
    RILL_SQLT_NULL = 0, /* the type of an untyped NULL literal: casts to every type */
    RILL_SQLT_BOOLEAN,
    RILL_SQLT_TINYINT,
    RILL_SQLT_SMALLINT,
    RILL_SQLT_INT,
    RILL_SQLT_BIGINT,
    RILL_SQLT_DECIMAL, /* precision 1..38, scale 0..precision */
    RILL_SQLT_FLOAT,
    RILL_SQLT_DOUBLE,
    RILL_SQLT_CHAR,      /* length (in precision) 1..2^31-1 */
    RILL_SQLT_VARCHAR,   /* STRING is VARCHAR(2147483647) */
    RILL_SQLT_BINARY,    /* length 1.. */
    RILL_SQLT_VARBINARY, /* BYTES is VARBINARY(2147483647) */
    RILL_SQLT_DATE,
    RILL_SQLT_TIME,          /* precision 0..9 (fractional seconds) */
    RILL_SQLT_TIMESTAMP,     /* WITHOUT TIME ZONE, precision 0..9 */
    RILL_SQLT_TIMESTAMP_LTZ, /* WITH LOCAL TIME ZONE, precision 0..9 */
    RILL_SQLT_INTERVAL_YM,   /* YEAR, YEAR TO MONTH, MONTH (unit range in from/to) */
    RILL_SQLT_INTERVAL_DT,   /* DAY .. SECOND; scale: fractional second precision */
    RILL_SQLT_ROW,
    RILL_SQLT_ARRAY,
    RILL_SQLT_MAP,
    RILL_SQLT_MULTISET,
} rill__sql_root;

/* The units of an interval qualifier, in order. */
typedef enum rill__sql_tunit {
    RILL_SQLU_YEAR = 1,
    RILL_SQLU_MONTH,
    RILL_SQLU_DAY,
    RILL_SQLU_HOUR,
    RILL_SQLU_MINUTE,
    RILL_SQLU_SECOND,
} rill__sql_tunit;

/* A time attribute: a rowtime column (it has a WATERMARK) or a processing-time one (PROCTIME()),
 * shown by Flink as *ROWTIME* / *PROCTIME* after the type. */
typedef enum rill__sql_time_attr {
    RILL_SQLA_NONE = 0,
    RILL_SQLA_ROWTIME,
    RILL_SQLA_PROCTIME,
} rill__sql_time_attr;

#define RILL_SQL_MAX_LENGTH  2147483647
#define RILL_SQL_MAX_DECIMAL 38

typedef struct rill__sql_ltype rill__sql_ltype;

typedef struct rill__sql_lfield {
    const char *name; /* case as written; compared case-sensitively */
    const rill__sql_ltype *type;
} rill__sql_lfield;

struct rill__sql_ltype {
    rill__sql_root root;
    bool nullable;
    /* DECIMAL, TIME, TIMESTAMP(_LTZ): precision; CHAR, VARCHAR, BINARY, VARBINARY: length;
     * intervals: the leading unit's precision (digits of YEAR or DAY...) */
    int precision;
    int scale;                /* DECIMAL: scale; INTERVAL_DT: fractional second precision */
    rill__sql_tunit from, to; /* intervals: the qualifier (to == from for a single unit) */
    rill__sql_time_attr attr; /* TIMESTAMP(_LTZ) only */
    int n_fields;             /* ROW */
    const rill__sql_lfield *fields;
    const rill__sql_ltype *elem;  /* ARRAY, MULTISET: element; MAP: key */
    const rill__sql_ltype *value; /* MAP: value */
};

/* ---- making types ------------------------------------------------------------------------- */

/* A type of root with its parameters (use the defaults below where none was written). Never
 * NULL; parameters are not checked here (the parser checks what a user wrote). */
const rill__sql_ltype *rill__sql_type_make(rill__arena *a, rill__sql_root root, int precision,
                                           int scale, bool nullable);
/* Flink's defaults: DECIMAL(10, 0), CHAR(1), VARCHAR(1), BINARY(1), VARBINARY(1), TIME(0),
 * TIMESTAMP(6), TIMESTAMP_LTZ(6); INTERVAL DAY(2) TO SECOND(6) and YEAR(2) TO MONTH; 0 for
 * the rest. */
const rill__sql_ltype *rill__sql_type_of(rill__arena *a, rill__sql_root root, bool nullable);
const rill__sql_ltype *rill__sql_type_interval(rill__arena *a, rill__sql_tunit from,
                                               rill__sql_tunit to, int precision,
                                               int frac_precision, bool nullable);
/* A ROW of n fields (names and types copied into a). */
const rill__sql_ltype *rill__sql_type_row(rill__arena *a, int n, const char *const *names,
                                          const rill__sql_ltype *const *types, bool nullable);
const rill__sql_ltype *rill__sql_type_collection(rill__arena *a, rill__sql_root root,
                                                 const rill__sql_ltype *elem,
                                                 const rill__sql_ltype *value, bool nullable);
/* A deep copy of t in a. */
const rill__sql_ltype *rill__sql_type_copy(rill__arena *a, const rill__sql_ltype *t);
/* t with another nullability (t itself when it has it already). */
const rill__sql_ltype *rill__sql_type_with_null(rill__arena *a, const rill__sql_ltype *t,
                                                bool nullable);
/* t with another time attribute (TIMESTAMP(_LTZ) only). */
const rill__sql_ltype *rill__sql_type_with_attr(rill__arena *a, const rill__sql_ltype *t,
                                                rill__sql_time_attr attr);

/* ---- what types are -------------------------------------------------------------------------- */

/* An integer wrapped to the width of root, TINYINT..BIGINT (Java's narrowing of a long). */
static inline uint64_t rill__sql_wrap(rill__sql_root root, uint64_t v)
{
    switch (root) {
    case RILL_SQLT_TINYINT:
        return (uint64_t)(int64_t)(int8_t)(uint8_t)v;
    case RILL_SQLT_SMALLINT:
        return (uint64_t)(int64_t)(int16_t)(uint16_t)v;
    case RILL_SQLT_INT:
        return (uint64_t)(int64_t)(int32_t)(uint32_t)v;
    default:
        return v;
    }
}

bool rill__sql_is_exact(const rill__sql_ltype *t);     /* TINYINT..BIGINT, DECIMAL */
bool rill__sql_is_integer(const rill__sql_ltype *t);   /* TINYINT..BIGINT */
bool rill__sql_is_approx(const rill__sql_ltype *t);    /* FLOAT, DOUBLE */
bool rill__sql_is_numeric(const rill__sql_ltype *t);   /* exact or approximate */
bool rill__sql_is_character(const rill__sql_ltype *t); /* CHAR, VARCHAR */
bool rill__sql_is_binary(const rill__sql_ltype *t);    /* BINARY, VARBINARY */
bool rill__sql_is_timestamp(const rill__sql_ltype *t); /* TIMESTAMP, TIMESTAMP_LTZ */
bool rill__sql_is_datetime(const rill__sql_ltype *t);  /* DATE, TIME, timestamps */
bool rill__sql_is_interval(const rill__sql_ltype *t);
bool rill__sql_is_constructed(const rill__sql_ltype *t); /* ROW, ARRAY, MAP, MULTISET */
/* Its values live in a row's byte area (a string, bytes, a DECIMAL past 18 digits), not in the
 * slot. */
bool rill__sql_in_bytes(const rill__sql_ltype *t);

/* The value of a slot of approximate type t (FLOAT or DOUBLE) as a double. */
static inline double rill__sql_approx_double(const rill__sql_ltype *t, uint64_t v)
{
    if (t->root == RILL_SQLT_FLOAT) {
        uint32_t u = (uint32_t)v;
        float f;
        memcpy(&f, &u, sizeof f);
        return (double)f;
    }
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

/* The same type (parameters, fields and their names, nullability unless ignore_null; time
 * attributes are not part of a type's identity). */
bool rill__sql_type_equal(const rill__sql_ltype *x, const rill__sql_ltype *y, bool ignore_null);

/* An exact numeric type as DECIMAL(p, s): TINYINT (3, 0), SMALLINT (5, 0), INT (10, 0),
 * BIGINT (19, 0), DECIMAL itself. False for other types. */
bool rill__sql_as_decimal(const rill__sql_ltype *t, int *p, int *s);

/* Flink's summary string: "INT NOT NULL", "DECIMAL(23, 3)", "STRING", "BYTES",
 * "TIMESTAMP(3) *ROWTIME*", "TIMESTAMP_LTZ(3)", "INTERVAL DAY(2) TO SECOND(3)",
 * "ROW<`id` BIGINT, `name` STRING>", "ARRAY<INT>" (appended to out). */
void rill__sql_type_describe(const rill__sql_ltype *t, rill__buf *out);
/* The same as a string in a; for messages. */
const char *rill__sql_type_str(rill__arena *a, const rill__sql_ltype *t);

/* ---- Flink's rules -----------------------------------------------------------------------------
 */

/* Whether a value of type from can be used as type to without a written CAST (Flink's
 * LogicalTypeCasts implicit rules: widening only; a nullable type never into a NOT NULL one). */
bool rill__sql_cast_implicit(const rill__sql_ltype *from, const rill__sql_ltype *to);
/* Whether CAST(from AS to) is allowed at all (Flink's explicit casting rules). */
bool rill__sql_cast_explicit(const rill__sql_ltype *from, const rill__sql_ltype *to);

/* The least restrictive type of types[0..n) (UNION columns, CASE branches, IN lists, the sides
 * of a comparison), nullable when any is; NULL when there is none (INT and STRING). */
const rill__sql_ltype *rill__sql_common_type(rill__arena *a, const rill__sql_ltype *const *types,
                                             int n);

typedef enum rill__sql_arith {
    RILL_SQL_PLUS,
    RILL_SQL_MINUS,
    RILL_SQL_TIMES,
    RILL_SQL_DIVIDE,
    RILL_SQL_MOD,
} rill__sql_arith;

/* The result type of x op y for numeric operands (integers: the wider one, integer division;
 * FLOAT/DOUBLE with anything numeric: DOUBLE, or FLOAT when neither is DOUBLE; DECIMAL with an
 * exact type: Flink's decimal rules below), and of datetime +/- interval (the datetime's type);
 * NULL when the operator does not apply to these types. Nullable when either operand is. */
const rill__sql_ltype *rill__sql_arith_type(rill__arena *a, rill__sql_arith op,
                                            const rill__sql_ltype *x, const rill__sql_ltype *y);

/* Flink's decimal result precision and scale (SQL Server's rules, then, past 38 digits, the
 * scale cut to keep the integral digits, to no less than min(scale, 6)):
 *   +, -  s = max(s1, s2), p = max(p1 - s1, p2 - s2) + s + 1
 *   *     s = s1 + s2,     p = p1 + p2
 *   /     s = max(6, s1 + p2 + 1), p = p1 - s1 + s2 + s
 *   %     s = max(s1, s2), p = min(p1 - s1, p2 - s2) + s
 * (Flink 1.x's multiplication: 0.908 * BIGINT is DECIMAL(23, 3).) */
void rill__sql_decimal_result(rill__sql_arith op, int p1, int s1, int p2, int s2, int *p, int *s);
/* SUM over DECIMAL(p, s): DECIMAL(38, s); AVG: DECIMAL(38, max(6, s)) (division by the count,
 * a DECIMAL(20, 0)), else the argument's type; ROUND(DECIMAL(p, s), r) per Flink. */
const rill__sql_ltype *rill__sql_sum_type(rill__arena *a, const rill__sql_ltype *arg);
const rill__sql_ltype *rill__sql_avg_type(rill__arena *a, const rill__sql_ltype *arg);
void rill__sql_round_decimal(int p, int s, int r, int *p_out, int *s_out);

#endif /* RILL_SQL_TYPES_H */
