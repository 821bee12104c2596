/*
 * rest.c - cluster layer: the JobManager's REST API on libmicrohttpd. JSON in Flink's shape:
 * the overview, jobs, TaskManagers, checkpoint statistics, savepoints, stop-with-savepoint,
 * cancel, and on a JobManager process the uploaded job objects (/jars: upload, list, delete,
 * run; a jar id from a path is only ever looked up through the jar store). Paths are routed by
 * exact segments (percent-decoded once, by unescape() below; never again), nothing in a URL names a
 * file, every header value written is checked for CR/LF, and every response is application/json.
 * With a secret, every request needs its bearer token. Bodies are read up to a size limit per
 * route, then parsed by jansson (a key given twice, or a \u0000 in a string, is malformed), and
 * every answer is built as a jansson document, so no JSON is written or read by hand here.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/cluster.h"

#define REST_MAX_BODY             (64 * 1024)
#define REST_MAX_RUN_BODY         (1024 * 1024) /* POST /jars/<id>/run: options and arguments */
#define REST_MAX_UPLOADS          4 /* uploads held in memory at once (each up to 256 MiB) */
#define REST_SAVEPOINT_TIMEOUT_MS 600000
#define REST_MAX_CONNECTIONS      64
#define REST_IDLE_TIMEOUT_S       120
#define HTTP_TOO_LARGE            413 /* its MHD name changed across versions */

struct rill__rest {
    rill__jobmanager *jm;
    struct MHD_Daemon *daemon;
    int port;
    atomic_int uploads;                  /* POST /jars/upload bodies being received */
    bool auth;                           /* a secret is set: requests need its token */
    char token[RILL_REST_TOKEN_LEN + 1]; /* rill__rest_token of the secret */
};

/* Where a request's answer goes: queued on its MHD connection, or, without one
 * (rill__rest_handle), kept in status and body. */
typedef struct rest_conn {
    struct MHD_Connection *mhd; /* NULL: no socket */
    const char *mode;           /* without mhd: the "mode" query argument (NULL: none) */
    unsigned status;            /* without mhd: the answer */
    rill__buf *body;
} rest_conn;

/* Per-request state: the body as it arrives. */
typedef struct rest_req {
    rill__buf body;
    size_t max_body; /* this route's limit */
    bool too_large;
    bool refused; /* answered already (401, 415, 503): the body is dropped */
    bool upload;  /* counted in rill__rest.uploads until the request completes */
} rest_req;

/* ---- JSON (jansson) ---------------------------------------------------------------------- */

/* s as a JSON string. jansson takes UTF-8 only, and a job's name, a path or a message is
 * whatever bytes it was given: when s is not UTF-8, each byte of 0x80 and above is shown as '?',
 * so the answer stays JSON. */
static json_t *jstr(const char *s)
{
    json_t *v = json_string(s ? s : "");
    if (v)
        return v;
    char *copy = rill__xstrdup(s);
    for (unsigned char *p = (unsigned char *)copy; *p; p++)
        if (*p >= 0x80)
            *p = '?';
    v = json_string(copy);
    free(copy);
    if (!v)
        rill__panic(__FILE__, __LINE__, "REST API: out of memory");
    return v;
}

static json_t *jint(int64_t v)
{
    return json_integer((json_int_t)v);
}

/* Sets o[key] = v (stolen). */
static void jset(json_t *o, const char *key, json_t *v)
{
    if (!v || json_object_set_new(o, key, v) != 0)
        rill__panic(__FILE__, __LINE__, "REST API: out of memory");
}

static json_t *job_json(const rill__job_info *j)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRIu64, j->id);
    json_t *o = json_object();
    jset(o, "id", json_string(id));
    jset(o, "name", jstr(j->name));
    jset(o, "state", json_string(rill__job_state_name(j->state)));
    jset(o, "restarts", jint(j->restarts));
    jset(o, "tasks", jint(j->n_tasks));
    jset(o, "last-checkpoint", jint((int64_t)j->last_checkpoint));
    /* Flink's times: wall clock ms; duration so far while it runs */
    int64_t end = j->end_ms >= 0 ? j->end_ms : rill__now_ms();
    jset(o, "start-time", jint(j->start_ms));
    jset(o, "end-time", jint(j->end_ms));
    jset(o, "duration", jint(end - j->start_ms));
    if (j->status[0]) /* what it waits for */
        jset(o, "status", jstr(j->status));
    if (j->error[0] && j->state != RILL_JOB_FINISHED)
        jset(o, "error", jstr(j->error));
    return o;
}

/* ---- JSON in: the request bodies -------------------------------------------------------- */

#define BODY_FAIL(...)                                                                             \
    do {                                                                                           \
        snprintf(msg, msg_size, __VA_ARGS__);                                                      \
        goto out;                                                                                  \
    } while (0)

/* body as one JSON object, or NULL with why in msg. A key given twice is malformed (which of
 * the two would count is nobody's guess); so is a string with \u0000 (jansson's default: the C
 * string would be cut short) or a lone surrogate. */
static json_t *load_object(const char *body, size_t len, char *msg, size_t msg_size)
{
    json_error_t e;
    json_t *doc = json_loadb(body, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
    if (!doc) {
        size_t ws = 0;
        while (ws < len && body[ws] && strchr(" \t\r\n", body[ws]))
            ws++;
        if (ws == len)
            snprintf(msg, msg_size, "the request body must be a JSON object");
        else
            snprintf(msg, msg_size, "malformed JSON: %s", e.text);
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        snprintf(msg, msg_size, "the request body must be a JSON object");
        return NULL;
    }
    return doc;
}

int rill__rest_parse_savepoint_body(const char *body, size_t len, rill__rest_savepoint_body *out,
                                    char *msg, size_t msg_size)
{
    memset(out, 0, sizeof *out);
    json_t *doc = load_object(body, len, msg, msg_size);
    if (!doc)
        return -1;
    char *dir = NULL;
    bool cancel = false, drain = false;
    int rc = -1;
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
    {
        if (!json_is_string(v) && !json_is_boolean(v) && !json_is_null(v))
            BODY_FAIL("malformed JSON: values must be strings, true, false or null");
        bool is_dir = !strcmp(k, "target-directory") || !strcmp(k, "targetDirectory");
        if (is_dir && json_is_string(v)) {
            if (dir)
                BODY_FAIL("the target directory is given twice");
            dir = rill__xstrdup(json_string_value(v));
        } else if (is_dir && !json_is_null(v)) {
            BODY_FAIL("the target directory must be a string");
        } else if (!strcmp(k, "cancel-job") && json_is_boolean(v)) {
            cancel = json_is_true(v);
        } else if (!strcmp(k, "drain") && json_is_boolean(v)) {
            drain = json_is_true(v);
        } else if (!strcmp(k, "drain") && json_is_string(v)) {
            BODY_FAIL("\"drain\" must be true or false");
        }
    }
    out->dir = dir;
    out->cancel = cancel;
    out->drain = drain;
    dir = NULL;
    rc = 0;
out:
    free(dir);
    json_decref(doc);
    return rc;
}

/* Option keys are rill run's: letters, digits, '.', '-', '_'. */
static bool opt_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > RILL_OPT_KEY_MAX)
        return false;
    for (; *k; k++)
        if (!isalnum((unsigned char)*k) && *k != '.' && *k != '-' && *k != '_')
            return false;
    return true;
}

/* An option's value as text: a string as it is, true and false, a number in its shortest
 * form (an integer's digits; a whole real such as 1.5e3 as 1500). NULL for anything else. */
static char *opt_value_text(const json_t *v)
{
    if (json_is_string(v))
        return rill__xstrdup(json_string_value(v));
    if (json_is_boolean(v))
        return rill__xstrdup(json_is_true(v) ? "true" : "false");
    if (json_is_integer(v))
        return rill__xasprintf("%lld", (long long)json_integer_value(v));
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (fabs(d) < 1e15 && d == (double)(long long)d)
            return rill__xasprintf("%lld", (long long)d);
        return rill__xasprintf("%.17g", d);
    }
    return NULL;
}

void rill__rest_run_body_free(rill__rest_run_body *rb)
{
    for (size_t i = 0; i < rb->n_opts; i++) {
        free(rb->keys[i]);
        free(rb->values[i]);
    }
    for (size_t i = 0; i < rb->n_args; i++)
        free(rb->args[i]);
    free(rb->keys);
    free(rb->values);
    free(rb->args);
    free(rb->name);
    memset(rb, 0, sizeof *rb);
}

static int run_args_of(const json_t *v, rill__rest_run_body *rb, char *msg, size_t msg_size)
{
    if (!json_is_array(v)) {
        snprintf(msg, msg_size, "\"programArgsList\" must be an array of strings");
        return -1;
    }
    size_t n = json_array_size(v);
    if (n > RILL_DEPLOY_ARGS_MAX) {
        snprintf(msg, msg_size, "more than %d job arguments", RILL_DEPLOY_ARGS_MAX);
        return -1;
    }
    rb->args = rill__xcalloc(n ? n : 1, sizeof *rb->args);
    for (size_t i = 0; i < n; i++) {
        const json_t *a = json_array_get(v, i);
        if (!json_is_string(a)) {
            snprintf(msg, msg_size, "\"programArgsList\" must be an array of strings");
            return -1;
        }
        if (json_string_length(a) > RILL_ARG_MAX) {
            snprintf(msg, msg_size, "job argument %zu is longer than %d bytes", i + 1,
                     RILL_ARG_MAX);
            return -1;
        }
        rb->args[rb->n_args++] = rill__xstrdup(json_string_value(a));
    }
    return 0;
}

static int run_opts_of(const json_t *v, rill__rest_run_body *rb, char *msg, size_t msg_size)
{
    if (!json_is_object(v)) {
        snprintf(msg, msg_size, "\"options\" must be an object of option names to values");
        return -1;
    }
    size_t n = json_object_size(v);
    if (n > RILL_DEPLOY_OPTS_MAX) {
        snprintf(msg, msg_size, "more than %d options", RILL_DEPLOY_OPTS_MAX);
        return -1;
    }
    rb->keys = rill__xcalloc(n ? n : 1, sizeof *rb->keys);
    rb->values = rill__xcalloc(n ? n : 1, sizeof *rb->values);
    const char *k;
    json_t *ov;
    json_object_foreach((json_t *)v, k, ov)
    {
        char shown_key[RILL_OPT_KEY_MAX + 8];
        snprintf(shown_key, sizeof shown_key, "%s", k);
        if (!opt_key_ok(k)) {
            snprintf(msg, msg_size,
                     "option name '%s' is not 1..%d letters, digits, '.', '-' or '_'", shown_key,
                     RILL_OPT_KEY_MAX);
            return -1;
        }
        char *text = opt_value_text(ov);
        if (!text) {
            snprintf(msg, msg_size,
                     "option '%s': the value must be a string, a number, true or false", shown_key);
            return -1;
        }
        if (strlen(text) > RILL_OPT_VALUE_MAX) {
            free(text);
            snprintf(msg, msg_size, "option '%s': the value is longer than %d bytes", shown_key,
                     RILL_OPT_VALUE_MAX);
            return -1;
        }
        rb->keys[rb->n_opts] = rill__xstrdup(k);
        rb->values[rb->n_opts++] = text;
    }
    return 0;
}

int rill__rest_parse_run_body(const char *body, size_t len, rill__rest_run_body *rb, char *msg,
                              size_t msg_size)
{
    memset(rb, 0, sizeof *rb);
    size_t ws = 0;
    while (ws < len && body[ws] && strchr(" \t\r\n", body[ws]))
        ws++;
    if (ws == len)
        return 0; /* no body: no options, no arguments */
    json_t *doc = load_object(body, len, msg, msg_size);
    if (!doc)
        return -1;
    int rc = -1;
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
    {
        if (!strcmp(k, "programArgsList")) {
            if (run_args_of(v, rb, msg, msg_size) != 0)
                goto out;
        } else if (!strcmp(k, "options")) {
            if (run_opts_of(v, rb, msg, msg_size) != 0)
                goto out;
        } else if (!strcmp(k, "name")) {
            if (json_is_null(v))
                continue;
            if (!json_is_string(v))
                BODY_FAIL("\"name\" must be a string");
            size_t n = json_string_length(v);
            if (n == 0 || n > RILL_JOB_NAME_MAX)
                BODY_FAIL("\"name\" must be 1..%d bytes", RILL_JOB_NAME_MAX);
            rb->name = rill__xstrdup(json_string_value(v));
        } else {
            char shown_key[64];
            snprintf(shown_key, sizeof shown_key, "%s", k);
            BODY_FAIL("unknown field \"%s\" (known: programArgsList, options, name)", shown_key);
        }
    }
    rc = 0;
out:
    if (rc)
        rill__rest_run_body_free(rb);
    json_decref(doc);
    return rc;
}
#undef BODY_FAIL

/* ---- responses -------------------------------------------------------------------------- */

bool rill__http_header_value_ok(const char *v)
{
    if (!v)
        return false;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return false;
    return true;
}

/* The one way a header is added: a value with CR, LF or another control character is refused
 * (and logged), so no response can carry a header injected from input. */
static bool add_header(struct MHD_Response *resp, const char *name, const char *value)
{
    if (!rill__http_header_value_ok(name) || !rill__http_header_value_ok(value)) {
        rill__log(RILL_LOG_ERROR, "REST API: refused to write header '%s': control character",
                  name ? name : "?");
        return false;
    }
    return MHD_add_response_header(resp, name, value) == MHD_YES;
}

/* Sends doc (its reference taken) as compact JSON with status and, when name is not NULL, one
 * more header (Allow, WWW-Authenticate). A header that cannot be written fails the connection,
 * never the check. */
static enum MHD_Result send_json_hdr(rest_conn *conn, unsigned status, json_t *doc,
                                     const char *name, const char *value)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!text)
        rill__panic(__FILE__, __LINE__, "REST API: out of memory");
    size_t len = strlen(text);
    if (!conn->mhd) {
        conn->status = status;
        rill__buf_append(conn->body, text, len);
        free(text);
        return MHD_YES;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        free(text);
    if (!resp)
        return MHD_NO;
    if (!add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json") ||
        !add_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") ||
        (name && !add_header(resp, name, value))) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    enum MHD_Result r = MHD_queue_response(conn->mhd, status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* allow, when not NULL, is the Allow header's value. */
static enum MHD_Result send_json(rest_conn *conn, unsigned status, json_t *doc, const char *allow)
{
    return send_json_hdr(conn, status, doc, allow ? MHD_HTTP_HEADER_ALLOW : NULL, allow);
}

/* {"errors":[msg]}, Flink's error shape. */
static json_t *errors_json(const char *msg)
{
    json_t *errs = json_array(), *doc = json_object();
    if (!errs || json_array_append_new(errs, jstr(msg)) != 0)
        rill__panic(__FILE__, __LINE__, "REST API: out of memory");
    jset(doc, "errors", errs);
    return doc;
}

RILL_PRINTF(4, 5)
static enum MHD_Result send_error(rest_conn *conn, unsigned status, const char *allow,
                                  const char *fmt, ...)
{
    char msg[RILL_ERRMSG_MAX + 512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return send_json(conn, status, errors_json(msg), allow);
}

/* 401 (RFC 6750): no token, or not the right one. The JSON says which, never the token. */
static enum MHD_Result send_unauthorized(rest_conn *conn, bool had_token)
{
    json_t *doc = errors_json(
        had_token ? "invalid bearer token for this JobManager's secret"
                  : "this JobManager needs a bearer token (rill ... --secret-file FILE)");
    return send_json_hdr(conn, MHD_HTTP_UNAUTHORIZED, doc, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                         had_token ? "Bearer realm=\"rill\", error=\"invalid_token\""
                                   : "Bearer realm=\"rill\"");
}

/* Does the request carry the token? "Authorization: Bearer <token>" (the scheme is
 * case-insensitive); the token is compared in constant time. *had_token: a header was sent. */
static bool authorized(const rill__rest *r, struct MHD_Connection *conn, bool *had_token)
{
    const char *h =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    *had_token = h != NULL;
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    while (*h == ' ')
        h++;
    size_t n = strlen(h);
    while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
        n--;
    if (n != RILL_REST_TOKEN_LEN)
        return false;
    return rill__ct_equal(h, r->token, RILL_REST_TOKEN_LEN);
}

/* An error of the JobManager as an HTTP status. */
static unsigned status_of(int rc)
{
    switch (rc) {
    case RILL_ENOENT:
        return MHD_HTTP_NOT_FOUND;
    case RILL_EINVAL:
    case RILL_ECONFIG:
        return MHD_HTTP_BAD_REQUEST;
    case RILL_ENOTSUP:
    case RILL_EPERM:
    case RILL_ECANCELED:
        return MHD_HTTP_CONFLICT;
    default:
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

/* A job's id or name as it appears in a message: escaped as JSON later, and cut short so a
 * long path cannot crowd out the message. */
static const char *shown(const char *id, char *buf, size_t size)
{
    snprintf(buf, size, "%s", id);
    return buf;
}

/* ---- handlers --------------------------------------------------------------------------- */

static enum MHD_Result get_overview(rill__rest *r, rest_conn *conn)
{
    rill__job_info *jobs;
    size_t n;
    rill__jm_jobs(r->jm, &jobs, &n);
    int counts[RILL_JOB_RESTARTING + 1] = {0};
    for (size_t i = 0; i < n; i++)
        if ((unsigned)jobs[i].state <= RILL_JOB_RESTARTING)
            counts[jobs[i].state]++;
    free(jobs);
    json_t *doc = json_object();
    jset(doc, "jobs-running",
         jint(counts[RILL_JOB_CREATED] + counts[RILL_JOB_RUNNING] + counts[RILL_JOB_RESTARTING]));
    jset(doc, "jobs-finished", jint(counts[RILL_JOB_FINISHED]));
    jset(doc, "jobs-failed", jint(counts[RILL_JOB_FAILED]));
    jset(doc, "jobs-canceled", jint(counts[RILL_JOB_CANCELED]));
    jset(doc, "rill-version", json_string(RILL_VERSION_STRING));
    return send_json(conn, MHD_HTTP_OK, doc, NULL);
}

/* Flink's GET /taskmanagers, with the fields that apply: "id", "dataPort" (-1: none, the
 * mini-cluster's TaskManager exchanges data in-process), "slotsNumber", "freeSlots"; a
 * TaskManager process also has "address" (its data host) and "timeSinceLastHeartbeat" (ms). */
static enum MHD_Result get_taskmanagers(rill__rest *r, rest_conn *conn)
{
    rill__tm_info *tms;
    size_t n;
    rill__jm_taskmanagers(r->jm, &tms, &n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        if (!tms[i].remote) {
            char id[32];
            snprintf(id, sizeof id, "taskmanager-%d", tms[i].index);
            jset(o, "id", json_string(id));
        } else {
            jset(o, "id", jstr(tms[i].id));
            jset(o, "address", jstr(tms[i].address));
        }
        jset(o, "dataPort", jint(tms[i].data_port));
        jset(o, "slotsNumber", jint(tms[i].slots));
        jset(o, "freeSlots", jint(tms[i].free_slots));
        if (tms[i].remote)
            jset(o, "timeSinceLastHeartbeat", jint(tms[i].since_heartbeat_ms));
        json_array_append_new(arr, o);
    }
    free(tms);
    json_t *doc = json_object();
    jset(doc, "taskmanagers", arr);
    return send_json(conn, MHD_HTTP_OK, doc, NULL);
}

static enum MHD_Result get_jobs(rill__rest *r, rest_conn *conn)
{
    rill__job_info *jobs;
    size_t n;
    rill__jm_jobs(r->jm, &jobs, &n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, job_json(&jobs[i]));
    free(jobs);
    json_t *doc = json_object();
    jset(doc, "jobs", arr);
    return send_json(conn, MHD_HTTP_OK, doc, NULL);
}

static enum MHD_Result get_job(rill__rest *r, rest_conn *conn, uint64_t job_id, const char *id)
{
    rill__job_info *jobs;
    size_t n;
    rill__jm_jobs(r->jm, &jobs, &n);
    for (size_t i = 0; i < n; i++)
        if (jobs[i].id == job_id) {
            json_t *doc = job_json(&jobs[i]);
            free(jobs);
            return send_json(conn, MHD_HTTP_OK, doc, NULL);
        }
    free(jobs);
    char s[256];
    return send_error(conn, MHD_HTTP_NOT_FOUND, NULL, "no job '%s'", shown(id, s, sizeof s));
}

static enum MHD_Result get_checkpoints(rill__rest *r, rest_conn *conn, uint64_t job_id)
{
    rill__ckpt_stats *st;
    size_t n;
    rill__err err = {0};
    rill__op_state *ops;
    size_t n_ops;
    int rc = rill__jm_checkpoint_stats(r->jm, job_id, &st, &n, &ops, &n_ops, &err);
    if (rc)
        return send_error(conn, status_of(rc), NULL, "%s",
                          err.msg[0] ? err.msg : rill_strerror(rc));
    json_t *cks = json_array();
    for (size_t i = 0; i < n; i++) {
        char status[sizeof st[i].status + 1], reason[sizeof st[i].reason + 1];
        snprintf(status, sizeof status, "%.*s", (int)sizeof st[i].status, st[i].status);
        snprintf(reason, sizeof reason, "%.*s", (int)sizeof st[i].reason, st[i].reason);
        json_t *o = json_object();
        jset(o, "id", jint((int64_t)st[i].id));
        jset(o, "trigger-timestamp", jint(st[i].trigger_ms));
        jset(o, "duration-ms", jint(st[i].duration_ms));
        jset(o, "alignment-ms", jint(st[i].alignment_ms));
        jset(o, "size-bytes", jint((int64_t)st[i].bytes));
        jset(o, "full-size-bytes", jint((int64_t)st[i].full_bytes));
        jset(o, "status", jstr(status));
        jset(o, "reason", jstr(reason));
        jset(o, "state-keys", jint(st[i].state.keys));
        jset(o, "state-memory-bytes", jint(st[i].state.memory_bytes));
        jset(o, "state-disk-bytes", jint(st[i].state.disk_bytes));
        json_array_append_new(cks, o);
    }
    free(st);
    /* the keyed state per operator, as of the newest completed checkpoint */
    json_t *state = json_array();
    for (size_t i = 0; i < n_ops; i++) {
        char uid[sizeof ops[i].uid + 1];
        snprintf(uid, sizeof uid, "%.*s", (int)sizeof ops[i].uid, ops[i].uid);
        json_t *o = json_object();
        jset(o, "operator", jstr(uid));
        jset(o, "subtasks", jint(ops[i].subtasks));
        jset(o, "keys", jint(ops[i].usage.keys));
        jset(o, "memory-bytes", jint(ops[i].usage.memory_bytes));
        jset(o, "disk-bytes", jint(ops[i].usage.disk_bytes));
        json_array_append_new(state, o);
    }
    free(ops);
    json_t *doc = json_object();
    jset(doc, "checkpoints", cks);
    jset(doc, "state", state);
    return send_json(conn, MHD_HTTP_OK, doc, NULL);
}

/* POST .../savepoints and .../stop: the body was checked already; blocks until written. */
static enum MHD_Result post_savepoint(rill__rest *r, rest_conn *conn, uint64_t job_id,
                                      const char *dir, rill__stop_mode stop)
{
    char *location = NULL;
    rill__err err = {0};
    int rc =
        rill__jm_savepoint(r->jm, job_id, dir, stop, REST_SAVEPOINT_TIMEOUT_MS, &location, &err);
    if (rc)
        return send_error(conn, status_of(rc), NULL, "%s",
                          err.msg[0] ? err.msg : rill_strerror(rc));
    json_t *doc = json_object();
    jset(doc, "status", json_string("COMPLETED"));
    jset(doc, "location", jstr(location ? location : ""));
    free(location);
    return send_json(conn, MHD_HTTP_OK, doc, NULL);
}

static enum MHD_Result cancel_job(rill__rest *r, rest_conn *conn, uint64_t job_id)
{
    rill__jm_cancel(r->jm, job_id);
    return send_json(conn, MHD_HTTP_ACCEPTED, json_object(), NULL);
}

/* ---- routing ---------------------------------------------------------------------------- */

/* A savepoint's target directory comes from the request body (as Flink's target-directory): a
 * directory the JobManager writes into, never a file it reads. It must be absolute (the
 * JobManager's working directory is no business of a client), name no ".." segment (what it
 * names is what is written, with no climbing out of it), hold no control character (it is
 * logged) and fit PATH_MAX. NULL when it is fine, else why not. */
static const char *target_dir_problem(const char *dir)
{
    if (dir[0] != '/')
        return "must be an absolute path";
    if (strlen(dir) >= PATH_MAX)
        return "is too long";
    for (const unsigned char *p = (const unsigned char *)dir; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return "must not contain control characters";
    for (const char *p = dir; (p = strstr(p, "..")) != NULL; p += 2)
        if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
            return "must not contain '..' segments";
    return NULL;
}

#define MAX_SEGS 4

/* Splits url (already percent-decoded once by MHD) at '/' into at most MAX_SEGS non-empty
 * segments, in place in buf. -1 when there are more, or an empty segment ("//", a trailing
 * '/' is allowed). */
static int split_path(const char *url, char *buf, size_t size, char **segs)
{
    size_t n = strlen(url);
    if (n >= size || url[0] != '/')
        return -1;
    memcpy(buf, url, n + 1);
    if (n > 1 && buf[n - 1] == '/')
        buf[--n] = '\0';
    int k = 0;
    char *p = buf + 1;
    if (!*p)
        return 0;
    for (;;) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        if (!*p || k == MAX_SEGS)
            return -1;
        segs[k++] = p;
        if (!slash)
            return k;
        p = slash + 1;
    }
}

static bool is(const char *method, const char *m)
{
    return !strcmp(method, m);
}

/* ---- uploaded job objects (/jars) -------------------------------------------------------- */

/* The mini-cluster of `rill run` has no jar store: it runs the one job it was started with. */
static enum MHD_Result send_no_jars(rest_conn *conn)
{
    return send_error(conn, MHD_HTTP_NOT_IMPLEMENTED, NULL,
                      "this JobManager takes no job uploads (it is the mini-cluster of one "
                      "`rill run`; start `rill jobmanager` to submit jobs with `rill run -m`)");
}

/* Flink's GET /jars, with the fields that apply: {"files":[{"id","size","uploaded"}]}, oldest
 * first; "uploaded" is ms since the epoch. The ids need no escaping (the store's own form). */
static enum MHD_Result get_jars(rill__jar_store *jars, rest_conn *conn)
{
    rill__jar_info *v;
    size_t n;
    rill__err err = {0};
    int rc = rill__jar_store_list(jars, &v, &n, &err);
    if (rc)
        return send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "%s", err.msg);
    json_t *files = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        jset(o, "id", jstr(v[i].id));
        jset(o, "size", jint((int64_t)v[i].size));
        jset(o, "uploaded", jint(v[i].uploaded_ms));
        json_array_append_new(files, o);
    }
    free(v);
    json_t *doc = json_object();
    jset(doc, "files", files);
    return send_json(conn, MHD_HTTP_OK, doc, NULL);
}

/* POST /jars/upload: the body is the shared object itself (not multipart, unlike Flink). */
static enum MHD_Result post_upload(rill__jar_store *jars, rest_conn *conn, rest_req *req)
{
    if (req->body.len == 0)
        return send_error(conn, MHD_HTTP_BAD_REQUEST, NULL,
                          "the request body is empty: send the job's shared object as "
                          "application/octet-stream");
    char id[RILL_JAR_ID_MAX + 1];
    rill__err err = {0};
    int rc = rill__jar_store_put(jars, req->body.data, req->body.len, id, &err);
    rill__buf_free(&req->body); /* up to 256 MiB: not kept while the answer goes out */
    if (rc) {
        unsigned status = rc == RILL_EINVAL   ? MHD_HTTP_BAD_REQUEST
                          : rc == RILL_ELIMIT ? HTTP_TOO_LARGE
                          : rc == RILL_ENOSPC ? MHD_HTTP_INSUFFICIENT_STORAGE
                                              : MHD_HTTP_INTERNAL_SERVER_ERROR;
        if (status >= 500)
            rill__log(RILL_LOG_ERROR, "REST API: upload failed: %s", err.msg);
        return send_error(conn, status, NULL, "%s", err.msg);
    }
    rill__log(RILL_LOG_INFO, "REST API: job object %s uploaded", id);
    json_t *doc = json_object();
    jset(doc, "filename", jstr(id));
    jset(doc, "status", json_string("success"));
    return send_json(conn, MHD_HTTP_OK, doc, NULL);
}

static enum MHD_Result no_such_jar(rest_conn *conn, const char *id)
{
    char s[128];
    return send_error(conn, MHD_HTTP_NOT_FOUND, NULL, "no uploaded job object '%s'",
                      shown(id, s, sizeof s));
}

static enum MHD_Result delete_jar(rill__jar_store *jars, rest_conn *conn, const char *id)
{
    rill__err err = {0};
    int rc = rill__jar_store_delete(jars, id, &err);
    if (rc == RILL_ENOENT)
        return no_such_jar(conn, id);
    if (rc)
        return send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, "%s", err.msg);
    rill__log(RILL_LOG_INFO, "REST API: job object %s deleted", id);
    return send_json(conn, MHD_HTTP_OK, json_object(), NULL);
}

/* An error of a run request as an HTTP status: what the request or the job got wrong is 400. */
static unsigned run_status_of(int rc)
{
    switch (rc) {
    case RILL_ENOENT:
        return MHD_HTTP_NOT_FOUND;
    case RILL_ENOTSUP:
        return MHD_HTTP_NOT_IMPLEMENTED;
    case RILL_EINVAL:
    case RILL_ECONFIG:
    case RILL_EGRAPH:
    case RILL_ELIMIT:
    case RILL_ERANGE:
    case RILL_EPARSE:
    case RILL_ETYPE:
    case RILL_ENOSYM:
    case RILL_EUSER:
        return MHD_HTTP_BAD_REQUEST;
    default:
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

/* POST /jars/<id>/run: the body is checked first (400), then the object (404), then the runner
 * runs it: {"jobid":"<id>"}. */
static enum MHD_Result post_run(rill__rest *r, rill__jar_store *jars, rest_conn *conn,
                                const char *id, rest_req *req)
{
    rill__rest_run_body rb;
    char msg[256];
    if (rill__rest_parse_run_body(req->body.data ? req->body.data : "", req->body.len, &rb, msg,
                                  sizeof msg) != 0)
        return send_error(conn, MHD_HTTP_BAD_REQUEST, NULL, "%s", msg);
    char *path = NULL;
    rill__err err = {0};
    if (rill__jar_store_get(jars, id, &path, NULL, NULL, &err) != 0) {
        rill__rest_run_body_free(&rb);
        return no_such_jar(conn, id);
    }
    free(path);
    rill__run_request rq = {
        .jar_id = id,
        .name = rb.name,
        .opt_keys = (const char *const *)rb.keys,
        .opt_values = (const char *const *)rb.values,
        .n_opts = rb.n_opts,
        .args = (const char *const *)rb.args,
        .n_args = rb.n_args,
    };
    uint64_t job_id = 0;
    int rc = rill__jm_run(r->jm, &rq, &job_id, &err);
    rill__rest_run_body_free(&rb);
    if (rc)
        return send_error(conn, run_status_of(rc), NULL, "%s",
                          err.msg[0] ? err.msg : rill_strerror(rc));
    char jid[24];
    snprintf(jid, sizeof jid, "%" PRIu64, job_id);
    json_t *doc = json_object();
    jset(doc, "jobid", json_string(jid));
    return send_json(conn, MHD_HTTP_OK, doc, NULL);
}

/* /jars, /jars/upload, /jars/<id>, /jars/<id>/run: the method is checked against the route
 * first, then whether this JobManager takes uploads at all. */
static enum MHD_Result route_jars(rill__rest *r, rest_conn *conn, const char *method, char **seg,
                                  int n, rest_req *req)
{
    bool get = is(method, MHD_HTTP_METHOD_GET) || is(method, MHD_HTTP_METHOD_HEAD);
    bool post = is(method, MHD_HTTP_METHOD_POST);
    const char *allow;
    bool ok;
    enum { LIST, UPLOAD, DELETE, RUN } what;
    if (n == 1) {
        what = LIST, allow = "GET, HEAD", ok = get;
    } else if (n == 2 && !strcmp(seg[1], "upload")) {
        what = UPLOAD, allow = "POST", ok = post;
    } else if (n == 2) {
        what = DELETE, allow = "DELETE", ok = is(method, MHD_HTTP_METHOD_DELETE);
    } else if (n == 3 && !strcmp(seg[2], "run")) {
        what = RUN, allow = "POST", ok = post;
    } else {
        return send_error(conn, MHD_HTTP_NOT_FOUND, NULL, "not found");
    }
    if (!ok)
        return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, allow, "method %s is not allowed here",
                          method);
    rill__jar_store *jars = rill__jm_jars(r->jm);
    if (!jars)
        return send_no_jars(conn);
    switch (what) {
    case LIST:
        return get_jars(jars, conn);
    case UPLOAD:
        return post_upload(jars, conn, req);
    case DELETE:
        return delete_jar(jars, conn, seg[1]);
    case RUN:
        return post_run(r, jars, conn, seg[1], req);
    }
    return MHD_NO;
}

static enum MHD_Result send_metrics(rill__rest *r, rest_conn *conn)
{
    rill__buf body = {0};
    rill__prom_write(r->jm, &body);
    if (!conn->mhd) {
        conn->status = MHD_HTTP_OK;
        rill__buf_append(conn->body, body.data, body.len);
        rill__buf_free(&body);
        return MHD_YES;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(body.len, body.data, MHD_RESPMEM_MUST_COPY);
    rill__buf_free(&body);
    if (!resp)
        return MHD_NO;
    if (!add_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, RILL_PROM_CONTENT_TYPE)) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    enum MHD_Result rc = MHD_queue_response(conn->mhd, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result route(rill__rest *r, rest_conn *conn, const char *method, const char *url,
                             rest_req *req)
{
    bool get = is(method, MHD_HTTP_METHOD_GET) || is(method, MHD_HTTP_METHOD_HEAD);
    bool post = is(method, MHD_HTTP_METHOD_POST);
    char path[2048], s[256];
    char *seg[MAX_SEGS];
    if (!strcmp(url, "/metrics")) /* Prometheus's scrape: text, not JSON (prometheus.c) */
        return get ? send_metrics(r, conn)
                   : send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET, HEAD",
                                "method %s is not allowed on /metrics", method);
    int n = split_path(url, path, sizeof path, seg);
    if (n == 1 && !strcmp(seg[0], "overview"))
        return get ? get_overview(r, conn)
                   : send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET, HEAD",
                                "method %s is not allowed on /overview", method);
    if (n == 1 && !strcmp(seg[0], "jobs"))
        return get ? get_jobs(r, conn)
                   : send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET, HEAD",
                                "method %s is not allowed on /jobs", method);
    if (n == 1 && !strcmp(seg[0], "taskmanagers"))
        return get ? get_taskmanagers(r, conn)
                   : send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET, HEAD",
                                "method %s is not allowed on /taskmanagers", method);
    if (n >= 1 && !strcmp(seg[0], "jars"))
        return route_jars(r, conn, method, seg, n, req);
    if (n < 2 || n > 3 || strcmp(seg[0], "jobs") != 0)
        return send_error(conn, MHD_HTTP_NOT_FOUND, NULL, "not found");

    /* /jobs/<id>[/<verb>]: check the method against the route before anything else */
    const char *id = seg[1], *verb = n == 3 ? seg[2] : NULL;
    const char *allow;
    bool ok;
    if (!verb) {
        allow = "GET, HEAD, PATCH";
        ok = get || is(method, "PATCH");
    } else if (!strcmp(verb, "checkpoints")) {
        allow = "GET, HEAD";
        ok = get;
    } else if (!strcmp(verb, "savepoints") || !strcmp(verb, "stop") || !strcmp(verb, "cancel")) {
        allow = "POST";
        ok = post;
    } else {
        return send_error(conn, MHD_HTTP_NOT_FOUND, NULL, "not found");
    }
    if (!ok)
        return send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, allow, "method %s is not allowed here",
                          method);

    /* A malformed request is refused before the job is looked up: the answer to a bad body
     * does not depend on which jobs exist. */
    char *dir = NULL;
    rill__stop_mode stop = RILL_STOP_NONE;
    if (verb && (!strcmp(verb, "savepoints") || !strcmp(verb, "stop"))) {
        char msg[256];
        rill__rest_savepoint_body sb;
        if (rill__rest_parse_savepoint_body(req->body.data ? req->body.data : "", req->body.len,
                                            &sb, msg, sizeof msg) != 0)
            return send_error(conn, MHD_HTTP_BAD_REQUEST, NULL, "%s", msg);
        bool cancel = sb.cancel, drain = sb.drain;
        dir = sb.dir;
        if (!dir || !*dir) {
            free(dir);
            return send_error(conn, MHD_HTTP_BAD_REQUEST, NULL,
                              "the request body must name the target directory: "
                              "{\"%s\": \"/path\"}",
                              !strcmp(verb, "stop") ? "targetDirectory" : "target-directory");
        }
        const char *why = target_dir_problem(dir);
        if (why) {
            free(dir);
            return send_error(conn, MHD_HTTP_BAD_REQUEST, NULL, "the target directory %s", why);
        }
        /* Flink's: "drain" on /stop; "cancel-job" on /savepoints stops without draining */
        if (!strcmp(verb, "stop"))
            stop = drain ? RILL_STOP_DRAIN : RILL_STOP_NO_DRAIN;
        else if (cancel)
            stop = RILL_STOP_NO_DRAIN;
    }
    if (!verb && !get) { /* PATCH /jobs/<id>?mode=cancel */
        const char *mode =
            conn->mhd ? MHD_lookup_connection_value(conn->mhd, MHD_GET_ARGUMENT_KIND, "mode")
                      : conn->mode;
        if (!mode || strcmp(mode, "cancel") != 0)
            return send_error(conn, MHD_HTTP_BAD_REQUEST, NULL,
                              "PATCH /jobs/<id> needs ?mode=cancel");
    }

    uint64_t job_id;
    if (rill__jm_find(r->jm, id, &job_id) != 0) {
        free(dir);
        return send_error(conn, MHD_HTTP_NOT_FOUND, NULL, "no job '%s'", shown(id, s, sizeof s));
    }
    enum MHD_Result res;
    if (!verb)
        res = get ? get_job(r, conn, job_id, id) : cancel_job(r, conn, job_id);
    else if (!strcmp(verb, "checkpoints"))
        res = get_checkpoints(r, conn, job_id);
    else if (!strcmp(verb, "cancel"))
        res = cancel_job(r, conn, job_id);
    else
        res = post_savepoint(r, conn, job_id, dir, stop);
    free(dir);
    return res;
}

/* Is the Content-Type one a job object upload may carry (parameters after ';' allowed)? A
 * browser form cannot send these without the server's consent (CORS), nor can it send the token. */
static bool upload_type_ok(const char *ct)
{
    static const char *const ok[] = {"application/octet-stream", "application/x-sharedlib"};
    if (!ct)
        return false;
    for (size_t i = 0; i < RILL_ARRAY_LEN(ok); i++) {
        size_t n = strlen(ok[i]);
        if (!strncasecmp(ct, ok[i], n) && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
            return true;
    }
    return false;
}

/* The headers of a new request are in: checks what can be checked before the body is read
 * (the token, an upload's type and the uploads in progress, a declared oversized body) and
 * answers at once when one fails. */
static enum MHD_Result on_headers(rill__rest *r, rest_conn *conn, const char *url,
                                  const char *method, rest_req *req)
{
    /* without the token nothing else is looked at, not even the route */
    bool had_token;
    if (r->auth && !authorized(r, conn->mhd, &had_token)) {
        req->refused = true;
        return send_unauthorized(conn, had_token);
    }
    char path[2048];
    char *seg[MAX_SEGS];
    int n = split_path(url, path, sizeof path, seg);
    bool post = is(method, MHD_HTTP_METHOD_POST);
    bool upload = post && n == 2 && !strcmp(seg[0], "jars") && !strcmp(seg[1], "upload");
    req->max_body = upload ? RILL_JAR_SIZE_MAX
                    : post && n == 3 && !strcmp(seg[0], "jars") && !strcmp(seg[2], "run")
                        ? REST_MAX_RUN_BODY
                        : REST_MAX_BODY;
    /* refuse a declared oversized body before reading it */
    const char *cl =
        MHD_lookup_connection_value(conn->mhd, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    size_t cl_len = cl ? strlen(cl) : 0;
    if (cl_len > 0 && (cl_len > 12 || strtoull(cl, NULL, 10) > req->max_body)) {
        req->too_large = true;
        return send_error(conn, HTTP_TOO_LARGE, NULL, "request body larger than %zu bytes",
                          req->max_body);
    }
    if (!upload)
        return MHD_YES;
    if (!rill__jm_jars(r->jm)) {
        req->refused = true;
        return send_no_jars(conn);
    }
    const char *ct =
        MHD_lookup_connection_value(conn->mhd, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!upload_type_ok(ct)) {
        req->refused = true;
        return send_error(conn, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, NULL,
                          "POST /jars/upload takes the job's shared object itself as "
                          "application/octet-stream (not multipart/form-data)");
    }
    if (atomic_fetch_add(&r->uploads, 1) >= REST_MAX_UPLOADS) {
        atomic_fetch_sub(&r->uploads, 1);
        req->refused = true;
        return send_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                          "%d uploads are in progress already: try again later", REST_MAX_UPLOADS);
    }
    req->upload = true;
    if (cl_len > 0) /* checked against the limit above */
        rill__buf_reserve(&req->body, (size_t)strtoull(cl, NULL, 10));
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mhd, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    rill__rest *r = cls;
    rest_req *req = *con_cls;
    rest_conn c = {.mhd = mhd}, *conn = &c;
    if (!req) {
        req = rill__xcalloc(1, sizeof *req);
        *con_cls = req;
        return on_headers(r, conn, url, method, req);
    }
    if (req->refused) { /* MHD may still hand over body bytes: drop them */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!req->too_large && req->body.len + *upload_data_size <= req->max_body)
            rill__buf_append(&req->body, upload_data, *upload_data_size);
        else if (!req->too_large) {
            req->too_large = true; /* read on and drop the rest, then answer 413 */
            rill__buf_free(&req->body);
            if (req->upload) {
                /* an upload without a length (chunked) past 256 MiB is not read on for as long
                 * as its sender likes: 413 now if MHD takes an answer mid-body, else close */
                *upload_data_size = 0;
                req->refused = true;
                return send_error(conn, HTTP_TOO_LARGE, NULL, "request body larger than %zu bytes",
                                  req->max_body);
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->too_large)
        return send_error(conn, HTTP_TOO_LARGE, NULL, "request body larger than %zu bytes",
                          req->max_body);
    return route(r, conn, method, url, req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    rill__rest *r = cls;
    rest_req *req = *con_cls;
    if (req) {
        if (req->upload)
            atomic_fetch_sub(&r->uploads, 1);
        rill__buf_free(&req->body);
        free(req);
        *con_cls = NULL;
    }
}

/* ---- the daemon ------------------------------------------------------------------------- */

void rill__rest_token(const uint8_t *secret, size_t secret_len, char out[RILL_REST_TOKEN_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t mac[RILL_SHA256_LEN];
    rill__hmac_sha256(secret, secret_len, RILL_REST_TOKEN_CONTEXT,
                      sizeof RILL_REST_TOKEN_CONTEXT - 1, mac);
    for (int i = 0; i < RILL_SHA256_LEN; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[RILL_REST_TOKEN_LEN] = '\0';
    memset(mac, 0, sizeof mac);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* MHD's unescape callback, for the path and the query arguments: percent-decodes s in place,
 * once. "%00" is left as the three characters it is: a NUL would cut the string short and
 * make "/jobs/7%00/x" route as "/jobs/7". Returns the new length. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    char *w = s;
    for (const char *p = s; *p;) {
        int hi, lo;
        if (p[0] == '%' && (hi = hexval(p[1])) >= 0 && (lo = hexval(p[2])) >= 0 && (hi | lo)) {
            *w++ = (char)(hi << 4 | lo);
            p += 3;
        } else {
            *w++ = *p++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

void rill__rest_handle(rill__jobmanager *jm, const char *method, const char *path, const char *mode,
                       const void *body, size_t len, unsigned *status_out, rill__buf *out)
{
    rill__rest r = {.jm = jm};
    rest_conn conn = {.mode = mode, .status = MHD_HTTP_INTERNAL_SERVER_ERROR, .body = out};
    rest_req req = {.max_body = REST_MAX_RUN_BODY};
    rill__buf_append(&req.body, body, len);
    char *url = rill__xstrdup(path);
    unescape(NULL, NULL, url);
    if (route(&r, &conn, method, url, &req) != MHD_YES)
        conn.status = 0;
    free(url);
    rill__buf_free(&req.body);
    *status_out = conn.status;
}

/* A REST server with its daemon started (flags; listening on sa:port, or on nothing when sa is
 * NULL), or NULL when MHD cannot start it. */
static rill__rest *rest_new(rill__jobmanager *jm, const uint8_t *secret, size_t secret_len,
                            unsigned flags, int port, const struct sockaddr *sa)
{
    rill__rest *r = rill__xcalloc(1, sizeof *r);
    r->jm = jm;
    if (secret) {
        r->auth = true;
        rill__rest_token(secret, secret_len, r->token);
    }
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, r},
        {MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)unescape, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, REST_MAX_CONNECTIONS, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, REST_IDLE_TIMEOUT_S, NULL},
        {sa ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_END, 0, (void *)sa},
        {MHD_OPTION_END, 0, NULL},
    };
    r->daemon = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, r, MHD_OPTION_ARRAY,
                                 opts, MHD_OPTION_END);
    if (!r->daemon) {
        memset(r->token, 0, sizeof r->token);
        free(r);
        return NULL;
    }
    return r;
}

int rill__rest_start(rill__jobmanager *jm, const char *bind_addr, int port, const uint8_t *secret,
                     size_t secret_len, rill__rest **out, rill__err *err)
{
    *out = NULL;
    if (!bind_addr || !*bind_addr)
        bind_addr = RILL_NET_DEFAULT_BIND;
    struct sockaddr_storage ss;
    bool v6;
    int rc = rill__net_listen_addr("REST", bind_addr, port, &ss, &v6, err);
    if (rc)
        return rc;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC;
    if (v6)
        flags |= MHD_USE_IPv6;
    rc = rill__net_check_bind("REST API", bind_addr, secret != NULL, err);
    if (rc)
        return rc;
    rill__rest *r = rest_new(jm, secret, secret_len, flags, port, (struct sockaddr *)&ss);
    if (!r)
        return rill__err_set(err, RILL_EIO, "cannot serve the REST API on %s:%d (in use?)",
                             bind_addr, port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(r->daemon, MHD_DAEMON_INFO_BIND_PORT);
    r->port = info ? info->port : port;
    *out = r;
    return 0;
}

int rill__rest_new_unbound(rill__jobmanager *jm, const uint8_t *secret, size_t secret_len,
                           rill__rest **out, rill__err *err)
{
    *out = rest_new(jm, secret, secret_len, MHD_USE_NO_LISTEN_SOCKET, 0, NULL);
    if (!*out)
        return rill__err_set(err, RILL_EIO, "cannot start the REST API's daemon");
    return 0;
}

int rill__rest_exchange(rill__rest *r, const void *request, size_t len, int timeout_ms,
                        rill__buf *response)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0)
        return -errno;
    /* the server's end belongs to MHD from here on, even when it refuses it */
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (MHD_add_connection(r->daemon, sv[0], (struct sockaddr *)&peer, sizeof peer) != MHD_YES) {
        close(sv[1]);
        return RILL_EIO;
    }
    const char *p = request;
    size_t off = 0;
    bool shut = false, eof = false;
    int64_t deadline = rill__mono_ns() + (int64_t)timeout_ms * 1000000;
    while (!eof && rill__mono_ns() < deadline) {
        while (off < len) {
            ssize_t w = send(sv[1], p + off, len - off, MSG_NOSIGNAL);
            if (w <= 0) {
                if (w < 0 && errno != EAGAIN && errno != EINTR)
                    off = len; /* the server closed: the rest goes unread */
                break;
            }
            off += (size_t)w;
        }
        if (off == len && !shut) {
            shutdown(sv[1], SHUT_WR); /* the end of the request: the server sees EOF */
            shut = true;
        }
        MHD_run_wait(r->daemon, 10);
        for (;;) {
            rill__buf_reserve(response, 4096);
            ssize_t n = recv(sv[1], response->data + response->len, 4096, 0);
            if (n <= 0) {
                eof = n == 0;
                break;
            }
            response->len += (size_t)n;
        }
    }
    close(sv[1]);
    MHD_run(r->daemon); /* the server sees the close */
    return eof ? 0 : RILL_ECANCELED;
}

int rill__rest_port(const rill__rest *r)
{
    return r ? r->port : 0;
}

void rill__rest_stop(rill__rest *r)
{
    if (!r)
        return;
    /* A request may still be answering, such as the stop-with-savepoint that ended the job:
     * take no new connections, let those open finish their answer (for up to 2 s), then stop.
     * Stopping at once would cut the answer off. */
    MHD_quiesce_daemon(r->daemon);
    for (int waited = 0; waited < 2000; waited += 10) {
        const union MHD_DaemonInfo *info =
            MHD_get_daemon_info(r->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (!info || info->num_connections == 0)
            break;
        rill__sleep_ns(10 * 1000 * 1000);
    }
    MHD_stop_daemon(r->daemon);
    memset(r->token, 0, sizeof r->token);
    free(r);
}
