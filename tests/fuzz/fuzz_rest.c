/* fuzz_rest.c - libFuzzer target: the REST API's requests (src/cluster/rest.c) without a socket,
 * through rill__rest_handle: routing by path (percent-decoded once), methods, the "mode"
 * argument, the savepoint and stop bodies and the run body. The input is a request line
 * "METHOD PATH[?mode=VALUE]", a newline, and the body; "@JAR@" in the path stands for the id of
 * a job object stored at start. The JobManager has no jobs (a savepoint never blocks) and a
 * runner that only checks what it is asked to run. Every answer is JSON with a status. */
#include <string.h>

#include "fuzz_jm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* s with every "@JAR@" replaced by the stored object's id. */
static char *with_jar_id(const char *s, size_t n)
{
    rill__buf b = {0};
    for (size_t i = 0; i < n;) {
        if (n - i >= 5 && !memcmp(s + i, "@JAR@", 5)) {
            rill__buf_append(&b, fuzz_jar_id, strlen(fuzz_jar_id));
            i += 5;
        } else {
            rill__buf_putc(&b, s[i++]);
        }
    }
    char *out = rill__xstrdup(rill__buf_cstr(&b));
    rill__buf_free(&b);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_jm)
        fuzz_jm_setup();
    const char *p = (const char *)data, *end = p + size;
    const char *nl = memchr(p, '\n', size);
    const char *line_end = nl ? nl : end;
    const char *sp = memchr(p, ' ', (size_t)(line_end - p));
    if (!sp)
        return 0;
    char *method = rill__xstrndup(p, (size_t)(sp - p));
    char *target = with_jar_id(sp + 1, (size_t)(line_end - sp - 1));
    char *mode = NULL, *q = strchr(target, '?');
    if (q) {
        *q = '\0';
        if (!strncmp(q + 1, "mode=", 5))
            mode = q + 6;
    }
    const char *body = nl ? nl + 1 : end;
    /* the body in a buffer of exactly its size: ASan sees any read past it */
    size_t body_len = (size_t)(end - body);
    char *copy = malloc(body_len ? body_len : 1);
    memcpy(copy, body, body_len);

    unsigned status = 0;
    rill__buf out = {0};
    rill__rest_handle(fuzz_jm, method, target, mode, copy, body_len, &status, &out);
    fuzz_check(status >= 200 && status < 600, "no HTTP status");
    fuzz_check(out.len >= 2 && out.data[0] == '{' && out.data[out.len - 1] == '}',
               "the answer is not a JSON object");
    for (size_t i = 0; i < out.len; i++)
        fuzz_check((unsigned char)out.data[i] >= 0x20, "a control character in the JSON");
    /* an upload that was stored is deleted again, so the store stays one object */
    fuzz_jm_reset_jars();
    rill__buf_free(&out);
    free(copy);
    free(target);
    free(method);
    return 0;
}
