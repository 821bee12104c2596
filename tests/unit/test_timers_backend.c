/* test_timers_backend.c - timers kept in the rocksdb backend (rill__timers_new_backed): random
 * registers, deletes and pops against a plain model, with a memory budget so small that the
 * key groups' parts are evicted and read again all the time; timers found again by a new
 * service on the same backend; and through snapshots: native ones (timers in the files)
 * restored at the same key groups, into a service that keeps its timers in memory, at other
 * key groups and on the heap, and canonical ones (savepoints). */
#include <sys/stat.h>
#include <sys/types.h>

#include "harness.h"
#include "ops/snapshot.h"
#include "state/state.h"
#include "test.h"
#include "time/time.h"

#define MAX_PAR 4 /* few key groups: many timers per part, read again in chunks */

static rill__state_backend *open_be(const rill__state_backend_ops *ops, int first, int last)
{
    return harness_backend_open(ops, first, last, MAX_PAR);
}

/* ---- a model: the set of timers, searched linearly ------------------------------------------ */

typedef struct mtimer {
    int d;
    int64_t ts;
    uint64_t key;
    char ns[4];
} mtimer;

typedef struct model {
    mtimer *t;
    size_t n, cap;
} model;

static rill__state_key key_of(uint64_t *kb, uint64_t v, const char *ns)
{
    *kb = v;
    uint64_t h = rill__hash_bytes(kb, 8, 0);
    return (rill__state_key){.key = kb,
                             .key_len = 8,
                             .hash = h,
                             .kg = rill__key_group(h, MAX_PAR),
                             .ns = ns[0] ? ns : NULL,
                             .ns_len = strlen(ns)};
}

static ssize_t m_find(const model *m, int d, int64_t ts, uint64_t key, const char *ns)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->t[i].d == d && m->t[i].ts == ts && m->t[i].key == key && !strcmp(m->t[i].ns, ns))
            return (ssize_t)i;
    return -1;
}

static void m_add(model *m, int d, int64_t ts, uint64_t key, const char *ns)
{
    if (m_find(m, d, ts, key, ns) >= 0)
        return;
    rill__grow((void **)&m->t, &m->cap, m->n + 1, sizeof *m->t);
    mtimer *t = &m->t[m->n++];
    *t = (mtimer){.d = d, .ts = ts, .key = key};
    snprintf(t->ns, sizeof t->ns, "%s", ns);
}

static void m_del_at(model *m, size_t i)
{
    m->t[i] = m->t[--m->n];
}

static int64_t m_min(const model *m, int d)
{
    int64_t min = RILL_TS_MAX;
    for (size_t i = 0; i < m->n; i++)
        if (m->t[i].d == d && m->t[i].ts < min)
            min = m->t[i].ts;
    return min;
}

static int64_t m_count(const model *m, int d)
{
    int64_t n = 0;
    for (size_t i = 0; i < m->n; i++)
        n += m->t[i].d == d;
    return n;
}

/* Pops from s what the model says is due at limit, checking each against the model. */
static void pop_check(rill__timer_service *s, model *m, int d, int64_t limit)
{
    for (;;) {
        int64_t want = m_min(m, d);
        CHECK_EQ(rill__timers_next(s, (rill_time_domain)d), want);
        rill__timer t;
        int rc = rill__timers_pop(s, (rill_time_domain)d, limit, &t);
        if (want == RILL_TS_MAX || want > limit) {
            CHECK_EQ(rc, 0);
            return;
        }
        CHECK_EQ(rc, 1);
        CHECK_EQ(t.ts, want);
        uint64_t key;
        CHECK_EQ(t.key.key_len, 8);
        memcpy(&key, t.key.key, 8);
        char ns[4] = "";
        CHECK(t.key.ns_len < sizeof ns);
        if (t.key.ns_len)
            memcpy(ns, t.key.ns, t.key.ns_len);
        CHECK_EQ(t.key.hash, rill__hash_bytes(&key, 8, 0));
        ssize_t i = m_find(m, d, t.ts, key, ns);
        if (i < 0)
            rill_test_fail(__FILE__, __LINE__, "popped (%d, %lld, %llu, '%s'): not registered", d,
                           (long long)t.ts, (unsigned long long)key, ns);
        m_del_at(m, (size_t)i);
    }
}

static const char *const NSS[] = {"", "a", "b", "ab"};

/* Random operations on s and the model; returns the model. */
static void random_ops(rill__timer_service *s, model *m, uint64_t seed, int n_ops, int n_keys)
{
    int64_t clock[2] = {0, 0};
    for (int op = 0; op < n_ops; op++) {
        uint64_t r = rill__mix64(seed + (uint64_t)op);
        int d = (int)(r & 1);
        uint64_t key = (r >> 8) % (uint64_t)n_keys;
        const char *ns = NSS[(r >> 40) & 3];
        int64_t ts = clock[d] + (int64_t)((r >> 20) % 3000);
        uint64_t kb;
        rill__state_key k = key_of(&kb, key, ns);
        unsigned what = (unsigned)((r >> 50) % 100);
        if (what < 75) {
            CHECK_RC(rill__timers_register(s, (rill_time_domain)d, &k, ts));
            m_add(m, d, ts, key, ns);
        } else if (what < 88) { /* delete one that is there (most of the time) */
            if (m->n && (r >> 33) % 4) {
                mtimer t = m->t[(r >> 12) % m->n];
                k = key_of(&kb, t.key, t.ns);
                CHECK_RC(rill__timers_delete(s, (rill_time_domain)t.d, &k, t.ts));
                m_del_at(m, (size_t)m_find(m, t.d, t.ts, t.key, t.ns));
            } else {
                CHECK_RC(rill__timers_delete(s, (rill_time_domain)d, &k, ts));
                ssize_t i = m_find(m, d, ts, key, ns);
                if (i >= 0)
                    m_del_at(m, (size_t)i);
            }
        } else { /* time passes */
            clock[d] += (int64_t)((r >> 24) % 40);
            pop_check(s, m, d, clock[d]);
        }
    }
}

TEST(timers_backend_random_against_a_model)
{
    rill__state_backend *b = open_be(&rill__rocksdb_backend_ops, 0, MAX_PAR - 1);
    /* 64 timers in memory: parts are evicted and read again all the time */
    rill__timer_service *s = rill__timers_new_backed(0, MAX_PAR - 1, b, 64);
    CHECK(rill__timers_backend(s) == b);
    model m = {0};
    random_ops(s, &m, 42, 30000, 500);
    CHECK_INT(m.n, >, 500); /* far more than memory holds */
    /* exact: what memory holds, and what only the backend has (checked there before a
     * register or delete beyond what memory holds) */
    CHECK_EQ(rill__timers_count(s, RILL_EVENT_TIME), m_count(&m, 0));
    CHECK_EQ(rill__timers_count(s, RILL_PROCESSING_TIME), m_count(&m, 1));
    pop_check(s, &m, 0, RILL_TS_MAX);
    pop_check(s, &m, 1, RILL_TS_MAX);
    CHECK_EQ(m.n, 0);
    CHECK_EQ(rill__timers_next(s, RILL_EVENT_TIME), RILL_TS_MAX);
    rill__timers_free(s);
    rill__rocksdb_backend_ops.destroy(b);
    free(m.t);
}

TEST(timers_backend_found_by_a_new_service)
{
    rill__state_backend *b = open_be(&rill__rocksdb_backend_ops, 0, MAX_PAR - 1);
    rill__timer_service *s = rill__timers_new_backed(0, MAX_PAR - 1, b, 64);
    model m = {0};
    random_ops(s, &m, 7, 5000, 300);
    CHECK_RC(rill__timers_flush(s)); /* memory's own go to the backend too */
    rill__timers_free(s);            /* and stay there */
    s = rill__timers_new_backed(0, MAX_PAR - 1, b, 1000);
    /* a register first: its key group is read then (more timers than the set's first buckets,
     * so it grows under the register: a find made before the read was left dangling) */
    for (uint64_t key = 0; key < 8; key++) {
        uint64_t kb;
        rill__state_key k = key_of(&kb, 100000 + key, "");
        CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &k, 7));
        m_add(&m, 0, 7, 100000 + key, "");
    }
    pop_check(s, &m, 0, RILL_TS_MAX);
    pop_check(s, &m, 1, RILL_TS_MAX);
    rill__timers_free(s);
    rill__rocksdb_backend_ops.destroy(b);
    free(m.t);
}

/* The same timers, as (domain, ts, key, ns) text sorted, from a service's live view. */
static int collect(void *arg, rill_time_domain d, const rill__timer *t)
{
    model *m = arg;
    uint64_t key;
    memcpy(&key, t->key.key, 8);
    char ns[4] = "";
    if (t->key.ns_len)
        memcpy(ns, t->key.ns, RILL_MIN(t->key.ns_len, sizeof ns - 1));
    m_add(m, (int)d, t->ts, key, ns);
    return 0;
}

static model timers_of(rill__timer_service *s, int first, int last)
{
    model m = {0};
    for (int kg = first; kg <= last; kg++)
        CHECK_RC(rill__timers_iterate_kg(s, kg, collect, &m));
    return m;
}

/* Every timer of want in [first, last] pops from got, in order. */
static void check_timers(model *want, rill__timer_service *got, int first, int last)
{
    model sub = {0};
    for (size_t i = 0; i < want->n; i++) {
        uint64_t kb;
        rill__state_key k = key_of(&kb, want->t[i].key, want->t[i].ns);
        if (k.kg >= first && k.kg <= last)
            m_add(&sub, want->t[i].d, want->t[i].ts, want->t[i].key, want->t[i].ns);
    }
    CHECK(sub.n > 0);
    pop_check(got, &sub, 0, RILL_TS_MAX);
    pop_check(got, &sub, 1, RILL_TS_MAX);
    free(sub.t);
}

static void snapshot_files(rill__state_backend *b, rill__timer_service *s, const char *dir,
                           rill__buf *out)
{
    CHECK_EQ(mkdir(dir, 0755), 0);
    rill__ksnap *ks = NULL;
    CHECK_RC(rill__ksnap_begin_native(b, s, &ks, NULL));
    rill__err err = {0};
    int rc = rill__ksnap_write_files(ks, out, dir, "t-", NULL, &err);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "snapshot: %s", err.msg);
    rill__ksnap_free(ks);
}

static void restore(rill__state_backend *b, rill__timer_service *s, const rill__buf *snap,
                    const char *dir)
{
    rill__err err = {0};
    int rc = rill__keyed_restore_dir(b, s, b->cfg.kg_first, b->cfg.kg_last, snap->data,
                                     snap->len, dir, &err);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "restore: %s", err.msg);
}

TEST(timers_backend_through_snapshots)
{
    rill__state_backend *a = open_be(&rill__rocksdb_backend_ops, 0, MAX_PAR - 1);
    rill__timer_service *sa = rill__timers_new_backed(0, MAX_PAR - 1, a, 64);
    model scratch = {0};
    random_ops(sa, &scratch, 99, 4000, 400);
    free(scratch.t);
    model want = timers_of(sa, 0, MAX_PAR - 1);
    CHECK(want.n > 500);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/chk-1", rill_test_tmpdir());
    rill__buf native = {0}, canon = {0};
    snapshot_files(a, sa, dir, &native);
    /* a savepoint: canonical, the timers in it */
    CHECK_RC(rill__keyed_snapshot(a, sa, 0, MAX_PAR - 1, &canon, NULL));
    CHECK(canon.len > native.len + want.n * 17);

    struct {
        const rill__state_backend_ops *ops;
        int first, last;
        bool in_backend; /* the new service keeps its timers in the backend */
        const rill__buf *snap;
    } to[] = {
        {&rill__rocksdb_backend_ops, 0, MAX_PAR - 1, true, &native},  /* files adopted */
        {&rill__rocksdb_backend_ops, 0, MAX_PAR - 1, false, &native}, /* timers to memory */
        {&rill__rocksdb_backend_ops, 0, 1, true, &native}, /* rescaled */
        {&rill__rocksdb_backend_ops, 2, MAX_PAR - 1, false, &native},
        {&rill__heap_backend_ops, 0, MAX_PAR - 1, false, &native},
        {&rill__rocksdb_backend_ops, 0, MAX_PAR - 1, true, &canon}, /* from a savepoint */
        {&rill__heap_backend_ops, 0, MAX_PAR - 1, false, &canon},
    };
    for (size_t i = 0; i < sizeof to / sizeof to[0]; i++) {
        rill__state_backend *b = open_be(to[i].ops, to[i].first, to[i].last);
        rill__timer_service *s = to[i].in_backend
                                     ? rill__timers_new_backed(to[i].first, to[i].last, b, 100)
                                     : rill__timers_new(to[i].first, to[i].last);
        restore(b, s, to[i].snap, dir);
        check_timers(&want, s, to[i].first, to[i].last);
        if (!to[i].in_backend && to[i].ops == &rill__rocksdb_backend_ops) {
            /* the timers left the files' backend for the memory service: none stays behind */
            rill__timer_service *probe = rill__timers_new_backed(to[i].first, to[i].last, b, 100);
            CHECK_EQ(rill__timers_next(probe, RILL_EVENT_TIME), RILL_TS_MAX);
            CHECK_EQ(rill__timers_next(probe, RILL_PROCESSING_TIME), RILL_TS_MAX);
            rill__timers_free(probe);
        }
        rill__timers_free(s);
        to[i].ops->destroy(b);
    }
    rill__timers_free(sa);
    rill__rocksdb_backend_ops.destroy(a);
    rill__buf_free(&native);
    rill__buf_free(&canon);
    free(want.t);
}
