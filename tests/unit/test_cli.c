/* test_cli.c - unit tests of the rill command's parsing (cli layer) without acting on it: the
 * arguments of `rill jobmanager` and `rill taskmanager`, and the HTTP responses the client
 * commands read from a JobManager (tests/fuzz/fuzz_cluster_args.c and fuzz_client.c feed both
 * anything). */
#include <string.h>

#include "base/base.h"
#include "cli/client.h"
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

/* Parses text as a response: its rc, with *resp (freed by the caller) or the reason in why. */
static int parse(const char *text, rill__http_resp *resp, char *why, size_t why_size)
{
    char *copy = rill__xstrdup(text);
    why[0] = '\0';
    int rc = rill__http_parse_response(copy, strlen(copy), resp, why, why_size);
    free(copy);
    return rc;
}

TEST(cli_http_response_bodies)
{
    rill__http_resp r;
    char why[256];
    CHECK_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}xx", &r, why, sizeof why), 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body, "{}");
    CHECK_EQ(r.body_len, 2);
    free(r.body);
    /* no length: to the end; an empty reason phrase */
    CHECK_EQ(parse("HTTP/1.0 404\r\nX: y\r\n\r\n{\"errors\":[]}", &r, why, sizeof why), 0);
    CHECK_EQ(r.status, 404);
    CHECK_STR(r.body, "{\"errors\":[]}");
    free(r.body);
    CHECK_EQ(parse("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                   "3\r\n{\"a\r\nA;ext=1\r\n\":[1,2,3]}\r\n0\r\nTrailer: x\r\n\r\n",
                   &r, why, sizeof why),
             0);
    CHECK_STR(r.body, "{\"a\":[1,2,3]}");
    CHECK_EQ(r.body_len, 13);
    free(r.body);
}

TEST(cli_http_response_malformed_says_what)
{
    static const struct {
        const char *text, *why;
    } cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", "no end of its headers"},
        {"HTTP/1.1 2000 OK\r\n\r\n", "status line 'HTTP/1.1 2000 OK'"},
        {"HTTP/1.1 099 OK\r\n\r\n", "status line"},
        {"HTTP/2 200 OK\r\n\r\n", "status line"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}", "cut short"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\n{}", "Content-Length '2x'"},
        {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}", "Content-Length '-1'"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 1\r\n\r\n{}", "Content-Length"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}", "chunked"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}xx0\r\n\r\n", "chunked"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\n{}\r\n0\r\n\r\n", "chunked"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 2\r\n{}\r\n0\r\n\r\n", "chunked"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\n{}\r\n0\r\n\r\n", "chunked"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", "chunked"},
    };
    for (size_t i = 0; i < RILL_ARRAY_LEN(cases); i++) {
        rill__http_resp r;
        char why[256];
        if (parse(cases[i].text, &r, why, sizeof why) != -1)
            rill_test_fail(__FILE__, __LINE__, "case %zu: read as %d '%s'", i, r.status, r.body);
        CHECK_CONTAINS(why, cases[i].why);
        CHECK(r.body == NULL);
    }
}

TEST(cli_remote_answers)
{
    rill__remote_cmd c = {.which = RILL_REMOTE_LIST, .addr = "h:1", .job = "j", .dir = "/d"};
    char body[] = "{\"jobs\":[{\"id\":\"1\",\"name\":\"n\",\"state\":\"RUNNING\"}]}";
    rill__http_resp r = {.status = 200, .body = body, .body_len = strlen(body)};
    CHECK_EQ(rill__cli_remote_answer(&c, &r), 0);
    char not_json[] = "{\"jobs\":[";
    r.body = not_json;
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
