/* exec.c - runtime layer: the execution graph. Nodes joined by forward edges of equal
 * parallelism are chained into one vertex (one task per subtask, no queue inside); every other
 * edge becomes a channel edge, partitioned by key group (key_by) or round robin. */
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

static rill__vertex *vertex_new(rill__exec_graph *g, int parallelism)
{
    rill__vertex *v = rill__xcalloc(1, sizeof *v);
    v->id = g->n_vertices;
    v->parallelism = parallelism;
    g->vertices = rill__xrealloc(g->vertices, (size_t)(g->n_vertices + 1) * sizeof *g->vertices);
    g->vertices[g->n_vertices++] = v;
    return v;
}

static void vertex_add(rill__vertex *v, rill__node *n)
{
    v->nodes = rill__xrealloc(v->nodes, (size_t)(v->n_nodes + 1) * sizeof *v->nodes);
    v->nodes[v->n_nodes++] = n;
}

int rill__exec_build(rill_env *env, rill__exec_graph **out)
{
    *out = NULL;
    int rc = rill__env_validate(env);
    if (rc)
        return rc;
    rill__exec_graph *g = rill__xcalloc(1, sizeof *g);
    g->env = env;
    /* nodes were created after their inputs, so creation order is a topological order */
    rill__vertex **vertex_of = rill__xcalloc(env->n_nodes + 1, sizeof *vertex_of);
    for (size_t i = 0; i < env->n_nodes; i++) {
        rill__node *n = env->nodes[i];
        int p = rill__node_parallelism(env, n);
        if (!n->input) {
            vertex_of[n->id] = vertex_new(g, p);
            vertex_add(vertex_of[n->id], n);
            continue;
        }
        rill__vertex *up = vertex_of[n->input->id];
        if (!n->keyed && !n->n_more && up->parallelism == p) {
            vertex_of[n->id] = up; /* chained */
            vertex_add(up, n);
            continue;
        }
        rill__vertex *v = vertex_new(g, p);
        vertex_add(v, n);
        vertex_of[n->id] = v;
        for (int k = 0; k <= n->n_more; k++) { /* a union has one edge per input */
            rill__node *src = k ? n->more[k - 1] : n->input;
            rill__exec_edge *e = rill__xcalloc(1, sizeof *e);
            e->id = g->n_edges;
            e->src = src;
            e->src_tag = k ? n->more_tags[k - 1] : n->input_tag;
            e->src_v = vertex_of[src->id];
            e->dst_v = v;
            e->dst_input = k;
            /* a union's input of its parallelism goes subtask to subtask: the changes of one
             * key (an updating input) stay in one channel, in their order, as in Flink, where
             * a union adds no exchange */
            e->partition = n->keyed                                        ? RILL_PART_HASH
                           : n->n_more && e->src_v->parallelism == p ? RILL_PART_FORWARD
                                                                          : RILL_PART_REBALANCE;
            g->edges = rill__xrealloc(g->edges, (size_t)(g->n_edges + 1) * sizeof *g->edges);
            g->edges[g->n_edges++] = e;
            rill__vertex *sv = e->src_v;
            sv->out_edges = rill__xrealloc(sv->out_edges, (size_t)(sv->n_out + 1) * sizeof(e));
            sv->out_edges[sv->n_out++] = e;
            v->in_edges = rill__xrealloc(v->in_edges, (size_t)(v->n_in + 1) * sizeof(e));
            v->in_edges[v->n_in++] = e;
        }
    }
    free(vertex_of);
    for (int i = 0; i < g->n_vertices; i++) {
        rill__vertex *v = g->vertices[i];
        v->first_task = g->n_tasks;
        g->n_tasks += v->parallelism;
        if (v->parallelism > g->max_vertex_p)
            g->max_vertex_p = v->parallelism;
    }
    *out = g;
    return 0;
}

void rill__exec_free(rill__exec_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_vertices; i++) {
        free(g->vertices[i]->nodes);
        free(g->vertices[i]->in_edges);
        free(g->vertices[i]->out_edges);
        free(g->vertices[i]);
    }
    for (int i = 0; i < g->n_edges; i++)
        free(g->edges[i]);
    free(g->vertices);
    free(g->edges);
    free(g);
}

void rill__exec_describe(const rill__exec_graph *g, rill__buf *out)
{
    static const char *part[] = {"?", "forward", "hash", "rebalance"};
    for (int i = 0; i < g->n_vertices; i++) {
        rill__vertex *v = g->vertices[i];
        rill__buf_printf(out, "  task %d (parallelism %d):", v->id, v->parallelism);
        for (int j = 0; j < v->n_nodes; j++)
            rill__buf_printf(out, "%s %s", j ? " ->" : "", v->nodes[j]->uid);
        for (int j = 0; j < v->n_in; j++)
            rill__buf_printf(out, "%s%s from task %d", j ? "," : " <=", part[v->in_edges[j]->partition],
                             v->in_edges[j]->src_v->id);
        rill__buf_putc(out, '\n');
    }
}

void rill__exec_log(const rill__exec_graph *g)
{
    if (rill__log_level() < RILL_LOG_INFO)
        return;
    rill__buf b = {0};
    rill__exec_describe(g, &b);
    rill__log(RILL_LOG_INFO, "job '%s': %d tasks in %d chains\n%s", g->env->name, g->n_tasks,
              g->n_vertices, rill__buf_cstr(&b));
    rill__buf_free(&b);
}
