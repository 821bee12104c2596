/* fuzz_common.h - shared by the libFuzzer targets: decode a payload as the message its frame
 * type says, and check that whatever decodes re-encodes to the same bytes (one encoding). */
#ifndef RILL_FUZZ_COMMON_H
#define RILL_FUZZ_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "base/net.h"

static void fuzz_require(int cond)
{
    if (!cond)
        abort();
}

static void fuzz_same(const rill__buf *b, const uint8_t *p, size_t n)
{
    fuzz_require(b->len == n && (n == 0 || memcmp(b->data, p, n) == 0));
}

static void fuzz_message(uint16_t type, const uint8_t *p, size_t n)
{
    rill__err err = {0};
    rill__buf b = {0};
    int rc;
    switch (type) {
    case RILL_FT_HELLO: {
        rill__msg_hello m;
        rc = rill__msg_hello_dec(p, n, &m, &err);
        /* another magic or version decodes only those two fields: nothing to compare */
        if (rc == 0 && m.magic == RILL_PROTO_MAGIC && m.version == RILL_PROTO_VERSION) {
            fuzz_require(rill__msg_hello_enc(&b, &m) == 0);
            fuzz_same(&b, p, n);
        }
        break;
    }
    case RILL_FT_AUTH:
    case RILL_FT_WELCOME: {
        rill__msg_proof m;
        if (rill__msg_proof_dec(p, n, &m, &err) == 0) {
            fuzz_require(rill__msg_proof_enc(&b, &m) == 0);
            fuzz_same(&b, p, n);
        }
        break;
    }
    case RILL_FT_REFUSE: {
        rill__msg_refuse m;
        if (rill__msg_refuse_dec(p, n, &m, &err) == 0) {
            fuzz_require(rill__msg_refuse_enc(&b, &m) == 0);
            fuzz_same(&b, p, n);
        }
        break;
    }
    case RILL_FT_HEARTBEAT: {
        rill__msg_heartbeat m;
        if (rill__msg_heartbeat_dec(p, n, &m, &err) == 0) {
            fuzz_require(rill__msg_heartbeat_enc(&b, &m) == 0);
            fuzz_same(&b, p, n);
        }
        break;
    }
    default:
        break;
    }
    rill__buf_free(&b);
}

#endif
