/* remote.c - runtime layer: remote channels. The wire encoding of channel messages, and the
 * endpoint that multiplexes channels over one TCP connection between TaskManagers with
 * credit-based flow control. docs/protocol.md section 6 is the specification. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "remote.h"

#define FLAG_TS         1u
#define FLAG_HASHES     2u
#define FLAG_SPLIT_DONE 4u
#define FLAG_SPLIT_NEW  8u
#define FLAG_KINDS      16u
#define FLAGS_ALL       (FLAG_TS | FLAG_HASHES | FLAG_SPLIT_DONE | FLAG_SPLIT_NEW | FLAG_KINDS)
#define MAX_FIELDS      4096
#define MAX_CREDIT      (1u << 30) /* a sender holding more than this is talking nonsense */
#define FRAMES_PER_TURN 64         /* frames read before the I/O thread looks at its sends */

/* ---- codec ---------------------------------------------------------------------------------- */

static void enc_chan(rill__enc *e, rill__remote_chan_id id)
{
    rill__enc_u32(e, id.edge);
    rill__enc_u16(e, id.from);
    rill__enc_u16(e, id.to);
}

/* The bytes one row of schema s takes at most on the wire, when it has no strings (0: it has
 * some, the per-value path is taken). */
static size_t fixed_row_max(const rill_schema *s)
{
    size_t n = ((size_t)s->n_fields + 7) / 8;
    for (int i = 0; i < s->n_fields; i++) {
        if (s->fields[i].in_bytes)
            return 0;
        n += s->fields[i].type == RILL_T_BOOL ? 1 : 8;
    }
    return n;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LE_HOST 1 /* the wire's byte order: 8-byte values are copied as they are in memory */
#else
#define LE_HOST 0
#endif

/* The rows, timestamps and hashes of a batch without strings, written in one go: the same
 * bytes the per-value path writes, without a call per value. */
static void enc_rows_fixed(rill__enc *e, const rill_batch *b, size_t row_max)
{
    const rill_schema *s = b->schema;
    int nf = s->n_fields;
    size_t null_bytes = ((size_t)nf + 7) / 8;
    size_t need = (size_t)b->n_rows * (row_max + (b->has_ts ? 8 : 0) + (b->has_hashes ? 8 : 0));
    rill__buf_reserve(e->b, need);
    uint8_t *p0 = (uint8_t *)e->b->data + e->b->len, *p = p0;
    uint8_t pad = (nf & 7) ? (uint8_t)((1u << (nf & 7)) - 1) : 0xff;
    for (uint32_t r = 0; r < b->n_rows; r++) {
        rill_row row = rill__batch_row((rill_batch *)b, r);
        memcpy(p, row.nulls, null_bytes); /* bit k of byte j: field 8j+k, as the wire has it */
        p[null_bytes - 1] &= pad;         /* padding bits 0 */
        p += null_bytes;
        for (int i = 0; i < nf; i++) {
            if (rill_row_is_null(&row, i))
                continue;
            if (s->fields[i].type == RILL_T_BOOL) {
                *p++ = row.v[i] != 0;
            } else {
                memcpy(p, &row.v[i], 8);
                p += 8;
            }
        }
    }
    if (b->has_ts) {
        memcpy(p, b->ts, (size_t)b->n_rows * 8);
        p += (size_t)b->n_rows * 8;
    }
    if (b->has_hashes) {
        memcpy(p, b->hashes, (size_t)b->n_rows * 8);
        p += (size_t)b->n_rows * 8;
    }
    e->b->len += (size_t)(p - p0);
    if (b->has_kinds)
        rill__buf_append(e->b, b->kinds, b->n_rows);
}

static void enc_batch(rill__enc *e, const rill_batch *b)
{
    const rill_schema *s = b->schema;
    int nf = s->n_fields;
    rill__enc_u16(e, (uint16_t)nf);
    for (int i = 0; i < nf; i++)
        rill__enc_u8(e, (uint8_t)s->fields[i].type);
    rill__enc_u32(e, b->n_rows);
    uint8_t flags = (b->has_ts ? FLAG_TS : 0) | (b->has_hashes ? FLAG_HASHES : 0) |
                    (b->split_done ? FLAG_SPLIT_DONE : 0) | (b->split_new ? FLAG_SPLIT_NEW : 0) |
                    (b->has_kinds ? FLAG_KINDS : 0);
    rill__enc_u8(e, flags);
    rill__enc_i64(e, b->split);
    size_t row_max = fixed_row_max(s);
    if (LE_HOST && row_max && nf > 0) {
        enc_rows_fixed(e, b, row_max);
        return;
    }
    for (uint32_t r = 0; r < b->n_rows; r++) {
        rill_row row = rill__batch_row((rill_batch *)b, r);
        for (int i = 0; i < nf; i += 8) { /* null bits, a byte per 8 fields, padding 0 */
            uint8_t byte = 0;
            for (int k = 0; k < 8 && i + k < nf; k++)
                byte |= (uint8_t)(rill_row_is_null(&row, i + k) << k);
            rill__enc_u8(e, byte);
        }
        for (int i = 0; i < nf; i++) {
            if (rill_row_is_null(&row, i))
                continue;
            if (s->fields[i].in_bytes) { /* STRING, BYTES, DECIMAL(p > 18) */
                size_t n;
                const char *p = rill__batch_str(b, row.v[i], &n);
                rill__enc_bytes(e, "string", p, n, RILL_FRAME_MAX_PAYLOAD);
            } else if (s->fields[i].type == RILL_T_BOOL) {
                rill__enc_u8(e, row.v[i] != 0);
            } else { /* every other kind: the slot's 8 bytes */
                rill__enc_u64(e, row.v[i]);
            }
        }
    }
    if (b->has_ts)
        for (uint32_t r = 0; r < b->n_rows; r++)
            rill__enc_i64(e, b->ts[r]);
    if (b->has_hashes)
        for (uint32_t r = 0; r < b->n_rows; r++)
            rill__enc_u64(e, b->hashes[r]);
    if (b->has_kinds)
        for (uint32_t r = 0; r < b->n_rows; r++)
            rill__enc_u8(e, b->kinds[r]);
}

int rill__remote_enc_msg(rill__buf *b, rill__remote_chan_id id, const rill__msg *m,
                         uint16_t *type_out, rill__err *err)
{
    size_t start = b->len;
    rill__enc e;
    rill__enc_init(&e, b);
    enc_chan(&e, id);
    switch (m->kind) {
    case RILL_MSG_BATCH:
        if (m->batch->schema->n_fields > MAX_FIELDS) {
            b->len = start;
            return rill__err_set(err, RILL_ELIMIT,
                                 "batch with %d fields: at most %d go on the wire",
                                 m->batch->schema->n_fields, MAX_FIELDS);
        }
        enc_batch(&e, m->batch);
        *type_out = RILL_FT_DATA_BATCH;
        break;
    case RILL_MSG_WATERMARK:
    case RILL_MSG_IDLE:
    case RILL_MSG_BARRIER:
    case RILL_MSG_END:
        rill__enc_u8(&e, (uint8_t)m->kind);
        rill__enc_i64(&e, m->value);
        *type_out = RILL_FT_DATA_EVENT;
        break;
    default:
        b->len = start;
        return rill__err_set(err, RILL_EINVAL, "message kind %d does not go on the wire",
                             (int)m->kind);
    }
    if (e.rc == 0 && b->len - start > RILL_FRAME_MAX_PAYLOAD)
        e.rc = RILL_ELIMIT;
    if (e.rc) {
        size_t n = b->len - start;
        b->len = start;
        return rill__err_set(err, e.rc,
                             "channel %u/%u->%u: a message of %zu bytes is over the "
                             "frame limit of %u bytes",
                             id.edge, id.from, id.to, n, RILL_FRAME_MAX_PAYLOAD);
    }
    return 0;
}

void rill__remote_enc_credit(rill__buf *b, rill__remote_chan_id id, uint32_t n)
{
    rill__enc e;
    rill__enc_init(&e, b);
    enc_chan(&e, id);
    rill__enc_u32(&e, n);
}

static void dec_chan(rill__dec *d, rill__remote_chan_id *id)
{
    id->edge = rill__dec_u32(d, "edge");
    id->from = rill__dec_u16(d, "from");
    id->to = rill__dec_u16(d, "to");
}

int rill__remote_dec_chan(const void *p, size_t n, rill__remote_chan_id *id, rill__err *err)
{
    rill__dec d;
    rill__dec_init(&d, p, RILL_MIN(n, 8));
    dec_chan(&d, id);
    return rill__dec_finish(&d, "data frame", err);
}

/* Marks the decoder failed at its current offset (a value out of range). */
static void dec_bad(rill__dec *d, int rc, const char *field)
{
    if (d->rc)
        return;
    d->rc = rc;
    d->field = field;
    d->at = d->off;
}

/* Whether an 8-byte slot value is one its kind can hold (narrow integers sign-extended, FLOAT
 * with its high bits 0): frames from a peer keep the slot invariants keys rely on. */
static bool slot_ok(rill_type t, uint64_t v)
{
    int64_t x = (int64_t)v;
    switch (t) {
    case RILL_T_INT8: return x >= INT8_MIN && x <= INT8_MAX;
    case RILL_T_INT16: return x >= INT16_MIN && x <= INT16_MAX;
    case RILL_T_INT32:
    case RILL_T_DATE:
    case RILL_T_INTERVAL_YM: return x >= INT32_MIN && x <= INT32_MAX;
    case RILL_T_FLOAT: return v >> 32 == 0;
    default: return true;
    }
}

/* Rows of a batch without strings, read in one go while the payload surely holds a whole row
 * (the last rows, and any row with something wrong, are left to the per-value path, which
 * names the field and offset). The number of rows decoded. */
static uint32_t dec_rows_fixed(rill__dec *d, const rill_schema *s, rill_batch *b,
                               uint32_t n_rows, size_t row_max)
{
    int nf = s->n_fields;
    size_t null_bytes = ((size_t)nf + 7) / 8;
    uint8_t pad = (nf & 7) ? (uint8_t)~((1u << (nf & 7)) - 1) : 0;
    uint32_t r = 0;
    for (; r < n_rows && d->len - d->off >= row_max; r++) {
        const uint8_t *p = d->p + d->off, *nb = p;
        if (nb[null_bytes - 1] & pad)
            break; /* padding bits set */
        p += null_bytes;
        bool bad = false;
        for (int i = 0; i < nf && !bad; i++) {
            bool null = (nb[i >> 3] >> (i & 7)) & 1;
            if (null)
                bad = !s->fields[i].nullable;
            else if (s->fields[i].type == RILL_T_BOOL)
                bad = *p++ > 1;
            else {
                uint64_t v;
                memcpy(&v, p, 8);
                bad = !slot_ok(s->fields[i].type, v);
                p += 8;
            }
        }
        if (bad)
            break;
        rill_row row = rill__batch_append(b);
        p = nb + null_bytes;
        for (int i = 0; i < nf; i++) {
            if ((nb[i >> 3] >> (i & 7)) & 1)
                continue;
            if (s->fields[i].type == RILL_T_BOOL) {
                rill_row_set_bool(&row, i, *p++);
            } else {
                memcpy(&row.v[i], p, 8);
                p += 8;
                row.nulls[i >> 6] &= ~(UINT64_C(1) << (i & 63));
            }
        }
        d->off += (size_t)(p - (d->p + d->off));
    }
    return r;
}

static void dec_batch(rill__dec *d, const rill__remote_spec *spec, rill_batch **out)
{
    const rill_schema *s = spec->schema;
    size_t at = d->off;
    uint16_t nf = rill__dec_u16(d, "n_fields");
    if (d->rc)
        return;
    if (nf != s->n_fields || nf > MAX_FIELDS) {
        d->off = at;
        dec_bad(d, RILL_EPROTO, "n_fields (the channel's schema differs)");
        return;
    }
    for (int i = 0; i < nf; i++) {
        at = d->off;
        uint8_t t = rill__dec_u8(d, "type");
        if (!d->rc && t != (uint8_t)s->fields[i].type) {
            d->off = at;
            dec_bad(d, RILL_EPROTO, "type (the channel's schema differs)");
        }
    }
    at = d->off;
    uint32_t n_rows = rill__dec_u32(d, "n_rows");
    if (!d->rc && n_rows > spec->max_rows) {
        d->off = at;
        dec_bad(d, RILL_ELIMIT, "n_rows");
    }
    at = d->off;
    uint8_t flags = rill__dec_u8(d, "flags");
    if (!d->rc && (flags & ~FLAGS_ALL)) {
        d->off = at;
        dec_bad(d, RILL_EPROTO, "flags");
    }
    at = d->off;
    int64_t split = rill__dec_i64(d, "split");
    if (!d->rc && (split < -1 || split > INT32_MAX)) {
        d->off = at;
        dec_bad(d, RILL_EPROTO, "split");
    }
    /* every row takes its null bytes at least: a count the payload cannot hold is refused
     * before a batch is allocated for it */
    size_t null_bytes = ((size_t)nf + 7) / 8;
    if (!d->rc && null_bytes && (size_t)n_rows * null_bytes > d->len - d->off) {
        dec_bad(d, RILL_EPROTO, "rows (more than the frame holds)");
    }
    if (d->rc)
        return;
    rill_batch *b =
        spec->pool ? rill__batch_get(spec->pool) : rill__batch_new(s, n_rows ? n_rows : 1);
    RILL_ASSERT(b->cap_rows >= n_rows);
    b->split = (int32_t)split;
    b->split_done = (flags & FLAG_SPLIT_DONE) != 0;
    b->split_new = (flags & FLAG_SPLIT_NEW) != 0;
    uint32_t r0 = 0;
    size_t row_max = LE_HOST && nf > 0 ? fixed_row_max(s) : 0;
    if (row_max)
        r0 = dec_rows_fixed(d, s, b, n_rows, row_max);
    for (uint32_t r = r0; r < n_rows && !d->rc; r++) {
        rill_row row = rill__batch_append(b);
        uint8_t nb[MAX_FIELDS / 8];
        for (size_t k = 0; k < null_bytes; k++) {
            at = d->off;
            nb[k] = rill__dec_u8(d, "nulls");
            /* padding bits are 0: one encoding per batch */
            if (!d->rc && k == null_bytes - 1 && (nf & 7) && (nb[k] >> (nf & 7))) {
                d->off = at;
                dec_bad(d, RILL_EPROTO, "nulls (padding bits set)");
            }
        }
        for (int i = 0; i < nf && !d->rc; i++) {
            if ((nb[i >> 3] >> (i & 7)) & 1) {
                if (!s->fields[i].nullable) {
                    dec_bad(d, RILL_EPROTO, "nulls (NULL in a NOT NULL field)");
                }
                continue;
            }
            at = d->off;
            const rill__field *fd = &s->fields[i];
            if (fd->in_bytes) {
                const uint8_t *p;
                size_t n;
                rill__dec_bytes(d, "string", RILL_FRAME_MAX_PAYLOAD, &p, &n);
                if (!d->rc && fd->type == RILL_T_DECIMAL && n != 16) {
                    d->off = at;
                    dec_bad(d, RILL_EPROTO, "decimal (not 16 bytes)");
                } else if (!d->rc && rill_row_set_str(&row, i, (const char *)p, n) != 0) {
                    dec_bad(d, RILL_ELIMIT, "string");
                }
            } else if (fd->type == RILL_T_BOOL) {
                uint8_t v = rill__dec_u8(d, "bool");
                if (!d->rc && v > 1) {
                    d->off = at;
                    dec_bad(d, RILL_EPROTO, "bool");
                }
                rill_row_set_bool(&row, i, v);
            } else {
                uint64_t v = rill__dec_u64(d, "value");
                if (!d->rc && !slot_ok(fd->type, v)) {
                    d->off = at;
                    dec_bad(d, RILL_EPROTO, "value (out of its type's range)");
                }
                row.v[i] = v;
                row.nulls[i >> 6] &= ~(UINT64_C(1) << (i & 63));
            }
        }
    }
    if (!d->rc && (flags & FLAG_TS)) {
        rill__batch_need_ts(b);
        b->has_ts = true;
        if (LE_HOST && d->len - d->off >= (size_t)n_rows * 8) {
            memcpy(b->ts, d->p + d->off, (size_t)n_rows * 8);
            d->off += (size_t)n_rows * 8;
        } else {
            for (uint32_t r = 0; r < n_rows; r++)
                b->ts[r] = rill__dec_i64(d, "ts");
        }
    }
    if (!d->rc && (flags & FLAG_HASHES)) {
        rill__batch_need_hashes(b);
        b->has_hashes = true;
        if (LE_HOST && d->len - d->off >= (size_t)n_rows * 8) {
            memcpy(b->hashes, d->p + d->off, (size_t)n_rows * 8);
            d->off += (size_t)n_rows * 8;
        } else {
            for (uint32_t r = 0; r < n_rows; r++)
                b->hashes[r] = rill__dec_u64(d, "hash");
        }
    }
    if (!d->rc && (flags & FLAG_KINDS)) {
        rill__batch_need_kinds(b);
        for (uint32_t r = 0; r < n_rows && !d->rc; r++) {
            at = d->off;
            uint8_t k = rill__dec_u8(d, "kind");
            if (!d->rc && k > RILL_ROW_DELETE) {
                d->off = at;
                dec_bad(d, RILL_EPROTO, "kind");
            }
            b->kinds[r] = k;
        }
    }
    if (d->rc) {
        rill__batch_unref(b);
        return;
    }
    *out = b;
}

int rill__remote_dec_msg(uint16_t type, const void *p, size_t n, const rill__remote_spec *spec,
                         rill__remote_chan_id *id, rill__msg *out, rill__err *err)
{
    memset(out, 0, sizeof *out);
    rill__dec d;
    rill__dec_init(&d, p, n);
    dec_chan(&d, id);
    const char *what = "data event";
    if (type == RILL_FT_DATA_BATCH) {
        what = "data batch";
        rill_batch *b = NULL;
        if (!d.rc)
            dec_batch(&d, spec, &b);
        out->kind = RILL_MSG_BATCH;
        out->batch = b;
    } else if (type == RILL_FT_DATA_EVENT) {
        size_t at = d.off;
        uint8_t kind = rill__dec_u8(&d, "kind");
        if (!d.rc && kind != RILL_MSG_WATERMARK && kind != RILL_MSG_IDLE &&
            kind != RILL_MSG_BARRIER && kind != RILL_MSG_END) {
            d.off = at;
            dec_bad(&d, RILL_EPROTO, "kind");
        }
        at = d.off;
        int64_t v = rill__dec_i64(&d, "value");
        bool ok = kind == RILL_MSG_WATERMARK || (kind == RILL_MSG_IDLE && (v == 0 || v == 1)) ||
                  (kind == RILL_MSG_BARRIER && v >= 1) || (kind == RILL_MSG_END && v >= 0);
        if (!d.rc && !ok) {
            d.off = at;
            dec_bad(&d, RILL_EPROTO, "value");
        }
        out->kind = (rill__msg_kind)kind;
        out->value = v;
    } else {
        return rill__err_set(err, RILL_EPROTO, "frame type 0x%04x is not a data message", type);
    }
    int rc = rill__dec_finish(&d, what, err);
    if (rc) {
        rill__batch_unref(out->batch);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

int rill__remote_dec_credit(const void *p, size_t n, rill__remote_chan_id *id, uint32_t *credits,
                            rill__err *err)
{
    rill__dec d;
    rill__dec_init(&d, p, n);
    dec_chan(&d, id);
    size_t at = d.off;
    *credits = rill__dec_u32(&d, "credits");
    if (!d.rc && (*credits == 0 || *credits > MAX_CREDIT)) {
        d.off = at;
        dec_bad(&d, RILL_EPROTO, "credits");
    }
    return rill__dec_finish(&d, "data credit", err);
}

/* ---- endpoint ------------------------------------------------------------------------------- */

typedef struct remote_out {
    rill__remote_chan_id id;
    rill__channel *ring; /* owned: the producer task pushes, the I/O thread pops */
    uint32_t credit;     /* messages the receiver has room for */
    bool ended;          /* END has been queued for the socket */
} remote_out;

typedef struct remote_in {
    rill__remote_chan_id id;
    rill__channel *ring; /* borrowed: the I/O thread pushes, the consumer task pops */
    rill_schema *schema; /* referenced */
    rill__batch_pool *pool;
    uint64_t granted, delivered; /* credits sent; messages received (each took one) */
    size_t cap;
    bool ended;
} remote_in;

struct rill__remote {
    int fd, efd;
    char *name;
    rill__remote_config cfg;
    rill__frame_reader rd;
    rill__frame_writer wr;
    uint16_t types[3];
    remote_out *outs;
    size_t n_out;
    remote_in *ins;
    size_t n_in;
    size_t next_out; /* round robin over outputs */
    rill__buf scratch;
    bool stalled; /* scratch holds a frame of stalled_type the writer had no room for */
    bool shut_wr; /* half_close: the sending half is shut */
    uint16_t stalled_type;
    rill__parker parker; /* the I/O thread's: rings wake it through efd */
    pthread_t thread;
    bool started;
    atomic_bool stop;
    pthread_mutex_t mu; /* guards the fields below */
    pthread_cond_t cv;
    bool ended;
    int rc;
    rill__err err;
    /* counted by the I/O thread, read by rill__remote_get_stats: relaxed atomics, no lock per
     * frame */
    atomic_uint_fast64_t st_frames_out, st_frames_in, st_credits_granted, st_credits_received;
    atomic_size_t st_max_out_pending;
};

void rill__remote_config_default(rill__remote_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_payload = RILL_FRAME_MAX_PAYLOAD;
    cfg->max_rows = 4096;
    cfg->out_capacity = 64;
    cfg->out_buffer_bytes = (size_t)1 << 20;
}

static int chan_cmp(rill__remote_chan_id a, rill__remote_chan_id b)
{
    if (a.edge != b.edge)
        return a.edge < b.edge ? -1 : 1;
    if (a.from != b.from)
        return a.from < b.from ? -1 : 1;
    return a.to == b.to ? 0 : (a.to < b.to ? -1 : 1);
}

static int out_cmp(const void *a, const void *b)
{
    return chan_cmp(((const remote_out *)a)->id, ((const remote_out *)b)->id);
}

static int in_cmp(const void *a, const void *b)
{
    return chan_cmp(((const remote_in *)a)->id, ((const remote_in *)b)->id);
}

static remote_out *find_out(rill__remote *e, rill__remote_chan_id id)
{
    remote_out key = {.id = id};
    if (!e->n_out)
        return NULL;
    return bsearch(&key, e->outs, e->n_out, sizeof *e->outs, out_cmp);
}

static remote_in *find_in(rill__remote *e, rill__remote_chan_id id)
{
    remote_in key = {.id = id};
    if (!e->n_in)
        return NULL;
    return bsearch(&key, e->ins, e->n_in, sizeof *e->ins, in_cmp);
}

static bool registered(rill__remote *e, rill__remote_chan_id id)
{
    for (size_t i = 0; i < e->n_out; i++)
        if (chan_cmp(e->outs[i].id, id) == 0)
            return true;
    for (size_t i = 0; i < e->n_in; i++)
        if (chan_cmp(e->ins[i].id, id) == 0)
            return true;
    return false;
}

rill__remote *rill__remote_new(int fd, rill__frame_reader *r, const rill__remote_config *cfg,
                               const char *name)
{
    rill__remote *e = rill__xcalloc(1, sizeof *e);
    e->fd = fd;
    e->name = rill__xstrdup(name ? name : "?");
    e->cfg = *cfg;
    if (e->cfg.max_payload == 0 || e->cfg.max_payload > RILL_FRAME_MAX_PAYLOAD)
        e->cfg.max_payload = RILL_FRAME_MAX_PAYLOAD;
    RILL_ASSERT(e->cfg.out_capacity >= 2 && (e->cfg.out_capacity & (e->cfg.out_capacity - 1)) == 0);
    e->rd = *r; /* taken over, with what it read ahead */
    memset(r, 0, sizeof *r);
    e->types[0] = RILL_FT_DATA_BATCH;
    e->types[1] = RILL_FT_DATA_EVENT;
    e->types[2] = RILL_FT_DATA_CREDIT;
    rill__frame_reader_accept(&e->rd, e->types, 3);
    e->rd.max_payload = e->cfg.max_payload;
    rill__frame_writer_init(&e->wr, e->cfg.out_buffer_bytes);
    rill__parker_init(&e->parker);
    e->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (e->efd < 0)
        rill__panic(__FILE__, __LINE__, "eventfd: %s", strerror(errno));
    e->parker.wake_fd = e->efd;
    atomic_init(&e->stop, false);
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    return e;
}

rill__channel *rill__remote_add_output(rill__remote *e, rill__remote_chan_id id,
                                       rill__parker *producer, rill__err *err)
{
    if (e->started || registered(e, id)) {
        rill__err_set(err, RILL_EINVAL, "channel %u/%u->%u: %s", id.edge, id.from, id.to,
                      e->started ? "the endpoint has started" : "registered twice");
        return NULL;
    }
    e->outs = rill__xrealloc(e->outs, (e->n_out + 1) * sizeof *e->outs);
    remote_out *o = &e->outs[e->n_out++];
    memset(o, 0, sizeof *o);
    o->id = id;
    o->ring = rill__channel_new(e->cfg.out_capacity);
    o->ring->producer = producer;
    o->ring->consumer = &e->parker;
    return o->ring;
}

int rill__remote_add_input(rill__remote *e, rill__remote_chan_id id, rill__channel *ring,
                           const rill_schema *schema, rill__err *err)
{
    if (e->started || registered(e, id))
        return rill__err_set(err, RILL_EINVAL, "channel %u/%u->%u: %s", id.edge, id.from, id.to,
                             e->started ? "the endpoint has started" : "registered twice");
    e->ins = rill__xrealloc(e->ins, (e->n_in + 1) * sizeof *e->ins);
    remote_in *in = &e->ins[e->n_in++];
    memset(in, 0, sizeof *in);
    in->id = id;
    in->ring = ring;
    in->cap = ring->mask + 1;
    ring->producer = &e->parker;
    in->schema = rill__schema_ref(schema);
    /* every batch in the ring, plus the one being decoded, comes from the pool */
    in->pool = rill__batch_pool_new(schema, e->cfg.max_rows, (uint32_t)in->cap + 1);
    return 0;
}

/* The I/O thread's end: recorded once, then told. */
RILL_PRINTF(3, 4) static void finish(rill__remote *e, int rc, const char *fmt, ...);
static void finish(rill__remote *e, int rc, const char *fmt, ...)
{
    pthread_mutex_lock(&e->mu);
    if (!e->ended) {
        e->ended = true;
        e->rc = rc;
        va_list ap;
        va_start(ap, fmt);
        rill__err_vset(&e->err, rc, fmt, ap);
        va_end(ap);
        pthread_cond_broadcast(&e->cv);
    }
    pthread_mutex_unlock(&e->mu);
    if (e->cfg.on_end)
        e->cfg.on_end(e->cfg.on_end_arg, e, rc, e->err.msg);
}

static int put_frame(rill__remote *e, uint16_t type, const rill__buf *payload)
{
    int rc = rill__frame_writer_put(&e->wr, type, payload->data, payload->len);
    if (rc == 0) {
        size_t pending = rill__frame_writer_pending(&e->wr);
        atomic_fetch_add_explicit(&e->st_frames_out, 1, memory_order_relaxed);
        if (pending > atomic_load_explicit(&e->st_max_out_pending, memory_order_relaxed))
            atomic_store_explicit(&e->st_max_out_pending, pending, memory_order_relaxed);
    }
    return rc;
}

/* A received BATCH or EVENT: into its channel's ring. */
static int on_data(rill__remote *e, const rill__frame *f, rill__err *err)
{
    rill__remote_chan_id id;
    int rc = rill__remote_dec_chan(f->payload, f->len, &id, err);
    if (rc)
        return rc;
    remote_in *in = find_in(e, id);
    if (!in)
        return rill__err_set(err, RILL_EPROTO,
                             "data for channel %u/%u->%u, which is not an "
                             "input here",
                             id.edge, id.from, id.to);
    if (in->ended)
        return rill__err_set(err, RILL_EPROTO, "data for channel %u/%u->%u after its end", id.edge,
                             id.from, id.to);
    if (in->delivered == in->granted)
        return rill__err_set(err, RILL_EPROTO, "data for channel %u/%u->%u without a credit",
                             id.edge, id.from, id.to);
    rill__remote_spec spec = {.schema = in->schema, .max_rows = e->cfg.max_rows, .pool = in->pool};
    rill__msg m;
    if ((rc = rill__remote_dec_msg(f->type, f->payload, f->len, &spec, &id, &m, err)) != 0)
        return rc;
    /* the credits never exceed the ring's free slots, so this cannot fail */
    bool ok = rill__channel_try_push(in->ring, &m);
    RILL_ASSERT(ok);
    in->delivered++;
    if (m.kind == RILL_MSG_END)
        in->ended = true;
    return 0;
}

static int on_credit(rill__remote *e, const rill__frame *f, rill__err *err)
{
    rill__remote_chan_id id;
    uint32_t n;
    int rc = rill__remote_dec_credit(f->payload, f->len, &id, &n, err);
    if (rc)
        return rc;
    remote_out *o = find_out(e, id);
    if (!o)
        return rill__err_set(err, RILL_EPROTO,
                             "credit for channel %u/%u->%u, which is not an "
                             "output here",
                             id.edge, id.from, id.to);
    if (o->credit + (uint64_t)n > MAX_CREDIT)
        return rill__err_set(err, RILL_EPROTO, "channel %u/%u->%u: credit over %u", id.edge,
                             id.from, id.to, MAX_CREDIT);
    o->credit += n;
    atomic_fetch_add_explicit(&e->st_credits_received, n, memory_order_relaxed);
    return 0;
}

static bool all_ended(const rill__remote *e)
{
    for (size_t i = 0; i < e->n_in; i++)
        if (!e->ins[i].ended)
            return false;
    for (size_t i = 0; i < e->n_out; i++)
        if (!e->outs[i].ended)
            return false;
    return rill__frame_writer_pending(&e->wr) == 0 && !e->stalled;
}

/* Reads what the socket has (at most FRAMES_PER_TURN frames). 0, 1 when there may be more,
 * RILL_DONE when the peer closed, or an error (in err). */
static int do_reads(rill__remote *e, rill__err *err)
{
    for (int k = 0; k < FRAMES_PER_TURN; k++) {
        rill__frame f;
        int rc = rill__frame_read(&e->rd, e->fd, &f);
        if (rc == RILL_AGAIN)
            return 0;
        if (rc == RILL_DONE)
            return RILL_DONE;
        if (rc < 0)
            return rill__err_set(err, rc, "%s", e->rd.err.msg);
        atomic_fetch_add_explicit(&e->st_frames_in, 1, memory_order_relaxed);
        rc = f.type == RILL_FT_DATA_CREDIT ? on_credit(e, &f, err) : on_data(e, &f, err);
        if (rc)
            return rc;
    }
    return 1;
}

/* Credits a channel can be granted now: the ring's free slots not promised yet. */
static uint64_t grantable(const remote_in *in)
{
    size_t head = atomic_load_explicit(&in->ring->head, memory_order_acquire);
    return (uint64_t)head + in->cap - in->granted;
}

/* Grants credits where the consumer has freed half its ring, or where the sender holds none. */
static bool want_grant(const remote_in *in)
{
    uint64_t g = grantable(in);
    return !in->ended && g > 0 && (g >= (in->cap + 1) / 2 || in->granted == in->delivered);
}

static int do_credits(rill__remote *e, bool *progress)
{
    for (size_t i = 0; i < e->n_in && !e->stalled; i++) {
        remote_in *in = &e->ins[i];
        if (!want_grant(in))
            continue;
        uint64_t g = grantable(in);
        e->scratch.len = 0;
        rill__remote_enc_credit(&e->scratch, in->id, (uint32_t)g);
        int rc = put_frame(e, RILL_FT_DATA_CREDIT, &e->scratch);
        if (rc == RILL_AGAIN) {
            e->stalled = true;
            e->stalled_type = RILL_FT_DATA_CREDIT;
        } else if (rc) {
            return rc;
        }
        in->granted += g; /* a stalled frame goes first once the writer has room */
        atomic_fetch_add_explicit(&e->st_credits_granted, g, memory_order_relaxed);
        *progress = true;
    }
    return 0;
}

static bool out_ready(const remote_out *o)
{
    return !o->ended && o->credit > 0 &&
           atomic_load_explicit(&o->ring->tail, memory_order_acquire) !=
               atomic_load_explicit(&o->ring->head, memory_order_relaxed);
}

/* Sends queued messages of channels with credits, round robin, while the writer has room. */
static int do_sends(rill__remote *e, bool *progress, rill__err *err)
{
    bool any = true;
    while (any && !e->stalled) {
        any = false;
        for (size_t k = 0; k < e->n_out && !e->stalled; k++) {
            remote_out *o = &e->outs[(e->next_out + k) % e->n_out];
            rill__msg m;
            if (o->ended || o->credit == 0 || !rill__channel_try_pop(o->ring, &m))
                continue;
            e->scratch.len = 0;
            uint16_t type;
            int rc = rill__remote_enc_msg(&e->scratch, o->id, &m, &type, err);
            if (m.kind == RILL_MSG_BATCH)
                rill__batch_unref(m.batch);
            if (rc)
                return rc;
            o->credit--;
            if (m.kind == RILL_MSG_END)
                o->ended = true;
            rc = put_frame(e, type, &e->scratch);
            if (rc == RILL_AGAIN) {
                e->stalled = true;
                e->stalled_type = type;
            } else if (rc) {
                return rill__err_set(err, rc, "%s", e->wr.err.msg);
            }
            any = *progress = true;
        }
        e->next_out = e->n_out ? (e->next_out + 1) % e->n_out : 0;
    }
    return 0;
}

static int do_flush(rill__remote *e, rill__err *err)
{
    for (;;) {
        int rc = rill__frame_writer_flush(&e->wr, e->fd);
        if (rc == RILL_AGAIN)
            return 0;
        if (rc < 0)
            return rill__err_set(err, rc, "%s", e->wr.err.msg);
        if (!e->stalled)
            return 0;
        /* the writer is empty: the stalled frame always fits now */
        rc = put_frame(e, e->stalled_type, &e->scratch);
        if (rc)
            return rill__err_set(err, rc, "%s", e->wr.err.msg);
        e->stalled = false;
    }
}

static bool has_work(rill__remote *e)
{
    if (atomic_load(&e->stop) || rill__frame_reader_buffered(&e->rd) > 0)
        return true;
    if (e->stalled)
        return false; /* only the socket can unblock it */
    for (size_t i = 0; i < e->n_in; i++)
        if (want_grant(&e->ins[i]))
            return true;
    for (size_t i = 0; i < e->n_out; i++)
        if (out_ready(&e->outs[i]))
            return true;
    return false;
}

static void *io_main(void *arg)
{
    rill__remote *e = arg;
    rill__err err = {0};
    int rc = 0;
    bool peer_closed = false;
    while (!atomic_load(&e->stop)) {
        bool progress = false;
        if (!peer_closed) {
            rc = do_reads(e, &err);
            if (rc == RILL_DONE) {
                peer_closed = true;
                rc = 0;
            } else if (rc == 1) {
                progress = true;
                rc = 0;
            }
        }
        if (rc == 0)
            rc = do_credits(e, &progress);
        if (rc == 0)
            rc = do_sends(e, &progress, &err);
        if (rc == 0)
            rc = do_flush(e, &err);
        if (rc == 0 && e->cfg.half_close && !e->shut_wr && all_ended(e)) {
            /* nothing more goes out: the peer sees the orderly end now, not at our free */
            if (shutdown(e->fd, SHUT_WR) < 0)
                rc = rill__err_set(&err, -errno, "shutdown: %s", strerror(errno));
            e->shut_wr = true;
        }
        if (rc)
            break;
        if (peer_closed) {
            if (all_ended(e)) {
                finish(e, 0, "data connection %s: every channel ended", e->name);
                return NULL;
            }
            for (size_t i = 0; i < e->n_in; i++)
                if (!e->ins[i].ended) {
                    rc = rill__err_set(&err, RILL_EPROTO,
                                       "the peer closed the connection with "
                                       "channel %u/%u->%u still open",
                                       e->ins[i].id.edge, e->ins[i].id.from, e->ins[i].id.to);
                    break;
                }
            if (rc == 0)
                rc = rill__err_set(&err, RILL_EPROTO,
                                   "the peer closed the connection before every output ended");
            break;
        }
        if (progress)
            continue;
        rill__parker_prepare(&e->parker);
        if (has_work(e)) {
            rill__parker_cancel(&e->parker);
            continue;
        }
        struct pollfd p[2] = {
            {.fd = e->fd,
             .events = (short)(POLLIN | (rill__frame_writer_pending(&e->wr) ? POLLOUT : 0))},
            {.fd = e->efd, .events = POLLIN}};
        int n = poll(p, 2, -1);
        rill__parker_cancel(&e->parker);
        if (n < 0 && errno != EINTR) {
            rc = rill__err_set(&err, -errno, "poll: %s", strerror(errno));
            break;
        }
        uint64_t v; /* only when the eventfd fired: no syscall for a wake-up by the socket */
        if (n > 0 && (p[1].revents & POLLIN))
            while (read(e->efd, &v, sizeof v) > 0) {
            }
    }
    if (rc)
        finish(e, rc, "data connection %s: %s", e->name, err.msg);
    else
        finish(e, RILL_ECANCELED, "data connection %s: closed by this side", e->name);
    return NULL;
}

int rill__remote_start(rill__remote *e)
{
    RILL_ASSERT(!e->started);
    if (e->n_out)
        qsort(e->outs, e->n_out, sizeof *e->outs, out_cmp);
    if (e->n_in)
        qsort(e->ins, e->n_in, sizeof *e->ins, in_cmp);
    int rc = rill__net_set_nonblock(e->fd, true);
    if (rc)
        return rc;
    if ((rc = pthread_create(&e->thread, NULL, io_main, e)) != 0)
        return -rc;
    e->started = true;
    return 0;
}

int rill__remote_wait(rill__remote *e, int timeout_ms, rill__err *err)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = ts.tv_nsec + (int64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000;
    ts.tv_sec += ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    pthread_mutex_lock(&e->mu);
    while (!e->ended) {
        if (timeout_ms < 0)
            pthread_cond_wait(&e->cv, &e->mu);
        else if (pthread_cond_timedwait(&e->cv, &e->mu, &ts) != 0)
            break;
    }
    int rc = e->ended ? e->rc : RILL_AGAIN;
    if (e->ended && err)
        *err = e->err;
    pthread_mutex_unlock(&e->mu);
    return rc;
}

void rill__remote_get_stats(rill__remote *e, rill__remote_stats *out)
{
    out->frames_out = atomic_load_explicit(&e->st_frames_out, memory_order_relaxed);
    out->frames_in = atomic_load_explicit(&e->st_frames_in, memory_order_relaxed);
    out->credits_granted = atomic_load_explicit(&e->st_credits_granted, memory_order_relaxed);
    out->credits_received = atomic_load_explicit(&e->st_credits_received, memory_order_relaxed);
    out->max_out_pending = atomic_load_explicit(&e->st_max_out_pending, memory_order_relaxed);
}

void rill__remote_free(rill__remote *e)
{
    if (!e)
        return;
    if (e->started) {
        atomic_store(&e->stop, true);
        rill__parker_unpark(&e->parker);
        pthread_join(e->thread, NULL);
    }
    close(e->fd);
    close(e->efd);
    for (size_t i = 0; i < e->n_out; i++)
        rill__channel_free(e->outs[i].ring);
    for (size_t i = 0; i < e->n_in; i++) {
        rill_schema_free(e->ins[i].schema);
        rill__batch_pool_free(e->ins[i].pool);
    }
    free(e->outs);
    free(e->ins);
    rill__frame_reader_close(&e->rd);
    rill__frame_writer_close(&e->wr);
    rill__buf_free(&e->scratch);
    rill__parker_destroy(&e->parker);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    free(e->name);
    free(e);
}
