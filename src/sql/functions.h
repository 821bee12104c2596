/*
 * functions.h - the SQL layer's scalar functions: one registry the binder resolves a call's
 * name against (built-ins now; C functions of CREATE FUNCTION ... LANGUAGE C next) and a
 * row kernel per function that the evaluator runs over a batch's active rows.
 *
 * A function says how many arguments it takes, what its result type is for the arguments'
 * types (and what each argument is to be cast to first: the binder makes the casts explicit,
 * so a kernel sees exactly the types it asked for), and computes one row from its arguments'
 * values. Most functions are strict (RILL_SQLF_STRICT: a NULL argument gives NULL, the kernel
 * is not called); a kernel is called only for rows an enclosing CASE, AND or OR reaches, so
 * its errors are errors of rows that are really computed, as in Flink's generated code.
 *
 * The families live in their own files: fn_string.c (character and binary strings, regular
 * expressions), fn_time.c (dates, times, timestamps, time zones), fn_math.c (numbers and
 * conditionals), fn_cast.c (CAST to and from character strings).
 */
#ifndef RILL_SQL_FUNCTIONS_H
#define RILL_SQL_FUNCTIONS_H

#include "ast.h"
#include "base/dec128.h"
#include "expr.h"

/* One argument's or the result's value in a row. */
typedef struct rill__sql_val {
    bool null;
    uint64_t v;     /* the slot (expr.h): integers, BOOLEAN, dates, times, timestamps,
                     * intervals; FLOAT and DOUBLE as their bits (rill__sql_val_double) */
    const char *b;  /* CHAR..VARBINARY: the bytes (len of them; not NUL-terminated) */
    size_t len;
    rill__i128 dec; /* DECIMAL: the unscaled value (the type gives the scale) */
} rill__sql_val;

static inline double rill__sql_val_double(const rill__sql_val *v)
{
    double d;
    memcpy(&d, &v->v, sizeof d);
    return d;
}

static inline void rill__sql_val_set_double(rill__sql_val *v, double d)
{
    memcpy(&v->v, &d, sizeof d);
}

static inline float rill__sql_val_float(const rill__sql_val *v)
{
    uint32_t u = (uint32_t)v->v;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline void rill__sql_val_set_float(rill__sql_val *v, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    v->v = u;
}

/* A call's context while a program runs: its node (types, position, unit, zone), a buffer
 * for results the kernel builds, and per-call state an open hook may set. */
typedef struct rill__sql_fn_ctx {
    const rill__sql_rex *x; /* x->type: the result; x->args[i]->type: argument i's */
    rill__buf tmp;          /* free for the kernel: a string result may point into it */
    void *state;            /* the function's own (open sets it, close frees it) */
    rill__err *err;         /* during a run */
    const char *text;       /* the script, for positions in errors */
} rill__sql_fn_ctx;

/* Fails the row: RILL_EINVAL with the message, naming the call's place in the script
 * (as "... at line L, column C: <message>"). */
int rill__sql_fn_fail(rill__sql_fn_ctx *c, const char *fmt, ...) RILL_PRINTF(2, 3);

/* What the binder knows of a call when it asks for the result type. */
typedef struct rill__sql_fn_call {
    const struct rill__sql_fn *fn; /* the function called */
    const char *name;              /* upper case */
    int n_args;
    rill__sql_rex *const *args; /* bound arguments: their types; constant ones are LITERAL */
    rill__sql_call_form form;   /* how it was written (ast.h): EXTRACT(unit FROM x)... */
    rill__sql_unit unit;        /* EXTRACT, CEIL/FLOOR TO, TIMESTAMPADD/DIFF */
    rill__sql_trim trim;        /* TRIM's side */
    const char *zone;           /* the session's table.local-time-zone ('UTC' unless SET) */
} rill__sql_fn_call;

enum {
    RILL_SQLF_STRICT = 1u << 0,   /* any NULL argument: NULL, the kernel not called */
    RILL_SQLF_VOLATILE = 1u << 1, /* a new value every row (RAND, NOW): never folded */
};

typedef struct rill__sql_fn {
    const char *name;           /* upper case, as called (a special form: its keyword) */
    int min_args, max_args;     /* max -1: any number */
    unsigned flags;             /* RILL_SQLF_* */
    /* The result type for these arguments, with nullability; cast[i] (all NULL on entry)
     * set to the type argument i is to be cast to first. NULL with msg set to a sentence
     * when the arguments do not fit ("SUBSTRING takes a string and INT positions"). */
    const rill__sql_ltype *(*infer)(rill__arena *a, const rill__sql_fn_call *call,
                                    const rill__sql_ltype **cast, char *msg, size_t cap);
    /* One row: out->null is false and out->v 0 on entry. A string result sets out->b/len
     * (into an argument's bytes, c->tmp or static bytes); a DECIMAL result sets out->dec.
     * 0, or rill__sql_fn_fail's code. */
    int (*row)(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out);
    /* Optional: once per program before its first row (compile a constant pattern), and
     * when it is freed. */
    int (*open)(rill__sql_fn_ctx *c);
    void (*close)(rill__sql_fn_ctx *c);
} rill__sql_fn;

/* The built-in function named name (any case), or NULL. */
const rill__sql_fn *rill__sql_fn_find(const char *name);

/* The i-th name of a built-in function callable by name (the registry's, then those the binder
 * and planner know: aggregates, window functions, COALESCE...), NULL past the last; names may
 * repeat. For SHOW FUNCTIONS. */
const char *rill__sql_fn_name_at(size_t i);

/* $NOT_NULL(x, 'column'): x, or an error naming the column (a NOT NULL sink column). */
extern const rill__sql_fn rill__sql_fn_not_null;

/* $WINDOW_START(ts, size_ms, offset_ms): the start of ts's tumbling window (a window TVF without
 * an aggregation). */
extern const rill__sql_fn rill__sql_fn_window_start;

/* Each family's table, ended by an entry with a NULL name. */
extern const rill__sql_fn rill__sql_fn_string[];
extern const rill__sql_fn rill__sql_fn_time[];
extern const rill__sql_fn rill__sql_fn_math[];

/* CAST between a character string and another type (fn_cast.c): whether rill can make it
 * (planning), and one row of it (c->x is the CAST node: its type is to, its argument's from).
 * A value that does not parse fails with Flink's kind of message; TRY_CAST makes it NULL. */
bool rill__sql_cast_string_ok(const rill__sql_ltype *from, const rill__sql_ltype *to);
int rill__sql_cast_string_row(rill__sql_fn_ctx *c, const rill__sql_ltype *from,
                              const rill__sql_ltype *to, const rill__sql_val *in,
                              rill__sql_val *out);

/* The same for DATE, TIME, TIMESTAMP and TIMESTAMP_LTZ (fn_time.c), which fn_cast.c's calls
 * hand over to. */
bool rill__sql_cast_time_text_ok(const rill__sql_ltype *from, const rill__sql_ltype *to);
int rill__sql_cast_time_text(rill__sql_fn_ctx *c, const rill__sql_ltype *from,
                             const rill__sql_ltype *to, const rill__sql_val *in,
                             rill__sql_val *out);

/* fn_time.c: CEIL/FLOOR(x TO unit) of a DATE, TIME, TIMESTAMP or TIMESTAMP_LTZ, for fn_math.c's
 * CEIL and FLOOR to call when call->form is RILL_SQL_C_CEIL_TO (call->name "CEIL" or "FLOOR"
 * tells which): the infer and the row kernel of a strict function. */
const rill__sql_ltype *rill__sql_fn_time_ceil_floor_infer(rill__arena *a,
                                                          const rill__sql_fn_call *call,
                                                          const rill__sql_ltype **cast, char *msg,
                                                          size_t cap);
int rill__sql_fn_time_ceil_floor_row(rill__sql_fn_ctx *c, const rill__sql_val *args,
                                     rill__sql_val *out);

/* fn_time.c: literals for the binder. DATE 'yyyy-MM-dd' or TIME 'HH:mm:ss[.f]' (root DATE or
 * TIME), and INTERVAL [-]'text' qualifier (months for YEAR/MONTH, else milliseconds): the slot
 * value and the literal's type (NOT NULL), or NULL with msg set. */
const rill__sql_ltype *rill__sql_fn_time_literal(rill__arena *a, rill__sql_root root,
                                                 const char *text, uint64_t *value, char *msg,
                                                 size_t cap);
const rill__sql_ltype *rill__sql_fn_time_interval(rill__arena *a, const char *text, int sign,
                                                  const rill__sql_interval_q *q, uint64_t *value,
                                                  char *msg, size_t cap);

/* fn_time.c: datetime +/- interval (interval + datetime), the evaluator's arithmetic for them:
 * whether eval.c can compute x op y into t, and one row of it (false: out of t's range). A
 * DATE plus a day-time interval is a DATE (whole days) or, when t says so, a TIMESTAMP; months
 * are added with the day cut to the month's length; a TIME goes around the clock. */
bool rill__sql_fn_time_arith_ok(bool minus, const rill__sql_ltype *t, const rill__sql_ltype *x,
                                const rill__sql_ltype *y);
bool rill__sql_fn_time_arith(bool minus, const rill__sql_ltype *t, const rill__sql_ltype *x,
                             uint64_t vx, const rill__sql_ltype *y, uint64_t vy, uint64_t *out);

/* The unit of an interval qualifier as written (catalog.c). */
rill__sql_tunit rill__sql_tunit_of(rill__sql_unit u);

/* Helpers for infer: the nullability of a strict call (any argument nullable), and a type
 * made in a. */
bool rill__sql_fn_any_nullable(const rill__sql_fn_call *call);
const rill__sql_ltype *rill__sql_fn_type(rill__arena *a, rill__sql_root root, int precision,
                                         int scale, bool nullable);

#endif /* RILL_SQL_FUNCTIONS_H */
