/*
 * script.c - sql layer: statements of Flink SQL run in a session (the SET options and the
 * catalog). `rill run FILE.sql` runs a whole script as one job: SET and the catalog statements
 * take effect in order, every INSERT (and every bare SELECT, printed to stdout as Flink's print
 * connector prints rows) is planned into the job, which runs when the script has been read.
 * `rill sql` runs statements as they come (rill__sql_session_exec): each INSERT, statement set
 * and SELECT as a job of its own on a fresh env with the SET options replayed, as Flink's SQL
 * client does. EXECUTE STATEMENT SET groups INSERTs as in Flink.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "functions.h"
#include "sql_int.h"

#define ERR(s_text, err, pos, ...) rill__sql_error((err), (s_text), (pos), __VA_ARGS__)

/* ---- SET ------------------------------------------------------------------------------------- */

/* Flink's option keys that are rill's under another name or form (the option table's flink
 * keys, runtime/options.c), the value converted; rill's own keys that SET takes. */
static int apply_option(rill__sql_session *s, const char *key, const char *value, rill__err *err)
{
    const rill__option *o = rill__option_of_flink(key);
    const char *rk = o ? o->key : NULL;
    bool duration = o && o->flink_duration;
    char buf[64];
    if (rk && duration) {
        int64_t ms;
        if (rill__parse_duration(value, &ms) != 0)
            return rill__err_set(err, RILL_ECONFIG,
                                 "SET '%s': '%s' is not a duration (10 s, "
                                 "1 min, 500 ms)",
                                 key, value);
        snprintf(buf, sizeof buf, "%lld", (long long)ms);
        value = buf;
    } else if (rk && !strcmp(rk, "checkpoint.mode")) {
        if (!strcasecmp(value, "EXACTLY_ONCE"))
            value = "exactly-once";
        else if (!strcasecmp(value, "AT_LEAST_ONCE"))
            value = "at-least-once";
    } else if (rk && !strcmp(rk, "state.backend") && !strcasecmp(value, "hashmap")) {
        value = "heap";
    }
    /* Flink's parallelism of a table program's operators; -1 (its default): parallelism.default */
    if (!strcmp(key, "table.exec.resource.default-parallelism") && strtol(value, NULL, 10) > 0)
        rk = "parallelism";
    if (!rk && (o = rill__option_find(key)) != NULL && (o->flags & RILL__OPT_SQL))
        rk = key; /* rill's own keys; anything else is kept (Flink takes any key) */
    if (rk && rill_env_set(s->env, rk, value) != 0)
        return rill__err_set(err, RILL_ECONFIG, "SET '%s' = '%s': %s", key, value,
                             rill_errmsg(s->env));
    return 0;
}

/*
 * Flink's keys that change what a job computes, and what rill does with each: the values it
 * takes (it honours them, or they change nothing rill computes), the rest refused with why,
 * so that a script tuned for Flink never runs silently into other results. Every other key is
 * kept (Flink takes any key). A value of "#duration", "#bool" or "#int" takes any such value,
 * "#zero" a duration of 0.
 */
static const struct flink_key {
    const char *key, *values, *why;
} flink_keys[] = {
    {"execution.runtime-mode", "streaming",
     "rill runs streaming only: a bounded input gives the streaming changelog (a GROUP BY's "
     "updates as rows come), not the batch mode's final rows"},
    /* mini-batches change when updates are emitted, not the results: rill emits each change
     * as it comes, which a mini-batch of one row gives too */
    {"table.exec.mini-batch.enabled", "#bool", NULL},
    {"table.exec.mini-batch.allow-latency", "#duration", NULL},
    {"table.exec.mini-batch.size", "#int", NULL},
    {"table.exec.emit.early-fire.enabled", "false",
     "early firing of windows (partial results before the watermark passes a window's end) "
     "is not supported yet"},
    {"table.exec.emit.early-fire.delay", "#duration", NULL},
    {"table.exec.emit.late-fire.enabled", "false",
     "late firing of windows (updated results for late rows) is not supported yet"},
    {"table.exec.emit.late-fire.delay", "#duration", NULL},
    {"table.exec.emit.allow-lateness", "#zero",
     "windows with allowed lateness are not supported yet (a late row is dropped)"},
    {"table.exec.source.idle-timeout", "#duration", NULL}, /* honoured (planner.c) */
    /* rill's watermark follows every row, Flink's with an interval of 0; a longer interval
     * makes Flink's results with late rows vary from run to run, rill's are one of them */
    {"pipeline.auto-watermark-interval", "#duration", NULL},
    {"table.exec.legacy-cast-behaviour", "disabled",
     "rill casts as Flink 1.15+ does; the legacy cast behaviour is not there"},
    {"table.exec.sink.type-length-enforcer", "trim_pad",
     "rill trims and pads a string or bytes to a sink column's CHAR(n)/VARCHAR(n) length "
     "(TRIM_PAD) always"},
    {"table.sql-dialect", "default", "rill parses Flink's default SQL dialect only"},
    {"table.dynamic-table-options.enabled", "#bool", NULL},    /* honoured (planner.c) */
    {"table.exec.resource.default-parallelism", "#int", NULL}, /* honoured: apply_option */
    {"table.optimizer.agg-phase-strategy", "auto|one_phase|two_phase", NULL},
    {"table.optimizer.distinct-agg.split.enabled", "#bool", NULL},
};

/* 0 when rill honours key = value or it changes nothing rill computes (or rill does not know
 * key); an error naming the key otherwise. */
static int check_flink_key(const char *key, const char *value, rill__err *err)
{
    const struct flink_key *k = NULL;
    for (size_t i = 0; i < sizeof flink_keys / sizeof *flink_keys && !k; i++)
        if (!strcmp(flink_keys[i].key, key))
            k = &flink_keys[i];
    if (!k)
        return 0;
    int64_t n;
    char *end;
    if (!strcmp(k->values, "#duration")) {
        if (rill__parse_duration(value, &n) == 0)
            return 0;
        return rill__err_set(err, RILL_ECONFIG,
                             "SET '%s': '%s' is not a duration (10 s, 1 min, 500 ms)", key, value);
    }
    if (!strcmp(k->values, "#zero") && rill__parse_duration(value, &n) == 0 && n == 0)
        return 0;
    if (!strcmp(k->values, "#bool")) {
        if (!strcasecmp(value, "true") || !strcasecmp(value, "false"))
            return 0;
        return rill__err_set(err, RILL_ECONFIG, "SET '%s': '%s' is not true or false", key, value);
    }
    if (!strcmp(k->values, "#int")) {
        n = strtoll(value, &end, 10);
        if (*value && !*end)
            return 0;
        return rill__err_set(err, RILL_ECONFIG, "SET '%s': '%s' is not an integer", key, value);
    }
    size_t len = strlen(value);
    for (const char *v = k->values; *v;) {
        size_t vl = strcspn(v, "|");
        if (vl == len && !strncasecmp(v, value, len))
            return 0;
        v += vl + (v[vl] == '|');
    }
    return rill__err_set(err, RILL_ECONFIG,
                         "SET '%s' = '%s' is not supported: %s (rill takes "
                         "'%s')",
                         key, value, k->why ? k->why : "an unknown value",
                         strcmp(k->values, "#zero") ? k->values : "0 s");
}

static void set_option(rill__sql_session *s, const char *key, const char *value)
{
    for (size_t i = 0; i < s->n_opts; i++)
        if (!strcmp(s->opts[i].key, key)) {
            free((char *)s->opts[i].value);
            s->opts[i].value = rill__xstrdup(value);
            return;
        }
    rill__grow((void **)&s->opts, &s->cap_opts, s->n_opts + 1, sizeof *s->opts);
    s->opts[s->n_opts++] = (sql_option){rill__xstrdup(key), rill__xstrdup(value)};
}

/* RESET key (NULL: every key); a key not set is no error (Flink's). */
static void reset_option(rill__sql_session *s, const char *key)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n_opts; i++) {
        if (!key || !strcmp(s->opts[i].key, key)) {
            free((char *)s->opts[i].key);
            free((char *)s->opts[i].value);
        } else {
            s->opts[k++] = s->opts[i];
        }
    }
    s->n_opts = k;
}

/* The client's own options: tableau is the only result mode (rows print as they come). */
static int client_option(const char *key, const char *value, rill__err *err)
{
    if (strcmp(key, "sql-client.execution.result-mode") && strcmp(key, "execution.result-mode"))
        return 0;
    if (!strcasecmp(value, "tableau"))
        return 0;
    if (!strcasecmp(value, "table") || !strcasecmp(value, "changelog"))
        return rill__err_set(err, RILL_ECONFIG,
                             "SET '%s' = '%s': rill's SQL client has only the 'tableau' result "
                             "mode (a streaming result's rows printed as they come, with their "
                             "change kind in the 'op' column)",
                             key, value);
    return rill__err_set(err, RILL_ECONFIG,
                         "SET '%s' = '%s': the result mode is 'tableau' (the only one rill's SQL "
                         "client has; Flink's are table, changelog and tableau)",
                         key, value);
}

static int cmp_opt(const void *a, const void *b)
{
    return strcmp(((const sql_option *)a)->key, ((const sql_option *)b)->key);
}

/* ---- tableau output ---------------------------------------------------------------------------
 */

/* Flink's tableau form: a header row and rows in a box, values right-aligned, then "N rows in
 * set" (or "Empty set"). cells: n_rows * n_cols strings. */
static void tableau(FILE *out, int n_cols, const char *const *head, int n_rows,
                    const char *const *cells)
{
    int w[16] = {0};
    for (int c = 0; c < n_cols && c < 16; c++) {
        w[c] = (int)strlen(head[c]);
        for (int r = 0; r < n_rows; r++)
            w[c] = RILL_MAX(w[c], (int)strlen(cells[r * n_cols + c]));
    }
    for (int line = 0; line < 2 * (n_rows ? 1 : 0) + 3 + n_rows; line++) {
        bool border = line == 0 || line == 2 || line == n_rows + 3;
        if (line > n_rows + 3)
            break;
        if (!n_rows && line > 2)
            break;
        for (int c = 0; c < n_cols; c++) {
            if (border) {
                fputc('+', out);
                for (int k = 0; k < w[c] + 2; k++)
                    fputc('-', out);
            } else {
                const char *v = line == 1 ? head[c] : cells[(line - 3) * n_cols + c];
                fprintf(out, "| %*s ", w[c], v);
            }
        }
        fputs(border ? "+\n" : "|\n", out);
    }
    if (n_rows)
        fprintf(out, "%d row%s in set\n", n_rows, n_rows == 1 ? "" : "s");
    else
        fputs("Empty set\n", out);
}

/* SQL LIKE over names (ASCII): % any characters, _ one; fold: ILIKE, case ignored. */
static bool like_name(const char *s, const char *p, bool fold)
{
    for (; *p; p++, s++) {
        if (*p == '%') {
            for (const char *t = s;; t++) {
                if (like_name(t, p + 1, fold))
                    return true;
                if (!*t)
                    return false;
            }
        }
        if (!*s || (*p != '_' && (fold ? strncasecmp(s, p, 1) : *s != *p)))
            return false;
    }
    return !*s;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* SHOW [USER] FUNCTIONS: the user's functions and, without USER, the built-ins, in lower case
 * as Flink lists them, sorted, each once. */
static int show_functions(rill__sql_session *s, const rill__sql_stmt *st, const char *text,
                          rill__err *err)
{
    const rill__sql_name *db = &st->u.show.name;
    if (db->n_parts &&
        (db->n_parts > 2 || strcmp(db->parts[db->n_parts - 1].text, "default_database") ||
         (db->n_parts == 2 && strcmp(db->parts[0].text, "default_catalog"))))
        return ERR(text, err, db->pos,
                   "Database '%s' does not exist (rill has one: "
                   "'default_catalog.default_database')",
                   db->parts[db->n_parts - 1].text);
    size_t n_builtin = 0;
    while (!st->u.show.user && rill__sql_fn_name_at(n_builtin))
        n_builtin++;
    char **names = rill__xcalloc(n_builtin + s->n_functions + 1, sizeof *names);
    size_t n = 0;
    for (size_t i = 0; i < s->n_functions + n_builtin; i++) {
        /* in lower case: Flink normalizes function names so */
        char *lower = rill__xstrdup(i < s->n_functions ? s->functions[i]->name
                                                       : rill__sql_fn_name_at(i - s->n_functions));
        for (char *c = lower; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
        names[n++] = lower;
    }
    qsort(names, n, sizeof *names, cmp_name);
    const char **cells = rill__xcalloc(n + 1, sizeof *cells);
    int n_rows = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && !strcmp(names[i], names[i - 1]))
            continue;
        if (st->u.show.like &&
            like_name(names[i], st->u.show.like, st->u.show.ilike) == st->u.show.not_like)
            continue;
        cells[n_rows++] = names[i];
    }
    static const char *const head = "function name";
    tableau(s->out, 1, &head, n_rows, cells);
    free(cells);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return 0;
}

static int show(rill__sql_session *s, const rill__sql_stmt *st, const char *text, rill__err *err)
{
    if (st->u.show.what == RILL_SQL_SHOW_FUNCTIONS)
        return show_functions(s, st, text, err);
    const char *head = NULL;
    const char **cells = NULL;
    int n = 0;
    switch (st->u.show.what) {
    case RILL_SQL_SHOW_TABLES:
    case RILL_SQL_SHOW_VIEWS: {
        bool views = st->u.show.what == RILL_SQL_SHOW_VIEWS;
        head = views ? "view name" : "table name";
        size_t cap = s->n_tables + s->n_views + 1;
        cells = rill__xcalloc(cap, sizeof *cells);
        for (size_t i = 0; !views && i < s->n_tables; i++)
            cells[n++] = s->tables[i]->name;
        for (size_t i = 0; i < s->n_views; i++) /* SHOW TABLES lists views too (Flink) */
            cells[n++] = s->views[i]->name;
        /* sorted, as Flink's catalog lists them */
        for (int i = 1; i < n; i++)
            for (int k = i; k > 0 && strcmp(cells[k - 1], cells[k]) > 0; k--) {
                const char *t = cells[k];
                cells[k] = cells[k - 1];
                cells[k - 1] = t;
            }
        break;
    }
    case RILL_SQL_SHOW_CATALOGS:
        head = "catalog name";
        cells = rill__xcalloc(1, sizeof *cells);
        cells[n++] = "default_catalog";
        break;
    case RILL_SQL_SHOW_DATABASES:
        head = "database name";
        cells = rill__xcalloc(1, sizeof *cells);
        cells[n++] = "default_database";
        break;
    case RILL_SQL_SHOW_CURRENT_CATALOG:
        head = "current catalog name";
        cells = rill__xcalloc(1, sizeof *cells);
        cells[n++] = "default_catalog";
        break;
    case RILL_SQL_SHOW_CURRENT_DATABASE:
        head = "current database name";
        cells = rill__xcalloc(1, sizeof *cells);
        cells[n++] = "default_database";
        break;
    default:
        return ERR(text, err, st->pos, "This SHOW statement is not supported yet");
    }
    tableau(s->out, 1, &head, n, cells);
    free(cells);
    return 0;
}

/* DESCRIBE of a view: the columns of its query (name, type, null; no key, extras or
 * watermark), as Flink prints them. */
static int describe_view(rill__sql_session *s, sql_view *v, rill__err *err)
{
    rill__arena a;
    rill__arena_init(&a, 16384);
    plan_ctx pc = {.s = s, .a = &a, .text = v->ast->text, .err = err};
    rel *r = rill__sql_plan_view(&pc, v);
    if (!r) {
        rill__arena_close(&a);
        return err->code ? err->code : RILL_EINVAL;
    }
    static const char *const head[] = {"name", "type", "null", "key", "extras", "watermark"};
    const char **cells = rill__xcalloc((size_t)r->n_cols * 6 + 1, sizeof *cells);
    for (int i = 0; i < r->n_cols; i++) {
        const char **row = cells + i * 6;
        rill__buf b = {0};
        rill__sql_type_describe(rill__sql_type_with_null(&a, r->cols[i].type, true), &b);
        rill__buf_putc(&b, '\0');
        row[0] = r->cols[i].name;
        row[1] = rill__arena_strdup(&a, (const char *)b.data);
        rill__buf_free(&b);
        row[2] = r->cols[i].type->nullable ? "TRUE" : "FALSE";
        row[3] = row[4] = row[5] = "";
    }
    tableau(s->out, 6, head, r->n_cols, cells);
    free(cells);
    rill__arena_close(&a);
    return 0;
}

static int describe(rill__sql_session *s, const rill__sql_stmt *st, const char *text,
                    rill__err *err)
{
    const rill__sql_name *nm = &st->u.describe.name;
    sql_table *t = rill__sql_find_table(s, nm->parts[nm->n_parts - 1].text);
    sql_view *v = t ? NULL : rill__sql_find_view(s, nm->parts[nm->n_parts - 1].text);
    if (v)
        return describe_view(s, v, err);
    if (!t)
        return ERR(text, err, nm->pos,
                   "Tables or views with the identifier "
                   "'default_catalog.default_database.%s' doesn't exist",
                   nm->parts[nm->n_parts - 1].text);
    static const char *const head[] = {"name", "type", "null", "key", "extras", "watermark"};
    const char **cells = rill__xcalloc(t->n_cols * 6 + 1, sizeof *cells);
    rill__arena a;
    rill__arena_init(&a, 4096);
    for (size_t i = 0; i < t->n_cols; i++) {
        const sql_col *c = &t->cols[i];
        const char **row = cells + i * 6;
        row[0] = c->name;
        rill__buf b = {0};
        bool nullable = true;
        const rill__sql_ltype *type = c->type;
        if (!type && c->kind == RILL_SQL_COL_COMPUTED) { /* as its expression types it */
            rill__err e = {0};
            plan_ctx pc = {.s = s, .a = &a, .text = t->ast->text, .err = &e};
            type = rill__sql_computed_type(&pc, t, c);
        }
        if (type) {
            const rill__sql_ltype *ty = rill__sql_type_with_null(&a, type, true);
            if ((int)i == t->watermark_col)
                ty = rill__sql_type_with_attr(&a, ty, RILL_SQLA_ROWTIME);
            rill__sql_type_describe(ty, &b);
            nullable = type->nullable;
        }
        rill__buf_putc(&b, '\0');
        row[1] = rill__arena_strdup(&a, type ? (const char *)b.data : "");
        rill__buf_free(&b);
        row[2] = nullable ? "TRUE" : "FALSE";
        bool pk = false;
        for (size_t k = 0; k < t->n_pk; k++)
            pk |= t->pk[k] == (int)i;
        row[3] = pk ? rill__arena_strdup(&a, "PRI(") : "";
        if (pk) {
            rill__buf kb = {0};
            rill__buf_printf(&kb, "PRI(");
            for (size_t k = 0; k < t->n_pk; k++)
                rill__buf_printf(&kb, "%s%s", k ? ", " : "", t->cols[t->pk[k]].name);
            rill__buf_printf(&kb, ")");
            rill__buf_putc(&kb, '\0');
            row[3] = rill__arena_strdup(&a, (const char *)kb.data);
            rill__buf_free(&kb);
        }
        rill__buf eb = {0};
        if (c->kind == RILL_SQL_COL_COMPUTED) {
            rill__buf_printf(&eb, "AS ");
            rill__sql_print_expr(&eb, c->expr);
        } else if (c->kind == RILL_SQL_COL_METADATA) {
            rill__buf_printf(&eb, "METADATA FROM '%s'%s", c->metadata_key,
                             c->is_virtual ? " VIRTUAL" : "");
        }
        rill__buf_putc(&eb, '\0');
        row[4] = rill__arena_strdup(&a, (const char *)eb.data);
        rill__buf_free(&eb);
        rill__buf wb = {0};
        if ((int)i == t->watermark_col)
            rill__sql_print_expr(&wb, t->watermark);
        rill__buf_putc(&wb, '\0');
        row[5] = rill__arena_strdup(&a, (const char *)wb.data);
        rill__buf_free(&wb);
    }
    tableau(s->out, 6, head, (int)t->n_cols, cells);
    free(cells);
    rill__arena_close(&a);
    return 0;
}

/* ---- DML ------------------------------------------------------------------------------------ */

/* A changelog's row passed on as it is (with its kind): after a partitioning by key. */
static int pass_row(rill_ctx *ctx, const rill_row *in)
{
    rill_row out;
    int rc = rill_emit(ctx, &out);
    if (rc < 0 || (rc = rill_row_copy(&out, in)) < 0)
        return rc;
    rill_rowkind kind = rill_row_kind(in);
    return kind == RILL_ROW_INSERT ? 0 : rill_row_set_kind(&out, kind);
}

/* An upsert-kafka table's sink: the Kafka sink in upsert mode, keyed by the primary key (every
 * change of a key goes to one subtask, in order, so the key's last message is its last value). */
static rill_stream *upsert_kafka(plan_ctx *pc, sql_table *t, rel *r, rill_stream *in,
                                 rill__sql_pos pos)
{
    if (rill__sql_upsert_kafka_check(pc->text, pc->err, t, pos))
        return NULL;
    rill__buf keys = {0};
    for (size_t i = 0; i < t->n_pk; i++)
        rill__buf_printf(&keys, "%s%s", i ? ";" : "", t->cols[t->pk[i]].name);
    rill__buf_putc(&keys, '\0');
    char *key_fields = rill__arena_strdup(pc->a, (const char *)keys.data);
    for (size_t i = 0; i < keys.len; i++)
        if (keys.data[i] == ';')
            keys.data[i] = ',';
    size_t n;
    const char **opts = rill__sql_connector_options(pc->a, t, 2, &n);
    opts[n++] = "key.fields";
    opts[n++] = key_fields;
    opts[n++] = "sink.changelog-mode";
    opts[n++] = "upsert";
    opts[n] = NULL;
    rill_keyed_stream *ks = rill_stream_key_by(in, (const char *)keys.data);
    rill__buf_free(&keys);
    rill_stream *by_key = ks ? rill_keyed_process(ks, in->schema, pass_row, NULL) : NULL;
    (void)r;
    return by_key ? rill_sink_kafka(by_key, opts) : NULL;
}

/*
 * A filesystem table's sink: the exactly-once file sink with the table's PARTITIONED BY keys and
 * its options (checked here, so that a bad one is named with the table). With partition keys and
 * the partition-time trigger (or 'sink.shuffle-by-partition.enable'), rows are first partitioned
 * by their keys: every sink subtask then sees the watermark of the whole input, as Flink's one
 * partition committer does, and a partition's rows go to one subtask.
 */
static rill_stream *filesystem_sink(plan_ctx *pc, sql_table *t, rill_stream *in)
{
    const rill__sql_create_table *ct = &t->ast->stmt->u.create_table;
    int n_keys = (int)ct->n_partitioned;
    const char **keys = rill__arena_alloc(pc->a, (size_t)(n_keys + 1) * sizeof *keys);
    for (int i = 0; i < n_keys; i++)
        keys[i] = ct->partitioned[i].text;
    size_t n_opts;
    const char **opts = rill__sql_connector_options(pc->a, t, 1, &n_opts);
    /* Another sink of this job writing the same directory (two INSERTs into one table): its
     * part files get a prefix of their own, as Flink's file names carry a unique part, or each
     * sink would take the other's files for its own (overwrite them, delete them on restore).
     * The k-th sink of a directory is "part-s<k>": the same in every run of the script. */
    const sql_option *path = rill__sql_table_option(t, "path");
    path = path ? path : rill__sql_table_option(t, "connector.path");
    rill__sql_session *ss = pc->s;
    if (ss->fs_sinks_env != ss->env) {
        for (size_t i = 0; i < ss->n_fs_sinks; i++)
            free(ss->fs_sinks[i]);
        ss->n_fs_sinks = 0;
        ss->fs_sinks_env = ss->env;
    }
    if (path && !ss->dry) {
        int same = 0;
        for (size_t i = 0; i < ss->n_fs_sinks; i++)
            same += !strcmp(ss->fs_sinks[i], path->value);
        rill__grow((void **)&ss->fs_sinks, &ss->cap_fs_sinks, ss->n_fs_sinks + 1,
                   sizeof *ss->fs_sinks);
        ss->fs_sinks[ss->n_fs_sinks++] = rill__xstrdup(path->value);
        if (same > 0 && !rill__sql_table_option(t, "sink.part-prefix")) {
            char *prefix = rill__arena_alloc(pc->a, 32);
            snprintf(prefix, 32, "part-s%d", same + 1);
            opts[n_opts++] = "sink.part-prefix";
            opts[n_opts++] = prefix;
            opts[n_opts] = NULL;
        }
    }
    rill__err e = {0};
    void *cfg = rill__fs_sink_cfg(opts, keys, n_keys, &e);
    if (!cfg) {
        rill__err_set(pc->err, e.code, "table '%s': %s", t->name, e.msg);
        return NULL;
    }
    int rc = rill__exactly_once_file_sink_ops.validate(cfg, in->schema, &e);
    bool shuffle = rill__fs_sink_cfg_shuffle(cfg);
    rill__exactly_once_file_sink_ops.cfg_free(cfg);
    if (rc) {
        rill__err_set(pc->err, rc, "table '%s': %s", t->name, e.msg);
        return NULL;
    }
    const sql_option *trig = rill__sql_table_option(t, "sink.partition-commit.trigger");
    if (n_keys > 0 && (shuffle || (trig && !strcmp(trig->value, "partition-time")))) {
        rill__buf list = {0};
        for (int i = 0; i < n_keys; i++)
            rill__buf_printf(&list, "%s%s", i ? "," : "", keys[i]);
        rill__buf_putc(&list, '\0');
        rill_keyed_stream *ks = rill_stream_key_by(in, (const char *)list.data);
        rill__buf_free(&list);
        in = ks ? rill_keyed_process(ks, in->schema, pass_row, NULL) : NULL;
    }
    return in ? rill__sink_filesystem(in, opts, keys, n_keys) : NULL;
}

/* The node whose updates r carries, named as Flink's message names it: an aggregation's, or an
 * upsert-kafka table's ChangelogNormalize (with its key, in buf). */
static const char *updating_node(const rel *r, char *buf, size_t cap)
{
    if (!r)
        return "GroupAggregate";
    if (r->kind == REL_GROUP_AGG || r->kind == REL_WINDOW_AGG)
        return "GroupAggregate";
    if (r->kind == REL_RANK) { /* Rank(...) or Deduplicate(...), as Flink names it */
        rill__buf b = {0};
        rill__sql_explain_rank(&b, r, 0, false);
        snprintf(buf, cap, "%s)", rill__buf_cstr(&b));
        rill__buf_free(&b);
        return buf;
    }
    if (r->kind == REL_SCAN && r->updates) {
        size_t k = (size_t)snprintf(buf, cap, "ChangelogNormalize(key=[");
        for (size_t i = 0; i < r->table->n_pk && k < cap; i++)
            k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? ", " : "",
                                  r->table->cols[r->table->pk[i]].name);
        if (k < cap)
            snprintf(buf + k, cap - k, "])");
        return buf;
    }
    for (int i = 0; i < r->n_inputs; i++)
        if (r->inputs[i]->updates)
            return updating_node(r->inputs[i], buf, cap);
    return updating_node(r->input, buf, cap);
}

/* The rows of r into table t (its 'connector'). */
static int sink_into(plan_ctx *pc, sql_table *t, rel *r, rill_stream *in, rill__sql_pos pos)
{
    const sql_option *conn = rill__sql_table_option(t, "connector");
    if (!conn)
        conn = rill__sql_table_option(t, "connector.type");
    rill_stream *out = NULL;
    char node[300];
    if (r->updates && strcmp(conn->value, "print") && strcmp(conn->value, "blackhole") &&
        strcmp(conn->value, "upsert-kafka"))
        return ERR(pc->text, pc->err, pos,
                   "Table sink 'default_catalog.default_database.%s' doesn't support consuming "
                   "update changes which is produced by node %s (the %s connector "
                   "is append-only; an upsert-kafka table with a PRIMARY KEY takes updates)",
                   t->name, updating_node(r, node, sizeof node), conn->value);
    if (rill__sql_check_table_options(pc, t, conn->value))
        return pc->err->code;
    if (!strcmp(conn->value, "print")) {
        const sql_option *id = rill__sql_table_option(t, "print-identifier");
        out = rill__sql_print_sink(in, r->n_cols, r->cols, id ? id->value : NULL);
    } else if (!strcmp(conn->value, "blackhole")) {
        out = rill_sink_blackhole(in);
    } else if (!strcmp(conn->value, "kafka")) {
        const char **opts = rill__sql_connector_options(pc->a, t, 0, NULL);
        out = rill_sink_kafka(in, opts);
    } else if (!strcmp(conn->value, "upsert-kafka")) {
        out = upsert_kafka(pc, t, r, in, pos);
        if (!out && pc->err->code)
            return pc->err->code;
    } else if (!strcmp(conn->value, "filesystem")) {
        out = filesystem_sink(pc, t, in);
        if (!out && pc->err->code)
            return pc->err->code;
    } else {
        return ERR(pc->text, pc->err, pos,
                   "Table '%s': connector '%s' cannot be written (yet): "
                   "filesystem, kafka, print, blackhole",
                   t->name, conn->value);
    }
    if (!out)
        return RILL_ENOMEM;
    /* its uid: what its state (pending files, Kafka epochs) belongs to */
    char what[160];
    snprintf(what, sizeof what, "sink:%s", t->name);
    rill__sql_uid(pc, out, what, rill__sql_table_identity(pc->a, t));
    return 0;
}

/* The uid prefix of a statement's operators: base, or base-2, base-3... when an earlier
 * statement of the job has it (two INSERTs into one table). In the arena. */
static const char *uid_prefix(rill__sql_session *s, rill__arena *a, const char *base)
{
    char cand[160];
    for (int k = 1;; k++) {
        if (k == 1)
            snprintf(cand, sizeof cand, "%s", base);
        else
            snprintf(cand, sizeof cand, "%s-%d", base, k);
        size_t n = strlen(cand);
        bool used = false;
        for (size_t i = 0; s->env && i < s->env->n_nodes && !used; i++) {
            const char *u = s->env->nodes[i]->uid;
            used = u && !strncmp(u, cand, n) && u[n] == '/';
        }
        if (!used)
            return rill__arena_strdup(a, cand);
    }
}

rel *rill__sql_insert_columns(plan_ctx *pc, const rill__sql_stmt *st, const sql_table *t, rel *q)
{
    size_t n_list = st->u.insert.n_cols;
    const rill__sql_ident *list = st->u.insert.cols;
    if (!n_list || !q)
        return q;
    if ((int)n_list != q->n_cols)
        return rill__sql_error(pc->err, pc->text, list[0].pos,
                               "Number of INSERT target columns (%zu) does not equal number of "
                               "source items (%d)",
                               n_list, q->n_cols),
               NULL;
    int *from = rill__arena_alloc(pc->a, (t->n_cols + 1) * sizeof *from);
    for (size_t i = 0; i < t->n_cols; i++)
        from[i] = -1;
    for (size_t k = 0; k < n_list; k++) {
        size_t i = 0;
        while (i < t->n_cols && strcmp(t->cols[i].name, list[k].text))
            i++;
        const char *why = i == t->n_cols ? "Unknown target column"
                          : t->cols[i].kind != RILL_SQL_COL_PHYSICAL
                              ? "A computed or metadata column cannot be written:"
                          : from[i] >= 0 ? "Target column assigned more than once:"
                                         : NULL;
        if (why) {
            rill__sql_error(pc->err, pc->text, list[k].pos, "%s '%s'", why, list[k].text);
            return NULL;
        }
        from[i] = (int)k;
    }
    int n = 0;
    for (size_t i = 0; i < t->n_cols; i++)
        n += t->cols[i].kind == RILL_SQL_COL_PHYSICAL;
    rel *c = rill__arena_alloc(pc->a, sizeof *c);
    memset(c, 0, sizeof *c);
    c->kind = REL_CALC;
    c->input = q;
    c->updates = q->updates;
    c->n_cols = n;
    c->cols = rill__arena_alloc(pc->a, (size_t)(n + 1) * sizeof *c->cols);
    c->outs = rill__arena_alloc(pc->a, (size_t)(n + 1) * sizeof *c->outs);
    for (size_t i = 0, k = 0; i < t->n_cols; i++) {
        const sql_col *col = &t->cols[i];
        if (col->kind != RILL_SQL_COL_PHYSICAL)
            continue;
        if (from[i] >= 0) {
            c->cols[k] = (rel_col){.name = col->name, .type = q->cols[from[i]].type};
            c->outs[k++] = rill__sql_x_input(pc->a, from[i], q->cols[from[i]].type);
        } else if (!col->type->nullable) { /* Calcite's message */
            rill__sql_error(pc->err, pc->text, list[0].pos,
                            "Column '%s' has no default value and does not allow NULLs", col->name);
            return NULL;
        } else {
            c->cols[k] = (rel_col){.name = col->name, .type = col->type};
            c->outs[k++] = rill__sql_x_null(pc->a, col->type);
        }
    }
    return c;
}

/* The longest text CAST(x AS VARCHAR) gives for a value of type t, if t is an exact number or
 * BOOLEAN; else 0 (t goes into no VARCHAR without a written cast). */
static int text_width(const rill__sql_ltype *t)
{
    if (!rill__sql_is_exact(t) && t->root != RILL_SQLT_BOOLEAN)
        return 0;
    /* the tableau's width, and for a DECIMAL the 0 before the point of -0.123 */
    return rill__sql_display_width(t) + (t->root == RILL_SQLT_DECIMAL);
}

/* INSERT INTO t [(cols)] query. */
static int insert(rill__sql_session *s, const rill__sql_stmt *st, const char *text, rill__arena *a,
                  rill__err *err)
{
    plan_ctx pc = {.s = s, .a = a, .text = text, .err = err};
    const rill__sql_name *tn = &st->u.insert.target;
    sql_table *t = rill__sql_find_table(s, tn->parts[tn->n_parts - 1].text);
    if (!t)
        return ERR(text, err, tn->pos, "Object '%s' not found", tn->parts[tn->n_parts - 1].text);
    char base[140];
    snprintf(base, sizeof base, "insert-%s", t->name);
    pc.uid_prefix = uid_prefix(s, a, base);
    if (st->u.insert.overwrite || st->u.insert.n_partition)
        return ERR(text, err, st->pos, "INSERT OVERWRITE and PARTITION are not supported yet");
    if (!(t = rill__sql_hinted_table(&pc, t, st->u.insert.hints, st->u.insert.n_hints)))
        return err->code ? err->code : RILL_EINVAL; /* OPTIONS('k' = 'v'): for this INSERT */
    rel *q = rill__sql_plan_query(&pc, st->u.insert.query);
    q = rill__sql_insert_columns(&pc, st, t, q);
    if (!q)
        return err->code ? err->code : RILL_EINVAL;
    /* the sink's physical columns; the query's types cast to them */
    int n = 0;
    for (size_t i = 0; i < t->n_cols; i++)
        n += t->cols[i].kind == RILL_SQL_COL_PHYSICAL;
    rel_col *cols = rill__arena_alloc(a, (size_t)(n + 1) * sizeof *cols);
    for (size_t i = 0, k = 0; i < t->n_cols; i++)
        if (t->cols[i].kind == RILL_SQL_COL_PHYSICAL)
            cols[k++] = (rel_col){t->cols[i].name, t->cols[i].type, NULL, false};
    rill__buf qs = {0}, ss = {0};
    for (int i = 0; i < q->n_cols; i++) {
        rill__buf_printf(&qs, "%s%s ", i ? ", " : "", q->cols[i].name);
        rill__sql_type_describe(q->cols[i].type, &qs);
    }
    for (int i = 0; i < n; i++) {
        rill__buf_printf(&ss, "%s%s ", i ? ", " : "", cols[i].name);
        rill__sql_type_describe(cols[i].type, &ss);
    }
    rill__buf_putc(&qs, '\0');
    rill__buf_putc(&ss, '\0');
    int rc = 0;
    rill__sql_rex **outs = rill__arena_alloc(a, (size_t)(n + 1) * sizeof *outs);
    for (int i = 0; i < n && rc == 0; i++)
        if (rill__sql_is_constructed(cols[i].type))
            rc = ERR(text, err, st->pos,
                     "Table '%s': writing its column '%s' of type %s is not supported yet "
                     "(rill writes columns of simple types only)",
                     t->name, cols[i].name, rill__sql_type_str(a, cols[i].type));
    if (rc == 0 && q->n_cols != n)
        rc = ERR(text, err, st->pos,
                 "Column types of query result and sink for "
                 "'default_catalog.default_database.%s' do not match.\nCause: Different number "
                 "of columns.\n\nQuery schema: [%s]\nSink schema:  [%s]",
                 t->name, (const char *)qs.data, (const char *)ss.data);
    const char *enforcer = "ERROR"; /* NULLs into NOT NULL columns: Flink's default */
    for (size_t i = 0; i < s->n_opts; i++)
        if (!strcmp(s->opts[i].key, "table.exec.sink.not-null-enforcer"))
            enforcer = s->opts[i].value;
    if (strcasecmp(enforcer, "ERROR") && strcasecmp(enforcer, "DROP"))
        return rill__err_set(err, RILL_ECONFIG,
                             "table.exec.sink.not-null-enforcer: '%s' is not ERROR or DROP",
                             enforcer);
    rill__sql_rex *drop = NULL; /* DROP: rows with a NULL in a NOT NULL column */
    for (int i = 0; rc == 0 && i < n; i++) {
        const rill__sql_ltype *from = q->cols[i].type, *to = cols[i].type;
        /* An exact number or a BOOLEAN into a VARCHAR long enough for every value's text
         * (Nexmark's q6.sql writes its BIGINT seller into a VARCHAR): Flink refuses it, as the
         * cast is explicit only; rill writes the text CAST gives, which loses nothing, and
         * says so. */
        bool as_text = to->root == RILL_SQLT_VARCHAR && text_width(from) > 0 &&
                       to->precision >= text_width(from);
        if (as_text)
            rill__sql_warn(&pc, st->pos,
                           "sink column '%s' is %s and the query gives %s: written as "
                           "CAST(... AS %s), which Flink asks to be written out",
                           cols[i].name, rill__sql_type_str(a, to), rill__sql_type_str(a, from),
                           rill__sql_type_str(a, to));
        if (!as_text && !rill__sql_cast_implicit(rill__sql_type_with_null(a, from, false), to))
            rc = ERR(text, err, st->pos,
                     "Column types of query result and sink for "
                     "'default_catalog.default_database.%s' do not match.\nCause: Incompatible "
                     "types for sink column '%s' at position %d.\n\nQuery schema: [%s]\nSink "
                     "schema:  [%s]",
                     t->name, cols[i].name, i, (const char *)qs.data, (const char *)ss.data);
        else
            outs[i] = rill__sql_cast_to(&pc, rill__sql_x_input(a, i, from),
                                        rill__sql_type_with_null(a, to, from->nullable));
        if (rc == 0 && from->nullable && !to->nullable) { /* checked at run time, as Flink */
            if (!strcasecmp(enforcer, "DROP")) {
                rill__sql_rex *nn =
                    rill__sql_x_call(a, RILL_SQLX_IS_NOT_NULL,
                                     rill__sql_type_of(a, RILL_SQLT_BOOLEAN, false), 1, &outs[i]);
                rill__sql_rex *both[] = {drop, nn};
                drop = drop ? rill__sql_x_call(a, RILL_SQLX_AND, nn->type, 2, both) : nn;
            } else {
                const rill__sql_ltype *vt =
                    rill__sql_type_make(a, RILL_SQLT_VARCHAR, RILL_SQL_MAX_LENGTH, 0, false);
                rill__sql_rex *args[] = {
                    outs[i], rill__sql_x_string(a, vt, cols[i].name, strlen(cols[i].name))};
                rill__sql_rex *x = rill__sql_x_call(
                    a, RILL_SQLX_FUNC, rill__sql_type_with_null(a, outs[i]->type, false), 2, args);
                rill__sql_fn_call *call = rill__arena_alloc(a, sizeof *call);
                *call = (rill__sql_fn_call){.name = "$NOT_NULL", .n_args = 2, .args = x->args};
                x->fn = &rill__sql_fn_not_null;
                x->call = call;
                x->pos = st->pos;
                outs[i] = x;
            }
        }
    }
    rill__buf_free(&qs);
    rill__buf_free(&ss);
    if (rc)
        return rc;
    rel *c = rill__arena_alloc(a, sizeof *c);
    memset(c, 0, sizeof *c);
    c->kind = REL_CALC;
    c->input = q;
    c->n_cols = n;
    c->cols = cols;
    c->outs = outs;
    c->filter = drop;
    c->named = true;
    c->updates = q->updates;
    if (s->dry) { /* the job's sources are not built yet: what this reads of them */
        rill__sql_prune_collect(&pc, c);
        return 0;
    }
    if (rill__sql_prune_apply(&pc, c))
        return err->code ? err->code : RILL_EINVAL;
    rill_stream *in = rill__sql_build(&pc, c);
    if (!in)
        return err->code ? err->code : RILL_EINVAL;
    if ((rc = sink_into(&pc, t, c, in, st->pos)) == 0)
        s->n_sinks++;
    return rc;
}

/* A bare SELECT: its rows printed as Flink's print connector prints them. */
static int select_print(rill__sql_session *s, const rill__sql_stmt *st, const char *text,
                        rill__arena *a, rill__err *err)
{
    plan_ctx pc = {.s = s, .a = a, .text = text, .err = err};
    pc.uid_prefix = uid_prefix(s, a, "select");
    rel *q = rill__sql_plan_query(&pc, st->u.query);
    if (q && s->dry) {
        rill__sql_prune_collect(&pc, q);
        return 0;
    }
    if (q && rill__sql_prune_apply(&pc, q))
        return err->code ? err->code : RILL_EINVAL;
    rill_stream *in = q ? rill__sql_build(&pc, q) : NULL;
    if (!in)
        return err->code ? err->code : RILL_EINVAL;
    if (s->rows.row) { /* `rill sql`: the rows to the client, the header first */
        const char **names = rill__xcalloc((size_t)q->n_cols + 1, sizeof *names);
        int *widths = rill__xcalloc((size_t)q->n_cols + 1, sizeof *widths);
        for (int i = 0; i < q->n_cols; i++) {
            names[i] = q->cols[i].name;
            widths[i] = rill__sql_display_width(q->cols[i].type);
        }
        rill_stream *out = rill__sql_rows_sink(in, q->n_cols, q->cols, &s->rows);
        if (out && s->rows.begin)
            s->rows.begin(s->rows.arg, q->n_cols, names, widths);
        free(names);
        free(widths);
        if (!out)
            return RILL_ENOMEM;
    } else if (!rill__sql_print_sink(in, q->n_cols, q->cols, NULL)) {
        return RILL_ENOMEM;
    }
    s->n_sinks++;
    return 0;
}

/* ---- statements --------------------------------------------------------------------------------
 */

static int run_stmt(rill__sql_session *s, rill__sql_ast *ast, rill__arena *plan_arena, bool *kept,
                    rill__err *err)
{
    const rill__sql_stmt *st = ast->stmt;
    const char *text = ast->text;
    *kept = false;
    if (s->dry) { /* planning only: the catalog, the options the planner reads, the queries */
        switch (st->kind) {
        case RILL_SQL_S_SET:
            if (st->u.set.key)
                set_option(s, st->u.set.key, st->u.set.value);
            return 0;
        case RILL_SQL_S_CREATE_TABLE:
        case RILL_SQL_S_CREATE_VIEW:
        case RILL_SQL_S_CREATE_FUNCTION:
        case RILL_SQL_S_DROP:
        case RILL_SQL_S_INSERT:
        case RILL_SQL_S_QUERY:
        case RILL_SQL_S_STATEMENT_SET:
        case RILL_SQL_S_EXECUTE:
            break;
        default:
            return 0;
        }
    }
    switch (st->kind) {
    case RILL_SQL_S_SET:
        if (!st->u.set.key) { /* the options set, by key (as Flink lists them) */
            static const char *const head[] = {"key", "value"};
            sql_option *sorted = rill__xcalloc(s->n_opts + 1, sizeof *sorted);
            if (s->n_opts)
                memcpy(sorted, s->opts, s->n_opts * sizeof *sorted);
            qsort(sorted, s->n_opts, sizeof *sorted, cmp_opt);
            const char **cells = rill__xcalloc(2 * s->n_opts + 1, sizeof *cells);
            for (size_t i = 0; i < s->n_opts; i++)
                cells[2 * i] = sorted[i].key, cells[2 * i + 1] = sorted[i].value;
            tableau(s->out, 2, head, (int)s->n_opts, cells);
            free(cells);
            free(sorted);
            return 0;
        } else {
            int rc = client_option(st->u.set.key, st->u.set.value, err);
            if (rc == 0 && (rc = check_flink_key(st->u.set.key, st->u.set.value, err)) != 0) {
                char msg[RILL_ERRMSG_MAX];
                memcpy(msg, err->msg, sizeof msg);
                return ERR(text, err, st->pos, "%s", msg);
            }
            if (rc == 0)
                rc = apply_option(s, st->u.set.key, st->u.set.value, err);
            if (rc == 0)
                set_option(s, st->u.set.key, st->u.set.value);
            return rc;
        }
    case RILL_SQL_S_RESET:
        /* one job (rill run): the options already set on its env cannot be taken back */
        if (!s->per_statement)
            return ERR(text, err, st->pos,
                       "RESET is not supported by `rill run`, which runs the script as one "
                       "job (`rill sql -f FILE` runs it statement by statement)");
        reset_option(s, st->u.set.key);
        return 0;
    case RILL_SQL_S_CREATE_TABLE: {
        int rc = rill__sql_catalog_create_table(s, ast, err);
        *kept = rc == 0;
        return rc;
    }
    case RILL_SQL_S_CREATE_VIEW: {
        int rc = rill__sql_catalog_create_view(s, ast, err);
        *kept = rc == 0;
        return rc;
    }
    case RILL_SQL_S_CREATE_FUNCTION: {
        int rc = rill__sql_catalog_create_function(s, ast, err);
        *kept = rc == 0;
        return rc;
    }
    case RILL_SQL_S_DROP:
        return rill__sql_catalog_drop(s, st, text, err);
    case RILL_SQL_S_SHOW:
        return show(s, st, text, err);
    case RILL_SQL_S_DESCRIBE:
        return describe(s, st, text, err);
    case RILL_SQL_S_INSERT:
        return insert(s, st, text, plan_arena, err);
    case RILL_SQL_S_QUERY:
        return select_print(s, st, text, plan_arena, err);
    case RILL_SQL_S_STATEMENT_SET:
        for (size_t i = 0; i < st->u.statement_set.n_inserts; i++) {
            int rc = insert(s, st->u.statement_set.inserts[i], text, plan_arena, err);
            if (rc)
                return rc;
        }
        return 0;
    case RILL_SQL_S_EXECUTE:
        if (st->u.inner->kind == RILL_SQL_S_INSERT)
            return insert(s, st->u.inner, text, plan_arena, err);
        if (st->u.inner->kind == RILL_SQL_S_QUERY)
            return select_print(s, st->u.inner, text, plan_arena, err);
        return ERR(text, err, st->pos, "EXECUTE takes an INSERT or a SELECT");
    case RILL_SQL_S_EXPLAIN: {
        plan_ctx pc = {.s = s, .a = plan_arena, .text = text, .err = err};
        return rill__sql_explain(&pc, st, s->out);
    }
    case RILL_SQL_S_USE:
        if (strcmp(st->u.use.name.parts[st->u.use.name.n_parts - 1].text,
                   st->u.use.catalog ? "default_catalog" : "default_database"))
            return ERR(text, err, st->u.use.name.pos, "%s '%s' does not exist",
                       st->u.use.catalog ? "Catalog" : "Database",
                       st->u.use.name.parts[st->u.use.name.n_parts - 1].text);
        return 0;
    case RILL_SQL_S_HELP:
    case RILL_SQL_S_CLEAR:
    case RILL_SQL_S_QUIT:
        return 0;
    default:
        return ERR(text, err, st->pos, "This statement is not supported in scripts yet");
    }
}

/* The dry run of a script (one job): its statements planned, not built, into a session of
 * their own, so that s knows which columns of each table the job reads before the first
 * source is built. A script the dry run cannot plan to its end prunes nothing (the real run
 * then reports the error where it is). */
static void dry_run(rill__sql_session *s, const char *text, size_t len)
{
    rill__sql_session d = {.out = stdout, .dry = true};
    rill__arena arena;
    rill__arena_init(&arena, 65536);
    rill__err err = {0};
    size_t off = 0;
    int rc = 0;
    while (rc == 0) {
        size_t start, n;
        if ((rc = rill__sql_split(text, len, &off, &start, &n, &err)) != 0 || n == 0)
            break;
        rill__sql_ast *ast = NULL;
        if ((rc = rill__sql_parse(text, start, n, &ast, &err)) != 0)
            break;
        bool kept = false;
        rc = run_stmt(&d, ast, &arena, &kept, &err);
        if (!kept)
            rill__sql_ast_free(ast);
    }
    /* the needs move to s, by table name and creation order */
    s->needs = d.needs, s->n_needs = d.n_needs, s->cap_needs = d.cap_needs;
    s->needs_failed = rc != 0;
    d.needs = NULL, d.n_needs = d.cap_needs = 0;
    for (size_t i = 0; i < d.n_opts; i++) {
        free((char *)d.opts[i].key);
        free((char *)d.opts[i].value);
    }
    free(d.opts);
    rill__sql_catalog_free(&d);
    rill__arena_close(&arena);
}

int rill__sql_run_script(rill_env *env, const char *text, size_t len, const char *path,
                         rill__err *err)
{
    rill__sql_session s = {.env = env, .out = stdout};
    rill__arena plan_arena;
    rill__arena_init(&plan_arena, 65536);
    size_t off = 0;
    int rc = 0;
    dry_run(&s, text, len);
    env->ckpt_private = true; /* SET an interval alone: Flink's in-memory checkpoint storage */
    while (rc == 0) {
        size_t start, n;
        if ((rc = rill__sql_split(text, len, &off, &start, &n, err)) != 0 || n == 0)
            break;
        rill__sql_ast *ast = NULL;
        if ((rc = rill__sql_parse(text, start, n, &ast, err)) != 0)
            break;
        bool kept = false;
        rc = run_stmt(&s, ast, &plan_arena, &kept, err);
        if (!kept)
            rill__sql_ast_free(ast);
    }
    if (rc == 0 && s.n_sinks > 0)
        rc = rill_env_execute(env);
    else if (rc == 0 && env->err.code)
        rc = env->err.code;
    if (rc && !err->msg[0] && env->err.code)
        rill__err_set(err, rc, "%s", rill_errmsg(env));
    if (rc && path && err->msg[0]) { /* name the script */
        char msg[RILL_ERRMSG_MAX];
        memcpy(msg, err->msg, sizeof msg);
        rill__err_set(err, rc, "%s: %.*s", path,
                      (int)RILL_MAX(0, (long)(sizeof msg - strlen(path)) - 3), msg);
    }
    for (size_t i = 0; i < s.n_opts; i++) {
        free((char *)s.opts[i].key);
        free((char *)s.opts[i].value);
    }
    free(s.opts);
    rill__sql_catalog_free(&s);
    rill__arena_close(&plan_arena);
    return rc;
}

/* ---- a session: statements run as they come ---------------------------------------------------
 */

rill__sql_session *rill__sql_session_new(FILE *out, rill__sql_env_fn make_env, void *env_arg,
                                         const rill__sql_rows_cb *rows)
{
    rill__sql_session *s = rill__xcalloc(1, sizeof *s);
    s->out = out;
    s->per_statement = true;
    s->make_env = make_env;
    s->env_arg = env_arg;
    if (rows)
        s->rows = *rows;
    return s;
}

void rill__sql_session_free(rill__sql_session *s)
{
    if (!s)
        return;
    reset_option(s, NULL);
    free(s->opts);
    rill__sql_catalog_free(s);
    free(s);
}

/* The name of the job a statement runs as: Flink's ("insert-into_<table>", "collect"). */
static char *job_name(const rill__sql_stmt *st)
{
    if (st->kind == RILL_SQL_S_EXECUTE)
        st = st->u.inner;
    if (st->kind == RILL_SQL_S_STATEMENT_SET && st->u.statement_set.n_inserts > 0)
        st = st->u.statement_set.inserts[0];
    if (st->kind == RILL_SQL_S_INSERT) {
        const rill__sql_name *tn = &st->u.insert.target;
        return rill__xasprintf("insert-into_default_catalog.default_database.%s",
                               tn->parts[tn->n_parts - 1].text);
    }
    return rill__xstrdup("collect");
}

static rill__sql_done done_of(const rill__sql_stmt *st)
{
    switch (st->kind) {
    case RILL_SQL_S_QUERY:
        return RILL_SQL_DONE_QUERY;
    case RILL_SQL_S_INSERT:
    case RILL_SQL_S_STATEMENT_SET:
        return RILL_SQL_DONE_INSERT;
    case RILL_SQL_S_EXECUTE:
        return st->u.inner->kind == RILL_SQL_S_QUERY ? RILL_SQL_DONE_QUERY : RILL_SQL_DONE_INSERT;
    case RILL_SQL_S_SET:
        return st->u.set.key ? RILL_SQL_DONE_OK : RILL_SQL_DONE_PRINTED;
    case RILL_SQL_S_SHOW:
    case RILL_SQL_S_DESCRIBE:
    case RILL_SQL_S_EXPLAIN:
        return RILL_SQL_DONE_PRINTED;
    case RILL_SQL_S_HELP:
        return RILL_SQL_DONE_HELP;
    case RILL_SQL_S_CLEAR:
        return RILL_SQL_DONE_CLEAR;
    case RILL_SQL_S_QUIT:
        return RILL_SQL_DONE_QUIT;
    default:
        return RILL_SQL_DONE_OK;
    }
}

int rill__sql_session_exec(rill__sql_session *s, const char *text, size_t start, size_t len,
                           rill__sql_done *done, rill__err *err)
{
    *done = RILL_SQL_DONE_OK;
    rill__sql_ast *ast = NULL;
    int rc = rill__sql_parse(text, start, len, &ast, err);
    if (rc)
        return rc;
    const rill__sql_stmt *st = ast->stmt;
    *done = done_of(st);
    if (*done >= RILL_SQL_DONE_HELP) { /* the client's own */
        rill__sql_ast_free(ast);
        return 0;
    }
    /* every statement gets the env a job would run on: the options as they are now are what
     * EXPLAIN shows and what SET checks a value against */
    char *name = job_name(st);
    s->env = s->make_env(s->env_arg, name);
    rill__sql_job_caches(s); /* a new job: no source or sub-plan is built into it yet */
    free(name);
    s->n_sinks = 0;
    s->n_group_aggs = 0;
    s->n_joins = 0;
    for (size_t i = 0; i < s->n_opts && rc == 0; i++)
        rc = apply_option(s, s->opts[i].key, s->opts[i].value, err);
    s->env->ckpt_private = true; /* SET an interval alone: Flink's in-memory checkpoints */
    rill__arena plan_arena;
    rill__arena_init(&plan_arena, 65536);
    bool kept = false;
    rill__sql_needs_reset(s);
    if (rc == 0 && (*done == RILL_SQL_DONE_QUERY || *done == RILL_SQL_DONE_INSERT)) {
        /* the statement's plan first, for the columns its sources produce (a statement set
         * reads a table shared by its INSERTs) */
        rill__err dry_err = {0};
        int n_created = s->n_created;
        s->dry = true;
        s->needs_failed = run_stmt(s, ast, &plan_arena, &kept, &dry_err) != 0;
        s->dry = false;
        s->n_created = n_created;
    }
    if (rc == 0)
        rc = run_stmt(s, ast, &plan_arena, &kept, err);
    if (rc == 0 && s->n_sinks > 0)
        rc = rill_env_execute(s->env);
    else if (rc == 0 && s->env->err.code)
        rc = s->env->err.code;
    if (rc && !err->msg[0] && s->env->err.code)
        rill__err_set(err, rc, "%s", rill_errmsg(s->env));
    else if (rc && !err->msg[0])
        rill__err_set(err, rc, "%s", rill_strerror(rc));
    rill_env_free(s->env);
    s->env = NULL;
    rill__sql_needs_reset(s);
    s->n_scans = 0;
    rill__sql_reuse_reset(s);
    s->scan_env = NULL;
    rill__arena_close(&plan_arena);
    if (!kept)
        rill__sql_ast_free(ast);
    return rc;
}
