/* fuzz_rest_body.c - libFuzzer target: the REST API's request body parsers (src/cluster/rest.c,
 * on jansson) called directly, without routing: the first byte picks the parser (even: the body
 * of POST /jobs/<id>/savepoints and /stop; odd: POST /jars/<id>/run), the rest is the body. A
 * body is parsed within every limit the API states, or refused with a reason; the run body's
 * option names are the characters rill run's keys use. */
#include <ctype.h>
#include <string.h>

#include "cluster/cluster.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_run(const rill__rest_run_body *rb)
{
    FUZZ_REQUIRE(rb->n_opts <= RILL_DEPLOY_OPTS_MAX && rb->n_args <= RILL_DEPLOY_ARGS_MAX);
    for (size_t i = 0; i < rb->n_opts; i++) {
        size_t n = strlen(rb->keys[i]);
        FUZZ_REQUIRE(n >= 1 && n <= RILL_OPT_KEY_MAX);
        for (const char *k = rb->keys[i]; *k; k++)
            FUZZ_REQUIRE(isalnum((unsigned char)*k) || *k == '.' || *k == '-' || *k == '_');
        FUZZ_REQUIRE(strlen(rb->values[i]) <= RILL_OPT_VALUE_MAX);
        for (size_t j = 0; j < i; j++)
            FUZZ_REQUIRE(strcmp(rb->keys[i], rb->keys[j]) != 0);
    }
    for (size_t i = 0; i < rb->n_args; i++)
        FUZZ_REQUIRE(strlen(rb->args[i]) <= RILL_ARG_MAX);
    FUZZ_REQUIRE(!rb->name || (strlen(rb->name) >= 1 && strlen(rb->name) <= RILL_JOB_NAME_MAX));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool run = data[0] & 1;
    /* the body in a buffer of exactly its size: ASan sees any read past it */
    size_t len = size - 1;
    char *body = malloc(len ? len : 1);
    memcpy(body, data + 1, len);
    char msg[256] = "";
    if (run) {
        rill__rest_run_body rb;
        if (rill__rest_parse_run_body(body, len, &rb, msg, sizeof msg) == 0) {
            check_run(&rb);
            rill__rest_run_body_free(&rb);
        } else {
            FUZZ_REQUIRE(msg[0] != '\0');
            FUZZ_REQUIRE(rb.n_opts == 0 && rb.n_args == 0 && rb.name == NULL);
        }
    } else {
        rill__rest_savepoint_body sb;
        if (rill__rest_parse_savepoint_body(body, len, &sb, msg, sizeof msg) == 0)
            free(sb.dir);
        else
            FUZZ_REQUIRE(msg[0] != '\0' && sb.dir == NULL);
    }
    free(body);
    return 0;
}
