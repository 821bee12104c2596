/* test_cli.c - unit tests of the rill command's parsing (cli layer) without acting on it: the
 * arguments of `rill jobmanager` and `rill taskmanager`, the HTTP client (libcurl) against
 * canned answers and the real REST server, and what the client commands make of a JobManager's
 * answers (tests/fuzz/fuzz_cluster_args.c and fuzz_client.c feed both anything). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/base.h"
#include "cli/client.h"
#include "cluster/cluster.h"
#include "test.h"

TEST(cli_jobmanager_args_defaults_and_values)
{
    rill__jm_args a;
    CHECK_EQ(rill__cli_jobmanager_parse(0, NULL, &a), 0);
    CHECK(!a.help);
    CHECK_EQ(a.port, 6123);
    CHECK_EQ(a.rest_port, 8081);
    CHECK_STR(a.rest_bind, "127.0.0.1");
    CHECK_STR(a.common.cluster_id, "rill");
    CHECK(a.common.bind == NULL && a.common.secret_file == NULL && a.ckpt_dir == NULL);
    char *argv[] = {
        "--port",        "0", "--rest-port",          "9",  "--checkpoint-dir",    "ck",
        "--secret-file", "s", "--heartbeat-interval", "10", "--heartbeat-timeout", "11"};
    CHECK_EQ(rill__cli_jobmanager_parse(12, argv, &a), 0);
    CHECK_EQ(a.port, 0);
    CHECK_EQ(a.rest_port, 9);
    CHECK_STR(a.ckpt_dir, "ck");
    CHECK_STR(a.common.secret_file, "s"); /* not read: the file need not exist */
    CHECK_EQ(a.common.hb_interval, 10);
    CHECK_EQ(a.common.hb_timeout, 11);
    char *help[] = {"--port", "1", "-h", "--bogus"};
    CHECK_EQ(rill__cli_jobmanager_parse(4, help, &a), 0);
    CHECK(a.help);
}

TEST(cli_cluster_args_usage_errors)
{
    rill__jm_args j;
    rill__tm_args t;
    char *bad_port[] = {"--rest-port", "65536"};
    CHECK_EQ(rill__cli_jobmanager_parse(2, bad_port, &j), 2);
    char *no_value[] = {"--upload-dir"};
    CHECK_EQ(rill__cli_jobmanager_parse(1, no_value, &j), 2);
    char *hb[] = {"--heartbeat-timeout", "1000"}; /* not longer than the interval's default */
    CHECK_EQ(rill__cli_jobmanager_parse(2, hb, &j), 2);
    char *id[] = {"--cluster-id", ""};
    CHECK_EQ(rill__cli_jobmanager_parse(2, id, &j), 2);
    CHECK_EQ(rill__cli_taskmanager_parse(0, NULL, &t), 2); /* --jobmanager is required */
    char *v6[] = {"--jobmanager", "::1:6123"};             /* without brackets */
    CHECK_EQ(rill__cli_taskmanager_parse(2, v6, &t), 2);
    char *slots[] = {"--jobmanager", "h:1", "--slots", "0"};
    CHECK_EQ(rill__cli_taskmanager_parse(4, slots, &t), 2);
    char *ok[] = {"--jobmanager", "[::1]:6123", "--slots", "3", "--work-dir", "w"};
    CHECK_EQ(rill__cli_taskmanager_parse(6, ok, &t), 0);
    CHECK_STR(t.jm_host, "::1");
    CHECK_EQ(t.jm_port, 6123);
    CHECK_EQ(t.slots, 3);
    CHECK_EQ(t.data_port, 0);
    CHECK_STR(t.work_dir, "w");
}

/* A one-shot HTTP server on loopback for the client: it reads one request (its headers and a
 * Content-Length body), keeps it, answers `reply` verbatim and closes. */
typedef struct canned {
    int fd, port;
    const char *reply;
    size_t reply_len;
    char request[8192];
    pthread_t thread;
} canned;

static void *canned_run(void *arg)
{
    canned *c = arg;
    int conn = accept(c->fd, NULL, NULL);
    if (conn < 0)
        return NULL;
    size_t n = 0;
    for (;;) {
        ssize_t r = recv(conn, c->request + n, sizeof c->request - 1 - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
        c->request[n] = '\0';
        char *end = strstr(c->request, "\r\n\r\n");
        if (!end)
            continue;
        const char *cl = strcasestr(c->request, "\r\nContent-Length:");
        size_t body = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
        if (n >= (size_t)(end + 4 - c->request) + body)
            break;
    }
    for (size_t off = 0; off < c->reply_len;) {
        ssize_t w = send(conn, c->reply + off, c->reply_len - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    shutdown(conn, SHUT_WR);
    char drain[256];
    while (recv(conn, drain, sizeof drain, 0) > 0) {
    }
    close(conn);
    return NULL;
}

static void canned_start(canned *c, const char *reply, size_t len)
{
    memset(c, 0, sizeof *c);
    c->reply = reply;
    c->reply_len = len;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    CHECK(bind(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    CHECK(listen(c->fd, 1) == 0);
    CHECK(getsockname(c->fd, (struct sockaddr *)&sa, &sl) == 0);
    c->port = ntohs(sa.sin_port);
    CHECK(pthread_create(&c->thread, NULL, canned_run, c) == 0);
}

static void canned_stop(canned *c)
{
    shutdown(c->fd, SHUT_RDWR);
    pthread_join(c->thread, NULL);
    close(c->fd);
}

/* One request through the client to a canned answer: its rc, with *resp or why. */
static int exchange(const char *reply, const char *method, const char *body, rill__http_resp *r,
                    char *why, size_t why_size, int *malformed, char *request, size_t request_size)
{
    canned c;
    canned_start(&c, reply, strlen(reply));
    why[0] = '\0';
    int rc = rill__http_request("127.0.0.1", c.port, method, "/jobs/a%2Fb", body, "Bearer t", 2000,
                                5000, r, why, why_size, malformed);
    canned_stop(&c);
    if (request)
        snprintf(request, request_size, "%s", c.request);
    return rc;
}

TEST(cli_http_client_reads_answers)
{
    rill__http_resp r;
    char why[256], req[8192];
    int malformed;
    CHECK_EQ(exchange("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", "POST",
                      "{\"x\":1}", &r, why, sizeof why, &malformed, req, sizeof req),
             0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body, "{}");
    CHECK_EQ(r.body_len, 2);
    free(r.body);
    /* what was sent: the method and path as given, the token, the JSON body with its length */
    CHECK_CONTAINS(req, "POST /jobs/a%2Fb HTTP/1.1\r\n");
    CHECK_CONTAINS(req, "\r\nAuthorization: Bearer t\r\n");
    CHECK_CONTAINS(req, "\r\nContent-Type: application/json\r\n");
    CHECK_CONTAINS(req, "\r\nContent-Length: 7\r\n");
    CHECK_CONTAINS(req, "\r\n\r\n{\"x\":1}");
    CHECK(strstr(req, "Expect:") == NULL);
    /* PATCH without a body: Content-Length 0; no length in the answer: read to the close */
    CHECK_EQ(exchange("HTTP/1.0 404 Not Found\r\n\r\n{\"errors\":[]}", "PATCH", NULL, &r, why,
                      sizeof why, &malformed, req, sizeof req),
             0);
    CHECK_EQ(r.status, 404);
    CHECK_STR(r.body, "{\"errors\":[]}");
    free(r.body);
    CHECK_CONTAINS(req, "PATCH /jobs/a%2Fb HTTP/1.1\r\n");
    CHECK_CONTAINS(req, "\r\nContent-Length: 0\r\n");
    /* a chunked answer */
    CHECK_EQ(exchange("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "3\r\n{\"a\r\nA;ext=1\r\n\":[1,2,3]}\r\n0\r\n\r\n",
                      "GET", NULL, &r, why, sizeof why, &malformed, NULL, 0),
             0);
    CHECK_STR(r.body, "{\"a\":[1,2,3]}");
    CHECK_EQ(r.body_len, 13);
    free(r.body);
}

TEST(cli_http_client_malformed_and_refused)
{
    rill__http_resp r;
    char why[256];
    int malformed;
    static const char *const bad[] = {
        "HTTP/1.1 2000 OK\r\n\r\n",
        "SSH-2.0-OpenSSH\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        "",
    };
    for (size_t i = 0; i < RILL_ARRAY_LEN(bad); i++) {
        if (exchange(bad[i], "GET", NULL, &r, why, sizeof why, &malformed, NULL, 0) != -1)
            rill_test_fail(__FILE__, __LINE__, "case %zu: read as %d '%s'", i, r.status, r.body);
        CHECK(why[0] != '\0');
        CHECK(r.body == NULL);
    }
    /* what would inject a header or split the request line is refused unsent */
    static const char *const paths[] = {"/jobs\r\nX: y", "/jobs x", "/jobs\n"};
    for (size_t i = 0; i < RILL_ARRAY_LEN(paths); i++) {
        CHECK_EQ(rill__http_request("127.0.0.1", 1, "GET", paths[i], NULL, NULL, 100, 100, &r, why,
                                    sizeof why, &malformed),
                 -1);
        CHECK_CONTAINS(why, "refusing to send a path");
    }
    CHECK_EQ(rill__http_request("127.0.0.1", 1, "GET", "/", NULL, "Bearer a\r\nX: y", 100, 100, &r,
                                why, sizeof why, &malformed),
             -1);
    CHECK_CONTAINS(why, "Authorization");
    CHECK_EQ(rill__http_request("127.0.0.1", 1, "G T", "/", NULL, NULL, 100, 100, &r, why,
                                sizeof why, &malformed),
             -1);
    CHECK_CONTAINS(why, "method");
    /* nobody listening: the reason, not malformed */
    canned c;
    canned_start(&c, "", 0);
    int port = c.port;
    canned_stop(&c);
    CHECK_EQ(rill__http_request("127.0.0.1", port, "GET", "/", NULL, NULL, 1000, 1000, &r, why,
                                sizeof why, &malformed),
             -1);
    CHECK_EQ(malformed, 0);
    CHECK(why[0] != '\0');
}

/* The whole client against the real REST server: every answer it gives reads back. */
TEST(cli_http_client_against_the_rest_api)
{
    rill__err err = {0};
    rill__jobmanager *jm = rill__jm_new();
    rill__rest *rest;
    CHECK_EQ(rill__rest_start(jm, NULL, 0, NULL, 0, &rest, &err), 0);
    int port = rill__rest_port(rest);
    rill__http_resp r;
    char why[256];
    int malformed;
    CHECK_EQ(rill__http_request("127.0.0.1", port, "GET", "/jobs", NULL, NULL, 2000, 5000, &r, why,
                                sizeof why, &malformed),
             0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body, "{\"jobs\":[]}");
    free(r.body);
    CHECK_EQ(rill__http_request("127.0.0.1", port, "POST", "/jobs/x/savepoints",
                                "{\"a\":1,\"a\":2}", NULL, 2000, 5000, &r, why, sizeof why,
                                &malformed),
             0);
    CHECK_EQ(r.status, 400);
    CHECK_CONTAINS(r.body, "{\"errors\":[\"malformed JSON: duplicate object key");
    free(r.body);
    rill__rest_stop(rest);
    rill__jm_free(jm);
}

TEST(cli_remote_answers)
{
    rill__remote_cmd c = {.which = RILL_REMOTE_LIST, .addr = "h:1", .job = "j", .dir = "/d"};
    char body[] = "{\"jobs\":[{\"id\":\"1\",\"name\":\"n\",\"state\":\"RUNNING\"}]}";
    rill__http_resp r = {.status = 200, .body = body, .body_len = strlen(body)};
    CHECK_EQ(rill__cli_remote_answer(&c, &r), 0);
    char not_json[] = "{\"jobs\":[";
    r.body = not_json;
    r.body_len = strlen(not_json);
    CHECK_EQ(rill__cli_remote_answer(&c, &r), 1);
    char err[] = "{\"errors\":[\"no such job\"]}";
    r = (rill__http_resp){.status = 404, .body = err, .body_len = strlen(err)};
    for (int w = RILL_REMOTE_LIST; w <= RILL_REMOTE_CHECKPOINTS; w++) {
        c.which = w;
        CHECK_EQ(rill__cli_remote_answer(&c, &r), 1);
    }
    char none[] = "{}";
    r = (rill__http_resp){.status = 200, .body = none, .body_len = 2};
    c.which = RILL_REMOTE_CHECKPOINTS;
    CHECK_EQ(rill__cli_remote_answer(&c, &r), 0); /* "no checkpoints yet" */
    c.which = RILL_REMOTE_LIST;
    CHECK_EQ(rill__cli_remote_answer(&c, &r), 1); /* no job list */
}

/* Every command's options by getopt_long: `--flag VALUE`, `--flag=VALUE`, short options with
 * their value apart or attached, options after the job object, `--` ending them. */
TEST(cli_run_args_getopt_forms)
{
    rill__run_args a;
    char *eq[] = {"job.so", "--parallelism=2", "--batch-size=512", "--resume", "--", "-x", "y"};
    CHECK_EQ(rill__cli_run_parse(7, eq, &a), 0);
    CHECK_STR(a.job_path, "job.so");
    CHECK_STR(a.parallelism, "2");
    CHECK_EQ(a.n_opts, 2);
    CHECK_STR(a.opts[0].key, "batch-size");
    CHECK_STR(a.opts[0].value, "512");
    CHECK_STR(a.opts[0].flag, "--batch-size");
    CHECK_STR(a.opts[1].key, "resume");
    CHECK_STR(a.opts[1].value, "true");
    CHECK_EQ(a.first_arg, 5); /* the job's arguments: "-x", "y" */
    char *apart[] = {"--parallelism", "3", "-vp4", "job.so", "--checkpoint-dir", "/ck"};
    CHECK_EQ(rill__cli_run_parse(6, apart, &a), 0);
    CHECK_STR(a.parallelism, "4"); /* the last one counts */
    CHECK(a.verbose);
    CHECK_STR(a.job_path, "job.so");
    CHECK_STR(a.opts[0].key, "checkpoint.dir");
    CHECK_EQ(a.first_arg, 6);
    char *neg[] = {"job.so", "-p", "-3"}; /* a value may start with '-' */
    CHECK_EQ(rill__cli_run_parse(3, neg, &a), 0);
    CHECK_STR(a.parallelism, "-3");
    char *remote[] = {"-m=h:1", "-d", "job.so", "--name=n"};
    CHECK_EQ(rill__cli_run_parse(4, remote, &a), 0);
    CHECK_STR(a.jobmanager, "=h:1"); /* a short option's value is what follows the letter */
    char *remote2[] = {"--jobmanager=h:1", "-d", "job.so", "--name=n"};
    CHECK_EQ(rill__cli_run_parse(4, remote2, &a), 0);
    CHECK_STR(a.jobmanager, "h:1");
    CHECK(a.detached);
    CHECK_STR(a.opts[0].value, "n");
    /* rill sql: -f and -i, apart or attached */
    char *sql[] = {"-ffile.sql", "--init=i.sql", "--parallelism=2"};
    CHECK_EQ(rill__cli_sql_parse(3, sql, &a), 0);
    CHECK_STR(a.sql_file, "file.sql");
    CHECK_STR(a.sql_init, "i.sql");
    CHECK_STR(a.parallelism, "2");
}

TEST(cli_getopt_usage_errors_name_the_option)
{
    static const struct {
        const char *args[4];
        const char *says;
    } cases[] = {
        {{"job.so", "--bogus", NULL}, "unknown option '--bogus'"},
        {{"job.so", "--bogus=3", NULL}, "unknown option '--bogus=3'"},
        {{"job.so", "-x", NULL}, "unknown option '-x'"},
        {{"job.so", "-vx", NULL}, "unknown option '-x'"},
        {{"job.so", "--parallelism", NULL}, "option --parallelism needs a value"},
        {{"job.so", "-p", NULL}, "option -p needs a value"},
        {{"job.so", "--resume=1", NULL}, "option --resume takes no value"},
        {{"job.so", "--checkpoint", "x", NULL}, "unknown option '--checkpoint'"}, /* ambiguous */
        {{"job.so", "extra.so", NULL}, "unexpected argument 'extra.so'"},
    };
    for (size_t i = 0; i < RILL_ARRAY_LEN(cases); i++) {
        int n = 0;
        while (cases[i].args[n])
            n++;
        char *argv[4];
        memcpy(argv, cases[i].args, sizeof argv);
        fflush(stderr);
        char path[4096];
        snprintf(path, sizeof path, "%s/err", rill_test_tmpdir());
        FILE *saved = stderr, *f = fopen(path, "w+");
        CHECK(f != NULL);
        stderr = f;
        rill__run_args a;
        int status = rill__cli_run_parse(n, argv, &a);
        stderr = saved;
        char text[1024] = "";
        rewind(f);
        size_t got = fread(text, 1, sizeof text - 1, f);
        text[got] = '\0';
        fclose(f);
        if (status != 2)
            rill_test_fail(__FILE__, __LINE__, "case %zu: status %d", i, status);
        CHECK_CONTAINS(text, cases[i].says);
        CHECK_CONTAINS(text, "(see `rill run --help`)");
    }
}

TEST(cli_cluster_and_remote_args_getopt_forms)
{
    rill__jm_args j;
    char *jm[] = {"--port=0", "--rest-port", "9", "--cluster-id=c1", "--heartbeat-timeout=5000"};
    CHECK_EQ(rill__cli_jobmanager_parse(5, jm, &j), 0);
    CHECK_EQ(j.port, 0);
    CHECK_EQ(j.rest_port, 9);
    CHECK_STR(j.common.cluster_id, "c1");
    CHECK_EQ(j.common.hb_timeout, 5000);
    char *stray[] = {"--port=0", "--", "x"};
    CHECK_EQ(rill__cli_jobmanager_parse(3, stray, &j), 2);
    rill__tm_args t;
    char *tm[] = {"--jobmanager=127.0.0.1:6123", "--slots=2"};
    CHECK_EQ(rill__cli_taskmanager_parse(2, tm, &t), 0);
    CHECK_EQ(t.slots, 2);
    CHECK_EQ(t.jm_port, 6123);
    rill__remote_cmd c;
    char *stop[] = {"job-1", "--savepoint=/sp", "-d", "--jobmanager=h:9"};
    CHECK_EQ(rill__cli_remote_parse("stop", 4, stop, &c), 0);
    CHECK(c.go_on);
    CHECK_STR(c.job, "job-1");
    CHECK_STR(c.dir, "/sp");
    CHECK(c.drain);
    CHECK_EQ(c.port, 9);
    char *sp[] = {"-mh:8", "job", "dir"};
    CHECK_EQ(rill__cli_remote_parse("savepoint", 3, sp, &c), 0);
    CHECK_STR(c.dir, "dir");
    CHECK_EQ(c.port, 8);
    char *no_drain[] = {"job", "--drain"}; /* stop's options only on stop */
    CHECK_EQ(rill__cli_remote_parse("savepoint", 2, no_drain, &c), 2);
    CHECK(!c.go_on);
    char *dash[] = {"--", "-job-"}; /* a job named with a leading '-' after "--" */
    CHECK_EQ(rill__cli_remote_parse("cancel", 2, dash, &c), 0);
    CHECK_STR(c.job, "-job-");
}
