/* fuzz_text.c - libFuzzer target: the data layer's CSV and JSON-lines decoders (src/data/csv.c,
 * json.c) on arbitrary lines. The first byte picks the format, the delimiter, whether a CSV
 * header line comes first, and one of a few schemas; every other line is one record. A line
 * either decodes into one row or fails with a message and a column within it, leaving the batch
 * as it was; a decoded row encodes to text that decodes again to a row encoding to the same
 * text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const specs[] = {
    "id INT64 NOT NULL, name STRING, amount DOUBLE, ts TIMESTAMP, ok BOOL",
    "s STRING, t STRING NOT NULL",
    "ts TIMESTAMP NOT NULL, v DOUBLE NOT NULL, b BOOL NOT NULL, i INT64",
    ("x INT64, t TINYINT, f FLOAT, d DECIMAL(30, 2), e DECIMAL(5, 1), dt DATE, tm TIME(3), "
     "ns TIMESTAMP(9), l TIMESTAMP_LTZ(3), by BYTES, ym INTERVAL YEAR TO MONTH"),
};
static rill_schema *schemas[4];

/* Encodes row r of the decoder's schema, decodes that with a decoder that maps fields by
 * position (CSV) or name (JSON), and checks the second encoding equals the first. */
static void round_trip(const rill__decoder *d, rill_row *r)
{
    rill__buf t1 = {0}, t2 = {0};
    if (d->format == RILL_FMT_JSON)
        rill__encode_json_row(d->schema, r, &t1);
    else
        rill__encode_csv_row(d->schema, r, d->delim, &t1);
    FUZZ_REQUIRE(t1.len > 0 && t1.data[t1.len - 1] == '\n');
    rill__decoder d2;
    rill__decoder_init(&d2, d->schema, d->format, d->delim);
    rill_batch *b = rill__batch_new(d->schema, 1);
    rill__parse_err err = {0};
    int rc = rill__decode_line(&d2, t1.data, t1.len - 1, b, &err);
    if (rc != 0) {
        fprintf(stderr, "re-encoded row does not decode: %s\n%.*s", err.what, (int)t1.len, t1.data);
        abort();
    }
    rill_row r2 = rill__batch_row(b, 0);
    if (d->format == RILL_FMT_JSON)
        rill__encode_json_row(d->schema, &r2, &t2);
    else
        rill__encode_csv_row(d->schema, &r2, d->delim, &t2);
    if (t1.len != t2.len || memcmp(t1.data, t2.data, t1.len) != 0) {
        fprintf(stderr, "encodings differ:\n%.*s%.*s", (int)t1.len, t1.data, (int)t2.len, t2.data);
        abort();
    }
    rill__batch_unref(b);
    rill__decoder_close(&d2);
    rill__buf_free(&t1);
    rill__buf_free(&t2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char delims[] = {',', ';', '\t', '|'};
    if (size < 1)
        return 0;
    if (!schemas[0])
        for (size_t i = 0; i < RILL_ARRAY_LEN(specs); i++)
            FUZZ_REQUIRE(rill_schema_parse(specs[i], &schemas[i]) == 0);
    uint8_t sel = data[0];
    rill_format format = sel & 1 ? RILL_FMT_JSON : RILL_FMT_CSV;
    bool header = format == RILL_FMT_CSV && (sel & 2);
    char delim = delims[(sel >> 2) & 3];
    const rill_schema *schema = schemas[(sel >> 4) & 3];
    const char *p = (const char *)data + 1, *end = (const char *)data + size;

    rill__decoder d;
    rill__decoder_init(&d, schema, format, delim);
    rill_batch *b = rill__batch_new(schema, 8);
    for (bool first = true; p < end; first = false) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *line = malloc(n ? n : 1); /* exactly the line: ASan sees a read past it */
        memcpy(line, p, n);
        p += n + (nl != NULL);
        rill__parse_err err = {0};
        if (first && header) {
            int rc = rill__decoder_header(&d, line, n, &err);
            free(line);
            FUZZ_REQUIRE(rc == 0 || (rc == RILL_EPARSE && err.what[0]));
            if (rc)
                break;
            continue;
        }
        if (rill__batch_full(b))
            rill__batch_clear(b);
        uint32_t rows = b->n_rows;
        size_t bytes = b->n_bytes;
        int rc = rill__decode_line(&d, line, n, b, &err);
        free(line);
        if (rc == 0) {
            FUZZ_REQUIRE(b->n_rows == rows + 1);
            rill_row r = rill__batch_row(b, rows);
            round_trip(&d, &r);
        } else {
            FUZZ_REQUIRE(rc == RILL_EPARSE || rc == RILL_ELIMIT);
            FUZZ_REQUIRE(b->n_rows == rows && b->n_bytes == bytes);
            FUZZ_REQUIRE(err.what[0] && err.column >= 1 && err.column <= (long)n + 1);
        }
    }
    rill__batch_unref(b);
    rill__decoder_close(&d);
    return 0;
}
