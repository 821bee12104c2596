/* test_fs_sink.c - unit tests of the filesystem sink's partitions (connectors layer): path
 * escaping, durations and sizes, partition times, the commit rule, options, and the sink
 * driven by hand through rows, watermarks, checkpoints and a restore. */
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connectors/fs_int.h"
#include "test.h"

static const rill__sink_ops *const OPS = &rill__exactly_once_file_sink_ops;

static char *escaped(const char *s)
{
    rill__buf b = {0};
    rill__fs_escape(s, strlen(s), &b);
    char *r = rill__xstrdup(rill__buf_cstr(&b));
    rill__buf_free(&b);
    return r;
}

static char *unescaped(const char *s)
{
    rill__buf b = {0};
    rill__fs_unescape(s, strlen(s), &b);
    char *r = rill__xstrdup(rill__buf_cstr(&b));
    rill__buf_free(&b);
    return r;
}

TEST(fs_escape_as_flink)
{
    static const char *const cases[][2] = {
        {"2024-05-01", "2024-05-01"},
        {"12:00", "12%3A00"},
        {"a/b", "a%2Fb"},
        {"x=y", "x%3Dy"},
        {"100%", "100%25"},
        {"\"#'*?\\{[]^", "%22%23%27%2A%3F%5C%7B%5B%5D%5E"},
        {"tab\there\n", "tab%09here%0A"},
        {"\x7f", "%7F"},
        {"a b,c;d()+&$@!~-_.", "a b,c;d()+&$@!~-_."},
        {"caf\xc3\xa9", "caf\xc3\xa9"}, /* bytes above ASCII stay as they are */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *e = escaped(cases[i][0]);
        CHECK_STR(e, cases[i][1]);
        char *u = unescaped(e);
        CHECK_STR(u, cases[i][0]);
        free(e);
        free(u);
    }
    /* a '%' without two hex digits after it stays */
    char *u = unescaped("50%x%4");
    CHECK_STR(u, "50%x%4");
    free(u);
    /* every byte round-trips */
    char all[256];
    for (int c = 1; c < 256; c++)
        all[c - 1] = (char)c;
    all[255] = '\0';
    char *e = escaped(all);
    CHECK(strchr(e, '/') == NULL && strchr(e, ':') == NULL && strchr(e, '=') == NULL);
    u = unescaped(e);
    CHECK_STR(u, all);
    free(e);
    free(u);
}

TEST(fs_durations_and_sizes)
{
    int64_t ms;
    uint64_t b;
    static const struct {
        const char *s;
        int64_t ms;
    } d[] = {{"1 min", 60000},  {"1min", 60000},  {"30s", 30000},    {"100 ms", 100},
             {"250", 250},      {"2 h", 7200000}, {"1 d", 86400000}, {"5 MINUTES", 300000},
             {"3000000 ns", 3}, {"0", 0}};
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        CHECK_RC(rill__fs_parse_duration(d[i].s, &ms));
        CHECK_EQ(ms, d[i].ms);
    }
    CHECK_EQ(rill__fs_parse_duration("1 fortnight", &ms), RILL_ECONFIG);
    CHECK_EQ(rill__fs_parse_duration("-1 s", &ms), RILL_ECONFIG);
    CHECK_EQ(rill__fs_parse_duration("", &ms), RILL_ECONFIG);
    CHECK_EQ(rill__fs_parse_duration("99999999999999999999 d", &ms), RILL_ECONFIG);
    CHECK_RC(rill__fs_parse_size("128MB", &b));
    CHECK_EQ(b, (uint64_t)128 << 20);
    CHECK_RC(rill__fs_parse_size("1 kb", &b));
    CHECK_EQ(b, 1024u);
    CHECK_RC(rill__fs_parse_size("77", &b));
    CHECK_EQ(b, 77u);
    CHECK_EQ(rill__fs_parse_size("1 parsec", &b), RILL_ECONFIG);
}

static rill__fs_opts opts_of(const char *pattern, const char *format, rill__fs_trigger trig,
                             int64_t delay)
{
    static char *keys[] = {"dt", "hm"};
    rill__fs_opts o = {.keys = keys, .n_keys = 2, .trigger = trig, .delay_ms = delay};
    o.time_pattern = (char *)pattern;
    o.time_format = (char *)format;
    return o;
}

TEST(fs_partition_time)
{
    rill__err err = {0};
    int64_t t;
    rill__fs_opts o = opts_of("$dt $hm:00", NULL, RILL_FS_TRIGGER_PARTITION_TIME, 0);
    CHECK_RC(rill__fs_partition_time(&o, "dt=2024-05-01/hm=12%3A07", &t, &err));
    CHECK_EQ(t, INT64_C(1714565220000)); /* 2024-05-01T12:07:00Z */
    /* no pattern: the first value, a date alone is midnight */
    o = opts_of(NULL, NULL, RILL_FS_TRIGGER_PARTITION_TIME, 0);
    CHECK_RC(rill__fs_partition_time(&o, "dt=2024-05-01/hm=12%3A07", &t, &err));
    CHECK_EQ(t, INT64_C(1714521600000));
    CHECK_RC(rill__fs_partition_time(&o, "dt=1969-12-31 23:59:59.5", &t, &err));
    CHECK_EQ(t, -500);
    /* a formatter */
    o = opts_of("$dt$hm", "yyyyMMddHH", RILL_FS_TRIGGER_PARTITION_TIME, 0);
    CHECK_RC(rill__fs_partition_time(&o, "dt=20240229/hm=23", &t, &err));
    CHECK_EQ(t, INT64_C(1709247600000)); /* 2024-02-29T23:00:00Z */
    o = opts_of("$dt", "yyyy/MM/dd", RILL_FS_TRIGGER_PARTITION_TIME, 0);
    CHECK_RC(rill__fs_partition_time(&o, "dt=2024%2F05%2F01/hm=x", &t, &err));
    CHECK_EQ(t, INT64_C(1714521600000));
    /* what does not parse names the partition and the text */
    o = opts_of("$dt $hm:00", NULL, RILL_FS_TRIGGER_PARTITION_TIME, 0);
    CHECK_EQ(rill__fs_partition_time(&o, "dt=2023-02-29/hm=12%3A00", &t, &err), RILL_EPARSE);
    CHECK_CONTAINS(err.msg, "dt=2023-02-29/hm=12%3A00");
    CHECK_CONTAINS(err.msg, "'2023-02-29 12:00:00'");
    CHECK_EQ(rill__fs_partition_time(&o, "dt=__DEFAULT_PARTITION__/hm=12%3A00", &t, &err),
             RILL_EPARSE);
}

TEST(fs_commit_rule)
{
    rill__err err = {0};
    /* partition time: watermark > time + delay, strictly */
    rill__fs_opts o = opts_of("$dt $hm:00", NULL, RILL_FS_TRIGGER_PARTITION_TIME, 60000);
    const char *p = "dt=2024-05-01/hm=12%3A07";
    int64_t t = INT64_C(1714565220000);
    CHECK_EQ(rill__fs_committable(&o, p, 0, t + 60000, 0, &err), 0);
    CHECK_EQ(rill__fs_committable(&o, p, 0, t + 60001, 0, &err), 1);
    CHECK_EQ(rill__fs_committable(&o, p, 0, INT64_MIN, 0, &err), 0);
    CHECK_EQ(rill__fs_committable(&o, p, 0, INT64_MAX, 0, &err), 1); /* end of input */
    CHECK_EQ(rill__fs_committable(&o, "dt=x/hm=y", 0, t, 0, &err), RILL_EPARSE);
    /* process time: now > first written + delay */
    o = opts_of(NULL, NULL, RILL_FS_TRIGGER_PROCESS_TIME, 1000);
    CHECK_EQ(rill__fs_committable(&o, "dt=x", 5000, INT64_MIN, 6000, &err), 0);
    CHECK_EQ(rill__fs_committable(&o, "dt=x", 5000, INT64_MIN, 6001, &err), 1);
    CHECK_EQ(rill__fs_committable(&o, "dt=x", 5000, INT64_MAX, 0, &err), 1);
}

static int parse(const char *const *options, int n_keys, rill__err *err)
{
    static const char *const keys[] = {"dt", "hm"};
    char *dir = NULL;
    rill__fmt fmt;
    rill__fs_opts o;
    memset(err, 0, sizeof *err);
    int rc = rill__fs_parse_options(options, keys, n_keys, &dir, &fmt, &o, err);
    if (rc == 0) {
        rill__fs_opts_free(&o);
        free(dir);
    }
    return rc;
}

TEST(fs_options_refused_by_name)
{
    rill__err err;
    static const struct {
        const char *k, *v, *msg;
    } bad[] = {
        {"sink.rolling-policy.file-size", "big", "'sink.rolling-policy.file-size'"},
        {"sink.rolling-policy.rollover-interval", "0 s", "'sink.rolling-policy.rollover-interval'"},
        {"sink.rolling-policy.check-interval", "soon", "'sink.rolling-policy.check-interval'"},
        {"sink.partition-commit.delay", "1 fortnight", "'sink.partition-commit.delay'"},
        {"sink.partition-commit.trigger", "event-time", "'sink.partition-commit.trigger'"},
        {"sink.partition-commit.policy.kind", "metastore", "'metastore' is not available"},
        {"sink.partition-commit.policy.kind", "success-file,custom", "'custom'"},
        {"sink.partition-commit.watermark-time-zone", "Asia/Shanghai", "time zone"},
        {"partition.time-extractor.kind", "custom", "'partition.time-extractor.kind'"},
        {"partition.time-extractor.timestamp-pattern", "$day", "names no partition key"},
        {"partition.time-extractor.timestamp-formatter", "yyyy-MM-dd EEE", "letter 'E'"},
        {"csv.field-delimiter", "ab", "'csv.field-delimiter'"},
        {"auto-compaction", "true", "option 'auto-compaction' is not supported"},
        {"sink.partition-commit.success-file.name", "a/b", "success-file.name"},
        {"format", "parquet", "'parquet'"},
        {"path", "hdfs://nn/x", "only local paths"},
        {"path", "file://relative/x", "file:// URI"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *kv[] = {"path", "/tmp/x", "format", "csv", bad[i].k, bad[i].v, NULL};
        CHECK_EQ(parse(kv, 2, &err), RILL_ECONFIG);
        CHECK_CONTAINS(err.msg, bad[i].msg);
    }
    const char *nopath[] = {"format", "csv", NULL};
    CHECK_EQ(parse(nopath, 2, &err), RILL_ECONFIG);
    CHECK_CONTAINS(err.msg, "'path'");
    const char *unpart[] = {
        "path", "/x", "format", "csv", "sink.partition-commit.policy.kind", "success-file", NULL};
    CHECK_EQ(parse(unpart, 0, &err), RILL_ECONFIG);
    CHECK_CONTAINS(err.msg, "PARTITIONED BY");
    /* q10's options are all taken */
    const char *q10[] = {"connector",
                         "filesystem",
                         "path",
                         "file:///some/dir/",
                         "format",
                         "csv",
                         "sink.partition-commit.trigger",
                         "partition-time",
                         "sink.partition-commit.delay",
                         "1 min",
                         "sink.partition-commit.policy.kind",
                         "success-file",
                         "partition.time-extractor.timestamp-pattern",
                         "$dt $hm:00",
                         "sink.rolling-policy.rollover-interval",
                         "1min",
                         "sink.rolling-policy.check-interval",
                         "1min",
                         NULL};
    static const char *const keys[] = {"dt", "hm"};
    char *dir = NULL;
    rill__fmt fmt;
    rill__fs_opts o;
    CHECK_RC(rill__fs_parse_options(q10, keys, 2, &dir, &fmt, &o, &err));
    CHECK_STR(dir, "/some/dir");
    CHECK(o.success_file && o.trigger == RILL_FS_TRIGGER_PARTITION_TIME);
    CHECK_EQ(o.delay_ms, 60000);
    CHECK_EQ(o.roll_interval_ms, 60000);
    CHECK_EQ(o.roll_inactive_ms, 30 * 60000); /* Flink's default */
    CHECK_EQ(o.roll_size, (uint64_t)128 << 20);
    CHECK_STR(o.success_name, "_SUCCESS");
    rill__fs_opts_free(&o);
    free(dir);
}

/* ---- the sink, by hand ---------------------------------------------------------------------- */

#define FS_SPEC "id INT64 NOT NULL, dt STRING, v STRING, hm STRING"

static void *fs_cfg(const char *dir, const char *extra_k, const char *extra_v)
{
    static const char *const keys[] = {"dt", "hm"};
    const char *kv[] = {"path",
                        dir,
                        "format",
                        "csv",
                        "sink.partition-commit.trigger",
                        "partition-time",
                        "sink.partition-commit.delay",
                        "1 min",
                        "sink.partition-commit.policy.kind",
                        "success-file",
                        "partition.time-extractor.timestamp-pattern",
                        "$dt $hm:00",
                        extra_k,
                        extra_v,
                        NULL};
    rill__err err = {0};
    void *cfg = rill__fs_sink_cfg(kv, keys, 2, &err);
    if (!cfg)
        rill_test_fail(__FILE__, __LINE__, "cfg: %s", err.msg);
    return cfg;
}

static rill__sink *fs_open(void *cfg, const rill_schema *schema, int subtask, int par,
                           rill__err *err)
{
    memset(err, 0, sizeof *err);
    rill__conn_init init = {
        .uid = "fs-1", .subtask = subtask, .parallelism = par, .batch_size = 100, .err = err};
    rill__sink *s = NULL;
    CHECK_RC(OPS->validate(cfg, schema, err));
    if (OPS->create(cfg, schema, &init, &s))
        rill_test_fail(__FILE__, __LINE__, "create: %s", err->msg);
    return s;
}

/* One row: id, dt, v, hm (dt or hm NULL when given NULL). */
static void put(rill__sink *s, const rill_schema *schema, int64_t id, const char *dt,
                const char *hm)
{
    rill_batch *b = rill__batch_new(schema, 1);
    rill_row r = rill__batch_append(b);
    char v[32];
    snprintf(v, sizeof v, "v%lld", (long long)id);
    rill_row_set_i64(&r, 0, id);
    if (dt)
        CHECK_RC(rill_row_set_str(&r, 1, dt, strlen(dt)));
    else
        rill_row_set_null(&r, 1);
    CHECK_RC(rill_row_set_str(&r, 2, v, strlen(v)));
    if (hm)
        CHECK_RC(rill_row_set_str(&r, 3, hm, strlen(hm)));
    else
        rill_row_set_null(&r, 3);
    CHECK_RC(OPS->write(s, b));
    rill__batch_unref(b);
}

static bool exists(const char *dir, const char *rel)
{
    char *p = rill__xasprintf("%s/%s", dir, rel);
    struct stat st;
    bool r = stat(p, &st) == 0;
    free(p);
    return r;
}

/* The committed rows of partition rel (its part files' lines, sorted, joined by ' '). */
static char *rows_of(const char *dir, const char *rel)
{
    char *path = rill__xasprintf("%s/%s", dir, rel);
    DIR *d = opendir(path);
    rill__buf out = {0};
    char *lines[64];
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "part-", 5))
            continue;
        char *f = rill__xasprintf("%s/%s", path, de->d_name);
        char *text;
        size_t len;
        CHECK_RC(rill__read_file(f, 1 << 20, &text, &len));
        for (char *line = strtok(text, "\n"); line && n < 64; line = strtok(NULL, "\n"))
            lines[n++] = rill__xstrdup(line);
        free(text);
        free(f);
    }
    if (d)
        closedir(d);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(lines[j], lines[i]) < 0) {
                char *t = lines[i];
                lines[i] = lines[j];
                lines[j] = t;
            }
    for (int i = 0; i < n; i++) {
        rill__buf_printf(&out, "%s%s", i ? " " : "", lines[i]);
        free(lines[i]);
    }
    char *r = rill__xstrdup(rill__buf_cstr(&out));
    rill__buf_free(&out);
    free(path);
    return r;
}

#define CHECK_ROWS(dir, rel, want)                                                                 \
    do {                                                                                           \
        char *r_ = rows_of(dir, rel);                                                              \
        CHECK_STR(r_, want);                                                                       \
        free(r_);                                                                                  \
    } while (0)

#define P1200 "dt=2024-05-01/hm=12%3A00"
#define P1201 "dt=2024-05-01/hm=12%3A01"
#define T1200 INT64_C(1714564800000)

TEST(fs_sink_partitions_and_commit_by_watermark)
{
    rill_schema *schema = NULL;
    CHECK_RC(rill_schema_parse(FS_SPEC, &schema));
    char *dir = rill__xasprintf("%s/fs-wm", rill_test_tmpdir());
    void *cfg = fs_cfg(dir, NULL, NULL);
    rill__err err;
    rill__sink *s = fs_open(cfg, schema, 0, 1, &err);
    put(s, schema, 1, "2024-05-01", "12:00");
    put(s, schema, 2, "2024-05-01", "12:01");
    put(s, schema, 3, "2024-05-01", "12:00");
    CHECK(exists(dir, P1200 "/.part-0-0.inprogress"));
    /* the watermark passes 12:00 + 1 min, but the rows are in no completed checkpoint yet */
    CHECK_RC(OPS->watermark(s, T1200 + 60001));
    rill__buf st = {0};
    CHECK_RC(OPS->pre_commit(s, 1, &st));
    CHECK(!exists(dir, P1200 "/_SUCCESS"));
    CHECK_ROWS(dir, P1200, "");
    /* a late row for 12:00 after the barrier: pending in the open epoch */
    put(s, schema, 5, "2024-05-01", "12:00");
    CHECK_RC(OPS->watermark(s, T1200 + 120001)); /* after barrier 1: not its watermark */
    CHECK_RC(OPS->commit(s, 1));
    /* keys are not in the rows */
    CHECK_ROWS(dir, P1200, "1,v1 3,v3");
    CHECK_ROWS(dir, P1201, "2,v2");
    CHECK(exists(dir, P1200 "/_SUCCESS"));  /* 12:00 + 1 min < watermark at barrier 1 */
    CHECK(!exists(dir, P1201 "/_SUCCESS")); /* 12:01 + 1 min = 12:02:00.001 > it */
    /* NULL and '' go to the default partition, whose time does not parse: its commit fails
     * naming it (as Flink's extractor fails) */
    put(s, schema, 4, NULL, "12:00");
    put(s, schema, 6, "", "12:00");
    st.len = 0;
    CHECK_RC(OPS->pre_commit(s, 2, &st));
    CHECK_EQ(OPS->commit(s, 2), RILL_EPARSE);
    CHECK_CONTAINS(err.msg, "dt=__DEFAULT_PARTITION__/hm=12%3A00");
    CHECK_ROWS(dir, "dt=__DEFAULT_PARTITION__/hm=12%3A00", "4,v4 6,v6");
    CHECK_ROWS(dir, P1200, "1,v1 3,v3 5,v5");
    OPS->destroy(s);
    rill__buf_free(&st);
    OPS->cfg_free(cfg);
    free(dir);
    rill_schema_free(schema);
}

TEST(fs_sink_commit_waits_for_the_checkpoint_and_the_end_commits_all)
{
    rill_schema *schema = NULL;
    CHECK_RC(rill_schema_parse(FS_SPEC, &schema));
    char *dir = rill__xasprintf("%s/fs-end", rill_test_tmpdir());
    void *cfg = fs_cfg(dir, NULL, NULL);
    rill__err err;
    rill__sink *s = fs_open(cfg, schema, 0, 1, &err);
    put(s, schema, 1, "2024-05-01", "12:00");
    CHECK_RC(OPS->watermark(s, T1200));
    rill__buf st = {0};
    CHECK_RC(OPS->pre_commit(s, 1, &st));
    CHECK_RC(OPS->commit(s, 1));
    CHECK_ROWS(dir, P1200, "1,v1");
    CHECK(!exists(dir, P1200 "/_SUCCESS")); /* the watermark has not passed it */
    put(s, schema, 2, "2024-05-01", "12:01");
    CHECK_RC(OPS->watermark(s, T1200 + 60001));
    /* checkpoint 2's barrier passes with the watermark beyond 12:00 + 1 min */
    st.len = 0;
    CHECK_RC(OPS->pre_commit(s, 2, &st));
    CHECK(!exists(dir, P1200 "/_SUCCESS")); /* not before checkpoint 2 completes */
    CHECK_RC(OPS->commit(s, 2));
    CHECK(exists(dir, P1200 "/_SUCCESS"));
    CHECK(!exists(dir, P1201 "/_SUCCESS"));
    /* the end of input commits every partition */
    put(s, schema, 3, "2024-05-01", "12:05");
    CHECK_RC(OPS->finish(s));
    CHECK(exists(dir, P1201 "/_SUCCESS"));
    CHECK(exists(dir, "dt=2024-05-01/hm=12%3A05/_SUCCESS"));
    CHECK_ROWS(dir, "dt=2024-05-01/hm=12%3A05", "3,v3");
    OPS->destroy(s);
    rill__buf_free(&st);
    OPS->cfg_free(cfg);
    free(dir);
    rill_schema_free(schema);
}

TEST(fs_sink_restore_keeps_pending_partitions)
{
    rill_schema *schema = NULL;
    CHECK_RC(rill_schema_parse(FS_SPEC, &schema));
    char *dir = rill__xasprintf("%s/fs-restore", rill_test_tmpdir());
    void *cfg = fs_cfg(dir, NULL, NULL);
    rill__err err;
    /* two subtasks; checkpoint 1 completes, 0 crashes before its commit call */
    rill__sink *a = fs_open(cfg, schema, 0, 2, &err);
    rill__sink *b = fs_open(cfg, schema, 1, 2, &err);
    put(a, schema, 1, "2024-05-01", "12:00");
    put(b, schema, 2, "2024-05-01", "12:01");
    rill__buf sa = {0}, sb = {0};
    CHECK_RC(OPS->pre_commit(a, 1, &sa));
    CHECK_RC(OPS->pre_commit(b, 1, &sb));
    put(a, schema, 3, "2024-05-01", "12:00"); /* after the checkpoint: lost, replayed */
    OPS->destroy(a);
    OPS->destroy(b);
    /* restore at parallelism 1: both old subtasks' files commit, their partitions wait */
    rill__sink *c = fs_open(cfg, schema, 0, 1, &err);
    CHECK_RC(OPS->restore(c, 0, 2, sa.data, sa.len));
    CHECK_RC(OPS->restore(c, 1, 2, sb.data, sb.len));
    CHECK_ROWS(dir, P1200, "1,v1");
    CHECK_ROWS(dir, P1201, "2,v2");
    CHECK(!exists(dir, P1200 "/.part-0-1.inprogress"));
    CHECK(!exists(dir, P1200 "/_SUCCESS"));
    put(c, schema, 3, "2024-05-01", "12:00");
    CHECK_RC(OPS->watermark(c, T1200 + 120001));
    rill__buf sc = {0};
    CHECK_RC(OPS->pre_commit(c, 2, &sc));
    CHECK_RC(OPS->commit(c, 2));
    CHECK_ROWS(dir, P1200, "1,v1 3,v3");
    CHECK(exists(dir, P1200 "/_SUCCESS"));
    CHECK(exists(dir, P1201 "/_SUCCESS")); /* the restored partition too */
    OPS->destroy(c);
    rill__buf_free(&sa);
    rill__buf_free(&sb);
    rill__buf_free(&sc);
    OPS->cfg_free(cfg);
    free(dir);
    rill_schema_free(schema);
}

TEST(fs_sink_rolls_by_size)
{
    rill_schema *schema = NULL;
    CHECK_RC(rill_schema_parse(FS_SPEC, &schema));
    char *dir = rill__xasprintf("%s/fs-roll", rill_test_tmpdir());
    void *cfg = fs_cfg(dir, "sink.rolling-policy.file-size", "10b");
    rill__err err;
    rill__sink *s = fs_open(cfg, schema, 0, 1, &err);
    for (int i = 0; i < 5; i++)
        put(s, schema, 100 + i, "2024-05-01", "12:00"); /* "10x,v10x\n": 9 bytes each */
    rill__buf st = {0};
    CHECK_RC(OPS->pre_commit(s, 1, &st));
    CHECK_RC(OPS->commit(s, 1));
    CHECK_ROWS(dir, P1200, "100,v100 101,v101 102,v102 103,v103 104,v104");
    CHECK(exists(dir, P1200 "/part-0-0") && exists(dir, P1200 "/part-0-1") &&
          exists(dir, P1200 "/part-0-2") && !exists(dir, P1200 "/part-0-3"));
    OPS->destroy(s);
    rill__buf_free(&st);
    OPS->cfg_free(cfg);
    free(dir);
    rill_schema_free(schema);
}

/* A version 2 state (written before partitions) restores: its files commit in the directory. */
TEST(fs_sink_restores_a_version_2_state)
{
    rill_schema *schema = NULL;
    CHECK_RC(rill_schema_parse("id INT64 NOT NULL, name STRING", &schema));
    char *dir = rill__xasprintf("%s/fs-v2", rill_test_tmpdir());
    CHECK_RC(rill__mkdirs(dir, 0755));
    char *f = rill__xasprintf("%s/.part-0-4.inprogress", dir);
    CHECK_RC(rill__write_file_atomic(f, "id,name\n1,a\n", 12));
    free(f);
    f = rill__xasprintf("%s/.part-0-5.inprogress", dir); /* after the checkpoint: dropped */
    CHECK_RC(rill__write_file_atomic(f, "id,name\n2,b\n", 12));
    free(f);
    rill__buf st = {0};
    rill__buf_put_u32(&st, UINT32_C(0x53464f45));
    rill__buf_put_u32(&st, 2);
    rill__buf_put_u32(&st, 0); /* subtask */
    rill__buf_put_u32(&st, 1); /* one pending file */
    rill__buf_put_u64(&st, 5); /* next_seq */
    rill__buf_put_u64(&st, 7); /* checkpoint 7 */
    rill__buf_put_u64(&st, 4); /* seq 4 */
    rill__buf_put_u32(&st, 0); /* no adopted index */
    rill__buf_put_u32(&st, rill__crc32c(0, st.data, st.len));
    void *cfg = rill__exactly_once_file_sink_cfg(dir, NULL);
    rill__err err;
    rill__sink *s = fs_open(cfg, schema, 0, 1, &err);
    CHECK_RC(OPS->restore(s, 0, 1, st.data, st.len));
    CHECK(exists(dir, "part-0-4"));
    CHECK(!exists(dir, ".part-0-5.inprogress"));
    /* a damaged version 3 state is refused */
    rill__buf st3 = {0};
    CHECK_RC(OPS->pre_commit(s, 8, &st3));
    CHECK(st3.len > 8 && st3.data[4] == 3);
    st3.data[st3.len - 9] ^= 1;
    rill__sink *s2 = fs_open(cfg, schema, 0, 1, &err);
    CHECK_EQ(OPS->restore(s2, 0, 1, st3.data, st3.len), RILL_ECORRUPT);
    CHECK_CONTAINS(err.msg, "corrupt");
    OPS->destroy(s2);
    OPS->destroy(s);
    rill__buf_free(&st);
    rill__buf_free(&st3);
    OPS->cfg_free(cfg);
    free(dir);
    rill_schema_free(schema);
}

/* Partition keys of other types: their values' text, as the table's CSV writes them. */
TEST(fs_sink_non_string_keys)
{
    rill_schema *schema = NULL;
    CHECK_RC(rill_schema_parse("id INT64 NOT NULL, d DATE, n INT, b BOOLEAN", &schema));
    schema->sql_text = true;
    char *dir = rill__xasprintf("%s/fs-types", rill_test_tmpdir());
    static const char *const keys[] = {"d", "n", "b"};
    const char *kv[] = {"path", dir, "format", "csv", NULL};
    rill__err err = {0};
    void *cfg = rill__fs_sink_cfg(kv, keys, 3, &err);
    CHECK(cfg != NULL);
    rill__sink *s = fs_open(cfg, schema, 0, 1, &err);
    rill_batch *b = rill__batch_new(schema, 2);
    rill_row r = rill__batch_append(b);
    rill_row_set_i64(&r, 0, 7);
    rill_row_set_i32(&r, 1, 19844); /* 2024-05-01 */
    rill_row_set_i32(&r, 2, -3);
    rill_row_set_bool(&r, 3, true);
    r = rill__batch_append(b);
    rill_row_set_i64(&r, 0, 8);
    rill_row_set_null(&r, 1);
    rill_row_set_i32(&r, 2, 0);
    rill_row_set_bool(&r, 3, false);
    CHECK_RC(OPS->write(s, b));
    rill__batch_unref(b);
    CHECK_RC(OPS->finish(s));
    CHECK_ROWS(dir, "d=2024-05-01/n=-3/b=true", "7");
    CHECK_ROWS(dir, "d=__DEFAULT_PARTITION__/n=0/b=false", "8");
    OPS->destroy(s);
    OPS->cfg_free(cfg);
    free(dir);
    rill_schema_free(schema);
    /* a key of a type rill does not partition by, and a key that is no column */
    CHECK_RC(rill_schema_parse("id INT64 NOT NULL, x DOUBLE", &schema));
    static const char *const kx[] = {"x"}, *const ky[] = {"y"};
    const char *kv2[] = {"path", "/tmp/none", "format", "csv", NULL};
    cfg = rill__fs_sink_cfg(kv2, kx, 1, &err);
    CHECK_EQ(OPS->validate(cfg, schema, &err), RILL_ECONFIG);
    CHECK_CONTAINS(err.msg, "'x'");
    OPS->cfg_free(cfg);
    cfg = rill__fs_sink_cfg(kv2, ky, 1, &err);
    CHECK_EQ(OPS->validate(cfg, schema, &err), RILL_ECONFIG);
    CHECK_CONTAINS(err.msg, "'y' is not a column");
    OPS->cfg_free(cfg);
    rill_schema_free(schema);
}

/* The rollover interval rolls a file by its age (checked when rows come); JSON files too. */
TEST(fs_sink_rolls_by_time_json)
{
    rill_schema *schema = NULL;
    CHECK_RC(rill_schema_parse(FS_SPEC, &schema));
    char *dir = rill__xasprintf("%s/fs-roll-time", rill_test_tmpdir());
    static const char *const keys[] = {"dt", "hm"};
    const char *kv[] = {"path",
                        dir,
                        "format",
                        "json",
                        "sink.rolling-policy.rollover-interval",
                        "5 ms",
                        "sink.rolling-policy.check-interval",
                        "1 ms",
                        NULL};
    rill__err err = {0};
    void *cfg = rill__fs_sink_cfg(kv, keys, 2, &err);
    CHECK(cfg != NULL);
    rill__sink *s = fs_open(cfg, schema, 0, 1, &err);
    put(s, schema, 1, "2024-05-01", "12:00");
    usleep(20000);
    put(s, schema, 2, "2024-05-01", "12:00"); /* the file is 20 ms old: it rolls after this row */
    put(s, schema, 3, "2024-05-01", "12:00");
    rill__buf st = {0};
    CHECK_RC(OPS->pre_commit(s, 1, &st));
    CHECK_RC(OPS->commit(s, 1));
    char *a = NULL, *b = NULL;
    size_t len;
    char *pa = rill__xasprintf("%s/%s/part-0-0", dir, P1200);
    char *pb = rill__xasprintf("%s/%s/part-0-1", dir, P1200);
    CHECK_RC(rill__read_file(pa, 1 << 20, &a, &len));
    CHECK_RC(rill__read_file(pb, 1 << 20, &b, &len));
    CHECK_STR(a, "{\"id\":1,\"v\":\"v1\"}\n{\"id\":2,\"v\":\"v2\"}\n");
    CHECK_STR(b, "{\"id\":3,\"v\":\"v3\"}\n");
    free(a);
    free(b);
    free(pa);
    free(pb);
    OPS->destroy(s);
    rill__buf_free(&st);
    OPS->cfg_free(cfg);
    free(dir);
    rill_schema_free(schema);
}
