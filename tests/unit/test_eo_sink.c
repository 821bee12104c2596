/* test_eo_sink.c - unit tests of the exactly-once file sink (connectors layer): two-phase
 * commit of part files, restore after a crash, several subtasks, fault injection. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connectors/conn_int.h"
#include "test.h"

#define EO_SPEC "id INT64 NOT NULL, name STRING"

static const rill__sink_ops *const OPS = &rill__exactly_once_file_sink_ops;

/* ---- helpers --------------------------------------------------------------------------------- */

static rill_schema *eo_schema(void)
{
    rill_schema *s = NULL;
    CHECK_RC(rill_schema_parse(EO_SPEC, &s));
    return s;
}

static char *eo_dir(const char *name)
{
    return rill__xasprintf("%s/%s", rill_test_tmpdir(), name);
}

static rill__sink *eo_open(void *cfg, const rill_schema *schema, int subtask, rill__err *err)
{
    memset(err, 0, sizeof *err);
    rill__conn_init init = {
        .uid = "eo-1", .subtask = subtask, .parallelism = 2, .batch_size = 100, .err = err};
    rill__sink *s = NULL;
    CHECK_RC(OPS->validate(cfg, schema, err));
    int rc = OPS->create(cfg, schema, &init, &s);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "create: %s", err->msg);
    return s;
}

/* Writes rows id = from..to-1, name "n<id>", in batches of up to 700 rows. */
static int eo_put(rill__sink *s, const rill_schema *schema, int64_t from, int64_t to)
{
    while (from < to) {
        int64_t n = RILL_MIN(to - from, 700);
        rill_batch *b = rill__batch_new(schema, (uint32_t)n);
        for (int64_t i = from; i < from + n; i++) {
            rill_row r = rill__batch_append(b);
            char name[32];
            int len = snprintf(name, sizeof name, "n%lld", (long long)i);
            rill_row_set_i64(&r, 0, i);
            CHECK_RC(rill_row_set_str(&r, 1, name, (size_t)len));
        }
        int rc = OPS->write(s, b);
        rill__batch_unref(b);
        if (rc)
            return rc;
        from += n;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directory's entries, sorted, separated by spaces. */
static char *listing(const char *dir)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        rill__grow((void **)&names, &cap, n + 1, sizeof *names);
        names[n++] = rill__xstrdup(de->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_str);
    rill__buf b = {0};
    for (size_t i = 0; i < n; i++) {
        rill__buf_printf(&b, "%s%s", i ? " " : "", names[i]);
        free(names[i]);
    }
    free(names);
    char *s = rill__xstrdup(rill__buf_cstr(&b));
    rill__buf_free(&b);
    return s;
}

#define CHECK_LISTING(dir, want)                                                                   \
    do {                                                                                           \
        char *l_ = listing(dir);                                                                   \
        CHECK_STR(l_, want);                                                                       \
        free(l_);                                                                                  \
    } while (0)

/* In-progress files of subtask in dir. */
static int count_in_progress(const char *dir, int subtask)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, ".part-%d-", subtask);
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (!strncmp(de->d_name, prefix, strlen(prefix)) && len > 11 &&
            !strcmp(de->d_name + len - 11, ".inprogress"))
            n++;
    }
    closedir(d);
    return n;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * The ids in the visible (committed) part files of subtask (-1: all), as sorted ranges
 * "0-9,20-29" (a duplicate shows as a range starting where the last ended). Every visible file
 * must be whole: the CSV header first (CSV), then complete lines "<id>,n<id>" or
 * {"id":<id>,"name":"n<id>"}, ending in '\n'.
 */
static char *visible_ids(const char *dir, int subtask, bool json)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int64_t *ids = NULL;
    size_t n = 0, cap = 0;
    char prefix[32];
    snprintf(prefix, sizeof prefix, "part-%d-", subtask);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        CHECK(!strncmp(de->d_name, "part-", 5));
        if (subtask >= 0 && strncmp(de->d_name, prefix, strlen(prefix)) != 0)
            continue;
        char *path = rill__xasprintf("%s/%s", dir, de->d_name);
        char *text;
        size_t len;
        CHECK_RC(rill__read_file(path, (size_t)1 << 30, &text, &len));
        if (len == 0 || text[len - 1] != '\n')
            rill_test_fail(__FILE__, __LINE__, "%s: partial content (%zu bytes)", path, len);
        char *line = text;
        if (!json) {
            if (strncmp(line, "id,name\n", 8) != 0)
                rill_test_fail(__FILE__, __LINE__, "%s: no header", path);
            line += 8;
        }
        if (*line == '\0')
            rill_test_fail(__FILE__, __LINE__, "%s: a committed file without rows", path);
        while (*line) {
            char *nl = strchr(line, '\n');
            *nl = '\0';
            long long id = strtoll(line + (json ? 6 : 0), NULL, 10);
            char want[96];
            if (json)
                snprintf(want, sizeof want, "{\"id\":%lld,\"name\":\"n%lld\"}", id, id);
            else
                snprintf(want, sizeof want, "%lld,n%lld", id, id);
            if (strcmp(line, want) != 0)
                rill_test_fail(__FILE__, __LINE__, "%s: line \"%s\", expected \"%s\"", path, line,
                               want);
            rill__grow((void **)&ids, &cap, n + 1, sizeof *ids);
            ids[n++] = id;
            line = nl + 1;
        }
        free(text);
        free(path);
    }
    closedir(d);
    if (n > 1)
        qsort(ids, n, sizeof *ids, cmp_i64);
    rill__buf b = {0};
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && ids[j + 1] == ids[j] + 1)
            j++;
        rill__buf_printf(&b, "%s%lld-%lld", b.len ? "," : "", (long long)ids[i], (long long)ids[j]);
        i = j + 1;
    }
    free(ids);
    char *s = rill__xstrdup(rill__buf_cstr(&b));
    rill__buf_free(&b);
    return s;
}

#define CHECK_VISIBLE(dir, subtask, want)                                                          \
    do {                                                                                           \
        char *v_ = visible_ids(dir, subtask, false);                                               \
        CHECK_STR(v_, want);                                                                       \
        free(v_);                                                                                  \
    } while (0)

static char *file_text(const char *dir, const char *name)
{
    char *path = rill__xasprintf("%s/%s", dir, name);
    char *text;
    size_t len;
    CHECK_RC(rill__read_file(path, (size_t)1 << 30, &text, &len));
    free(path);
    return text;
}

/* ---- the two phases ----------------------------------------------------------------------- */

TEST(eo_sink_commit_makes_files_visible)
{
    rill_schema *schema = eo_schema();
    char *dir = eo_dir("out/eo"); /* made on demand, parent too */
    void *cfg = rill__exactly_once_file_sink_cfg(dir, NULL);
    rill__err err;
    rill__sink *s = eo_open(cfg, schema, 0, &err);
    CHECK_LISTING(dir, "");
    CHECK_RC(eo_put(s, schema, 1, 4));
    CHECK_LISTING(dir, ".part-0-0.inprogress");
    rill__buf st = {0};
    CHECK_RC(OPS->pre_commit(s, 1, &st));
    /* durable but hidden: a reader of the directory sees nothing */
    CHECK_LISTING(dir, ".part-0-0.inprogress");
    CHECK_VISIBLE(dir, -1, "");
    char *hidden = file_text(dir, ".part-0-0.inprogress");
    CHECK_STR(hidden, "id,name\n1,n1\n2,n2\n3,n3\n");
    free(hidden);
    /* the state: header, one entry (checkpoint 1, seq 0), no adopted index, CRC */
    /* version 3: the entry with its partition "", no adopted index, the watermark, no
     * partition waiting for its commit */
    CHECK_EQ(st.len, 24 + 20 + 4 + 12 + 4);
    CHECK(!memcmp(st.data, "EOFS\x03\0\0\0\0\0\0\0\x01\0\0\0\x01\0\0\0\0\0\0\0", 24));
    CHECK(!memcmp(st.data + 24, "\x01\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16));
    CHECK_RC(OPS->commit(s, 1));
    CHECK_LISTING(dir, "part-0-0");
    char *text = file_text(dir, "part-0-0");
    CHECK_STR(text, "id,name\n1,n1\n2,n2\n3,n3\n");
    free(text);
    /* no row since: no new file; the state lists nothing pending */
    st.len = 0;
    CHECK_RC(OPS->pre_commit(s, 2, &st));
    CHECK_EQ(st.len, 44); /* no pending file, no adopted index, the watermark, no partition */
    CHECK_LISTING(dir, "part-0-0");
    CHECK_RC(OPS->commit(s, 2));
    CHECK_RC(OPS->finish(s));
    CHECK_LISTING(dir, "part-0-0");
    OPS->destroy(s);
    rill__buf_free(&st);
    OPS->cfg_free(cfg);
    free(dir);
    rill_schema_free(schema);
}

TEST(eo_sink_several_checkpoints)
{
    rill_schema *schema = eo_schema();
    char *dir = eo_dir("eo");
    void *cfg = rill__exactly_once_file_sink_cfg(dir, NULL);
    rill__err err;
    rill__sink *s = eo_open(cfg, schema, 0, &err);
    rill__buf st = {0};
    /* checkpoint 1: rows 0-9; checkpoint 2: 20000 rows (several 64 KiB writes); commits lag
     * one checkpoint behind, as when notifications arrive late */
    CHECK_RC(eo_put(s, schema, 0, 10));
    CHECK_RC(OPS->pre_commit(s, 1, &st));
    CHECK_RC(eo_put(s, schema, 10, 20010));
    CHECK_VISIBLE(dir, 0, "");
    CHECK_RC(OPS->pre_commit(s, 2, &st));
    CHECK_RC(OPS->commit(s, 1));
    CHECK_VISIBLE(dir, 0, "0-9");
    CHECK_LISTING(dir, ".part-0-1.inprogress part-0-0");
    CHECK_RC(eo_put(s, schema, 20010, 20020));
    CHECK_RC(OPS->pre_commit(s, 3, &st));
    CHECK_RC(eo_put(s, schema, 20020, 20030));
    /* commit(3) covers checkpoints 2 and 3; the open file stays in progress */
    CHECK_RC(OPS->commit(s, 3));
    CHECK_VISIBLE(dir, 0, "0-20019");
    CHECK_LISTING(dir, ".part-0-3.inprogress part-0-0 part-0-1 part-0-2");
    char *text = file_text(dir, "part-0-2");
    CHECK(!strncmp(text, "id,name\n20010,n20010\n", 21));
    free(text);
    /* the rest is committed at the end of input */
    CHECK_RC(OPS->finish(s));
    CHECK_VISIBLE(dir, 0, "0-20029");
    CHECK_LISTING(dir, "part-0-0 part-0-1 part-0-2 part-0-3");
    OPS->destroy(s);
    rill__buf_free(&st);
    OPS->cfg_free(cfg);
    free(dir);
    rill_schema_free(schema);
}

TEST(eo_sink_commit_is_idempotent)
{
    rill_schema *schema = eo_schema();
    char *dir = eo_dir("eo");
    void *cfg = rill__exactly_once_file_sink_cfg(dir, NULL);
    rill__err err;
    rill__sink *s = eo_open(cfg, schema, 0, &err);
    rill__buf st1 = {0}, st2 = {0};
    CHECK_RC(OPS->commit(s, 5)); /* nothing pending */
    CHECK_RC(eo_put(s, schema, 0, 5));
    CHECK_RC(OPS->pre_commit(s, 1, &st1));
    CHECK_RC(eo_put(s, schema, 5, 10));
    CHECK_RC(OPS->pre_commit(s, 2, &st2));
    CHECK_RC(OPS->commit(s, 0)); /* older than anything pending: no-op */
    CHECK_VISIBLE(dir, 0, "");
    CHECK_RC(OPS->commit(s, 1));
    CHECK_RC(OPS->commit(s, 1));
    CHECK_VISIBLE(dir, 0, "0-4");
    CHECK_RC(OPS->commit(s, 2));
    CHECK_RC(OPS->commit(s, 2));
    CHECK_VISIBLE(dir, 0, "0-9");
    OPS->destroy(s);
    /* a restore from checkpoint 2 whose files are all committed already changes nothing */
    s = eo_open(cfg, schema, 0, &err);
    CHECK_RC(OPS->restore(s, 0, 2, st2.data, st2.len));
    CHECK_LISTING(dir, "part-0-0 part-0-1");
    CHECK_RC(OPS->commit(s, 2));
    CHECK_RC(eo_put(s, schema, 10, 12));
    CHECK_RC(OPS->finish(s));
    CHECK_LISTING(dir, "part-0-0 part-0-1 part-0-2");
    CHECK_VISIBLE(dir, 0, "0-11");
    OPS->destroy(s);
    rill__buf_free(&st1);
    rill__buf_free(&st2);
    OPS->cfg_free(cfg);
    free(dir);
    rill_schema_free(schema);
}

TEST(eo_sink_finish_without_checkpoints)
{
    rill_schema *schema = eo_schema();
    char *dir = eo_dir("eo");
    CHECK_RC(rill__mkdirs(dir, 0755));
    /* a committed file of an earlier run: numbering continues after it, it is not touched */
    char *old = rill__xasprintf("%s/part-0-7", dir);
    CHECK_RC(rill__write_file_atomic(old, "id,name\n100,n100\n", 17));
    void *cfg = rill__exactly_once_file_sink_cfg(dir, NULL);
    rill__err err;
    rill__sink *s = eo_open(cfg, schema, 0, &err);
    CHECK_RC(eo_put(s, schema, 0, 3));
    CHECK_VISIBLE(dir, 0, "100-100");
    CHECK_RC(OPS->finish(s));
    CHECK_LISTING(dir, "part-0-7 part-0-8");
    char *text = file_text(dir, "part-0-8");
    CHECK_STR(text, "id,name\n0,n0\n1,n1\n2,n2\n");
    free(text);
    OPS->destroy(s);
    /* no rows at all: no file */
    s = eo_open(cfg, schema, 0, &err);
    CHECK_RC(OPS->finish(s));
    CHECK_LISTING(dir, "part-0-7 part-0-8");
    /* a batch without rows opens no file either */
    rill_batch *b = rill__batch_new(schema, 4);
    CHECK_RC(OPS->write(s, b));
    rill__batch_unref(b);
    CHECK_LISTING(dir, "part-0-7 part-0-8");
    OPS->destroy(s);
    OPS->cfg_free(cfg);
    free(old);
    free(dir);
    rill_schema_free(schema);
}

TEST(eo_sink_json_and_no_header)
{
    rill_schema *schema = eo_schema();
    char *dir = eo_dir("eo");
    rill_file_opts fo = {.format = RILL_FMT_JSON};
    void *cfg = rill__exactly_once_file_sink_cfg(dir, &fo);
    rill__err err;
    rill__sink *s = eo_open(cfg, schema, 1, &err);
    rill__buf st = {0};
    CHECK_RC(eo_put(s, schema, 0, 2));
    CHECK_RC(OPS->pre_commit(s, 1, &st));
    CHECK_RC(OPS->commit(s, 1));
    CHECK_RC(eo_put(s, schema, 2, 3));
    CHECK_RC(OPS->finish(s));
    CHECK_LISTING(dir, "part-1-0 part-1-1");
    char *text = file_text(dir, "part-1-0");
    CHECK_STR(text, "{\"id\":0,\"name\":\"n0\"}\n{\"id\":1,\"name\":\"n1\"}\n");
    free(text);
    char *v = visible_ids(dir, 1, true);
    CHECK_STR(v, "0-2");
    free(v);
    OPS->destroy(s);
    OPS->cfg_free(cfg);
    /* CSV without a header, another delimiter */
    char *dir2 = eo_dir("eo2");
    rill_file_opts fo2 = {.format = RILL_FMT_CSV, .no_header = true, .delimiter = ';'};
    cfg = rill__exactly_once_file_sink_cfg(dir2, &fo2);
    s = eo_open(cfg, schema, 0, &err);
    CHECK_RC(eo_put(s, schema, 0, 2));
    CHECK_RC(OPS->finish(s));
    text = file_text(dir2, "part-0-0");
    CHECK_STR(text, "0;n0\n1;n1\n");
    free(text);
    OPS->destroy(s);
    OPS->cfg_free(cfg);
    rill__buf_free(&st);
    free(dir);
    free(dir2);
    rill_schema_free(schema);
}

/* ---- restore -------------------------------------------------------------------------------- */

TEST(eo_sink_restore_after_crash)
{
    rill_schema *schema = eo_schema();
    char *dir = eo_dir("eo");
    void *cfg = rill__exactly_once_file_sink_cfg(dir, NULL);
    rill__err err;
    rill__sink *s = eo_open(cfg, schema, 0, &err);
    rill__buf st1 = {0}, st2 = {0}, st3 = {0};
    CHECK_RC(eo_put(s, schema, 0, 10));
    CHECK_RC(OPS->pre_commit(s, 1, &st1));
    CHECK_RC(OPS->commit(s, 1));
    CHECK_RC(eo_put(s, schema, 10, 20));
    CHECK_RC(OPS->pre_commit(s, 2, &st2)); /* checkpoint 2 completes, its commit never runs */
    CHECK_RC(eo_put(s, schema, 20, 30));
    CHECK_RC(OPS->pre_commit(s, 3, &st3));  /* checkpoint 3 never completes */
    CHECK_RC(eo_put(s, schema, 30, 10000)); /* more than 64 KiB: partly written */
    OPS->destroy(s);                        /* the crash */
    CHECK_LISTING(dir, ".part-0-1.inprogress .part-0-2.inprogress .part-0-3.inprogress "
                       "part-0-0");
    CHECK_VISIBLE(dir, 0, "0-9");
    /* another subtask's in-progress file is not this subtask's business */
    char *other = rill__xasprintf("%s/.part-1-0.inprogress", dir);
    CHECK_RC(rill__write_file_atomic(other, "id,name\n", 8));

    s = eo_open(cfg, schema, 0, &err);
    CHECK_RC(OPS->restore(s, 0, 2, st2.data, st2.len));
    CHECK_VISIBLE(dir, 0, "0-19");
    CHECK_EQ(count_in_progress(dir, 0), 0);
    CHECK_LISTING(dir, ".part-1-0.inprogress part-0-0 part-0-1");
    /* the replay from checkpoint 2: never reuses part numbers 2 and 3 of the failed attempt */
    CHECK_RC(eo_put(s, schema, 20, 30));
    CHECK_LISTING(dir, ".part-0-4.inprogress .part-1-0.inprogress part-0-0 part-0-1");
    CHECK_RC(OPS->pre_commit(s, 3, &st3));
    CHECK_RC(eo_put(s, schema, 30, 10000));
    CHECK_RC(OPS->commit(s, 3));
    CHECK_RC(OPS->finish(s));
    CHECK_VISIBLE(dir, 0, "0-9999");
    CHECK_LISTING(dir, ".part-1-0.inprogress part-0-0 part-0-1 part-0-4 part-0-5");
    OPS->destroy(s);
    rill__buf_free(&st1);
    rill__buf_free(&st2);
    rill__buf_free(&st3);
    OPS->cfg_free(cfg);
    free(other);
    free(dir);
    rill_schema_free(schema);
}

TEST(eo_sink_restore_missing_file_fails)
{
    rill_schema *schema = eo_schema();
    char *dir = eo_dir("eo");
    void *cfg = rill__exactly_once_file_sink_cfg(dir, NULL);
    rill__err err;
    rill__sink *s = eo_open(cfg, schema, 0, &err);
    rill__buf st = {0};
    CHECK_RC(eo_put(s, schema, 0, 10));
    CHECK_RC(OPS->pre_commit(s, 1, &st));
    OPS->destroy(s);
    char *lost = rill__xasprintf("%s/.part-0-0.inprogress", dir);
    CHECK_EQ(unlink(lost), 0);
    s = eo_open(cfg, schema, 0, &err);
    CHECK_EQ(OPS->restore(s, 0, 2, st.data, st.len), RILL_ENOENT);
    CHECK_CONTAINS(err.msg, lost);
    CHECK_CONTAINS(err.msg, "lost");
    OPS->destroy(s);

    /* corrupt or truncated state is refused, never half-applied */
    s = eo_open(cfg, schema, 0, &err);
    st.data[16] ^= 1;
    CHECK_EQ(OPS->restore(s, 0, 2, st.data, st.len), RILL_ECORRUPT);
    CHECK_CONTAINS(err.msg, "checksum");
    st.data[16] ^= 1;
    CHECK_EQ(OPS->restore(s, 0, 2, st.data, st.len - 1), RILL_ECORRUPT);
    CHECK_EQ(OPS->restore(s, 0, 2, st.data, 3), RILL_ECORRUPT);
    CHECK_EQ(OPS->restore(s, 0, 2, "", 0), RILL_ECORRUPT);
    st.data[12] = 9; /* more entries than the length holds */
    CHECK_EQ(OPS->restore(s, 0, 2, st.data, st.len), RILL_ECORRUPT);
    /* a restore comes before the first row */
    CHECK_RC(eo_put(s, schema, 0, 1));
    CHECK_EQ(OPS->restore(s, 0, 2, st.data, st.len), RILL_EINVAL);
    OPS->destroy(s);
    rill__buf_free(&st);
    OPS->cfg_free(cfg);
    free(lost);
    free(dir);
    rill_schema_free(schema);
}

TEST(eo_sink_two_subtasks_in_one_dir)
{
    rill_schema *schema = eo_schema();
    char *dir = eo_dir("eo");
    void *cfg = rill__exactly_once_file_sink_cfg(dir, NULL);
    rill__err e0, e1;
    rill__sink *s0 = eo_open(cfg, schema, 0, &e0);
    rill__sink *s1 = eo_open(cfg, schema, 1, &e1);
    rill__buf st0 = {0}, st1 = {0};
    CHECK_RC(eo_put(s0, schema, 0, 5));
    CHECK_RC(eo_put(s1, schema, 100, 105));
    CHECK_RC(OPS->pre_commit(s0, 1, &st0));
    CHECK_RC(OPS->pre_commit(s1, 1, &st1));
    CHECK_RC(OPS->commit(s0, 1));
    CHECK_LISTING(dir, ".part-1-0.inprogress part-0-0");
    CHECK_RC(OPS->commit(s1, 1));
    CHECK_RC(eo_put(s0, schema, 5, 10));
    CHECK_RC(eo_put(s1, schema, 105, 110));
    /* subtask 1 crashes; its restore leaves subtask 0's open file alone */
    OPS->destroy(s1);
    s1 = eo_open(cfg, schema, 1, &e1);
    CHECK_RC(OPS->restore(s1, 1, 2, st1.data, st1.len));
    CHECK_LISTING(dir, ".part-0-1.inprogress part-0-0 part-1-0");
    CHECK_RC(eo_put(s1, schema, 105, 110));
    CHECK_RC(OPS->finish(s1));
    CHECK_RC(OPS->finish(s0));
    CHECK_LISTING(dir, "part-0-0 part-0-1 part-1-0 part-1-2");
    CHECK_VISIBLE(dir, 0, "0-9");
    CHECK_VISIBLE(dir, 1, "100-109");
    OPS->destroy(s0);
    OPS->destroy(s1);
    rill__buf_free(&st0);
    rill__buf_free(&st1);
    OPS->cfg_free(cfg);
    free(dir);
    rill_schema_free(schema);
}

TEST(eo_sink_config_errors)
{
    rill_schema *schema = eo_schema();
    rill__err err = {0};
    void *cfg = rill__exactly_once_file_sink_cfg("", NULL);
    CHECK_EQ(OPS->validate(cfg, schema, &err), RILL_ECONFIG);
    OPS->cfg_free(cfg);
    rill_file_opts fo = {.format = (rill_format)7};
    cfg = rill__exactly_once_file_sink_cfg("x", &fo);
    CHECK_EQ(OPS->validate(cfg, schema, &err), RILL_ECONFIG);
    OPS->cfg_free(cfg);
    /* the directory is a regular file */
    char *file = eo_dir("plain");
    CHECK_RC(rill__write_file_atomic(file, "x", 1));
    cfg = rill__exactly_once_file_sink_cfg(file, NULL);
    rill__conn_init init = {.uid = "eo-1", .subtask = 0, .parallelism = 1, .err = &err};
    rill__sink *s = (rill__sink *)1;
    CHECK(OPS->create(cfg, schema, &init, &s) < 0);
    CHECK(s == NULL);
    CHECK_CONTAINS(err.msg, file);
    OPS->cfg_free(cfg);
    free(file);
    rill_schema_free(schema);
}

/* ---- rescaling: restore at another parallelism ------------------------------------------ */

static rill__sink *eo_open_p(void *cfg, const rill_schema *schema, int subtask, int par,
                             rill__err *err)
{
    memset(err, 0, sizeof *err);
    rill__conn_init init = {
        .uid = "eo-1", .subtask = subtask, .parallelism = par, .batch_size = 100, .err = err};
    rill__sink *s = NULL;
    int rc = OPS->create(cfg, schema, &init, &s);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "create: %s", err->msg);
    return s;
}

/* Old subtask i of n writes rows [1000 i, 1000 i + 500), pre-commits checkpoint 1 into st[i],
 * then writes [1000 i + 500, 1000 i + 600) that no checkpoint covers, and crashes. Subtask 0 had
 * committed checkpoint 1 already. */
static void old_run(void *cfg, const rill_schema *schema, int n, rill__buf *st)
{
    for (int i = 0; i < n; i++) {
        rill__err err;
        rill__sink *s = eo_open_p(cfg, schema, i, n, &err);
        CHECK_RC(eo_put(s, schema, 1000 * i, 1000 * i + 500));
        CHECK_RC(OPS->pre_commit(s, 1, &st[i]));
        if (i == 0)
            CHECK_RC(OPS->commit(s, 1));
        CHECK_RC(eo_put(s, schema, 1000 * i + 500, 1000 * i + 600));
        OPS->destroy(s);
    }
}

/* Every new subtask gets every old subtask's state, as the runtime does. */
static void restore_all(rill__sink *s, const rill__buf *st, int old_par)
{
    for (int j = 0; j < old_par; j++)
        CHECK_RC(OPS->restore(s, j, old_par, st[j].data, st[j].len));
}

TEST(eo_sink_rescale_down_commits_every_old_subtask_once)
{
    rill_schema *schema = eo_schema();
    char *dir = eo_dir("eo");
    void *cfg = rill__exactly_once_file_sink_cfg(dir, NULL);
    rill__buf st[4] = {{0}};
    old_run(cfg, schema, 4, st);
    CHECK_LISTING(dir, ".part-0-1.inprogress .part-1-0.inprogress .part-1-1.inprogress "
                       ".part-2-0.inprogress .part-2-1.inprogress .part-3-0.inprogress "
                       ".part-3-1.inprogress part-0-0");
    /* at parallelism 2: new 1 takes over old 1 and 3, and writes while new 0 restores */
    rill__err e0, e1;
    rill__sink *n0 = eo_open_p(cfg, schema, 0, 2, &e0);
    rill__sink *n1 = eo_open_p(cfg, schema, 1, 2, &e1);
    restore_all(n1, st, 4);
    CHECK_LISTING(dir, ".part-0-1.inprogress .part-2-0.inprogress .part-2-1.inprogress "
                       "part-0-0 part-1-0 part-3-0");
    CHECK_RC(eo_put(n1, schema, 10000, 10010));
    restore_all(n0, st, 4);
    /* old 2's pre-committed file is visible; nothing of old subtasks is left in progress, and
     * the file new 1 is writing is untouched */
    CHECK_LISTING(dir, ".part-1-2.inprogress part-0-0 part-1-0 part-2-0 part-3-0");
    CHECK_VISIBLE(dir, -1, "0-499,1000-1499,2000-2499,3000-3499");
    /* the replay: new numbers never collide with the old subtasks' names */
    CHECK_RC(eo_put(n0, schema, 500, 600));
    rill__buf s0 = {0}, s1 = {0};
    CHECK_RC(OPS->pre_commit(n0, 2, &s0));
    CHECK_RC(OPS->pre_commit(n1, 2, &s1));
    CHECK_RC(OPS->commit(n0, 2));
    CHECK_RC(OPS->commit(n1, 2));
    CHECK_RC(OPS->finish(n0));
    CHECK_RC(OPS->finish(n1));
    CHECK_LISTING(dir, "part-0-0 part-0-2 part-1-0 part-1-2 part-2-0 part-3-0");
    CHECK_VISIBLE(dir, -1, "0-599,1000-1499,2000-2499,3000-3499,10000-10009");
    /* new 1 keeps index 3 (no live subtask writes it) with the numbers it has used */
    CHECK_EQ(s1.len, 24 + 20 + 4 + 16 + 12 + 4);
    CHECK_EQ(s0.len, 24 + 20 + 4 + 16 + 12 + 4); /* and new 0 index 2 */
    OPS->destroy(n0);
    OPS->destroy(n1);
    /* the same restore again (a failure right after it): idempotent */
    n0 = eo_open_p(cfg, schema, 0, 1, &e0);
    restore_all(n0, st, 4);
    CHECK_LISTING(dir, "part-0-0 part-0-2 part-1-0 part-1-2 part-2-0 part-3-0");
    OPS->destroy(n0);
    for (int i = 0; i < 4; i++)
        rill__buf_free(&st[i]);
    rill__buf_free(&s0);
    rill__buf_free(&s1);
    OPS->cfg_free(cfg);
    free(dir);
    rill_schema_free(schema);
}

TEST(eo_sink_rescale_up_and_back_never_reuses_a_name)
{
    rill_schema *schema = eo_schema();
    char *dir = eo_dir("eo");
    void *cfg = rill__exactly_once_file_sink_cfg(dir, NULL);
    rill__buf st4[4] = {{0}}, st2[2] = {{0}}, st4b[4] = {{0}};
    old_run(cfg, schema, 4, st4);
    /* 4 -> 2: index 3's leftover .part-3-1 goes; new 1 remembers that index 3 used 0 and 1 */
    for (int i = 0; i < 2; i++) {
        rill__err err;
        rill__sink *s = eo_open_p(cfg, schema, i, 2, &err);
        restore_all(s, st4, 4);
        CHECK_RC(eo_put(s, schema, 1000 * i + 500, 1000 * i + 600)); /* the replay */
        CHECK_RC(OPS->pre_commit(s, 2, &st2[i]));
        OPS->destroy(s); /* checkpoint 2 completed, the job died before committing */
    }
    CHECK_LISTING(dir, ".part-0-2.inprogress .part-1-2.inprogress part-0-0 part-1-0 "
                       "part-2-0 part-3-0");
    /* 2 -> 4: new 3 starts at number 2 of its index, above what the old index 3 used */
    rill__sink *n[4];
    for (int i = 0; i < 4; i++) {
        rill__err err;
        n[i] = eo_open_p(cfg, schema, i, 4, &err);
        restore_all(n[i], st2, 2);
    }
    CHECK_LISTING(dir, "part-0-0 part-0-2 part-1-0 part-1-2 part-2-0 part-3-0");
    for (int i = 0; i < 4; i++)
        CHECK_RC(eo_put(n[i], schema, 1000 * i + 600, 1000 * i + 700));
    CHECK_LISTING(dir, ".part-0-3.inprogress .part-1-3.inprogress .part-2-2.inprogress "
                       ".part-3-2.inprogress part-0-0 part-0-2 part-1-0 part-1-2 part-2-0 "
                       "part-3-0");
    for (int i = 0; i < 4; i++) {
        CHECK_RC(OPS->pre_commit(n[i], 3, &st4b[i]));
        CHECK_EQ(st4b[i].len, 24 + 20 + 4 + 12 + 4); /* every index is live again: none adopted */
        CHECK_RC(OPS->commit(n[i], 3));
        OPS->destroy(n[i]);
    }
    CHECK_VISIBLE(dir, -1, "0-699,1000-1699,2000-2499,2600-2699,3000-3499,3600-3699");
    /* (rows 2500-2599 and 3500-3599 were never replayed in this test: the old 2 and 3 wrote
     * them after checkpoint 1, and the 2-subtask run had no source for them) */
    for (int i = 0; i < 4; i++) {
        rill__buf_free(&st4[i]);
        rill__buf_free(&st4b[i]);
    }
    for (int i = 0; i < 2; i++)
        rill__buf_free(&st2[i]);
    OPS->cfg_free(cfg);
    free(dir);
    rill_schema_free(schema);
}

TEST(eo_sink_rescale_removes_leftovers_of_indices_no_checkpoint_knows)
{
    rill_schema *schema = eo_schema();
    char *dir = eo_dir("eo");
    void *cfg = rill__exactly_once_file_sink_cfg(dir, NULL);
    rill__buf st[2] = {{0}};
    old_run(cfg, schema, 2, st);
    /* a crashed attempt at parallelism 6 after the checkpoint left indices 2 and 5 behind */
    const char *left[] = {".part-2-3.inprogress", ".part-5-0.inprogress", "part-5-7"};
    for (size_t i = 0; i < RILL_ARRAY_LEN(left); i++) {
        char *path = rill__xasprintf("%s/%s", dir, left[i]);
        CHECK_RC(rill__write_file_atomic(path, "id,name\n", 8));
        free(path);
    }
    /* at 3: new 2 (no old subtask of its own) owns indices 2 and 5 (2 mod 3, 5 mod 3) */
    rill__sink *n[3];
    for (int i = 0; i < 3; i++) {
        rill__err err;
        n[i] = eo_open_p(cfg, schema, i, 3, &err);
    }
    restore_all(n[2], st, 2);
    CHECK_LISTING(dir, ".part-0-1.inprogress .part-1-0.inprogress .part-1-1.inprogress "
                       "part-0-0 part-5-7");
    restore_all(n[0], st, 2);
    restore_all(n[1], st, 2);
    CHECK_LISTING(dir, "part-0-0 part-1-0 part-5-7");
    CHECK_RC(eo_put(n[2], schema, 5000, 5001));
    CHECK_LISTING(dir, ".part-2-4.inprogress part-0-0 part-1-0 part-5-7"); /* above 3 */
    rill__buf s2 = {0};
    CHECK_RC(OPS->pre_commit(n[2], 2, &s2));
    CHECK_EQ(s2.len, 24 + 20 + 4 + 16 + 12 + 4); /* index 5, up to number 7, is kept */
    CHECK(!memcmp(s2.data + 24 + 20 + 4, "\x05\0\0\0\0\0\0\0\x08\0\0\0\0\0\0\0", 16));
    for (int i = 0; i < 3; i++)
        OPS->destroy(n[i]);
    rill__buf_free(&s2);
    rill__buf_free(&st[0]);
    rill__buf_free(&st[1]);
    OPS->cfg_free(cfg);
    free(dir);
    rill_schema_free(schema);
}

/* A version 1 state (before rescaling): header, entries, CRC. */
static void v1_state(rill__buf *b, uint32_t subtask, uint64_t next_seq, uint64_t ckpt, uint64_t seq)
{
    uint32_t h[4] = {0x53464f45u, 1, subtask, 1};
    rill__buf_append(b, h, sizeof h);
    rill__buf_append(b, &next_seq, 8);
    rill__buf_append(b, &ckpt, 8);
    rill__buf_append(b, &seq, 8);
    uint32_t crc = rill__crc32c(0, b->data, b->len);
    rill__buf_append(b, &crc, 4);
}

TEST(eo_sink_rescale_bad_states_are_named)
{
    rill_schema *schema = eo_schema();
    char *dir = eo_dir("eo");
    void *cfg = rill__exactly_once_file_sink_cfg(dir, NULL);
    rill__buf st[2] = {{0}};
    old_run(cfg, schema, 2, st);
    rill__err err;
    rill__sink *s = eo_open_p(cfg, schema, 0, 1, &err);
    /* old subtask 2's state handed over as old subtask 1's */
    CHECK_EQ(OPS->restore(s, 0, 2, st[1].data, st[1].len), RILL_ECORRUPT);
    CHECK_CONTAINS(err.msg, "old subtask 1/2");
    CHECK_CONTAINS(err.msg, "another subtask");
    CHECK_CONTAINS(err.msg, dir);
    CHECK_EQ(OPS->restore(s, 2, 2, st[0].data, st[0].len), RILL_ECORRUPT);
    CHECK_CONTAINS(err.msg, "no such subtask");
    /* a state that another new subtask takes over is checked all the same */
    rill__sink *s1 = eo_open_p(cfg, schema, 1, 2, &err);
    st[0].data[20] ^= 1;
    CHECK_EQ(OPS->restore(s1, 0, 2, st[0].data, st[0].len), RILL_ECORRUPT);
    CHECK_CONTAINS(err.msg, "checksum");
    st[0].data[20] ^= 1;
    OPS->destroy(s1);
    /* a pre-committed file of another old subtask gone missing: its rows are lost */
    char *lost = rill__xasprintf("%s/.part-1-0.inprogress", dir);
    CHECK_EQ(unlink(lost), 0);
    CHECK_EQ(OPS->restore(s, 1, 2, st[1].data, st[1].len), RILL_ENOENT);
    CHECK_CONTAINS(err.msg, lost);
    CHECK_CONTAINS(err.msg, "lost");
    OPS->destroy(s);
    /* a version 1 state (written before rescaling existed) still restores, at any parallelism */
    rill__buf v1 = {0};
    v1_state(&v1, 0, 2, 1, 1); /* pending: .part-0-1 under checkpoint 1 */
    s = eo_open_p(cfg, schema, 0, 3, &err);
    CHECK_RC(OPS->restore(s, 0, 1, v1.data, v1.len));
    /* (index 1 is new subtask 1's of 3, which is not restored in this test) */
    CHECK_LISTING(dir, ".part-1-1.inprogress part-0-0 part-0-1");
    v1.data[v1.len - 1] ^= 1;
    CHECK_EQ(OPS->restore(s, 0, 1, v1.data, v1.len), RILL_ECORRUPT);
    OPS->destroy(s);
    rill__buf_free(&v1);
    rill__buf_free(&st[0]);
    rill__buf_free(&st[1]);
    free(lost);
    OPS->cfg_free(cfg);
    free(dir);
    rill_schema_free(schema);
}

/* ---- fault injection -------------------------------------------------------------------- */

#ifdef RILL_FAULT_INJECTION
/* The job of the fault loop: checkpoint k ends at row seg_end[k-1]; then the end of input. */
static const int64_t seg_end[] = {3000, 3000, 9000};
#define N_ROWS 9500

typedef struct job_run {
    rill__buf state;  /* the latest completed checkpoint's state */
    int64_t done_end; /* rows it covers (0: none completed) */
    bool have_state;
    int64_t committed_end; /* rows covered by the last commit that succeeded */
    bool in_finish;
} job_run;

/* Runs the job once: rows, pre-commit (which the test takes as the checkpoint completing),
 * commit, ..., finish. 0 or the first error. */
static int run_job(void *cfg, const rill_schema *schema, job_run *j, rill__err *err)
{
    memset(err, 0, sizeof *err);
    rill__conn_init init = {.uid = "eo-f", .subtask = 0, .parallelism = 1, .err = err};
    rill__sink *s = NULL;
    int rc = OPS->create(cfg, schema, &init, &s);
    if (rc)
        return rc;
    int64_t at = 0;
    rill__buf st = {0};
    for (size_t k = 0; k < RILL_ARRAY_LEN(seg_end) && rc == 0; k++) {
        rc = eo_put(s, schema, at, seg_end[k]);
        if (rc)
            break;
        at = seg_end[k];
        st.len = 0;
        rc = OPS->pre_commit(s, k + 1, &st);
        if (rc)
            break;
        j->state.len = 0;
        rill__buf_append(&j->state, st.data, st.len);
        j->have_state = true;
        j->done_end = at;
        if (k != 1) { /* checkpoint 2's notification is skipped: 3 commits both */
            rc = OPS->commit(s, k + 1);
            if (rc == 0)
                j->committed_end = at;
        }
    }
    if (rc == 0)
        rc = eo_put(s, schema, at, N_ROWS);
    if (rc == 0) {
        j->in_finish = true;
        rc = OPS->finish(s);
    }
    OPS->destroy(s);
    rill__buf_free(&st);
    return rc;
}

/*
 * The job with the N-th write (or fsync) failing, for every N until one runs untouched. Each
 * attempt ends in an error naming the directory's file or in the whole output; at every point
 * each visible file is whole, and the visible rows are exactly those of whole checkpoints.
 * A restart restores the latest completed checkpoint, replays, and ends with every row once.
 */
static void fault_loop(rill__fault_point point, bool sticky)
{
    rill_schema *schema = eo_schema();
    int n_failed = 0;
    for (long nth = 1;; nth++) {
        char name[32];
        snprintf(name, sizeof name, "f-%ld", nth);
        char *dir = eo_dir(name);
        void *cfg = rill__exactly_once_file_sink_cfg(dir, NULL);
        job_run j = {0};
        rill__err err;
        rill__fault_arm(point, nth, sticky);
        int rc = run_job(cfg, schema, &j, &err);
        long seen = rill__fault_arm(point, 0, false);
        bool fired = seen >= nth;
        char want_all[64];
        snprintf(want_all, sizeof want_all, "0-%d", N_ROWS - 1);
        if (rc == 0) {
            CHECK(!fired);
            CHECK_VISIBLE(dir, 0, want_all);
            CHECK_EQ(count_in_progress(dir, 0), 0);
            rill__buf_free(&j.state);
            OPS->cfg_free(cfg);
            free(dir);
            break;
        }
        if (!fired)
            rill_test_fail(__FILE__, __LINE__, "nth %ld: failed without a fault: %s", nth, err.msg);
        CHECK_EQ(rc, -EIO);
        CHECK_CONTAINS(err.msg, dir);
        n_failed++;
        /* visible: whole checkpoints, at least the committed ones; everything only when the
         * failure came in finish after the renames */
        char *v = visible_ids(dir, 0, false);
        char want[64] = "";
        if (j.committed_end)
            snprintf(want, sizeof want, "0-%lld", (long long)j.committed_end - 1);
        bool all = j.in_finish && !strcmp(v, want_all);
        if (!all && strcmp(v, want) != 0) {
            char want2[64] = "";
            if (j.done_end)
                snprintf(want2, sizeof want2, "0-%lld", (long long)j.done_end - 1);
            if (strcmp(v, want2) != 0)
                rill_test_fail(__FILE__, __LINE__,
                               "nth %ld: visible \"%s\", expected \"%s\" "
                               "or \"%s\"",
                               nth, v, want, want2);
        }
        free(v);
        /* the restart: restore the latest completed checkpoint, replay, finish */
        rill__sink *s = eo_open(cfg, schema, 0, &err);
        int64_t from = 0;
        if (j.have_state) {
            CHECK_RC(OPS->restore(s, 0, 1, j.state.data, j.state.len));
            CHECK_EQ(count_in_progress(dir, 0), 0);
            from = j.done_end;
        }
        char want_restored[64] = "";
        if (from)
            snprintf(want_restored, sizeof want_restored, "0-%lld", (long long)from - 1);
        v = visible_ids(dir, 0, false);
        if (all) {
            CHECK_STR(v, want_all); /* finish's rows are out: the job had ended */
        } else {
            CHECK_STR(v, want_restored);
            CHECK_RC(eo_put(s, schema, from, N_ROWS));
            rill__buf st = {0};
            CHECK_RC(OPS->pre_commit(s, 10, &st));
            CHECK_RC(OPS->commit(s, 10));
            CHECK_RC(OPS->finish(s));
            rill__buf_free(&st);
            CHECK_VISIBLE(dir, 0, want_all);
        }
        free(v);
        OPS->destroy(s);
        rill__buf_free(&j.state);
        OPS->cfg_free(cfg);
        free(dir);
        if (nth > 10000)
            rill_test_fail(__FILE__, __LINE__, "the loop does not end");
    }
    CHECK(n_failed >= 3);
    rill_schema_free(schema);
}

TEST(eo_sink_fault_write)
{
    fault_loop(RILL_FAULT_WRITE, false);
}

TEST(eo_sink_fault_write_sticky)
{
    fault_loop(RILL_FAULT_WRITE, true);
}

TEST(eo_sink_fault_fsync)
{
    fault_loop(RILL_FAULT_FSYNC, false);
}

TEST(eo_sink_fault_fsync_sticky)
{
    fault_loop(RILL_FAULT_FSYNC, true);
}

/* After a failed write the open file is never committed, whatever is called next. */
TEST(eo_sink_fault_write_poisons_the_file)
{
    rill_schema *schema = eo_schema();
    char *dir = eo_dir("eo");
    void *cfg = rill__exactly_once_file_sink_cfg(dir, NULL);
    rill__err err;
    rill__sink *s = eo_open(cfg, schema, 0, &err);
    rill__buf st = {0};
    rill__fault_arm(RILL_FAULT_WRITE, 1, false);
    CHECK_EQ(eo_put(s, schema, 0, 10000), -EIO);
    rill__fault_arm(RILL_FAULT_WRITE, 0, false);
    CHECK_CONTAINS(err.msg, ".part-0-0.inprogress");
    CHECK_EQ(OPS->pre_commit(s, 1, &st), -EIO);
    CHECK_CONTAINS(err.msg, "incomplete");
    CHECK_EQ(eo_put(s, schema, 0, 1), -EIO);
    CHECK_EQ(OPS->finish(s), -EIO);
    CHECK_RC(OPS->commit(s, 1));
    CHECK_VISIBLE(dir, 0, "");
    OPS->destroy(s);
    rill__buf_free(&st);
    OPS->cfg_free(cfg);
    free(dir);
    rill_schema_free(schema);
}
#endif

/* gen: one row per number */
static int gen_n(rill_ctx *ctx, uint64_t n, rill_row *row)
{
    (void)ctx;
    rill_row_set_i64(row, 0, (int64_t)n);
    return 0;
}

/* Two exactly-once file sinks of one job on one directory would name their files alike and
 * take each other's for their own (rename over them, delete them on a restore): refused when
 * the job starts, naming both; directories of their own are fine. */
TEST(eo_sink_two_sinks_on_one_directory_are_refused)
{
    const char *tmp = rill_test_tmpdir();
    for (int same = 1; same >= 0; same--) {
        rill_env *env = rill_env_new();
        CHECK_RC(rill_env_set(env, "name", "two-sinks"));
        rill_schema *s = NULL;
        CHECK_RC(rill_schema_parse("n INT64 NOT NULL", &s));
        rill_gen_opts g = {.events = 10, .fn = gen_n};
        rill_stream *src = rill_source_generator(env, s, &g);
        char *d1 = rill__xasprintf("%s/two-%d-a", tmp, same);
        char *d2 = same ? rill__xasprintf("%s/two-%d-a/", tmp, same)
                        : rill__xasprintf("%s/two-%d-b", tmp, same);
        rill_sink_file_exactly_once(src, d1, NULL);
        rill_sink_file_exactly_once(src, d2, NULL);
        int rc = rill_env_execute(env);
        if (same) {
            CHECK(rc == RILL_EGRAPH);
            CHECK_CONTAINS(rill_errmsg(env), "would write the same part files");
        } else {
            CHECK_RC(rc);
        }
        free(d1);
        free(d2);
        rill_schema_free(s);
        rill_env_free(env);
    }
}
