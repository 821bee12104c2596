/* control.c - cluster layer: the control-plane messages a TaskManager and its JobManager
 * exchange after the handshake (REGISTER_TM, REGISTERED, DISCONNECT), in the field codec of
 * base/net.h; the format is docs/protocol.md section 7. */
#include <string.h>

#include "cluster.h"

const char *rill__disconnect_name(int reason)
{
    switch (reason) {
    case RILL_DISCONNECT_PROTOCOL:
        return "protocol";
    case RILL_DISCONNECT_SHUTDOWN:
        return "shutdown";
    case RILL_DISCONNECT_HEARTBEAT:
        return "heartbeat timeout";
    case RILL_DISCONNECT_REPLACED:
        return "replaced";
    case RILL_DISCONNECT_REJECTED:
        return "rejected";
    default:
        return "unknown";
    }
}

bool rill__tm_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > RILL_TM_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

/* A host name or numeric address: [A-Za-z0-9.:_%-] only, so it is safe in any log line. */
static bool host_ok(const char *h)
{
    if (!*h)
        return false;
    for (; *h; h++) {
        char c = *h;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == ':' || c == '_' || c == '%' || c == '-'))
            return false;
    }
    return true;
}

/* The tm_id field, which must also be a valid TaskManager id. */
static void dec_tm_id(rill__dec *d, char *out, size_t cap)
{
    size_t at = d->off;
    rill__dec_str(d, "tm_id", out, cap);
    if (!rill__tm_id_ok(out))
        rill__dec_fail_at(d, "tm_id", at);
}

int rill__msg_register_tm_enc(rill__buf *b, const rill__msg_register_tm *m)
{
    rill__enc e;
    rill__enc_init(&e, b);
    rill__enc_str(&e, "tm_id", m->tm_id, RILL_TM_ID_MAX);
    rill__enc_u32(&e, m->slots);
    rill__enc_str(&e, "data_host", m->data_host, RILL_HOST_MAX);
    rill__enc_u16(&e, m->data_port);
    return rill__enc_finish(&e, "REGISTER_TM");
}

int rill__msg_register_tm_dec(const void *p, size_t n, rill__msg_register_tm *m, rill__err *err)
{
    rill__dec d;
    rill__dec_init(&d, p, n);
    memset(m, 0, sizeof *m);
    dec_tm_id(&d, m->tm_id, sizeof m->tm_id);
    size_t at = d.off;
    m->slots = rill__dec_u32(&d, "slots");
    if (m->slots < 1 || m->slots > RILL_TM_SLOTS_MAX)
        rill__dec_fail_at(&d, "slots", at);
    at = d.off;
    rill__dec_str(&d, "data_host", m->data_host, sizeof m->data_host);
    if (!host_ok(m->data_host))
        rill__dec_fail_at(&d, "data_host", at);
    at = d.off;
    m->data_port = rill__dec_u16(&d, "data_port");
    if (m->data_port == 0)
        rill__dec_fail_at(&d, "data_port", at);
    return rill__dec_finish(&d, "REGISTER_TM", err);
}

int rill__msg_registered_enc(rill__buf *b, const rill__msg_registered *m)
{
    rill__enc e;
    rill__enc_init(&e, b);
    rill__enc_str(&e, "tm_id", m->tm_id, RILL_TM_ID_MAX);
    rill__enc_u64(&e, m->registration);
    return rill__enc_finish(&e, "REGISTERED");
}

int rill__msg_registered_dec(const void *p, size_t n, rill__msg_registered *m, rill__err *err)
{
    rill__dec d;
    rill__dec_init(&d, p, n);
    memset(m, 0, sizeof *m);
    dec_tm_id(&d, m->tm_id, sizeof m->tm_id);
    size_t at = d.off;
    m->registration = rill__dec_u64(&d, "registration");
    if (m->registration == 0)
        rill__dec_fail_at(&d, "registration", at);
    return rill__dec_finish(&d, "REGISTERED", err);
}

int rill__msg_disconnect_enc(rill__buf *b, const rill__msg_disconnect *m)
{
    rill__enc e;
    rill__enc_init(&e, b);
    rill__enc_u16(&e, m->reason);
    rill__enc_str(&e, "text", m->text, RILL_REFUSE_TEXT_MAX);
    return rill__enc_finish(&e, "DISCONNECT");
}

int rill__msg_disconnect_dec(const void *p, size_t n, rill__msg_disconnect *m, rill__err *err)
{
    rill__dec d;
    rill__dec_init(&d, p, n);
    memset(m, 0, sizeof *m);
    size_t at = d.off;
    m->reason = rill__dec_u16(&d, "reason");
    if (m->reason < RILL_DISCONNECT_PROTOCOL || m->reason > RILL_DISCONNECT_REJECTED)
        rill__dec_fail_at(&d, "reason", at);
    rill__dec_str(&d, "text", m->text, sizeof m->text);
    return rill__dec_finish(&d, "DISCONNECT", err);
}
