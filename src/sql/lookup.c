/*
 * lookup.c - sql layer: lookup joins (Flink's processing-time temporal join against a lookup
 * table: `JOIN t FOR SYSTEM_TIME AS OF a.proctime`, Nexmark q13). The table is a bounded
 * filesystem table; each subtask of the operator reads it whole when it opens (Flink's
 * FileSystemLookupFunction), keeps its rows by the join keys' values, and reads it again once
 * 'lookup.join.cache.ttl' has passed (60 min by default). Each row of the input is joined with
 * the table's rows of its keys as they are when it comes: the join keeps no state of its own
 * and is not checkpointed (the table is read again on a restart), its output rows keep their
 * input row's kind.
 */
#include <stdlib.h>
#include <string.h>

#include "connectors/connectors.h"
#include "sql_int.h"

typedef struct lookup_cfg {
    rill__arena arena; /* the expressions, names */
    char *text;        /* the script, for errors' positions */
    const char *table;
    bool left;  /* LEFT JOIN: a row without a match is padded with NULLs */
    int n_keys; /* lkeys over the input, rkeys over the table, of one type each */
    rill__sql_rex **lkeys, **rkeys;
    rill__sql_rex *cond; /* over a pair: the input's columns, then the table's (or NULL) */
    int n_in, n_table;   /* columns */
    rill_schema *table_schema, *key_schema, *pair_schema;
    const rill__source_ops *src_ops;
    void *src_cfg; /* the table's file source */
    int64_t ttl_ms;
} lookup_cfg;

/* A row of the table: its keys' encoding and its own (offsets into the operator's bytes). */
typedef struct entry {
    size_t key_off, key_len, row_off;
} entry;

typedef struct lookup_op {
    rill__operator base;
    const lookup_cfg *cfg;
    rill__err err;
    rill__sql_prog *lprog, *rprog, *cprog; /* the input's keys, the table's, the condition */
    rill_batch *keys, *row, *pairs, *verdicts;
    rill_schema *verdict_schema;
    rill__buf bytes, enc;
    entry *entries; /* sorted by their keys' bytes */
    size_t n_entries, cap_entries;
    int64_t loaded_ms;
    bool loaded;
} lookup_op;

static int entry_cmp_bytes(const rill__buf *b, const entry *e, const void *key, size_t len)
{
    size_t n = e->key_len < len ? e->key_len : len;
    int c = memcmp(b->data + e->key_off, key, n);
    return c ? c : (e->key_len > len) - (e->key_len < len);
}

static const rill__buf *sort_bytes; /* qsort's comparator has no argument: one sort at a time */

static int entry_cmp(const void *a, const void *b)
{
    const entry *y = b;
    return entry_cmp_bytes(sort_bytes, a, sort_bytes->data + y->key_off, y->key_len);
}

/* Reads the whole table into the operator's entries (again). */
static int load(lookup_op *lo)
{
    const lookup_cfg *c = lo->cfg;
    rill__operator *op = &lo->base;
    lo->n_entries = 0;
    lo->bytes.len = 0;
    rill__conn_init ci = {.uid = op->uid,
                          .subtask = 0,
                          .parallelism = 1,
                          .batch_size = op->batch_size,
                          .err = op->task_err};
    rill__source *src = NULL;
    int rc = c->src_ops->create(c->src_cfg, c->table_schema, &ci, &src);
    if (rc < 0)
        return rill__operator_fail(op, rc, "lookup table '%s': cannot read it", c->table);
    rill_batch *b = rill__batch_new(c->table_schema, op->batch_size);
    rill_batch *k = rill__batch_new(c->key_schema, op->batch_size);
    for (;;) {
        rill__batch_clear(b);
        int64_t wait_ns = 0;
        rc = src->ops->poll(src, b, &wait_ns);
        if (rc < 0 && rc != RILL_DONE && rc != RILL_AGAIN)
            break;
        int prc = 0;
        if (b->n_rows) {
            rill__batch_clear(k);
            prc = rill__sql_prog_run(lo->rprog, b, k, &lo->err);
        }
        for (uint32_t i = 0; prc == 0 && i < b->n_rows; i++) {
            rill_row kr = rill__batch_row(k, i), row = rill__batch_row(b, i);
            bool null_key = false;
            for (int f = 0; f < c->n_keys; f++)
                null_key |= rill_row_is_null(&kr, f);
            if (null_key) /* equals nothing */
                continue;
            rill__grow((void **)&lo->entries, &lo->cap_entries, lo->n_entries + 1,
                       sizeof *lo->entries);
            entry *e = &lo->entries[lo->n_entries++];
            e->key_off = lo->bytes.len;
            rill__row_encode(&kr, &lo->bytes);
            e->key_len = lo->bytes.len - e->key_off;
            e->row_off = lo->bytes.len;
            rill__row_encode(&row, &lo->bytes);
        }
        if (prc) {
            rc = rill__operator_fail(op, prc, "lookup table '%s': %s", c->table, lo->err.msg);
            break;
        }
        if (rc == RILL_DONE) {
            rc = 0;
            break;
        }
    }
    rill__batch_unref(b);
    rill__batch_unref(k);
    src->ops->destroy(src);
    if (rc < 0)
        return rc;
    sort_bytes = &lo->bytes;
    qsort(lo->entries, lo->n_entries, sizeof *lo->entries, entry_cmp);
    lo->loaded = true;
    lo->loaded_ms = rill_ctx_now(&op->ctx);
    return 0;
}

/* The first entry whose keys are key (len bytes), or n_entries. */
static size_t find(const lookup_op *lo, const void *key, size_t len)
{
    size_t a = 0, b = lo->n_entries;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (entry_cmp_bytes(&lo->bytes, &lo->entries[m], key, len) < 0)
            a = m + 1;
        else
            b = m;
    }
    return a;
}

static int lookup_open(rill__operator *op)
{
    lookup_op *lo = (lookup_op *)op;
    const lookup_cfg *c = lo->cfg;
    int rc = rill__sql_prog_new(NULL, c->n_keys, c->lkeys, c->text, &lo->lprog, &lo->err);
    if (rc == 0)
        rc = rill__sql_prog_new(NULL, c->n_keys, c->rkeys, c->text, &lo->rprog, &lo->err);
    if (rc == 0 && c->cond) {
        rill__sql_rex *outs[1] = {c->cond};
        rc = rill__sql_prog_new(NULL, 1, outs, c->text, &lo->cprog, &lo->err);
    }
    if (rc)
        return rill__operator_fail(op, rc, "%s", lo->err.msg);
    lo->keys = rill__batch_new(c->key_schema, op->batch_size);
    lo->row = rill__batch_new(c->table_schema, 1);
    if (c->cond) {
        lo->verdict_schema = rill_schema_new();
        rill_schema_add_typed(lo->verdict_schema, "c0", (rill_type_info){.type = RILL_T_BOOL},
                              true);
        lo->pairs = rill__batch_new(c->pair_schema, 1);
        lo->verdicts = rill__batch_new(lo->verdict_schema, 1);
    }
    rc = load(lo);
    return rc ? rc : rill__operator_open_hook(op);
}

/* Whether the pair of in and the table's row t meets the condition. */
static int meets(lookup_op *lo, const rill_row *in, const rill_row *t, bool *yes)
{
    const lookup_cfg *c = lo->cfg;
    *yes = true;
    if (!c->cond)
        return 0;
    rill__batch_clear(lo->pairs);
    rill__batch_clear(lo->verdicts);
    rill_row p = rill__batch_append(lo->pairs);
    int rc = rill__row_copy_fields(&p, 0, in, 0, c->n_in);
    if (rc == 0)
        rc = rill__row_copy_fields(&p, c->n_in, t, 0, c->n_table);
    if (rc == 0)
        rc = rill__sql_prog_run(lo->cprog, lo->pairs, lo->verdicts, &lo->err);
    if (rc)
        return rill__operator_fail(&lo->base, rc, "%s", lo->err.msg);
    rill_row v = rill__batch_row(lo->verdicts, 0);
    *yes = !rill_row_is_null(&v, 0) && v.v[0] != 0;
    return 0;
}

/* Emits in joined with t (NULL: padded), of in's kind. */
static int emit(lookup_op *lo, const rill_row *in, const rill_row *t)
{
    const lookup_cfg *c = lo->cfg;
    rill_row out;
    int rc = rill_emit(&lo->base.ctx, &out);
    if (rc == 0)
        rc = rill__row_copy_fields(&out, 0, in, 0, c->n_in);
    if (rc == 0 && t)
        rc = rill__row_copy_fields(&out, c->n_in, t, 0, c->n_table);
    if (rc == 0)
        rc = rill_row_set_kind(&out, rill_row_kind(in));
    return rc;
}

static int lookup_process(rill__operator *op, rill_batch *b)
{
    lookup_op *lo = (lookup_op *)op;
    const lookup_cfg *c = lo->cfg;
    int rc = 0;
    if (c->ttl_ms > 0 && rill_ctx_now(&op->ctx) - lo->loaded_ms >= c->ttl_ms)
        rc = load(lo); /* the cache has expired: the table as it is now */
    if (rc == 0 && b->n_rows > lo->keys->cap_rows) {
        rill__batch_unref(lo->keys);
        lo->keys = rill__batch_new(c->key_schema, b->n_rows);
    }
    if (rc == 0) {
        rill__batch_clear(lo->keys);
        if ((rc = rill__sql_prog_run(lo->lprog, b, lo->keys, &lo->err)) != 0)
            rc = rill__operator_fail(op, rc, "%s", lo->err.msg);
    }
    op->ctx.can_emit = true;
    for (uint32_t i = 0; rc == 0 && i < b->n_rows; i++) {
        rill_row in = rill__batch_row(b, i), k = rill__batch_row(lo->keys, i);
        bool null_key = false, matched = false;
        for (int f = 0; f < c->n_keys; f++)
            null_key |= rill_row_is_null(&k, f);
        if (!null_key) {
            lo->enc.len = 0;
            rill__row_encode(&k, &lo->enc);
            for (size_t e = find(lo, lo->enc.data, lo->enc.len);
                 rc == 0 && e < lo->n_entries &&
                 !entry_cmp_bytes(&lo->bytes, &lo->entries[e], lo->enc.data, lo->enc.len);
                 e++) {
                rill__batch_clear(lo->row);
                rill_row t = rill__batch_append(lo->row);
                bool yes;
                if ((rc = rill__row_decode(&t, lo->bytes.data + lo->entries[e].row_off)) == 0 &&
                    (rc = meets(lo, &in, &t, &yes)) == 0 && yes) {
                    matched = true;
                    rc = emit(lo, &in, &t);
                }
            }
        }
        if (rc == 0 && !matched && c->left)
            rc = emit(lo, &in, NULL);
    }
    op->ctx.can_emit = false;
    rill__batch_unref(b);
    if (rc < 0)
        return rc;
    return rill__operator_flush(op);
}

static void lookup_destroy(rill__operator *op)
{
    lookup_op *lo = (lookup_op *)op;
    rill__sql_prog_free(lo->lprog);
    rill__sql_prog_free(lo->rprog);
    rill__sql_prog_free(lo->cprog);
    rill__batch_unref(lo->keys);
    rill__batch_unref(lo->row);
    rill__batch_unref(lo->pairs);
    rill__batch_unref(lo->verdicts);
    rill_schema_free(lo->verdict_schema);
    rill__buf_free(&lo->bytes);
    rill__buf_free(&lo->enc);
    free(lo->entries);
    rill__operator_fini(op);
    free(lo);
}

static const rill__operator_ops lookup_ops = {
    .kind = "sql-lookup-join",
    .open = lookup_open,
    .process = lookup_process,
    .end_input = rill__operator_end_outputs,
    .close = rill__operator_close,
    .destroy = lookup_destroy,
};

static rill__operator *lookup_create(const rill__op_init *init, const rill__key_spec *key,
                                     const rill__state_backend_ops *backend, void *cfg)
{
    (void)key, (void)backend;
    lookup_op *lo = rill__xcalloc(1, sizeof *lo);
    rill__operator_init(&lo->base, &lookup_ops, init);
    lo->cfg = cfg;
    return &lo->base;
}

static void lookup_cfg_free(void *p)
{
    lookup_cfg *c = p;
    if (!c)
        return;
    if (c->src_cfg)
        c->src_ops->cfg_free(c->src_cfg);
    rill_schema_free(c->table_schema);
    rill_schema_free(c->key_schema);
    rill_schema_free(c->pair_schema);
    rill__arena_close(&c->arena);
    free(c->text);
    free(c);
}

static const rill__op_factory lookup_factory = {
    .kind = "sql-lookup-join",
    .create = lookup_create,
    .cfg_free = lookup_cfg_free,
};

rill_stream *rill__sql_build_lookup(plan_ctx *pc, rel *r)
{
    const rel *in = r->inputs[0], *tr = r->inputs[1];
    const sql_table *t = tr->table;
    rill_stream *s = rill__sql_build(pc, (rel *)in);
    if (!s)
        return NULL;
    lookup_cfg *c = rill__xcalloc(1, sizeof *c);
    rill__arena_init(&c->arena, 4096);
    c->text = pc->text ? rill__xstrdup(pc->text) : NULL;
    c->table = rill__arena_strdup(&c->arena, t->name);
    c->left = r->join_kind == RILL_SQL_J_LEFT;
    c->n_keys = r->n_jkeys;
    c->n_in = in->n_cols;
    c->n_table = tr->n_cols;
    c->lkeys = rill__arena_alloc(&c->arena, (size_t)c->n_keys * sizeof *c->lkeys);
    c->rkeys = rill__arena_alloc(&c->arena, (size_t)c->n_keys * sizeof *c->rkeys);
    rel_col *kcols = rill__arena_alloc(pc->a, (size_t)c->n_keys * sizeof *kcols);
    for (int i = 0; i < c->n_keys; i++) {
        c->lkeys[i] = rill__sql_rex_copy(&c->arena, r->lkeys[i]);
        c->rkeys[i] = rill__sql_rex_copy(&c->arena, r->rkeys[i]);
        /* one key column for both sides' values: nullable when either is */
        const rill__sql_ltype *kt = r->lkeys[i]->type;
        if (r->rkeys[i]->type->nullable)
            kt = rill__sql_type_with_null(pc->a, kt, true);
        kcols[i] = (rel_col){"$key", kt, NULL, false};
    }
    c->cond = r->cond ? rill__sql_rex_copy(&c->arena, r->cond) : NULL;
    rel_col *pair = rill__arena_alloc(pc->a, (size_t)(r->n_cols + 1) * sizeof *pair);
    memcpy(pair, in->cols, (size_t)c->n_in * sizeof *pair);
    memcpy(pair + c->n_in, tr->cols, (size_t)c->n_table * sizeof *pair);
    rill_schema *out = NULL;
    const char *path = NULL;
    rill_file_opts fo = {0};
    if (rill__sql_fs_options(pc, t, &path, &fo) != 0 ||
        !(c->table_schema = fo.format == RILL_FMT_JSON
                                ? rill__sql_named_schema_of(pc, c->n_table, tr->cols)
                                : rill__sql_schema_of(pc, c->n_table, tr->cols)) ||
        !(c->key_schema = rill__sql_schema_of(pc, c->n_keys, kcols)) ||
        !(c->pair_schema = rill__sql_schema_of(pc, r->n_cols, pair)) ||
        !(out = rill__sql_schema_of(pc, r->n_cols, r->cols))) {
        lookup_cfg_free(c);
        return NULL;
    }
    c->src_ops = &rill__file_source_ops;
    c->src_cfg = rill__file_source_cfg(path, &fo);
    rill__err verr = {0};
    if (c->src_ops->validate(c->src_cfg, c->table_schema, &verr) != 0) {
        rill__err_set(pc->err, verr.code, "lookup table '%s': %s", t->name, verr.msg);
        rill_schema_free(out);
        lookup_cfg_free(c);
        return NULL;
    }
    c->ttl_ms = 60 * 60 * 1000; /* Flink's default */
    const sql_option *ttl = rill__sql_table_option(t, "lookup.join.cache.ttl");
    if (ttl && rill__parse_duration(ttl->value, &c->ttl_ms) != 0) {
        rill__err_set(pc->err, RILL_ECONFIG,
                      "table '%s': 'lookup.join.cache.ttl' = '%s' is not a duration (10 min)",
                      t->name, ttl->value);
        rill_schema_free(out);
        lookup_cfg_free(c);
        return NULL;
    }
    s = rill__graph_operator(s, out, &lookup_factory, c);
    rill_schema_free(out);
    return s;
}
