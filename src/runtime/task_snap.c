/* task_snap.c - runtime layer: a task's part in checkpoints: its snapshot at a barrier (each
 * chained operator's state, a source's position, keyed snapshots begun there and written on the
 * writer thread), the task data file's format, and the restore of a task from a checkpoint. */
#include <stdlib.h>
#include <string.h>

#include "ops/snapshot.h"
#include "task_int.h"

/* ---- task snapshots ------------------------------------------------------------------------ */

/* A task's snapshot for one checkpoint: the bytes taken at the barrier, and the keyed
 * snapshots begun there, whose bytes go in at their operators' places when it is written. */
typedef struct snap_part {
    size_t at;     /* where in buf the keyed snapshot's bytes go */
    size_t len_at; /* the operator's u64 state length, which they add to */
    rill__ksnap *ks;
} snap_part;

struct rill__task_snap {
    int64_t sync_ns; /* the part at the barrier, on the task's thread */
    rill__files_size files; /* what native snapshots' files took, once written */
    bool has_usage;  /* a keyed operator: its backend's size at the barrier */
    rill__state_usage usage;
    rill__buf buf;
    snap_part *parts;
    size_t n_parts, cap_parts;
};

void rill__task_snap_free(rill__task_snap *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_parts; i++)
        rill__ksnap_free(s->parts[i].ks);
    free(s->parts);
    rill__buf_free(&s->buf);
    free(s);
}

bool rill__task_snap_usage(const rill__task_snap *s, rill__state_usage *out)
{
    *out = s->usage;
    return s->has_usage;
}

rill__files_size rill__task_snap_files(const rill__task_snap *s)
{
    return s->files;
}

int rill__task_snap_write(rill__task_snap *s, rill__buf *out, const char *dir, const char *name,
                          rill__err *err)
{
    size_t want = s->buf.len, start = out->len, from = 0;
    for (size_t i = 0; i < s->n_parts; i++)
        want += rill__ksnap_size_hint(s->parts[i].ks);
    rill__buf_reserve(out, want);
    for (size_t i = 0; i < s->n_parts; i++) {
        snap_part *p = &s->parts[i];
        rill__buf_append(out, s->buf.data + from, p->at - from);
        from = p->at;
        size_t before = out->len;
        char prefix[300];
        snprintf(prefix, sizeof prefix, "%s-%zu-", name ? name : "", i);
        int rc = rill__ksnap_write_files(p->ks, out, dir, prefix, &s->files, err);
        if (rc < 0) {
            out->len = start;
            return rc;
        }
        /* p->len_at is in s->buf; out runs ahead of it by what earlier parts inserted */
        char *lp = out->data + (before - p->at) + p->len_at;
        rill__le_put64(lp, rill__le_get64(lp) + (out->len - before));
    }
    rill__buf_append(out, s->buf.data + from, s->buf.len - from);
    return 0;
}

int64_t rill__task_snap_sync_ns(const rill__task_snap *s)
{
    return s->sync_ns;
}

/*
 * Checkpoint id at this task: the synchronous part of the snapshot (each chained operator's
 * state, a source's position, and the begin of each keyed snapshot) goes to the job run's
 * snapshot function, which writes it elsewhere; then the barrier goes on downstream. Format:
 * u32 operators, then per operator: u32 uid length, uid, u64 state length, state.
 */
int rill__task_checkpoint(rill__task *t, uint64_t id, bool savepoint, int64_t align_ms)
{
    rill__job_run *r = t->run;
    int64_t t0 = rill__mono_ns();
    rill__task_snap *snap = rill__xcalloc(1, sizeof *snap);
    rill__buf *buf = &snap->buf;
    rill__buf_put_u32(buf, (uint32_t)t->v->n_nodes);
    int rc = 0;
    for (int i = 0; i < t->v->n_nodes && rc == 0; i++) {
        rill__operator *op = t->ops[i];
        uint32_t ul = (uint32_t)strlen(op->uid);
        rill__buf_put_u32(buf, ul);
        rill__buf_append(buf, op->uid, ul);
        size_t at = buf->len;
        rill__buf_put_u64(buf, 0); /* the state's length, once known */
        size_t start = buf->len;
        rill__ksnap *ks = NULL;
        op->snap_canonical = savepoint;
        if (i == 0 && t->source && t->source->ops->position) {
            rc = t->source->ops->position(t->source, buf);
            if (rc == 0 && t->source->ops->positioned)
                t->source->ops->positioned(t->source, id);
        }
        else if (op->ops->snapshot)
            rc = op->ops->snapshot(op, id, buf, &ks);
        if (op->ctx.backend) { /* the state's size, for the checkpoint's statistics */
            rill__state_usage u;
            rill__state_backend_usage(op->ctx.backend, &u);
            snap->usage.keys += u.keys;
            snap->usage.memory_bytes += u.memory_bytes;
            snap->usage.disk_bytes += u.disk_bytes;
            snap->has_usage = true;
        }
        rill__le_put64(buf->data + at, buf->len - start);
        if (ks) {
            rill__grow((void **)&snap->parts, &snap->cap_parts, snap->n_parts + 1,
                       sizeof *snap->parts);
            snap->parts[snap->n_parts++] = (snap_part){.at = buf->len, .len_at = at, .ks = ks};
        }
    }
    snap->sync_ns = rill__mono_ns() - t0;
    if (r->snap_fn)
        r->snap_fn(r->snap_arg, t, id, rc, snap, align_ms); /* takes it over */
    else
        rill__task_snap_free(snap);
    if (rc < 0)
        return rill__err_first(&t->err, rc, "task %s: snapshot of checkpoint %llu failed: %s",
                               t->name, (unsigned long long)id, rill_strerror(rc));
    t->last_barrier = id;
    return rill__operator_barrier(t->ops[0], savepoint ? id | RILL_BARRIER_SAVEPOINT : id);
}

typedef struct restore_ctx {
    rill__task *t;
    rill__operator *op;
    bool source;
    bool found;
    bool finished;
    rill__source_pos *pos; /* a source at another parallelism: every old position */
    int n_pos;
} restore_ctx;

static int restore_one(void *arg, int subtask, int parallelism, bool finished, const void *data,
                       size_t len)
{
    restore_ctx *rc = arg;
    rill__task *t = rc->t;
    if (rc->source && (parallelism != t->v->parallelism ||
                       t->source->ops->restore_from_all)) { /* rescaling: gather them all */
        rc->pos = rill__xrealloc(rc->pos, (size_t)(rc->n_pos + 1) * sizeof *rc->pos);
        rc->pos[rc->n_pos++] = (rill__source_pos){subtask, parallelism, finished, data, len};
        return 0;
    }
    if (rc->source) { /* a reader resumes where its own subtask was */
        if (subtask != t->subtask)
            return 0;
        rc->found = true;
        if (finished) {
            rc->finished = true;
            return 0;
        }
        int r = t->source->ops->seek ? t->source->ops->seek(t->source, data, len) : RILL_ENOTSUP;
        if (r < 0)
            return rill__err_first(&t->err, r, "restore of source '%s' (subtask %d/%d): %s",
                                   rc->op->uid, t->subtask + 1, t->v->parallelism,
                                   t->err.code ? t->err.msg : rill_strerror(r));
        return 0;
    }
    if (finished || len == 0 || !rc->op->ops->restore)
        return 0;
    rc->found = true;
    return rc->op->ops->restore(rc->op, subtask, parallelism, data, len);
}

/* Puts the checkpoint's state into this task's operators (after they opened). */
int rill__task_restore(rill__task *t, bool *source_finished)
{
    const rill__restore *rs = t->run->restore;
    *source_finished = false;
    for (int i = 0; i < t->v->n_nodes; i++) {
        restore_ctx rc = {.t = t, .op = t->ops[i], .source = i == 0 && t->source != NULL};
        t->ops[i]->restore_dir = rill__restore_dir(rs);
        int r = rill__restore_blobs(rs, t->ops[i]->uid, restore_one, &rc);
        if (r == 0 && rc.n_pos > 0) {
            if (!t->source->ops->seek_rescaled)
                r = rill__err_first(&t->err, RILL_ENOTSUP,
                                    "restore of source '%s': the checkpoint was taken at "
                                    "parallelism %d, the job now runs it at %d, and a %s "
                                    "source cannot be rescaled", rc.op->uid,
                                    rc.pos[0].parallelism, t->v->parallelism,
                                    t->source->ops->kind);
            else if ((r = t->source->ops->seek_rescaled(t->source, rc.pos, rc.n_pos)) < 0)
                rill__err_first(&t->err, r, "restore of source '%s' (subtask %d/%d): %s",
                                rc.op->uid, t->subtask + 1, t->v->parallelism,
                                rill_strerror(r));
        }
        free(rc.pos);
        if (r < 0)
            return r;
        if (rc.source && rc.finished)
            *source_finished = true;
    }
    return 0;
}

