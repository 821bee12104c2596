/*
 * client.c - cli layer: `rill list|savepoint|stop|cancel|checkpoints`, which ask a running
 * JobManager through its REST API, and `rill run -m`, which submits a job to it: HTTP by
 * libcurl (one request per connection), JSON read and written by jansson.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "base/net.h"
#include "cli/client.h"
#include "cluster/cluster.h"

#define DEFAULT_JM   "127.0.0.1:8081"
#define CONNECT_MS   5000
#define REQUEST_MS   30000
#define SAVEPOINT_MS 660000 /* the server gives a savepoint 600 s */
#define MAX_RESPONSE (16 * 1024 * 1024)

/* ---- HTTP client (libcurl) -------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        rill__panic(__FILE__, __LINE__, "cannot initialise libcurl");
}

/* The answer's body as it arrives, up to MAX_RESPONSE bytes. */
typedef struct http_sink {
    rill__buf body;
    bool too_large;
} http_sink;

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    http_sink *s = arg;
    size_t len = size * n;
    if (s->body.len + len > MAX_RESPONSE) {
        s->too_large = true;
        return 0; /* curl stops: CURLE_WRITE_ERROR */
    }
    rill__buf_append(&s->body, data, len);
    return len;
}

/* Adds one header line to *list; false when curl cannot (out of memory). */
static bool add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *l = curl_slist_append(*list, line);
    if (!l)
        return false;
    *list = l;
    return true;
}

int rill__http_request(const char *host, int port, const char *method, const char *path,
                       const char *body, const char *auth, int connect_ms, int total_ms,
                       rill__http_resp *out, char *why, size_t why_size, int *malformed)
{
    return rill__http_request_body(host, port, method, path, body ? "application/json" : NULL, body,
                                   body ? strlen(body) : 0, auth, connect_ms, total_ms, out, why,
                                   why_size, malformed);
}

/* What goes into the request line and headers: no CR/LF (no injected header), no space in the
 * host, path and method. NULL when fine, else which part is not. */
static const char *request_problem(const char *host, const char *path, const char *method,
                                   const char *content_type, const void *body, const char *auth)
{
    const char *const parts[] = {host, path, method};
    static const char *const names[] = {
        "refusing to send a host with a space or control character",
        "refusing to send a path with a space or control character",
        "refusing to send a method with a space or control character",
    };
    for (size_t i = 0; i < RILL_ARRAY_LEN(parts); i++)
        if (!rill__http_header_value_ok(parts[i]) || strpbrk(parts[i], " \t"))
            return names[i];
    if (method[0] == '\0')
        return names[2];
    if (auth && !rill__http_header_value_ok(auth))
        return "refusing to send an Authorization value with a control character";
    if (body && (!content_type || !rill__http_header_value_ok(content_type)))
        return "refusing to send a Content-Type with a control character";
    return NULL;
}

/* curl's errors that mean the server answered, but not with HTTP we can read. */
static bool curl_malformed(CURLcode rc)
{
    return rc == CURLE_WEIRD_SERVER_REPLY || rc == CURLE_BAD_CONTENT_ENCODING ||
           rc == CURLE_PARTIAL_FILE || rc == CURLE_HTTP2 || rc == CURLE_RECV_ERROR ||
           rc == CURLE_GOT_NOTHING;
}

int rill__http_request_body(const char *host, int port, const char *method, const char *path,
                            const char *content_type, const void *body, size_t req_body_len,
                            const char *auth, int connect_ms, int total_ms, rill__http_resp *out,
                            char *why, size_t why_size, int *malformed)
{
    memset(out, 0, sizeof *out);
    *malformed = 0;
    const char *problem = request_problem(host, path, method, content_type, body, auth);
    if (problem) {
        snprintf(why, why_size, "%s", problem);
        return -1;
    }
    pthread_once(&curl_once, curl_init);
    CURL *c = curl_easy_init();
    if (!c)
        rill__panic(__FILE__, __LINE__, "cannot start a libcurl handle");
    bool v6 = strchr(host, ':') != NULL;
    char *url =
        rill__xasprintf("http://%s%s%s:%d%s", v6 ? "[" : "", host, v6 ? "]" : "", port, path);
    char *line = NULL, errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    http_sink sink = {0};
    int rc = -1;
    bool ok = add_header(&headers, "Accept: application/json") &&
              add_header(&headers, "Expect:"); /* no 100-continue round trip */
    if (auth) {
        line = rill__xasprintf("Authorization: %s", auth);
        ok = ok && add_header(&headers, line);
        free(line);
    }
    line =
        body ? rill__xasprintf("Content-Type: %s", content_type) : rill__xstrdup("Content-Type:");
    ok = ok && add_header(&headers, line);
    free(line);
    if (!ok)
        rill__panic(__FILE__, __LINE__, "out of memory");
    char agent[64];
    snprintf(agent, sizeof agent, "rill/%s", RILL_VERSION_STRING);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http"); /* a JobManager speaks plain HTTP */
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");          /* straight to it, whatever the env says */
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);        /* the path as escaped by path_segment */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)connect_ms + total_ms);
    curl_easy_setopt(c, CURLOPT_USERAGENT, agent);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    if (body || strcmp(method, "GET") != 0) { /* a body, or Content-Length: 0 */
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? req_body_len : 0));
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
    }
    if (strcmp(method, "POST") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);

    CURLcode crc = curl_easy_perform(c);
    if (crc != CURLE_OK) {
        if (sink.too_large)
            snprintf(why, why_size, "response larger than %d bytes", MAX_RESPONSE);
        else
            snprintf(why, why_size, "%s", errbuf[0] ? errbuf : curl_easy_strerror(crc));
        *malformed = sink.too_large || curl_malformed(crc);
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status < 100 || status > 599) {
        snprintf(why, why_size, "malformed HTTP status %ld", status);
        *malformed = 1;
        goto out;
    }
    out->status = (int)status;
    out->body_len = sink.body.len;
    out->body = sink.body.len ? rill__xstrndup(sink.body.data, sink.body.len) : rill__xstrdup("");
    rc = 0;
out:
    rill__buf_free(&sink.body);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    free(url);
    return rc;
}

/* ---- JSON reader (the answers of the REST API) ------------------------------------------ */

/* A scalar member as text ("-" when missing or not a scalar; a string as it is, a number in
 * its digits, true, false, null). Borrowed from o, or from one of 8 buffers used in turn (the
 * command is one thread; a table row copies its cells at once). */
static const char *jv_text(const json_t *o, const char *key)
{
    static char ring[8][32];
    static unsigned next;
    const json_t *v = json_object_get(o, key);
    if (json_is_string(v))
        return json_string_value(v);
    char *buf = ring[next++ % 8];
    if (json_is_integer(v))
        snprintf(buf, sizeof ring[0], "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, sizeof ring[0], "%g", json_real_value(v));
    else if (json_is_boolean(v) || json_is_null(v))
        return json_is_true(v) ? "true" : json_is_false(v) ? "false" : "null";
    else
        return "-";
    return buf;
}

/* An integer member (0 when missing or not a number). */
static int64_t jv_int(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_real(v) && fabs(json_real_value(v)) < 9e18)
        return (int64_t)json_real_value(v);
    return 0;
}

/* s as a JSON string, or NULL when it is not UTF-8 (JSON carries nothing else). */
static json_t *jstr_or_null(const char *s)
{
    return json_string(s);
}

/* Sets o[key] = v (stolen). */
static void jset(json_t *o, const char *key, json_t *v)
{
    if (!v || json_object_set_new(o, key, v) != 0)
        rill__panic(__FILE__, __LINE__, "out of memory");
}

/* doc as compact JSON text (malloc'd); doc's reference is taken. */
static char *jdump(json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!text)
        rill__panic(__FILE__, __LINE__, "out of memory");
    return text;
}

/* ---- the commands ----------------------------------------------------------------------- */

typedef struct remote {
    char host[256];
    int port;
    const char *addr;                    /* as given, for messages */
    char auth[16 + RILL_REST_TOKEN_LEN]; /* "Bearer <token>", "" without --secret-file */
} remote;

static const char usage_remote[] =
    "usage: rill list [-m HOST:PORT] [--secret-file FILE]\n"
    "       rill savepoint JOB [DIR] [-m HOST:PORT] [--secret-file FILE]\n"
    "       rill stop JOB [--savepoint DIR] [--drain] [-m HOST:PORT] [--secret-file FILE]\n"
    "       rill cancel JOB [-m HOST:PORT] [--secret-file FILE]\n"
    "       rill checkpoints JOB [-m HOST:PORT] [--secret-file FILE]\n"
    "\n"
    "Talk to a running job's JobManager through its REST API (`rill run --rest-port P`).\n"
    "JOB is a job's id or its name.\n"
    "\n"
    "  list          the jobs: id, name, state, restarts, last completed checkpoint\n"
    "  savepoint     take a savepoint of a running job into DIR (default ./savepoints); the\n"
    "                job keeps running; prints the savepoint's path\n"
    "  stop          stop the job at a savepoint, as Flink does: the sources stop reading at\n"
    "                its barrier, and once it is written the sinks commit what it covers and\n"
    "                the job finishes. Pending windows and timers do not fire: they are in the\n"
    "                savepoint and fire after a restore. If the savepoint fails, the job goes\n"
    "                on running and stop exits with 1\n"
    "  cancel        cancel a job at once, without a savepoint\n"
    "  checkpoints   the job's recent checkpoints\n"
    "\n"
    "options:\n"
    "  -m, --jobmanager HOST:PORT   the REST API's address (default " DEFAULT_JM ")\n"
    "      --secret-file FILE       the JobManager's shared secret (a file only its owner may\n"
    "                               read): each request carries \"Authorization: Bearer T\",\n"
    "                               T = hex HMAC-SHA256(secret, \"" RILL_REST_TOKEN_CONTEXT "\"),\n"
    "                               never the secret itself\n"
    "  -s, --savepoint DIR          stop: where the savepoint goes (default ./savepoints)\n"
    "  -d, --drain                  stop: end event time first, so every window and timer\n"
    "                               fires and its results are committed by the savepoint (for\n"
    "                               a job that will not be restored)\n"
    "  -h, --help                   show this help\n"
    "\n"
    "exit status: 0 on success, 1 when the JobManager refused or could not be reached, 2 for\n"
    "bad usage.\n";

RILL_PRINTF(1, 2) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rill: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see `rill list --help`)\n");
    va_end(ap);
    return 2;
}

/* "host:port", "[v6]:port", "host" (port 8081), with an optional http:// in front. */
static int parse_addr(const char *addr, remote *r)
{
    r->addr = addr;
    const char *a = addr;
    if (!strncmp(a, "http://", 7))
        a += 7;
    const char *host = a, *colon;
    size_t host_len;
    if (*a == '[') {
        const char *close = strchr(a, ']');
        if (!close)
            return -1;
        host = a + 1;
        host_len = (size_t)(close - host);
        colon = close[1] == ':' ? close + 1 : NULL;
        if (close[1] && !colon)
            return -1;
    } else {
        colon = strrchr(a, ':');
        host_len = colon ? (size_t)(colon - a) : strlen(a);
    }
    const char *slash = colon ? NULL : strchr(host, '/');
    if (slash && slash == host + host_len - 1)
        host_len--; /* "http://host/" */
    if (host_len == 0 || host_len >= sizeof r->host)
        return -1;
    memcpy(r->host, host, host_len);
    r->host[host_len] = '\0';
    if (!rill__http_header_value_ok(r->host) || strpbrk(r->host, " \t/"))
        return -1; /* it goes into the Host header */
    r->port = 8081;
    if (colon) {
        const char *pe = colon + 1;
        size_t n = strlen(pe);
        if (n && pe[n - 1] == '/')
            n--;
        int64_t port;
        if (rill__parse_i64(pe, n, &port) != 0 || port < 1 || port > 65535)
            return -1;
        r->port = (int)port;
    }
    return 0;
}

/* The job's id or name as one path segment: everything but unreserved characters escaped. */
static char *path_segment(const char *s)
{
    rill__buf b = {0};
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            rill__buf_putc(&b, (char)*p);
        else
            rill__buf_printf(&b, "%%%02X", *p);
    }
    rill__buf_cstr(&b);
    return b.data;
}

/* Terminal-safe copy of server text: control characters become '?'. */
static void print_safe(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, f);
}

/* One request; 0 with the answer in *resp (free its body), or 1 with one line saying why
 * printed (unless quiet). */
static int request(const remote *r, const char *method, const char *path, const char *ctype,
                   const void *body, size_t body_len, int total_ms, bool quiet,
                   rill__http_resp *resp)
{
    char why[256];
    int malformed;
    if (rill__http_request_body(r->host, r->port, method, path, body ? ctype : NULL, body, body_len,
                                r->auth[0] ? r->auth : NULL, CONNECT_MS, total_ms, resp, why,
                                sizeof why, &malformed) != 0) {
        if (!quiet && malformed)
            fprintf(stderr, "rill: the JobManager at %s answered badly: %s\n", r->addr, why);
        else if (!quiet)
            fprintf(stderr, "rill: cannot reach the JobManager at %s: %s\n", r->addr, why);
        return 1;
    }
    return 0;
}

/* The JSON of an answer: 0 with *doc holding the parsed object of a 2xx status, or 1 with one
 * line saying why printed (unless quiet); addr is the JobManager's, for the message. */
static int answer(const char *addr, const rill__http_resp *resp, bool quiet, json_t **doc)
{
    json_error_t e;
    *doc = json_loadb(resp->body ? resp->body : "", resp->body_len, JSON_DECODE_ANY, &e);
    int parsed = *doc ? 0 : -1;
    int rc = 0;
    if (quiet && (resp->status < 200 || resp->status > 299 || !json_is_object(*doc))) {
        rc = 1;
    } else if (resp->status < 200 || resp->status > 299) {
        const json_t *first = json_array_get(json_object_get(*doc, "errors"), 0);
        if (json_is_string(first)) {
            fputs("rill: ", stderr);
            print_safe(stderr, json_string_value(first));
            fputc('\n', stderr);
        } else {
            fprintf(stderr, "rill: the JobManager at %s answered HTTP %d\n", addr, resp->status);
        }
        rc = 1;
    } else if (parsed != 0 || !json_is_object(*doc)) {
        fprintf(stderr, "rill: the JobManager at %s answered with malformed JSON\n", addr);
        rc = 1;
    }
    if (rc) {
        json_decref(*doc);
        *doc = NULL;
    }
    return rc;
}

/* request() and answer(): 0 with *doc, or 1 with the reason printed (unless quiet). */
static int call_body(const remote *r, const char *method, const char *path, const char *ctype,
                     const void *body, size_t body_len, int total_ms, bool quiet, json_t **doc)
{
    rill__http_resp resp;
    *doc = NULL;
    if (request(r, method, path, ctype, body, body_len, total_ms, quiet, &resp))
        return 1;
    int rc = answer(r->addr, &resp, quiet, doc);
    free(resp.body);
    return rc;
}

static int call(const remote *r, const char *method, const char *path, const char *body,
                int total_ms, json_t **doc)
{
    return call_body(r, method, path, "application/json", body, body ? strlen(body) : 0, total_ms,
                     false, doc);
}

typedef struct table {
    int n_cols;
    char **cells; /* row-major */
    int n_rows;
    size_t cap;
} table;

static void table_add(table *t, const char *const *row)
{
    rill__grow((void **)&t->cells, &t->cap, (size_t)(t->n_rows + 1) * (size_t)t->n_cols,
               sizeof *t->cells);
    for (int c = 0; c < t->n_cols; c++)
        t->cells[t->n_rows * t->n_cols + c] = rill__xstrdup(row[c]);
    t->n_rows++;
}

static void table_print(table *t)
{
    size_t w[16] = {0};
    for (int i = 0; i < t->n_rows * t->n_cols; i++)
        w[i % t->n_cols] = RILL_MAX(w[i % t->n_cols], strlen(t->cells[i]));
    for (int rw = 0; rw < t->n_rows; rw++) {
        for (int c = 0; c < t->n_cols; c++) {
            const char *s = t->cells[rw * t->n_cols + c];
            print_safe(stdout, s);
            if (c + 1 < t->n_cols)
                printf("%*s", (int)(w[c] - strlen(s) + 2), "");
        }
        putchar('\n');
    }
    for (int i = 0; i < t->n_rows * t->n_cols; i++)
        free(t->cells[i]);
    free(t->cells);
}

/* `rill list`: the answer to GET /jobs as a table. */
static int show_list(const char *addr, const rill__http_resp *resp)
{
    json_t *doc;
    if (answer(addr, resp, false, &doc))
        return 1;
    const json_t *jobs = json_object_get(doc, "jobs");
    if (!json_is_array(jobs)) {
        fprintf(stderr, "rill: the JobManager at %s answered without a job list\n", addr);
        json_decref(doc);
        return 1;
    }
    if (json_array_size(jobs) == 0) {
        printf("no jobs\n");
        json_decref(doc);
        return 0;
    }
    table t = {.n_cols = 5};
    table_add(&t, (const char *const[]){"ID", "NAME", "STATE", "RESTARTS", "LAST CHECKPOINT"});
    for (size_t i = 0; i < json_array_size(jobs); i++) {
        const json_t *j = json_array_get(jobs, i);
        const char *last = jv_text(j, "last-checkpoint");
        table_add(&t,
                  (const char *const[]){jv_text(j, "id"), jv_text(j, "name"), jv_text(j, "state"),
                                        jv_text(j, "restarts"), !strcmp(last, "0") ? "-" : last});
    }
    table_print(&t);
    json_decref(doc);
    return 0;
}

static void human_bytes(char *buf, size_t size, int64_t n)
{
    if (n < 1024)
        snprintf(buf, size, "%lld B", (long long)n);
    else if (n < 1024 * 1024)
        snprintf(buf, size, "%.1f KiB", (double)n / 1024);
    else if (n < 1024LL * 1024 * 1024)
        snprintf(buf, size, "%.1f MiB", (double)n / (1024 * 1024));
    else
        snprintf(buf, size, "%.1f GiB", (double)n / (1024.0 * 1024 * 1024));
}

/* `rill checkpoints`: the answer to GET /jobs/<job>/checkpoints as tables. */
static int show_checkpoints(const char *addr, const rill__http_resp *resp)
{
    json_t *doc;
    if (answer(addr, resp, false, &doc))
        return 1;
    const json_t *cks = json_object_get(doc, "checkpoints");
    if (!json_is_array(cks) || json_array_size(cks) == 0) {
        printf("no checkpoints yet\n");
        json_decref(doc);
        return 0;
    }
    /* SIZE: what the checkpoint wrote; FULL SIZE: all it needs (incremental checkpoints share
     * unchanged state files with earlier ones) */
    table t = {.n_cols = 8};
    table_add(&t, (const char *const[]){"ID", "STATUS", "TRIGGERED (UTC)", "DURATION", "ALIGNMENT",
                                        "SIZE", "FULL SIZE", "REASON"});
    for (size_t i = 0; i < json_array_size(cks); i++) {
        const json_t *c = json_array_get(cks, i);
        char when[32] = "-", dur[32], align[32], size[32], full[32];
        time_t secs = (time_t)(jv_int(c, "trigger-timestamp") / 1000);
        struct tm tm;
        if (secs > 0 && gmtime_r(&secs, &tm))
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(dur, sizeof dur, "%lld ms", (long long)jv_int(c, "duration-ms"));
        snprintf(align, sizeof align, "%lld ms", (long long)jv_int(c, "alignment-ms"));
        human_bytes(size, sizeof size, jv_int(c, "size-bytes"));
        human_bytes(full, sizeof full, jv_int(c, "full-size-bytes"));
        const char *reason = jv_text(c, "reason");
        table_add(&t, (const char *const[]){jv_text(c, "id"), jv_text(c, "status"), when, dur,
                                            align, size, full, *reason ? reason : "-"});
    }
    table_print(&t);
    /* the keyed state per operator as of the newest completed checkpoint */
    const json_t *st = json_object_get(doc, "state");
    if (json_array_size(st) > 0) {
        printf("\nkeyed state at the newest completed checkpoint:\n");
        table s = {.n_cols = 5};
        table_add(&s, (const char *const[]){"OPERATOR", "SUBTASKS", "KEYS", "MEMORY", "DISK"});
        for (size_t i = 0; i < json_array_size(st); i++) {
            const json_t *o = json_array_get(st, i);
            char keys[32], mem[32], disk[32];
            snprintf(keys, sizeof keys, "%lld", (long long)jv_int(o, "keys"));
            human_bytes(mem, sizeof mem, jv_int(o, "memory-bytes"));
            human_bytes(disk, sizeof disk, jv_int(o, "disk-bytes"));
            table_add(&s, (const char *const[]){jv_text(o, "operator"), jv_text(o, "subtasks"),
                                                keys, mem, disk});
        }
        table_print(&s);
    }
    json_decref(doc);
    return 0;
}

/* DIR as an absolute path without "." or ".." segments (the JobManager may run in another
 * directory, and it refuses ".."): joined to the working directory and folded by its text. */
static char *absolute(const char *dir)
{
    char cwd[4096];
    char *joined;
    if (dir[0] == '/' || !getcwd(cwd, sizeof cwd))
        joined = rill__xstrdup(dir);
    else
        joined = rill__xasprintf("%s/%s", cwd, dir);
    if (joined[0] != '/')
        return joined; /* no working directory: the JobManager says what is wrong */
    char *out = rill__xcalloc(1, strlen(joined) + 2);
    size_t n = 0;
    for (char *save = NULL, *seg = strtok_r(joined, "/", &save); seg;
         seg = strtok_r(NULL, "/", &save)) {
        if (!strcmp(seg, "."))
            continue;
        if (!strcmp(seg, "..")) {
            while (n > 0 && out[n - 1] != '/')
                n--;
            if (n > 0)
                n--; /* the '/' before the dropped segment */
            continue;
        }
        out[n++] = '/';
        memcpy(out + n, seg, strlen(seg));
        n += strlen(seg);
    }
    if (n == 0)
        out[n++] = '/';
    out[n] = '\0';
    free(joined);
    return out;
}

/* The body of POST /jobs/<job>/savepoints (stop: /stop), malloc'd; NULL when the directory's
 * name is not UTF-8 (said on stderr). */
static char *savepoint_body(const char *dir, bool stop, bool drain)
{
    char *abs = absolute(dir);
    json_t *path = jstr_or_null(abs);
    free(abs);
    if (!path) {
        fprintf(stderr, "rill: the savepoint directory's name is not UTF-8 text (the REST API "
                        "carries JSON)\n");
        return NULL;
    }
    json_t *doc = json_object();
    jset(doc, stop ? "targetDirectory" : "target-directory", path);
    if (drain)
        jset(doc, "drain", json_true());
    return jdump(doc);
}

/* `rill savepoint` and `rill stop`: where the answer says the savepoint went. */
static int show_savepoint(const char *addr, const char *job, bool stop, const rill__http_resp *resp)
{
    json_t *doc;
    if (answer(addr, resp, false, &doc))
        return 1;
    printf("savepoint written: ");
    print_safe(stdout, jv_text(doc, "location"));
    putchar('\n');
    if (stop) {
        printf("job '");
        print_safe(stdout, job);
        printf("' stopped\n");
    }
    json_decref(doc);
    return 0;
}

/* `rill cancel`: the answer to PATCH /jobs/<job>?mode=cancel. */
static int show_cancel(const char *addr, const char *job, const rill__http_resp *resp)
{
    json_t *doc;
    if (answer(addr, resp, false, &doc))
        return 1;
    printf("cancel requested for job '");
    print_safe(stdout, job);
    printf("'\n");
    json_decref(doc);
    return 0;
}

/* r's Authorization value: the bearer token of the secret in secret_file (NULL: none). 0, or 2
 * with the reason printed. */
static int set_auth(remote *r, const char *secret_file)
{
    r->auth[0] = '\0';
    if (!secret_file)
        return 0;
    uint8_t *secret;
    size_t len;
    rill__err err = {0};
    if (rill__secret_read_file(secret_file, &secret, &len, &err) != 0) {
        fprintf(stderr, "rill: --secret-file: %s\n", err.msg);
        return 2;
    }
    char token[RILL_REST_TOKEN_LEN + 1];
    rill__rest_token(secret, len, token);
    rill__secret_free(secret, len);
    snprintf(r->auth, sizeof r->auth, "Bearer %s", token);
    memset(token, 0, sizeof token);
    return 0;
}

int rill__cli_remote_parse(const char *cmd, int argc, char **argv, rill__remote_cmd *out)
{
    memset(out, 0, sizeof *out);
    if (!strcmp(cmd, "list"))
        out->which = RILL_REMOTE_LIST;
    else if (!strcmp(cmd, "savepoint"))
        out->which = RILL_REMOTE_SAVEPOINT;
    else if (!strcmp(cmd, "stop"))
        out->which = RILL_REMOTE_STOP;
    else if (!strcmp(cmd, "cancel"))
        out->which = RILL_REMOTE_CANCEL;
    else if (!strcmp(cmd, "checkpoints"))
        out->which = RILL_REMOTE_CHECKPOINTS;
    else
        return -1;
    int which = out->which;

    const char *addr = DEFAULT_JM, *pos[2] = {NULL, NULL};
    int n_pos = 0;
    enum { SECRET_FILE = 256 };
    bool stop = which == RILL_REMOTE_STOP;
    static const struct option all[] = {
        {"help", no_argument, NULL, 'h'},
        {"jobmanager", required_argument, NULL, 'm'},
        {"secret-file", required_argument, NULL, SECRET_FILE},
        {"savepoint", required_argument, NULL, 's'}, /* stop only */
        {"drain", no_argument, NULL, 'd'},
        {0},
    };
    struct option longs[RILL_ARRAY_LEN(all)];
    memcpy(longs, all, sizeof all);
    if (!stop)
        longs[3] = (struct option){0};
    char **av = rill__cli_getopt_begin(argc, argv);
    int c, status = 0;
    while (status == 0 &&
           (c = getopt_long(argc + 1, av, stop ? "-:hm:s:d" : "-:hm:", longs, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(usage_remote, stdout);
            free(av);
            return 0;
        case 'm':
            addr = optarg;
            break;
        case SECRET_FILE:
            out->secret_file = optarg;
            break;
        case 's':
            out->dir = optarg;
            break;
        case 'd':
            out->drain = true;
            break;
        case 1:
            if (n_pos < 2)
                pos[n_pos++] = optarg;
            else
                status = usage_error("%s: unexpected argument '%s'", cmd, optarg);
            break;
        default: { /* '?', ':' */
            char msg[256];
            rill__cli_getopt_problem(av, c, msg, sizeof msg);
            status = usage_error("%s: %s", cmd, msg);
        }
        }
    }
    for (int i = rill__cli_getopt_index(); status == 0 && i < argc; i++) /* after "--" */
        if (n_pos < 2)
            pos[n_pos++] = argv[i];
        else
            status = usage_error("%s: unexpected argument '%s'", cmd, argv[i]);
    free(av);
    if (status)
        return status;
    int max_pos = which == RILL_REMOTE_LIST ? 0 : which == RILL_REMOTE_SAVEPOINT ? 2 : 1;
    if (n_pos > max_pos)
        return usage_error("%s: unexpected argument '%s'", cmd, pos[max_pos]);
    if (which != RILL_REMOTE_LIST && n_pos == 0)
        return usage_error("%s: which job? (give its id or name; `rill list` shows them)", cmd);
    if (which != RILL_REMOTE_LIST && !*pos[0])
        return usage_error("%s: the job's id or name is empty", cmd);
    remote r;
    if (parse_addr(addr, &r) != 0)
        return usage_error("bad JobManager address '%s' (want HOST:PORT)", addr);
    out->addr = addr;
    memcpy(out->host, r.host, sizeof out->host);
    out->port = r.port;
    out->job = pos[0];
    if (which == RILL_REMOTE_SAVEPOINT)
        out->dir = pos[1];
    if (!out->dir)
        out->dir = "./savepoints";
    out->go_on = true;
    return 0;
}

int rill__cli_remote(const char *cmd, int argc, char **argv)
{
    rill__remote_cmd c;
    int status = rill__cli_remote_parse(cmd, argc, argv, &c);
    if (!c.go_on)
        return status;
    remote r = {.port = c.port, .addr = c.addr};
    memcpy(r.host, c.host, sizeof r.host);
    if (set_auth(&r, c.secret_file))
        return 2;
    const char *method = "GET";
    char *seg = c.job ? path_segment(c.job) : NULL, *path, *body = NULL;
    int total_ms = REQUEST_MS;
    switch (c.which) {
    case RILL_REMOTE_LIST:
        path = rill__xstrdup("/jobs");
        break;
    case RILL_REMOTE_SAVEPOINT:
    case RILL_REMOTE_STOP: {
        bool stop = c.which == RILL_REMOTE_STOP;
        method = "POST";
        path = rill__xasprintf("/jobs/%s/%s", seg, stop ? "stop" : "savepoints");
        body = savepoint_body(c.dir, stop, c.drain);
        if (!body) {
            free(path);
            free(seg);
            return 2;
        }
        total_ms = SAVEPOINT_MS;
        break;
    }
    case RILL_REMOTE_CANCEL:
        method = "PATCH";
        path = rill__xasprintf("/jobs/%s?mode=cancel", seg);
        break;
    default: /* RILL_REMOTE_CHECKPOINTS */
        path = rill__xasprintf("/jobs/%s/checkpoints", seg);
        break;
    }
    rill__http_resp resp;
    status = 1;
    if (request(&r, method, path, "application/json", body, body ? strlen(body) : 0, total_ms,
                false, &resp) == 0) {
        status = rill__cli_remote_answer(&c, &resp);
        free(resp.body);
    }
    free(body);
    free(path);
    free(seg);
    return status;
}

int rill__cli_remote_answer(const rill__remote_cmd *c, const rill__http_resp *resp)
{
    switch (c->which) {
    case RILL_REMOTE_LIST:
        return show_list(c->addr, resp);
    case RILL_REMOTE_SAVEPOINT:
    case RILL_REMOTE_STOP:
        return show_savepoint(c->addr, c->job, c->which == RILL_REMOTE_STOP, resp);
    case RILL_REMOTE_CANCEL:
        return show_cancel(c->addr, c->job, resp);
    case RILL_REMOTE_CHECKPOINTS:
        return show_checkpoints(c->addr, resp);
    }
    return 2;
}

/* ---- rill run -m: submit a job object to a JobManager process ---------------------------- */

#define UPLOAD_MS  600000 /* up to 256 MiB over a slow link */
#define POLL_MS    500
#define POLL_FAILS 20 /* polls in a row the JobManager may miss before we give up */

static volatile sig_atomic_t run_interrupted;

static void on_run_interrupt(int sig)
{
    (void)sig;
    run_interrupted = 1;
}

/* Sleeps ms unless Ctrl-C comes first. */
static void nap(int ms)
{
    for (int slept = 0; slept < ms && !run_interrupted; slept += 50) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* The job is still running on the cluster: say so and how to cancel it. */
static int detach_notice(const rill__remote_run *rr, const char *job_id)
{
    fprintf(stderr,
            "\nrill: job %s keeps running on the cluster; cancel it with\n  rill cancel %s -m ",
            job_id, job_id);
    print_safe(stderr, rr->jobmanager);
    if (rr->secret_file) {
        fputs(" --secret-file ", stderr);
        print_safe(stderr, rr->secret_file);
    }
    fputc('\n', stderr);
    return 130;
}

/* Polls GET /jobs/<id> until the job ends: 0 FINISHED, 1 otherwise, 130 on Ctrl-C. */
static int follow_job(const remote *r, const rill__remote_run *rr, const char *job_id)
{
    char *path = rill__xasprintf("/jobs/%s", job_id);
    char last[32] = "";
    int fails = 0, status = -1;
    while (status < 0) {
        if (run_interrupted) {
            status = detach_notice(rr, job_id);
            break;
        }
        json_t *doc;
        if (call_body(r, "GET", path, NULL, NULL, 0, REQUEST_MS, true, &doc) != 0) {
            if (run_interrupted)
                continue;
            if (++fails == POLL_FAILS) {
                fprintf(stderr,
                        "rill: the JobManager at %s has not answered about job %s for %d s; "
                        "its state is unknown (`rill list -m %s`)\n",
                        r->addr, job_id, POLL_FAILS * POLL_MS / 1000, r->addr);
                status = 1;
                break;
            }
            nap(POLL_MS);
            continue;
        }
        fails = 0;
        const char *state = jv_text(doc, "state");
        if (strcmp(state, last) != 0) {
            snprintf(last, sizeof last, "%s", state);
            fprintf(stderr, "rill: job %s: ", job_id);
            print_safe(stderr, state);
            fputc('\n', stderr);
        }
        if (!strcmp(state, "FINISHED")) {
            status = 0;
        } else if (!strcmp(state, "FAILED") || !strcmp(state, "CANCELED")) {
            const json_t *e = json_object_get(doc, "error");
            if (json_is_string(e) && *json_string_value(e)) {
                fprintf(stderr, "rill: job %s failed: ", job_id);
                print_safe(stderr, json_string_value(e));
                fputc('\n', stderr);
            }
            status = 1;
        }
        json_decref(doc);
        if (status < 0)
            nap(POLL_MS);
    }
    free(path);
    return status;
}

/* The body of POST /jars/<id>/run, malloc'd; NULL when a string in it is not UTF-8 (said on
 * stderr). An option given twice counts once, as its last value (as `rill run` applies them in
 * order locally). */
static char *run_body_json(const rill__remote_run *rr)
{
    json_t *doc = json_object(), *args = json_array(), *opts = json_object(), *v;
    jset(doc, "programArgsList", args);
    jset(doc, "options", opts);
    for (size_t i = 0; i < rr->n_args; i++) {
        if (!(v = jstr_or_null(rr->args[i]))) {
            fprintf(stderr,
                    "rill: job argument %zu is not UTF-8 text (the REST API carries "
                    "JSON)\n",
                    i + 1);
            goto bad;
        }
        json_array_append_new(args, v);
    }
    for (size_t i = 0; i < rr->n_opts; i++) {         /* a later value replaces an earlier one */
        if (!(v = jstr_or_null(rr->opt_values[i]))) { /* the keys are rill run's, ASCII */
            fprintf(stderr, "rill: option %s's value is not UTF-8 text\n", rr->opt_keys[i]);
            goto bad;
        }
        json_object_del(opts, rr->opt_keys[i]); /* keeps the order of the last one */
        jset(opts, rr->opt_keys[i], v);
    }
    if (rr->name) {
        if (!(v = jstr_or_null(rr->name))) {
            fprintf(stderr, "rill: the job's name is not UTF-8 text\n");
            goto bad;
        }
        jset(doc, "name", v);
    }
    return jdump(doc);
bad:
    json_decref(doc);
    return NULL;
}

int rill__cli_run_remote(const rill__remote_run *rr)
{
    remote r;
    if (parse_addr(rr->jobmanager, &r) != 0) {
        fprintf(stderr, "rill: bad JobManager address '%s' (want HOST:PORT)\n", rr->jobmanager);
        return 2;
    }
    if (set_auth(&r, rr->secret_file))
        return 2;
    char *data = NULL;
    size_t len = 0;
    int rc = rill__read_file(rr->job_path, RILL_JAR_SIZE_MAX, &data, &len);
    if (rc) {
        if (rc == RILL_ELIMIT)
            fprintf(stderr, "rill: job '%s' is larger than %u bytes\n", rr->job_path,
                    RILL_JAR_SIZE_MAX);
        else
            fprintf(stderr, "rill: cannot read job '%s': %s\n", rr->job_path, rill_strerror(rc));
        return 1;
    }
    json_t *doc;
    rc = call_body(&r, "POST", "/jars/upload", "application/octet-stream", data, len, UPLOAD_MS,
                   false, &doc);
    free(data);
    if (rc)
        return 1;
    char jar_id[RILL_JAR_ID_MAX + 1];
    const char *fn = jv_text(doc, "filename");
    /* the id goes into the next request's path: only the form the JobManager generates */
    size_t fn_len = strspn(fn, "0123456789abcdef.so");
    if (fn_len == 0 || fn_len != strlen(fn) || fn_len > RILL_JAR_ID_MAX) {
        fprintf(stderr, "rill: the JobManager at %s answered the upload without a usable id\n",
                r.addr);
        json_decref(doc);
        return 1;
    }
    snprintf(jar_id, sizeof jar_id, "%s", fn);
    json_decref(doc);

    char *path = rill__xasprintf("/jars/%s/run", jar_id);
    char *body = run_body_json(rr);
    rc = body ? call(&r, "POST", path, body, REQUEST_MS, &doc) : 1;
    free(body);
    free(path);
    if (rc) { /* nothing runs it: do not leave it stored */
        path = rill__xasprintf("/jars/%s", jar_id);
        if (call_body(&r, "DELETE", path, NULL, NULL, 0, REQUEST_MS, true, &doc) == 0)
            json_decref(doc);
        free(path);
        return 1;
    }
    char job_id[32];
    const char *jid = jv_text(doc, "jobid");
    if (strspn(jid, "0123456789") != strlen(jid) || !*jid || strlen(jid) >= sizeof job_id) {
        fprintf(stderr, "rill: the JobManager at %s answered the run without a job id\n", r.addr);
        json_decref(doc);
        return 1;
    }
    snprintf(job_id, sizeof job_id, "%s", jid);
    json_decref(doc);
    printf("rill-job id=%s\n", job_id);
    fflush(stdout);
    if (rr->detached)
        return 0;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_run_interrupt; /* no SA_RESTART: a wait ends at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return follow_job(&r, rr, job_id);
}
