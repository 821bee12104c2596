/* tmagent.c - cluster layer: a TaskManager process's link to its JobManager. Opens the data
 * listener, connects, registers, heartbeats, and reconnects with backoff when the JobManager
 * goes away or falls silent. */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster.h"

static const uint16_t types_registering[] = {RILL_FT_REGISTERED, RILL_FT_DISCONNECT};
static const uint16_t types_registered[] = {
    RILL_FT_HEARTBEAT, RILL_FT_DISCONNECT, RILL_FT_JAR_DATA, RILL_FT_DEPLOY, RILL_FT_CANCEL,
    RILL_FT_RELEASE, RILL_FT_TRIGGER, RILL_FT_ABORT_STOP, RILL_FT_COMPLETE};

/* What ended a session with the JobManager. */
enum { SESSION_STOP, SESSION_RETRY, SESSION_FATAL };

typedef struct agent {
    const rill__tm_agent_cfg *cfg;
    const atomic_bool *stop;
    char tm_id[RILL_TM_ID_MAX + 1];
    const char *bind;
    int data_port;
    bool registered; /* in the last session */
    rill__err fatal;
    rill__tm_host *host;
    /* the session's connection, for frames from any thread (tasks report through it) */
    pthread_mutex_t send_mu;
    int send_fd; /* -1: none */
} agent;

static int send_msg(agent *a, int fd, uint16_t type, const rill__buf *b, int timeout_ms,
                    rill__err *err)
{
    pthread_mutex_lock(&a->send_mu);
    int rc = rill__frame_send(fd, type, b->data, b->len, timeout_ms, err);
    pthread_mutex_unlock(&a->send_mu);
    return rc;
}

/* The TaskManager's metrics, for the JobManager's /metrics (every heartbeat: Prometheus scrapes
 * the JobManager no fresher than that). */
static int send_metrics(agent *a, int fd, int timeout_ms, rill__err *err)
{
    rill__prom_set *set = rill__prom_set_new();
    rill__prom_set_collect(set, "taskmanager", a->tm_id);
    rill__buf b = {0};
    int rc = rill__prom_set_encode(set, RILL_FRAME_CONTROL_MAX - 4096, &b);
    rill__prom_set_free(set);
    if (rc == 0)
        rc = send_msg(a, fd, RILL_FT_METRICS, &b, timeout_ms, err);
    else
        rill__err_set(err, rc, "METRICS: %s", rill_strerror(rc));
    rill__buf_free(&b);
    return rc;
}

/* The host's way to the JobManager: dropped while there is no registered session (the
 * JobManager fails over what it does not hear about). */
static void host_send(void *arg, uint16_t type, const rill__buf *b)
{
    agent *a = arg;
    rill__err err = {0};
    pthread_mutex_lock(&a->send_mu);
    int rc = a->send_fd < 0 ? RILL_AGAIN
                            : rill__frame_send(a->send_fd, type, b->data, b->len,
                                               a->cfg->heartbeat_timeout_ms, &err);
    pthread_mutex_unlock(&a->send_mu);
    if (rc && rc != RILL_AGAIN)
        rill__log(RILL_LOG_WARN, "JobManager: cannot send a report (type 0x%04x): %s", type,
                  err.msg);
}

static void send_disconnect(agent *a, int fd, int reason, const char *text)
{
    rill__msg_disconnect m = {.reason = (uint16_t)reason};
    snprintf(m.text, sizeof m.text, "%s", text);
    rill__buf b = {0};
    rill__err err = {0};
    if (rill__msg_disconnect_enc(&b, &m) == 0)
        send_msg(a, fd, RILL_FT_DISCONNECT, &b, a->cfg->heartbeat_interval_ms, &err);
    rill__buf_free(&b);
}

/* The address other TaskManagers reach the data port at: the bind address, or for a wildcard
 * bind the local address of the connection to the JobManager. */
static void data_host(const agent *a, int fd, char *out, size_t cap)
{
    if (strcmp(a->bind, "0.0.0.0") != 0 && strcmp(a->bind, "::") != 0) {
        snprintf(out, cap, "%s", a->bind);
        return;
    }
    struct sockaddr_storage ss;
    socklen_t n = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &n) != 0 ||
        getnameinfo((struct sockaddr *)&ss, n, out, (socklen_t)cap, NULL, 0, NI_NUMERICHOST) != 0)
        snprintf(out, cap, "%s", a->bind);
}

/* Refusals that a retry cannot cure: the two sides are configured differently. */
static bool refusal_is_fatal(int reason)
{
    return reason == RILL_REFUSE_VERSION || reason == RILL_REFUSE_CLUSTER ||
           reason == RILL_REFUSE_ROLE || reason == RILL_REFUSE_NO_SECRET ||
           reason == RILL_REFUSE_BAD_SECRET || reason == RILL_REFUSE_UNEXPECTED_SECRET;
}

/* One connection: handshake, registration, heartbeats until it ends. */
static int session(agent *a)
{
    const rill__tm_agent_cfg *cfg = a->cfg;
    int64_t ms = 1000000;
    a->registered = false;
    rill__err err = {0};
    int fd;
    int rc = rill__net_connect(cfg->jm_host, cfg->jm_port, cfg->handshake_timeout_ms, &fd, &err);
    if (rc) {
        rill__log(RILL_LOG_WARN, "cannot reach the JobManager: %s", err.msg);
        return SESSION_RETRY;
    }
    char name[RILL_PEER_NAME_MAX + 1];
    snprintf(name, sizeof name, "taskmanager %s", a->tm_id);
    rill__hs_config hc = {
        .cluster_id = cfg->cluster_id,
        .name = name,
        .role = RILL_ROLE_TASKMANAGER,
        .peer_roles = RILL_ROLE_BIT(RILL_ROLE_JOBMANAGER),
        .secret = cfg->secret,
        .secret_len = cfg->secret_len,
        .timeout_ms = cfg->handshake_timeout_ms,
    };
    rill__frame_reader r;
    rill__frame_reader_init(&r, RILL_FRAME_CONTROL_MAX, NULL, 0);
    rill__hs_peer peer;
    int result = SESSION_RETRY;
    rc = rill__hs_client(fd, &hc, &r, &peer, &err);
    if (rc) {
        if (peer.refused && refusal_is_fatal(peer.refused)) {
            rill__err_set(&a->fatal, rc, "the JobManager at %s:%d %s: %s", cfg->jm_host,
                          cfg->jm_port,
                          peer.refused_by_peer ? "refused this TaskManager"
                                               : "failed this TaskManager's checks",
                          err.msg);
            result = SESSION_FATAL;
        } else {
            rill__log(RILL_LOG_WARN, "handshake with the JobManager at %s:%d failed: %s",
                      cfg->jm_host, cfg->jm_port, err.msg);
        }
        goto out;
    }

    rill__msg_register_tm reg = {.slots = (uint32_t)cfg->slots,
                                 .data_port = (uint16_t)a->data_port};
    memcpy(reg.tm_id, a->tm_id, sizeof reg.tm_id);
    data_host(a, fd, reg.data_host, sizeof reg.data_host);
    rill__buf b = {0};
    rc = rill__msg_register_tm_enc(&b, &reg);
    if (rc == 0)
        rc = send_msg(a, fd, RILL_FT_REGISTER_TM, &b, cfg->handshake_timeout_ms, &err);
    rill__buf_free(&b);
    if (rc) {
        rill__log(RILL_LOG_WARN, "cannot register with the JobManager: %s", err.msg);
        goto out;
    }
    rill__frame_reader_accept(&r, types_registering, RILL_ARRAY_LEN(types_registering));
    rc = rill__net_set_nonblock(fd, true); /* else reads would ignore the deadlines */
    if (rc) {
        rill__log(RILL_LOG_WARN, "cannot make the JobManager connection non-blocking: %s",
                  rill_strerror(rc));
        goto out;
    }

    int64_t now = rill__mono_ns();
    int64_t deadline = now + (int64_t)cfg->handshake_timeout_ms * ms; /* for REGISTERED */
    int64_t next_hb = now;
    uint64_t seq = 0;
    for (;;) {
        if (atomic_load(a->stop)) {
            send_disconnect(a, fd, RILL_DISCONNECT_SHUTDOWN, "the TaskManager is shutting down");
            result = SESSION_STOP;
            goto out;
        }
        rill__frame f;
        rc = rill__frame_read(&r, fd, &f);
        if (rc == 0) {
            if (f.type == RILL_FT_REGISTERED) {
                rill__msg_registered ok;
                memset(&err, 0, sizeof err);
                if (rill__msg_registered_dec(f.payload, f.len, &ok, &err) != 0 ||
                    strcmp(ok.tm_id, a->tm_id) != 0) {
                    if (!err.msg[0])
                        rill__err_set(&err, RILL_EPROTO, "REGISTERED names '%s', not this id",
                                      ok.tm_id);
                    rill__log(RILL_LOG_WARN, "JobManager: %s; reconnecting", err.msg);
                    send_disconnect(a, fd, RILL_DISCONNECT_PROTOCOL, err.msg);
                    goto out;
                }
                a->registered = true;
                pthread_mutex_lock(&a->send_mu);
                a->send_fd = fd;
                pthread_mutex_unlock(&a->send_mu);
                rill__log(RILL_LOG_INFO,
                          "registered with the JobManager at %s:%d as %s (registration %" PRIu64
                          "): %d slots, data port %s:%d",
                          cfg->jm_host, cfg->jm_port, ok.tm_id, ok.registration, cfg->slots,
                          reg.data_host, a->data_port);
                rill__frame_reader_accept(&r, types_registered, RILL_ARRAY_LEN(types_registered));
                deadline = rill__mono_ns() + (int64_t)cfg->heartbeat_timeout_ms * ms;
                continue;
            }
            if (f.type == RILL_FT_DISCONNECT) {
                rill__msg_disconnect d;
                int drc = rill__msg_disconnect_dec(f.payload, f.len, &d, &err);
                if (drc == 0)
                    rill__text_sanitize(d.text); /* the peer's words go into our log */
                if (drc != 0) {
                    rill__log(RILL_LOG_WARN, "JobManager: %s; reconnecting", err.msg);
                } else if (d.reason == RILL_DISCONNECT_REJECTED) {
                    rill__err_set(&a->fatal, RILL_ECONFIG,
                                  "the JobManager rejected the registration: %s", d.text);
                    result = SESSION_FATAL;
                } else {
                    rill__log(RILL_LOG_WARN, "the JobManager closed the connection (%s): %s",
                              rill__disconnect_name(d.reason), d.text);
                }
                goto out;
            }
            if (f.type != RILL_FT_HEARTBEAT) { /* deployments and the jobs' lives */
                memset(&err, 0, sizeof err);
                if (rill__tm_host_on_frame(a->host, &f, &err) != 0) {
                    rill__log(RILL_LOG_WARN, "JobManager: %s; reconnecting", err.msg);
                    send_disconnect(a, fd, RILL_DISCONNECT_PROTOCOL, err.msg);
                    goto out;
                }
                deadline = rill__mono_ns() + (int64_t)cfg->heartbeat_timeout_ms * ms;
                continue;
            }
            /* HEARTBEAT: a reply to ours proves the JobManager alive; a request is answered */
            rill__msg_heartbeat hb;
            memset(&err, 0, sizeof err);
            if (rill__msg_heartbeat_dec(f.payload, f.len, &hb, &err) != 0 ||
                (hb.reply && hb.seq > seq)) {
                if (!err.msg[0])
                    rill__err_set(&err, RILL_EPROTO,
                                  "HEARTBEAT: a reply to request %" PRIu64 ", not sent yet",
                                  hb.seq);
                rill__log(RILL_LOG_WARN, "JobManager: %s; reconnecting", err.msg);
                send_disconnect(a, fd, RILL_DISCONNECT_PROTOCOL, err.msg);
                goto out;
            }
            if (hb.reply) {
                deadline = rill__mono_ns() + (int64_t)cfg->heartbeat_timeout_ms * ms;
            } else {
                hb.reply = 1;
                rc = rill__msg_heartbeat_enc(&b, &hb);
                if (rc == 0)
                    rc = send_msg(a, fd, RILL_FT_HEARTBEAT, &b, cfg->heartbeat_timeout_ms, &err);
                rill__buf_free(&b);
                if (rc) {
                    rill__log(RILL_LOG_WARN, "JobManager: cannot answer a heartbeat: %s", err.msg);
                    goto out;
                }
            }
            continue;
        }
        if (rc == RILL_DONE) {
            rill__log(RILL_LOG_WARN, "the JobManager closed the connection; reconnecting");
            goto out;
        }
        if (rc != RILL_AGAIN) {
            const char *why = r.err.msg[0] ? r.err.msg : rill_strerror(rc);
            rill__log(RILL_LOG_WARN, "JobManager connection: %s; reconnecting", why);
            if (rc == RILL_EPROTO || rc == RILL_ELIMIT)
                send_disconnect(a, fd, RILL_DISCONNECT_PROTOCOL, why);
            goto out;
        }
        now = rill__mono_ns();
        if (now >= deadline) {
            if (a->registered)
                rill__log(RILL_LOG_WARN,
                          "no heartbeat answer from the JobManager for %d ms: declared dead; "
                          "reconnecting",
                          cfg->heartbeat_timeout_ms);
            else
                rill__log(RILL_LOG_WARN,
                          "the JobManager did not acknowledge the registration within %d ms; "
                          "reconnecting",
                          cfg->handshake_timeout_ms);
            send_disconnect(a, fd, RILL_DISCONNECT_HEARTBEAT, "no heartbeat answer in time");
            goto out;
        }
        if (a->registered && now >= next_hb) {
            rill__msg_heartbeat hb = {.seq = ++seq, .sent_ms = rill__now_ms()};
            rc = rill__msg_heartbeat_enc(&b, &hb);
            if (rc == 0)
                rc = send_msg(a, fd, RILL_FT_HEARTBEAT, &b, cfg->heartbeat_timeout_ms, &err);
            rill__buf_free(&b);
            if (rc) {
                rill__log(RILL_LOG_WARN, "JobManager: cannot send a heartbeat: %s", err.msg);
                goto out;
            }
            next_hb = now + (int64_t)cfg->heartbeat_interval_ms * ms;
            /* best effort: a connection that failed shows on the next read, with the
             * JobManager's DISCONNECT if it sent one */
            if (send_metrics(a, fd, cfg->heartbeat_timeout_ms, &err) != 0)
                rill__log(RILL_LOG_DEBUG, "JobManager: cannot send the metrics: %s", err.msg);
        }
        int64_t until = RILL_MIN(deadline, a->registered ? next_hb : deadline);
        int wait = (int)RILL_MIN((until - now) / ms + 1, 200); /* stays responsive to the stop */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, wait) < 0 && errno != EINTR) {
            rill__log(RILL_LOG_WARN, "JobManager connection: poll: %s", strerror(errno));
            goto out;
        }
    }
out:
    pthread_mutex_lock(&a->send_mu);
    a->send_fd = -1;
    pthread_mutex_unlock(&a->send_mu);
    if (a->registered)
        rill__tm_host_session_lost(a->host);
    rill__frame_reader_close(&r);
    close(fd);
    return result;
}

int rill__tm_agent_run(const rill__tm_agent_cfg *cfg, const atomic_bool *stop,
                       void (*on_ready)(void *arg, const char *tm_id, int data_port), void *arg,
                       rill__err *err)
{
    agent a = {.cfg = cfg, .stop = stop, .bind = cfg->bind ? cfg->bind : RILL_NET_DEFAULT_BIND};
    int rc = rill__net_check_bind("the data port (--bind)", a.bind, cfg->secret != NULL, err);
    if (rc)
        return rc;
    if (cfg->slots < 1 || cfg->slots > RILL_TM_SLOTS_MAX)
        return rill__err_set(err, RILL_ECONFIG, "slots must be 1..%d, not %d", RILL_TM_SLOTS_MAX,
                             cfg->slots);
    if (cfg->heartbeat_interval_ms <= 0 || cfg->heartbeat_timeout_ms <= cfg->heartbeat_interval_ms)
        return rill__err_set(err, RILL_ECONFIG,
                             "the heartbeat timeout (%d ms) must be longer than the heartbeat "
                             "interval (%d ms), both positive",
                             cfg->heartbeat_timeout_ms, cfg->heartbeat_interval_ms);
    uint8_t rnd[8];
    if ((rc = rill__random_bytes(rnd, sizeof rnd)) != 0)
        return rill__err_set(err, rc, "cannot draw a TaskManager id: %s", rill_strerror(rc));
    snprintf(a.tm_id, sizeof a.tm_id, "tm-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
             rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    /* the data plane's listener: open now, so the port is known and reported at registration
     * (the data-plane server behind it comes with task deployment) */
    int dfd;
    rc = rill__net_listen(a.bind, cfg->data_port, 64, &dfd, &a.data_port, err);
    if (rc)
        return rc;
    char *work_dir = cfg->work_dir ? rill__xstrdup(cfg->work_dir) : NULL;
    if (!work_dir) {
        const char *tmp = getenv("TMPDIR");
        work_dir = rill__xasprintf("%s/rill-taskmanager-%s", tmp && *tmp ? tmp : "/tmp", a.tm_id);
    }
    rill__tm_host_cfg hc = {.tm_id = a.tm_id,
                            .work_dir = work_dir,
                            .slots = cfg->slots,
                            .data_lfd = dfd,
                            .cluster_id = cfg->cluster_id,
                            .secret = cfg->secret,
                            .secret_len = cfg->secret_len,
                            .handshake_timeout_ms = cfg->handshake_timeout_ms};
    pthread_mutex_init(&a.send_mu, NULL);
    a.send_fd = -1;
    rc = rill__tm_host_new(&hc, host_send, &a, &a.host, err);
    if (rc) {
        pthread_mutex_destroy(&a.send_mu);
        free(work_dir);
        close(dfd);
        return rc;
    }
    if (on_ready)
        on_ready(arg, a.tm_id, a.data_port);
    int backoff = 100;
    rc = 0;
    while (!atomic_load(stop)) {
        int r = session(&a);
        if (r == SESSION_STOP)
            break;
        if (r == SESSION_FATAL) {
            rc = rill__err_set(err, a.fatal.code ? a.fatal.code : RILL_ECONFIG, "%s", a.fatal.msg);
            break;
        }
        if (a.registered)
            backoff = 100;
        rill__log(RILL_LOG_INFO, "reconnecting to the JobManager at %s:%d in %d ms", cfg->jm_host,
                  cfg->jm_port, backoff);
        for (int waited = 0; waited < backoff && !atomic_load(stop); waited += 50)
            rill__sleep_ns(50 * 1000000LL);
        backoff = RILL_MIN(backoff * 2, cfg->max_backoff_ms > 0 ? cfg->max_backoff_ms : 5000);
    }
    rill__tm_host_free(a.host);
    pthread_mutex_destroy(&a.send_mu);
    if (!cfg->work_dir)
        rill__remove_tree(work_dir); /* its own temporary directory */
    free(work_dir);
    close(dfd);
    return rc;
}
