/* fuzz_client.c - libFuzzer target: what the rill command makes of a JobManager's answer
 * (src/cli/client.c), without a socket: the HTTP response reader (status line, headers,
 * Content-Length, chunked body) through rill__http_parse_response, then the JSON reader and
 * what `rill list`, `checkpoints`, `savepoint`, `stop` and `cancel` print from the body, through
 * rill__cli_remote_answer. The input is the raw bytes of one response, as a malicious or broken
 * server might send them. A response is read, or refused with the reason; an answer ends in
 * exit status 0 or 1, never a crash. */
#include <string.h>

#include "cli/client.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_parsed(const char *p, size_t size, const rill__http_resp *resp)
{
    /* the status is the three digits after "HTTP/1.x ", and nothing else */
    FUZZ_REQUIRE(size >= 13 && !memcmp(p, "HTTP/1.", 7) && p[8] == ' ');
    FUZZ_REQUIRE(p[9] >= '1' && p[9] <= '5' && p[10] >= '0' && p[10] <= '9' && p[11] >= '0' &&
                 p[11] <= '9');
    FUZZ_REQUIRE(resp->status == (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0'));
    FUZZ_REQUIRE(p[12] == ' ' || p[12] == '\r');
    FUZZ_REQUIRE(resp->body != NULL && resp->body_len <= size);
    FUZZ_REQUIRE(resp->body[resp->body_len] == '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) { /* the tables: their making is tested, not their reading */
        fuzz_check(freopen("/dev/null", "w", stdout) != NULL, "cannot silence stdout");
        quiet = true;
    }
    /* the bytes as rill__http_request leaves them: a NUL after them */
    char *p = malloc(size + 1);
    memcpy(p, data, size);
    p[size] = '\0';
    rill__http_resp resp;
    char why[256] = "";
    if (rill__http_parse_response(p, size, &resp, why, sizeof why) != 0) {
        FUZZ_REQUIRE(why[0] != '\0');
        free(p);
        return 0;
    }
    check_parsed((const char *)data, size, &resp);
    static const int which[] = {RILL_REMOTE_LIST, RILL_REMOTE_SAVEPOINT, RILL_REMOTE_STOP,
                                RILL_REMOTE_CANCEL, RILL_REMOTE_CHECKPOINTS};
    for (size_t i = 0; i < RILL_ARRAY_LEN(which); i++) {
        rill__remote_cmd c = {.which = which[i],
                              .go_on = true,
                              .addr = "127.0.0.1:8081",
                              .host = "127.0.0.1",
                              .port = 8081,
                              .job = "job-1",
                              .dir = "/tmp/sp"};
        int status = rill__cli_remote_answer(&c, &resp);
        FUZZ_REQUIRE(status == 0 || status == 1);
        FUZZ_REQUIRE(status == 1 || (resp.status >= 200 && resp.status <= 299));
    }
    free(resp.body);
    free(p);
    return 0;
}
