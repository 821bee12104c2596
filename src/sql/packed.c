/*
 * packed.c - sql layer: packed rows, the form a Top-N's and an OVER aggregation's rows take in
 * keyed state (rank.c, over.c). The layout is in savepoints (sql_int.h says it): it must not
 * change.
 */
#include <string.h>

#include "sql_int.h"

void rill__sql_packing_init(rill__arena *a, rill__sql_packing *pk, int n, const rel_col *cols)
{
    pk->n = n;
    pk->in_bytes = rill__arena_alloc(a, (size_t)n + 1);
    for (int i = 0; i < n; i++)
        pk->in_bytes[i] = rill__sql_in_bytes(cols[i].type);
}

void rill__sql_pack(const rill__sql_packing *pk, const rill_row *row, int first, rill__buf *b)
{
    size_t nb = ((size_t)pk->n + 7) / 8, at = b->len;
    rill__buf_reserve(b, nb);
    memset(b->data + at, 0, nb);
    b->len += nb;
    for (int i = 0; i < pk->n; i++) {
        int f = first + i;
        if (rill_row_is_null(row, f)) {
            b->data[at + (size_t)i / 8] |= (char)(1 << (i % 8));
        } else if (pk->in_bytes[i]) {
            size_t n;
            const void *p = rill_row_bytes(row, f, &n);
            uint32_t len = (uint32_t)n;
            rill__buf_append(b, &len, 4);
            rill__buf_append(b, p, n);
        } else {
            rill__buf_append(b, &row->v[f], 8);
        }
    }
}

/* The offset in e of column i's value (past the values before it). */
static size_t value_at(const rill__sql_packing *pk, const unsigned char *e, int i)
{
    size_t off = ((size_t)pk->n + 7) / 8;
    for (int j = 0; j < i; j++) {
        if (e[j / 8] >> (j % 8) & 1)
            continue;
        if (pk->in_bytes[j]) {
            uint32_t n;
            memcpy(&n, e + off, 4);
            off += 4 + n;
        } else {
            off += 8;
        }
    }
    return off;
}

size_t rill__sql_packed_len(const rill__sql_packing *pk, const unsigned char *e)
{
    return value_at(pk, e, pk->n);
}

rill__sql_packed_val rill__sql_packed_field(const rill__sql_packing *pk, const unsigned char *e,
                                            int i)
{
    rill__sql_packed_val v = {0};
    v.null = e[i / 8] >> (i % 8) & 1;
    if (v.null)
        return v;
    size_t off = value_at(pk, e, i);
    if (pk->in_bytes[i]) {
        memcpy(&v.n, e + off, 4);
        v.p = e + off + 4;
    } else {
        memcpy(&v.slot, e + off, 8);
    }
    return v;
}

int rill__sql_unpack(const rill__sql_packing *pk, const unsigned char *e, rill_row *out)
{
    size_t off = ((size_t)pk->n + 7) / 8;
    for (int i = 0; i < pk->n; i++) {
        if (e[i / 8] >> (i % 8) & 1) {
            rill_row_set_null(out, i);
            continue;
        }
        if (pk->in_bytes[i]) {
            uint32_t n;
            memcpy(&n, e + off, 4);
            int rc = rill__batch_put_bytes(out->batch, e + off + 4, n, &out->v[i]);
            if (rc != 0)
                return rc;
            off += 4 + n;
        } else {
            memcpy(&out->v[i], e + off, 8);
            off += 8;
        }
        out->nulls[i >> 6] &= ~(UINT64_C(1) << (i & 63));
    }
    return 0;
}

size_t rill__sql_packed_index(const rill__sql_packing *pk, size_t prefix, const unsigned char *b,
                              size_t len, size_t **at, size_t *cap)
{
    size_t n = 0;
    for (size_t off = 0; off < len; n++) {
        if (n == *cap) {
            *cap = *cap ? 2 * *cap : 16;
            *at = rill__xrealloc(*at, *cap * sizeof **at);
        }
        (*at)[n] = off;
        off += prefix + rill__sql_packed_len(pk, b + off + prefix);
    }
    return n;
}
