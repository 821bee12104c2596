/* test_control.c - unit tests of the control-plane messages (cluster layer): round trips, every
 * truncation, trailing bytes, values out of range, and random bytes. */
#include <string.h>

#include "cluster/cluster.h"
#include "test.h"

/* A message's encoding: decodes to what re-encodes to the same bytes (the fields are compared
 * by the caller), and
 * every truncation or an extra byte is refused naming the message. */
#define ROUND_TRIP(kind, M, NAME)                                                                  \
    do {                                                                                           \
        rill__buf enc1_ = {0}, enc2_ = {0};                                                        \
        rill__err e_ = {0};                                                                        \
        CHECK_RC(rill__msg_##kind##_enc(&enc1_, &(M)));                                            \
        rill__msg_##kind d_;                                                                       \
        CHECK_RC(rill__msg_##kind##_dec(enc1_.data, enc1_.len, &d_, &e_));                         \
        CHECK_RC(rill__msg_##kind##_enc(&enc2_, &d_));                                             \
        CHECK(enc2_.len == enc1_.len && memcmp(enc2_.data, enc1_.data, enc1_.len) == 0);           \
        for (size_t cut_ = 0; cut_ < enc1_.len; cut_++) {                                          \
            memset(&e_, 0, sizeof e_);                                                             \
            int rc_ = rill__msg_##kind##_dec(enc1_.data, cut_, &d_, &e_);                          \
            CHECK(rc_ == RILL_EPROTO || rc_ == RILL_ELIMIT);                                       \
            CHECK_CONTAINS(e_.msg, NAME);                                                          \
        }                                                                                          \
        rill__buf_putc(&enc1_, 0);                                                                 \
        CHECK_EQ(rill__msg_##kind##_dec(enc1_.data, enc1_.len, &d_, &e_), RILL_EPROTO);            \
        CHECK_CONTAINS(e_.msg, NAME);                                                              \
        rill__buf_free(&enc1_);                                                                    \
        rill__buf_free(&enc2_);                                                                    \
    } while (0)

static rill__msg_register_tm sample_register(void)
{
    rill__msg_register_tm m = {.slots = 4, .data_port = 6124};
    strcpy(m.tm_id, "tm-00ff17a9c0de4242");
    strcpy(m.data_host, "fe80::1%eth0");
    return m;
}

TEST(control_messages_round_trip)
{
    rill__msg_register_tm reg = sample_register();
    ROUND_TRIP(register_tm, reg, "REGISTER_TM");
    {
        rill__buf b = {0};
        rill__err err = {0};
        rill__msg_register_tm out;
        CHECK_RC(rill__msg_register_tm_enc(&b, &reg));
        CHECK_RC(rill__msg_register_tm_dec(b.data, b.len, &out, &err));
        CHECK_STR(out.tm_id, reg.tm_id);
        CHECK_STR(out.data_host, "fe80::1%eth0");
        CHECK_EQ(out.slots, 4);
        CHECK_EQ(out.data_port, 6124);
        rill__buf_free(&b);
        rill__msg_registered ok = {.registration = 42}, ok2;
        strcpy(ok.tm_id, "tm-7");
        CHECK_RC(rill__msg_registered_enc(&b, &ok));
        CHECK_RC(rill__msg_registered_dec(b.data, b.len, &ok2, &err));
        CHECK_STR(ok2.tm_id, "tm-7");
        CHECK(ok2.registration == 42);
        rill__buf_free(&b);
        rill__msg_disconnect d = {.reason = RILL_DISCONNECT_SHUTDOWN}, d2;
        strcpy(d.text, "bye");
        CHECK_RC(rill__msg_disconnect_enc(&b, &d));
        CHECK_EQ(b.len, 2 + 4 + 3);
        CHECK_RC(rill__msg_disconnect_dec(b.data, b.len, &d2, &err));
        CHECK_EQ(d2.reason, RILL_DISCONNECT_SHUTDOWN);
        CHECK_STR(d2.text, "bye");
        rill__buf_free(&b);
    }
    memset(reg.tm_id, 'a', RILL_TM_ID_MAX); /* the longest id and host */
    reg.tm_id[RILL_TM_ID_MAX] = 0;
    memset(reg.data_host, 'h', RILL_HOST_MAX);
    reg.data_host[RILL_HOST_MAX] = 0;
    reg.slots = RILL_TM_SLOTS_MAX;
    reg.data_port = 65535;
    ROUND_TRIP(register_tm, reg, "REGISTER_TM");

    rill__msg_registered ok = {.registration = UINT64_MAX};
    strcpy(ok.tm_id, "tm_1.x-Y");
    ROUND_TRIP(registered, ok, "REGISTERED");

    rill__msg_disconnect d = {.reason = RILL_DISCONNECT_HEARTBEAT};
    strcpy(d.text, "no heartbeat for 10000 ms");
    ROUND_TRIP(disconnect, d, "DISCONNECT");
    d.reason = RILL_DISCONNECT_REJECTED;
    d.text[0] = 0;
    ROUND_TRIP(disconnect, d, "DISCONNECT");
    CHECK_STR(rill__disconnect_name(RILL_DISCONNECT_REPLACED), "replaced");
    CHECK_STR(rill__disconnect_name(77), "unknown");
}

/* Encodes m, then checks that decoding it fails with rc naming field. */
static void expect_register_bad(const rill__msg_register_tm *m, int rc, const char *field)
{
    rill__buf b = {0};
    rill__err err = {0};
    rill__enc e;
    rill__enc_init(&e, &b); /* by hand: the encoder itself refuses strings over their limit */
    rill__enc_str(&e, "tm_id", m->tm_id, 4096);
    rill__enc_u32(&e, m->slots);
    rill__enc_str(&e, "data_host", m->data_host, 4096);
    rill__enc_u16(&e, m->data_port);
    CHECK_RC(e.rc);
    rill__msg_register_tm out;
    CHECK_EQ(rill__msg_register_tm_dec(b.data, b.len, &out, &err), rc);
    char want[64];
    snprintf(want, sizeof want, "'%s'", field);
    CHECK_CONTAINS(err.msg, want);
    rill__buf_free(&b);
}

TEST(control_messages_bad_values)
{
    rill__msg_register_tm m = sample_register();
    m.tm_id[0] = 0;
    expect_register_bad(&m, RILL_EPROTO, "tm_id");
    m = sample_register();
    strcpy(m.tm_id, "tm 1"); /* a space: ids appear in logs and JSON unescaped */
    expect_register_bad(&m, RILL_EPROTO, "tm_id");
    m = sample_register();
    strcpy(m.tm_id, "tm\n1");
    expect_register_bad(&m, RILL_EPROTO, "tm_id");
    m = sample_register();
    m.slots = 0;
    expect_register_bad(&m, RILL_EPROTO, "slots");
    m.slots = RILL_TM_SLOTS_MAX + 1;
    expect_register_bad(&m, RILL_EPROTO, "slots");
    m = sample_register();
    m.data_host[0] = 0;
    expect_register_bad(&m, RILL_EPROTO, "data_host");
    strcpy(m.data_host, "host\x1b[31m");
    expect_register_bad(&m, RILL_EPROTO, "data_host");
    m = sample_register();
    m.data_port = 0;
    expect_register_bad(&m, RILL_EPROTO, "data_port");

    /* over a length limit: refused on the length alone, and the encoder refuses to send it */
    static rill__msg_register_tm big; /* the struct cannot hold it: encode by hand */
    big = sample_register();
    rill__buf b = {0};
    rill__err err = {0};
    rill__enc e;
    rill__enc_init(&e, &b);
    char id[RILL_TM_ID_MAX + 2];
    memset(id, 'a', sizeof id - 1);
    id[sizeof id - 1] = 0;
    rill__enc_str(&e, "tm_id", id, 4096);
    rill__enc_u32(&e, 1);
    rill__enc_str(&e, "data_host", "h", 4096);
    rill__enc_u16(&e, 1);
    CHECK_EQ(rill__msg_register_tm_dec(b.data, b.len, &big, &err), RILL_ELIMIT);
    CHECK_CONTAINS(err.msg, "'tm_id'");
    rill__buf_free(&b);

    rill__msg_registered ok = {.registration = 0};
    strcpy(ok.tm_id, "tm-1");
    CHECK_RC(rill__msg_registered_enc(&b, &ok));
    rill__msg_registered ok2;
    CHECK_EQ(rill__msg_registered_dec(b.data, b.len, &ok2, &err), RILL_EPROTO);
    CHECK_CONTAINS(err.msg, "'registration'");
    rill__buf_free(&b);

    for (int reason = 0; reason < 300; reason += 299) { /* 0 and 299: no such reason */
        rill__msg_disconnect d = {.reason = (uint16_t)reason}, d2;
        CHECK_RC(rill__msg_disconnect_enc(&b, &d));
        CHECK_EQ(rill__msg_disconnect_dec(b.data, b.len, &d2, &err), RILL_EPROTO);
        CHECK_CONTAINS(err.msg, "'reason'");
        rill__buf_free(&b);
    }
}

TEST(control_messages_random_bytes)
{
    uint8_t buf[300];
    uint64_t rnd = 7;
    rill__err err;
    int ok = 0;
    for (int it = 0; it < 30000; it++) {
        size_t n = rill__mix64(rnd++) % sizeof buf;
        for (size_t k = 0; k < n; k++)
            buf[k] = (uint8_t)(rill__mix64(rnd++) % (it % 2 ? 8 : 256));
        if (it % 3 == 0 && n >= 4) { /* plausible lengths, so that decoding gets further */
            buf[0] = (uint8_t)(rill__mix64(rnd++) % 20);
            buf[1] = buf[2] = buf[3] = 0;
        } else if (it % 3 == 1 && n >= 6) { /* a DISCONNECT's shape with any reason */
            buf[0] = (uint8_t)(rill__mix64(rnd++) % 7);
            buf[1] = 0;
            uint32_t len = (uint32_t)(n - 6) + (uint32_t)(rill__mix64(rnd++) % 3) - 1;
            memcpy(buf + 2, &len, 4); /* little-endian hosts only, like the codec's tests */
        }
        rill__msg_register_tm m;
        rill__msg_registered r;
        rill__msg_disconnect d;
        int rcs[3] = {rill__msg_register_tm_dec(buf, n, &m, &err),
                      rill__msg_registered_dec(buf, n, &r, &err),
                      rill__msg_disconnect_dec(buf, n, &d, &err)};
        for (int k = 0; k < 3; k++)
            CHECK(rcs[k] == 0 || rcs[k] == RILL_EPROTO || rcs[k] == RILL_ELIMIT);
        rill__buf b = {0};
        /* what decodes has exactly one encoding: the bytes it came from */
        if (rcs[0] == 0) {
            CHECK(rill__tm_id_ok(m.tm_id));
            CHECK_RC(rill__msg_register_tm_enc(&b, &m));
            CHECK(b.len == n && memcmp(b.data, buf, n) == 0);
        }
        rill__buf_free(&b);
        if (rcs[1] == 0) {
            CHECK_RC(rill__msg_registered_enc(&b, &r));
            CHECK(b.len == n && memcmp(b.data, buf, n) == 0);
        }
        rill__buf_free(&b);
        if (rcs[2] == 0) {
            CHECK_RC(rill__msg_disconnect_enc(&b, &d));
            CHECK(b.len == n && memcmp(b.data, buf, n) == 0);
            ok++;
        }
        rill__buf_free(&b);
    }
    CHECK(ok > 0);
}

/* ---- deployment and the job's life ---------------------------------------------------------- */

/* ROUND_TRIP for the messages whose frame type picks the fields. */
#define ROUND_TRIP_T(kind, TYPE, M, NAME)                                                          \
    do {                                                                                           \
        rill__buf enc1_ = {0}, enc2_ = {0};                                                        \
        rill__err e_ = {0};                                                                        \
        CHECK_RC(rill__msg_##kind##_enc(&enc1_, (TYPE), &(M)));                                    \
        rill__msg_##kind d_;                                                                       \
        CHECK_RC(rill__msg_##kind##_dec((TYPE), enc1_.data, enc1_.len, &d_, &e_));                 \
        CHECK_RC(rill__msg_##kind##_enc(&enc2_, (TYPE), &d_));                                     \
        CHECK(enc2_.len == enc1_.len && memcmp(enc2_.data, enc1_.data, enc1_.len) == 0);           \
        for (size_t cut_ = 0; cut_ < enc1_.len; cut_++) {                                          \
            memset(&e_, 0, sizeof e_);                                                             \
            int rc_ = rill__msg_##kind##_dec((TYPE), enc1_.data, cut_, &d_, &e_);                  \
            CHECK(rc_ == RILL_EPROTO || rc_ == RILL_ELIMIT);                                       \
            CHECK_CONTAINS(e_.msg, NAME);                                                          \
        }                                                                                          \
        rill__buf_putc(&enc1_, 0);                                                                 \
        CHECK_EQ(rill__msg_##kind##_dec((TYPE), enc1_.data, enc1_.len, &d_, &e_), RILL_EPROTO);    \
        CHECK_CONTAINS(e_.msg, NAME);                                                              \
        rill__buf_free(&enc1_);                                                                    \
        rill__buf_free(&enc2_);                                                                    \
    } while (0)

#define JAR_ID "0123456789abcdef0123456789abcdef.so"

static uint8_t sample_bytes[600];

static rill__msg_jar_data sample_jar_data(void)
{
    rill__msg_jar_data m = {.total = 1000, .offset = 400, .len = 600, .data = sample_bytes};
    strcpy(m.jar_id, JAR_ID);
    for (int i = 0; i < RILL_SHA256_LEN; i++)
        m.sha256[i] = (uint8_t)(0xa0 + i);
    for (size_t i = 0; i < sizeof sample_bytes; i++)
        sample_bytes[i] = (uint8_t)rill__mix64(i);
    return m;
}

/* A DEPLOY with every kind of field: three options, two arguments, three TaskManagers, five
 * tasks. Its strings are static. */
static char *opt_k[] = {"parallelism", "checkpoint.dir", "restart-strategy"};
static char *opt_v[] = {"4", "/var/lib/rill/ckpt", ""};
static char *args_s[] = {"/tmp/job.so", "--input=/data/in"};
static rill__deploy_tm tms3[3] = {{"tm-a", "10.0.0.1", 7001},
                                  {"tm-b", "fe80::1%eth0", 7002},
                                  {"tm.c_9", "host-c.example", 65535}};
static uint16_t tasks5[5] = {0, 1, 2, 2, 0};

static rill__msg_deploy sample_deploy(void)
{
    rill__msg_deploy m = {.job_id = 7,
                          .attempt = 2,
                          .n_opts = 3,
                          .opt_keys = opt_k,
                          .opt_values = opt_v,
                          .n_args = 2,
                          .args = args_s,
                          .restore_kind = RILL_RESTORE_CHECKPOINT,
                          .restore_id = 12,
                          .n_tms = 3,
                          .tms = tms3,
                          .n_tasks = 5,
                          .tm_of_task = tasks5};
    strcpy(m.jar_id, JAR_ID);
    for (int i = 0; i < RILL_SHA256_LEN; i++)
        m.jar_sha256[i] = (uint8_t)i;
    strcpy(m.job_name, "word count");
    return m;
}

/* DEPLOY encoded by hand from docs/protocol.md's layout, without any limit: sha_len bytes of
 * jar_sha256 (the rest zeros), and each count as wire[k] when >= 0 (opts, args, tms, tasks)
 * while m's elements follow as they are. */
static void deploy_by_hand(rill__buf *b, const rill__msg_deploy *m, size_t sha_len,
                           const int64_t wire[4])
{
    uint8_t sha[64] = {0};
    memcpy(sha, m->jar_sha256, RILL_SHA256_LEN);
    rill__enc e;
    rill__enc_init(&e, b);
    size_t big = 1u << 20;
    rill__enc_u64(&e, m->job_id);
    rill__enc_u32(&e, m->attempt);
    rill__enc_str(&e, "jar_id", m->jar_id, big);
    rill__enc_bytes(&e, "jar_sha256", sha, sha_len, big);
    rill__enc_str(&e, "job_name", m->job_name, big);
    rill__enc_u32(&e, wire && wire[0] >= 0 ? (uint32_t)wire[0] : m->n_opts);
    for (uint32_t i = 0; i < m->n_opts; i++) {
        rill__enc_str(&e, "k", m->opt_keys[i], big);
        rill__enc_str(&e, "v", m->opt_values[i], big);
    }
    rill__enc_u32(&e, wire && wire[1] >= 0 ? (uint32_t)wire[1] : m->n_args);
    for (uint32_t i = 0; i < m->n_args; i++)
        rill__enc_str(&e, "a", m->args[i], big);
    rill__enc_u8(&e, m->restore_kind);
    rill__enc_u64(&e, m->restore_id);
    rill__enc_u32(&e, wire && wire[2] >= 0 ? (uint32_t)wire[2] : m->n_tms);
    for (uint32_t i = 0; i < m->n_tms; i++) {
        rill__enc_str(&e, "t", m->tms[i].tm_id, big);
        rill__enc_str(&e, "h", m->tms[i].data_host, big);
        rill__enc_u16(&e, m->tms[i].data_port);
    }
    rill__enc_u32(&e, wire && wire[3] >= 0 ? (uint32_t)wire[3] : m->n_tasks);
    for (uint32_t i = 0; i < m->n_tasks; i++)
        rill__enc_u16(&e, m->tm_of_task[i]);
    CHECK_RC(e.rc);
}

static void check_deploy_eq(const rill__msg_deploy *a, const rill__msg_deploy *b)
{
    CHECK(a->job_id == b->job_id);
    CHECK_EQ(a->attempt, b->attempt);
    CHECK_STR(a->jar_id, b->jar_id);
    CHECK(memcmp(a->jar_sha256, b->jar_sha256, RILL_SHA256_LEN) == 0);
    CHECK_STR(a->job_name, b->job_name);
    CHECK_EQ(a->n_opts, b->n_opts);
    for (uint32_t i = 0; i < a->n_opts; i++) {
        CHECK_STR(a->opt_keys[i], b->opt_keys[i]);
        CHECK_STR(a->opt_values[i], b->opt_values[i]);
    }
    CHECK_EQ(a->n_args, b->n_args);
    for (uint32_t i = 0; i < a->n_args; i++)
        CHECK_STR(a->args[i], b->args[i]);
    CHECK_EQ(a->restore_kind, b->restore_kind);
    CHECK(a->restore_id == b->restore_id);
    CHECK_EQ(a->n_tms, b->n_tms);
    for (uint32_t i = 0; i < a->n_tms; i++) {
        CHECK_STR(a->tms[i].tm_id, b->tms[i].tm_id);
        CHECK_STR(a->tms[i].data_host, b->tms[i].data_host);
        CHECK_EQ(a->tms[i].data_port, b->tms[i].data_port);
    }
    CHECK_EQ(a->n_tasks, b->n_tasks);
    for (uint32_t i = 0; i < a->n_tasks; i++)
        CHECK_EQ(a->tm_of_task[i], b->tm_of_task[i]);
}

static void check_deploy_empty(const rill__msg_deploy *d)
{
    CHECK(!d->opt_keys && !d->opt_values && !d->args && !d->tms && !d->tm_of_task);
    CHECK(!d->n_opts && !d->n_args && !d->n_tms && !d->n_tasks);
}

/* ROUND_TRIP for DEPLOY, whose decoded arrays are freed after every decode: the encoding is
 * the by-hand layout, decodes to m, re-encodes to the same bytes; every truncation and a
 * trailing byte are refused with nothing left allocated. */
static void deploy_round_trip(const rill__msg_deploy *m)
{
    rill__buf enc1 = {0}, enc2 = {0}, hand = {0};
    rill__err err = {0};
    CHECK_RC(rill__msg_deploy_enc(&enc1, m));
    deploy_by_hand(&hand, m, RILL_SHA256_LEN, NULL);
    CHECK(hand.len == enc1.len && memcmp(hand.data, enc1.data, enc1.len) == 0);
    rill__msg_deploy d;
    CHECK_RC(rill__msg_deploy_dec(enc1.data, enc1.len, &d, &err));
    check_deploy_eq(&d, m);
    CHECK_RC(rill__msg_deploy_enc(&enc2, &d));
    CHECK(enc2.len == enc1.len && memcmp(enc2.data, enc1.data, enc1.len) == 0);
    rill__msg_deploy_free(&d);
    check_deploy_empty(&d);
    rill__msg_deploy_free(&d); /* idempotent */
    rill__msg_deploy_free(NULL);
    /* every cut; of a large encoding every cut near its ends and a spread of the others (each
     * decode of the largest placement takes a while) */
    bool large = enc1.len > 4096;
    for (size_t cut = 0; cut < enc1.len;
         cut += large && cut >= 256 && cut + 64 < enc1.len ? 97 : 1) {
        memset(&err, 0, sizeof err);
        int rc = rill__msg_deploy_dec(enc1.data, cut, &d, &err);
        CHECK(rc == RILL_EPROTO || rc == RILL_ELIMIT);
        CHECK_CONTAINS(err.msg, "DEPLOY");
        check_deploy_empty(&d);
    }
    rill__buf_putc(&enc1, 0);
    CHECK_EQ(rill__msg_deploy_dec(enc1.data, enc1.len, &d, &err), RILL_EPROTO);
    CHECK_CONTAINS(err.msg, "DEPLOY");
    CHECK_CONTAINS(err.msg, "trailing");
    check_deploy_empty(&d);
    rill__buf_free(&enc1);
    rill__buf_free(&enc2);
    rill__buf_free(&hand);
}

static const uint16_t job_types[] = {RILL_FT_CANCEL,     RILL_FT_RELEASE,    RILL_FT_RELEASED,
                                     RILL_FT_TRIGGER,    RILL_FT_ABORT_STOP, RILL_FT_COMPLETE,
                                     RILL_FT_END_OF_DATA};
static const char *const job_names[] = {"CANCEL",     "RELEASE",  "RELEASED",   "TRIGGER",
                                        "ABORT_STOP", "COMPLETE", "END_OF_DATA"};

static rill__msg_ack sample_ack(void)
{
    rill__msg_ack m = {.job_id = 3,
                       .attempt = 1,
                       .task = 17,
                       .ckpt_id = 9,
                       .rc = 0,
                       .bytes = 123456789,
                       .full_bytes = 223456789,
                       .align_ms = 42};
    strcpy(m.file, "window-2.3");
    return m;
}

static rill__msg_data_open sample_data_open(void)
{
    rill__msg_data_open m = {.job_id = 5, .attempt = 0};
    strcpy(m.from_tm, "tm-0a");
    strcpy(m.to_tm, "tm-0b");
    return m;
}

TEST(control_deploy_messages_round_trip)
{
    CHECK(rill__jar_id_ok(JAR_ID));
    rill__msg_jar_data jd = sample_jar_data();
    ROUND_TRIP(jar_data, jd, "JAR_DATA");
    {
        rill__buf b = {0};
        rill__err err = {0};
        rill__msg_jar_data out;
        CHECK_RC(rill__msg_jar_data_enc(&b, &jd));
        CHECK_EQ(b.len, 4 + 35 + 8 + 8 + 4 + 32 + 4 + 600);
        CHECK_RC(rill__msg_jar_data_dec(b.data, b.len, &out, &err));
        CHECK_STR(out.jar_id, JAR_ID);
        CHECK(out.total == 1000 && out.offset == 400 && out.len == 600);
        CHECK(memcmp(out.sha256, jd.sha256, RILL_SHA256_LEN) == 0);
        CHECK(out.data == (const uint8_t *)b.data + b.len - 600); /* borrowed from the payload */
        CHECK(memcmp(out.data, sample_bytes, 600) == 0);
        rill__buf_free(&b);
    }
    jd.offset = 0; /* the only piece, and the last piece of the largest object */
    jd.total = jd.len;
    ROUND_TRIP(jar_data, jd, "JAR_DATA");
    static uint8_t chunk[RILL_JAR_CHUNK_MAX];
    jd.data = chunk;
    jd.len = RILL_JAR_CHUNK_MAX;
    jd.total = RILL_JAR_SIZE_MAX;
    jd.offset = RILL_JAR_SIZE_MAX - RILL_JAR_CHUNK_MAX;
    ROUND_TRIP(jar_data, jd, "JAR_DATA");

    rill__msg_deploy dep = sample_deploy();
    deploy_round_trip(&dep);
    dep.n_opts = dep.n_args = 0; /* no options, no arguments, one TaskManager */
    dep.opt_keys = dep.opt_values = dep.args = NULL;
    dep.restore_kind = RILL_RESTORE_NONE;
    dep.restore_id = 0;
    dep.n_tms = 1;
    dep.n_tasks = 1;
    dep.job_name[0] = 0;
    deploy_round_trip(&dep);
    dep = sample_deploy();
    dep.restore_kind = RILL_RESTORE_SAVEPOINT;
    dep.restore_id = 0;
    dep.attempt = UINT32_MAX;
    deploy_round_trip(&dep);

    for (size_t k = 0; k < sizeof job_types / sizeof job_types[0]; k++) {
        rill__msg_job j = {.job_id = 11, .attempt = 3};
        if (job_types[k] == RILL_FT_TRIGGER || job_types[k] == RILL_FT_ABORT_STOP ||
            job_types[k] == RILL_FT_COMPLETE)
            j.ckpt_id = 1 + k;
        if (job_types[k] == RILL_FT_TRIGGER) {
            j.stop = RILL_STOP_NO_DRAIN;
            j.savepoint = 1;
        }
        if (job_types[k] == RILL_FT_END_OF_DATA)
            j.task = RILL_DEPLOY_TASKS_MAX - 1;
        ROUND_TRIP_T(job, job_types[k], j, job_names[k]);
        rill__buf b = {0};
        rill__err err = {0};
        rill__msg_job out;
        CHECK_RC(rill__msg_job_enc(&b, job_types[k], &j));
        size_t want = 12;
        if (j.ckpt_id)
            want += 8;
        if (job_types[k] == RILL_FT_TRIGGER)
            want += 2;
        if (job_types[k] == RILL_FT_END_OF_DATA)
            want += 4;
        CHECK_EQ(b.len, want);
        CHECK_RC(rill__msg_job_dec(job_types[k], b.data, b.len, &out, &err));
        CHECK(out.job_id == 11 && out.attempt == 3 && out.ckpt_id == j.ckpt_id &&
              out.stop == j.stop && out.savepoint == j.savepoint && out.task == j.task);
        rill__buf_free(&b);
    }
    /* fields another type carries are not on the wire: they decode as 0 */
    {
        rill__msg_job j = {.job_id = 1, .ckpt_id = 5, .stop = 1, .task = 9}, out;
        rill__buf b = {0};
        rill__err err = {0};
        CHECK_RC(rill__msg_job_enc(&b, RILL_FT_CANCEL, &j));
        CHECK_EQ(b.len, 12);
        CHECK_RC(rill__msg_job_dec(RILL_FT_CANCEL, b.data, b.len, &out, &err));
        CHECK(out.ckpt_id == 0 && out.stop == 0 && out.task == 0);
        rill__buf_free(&b);
    }

    rill__msg_task_state ts = {
        .job_id = 4, .attempt = 1, .task = 3, .state = RILL_TASK_FAILED, .rc = INT32_MIN};
    strcpy(ts.msg, "map-3: division by zero");
    ROUND_TRIP_T(task_state, RILL_FT_TASK_STATE, ts, "TASK_STATE");
    ts.state = RILL_TASK_RUNNING;
    ts.rc = INT32_MAX; /* any int32 for a task state */
    ts.msg[0] = 0;
    ROUND_TRIP_T(task_state, RILL_FT_TASK_STATE, ts, "TASK_STATE");
    rill__msg_task_state jf = {.job_id = 4, .attempt = 1, .rc = RILL_EPROTO};
    strcpy(jf.msg, "data connection to tm-b: closed");
    ROUND_TRIP_T(task_state, RILL_FT_JOB_FAILED, jf, "JOB_FAILED");
    {
        rill__buf b = {0};
        rill__err err = {0};
        rill__msg_task_state out;
        CHECK_RC(rill__msg_task_state_enc(&b, RILL_FT_JOB_FAILED, &jf));
        CHECK_EQ(b.len, 8 + 4 + 8 + 4 + strlen(jf.msg));
        CHECK_RC(rill__msg_task_state_dec(RILL_FT_JOB_FAILED, b.data, b.len, &out, &err));
        CHECK_EQ(out.rc, RILL_EPROTO);
        CHECK_EQ(out.task, 0);
        CHECK_EQ(out.state, 0);
        CHECK_STR(out.msg, jf.msg);
        rill__buf_free(&b);
    }

    rill__msg_ack ack = sample_ack();
    ROUND_TRIP(ack, ack, "ACK");
    {
        rill__buf b = {0};
        rill__err err = {0};
        rill__msg_ack out;
        CHECK_RC(rill__msg_ack_enc(&b, &ack));
        CHECK_RC(rill__msg_ack_dec(b.data, b.len, &out, &err));
        CHECK(out.job_id == 3 && out.attempt == 1 && out.task == 17 && out.ckpt_id == 9 &&
              out.rc == 0 && out.bytes == 123456789 && out.full_bytes == 223456789 &&
              out.align_ms == 42);
        CHECK_STR(out.file, "window-2.3");
        CHECK_STR(out.reason, "");
        rill__buf_free(&b);
    }
    ack.rc = RILL_EIO; /* a failure: no file, a reason */
    ack.file[0] = 0;
    strcpy(ack.reason, "task map-1: snapshot failed: disk full");
    ROUND_TRIP(ack, ack, "ACK");

    rill__msg_data_open op = sample_data_open();
    ROUND_TRIP(data_open, op, "DATA_OPEN");
    {
        rill__buf b = {0};
        rill__err err = {0};
        rill__msg_data_open out;
        CHECK_RC(rill__msg_data_open_enc(&b, &op));
        CHECK_EQ(b.len, 8 + 4 + 4 + 5 + 4 + 5);
        CHECK_RC(rill__msg_data_open_dec(b.data, b.len, &out, &err));
        CHECK(out.job_id == 5 && out.attempt == 0);
        CHECK_STR(out.from_tm, "tm-0a");
        CHECK_STR(out.to_tm, "tm-0b");
        rill__buf_free(&b);
    }
}

/* Encodes M with its encoder (which checks lengths only), then checks that decoding it fails
 * with RC naming FIELD. */
#define EXPECT_BAD(kind, M, RC, FIELD)                                                             \
    do {                                                                                           \
        rill__buf buf_ = {0};                                                                      \
        rill__err err_ = {0};                                                                      \
        rill__msg_##kind dec_;                                                                     \
        CHECK_RC(rill__msg_##kind##_enc(&buf_, &(M)));                                             \
        CHECK_EQ(rill__msg_##kind##_dec(buf_.data, buf_.len, &dec_, &err_), (RC));                 \
        CHECK_CONTAINS(err_.msg, "'" FIELD "'");                                                   \
        rill__buf_free(&buf_);                                                                     \
    } while (0)
#define EXPECT_BAD_T(kind, TYPE, M, RC, FIELD)                                                     \
    do {                                                                                           \
        rill__buf buf_ = {0};                                                                      \
        rill__err err_ = {0};                                                                      \
        rill__msg_##kind dec_;                                                                     \
        CHECK_RC(rill__msg_##kind##_enc(&buf_, (TYPE), &(M)));                                     \
        CHECK_EQ(rill__msg_##kind##_dec((TYPE), buf_.data, buf_.len, &dec_, &err_), (RC));         \
        CHECK_CONTAINS(err_.msg, "'" FIELD "'");                                                   \
        rill__buf_free(&buf_);                                                                     \
    } while (0)

/* Decodes payload b as a DEPLOY: fails with rc naming field, nothing left allocated. */
static void expect_deploy_dec_bad(const rill__buf *b, int rc, const char *field)
{
    rill__err err = {0};
    rill__msg_deploy d;
    CHECK_EQ(rill__msg_deploy_dec(b->data, b->len, &d, &err), rc);
    char want[64];
    snprintf(want, sizeof want, "'%s'", field);
    CHECK_CONTAINS(err.msg, want);
    CHECK_CONTAINS(err.msg, "DEPLOY");
    check_deploy_empty(&d);
}

static void expect_deploy_bad(const rill__msg_deploy *m, size_t sha_len, const int64_t wire[4],
                              int rc, const char *field)
{
    rill__buf b = {0};
    deploy_by_hand(&b, m, sha_len, wire);
    expect_deploy_dec_bad(&b, rc, field);
    rill__buf_free(&b);
}

/* JAR_DATA by hand, without limits: sha_len bytes of sha256, data of data_len bytes. */
static void jar_data_by_hand(rill__buf *b, const rill__msg_jar_data *m, size_t sha_len,
                             const void *data, size_t data_len)
{
    uint8_t sha[64] = {0};
    rill__enc e;
    rill__enc_init(&e, b);
    rill__enc_str(&e, "jar_id", m->jar_id, 1u << 20);
    rill__enc_u64(&e, m->total);
    rill__enc_u64(&e, m->offset);
    rill__enc_bytes(&e, "sha256", sha, sha_len, 64);
    rill__enc_bytes(&e, "data", data, data_len, 1u << 30);
    CHECK_RC(e.rc);
}

static void expect_jar_data_bad(const rill__buf *b, int rc, const char *field)
{
    rill__err err = {0};
    rill__msg_jar_data out;
    CHECK_EQ(rill__msg_jar_data_dec(b->data, b->len, &out, &err), rc);
    char want[64];
    snprintf(want, sizeof want, "'%s'", field);
    CHECK_CONTAINS(err.msg, want);
    CHECK(out.data == NULL);
}

/* A message of the rc-carrying kinds with rc as any i64 (the structs hold only int32). */
static void expect_rc_bad(int which, int64_t rc)
{
    rill__buf b = {0};
    rill__err err = {0};
    rill__enc e;
    rill__enc_init(&e, &b);
    rill__enc_u64(&e, 1);
    rill__enc_u32(&e, 0);
    if (which == 0) { /* TASK_STATE */
        rill__enc_u32(&e, 0);
        rill__enc_u8(&e, RILL_TASK_FAILED);
    } else if (which == 2) { /* ACK */
        rill__enc_u32(&e, 0);
        rill__enc_u64(&e, 1);
    }
    rill__enc_i64(&e, rc);
    if (which == 2) {
        rill__enc_u64(&e, 0);
        rill__enc_i64(&e, 0);
        rill__enc_str(&e, "file", "", 10);
    }
    rill__enc_str(&e, "msg", "", 10);
    int got;
    if (which == 2) {
        rill__msg_ack a;
        got = rill__msg_ack_dec(b.data, b.len, &a, &err);
    } else {
        rill__msg_task_state t;
        got = rill__msg_task_state_dec(which == 0 ? RILL_FT_TASK_STATE : RILL_FT_JOB_FAILED, b.data,
                                       b.len, &t, &err);
    }
    CHECK_EQ(got, RILL_EPROTO);
    CHECK_CONTAINS(err.msg, "'rc'");
    rill__buf_free(&b);
}

TEST(control_deploy_messages_bad_values)
{
    /* ---- jar ids */
    static const char *const bad_ids[] = {"",
                                          "0123456789ABCDEF0123456789abcdef.so",
                                          "0123456789abcdef0123456789abcde.so",
                                          "0123456789abcdef0123456789abcdef0.so",
                                          "0123456789abcdef0123456789abcdef.sx",
                                          "0123456789abcdef0123456789abcdef.so.1",
                                          "0123456789abcdef0123456789abcdef",
                                          "0123456789abcdeg0123456789abcdef.so",
                                          "../0123456789abcdef0123456789abc.so"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        CHECK(!rill__jar_id_ok(bad_ids[i]));
        rill__msg_jar_data jd = sample_jar_data();
        strcpy(jd.jar_id, bad_ids[i]);
        EXPECT_BAD(jar_data, jd, RILL_EPROTO, "jar_id");
        rill__msg_deploy dep = sample_deploy();
        strcpy(dep.jar_id, bad_ids[i]);
        expect_deploy_bad(&dep, RILL_SHA256_LEN, NULL, RILL_EPROTO, "jar_id");
    }

    /* ---- JAR_DATA */
    rill__msg_jar_data jd = sample_jar_data();
    jd.total = 0;
    EXPECT_BAD(jar_data, jd, RILL_EPROTO, "total");
    jd.total = (uint64_t)RILL_JAR_SIZE_MAX + 1;
    EXPECT_BAD(jar_data, jd, RILL_EPROTO, "total");
    jd = sample_jar_data();
    jd.offset = jd.total; /* a piece past the end */
    EXPECT_BAD(jar_data, jd, RILL_EPROTO, "offset");
    jd.offset = UINT64_MAX - 100; /* offset + len would wrap */
    EXPECT_BAD(jar_data, jd, RILL_EPROTO, "offset");
    jd = sample_jar_data();
    jd.offset = 401; /* offset + len = total + 1 */
    EXPECT_BAD(jar_data, jd, RILL_EPROTO, "data");
    jd.offset = 0;
    jd.len = 0;
    EXPECT_BAD(jar_data, jd, RILL_EPROTO, "data");
    jd = sample_jar_data();
    rill__buf b = {0};
    jar_data_by_hand(&b, &jd, RILL_SHA256_LEN - 1, sample_bytes, 600);
    expect_jar_data_bad(&b, RILL_EPROTO, "sha256");
    rill__buf_free(&b);
    jar_data_by_hand(&b, &jd, RILL_SHA256_LEN + 1, sample_bytes, 600);
    expect_jar_data_bad(&b, RILL_ELIMIT, "sha256");
    rill__buf_free(&b);
    jar_data_by_hand(&b, &jd, RILL_SHA256_LEN, sample_bytes, 600);
    CHECK_EQ(b.len, 4 + 35 + 8 + 8 + 4 + 32 + 4 + 600); /* the by-hand layout is valid */
    rill__buf_free(&b);
    uint8_t *big = calloc(RILL_JAR_CHUNK_MAX + 1, 1);
    CHECK(big != NULL);
    jd.offset = 0;
    jd.total = RILL_JAR_CHUNK_MAX + 1;
    jar_data_by_hand(&b, &jd, RILL_SHA256_LEN, big, RILL_JAR_CHUNK_MAX + 1);
    expect_jar_data_bad(&b, RILL_ELIMIT, "data");
    rill__buf_free(&b);
    jd.data = big;
    jd.len = RILL_JAR_CHUNK_MAX + 1; /* the encoder refuses a piece over the limit too */
    CHECK_EQ(rill__msg_jar_data_enc(&b, &jd), RILL_ELIMIT);
    rill__buf_free(&b);
    free(big);

    /* ---- DEPLOY */
    rill__msg_deploy dep = sample_deploy();
    dep.job_id = 0;
    expect_deploy_bad(&dep, RILL_SHA256_LEN, NULL, RILL_EPROTO, "job_id");
    dep = sample_deploy();
    expect_deploy_bad(&dep, RILL_SHA256_LEN - 1, NULL, RILL_EPROTO, "jar_sha256");
    expect_deploy_bad(&dep, 0, NULL, RILL_EPROTO, "jar_sha256");
    expect_deploy_bad(&dep, RILL_SHA256_LEN + 1, NULL, RILL_ELIMIT, "jar_sha256");

    static char *keys65[RILL_DEPLOY_OPTS_MAX + 1], *vals65[RILL_DEPLOY_OPTS_MAX + 1];
    for (int i = 0; i <= RILL_DEPLOY_OPTS_MAX; i++)
        keys65[i] = "k", vals65[i] = "v";
    dep.opt_keys = keys65;
    dep.opt_values = vals65;
    dep.n_opts = RILL_DEPLOY_OPTS_MAX + 1;
    expect_deploy_bad(&dep, RILL_SHA256_LEN, NULL, RILL_EPROTO, "n_opts");
    CHECK_EQ(rill__msg_deploy_enc(&b, &dep), RILL_ELIMIT);
    rill__buf_free(&b);
    dep.n_opts = RILL_DEPLOY_OPTS_MAX; /* the most */
    deploy_round_trip(&dep);

    char *empty_key[] = {"parallelism", ""}, *two_vals[] = {"2", "x"};
    dep = sample_deploy();
    dep.opt_keys = empty_key;
    dep.opt_values = two_vals;
    dep.n_opts = 2;
    expect_deploy_bad(&dep, RILL_SHA256_LEN, NULL, RILL_EPROTO, "opt_key");
    char long_key[RILL_OPT_KEY_MAX + 2], long_val[RILL_OPT_VALUE_MAX + 2];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = 0;
    memset(long_val, 'v', sizeof long_val - 1);
    long_val[sizeof long_val - 1] = 0;
    char *k1[] = {long_key}, *v1[] = {"1"}, *k2[] = {"name"}, *v2[] = {long_val};
    dep = sample_deploy();
    dep.n_opts = 1;
    dep.opt_keys = k1;
    dep.opt_values = v1;
    expect_deploy_bad(&dep, RILL_SHA256_LEN, NULL, RILL_ELIMIT, "opt_key");
    CHECK_EQ(rill__msg_deploy_enc(&b, &dep), RILL_ELIMIT);
    rill__buf_free(&b);
    dep.opt_keys = k2;
    dep.opt_values = v2;
    expect_deploy_bad(&dep, RILL_SHA256_LEN, NULL, RILL_ELIMIT, "opt_value");
    CHECK_EQ(rill__msg_deploy_enc(&b, &dep), RILL_ELIMIT);
    rill__buf_free(&b);
    long_val[RILL_OPT_VALUE_MAX] = 0; /* the longest key and value */
    long_key[RILL_OPT_KEY_MAX] = 0;
    dep.opt_keys = k1;
    deploy_round_trip(&dep);

    static char *args257[RILL_DEPLOY_ARGS_MAX + 1];
    for (int i = 0; i <= RILL_DEPLOY_ARGS_MAX; i++)
        args257[i] = "";
    dep = sample_deploy();
    dep.args = args257;
    dep.n_args = RILL_DEPLOY_ARGS_MAX + 1;
    expect_deploy_bad(&dep, RILL_SHA256_LEN, NULL, RILL_EPROTO, "n_args");
    CHECK_EQ(rill__msg_deploy_enc(&b, &dep), RILL_ELIMIT);
    rill__buf_free(&b);
    dep.n_args = RILL_DEPLOY_ARGS_MAX;
    deploy_round_trip(&dep);
    long_val[RILL_ARG_MAX] = 'v';
    char *a1[] = {"/tmp/job.so", long_val};
    dep.args = a1;
    dep.n_args = 2;
    expect_deploy_bad(&dep, RILL_SHA256_LEN, NULL, RILL_ELIMIT, "arg");
    CHECK_EQ(rill__msg_deploy_enc(&b, &dep), RILL_ELIMIT);
    rill__buf_free(&b);

    dep = sample_deploy();
    dep.restore_kind = 3;
    expect_deploy_bad(&dep, RILL_SHA256_LEN, NULL, RILL_EPROTO, "restore_kind");
    dep.restore_kind = RILL_RESTORE_CHECKPOINT;
    dep.restore_id = 0;
    expect_deploy_bad(&dep, RILL_SHA256_LEN, NULL, RILL_EPROTO, "restore_id");

    dep = sample_deploy();
    dep.n_tms = 0;
    dep.n_tasks = 0;
    expect_deploy_bad(&dep, RILL_SHA256_LEN, NULL, RILL_EPROTO, "n_tms");
    static rill__deploy_tm tms1025[RILL_TM_SLOTS_MAX + 1];
    for (int i = 0; i <= RILL_TM_SLOTS_MAX; i++) {
        snprintf(tms1025[i].tm_id, sizeof tms1025[i].tm_id, "tm-%d", i);
        strcpy(tms1025[i].data_host, "h");
        tms1025[i].data_port = 1;
    }
    dep = sample_deploy();
    dep.tms = tms1025;
    dep.n_tms = RILL_TM_SLOTS_MAX + 1;
    expect_deploy_bad(&dep, RILL_SHA256_LEN, NULL, RILL_EPROTO, "n_tms");
    CHECK_EQ(rill__msg_deploy_enc(&b, &dep), RILL_ELIMIT);
    rill__buf_free(&b);
    dep.n_tms = RILL_TM_SLOTS_MAX;
    deploy_round_trip(&dep);

    rill__deploy_tm bad_tms[3];
    static const struct {
        const char *id, *host;
        uint16_t port;
        const char *field;
    } tm_cases[] = {
        {"", "h", 1, "tm_id"},           {"tm a", "h", 1, "tm_id"},
        {"tm/1", "h", 1, "tm_id"},       {"tm-a", "h", 1, "tm_id"}, /* the same id as tms3[0] */
        {"tm-x", "", 1, "data_host"},    {"tm-x", "a b", 1, "data_host"},
        {"tm-x", "h\n", 1, "data_host"}, {"tm-x", "h", 0, "data_port"},
    };
    for (size_t i = 0; i < sizeof tm_cases / sizeof tm_cases[0]; i++) {
        memcpy(bad_tms, tms3, sizeof bad_tms);
        strcpy(bad_tms[2].tm_id, tm_cases[i].id);
        strcpy(bad_tms[2].data_host, tm_cases[i].host);
        bad_tms[2].data_port = tm_cases[i].port;
        dep = sample_deploy();
        dep.tms = bad_tms;
        expect_deploy_bad(&dep, RILL_SHA256_LEN, NULL, RILL_EPROTO, tm_cases[i].field);
    }

    dep = sample_deploy();
    dep.n_tasks = 0;
    expect_deploy_bad(&dep, RILL_SHA256_LEN, NULL, RILL_EPROTO, "n_tasks");
    static uint16_t tasks_max[RILL_DEPLOY_TASKS_MAX + 1];
    dep.tm_of_task = tasks_max;
    dep.n_tasks = RILL_DEPLOY_TASKS_MAX + 1;
    expect_deploy_bad(&dep, RILL_SHA256_LEN, NULL, RILL_EPROTO, "n_tasks");
    CHECK_EQ(rill__msg_deploy_enc(&b, &dep), RILL_ELIMIT);
    rill__buf_free(&b);
    dep.n_tasks = RILL_DEPLOY_TASKS_MAX;
    deploy_round_trip(&dep);
    uint16_t bad_task[5] = {0, 1, 3, 2, 0}; /* 3: no such TaskManager of three */
    dep = sample_deploy();
    dep.tm_of_task = bad_task;
    expect_deploy_bad(&dep, RILL_SHA256_LEN, NULL, RILL_EPROTO, "tm_of_task");
    bad_task[2] = UINT16_MAX;
    expect_deploy_bad(&dep, RILL_SHA256_LEN, NULL, RILL_EPROTO, "tm_of_task");

    /* ---- job messages */
    for (size_t k = 0; k < sizeof job_types / sizeof job_types[0]; k++) {
        uint16_t t = job_types[k];
        bool ckpt = t == RILL_FT_TRIGGER || t == RILL_FT_ABORT_STOP || t == RILL_FT_COMPLETE;
        rill__msg_job j = {.job_id = 0, .ckpt_id = 1};
        EXPECT_BAD_T(job, t, j, RILL_EPROTO, "job_id");
        if (ckpt) {
            j = (rill__msg_job){.job_id = 1, .ckpt_id = 0};
            EXPECT_BAD_T(job, t, j, RILL_EPROTO, "ckpt_id");
        }
    }
    rill__msg_job j = {.job_id = 1, .ckpt_id = 1, .stop = RILL_STOP_NO_DRAIN + 1};
    EXPECT_BAD_T(job, RILL_FT_TRIGGER, j, RILL_EPROTO, "stop");
    j = (rill__msg_job){.job_id = 1, .ckpt_id = 1, .savepoint = 2};
    EXPECT_BAD_T(job, RILL_FT_TRIGGER, j, RILL_EPROTO, "savepoint");
    j = (rill__msg_job){.job_id = 1, .task = RILL_DEPLOY_TASKS_MAX};
    EXPECT_BAD_T(job, RILL_FT_END_OF_DATA, j, RILL_EPROTO, "task");
    {
        rill__err err = {0};
        rill__msg_job out;
        j = (rill__msg_job){.job_id = 1};
        CHECK_EQ(rill__msg_job_enc(&b, RILL_FT_REGISTER_TM, &j), RILL_EINVAL);
        CHECK_EQ(rill__msg_job_enc(&b, RILL_FT_ACK, &j), RILL_EINVAL);
        CHECK_EQ(b.len, 0);
        CHECK_RC(rill__msg_job_enc(&b, RILL_FT_CANCEL, &j));
        CHECK_EQ(rill__msg_job_dec(RILL_FT_TASK_STATE, b.data, b.len, &out, &err), RILL_EPROTO);
        CHECK_CONTAINS(err.msg, "0x0110");
        /* a CANCEL is not a TRIGGER: its payload is too short for one */
        CHECK_EQ(rill__msg_job_dec(RILL_FT_TRIGGER, b.data, b.len, &out, &err), RILL_EPROTO);
        CHECK_CONTAINS(err.msg, "TRIGGER: field 'ckpt_id'");
        rill__buf_free(&b);
    }

    /* ---- TASK_STATE and JOB_FAILED */
    rill__msg_task_state ts = {.job_id = 0, .state = RILL_TASK_RUNNING};
    EXPECT_BAD_T(task_state, RILL_FT_TASK_STATE, ts, RILL_EPROTO, "job_id");
    ts.rc = -1;
    EXPECT_BAD_T(task_state, RILL_FT_JOB_FAILED, ts, RILL_EPROTO, "job_id");
    ts = (rill__msg_task_state){.job_id = 1, .state = RILL_TASK_CREATED};
    EXPECT_BAD_T(task_state, RILL_FT_TASK_STATE, ts, RILL_EPROTO, "state");
    ts.state = RILL_TASK_CANCELED + 1;
    EXPECT_BAD_T(task_state, RILL_FT_TASK_STATE, ts, RILL_EPROTO, "state");
    ts.state = RILL_TASK_CANCELED;
    ts.task = RILL_DEPLOY_TASKS_MAX;
    EXPECT_BAD_T(task_state, RILL_FT_TASK_STATE, ts, RILL_EPROTO, "task");
    ts = (rill__msg_task_state){.job_id = 1, .rc = 0};
    EXPECT_BAD_T(task_state, RILL_FT_JOB_FAILED, ts, RILL_EPROTO, "rc");
    ts.rc = 1;
    EXPECT_BAD_T(task_state, RILL_FT_JOB_FAILED, ts, RILL_EPROTO, "rc");
    expect_rc_bad(0, (int64_t)INT32_MAX + 1);
    expect_rc_bad(0, (int64_t)INT32_MIN - 1);
    expect_rc_bad(1, (int64_t)INT32_MIN - 1);
    expect_rc_bad(1, INT64_MIN);
    expect_rc_bad(2, (int64_t)INT32_MIN - 1);
    expect_rc_bad(2, 1);
    {
        rill__err err = {0};
        rill__msg_task_state out;
        CHECK_EQ(rill__msg_task_state_enc(&b, RILL_FT_CANCEL, &ts), RILL_EINVAL);
        ts.rc = -1;
        CHECK_RC(rill__msg_task_state_enc(&b, RILL_FT_JOB_FAILED, &ts));
        CHECK_EQ(rill__msg_task_state_dec(RILL_FT_DEPLOY, b.data, b.len, &out, &err), RILL_EPROTO);
        CHECK_CONTAINS(err.msg, "0x0105");
        rill__buf_free(&b);
        char long_msg[RILL_TASK_MSG_MAX + 2]; /* over the limit: by hand, refused on its length */
        memset(long_msg, 'm', sizeof long_msg - 1);
        long_msg[sizeof long_msg - 1] = 0;
        rill__enc e;
        rill__enc_init(&e, &b);
        rill__enc_u64(&e, 1);
        rill__enc_u32(&e, 0);
        rill__enc_i64(&e, -1);
        rill__enc_str(&e, "msg", long_msg, 1u << 20);
        CHECK_EQ(rill__msg_task_state_dec(RILL_FT_JOB_FAILED, b.data, b.len, &out, &err),
                 RILL_ELIMIT);
        CHECK_CONTAINS(err.msg, "'msg'");
        rill__buf_free(&b);
    }

    /* ---- ACK */
    rill__msg_ack ack = sample_ack();
    ack.job_id = 0;
    EXPECT_BAD(ack, ack, RILL_EPROTO, "job_id");
    ack = sample_ack();
    ack.ckpt_id = 0;
    EXPECT_BAD(ack, ack, RILL_EPROTO, "ckpt_id");
    ack = sample_ack();
    ack.task = RILL_DEPLOY_TASKS_MAX;
    EXPECT_BAD(ack, ack, RILL_EPROTO, "task");
    ack = sample_ack();
    ack.rc = 1;
    EXPECT_BAD(ack, ack, RILL_EPROTO, "rc");
    ack = sample_ack();
    ack.align_ms = -1;
    EXPECT_BAD(ack, ack, RILL_EPROTO, "align_ms");
    ack = sample_ack();
    ack.full_bytes = ack.bytes - 1; /* less than was written */
    EXPECT_BAD(ack, ack, RILL_EPROTO, "full_bytes");
    static const char *const bad_files[] = {"", "a/b", "..", ".", "x..y", "_metadata", "a\tb"};
    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        ack = sample_ack();
        strcpy(ack.file, bad_files[i]);
        EXPECT_BAD(ack, ack, RILL_EPROTO, "file");
        if (i > 0) { /* named on a failure too, then it must still be a plain name */
            ack.rc = RILL_EIO;
            EXPECT_BAD(ack, ack, RILL_EPROTO, "file");
        }
    }

    /* ---- DATA_OPEN */
    rill__msg_data_open op = sample_data_open();
    op.job_id = 0;
    EXPECT_BAD(data_open, op, RILL_EPROTO, "job_id");
    op = sample_data_open();
    op.from_tm[0] = 0;
    EXPECT_BAD(data_open, op, RILL_EPROTO, "from_tm");
    strcpy(op.from_tm, "tm 1");
    EXPECT_BAD(data_open, op, RILL_EPROTO, "from_tm");
    op = sample_data_open();
    strcpy(op.to_tm, "tm:1");
    EXPECT_BAD(data_open, op, RILL_EPROTO, "to_tm");
    strcpy(op.to_tm, op.from_tm);
    EXPECT_BAD(data_open, op, RILL_EPROTO, "to_tm");
}

/* A count of 4 billion (or one the rest of the payload cannot hold) is refused on the count
 * itself, before anything is allocated for it (ASan would fail a 4-billion-element calloc). */
TEST(control_deploy_huge_counts)
{
    static const char *const names[4] = {"n_opts", "n_args", "n_tms", "n_tasks"};
    rill__msg_deploy dep = sample_deploy();
    for (int k = 0; k < 4; k++) {
        int64_t wire[4] = {-1, -1, -1, -1};
        wire[k] = UINT32_MAX;
        expect_deploy_bad(&dep, RILL_SHA256_LEN, wire, RILL_EPROTO, names[k]);
        wire[k] = 0x80000000u;
        expect_deploy_bad(&dep, RILL_SHA256_LEN, wire, RILL_EPROTO, names[k]);
    }
    /* within its limit, but more than the bytes left can hold */
    int64_t wire[4] = {RILL_DEPLOY_OPTS_MAX, -1, -1, -1};
    expect_deploy_bad(&dep, RILL_SHA256_LEN, wire, RILL_EPROTO, "n_opts");
    int64_t wire2[4] = {-1, RILL_DEPLOY_ARGS_MAX, -1, -1};
    expect_deploy_bad(&dep, RILL_SHA256_LEN, wire2, RILL_EPROTO, "n_args");
    int64_t wire3[4] = {-1, -1, RILL_TM_SLOTS_MAX, -1};
    expect_deploy_bad(&dep, RILL_SHA256_LEN, wire3, RILL_EPROTO, "n_tms");
    int64_t wire4[4] = {-1, -1, -1, RILL_DEPLOY_TASKS_MAX};
    expect_deploy_bad(&dep, RILL_SHA256_LEN, wire4, RILL_EPROTO, "n_tasks");
    int64_t wire5[4] = {-1, -1, -1, 6}; /* one task more than the five that follow */
    expect_deploy_bad(&dep, RILL_SHA256_LEN, wire5, RILL_EPROTO, "n_tasks");

    /* the counts alone, nothing after them */
    rill__buf b = {0};
    rill__enc e;
    rill__enc_init(&e, &b);
    rill__enc_u64(&e, 1);
    rill__enc_u32(&e, 0);
    rill__enc_str(&e, "jar_id", JAR_ID, 64);
    rill__enc_bytes(&e, "jar_sha256", dep.jar_sha256, RILL_SHA256_LEN, RILL_SHA256_LEN);
    rill__enc_str(&e, "job_name", "", 1);
    rill__enc_u32(&e, UINT32_MAX);
    expect_deploy_dec_bad(&b, RILL_EPROTO, "n_opts");
    rill__buf_free(&b);
}

/* Valid encodings with random bit flips, byte changes, cuts and extensions: every decoder ends
 * in 0 or an error, never reads out of bounds, never leaks (ASan/LSan), and what decodes has
 * exactly one encoding. */
static void decode_all(const uint8_t *p, size_t n, int *ok)
{
    rill__err err;
    rill__buf b = {0};
    rill__msg_jar_data jd;
    if (rill__msg_jar_data_dec(p, n, &jd, &err) == 0) {
        CHECK(jd.data >= p && jd.data + jd.len <= p + n);
        CHECK_RC(rill__msg_jar_data_enc(&b, &jd));
        CHECK(b.len == n && memcmp(b.data, p, n) == 0);
        ok[0]++;
    }
    rill__buf_free(&b);
    rill__msg_deploy dep;
    int rc = rill__msg_deploy_dec(p, n, &dep, &err);
    CHECK(rc == 0 || rc == RILL_EPROTO || rc == RILL_ELIMIT);
    if (rc == 0) {
        CHECK(dep.n_tms >= 1 && dep.n_tasks >= 1);
        for (uint32_t i = 0; i < dep.n_tasks; i++)
            CHECK(dep.tm_of_task[i] < dep.n_tms);
        CHECK_RC(rill__msg_deploy_enc(&b, &dep));
        CHECK(b.len == n && memcmp(b.data, p, n) == 0);
        rill__msg_deploy_free(&dep);
        ok[1]++;
    } else {
        check_deploy_empty(&dep);
    }
    rill__buf_free(&b);
    for (size_t k = 0; k < sizeof job_types / sizeof job_types[0]; k++) {
        rill__msg_job j;
        rc = rill__msg_job_dec(job_types[k], p, n, &j, &err);
        CHECK(rc == 0 || rc == RILL_EPROTO || rc == RILL_ELIMIT);
        if (rc == 0) {
            CHECK_RC(rill__msg_job_enc(&b, job_types[k], &j));
            CHECK(b.len == n && memcmp(b.data, p, n) == 0);
            ok[2]++;
        }
        rill__buf_free(&b);
    }
    for (int k = 0; k < 2; k++) {
        uint16_t t = k ? RILL_FT_JOB_FAILED : RILL_FT_TASK_STATE;
        rill__msg_task_state ts;
        rc = rill__msg_task_state_dec(t, p, n, &ts, &err);
        CHECK(rc == 0 || rc == RILL_EPROTO || rc == RILL_ELIMIT);
        if (rc == 0) {
            CHECK_RC(rill__msg_task_state_enc(&b, t, &ts));
            CHECK(b.len == n && memcmp(b.data, p, n) == 0);
            ok[3]++;
        }
        rill__buf_free(&b);
    }
    rill__msg_ack ack;
    rc = rill__msg_ack_dec(p, n, &ack, &err);
    CHECK(rc == 0 || rc == RILL_EPROTO || rc == RILL_ELIMIT);
    if (rc == 0) {
        CHECK_RC(rill__msg_ack_enc(&b, &ack));
        CHECK(b.len == n && memcmp(b.data, p, n) == 0);
        ok[4]++;
    }
    rill__buf_free(&b);
    rill__msg_data_open op;
    rc = rill__msg_data_open_dec(p, n, &op, &err);
    CHECK(rc == 0 || rc == RILL_EPROTO || rc == RILL_ELIMIT);
    if (rc == 0) {
        CHECK(strcmp(op.from_tm, op.to_tm) != 0);
        CHECK_RC(rill__msg_data_open_enc(&b, &op));
        CHECK(b.len == n && memcmp(b.data, p, n) == 0);
        ok[5]++;
    }
    rill__buf_free(&b);
}

TEST(control_deploy_messages_random_flips)
{
    rill__buf seeds[7] = {{0}};
    rill__msg_jar_data jd = sample_jar_data();
    jd.len = 40;
    jd.total = 440;
    CHECK_RC(rill__msg_jar_data_enc(&seeds[0], &jd));
    rill__msg_deploy dep = sample_deploy();
    CHECK_RC(rill__msg_deploy_enc(&seeds[1], &dep));
    rill__msg_job j = {.job_id = 1, .attempt = 1, .ckpt_id = 2, .stop = 1};
    CHECK_RC(rill__msg_job_enc(&seeds[2], RILL_FT_TRIGGER, &j));
    rill__msg_task_state ts = {.job_id = 2, .task = 1, .state = RILL_TASK_FAILED, .rc = -5};
    strcpy(ts.msg, "boom");
    CHECK_RC(rill__msg_task_state_enc(&seeds[3], RILL_FT_TASK_STATE, &ts));
    rill__msg_ack ack = sample_ack();
    CHECK_RC(rill__msg_ack_enc(&seeds[4], &ack));
    rill__msg_data_open op = sample_data_open();
    CHECK_RC(rill__msg_data_open_enc(&seeds[5], &op));
    CHECK_RC(rill__msg_task_state_enc(&seeds[6], RILL_FT_JOB_FAILED, &ts));

    uint64_t rnd = 99;
    int ok[6] = {0};
    uint8_t buf[1024];
    for (int it = 0; it < 20000; it++) {
        const rill__buf *s = &seeds[it % 7];
        size_t n = s->len;
        memcpy(buf, s->data, n);
        int muts = 1 + (int)(rill__mix64(rnd++) % 3);
        for (int k = 0; k < muts && n > 0; k++) {
            uint64_t r = rill__mix64(rnd++);
            size_t at = (size_t)(r >> 8) % n;
            switch (r % 5) {
            case 0:
                buf[at] ^= (uint8_t)(1u << ((r >> 40) % 8));
                break;
            case 1:
                buf[at] = (uint8_t)(r >> 48);
                break;
            case 2: /* a small count or length, so that decoding gets further */
                buf[at] = (uint8_t)((r >> 48) % 8);
                break;
            case 3:
                n = at;
                break;
            default:
                if (n < sizeof buf)
                    buf[n++] = (uint8_t)(r >> 48);
                break;
            }
        }
        decode_all(buf, n, ok);
    }
    for (int it = 0; it < 5000; it++) { /* random bytes */
        size_t n = rill__mix64(rnd++) % 200;
        for (size_t k = 0; k < n; k++)
            buf[k] = (uint8_t)(rill__mix64(rnd++) % (it % 2 ? 4 : 256));
        decode_all(buf, n, ok);
    }
    for (int k = 0; k < 6; k++) /* some mutations still decode (a flipped value, an id) */
        CHECK(ok[k] > 0);
    for (int k = 0; k < 7; k++)
        rill__buf_free(&seeds[k]);
}

/* ACK's keyed state fields: round trip, and the rules (has_state 0 or 1, sizes >= 0, all 0
 * without state). */
TEST(control_ack_state_fields)
{
    rill__msg_ack m = {.job_id = 3, .attempt = 1, .task = 2, .ckpt_id = 9, .bytes = 100,
                       .full_bytes = 100,
                       .has_state = 1, .state = {.keys = 5, .memory_bytes = 6, .disk_bytes = 7}};
    snprintf(m.file, sizeof m.file, "task-2");
    rill__buf b = {0};
    CHECK_RC(rill__msg_ack_enc(&b, &m));
    rill__msg_ack d;
    rill__err err = {0};
    CHECK_RC(rill__msg_ack_dec(b.data, b.len, &d, &err));
    CHECK_EQ(d.has_state, 1);
    CHECK_EQ(d.state.keys, 5);
    CHECK_EQ(d.state.memory_bytes, 6);
    CHECK_EQ(d.state.disk_bytes, 7);
    const struct {
        uint8_t has;
        int64_t keys;
        const char *field;
    } bad[] = {{2, 0, "has_state"}, {1, -1, "state_keys"}, {0, 5, "state_keys"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rill__msg_ack x = m;
        x.has_state = bad[i].has;
        x.state.keys = bad[i].keys;
        if (!bad[i].has)
            x.state.memory_bytes = x.state.disk_bytes = 0;
        b.len = 0;
        CHECK_RC(rill__msg_ack_enc(&b, &x));
        memset(&err, 0, sizeof err);
        CHECK(rill__msg_ack_dec(b.data, b.len, &d, &err) != 0);
        CHECK_CONTAINS(err.msg, bad[i].field);
    }
    rill__buf_free(&b);
}
