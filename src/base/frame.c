/*
 * frame.c - base layer: the frame layer of the wire protocol: an incremental reader (bytes in,
 * whole frames out, the length checked against the limit before any allocation), a buffered
 * writer that survives partial writes, and blocking helpers with timeouts.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"

#define READ_AHEAD (16u << 10)

/* ---- reader -------------------------------------------------------------------------------- */

void rill__frame_reader_init(rill__frame_reader *r, uint32_t max_payload, const uint16_t *types,
                             size_t n_types)
{
    memset(r, 0, sizeof *r);
    r->max_payload = RILL_MIN(max_payload, RILL_FRAME_MAX_PAYLOAD);
    r->types = types;
    r->n_types = n_types;
}

void rill__frame_reader_accept(rill__frame_reader *r, const uint16_t *types, size_t n_types)
{
    r->types = types;
    r->n_types = n_types;
}

void rill__frame_reader_close(rill__frame_reader *r)
{
    free(r->payload);
    free(r->ra);
    r->payload = r->ra = NULL;
    r->payload_cap = 0;
}

static int reader_fail(rill__frame_reader *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int reader_fail(rill__frame_reader *r, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rill__err_vset(&r->err, rc, fmt, ap);
    va_end(ap);
    r->rc = rc;
    return rc;
}

static bool type_known(const rill__frame_reader *r, uint16_t type)
{
    for (size_t i = 0; i < r->n_types; i++)
        if (r->types[i] == type)
            return true;
    return false;
}

/* The header is whole: check it, then make room for the payload. Nothing is allocated for a
 * length over the limit, whatever the peer claims. */
static int header_done(rill__frame_reader *r)
{
    const uint8_t *h = r->hdr;
    r->len = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
    r->type = (uint16_t)(h[4] | h[5] << 8);
    r->flags = (uint16_t)(h[6] | h[7] << 8);
    r->got = 0;
    if (r->flags != 0)
        return reader_fail(r, RILL_EPROTO,
                           "frame %" PRIu64 ": flags 0x%04x set (none is defined in protocol "
                           "version %d)",
                           r->n_frames + 1, r->flags, RILL_PROTO_VERSION);
    if (!type_known(r, r->type))
        return reader_fail(r, RILL_EPROTO,
                           "frame %" PRIu64 ": type 0x%04x is unknown or not expected here",
                           r->n_frames + 1, r->type);
    if (r->len > r->max_payload)
        return reader_fail(r, RILL_ELIMIT,
                           "frame %" PRIu64 " (type 0x%04x): payload of %" PRIu32
                           " bytes is over the limit of %" PRIu32,
                           r->n_frames + 1, r->type, r->len, r->max_payload);
    if (r->len > r->payload_cap) {
        if (rill__fault(RILL_FAULT_ALLOC))
            return reader_fail(r, RILL_ENOMEM,
                               "frame payload of %" PRIu32 " bytes: injected "
                               "allocation failure",
                               r->len);
        void *p = realloc(r->payload, r->len);
        if (!p)
            return reader_fail(r, RILL_ENOMEM,
                               "frame payload of %" PRIu32 " bytes: out of "
                               "memory",
                               r->len);
        r->payload = p;
        r->payload_cap = r->len;
    }
    return 0;
}

int rill__frame_reader_feed(rill__frame_reader *r, const void *p, size_t n, size_t *used_out,
                            rill__frame *out)
{
    const uint8_t *in = p;
    size_t used = 0;
    *used_out = 0;
    if (r->rc)
        return r->rc;
    if (r->have_frame) { /* the frame returned last time is released now */
        r->have_frame = false;
        r->hdr_got = 0;
    }
    for (;;) {
        if (r->hdr_got < RILL_FRAME_HEADER) {
            size_t take = RILL_MIN(n - used, RILL_FRAME_HEADER - r->hdr_got);
            if (take) /* p may be NULL when n is 0 */
                memcpy(r->hdr + r->hdr_got, in + used, take);
            r->hdr_got += take;
            used += take;
            *used_out = used;
            if (r->hdr_got < RILL_FRAME_HEADER)
                return RILL_AGAIN;
            int rc = header_done(r);
            if (rc)
                return rc;
        }
        size_t take = RILL_MIN(n - used, (size_t)(r->len - r->got));
        if (take)
            memcpy(r->payload + r->got, in + used, take);
        r->got += (uint32_t)take;
        used += take;
        *used_out = used;
        if (r->got < r->len)
            return RILL_AGAIN;
        r->have_frame = true;
        r->n_frames++;
        out->type = r->type;
        out->flags = r->flags;
        out->len = r->len;
        out->payload = r->len ? r->payload : (const uint8_t *)"";
        return 0;
    }
}

/* max_reads >= 0: return RILL_AGAIN rather than make more read(2) calls than that, so that a
 * caller polling a blocking socket reads only when poll said so and never blocks past its
 * deadline. -1: read until a frame is whole or the socket has nothing (non-blocking). */
static int frame_read(rill__frame_reader *r, int fd, rill__frame *out, int max_reads)
{
    int n_reads = 0;
    if (r->rc)
        return r->rc;
    if (!r->ra)
        r->ra = rill__xmalloc(READ_AHEAD);
    for (;;) {
        if (r->ra_off < r->ra_len) {
            size_t used;
            int rc =
                rill__frame_reader_feed(r, r->ra + r->ra_off, r->ra_len - r->ra_off, &used, out);
            r->ra_off += used;
            if (rc != RILL_AGAIN)
                return rc;
        }
        r->ra_off = r->ra_len = 0;
        if (max_reads >= 0 && n_reads >= max_reads)
            return RILL_AGAIN;
        n_reads++;
        if (rill__fault(RILL_FAULT_NET))
            return reader_fail(r, -ECONNRESET, "read: injected network fault");
        size_t want = r->max_read ? RILL_MIN(r->max_read, READ_AHEAD) : READ_AHEAD;
        ssize_t got = read(fd, r->ra, want);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return RILL_AGAIN;
            return reader_fail(r, -errno, "read: %s", strerror(errno));
        }
        if (got == 0) {
            /* between frames a close is the peer's orderly goodbye; inside one it is not */
            bool mid = (r->hdr_got > 0 && !r->have_frame);
            if (!mid) {
                r->rc = RILL_DONE;
                rill__err_set(&r->err, RILL_DONE, "connection closed by the peer");
                return RILL_DONE;
            }
            if (r->hdr_got < RILL_FRAME_HEADER)
                return reader_fail(r, RILL_EPROTO,
                                   "connection closed inside a frame header (%zu of %d bytes)",
                                   r->hdr_got, RILL_FRAME_HEADER);
            return reader_fail(r, RILL_EPROTO,
                               "connection closed inside frame of type 0x%04x (%" PRIu32
                               " of %" PRIu32 " payload bytes)",
                               r->type, r->got, r->len);
        }
        r->ra_len = (size_t)got;
    }
}

int rill__frame_read(rill__frame_reader *r, int fd, rill__frame *out)
{
    return frame_read(r, fd, out, -1);
}

/* ---- writer -------------------------------------------------------------------------------- */

void rill__frame_writer_init(rill__frame_writer *w, size_t max_pending)
{
    memset(w, 0, sizeof *w);
    w->max_pending = max_pending;
}

void rill__frame_writer_close(rill__frame_writer *w)
{
    rill__buf_free(&w->q);
    w->off = 0;
}

int rill__frame_writer_put(rill__frame_writer *w, uint16_t type, const void *payload, size_t len)
{
    if (len > RILL_FRAME_MAX_PAYLOAD)
        return rill__err_set(&w->err, RILL_ELIMIT,
                             "frame of type 0x%04x: payload of %zu bytes is over the limit "
                             "of %u",
                             type, len, RILL_FRAME_MAX_PAYLOAD);
    size_t pending = rill__frame_writer_pending(w);
    /* an empty queue always takes one frame, or a frame above max_pending could never go */
    if (pending && pending + RILL_FRAME_HEADER + len > w->max_pending)
        return RILL_AGAIN;
    if (w->off && w->off == w->q.len) {
        w->q.len = w->off = 0;
    } else if (w->off > w->q.cap / 2) { /* compact, so the queue does not creep */
        memmove(w->q.data, w->q.data + w->off, w->q.len - w->off);
        w->q.len -= w->off;
        w->off = 0;
    }
    uint8_t h[RILL_FRAME_HEADER] = {(uint8_t)len,
                                    (uint8_t)(len >> 8),
                                    (uint8_t)(len >> 16),
                                    (uint8_t)(len >> 24),
                                    (uint8_t)type,
                                    (uint8_t)(type >> 8),
                                    0,
                                    0};
    rill__buf_append(&w->q, h, sizeof h);
    if (len)
        rill__buf_append(&w->q, payload, len);
    return 0;
}

int rill__frame_writer_flush(rill__frame_writer *w, int fd)
{
    while (w->off < w->q.len) {
        size_t n = w->q.len - w->off;
        if (w->max_write)
            n = RILL_MIN(n, w->max_write);
        if (rill__fault(RILL_FAULT_NET))
            return rill__err_set(&w->err, -EPIPE, "write: injected network fault");
        /* MSG_NOSIGNAL: a peer that went away is an error code here, not a SIGPIPE;
         * MSG_DONTWAIT: a peer that stops reading cannot block a blocking socket past the
         * deadline of rill__frame_writer_drain */
        ssize_t put = send(fd, w->q.data + w->off, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (put < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return RILL_AGAIN;
            return rill__err_set(&w->err, -errno, "write: %s", strerror(errno));
        }
        w->off += (size_t)put;
    }
    w->q.len = w->off = 0;
    return 0;
}

/* ---- blocking helpers ---------------------------------------------------------------------- */

static int wait_fd(int fd, short events, int64_t deadline_ns)
{
    for (;;) {
        int ms = -1;
        if (deadline_ns >= 0) {
            int64_t left = (deadline_ns - rill__mono_ns() + 999999) / 1000000;
            if (left <= 0)
                return -ETIMEDOUT;
            ms = (int)RILL_MIN(left, INT32_MAX);
        }
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, ms);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

static int64_t deadline_of(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : rill__mono_ns() + (int64_t)timeout_ms * 1000000;
}

int rill__frame_writer_drain(rill__frame_writer *w, int fd, int timeout_ms)
{
    int64_t deadline = deadline_of(timeout_ms);
    for (;;) {
        int rc = rill__frame_writer_flush(w, fd);
        if (rc != RILL_AGAIN)
            return rc;
        rc = wait_fd(fd, POLLOUT, deadline);
        if (rc)
            return rill__err_set(&w->err, rc, "write: %zu bytes not taken within %d ms",
                                 rill__frame_writer_pending(w), timeout_ms);
    }
}

int rill__frame_send(int fd, uint16_t type, const void *payload, size_t len, int timeout_ms,
                     rill__err *err)
{
    rill__frame_writer w;
    rill__frame_writer_init(&w, SIZE_MAX);
    int rc = rill__frame_writer_put(&w, type, payload, len);
    if (rc == 0)
        rc = rill__frame_writer_drain(&w, fd, timeout_ms);
    if (rc && err)
        rill__err_set(err, rc, "%s", w.err.msg);
    rill__frame_writer_close(&w);
    return rc;
}

int rill__frame_recv(rill__frame_reader *r, int fd, int timeout_ms, rill__frame *out)
{
    int64_t deadline = deadline_of(timeout_ms);
    for (;;) {
        int rc = frame_read(r, fd, out, 0); /* what is buffered already */
        if (rc != RILL_AGAIN)
            return rc;
        rc = wait_fd(fd, POLLIN, deadline);
        if (rc == 0) {
            rc = frame_read(r, fd, out, 1);
            if (rc != RILL_AGAIN)
                return rc;
            continue;
        }
        if (rc) /* not sticky: the connection is still in a sane state */
            return rill__err_set(&r->err, rc,
                                 "read: no whole frame within %d ms (%" PRIu64 " frames received)",
                                 timeout_ms, r->n_frames);
    }
}
