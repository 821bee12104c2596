/* jmserver.c - cluster layer: the JobManager's control server. Accepts TaskManager
 * connections, runs the handshake and the registration on a thread per connection, answers
 * heartbeats, and removes a TaskManager that closes, misbehaves or stops heartbeating. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"

/* How long a RELEASE waits for the TaskManager's RELEASED (its tasks' threads to end). */
#define RELEASE_TIMEOUT_MS 30000

/* Connections at once (registered or in their handshake); more are closed at accept. */
#define MAX_CONNS 256

typedef struct rill__jm_server rill__jm_server;

/* One TaskManager's control connection. Its thread owns the reader; frames are sent under
 * send_mu, so that the rill__tm_gateway built on this object next (deploy, trigger, ...) can
 * send from the JobManager's threads. */
typedef struct remote_tm remote_tm;

/* The JobManager's handle on one registration: the rill__tm_gateway's object. Shared by the
 * connection (until it ends) and the JobManager (until it drops the gateway): freed by the
 * last of the two. */
typedef struct tm_link {
    pthread_mutex_t mu;
    pthread_mutex_t jar_mu; /* one job object's transfer at a time (taken before mu) */
    pthread_cond_t cv;
    int refs;
    remote_tm *conn; /* NULL once the connection has ended */
    char tm_id[RILL_TM_ID_MAX + 1];
    /* RELEASED answers not yet collected by their release call */
    struct released {
        uint64_t job;
        uint32_t attempt;
    } *released;
    int n_released;
    /* job objects already sent over this connection */
    char (*jars)[RILL_JAR_ID_MAX + 1];
    int n_jars;
} tm_link;

struct remote_tm {
    rill__jm_server *srv;
    int fd;            /* -1 once closed (under srv->mu) */
    bool in_handshake; /* under srv->mu: stop shuts the socket down to end it at once */
    pthread_t thread;
    atomic_bool done;     /* the thread has ended: the accept loop joins and frees it */
    atomic_bool replaced; /* its TaskManager registered again on a newer connection */
    char peer[RILL_NET_NAME_MAX];
    pthread_mutex_t send_mu;
    uint64_t handle; /* the registration in the JobManager, 0: none (under srv->mu) */
    char tm_id[RILL_TM_ID_MAX + 1];
    tm_link *link; /* registered: the gateway's object */
    char end_why[1200]; /* why the connection ended, for the jobs that fail over */
    struct remote_tm *next;
};

struct rill__jm_server {
    rill__jobmanager *jm;
    rill__cluster_cfg cfg;
    int lfd, port;
    pthread_t accept_thread;
    atomic_bool stopping;
    pthread_mutex_t mu;
    remote_tm *conns;
    int n_conns;
};

static const uint16_t types_unregistered[] = {RILL_FT_REGISTER_TM, RILL_FT_DISCONNECT};
static const uint16_t types_registered[] = {
    RILL_FT_HEARTBEAT, RILL_FT_DISCONNECT, RILL_FT_TASK_STATE, RILL_FT_ACK,
    RILL_FT_END_OF_DATA, RILL_FT_RELEASED, RILL_FT_JOB_FAILED, RILL_FT_METRICS};

static int send_msg(remote_tm *c, uint16_t type, const rill__buf *b, rill__err *err)
{
    pthread_mutex_lock(&c->send_mu);
    int rc = rill__frame_send(c->fd, type, b->data, b->len, c->srv->cfg.heartbeat_timeout_ms, err);
    pthread_mutex_unlock(&c->send_mu);
    return rc;
}

/* Best effort: the peer learns why before the close (it may be gone already). */
static void send_disconnect(remote_tm *c, int reason, const char *text)
{
    rill__msg_disconnect m = {.reason = (uint16_t)reason};
    snprintf(m.text, sizeof m.text, "%s", text);
    rill__buf b = {0};
    rill__err err = {0};
    if (rill__msg_disconnect_enc(&b, &m) == 0)
        send_msg(c, RILL_FT_DISCONNECT, &b, &err);
    rill__buf_free(&b);
}

static const char *who(const remote_tm *c, char *buf, size_t cap)
{
    if (c->tm_id[0])
        snprintf(buf, cap, "taskmanager %s (%s)", c->tm_id, c->peer);
    else
        snprintf(buf, cap, "control connection from %s", c->peer);
    return buf;
}

/* ---- the rill__tm_gateway of a registration: frames over its connection ------------------- */

static void link_unref(tm_link *l)
{
    pthread_mutex_lock(&l->mu);
    bool last = --l->refs == 0;
    pthread_mutex_unlock(&l->mu);
    if (!last)
        return;
    pthread_mutex_destroy(&l->mu);
    pthread_mutex_destroy(&l->jar_mu);
    pthread_cond_destroy(&l->cv);
    free(l->released);
    free(l->jars);
    free(l);
}

static void gw_drop(void *arg)
{
    link_unref(arg);
}

/* Sends a frame to the TaskManager (l->mu held): RILL_EIO when the connection has ended. */
static int link_send(tm_link *l, uint16_t type, const rill__buf *b, rill__err *err)
{
    if (!l->conn)
        return rill__err_set(err, RILL_EIO, "taskmanager %s is gone", l->tm_id);
    return send_msg(l->conn, type, b, err);
}

static void gw_job_msg(tm_link *l, uint16_t type, const rill__msg_job *m)
{
    rill__buf b = {0};
    rill__err err = {0};
    pthread_mutex_lock(&l->mu);
    int rc = rill__msg_job_enc(&b, type, m);
    if (rc == 0)
        rc = link_send(l, type, &b, &err);
    if (rc && l->conn)
        rill__log(RILL_LOG_WARN, "taskmanager %s: cannot send a message (type 0x%04x): %s",
                  l->tm_id, type, err.msg[0] ? err.msg : rill_strerror(rc));
    pthread_mutex_unlock(&l->mu);
    rill__buf_free(&b);
}

static void gw_cancel(void *arg, uint64_t job_id, uint32_t attempt)
{
    gw_job_msg(arg, RILL_FT_CANCEL, &(rill__msg_job){.job_id = job_id, .attempt = attempt});
}

static void gw_trigger(void *arg, uint64_t job_id, uint32_t attempt, uint64_t ckpt_id,
                       rill__stop_mode stop, bool savepoint)
{
    gw_job_msg(arg, RILL_FT_TRIGGER,
               &(rill__msg_job){.job_id = job_id, .attempt = attempt, .ckpt_id = ckpt_id,
                                .stop = (uint8_t)stop, .savepoint = savepoint});
}

static void gw_abort_stop(void *arg, uint64_t job_id, uint32_t attempt, uint64_t ckpt_id)
{
    gw_job_msg(arg, RILL_FT_ABORT_STOP,
               &(rill__msg_job){.job_id = job_id, .attempt = attempt, .ckpt_id = ckpt_id});
}

static void gw_complete(void *arg, uint64_t job_id, uint32_t attempt, uint64_t ckpt_id)
{
    gw_job_msg(arg, RILL_FT_COMPLETE,
               &(rill__msg_job){.job_id = job_id, .attempt = attempt, .ckpt_id = ckpt_id});
}

/* Sends RELEASE and waits for RELEASED (the TaskManager's threads of the attempt have ended),
 * the connection's end, or the timeout. */
static void gw_release(void *arg, uint64_t job_id, uint32_t attempt)
{
    tm_link *l = arg;
    gw_job_msg(l, RILL_FT_RELEASE, &(rill__msg_job){.job_id = job_id, .attempt = attempt});
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += RELEASE_TIMEOUT_MS / 1000;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        int found = -1;
        for (int i = 0; i < l->n_released && found < 0; i++)
            if (l->released[i].job == job_id && l->released[i].attempt == attempt)
                found = i;
        if (found >= 0) {
            l->released[found] = l->released[--l->n_released];
            break;
        }
        if (!l->conn)
            break;
        if (pthread_cond_timedwait(&l->cv, &l->mu, &ts) == ETIMEDOUT) {
            rill__log(RILL_LOG_WARN,
                      "taskmanager %s: job %llu attempt %u not released within %d ms; going on",
                      l->tm_id, (unsigned long long)job_id, attempt, RELEASE_TIMEOUT_MS);
            break;
        }
    }
    pthread_mutex_unlock(&l->mu);
}

/* Sends the job's object in JAR_DATA pieces unless this connection carried it already
 * (l->jar_mu held: one object at a time, its pieces in order; l->mu is taken per piece, so
 * the link's other frames, a checkpoint trigger say, go between the pieces of a large one). */
static int send_jar(tm_link *l, const rill__job_spec *spec, rill__err *err)
{
    pthread_mutex_lock(&l->mu);
    bool sent = false;
    for (int i = 0; i < l->n_jars && !sent; i++)
        sent = !strcmp(l->jars[i], spec->jar_id);
    pthread_mutex_unlock(&l->mu);
    if (sent)
        return 0;
    FILE *f = fopen(spec->jar_path, "rb");
    if (!f)
        return rill__err_set(err, -errno, "cannot open job object %s: %s", spec->jar_path,
                             strerror(errno));
    uint8_t *chunk = rill__xmalloc(RILL_JAR_CHUNK_MAX);
    rill__buf b = {0};
    int rc = 0;
    uint64_t off = 0;
    while (rc == 0 && off < spec->jar_size) {
        size_t want = (size_t)RILL_MIN((uint64_t)RILL_JAR_CHUNK_MAX, spec->jar_size - off);
        if (fread(chunk, 1, want, f) != want) {
            rc = rill__err_set(err, RILL_EIO, "job object %s: short read at byte %llu",
                               spec->jar_path, (unsigned long long)off);
            break;
        }
        rill__msg_jar_data m = {.total = spec->jar_size, .offset = off, .data = chunk,
                                .len = (uint32_t)want};
        memcpy(m.jar_id, spec->jar_id, sizeof m.jar_id);
        memcpy(m.sha256, spec->jar_sha256, sizeof m.sha256);
        b.len = 0;
        rc = rill__msg_jar_data_enc(&b, &m);
        if (rc == 0) {
            pthread_mutex_lock(&l->mu);
            rc = link_send(l, RILL_FT_JAR_DATA, &b, err);
            pthread_mutex_unlock(&l->mu);
        }
        off += want;
    }
    fclose(f);
    free(chunk);
    rill__buf_free(&b);
    if (rc == 0) {
        pthread_mutex_lock(&l->mu);
        l->jars = rill__xrealloc(l->jars, (size_t)(l->n_jars + 1) * sizeof *l->jars);
        memcpy(l->jars[l->n_jars++], spec->jar_id, sizeof *l->jars);
        pthread_mutex_unlock(&l->mu);
    }
    return rc;
}

static int gw_deploy(void *arg, uint64_t job_id, uint32_t attempt, rill__exec_graph *g,
                     const int *tasks, int n, const rill__deploy_plan *plan,
                     const rill__restore *restore, rill__err *err)
{
    (void)tasks;
    (void)n; /* the TaskManager runs the tasks the plan places on it */
    tm_link *l = arg;
    const rill__job_spec *spec = g->env->cluster_spec;
    if (!spec)
        return rill__err_set(err, RILL_ENOTSUP,
                             "job '%s' was not submitted as an object (rill run -m): a "
                             "TaskManager process cannot build its graph", g->env->name);
    rill__msg_deploy m = {.job_id = job_id, .attempt = attempt};
    memcpy(m.jar_id, spec->jar_id, sizeof m.jar_id);
    memcpy(m.jar_sha256, spec->jar_sha256, sizeof m.jar_sha256);
    snprintf(m.job_name, sizeof m.job_name, "%s", g->env->name);
    m.n_opts = (uint32_t)spec->n_opts;
    m.opt_keys = spec->opt_keys;
    m.opt_values = spec->opt_values;
    m.n_args = (uint32_t)spec->n_args;
    m.args = spec->args;
    if (restore) {
        m.restore_kind = rill__restore_is_savepoint(restore) ? RILL_RESTORE_SAVEPOINT
                                                             : RILL_RESTORE_CHECKPOINT;
        m.restore_id = (uint64_t)rill__restore_id(restore);
    }
    m.n_tms = (uint32_t)plan->n_tms;
    m.tms = (rill__deploy_tm *)plan->tms;
    m.n_tasks = (uint32_t)g->n_tasks;
    m.tm_of_task = rill__xcalloc((size_t)g->n_tasks + 1, sizeof *m.tm_of_task);
    for (int t = 0; t < g->n_tasks; t++)
        m.tm_of_task[t] = (uint16_t)plan->tm_of_task[t];
    rill__buf b = {0};
    int rc = rill__msg_deploy_enc(&b, &m);
    free(m.tm_of_task);
    if (rc)
        rill__err_set(err, rc, "job '%s': the deployment does not fit a control frame (options "
                      "or arguments too long?)", g->env->name);
    pthread_mutex_lock(&l->jar_mu); /* the object's pieces, then the DEPLOY that needs it */
    if (rc == 0)
        rc = send_jar(l, spec, err);
    if (rc == 0) {
        pthread_mutex_lock(&l->mu);
        rc = link_send(l, RILL_FT_DEPLOY, &b, err);
        pthread_mutex_unlock(&l->mu);
    }
    pthread_mutex_unlock(&l->jar_mu);
    rill__buf_free(&b);
    return rc;
}

/* ---- what a registered TaskManager reports -------------------------------------------------- */

static int on_report(remote_tm *c, const rill__frame *f)
{
    rill__jm_gateway jg = rill__jm_gateway_local(c->srv->jm);
    rill__err err = {0};
    int rc;
    if (f->type == RILL_FT_METRICS) {
        rill__prom_set *set = NULL;
        if ((rc = rill__prom_set_decode(f->payload, f->len, &set, &err)) == 0)
            rill__jm_remote_tm_metrics(c->srv->jm, c->handle, set);
    } else if (f->type == RILL_FT_TASK_STATE || f->type == RILL_FT_JOB_FAILED) {
        rill__msg_task_state m;
        if ((rc = rill__msg_task_state_dec(f->type, f->payload, f->len, &m, &err)) == 0) {
            rill__text_sanitize(m.msg);
            if (f->type == RILL_FT_TASK_STATE)
                jg.task_state(jg.jm, m.job_id, m.attempt, (int)m.task, (rill__task_state)m.state,
                              m.rc, m.msg);
            else
                jg.job_failed(jg.jm, m.job_id, m.attempt, m.rc, m.msg);
        }
    } else if (f->type == RILL_FT_ACK) {
        rill__msg_ack m;
        if ((rc = rill__msg_ack_dec(f->payload, f->len, &m, &err)) == 0) {
            rill__text_sanitize(m.reason);
            rill__text_sanitize(m.file);
            jg.ack(jg.jm, m.job_id, m.attempt, (int)m.task, m.ckpt_id, m.rc, m.bytes,
                   m.full_bytes, m.align_ms, m.has_state ? &m.state : NULL, m.file, m.reason);
        }
    } else { /* END_OF_DATA, RELEASED */
        rill__msg_job m;
        if ((rc = rill__msg_job_dec(f->type, f->payload, f->len, &m, &err)) == 0) {
            if (f->type == RILL_FT_END_OF_DATA) {
                jg.end_of_data(jg.jm, m.job_id, m.attempt, (int)m.task);
            } else {
                tm_link *l = c->link;
                pthread_mutex_lock(&l->mu);
                l->released = rill__xrealloc(l->released,
                                             (size_t)(l->n_released + 1) * sizeof *l->released);
                l->released[l->n_released++] = (struct released){m.job_id, m.attempt};
                pthread_cond_broadcast(&l->cv);
                pthread_mutex_unlock(&l->mu);
            }
        }
    }
    if (rc) {
        char w[256];
        rill__log(RILL_LOG_WARN, "%s: %s; closing it", who(c, w, sizeof w), err.msg);
        send_disconnect(c, RILL_DISCONNECT_PROTOCOL, err.msg);
    }
    return rc;
}

static int on_register(remote_tm *c, rill__frame_reader *r, const rill__frame *f)
{
    rill__jm_server *s = c->srv;
    rill__msg_register_tm m;
    rill__err err = {0};
    if (rill__msg_register_tm_dec(f->payload, f->len, &m, &err) != 0) {
        rill__log(RILL_LOG_WARN, "control connection from %s: %s; closing it", c->peer, err.msg);
        send_disconnect(c, RILL_DISCONNECT_PROTOCOL, err.msg);
        return RILL_EPROTO;
    }
    uint64_t handle, replaced;
    tm_link *l = rill__xcalloc(1, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
    pthread_mutex_init(&l->jar_mu, NULL);
    rill__cond_init_monotonic(&l->cv);
    l->refs = 2; /* this connection, and the JobManager's gateway */
    l->conn = c;
    memcpy(l->tm_id, m.tm_id, sizeof l->tm_id);
    c->link = l;
    rill__tm_gateway gw = {.tm = l,
                           .slots = (int)m.slots,
                           .deploy = gw_deploy,
                           .cancel = gw_cancel,
                           .release = gw_release,
                           .trigger = gw_trigger,
                           .abort_stop = gw_abort_stop,
                           .complete = gw_complete,
                           .drop = gw_drop};
    /* Every gateway send takes l->mu: held until REGISTERED is out, a job placed on the new
     * slots at once (one waiting for slots, a restart) cannot send JAR_DATA or DEPLOY first,
     * which the TaskManager, still waiting for REGISTERED, would take for a protocol error. */
    pthread_mutex_lock(&l->mu);
    rill__jm_remote_tm_add(s->jm, &m, &gw, &handle, &replaced);
    pthread_mutex_lock(&s->mu);
    c->handle = handle;
    memcpy(c->tm_id, m.tm_id, sizeof c->tm_id);
    if (replaced) /* the same TaskManager on a newer connection: end the old one */
        for (remote_tm *o = s->conns; o; o = o->next)
            if (o != c && o->handle == replaced && o->fd >= 0) {
                atomic_store(&o->replaced, true); /* (its handle was removed with the add) */
                shutdown(o->fd, SHUT_RD); /* wakes its thread, which says why and closes */
            }
    pthread_mutex_unlock(&s->mu);
    rill__log(RILL_LOG_INFO, "taskmanager %s registered from %s: %u slots, data port %s:%u%s",
              m.tm_id, c->peer, m.slots, m.data_host, m.data_port,
              replaced ? " (replacing its previous connection)" : "");
    rill__msg_registered ok = {.registration = handle};
    memcpy(ok.tm_id, m.tm_id, sizeof ok.tm_id);
    rill__buf b = {0};
    int rc = rill__msg_registered_enc(&b, &ok);
    if (rc == 0)
        rc = send_msg(c, RILL_FT_REGISTERED, &b, &err);
    pthread_mutex_unlock(&l->mu);
    rill__buf_free(&b);
    if (rc) {
        rill__log(RILL_LOG_WARN, "taskmanager %s: cannot acknowledge its registration: %s", m.tm_id,
                  err.msg);
        return rc;
    }
    rill__frame_reader_accept(r, types_registered, RILL_ARRAY_LEN(types_registered));
    return 0;
}

static int on_heartbeat(remote_tm *c, const rill__frame *f)
{
    rill__msg_heartbeat hb;
    rill__err err = {0};
    char w[256];
    int rc = rill__msg_heartbeat_dec(f->payload, f->len, &hb, &err);
    if (rc == 0 && hb.reply) {
        rc = rill__err_set(&err, RILL_EPROTO,
                           "HEARTBEAT: a reply, and this JobManager never "
                           "requests one");
    }
    if (rc) {
        rill__log(RILL_LOG_WARN, "%s: %s; closing it", who(c, w, sizeof w), err.msg);
        send_disconnect(c, RILL_DISCONNECT_PROTOCOL, err.msg);
        return rc;
    }
    rill__jm_remote_tm_seen(c->srv->jm, c->handle);
    hb.reply = 1;
    rill__buf b = {0};
    rc = rill__msg_heartbeat_enc(&b, &hb);
    if (rc == 0)
        rc = send_msg(c, RILL_FT_HEARTBEAT, &b, &err);
    rill__buf_free(&b);
    if (rc)
        rill__log(RILL_LOG_WARN, "%s: cannot answer its heartbeat: %s", who(c, w, sizeof w),
                  err.msg);
    return rc;
}

/* After the handshake: registration, then heartbeats, until the connection ends. */
static void serve(remote_tm *c, rill__frame_reader *r)
{
    rill__jm_server *s = c->srv;
    char w[256];
    int64_t ms = 1000000;
    /* the registration must follow the handshake as promptly as the handshake itself */
    int64_t deadline = rill__mono_ns() + (int64_t)s->cfg.handshake_timeout_ms * ms;
    rill__frame_reader_accept(r, types_unregistered, RILL_ARRAY_LEN(types_unregistered));
    int nb = rill__net_set_nonblock(c->fd, true); /* else reads would ignore the deadlines */
    if (nb) {
        rill__log(RILL_LOG_WARN, "%s: cannot make the connection non-blocking: %s; closing it",
                  who(c, w, sizeof w), rill_strerror(nb));
        return;
    }
    for (;;) {
        if (atomic_load(&s->stopping)) {
            send_disconnect(c, RILL_DISCONNECT_SHUTDOWN, "the JobManager is shutting down");
            return;
        }
        rill__frame f;
        int rc = rill__frame_read(r, c->fd, &f);
        if (rc == 0) {
            if (f.type == RILL_FT_REGISTER_TM)
                rc = on_register(c, r, &f);
            else if (f.type == RILL_FT_HEARTBEAT)
                rc = on_heartbeat(c, &f);
            else if (f.type != RILL_FT_DISCONNECT)
                rc = on_report(c, &f);
            else { /* DISCONNECT */
                rill__msg_disconnect d;
                rill__err err = {0};
                if (rill__msg_disconnect_dec(f.payload, f.len, &d, &err) != 0) {
                    rill__log(RILL_LOG_WARN, "%s: %s; closing it", who(c, w, sizeof w), err.msg);
                } else {
                    rill__text_sanitize(d.text); /* the peer's words go into our log */
                    rill__log(RILL_LOG_INFO, "%s disconnected (%s): %s", who(c, w, sizeof w),
                              rill__disconnect_name(d.reason), d.text);
                    snprintf(c->end_why, sizeof c->end_why, "it disconnected (%s): %s",
                             rill__disconnect_name(d.reason), d.text);
                }
                return;
            }
            if (rc)
                return;
            if (c->handle)
                deadline = rill__mono_ns() + (int64_t)s->cfg.heartbeat_timeout_ms * ms;
            continue;
        }
        if (atomic_load(&c->replaced)) {
            rill__log(RILL_LOG_INFO, "%s: replaced by its newer connection", who(c, w, sizeof w));
            send_disconnect(c, RILL_DISCONNECT_REPLACED,
                            "this TaskManager id registered on a newer connection");
            return;
        }
        if (rc == RILL_DONE) {
            rill__log(RILL_LOG_WARN, "%s closed the connection", who(c, w, sizeof w));
            snprintf(c->end_why, sizeof c->end_why, "it closed its connection");
            return;
        }
        if (rc != RILL_AGAIN) {
            const char *why = r->err.msg[0] ? r->err.msg : rill_strerror(rc);
            rill__log(RILL_LOG_WARN, "%s: %s; closing it", who(c, w, sizeof w), why);
            snprintf(c->end_why, sizeof c->end_why, "its connection failed: %s", why);
            if (rc == RILL_EPROTO || rc == RILL_ELIMIT)
                send_disconnect(c, RILL_DISCONNECT_PROTOCOL, why);
            return;
        }
        int64_t left = deadline - rill__mono_ns();
        if (left <= 0) {
            char text[160];
            if (c->handle)
                snprintf(text, sizeof text, "no heartbeat for %d ms", s->cfg.heartbeat_timeout_ms);
            else
                snprintf(text, sizeof text, "no registration within %d ms of the handshake",
                         s->cfg.handshake_timeout_ms);
            rill__log(RILL_LOG_WARN, "%s: %s: declared dead", who(c, w, sizeof w), text);
            snprintf(c->end_why, sizeof c->end_why, "%s", text);
            send_disconnect(c, RILL_DISCONNECT_HEARTBEAT, text);
            return;
        }
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int wait = (int)RILL_MIN(left / ms + 1, 200); /* stays responsive to the stop */
        if (poll(&p, 1, wait) < 0 && errno != EINTR) {
            rill__log(RILL_LOG_WARN, "%s: poll: %s", who(c, w, sizeof w), strerror(errno));
            return;
        }
    }
}

static void *conn_main(void *arg)
{
    remote_tm *c = arg;
    rill__jm_server *s = c->srv;
    rill__frame_reader r;
    rill__frame_reader_init(&r, RILL_FRAME_CONTROL_MAX, NULL, 0);
    rill__hs_config hc = {
        .cluster_id = s->cfg.cluster_id,
        .name = "jobmanager",
        .role = RILL_ROLE_JOBMANAGER,
        .peer_roles = RILL_ROLE_BIT(RILL_ROLE_TASKMANAGER),
        .secret = s->cfg.secret,
        .secret_len = s->cfg.secret_len,
        .timeout_ms = s->cfg.handshake_timeout_ms,
    };
    rill__hs_peer peer;
    rill__err err = {0};
    int rc = rill__hs_server(c->fd, &hc, &r, &peer, &err);
    pthread_mutex_lock(&s->mu);
    c->in_handshake = false;
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        if (!atomic_load(&s->stopping))
            rill__log(RILL_LOG_WARN, "control connection from %s refused: %s", c->peer, err.msg);
    } else {
        serve(c, &r);
    }
    rill__frame_reader_close(&r);
    if (c->link) { /* the gateway sends nothing more; a release waiting on it goes on */
        tm_link *l = c->link;
        pthread_mutex_lock(&l->mu);
        l->conn = NULL;
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        link_unref(l);
        c->link = NULL;
    }
    pthread_mutex_lock(&s->mu);
    uint64_t handle = c->handle;
    c->handle = 0;
    close(c->fd);
    c->fd = -1;
    pthread_mutex_unlock(&s->mu);
    if (handle && !atomic_load(&c->replaced)) { /* a replaced one left with the add */
        rill__jm_remote_tm_remove(s->jm, handle,
                                  c->end_why[0] ? c->end_why : "its connection ended");
        rill__log(RILL_LOG_INFO, "taskmanager %s removed", c->tm_id);
    }
    atomic_store(&c->done, true);
    return NULL;
}

/* Joins and frees the connections whose thread has ended (all of them with wait). */
static void reap(rill__jm_server *s, bool wait)
{
    pthread_mutex_lock(&s->mu);
    remote_tm **pp = &s->conns;
    while (*pp) {
        remote_tm *c = *pp;
        if (!wait && !atomic_load(&c->done)) {
            pp = &c->next;
            continue;
        }
        *pp = c->next;
        s->n_conns--;
        pthread_mutex_unlock(&s->mu);
        pthread_join(c->thread, NULL);
        pthread_mutex_destroy(&c->send_mu);
        free(c);
        pthread_mutex_lock(&s->mu);
        pp = &s->conns;
    }
    pthread_mutex_unlock(&s->mu);
}

static void *accept_main(void *arg)
{
    rill__jm_server *s = arg;
    while (!atomic_load(&s->stopping)) {
        reap(s, false);
        int fd;
        char peer[RILL_NET_NAME_MAX];
        rill__err err = {0};
        int rc = rill__net_accept(s->lfd, 200, &fd, peer, sizeof peer, &err);
        if (rc == -ETIMEDOUT || rc == RILL_AGAIN || rc == -EINTR)
            continue;
        if (rc) { /* EMFILE and the like: wait, the sweep frees connections */
            rill__log(RILL_LOG_WARN, "control port: accept: %s", err.msg);
            rill__sleep_ns(100 * 1000000LL);
            continue;
        }
        pthread_mutex_lock(&s->mu);
        bool full = s->n_conns >= MAX_CONNS;
        pthread_mutex_unlock(&s->mu);
        if (full) {
            rill__log(RILL_LOG_WARN, "control connection from %s closed: %d connections already",
                      peer, MAX_CONNS);
            close(fd);
            continue;
        }
        remote_tm *c = rill__xcalloc(1, sizeof *c);
        c->srv = s;
        c->fd = fd;
        c->in_handshake = true;
        snprintf(c->peer, sizeof c->peer, "%s", peer);
        pthread_mutex_init(&c->send_mu, NULL);
        pthread_mutex_lock(&s->mu);
        c->next = s->conns;
        s->conns = c;
        s->n_conns++;
        pthread_mutex_unlock(&s->mu);
        if ((rc = pthread_create(&c->thread, NULL, conn_main, c)) != 0) {
            rill__log(RILL_LOG_WARN, "control connection from %s closed: no thread: %s", peer,
                      strerror(rc));
            close(fd);
            c->fd = -1;
            pthread_mutex_lock(&s->mu);
            s->conns = c->next;
            s->n_conns--;
            pthread_mutex_unlock(&s->mu);
            pthread_mutex_destroy(&c->send_mu);
            free(c);
        }
    }
    return NULL;
}

int rill__jm_server_start(rill__jobmanager *jm, const rill__cluster_cfg *cfg, rill__jm_server **out,
                          rill__err *err)
{
    *out = NULL;
    const char *bind = cfg->bind ? cfg->bind : RILL_NET_DEFAULT_BIND;
    int rc = rill__net_check_bind("the control port (--bind)", bind, cfg->secret != NULL, err);
    if (rc)
        return rc;
    if (cfg->handshake_timeout_ms <= 0)
        return rill__err_set(err, RILL_ECONFIG, "the handshake timeout (%d ms) must be positive",
                             cfg->handshake_timeout_ms);
    if (cfg->heartbeat_interval_ms <= 0 || cfg->heartbeat_timeout_ms <= cfg->heartbeat_interval_ms)
        return rill__err_set(err, RILL_ECONFIG,
                             "the heartbeat timeout (%d ms) must be longer than the heartbeat "
                             "interval (%d ms), both positive",
                             cfg->heartbeat_timeout_ms, cfg->heartbeat_interval_ms);
    rill__jm_server *s = rill__xcalloc(1, sizeof *s);
    s->jm = jm;
    s->cfg = *cfg;
    s->cfg.bind = bind;
    rc = rill__net_listen(bind, cfg->port, 64, &s->lfd, &s->port, err);
    if (rc) {
        free(s);
        return rc;
    }
    pthread_mutex_init(&s->mu, NULL);
    if ((rc = pthread_create(&s->accept_thread, NULL, accept_main, s)) != 0) {
        close(s->lfd);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return rill__err_set(err, -rc, "control port: cannot start its thread: %s", strerror(rc));
    }
    *out = s;
    return 0;
}

int rill__jm_server_port(const rill__jm_server *s)
{
    return s->port;
}

void rill__jm_server_stop(rill__jm_server *s)
{
    if (!s)
        return;
    atomic_store(&s->stopping, true);
    pthread_join(s->accept_thread, NULL);
    close(s->lfd);
    /* registered connections see the flag within their poll and say goodbye; a handshake in
     * progress is cut short */
    pthread_mutex_lock(&s->mu);
    for (remote_tm *c = s->conns; c; c = c->next)
        if (c->in_handshake && c->fd >= 0)
            shutdown(c->fd, SHUT_RDWR);
    pthread_mutex_unlock(&s->mu);
    reap(s, true);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
