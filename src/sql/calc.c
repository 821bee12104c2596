/*
 * calc.c - sql layer: the calc operator, a filter and projections (Flink's Calc) run a batch at
 * a time by an expression program (eval.c) between any two operators of a job graph. Stateless:
 * each subtask compiles its own program from the configuration the graph keeps.
 */
#include <stdlib.h>
#include <string.h>

#include "plan.h"

typedef struct calc_cfg {
    rill__arena arena; /* the expressions */
    rill__sql_rex *filter;
    int n_out;
    rill__sql_rex **outs;
    char *text; /* the script, for errors' positions (may be NULL) */
} calc_cfg;

typedef struct calc_op {
    rill__operator base;
    rill__sql_prog *prog;
    rill__err err;
} calc_op;

rill__sql_rex *rill__sql_rex_copy(rill__arena *a, const rill__sql_rex *x)
{
    rill__sql_rex *c = rill__arena_alloc(a, sizeof *c);
    *c = *x;
    if (x->lit_bytes) {
        char *b = rill__arena_alloc(a, (size_t)x->lit + 1);
        memcpy(b, x->lit_bytes, (size_t)x->lit);
        b[x->lit] = '\0';
        c->lit_bytes = b;
    }
    c->type = rill__sql_type_copy(a, x->type);
    c->args = rill__arena_alloc(a, (size_t)RILL_MAX(x->n_args, 1) * sizeof *c->args);
    for (int i = 0; i < x->n_args; i++)
        c->args[i] = rill__sql_rex_copy(a, x->args[i]);
    return c;
}

static void calc_cfg_free(void *p)
{
    calc_cfg *c = p;
    if (!c)
        return;
    rill__arena_close(&c->arena);
    free(c->text);
    free(c);
}

static int calc_process(rill__operator *op, rill_batch *b)
{
    calc_op *c = (calc_op *)op;
    rill_batch *out = b->n_rows <= op->batch_size ? rill__batch_get(op->main.pool)
                                                  : rill__batch_new(op->out_schema, b->n_rows);
    int rc = rill__sql_prog_run(c->prog, b, out, &c->err);
    rill__batch_unref(b);
    if (rc) {
        rill__batch_unref(out);
        return rill__operator_fail(op, rc, "%s", c->err.msg);
    }
    if (out->n_rows == 0) {
        rill__batch_unref(out);
        return 0;
    }
    return rill__operator_forward(op, out);
}

static void calc_destroy(rill__operator *op)
{
    calc_op *c = (calc_op *)op;
    rill__sql_prog_free(c->prog);
    rill__operator_fini(op);
    free(c);
}

static const rill__operator_ops calc_ops = {
    .kind = "sql-calc",
    .open = rill__operator_open_hook,
    .process = calc_process,
    .end_input = rill__operator_end_outputs,
    .close = rill__operator_close,
    .destroy = calc_destroy,
};

static rill__operator *calc_create(const rill__op_init *init, const rill__key_spec *key,
                                   const rill__state_backend_ops *backend, void *cfg)
{
    const calc_cfg *cc = cfg;
    calc_op *c = rill__xcalloc(1, sizeof *c);
    rill__operator_init(&c->base, &calc_ops, init);
    int rc = rill__sql_prog_new(cc->filter, cc->n_out, cc->outs, cc->text, &c->prog, &c->err);
    if (rc) {
        rill__err_set(init->task_err, rc, "operator '%s': %s", init->uid, c->err.msg);
        calc_destroy(&c->base);
        return NULL;
    }
    return &c->base;
}

static const rill__op_factory calc_factory = {
    .kind = "sql-calc",
    .create = calc_create,
    .cfg_free = calc_cfg_free,
};

rill_stream *rill__sql_calc(rill_stream *in, const rill_schema *out_schema,
                            const rill__sql_rex *filter, int n_out, rill__sql_rex *const *outs,
                            const char *text, rill__err *err)
{
    calc_cfg *c = rill__xcalloc(1, sizeof *c);
    rill__arena_init(&c->arena, 4096);
    c->filter = filter ? rill__sql_rex_copy(&c->arena, filter) : NULL;
    c->n_out = n_out;
    c->outs = rill__arena_alloc(&c->arena, (size_t)RILL_MAX(n_out, 1) * sizeof *c->outs);
    for (int i = 0; i < n_out; i++)
        c->outs[i] = rill__sql_rex_copy(&c->arena, outs[i]);
    c->text = text ? rill__xstrdup(text) : NULL;
    /* compiled once here, so that a plan the evaluator cannot run fails when it is made */
    rill__sql_prog *p = NULL;
    int rc = rill__sql_prog_new(c->filter, c->n_out, c->outs, c->text, &p, err);
    rill__sql_prog_free(p);
    if (rc) {
        calc_cfg_free(c);
        return NULL;
    }
    return rill__graph_operator(in, out_schema, &calc_factory, c);
}
