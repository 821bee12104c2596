/*
 * codec.c - base layer: the binary codec every file format and wire message uses: fixed-width
 * little-endian integers, length-prefixed bytes and strings, every length checked against a
 * limit before it is used, the first error kept with the field and offset it came from.
 */
#include <string.h>

#include "base.h"

/* ---- encoding -------------------------------------------------------------------------------- */

static void put_le(rill__enc *e, uint64_t v, int n)
{
    uint8_t b[8];
    for (int i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    rill__buf_append(e->b, b, (size_t)n);
}

void rill__enc_u8(rill__enc *e, uint8_t v)
{
    put_le(e, v, 1);
}

void rill__enc_u16(rill__enc *e, uint16_t v)
{
    put_le(e, v, 2);
}

void rill__enc_u32(rill__enc *e, uint32_t v)
{
    put_le(e, v, 4);
}

void rill__enc_u64(rill__enc *e, uint64_t v)
{
    put_le(e, v, 8);
}

void rill__enc_i64(rill__enc *e, int64_t v)
{
    put_le(e, (uint64_t)v, 8);
}

void rill__enc_bytes(rill__enc *e, const char *field, const void *p, size_t n, size_t max)
{
    if (n > max || n > UINT32_MAX) {
        if (!e->rc) {
            e->rc = RILL_ELIMIT;
            e->bad_field = field;
        }
        return;
    }
    put_le(e, n, 4);
    if (n)
        rill__buf_append(e->b, p, n);
}

void rill__enc_str(rill__enc *e, const char *field, const char *s, size_t max)
{
    rill__enc_bytes(e, field, s, s ? strlen(s) : 0, max);
}

/* ---- decoding -------------------------------------------------------------------------------- */

static int dec_fail(rill__dec *d, int rc, const char *field)
{
    if (!d->rc) {
        d->rc = rc;
        d->field = field;
        d->at = d->off;
    }
    return rc;
}

/* The next n bytes, or NULL (and the error recorded) when fewer are left. */
static const uint8_t *take(rill__dec *d, size_t n, const char *field)
{
    if (d->rc)
        return NULL;
    if (n > d->len - d->off) {
        dec_fail(d, RILL_EPROTO, field);
        return NULL;
    }
    const uint8_t *p = d->p + d->off;
    d->off += n;
    return p;
}

static uint64_t get_le(rill__dec *d, int n, const char *field)
{
    const uint8_t *p = take(d, (size_t)n, field);
    uint64_t v = 0;
    if (!p)
        return 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

uint8_t rill__dec_u8(rill__dec *d, const char *field)
{
    return (uint8_t)get_le(d, 1, field);
}

uint16_t rill__dec_u16(rill__dec *d, const char *field)
{
    return (uint16_t)get_le(d, 2, field);
}

uint32_t rill__dec_u32(rill__dec *d, const char *field)
{
    return (uint32_t)get_le(d, 4, field);
}

uint64_t rill__dec_u64(rill__dec *d, const char *field)
{
    return get_le(d, 8, field);
}

int64_t rill__dec_i64(rill__dec *d, const char *field)
{
    return (int64_t)get_le(d, 8, field);
}

void rill__dec_bytes(rill__dec *d, const char *field, size_t max, const uint8_t **p, size_t *n)
{
    *p = NULL;
    *n = 0;
    size_t at = d->off;
    uint32_t len = rill__dec_u32(d, field);
    if (d->rc)
        return;
    /* the limit first: a length over it is an error even when the bytes are there */
    if (len > max) {
        d->off = at;
        dec_fail(d, RILL_ELIMIT, field);
        return;
    }
    const uint8_t *b = take(d, len, field);
    if (!b) {
        d->at = at;
        return;
    }
    *p = b;
    *n = len;
}

void rill__dec_str(rill__dec *d, const char *field, char *buf, size_t cap)
{
    RILL_ASSERT(cap > 0);
    const uint8_t *p;
    size_t n;
    size_t at = d->off;
    buf[0] = '\0';
    rill__dec_bytes(d, field, cap - 1, &p, &n);
    if (d->rc)
        return;
    /* a NUL would silently cut the string short in every C consumer */
    if (n && memchr(p, 0, n)) {
        d->off = at;
        dec_fail(d, RILL_EPROTO, field);
        return;
    }
    if (n)
        memcpy(buf, p, n);
    buf[n] = '\0';
}

int rill__dec_finish(rill__dec *d, const char *msg, rill__err *err)
{
    if (!d->rc && d->off != d->len) {
        d->rc = RILL_EPROTO;
        d->field = NULL;
        d->at = d->off;
        return rill__err_set(err, RILL_EPROTO, "%s: %zu trailing bytes after the last field", msg,
                             d->len - d->off);
    }
    if (!d->rc)
        return 0;
    const char *why = d->rc == RILL_ELIMIT ? "length over its limit" : "truncated or invalid";
    return rill__err_set(err, d->rc, "%s: field '%s' %s at offset %zu of %zu bytes", msg,
                         d->field ? d->field : "?", why, d->at, d->len);
}

int rill__enc_finish(rill__enc *e, const char *msg)
{
    if (e->rc)
        rill__log(RILL_LOG_DEBUG, "%s: field '%s' over its limit", msg, e->bad_field);
    return e->rc;
}

void rill__dec_fail_at(rill__dec *d, const char *field, size_t at)
{
    if (!d->rc) {
        d->rc = RILL_EPROTO;
        d->field = field;
        d->at = at;
    }
}

void rill__enc_raw(rill__enc *e, const void *p, size_t n)
{
    if (n)
        rill__buf_append(e->b, p, n);
}

const uint8_t *rill__dec_raw(rill__dec *d, const char *field, size_t n)
{
    return take(d, n, field);
}
