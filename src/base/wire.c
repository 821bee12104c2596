/*
 * wire.c - base layer: the field codec of protocol messages (fixed-width little-endian
 * integers, length-prefixed bytes and strings, every length checked against a limit before it
 * is used) and the connection-level messages built with it: HELLO, AUTH/WELCOME, REFUSE,
 * HEARTBEAT. docs/protocol.md is the specification.
 */
#include <string.h>

#include "net.h"

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

/* ---- connection messages ------------------------------------------------------------------- */

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

void rill__text_sanitize(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

/* HELLO's first two fields (magic, version) are frozen for every version, so that any peer can
 * tell "not rill" from "another version" and say so. */
int rill__msg_hello_enc(rill__buf *b, const rill__msg_hello *m)
{
    rill__enc e;
    rill__enc_init(&e, b);
    rill__enc_u32(&e, m->magic);
    rill__enc_u16(&e, m->version);
    rill__enc_u8(&e, m->role);
    rill__enc_str(&e, "cluster_id", m->cluster_id, RILL_CLUSTER_ID_MAX);
    rill__enc_str(&e, "name", m->name, RILL_PEER_NAME_MAX);
    rill__enc_u8(&e, m->auth);
    rill__enc_bytes(&e, "nonce", m->nonce, RILL_NONCE_LEN, RILL_NONCE_LEN);
    return rill__enc_finish(&e, "HELLO");
}

int rill__msg_hello_dec(const void *p, size_t n, rill__msg_hello *m, rill__err *err)
{
    rill__dec d;
    rill__dec_init(&d, p, n);
    memset(m, 0, sizeof *m);
    m->magic = rill__dec_u32(&d, "magic");
    m->version = rill__dec_u16(&d, "version");
    if (!d.rc && (m->magic != RILL_PROTO_MAGIC || m->version != RILL_PROTO_VERSION))
        return 0; /* the rest is another protocol's: the caller refuses on magic or version */
    m->role = rill__dec_u8(&d, "role");
    rill__dec_str(&d, "cluster_id", m->cluster_id, sizeof m->cluster_id);
    rill__dec_str(&d, "name", m->name, sizeof m->name);
    m->auth = rill__dec_u8(&d, "auth");
    const uint8_t *nonce;
    size_t n_nonce;
    rill__dec_bytes(&d, "nonce", RILL_NONCE_LEN, &nonce, &n_nonce);
    if (!d.rc && n_nonce != RILL_NONCE_LEN)
        dec_fail(&d, RILL_EPROTO, "nonce");
    if (!d.rc)
        memcpy(m->nonce, nonce, RILL_NONCE_LEN);
    if (!d.rc && m->auth > 1)
        dec_fail(&d, RILL_EPROTO, "auth");
    return rill__dec_finish(&d, "HELLO", err);
}

int rill__msg_proof_enc(rill__buf *b, const rill__msg_proof *m)
{
    rill__enc e;
    rill__enc_init(&e, b);
    rill__enc_bytes(&e, "mac", m->mac, m->mac_len, RILL_SHA256_LEN);
    return rill__enc_finish(&e, "proof");
}

int rill__msg_proof_dec(const void *p, size_t n, rill__msg_proof *m, rill__err *err)
{
    rill__dec d;
    rill__dec_init(&d, p, n);
    memset(m, 0, sizeof *m);
    const uint8_t *mac;
    size_t n_mac;
    rill__dec_bytes(&d, "mac", RILL_SHA256_LEN, &mac, &n_mac);
    if (!d.rc && n_mac != 0 && n_mac != RILL_SHA256_LEN)
        dec_fail(&d, RILL_EPROTO, "mac");
    if (!d.rc && n_mac) {
        memcpy(m->mac, mac, n_mac);
        m->mac_len = (uint8_t)n_mac;
    }
    return rill__dec_finish(&d, "proof", err);
}

int rill__msg_refuse_enc(rill__buf *b, const rill__msg_refuse *m)
{
    rill__enc e;
    rill__enc_init(&e, b);
    rill__enc_u16(&e, m->reason);
    rill__enc_str(&e, "text", m->text, RILL_REFUSE_TEXT_MAX);
    return rill__enc_finish(&e, "REFUSE");
}

int rill__msg_refuse_dec(const void *p, size_t n, rill__msg_refuse *m, rill__err *err)
{
    rill__dec d;
    rill__dec_init(&d, p, n);
    memset(m, 0, sizeof *m);
    m->reason = rill__dec_u16(&d, "reason");
    rill__dec_str(&d, "text", m->text, sizeof m->text);
    return rill__dec_finish(&d, "REFUSE", err);
}

int rill__msg_heartbeat_enc(rill__buf *b, const rill__msg_heartbeat *m)
{
    rill__enc e;
    rill__enc_init(&e, b);
    rill__enc_u64(&e, m->seq);
    rill__enc_i64(&e, m->sent_ms);
    rill__enc_u8(&e, m->reply);
    return rill__enc_finish(&e, "HEARTBEAT");
}

int rill__msg_heartbeat_dec(const void *p, size_t n, rill__msg_heartbeat *m, rill__err *err)
{
    rill__dec d;
    rill__dec_init(&d, p, n);
    memset(m, 0, sizeof *m);
    m->seq = rill__dec_u64(&d, "seq");
    m->sent_ms = rill__dec_i64(&d, "sent_ms");
    m->reply = rill__dec_u8(&d, "reply");
    if (!d.rc && m->reply > 1)
        dec_fail(&d, RILL_EPROTO, "reply");
    return rill__dec_finish(&d, "HEARTBEAT", err);
}
