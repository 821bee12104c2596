/* fuzz_http.c - libFuzzer target: the REST API's server (src/cluster/rest.c on libmicrohttpd)
 * fed the raw bytes of whole HTTP requests, as a client on a socket sends them: the request line
 * and headers as MHD parses them, then what rest.c checks before the body (the bearer token, a
 * declared Content-Length, an upload's Content-Type, uploads in progress), the body as it
 * arrives (chunked or not, its limit) and the route. No port is opened: each input goes over a
 * socketpair to a server that listens nowhere (rill__rest_exchange), once to one without a
 * secret and once to one with. "@JAR@" in the input stands for the id of the stored job object,
 * "@TOKEN@" for the guarded server's bearer token. The server must close every connection in
 * time, answer only HTTP, and answer 2xx on the guarded server only to a request with the
 * token. */
#include <string.h>

#include "fuzz_jm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SECRET "fuzz-secret-of-at-least-16-bytes"

static rill__rest *open_srv, *guarded_srv;
static char token[RILL_REST_TOKEN_LEN + 1];

static void setup(void)
{
    rill__err err = {0};
    fuzz_jm_setup();
    fuzz_check(rill__rest_new_unbound(fuzz_jm, NULL, 0, &open_srv, &err) == 0, err.msg);
    const uint8_t *secret = (const uint8_t *)FUZZ_SECRET;
    fuzz_check(rill__rest_new_unbound(fuzz_jm, secret, strlen(FUZZ_SECRET), &guarded_srv, &err) ==
                   0,
               err.msg);
    rill__rest_token(secret, strlen(FUZZ_SECRET), token);
}

/* data with "@JAR@" and "@TOKEN@" replaced, into b. */
static void expand(const uint8_t *data, size_t size, rill__buf *b)
{
    for (size_t i = 0; i < size;) {
        if (size - i >= 5 && !memcmp(data + i, "@JAR@", 5)) {
            rill__buf_append(b, fuzz_jar_id, strlen(fuzz_jar_id));
            i += 5;
        } else if (size - i >= 7 && !memcmp(data + i, "@TOKEN@", 7)) {
            rill__buf_append(b, token, RILL_REST_TOKEN_LEN);
            i += 7;
        } else {
            rill__buf_putc(b, (char)data[i++]);
        }
    }
}

/* Does a status line of class cls ('2': success) start the answer or a line of it? */
static bool has_status(const rill__buf *resp, char cls)
{
    for (size_t i = 0; i + 10 <= resp->len; i++)
        if ((i == 0 || resp->data[i - 1] == '\n') && !memcmp(resp->data + i, "HTTP/1.", 7) &&
            resp->data[i + 8] == ' ' && resp->data[i + 9] == cls)
            return true;
    return false;
}

static void exchange(rill__rest *srv, const rill__buf *req, bool guarded)
{
    rill__buf resp = {0};
    int rc = rill__rest_exchange(srv, req->data, req->len, 5000, &resp);
    fuzz_check(rc == 0, "the server neither answered nor closed the connection in 5 s");
    fuzz_check(resp.len == 0 || (resp.len >= 12 && !memcmp(resp.data, "HTTP/1.", 7)),
               "an answer that is not HTTP");
    if (guarded && !memmem(req->data, req->len, token, RILL_REST_TOKEN_LEN))
        fuzz_check(!has_status(&resp, '2'), "a success without the bearer token");
    rill__buf_free(&resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!open_srv)
        setup();
    rill__buf req = {0};
    expand(data, size, &req);
    rill__buf_cstr(&req);
    exchange(open_srv, &req, false);
    fuzz_jm_reset_jars();
    exchange(guarded_srv, &req, true);
    fuzz_jm_reset_jars();
    rill__buf_free(&req);
    return 0;
}
