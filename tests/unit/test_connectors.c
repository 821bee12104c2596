/* test_connectors.c - unit tests of the connectors layer: generator, file source, sinks. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connectors/conn_int.h"
#include "test.h"

/* ---- helpers --------------------------------------------------------------------------------- */

static rill_schema *schema_of(const char *spec)
{
    rill_schema *s = NULL;
    CHECK_RC(rill_schema_parse(spec, &s));
    return s;
}

static rill__conn_init conn_init(rill__err *err, int subtask, int par, uint32_t batch_size)
{
    memset(err, 0, sizeof *err);
    return (rill__conn_init){.uid = "src-1",
                             .subtask = subtask,
                             .parallelism = par,
                             .batch_size = batch_size,
                             .bad_policy = RILL_BAD_FAIL,
                             .err = err};
}

static char *path_in_tmp(const char *name)
{
    return rill__xasprintf("%s/%s", rill_test_tmpdir(), name);
}

static void write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK_RC(rill__write_all(fd, text, strlen(text)));
    close(fd);
}

static char *read_text(const char *path)
{
    char *data;
    size_t len;
    CHECK_RC(rill__read_file(path, (size_t)1 << 30, &data, &len));
    return data;
}

/* One decoded row, as text, keyed by its first (INT64) field. */
typedef struct keyed_line {
    int64_t key;
    char *text;
} keyed_line;

typedef struct lines {
    keyed_line *v;
    size_t n, cap;
} lines;

static void lines_free(lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].text);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int cmp_keyed(const void *a, const void *b)
{
    int64_t x = ((const keyed_line *)a)->key, y = ((const keyed_line *)b)->key;
    return x < y ? -1 : x > y;
}

static void collect(lines *l, rill_batch *b)
{
    rill__buf t = {0};
    for (uint32_t i = 0; i < b->n_rows; i++) {
        rill_row r = rill__batch_row(b, i);
        t.len = 0;
        rill__encode_json_row(b->schema, &r, &t);
        rill__grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v);
        l->v[l->n].key = rill_row_i64(&r, 0);
        l->v[l->n].text = rill__xstrdup(rill__buf_cstr(&t));
        l->n++;
    }
    rill__buf_free(&t);
}

/* Runs every subtask of a source to the end (no rate limit) and collects its rows, sorted by
 * the first field. Returns the first error, or 0. */
static int run_source(const rill__source_ops *ops, const void *cfg, const rill_schema *schema,
                      int par, uint32_t batch_size, lines *out, rill__err *err)
{
    for (int st = 0; st < par; st++) {
        rill__conn_init init = conn_init(err, st, par, batch_size);
        rill__source *src = NULL;
        int rc = ops->create(cfg, schema, &init, &src);
        if (rc)
            return rc;
        rill_batch *b = rill__batch_new(schema, batch_size);
        for (int guard = 0;; guard++) {
            CHECK(guard < 10000000);
            rill__batch_clear(b);
            int64_t wait = -1;
            rc = ops->poll(src, b, &wait);
            CHECK(b->n_rows <= batch_size);
            collect(out, b);
            if (rc != 0)
                break;
        }
        rill__batch_unref(b);
        ops->destroy(src);
        if (rc < 0)
            return rc;
        CHECK_EQ(rc, RILL_DONE);
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, cmp_keyed);
    return 0;
}

static char *joined(const lines *l)
{
    rill__buf b = {0};
    for (size_t i = 0; i < l->n; i++)
        rill__buf_append(&b, l->v[i].text, strlen(l->v[i].text));
    char *s = rill__xstrdup(rill__buf_cstr(&b));
    rill__buf_free(&b);
    return s;
}

/* ---- generator ------------------------------------------------------------------------------ */

static const char *const cats[] = {"red", "green", "blue"};
static const char *const user_prefix[] = {"user-"};
static const char *const konst[] = {"const \"q\""};

static int hook(rill_ctx *ctx, uint64_t n, rill_row *row)
{
    int64_t add = *(const int64_t *)ctx->user;
    rill_row_set_i64(row, 11, (int64_t)n * 2 + add);
    return 0;
}

#define GEN_SPEC                                                                               \
    "id INT64 NOT NULL, ts TIMESTAMP, v DOUBLE, cat STRING, name STRING, k INT64, m INT64, "  \
    "flag BOOL, c DOUBLE, nul STRING, zero INT64 NOT NULL, hooked INT64, s STRING, "          \
    "d DOUBLE, neg INT64"

static void gen_opts(rill_gen_opts *o, rill_gen_field *f, int64_t events, const int64_t *user)
{
    int i = 0;
    f[i++] = (rill_gen_field){.name = "id", .kind = RILL_GEN_SEQUENCE, .a = 0, .b = 1};
    f[i++] = (rill_gen_field){.name = "ts", .kind = RILL_GEN_SEQUENCE, .a = 1000, .b = 1000,
                              .c = 3};
    f[i++] = (rill_gen_field){.name = "v", .kind = RILL_GEN_UNIFORM_DOUBLE, .x = -1, .y = 10};
    f[i++] = (rill_gen_field){.name = "cat", .kind = RILL_GEN_STRING, .choices = cats,
                              .n_choices = 3};
    f[i++] = (rill_gen_field){.name = "name", .kind = RILL_GEN_STRING, .a = 1, .b = 1000,
                              .choices = user_prefix};
    f[i++] = (rill_gen_field){.name = "k", .kind = RILL_GEN_UNIFORM_INT, .a = -5, .b = 5};
    f[i++] = (rill_gen_field){.name = "m", .kind = RILL_GEN_MODULO, .a = 10, .b = 7};
    f[i++] = (rill_gen_field){.name = "flag", .kind = RILL_GEN_UNIFORM_INT, .a = 0, .b = 1};
    f[i++] = (rill_gen_field){.name = "c", .kind = RILL_GEN_CONSTANT, .x = 2.5};
    f[i++] = (rill_gen_field){.name = "s", .kind = RILL_GEN_CONSTANT, .choices = konst};
    f[i++] = (rill_gen_field){.name = "d", .kind = RILL_GEN_SEQUENCE, .a = 1, .b = 1, .c = 2};
    f[i++] = (rill_gen_field){.name = "neg", .kind = RILL_GEN_SEQUENCE, .a = 0, .b = -7, .c = 2};
    memset(o, 0, sizeof *o);
    o->seed = 42;
    o->events = events;
    o->fields = f;
    o->n_fields = i;
    o->fn = hook;
    o->user = (void *)user;
}

TEST(conn_gen_same_rows_at_any_parallelism_and_batch_size)
{
    rill_schema *schema = schema_of(GEN_SPEC);
    rill_gen_field f[16];
    rill_gen_opts o;
    int64_t user = 7;
    gen_opts(&o, f, 1000, &user);
    void *cfg = rill__generator_cfg(&o);
    memset(f, 0, sizeof f); /* the cfg is a deep copy */
    rill__err err;
    CHECK_RC(rill__generator_source_ops.validate(cfg, schema, &err));

    lines ref = {0};
    CHECK_RC(run_source(&rill__generator_source_ops, cfg, schema, 1, 1024, &ref, &err));
    CHECK_EQ(ref.n, 1000);
    /* spot checks of row n = 301 against the formulas */
    {
        rill_batch *b = rill__batch_new(schema, 1024);
        rill__conn_init init = conn_init(&err, 0, 1, 1024);
        rill__source *src;
        CHECK_RC(rill__generator_source_ops.create(cfg, schema, &init, &src));
        int64_t wait;
        CHECK_EQ(rill__generator_source_ops.poll(src, b, &wait), RILL_DONE);
        CHECK_EQ(b->n_rows, 1000);
        int seen_flag[2] = {0, 0}, seen_cat[3] = {0, 0, 0};
        for (uint32_t n = 0; n < 1000; n++) {
            rill_row r = rill__batch_row(b, n);
            CHECK_EQ(rill_row_i64(&r, 0), n);
            CHECK_EQ(rill_row_ts(&r, 1), 1000 + (int64_t)n * 1000 / 3);
            double v = rill_row_f64(&r, 2);
            CHECK(v >= -1 && v < 10);
            size_t len;
            const char *s = rill_row_str(&r, 3, &len);
            int ci = -1;
            for (int k = 0; k < 3; k++)
                if (len == strlen(cats[k]) && !memcmp(s, cats[k], len))
                    ci = k;
            CHECK(ci >= 0);
            seen_cat[ci]++;
            s = rill_row_str(&r, 4, &len);
            CHECK(len > 5 && !memcmp(s, "user-", 5));
            char *digits = rill__xstrndup(s + 5, len - 5);
            int64_t uk = strtoll(digits, NULL, 10);
            free(digits);
            CHECK(uk >= 1 && uk <= 1000);
            CHECK(rill_row_i64(&r, 5) >= -5 && rill_row_i64(&r, 5) <= 5);
            CHECK_EQ(rill_row_i64(&r, 6), 10 + n % 7);
            seen_flag[rill_row_bool(&r, 7)]++;
            CHECK_DBL(rill_row_f64(&r, 8), 2.5, 0);
            CHECK(rill_row_is_null(&r, 9));
            CHECK(!rill_row_is_null(&r, 10));
            CHECK_EQ(rill_row_i64(&r, 10), 0);
            CHECK_EQ(rill_row_i64(&r, 11), (int64_t)n * 2 + 7);
            s = rill_row_str(&r, 12, &len);
            CHECK(len == strlen(konst[0]) && !memcmp(s, konst[0], len));
            CHECK_DBL(rill_row_f64(&r, 13), (double)(1 + (int64_t)n / 2), 0);
            CHECK_EQ(rill_row_i64(&r, 14), -7 * (int64_t)n / 2);
        }
        CHECK(seen_flag[0] > 400 && seen_flag[1] > 400);
        CHECK(seen_cat[0] > 250 && seen_cat[1] > 250 && seen_cat[2] > 250);
        rill__batch_unref(b);
        rill__generator_source_ops.destroy(src);
    }
    char *want = joined(&ref);
    int pars[] = {1, 3, 4};
    uint32_t sizes[] = {1, 7, 1024};
    for (size_t pi = 0; pi < RILL_ARRAY_LEN(pars); pi++) {
        for (size_t si = 0; si < RILL_ARRAY_LEN(sizes); si++) {
            lines got = {0};
            CHECK_RC(run_source(&rill__generator_source_ops, cfg, schema, pars[pi], sizes[si],
                                &got, &err));
            CHECK_EQ(got.n, 1000);
            char *have = joined(&got);
            if (strcmp(have, want) != 0)
                rill_test_fail(__FILE__, __LINE__, "parallelism %d, batch size %u differs",
                               pars[pi], sizes[si]);
            free(have);
            lines_free(&got);
        }
    }
    /* another seed gives other random values, the same sequences */
    rill__generator_source_ops.cfg_free(cfg);
    gen_opts(&o, f, 1000, &user);
    o.seed = 43;
    cfg = rill__generator_cfg(&o);
    lines other = {0};
    CHECK_RC(run_source(&rill__generator_source_ops, cfg, schema, 2, 100, &other, &err));
    char *have = joined(&other);
    CHECK(strcmp(have, want) != 0);
    CHECK_EQ(other.n, 1000);
    CHECK_EQ(other.v[999].key, 999);
    free(have);
    lines_free(&other);
    free(want);
    lines_free(&ref);
    rill__generator_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
}

static int check_gen_invalid(const rill_schema *schema, const rill_gen_opts *o, const char *msg)
{
    void *cfg = rill__generator_cfg(o);
    rill__err err = {0};
    int rc = rill__generator_source_ops.validate(cfg, schema, &err);
    CHECK_CONTAINS(err.msg, msg);
    /* create checks too */
    rill__err err2;
    rill__conn_init init = conn_init(&err2, 0, 1, 16);
    rill__source *src = (rill__source *)&init;
    CHECK_EQ(rill__generator_source_ops.create(cfg, schema, &init, &src), rc);
    CHECK(src == NULL);
    rill__generator_source_ops.cfg_free(cfg);
    return rc;
}

TEST(conn_gen_validation_errors)
{
    rill_schema *schema = schema_of("id INT64 NOT NULL, name STRING, v DOUBLE");
    rill_gen_field f[2];
    rill_gen_opts o = {.fields = f, .n_fields = 1};
    f[0] = (rill_gen_field){.name = "nope", .kind = RILL_GEN_SEQUENCE, .b = 1};
    CHECK_EQ(check_gen_invalid(schema, &o, "unknown field 'nope'"), RILL_ECONFIG);
    check_gen_invalid(schema, &o, "id INT64 NOT NULL, name STRING, v DOUBLE");
    f[0] = (rill_gen_field){.name = "id", .kind = RILL_GEN_UNIFORM_DOUBLE, .x = 0, .y = 1};
    CHECK_EQ(check_gen_invalid(schema, &o, "field 'id' is INT64; kind UNIFORM_DOUBLE"),
             RILL_ECONFIG);
    f[0] = (rill_gen_field){.name = "id", .kind = RILL_GEN_STRING, .a = 0, .b = 1};
    CHECK_EQ(check_gen_invalid(schema, &o, "kind STRING cannot fill it"), RILL_ECONFIG);
    f[0] = (rill_gen_field){.name = "name", .kind = RILL_GEN_SEQUENCE, .b = 1};
    CHECK_EQ(check_gen_invalid(schema, &o, "field 'name' is STRING"), RILL_ECONFIG);
    f[0] = (rill_gen_field){.name = "id", .kind = RILL_GEN_MODULO, .b = 0};
    CHECK_EQ(check_gen_invalid(schema, &o, "MODULO needs b > 0"), RILL_ECONFIG);
    f[0] = (rill_gen_field){.name = "id", .kind = RILL_GEN_UNIFORM_INT, .a = 5, .b = 4};
    CHECK_EQ(check_gen_invalid(schema, &o, "UNIFORM_INT needs a <= b"), RILL_ECONFIG);
    f[0] = (rill_gen_field){.name = "v", .kind = RILL_GEN_UNIFORM_DOUBLE, .x = 2, .y = 1};
    CHECK_EQ(check_gen_invalid(schema, &o, "UNIFORM_DOUBLE needs finite x <= y"), RILL_ECONFIG);
    f[0] = (rill_gen_field){.name = "name", .kind = RILL_GEN_STRING, .n_choices = 2};
    CHECK_EQ(check_gen_invalid(schema, &o, "choices is NULL"), RILL_ECONFIG);
    f[0] = (rill_gen_field){.name = "name", .kind = RILL_GEN_CONSTANT};
    CHECK_EQ(check_gen_invalid(schema, &o, "STRING CONSTANT"), RILL_ECONFIG);
    f[0] = (rill_gen_field){.name = "id", .kind = RILL_GEN_SEQUENCE, .b = 1};
    f[1] = f[0];
    o.n_fields = 2;
    CHECK_EQ(check_gen_invalid(schema, &o, "field 'id' is given twice"), RILL_ECONFIG);
    o.n_fields = 1;
    o.events = -1;
    CHECK_EQ(check_gen_invalid(schema, &o, "events must be >= 0"), RILL_ECONFIG);
    o.events = 0;
    o.rate = -5;
    CHECK_EQ(check_gen_invalid(schema, &o, "rate must be"), RILL_ECONFIG);
    o.rate = 0;
    /* and a valid one passes */
    void *cfg = rill__generator_cfg(&o);
    rill__err err = {0};
    CHECK_RC(rill__generator_source_ops.validate(cfg, schema, &err));
    rill__generator_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
}

TEST(conn_gen_rate_limit_waits)
{
    rill_schema *schema = schema_of("id INT64 NOT NULL");
    rill_gen_field f = {.name = "id", .kind = RILL_GEN_SEQUENCE, .b = 1};
    /* 2000 rows/s over 2 subtasks: 1000 rows/s, one row per ms, for this subtask */
    rill_gen_opts o = {.seed = 1, .rate = 2000, .fields = &f, .n_fields = 1};
    void *cfg = rill__generator_cfg(&o);
    rill__err err;
    rill__conn_init init = conn_init(&err, 1, 2, 1024);
    rill__source *src;
    CHECK_RC(rill__generator_source_ops.create(cfg, schema, &init, &src));
    rill_batch *b = rill__batch_new(schema, 1024);
    int64_t wait = -1;
    int64_t t0 = rill__mono_ns();
    CHECK_RC(rill__generator_source_ops.poll(src, b, &wait));
    CHECK(b->n_rows >= 1 && b->n_rows <= 2); /* row 0 is due at once */
    rill_row r = rill__batch_row(b, 0);
    CHECK_EQ(rill_row_i64(&r, 0), 1); /* subtask 1 of 2 */
    int64_t total = b->n_rows;
    rill__batch_clear(b);
    int rc = rill__generator_source_ops.poll(src, b, &wait);
    if (rc == RILL_AGAIN) {
        CHECK_EQ(b->n_rows, 0);
        CHECK(wait > 0 && wait <= 2000000);
    } else {
        CHECK_RC(rc); /* a slow machine: the next row was already due */
        total += b->n_rows;
    }
    /* run for ~200 ms, sleeping as told: about 200 rows, never far ahead of schedule */
    while (rill__mono_ns() - t0 < 200000000) {
        rill__batch_clear(b);
        rc = rill__generator_source_ops.poll(src, b, &wait);
        if (rc == RILL_AGAIN) {
            CHECK(wait > 0 && wait <= 1000000000);
            rill__sleep_ns(wait);
            continue;
        }
        CHECK_RC(rc);
        total += b->n_rows;
        int64_t elapsed_ms = (rill__mono_ns() - t0) / 1000000;
        CHECK(total <= elapsed_ms + 2);
    }
    /* whatever came due during the last sleep (a loaded machine oversleeps): rows are made by
     * the clock, so they catch up, and never run ahead of it */
    rill__batch_clear(b);
    rc = rill__generator_source_ops.poll(src, b, &wait);
    if (rc != RILL_AGAIN) {
        CHECK_RC(rc);
        total += b->n_rows;
    }
    int64_t elapsed_ms = (rill__mono_ns() - t0) / 1000000;
    CHECK(total >= 150 && total <= elapsed_ms + 2);
    rill__batch_unref(b);
    rill__generator_source_ops.destroy(src);
    rill__generator_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
}

TEST(conn_gen_small_and_unbounded)
{
    rill_schema *schema = schema_of("id INT64 NOT NULL, x STRING NOT NULL, y INT64");
    rill_gen_field f = {.name = "id", .kind = RILL_GEN_SEQUENCE, .b = 1};
    rill_gen_opts o = {.events = 2, .fields = &f, .n_fields = 1};
    void *cfg = rill__generator_cfg(&o);
    rill__err err;
    lines got = {0};
    CHECK_RC(run_source(&rill__generator_source_ops, cfg, schema, 3, 8, &got, &err));
    CHECK_EQ(got.n, 2);
    CHECK_STR(got.v[1].text, "{\"id\":1,\"x\":\"\",\"y\":null}\n");
    lines_free(&got);
    rill__generator_source_ops.cfg_free(cfg);
    /* events 0: unbounded, full batches every time */
    o.events = 0;
    cfg = rill__generator_cfg(&o);
    rill__conn_init init = conn_init(&err, 0, 1, 100);
    rill__source *src;
    CHECK_RC(rill__generator_source_ops.create(cfg, schema, &init, &src));
    rill_batch *b = rill__batch_new(schema, 100);
    for (int i = 0; i < 50; i++) {
        rill__batch_clear(b);
        int64_t wait;
        CHECK_RC(rill__generator_source_ops.poll(src, b, &wait));
        CHECK_EQ(b->n_rows, 100);
    }
    rill_row r = rill__batch_row(b, 99);
    CHECK_EQ(rill_row_i64(&r, 0), 4999);
    CHECK_EQ(rill__generator_source_ops.skipped(src), 0);
    rill__batch_unref(b);
    rill__generator_source_ops.destroy(src);
    rill__generator_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
}

static int failing_hook(rill_ctx *ctx, uint64_t n, rill_row *row)
{
    (void)row;
    if (n == 5)
        return rill__err_set(&ctx->user_err, RILL_EUSER, "row five is bad");
    return 0;
}

TEST(conn_gen_hook_failure_names_row)
{
    rill_schema *schema = schema_of("id INT64 NOT NULL");
    rill_gen_opts o = {.events = 10, .fn = failing_hook};
    void *cfg = rill__generator_cfg(&o);
    rill__err err;
    lines got = {0};
    CHECK_EQ(run_source(&rill__generator_source_ops, cfg, schema, 1, 4, &got, &err), RILL_EUSER);
    CHECK_CONTAINS(err.msg, "generator 'src-1': row 5: row five is bad");
    CHECK_EQ(got.n, 5); /* rows before the failing one */
    lines_free(&got);
    rill__generator_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
}

/* ---- file source ---------------------------------------------------------------------------- */

static void make_dir(const char *path)
{
    CHECK_RC(rill__mkdirs(path, 0755));
}

TEST(conn_file_directory_split_over_two_subtasks)
{
    char *dir = path_in_tmp("in");
    make_dir(dir);
    char *p;
    /* CRLF lines, a blank line, a last line without '\n', a hidden file and a hidden
     * subdirectory (names starting with '.' or '_'; other subdirectories are read) */
    write_text(p = rill__xasprintf("%s/a.csv", dir), "id,name\r\n1,one\r\n2,two\r\n"), free(p);
    write_text(p = rill__xasprintf("%s/b.csv", dir), "id,name\n3,three\n\n4,\"f,our\"\n5,five"),
        free(p);
    write_text(p = rill__xasprintf("%s/c.csv", dir), "id,name\n"), free(p);
    write_text(p = rill__xasprintf("%s/d.csv", dir), "\xef\xbb\xbfid,name\n6,six\n"), free(p);
    write_text(p = rill__xasprintf("%s/.hidden.csv", dir), "id,name\n100,no\n"), free(p);
    write_text(p = rill__xasprintf("%s/_SUCCESS", dir), "id,name\n300,no\n"), free(p);
    make_dir(p = rill__xasprintf("%s/_sub", dir)), free(p);
    write_text(p = rill__xasprintf("%s/_sub/e.csv", dir), "id,name\n200,no\n"), free(p);

    rill_schema *schema = schema_of("id INT64 NOT NULL, name STRING");
    void *cfg = rill__file_source_cfg(dir, NULL);
    rill__err err;
    CHECK_RC(rill__file_source_ops.validate(cfg, schema, &err));
    uint32_t sizes[] = {1, 2, 1000};
    for (size_t si = 0; si < RILL_ARRAY_LEN(sizes); si++) {
        lines got = {0};
        CHECK_RC(run_source(&rill__file_source_ops, cfg, schema, 2, sizes[si], &got, &err));
        CHECK_EQ(got.n, 6);
        for (size_t i = 0; i < got.n; i++)
            CHECK_EQ(got.v[i].key, (int64_t)i + 1);
        CHECK_STR(got.v[3].text, "{\"id\":4,\"name\":\"f,our\"}\n");
        CHECK_STR(got.v[4].text, "{\"id\":5,\"name\":\"five\"}\n");
        lines_free(&got);
    }
    /* subtask 1 of 2 reads splits 1 and 3: b.csv and d.csv */
    {
        rill__conn_init init = conn_init(&err, 1, 2, 100);
        rill__source *src;
        CHECK_RC(rill__file_source_ops.create(cfg, schema, &init, &src));
        rill_batch *b = rill__batch_new(schema, 100);
        int64_t wait;
        /* one batch per split, each flagged as its split's last */
        int32_t splits[2];
        uint32_t rows = 0;
        for (int k = 0; k < 2; k++) {
            rill__batch_clear(b);
            CHECK_EQ(rill__file_source_ops.poll(src, b, &wait), 0);
            CHECK(b->split_done);
            splits[k] = b->split;
            rows += b->n_rows;
        }
        CHECK(splits[0] != splits[1]);
        CHECK_EQ(rows, 4);
        rill_row r = rill__batch_row(b, b->n_rows - 1);
        CHECK_EQ(rill_row_i64(&r, 0), 6);
        rill__batch_clear(b);
        CHECK_EQ(rill__file_source_ops.poll(src, b, &wait), RILL_DONE);
        rill__batch_unref(b);
        rill__file_source_ops.destroy(src);
    }
    rill__file_source_ops.cfg_free(cfg);
    /* a glob over the same files, and one file alone */
    p = rill__xasprintf("%s/[ab].csv", dir);
    cfg = rill__file_source_cfg(p, NULL);
    free(p);
    lines got = {0};
    CHECK_RC(run_source(&rill__file_source_ops, cfg, schema, 3, 64, &got, &err));
    CHECK_EQ(got.n, 5);
    lines_free(&got);
    rill__file_source_ops.cfg_free(cfg);
    p = rill__xasprintf("%s/d.csv", dir);
    cfg = rill__file_source_cfg(p, NULL);
    free(p);
    CHECK_RC(run_source(&rill__file_source_ops, cfg, schema, 2, 64, &got, &err));
    CHECK_EQ(got.n, 1);
    lines_free(&got);
    rill__file_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
    free(dir);
}

TEST(conn_file_csv_header_maps_columns_by_name)
{
    char *path = path_in_tmp("h.csv");
    write_text(path, "extra;name;id\nx;ann;1\ny;bob;2\n");
    rill_schema *schema = schema_of("id INT64 NOT NULL, name STRING, missing DOUBLE");
    rill_file_opts fo = {.format = RILL_FMT_CSV, .delimiter = ';'};
    void *cfg = rill__file_source_cfg(path, &fo);
    rill__err err;
    lines got = {0};
    CHECK_RC(run_source(&rill__file_source_ops, cfg, schema, 1, 10, &got, &err));
    CHECK_EQ(got.n, 2);
    CHECK_STR(got.v[1].text, "{\"id\":2,\"name\":\"bob\",\"missing\":null}\n");
    lines_free(&got);
    rill__file_source_ops.cfg_free(cfg);
    /* no header: columns in schema order */
    write_text(path, "1,ann,0.5\n2,bob,\n");
    rill_file_opts nh = {.no_header = true};
    cfg = rill__file_source_cfg(path, &nh);
    CHECK_RC(run_source(&rill__file_source_ops, cfg, schema, 1, 10, &got, &err));
    CHECK_EQ(got.n, 2);
    CHECK_STR(got.v[0].text, "{\"id\":1,\"name\":\"ann\",\"missing\":0.5}\n");
    lines_free(&got);
    rill__file_source_ops.cfg_free(cfg);
    /* a header without a NOT NULL field fails, naming the file and line 1 */
    write_text(path, "name\nann\n");
    cfg = rill__file_source_cfg(path, NULL);
    CHECK_EQ(run_source(&rill__file_source_ops, cfg, schema, 1, 10, &got, &err), RILL_EPARSE);
    CHECK_CONTAINS(err.msg, "h.csv:1:1: header: ");
    CHECK_CONTAINS(err.msg, "'id'");
    lines_free(&got);
    rill__file_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
    free(path);
}

TEST(conn_file_malformed_line_fails_with_position)
{
    char *path = path_in_tmp("bad.csv");
    write_text(path, "name,id\nann,1\nbob,12x\ncid,3\n");
    rill_schema *schema = schema_of("id INT64 NOT NULL, name STRING");
    void *cfg = rill__file_source_cfg(path, NULL);
    rill__err err;
    lines got = {0};
    CHECK_EQ(run_source(&rill__file_source_ops, cfg, schema, 1, 10, &got, &err), RILL_EPARSE);
    CHECK_EQ(err.code, RILL_EPARSE);
    char *want = rill__xasprintf("%s:3:5: ", path);
    CHECK_CONTAINS(err.msg, want);
    CHECK_CONTAINS(err.msg, "12x");
    free(want);
    lines_free(&got);
    rill__file_source_ops.cfg_free(cfg);
    /* JSON lines: the column of the bad value */
    write_text(path, "{\"id\":1}\n\n  \n{\"id\":\"two\"}\n");
    rill_file_opts jo = {.format = RILL_FMT_JSON};
    cfg = rill__file_source_cfg(path, &jo);
    CHECK_EQ(run_source(&rill__file_source_ops, cfg, schema, 1, 10, &got, &err), RILL_EPARSE);
    want = rill__xasprintf("%s:4:7: ", path);
    CHECK_CONTAINS(err.msg, want);
    free(want);
    lines_free(&got);
    rill__file_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
    free(path);
}

TEST(conn_file_skip_policy_writes_dead_letters)
{
    char *path = path_in_tmp("skip.csv");
    char *dl = path_in_tmp("dead.jsonl");
    write_text(path, "id,name\n1,a\nx\"y,b\t\xff\n3,c\n4z,d\n5,e\n");
    rill_schema *schema = schema_of("id INT64 NOT NULL, name STRING");
    void *cfg = rill__file_source_cfg(path, NULL);
    rill__err err;
    rill__conn_init init = conn_init(&err, 0, 1, 100);
    init.bad_policy = RILL_BAD_SKIP;
    init.dead_letter_path = dl;
    rill__source *src;
    CHECK_RC(rill__file_source_ops.create(cfg, schema, &init, &src));
    rill_batch *b = rill__batch_new(schema, 100);
    int64_t wait;
    /* a batch ends with its split (file), flagged done; the next poll reports the end */
    CHECK_EQ(rill__file_source_ops.poll(src, b, &wait), 0);
    CHECK_EQ(b->n_rows, 3);
    CHECK(b->split_done);
    CHECK_EQ(b->split, 0);
    rill__batch_clear(b);
    CHECK_EQ(rill__file_source_ops.poll(src, b, &wait), RILL_DONE);
    CHECK_EQ(b->n_rows, 0);
    CHECK_EQ(rill__file_source_ops.skipped(src), 2);
    rill__batch_unref(b);
    rill__file_source_ops.destroy(src);
    char *text = read_text(dl);
    char *first = rill__xasprintf("{\"source\":\"src-1\",\"file\":\"%s\",\"line\":3,\"column\":1,"
                                  "\"error\":\"",
                                  path);
    CHECK(strncmp(text, first, strlen(first)) == 0);
    CHECK_CONTAINS(text, "\"record\":\"x\\\"y,b\\t\\ufffd\"}\n");
    CHECK_CONTAINS(text, "\"line\":5,\"column\":1,");
    CHECK_CONTAINS(text, "\"record\":\"4z,d\"}\n");
    int n_lines = 0;
    for (const char *c = text; *c; c++)
        n_lines += *c == '\n';
    CHECK_EQ(n_lines, 2);
    free(first);
    free(text);
    rill__file_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
    free(path);
    free(dl);
}

TEST(conn_file_missing_path_is_an_error)
{
    rill_schema *schema = schema_of("id INT64");
    char *path = path_in_tmp("nothing-here.csv");
    void *cfg = rill__file_source_cfg(path, NULL);
    rill__err err = {0};
    CHECK_EQ(rill__file_source_ops.validate(cfg, schema, &err), RILL_ENOENT);
    CHECK_CONTAINS(err.msg, path);
    rill__conn_init init = conn_init(&err, 0, 1, 10);
    rill__source *src;
    CHECK_EQ(rill__file_source_ops.create(cfg, schema, &init, &src), RILL_ENOENT);
    CHECK(src == NULL);
    CHECK_CONTAINS(err.msg, path);
    CHECK_CONTAINS(err.msg, "No such file or directory");
    rill__file_source_ops.cfg_free(cfg);
    free(path);
    path = path_in_tmp("*.nomatch");
    cfg = rill__file_source_cfg(path, NULL);
    init = conn_init(&err, 0, 1, 10);
    CHECK_EQ(rill__file_source_ops.create(cfg, schema, &init, &src), RILL_ENOENT);
    CHECK_CONTAINS(err.msg, "no files match");
    CHECK_CONTAINS(err.msg, path);
    rill__file_source_ops.cfg_free(cfg);
    free(path);
    /* an empty directory is an empty input */
    path = path_in_tmp("empty");
    make_dir(path);
    cfg = rill__file_source_cfg(path, NULL);
    lines got = {0};
    CHECK_RC(run_source(&rill__file_source_ops, cfg, schema, 2, 10, &got, &err));
    CHECK_EQ(got.n, 0);
    rill__file_source_ops.cfg_free(cfg);
    free(path);
    rill_schema_free(schema);
}

TEST(conn_file_json_lines_and_long_lines)
{
    char *path = path_in_tmp("long.jsonl");
    size_t big = (size_t)3 << 20; /* longer than the first 1 MiB buffer */
    rill__buf t = {0};
    rill__buf_printf(&t, "{\"id\":1,\"s\":\"short\"}\n\n{\"id\":2,\"s\":\"");
    for (size_t i = 0; i < big; i++)
        rill__buf_putc(&t, (char)('a' + i % 26));
    rill__buf_printf(&t, "\"}\r\n{\"s\":\"last\",\"id\":3}");
    write_text(path, rill__buf_cstr(&t));
    rill__buf_free(&t);
    rill_schema *schema = schema_of("id INT64 NOT NULL, s STRING");
    rill_file_opts jo = {.format = RILL_FMT_JSON};
    void *cfg = rill__file_source_cfg(path, &jo);
    rill__err err;
    rill__conn_init init = conn_init(&err, 0, 1, 2);
    rill__source *src;
    CHECK_RC(rill__file_source_ops.create(cfg, schema, &init, &src));
    rill_batch *b = rill__batch_new(schema, 2);
    int64_t wait;
    CHECK_RC(rill__file_source_ops.poll(src, b, &wait));
    CHECK_EQ(b->n_rows, 2);
    rill_row r = rill__batch_row(b, 1);
    size_t len;
    const char *s = rill_row_str(&r, 1, &len);
    CHECK_EQ(len, big);
    CHECK(s[0] == 'a' && s[big - 1] == (char)('a' + (big - 1) % 26));
    rill__batch_clear(b);
    CHECK_EQ(rill__file_source_ops.poll(src, b, &wait), 0);
    CHECK_EQ(b->n_rows, 1);
    CHECK(b->split_done);
    r = rill__batch_row(b, 0);
    CHECK_EQ(rill_row_i64(&r, 0), 3);
    rill__batch_unref(b);
    rill__file_source_ops.destroy(src);
    rill__file_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
    free(path);
}

/* ---- sinks ---------------------------------------------------------------------------------- */

/* A batch of n generated rows: id, name (may need quoting), score, null-or-flag. */
static rill_batch *sample_batch(const rill_schema *schema, int n)
{
    /* no line breaks: the CSV decoder reads one record per line */
    static const char *const names[] = {"plain", "with,comma", "with \"quote\"", "",
                                        "tab\tand \\ back"};
    rill_gen_field f[4] = {
        {.name = "id", .kind = RILL_GEN_SEQUENCE, .b = 1},
        {.name = "name", .kind = RILL_GEN_STRING, .choices = names, .n_choices = 5},
        {.name = "score", .kind = RILL_GEN_UNIFORM_DOUBLE, .x = 0, .y = 1},
        {.name = "ts", .kind = RILL_GEN_SEQUENCE, .a = 1700000000000, .b = 1},
    };
    rill_gen_opts o = {.seed = 9, .events = n, .fields = f, .n_fields = 4};
    void *cfg = rill__generator_cfg(&o);
    rill__err err;
    rill__conn_init init = conn_init(&err, 0, 1, (uint32_t)n);
    rill__source *src;
    CHECK_RC(rill__generator_source_ops.create(cfg, schema, &init, &src));
    rill_batch *b = rill__batch_new(schema, (uint32_t)n);
    int64_t wait;
    CHECK_EQ(rill__generator_source_ops.poll(src, b, &wait), RILL_DONE);
    rill__generator_source_ops.destroy(src);
    rill__generator_source_ops.cfg_free(cfg);
    return b;
}

#define SINK_SPEC "id INT64 NOT NULL, name STRING, score DOUBLE, ts TIMESTAMP, extra BOOL"

static void write_sink(const rill__sink_ops *ops, void *cfg, const rill_schema *schema,
                       int subtask, int par, rill_batch *b)
{
    rill__err err;
    rill__conn_init init = conn_init(&err, subtask, par, 100);
    rill__sink *sink;
    CHECK_RC(ops->validate(cfg, schema, &err));
    CHECK_RC(ops->create(cfg, schema, &init, &sink));
    CHECK_RC(ops->write(sink, b));
    CHECK_RC(ops->write(sink, b));
    CHECK_RC(ops->finish(sink));
    ops->destroy(sink);
}

TEST(conn_sink_file_csv_and_json_read_back)
{
    rill_schema *schema = schema_of(SINK_SPEC);
    rill_batch *b = sample_batch(schema, 50);
    rill__err err;
    lines want = {0};
    collect(&want, b);
    collect(&want, b);
    qsort(want.v, want.n, sizeof *want.v, cmp_keyed);
    char *w = joined(&want);
    rill_format fmts[] = {RILL_FMT_CSV, RILL_FMT_JSON};
    for (size_t i = 0; i < 2; i++) {
        char *path = path_in_tmp(i ? "out/o.jsonl" : "out/o.csv"); /* parent made on demand */
        rill_file_opts fo = {.format = fmts[i]};
        void *cfg = rill__file_sink_cfg(path, &fo);
        write_sink(&rill__file_sink_ops, cfg, schema, 0, 1, b);
        rill__file_sink_ops.cfg_free(cfg);
        char *text = read_text(path);
        if (i == 0)
            CHECK(strncmp(text, "id,name,score,ts,extra\n", 23) == 0);
        else
            CHECK(strncmp(text, "{\"id\":0,", 8) == 0);
        free(text);
        cfg = rill__file_source_cfg(path, &fo);
        lines got = {0};
        CHECK_RC(run_source(&rill__file_source_ops, cfg, schema, 1, 16, &got, &err));
        char *g = joined(&got);
        CHECK_STR(g, w);
        free(g);
        lines_free(&got);
        rill__file_source_ops.cfg_free(cfg);
        free(path);
    }
    free(w);
    lines_free(&want);
    rill__batch_unref(b);
    rill_schema_free(schema);
}

TEST(conn_sink_file_part_files_at_parallelism_two)
{
    rill_schema *schema = schema_of(SINK_SPEC);
    rill_batch *b = sample_batch(schema, 10);
    char *dir = path_in_tmp("parts");
    make_dir(dir);
    char *stale = rill__xasprintf("%s/part-5", dir);
    write_text(stale, "old\n");
    void *cfg = rill__file_sink_cfg(dir, NULL);
    write_sink(&rill__file_sink_ops, cfg, schema, 0, 2, b);
    write_sink(&rill__file_sink_ops, cfg, schema, 1, 2, b);
    rill__file_sink_ops.cfg_free(cfg);
    CHECK(access(stale, F_OK) != 0);
    for (int i = 0; i < 2; i++) {
        char *p = rill__xasprintf("%s/part-%d", dir, i);
        char *text = read_text(p);
        CHECK(strncmp(text, "id,name,score,ts,extra\n0,", 25) == 0);
        free(text);
        free(p);
    }
    /* the directory reads back as 40 rows */
    cfg = rill__file_source_cfg(dir, NULL);
    rill__err err;
    lines got = {0};
    CHECK_RC(run_source(&rill__file_source_ops, cfg, schema, 2, 7, &got, &err));
    CHECK_EQ(got.n, 40);
    lines_free(&got);
    rill__file_source_ops.cfg_free(cfg);
    /* parallelism 2 over an existing regular file cannot make the directory */
    char *file = path_in_tmp("plain-file");
    write_text(file, "x");
    cfg = rill__file_sink_cfg(file, NULL);
    rill__conn_init init = conn_init(&err, 0, 2, 10);
    rill__sink *sink;
    CHECK(rill__file_sink_ops.create(cfg, schema, &init, &sink) < 0);
    CHECK_CONTAINS(err.msg, file);
    rill__file_sink_ops.cfg_free(cfg);
    free(file);
    free(stale);
    free(dir);
    rill__batch_unref(b);
    rill_schema_free(schema);
}

TEST(conn_sink_file_write_error_names_file)
{
    if (access("/dev/full", W_OK) != 0)
        return;
    rill_schema *schema = schema_of(SINK_SPEC);
    rill_batch *b = sample_batch(schema, 10);
    void *cfg = rill__file_sink_cfg("/dev/full", NULL);
    rill__err err;
    rill__conn_init init = conn_init(&err, 0, 1, 10);
    rill__sink *sink;
    CHECK_RC(rill__file_sink_ops.create(cfg, schema, &init, &sink));
    CHECK_RC(rill__file_sink_ops.write(sink, b)); /* buffered */
    CHECK_EQ(rill__file_sink_ops.finish(sink), RILL_ENOSPC);
    CHECK_CONTAINS(err.msg, "'/dev/full'");
    CHECK_CONTAINS(err.msg, "no space left on device");
    rill__file_sink_ops.destroy(sink);
    rill__file_sink_ops.cfg_free(cfg);
    rill__batch_unref(b);
    rill_schema_free(schema);
}

TEST(conn_sink_print_header_once)
{
    rill_schema *schema = schema_of(SINK_SPEC);
    rill_batch *b = sample_batch(schema, 3);
    char *path = path_in_tmp("print.out");
    FILE *f = fopen(path, "w+");
    CHECK(f != NULL);
    void *cfg = rill__print_sink_cfg(NULL, f);
    write_sink(&rill__print_sink_ops, cfg, schema, 0, 2, b);
    write_sink(&rill__print_sink_ops, cfg, schema, 1, 2, b);
    rill__print_sink_ops.cfg_free(cfg);
    fclose(f);
    char *text = read_text(path);
    CHECK(strncmp(text, "id,name,score,ts,extra\n0,", 25) == 0);
    CHECK(strstr(text + 1, "id,name") == NULL);
    int n_lines = 0;
    for (const char *c = text; *c; c++)
        n_lines += *c == '\n';
    CHECK_EQ(n_lines, 13); /* header + 2 subtasks * 2 batches * 3 rows */
    free(text);
    /* JSON: no header */
    f = fopen(path, "w+");
    rill_file_opts jo = {.format = RILL_FMT_JSON};
    cfg = rill__print_sink_cfg(&jo, f);
    write_sink(&rill__print_sink_ops, cfg, schema, 0, 1, b);
    rill__print_sink_ops.cfg_free(cfg);
    fclose(f);
    text = read_text(path);
    CHECK(strncmp(text, "{\"id\":0,\"name\":", 15) == 0);
    free(text);
    free(path);
    rill__batch_unref(b);
    rill_schema_free(schema);
}

TEST(conn_sink_blackhole_counts)
{
    rill_schema *schema = schema_of(SINK_SPEC);
    rill_batch *b = sample_batch(schema, 25);
    rill__err err;
    rill__conn_init init = conn_init(&err, 0, 1, 10);
    void *cfg = rill__xmalloc(1);
    rill__sink *sink;
    CHECK_RC(rill__blackhole_sink_ops.validate(cfg, schema, &err));
    CHECK_RC(rill__blackhole_sink_ops.create(cfg, schema, &init, &sink));
    for (int i = 0; i < 4; i++)
        CHECK_RC(rill__blackhole_sink_ops.write(sink, b));
    CHECK_RC(rill__blackhole_sink_ops.finish(sink));
    CHECK_EQ(rill__blackhole_rows(sink), 100);
    rill__blackhole_sink_ops.destroy(sink);
    rill__blackhole_sink_ops.cfg_free(cfg);
    rill__batch_unref(b);
    rill_schema_free(schema);
}

#ifdef RILL_FAULT_INJECTION
TEST(conn_io_faults_name_the_file)
{
    rill_schema *schema = schema_of(SINK_SPEC);
    rill_batch *b = sample_batch(schema, 20);
    char *path = path_in_tmp("faults.csv");
    /* a failing write, then a failing fsync: an error naming the file */
    for (int fsync_fault = 0; fsync_fault < 2; fsync_fault++) {
        void *cfg = rill__file_sink_cfg(path, NULL);
        rill__err err;
        rill__conn_init init = conn_init(&err, 0, 1, 10);
        rill__sink *sink;
        CHECK_RC(rill__file_sink_ops.create(cfg, schema, &init, &sink));
        rill__fault_arm(RILL_FAULT_WRITE, fsync_fault ? 0 : 1, false);
        rill__fault_arm(RILL_FAULT_FSYNC, fsync_fault ? 1 : 0, false);
        int rc = rill__file_sink_ops.write(sink, b);
        if (rc == 0)
            rc = rill__file_sink_ops.finish(sink);
        rill__fault_arm(RILL_FAULT_WRITE, 0, false);
        rill__fault_arm(RILL_FAULT_FSYNC, 0, false);
        CHECK_EQ(rc, RILL_EIO);
        CHECK_CONTAINS(err.msg, path);
        rill__file_sink_ops.destroy(sink);
        rill__file_sink_ops.cfg_free(cfg);
    }
    void *cfg = rill__file_sink_cfg(path, NULL);
    write_sink(&rill__file_sink_ops, cfg, schema, 0, 1, b);
    rill__file_sink_ops.cfg_free(cfg);
    /* the N-th read fails, for every N: an error naming the file, or every row */
    cfg = rill__file_source_cfg(path, NULL);
    for (long nth = 1;; nth++) {
        rill__err err;
        lines got = {0};
        rill__fault_arm(RILL_FAULT_READ, nth, false);
        int rc = run_source(&rill__file_source_ops, cfg, schema, 1, 8, &got, &err);
        long calls = rill__fault_arm(RILL_FAULT_READ, 0, false);
        if (rc == 0) {
            CHECK_EQ(got.n, 40);
            CHECK(calls < nth);
            lines_free(&got);
            break;
        }
        CHECK_EQ(rc, RILL_EIO);
        CHECK_CONTAINS(err.msg, path);
        CHECK_CONTAINS(err.msg, "read failed");
        lines_free(&got);
    }
    rill__file_source_ops.cfg_free(cfg);
    free(path);
    rill__batch_unref(b);
    rill_schema_free(schema);
}
#endif

TEST(conn_file_csv_records_spanning_lines)
{
    char *path = path_in_tmp("multi.csv");
    /* line 2-3: one record; line 4: a stray quote inside an unquoted field opens nothing;
     * lines 5-7: "" escapes and a CRLF inside quotes; line 8: bad id */
    write_text(path, "id,text\n1,\"a\nb\"\n2,x\"y\n3,\"he said \"\"hi\"\"\r\n\nok\"\r\nz,w\n4,end\n");
    rill_schema *schema = schema_of("id INT64 NOT NULL, text STRING");
    void *cfg = rill__file_source_cfg(path, NULL);
    lines got = {0};
    rill__err err;
    CHECK_EQ(run_source(&rill__file_source_ops, cfg, schema, 1, 2, &got, &err), RILL_EPARSE);
    char *want = rill__xasprintf("%s:8:1: ", path);
    CHECK_CONTAINS(err.msg, want); /* the bad record's own line, after multi-line records */
    free(want);
    char *all = joined(&got);
    CHECK_STR(all, "{\"id\":1,\"text\":\"a\\nb\"}\n{\"id\":2,\"text\":\"x\\\"y\"}\n"
                   "{\"id\":3,\"text\":\"he said \\\"hi\\\"\\r\\n\\nok\"}\n");
    free(all);
    lines_free(&got);
    rill__file_source_ops.cfg_free(cfg);

    /* a quote that is never closed swallows the rest of the file: a clear error at its line */
    write_text(path, "id,text\n1,ok\n2,\"never closed\n3,x\n");
    cfg = rill__file_source_cfg(path, NULL);
    CHECK_EQ(run_source(&rill__file_source_ops, cfg, schema, 1, 2, &got, &err), RILL_EPARSE);
    want = rill__xasprintf("%s:3:", path);
    CHECK_CONTAINS(err.msg, want);
    CHECK_CONTAINS(err.msg, "closing quote");
    free(want);
    lines_free(&got);
    rill__file_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
    free(path);
}

/* Rescaling: 2 readers read part of 5 files; 3 new readers start from their positions; every
 * row is read exactly once over both. */
TEST(conn_file_source_rescaled_restore)
{
    char *dir = path_in_tmp("rescale");
    CHECK_RC(rill__mkdirs(dir, 0755));
    int id = 0;
    for (int f = 0; f < 5; f++) {
        char *p = rill__xasprintf("%s/f%d.csv", dir, f);
        rill__buf t = {0};
        rill__buf_printf(&t, "id,name\n");
        for (int i = 0; i < 40 + 7 * f; i++)
            rill__buf_printf(&t, "%d,n%d\n", id++, i);
        write_text(p, rill__buf_cstr(&t));
        rill__buf_free(&t);
        free(p);
    }
    int total = id;
    rill_schema *schema = schema_of("id INT64 NOT NULL, name STRING");
    void *cfg = rill__file_source_cfg(dir, NULL);
    bool *seen = rill__xcalloc((size_t)total, sizeof *seen);
    rill__err err;
    rill__buf pos[2] = {{0}, {0}};
    rill__source_pos sp[2];
    for (int st = 0; st < 2; st++) { /* the old readers: a few small batches each */
        rill__conn_init init = conn_init(&err, st, 2, 16);
        rill__source *src;
        CHECK_RC(rill__file_source_ops.create(cfg, schema, &init, &src));
        rill_batch *b = rill__batch_new(schema, 16);
        for (int k = 0; k < 3 + st * 2; k++) {
            rill__batch_clear(b);
            int64_t w;
            int rc = rill__file_source_ops.poll(src, b, &w);
            CHECK(rc >= 0);
            for (uint32_t i = 0; i < b->n_rows; i++) {
                rill_row r = rill__batch_row(b, i);
                int64_t v = rill_row_i64(&r, 0);
                CHECK(!seen[v]);
                seen[v] = true;
            }
        }
        CHECK_RC(rill__file_source_ops.position(src, &pos[st]));
        sp[st] = (rill__source_pos){st, 2, false, pos[st].data, pos[st].len};
        rill__batch_unref(b);
        rill__file_source_ops.destroy(src);
    }
    for (int st = 0; st < 3; st++) { /* the new readers, to the end */
        rill__conn_init init = conn_init(&err, st, 3, 16);
        rill__source *src;
        CHECK_RC(rill__file_source_ops.create(cfg, schema, &init, &src));
        CHECK_RC(rill__file_source_ops.seek_rescaled(src, sp, 2));
        rill_batch *b = rill__batch_new(schema, 16);
        for (int guard = 0;; guard++) {
            CHECK(guard < 100000);
            rill__batch_clear(b);
            int64_t w;
            int rc = rill__file_source_ops.poll(src, b, &w);
            CHECK(rc >= 0);
            for (uint32_t i = 0; i < b->n_rows; i++) {
                rill_row r = rill__batch_row(b, i);
                int64_t v = rill_row_i64(&r, 0);
                if (seen[v])
                    rill_test_fail(__FILE__, __LINE__, "row %lld read twice", (long long)v);
                seen[v] = true;
            }
            if (rc == RILL_DONE)
                break;
        }
        rill__batch_unref(b);
        rill__file_source_ops.destroy(src);
    }
    for (int v = 0; v < total; v++)
        if (!seen[v])
            rill_test_fail(__FILE__, __LINE__, "row %d never read", v);
    free(seen);
    rill__buf_free(&pos[0]);
    rill__buf_free(&pos[1]);
    rill__file_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
    free(dir);
}

/* One run of a source's subtasks (a phase): each polls n_polls[st] batches of 16 (to the end
 * when negative), after seeking to what the previous phase left (pos, n: rescaled when its
 * parallelism differs, else each its own; finished[i]: old subtask i had ended, and its
 * position is not handed over, as the runtime does for a finished task); their positions go
 * back in pos, and done[st] says which reached the end. Every id polled is marked in seen,
 * once. */
static void src_phase(const rill__source_ops *ops, void *cfg, rill_schema *schema, int par,
                      const int *n_polls, rill__buf *pos, int *n_pos, int old_par,
                      const bool *finished, bool *done, bool *seen, int total)
{
    rill__err err;
    rill__source_pos sp[8];
    for (int i = 0; i < *n_pos; i++)
        sp[i] = (rill__source_pos){i, old_par, finished && finished[i],
                                   finished && finished[i] ? NULL : pos[i].data,
                                   finished && finished[i] ? 0 : pos[i].len};
    rill__buf out[8] = {{0}};
    for (int st = 0; st < par; st++) {
        rill__conn_init init = conn_init(&err, st, par, 16);
        rill__source *src;
        CHECK_RC(ops->create(cfg, schema, &init, &src));
        done[st] = false;
        if (*n_pos && (old_par != par || ops->restore_from_all))
            CHECK_RC(ops->seek_rescaled(src, sp, *n_pos));
        else if (*n_pos && sp[st].finished)
            done[st] = true; /* the runtime ends such a task at once */
        else if (*n_pos)
            CHECK_RC(ops->seek(src, sp[st].data, sp[st].len));
        rill_batch *b = rill__batch_new(schema, 16);
        for (int k = 0; !done[st] && (n_polls[st] < 0 || k < n_polls[st]); k++) {
            CHECK(k < 100000);
            rill__batch_clear(b);
            int64_t w;
            int rc = ops->poll(src, b, &w);
            CHECK(rc >= 0);
            for (uint32_t i = 0; i < b->n_rows; i++) {
                rill_row r = rill__batch_row(b, i);
                int64_t v = rill_row_i64(&r, 0);
                CHECK(v >= 0 && v < total);
                if (seen[v])
                    rill_test_fail(__FILE__, __LINE__, "%s: row %lld emitted twice (phase at "
                                   "parallelism %d, subtask %d)", ops->kind, (long long)v, par,
                                   st);
                seen[v] = true;
            }
            if (rc == RILL_DONE)
                done[st] = true;
        }
        CHECK_RC(ops->position(src, &out[st]));
        rill__batch_unref(b);
        ops->destroy(src);
    }
    for (int i = 0; i < *n_pos; i++)
        rill__buf_free(&pos[i]);
    for (int st = 0; st < par; st++)
        pos[st] = out[st];
    *n_pos = par;
}

static void gen_phase(void *cfg, rill_schema *schema, int par, const int *n_polls,
                      rill__buf *pos, int *n_pos, int old_par, bool *seen, int total)
{
    bool done[8];
    src_phase(&rill__generator_source_ops, cfg, schema, par, n_polls, pos, n_pos, old_par,
              NULL, done, seen, total);
}

/* Every chain of three parallelisms from 1 to 4 (a first run, two restores), for the file
 * source and the generator, with random progress in each run, and runs whose ended subtasks
 * are handed over as finished: each row is emitted exactly once. The file source emitted
 * rows again after 2 -> 1 -> 1 (issue 12: a rescaled reader's position forgot where the
 * other splits it had taken over stood). */
TEST(conn_sources_every_rescale_chain_emits_each_row_once)
{
    char *dir = path_in_tmp("chains");
    CHECK_RC(rill__mkdirs(dir, 0755));
    int id = 0;
    for (int f = 0; f < 7; f++) {
        char *p = rill__xasprintf("%s/f%d.csv", dir, f);
        rill__buf t = {0};
        rill__buf_printf(&t, "id\n");
        for (int i = 0; i < 30 + 23 * f; i++)
            rill__buf_printf(&t, "%d\n", id++);
        write_text(p, rill__buf_cstr(&t));
        rill__buf_free(&t);
        free(p);
    }
    int file_total = id;
    enum { GEN_TOTAL = 1500 };
    rill_schema *schema = schema_of("id INT64 NOT NULL");
    rill_gen_field f[1] = {{.name = "id", .kind = RILL_GEN_SEQUENCE, .a = 0, .b = 1}};
    rill_gen_opts o = {.seed = 1, .events = GEN_TOTAL, .fields = f, .n_fields = 1};
    const rill__source_ops *kinds[2] = {&rill__file_source_ops, &rill__generator_source_ops};
    void *cfgs[2] = {rill__file_source_cfg(dir, NULL), rill__generator_cfg(&o)};
    int totals[2] = {file_total, GEN_TOTAL};
    uint64_t rnd = 12345;
    for (int kind = 0; kind < 2; kind++)
        for (int chain = 0; chain < 64 * 2; chain++) {
            int pars[3] = {1 + chain % 4, 1 + chain / 4 % 4, 1 + chain / 16 % 4};
            bool hand_finished = chain >= 64;
            bool *seen = rill__xcalloc((size_t)totals[kind], sizeof *seen);
            rill__buf pos[8] = {{0}};
            bool done[8] = {0}, fin[8] = {0};
            int n_pos = 0, old_par = 0;
            for (int ph = 0; ph < 3; ph++) {
                int polls[4];
                for (int st = 0; st < pars[ph]; st++) {
                    rnd = rnd * 6364136223846793005u + 1442695040888963407u;
                    polls[st] = ph == 2 ? -1 : (int)(rnd >> 33) % 9; /* 0..8 batches of 16 */
                }
                for (int i = 0; i < n_pos; i++)
                    fin[i] = hand_finished && done[i];
                src_phase(kinds[kind], cfgs[kind], schema, pars[ph], polls, pos, &n_pos,
                          old_par, fin, done, seen, totals[kind]);
                old_par = pars[ph];
            }
            for (int i = 0; i < totals[kind]; i++)
                if (!seen[i]) {
                    rill_test_fail(__FILE__, __LINE__, "%s, chain %d -> %d -> %d%s: row %d "
                                   "never emitted", kinds[kind]->kind, pars[0], pars[1],
                                   pars[2], hand_finished ? " (finished handed over)" : "", i);
                    break;
                }
            for (int i = 0; i < n_pos; i++)
                rill__buf_free(&pos[i]);
            free(seen);
        }
    rill__file_source_ops.cfg_free(cfgs[0]);
    rill__generator_source_ops.cfg_free(cfgs[1]);
    rill_schema_free(schema);
    free(dir);
}

/* A file added to the directory between a checkpoint and its restore (sorting first, so every
 * index moves): the split states go by path, so the old files go on where they were and the
 * new one is read whole, at the same and at another parallelism. */
TEST(conn_file_added_between_runs_is_read_whole)
{
    for (int new_par = 2; new_par <= 3; new_par++) {
        char *dir = rill__xasprintf("%s/added-%d", rill_test_tmpdir(), new_par);
        CHECK_RC(rill__mkdirs(dir, 0755));
        int id = 0;
        for (int f = 0; f < 4; f++) {
            char *p = rill__xasprintf("%s/f%d.csv", dir, f);
            rill__buf t = {0};
            rill__buf_printf(&t, "id\n");
            for (int i = 0; i < 50; i++)
                rill__buf_printf(&t, "%d\n", id++);
            write_text(p, rill__buf_cstr(&t));
            rill__buf_free(&t);
            free(p);
        }
        int total = id + 20;
        rill_schema *schema = schema_of("id INT64 NOT NULL");
        void *cfg = rill__file_source_cfg(dir, NULL);
        bool *seen = rill__xcalloc((size_t)total, sizeof *seen);
        rill__buf pos[8] = {{0}};
        bool done[8];
        int n_pos = 0;
        src_phase(&rill__file_source_ops, cfg, schema, 2, (const int[]){5, 2}, pos, &n_pos, 0,
                  NULL, done, seen, total);
        char *p = rill__xasprintf("%s/a-new.csv", dir);
        rill__buf t = {0};
        rill__buf_printf(&t, "id\n");
        for (int i = id; i < total; i++)
            rill__buf_printf(&t, "%d\n", i);
        write_text(p, rill__buf_cstr(&t));
        rill__buf_free(&t);
        free(p);
        src_phase(&rill__file_source_ops, cfg, schema, new_par, (const int[]){-1, -1, -1}, pos,
                  &n_pos, 2, NULL, done, seen, total);
        for (int i = 0; i < total; i++)
            if (!seen[i])
                rill_test_fail(__FILE__, __LINE__, "p 2 -> %d: row %d never read", new_par, i);
        for (int i = 0; i < n_pos; i++)
            rill__buf_free(&pos[i]);
        free(seen);
        rill__file_source_ops.cfg_free(cfg);
        rill_schema_free(schema);
        free(dir);
    }
}

TEST(conn_gen_rescaled_again_emits_each_row_once)
{
    /* 2 -> 3 -> 3 -> 1 and 2 -> 3 -> 2: after a rescale, the new subtasks skip what the old
     * layout had emitted; a checkpoint of the new layout must keep skipping it (it did not:
     * rows came twice after a second restore) */
    rill_schema *schema = schema_of("id INT64 NOT NULL");
    rill_gen_field f[1] = {{.name = "id", .kind = RILL_GEN_SEQUENCE, .a = 0, .b = 1}};
    enum { TOTAL = 2000 };
    rill_gen_opts o = {.seed = 1, .events = TOTAL, .fields = f, .n_fields = 1};
    void *cfg = rill__generator_cfg(&o);
    for (int path = 0; path < 2; path++) {
        bool *seen = rill__xcalloc(TOTAL, sizeof *seen);
        rill__buf pos[8] = {{0}};
        int n_pos = 0;
        gen_phase(cfg, schema, 2, (const int[]){3, 9}, pos, &n_pos, 0, seen, TOTAL);
        gen_phase(cfg, schema, 3, (const int[]){2, 7, 1}, pos, &n_pos, 2, seen, TOTAL);
        if (path == 0) {
            gen_phase(cfg, schema, 3, (const int[]){4, 1, 6}, pos, &n_pos, 3, seen, TOTAL);
            gen_phase(cfg, schema, 1, (const int[]){-1}, pos, &n_pos, 3, seen, TOTAL);
        } else {
            gen_phase(cfg, schema, 2, (const int[]){-1, -1}, pos, &n_pos, 3, seen, TOTAL);
        }
        for (int i = 0; i < TOTAL; i++)
            if (!seen[i])
                rill_test_fail(__FILE__, __LINE__, "path %d: row %d never emitted", path, i);
        for (int i = 0; i < n_pos; i++)
            rill__buf_free(&pos[i]);
        free(seen);
    }
    rill__generator_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
}
