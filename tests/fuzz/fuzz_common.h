/* fuzz_common.h - shared by the libFuzzer targets: decode a payload as the message its frame
 * type says, and check that whatever decodes re-encodes to the same bytes (one encoding). */
#ifndef RILL_FUZZ_COMMON_H
#define RILL_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/net.h"

static inline void fuzz_require(int cond)
{
    if (!cond)
        abort();
}

static inline void fuzz_same(const rill__buf *b, const uint8_t *p, size_t n)
{
    fuzz_require(b->len == n && (n == 0 || memcmp(b->data, p, n) == 0));
}

static inline void fuzz_message(uint16_t type, const uint8_t *p, size_t n)
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

/* ---- seeds (RILL_FUZZ_WRITE_SEEDS=DIR): the handshake's messages, as written ---- */

static inline void fuzz_seed_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    fuzz_require(f != NULL && (n == 0 || fwrite(p, 1, n, f) == n));
    fclose(f);
}

/* Payloads of a HELLO, AUTH, REFUSE and HEARTBEAT into b[0..3]; their types into types. */
static inline void fuzz_net_payloads(rill__buf b[4], uint16_t types[4])
{
    rill__msg_hello h = {.magic = RILL_PROTO_MAGIC,
                         .version = RILL_PROTO_VERSION,
                         .role = RILL_ROLE_TASKMANAGER,
                         .auth = 1};
    snprintf(h.cluster_id, sizeof h.cluster_id, "cluster-1");
    snprintf(h.name, sizeof h.name, "taskmanager-0");
    for (int i = 0; i < RILL_NONCE_LEN; i++)
        h.nonce[i] = (uint8_t)(i * 7);
    rill__msg_proof p = {.mac_len = RILL_SHA256_LEN};
    memset(p.mac, 0xab, sizeof p.mac);
    rill__msg_refuse r = {.reason = 2};
    snprintf(r.text, sizeof r.text, "bad secret");
    rill__msg_heartbeat hb = {.seq = 9, .sent_ms = 1700000000000, .reply = 1};
    memset(b, 0, 4 * sizeof *b);
    fuzz_require(rill__msg_hello_enc(&b[0], &h) == 0);
    fuzz_require(rill__msg_proof_enc(&b[1], &p) == 0);
    fuzz_require(rill__msg_refuse_enc(&b[2], &r) == 0);
    fuzz_require(rill__msg_heartbeat_enc(&b[3], &hb) == 0);
    types[0] = RILL_FT_HELLO, types[1] = RILL_FT_AUTH, types[2] = RILL_FT_REFUSE;
    types[3] = RILL_FT_HEARTBEAT;
}

#endif
