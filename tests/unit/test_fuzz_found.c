/* test_fuzz_found.c - unit tests of what the libFuzzer targets (tests/fuzz/) found in the
 * parsers of outside input: each input that crashed, leaked or hung a parser, read the way the
 * product reads it, must now fail cleanly with a message naming what was wrong. The inputs
 * themselves are in tests/fuzz/corpus/, where the fuzz targets start from. */
#include <dirent.h>
#include <sys/stat.h>

#include "cli/client.h"
#include "harness.h"
#include "ops/snapshot.h"
#include "runtime/runtime.h"
#include "test.h"

/* ---- checkpoint and savepoint metadata ------------------------------------------------------ */

static void put32(rill__buf *b, uint32_t v)
{
    rill__buf_append(b, &v, 4);
}

static void put64(rill__buf *b, uint64_t v)
{
    rill__buf_append(b, &v, 8);
}

/* A savepoint's _metadata up to its task count, which is n_tasks. */
static void metadata_head(rill__buf *b, uint32_t n_tasks)
{
    put32(b, 1);    /* version */
    put64(b, 7);    /* checkpoint id */
    put64(b, 1000); /* triggered */
    put64(b, 2000); /* completed */
    put32(b, 128);  /* max parallelism */
    put32(b, 3);
    rill__buf_append(b, "job", 3);
    put32(b, n_tasks);
}

static int load_savepoint(const rill__buf *meta, rill__err *err)
{
    char *dir = rill__xasprintf("%s/sp", rill_test_tmpdir());
    char *path = rill__xasprintf("%s/%s", dir, RILL_CKPT_METADATA_NAME);
    CHECK_RC(rill__ckpt_file_write(path, RILL_CKPT_SAVEPOINT_METADATA, meta->data, meta->len, err));
    rill__restore *rs = NULL;
    int rc = rill__restore_load_dir(dir, &rs, err);
    if (rc == 0)
        rill__restore_free(rs);
    else
        CHECK(rs == NULL);
    free(path);
    free(dir);
    return rc;
}

/* A task count of 2^32-1 in a short file sized an allocation of 32 GiB (out of memory: abort),
 * and with one added it wrapped to an array of none that the tasks were stored into. */
TEST(fuzz_found_metadata_task_count_beyond_its_bytes)
{
    rill__err err = {0};
    rill__buf b = {0};
    metadata_head(&b, UINT32_MAX);
    rill__buf_append(&b, "\0\0\0\0\0\0\0\0\0\0\0\0", 12);
    CHECK_EQ(load_savepoint(&b, &err), RILL_ECORRUPT);
    CHECK_CONTAINS(err.msg, "metadata is malformed");
    CHECK_CONTAINS(err.msg, "tasks");
    b.len = 0;
    metadata_head(&b, 5); /* five tasks, no bytes for them */
    CHECK_EQ(load_savepoint(&b, &err), RILL_ECORRUPT);
    CHECK_CONTAINS(err.msg, "metadata is malformed");
    /* one finished task, no file: it loads */
    b.len = 0;
    metadata_head(&b, 1);
    put32(&b, 0), put32(&b, 0), put32(&b, 1); /* vertex, subtask, parallelism */
    put32(&b, 2), rill__buf_append(&b, "op", 2);
    put32(&b, 0);                        /* no file */
    put64(&b, 0), rill__buf_putc(&b, 1); /* size, finished */
    CHECK_RC(load_savepoint(&b, &err));
    rill__buf_free(&b);
}

/* ---- native keyed snapshots ------------------------------------------------------------------ */

/* RocksDB takes a native snapshot's files as they are, checking only that each is there with
 * its size (snapshot.h): a file damaged inside restores, and the damage shows when the state is
 * read. The error then said only "key group 0: input/output error"; it now carries RocksDB's
 * own message, which names the file and the damage. */
TEST(fuzz_found_damaged_native_snapshot_names_the_damage_when_read)
{
    static rill_state_desc d = {
        .id = 0, .name = (char *)"count", .kind = RILL_STATE_VALUE, .value_size = 8};
    rill__err err = {0};
    rill__state_backend *b = harness_backend_open(&rill__rocksdb_backend_ops, 0, 127, 128);
    rill__state_table *t = NULL;
    CHECK_RC(b->ops->table(b, &d, &t));
    for (uint64_t i = 0; i < 2000; i++) {
        uint64_t key = i * 7919, h = rill__hash_u64(key);
        rill__state_key k = {.key = &key, .key_len = 8, .hash = h, .kg = rill__key_group(h, 128)};
        CHECK_RC(b->ops->value_put(t, &k, &i, 8));
    }
    char *dir = rill__xasprintf("%s/native", rill_test_tmpdir());
    CHECK_RC(rill__mkdirs(dir, 0755));
    rill__ksnap *ks = NULL;
    rill__buf snap = {0};
    CHECK_RC(rill__ksnap_begin_native(b, NULL, &ks, &err));
    CHECK_RC(rill__ksnap_write_files(ks, &snap, dir, "s-", NULL, &err));
    rill__ksnap_free(ks);
    b->ops->destroy(b);

    /* damage the middle of every SST file, keeping its size */
    DIR *dd = opendir(dir);
    CHECK(dd != NULL);
    struct dirent *e;
    int damaged = 0;
    while ((e = readdir(dd)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 4, ".sst") != 0)
            continue;
        char *path = rill__xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        CHECK(stat(path, &st) == 0 && st.st_size > 64);
        FILE *f = fopen(path, "r+b");
        CHECK(f != NULL);
        unsigned char junk[16];
        memset(junk, 0x5a, sizeof junk);
        CHECK(fseek(f, st.st_size / 4, SEEK_SET) == 0);
        CHECK(fwrite(junk, 1, sizeof junk, f) == sizeof junk);
        fclose(f);
        free(path);
        damaged++;
    }
    closedir(dd);
    CHECK(damaged > 0);

    rill__state_backend *b2 = harness_backend_open(&rill__rocksdb_backend_ops, 0, 127, 128);
    rill__timer_service *tm = rill__timers_new(0, 127);
    int rc = rill__keyed_restore_dir(b2, tm, 0, 127, snap.data, snap.len, dir, &err);
    if (rc == 0) { /* taken as they are: the damage shows when read */
        rill__buf again = {0};
        rc = rill__keyed_snapshot(b2, tm, 0, 127, &again, &err);
        rill__buf_free(&again);
    }
    CHECK(rc < 0);
    CHECK_CONTAINS(err.msg, "rocksdb");
    CHECK_CONTAINS(err.msg, "Corruption");
    rill__timers_free(tm);
    b2->ops->destroy(b2);
    rill__buf_free(&snap);
    free(dir);
}

