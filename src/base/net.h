/*
 * net.h - base layer: TCP sockets, the framed wire protocol (frames, handshake with
 * optional shared-secret authentication), SHA-256/HMAC. Used by the control plane (cluster) and
 * the data plane (runtime's remote channels); the format is specified in docs/protocol.md.
 */
#ifndef RILL_BASE_NET_H
#define RILL_BASE_NET_H

#include <sys/socket.h>

#include "base.h"

/* ---- sockets -------------------------------------------------------------------------------
 * Every socket made here is close-on-exec (a job's child processes must not inherit the
 * JobManager's connections) and TCP_NODELAY (frames are written whole; Nagle only adds delay).
 * Errors are -errno or a RILL_E* code, with a message in *err naming the address, the port and
 * the OS error. */

/* Every listener binds to this unless told otherwise (issue 5's security default). The calls
 * below take the address explicitly: there is no hidden wildcard. */
#define RILL_NET_DEFAULT_BIND "127.0.0.1"
/* Longest "host:port" or "[v6]:port" text that rill__net_peer_name writes, with its NUL. */
#define RILL_NET_NAME_MAX 64

/* Listens on addr (numeric IPv4/IPv6 or a host name; NULL is RILL_EINVAL) and port (0 picks a
 * free port). *fd_out is a blocking listening socket; *port_out (may be NULL) the bound port. */
int rill__net_listen(const char *addr, int port, int backlog, int *fd_out, int *port_out,
                     rill__err *err);
/* Accepts one connection within timeout_ms (< 0: wait for ever; 0: only if one is pending).
 * 0 and a blocking, close-on-exec, TCP_NODELAY *fd_out; RILL_AGAIN when timeout_ms is 0 and
 * none is pending; -ETIMEDOUT when the wait expired. peer (may be NULL) gets "addr:port". */
int rill__net_accept(int lfd, int timeout_ms, int *fd_out, char *peer, size_t peer_cap,
                     rill__err *err);
/* Connects to host:port (names resolved; every address tried) within timeout_ms in total.
 * *fd_out is blocking, close-on-exec, TCP_NODELAY. -ETIMEDOUT, -ECONNREFUSED, ... or
 * RILL_ENOENT for a name that does not resolve. */
int rill__net_connect(const char *host, int port, int timeout_ms, int *fd_out, rill__err *err);
int rill__net_set_nonblock(int fd, bool on); /* 0 or -errno */
int rill__net_set_nodelay(int fd);           /* 0 or -errno */
/* "addr:port" of the peer (or "?" when unknown) into buf; returns buf. */
const char *rill__net_peer_name(int fd, char *buf, size_t cap);
/* Splits "host:port", "[v6addr]:port" into host (NUL-terminated, at most host_cap-1 bytes) and
 * port (1..65535). RILL_EPARSE otherwise. */
int rill__net_parse_hostport(const char *s, char *host, size_t host_cap, int *port_out);

/* Is every address this one names a loopback address (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104)?
 * Host names are resolved; the wildcard (0.0.0.0, ::), other addresses, NULL and names that do
 * not resolve are not loopback. */
bool rill__net_addr_is_loopback(const char *addr);
bool rill__net_sockaddr_is_loopback(const struct sockaddr *sa);
/* The socket address of a listener on numeric address addr (NULL or "": the default bind) and
 * port (0-65535) into *ss, *v6 set for IPv6. 0, or RILL_EINVAL with a message naming what
 * ("REST", "metrics") and the bad port or address. */
int rill__net_listen_addr(const char *what, const char *addr, int port, struct sockaddr_storage *ss,
                          bool *v6, rill__err *err);
/* The rule of issue 5: a listener that binds beyond loopback needs a shared secret. 0, or
 * RILL_ECONFIG with a message naming what (e.g. "data port") and the address. */
int rill__net_check_bind(const char *what, const char *addr, bool have_secret, rill__err *err);

/* ---- frames --------------------------------------------------------------------------------
 * A frame is an 8-byte header, little-endian: u32 payload length, u16 type, u16 flags (no flag
 * is defined by protocol version 1: a set bit is an error), then the payload. The payload
 * length is checked against the receiver's limit before anything is allocated. */

#define RILL_FRAME_HEADER 8
/* No receiver accepts more than this, whatever it is configured to. */
#define RILL_FRAME_MAX_PAYLOAD (64u << 20)
/* The limit for connections that carry only control messages. */
#define RILL_FRAME_CONTROL_MAX (1u << 20)

/* Frame types. 0x00xx: connection (handshake, heartbeat); 0x01xx: control plane; 0x02xx: data
 * plane (reserved for the messages issue 5 adds next). Numbers never change meaning. */
enum {
    RILL_FT_HELLO = 0x0001,     /* first frame each way */
    RILL_FT_AUTH = 0x0002,      /* client -> server: proof of the secret */
    RILL_FT_WELCOME = 0x0003,   /* server -> client: accepted (and proof of the secret) */
    RILL_FT_REFUSE = 0x0004,    /* either way: the reason the connection is closed */
    RILL_FT_HEARTBEAT = 0x0005, /* either way, after the handshake */
};

/* A received frame; payload is borrowed from the reader until its next call. */
typedef struct rill__frame {
    uint16_t type, flags;
    uint32_t len;
    const uint8_t *payload;
} rill__frame;

/* Incremental reader: bytes go in (fed, or read from a non-blocking socket), whole frames come
 * out. Memory: a 16 KiB read-ahead plus one payload buffer never larger than max_payload. After
 * an error every call returns that error again (the caller closes the connection and logs
 * err.msg). */
typedef struct rill__frame_reader {
    uint32_t max_payload;
    const uint16_t *types; /* the frame types this connection accepts (borrowed) */
    size_t n_types;
    uint8_t hdr[RILL_FRAME_HEADER];
    size_t hdr_got;       /* header bytes of the frame in progress */
    uint16_t type, flags; /* of the frame in progress, once its header is whole */
    uint32_t len, got;    /* its payload length and the bytes of it received */
    uint8_t *payload;     /* allocated to exactly the largest payload seen, <= max_payload */
    uint32_t payload_cap;
    bool have_frame; /* the last frame returned is still in payload */
    uint8_t *ra;     /* read-ahead for rill__frame_read: ra[ra_off..ra_len) unread */
    size_t ra_off, ra_len;
    size_t max_read;   /* bytes per read(2), 0 = no limit beyond the read-ahead (tests) */
    uint64_t n_frames; /* frames returned so far (for messages) */
    int rc;            /* sticky error */
    rill__err err;
} rill__frame_reader;

/* types: the n_types frame types accepted (borrowed: must outlive the reader). max_payload is
 * capped at RILL_FRAME_MAX_PAYLOAD. */
void rill__frame_reader_init(rill__frame_reader *r, uint32_t max_payload, const uint16_t *types,
                             size_t n_types);
/* Changes the accepted types (after a handshake, say). */
void rill__frame_reader_accept(rill__frame_reader *r, const uint16_t *types, size_t n_types);
void rill__frame_reader_close(rill__frame_reader *r);
/* Consumes bytes of p[0..n) up to the end of the next frame. 0 and *out when a frame is whole
 * (*used_out bytes consumed: feed the rest again after taking the frame); RILL_AGAIN when all n
 * bytes were consumed and the frame is not whole yet; a negative code for a malformed header
 * (RILL_EPROTO), an unknown type (RILL_EPROTO) or an oversized length (RILL_ELIMIT). */
int rill__frame_reader_feed(rill__frame_reader *r, const void *p, size_t n, size_t *used_out,
                            rill__frame *out);
/* Reads from fd (non-blocking or blocking) until a frame is whole. 0 and *out; RILL_AGAIN when
 * the socket has no more bytes now; RILL_DONE when the peer closed between frames; RILL_EPROTO
 * when it closed inside one; -errno for a socket error; the feed errors. */
int rill__frame_read(rill__frame_reader *r, int fd, rill__frame *out);
/* Bytes read ahead and not yet returned as part of a frame (a pipelined frame, say). */
static inline size_t rill__frame_reader_buffered(const rill__frame_reader *r)
{
    return r->ra_len - r->ra_off;
}

/* Output queue: frames are appended whole and written as the socket takes them. */
typedef struct rill__frame_writer {
    rill__buf q; /* q.data[off..q.len) is not written yet */
    size_t off;
    size_t max_pending; /* a put that would queue more than this is refused with RILL_AGAIN */
    size_t max_write;   /* bytes per send(2), 0 = no limit (tests) */
    rill__err err;
} rill__frame_writer;

void rill__frame_writer_init(rill__frame_writer *w, size_t max_pending);
void rill__frame_writer_close(rill__frame_writer *w);
/* Queues one frame. 0; RILL_ELIMIT for a payload over RILL_FRAME_MAX_PAYLOAD; RILL_AGAIN when the
 * queue is too full (nothing queued: back-pressure, flush first). */
int rill__frame_writer_put(rill__frame_writer *w, uint16_t type, const void *payload, size_t len);
/* Writes what the socket takes. 0 when the queue is empty; RILL_AGAIN when bytes are left (the
 * socket is full: poll for POLLOUT); -errno (-EPIPE, -ECONNRESET) on a failed connection. Never
 * raises SIGPIPE. */
int rill__frame_writer_flush(rill__frame_writer *w, int fd);
static inline size_t rill__frame_writer_pending(const rill__frame_writer *w)
{
    return w->q.len - w->off;
}

/* Blocking helpers, for handshakes and simple peers; they work on blocking and non-blocking
 * sockets alike (poll decides). timeout_ms < 0 waits for ever. -ETIMEDOUT when it expires. */
int rill__frame_send(int fd, uint16_t type, const void *payload, size_t len, int timeout_ms,
                     rill__err *err);
int rill__frame_writer_drain(rill__frame_writer *w, int fd, int timeout_ms);
int rill__frame_recv(rill__frame_reader *r, int fd, int timeout_ms, rill__frame *out);

/* Replaces control characters in text from a peer, which goes into logs (no forged lines). */
void rill__text_sanitize(char *s);

/* ---- SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104) --------------------------------------- */

#define RILL_SHA256_LEN 32
typedef struct rill__sha256 {
    uint32_t h[8];
    uint64_t n_bytes;
    uint8_t block[64];
    size_t fill;
} rill__sha256;
void rill__sha256_init(rill__sha256 *s);
void rill__sha256_update(rill__sha256 *s, const void *p, size_t n);
void rill__sha256_final(rill__sha256 *s, uint8_t out[RILL_SHA256_LEN]);
void rill__sha256_digest(const void *p, size_t n, uint8_t out[RILL_SHA256_LEN]);

typedef struct rill__hmac {
    rill__sha256 inner, outer;
} rill__hmac;
void rill__hmac_init(rill__hmac *h, const void *key, size_t key_len);
void rill__hmac_update(rill__hmac *h, const void *p, size_t n);
void rill__hmac_final(rill__hmac *h, uint8_t out[RILL_SHA256_LEN]);
void rill__hmac_sha256(const void *key, size_t key_len, const void *p, size_t n,
                       uint8_t out[RILL_SHA256_LEN]);
/* Equality in time that depends on n only, not on where the bytes differ. */
bool rill__ct_equal(const void *a, const void *b, size_t n);
/* n bytes from the kernel's CSPRNG (getrandom). 0 or -errno. */
int rill__random_bytes(void *p, size_t n);

/* ---- the shared secret ------------------------------------------------------------------- */

#define RILL_SECRET_MIN 16
#define RILL_SECRET_MAX 4096
/* Reads a secret file (--secret-file): a regular file that neither group nor others may read
 * (RILL_EPERM otherwise, naming the mode), RILL_SECRET_MIN..RILL_SECRET_MAX bytes after one
 * trailing newline is dropped. *secret_out is malloc'ed; free with rill__secret_free. */
int rill__secret_read_file(const char *path, uint8_t **secret_out, size_t *len_out, rill__err *err);
/* Zeroes and frees. NULL-safe. */
void rill__secret_free(uint8_t *secret, size_t len);

/* ---- handshake -----------------------------------------------------------------------------
 * client HELLO -> server HELLO (or REFUSE) -> client AUTH (or REFUSE) -> server WELCOME (or
 * REFUSE). With a secret each side proves it holds it by an HMAC over the other side's nonce
 * and the handshake's contents (docs/protocol.md); without one the proofs are empty. */

#define RILL_PROTO_MAGIC     0x4C4C4952u /* "RILL" as little-endian bytes */
#define RILL_PROTO_VERSION   1
#define RILL_CLUSTER_ID_MAX  64
#define RILL_PEER_NAME_MAX   128
#define RILL_REFUSE_TEXT_MAX 512
#define RILL_NONCE_LEN       32

typedef enum rill__role {
    RILL_ROLE_JOBMANAGER = 1,
    RILL_ROLE_TASKMANAGER = 2,
    RILL_ROLE_CLIENT = 3,
    RILL_ROLE_DATA = 4, /* a TaskManager's data-plane connection to another's data port */
} rill__role;
#define RILL_ROLE_BIT(r) (1u << (r))
const char *rill__role_name(int role); /* "jobmanager", ..., "unknown" */

/* Why a handshake was refused: the code in a REFUSE frame. */
typedef enum rill__refuse {
    RILL_REFUSE_PROTOCOL = 1,          /* bad magic, malformed or unexpected frame */
    RILL_REFUSE_VERSION = 2,           /* protocol version not spoken */
    RILL_REFUSE_CLUSTER = 3,           /* another cluster id */
    RILL_REFUSE_ROLE = 4,              /* this role may not connect here */
    RILL_REFUSE_NO_SECRET = 5,         /* a secret is required and the peer has none */
    RILL_REFUSE_BAD_SECRET = 6,        /* the proof of the secret is wrong */
    RILL_REFUSE_UNEXPECTED_SECRET = 7, /* the peer has a secret and this side has none */
    RILL_REFUSE_SHUTDOWN = 8,          /* going away (for later use after the handshake) */
} rill__refuse;
const char *rill__refuse_name(int reason);

typedef struct rill__hs_config {
    const char *cluster_id; /* 1..RILL_CLUSTER_ID_MAX bytes */
    const char *name;       /* this process, for the peer's logs (e.g. "taskmanager 3") */
    rill__role role;        /* this side's role */
    uint32_t peer_roles;    /* RILL_ROLE_BIT()s the peer may have */
    const uint8_t *secret;  /* NULL: no secret configured */
    size_t secret_len;
    int timeout_ms; /* for the whole handshake */
} rill__hs_config;

typedef struct rill__hs_peer {
    rill__role role;
    uint16_t version;
    char cluster_id[RILL_CLUSTER_ID_MAX + 1];
    char name[RILL_PEER_NAME_MAX + 1];
    int refused;          /* a rill__refuse when the handshake was refused (by either side) */
    bool refused_by_peer; /* true: the peer sent the REFUSE; false: this side did */
} rill__hs_peer;

/* Runs the handshake on a connected socket. r is the connection's reader (frames the peer sent
 * after the handshake stay buffered in it). 0 and *peer; otherwise the connection must be
 * closed: RILL_EPROTO (bad magic, version, malformed), RILL_ECONFIG (cluster id, role),
 * RILL_EAUTH (secret), -ETIMEDOUT, -errno; peer->refused says why and err the whole reason.
 * When this side refuses, it sends the peer a REFUSE with the reason first. */
int rill__hs_client(int fd, const rill__hs_config *cfg, rill__frame_reader *r, rill__hs_peer *peer,
                    rill__err *err);
int rill__hs_server(int fd, const rill__hs_config *cfg, rill__frame_reader *r, rill__hs_peer *peer,
                    rill__err *err);

/* ---- messages (payload encodings) ---------------------------------------------------------- */

typedef struct rill__msg_hello {
    uint32_t magic;
    uint16_t version;
    uint8_t role;
    char cluster_id[RILL_CLUSTER_ID_MAX + 1];
    char name[RILL_PEER_NAME_MAX + 1];
    uint8_t auth; /* server: 1 when a secret is required; client: 1 when it has one */
    uint8_t nonce[RILL_NONCE_LEN];
} rill__msg_hello;

typedef struct rill__msg_proof { /* AUTH and WELCOME */
    uint8_t mac_len;             /* 0 (no secret) or RILL_SHA256_LEN */
    uint8_t mac[RILL_SHA256_LEN];
} rill__msg_proof;

typedef struct rill__msg_refuse {
    uint16_t reason;
    char text[RILL_REFUSE_TEXT_MAX + 1];
} rill__msg_refuse;

typedef struct rill__msg_heartbeat {
    uint64_t seq;    /* the requester's counter; a reply echoes it */
    int64_t sent_ms; /* the requester's wall clock when sent (a reply echoes it) */
    uint8_t reply;   /* 0 request, 1 reply */
} rill__msg_heartbeat;

/* Encoders append to b; 0 or RILL_ELIMIT (a string over its limit). Decoders: 0 or the codec's
 * errors with a message in *err. */
int rill__msg_hello_enc(rill__buf *b, const rill__msg_hello *m);
/* HELLO with another magic or version decodes only those two fields and returns 0: the caller
 * refuses it by them (the rest belongs to a protocol this side does not speak). */
int rill__msg_hello_dec(const void *p, size_t n, rill__msg_hello *m, rill__err *err);
int rill__msg_proof_enc(rill__buf *b, const rill__msg_proof *m);
int rill__msg_proof_dec(const void *p, size_t n, rill__msg_proof *m, rill__err *err);
int rill__msg_refuse_enc(rill__buf *b, const rill__msg_refuse *m);
int rill__msg_refuse_dec(const void *p, size_t n, rill__msg_refuse *m, rill__err *err);
int rill__msg_heartbeat_enc(rill__buf *b, const rill__msg_heartbeat *m);
int rill__msg_heartbeat_dec(const void *p, size_t n, rill__msg_heartbeat *m, rill__err *err);

#endif /* RILL_BASE_NET_H */
