/*
 * remote.h - runtime layer: remote channels, the data plane between TaskManagers. The wire
 * encoding of channel messages (batches, watermarks, idleness, barriers, end of input) and an
 * endpoint that multiplexes many channels over one TCP connection with credit-based flow
 * control (Flink's model). docs/protocol.md section 6 is the specification.
 */
#ifndef RILL_RUNTIME_REMOTE_H
#define RILL_RUNTIME_REMOTE_H

#include "base/net.h"
#include "runtime.h"

/* Data-plane frame types (the 0x02xx range of docs/protocol.md). */
enum {
    RILL_FT_DATA_BATCH = 0x0201, /* sender -> receiver: a batch on a channel (one credit) */
    RILL_FT_DATA_EVENT =
        0x0202, /* sender -> receiver: watermark, idle, barrier, end (one credit) */
    RILL_FT_DATA_CREDIT = 0x0203, /* receiver -> sender: more buffers on a channel */
};

/* A logical channel: subtask `from` of edge `edge`'s source vertex to subtask `to` of its
 * destination. Both TaskManagers derive it from the same execution graph. */
typedef struct rill__remote_chan_id {
    uint32_t edge;
    uint16_t from, to;
} rill__remote_chan_id;

/* ---- codec -------------------------------------------------------------------------------- */

/* Appends the payload of message m on channel id to b and sets *type_out to its frame type.
 * A batch is encoded with its own schema. 0, or RILL_ELIMIT (with err) for a payload over
 * RILL_FRAME_MAX_PAYLOAD or a kind that does not go on the wire. */
int rill__remote_enc_msg(rill__buf *b, rill__remote_chan_id id, const rill__msg *m,
                         uint16_t *type_out, rill__err *err);
void rill__remote_enc_credit(rill__buf *b, rill__remote_chan_id id, uint32_t n);

/* What a receiving channel accepts. */
typedef struct rill__remote_spec {
    const rill_schema *schema; /* the consumer's input schema: field types must match */
    uint32_t max_rows;         /* rows per batch, at most */
    rill__batch_pool *pool;    /* decoded batches come from here (cap_rows >= max_rows); NULL:
                                * standalone batches */
} rill__remote_spec;

/* The channel id at the start of a BATCH or EVENT payload. 0 or RILL_EPROTO (with err). */
int rill__remote_dec_chan(const void *p, size_t n, rill__remote_chan_id *id, rill__err *err);
/* Decodes a BATCH or EVENT payload, every field checked against spec (types, nullability,
 * row count, flags, value ranges, no trailing bytes). 0 and *out (a batch holds one reference
 * for the caller); else RILL_EPROTO or RILL_ELIMIT with err naming the field and offset, and
 * nothing allocated. Never reads outside p[0..n). */
int rill__remote_dec_msg(uint16_t type, const void *p, size_t n, const rill__remote_spec *spec,
                         rill__remote_chan_id *id, rill__msg *out, rill__err *err);
/* A CREDIT payload: n is at least 1. */
int rill__remote_dec_credit(const void *p, size_t n, rill__remote_chan_id *id, uint32_t *credits,
                            rill__err *err);

/* ---- endpoint ----------------------------------------------------------------------------
 * One per connection between two TaskManagers (after the handshake, role data), carrying
 * channels both ways. Its I/O thread owns the socket. Threads: the calls below are made by the
 * owner (the TaskManager) before rill__remote_start and after the end; tasks touch only the
 * rings.
 *
 * Sending side: rill__remote_add_output makes the ring a producer task pushes into instead of
 * a local channel (the task's edge writer is unchanged: back-pressure is a full ring). The I/O
 * thread pops a message only with a credit from the receiver; so a channel whose consumer is
 * slow stalls at (ring + its credits) while the others on the connection go on.
 *
 * Receiving side: rill__remote_add_input takes the consumer task's local input channel; the
 * I/O thread decodes messages into it, and grants the sender as many credits as the ring has
 * free slots (returned as the task pops), so a push into the ring never fails.
 *
 * Memory, per connection: each output ring (out_capacity messages), each input ring (its
 * capacity in batches of at most max_rows rows, or max_payload bytes of strings), one frame of
 * at most max_payload bytes being read, and out_buffer_bytes (plus one frame) of encoded frames
 * waiting for the socket. */

typedef struct rill__remote rill__remote;

/* Told once, from the I/O thread, when the connection ends: rc 0 when every channel both ways
 * had ended and the peer closed; otherwise the error (the job must be failed: tasks blocked on
 * the rings are not woken by it; cancel them). */
typedef void (*rill__remote_end_fn)(void *arg, rill__remote *e, int rc, const char *msg);

typedef struct rill__remote_config {
    uint32_t max_payload;       /* largest frame accepted (<= RILL_FRAME_MAX_PAYLOAD) */
    uint32_t max_rows;          /* rows per received batch */
    uint32_t out_capacity;      /* messages queued per output channel (power of two >= 2) */
    size_t out_buffer_bytes;    /* encoded frames waiting for the socket, at most (plus one) */
    rill__remote_end_fn on_end; /* may be NULL */
    void *on_end_arg;
    /* once every channel both ways has ended and every frame is out, the I/O thread shuts the
     * socket's sending half, so the peer's endpoint ends (rc 0) without waiting for
     * rill__remote_free here: a job run's caller waits for both ends with rill__remote_wait to
     * know every message has crossed before freeing either */
    bool half_close;
} rill__remote_config;

/* The defaults: 64 MiB frames, 4096 rows, 64 messages per output ring, 1 MiB of frames. */
void rill__remote_config_default(rill__remote_config *cfg);

/* Takes over fd (connected, handshake done) and the handshake's reader r (frames it already
 * read ahead are kept); r must not be used or closed by the caller afterwards. name is for
 * messages ("taskmanager 2 at 10.0.0.7:6124"). */
rill__remote *rill__remote_new(int fd, rill__frame_reader *r, const rill__remote_config *cfg,
                               const char *name);
/* A channel this process produces: returns the ring to push into (owned by the endpoint;
 * valid until rill__remote_free). producer: the pushing task's parker (woken when the ring has
 * room). NULL with err when id is already registered or the endpoint has started. */
rill__channel *rill__remote_add_output(rill__remote *e, rill__remote_chan_id id,
                                       rill__parker *producer, rill__err *err);
/* A channel this process consumes: ring is the consumer's local input channel (borrowed; its
 * consumer parker set by the caller), schema the consumer's input schema. 0, or RILL_EINVAL. */
int rill__remote_add_input(rill__remote *e, rill__remote_chan_id id, rill__channel *ring,
                           const rill_schema *schema, rill__err *err);
/* Starts the I/O thread: initial credits go out at once. */
int rill__remote_start(rill__remote *e);
/* Waits up to timeout_ms (< 0: for ever) for the connection to end: its rc (0 or the error,
 * with the message in err when not NULL); RILL_AGAIN while it runs. */
int rill__remote_wait(rill__remote *e, int timeout_ms, rill__err *err);
/* Stops the I/O thread, closes the socket, frees the output rings (dropping what they hold)
 * and the endpoint. NULL-safe. */
void rill__remote_free(rill__remote *e);

typedef struct rill__remote_stats {
    uint64_t frames_out, frames_in, credits_granted, credits_received;
    size_t max_out_pending; /* most encoded bytes ever waiting for the socket */
} rill__remote_stats;
/* The counts so far (each read on its own: counted by the I/O thread without a lock). */
void rill__remote_get_stats(rill__remote *e, rill__remote_stats *out);

#endif /* RILL_RUNTIME_REMOTE_H */
