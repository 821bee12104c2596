/*
 * handshake.c - base layer: the connection handshake of the wire protocol. Both sides check
 * magic, protocol version, cluster id and role; with a shared secret each side proves it holds
 * the secret by an HMAC over the other's fresh nonce (mutual, so a TaskManager never takes a
 * deployment from a process that merely answers on the JobManager's port). A refusal is sent
 * as a REFUSE frame with a reason the other side logs.
 */
#include <errno.h>
#include <string.h>

#include "net.h"

const char *rill__role_name(int role)
{
    switch (role) {
    case RILL_ROLE_JOBMANAGER:
        return "jobmanager";
    case RILL_ROLE_TASKMANAGER:
        return "taskmanager";
    case RILL_ROLE_CLIENT:
        return "client";
    case RILL_ROLE_DATA:
        return "data";
    default:
        return "unknown";
    }
}

const char *rill__refuse_name(int reason)
{
    switch (reason) {
    case RILL_REFUSE_PROTOCOL:
        return "protocol";
    case RILL_REFUSE_VERSION:
        return "version";
    case RILL_REFUSE_CLUSTER:
        return "cluster id";
    case RILL_REFUSE_ROLE:
        return "role";
    case RILL_REFUSE_NO_SECRET:
        return "no secret";
    case RILL_REFUSE_BAD_SECRET:
        return "wrong secret";
    case RILL_REFUSE_UNEXPECTED_SECRET:
        return "unexpected secret";
    case RILL_REFUSE_SHUTDOWN:
        return "shutdown";
    default:
        return "unknown";
    }
}

/* The result code a refusal maps to. */
static int refuse_rc(int reason)
{
    switch (reason) {
    case RILL_REFUSE_CLUSTER:
    case RILL_REFUSE_ROLE:
        return RILL_ECONFIG;
    case RILL_REFUSE_NO_SECRET:
    case RILL_REFUSE_BAD_SECRET:
    case RILL_REFUSE_UNEXPECTED_SECRET:
        return RILL_EAUTH;
    case RILL_REFUSE_SHUTDOWN:
        return RILL_ECANCELED;
    default:
        return RILL_EPROTO;
    }
}


typedef struct hs {
    int fd;
    const rill__hs_config *cfg;
    rill__frame_reader *r;
    rill__hs_peer *peer;
    rill__err *err;
    int64_t deadline_ns;
    bool is_client;
    char where[RILL_NET_NAME_MAX + 32]; /* "peer 127.0.0.1:4711" for messages */
    rill__msg_hello mine, theirs;
} hs;

static int ms_left(const hs *h)
{
    if (h->cfg->timeout_ms < 0)
        return -1;
    int64_t left = (h->deadline_ns - rill__mono_ns()) / 1000000;
    return left <= 0 ? 0 : (int)RILL_MIN(left, INT32_MAX);
}

static int send_msg(hs *h, uint16_t type, rill__buf *b)
{
    rill__err e = {0};
    int rc = rill__frame_send(h->fd, type, b->data, b->len, ms_left(h), &e);
    rill__buf_free(b);
    if (rc == -ETIMEDOUT)
        return rill__err_set(h->err, rc, "handshake with %s: not done within %d ms", h->where,
                             h->cfg->timeout_ms);
    if (rc)
        return rill__err_set(h->err, rc, "handshake with %s: %s", h->where, e.msg);
    return 0;
}

/* Refuses the peer: sends REFUSE (best effort: the peer may be gone) and sets the error. */
static int refuse(hs *h, int reason, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(hs *h, int reason, const char *fmt, ...)
{
    rill__msg_refuse m = {.reason = (uint16_t)reason};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m.text, sizeof m.text, fmt, ap);
    va_end(ap);
    rill__buf b = {0};
    if (rill__msg_refuse_enc(&b, &m) == 0) {
        rill__err ignored = {0};
        int ms = ms_left(h); /* a refusal gets at most a second, even without a deadline */
        rill__frame_send(h->fd, RILL_FT_REFUSE, b.data, b.len, ms < 0 || ms > 1000 ? 1000 : ms,
                         &ignored);
    }
    rill__buf_free(&b);
    h->peer->refused = reason;
    h->peer->refused_by_peer = false;
    return rill__err_set(h->err, refuse_rc(reason), "refused %s: %s", h->where, m.text);
}

/* Receives the next frame, one of the types in want (REFUSE is always accepted). A REFUSE ends
 * the handshake with the peer's reason; a malformed frame is refused. */
static int recv_frame(hs *h, const uint16_t *want, size_t n_want, rill__frame *f)
{
    rill__frame_reader_accept(h->r, want, n_want);
    int rc = rill__frame_recv(h->r, h->fd, ms_left(h), f);
    if (rc == RILL_DONE)
        return rill__err_set(h->err, -ECONNRESET, "handshake with %s: connection closed", h->where);
    if (rc == RILL_EPROTO || rc == RILL_ELIMIT)
        return refuse(h, RILL_REFUSE_PROTOCOL, "%s", h->r->err.msg);
    if (rc == -ETIMEDOUT)
        return rill__err_set(h->err, rc, "handshake with %s: no answer within %d ms (%s)",
                             h->where, h->cfg->timeout_ms, h->r->err.msg);
    if (rc)
        return rill__err_set(h->err, rc, "handshake with %s: %s", h->where, h->r->err.msg);
    if (f->type != RILL_FT_REFUSE)
        return 0;
    rill__msg_refuse m;
    rill__err e = {0};
    if (rill__msg_refuse_dec(f->payload, f->len, &m, &e) != 0)
        return rill__err_set(h->err, RILL_EPROTO, "handshake with %s: malformed refusal: %s",
                             h->where, e.msg);
    rill__text_sanitize(m.text); /* it goes into logs */
    h->peer->refused = m.reason;
    h->peer->refused_by_peer = true;
    return rill__err_set(h->err, refuse_rc(m.reason), "refused by %s (%s): %s", h->where,
                         rill__refuse_name(m.reason), m.text);
}

/* Checks the peer's HELLO in f; refuses it when it does not match. */
static int check_hello(hs *h, const rill__frame *f)
{
    rill__err e = {0};
    rill__msg_hello *m = &h->theirs;
    if (rill__msg_hello_dec(f->payload, f->len, m, &e) != 0)
        return refuse(h, RILL_REFUSE_PROTOCOL, "%s", e.msg);
    if (m->magic != RILL_PROTO_MAGIC)
        return refuse(h, RILL_REFUSE_PROTOCOL, "bad magic 0x%08x: not a rill peer", m->magic);
    if (m->version != RILL_PROTO_VERSION)
        return refuse(h, RILL_REFUSE_VERSION,
                      "protocol version %u is not spoken here (%s "
                      "speaks version %d)",
                      m->version, h->cfg->name ? h->cfg->name : "this side", RILL_PROTO_VERSION);
    /* compared as sent, then made safe to log: "a\nb" must not match a cluster named "a?b" */
    bool same_cluster = strcmp(m->cluster_id, h->cfg->cluster_id) == 0;
    rill__text_sanitize(m->cluster_id);
    rill__text_sanitize(m->name);
    h->peer->version = m->version;
    h->peer->role = (rill__role)m->role;
    memcpy(h->peer->cluster_id, m->cluster_id, sizeof m->cluster_id);
    memcpy(h->peer->name, m->name, sizeof m->name);
    snprintf(h->where + strlen(h->where), sizeof h->where - strlen(h->where), " (%s)",
             rill__role_name(m->role));
    if (!same_cluster)
        return refuse(h, RILL_REFUSE_CLUSTER,
                      "cluster id '%s' does not match this cluster's "
                      "'%s'",
                      m->cluster_id, h->cfg->cluster_id);
    if (m->role >= 32 || !(h->cfg->peer_roles & RILL_ROLE_BIT(m->role)))
        return refuse(h, RILL_REFUSE_ROLE, "a %s (role %u) may not connect to a %s",
                      rill__role_name(m->role), m->role, rill__role_name(h->cfg->role));
    bool have = h->cfg->secret != NULL;
    if (have && !m->auth)
        return refuse(h, RILL_REFUSE_NO_SECRET,
                      "a shared secret is required and %s has none "
                      "configured (--secret-file)",
                      m->name[0] ? m->name : "the peer");
    if (!have && m->auth)
        return refuse(h, RILL_REFUSE_UNEXPECTED_SECRET,
                      "%s has a shared secret but %s has "
                      "none configured: both sides need the same --secret-file",
                      m->name[0] ? m->name : "the peer", h->cfg->name ? h->cfg->name : "this side");
    return 0;
}

/* The MAC one side sends: over the other side's nonce, then what both agreed on, so a proof
 * cannot be replayed into another connection, another cluster or the other direction. */
static void proof(const hs *h, bool from_client, uint8_t out[RILL_SHA256_LEN])
{
    const rill__msg_hello *c = h->is_client ? &h->mine : &h->theirs;
    const rill__msg_hello *s = h->is_client ? &h->theirs : &h->mine;
    rill__buf ctx = {0};
    rill__enc e;
    rill__enc_init(&e, &ctx);
    rill__buf_append(&ctx, from_client ? s->nonce : c->nonce, RILL_NONCE_LEN);
    rill__buf_append(&ctx, "rill-auth-v1", 12);
    rill__buf_append(&ctx, from_client ? "client" : "server", 6);
    rill__enc_u16(&e, RILL_PROTO_VERSION);
    rill__enc_u8(&e, c->role);
    rill__enc_u8(&e, s->role);
    rill__enc_str(&e, "cluster_id", h->cfg->cluster_id, RILL_CLUSTER_ID_MAX);
    rill__buf_append(&ctx, c->nonce, RILL_NONCE_LEN);
    rill__buf_append(&ctx, s->nonce, RILL_NONCE_LEN);
    rill__hmac_sha256(h->cfg->secret, h->cfg->secret_len, ctx.data, ctx.len, out);
    rill__buf_free(&ctx);
}

static int start(hs *h, bool is_client, int fd, const rill__hs_config *cfg, rill__frame_reader *r,
                 rill__hs_peer *peer, rill__err *err)
{
    memset(h, 0, sizeof *h);
    memset(peer, 0, sizeof *peer);
    h->is_client = is_client;
    h->fd = fd, h->cfg = cfg, h->r = r, h->peer = peer, h->err = err;
    h->deadline_ns = rill__mono_ns() + (int64_t)RILL_MAX(cfg->timeout_ms, 0) * 1000000;
    char name[RILL_NET_NAME_MAX];
    snprintf(h->where, sizeof h->where, "peer %s", rill__net_peer_name(fd, name, sizeof name));
    if (!cfg->cluster_id || !*cfg->cluster_id || strlen(cfg->cluster_id) > RILL_CLUSTER_ID_MAX)
        return rill__err_set(err, RILL_ECONFIG, "cluster id must have 1 to %d bytes",
                             RILL_CLUSTER_ID_MAX);
    if (cfg->secret && cfg->secret_len == 0)
        return rill__err_set(err, RILL_ECONFIG, "empty shared secret");
    rill__msg_hello *m = &h->mine;
    m->magic = RILL_PROTO_MAGIC;
    m->version = RILL_PROTO_VERSION;
    m->role = (uint8_t)cfg->role;
    snprintf(m->cluster_id, sizeof m->cluster_id, "%s", cfg->cluster_id);
    snprintf(m->name, sizeof m->name, "%s", cfg->name ? cfg->name : "");
    m->auth = cfg->secret != NULL;
    int rc = rill__random_bytes(m->nonce, sizeof m->nonce);
    if (rc)
        return rill__err_set(err, rc, "handshake: no random nonce: %s", strerror(-rc));
    return 0;
}

static int send_hello(hs *h)
{
    rill__buf b = {0};
    int rc = rill__msg_hello_enc(&b, &h->mine);
    if (rc) {
        rill__buf_free(&b);
        return rill__err_set(h->err, rc, "handshake: this side's HELLO is over a limit");
    }
    return send_msg(h, RILL_FT_HELLO, &b);
}

static int send_proof(hs *h, uint16_t type, bool from_client)
{
    rill__msg_proof p = {0};
    if (h->cfg->secret) {
        proof(h, from_client, p.mac);
        p.mac_len = RILL_SHA256_LEN;
    }
    rill__buf b = {0};
    rill__msg_proof_enc(&b, &p);
    return send_msg(h, type, &b);
}

/* Checks the peer's proof in f (from_client: the peer is the client). */
static int check_proof(hs *h, const rill__frame *f, bool from_client)
{
    rill__msg_proof p;
    rill__err e = {0};
    if (rill__msg_proof_dec(f->payload, f->len, &p, &e) != 0)
        return refuse(h, RILL_REFUSE_PROTOCOL, "%s", e.msg);
    if (!h->cfg->secret)
        return p.mac_len == 0 ? 0
                              : refuse(h, RILL_REFUSE_PROTOCOL,
                                       "a proof of a secret was sent "
                                       "after a handshake without one");
    uint8_t want[RILL_SHA256_LEN];
    proof(h, from_client, want);
    bool ok = p.mac_len == RILL_SHA256_LEN && rill__ct_equal(p.mac, want, sizeof want);
    memset(want, 0, sizeof want);
    if (!ok)
        return refuse(h, RILL_REFUSE_BAD_SECRET,
                      "%s did not prove the shared secret (the "
                      "secret files differ)",
                      h->theirs.name[0] ? h->theirs.name : "the peer");
    return 0;
}

/* Runs the handshake, then gives the reader back its caller's frame types. */
static int finish(rill__frame_reader *r, const uint16_t *types, size_t n_types, int rc)
{
    rill__frame_reader_accept(r, types, n_types);
    return rc;
}

int rill__hs_client(int fd, const rill__hs_config *cfg, rill__frame_reader *r, rill__hs_peer *peer,
                    rill__err *err)
{
    static const uint16_t want_hello[] = {RILL_FT_HELLO, RILL_FT_REFUSE};
    static const uint16_t want_welcome[] = {RILL_FT_WELCOME, RILL_FT_REFUSE};
    const uint16_t *types = r->types;
    size_t n_types = r->n_types;
    hs h;
    rill__frame f;
    int rc = start(&h, true, fd, cfg, r, peer, err);
    if (!rc)
        rc = send_hello(&h);
    if (!rc)
        rc = recv_frame(&h, want_hello, 2, &f);
    if (!rc)
        rc = check_hello(&h, &f);
    if (!rc)
        rc = send_proof(&h, RILL_FT_AUTH, true);
    if (!rc)
        rc = recv_frame(&h, want_welcome, 2, &f);
    if (!rc)
        rc = check_proof(&h, &f, false);
    return finish(r, types, n_types, rc);
}

int rill__hs_server(int fd, const rill__hs_config *cfg, rill__frame_reader *r, rill__hs_peer *peer,
                    rill__err *err)
{
    static const uint16_t want_hello[] = {RILL_FT_HELLO, RILL_FT_REFUSE};
    static const uint16_t want_auth[] = {RILL_FT_AUTH, RILL_FT_REFUSE};
    const uint16_t *types = r->types;
    size_t n_types = r->n_types;
    hs h;
    rill__frame f;
    int rc = start(&h, false, fd, cfg, r, peer, err);
    if (!rc)
        rc = recv_frame(&h, want_hello, 2, &f);
    if (!rc)
        rc = check_hello(&h, &f);
    if (!rc)
        rc = send_hello(&h);
    if (!rc)
        rc = recv_frame(&h, want_auth, 2, &f);
    if (!rc)
        rc = check_proof(&h, &f, true);
    if (!rc)
        rc = send_proof(&h, RILL_FT_WELCOME, false);
    return finish(r, types, n_types, rc);
}
