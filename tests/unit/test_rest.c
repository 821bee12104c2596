/*
 * test_rest.c - unit tests of the REST API (cluster layer) against a real JobManager with no
 * jobs, through a raw socket: routes, errors as JSON, size limits, path traversal probes.
 * Running jobs and savepoints are covered end to end (tests/e2e).
 *
 * Order of checks on POST /jobs/<id>/savepoints and /stop: method, then the body (400 when
 * malformed), then the job (404): a malformed request is refused whatever jobs exist.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "test.h"

typedef struct server {
    rill__jobmanager *jm;
    rill__rest *rest;
    int port;
} server;

static void server_start(server *s)
{
    rill__err err = {0};
    s->jm = rill__jm_new();
    int rc = rill__rest_start(s->jm, NULL, 0, NULL, 0, &s->rest, &err);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "rill__rest_start: %s", err.msg);
    s->port = rill__rest_port(s->rest);
    CHECK(s->port > 0);
}

static void server_stop(server *s)
{
    rill__rest_stop(s->rest);
    rill__jm_free(s->jm);
}

typedef struct reply {
    int status;
    char head[4096]; /* status line and headers */
    char *body;      /* malloc'd */
} reply;

/* Sends raw request bytes (len bytes of req) and reads the whole answer (the server closes: every
 * request says Connection: close). */
static void exchange(int port, const char *req, size_t len, reply *out)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        rill_test_fail(__FILE__, __LINE__, "connect: %s", strerror(errno));
    for (size_t off = 0; off < len;) {
        ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* the server may answer early (413) and stop reading */
        off += (size_t)w;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10000) != 1)
            rill_test_fail(__FILE__, __LINE__, "no answer within 10 s");
        if (n + 1 >= cap)
            buf = realloc(buf, cap *= 2);
        ssize_t r = recv(fd, buf + n, cap - n - 1, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    close(fd);
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep || sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1)
        rill_test_fail(__FILE__, __LINE__, "not an HTTP answer: \"%s\"", buf);
    size_t hl = (size_t)(sep - buf);
    snprintf(out->head, sizeof out->head, "%.*s", (int)RILL_MIN(hl, sizeof out->head - 1), buf);
    out->body = strdup(sep + 4);
    free(buf);
    /* every answer is JSON */
    CHECK_CONTAINS(out->head, "Content-Type: application/json");
    CHECK(out->body[0] == '{');
}

/* One request with an optional body; returns the status, *body_out malloc'd. */
static int request(int port, const char *method, const char *target, const char *body,
                   char **body_out)
{
    size_t size = 1024 + strlen(target) + (body ? strlen(body) : 0);
    char *req = malloc(size);
    int n = snprintf(req, size,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, target, body ? strlen(body) : 0, body ? body : "");
    CHECK(n > 0 && (size_t)n < size);
    reply r;
    exchange(port, req, (size_t)n, &r);
    free(req);
    *body_out = r.body;
    return r.status;
}

TEST(rest_overview_and_empty_jobs)
{
    server s;
    server_start(&s);
    char *body;
    CHECK_EQ(request(s.port, "GET", "/overview", NULL, &body), 200);
    CHECK_STR(body, "{\"jobs-running\":0,\"jobs-finished\":0,\"jobs-failed\":0,"
                    "\"jobs-canceled\":0,\"rill-version\":\"" RILL_VERSION_STRING "\"}");
    free(body);
    CHECK_EQ(request(s.port, "GET", "/jobs", NULL, &body), 200);
    CHECK_STR(body, "{\"jobs\":[]}");
    free(body);
    CHECK_EQ(request(s.port, "GET", "/jobs/", NULL, &body), 200); /* a trailing slash is fine */
    free(body);
    server_stop(&s);
}

TEST(rest_unknown_job_is_404_json)
{
    server s;
    server_start(&s);
    char *body;
    CHECK_EQ(request(s.port, "GET", "/jobs/nope", NULL, &body), 404);
    CHECK_STR(body, "{\"errors\":[\"no job 'nope'\"]}");
    free(body);
    /* the id is escaped in the message: a quote, a backslash and a control character */
    CHECK_EQ(request(s.port, "GET", "/jobs/a%22b%5Cc%01d", NULL, &body), 404);
    CHECK_STR(body, "{\"errors\":[\"no job 'a\\\"b\\\\c\\u0001d'\"]}");
    free(body);
    CHECK_EQ(request(s.port, "GET", "/jobs/7/checkpoints", NULL, &body), 404);
    CHECK_CONTAINS(body, "no job '7'");
    free(body);
    CHECK_EQ(request(s.port, "PATCH", "/jobs/7?mode=cancel", NULL, &body), 404);
    free(body);
    CHECK_EQ(request(s.port, "POST", "/jobs/7/cancel", NULL, &body), 404);
    free(body);
    CHECK_EQ(
        request(s.port, "POST", "/jobs/7/savepoints", "{\"target-directory\":\"/tmp/x\"}", &body),
        404);
    free(body);
    CHECK_EQ(request(s.port, "POST", "/jobs/7/stop", "{\"targetDirectory\":\"/tmp/x\"}", &body),
             404);
    free(body);
    /* routes that do not exist */
    const char *missing[] = {"/",      "/nope",   "/jobs/7/nope", "/jobs/7/checkpoints/1",
                             "//jobs", "/jobs//7"};
    for (size_t i = 0; i < RILL_ARRAY_LEN(missing); i++) {
        CHECK_EQ(request(s.port, "GET", missing[i], NULL, &body), 404);
        CHECK_CONTAINS(body, "\"errors\"");
        free(body);
    }
    server_stop(&s);
}

TEST(rest_path_traversal_probes)
{
    server s;
    server_start(&s);
    const char *probes[] = {
        "/jobs/..%252f..%252fetc%252fpasswd", /* decoded once: a job named "..%2f..%2f..." */
        "/jobs/..%2f..%2fetc%2fpasswd",       /* decoded once: "../../etc/passwd", many segments */
        "/jobs/../../etc/passwd",
        "/../../etc/passwd",
        "/jobs/%2e%2e/%2e%2e/etc/passwd",
        "/jobs/..%00/checkpoints",
        "/jobs/..%252f..%252fetc%252fpasswd/checkpoints",
    };
    for (size_t i = 0; i < RILL_ARRAY_LEN(probes); i++) {
        char *body;
        int status = request(s.port, "GET", probes[i], NULL, &body);
        if (status < 400 || status > 499)
            rill_test_fail(__FILE__, __LINE__, "%s: status %d", probes[i], status);
        CHECK(!strstr(body, "root:"));
        CHECK_CONTAINS(body, "\"errors\"");
        free(body);
    }
    /* exactly one decoding: %252f reaches the JobManager as "%2f", not as "/" */
    char *body;
    CHECK_EQ(request(s.port, "GET", "/jobs/..%252f..%252fetc%252fpasswd", NULL, &body), 404);
    CHECK_STR(body, "{\"errors\":[\"no job '..%2f..%2fetc%2fpasswd'\"]}");
    free(body);
    server_stop(&s);
}

TEST(rest_oversized_body_is_413)
{
    server s;
    server_start(&s);
    /* declared too large: refused before the body is read */
    const char *req = "POST /jobs/x/savepoints HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                      "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n";
    reply r;
    exchange(s.port, req, strlen(req), &r);
    CHECK_EQ(r.status, 413);
    CHECK_CONTAINS(r.body, "larger than 65536 bytes");
    free(r.body);
    /* chunked, with no length up front: read, dropped past the cap, then refused */
    size_t chunk = 16384, n_chunks = 6;
    char *big = malloc(256 + n_chunks * (chunk + 16));
    size_t len = (size_t)sprintf(big, "POST /jobs/x/savepoints HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                      "Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (size_t i = 0; i < n_chunks; i++) {
        len += (size_t)sprintf(big + len, "%zx\r\n", chunk);
        memset(big + len, 'a', chunk);
        len += chunk;
        len += (size_t)sprintf(big + len, "\r\n");
    }
    len += (size_t)sprintf(big + len, "0\r\n\r\n");
    exchange(s.port, big, len, &r);
    free(big);
    CHECK_EQ(r.status, 413);
    free(r.body);
    /* just under the cap is read whole (and is then malformed JSON) */
    size_t under = 60000;
    char *body = malloc(under + 1);
    memset(body, ' ', under);
    body[under] = '\0';
    body[0] = '[';
    char *resp;
    CHECK_EQ(request(s.port, "POST", "/jobs/x/savepoints", body, &resp), 400);
    free(resp);
    free(body);
    server_stop(&s);
}

TEST(rest_wrong_method_is_405)
{
    server s;
    server_start(&s);
    char *body;
    reply r;
    const char *req = "BREW /overview HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    exchange(s.port, req, strlen(req), &r);
    CHECK_EQ(r.status, 405);
    CHECK_CONTAINS(r.head, "Allow: GET, HEAD");
    CHECK_CONTAINS(r.body, "\"errors\"");
    free(r.body);
    CHECK_EQ(request(s.port, "DELETE", "/jobs", NULL, &body), 405);
    free(body);
    CHECK_EQ(request(s.port, "POST", "/overview", "{}", &body), 405);
    free(body);
    CHECK_EQ(request(s.port, "GET", "/jobs/x/savepoints", NULL, &body), 405);
    free(body);
    CHECK_EQ(request(s.port, "PUT", "/jobs/x", NULL, &body), 405);
    free(body);
    CHECK_EQ(request(s.port, "POST", "/jobs/x/checkpoints", "{}", &body), 405);
    free(body);
    /* PATCH needs ?mode=cancel */
    CHECK_EQ(request(s.port, "PATCH", "/jobs/x", NULL, &body), 400);
    CHECK_CONTAINS(body, "mode=cancel");
    free(body);
    CHECK_EQ(request(s.port, "PATCH", "/jobs/x?mode=stop", NULL, &body), 400);
    free(body);
    server_stop(&s);
}

TEST(rest_malformed_savepoint_body_is_400)
{
    server s;
    server_start(&s);
    const char *bad[] = {
        "",
        "   ",
        "[]",
        "{",
        "{\"target-directory\"}",
        "{\"target-directory\":}",
        "{\"target-directory\":\"/tmp/x\"",
        "{\"target-directory\":\"/tmp/x\",}",
        "{\"target-directory\":\"/tmp/x\"} x",
        "{\"target-directory\":'/tmp/x'}",
        "{\"target-directory\":\"/tmp\\x\"}",
        "{\"target-directory\":\"/tmp/\\u0000x\"}", /* a NUL would cut the path short */
        "{\"target-directory\":\"/tmp/\\ud800\"}",  /* a lone surrogate */
        "{\"target-directory\":\"/tmp/\nx\"}",      /* a raw control character */
        "{\"target-directory\":17}",
        "{\"target-directory\":{\"a\":\"b\"}}",
        "{\"target-directory\":\"/a\",\"target-directory\":\"/b\"}",
        "{}",                          /* no directory */
        "{\"target-directory\":\"\"}", /* an empty one */
        "{\"target-directory\":null}",
        "{\"other\":\"/tmp/x\"}",
        "{\"target-directory\":\"/tmp/x\",\"drain\":\"yes\"}", /* drain: true or false */
    };
    for (size_t i = 0; i < RILL_ARRAY_LEN(bad); i++) {
        char *body;
        int status = request(s.port, "POST", "/jobs/x/savepoints", bad[i], &body);
        if (status != 400)
            rill_test_fail(__FILE__, __LINE__, "body '%s': status %d (%s)", bad[i], status, body);
        CHECK_CONTAINS(body, "{\"errors\":[\"");
        free(body);
        status = request(s.port, "POST", "/jobs/x/stop", bad[i], &body);
        CHECK_EQ(status, 400);
        free(body);
    }
    /* well formed (escapes, other members, whitespace): then the unknown job is the answer */
    const char *good[] = {
        "{\"target-directory\":\"/tmp/x\"}",
        (" {\n\t\"target-directory\" : \"\\/tmp\\/\\u00e9\\ud83d\\ude00\\\"x\" , \"cancel-job\": "
         "false }\n"),
        "{\"targetDirectory\":\"/tmp/x\",\"drain\":false,\"formatType\":null}",
        "{\"targetDirectory\":\"/tmp/x\",\"drain\":true}",
    };
    for (size_t i = 0; i < RILL_ARRAY_LEN(good); i++) {
        char *body;
        int status = request(s.port, "POST", "/jobs/x/savepoints", good[i], &body);
        if (status != 404)
            rill_test_fail(__FILE__, __LINE__, "body '%s': status %d (%s)", good[i], status, body);
        CHECK_STR(body, "{\"errors\":[\"no job 'x'\"]}");
        free(body);
    }
    server_stop(&s);
}

TEST(rest_start_errors)
{
    server s;
    server_start(&s);
    rill__rest *other = NULL;
    rill__err err = {0};
    /* the port is taken */
    CHECK(rill__rest_start(s.jm, "127.0.0.1", s.port, NULL, 0, &other, &err) != 0);
    CHECK(other == NULL);
    CHECK_CONTAINS(err.msg, "cannot serve the REST API");
    CHECK_EQ(rill__rest_start(s.jm, "localhost:1", 0, NULL, 0, &other, &err), RILL_EINVAL);
    CHECK_EQ(rill__rest_start(s.jm, "127.0.0.1", 70000, NULL, 0, &other, &err), RILL_EINVAL);
    rill__rest_stop(NULL);
    server_stop(&s);
}

/* One request with extra header lines (each ending in \r\n); returns the reply. */
static void request_h(int port, const char *method, const char *target, const char *headers,
                      reply *out)
{
    char req[8192];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
                     "Content-Length: 0\r\n\r\n",
                     method, target, headers);
    CHECK(n > 0 && (size_t)n < sizeof req);
    exchange(port, req, (size_t)n, out);
}

TEST(rest_bearer_token)
{
    static const uint8_t secret[] = "0123456789abcdef-rest-secret";
    rill__jobmanager *jm = rill__jm_new();
    rill__rest *rest = NULL;
    rill__err err = {0};
    CHECK_EQ(rill__rest_start(jm, NULL, 0, secret, sizeof secret - 1, &rest, &err), 0);
    int port = rill__rest_port(rest);
    char token[RILL_REST_TOKEN_LEN + 1], hdr[256];
    rill__rest_token(secret, sizeof secret - 1, token);
    /* the token is HMAC-SHA256(secret, context) in hex, as documented */
    uint8_t mac[RILL_SHA256_LEN];
    rill__hmac_sha256(secret, sizeof secret - 1, "rill-rest-token-v1", 18, mac);
    char hex[RILL_REST_TOKEN_LEN + 1];
    for (int i = 0; i < RILL_SHA256_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    CHECK_STR(token, hex);
    reply r;
    /* none: 401 with WWW-Authenticate, whatever the route (no 404/405 leaks the routes) */
    const char *targets[] = {"/overview", "/jobs", "/nope", "/jobs/x/savepoints"};
    for (size_t i = 0; i < RILL_ARRAY_LEN(targets); i++) {
        request_h(port, "GET", targets[i], "", &r);
        CHECK_EQ(r.status, 401);
        CHECK_CONTAINS(r.head, "WWW-Authenticate: Bearer realm=\"rill\"");
        CHECK_CONTAINS(r.body, "needs a bearer token");
        free(r.body);
    }
    /* wrong: another token, the secret itself, a token cut short, another scheme */
    char wrong[RILL_REST_TOKEN_LEN + 1];
    memcpy(wrong, token, sizeof wrong);
    wrong[10] = wrong[10] == 'a' ? 'b' : 'a';
    const char *bad[] = {wrong, (const char *)secret, "", "abc"};
    for (size_t i = 0; i < RILL_ARRAY_LEN(bad); i++) {
        snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", bad[i]);
        request_h(port, "GET", "/jobs", hdr, &r);
        CHECK_EQ(r.status, 401);
        CHECK_CONTAINS(r.head, "error=\"invalid_token\"");
        free(r.body);
    }
    snprintf(hdr, sizeof hdr, "Authorization: Basic %s\r\n", token);
    request_h(port, "GET", "/jobs", hdr, &r);
    CHECK_EQ(r.status, 401);
    free(r.body);
    /* right (the scheme in any case) */
    snprintf(hdr, sizeof hdr, "Authorization: bearer %s\r\n", token);
    request_h(port, "GET", "/jobs", hdr, &r);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body, "{\"jobs\":[]}");
    free(r.body);
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
    request_h(port, "GET", "/nope", hdr, &r);
    CHECK_EQ(r.status, 404);
    free(r.body);
    rill__rest_stop(rest);
    rill__jm_free(jm);
}

TEST(rest_bind_beyond_loopback_needs_secret)
{
    rill__jobmanager *jm = rill__jm_new();
    rill__rest *rest = NULL;
    rill__err err = {0};
    CHECK_EQ(rill__rest_start(jm, "0.0.0.0", 0, NULL, 0, &rest, &err), RILL_ECONFIG);
    CHECK(rest == NULL);
    CHECK_CONTAINS(err.msg, "beyond loopback");
    CHECK_CONTAINS(err.msg, "--secret-file");
    CHECK_EQ(rill__rest_start(jm, "::", 0, NULL, 0, &rest, &err), RILL_ECONFIG);
    static const uint8_t secret[] = "0123456789abcdef";
    CHECK_EQ(rill__rest_start(jm, "0.0.0.0", 0, secret, 16, &rest, &err), 0);
    rill__rest_stop(rest);
    rill__jm_free(jm);
}

static int fake_deploy(void *tm, uint64_t job_id, uint32_t attempt, rill__exec_graph *g,
                       const int *tasks, int n, const rill__deploy_plan *plan,
                       const rill__restore *restore, rill__err *err)
{
    return 0;
}

TEST(rest_taskmanagers)
{
    server s;
    server_start(&s);
    char *body;
    CHECK_EQ(request(s.port, "GET", "/taskmanagers", NULL, &body), 200);
    CHECK_STR(body, "{\"taskmanagers\":[]}");
    free(body);
    rill__tm_gateway a = {.slots = 3, .deploy = fake_deploy}, b = {.slots = 1};
    rill__jm_register_tm(s.jm, &a);
    rill__jm_register_tm(s.jm, &b);
    CHECK_EQ(request(s.port, "GET", "/taskmanagers", NULL, &body), 200);
    CHECK_STR(body, "{\"taskmanagers\":[{\"id\":\"taskmanager-0\",\"dataPort\":-1,"
                    "\"slotsNumber\":3,\"freeSlots\":3},{\"id\":\"taskmanager-1\","
                    "\"dataPort\":-1,\"slotsNumber\":1,\"freeSlots\":1}]}");
    free(body);
    CHECK_EQ(request(s.port, "POST", "/taskmanagers", "{}", &body), 405);
    free(body);
    server_stop(&s);
}

TEST(rest_encoded_nul_and_overlong_paths)
{
    server s;
    server_start(&s);
    char *body;
    /* %00 is not decoded into a NUL that would cut the path short: "/jobs/7" is not reached */
    CHECK_EQ(request(s.port, "GET", "/jobs/7%00/checkpoints", NULL, &body), 404);
    CHECK_STR(body, "{\"errors\":[\"no job '7%00'\"]}");
    free(body);
    CHECK_EQ(request(s.port, "GET", "/overview%00", NULL, &body), 404);
    free(body);
    CHECK_EQ(request(s.port, "GET", "/jobs?x=%00", NULL, &body), 200);
    free(body);
    /* a path longer than the router takes: the generic 404 */
    size_t len = 3000;
    char *path = malloc(len + 8);
    strcpy(path, "/jobs/");
    memset(path + 6, 'a', len);
    path[6 + len] = '\0';
    CHECK_EQ(request(s.port, "GET", path, NULL, &body), 404);
    CHECK_STR(body, "{\"errors\":[\"not found\"]}");
    free(body);
    free(path);
    server_stop(&s);
}

TEST(rest_savepoint_target_directory_rules)
{
    server s;
    server_start(&s);
    const char *bad[] = {
        "tmp/x",   "./x", "../x",           "/tmp/../etc",
        "/tmp/..", "/..", "/tmp/x/../../y", "/tmp/\\u000dx", /* decoded to a CR */
    };
    for (size_t i = 0; i < RILL_ARRAY_LEN(bad); i++) {
        char req[256], *body;
        snprintf(req, sizeof req, "{\"target-directory\":\"%s\"}", bad[i]);
        int status = request(s.port, "POST", "/jobs/x/savepoints", req, &body);
        if (status != 400)
            rill_test_fail(__FILE__, __LINE__, "dir '%s': status %d (%s)", bad[i], status, body);
        CHECK_CONTAINS(body, "the target directory");
        free(body);
    }
    /* ".." inside a name is not a segment */
    char *body;
    CHECK_EQ(request(s.port, "POST", "/jobs/x/savepoints",
                     "{\"target-directory\":\"/tmp/a..b/..c\"}", &body),
             404);
    free(body);
    server_stop(&s);
}

TEST(rest_header_values_refuse_control_characters)
{
    CHECK(rill__http_header_value_ok("GET, HEAD"));
    CHECK(rill__http_header_value_ok("Bearer realm=\"rill\"\tx"));
    CHECK(!rill__http_header_value_ok("a\r\nSet-Cookie: x"));
    CHECK(!rill__http_header_value_ok("a\nb"));
    CHECK(!rill__http_header_value_ok("a\rb"));
    CHECK(!rill__http_header_value_ok("a\x7f"));
    CHECK(!rill__http_header_value_ok(NULL));
}

/* ---- /jars: uploaded job objects on a JobManager process ------------------------------------ */

/* A stand-in for the cluster runner: records the last request and answers as told. */
typedef struct fake_runner {
    int rc;
    char last[4096]; /* the request as text: name|k=v,...|arg,... */
} fake_runner;

static int fake_run(void *arg, const rill__run_request *rq, uint64_t *job_id, rill__err *err)
{
    fake_runner *f = arg;
    int n = snprintf(f->last, sizeof f->last, "%s|%s|", rq->jar_id, rq->name ? rq->name : "-");
    for (size_t i = 0; i < rq->n_opts; i++)
        n += snprintf(f->last + n, sizeof f->last - (size_t)n, "%s=%s,", rq->opt_keys[i],
                      rq->opt_values[i]);
    n += snprintf(f->last + n, sizeof f->last - (size_t)n, "|");
    for (size_t i = 0; i < rq->n_args; i++)
        n += snprintf(f->last + n, sizeof f->last - (size_t)n, "%s,", rq->args[i]);
    if (f->rc)
        return rill__err_set(err, f->rc, "option 'parallelism': not a number");
    *job_id = 42;
    return 0;
}

static void jar_server_start(server *s, rill__jar_store **jars, fake_runner *runner,
                             const uint8_t *secret, size_t secret_len)
{
    rill__err err = {0};
    char *dir = rill__xasprintf("%s/jars", rill_test_tmpdir());
    CHECK_RC(rill__jar_store_open(dir, jars, &err));
    free(dir);
    s->jm = rill__jm_new();
    rill__jm_set_runner(
        s->jm, &(rill__jm_runner){.jars = *jars, .run = runner ? fake_run : NULL, .arg = runner});
    if (rill__rest_start(s->jm, NULL, 0, secret, secret_len, &s->rest, &err))
        rill_test_fail(__FILE__, __LINE__, "rill__rest_start: %s", err.msg);
    s->port = rill__rest_port(s->rest);
}

/* POST of len bytes of body with a Content-Type (NULL: none) and an optional extra header. */
static int upload(int port, const char *target, const char *ctype, const void *body, size_t len,
                  const char *extra, char **body_out)
{
    char *req = malloc(1024 + len);
    int n = snprintf(req, 1024,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s"
                     "%sContent-Length: %zu\r\n\r\n",
                     target, ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
                     extra ? extra : "", len);
    memcpy(req + n, body, len);
    reply r;
    exchange(port, req, (size_t)n + len, &r);
    free(req);
    *body_out = r.body;
    return r.status;
}

static uint8_t *elf_so(size_t n)
{
    uint8_t *p = calloc(1, n);
    static const uint8_t head[18] = {0x7f, 'E', 'L', 'F', 2, 1, 1, [16] = 3};
    memcpy(p, head, sizeof head);
    return p;
}

/* The id in {"filename":"<id>","status":"success"}. */
static void id_of(const char *body, char *id, size_t size)
{
    const char *p = strstr(body, "\"filename\":\"");
    CHECK(p != NULL);
    p += 12;
    size_t n = strcspn(p, "\"");
    CHECK(n == 35 && n < size);
    memcpy(id, p, n);
    id[n] = '\0';
}

TEST(rest_jars_without_a_store_is_501)
{
    server s;
    server_start(&s);
    char *body;
    CHECK_EQ(request(s.port, "GET", "/jars", NULL, &body), 501);
    CHECK_CONTAINS(body, "takes no job uploads");
    free(body);
    uint8_t *so = elf_so(64);
    CHECK_EQ(upload(s.port, "/jars/upload", "application/octet-stream", so, 64, NULL, &body), 501);
    free(body);
    free(so);
    CHECK_EQ(request(s.port, "DELETE", "/jars/0123456789abcdef0123456789abcdef.so", NULL, &body),
             501);
    free(body);
    CHECK_EQ(request(s.port, "POST", "/jars/0123456789abcdef0123456789abcdef.so/run", "{}", &body),
             501);
    free(body);
    /* the method is checked first */
    CHECK_EQ(request(s.port, "POST", "/jars", NULL, &body), 405);
    free(body);
    CHECK_EQ(request(s.port, "GET", "/jars/upload", NULL, &body), 405);
    free(body);
    CHECK_EQ(request(s.port, "GET", "/jars/x/nope", NULL, &body), 404);
    free(body);
    server_stop(&s);
}

TEST(rest_jars_upload_list_run_delete)
{
    server s;
    rill__jar_store *jars;
    jar_server_start(&s, &jars, NULL, NULL, 0);
    char *body, id[64], target[256];
    CHECK_EQ(request(s.port, "GET", "/jars", NULL, &body), 200);
    CHECK_STR(body, "{\"files\":[]}");
    free(body);

    uint8_t *so = elf_so(3000);
    CHECK_EQ(upload(s.port, "/jars/upload", "application/octet-stream", so, 3000, NULL, &body),
             200);
    CHECK_CONTAINS(body, "\"status\":\"success\"");
    id_of(body, id, sizeof id);
    free(body);
    CHECK_EQ(upload(s.port, "/jars/upload", "application/x-sharedlib", so, 3000, NULL, &body), 200);
    free(body);
    CHECK_EQ(request(s.port, "GET", "/jars", NULL, &body), 200);
    char want[128];
    snprintf(want, sizeof want, "{\"files\":[{\"id\":\"%s\",\"size\":3000,\"uploaded\":", id);
    CHECK(!strncmp(body, want, strlen(want)));
    free(body);

    /* no runner yet: 501 with the JobManager's message */
    snprintf(target, sizeof target, "/jars/%s/run", id);
    CHECK_EQ(request(s.port, "POST", target, "{\"programArgsList\":[\"a\"]}", &body), 501);
    CHECK_CONTAINS(body, "runs no uploaded jobs");
    free(body);
    CHECK_EQ(request(s.port, "POST", target, NULL, &body), 501); /* an empty body is fine */
    free(body);
    /* a malformed body is 400 before the object is looked up */
    CHECK_EQ(request(s.port, "POST", "/jars/nope/run", "{\"programArgs\":\"a b\"}", &body), 400);
    CHECK_CONTAINS(body, "unknown field");
    free(body);
    CHECK_EQ(request(s.port, "POST", "/jars/nope/run", "{}", &body), 404);
    CHECK_CONTAINS(body, "no uploaded job object 'nope'");
    free(body);

    /* refused uploads */
    CHECK_EQ(upload(s.port, "/jars/upload", "application/octet-stream", "garb\0ge", 7, NULL,
                    &body),
             400);
    CHECK_CONTAINS(body, "not an ELF shared object");
    free(body);
    CHECK_EQ(upload(s.port, "/jars/upload", "application/octet-stream", "", 0, NULL, &body), 400);
    free(body);
    CHECK_EQ(
        upload(s.port, "/jars/upload", "multipart/form-data; boundary=x", so, 3000, NULL, &body),
        415);
    free(body);
    CHECK_EQ(upload(s.port, "/jars/upload", NULL, so, 3000, NULL, &body), 415);
    free(body);
    const char *big = "POST /jars/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                      "Content-Type: application/octet-stream\r\nContent-Length: 268435457\r\n\r\n";
    reply r;
    exchange(s.port, big, strlen(big), &r);
    CHECK_EQ(r.status, 413);
    CHECK_CONTAINS(r.body, "larger than 268435456 bytes");
    free(r.body);
    /* other routes keep their own limit */
    const char *big_run = "POST /jars/x/run HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                          "Content-Length: 2000000\r\n\r\n";
    exchange(s.port, big_run, strlen(big_run), &r);
    CHECK_EQ(r.status, 413);
    free(r.body);

    /* ids of any other form are 404, and nothing outside the store is touched */
    const char *probes[] = {"/jars/..%2f..%2fetc%2fpasswd", "/jars/%2e%2e", "/jars/abc",
                            "/jars/0123456789ABCDEF0123456789ABCDEF.so"};
    for (size_t i = 0; i < RILL_ARRAY_LEN(probes); i++) {
        int status = request(s.port, "DELETE", probes[i], NULL, &body);
        if (status != 404)
            rill_test_fail(__FILE__, __LINE__, "%s: status %d", probes[i], status);
        free(body);
    }

    snprintf(target, sizeof target, "/jars/%s", id);
    CHECK_EQ(request(s.port, "DELETE", target, NULL, &body), 200);
    CHECK_STR(body, "{}");
    free(body);
    CHECK_EQ(request(s.port, "DELETE", target, NULL, &body), 404);
    free(body);
    CHECK_EQ(request(s.port, "GET", target, NULL, &body), 405);
    free(body);
    free(so);
    server_stop(&s);
    rill__jar_store_free(jars);
}

TEST(rest_jars_run_request)
{
    server s;
    rill__jar_store *jars;
    fake_runner fr = {0};
    jar_server_start(&s, &jars, &fr, NULL, 0);
    uint8_t *so = elf_so(100);
    char *body, id[64], target[256], want[512];
    CHECK_EQ(upload(s.port, "/jars/upload", "application/octet-stream", so, 100, NULL, &body), 200);
    id_of(body, id, sizeof id);
    free(body);
    free(so);
    snprintf(target, sizeof target, "/jars/%s/run", id);
    CHECK_EQ(request(s.port, "POST", target,
                     " {\"programArgsList\": [\"a\", \"b c\", \"\\u00e9\"], \"options\": "
                     "{\"parallelism\": 4, \"checkpoint.dir\": \"/x\", \"resume\": true, "
                     "\"checkpoint.interval\": -1.5e3}, \"name\": \"my job\"} ",
                     &body),
             200);
    CHECK_STR(body, "{\"jobid\":\"42\"}");
    free(body);
    snprintf(want, sizeof want,
             "%s|my job|parallelism=4,checkpoint.dir=/x,resume=true,checkpoint.interval=-1500,|"
             "a,b c,\xc3\xa9,",
             id);
    CHECK_STR(fr.last, want);
    CHECK_EQ(request(s.port, "POST", target, "{\"name\":null,\"options\":{}}", &body), 200);
    free(body);
    snprintf(want, sizeof want, "%s|-||", id);
    CHECK_STR(fr.last, want);

    /* malformed or over the limits: 400, the runner not called */
    fr.last[0] = '\0';
    const char *bad[] = {
        "[]",
        "{\"options\":{\"parallelism\":null}}",
        "{\"options\":{\"parallelism\":[1]}}",
        "{\"options\":{\"a\":\"1\",\"a\":\"2\"}}",
        "{\"options\":{\"bad key\":\"1\"}}",
        "{\"options\":{\"\":\"1\"}}",
        "{\"options\":{\"p\":01}}",
        "{\"programArgsList\":[1]}",
        "{\"programArgsList\":\"a\"}",
        "{\"name\":\"\"}",
        "{\"name\":5}",
        "{\"options\":{}} x",
        "{\"options\":{},\"options\":{}}",
        "{\"programArgsList\":[\"a\\u0000b\"]}",
    };
    for (size_t i = 0; i < RILL_ARRAY_LEN(bad); i++) {
        int status = request(s.port, "POST", target, bad[i], &body);
        if (status != 400)
            rill_test_fail(__FILE__, __LINE__, "%s: status %d, %s", bad[i], status, body);
        CHECK_CONTAINS(body, "\"errors\"");
        free(body);
    }
    CHECK_STR(fr.last, "");
    /* counts and lengths */
    rill__buf b = {0};
    rill__buf_append(&b, "{\"options\":{", 12);
    for (int i = 0; i <= RILL_DEPLOY_OPTS_MAX; i++)
        rill__buf_printf(&b, "%s\"k%d\":\"v\"", i ? "," : "", i);
    rill__buf_append(&b, "}}", 2);
    CHECK_EQ(request(s.port, "POST", target, rill__buf_cstr(&b), &body), 400);
    CHECK_CONTAINS(body, "more than 64 options");
    free(body);
    b.len = 0;
    rill__buf_append(&b, "{\"programArgsList\":[", 20);
    for (int i = 0; i <= RILL_DEPLOY_ARGS_MAX; i++)
        rill__buf_printf(&b, "%s\"a\"", i ? "," : "");
    rill__buf_append(&b, "]}", 2);
    CHECK_EQ(request(s.port, "POST", target, rill__buf_cstr(&b), &body), 400);
    CHECK_CONTAINS(body, "more than 256 job arguments");
    free(body);
    b.len = 0;
    rill__buf_append(&b, "{\"options\":{\"k\":\"", 17);
    for (int i = 0; i <= RILL_OPT_VALUE_MAX; i++)
        rill__buf_putc(&b, 'v');
    rill__buf_append(&b, "\"}}", 3);
    CHECK_EQ(request(s.port, "POST", target, rill__buf_cstr(&b), &body), 400);
    CHECK_CONTAINS(body, "longer than 4096 bytes");
    free(body);
    b.len = 0;
    rill__buf_append(&b, "{\"options\":{\"", 13);
    for (int i = 0; i <= RILL_OPT_KEY_MAX; i++)
        rill__buf_putc(&b, 'k');
    rill__buf_append(&b, "\":\"v\"}}", 7);
    CHECK_EQ(request(s.port, "POST", target, rill__buf_cstr(&b), &body), 400);
    free(body);
    b.len = 0;
    rill__buf_append(&b, "{\"programArgsList\":[\"", 21);
    for (int i = 0; i <= RILL_ARG_MAX; i++)
        rill__buf_putc(&b, 'a');
    rill__buf_append(&b, "\"]}", 3);
    CHECK_EQ(request(s.port, "POST", target, rill__buf_cstr(&b), &body), 400);
    free(body);
    rill__buf_free(&b);
    CHECK_STR(fr.last, "");

    /* the runner's errors: a bad option is 400 with its message */
    fr.rc = RILL_ECONFIG;
    CHECK_EQ(request(s.port, "POST", target, "{\"options\":{\"parallelism\":\"x\"}}", &body), 400);
    CHECK_STR(body, "{\"errors\":[\"option 'parallelism': not a number\"]}");
    free(body);
    fr.rc = RILL_EGRAPH;
    CHECK_EQ(request(s.port, "POST", target, NULL, &body), 400);
    free(body);
    fr.rc = RILL_ENOTSUP;
    CHECK_EQ(request(s.port, "POST", target, NULL, &body), 501);
    free(body);
    fr.rc = RILL_EIO;
    CHECK_EQ(request(s.port, "POST", target, NULL, &body), 500);
    free(body);
    server_stop(&s);
    rill__jar_store_free(jars);
}

TEST(rest_jars_need_the_token)
{
    static const uint8_t secret[] = "0123456789abcdef-jars-secret";
    server s;
    rill__jar_store *jars;
    jar_server_start(&s, &jars, NULL, secret, sizeof secret - 1);
    uint8_t *so = elf_so(100);
    char *body;
    CHECK_EQ(upload(s.port, "/jars/upload", "application/octet-stream", so, 100, NULL, &body), 401);
    free(body);
    CHECK_EQ(request(s.port, "GET", "/jars", NULL, &body), 401);
    free(body);
    CHECK_EQ(request(s.port, "DELETE", "/jars/0123456789abcdef0123456789abcdef.so", NULL, &body),
             401);
    free(body);
    char token[RILL_REST_TOKEN_LEN + 1], hdr[128];
    rill__rest_token(secret, sizeof secret - 1, token);
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
    CHECK_EQ(upload(s.port, "/jars/upload", "application/octet-stream", so, 100, hdr, &body), 200);
    free(body);
    rill__jar_info *v;
    size_t n;
    rill__err err = {0};
    CHECK_RC(rill__jar_store_list(jars, &v, &n, &err));
    CHECK_EQ(n, 1); /* only the authorized upload was stored */
    free(v);
    free(so);
    server_stop(&s);
    rill__jar_store_free(jars);
}

/* rill__rest_handle (the fuzz target's way in) answers as the server does: the same routes,
 * percent-decoding once, the body checked before the job is looked up. */
TEST(rest_handle_without_a_socket)
{
    rill__jobmanager *jm = rill__jm_new();
    unsigned status = 0;
    rill__buf out = {0};
    rill__rest_handle(jm, "GET", "/overview", NULL, NULL, 0, &status, &out);
    CHECK_EQ(status, 200);
    CHECK_CONTAINS(rill__buf_cstr(&out), "\"jobs-running\":0");
    out.len = 0;
    rill__rest_handle(jm, "GET", "/jobs/7%00/checkpoints", NULL, NULL, 0, &status, &out);
    CHECK_EQ(status, 404);
    CHECK_CONTAINS(rill__buf_cstr(&out), "no job '7%00'");
    out.len = 0;
    const char *bad = "{\"target-directory\": 7}";
    rill__rest_handle(jm, "POST", "/jobs/7/savepoints", NULL, bad, strlen(bad), &status, &out);
    CHECK_EQ(status, 400);
    out.len = 0;
    rill__rest_handle(jm, "PATCH", "/jobs/7", "terminate", NULL, 0, &status, &out);
    CHECK_EQ(status, 400);
    CHECK_CONTAINS(rill__buf_cstr(&out), "needs ?mode=cancel");
    out.len = 0;
    rill__rest_handle(jm, "PATCH", "/jobs/7", "cancel", NULL, 0, &status, &out);
    CHECK_EQ(status, 404);
    out.len = 0;
    rill__rest_handle(jm, "POST", "/jars/upload", NULL, "x", 1, &status, &out);
    CHECK_EQ(status, 501); /* no job uploads without a jar store */
    rill__buf_free(&out);
    rill__jm_free(jm);
}

/* A server that listens nowhere (rill__rest_new_unbound, as the fuzz target fuzz_http.c uses
 * it) answers raw requests handed over by rill__rest_exchange as the real one does: the token
 * checked first, a declared oversized body refused, and every connection closed. */
TEST(rest_unbound_exchange)
{
    static const uint8_t secret[] = "0123456789abcdef0123";
    rill__err err = {0};
    rill__jobmanager *jm = rill__jm_new();
    rill__rest *rest = NULL;
    CHECK_RC(rill__rest_new_unbound(jm, secret, sizeof secret - 1, &rest, &err));
    char token[RILL_REST_TOKEN_LEN + 1];
    rill__rest_token(secret, sizeof secret - 1, token);
    rill__buf req = {0}, resp = {0};

    const char *no_token = "GET /jobs HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK_RC(rill__rest_exchange(rest, no_token, strlen(no_token), 5000, &resp));
    CHECK_CONTAINS(rill__buf_cstr(&resp), "HTTP/1.1 401 ");
    CHECK_CONTAINS(rill__buf_cstr(&resp), "needs a bearer token");

    rill__buf_printf(&req, "GET /jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
                     token);
    resp.len = 0;
    CHECK_RC(rill__rest_exchange(rest, req.data, req.len, 5000, &resp));
    CHECK_CONTAINS(rill__buf_cstr(&resp), "HTTP/1.1 200 ");
    CHECK_CONTAINS(rill__buf_cstr(&resp), "{\"jobs\":[]}");

    req.len = 0;
    rill__buf_printf(&req,
                     "POST /jobs/1/stop HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                     "Content-Length: 1000000000000\r\n\r\n{}",
                     token);
    resp.len = 0;
    CHECK_RC(rill__rest_exchange(rest, req.data, req.len, 5000, &resp));
    CHECK_CONTAINS(rill__buf_cstr(&resp), "HTTP/1.1 413 ");

    /* a request cut short: the server closes without an answer */
    const char *cut = "POST /jobs/1/stop HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{";
    resp.len = 0;
    CHECK_RC(rill__rest_exchange(rest, cut, strlen(cut), 5000, &resp));
    rill__buf_free(&req);
    rill__buf_free(&resp);
    rill__rest_stop(rest);
    rill__jm_free(jm);
}
