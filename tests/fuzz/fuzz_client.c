/* fuzz_client.c - libFuzzer target: what the rill command makes of a JobManager's answer
 * (src/cli/client.c), without a socket: the JSON (read by jansson) and what `rill list`,
 * `checkpoints`, `savepoint`, `stop` and `cancel` print from it, through rill__cli_remote_answer.
 * The HTTP itself is libcurl's. The input is three digits of status, then the body, as a
 * malicious or broken server might send it. An answer ends in exit status 0 or 1, never a
 * crash. */
#include <string.h>

#include "cli/client.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) { /* the tables: their making is tested, not their reading */
        fuzz_check(freopen("/dev/null", "w", stdout) != NULL, "cannot silence stdout");
        quiet = true;
    }
    if (size < 3)
        return 0;
    for (int i = 0; i < 3; i++)
        if (data[i] < '0' || data[i] > '9')
            return 0;
    int status = (data[0] - '0') * 100 + (data[1] - '0') * 10 + (data[2] - '0');
    /* the body as rill__http_request leaves it: its length, then a NUL */
    size_t len = size - 3;
    char *body = malloc(len + 1);
    memcpy(body, data + 3, len);
    body[len] = '\0';
    rill__http_resp resp = {.status = status, .body = body, .body_len = len};
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
        int rc = rill__cli_remote_answer(&c, &resp);
        FUZZ_REQUIRE(rc == 0 || rc == 1);
        FUZZ_REQUIRE(rc == 1 || (status >= 200 && status <= 299));
    }
    free(body);
    return 0;
}
