/*
 * wire.c - base layer: the connection-level messages, built with the binary codec (codec.c):
 * HELLO, AUTH/WELCOME, REFUSE, HEARTBEAT. docs/protocol.md is the specification.
 */
#include <string.h>

#include "net.h"

/* ---- connection messages ------------------------------------------------------------------- */

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
        rill__dec_fail_at(&d, "nonce", d.off);
    if (!d.rc)
        memcpy(m->nonce, nonce, RILL_NONCE_LEN);
    if (!d.rc && m->auth > 1)
        rill__dec_fail_at(&d, "auth", d.off);
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
        rill__dec_fail_at(&d, "mac", d.off);
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
        rill__dec_fail_at(&d, "reply", d.off);
    return rill__dec_finish(&d, "HEARTBEAT", err);
}
