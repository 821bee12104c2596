/* event_time.c - ops layer: the timestamp and watermark assigner. Keeps one watermark
 * generator per source split, merged by minimum, with idleness, and never goes backwards. */
#include <stdlib.h>
#include <string.h>

#include "ops.h"

typedef struct et_op {
    rill__operator base;
    int field;
    rill_watermark_opts opts;
    bool skip_null;
    int64_t skipped;
    rill__wm_gen *gens; /* by merger input */
    bool *done;         /* by merger input: the split has ended */
    int *input_of;      /* split id -> merger input + 1 (0: none yet) */
    int n_split_ids;
    rill__wm_merger merger;
    bool idle; /* told downstream */
    /* a rescaled restore: the lowest watermark of the old subtasks, of those not idle */
    int64_t rs_min, rs_min_idle;
    int64_t first_tick_ms; /* idleness: when the checks began (-1: not yet) */
} et_op;

/* The merger input of split id (-1: the stream as a whole), added on first sight. */
static int input_for(et_op *e, int32_t split)
{
    int id = split < 0 ? 0 : split + 1;
    if (id >= e->n_split_ids) {
        int n = id + 8;
        e->input_of = rill__xrealloc(e->input_of, (size_t)n * sizeof *e->input_of);
        memset(e->input_of + e->n_split_ids, 0, (size_t)(n - e->n_split_ids) * sizeof(int));
        e->n_split_ids = n;
    }
    if (e->input_of[id] == 0) {
        int in = rill__wm_merger_add(&e->merger);
        e->gens = rill__xrealloc(e->gens, (size_t)(in + 1) * sizeof *e->gens);
        e->done = rill__xrealloc(e->done, (size_t)(in + 1) * sizeof *e->done);
        e->done[in] = false;
        rill__wm_gen_init(&e->gens[in], &e->opts, rill__clock_now(&e->base.clock));
        e->input_of[id] = in + 1;
    }
    return e->input_of[id] - 1;
}

static int set_idle(et_op *e, bool idle)
{
    if (idle == e->idle)
        return 0;
    e->idle = idle;
    return rill__operator_idle(&e->base, idle);
}

/* The combined watermark if input `in` had watermark wm (the others as they are). */
static int64_t combined_with(const et_op *e, int in, int64_t wm)
{
    int64_t m = wm;
    for (int j = 0; j < e->merger.n; j++)
        if (j != in && !e->merger.idle[j] && e->merger.wm[j] < m)
            m = e->merger.wm[j];
    return m > e->merger.current ? m : e->merger.current;
}

/* Moves rows [from, n) of b into a new batch (and truncates b): the tail after a cut. Copies
 * in bulk: the whole string area goes along, so string slots stay valid as they are. */
static rill_batch *split_tail(rill_batch *b, uint32_t from)
{
    rill_batch *t = rill__batch_new(b->schema, b->cap_rows);
    uint32_t n = b->n_rows - from;
    memcpy(t->rows, b->rows + (size_t)from * b->row_words, (size_t)n * b->row_words * 8);
    if (b->n_bytes > 0) {
        uint64_t unused;
        rill__batch_put_bytes(t, b->bytes, b->n_bytes, &unused);
    }
    rill__batch_need_ts(t);
    t->has_ts = true;
    memcpy(t->ts, b->ts + from, (size_t)n * 8);
    if (b->has_hashes) {
        rill__batch_need_hashes(t);
        t->has_hashes = true;
        memcpy(t->hashes, b->hashes + from, (size_t)n * 8);
    }
    if (b->has_kinds) {
        rill__batch_need_kinds(t);
        memcpy(t->kinds, b->kinds + from, n);
    }
    t->n_rows = n;
    t->split = b->split;
    t->split_done = b->split_done;
    b->n_rows = from;
    b->split_done = false;
    return t;
}

static int et_process(rill__operator *op, rill_batch *b)
{
    et_op *e = (et_op *)op;
    int in = input_for(e, b->split);
    rill__wm_gen *g = &e->gens[in];
    int rc = 0;
    bool rejoin_advanced = false;
    int64_t rejoin_wm = RILL_TS_MIN;
    if (b->n_rows > 0 && e->opts.idle_timeout_ms > 0) {
        bool was_idle = g->idle;
        rill__wm_gen_active(g, rill__clock_now(&op->clock));
        /* rejoining raises the combined watermark only when every other input is idle: then
         * it is this input's, and must go out now (the merger has moved to it already) */
        if (was_idle)
            rejoin_advanced = rill__wm_merger_set_idle(&e->merger, in, false, &rejoin_wm);
    }
    if (b->n_rows > 0 && e->idle && (rc = set_idle(e, false)))
        goto fail;
    if (rejoin_advanced && (rc = rill__operator_watermark(op, rejoin_wm)) < 0)
        goto fail;
    for (;;) {
        /* Watermarks go out after each batch, yet results must be those of a watermark after
         * every row: only a row with ts <= watermark + 1 could tell the difference (it is late,
         * or touches a session already due), so the batch is cut before it and the watermark
         * sent first. */
        uint32_t cut = b->n_rows;
        uint32_t kept = 0;
        bool own = e->field < 0; /* the rows' own timestamps (a Kafka source's) */
        if (own && b->n_rows > 0 && !b->has_ts) {
            rc = rill__operator_fail(op, RILL_EINVAL, "rows without timestamps of their own");
            goto fail;
        }
        if (b->n_rows > 0) {
            rill__batch_need_ts(b);
            b->has_ts = true;
        }
        for (uint32_t i = 0; i < b->n_rows; i++) {
            rill_row r = rill__batch_row(b, i);
            if (RILL_UNLIKELY(!own && rill_row_is_null(&r, e->field))) {
                if (!e->skip_null) {
                    rc = rill__operator_fail(op, RILL_EPARSE,
                                             "row has a NULL timestamp in field '%s'",
                                             op->in_schema->fields[e->field].name);
                    goto fail;
                }
                e->skipped++;
                continue;
            }
            int64_t ts = own ? b->ts[i] : (int64_t)r.v[e->field];
            if (RILL_UNLIKELY(ts <= g->max_ts) && e->opts.kind != RILL_WM_NONE) {
                int64_t wm = combined_with(e, in, rill__wm_gen_current(g));
                if (wm > op->watermark && (wm == RILL_TS_MAX || ts <= wm + 1)) {
                    cut = kept;
                    if (kept != i) { /* close the gap left by skipped rows first */
                        uint32_t rw = b->row_words;
                        memmove(b->rows + (size_t)kept * rw, b->rows + (size_t)i * rw,
                                (size_t)(b->n_rows - i) * rw * 8);
                        memmove(b->ts + kept, b->ts + i, (size_t)(b->n_rows - i) * 8);
                        if (b->has_hashes)
                            memmove(b->hashes + kept, b->hashes + i,
                                    (size_t)(b->n_rows - i) * 8);
                        if (b->has_kinds)
                            memmove(b->kinds + kept, b->kinds + i, b->n_rows - i);
                        b->n_rows -= i - kept;
                    }
                    break;
                }
            }
            rill__wm_gen_observe(g, ts);
            if (kept != i) {
                uint32_t rw = b->row_words;
                memmove(b->rows + (size_t)kept * rw, b->rows + (size_t)i * rw, rw * 8);
                if (b->has_hashes)
                    b->hashes[kept] = b->hashes[i];
                if (b->has_kinds)
                    b->kinds[kept] = b->kinds[i];
            }
            b->ts[kept++] = ts;
        }
        if (cut == b->n_rows) {
            b->n_rows = kept;
            break;
        }
        rill_batch *tail = split_tail(b, cut);
        if (b->n_rows > 0) {
            if ((rc = rill__operator_forward(op, b)) < 0) {
                rill__batch_unref(tail);
                return rc;
            }
        } else {
            rill__batch_unref(b);
        }
        int64_t wm;
        bool advanced = rill__wm_merger_update(&e->merger, in, rill__wm_gen_current(g), &wm);
        /* after a restore the merger is where it was but nothing went out yet: the watermark
         * the cut was made for goes out all the same (else the same row is cut forever) */
        int64_t due = combined_with(e, in, rill__wm_gen_current(g));
        if (!advanced && due > op->watermark) {
            wm = due;
            advanced = true;
        }
        if (advanced && (rc = rill__operator_watermark(op, wm)) < 0) {
            rill__batch_unref(tail);
            return rc;
        }
        b = tail;
    }
    bool done = b->split_done;
    if (b->n_rows > 0) {
        b->split_done = false;
        rc = rill__operator_forward(op, b);
    } else {
        rill__batch_unref(b);
    }
    if (rc)
        return rc;
    int64_t wm;
    bool advanced = rill__wm_merger_update(&e->merger, in, rill__wm_gen_current(g), &wm);
    if (done) {
        /* a finished split stops holding the others back (as if idle for good); the end of
         * the whole input, not of one split, sends RILL_TS_MAX */
        e->done[in] = true;
        advanced |= rill__wm_merger_set_idle(&e->merger, in, true, &wm);
    }
    return advanced ? rill__operator_watermark(op, wm) : 0;
fail:
    rill__batch_unref(b);
    return rc;
}

static int et_watermark(rill__operator *op, int64_t wm)
{
    /* upstream watermarks are replaced by this operator's, except the end of event time (as
     * Flink's does): a source at the end of its input that waits for the final checkpoint sends
     * it before the barrier, so that windows fire inside that checkpoint */
    if (wm == RILL_TS_MAX && op->watermark != RILL_TS_MAX)
        return rill__operator_watermark(op, RILL_TS_MAX);
    return 0;
}

/*
 * State: the watermark sent and each split's largest timestamp, so that a restored run makes
 * the same watermarks, and so the same lateness decisions, as an uninterrupted one.
 *   u32 ET_SNAP_VERSION, i64 watermark, u8 idle, u8 ended, u32 n, n times: i64 split id (-1:
 *   the stream as a whole), i64 largest timestamp, u8 the split has ended
 * The watermark is the one the rows made: the end of event time sent at the end of the input
 * or for a stop-with-savepoint --drain is not kept (a run restored from a drained savepoint
 * goes on from the rows' watermark, it does not find every row late). ended: every split of
 * the subtask had ended (its watermark was the end of event time for good).
 * A restore at another parallelism cannot map split ids (they are each reader's own): every
 * new subtask starts from the lowest watermark the old subtasks that had not ended had sent,
 * which is the one every operator downstream of them had, and its splits' timestamps start
 * afresh.
 */
#define ET_SNAP_VERSION 1u

static int et_snapshot(rill__operator *op, uint64_t id, rill__buf *out, rill__ksnap **keyed_out)
{
    et_op *e = (et_op *)op;
    (void)id, (void)keyed_out;
    uint32_t n = 0;
    for (int i = 0; i < e->n_split_ids; i++)
        n += e->input_of[i] != 0;
    rill__enc enc;
    rill__enc_init(&enc, out);
    bool ended = true;
    for (int i = 0; i < e->merger.n; i++)
        ended &= e->done[i];
    ended &= op->watermark == RILL_TS_MAX;
    rill__enc_u32(&enc, ET_SNAP_VERSION);
    rill__enc_i64(&enc, op->watermark == RILL_TS_MAX ? e->merger.current : op->watermark);
    rill__enc_u8(&enc, e->idle);
    rill__enc_u8(&enc, ended);
    rill__enc_u32(&enc, n);
    for (int i = 0; i < e->n_split_ids; i++) {
        if (e->input_of[i] == 0)
            continue;
        int in = e->input_of[i] - 1;
        rill__enc_i64(&enc, i - 1);
        rill__enc_i64(&enc, e->gens[in].max_ts);
        rill__enc_u8(&enc, e->done[in]);
    }
    return rill__enc_finish(&enc, "event time state");
}

static int et_restore(rill__operator *op, int old_subtask, int old_par, const void *data,
                      size_t len)
{
    et_op *e = (et_op *)op;
    rill__dec d;
    rill__dec_init(&d, data, len);
    uint32_t version = rill__dec_u32(&d, "version");
    int64_t wm = rill__dec_i64(&d, "watermark");
    bool idle = rill__dec_u8(&d, "idle") != 0;
    bool ended = rill__dec_u8(&d, "ended") != 0;
    uint32_t n = rill__dec_u32(&d, "splits");
    bool mine = old_par == op->parallelism && old_subtask == op->subtask;
    if (d.rc == 0 && version != ET_SNAP_VERSION)
        return rill__operator_fail(op, RILL_ECORRUPT, "restore: event time state of version "
                                   "%u, this build reads %u", version, ET_SNAP_VERSION);
    for (uint32_t i = 0; i < n && d.rc == 0; i++) {
        int64_t split = rill__dec_i64(&d, "split");
        int64_t max_ts = rill__dec_i64(&d, "max_ts");
        bool done = rill__dec_u8(&d, "done") != 0;
        if (d.rc || !mine)
            continue;
        if (split < -1 || split >= INT32_MAX) {
            rill__dec_fail_at(&d, "split", d.off - 17);
            break;
        }
        int in = input_for(e, (int32_t)split);
        rill__wm_gen_observe(&e->gens[in], max_ts);
        int64_t w;
        rill__wm_merger_update(&e->merger, in, rill__wm_gen_current(&e->gens[in]), &w);
        if (done) {
            e->done[in] = true;
            rill__wm_merger_set_idle(&e->merger, in, true, &w);
        }
    }
    rill__err err;
    if (rill__dec_finish(&d, "event time state", &err) < 0)
        return rill__operator_fail(op, RILL_ECORRUPT, "restore: %s", err.msg);
    if (mine) {
        op->restored_watermark = wm;
    } else if (old_par != op->parallelism && !ended) {
        int64_t *min = idle ? &e->rs_min_idle : &e->rs_min;
        if (wm < *min)
            *min = wm;
        op->restored_watermark = e->rs_min != RILL_TS_MAX ? e->rs_min : e->rs_min_idle;
    } else {
        return 0; /* another subtask's, at this parallelism: that subtask restores it */
    }
    if (op->restored_watermark > e->merger.current)
        e->merger.current = op->restored_watermark; /* never goes back below it */
    return 0;
}

static int et_tick(rill__operator *op, int64_t now_ms)
{
    et_op *e = (et_op *)op;
    int64_t wm;
    bool live = false, all_idle = true;
    for (int i = 0; i < e->merger.n; i++) {
        if (e->done[i])
            continue;
        live = true;
        if (!e->gens[i].idle && rill__wm_gen_check_idle(&e->gens[i], now_ms) &&
            rill__wm_merger_set_idle(&e->merger, i, true, &wm)) {
            int rc = rill__operator_watermark(op, wm);
            if (rc)
                return rc;
        }
        all_idle &= e->gens[i].idle;
    }
    op->next_tick_ms = now_ms + RILL_MAX(e->opts.idle_timeout_ms / 4, 1);
    if (e->first_tick_ms < 0)
        e->first_tick_ms = now_ms;
    /* a reader that has had no split at all for the timeout (more readers than Kafka
     * partitions) is idle too: it must not hold the watermark back forever */
    if (e->merger.n == 0 && now_ms - e->first_tick_ms >= e->opts.idle_timeout_ms)
        return set_idle(e, true);
    /* only a timeout makes the stream idle: finished splits between files do not */
    return live && all_idle ? set_idle(e, true) : 0;
}

static int et_end(rill__operator *op)
{
    int rc = rill__operator_flush(op);
    if (rc == 0 && op->watermark != RILL_TS_MAX)
        rc = rill__operator_watermark(op, RILL_TS_MAX); /* a bounded input has ended */
    if (rc == 0)
        rc = rill__operator_end_outputs(op);
    return rc;
}

static void et_destroy(rill__operator *op)
{
    et_op *e = (et_op *)op;
    rill__wm_merger_close(&e->merger);
    free(e->gens);
    free(e->done);
    free(e->input_of);
    rill__operator_fini(op);
    free(e);
}

static const rill__operator_ops et_ops = {
    .kind = "event_time",
    .open = rill__operator_open_hook,
    .process = et_process,
    .watermark = et_watermark,
    .tick = et_tick,
    .snapshot = et_snapshot,
    .restore = et_restore,
    .end_input = et_end,
    .close = rill__operator_close,
    .destroy = et_destroy,
};

rill__operator *rill__op_event_time(const rill__op_init *init, int ts_field,
                                    const rill_watermark_opts *opts, bool skip_null)
{
    et_op *e = rill__xcalloc(1, sizeof *e);
    rill__op_init i2 = *init;
    i2.out_schema = NULL;
    rill__operator_init(&e->base, &et_ops, &i2);
    e->field = ts_field;
    if (opts)
        e->opts = *opts;
    e->skip_null = skip_null;
    rill__wm_merger_init(&e->merger, 0);
    e->rs_min = e->rs_min_idle = RILL_TS_MAX;
    e->first_tick_ms = -1;
    if (e->opts.idle_timeout_ms > 0)
        e->base.next_tick_ms = 0; /* the first tick arms the idleness checks */
    return &e->base;
}
