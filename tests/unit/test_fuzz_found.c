/* test_fuzz_found.c - unit tests of what the libFuzzer targets (tests/fuzz/) found in the
 * parsers of outside input: each input that crashed, leaked or hung a parser, read the way the
 * product reads it, must now fail cleanly with a message naming what was wrong. The inputs
 * themselves are in tests/fuzz/corpus/, where the fuzz targets start from. */
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
    CHECK_CONTAINS(err.msg, "4294967295 tasks in the 12 bytes left");
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
