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

static void out_destroy(rill__output *o)
{
    (void)o; /* owned by the harness */
}

static const rill__output_ops out_ops = {out_batch, out_watermark, out_idle, out_end,
                                         out_destroy};

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
                           .task_err = &h->err};
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
    if (h->op->ops->tick && h->op->next_tick_ms <= now_ms)
        return h->op->ops->tick(h->op, now_ms);
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
}

void harness_close(harness *h)
{
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
