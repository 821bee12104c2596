/* control.c - cluster layer: the control-plane messages a TaskManager and its JobManager
 * exchange after the handshake (registration, deployment, the job's life) and the first frame
 * of a data connection (DATA_OPEN), in the field codec of base/net.h; the format is
 * docs/protocol.md section 7. */
#include <stdlib.h>
#include <string.h>

#include "control.h"

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

/* A TaskManager id field (field names it), which must also be a valid id. */
static void dec_tm_id(rill__dec *d, const char *field, char *out, size_t cap)
{
    size_t at = d->off;
    rill__dec_str(d, field, out, cap);
    if (!rill__tm_id_ok(out))
        rill__dec_fail_at(d, field, at);
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
    dec_tm_id(&d, "tm_id", m->tm_id, sizeof m->tm_id);
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
    dec_tm_id(&d, "tm_id", m->tm_id, sizeof m->tm_id);
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

/* ---- deployment and the job's life ---------------------------------------------------------- */

bool rill__jar_id_ok(const char *s)
{
    for (int i = 0; i < 32; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false; /* also stops at the NUL of a shorter string */
    return strcmp(s + 32, ".so") == 0;
}

/* job_id: >= 1 in every message about a job. */
static uint64_t dec_job_id(rill__dec *d)
{
    size_t at = d->off;
    uint64_t v = rill__dec_u64(d, "job_id");
    if (v == 0)
        rill__dec_fail_at(d, "job_id", at);
    return v;
}

/* A checkpoint id field: >= 1. */
static uint64_t dec_ckpt_id(rill__dec *d, const char *field)
{
    size_t at = d->off;
    uint64_t v = rill__dec_u64(d, field);
    if (v == 0)
        rill__dec_fail_at(d, field, at);
    return v;
}

/* A global task index: < RILL_DEPLOY_TASKS_MAX. */
static uint32_t dec_task(rill__dec *d)
{
    size_t at = d->off;
    uint32_t v = rill__dec_u32(d, "task");
    if (v >= RILL_DEPLOY_TASKS_MAX)
        rill__dec_fail_at(d, "task", at);
    return v;
}

/* A result code sent as i64: within int32, and <= 0 (max_zero) or < 0 (!max_zero) unless any
 * sign is allowed (any). */
static int32_t dec_rc(rill__dec *d, bool any, bool max_zero)
{
    size_t at = d->off;
    int64_t v = rill__dec_i64(d, "rc");
    if (v < INT32_MIN || v > INT32_MAX || (!any && (max_zero ? v > 0 : v >= 0))) {
        rill__dec_fail_at(d, "rc", at);
        return 0;
    }
    return (int32_t)v;
}

/* A SHA-256 field: bytes of exactly RILL_SHA256_LEN. */
static void dec_sha256(rill__dec *d, const char *field, uint8_t out[RILL_SHA256_LEN])
{
    size_t at = d->off;
    const uint8_t *p;
    size_t n;
    rill__dec_bytes(d, field, RILL_SHA256_LEN, &p, &n);
    if (!d->rc && n != RILL_SHA256_LEN)
        rill__dec_fail_at(d, field, at);
    if (!d->rc)
        memcpy(out, p, RILL_SHA256_LEN);
}

/* The jar_id field: the generated form. */
static void dec_jar_id(rill__dec *d, char *out, size_t cap)
{
    size_t at = d->off;
    rill__dec_str(d, "jar_id", out, cap);
    if (!rill__jar_id_ok(out))
        rill__dec_fail_at(d, "jar_id", at);
}

/* An array count: <= max, and no more elements than the rest of the payload can hold at
 * min_bytes each, so that nothing is allocated for a count the payload cannot back. Returns
 * the count, 0 after a failure. */
static uint32_t dec_count(rill__dec *d, const char *field, uint32_t max, size_t min_bytes)
{
    size_t at = d->off;
    uint32_t n = rill__dec_u32(d, field);
    if (d->rc)
        return 0;
    if (n > max || (uint64_t)n * min_bytes > d->len - d->off) {
        rill__dec_fail_at(d, field, at);
        return 0;
    }
    return n;
}

/* An array count on encoding: RILL_ELIMIT naming field when over max (nothing of the array is
 * written then). */
static bool enc_count(rill__enc *e, const char *field, uint32_t n, uint32_t max)
{
    if (n > max) {
        if (!e->rc) {
            e->rc = RILL_ELIMIT;
            e->bad_field = field;
        }
        return false;
    }
    rill__enc_u32(e, n);
    return true;
}

int rill__msg_jar_data_enc(rill__buf *b, const rill__msg_jar_data *m)
{
    rill__enc e;
    rill__enc_init(&e, b);
    rill__enc_str(&e, "jar_id", m->jar_id, RILL_JAR_ID_MAX);
    rill__enc_u64(&e, m->total);
    rill__enc_u64(&e, m->offset);
    rill__enc_bytes(&e, "sha256", m->sha256, RILL_SHA256_LEN, RILL_SHA256_LEN);
    rill__enc_bytes(&e, "data", m->data, m->len, RILL_JAR_CHUNK_MAX);
    return rill__enc_finish(&e, "JAR_DATA");
}

int rill__msg_jar_data_dec(const void *p, size_t n, rill__msg_jar_data *m, rill__err *err)
{
    rill__dec d;
    rill__dec_init(&d, p, n);
    memset(m, 0, sizeof *m);
    dec_jar_id(&d, m->jar_id, sizeof m->jar_id);
    size_t at = d.off;
    m->total = rill__dec_u64(&d, "total");
    if (m->total < 1 || m->total > RILL_JAR_SIZE_MAX)
        rill__dec_fail_at(&d, "total", at);
    at = d.off;
    m->offset = rill__dec_u64(&d, "offset");
    if (m->offset >= m->total) /* a piece holds at least one byte */
        rill__dec_fail_at(&d, "offset", at);
    dec_sha256(&d, "sha256", m->sha256);
    at = d.off;
    const uint8_t *data;
    size_t len;
    rill__dec_bytes(&d, "data", RILL_JAR_CHUNK_MAX, &data, &len);
    /* offset < total here, so total - offset does not wrap */
    if (!d.rc && (len == 0 || len > m->total - m->offset))
        rill__dec_fail_at(&d, "data", at);
    if (!d.rc) {
        m->data = data;
        m->len = (uint32_t)len;
    }
    return rill__dec_finish(&d, "JAR_DATA", err);
}

int rill__msg_deploy_enc(rill__buf *b, const rill__msg_deploy *m)
{
    rill__enc e;
    rill__enc_init(&e, b);
    rill__enc_u64(&e, m->job_id);
    rill__enc_u32(&e, m->attempt);
    rill__enc_str(&e, "jar_id", m->jar_id, RILL_JAR_ID_MAX);
    rill__enc_bytes(&e, "jar_sha256", m->jar_sha256, RILL_SHA256_LEN, RILL_SHA256_LEN);
    rill__enc_str(&e, "job_name", m->job_name, RILL_JOB_NAME_MAX);
    if (enc_count(&e, "n_opts", m->n_opts, RILL_DEPLOY_OPTS_MAX))
        for (uint32_t i = 0; i < m->n_opts; i++) {
            rill__enc_str(&e, "opt_key", m->opt_keys[i], RILL_OPT_KEY_MAX);
            rill__enc_str(&e, "opt_value", m->opt_values[i], RILL_OPT_VALUE_MAX);
        }
    if (enc_count(&e, "n_args", m->n_args, RILL_DEPLOY_ARGS_MAX))
        for (uint32_t i = 0; i < m->n_args; i++)
            rill__enc_str(&e, "arg", m->args[i], RILL_ARG_MAX);
    rill__enc_u8(&e, m->restore_kind);
    rill__enc_u64(&e, m->restore_id);
    if (enc_count(&e, "n_tms", m->n_tms, RILL_TM_SLOTS_MAX))
        for (uint32_t i = 0; i < m->n_tms; i++) {
            rill__enc_str(&e, "tm_id", m->tms[i].tm_id, RILL_TM_ID_MAX);
            rill__enc_str(&e, "data_host", m->tms[i].data_host, RILL_HOST_MAX);
            rill__enc_u16(&e, m->tms[i].data_port);
        }
    if (enc_count(&e, "n_tasks", m->n_tasks, RILL_DEPLOY_TASKS_MAX))
        for (uint32_t i = 0; i < m->n_tasks; i++)
            rill__enc_u16(&e, m->tm_of_task[i]);
    return rill__enc_finish(&e, "DEPLOY");
}

/* A string field of at most max bytes, malloc'd; NULL after a failure. */
static char *dec_str_dup(rill__dec *d, const char *field, size_t max)
{
    char buf[RILL_ARG_MAX + 1];
    _Static_assert(RILL_OPT_KEY_MAX <= RILL_ARG_MAX && RILL_OPT_VALUE_MAX <= RILL_ARG_MAX,
                   "dec_str_dup's buffer holds every string it decodes");
    RILL_ASSERT(max < sizeof buf);
    rill__dec_str(d, field, buf, max + 1);
    return d->rc ? NULL : rill__xstrdup(buf);
}

int rill__msg_deploy_dec(const void *p, size_t n, rill__msg_deploy *m, rill__err *err)
{
    rill__dec d;
    rill__dec_init(&d, p, n);
    memset(m, 0, sizeof *m);
    m->job_id = dec_job_id(&d);
    m->attempt = rill__dec_u32(&d, "attempt");
    dec_jar_id(&d, m->jar_id, sizeof m->jar_id);
    dec_sha256(&d, "jar_sha256", m->jar_sha256);
    rill__dec_str(&d, "job_name", m->job_name, sizeof m->job_name);

    /* each count is checked against the bytes left (at their smallest encodings) first */
    m->n_opts = dec_count(&d, "n_opts", RILL_DEPLOY_OPTS_MAX, 4 + 1 + 4);
    if (m->n_opts) {
        m->opt_keys = rill__xcalloc(m->n_opts, sizeof *m->opt_keys);
        m->opt_values = rill__xcalloc(m->n_opts, sizeof *m->opt_values);
    }
    for (uint32_t i = 0; i < m->n_opts && !d.rc; i++) {
        size_t at = d.off;
        m->opt_keys[i] = dec_str_dup(&d, "opt_key", RILL_OPT_KEY_MAX);
        if (m->opt_keys[i] && !m->opt_keys[i][0])
            rill__dec_fail_at(&d, "opt_key", at);
        m->opt_values[i] = dec_str_dup(&d, "opt_value", RILL_OPT_VALUE_MAX);
    }
    m->n_args = dec_count(&d, "n_args", RILL_DEPLOY_ARGS_MAX, 4);
    if (m->n_args)
        m->args = rill__xcalloc(m->n_args, sizeof *m->args);
    for (uint32_t i = 0; i < m->n_args && !d.rc; i++)
        m->args[i] = dec_str_dup(&d, "arg", RILL_ARG_MAX);

    size_t at = d.off;
    m->restore_kind = rill__dec_u8(&d, "restore_kind");
    if (m->restore_kind > RILL_RESTORE_SAVEPOINT)
        rill__dec_fail_at(&d, "restore_kind", at);
    at = d.off;
    m->restore_id = rill__dec_u64(&d, "restore_id");
    if (m->restore_kind == RILL_RESTORE_CHECKPOINT && m->restore_id == 0)
        rill__dec_fail_at(&d, "restore_id", at);

    at = d.off;
    m->n_tms = dec_count(&d, "n_tms", RILL_TM_SLOTS_MAX, 4 + 1 + 4 + 1 + 2);
    if (!d.rc && m->n_tms == 0)
        rill__dec_fail_at(&d, "n_tms", at);
    if (m->n_tms)
        m->tms = rill__xcalloc(m->n_tms, sizeof *m->tms);
    for (uint32_t i = 0; i < m->n_tms && !d.rc; i++) {
        rill__deploy_tm *t = &m->tms[i];
        at = d.off;
        dec_tm_id(&d, "tm_id", t->tm_id, sizeof t->tm_id);
        for (uint32_t j = 0; j < i && !d.rc; j++) /* placement names each one once */
            if (strcmp(m->tms[j].tm_id, t->tm_id) == 0)
                rill__dec_fail_at(&d, "tm_id", at);
        at = d.off;
        rill__dec_str(&d, "data_host", t->data_host, sizeof t->data_host);
        if (!host_ok(t->data_host))
            rill__dec_fail_at(&d, "data_host", at);
        at = d.off;
        t->data_port = rill__dec_u16(&d, "data_port");
        if (t->data_port == 0)
            rill__dec_fail_at(&d, "data_port", at);
    }

    at = d.off;
    m->n_tasks = dec_count(&d, "n_tasks", RILL_DEPLOY_TASKS_MAX, 2);
    if (!d.rc && m->n_tasks == 0)
        rill__dec_fail_at(&d, "n_tasks", at);
    if (m->n_tasks)
        m->tm_of_task = rill__xcalloc(m->n_tasks, sizeof *m->tm_of_task);
    for (uint32_t i = 0; i < m->n_tasks && !d.rc; i++) {
        at = d.off;
        m->tm_of_task[i] = rill__dec_u16(&d, "tm_of_task");
        if (m->tm_of_task[i] >= m->n_tms)
            rill__dec_fail_at(&d, "tm_of_task", at);
    }

    int rc = rill__dec_finish(&d, "DEPLOY", err);
    if (rc)
        rill__msg_deploy_free(m);
    return rc;
}

void rill__msg_deploy_free(rill__msg_deploy *m)
{
    if (!m)
        return;
    for (uint32_t i = 0; i < m->n_opts; i++) {
        if (m->opt_keys)
            free(m->opt_keys[i]);
        if (m->opt_values)
            free(m->opt_values[i]);
    }
    for (uint32_t i = 0; m->args && i < m->n_args; i++)
        free(m->args[i]);
    free(m->opt_keys);
    free(m->opt_values);
    free(m->args);
    free(m->tms);
    free(m->tm_of_task);
    m->opt_keys = m->opt_values = m->args = NULL;
    m->tms = NULL;
    m->tm_of_task = NULL;
    m->n_opts = m->n_args = m->n_tms = m->n_tasks = 0;
}

/* The name of a job message type, NULL for another type. */
static const char *job_msg_name(uint16_t type)
{
    switch (type) {
    case RILL_FT_CANCEL:
        return "CANCEL";
    case RILL_FT_RELEASE:
        return "RELEASE";
    case RILL_FT_RELEASED:
        return "RELEASED";
    case RILL_FT_TRIGGER:
        return "TRIGGER";
    case RILL_FT_ABORT_STOP:
        return "ABORT_STOP";
    case RILL_FT_COMPLETE:
        return "COMPLETE";
    case RILL_FT_END_OF_DATA:
        return "END_OF_DATA";
    default:
        return NULL;
    }
}

int rill__msg_job_enc(rill__buf *b, uint16_t type, const rill__msg_job *m)
{
    const char *name = job_msg_name(type);
    if (!name) {
        rill__log(RILL_LOG_DEBUG, "job message: frame type 0x%04x is not one", type);
        return RILL_EINVAL;
    }
    rill__enc e;
    rill__enc_init(&e, b);
    rill__enc_u64(&e, m->job_id);
    rill__enc_u32(&e, m->attempt);
    if (type == RILL_FT_TRIGGER || type == RILL_FT_ABORT_STOP || type == RILL_FT_COMPLETE)
        rill__enc_u64(&e, m->ckpt_id);
    if (type == RILL_FT_TRIGGER) {
        rill__enc_u8(&e, m->stop);
        rill__enc_u8(&e, m->savepoint);
    }
    if (type == RILL_FT_END_OF_DATA)
        rill__enc_u32(&e, m->task);
    return rill__enc_finish(&e, name);
}

int rill__msg_job_dec(uint16_t type, const void *p, size_t n, rill__msg_job *m, rill__err *err)
{
    memset(m, 0, sizeof *m);
    const char *name = job_msg_name(type);
    if (!name)
        return rill__err_set(err, RILL_EPROTO, "frame type 0x%04x is not a job message", type);
    rill__dec d;
    rill__dec_init(&d, p, n);
    m->job_id = dec_job_id(&d);
    m->attempt = rill__dec_u32(&d, "attempt");
    if (type == RILL_FT_TRIGGER || type == RILL_FT_ABORT_STOP || type == RILL_FT_COMPLETE)
        m->ckpt_id = dec_ckpt_id(&d, "ckpt_id");
    if (type == RILL_FT_TRIGGER) {
        size_t at = d.off;
        m->stop = rill__dec_u8(&d, "stop");
        if (m->stop > RILL_STOP_NO_DRAIN)
            rill__dec_fail_at(&d, "stop", at);
        at = d.off;
        m->savepoint = rill__dec_u8(&d, "savepoint");
        if (m->savepoint > 1)
            rill__dec_fail_at(&d, "savepoint", at);
    }
    if (type == RILL_FT_END_OF_DATA)
        m->task = dec_task(&d);
    return rill__dec_finish(&d, name, err);
}

int rill__msg_task_state_enc(rill__buf *b, uint16_t type, const rill__msg_task_state *m)
{
    if (type != RILL_FT_TASK_STATE && type != RILL_FT_JOB_FAILED) {
        rill__log(RILL_LOG_DEBUG, "task state message: frame type 0x%04x is not one", type);
        return RILL_EINVAL;
    }
    rill__enc e;
    rill__enc_init(&e, b);
    rill__enc_u64(&e, m->job_id);
    rill__enc_u32(&e, m->attempt);
    if (type == RILL_FT_TASK_STATE) {
        rill__enc_u32(&e, m->task);
        rill__enc_u8(&e, m->state);
    }
    rill__enc_i64(&e, m->rc);
    rill__enc_str(&e, "msg", m->msg, RILL_TASK_MSG_MAX);
    return rill__enc_finish(&e, type == RILL_FT_TASK_STATE ? "TASK_STATE" : "JOB_FAILED");
}

int rill__msg_task_state_dec(uint16_t type, const void *p, size_t n, rill__msg_task_state *m,
                             rill__err *err)
{
    memset(m, 0, sizeof *m);
    if (type != RILL_FT_TASK_STATE && type != RILL_FT_JOB_FAILED)
        return rill__err_set(err, RILL_EPROTO, "frame type 0x%04x is not a task state message",
                             type);
    rill__dec d;
    rill__dec_init(&d, p, n);
    m->job_id = dec_job_id(&d);
    m->attempt = rill__dec_u32(&d, "attempt");
    if (type == RILL_FT_TASK_STATE) {
        m->task = dec_task(&d);
        size_t at = d.off;
        m->state = rill__dec_u8(&d, "state");
        if (m->state < RILL_TASK_RUNNING || m->state > RILL_TASK_CANCELED)
            rill__dec_fail_at(&d, "state", at);
    }
    m->rc = dec_rc(&d, type == RILL_FT_TASK_STATE, false);
    rill__dec_str(&d, "msg", m->msg, sizeof m->msg);
    return rill__dec_finish(&d, type == RILL_FT_TASK_STATE ? "TASK_STATE" : "JOB_FAILED", err);
}

int rill__msg_ack_enc(rill__buf *b, const rill__msg_ack *m)
{
    rill__enc e;
    rill__enc_init(&e, b);
    rill__enc_u64(&e, m->job_id);
    rill__enc_u32(&e, m->attempt);
    rill__enc_u32(&e, m->task);
    rill__enc_u64(&e, m->ckpt_id);
    rill__enc_i64(&e, m->rc);
    rill__enc_u64(&e, m->bytes);
    rill__enc_u64(&e, m->full_bytes);
    rill__enc_i64(&e, m->align_ms);
    rill__enc_u8(&e, m->has_state);
    rill__enc_i64(&e, m->state.keys);
    rill__enc_i64(&e, m->state.memory_bytes);
    rill__enc_i64(&e, m->state.disk_bytes);
    rill__enc_str(&e, "file", m->file, RILL_CKPT_FILE_MAX);
    rill__enc_str(&e, "reason", m->reason, RILL_TASK_MSG_MAX);
    return rill__enc_finish(&e, "ACK");
}

int rill__msg_ack_dec(const void *p, size_t n, rill__msg_ack *m, rill__err *err)
{
    rill__dec d;
    rill__dec_init(&d, p, n);
    memset(m, 0, sizeof *m);
    m->job_id = dec_job_id(&d);
    m->attempt = rill__dec_u32(&d, "attempt");
    m->task = dec_task(&d);
    m->ckpt_id = dec_ckpt_id(&d, "ckpt_id");
    m->rc = dec_rc(&d, false, true);
    m->bytes = rill__dec_u64(&d, "bytes");
    size_t at = d.off;
    m->full_bytes = rill__dec_u64(&d, "full_bytes");
    if (m->full_bytes < m->bytes)
        rill__dec_fail_at(&d, "full_bytes", at);
    at = d.off;
    m->align_ms = rill__dec_i64(&d, "align_ms");
    if (m->align_ms < 0)
        rill__dec_fail_at(&d, "align_ms", at);
    at = d.off;
    m->has_state = rill__dec_u8(&d, "has_state");
    if (m->has_state > 1)
        rill__dec_fail_at(&d, "has_state", at);
    static const char *const names[] = {"state_keys", "state_memory", "state_disk"};
    int64_t *vals[] = {&m->state.keys, &m->state.memory_bytes, &m->state.disk_bytes};
    for (int i = 0; i < 3; i++) {
        at = d.off;
        *vals[i] = rill__dec_i64(&d, names[i]);
        if (*vals[i] < 0 || (!m->has_state && *vals[i] != 0))
            rill__dec_fail_at(&d, names[i], at);
    }
    /* a data file of the checkpoint's directory: a plain name (no '/', "..", control
     * character, not "." and not the store's reserved '_'), empty only for a failure */
    at = d.off;
    rill__dec_str(&d, "file", m->file, sizeof m->file);
    rill__err ignored = {0};
    if (!d.rc && (m->file[0] || m->rc == 0) &&
        (rill__ckpt_check_name(m->file, strlen(m->file), "file", &ignored) != 0 ||
         m->file[0] == '_'))
        rill__dec_fail_at(&d, "file", at);
    rill__dec_str(&d, "reason", m->reason, sizeof m->reason);
    return rill__dec_finish(&d, "ACK", err);
}

int rill__msg_data_open_enc(rill__buf *b, const rill__msg_data_open *m)
{
    rill__enc e;
    rill__enc_init(&e, b);
    rill__enc_u64(&e, m->job_id);
    rill__enc_u32(&e, m->attempt);
    rill__enc_str(&e, "from_tm", m->from_tm, RILL_TM_ID_MAX);
    rill__enc_str(&e, "to_tm", m->to_tm, RILL_TM_ID_MAX);
    return rill__enc_finish(&e, "DATA_OPEN");
}

int rill__msg_data_open_dec(const void *p, size_t n, rill__msg_data_open *m, rill__err *err)
{
    rill__dec d;
    rill__dec_init(&d, p, n);
    memset(m, 0, sizeof *m);
    m->job_id = dec_job_id(&d);
    m->attempt = rill__dec_u32(&d, "attempt");
    dec_tm_id(&d, "from_tm", m->from_tm, sizeof m->from_tm);
    size_t at = d.off;
    dec_tm_id(&d, "to_tm", m->to_tm, sizeof m->to_tm);
    if (strcmp(m->from_tm, m->to_tm) == 0)
        rill__dec_fail_at(&d, "to_tm", at);
    return rill__dec_finish(&d, "DATA_OPEN", err);
}
