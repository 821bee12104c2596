/*
 * ast.h - sql layer: the syntax tree of one Flink SQL statement, as the parser (parser.c) makes
 * it and the planner reads it, and its printer back to canonical SQL (ast.c). Every node lives
 * in the arena of its rill__sql_ast and carries the position where it starts (planner errors
 * point there with rill__sql_error(err, ast->text, node->pos, ...)). Lists are (n_x, x) pairs.
 * Nothing here is resolved: names are as written, types as written with Flink's defaults.
 */
#ifndef RILL_SQL_AST_H
#define RILL_SQL_AST_H

#include "sql.h"

typedef struct rill__sql_expr rill__sql_expr;
typedef struct rill__sql_type rill__sql_type;
typedef struct rill__sql_query rill__sql_query;
typedef struct rill__sql_from rill__sql_from;
typedef struct rill__sql_stmt rill__sql_stmt;

/* ---- names -------------------------------------------------------------------------------- */

/* One identifier: its exact text (quotes removed, `` made one; compared case-sensitively, as
 * Flink does), and whether it was back-quoted. */
typedef struct rill__sql_ident {
    const char *text;
    bool quoted;
    rill__sql_pos pos;
} rill__sql_ident;

/* A compound name: a, db.a, cat.db.a, t.col.nested (n_parts >= 1). */
typedef struct rill__sql_name {
    size_t n_parts;
    rill__sql_ident *parts;
    rill__sql_pos pos;
} rill__sql_name;

/* 'key' = 'value' (WITH options, SET, hints, PARTITION (k = 'v')); the strings unquoted. */
typedef struct rill__sql_option {
    const char *key, *value;
    rill__sql_pos pos;
} rill__sql_option;

/* A hint (in a hint comment after SELECT, a table name or INSERT INTO t): NAME(...) with 'k' = 'v'
 * options (n_options) or a list of plain values (n_values: identifiers or strings as written,
 * unquoted), or neither. */
typedef struct rill__sql_hint {
    rill__sql_ident name;
    size_t n_options;
    rill__sql_option *options;
    size_t n_values;
    const char **values;
    rill__sql_pos pos;
} rill__sql_hint;

/* ---- time units and interval qualifiers --------------------------------------------------- */

typedef enum rill__sql_unit {
    RILL_SQL_UNIT_NONE = 0,
    RILL_SQL_UNIT_YEAR,
    RILL_SQL_UNIT_QUARTER,
    RILL_SQL_UNIT_MONTH,
    RILL_SQL_UNIT_WEEK,
    RILL_SQL_UNIT_DAY,
    RILL_SQL_UNIT_HOUR,
    RILL_SQL_UNIT_MINUTE,
    RILL_SQL_UNIT_SECOND,
    RILL_SQL_UNIT_MILLISECOND,
    RILL_SQL_UNIT_MICROSECOND,
    RILL_SQL_UNIT_NANOSECOND,
    RILL_SQL_UNIT_DOW,
    RILL_SQL_UNIT_DOY,
    RILL_SQL_UNIT_EPOCH,
    RILL_SQL_UNIT_DECADE,
    RILL_SQL_UNIT_CENTURY,
    RILL_SQL_UNIT_MILLENNIUM,
    RILL_SQL_UNIT_ISODOW,
    RILL_SQL_UNIT_ISOYEAR,
} rill__sql_unit;
/* The unit's keyword ("YEAR"...), "" for NONE. */
const char *rill__sql_unit_name(rill__sql_unit u);

/* YEAR[(p)] [TO MONTH], DAY[(p)] [TO HOUR|MINUTE|SECOND[(f)]], HOUR..., MINUTE..., SECOND[(p[,
 * f])]. precision: the leading field's digits (given or Flink's default 2); frac: SECOND's fraction
 * digits (given or default 6; 0 when the qualifier has no SECOND). */
typedef struct rill__sql_interval_q {
    rill__sql_unit start, end; /* end NONE: a single field */
    int precision, frac;
    bool precision_given, frac_given;
    rill__sql_pos pos;
} rill__sql_interval_q;

/* ---- types -------------------------------------------------------------------------------- */

typedef enum rill__sql_type_kind {
    RILL_SQL_T_BOOLEAN,
    RILL_SQL_T_TINYINT,
    RILL_SQL_T_SMALLINT,
    RILL_SQL_T_INT,
    RILL_SQL_T_BIGINT,
    RILL_SQL_T_FLOAT, /* FLOAT and REAL: 4 bytes in Flink */
    RILL_SQL_T_DOUBLE,
    RILL_SQL_T_DECIMAL,
    RILL_SQL_T_CHAR,
    RILL_SQL_T_VARCHAR,
    RILL_SQL_T_BINARY,
    RILL_SQL_T_VARBINARY,
    RILL_SQL_T_DATE,
    RILL_SQL_T_TIME,
    RILL_SQL_T_TIMESTAMP,     /* TIMESTAMP[(p)] [WITHOUT TIME ZONE] */
    RILL_SQL_T_TIMESTAMP_LTZ, /* TIMESTAMP_LTZ[(p)], TIMESTAMP[(p)] WITH LOCAL TIME ZONE */
    RILL_SQL_T_INTERVAL,
    RILL_SQL_T_ROW,
    RILL_SQL_T_ARRAY,
    RILL_SQL_T_MAP,
    RILL_SQL_T_MULTISET,
} rill__sql_type_kind;

/* A ROW field: name type [COMMENT 's']. */
typedef struct rill__sql_field {
    rill__sql_ident name;
    rill__sql_type *type;
    const char *comment; /* NULL: none */
} rill__sql_field;

/* A data type as written. precision/scale hold the value given or the default of Flink's SQL
 * type system: DECIMAL (10, 0), CHAR and BINARY 1, VARCHAR and VARBINARY 2147483647 (so VARCHAR
 * alone is STRING, as Flink's FlinkTypeSystem makes it, not 1 as its Table API type does),
 * TIME 0, TIMESTAMP and TIMESTAMP_LTZ 6; given values are checked against Flink's limits. */
typedef struct rill__sql_type {
    rill__sql_type_kind kind;
    rill__sql_pos pos;
    int precision, scale; /* length for the string and binary kinds */
    bool precision_given, scale_given;
    bool not_null;   /* NOT NULL written after it */
    bool is_string;  /* written STRING (VARCHAR(2147483647)) or BYTES (VARBINARY(...)) */
    bool ltz_words;  /* TIMESTAMP_LTZ written as TIMESTAMP WITH LOCAL TIME ZONE */
    bool row_parens; /* ROW(a INT) rather than ROW<a INT> */
    size_t n_fields; /* ROW */
    rill__sql_field *fields;
    rill__sql_type *element;       /* ARRAY, MULTISET; the key of a MAP */
    rill__sql_type *value;         /* MAP */
    rill__sql_interval_q interval; /* INTERVAL */
} rill__sql_type;

/* ---- expressions -------------------------------------------------------------------------- */

typedef enum rill__sql_expr_kind {
    RILL_SQL_E_LITERAL,   /* lit */
    RILL_SQL_E_INTERVAL,  /* interval: INTERVAL [+|-]'text' qualifier */
    RILL_SQL_E_IDENT,     /* name: a, t.a, a.nested.field (resolved by the planner) */
    RILL_SQL_E_STAR,      /* *, t.* (star.qualifier); also COUNT(*)'s argument */
    RILL_SQL_E_UNARY,     /* unary: NOT, -, + */
    RILL_SQL_E_BINARY,    /* binary: AND OR = <> < ... + - * / % || IS [NOT] DISTINCT FROM */
    RILL_SQL_E_IS,        /* is: x IS [NOT] NULL|TRUE|FALSE|UNKNOWN */
    RILL_SQL_E_BETWEEN,   /* between */
    RILL_SQL_E_IN,        /* in: a list or a subquery */
    RILL_SQL_E_LIKE,      /* like: [NOT] LIKE / SIMILAR TO, ESCAPE */
    RILL_SQL_E_EXISTS,    /* query */
    RILL_SQL_E_SUBQUERY,  /* query: a scalar subquery */
    RILL_SQL_E_CALL,      /* call: f(args), with the special forms' extras */
    RILL_SQL_E_CAST,      /* cast: CAST / TRY_CAST (x AS type) */
    RILL_SQL_E_CASE,      /* kase */
    RILL_SQL_E_ROW,       /* list: ROW(a, b) (explicit) or (a, b) */
    RILL_SQL_E_ARRAY,     /* list: ARRAY[a, b] */
    RILL_SQL_E_MAP,       /* list: MAP[k1, v1, k2, v2] */
    RILL_SQL_E_ITEM,      /* item: x[i] */
    RILL_SQL_E_FIELD,     /* field: x[i].f (a field of an expression that is not a name) */
    RILL_SQL_E_TABLE_ARG, /* table_arg: TABLE t [PARTITION BY k, ...] as a function argument */
    RILL_SQL_E_NAMED_ARG, /* named: name => value, a function argument */
} rill__sql_expr_kind;

typedef enum rill__sql_lit_kind {
    RILL_SQL_L_NULL,
    RILL_SQL_L_TRUE,
    RILL_SQL_L_FALSE,
    RILL_SQL_L_UNKNOWN,
    RILL_SQL_L_INTEGER, /* digits: exact, type decided by the planner */
    RILL_SQL_L_DECIMAL, /* 1.5: exact */
    RILL_SQL_L_APPROX,  /* 1.5E3: DOUBLE */
    RILL_SQL_L_STRING,  /* the value (U& escapes decoded); len: bytes (it may hold NUL) */
    RILL_SQL_L_BINARY,  /* X'..': text holds the hex digits */
    RILL_SQL_L_DATE,
    RILL_SQL_L_TIME,
    RILL_SQL_L_TIMESTAMP, /* DATE 'text' ...: text unchecked */
} rill__sql_lit_kind;

typedef enum rill__sql_op {
    RILL_SQL_OP_OR,
    RILL_SQL_OP_AND,
    RILL_SQL_OP_NOT,
    RILL_SQL_OP_EQ,
    RILL_SQL_OP_NE, /* <> and != */
    RILL_SQL_OP_LT,
    RILL_SQL_OP_LE,
    RILL_SQL_OP_GT,
    RILL_SQL_OP_GE,
    RILL_SQL_OP_DISTINCT,
    RILL_SQL_OP_NOT_DISTINCT, /* IS [NOT] DISTINCT FROM */
    RILL_SQL_OP_PLUS,
    RILL_SQL_OP_MINUS,
    RILL_SQL_OP_MUL,
    RILL_SQL_OP_DIV,
    RILL_SQL_OP_MOD,
    RILL_SQL_OP_CONCAT,
    RILL_SQL_OP_NEG,
    RILL_SQL_OP_POS, /* unary - and + */
} rill__sql_op;
/* The operator's SQL text ("AND", "<>", "IS DISTINCT FROM", "-"...). */
const char *rill__sql_op_text(rill__sql_op op);

typedef enum rill__sql_is_test {
    RILL_SQL_IS_NULL,
    RILL_SQL_IS_TRUE,
    RILL_SQL_IS_FALSE,
    RILL_SQL_IS_UNKNOWN,
} rill__sql_is_test;

/* Window frame bounds: UNBOUNDED PRECEDING/FOLLOWING, CURRENT ROW, x PRECEDING/FOLLOWING. */
typedef enum rill__sql_bound_kind {
    RILL_SQL_B_UNBOUNDED_PRECEDING,
    RILL_SQL_B_PRECEDING,
    RILL_SQL_B_CURRENT_ROW,
    RILL_SQL_B_FOLLOWING,
    RILL_SQL_B_UNBOUNDED_FOLLOWING,
} rill__sql_bound_kind;

typedef struct rill__sql_bound {
    rill__sql_bound_kind kind;
    rill__sql_expr *offset; /* PRECEDING, FOLLOWING: a number or an INTERVAL */
} rill__sql_bound;

/* e [ASC|DESC] [NULLS FIRST|LAST] */
typedef struct rill__sql_order {
    rill__sql_expr *expr;
    bool desc;
    int nulls; /* 0: not said, 1: NULLS FIRST, 2: NULLS LAST */
} rill__sql_order;

/* A window: [base] [PARTITION BY ..] [ORDER BY ..] [ROWS|RANGE frame]; in OVER (...) and in a
 * SELECT's WINDOW w AS (...). */
typedef struct rill__sql_window {
    rill__sql_pos pos;
    rill__sql_ident *base; /* the name of a window it refines, or NULL */
    size_t n_partition;
    rill__sql_expr **partition;
    size_t n_order;
    rill__sql_order *order;
    int frame;    /* 0: none, 1: ROWS, 2: RANGE */
    bool between; /* BETWEEN lo AND hi; else lo alone (hi: CURRENT ROW) */
    rill__sql_bound lo, hi;
} rill__sql_window;

/* WHEN cond THEN value */
typedef struct rill__sql_when {
    rill__sql_expr *when, *then;
} rill__sql_when;

/* TRIM's side */
typedef enum rill__sql_trim {
    RILL_SQL_TRIM_NONE,
    RILL_SQL_TRIM_BOTH,
    RILL_SQL_TRIM_LEADING,
    RILL_SQL_TRIM_TRAILING,
} rill__sql_trim;

/* How a call was written, for the special syntaxes: the arguments are always in args. */
typedef enum rill__sql_call_form {
    RILL_SQL_C_PLAIN,     /* f(a, b); CEIL/FLOOR(x); TIMESTAMPADD(unit, a, b): unit in unit */
    RILL_SQL_C_NILADIC,   /* CURRENT_TIMESTAMP, CURRENT_DATE, LOCALTIMESTAMP... (no parens) */
    RILL_SQL_C_EXTRACT,   /* EXTRACT(unit FROM args[0]) */
    RILL_SQL_C_POSITION,  /* POSITION(args[0] IN args[1]) */
    RILL_SQL_C_TRIM,      /* TRIM([trim] [args[1]] FROM args[0]); args[1] absent: n_args 1 */
    RILL_SQL_C_SUBSTRING, /* SUBSTRING(args[0] FROM args[1] [FOR args[2]]) */
    RILL_SQL_C_OVERLAY,   /* OVERLAY(args[0] PLACING args[1] FROM args[2] [FOR args[3]]) */
    RILL_SQL_C_CEIL_TO,   /* CEIL/FLOOR(args[0] TO unit) */
} rill__sql_call_form;

typedef struct rill__sql_call {
    rill__sql_name name; /* as written; the special forms' keyword in upper case */
    rill__sql_call_form form;
    size_t n_args;
    rill__sql_expr **args;
    int quantifier;      /* 0: none, 1: DISTINCT, 2: ALL */
    rill__sql_unit unit; /* EXTRACT, CEIL/FLOOR TO, TIMESTAMPADD/TIMESTAMPDIFF's first */
    rill__sql_trim trim;
    rill__sql_expr *filter;     /* FILTER (WHERE cond), or NULL */
    bool over;                  /* OVER ... given */
    rill__sql_ident *over_name; /* OVER w */
    rill__sql_window *window;   /* OVER (...) */
} rill__sql_call;

/* An expression node: kind says which payload is set. */
struct rill__sql_expr {
    rill__sql_expr_kind kind;
    rill__sql_pos pos;
    union {
        struct { /* LITERAL */
            rill__sql_lit_kind kind;
            const char *text; /* the value: digits, string bytes, hex digits; NULL for NULL... */
            size_t len;
        } lit;
        struct {      /* INTERVAL */
            int sign; /* +1, or -1 for INTERVAL -'1' DAY */
            const char *text;
            rill__sql_interval_q q;
        } interval;
        rill__sql_name name;          /* IDENT */
        struct {                      /* STAR */
            rill__sql_name qualifier; /* n_parts 0: a bare * */
        } star;
        struct { /* UNARY */
            rill__sql_op op;
            rill__sql_expr *arg;
        } unary;
        struct { /* BINARY */
            rill__sql_op op;
            rill__sql_expr *left, *right;
        } binary;
        struct { /* IS */
            rill__sql_expr *arg;
            rill__sql_is_test test;
            bool negated;
        } is;
        struct { /* BETWEEN */
            rill__sql_expr *arg, *lo, *hi;
            bool negated;
            int symmetry; /* 0: not said, 1: ASYMMETRIC, 2: SYMMETRIC */
        } between;
        struct { /* IN */
            rill__sql_expr *arg;
            bool negated;
            size_t n_list;
            rill__sql_expr **list;
            rill__sql_query *query; /* or NULL: the list */
        } in;
        struct {                                    /* LIKE */
            rill__sql_expr *arg, *pattern, *escape; /* escape NULL: none */
            bool negated, similar;
        } like;
        rill__sql_query *query; /* EXISTS, SUBQUERY */
        rill__sql_call call;    /* CALL */
        struct {                /* CAST */
            rill__sql_expr *arg;
            rill__sql_type *type;
            bool try_cast;
        } cast;
        struct {                     /* CASE */
            rill__sql_expr *operand; /* CASE x WHEN ...; NULL: searched CASE */
            size_t n_whens;
            rill__sql_when *whens;
            rill__sql_expr *else_; /* NULL: none */
        } kase;
        struct { /* ROW, ARRAY, MAP */
            size_t n_items;
            rill__sql_expr **items;
            bool explicit_row; /* ROW(...) rather than (...) */
        } list;
        struct { /* ITEM */
            rill__sql_expr *arg, *index;
        } item;
        struct { /* FIELD */
            rill__sql_expr *arg;
            rill__sql_ident field;
        } field;
        struct { /* TABLE_ARG */
            rill__sql_name table;
            size_t n_partition;
            rill__sql_expr **partition;
        } table_arg;
        struct { /* NAMED_ARG */
            rill__sql_ident name;
            rill__sql_expr *value;
        } named;
    } u;
};

/* ---- queries ------------------------------------------------------------------------------ */

/* A select list item: expr [[AS] alias]; * and t.* are STAR expressions. */
typedef struct rill__sql_item {
    rill__sql_expr *expr;
    rill__sql_ident *alias; /* NULL: none */
} rill__sql_item;

/* One GROUP BY element. */
typedef enum rill__sql_group_kind {
    RILL_SQL_G_EXPR,          /* expr */
    RILL_SQL_G_EMPTY,         /* () */
    RILL_SQL_G_GROUPING_SETS, /* GROUPING SETS (elements) */
    RILL_SQL_G_ROLLUP,        /* ROLLUP (elements) */
    RILL_SQL_G_CUBE,          /* CUBE (elements) */
} rill__sql_group_kind;

typedef struct rill__sql_group {
    rill__sql_group_kind kind;
    rill__sql_pos pos;
    rill__sql_expr *expr; /* EXPR: an expression, or a row (a, b) for a composite set */
    size_t n_elems;
    struct rill__sql_group **elems;
} rill__sql_group;

/* WINDOW name AS (spec) */
typedef struct rill__sql_named_window {
    rill__sql_ident name;
    rill__sql_window *spec;
} rill__sql_named_window;

/* WITH name [(cols)] AS (query) */
typedef struct rill__sql_cte {
    rill__sql_ident name;
    size_t n_cols;
    rill__sql_ident *cols;
    rill__sql_query *query;
} rill__sql_cte;

typedef enum rill__sql_query_kind {
    RILL_SQL_Q_SELECT, /* select */
    RILL_SQL_Q_SETOP,  /* setop */
    RILL_SQL_Q_VALUES, /* values: rows, each a ROW expression (or a single value) */
} rill__sql_query_kind;

typedef enum rill__sql_setop_kind {
    RILL_SQL_SET_UNION,
    RILL_SQL_SET_INTERSECT,
    RILL_SQL_SET_EXCEPT, /* MINUS is EXCEPT */
} rill__sql_setop_kind;

/* A query: its body (kind), then the clauses that apply to its result: WITH before it,
 * ORDER BY, OFFSET and LIMIT / FETCH after it. */
struct rill__sql_query {
    rill__sql_query_kind kind;
    rill__sql_pos pos;
    size_t n_with;
    rill__sql_cte *with;
    union {
        struct {
            int quantifier; /* 0: none, 1: DISTINCT, 2: ALL */
            size_t n_hints;
            rill__sql_hint *hints; /* the hint comment after SELECT */
            size_t n_items;
            rill__sql_item *items;
            rill__sql_from *from; /* NULL: no FROM */
            rill__sql_expr *where, *having;
            bool has_group_by;
            size_t n_group;
            rill__sql_group **group;
            size_t n_windows;
            rill__sql_named_window *windows;
        } select;
        struct {
            rill__sql_setop_kind op;
            bool all;
            rill__sql_query *left, *right;
        } setop;
        struct {
            size_t n_rows;
            rill__sql_expr **rows;
        } values;
    } u;
    size_t n_order;
    rill__sql_order *order;
    rill__sql_expr *offset; /* OFFSET n [ROWS], or NULL */
    rill__sql_expr *limit;  /* LIMIT n or FETCH FIRST|NEXT n ROWS ONLY, or NULL */
    bool fetch;             /* written as FETCH */
};

/* ---- FROM --------------------------------------------------------------------------------- */

typedef enum rill__sql_from_kind {
    RILL_SQL_F_TABLE,    /* table: a named table or view */
    RILL_SQL_F_QUERY,    /* query: (subquery), LATERAL (subquery) */
    RILL_SQL_F_JOIN,     /* join */
    RILL_SQL_F_FUNCTION, /* call: TABLE(f(...)) (window TVFs), LATERAL TABLE(f(...)) */
    RILL_SQL_F_UNNEST,   /* unnest: UNNEST(a, ...) [WITH ORDINALITY] */
    RILL_SQL_F_MATCH,    /* match: input MATCH_RECOGNIZE (...) */
} rill__sql_from_kind;

typedef enum rill__sql_join_kind {
    RILL_SQL_J_INNER,
    RILL_SQL_J_LEFT,
    RILL_SQL_J_RIGHT,
    RILL_SQL_J_FULL,
    RILL_SQL_J_CROSS,
    RILL_SQL_J_COMMA, /* a, b */
} rill__sql_join_kind;

/* MATCH_RECOGNIZE's PATTERN: a regular expression over pattern variables. */
typedef enum rill__sql_pat_kind {
    RILL_SQL_P_VAR,   /* var */
    RILL_SQL_P_SEQ,   /* items in a row (n_items >= 2) */
    RILL_SQL_P_ALT,   /* items | items */
    RILL_SQL_P_GROUP, /* ( items[0] ) */
} rill__sql_pat_kind;

typedef struct rill__sql_pattern {
    rill__sql_pat_kind kind;
    rill__sql_pos pos;
    rill__sql_ident var;
    size_t n_items;
    struct rill__sql_pattern **items;
    /* quantifier: min..max (max -1: no bound); none: min = max = 1, quantified false */
    bool quantified, reluctant;
    int min, max;
    char quant_op; /* '*', '+', '?', '{' as written */
} rill__sql_pattern;

typedef struct rill__sql_measure {
    rill__sql_expr *expr;
    rill__sql_ident alias;
} rill__sql_measure;

typedef struct rill__sql_define {
    rill__sql_ident var;
    rill__sql_expr *cond;
} rill__sql_define;

/* AFTER MATCH SKIP ... */
typedef enum rill__sql_skip {
    RILL_SQL_SKIP_DEFAULT, /* not said */
    RILL_SQL_SKIP_PAST_LAST_ROW,
    RILL_SQL_SKIP_TO_NEXT_ROW,
    RILL_SQL_SKIP_TO_FIRST,
    RILL_SQL_SKIP_TO_LAST, /* TO LAST var, and TO var (printed TO LAST var) */
} rill__sql_skip;

typedef struct rill__sql_match {
    size_t n_partition;
    rill__sql_expr **partition;
    size_t n_order;
    rill__sql_order *order;
    size_t n_measures;
    rill__sql_measure *measures;
    int rows_per_match; /* 0: not said, 1: ONE ROW PER MATCH, 2: ALL ROWS PER MATCH */
    rill__sql_skip skip;
    rill__sql_ident skip_var;
    rill__sql_pattern *pattern;
    rill__sql_expr *within; /* WITHIN INTERVAL ..., or NULL */
    size_t n_defines;
    rill__sql_define *defines;
} rill__sql_match;

struct rill__sql_from {
    rill__sql_from_kind kind;
    rill__sql_pos pos;
    union {
        struct {
            rill__sql_name name;
            size_t n_hints;
            rill__sql_hint *hints;       /* t, then a hint comment: OPTIONS('k'='v') */
            rill__sql_expr *system_time; /* FOR SYSTEM_TIME AS OF expr, or NULL */
        } table;
        rill__sql_query *query; /* QUERY */
        struct {
            rill__sql_join_kind kind;
            bool natural;
            rill__sql_from *left, *right;
            rill__sql_expr *on; /* NULL: none */
            size_t n_using;
            rill__sql_ident *using_; /* USING (cols) */
        } join;
        rill__sql_expr *call; /* FUNCTION: a CALL expression */
        struct {
            size_t n_args;
            rill__sql_expr **args;
            bool ordinality;
        } unnest;
        struct {
            rill__sql_from *input;
            rill__sql_match spec;
        } match;
    } u;
    bool lateral;           /* LATERAL before a subquery or TABLE(...) */
    rill__sql_ident *alias; /* [AS] alias, or NULL (not for joins) */
    size_t n_cols;
    rill__sql_ident *cols; /* alias (c1, c2) */
};

/* ---- statements --------------------------------------------------------------------------- */

typedef enum rill__sql_col_kind {
    RILL_SQL_COL_PHYSICAL, /* name type [NOT NULL] [PRIMARY KEY NOT ENFORCED] */
    RILL_SQL_COL_COMPUTED, /* name AS expr */
    RILL_SQL_COL_METADATA, /* name type METADATA [FROM 'key'] [VIRTUAL] */
} rill__sql_col_kind;

typedef struct rill__sql_column {
    rill__sql_col_kind kind;
    rill__sql_ident name;
    rill__sql_type *type;     /* PHYSICAL, METADATA */
    rill__sql_expr *expr;     /* COMPUTED */
    const char *metadata_key; /* METADATA FROM 'key', or NULL */
    bool is_virtual;
    bool primary_key;    /* PRIMARY KEY NOT ENFORCED on the column */
    const char *comment; /* or NULL */
} rill__sql_column;

typedef struct rill__sql_create_table {
    rill__sql_name name;
    bool temporary, if_not_exists;
    size_t n_columns;
    rill__sql_column *columns;
    bool has_watermark;
    rill__sql_name watermark_col; /* WATERMARK FOR col AS expr */
    rill__sql_expr *watermark;
    size_t n_pk; /* PRIMARY KEY (a, b) NOT ENFORCED, or a column's own (n_pk 1) */
    rill__sql_ident *pk;
    rill__sql_ident *pk_constraint; /* CONSTRAINT name, or NULL */
    rill__sql_pos pk_pos;
    const char *comment;
    size_t n_partitioned;
    rill__sql_ident *partitioned;
    size_t n_options;
    rill__sql_option *options;
} rill__sql_create_table;

typedef enum rill__sql_object {
    RILL_SQL_OBJ_TABLE,
    RILL_SQL_OBJ_VIEW,
    RILL_SQL_OBJ_FUNCTION,
} rill__sql_object;

typedef enum rill__sql_show {
    RILL_SQL_SHOW_TABLES,
    RILL_SQL_SHOW_VIEWS,
    RILL_SQL_SHOW_FUNCTIONS,
    RILL_SQL_SHOW_CATALOGS,
    RILL_SQL_SHOW_DATABASES,
    RILL_SQL_SHOW_CURRENT_CATALOG,
    RILL_SQL_SHOW_CURRENT_DATABASE,
    RILL_SQL_SHOW_JOBS,
    RILL_SQL_SHOW_MODULES,
    RILL_SQL_SHOW_CREATE_TABLE,
    RILL_SQL_SHOW_CREATE_VIEW,
} rill__sql_show;

typedef enum rill__sql_language {
    RILL_SQL_LANG_NONE,
    RILL_SQL_LANG_JAVA,
    RILL_SQL_LANG_SCALA,
    RILL_SQL_LANG_PYTHON,
    RILL_SQL_LANG_C,
} rill__sql_language;

typedef enum rill__sql_stmt_kind {
    RILL_SQL_S_QUERY,           /* query */
    RILL_SQL_S_INSERT,          /* insert */
    RILL_SQL_S_SET,             /* set: key NULL: SET alone (list the options) */
    RILL_SQL_S_RESET,           /* set.key, or NULL: RESET all */
    RILL_SQL_S_CREATE_TABLE,    /* create_table */
    RILL_SQL_S_CREATE_VIEW,     /* create_view */
    RILL_SQL_S_CREATE_FUNCTION, /* create_function */
    RILL_SQL_S_DROP,            /* drop */
    RILL_SQL_S_SHOW,            /* show */
    RILL_SQL_S_DESCRIBE,        /* name */
    RILL_SQL_S_USE,             /* use */
    RILL_SQL_S_EXPLAIN,         /* explain */
    RILL_SQL_S_STATEMENT_SET,   /* statement_set: EXECUTE STATEMENT SET BEGIN ... END */
    RILL_SQL_S_BEGIN_SET,       /* BEGIN STATEMENT SET (the old client form) */
    RILL_SQL_S_END,             /* END (closes BEGIN STATEMENT SET) */
    RILL_SQL_S_EXECUTE,         /* inner: EXECUTE INSERT ... / EXECUTE SELECT ... */
    RILL_SQL_S_HELP,
    RILL_SQL_S_QUIT, /* QUIT and EXIT */
    RILL_SQL_S_CLEAR,
} rill__sql_stmt_kind;

/* EXPLAIN's details */
enum {
    RILL_SQL_EXPLAIN_ESTIMATED_COST = 1,
    RILL_SQL_EXPLAIN_CHANGELOG_MODE = 2,
    RILL_SQL_EXPLAIN_JSON_EXECUTION_PLAN = 4,
    RILL_SQL_EXPLAIN_PLAN_ADVICE = 8,
};

struct rill__sql_stmt {
    rill__sql_stmt_kind kind;
    rill__sql_pos pos;
    union {
        rill__sql_query *query;
        struct {
            bool overwrite;
            rill__sql_name target;
            size_t n_hints;
            rill__sql_hint *hints;
            size_t n_partition;
            rill__sql_option *partition; /* PARTITION (k = 'v'): values as written, unquoted */
            size_t n_cols;
            rill__sql_ident *cols;
            rill__sql_query *query;
        } insert;
        struct {
            const char *key, *value;
        } set;
        rill__sql_create_table create_table;
        struct {
            rill__sql_name name;
            bool temporary, if_not_exists;
            size_t n_cols;
            rill__sql_ident *cols;
            const char *comment;
            rill__sql_query *query;
        } create_view;
        struct {
            rill__sql_name name;
            bool temporary, system, if_not_exists;
            const char *identifier; /* AS 'identifier': the class or C symbol */
            rill__sql_language language;
            size_t n_jars;
            const char **jars; /* USING JAR 'path', ... */
        } create_function;
        struct {
            rill__sql_object object;
            bool temporary, system, if_exists;
            rill__sql_name name;
        } drop;
        struct {
            rill__sql_show what;
            rill__sql_name name; /* SHOW CREATE TABLE|VIEW name; SHOW FUNCTIONS FROM|IN db */
            bool user;           /* SHOW USER FUNCTIONS */
            const char *like;    /* SHOW [USER] FUNCTIONS [NOT] LIKE|ILIKE 'pattern', or NULL */
            bool not_like, ilike;
        } show;
        struct {
            rill__sql_name name;
            bool extended;
        } describe;
        struct {
            bool catalog; /* USE CATALOG name */
            rill__sql_name name;
        } use;
        struct {
            bool plan_for; /* EXPLAIN PLAN FOR */
            int details;   /* RILL_SQL_EXPLAIN_* bits, in the order of the enum when printed */
            rill__sql_stmt *inner;
        } explain;
        struct {
            size_t n_inserts;
            rill__sql_stmt **inserts; /* INSERT statements */
        } statement_set;
        rill__sql_stmt *inner; /* EXECUTE */
    } u;
};

/* One parsed statement: its tree, in an arena freed with it. The nodes' positions have the
 * script's lines and columns, and byte offsets into text (what rill__sql_error takes). */
typedef struct rill__sql_ast {
    rill__arena arena;
    const char *text; /* a copy of the script from the statement's first line to its end */
    rill__sql_stmt *stmt;
} rill__sql_ast;

/* ---- parsing, printing -------------------------------------------------------------------- */

/* Parses the one statement in script[start .. start + len) (one trailing ';' allowed), its
 * lines and columns counted in the whole script (as rill__sql_split gives statements). 0 with *out
 * set (free with rill__sql_ast_free), or RILL_EPARSE with *out NULL and err saying what and where,
 * in Flink's shape: 'Encountered "x" at line L, column C:' with the line, a caret under the
 * place and "Was expecting ..." below. Nesting deeper than RILL_SQL_MAX_DEPTH is refused. */
#define RILL_SQL_MAX_DEPTH 256
int rill__sql_parse(const char *script, size_t start, size_t len, rill__sql_ast **out,
                    rill__err *err);
void rill__sql_ast_free(rill__sql_ast *ast); /* NULL-safe */

/* An empty AST (its arena) for nodes made by hand; rill__sql_ast_alloc: zeroed memory in it. */
rill__sql_ast *rill__sql_ast_new(void);
void *rill__sql_ast_alloc(rill__sql_ast *ast, size_t size);

/* Canonical SQL appended to out: keywords in upper case, identifiers back-quoted when they
 * must be, every operator application in parentheses, types with their parameters as written.
 * Parsing the text gives an equal tree (positions aside). */
void rill__sql_print_stmt(rill__buf *out, const rill__sql_stmt *s);
void rill__sql_print_query(rill__buf *out, const rill__sql_query *q);
void rill__sql_print_expr(rill__buf *out, const rill__sql_expr *e);
void rill__sql_print_type(rill__buf *out, const rill__sql_type *t);
void rill__sql_print_ident(rill__buf *out, const rill__sql_ident *id);

/* Whether word (ASCII, any case) is one of Flink's reserved keywords: such a word is a name
 * only back-quoted. */
bool rill__sql_reserved(const char *word, size_t len);

#endif /* RILL_SQL_AST_H */
