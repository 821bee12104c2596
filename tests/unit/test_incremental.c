/* test_incremental.c - native keyed snapshots (incremental checkpoints) on the rocksdb backend:
 * a snapshot's files restore to the same state (values, lists, maps, timers), at the same key
 * groups by adopting them and at others or on the heap through a temporary instance; a second
 * snapshot shares its unchanged files with the first (hard links) and stands alone once the
 * first is gone; what the owner writes after the snapshot began is not in it; a missing,
 * truncated or damaged file or snapshot is refused with the file named, and the instance stays
 * usable. */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "ops/snapshot.h"
#include "state/state.h"
#include "test.h"

#define MAX_PAR 128

static const rill__state_backend_ops *rdb = &rill__rocksdb_backend_ops;

static rill__state_backend *open_be(const rill__state_backend_ops *ops, int first, int last)
{
    return harness_backend_open(ops, first, last, MAX_PAR);
}

static const rill_state_desc descs[] = {
    {.id = 0, .name = "sum", .kind = RILL_STATE_VALUE, .value_size = 8},
    {.id = 1, .name = "events", .kind = RILL_STATE_LIST},
    {.id = 2, .name = "seen", .kind = RILL_STATE_MAP},
};

static rill__state_table *tab(rill__state_backend *b, int i)
{
    rill__state_table *t = NULL;
    CHECK_RC(b->ops->table(b, &descs[i], &t));
    return t;
}

static rill__state_key key_of(uint64_t *kb, uint64_t v)
{
    *kb = v;
    uint64_t h = rill__hash_bytes(kb, 8, 0);
    return (rill__state_key){.key = kb, .key_len = 8, .hash = h, .kg = rill__key_group(h, MAX_PAR)};
}

/* Writes keys [from, to): value v*mul, a list element, two map entries; event timers. */
static void fill(rill__state_backend *b, rill__timer_service *tm, uint64_t from, uint64_t to,
                 uint64_t mul)
{
    rill__state_table *sum = tab(b, 0), *ev = tab(b, 1), *seen = tab(b, 2);
    for (uint64_t i = from; i < to; i++) {
        uint64_t kb, v = i * mul;
        rill__state_key k = key_of(&kb, i);
        if (k.kg < b->cfg.kg_first || k.kg > b->cfg.kg_last)
            continue;
        CHECK_RC(b->ops->value_put(sum, &k, &v, 8));
        CHECK_RC(b->ops->value_append(ev, &k, &v, 8));
        CHECK_RC(b->ops->map_put(seen, &k, "a", 1, &v, 8));
        CHECK_RC(b->ops->map_put(seen, &k, "bb", 2, &i, 8));
        if (tm && i % 3 == 0)
            CHECK_RC(rill__timers_register(tm, RILL_EVENT_TIME, &k, (int64_t)(1000 + i)));
    }
}

/* Every entry of b in [first, last] as text, sorted: a backend-independent picture. */
typedef struct dump {
    char **lines;
    size_t n, cap;
    const char *table;
} dump;

static int dump_entry(void *arg, const rill__state_key *k, const void *val, size_t len)
{
    dump *d = arg;
    char *s = malloc(64 + 2 * (k->key_len + k->ns_len + len));
    int o = sprintf(s, "%s|%d|", d->table, k->kg);
    const unsigned char *parts[3] = {k->key, k->ns, val};
    size_t lens[3] = {k->key_len, k->ns_len, len};
    for (int p = 0; p < 3; p++) {
        for (size_t i = 0; i < lens[p]; i++)
            o += sprintf(s + o, "%02x", parts[p][i]);
        s[o++] = '|';
    }
    s[o] = 0;
    rill__grow((void **)&d->lines, &d->cap, d->n + 1, sizeof *d->lines);
    d->lines[d->n++] = s;
    return 0;
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static dump dump_of(rill__state_backend *b, int first, int last)
{
    dump d = {0};
    for (int i = 0; i < 3; i++) {
        rill__state_table *t = tab(b, i);
        d.table = descs[i].name;
        for (int kg = first; kg <= last; kg++)
            CHECK_RC(b->ops->iterate_kg(t, kg, dump_entry, &d));
    }
    qsort(d.lines, d.n, sizeof *d.lines, cmp_line);
    return d;
}

static void dump_free(dump *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->lines[i]);
    free(d->lines);
}

static void check_same(rill__state_backend *want, rill__state_backend *got, int first, int last)
{
    dump a = dump_of(want, first, last), b = dump_of(got, first, last);
    CHECK(a.n > 0);
    CHECK_EQ(a.n, b.n);
    for (size_t i = 0; i < a.n; i++)
        if (strcmp(a.lines[i], b.lines[i]) != 0)
            rill_test_fail(__FILE__, __LINE__, "entry %zu: %s vs %s", i, a.lines[i], b.lines[i]);
    dump_free(&a);
    dump_free(&b);
}

/* A native snapshot of b (and tm) with its files in dir/<name>/ (made). */
static void snapshot_to(rill__state_backend *b, rill__timer_service *tm, const char *name,
                        rill__buf *out, rill__files_size *size, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s/%s", rill_test_tmpdir(), name);
    CHECK_EQ(mkdir(dir, 0755), 0);
    rill__ksnap *ks = NULL;
    rill__err err = {0};
    CHECK_RC(rill__ksnap_begin_native(b, tm, &ks, &err));
    CHECK(rill__ksnap_is_native(ks));
    int rc = rill__ksnap_write_files(ks, out, dir, "task-0-0-", size, &err);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "write: %s", err.msg);
    rill__ksnap_free(ks);
}

static void restore_into(rill__state_backend *b, rill__timer_service *tm, const rill__buf *s,
                         const char *dir)
{
    rill__err err = {0};
    int rc = rill__keyed_restore_dir(b, tm, b->cfg.kg_first, b->cfg.kg_last, s->data, s->len,
                                     dir, &err);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "restore: %s: %s", rill_strerror(rc), err.msg);
}

static int count_timer(void *arg, rill_time_domain d, const rill__timer *t)
{
    (void)d, (void)t;
    ++*(int64_t *)arg;
    return 0;
}

static ino_t inode_of(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

TEST(incremental_snapshot_restores_the_same_state)
{
    rill__state_backend *a = open_be(rdb, 0, MAX_PAR - 1);
    rill__timer_service *ta = rill__timers_new(0, MAX_PAR - 1);
    fill(a, ta, 0, 3000, 7);
    rill__buf s = {0};
    rill__files_size size = {0};
    char dir[512];
    snapshot_to(a, ta, "chk-1", &s, &size, dir, sizeof dir);
    CHECK(size.n_files >= 4); /* an SST, MANIFEST, CURRENT, OPTIONS */
    CHECK_EQ(size.n_new, size.n_files); /* the first: everything is new */
    CHECK_EQ(size.new_bytes, size.full_bytes);
    rill__buf canon = {0}; /* the entries are in the files, not in the snapshot */
    CHECK_RC(rill__keyed_snapshot(a, NULL, 0, MAX_PAR - 1, &canon, NULL));
    CHECK_INT(s.len, <, 50000); /* the catalog and 1,000 timers */
    CHECK_INT(canon.len, >, 100000);
    rill__buf_free(&canon);
    int mp, first, last;
    CHECK_RC(rill__keyed_snapshot_info(s.data, s.len, &mp, &first, &last, NULL));
    CHECK(mp == MAX_PAR && first == 0 && last == MAX_PAR - 1);

    rill__state_backend *b = open_be(rdb, 0, MAX_PAR - 1);
    rill__timer_service *tb = rill__timers_new(0, MAX_PAR - 1);
    restore_into(b, tb, &s, dir);
    check_same(a, b, 0, MAX_PAR - 1);
    CHECK_EQ(rill__timers_count(tb, RILL_EVENT_TIME), 1000);
    /* and each value reads back one by one (through the value cache: nothing may tell it
     * that a key which came in the files is absent) */
    rill__state_table *sum = tab(b, 0);
    for (uint64_t i = 0; i < 3000; i++) {
        uint64_t kb, v;
        rill__state_key k = key_of(&kb, i);
        const void *p;
        size_t n;
        CHECK_EQ(b->ops->value_get(sum, &k, &p, &n), 1);
        memcpy(&v, p, 8);
        CHECK_EQ(v, i * 7);
    }
    /* the restored instance goes on: writes, and its next snapshot shares the restored files */
    fill(b, NULL, 3000, 3100, 1);
    rill__buf s2 = {0};
    rill__files_size size2 = {0};
    char dir2[512];
    snapshot_to(b, tb, "chk-2", &s2, &size2, dir2, sizeof dir2);
    CHECK(size2.new_bytes < size2.full_bytes);
    rill__buf_free(&s2);
    rill__timers_free(ta);
    rill__timers_free(tb);
    rdb->destroy(a);
    rdb->destroy(b);
    rill__buf_free(&s);
}

TEST(incremental_second_snapshot_shares_files)
{
    rill__state_backend *a = open_be(rdb, 0, MAX_PAR - 1);
    fill(a, NULL, 0, 20000, 1);
    CHECK_RC(rill__rocksdb_compact(a)); /* one SST file: no compaction starts meanwhile */
    rill__buf s1 = {0}, s2 = {0};
    rill__files_size z1 = {0}, z2 = {0};
    char d1[512], d2[512];
    snapshot_to(a, NULL, "chk-1", &s1, &z1, d1, sizeof d1);
    fill(a, NULL, 100, 200, 3); /* a few keys change */
    snapshot_to(a, NULL, "chk-2", &s2, &z2, d2, sizeof d2);
    /* the SST files of chk-1 that are still live are the same files (one inode) in chk-2 */
    int shared = 0;
    DIR *d = opendir(d2);
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 4 && !strcmp(e->d_name + n - 4, ".sst") && inode_of(d1, e->d_name) != 0)
            shared += inode_of(d1, e->d_name) == inode_of(d2, e->d_name);
    }
    closedir(d);
    CHECK(shared >= 1);
    CHECK_EQ(z2.n_files - z2.n_new, shared);
    CHECK(z2.new_bytes < z2.full_bytes / 2);
    /* chk-1 removed: chk-2 still has every file it needs */
    CHECK_RC(rill__remove_tree(d1));
    rill__state_backend *b = open_be(rdb, 0, MAX_PAR - 1);
    restore_into(b, NULL, &s2, d2);
    check_same(a, b, 0, MAX_PAR - 1);
    /* and a third snapshot, with nothing changed, links every SST file from chk-2 (the newest
     * written), not from the gone chk-1: only MANIFEST, CURRENT and OPTIONS are new */
    rill__buf s3 = {0};
    rill__files_size z3 = {0};
    char d3[512];
    snapshot_to(a, NULL, "chk-3", &s3, &z3, d3, sizeof d3);
    CHECK_EQ(z3.n_new, 3);
    CHECK_EQ(z3.n_files, z2.n_files);
    rdb->destroy(a);
    rdb->destroy(b);
    rill__buf_free(&s1);
    rill__buf_free(&s2);
    rill__buf_free(&s3);
}

TEST(incremental_link_failure_copies)
{
    /* the previous snapshot's directory is gone before the next one is written: its files are
     * copied instead, and the snapshot is complete */
    rill__state_backend *a = open_be(rdb, 0, MAX_PAR - 1);
    fill(a, NULL, 0, 5000, 1);
    rill__buf s1 = {0}, s2 = {0};
    rill__files_size z1 = {0}, z2 = {0};
    char d1[512], d2[512];
    snapshot_to(a, NULL, "chk-1", &s1, &z1, d1, sizeof d1);
    CHECK_RC(rill__remove_tree(d1));
    snapshot_to(a, NULL, "chk-2", &s2, &z2, d2, sizeof d2);
    CHECK_EQ(z2.n_new, z2.n_files);
    rill__state_backend *b = open_be(rdb, 0, MAX_PAR - 1);
    restore_into(b, NULL, &s2, d2);
    check_same(a, b, 0, MAX_PAR - 1);
    rdb->destroy(a);
    rdb->destroy(b);
    rill__buf_free(&s1);
    rill__buf_free(&s2);
}

TEST(incremental_restore_rescaled_and_on_the_heap)
{
    rill__state_backend *a = open_be(rdb, 0, MAX_PAR - 1);
    rill__timer_service *ta = rill__timers_new(0, MAX_PAR - 1);
    fill(a, ta, 0, 4000, 5);
    rill__buf s = {0};
    rill__files_size z = {0};
    char dir[512];
    snapshot_to(a, ta, "chk-1", &s, &z, dir, sizeof dir);
    /* two halves on rocksdb, the whole on the heap */
    struct {
        const rill__state_backend_ops *ops;
        int first, last;
    } to[] = {{rdb, 0, 63}, {rdb, 64, MAX_PAR - 1}, {&rill__heap_backend_ops, 0, MAX_PAR - 1}};
    int64_t timers = 0;
    for (size_t i = 0; i < sizeof to / sizeof to[0]; i++) {
        rill__state_backend *b = open_be(to[i].ops, to[i].first, to[i].last);
        rill__timer_service *tb = rill__timers_new(to[i].first, to[i].last);
        restore_into(b, tb, &s, dir);
        check_same(a, b, to[i].first, to[i].last);
        if (i < 2)
            timers += rill__timers_count(tb, RILL_EVENT_TIME);
        else
            CHECK_EQ(rill__timers_count(tb, RILL_EVENT_TIME), 1334);
        rill__timers_free(tb);
        to[i].ops->destroy(b);
    }
    CHECK_EQ(timers, 1334);
    /* the temporary instances' directories are gone: only the test's own remain */
    rill__timers_free(ta);
    rdb->destroy(a);
    rill__buf_free(&s);
}

TEST(incremental_snapshot_is_the_state_at_its_begin)
{
    rill__state_backend *a = open_be(rdb, 0, MAX_PAR - 1);
    fill(a, NULL, 0, 2000, 1);
    rill__state_backend *want = open_be(rdb, 0, MAX_PAR - 1);
    fill(want, NULL, 0, 2000, 1);
    rill__ksnap *ks = NULL;
    CHECK_RC(rill__ksnap_begin_native(a, NULL, &ks, NULL));
    fill(a, NULL, 1000, 3000, 9); /* after the begin: not in the snapshot */
    rdb->destroy(a);              /* the owner may even go first */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/chk-1", rill_test_tmpdir());
    CHECK_EQ(mkdir(dir, 0755), 0);
    rill__buf s = {0};
    CHECK_RC(rill__ksnap_write_files(ks, &s, dir, "t-", NULL, NULL));
    rill__ksnap_free(ks);
    rill__state_backend *b = open_be(rdb, 0, MAX_PAR - 1);
    restore_into(b, NULL, &s, dir);
    check_same(want, b, 0, MAX_PAR - 1);
    rdb->destroy(want);
    rdb->destroy(b);
    rill__buf_free(&s);
}

TEST(incremental_native_only_where_the_backend_has_files)
{
    /* the heap has no native snapshots: begin_native gives a canonical one */
    rill__state_backend *h = open_be(&rill__heap_backend_ops, 0, MAX_PAR - 1);
    fill(h, NULL, 0, 100, 1);
    rill__ksnap *ks = NULL;
    CHECK_RC(rill__ksnap_begin_native(h, NULL, &ks, NULL));
    CHECK(!rill__ksnap_is_native(ks));
    rill__buf s = {0};
    CHECK_RC(rill__ksnap_write(ks, &s, NULL));
    rill__ksnap_free(ks);
    rill__state_backend *b = open_be(rdb, 0, MAX_PAR - 1);
    CHECK_RC(rill__keyed_restore(b, NULL, 0, MAX_PAR - 1, s.data, s.len, NULL));
    check_same(h, b, 0, MAX_PAR - 1);
    /* a native one cannot be written without a directory for its files */
    CHECK_RC(rill__ksnap_begin_native(b, NULL, &ks, NULL));
    CHECK(rill__ksnap_is_native(ks));
    rill__buf n = {0};
    rill__err err = {0};
    CHECK_EQ(rill__ksnap_write(ks, &n, &err), RILL_EINVAL);
    CHECK(strstr(err.msg, "directory") != NULL);
    CHECK_EQ(n.len, 0);
    rill__ksnap_free(ks);
    rill__heap_backend_ops.destroy(h);
    rdb->destroy(b);
    rill__buf_free(&s);
}

/* Restoring s from dir into a fresh instance fails with code, its message containing what. */
static void expect_refused(const rill__buf *s, const char *dir, int code, const char *what)
{
    rill__state_backend *b = open_be(rdb, 0, MAX_PAR - 1);
    rill__err err = {0};
    int rc = rill__keyed_restore_dir(b, NULL, 0, MAX_PAR - 1, s->data, s->len, dir, &err);
    if (rc != code || !strstr(err.msg, what))
        rill_test_fail(__FILE__, __LINE__, "restore: %d (%s), expected %d with \"%s\"", rc,
                       err.msg, code, what);
    /* the instance is still usable, and empty */
    rill__state_table *t = tab(b, 0);
    uint64_t kb, v = 5;
    rill__state_key k = key_of(&kb, 1);
    CHECK_RC(b->ops->value_put(t, &k, &v, 8));
    const void *got;
    size_t len;
    CHECK_EQ(b->ops->value_get(t, &k, &got, &len), 1);
    int64_t entries = -1;
    b->ops->stats(b, &entries, NULL);
    CHECK(entries <= 1);
    rdb->destroy(b);
}

TEST(incremental_restore_refuses_damage)
{
    rill__state_backend *a = open_be(rdb, 0, MAX_PAR - 1);
    fill(a, NULL, 0, 3000, 1);
    rill__buf s = {0};
    char dir[512];
    snapshot_to(a, NULL, "chk-1", &s, NULL, dir, sizeof dir);
    rdb->destroy(a);
    rill__err ce = {0};
    CHECK_RC(rill__ksnap_check_files(s.data, s.len, dir, "op", &ce));
    CHECK_EQ(rill__ksnap_check_files("not native", 10, NULL, "op", &ce), 0);
    /* no directory */
    expect_refused(&s, NULL, RILL_EINVAL, "directory");
    /* a damaged snapshot: its checksum */
    rill__buf bad = {0};
    rill__buf_append(&bad, s.data, s.len);
    bad.data[s.len / 2] ^= 0x10;
    expect_refused(&bad, dir, RILL_ECORRUPT, "checksum");
    bad.len = s.len - 3;
    expect_refused(&bad, dir, RILL_ECORRUPT, "");
    rill__buf_free(&bad);
    /* a truncated SST file, then a missing one: named */
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    char sst[300] = "";
    struct dirent *e;
    while ((e = readdir(d)))
        if (strlen(e->d_name) > 4 && !strcmp(e->d_name + strlen(e->d_name) - 4, ".sst"))
            snprintf(sst, sizeof sst, "%s", e->d_name);
    closedir(d);
    CHECK(sst[0]);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, sst);
    struct stat st;
    CHECK_EQ(stat(path, &st), 0);
    CHECK_EQ(truncate(path, st.st_size - 1), 0);
    expect_refused(&s, dir, RILL_ECORRUPT, sst);
    /* the check a checkpoint's restore makes before any task starts says the same */
    CHECK_EQ(rill__ksnap_check_files(s.data, s.len, dir, "op", &ce), RILL_ECORRUPT);
    CHECK_CONTAINS(ce.msg, sst);
    CHECK_CONTAINS(ce.msg, "operator op");
    CHECK_EQ(unlink(path), 0);
    expect_refused(&s, dir, RILL_ECORRUPT, "missing");
    CHECK_EQ(rill__ksnap_check_files(s.data, s.len, dir, "op", &ce), RILL_ECORRUPT);
    CHECK_CONTAINS(ce.msg, "missing");
    rill__buf_free(&s);
}

TEST(incremental_adopted_after_tables_registered_at_open)
{
    /* an operator that registers its tables at open (the window operator) before the restore:
     * the files are still taken as they are when its tables are the snapshot's first ones (the
     * next snapshot then links what it still has); otherwise they are read through a temporary
     * instance (the next snapshot writes everything anew) - the state is right either way */
    rill__state_backend *a = open_be(rdb, 0, MAX_PAR - 1);
    fill(a, NULL, 0, 3000, 3);
    rill__buf s = {0};
    char dir[512];
    snapshot_to(a, NULL, "chk-1", &s, NULL, dir, sizeof dir);
    for (int same = 1; same >= 0; same--) {
        rill__state_backend *b = open_be(rdb, 0, MAX_PAR - 1);
        rill_state_desc other = {.id = 7, .name = "other", .kind = RILL_STATE_VALUE};
        rill__state_table *t = NULL;
        if (same)
            t = tab(b, 0); /* "sum": the snapshot's first table */
        else
            CHECK_RC(b->ops->table(b, &other, &t));
        restore_into(b, NULL, &s, dir);
        check_same(a, b, 0, MAX_PAR - 1);
        rill__buf s2 = {0};
        rill__files_size z = {0};
        char d2[512];
        snapshot_to(b, NULL, same ? "chk-2" : "chk-3", &s2, &z, d2, sizeof d2);
        if (same)
            CHECK_INT(z.new_bytes, <, z.full_bytes / 2);
        else
            CHECK_EQ(z.n_new, z.n_files);
        rill__buf_free(&s2);
        rdb->destroy(b);
    }
    rdb->destroy(a);
    rill__buf_free(&s);
}

TEST(incremental_rescaled_restore_adopts_and_drops_other_key_groups)
{
    /* at another parallelism the first overlapping snapshot's files are taken as they are, less
     * the key groups the instance does not own: its next snapshot shares their files, and holds
     * none of the others' entries or timers */
    rill__state_backend *a = open_be(rdb, 0, MAX_PAR - 1);
    rill__timer_service *ta = rill__timers_new_backed(0, MAX_PAR - 1, a, 1000);
    fill(a, ta, 0, 4000, 5);
    CHECK_RC(rill__rocksdb_compact(a)); /* one SST: its link is seen below */
    rill__buf s = {0};
    char dir[512];
    snapshot_to(a, ta, "chk-1", &s, NULL, dir, sizeof dir);

    rill__state_backend *half = open_be(rdb, 0, 63);
    rill__timer_service *th = rill__timers_new_backed(0, 63, half, 1000);
    restore_into(half, th, &s, dir);
    check_same(a, half, 0, 63);
    rill__buf s2 = {0};
    rill__files_size z = {0};
    char d2[512];
    snapshot_to(half, th, "chk-2", &s2, &z, d2, sizeof d2);
    CHECK_INT(z.n_new, <, z.n_files); /* the big SST is linked: the files were adopted */
    /* restored into a whole-range instance: only key groups 0..63, entries and timers */
    rill__state_backend *c = open_be(rdb, 0, MAX_PAR - 1);
    rill__timer_service *tc = rill__timers_new_backed(0, MAX_PAR - 1, c, 1000);
    restore_into(c, tc, &s2, d2);
    dump want = dump_of(a, 0, 63), got = dump_of(c, 0, MAX_PAR - 1);
    CHECK(want.n > 0);
    CHECK_EQ(got.n, want.n);
    for (size_t i = 0; i < want.n; i++)
        CHECK_STR(got.lines[i], want.lines[i]);
    dump_free(&want);
    dump_free(&got);
    int64_t in_half = 0, in_c = 0;
    for (int kg = 0; kg < MAX_PAR; kg++) {
        int64_t n = 0;
        CHECK_RC(rill__timers_iterate_kg(tc, kg, count_timer, &n));
        in_c += n;
        if (kg <= 63)
            CHECK_RC(rill__timers_iterate_kg(ta, kg, count_timer, &in_half));
    }
    CHECK(in_half > 0);
    CHECK_EQ(in_c, in_half);
    rill__timers_free(tc);
    rill__timers_free(th);
    rill__timers_free(ta);
    rdb->destroy(c);
    rdb->destroy(half);
    rdb->destroy(a);
    rill__buf_free(&s);
    rill__buf_free(&s2);
}
