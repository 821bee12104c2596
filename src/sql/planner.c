/*
 * planner.c - sql layer: a query's relational plan and its streams. So far: SELECT (expressions,
 * *, aliases) FROM a table, a view or a subquery, WHERE; a table's source with its computed
 * columns and watermark. Aggregations, windows, joins, set operations, ORDER BY and LIMIT are
 * refused with a message naming them and the place (issue 14 goes on).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/tz.h"
#include "functions.h"
#include "sql_int.h"

#define ERR(pc, pos, ...) (rill__sql_error((pc)->err, (pc)->text, (pos), __VA_ARGS__), NULL)

/* ---- physical schemas -------------------------------------------------------------------- */

/* The slot kind and parameters of a logical type (DESIGN.md §2); type 0 when it has none
 * (ROW, ARRAY, MAP, MULTISET: a ROW is flattened before it gets here). */
rill_type_info rill__sql_slot_of(const rill__sql_ltype *t)
{
    rill_type_info i = {0};
    switch (t->root) {
    case RILL_SQLT_BOOLEAN:
        i.type = RILL_T_BOOL;
        break;
    case RILL_SQLT_TINYINT:
        i.type = RILL_T_INT8;
        break;
    case RILL_SQLT_SMALLINT:
        i.type = RILL_T_INT16;
        break;
    case RILL_SQLT_INT:
        i.type = RILL_T_INT32;
        break;
    case RILL_SQLT_BIGINT:
        i.type = RILL_T_INT64;
        break;
    case RILL_SQLT_FLOAT:
        i.type = RILL_T_FLOAT;
        break;
    case RILL_SQLT_DOUBLE:
        i.type = RILL_T_DOUBLE;
        break;
    case RILL_SQLT_DECIMAL:
        i = (rill_type_info){RILL_T_DECIMAL, t->precision, t->scale, 0, false};
        break;
    case RILL_SQLT_CHAR:
    case RILL_SQLT_VARCHAR:
    case RILL_SQLT_BINARY:
    case RILL_SQLT_VARBINARY: {
        bool bin = rill__sql_is_binary(t);
        int len = t->precision == RILL_SQL_MAX_LENGTH ? 0 : t->precision;
        i = (rill_type_info){bin ? RILL_T_BYTES : RILL_T_STRING, 0, 0, len,
                             t->root == RILL_SQLT_CHAR || t->root == RILL_SQLT_BINARY};
        break;
    }
    case RILL_SQLT_DATE:
        i.type = RILL_T_DATE;
        break;
    case RILL_SQLT_TIME:
        i = (rill_type_info){RILL_T_TIME, t->precision, 0, 0, false};
        break;
    case RILL_SQLT_TIMESTAMP:
        i = (rill_type_info){RILL_T_TIMESTAMP, t->precision, 0, 0, false};
        break;
    case RILL_SQLT_TIMESTAMP_LTZ:
        i = (rill_type_info){RILL_T_TIMESTAMP_LTZ, t->precision, 0, 0, false};
        break;
    case RILL_SQLT_INTERVAL_YM: /* the leading precision (1..6) */
        i = (rill_type_info){RILL_T_INTERVAL_YM, RILL_MAX(1, RILL_MIN(t->precision, 6)), 0, 0,
                             false};
        break;
    case RILL_SQLT_INTERVAL_DT: /* the leading and the fraction precisions */
        i = (rill_type_info){RILL_T_INTERVAL_DT, RILL_MAX(1, RILL_MIN(t->precision, 6)),
                             RILL_MAX(0, RILL_MIN(t->scale, 9)), 0, false};
        break;
    default:
        break;
    }
    return i;
}

static rill_schema *schema_of(plan_ctx *pc, int n, const rel_col *cols, bool named);

rill_schema *rill__sql_schema_of(plan_ctx *pc, int n, const rel_col *cols)
{
    return schema_of(pc, n, cols, false);
}

rill_schema *rill__sql_named_schema_of(plan_ctx *pc, int n, const rel_col *cols)
{
    return schema_of(pc, n, cols, true);
}

/* named: the fields are the columns' names (connectors that name fields: Kafka's key.fields
 * and metadata); else c0, c1, ... (the engine's names; SQL keeps its own). */
static rill_schema *schema_of(plan_ctx *pc, int n, const rel_col *cols, bool named)
{
    rill_schema *s = rill_schema_new();
    for (int i = 0; i < n; i++) {
        rill_type_info t = rill__sql_slot_of(cols[i].type);
        if (!t.type) {
            rill_schema_free(s);
            rill__err_set(pc->err, RILL_EINVAL, "column '%s': the type %s is not supported yet",
                          cols[i].name, rill__sql_type_str(pc->a, cols[i].type));
            return NULL;
        }
        char name[32];
        snprintf(name, sizeof name, "c%d", i);
        if (rill_schema_add_typed(s, named ? cols[i].name : name, t, cols[i].type->nullable) != 0) {
            rill_schema_free(s);
            rill__err_set(pc->err, RILL_EINVAL, "column '%s': %s", cols[i].name, rill_last_error());
            return NULL;
        }
    }
    return s;
}

/* ---- planning ------------------------------------------------------------------------------- */

static rel *rel_new(plan_ctx *pc, rel_kind kind, int n_cols)
{
    rel *r = rill__arena_alloc(pc->a, sizeof *r);
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->n_cols = n_cols;
    r->cols = rill__arena_alloc(pc->a, (size_t)(n_cols + 1) * sizeof *r->cols);
    return r;
}

/* Appends the leaves of column name of type t (a ROW: one per primitive field, "name.f"). */
static void add_leaves(plan_ctx *pc, rel_col **cols, int *n, int *cap, const char *name,
                       const rill__sql_ltype *t)
{
    if (t->root == RILL_SQLT_ROW) {
        for (int i = 0; i < t->n_fields; i++) {
            const char *leaf =
                rill__arena_alloc(pc->a, strlen(name) + strlen(t->fields[i].name) + 2);
            sprintf((char *)leaf, "%s.%s", name, t->fields[i].name);
            /* a field of a nullable row can be NULL */
            const rill__sql_ltype *ft =
                t->nullable ? rill__sql_type_with_null(pc->a, t->fields[i].type, true)
                            : t->fields[i].type;
            add_leaves(pc, cols, n, cap, leaf, ft);
        }
        return;
    }
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        rel_col *c = rill__arena_alloc(pc->a, (size_t)*cap * sizeof *c);
        if (*n)
            memcpy(c, *cols, (size_t)*n * sizeof *c);
        *cols = c;
    }
    (*cols)[(*n)++] = (rel_col){name, t, NULL, false};
}

/* The table's WATERMARK on its rows r: the column becomes a rowtime attribute, the rows get
 * its event time and the watermark of `col` or `col - INTERVAL ...` (other watermark
 * expressions are not supported yet). r, or NULL with err set. */
static rel *set_rowtime(plan_ctx *pc, const sql_table *t, rel *r)
{
    if (t->watermark_col < 0)
        return r;
    const char *name = t->cols[t->watermark_col].name;
    int c = -1;
    for (int i = 0; i < r->n_cols && c < 0; i++)
        if (!strcmp(r->cols[i].name, name))
            c = i;
    const rill__sql_ltype *ty = c >= 0 ? r->cols[c].type : NULL;
    const char *text = pc->text;
    pc->text = t->ast->text;
    rel *out = r;
    if (!ty || !rill__sql_is_timestamp(ty) || ty->precision > 3) {
        out = ERR(pc, t->watermark->pos,
                  "The rowtime attribute '%s' must be TIMESTAMP(p) or "
                  "TIMESTAMP_LTZ(p) with p <= 3 (it is %s)",
                  name, ty ? rill__sql_type_str(pc->a, ty) : "not a column");
    } else {
        const rill__sql_expr *w = t->watermark;
        int64_t delay = 0;
        bool is_col = w->kind == RILL_SQL_E_IDENT && w->u.name.n_parts == 1 &&
                      !strcmp(w->u.name.parts[0].text, name);
        if (!is_col) {
            bool minus = w->kind == RILL_SQL_E_BINARY && w->u.binary.op == RILL_SQL_OP_MINUS &&
                         w->u.binary.left->kind == RILL_SQL_E_IDENT &&
                         w->u.binary.left->u.name.n_parts == 1 &&
                         !strcmp(w->u.binary.left->u.name.parts[0].text, name) &&
                         w->u.binary.right->kind == RILL_SQL_E_INTERVAL;
            if (!minus)
                out = ERR(pc, w->pos,
                          "Watermark expressions other than `%s` and `%s` - "
                          "INTERVAL '...' unit are not supported yet",
                          name, name);
            else if ((delay = rill__sql_interval_ms(pc, w->u.binary.right)) < 0)
                out = NULL;
        }
        if (out) {
            r->cols[c].type = rill__sql_type_with_attr(pc->a, ty, RILL_SQLA_ROWTIME);
            r->has_et = true;
            r->et_col = c;
            r->et_delay = delay;
        }
    }
    pc->text = text;
    return out;
}

int rill__sql_upsert_kafka_check(const char *text, rill__err *err, const sql_table *t,
                                 rill__sql_pos pos)
{
    if (!t->n_pk)
        return rill__sql_error(err, text, pos,
                               "'upsert-kafka' tables require to define a "
                               "PRIMARY KEY constraint (table '%s')",
                               t->name);
    if (!rill__sql_table_option(t, "key.format") || !rill__sql_table_option(t, "value.format"))
        return rill__sql_error(err, text, pos,
                               "table '%s': upsert-kafka needs 'key.format' "
                               "and 'value.format'",
                               t->name);
    if (rill__sql_table_option(t, "key.fields"))
        return rill__sql_error(err, text, pos,
                               "table '%s': upsert-kafka takes its key from "
                               "the PRIMARY KEY, not 'key.fields'",
                               t->name);
    for (size_t i = 0; i < t->n_options; i++)
        if (!strncmp(t->options[i].key, "scan.startup.", 13))
            return rill__sql_error(err, text, pos,
                                   "Unsupported options found for "
                                   "'upsert-kafka' (table '%s'): %s (it reads its topic from "
                                   "the earliest offset)",
                                   t->name, t->options[i].key);
    return 0;
}

/*
 * A kafka table's metadata column i against the type of its key: Flink's (topic STRING,
 * partition INT, headers MAP<STRING, BYTES>, leader-epoch INT, offset BIGINT, timestamp
 * TIMESTAMP_LTZ(3), timestamp-type STRING) or another the source can fill (partition and
 * leader-epoch BIGINT, timestamp TIMESTAMP(3) or BIGINT, headers STRING: a JSON object; rill's
 * own keys 'key' and 'header.<name>' STRING). 0, or an error at the column's type in the DDL.
 */
static int kafka_metadata_check(plan_ctx *pc, const sql_table *t, size_t i)
{
    const sql_col *c = &t->cols[i];
    const rill__sql_column *dc = &t->ast->stmt->u.create_table.columns[i];
    const rill__sql_ltype *ty = c->type;
    rill__sql_root r = ty->root;
    const char *k = c->metadata_key, *flink = NULL;
    bool ok = false, str = r == RILL_SQLT_VARCHAR || r == RILL_SQLT_CHAR;
    bool ts3 = (r == RILL_SQLT_TIMESTAMP || r == RILL_SQLT_TIMESTAMP_LTZ) && ty->precision == 3;
    if (!strcmp(k, "topic") || !strcmp(k, "timestamp-type"))
        ok = str, flink = "STRING NOT NULL";
    else if (!strcmp(k, "partition") || !strcmp(k, "leader-epoch"))
        ok = r == RILL_SQLT_INT || r == RILL_SQLT_BIGINT,
        flink = k[0] == 'p' ? "INT NOT NULL" : "INT";
    else if (!strcmp(k, "offset"))
        ok = r == RILL_SQLT_BIGINT, flink = "BIGINT NOT NULL";
    else if (!strcmp(k, "timestamp"))
        ok = ts3 || r == RILL_SQLT_BIGINT, flink = "TIMESTAMP_LTZ(3) NOT NULL";
    else if (!strcmp(k, "headers"))
        ok = str, flink = "MAP<STRING, BYTES> NOT NULL";
    else if (!strcmp(k, "key") || (!strncmp(k, "header.", 7) && k[7]))
        ok = str, flink = "STRING";
    const char *text = pc->text;
    pc->text = t->ast->text;
    int rc = 0;
    if (!flink)
        rc = rill__sql_error(pc->err, pc->text, dc->name.pos,
                             "Invalid metadata key '%s' in column '%s' of table '%s'. The kafka "
                             "connector has the keys: topic, partition, headers, leader-epoch, "
                             "offset, timestamp, timestamp-type (and rill's key, header.<name>)",
                             k, c->name, t->name);
    else if (!ok && r == RILL_SQLT_MAP && !strcmp(k, "headers"))
        rc = rill__sql_error(pc->err, pc->text, dc->type->pos,
                             "Metadata column '%s' of table '%s': MAP types are not supported "
                             "yet; declare 'headers' as STRING to read them as a JSON object",
                             c->name, t->name);
    else if (!ok)
        rc = rill__sql_error(pc->err, pc->text, dc->type->pos,
                             "Invalid data type for metadata column '%s' of table '%s'. The "
                             "column cannot be declared as '%s': the metadata key '%s' is %s%s",
                             c->name, t->name, rill__sql_type_str(pc->a, ty), k, flink,
                             !strcmp(k, "timestamp")      ? " (rill also takes TIMESTAMP(3) "
                                                            "and BIGINT)"
                             : !strcmp(k, "headers")      ? " (rill takes STRING: a JSON object)"
                             : k[0] == 'p' || k[0] == 'l' ? " (rill also takes BIGINT)"
                                                          : "");
    pc->text = text;
    return rc;
}

/* A table's rows: its physical columns' leaves (what the source reads), then its computed
 * columns (a calc over them). */
static rel *plan_table(plan_ctx *pc, sql_table *t, rill__sql_pos pos)
{
    rel_col *cols = NULL;
    int n = 0, cap = 0;
    for (size_t i = 0; i < t->n_cols; i++) {
        const sql_col *c = &t->cols[i];
        const sql_option *conn = rill__sql_table_option(t, "connector");
        if (c->kind == RILL_SQL_COL_METADATA && (!conn || strcmp(conn->value, "kafka")))
            return ERR(pc, pos,
                       "Table '%s': metadata columns are supported for the kafka connector "
                       "only so far",
                       t->name);
        if (c->kind == RILL_SQL_COL_METADATA && kafka_metadata_check(pc, t, i))
            return NULL;
        if (c->kind == RILL_SQL_COL_PHYSICAL || c->kind == RILL_SQL_COL_METADATA)
            add_leaves(pc, &cols, &n, &cap, c->name, c->type);
    }
    rel *scan = rel_new(pc, REL_SCAN, n);
    memcpy(scan->cols, cols, (size_t)n * sizeof *cols);
    scan->table = t;
    const sql_option *conn = rill__sql_table_option(t, "connector");
    if (conn && !strcmp(conn->value, "upsert-kafka")) { /* a changelog by its primary key */
        if (rill__sql_upsert_kafka_check(pc->text, pc->err, t, pos))
            return NULL;
        scan->updates = true;
    }
    bool computed = false;
    for (size_t i = 0; i < t->n_cols; i++)
        computed |= t->cols[i].kind == RILL_SQL_COL_COMPUTED;
    if (!computed)
        return set_rowtime(pc, t, scan);
    /* computed columns: bound against the physical ones, in the table's column order */
    rel *calc = rel_new(pc, REL_CALC, 0);
    calc->input = scan;
    rel_col *out = NULL;
    int n_out = 0, cap_out = 0;
    rill__sql_rex **exprs =
        rill__arena_alloc(pc->a, (size_t)(n + (int)t->n_cols + 1) * sizeof *exprs);
    int k = 0;
    const char *text = pc->text;
    pc->text = t->ast->text;
    for (size_t i = 0; i < t->n_cols; i++) {
        const sql_col *c = &t->cols[i];
        if (c->kind == RILL_SQL_COL_PHYSICAL || c->kind == RILL_SQL_COL_METADATA) {
            int first = n_out;
            add_leaves(pc, &out, &n_out, &cap_out, c->name, c->type);
            for (int j = first; j < n_out; j++, k++)
                exprs[j] = rill__sql_x_input(pc->a, k, scan->cols[k].type);
            continue;
        }
        rill__sql_rex *x = rill__sql_bind(pc, scan, c->expr);
        if (!x) {
            pc->text = text;
            return NULL;
        }
        exprs[n_out] = x;
        add_leaves(pc, &out, &n_out, &cap_out, c->name, x->type);
    }
    pc->text = text;
    calc->n_cols = n_out;
    calc->cols = out;
    calc->outs = exprs;
    return set_rowtime(pc, t, calc);
}

static rel *plan_from(plan_ctx *pc, const rill__sql_from *f);

sql_table *rill__sql_hinted_table(plan_ctx *pc, sql_table *t, const rill__sql_hint *hints,
                                  size_t n_hints)
{
    if (!n_hints)
        return t;
    const char *on = rill__sql_session_option(pc->s, "table.dynamic-table-options.enabled");
    if (on && !strcasecmp(on, "false"))
        return ERR(pc, hints[0].pos,
                   "OPTIONS hint is allowed only when table.dynamic-table-options.enabled is "
                   "set to true");
    size_t n = t->n_options, cap = t->n_options;
    for (size_t h = 0; h < n_hints; h++) {
        if (strcasecmp(hints[h].name.text, "OPTIONS"))
            return ERR(pc, hints[h].pos, "Table hint '%s' is not supported yet (OPTIONS is)",
                       hints[h].name.text);
        if (hints[h].n_values || !hints[h].n_options)
            return ERR(pc, hints[h].pos,
                       "OPTIONS hint takes options: OPTIONS('key' = 'value', ...)");
        cap += hints[h].n_options;
    }
    sql_option *opts = rill__arena_alloc(pc->a, (cap + 1) * sizeof *opts);
    memcpy(opts, t->options, t->n_options * sizeof *opts);
    bool changed = false;
    for (size_t h = 0; h < n_hints; h++)
        for (size_t i = 0; i < hints[h].n_options; i++) {
            const rill__sql_option *o = &hints[h].options[i];
            size_t k = 0;
            while (k < n && strcmp(opts[k].key, o->key))
                k++;
            /* copies: the statement's syntax tree goes before the job's sources do */
            if (k == n)
                opts[n++].key = rill__arena_strdup(pc->a, o->key);
            changed |= k == t->n_options || strcmp(opts[k].value, o->value);
            opts[k].value = rill__arena_strdup(pc->a, o->value);
        }
    if (!changed)
        return t;
    sql_table *c = rill__arena_alloc(pc->a, sizeof *c);
    *c = *t;
    memset(&c->arena, 0, sizeof c->arena); /* t's: the copy owns nothing */
    c->options = opts;
    c->n_options = n;
    c->hinted = true;
    return c;
}

const rill__sql_ltype *rill__sql_computed_type(plan_ctx *pc, sql_table *t, const sql_col *c)
{
    rel *r = plan_table(pc, t, t->ast->stmt->pos);
    for (int i = 0; r && i < r->n_cols; i++)
        if (!strcmp(r->cols[i].name, c->name))
            return r->cols[i].type;
    return NULL;
}

void rill__sql_full_scan(plan_ctx *pc, rel *scan)
{
    rel_col *cols = NULL;
    int n = 0, cap = 0;
    const sql_table *t = scan->table;
    for (size_t i = 0; i < t->n_cols; i++)
        if (t->cols[i].kind == RILL_SQL_COL_PHYSICAL || t->cols[i].kind == RILL_SQL_COL_METADATA)
            add_leaves(pc, &cols, &n, &cap, t->cols[i].name, t->cols[i].type);
    scan->cols = cols;
    scan->n_cols = n;
}

rel *rill__sql_plan_view(plan_ctx *pc, sql_view *v)
{
    const char *text = pc->text;
    pc->text = v->ast->text;
    const rill__sql_stmt *st = v->ast->stmt;
    rel *r = rill__sql_plan_query(pc, st->u.create_view.query);
    pc->text = text;
    if (r && st->u.create_view.n_cols) {
        if ((int)st->u.create_view.n_cols != r->n_cols)
            return ERR(pc, st->pos, "View '%s' names %zu columns, its query has %d", v->name,
                       st->u.create_view.n_cols, r->n_cols);
        for (int i = 0; i < r->n_cols; i++)
            r->cols[i].name = st->u.create_view.cols[i].text;
    }
    return r;
}

static rel *plan_from_item(plan_ctx *pc, const rill__sql_from *f);

/* A FROM item's relation, its columns qualified by its alias or table name (t.col). */
static rel *plan_from(plan_ctx *pc, const rill__sql_from *f)
{
    rel *r = plan_from_item(pc, f);
    const char *qual = f->alias ? f->alias->text : NULL;
    if (!qual && f->kind == RILL_SQL_F_TABLE)
        qual = f->u.table.name.parts[f->u.table.name.n_parts - 1].text;
    if (!r || !qual)
        return r;
    rel_col *cols = rill__arena_alloc(pc->a, (size_t)(r->n_cols + 1) * sizeof *cols);
    for (int i = 0; i < r->n_cols; i++) {
        cols[i] = r->cols[i];
        cols[i].qual = qual;
    }
    r->cols = cols;
    return r;
}

static rel *plan_from_item(plan_ctx *pc, const rill__sql_from *f)
{
    switch (f->kind) {
    case RILL_SQL_F_TABLE: {
        if (f->u.table.system_time)
            return ERR(pc, f->pos, "FOR SYSTEM_TIME AS OF is not supported yet");
        const rill__sql_name *n = &f->u.table.name;
        const char *name = n->parts[n->n_parts - 1].text;
        for (int i = pc->n_ctes - 1; n->n_parts == 1 && i >= 0; i--)
            if (!strcmp(pc->ctes[i]->name.text, name)) { /* a WITH query in scope */
                const rill__sql_cte *cte = pc->ctes[i];
                if (f->u.table.n_hints)
                    return ERR(pc, f->u.table.hints[0].pos,
                               "WITH query '%s' cannot be enriched with new options. Hints can "
                               "only be applied to tables.",
                               name);
                int saved = pc->n_ctes;
                pc->n_ctes = i; /* it sees the ones before it only */
                rel *r = rill__sql_plan_query(pc, cte->query);
                pc->n_ctes = saved;
                if (r && cte->n_cols) {
                    if ((int)cte->n_cols != r->n_cols)
                        return ERR(pc, f->pos,
                                   "WITH query '%s' names %zu columns, its query "
                                   "has %d",
                                   name, cte->n_cols, r->n_cols);
                    rel_col *cols = rill__arena_alloc(pc->a, (size_t)r->n_cols * sizeof *cols);
                    for (int k = 0; k < r->n_cols; k++)
                        cols[k] = (rel_col){cte->cols[k].text, r->cols[k].type, NULL, false};
                    r->cols = cols;
                }
                return r;
            }
        if (n->n_parts == 1 ||
            (n->n_parts == 3 && !strcmp(n->parts[0].text, "default_catalog") &&
             !strcmp(n->parts[1].text, "default_database")) ||
            (n->n_parts == 2 && !strcmp(n->parts[0].text, "default_database"))) {
            sql_table *t = rill__sql_find_table(pc->s, name);
            if (t) { /* OPTIONS('k' = 'v') hints: its options for this statement */
                t = rill__sql_hinted_table(pc, t, f->u.table.hints, f->u.table.n_hints);
                return t ? plan_table(pc, t, f->pos) : NULL;
            }
            sql_view *v = rill__sql_find_view(pc->s, name);
            if (v && f->u.table.n_hints) /* Flink's message */
                return ERR(pc, f->u.table.hints[0].pos,
                           "View '%s' cannot be enriched with new options. Hints can only be "
                           "applied to tables.",
                           name);
            if (v)
                return rill__sql_plan_view(pc, v);
        }
        return ERR(pc, f->pos, "Object '%s' not found", name);
    }
    case RILL_SQL_F_QUERY: {
        if (f->lateral)
            return ERR(pc, f->pos, "LATERAL is not supported yet");
        rel *q = rill__sql_plan_query(pc, f->u.query);
        if (!q || !f->n_cols)
            return q;
        /* AS t (c1, c2): the columns renamed */
        if ((int)f->n_cols != q->n_cols)
            return ERR(pc, f->pos,
                       "List of column aliases must have same degree as table; the "
                       "table has %d columns, the list %zu",
                       q->n_cols, f->n_cols);
        rel *c = rel_new(pc, REL_CALC, q->n_cols);
        c->input = q;
        c->updates = q->updates;
        c->outs = rill__arena_alloc(pc->a, (size_t)q->n_cols * sizeof *c->outs);
        for (int i = 0; i < q->n_cols; i++) {
            c->cols[i] = (rel_col){f->cols[i].text, q->cols[i].type, NULL, false};
            c->outs[i] = rill__sql_x_input(pc->a, i, q->cols[i].type);
        }
        return c;
    }
    case RILL_SQL_F_JOIN:
        return rill__sql_plan_join(pc, f, plan_from);
    case RILL_SQL_F_FUNCTION:
        return rill__sql_plan_tvf(pc, f, plan_from);
    case RILL_SQL_F_UNNEST:
        return ERR(pc, f->pos, "UNNEST is not supported yet");
    default:
        return rill__sql_plan_match(pc, f, plan_from);
    }
}

/* The name a select item's column gets: its alias, a column's own name, or EXPR$i (Flink). */
static const char *item_name(plan_ctx *pc, const rill__sql_item *it, int i)
{
    if (it->alias)
        return it->alias->text;
    if (it->expr->kind == RILL_SQL_E_IDENT) {
        const rill__sql_name *n = &it->expr->u.name;
        return n->parts[n->n_parts - 1].text;
    }
    char *s = rill__arena_alloc(pc->a, 24);
    snprintf(s, 24, "EXPR$%d", i);
    return s;
}

/* Whether e calls an aggregate function (outside an OVER window). */
static bool has_aggregate(const rill__sql_expr *e)
{
    if (!e)
        return false;
    switch (e->kind) {
    case RILL_SQL_E_CALL: {
        const rill__sql_call *c = &e->u.call;
        static const char *const aggs[] = {"COUNT",       "SUM",        "MIN",     "MAX", "AVG",
                                           "FIRST_VALUE", "LAST_VALUE", "LISTAGG", NULL};
        for (int k = 0; !c->over && c->name.n_parts == 1 && aggs[k]; k++)
            if (!strcasecmp(c->name.parts[0].text, aggs[k]))
                return true;
        for (size_t i = 0; i < c->n_args; i++)
            if (has_aggregate(c->args[i]))
                return true;
        return false;
    }
    case RILL_SQL_E_UNARY:
        return has_aggregate(e->u.unary.arg);
    case RILL_SQL_E_BINARY:
        return has_aggregate(e->u.binary.left) || has_aggregate(e->u.binary.right);
    case RILL_SQL_E_IS:
        return has_aggregate(e->u.is.arg);
    case RILL_SQL_E_CAST:
        return has_aggregate(e->u.cast.arg);
    case RILL_SQL_E_BETWEEN:
        return has_aggregate(e->u.between.arg) || has_aggregate(e->u.between.lo) ||
               has_aggregate(e->u.between.hi);
    case RILL_SQL_E_LIKE:
        return has_aggregate(e->u.like.arg);
    case RILL_SQL_E_IN:
        if (has_aggregate(e->u.in.arg))
            return true;
        for (size_t i = 0; i < e->u.in.n_list; i++)
            if (has_aggregate(e->u.in.list[i]))
                return true;
        return false;
    case RILL_SQL_E_CASE:
        if (has_aggregate(e->u.kase.operand) || has_aggregate(e->u.kase.else_))
            return true;
        for (size_t i = 0; i < e->u.kase.n_whens; i++)
            if (has_aggregate(e->u.kase.whens[i].when) || has_aggregate(e->u.kase.whens[i].then))
                return true;
        return false;
    default:
        return false;
    }
}

/* The input of a SELECT without FROM: one row of one column, as Flink plans it
 * (Values(tuples=[[{ 0 }]], values=[ZERO])); the select list is computed over it. */
static rel *one_row(plan_ctx *pc, const rill__sql_query *q)
{
    for (size_t i = 0; i < q->u.select.n_items; i++)
        if (q->u.select.items[i].expr->kind == RILL_SQL_E_STAR)
            return ERR(pc, q->u.select.items[i].expr->pos, "SELECT * requires a FROM clause");
    rel *v = rel_new(pc, REL_VALUES, 1);
    const rill__sql_ltype *t = rill__sql_type_of(pc->a, RILL_SQLT_INT, false);
    v->cols[0] = (rel_col){.name = "ZERO", .type = t};
    v->n_rows = 1;
    v->rows = rill__arena_alloc(pc->a, sizeof *v->rows);
    v->rows[0] = rill__sql_x_literal(pc->a, t, 0);
    return v;
}

static rel *plan_select_all(plan_ctx *pc, const rill__sql_query *q);

/* SELECT DISTINCT: the rows of the SELECT grouped by all their columns (Flink plans it as a
 * GroupAggregate without aggregates: a row's first occurrence is +I, later ones nothing). */
static rel *plan_select(plan_ctx *pc, const rill__sql_query *q)
{
    rel *in = plan_select_all(pc, q);
    if (!in || q->u.select.quantifier != 1)
        return in;
    rel *agg = rel_new(pc, REL_GROUP_AGG, in->n_cols);
    memcpy(agg->cols, in->cols, (size_t)in->n_cols * sizeof *agg->cols);
    agg->input = in;
    agg->n_keys = in->n_cols;
    agg->keys = rill__arena_alloc(pc->a, (size_t)(in->n_cols + 1) * sizeof *agg->keys);
    for (int i = 0; i < in->n_cols; i++)
        agg->keys[i] = i;
    agg->updates = true;
    return agg;
}

/* name, or name0, name1... when one of the n columns before has it (Calcite's uniquify: the
 * two id columns of SELECT * over a join are id and id0). */
static const char *unique_name(plan_ctx *pc, const rel_col *cols, int n, const char *name)
{
    const char *try = name;
    for (int k = 0;; k++) {
        bool taken = false;
        for (int i = 0; i < n && !taken; i++)
            taken = !strcmp(cols[i].name, try);
        if (!taken)
            return try;
        char *t = rill__arena_alloc(pc->a, strlen(name) + 16);
        sprintf(t, "%s%d", name, k);
        try = t;
    }
}

void rill__sql_warn(plan_ctx *pc, rill__sql_pos pos, const char *fmt, ...)
{
    if (pc->s->dry)
        return;
    char what[RILL_ERRMSG_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    rill__err e = {0};
    rill__sql_error(&e, pc->text, pos, "%s", what);
    fprintf(stderr, "rill: warning: %s\n", e.msg);
}

/* The item of q's select list that a WHERE's bare name n means when n is no column of in but
 * the alias of a window function (OVER) of that select list, else NULL. */
static const rill__sql_item *window_alias(const rill__sql_query *q, const rel *in,
                                          const rill__sql_expr *n)
{
    if (n->kind != RILL_SQL_E_IDENT || n->u.name.n_parts != 1 ||
        rill__sql_names_column(in, &n->u.name))
        return NULL;
    for (size_t i = 0; i < q->u.select.n_items; i++) {
        const rill__sql_item *it = &q->u.select.items[i];
        if (it->alias && !strcmp(it->alias->text, n->u.name.parts[0].text) &&
            it->expr->kind == RILL_SQL_E_CALL && it->expr->u.call.over)
            return it;
    }
    return NULL;
}

/* Whether e names a window function's alias (window_alias) anywhere. */
static bool names_window_alias(const rill__sql_query *q, const rel *in, const rill__sql_expr *e)
{
    if (!e)
        return false;
    switch (e->kind) {
    case RILL_SQL_E_IDENT:
        return window_alias(q, in, e) != NULL;
    case RILL_SQL_E_CALL:
        for (size_t i = 0; i < e->u.call.n_args; i++)
            if (names_window_alias(q, in, e->u.call.args[i]))
                return true;
        return false;
    case RILL_SQL_E_UNARY:
        return names_window_alias(q, in, e->u.unary.arg);
    case RILL_SQL_E_BINARY:
        return names_window_alias(q, in, e->u.binary.left) ||
               names_window_alias(q, in, e->u.binary.right);
    case RILL_SQL_E_IS:
        return names_window_alias(q, in, e->u.is.arg);
    case RILL_SQL_E_CAST:
        return names_window_alias(q, in, e->u.cast.arg);
    case RILL_SQL_E_BETWEEN:
        return names_window_alias(q, in, e->u.between.arg) ||
               names_window_alias(q, in, e->u.between.lo) ||
               names_window_alias(q, in, e->u.between.hi);
    case RILL_SQL_E_LIKE:
        return names_window_alias(q, in, e->u.like.arg) ||
               names_window_alias(q, in, e->u.like.pattern);
    case RILL_SQL_E_IN:
        if (names_window_alias(q, in, e->u.in.arg))
            return true;
        for (size_t i = 0; i < e->u.in.n_list; i++)
            if (names_window_alias(q, in, e->u.in.list[i]))
                return true;
        return false;
    case RILL_SQL_E_CASE:
        if (names_window_alias(q, in, e->u.kase.operand) ||
            names_window_alias(q, in, e->u.kase.else_))
            return true;
        for (size_t i = 0; i < e->u.kase.n_whens; i++)
            if (names_window_alias(q, in, e->u.kase.whens[i].when) ||
                names_window_alias(q, in, e->u.kase.whens[i].then))
                return true;
        return false;
    default:
        return false;
    }
}

/* The conjuncts of a WHERE (its ANDs taken apart), appended to v. */
static void where_conjuncts(plan_ctx *pc, const rill__sql_expr *e, const rill__sql_expr ***v,
                            int *n, int *cap)
{
    if (e->kind == RILL_SQL_E_BINARY && e->u.binary.op == RILL_SQL_OP_AND) {
        where_conjuncts(pc, e->u.binary.left, v, n, cap);
        where_conjuncts(pc, e->u.binary.right, v, n, cap);
        return;
    }
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 8;
        const rill__sql_expr **nv = rill__arena_alloc(pc->a, (size_t)*cap * sizeof *nv);
        if (*n)
            memcpy(nv, *v, (size_t)*n * sizeof *nv);
        *v = nv;
    }
    (*v)[(*n)++] = e;
}

/* a AND b (either NULL: the other). */
static const rill__sql_expr *and_of(plan_ctx *pc, const rill__sql_expr *a, const rill__sql_expr *b)
{
    if (!a || !b)
        return a ? a : b;
    rill__sql_expr *x = rill__arena_alloc(pc->a, sizeof *x);
    memset(x, 0, sizeof *x);
    x->kind = RILL_SQL_E_BINARY;
    x->pos = a->pos;
    x->u.binary.op = RILL_SQL_OP_AND;
    x->u.binary.left = (rill__sql_expr *)a;
    x->u.binary.right = (rill__sql_expr *)b;
    return x;
}

/* WHERE rownum <= 1 in the SELECT whose select list defines rownum as ROW_NUMBER() OVER (...)
 * (Nexmark's q6.sql is written so). Standard SQL, and Flink, refuse it: a WHERE sees the
 * FROM's columns only. rill takes the evident meaning, with a warning: the conjuncts naming a
 * window function's alias filter the SELECT's result (as if it were a subquery's), the others
 * stay where a WHERE is. *post gets the first kind (NULL: none); *pre the rest. */
static void split_window_where(plan_ctx *pc, const rill__sql_query *q, const rel *in,
                               const rill__sql_expr **pre, const rill__sql_expr **post)
{
    const rill__sql_expr **v = NULL;
    int n = 0, cap = 0;
    *pre = q->u.select.where;
    *post = NULL;
    where_conjuncts(pc, q->u.select.where, &v, &n, &cap);
    const rill__sql_expr *keep = NULL;
    for (int i = 0; i < n; i++) {
        if (!names_window_alias(q, in, v[i])) {
            keep = and_of(pc, keep, v[i]);
            continue;
        }
        *post = and_of(pc, *post, v[i]);
    }
    if (!*post)
        return;
    *pre = keep;
    rill__sql_warn(pc, (*post)->pos,
                   "this WHERE names a window function of its own select list, which Flink "
                   "refuses (a WHERE sees the FROM's columns only): rill applies the condition "
                   "to the SELECT's result, as a query over it would");
}

/* While binding a post condition of split_window_where: a window function's alias is bound as
 * the window function (the column of the ranking or the OVER aggregation under it). */
static int window_alias_hook(plan_ctx *pc, const rel *in, const rill__sql_expr *e,
                             rill__sql_rex **out)
{
    const rill__sql_item *it = window_alias(pc->hook_arg, in, e);
    if (!it)
        return 0;
    pc->bind_hook = NULL;
    *out = rill__sql_bind(pc, in, it->expr);
    pc->bind_hook = window_alias_hook;
    return *out ? 1 : -1;
}

static rel *plan_select_all(plan_ctx *pc, const rill__sql_query *q)
{
    if (q->u.select.n_hints) /* STATE_TTL changes results; join hints have no joins yet */
        return ERR(pc, q->u.select.hints[0].pos, "Query hints are not supported yet ('%s')",
                   q->u.select.hints[0].name.text);
    bool aggregates = false; /* SELECT COUNT(*) FROM t: one group */
    for (size_t i = 0; i < q->u.select.n_items && !aggregates; i++)
        aggregates = has_aggregate(q->u.select.items[i].expr);
    if (q->u.select.has_group_by || q->u.select.having || aggregates) {
        rel *in = q->u.select.from ? plan_from(pc, q->u.select.from) : one_row(pc, q);
        if (!in)
            return NULL;
        if (in->updates && in->kind == REL_WINDOW_TVF)
            return ERR(pc, q->pos, "A window TVF over an updating input is not supported");
        return rill__sql_plan_window_agg(pc, q, in);
    }
    bool over = rill__sql_has_over(q); /* AGG(x) OVER (...): over.c (its WINDOW clause too) */
    if (q->u.select.n_windows && !over)
        return ERR(pc, q->pos, "WINDOW clauses are not supported yet");
    rel *in = q->u.select.from ? plan_from(pc, q->u.select.from) : one_row(pc, q);
    if (!in)
        return NULL;
    /* ROW_NUMBER() OVER (...): the WHERE, then the ranking, its rank a column after the
     * input's (not one of *'s) that the OVER call binds to (rank.c) */
    bool ranked = rill__sql_has_rank(q);
    const rill__sql_expr *post = NULL; /* WHERE rownum <= 1 beside the rownum it names */
    rill__sql_query qq;
    if ((ranked || over) && q->u.select.where) {
        const rill__sql_expr *pre;
        split_window_where(pc, q, in, &pre, &post);
        if (post) {
            qq = *q;
            qq.u.select.where = (rill__sql_expr *)pre;
            q = &qq;
        }
    }
    if (ranked && over)
        return ERR(pc, q->pos,
                   "A ranking and an OVER aggregation in one select list are not "
                   "supported yet");
    int n_star = in->n_cols; /* the aggregates of an OVER aggregation are not *'s either */
    if (ranked && !(in = rill__sql_plan_rank(pc, q, in)))
        return NULL;
    if (over && !(in = rill__sql_plan_over(pc, q, in)))
        return NULL;
    ranked |= over; /* its WHERE is done below it */
    const rill__sql_ident *alias = q->u.select.from ? q->u.select.from->alias : NULL;
    rel *c = rel_new(pc, REL_CALC, 0);
    c->input = in;
    c->updates = in->updates;
    if (q->u.select.where && !ranked) {
        rill__sql_rex *w = rill__sql_bind(pc, in, q->u.select.where);
        if (!w)
            return NULL;
        if (w->type->root != RILL_SQLT_BOOLEAN && w->type->root != RILL_SQLT_NULL)
            return ERR(pc, q->u.select.where->pos, "WHERE clause must be a condition, not '%s'",
                       rill__sql_type_str(pc->a, w->type));
        c->filter = w;
    }
    /* the items: * and t.* expand to the input's columns */
    int cap = in->n_cols + (int)q->u.select.n_items + 1, n = 0;
    c->cols = rill__arena_alloc(pc->a, (size_t)cap * sizeof *c->cols);
    c->outs = rill__arena_alloc(pc->a, (size_t)cap * sizeof *c->outs);
    for (size_t i = 0; i < q->u.select.n_items; i++) {
        const rill__sql_item *it = &q->u.select.items[i];
        if (it->expr->kind == RILL_SQL_E_STAR) {
            const rill__sql_name *qual = &it->expr->u.star.qualifier;
            /* t.* over a join: the columns of its FROM item t */
            const char *qt = qual->n_parts == 1 ? qual->parts[0].text : NULL;
            bool of_item = false;
            for (int k = 0; qt && k < in->n_cols && !of_item; k++)
                of_item = in->cols[k].qual && !strcmp(in->cols[k].qual, qt);
            if (qual->n_parts && !of_item &&
                (!alias || qual->n_parts != 1 || strcmp(qual->parts[0].text, alias->text))) {
                const char *tn = qual->parts[qual->n_parts - 1].text;
                bool is_table = q->u.select.from->kind == RILL_SQL_F_TABLE && !alias &&
                                !strcmp(tn, q->u.select.from->u.table.name
                                                .parts[q->u.select.from->u.table.name.n_parts - 1]
                                                .text);
                if (!is_table)
                    return ERR(pc, it->expr->pos, "Unknown identifier '%s'", tn);
            }
            if (n + n_star > cap) {
                cap = n + n_star + (int)q->u.select.n_items;
                rel_col *nc = rill__arena_alloc(pc->a, (size_t)cap * sizeof *nc);
                rill__sql_rex **no = rill__arena_alloc(pc->a, (size_t)cap * sizeof *no);
                memcpy(nc, c->cols, (size_t)n * sizeof *nc);
                memcpy(no, c->outs, (size_t)n * sizeof *no);
                c->cols = nc, c->outs = no;
            }
            for (int k = 0; k < n_star; k++) {
                if (of_item && (!in->cols[k].qual || strcmp(in->cols[k].qual, qt)))
                    continue;
                if (!of_item && in->cols[k].hidden) /* a USING join's: once, merged */
                    continue;
                c->cols[n] = in->cols[k];
                c->cols[n].name = unique_name(pc, c->cols, n, in->cols[k].name);
                c->outs[n++] = rill__sql_x_input(pc->a, k, in->cols[k].type);
            }
            continue;
        }
        rill__sql_rex *x = rill__sql_bind(pc, in, it->expr);
        if (!x)
            return NULL;
        if (n == cap)
            return ERR(pc, it->expr->pos, "too many columns");
        c->cols[n] = (rel_col){item_name(pc, it, (int)i), x->type, NULL, false};
        c->outs[n++] = x;
    }
    c->n_cols = n;
    if (post) { /* bound over the ranking or OVER aggregation, as the select list is */
        int (*hook)(plan_ctx *, const rel *, const rill__sql_expr *, rill__sql_rex **) =
            pc->bind_hook;
        void *arg = pc->hook_arg;
        pc->bind_hook = window_alias_hook;
        pc->hook_arg = (void *)q;
        rill__sql_rex *w = rill__sql_bind(pc, in, post);
        pc->bind_hook = hook;
        pc->hook_arg = arg;
        if (!w)
            return NULL;
        if (w->type->root != RILL_SQLT_BOOLEAN && w->type->root != RILL_SQLT_NULL)
            return ERR(pc, post->pos, "WHERE clause must be a condition, not '%s'",
                       rill__sql_type_str(pc->a, w->type));
        c->filter = w;
    }
    /* a filter on the rank of a ranking below: its bounds go to the ranking (Top-N) */
    return rill__sql_rank_filter(pc, c) ? NULL : c;
}

static rel *plan_body(plan_ctx *pc, const rill__sql_query *q);

/* WITH name [(cols)] AS (query), ...: each named query is in scope for the ones after it and
 * for the body (as a view that only this query sees). */
/* Constant folding (a rule of the logical plan): every expression of r and its inputs whose
 * operands are all constants is computed once, here, and becomes a literal; a filter that is
 * always TRUE goes. */
static void fold_rel(plan_ctx *pc, rel *r)
{
    for (; r; r = r->input) {
        for (int i = 0; i < r->n_inputs; i++)
            fold_rel(pc, r->inputs[i]);
        if (r->kind != REL_CALC)
            continue;
        for (int i = 0; r->outs && i < r->n_cols; i++)
            r->outs[i] = rill__sql_fold(pc->a, r->outs[i], pc->text);
        if (r->filter) {
            r->filter = rill__sql_fold(pc->a, r->filter, pc->text);
            if (r->filter->op == RILL_SQLX_LITERAL && !r->filter->lit_null && r->filter->lit)
                r->filter = NULL;
        }
    }
}

rel *rill__sql_plan_query(plan_ctx *pc, const rill__sql_query *q)
{
    int saved = pc->n_ctes;
    for (size_t i = 0; i < q->n_with; i++) {
        if (pc->n_ctes == pc->cap_ctes) {
            pc->cap_ctes = pc->cap_ctes ? 2 * pc->cap_ctes : 8;
            const rill__sql_cte **v = rill__arena_alloc(pc->a, (size_t)pc->cap_ctes * sizeof *v);
            if (pc->n_ctes)
                memcpy(v, pc->ctes, (size_t)pc->n_ctes * sizeof *v);
            pc->ctes = v;
        }
        pc->ctes[pc->n_ctes++] = &q->with[i];
    }
    rel *r = plan_body(pc, q);
    pc->n_ctes = saved;
    if (r && saved == 0) { /* the whole query planned: its rewrites */
        fold_rel(pc, r);
        rill__sql_join_rules(pc, r);
    }
    return r;
}

rel *rill__sql_filtered(plan_ctx *pc, rel *in, rill__sql_rex *x)
{
    rel *f = rel_new(pc, REL_CALC, 0);
    f->input = in;
    f->updates = in->updates;
    f->filter = x;
    f->n_cols = in->n_cols;
    f->cols = in->cols;
    f->outs = rill__arena_alloc(pc->a, (size_t)(in->n_cols + 1) * sizeof *f->outs);
    for (int i = 0; i < in->n_cols; i++)
        f->outs[i] = rill__sql_x_input(pc->a, i, in->cols[i].type);
    return f;
}

rel *rill__sql_where(plan_ctx *pc, rel *in, const rill__sql_expr *where)
{
    rill__sql_rex *x = rill__sql_bind(pc, in, where);
    if (!x)
        return NULL;
    if (x->type->root != RILL_SQLT_BOOLEAN && x->type->root != RILL_SQLT_NULL)
        return ERR(pc, where->pos, "WHERE clause must be a condition, not '%s'",
                   rill__sql_type_str(pc->a, x->type));
    return rill__sql_filtered(pc, in, x);
}

/* VALUES (a, b), (c, d): a bounded relation of constant rows. Each column has the common type
 * of its values (nullable when one is NULL); every value must be constant (folded). */
static rel *plan_values(plan_ctx *pc, const rill__sql_query *q)
{
    size_t n_rows = q->u.values.n_rows;
    if (n_rows == 0)
        return ERR(pc, q->pos, "VALUES needs a row");
    const rill__sql_expr *first = q->u.values.rows[0];
    int n_cols = first->kind == RILL_SQL_E_ROW ? (int)first->u.list.n_items : 1;
    rel none = {.kind = REL_CALC};
    rill__sql_rex **v = rill__arena_alloc(pc->a, n_rows * (size_t)n_cols * sizeof *v);
    for (size_t r = 0; r < n_rows; r++) {
        const rill__sql_expr *e = q->u.values.rows[r];
        int n = e->kind == RILL_SQL_E_ROW ? (int)e->u.list.n_items : 1;
        if (n != n_cols)
            return ERR(pc, e->pos,
                       "Values passed to VALUES operator must have compatible types "
                       "(row %zu has %d values, the first %d)",
                       r + 1, n, n_cols);
        for (int c = 0; c < n_cols; c++) {
            const rill__sql_expr *x = e->kind == RILL_SQL_E_ROW ? e->u.list.items[c] : e;
            rill__sql_rex *b = rill__sql_bind(pc, &none, x);
            if (!b)
                return NULL;
            v[r * (size_t)n_cols + (size_t)c] = b;
        }
    }
    rel *out = rel_new(pc, REL_VALUES, n_cols);
    out->n_rows = (int)n_rows;
    out->rows = v;
    const rill__sql_ltype **ts = rill__arena_alloc(pc->a, n_rows * sizeof *ts);
    for (int c = 0; c < n_cols; c++) {
        bool nullable = false;
        for (size_t r = 0; r < n_rows; r++) {
            ts[r] = v[r * (size_t)n_cols + (size_t)c]->type;
            nullable |= ts[r]->nullable || ts[r]->root == RILL_SQLT_NULL;
        }
        const rill__sql_ltype *t = rill__sql_common_type(pc->a, ts, (int)n_rows);
        if (!t)
            return ERR(pc, q->u.values.rows[0]->pos,
                       "Values passed to VALUES operator must have compatible types (column %d)",
                       c + 1);
        t = rill__sql_type_with_null(pc->a, t, nullable);
        if (t->root == RILL_SQLT_DECIMAL && t->precision > 18)
            return ERR(pc, q->pos,
                       "VALUES of DECIMAL(%d, %d) are not supported yet (up to 18 "
                       "digits)",
                       t->precision, t->scale);
        char *name = rill__arena_alloc(pc->a, 24);
        snprintf(name, 24, "EXPR$%d", c);
        out->cols[c] = (rel_col){name, t, NULL, false};
        for (size_t r = 0; r < n_rows; r++) {
            rill__sql_rex **x = &v[r * (size_t)n_cols + (size_t)c];
            *x = rill__sql_fold(pc->a, rill__sql_cast_to(pc, *x, t), pc->text);
            if ((*x)->op != RILL_SQLX_LITERAL)
                return ERR(pc, (*x)->pos,
                           "VALUES takes constant values (this one is not, or "
                           "fails: a division by zero)");
        }
    }
    return out;
}

/* A constant non-negative integer of LIMIT or OFFSET; -1 (err set) when e is none. */
static int64_t row_count(plan_ctx *pc, const rill__sql_expr *e, const char *what)
{
    rel none = {.kind = REL_CALC};
    rill__sql_rex *x = rill__sql_bind(pc, &none, e);
    if (!x)
        return -1;
    x = rill__sql_fold(pc->a, x, pc->text);
    if (x->op != RILL_SQLX_LITERAL || x->lit_null || !rill__sql_is_integer(x->type) ||
        (int64_t)x->lit < 0) {
        rill__sql_error(pc->err, pc->text, e->pos, "%s takes a constant integer of 0 or more",
                        what);
        return -1;
    }
    return (int64_t)x->lit;
}

/* The branches of a chain of UNION ALLs (a UNION ALL b UNION ALL c parses as (a ∪ b) ∪ c),
 * left to right, into v; a branch that is another kind of set operation stays one branch. */
static void union_branches(plan_ctx *pc, const rill__sql_query *q, const rill__sql_query ***v,
                           int *n, int *cap, bool flatten)
{
    bool chain = flatten && q->kind == RILL_SQL_Q_SETOP && q->u.setop.op == RILL_SQL_SET_UNION &&
                 q->u.setop.all && !q->n_with && !q->n_order && !q->limit && !q->offset;
    if (chain) {
        union_branches(pc, q->u.setop.left, v, n, cap, true);
        union_branches(pc, q->u.setop.right, v, n, cap, true);
        return;
    }
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 8;
        const rill__sql_query **nv = rill__arena_alloc(pc->a, (size_t)*cap * sizeof *nv);
        if (*n)
            memcpy(nv, *v, (size_t)*n * sizeof *nv);
        *v = nv;
    }
    (*v)[(*n)++] = q;
}

/*
 * a INTERSECT b, a EXCEPT b (distinct): the union of both sides, each row tagged with its side
 * (a column that is 1 on its side and NULL on the other), grouped by every column with a count
 * of each side's rows; a group is in the result while both counts are above 0 (INTERSECT), or
 * the left's is and the right's is 0 (EXCEPT). The result is a changelog: a row of a EXCEPT b
 * is taken back when b gets it, one of a INTERSECT b comes when the second side gets it.
 */
static rel *plan_intersect_except(plan_ctx *pc, const rill__sql_query *q, rel *u)
{
    rill__arena *a = pc->a;
    int n_cols = u->n_cols;
    const rill__sql_ltype *tag_t = rill__sql_type_of(a, RILL_SQLT_BIGINT, true);
    const rill__sql_ltype *count_t = rill__sql_type_of(a, RILL_SQLT_BIGINT, false);
    rel_col *cols = rill__arena_alloc(a, (size_t)(n_cols + 2) * sizeof *cols);
    for (int c = 0; c < n_cols; c++) /* grouped: a time attribute is a plain value */
        cols[c] =
            (rel_col){u->cols[c].name, rill__sql_type_with_attr(a, u->cols[c].type, RILL_SQLA_NONE),
                      NULL, false};
    cols[n_cols] = (rel_col){"$left", tag_t, NULL, false};
    cols[n_cols + 1] = (rel_col){"$right", tag_t, NULL, false};
    for (int i = 0; i < 2; i++) {
        rel *in = u->inputs[i];
        rel *tag = rel_new(pc, REL_CALC, n_cols + 2);
        tag->input = in;
        tag->updates = in->updates;
        tag->outs = rill__arena_alloc(a, (size_t)(n_cols + 2) * sizeof *tag->outs);
        for (int c = 0; c < n_cols; c++) {
            tag->cols[c] = (rel_col){in->cols[c].name, u->cols[c].type, NULL, false};
            tag->outs[c] = rill__sql_x_input(a, c, in->cols[c].type);
        }
        tag->cols[n_cols] = cols[n_cols];
        tag->cols[n_cols + 1] = cols[n_cols + 1];
        tag->outs[n_cols + i] = rill__sql_x_literal(a, tag_t, 1);
        tag->outs[n_cols + 1 - i] = rill__sql_x_null(a, tag_t);
        u->inputs[i] = tag;
    }
    rel_col *ucols = rill__arena_alloc(a, (size_t)(n_cols + 2) * sizeof *ucols);
    memcpy(ucols, u->cols, (size_t)n_cols * sizeof *ucols);
    ucols[n_cols] = cols[n_cols];
    ucols[n_cols + 1] = cols[n_cols + 1];
    u->cols = ucols;
    u->n_cols = n_cols + 2;
    rel *agg = rel_new(pc, REL_GROUP_AGG, n_cols + 2);
    memcpy(agg->cols, cols, (size_t)n_cols * sizeof *cols);
    agg->cols[n_cols] = (rel_col){"$n_left", count_t, NULL, false};
    agg->cols[n_cols + 1] = (rel_col){"$n_right", count_t, NULL, false};
    agg->input = u;
    agg->n_keys = n_cols;
    agg->keys = rill__arena_alloc(a, (size_t)(n_cols + 1) * sizeof *agg->keys);
    for (int c = 0; c < n_cols; c++)
        agg->keys[c] = c;
    agg->n_aggs = 2;
    agg->aggs = rill__arena_alloc(a, 2 * sizeof *agg->aggs);
    for (int i = 0; i < 2; i++)
        agg->aggs[i] =
            (rel_agg){.kind = AGG_COUNT, .arg = n_cols + i, .type = count_t, .pos = q->pos};
    agg->updates = true;
    /* the groups the operation keeps, as their columns */
    const rill__sql_ltype *bool_t = rill__sql_type_of(a, RILL_SQLT_BOOLEAN, false);
    rill__sql_rex *zero = rill__sql_x_literal(a, count_t, 0);
    rill__sql_rex *l_args[] = {rill__sql_x_input(a, n_cols, count_t), zero};
    rill__sql_rex *r_args[] = {rill__sql_x_input(a, n_cols + 1, count_t), zero};
    rill__sql_rex *both[] = {
        rill__sql_x_call(a, RILL_SQLX_GT, bool_t, 2, l_args),
        rill__sql_x_call(a, q->u.setop.op == RILL_SQL_SET_INTERSECT ? RILL_SQLX_GT : RILL_SQLX_EQ,
                         bool_t, 2, r_args)};
    rel *out = rel_new(pc, REL_CALC, n_cols);
    memcpy(out->cols, cols, (size_t)n_cols * sizeof *cols);
    out->input = agg;
    out->updates = true;
    out->filter = rill__sql_x_call(a, RILL_SQLX_AND, bool_t, 2, both);
    out->outs = rill__arena_alloc(a, (size_t)n_cols * sizeof *out->outs);
    for (int c = 0; c < n_cols; c++)
        out->outs[c] = rill__sql_x_input(a, c, cols[c].type);
    return out;
}

/*
 * a UNION ALL b ...: one relation of every branch's rows. Column i has the common type of the
 * branches' column i (Flink's least restrictive type), with a branch's values cast to it where
 * they differ; names are the first branch's. A column that is the same kind of time attribute
 * in every branch stays one (the union's watermark is the least of its inputs'), so a window
 * over a union works as over a table. UNION (distinct) is UNION ALL grouped by every column.
 */
static rel *plan_setop(plan_ctx *pc, const rill__sql_query *q)
{
    rill__sql_setop_kind op = q->u.setop.op;
    if (op != RILL_SQL_SET_UNION && q->u.setop.all)
        return ERR(pc, q->pos, "%s ALL is not supported yet (%s is)",
                   op == RILL_SQL_SET_INTERSECT ? "INTERSECT" : "EXCEPT",
                   op == RILL_SQL_SET_INTERSECT ? "INTERSECT" : "EXCEPT");
    const rill__sql_query **bq = NULL;
    int n = 0, cap = 0;
    /* its two sides; for a union each is flattened when it is a plain UNION ALL chain (q's own
     * LIMIT, ORDER BY or WITH apply to the whole, in plan_body and plan_query); INTERSECT and
     * EXCEPT take exactly two */
    union_branches(pc, q->u.setop.left, &bq, &n, &cap, op == RILL_SQL_SET_UNION);
    union_branches(pc, q->u.setop.right, &bq, &n, &cap, op == RILL_SQL_SET_UNION);
    rel **in = rill__arena_alloc(pc->a, (size_t)n * sizeof *in);
    for (int i = 0; i < n; i++)
        if (!(in[i] = rill__sql_plan_query(pc, bq[i])))
            return NULL;
    const char *what = op == RILL_SQL_SET_INTERSECT ? "INTERSECT"
                       : op == RILL_SQL_SET_EXCEPT  ? "EXCEPT"
                       : q->u.setop.all             ? "UNION ALL"
                                                    : "UNION";
    int n_cols = in[0]->n_cols;
    for (int i = 1; i < n; i++)
        if (in[i]->n_cols != n_cols)
            return ERR(pc, bq[i]->pos,
                       "Column count mismatch in %s: the first branch has %d "
                       "columns, branch %d has %d",
                       what, n_cols, i + 1, in[i]->n_cols);
    rel *u = rel_new(pc, REL_UNION, n_cols);
    u->inputs = in;
    u->n_inputs = n;
    const rill__sql_ltype **ts = rill__arena_alloc(pc->a, (size_t)n * sizeof *ts);
    for (int c = 0; c < n_cols; c++) {
        rill__sql_time_attr attr = in[0]->cols[c].type->attr;
        for (int i = 0; i < n; i++) {
            ts[i] = in[i]->cols[c].type;
            if (ts[i]->attr != attr)
                attr = RILL_SQLA_NONE;
        }
        const rill__sql_ltype *t = rill__sql_common_type(pc->a, ts, n);
        if (!t) {
            rill__buf d = {0};
            for (int i = 0; i < n; i++)
                rill__buf_printf(&d, "%s%s", i ? ", " : "", rill__sql_type_str(pc->a, ts[i]));
            rill__buf_putc(&d, '\0');
            rel *none = ERR(pc, q->pos,
                            "Type mismatch in column %d of %s: %s have no common "
                            "type",
                            c + 1, what, (const char *)d.data);
            rill__buf_free(&d);
            return none;
        }
        if (attr != RILL_SQLA_NONE)
            t = rill__sql_type_with_attr(pc->a, t, attr);
        u->cols[c] = (rel_col){in[0]->cols[c].name, t, NULL, false};
    }
    for (int i = 0; i < n; i++) { /* a branch whose types differ: cast by a calc above it */
        u->updates |= in[i]->updates;
        bool same = true;
        for (int c = 0; c < n_cols && same; c++)
            same = rill__sql_type_equal(in[i]->cols[c].type, u->cols[c].type, true);
        if (same)
            continue;
        if (in[i]->kind == REL_CALC && in[i]->outs) {
            /* a branch's own projections take the casts (an untyped NULL gets its type there:
             * a column of type NULL cannot be built) */
            rel *c = rel_new(pc, REL_CALC, n_cols);
            *c = *in[i];
            c->cols = rill__arena_alloc(pc->a, (size_t)n_cols * sizeof *c->cols);
            c->outs = rill__arena_alloc(pc->a, (size_t)n_cols * sizeof *c->outs);
            for (int k = 0; k < n_cols; k++) {
                c->cols[k] = (rel_col){in[i]->cols[k].name, u->cols[k].type, NULL, false};
                c->outs[k] = rill__sql_type_equal(in[i]->cols[k].type, u->cols[k].type, true)
                                 ? in[i]->outs[k]
                                 : rill__sql_cast_to(pc, in[i]->outs[k], u->cols[k].type);
                if (!c->outs[k])
                    return NULL;
            }
            in[i] = c;
            continue;
        }
        rel *cast = rel_new(pc, REL_CALC, n_cols);
        cast->input = in[i];
        cast->updates = in[i]->updates;
        cast->outs = rill__arena_alloc(pc->a, (size_t)n_cols * sizeof *cast->outs);
        for (int c = 0; c < n_cols; c++) {
            cast->cols[c] = (rel_col){in[i]->cols[c].name, u->cols[c].type, NULL, false};
            cast->outs[c] = rill__sql_cast_to(pc, rill__sql_x_input(pc->a, c, in[i]->cols[c].type),
                                              u->cols[c].type);
            if (!cast->outs[c])
                return NULL;
        }
        in[i] = cast;
    }
    if (op == RILL_SQL_SET_UNION && q->u.setop.all)
        return u;
    if (op == RILL_SQL_SET_UNION) {
        rel *agg = rel_new(pc, REL_GROUP_AGG, n_cols); /* as SELECT DISTINCT */
        memcpy(agg->cols, u->cols, (size_t)n_cols * sizeof *agg->cols);
        agg->input = u;
        agg->n_keys = n_cols;
        agg->keys = rill__arena_alloc(pc->a, (size_t)(n_cols + 1) * sizeof *agg->keys);
        for (int i = 0; i < n_cols; i++)
            agg->keys[i] = i;
        agg->updates = true;
        return agg;
    }
    return plan_intersect_except(pc, q, u);
}

static rel *plan_body(plan_ctx *pc, const rill__sql_query *q)
{
    if (q->n_order)
        return ERR(pc, q->order[0].expr->pos, "ORDER BY is not supported yet");
    rel *r;
    switch (q->kind) {
    case RILL_SQL_Q_SELECT:
        r = plan_select(pc, q);
        break;
    case RILL_SQL_Q_SETOP:
        r = plan_setop(pc, q);
        break;
    default:
        r = plan_values(pc, q);
        break;
    }
    if (!r || (!q->limit && !q->offset))
        return r;
    /* LIMIT n [OFFSET m]: the first rows as they come (Flink's streaming Limit) */
    const rill__sql_expr *at = q->limit ? q->limit : q->offset;
    if (r->updates)
        return ERR(pc, at->pos, "LIMIT over an updating input is not supported yet");
    int64_t limit = q->limit ? row_count(pc, q->limit, "LIMIT") : -1;
    int64_t offset = q->offset ? row_count(pc, q->offset, "OFFSET") : 0;
    if ((q->limit && limit < 0) || offset < 0)
        return NULL;
    rel *l = rel_new(pc, REL_LIMIT, r->n_cols);
    memcpy(l->cols, r->cols, (size_t)r->n_cols * sizeof *l->cols);
    l->input = r;
    l->limit = limit;
    l->offset = offset;
    return l;
}

/* ---- streams -------------------------------------------------------------------------------- */

const char **rill__sql_connector_options(rill__arena *a, const sql_table *t, size_t extra,
                                         size_t *n_out)
{
    const char **opts = rill__arena_alloc(a, (2 * (t->n_options + extra) + 1) * sizeof *opts);
    size_t k = 0;
    for (size_t i = 0; i < t->n_options; i++)
        if (strcmp(t->options[i].key, "connector") &&
            strcmp(t->options[i].key, "connector.type")) { /* the legacy key too */
            opts[k++] = t->options[i].key;
            opts[k++] = t->options[i].value;
        }
    opts[k] = NULL;
    if (n_out)
        *n_out = k;
    return opts;
}

int rill__sql_fs_options(plan_ctx *pc, const sql_table *t, const char **path_out,
                         rill_file_opts *fo)
{
    const sql_option *path = rill__sql_table_option(t, "path");
    if (!path)
        path = rill__sql_table_option(t, "connector.path");
    const sql_option *fmt = rill__sql_table_option(t, "format");
    if (!fmt)
        fmt = rill__sql_table_option(t, "format.type");
    if (!path || !fmt)
        return rill__err_set(pc->err, RILL_ECONFIG,
                             "table '%s': the filesystem connector needs 'path' and 'format'",
                             t->name);
    *fo = (rill_file_opts){.no_header = true};
    if (!strcmp(fmt->value, "csv")) {
        fo->format = RILL_FMT_CSV;
        const sql_option *d = rill__sql_table_option(t, "csv.field-delimiter");
        if (d && strlen(d->value) == 1)
            fo->delimiter = d->value[0];
    } else if (!strcmp(fmt->value, "json")) {
        fo->format = RILL_FMT_JSON;
    } else {
        return rill__err_set(pc->err, RILL_ECONFIG,
                             "table '%s': format '%s' is not supported (csv, json)", t->name,
                             fmt->value);
    }
    const char *pv = path->value;
    if (!strncmp(pv, "file://", 7)) { /* a file:// URI: its absolute path (Flink's) */
        pv += 7;
        if (*pv != '/')
            return rill__err_set(pc->err, RILL_ECONFIG,
                                 "table '%s': 'path' = '%s' is not a file:// URI with an "
                                 "absolute path (file:///dir)",
                                 t->name, path->value);
    } else if (strstr(pv, "://")) {
        return rill__err_set(pc->err, RILL_ECONFIG,
                             "table '%s': 'path' = '%s': only local paths and file:// URIs are "
                             "supported",
                             t->name, pv);
    }
    *path_out = pv;
    return 0;
}

/* A table's source, by its 'connector' option. */
static rill_stream *build_source(plan_ctx *pc, rel *r);

/* Whether scans of a and b read one source: the same table with the same options (a table's
 * copies with OPTIONS hints, rill__sql_hinted_table, are others unless their options agree). */
static bool same_source(const sql_table *a, const sql_table *b)
{
    if (a == b)
        return true;
    if (a->seq != b->seq || strcmp(a->name, b->name) || a->n_options != b->n_options)
        return false;
    for (size_t i = 0; i < a->n_options; i++) {
        const sql_option *o = rill__sql_table_option(b, a->options[i].key);
        if (!o || strcmp(o->value, a->options[i].value))
            return false;
    }
    return true;
}

/* A table's source: built once per job, shared by every statement that reads the table (with
 * the same options). */
static rill_stream *source_of(plan_ctx *pc, rel *r)
{
    rill__sql_session *s = pc->s;
    rill__sql_job_caches(s);
    for (size_t i = 0; i < s->n_scans; i++)
        if (same_source(s->scans[i].table, r->table)) {
            /* every scan of the table was narrowed to one union of leaves (prune.c) */
            const rill_schema *sc = s->scans[i].stream ? s->scans[i].stream->schema : NULL;
            if (sc && sc->n_fields != r->n_cols) {
                rill__err_set(pc->err, RILL_EINVAL,
                              "table '%s': its shared source produces %d columns, a reader "
                              "expects %d (projection push-down missed a relation)",
                              r->table->name, sc->n_fields, r->n_cols);
                return NULL;
            }
            return s->scans[i].stream;
        }
    rill_stream *st = build_source(pc, r);
    if (st) {
        rill__grow((void **)&s->scans, &s->cap_scans, s->n_scans + 1, sizeof *s->scans);
        s->scans[s->n_scans++] = (struct sql_scan){r->table, st};
    }
    return st;
}

/* A datagen table's options for the columns its scan reads: those of pruned columns checked
 * against the whole table (a bad one is an error whether read or not), then left out. */
static const char **datagen_options(plan_ctx *pc, const rel *r, const rill_schema *named)
{
    const char **opts = rill__sql_connector_options(pc->a, r->table, 0, NULL);
    if (!r->leaves)
        return opts;
    rel *full = rill__arena_alloc(pc->a, sizeof *full);
    *full = *r;
    full->leaves = NULL;
    rill__sql_full_scan(pc, full);
    rill_schema *all = rill__sql_named_schema_of(pc, full->n_cols, full->cols);
    if (!all)
        return NULL;
    void *cfg = rill__datagen_source_cfg(opts, r->table->name);
    int rc = rill__datagen_source_ops.validate(cfg, all, pc->err);
    rill__datagen_source_ops.cfg_free(cfg);
    rill_schema_free(all);
    if (rc)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; opts[i]; i += 2) {
        const char *f = strncmp(opts[i], "fields.", 7) ? NULL : opts[i] + 7;
        const char *dot = f ? strrchr(f, '.') : NULL;
        if (dot) { /* fields.<column>.<option>: the column's name may hold dots */
            char *name = rill__arena_strdup(pc->a, f);
            name[dot - f] = '\0';
            if (rill_schema_index(named, name) < 0)
                continue;
        }
        opts[k++] = opts[i];
        opts[k++] = opts[i + 1];
    }
    opts[k] = NULL;
    return opts;
}

/* The primary key's columns, joined by sep. */
static const char *pk_list(plan_ctx *pc, const sql_table *t, char sep)
{
    rill__buf b = {0};
    for (size_t i = 0; i < t->n_pk; i++)
        rill__buf_printf(&b, "%s%s", i ? (sep == ';' ? ";" : ",") : "", t->cols[t->pk[i]].name);
    rill__buf_putc(&b, '\0');
    const char *out = rill__arena_strdup(pc->a, (const char *)b.data);
    rill__buf_free(&b);
    return out;
}

/*
 * ChangelogNormalize (Flink's): an upsert-kafka table's upserts and deletes into a changelog,
 * keyed by the primary key, the key's last row in keyed state (rill__row_encode). The first
 * row of a key is +I, a later one -U (the last) then +U; a delete is -D of the last (nothing
 * without one); a row equal to the last gives nothing.
 */
/* The part of a source's uid that tells a hinted copy of a table (its own source, position
 * and state) from the table and other copies: "+<digest of all its options>", or "". */
static const char *hinted_tag(const sql_table *t, rill__arena *a)
{
    if (!t->hinted)
        return "";
    rill__buf b = {0};
    for (size_t i = 0; i < t->n_options; i++)
        rill__buf_printf(&b, "%s=%s;", t->options[i].key, t->options[i].value);
    char *tag = rill__arena_alloc(a, 16);
    snprintf(tag, 16, "+%08x", rill__sql_digest(rill__buf_cstr(&b)));
    rill__buf_free(&b);
    return tag;
}

typedef struct normalize_cfg {
    rill_state_desc *last;
} normalize_cfg;

/* Each subtask's encoding buffer, kept across rows (no allocation per row). */
static int normalize_open(rill_ctx *ctx)
{
    rill_ctx_set_local(ctx, rill__xcalloc(1, sizeof(rill__buf)));
    return 0;
}

static void normalize_close(rill_ctx *ctx)
{
    rill__buf *b = rill_ctx_local(ctx);
    if (b)
        rill__buf_free(b);
    free(b);
}

static int normalize_fn(rill_ctx *ctx, const rill_row *in)
{
    const normalize_cfg *nc = rill_ctx_user(ctx);
    bool del = rill_row_kind(in) == RILL_ROW_DELETE;
    const void *prev = NULL;
    size_t n_prev = 0;
    int rc = rill_value_get_bytes(ctx, nc->last, &prev, &n_prev);
    if (rc < 0)
        return rc;
    bool had = rc == 1;
    rill__buf *enc = rill_ctx_local(ctx);
    enc->len = 0;
    if (!del) {
        rill__row_encode(in, enc);
        if (had && enc->len == n_prev && !memcmp(enc->data, prev, n_prev)) {
            return 0;
        }
    }
    rill_row out;
    if (had) { /* decoded before the state changes (prev is borrowed until then) */
        if ((rc = rill_emit(ctx, &out)) < 0 || (rc = rill__row_decode(&out, prev)) < 0 ||
            (rc = rill_row_set_kind(&out, del ? RILL_ROW_DELETE : RILL_ROW_UPDATE_BEFORE)) < 0)
            goto done;
    }
    if (del) {
        rc = had ? rill_value_clear(ctx, nc->last) : 0;
        goto done;
    }
    if ((rc = rill_value_set_bytes(ctx, nc->last, enc->data, enc->len)) < 0 ||
        (rc = rill_emit(ctx, &out)) < 0 || (rc = rill_row_copy(&out, in)) < 0)
        goto done;
    rc = rill_row_set_kind(&out, had ? RILL_ROW_UPDATE_AFTER : RILL_ROW_INSERT);
done:
    return rc < 0 ? rc : 0;
}

static rill_stream *changelog_normalize(plan_ctx *pc, const sql_table *t, rill_stream *s)
{
    rill_keyed_stream *ks = rill_stream_key_by(s, pk_list(pc, t, ','));
    if (!ks)
        return NULL;
    normalize_cfg *nc = rill__arena_alloc(pc->a, sizeof *nc);
    char name[200];
    snprintf(name, sizeof name, "sql-changelog-normalize-%s", t->name);
    nc->last = rill_value_state(pc->s->env, name, 0);
    rill_stream *out = rill_keyed_process(ks, s->schema, normalize_fn, nc);
    if (!out)
        return NULL;
    out = rill_stream_hooks(out, normalize_open, normalize_close);
    char uid[200];
    snprintf(uid, sizeof uid, "normalize:%s%s#%08x", t->name, hinted_tag(t, pc->a),
             rill__sql_digest(rill__sql_table_identity(pc->a, t)));
    return rill_stream_uid(out, uid);
}

/*
 * A filesystem table read as Flink's FileSystemTableSource reads one. PARTITIONED BY: its files
 * are under key=value directories and hold the other columns; the partition columns take the
 * values of the path. CSV lines: the table's physical columns but the partition keys, a ROW
 * column (of fields of simple types, as Flink's csv format takes it) one column of its fields'
 * values; field f of the scan (a leaf of the table, r->leaves[f] when projected) is column
 * col[f] and, in a ROW column, element elem[f]. 0, or -1 with the error set.
 */
static int fs_source_layout(plan_ctx *pc, const rel *r, void *cfg, bool csv)
{
    const sql_table *t = r->table;
    const rill__sql_create_table *ct = &t->ast->stmt->u.create_table;
    int n_keys = (int)ct->n_partitioned;
    const char **keys = rill__arena_alloc(pc->a, (size_t)(n_keys + 1) * sizeof *keys);
    int *fields = rill__arena_alloc(pc->a, (size_t)(n_keys + 1) * sizeof *fields);
    for (int i = 0; i < n_keys; i++) {
        keys[i] = ct->partitioned[i].text;
        fields[i] = -1;
        for (int c = 0; c < r->n_cols; c++)
            if (!strcmp(r->cols[c].name, keys[i]))
                fields[i] = c;
    }
    if (n_keys) {
        const sql_option *dn = rill__sql_table_option(t, "partition.default-name");
        rill__file_source_partitions(cfg, r->n_cols, n_keys, keys, fields, dn ? dn->value : NULL);
    }
    if (!csv)
        return 0;
    /* each leaf of the table: its column and element in the lines */
    size_t cap = 16;
    int *lcol = rill__arena_alloc(pc->a, cap * sizeof *lcol);
    int *lelem = rill__arena_alloc(pc->a, cap * sizeof *lelem);
    int *n_elem = rill__arena_alloc(pc->a, (t->n_cols + 1) * sizeof *n_elem);
    int n_leaves = 0, n_columns = 0;
    bool any_row = false;
    for (size_t i = 0; i < t->n_cols; i++) {
        const sql_col *c = &t->cols[i];
        if (c->kind != RILL_SQL_COL_PHYSICAL && c->kind != RILL_SQL_COL_METADATA)
            continue;
        bool key = false;
        for (int k = 0; k < n_keys; k++)
            key |= !strcmp(keys[k], c->name);
        int m = c->type->root == RILL_SQLT_ROW ? c->type->n_fields : 1;
        for (int j = 0; c->type->root == RILL_SQLT_ROW && j < m; j++)
            if (rill__sql_is_constructed(c->type->fields[j].type)) {
                rill__err_set(pc->err, RILL_EINVAL,
                              "table '%s': Only simple types are supported in the second level "
                              "nesting of fields '%s' but was: %s (the csv format)",
                              t->name, c->type->fields[j].name,
                              rill__sql_type_str(pc->a, c->type->fields[j].type));
                return -1;
            }
        if ((size_t)(n_leaves + m) >= cap) {
            size_t nc = 2 * cap + (size_t)m;
            int *a1 = rill__arena_alloc(pc->a, nc * sizeof *a1);
            int *a2 = rill__arena_alloc(pc->a, nc * sizeof *a2);
            memcpy(a1, lcol, (size_t)n_leaves * sizeof *a1);
            memcpy(a2, lelem, (size_t)n_leaves * sizeof *a2);
            lcol = a1;
            lelem = a2;
            cap = nc;
        }
        for (int j = 0; j < m; j++) {
            lcol[n_leaves + j] = key ? -1 : n_columns;
            lelem[n_leaves + j] = c->type->root == RILL_SQLT_ROW ? j : -1;
        }
        n_leaves += m;
        if (key)
            continue;
        any_row |= c->type->root == RILL_SQLT_ROW;
        n_elem[n_columns++] = c->type->root == RILL_SQLT_ROW ? m : 0;
    }
    if (!any_row && !n_keys && !r->leaves)
        return 0; /* the lines' columns are the fields */
    int *col = rill__arena_alloc(pc->a, (size_t)(r->n_cols + 1) * sizeof *col);
    int *elem = rill__arena_alloc(pc->a, (size_t)(r->n_cols + 1) * sizeof *elem);
    for (int f = 0; f < r->n_cols; f++) {
        int l = r->leaves ? r->leaves[f] : f;
        col[f] = l < n_leaves ? lcol[l] : -1;
        elem[f] = l < n_leaves ? lelem[l] : -1;
    }
    if (any_row)
        rill__file_source_layout(cfg, n_columns, r->n_cols, col, elem, n_elem);
    else
        rill__file_source_columns(cfg, n_columns, r->n_cols, col);
    return 0;
}

static rill_stream *build_source(plan_ctx *pc, rel *r)
{
    const sql_table *t = r->table;
    const sql_option *conn = rill__sql_table_option(t, "connector");
    if (!conn)
        conn = rill__sql_table_option(t, "connector.type");
    rill_schema *schema = rill__sql_schema_of(pc, r->n_cols, r->cols);
    if (!schema)
        return NULL;
    rill_stream *s = NULL;
    bool upsert = !strcmp(conn->value, "upsert-kafka");
    if (!strcmp(conn->value, "filesystem")) {
        const char *path;
        rill_file_opts fo;
        rill__decode_opts dopts;
        bool skip_bad;
        if (rill__sql_fs_options(pc, t, &path, &fo) != 0 ||
            rill__sql_check_table_options(pc, t, "filesystem") ||
            rill__sql_fs_source_format(pc, t, &fo, &dopts, &skip_bad)) {
            rill_schema_free(schema);
            return NULL;
        }
        /* the fields named as the columns: JSON's keys name them, and errors name them */
        rill_schema_free(schema);
        if (!(schema = rill__sql_named_schema_of(pc, r->n_cols, r->cols)))
            return NULL;
        s = rill_source_file(pc->s->env, path, schema, &fo);
        if (s && s->node) {
            rill__file_source_format(s->node->conn_cfg, &dopts, skip_bad);
            if (fs_source_layout(pc, r, s->node->conn_cfg, fo.format == RILL_FMT_CSV)) {
                rill_schema_free(schema);
                return NULL;
            }
        }
    } else if (!strcmp(conn->value, "kafka") || !strcmp(conn->value, "upsert-kafka")) {
        /* fields named as the columns (key.fields names them); metadata columns by their key */
        rill_schema *named = rill__sql_named_schema_of(pc, r->n_cols, r->cols);
        if (!named) {
            rill_schema_free(schema);
            return NULL;
        }
        size_t k;
        const char **opts = rill__sql_connector_options(pc->a, t, t->n_cols + 3, &k);
        if (upsert) { /* the key is the primary key's; the whole topic is read (Flink's) */
            opts[k++] = "key.fields";
            opts[k++] = pk_list(pc, t, ';');
            opts[k++] = "scan.changelog-mode";
            opts[k++] = "upsert";
            opts[k++] = "scan.startup.mode";
            opts[k++] = "earliest-offset";
        }
        for (size_t i = 0; i < t->n_cols; i++)
            if (t->cols[i].kind == RILL_SQL_COL_METADATA &&
                rill_schema_index(named, t->cols[i].name) >= 0) { /* not pruned */
                char *key = rill__arena_alloc(pc->a, strlen(t->cols[i].name) + 10);
                sprintf(key, "metadata.%s", t->cols[i].name);
                opts[k++] = key;
                opts[k++] = t->cols[i].metadata_key;
            }
        opts[k] = NULL;
        s = rill_source_kafka(pc->s->env, named, opts);
        rill_schema_free(named);
    } else if (!strcmp(conn->value, "nexmark")) {
        /* its flat columns by their names (the leaves' paths), its options as given */
        rill_schema *named = rill_schema_new();
        for (int i = 0; i < r->n_cols; i++)
            rill_schema_add_typed(named, r->cols[i].name, rill_schema_field_info(schema, i),
                                  rill_schema_field_nullable(schema, i));
        const char **opts = rill__sql_connector_options(pc->a, t, 0, NULL);
        s = rill__source_nexmark(pc->s->env, named, opts);
        rill_schema_free(named);
    } else if (!strcmp(conn->value, "datagen")) {
        /* fields named as the columns (the leaves' paths): the options name them */
        rill_schema *named = rill__sql_named_schema_of(pc, r->n_cols, r->cols);
        if (!named) {
            rill_schema_free(schema);
            return NULL;
        }
        const char **opts = datagen_options(pc, r, named);
        s = opts ? rill__source_datagen(pc->s->env, named, opts, t->name) : NULL;
        rill_schema_free(named);
    } else {
        rill__err_set(pc->err, RILL_ECONFIG,
                      "table '%s': connector '%s' cannot be read (yet): filesystem, kafka, "
                      "nexmark, datagen",
                      t->name, conn->value);
    }
    rill_schema_free(schema);
    if (s) { /* its uid: what its position (offsets, splits) belongs to; no statement's, as
              * every statement of the job shares it */
        char uid[200];
        snprintf(uid, sizeof uid, "source:%s%s#%08x", t->name, hinted_tag(t, pc->a),
                 rill__sql_digest(rill__sql_table_identity(pc->a, t)));
        s = rill_stream_uid(s, uid);
        if (upsert)
            s = changelog_normalize(pc, t, s);
    }
    return s;
}

static rill_stream *build_rel(plan_ctx *pc, rel *r);

/* LIMIT: one counter (keyed state under one constant key, so one subtask sees every row, in
 * arrival order) of the rows seen; rows past the offset and within the limit go on. */
typedef struct limit_cfg {
    rill_state_desc *count;
    int64_t limit, offset;
} limit_cfg;

static int limit_fn(rill_ctx *ctx, const rill_row *in)
{
    const limit_cfg *lc = rill_ctx_user(ctx);
    int64_t n = 0;
    int rc = rill_value_get(ctx, lc->count, &n);
    if (rc < 0)
        return rc;
    if (lc->limit >= 0 && n >= lc->offset + lc->limit)
        return 0; /* all the rows it takes have come */
    n++;
    if ((rc = rill_value_set(ctx, lc->count, &n)) < 0)
        return rc;
    if (n <= lc->offset)
        return 0;
    rill_row out;
    if ((rc = rill_emit(ctx, &out)) < 0)
        return rc;
    return rill_row_copy(&out, in);
}

static rill_stream *limit_stream(plan_ctx *pc, rel *r)
{
    rill__arena *a = pc->a;
    const rel *in = r->input;
    int n = in->n_cols + 1;
    rel_col *cols = rill__arena_alloc(a, (size_t)n * sizeof *cols);
    rill__sql_rex **outs = rill__arena_alloc(a, (size_t)n * sizeof *outs);
    cols[0] = (rel_col){"$key", rill__sql_type_of(a, RILL_SQLT_BIGINT, false), NULL, false};
    outs[0] = rill__sql_x_literal(a, cols[0].type, 0);
    for (int i = 0; i < in->n_cols; i++) {
        cols[i + 1] = in->cols[i];
        outs[i + 1] = rill__sql_x_input(a, i, in->cols[i].type);
    }
    rill_keyed_stream *ks = rill__sql_keyed_input(pc, in, n, cols, outs, 1);
    if (!ks)
        return NULL;
    limit_cfg *lc = rill__arena_alloc(a, sizeof *lc);
    char name[64];
    snprintf(name, sizeof name, "sql-limit-%d", pc->s->n_group_aggs++);
    *lc = (limit_cfg){rill_value_state(pc->s->env, name, 8), r->limit, r->offset};
    rill_schema *schema = rill__sql_schema_of(pc, n, cols);
    if (!schema)
        return NULL;
    rill_stream *s = rill_keyed_process(ks, schema, limit_fn, lc);
    rill_schema_free(schema);
    char desc[80];
    snprintf(desc, sizeof desc, "v1 limit=%lld offset=%lld", (long long)r->limit,
             (long long)r->offset);
    s = rill__sql_uid(pc, s, "Limit", desc);
    if (!s)
        return NULL;
    return rill__sql_drop_key_col(pc, s, r);
}

rill_stream *rill__sql_drop_key_col(plan_ctx *pc, rill_stream *s, const rel *r)
{
    rill__sql_rex **outs = rill__arena_alloc(pc->a, (size_t)r->n_cols * sizeof *outs);
    for (int i = 0; i < r->n_cols; i++)
        outs[i] = rill__sql_x_input(pc->a, i + 1, r->cols[i].type);
    rill_schema *out = rill__sql_schema_of(pc, r->n_cols, r->cols);
    if (!out)
        return NULL;
    s = rill__sql_calc(s, out, NULL, r->n_cols, outs, pc->text, pc->err);
    rill_schema_free(out);
    return s;
}

/* A TUMBLE window TVF without an aggregation: each row with window_start, window_end and
 * window_time (window_end - 1 ms) added (Flink's); HOP, CUMULATE and SESSION, which give a row
 * once per window it is in, only under an aggregation so far. */
/* HOP and CUMULATE without an aggregation: each row once per window it is in. */
typedef struct tvf_rows {
    int n_in, time_col;
    bool ns; /* the time column's values are ns (precision past 3) */
    rill_window_spec w;
    const rill__tz *zone; /* a TIMESTAMP_LTZ's windows: of this zone's local time (or NULL) */
} tvf_rows;

static int64_t floor_mod_ms(int64_t a, int64_t m)
{
    int64_t r = a % m;
    return r < 0 ? r + m : r;
}

static int tvf_emit(rill_ctx *ctx, const tvf_rows *tr, const rill_row *in, int64_t start,
                    int64_t end)
{
    rill_row out;
    int rc = rill_emit(ctx, &out);
    if (rc < 0 || (rc = rill_row_copy(&out, in)) < 0)
        return rc;
    rill_row_set_ts(&out, tr->n_in, start);
    rill_row_set_ts(&out, tr->n_in + 1, end);
    rill_row_set_ts(&out, tr->n_in + 2, rill__tz_instant_ms(tr->zone, end - 1));
    return 0;
}

static int tvf_rows_fn(rill_ctx *ctx, const rill_row *in)
{
    const tvf_rows *tr = rill_ctx_user(ctx);
    if (rill_row_is_null(in, tr->time_col))
        return 0; /* no time, no window (Flink's) */
    int64_t t = (int64_t)in->v[tr->time_col];
    if (tr->ns)
        t = t >= 0 ? t / 1000000 : -((-t + 999999) / 1000000);
    t = rill__tz_local_ms(tr->zone, t);
    const rill_window_spec *w = &tr->w;
    int rc = 0;
    if (w->kind == RILL_WINDOW_CUMULATE) { /* [b, b + k * step) for the ends past t */
        int64_t b = t - floor_mod_ms(t - w->offset_ms, w->size_ms);
        for (int64_t e = b + (t - b) / w->slide_ms * w->slide_ms + w->slide_ms;
             e <= b + w->size_ms && rc == 0; e += w->slide_ms)
            rc = tvf_emit(ctx, tr, in, b, e);
        return rc;
    }
    /* HOP: the windows [st, st + size) with st from the last start down past t - size */
    int64_t last = t - floor_mod_ms(t - w->offset_ms, w->slide_ms);
    for (int64_t st = last; st > t - w->size_ms && rc == 0; st -= w->slide_ms)
        rc = tvf_emit(ctx, tr, in, st, st + w->size_ms);
    return rc;
}

static rill_stream *window_tvf_rows(plan_ctx *pc, rel *r)
{
    if (r->window.kind == RILL_WINDOW_SESSION || r->window.domain != RILL_EVENT_TIME) {
        rill__err_set(pc->err, RILL_EINVAL,
                      "a SESSION window TVF, or one over processing time, is supported under a "
                      "GROUP BY window_start, window_end so far (TUMBLE, HOP and CUMULATE over "
                      "event time also without)");
        return NULL;
    }
    if (r->window.kind != RILL_WINDOW_TUMBLING) { /* a row per window: a flat map */
        rill_stream *in = rill__sql_build(pc, r->input);
        if (!in)
            return NULL;
        tvf_rows *tr = rill__arena_alloc(pc->a, sizeof *tr);
        *tr = (tvf_rows){.n_in = r->input->n_cols,
                         .time_col = r->time_col,
                         .ns = r->input->cols[r->time_col].type->precision > 3,
                         .w = r->window,
                         .zone = rill__tz_get(r->window.time_zone)};
        rill_schema *out = rill__sql_schema_of(pc, r->n_cols, r->cols);
        if (!out)
            return NULL;
        rill_stream *s = rill_stream_flat_map(in, out, tvf_rows_fn, tr);
        rill_schema_free(out);
        return s;
    }
    rill_stream *in = rill__sql_build(pc, r->input);
    if (!in)
        return NULL;
    rill__arena *a = pc->a;
    int n_in = r->input->n_cols;
    rill__sql_rex **outs = rill__arena_alloc(a, (size_t)r->n_cols * sizeof *outs);
    for (int i = 0; i < n_in; i++)
        outs[i] = rill__sql_x_input(a, i, r->input->cols[i].type);
    const rill__sql_ltype *ts_t = r->input->cols[r->time_col].type;
    const rill__sql_ltype *big = rill__sql_type_of(a, RILL_SQLT_BIGINT, false);
    const rill__sql_ltype *ws_t = r->cols[n_in].type;
    rill__sql_rex *tcol = rill__sql_x_input(a, r->time_col, ts_t);
    if (ts_t->root == RILL_SQLT_TIMESTAMP_LTZ) { /* windows of the session zone's local time */
        ts_t = rill__sql_type_with_null(
            a, rill__sql_type_make(a, RILL_SQLT_TIMESTAMP, ts_t->precision, 0, false),
            ts_t->nullable);
        tcol = rill__sql_cast_to(pc, tcol, ts_t);
    }
    rill__sql_rex *args[] = {tcol, rill__sql_x_literal(a, big, (uint64_t)r->window.size_ms),
                             rill__sql_x_literal(a, big, (uint64_t)r->window.offset_ms)};
    rill__sql_rex *start = rill__sql_x_call(a, RILL_SQLX_FUNC, ts_t, 3, args);
    rill__sql_fn_call *call = rill__arena_alloc(a, sizeof *call);
    *call = (rill__sql_fn_call){.fn = &rill__sql_fn_window_start,
                                .name = "$WINDOW_START",
                                .n_args = 3,
                                .args = start->args};
    start->fn = &rill__sql_fn_window_start;
    start->call = call;
    start = rill__sql_cast_to(pc, start, ws_t); /* to TIMESTAMP(3), as window_start is */
    /* window_end = start + size, window_time = end - 1 ms: interval arithmetic */
    const rill__sql_ltype *ivl =
        rill__sql_type_interval(a, RILL_SQLU_DAY, RILL_SQLU_SECOND, 2, 3, false);
    rill__sql_rex *plus[] = {start, rill__sql_x_literal(a, ivl, (uint64_t)r->window.size_ms)};
    rill__sql_rex *end = rill__sql_x_call(a, RILL_SQLX_PLUS, ws_t, 2, plus);
    rill__sql_rex *minus[] = {end, rill__sql_x_literal(a, ivl, 1)};
    rill__sql_rex *wtime = rill__sql_x_call(a, RILL_SQLX_MINUS, ws_t, 2, minus);
    wtime = rill__sql_cast_to(pc, wtime, r->cols[n_in + 2].type); /* its instant, for LTZ */
    outs[n_in] = start;
    outs[n_in + 1] = end;
    outs[n_in + 2] = wtime;
    rill_schema *out = rill__sql_schema_of(pc, r->n_cols, r->cols);
    if (!out)
        return NULL;
    rill_stream *s = rill__sql_calc(in, out, NULL, r->n_cols, outs, pc->text, pc->err);
    rill_schema_free(out);
    return s;
}

/* VALUES: a generator of its rows (row n is the n-th), bounded, checkpointed as one. */
typedef struct values_cfg {
    const rel *r;
} values_cfg;

static int values_row(rill_ctx *ctx, uint64_t n, rill_row *row)
{
    const values_cfg *vc = rill_ctx_user(ctx);
    const rel *r = vc->r;
    for (int c = 0; c < r->n_cols; c++) {
        const rill__sql_rex *x = r->rows[n * (uint64_t)r->n_cols + (uint64_t)c];
        if (x->lit_null) {
            rill_row_set_null(row, c);
        } else if (x->lit_bytes) {
            int rc = rill_row_set_bytes(row, c, x->lit_bytes, (size_t)x->lit);
            if (rc)
                return rc;
        } else {
            row->v[c] = x->lit;
            row->nulls[c >> 6] &= ~(UINT64_C(1) << (c & 63));
        }
    }
    return 0;
}

static rill_stream *values_source(plan_ctx *pc, rel *r)
{
    rill_schema *schema = rill__sql_schema_of(pc, r->n_cols, r->cols);
    if (!schema)
        return NULL;
    values_cfg *vc = rill__arena_alloc(pc->a, sizeof *vc);
    vc->r = r;
    rill_gen_opts o = {.events = r->n_rows, .fn = values_row, .user = vc};
    rill_stream *s = rill_source_generator(pc->s->env, schema, &o);
    rill_schema_free(schema);
    char desc[64];
    snprintf(desc, sizeof desc, "values rows=%d cols=%d", r->n_rows, r->n_cols);
    return rill__sql_uid(pc, s, "Values", desc);
}

rill_stream *rill__sql_build(plan_ctx *pc, rel *r)
{
    char *digest;
    rill_stream *s = rill__sql_reuse_find(pc, r, &digest);
    if (s) {
        free(digest);
        return s; /* another statement's, the same relation: fanned out to this one too */
    }
    s = build_rel(pc, r);
    if (s && r->has_et) {
        /* the field by its place: connectors that name fields (Kafka) have the columns' names */
        const char *field = s->schema ? rill_schema_field_name(s->schema, r->et_col) : NULL;
        rill_watermark_opts wo = {.kind = RILL_WM_OFFSET, .max_delay_ms = r->et_delay};
        /* Flink's table.exec.source.idle-timeout (checked when SET): an input without rows
         * for that long stops holding the watermark back */
        const char *idle = rill__sql_session_option(pc->s, "table.exec.source.idle-timeout");
        if (idle && rill__parse_duration(idle, &wo.idle_timeout_ms) != 0)
            wo.idle_timeout_ms = 0;
        s = field ? rill_stream_event_time(s, field, &wo) : s;
    }
    rill__sql_reuse_put(pc->s, digest, s);
    return s;
}

static rill_stream *build_rel(plan_ctx *pc, rel *r)
{
    switch (r->kind) {
    case REL_SCAN:
        return source_of(pc, r);
    case REL_WINDOW_AGG:
        return rill__sql_build_window_agg(pc, r);
    case REL_GROUP_AGG:
        return rill__sql_build_group_agg(pc, r);
    case REL_VALUES:
        return values_source(pc, r);
    case REL_LIMIT:
        return limit_stream(pc, r);
    case REL_RANK:
        return rill__sql_build_rank(pc, r);
    case REL_MATCH:
        return rill__sql_build_match(pc, r);
    case REL_OVER:
        return rill__sql_build_over(pc, r);
    case REL_WINDOW_TVF:
        return window_tvf_rows(pc, r);
    case REL_JOIN:
        return r->lookup ? rill__sql_build_lookup(pc, r) : rill__sql_build_join(pc, r);
    case REL_UNION: {
        rill_stream **in = rill__arena_alloc(pc->a, (size_t)r->n_inputs * sizeof *in);
        for (int i = 0; i < r->n_inputs; i++)
            if (!(in[i] = rill__sql_build(pc, r->inputs[i])))
                return NULL;
        return rill_stream_union(in, r->n_inputs);
    }
    case REL_CALC: {
        rill_stream *in = rill__sql_build(pc, r->input);
        if (!in)
            return NULL;
        rill_schema *out = r->named ? rill__sql_named_schema_of(pc, r->n_cols, r->cols)
                                    : rill__sql_schema_of(pc, r->n_cols, r->cols);
        if (!out)
            return NULL;
        out->sql_text = r->named; /* what a SQL table's CSV or JSON holds: Flink's text */
        rill_stream *s = rill__sql_calc(in, out, r->filter, r->n_cols, r->outs, pc->text, pc->err);
        rill_schema_free(out);
        return s;
    }
    }
    return NULL;
}

/* ---- operator uids ----------------------------------------------------------------------------
 */

unsigned rill__sql_digest(const char *desc)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (const char *p = desc; p && *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    return (unsigned)(h ^ h >> 32);
}

rill_stream *rill__sql_uid(plan_ctx *pc, rill_stream *s, const char *what, const char *desc)
{
    if (!s)
        return NULL;
    char uid[256];
    snprintf(uid, sizeof uid, "%s/%s-%d#%08x", pc->uid_prefix ? pc->uid_prefix : "sql", what,
             pc->n_uids++, rill__sql_digest(desc));
    return rill_stream_uid(s, uid);
}

const char *rill__sql_table_identity(rill__arena *a, const sql_table *t)
{
    static const char *const keys[] = {"connector",
                                       "connector.type",
                                       "path",
                                       "connector.path",
                                       "topic",
                                       "topic-pattern",
                                       "properties.bootstrap.servers",
                                       "sink.delivery-guarantee",
                                       NULL};
    const sql_option *conn = rill__sql_table_option(t, "connector");
    bool generator = conn && (!strcmp(conn->value, "nexmark") || !strcmp(conn->value, "datagen"));
    rill__buf b = {0};
    for (size_t i = 0; i < t->n_options; i++) {
        /* a generator's options make its stream, but its pace is no part of it */
        bool take = generator && strcmp(t->options[i].key, "rows-per-second") &&
                    strcmp(t->options[i].key, "max-emit-speed");
        for (int k = 0; keys[k] && !take; k++)
            take = !strcmp(keys[k], t->options[i].key);
        if (take)
            rill__buf_printf(&b, "%s=%s;", t->options[i].key, t->options[i].value);
    }
    rill__buf_putc(&b, '\0');
    const char *out = rill__arena_strdup(a, (const char *)b.data);
    rill__buf_free(&b);
    return out;
}
