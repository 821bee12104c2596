/*
 * table_options.c - sql layer: the WITH options of filesystem, print and blackhole tables as
 * Flink's factories check them (an unknown key is refused, listing every one, with Flink's
 * "Unsupported options found for '<connector>'"), and the filesystem source's format options
 * (Flink's csv.* and json.*) for the file source.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sql_int.h"

/* Keys every table has, and the legacy aliases rill accepts. */
static const char *const common_keys[] = {"connector", "connector.type", NULL};

static const char *const print_keys[] = {"print-identifier", "standard-error", "sink.parallelism",
                                         NULL};

/* The filesystem connector's own keys and its formats' (FileSystemTableFactory, the csv and
 * json format factories); what rill does not do with one is said where it is read. */
static const char *const fs_keys[] = {
    "path", "connector.path", "format", "format.type", "partition.default-name",
    "sink.rolling-policy.file-size", "sink.rolling-policy.rollover-interval",
    "sink.rolling-policy.inactivity-interval", "sink.rolling-policy.check-interval",
    "sink.shuffle-by-partition.enable", "sink.partition-commit.trigger",
    "sink.partition-commit.delay", "sink.partition-commit.watermark-time-zone",
    "sink.partition-commit.policy.kind", "sink.partition-commit.policy.class",
    "sink.partition-commit.success-file.name", "partition.time-extractor.kind",
    "partition.time-extractor.class", "partition.time-extractor.timestamp-pattern",
    "partition.time-extractor.timestamp-formatter", "auto-compaction", "compaction.file-size",
    "sink.parallelism", "sink.part-prefix", "source.monitor-interval", "lookup.join.cache.ttl",
    "csv.field-delimiter", "csv.quote-character", "csv.disable-quote-character",
    "csv.allow-comments", "csv.ignore-parse-errors", "csv.array-element-delimiter",
    "csv.escape-character", "csv.null-literal", "csv.write-bigdecimal-in-scientific-notation",
    "json.fail-on-missing-field", "json.ignore-parse-errors", "json.timestamp-format.standard",
    "json.map-null-key.mode", "json.map-null-key.literal", "json.encode.decimal-as-plain-number",
    "json.encode.ignore-null-fields", "json.decode.json-parser.enabled", NULL};

static int print_options(plan_ctx *pc, const sql_table *t);

static bool listed(const char *const *keys, const char *k)
{
    for (int i = 0; keys && keys[i]; i++)
        if (!strcmp(keys[i], k))
            return true;
    return false;
}

int rill__sql_check_table_options(plan_ctx *pc, const sql_table *t, const char *conn)
{
    const char *const *keys = NULL; /* blackhole: none of its own */
    if (!strcmp(conn, "filesystem"))
        keys = fs_keys;
    else if (!strcmp(conn, "print"))
        keys = print_keys;
    else if (strcmp(conn, "blackhole"))
        return 0; /* the other connectors check their own */
    rill__buf bad = {0};
    for (size_t i = 0; i < t->n_options; i++) {
        const char *k = t->options[i].key;
        if (!listed(common_keys, k) && !listed(keys, k))
            rill__buf_printf(&bad, "%s%s", bad.len ? ", " : "", k);
    }
    if (!bad.len)
        return !strcmp(conn, "print") ? print_options(pc, t) : 0;
    rill__buf ok = {0};
    if (keys == fs_keys) { /* too many for one message */
        rill__buf_printf(&ok, "see docs/sql.md (Connectors)");
    } else {
        rill__buf_printf(&ok, "connector");
        for (int i = 0; keys && keys[i]; i++)
            rill__buf_printf(&ok, ", %s", keys[i]);
    }
    rill__buf_putc(&bad, '\0');
    rill__buf_putc(&ok, '\0');
    int rc = rill__err_set(pc->err, RILL_ECONFIG,
                           "Unsupported options found for '%s' (table '%s'): %s. Supported "
                           "options: %s",
                           conn, t->name, (const char *)bad.data, (const char *)ok.data);
    rill__buf_free(&bad);
    rill__buf_free(&ok);
    return rc;
}

/* print's own options: standard-error (to stderr) is not there yet. */
static int print_options(plan_ctx *pc, const sql_table *t)
{
    bool err_out = false;
    const sql_option *o = rill__sql_table_option(t, "standard-error");
    if (o && strcasecmp(o->value, "false"))
        err_out = true;
    if (err_out)
        return rill__err_set(pc->err, RILL_ECONFIG, "table '%s': option 'standard-error' = '%s' "
                             "is not supported yet (rows print to stdout)", t->name, o->value);
    return 0;
}

/* A boolean option: false when absent. -1 (err set) when it is not true or false. */
static int bool_option(plan_ctx *pc, const sql_table *t, const char *key, bool *out)
{
    const sql_option *o = rill__sql_table_option(t, key);
    *out = false;
    if (!o)
        return 0;
    if (!strcasecmp(o->value, "true") || !strcasecmp(o->value, "false")) {
        *out = !strcasecmp(o->value, "true");
        return 0;
    }
    rill__err_set(pc->err, RILL_ECONFIG,
                  "table '%s': could not parse value '%s' for key '%s' (true or false)", t->name,
                  o->value, key);
    return -1;
}

/* A one-character option (Flink's message for another length). */
static int char_option(plan_ctx *pc, const sql_table *t, const char *key, char *out)
{
    const sql_option *o = rill__sql_table_option(t, key);
    if (!o)
        return 0;
    if (strlen(o->value) != 1) {
        rill__err_set(pc->err, RILL_ECONFIG,
                      "table '%s': Option '%s' must be a string with single character, but was: "
                      "%s",
                      t->name, key, o->value);
        return -1;
    }
    *out = o->value[0];
    return 0;
}

int rill__sql_fs_source_format(plan_ctx *pc, const sql_table *t, rill_file_opts *fo,
                               rill__decode_opts *dopts, bool *skip_bad)
{
    static const char *const not_yet[] = {
        "source.monitor-interval", "csv.disable-quote-character", "csv.escape-character",
        "json.timestamp-format.standard",
        "json.decode.json-parser.enabled", NULL};
    memset(dopts, 0, sizeof *dopts);
    *skip_bad = false;
    for (int i = 0; not_yet[i]; i++)
        if (rill__sql_table_option(t, not_yet[i])) {
            rill__err_set(pc->err, RILL_ECONFIG,
                          "table '%s': option '%s' is not supported by the filesystem source yet",
                          t->name, not_yet[i]);
            return -1;
        }
    if (fo->format == RILL_FMT_CSV) {
        char delim = ',', quote = '"';
        if (char_option(pc, t, "csv.field-delimiter", &delim) ||
            char_option(pc, t, "csv.quote-character", &quote) ||
            bool_option(pc, t, "csv.allow-comments", &dopts->allow_comments) ||
            bool_option(pc, t, "csv.ignore-parse-errors", skip_bad))
            return -1;
        if (delim == quote || delim == '\n' || delim == '\r' || quote == '\n' || quote == '\r') {
            rill__err_set(pc->err, RILL_ECONFIG,
                          "table '%s': the field delimiter and the quote character must differ "
                          "and not be a line break",
                          t->name);
            return -1;
        }
        fo->delimiter = delim;
        dopts->quote = quote;
        const sql_option *nl = rill__sql_table_option(t, "csv.null-literal");
        dopts->null_literal = nl ? nl->value : NULL;
        const sql_option *ad = rill__sql_table_option(t, "csv.array-element-delimiter");
        if (ad && !*ad->value) {
            rill__err_set(pc->err, RILL_ECONFIG,
                          "table '%s': option 'csv.array-element-delimiter' is empty", t->name);
            return -1;
        }
        dopts->array_delim = ad ? ad->value : NULL;
        /* Flink's CSV reader, ignoring parse errors, gives the columns a short line lacks
         * NULL (it checks the arity only when errors are not ignored) */
        dopts->short_rows_null = *skip_bad;
        return 0;
    }
    bool fail_missing;
    if (bool_option(pc, t, "json.fail-on-missing-field", &fail_missing) ||
        bool_option(pc, t, "json.ignore-parse-errors", skip_bad))
        return -1;
    if (fail_missing && *skip_bad) {
        rill__err_set(pc->err, RILL_ECONFIG,
                      "table '%s': fail-on-missing-field and ignore-parse-errors shouldn't both "
                      "be true.",
                      t->name);
        return -1;
    }
    dopts->fail_on_missing = fail_missing;
    return 0;
}
