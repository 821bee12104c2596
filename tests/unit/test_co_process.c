/* test_co_process.c - rill_keyed_co_process: two inputs keyed by fields at other places (one
 * nullable, one not) share one keyed state per key, at several parallelisms of the inputs and
 * of the operator; keys of other types are refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "rill.h"
#include "test.h"

enum { KEYS = 37 };

/* input a: (k, x) with k = n % KEYS; input b: (label, k2) with k2 = (n * 7) % KEYS */
static int gen_a(rill_ctx *ctx, uint64_t n, rill_row *row)
{
    (void)ctx;
    rill_row_set_i64(row, 0, (int64_t)(n % KEYS));
    rill_row_set_i64(row, 1, (int64_t)n);
    return 0;
}

static int gen_b(rill_ctx *ctx, uint64_t n, rill_row *row)
{
    (void)ctx;
    char label[32];
    int len = snprintf(label, sizeof label, "b%llu", (unsigned long long)n);
    rill_row_set_str(row, 0, label, (size_t)len);
    rill_row_set_i64(row, 1, (int64_t)((n * 7) % KEYS));
    return 0;
}


/* Counts the row on its side in the key's state and emits (key, side, a's count, b's count). */
static int on_row(rill_ctx *ctx, int side, int64_t key)
{
    const rill_state_desc *desc = rill_ctx_user(ctx); /* rows of a, rows of b */
    int64_t seen[2] = {0, 0};
    int rc = rill_value_get(ctx, desc, seen);
    if (rc < 0)
        return rc;
    seen[side]++;
    if ((rc = rill_value_set(ctx, desc, seen)) < 0)
        return rc;
    rill_row out;
    if ((rc = rill_emit(ctx, &out)) < 0)
        return rc;
    rill_row_set_i64(&out, 0, key);
    rill_row_set_i64(&out, 1, side);
    rill_row_set_i64(&out, 2, seen[0]);
    rill_row_set_i64(&out, 3, seen[1]);
    return 0;
}

static int fn_a(rill_ctx *ctx, const rill_row *in)
{
    return on_row(ctx, 0, rill_row_i64(in, 0));
}

static int fn_b(rill_ctx *ctx, const rill_row *in)
{
    return on_row(ctx, 1, rill_row_i64(in, 1));
}

TEST(co_process_shares_state_per_key)
{
    const char *dir = rill_test_tmpdir();
    enum { NA = 5000, NB = 3001 };
    for (int par = 1; par <= 3; par += 2) {
        rill_env *env = rill_env_new();
        CHECK_RC(rill_env_set(env, "name", "co"));
        CHECK_RC(rill_env_set(env, "parallelism", par == 1 ? "1" : "3"));
        CHECK_RC(rill_env_set(env, "batch-size", "40"));
        rill_schema *sa = NULL, *sb = NULL, *so = NULL;
        CHECK_RC(rill_schema_parse("k INT64 NOT NULL, x INT64 NOT NULL", &sa));
        CHECK_RC(rill_schema_parse("label STRING NOT NULL, k2 INT64", &sb));
        CHECK_RC(rill_schema_parse("k INT64, side INT64, na INT64, nb INT64", &so));
        rill_gen_opts ga = {.events = NA, .fn = gen_a}, gb = {.events = NB, .fn = gen_b};
        rill_stream *a = rill_source_generator(env, sa, &ga);
        rill_stream *b = rill_source_generator(env, sb, &gb);
        rill_stream_parallelism(b, 2); /* an input of another parallelism than the operator */
        rill_stream *c = rill_keyed_co_process(rill_stream_key_by(a, "k"),
                                               rill_stream_key_by(b, "k2"), so, fn_a, fn_b,
                                               rill_value_state(env, "seen", 16));
        CHECK(c != NULL);
        char *out = rill__xasprintf("%s/co-%d.csv", dir, par);
        rill_file_opts fo = {.format = RILL_FMT_CSV};
        rill_sink_file(c, out, &fo);
        rill_schema_free(sa);
        rill_schema_free(sb);
        rill_schema_free(so);
        if (rill_env_execute(env))
            rill_test_fail(__FILE__, __LINE__, "job failed: %s", rill_errmsg(env));
        /* per key: the largest counts seen are the key's rows of each input, and every count
         * from 1 to it appears once on its side */
        int64_t want[KEYS][2] = {{0}}, top[KEYS][2] = {{0}}, rows = 0, sum[KEYS][2] = {{0}};
        for (int n = 0; n < NA; n++)
            want[n % KEYS][0]++;
        for (int n = 0; n < NB; n++)
            want[(n * 7) % KEYS][1]++;
        /* one file, or a directory of a file per subtask */
        char *cmd = rill__xasprintf("cat %s %s/* 2>/dev/null", out, out);
        FILE *f = popen(cmd, "r");
        free(cmd);
        CHECK(f != NULL);
        char line[256];
        while (f && fgets(line, sizeof line, f)) {
            long long k, side, na, nb;
            if (sscanf(line, "%lld,%lld,%lld,%lld", &k, &side, &na, &nb) != 4)
                continue; /* the header */
            CHECK(k >= 0 && k < KEYS && (side == 0 || side == 1));
            int64_t mine = side ? nb : na;
            sum[k][side] += mine;
            if (na > top[k][0])
                top[k][0] = na;
            if (nb > top[k][1])
                top[k][1] = nb;
            rows++;
        }
        if (f)
            pclose(f);
        if (rows != NA + NB)
            rill_test_fail(__FILE__, __LINE__, "p=%d: %lld rows in %s, not %d", par,
                           (long long)rows, out, NA + NB);
        for (int k = 0; k < KEYS; k++)
            for (int s = 0; s < 2; s++) {
                if (top[k][s] != want[k][s] || sum[k][s] != want[k][s] * (want[k][s] + 1) / 2)
                    rill_test_fail(__FILE__, __LINE__,
                                   "p=%d key %d side %d: top %lld, sum %lld; want %lld rows", par,
                                   k, s, (long long)top[k][s], (long long)sum[k][s],
                                   (long long)want[k][s]);
            }
        free(out);
        rill_env_free(env);
    }
}

TEST(co_process_keys_must_agree)
{
    rill_env *env = rill_env_new();
    rill_schema *sa = NULL, *sb = NULL;
    CHECK_RC(rill_schema_parse("k INT64 NOT NULL, x INT64 NOT NULL", &sa));
    CHECK_RC(rill_schema_parse("label STRING NOT NULL, k2 INT64", &sb));
    rill_gen_opts ga = {.events = 1, .fn = gen_a}, gb = {.events = 1, .fn = gen_b};
    rill_stream *a = rill_source_generator(env, sa, &ga);
    rill_stream *b = rill_source_generator(env, sb, &gb);
    rill_keyed_co_process(rill_stream_key_by(a, "k"), rill_stream_key_by(b, "label"), NULL, fn_a,
                          fn_b, NULL);
    CHECK_CONTAINS(rill_errmsg(env), "co_process");
    CHECK_CONTAINS(rill_errmsg(env), "keyed alike");
    rill_schema_free(sa);
    rill_schema_free(sb);
    rill_env_free(env);
}
