/* test_union.c - rill_stream_union: every row of every input once (a stream given twice, twice),
 * at several parallelisms of the inputs and of the union; the union's watermark is the least of
 * its inputs' (a slow input's rows are not made late by a fast one); the inputs' schemas must
 * agree, names come from the first and nullability widens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "rill.h"
#include "runtime/runtime.h"
#include "test.h"

/* input k's row n: id k * 1000000 + n, ts n * (k + 1) ms: input 2 runs through time three
 * times as fast as input 0, so a watermark taken from the fastest makes the others late */
static int gen_row(rill_ctx *ctx, uint64_t n, rill_row *row)
{
    int k = (int)(intptr_t)rill_ctx_user(ctx);
    rill_row_set_i64(row, 0, (int64_t)k * 1000000 + (int64_t)n);
    rill_row_set_ts(row, 1, (int64_t)n * (k + 1));
    return 0;
}

/* The lines of file dir, or of every file in directory dir (header lines "id,..." aside), sorted, into *out. */
static size_t read_lines(const char *dir, char ***out)
{
    char *cmd = rill__xasprintf("cat %s %s/* 2>/dev/null | grep -v '^id' | sort", dir, dir);
    FILE *p = popen(cmd, "r");
    free(cmd);
    size_t n = 0, cap = 0;
    char **v = NULL, line[256];
    while (p && fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = '\0';
        rill__grow((void **)&v, &cap, n + 1, sizeof *v);
        v[n++] = rill__xstrdup(line);
    }
    if (p)
        pclose(p);
    *out = v;
    return n;
}

static void free_lines(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

TEST(union_every_row_of_every_input)
{
    const char *dir = rill_test_tmpdir();
    static const int64_t events[3] = {3000, 1, 7001};
    for (int par = 1; par <= 3; par += 2) {
        rill_env *env = rill_env_new();
        CHECK_RC(rill_env_set(env, "name", "union"));
        CHECK_RC(rill_env_set(env, "parallelism", par == 1 ? "1" : "3"));
        CHECK_RC(rill_env_set(env, "batch-size", "50"));
        rill_schema *s = NULL;
        CHECK_RC(rill_schema_parse("id INT64 NOT NULL, ts TIMESTAMP NOT NULL", &s));
        rill_stream *in[4];
        for (int k = 0; k < 3; k++) {
            rill_gen_opts g = {.events = events[k], .fn = gen_row, .user = (void *)(intptr_t)k};
            in[k] = rill_source_generator(env, s, &g);
            /* inputs of other parallelisms than the union's: 1, 2, the env's */
            if (k < 2)
                rill_stream_parallelism(in[k], k + 1);
        }
        in[3] = in[1]; /* a stream given twice is read twice */
        rill_stream *u = rill_stream_union(in, 4);
        CHECK(u != NULL);
        char *out = rill__xasprintf("%s/union-%d", dir, par);
        rill_file_opts fo = {.format = RILL_FMT_CSV};
        rill_sink_file(u, out, &fo);
        rill_schema_free(s);
        if (rill_env_execute(env))
            rill_test_fail(__FILE__, __LINE__, "job failed: %s", rill_errmsg(env));
        char **lines = NULL;
        size_t n = read_lines(out, &lines);
        int64_t *ids = rill__xcalloc(n + 1, sizeof *ids);
        for (size_t i = 0; i < n; i++)
            ids[i] = strtoll(lines[i], NULL, 10);
        qsort(ids, n, sizeof *ids, cmp_i64);
        /* expected: each id of inputs 0 and 2 once, input 1's twice */
        size_t want_n = (size_t)(events[0] + 2 * events[1] + events[2]);
        if (n != want_n)
            rill_test_fail(__FILE__, __LINE__, "p=%d: %zu rows, not %zu", par, n, want_n);
        size_t at = 0;
        for (int k = 0; k < 3 && n == want_n; k++)
            for (int64_t e = 0; e < events[k]; e++)
                for (int twice = 0; twice < (k == 1 ? 2 : 1); twice++, at++)
                    if (ids[at] != (int64_t)k * 1000000 + e)
                        rill_test_fail(__FILE__, __LINE__, "p=%d: row %zu is id %lld, not %lld",
                                       par, at, (long long)ids[at],
                                       (long long)((int64_t)k * 1000000 + e));
        free(ids);
        free_lines(lines, n);
        free(out);
        rill_env_free(env);
    }
}

TEST(union_watermark_is_the_least_of_its_inputs)
{
    const char *dir = rill_test_tmpdir();
    enum { N = 4000, SIZE = 100 };
    for (int par = 1; par <= 2; par++) {
        rill_env *env = rill_env_new();
        CHECK_RC(rill_env_set(env, "name", "union-wm"));
        CHECK_RC(rill_env_set(env, "parallelism", par == 1 ? "1" : "2"));
        CHECK_RC(rill_env_set(env, "batch-size", "16"));
        rill_schema *s = NULL;
        CHECK_RC(rill_schema_parse("id INT64 NOT NULL, ts TIMESTAMP NOT NULL", &s));
        rill_watermark_opts wo = {.kind = RILL_WM_OFFSET, .max_delay_ms = 0};
        rill_stream *in[3];
        for (int k = 0; k < 3; k++) {
            rill_gen_opts g = {.events = N, .fn = gen_row, .user = (void *)(intptr_t)k};
            in[k] = rill_stream_event_time(rill_source_generator(env, s, &g), "ts", &wo);
        }
        rill_stream *u = rill_stream_union(in, 3);
        /* a key per row: every row is one window's count, unless late */
        rill_window_spec w = {.kind = RILL_WINDOW_TUMBLING, .size_ms = SIZE};
        rill_agg_spec agg = {.kind = RILL_AGG_COUNT};
        rill_output_tag *late = rill_output_tag_new(env, "late", s);
        w.late = late;
        rill_stream *counts = rill_window_aggregate(rill_stream_key_by(u, "id"), &w, &agg, 1);
        char *out = rill__xasprintf("%s/union-wm-%d", dir, par);
        char *late_out = rill__xasprintf("%s/union-late-%d", dir, par);
        rill_file_opts fo = {.format = RILL_FMT_CSV};
        rill_sink_file(counts, out, &fo);
        rill_sink_file(rill_stream_side_output(counts, late), late_out, &fo);
        rill_schema_free(s);
        if (rill_env_execute(env))
            rill_test_fail(__FILE__, __LINE__, "job failed: %s", rill_errmsg(env));
        char **lines = NULL;
        size_t n = read_lines(out, &lines);
        if (n != 3 * N)
            rill_test_fail(__FILE__, __LINE__, "p=%d: %zu windows, not %d (rows made late?)",
                           par, n, 3 * N);
        free_lines(lines, n);
        n = read_lines(late_out, &lines);
        if (n != 0)
            rill_test_fail(__FILE__, __LINE__, "p=%d: %zu late rows, first %s", par, n,
                           lines[0]);
        free_lines(lines, n);
        free(out);
        free(late_out);
        rill_env_free(env);
    }
}

TEST(union_schemas)
{
    rill_env *env = rill_env_new();
    rill_schema *a = NULL, *b = NULL, *c = NULL;
    CHECK_RC(rill_schema_parse("id INT64 NOT NULL, name STRING NOT NULL", &a));
    CHECK_RC(rill_schema_parse("key INT64 NOT NULL, label STRING", &b));
    CHECK_RC(rill_schema_parse("id INT64 NOT NULL, amount DOUBLE", &c));
    rill_gen_opts g = {.events = 1, .fn = gen_row};
    rill_stream *in[2] = {rill_source_generator(env, a, &g), rill_source_generator(env, b, &g)};
    rill_stream *u = rill_stream_union(in, 2);
    const rill_schema *us = rill_stream_schema(u);
    /* names of the first, nullable where any input is */
    CHECK_STR(rill_schema_field_name(us, 0), "id");
    CHECK_STR(rill_schema_field_name(us, 1), "name");
    CHECK(!rill_schema_field_nullable(us, 0));
    CHECK(rill_schema_field_nullable(us, 1));
    CHECK(rill_errmsg(env)[0] == '\0');
    in[1] = rill_source_generator(env, c, &g);
    rill_stream_union(in, 2);
    CHECK_CONTAINS(rill_errmsg(env), "union: input 2");
    CHECK_CONTAINS(rill_errmsg(env), "same field types");
    rill_schema_free(a);
    rill_schema_free(b);
    rill_schema_free(c);
    rill_env_free(env);
}
