/*
 * test_jars.c - unit tests of the JobManager's jar store (cluster layer): stored objects under
 * generated names, file and directory modes, ids of any other form refused before the
 * filesystem, a directory others may write refused, listing order and deletion.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "test.h"

/* A minimal ELF64 little-endian header of type ET_DYN, padded to n bytes. */
static uint8_t *fake_so(size_t n, uint8_t fill)
{
    uint8_t *p = calloc(1, n);
    memset(p, fill, n);
    static const uint8_t magic[4] = {0x7f, 'E', 'L', 'F'};
    memcpy(p, magic, 4);
    p[4] = 2; /* ELFCLASS64 */
    p[5] = 1; /* little-endian */
    p[6] = 1;
    p[16] = 3; /* ET_DYN */
    p[17] = 0;
    return p;
}

static rill__jar_store *open_store(const char *name, char *dir, size_t size)
{
    snprintf(dir, size, "%s/%s", rill_test_tmpdir(), name);
    rill__jar_store *s;
    rill__err err = {0};
    if (rill__jar_store_open(dir, &s, &err) != 0)
        rill_test_fail(__FILE__, __LINE__, "rill__jar_store_open: %s", err.msg);
    return s;
}

static bool form_ok(const char *id)
{
    if (strlen(id) != 35 || strcmp(id + 32, ".so") != 0)
        return false;
    for (int i = 0; i < 32; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    return true;
}

TEST(jars_put_get_list_delete)
{
    char dir[512];
    rill__jar_store *s = open_store("jars", dir, sizeof dir);
    struct stat st;
    CHECK_RC(stat(dir, &st));
    CHECK_EQ(st.st_mode & 0777, 0700);

    uint8_t *a = fake_so(1000, 0xaa), *b = fake_so(64, 0xbb);
    char id_a[RILL_JAR_ID_MAX + 1], id_b[RILL_JAR_ID_MAX + 1];
    rill__err err = {0};
    CHECK_RC(rill__jar_store_put(s, a, 1000, id_a, &err));
    CHECK_RC(rill__jar_store_put(s, b, 64, id_b, &err));
    CHECK(form_ok(id_a));
    CHECK(form_ok(id_b));
    CHECK(strcmp(id_a, id_b) != 0);

    char *path;
    uint64_t size;
    uint8_t sha[RILL_SHA256_LEN], want[RILL_SHA256_LEN];
    CHECK_RC(rill__jar_store_get(s, id_a, &path, &size, sha, &err));
    CHECK_EQ(size, 1000);
    rill__sha256_digest(a, 1000, want);
    CHECK(memcmp(sha, want, sizeof sha) == 0);
    char *expect = rill__xasprintf("%s/%s", dir, id_a);
    CHECK_STR(path, expect);
    free(expect);
    CHECK_RC(stat(path, &st));
    CHECK_EQ(st.st_mode & 0777, 0600);
    CHECK_EQ(st.st_size, 1000);
    char *data;
    size_t len;
    CHECK_RC(rill__read_file(path, 1 << 20, &data, &len));
    CHECK_EQ(len, 1000);
    CHECK(memcmp(data, a, 1000) == 0);
    free(data);
    free(path);

    rill__jar_info *v;
    size_t n;
    CHECK_RC(rill__jar_store_list(s, &v, &n, &err));
    CHECK_EQ(n, 2);
    CHECK_STR(v[0].id, id_a); /* oldest first */
    CHECK_STR(v[1].id, id_b);
    CHECK_EQ(v[0].size, 1000);
    CHECK_EQ(v[1].size, 64);
    CHECK(v[0].uploaded_ms > 0 && v[0].uploaded_ms <= v[1].uploaded_ms);
    free(v);

    CHECK_RC(rill__jar_store_delete(s, id_a, &err));
    CHECK_EQ(rill__jar_store_delete(s, id_a, &err), RILL_ENOENT);
    CHECK_EQ(rill__jar_store_get(s, id_a, &path, &size, sha, &err), RILL_ENOENT);
    CHECK(path == NULL);
    char *gone = rill__xasprintf("%s/%s", dir, id_a);
    CHECK(access(gone, F_OK) != 0 && errno == ENOENT);
    free(gone);
    CHECK_RC(rill__jar_store_list(s, &v, &n, &err));
    CHECK_EQ(n, 1);
    CHECK_STR(v[0].id, id_b);
    free(v);
    rill__jar_store_free(s);

    /* a new store over the same directory finds what is there, with the same hash */
    s = open_store("jars", dir, sizeof dir);
    CHECK_RC(rill__jar_store_list(s, &v, &n, &err));
    CHECK_EQ(n, 1);
    CHECK_STR(v[0].id, id_b);
    free(v);
    CHECK_RC(rill__jar_store_get(s, id_b, &path, &size, sha, &err));
    rill__sha256_digest(b, 64, want);
    CHECK(memcmp(sha, want, sizeof sha) == 0);
    free(path);
    rill__jar_store_free(s);
    free(a);
    free(b);
}

TEST(jars_non_elf_refused)
{
    char dir[512];
    rill__jar_store *s = open_store("jars", dir, sizeof dir);
    char id[RILL_JAR_ID_MAX + 1];
    rill__err err = {0};
    const char text[] =
        "#!/bin/sh\necho not a shared object, but long enough to pass a size check\n";
    CHECK_EQ(rill__jar_store_put(s, text, sizeof text, id, &err), RILL_EINVAL);
    CHECK_CONTAINS(err.msg, "not an ELF shared object");
    CHECK_STR(id, "");
    uint8_t *so = fake_so(128, 0);
    so[16] = 2; /* ET_EXEC */
    CHECK_EQ(rill__jar_store_put(s, so, 128, id, &err), RILL_EINVAL);
    so[16] = 3;
    CHECK_EQ(rill__jar_store_put(s, so, 40, id, &err), RILL_EINVAL); /* a cut-off header */
    CHECK_EQ(rill__jar_store_put(s, so, 0, id, &err), RILL_ELIMIT);
    so[5] = 2; /* big-endian: e_type read as 0x0300 */
    CHECK_EQ(rill__jar_store_put(s, so, 128, id, &err), RILL_EINVAL);
    so[16] = 0, so[17] = 3;
    CHECK_RC(rill__jar_store_put(s, so, 128, id, &err));
    free(so);
    /* nothing else was left in the directory: one object, no temporary file */
    rill__jar_info *v;
    size_t n;
    CHECK_RC(rill__jar_store_list(s, &v, &n, &err));
    CHECK_EQ(n, 1);
    free(v);
    char *cmd = rill__xasprintf("test $(ls -A '%s' | wc -l) -eq 1", dir);
    CHECK_EQ(system(cmd), 0);
    free(cmd);
    rill__jar_store_free(s);
}

TEST(jars_other_id_forms_are_enoent_without_the_filesystem)
{
    char dir[512];
    rill__jar_store *s = open_store("jars", dir, sizeof dir);
    /* files that exist, under names a request might try */
    char *victim = rill__xasprintf("%s/victim", rill_test_tmpdir());
    CHECK_RC(rill__write_file_atomic(victim, "x", 1));
    char *upper = rill__xasprintf("%s/0123456789ABCDEF0123456789ABCDEF.so", dir);
    CHECK_RC(rill__write_file_atomic(upper, "x", 1));
    const char *bad[] = {
        "../victim",
        "abc",
        "",
        "0123456789ABCDEF0123456789ABCDEF.so",  /* uppercase */
        "0123456789abcdef0123456789abcdef0.so", /* 33 digits */
        "0123456789abcdef0123456789abcde.so",   /* 31 digits */
        "0123456789abcdef0123456789abcdef",     /* no .so */
        "0123456789abcdef0123456789abcdef.so/", /* with '/' */
        "0123456789abcdef/123456789abcdef.so",
        "0123456789abcdef0123456789abcdef.so.tmp",
        "../jars/0123456789abcdef0123456789abcdef.so",
    };
    rill__err err = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *path = (char *)"unset";
        uint64_t size = 7;
        uint8_t sha[RILL_SHA256_LEN];
        int rc = rill__jar_store_get(s, bad[i], &path, &size, sha, &err);
        if (rc != RILL_ENOENT)
            rill_test_fail(__FILE__, __LINE__, "get('%s') returned %d", bad[i], rc);
        CHECK(path == NULL);
        CHECK_EQ(rill__jar_store_delete(s, bad[i], &err), RILL_ENOENT);
    }
    CHECK_EQ(rill__jar_store_get(s, NULL, &(char *){NULL}, NULL, NULL, &err), RILL_ENOENT);
    /* nothing was deleted */
    CHECK_RC(access(victim, F_OK));
    CHECK_RC(access(upper, F_OK));
    /* a generated-form name that was never stored is not found either */
    char *path;
    CHECK_EQ(rill__jar_store_get(s, "0123456789abcdef0123456789abcdef.so", &path, NULL, NULL, &err),
             RILL_ENOENT);
    free(victim);
    free(upper);
    rill__jar_store_free(s);
}

TEST(jars_store_directory_checks)
{
    rill__jar_store *s = NULL;
    rill__err err = {0};
    /* parents are not created */
    char *deep = rill__xasprintf("%s/no/such/parent", rill_test_tmpdir());
    CHECK(rill__jar_store_open(deep, &s, &err) != 0);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.msg, deep);
    free(deep);
    /* a directory others may write is refused */
    char *open_dir = rill__xasprintf("%s/shared", rill_test_tmpdir());
    CHECK_RC(mkdir(open_dir, 0700));
    CHECK_RC(chmod(open_dir, 0777));
    CHECK_EQ(rill__jar_store_open(open_dir, &s, &err), RILL_EPERM);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.msg, "writable by group or others");
    CHECK_RC(chmod(open_dir, 0770));
    CHECK_EQ(rill__jar_store_open(open_dir, &s, &err), RILL_EPERM);
    CHECK_RC(chmod(open_dir, 0755)); /* others may read: fine */
    CHECK_RC(rill__jar_store_open(open_dir, &s, &err));
    rill__jar_store_free(s);
    free(open_dir);
    /* a file is not a directory */
    char *file = rill__xasprintf("%s/file", rill_test_tmpdir());
    CHECK_RC(rill__write_file_atomic(file, "x", 1));
    CHECK(rill__jar_store_open(file, &s, &err) != 0);
    CHECK(s == NULL);
    free(file);
    /* a temporary file an interrupted upload left is removed at open */
    char dir[512];
    s = open_store("jars", dir, sizeof dir);
    rill__jar_store_free(s);
    char *tmp = rill__xasprintf("%s/.upload-0123.tmp", dir);
    CHECK_RC(rill__write_file_atomic(tmp, "x", 1));
    s = open_store("jars", dir, sizeof dir);
    CHECK(access(tmp, F_OK) != 0);
    free(tmp);
    rill__jar_store_free(s);
}

#ifdef RILL_FAULT_INJECTION
/* A write or fsync that fails (a full disk) leaves nothing behind and names the path. */
TEST(jars_io_failure_leaves_nothing)
{
    char dir[512];
    rill__jar_store *s = open_store("jars", dir, sizeof dir);
    uint8_t *so = fake_so(4096, 1);
    for (int point = RILL_FAULT_WRITE; point <= RILL_FAULT_FSYNC; point++) {
        for (long nth = 1; nth <= 2; nth++) {
            char id[RILL_JAR_ID_MAX + 1];
            rill__err err = {0};
            rill__fault_arm((rill__fault_point)point, nth, false);
            int rc = rill__jar_store_put(s, so, 4096, id, &err);
            rill__fault_arm((rill__fault_point)point, 0, false);
            if (rc == 0) {
                CHECK_RC(rill__jar_store_delete(s, id, &err));
                continue;
            }
            CHECK_CONTAINS(err.msg, dir);
            CHECK_STR(id, "");
            char *cmd = rill__xasprintf("test -z \"$(ls -A '%s')\"", dir);
            CHECK_EQ(system(cmd), 0);
            free(cmd);
        }
    }
    rill__jar_info *v;
    size_t n;
    rill__err err = {0};
    CHECK_RC(rill__jar_store_list(s, &v, &n, &err));
    CHECK_EQ(n, 0);
    free(v);
    free(so);
    rill__jar_store_free(s);
}
#endif

/* Puts from several threads: every one stored once, under its own name. */
typedef struct putter {
    rill__jar_store *s;
    char ids[8][RILL_JAR_ID_MAX + 1];
} putter;

static void *put_many(void *arg)
{
    putter *p = arg;
    uint8_t *so = fake_so(256, 7);
    for (int i = 0; i < 8; i++) {
        rill__err err = {0};
        if (rill__jar_store_put(p->s, so, 256, p->ids[i], &err) != 0)
            p->ids[i][0] = '\0';
    }
    free(so);
    return NULL;
}

TEST(jars_concurrent_puts)
{
    char dir[512];
    rill__jar_store *s = open_store("jars", dir, sizeof dir);
    putter p[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        p[i].s = s;
        CHECK_RC(pthread_create(&t[i], NULL, put_many, &p[i]));
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    rill__jar_info *v;
    size_t n;
    rill__err err = {0};
    CHECK_RC(rill__jar_store_list(s, &v, &n, &err));
    CHECK_EQ(n, 32);
    for (size_t i = 0; i < n; i++)
        for (size_t k = i + 1; k < n; k++)
            CHECK(strcmp(v[i].id, v[k].id) != 0);
    free(v);
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 8; k++)
            CHECK(form_ok(p[i].ids[k]));
    rill__jar_store_free(s);
}
