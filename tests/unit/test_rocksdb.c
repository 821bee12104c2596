/* test_rocksdb.c - unit tests of what is particular to the rocksdb keyed-state backend: its
 * working directory, snapshot views against a writing owner, the key layout's boundaries, the
 * TTL compaction filter and memory with a large state. (The backend contract itself is tested
 * on every backend in test_state.c, test_state_kinds.c and test_snapshot.c.) */
#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>

#include "state/state.h"
#include "test.h"

#define MAX_PAR 128

static const rill__state_backend_ops *ops = &rill__rocksdb_backend_ops;

static rill__state_backend *open_in(const char *dir, int64_t memory, const char *uid, int subtask)
{
    rill__state_backend_cfg cfg = {.kg_first = 0,
                                   .kg_last = MAX_PAR - 1,
                                   .max_parallelism = MAX_PAR,
                                   .operator_uid = uid,
                                   .subtask = subtask,
                                   .dir = dir,
                                   .memory_bytes = memory};
    rill__state_backend *b = NULL;
    int rc = ops->create(&cfg, &b);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "create: %s: %s", rill_strerror(rc), rill_last_error());
    return b;
}

static rill__state_table *table_of(rill__state_backend *b, int id, const char *name,
                                   rill__state_kind kind, int64_t ttl_ms)
{
    rill_state_desc d = {.id = id, .name = (char *)name, .kind = kind, .ttl_ms = ttl_ms};
    rill__state_table *t = NULL;
    CHECK_RC(ops->table(b, &d, &t));
    return t;
}

/* A key with a hash of the test's choosing (the backend keeps what it is given). */
static rill__state_key key_of(const char *key, const char *ns, uint64_t hash)
{
    return (rill__state_key){.key = key,
                             .key_len = strlen(key),
                             .hash = hash,
                             .kg = rill__key_group(hash, MAX_PAR),
                             .ns = ns,
                             .ns_len = ns ? strlen(ns) : 0};
}

static rill__state_key u64_key(uint64_t *kb, uint64_t v)
{
    *kb = v;
    uint64_t h = rill__hash_u64(v);
    return (rill__state_key){.key = kb, .key_len = 8, .hash = h, .kg = rill__key_group(h, MAX_PAR)};
}

/* The names in dir (not . and ..), up to 8, and their number. */
static int list_dir(const char *dir, char names[8][256])
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (n < 8)
            snprintf(names[n], 256, "%s", e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- the working directory ------------------------------------------------------------------ */

TEST(rocksdb_working_directory)
{
    char dir[512], names[8][256], path[1024];
    snprintf(dir, sizeof dir, "%s/state", rill_test_tmpdir());
    CHECK_EQ(mkdir(dir, 0700), 0);
    /* a uid that is no file name: sanitized */
    rill__state_backend *b = open_in(dir, 0, "win/dow op", 3);
    rill__state_backend *b2 = open_in(dir, 0, "win/dow op", 3);
    CHECK_EQ(list_dir(dir, names), 2);
    CHECK(strncmp(names[0], "rill-rocksdb-win_dow_op-3-", 26) == 0);
    CHECK(strncmp(names[1], "rill-rocksdb-win_dow_op-3-", 26) == 0);
    snprintf(path, sizeof path, "%s/%s/db/CURRENT", dir, names[0]);
    CHECK(exists(path)); /* a DB lives there */
    rill__state_table *t = table_of(b, 0, "v", RILL_STATE_VALUE, 0);
    uint64_t kb;
    rill__state_key k = u64_key(&kb, 1);
    CHECK_RC(ops->value_put(t, &k, "x", 1));
    /* instances are separate */
    rill__state_table *t2 = table_of(b2, 0, "v", RILL_STATE_VALUE, 0);
    const void *p;
    size_t n;
    CHECK_EQ(ops->value_get(t2, &k, &p, &n), 0);
    ops->destroy(b);
    CHECK_EQ(list_dir(dir, names), 1);
    ops->destroy(b2);
    CHECK_EQ(list_dir(dir, names), 0);

    /* a directory that is not there is made */
    char made[600];
    snprintf(made, sizeof made, "%s/not/yet", dir);
    rill__state_backend *b3 = open_in(made, 0, "op", 0);
    CHECK_EQ(list_dir(made, names), 1);
    ops->destroy(b3);
    /* one that cannot be: the error names it */
    snprintf(path, sizeof path, "%s/a-file", dir);
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL);
    fclose(fp);
    snprintf(made, sizeof made, "%s/a-file/state", dir);
    rill__state_backend_cfg cfg = {.kg_first = 0,
                                   .kg_last = 3,
                                   .max_parallelism = MAX_PAR,
                                   .operator_uid = "op",
                                   .dir = made};
    rill__state_backend *bad = (rill__state_backend *)&bad;
    CHECK_EQ(ops->create(&cfg, &bad), RILL_ENOTDIR);
    CHECK(bad == NULL);
    CHECK_CONTAINS(rill_last_error(), "/a-file/state/rill-rocksdb-op-0-");
    CHECK_CONTAINS(rill_last_error(), "operator op");
}

/* ---- snapshot views ------------------------------------------------------------------------- */

typedef struct seen {
    int64_t n;
    int64_t sum;     /* of the values (value table) */
    char maps[4096]; /* "key/ns:ukey=value;" of the map table, in visit order */
} seen;

static int see_value(void *arg, const rill__state_key *k, const void *val, size_t len)
{
    seen *s = arg;
    CHECK_EQ(k->key_len, 8);
    CHECK_EQ(len, 8);
    int64_t v;
    memcpy(&v, val, 8);
    s->n++;
    s->sum += v;
    return 0;
}

static int see_map(void *arg, const rill__state_key *k, const void *val, size_t len)
{
    seen *s = arg;
    uint32_t ukl;
    CHECK(len >= 4);
    memcpy(&ukl, val, 4);
    CHECK(ukl <= len - 4);
    size_t at = strlen(s->maps);
    snprintf(s->maps + at, sizeof s->maps - at, "%.*s/%.*s:%.*s=%.*s;", (int)k->key_len,
             (const char *)k->key, (int)k->ns_len, k->ns ? (const char *)k->ns : "", (int)ukl,
             (const char *)val + 4, (int)(len - 4 - ukl), (const char *)val + 4 + ukl);
    s->n++;
    return 0;
}

typedef struct reader {
    rill__state_snap *view;
    seen vals, maps;
    int rc;
} reader;

/* The snapshot thread: every key group of both tables (0: values, 1: maps). */
static void *read_view(void *arg)
{
    reader *r = arg;
    for (int kg = 0; kg < MAX_PAR && !r->rc; kg++) {
        r->rc = ops->snap_iterate_kg(r->view, 0, kg, see_value, &r->vals);
        if (!r->rc)
            r->rc = ops->snap_iterate_kg(r->view, 1, kg, see_map, &r->maps);
    }
    return NULL;
}

TEST(rocksdb_snapshot_view_sees_its_begin)
{
    enum { N = 2000 };
    rill__state_backend *b = open_in(rill_test_tmpdir(), 0, "snap", 0);
    rill__state_table *tv = table_of(b, 0, "v", RILL_STATE_VALUE, 0);
    rill__state_table *tm = table_of(b, 1, "m", RILL_STATE_MAP, 0);
    int64_t sum = 0;
    for (uint64_t i = 0; i < N; i++) {
        uint64_t kb;
        rill__state_key k = u64_key(&kb, i);
        int64_t v = (int64_t)i;
        CHECK_RC(ops->value_put(tv, &k, &v, 8));
        sum += v;
    }
    rill__state_key mk = key_of("k", "w", 7);
    CHECK_RC(ops->map_put(tm, &mk, "a", 1, "1", 1));
    CHECK_RC(ops->map_put(tm, &mk, "b", 1, "2", 1));
    rill__state_snap *v1 = NULL, *v2 = NULL;
    CHECK_RC(ops->snap_begin(b, &v1));
    /* the owner goes on: changes, deletes, adds; a table registered later is not in the view */
    for (uint64_t i = 0; i < N; i++) {
        uint64_t kb;
        rill__state_key k = u64_key(&kb, i);
        int64_t v = -1;
        if (i % 2)
            CHECK_RC(ops->value_del(tv, &k));
        else
            CHECK_RC(ops->value_put(tv, &k, &v, 8));
    }
    for (uint64_t i = N; i < 2 * N; i++) {
        uint64_t kb;
        rill__state_key k = u64_key(&kb, i);
        CHECK_RC(ops->value_put(tv, &k, &(int64_t){1}, 8));
    }
    CHECK_RC(ops->map_put(tm, &mk, "a", 1, "changed", 7));
    CHECK_EQ(ops->map_remove(tm, &mk, "b", 1), 1);
    CHECK_RC(ops->map_put(tm, &mk, "c", 1, "3", 1));
    table_of(b, 2, "later", RILL_STATE_VALUE, 0);
    CHECK_RC(rill__rocksdb_compact(b)); /* flushed and compacted: the view still holds */
    CHECK_RC(ops->snap_begin(b, &v2));  /* a second view while the first is unread */

    /* the first view, read on another thread while the owner writes on */
    reader r1 = {.view = v1};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, read_view, &r1), 0);
    for (uint64_t i = 0; i < N; i++) {
        uint64_t kb;
        rill__state_key k = u64_key(&kb, i);
        CHECK_RC(ops->value_put(tv, &k, &(int64_t){5}, 8));
    }
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_RC(r1.rc);
    CHECK_EQ(r1.vals.n, N);
    CHECK_EQ(r1.vals.sum, sum);
    CHECK_STR(r1.maps.maps, "k/w:a=1;k/w:b=2;");
    CHECK_EQ(ops->snap_iterate_kg(v1, 2, 0, see_value, &r1.vals), RILL_ESTATE); /* not in it */
    ops->snap_end(v1);

    /* the second: the state at its begin; the owner destroys the backend before reading */
    ops->destroy(b);
    char names[8][256];
    CHECK_EQ(list_dir(rill_test_tmpdir(), names), 1); /* kept for the view */
    reader r2 = {.view = v2};
    CHECK_EQ(pthread_create(&th, NULL, read_view, &r2), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_RC(r2.rc);
    CHECK_EQ(r2.vals.n, N / 2 + N);
    CHECK_EQ(r2.vals.sum, -(N / 2) + N);
    CHECK_STR(r2.maps.maps, "k/w:a=changed;k/w:c=3;");
    ops->snap_end(v2);
    CHECK_EQ(list_dir(rill_test_tmpdir(), names), 0); /* the last view removed it */
}

/* ---- key layout: neighbours never leak into each other -------------------------------------- */

typedef struct collect {
    char out[2048];
} collect;

static int collect_map(void *arg, const void *uk, size_t ukl, const void *val, size_t len)
{
    collect *c = arg;
    size_t at = strlen(c->out);
    snprintf(c->out + at, sizeof c->out - at, "%.*s=%.*s;", (int)ukl, (const char *)uk, (int)len,
             (const char *)val);
    return 0;
}

static int collect_kg(void *arg, const rill__state_key *k, const void *val, size_t len)
{
    collect *c = arg;
    size_t at = strlen(c->out);
    const char *v = val;
    size_t vl = len;
    char tmp[256];
    if (len >= 4 && v[len - 1] == '!') { /* a map entry: [ukl][ukey][value] */
        uint32_t ukl;
        memcpy(&ukl, val, 4);
        snprintf(tmp, sizeof tmp, "%.*s=%.*s", (int)ukl, v + 4, (int)(len - 4 - ukl), v + 4 + ukl);
        v = tmp;
        vl = strlen(tmp);
    }
    snprintf(c->out + at, sizeof c->out - at, "[%.*s|%.*s]%.*s;", (int)k->key_len,
             (const char *)k->key, (int)k->ns_len, k->ns ? (const char *)k->ns : "", (int)vl, v);
    return 0;
}

static const char *map_of(rill__state_table *t, rill__state_key k, collect *c)
{
    c->out[0] = 0;
    CHECK_RC(ops->map_iterate(t, &k, collect_map, c));
    return c->out;
}

TEST(rocksdb_neighbours_do_not_leak)
{
    rill__state_backend *b = open_in(rill_test_tmpdir(), 0, "n", 0);
    rill__state_table *t0 = table_of(b, 0, "m0", RILL_STATE_MAP, 0);
    rill__state_table *t1 = table_of(b, 1, "m1", RILL_STATE_MAP, 0);
    rill__state_table *tv = table_of(b, 2, "v", RILL_STATE_VALUE, 0);
    /* one hash, so every key shares [table][kg][hash] and only the (key, ns) part differs:
     * keys that are prefixes of each other, empty and non-empty namespaces, the same bytes split
     * differently between key and namespace */
    const uint64_t h = 12345;
    rill__state_key a = key_of("a", NULL, h), ab = key_of("ab", NULL, h);
    rill__state_key a_b = key_of("a", "b", h), a_empty = key_of("a", "", h);
    rill__state_key empty = key_of("", NULL, h), empty_a = key_of("", "a", h);
    rill__state_key *all[] = {&a, &ab, &a_b, &empty, &empty_a};
    const char *tag[] = {"1!", "2!", "3!", "4!", "5!"};
    for (int i = 0; i < 5; i++) {
        CHECK_RC(ops->map_put(t0, all[i], "u", 1, tag[i], 2));
        CHECK_RC(ops->map_put(t0, all[i], "uv", 2, tag[i], 2));
        CHECK_RC(ops->map_put(t0, all[i], "", 0, tag[i], 2));
        CHECK_RC(ops->map_put(t1, all[i], "u", 1, "t1!", 3)); /* the next table */
        CHECK_RC(ops->value_put(tv, all[i], tag[i], 2));
    }
    collect c;
    CHECK_STR(map_of(t0, a, &c), "=1!;u=1!;uv=1!;");
    CHECK_STR(map_of(t0, ab, &c), "=2!;u=2!;uv=2!;");
    CHECK_STR(map_of(t0, a_b, &c), "=3!;u=3!;uv=3!;");
    CHECK_STR(map_of(t0, a_empty, &c), "=1!;u=1!;uv=1!;"); /* "" is no namespace */
    CHECK_STR(map_of(t0, empty, &c), "=4!;u=4!;uv=4!;");
    CHECK_STR(map_of(t0, empty_a, &c), "=5!;u=5!;uv=5!;");
    CHECK_STR(map_of(t1, ab, &c), "u=t1!;");
    rill__state_key abc = key_of("abc", NULL, h), b_only = key_of("b", NULL, h);
    CHECK_STR(map_of(t0, abc, &c), "");
    CHECK_STR(map_of(t0, b_only, &c), "");
    /* the values: each its own */
    for (int i = 0; i < 5; i++) {
        const void *p;
        size_t n;
        CHECK_EQ(ops->value_get(tv, all[i], &p, &n), 1);
        CHECK_EQ(n, 2);
        CHECK(memcmp(p, tag[i], 2) == 0);
    }
    /* clearing one map leaves its neighbours */
    CHECK_RC(ops->map_clear(t0, &a));
    CHECK_STR(map_of(t0, a, &c), "");
    CHECK_STR(map_of(t0, ab, &c), "=2!;u=2!;uv=2!;");
    CHECK_STR(map_of(t0, a_b, &c), "=3!;u=3!;uv=3!;");
    CHECK_STR(map_of(t0, empty, &c), "=4!;u=4!;uv=4!;");
    /* key groups: the neighbouring ones (and the next table) are not visited */
    int kg = a.kg;
    int next = kg + 1 < MAX_PAR ? kg + 1 : kg - 1;
    uint64_t x = 0;
    while (rill__key_group(x, MAX_PAR) != next)
        x = rill__mix64(x + 1);
    rill__state_key other = key_of("a", NULL, x);
    CHECK_RC(ops->map_put(t0, &other, "u", 1, "nb!", 3));
    c.out[0] = 0;
    CHECK_RC(ops->iterate_kg(t0, kg, collect_kg, &c));
    CHECK_STR(c.out, "[|]=4!;[|]u=4!;[|]uv=4!;[|a]=5!;[|a]u=5!;[|a]uv=5!;"
                     "[a|b]=3!;[a|b]u=3!;[a|b]uv=3!;[ab|]=2!;[ab|]u=2!;[ab|]uv=2!;");
    c.out[0] = 0;
    CHECK_RC(ops->iterate_kg(t0, next, collect_kg, &c));
    CHECK_STR(c.out, "[a|]u=nb!;");
    c.out[0] = 0;
    CHECK_RC(ops->iterate_kg(tv, kg, collect_kg, &c));
    CHECK_STR(c.out, "[|]4!;[|a]5!;[a|]1!;[a|b]3!;[ab|]2!;");
    ops->destroy(b);
}

/* ---- TTL: the compaction filter ------------------------------------------------------------- */

static int count_kg(void *arg, const rill__state_key *k, const void *val, size_t len)
{
    (void)k, (void)val, (void)len;
    (*(int64_t *)arg)++;
    return 0;
}

static int64_t raw_count(rill__state_table *t)
{
    int64_t n = 0;
    for (int kg = 0; kg < MAX_PAR; kg++)
        CHECK_RC(ops->iterate_kg(t, kg, count_kg, &n));
    return n;
}

TEST(rocksdb_ttl_compaction_filter)
{
    enum { N = 1000 };
    rill__state_backend *b = open_in(rill_test_tmpdir(), 0, "ttl", 0);
    rill__state_table *tv = table_of(b, 0, "v", RILL_STATE_VALUE, 1000);
    rill__state_table *tm = table_of(b, 1, "m", RILL_STATE_MAP, 1000);
    rill__state_table *plain = table_of(b, 2, "plain", RILL_STATE_VALUE, 0);
    /* last-access times on a test clock far behind the wall clock: 100 (expired at 5000),
     * 4500 (not yet) and 5000, the latest written, which is "now" for the filter: it never
     * drops what the ops layer, on its own clock, still sees as live */
    for (uint64_t i = 0; i < N; i++) {
        uint64_t kb;
        rill__state_key k = u64_key(&kb, i);
        int64_t v[2] = {i % 2 ? 100 : 4500, (int64_t)i};
        CHECK_RC(ops->value_put(tv, &k, v, sizeof v));
        CHECK_RC(ops->value_put(plain, &k, v, sizeof v)); /* no TTL: kept whatever it holds */
        CHECK_RC(ops->map_put(tm, &k, "old", 3, &(int64_t){100}, 8));
        CHECK_RC(ops->map_put(tm, &k, "new", 3, &(int64_t){4500}, 8));
    }
    uint64_t kb;
    rill__state_key last = u64_key(&kb, N);
    CHECK_RC(ops->value_put(tv, &last, (int64_t[2]){5000, 0}, 16));
    CHECK_EQ(raw_count(tv), N + 1);
    CHECK_EQ(raw_count(tm), 2 * N);
    CHECK_RC(rill__rocksdb_compact(b));
    CHECK_EQ(raw_count(tv), N / 2 + 1);
    CHECK_EQ(raw_count(tm), N);
    CHECK_EQ(raw_count(plain), N);
    for (uint64_t i = 0; i < N; i++) {
        rill__state_key k = u64_key(&kb, i);
        const void *p;
        size_t n;
        CHECK_EQ(ops->value_get(tv, &k, &p, &n), i % 2 == 0);
        CHECK_EQ(ops->map_get(tm, &k, "old", 3, &p, &n), 0);
        CHECK_EQ(ops->map_get(tm, &k, "new", 3, &p, &n), 1);
    }
    /* the clock moves on: everything is past its TTL now */
    CHECK_RC(ops->value_put(tv, &last, (int64_t[2]){100000, 0}, 16));
    CHECK_RC(rill__rocksdb_compact(b));
    CHECK_EQ(raw_count(tv), 1);
    CHECK_EQ(raw_count(tm), 0);
    CHECK_EQ(raw_count(plain), N);
    CHECK_EQ(rill__rocksdb_compact(NULL), RILL_EINVAL);
    ops->destroy(b);
}

/* ---- a large state in little memory --------------------------------------------------------- */

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    CHECK(kb > 0);
    return kb;
}

/* gcc says ASan is on with __SANITIZE_ADDRESS__, clang with __has_feature */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(UNDER_ASAN)
#define RSS_BOUND_MB 600 /* ASan keeps freed memory in quarantine and adds its shadow */
#else
#define RSS_BOUND_MB 200
#endif

TEST(rocksdb_large_state_bounded_memory)
{
    enum { N = 2000000 };
    long before = rss_kb();
    rill__state_backend *b = open_in(rill_test_tmpdir(), 8 << 20, "big", 0);
    rill__state_table *t = table_of(b, 0, "v", RILL_STATE_VALUE, 0);
    for (uint64_t i = 0; i < N; i++) {
        uint64_t kb;
        rill__state_key k = u64_key(&kb, i);
        uint64_t v = i * 3;
        CHECK_RC(ops->value_put(t, &k, &v, 8));
    }
    for (uint64_t i = 0; i < N; i += 997) {
        uint64_t kb;
        rill__state_key k = u64_key(&kb, i);
        const void *p;
        size_t n;
        CHECK_EQ(ops->value_get(t, &k, &p, &n), 1);
        uint64_t v;
        memcpy(&v, p, 8);
        CHECK_EQ(v, i * 3);
    }
    int64_t entries, bytes;
    ops->stats(b, &entries, &bytes);
    long after = rss_kb();
    fprintf(stderr,
            "rocksdb, %d values, memory_bytes 8 MiB: RSS %ld -> %ld kB (+%ld MB); "
            "estimated entries %lld, %lld bytes on disk and in memtables\n",
            N, before, after, (after - before) / 1024, (long long)entries, (long long)bytes);
    CHECK_INT(entries, >, N / 2);
    CHECK_INT(entries, <, N * 2);
    CHECK_INT((after - before) / 1024, <, RSS_BOUND_MB);
    ops->destroy(b);
}

/* ---- the value cache ------------------------------------------------------------------------ */

/* A model of the value cache test's state: a variable-length value table "v" (values up to
 * MAXV bytes; those starting with 'X' count as expired for cleanup), a fixed-size counter table
 * "w" and, beside them, a map table "m" that must not interfere. */
enum { MK = 2000, MAXV = 64 };
typedef struct mval {
    bool present;
    uint8_t len;
    unsigned char v[MAXV];
} mval;
typedef struct model {
    mval v[MK];
    int64_t w[MK]; /* 0: absent */
    bool m[MK];    /* the map of key i holds "u" -> i */
} model;

typedef struct mseen {
    const model *want;
    bool fixed; /* table "w" */
    bool seen[MK];
    int64_t n;
} mseen;

static int see_model(void *arg, const rill__state_key *k, const void *val, size_t len)
{
    mseen *s = arg;
    uint64_t i;
    CHECK_EQ(k->key_len, 8);
    memcpy(&i, k->key, 8);
    CHECK_INT(i, <, MK);
    CHECK(!s->seen[i]);
    s->seen[i] = true;
    s->n++;
    if (s->fixed) {
        int64_t w;
        CHECK_EQ(len, 8);
        memcpy(&w, val, 8);
        if (w != s->want->w[i])
            rill_test_fail(__FILE__, __LINE__, "w[%llu]: %lld, want %lld", (unsigned long long)i,
                           (long long)w, (long long)s->want->w[i]);
        return 0;
    }
    const mval *m = &s->want->v[i];
    if (!m->present || len != m->len || memcmp(val, m->v, len) != 0)
        rill_test_fail(__FILE__, __LINE__, "v[%llu]: %zu bytes '%.*s', want %s %u bytes '%.*s'",
                       (unsigned long long)i, len, (int)len, (const char *)val,
                       m->present ? "present" : "absent", m->len, (int)m->len, (const char *)m->v);
    return 0;
}

static void check_seen(const mseen *s)
{
    for (int i = 0; i < MK; i++) {
        bool want = s->fixed ? s->want->w[i] != 0 : s->want->v[i].present;
        if (want != s->seen[i])
            rill_test_fail(__FILE__, __LINE__, "%s[%d]: %s, want %s", s->fixed ? "w" : "v", i,
                           s->seen[i] ? "visited" : "not visited", want ? "present" : "absent");
    }
}

/* Every key group of table tv (w: the counter table) live, against the model. */
static void check_live(rill__state_table *t, bool w, const model *want)
{
    mseen *s = calloc(1, sizeof *s);
    s->want = want;
    s->fixed = w;
    for (int kg = 0; kg < MAX_PAR; kg++)
        CHECK_RC(ops->iterate_kg(t, kg, see_model, s));
    check_seen(s);
    free(s);
}

/* Table index (0: v, 2: w) of a view, against the model as it was at the view's begin. */
static void check_view(rill__state_snap *view, size_t table, const model *want)
{
    mseen *s = calloc(1, sizeof *s);
    s->want = want;
    s->fixed = table == 2;
    for (int kg = 0; kg < MAX_PAR; kg++)
        CHECK_RC(ops->snap_iterate_kg(view, table, kg, see_model, s));
    check_seen(s);
    free(s);
}

static void check_get(rill__state_table *tv, rill__state_table *tw, const model *m, uint64_t i)
{
    uint64_t kb;
    rill__state_key k = u64_key(&kb, i);
    const void *p;
    size_t n;
    int rc = ops->value_get(tv, &k, &p, &n);
    CHECK_EQ(rc, m->v[i].present);
    if (rc == 1) {
        if (n != m->v[i].len || memcmp(p, m->v[i].v, n) != 0)
            rill_test_fail(__FILE__, __LINE__, "get v[%llu]: %zu bytes '%.*s', want %u '%.*s'",
                           (unsigned long long)i, n, (int)n, (const char *)p, m->v[i].len,
                           (int)m->v[i].len, (const char *)m->v[i].v);
    }
    rc = ops->value_get(tw, &k, &p, &n);
    CHECK_EQ(rc, m->w[i] != 0);
    if (rc == 1) {
        int64_t w;
        CHECK_EQ(n, 8);
        memcpy(&w, p, 8);
        CHECK_EQ(w, m->w[i]);
    }
}

static bool x_expired(void *arg, const void *val, size_t len)
{
    (void)arg;
    return len && *(const unsigned char *)val == 'X';
}

typedef struct restorer {
    rill__state_table *to;
} restorer;

/* What a restore does with a snapshot's entry: value_put. */
static int restore_one(void *arg, const rill__state_key *k, const void *val, size_t len)
{
    return ops->value_put(((restorer *)arg)->to, k, val, len);
}

/* Random operations against the model with a cache of a few dozen entries (memory_bytes 16 KiB:
 * the cache's 4 KiB floor), so nearly every operation evicts and writes back: puts, gets,
 * appends, deletes (present and absent), values handed back in (a get's result put to another
 * key, appended to itself), a map table beside, snapshot views begun while the owner goes on,
 * live iteration, cleanup rounds, and at the end a restore of a view into a fresh instance. */
TEST(rocksdb_value_cache_against_model)
{
    enum { OPS = 60000 };
    rill__state_backend *b = open_in(rill_test_tmpdir(), 16 << 10, "cache", 0);
    rill__state_table *tv = table_of(b, 0, "v", RILL_STATE_VALUE, 0);
    rill__state_table *tm = table_of(b, 1, "m", RILL_STATE_MAP, 0);
    rill_state_desc dw = {.id = 2, .name = "w", .kind = RILL_STATE_VALUE, .value_size = 8};
    rill__state_table *tw = NULL;
    CHECK_RC(ops->table(b, &dw, &tw));
    model *m = calloc(1, sizeof *m), *at_view = calloc(1, sizeof *at_view);
    rill__state_snap *view = NULL;
    int view_due = -1;
    uint64_t rnd = 42;
    int64_t n_cleaned = 0;
    for (int op = 0; op < OPS; op++) {
        rnd = rill__mix64(rnd);
        uint64_t i = (rnd >> 8) % MK, j = (rnd >> 24) % MK;
        int what = (int)(rnd % 100);
        unsigned len = (unsigned)(rnd >> 40) % 17;
        uint64_t kb;
        rill__state_key k = u64_key(&kb, i);
        mval *v = &m->v[i];
        const void *p;
        size_t n;
        if (what < 25) { /* put: 1 in 10 "expired" */
            unsigned char buf[MAXV];
            for (unsigned x = 0; x < len; x++)
                buf[x] = (unsigned char)('a' + (rnd >> (x % 50)) % 26);
            if (len && (rnd >> 52) % 10 == 0)
                buf[0] = 'X';
            CHECK_RC(ops->value_put(tv, &k, buf, len));
            v->present = true;
            v->len = (uint8_t)len;
            memcpy(v->v, buf, len);
        } else if (what < 45) {
            check_get(tv, tw, m, i);
        } else if (what < 57) { /* append */
            unsigned add = len % 9;
            if (v->len + add > MAXV)
                add = 0;
            char buf[9];
            for (unsigned x = 0; x < add; x++)
                buf[x] = (char)('a' + x);
            CHECK_RC(ops->value_append(tv, &k, buf, add));
            if (!v->present)
                v->len = 0;
            v->present = true;
            memcpy(v->v + v->len, buf, add);
            v->len = (uint8_t)(v->len + add);
        } else if (what < 67) {
            CHECK_RC(ops->value_del(tv, &k));
            v->present = false;
        } else if (what < 72) { /* a value handed back in: put to another key */
            int rc = ops->value_get(tv, &k, &p, &n);
            CHECK_INT(rc, >=, 0);
            if (rc == 1) {
                rill__state_key k2 = u64_key(&kb, j);
                CHECK_RC(ops->value_put(tv, &k2, p, n));
                m->v[j] = *v;
            }
        } else if (what < 75) { /* ... and appended to itself */
            int rc = ops->value_get(tv, &k, &p, &n);
            CHECK_INT(rc, >=, 0);
            if (rc == 1 && 2 * n <= MAXV) {
                CHECK_RC(ops->value_append(tv, &k, p, n));
                memcpy(v->v + v->len, v->v, v->len);
                v->len = (uint8_t)(2 * v->len);
            }
        } else if (what < 85) { /* the counter table: get, add, put */
            int rc = ops->value_get(tw, &k, &p, &n);
            CHECK_EQ(rc, m->w[i] != 0);
            int64_t w = 0;
            if (rc == 1)
                memcpy(&w, p, 8);
            CHECK_EQ(w, m->w[i]);
            w += (int64_t)i + 1;
            CHECK_RC(ops->value_put(tw, &k, &w, 8));
            m->w[i] = w;
        } else if (what < 90) {
            CHECK_RC(ops->map_put(tm, &k, "u", 1, &i, 8));
            m->m[i] = true;
        } else if (what < 93) {
            int rc = ops->map_get(tm, &k, "u", 1, &p, &n);
            CHECK_EQ(rc, m->m[i]);
            if (rc == 1)
                CHECK(n == 8 && memcmp(p, &i, 8) == 0);
        } else if (what < 94) {
            CHECK_RC(ops->value_del(tm, &k)); /* on a map table: clears the map */
            m->m[i] = false;
        } else if (what < 97) {
            if (!view) { /* a view now, read some operations later */
                CHECK_RC(ops->snap_begin(b, &view));
                *at_view = *m;
                view_due = op + 500 + (int)(rnd >> 50) % 3000;
            }
        } else if (what < 98) {
            check_live(tv, false, m);
            check_live(tw, true, m);
        } else if (what < 99 && op % 7 == 0) { /* a full cleanup round */
            int64_t want = 0;
            for (int x = 0; x < MK; x++)
                if (m->v[x].present && m->v[x].len && m->v[x].v[0] == 'X') {
                    want++;
                    m->v[x].present = false;
                }
            int64_t removed = 0;
            uint64_t cursor = 0;
            do
                removed += ops->cleanup_step(tv, &cursor, 5, x_expired, NULL);
            while (cursor);
            CHECK_EQ(removed, want);
            n_cleaned += removed;
        }
        if (view && op == view_due) {
            check_view(view, 0, at_view);
            check_view(view, 2, at_view);
            ops->snap_end(view);
            view = NULL;
        }
    }
    CHECK_INT(n_cleaned, >, 0);
    for (uint64_t i = 0; i < MK; i++)
        check_get(tv, tw, m, i);
    check_live(tv, false, m);
    check_live(tw, true, m);
    for (uint64_t i = 0; i < MK; i++) {
        uint64_t kb;
        rill__state_key k = u64_key(&kb, i);
        const void *p;
        size_t n;
        CHECK_EQ(ops->map_get(tm, &k, "u", 1, &p, &n), m->m[i]);
    }

    /* a restore: a view of b put through value_put into a fresh instance (its tables
     * registered by name first, as a restore does), then the operator registers and reads */
    if (view) { /* one still open: read it now */
        check_view(view, 0, at_view);
        check_view(view, 2, at_view);
        ops->snap_end(view);
    }
    CHECK_RC(ops->snap_begin(b, &view));
    rill__state_backend *b2 = open_in(rill_test_tmpdir(), 16 << 10, "cache2", 0);
    rill__state_table *rv = table_of(b2, -1, "v", RILL_STATE_VALUE, 0);
    table_of(b2, -1, "m", RILL_STATE_MAP, 0);
    rill_state_desc rdw = dw;
    rdw.id = -1;
    rill__state_table *rw = NULL;
    CHECK_RC(ops->table(b2, &rdw, &rw));
    for (int kg = 0; kg < MAX_PAR; kg++) {
        CHECK_RC(ops->snap_iterate_kg(view, 0, kg, restore_one, &(restorer){rv}));
        CHECK_RC(ops->snap_iterate_kg(view, 2, kg, restore_one, &(restorer){rw}));
    }
    ops->snap_end(view);
    ops->destroy(b);
    CHECK(table_of(b2, 0, "v", RILL_STATE_VALUE, 0) == rv);
    for (uint64_t i = 0; i < MK; i++)
        check_get(rv, rw, m, i);
    check_live(rv, false, m);
    check_live(rw, true, m);
    /* a view of the restored instance, taken straight after the restore's puts */
    CHECK_RC(ops->snap_begin(b2, &view));
    check_view(view, 0, m);
    check_view(view, 2, m);
    ops->snap_end(view);
    ops->destroy(b2);
    free(m);
    free(at_view);
}

static int sum_kg(void *arg, const rill__state_key *k, const void *val, size_t len)
{
    int64_t *want = arg, v;
    uint64_t i;
    CHECK_EQ(len, 8);
    memcpy(&i, k->key, 8);
    memcpy(&v, val, 8);
    CHECK_INT(i, <, 1000);
    if (v != want[i])
        rill_test_fail(__FILE__, __LINE__, "sum[%llu]: %lld, want %lld", (unsigned long long)i,
                       (long long)v, (long long)want[i]);
    want[i] = -1; /* seen */
    return 0;
}

static void check_sums(rill__state_table *t, rill__state_snap *view, const int64_t *sums)
{
    int64_t want[1000];
    memcpy(want, sums, sizeof want);
    for (int kg = 0; kg < MAX_PAR; kg++)
        CHECK_RC(view ? ops->snap_iterate_kg(view, 0, kg, sum_kg, want)
                      : ops->iterate_kg(t, kg, sum_kg, want));
    for (int i = 0; i < 1000; i++)
        CHECK_EQ(want[i], -1);
}

/* A running sum over 1,000 hot keys, 100 updates each: every update after the first is a cache
 * hit, so RocksDB holds nothing until something reads it as a range (the memtables stay empty);
 * iteration and a view then see the sums, and a view begun before more updates does not. */
TEST(rocksdb_value_cache_hot_keys)
{
    enum { K = 1000, ROUNDS = 100 };
    rill__state_backend *b = open_in(rill_test_tmpdir(), 0, "hot", 0);
    rill__state_table *t = table_of(b, 0, "sum", RILL_STATE_VALUE, 0);
    rill__state_usage u0;
    ops->usage(b, &u0);
    int64_t sums[K] = {0};
    for (int r = 0; r < ROUNDS; r++)
        for (uint64_t i = 0; i < K; i++) {
            uint64_t kb;
            rill__state_key k = u64_key(&kb, i);
            const void *p;
            size_t n;
            int64_t v = 0;
            int rc = ops->value_get(t, &k, &p, &n);
            CHECK_EQ(rc, r > 0);
            if (rc == 1)
                memcpy(&v, p, 8);
            CHECK_EQ(v, sums[i]);
            v += (int64_t)i + r;
            CHECK_RC(ops->value_put(t, &k, &v, 8));
            sums[i] = v;
        }
    rill__state_usage u;
    ops->usage(b, &u);
    fprintf(stderr, "hot keys: usage memory %lld -> %lld bytes, keys %lld, disk %lld\n",
            (long long)u0.memory_bytes, (long long)u.memory_bytes, (long long)u.keys,
            (long long)u.disk_bytes);
    /* 100,000 puts written through would be several MB of memtable; cached, 1,000 entries */
    CHECK_INT(u.memory_bytes - u0.memory_bytes, <, 512 << 10);
    CHECK_INT(u.memory_bytes - u0.memory_bytes, >, K * 8);
    CHECK_EQ(u.keys, K);
    int64_t entries = 0;
    ops->stats(b, &entries, NULL);
    CHECK_EQ(entries, K);
    check_sums(t, NULL, sums);
    rill__state_snap *view;
    CHECK_RC(ops->snap_begin(b, &view));
    int64_t before[K];
    memcpy(before, sums, sizeof before);
    for (uint64_t i = 0; i < K; i++) { /* more updates, and deletes, after the view began */
        uint64_t kb;
        rill__state_key k = u64_key(&kb, i);
        if (i % 10 == 0) {
            CHECK_RC(ops->value_del(t, &k));
            sums[i] = 0;
            continue;
        }
        sums[i] += 7;
        CHECK_RC(ops->value_put(t, &k, &sums[i], 8));
    }
    check_sums(t, view, before);
    int64_t live[K];
    memcpy(live, sums, sizeof live);
    for (int i = 0; i < K; i += 10)
        live[i] = -1; /* deleted: not visited */
    check_sums(t, NULL, live);
    ops->snap_end(view);
    /* deleted values stay deleted through the cache and after a compaction dropped it */
    CHECK_RC(rill__rocksdb_compact(b));
    for (uint64_t i = 0; i < K; i++) {
        uint64_t kb;
        rill__state_key k = u64_key(&kb, i);
        const void *p;
        size_t n;
        CHECK_EQ(ops->value_get(t, &k, &p, &n), i % 10 != 0);
    }
    ops->destroy(b);
}

/* A value larger than the whole cache, read (a miss: it is loaded, over budget) and passed back
 * in to a put and an append: the eviction at the start of that call keeps what the get handed
 * out (ASan sees a use after free otherwise). */
TEST(rocksdb_value_cache_value_passed_back)
{
    rill__state_backend *b = open_in(rill_test_tmpdir(), 16 << 10, "back", 0);
    rill__state_table *t = table_of(b, 0, "v", RILL_STATE_VALUE, 0);
    enum { BIG = 20000 };
    unsigned char *big = malloc(BIG);
    for (int i = 0; i < BIG; i++)
        big[i] = (unsigned char)(i * 7);
    uint64_t kb, kb2;
    rill__state_key k = u64_key(&kb, 1), k2 = u64_key(&kb2, 2);
    CHECK_RC(ops->value_put(t, &k, big, BIG));
    for (uint64_t i = 10; i < 200; i++) { /* pushes it out */
        uint64_t x;
        rill__state_key o = u64_key(&x, i);
        CHECK_RC(ops->value_put(t, &o, &i, 8));
    }
    const void *p;
    size_t n;
    CHECK_EQ(ops->value_get(t, &k, &p, &n), 1);
    CHECK_EQ(n, BIG);
    CHECK_RC(ops->value_put(t, &k2, p, n));
    CHECK_EQ(ops->value_get(t, &k, &p, &n), 1);
    CHECK_RC(ops->value_append(t, &k, p, n)); /* to itself */
    CHECK_EQ(ops->value_get(t, &k2, &p, &n), 1);
    CHECK(n == BIG && memcmp(p, big, BIG) == 0);
    CHECK_EQ(ops->value_get(t, &k, &p, &n), 1);
    CHECK(n == 2 * BIG && memcmp(p, big, BIG) == 0 && memcmp((const char *)p + BIG, big, BIG) == 0);
    free(big);
    ops->destroy(b);
}

/* ---- list appends: pending appends and the merge operator ---------------------------------- */

/* list[i] as the test built it: the elements "<i>.<r>;" of rounds 0..rounds-1 */
static size_t list_want(char *buf, uint64_t i, int from, int rounds)
{
    size_t n = 0;
    for (int r = from; r < rounds; r++)
        n += (size_t)sprintf(buf + n, "%llu.%d;", (unsigned long long)i, r);
    return n;
}

static void check_list(rill__state_table *t, uint64_t i, const char *want, size_t want_len)
{
    uint64_t kb;
    rill__state_key k = u64_key(&kb, i);
    const void *p;
    size_t n;
    int rc = ops->value_get(t, &k, &p, &n);
    CHECK_EQ(rc, want != NULL);
    if (rc == 1 && (n != want_len || memcmp(p, want, n) != 0))
        rill_test_fail(__FILE__, __LINE__, "list %llu: '%.*s', want '%.*s'", (unsigned long long)i,
                       (int)n, (const char *)p, (int)want_len, want);
}

/* Appends to lists that are not cached (a 4 KiB cache, 300 lists) become merges: a view begun
 * halfway sees the first rounds, a restore of it into a fresh instance has them, the live
 * lists have every round, also after a compaction merged the operands; a put or delete over
 * pending appends replaces them; a TTL list keeps its time prefix and is appended whole. */
TEST(rocksdb_list_append_cold)
{
    enum { K = 300, ROUNDS = 6, AT_VIEW = 3 };
    rill__state_backend *b = open_in(rill_test_tmpdir(), 16 << 10, "lists", 0);
    rill__state_table *t = table_of(b, 0, "l", RILL_STATE_LIST, 0);
    rill__state_table *tt = table_of(b, 1, "lt", RILL_STATE_LIST, 3600 * 1000);
    rill__state_snap *view = NULL;
    char want[256], got[256];
    int64_t ts = rill__now_ms();
    for (int r = 0; r < ROUNDS; r++) {
        if (r == AT_VIEW)
            CHECK_RC(ops->snap_begin(b, &view));
        for (uint64_t i = 0; i < K; i++) {
            uint64_t kb;
            rill__state_key k = u64_key(&kb, i);
            int n = sprintf(got, "%llu.%d;", (unsigned long long)i, r);
            CHECK_RC(ops->value_append(t, &k, got, (size_t)n));
            /* the TTL list as the ops layer does it: read, then append or rewrite */
            const void *p;
            size_t pn;
            int rc = ops->value_get(tt, &k, &p, &pn);
            CHECK_EQ(rc, r > 0);
            if (rc == 0) {
                memcpy(want, &ts, 8);
                memcpy(want + 8, got, (size_t)n);
                CHECK_RC(ops->value_put(tt, &k, want, 8 + (size_t)n));
            } else {
                CHECK_RC(ops->value_append(tt, &k, got, (size_t)n));
            }
        }
    }
    for (uint64_t i = 0; i < K; i++) {
        size_t n = list_want(want, i, 0, ROUNDS);
        check_list(t, i, want, n);
        memcpy(got, &ts, 8);
        memcpy(got + 8, want, n);
        check_list(tt, i, got, 8 + n);
    }
    /* the view: the first AT_VIEW rounds, restored into a fresh instance */
    rill__state_backend *b2 = open_in(rill_test_tmpdir(), 16 << 10, "lists2", 0);
    restorer rs = {.to = table_of(b2, 0, "l", RILL_STATE_LIST, 0)};
    for (int kg = 0; kg < MAX_PAR; kg++)
        CHECK_RC(ops->snap_iterate_kg(view, 0, kg, restore_one, &rs));
    ops->snap_end(view);
    for (uint64_t i = 0; i < K; i++) {
        size_t n = list_want(want, i, 0, AT_VIEW);
        check_list(rs.to, i, want, n);
    }
    /* appends after the restore: onto the restored lists */
    for (uint64_t i = 0; i < K; i++) {
        uint64_t kb;
        rill__state_key k = u64_key(&kb, i);
        int n = sprintf(got, "%llu.%d;", (unsigned long long)i, AT_VIEW);
        CHECK_RC(ops->value_append(rs.to, &k, got, (size_t)n));
    }
    for (uint64_t i = 0; i < K; i++) {
        size_t n = list_want(want, i, 0, AT_VIEW + 1);
        check_list(rs.to, i, want, n);
    }
    ops->destroy(b2);
    /* a delete, a put over pending appends; then a compaction merges what RocksDB holds */
    for (uint64_t i = 0; i < K; i++) {
        uint64_t kb;
        rill__state_key k = u64_key(&kb, i);
        CHECK_RC(ops->value_append(t, &k, "x", 1));
        if (i % 3 == 0)
            CHECK_RC(ops->value_del(t, &k));
        else if (i % 3 == 1)
            CHECK_RC(ops->value_put(t, &k, "p", 1));
    }
    CHECK_RC(rill__rocksdb_compact(b));
    for (uint64_t i = 0; i < K; i++) {
        size_t n = list_want(want, i, 0, ROUNDS);
        want[n++] = 'x';
        if (i % 3 == 0)
            check_list(t, i, NULL, 0);
        else if (i % 3 == 1)
            check_list(t, i, "p", 1);
        else
            check_list(t, i, want, n);
        uint64_t kb;
        rill__state_key k = u64_key(&kb, i);
        CHECK_RC(ops->value_append(t, &k, "y", 1)); /* onto deleted, put and merged lists */
    }
    for (uint64_t i = 0; i < K; i++) {
        size_t n = list_want(want, i, 0, ROUNDS);
        want[n++] = 'x';
        want[n++] = 'y';
        if (i % 3 == 0)
            check_list(t, i, "y", 1);
        else if (i % 3 == 1)
            check_list(t, i, "py", 2);
        else
            check_list(t, i, want, n);
    }
    ops->destroy(b);
}
