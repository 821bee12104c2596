/* test_state_kinds.c - unit tests of list, map, reducing and aggregating state and state TTL:
 * the backends' ops directly, and the public calls through a keyed process operator; every
 * test runs on the heap backend and on the rocksdb backend. */
#include <time.h>

#include "harness.h"
#include "test.h"

#define MAX_PAR 128

/* ---- fixtures ------------------------------------------------------------------------------- */

/* The backend under test: each_backend runs a test body once with each. */
static const rill__state_backend_ops *ops = &rill__heap_backend_ops;

static void each_backend(void (*fn)(void))
{
    const rill__state_backend_ops *const all[] = {&rill__heap_backend_ops,
                                                  &rill__rocksdb_backend_ops};
    for (size_t i = 0; i < RILL_ARRAY_LEN(all); i++) {
        ops = all[i];
        fprintf(stderr, "backend %s\n", ops->name);
        fn();
    }
}


static rill_schema *schema(const char *spec)
{
    rill_schema *s = NULL;
    if (rill_schema_parse(spec, &s) != 0)
        rill_test_fail(__FILE__, __LINE__, "schema: %s", rill_last_error());
    return s;
}

/* The processing time the operators under test see. */
static int64_t test_now;
static int64_t test_clock(void *arg)
{
    (void)arg;
    return test_now;
}

typedef struct fixture {
    harness h;
    rill_schema *in, *out;
    rill__key_spec key;
    uint64_t key_word;
} fixture;

/* A keyed process operator over "k INT64 NOT NULL, v INT64" (output out_spec, NULL: the same)
 * running fn with user, opened, on the test clock. */
static rill_ctx *fx_open(fixture *f, rill_process_fn fn, void *user, const char *out_spec)
{
    memset(f, 0, sizeof *f);
    f->in = schema("k INT64 NOT NULL, v INT64");
    f->out = out_spec ? schema(out_spec) : NULL;
    rill__err e = {0};
    CHECK_RC(rill__key_spec_init(&f->key, f->in, "k", &e));
    rill__op_init init = harness_init(&f->h, f->in, f->out, 0);
    init.user = user;
    rill__operator *op = rill__op_keyed_process(&init, &f->key, ops, fn, NULL);
    CHECK_RC(harness_open(&f->h, op));
    test_now = 1000;
    op->ctx.clock = (rill__clock){.now_ms = test_clock};
    return &op->ctx;
}

static void fx_close(fixture *f)
{
    harness_close(&f->h);
    rill_schema_free(f->in);
    rill_schema_free(f->out);
}

/* Makes k the current key, as the operator does for a row (for driving state calls directly). */
static void fx_key(fixture *f, int64_t k)
{
    rill_ctx *ctx = &f->h.op->ctx;
    f->key_word = (uint64_t)k;
    uint64_t h = rill__hash_u64(f->key_word);
    ctx->key = (rill__state_key){
        .key = &f->key_word, .key_len = 8, .hash = h, .kg = rill__key_group(h, MAX_PAR)};
}

static int64_t fx_entries(fixture *f)
{
    return harness_state_entries(f->h.op->ctx.backend);
}

static rill_state_desc mkdesc(int id, const char *name, rill__state_kind kind, size_t size)
{
    return (rill_state_desc){.id = id, .name = (char *)name, .kind = kind, .value_size = size};
}

/* ---- the backends directly ----------------------------------------------------------------- */

static rill__state_backend *backend_new(void)
{
    rill__state_backend_cfg cfg = {
        .kg_first = 0, .kg_last = MAX_PAR - 1, .max_parallelism = MAX_PAR, .operator_uid = "t",
        .dir = rill_test_tmpdir()};
    rill__state_backend *b = NULL;
    CHECK_RC(ops->create(&cfg, &b));
    return b;
}

static rill__state_table *table_of(rill__state_backend *b, const rill_state_desc *d)
{
    rill__state_table *t = NULL;
    CHECK_RC(ops->table(b, d, &t));
    return t;
}

static rill__state_key u64_key(uint64_t *kb, uint64_t v)
{
    *kb = v;
    uint64_t h = rill__hash_u64(v);
    return (rill__state_key){.key = kb, .key_len = 8, .hash = h, .kg = rill__key_group(h, MAX_PAR)};
}

static int64_t backend_entries(rill__state_backend *b)
{
    return harness_state_entries(b);
}

static void state_kinds_heap_value_append_on(void);
TEST(state_kinds_heap_value_append)
{
    each_backend(state_kinds_heap_value_append_on);
}
static void state_kinds_heap_value_append_on(void)
{
    rill__state_backend *b = backend_new();
    rill_state_desc dl = mkdesc(0, "list", RILL_STATE_LIST, 0);
    rill_state_desc dv = mkdesc(1, "value", RILL_STATE_VALUE, 8);
    rill__state_table *tl = table_of(b, &dl), *tv = table_of(b, &dv);
    uint64_t kb;
    enum { KEYS = 50, N = 2000 };
    for (int i = 0; i < N; i++)
        for (uint64_t k = 0; k < KEYS; k++) {
            rill__state_key key = u64_key(&kb, k);
            uint32_t x = (uint32_t)(k * 100000 + (uint64_t)i);
            CHECK_RC(ops->value_append(tl, &key, &x, sizeof x));
        }
    CHECK_EQ(backend_entries(b), KEYS);
    for (uint64_t k = 0; k < KEYS; k++) {
        rill__state_key key = u64_key(&kb, k);
        const void *p;
        size_t len;
        CHECK_EQ(ops->value_get(tl, &key, &p, &len), 1);
        CHECK_EQ(len, N * 4);
        for (int i = 0; i < N; i++) {
            uint32_t x;
            memcpy(&x, (const char *)p + i * 4, 4);
            CHECK_EQ(x, k * 100000 + (uint64_t)i);
        }
    }
    /* an empty append creates an empty value; inline then out of line */
    rill__state_key key = u64_key(&kb, 999);
    CHECK_RC(ops->value_append(tl, &key, NULL, 0));
    const void *p;
    size_t len;
    CHECK_EQ(ops->value_get(tl, &key, &p, &len), 1);
    CHECK_EQ(len, 0);
    CHECK_RC(ops->value_append(tl, &key, "0123456789", 10));
    CHECK_RC(ops->value_append(tl, &key, "abcdefghij", 10));
    CHECK_EQ(ops->value_get(tl, &key, &p, &len), 1);
    CHECK_EQ(len, 20);
    CHECK(memcmp(p, "0123456789abcdefghij", 20) == 0);
    /* a put after appends replaces the value */
    CHECK_RC(ops->value_put(tl, &key, "xy", 2));
    CHECK_EQ(ops->value_get(tl, &key, &p, &len), 1);
    CHECK_EQ(len, 2);
    /* fixed-size values cannot be appended to */
    CHECK_EQ(ops->value_append(tv, &key, "12345678", 8), RILL_EINVAL);
    int64_t bytes = 0;
    ops->stats(b, NULL, &bytes);
    CHECK(bytes < KEYS * N * 4 * 3 + (ops == &rill__heap_backend_ops ? 0 : 16 << 20));
    /* growth is geometric but bounded (RocksDB: a read-modify-write per append, the old
     * versions in a memtable until a flush) */
    ops->destroy(b);
}

/* A model of one key's map: user key "u<j>" -> value of j's length pattern. */
static size_t uval(int k, int j, char *buf)
{
    size_t n = (size_t)((k + j) % 40);
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)('a' + (k * 7 + j + (int)i) % 26);
    return n;
}

static size_t ukey(int j, char *buf)
{
    if (j == 0)
        return 0; /* the empty user key is a key too */
    return (size_t)snprintf(buf, 32, "user-key-%d", j);
}

typedef struct visit_acc {
    int64_t n;
    size_t bytes;
    int stop_at;
} visit_acc;

static int count_visit(void *arg, const void *uk, size_t ukl, const void *val, size_t len)
{
    visit_acc *a = arg;
    (void)uk;
    (void)val;
    a->n++;
    a->bytes += ukl + len;
    return a->stop_at && a->n == a->stop_at ? 42 : 0;
}

typedef struct kg_acc {
    int64_t n;
    bool ok;
} kg_acc;

static int kg_visit(void *arg, const rill__state_key *k, const void *val, size_t len)
{
    kg_acc *a = arg;
    uint32_t ukl;
    memcpy(&ukl, val, 4);
    if (k->key_len != 8 || len < 4 + (size_t)ukl)
        a->ok = false;
    uint64_t kk;
    memcpy(&kk, k->key, 8);
    char ub[32], vb[64];
    /* the user key's number from its bytes, then the value must be the model's */
    int j = 0;
    if (ukl) {
        char tmp[33] = {0};
        memcpy(tmp, (const char *)val + 4, ukl < 32 ? ukl : 32);
        j = atoi(tmp + strlen("user-key-"));
    }
    size_t ul = ukey(j, ub), vl = uval((int)kk, j, vb);
    if (ul != ukl || len != 4 + ul + vl || memcmp((const char *)val + 4, ub, ul) != 0 ||
        (vl && memcmp((const char *)val + 4 + ul, vb, vl) != 0))
        a->ok = false;
    a->n++;
    return 0;
}

static void state_kinds_heap_map_ops_on(void);
TEST(state_kinds_heap_map_ops)
{
    each_backend(state_kinds_heap_map_ops_on);
}
static void state_kinds_heap_map_ops_on(void)
{
    rill__state_backend *b = backend_new();
    rill_state_desc dm = mkdesc(0, "map", RILL_STATE_MAP, 0);
    rill__state_table *t = table_of(b, &dm);
    enum { KEYS = 300, UKEYS = 120 };
    uint64_t kb;
    char ub[32], vb[64];
    for (int j = 0; j < UKEYS; j++)
        for (int k = 0; k < KEYS; k++) {
            rill__state_key key = u64_key(&kb, (uint64_t)k);
            size_t ul = ukey(j, ub), vl = uval(k + 1, j, vb); /* first a value to overwrite */
            CHECK_RC(ops->map_put(t, &key, ub, ul, vb, vl));
            vl = uval(k, j, vb);
            CHECK_RC(ops->map_put(t, &key, ub, ul, vb, vl));
        }
    CHECK_EQ(backend_entries(b), KEYS);
    for (int k = 0; k < KEYS; k++) {
        rill__state_key key = u64_key(&kb, (uint64_t)k);
        for (int j = 0; j < UKEYS; j++) {
            size_t ul = ukey(j, ub), vl = uval(k, j, vb);
            const void *p;
            size_t len;
            CHECK_EQ(ops->map_get(t, &key, ub, ul, &p, &len), 1);
            CHECK_EQ(len, vl);
            CHECK(vl == 0 || memcmp(p, vb, vl) == 0);
        }
        CHECK_EQ(ops->map_get(t, &key, "nope", 4, &(const void *){0}, &(size_t){0}), 0);
    }
    /* iterate_kg: one visit per user key, as [ukey_len][ukey][value] */
    kg_acc ka = {.ok = true};
    for (int g = 0; g < MAX_PAR; g++)
        CHECK_RC(ops->iterate_kg(t, g, kg_visit, &ka));
    CHECK(ka.ok);
    CHECK_EQ(ka.n, KEYS * UKEYS);
    /* remove the odd user keys */
    for (int k = 0; k < KEYS; k++) {
        rill__state_key key = u64_key(&kb, (uint64_t)k);
        for (int j = 1; j < UKEYS; j += 2)
            CHECK_EQ(ops->map_remove(t, &key, ub, ukey(j, ub)), 1);
        CHECK_EQ(ops->map_remove(t, &key, ub, ukey(1, ub)), 0);
        visit_acc a = {0};
        CHECK_RC(ops->map_iterate(t, &key, count_visit, &a));
        CHECK_EQ(a.n, UKEYS / 2);
        for (int j = 0; j < UKEYS; j++) {
            const void *p;
            size_t len;
            CHECK_EQ(ops->map_get(t, &key, ub, ukey(j, ub), &p, &len), j % 2 == 0);
        }
        visit_acc stop = {.stop_at = 3};
        CHECK_EQ(ops->map_iterate(t, &key, count_visit, &stop), 42);
        CHECK_EQ(stop.n, 3);
    }
    /* clear half the keys, empty the other half by removes: both remove the entries */
    for (int k = 0; k < KEYS; k++) {
        rill__state_key key = u64_key(&kb, (uint64_t)k);
        if (k % 2) {
            CHECK_RC(ops->map_clear(t, &key));
        } else {
            for (int j = 0; j < UKEYS; j += 2)
                CHECK_EQ(ops->map_remove(t, &key, ub, ukey(j, ub)), 1);
        }
        visit_acc a = {0};
        CHECK_RC(ops->map_iterate(t, &key, count_visit, &a));
        CHECK_EQ(a.n, 0);
    }
    CHECK_EQ(backend_entries(b), 0);
    /* values do not go into a map table, nor maps into a value table */
    rill_state_desc dv = mkdesc(1, "v", RILL_STATE_VALUE, 0);
    rill__state_table *tv = table_of(b, &dv);
    rill__state_key vk = u64_key(&kb, 3);
    CHECK_EQ(ops->value_put(t, &vk, "x", 1), RILL_EINVAL);
    CHECK_EQ(ops->value_append(t, &vk, "x", 1), RILL_EINVAL);
    CHECK_EQ(ops->map_put(tv, &vk, "a", 1, "x", 1), RILL_ESTATE);
    CHECK_EQ(ops->map_get(tv, &vk, "a", 1, &(const void *){0}, &(size_t){0}), RILL_ESTATE);
    CHECK_EQ(backend_entries(b), 0);
    /* value_del removes a map too; destroy frees the maps still there */
    rill__state_key key = u64_key(&kb, 7);
    CHECK_RC(ops->map_put(t, &key, "a", 1, "1", 1));
    CHECK_RC(ops->value_del(t, &key));
    CHECK_EQ(backend_entries(b), 0);
    for (int k = 0; k < 50; k++) {
        key = u64_key(&kb, (uint64_t)k);
        CHECK_RC(ops->map_put(t, &key, "a", 1, "a long value, kept out of line", 30));
    }
    ops->destroy(b);
}

/* Values and map values start with an 8-byte time; expired when below *arg. */
static bool below(void *arg, const void *val, size_t len)
{
    int64_t ts;
    CHECK(len >= 8);
    memcpy(&ts, val, 8);
    return ts < *(int64_t *)arg;
}

/* Runs cleanup rounds until one full round removed nothing; returns the total removed. */
static int64_t cleanup_all(rill__state_table *t, int64_t limit)
{
    int64_t total = 0, round = -1;
    uint64_t cursor = 0;
    int calls = 0;
    while (round != 0) {
        round = 0;
        do {
            round += ops->cleanup_step(t, &cursor, 4, below, &limit);
            CHECK(++calls < 1000000);
        } while (cursor != 0);
        total += round;
    }
    return total;
}

static void state_kinds_heap_cleanup_step_on(void);
TEST(state_kinds_heap_cleanup_step)
{
    each_backend(state_kinds_heap_cleanup_step_on);
}
static void state_kinds_heap_cleanup_step_on(void)
{
    rill__state_backend *b = backend_new();
    rill_state_desc dv = mkdesc(0, "v", RILL_STATE_VALUE, 8);
    dv.ttl_ms = 10;
    rill_state_desc dm = mkdesc(1, "m", RILL_STATE_MAP, 0);
    dm.ttl_ms = 10;
    rill__state_table *tv = table_of(b, &dv), *tm = table_of(b, &dm);
    uint64_t kb;
    enum { N = 3000 };
    for (int k = 0; k < N; k++) {
        rill__state_key key = u64_key(&kb, (uint64_t)k);
        unsigned char v[16];
        int64_t ts = k % 3 ? 100 : 0;
        memcpy(v, &ts, 8);
        memcpy(v + 8, &k, sizeof k);
        CHECK_RC(ops->value_put(tv, &key, v, 16));
        /* maps: key k has user keys 0..k%5 with times 0 (even) and 100 (odd) */
        for (int j = 0; j <= k % 5; j++) {
            ts = j % 2 ? 100 : 0;
            memcpy(v, &ts, 8);
            CHECK_RC(ops->map_put(tm, &key, &j, sizeof j, v, 16));
        }
    }
    /* a value table of fixed size takes the TTL prefix on top */
    rill__state_key key = u64_key(&kb, 1);
    CHECK_EQ(ops->value_put(tv, &key, "12345678", 8), RILL_EINVAL);
    CHECK_EQ(backend_entries(b), 2 * N);
    int64_t removed = cleanup_all(tv, 50);
    CHECK_EQ(removed, N / 3);
    /* map entries whose user keys were all old (k % 5 == 0: only user key 0) go entirely */
    int64_t expect_map_removed = 0, expect_entries = 0;
    for (int k = 0; k < N; k++) {
        expect_map_removed += k % 5 / 2 + 1;
        expect_entries += k % 5 != 0;
    }
    CHECK_EQ(cleanup_all(tm, 50), expect_map_removed);
    CHECK_EQ(backend_entries(b), (N - N / 3) + expect_entries);
    for (int k = 0; k < N; k++) {
        key = u64_key(&kb, (uint64_t)k);
        const void *p;
        size_t len;
        CHECK_EQ(ops->value_get(tv, &key, &p, &len), k % 3 != 0);
        for (int j = 0; j <= k % 5; j++)
            CHECK_EQ(ops->map_get(tm, &key, &j, sizeof j, &p, &len), j % 2);
    }
    /* everything expires */
    CHECK_EQ(cleanup_all(tv, 1000), N - N / 3);
    cleanup_all(tm, 1000);
    CHECK_EQ(backend_entries(b), 0);
    ops->destroy(b);
}

/* ---- ListState ------------------------------------------------------------------------------ */

static void state_kinds_list_fixed_and_variable_on(void);
TEST(state_kinds_list_fixed_and_variable)
{
    each_backend(state_kinds_list_fixed_and_variable_on);
}
static void state_kinds_list_fixed_and_variable_on(void)
{
    fixture f;
    rill_ctx *ctx = fx_open(&f, NULL, NULL, NULL);
    rill_state_desc fixed = mkdesc(0, "fixed", RILL_STATE_LIST, 8);
    rill_state_desc var = mkdesc(1, "var", RILL_STATE_LIST, 0);
    enum { N = 10000 };
    for (int k = 1; k <= 3; k++) {
        fx_key(&f, k);
        CHECK_EQ(rill_list_size(ctx, &fixed), 0);
        CHECK_EQ(rill_list_get(ctx, &var, 0, &(const void *){0}, &(size_t){0}), 0);
        for (int64_t i = 0; i < N; i++) {
            int64_t x = i * k;
            CHECK_RC(rill_list_add(ctx, &fixed, &x, sizeof x));
            char s[32];
            int n = snprintf(s, sizeof s, "%lld", (long long)(i * k));
            CHECK_RC(rill_list_add(ctx, &var, s, (size_t)(i % 7 ? n : 0)));
        }
    }
    for (int k = 1; k <= 3; k++) {
        fx_key(&f, k);
        CHECK_EQ(rill_list_size(ctx, &fixed), N);
        CHECK_EQ(rill_list_size(ctx, &var), N);
        for (int64_t i = 0; i < N; i++) {
            const void *p;
            size_t len;
            CHECK_EQ(rill_list_get(ctx, &fixed, i, &p, &len), 1);
            int64_t x;
            CHECK_EQ(len, 8);
            memcpy(&x, p, 8);
            CHECK_EQ(x, i * k);
        }
        /* the variable list, walked from the start for a few */
        for (int64_t i = 0; i < N; i += 997) {
            const void *p;
            size_t len;
            CHECK_EQ(rill_list_get(ctx, &var, i, &p, &len), 1);
            char s[32];
            int n = snprintf(s, sizeof s, "%lld", (long long)(i * k));
            CHECK_EQ(len, i % 7 ? (size_t)n : 0);
            CHECK(len == 0 || memcmp(p, s, len) == 0);
        }
        CHECK_EQ(rill_list_get(ctx, &fixed, N, &(const void *){0}, &(size_t){0}), 0);
        CHECK_EQ(rill_list_get(ctx, &var, N, &(const void *){0}, &(size_t){0}), 0);
        CHECK_EQ(rill_list_get(ctx, &var, -1, &(const void *){0}, &(size_t){0}), RILL_ERANGE);
    }
    fx_key(&f, 2);
    CHECK_RC(rill_list_clear(ctx, &fixed));
    CHECK_RC(rill_list_clear(ctx, &var));
    CHECK_EQ(rill_list_size(ctx, &fixed), 0);
    CHECK_EQ(rill_list_size(ctx, &var), 0);
    fx_key(&f, 1);
    CHECK_EQ(rill_list_size(ctx, &var), N);
    CHECK_EQ(fx_entries(&f), 4);
    /* a wrong element size is refused with a message */
    CHECK_EQ(rill_list_add(ctx, &fixed, "abc", 3), RILL_EINVAL);
    CHECK_CONTAINS(f.h.err.msg, "fixed");
    fx_close(&f);
}

/* Rows k,v: appends v to k's list and emits k,<size>*1000+<sum of the list>. */
static int list_proc(rill_ctx *ctx, const rill_row *in)
{
    const rill_state_desc *d = rill_ctx_user(ctx);
    int64_t v = rill_row_i64(in, 1);
    int rc = rill_list_add(ctx, d, &v, sizeof v);
    if (rc < 0)
        return rc;
    int64_t n = rill_list_size(ctx, d), sum = 0;
    for (int64_t i = 0; i < n; i++) {
        const void *p;
        size_t len;
        if ((rc = rill_list_get(ctx, d, i, &p, &len)) != 1)
            return rc < 0 ? rc : RILL_ESTATE;
        int64_t x;
        memcpy(&x, p, 8);
        sum += x;
    }
    rill_row out;
    if ((rc = rill_emit(ctx, &out)) < 0)
        return rc;
    rill_row_set_i64(&out, 0, rill_row_i64(in, 0));
    rill_row_set_i64(&out, 1, n * 1000 + sum);
    return 0;
}

static void state_kinds_list_in_operator_on(void);
TEST(state_kinds_list_in_operator)
{
    each_backend(state_kinds_list_in_operator_on);
}
static void state_kinds_list_in_operator_on(void)
{
    fixture f;
    rill_state_desc d = mkdesc(0, "l", RILL_STATE_LIST, 8);
    fx_open(&f, list_proc, &d, NULL);
    const char *const rows[] = {"1,5", "2,7", "1,6", "1,1", "2,3", NULL};
    CHECK_RC(harness_push(&f.h, rows, false));
    CHECK_RC(harness_end(&f.h));
    CHECK_STR(harness_rows(&f.h, &f.h.main), "1,1005|2,1007|1,2011|1,3012|2,2010");
    fx_close(&f);
}

/* ---- MapState ------------------------------------------------------------------------------- */

static void state_kinds_map_calls_on(void);
TEST(state_kinds_map_calls)
{
    each_backend(state_kinds_map_calls_on);
}
static void state_kinds_map_calls_on(void)
{
    fixture f;
    rill_ctx *ctx = fx_open(&f, NULL, NULL, NULL);
    rill_state_desc d = mkdesc(0, "m", RILL_STATE_MAP, 0);
    enum { KEYS = 200, UKEYS = 100 };
    char ub[32], vb[64];
    for (int k = 0; k < KEYS; k++) {
        fx_key(&f, k);
        for (int j = 0; j < UKEYS; j++)
            CHECK_RC(rill_map_put(ctx, &d, ub, ukey(j, ub), vb, uval(k, j, vb)));
    }
    CHECK_EQ(fx_entries(&f), KEYS);
    for (int k = 0; k < KEYS; k++) {
        fx_key(&f, k);
        for (int j = 0; j < UKEYS; j++) {
            const void *p;
            size_t len, vl = uval(k, j, vb);
            CHECK_EQ(rill_map_get(ctx, &d, ub, ukey(j, ub), &p, &len), 1);
            CHECK_EQ(len, vl);
            CHECK(vl == 0 || memcmp(p, vb, vl) == 0);
        }
        if (k % 3 == 0) {
            CHECK_RC(rill_map_clear(ctx, &d));
            continue;
        }
        for (int j = 0; j < UKEYS; j += 2)
            CHECK_EQ(rill_map_remove(ctx, &d, ub, ukey(j, ub)), 1);
        CHECK_EQ(rill_map_remove(ctx, &d, ub, ukey(0, ub)), 0);
        visit_acc a = {0};
        CHECK_RC(rill_map_iterate(ctx, &d, count_visit, &a));
        CHECK_EQ(a.n, UKEYS / 2);
        visit_acc stop = {.stop_at = 5};
        CHECK_EQ(rill_map_iterate(ctx, &d, count_visit, &stop), 42);
    }
    CHECK_EQ(fx_entries(&f), KEYS - (KEYS + 2) / 3);
    fx_key(&f, 0);
    visit_acc a = {0};
    CHECK_RC(rill_map_iterate(ctx, &d, count_visit, &a));
    CHECK_EQ(a.n, 0);
    /* a map call on a list descriptor is misuse */
    rill_state_desc l = mkdesc(1, "l", RILL_STATE_LIST, 0);
    CHECK_EQ(rill_map_put(ctx, &l, "a", 1, "b", 1), RILL_EINVAL);
    CHECK_CONTAINS(f.h.err.msg, "is a list state, used as a map state");
    fx_close(&f);
}

/* ---- ReducingState and AggregatingState ----------------------------------------------------- */

static void reduce_max(void *acc, const void *val, void *user)
{
    int64_t a, v;
    memcpy(&a, acc, 8);
    memcpy(&v, val, 8);
    if (v > a)
        memcpy(acc, &v, 8);
    (*(int *)user)++;
}

static int max_proc(rill_ctx *ctx, const rill_row *in)
{
    const rill_state_desc *d = rill_ctx_user(ctx);
    int64_t v = rill_row_i64(in, 1), m = 0;
    int rc = rill_reducing_add(ctx, d, &v);
    if (rc < 0 || (rc = rill_reducing_get(ctx, d, &m)) != 1)
        return rc < 0 ? rc : RILL_ESTATE;
    rill_row out;
    if ((rc = rill_emit(ctx, &out)) < 0)
        return rc;
    rill_row_set_i64(&out, 0, rill_row_i64(in, 0));
    rill_row_set_i64(&out, 1, m);
    return 0;
}

static void state_kinds_reducing_max_on(void);
TEST(state_kinds_reducing_max)
{
    each_backend(state_kinds_reducing_max_on);
}
static void state_kinds_reducing_max_on(void)
{
    fixture f;
    int calls = 0;
    rill_state_desc d = mkdesc(0, "max", RILL_STATE_REDUCING, 8);
    d.reduce = reduce_max;
    d.reduce_user = &calls;
    rill_ctx *ctx = fx_open(&f, max_proc, &d, NULL);
    const char *const rows[] = {"1,5", "2,-7", "1,3", "1,9", "2,-8", "2,-1", NULL};
    CHECK_RC(harness_push(&f.h, rows, false));
    CHECK_RC(harness_end(&f.h));
    CHECK_STR(harness_rows(&f.h, &f.h.main), "1,5|2,-7|1,5|1,9|2,-7|2,-1");
    CHECK_EQ(calls, 4); /* the first value of a key is stored as it is */
    fx_key(&f, 3);
    int64_t m = 0;
    CHECK_EQ(rill_reducing_get(ctx, &d, &m), 0);
    fx_close(&f);
}

typedef struct avg_acc {
    double sum;
    int64_t n;
} avg_acc;

static void avg_create(void *acc, void *user)
{
    (void)user;
    *(avg_acc *)acc = (avg_acc){0, 0};
}

static int avg_add(rill_ctx *ctx, void *acc, const rill_row *in)
{
    (void)ctx;
    avg_acc *a = acc;
    if (rill_row_i64(in, 1) < 0)
        return RILL_EINVAL; /* a failing add leaves the accumulator as it was */
    a->sum += (double)rill_row_i64(in, 1);
    a->n++;
    return 0;
}

static void avg_merge(void *acc, const void *other, void *user)
{
    (void)user;
    avg_acc *a = acc;
    const avg_acc *b = other;
    a->sum += b->sum;
    a->n += b->n;
}

static int avg_result(rill_ctx *ctx, const void *acc, rill_row *out)
{
    (void)ctx;
    const avg_acc *a = acc;
    rill_row_set_f64(out, 1, a->n ? a->sum / (double)a->n : 0.0);
    return 0;
}

static int avg_proc(rill_ctx *ctx, const rill_row *in)
{
    const rill_state_desc *d = rill_ctx_user(ctx);
    int rc = rill_aggregating_add(ctx, d, in);
    if (rc == RILL_EINVAL)
        return 0; /* skipped */
    const void *acc;
    if (rc < 0 || (rc = rill_aggregating_get(ctx, d, &acc)) != 1)
        return rc < 0 ? rc : RILL_ESTATE;
    rill_row out;
    if ((rc = rill_emit(ctx, &out)) < 0)
        return rc;
    rill_row_set_i64(&out, 0, rill_row_i64(in, 0));
    return d->agg.result(ctx, acc, &out);
}

static const rill_aggregate avg_agg = {.acc_size = sizeof(avg_acc),
                                       .create = avg_create,
                                       .add = avg_add,
                                       .merge = avg_merge,
                                       .result = avg_result};

static void state_kinds_aggregating_avg_on(void);
TEST(state_kinds_aggregating_avg)
{
    each_backend(state_kinds_aggregating_avg_on);
}
static void state_kinds_aggregating_avg_on(void)
{
    fixture f;
    rill_state_desc d = mkdesc(0, "avg", RILL_STATE_AGGREGATING, sizeof(avg_acc));
    d.agg = avg_agg;
    rill_ctx *ctx = fx_open(&f, avg_proc, &d, "k INT64, avg DOUBLE");
    const char *const rows[] = {"1,1", "2,10", "1,2", "1,-5", "1,6", "2,20", NULL};
    CHECK_RC(harness_push(&f.h, rows, false));
    CHECK_RC(harness_end(&f.h));
    CHECK_STR(harness_rows(&f.h, &f.h.main), "1,1|2,10|1,1.5|1,3|2,15");
    /* merge two keys' accumulators, as sessions do */
    fx_key(&f, 1);
    const void *p;
    CHECK_EQ(rill_aggregating_get(ctx, &d, &p), 1);
    avg_acc a;
    memcpy(&a, p, sizeof a);
    fx_key(&f, 2);
    CHECK_EQ(rill_aggregating_get(ctx, &d, &p), 1);
    d.agg.merge(&a, p, NULL);
    CHECK_EQ(a.n, 5);
    CHECK_DBL(a.sum / (double)a.n, 39.0 / 5, 1e-12);
    fx_key(&f, 3);
    CHECK_EQ(rill_aggregating_get(ctx, &d, &p), 0);
    CHECK(p == NULL);
    fx_close(&f);
}

static void state_kinds_state_clear_on(void);
TEST(state_kinds_state_clear)
{
    each_backend(state_kinds_state_clear_on);
}
static void state_kinds_state_clear_on(void)
{
    fixture f;
    rill_ctx *ctx = fx_open(&f, NULL, NULL, NULL);
    int calls = 0;
    rill_state_desc dv = mkdesc(0, "v", RILL_STATE_VALUE, 8);
    rill_state_desc dl = mkdesc(1, "l", RILL_STATE_LIST, 0);
    rill_state_desc dm = mkdesc(2, "m", RILL_STATE_MAP, 0);
    rill_state_desc dr = mkdesc(3, "r", RILL_STATE_REDUCING, 8);
    dr.reduce = reduce_max;
    dr.reduce_user = &calls;
    rill_state_desc da = mkdesc(4, "a", RILL_STATE_AGGREGATING, sizeof(avg_acc));
    da.agg = avg_agg;
    const rill_state_desc *all[] = {&dv, &dl, &dm, &dr, &da};
    rill_row row = {0};
    uint64_t cells[2] = {1, 4};
    row.v = cells; /* k, v as the aggregate's add reads them */
    for (int k = 1; k <= 2; k++) {
        fx_key(&f, k);
        int64_t x = 4;
        CHECK_RC(rill_value_set(ctx, &dv, &x));
        CHECK_RC(rill_list_add(ctx, &dl, "ab", 2));
        CHECK_RC(rill_map_put(ctx, &dm, "u", 1, "v", 1));
        CHECK_RC(rill_reducing_add(ctx, &dr, &x));
        CHECK_RC(rill_aggregating_add(ctx, &da, &row));
    }
    CHECK_EQ(fx_entries(&f), 10);
    fx_key(&f, 1);
    for (int i = 0; i < 5; i++)
        CHECK_RC(rill_state_clear(ctx, all[i]));
    CHECK_EQ(fx_entries(&f), 5);
    int64_t x;
    const void *p;
    size_t len;
    CHECK_EQ(rill_value_get(ctx, &dv, &x), 0);
    CHECK_EQ(rill_list_size(ctx, &dl), 0);
    CHECK_EQ(rill_map_get(ctx, &dm, "u", 1, &p, &len), 0);
    CHECK_EQ(rill_reducing_get(ctx, &dr, &x), 0);
    CHECK_EQ(rill_aggregating_get(ctx, &da, &p), 0);
    fx_key(&f, 2);
    CHECK_EQ(rill_value_get(ctx, &dv, &x), 1);
    CHECK_EQ(rill_list_size(ctx, &dl), 1);
    CHECK_EQ(rill_map_get(ctx, &dm, "u", 1, &p, &len), 1);
    CHECK_EQ(rill_reducing_get(ctx, &dr, &x), 1);
    CHECK_EQ(rill_aggregating_get(ctx, &da, &p), 1);
    fx_close(&f);
}

static void state_kinds_descriptors_on(void);
TEST(state_kinds_descriptors)
{
    each_backend(state_kinds_descriptors_on);
}
static void state_kinds_descriptors_on(void)
{
    rill_env *env = rill_env_new();
    rill_state_desc *v = rill_value_state(env, "v", 8);
    rill_state_desc *l = rill_list_state(env, "l", 0);
    rill_state_desc *m = rill_map_state(env, NULL);
    rill_state_desc *r = rill_reducing_state(env, "r", 8, reduce_max, NULL);
    rill_state_desc *a = rill_aggregating_state(env, "a", &avg_agg);
    CHECK(v && l && m && r && a);
    CHECK_EQ(v->id, 0);
    CHECK_EQ(a->id, 4);
    CHECK_EQ(l->kind, RILL_STATE_LIST);
    CHECK_STR(m->name, "map");
    CHECK_EQ(a->value_size, sizeof(avg_acc));
    CHECK(a->agg.add == avg_add);
    CHECK_EQ(rill_state_ttl(l, 0, RILL_TTL_ON_CREATE_AND_WRITE), RILL_EINVAL);
    CHECK_EQ(rill_state_ttl(l, -5, RILL_TTL_ON_CREATE_AND_WRITE), RILL_EINVAL);
    CHECK_EQ(rill_state_ttl(NULL, 5, RILL_TTL_ON_CREATE_AND_WRITE), RILL_EINVAL);
    CHECK_RC(rill_state_ttl(l, 5, RILL_TTL_ON_READ_AND_WRITE));
    CHECK_EQ(l->ttl_ms, 5);
    CHECK_EQ(l->ttl_update, RILL_TTL_ON_READ_AND_WRITE);
    CHECK(rill_reducing_state(env, "bad", 0, reduce_max, NULL) == NULL);
    rill_env_free(env);
}

/* ---- TTL ------------------------------------------------------------------------------------ */

static rill_state_desc ttl_desc(int id, const char *name, rill__state_kind kind, size_t size,
                                int64_t ttl, rill_ttl_update up)
{
    rill_state_desc d = mkdesc(id, name, kind, size);
    CHECK_RC(rill_state_ttl(&d, ttl, up));
    return d;
}

static void ttl_value_expires_and_write_refreshes_on(void);
TEST(ttl_value_expires_and_write_refreshes)
{
    each_backend(ttl_value_expires_and_write_refreshes_on);
}
static void ttl_value_expires_and_write_refreshes_on(void)
{
    fixture f;
    rill_ctx *ctx = fx_open(&f, NULL, NULL, NULL);
    rill_state_desc d = ttl_desc(0, "v", RILL_STATE_VALUE, 8, 100, RILL_TTL_ON_CREATE_AND_WRITE);
    rill_state_desc b = ttl_desc(1, "b", RILL_STATE_VALUE, 0, 100, RILL_TTL_ON_CREATE_AND_WRITE);
    fx_key(&f, 1);
    int64_t x = 42, y = 0;
    test_now = 0;
    CHECK_RC(rill_value_set(ctx, &d, &x));
    CHECK_RC(rill_value_set_bytes(ctx, &b, "hello", 5));
    test_now = 99;
    CHECK_EQ(rill_value_get(ctx, &d, &y), 1);
    CHECK_EQ(y, 42);
    const void *p;
    size_t len;
    CHECK_EQ(rill_value_get_bytes(ctx, &b, &p, &len), 1);
    CHECK_EQ(len, 5);
    CHECK(memcmp(p, "hello", 5) == 0);
    test_now = 100; /* reads did not refresh: expired at 0 + 100 */
    CHECK_EQ(rill_value_get(ctx, &d, &y), 0);
    CHECK_EQ(rill_value_get_bytes(ctx, &b, &p, &len), 0);
    CHECK_EQ(fx_entries(&f), 0); /* an expired value read is deleted */
    /* writes refresh */
    test_now = 200;
    CHECK_RC(rill_value_set(ctx, &d, &x));
    test_now = 280;
    x = 43;
    CHECK_RC(rill_value_set(ctx, &d, &x));
    test_now = 379;
    CHECK_EQ(rill_value_get(ctx, &d, &y), 1);
    CHECK_EQ(y, 43);
    test_now = 380;
    CHECK_EQ(rill_value_get(ctx, &d, &y), 0);
    /* clear */
    CHECK_RC(rill_value_set(ctx, &d, &x));
    CHECK_RC(rill_value_clear(ctx, &d));
    CHECK_EQ(rill_value_get(ctx, &d, &y), 0);
    /* the fixed size is checked before the prefix */
    CHECK_EQ(rill_value_set_bytes(ctx, &d, "abc", 3), RILL_EINVAL);
    fx_close(&f);
}

static void ttl_read_and_write_refreshes_on_read_on(void);
TEST(ttl_read_and_write_refreshes_on_read)
{
    each_backend(ttl_read_and_write_refreshes_on_read_on);
}
static void ttl_read_and_write_refreshes_on_read_on(void)
{
    fixture f;
    rill_ctx *ctx = fx_open(&f, NULL, NULL, NULL);
    rill_state_desc rw = ttl_desc(0, "rw", RILL_STATE_VALUE, 8, 100, RILL_TTL_ON_READ_AND_WRITE);
    rill_state_desc cw = ttl_desc(1, "cw", RILL_STATE_VALUE, 8, 100, RILL_TTL_ON_CREATE_AND_WRITE);
    fx_key(&f, 5);
    int64_t x = 7, y;
    test_now = 0;
    CHECK_RC(rill_value_set(ctx, &rw, &x));
    CHECK_RC(rill_value_set(ctx, &cw, &x));
    for (test_now = 50; test_now <= 500; test_now += 50) {
        CHECK_EQ(rill_value_get(ctx, &rw, &y), 1);
        CHECK_EQ(y, 7);
        CHECK_EQ(rill_value_get(ctx, &cw, &y), test_now < 100);
    }
    test_now = 599;
    CHECK_EQ(rill_value_get(ctx, &rw, &y), 1);
    test_now = 699;
    CHECK_EQ(rill_value_get(ctx, &rw, &y), 0);
    fx_close(&f);
}

static void ttl_incremental_cleanup_removes_unread_entries_on(void);
TEST(ttl_incremental_cleanup_removes_unread_entries)
{
    each_backend(ttl_incremental_cleanup_removes_unread_entries_on);
}
static void ttl_incremental_cleanup_removes_unread_entries_on(void)
{
    fixture f;
    rill_ctx *ctx = fx_open(&f, NULL, NULL, NULL);
    rill_state_desc d = ttl_desc(0, "v", RILL_STATE_VALUE, 8, 100, RILL_TTL_ON_CREATE_AND_WRITE);
    rill_state_desc other = mkdesc(1, "other", RILL_STATE_VALUE, 8); /* no TTL */
    enum { N = 2000 };
    test_now = 0;
    for (int64_t k = 0; k < N; k++) {
        fx_key(&f, k);
        CHECK_RC(rill_value_set(ctx, &d, &k));
    }
    fx_key(&f, -1);
    CHECK_RC(rill_value_set(ctx, &other, &(int64_t){1}));
    CHECK_EQ(fx_entries(&f), N + 1);
    /* before expiry, accesses remove nothing */
    test_now = 99;
    int64_t y;
    for (int i = 0; i < 5000; i++) {
        fx_key(&f, N + i);
        CHECK_EQ(rill_value_get(ctx, &d, &y), 0);
    }
    CHECK_EQ(fx_entries(&f), N + 1);
    /* after: reads of keys that never had a value clean the old ones out */
    test_now = 100;
    int accesses = 0;
    while (fx_entries(&f) > 1) {
        fx_key(&f, N + accesses % 10);
        CHECK_EQ(rill_value_get(ctx, &d, &y), 0);
        CHECK(++accesses < 100000);
    }
    CHECK(accesses > 10);
    /* the table without a TTL is untouched */
    fx_key(&f, -1);
    CHECK_EQ(rill_value_get(ctx, &other, &y), 1);
    fx_close(&f);
}

typedef struct collect {
    char seen[256];
} collect;

static int collect_visit(void *arg, const void *uk, size_t ukl, const void *val, size_t len)
{
    collect *c = arg;
    size_t n = strlen(c->seen);
    snprintf(c->seen + n, sizeof c->seen - n, "%.*s=%.*s;", (int)ukl, (const char *)uk, (int)len,
             (const char *)val);
    return 0;
}

static void ttl_map_entries_expire_one_by_one_on(void);
TEST(ttl_map_entries_expire_one_by_one)
{
    each_backend(ttl_map_entries_expire_one_by_one_on);
}
static void ttl_map_entries_expire_one_by_one_on(void)
{
    fixture f;
    rill_ctx *ctx = fx_open(&f, NULL, NULL, NULL);
    rill_state_desc d = ttl_desc(0, "m", RILL_STATE_MAP, 0, 100, RILL_TTL_ON_CREATE_AND_WRITE);
    rill_state_desc rw = ttl_desc(1, "rw", RILL_STATE_MAP, 0, 100, RILL_TTL_ON_READ_AND_WRITE);
    fx_key(&f, 1);
    test_now = 0;
    CHECK_RC(rill_map_put(ctx, &d, "a", 1, "1", 1));
    CHECK_RC(rill_map_put(ctx, &rw, "a", 1, "1", 1));
    test_now = 60;
    CHECK_RC(rill_map_put(ctx, &d, "b", 1, "2", 1));
    CHECK_RC(rill_map_put(ctx, &rw, "b", 1, "2", 1));
    const void *p;
    size_t len;
    test_now = 90;
    CHECK_EQ(rill_map_get(ctx, &rw, "a", 1, &p, &len), 1); /* refreshed to 90 */
    collect c = {{0}};
    CHECK_RC(rill_map_iterate(ctx, &rw, collect_visit, &c)); /* refreshes b to 90 too */
    test_now = 120;
    CHECK_EQ(rill_map_get(ctx, &d, "a", 1, &p, &len), 0);
    CHECK_EQ(rill_map_get(ctx, &d, "b", 1, &p, &len), 1);
    CHECK_EQ(len, 1);
    CHECK(memcmp(p, "2", 1) == 0);
    memset(&c, 0, sizeof c);
    CHECK_RC(rill_map_iterate(ctx, &d, collect_visit, &c));
    CHECK_STR(c.seen, "b=2;");
    CHECK_EQ(rill_map_remove(ctx, &d, "a", 1), 0);
    memset(&c, 0, sizeof c);
    CHECK_RC(rill_map_iterate(ctx, &rw, collect_visit, &c));
    CHECK(strstr(c.seen, "a=1;") && strstr(c.seen, "b=2;"));
    test_now = 160; /* d: b expired; the map empties and its entry goes */
    CHECK_EQ(rill_map_get(ctx, &d, "b", 1, &p, &len), 0);
    CHECK_EQ(rill_map_remove(ctx, &rw, "a", 1), 1);
    CHECK_EQ(fx_entries(&f), 1);
    /* an expired user entry is skipped by iteration even before cleanup removes it */
    test_now = 1000;
    memset(&c, 0, sizeof c);
    CHECK_RC(rill_map_iterate(ctx, &rw, collect_visit, &c));
    CHECK_STR(c.seen, "");
    CHECK_EQ(fx_entries(&f), 0);
    /* incremental cleanup reaches maps never read again */
    test_now = 2000;
    for (int k = 0; k < 300; k++) {
        fx_key(&f, k);
        CHECK_RC(rill_map_put(ctx, &d, "x", 1, "y", 1));
        CHECK_RC(rill_map_put(ctx, &d, "z", 1, "w", 1));
    }
    test_now = 3000;
    int accesses = 0;
    while (fx_entries(&f) > 0) {
        fx_key(&f, 100000);
        CHECK_EQ(rill_map_get(ctx, &d, "x", 1, &p, &len), 0);
        CHECK(++accesses < 100000);
    }
    fx_close(&f);
}

static void ttl_list_whole_list_expires_on(void);
TEST(ttl_list_whole_list_expires)
{
    each_backend(ttl_list_whole_list_expires_on);
}
static void ttl_list_whole_list_expires_on(void)
{
    fixture f;
    rill_ctx *ctx = fx_open(&f, NULL, NULL, NULL);
    rill_state_desc d = ttl_desc(0, "l", RILL_STATE_LIST, 0, 100, RILL_TTL_ON_CREATE_AND_WRITE);
    rill_state_desc rw = ttl_desc(1, "rw", RILL_STATE_LIST, 8, 100, RILL_TTL_ON_READ_AND_WRITE);
    fx_key(&f, 1);
    test_now = 0;
    CHECK_RC(rill_list_add(ctx, &d, "one", 3));
    CHECK_RC(rill_list_add(ctx, &d, "two", 3)); /* same millisecond: appended in place */
    CHECK_RC(rill_list_add(ctx, &rw, "12345678", 8));
    test_now = 50;
    CHECK_RC(rill_list_add(ctx, &d, "three", 5)); /* refreshes the whole list */
    test_now = 120;
    CHECK_EQ(rill_list_size(ctx, &d), 3);
    CHECK_EQ(rill_list_size(ctx, &rw), 0);
    const void *p;
    size_t len;
    CHECK_EQ(rill_list_get(ctx, &d, 2, &p, &len), 1);
    CHECK_EQ(len, 5);
    CHECK(memcmp(p, "three", 5) == 0);
    test_now = 150;
    CHECK_EQ(rill_list_size(ctx, &d), 0);
    CHECK_EQ(rill_list_get(ctx, &d, 0, &p, &len), 0);
    /* after expiry an add starts a new list */
    CHECK_RC(rill_list_add(ctx, &d, "four", 4));
    CHECK_EQ(rill_list_size(ctx, &d), 1);
    /* read-and-write: reads keep the list alive */
    CHECK_RC(rill_list_add(ctx, &rw, "abcdefgh", 8));
    for (test_now = 200; test_now < 1000; test_now += 90)
        CHECK_EQ(rill_list_get(ctx, &rw, 0, &p, &len), 1);
    CHECK(memcmp(p, "abcdefgh", 8) == 0);
    /* many adds over time, then everything goes by cleanup */
    for (int i = 0; i < 1000; i++) {
        test_now = 1000 + i / 10;
        int64_t x = i;
        CHECK_RC(rill_list_add(ctx, &rw, &x, 8));
    }
    CHECK_EQ(rill_list_size(ctx, &rw), 1001);
    CHECK_RC(rill_list_get(ctx, &rw, 1000, &p, &len) == 1 ? 0 : -1);
    test_now = 5000;
    for (int i = 0; fx_entries(&f) > 0; i++) {
        fx_key(&f, 77);
        CHECK_EQ(rill_list_size(ctx, i % 2 ? &d : &rw), 0);
        CHECK(i < 100000);
    }
    fx_close(&f);
}

static void ttl_reducing_and_aggregating_on(void);
TEST(ttl_reducing_and_aggregating)
{
    each_backend(ttl_reducing_and_aggregating_on);
}
static void ttl_reducing_and_aggregating_on(void)
{
    fixture f;
    rill_ctx *ctx = fx_open(&f, NULL, NULL, NULL);
    int calls = 0;
    rill_state_desc r = ttl_desc(0, "r", RILL_STATE_REDUCING, 8, 100, RILL_TTL_ON_CREATE_AND_WRITE);
    r.reduce = reduce_max;
    r.reduce_user = &calls;
    rill_state_desc a =
        ttl_desc(1, "a", RILL_STATE_AGGREGATING, sizeof(avg_acc), 100, RILL_TTL_ON_READ_AND_WRITE);
    a.agg = avg_agg;
    rill_row row = {0};
    uint64_t cells[2] = {1, 10};
    row.v = cells;
    fx_key(&f, 1);
    test_now = 0;
    int64_t x = 5, m;
    CHECK_RC(rill_reducing_add(ctx, &r, &x));
    CHECK_RC(rill_aggregating_add(ctx, &a, &row));
    test_now = 99;
    x = 3;
    CHECK_RC(rill_reducing_add(ctx, &r, &x));
    CHECK_EQ(rill_reducing_get(ctx, &r, &m), 1);
    CHECK_EQ(m, 5);
    const void *p;
    CHECK_EQ(rill_aggregating_get(ctx, &a, &p), 1);
    CHECK_EQ(((const avg_acc *)p)->n, 1);
    test_now = 198; /* r was written at 99; a read at 99 */
    CHECK_EQ(rill_reducing_get(ctx, &r, &m), 1);
    CHECK_EQ(rill_aggregating_get(ctx, &a, &p), 1);
    test_now = 400;
    CHECK_EQ(rill_reducing_get(ctx, &r, &m), 0);
    x = 1;
    CHECK_RC(rill_reducing_add(ctx, &r, &x)); /* an expired accumulator starts over */
    CHECK_EQ(rill_reducing_get(ctx, &r, &m), 1);
    CHECK_EQ(m, 1);
    CHECK_RC(rill_aggregating_add(ctx, &a, &row));
    CHECK_EQ(rill_aggregating_get(ctx, &a, &p), 1);
    CHECK_EQ(((const avg_acc *)p)->n, 1);
    fx_close(&f);
}
