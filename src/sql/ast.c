/*
 * ast.c - sql layer: the syntax tree's printer, back to canonical SQL (keywords in upper case,
 * names back-quoted when they must be, each operator application in parentheses). Parsing what
 * it prints gives the same tree: the parser's tests and fuzz target check that round trip.
 */
#include <string.h>
#include <strings.h>

#include "ast.h"

/* Non-reserved words the grammar still reads as keywords where a name could stand. */
static const char *const CONTEXT_WORDS[] = {"WATERMARK", "MAP",       "TRY_CAST",  "NULLS",
                                            "PRECEDING", "FOLLOWING", "UNBOUNDED", NULL};

static bool plain_word(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    size_t n = 0;
    for (const char *c = s; *c; c++, n++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' || *c == '$' ||
              (*c >= '0' && *c <= '9')))
            return false;
    if (rill__sql_reserved(s, n))
        return false;
    for (int i = 0; CONTEXT_WORDS[i]; i++)
        if (strlen(CONTEXT_WORDS[i]) == n && !strncasecmp(s, CONTEXT_WORDS[i], n))
            return false;
    return true;
}

/* A word the lexer reads as one WORD token (reserved or not). */
static bool plain_word_or_reserved(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' || *c == '$' ||
              (*c >= '0' && *c <= '9')))
            return false;
    return true;
}

static void put(rill__buf *b, const char *s)
{
    rill__buf_append(b, s, strlen(s));
}

void rill__sql_print_ident(rill__buf *out, const rill__sql_ident *id)
{
    if (plain_word(id->text)) {
        put(out, id->text);
        return;
    }
    rill__buf_putc(out, '`');
    for (const char *c = id->text; *c; c++) {
        if (*c == '`')
            rill__buf_putc(out, '`');
        rill__buf_putc(out, *c);
    }
    rill__buf_putc(out, '`');
}

static void print_name(rill__buf *out, const rill__sql_name *n)
{
    for (size_t i = 0; i < n->n_parts; i++) {
        if (i)
            rill__buf_putc(out, '.');
        rill__sql_print_ident(out, &n->parts[i]);
    }
}

static void print_idents(rill__buf *out, const rill__sql_ident *ids, size_t n)
{
    put(out, "(");
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(out, ", ");
        rill__sql_print_ident(out, &ids[i]);
    }
    put(out, ")");
}

/* A string literal: '' for a quote; U&'' with escapes when it holds a NUL or a backslash
 * beside one (a C string could not carry it). */
static void print_string(rill__buf *out, const char *s, size_t len)
{
    bool nul = memchr(s, '\0', len) != NULL;
    put(out, nul ? "U&'" : "'");
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\'')
            put(out, "''");
        else if (nul && s[i] == '\\')
            put(out, "\\\\");
        else if (nul && s[i] == '\0')
            put(out, "\\0000");
        else
            rill__buf_putc(out, s[i]);
    }
    rill__buf_putc(out, '\'');
}

static void print_cstring(rill__buf *out, const char *s)
{
    print_string(out, s, strlen(s));
}

static void print_options(rill__buf *out, const rill__sql_option *o, size_t n)
{
    put(out, "(");
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(out, ", ");
        print_cstring(out, o[i].key);
        put(out, " = ");
        print_cstring(out, o[i].value);
    }
    put(out, ")");
}

static void print_hints(rill__buf *out, const rill__sql_hint *h, size_t n)
{
    if (!n)
        return;
    put(out, " /*+ ");
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(out, ", ");
        rill__sql_print_ident(out, &h[i].name);
        if (h[i].n_options) {
            put(out, "(");
            for (size_t k = 0; k < h[i].n_options; k++) {
                if (k)
                    put(out, ", ");
                print_cstring(out, h[i].options[k].key);
                put(out, " = ");
                print_cstring(out, h[i].options[k].value);
            }
            put(out, ")");
        } else if (h[i].n_values) {
            put(out, "(");
            for (size_t k = 0; k < h[i].n_values; k++) {
                if (k)
                    put(out, ", ");
                if (plain_word(h[i].values[k]))
                    put(out, h[i].values[k]);
                else
                    print_cstring(out, h[i].values[k]);
            }
            put(out, ")");
        }
    }
    put(out, " */");
}

static void print_interval_q(rill__buf *out, const rill__sql_interval_q *q)
{
    put(out, rill__sql_unit_name(q->start));
    bool sec_only = q->start == RILL_SQL_UNIT_SECOND;
    if (q->precision_given && sec_only && q->frac_given)
        rill__buf_printf(out, "(%d, %d)", q->precision, q->frac);
    else if (q->precision_given)
        rill__buf_printf(out, "(%d)", q->precision);
    if (q->end) {
        put(out, " TO ");
        put(out, rill__sql_unit_name(q->end));
        if (q->frac_given)
            rill__buf_printf(out, "(%d)", q->frac);
    }
}

void rill__sql_print_type(rill__buf *out, const rill__sql_type *t)
{
    static const char *const names[] = {
        "BOOLEAN",   "TINYINT",       "SMALLINT", "INT",    "BIGINT",    "FLOAT", "DOUBLE",
        "DECIMAL",   "CHAR",          "VARCHAR",  "BINARY", "VARBINARY", "DATE",  "TIME",
        "TIMESTAMP", "TIMESTAMP_LTZ", "INTERVAL", "ROW",    "ARRAY",     "MAP",   "MULTISET"};
    switch (t->kind) {
    case RILL_SQL_T_VARCHAR:
    case RILL_SQL_T_VARBINARY:
        if (t->is_string) {
            put(out, t->kind == RILL_SQL_T_VARCHAR ? "STRING" : "BYTES");
            break;
        }
        /* fall through */
    case RILL_SQL_T_CHAR:
    case RILL_SQL_T_BINARY:
    case RILL_SQL_T_TIME:
        put(out, names[t->kind]);
        if (t->precision_given)
            rill__buf_printf(out, "(%d)", t->precision);
        break;
    case RILL_SQL_T_TIMESTAMP_LTZ:
        put(out, t->ltz_words ? "TIMESTAMP" : "TIMESTAMP_LTZ");
        if (t->precision_given)
            rill__buf_printf(out, "(%d)", t->precision);
        if (t->ltz_words)
            put(out, " WITH LOCAL TIME ZONE");
        break;
    case RILL_SQL_T_TIMESTAMP:
        put(out, "TIMESTAMP");
        if (t->precision_given)
            rill__buf_printf(out, "(%d)", t->precision);
        break;
    case RILL_SQL_T_DECIMAL:
        put(out, "DECIMAL");
        if (t->scale_given)
            rill__buf_printf(out, "(%d, %d)", t->precision, t->scale);
        else if (t->precision_given)
            rill__buf_printf(out, "(%d)", t->precision);
        break;
    case RILL_SQL_T_INTERVAL:
        put(out, "INTERVAL ");
        print_interval_q(out, &t->interval);
        break;
    case RILL_SQL_T_ROW:
        put(out, t->row_parens ? "ROW(" : "ROW<");
        for (size_t i = 0; i < t->n_fields; i++) {
            if (i)
                put(out, ", ");
            rill__sql_print_ident(out, &t->fields[i].name);
            put(out, " ");
            rill__sql_print_type(out, t->fields[i].type);
            if (t->fields[i].comment) {
                put(out, " COMMENT ");
                print_cstring(out, t->fields[i].comment);
            }
        }
        put(out, t->row_parens ? ")" : ">");
        break;
    case RILL_SQL_T_ARRAY:
    case RILL_SQL_T_MULTISET:
        put(out, names[t->kind]);
        put(out, "<");
        rill__sql_print_type(out, t->element);
        put(out, ">");
        break;
    case RILL_SQL_T_MAP:
        put(out, "MAP<");
        rill__sql_print_type(out, t->element);
        put(out, ", ");
        rill__sql_print_type(out, t->value);
        put(out, ">");
        break;
    default:
        put(out, names[t->kind]);
        break;
    }
    if (t->not_null)
        put(out, " NOT NULL");
}

const char *rill__sql_op_text(rill__sql_op op)
{
    static const char *const t[] = {"OR",
                                    "AND",
                                    "NOT",
                                    "=",
                                    "<>",
                                    "<",
                                    "<=",
                                    ">",
                                    ">=",
                                    "IS DISTINCT FROM",
                                    "IS NOT DISTINCT FROM",
                                    "+",
                                    "-",
                                    "*",
                                    "/",
                                    "%",
                                    "||",
                                    "-",
                                    "+"};
    return (unsigned)op < sizeof t / sizeof *t ? t[op] : "?";
}

static void print_exprs(rill__buf *out, rill__sql_expr *const *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(out, ", ");
        rill__sql_print_expr(out, e[i]);
    }
}

static void print_order(rill__buf *out, const rill__sql_order *o, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(out, ", ");
        rill__sql_print_expr(out, o[i].expr);
        if (o[i].desc)
            put(out, " DESC");
        if (o[i].nulls)
            put(out, o[i].nulls == 1 ? " NULLS FIRST" : " NULLS LAST");
    }
}

static void print_bound(rill__buf *out, const rill__sql_bound *b)
{
    switch (b->kind) {
    case RILL_SQL_B_UNBOUNDED_PRECEDING:
        put(out, "UNBOUNDED PRECEDING");
        break;
    case RILL_SQL_B_UNBOUNDED_FOLLOWING:
        put(out, "UNBOUNDED FOLLOWING");
        break;
    case RILL_SQL_B_CURRENT_ROW:
        put(out, "CURRENT ROW");
        break;
    default:
        rill__sql_print_expr(out, b->offset);
        put(out, b->kind == RILL_SQL_B_PRECEDING ? " PRECEDING" : " FOLLOWING");
    }
}

static void print_window(rill__buf *out, const rill__sql_window *w)
{
    put(out, "(");
    const char *sep = "";
    if (w->base) {
        rill__sql_print_ident(out, w->base);
        sep = " ";
    }
    if (w->n_partition) {
        put(out, sep);
        put(out, "PARTITION BY ");
        print_exprs(out, w->partition, w->n_partition);
        sep = " ";
    }
    if (w->n_order) {
        put(out, sep);
        put(out, "ORDER BY ");
        print_order(out, w->order, w->n_order);
        sep = " ";
    }
    if (w->frame) {
        put(out, sep);
        put(out, w->frame == 1 ? "ROWS " : "RANGE ");
        if (w->between) {
            put(out, "BETWEEN ");
            print_bound(out, &w->lo);
            put(out, " AND ");
            print_bound(out, &w->hi);
        } else {
            print_bound(out, &w->lo);
        }
    }
    put(out, ")");
}

static void print_call(rill__buf *out, const rill__sql_call *c)
{
    for (size_t i = 0; i < c->name.n_parts; i++) {
        if (i)
            rill__buf_putc(out, '.');
        const rill__sql_ident *id = &c->name.parts[i];
        if (!id->quoted && c->name.n_parts == 1)
            put(out, id->text); /* a function name as written (reserved ones included) */
        else
            rill__sql_print_ident(out, id);
    }
    rill__sql_expr *const *a = c->args;
    switch (c->form) {
    case RILL_SQL_C_NILADIC:
        return;
    case RILL_SQL_C_EXTRACT:
        rill__buf_printf(out, "(%s FROM ", rill__sql_unit_name(c->unit));
        rill__sql_print_expr(out, a[0]);
        put(out, ")");
        return;
    case RILL_SQL_C_POSITION:
        put(out, "(");
        rill__sql_print_expr(out, a[0]);
        put(out, " IN ");
        rill__sql_print_expr(out, a[1]);
        put(out, ")");
        return;
    case RILL_SQL_C_TRIM:
        put(out, "(");
        if (c->trim)
            put(out, c->trim == RILL_SQL_TRIM_BOTH      ? "BOTH "
                     : c->trim == RILL_SQL_TRIM_LEADING ? "LEADING "
                                                        : "TRAILING ");
        if (c->n_args > 1) {
            rill__sql_print_expr(out, a[1]);
            put(out, " ");
        }
        put(out, "FROM ");
        rill__sql_print_expr(out, a[0]);
        put(out, ")");
        return;
    case RILL_SQL_C_SUBSTRING:
        put(out, "(");
        rill__sql_print_expr(out, a[0]);
        put(out, " FROM ");
        rill__sql_print_expr(out, a[1]);
        if (c->n_args > 2) {
            put(out, " FOR ");
            rill__sql_print_expr(out, a[2]);
        }
        put(out, ")");
        return;
    case RILL_SQL_C_OVERLAY:
        put(out, "(");
        rill__sql_print_expr(out, a[0]);
        put(out, " PLACING ");
        rill__sql_print_expr(out, a[1]);
        put(out, " FROM ");
        rill__sql_print_expr(out, a[2]);
        if (c->n_args > 3) {
            put(out, " FOR ");
            rill__sql_print_expr(out, a[3]);
        }
        put(out, ")");
        return;
    case RILL_SQL_C_CEIL_TO:
        put(out, "(");
        rill__sql_print_expr(out, a[0]);
        rill__buf_printf(out, " TO %s)", rill__sql_unit_name(c->unit));
        return;
    case RILL_SQL_C_PLAIN:
        break;
    }
    put(out, "(");
    if (c->quantifier)
        put(out, c->quantifier == 1 ? "DISTINCT " : "ALL ");
    if (c->unit) {
        put(out, rill__sql_unit_name(c->unit));
        if (c->n_args)
            put(out, ", ");
    }
    print_exprs(out, a, c->n_args);
    put(out, ")");
    if (c->filter) {
        put(out, " FILTER (WHERE ");
        rill__sql_print_expr(out, c->filter);
        put(out, ")");
    }
    if (c->over) {
        put(out, " OVER ");
        if (c->window)
            print_window(out, c->window);
        else
            rill__sql_print_ident(out, c->over_name);
    }
}

/* Operators' levels as the parser ranks them (0: not a binary operator). */
static int level(const rill__sql_expr *e)
{
    if (e->kind != RILL_SQL_E_BINARY)
        return 0;
    switch (e->u.binary.op) {
    case RILL_SQL_OP_OR:
        return 1;
    case RILL_SQL_OP_AND:
        return 2;
    case RILL_SQL_OP_PLUS:
    case RILL_SQL_OP_MINUS:
        return 5;
    case RILL_SQL_OP_MUL:
    case RILL_SQL_OP_DIV:
    case RILL_SQL_OP_MOD:
    case RILL_SQL_OP_CONCAT:
        return 6;
    default:
        return 4; /* comparisons, IS [NOT] DISTINCT FROM */
    }
}

/* A unary or binary operation without its outer parentheses. A chain of one level leans left
 * (a + b + c is (a + b) + c) and so is printed without inner parentheses, as is a chain of
 * unary operators: the printed text nests no deeper than what was parsed. */
static void print_bare(rill__buf *out, const rill__sql_expr *e)
{
    if (e->kind == RILL_SQL_E_UNARY) {
        put(out, rill__sql_op_text(e->u.unary.op));
        put(out, " ");
        if (e->u.unary.arg->kind == RILL_SQL_E_UNARY)
            print_bare(out, e->u.unary.arg);
        else
            rill__sql_print_expr(out, e->u.unary.arg);
        return;
    }
    const rill__sql_expr *l = e->u.binary.left;
    if (level(l) == level(e))
        print_bare(out, l);
    else
        rill__sql_print_expr(out, l);
    rill__buf_printf(out, " %s ", rill__sql_op_text(e->u.binary.op));
    rill__sql_print_expr(out, e->u.binary.right);
}

void rill__sql_print_expr(rill__buf *out, const rill__sql_expr *e)
{
    switch (e->kind) {
    case RILL_SQL_E_LITERAL:
        switch (e->u.lit.kind) {
        case RILL_SQL_L_NULL:
            put(out, "NULL");
            break;
        case RILL_SQL_L_TRUE:
            put(out, "TRUE");
            break;
        case RILL_SQL_L_FALSE:
            put(out, "FALSE");
            break;
        case RILL_SQL_L_UNKNOWN:
            put(out, "UNKNOWN");
            break;
        case RILL_SQL_L_INTEGER:
        case RILL_SQL_L_DECIMAL:
        case RILL_SQL_L_APPROX:
            put(out, e->u.lit.text);
            break;
        case RILL_SQL_L_BINARY:
            rill__buf_printf(out, "X'%s'", e->u.lit.text);
            break;
        case RILL_SQL_L_DATE:
        case RILL_SQL_L_TIME:
        case RILL_SQL_L_TIMESTAMP:
            put(out, e->u.lit.kind == RILL_SQL_L_DATE   ? "DATE "
                     : e->u.lit.kind == RILL_SQL_L_TIME ? "TIME "
                                                        : "TIMESTAMP ");
            /* fall through */
        case RILL_SQL_L_STRING:
            print_string(out, e->u.lit.text, e->u.lit.len);
            break;
        }
        break;
    case RILL_SQL_E_INTERVAL:
        put(out, e->u.interval.sign < 0 ? "INTERVAL -" : "INTERVAL ");
        print_cstring(out, e->u.interval.text);
        put(out, " ");
        print_interval_q(out, &e->u.interval.q);
        break;
    case RILL_SQL_E_IDENT:
        print_name(out, &e->u.name);
        break;
    case RILL_SQL_E_STAR:
        if (e->u.star.qualifier.n_parts) {
            print_name(out, &e->u.star.qualifier);
            put(out, ".");
        }
        put(out, "*");
        break;
    case RILL_SQL_E_UNARY:
    case RILL_SQL_E_BINARY:
        put(out, "(");
        print_bare(out, e);
        put(out, ")");
        break;
    case RILL_SQL_E_IS: {
        static const char *const tests[] = {"NULL", "TRUE", "FALSE", "UNKNOWN"};
        put(out, "(");
        rill__sql_print_expr(out, e->u.is.arg);
        rill__buf_printf(out, " IS %s%s)", e->u.is.negated ? "NOT " : "", tests[e->u.is.test]);
        break;
    }
    case RILL_SQL_E_BETWEEN:
        put(out, "(");
        rill__sql_print_expr(out, e->u.between.arg);
        put(out, e->u.between.negated ? " NOT BETWEEN " : " BETWEEN ");
        if (e->u.between.symmetry)
            put(out, e->u.between.symmetry == 1 ? "ASYMMETRIC " : "SYMMETRIC ");
        rill__sql_print_expr(out, e->u.between.lo);
        put(out, " AND ");
        rill__sql_print_expr(out, e->u.between.hi);
        put(out, ")");
        break;
    case RILL_SQL_E_IN:
        put(out, "(");
        rill__sql_print_expr(out, e->u.in.arg);
        put(out, e->u.in.negated ? " NOT IN (" : " IN (");
        if (e->u.in.query)
            rill__sql_print_query(out, e->u.in.query);
        else
            print_exprs(out, e->u.in.list, e->u.in.n_list);
        put(out, "))");
        break;
    case RILL_SQL_E_LIKE:
        put(out, "(");
        rill__sql_print_expr(out, e->u.like.arg);
        put(out, e->u.like.negated ? " NOT" : "");
        put(out, e->u.like.similar ? " SIMILAR TO " : " LIKE ");
        rill__sql_print_expr(out, e->u.like.pattern);
        if (e->u.like.escape) {
            put(out, " ESCAPE ");
            rill__sql_print_expr(out, e->u.like.escape);
        }
        put(out, ")");
        break;
    case RILL_SQL_E_EXISTS:
    case RILL_SQL_E_SUBQUERY:
        put(out, e->kind == RILL_SQL_E_EXISTS ? "EXISTS (" : "(");
        rill__sql_print_query(out, e->u.query);
        put(out, ")");
        break;
    case RILL_SQL_E_CALL:
        print_call(out, &e->u.call);
        break;
    case RILL_SQL_E_CAST:
        put(out, e->u.cast.try_cast ? "TRY_CAST(" : "CAST(");
        rill__sql_print_expr(out, e->u.cast.arg);
        put(out, " AS ");
        rill__sql_print_type(out, e->u.cast.type);
        put(out, ")");
        break;
    case RILL_SQL_E_CASE:
        put(out, "CASE");
        if (e->u.kase.operand) {
            put(out, " ");
            rill__sql_print_expr(out, e->u.kase.operand);
        }
        for (size_t i = 0; i < e->u.kase.n_whens; i++) {
            put(out, " WHEN ");
            rill__sql_print_expr(out, e->u.kase.whens[i].when);
            put(out, " THEN ");
            rill__sql_print_expr(out, e->u.kase.whens[i].then);
        }
        if (e->u.kase.else_) {
            put(out, " ELSE ");
            rill__sql_print_expr(out, e->u.kase.else_);
        }
        put(out, " END");
        break;
    case RILL_SQL_E_ROW:
        put(out, e->u.list.explicit_row ? "ROW(" : "(");
        print_exprs(out, e->u.list.items, e->u.list.n_items);
        put(out, ")");
        break;
    case RILL_SQL_E_ARRAY:
    case RILL_SQL_E_MAP:
        put(out, e->kind == RILL_SQL_E_ARRAY ? "ARRAY[" : "MAP[");
        print_exprs(out, e->u.list.items, e->u.list.n_items);
        put(out, "]");
        break;
    case RILL_SQL_E_ITEM:
        rill__sql_print_expr(out, e->u.item.arg);
        put(out, "[");
        rill__sql_print_expr(out, e->u.item.index);
        put(out, "]");
        break;
    case RILL_SQL_E_FIELD: {
        /* (a).f: a field of a name, kept apart from the compound name a.f */
        rill__sql_expr_kind k = e->u.field.arg->kind;
        bool paren = k == RILL_SQL_E_IDENT || k == RILL_SQL_E_STAR || k == RILL_SQL_E_LITERAL ||
                     k == RILL_SQL_E_INTERVAL; /* (4).p: not the number 4. then p */
        put(out, paren ? "(" : "");
        rill__sql_print_expr(out, e->u.field.arg);
        put(out, paren ? ")." : ".");
        rill__sql_print_ident(out, &e->u.field.field);
        break;
    }
    case RILL_SQL_E_TABLE_ARG:
        put(out, "TABLE ");
        print_name(out, &e->u.table_arg.table);
        if (e->u.table_arg.n_partition) {
            put(out, " PARTITION BY ");
            bool paren = e->u.table_arg.n_partition > 1;
            put(out, paren ? "(" : "");
            print_exprs(out, e->u.table_arg.partition, e->u.table_arg.n_partition);
            put(out, paren ? ")" : "");
        }
        break;
    case RILL_SQL_E_NAMED_ARG:
        if (e->u.named.name.quoted || !plain_word_or_reserved(e->u.named.name.text))
            rill__sql_print_ident(out, &e->u.named.name);
        else
            put(out, e->u.named.name.text); /* OFFSET => ...: reserved words stand here bare */
        put(out, " => ");
        rill__sql_print_expr(out, e->u.named.value);
        break;
    }
}

/* ---- queries ------------------------------------------------------------------------------- */

static void print_from(rill__buf *out, const rill__sql_from *f);

static void print_group(rill__buf *out, const rill__sql_group *g)
{
    static const char *const kw[] = {"", "", "GROUPING SETS (", "ROLLUP(", "CUBE("};
    if (g->kind == RILL_SQL_G_EXPR) {
        rill__sql_print_expr(out, g->expr);
        return;
    }
    if (g->kind == RILL_SQL_G_EMPTY) {
        put(out, "()");
        return;
    }
    put(out, kw[g->kind]);
    for (size_t i = 0; i < g->n_elems; i++) {
        if (i)
            put(out, ", ");
        print_group(out, g->elems[i]);
    }
    put(out, ")");
}

/* A set operation's operand: in parentheses unless a plain SELECT or VALUES. */
static void print_operand(rill__buf *out, const rill__sql_query *q, bool bare_setop)
{
    bool paren = (q->kind == RILL_SQL_Q_SETOP && !bare_setop) || q->n_with || q->n_order ||
                 q->limit || q->offset;
    put(out, paren ? "(" : "");
    rill__sql_print_query(out, q);
    put(out, paren ? ")" : "");
}

void rill__sql_print_query(rill__buf *out, const rill__sql_query *q)
{
    if (q->n_with) {
        put(out, "WITH ");
        for (size_t i = 0; i < q->n_with; i++) {
            if (i)
                put(out, ", ");
            rill__sql_print_ident(out, &q->with[i].name);
            if (q->with[i].n_cols) {
                put(out, " ");
                print_idents(out, q->with[i].cols, q->with[i].n_cols);
            }
            put(out, " AS (");
            rill__sql_print_query(out, q->with[i].query);
            put(out, ")");
        }
        put(out, " ");
    }
    switch (q->kind) {
    case RILL_SQL_Q_SELECT: {
        put(out, "SELECT");
        print_hints(out, q->u.select.hints, q->u.select.n_hints);
        if (q->u.select.quantifier)
            put(out, q->u.select.quantifier == 1 ? " DISTINCT" : " ALL");
        for (size_t i = 0; i < q->u.select.n_items; i++) {
            put(out, i ? ", " : " ");
            rill__sql_print_expr(out, q->u.select.items[i].expr);
            if (q->u.select.items[i].alias) {
                put(out, " AS ");
                rill__sql_print_ident(out, q->u.select.items[i].alias);
            }
        }
        if (q->u.select.from) {
            put(out, " FROM ");
            print_from(out, q->u.select.from);
        }
        if (q->u.select.where) {
            put(out, " WHERE ");
            rill__sql_print_expr(out, q->u.select.where);
        }
        if (q->u.select.has_group_by) {
            put(out, " GROUP BY ");
            for (size_t i = 0; i < q->u.select.n_group; i++) {
                if (i)
                    put(out, ", ");
                print_group(out, q->u.select.group[i]);
            }
        }
        if (q->u.select.having) {
            put(out, " HAVING ");
            rill__sql_print_expr(out, q->u.select.having);
        }
        for (size_t i = 0; i < q->u.select.n_windows; i++) {
            put(out, i ? ", " : " WINDOW ");
            rill__sql_print_ident(out, &q->u.select.windows[i].name);
            put(out, " AS ");
            print_window(out, q->u.select.windows[i].spec);
        }
        break;
    }
    case RILL_SQL_Q_SETOP: {
        static const char *const ops[] = {" UNION ", " INTERSECT ", " EXCEPT "};
        /* a left operand of the same or a higher level leans left without parentheses */
        const rill__sql_query *l = q->u.setop.left;
        print_operand(out, l,
                      l->kind == RILL_SQL_Q_SETOP && (l->u.setop.op == RILL_SQL_SET_INTERSECT ||
                                                      q->u.setop.op != RILL_SQL_SET_INTERSECT));
        put(out, ops[q->u.setop.op]);
        if (q->u.setop.all)
            put(out, "ALL ");
        print_operand(out, q->u.setop.right, false);
        break;
    }
    case RILL_SQL_Q_VALUES:
        put(out, "VALUES ");
        for (size_t i = 0; i < q->u.values.n_rows; i++) { /* each row in parentheses */
            const rill__sql_expr *r = q->u.values.rows[i];
            bool paren = r->kind != RILL_SQL_E_ROW;
            put(out, i ? (paren ? ", (" : ", ") : (paren ? "(" : ""));
            rill__sql_print_expr(out, r);
            put(out, paren ? ")" : "");
        }
        break;
    }
    if (q->n_order) {
        put(out, " ORDER BY ");
        print_order(out, q->order, q->n_order);
    }
    if (q->limit && !q->fetch) {
        put(out, " LIMIT ");
        rill__sql_print_expr(out, q->limit);
    }
    if (q->offset) {
        put(out, " OFFSET ");
        rill__sql_print_expr(out, q->offset);
        put(out, " ROWS");
    }
    if (q->limit && q->fetch) {
        put(out, " FETCH FIRST ");
        rill__sql_print_expr(out, q->limit);
        put(out, " ROWS ONLY");
    }
}

static void print_pattern(rill__buf *out, const rill__sql_pattern *pt)
{
    switch (pt->kind) {
    case RILL_SQL_P_VAR:
        rill__sql_print_ident(out, &pt->var);
        break;
    case RILL_SQL_P_GROUP:
        put(out, "(");
        print_pattern(out, pt->items[0]);
        put(out, ")");
        break;
    case RILL_SQL_P_SEQ:
    case RILL_SQL_P_ALT:
        for (size_t i = 0; i < pt->n_items; i++) {
            if (i)
                put(out, pt->kind == RILL_SQL_P_SEQ ? " " : " | ");
            print_pattern(out, pt->items[i]);
        }
        break;
    }
    if (!pt->quantified)
        return;
    if (pt->quant_op == '{') {
        if (pt->min == pt->max)
            rill__buf_printf(out, "{%d}", pt->min);
        else if (pt->max < 0)
            rill__buf_printf(out, "{%d,}", pt->min);
        else
            rill__buf_printf(out, "{%d,%d}", pt->min, pt->max);
    } else {
        rill__buf_putc(out, pt->quant_op);
    }
    if (pt->reluctant)
        rill__buf_putc(out, '?');
}

static void print_match(rill__buf *out, const rill__sql_match *m)
{
    const char *sep = "";
    if (m->n_partition) {
        put(out, "PARTITION BY ");
        print_exprs(out, m->partition, m->n_partition);
        sep = " ";
    }
    if (m->n_order) {
        put(out, sep);
        put(out, "ORDER BY ");
        print_order(out, m->order, m->n_order);
        sep = " ";
    }
    for (size_t i = 0; i < m->n_measures; i++) {
        put(out, i ? ", " : sep);
        put(out, i ? "" : "MEASURES ");
        rill__sql_print_expr(out, m->measures[i].expr);
        put(out, " AS ");
        rill__sql_print_ident(out, &m->measures[i].alias);
        sep = " ";
    }
    if (m->rows_per_match) {
        put(out, sep);
        put(out, m->rows_per_match == 1 ? "ONE ROW PER MATCH" : "ALL ROWS PER MATCH");
        sep = " ";
    }
    if (m->skip) {
        static const char *const skips[] = {"", "PAST LAST ROW", "TO NEXT ROW", "TO FIRST ",
                                            "TO LAST "};
        put(out, sep);
        put(out, "AFTER MATCH SKIP ");
        put(out, skips[m->skip]);
        if (m->skip >= RILL_SQL_SKIP_TO_FIRST)
            rill__sql_print_ident(out, &m->skip_var);
        sep = " ";
    }
    put(out, sep);
    put(out, "PATTERN (");
    print_pattern(out, m->pattern);
    put(out, ")");
    if (m->within) {
        put(out, " WITHIN ");
        rill__sql_print_expr(out, m->within);
    }
    for (size_t i = 0; i < m->n_defines; i++) {
        put(out, i ? ", " : " DEFINE ");
        rill__sql_print_ident(out, &m->defines[i].var);
        put(out, " AS ");
        rill__sql_print_expr(out, m->defines[i].cond);
    }
}

static void print_from(rill__buf *out, const rill__sql_from *f)
{
    switch (f->kind) {
    case RILL_SQL_F_TABLE:
        print_name(out, &f->u.table.name);
        print_hints(out, f->u.table.hints, f->u.table.n_hints);
        if (f->u.table.system_time) {
            put(out, " FOR SYSTEM_TIME AS OF ");
            rill__sql_print_expr(out, f->u.table.system_time);
        }
        break;
    case RILL_SQL_F_QUERY:
        put(out, f->lateral ? "LATERAL (" : "(");
        rill__sql_print_query(out, f->u.query);
        put(out, ")");
        break;
    case RILL_SQL_F_FUNCTION:
        put(out, f->lateral ? "LATERAL TABLE(" : "TABLE(");
        rill__sql_print_expr(out, f->u.call);
        put(out, ")");
        break;
    case RILL_SQL_F_UNNEST:
        put(out, "UNNEST(");
        print_exprs(out, f->u.unnest.args, f->u.unnest.n_args);
        put(out, f->u.unnest.ordinality ? ") WITH ORDINALITY" : ")");
        break;
    case RILL_SQL_F_MATCH:
        print_from(out, f->u.match.input);
        put(out, " MATCH_RECOGNIZE (");
        print_match(out, &f->u.match.spec);
        put(out, ")");
        break;
    case RILL_SQL_F_JOIN: {
        static const char *const kinds[] = {" JOIN ",      " LEFT JOIN ",  " RIGHT JOIN ",
                                            " FULL JOIN ", " CROSS JOIN ", ", "};
        print_from(out, f->u.join.left);
        if (f->u.join.natural)
            put(out, " NATURAL");
        put(out, kinds[f->u.join.kind]);
        bool paren = f->u.join.right->kind == RILL_SQL_F_JOIN;
        put(out, paren ? "(" : "");
        print_from(out, f->u.join.right);
        put(out, paren ? ")" : "");
        if (f->u.join.on) {
            put(out, " ON ");
            rill__sql_print_expr(out, f->u.join.on);
        } else if (f->u.join.n_using) {
            put(out, " USING ");
            print_idents(out, f->u.join.using_, f->u.join.n_using);
        }
        return;
    }
    }
    if (f->alias) {
        put(out, " AS ");
        rill__sql_print_ident(out, f->alias);
        if (f->n_cols) {
            put(out, " ");
            print_idents(out, f->cols, f->n_cols);
        }
    }
}

/* ---- statements ---------------------------------------------------------------------------- */

static void print_column(rill__buf *out, const rill__sql_column *c)
{
    rill__sql_print_ident(out, &c->name);
    if (c->kind == RILL_SQL_COL_COMPUTED) {
        put(out, " AS ");
        rill__sql_print_expr(out, c->expr);
    } else {
        put(out, " ");
        rill__sql_print_type(out, c->type);
        if (c->kind == RILL_SQL_COL_METADATA) {
            put(out, " METADATA");
            if (c->metadata_key) {
                put(out, " FROM ");
                print_cstring(out, c->metadata_key);
            }
            if (c->is_virtual)
                put(out, " VIRTUAL");
        }
        if (c->primary_key)
            put(out, " PRIMARY KEY NOT ENFORCED");
    }
    if (c->comment) {
        put(out, " COMMENT ");
        print_cstring(out, c->comment);
    }
}

void rill__sql_print_stmt(rill__buf *out, const rill__sql_stmt *s)
{
    switch (s->kind) {
    case RILL_SQL_S_QUERY:
        rill__sql_print_query(out, s->u.query);
        break;
    case RILL_SQL_S_INSERT:
        put(out, s->u.insert.overwrite ? "INSERT OVERWRITE " : "INSERT INTO ");
        print_name(out, &s->u.insert.target);
        print_hints(out, s->u.insert.hints, s->u.insert.n_hints);
        if (s->u.insert.n_partition) {
            put(out, " PARTITION (");
            for (size_t i = 0; i < s->u.insert.n_partition; i++) {
                if (i)
                    put(out, ", ");
                rill__sql_ident k = {s->u.insert.partition[i].key, false, {0, 0, 0}};
                rill__sql_print_ident(out, &k);
                put(out, " = ");
                print_cstring(out, s->u.insert.partition[i].value);
            }
            put(out, ")");
        }
        if (s->u.insert.n_cols) {
            put(out, " ");
            print_idents(out, s->u.insert.cols, s->u.insert.n_cols);
        }
        put(out, " ");
        rill__sql_print_query(out, s->u.insert.query);
        break;
    case RILL_SQL_S_SET:
    case RILL_SQL_S_RESET:
        put(out, s->kind == RILL_SQL_S_SET ? "SET" : "RESET");
        if (s->u.set.key) {
            put(out, " ");
            print_cstring(out, s->u.set.key);
        }
        if (s->u.set.value) {
            put(out, " = ");
            print_cstring(out, s->u.set.value);
        }
        break;
    case RILL_SQL_S_CREATE_TABLE: {
        const rill__sql_create_table *ct = &s->u.create_table;
        put(out, ct->temporary ? "CREATE TEMPORARY TABLE " : "CREATE TABLE ");
        if (ct->if_not_exists)
            put(out, "IF NOT EXISTS ");
        print_name(out, &ct->name);
        bool inline_pk = false;
        if (!ct->n_columns && !ct->has_watermark && !ct->n_pk)
            goto table_options;
        put(out, " (");
        for (size_t i = 0; i < ct->n_columns; i++) {
            if (i)
                put(out, ", ");
            const rill__sql_column *c = &ct->columns[i];
            if (c->primary_key && ct->pk_constraint) {
                rill__sql_column c2 = *c;
                c2.primary_key = false;
                c2.comment = NULL;
                print_column(out, &c2);
                put(out, " CONSTRAINT ");
                rill__sql_print_ident(out, ct->pk_constraint);
                put(out, " PRIMARY KEY NOT ENFORCED");
                if (c->comment) {
                    put(out, " COMMENT ");
                    print_cstring(out, c->comment);
                }
            } else {
                print_column(out, c);
            }
            inline_pk |= c->primary_key;
        }
        const char *sep = ct->n_columns ? ", " : "";
        if (ct->has_watermark) {
            put(out, sep);
            put(out, "WATERMARK FOR ");
            print_name(out, &ct->watermark_col);
            put(out, " AS ");
            rill__sql_print_expr(out, ct->watermark);
            sep = ", ";
        }
        if (ct->n_pk && !inline_pk) {
            put(out, sep);
            if (ct->pk_constraint) {
                put(out, "CONSTRAINT ");
                rill__sql_print_ident(out, ct->pk_constraint);
                put(out, " ");
            }
            put(out, "PRIMARY KEY ");
            print_idents(out, ct->pk, ct->n_pk);
            put(out, " NOT ENFORCED");
        }
        put(out, ")");
    table_options:
        if (ct->comment) {
            put(out, " COMMENT ");
            print_cstring(out, ct->comment);
        }
        if (ct->n_partitioned) {
            put(out, " PARTITIONED BY ");
            print_idents(out, ct->partitioned, ct->n_partitioned);
        }
        if (ct->n_options) {
            put(out, " WITH ");
            print_options(out, ct->options, ct->n_options);
        }
        break;
    }
    case RILL_SQL_S_CREATE_VIEW:
        put(out, s->u.create_view.temporary ? "CREATE TEMPORARY VIEW " : "CREATE VIEW ");
        if (s->u.create_view.if_not_exists)
            put(out, "IF NOT EXISTS ");
        print_name(out, &s->u.create_view.name);
        if (s->u.create_view.n_cols) {
            put(out, " ");
            print_idents(out, s->u.create_view.cols, s->u.create_view.n_cols);
        }
        if (s->u.create_view.comment) {
            put(out, " COMMENT ");
            print_cstring(out, s->u.create_view.comment);
        }
        put(out, " AS ");
        rill__sql_print_query(out, s->u.create_view.query);
        break;
    case RILL_SQL_S_CREATE_FUNCTION: {
        static const char *const langs[] = {"", " LANGUAGE JAVA", " LANGUAGE SCALA",
                                            " LANGUAGE PYTHON", " LANGUAGE C"};
        __typeof__(s->u.create_function) const *f = &s->u.create_function;
        put(out, "CREATE ");
        if (f->temporary)
            put(out, f->system ? "TEMPORARY SYSTEM " : "TEMPORARY ");
        put(out, "FUNCTION ");
        if (f->if_not_exists)
            put(out, "IF NOT EXISTS ");
        print_name(out, &f->name);
        put(out, " AS ");
        print_cstring(out, f->identifier);
        put(out, langs[f->language]);
        for (size_t i = 0; i < f->n_jars; i++) {
            put(out, i ? ", JAR " : " USING JAR ");
            print_cstring(out, f->jars[i]);
        }
        break;
    }
    case RILL_SQL_S_DROP: {
        static const char *const objs[] = {"TABLE ", "VIEW ", "FUNCTION "};
        put(out, "DROP ");
        if (s->u.drop.temporary)
            put(out, s->u.drop.system ? "TEMPORARY SYSTEM " : "TEMPORARY ");
        put(out, objs[s->u.drop.object]);
        if (s->u.drop.if_exists)
            put(out, "IF EXISTS ");
        print_name(out, &s->u.drop.name);
        break;
    }
    case RILL_SQL_S_SHOW: {
        static const char *const what[] = {"TABLES",           "VIEWS",       "FUNCTIONS",
                                           "CATALOGS",         "DATABASES",   "CURRENT CATALOG",
                                           "CURRENT DATABASE", "JOBS",        "MODULES",
                                           "CREATE TABLE ",    "CREATE VIEW "};
        put(out, s->u.show.user ? "SHOW USER " : "SHOW ");
        put(out, what[s->u.show.what]);
        if (s->u.show.what >= RILL_SQL_SHOW_CREATE_TABLE)
            print_name(out, &s->u.show.name);
        if (s->u.show.what == RILL_SQL_SHOW_FUNCTIONS && s->u.show.name.n_parts) {
            put(out, " FROM ");
            print_name(out, &s->u.show.name);
        }
        if (s->u.show.like) {
            put(out, s->u.show.not_like ? " NOT " : " ");
            put(out, s->u.show.ilike ? "ILIKE " : "LIKE ");
            print_string(out, s->u.show.like, strlen(s->u.show.like));
        }
        break;
    }
    case RILL_SQL_S_DESCRIBE:
        put(out, s->u.describe.extended ? "DESCRIBE EXTENDED " : "DESCRIBE ");
        print_name(out, &s->u.describe.name);
        break;
    case RILL_SQL_S_USE:
        put(out, s->u.use.catalog ? "USE CATALOG " : "USE ");
        print_name(out, &s->u.use.name);
        break;
    case RILL_SQL_S_EXPLAIN: {
        static const char *const details[] = {"ESTIMATED_COST", "CHANGELOG_MODE",
                                              "JSON_EXECUTION_PLAN", "PLAN_ADVICE"};
        put(out, "EXPLAIN ");
        if (s->u.explain.plan_for)
            put(out, "PLAN FOR ");
        bool any = false;
        for (int k = 0; k < 4; k++) {
            if (s->u.explain.details & (1 << k)) {
                put(out, any ? ", " : "");
                put(out, details[k]);
                any = true;
            }
        }
        put(out, any ? " " : "");
        rill__sql_print_stmt(out, s->u.explain.inner);
        break;
    }
    case RILL_SQL_S_STATEMENT_SET:
        put(out, "EXECUTE STATEMENT SET BEGIN ");
        for (size_t i = 0; i < s->u.statement_set.n_inserts; i++) {
            rill__sql_print_stmt(out, s->u.statement_set.inserts[i]);
            put(out, "; ");
        }
        put(out, "END");
        break;
    case RILL_SQL_S_BEGIN_SET:
        put(out, "BEGIN STATEMENT SET");
        break;
    case RILL_SQL_S_END:
        put(out, "END");
        break;
    case RILL_SQL_S_EXECUTE:
        put(out, "EXECUTE ");
        rill__sql_print_stmt(out, s->u.inner);
        break;
    case RILL_SQL_S_HELP:
        put(out, "HELP");
        break;
    case RILL_SQL_S_QUIT:
        put(out, "QUIT");
        break;
    case RILL_SQL_S_CLEAR:
        put(out, "CLEAR");
        break;
    }
}
