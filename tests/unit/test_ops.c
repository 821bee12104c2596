/* test_ops.c - unit tests of the operators layer, through the operator harness. */
#include "harness.h"
#include "test.h"

static rill_schema *schema(const char *spec)
{
    rill_schema *s = NULL;
    if (rill_schema_parse(spec, &s) != 0)
        rill_test_fail(__FILE__, __LINE__, "schema: %s", rill_last_error());
    return s;
}

static int double_it(rill_ctx *ctx, const rill_row *in, rill_row *out)
{
    (void)ctx;
    rill_row_set_i64(out, 0, rill_row_i64(in, 0));
    rill_row_set_i64(out, 1, rill_row_i64(in, 1) * 2);
    return 0;
}

static const char *const rows4[] = {"1,10", "2,20", "3,30", "4,40", "5,50", NULL};

TEST(ops_map_in_place_and_shared)
{
    rill_schema *s = schema("k INT64, v INT64");
    for (int shared = 0; shared < 2; shared++) {
        harness h;
        rill__op_init init = harness_init(&h, s, NULL, 0);
        CHECK_RC(harness_open(&h, rill__op_map(&init, double_it)));
        CHECK_RC(harness_push(&h, rows4, shared));
        CHECK_RC(harness_end(&h));
        CHECK_STR(harness_rows(&h, &h.main), "1,20|2,40|3,60|4,80|5,100");
        CHECK(h.main.ended);
        harness_close(&h);
    }
    rill_schema_free(s);
}

static int to_text(rill_ctx *ctx, const rill_row *in, rill_row *out)
{
    (void)ctx;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "v=%lld", (long long)rill_row_i64(in, 1));
    return rill_row_set_str(out, 0, buf, (size_t)n);
}

TEST(ops_map_new_schema_fills_batches)
{
    rill_schema *s = schema("k INT64, v INT64"), *o = schema("t STRING");
    harness h;
    rill__op_init init = harness_init(&h, s, o, 0);
    CHECK_RC(harness_open(&h, rill__op_map(&init, to_text)));
    CHECK_RC(harness_push(&h, rows4, false));
    CHECK_RC(harness_end(&h));
    CHECK_STR(harness_rows(&h, &h.main), "v=10|v=20|v=30|v=40|v=50");
    CHECK_EQ(h.main.n_batches, 2); /* batch size 4: one full batch, then the rest */
    harness_close(&h);
    rill_schema_free(s);
    rill_schema_free(o);
}

static int odd_keys(rill_ctx *ctx, const rill_row *in)
{
    (void)ctx;
    return rill_row_i64(in, 0) & 1;
}

TEST(ops_filter_exclusive_and_shared)
{
    rill_schema *s = schema("k INT64, v STRING");
    const char *const rows[] = {"1,a", "2,b", "3,c", "4,d", "5,e", "6,f", NULL};
    for (int shared = 0; shared < 2; shared++) {
        harness h;
        rill__op_init init = harness_init(&h, s, NULL, 0);
        CHECK_RC(harness_open(&h, rill__op_filter(&init, odd_keys)));
        CHECK_RC(harness_push(&h, rows, shared));
        CHECK_RC(harness_end(&h));
        CHECK_STR(harness_rows(&h, &h.main), "1,a|3,c|5,e");
        harness_close(&h);
    }
    rill_schema_free(s);
}

static int explode(rill_ctx *ctx, const rill_row *in)
{
    for (int64_t i = 0; i < rill_row_i64(in, 0); i++) {
        rill_row out;
        int rc = rill_emit(ctx, &out);
        if (rc)
            return rc;
        rill_row_set_i64(&out, 0, rill_row_i64(in, 0));
        rill_row_set_i64(&out, 1, i);
    }
    return 0;
}

TEST(ops_flat_map_zero_to_many)
{
    rill_schema *s = schema("k INT64, v INT64");
    const char *const rows[] = {"0,0", "3,0", "1,0", "0,0", NULL};
    harness h;
    rill__op_init init = harness_init(&h, s, NULL, 0);
    CHECK_RC(harness_open(&h, rill__op_flat_map(&init, explode)));
    CHECK_RC(harness_push(&h, rows, false));
    CHECK_RC(harness_end(&h));
    CHECK_STR(harness_rows(&h, &h.main), "3,0|3,1|3,2|1,0");
    harness_close(&h);
    rill_schema_free(s);
}

typedef struct sum_cfg {
    rill_state_desc desc;
    rill_output_tag tag;
} sum_cfg;

/* running sum per key; rows with a negative value go to the side output */
static int keyed_sum(rill_ctx *ctx, const rill_row *in)
{
    sum_cfg *cfg = rill_ctx_user(ctx);
    int64_t v = rill_row_i64(in, 1);
    rill_row out;
    if (v < 0) {
        int rc = rill_emit_side(ctx, &cfg->tag, &out);
        if (rc)
            return rc;
        return rill_row_copy(&out, in);
    }
    int64_t sum = 0;
    int rc = rill_value_get(ctx, &cfg->desc, &sum);
    if (rc < 0)
        return rc;
    sum += v;
    if ((rc = rill_value_set(ctx, &cfg->desc, &sum)) < 0)
        return rc;
    if ((rc = rill_emit(ctx, &out)) < 0)
        return rc;
    rill_row_set_i64(&out, 0, rill_row_i64(in, 0));
    rill_row_set_i64(&out, 1, sum);
    return 0;
}

TEST(ops_keyed_process_value_state_and_side_output)
{
    rill_schema *s = schema("k INT64 NOT NULL, v INT64");
    sum_cfg cfg = {.desc = {.id = 0, .name = "sum", .kind = RILL_STATE_VALUE, .value_size = 8},
                   .tag = {.id = 0, .name = "negative", .schema = s}};
    rill__err e = {0};
    rill__key_spec key;
    CHECK_RC(rill__key_spec_init(&key, s, "k", &e));
    harness h;
    rill__op_init init = harness_init(&h, s, NULL, 1);
    init.user = &cfg;
    CHECK_RC(harness_open(&h, rill__op_keyed_process(&init, &key, &rill__heap_backend_ops,
                                                     keyed_sum, NULL)));
    const char *const a[] = {"1,10", "2,5", "1,-1", "1,7", NULL};
    const char *const b[] = {"2,5", "3,1", "1,1", "2,-9", NULL};
    CHECK_RC(harness_push(&h, a, false));
    CHECK_RC(harness_push(&h, b, true));
    CHECK_RC(harness_end(&h));
    CHECK_STR(harness_rows(&h, &h.main), "1,10|2,5|1,17|2,10|3,1|1,18");
    CHECK_STR(harness_rows(&h, &h.side[0]), "1,-1|2,-9");
    CHECK(h.side[0].ended);
    harness_close(&h);
    rill_schema_free(s);
}

static int fails_on_three(rill_ctx *ctx, const rill_row *in, rill_row *out)
{
    if (rill_row_i64(in, 0) == 3)
        return rill_ctx_fail(ctx, "key %lld is not allowed", (long long)rill_row_i64(in, 0));
    return rill_row_copy(out, in);
}

static int returns_code(rill_ctx *ctx, const rill_row *in)
{
    (void)ctx;
    return rill_row_i64(in, 0) == 2 ? RILL_EINVAL : 1;
}

TEST(ops_user_failure_names_operator_and_message)
{
    rill_schema *s = schema("k INT64, v INT64");
    harness h;
    rill__op_init init = harness_init(&h, s, NULL, 0);
    CHECK_RC(harness_open(&h, rill__op_map(&init, fails_on_three)));
    CHECK_EQ(harness_push(&h, rows4, false), RILL_EUSER);
    CHECK_STR(h.err.msg, "operator 'op' (subtask 1/1): key 3 is not allowed");
    harness_close(&h);

    init = harness_init(&h, s, NULL, 0);
    CHECK_RC(harness_open(&h, rill__op_filter(&init, returns_code)));
    CHECK_EQ(harness_push(&h, rows4, false), RILL_EINVAL);
    CHECK_CONTAINS(h.err.msg, "operator 'op' (subtask 1/1): filter function returned");
    CHECK_CONTAINS(h.err.msg, "RILL_EINVAL");
    harness_close(&h);
    rill_schema_free(s);
}

static int uses_state(rill_ctx *ctx, const rill_row *in, rill_row *out)
{
    static rill_state_desc d = {.id = 0, .name = "x", .kind = RILL_STATE_VALUE, .value_size = 8};
    int64_t v;
    (void)in, (void)out;
    return rill_value_get(ctx, &d, &v);
}

static int emits_from_map(rill_ctx *ctx, const rill_row *in, rill_row *out)
{
    rill_row extra;
    (void)in, (void)out;
    return rill_emit(ctx, &extra);
}

TEST(ops_misuse_is_an_error_not_a_crash)
{
    rill_schema *s = schema("k INT64, v INT64");
    harness h;
    rill__op_init init = harness_init(&h, s, NULL, 0);
    CHECK_RC(harness_open(&h, rill__op_map(&init, uses_state)));
    CHECK_EQ(harness_push(&h, rows4, false), RILL_ESTATE);
    CHECK_CONTAINS(h.err.msg, "keyed state 'x' used outside a keyed process function");
    harness_close(&h);
    init = harness_init(&h, s, NULL, 0);
    CHECK_RC(harness_open(&h, rill__op_map(&init, emits_from_map)));
    CHECK_EQ(harness_push(&h, rows4, false), RILL_EPERM);
    harness_close(&h);
    rill_schema_free(s);
}

static rill_counter counter_obj = {.id = 0, .name = "seen"};

static int counts(rill_ctx *ctx, const rill_row *in)
{
    rill_counter_add(ctx, &counter_obj, rill_row_i64(in, 0));
    return 1;
}

TEST(ops_counters_are_published_on_close)
{
    rill_schema *s = schema("k INT64, v INT64");
    rill_counter *list[] = {&counter_obj};
    harness h;
    rill__op_init init = harness_init(&h, s, NULL, 0);
    init.counters = list;
    init.n_counters = 1;
    CHECK_RC(harness_open(&h, rill__op_filter(&init, counts)));
    CHECK_RC(harness_push(&h, rows4, false));
    CHECK_EQ(rill_counter_value(&counter_obj), 0); /* gathered per subtask until close */
    CHECK_RC(harness_end(&h));
    harness_close(&h);
    CHECK_EQ(rill_counter_value(&counter_obj), 15);
    rill_schema_free(s);
}
