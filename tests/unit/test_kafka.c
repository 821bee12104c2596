/* test_kafka.c - the Kafka source and sink against librdkafka's mock cluster, in-process (its
 * brokers listen on loopback; the connectors reach them over TCP): options, partition
 * assignment and offsets across rescaling, startup and bounded modes, metadata columns, bad
 * records, group commits when checkpoints complete, and the sink read back. The mock cannot
 * look up offsets by time: the timestamp modes are not tested here. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "connectors/connectors.h"
#include "connectors/kafka_int.h"
#include "test.h"

typedef struct mock {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
    const char *bootstrap;
} mock;

static void mock_start(mock *m, const char *topic, int parts)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "2", errstr, sizeof errstr);
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    CHECK(m->rk != NULL);
    m->mc = rd_kafka_mock_cluster_new(m->rk, 3);
    CHECK(m->mc != NULL);
    m->bootstrap = rd_kafka_mock_cluster_bootstraps(m->mc);
    CHECK_EQ(rd_kafka_mock_topic_create(m->mc, topic, parts, 3), 0);
}

static void mock_stop(mock *m)
{
    rd_kafka_mock_cluster_destroy(m->mc);
    rd_kafka_destroy(m->rk);
}

static rd_kafka_t *producer(const mock *m)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    CHECK_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", m->bootstrap, errstr, sizeof errstr), 0);
    rd_kafka_conf_set(conf, "log_level", "2", errstr, sizeof errstr);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    CHECK(p != NULL);
    return p;
}

/* Message value v (key k, may be NULL; headers h, may be NULL, taken) to partition part with
 * timestamp ts. */
static void send_hdrs(rd_kafka_t *p, const char *topic, int32_t part, const char *k,
                      const char *v, int64_t ts, rd_kafka_headers_t *h)
{
    rd_kafka_vu_t vu[7] = {
        {.vtype = RD_KAFKA_VTYPE_TOPIC, .u.cstr = topic},
        {.vtype = RD_KAFKA_VTYPE_PARTITION, .u.i32 = part},
        {.vtype = RD_KAFKA_VTYPE_MSGFLAGS, .u.i = RD_KAFKA_MSG_F_COPY},
        {.vtype = RD_KAFKA_VTYPE_VALUE, .u.mem = {(void *)v, v ? strlen(v) : 0}},
        {.vtype = RD_KAFKA_VTYPE_KEY, .u.mem = {(void *)k, k ? strlen(k) : 0}},
        {.vtype = RD_KAFKA_VTYPE_TIMESTAMP, .u.i64 = ts},
        {.vtype = RD_KAFKA_VTYPE_HEADERS, .u.headers = h},
    };
    rd_kafka_error_t *e = rd_kafka_produceva(p, vu, h ? 7 : 6);
    if (e)
        rill_test_fail(__FILE__, __LINE__, "produce: %s", rd_kafka_error_string(e));
}

static void send_msg(rd_kafka_t *p, const char *topic, int32_t part, const char *k,
                     const char *v, int64_t ts)
{
    send_hdrs(p, topic, part, k, v, ts, NULL);
}

/* Rows "i,ts" for i in [0, n): row i to partition i mod parts, timestamp 1000 + i. */
static void send_rows(const mock *m, const char *topic, int parts, int n)
{
    rd_kafka_t *p = producer(m);
    for (int i = 0; i < n; i++) {
        char v[64];
        snprintf(v, sizeof v, "%d,%d", i, 1000 + i);
        send_msg(p, topic, i % parts, NULL, v, 1000 + i);
    }
    CHECK_EQ(rd_kafka_flush(p, 10000), 0);
    rd_kafka_destroy(p);
}

static rill__conn_init conn_init(rill__err *err, int subtask, int par)
{
    memset(err, 0, sizeof *err);
    return (rill__conn_init){.uid = "k", .subtask = subtask, .parallelism = par,
                             .batch_size = 16, .bad_policy = RILL_BAD_FAIL, .err = err};
}

static rill_schema *schema_of(const char *spec)
{
    rill_schema *s = NULL;
    CHECK_RC(rill_schema_parse(spec, &s));
    return s;
}

/* A config from options (the bootstrap added), bound to schema. */
static void *cfg_of(const mock *m, const rill_schema *schema, const char *const *opts)
{
    const char *all[40];
    int n = 0;
    all[n++] = "properties.bootstrap.servers";
    all[n++] = m->bootstrap;
    for (int i = 0; opts[i]; i++)
        all[n++] = opts[i];
    all[n] = NULL;
    rill__err err = {0};
    void *cfg = rill__kafka_source_cfg(all, &err);
    if (!cfg)
        rill_test_fail(__FILE__, __LINE__, "options: %s", err.msg);
    if (rill__kafka_source_ops.validate(cfg, schema, &err) != 0)
        rill_test_fail(__FILE__, __LINE__, "validate: %s", err.msg);
    return cfg;
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {ns / 1000000000, ns % 1000000000};
    nanosleep(&ts, NULL);
}

/* Polls src until it has emitted at least `want` rows (-1: until RILL_DONE), checking that each
 * batch holds one partition's rows in offset order (columns id, ts, part, off); marks ids in
 * seen (failing on a second time). Returns whether it ended. */
static bool read_rows(rill__source *src, rill_schema *schema, int want, bool *seen, int total,
                      const char *what)
{
    rill_batch *b = rill__batch_new(schema, 16);
    int got = 0;
    bool ended = false;
    for (int polls = 0; !ended && (want < 0 || got < want); polls++) {
        CHECK(polls < 20000); /* about 20 s at most */
        rill__batch_clear(b);
        int64_t w = 0;
        int rc = src->ops->poll(src, b, &w);
        if (rc < 0)
            rill_test_fail(__FILE__, __LINE__, "%s: poll: %s", what, rill_strerror(rc));
        ended = rc == RILL_DONE;
        int64_t last_off = -1, part = -1;
        for (uint32_t i = 0; i < b->n_rows; i++) {
            rill_row r = rill__batch_row(b, i);
            int64_t id = rill_row_i64(&r, 0);
            CHECK(id >= 0 && id < total);
            if (seen[id])
                rill_test_fail(__FILE__, __LINE__, "%s: row %lld emitted twice", what,
                               (long long)id);
            seen[id] = true;
            CHECK(b->has_ts);
            CHECK_EQ(b->ts[i], rill_row_i64(&r, 1)); /* the message's timestamp */
            if (part < 0)
                part = rill_row_i64(&r, 2);
            CHECK_EQ(rill_row_i64(&r, 2), part); /* one partition per batch */
            CHECK(rill_row_i64(&r, 3) > last_off);
            last_off = rill_row_i64(&r, 3);
            got++;
        }
        if (rc == RILL_AGAIN)
            sleep_ns(w > 0 && w < 2000000 ? w : 2000000);
    }
    rill__batch_unref(b);
    return ended;
}

static const char *const ROW_SCHEMA = "id INT64 NOT NULL, ts TIMESTAMP NOT NULL, part INT64, "
                                      "off INT64";
static const char *const META[] = {"metadata.part", "partition", "metadata.off", "offset", NULL};

/* Chains of three parallelisms (a first run, two restores), progress at random: every row of
 * a bounded topic once, each batch one partition's rows. */
TEST(kafka_source_rescale_chains_read_each_row_once)
{
    mock m;
    mock_start(&m, "in", 5);
    enum { TOTAL = 700 };
    send_rows(&m, "in", 5, TOTAL);
    rill_schema *schema = schema_of(ROW_SCHEMA);
    const char *opts[] = {"topic", "in", "scan.startup.mode", "earliest-offset",
                          "scan.bounded.mode", "latest-offset", META[0], META[1], META[2],
                          META[3], NULL};
    void *cfg = cfg_of(&m, schema, opts);
    static const int chains[][3] = {{2, 1, 1}, {4, 1, 1}, {3, 1, 1}, {4, 2, 2}, {1, 3, 2},
                                    {2, 4, 3}, {1, 1, 1}, {4, 4, 4}, {3, 2, 4}, {1, 4, 1}};
    uint64_t rnd = 99;
    for (size_t c = 0; c < sizeof chains / sizeof *chains; c++) {
        bool seen[TOTAL] = {0};
        rill__buf pos[4] = {{0}};
        bool fin[4] = {0};
        int n_pos = 0, old_par = 0;
        char what[64];
        for (int ph = 0; ph < 3; ph++) {
            int par = chains[c][ph];
            rill__buf out[4] = {{0}};
            bool ended[4] = {0};
            rill__source_pos sp[4];
            for (int i = 0; i < n_pos; i++)
                sp[i] = (rill__source_pos){i, old_par, fin[i], fin[i] ? NULL : pos[i].data,
                                           fin[i] ? 0 : pos[i].len};
            for (int st = 0; st < par; st++) {
                snprintf(what, sizeof what, "chain %d->%d->%d, run %d, subtask %d",
                         chains[c][0], chains[c][1], chains[c][2], ph + 1, st);
                rill__err err;
                rill__conn_init init = conn_init(&err, st, par);
                rill__source *src;
                CHECK_RC(rill__kafka_source_ops.create(cfg, schema, &init, &src));
                if (n_pos)
                    CHECK_RC(rill__kafka_source_ops.seek_rescaled(src, sp, n_pos));
                rnd = rnd * 6364136223846793005u + 1442695040888963407u;
                int want = ph == 2 ? -1 : (int)(rnd >> 33) % 120;
                ended[st] = read_rows(src, schema, want, seen, TOTAL, what);
                if (err.code)
                    rill_test_fail(__FILE__, __LINE__, "%s: %s", what, err.msg);
                CHECK_RC(rill__kafka_source_ops.position(src, &out[st]));
                rill__kafka_source_ops.destroy(src);
            }
            for (int i = 0; i < n_pos; i++)
                rill__buf_free(&pos[i]);
            for (int st = 0; st < par; st++) {
                pos[st] = out[st];
                fin[st] = ended[st]; /* handed over as the runtime does: no data */
            }
            n_pos = par;
            old_par = par;
        }
        for (int i = 0; i < TOTAL; i++)
            if (!seen[i]) {
                rill_test_fail(__FILE__, __LINE__, "chain %d->%d->%d: row %d never read",
                               chains[c][0], chains[c][1], chains[c][2], i);
                break;
            }
        for (int i = 0; i < n_pos; i++)
            rill__buf_free(&pos[i]);
    }
    rill__kafka_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
    mock_stop(&m);
}

/* Reads every row a config gives (one reader), into seen; returns the count. */
static int read_all(void *cfg, rill_schema *schema, bool *seen, int total)
{
    rill__err err;
    rill__conn_init init = conn_init(&err, 0, 1);
    rill__source *src;
    CHECK_RC(rill__kafka_source_ops.create(cfg, schema, &init, &src));
    memset(seen, 0, (size_t)total * sizeof *seen);
    read_rows(src, schema, -1, seen, total, "read_all");
    rill__kafka_source_ops.destroy(src);
    int n = 0;
    for (int i = 0; i < total; i++)
        n += seen[i];
    return n;
}

/* Startup and bounded modes: earliest, latest, a timestamp, explicit offsets, group offsets
 * (committed when a checkpoint completes, not before). */
TEST(kafka_source_startup_and_bounded_modes)
{
    mock m;
    mock_start(&m, "modes", 2);
    enum { TOTAL = 100 };
    send_rows(&m, "modes", 2, TOTAL); /* even ids in partition 0, odd in 1; offset = id / 2 */
    rill_schema *schema = schema_of(ROW_SCHEMA);
    bool seen[TOTAL];
    const char *latest[] = {"topic", "modes", "scan.startup.mode", "latest-offset",
                            "scan.bounded.mode", "latest-offset", META[0], META[1], META[2],
                            META[3], NULL};
    void *cfg = cfg_of(&m, schema, latest);
    CHECK_EQ(read_all(cfg, schema, seen, TOTAL), 0);
    rill__kafka_source_ops.cfg_free(cfg);
    /* (the timestamp modes ask the brokers for offsets by time, which librdkafka's mock
     * cluster does not look up: it answers "none", so they are not tested here) */
    const char *given[] = {"topic", "modes", "scan.startup.mode", "specific-offsets",
                           "scan.startup.specific-offsets", "partition:0,offset:45;partition:1,"
                           "offset:10", "scan.bounded.mode", "specific-offsets",
                           "scan.bounded.specific-offsets", "partition:0,offset:48;partition:1,"
                           "offset:12", META[0], META[1], META[2], META[3], NULL};
    cfg = cfg_of(&m, schema, given);
    CHECK_EQ(read_all(cfg, schema, seen, TOTAL), 5); /* ids 90, 92, 94 and 21, 23 */
    CHECK(seen[90] && seen[94] && seen[21] && seen[23] && !seen[96] && !seen[25]);
    rill__kafka_source_ops.cfg_free(cfg);

    /* group offsets: a reader takes two checkpoints' positions, only the first completes */
    const char *group[] = {"topic", "modes", "properties.group.id", "g1", "scan.startup.mode",
                           "group-offsets", "scan.bounded.mode", "latest-offset", META[0],
                           META[1], META[2], META[3], NULL};
    cfg = cfg_of(&m, schema, group);
    rill__err err;
    rill__conn_init init = conn_init(&err, 0, 1);
    rill__source *src;
    CHECK_RC(rill__kafka_source_ops.create(cfg, schema, &init, &src));
    memset(seen, 0, sizeof seen);
    read_rows(src, schema, 30, seen, TOTAL, "group, first run"); /* no offset yet: earliest */
    rill__buf pos = {0};
    CHECK_RC(rill__kafka_source_ops.position(src, &pos));
    rill__kafka_source_ops.positioned(src, 1);
    int first = 0;
    bool at1[TOTAL];
    for (int i = 0; i < TOTAL; i++) {
        first += seen[i];
        at1[i] = seen[i];
    }
    read_rows(src, schema, 20, seen, TOTAL, "group, after checkpoint 1");
    rill__buf_free(&pos);
    CHECK_RC(rill__kafka_source_ops.position(src, &pos));
    rill__kafka_source_ops.positioned(src, 2);
    CHECK_RC(rill__kafka_source_ops.checkpoint_complete(src, 1));
    rill__kafka_source_ops.destroy(src); /* closes: the asynchronous commit goes out first */
    bool again[TOTAL];
    int n = read_all(cfg, schema, again, TOTAL);
    CHECK_EQ(n, TOTAL - first); /* exactly what checkpoint 1 had not read */
    for (int i = 0; i < TOTAL; i++) /* the rows after checkpoint 1 come again: 2 never completed */
        CHECK_EQ(again[i], !at1[i]);
    rill__buf_free(&pos);
    rill__kafka_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
    mock_stop(&m);
}

/* Metadata columns: topic, key, headers, one header, timestamp type; raw values. */
TEST(kafka_source_metadata_and_raw)
{
    mock m;
    mock_start(&m, "meta", 1);
    rd_kafka_t *p = producer(&m);
    rd_kafka_headers_t *h = rd_kafka_headers_new(2);
    rd_kafka_header_add(h, "trace", -1, "abc", -1);
    rd_kafka_header_add(h, "n\"q", -1, "1", -1);
    send_hdrs(p, "meta", 0, "k1", "x,\"y", 5000, h);
    send_msg(p, "meta", 0, NULL, "plain", 6000);
    send_msg(p, "meta", 0, "tomb", NULL, 7000); /* a tombstone: no row */
    CHECK_EQ(rd_kafka_flush(p, 10000), 0);
    rd_kafka_destroy(p);
    rill_schema *schema = schema_of("v STRING, t STRING, k STRING, hs STRING, tr STRING, "
                                    "tt STRING, ts TIMESTAMP");
    const char *opts[] = {"topic", "meta", "format", "raw", "scan.startup.mode",
                          "earliest-offset", "scan.bounded.mode", "latest-offset",
                          "metadata.t", "topic", "metadata.k", "key", "metadata.hs", "headers",
                          "metadata.tr", "header.trace", "metadata.tt", "timestamp-type",
                          "metadata.ts", "timestamp", NULL};
    void *cfg = cfg_of(&m, schema, opts);
    rill__err err;
    rill__conn_init init = conn_init(&err, 0, 1);
    rill__source *src;
    CHECK_RC(rill__kafka_source_ops.create(cfg, schema, &init, &src));
    rill_batch *b = rill__batch_new(schema, 16);
    rill__buf rows = {0};
    for (int polls = 0; polls < 5000; polls++) {
        int64_t w;
        int rc = src->ops->poll(src, b, &w);
        CHECK(rc >= 0);
        if (rc == RILL_DONE)
            break;
        if (rc == RILL_AGAIN)
            sleep_ns(1000000);
    }
    for (uint32_t i = 0; i < b->n_rows; i++) {
        rill_row r = rill__batch_row(b, i);
        rill__encode_csv_row(schema, &r, '|', &rows);
    }
    CHECK_STR(rill__buf_cstr(&rows),
              "\"x,\"\"y\"|meta|k1|\"{\"\"trace\"\":\"\"abc\"\",\"\"n\\\"\"q\"\":\"\"1\"\"}\"|"
              "abc|CreateTime|5000\n"
              "plain|meta||||CreateTime|6000\n");
    rill__buf_free(&rows);
    rill__batch_unref(b);
    rill__kafka_source_ops.destroy(src);
    rill__kafka_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
    mock_stop(&m);
}

/* A record that does not decode: the job fails naming topic, partition and offset; under
 * "skip" it is counted and written to the dead-letter file with where it was. */
TEST(kafka_source_bad_records)
{
    mock m;
    mock_start(&m, "bad", 1);
    rd_kafka_t *p = producer(&m);
    send_msg(p, "bad", 0, NULL, "1,1001", 1);
    send_msg(p, "bad", 0, NULL, "2,notatime", 2);
    send_msg(p, "bad", 0, NULL, "3,1003\n", 3); /* a line break at the end is no part of it */
    CHECK_EQ(rd_kafka_flush(p, 10000), 0);
    rd_kafka_destroy(p);
    rill_schema *schema = schema_of(ROW_SCHEMA);
    const char *opts[] = {"topic", "bad", "scan.startup.mode", "earliest-offset",
                          "scan.bounded.mode", "latest-offset", META[0], META[1], META[2],
                          META[3], NULL};
    void *cfg = cfg_of(&m, schema, opts);
    char *dl = rill__xasprintf("%s/dead.jsonl", rill_test_tmpdir());
    for (int skip = 0; skip < 2; skip++) {
        rill__err err;
        rill__conn_init init = conn_init(&err, 0, 1);
        if (skip) {
            init.bad_policy = RILL_BAD_SKIP;
            init.dead_letter_path = dl;
        }
        rill__source *src;
        CHECK_RC(rill__kafka_source_ops.create(cfg, schema, &init, &src));
        rill_batch *b = rill__batch_new(schema, 16);
        int rc = 0, rows = 0;
        for (int polls = 0; polls < 5000 && rc >= 0 && rc != RILL_DONE; polls++) {
            int64_t w;
            rc = src->ops->poll(src, b, &w);
            rows += (int)b->n_rows;
            rill__batch_clear(b);
            if (rc == RILL_AGAIN)
                sleep_ns(1000000);
        }
        if (!skip) {
            CHECK_EQ(rc, RILL_EPARSE);
            CHECK_CONTAINS(err.msg, "kafka source 'k' (subtask 1/1): topic bad partition 0 "
                                    "offset 1, value column 3: ");
            CHECK_CONTAINS(err.msg, "notatime");
        } else {
            CHECK_EQ(rc, RILL_DONE);
            CHECK_EQ(rows, 2);
            CHECK_EQ(src->ops->skipped(src), 1);
        }
        rill__batch_unref(b);
        rill__kafka_source_ops.destroy(src);
    }
    char *text = NULL;
    size_t len = 0;
    CHECK_RC(rill__read_file(dl, 1 << 20, &text, &len));
    CHECK_CONTAINS(text, "{\"source\":\"k\",\"topic\":\"bad\",\"partition\":0,\"offset\":1,"
                         "\"column\":3,\"error\":");
    CHECK_CONTAINS(text, "\"record\":\"2,notatime\"}\n");
    free(text);
    free(dl);
    rill__kafka_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
    mock_stop(&m);
}

/* Bad options fail when the graph is built, naming the option. */
TEST(kafka_options_refused_by_name)
{
    static const struct {
        const char *opts[9];
        const char *msg;
    } cases[] = {
        {{"topic", "t", NULL}, "no 'properties.bootstrap.servers'"},
        {{"url", "kafka://h:1/t", "topic-pattern", "x", NULL}, "either 'topic' or"},
        {{"url", "http://h:1/t", NULL}, "option 'url': expected kafka://"},
        {{"url", "kafka://h:1/t", "scan.startup.mode", "first", NULL},
         "option 'scan.startup.mode': 'first' is not a startup mode"},
        {{"url", "kafka://h:1/t", "scan.startup.mode", "timestamp", NULL},
         "needs 'scan.startup.timestamp-millis'"},
        {{"url", "kafka://h:1/t", "scan.startup.specific-offsets", "partition:x", NULL},
         "option 'scan.startup.specific-offsets'"},
        {{"url", "kafka://h:1/t", "properties.fetch.max.bytes", "lots", NULL},
         "property 'properties.fetch.max.bytes' = 'lots'"},
        {{"url", "kafka://h:1/t", "sasl.mechanism", "PLAIN", NULL},
         "option 'sasl.mechanism': unknown option"},
        {{"url", "kafka://h:1/t", "scan.bounded.mode", "latest-offset",
          "scan.topic-partition-discovery.interval", "1 min", NULL},
         "partition discovery is off"},
        {{"topic-pattern", "a(", "properties.bootstrap.servers", "h:1", NULL},
         "option 'topic-pattern': not a regular expression"},
        {{"url", "kafka://h:1/t", "metadata.x", "offsets", NULL}, "unknown metadata 'offsets'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        rill__err err = {0};
        void *cfg = rill__kafka_source_cfg(cases[i].opts, &err);
        CHECK(cfg == NULL);
        CHECK_EQ(err.code, RILL_ECONFIG);
        CHECK_CONTAINS(err.msg, cases[i].msg);
    }
    rill__err err = {0};
    const char *sink_eo[] = {"url", "kafka://h:1/t", "sink.delivery-guarantee", "exactly-once",
                             NULL};
    CHECK(rill__kafka_sink_cfg(sink_eo, &err) == NULL);
    CHECK_CONTAINS(err.msg, "needs 'sink.transactional-id-prefix'");
    const char *wrong_side[] = {"url", "kafka://h:1/t", "scan.startup.mode", "earliest-offset",
                                NULL};
    CHECK(rill__kafka_sink_cfg(wrong_side, &err) == NULL);
    CHECK_CONTAINS(err.msg, "kafka sink: option 'scan.startup.mode': a source option, not one "
                            "of a sink");
    /* an option given twice: the last one counts (and the first is not leaked: fuzz_kafka's
     * found-specific-offsets-given-twice) */
    const char *twice[] = {"url", "kafka://h:1/t", "scan.startup.specific-offsets",
                           "partition:0,offset:1", "scan.startup.specific-offsets",
                           "partition:0,offset:2;partition:1,offset:3", NULL};
    void *tw = rill__kafka_source_cfg(twice, &err);
    CHECK(tw != NULL);
    CHECK_EQ(((rill__kafka_cfg *)tw)->n_start_offsets, 2);
    rill__kafka_source_ops.cfg_free(tw);
    /* schema checks: a metadata column of the wrong type, raw with two fields */
    rill_schema *schema = schema_of("a STRING, b STRING");
    const char *meta[] = {"url", "kafka://h:1/t", "metadata.a", "offset", NULL};
    void *cfg = rill__kafka_source_cfg(meta, &err);
    CHECK(cfg != NULL);
    CHECK_EQ(rill__kafka_source_ops.validate(cfg, schema, &err), RILL_ECONFIG);
    CHECK_CONTAINS(err.msg, "metadata column 'a' must be INT64, not STRING");
    rill__kafka_source_ops.cfg_free(cfg);
    const char *raw[] = {"url", "kafka://h:1/t", "format", "raw", NULL};
    cfg = rill__kafka_source_cfg(raw, &err);
    CHECK_EQ(rill__kafka_source_ops.validate(cfg, schema, &err), RILL_ECONFIG);
    CHECK_CONTAINS(err.msg, "format 'raw' needs exactly one STRING field");
    rill__kafka_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
}

/* The sink's rows read back by the source: every row once, keys from the key field, the
 * partitioners, timestamps from event time. */
TEST(kafka_sink_rows_read_back)
{
    mock m;
    mock_start(&m, "out", 3);
    rill_schema *schema = schema_of("id INT64 NOT NULL, ts TIMESTAMP NOT NULL, name STRING");
    enum { TOTAL = 300 };
    for (int mode = 0; mode < 3; mode++) {
        static const char *const parts[] = {"default", "fixed", "round-robin"};
        char topic[16];
        snprintf(topic, sizeof topic, "out%d", mode);
        CHECK_EQ(rd_kafka_mock_topic_create(m.mc, topic, 3, 3), 0);
        const char *opts[] = {"properties.bootstrap.servers", m.bootstrap, "topic", topic,
                              "key.fields", "name", "sink.partitioner", parts[mode], NULL};
        rill__err err = {0};
        void *cfg = rill__kafka_sink_cfg(opts, &err);
        CHECK(cfg != NULL);
        CHECK_RC(rill__kafka_sink_ops.validate(cfg, schema, &err));
        for (int st = 0; st < 2; st++) { /* two subtasks, half the rows each */
            rill__conn_init init = conn_init(&err, st, 2);
            rill__sink *sink;
            CHECK_RC(rill__kafka_sink_ops.create(cfg, schema, &init, &sink));
            rill_batch *b = rill__batch_new(schema, TOTAL);
            rill__batch_need_ts(b);
            b->has_ts = true;
            for (int i = st; i < TOTAL; i += 2) {
                rill_row r = rill__batch_append(b);
                rill_row_set_i64(&r, 0, i);
                rill_row_set_ts(&r, 1, 5000 + i);
                char name[16];
                snprintf(name, sizeof name, "n%d", i % 7);
                CHECK_RC(rill_row_set_str(&r, 2, name, strlen(name)));
                b->ts[b->n_rows - 1] = 5000 + i;
            }
            CHECK_RC(rill__kafka_sink_ops.write(sink, b));
            rill__buf state = {0};
            CHECK_RC(rill__kafka_sink_ops.pre_commit(sink, 1, &state)); /* all acknowledged */
            rill__buf_free(&state);
            rill__batch_unref(b);
            CHECK_RC(rill__kafka_sink_ops.finish(sink));
            rill__kafka_sink_ops.destroy(sink);
        }
        rill__kafka_sink_ops.cfg_free(cfg);
        /* read back, with the key and partition */
        rill_schema *rs = schema_of("id INT64 NOT NULL, ts TIMESTAMP NOT NULL, name STRING, "
                                    "k STRING, part INT64");
        const char *ropts[] = {"topic", topic, "scan.startup.mode", "earliest-offset",
                               "scan.bounded.mode", "latest-offset", "metadata.k", "key",
                               "metadata.part", "partition", NULL};
        void *rcfg = cfg_of(&m, rs, ropts);
        rill__conn_init init = conn_init(&err, 0, 1);
        rill__source *src;
        CHECK_RC(rill__kafka_source_ops.create(rcfg, rs, &init, &src));
        rill_batch *b = rill__batch_new(rs, 64);
        bool seen[TOTAL] = {0};
        int n = 0, key_part[7], rc = 0;
        memset(key_part, -1, sizeof key_part);
        for (int polls = 0; polls < 20000 && rc != RILL_DONE; polls++) {
            int64_t w;
            rill__batch_clear(b);
            rc = src->ops->poll(src, b, &w);
            CHECK(rc >= 0);
            for (uint32_t i = 0; i < b->n_rows; i++) {
                rill_row r = rill__batch_row(b, i);
                int64_t id = rill_row_i64(&r, 0);
                CHECK(id >= 0 && id < TOTAL && !seen[id]);
                seen[id] = true;
                n++;
                CHECK_EQ(b->ts[i], 5000 + id); /* the message timestamp: the event time */
                size_t kl;
                const char *k = rill_row_str(&r, 3, &kl);
                char want[16];
                snprintf(want, sizeof want, "n%d", (int)(id % 7));
                CHECK(kl == strlen(want) && !memcmp(k, want, kl));
                int64_t part = rill_row_i64(&r, 4);
                if (mode == 0) { /* by key: one partition per key */
                    if (key_part[id % 7] < 0)
                        key_part[id % 7] = (int)part;
                    CHECK_EQ(key_part[id % 7], part);
                } else if (mode == 1) { /* fixed: subtask i to partition i */
                    CHECK_EQ(part, id % 2);
                }
            }
            if (rc == RILL_AGAIN)
                sleep_ns(1000000);
        }
        CHECK_EQ(n, TOTAL);
        rill__batch_unref(b);
        rill__kafka_source_ops.destroy(src);
        rill__kafka_source_ops.cfg_free(rcfg);
        rill_schema_free(rs);
    }
    rill_schema_free(schema);
    mock_stop(&m);
}

/* Reads topic's values back (one reader, bounded at the latest offsets): the ids in count. */
static int read_ids(const mock *m, const char *topic, int *count, int total)
{
    rill_schema *rs = schema_of("id INT64 NOT NULL");
    const char *ropts[] = {"topic", topic, "scan.startup.mode", "earliest-offset",
                           "scan.bounded.mode", "latest-offset", NULL};
    void *cfg = cfg_of(m, rs, ropts);
    rill__err err;
    rill__conn_init init = conn_init(&err, 0, 1);
    rill__source *src;
    CHECK_RC(rill__kafka_source_ops.create(cfg, rs, &init, &src));
    rill_batch *b = rill__batch_new(rs, 64);
    memset(count, 0, (size_t)total * sizeof *count);
    int n = 0, rc = 0;
    for (int polls = 0; polls < 20000 && rc != RILL_DONE; polls++) {
        int64_t w;
        rill__batch_clear(b);
        rc = src->ops->poll(src, b, &w);
        CHECK(rc >= 0);
        for (uint32_t i = 0; i < b->n_rows; i++) {
            rill_row r = rill__batch_row(b, i);
            int64_t id = rill_row_i64(&r, 0);
            CHECK(id >= 0 && id < total);
            count[id]++;
            n++;
        }
        if (rc == RILL_AGAIN)
            sleep_ns(1000000);
    }
    rill__batch_unref(b);
    rill__kafka_source_ops.destroy(src);
    rill__kafka_source_ops.cfg_free(cfg);
    rill_schema_free(rs);
    return n;
}

/* Rows [from, to) into sink. */
static void write_ids(rill__sink *sink, rill_schema *schema, int from, int to)
{
    rill_batch *b = rill__batch_new(schema, (uint32_t)(to - from));
    for (int i = from; i < to; i++) {
        rill_row r = rill__batch_append(b);
        rill_row_set_i64(&r, 0, i);
    }
    CHECK_RC(rill__kafka_sink_ops.write(sink, b));
    rill__batch_unref(b);
}

/* The exactly-once sink's config for topic, transactional-id prefix "t". */
static void *eo_cfg(const mock *m, const char *topic, const rill_schema *schema)
{
    const char *opts[] = {"properties.bootstrap.servers", m->bootstrap, "topic", topic,
                          "sink.delivery-guarantee", "exactly-once",
                          "sink.transactional-id-prefix", "t", NULL};
    rill__err err = {0};
    void *cfg = rill__kafka_sink_cfg(opts, &err);
    CHECK(cfg != NULL);
    CHECK_RC(rill__kafka_sink_ops.validate(cfg, schema, &err));
    return cfg;
}

static rill__sink *eo_sink(void *cfg, rill_schema *schema, int subtask, int par, rill__err *err)
{
    rill__conn_init init = conn_init(err, subtask, par);
    init.uid = "out";
    rill__sink *sink;
    CHECK_RC(rill__kafka_sink_ops.create(cfg, schema, &init, &sink));
    return sink;
}

/* Exactly-once: a checkpoint's rows are visible once it completes; a process that dies before
 * the commit leaves them to the restore, which commits them once; a restore after the commit
 * (its marker says so), or a second restore of the same checkpoint, adds nothing; a restore at
 * a lower parallelism commits every old subtask's epochs under that subtask's id. */
TEST(kafka_sink_exactly_once_commits_each_checkpoint_once)
{
    mock m;
    mock_start(&m, "eo", 2);
    rill_schema *schema = schema_of("id INT64 NOT NULL");
    rill__err err = {0};
    void *cfg = eo_cfg(&m, "eo", schema);
    enum { TOTAL = 400 };
    int count[TOTAL];

    /* checkpoint 1 completes: its rows are there; rows after its barrier are not */
    rill__sink *a = eo_sink(cfg, schema, 0, 1, &err);
    write_ids(a, schema, 0, 100);
    rill__buf s1 = {0};
    CHECK_RC(rill__kafka_sink_ops.pre_commit(a, 1, &s1));
    write_ids(a, schema, 100, 150);
    CHECK_EQ(read_ids(&m, "eo", count, TOTAL), 0); /* nothing before the checkpoint completes */
    CHECK_RC(rill__kafka_sink_ops.commit(a, 1));
    CHECK_EQ(read_ids(&m, "eo", count, TOTAL), 100);
    /* checkpoint 2 is taken, then the process dies before it completes... */
    rill__buf s2 = {0};
    CHECK_RC(rill__kafka_sink_ops.pre_commit(a, 2, &s2));
    rill__kafka_sink_ops.destroy(a);
    CHECK_EQ(read_ids(&m, "eo", count, TOTAL), 100);
    /* ... which did complete: the restore commits rows 100..149, and a second restore of the
     * same checkpoint (another failure) finds them committed */
    for (int again = 0; again < 2; again++) {
        rill__sink *b = eo_sink(cfg, schema, 0, 1, &err);
        CHECK_RC(rill__kafka_sink_ops.restore(b, 0, 1, s2.data, s2.len));
        rill__kafka_sink_ops.destroy(b);
        CHECK_EQ(read_ids(&m, "eo", count, TOTAL), 150);
        for (int i = 0; i < 150; i++)
            CHECK_EQ(count[i], 1);
    }
    /* a restore of checkpoint 1 (2 did not complete, say): its epoch was committed */
    rill__sink *c = eo_sink(cfg, schema, 0, 1, &err);
    CHECK_RC(rill__kafka_sink_ops.restore(c, 0, 1, s1.data, s1.len));
    rill__kafka_sink_ops.destroy(c);
    CHECK_EQ(read_ids(&m, "eo", count, TOTAL), 150);

    /* two subtasks take a checkpoint and die; a restore at parallelism 1 commits both */
    rill__buf st[2] = {{0}};
    for (int i = 0; i < 2; i++) {
        rill__sink *w = eo_sink(cfg, schema, i, 2, &err);
        write_ids(w, schema, 150 + 100 * i, 250 + 100 * i);
        CHECK_RC(rill__kafka_sink_ops.pre_commit(w, 3, &st[i]));
        rill__kafka_sink_ops.destroy(w);
    }
    rill__sink *one = eo_sink(cfg, schema, 0, 1, &err);
    for (int i = 0; i < 2; i++)
        CHECK_RC(rill__kafka_sink_ops.restore(one, i, 2, st[i].data, st[i].len));
    /* new rows of the restored run go on above the old epochs, in its next checkpoint */
    write_ids(one, schema, 350, 400);
    rill__buf s4 = {0};
    CHECK_RC(rill__kafka_sink_ops.pre_commit(one, 4, &s4));
    CHECK_RC(rill__kafka_sink_ops.commit(one, 4));
    rill__kafka_sink_ops.destroy(one);
    CHECK_EQ(read_ids(&m, "eo", count, TOTAL), TOTAL);
    for (int i = 0; i < TOTAL; i++)
        CHECK_EQ(count[i], 1);
    /* a damaged state is refused, naming the old subtask */
    rill__sink *bad = eo_sink(cfg, schema, 0, 1, &err);
    CHECK_EQ(rill__kafka_sink_ops.restore(bad, 0, 1, "RKX1junk", 8), RILL_ECORRUPT);
    CHECK_CONTAINS(err.msg, "old subtask 1/1");
    rill__kafka_sink_ops.destroy(bad);
    rill__buf_free(&s1);
    rill__buf_free(&s2);
    rill__buf_free(&s4);
    rill__buf_free(&st[0]);
    rill__buf_free(&st[1]);
    rill__kafka_sink_ops.cfg_free(cfg);
    rill_schema_free(schema);
    mock_stop(&m);
}

/* The marker of transactional id tid as a broker keeps it (0: none). */
static int64_t marker_of(const mock *m, const char *topic, const char *tid)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", m->bootstrap, errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "group.id", tid, errstr, sizeof errstr);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    CHECK(c != NULL);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, 0);
    CHECK_EQ(rd_kafka_committed(c, l, 10000), 0);
    int64_t off = l->elems[0].offset > 0 ? l->elems[0].offset : 0;
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(c);
    return off;
}

/* The transaction protocol under broker errors (the mock's request errors): a coordinator
 * that is briefly unavailable at the commit is retried, and the epoch commits; a producer
 * fenced at the commit fails the checkpoint's commit with a message naming the transaction,
 * and the restore from that checkpoint commits the epoch (its marker was not set). */
TEST(kafka_sink_exactly_once_under_broker_errors)
{
    mock m;
    mock_start(&m, "f", 1);
    rill_schema *schema = schema_of("id INT64 NOT NULL");
    rill__err err = {0};
    void *cfg = eo_cfg(&m, "f", schema);
    enum { END_TXN = 26 };
    rill__sink *a = eo_sink(cfg, schema, 0, 1, &err);
    write_ids(a, schema, 0, 10);
    rill__buf s1 = {0};
    CHECK_RC(rill__kafka_sink_ops.pre_commit(a, 1, &s1));
    rd_kafka_mock_push_request_errors(m.mc, END_TXN, 2,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE);
    CHECK_RC(rill__kafka_sink_ops.commit(a, 1));
    CHECK_EQ(marker_of(&m, "f", "t-out-0"), 1);
    write_ids(a, schema, 10, 20);
    rill__buf s2 = {0};
    CHECK_RC(rill__kafka_sink_ops.pre_commit(a, 2, &s2));
    rd_kafka_mock_push_request_errors(m.mc, END_TXN, 1, RD_KAFKA_RESP_ERR_PRODUCER_FENCED);
    CHECK(rill__kafka_sink_ops.commit(a, 2) < 0);
    CHECK_CONTAINS(err.msg, "transaction t-out-0, epoch 2 (checkpoint 2)");
    rill__kafka_sink_ops.destroy(a);
    CHECK_EQ(marker_of(&m, "f", "t-out-0"), 1);
    /* an at-least-once sink does not take over epochs not committed yet ... */
    const char *alo_opts[] = {"properties.bootstrap.servers", m.bootstrap, "topic", "f", NULL};
    void *alo = rill__kafka_sink_cfg(alo_opts, &err);
    CHECK_RC(rill__kafka_sink_ops.validate(alo, schema, &err));
    rill__sink *x = eo_sink(alo, schema, 0, 1, &err);
    CHECK_EQ(rill__kafka_sink_ops.restore(x, 0, 1, s2.data, s2.len), RILL_ECONFIG);
    CHECK_CONTAINS(err.msg, "not committed yet (epochs above 1)");
    CHECK_RC(rill__kafka_sink_ops.restore(x, 0, 1, s1.data, s1.len)); /* committed: fine */
    rill__kafka_sink_ops.destroy(x);
    rill__sink *b = eo_sink(cfg, schema, 0, 1, &err);
    CHECK_RC(rill__kafka_sink_ops.restore(b, 0, 1, s2.data, s2.len));
    CHECK_EQ(marker_of(&m, "f", "t-out-0"), 2);
    rill__kafka_sink_ops.destroy(b);
    /* ... and once they are, it does (the guarantee changed after a drain) */
    x = eo_sink(alo, schema, 0, 1, &err);
    CHECK_RC(rill__kafka_sink_ops.restore(x, 0, 1, s2.data, s2.len));
    rill__kafka_sink_ops.destroy(x);
    rill__kafka_sink_ops.cfg_free(alo);
    /* a marker that is gone (expired; here: another topic, whose partition 0 holds none) while
     * the state says epoch 1 was committed before: refused, nothing written twice */
    CHECK_EQ(rd_kafka_mock_topic_create(m.mc, "g", 1, 3), 0);
    void *gcfg = eo_cfg(&m, "g", schema);
    rill__sink *c = eo_sink(gcfg, schema, 0, 1, &err);
    CHECK_EQ(rill__kafka_sink_ops.restore(c, 0, 1, s2.data, s2.len), RILL_ESTATE);
    CHECK_CONTAINS(err.msg, "the marker is gone");
    rill__kafka_sink_ops.destroy(c);
    rill__kafka_sink_ops.cfg_free(gcfg);
    rill__buf_free(&s1);
    rill__buf_free(&s2);
    rill__kafka_sink_ops.cfg_free(cfg);
    rill_schema_free(schema);
    mock_stop(&m);
}

/* An unbounded source over a topic pattern finds a topic created after it started (discovery
 * at its interval) and reads it from its earliest offset; topics that do not match stay out. */
TEST(kafka_source_pattern_discovers_new_topics)
{
    mock m;
    mock_start(&m, "ev-a", 2);
    CHECK_EQ(rd_kafka_mock_topic_create(m.mc, "other", 1, 3), 0);
    rd_kafka_t *p = producer(&m);
    send_msg(p, "ev-a", 0, NULL, "1,1001", 1001);
    send_msg(p, "other", 0, NULL, "2,1002", 1002);
    CHECK_EQ(rd_kafka_flush(p, 10000), 0);
    rill_schema *schema = schema_of("id INT64 NOT NULL, ts TIMESTAMP NOT NULL, t STRING");
    const char *opts[] = {"topic-pattern", "ev-.*", "scan.startup.mode", "earliest-offset",
                          "scan.topic-partition-discovery.interval", "100", "metadata.t",
                          "topic", NULL};
    void *cfg = cfg_of(&m, schema, opts);
    rill__err err;
    rill__conn_init init = conn_init(&err, 0, 1);
    rill__source *src;
    CHECK_RC(rill__kafka_source_ops.create(cfg, schema, &init, &src));
    rill_batch *b = rill__batch_new(schema, 16);
    bool seen[4] = {0};
    bool created = false;
    for (int polls = 0; polls < 20000 && !(seen[1] && seen[3]); polls++) {
        int64_t w;
        rill__batch_clear(b);
        int rc = src->ops->poll(src, b, &w);
        CHECK(rc >= 0 && rc != RILL_DONE); /* unbounded */
        for (uint32_t i = 0; i < b->n_rows; i++) {
            rill_row r = rill__batch_row(b, i);
            int64_t id = rill_row_i64(&r, 0);
            CHECK(id == 1 || id == 3); /* never the other topic's */
            seen[id] = true;
        }
        if (seen[1] && !created) { /* a new matching topic, with a row already in it */
            CHECK_EQ(rd_kafka_mock_topic_create(m.mc, "ev-b", 1, 3), 0);
            send_msg(p, "ev-b", 0, NULL, "3,1003", 1003);
            CHECK_EQ(rd_kafka_flush(p, 10000), 0);
            created = true;
        }
        if (rc == RILL_AGAIN)
            sleep_ns(1000000);
    }
    CHECK(seen[1] && seen[3]);
    rill__batch_unref(b);
    rill__kafka_source_ops.destroy(src);
    rill__kafka_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
    rd_kafka_destroy(p);
    mock_stop(&m);
}

static int one_key(rill_ctx *ctx, const rill_row *in, rill_row *out)
{
    (void)ctx, (void)in;
    rill_row_set_i64(out, 0, 0);
    return 0;
}

/* A whole job: event time from the messages' timestamps (no field named), two partitions with
 * their own watermarks (partition 0 ahead in time), tumbling windows counting rows: each
 * window's count is the number of messages whose timestamp falls in it (none is late: each
 * partition is in order, and neither holds the other back wrongly). */
TEST(kafka_event_time_from_message_timestamps)
{
    mock m;
    mock_start(&m, "et", 2);
    rd_kafka_t *p = producer(&m);
    enum { N = 600, WINS = 8 };
    int want[WINS] = {0};
    for (int i = 0; i < N; i++) {
        int part = i % 2;
        int64_t ts = part ? 1000 + i * 10 : 1000 + i * 13;
        char v[32];
        snprintf(v, sizeof v, "%d", i);
        send_msg(p, "et", part, NULL, v, ts);
        want[(ts - 1000) / 1000]++;
    }
    CHECK_EQ(rd_kafka_flush(p, 10000), 0);
    rd_kafka_destroy(p);
    char *out = rill__xasprintf("%s/et.csv", rill_test_tmpdir());
    rill_env *env = rill_env_new();
    CHECK_RC(rill_env_set(env, "parallelism", "2"));
    rill_schema *schema = schema_of("id INT64 NOT NULL");
    const char *opts[] = {"properties.bootstrap.servers", m.bootstrap, "topic", "et",
                          "scan.startup.mode", "earliest-offset", "scan.bounded.mode",
                          "latest-offset", NULL};
    rill_stream *s = rill_source_kafka(env, schema, opts);
    rill_watermark_opts wm = {.kind = RILL_WM_MONOTONOUS};
    s = rill_stream_event_time(s, NULL, &wm);
    rill_schema *k = schema_of("k INT64 NOT NULL");
    s = rill_stream_map(s, k, one_key, NULL);
    rill_window_spec w = {.kind = RILL_WINDOW_TUMBLING, .domain = RILL_EVENT_TIME,
                          .size_ms = 1000, .slide_ms = 1000};
    rill_agg_spec count = {RILL_AGG_COUNT, NULL, "n"};
    s = rill_window_aggregate(rill_stream_key_by(s, "k"), &w, &count, 1);
    rill_stream_parallelism(rill_sink_file(s, out, NULL), 1);
    int rc = rill_env_execute(env);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "job failed: %s", rill_errmsg(env));
    rill_env_free(env);
    char *text = NULL;
    size_t len = 0;
    CHECK_RC(rill__read_file(out, 1 << 20, &text, &len));
    int got[WINS] = {0};
    for (char *line = strchr(text, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        long long key, start, end, n;
        CHECK_EQ(sscanf(line + 1, "%lld,%lld,%lld,%lld", &key, &start, &end, &n), 4);
        CHECK(start >= 1000 && (start - 1000) / 1000 < WINS && end == start + 1000);
        got[(start - 1000) / 1000] = (int)n;
    }
    for (int i = 0; i < WINS; i++)
        CHECK_EQ(got[i], want[i]);
    free(text);
    free(out);
    rill_schema_free(k);
    rill_schema_free(schema);
    mock_stop(&m);
}

/* Reads src until each of its n split ids has come with rows, or to its end; records each
 * batch's split id -> partition in map (-1: not seen). Returns how many were seen. */
static int map_splits(rill__source *src, rill_schema *schema, int64_t *map, int n)
{
    rill_batch *b = rill__batch_new(schema, 16);
    int known = 0, rc = 0;
    for (int polls = 0; polls < 20000 && known < n && rc != RILL_DONE; polls++) {
        int64_t w;
        rill__batch_clear(b);
        rc = src->ops->poll(src, b, &w);
        CHECK(rc >= 0);
        if (b->n_rows > 0) {
            CHECK(b->split >= 0 && b->split < n);
            rill_row r = rill__batch_row(b, 0);
            int64_t part = rill_row_i64(&r, 2);
            if (map[b->split] < 0)
                known++, map[b->split] = part;
            CHECK_EQ(map[b->split], part);
        }
        if (rc == RILL_AGAIN)
            sleep_ns(1000000);
    }
    rill__batch_unref(b);
    return known;
}

/* Restored at the same parallelism, a reader gives every partition the split id it had (event
 * time's restored per-split state is keyed by it): the order of its checkpointed position,
 * not the order the brokers list the partitions in (here the reverse). */
TEST(kafka_source_split_ids_survive_restore)
{
    mock m;
    mock_start(&m, "ids", 3);
    send_rows(&m, "ids", 3, 3000);
    rill_schema *schema = schema_of(ROW_SCHEMA);
    const char *opts[] = {"topic", "ids", "scan.startup.mode", "earliest-offset",
                          "scan.bounded.mode", "latest-offset", META[0], META[1], META[2],
                          META[3], NULL};
    void *cfg = cfg_of(&m, schema, opts);
    /* a position whose splits are partitions 2, 1, 0 (ids 0, 1, 2), each at offset 10 */
    rill__buf pos = {0};
    rill__enc e;
    rill__enc_init(&e, &pos);
    rill__enc_u32(&e, 0x31534b52u);
    rill__enc_u32(&e, 1);
    rill__enc_u32(&e, 1);
    rill__enc_u8(&e, 1);
    rill__enc_u32(&e, 3);
    for (int part = 2; part >= 0; part--) {
        rill__enc_str(&e, "topic", "ids", SIZE_MAX);
        rill__enc_u32(&e, (uint32_t)part);
        rill__enc_i64(&e, 10);
        rill__enc_i64(&e, 1000);
        rill__enc_u8(&e, 0);
    }
    rill__enc_u32(&e, 0);
    rill__err err;
    rill__conn_init init = conn_init(&err, 0, 1);
    rill__source *b;
    CHECK_RC(rill__kafka_source_ops.create(cfg, schema, &init, &b));
    rill__source_pos sp = {0, 1, false, pos.data, pos.len};
    CHECK_RC(rill__kafka_source_ops.seek_rescaled(b, &sp, 1));
    int64_t ids[3] = {-1, -1, -1};
    CHECK_EQ(map_splits(b, schema, ids, 3), 3);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(ids[i], 2 - i);
    rill__kafka_source_ops.destroy(b);
    rill__buf_free(&pos);
    rill__kafka_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
    mock_stop(&m);
}

/* A restored partition the brokers do not list (its topic deleted) is not skipped in silence:
 * a bounded reader does not end without it, and fails naming it after client.timeout; one of
 * a topic the source no longer reads is dropped. */
TEST(kafka_source_restored_partition_missing)
{
    mock m;
    mock_start(&m, "here", 1);
    send_rows(&m, "here", 1, 10);
    rill_schema *schema = schema_of(ROW_SCHEMA);
    const char *opts[] = {"topic-pattern", "here|gone", "scan.startup.mode", "earliest-offset",
                          "scan.bounded.mode", "latest-offset", "client.timeout", "300",
                          META[0], META[1], META[2], META[3], NULL};
    void *cfg = cfg_of(&m, schema, opts);
    rill__buf pos = {0};
    rill__enc e;
    rill__enc_init(&e, &pos);
    rill__enc_u32(&e, 0x31534b52u);
    rill__enc_u32(&e, 1);
    rill__enc_u32(&e, 1);
    rill__enc_u8(&e, 1);
    rill__enc_u32(&e, 3);
    static const char *const topics[] = {"here", "gone", "other"};
    for (int i = 0; i < 3; i++) {
        rill__enc_str(&e, "topic", topics[i], SIZE_MAX);
        rill__enc_u32(&e, 0);
        rill__enc_i64(&e, 5);
        rill__enc_i64(&e, 10);
        rill__enc_u8(&e, 0);
    }
    rill__enc_u32(&e, 0);
    rill__err err;
    rill__conn_init init = conn_init(&err, 0, 1);
    rill__source *src;
    CHECK_RC(rill__kafka_source_ops.create(cfg, schema, &init, &src));
    rill__source_pos sp = {0, 1, false, pos.data, pos.len};
    CHECK_RC(rill__kafka_source_ops.seek_rescaled(src, &sp, 1));
    rill_batch *b = rill__batch_new(schema, 16);
    int rc = 0, rows = 0;
    for (int polls = 0; polls < 20000 && rc >= 0 && rc != RILL_DONE; polls++) {
        int64_t w;
        rill__batch_clear(b);
        rc = src->ops->poll(src, b, &w);
        rows += rc >= 0 ? (int)b->n_rows : 0;
        if (rc == RILL_AGAIN)
            sleep_ns(1000000);
    }
    CHECK_EQ(rows, 5); /* topic here from offset 5 */
    CHECK_EQ(rc, RILL_ENOENT);
    CHECK_CONTAINS(err.msg, "topic gone partition 0, which the checkpoint reads at offset 5, "
                            "is not on");
    rill__batch_unref(b);
    rill__kafka_source_ops.destroy(src);
    rill__buf_free(&pos);
    rill__kafka_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
    mock_stop(&m);
}

/* Keys with Flink's key.format, key.fields and value.fields-include = EXCEPT_KEY: a sink writes
 * the key fields into the message key (csv, json, raw) and the others into the value; a source
 * with the same options reads the rows back whole. A message without a key gives NULL key
 * fields, or a bad record when one is NOT NULL. */
TEST(kafka_key_fields_round_trip)
{
    mock m;
    mock_start(&m, "kv-csv", 1);
    rill_schema *schema = schema_of("user INT64 NOT NULL, page STRING, n INT64, note STRING");
    static const char *const formats[] = {"csv", "json", "raw"};
    for (int f = 0; f < 3; f++) {
        char topic[16];
        snprintf(topic, sizeof topic, "kv-%s", formats[f]);
        if (f)
            CHECK_EQ(rd_kafka_mock_topic_create(m.mc, topic, 1, 3), 0);
        /* (with JSON values too, user NOT NULL comes from the key: the value is decoded over
         * its own fields) */
        rill_schema *sch = f == 2 ? schema_of("page STRING, user INT64 NOT NULL, n INT64, "
                                              "note STRING")
                                  : rill__schema_ref(schema);
        const char *keys = f == 2 ? "page" : "user;page";
        const char *opts[] = {"properties.bootstrap.servers", m.bootstrap, "topic", topic,
                              "key.format", formats[f], "key.fields", keys,
                              "value.fields-include", "EXCEPT_KEY", "format", formats[f % 2],
                              "scan.startup.mode", "earliest-offset", "scan.bounded.mode",
                              "latest-offset", NULL};
        rill__err err = {0};
        const char *sopts[] = {"properties.bootstrap.servers", m.bootstrap, "topic", topic,
                               "key.format", formats[f], "key.fields", keys,
                               "value.fields-include", "EXCEPT_KEY", "format", formats[f % 2],
                               NULL};
        void *kcfg = rill__kafka_sink_cfg(sopts, &err);
        CHECK(kcfg != NULL);
        CHECK_RC(rill__kafka_sink_ops.validate(kcfg, sch, &err));
        rill__conn_init init = conn_init(&err, 0, 1);
        rill__sink *sink;
        CHECK_RC(rill__kafka_sink_ops.create(kcfg, sch, &init, &sink));
        rill_batch *b = rill__batch_new(sch, 8);
        int ui = rill_schema_index(sch, "user"), pi = rill_schema_index(sch, "page");
        for (int i = 0; i < 3; i++) {
            rill_row r = rill__batch_append(b);
            rill_row_set_i64(&r, ui, 10 + i);
            CHECK_RC(rill_row_set_str(&r, pi, i == 1 ? "a,\"b" : "/x", i == 1 ? 4 : 2));
            rill_row_set_i64(&r, rill_schema_index(sch, "n"), i * 7);
            if (i != 2)
                CHECK_RC(rill_row_set_str(&r, rill_schema_index(sch, "note"), "hi", 2));
        }
        CHECK_RC(rill__kafka_sink_ops.write(sink, b));
        CHECK_RC(rill__kafka_sink_ops.finish(sink));
        rill__kafka_sink_ops.destroy(sink);
        rill__kafka_sink_ops.cfg_free(kcfg);
        rill_batch *got = rill__batch_new(sch, 8);
        void *scfg = cfg_of(&m, sch, opts + 2);
        CHECK_RC(rill__kafka_source_ops.create(scfg, sch, &init, (rill__source **)&sink));
        rill__source *src = (rill__source *)sink;
        for (int polls = 0; polls < 5000; polls++) {
            int64_t w;
            int rc = src->ops->poll(src, got, &w);
            CHECK(rc >= 0);
            if (rc == RILL_DONE)
                break;
            if (rc == RILL_AGAIN)
                sleep_ns(1000000);
        }
        rill__buf a = {0}, e = {0};
        for (uint32_t i = 0; i < got->n_rows; i++) {
            rill_row r = rill__batch_row(got, i);
            rill__encode_csv_row(sch, &r, '|', &a);
            rill_row x = rill__batch_row(b, i);
            rill__encode_csv_row(sch, &x, '|', &e);
        }
        CHECK_EQ(got->n_rows, 3);
        CHECK_STR(rill__buf_cstr(&a), rill__buf_cstr(&e));
        rill__buf_free(&a);
        rill__buf_free(&e);
        rill__batch_unref(got);
        rill__batch_unref(b);
        rill__kafka_source_ops.destroy(src);
        rill__kafka_source_ops.cfg_free(scfg);
        rill_schema_free(sch);
    }
    /* no key, NOT NULL key field: a bad record naming the key */
    rd_kafka_t *p = producer(&m);
    send_msg(p, "kv-csv", 0, NULL, "5,x", 1);
    CHECK_EQ(rd_kafka_flush(p, 10000), 0);
    rd_kafka_destroy(p);
    const char *opts[] = {"topic", "kv-csv", "key.format", "csv", "key.fields", "user;page",
                          "value.fields-include", "EXCEPT_KEY", "scan.startup.mode",
                          "specific-offsets", "scan.startup.specific-offsets",
                          "partition:0,offset:3", "scan.bounded.mode", "latest-offset", NULL};
    void *cfg = cfg_of(&m, schema, opts);
    rill__err err;
    rill__conn_init init = conn_init(&err, 0, 1);
    rill__source *src;
    CHECK_RC(rill__kafka_source_ops.create(cfg, schema, &init, &src));
    rill_batch *b = rill__batch_new(schema, 8);
    int rc = 0;
    for (int polls = 0; polls < 5000 && rc >= 0 && rc != RILL_DONE; polls++) {
        int64_t w;
        rc = src->ops->poll(src, b, &w);
        if (rc == RILL_AGAIN)
            sleep_ns(1000000);
    }
    CHECK_EQ(rc, RILL_EPARSE);
    CHECK_CONTAINS(err.msg, "offset 3, key column 1: the message has no key, and field 'user' "
                            "is NOT NULL");
    rill__batch_unref(b);
    rill__kafka_source_ops.destroy(src);
    rill__kafka_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
    mock_stop(&m);
}

/* A partition whose leader is unreachable when a reader first looks up its offsets (librdkafka
 * 2.0.2 then keeps rd_kafka_query_watermark_offsets waiting past its timeout): the task thread
 * is not blocked (every poll returns, so checkpoints and cancels go on), a position taken
 * meanwhile loses nothing, the rows come once the broker is back, and a lookup that stays
 * unanswered fails the job after client.timeout naming the partition; a reader destroyed while
 * its lookup still waits leaves it to finish by itself (ASan: nothing leaks, nothing is used
 * after it is freed). */
TEST(kafka_source_unreachable_leader_does_not_block_the_task)
{
    mock m;
    mock_start(&m, "lead", 2);
    int total = 40;
    send_rows(&m, "lead", 2, total);
    CHECK_EQ(rd_kafka_mock_partition_set_leader(m.mc, "lead", 0, 1), 0);
    CHECK_EQ(rd_kafka_mock_broker_set_down(m.mc, 1), 0);
    rill_schema *schema = schema_of(ROW_SCHEMA);
    const char *opts[] = {"topic", "lead", "scan.startup.mode", "earliest-offset",
                          "scan.bounded.mode", "latest-offset", "client.timeout", "1500",
                          META[0], META[1], META[2], META[3], NULL};
    void *cfg = cfg_of(&m, schema, opts);
    rill_batch *b = rill__batch_new(schema, 16);

    /* 1: never answered: an error naming the partition, and the reader destroyed meanwhile */
    rill__err err;
    rill__conn_init init = conn_init(&err, 0, 1);
    rill__source *src;
    CHECK_RC(rill__kafka_source_ops.create(cfg, schema, &init, &src));
    int rc = 0, waits = 0;
    for (int polls = 0; polls < 20000 && rc >= 0 && rc != RILL_DONE; polls++) {
        int64_t w = 0;
        rill__batch_clear(b);
        rc = src->ops->poll(src, b, &w);
        if (rc == RILL_AGAIN) {
            waits++;
            sleep_ns(1000000);
        }
    }
    CHECK(waits > 10); /* it answered while the lookup waited */
    CHECK(rc == RILL_EIO);
    CHECK_CONTAINS(err.msg, "topic lead partition 0");
    rill__kafka_source_ops.destroy(src);

    /* 2: a lookup waiting while a position is taken, then the broker back */
    rill__conn_init init2 = conn_init(&err, 0, 1);
    CHECK_RC(rill__kafka_source_ops.create(cfg, schema, &init2, &src));
    for (int polls = 0; polls < 20; polls++) {
        int64_t w = 0;
        rill__batch_clear(b);
        CHECK_EQ(src->ops->poll(src, b, &w), RILL_AGAIN);
        CHECK_EQ(b->n_rows, 0u);
        sleep_ns(1000000);
    }
    rill__buf pos = {0};
    CHECK_RC(src->ops->position(src, &pos));
    CHECK_EQ(rd_kafka_mock_broker_set_up(m.mc, 1), 0);
    bool *seen = rill__xcalloc((size_t)total, 1);
    CHECK(read_rows(src, schema, -1, seen, total, "after the broker came back"));
    for (int i = 0; i < total; i++)
        CHECK(seen[i]);
    rill__kafka_source_ops.destroy(src);
    /* the position taken while the lookup waited: a restore reads every row */
    memset(seen, 0, (size_t)total);
    rill__conn_init init3 = conn_init(&err, 0, 1);
    CHECK_RC(rill__kafka_source_ops.create(cfg, schema, &init3, &src));
    CHECK_RC(src->ops->seek(src, pos.data, pos.len));
    CHECK(read_rows(src, schema, -1, seen, total, "restored from the position"));
    for (int i = 0; i < total; i++)
        CHECK(seen[i]);
    rill__kafka_source_ops.destroy(src);
    free(seen);
    rill__buf_free(&pos);
    rill__batch_unref(b);
    rill__kafka_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
    mock_stop(&m);
}
