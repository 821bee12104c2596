/* harness.c - the operator test harness (see harness.h). */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test.h"

static int out_batch(rill__output *o, rill_batch *b)
{
    harness_out *h = (harness_out *)o;
    h->n_batches++;
    for (uint32_t i = 0; i < b->n_rows; i++) {
        rill_row r = rill__batch_row(b, i);
        rill__buf line = {0};
        rill__encode_csv_row(b->schema, &r, ',', &line);
        line.len--; /* the newline */
        rill__grow((void **)&h->rows, &h->cap, (size_t)h->n_rows + 1, sizeof(char *));
        rill__grow((void **)&h->row_ts, &h->ts_cap, (size_t)h->n_rows + 1, sizeof(int64_t));
        h->row_ts[h->n_rows] = b->has_ts ? b->ts[i] : RILL_TS_MIN;
        h->rows[h->n_rows++] = rill__xstrndup(line.data, line.len);
        rill__buf_free(&line);
    }
    rill__batch_unref(b);
    return 0;
}

static int out_end(rill__output *o)
{
    ((harness_out *)o)->ended = true;
    return 0;
}

static int out_watermark(rill__output *o, int64_t wm)
{
    harness_out *h = (harness_out *)o;
    if (wm <= h->watermark)
        rill_test_fail(__FILE__, __LINE__, "watermark went from %lld to %lld",
                       (long long)h->watermark, (long long)wm);
    h->watermark = wm;
    h->n_watermarks++;
    return 0;
}

static int out_idle(rill__output *o, bool idle)
{
    ((harness_out *)o)->idle = idle;
    return 0;
}

static int out_barrier(rill__output *o, uint64_t id)
{
    ((harness_out *)o)->last_barrier = id;
    return 0;
}

static void out_destroy(rill__output *o)
{
    (void)o; /* owned by the harness */
}

static const rill__output_ops out_ops = {.batch = out_batch,
                                         .watermark = out_watermark,
                                         .idle = out_idle,
                                         .barrier = out_barrier,
                                         .end = out_end,
                                         .destroy = out_destroy};

int64_t harness_now_ms = 1000000;

static int64_t harness_clock(void *arg)
{
    (void)arg;
    return harness_now_ms;
}

rill__op_init harness_init(harness *h, const rill_schema *in, const rill_schema *out, int n_tags)
{
    memset(h, 0, sizeof *h);
    h->in_schema = rill__schema_ref(in);
    h->pool = rill__batch_pool_new(in, 4, 8);
    h->main.base.ops = &out_ops;
    h->main.watermark = INT64_MIN;
    for (int i = 0; i < 4; i++) {
        h->side[i].base.ops = &out_ops;
        h->side[i].watermark = INT64_MIN;
    }
    return (rill__op_init){.uid = "op",
                           .subtask = 0,
                           .parallelism = 1,
                           .max_parallelism = 128,
                           .in_schema = in,
                           .out_schema = out,
                           .batch_size = 4,
                           .n_tags = n_tags,
                           .task_err = &h->err,
                           .state_dir = rill_test_tmpdir(),
                           .state_memory = 8 << 20};
}

rill__state_backend *harness_backend_open(const rill__state_backend_ops *ops, int first, int last,
                                          int max_par)
{
    rill__state_backend_cfg cfg = {.kg_first = first,
                                   .kg_last = last,
                                   .max_parallelism = max_par,
                                   .operator_uid = "op",
                                   .dir = rill_test_tmpdir(),
                                   .memory_bytes = 8 << 20};
    rill__state_backend *b = NULL;
    int rc = ops->create(&cfg, &b);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "create %s: %s: %s", ops->name, rill_strerror(rc),
                       rill_last_error());
    return b;
}

const rill__state_backend_ops *harness_backend(void)
{
    const char *name = getenv("RILL_TEST_BACKEND");
    const rill__state_backend_ops *ops = rill__state_backend_find(name ? name : "heap");
    if (!ops)
        rill_test_fail(__FILE__, __LINE__, "RILL_TEST_BACKEND=%s: no such backend", name);
    return ops;
}

int harness_open(harness *h, rill__operator *op)
{
    h->op = op;
    op->clock = (rill__clock){.now_ms = harness_clock};
    op->ctx.clock = op->clock;
    if (op->main.pool)
        rill__operator_set_output(op, -1, &h->main.base);
    for (int i = 0; i < op->n_side && i < 4; i++)
        rill__operator_set_output(op, i, &h->side[i].base);
    return op->ops->open(op);
}

int harness_push(harness *h, const char *const *csv_rows, bool shared)
{
    rill_batch *b = rill__batch_new(h->in_schema, 64);
    rill__decoder d;
    rill__decoder_init(&d, h->in_schema, RILL_FMT_CSV, ',');
    for (int i = 0; csv_rows[i]; i++) {
        rill__parse_err pe;
        if (rill__decode_line(&d, csv_rows[i], strlen(csv_rows[i]), b, &pe) != 0)
            rill_test_fail(__FILE__, __LINE__, "harness row \"%s\": %s", csv_rows[i], pe.what);
    }
    rill__decoder_close(&d);
    if (shared)
        rill__batch_ref(b);
    h->op->records_in += b->n_rows;
    int rc = h->op->ops->process(h->op, b);
    if (shared)
        rill__batch_unref(b);
    return rc;
}

int harness_watermark(harness *h, int64_t wm)
{
    return rill__operator_deliver_watermark(h->op, wm);
}

int harness_tick(harness *h, int64_t now_ms)
{
    harness_now_ms = now_ms;
    if (h->op->ops->tick && h->op->next_tick_ms <= now_ms) {
        int rc = h->op->ops->tick(h->op, now_ms);
        if (rc)
            return rc;
    }
    if (h->op2 && h->op2->ops->tick && h->op2->next_tick_ms <= now_ms)
        return h->op2->ops->tick(h->op2, now_ms);
    return 0;
}

int harness_end(harness *h)
{
    return h->op->ops->end_input(h->op);
}

static void out_free(harness_out *o)
{
    for (int i = 0; i < o->n_rows; i++)
        free(o->rows[i]);
    free(o->rows);
    free(o->row_ts);
}

void harness_close(harness *h)
{
    if (h->op2) {
        /* a chain: op's main output is the heap-allocated chain to op2, freed with op */
        h->op->ops->close(h->op);
        h->op2->ops->close(h->op2);
        for (int i = 0; i < h->op->n_side; i++)
            h->op->side[i].out = NULL;
        rill__operator_free(h->op);
        h->op = NULL;
        h->op2->main.out = NULL;
        for (int i = 0; i < h->op2->n_side; i++)
            h->op2->side[i].out = NULL;
        rill__operator_free(h->op2);
        h->op2 = NULL;
    }
    if (h->op) {
        h->op->ops->close(h->op);
        /* the harness outputs are not heap objects: detach them before the operator frees */
        h->op->main.out = NULL;
        for (int i = 0; i < h->op->n_side; i++)
            h->op->side[i].out = NULL;
        rill__operator_free(h->op);
    }
    out_free(&h->main);
    for (int i = 0; i < 4; i++)
        out_free(&h->side[i]);
    rill__batch_pool_free(h->pool);
    rill_schema_free(h->in_schema);
}

const char *harness_rows(harness *h, harness_out *o)
{
    (void)h;
    static _Thread_local char buf[65536];
    buf[0] = '\0';
    size_t n = 0;
    for (int i = 0; i < o->n_rows; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? "|" : "", o->rows[i]);
    return buf;
}

int harness_open_chain(harness *h, rill__operator *first, rill__operator *second)
{
    h->op = first;
    h->op2 = second;
    rill__operator *ops[2] = {first, second};
    for (int i = 0; i < 2; i++) {
        ops[i]->clock = (rill__clock){.now_ms = harness_clock};
        ops[i]->ctx.clock = ops[i]->clock;
    }
    if (second->main.pool)
        rill__operator_set_output(second, -1, &h->main.base);
    for (int i = 0; i < second->n_side && i < 4; i++)
        rill__operator_set_output(second, i, &h->side[i].base);
    rill__operator_set_output(first, -1, rill__output_chain(second));
    int rc = second->ops->open(second);
    return rc ? rc : first->ops->open(first);
}

/* A batch of the harness's input schema from CSV lines. */
static rill_batch *harness_batch(harness *h, const char *const *csv_rows)
{
    rill_batch *b = rill__batch_new(h->in_schema, 64);
    rill__decoder d;
    rill__decoder_init(&d, h->in_schema, RILL_FMT_CSV, ',');
    for (int i = 0; csv_rows[i]; i++) {
        rill__parse_err pe;
        if (rill__decode_line(&d, csv_rows[i], strlen(csv_rows[i]), b, &pe) != 0)
            rill_test_fail(__FILE__, __LINE__, "harness row \"%s\": %s", csv_rows[i], pe.what);
    }
    rill__decoder_close(&d);
    return b;
}

int harness_push_ts(harness *h, const char *const *csv_rows, const int64_t *ts)
{
    rill_batch *b = harness_batch(h, csv_rows);
    rill__batch_need_ts(b);
    b->has_ts = true;
    for (uint32_t i = 0; i < b->n_rows; i++)
        b->ts[i] = ts[i];
    h->op->records_in += b->n_rows;
    return h->op->ops->process(h->op, b);
}

int harness_push_split(harness *h, const char *const *csv_rows, int32_t split, bool done)
{
    rill_batch *b = harness_batch(h, csv_rows);
    b->split = split;
    b->split_done = done;
    h->op->records_in += b->n_rows;
    return h->op->ops->process(h->op, b);
}

const char *harness_rows_ts(harness *h, harness_out *o)
{
    (void)h;
    static _Thread_local char buf[65536];
    buf[0] = '\0';
    size_t n = 0;
    for (int i = 0; i < o->n_rows && n < sizeof buf; i++) {
        if (o->row_ts[i] == RILL_TS_MIN)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s@-", i ? "|" : "", o->rows[i]);
        else
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s@%lld", i ? "|" : "", o->rows[i],
                                  (long long)o->row_ts[i]);
    }
    return buf;
}

/* Counts the entries of every table by iteration: a (key, namespace) once, whatever the number
 * of user keys of its map. */
typedef struct counter {
    rill__state_backend *b;
    bool map;
    int64_t n;
    unsigned char *prev; /* the last map entry's key and namespace */
    size_t prev_kl, prev_nl, prev_cap;
} counter;

static int count_entry(void *arg, const rill__state_key *k, const void *val, size_t len)
{
    counter *c = arg;
    (void)val, (void)len;
    if (c->map && c->prev && c->prev_kl == k->key_len && c->prev_nl == k->ns_len &&
        (!k->key_len || !memcmp(c->prev, k->key, k->key_len)) &&
        (!k->ns_len || !memcmp(c->prev + k->key_len, k->ns, k->ns_len)))
        return 0;
    c->n++;
    if (c->map) {
        size_t need = k->key_len + k->ns_len + 1;
        if (need > c->prev_cap) {
            c->prev = realloc(c->prev, need);
            CHECK(c->prev != NULL);
            c->prev_cap = need;
        }
        if (k->key_len)
            memcpy(c->prev, k->key, k->key_len);
        if (k->ns_len)
            memcpy(c->prev + k->key_len, k->ns, k->ns_len);
        c->prev_kl = k->key_len;
        c->prev_nl = k->ns_len;
    }
    return 0;
}

static int count_table(void *arg, const char *name, rill__state_kind kind, size_t value_size,
                       int64_t ttl_ms, rill__state_table *t)
{
    counter *c = arg;
    (void)name, (void)value_size, (void)ttl_ms;
    c->map = kind == RILL_STATE_MAP;
    for (int kg = c->b->cfg.kg_first; kg <= c->b->cfg.kg_last; kg++) {
        free(c->prev);
        c->prev = NULL;
        c->prev_cap = 0;
        CHECK_RC(c->b->ops->iterate_kg(t, kg, count_entry, c));
    }
    return 0;
}

/* The number of entries, counted; the heap's stats must say the same (RocksDB's are
 * estimates). */
int64_t harness_state_entries(rill__state_backend *b)
{
    counter c = {.b = b};
    CHECK_RC(b->ops->visit_tables(b, count_table, &c));
    free(c.prev);
    int64_t n = -1, bytes = -1;
    b->ops->stats(b, &n, &bytes);
    CHECK_INT(n, >=, 0);
    CHECK_INT(bytes, >, 0);
    if (!strcmp(b->ops->name, "heap"))
        CHECK_EQ(n, c.n);
    return c.n;
}
