/*
 * data.h - the data layer's interface: schemas, batches of rows and their pools, key
 * extraction and key groups, and the CSV / JSON-lines codecs. Depends on base only.
 */
#ifndef RILL_DATA_H
#define RILL_DATA_H

#include <string.h>

#include "base/base.h"
#include "base/dec128.h"

/* ---- schemas ------------------------------------------------------------------------------ */

typedef struct rill__field {
    char *name;
    rill_type type;
    bool nullable;
    bool in_bytes; /* the slot is (offset << 32 | length) into the batch's byte area: STRING,
                    * BYTES, DECIMAL(p > 18) (16 bytes) */
    int precision, scale, length;
    bool fixed;
} rill__field;

/* The type and parameters of a field as the public struct. */
static inline rill_type_info rill__field_info(const rill__field *f)
{
    return (rill_type_info){f->type, f->precision, f->scale, f->length, f->fixed};
}
/* Whether values of t live in the byte area (see rill__field.in_bytes). */
static inline bool rill__type_in_bytes(rill_type t, int precision)
{
    return t == RILL_T_STRING || t == RILL_T_BYTES ||
           (t == RILL_T_DECIMAL && precision > RILL_DECIMAL_MAX_COMPACT);
}
/* Checks a type's parameters; 0 or RILL_EINVAL with why in msg. */
int rill__type_check(rill_type_info t, char *msg, size_t cap);

struct rill_schema {
    atomic_int refs;
    atomic_bool frozen; /* set once a stream uses it: no more fields */
    int n_fields;
    int null_words; /* 64-bit words of null bitmap per row */
    bool sql_text;  /* CSV and JSON write TIMESTAMP(3) as SQL text ("2024-05-01 12:00:05.123",
                       Flink's formats), not as epoch ms (rill's own files); set before use */
    rill__field *fields;
    size_t cap;
};

rill_schema *rill__schema_ref(const rill_schema *s);
void rill__schema_freeze(const rill_schema *s);
/* Same field types and parameters (string lengths aside) in the same order (names may
 * differ). */
bool rill__schema_compatible(const rill_schema *a, const rill_schema *b);
/* "user_id INT64 NOT NULL, amount DECIMAL(10, 2)" into b (rill's old names for the old
 * types, so existing messages stay; Flink's names with parameters for the others). */
void rill__schema_describe(const rill_schema *s, rill__buf *b);

/* DECIMAL field i of a row of a batch as its unscaled value (0 for NULL), and back: RILL_ERANGE
 * when v has more digits than the field's precision, RILL_ELIMIT when the byte area is full. */
rill__i128 rill__row_dec(const rill_row *r, int i);
int rill__row_set_dec(rill_row *r, int i, rill__i128 v);

/* ---- batches ------------------------------------------------------------------------------
 * Row-major: row i is row_words 8-byte words at rows + i * row_words: null_words words of null
 * bitmap, then one slot per field. A STRING, BYTES or DECIMAL(p > 18) slot holds
 * (offset << 32 | length) into bytes (rill.h's rill_type says what each slot holds).
 * Reference-counted: whoever holds a reference may read; only the holder of the only reference
 * may change rows in place. */

typedef struct rill__batch_pool rill__batch_pool;

struct rill_batch {
    atomic_int refs;
    rill__batch_pool *pool; /* returned there when refs reach 0; NULL: freed */
    rill_schema *schema;    /* referenced */
    uint32_t n_rows, cap_rows;
    uint32_t n_fields, null_words, row_words;
    uint64_t *rows;
    char *bytes;
    size_t n_bytes, cap_bytes;
    uint64_t *hashes; /* key hash per row, set by a key_by partitioner; valid when has_hashes */
    bool has_hashes;
    int64_t *ts; /* event timestamp per row; valid when has_ts (time layer) */
    bool has_ts;
    bool has_kinds; /* kinds is valid: some row is not an insert (append-only jobs never set it) */
    uint8_t *kinds; /* rill_rowkind per row; valid when has_kinds */
    int32_t split;   /* sources: the split (file, partition) all rows came from; -1 unknown */
    bool split_done; /* sources: that split has no more rows (the batch may be empty) */
    bool split_new;  /* sources: that split is the reader's now, with no rows yet (an empty
                      * batch): event time holds its watermark back for it until it has some */
};

/* A thread-safe free list of batches of one schema and capacity; keeps at most max_free. */
rill__batch_pool *rill__batch_pool_new(const rill_schema *schema, uint32_t cap_rows,
                                       uint32_t max_free);
/* Frees the pool's idle batches; batches still out are freed when released. NULL-safe. */
void rill__batch_pool_free(rill__batch_pool *pool);
/* An empty batch with one reference. Never NULL. */
rill_batch *rill__batch_get(rill__batch_pool *pool);
/* An empty standalone batch (no pool). */
rill_batch *rill__batch_new(const rill_schema *schema, uint32_t cap_rows);
static inline rill_batch *rill__batch_ref(rill_batch *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}
void rill__batch_unref(rill_batch *b); /* NULL-safe */
static inline bool rill__batch_exclusive(const rill_batch *b)
{
    return atomic_load_explicit(&b->refs, memory_order_acquire) == 1;
}
static inline bool rill__batch_full(const rill_batch *b)
{
    return b->n_rows >= b->cap_rows;
}
/* b's rows read by schema from now on: one of the same layout (rill__schema_compatible), for
 * a holder of the only reference (a union names rows of all its inputs by its own schema). */
void rill__batch_set_schema(rill_batch *b, const rill_schema *schema);
/* Empties b for reuse (rows, bytes, hashes, timestamps). */
void rill__batch_clear(rill_batch *b);
/* View of row i. */
static inline rill_row rill__batch_row(rill_batch *b, uint32_t i)
{
    uint64_t *base = b->rows + (size_t)i * b->row_words;
    return (rill_row){.v = base + b->null_words, .nulls = base, .batch = b};
}
/* Appends a row with every field NULL; the batch must not be full. */
static inline rill_row rill__batch_append(rill_batch *b)
{
    RILL_DASSERT(b->n_rows < b->cap_rows);
    uint64_t *base = b->rows + (size_t)b->n_rows * b->row_words;
    for (uint32_t w = 0; w < b->null_words; w++)
        base[w] = ~UINT64_C(0);
    memset(base + b->null_words, 0, b->n_fields * sizeof(uint64_t)); /* NULL reads as 0 */
    if (RILL_UNLIKELY(b->has_kinds))
        b->kinds[b->n_rows] = RILL_ROW_INSERT;
    b->n_rows++;
    return (rill_row){.v = base + b->null_words, .nulls = base, .batch = b};
}
/* Removes the last row (a decoder that failed half-way through one). */
void rill__batch_pop(rill_batch *b);
/* Appends a copy of row src (of any batch with the same field types) to b, which must not be
 * full; byte-area values (strings, bytes, wide decimals) are copied into b's bytes, and the
 * row kind is carried. Hashes and timestamps are the caller's to carry. */
rill_row rill__batch_append_copy(rill_batch *b, const rill_row *src);
/* Copies n bytes into b's string area and returns the slot value (offset << 32 | n).
 * RILL_ELIMIT (as the return of the int form) past 4 GiB. */
int rill__batch_put_bytes(rill_batch *b, const void *p, size_t n, uint64_t *slot_out);

/* A row as bytes, to keep in state and read back into a batch of its schema: the null words,
 * the slots (a NULL's 0, a string's its offset << 32 | length among the strings), then the
 * strings' bytes. Equal rows encode to equal bytes (their kinds aside). encode appends to e;
 * decode fills out (a row of a batch of the same schema) from enc: 0 or RILL_ENOMEM. */
void rill__row_encode(const rill_row *row, rill__buf *e);
/* Fields src_first.. of src into fields dst_first.. of dst (n of them, of the same slot types;
 * byte-area values copied into dst's batch). A NULL leaves dst's field as it is (a row just
 * emitted has every field NULL). 0 or RILL_ELIMIT. */
int rill__row_copy_fields(rill_row *dst, int dst_first, const rill_row *src, int src_first,
                          int n);
int rill__row_decode(rill_row *out, const void *enc);
/* Allocates hashes / timestamps arrays (not initialised) if not there yet. */
void rill__batch_need_hashes(rill_batch *b);
void rill__batch_need_ts(rill_batch *b);
/* A copy of b (rows, strings, hashes, timestamps, kinds, split marks) with one reference, of
 * no pool: for a consumer that gets b beside others (fan-out) and may change it. */
rill_batch *rill__batch_clone(const rill_batch *b);
/* Allocates the kinds array if not there yet and turns it on, every row so far an insert. */
void rill__batch_need_kinds(rill_batch *b);
/* Index of row r in its batch, or -1 when r is not one of its batch's rows (a scratch view). */
static inline int64_t rill__batch_row_index(const rill_batch *b, const rill_row *r)
{
    if (r->nulls < b->rows || r->nulls >= b->rows + (size_t)b->n_rows * b->row_words)
        return -1;
    size_t off = (size_t)(r->nulls - b->rows);
    return off % b->row_words ? -1 : (int64_t)(off / b->row_words);
}
/* Kind of row i of b. */
static inline rill_rowkind rill__batch_kind(const rill_batch *b, uint32_t i)
{
    return b->has_kinds ? (rill_rowkind)b->kinds[i] : RILL_ROW_INSERT;
}
/* Sets the kind of row i of b (allocating the kinds only for a non-insert). */
static inline void rill__batch_set_kind(rill_batch *b, uint32_t i, rill_rowkind k)
{
    if (!b->has_kinds) {
        if (k == RILL_ROW_INSERT)
            return;
        rill__batch_need_kinds(b);
    }
    b->kinds[i] = (uint8_t)k;
}
static inline const char *rill__batch_str(const rill_batch *b, uint64_t slot, size_t *len_out)
{
    *len_out = (size_t)(slot & 0xffffffffu);
    return *len_out ? b->bytes + (slot >> 32) : ""; /* never NULL, even with no bytes yet */
}

/* ---- keys and key groups ------------------------------------------------------------------ */

#define RILL_MAX_KEY_FIELDS 16

/* Which fields form the key. The canonical key bytes are, per field in order: the slot's 8
 * bytes as it is in memory (BOOL 0/1; INT8/16/32, DATE, INTERVAL_YM sign-extended to 64
 * bits; INT64, TIMESTAMP(_LTZ) and TIME at their field's unit; FLOAT's IEEE bits in the low 32
 * with the high 32 zero; DOUBLE's IEEE bits; DECIMAL(p <= 18) the unscaled int64), or for a
 * byte-area value a 4-byte length and the bytes (STRING, BYTES; DECIMAL(p > 18): 16 and the
 * little-endian int128 unscaled value); NULL fields add nothing, and when any key field is
 * nullable the whole is preceded by one byte per field, 1 for NULL. Equal values of one type
 * have equal key bytes, except that -0.0 and 0.0 (and NaNs of different bits) differ. */
typedef struct rill__key_spec {
    int n;
    int idx[RILL_MAX_KEY_FIELDS];
    rill_type type[RILL_MAX_KEY_FIELDS];
    bool in_bytes[RILL_MAX_KEY_FIELDS]; /* length-prefixed in the key bytes */
    bool any_nullable;
    bool fast_u64; /* one non-nullable 8-byte field: key bytes are its slot */
} rill__key_spec;

/* Resolves "a,b" against schema. 0, or RILL_EINVAL with the message in err. */
int rill__key_spec_init(rill__key_spec *k, const rill_schema *schema, const char *fields,
                        rill__err *err);
/* Writes the canonical key bytes of row into buf (grown as needed); returns their length. */
size_t rill__key_encode(const rill__key_spec *k, const rill_row *row, rill__buf *buf);
/* Hash of the canonical key bytes. */
static inline uint64_t rill__key_hash(const rill__key_spec *k, const rill_row *row,
                                      rill__buf *scratch)
{
    if (RILL_LIKELY(k->fast_u64))
        return rill__hash_u64(row->v[k->idx[0]]);
    scratch->len = 0;
    size_t n = rill__key_encode(k, row, scratch);
    return rill__hash_bytes(scratch->data, n, 0);
}

/* Key group of a key hash, 0..max_par-1 (multiply-shift of the upper 32 bits). */
static inline int rill__key_group(uint64_t hash, int max_par)
{
    return (int)(((hash >> 32) * (uint64_t)max_par) >> 32);
}
/* Subtask that owns key group kg (Flink's formula). */
static inline int rill__kg_subtask(int kg, int max_par, int par)
{
    return (int)((int64_t)kg * par / max_par);
}
/* The contiguous key groups [*first, *last] of subtask i of par. */
void rill__kg_range(int subtask, int max_par, int par, int *first, int *last);

/* ---- codecs -------------------------------------------------------------------------------- */

/* Where and why one record failed to decode. */
typedef struct rill__parse_err {
    long column;   /* 1-based byte column in the line where the bad value starts */
    int field;     /* schema field index, or -1 */
    char what[256]; /* "expected INT64 for field 'amount', got \"12x\"" */
} rill__parse_err;

/*
 * A decoder turns one line of text into one row appended to a batch. For CSV it maps columns
 * to fields: by the header line (rill__decoder_header), or by position. JSON lines are
 * objects whose keys name fields; unknown keys are ignored, missing nullable fields are NULL.
 * TIMESTAMP values are epoch milliseconds, or ISO-8601 text ("2024-05-01T12:00:00.250Z",
 * "2024-05-01 12:00:00", UTC unless an offset is given); empty CSV fields and JSON null are
 * NULL (an error for NOT NULL fields).
 */
/* Options of Flink's csv and json formats the decoder applies (all zero: rill's defaults). */
typedef struct rill__decode_opts {
    char quote;               /* CSV: the quote character ('"' when 0) */
    bool allow_comments;      /* CSV: a line that starts with '#' is no row */
    const char *null_literal; /* CSV: a field of this text is NULL (borrowed; NULL: none) */
    bool short_rows_null;     /* CSV: a line with too few columns gives NULL for the rest */
    bool fail_on_missing;     /* JSON: a key the object lacks is an error (else NULL) */
    const char *array_delim;  /* CSV: between the values of a ROW column (";" when NULL) */
    const bool *given;        /* per field (or NULL): filled by the caller, not read from the
                               * line (a partition column): JSON takes its key for an unknown
                               * one and never misses it (borrowed) */
} rill__decode_opts;

typedef struct rill__decoder {
    const rill_schema *schema;
    rill_format format;
    char delim;
    rill__decode_opts opts;
    int n_cols;      /* CSV: columns in the header (or fields, without one) */
    int *col_field;  /* CSV: column -> field index, -1 to ignore */
    /* CSV: a ROW column (Flink's csv format: its fields' values in one column, separated by
     * the array element delimiter): col_nelem[c] > 0 elements, element j is field
     * elem_field[col_elem0[c] + j] (-1 to ignore); NULL when there is none */
    int *col_nelem, *col_elem0, *elem_field;
    rill__buf scratch;
    void *impl;      /* codec-private */
} rill__decoder;

void rill__decoder_init(rill__decoder *d, const rill_schema *schema, rill_format format,
                        char delim);
/* CSV: reads the header line and maps its columns; RILL_EPARSE with err when a NOT NULL
 * field has no column or a column is named twice. */
int rill__decoder_header(rill__decoder *d, const char *line, size_t len, rill__parse_err *err);
/* CSV without a header: the lines have n_cols columns, column leaves[i] is field i and the
 * others are skipped unconverted (a projection). leaves: n_fields increasing indices, or -1
 * for a field no column holds (filled by the caller). */
void rill__decoder_columns(rill__decoder *d, int n_cols, const int *leaves);
/* CSV without a header, with ROW columns: the lines have n_cols columns; field i is column
 * col[i] (-1: none), and when elem[i] >= 0 its element elem[i] of a ROW column (of
 * n_elem[col] elements). A ROW column with fewer elements is a bad record (or, with
 * short_rows_null, NULL in the missing ones); an empty one is NULL in all. */
void rill__decoder_layout(rill__decoder *d, int n_cols, const int *col, const int *elem,
                          const int *n_elem);
/* Decodes one line (without its line terminator) into a new row of b (which must not be
 * full). 0; or RILL_EPARSE with err filled and no row added; or RILL_ELIMIT (err filled) when
 * the batch's string area is full. */
int rill__decode_line(rill__decoder *d, const char *line, size_t len, rill_batch *b,
                      rill__parse_err *err);
/* Sets field f of the row b holds last from text s (n bytes) as a CSV field of its type is
 * read (an empty text is NULL): a value that is no line's, such as a partition's. 0 or
 * RILL_EPARSE / RILL_ELIMIT with err filled. */
int rill__decode_field_text(rill__decoder *d, rill_batch *b, int f, const char *s, size_t n,
                            rill__parse_err *err);
/* Sets the format options (before the first line); opts is copied, its strings borrowed. */
void rill__decoder_set_opts(rill__decoder *d, const rill__decode_opts *opts);
void rill__decoder_close(rill__decoder *d);

/* Encoders append text with a trailing '\n'. Doubles print in the shortest form that reads
 * back exactly; TIMESTAMP as epoch milliseconds; NULL as an empty CSV field or JSON null. */
void rill__encode_csv_header(const rill_schema *s, char delim, rill__buf *out);
void rill__encode_csv_row(const rill_schema *s, const rill_row *row, char delim, rill__buf *out);
void rill__encode_json_row(const rill_schema *s, const rill_row *row, rill__buf *out);

#endif /* RILL_DATA_H */
