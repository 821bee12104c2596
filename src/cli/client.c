/*
 * client.c - cli layer: `rill list|savepoint|stop|cancel|checkpoints`, which ask a running
 * JobManager through its REST API, over a minimal HTTP/1.1 client (one request per connection)
 * and a small JSON reader for the answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

/* ---- HTTP client ------------------------------------------------------------------------ */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for events on fd until deadline: 0 ready, -1 with errno (ETIMEDOUT). */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)RILL_MIN(left, 1000000));
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

/* A connected socket to host:port, or -1 with errno (or *gai_rc for a name that does not
 * resolve). */
static int dial(const char *host, int port, int connect_ms, int *gai_rc)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
    char serv[16];
    snprintf(serv, sizeof serv, "%d", port);
    *gai_rc = getaddrinfo(host, serv, &hints, &res);
    if (*gai_rc)
        return -1;
    int fd = -1, saved = ECONNREFUSED;
    int64_t deadline = mono_ms() + connect_ms;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0) {
            int e = 0;
            socklen_t len = sizeof e;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
            rc = e ? -1 : 0;
            errno = e;
        }
        if (rc == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        errno = saved;
    return fd;
}

/* A hexadecimal digit's value, or -1. */
static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Decodes a chunked body in place: each chunk a hexadecimal size, extensions after ';' (ignored),
 * CRLF, the data and CRLF; size 0 ends it (trailers ignored). Its new length, or -1 when
 * malformed. */
static long dechunk(char *p, size_t n)
{
    size_t in = 0, out = 0;
    for (;;) {
        size_t size = 0, digits = 0;
        for (int d; in < n && (d = hex_digit(p[in])) >= 0; in++) {
            if (++digits > 15) /* beyond any size we could hold */
                return -1;
            size = size << 4 | (size_t)d;
        }
        char *eol = in < n ? memchr(p + in, '\n', n - in) : NULL;
        if (digits == 0 || !eol || (p[in] != ';' && p + in + 1 != eol) ||
            (p[in] != ';' && p[in] != '\r'))
            return -1;
        in = (size_t)(eol - p) + 1;
        if (size == 0)
            return (long)out;
        if (size > n - in || n - in - size < 2 || p[in + size] != '\r' || p[in + size + 1] != '\n')
            return -1;
        memmove(p + out, p + in, size);
        out += size;
        in += size + 2;
    }
}

/* Case-insensitive: does header line h (ending at end) have name `name`? Its value, or NULL. */
static const char *header_value(const char *h, const char *end, const char *name)
{
    size_t n = strlen(name);
    if ((size_t)(end - h) <= n || strncasecmp(h, name, n) != 0 || h[n] != ':')
        return NULL;
    h += n + 1;
    while (h < end && (*h == ' ' || *h == '\t'))
        h++;
    return h;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The three digits of "HTTP/1.x SSS reason" (the reason may be empty), or -1. */
static int status_code(const char *p, const char *line_end)
{
    if (line_end - p < 12 || strncmp(p, "HTTP/1.", 7) != 0 || !is_digit(p[7]) || p[8] != ' ')
        return -1;
    int status = 0;
    for (int i = 9; i < 12; i++) {
        if (!is_digit(p[i]))
            return -1;
        status = status * 10 + (p[i] - '0');
    }
    return p + 12 == line_end || p[12] == ' ' ? status : -1;
}

/* A Content-Length value (v up to eol): its digits, then nothing but spaces; -1 otherwise. */
static long content_length_of(const char *v, const char *eol)
{
    long n = 0;
    const char *d = v;
    for (; d < eol && is_digit(*d); d++) {
        if (n > (LONG_MAX - 9) / 10)
            return -1;
        n = n * 10 + (*d - '0');
    }
    while (d < eol && (*d == ' ' || *d == '\t'))
        d++;
    return d == v || d != eol ? -1 : n;
}

int rill__http_parse_response(char *data, size_t len, rill__http_resp *out, char *why,
                              size_t why_size)
{
    memset(out, 0, sizeof *out);
    const char *p = data, *end = p + len;
    const char *hdr_end = strstr(p, "\r\n\r\n");
    if (!hdr_end) {
        snprintf(why, why_size, "malformed HTTP response: no end of its headers");
        return -1;
    }
    const char *line_end = strstr(p, "\r\n");
    int status = status_code(p, line_end);
    if (status < 100 || status > 599) {
        snprintf(why, why_size, "malformed HTTP status line '%.*s'",
                 (int)RILL_MIN(line_end - p, 40), p);
        return -1;
    }
    long content_length = -1;
    bool chunked = false;
    for (const char *h = line_end + 2; h < hdr_end;) {
        const char *eol = strstr(h, "\r\n");
        const char *v;
        if ((v = header_value(h, eol, "Content-Length"))) {
            long n = content_length_of(v, eol);
            if (n < 0 || (content_length >= 0 && n != content_length)) {
                snprintf(why, why_size, "malformed Content-Length '%.*s'",
                         (int)RILL_MIN(eol - v, 40), v);
                return -1;
            }
            content_length = n;
        } else if ((v = header_value(h, eol, "Transfer-Encoding"))) {
            chunked = !strncasecmp(v, "chunked", 7);
        }
        h = eol + 2;
    }
    size_t body_off = (size_t)(hdr_end + 4 - p), body_len = (size_t)(end - (hdr_end + 4));
    if (chunked) {
        long n = dechunk(data + body_off, body_len);
        if (n < 0) {
            snprintf(why, why_size, "malformed chunked response");
            return -1;
        }
        body_len = (size_t)n;
    } else if (content_length >= 0) {
        if ((size_t)content_length > body_len) {
            snprintf(why, why_size, "the response was cut short");
            return -1;
        }
        body_len = (size_t)content_length;
    }
    out->status = status;
    out->body = rill__xstrndup(data + body_off, body_len);
    out->body_len = body_len;
    return 0;
}

int rill__http_request(const char *host, int port, const char *method, const char *path,
                       const char *body, const char *auth, int connect_ms, int total_ms,
                       rill__http_resp *out, char *why, size_t why_size, int *malformed)
{
    return rill__http_request_body(host, port, method, path, body ? "application/json" : NULL, body,
                                   body ? strlen(body) : 0, auth, connect_ms, total_ms, out, why,
                                   why_size, malformed);
}

int rill__http_request_body(const char *host, int port, const char *method, const char *path,
                            const char *content_type, const void *body, size_t req_body_len,
                            const char *auth, int connect_ms, int total_ms, rill__http_resp *out,
                            char *why, size_t why_size, int *malformed)
{
    memset(out, 0, sizeof *out);
    *malformed = 0;
    /* what goes into the request line and headers: no CR/LF (no injected header), no space */
    const char *const parts[] = {host, path, method};
    for (size_t i = 0; i < RILL_ARRAY_LEN(parts); i++)
        if (!rill__http_header_value_ok(parts[i]) || strpbrk(parts[i], " \t")) {
            snprintf(why, why_size, "refusing to send a %s with a space or control character",
                     i == 0   ? "host"
                     : i == 1 ? "path"
                              : "method");
            return -1;
        }
    if (auth && !rill__http_header_value_ok(auth)) {
        snprintf(why, why_size, "refusing to send an Authorization value with a control character");
        return -1;
    }
    if (body && (!content_type || !rill__http_header_value_ok(content_type))) {
        snprintf(why, why_size, "refusing to send a Content-Type with a control character");
        return -1;
    }
    int gai_rc = 0;
    int fd = dial(host, port, connect_ms, &gai_rc);
    if (fd < 0) {
        snprintf(why, why_size, "%s", gai_rc ? gai_strerror(gai_rc) : strerror(errno));
        return -1;
    }
    int64_t deadline = mono_ms() + total_ms;
    rill__buf req = {0}, resp = {0};
    int rc = -1;
    bool v6 = strchr(host, ':') != NULL;
    rill__buf_printf(&req,
                     "%s %s HTTP/1.1\r\nHost: %s%s%s:%d\r\nUser-Agent: rill/%s\r\n"
                     "Accept: application/json\r\nConnection: close\r\n",
                     method, path, v6 ? "[" : "", host, v6 ? "]" : "", port, RILL_VERSION_STRING);
    if (auth)
        rill__buf_printf(&req, "Authorization: %s\r\n", auth);
    if (body)
        rill__buf_printf(&req, "Content-Type: %s\r\nContent-Length: %zu\r\n", content_type,
                         req_body_len);
    else if (strcmp(method, "GET") != 0)
        rill__buf_printf(&req, "Content-Length: 0\r\n");
    rill__buf_append(&req, "\r\n", 2);
    if (body)
        rill__buf_append(&req, body, req_body_len);

    for (size_t off = 0; off < req.len;) {
        if (wait_fd(fd, POLLOUT, deadline) != 0)
            goto io_error;
        ssize_t w = send(fd, req.data + off, req.len - off, MSG_NOSIGNAL);
        if (w < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (w < 0)
            goto io_error;
        off += (size_t)w;
    }
    for (;;) {
        if (wait_fd(fd, POLLIN, deadline) != 0)
            goto io_error;
        rill__buf_reserve(&resp, 16384);
        ssize_t r = recv(fd, resp.data + resp.len, resp.cap - resp.len, 0);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r < 0)
            goto io_error;
        if (r == 0)
            break;
        resp.len += (size_t)r;
        if (resp.len > MAX_RESPONSE) {
            snprintf(why, why_size, "response larger than %d bytes", MAX_RESPONSE);
            *malformed = 1;
            goto out;
        }
    }

    rill__buf_cstr(&resp);
    if (rill__http_parse_response(resp.data, resp.len, out, why, why_size) != 0) {
        *malformed = 1;
        goto out;
    }
    rc = 0;
    goto out;
io_error:
    snprintf(why, why_size, "%s", strerror(errno));
out:
    close(fd);
    rill__buf_free(&req);
    rill__buf_free(&resp);
    return rc;
}

/* ---- JSON reader (the answers of the REST API) ------------------------------------------ */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jv {
    jtype type;
    char *s;          /* J_STR: the text; J_NUM: the number as written; J_BOOL: "true"/"false" */
    struct jv *items; /* J_ARR, J_OBJ */
    char **keys;      /* J_OBJ */
    size_t n;
} jv;

static void jv_free(jv *v)
{
    for (size_t i = 0; i < v->n; i++) {
        jv_free(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->s);
    memset(v, 0, sizeof *v);
}

typedef struct jp {
    const char *p;
    int depth;
} jp;

static void jp_ws(jp *in)
{
    while (*in->p == ' ' || *in->p == '\t' || *in->p == '\n' || *in->p == '\r')
        in->p++;
}

static int jp_hex4(const char *p, unsigned *cp)
{
    *cp = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(p[i]);
        if (d < 0)
            return -1;
        *cp = *cp << 4 | (unsigned)d;
    }
    return 0;
}

static char *jp_str(jp *in)
{
    if (*in->p != '"')
        return NULL;
    in->p++;
    rill__buf b = {0};
    for (;;) {
        unsigned char c = (unsigned char)*in->p++;
        if (c == '"')
            break;
        if (c == 0)
            goto bad;
        if (c != '\\') {
            rill__buf_putc(&b, (char)c);
            continue;
        }
        char e = *in->p++;
        unsigned cp;
        switch (e) {
        case 'n':
            rill__buf_putc(&b, '\n');
            break;
        case 't':
            rill__buf_putc(&b, '\t');
            break;
        case 'r':
            rill__buf_putc(&b, '\r');
            break;
        case 'b':
            rill__buf_putc(&b, '\b');
            break;
        case 'f':
            rill__buf_putc(&b, '\f');
            break;
        case '"':
        case '\\':
        case '/':
            rill__buf_putc(&b, e);
            break;
        case 'u':
            if (jp_hex4(in->p, &cp) != 0)
                goto bad;
            in->p += 4;
            if (cp >= 0xd800 && cp <= 0xdbff && in->p[0] == '\\' && in->p[1] == 'u') {
                unsigned lo;
                if (jp_hex4(in->p + 2, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    in->p += 6;
                }
            }
            if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
                cp = '?'; /* shown, not kept: a terminal gets no NUL or lone surrogate */
            if (cp < 0x80) {
                rill__buf_putc(&b, (char)cp);
            } else if (cp < 0x800) {
                rill__buf_putc(&b, (char)(0xc0 | cp >> 6));
                rill__buf_putc(&b, (char)(0x80 | (cp & 0x3f)));
            } else if (cp < 0x10000) {
                rill__buf_putc(&b, (char)(0xe0 | cp >> 12));
                rill__buf_putc(&b, (char)(0x80 | (cp >> 6 & 0x3f)));
                rill__buf_putc(&b, (char)(0x80 | (cp & 0x3f)));
            } else {
                rill__buf_putc(&b, (char)(0xf0 | cp >> 18));
                rill__buf_putc(&b, (char)(0x80 | (cp >> 12 & 0x3f)));
                rill__buf_putc(&b, (char)(0x80 | (cp >> 6 & 0x3f)));
                rill__buf_putc(&b, (char)(0x80 | (cp & 0x3f)));
            }
            break;
        default:
            goto bad;
        }
    }
    rill__buf_cstr(&b);
    if (!b.data)
        return rill__xstrdup("");
    return b.data;
bad:
    rill__buf_free(&b);
    return NULL;
}

static int jp_value(jp *in, jv *v)
{
    memset(v, 0, sizeof *v);
    jp_ws(in);
    char c = *in->p;
    if (c == '"') {
        v->type = J_STR;
        return (v->s = jp_str(in)) ? 0 : -1;
    }
    if (c == '{' || c == '[') {
        if (++in->depth > 32)
            return -1;
        bool obj = c == '{';
        v->type = obj ? J_OBJ : J_ARR;
        in->p++;
        jp_ws(in);
        if (*in->p == (obj ? '}' : ']')) {
            in->p++;
            in->depth--;
            return 0;
        }
        size_t cap = 0;
        for (;;) {
            rill__grow((void **)&v->items, &cap, v->n + 1, sizeof *v->items);
            if (obj) {
                v->keys = rill__xrealloc(v->keys, cap * sizeof *v->keys);
                jp_ws(in);
                char *k = jp_str(in);
                if (!k)
                    return -1;
                jp_ws(in);
                if (*in->p++ != ':') {
                    free(k);
                    return -1;
                }
                v->keys[v->n] = k;
            }
            if (jp_value(in, &v->items[v->n]) != 0) {
                v->n++; /* freed with the rest */
                return -1;
            }
            v->n++;
            jp_ws(in);
            if (*in->p == ',') {
                in->p++;
                continue;
            }
            if (*in->p++ != (obj ? '}' : ']'))
                return -1;
            in->depth--;
            return 0;
        }
    }
    const char *start = in->p;
    if (!strncmp(in->p, "true", 4) || !strncmp(in->p, "null", 4))
        in->p += 4;
    else if (!strncmp(in->p, "false", 5))
        in->p += 5;
    else
        while (*in->p == '-' || *in->p == '+' || *in->p == '.' || *in->p == 'e' || *in->p == 'E' ||
               (*in->p >= '0' && *in->p <= '9'))
            in->p++;
    if (in->p == start)
        return -1;
    v->type = *start == 'n' ? J_NULL : (*start == 't' || *start == 'f') ? J_BOOL : J_NUM;
    v->s = rill__xstrndup(start, (size_t)(in->p - start));
    return 0;
}

/* Parses text as one JSON value. 0 or -1 (*v then empty). */
static int jv_parse(const char *text, jv *v)
{
    jp in = {text, 0};
    if (jp_value(&in, v) != 0) {
        jv_free(v);
        return -1;
    }
    jp_ws(&in);
    if (*in.p) {
        jv_free(v);
        return -1;
    }
    return 0;
}

static const jv *jv_get(const jv *o, const char *key)
{
    if (!o || o->type != J_OBJ)
        return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->keys[i], key))
            return &o->items[i];
    return NULL;
}

/* A scalar member as text ("-" when missing or not a scalar). Borrowed from o. */
static const char *jv_text(const jv *o, const char *key)
{
    const jv *v = jv_get(o, key);
    return v && v->s ? v->s : "-";
}

static int64_t jv_int(const jv *o, const char *key)
{
    const jv *v = jv_get(o, key);
    return v && v->type == J_NUM ? strtoll(v->s, NULL, 10) : 0;
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

/* s as a JSON string literal. */
static void json_quote(rill__buf *b, const char *s)
{
    rill__buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            rill__buf_printf(b, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            rill__buf_printf(b, "\\u%04x", *p);
        else
            rill__buf_putc(b, (char)*p);
    }
    rill__buf_putc(b, '"');
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
static int answer(const char *addr, const rill__http_resp *resp, bool quiet, jv *doc)
{
    memset(doc, 0, sizeof *doc);
    int parsed = jv_parse(resp->body, doc);
    int rc = 0;
    if (quiet && (resp->status < 200 || resp->status > 299 || parsed != 0 || doc->type != J_OBJ)) {
        rc = 1;
    } else if (resp->status < 200 || resp->status > 299) {
        const jv *errs = parsed == 0 ? jv_get(doc, "errors") : NULL;
        if (errs && errs->type == J_ARR && errs->n > 0 && errs->items[0].type == J_STR) {
            fputs("rill: ", stderr);
            print_safe(stderr, errs->items[0].s);
            fputc('\n', stderr);
        } else {
            fprintf(stderr, "rill: the JobManager at %s answered HTTP %d\n", addr, resp->status);
        }
        rc = 1;
    } else if (parsed != 0 || doc->type != J_OBJ) {
        fprintf(stderr, "rill: the JobManager at %s answered with malformed JSON\n", addr);
        rc = 1;
    }
    if (rc)
        jv_free(doc);
    return rc;
}

/* request() and answer(): 0 with *doc, or 1 with the reason printed (unless quiet). */
static int call_body(const remote *r, const char *method, const char *path, const char *ctype,
                     const void *body, size_t body_len, int total_ms, bool quiet, jv *doc)
{
    rill__http_resp resp;
    memset(doc, 0, sizeof *doc);
    if (request(r, method, path, ctype, body, body_len, total_ms, quiet, &resp))
        return 1;
    int rc = answer(r->addr, &resp, quiet, doc);
    free(resp.body);
    return rc;
}

static int call(const remote *r, const char *method, const char *path, const char *body,
                int total_ms, jv *doc)
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
    jv doc;
    if (answer(addr, resp, false, &doc))
        return 1;
    const jv *jobs = jv_get(&doc, "jobs");
    if (!jobs || jobs->type != J_ARR) {
        fprintf(stderr, "rill: the JobManager at %s answered without a job list\n", addr);
        jv_free(&doc);
        return 1;
    }
    if (jobs->n == 0) {
        printf("no jobs\n");
        jv_free(&doc);
        return 0;
    }
    table t = {.n_cols = 5};
    table_add(&t, (const char *const[]){"ID", "NAME", "STATE", "RESTARTS", "LAST CHECKPOINT"});
    for (size_t i = 0; i < jobs->n; i++) {
        const jv *j = &jobs->items[i];
        const char *last = jv_text(j, "last-checkpoint");
        table_add(&t,
                  (const char *const[]){jv_text(j, "id"), jv_text(j, "name"), jv_text(j, "state"),
                                        jv_text(j, "restarts"), !strcmp(last, "0") ? "-" : last});
    }
    table_print(&t);
    jv_free(&doc);
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
    jv doc;
    if (answer(addr, resp, false, &doc))
        return 1;
    const jv *cks = jv_get(&doc, "checkpoints");
    if (!cks || cks->type != J_ARR || cks->n == 0) {
        printf("no checkpoints yet\n");
        jv_free(&doc);
        return 0;
    }
    /* SIZE: what the checkpoint wrote; FULL SIZE: all it needs (incremental checkpoints share
     * unchanged state files with earlier ones) */
    table t = {.n_cols = 8};
    table_add(&t, (const char *const[]){"ID", "STATUS", "TRIGGERED (UTC)", "DURATION", "ALIGNMENT",
                                        "SIZE", "FULL SIZE", "REASON"});
    for (size_t i = 0; i < cks->n; i++) {
        const jv *c = &cks->items[i];
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
    const jv *st = jv_get(&doc, "state");
    if (st && st->type == J_ARR && st->n > 0) {
        printf("\nkeyed state at the newest completed checkpoint:\n");
        table s = {.n_cols = 5};
        table_add(&s, (const char *const[]){"OPERATOR", "SUBTASKS", "KEYS", "MEMORY", "DISK"});
        for (size_t i = 0; i < st->n; i++) {
            const jv *o = &st->items[i];
            char keys[32], mem[32], disk[32];
            snprintf(keys, sizeof keys, "%lld", (long long)jv_int(o, "keys"));
            human_bytes(mem, sizeof mem, jv_int(o, "memory-bytes"));
            human_bytes(disk, sizeof disk, jv_int(o, "disk-bytes"));
            table_add(&s, (const char *const[]){jv_text(o, "operator"), jv_text(o, "subtasks"),
                                                keys, mem, disk});
        }
        table_print(&s);
    }
    jv_free(&doc);
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

/* The body of POST /jobs/<job>/savepoints (stop: /stop), malloc'd. */
static char *savepoint_body(const char *dir, bool stop, bool drain)
{
    char *abs = absolute(dir);
    rill__buf body = {0};
    rill__buf_printf(&body, "{\"%s\":", stop ? "targetDirectory" : "target-directory");
    json_quote(&body, abs);
    if (drain)
        rill__buf_printf(&body, ",\"drain\":true");
    rill__buf_putc(&body, '}');
    free(abs);
    rill__buf_cstr(&body);
    return body.data;
}

/* `rill savepoint` and `rill stop`: where the answer says the savepoint went. */
static int show_savepoint(const char *addr, const char *job, bool stop, const rill__http_resp *resp)
{
    jv doc;
    if (answer(addr, resp, false, &doc))
        return 1;
    printf("savepoint written: ");
    print_safe(stdout, jv_text(&doc, "location"));
    putchar('\n');
    if (stop) {
        printf("job '");
        print_safe(stdout, job);
        printf("' stopped\n");
    }
    jv_free(&doc);
    return 0;
}

/* `rill cancel`: the answer to PATCH /jobs/<job>?mode=cancel. */
static int show_cancel(const char *addr, const char *job, const rill__http_resp *resp)
{
    jv doc;
    if (answer(addr, resp, false, &doc))
        return 1;
    printf("cancel requested for job '");
    print_safe(stdout, job);
    printf("'\n");
    jv_free(&doc);
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
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_remote, stdout);
            return 0;
        }
        if (!strcmp(a, "-m") || !strcmp(a, "--jobmanager")) {
            if (++i >= argc)
                return usage_error("option %s needs HOST:PORT", a);
            addr = argv[i];
        } else if (!strcmp(a, "--secret-file")) {
            if (++i >= argc)
                return usage_error("option %s needs a file", a);
            out->secret_file = argv[i];
        } else if (which == RILL_REMOTE_STOP && (!strcmp(a, "-s") || !strcmp(a, "--savepoint"))) {
            if (++i >= argc)
                return usage_error("option %s needs a directory", a);
            out->dir = argv[i];
        } else if (which == RILL_REMOTE_STOP && (!strcmp(a, "-d") || !strcmp(a, "--drain"))) {
            out->drain = true;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("%s: unknown option '%s'", cmd, a);
        } else if (n_pos < 2) {
            pos[n_pos++] = a;
        } else {
            return usage_error("%s: unexpected argument '%s'", cmd, a);
        }
    }
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
        jv doc;
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
        const char *state = jv_text(&doc, "state");
        if (strcmp(state, last) != 0) {
            snprintf(last, sizeof last, "%s", state);
            fprintf(stderr, "rill: job %s: ", job_id);
            print_safe(stderr, state);
            fputc('\n', stderr);
        }
        if (!strcmp(state, "FINISHED")) {
            status = 0;
        } else if (!strcmp(state, "FAILED") || !strcmp(state, "CANCELED")) {
            const jv *e = jv_get(&doc, "error");
            if (e && e->type == J_STR && *e->s) {
                fprintf(stderr, "rill: job %s failed: ", job_id);
                print_safe(stderr, e->s);
                fputc('\n', stderr);
            }
            status = 1;
        }
        jv_free(&doc);
        if (status < 0)
            nap(POLL_MS);
    }
    free(path);
    return status;
}

/* The body of POST /jars/<id>/run. An option given twice counts once, as its last value (as
 * `rill run` applies them in order locally). */
static char *run_body_json(const rill__remote_run *rr)
{
    rill__buf b = {0};
    rill__buf_append(&b, "{\"programArgsList\":[", 20);
    for (size_t i = 0; i < rr->n_args; i++) {
        if (i)
            rill__buf_putc(&b, ',');
        json_quote(&b, rr->args[i]);
    }
    rill__buf_append(&b, "],\"options\":{", 13);
    bool first = true;
    for (size_t i = 0; i < rr->n_opts; i++) {
        bool later = false;
        for (size_t k = i + 1; k < rr->n_opts && !later; k++)
            later = !strcmp(rr->opt_keys[i], rr->opt_keys[k]);
        if (later)
            continue;
        if (!first)
            rill__buf_putc(&b, ',');
        first = false;
        json_quote(&b, rr->opt_keys[i]);
        rill__buf_putc(&b, ':');
        json_quote(&b, rr->opt_values[i]);
    }
    rill__buf_putc(&b, '}');
    if (rr->name) {
        rill__buf_append(&b, ",\"name\":", 8);
        json_quote(&b, rr->name);
    }
    rill__buf_putc(&b, '}');
    rill__buf_cstr(&b);
    return b.data;
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
    jv doc;
    rc = call_body(&r, "POST", "/jars/upload", "application/octet-stream", data, len, UPLOAD_MS,
                   false, &doc);
    free(data);
    if (rc)
        return 1;
    char jar_id[RILL_JAR_ID_MAX + 1];
    const char *fn = jv_text(&doc, "filename");
    /* the id goes into the next request's path: only the form the JobManager generates */
    size_t fn_len = strspn(fn, "0123456789abcdef.so");
    if (fn_len == 0 || fn_len != strlen(fn) || fn_len > RILL_JAR_ID_MAX) {
        fprintf(stderr, "rill: the JobManager at %s answered the upload without a usable id\n",
                r.addr);
        jv_free(&doc);
        return 1;
    }
    snprintf(jar_id, sizeof jar_id, "%s", fn);
    jv_free(&doc);

    char *path = rill__xasprintf("/jars/%s/run", jar_id);
    char *body = run_body_json(rr);
    rc = call(&r, "POST", path, body, REQUEST_MS, &doc);
    free(body);
    free(path);
    if (rc) { /* nothing runs it: do not leave it stored */
        path = rill__xasprintf("/jars/%s", jar_id);
        if (call_body(&r, "DELETE", path, NULL, NULL, 0, REQUEST_MS, true, &doc) == 0)
            jv_free(&doc);
        free(path);
        return 1;
    }
    char job_id[32];
    const char *jid = jv_text(&doc, "jobid");
    if (strspn(jid, "0123456789") != strlen(jid) || !*jid || strlen(jid) >= sizeof job_id) {
        fprintf(stderr, "rill: the JobManager at %s answered the run without a job id\n", r.addr);
        jv_free(&doc);
        return 1;
    }
    snprintf(job_id, sizeof job_id, "%s", jid);
    jv_free(&doc);
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
