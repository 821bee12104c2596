/* sink_op.c - connectors layer: the operator that hands its input batches to a sink. */
#include <stdlib.h>

#include "connectors.h"

typedef struct sink_op {
    rill__operator base;
    rill__sink *sink;
} sink_op;

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

/* Stop without draining: a sink without two-phase commit makes what it wrote durable, as at the
 * end of input; a two-phase-commit sink leaves its open transaction (rows after the savepoint's
 * barrier, if any) uncommitted, for a restore to drop. */
static int sink_stop(rill__operator *op)
{
    sink_op *s = (sink_op *)op;
    if (s->sink->ops->pre_commit)
        return 0;
    return sink_end(op);
}

static int sink_snapshot(rill__operator *op, uint64_t id, rill__buf *out, rill__ksnap **keyed_out)
{
    (void)keyed_out;
    sink_op *s = (sink_op *)op;
    if (!s->sink->ops->pre_commit)
        return 0;
    int rc = s->sink->ops->pre_commit(s->sink, id, out);
    if (rc < 0 && op->task_err->code == 0)
        return rill__operator_fail(op, rc, "%s sink: pre-commit of checkpoint %llu failed: %s",
                                   s->sink->ops->kind, (unsigned long long)id,
                                   rill_strerror(rc));
    return rc < 0 ? rc : 0;
}

static int sink_restore(rill__operator *op, int old_subtask, int old_par, const void *data,
                        size_t len)
{
    sink_op *s = (sink_op *)op;
    if (!s->sink->ops->restore)
        return 0;
    /* every old subtask's state goes to every new subtask, which takes what it owns at the new
     * parallelism (the sink decides: its transactions may be spread differently) */
    int rc = s->sink->ops->restore(s->sink, old_subtask, old_par, data, len);
    if (rc < 0 && op->task_err->code == 0)
        return rill__operator_fail(op, rc, "%s sink: restore of the state of old subtask %d/%d "
                                   "failed: %s", s->sink->ops->kind, old_subtask + 1, old_par,
                                   rill_strerror(rc));
    return rc < 0 ? rc : 0;
}

static int sink_complete(rill__operator *op, uint64_t id)
{
    sink_op *s = (sink_op *)op;
    if (!s->sink->ops->commit)
        return 0;
    int rc = s->sink->ops->commit(s->sink, id);
    if (rc < 0 && op->task_err->code == 0)
        return rill__operator_fail(op, rc, "%s sink: commit of checkpoint %llu failed: %s",
                                   s->sink->ops->kind, (unsigned long long)id,
                                   rill_strerror(rc));
    return rc < 0 ? rc : 0;
}

static int sink_watermark(rill__operator *op, int64_t wm)
{
    sink_op *s = (sink_op *)op;
    if (s->sink->ops->watermark) {
        int rc = s->sink->ops->watermark(s->sink, wm);
        if (rc < 0 && op->task_err->code == 0)
            return rill__operator_fail(op, rc, "%s sink: watermark failed: %s",
                                       s->sink->ops->kind, rill_strerror(rc));
        if (rc < 0)
            return rc;
    }
    return rill__operator_watermark(op, wm);
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
    .open = rill__operator_open_hook,
    .process = sink_process,
    .snapshot = sink_snapshot,
    .restore = sink_restore,
    .checkpoint_complete = sink_complete,
    .watermark = sink_watermark,
    .end_input = sink_end,
    .stop = sink_stop,
    .close = rill__operator_close,
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
