/* fuzz_kafka.c - libFuzzer target: what the Kafka connectors read from outside - their options
 * (src/connectors/kafka_opts.c: key, value pairs, as a job or a SQL WITH clause gives them),
 * the source's checkpointed position (kafka_source.c: seek_rescaled from old subtasks at any
 * parallelism, then position again) and the exactly-once sink's state (kafka_sink.c). The
 * first byte picks which (mod 3) and, for positions, the new reader's subtask and parallelism;
 * the rest is: options NUL-separated key, value, key, value...; or parts split at "\n--\n", one
 * per old subtask, each starting with a byte of its subtask, parallelism and whether it had
 * finished; or the state itself. Nothing connects to a broker (a reader connects at its first
 * poll). With RILL_FUZZ_WRITE_SEEDS=DIR it writes its seed corpus to DIR and exits. */
#include <string.h>

#include "connectors/connectors.h"
#include "connectors/kafka_int.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_PARTS 8
#define MAX_OPTS  32

static rill_schema *schema;
static void *src_cfg;

static void fuzz_options(const uint8_t *data, size_t size, bool sink)
{
    char *text = rill__xmalloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    const char *opts[2 * MAX_OPTS + 2];
    int n = 0;
    for (size_t at = 0; at <= size && n < 2 * MAX_OPTS;) {
        opts[n++] = text + at;
        at += strlen(text + at) + 1;
    }
    if (n % 2)
        n--;
    opts[n] = NULL;
    rill__err err = {0};
    void *cfg = sink ? rill__kafka_sink_cfg(opts, &err) : rill__kafka_source_cfg(opts, &err);
    FUZZ_REQUIRE(cfg != NULL || (err.code == RILL_ECONFIG && err.msg[0]));
    if (cfg) {
        const rill__source_ops *so = &rill__kafka_source_ops;
        const rill__sink_ops *ko = &rill__kafka_sink_ops;
        int rc = sink ? ko->validate(cfg, schema, &err) : so->validate(cfg, schema, &err);
        FUZZ_REQUIRE(rc == 0 || err.msg[0]);
        rill__kafka_cfg_free(cfg);
    }
    free(text);
}

static void fuzz_positions(uint8_t sel, const uint8_t *data, size_t size)
{
    int par = 1 + (sel >> 2) % 4, subtask = (sel >> 4) % par;
    rill__source_pos pos[MAX_PARTS];
    int n = 0;
    const uint8_t *p = data, *end = data + size;
    while (p < end && n < MAX_PARTS) {
        const uint8_t *cut = (const uint8_t *)memmem(p, (size_t)(end - p), "\n--\n", 4);
        const uint8_t *stop = cut ? cut : end;
        if (stop > p) {
            uint8_t b = *p;
            int op = 1 + (b & 3);
            pos[n] = (rill__source_pos){(b >> 2) % op, op, (b & 0x80) != 0, p + 1,
                                        (size_t)(stop - p - 1)};
            n++;
        }
        p = cut ? cut + 4 : end;
    }
    rill__err err = {0};
    rill__conn_init init = {.uid = "k", .subtask = subtask, .parallelism = par,
                            .batch_size = 16, .err = &err};
    rill__source *s;
    FUZZ_REQUIRE(rill__kafka_source_ops.create(src_cfg, schema, &init, &s) == 0);
    int rc = rill__kafka_source_ops.seek_rescaled(s, pos, n);
    FUZZ_REQUIRE(rc == 0 || (rc == RILL_ECORRUPT && strstr(err.msg, "old subtask")));
    if (rc == 0) { /* what it took, it gives back in its own position */
        rill__buf out = {0};
        FUZZ_REQUIRE(rill__kafka_source_ops.position(s, &out) == 0);
        rill__source_pos again = {subtask, par, false, out.data, out.len};
        rill__source *t;
        FUZZ_REQUIRE(rill__kafka_source_ops.create(src_cfg, schema, &init, &t) == 0);
        FUZZ_REQUIRE(rill__kafka_source_ops.seek_rescaled(t, &again, 1) == 0);
        rill__kafka_source_ops.destroy(t);
        rill__buf_free(&out);
    }
    rill__kafka_source_ops.destroy(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0:
        fuzz_options(data + 1, size - 1, (data[0] & 0x80) != 0);
        break;
    case 1:
        fuzz_positions(data[0], data + 1, size - 1);
        break;
    default: {
        rill__err err = {0};
        int rc = rill__kafka_txn_state_check(data + 1, size - 1, &err);
        FUZZ_REQUIRE(rc == 0 || (rc == RILL_ECORRUPT && err.msg[0]));
        break;
    }
    }
    return 0;
}

/* ---- the seed corpus ---------------------------------------------------------------------- */

static void seed(const char *dir, const char *name, uint8_t sel, const void *p, size_t n)
{
    uint8_t *b = rill__xmalloc(n + 1);
    b[0] = sel;
    memcpy(b + 1, p, n);
    fuzz_write(dir, name, b, n + 1);
    free(b);
}

static void position(rill__buf *b, uint32_t gen, bool discovered, int n_splits, int n_old)
{
    rill__enc e;
    rill__enc_init(&e, b);
    rill__enc_u32(&e, 0x31534b52u); /* "RKS1" */
    rill__enc_u32(&e, 1);
    rill__enc_u32(&e, gen);
    rill__enc_u8(&e, discovered);
    rill__enc_u32(&e, (uint32_t)n_splits);
    for (int i = 0; i < n_splits; i++) {
        rill__enc_str(&e, "topic", i % 2 ? "clicks" : "orders", SIZE_MAX);
        rill__enc_u32(&e, (uint32_t)i);
        rill__enc_i64(&e, 100 * i);
        rill__enc_i64(&e, i % 3 ? -1 : 1000);
        rill__enc_u8(&e, i == 4);
    }
    rill__enc_u32(&e, (uint32_t)n_old);
    for (int i = 0; i < n_old; i++) {
        rill__enc_u32(&e, gen ? gen - 1 : 0);
        rill__enc_u32(&e, (uint32_t)i);
        rill__enc_u32(&e, (uint32_t)n_old);
        rill__enc_u8(&e, i == 0);
        rill__enc_u8(&e, i != 1);
    }
}

static void write_seeds(const char *dir)
{
    static const char opts[] = "url\0kafka://h:1,h:2/t\0scan.startup.mode\0specific-offsets\0"
                               "scan.startup.specific-offsets\0partition:0,offset:42;"
                               "partition:1,offset:3\0scan.bounded.mode\0latest-offset\0"
                               "metadata.off\0offset\0properties.fetch.max.bytes\0100000";
    seed(dir, "source-options", 0x00, opts, sizeof opts - 1);
    static const char pat[] = "topic-pattern\0(clicks|orders)-[0-9]+\0properties.bootstrap."
                              "servers\0h:1\0format\0json\0scan.topic-partition-discovery."
                              "interval\0 10 s";
    seed(dir, "source-pattern", 0x03, pat, sizeof pat - 1);
    static const char sink[] = "topic\0out\0properties.bootstrap.servers\0h:1\0"
                               "sink.delivery-guarantee\0exactly-once\0"
                               "sink.transactional-id-prefix\0p\0key.fields\0id\0"
                               "sink.partitioner\0round-robin";
    seed(dir, "sink-options", 0x81, sink, sizeof sink - 1);
    rill__buf b = {0}, all = {0};
    position(&b, 0, true, 5, 0);
    seed(dir, "position-one", 0x01 | 1 << 2, b.data, b.len);
    for (int i = 0; i < 3; i++) { /* three old subtasks of 3, the last undiscovered */
        b.len = 0;
        position(&b, 2, i != 2, 3 + i, i == 2 ? 2 : 0);
        if (i)
            rill__buf_append(&all, "\n--\n", 4);
        rill__buf_putc(&all, (char)(2 | i << 2));
        rill__buf_append(&all, b.data, b.len);
    }
    rill__buf_append(&all, "\n--\n\x83", 5); /* a finished one */
    seed(dir, "position-rescaled", 0x01 | 3 << 2 | 1 << 4, all.data, all.len);
    /* an exactly-once sink state: two epochs of two messages */
    b.len = 0;
    rill__enc e;
    rill__enc_init(&e, &b);
    rill__enc_u32(&e, 0x31584b52u); /* "RKX1" */
    rill__enc_u32(&e, 1);
    rill__enc_str(&e, "tid", "p-out-0", SIZE_MAX);
    rill__enc_u64(&e, 9);
    rill__enc_u32(&e, 2);
    for (int k = 0; k < 2; k++) {
        rill__buf m = {0};
        rill__enc me;
        rill__enc_init(&me, &m);
        for (int i = 0; i < 2; i++) {
            rill__enc_u32(&me, (uint32_t)(i ? -1 : 1));
            rill__enc_i64(&me, 1700000000000 + i);
            rill__enc_u8(&me, (uint8_t)i);
            rill__enc_bytes(&me, "key", "k", (size_t)i, SIZE_MAX);
            rill__enc_bytes(&me, "value", "1,a", 3, SIZE_MAX);
        }
        rill__enc_u64(&e, 8 + (uint64_t)k);
        rill__enc_u64(&e, 20 + (uint64_t)k);
        rill__enc_u32(&e, 2);
        rill__enc_bytes(&e, "messages", m.data, m.len, SIZE_MAX);
        rill__buf_free(&m);
    }
    seed(dir, "sink-state", 0x02, b.data, b.len);
    rill__buf_free(&b);
    rill__buf_free(&all);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    rill__log_set_level(RILL_LOG_ERROR);
    FUZZ_REQUIRE(rill_schema_parse("id INT64 NOT NULL, name STRING, off INT64", &schema) == 0);
    const char *opts[] = {"url", "kafka://127.0.0.1:9/t", "metadata.off", "offset", NULL};
    rill__err err = {0};
    src_cfg = rill__kafka_source_cfg(opts, &err);
    FUZZ_REQUIRE(src_cfg != NULL);
    FUZZ_REQUIRE(rill__kafka_source_ops.validate(src_cfg, schema, &err) == 0);
    const char *dir = getenv("RILL_FUZZ_WRITE_SEEDS");
    if (dir) {
        write_seeds(dir);
        exit(0);
    }
    return 0;
}
