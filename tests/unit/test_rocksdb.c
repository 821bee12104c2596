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
    snprintf(path, sizeof path, "%s/%s/CURRENT", dir, names[0]);
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

    /* a directory that is not there: the error names it */
    rill__state_backend_cfg cfg = {.kg_first = 0,
                                   .kg_last = 3,
                                   .max_parallelism = MAX_PAR,
                                   .operator_uid = "op",
                                   .dir = "/nonexistent/rill-state"};
    rill__state_backend *bad = (rill__state_backend *)&bad;
    CHECK_EQ(ops->create(&cfg, &bad), RILL_ENOENT);
    CHECK(bad == NULL);
    CHECK_CONTAINS(rill_last_error(), "/nonexistent/rill-state/rill-rocksdb-op-0-");
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

#if defined(__SANITIZE_ADDRESS__)
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
