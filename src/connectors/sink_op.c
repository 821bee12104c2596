/* sink_op.c - connectors layer: the operator that hands its input batches to a sink. */
#include <stdlib.h>

#include "connectors.h"

typedef struct sink_op {
    rill__operator base;
    rill__sink *sink;
} sink_op;

static int sink_open(rill__operator *op)
{
    return rill__operator_open_hook(op);
}

static int sink_process(rill__operator *op, rill_batch *b)
{
    sink_op *s = (sink_op *)op;
    int rc = s->sink->ops->write(s->sink, b);
    rill__batch_unref(b);
    if (rc < 0 && op->task_err->code == 0)
        return rill__operator_fail(op, rc, "%s sink: write failed: %s", s->sink->ops->kind,
                                   rill_strerror(rc));
    return rc < 0 ? rc : 0;
}

static int sink_end(rill__operator *op)
{
    sink_op *s = (sink_op *)op;
    int rc = s->sink->ops->finish(s->sink);
    if (rc < 0 && op->task_err->code == 0)
        return rill__operator_fail(op, rc, "%s sink: finishing failed: %s", s->sink->ops->kind,
                                   rill_strerror(rc));
    return rc < 0 ? rc : 0;
}

static void sink_close(rill__operator *op)
{
    rill__operator_close_hook(op); /* first: the hook may still add to counters */
    rill__operator_publish_counters(op);
}

static void sink_destroy(rill__operator *op)
{
    sink_op *s = (sink_op *)op;
    s->sink->ops->destroy(s->sink);
    rill__operator_fini(op);
    free(s);
}

static const rill__operator_ops sink_ops = {
    .kind = "sink",
    .open = sink_open,
    .process = sink_process,
    .end_input = sink_end,
    .close = sink_close,
    .destroy = sink_destroy,
};

rill__operator *rill__op_sink(const rill__op_init *init, rill__sink *sink)
{
    sink_op *s = rill__xcalloc(1, sizeof *s);
    rill__op_init i2 = *init;
    i2.out_schema = NULL;
    rill__operator_init(&s->base, &sink_ops, &i2);
    s->sink = sink;
    return &s->base;
}
