/* test_rocksdb_dirs.c - working directories that a killed process left behind: a new rocksdb
 * instance removes those whose owner file nobody holds locked (at once), and those without one
 * whose DB nobody has open and that have not changed for a minute; it leaves alone live ones
 * (of this process too), recent ones without an owner file and what is not its own. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "state/state.h"
#include "test.h"

static rill__state_backend *open_in(const char *dir, int subtask)
{
    rill__state_backend_cfg cfg = {.kg_first = 0,
                                   .kg_last = 127,
                                   .max_parallelism = 128,
                                   .operator_uid = "op",
                                   .subtask = subtask,
                                   .dir = dir,
                                   .memory_bytes = 4 << 20};
    rill__state_backend *b = NULL;
    int rc = rill__rocksdb_backend_ops.create(&cfg, &b);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "create: %s: %s", rill_strerror(rc), rill_last_error());
    return b;
}

static void make_old(const char *path)
{
    struct timeval tv[2] = {{.tv_sec = time(NULL) - 3600}, {.tv_sec = time(NULL) - 3600}};
    CHECK_EQ(utimes(path, tv), 0);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A directory as a killed process leaves it: db/LOCK (and the owner file) there, nobody
 * holding them. */
static void fake_left(const char *dir, const char *name, bool old, bool owner)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/db", dir, name);
    CHECK_RC(rill__mkdirs(path, 0755));
    snprintf(path, sizeof path, "%s/%s/db/LOCK", dir, name);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    close(fd);
    if (owner) {
        snprintf(path, sizeof path, "%s/%s/owner", dir, name);
        fd = open(path, O_CREAT | O_WRONLY, 0644);
        CHECK(fd >= 0);
        close(fd);
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (old)
        make_old(path);
}

TEST(rocksdb_removes_directories_left_by_killed_processes)
{
    char dir[512], path[1024];
    snprintf(dir, sizeof dir, "%s/state", rill_test_tmpdir());
    CHECK_RC(rill__mkdirs(dir, 0755));
    /* a live instance of this process, whose directory looks old */
    rill__state_backend *live = open_in(dir, 0);
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    struct dirent *e;
    char live_name[256] = "";
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "rill-rocksdb-", 13))
            snprintf(live_name, sizeof live_name, "%s", e->d_name);
    closedir(d);
    CHECK(live_name[0]);
    snprintf(path, sizeof path, "%s/%s", dir, live_name);
    make_old(path);
    fake_left(dir, "rill-rocksdb-op-1-AAAAAA", true, false);  /* left behind, old: goes */
    fake_left(dir, "rill-rocksdb-op-2-BBBBBB", false, false); /* no owner, recent: stays */
    fake_left(dir, "rill-rocksdb-op-4-CCCCCC", false, true);  /* owner unlocked: goes now */
    fake_left(dir, "other-rill-rocksdb-x", true, true);       /* not ours: stays */
    rill__state_backend *b = open_in(dir, 3);
    CHECK(exists(path)); /* the live one */
    snprintf(path, sizeof path, "%s/%s/db/CURRENT", dir, live_name);
    CHECK(exists(path));
    snprintf(path, sizeof path, "%s/rill-rocksdb-op-1-AAAAAA", dir);
    CHECK(!exists(path));
    snprintf(path, sizeof path, "%s/rill-rocksdb-op-2-BBBBBB", dir);
    CHECK(exists(path));
    snprintf(path, sizeof path, "%s/rill-rocksdb-op-4-CCCCCC", dir);
    CHECK(!exists(path));
    snprintf(path, sizeof path, "%s/other-rill-rocksdb-x", dir);
    CHECK(exists(path));
    /* the live one still works */
    rill_state_desc desc = {.id = 0, .name = "v", .kind = RILL_STATE_VALUE, .value_size = 8};
    rill__state_table *t = NULL;
    CHECK_RC(live->ops->table(live, &desc, &t));
    uint64_t kb = 1, v = 2;
    uint64_t h = rill__hash_bytes(&kb, 8, 0);
    rill__state_key k = {.key = &kb, .key_len = 8, .hash = h, .kg = rill__key_group(h, 128)};
    CHECK_RC(live->ops->value_put(t, &k, &v, 8));
    CHECK_RC(rill__rocksdb_compact(live));
    rill__rocksdb_backend_ops.destroy(live);
    rill__rocksdb_backend_ops.destroy(b);
}
