/*
 * catalog.c - sql layer: the session's catalog of tables, views and functions (Flink's default
 * catalog and database: names are one part, or qualified by default_catalog.default_database),
 * made by CREATE statements whose syntax trees it keeps, and the logical types of the types
 * they write.
 */
#include <stdlib.h>
#include <string.h>

#include "functions.h"
#include "sql_int.h"

/* ---- types as written ------------------------------------------------------------------------ */

rill__sql_tunit rill__sql_tunit_of(rill__sql_unit u)
{
    switch (u) {
    case RILL_SQL_UNIT_YEAR:
        return RILL_SQLU_YEAR;
    case RILL_SQL_UNIT_MONTH:
        return RILL_SQLU_MONTH;
    case RILL_SQL_UNIT_DAY:
        return RILL_SQLU_DAY;
    case RILL_SQL_UNIT_HOUR:
        return RILL_SQLU_HOUR;
    case RILL_SQL_UNIT_MINUTE:
        return RILL_SQLU_MINUTE;
    default:
        return RILL_SQLU_SECOND;
    }
}

const rill__sql_ltype *rill__sql_ltype_of(rill__arena *a, const rill__sql_type *t)
{
    static const rill__sql_root roots[] = {
        [RILL_SQL_T_BOOLEAN] = RILL_SQLT_BOOLEAN,
        [RILL_SQL_T_TINYINT] = RILL_SQLT_TINYINT,
        [RILL_SQL_T_SMALLINT] = RILL_SQLT_SMALLINT,
        [RILL_SQL_T_INT] = RILL_SQLT_INT,
        [RILL_SQL_T_BIGINT] = RILL_SQLT_BIGINT,
        [RILL_SQL_T_FLOAT] = RILL_SQLT_FLOAT,
        [RILL_SQL_T_DOUBLE] = RILL_SQLT_DOUBLE,
        [RILL_SQL_T_DECIMAL] = RILL_SQLT_DECIMAL,
        [RILL_SQL_T_CHAR] = RILL_SQLT_CHAR,
        [RILL_SQL_T_VARCHAR] = RILL_SQLT_VARCHAR,
        [RILL_SQL_T_BINARY] = RILL_SQLT_BINARY,
        [RILL_SQL_T_VARBINARY] = RILL_SQLT_VARBINARY,
        [RILL_SQL_T_DATE] = RILL_SQLT_DATE,
        [RILL_SQL_T_TIME] = RILL_SQLT_TIME,
        [RILL_SQL_T_TIMESTAMP] = RILL_SQLT_TIMESTAMP,
        [RILL_SQL_T_TIMESTAMP_LTZ] = RILL_SQLT_TIMESTAMP_LTZ,
    };
    bool nullable = !t->not_null;
    switch (t->kind) {
    case RILL_SQL_T_INTERVAL: {
        const rill__sql_interval_q *q = &t->interval;
        rill__sql_tunit from = rill__sql_tunit_of(q->start);
        rill__sql_tunit to = q->end == RILL_SQL_UNIT_NONE ? from : rill__sql_tunit_of(q->end);
        return rill__sql_type_interval(a, from, to, q->precision, q->frac, nullable);
    }
    case RILL_SQL_T_ROW: {
        int n = (int)t->n_fields;
        const char **names = rill__arena_alloc(a, (size_t)n * sizeof *names + 1);
        const rill__sql_ltype **types = rill__arena_alloc(a, (size_t)n * sizeof *types + 1);
        for (int i = 0; i < n; i++) {
            names[i] = t->fields[i].name.text;
            types[i] = rill__sql_ltype_of(a, t->fields[i].type);
        }
        return rill__sql_type_row(a, n, names, types, nullable);
    }
    case RILL_SQL_T_ARRAY:
    case RILL_SQL_T_MULTISET:
        return rill__sql_type_collection(
            a, t->kind == RILL_SQL_T_ARRAY ? RILL_SQLT_ARRAY : RILL_SQLT_MULTISET,
            rill__sql_ltype_of(a, t->element), NULL, nullable);
    case RILL_SQL_T_MAP:
        return rill__sql_type_collection(a, RILL_SQLT_MAP, rill__sql_ltype_of(a, t->element),
                                         rill__sql_ltype_of(a, t->value), nullable);
    default:
        return rill__sql_type_make(a, roots[t->kind], t->precision, t->scale, nullable);
    }
}

/* ---- names ----------------------------------------------------------------------------------- */

/* The object name of a compound name: its last part, when the parts before it (if any) are
 * the default catalog and database. NULL (err set) otherwise. */
static const char *object_name(const rill__sql_name *n, const char *text, rill__err *err)
{
    static const char *const defaults[] = {"default_catalog", "default_database"};
    if (n->n_parts > 3) {
        rill__sql_error(err, text, n->pos, "Object name '%s' has too many parts",
                        n->parts[n->n_parts - 1].text);
        return NULL;
    }
    for (size_t i = 0; i + 1 < n->n_parts; i++) {
        const char *want = defaults[i + 3 - n->n_parts];
        if (strcmp(n->parts[i].text, want)) {
            rill__sql_error(
                err, text, n->parts[i].pos, "%s '%s' does not exist (rill has one: '%s')",
                i + 3 - n->n_parts == 0 ? "Catalog" : "Database", n->parts[i].text, want);
            return NULL;
        }
    }
    return n->parts[n->n_parts - 1].text;
}

sql_table *rill__sql_find_table(rill__sql_session *s, const char *name)
{
    for (size_t i = 0; i < s->n_tables; i++)
        if (!strcmp(s->tables[i]->name, name))
            return s->tables[i];
    return NULL;
}

sql_view *rill__sql_find_view(rill__sql_session *s, const char *name)
{
    for (size_t i = 0; i < s->n_views; i++)
        if (!strcmp(s->views[i]->name, name))
            return s->views[i];
    return NULL;
}

const sql_option *rill__sql_table_option(const sql_table *t, const char *key)
{
    for (size_t i = 0; i < t->n_options; i++)
        if (!strcmp(t->options[i].key, key))
            return &t->options[i];
    return NULL;
}

const char *rill__sql_session_option(const rill__sql_session *s, const char *key)
{
    for (size_t i = 0; i < s->n_opts; i++)
        if (!strcmp(s->opts[i].key, key))
            return s->opts[i].value;
    return NULL;
}

static bool taken(rill__sql_session *s, const char *name)
{
    return rill__sql_find_table(s, name) || rill__sql_find_view(s, name);
}

/* ---- CREATE, DROP ---------------------------------------------------------------------------- */

static void table_free(sql_table *t)
{
    if (!t)
        return;
    rill__sql_ast_free(t->ast);
    rill__arena_close(&t->arena);
    free(t);
}

static int col_index(const sql_table *t, const char *name)
{
    for (size_t i = 0; i < t->n_cols; i++)
        if (!strcmp(t->cols[i].name, name))
            return (int)i;
    return -1;
}

int rill__sql_catalog_create_table(rill__sql_session *s, rill__sql_ast *ast, rill__err *err)
{
    const rill__sql_create_table *ct = &ast->stmt->u.create_table;
    const char *text = ast->text;
    const char *name = object_name(&ct->name, text, err);
    if (!name)
        return RILL_EPARSE;
    if (taken(s, name)) {
        if (ct->if_not_exists) {
            rill__sql_ast_free(ast);
            return 0;
        }
        return rill__sql_error(err, text, ct->name.pos,
                               "Table or view `default_catalog`.`default_database`.`%s` already "
                               "exists",
                               name);
    }
    sql_table *t = rill__xcalloc(1, sizeof *t);
    rill__arena_init(&t->arena, 4096);
    t->name = name;
    t->temporary = ct->temporary;
    t->n_cols = ct->n_columns;
    t->cols = rill__arena_alloc(&t->arena, (ct->n_columns + 1) * sizeof *t->cols);
    int rc = 0;
    for (size_t i = 0; i < ct->n_columns && rc == 0; i++) {
        const rill__sql_column *c = &ct->columns[i];
        sql_col *tc = &t->cols[i];
        tc->name = c->name.text;
        tc->kind = c->kind;
        tc->expr = c->expr;
        tc->is_virtual = c->is_virtual;
        tc->metadata_key = c->metadata_key ? c->metadata_key : c->name.text;
        tc->type = c->type ? rill__sql_ltype_of(&t->arena, c->type) : NULL;
        for (size_t k = 0; k < i; k++)
            if (!strcmp(t->cols[k].name, tc->name))
                rc = rill__sql_error(err, text, c->name.pos, "Column '%s' is defined twice",
                                     tc->name);
    }
    t->watermark_col = -1;
    if (rc == 0 && ct->has_watermark) {
        const rill__sql_name *wn = &ct->watermark_col;
        t->watermark_col = wn->n_parts == 1 ? col_index(t, wn->parts[0].text) : -1;
        t->watermark = ct->watermark;
        if (t->watermark_col < 0)
            rc = rill__sql_error(err, text, wn->pos,
                                 "The rowtime attribute field '%s' is not defined in the table "
                                 "schema",
                                 wn->parts[wn->n_parts - 1].text);
    }
    if (rc == 0 && ct->n_pk) {
        t->n_pk = ct->n_pk;
        t->pk = rill__arena_alloc(&t->arena, ct->n_pk * sizeof *t->pk);
        for (size_t i = 0; i < ct->n_pk && rc == 0; i++) {
            t->pk[i] = col_index(t, ct->pk[i].text);
            if (t->pk[i] < 0)
                rc = rill__sql_error(err, text, ct->pk[i].pos,
                                     "Primary key column '%s' is not defined in the table schema",
                                     ct->pk[i].text);
            else
                t->cols[t->pk[i]].type =
                    rill__sql_type_with_null(&t->arena, t->cols[t->pk[i]].type, false);
        }
    }
    t->n_options = ct->n_options;
    t->options = rill__arena_alloc(&t->arena, (ct->n_options + 1) * sizeof *t->options);
    for (size_t i = 0; i < ct->n_options && rc == 0; i++) {
        t->options[i] = (sql_option){ct->options[i].key, ct->options[i].value};
        for (size_t k = 0; k < i; k++)
            if (!strcmp(t->options[k].key, t->options[i].key))
                rc = rill__sql_error(err, text, ct->options[i].pos, "Option '%s' is given twice",
                                     t->options[i].key);
    }
    if (rc == 0 && !rill__sql_table_option(t, "connector") &&
        !rill__sql_table_option(t, "connector.type"))
        rc = rill__sql_error(err, text, ct->name.pos,
                             "Table '%s' has no 'connector' option (WITH ('connector' = ...))",
                             name);
    if (rc) {
        t->ast = NULL;
        table_free(t);
        return rc;
    }
    t->ast = ast;
    t->seq = s->n_created++;
    rill__grow((void **)&s->tables, &s->cap_tables, s->n_tables + 1, sizeof *s->tables);
    s->tables[s->n_tables++] = t;
    return 0;
}

int rill__sql_catalog_create_view(rill__sql_session *s, rill__sql_ast *ast, rill__err *err)
{
    const rill__sql_stmt *st = ast->stmt;
    const char *name = object_name(&st->u.create_view.name, ast->text, err);
    if (!name)
        return RILL_EPARSE;
    if (taken(s, name)) {
        if (st->u.create_view.if_not_exists) {
            rill__sql_ast_free(ast);
            return 0;
        }
        return rill__sql_error(err, ast->text, st->u.create_view.name.pos,
                               "Table or view `default_catalog`.`default_database`.`%s` already "
                               "exists",
                               name);
    }
    sql_view *v = rill__xcalloc(1, sizeof *v);
    v->name = name;
    v->ast = ast;
    v->temporary = st->u.create_view.temporary;
    rill__grow((void **)&s->views, &s->cap_views, s->n_views + 1, sizeof *s->views);
    s->views[s->n_views++] = v;
    return 0;
}

int rill__sql_catalog_drop(rill__sql_session *s, const rill__sql_stmt *st, const char *text,
                           rill__err *err)
{
    const char *name = object_name(&st->u.drop.name, text, err);
    if (!name)
        return RILL_EPARSE;
    bool is_view = st->u.drop.object == RILL_SQL_OBJ_VIEW;
    if (st->u.drop.object == RILL_SQL_OBJ_FUNCTION)
        return rill__sql_catalog_drop_function(s, st, text, err);
    for (size_t i = 0; !is_view && i < s->n_tables; i++)
        if (!strcmp(s->tables[i]->name, name)) {
            table_free(s->tables[i]);
            memmove(s->tables + i, s->tables + i + 1, (s->n_tables - i - 1) * sizeof *s->tables);
            s->n_tables--;
            return 0;
        }
    for (size_t i = 0; is_view && i < s->n_views; i++)
        if (!strcmp(s->views[i]->name, name)) {
            rill__sql_ast_free(s->views[i]->ast);
            free(s->views[i]);
            memmove(s->views + i, s->views + i + 1, (s->n_views - i - 1) * sizeof *s->views);
            s->n_views--;
            return 0;
        }
    if (st->u.drop.if_exists)
        return 0;
    return rill__sql_error(err, text, st->u.drop.name.pos,
                           "%s with identifier 'default_catalog.default_database.%s' does not "
                           "exist",
                           is_view ? "View" : "Table", name);
}

void rill__sql_catalog_free(rill__sql_session *s)
{
    for (size_t i = 0; i < s->n_fs_sinks; i++)
        free(s->fs_sinks[i]);
    free(s->fs_sinks);
    s->fs_sinks = NULL;
    s->n_fs_sinks = s->cap_fs_sinks = 0;
    free(s->scans); /* the shared sources' list (their streams are the env's) */
    s->scans = NULL;
    s->n_scans = s->cap_scans = 0;
    rill__sql_reuse_reset(s);
    free(s->subplans);
    s->subplans = NULL;
    s->cap_subplans = 0;
    rill__sql_needs_reset(s);
    free(s->needs);
    s->needs = NULL;
    s->cap_needs = 0;
    for (size_t i = 0; i < s->n_tables; i++)
        table_free(s->tables[i]);
    free(s->tables);
    for (size_t i = 0; i < s->n_views; i++) {
        rill__sql_ast_free(s->views[i]->ast);
        free(s->views[i]);
    }
    free(s->views);
    for (size_t i = 0; i < s->n_functions; i++)
        rill__sql_function_free(s->functions[i]);
    free(s->functions);
    s->tables = NULL, s->views = NULL, s->functions = NULL;
    s->n_tables = s->n_views = s->n_functions = 0;
}
