/* batch.c - data layer: reference-counted batches of rows, their string bytes, and pools. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

struct rill__batch_pool {
    pthread_mutex_t mu;
    rill_schema *schema;
    uint32_t cap_rows, max_free, n_free;
    rill_batch **free_list;
    atomic_int refs; /* the owner's one, plus one per batch out */
};

static void batch_destroy(rill_batch *b)
{
    rill_schema_free(b->schema);
    free(b->rows);
    free(b->bytes);
    free(b->hashes);
    free(b->ts);
    free(b->kinds);
    free(b);
}

static rill_batch *batch_alloc(const rill_schema *schema, uint32_t cap_rows)
{
    rill_batch *b = rill__xcalloc(1, sizeof *b);
    atomic_init(&b->refs, 1);
    b->schema = rill__schema_ref(schema);
    b->cap_rows = cap_rows ? cap_rows : 1;
    b->n_fields = (uint32_t)schema->n_fields;
    b->null_words = (uint32_t)(schema->n_fields + 63) / 64;
    if (b->null_words == 0)
        b->null_words = 1;
    b->row_words = b->null_words + b->n_fields;
    b->rows = rill__xmalloc((size_t)b->cap_rows * b->row_words * sizeof(uint64_t));
    b->split = -1;
    return b;
}

static void pool_release(rill__batch_pool *p)
{
    if (atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    for (uint32_t i = 0; i < p->n_free; i++)
        batch_destroy(p->free_list[i]);
    free(p->free_list);
    rill_schema_free(p->schema);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

rill__batch_pool *rill__batch_pool_new(const rill_schema *schema, uint32_t cap_rows,
                                       uint32_t max_free)
{
    rill__batch_pool *p = rill__xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    p->schema = rill__schema_ref(schema);
    p->cap_rows = cap_rows ? cap_rows : 1;
    p->max_free = max_free;
    p->free_list = rill__xcalloc(max_free ? max_free : 1, sizeof *p->free_list);
    atomic_init(&p->refs, 1);
    return p;
}

void rill__batch_pool_free(rill__batch_pool *p)
{
    if (p)
        pool_release(p);
}

rill_batch *rill__batch_get(rill__batch_pool *p)
{
    rill_batch *b = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->n_free > 0)
        b = p->free_list[--p->n_free];
    pthread_mutex_unlock(&p->mu);
    if (!b) {
        b = batch_alloc(p->schema, p->cap_rows);
        b->pool = p;
    } else {
        atomic_store_explicit(&b->refs, 1, memory_order_relaxed);
    }
    atomic_fetch_add(&p->refs, 1);
    return b;
}

rill_batch *rill__batch_new(const rill_schema *schema, uint32_t cap_rows)
{
    return batch_alloc(schema, cap_rows);
}

rill_batch *rill__batch_clone(const rill_batch *b)
{
    rill_batch *c = batch_alloc(b->schema, b->cap_rows);
    c->n_rows = b->n_rows;
    memcpy(c->rows, b->rows, (size_t)b->n_rows * b->row_words * sizeof(uint64_t));
    if (b->n_bytes) {
        c->bytes = rill__xmalloc(b->n_bytes);
        memcpy(c->bytes, b->bytes, b->n_bytes);
        c->n_bytes = c->cap_bytes = b->n_bytes;
    }
    if (b->has_hashes) {
        rill__batch_need_hashes(c);
        memcpy(c->hashes, b->hashes, (size_t)b->n_rows * sizeof *c->hashes);
        c->has_hashes = true;
    }
    if (b->has_ts) {
        rill__batch_need_ts(c);
        memcpy(c->ts, b->ts, (size_t)b->n_rows * sizeof *c->ts);
        c->has_ts = true;
    }
    if (b->has_kinds) {
        c->kinds = rill__xmalloc(c->cap_rows);
        memcpy(c->kinds, b->kinds, b->n_rows);
        c->has_kinds = true;
    }
    c->split = b->split;
    c->split_done = b->split_done;
    c->split_new = b->split_new;
    return c;
}

void rill__batch_set_schema(rill_batch *b, const rill_schema *schema)
{
    RILL_ASSERT(schema->n_fields == (int)b->n_fields);
    rill_schema *old = b->schema;
    b->schema = rill__schema_ref(schema);
    rill_schema_free(old);
}

void rill__batch_clear(rill_batch *b)
{
    b->n_rows = 0;
    b->n_bytes = 0;
    b->has_hashes = false;
    b->has_ts = false;
    b->has_kinds = false;
    b->split = -1;
    b->split_done = false;
    b->split_new = false;
}

void rill__batch_unref(rill_batch *b)
{
    if (!b || atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
        return;
    rill__batch_pool *p = b->pool;
    if (!p) {
        batch_destroy(b);
        return;
    }
    rill__batch_clear(b);
    if (RILL_UNLIKELY(b->schema != p->schema)) /* renamed on its way (a union): the pool's again */
        rill__batch_set_schema(b, p->schema);
    /* a batch whose string area grew huge is not kept: pools stay small */
    bool keep = b->cap_bytes <= (size_t)64 << 20;
    pthread_mutex_lock(&p->mu);
    if (keep && p->n_free < p->max_free) {
        p->free_list[p->n_free++] = b;
        b = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    if (b)
        batch_destroy(b);
    pool_release(p);
}

void rill__batch_pop(rill_batch *b)
{
    if (b->n_rows > 0)
        b->n_rows--;
}

int rill__batch_put_bytes(rill_batch *b, const void *p, size_t n, uint64_t *slot_out)
{
    if (n > UINT32_MAX || b->n_bytes + n > UINT32_MAX)
        return RILL_ELIMIT;
    if (b->n_bytes + n > b->cap_bytes) {
        size_t c = b->cap_bytes ? b->cap_bytes : 4096;
        while (c < b->n_bytes + n)
            c *= 2;
        b->bytes = rill__xrealloc(b->bytes, c);
        b->cap_bytes = c;
    }
    if (n)
        memcpy(b->bytes + b->n_bytes, p, n);
    *slot_out = (uint64_t)b->n_bytes << 32 | (uint64_t)n;
    b->n_bytes += n;
    return 0;
}

void rill__batch_need_hashes(rill_batch *b)
{
    if (!b->hashes)
        b->hashes = rill__xmalloc((size_t)b->cap_rows * sizeof *b->hashes);
}

void rill__batch_need_ts(rill_batch *b)
{
    if (!b->ts)
        b->ts = rill__xmalloc((size_t)b->cap_rows * sizeof *b->ts);
}

void rill__batch_need_kinds(rill_batch *b)
{
    if (b->has_kinds)
        return;
    if (!b->kinds)
        b->kinds = rill__xmalloc(b->cap_rows);
    memset(b->kinds, RILL_ROW_INSERT, b->n_rows);
    b->has_kinds = true;
}

rill_row rill__batch_append_copy(rill_batch *b, const rill_row *src)
{
    rill_row dst = rill__batch_append(b);
    rill_row_copy(&dst, src);
    if (RILL_UNLIKELY(src->batch->has_kinds)) {
        int64_t i = rill__batch_row_index(src->batch, src);
        if (i >= 0)
            rill__batch_set_kind(b, b->n_rows - 1, (rill_rowkind)src->batch->kinds[i]);
    }
    return dst;
}

rill_rowkind rill_row_kind(const rill_row *r)
{
    const rill_batch *b = r->batch;
    if (!b || !b->has_kinds)
        return RILL_ROW_INSERT;
    int64_t i = rill__batch_row_index(b, r);
    return i < 0 ? RILL_ROW_INSERT : (rill_rowkind)b->kinds[i];
}

int rill_row_set_kind(rill_row *r, rill_rowkind kind)
{
    if ((unsigned)kind > RILL_ROW_DELETE || !r->batch)
        return RILL_EINVAL;
    int64_t i = rill__batch_row_index(r->batch, r);
    if (i < 0)
        return RILL_EINVAL;
    rill__batch_set_kind(r->batch, (uint32_t)i, kind);
    return 0;
}

const char *rill_row_kind_name(rill_rowkind kind)
{
    switch (kind) {
    case RILL_ROW_INSERT: return "+I";
    case RILL_ROW_UPDATE_BEFORE: return "-U";
    case RILL_ROW_UPDATE_AFTER: return "+U";
    case RILL_ROW_DELETE: return "-D";
    }
    return "?";
}

const char *rill_row_str(const rill_row *r, int i, size_t *len_out)
{
    if (rill_row_is_null(r, i)) {
        *len_out = 0;
        return "";
    }
    return rill__batch_str(r->batch, r->v[i], len_out);
}

int rill_row_set_str(rill_row *r, int i, const char *s, size_t len)
{
    uint64_t slot;
    int rc = rill__batch_put_bytes(r->batch, s, len, &slot);
    if (rc)
        return rc;
    r->v[i] = slot;
    r->nulls[i >> 6] &= ~(UINT64_C(1) << (i & 63));
    return 0;
}

void rill__row_encode(const rill_row *row, rill__buf *e)
{
    const rill_batch *b = row->batch;
    size_t base = e->len, slots = base + b->null_words * 8;
    rill__buf_append(e, row->nulls, b->null_words * 8);
    rill__buf_append(e, row->v, b->n_fields * 8);
    uint64_t off = 0;
    for (uint32_t f = 0; f < b->n_fields; f++) {
        uint64_t slot;
        if (rill_row_is_null(row, (int)f)) {
            slot = 0; /* whatever the slot held: equal rows, equal bytes */
        } else if (b->schema->fields[f].in_bytes) {
            size_t n;
            const char *str = rill_row_str(row, (int)f, &n);
            slot = off << 32 | (uint64_t)n;
            rill__buf_append(e, str, n);
            off += n;
        } else {
            continue;
        }
        memcpy(e->data + slots + f * 8, &slot, 8);
    }
}

int rill__row_copy_fields(rill_row *dst, int dst_first, const rill_row *src, int src_first,
                          int n)
{
    for (int i = 0; i < n; i++) {
        int sf = src_first + i, df = dst_first + i;
        if (rill_row_is_null(src, sf))
            continue;
        if (src->batch->schema->fields[sf].in_bytes) {
            size_t len;
            const char *p = rill__batch_str(src->batch, src->v[sf], &len);
            int rc = rill__batch_put_bytes(dst->batch, p, len, &dst->v[df]);
            if (rc)
                return rc;
        } else {
            dst->v[df] = src->v[sf];
        }
        dst->nulls[df >> 6] &= ~(UINT64_C(1) << (df & 63));
    }
    return 0;
}

int rill__row_decode(rill_row *out, const void *enc)
{
    const rill_batch *b = out->batch;
    const char *p = enc;
    size_t fixed = (size_t)(b->null_words + b->n_fields) * 8;
    memcpy(out->nulls, p, b->null_words * 8);
    memcpy(out->v, p + b->null_words * 8, b->n_fields * 8);
    for (uint32_t f = 0; f < b->n_fields; f++) {
        if (!b->schema->fields[f].in_bytes || rill_row_is_null(out, (int)f))
            continue;
        uint64_t slot = out->v[f];
        int rc = rill_row_set_str(out, (int)f, p + fixed + (slot >> 32),
                                  (size_t)(slot & 0xffffffffu));
        if (rc)
            return rc;
    }
    return 0;
}

int rill_row_copy(rill_row *dst, const rill_row *src)
{
    const rill_schema *s = src->batch->schema;
    uint32_t nw = src->batch->null_words;
    memcpy(dst->nulls, src->nulls, nw * sizeof(uint64_t));
    memcpy(dst->v, src->v, (size_t)s->n_fields * sizeof(uint64_t));
    if (dst->batch == src->batch)
        return 0;
    for (int i = 0; i < s->n_fields; i++) {
        if (!s->fields[i].in_bytes || rill_row_is_null(src, i))
            continue;
        size_t n;
        const char *p = rill__batch_str(src->batch, src->v[i], &n);
        int rc = rill__batch_put_bytes(dst->batch, p, n, &dst->v[i]);
        if (rc)
            return rc;
    }
    return 0;
}
