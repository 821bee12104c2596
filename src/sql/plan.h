/*
 * plan.h - the SQL layer's physical operators and how a plan becomes a job graph: the pieces
 * the planner puts between the engine's sources, keyed operators and sinks. So far the calc
 * operator (a filter and projections, run a batch at a time).
 */
#ifndef RILL_SQL_PLAN_H
#define RILL_SQL_PLAN_H

#include "expr.h"
#include "runtime/runtime.h"

/* A stream of in's rows for which filter (NULL: every row) is TRUE, as the projections outs
 * (out_schema: their types, in order). The expressions are copied; text (may be NULL) is the
 * script their positions point into. NULL with err set when the evaluator cannot run them. */
rill_stream *rill__sql_calc(rill_stream *in, const rill_schema *out_schema,
                            const rill__sql_rex *filter, int n_out, rill__sql_rex *const *outs,
                            const char *text, rill__err *err);

#endif /* RILL_SQL_PLAN_H */
