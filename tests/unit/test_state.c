/* test_state.c - unit tests of the state layer: the keyed-state backends (each backend test
 * runs on "heap" and on "rocksdb"). */
#include "harness.h"
#include "state/state.h"
#include "test.h"

#define MAX_PAR 128

static const rill__state_backend_ops *ops;
static const char *backend_name = "heap"; /* the backend the test body runs on */

static bool is_heap(void)
{
    return !strcmp(backend_name, "heap");
}

/* Runs a test body once per backend. */
static void each_backend(void (*fn)(void))
{
    static const char *const names[] = {"heap", "rocksdb"};
    for (size_t i = 0; i < RILL_ARRAY_LEN(names); i++) {
        backend_name = names[i];
        fprintf(stderr, "backend %s\n", backend_name);
        fn();
    }
}

static rill__state_backend *backend_new(int kg_first, int kg_last)
{
    ops = rill__state_backend_find(backend_name);
    CHECK(ops != NULL);
    rill__state_backend_cfg cfg = {.kg_first = kg_first,
                                   .kg_last = kg_last,
                                   .max_parallelism = MAX_PAR,
                                   .operator_uid = "test-op",
                                   .dir = rill_test_tmpdir()};
    rill__state_backend *b = NULL;
    CHECK_RC(ops->create(&cfg, &b));
    CHECK(b != NULL && b->ops == ops);
    return b;
}


static rill_state_desc desc_of(int id, const char *name, size_t value_size)
{
    return (rill_state_desc){
        .id = id, .name = (char *)name, .kind = RILL_STATE_VALUE, .value_size = value_size};
}

static rill__state_table *table_of(rill__state_backend *b, const rill_state_desc *d)
{
    rill__state_table *t = NULL;
    CHECK_RC(ops->table(b, d, &t));
    CHECK(t != NULL);
    return t;
}

/* A key of one u64, as the runtime makes it for a single INT64 key field. kb must outlive k. */
static rill__state_key u64_key(uint64_t *kb, uint64_t v)
{
    *kb = v;
    uint64_t h = rill__hash_u64(v);
    return (rill__state_key){.key = kb, .key_len = 8, .hash = h, .kg = rill__key_group(h, MAX_PAR)};
}

static rill__state_key bytes_key(const void *key, size_t n, const void *ns, size_t ns_len)
{
    uint64_t h = rill__hash_bytes(key, n, 0);
    return (rill__state_key){.key = key,
                             .key_len = n,
                             .hash = h,
                             .kg = rill__key_group(h, MAX_PAR),
                             .ns = ns,
                             .ns_len = ns_len};
}

static void put_i64(rill__state_table *t, const rill__state_key *k, int64_t v)
{
    CHECK_RC(ops->value_put(t, k, &v, sizeof v));
}

/* The value of k, or INT64_MIN when absent. */
static int64_t get_i64(rill__state_table *t, const rill__state_key *k)
{
    const void *p = NULL;
    size_t n = 99;
    int rc = ops->value_get(t, k, &p, &n);
    CHECK(rc == 0 || rc == 1);
    if (rc == 0) {
        CHECK(p == NULL);
        CHECK_EQ(n, 0);
        return INT64_MIN;
    }
    CHECK_EQ(n, 8);
    int64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint64_t rng_next(uint64_t *s)
{
    *s += 1;
    return rill__mix64(*s);
}

TEST(state_backend_find)
{
    CHECK(rill__state_backend_find("heap") == &rill__heap_backend_ops);
    CHECK_STR(rill__heap_backend_ops.name, "heap");
    CHECK(rill__state_backend_find("rocksdb") == &rill__rocksdb_backend_ops);
    CHECK_STR(rill__rocksdb_backend_ops.name, "rocksdb");
    CHECK(rill__state_backend_find("RocksDB") == NULL);
    CHECK(rill__state_backend_find("") == NULL);
    CHECK(rill__state_backend_find(NULL) == NULL);
    rill__state_backend *b = NULL;
    rill__state_backend_cfg bad = {.kg_first = 5, .kg_last = 4, .max_parallelism = MAX_PAR};
    CHECK_EQ(rill__heap_backend_ops.create(&bad, &b), RILL_EINVAL);
    CHECK(b == NULL);
    bad = (rill__state_backend_cfg){.kg_first = 0, .kg_last = MAX_PAR, .max_parallelism = MAX_PAR};
    CHECK_EQ(rill__heap_backend_ops.create(&bad, &b), RILL_EINVAL);
    CHECK_EQ(rill__rocksdb_backend_ops.create(&bad, &b), RILL_EINVAL);
    bad = (rill__state_backend_cfg){.kg_first = 5, .kg_last = 4, .max_parallelism = MAX_PAR};
    CHECK_EQ(rill__rocksdb_backend_ops.create(&bad, &b), RILL_EINVAL);
    CHECK(b == NULL);
    rill__heap_backend_ops.destroy(NULL);
    rill__rocksdb_backend_ops.destroy(NULL);
}

static void state_put_get_del_on(void);
TEST(state_put_get_del)
{
    each_backend(state_put_get_del_on);
}
static void state_put_get_del_on(void)
{
    rill__state_backend *b = backend_new(0, MAX_PAR - 1);
    rill_state_desc d = desc_of(0, "sum", 8);
    rill__state_table *t = table_of(b, &d);
    uint64_t kb;
    rill__state_key k = u64_key(&kb, 42);
    CHECK_EQ(get_i64(t, &k), INT64_MIN);
    put_i64(t, &k, 7);
    CHECK_EQ(get_i64(t, &k), 7);
    put_i64(t, &k, -3); /* overwrite */
    CHECK_EQ(get_i64(t, &k), -3);
    uint64_t kb2;
    rill__state_key k2 = u64_key(&kb2, 43);
    CHECK_EQ(get_i64(t, &k2), INT64_MIN);
    put_i64(t, &k2, 100);
    CHECK_EQ(get_i64(t, &k), -3);
    CHECK_EQ(get_i64(t, &k2), 100);
    CHECK_RC(ops->value_del(t, &k));
    CHECK_EQ(get_i64(t, &k), INT64_MIN);
    CHECK_EQ(get_i64(t, &k2), 100);
    CHECK_RC(ops->value_del(t, &k)); /* absent: still 0 */
    /* a fixed-size table takes only values of its size */
    int32_t small = 1;
    CHECK_EQ(ops->value_put(t, &k, &small, sizeof small), RILL_EINVAL);
    CHECK_EQ(get_i64(t, &k), INT64_MIN);
    CHECK_EQ(harness_state_entries(b), 1);
    /* the key bytes are copied: changing the caller's buffer does not change the entry */
    kb2 = 44;
    CHECK_EQ(get_i64(t, &k2), INT64_MIN);
    ops->destroy(b);
}

static void state_variable_length_values_on(void);
TEST(state_variable_length_values)
{
    each_backend(state_variable_length_values_on);
}
static void state_variable_length_values_on(void)
{
    rill__state_backend *b = backend_new(0, MAX_PAR - 1);
    rill_state_desc d = desc_of(0, "blob", 0);
    rill__state_table *t = table_of(b, &d);
    const char *key = "a rather long key that is stored out of line";
    rill__state_key k = bytes_key(key, strlen(key), NULL, 0);
    rill__state_key k2 = bytes_key("short", 5, NULL, 0);
    unsigned char val[200];
    /* grow from empty past the inline size, then shrink back, on two keys interleaved */
    size_t lens[] = {0, 1, 8, 16, 17, 100, 3, 200, 16, 0, 150};
    for (size_t i = 0; i < RILL_ARRAY_LEN(lens); i++) {
        for (size_t j = 0; j < lens[i]; j++)
            val[j] = (unsigned char)(i * 31 + j);
        CHECK_RC(ops->value_put(t, &k, val, lens[i]));
        CHECK_RC(ops->value_put(t, &k2, val, lens[i] / 2));
        const void *p;
        size_t n;
        CHECK_EQ(ops->value_get(t, &k, &p, &n), 1);
        CHECK_EQ(n, lens[i]);
        CHECK(n == 0 || memcmp(p, val, n) == 0);
        CHECK_EQ(ops->value_get(t, &k2, &p, &n), 1);
        CHECK_EQ(n, lens[i] / 2);
        CHECK(n == 0 || memcmp(p, val, n) == 0);
    }
    int64_t entries, bytes;
    ops->stats(b, &entries, &bytes);
    CHECK_EQ(harness_state_entries(b), 2);
    CHECK_INT(bytes, >=, 200 + (int64_t)strlen(key));
    CHECK_RC(ops->value_del(t, &k));
    CHECK_RC(ops->value_del(t, &k2));
    int64_t bytes2;
    ops->stats(b, &entries, &bytes2);
    CHECK_EQ(harness_state_entries(b), 0);
    if (is_heap()) /* RocksDB's memtable grows by the deletes until a flush */
        CHECK_INT(bytes2, <=, bytes - 200);
    /* a fixed size above the inline limit */
    rill_state_desc d2 = desc_of(1, "wide", 40);
    rill__state_table *t2 = table_of(b, &d2);
    memset(val, 0xab, 40);
    CHECK_RC(ops->value_put(t2, &k, val, 40));
    CHECK_EQ(ops->value_put(t2, &k, val, 39), RILL_EINVAL);
    const void *p;
    size_t n;
    CHECK_EQ(ops->value_get(t2, &k, &p, &n), 1);
    CHECK_EQ(n, 40);
    CHECK(memcmp(p, val, 40) == 0);
    ops->destroy(b);
}

static void state_namespaces_distinguish_entries_on(void);
TEST(state_namespaces_distinguish_entries)
{
    each_backend(state_namespaces_distinguish_entries_on);
}
static void state_namespaces_distinguish_entries_on(void)
{
    rill__state_backend *b = backend_new(0, MAX_PAR - 1);
    rill_state_desc d = desc_of(0, "win", 8);
    rill__state_table *t = table_of(b, &d);
    uint64_t kb;
    rill__state_key k = u64_key(&kb, 9);
    int64_t w1 = 1000, w2 = 2000;
    char long_ns[32];
    memset(long_ns, 'n', sizeof long_ns);
    rill__state_key none = k, ns1 = k, ns2 = k, nsl = k;
    ns1.ns = &w1, ns1.ns_len = 8;
    ns2.ns = &w2, ns2.ns_len = 8;
    nsl.ns = long_ns, nsl.ns_len = sizeof long_ns; /* key+ns out of line */
    put_i64(t, &none, 1);
    put_i64(t, &ns1, 2);
    put_i64(t, &ns2, 3);
    put_i64(t, &nsl, 4);
    CHECK_EQ(get_i64(t, &none), 1);
    CHECK_EQ(get_i64(t, &ns1), 2);
    CHECK_EQ(get_i64(t, &ns2), 3);
    CHECK_EQ(get_i64(t, &nsl), 4);
    /* the same bytes split differently between key and namespace are another entry */
    unsigned char joined[16];
    memcpy(joined, &kb, 8);
    memcpy(joined + 8, &w1, 8);
    rill__state_key split = bytes_key(joined, 12, joined + 12, 4);
    CHECK_EQ(get_i64(t, &split), INT64_MIN);
    CHECK_RC(ops->value_del(t, &ns1));
    CHECK_EQ(get_i64(t, &none), 1);
    CHECK_EQ(get_i64(t, &ns1), INT64_MIN);
    CHECK_EQ(get_i64(t, &ns2), 3);
    CHECK_EQ(harness_state_entries(b), 3);
    ops->destroy(b);
}

static void state_tables_are_separate_and_registered_by_name_on(void);
TEST(state_tables_are_separate_and_registered_by_name)
{
    each_backend(state_tables_are_separate_and_registered_by_name_on);
}
static void state_tables_are_separate_and_registered_by_name_on(void)
{
    rill__state_backend *b = backend_new(0, MAX_PAR - 1);
    rill_state_desc a = desc_of(0, "a", 8), a_again = desc_of(0, "a", 8);
    rill_state_desc a_wide = desc_of(3, "a", 16), a_var = desc_of(0, "a", 0);
    rill_state_desc c = desc_of(1, "c", 8), other_env = desc_of(0, "z", 8);
    rill__state_table *ta = table_of(b, &a);
    CHECK(table_of(b, &a_again) == ta);
    rill__state_table *t = (rill__state_table *)&t;
    CHECK_EQ(ops->table(b, &a_wide, &t), RILL_EINVAL);
    CHECK(t == NULL);
    CHECK_CONTAINS(rill_last_error(), "'a'");
    CHECK_EQ(ops->table(b, &a_var, &t), RILL_EINVAL);
    rill__state_table *tc = table_of(b, &c);
    CHECK(tc != ta);
    /* an id already taken by another name still finds its own table by name */
    rill__state_table *tz = table_of(b, &other_env);
    CHECK(tz != ta && tz != tc);
    CHECK(table_of(b, &other_env) == tz);
    CHECK(table_of(b, &a) == ta);
    uint64_t kb;
    rill__state_key k = u64_key(&kb, 5);
    put_i64(ta, &k, 1);
    put_i64(tc, &k, 2);
    CHECK_EQ(get_i64(ta, &k), 1);
    CHECK_EQ(get_i64(tc, &k), 2);
    CHECK_EQ(get_i64(tz, &k), INT64_MIN);
    ops->destroy(b);
}

static void state_last_hit_cache_on(void);
TEST(state_last_hit_cache)
{
    each_backend(state_last_hit_cache_on);
}
static void state_last_hit_cache_on(void)
{
    rill__state_backend *b = backend_new(0, MAX_PAR - 1);
    rill_state_desc d = desc_of(0, "sum", 8);
    rill__state_table *t = table_of(b, &d);
    uint64_t ka, kb;
    rill__state_key a = u64_key(&ka, 1), bk = u64_key(&kb, 2);
    put_i64(t, &a, 10);
    CHECK_EQ(get_i64(t, &a), 10);
    put_i64(t, &bk, 20); /* put of another key after a get */
    CHECK_EQ(get_i64(t, &a), 10);
    CHECK_EQ(get_i64(t, &bk), 20);
    /* delete then get, through the cache */
    CHECK_EQ(get_i64(t, &a), 10);
    CHECK_RC(ops->value_del(t, &a));
    CHECK_EQ(get_i64(t, &a), INT64_MIN);
    put_i64(t, &a, 11);
    CHECK_EQ(get_i64(t, &a), 11);
    /* a cached entry survives growth of its table (entries move) */
    for (uint64_t i = 100; i < 5000; i++) {
        uint64_t kx;
        rill__state_key x = u64_key(&kx, i);
        CHECK_EQ(get_i64(t, &a), 11);
        put_i64(t, &x, (int64_t)i);
    }
    CHECK_EQ(get_i64(t, &a), 11);
    CHECK_EQ(get_i64(t, &bk), 20);
    /* deleting a neighbour shifts entries back: the cached one must still be found */
    for (uint64_t i = 100; i < 5000; i += 2) {
        uint64_t kx;
        rill__state_key x = u64_key(&kx, i);
        CHECK_EQ(get_i64(t, &bk), 20);
        CHECK_RC(ops->value_del(t, &x));
        CHECK_EQ(get_i64(t, &bk), 20);
        put_i64(t, &bk, 20);
    }
    for (uint64_t i = 100; i < 5000; i++) {
        uint64_t kx;
        rill__state_key x = u64_key(&kx, i);
        CHECK_EQ(get_i64(t, &x), i % 2 ? (int64_t)i : INT64_MIN);
    }
    /* the cache is per table: the same key in another table is not that entry */
    rill_state_desc d2 = desc_of(1, "other", 8);
    rill__state_table *t2 = table_of(b, &d2);
    CHECK_EQ(get_i64(t, &a), 11);
    CHECK_EQ(get_i64(t2, &a), INT64_MIN);
    ops->destroy(b);
}

/* ---- many keys against a reference model -------------------------------------------------- */

#define N_MODEL_KEYS 1000000

static void state_many_keys_against_model_on(void);
TEST(state_many_keys_against_model)
{
    each_backend(state_many_keys_against_model_on);
}
static void state_many_keys_against_model_on(void)
{
    rill__state_backend *b = backend_new(0, MAX_PAR - 1);
    rill_state_desc d = desc_of(0, "sum", 8);
    rill__state_table *t = table_of(b, &d);
    const uint64_t n_keys = is_heap() ? N_MODEL_KEYS : N_MODEL_KEYS / 5;
    const int n_ops = is_heap() ? 3000000 : 600000;
    int64_t *model = malloc(N_MODEL_KEYS * sizeof *model); /* INT64_MIN: absent */
    CHECK(model != NULL);
    for (size_t i = 0; i < N_MODEL_KEYS; i++)
        model[i] = INT64_MIN;
    int64_t n_model = 0;
    uint64_t seed = 12345;
    /* fill to about 1M keys first (growth), then mix puts, gets and deletes */
    for (uint64_t i = 0; i < n_keys; i++) {
        uint64_t kb;
        rill__state_key k = u64_key(&kb, i);
        put_i64(t, &k, (int64_t)i);
        model[i] = (int64_t)i;
    }
    n_model = (int64_t)n_keys;
    for (int op = 0; op < n_ops; op++) {
        uint64_t r = rng_next(&seed);
        uint64_t key = (r >> 8) % n_keys;
        uint64_t kb;
        rill__state_key k = u64_key(&kb, key);
        switch (r & 7) {
        case 0:
        case 1:
        case 2: { /* running sum: get then put */
            int64_t v = get_i64(t, &k);
            if (v != model[key])
                rill_test_fail(__FILE__, __LINE__,
                               "op %d key %" PRIu64 ": %" PRId64 " vs model %" PRId64, op, key, v,
                               model[key]);
            int64_t nv = (v == INT64_MIN ? 0 : v) + (int64_t)(r >> 40);
            put_i64(t, &k, nv);
            n_model += model[key] == INT64_MIN;
            model[key] = nv;
            break;
        }
        case 3:
        case 4:
        case 5: /* delete */
            CHECK_RC(ops->value_del(t, &k));
            n_model -= model[key] != INT64_MIN;
            model[key] = INT64_MIN;
            break;
        default: { /* get of a neighbouring key */
            uint64_t kb2;
            uint64_t key2 = (key + 1) % n_keys;
            rill__state_key k2 = u64_key(&kb2, key2);
            CHECK_EQ(get_i64(t, &k2), model[key2]);
            break;
        }
        }
    }
    int64_t n, bytes;
    ops->stats(b, &n, &bytes);
    CHECK_EQ(harness_state_entries(b), n_model);
    CHECK_INT(n_model, <, (int64_t)n_keys);
    if (is_heap()) {
        CHECK_INT(bytes, >=, n * 64);
        CHECK_INT(bytes, <=, n * 64 * 8);
    } else { /* keys of 26 bytes and values of 8, compressed or not, plus memtables */
        CHECK_INT(bytes, >=, n_model * 4);
        CHECK_INT(bytes, <=, n_model * 200 + (64 << 20));
    }
    for (uint64_t i = 0; i < n_keys; i++) {
        uint64_t kb;
        rill__state_key k = u64_key(&kb, i);
        int64_t v = get_i64(t, &k);
        if (v != model[i])
            rill_test_fail(__FILE__, __LINE__, "key %" PRIu64 ": %" PRId64 " vs model %" PRId64, i,
                           v, model[i]);
    }
    free(model);
    ops->destroy(b);
}

/* Variable-length keys, namespaces and values (inline and out of line) against a model. */
#define VK_KEYS 4000
#define VK_NS   3
#define VK_VMAX 40

typedef struct vk_model {
    bool present;
    size_t len;
    unsigned char v[VK_VMAX];
} vk_model;

static size_t vk_key(unsigned i, char *buf)
{
    /* 4 bytes of i, then filler: lengths 4..30, so with a namespace some keys fit inline and
     * some do not */
    size_t n = 4 + i % 27;
    uint32_t id = i;
    memcpy(buf, &id, 4);
    for (size_t j = 4; j < n; j++)
        buf[j] = (char)('a' + (i + j) % 26);
    return n;
}

static void state_variable_keys_against_model_on(void);
TEST(state_variable_keys_against_model)
{
    each_backend(state_variable_keys_against_model_on);
}
static void state_variable_keys_against_model_on(void)
{
    rill__state_backend *b = backend_new(0, MAX_PAR - 1);
    rill_state_desc d = desc_of(0, "bytes", 0);
    rill__state_table *t = table_of(b, &d);
    static vk_model model[VK_KEYS][VK_NS];
    memset(model, 0, sizeof model); /* (the body runs once per backend) */
    static const char *ns_of[VK_NS] = {"", "w1", "a namespace of some length"};
    char keys[VK_KEYS][32];
    size_t key_len[VK_KEYS];
    for (unsigned i = 0; i < VK_KEYS; i++)
        key_len[i] = vk_key(i, keys[i]);
    uint64_t seed = 777;
    int64_t n_model = 0;
    for (int op = 0; op < 400000; op++) {
        uint64_t r = rng_next(&seed);
        unsigned ki = (unsigned)((r >> 8) % VK_KEYS), ni = (unsigned)((r >> 32) % VK_NS);
        rill__state_key k = bytes_key(keys[ki], key_len[ki], ns_of[ni], strlen(ns_of[ni]));
        vk_model *m = &model[ki][ni];
        const void *p;
        size_t n;
        int rc = ops->value_get(t, &k, &p, &n);
        CHECK_EQ(rc, m->present);
        if (rc == 1) {
            CHECK_EQ(n, m->len);
            CHECK(n == 0 || memcmp(p, m->v, n) == 0);
        }
        if ((r & 3) == 0) {
            CHECK_RC(ops->value_del(t, &k));
            n_model -= m->present;
            m->present = false;
        } else if ((r & 3) != 3) {
            size_t len = (size_t)((r >> 48) % (VK_VMAX + 1));
            for (size_t j = 0; j < len; j++)
                m->v[j] = (unsigned char)(r >> (j % 8));
            CHECK_RC(ops->value_put(t, &k, m->v, len));
            n_model += !m->present;
            m->present = true;
            m->len = len;
        }
    }
    CHECK_EQ(harness_state_entries(b), n_model);
    for (unsigned ki = 0; ki < VK_KEYS; ki++)
        for (unsigned ni = 0; ni < VK_NS; ni++) {
            rill__state_key k = bytes_key(keys[ki], key_len[ki], ns_of[ni], strlen(ns_of[ni]));
            const void *p;
            size_t len;
            CHECK_EQ(ops->value_get(t, &k, &p, &len), model[ki][ni].present);
            if (model[ki][ni].present) {
                CHECK_EQ(len, model[ki][ni].len);
                CHECK(len == 0 || memcmp(p, model[ki][ni].v, len) == 0);
            }
        }
    ops->destroy(b); /* frees out-of-line keys and values (LeakSanitizer checks) */
}

/* ---- key groups --------------------------------------------------------------------------- */

typedef struct visit_ctx {
    int kg;
    int64_t n;
    int64_t sum;
    int stop_after;
} visit_ctx;

static int visit(void *arg, const rill__state_key *k, const void *val, size_t val_len)
{
    visit_ctx *c = arg;
    CHECK_EQ(k->kg, c->kg);
    CHECK_EQ(k->key_len, 8);
    CHECK_EQ(k->ns_len, 0);
    uint64_t key;
    memcpy(&key, k->key, 8);
    CHECK(k->hash == rill__hash_u64(key));
    CHECK_EQ(rill__key_group(k->hash, MAX_PAR), c->kg);
    CHECK_EQ(val_len, 8);
    int64_t v;
    memcpy(&v, val, 8);
    CHECK_EQ(v, (int64_t)key * 3);
    c->n++;
    c->sum += (int64_t)key;
    if (c->stop_after && c->n == c->stop_after)
        return 77;
    return 0;
}

static void state_iterate_kg_visits_its_key_group_on(void);
TEST(state_iterate_kg_visits_its_key_group)
{
    each_backend(state_iterate_kg_visits_its_key_group_on);
}
static void state_iterate_kg_visits_its_key_group_on(void)
{
    enum { FIRST = 32, LAST = 63, N_KEYS = 20000 };
    rill__state_backend *b = backend_new(FIRST, LAST);
    rill_state_desc d = desc_of(0, "sum", 8);
    rill__state_table *t = table_of(b, &d);
    int64_t count[MAX_PAR] = {0}, sum[MAX_PAR] = {0};
    int64_t n_in = 0;
    for (uint64_t i = 0; n_in < N_KEYS; i++) {
        uint64_t kb;
        rill__state_key k = u64_key(&kb, i);
        if (k.kg < FIRST || k.kg > LAST)
            continue;
        put_i64(t, &k, (int64_t)i * 3);
        count[k.kg]++;
        sum[k.kg] += (int64_t)i;
        n_in++;
    }
    /* delete some, so iteration sees the tables after backward shifts too */
    for (uint64_t i = 0; i < 3000; i += 3) {
        uint64_t kb;
        rill__state_key k = u64_key(&kb, i);
        if (k.kg < FIRST || k.kg > LAST)
            continue;
        if (get_i64(t, &k) != INT64_MIN) {
            count[k.kg]--;
            sum[k.kg] -= (int64_t)i;
            n_in--;
        }
        CHECK_RC(ops->value_del(t, &k));
    }
    int64_t total = 0;
    for (int kg = FIRST; kg <= LAST; kg++) {
        visit_ctx c = {.kg = kg};
        CHECK_RC(ops->iterate_kg(t, kg, visit, &c));
        CHECK_EQ(c.n, count[kg]);
        CHECK_EQ(c.sum, sum[kg]);
        CHECK_INT(c.n, >, 0);
        total += c.n;
    }
    CHECK_EQ(total, n_in);
    /* a nonzero return stops the iteration and is passed back */
    visit_ctx c = {.kg = FIRST, .stop_after = 5};
    CHECK_EQ(ops->iterate_kg(t, FIRST, visit, &c), 77);
    CHECK_EQ(c.n, 5);
    /* a table with nothing in a key group visits nothing */
    rill_state_desc d2 = desc_of(1, "empty", 8);
    rill__state_table *t2 = table_of(b, &d2);
    visit_ctx e = {.kg = LAST};
    CHECK_RC(ops->iterate_kg(t2, LAST, visit, &e));
    CHECK_EQ(e.n, 0);
#ifdef NDEBUG
    /* a key outside the range is a programming error: RILL_ESTATE in release builds */
    for (uint64_t i = 0;; i++) {
        uint64_t kb;
        rill__state_key k = u64_key(&kb, i);
        if (k.kg >= FIRST && k.kg <= LAST)
            continue;
        CHECK_EQ(ops->value_put(t, &k, &kb, 8), RILL_ESTATE);
        const void *p;
        size_t n;
        CHECK_EQ(ops->value_get(t, &k, &p, &n), RILL_ESTATE);
        CHECK_EQ(ops->value_del(t, &k), RILL_ESTATE);
        CHECK_EQ(ops->iterate_kg(t, k.kg, visit, &e), RILL_ESTATE);
        break;
    }
#endif
    ops->destroy(b);
}

static void state_stats_on(void);
TEST(state_stats)
{
    each_backend(state_stats_on);
}
static void state_stats_on(void)
{
    rill__state_backend *b = backend_new(0, 7);
    int64_t n = -1, bytes0 = -1;
    ops->stats(b, &n, &bytes0);
    CHECK_EQ(n, 0);
    CHECK_INT(bytes0, >, 0);
    rill_state_desc d1 = desc_of(0, "a", 8), d2 = desc_of(1, "b", 0);
    rill__state_table *t1 = table_of(b, &d1), *t2 = table_of(b, &d2);
    int64_t in_range = 0;
    char big[1000];
    memset(big, 'x', sizeof big);
    for (uint64_t i = 0; in_range < 1000; i++) {
        uint64_t kb;
        rill__state_key k = u64_key(&kb, i);
        if (k.kg > 7)
            continue;
        put_i64(t1, &k, 1);
        CHECK_RC(ops->value_put(t2, &k, big, sizeof big));
        in_range++;
    }
    int64_t bytes;
    ops->stats(b, &n, &bytes);
    CHECK_EQ(harness_state_entries(b), 2000);
    if (is_heap()) {
        CHECK_EQ(n, 2000);
        /* two tables of 1000 slots of 64 bytes at most 3/4 full, plus 1000 out-of-line values */
        CHECK_INT(bytes, >=, 2 * 1000 * 64 * 4 / 3 + 1000 * 1000);
        CHECK_INT(bytes, <=, 2 * 1000 * 64 * 4 + 1000 * 1000 + 64 * 1024);
    } else { /* RocksDB's estimate, and the memtable holding the 1000 large values */
        CHECK_INT(n, >=, 1000);
        CHECK_INT(n, <=, 4000);
        CHECK_INT(bytes, >=, 1000 * 1000);
        CHECK_INT(bytes, <=, 8 * 1000 * 1000);
    }
    ops->stats(b, NULL, NULL);
    ops->destroy(b);
}
