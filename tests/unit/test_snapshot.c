/*
 * test_snapshot.c - unit tests of the ops layer's canonical keyed snapshot (backends and timer
 * service, rescaling between parallelisms, damaged input) and the operator-state blobs. The
 * snapshot tests run on the heap and the rocksdb backend; the damaged-input ones, which open
 * thousands of instances to test the parser, on the heap backend only.
 */
#include <pthread.h>

#include "ops/snapshot.h"
#include "test.h"

#define MAXP    128
#define N_KEYS  3000 /* u64 keys */
#define N_SKEYS 300  /* string keys */
#define TTL_MS  60000

static rill_state_desc d_count = {
    .id = 0, .name = (char *)"count", .kind = RILL_STATE_VALUE, .value_size = 8};
static rill_state_desc d_list = {
    .id = 1, .name = (char *)"list", .kind = RILL_STATE_LIST, .value_size = 4};
static rill_state_desc d_map = {.id = 2, .name = (char *)"map", .kind = RILL_STATE_MAP};
static rill_state_desc d_ttl = {.id = 3,
                                .name = (char *)"ttl",
                                .kind = RILL_STATE_VALUE,
                                .value_size = 8,
                                .ttl_ms = TTL_MS,
                                .ttl_update = RILL_TTL_ON_CREATE_AND_WRITE};
static rill_state_desc d_names = {.id = 4, .name = (char *)"names", .kind = RILL_STATE_VALUE};

/* The backend of the instances: each_backend runs a test body once with each. */
static const rill__state_backend_ops *snap_ops = &rill__heap_backend_ops;

static void each_backend(void (*fn)(void))
{
    const rill__state_backend_ops *const all[] = {&rill__heap_backend_ops,
                                                  &rill__rocksdb_backend_ops};
    for (size_t i = 0; i < RILL_ARRAY_LEN(all); i++) {
        snap_ops = all[i];
        fprintf(stderr, "backend %s\n", snap_ops->name);
        fn();
    }
    snap_ops = &rill__heap_backend_ops;
}

/* One keyed operator instance: subtask i of par. */
typedef struct inst {
    rill__state_backend *b;
    rill__timer_service *tm;
    int first, last;
} inst;

static inst inst_new(int subtask, int par)
{
    inst in = {0};
    rill__kg_range(subtask, MAXP, par, &in.first, &in.last);
    rill__state_backend_cfg cfg = {.kg_first = in.first,
                                   .kg_last = in.last,
                                   .max_parallelism = MAXP,
                                   .operator_uid = "snap-op",
                                   .dir = rill_test_tmpdir()};
    CHECK_RC(snap_ops->create(&cfg, &in.b));
    in.tm = rill__timers_new(in.first, in.last);
    return in;
}

static void inst_free(inst *in)
{
    in->b->ops->destroy(in->b);
    rill__timers_free(in->tm);
}

static rill__state_table *tab(inst *in, const rill_state_desc *d)
{
    rill__state_table *t = NULL;
    CHECK_RC(in->b->ops->table(in->b, d, &t));
    CHECK(t != NULL);
    return t;
}

static bool owns(const inst *in, int kg)
{
    return kg >= in->first && kg <= in->last;
}

static rill__state_key u64_key(uint64_t *kb, uint64_t v)
{
    *kb = v;
    uint64_t h = rill__hash_u64(v);
    return (rill__state_key){.key = kb, .key_len = 8, .hash = h, .kg = rill__key_group(h, MAXP)};
}

/* "key-<s>": buf must outlive the key. */
static rill__state_key str_key(char *buf, size_t cap, int s)
{
    int n = snprintf(buf, cap, "key-%d", s);
    uint64_t h = rill__hash_bytes(buf, (size_t)n, 0);
    return (rill__state_key){
        .key = buf, .key_len = (size_t)n, .hash = h, .kg = rill__key_group(h, MAXP)};
}

static rill__state_key with_ns(rill__state_key k, const char *ns)
{
    k.ns = ns;
    k.ns_len = strlen(ns);
    return k;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void st32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* ---- the contents: a pure function of the key, so any instance knows what it must hold ---- */

/* Entries (map: user keys) per table and timers per domain. */
typedef struct counts {
    int64_t count, list, map, ttl, names, ev, proc;
} counts;

static void str_value(char *buf, int s)
{
    int n = s % 50;
    for (int i = 0; i < n; i++)
        buf[i] = (char)('a' + (s + i) % 26);
    buf[n] = 0;
}

static void check_value(inst *in, rill__state_table *t, const rill__state_key *k, const void *want,
                        size_t want_len)
{
    const void *p = NULL;
    size_t n = 0;
    int rc = in->b->ops->value_get(t, k, &p, &n);
    CHECK_EQ(rc, 1);
    CHECK_EQ(n, want_len);
    CHECK(want_len == 0 || memcmp(p, want, want_len) == 0);
}

/* Fills in (fill true) or checks that it holds exactly what falls in its key groups. */
static counts walk(inst *in, bool fill)
{
    const rill__state_backend_ops *ops = in->b->ops;
    rill__state_table *tc = tab(in, &d_count), *tl = tab(in, &d_list), *tmap = tab(in, &d_map);
    rill__state_table *tt = tab(in, &d_ttl), *tn = tab(in, &d_names);
    counts c = {0};
    for (uint64_t k = 0; k < N_KEYS; k++) {
        uint64_t kb;
        rill__state_key key = u64_key(&kb, k);
        if (!owns(in, key.kg))
            continue;
        uint64_t v = k * 3 + 1;
        if (fill)
            CHECK_RC(ops->value_put(tc, &key, &v, 8));
        else
            check_value(in, tc, &key, &v, 8);
        c.count++;

        uint32_t elems[5];
        int n_el = (int)(k % 5) + 1;
        for (int j = 0; j < n_el; j++) {
            elems[j] = (uint32_t)(k * 10 + (uint64_t)j);
            if (fill)
                CHECK_RC(ops->value_append(tl, &key, &elems[j], 4));
        }
        if (!fill)
            check_value(in, tl, &key, elems, (size_t)n_el * 4);
        c.list++;

        if (k % 2 == 0) {
            for (int j = 0; j < (int)(k % 4) + 1; j++) {
                char uk[8];
                int ul = j == 0 ? 0 : snprintf(uk, sizeof uk, "u%d", j); /* "" is a user key */
                uint64_t mv = k * 100 + (uint64_t)j;
                if (fill) {
                    CHECK_RC(ops->map_put(tmap, &key, uk, (size_t)ul, &mv, 8));
                } else {
                    const void *p = NULL;
                    size_t n = 0;
                    CHECK_EQ(ops->map_get(tmap, &key, uk, (size_t)ul, &p, &n), 1);
                    CHECK_EQ(n, 8);
                    CHECK(memcmp(p, &mv, 8) == 0);
                }
                c.map++;
            }
        }

        if (k % 3 == 0) {
            int64_t tv[2] = {1000 + (int64_t)k, (int64_t)k}; /* [last access][value] */
            if (fill)
                CHECK_RC(ops->value_put(tt, &key, tv, 16));
            else
                check_value(in, tt, &key, tv, 16);
            c.ttl++;
        }

        if (k % 7 == 0) {
            const char *nss[2] = {"w1", "window-two-long-namespace"};
            for (int j = 0; j < 2; j++) {
                rill__state_key nk = with_ns(key, nss[j]);
                char val[64];
                int n = snprintf(val, sizeof val, "v%" PRIu64 "/%s", k, nss[j]);
                if (fill)
                    CHECK_RC(ops->value_put(tn, &nk, val, (size_t)n));
                else
                    check_value(in, tn, &nk, val, (size_t)n);
                c.names++;
            }
        }

        if (k % 3 == 1) {
            if (fill) {
                CHECK_RC(rill__timers_register(in->tm, RILL_EVENT_TIME, &key, (int64_t)k * 10));
                rill__state_key nk = with_ns(key, "w1");
                CHECK_RC(
                    rill__timers_register(in->tm, RILL_PROCESSING_TIME, &nk, (int64_t)k * 10 + 5));
            }
            c.ev++;
            c.proc++;
        }
    }
    for (int s = 0; s < N_SKEYS; s++) {
        char kb[32], val[64];
        rill__state_key key = str_key(kb, sizeof kb, s);
        if (!owns(in, key.kg))
            continue;
        str_value(val, s);
        if (fill)
            CHECK_RC(ops->value_put(tn, &key, val, strlen(val)));
        else
            check_value(in, tn, &key, val, strlen(val));
        c.names++;
        if (s % 2 && fill) {
            char ns[8];
            snprintf(ns, sizeof ns, "n%d", s % 3);
            rill__state_key nk = with_ns(key, ns);
            CHECK_RC(rill__timers_register(in->tm, RILL_EVENT_TIME, &nk, s));
        }
        c.ev += s % 2;
    }
    return c;
}

static int count_visit(void *arg, const rill__state_key *k, const void *val, size_t len)
{
    int64_t *n = arg;
    (*n)++;
    return 0;
}

/* A timer the contents say exists: checked field by field. */
static int check_timer(void *arg, rill_time_domain d, const rill__timer *t)
{
    const inst *in = arg;
    const rill__state_key *k = &t->key;
    CHECK(owns(in, k->kg));
    CHECK_EQ(k->hash, rill__hash_bytes(k->key, k->key_len, 0));
    CHECK_EQ(k->kg, rill__key_group(k->hash, MAXP));
    if (k->key_len == 8) {
        uint64_t v;
        memcpy(&v, k->key, 8);
        CHECK(v < N_KEYS && v % 3 == 1);
        if (d == RILL_EVENT_TIME) {
            CHECK_EQ(t->ts, (int64_t)v * 10);
            CHECK_EQ(k->ns_len, 0);
        } else {
            CHECK_EQ(t->ts, (int64_t)v * 10 + 5);
            CHECK(k->ns_len == 2 && memcmp(k->ns, "w1", 2) == 0);
        }
        return 0;
    }
    int s = -1;
    char kb[32];
    CHECK(k->key_len < sizeof kb);
    memcpy(kb, k->key, k->key_len);
    kb[k->key_len] = 0;
    CHECK(sscanf(kb, "key-%d", &s) == 1);
    CHECK(s >= 0 && s < N_SKEYS && s % 2 == 1);
    CHECK_EQ(d, RILL_EVENT_TIME);
    CHECK_EQ(t->ts, s);
    char ns[8];
    snprintf(ns, sizeof ns, "n%d", s % 3);
    CHECK(k->ns_len == 2 && memcmp(k->ns, ns, 2) == 0);
    return 0;
}

/* Checks that in holds exactly its share of the contents; returns the counts. */
static counts check_inst(inst *in)
{
    counts want = walk(in, false);
    const rill_state_desc *descs[5] = {&d_count, &d_list, &d_map, &d_ttl, &d_names};
    int64_t *wants[5] = {&want.count, &want.list, &want.map, &want.ttl, &want.names};
    for (int i = 0; i < 5; i++) {
        rill__state_table *t = tab(in, descs[i]);
        int64_t n = 0;
        for (int kg = in->first; kg <= in->last; kg++)
            CHECK_RC(in->b->ops->iterate_kg(t, kg, count_visit, &n));
        if (n != *wants[i])
            rill_test_fail(__FILE__, __LINE__,
                           "state '%s' of key groups %d..%d: %lld entries, "
                           "expected %lld",
                           descs[i]->name, in->first, in->last, (long long)n, (long long)*wants[i]);
    }
    CHECK_EQ(rill__timers_count(in->tm, RILL_EVENT_TIME), want.ev);
    CHECK_EQ(rill__timers_count(in->tm, RILL_PROCESSING_TIME), want.proc);
    for (int kg = in->first; kg <= in->last; kg++)
        CHECK_RC(rill__timers_iterate_kg(in->tm, kg, check_timer, in));
    return want;
}

static void snapshot_of(inst *in, rill__buf *out)
{
    rill__err err = {0};
    int rc = rill__keyed_snapshot(in->b, in->tm, in->first, in->last, out, &err);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "snapshot: %s: %s", rill_strerror(rc), err.msg);
}

static void restore_into(inst *in, const rill__buf *snap)
{
    rill__err err = {0};
    int rc = rill__keyed_restore(in->b, in->tm, in->first, in->last, snap->data, snap->len, &err);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "restore: %s: %s", rill_strerror(rc), err.msg);
}

/* ---- rescaling ------------------------------------------------------------------------------ */

static void rescale_from(int old_par, const int *new_pars, int n_new)
{
    inst old[8];
    rill__buf snaps[8] = {{0}};
    counts total = {0};
    for (int i = 0; i < old_par; i++) {
        old[i] = inst_new(i, old_par);
        counts c = walk(&old[i], true);
        check_inst(&old[i]);
        total.count += c.count, total.map += c.map, total.ev += c.ev, total.proc += c.proc;
        total.names += c.names;
        snapshot_of(&old[i], &snaps[i]);
        int mp, f, l;
        CHECK_RC(rill__keyed_snapshot_info(snaps[i].data, snaps[i].len, &mp, &f, &l, NULL));
        CHECK_EQ(mp, MAXP);
        CHECK_EQ(f, old[i].first);
        CHECK_EQ(l, old[i].last);
    }
    CHECK_EQ(total.count, N_KEYS);
    for (int p = 0; p < n_new; p++) {
        int par = new_pars[p];
        counts sum = {0};
        for (int j = 0; j < par; j++) {
            inst in = inst_new(j, par);
            for (int i = 0; i < old_par; i++) /* the ones that do not overlap add nothing */
                restore_into(&in, &snaps[i]);
            counts c = check_inst(&in);
            sum.count += c.count, sum.map += c.map, sum.ev += c.ev, sum.proc += c.proc;
            sum.names += c.names;
            inst_free(&in);
        }
        CHECK_EQ(sum.count, total.count);
        CHECK_EQ(sum.map, total.map);
        CHECK_EQ(sum.names, total.names);
        CHECK_EQ(sum.ev, total.ev);
        CHECK_EQ(sum.proc, total.proc);
    }
    for (int i = 0; i < old_par; i++) {
        inst_free(&old[i]);
        rill__buf_free(&snaps[i]);
    }
}

static void snapshot_rescale_from_2_to_1_3_4_on(void);
TEST(snapshot_rescale_from_2_to_1_3_4)
{
    each_backend(snapshot_rescale_from_2_to_1_3_4_on);
}
static void snapshot_rescale_from_2_to_1_3_4_on(void)
{
    int pars[] = {1, 3, 4};
    rescale_from(2, pars, 3);
}

static void snapshot_rescale_from_3_to_2_and_128_on(void);
TEST(snapshot_rescale_from_3_to_2_and_128)
{
    each_backend(snapshot_rescale_from_3_to_2_and_128_on);
}
static void snapshot_rescale_from_3_to_2_and_128_on(void)
{
    int pars[] = {2, 128};
    rescale_from(3, pars, 2);
}

static void snapshot_round_trip_same_parallelism_on(void);
TEST(snapshot_round_trip_same_parallelism)
{
    each_backend(snapshot_round_trip_same_parallelism_on);
}
static void snapshot_round_trip_same_parallelism_on(void)
{
    for (int i = 0; i < 2; i++) {
        inst a = inst_new(i, 2);
        walk(&a, true);
        rill__buf s1 = {0}, s2 = {0};
        snapshot_of(&a, &s1);
        inst b = inst_new(i, 2);
        restore_into(&b, &s1);
        check_inst(&b);
        /* restoring twice changes nothing (puts, not appends) */
        restore_into(&b, &s1);
        check_inst(&b);
        /* and a snapshot of the restored instance restores the same */
        snapshot_of(&b, &s2);
        CHECK_EQ(s2.len, s1.len);
        inst c = inst_new(i, 2);
        restore_into(&c, &s2);
        check_inst(&c);
        inst_free(&a);
        inst_free(&b);
        inst_free(&c);
        rill__buf_free(&s1);
        rill__buf_free(&s2);
    }
}

/* ---- asynchronous snapshots: copy-on-write views ---------------------------------------- */

static bool ttl_all_expired(void *arg, const void *val, size_t len)
{
    (void)arg, (void)val, (void)len;
    return true;
}

static int count_timer(void *arg, rill_time_domain d, const rill__timer *t)
{
    (void)d, (void)t;
    (*(int64_t *)arg)++;
    return 0;
}

/* Changes everything walk() filled in, through every mutating call of the backend and the
 * timer service: values overwritten, deleted and appended to, map keys added and removed, new
 * keys (tables grow), TTL cleanup, timers registered, deleted and popped. */
static void scramble(inst *in)
{
    const rill__state_backend_ops *ops = in->b->ops;
    rill__state_table *tc = tab(in, &d_count), *tl = tab(in, &d_list), *tmap = tab(in, &d_map);
    rill__state_table *tt = tab(in, &d_ttl), *tn = tab(in, &d_names);
    for (uint64_t k = 0; k < 3 * N_KEYS; k++) {
        uint64_t kb;
        rill__state_key key = u64_key(&kb, k);
        if (!owns(in, key.kg))
            continue;
        uint64_t v = k + 7777;
        CHECK_RC(ops->value_put(tc, &key, &v, 8)); /* new keys past N_KEYS: tables grow */
        if (k >= N_KEYS)
            continue;
        uint32_t e = 999;
        for (int j = 0; j < 9; j++) /* a list past the inline bytes: reallocated */
            CHECK_RC(ops->value_append(tl, &key, &e, 4));
        CHECK_RC(ops->map_put(tmap, &key, "zz", 2, &v, 8));
        if (k % 2 == 0)
            CHECK_EQ(ops->map_remove(tmap, &key, "", 0), 1);
        if (k % 7 == 0) {
            rill__state_key nk = with_ns(key, "window-two-long-namespace");
            CHECK_RC(ops->value_del(tn, &nk));
            char big[100];
            memset(big, 'x', sizeof big);
            CHECK_RC(ops->value_put(tn, &key, big, sizeof big));
        }
        if (k % 3 == 1) {
            CHECK_RC(rill__timers_delete(in->tm, RILL_EVENT_TIME, &key, (int64_t)k * 10));
            CHECK_RC(rill__timers_register(in->tm, RILL_EVENT_TIME, &key, (int64_t)k * 10 + 1));
        } else {
            CHECK_RC(rill__timers_register(in->tm, RILL_EVENT_TIME, &key, 5));
        }
    }
    /* TTL: everything in "ttl" has expired */
    uint64_t cursor = 0;
    do
        ops->cleanup_step(tt, &cursor, 1 << 20, ttl_all_expired, NULL);
    while (cursor);
    rill__timer t;
    int popped = 0;
    while (rill__timers_pop(in->tm, RILL_PROCESSING_TIME, RILL_TS_MAX, &t) == 1) {
        /* the popped key stays readable while the callback registers timers with it */
        CHECK_RC(rill__timers_register(in->tm, RILL_EVENT_TIME, &t.key, 3));
        CHECK_EQ(t.key.hash, rill__hash_bytes(t.key.key, t.key.key_len, 0));
        popped++;
    }
    CHECK(popped > 0);
}

typedef struct async_job {
    rill__ksnap *ks;
    rill__buf out;
    int rc;
    rill__err err;
} async_job;

static void *write_async(void *arg)
{
    async_job *j = arg;
    j->rc = rill__ksnap_write(j->ks, &j->out, &j->err);
    return NULL;
}

/* Sums the entries of every table and the timers of in (whatever they hold). */
static int64_t inst_size(inst *in)
{
    const rill_state_desc *descs[5] = {&d_count, &d_list, &d_map, &d_ttl, &d_names};
    int64_t n = 0;
    for (int i = 0; i < 5; i++)
        for (int kg = in->first; kg <= in->last; kg++)
            CHECK_RC(in->b->ops->iterate_kg(tab(in, descs[i]), kg, count_visit, &n));
    for (int kg = in->first; kg <= in->last; kg++)
        CHECK_RC(rill__timers_iterate_kg(in->tm, kg, count_timer, &n));
    return n;
}

/* order 0: the owner changes everything before the snapshot thread reads (it reads copies);
 * 1: after (it reads the live tables); 2: at the same time. In each case the snapshot holds
 * exactly what was there at its begin, and the owner's own state is what it made it. */
static void async_case(int order)
{
    inst a = inst_new(0, 2);
    walk(&a, true);
    inst ref = inst_new(0, 2);
    walk(&ref, true);
    scramble(&ref); /* what a will hold */
    int64_t want_after = inst_size(&ref);

    async_job j = {0};
    rill__err err = {0};
    CHECK_RC(rill__ksnap_begin(a.b, a.tm, a.first, a.last, &j.ks, &err));
    pthread_t th;
    if (order == 0) {
        scramble(&a);
        CHECK_EQ(pthread_create(&th, NULL, write_async, &j), 0);
        CHECK_EQ(pthread_join(th, NULL), 0);
    } else if (order == 1) {
        CHECK_EQ(pthread_create(&th, NULL, write_async, &j), 0);
        CHECK_EQ(pthread_join(th, NULL), 0);
        scramble(&a);
    } else {
        CHECK_EQ(pthread_create(&th, NULL, write_async, &j), 0);
        scramble(&a);
        CHECK_EQ(pthread_join(th, NULL), 0);
    }
    if (j.rc)
        rill_test_fail(__FILE__, __LINE__, "async snapshot: %s", j.err.msg);
    rill__ksnap_free(j.ks);

    inst b = inst_new(0, 2);
    restore_into(&b, &j.out);
    check_inst(&b); /* exactly the contents at the begin */
    CHECK_EQ(inst_size(&a), want_after);

    /* the next snapshot (the views ended, what waited applied) holds a's new state */
    rill__buf s2 = {0};
    snapshot_of(&a, &s2);
    inst c = inst_new(0, 2);
    restore_into(&c, &s2);
    CHECK_EQ(inst_size(&c), want_after);
    rill__buf ref_snap = {0};
    snapshot_of(&ref, &ref_snap);
    CHECK_EQ(s2.len, ref_snap.len);

    inst_free(&a);
    inst_free(&b);
    inst_free(&c);
    inst_free(&ref);
    rill__buf_free(&j.out);
    rill__buf_free(&s2);
    rill__buf_free(&ref_snap);
}

static void snapshot_async_owner_changes_first_on(void);
TEST(snapshot_async_owner_changes_first)
{
    each_backend(snapshot_async_owner_changes_first_on);
}
static void snapshot_async_owner_changes_first_on(void)
{
    async_case(0);
}

static void snapshot_async_reader_first_on(void);
TEST(snapshot_async_reader_first)
{
    each_backend(snapshot_async_reader_first_on);
}
static void snapshot_async_reader_first_on(void)
{
    async_case(1);
}

static void snapshot_async_concurrent_on(void);
TEST(snapshot_async_concurrent)
{
    each_backend(snapshot_async_concurrent_on);
}
static void snapshot_async_concurrent_on(void)
{
    for (int i = 0; i < 5; i++)
        async_case(2);
}

/* A view begun while the previous one is unread: each holds its own moment. */
static void snapshot_async_two_views_on(void);
TEST(snapshot_async_two_views)
{
    each_backend(snapshot_async_two_views_on);
}
static void snapshot_async_two_views_on(void)
{
    inst a = inst_new(1, 2);
    walk(&a, true);
    rill__ksnap *k1, *k2;
    CHECK_RC(rill__ksnap_begin(a.b, NULL, a.first, a.last, &k1, NULL));
    scramble(&a); /* (timers are not in these snapshots) */
    CHECK_RC(rill__ksnap_begin(a.b, NULL, a.first, a.last, &k2, NULL));
    rill__state_table *tc = tab(&a, &d_count);
    uint64_t v = 1, kb;
    for (uint64_t k = 0; k < 3 * N_KEYS; k++) {
        rill__state_key key = u64_key(&kb, k);
        if (owns(&a, key.kg))
            CHECK_RC(a.b->ops->value_del(tc, &key));
    }
    (void)v;
    rill__buf s1 = {0}, s2 = {0};
    CHECK_RC(rill__ksnap_write(k2, &s2, NULL));
    CHECK_RC(rill__ksnap_write(k1, &s1, NULL));
    CHECK_EQ(rill__ksnap_write(k1, &s1, NULL), RILL_EINVAL); /* once */
    rill__ksnap_free(k1);
    rill__ksnap_free(k2);
    inst b = inst_new(1, 2);
    restore_into(&b, &s1);
    /* s1: the contents as walk() made them (timers aside) */
    counts want = walk(&b, false);
    int64_t n = 0;
    for (int kg = b.first; kg <= b.last; kg++)
        CHECK_RC(b.b->ops->iterate_kg(tab(&b, &d_count), kg, count_visit, &n));
    CHECK_EQ(n, want.count);
    /* s2: the scrambled counts (3 * N_KEYS keys' share), none deleted yet */
    inst c = inst_new(1, 2);
    restore_into(&c, &s2);
    int64_t n2 = 0, want2 = 0;
    for (int kg = c.first; kg <= c.last; kg++)
        CHECK_RC(c.b->ops->iterate_kg(tab(&c, &d_count), kg, count_visit, &n2));
    for (uint64_t k = 0; k < 3 * N_KEYS; k++) {
        rill__state_key key = u64_key(&kb, k);
        if (owns(&c, key.kg)) {
            uint64_t w = k + 7777;
            check_value(&c, tab(&c, &d_count), &key, &w, 8);
            want2++;
        }
    }
    CHECK_EQ(n2, want2);
    inst_free(&a);
    inst_free(&b);
    inst_free(&c);
    rill__buf_free(&s1);
    rill__buf_free(&s2);
}

/* The owner frees its backend before the snapshot is written (a task that ended at once): the
 * view keeps copies of all it needs. */
static void snapshot_async_owner_frees_first_on(void);
TEST(snapshot_async_owner_frees_first)
{
    each_backend(snapshot_async_owner_frees_first_on);
}
static void snapshot_async_owner_frees_first_on(void)
{
    inst a = inst_new(0, 1);
    walk(&a, true);
    rill__ksnap *ks;
    CHECK_RC(rill__ksnap_begin(a.b, NULL, a.first, a.last, &ks, NULL));
    a.b->ops->destroy(a.b);
    rill__buf s = {0};
    CHECK_RC(rill__ksnap_write(ks, &s, NULL));
    rill__ksnap_free(ks);
    rill__timers_free(a.tm);
    inst b = inst_new(0, 1);
    restore_into(&b, &s);
    counts want = walk(&b, false); /* checks every value */
    CHECK(want.count == N_KEYS);
    inst_free(&b);
    rill__buf_free(&s);
}

/* A snapshot begun and never written ends its views when freed: the owner goes on. */
static void snapshot_async_unwritten_on(void);
TEST(snapshot_async_unwritten)
{
    each_backend(snapshot_async_unwritten_on);
}
static void snapshot_async_unwritten_on(void)
{
    inst a = inst_new(0, 1);
    walk(&a, true);
    rill__ksnap *ks;
    CHECK_RC(rill__ksnap_begin(a.b, a.tm, a.first, a.last, &ks, NULL));
    rill__ksnap_free(ks);
    scramble(&a);
    rill__buf s = {0};
    snapshot_of(&a, &s);
    inst b = inst_new(0, 1);
    restore_into(&b, &s);
    CHECK_EQ(inst_size(&b), inst_size(&a));
    inst_free(&a);
    inst_free(&b);
    rill__buf_free(&s);
}

/* ---- the restored tables are the operator's own -------------------------------------------- */

typedef struct tinfo {
    int n;
    const char *names[8];
    int64_t ttl[8];
    rill__state_table *t[8];
} tinfo;

static int list_table(void *arg, const char *name, rill__state_kind kind, size_t value_size,
                      int64_t ttl_ms, rill__state_table *t)
{
    tinfo *ti = arg;
    CHECK(ti->n < 8);
    ti->names[ti->n] = name;
    ti->ttl[ti->n] = ttl_ms;
    ti->t[ti->n++] = t;
    return 0;
}

static void snapshot_restored_tables_found_by_descriptor_on(void);
TEST(snapshot_restored_tables_found_by_descriptor)
{
    each_backend(snapshot_restored_tables_found_by_descriptor_on);
}
static void snapshot_restored_tables_found_by_descriptor_on(void)
{
    inst a = inst_new(0, 1);
    walk(&a, true);
    rill__buf s = {0};
    snapshot_of(&a, &s);
    inst b = inst_new(0, 1);
    restore_into(&b, &s);
    tinfo ti = {0};
    CHECK_RC(b.b->ops->visit_tables(b.b, list_table, &ti));
    CHECK_EQ(ti.n, 5);
    CHECK_STR(ti.names[0], "count");
    CHECK_STR(ti.names[3], "ttl");
    CHECK_EQ(ti.ttl[3], TTL_MS);
    CHECK_EQ(ti.ttl[0], 0);
    /* the operator's descriptors (ids 0..4) land on the restored tables, no new ones */
    CHECK(tab(&b, &d_count) == ti.t[0]);
    CHECK(tab(&b, &d_ttl) == ti.t[3]);
    CHECK(tab(&b, &d_names) == ti.t[4]);
    tinfo ti2 = {0};
    CHECK_RC(b.b->ops->visit_tables(b.b, list_table, &ti2));
    CHECK_EQ(ti2.n, 5);
    check_inst(&b);
    /* a different TTL in the operator's descriptor: it wins */
    rill_state_desc d2 = d_ttl;
    d2.ttl_ms = 5000;
    CHECK(tab(&b, &d2) == ti.t[3]);
    tinfo ti3 = {0};
    CHECK_RC(b.b->ops->visit_tables(b.b, list_table, &ti3));
    CHECK_EQ(ti3.ttl[3], 5000);
    /* a table of the same name with another kind is refused */
    rill_state_desc bad = d_count;
    bad.kind = RILL_STATE_LIST;
    rill__state_table *t = NULL;
    CHECK_EQ(b.b->ops->table(b.b, &bad, &t), RILL_EINVAL);
    inst_free(&a);
    inst_free(&b);
    rill__buf_free(&s);
}

/* ---- empty, misuse ------------------------------------------------------------------------- */

static void snapshot_empty_backend_on(void);
TEST(snapshot_empty_backend)
{
    each_backend(snapshot_empty_backend_on);
}
static void snapshot_empty_backend_on(void)
{
    inst a = inst_new(1, 4);
    rill__buf s = {0};
    snapshot_of(&a, &s);
    CHECK_EQ(s.len, 24 + 4 + 24); /* header, an empty index, trailer */
    CHECK(memcmp(s.data, "RLKS\1\0\0\0\x80\0\0\0", 12) == 0);
    CHECK_EQ(le32((const unsigned char *)s.data + 12), a.first);
    CHECK_EQ(le32((const unsigned char *)s.data + 16), a.last);
    CHECK(memcmp(s.data + s.len - 4, "RLKE", 4) == 0);
    inst b = inst_new(0, 1);
    restore_into(&b, &s);
    int64_t entries = -1;
    b.b->ops->stats(b.b, &entries, NULL);
    CHECK_EQ(entries, 0);
    tinfo ti = {0};
    CHECK_RC(b.b->ops->visit_tables(b.b, list_table, &ti));
    CHECK_EQ(ti.n, 0);
    /* tables registered but empty: listed, restored, still empty */
    tab(&a, &d_map);
    tab(&a, &d_ttl);
    rill__buf s2 = {0};
    snapshot_of(&a, &s2);
    restore_into(&b, &s2);
    CHECK_RC(b.b->ops->visit_tables(b.b, list_table, &ti));
    CHECK_EQ(ti.n, 2);
    CHECK_STR(ti.names[0], "map");
    b.b->ops->stats(b.b, &entries, NULL);
    CHECK_EQ(entries, 0);
    /* no timer service at all: fine when there are no timers */
    rill__buf s3 = {0};
    CHECK_RC(rill__keyed_snapshot(a.b, NULL, a.first, a.last, &s3, NULL));
    CHECK_RC(rill__keyed_restore(b.b, NULL, b.first, b.last, s3.data, s3.len, NULL));
    inst_free(&a);
    inst_free(&b);
    rill__buf_free(&s);
    rill__buf_free(&s2);
    rill__buf_free(&s3);
}

static void snapshot_misuse_on(void);
TEST(snapshot_misuse)
{
    each_backend(snapshot_misuse_on);
}
static void snapshot_misuse_on(void)
{
    inst a = inst_new(0, 2);
    walk(&a, true);
    rill__buf s = {0};
    rill__err err = {0};
    /* a range beyond the instance's: nothing written */
    rill__buf_append(&s, "xyz", 3);
    CHECK_EQ(rill__keyed_snapshot(a.b, a.tm, a.first, a.last + 1, &s, &err), RILL_EINVAL);
    CHECK_CONTAINS(err.msg, "not within");
    CHECK_EQ(s.len, 3);
    /* appends after what the buffer holds */
    snapshot_of(&a, &s);
    const char *data = s.data + 3;
    size_t len = s.len - 3;
    CHECK(memcmp(s.data, "xyz", 3) == 0);

    /* another max parallelism */
    rill__state_backend_cfg cfg = {
        .kg_first = 0, .kg_last = 63, .max_parallelism = 64, .dir = rill_test_tmpdir()};
    rill__state_backend *b64 = NULL;
    CHECK_RC(snap_ops->create(&cfg, &b64));
    CHECK_EQ(rill__keyed_restore(b64, NULL, 0, 63, data, len, &err), RILL_ECONFIG);
    CHECK_CONTAINS(err.msg, "max parallelism 128");
    b64->ops->destroy(b64);

    /* timers and no service: refused before anything changes */
    inst b = inst_new(0, 1);
    CHECK_EQ(rill__keyed_restore(b.b, NULL, b.first, b.last, data, len, &err), RILL_EINVAL);
    CHECK_CONTAINS(err.msg, "timer service");
    int64_t entries = -1;
    b.b->ops->stats(b.b, &entries, NULL);
    CHECK_EQ(entries, 0);
    /* a range outside the backend's */
    inst c = inst_new(1, 2);
    CHECK_EQ(rill__keyed_restore(c.b, c.tm, 0, 127, data, len, &err), RILL_EINVAL);
    /* a table already registered with another kind */
    rill_state_desc bad = d_map;
    bad.kind = RILL_STATE_VALUE;
    tab(&b, &bad);
    CHECK_EQ(rill__keyed_restore(b.b, b.tm, b.first, b.last, data, len, &err), RILL_EINVAL);
    CHECK_CONTAINS(err.msg, "map");
    /* an unknown format version (checksums fixed up) is not taken for corruption */
    rill__buf v2 = {0};
    rill__buf_append(&v2, data, len);
    v2.data[4] = 2;
    unsigned char *tr = (unsigned char *)v2.data + v2.len - 24;
    st32(tr + 12, rill__crc32c(0, v2.data, le32(tr + 8)));
    CHECK_EQ(rill__keyed_restore(c.b, c.tm, c.first, c.last, v2.data, v2.len, &err), RILL_ENOTSUP);
    CHECK_CONTAINS(err.msg, "version 2");
    inst_free(&a);
    inst_free(&b);
    inst_free(&c);
    rill__buf_free(&s);
    rill__buf_free(&v2);
}

/* ---- damaged input ------------------------------------------------------------------------- */

/* Recomputes every checksum the format has (as far as the damaged layout still locates them),
 * so that damage reaches the parser behind them. */
static void reseal(unsigned char *p, size_t len)
{
    if (len < 24 + 28)
        return;
    unsigned char *tr = p + len - 24;
    uint64_t index_off = le64(tr);
    uint32_t hl = le32(tr + 8);
    size_t index_end = len - 24;
    if (hl > index_end || index_off > index_end - 4 || hl > index_off)
        return;
    st32(tr + 12, rill__crc32c(0, p, hl));
    uint32_t n = le32(p + index_off);
    if ((uint64_t)n * 24 == index_end - index_off - 4) {
        for (uint32_t i = 0; i < n; i++) {
            unsigned char *rec = p + index_off + 4 + (size_t)i * 24;
            uint64_t off = le64(rec + 8), sl = le64(rec + 16);
            if (off <= len && sl <= len - off)
                st32(rec + 4, rill__crc32c(0, p + off, (size_t)sl));
        }
    }
    st32(tr + 16, rill__crc32c(0, p + index_off, index_end - index_off));
}

/* Restores len bytes (in a buffer of exactly that size, for ASan) into a fresh instance of
 * the whole range; on failure the instance must still be empty. */
static int restore_damaged(const void *bytes, size_t len)
{
    unsigned char *copy = malloc(len ? len : 1);
    CHECK(copy != NULL);
    if (len)
        memcpy(copy, bytes, len);
    inst in = inst_new(0, 1);
    rill__err err = {0};
    int rc = rill__keyed_restore(in.b, in.tm, in.first, in.last, len ? copy : NULL, len, &err);
    if (rc) {
        CHECK_CONTAINS(err.msg, "operator snap-op");
        if (rc == RILL_ECORRUPT)
            CHECK_CONTAINS(err.msg, "corrupt keyed snapshot");
        int64_t entries = -1;
        in.b->ops->stats(in.b, &entries, NULL);
        CHECK_EQ(entries, 0);
        CHECK_EQ(rill__timers_count(in.tm, RILL_EVENT_TIME) +
                     rill__timers_count(in.tm, RILL_PROCESSING_TIME),
                 0);
    }
    inst_free(&in);
    free(copy);
    return rc;
}

/* A small snapshot with every kind of content, in key groups of both halves. */
static void small_snapshot(rill__buf *out)
{
    inst a = inst_new(0, 1);
    const rill__state_backend_ops *ops = a.b->ops;
    rill__state_table *tc = tab(&a, &d_count), *tl = tab(&a, &d_list), *tm = tab(&a, &d_map);
    rill__state_table *tt = tab(&a, &d_ttl), *tn = tab(&a, &d_names);
    for (uint64_t k = 0; k < 6; k++) {
        uint64_t kb;
        rill__state_key key = u64_key(&kb, k * 1000);
        CHECK_RC(ops->value_put(tc, &key, &k, 8));
        uint32_t e = (uint32_t)k;
        CHECK_RC(ops->value_append(tl, &key, &e, 4));
        CHECK_RC(ops->value_append(tl, &key, &e, 4));
        CHECK_RC(ops->map_put(tm, &key, "uk", 2, "value", 5));
        int64_t tv[2] = {77, (int64_t)k};
        CHECK_RC(ops->value_put(tt, &key, tv, 16));
        rill__state_key nk = with_ns(key, "ns");
        CHECK_RC(ops->value_put(tn, &nk, "a longer value than inline", 26));
        CHECK_RC(rill__timers_register(a.tm, (rill_time_domain)(k % 2), &nk, (int64_t)k));
    }
    snapshot_of(&a, out);
    inst_free(&a);
}

TEST(snapshot_truncated_at_every_length)
{
    rill__buf s = {0};
    small_snapshot(&s);
    CHECK_RC(restore_damaged(s.data, s.len));
    for (size_t n = 0; n < s.len; n++) {
        int rc = restore_damaged(s.data, n);
        if (rc != RILL_ECORRUPT)
            rill_test_fail(__FILE__, __LINE__, "truncated to %zu of %zu bytes: %d", n, s.len, rc);
        rc = restore_damaged(s.data + s.len - n, n); /* the head cut off */
        CHECK_EQ(rc, RILL_ECORRUPT);
    }
    rill__buf_free(&s);
}

TEST(snapshot_random_damage)
{
    rill__buf s = {0};
    small_snapshot(&s);
    unsigned char *p = malloc(s.len);
    uint64_t seed = 42;
    int n_corrupt = 0, n_sealed_ok = 0, n_sealed_corrupt = 0;
    for (int iter = 0; iter < 4000; iter++) {
        memcpy(p, s.data, s.len);
        int flips = 1 + (int)(rill__mix64(++seed) % 3);
        for (int f = 0; f < flips; f++) {
            uint64_t r = rill__mix64(++seed);
            p[r % s.len] ^= (unsigned char)(1u << ((r >> 32) % 8));
        }
        bool sealed = iter % 2;
        if (sealed)
            reseal(p, s.len);
        int rc = restore_damaged(p, s.len);
        if (!sealed) {
            /* the checksums catch every flip */
            CHECK(rc == RILL_ECORRUPT);
            n_corrupt++;
            continue;
        }
        /* behind the checksums: a flip in value bytes is a different value, anything else
         * is caught (or a changed header: version, max parallelism, kind) */
        if (rc != 0 && rc != RILL_ECORRUPT && rc != RILL_ENOTSUP && rc != RILL_ECONFIG &&
            rc != RILL_EINVAL)
            rill_test_fail(__FILE__, __LINE__, "iteration %d: %d (%s)", iter, rc,
                           rill_strerror(rc));
        n_sealed_ok += rc == 0;
        n_sealed_corrupt += rc == RILL_ECORRUPT;
    }
    CHECK_INT(n_corrupt, >, 0);
    CHECK_INT(n_sealed_ok, >, 0);
    CHECK_INT(n_sealed_corrupt, >, 0);
    free(p);
    rill__buf_free(&s);
}

/* A restore reads only its key groups: damage elsewhere does not matter. */
static void snapshot_reads_only_its_key_groups_on(void);
TEST(snapshot_reads_only_its_key_groups)
{
    each_backend(snapshot_reads_only_its_key_groups_on);
}
static void snapshot_reads_only_its_key_groups_on(void)
{
    rill__buf s = {0};
    small_snapshot(&s);
    const unsigned char *p = (const unsigned char *)s.data;
    size_t index_off = (size_t)le64(p + s.len - 24);
    uint32_t n = le32(p + index_off);
    CHECK_INT(n, >=, 2);
    const unsigned char *rec = p + index_off + 4;
    uint32_t kg0 = le32(rec);
    uint64_t off0 = le64(rec + 8);
    /* damage the first section's contents */
    rill__buf d = {0};
    rill__buf_append(&d, s.data, s.len);
    d.data[off0 + 6] ^= 0x40;
    rill__state_backend_cfg cfg = {
        .kg_first = (int)kg0 + 1, .kg_last = 127, .max_parallelism = MAXP,
        .dir = rill_test_tmpdir()};
    rill__state_backend *b = NULL;
    CHECK_RC(snap_ops->create(&cfg, &b));
    rill__timer_service *tm = rill__timers_new(cfg.kg_first, cfg.kg_last);
    rill__err err = {0};
    CHECK_RC(rill__keyed_restore(b, tm, cfg.kg_first, cfg.kg_last, d.data, d.len, &err));
    int64_t entries = 0;
    b->ops->stats(b, &entries, NULL);
    CHECK_INT(entries, >, 0);
    b->ops->destroy(b);
    rill__timers_free(tm);
    /* the whole range reads it and fails */
    CHECK_EQ(restore_damaged(d.data, d.len), RILL_ECORRUPT);
    rill__buf_free(&d);
    rill__buf_free(&s);
}

/* ---- operator state ------------------------------------------------------------------------ */

static int count_blobs(void *arg, const char *name, size_t name_len, const void *val,
                       size_t val_len)
{
    int *n = arg;
    (*n)++;
    return 0;
}

TEST(snapshot_opstate_blobs)
{
    rill__buf b = {0};
    rill__buf_append(&b, "pre", 3);
    rill__opstate_writer w;
    rill__opstate_begin(&w, &b);
    uint64_t pos = 123456789;
    CHECK_RC(rill__opstate_put(&w, "offset", &pos, sizeof pos));
    CHECK_RC(rill__opstate_put(&w, "empty", NULL, 0));
    CHECK_RC(rill__opstate_put(&w, "file", "/data/in.csv", 12));
    CHECK_EQ(rill__opstate_put(&w, "offset", "x", 1), RILL_EINVAL);
    CHECK_EQ(rill__opstate_put(&w, "", "x", 1), RILL_EINVAL);
    rill__opstate_end(&w);
    const char *data = b.data + 3;
    size_t len = b.len - 3;

    const void *v;
    size_t n;
    CHECK_EQ(rill__opstate_get(data, len, "offset", &v, &n, NULL), 1);
    CHECK_EQ(n, 8);
    CHECK(memcmp(v, &pos, 8) == 0);
    CHECK_EQ(rill__opstate_get(data, len, "file", &v, &n, NULL), 1);
    CHECK(n == 12 && memcmp(v, "/data/in.csv", 12) == 0);
    CHECK_EQ(rill__opstate_get(data, len, "empty", &v, &n, NULL), 1);
    CHECK_EQ(n, 0);
    CHECK_EQ(rill__opstate_get(data, len, "nope", &v, &n, NULL), 0);
    CHECK(v == NULL && n == 0);
    int count = 0;
    CHECK_RC(rill__opstate_iterate(data, len, count_blobs, &count, NULL));
    CHECK_EQ(count, 3);

    /* an empty container */
    rill__buf e = {0};
    rill__opstate_begin(&w, &e);
    rill__opstate_end(&w);
    CHECK_EQ(rill__opstate_get(e.data, e.len, "offset", &v, &n, NULL), 0);

    /* damage: every truncation and every single-bit flip is caught */
    rill__err err = {0};
    for (size_t i = 0; i < len; i++) {
        unsigned char *c = malloc(i ? i : 1);
        memcpy(c, data, i);
        CHECK_EQ(rill__opstate_get(i ? c : NULL, i, "offset", &v, &n, &err), RILL_ECORRUPT);
        free(c);
    }
    unsigned char *c = malloc(len);
    for (size_t i = 0; i < len * 8; i++) {
        memcpy(c, data, len);
        c[i / 8] ^= (unsigned char)(1u << (i % 8));
        count = 0;
        CHECK_EQ(rill__opstate_iterate(c, len, count_blobs, &count, &err), RILL_ECORRUPT);
        CHECK_EQ(count, 0);
    }
    free(c);
    rill__buf_free(&b);
    rill__buf_free(&e);
}
