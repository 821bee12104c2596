/*
 * harness.h - the operator test harness: drives one operator in-process with batches and end of
 * input, and collects what it emits on its main and side outputs as rows of text.
 */
#ifndef RILL_TEST_HARNESS_H
#define RILL_TEST_HARNESS_H

#include "ops/ops.h"

typedef struct harness_out {
    rill__output base;
    char **rows; /* one CSV line per emitted row */
    int n_rows;
    size_t cap;
    int n_batches;
    bool ended;
    int64_t watermark; /* the last watermark received, RILL_TS_MIN before */
    int n_watermarks;
    bool idle;
    uint64_t last_barrier; /* the last checkpoint barrier received, 0 before */
    int64_t *row_ts; /* each row's event timestamp (RILL_TS_MIN: none) */
    size_t ts_cap;
} harness_out;

typedef struct harness {
    rill__operator *op;
    harness_out main, side[4];
    rill__err err;
    rill_schema *in_schema;
    rill__batch_pool *pool;
    rill__operator *op2; /* harness_open_chain: the second operator, fed by op */
} harness;

/* The init an operator under test gets: uid "op", subtask 0 of parallelism 1, max parallelism
 * 128, batch size 4 (small, so batches fill and flush often). */
rill__op_init harness_init(harness *h, const rill_schema *in, const rill_schema *out, int n_tags);
/* Connects outputs and opens the operator; returns open's result. */
int harness_open(harness *h, rill__operator *op);
/* Sends one batch of rows given as CSV lines (NULL-terminated list). With shared, the harness
 * keeps a second reference to the batch while the operator runs (so it may not change it). */
int harness_push(harness *h, const char *const *csv_rows, bool shared);
int harness_end(harness *h);
/* Delivers a watermark to the operator. */
int harness_watermark(harness *h, int64_t wm);
/* Sets the operator's processing-time clock to now_ms and runs its tick when due. */
int harness_tick(harness *h, int64_t now_ms);
/* The processing time harness_tick last set (the operator's clock reads it). */
extern int64_t harness_now_ms;
/* Closes and frees the operator and everything collected. */
void harness_close(harness *h);
/* All rows of an output joined with '|', for one comparison. Freed by harness_close. */
const char *harness_rows(harness *h, harness_out *o);

/* Opens first chained into second (first's main output feeds second; second's outputs are the
 * harness outputs). Pushes, watermarks and end go to first; harness_tick ticks both. */
int harness_open_chain(harness *h, rill__operator *first, rill__operator *second);
/* harness_push with event timestamps: row i gets ts[i] (b->ts, has_ts). */
int harness_push_ts(harness *h, const char *const *csv_rows, const int64_t *ts);
/* harness_push of rows from source split `split` (b->split), with b->split_done = done. The
 * list may be empty ({NULL}). */
int harness_push_split(harness *h, const char *const *csv_rows, int32_t split, bool done);
/* Like harness_rows, with each row's event timestamp: "row@ts" ("row@-" when it has none). */
const char *harness_rows_ts(harness *h, harness_out *o);

/* The entries of every table of b, counted by iteration (a map's (key, namespace) once); the
 * heap's stats must say the same (a disk-based backend's are estimates). */
int64_t harness_state_entries(rill__state_backend *b);

/* The keyed-state backend operator tests run on: RILL_TEST_BACKEND ("heap" when unset; CTest
 * runs the window and timer tests once more with "rocksdb", as unit.<name>.rocksdb). */
const rill__state_backend_ops *harness_backend(void);
/* A new instance of backend ops for key groups [first, last] of max_par, working files in the
 * test's directory, 8 MiB of memory; fails the test with the backend's message. */
rill__state_backend *harness_backend_open(const rill__state_backend_ops *ops, int first, int last,
                                          int max_par);

#endif
