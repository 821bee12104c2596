/*
 * test_datagen.c - the datagen source: sequences split over subtasks (each value once, as Flink
 * splits them), every value once through chains of rescaled restores, random values within
 * their options, number-of-rows, pacing, the options refused by name, damaged positions.
 * Expected values come from the options themselves (start + n, min <= v <= max), never from
 * the code under test.
 */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "base/dec128.h"
#include "connectors/connectors.h"
#include "rill.h"
#include "test.h"

#define FAST "1000000000" /* rows-per-second that never waits */

static rill__conn_init conn_init(rill__err *err, int subtask, int par)
{
    memset(err, 0, sizeof *err);
    return (rill__conn_init){.uid = "datagen-1",
                             .subtask = subtask,
                             .parallelism = par,
                             .batch_size = 64,
                             .bad_policy = RILL_BAD_FAIL,
                             .err = err};
}

static rill_schema *schema_of(const char *spec)
{
    rill_schema *s = NULL;
    if (rill_schema_parse(spec, &s) != 0)
        rill_test_fail(__FILE__, __LINE__, "schema %s: %s", spec, rill_last_error());
    return s;
}

static void *cfg_ok(const char *const *opts, const rill_schema *schema)
{
    void *cfg = rill__datagen_source_cfg(opts, "t");
    rill__err err = {0};
    if (rill__datagen_source_ops.validate(cfg, schema, &err) != 0)
        rill_test_fail(__FILE__, __LINE__, "options refused: %s", err.msg);
    return cfg;
}

/* Polls src to its end (at most max_polls polls), appending column col of every row (int64)
 * to vals; returns the number of rows, *done_out whether the source said it ended. */
static size_t drain_to(rill__source *src, rill_batch *b, int col, int64_t **vals, size_t *n,
                       size_t *cap, int max_polls, bool *done_out)
{
    size_t got = 0;
    *done_out = false;
    for (int k = 0; k < max_polls; k++) {
        rill__batch_clear(b);
        int64_t w;
        int rc = rill__datagen_source_ops.poll(src, b, &w);
        CHECK(rc >= 0);
        for (uint32_t i = 0; i < b->n_rows; i++) {
            rill_row r = rill__batch_row(b, i);
            if (*n == *cap) {
                *cap = *cap ? 2 * *cap : 256;
                *vals = rill__xrealloc(*vals, *cap * sizeof **vals);
            }
            (*vals)[(*n)++] = rill_row_i64(&r, col);
            got++;
        }
        if (rc == RILL_DONE) {
            *done_out = true;
            return got;
        }
    }
    return got;
}

static size_t drain(rill__source *src, rill_batch *b, int col, int64_t **vals, size_t *n,
                    size_t *cap, int max_polls)
{
    bool done;
    size_t got = drain_to(src, b, col, vals, n, cap, max_polls, &done);
    CHECK(done);
    return got;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

TEST(datagen_sequence_splits_each_value_once_as_flink_does)
{
    rill_schema *schema = schema_of("id BIGINT, small TINYINT, s STRING");
    void *cfg = cfg_ok((const char *[]){"rows-per-second", FAST, "fields.id.kind", "sequence",
                                        "fields.id.start", "-5", "fields.id.end", "994",
                                        "fields.small.kind", "sequence", "fields.small.start",
                                        "-128", "fields.small.end", "127", NULL},
                       schema);
    /* the shortest sequence (256 values of small) ends the stream */
    for (int par = 1; par <= 5; par++) {
        int64_t *vals = NULL;
        size_t n = 0, cap = 0;
        for (int st = 0; st < par; st++) {
            rill__err err;
            rill__conn_init init = conn_init(&err, st, par);
            rill__source *src;
            CHECK_RC(rill__datagen_source_ops.create(cfg, schema, &init, &src));
            rill_batch *b = rill__batch_new(schema, 7);
            size_t first = n;
            drain(src, b, 0, &vals, &n, &cap, 10000);
            /* subtask st: -5 + st, -5 + st + par, ... in order (Flink's split) */
            for (size_t i = first; i < n; i++)
                CHECK_EQ(vals[i], -5 + st + (int64_t)(i - first) * par);
            CHECK_EQ(n - first, (256 - st + par - 1) / par);
            /* small runs alongside id: the same row index */
            rill__batch_unref(b);
            rill__datagen_source_ops.destroy(src);
        }
        qsort(vals, n, sizeof *vals, cmp_i64);
        CHECK_EQ(n, 256);
        for (size_t i = 0; i < n; i++)
            CHECK_EQ(vals[i], -5 + (int64_t)i);
        free(vals);
    }
    rill__datagen_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
}

TEST(datagen_sequence_values_of_every_type)
{
    rill_schema *schema = schema_of("a TINYINT, b SMALLINT, c INT, d BIGINT, e FLOAT, f DOUBLE, "
                                    "g DECIMAL(6, 2), h DECIMAL(30, 5), i VARCHAR(4), j BYTES");
    const char *names = "abcdefghij";
    const char *opts[64];
    int k = 0;
    char keys[10][3][32];
    opts[k++] = "rows-per-second";
    opts[k++] = FAST;
    for (int c = 0; c < 10; c++) {
        snprintf(keys[c][0], 32, "fields.%c.kind", names[c]);
        snprintf(keys[c][1], 32, "fields.%c.start", names[c]);
        snprintf(keys[c][2], 32, "fields.%c.end", names[c]);
        opts[k++] = keys[c][0];
        opts[k++] = "sequence";
        opts[k++] = keys[c][1];
        opts[k++] = "-20";
        opts[k++] = keys[c][2];
        opts[k++] = "100";
    }
    opts[k] = NULL;
    void *cfg = cfg_ok(opts, schema);
    rill__err err;
    rill__conn_init init = conn_init(&err, 0, 1);
    rill__source *src;
    CHECK_RC(rill__datagen_source_ops.create(cfg, schema, &init, &src));
    rill_batch *b = rill__batch_new(schema, 200);
    int64_t w;
    CHECK_EQ(rill__datagen_source_ops.poll(src, b, &w), RILL_DONE);
    CHECK_EQ(b->n_rows, 121);
    for (uint32_t n = 0; n < b->n_rows; n++) {
        rill_row r = rill__batch_row(b, n);
        int64_t v = -20 + (int64_t)n;
        for (int c = 0; c < 4; c++)
            CHECK_EQ(rill_row_i64(&r, c), v);
        CHECK_DBL((double)rill_row_f32(&r, 4), (double)v, 0);
        CHECK_DBL(rill_row_f64(&r, 5), (double)v, 0);
        rill_decimal d6 = rill_row_decimal(&r, 6), d30 = rill_row_decimal(&r, 7);
        char buf[RILL_DECIMAL_STR_MAX], want[64];
        rill_decimal_format(&d6, buf, sizeof buf);
        snprintf(want, sizeof want, "%lld.00", (long long)v);
        CHECK_STR(buf, want);
        rill_decimal_format(&d30, buf, sizeof buf);
        snprintf(want, sizeof want, "%lld.00000", (long long)v);
        CHECK_STR(buf, want);
        size_t len;
        const char *s = rill_row_str(&r, 8, &len);
        snprintf(want, sizeof want, "%lld", (long long)v);
        CHECK(len == strlen(want) && !memcmp(s, want, len));
        const unsigned char *by = rill_row_bytes(&r, 9, &len);
        CHECK_EQ(len, 8);
        uint64_t be = 0;
        for (int i = 0; i < 8; i++)
            be = be << 8 | by[i];
        CHECK_EQ((int64_t)be, v);
    }
    rill__batch_unref(b);
    rill__datagen_source_ops.destroy(src);
    rill__datagen_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
}

/* Random values stay within their options; NULLs come at about the null-rate. */
TEST(datagen_random_values_within_options)
{
    rill_schema *schema = schema_of(
        "a TINYINT, b INT, c BIGINT, e FLOAT, f DOUBLE, g DECIMAL(5, 2), h DECIMAL(30, 3), "
        "s STRING, v VARCHAR(12), ch CHAR(7), by BYTES, bin BINARY(5), ts TIMESTAMP(3), "
        "lt TIMESTAMP_LTZ(0), t6 TIMESTAMP(6), dt DATE, tm TIME(3), bo BOOLEAN, iv INTERVAL DAY");
    void *cfg = cfg_ok((const char *[]){"rows-per-second",
                                        FAST,
                                        "number-of-rows",
                                        "4000",
                                        "fields.b.min",
                                        "-7",
                                        "fields.b.max",
                                        "9",
                                        "fields.c.min",
                                        "1000000000000",
                                        "fields.c.max",
                                        "1000000000003",
                                        "fields.e.min",
                                        "-0.5",
                                        "fields.e.max",
                                        "0.25",
                                        "fields.f.min",
                                        "-1e300",
                                        "fields.f.max",
                                        "1e300",
                                        "fields.g.min",
                                        "-1.5",
                                        "fields.g.max",
                                        "2.25",
                                        "fields.h.min",
                                        "-99999999999999999999.5",
                                        "fields.h.max",
                                        "-99999999999999999999.25",
                                        "fields.s.length",
                                        "33",
                                        "fields.s.null-rate",
                                        "0.25",
                                        "fields.v.var-len",
                                        "true",
                                        "fields.by.length",
                                        "3",
                                        "fields.ts.max-past",
                                        "10 min",
                                        "fields.t6.null-rate",
                                        "1",
                                        "fields.iv.min",
                                        "-5",
                                        "fields.iv.max",
                                        "5",
                                        NULL},
                       schema);
    rill__err err;
    rill__conn_init init = conn_init(&err, 0, 1);
    rill__source *src;
    CHECK_RC(rill__datagen_source_ops.create(cfg, schema, &init, &src));
    rill_batch *b = rill__batch_new(schema, 1000);
    int64_t before = rill__now_ms();
    int n = 0, nulls_s = 0, trues = 0, a_lo = 0, a_hi = 0, vlen[13] = {0};
    int b_seen[17] = {0};
    int rc = 0;
    while (rc != RILL_DONE) {
        rill__batch_clear(b);
        int64_t w;
        rc = rill__datagen_source_ops.poll(src, b, &w);
        CHECK(rc >= 0);
        int64_t after = rill__now_ms();
        for (uint32_t i = 0; i < b->n_rows; i++, n++) {
            rill_row r = rill__batch_row(b, i);
            int64_t a = rill_row_i64(&r, 0);
            CHECK(a >= -128 && a <= 127);
            a_lo += a < -100;
            a_hi += a > 100;
            int64_t bv = rill_row_i64(&r, 1);
            CHECK(bv >= -7 && bv <= 9);
            b_seen[bv + 7]++;
            int64_t c = rill_row_i64(&r, 2);
            CHECK(c >= INT64_C(1000000000000) && c <= INT64_C(1000000000003));
            float e = rill_row_f32(&r, 3);
            CHECK(e >= -0.5f && e <= 0.25f);
            double f = rill_row_f64(&r, 4);
            CHECK(f >= -1e300 && f <= 1e300);
            rill_decimal g = rill_row_decimal(&r, 5), h = rill_row_decimal(&r, 6);
            rill_decimal glo = {(uint64_t)-150, -1, 2}, ghi = {225, 0, 2};
            CHECK(rill_decimal_cmp(&g, &glo) >= 0 && rill_decimal_cmp(&g, &ghi) <= 0);
            rill_decimal hlo, hhi;
            CHECK_RC(rill_decimal_parse("-99999999999999999999.5", 23, 30, 3, &hlo));
            CHECK_RC(rill_decimal_parse("-99999999999999999999.25", 24, 30, 3, &hhi));
            CHECK(rill_decimal_cmp(&h, &hlo) >= 0 && rill_decimal_cmp(&h, &hhi) <= 0);
            size_t len;
            if (rill_row_is_null(&r, 7)) {
                nulls_s++;
            } else {
                const char *s = rill_row_str(&r, 7, &len);
                CHECK_EQ(len, 33);
                for (size_t k = 0; k < len; k++)
                    CHECK((s[k] >= '0' && s[k] <= '9') || (s[k] >= 'a' && s[k] <= 'f'));
            }
            rill_row_str(&r, 8, &len);
            CHECK(len >= 1 && len <= 12);
            vlen[len]++;
            rill_row_str(&r, 9, &len);
            CHECK_EQ(len, 7);
            rill_row_bytes(&r, 10, &len);
            CHECK_EQ(len, 3);
            rill_row_bytes(&r, 11, &len);
            CHECK_EQ(len, 5);
            int64_t ts = rill_row_i64(&r, 12);
            CHECK(ts >= before - 600000 && ts <= after);
            int64_t lt = rill_row_i64(&r, 13);
            CHECK(lt % 1000 == 0 && lt >= before - 1000 && lt <= after);
            CHECK(rill_row_is_null(&r, 14));
            int64_t dt = rill_row_i64(&r, 15);
            CHECK(dt >= before / 86400000 && dt <= after / 86400000);
            int64_t tm = rill_row_i64(&r, 16);
            CHECK(tm >= 0 && tm < 86400000);
            trues += rill_row_bool(&r, 17);
            int64_t iv = rill_row_i64(&r, 18);
            CHECK(iv >= -5 && iv <= 5);
        }
    }
    CHECK_EQ(n, 4000);
    /* loose bounds: binomial(4000, p), many standard deviations wide */
    CHECK(nulls_s > 800 && nulls_s < 1200);
    CHECK(trues > 1700 && trues < 2300);
    CHECK(a_lo > 200 && a_hi > 200);
    for (int k = 0; k < 17; k++)
        CHECK(b_seen[k] > 100); /* every value of [-7, 9], min and max included */
    for (int k = 1; k <= 12; k++)
        CHECK(vlen[k] > 150); /* var-len: every length of 1..12 */
    rill__batch_unref(b);
    rill__datagen_source_ops.destroy(src);
    rill__datagen_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
}

TEST(datagen_number_of_rows_bounds_and_splits)
{
    rill_schema *schema = schema_of("x INT, id BIGINT");
    for (int with_seq = 0; with_seq < 2; with_seq++) {
        void *cfg = cfg_ok(
            with_seq ? (const char *[]){"rows-per-second", FAST, "number-of-rows", "1000",
                                        "fields.id.kind", "sequence", "fields.id.start", "1",
                                        "fields.id.end", "700", NULL}
                     : (const char *[]){"rows-per-second", FAST, "number-of-rows", "1000", NULL},
            schema);
        for (int par = 1; par <= 3; par++) {
            size_t total = 0;
            for (int st = 0; st < par; st++) {
                rill__err err;
                rill__conn_init init = conn_init(&err, st, par);
                rill__source *src;
                CHECK_RC(rill__datagen_source_ops.create(cfg, schema, &init, &src));
                rill_batch *b = rill__batch_new(schema, 64);
                int64_t *v = NULL;
                size_t n = 0, cap = 0;
                size_t got = drain(src, b, 1, &v, &n, &cap, 10000);
                size_t want = with_seq ? 700 : 1000;
                CHECK_EQ(got, (want - (size_t)st + (size_t)par - 1) / (size_t)par);
                total += got;
                free(v);
                rill__batch_unref(b);
                rill__datagen_source_ops.destroy(src);
            }
            CHECK_EQ(total, with_seq ? 700 : 1000);
        }
        rill__datagen_source_ops.cfg_free(cfg);
    }
    rill_schema_free(schema);
}

/* The same options give the same rows at every parallelism (timestamps aside), and the seed
 * changes them. */
TEST(datagen_random_rows_do_not_depend_on_parallelism)
{
    rill_schema *schema = schema_of("x BIGINT, id BIGINT");
    int64_t *ref = NULL;
    for (int seed = 0; seed < 2; seed++) {
        void *cfg = cfg_ok((const char *[]){"rows-per-second", FAST, "fields.id.kind", "sequence",
                                            "fields.id.start", "0", "fields.id.end", "499", "seed",
                                            seed ? "7" : "0", NULL},
                           schema);
        for (int par = 1; par <= 3; par++) {
            int64_t by_id[500];
            for (int st = 0; st < par; st++) {
                rill__err err;
                rill__conn_init init = conn_init(&err, st, par);
                rill__source *src;
                CHECK_RC(rill__datagen_source_ops.create(cfg, schema, &init, &src));
                rill_batch *b = rill__batch_new(schema, 64);
                int rc = 0;
                while (rc != RILL_DONE) {
                    rill__batch_clear(b);
                    int64_t w;
                    rc = rill__datagen_source_ops.poll(src, b, &w);
                    CHECK(rc >= 0);
                    for (uint32_t i = 0; i < b->n_rows; i++) {
                        rill_row r = rill__batch_row(b, i);
                        by_id[rill_row_i64(&r, 1)] = rill_row_i64(&r, 0);
                    }
                }
                rill__batch_unref(b);
                rill__datagen_source_ops.destroy(src);
            }
            if (!ref) {
                ref = rill__xmalloc(sizeof by_id);
                memcpy(ref, by_id, sizeof by_id);
            }
            CHECK_EQ(memcmp(ref, by_id, sizeof by_id) == 0, seed == 0);
        }
        rill__datagen_source_ops.cfg_free(cfg);
    }
    free(ref);
    rill_schema_free(schema);
}

/* ---- restores ------------------------------------------------------------------------------- */

/* One phase at parallelism par: subtask st polls n_polls[st] batches of 5 (to its end when
 * negative), after a restore from the previous phase's positions (finished[i]: old subtask i had
 * ended and is handed over without a position); the ids go to seen. */
static void phase(void *cfg, rill_schema *schema, int par, const int *n_polls, rill__buf *pos,
                  int *n_pos, int old_par, const bool *finished, bool *done, int64_t **seen,
                  size_t *n_seen, size_t *cap)
{
    rill__err err;
    rill__source_pos sp[8];
    for (int i = 0; i < *n_pos; i++)
        sp[i] = (rill__source_pos){i, old_par, finished[i], finished[i] ? NULL : pos[i].data,
                                   finished[i] ? 0 : pos[i].len};
    rill__buf out[8] = {{0}};
    for (int st = 0; st < par; st++) {
        rill__conn_init init = conn_init(&err, st, par);
        rill__source *src;
        CHECK_RC(rill__datagen_source_ops.create(cfg, schema, &init, &src));
        if (*n_pos && rill__datagen_source_ops.seek_rescaled(src, sp, *n_pos) != 0)
            rill_test_fail(__FILE__, __LINE__, "restore %d -> %d: %s", old_par, par, err.msg);
        rill_batch *b = rill__batch_new(schema, 5);
        size_t first = *n_seen;
        done[st] = false;
        for (int k = 0; !done[st] && (n_polls[st] < 0 || k < n_polls[st]); k++) {
            CHECK(k < 100000);
            drain_to(src, b, 0, seen, n_seen, cap, 1, &done[st]);
        }
        for (size_t i = first + 1; i < *n_seen; i++) /* in order within a subtask */
            CHECK((*seen)[i] > (*seen)[i - 1]);
        CHECK_RC(rill__datagen_source_ops.position(src, &out[st]));
        rill__batch_unref(b);
        rill__datagen_source_ops.destroy(src);
    }
    for (int i = 0; i < *n_pos; i++)
        rill__buf_free(&pos[i]);
    for (int st = 0; st < par; st++)
        pos[st] = out[st];
    *n_pos = par;
}

/* Every chain of three parallelisms from 1 to 4 (a start, two restores) with random progress,
 * with ended subtasks handed over as finished or with their positions: each value of the
 * sequence exactly once. */
TEST(datagen_every_rescale_chain_emits_each_value_once)
{
    rill_schema *schema = schema_of("id BIGINT");
    void *cfg = cfg_ok((const char *[]){"rows-per-second", FAST, "fields.id.kind", "sequence",
                                        "fields.id.start", "1000", "fields.id.end", "1299", NULL},
                       schema);
    uint64_t rnd = 12345;
    for (int chain = 0; chain < 128; chain++) {
        int pars[3] = {1 + chain % 4, 1 + chain / 4 % 4, 1 + chain / 16 % 4};
        bool hand_finished = chain >= 64;
        int64_t *seen = NULL;
        size_t n_seen = 0, cap = 0;
        rill__buf pos[8] = {{0}};
        bool done[8] = {0}, fin[8] = {0};
        int n_pos = 0, old_par = 0;
        for (int ph = 0; ph < 3; ph++) {
            int polls[4];
            for (int st = 0; st < pars[ph]; st++) {
                rnd = rnd * 6364136223846793005u + 1442695040888963407u;
                polls[st] = ph == 2 ? -1 : (int)((rnd >> 33) % 40);
            }
            for (int i = 0; i < n_pos; i++)
                fin[i] = hand_finished && done[i];
            phase(cfg, schema, pars[ph], polls, pos, &n_pos, old_par, fin, done, &seen, &n_seen,
                  &cap);
            old_par = pars[ph];
        }
        qsort(seen, n_seen, sizeof *seen, cmp_i64);
        bool ok = n_seen == 300;
        for (size_t i = 0; ok && i < n_seen; i++)
            ok = seen[i] == 1000 + (int64_t)i;
        if (!ok)
            rill_test_fail(
                __FILE__, __LINE__, "chain %d -> %d -> %d%s: %zu rows, not 1000..1299 each once",
                pars[0], pars[1], pars[2], hand_finished ? " (finished handed over)" : "", n_seen);
        for (int i = 0; i < n_pos; i++)
            rill__buf_free(&pos[i]);
        free(seen);
    }
    rill__datagen_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
}

/* Damaged positions end in RILL_ECORRUPT with a message, never a crash or a wrong resume. */
TEST(datagen_restore_checks_its_positions)
{
    rill_schema *schema = schema_of("id INT");
    void *cfg = cfg_ok((const char *[]){"rows-per-second", FAST, "fields.id.kind", "sequence",
                                        "fields.id.start", "0", "fields.id.end", "99", NULL},
                       schema);
    rill__err err;
    rill__conn_init init = conn_init(&err, 0, 1);
    rill__source *src;
    CHECK_RC(rill__datagen_source_ops.create(cfg, schema, &init, &src));
    rill_batch *b = rill__batch_new(schema, 10);
    int64_t w;
    CHECK_EQ(rill__datagen_source_ops.poll(src, b, &w), 0);
    rill__buf pos = {0};
    CHECK_RC(rill__datagen_source_ops.position(src, &pos));
    rill__datagen_source_ops.destroy(src);
    for (size_t cut = 0; cut < pos.len; cut++) {
        init = conn_init(&err, 0, 1);
        CHECK_RC(rill__datagen_source_ops.create(cfg, schema, &init, &src));
        rill__source_pos p = {0, 1, false, pos.data, cut};
        CHECK_EQ(rill__datagen_source_ops.seek_rescaled(src, &p, 1), RILL_ECORRUPT);
        CHECK_CONTAINS(err.msg, "datagen source 'datagen-1'");
        rill__datagen_source_ops.destroy(src);
    }
    /* one split held twice */
    init = conn_init(&err, 0, 2);
    CHECK_RC(rill__datagen_source_ops.create(cfg, schema, &init, &src));
    rill__source_pos twice[2] = {{0, 2, false, pos.data, pos.len},
                                 {1, 2, false, pos.data, pos.len}};
    CHECK_EQ(rill__datagen_source_ops.seek_rescaled(src, twice, 2), RILL_ECORRUPT);
    CHECK_CONTAINS(err.msg, "exactly once");
    rill__datagen_source_ops.destroy(src);
    /* random bytes: an error or a restore, never a crash */
    uint64_t rnd = 77;
    for (int t = 0; t < 200; t++) {
        unsigned char junk[64];
        memcpy(junk, pos.data, RILL_MIN(pos.len, sizeof junk));
        for (int k = 0; k < 3; k++) {
            rnd = rnd * 6364136223846793005u + 1442695040888963407u;
            junk[(rnd >> 33) % RILL_MIN(pos.len, sizeof junk)] ^= (unsigned char)(rnd >> 20);
        }
        init = conn_init(&err, 0, 1);
        CHECK_RC(rill__datagen_source_ops.create(cfg, schema, &init, &src));
        rill__source_pos p = {0, 1, false, junk, RILL_MIN(pos.len, sizeof junk)};
        int rc = rill__datagen_source_ops.seek_rescaled(src, &p, 1);
        CHECK(rc == 0 || rc == RILL_ECORRUPT);
        for (int k = 0; rc == 0 && k < 20; k++) {
            rill__batch_clear(b);
            rc = rill__datagen_source_ops.poll(src, b, &w);
            CHECK(rc >= 0);
            for (uint32_t i = 0; i < b->n_rows; i++) {
                rill_row r = rill__batch_row(b, i);
                CHECK(rill_row_i64(&r, 0) >= 0 && rill_row_i64(&r, 0) <= 99);
            }
            rc = rc == RILL_DONE;
        }
        rill__datagen_source_ops.destroy(src);
    }
    /* the right one resumes after the 10 rows emitted */
    init = conn_init(&err, 0, 1);
    CHECK_RC(rill__datagen_source_ops.create(cfg, schema, &init, &src));
    rill__source_pos p = {0, 1, false, pos.data, pos.len};
    CHECK_RC(rill__datagen_source_ops.seek_rescaled(src, &p, 1));
    rill__batch_clear(b);
    CHECK_EQ(rill__datagen_source_ops.poll(src, b, &w), 0);
    rill_row r = rill__batch_row(b, 0);
    CHECK_EQ(rill_row_i64(&r, 0), 10);
    rill__datagen_source_ops.destroy(src);
    rill__buf_free(&pos);
    rill__batch_unref(b);
    rill__datagen_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
}

TEST(datagen_rows_per_second_paces_all_subtasks_together)
{
    rill_schema *schema = schema_of("x INT");
    /* 400 rows/s over 2 subtasks: 200 each; 40 rows of one take ~0.2 s */
    void *cfg =
        cfg_ok((const char *[]){"rows-per-second", "400", "number-of-rows", "80", NULL}, schema);
    rill__err err;
    rill__conn_init init = conn_init(&err, 1, 2);
    rill__source *src;
    CHECK_RC(rill__datagen_source_ops.create(cfg, schema, &init, &src));
    rill_batch *b = rill__batch_new(schema, 64);
    int64_t t0 = rill__mono_ns();
    int rows = 0, again = 0, rc = 0;
    while (rc != RILL_DONE) {
        rill__batch_clear(b);
        int64_t w = 0;
        rc = rill__datagen_source_ops.poll(src, b, &w);
        CHECK(rc >= 0);
        rows += (int)b->n_rows;
        if (rc == RILL_AGAIN) {
            again++;
            CHECK(w > 0 && w <= 1000000000);
            rill__sleep_ns(w);
        }
    }
    double took = (double)(rill__mono_ns() - t0) * 1e-9;
    CHECK_EQ(rows, 40);
    CHECK(again > 0);
    CHECK(took >= 0.9 * 39 / 200.0);
    rill__batch_unref(b);
    rill__datagen_source_ops.destroy(src);
    rill__datagen_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
}

/* ---- options -------------------------------------------------------------------------------- */

static void check_refused(const char *spec, const char *const *opts, const char *want)
{
    rill_schema *schema = schema_of(spec);
    void *cfg = rill__datagen_source_cfg(opts, "gen");
    rill__err err = {0};
    int rc = rill__datagen_source_ops.validate(cfg, schema, &err);
    if (rc != RILL_ECONFIG)
        rill_test_fail(__FILE__, __LINE__, "accepted, wanted an error with \"%s\"", want);
    CHECK_CONTAINS(err.msg, "datagen table 'gen'");
    CHECK_CONTAINS(err.msg, want);
    /* and create refuses it the same way */
    rill__conn_init init = conn_init(&err, 0, 1);
    rill__source *src = (rill__source *)1;
    CHECK_EQ(rill__datagen_source_ops.create(cfg, schema, &init, &src), RILL_ECONFIG);
    CHECK(src == NULL);
    rill__datagen_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
}

TEST(datagen_bad_options_are_refused_by_name)
{
    const char *s = "i INT NOT NULL, s STRING, v VARCHAR(4), b BOOLEAN, d DECIMAL(4, 1), "
                    "ts TIMESTAMP(3), f FLOAT, dt DATE";
    check_refused(s, (const char *[]){"fields.i.min", "5", "fields.i.max", "1", NULL},
                  "column 'i': min (5) is greater than max (1)");
    check_refused(s, (const char *[]){"fields.i.max", "ten", NULL}, "'fields.i.max': 'ten'");
    check_refused(s, (const char *[]){"fields.i.max", "1.5", NULL}, "'fields.i.max'");
    check_refused(s, (const char *[]){"fields.i.min", "3000000000", NULL},
                  "'fields.i.min': out of the range of column 'i' (INT)");
    check_refused(s, (const char *[]){"fields.f.max", "1e39", NULL}, "'fields.f.max'");
    check_refused(s, (const char *[]){"fields.d.min", "x", NULL}, "'fields.d.min'");
    check_refused(s, (const char *[]){"fields.d.min", "9", "fields.d.max", "-3", NULL},
                  "column 'd': min (9)");
    check_refused(s, (const char *[]){"fields.s.kind", "sequence", "fields.s.end", "4", NULL},
                  "it needs 'fields.s.start'");
    check_refused(s, (const char *[]){"fields.i.kind", "sequence", "fields.i.start", "4", NULL},
                  "it needs 'fields.i.end'");
    check_refused(s,
                  (const char *[]){"fields.i.kind", "sequence", "fields.i.start", "4",
                                   "fields.i.end", "3", NULL},
                  "start (4) is greater than its end (3)");
    check_refused(s,
                  (const char *[]){"fields.b.kind", "sequence", "fields.b.start", "0",
                                   "fields.b.end", "1", NULL},
                  "'fields.b.kind': column 'b' is BOOLEAN, which cannot be a sequence");
    check_refused(s,
                  (const char *[]){"fields.ts.kind", "sequence", "fields.ts.start", "0",
                                   "fields.ts.end", "1", NULL},
                  "cannot be a sequence");
    check_refused(s,
                  (const char *[]){"fields.dt.kind", "sequence", "fields.dt.start", "0",
                                   "fields.dt.end", "1", NULL},
                  "cannot be a sequence");
    check_refused(s,
                  (const char *[]){"fields.v.kind", "sequence", "fields.v.start", "0",
                                   "fields.v.end", "10000", NULL},
                  "the sequence 0 to 10000 does not fit its type VARCHAR(4)");
    check_refused(s,
                  (const char *[]){"fields.d.kind", "sequence", "fields.d.start", "0",
                                   "fields.d.end", "1000", NULL},
                  "does not fit its type DECIMAL(4, 1)");
    check_refused(s,
                  (const char *[]){"fields.i.kind", "sequence", "fields.i.start", "0",
                                   "fields.i.end", "3", "fields.i.min", "1", NULL},
                  "option 'fields.i.min' does not apply to column 'i' (INT, sequence)");
    check_refused(s, (const char *[]){"fields.i.kind", "linear", NULL},
                  "'fields.i.kind': 'linear' is not 'random' or 'sequence'");
    check_refused(s, (const char *[]){"fields.s.min", "1", NULL},
                  "'fields.s.min' does not apply to column 's' (STRING, random)");
    check_refused(s, (const char *[]){"fields.i.length", "1", NULL}, "'fields.i.length'");
    check_refused(s, (const char *[]){"fields.i.max-past", "1 s", NULL}, "'fields.i.max-past'");
    check_refused(s, (const char *[]){"fields.ts.max-past", "soon", NULL},
                  "'fields.ts.max-past': 'soon' is not a duration");
    check_refused(s, (const char *[]){"fields.v.length", "5", NULL},
                  "'fields.v.length': 5 is longer than column 'v' (VARCHAR(4))");
    check_refused(s, (const char *[]){"fields.s.length", "-1", NULL}, "'fields.s.length'");
    check_refused(s, (const char *[]){"fields.s.var-len", "maybe", NULL}, "'fields.s.var-len'");
    check_refused(s, (const char *[]){"fields.s.null-rate", "1.5", NULL},
                  "'fields.s.null-rate': '1.5' is not a rate between 0 and 1");
    check_refused(s, (const char *[]){"fields.i.null-rate", "0.1", NULL},
                  "'fields.i.null-rate': column 'i' is NOT NULL");
    check_refused(s, (const char *[]){"fields.x.min", "1", NULL},
                  "unsupported option 'fields.x.min'");
    check_refused(s, (const char *[]){"fields.i.foo", "1", NULL},
                  "unsupported option 'fields.i.foo'");
    check_refused(s, (const char *[]){"row-per-second", "1", NULL},
                  "unsupported option 'row-per-second'");
    check_refused(s, (const char *[]){"rows-per-second", "0", NULL}, "'rows-per-second': '0'");
    check_refused(s, (const char *[]){"rows-per-second", "fast", NULL}, "'rows-per-second'");
    check_refused(s, (const char *[]){"number-of-rows", "-1", NULL}, "'number-of-rows': '-1'");
    check_refused(s, (const char *[]){"waveform-function-enabled", "true", NULL},
                  "'waveform-function-enabled' is not supported yet");
    check_refused("x BIGINT",
                  (const char *[]){"fields.x.kind", "sequence", "fields.x.start",
                                   "-9223372036854775808", "fields.x.end", "9223372036854775807",
                                   NULL},
                  "at most 2^63 - 1 values");
}

TEST(datagen_c_api_runs_a_job)
{
    rill_env *env = rill_env_new();
    CHECK_RC(rill_env_set(env, "parallelism", "2"));
    rill_schema *schema = schema_of("id BIGINT, name STRING");
    rill_stream *s = rill_source_datagen(env, schema,
                                         (const char *[]){"fields.id.kind", "sequence",
                                                          "fields.id.start", "1", "fields.id.end",
                                                          "50", "fields.name.length", "4", NULL});
    char *path = rill__xasprintf("%s/out.csv", rill_test_tmpdir());
    rill_stream_parallelism(rill_sink_file(s, path, NULL), 1);
    if (rill_env_execute(env) != 0)
        rill_test_fail(__FILE__, __LINE__, "job failed: %s", rill_errmsg(env));
    rill_env_free(env);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    char line[256];
    bool seen[51] = {0};
    int rows = 0;
    CHECK(fgets(line, sizeof line, f) != NULL); /* the header */
    CHECK_STR(line, "id,name\n");
    while (fgets(line, sizeof line, f)) {
        long long id;
        char name[16];
        CHECK_EQ(sscanf(line, "%lld,%15s", &id, name), 2);
        CHECK(id >= 1 && id <= 50 && !seen[id]);
        seen[id] = true;
        CHECK_EQ(strlen(name), 4);
        rows++;
    }
    fclose(f);
    CHECK_EQ(rows, 50);
    free(path);

    /* a bad option fails the job's build, naming it */
    env = rill_env_new();
    rill_source_datagen(env, schema, (const char *[]){"fields.nme.length", "4", NULL});
    CHECK(rill_env_execute(env) != 0);
    CHECK_CONTAINS(rill_errmsg(env), "datagen source: unsupported option 'fields.nme.length'");
    rill_env_free(env);
    rill_schema_free(schema);
}
