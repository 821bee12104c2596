/*
 * keyed_int.h - ops layer, private: what every keyed operator shares (the process function and
 * the window operator): the current key from a row or a timer, the state backend instance and
 * the timer service of the operator's key-group range.
 */
#ifndef RILL_KEYED_INT_H
#define RILL_KEYED_INT_H

#include "ops.h"

#define RILL_PREFETCH_AHEAD 8

typedef struct rill__keyed {
    rill__operator *op;
    rill__key_spec key;
    const rill__state_backend_ops *backend_ops;
    rill__buf key_buf;   /* the current key's bytes (general case) */
    uint64_t key_word;   /* the current key's bytes (one 8-byte field) */
    bool prefetch;       /* the state has outgrown the caches: prefetch rows ahead */
    int batches_since_stats;
} rill__keyed;

void rill__keyed_init(rill__keyed *k, rill__operator *op, const rill__key_spec *key,
                      const rill__state_backend_ops *backend);
/* Creates the backend instance and the timer service for op's key groups. */
int rill__keyed_open(rill__keyed *k);
void rill__keyed_fini(rill__keyed *k);

/* Makes row i of b the current key, its fields those of spec (k's, or the other input's of a
 * two-input operator: the same types); the hash from the partitioner when the batch has them. */
static inline void rill__keyed_set_row_by(rill__keyed *k, const rill__key_spec *spec,
                                          rill_batch *b, uint32_t i, const rill_row *row)
{
    rill__state_key *sk = &k->op->ctx.key;
    uint64_t h;
    if (spec->fast_u64) {
        k->key_word = row->v[spec->idx[0]];
        sk->key = &k->key_word;
        sk->key_len = sizeof k->key_word;
        h = b->has_hashes ? b->hashes[i] : rill__hash_u64(k->key_word);
    } else {
        k->key_buf.len = 0;
        sk->key_len = rill__key_encode(spec, row, &k->key_buf);
        sk->key = k->key_buf.data;
        h = b->has_hashes ? b->hashes[i] : rill__hash_bytes(sk->key, sk->key_len, 0);
    }
    sk->hash = h;
    sk->kg = rill__key_group(h, k->op->max_parallelism);
    sk->ns = NULL;
    sk->ns_len = 0;
}

static inline void rill__keyed_set_row(rill__keyed *k, rill_batch *b, uint32_t i,
                                       const rill_row *row)
{
    rill__keyed_set_row_by(k, &k->key, b, i, row);
}

/* Makes a timer's key current (copying its bytes: the timer is borrowed). */
void rill__keyed_set_timer_key(rill__keyed *k, const rill__timer *t);
/* Once per batch: decides whether prefetching pays, then prefetches row i + AHEAD's state. */
void rill__keyed_batch_start(rill__keyed *k, const rill_batch *b);
static inline void rill__keyed_prefetch(rill__keyed *k, rill_batch *b, uint32_t i)
{
    if (!k->prefetch || i + RILL_PREFETCH_AHEAD >= b->n_rows)
        return;
    rill_row ahead = rill__batch_row(b, i + RILL_PREFETCH_AHEAD);
    uint64_t word = ahead.v[k->key.idx[0]];
    uint64_t h = b->hashes[i + RILL_PREFETCH_AHEAD];
    rill__state_key pk = {.key = &word, .key_len = sizeof word, .hash = h,
                          .kg = rill__key_group(h, k->op->max_parallelism)};
    rill__state_backend *be = k->op->ctx.backend;
    be->ops->prefetch(be, &pk);
}

/* The keyed snapshot of this instance's key groups (state and timers), begun (written later,
 * see rill__ksnap_begin), and its restore from one old instance's snapshot (only the key
 * groups this instance owns are taken). */
int rill__keyed_snap(rill__keyed *k, rill__ksnap **out);
int rill__keyed_load(rill__keyed *k, const void *data, size_t len);

/* Appends the key fields of the current key to row out at fields first.. (decoded from the
 * key bytes), as the window operator's output rows start. */
int rill__keyed_write_key(rill__keyed *k, rill_row *out, int first);

#endif
