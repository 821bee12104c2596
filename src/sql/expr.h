/*
 * expr.h - the SQL layer's typed expressions (what the planner makes of the parser's
 * expressions: names resolved to input columns, types derived, implicit casts made explicit)
 * and their evaluation a batch at a time: a program of expressions is run over a whole batch,
 * one column vector per expression node, never by walking a tree per row. Rows that an
 * enclosing CASE, AND or OR does not reach are not evaluated (a division by zero there is no
 * error), as in Flink's generated code.
 *
 * Physical values (one 8-byte slot per column, DESIGN.md §2): BOOLEAN 0/1; TINYINT..BIGINT the
 * sign-extended integer; FLOAT the float's bits in the low 32; DOUBLE its bits; CHAR..VARBINARY
 * (offset << 32 | length) into a byte area; DATE days since 1970-01-01; TIME ms of the day;
 * TIMESTAMP(_LTZ) ms since the epoch (precision <= 3) or ns (4..9); INTERVAL_YM months;
 * INTERVAL_DT ms. Arithmetic follows Flink's (Java's) semantics: integers wrap at their width,
 * an integer division or modulo by zero fails the job, doubles follow IEEE 754.
 */
#ifndef RILL_SQL_EXPR_H
#define RILL_SQL_EXPR_H

#include "data/data.h"
#include "sql.h"
#include "types.h"

typedef enum rill__sql_rexop {
    RILL_SQLX_INPUT,   /* column `input` of the input batch */
    RILL_SQLX_LITERAL, /* lit (a slot value; lit_bytes for strings), or NULL (lit_null) */
    RILL_SQLX_CAST,    /* args[0] to `type` */
    RILL_SQLX_NEG,
    RILL_SQLX_PLUS, /* the operands have the result's type (the planner casts them) */
    RILL_SQLX_MINUS,
    RILL_SQLX_TIMES,
    RILL_SQLX_DIVIDE,
    RILL_SQLX_MOD,
    RILL_SQLX_EQ, /* the operands have one type (the planner casts them to their common one) */
    RILL_SQLX_NE,
    RILL_SQLX_LT,
    RILL_SQLX_LE,
    RILL_SQLX_GT,
    RILL_SQLX_GE,
    RILL_SQLX_IS_DISTINCT,
    RILL_SQLX_IS_NOT_DISTINCT,
    RILL_SQLX_AND, /* three-valued; n_args >= 2 */
    RILL_SQLX_OR,
    RILL_SQLX_NOT,
    RILL_SQLX_IS_NULL,
    RILL_SQLX_IS_NOT_NULL,
    RILL_SQLX_IS_TRUE,
    RILL_SQLX_IS_NOT_TRUE,
    RILL_SQLX_IS_FALSE,
    RILL_SQLX_IS_NOT_FALSE,
    RILL_SQLX_CASE,     /* args: when1, then1, when2, then2, ..., [else] (odd count: else) */
    RILL_SQLX_COALESCE, /* the first argument that is not NULL */
    RILL_SQLX_CONCAT,   /* || of character strings */
    RILL_SQLX_CHAR_LENGTH,
    RILL_SQLX_LIKE, /* args: string, pattern[, escape]: % and _ over characters (UTF-8) */
    RILL_SQLX_FUNC, /* fn (functions.h) over args, as call says */
} rill__sql_rexop;

struct rill__sql_fn;
struct rill__sql_fn_call;

typedef struct rill__sql_rex rill__sql_rex;
struct rill__sql_rex {
    rill__sql_rexop op;
    const rill__sql_ltype *type;
    rill__sql_pos pos; /* where it was written: errors name it */
    int n_args;
    rill__sql_rex **args;
    int input;    /* INPUT */
    uint64_t lit; /* LITERAL: the slot value (strings: its length only) */
    bool lit_null;
    const char *lit_bytes; /* LITERAL of a string type: its bytes (lit's length of them) */
    bool try_cast;                        /* CAST: TRY_CAST (a failure is NULL) */
    const char *zone; /* CAST to or from TIMESTAMP_LTZ: the session's time zone (NULL: UTC) */
    const struct rill__sql_fn *fn;        /* FUNC */
    const struct rill__sql_fn_call *call; /* FUNC: the call as bound (unit, zone...) */
};

/* A deep copy of x into a (calc.c). */
rill__sql_rex *rill__sql_rex_copy(rill__arena *a, const rill__sql_rex *x);
/* Makers (nodes in arena a). */
rill__sql_rex *rill__sql_x_input(rill__arena *a, int input, const rill__sql_ltype *type);
rill__sql_rex *rill__sql_x_literal(rill__arena *a, const rill__sql_ltype *type, uint64_t slot);
rill__sql_rex *rill__sql_x_string(rill__arena *a, const rill__sql_ltype *type, const char *s,
                                  size_t len);
rill__sql_rex *rill__sql_x_null(rill__arena *a, const rill__sql_ltype *type);
rill__sql_rex *rill__sql_x_call(rill__arena *a, rill__sql_rexop op, const rill__sql_ltype *type,
                                int n_args, rill__sql_rex *const *args);

/* x with every subexpression whose operands are all literals (and that is not volatile: RAND,
 * NOW...) computed now and made a literal; one that fails (a division by zero) is left to fail
 * when rows come, as Flink's constant reduction leaves it. Nodes are changed in place. */
rill__sql_rex *rill__sql_fold(rill__arena *a, rill__sql_rex *x, const char *text);
/* The slot kind and parameters of a logical type (planner.c). */
rill_type_info rill__sql_slot_of(const rill__sql_ltype *t);

/* ---- programs ----------------------------------------------------------------------------- */

/* A filter (or none) and projections over input batches of one schema, compiled once and run
 * batch after batch (one thread at a time: a program holds its scratch vectors). */
typedef struct rill__sql_prog rill__sql_prog;

/* The script's text names positions in errors (may be NULL). Checks every node's operand
 * types against what its operator takes: RILL_EINVAL (err) names the node when they do not
 * match (a planner bug, or an operator not supported for these types yet). */
int rill__sql_prog_new(const rill__sql_rex *filter, int n_out, rill__sql_rex *const *outs,
                       const char *text, rill__sql_prog **out, rill__err *err);
void rill__sql_prog_free(rill__sql_prog *p);

/* Appends to out, whose fields are the projections' types, one row per row of in for which
 * the filter is TRUE (not FALSE, not NULL), with the projections' values; each row keeps its
 * event time and its kind (+I, -U, +U, -D). out must have room for in's rows. 0, or an error of a row (a division
 * by zero, a cast that cannot be made) naming the expression's position: RILL_EINVAL, err. */
int rill__sql_prog_run(rill__sql_prog *p, rill_batch *in, rill_batch *out, rill__err *err);

#endif /* RILL_SQL_EXPR_H */
