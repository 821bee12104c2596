/*
 * test_checkpoint.c - unit tests of the state layer's checkpoint storage: framed files, the
 * store's commit point and retention, skipping of corrupt checkpoints, fault injection.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state/checkpoint.h"
#include "test.h"

/* ---- helpers ----------------------------------------------------------------------------- */

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static char *chk_path(rill__ckpt_store *s, int64_t id, const char *name)
{
    char *dir = rill__ckpt_store_chk_dir(s, id);
    char *p = name ? rill__xasprintf("%s/%s", dir, name) : rill__xstrdup(dir);
    free(dir);
    return p;
}

static void write_raw(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, p, n) == (ssize_t)n);
    CHECK(close(fd) == 0);
}

static char *read_raw(const char *path, size_t *len)
{
    char *data;
    CHECK_RC(rill__read_file(path, (size_t)1 << 30, &data, len));
    return data;
}

/* The ways a framed file is damaged in the tests. */
enum damage { DMG_TRUNCATE, DMG_FLIP, DMG_MAGIC, DMG_NEWER, DMG_TRAILING, DMG_EMPTY, DMG_N };
static const char *const damage_reason[DMG_N] = {
    "truncated: ",    "checksum mismatch",
    "bad magic",      "is newer than this build reads",
    "trailing bytes", "truncated: 0 of at least 28 bytes"};

static void damage_bytes(char *data, size_t *len, enum damage d)
{
    switch (d) {
    case DMG_TRUNCATE:
        *len -= 5;
        break;
    case DMG_FLIP:
        data[RILL_CKPT_HEADER_SIZE] ^= 0x10; /* first payload byte */
        break;
    case DMG_MAGIC:
        data[0] = 'X';
        break;
    case DMG_NEWER: {
        /* a well-formed file of format version 2: only the version differs */
        data[8] = 2;
        uint32_t crc = rill__crc32c(0, data, *len - RILL_CKPT_TRAILER_SIZE);
        for (int i = 0; i < 4; i++)
            data[*len - 4 + (size_t)i] = (char)(crc >> (8 * i));
        break;
    }
    case DMG_TRAILING:
        data[(*len)++] = 'z'; /* read_file left room for the NUL */
        break;
    case DMG_EMPTY:
        *len = 0;
        break;
    default:
        break;
    }
}

static void damage_file(const char *path, enum damage d)
{
    size_t len;
    char *data = read_raw(path, &len);
    data = realloc(data, len + 2);
    damage_bytes(data, &len, d);
    write_raw(path, data, len);
    free(data);
}

static rill__ckpt_store *open_store(const char *job, int retain)
{
    rill__ckpt_store *s = NULL;
    rill__err e = {0};
    int rc = rill__ckpt_store_open(rill_test_tmpdir(), job, retain, &s, &e);
    if (rc != 0)
        rill_test_fail(__FILE__, __LINE__, "store_open: %s", e.msg);
    CHECK(s != NULL);
    return s;
}

static void commit_str(rill__ckpt_store *s, int64_t id, const char *meta)
{
    rill__err e = {0};
    int rc = rill__ckpt_commit(s, id, meta, strlen(meta), &e);
    if (rc != 0)
        rill_test_fail(__FILE__, __LINE__, "commit %lld: %s", (long long)id, e.msg);
}

static void write_str(rill__ckpt_store *s, int64_t id, const char *name, const char *data)
{
    rill__err e = {0};
    int rc = rill__ckpt_write_data(s, id, name, data, strlen(data), &e);
    if (rc != 0)
        rill_test_fail(__FILE__, __LINE__, "write_data %s: %s", name, e.msg);
}

static void check_latest(rill__ckpt_store *s, int64_t want_id, const char *want_meta)
{
    int64_t id = -1;
    void *meta = NULL;
    size_t len = 0;
    rill__err e = {0};
    int rc = rill__ckpt_latest(s, &id, &meta, &len, &e);
    if (rc != 0)
        rill_test_fail(__FILE__, __LINE__, "latest: %s", e.msg);
    CHECK_EQ(id, want_id);
    CHECK_EQ(len, strlen(want_meta));
    CHECK_STR((const char *)meta, want_meta);
    free(meta);
}

static void check_data(rill__ckpt_store *s, int64_t id, const char *name, const char *want)
{
    void *data = NULL;
    size_t len = 0;
    rill__err e = {0};
    int rc = rill__ckpt_read_data(s, id, name, &data, &len, &e);
    if (rc != 0)
        rill_test_fail(__FILE__, __LINE__, "read_data %s: %s", name, e.msg);
    CHECK_EQ(len, strlen(want));
    CHECK_STR((const char *)data, want);
    free(data);
}

/* The completed ids as "1,2,3". */
static void check_list(rill__ckpt_store *s, const char *want)
{
    int64_t *ids = NULL;
    size_t n = 0;
    CHECK_RC(rill__ckpt_list(s, &ids, &n, NULL));
    rill__buf b = {0};
    for (size_t i = 0; i < n; i++)
        rill__buf_printf(&b, "%s%lld", i ? "," : "", (long long)ids[i]);
    CHECK_STR(rill__buf_cstr(&b), want);
    rill__buf_free(&b);
    free(ids);
}

/* Redirects stderr (where rill__log writes) into a file, to check what was logged. */
static int capture_begin(const char *path)
{
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(saved >= 0 && fd >= 0);
    CHECK(dup2(fd, 2) == 2);
    close(fd);
    return saved;
}

static char *capture_end(int saved, const char *path)
{
    fflush(stderr);
    CHECK(dup2(saved, 2) == 2);
    close(saved);
    size_t len;
    return read_raw(path, &len);
}

/* ---- framing ----------------------------------------------------------------------------- */

TEST(ckpt_frame_roundtrip)
{
    const char *payloads[] = {"", "x", "hello, checkpoint"};
    for (size_t i = 0; i < RILL_ARRAY_LEN(payloads); i++) {
        rill__buf b = {0};
        size_t n = strlen(payloads[i]);
        rill__ckpt_frame(&b, RILL_CKPT_DATA, payloads[i], n);
        CHECK_EQ(b.len, n + RILL_CKPT_FRAME_OVERHEAD);
        CHECK(memcmp(b.data, "RILLCKPT", 8) == 0);
        CHECK_EQ((unsigned char)b.data[8], 1);  /* version, little-endian */
        CHECK_EQ((unsigned char)b.data[12], 1); /* kind data */
        CHECK_EQ((unsigned char)b.data[16], n); /* length */
        const void *p;
        size_t len;
        CHECK_RC(rill__ckpt_unframe(b.data, b.len, RILL_CKPT_DATA, "mem", &p, &len, NULL));
        CHECK_EQ(len, n);
        CHECK(memcmp(p, payloads[i], n) == 0);
        rill__buf_free(&b);
    }
}

TEST(ckpt_frame_damage)
{
    const char *payload = "0123456789abcdef0123456789abcdef";
    for (int d = 0; d < DMG_N; d++) {
        rill__buf b = {0};
        rill__ckpt_frame(&b, RILL_CKPT_METADATA, payload, strlen(payload));
        rill__buf_reserve(&b, 2);
        size_t len = b.len;
        damage_bytes(b.data, &len, (enum damage)d);
        const void *p = (const void *)1;
        size_t plen = 1;
        rill__err e = {0};
        int rc = rill__ckpt_unframe(b.data, len, RILL_CKPT_METADATA, "f", &p, &plen, &e);
        CHECK_EQ(rc, d == DMG_NEWER ? RILL_ENOTSUP : RILL_ECORRUPT);
        CHECK(p == NULL && plen == 0);
        CHECK_CONTAINS(e.msg, damage_reason[d]);
        CHECK(strncmp(e.msg, "f: ", 3) == 0);
        rill__buf_free(&b);
    }
    /* exact messages */
    rill__buf b = {0};
    rill__ckpt_frame(&b, RILL_CKPT_DATA, payload, strlen(payload));
    const void *p;
    size_t plen;
    rill__err e = {0};
    CHECK_EQ(rill__ckpt_unframe(b.data, 50, RILL_CKPT_DATA, "x/f", &p, &plen, &e), RILL_ECORRUPT);
    CHECK_STR(e.msg, "x/f: truncated: 50 of 60 bytes");
    CHECK_EQ(rill__ckpt_unframe(b.data, 5, RILL_CKPT_DATA, "x/f", &p, &plen, &e), RILL_ECORRUPT);
    CHECK_STR(e.msg, "x/f: truncated: 5 of at least 28 bytes");
    /* the wrong kind */
    CHECK_EQ(rill__ckpt_unframe(b.data, b.len, RILL_CKPT_METADATA, "x/f", &p, &plen, &e),
             RILL_ECORRUPT);
    CHECK_CONTAINS(e.msg, "kind 1 (data), expected 2 (metadata)");
    /* version 0 */
    b.data[8] = 0;
    CHECK_EQ(rill__ckpt_unframe(b.data, b.len, RILL_CKPT_DATA, "x/f", &p, &plen, &e),
             RILL_ECORRUPT);
    CHECK_CONTAINS(e.msg, "bad format version 0");
    /* a length field that would overflow */
    b.data[8] = 1;
    for (int i = 16; i < 24; i++)
        b.data[i] = (char)0xff;
    CHECK_EQ(rill__ckpt_unframe(b.data, b.len, RILL_CKPT_DATA, "x/f", &p, &plen, &e),
             RILL_ECORRUPT);
    CHECK_CONTAINS(e.msg, "bad payload length");
    /* without an err the message goes to the thread's last error */
    CHECK_EQ(rill__ckpt_unframe("abc", 3, RILL_CKPT_DATA, "y", &p, &plen, NULL), RILL_ECORRUPT);
    CHECK_STR(rill_last_error(), "y: bad magic (not a rill checkpoint file)");
    rill__buf_free(&b);
}

TEST(ckpt_file_atomic_savepoint)
{
    /* the building blocks of a savepoint in a directory of the user's choosing */
    char *dir = rill__xasprintf("%s/sp/one", rill_test_tmpdir());
    char *data = rill__xasprintf("%s/op-1", dir);
    char *meta = rill__xasprintf("%s/" RILL_CKPT_METADATA_NAME, dir);
    CHECK_RC(rill__ckpt_file_write(data, RILL_CKPT_DATA, "state", 5, NULL));
    CHECK_RC(rill__ckpt_file_write_atomic(meta, RILL_CKPT_SAVEPOINT_METADATA, "op-1", 4, NULL));
    char *tmp = rill__xasprintf("%s.tmp", meta);
    CHECK(!exists(tmp));
    void *p;
    size_t n;
    CHECK_RC(rill__ckpt_file_read(meta, RILL_CKPT_SAVEPOINT_METADATA, &p, &n, NULL));
    CHECK_STR((char *)p, "op-1");
    free(p);
    rill__err e = {0};
    CHECK_EQ(rill__ckpt_file_read(meta, RILL_CKPT_METADATA, &p, &n, &e), RILL_ECORRUPT);
    CHECK(p == NULL);
    CHECK_CONTAINS(e.msg, "savepoint metadata");
    CHECK_RC(rill__ckpt_file_read(data, RILL_CKPT_DATA, &p, &n, NULL));
    CHECK_EQ(n, 5);
    free(p);
    char *missing = rill__xasprintf("%s/nope", dir);
    CHECK_EQ(rill__ckpt_file_read(missing, RILL_CKPT_DATA, &p, &n, &e), -ENOENT);
    CHECK_CONTAINS(e.msg, "/nope: missing");
    CHECK_EQ(rill__ckpt_file_write(data, (rill__ckpt_kind)9, "x", 1, &e), RILL_EINVAL);
    free(missing);
    free(tmp);
    free(dir);
    free(data);
    free(meta);
}

/* ---- the store --------------------------------------------------------------------------- */

TEST(ckpt_store_roundtrip)
{
    rill__ckpt_store *s = open_store("job-a", 3);
    char *want_dir = rill__xasprintf("%s/job-a", rill_test_tmpdir());
    CHECK_STR(rill__ckpt_store_dir(s), want_dir);
    free(want_dir);

    int64_t id;
    void *meta;
    size_t len;
    rill__err e = {0};
    CHECK_EQ(rill__ckpt_latest(s, &id, &meta, &len, &e), RILL_ENOENT);
    CHECK(meta == NULL);
    CHECK_CONTAINS(e.msg, "no completed checkpoint");
    check_list(s, "");

    write_str(s, 1, "op-1.0", "state of subtask 0");
    write_str(s, 1, "op-1.1", "");
    commit_str(s, 1, "op-1.0 op-1.1");
    check_latest(s, 1, "op-1.0 op-1.1");
    check_data(s, 1, "op-1.0", "state of subtask 0");
    check_data(s, 1, "op-1.1", "");
    check_list(s, "1");

    /* a checkpoint without data files (a job with no state) */
    commit_str(s, 2, "empty");
    check_latest(s, 2, "empty");
    CHECK_RC(rill__ckpt_read_meta(s, 1, &meta, &len, NULL));
    CHECK_STR((char *)meta, "op-1.0 op-1.1");
    free(meta);
    char *tmp = chk_path(s, 2, "_metadata.tmp");
    CHECK(!exists(tmp));
    free(tmp);

    /* committing twice is refused and changes nothing */
    CHECK_EQ(rill__ckpt_commit(s, 2, "other", 5, &e), RILL_EEXIST);
    CHECK_CONTAINS(e.msg, "already committed");
    check_latest(s, 2, "empty");
    /* a completed checkpoint is never aborted */
    CHECK_EQ(rill__ckpt_abort(s, 1, &e), RILL_EPERM);
    check_data(s, 1, "op-1.0", "state of subtask 0");
    /* aborting a partial one removes it; aborting nothing is fine */
    write_str(s, 3, "op-1.0", "partial");
    CHECK_RC(rill__ckpt_abort(s, 3, NULL));
    char *d3 = chk_path(s, 3, NULL);
    CHECK(!exists(d3));
    free(d3);
    CHECK_RC(rill__ckpt_abort(s, 3, NULL));
    CHECK_EQ(rill__ckpt_read_data(s, 1, "nope", &meta, &len, &e), -ENOENT);
    CHECK_CONTAINS(e.msg, "chk-1/nope: missing");
    rill__ckpt_store_free(s);

    /* the files outlive the store: another process restores */
    s = open_store("job-a", 3);
    check_latest(s, 2, "empty");
    check_list(s, "1,2");
    check_data(s, 1, "op-1.0", "state of subtask 0");
    /* ids are ordered as numbers, not names; non-canonical names are not checkpoints */
    commit_str(s, 10, "ten");
    char *odd = rill__xasprintf("%s/chk-011", rill__ckpt_store_dir(s));
    CHECK_RC(rill__mkdirs(odd, 0755));
    free(odd);
    check_latest(s, 10, "ten");
    check_list(s, "1,2,10");
    rill__ckpt_store_free(s);
    rill__ckpt_store_free(NULL);
}

TEST(ckpt_retention)
{
    rill__ckpt_store *s = open_store("job-r", 2);
    const char *want[] = {"", "1", "1,2", "2,3", "3,4", "4,5"};
    for (int64_t n = 1; n <= 5; n++) {
        char name[32], meta[32];
        snprintf(meta, sizeof meta, "meta-%lld", (long long)n);
        snprintf(name, sizeof name, "op.%lld", (long long)n);
        write_str(s, n, name, meta);
        /* the data of n is written but n is not committed: nothing older is gone yet */
        check_list(s, want[n - 1]);
        if (n >= 3) {
            char *old = chk_path(s, n - 2, NULL);
            CHECK(exists(old));
            free(old);
        }
        commit_str(s, n, meta);
        check_list(s, want[n]);
        check_latest(s, n, meta);
        for (int64_t k = 1; k <= n; k++) {
            char *dir = chk_path(s, k, NULL);
            CHECK_EQ(exists(dir), k >= n - 1);
            free(dir);
        }
    }
    check_data(s, 4, "op.4", "meta-4");
    rill__ckpt_store_free(s);

    /* retain 1 keeps only the newest; an incomplete older directory is superseded too, a newer
     * one (still in progress) is left alone */
    s = open_store("job-r1", 1);
    commit_str(s, 1, "m1");
    write_str(s, 2, "op", "partial, abandoned");
    write_str(s, 4, "op", "in progress");
    commit_str(s, 3, "m3");
    check_list(s, "3");
    char *d1 = chk_path(s, 1, NULL), *d2 = chk_path(s, 2, NULL), *d4 = chk_path(s, 4, NULL);
    CHECK(!exists(d1) && !exists(d2) && exists(d4));
    free(d1);
    free(d2);
    free(d4);
    commit_str(s, 4, "m4");
    check_latest(s, 4, "m4");
    check_data(s, 4, "op", "in progress");
    check_list(s, "4");
    rill__ckpt_store_free(s);
}

TEST(ckpt_latest_skips_damaged)
{
    rill__log_set_level(RILL_LOG_WARN);
    rill__ckpt_store *s = open_store("job-d", 5);
    write_str(s, 1, "op", "one");
    commit_str(s, 1, "meta-1");
    char *log_path = rill__xasprintf("%s/log.txt", rill_test_tmpdir());

    /* missing _metadata: checkpoint 2 wrote its data but never committed */
    write_str(s, 2, "op", "two");
    int saved = capture_begin(log_path);
    check_latest(s, 1, "meta-1");
    char *log = capture_end(saved, log_path);
    CHECK_CONTAINS(log, "skipping chk-2");
    CHECK_CONTAINS(log, "chk-2/_metadata: missing");
    free(log);
    check_list(s, "1");
    CHECK_RC(rill__ckpt_abort(s, 2, NULL));

    for (int d = 0; d < DMG_N; d++) {
        write_str(s, 2, "op", "two");
        commit_str(s, 2, "meta-2 with a longer text");
        check_latest(s, 2, "meta-2 with a longer text");
        char *mp = chk_path(s, 2, RILL_CKPT_METADATA_NAME);
        damage_file(mp, (enum damage)d);
        free(mp);
        saved = capture_begin(log_path);
        check_latest(s, 1, "meta-1");
        log = capture_end(saved, log_path);
        CHECK_CONTAINS(log, "WARN");
        CHECK_CONTAINS(log, "skipping chk-2");
        CHECK_CONTAINS(log, damage_reason[d]);
        free(log);
        check_list(s, "1");
        void *meta;
        size_t len;
        rill__err e = {0};
        CHECK_EQ(rill__ckpt_read_meta(s, 2, &meta, &len, &e),
                 d == DMG_NEWER ? RILL_ENOTSUP : RILL_ECORRUPT);
        CHECK(meta == NULL);
        /* a damaged checkpoint is not completed: abort may remove it */
        CHECK_RC(rill__ckpt_abort(s, 2, NULL));
    }

    /* several damaged in a row: the newest valid one is found; a new commit supersedes them */
    for (int64_t n = 2; n <= 4; n++)
        commit_str(s, n, "bad");
    for (int64_t n = 2; n <= 4; n++) {
        char *mp = chk_path(s, n, RILL_CKPT_METADATA_NAME);
        damage_file(mp, DMG_FLIP);
        free(mp);
    }
    saved = capture_begin(log_path);
    check_latest(s, 1, "meta-1");
    log = capture_end(saved, log_path);
    CHECK_CONTAINS(log, "skipping chk-4");
    CHECK_CONTAINS(log, "skipping chk-3");
    CHECK_CONTAINS(log, "skipping chk-2");
    free(log);
    commit_str(s, 5, "meta-5");
    check_list(s, "1,5");
    char *d3 = chk_path(s, 3, NULL);
    CHECK(!exists(d3));
    free(d3);
    rill__ckpt_store_free(s);
    free(log_path);
}

/* Two stores of one job directory: the second is refused at once, naming the directory and the
 * holder's pid; other jobs' directories are not affected; the lock goes with unlock or free. */
TEST(ckpt_store_lock)
{
    rill__ckpt_store *a = open_store("job-lock", 1);
    CHECK_RC(rill__ckpt_store_lock(a, NULL));
    CHECK_RC(rill__ckpt_store_lock(a, NULL)); /* held already */
    rill__ckpt_store *b = open_store("job-lock", 1); /* a store that only reads and writes */
    rill__err e = {0};
    CHECK_EQ(rill__ckpt_store_lock(b, &e), RILL_ECONFIG);
    CHECK_CONTAINS(e.msg, rill__ckpt_store_dir(a));
    CHECK_CONTAINS(e.msg, "is in use");
    char pid[32];
    snprintf(pid, sizeof pid, "(pid %lld)", (long long)getpid());
    CHECK_CONTAINS(e.msg, pid);
    CHECK_CONTAINS(e.msg, "job-lock/_lock");

    rill__ckpt_store *other = open_store("job-lock-2", 1); /* another job: its own lock */
    CHECK_RC(rill__ckpt_store_lock(other, NULL));
    rill__ckpt_store_free(other);

    /* the lock file is no checkpoint: the store still has none */
    int64_t id;
    void *meta;
    size_t len;
    CHECK_EQ(rill__ckpt_latest(a, &id, &meta, &len, &(rill__err){0}), RILL_ENOENT);

    rill__ckpt_store_unlock(a);
    rill__ckpt_store_unlock(a); /* idempotent */
    CHECK_RC(rill__ckpt_store_lock(b, NULL));
    memset(&e, 0, sizeof e);
    CHECK_EQ(rill__ckpt_store_lock(a, &e), RILL_ECONFIG);
    rill__ckpt_store_free(b); /* free gives it up too */
    CHECK_RC(rill__ckpt_store_lock(a, NULL));
    rill__ckpt_store_free(a);
}

TEST(ckpt_data_validation)
{
    rill__ckpt_store *s = open_store("job-v", 2);
    const char *payload = "some operator state, long enough to damage";
    for (int d = 0; d < DMG_N; d++) {
        write_str(s, 1, "op", payload);
        check_data(s, 1, "op", payload);
        char *p = chk_path(s, 1, "op");
        damage_file(p, (enum damage)d);
        void *data = (void *)1;
        size_t len = 1;
        rill__err e = {0};
        int rc = rill__ckpt_read_data(s, 1, "op", &data, &len, &e);
        CHECK_EQ(rc, d == DMG_NEWER ? RILL_ENOTSUP : RILL_ECORRUPT);
        CHECK(data == NULL && len == 0);
        CHECK_CONTAINS(e.msg, p);
        CHECK_CONTAINS(e.msg, damage_reason[d]);
        free(p);
    }
    /* a metadata file is not a data file */
    commit_str(s, 1, "m");
    void *data;
    size_t len;
    rill__err e = {0};
    char *mp = chk_path(s, 1, RILL_CKPT_METADATA_NAME);
    CHECK_EQ(rill__ckpt_file_read(mp, RILL_CKPT_DATA, &data, &len, &e), RILL_ECORRUPT);
    CHECK_CONTAINS(e.msg, "kind 2 (metadata), expected 1 (data)");
    free(mp);
    rill__ckpt_store_free(s);
}

TEST(ckpt_bad_names)
{
    const char *bad[] = {"", "a/b", "/abs", "..", "../up", "a..b", ".", "tab\there", "x/.."};
    rill__ckpt_store *s = NULL;
    rill__err e = {0};
    for (size_t i = 0; i < RILL_ARRAY_LEN(bad); i++) {
        CHECK_EQ(rill__ckpt_store_open(rill_test_tmpdir(), bad[i], 1, &s, &e), RILL_EINVAL);
        CHECK(s == NULL);
        CHECK_CONTAINS(e.msg, "job id");
    }
    CHECK_EQ(rill__ckpt_store_open(rill_test_tmpdir(), NULL, 1, &s, &e), RILL_EINVAL);
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK_EQ(rill__ckpt_store_open(rill_test_tmpdir(), longname, 1, &s, &e), RILL_EINVAL);
    CHECK_EQ(rill__ckpt_store_open(rill_test_tmpdir(), "ok", 0, &s, &e), RILL_EINVAL);
    CHECK_CONTAINS(e.msg, "at least 1");
    CHECK_EQ(rill__ckpt_store_open("", "ok", 1, &s, &e), RILL_EINVAL);
    /* a NUL inside a length-delimited name (from the network or a metadata file) */
    CHECK_EQ(rill__ckpt_check_name("ab\0cd", 5, "file name", &e), RILL_EINVAL);
    CHECK_CONTAINS(e.msg, "NUL");
    CHECK_RC(rill__ckpt_check_name("op-1.state_0", 12, "file name", NULL));
    CHECK_RC(rill__ckpt_check_name("a.b", 3, "file name", NULL));

    s = open_store("job.ok-1", 1);
    for (size_t i = 0; i < RILL_ARRAY_LEN(bad); i++) {
        CHECK_EQ(rill__ckpt_write_data(s, 1, bad[i], "x", 1, &e), RILL_EINVAL);
        CHECK_CONTAINS(e.msg, "file name");
        void *d;
        size_t n;
        CHECK_EQ(rill__ckpt_read_data(s, 1, bad[i], &d, &n, &e), RILL_EINVAL);
        CHECK(d == NULL);
    }
    CHECK_EQ(rill__ckpt_write_data(s, 1, NULL, "x", 1, &e), RILL_EINVAL);
    CHECK_EQ(rill__ckpt_write_data(s, 1, "_metadata", "x", 1, &e), RILL_EINVAL);
    CHECK_CONTAINS(e.msg, "reserved");
    CHECK_EQ(rill__ckpt_write_data(s, -1, "op", "x", 1, &e), RILL_EINVAL);
    CHECK_EQ(rill__ckpt_commit(s, -1, "x", 1, &e), RILL_EINVAL);
    CHECK_EQ(rill__ckpt_abort(s, -1, &e), RILL_EINVAL);
    /* nothing was created outside the job's directory */
    char *outside = rill__xasprintf("%s/up", rill_test_tmpdir());
    CHECK(!exists(outside));
    free(outside);
    rill__ckpt_store_free(s);
}

/* ---- concurrency ------------------------------------------------------------------------- */

#define N_THREADS 4
#define N_FILES   40

struct writer {
    rill__ckpt_store *s;
    int t;
    int rc;
    rill__err err;
};

static void file_text(char *buf, size_t cap, int t, int i)
{
    snprintf(buf, cap, "thread %d file %d: %0*d", t, i, 100 + 37 * i, i);
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char name[64], *text = rill__xmalloc(4096);
    for (int i = 0; i < N_FILES && w->rc == 0; i++) {
        snprintf(name, sizeof name, "op-%d.%d", w->t, i);
        file_text(text, 4096, w->t, i);
        w->rc = rill__ckpt_write_data(w->s, 7, name, text, strlen(text), &w->err);
    }
    free(text);
    return NULL;
}

TEST(ckpt_concurrent_writes)
{
    rill__ckpt_store *s = open_store("job-c", 2);
    pthread_t th[N_THREADS];
    struct writer w[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) {
        w[t] = (struct writer){.s = s, .t = t};
        CHECK(pthread_create(&th[t], NULL, writer_main, &w[t]) == 0);
    }
    for (int t = 0; t < N_THREADS; t++) {
        CHECK(pthread_join(th[t], NULL) == 0);
        if (w[t].rc != 0)
            rill_test_fail(__FILE__, __LINE__, "thread %d: %s", t, w[t].err.msg);
    }
    commit_str(s, 7, "all");
    char name[64], text[4096];
    for (int t = 0; t < N_THREADS; t++)
        for (int i = 0; i < N_FILES; i++) {
            snprintf(name, sizeof name, "op-%d.%d", t, i);
            file_text(text, sizeof text, t, i);
            check_data(s, 7, name, text);
        }
    check_latest(s, 7, "all");
    rill__ckpt_store_free(s);
}

/* ---- fault injection --------------------------------------------------------------------- */

#ifdef RILL_FAULT_INJECTION
/*
 * Checkpoint after checkpoint with the N-th write (or fsync) failing, for every N until one
 * completes untouched: each either commits and reads back, or fails with -EIO, leaves no
 * _metadata, and latest() still gives the previous checkpoint.
 */
static void fault_loop(rill__fault_point point, bool sticky)
{
    rill__ckpt_store *s = open_store(sticky ? "job-fs" : "job-f", 2);
    char *big = rill__xmalloc(100000);
    for (size_t i = 0; i < 100000; i++)
        big[i] = (char)('a' + i % 26);
    big[99999] = '\0';
    commit_str(s, 1, "meta-1");
    int64_t id = 1;
    int n_failed = 0;
    for (long nth = 1;; nth++) {
        id++;
        char meta[64];
        snprintf(meta, sizeof meta, "meta-%lld", (long long)id);
        rill__err e = {0};
        rill__fault_arm(point, nth, sticky);
        int rc = rill__ckpt_write_data(s, id, "big", big, strlen(big), &e);
        if (rc == 0)
            rc = rill__ckpt_write_data(s, id, "empty", "", 0, &e);
        if (rc == 0)
            rc = rill__ckpt_write_data(s, id, "small", meta, strlen(meta), &e);
        if (rc == 0)
            rc = rill__ckpt_commit(s, id, meta, strlen(meta), &e);
        long seen = rill__fault_arm(point, 0, false);
        bool fired = seen >= nth;
        char *mp = chk_path(s, id, RILL_CKPT_METADATA_NAME);
        if (rc == 0) {
            CHECK(!fired);
            check_latest(s, id, meta);
            check_data(s, id, "big", big);
            check_data(s, id, "empty", "");
            check_data(s, id, "small", meta);
            free(mp);
            break; /* nth is past every write (fsync) a checkpoint makes */
        }
        if (!fired)
            rill_test_fail(__FILE__, __LINE__, "nth %ld: failed without a fault: %s", nth, e.msg);
        CHECK_EQ(rc, -EIO);
        CHECK_CONTAINS(e.msg, rill__ckpt_store_dir(s));
        CHECK(!exists(mp));
        free(mp);
        n_failed++;
        CHECK_RC(rill__ckpt_abort(s, id, NULL));
        check_latest(s, 1, "meta-1");
        check_list(s, "1");
        if (nth > 100000)
            rill_test_fail(__FILE__, __LINE__, "the loop does not end");
    }
    CHECK(n_failed >= 3);
    free(big);
    rill__ckpt_store_free(s);
}

TEST(ckpt_fault_write)
{
    fault_loop(RILL_FAULT_WRITE, false);
}

TEST(ckpt_fault_write_sticky)
{
    fault_loop(RILL_FAULT_WRITE, true);
}

TEST(ckpt_fault_fsync)
{
    fault_loop(RILL_FAULT_FSYNC, false);
}

TEST(ckpt_fault_fsync_sticky)
{
    fault_loop(RILL_FAULT_FSYNC, true);
}

/* A failure after the metadata rename (the directory fsync) must not leave it behind. */
TEST(ckpt_fault_after_rename)
{
    rill__ckpt_store *s = open_store("job-fr", 2);
    commit_str(s, 1, "meta-1");
    write_str(s, 2, "op", "x");
    /* commit's fsyncs: the job directory, the temp file, the checkpoint directory */
    rill__fault_arm(RILL_FAULT_FSYNC, 3, false);
    rill__err e = {0};
    CHECK_EQ(rill__ckpt_commit(s, 2, "meta-2", 6, &e), -EIO);
    CHECK_EQ(rill__fault_arm(RILL_FAULT_FSYNC, 0, false), 4); /* + the retry after unlink */
    CHECK_CONTAINS(e.msg, "after renaming");
    char *d2 = chk_path(s, 2, NULL);
    CHECK(!exists(d2));
    free(d2);
    check_latest(s, 1, "meta-1");
    rill__ckpt_store_free(s);
}
#endif
