/* fuzz_data.c - libFuzzer target: the data plane's frames (src/runtime/remote.c) on arbitrary
 * bytes. The first byte picks the frame type (batch, event, credit), the consumer's schema and
 * its batch size; the rest is the payload. What decodes must re-encode to the same bytes (one
 * encoding); what fails leaves a message and nothing allocated (LSan). Runs the frame reader
 * over the same bytes too, as the endpoint's I/O thread reads them. With
 * RILL_FUZZ_WRITE_SEEDS=DIR it writes its seed corpus (batches, events, credits) to DIR and
 * exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "runtime/remote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char *const specs[] = {
    "id INT64 NOT NULL, name STRING, amount DOUBLE, ts TIMESTAMP, ok BOOL",
    "s STRING NOT NULL",
    ("x INT64, t TINYINT, f FLOAT, d DECIMAL(30, 2), e DECIMAL(5, 1), dt DATE, tm TIME(9), "
     "by BYTES"),
    "b BOOL NOT NULL, d DOUBLE NOT NULL, t TIMESTAMP NOT NULL, s STRING",
};
static rill_schema *schemas[4];

static void decode(uint16_t type, const uint8_t *p, size_t n, const rill__remote_spec *spec)
{
    rill__err err = {0};
    rill__buf b = {0};
    rill__remote_chan_id id;
    if (type == RILL_FT_DATA_CREDIT) {
        uint32_t credits;
        if (rill__remote_dec_credit(p, n, &id, &credits, &err) == 0) {
            FUZZ_REQUIRE(credits >= 1);
            rill__remote_enc_credit(&b, id, credits);
            FUZZ_REQUIRE(b.len == n && memcmp(b.data, p, n) == 0);
        } else {
            FUZZ_REQUIRE(err.msg[0] != '\0');
        }
        rill__buf_free(&b);
        return;
    }
    rill__msg m;
    memset(&m, 0, sizeof m);
    int rc = rill__remote_dec_msg(type, p, n, spec, &id, &m, &err);
    if (rc == 0) {
        uint16_t t2;
        FUZZ_REQUIRE(m.kind != RILL_MSG_BATCH || (m.batch && m.batch->n_rows <= spec->max_rows));
        FUZZ_REQUIRE(rill__remote_enc_msg(&b, id, &m, &t2, &err) == 0);
        if (t2 != type || b.len != n || memcmp(b.data, p, n) != 0) {
            fprintf(stderr, "decoded %zu bytes re-encode to %zu other ones\n", n, b.len);
            abort();
        }
        rill__batch_unref(m.batch);
    } else {
        FUZZ_REQUIRE(rc == RILL_EPROTO || rc == RILL_ELIMIT);
        FUZZ_REQUIRE(m.batch == NULL && err.msg[0] != '\0');
    }
    rill__buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint16_t types[] = {RILL_FT_DATA_BATCH, RILL_FT_DATA_EVENT, RILL_FT_DATA_CREDIT};
    if (size < 1)
        return 0;
    if (!schemas[0])
        for (size_t i = 0; i < RILL_ARRAY_LEN(specs); i++)
            FUZZ_REQUIRE(rill_schema_parse(specs[i], &schemas[i]) == 0);
    uint8_t sel = data[0];
    uint16_t type = types[(sel & 3) % 3];
    rill__remote_spec spec = {.schema = schemas[(sel >> 2) & 3],
                              .max_rows = (sel >> 4) == 0 ? 1 : 16u * (sel >> 4)};
    /* the payload in a buffer of exactly its size: ASan sees any read past it */
    size_t n = size - 1;
    uint8_t *p = malloc(n ? n : 1);
    memcpy(p, data + 1, n);
    decode(type, p, n, &spec);
    free(p);

    /* the same bytes as a stream of frames, each decoded as its type says */
    rill__frame_reader r;
    rill__frame_reader_init(&r, 1u << 16, types, RILL_ARRAY_LEN(types));
    size_t off = 1;
    while (off < size) {
        size_t used;
        rill__frame f;
        int rc = rill__frame_reader_feed(&r, data + off, size - off, &used, &f);
        off += used;
        if (rc != 0)
            break;
        decode(f.type, f.payload, f.len, &spec);
    }
    rill__frame_reader_close(&r);
    return 0;
}

/* ---- the seed corpus ---------------------------------------------------------------------- */

static void seed(const char *dir, const char *name, uint8_t sel, const rill__buf *payload)
{
    rill__buf in = {0};
    rill__buf_putc(&in, (char)sel);
    rill__buf_append(&in, payload->data, payload->len);
    fuzz_write(dir, name, in.data, in.len);
    rill__buf_free(&in);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("RILL_FUZZ_WRITE_SEEDS");
    if (!dir)
        return 0;
    for (size_t i = 0; i < RILL_ARRAY_LEN(specs); i++)
        FUZZ_REQUIRE(rill_schema_parse(specs[i], &schemas[i]) == 0);
    rill__remote_chan_id id = {.edge = 3, .from = 1, .to = 2};
    rill__err err = {0};
    uint16_t type;
    /* a batch of schema 0 (sel: type 0, schema 0, 16 rows at most) */
    rill_batch *b = rill__batch_new(schemas[0], 4);
    for (int i = 0; i < 3; i++) {
        rill_row r = rill__batch_append(b);
        rill_row_set_i64(&r, 0, i + 1);
        if (i != 1)
            FUZZ_REQUIRE(rill_row_set_str(&r, 1, "name", 4) == 0);
        rill_row_set_f64(&r, 2, 1.5 * i);
        rill_row_set_ts(&r, 3, 1714564800000 + i);
        rill_row_set_bool(&r, 4, i == 2);
    }
    rill__msg m = {.kind = RILL_MSG_BATCH, .batch = b};
    rill__buf p = {0};
    FUZZ_REQUIRE(rill__remote_enc_msg(&p, id, &m, &type, &err) == 0);
    seed(dir, "batch-3-rows", 0x10, &p);
    p.len = 0;
    /* the same batch with timestamps */
    rill__batch_need_ts(b);
    for (uint32_t i = 0; i < b->n_rows; i++)
        b->ts[i] = 1714564800000 + i;
    b->has_ts = true;
    if (rill__remote_enc_msg(&p, id, &m, &type, &err) == 0)
        seed(dir, "batch-with-ts", 0x10, &p);
    rill__batch_unref(b);
    p.len = 0;
    static const struct {
        const char *name;
        int kind;
        int64_t value;
    } events[] = {{"watermark", RILL_MSG_WATERMARK, 1714564800000},
                  {"idle", RILL_MSG_IDLE, 1},
                  {"barrier", RILL_MSG_BARRIER, 5},
                  {"end", RILL_MSG_END, 0}};
    for (size_t i = 0; i < RILL_ARRAY_LEN(events); i++) {
        rill__msg e = {.kind = events[i].kind, .value = events[i].value};
        FUZZ_REQUIRE(rill__remote_enc_msg(&p, id, &e, &type, &err) == 0);
        seed(dir, events[i].name, 0x01, &p);
        p.len = 0;
    }
    rill__remote_enc_credit(&p, id, 8);
    seed(dir, "credit", 0x02, &p);
    rill__buf_free(&p);
    exit(0);
}
