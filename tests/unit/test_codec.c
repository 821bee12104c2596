/* test_codec.c - unit tests of the data layer's CSV and JSON-lines codecs. */
#include "data/data.h"
#include "test.h"

/* A schema, a decoder and a batch to decode into. */
typedef struct fx {
    rill_schema *s;
    rill__decoder d;
    rill_batch *b;
    rill__parse_err err;
    rill__buf out;
} fx;

static void fx_init(fx *f, const char *spec, rill_format format, char delim)
{
    memset(f, 0, sizeof *f);
    if (rill_schema_parse(spec, &f->s))
        rill_test_fail(__FILE__, __LINE__, "schema \"%s\": %s", spec, rill_last_error());
    rill__decoder_init(&f->d, f->s, format, delim);
    f->b = rill__batch_new(f->s, 64);
}

static void fx_close(fx *f)
{
    rill__decoder_close(&f->d);
    rill__batch_unref(f->b);
    rill_schema_free(f->s);
    rill__buf_free(&f->out);
}

/* Decodes a copy of line in a buffer of exactly its length, so ASan sees any read past it. */
static int dec_n(fx *f, const char *line, size_t n)
{
    if (rill__batch_full(f->b))
        rill__batch_clear(f->b);
    char *copy = malloc(n ? n : 1);
    memcpy(copy, line, n);
    uint32_t rows = f->b->n_rows;
    size_t bytes = f->b->n_bytes;
    memset(&f->err, 0, sizeof f->err);
    int rc = rill__decode_line(&f->d, copy, n, f->b, &f->err);
    free(copy);
    if (rc == 0 && f->b->n_rows != rows + 1)
        rill_test_fail(__FILE__, __LINE__, "decode ok but %u rows (was %u)", f->b->n_rows, rows);
    if (rc != 0 && (f->b->n_rows != rows || f->b->n_bytes != bytes))
        rill_test_fail(__FILE__, __LINE__, "failed decode left a row or bytes behind");
    if (rc != 0 && (f->err.column < 1 || f->err.column > (long)n + 1 || !f->err.what[0]))
        rill_test_fail(__FILE__, __LINE__, "bad error: column %ld of %zu, \"%s\"", f->err.column, n,
                       f->err.what);
    return rc;
}

static int dec(fx *f, const char *line)
{
    return dec_n(f, line, strlen(line));
}

/* Decodes line, which must succeed, and returns its row. */
#define DEC_OK(f, line) dec_ok_(f, line, __LINE__)
static rill_row dec_ok_(fx *f, const char *line, int at)
{
    int rc = dec(f, line);
    if (rc)
        rill_test_fail(__FILE__, at, "decode of '%s': %s (column %ld, field %d): %s", line,
                       rill_err_name(rc), f->err.column, f->err.field, f->err.what);
    return rill__batch_row(f->b, f->b->n_rows - 1);
}

/* Decodes line, which must fail with RILL_EPARSE at column, naming field, with text. */
#define DEC_ERR(f, line, col, fld, text) dec_err_(f, line, col, fld, text, __LINE__)
static void dec_err_(fx *f, const char *line, long col, int field, const char *text, int at)
{
    int rc = dec(f, line);
    if (rc != RILL_EPARSE)
        rill_test_fail(__FILE__, at, "decode of '%s' returned %d, want RILL_EPARSE", line, rc);
    if (f->err.column != col || f->err.field != field || !strstr(f->err.what, text))
        rill_test_fail(__FILE__, at,
                       "decode of '%s': column %ld field %d \"%s\"; want column %ld field %d "
                       "containing \"%s\"",
                       line, f->err.column, f->err.field, f->err.what, col, field, text);
}

static int64_t ts_of(fx *f, const char *line)
{
    rill_row r = dec_ok_(f, line, __LINE__);
    CHECK(!rill_row_is_null(&r, 0));
    return rill_row_ts(&r, 0);
}

static bool str_is(const rill_row *r, int i, const char *want, size_t want_len)
{
    size_t n;
    const char *p = rill_row_str(r, i, &n);
    return !rill_row_is_null(r, i) && n == want_len && (n == 0 || !memcmp(p, want, n));
}
#define STR_IS(r, i, lit) str_is(r, i, lit, sizeof(lit) - 1)

static const char *enc_csv(fx *f, const rill_row *r, char delim)
{
    f->out.len = 0;
    rill__encode_csv_row(f->s, r, delim, &f->out);
    return rill__buf_cstr(&f->out);
}

static const char *enc_json(fx *f, const rill_row *r)
{
    f->out.len = 0;
    rill__encode_json_row(f->s, r, &f->out);
    return rill__buf_cstr(&f->out);
}

/* Same field values (NaN equals NaN; -0 differs from 0; strings by bytes). */
static bool rows_equal(const rill_schema *s, const rill_row *a, const rill_row *b)
{
    for (int i = 0; i < s->n_fields; i++) {
        if (rill_row_is_null(a, i) != rill_row_is_null(b, i))
            return false;
        if (rill_row_is_null(a, i))
            continue;
        if (s->fields[i].type == RILL_T_STRING) {
            size_t na, nb;
            const char *pa = rill_row_str(a, i, &na), *pb = rill_row_str(b, i, &nb);
            if (na != nb || (na && memcmp(pa, pb, na)))
                return false;
        } else if (s->fields[i].type == RILL_T_BOOL) {
            if (rill_row_bool(a, i) != rill_row_bool(b, i))
                return false;
        } else if (s->fields[i].type == RILL_T_DOUBLE && isnan(rill_row_f64(a, i))) {
            if (!isnan(rill_row_f64(b, i)))
                return false;
        } else if (a->v[i] != b->v[i]) {
            return false;
        }
    }
    return true;
}

/* ---- CSV ----------------------------------------------------------------------------------- */

TEST(codec_csv_encode_all_types)
{
    fx f;
    fx_init(&f, "b BOOL, i INT64, d DOUBLE, s STRING, t TIMESTAMP", RILL_FMT_CSV, 0);
    rill_row r = rill__batch_append(f.b);
    rill_row_set_bool(&r, 0, true);
    rill_row_set_i64(&r, 1, -5);
    rill_row_set_f64(&r, 2, 0.1);
    CHECK_RC(rill_row_set_str(&r, 3, "a,b", 3));
    rill_row_set_ts(&r, 4, 1000);
    CHECK_STR(enc_csv(&f, &r, ','), "true,-5,0.1,\"a,b\",1000\n");
    CHECK_STR(enc_csv(&f, &r, ';'), "true;-5;0.1;a,b;1000\n");
    r = rill__batch_append(f.b);
    CHECK_STR(enc_csv(&f, &r, ','), ",,,,\n"); /* all NULL */
    rill_row_set_bool(&r, 0, false);
    rill_row_set_i64(&r, 1, INT64_MIN);
    rill_row_set_f64(&r, 2, -0.0);
    CHECK_RC(rill_row_set_str(&r, 3, "", 0));
    rill_row_set_ts(&r, 4, -1);
    CHECK_STR(enc_csv(&f, &r, 0), "false,-9223372036854775808,-0,\"\",-1\n");
    CHECK_RC(rill_row_set_str(&r, 3, "say \"hi\"", 8));
    CHECK_CONTAINS(enc_csv(&f, &r, ','), ",\"say \"\"hi\"\"\",");
    CHECK_RC(rill_row_set_str(&r, 3, "a\nb", 3));
    CHECK_CONTAINS(enc_csv(&f, &r, ','), ",\"a\nb\",");
    CHECK_RC(rill_row_set_str(&r, 3, "a\rb", 3));
    CHECK_CONTAINS(enc_csv(&f, &r, ','), ",\"a\rb\",");
    CHECK_RC(rill_row_set_str(&r, 3, " x ", 3));
    CHECK_CONTAINS(enc_csv(&f, &r, ','), ", x ,");
    CHECK_RC(rill_row_set_str(&r, 3, "\"", 1));
    CHECK_CONTAINS(enc_csv(&f, &r, ','), ",\"\"\"\",");
    /* appends: the encoder never clears what the buffer holds */
    f.out.len = 0;
    rill__encode_csv_row(f.s, &r, ',', &f.out);
    rill__encode_csv_row(f.s, &r, ',', &f.out);
    CHECK_EQ(f.out.len, 2 * strlen("false,-9223372036854775808,-0,\"\"\"\",-1\n"));
    fx_close(&f);
}

TEST(codec_csv_header_encode)
{
    rill_schema *s = rill_schema_new();
    CHECK_RC(rill_schema_add(s, "a", RILL_T_INT64, true));
    CHECK_RC(rill_schema_add(s, "we,ird", RILL_T_STRING, true));
    CHECK_RC(rill_schema_add(s, "q\"", RILL_T_STRING, true));
    CHECK_RC(rill_schema_add(s, "semi;", RILL_T_STRING, true));
    rill__buf b = {0};
    rill__encode_csv_header(s, ',', &b);
    CHECK_STR(rill__buf_cstr(&b), "a,\"we,ird\",\"q\"\"\",semi;\n");
    b.len = 0;
    rill__encode_csv_header(s, ';', &b);
    CHECK_STR(rill__buf_cstr(&b), "a;we,ird;\"q\"\"\";\"semi;\"\n");
    /* and the decoder maps it back by name */
    rill__decoder d;
    rill__decoder_init(&d, s, RILL_FMT_CSV, ';');
    rill__parse_err err;
    CHECK_RC(rill__decoder_header(&d, b.data, b.len - 1, &err));
    CHECK_EQ(d.n_cols, 4);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(d.col_field[i], i);
    rill__decoder_close(&d);
    rill__buf_free(&b);
    rill_schema_free(s);
}

TEST(codec_csv_decode_quoting)
{
    fx f;
    fx_init(&f, "i INT64, s STRING, t STRING, u STRING", RILL_FMT_CSV, 0);
    rill_row r = DEC_OK(&f, "1,\"a,b\",\"say \"\"hi\"\"\",\"\"");
    CHECK_EQ(rill_row_i64(&r, 0), 1);
    CHECK(STR_IS(&r, 1, "a,b"));
    CHECK(STR_IS(&r, 2, "say \"hi\""));
    CHECK(STR_IS(&r, 3, "")); /* a quoted empty string is "", not NULL */
    r = DEC_OK(&f, "1,,x,");
    CHECK(rill_row_is_null(&r, 1));
    CHECK(STR_IS(&r, 2, "x"));
    CHECK(rill_row_is_null(&r, 3));
    r = DEC_OK(&f, ",,,");
    for (int i = 0; i < 4; i++)
        CHECK(rill_row_is_null(&r, i));
    /* quoted numbers, blanks around numbers; strings keep their blanks */
    r = DEC_OK(&f, "\"12\", a ,\"\"\"\",\" \"");
    CHECK_EQ(rill_row_i64(&r, 0), 12);
    CHECK(STR_IS(&r, 1, " a "));
    CHECK(STR_IS(&r, 2, "\""));
    CHECK(STR_IS(&r, 3, " "));
    r = DEC_OK(&f, " 7\t,x,y,z");
    CHECK_EQ(rill_row_i64(&r, 0), 7);
    /* a quote inside an unquoted field is taken as it is */
    r = DEC_OK(&f, "1,ab\"c,d,e");
    CHECK(STR_IS(&r, 1, "ab\"c"));
    /* the fast paths (no escapes) never touch the scratch buffer */
    fx g;
    fx_init(&g, "i INT64, s STRING", RILL_FMT_CSV, 0);
    DEC_OK(&g, "1,\"plain, quoted\"");
    DEC_OK(&g, "2,plain");
    CHECK(g.d.scratch.data == NULL);
    fx_close(&g);
    fx_close(&f);
}

TEST(codec_csv_quote_errors_and_newlines)
{
    fx f;
    fx_init(&f, "i INT64, s STRING, t STRING", RILL_FMT_CSV, 0);
    DEC_ERR(&f, "1,\"abc", 3, 1,
            "expected a closing quote for the field that starts at column 3, "
            "got end of line");
    DEC_ERR(&f, "1,\"abc\"\"", 3, 1, "closing quote");
    DEC_ERR(&f, "\"", 1, 0, "closing quote");
    DEC_ERR(&f, "1,\"ab\"x,c", 7, 1,
            "expected a delimiter or end of line after the closing "
            "quote, got 'x'");
    /* line breaks inside a quoted field are data (RFC 4180): the file source hands over the
     * whole record */
    rill_row q = DEC_OK(&f, "1,\"a\nb\",c");
    CHECK(STR_IS(&q, 1, "a\nb"));
    q = DEC_OK(&f, "1,\"a\r\nb\",c");
    CHECK(STR_IS(&q, 1, "a\r\nb"));
    /* an unquoted line feed is just a byte (the caller splits lines) */
    rill_row r = DEC_OK(&f, "1,a\nb,c");
    CHECK(STR_IS(&r, 1, "a\nb"));
    fx_close(&f);
}

TEST(codec_csv_trailing_cr)
{
    fx f;
    fx_init(&f, "i INT64, s STRING", RILL_FMT_CSV, 0);
    rill_row r = DEC_OK(&f, "1,abc\r");
    CHECK(STR_IS(&r, 1, "abc"));
    r = DEC_OK(&f, "2,\"abc\"\r");
    CHECK(STR_IS(&r, 1, "abc"));
    r = DEC_OK(&f, "3,\r");
    CHECK(rill_row_is_null(&r, 1));
    DEC_ERR(&f, "4\r,x", 1, 0, "got \"4\\x0d\"");
    fx_close(&f);
}

TEST(codec_csv_cr_inside_line_is_data)
{
    fx f;
    fx_init(&f, "s STRING, i INT64", RILL_FMT_CSV, 0);
    rill_row r = DEC_OK(&f, "a\rb,1");
    CHECK(STR_IS(&r, 0, "a\rb"));
    /* only one trailing CR is a line terminator */
    r = DEC_OK(&f, "x,1\r");
    CHECK_EQ(rill_row_i64(&r, 1), 1);
    DEC_ERR(&f, "x,1\r\r", 3, 1, "got \"1\\x0d\"");
    fx_close(&f);
}

TEST(codec_csv_custom_delimiter)
{
    fx f;
    fx_init(&f, "i INT64, s STRING, t STRING", RILL_FMT_CSV, '\t');
    rill_row r = DEC_OK(&f, "1\ta,b\t\"x\ty\"");
    CHECK_EQ(rill_row_i64(&r, 0), 1);
    CHECK(STR_IS(&r, 1, "a,b"));
    CHECK(STR_IS(&r, 2, "x\ty"));
    CHECK_STR(enc_csv(&f, &r, '\t'), "1\ta,b\t\"x\ty\"\n");
    DEC_ERR(&f, "1,2,3", 1, 0, "expected INT64 for field 'i', got \"1,2,3\"");
    DEC_ERR(&f, "1\ta", 4, 2, "too few columns: expected 3, found 2");
    fx_close(&f);

    fx_init(&f, "i INT64, s STRING", RILL_FMT_CSV, ';');
    r = DEC_OK(&f, "5;\"a;b\"");
    CHECK(STR_IS(&r, 1, "a;b"));
    CHECK_STR(enc_csv(&f, &r, ';'), "5;\"a;b\"\n");
    fx_close(&f);
}

TEST(codec_csv_not_null_empty_is_error)
{
    fx f;
    fx_init(&f, "id INT64 NOT NULL, s STRING NOT NULL, d DOUBLE", RILL_FMT_CSV, 0);
    DEC_ERR(&f, ",x,1", 1, 0, "expected INT64 for NOT NULL field 'id', got an empty field");
    DEC_ERR(&f, "1,,1", 3, 1, "expected STRING for NOT NULL field 's', got an empty field");
    DEC_ERR(&f, "  ,x,1", 1, 0, "got an empty field");
    rill_row r = DEC_OK(&f, "1,\"\",");
    CHECK(STR_IS(&r, 1, ""));
    CHECK(rill_row_is_null(&r, 2));
    fx_close(&f);
}

TEST(codec_csv_bad_values_name_field_and_column)
{
    fx f;
    fx_init(&f, "id INT64, amount INT64, price DOUBLE, ok BOOL, ts TIMESTAMP", RILL_FMT_CSV, 0);
    DEC_ERR(&f, "1,12x,2.5,true,5", 3, 1, "expected INT64 for field 'amount', got \"12x\"");
    CHECK_STR(f.err.what, "expected INT64 for field 'amount', got \"12x\"");
    DEC_ERR(&f, "1,2,abc,true,5", 5, 2, "expected DOUBLE for field 'price', got \"abc\"");
    DEC_ERR(&f, "1,2,2.5,maybe,5", 9, 3, "expected BOOL for field 'ok', got \"maybe\"");
    DEC_ERR(&f, "1,2,2.5,true,yesterday", 14, 4,
            "expected TIMESTAMP (epoch ms or ISO-8601) for field 'ts', got \"yesterday\"");
    DEC_ERR(&f, "1,99999999999999999999,2.5,true,5", 3, 1,
            "got \"99999999999999999999\" (out of range)");
    DEC_ERR(&f, "1,2,1e999,true,5", 5, 2, "got \"1e999\" (out of range)");
    DEC_ERR(&f, "1,\"1 2\",2.5,true,5", 3, 1, "got \"1 2\"");
    DEC_ERR(&f, "1,0x10,2.5,true,5", 3, 1, "got \"0x10\"");
    DEC_ERR(&f, "1,2,2.5,true,5,", 16, -1, "too many columns: expected 5, found 6");
    /* long values are cut, odd bytes shown as \xNN */
    DEC_ERR(&f, "1,2,2.5,true,0123456789012345678901234567890123456789012345", 14, 4,
            "got \"0123456789012345678901234567890123456789...\"");
    DEC_ERR(&f, "1,\x01\xff,2.5,true,5", 3, 1, "got \"\\x01\\xff\"");
    rill_row r = DEC_OK(&f, "-1,+2,-2.5e-3,FALSE,0");
    CHECK_EQ(rill_row_i64(&r, 0), -1);
    CHECK_EQ(rill_row_i64(&r, 1), 2);
    CHECK_DBL(rill_row_f64(&r, 2), -2.5e-3, 0);
    CHECK(!rill_row_bool(&r, 3));
    r = DEC_OK(&f, "1,2,NaN,1,5");
    CHECK(isnan(rill_row_f64(&r, 2)));
    CHECK(rill_row_bool(&r, 3));
    r = DEC_OK(&f, "1,2,-Infinity,0,5");
    CHECK(isinf(rill_row_f64(&r, 2)) && rill_row_f64(&r, 2) < 0);
    fx_close(&f);
}

TEST(codec_csv_column_counts)
{
    fx f;
    fx_init(&f, "a INT64, b INT64, c INT64", RILL_FMT_CSV, 0);
    DEC_ERR(&f, "1,2", 4, 2, "too few columns: expected 3, found 2");
    DEC_ERR(&f, "", 1, 1, "too few columns: expected 3, found 1");
    DEC_ERR(&f, "1,2,3,4,5", 7, -1, "too many columns: expected 3, found 5");
    DEC_ERR(&f, "1,2,3,", 7, -1, "too many columns: expected 3, found 4");
    DEC_ERR(&f, "1,2,3,\"4", 7, -1, "too many columns: expected 3, found at least 4");
    DEC_ERR(&f, "1,2,3,\"4\",\"5", 7, -1, "too many columns: expected 3, found at least 5");
    rill_row r = DEC_OK(&f, "1,2,3");
    CHECK_EQ(rill_row_i64(&r, 2), 3);
    fx_close(&f);

    /* one column: an empty line is one NULL field */
    fx_init(&f, "a INT64", RILL_FMT_CSV, 0);
    r = DEC_OK(&f, "");
    CHECK(rill_row_is_null(&r, 0));
    fx_close(&f);
}

TEST(codec_csv_header_maps_columns_by_name)
{
    fx f;
    fx_init(&f, "id INT64 NOT NULL, name STRING, amount DOUBLE", RILL_FMT_CSV, 0);
    const char *h = "\xef\xbb\xbf"
                    "amount, extra ,\"id\"\r";
    CHECK_RC(rill__decoder_header(&f.d, h, strlen(h), &f.err));
    CHECK_EQ(f.d.n_cols, 3);
    CHECK_EQ(f.d.col_field[0], 2);
    CHECK_EQ(f.d.col_field[1], -1);
    CHECK_EQ(f.d.col_field[2], 0);
    /* the extra column is not even parsed; the missing nullable field is NULL */
    rill_row r = DEC_OK(&f, "2.5,\"whatever, \"\"really\"\"\",7");
    CHECK_EQ(rill_row_i64(&r, 0), 7);
    CHECK(rill_row_is_null(&r, 1));
    CHECK_DBL(rill_row_f64(&r, 2), 2.5, 0);
    DEC_ERR(&f, "x,y,7", 1, 2, "expected DOUBLE for field 'amount', got \"x\"");
    DEC_ERR(&f, "1,y", 4, 0, "too few columns: expected 3, found 2");
    DEC_ERR(&f, "1,y,7,8", 7, -1, "too many columns: expected 3, found 4");
    /* a new header replaces the mapping */
    CHECK_RC(rill__decoder_header(&f.d, "name,id", 7, &f.err));
    CHECK_EQ(f.d.n_cols, 2);
    r = DEC_OK(&f, "bob,3");
    CHECK(STR_IS(&r, 0 + 1, "bob"));
    CHECK_EQ(rill_row_i64(&r, 0), 3);
    CHECK(rill_row_is_null(&r, 2));
    /* a repeated column that maps to no field is ignored too */
    CHECK_RC(rill__decoder_header(&f.d, "x,id,x", 6, &f.err));
    r = DEC_OK(&f, "a,4,b");
    CHECK_EQ(rill_row_i64(&r, 0), 4);
    fx_close(&f);
}

TEST(codec_csv_header_errors)
{
    fx f;
    fx_init(&f, "id INT64 NOT NULL, name STRING", RILL_FMT_CSV, 0);
    CHECK_EQ(rill__decoder_header(&f.d, "name,amount", 11, &f.err), RILL_EPARSE);
    CHECK_CONTAINS(f.err.what, "expected a column for NOT NULL field 'id' in the header, found "
                               "none in \"name,amount\"");
    CHECK_EQ(f.err.field, 0);
    CHECK_EQ(f.err.column, 1);
    CHECK_EQ(rill__decoder_header(&f.d, "id,name,id", 10, &f.err), RILL_EPARSE);
    CHECK_CONTAINS(f.err.what, "got 'id' twice (columns 1 and 3)");
    CHECK_EQ(f.err.column, 9);
    CHECK_EQ(f.err.field, 0);
    CHECK_EQ(rill__decoder_header(&f.d, "id,\"name", 8, &f.err), RILL_EPARSE);
    CHECK_CONTAINS(f.err.what, "closing quote");
    /* failed headers leave the previous mapping (by position) in place */
    CHECK_EQ(f.d.n_cols, 2);
    rill_row r = DEC_OK(&f, "1,n");
    CHECK_EQ(rill_row_i64(&r, 0), 1);
    fx_close(&f);

    /* JSON has no header: accepted and ignored */
    fx_init(&f, "id INT64", RILL_FMT_JSON, 0);
    CHECK_RC(rill__decoder_header(&f.d, "whatever", 8, &f.err));
    fx_close(&f);
}

TEST(codec_failed_row_leaves_batch_unchanged)
{
    fx f;
    fx_init(&f, "s STRING, t STRING, i INT64", RILL_FMT_CSV, 0);
    DEC_OK(&f, "first,row,1");
    size_t bytes = f.b->n_bytes;
    /* two strings are stored before the bad number is found */
    CHECK_EQ(dec(&f, "long string one,long string two,bad"), RILL_EPARSE);
    CHECK_EQ(f.b->n_rows, 1);
    CHECK_EQ(f.b->n_bytes, bytes);
    rill_row r = DEC_OK(&f, "second,row,2");
    CHECK(STR_IS(&r, 0, "second"));
    r = rill__batch_row(f.b, 0);
    CHECK(STR_IS(&r, 1, "row"));
    fx_close(&f);

    fx_init(&f, "s STRING, i INT64", RILL_FMT_JSON, 0);
    DEC_OK(&f, "{\"s\":\"a\",\"i\":1}");
    bytes = f.b->n_bytes;
    CHECK_EQ(dec(&f, "{\"s\":\"xyz\",\"i\":\"no\"}"), RILL_EPARSE);
    CHECK_EQ(f.b->n_rows, 1);
    CHECK_EQ(f.b->n_bytes, bytes);
    fx_close(&f);
}

/* ---- JSON ---------------------------------------------------------------------------------- */

TEST(codec_json_encode_all_types)
{
    fx f;
    fx_init(&f, "user_id INT64, total DOUBLE, ts TIMESTAMP, ok BOOL, name STRING", RILL_FMT_JSON,
            0);
    rill_row r = rill__batch_append(f.b);
    rill_row_set_i64(&r, 0, 1);
    rill_row_set_f64(&r, 1, 12.5);
    rill_row_set_ts(&r, 2, 1000);
    rill_row_set_bool(&r, 3, false);
    CHECK_RC(rill_row_set_str(&r, 4, "al", 2));
    CHECK_STR(enc_json(&f, &r),
              "{\"user_id\":1,\"total\":12.5,\"ts\":1000,\"ok\":false,\"name\":\"al\"}\n");
    r = rill__batch_append(f.b);
    CHECK_STR(enc_json(&f, &r),
              "{\"user_id\":null,\"total\":null,\"ts\":null,\"ok\":null,\"name\":null}\n");
    rill_row_set_f64(&r, 1, (double)NAN);
    rill_row_set_ts(&r, 2, -86400000);
    rill_row_set_bool(&r, 3, true);
    CHECK_RC(rill_row_set_str(&r, 4, "", 0));
    CHECK_STR(enc_json(&f, &r),
              "{\"user_id\":null,\"total\":null,\"ts\":-86400000,\"ok\":true,\"name\":\"\"}\n");
    rill_row_set_f64(&r, 1, (double)INFINITY);
    CHECK_CONTAINS(enc_json(&f, &r), "\"total\":null");
    rill_row_set_f64(&r, 1, -(double)INFINITY);
    CHECK_CONTAINS(enc_json(&f, &r), "\"total\":null");
    rill_row_set_f64(&r, 1, 5.0);
    CHECK_CONTAINS(enc_json(&f, &r), "\"total\":5,");
    fx_close(&f);
}

TEST(codec_json_output_escapes)
{
    rill_schema *s = rill_schema_new();
    CHECK_RC(rill_schema_add(s, "s", RILL_T_STRING, true));
    CHECK_RC(rill_schema_add(s, "we\"ird\n", RILL_T_INT64, true));
    rill_batch *b = rill__batch_new(s, 2);
    rill_row r = rill__batch_append(b);
    const char raw[] = "q\"b\\s\n\t\r\b\f\x01\x1f\x7f \xc3\xa9/";
    CHECK_RC(rill_row_set_str(&r, 0, raw, sizeof raw - 1));
    rill_row_set_i64(&r, 1, 3);
    rill__buf out = {0};
    rill__encode_json_row(s, &r, &out);
    CHECK_STR(rill__buf_cstr(&out), "{\"s\":\"q\\\"b\\\\s\\n\\t\\r\\b\\f\\u0001\\u001f\x7f "
                                    "\xc3\xa9/\",\"we\\\"ird\\n\":3}\n");
    /* and back */
    rill__decoder d;
    rill__decoder_init(&d, s, RILL_FMT_JSON, 0);
    rill__parse_err err;
    CHECK_RC(rill__decode_line(&d, out.data, out.len - 1, b, &err));
    rill_row back = rill__batch_row(b, 1);
    CHECK(str_is(&back, 0, raw, sizeof raw - 1));
    CHECK_EQ(rill_row_i64(&back, 1), 3);
    rill__decoder_close(&d);
    rill__buf_free(&out);
    rill__batch_unref(b);
    rill_schema_free(s);
}

TEST(codec_json_decode_whitespace_and_unknown_keys)
{
    fx f;
    fx_init(&f, "i INT64, s STRING, d DOUBLE", RILL_FMT_JSON, 0);
    rill_row r = DEC_OK(&f, "  { \"i\" : 1 ,\t\"zz\": {\"a\":[1,2,{\"b\":null}],\"c\":\"x\\\"}\"},"
                            " \"s\":\"v\", \"n2\": [true,false,null,-1.5e3,[]], \"e\":{} }  \r");
    CHECK_EQ(rill_row_i64(&r, 0), 1);
    CHECK(STR_IS(&r, 1, "v"));
    CHECK(rill_row_is_null(&r, 2));
    r = DEC_OK(&f, "{}");
    for (int i = 0; i < 3; i++)
        CHECK(rill_row_is_null(&r, i));
    r = DEC_OK(&f, "{ }");
    r = DEC_OK(&f, "{\"I\":5,\"s \":\"x\"}"); /* keys are case-sensitive and exact */
    CHECK(rill_row_is_null(&r, 0));
    CHECK(rill_row_is_null(&r, 1));
    /* unknown keys' values are still checked for syntax */
    DEC_ERR(&f, "{\"zz\":[1,}", 10, -1, "expected a value, got '}'");
    DEC_ERR(&f, "{\"zz\":{\"a\" 1}}", 12, -1, "expected ':' after the key, got '1'");
    DEC_ERR(&f, "{\"zz\":{1:2}}", 8, -1, "expected a key string, got '1'");
    DEC_ERR(&f, "{\"zz\":[1 2]}", 10, -1, "expected ',' or ']', got '2'");
    DEC_ERR(&f, "{\"zz\":tru}", 7, -1, "expected a value (true, false or null), got 't'");
    DEC_ERR(&f, "{\"zz\":\"abc}", 7, -1, "expected a closing quote for the string");
    /* deep nesting in an ignored value is refused, not a stack overflow */
    char deep[600];
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof deep, "{\"zz\":");
    for (int k = 0; k < 200; k++)
        deep[n++] = '[';
    for (int k = 0; k < 200; k++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    CHECK_EQ(dec(&f, deep), RILL_EPARSE);
    CHECK_CONTAINS(f.err.what, "levels of nesting");
    /* a line of key-value pairs where a key appears in an unknown value does not count */
    r = DEC_OK(&f, "{\"zz\":{\"i\":1,\"i\":2},\"i\":3}");
    CHECK_EQ(rill_row_i64(&r, 0), 3);
    fx_close(&f);
}

TEST(codec_json_nested_value_for_field_is_error)
{
    fx f;
    fx_init(&f, "i INT64, s STRING, t TIMESTAMP", RILL_FMT_JSON, 0);
    DEC_ERR(&f, "{\"i\":{\"a\":1}}", 6, 0, "expected INT64 for field 'i', got a JSON object");
    /* a STRING takes an object or array as its JSON text, as Flink's json format does */
    rill_row r = DEC_OK(&f, "{\"i\":1, \"s\":[1, {\"a\" : \"b c\"}]}");
    CHECK(STR_IS(&r, 1, "[1,{\"a\":\"b c\"}]"));
    DEC_ERR(&f, "{\"t\":{}}", 6, 2,
            "expected TIMESTAMP (epoch ms or ISO-8601) for field 't', got a JSON object");
    fx_close(&f);
}

TEST(codec_json_string_escapes)
{
    fx f;
    fx_init(&f, "s STRING", RILL_FMT_JSON, 0);
    rill_row r = DEC_OK(&f, "{\"s\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20AC"
                            "\\ud83d\\ude00!\"}");
    CHECK(STR_IS(&r, 0, "a\"b\\c/d\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80!"));
    r = DEC_OK(&f, "{\"s\":\"\\u0000x\"}");
    CHECK(STR_IS(&r, 0, "\0x"));
    r = DEC_OK(&f, "{\"s\":\"\\uDBFF\\uDFFF\"}"); /* U+10FFFF */
    CHECK(STR_IS(&r, 0, "\xf4\x8f\xbf\xbf"));
    r = DEC_OK(&f, "{\"s\":\"\"}");
    CHECK(STR_IS(&r, 0, ""));
    r = DEC_OK(&f, "{\"\\u0073\":\"key with an escape\"}");
    CHECK(STR_IS(&r, 0, "key with an escape"));
    r = DEC_OK(&f, "{\"s\":\"raw \xc3\xa9 utf-8\"}");
    CHECK(STR_IS(&r, 0, "raw \xc3\xa9 utf-8"));
    DEC_ERR(&f, "{\"s\":\"x\\ud83d\"}", 8, 0, "expected a low surrogate");
    DEC_ERR(&f, "{\"s\":\"x\\ud83dabcdef\"}", 8, 0, "expected a low surrogate");
    DEC_ERR(&f, "{\"s\":\"x\\ud83d\\u0041\"}", 8, 0, "expected a low surrogate");
    DEC_ERR(&f, "{\"s\":\"\\ude00\"}", 7, 0, "expected a high surrogate before \\ude00");
    DEC_ERR(&f, "{\"s\":\"\\x41\"}", 7, 0, "expected an escape");
    DEC_ERR(&f, "{\"s\":\"\\u12g4\"}", 7, 0, "expected 4 hex digits after \\u");
    DEC_ERR(&f, "{\"s\":\"\\u12\"}", 7, 0, "expected 4 hex digits after \\u");
    DEC_ERR(&f, "{\"s\":\"a\tb\"}", 8, 0, "got control character 0x09");
    DEC_ERR(&f, "{\"s\":\"a\\n\x01\"}", 10, 0, "got control character 0x01");
    DEC_ERR(&f, "{\"s\":\"abc", 6, 0,
            "expected a closing quote for the string that starts at "
            "column 6, got end of line");
    DEC_ERR(&f, "{\"s\":\"abc\\", 6, 0, "closing quote");
    DEC_ERR(&f, "{\"s\":\"abc\\\"}", 6, 0, "closing quote");
    fx_close(&f);
}

TEST(codec_json_duplicate_keys)
{
    fx f;
    fx_init(&f, "i INT64, s STRING", RILL_FMT_JSON, 0);
    DEC_ERR(&f, "{\"i\":1,\"i\":2}", 8, 0, "expected each key once, got \"i\" twice");
    DEC_ERR(&f, "{\"i\":null, \"s\":\"x\", \"i\":2}", 21, 0, "got \"i\" twice");
    DEC_ERR(&f, "{\"i\":1,\"\\u0069\":2}", 8, 0, "twice");
    /* unknown keys may repeat; the next record starts afresh */
    rill_row r = DEC_OK(&f, "{\"z\":1,\"z\":2,\"i\":1}");
    CHECK_EQ(rill_row_i64(&r, 0), 1);
    r = DEC_OK(&f, "{\"i\":2}");
    CHECK_EQ(rill_row_i64(&r, 0), 2);
    fx_close(&f);
}

TEST(codec_json_numbers)
{
    fx f;
    fx_init(&f, "i INT64, d DOUBLE", RILL_FMT_JSON, 0);
    rill_row r = DEC_OK(&f, "{\"d\":3}");
    CHECK_DBL(rill_row_f64(&r, 1), 3.0, 0);
    r = DEC_OK(&f, "{\"d\":-1.5e-3,\"i\":-0}");
    CHECK_DBL(rill_row_f64(&r, 1), -1.5e-3, 0);
    CHECK_EQ(rill_row_i64(&r, 0), 0);
    r = DEC_OK(&f, "{\"d\":1E+2,\"i\":9223372036854775807}");
    CHECK_DBL(rill_row_f64(&r, 1), 100.0, 0);
    CHECK(rill_row_i64(&r, 0) == INT64_MAX);
    r = DEC_OK(&f, "{\"i\":-9223372036854775808}");
    CHECK(rill_row_i64(&r, 0) == INT64_MIN);
    /* Flink's json format (Jackson's canConvertToLong, then asLong): a number with a fraction
     * within range is cut toward zero; text is parsed as Long.parseLong does */
    r = DEC_OK(&f, "{\"i\":1.5,\"d\":\" 1.5 \"}");
    CHECK_EQ(rill_row_i64(&r, 0), 1);
    CHECK_DBL(rill_row_f64(&r, 1), 1.5, 0);
    r = DEC_OK(&f, "{\"i\":-1e3,\"d\":1e999}");
    CHECK_EQ(rill_row_i64(&r, 0), -1000);
    CHECK(isinf(rill_row_f64(&r, 1)));
    r = DEC_OK(&f, "{\"i\":\"5\",\"d\":\"-Infinity\"}");
    CHECK_EQ(rill_row_i64(&r, 0), 5);
    CHECK(isinf(rill_row_f64(&r, 1)) && rill_row_f64(&r, 1) < 0);
    DEC_ERR(&f, "{\"i\":1e19}", 6, 0, "expected INT64 for field 'i', got 1e19 (out of range)");
    DEC_ERR(&f, "{\"i\":\"1.5\"}", 6, 0, "expected INT64 for field 'i', got \"1.5\"");
    DEC_ERR(&f, "{\"i\":9223372036854775808}", 6, 0,
            "expected INT64 for field 'i', got 9223372036854775808 (out of range)");
    DEC_ERR(&f, "{\"i\":-9223372036854775809}", 6, 0, "(out of range)");
    DEC_ERR(&f, "{\"i\":true}", 6, 0, "got true");
    DEC_ERR(&f, "{\"d\":\"1.5x\"}", 6, 1, "expected DOUBLE for field 'd', got \"1.5x\"");
    DEC_ERR(&f, "{\"d\":false}", 6, 1, "expected DOUBLE for field 'd', got false");
    DEC_ERR(&f, "{\"d\":01}", 7, -1, "expected ',' or '}' after a value, got '1'");
    DEC_ERR(&f, "{\"d\":-}", 7, 1, "expected a digit, got '}'");
    DEC_ERR(&f, "{\"d\":1.}", 8, 1, "expected a digit after the decimal point, got '}'");
    DEC_ERR(&f, "{\"d\":1e}", 8, 1, "expected a digit in the exponent, got '}'");
    DEC_ERR(&f, "{\"d\":.5}", 6, 1, "expected a value, got '.'");
    DEC_ERR(&f, "{\"d\":+1}", 6, 1, "expected a value, got '+'");
    DEC_ERR(&f, "{\"d\":NaN}", 6, 1, "expected a value, got 'N'");
    DEC_ERR(&f, "{\"d\":Infinity}", 6, 1, "got 'I'");
    fx_close(&f);
}

TEST(codec_json_bools_and_nulls)
{
    fx f;
    fx_init(&f, "id INT64 NOT NULL, b BOOL, s STRING", RILL_FMT_JSON, 0);
    rill_row r = DEC_OK(&f, "{\"id\":1,\"b\":true,\"s\":null}");
    CHECK(rill_row_bool(&r, 1));
    CHECK(rill_row_is_null(&r, 2));
    r = DEC_OK(&f, "{\"b\":false,\"id\":2}");
    CHECK(!rill_row_is_null(&r, 1));
    CHECK(!rill_row_bool(&r, 1));
    r = DEC_OK(&f, "{\"id\":3,\"b\":null}");
    CHECK(rill_row_is_null(&r, 1));
    /* Flink's: Boolean.parseBoolean of the value's text; a number is a STRING's text */
    r = DEC_OK(&f, "{\"id\":1,\"b\":1,\"s\":5}");
    CHECK(!rill_row_is_null(&r, 1) && !rill_row_bool(&r, 1));
    CHECK(STR_IS(&r, 2, "5"));
    r = DEC_OK(&f, "{\"id\":1,\"b\":\" TRUE \",\"s\":-2.50}");
    CHECK(rill_row_bool(&r, 1));
    CHECK(STR_IS(&r, 2, "-2.5"));
    DEC_ERR(&f, "{\"id\":1,\"b\":tru}", 13, 1, "expected a value (true, false or null), got 't'");
    DEC_ERR(&f, "{\"id\":1,\"b\":nul}", 13, 1, "got 'n'");
    DEC_ERR(&f, "{\"id\":1,\"b\":truex}", 17, -1, "expected ',' or '}' after a value, got 'x'");
    /* NOT NULL: null and a missing key are errors */
    DEC_ERR(&f, "{\"id\":null}", 7, 0, "expected INT64 for NOT NULL field 'id', got null");
    DEC_ERR(&f, "{\"s\":\"x\"}", 9, 0, "expected key \"id\" for NOT NULL field 'id', found none");
    DEC_ERR(&f, "{}", 2, 0, "found none");
    fx_close(&f);
}

TEST(codec_json_syntax_errors)
{
    fx f;
    fx_init(&f, "i INT64", RILL_FMT_JSON, 0);
    DEC_ERR(&f, "", 1, -1, "expected '{' to start a JSON object, got end of line");
    DEC_ERR(&f, "   ", 4, -1, "got end of line");
    DEC_ERR(&f, "[1]", 1, -1, "expected '{' to start a JSON object, got '['");
    DEC_ERR(&f, "{\"i\":1} x", 9, -1, "expected end of line after the JSON object, got 'x'");
    DEC_ERR(&f, "{\"i\":1}{}", 8, -1, "expected end of line after the JSON object, got '{'");
    DEC_ERR(&f, "{\"i\":1,}", 8, -1, "expected a key string, got '}'");
    DEC_ERR(&f, "{i:1}", 2, -1, "expected a key string, got 'i'");
    DEC_ERR(&f, "{\"i\" 1}", 6, -1, "expected ':' after the key, got '1'");
    DEC_ERR(&f, "{\"i\":1 \"j\":2}", 8, -1, "expected ',' or '}' after a value, got '\"'");
    DEC_ERR(&f, "{\"i\":1", 7, -1, "expected ',' or '}' after a value, got end of line");
    DEC_ERR(&f, "{\"i\":", 6, 0, "expected a value, got end of line");
    DEC_ERR(&f, "{\"i\"", 5, -1, "expected ':' after the key, got end of line");
    DEC_ERR(&f, "{", 2, -1, "expected a key string, got end of line");
    DEC_ERR(&f, "{\"i\":1}\x01", 8, -1, "got '\\x01'");
    rill_row r = DEC_OK(&f, "\t{\"i\":1}\t ");
    CHECK_EQ(rill_row_i64(&r, 0), 1);
    fx_close(&f);
}

/* ---- timestamps ---------------------------------------------------------------------------- */

TEST(codec_timestamps_csv)
{
    fx f;
    fx_init(&f, "ts TIMESTAMP", RILL_FMT_CSV, 0);
    CHECK_EQ(ts_of(&f, "1714564800250"), 1714564800250);
    CHECK_EQ(ts_of(&f, "-1"), -1);
    CHECK_EQ(ts_of(&f, "-62135596800000"), -62135596800000);
    CHECK_EQ(ts_of(&f, "2024-05-01T12:00:00.250Z"), 1714564800250);
    CHECK_EQ(ts_of(&f, "2024-05-01 12:00:00"), 1714564800000);
    CHECK_EQ(ts_of(&f, "\"2024-05-01 12:00:00\""), 1714564800000);
    CHECK_EQ(ts_of(&f, "2024-05-01t12:00:00z"), 1714564800000);
    CHECK_EQ(ts_of(&f, "2024-05-01T12:00:00+02:00"), 1714557600000);
    CHECK_EQ(ts_of(&f, "2024-05-01T14:00:00+02:00"), 1714564800000);
    CHECK_EQ(ts_of(&f, "2024-05-01T12:00:00+0200"), 1714557600000);
    CHECK_EQ(ts_of(&f, "2024-05-01T12:00:00+02"), 1714557600000);
    CHECK_EQ(ts_of(&f, "2000-02-29T01:02:03-05:30"), 951805923000);
    CHECK_EQ(ts_of(&f, "2024-05-01"), 1714521600000);
    CHECK_EQ(ts_of(&f, "2024-05-01T12:00Z"), 1714564800000);
    CHECK_EQ(ts_of(&f, "2024-05-01T12:00:00.1Z"), 1714564800100);
    CHECK_EQ(ts_of(&f, "2024-05-01T12:00:00.123456789Z"), 1714564800123);
    CHECK_EQ(ts_of(&f, "1970-01-01T00:00:00Z"), 0);
    CHECK_EQ(ts_of(&f, "1969-12-31T23:59:59.999Z"), -1);
    CHECK_EQ(ts_of(&f, "1900-02-28"), -2203977600000);
    CHECK_EQ(ts_of(&f, "0001-01-01T00:00:00Z"), -62135596800000);
    CHECK_EQ(ts_of(&f, "9999-12-31T23:59:59.999Z"), 253402300799999);
    static const char *bad[] = {
        "2023-02-29",
        "1900-02-29",
        "2024-13-01",
        "2024-00-10",
        "2024-04-31",
        "2024-05-00",
        "2024-05-01T24:00:00",
        "2024-05-01T12:60",
        "2024-05-01T12:00:60",
        "2024-05-01T12:00:00.Z",
        "2024-05-01T12",
        "2024-05-01T",
        "2024-05-01T12:00:00+2",
        "2024-05-01X",
        "2024-5-1",
        "2024-05-01T12:00:00Zjunk",
        "2024-05-01T12:00:00+19:00",
        "2024-05-01T12:00:00+01:60",
        "24-05-01",
        "2024/05/01",
        "12:00:00",
        "1.5",
        "1e3",
        "now",
    };
    for (size_t i = 0; i < RILL_ARRAY_LEN(bad); i++) {
        if (dec(&f, bad[i]) != RILL_EPARSE)
            rill_test_fail(__FILE__, __LINE__, "'%s' decoded as a TIMESTAMP", bad[i]);
        CHECK_CONTAINS(f.err.what, "expected TIMESTAMP (epoch ms or ISO-8601) for field 'ts'");
        CHECK_EQ(f.err.column, 1);
    }
    DEC_ERR(&f, "9223372036854775808", 1, 0, "(out of range)");
    fx_close(&f);
}

TEST(codec_timestamps_json)
{
    fx f;
    fx_init(&f, "ts TIMESTAMP", RILL_FMT_JSON, 0);
    CHECK_EQ(ts_of(&f, "{\"ts\":1714564800250}"), 1714564800250);
    CHECK_EQ(ts_of(&f, "{\"ts\":-5}"), -5);
    CHECK_EQ(ts_of(&f, "{\"ts\":\"2024-05-01T12:00:00.250Z\"}"), 1714564800250);
    CHECK_EQ(ts_of(&f, "{\"ts\":\"2024-05-01 12:00:00\"}"), 1714564800000);
    CHECK_EQ(ts_of(&f, "{\"ts\":\"2024-05-01T14:00:00+02:00\"}"), 1714564800000);
    CHECK_EQ(ts_of(&f, "{\"ts\":\"1714564800250\"}"), 1714564800250);
    CHECK_EQ(ts_of(&f, "{\"ts\":\"2024-05-01T12:00:00,25\"}"), 1714564800250);
    CHECK_EQ(ts_of(&f, "{\"ts\":\"2024-05-01T12:00:00\\u002e5Z\"}"), 1714564800500);
    DEC_ERR(&f, "{\"ts\":1.5}", 7, 0,
            "expected TIMESTAMP (epoch ms or ISO-8601) for field 'ts', got 1.5");
    DEC_ERR(&f, "{\"ts\":\"nope\"}", 7, 0,
            "expected TIMESTAMP (epoch ms or ISO-8601) for field 'ts', got \"nope\"");
    DEC_ERR(&f, "{\"ts\":\"2024-02-30\"}", 7, 0, "got \"2024-02-30\"");
    DEC_ERR(&f, "{\"ts\":true}", 7, 0, "got true");
    rill_row r = DEC_OK(&f, "{\"ts\":null}");
    CHECK(rill_row_is_null(&r, 0));
    fx_close(&f);
}

/* ---- doubles ------------------------------------------------------------------------------- */

static const char *fmt_double(fx *f, double v, bool json)
{
    rill__batch_clear(f->b);
    rill_row r = rill__batch_append(f->b);
    rill_row_set_f64(&r, 0, v);
    const char *s = json ? enc_json(f, &r) : enc_csv(f, &r, ',');
    return s;
}

TEST(codec_double_shortest_round_trip)
{
    fx f;
    fx_init(&f, "d DOUBLE", RILL_FMT_CSV, 0);
    CHECK_STR(fmt_double(&f, 0.1, false), "0.1\n");
    CHECK_STR(fmt_double(&f, 1.0 / 3, false), "0.3333333333333333\n");
    CHECK_STR(fmt_double(&f, 5.0, false), "5\n");
    CHECK_STR(fmt_double(&f, 1e21, false), "1e+21\n");
    CHECK_STR(fmt_double(&f, -0.0, false), "-0\n");
    CHECK_STR(fmt_double(&f, 5e-324, false), "5e-324\n");
    CHECK_STR(fmt_double(&f, 0.1 + 0.2, false), "0.30000000000000004\n");
    CHECK_STR(fmt_double(&f, (double)NAN, false), "NaN\n");
    CHECK_STR(fmt_double(&f, (double)INFINITY, false), "Infinity\n");
    CHECK_STR(fmt_double(&f, -(double)INFINITY, false), "-Infinity\n");
    CHECK_STR(fmt_double(&f, 0.1, true), "{\"d\":0.1}\n");
    CHECK_STR(fmt_double(&f, 1e21, true), "{\"d\":1e+21}\n");
    CHECK_STR(fmt_double(&f, (double)NAN, true), "{\"d\":null}\n");

    /* random bit patterns read back bit for bit, through CSV and JSON */
    fx j;
    fx_init(&j, "d DOUBLE", RILL_FMT_JSON, 0);
    for (uint64_t i = 0; i < 20000; i++) {
        uint64_t bits = rill__mix64(i);
        double v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v))
            continue;
        for (int json = 0; json < 2; json++) {
            fx *g = json ? &j : &f;
            const char *text = fmt_double(g, v, json);
            rill__batch_clear(g->b);
            char line[128];
            size_t n = strlen(text) - 1;
            memcpy(line, text, n);
            line[n] = '\0';
            rill_row r = DEC_OK(g, line);
            double back = rill_row_f64(&r, 0);
            uint64_t back_bits;
            memcpy(&back_bits, &back, sizeof back);
            if (back_bits != bits)
                rill_test_fail(__FILE__, __LINE__, "%.17g printed as %s read back as %.17g", v,
                               line, back);
        }
    }
    fx_close(&j);
    fx_close(&f);
}

/* ---- round trips of random rows ------------------------------------------------------------ */

static uint64_t rnd(uint64_t *state)
{
    return rill__mix64((*state)++);
}

static void random_row(rill_row *r, const rill_schema *s, uint64_t *st, bool csv)
{
    char str[64];
    for (int i = 0; i < s->n_fields; i++) {
        if (rnd(st) % 5 == 0)
            continue; /* NULL */
        switch (s->fields[i].type) {
        case RILL_T_BOOL:
            rill_row_set_bool(r, i, rnd(st) & 1);
            break;
        case RILL_T_INT64:
        case RILL_T_TIMESTAMP:
            rill_row_set_i64(r, i, (int64_t)rnd(st) >> (rnd(st) % 64));
            break;
        case RILL_T_DOUBLE: {
            uint64_t bits = rnd(st);
            double v;
            memcpy(&v, &bits, sizeof v);
            if (rnd(st) % 4 == 0)
                v = (double)(int64_t)(rnd(st) % 100000) / 100;
            if (!csv && !isfinite(v))
                v = 0.5; /* JSON writes these as null */
            rill_row_set_f64(r, i, v);
            break;
        }
        case RILL_T_STRING: {
            size_t n = rnd(st) % sizeof str;
            static const char alpha[] = "ab,\"; \t\\/{}[]:x";
            for (size_t k = 0; k < n; k++) {
                uint64_t x = rnd(st);
                str[k] = x % 3 ? alpha[x % (sizeof alpha - 1)] : (char)(x >> 8);
                if (csv && (str[k] == '\n' || str[k] == '\r'))
                    str[k] = 'n';
            }
            CHECK_RC(rill_row_set_str(r, i, str, n));
            break;
        }
        default: /* the SQL kinds: test_types.c */
            break;
        }
    }
}

static void round_trip(rill_format format, char delim)
{
    fx f;
    fx_init(&f, "b BOOL, i INT64, d DOUBLE, s STRING, t TIMESTAMP, s2 STRING NOT NULL", format,
            delim);
    rill_batch *src = rill__batch_new(f.s, 1);
    uint64_t st = 42;
    rill__buf line = {0};
    for (int n = 0; n < 3000; n++) {
        rill__batch_clear(src);
        rill_row r = rill__batch_append(src);
        random_row(&r, f.s, &st, format == RILL_FMT_CSV);
        if (rill_row_is_null(&r, 5))
            CHECK_RC(rill_row_set_str(&r, 5, "", 0));
        line.len = 0;
        if (format == RILL_FMT_CSV)
            rill__encode_csv_row(f.s, &r, delim, &line);
        else
            rill__encode_json_row(f.s, &r, &line);
        CHECK(line.len > 0 && line.data[line.len - 1] == '\n');
        int rc = dec_n(&f, line.data, line.len - 1);
        if (rc)
            rill_test_fail(__FILE__, __LINE__, "row %d: '%.*s': %s", n, (int)line.len - 1,
                           line.data, f.err.what);
        rill_row back = rill__batch_row(f.b, f.b->n_rows - 1);
        if (!rows_equal(f.s, &r, &back))
            rill_test_fail(__FILE__, __LINE__, "row %d does not round-trip: '%.*s'", n,
                           (int)line.len - 1, line.data);
    }
    rill__buf_free(&line);
    rill__batch_unref(src);
    fx_close(&f);
}

TEST(codec_csv_random_round_trip)
{
    round_trip(RILL_FMT_CSV, ',');
    round_trip(RILL_FMT_CSV, ';');
    round_trip(RILL_FMT_CSV, '\t');
}

TEST(codec_json_random_round_trip)
{
    round_trip(RILL_FMT_JSON, 0);
}

/* ---- robustness ---------------------------------------------------------------------------- */

/* Random and mutated lines: every one either decodes or fails with a sane error (dec_n checks
 * the column, the message and that the batch is unchanged); ASan watches the reads. */
TEST(codec_garbage_lines_never_crash)
{
    static const char *seeds[] = {
        ("{\"b\":true,\"i\":-12,\"d\":1.5e3,\"s\":\"a\\\"\\u00e9\\ud83d\\ude00\",\"t\":\"2024-05-"
         "01T12:00:00.250+02:00\",\"x\":[1,{\"y\":null}]}"),
        "true,-12,1.5e3,\"a,\"\"b\",2024-05-01 12:00:00",
        "1,2,3,4,5",
    };
    static const char alpha[] = "{}[]\":,\\u0123456789.eE-+tfnrlabc \t\r\n";
    fx fj, fc;
    fx_init(&fj, "b BOOL, i INT64, d DOUBLE, s STRING, t TIMESTAMP", RILL_FMT_JSON, 0);
    fx_init(&fc, "b BOOL, i INT64, d DOUBLE, s STRING, t TIMESTAMP", RILL_FMT_CSV, 0);
    uint64_t st = 7;
    char line[256];
    int ok = 0;
    for (int n = 0; n < 40000; n++) {
        size_t len;
        if (n % 2) {
            len = rnd(&st) % 60;
            for (size_t k = 0; k < len; k++) {
                uint64_t x = rnd(&st);
                line[k] = x % 8 ? alpha[x % (sizeof alpha - 1)] : (char)(x >> 8);
            }
        } else {
            const char *seed = seeds[rnd(&st) % RILL_ARRAY_LEN(seeds)];
            len = strlen(seed);
            memcpy(line, seed, len);
            int edits = 1 + (int)(rnd(&st) % 3);
            for (int e = 0; e < edits && len > 0; e++) {
                size_t at = rnd(&st) % len;
                uint64_t x = rnd(&st);
                if (x % 3 == 0)
                    line[at] = alpha[x % (sizeof alpha - 1)];
                else if (x % 3 == 1)
                    memmove(line + at, line + at + 1, --len - at);
                else
                    len = at; /* truncate */
            }
        }
        for (int which = 0; which < 2; which++) {
            fx *f = which ? &fc : &fj;
            int rc = dec_n(f, line, len);
            CHECK(rc == 0 || rc == RILL_EPARSE);
            ok += rc == 0;
        }
    }
    CHECK(ok > 0);
    fx_close(&fj);
    fx_close(&fc);
}

TEST(codec_decoder_close_is_idempotent)
{
    rill_schema *s = NULL;
    CHECK_RC(rill_schema_parse("a INT64", &s));
    rill__decoder d;
    rill__decoder_init(&d, s, 0, 0); /* 0 means CSV with ',' */
    CHECK_EQ(d.format, RILL_FMT_CSV);
    CHECK_EQ(d.delim, ',');
    CHECK_EQ(d.n_cols, 1);
    rill__decoder_close(&d);
    rill__decoder_close(&d);
    rill__decoder_init(&d, s, RILL_FMT_JSON, 0);
    rill__decoder_close(&d);
    rill__decoder_close(NULL);
    rill_schema_free(s);
}
