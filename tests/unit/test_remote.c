/* test_remote.c - remote channels (runtime layer): the data-plane codec, and two endpoints over
 * loopback TCP with credit-based flow control. */
#include <errno.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "data/data.h"
#include "runtime/remote.h"
#include "test.h"

/* ---- helpers ----------------------------------------------------------------------------------
 */

/* Every column type, nullable and not; 9 fields so the null bytes have padding bits. */
static rill_schema *all_types_schema(void)
{
    rill_schema *s = rill_schema_new();
    CHECK_RC(rill_schema_add(s, "b", RILL_T_BOOL, true));
    CHECK_RC(rill_schema_add(s, "i", RILL_T_INT64, false));
    CHECK_RC(rill_schema_add(s, "d", RILL_T_DOUBLE, true));
    CHECK_RC(rill_schema_add(s, "s", RILL_T_STRING, true));
    CHECK_RC(rill_schema_add(s, "t", RILL_T_TIMESTAMP, true));
    CHECK_RC(rill_schema_add(s, "s2", RILL_T_STRING, false));
    CHECK_RC(rill_schema_add(s, "i2", RILL_T_INT64, true));
    CHECK_RC(rill_schema_add(s, "b2", RILL_T_BOOL, false));
    CHECK_RC(rill_schema_add(s, "d2", RILL_T_DOUBLE, false));
    return s;
}

/* Row r of a test batch: values derived from (tag, r), NULLs in every nullable field on some
 * rows. */
static void fill_row(rill_batch *b, uint64_t tag, uint32_t r)
{
    rill_row row = rill__batch_append(b);
    char str[64];
    int n = snprintf(str, sizeof str, "row %u of %llu", r, (unsigned long long)tag);
    if (r % 3 != 1)
        rill_row_set_bool(&row, 0, r % 2);
    rill_row_set_i64(&row, 1, (int64_t)(tag * 1000003u + r) * (r % 2 ? -1 : 1));
    if (r % 4 != 2)
        rill_row_set_f64(&row, 2, r * 0.25 - 3.5);
    if (r % 5 != 3)
        CHECK_RC(rill_row_set_str(&row, 3, str, (size_t)(r % 7 == 0 ? 0 : n)));
    if (r % 6 != 4)
        rill_row_set_ts(&row, 4, INT64_MIN + r);
    CHECK_RC(rill_row_set_str(&row, 5, "\0bin\xff", 5)); /* any bytes, NUL included */
    rill_row_set_i64(&row, 6, INT64_MAX - r);
    rill_row_set_bool(&row, 7, r % 3 == 0);
    rill_row_set_f64(&row, 8, -0.0);
}

static rill_batch *make_batch(const rill_schema *s, uint64_t tag, uint32_t n_rows, bool ts,
                              bool hashes)
{
    rill_batch *b = rill__batch_new(s, n_rows ? n_rows : 1);
    for (uint32_t r = 0; r < n_rows; r++)
        fill_row(b, tag, r);
    if (ts) {
        rill__batch_need_ts(b);
        b->has_ts = true;
        for (uint32_t r = 0; r < n_rows; r++)
            b->ts[r] = (int64_t)(tag + r) * 10;
    }
    if (hashes) {
        rill__batch_need_hashes(b);
        b->has_hashes = true;
        for (uint32_t r = 0; r < n_rows; r++)
            b->hashes[r] = rill__hash_u64(tag * 31 + r);
    }
    b->split = (int32_t)(tag % 5) - 1;
    b->split_done = tag % 2;
    return b;
}

/* Field by field (NULL slots read as 0 on both sides). */
static void check_batch_eq(rill_batch *a, rill_batch *b)
{
    CHECK_EQ(a->n_rows, b->n_rows);
    CHECK_EQ(a->has_ts, b->has_ts);
    CHECK_EQ(a->has_hashes, b->has_hashes);
    CHECK_EQ(a->split, b->split);
    CHECK_EQ(a->split_done, b->split_done);
    const rill_schema *s = a->schema;
    for (uint32_t r = 0; r < a->n_rows; r++) {
        rill_row x = rill__batch_row(a, r), y = rill__batch_row(b, r);
        for (int i = 0; i < s->n_fields; i++) {
            CHECK_EQ(rill_row_is_null(&x, i), rill_row_is_null(&y, i));
            if (rill_row_is_null(&x, i))
                continue;
            if (s->fields[i].type == RILL_T_STRING) {
                size_t nx, ny;
                const char *px = rill_row_str(&x, i, &nx), *py = rill_row_str(&y, i, &ny);
                CHECK_EQ(nx, ny);
                CHECK(memcmp(px, py, nx) == 0);
            } else {
                CHECK_EQ(x.v[i], y.v[i]);
            }
        }
        if (a->has_ts)
            CHECK_EQ(a->ts[r], b->ts[r]);
        if (a->has_hashes)
            CHECK_EQ(a->hashes[r], b->hashes[r]);
    }
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* ---- codec ------------------------------------------------------------------------------------
 */

TEST(remote_codec_events_roundtrip)
{
    rill_schema *s = all_types_schema();
    rill__remote_spec spec = {.schema = s, .max_rows = 16};
    const rill__msg msgs[] = {
        {.kind = RILL_MSG_WATERMARK, .value = INT64_MIN},
        {.kind = RILL_MSG_WATERMARK, .value = 0},
        {.kind = RILL_MSG_WATERMARK, .value = RILL_TS_MAX},
        {.kind = RILL_MSG_IDLE, .value = 1},
        {.kind = RILL_MSG_IDLE, .value = 0},
        {.kind = RILL_MSG_BARRIER, .value = 1},
        {.kind = RILL_MSG_BARRIER, .value = INT64_MAX},
        {.kind = RILL_MSG_END, .value = 0},
        {.kind = RILL_MSG_END, .value = 42}, /* the no-drain stop's savepoint id */
    };
    for (size_t k = 0; k < sizeof msgs / sizeof msgs[0]; k++) {
        rill__remote_chan_id id = {.edge = 7 + (uint32_t)k, .from = 65535, .to = (uint16_t)k};
        rill__buf b = {0}, b2 = {0};
        rill__err err = {0};
        uint16_t type;
        CHECK_RC(rill__remote_enc_msg(&b, id, &msgs[k], &type, &err));
        CHECK_EQ(type, RILL_FT_DATA_EVENT);
        CHECK_EQ(b.len, 8 + 1 + 8);
        rill__remote_chan_id got;
        rill__msg m;
        CHECK_RC(rill__remote_dec_msg(type, b.data, b.len, &spec, &got, &m, &err));
        CHECK_EQ(got.edge, id.edge);
        CHECK_EQ(got.from, id.from);
        CHECK_EQ(got.to, id.to);
        CHECK_EQ(m.kind, msgs[k].kind);
        CHECK_EQ(m.value, msgs[k].value);
        CHECK_RC(rill__remote_enc_msg(&b2, got, &m, &type, &err));
        CHECK_EQ(b2.len, b.len);
        CHECK(memcmp(b.data, b2.data, b.len) == 0);
        rill__buf_free(&b);
        rill__buf_free(&b2);
    }
    /* credits */
    rill__buf b = {0};
    rill__err err = {0};
    rill__remote_enc_credit(&b, (rill__remote_chan_id){3, 1, 2}, 17);
    rill__remote_chan_id id;
    uint32_t n;
    CHECK_RC(rill__remote_dec_credit(b.data, b.len, &id, &n, &err));
    CHECK_EQ(id.edge, 3);
    CHECK_EQ(id.from, 1);
    CHECK_EQ(id.to, 2);
    CHECK_EQ(n, 17);
    b.len = 0;
    rill__remote_enc_credit(&b, id, 0);
    CHECK_EQ(rill__remote_dec_credit(b.data, b.len, &id, &n, &err), RILL_EPROTO);
    CHECK_CONTAINS(err.msg, "credits");
    rill__buf_free(&b);
    rill_schema_free(s);
}

TEST(remote_codec_batch_roundtrip)
{
    rill_schema *s = all_types_schema();
    rill__batch_pool *pool = rill__batch_pool_new(s, 64, 2);
    const struct {
        uint32_t rows;
        bool ts, hashes;
    } cases[] = {{0, false, false}, {1, true, false}, {13, false, true}, {64, true, true}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        rill_batch *src = make_batch(s, k + 1, cases[k].rows, cases[k].ts, cases[k].hashes);
        for (int use_pool = 0; use_pool < 2; use_pool++) {
            rill__remote_spec spec = {.schema = s, .max_rows = 64, .pool = use_pool ? pool : NULL};
            rill__buf b = {0}, b2 = {0};
            rill__err err = {0};
            uint16_t type;
            rill__msg in = {.kind = RILL_MSG_BATCH, .batch = src};
            rill__remote_chan_id id = {1, 2, 3}, got;
            CHECK_RC(rill__remote_enc_msg(&b, id, &in, &type, &err));
            CHECK_EQ(type, RILL_FT_DATA_BATCH);
            rill__msg m;
            CHECK_RC(rill__remote_dec_msg(type, b.data, b.len, &spec, &got, &m, &err));
            CHECK_EQ(m.kind, RILL_MSG_BATCH);
            check_batch_eq(src, m.batch);
            CHECK_RC(rill__remote_enc_msg(&b2, got, &m, &type, &err)); /* one encoding */
            CHECK_EQ(b2.len, b.len);
            CHECK(memcmp(b.data, b2.data, b.len) == 0);
            rill__batch_unref(m.batch);
            rill__buf_free(&b);
            rill__buf_free(&b2);
        }
        rill__batch_unref(src);
    }
    rill__batch_pool_free(pool);
    rill_schema_free(s);
}

/* Decodes p[0..n) as a batch on schema s; on success re-encodes and expects the same bytes. */
static int decode_canonical(uint16_t type, const void *p, size_t n, const rill_schema *s,
                            rill__err *err)
{
    rill__remote_spec spec = {.schema = s, .max_rows = 64};
    rill__remote_chan_id id;
    rill__msg m;
    int rc = rill__remote_dec_msg(type, p, n, &spec, &id, &m, err);
    if (rc == 0) {
        rill__buf b = {0};
        uint16_t t2;
        CHECK_RC(rill__remote_enc_msg(&b, id, &m, &t2, err));
        CHECK_EQ(t2, type);
        CHECK_EQ(b.len, n);
        CHECK(memcmp(b.data, p, n) == 0);
        rill__buf_free(&b);
        rill__batch_unref(m.batch);
    } else {
        CHECK(m.batch == NULL);
        CHECK(err->msg[0] != '\0');
    }
    return rc;
}

TEST(remote_codec_truncation_and_damage)
{
    rill_schema *s = all_types_schema();
    rill_batch *src = make_batch(s, 5, 20, true, true);
    rill__buf b = {0};
    rill__err err = {0};
    uint16_t type;
    rill__msg in = {.kind = RILL_MSG_BATCH, .batch = src};
    CHECK_RC(rill__remote_enc_msg(&b, (rill__remote_chan_id){1, 0, 0}, &in, &type, &err));
    /* every truncation is refused */
    for (size_t n = 0; n < b.len; n++) {
        int rc = decode_canonical(type, b.data, n, s, &err);
        if (rc != RILL_EPROTO && rc != RILL_ELIMIT)
            rill_test_fail(__FILE__, __LINE__, "truncated to %zu of %zu bytes: rc %d", n, b.len,
                           rc);
    }
    /* a trailing byte too */
    rill__buf_putc(&b, 0);
    CHECK_EQ(decode_canonical(type, b.data, b.len, s, &err), RILL_EPROTO);
    b.len--;
    /* random damage: refused cleanly, or a different valid batch that encodes to those bytes */
    uint8_t *copy = malloc(b.len);
    uint64_t seed = 0x9e3779b97f4a7c15u;
    int refused = 0;
    for (int k = 0; k < 4000; k++) {
        memcpy(copy, b.data, b.len);
        int n_flips = 1 + (int)(rng_next(&seed) % 4);
        for (int f = 0; f < n_flips; f++)
            copy[rng_next(&seed) % b.len] ^= (uint8_t)(1 + rng_next(&seed) % 255);
        refused += decode_canonical(type, copy, b.len, s, &err) != 0;
    }
    CHECK_INT(refused, >, 1000); /* most damage lands on a checked field */
    /* random garbage of random sizes, as a batch and as an event */
    for (int k = 0; k < 2000; k++) {
        size_t n = rng_next(&seed) % 64;
        for (size_t i = 0; i < n; i++)
            copy[i] = (uint8_t)rng_next(&seed);
        decode_canonical(RILL_FT_DATA_BATCH, copy, n, s, &err);
        decode_canonical(RILL_FT_DATA_EVENT, copy, n, s, &err);
    }
    free(copy);

    /* each rule, named in the message */
    struct {
        size_t off;
        uint8_t val;
        const char *what;
    } rules[] = {
        {8, 8, "n_fields"},         /* 8 fields: the schema differs */
        {10, RILL_T_INT64, "type"}, /* field 0 is BOOL */
        {22, 0x40, "n_rows"},       /* 0x40000014 rows: over max_rows */
        {23, 0x20, "flags"},        /* an unknown flag (0x10: row kinds follow) */
        {31, 0x80, "split"},        /* a negative split other than -1 */
    };
    for (size_t k = 0; k < sizeof rules / sizeof rules[0]; k++) {
        copy = malloc(b.len);
        memcpy(copy, b.data, b.len);
        copy[rules[k].off] = rules[k].val;
        int rc = decode_canonical(type, copy, b.len, s, &err);
        CHECK(rc == RILL_EPROTO || rc == RILL_ELIMIT);
        CHECK_CONTAINS(err.msg, rules[k].what);
        free(copy);
    }
    rill__buf_free(&b);
    rill__batch_unref(src);

    /* row values: a NULL in a NOT NULL field, a bool of 2, padding bits */
    rill_schema *s2 = rill_schema_new();
    CHECK_RC(rill_schema_add(s2, "flag", RILL_T_BOOL, false));
    rill_batch *one = rill__batch_new(s2, 1);
    rill_row row = rill__batch_append(one);
    rill_row_set_bool(&row, 0, true);
    in.batch = one;
    CHECK_RC(rill__remote_enc_msg(&b, (rill__remote_chan_id){1, 0, 0}, &in, &type, &err));
    /* 8 id, 2 n_fields, 1 type, 4 n_rows, 1 flags, 8 split, then the row: nulls, value */
    CHECK_EQ(b.len, 8 + 2 + 1 + 4 + 1 + 8 + 1 + 1);
    CHECK_EQ(decode_canonical(type, b.data, b.len, s2, &err), 0);
    b.data[24] = 1; /* the NULL bit of the NOT NULL field */
    CHECK_EQ(decode_canonical(type, b.data, b.len - 1, s2, &err), RILL_EPROTO);
    CHECK_CONTAINS(err.msg, "NOT NULL");
    b.data[24] = 2; /* a padding bit */
    CHECK_EQ(decode_canonical(type, b.data, b.len, s2, &err), RILL_EPROTO);
    CHECK_CONTAINS(err.msg, "padding");
    b.data[24] = 0;
    b.data[25] = 2;
    CHECK_EQ(decode_canonical(type, b.data, b.len, s2, &err), RILL_EPROTO);
    CHECK_CONTAINS(err.msg, "bool");
    rill__buf_free(&b);
    rill__batch_unref(one);
    rill_schema_free(s2);

    /* events: kind, idle value, barrier id, end value */
    const struct {
        uint8_t kind;
        int64_t value;
    } bad[] = {{0, 0},
               {RILL_MSG_BATCH, 0},
               {6, 0},
               {RILL_MSG_IDLE, 2},
               {RILL_MSG_BARRIER, 0},
               {RILL_MSG_END, -1}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        rill__enc e;
        rill__enc_init(&e, &b);
        rill__enc_u32(&e, 1);
        rill__enc_u32(&e, 0);
        rill__enc_u8(&e, bad[k].kind);
        rill__enc_i64(&e, bad[k].value);
        CHECK_EQ(decode_canonical(RILL_FT_DATA_EVENT, b.data, b.len, s, &err), RILL_EPROTO);
        b.len = 0;
    }
    rill__buf_free(&b);
    rill_schema_free(s);
}

/* ---- two endpoints over loopback TCP -----------------------------------------------------------
 */

static const char *cluster = "remote-test";

typedef struct acceptor {
    int lfd, fd, rc;
    rill__frame_reader rd;
    rill__err err;
} acceptor;

static rill__hs_config data_hs(const char *name)
{
    return (rill__hs_config){.cluster_id = cluster,
                             .name = name,
                             .role = RILL_ROLE_DATA,
                             .peer_roles = RILL_ROLE_BIT(RILL_ROLE_DATA),
                             .timeout_ms = 5000};
}

static void *accept_main(void *arg)
{
    acceptor *a = arg;
    static const uint16_t none[] = {RILL_FT_HEARTBEAT};
    rill__frame_reader_init(&a->rd, RILL_FRAME_CONTROL_MAX, none, 1);
    a->rc = rill__net_accept(a->lfd, 5000, &a->fd, NULL, 0, &a->err);
    if (a->rc == 0) {
        rill__hs_config cfg = data_hs("taskmanager B");
        rill__hs_peer peer;
        a->rc = rill__hs_server(a->fd, &cfg, &a->rd, &peer, &a->err);
    }
    return NULL;
}

/* A connected, handshaken pair: ca, ra the connecting side; cb, rb the accepting side. */
static void connect_pair(int *ca, rill__frame_reader *ra, int *cb, rill__frame_reader *rb)
{
    acceptor a = {0};
    rill__err err = {0};
    int port;
    CHECK_RC(rill__net_listen("127.0.0.1", 0, 4, &a.lfd, &port, &err));
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, accept_main, &a), 0);
    static const uint16_t none[] = {RILL_FT_HEARTBEAT};
    rill__frame_reader_init(ra, RILL_FRAME_CONTROL_MAX, none, 1);
    CHECK_RC(rill__net_connect("127.0.0.1", port, 5000, ca, &err));
    rill__hs_config cfg = data_hs("taskmanager A");
    rill__hs_peer peer;
    CHECK_RC(rill__hs_client(*ca, &cfg, ra, &peer, &err));
    pthread_join(th, NULL);
    CHECK_RC(a.rc);
    close(a.lfd);
    *cb = a.fd;
    *rb = a.rd;
}

/* Blocking push and pop on a ring, parking (woken by the other side) while full or empty. */
static void push_wait(rill__channel *c, rill__parker *p, rill__msg m)
{
    while (!rill__channel_try_push(c, &m)) {
        rill__parker_prepare(p);
        if (rill__channel_try_push(c, &m)) {
            rill__parker_cancel(p);
            return;
        }
        rill__parker_park(p, 1000 * 1000 * 1000); /* a safety net: wake-ups are explicit */
    }
}

static rill__msg pop_wait(rill__channel *c, rill__parker *p)
{
    rill__msg m;
    while (!rill__channel_try_pop(c, &m)) {
        rill__parker_prepare(p);
        if (rill__channel_try_pop(c, &m)) {
            rill__parker_cancel(p);
            return m;
        }
        rill__parker_park(p, 1000 * 1000 * 1000);
    }
    return m;
}

/* Message i of channel k: batches with watermarks, idleness and barriers between them, then the
 * end carrying a savepoint id. */
#define SEQ_LEN 400
static rill__msg seq_msg(const rill_schema *s, int k, int i)
{
    if (i == SEQ_LEN - 1)
        return (rill__msg){.kind = RILL_MSG_END, .value = 100 + k};
    if (i % 7 == 3)
        return (rill__msg){.kind = RILL_MSG_WATERMARK, .value = i * 10 + k};
    if (i % 50 == 20)
        return (rill__msg){.kind = RILL_MSG_BARRIER, .value = i / 50 + 1};
    if (i % 61 == 5)
        return (rill__msg){.kind = RILL_MSG_IDLE, .value = (i / 61) % 2};
    return (rill__msg){
        .kind = RILL_MSG_BATCH,
        .batch = make_batch(s, (uint64_t)(k * 1000 + i), (uint32_t)(i % 9), i % 2, i % 3 == 0)};
}

static void check_seq_msg(const rill_schema *s, int k, int i, rill__msg got)
{
    rill__msg want = seq_msg(s, k, i);
    if (got.kind != want.kind || (want.kind != RILL_MSG_BATCH && got.value != want.value))
        rill_test_fail(__FILE__, __LINE__,
                       "channel %d message %d: kind %d value %lld, want "
                       "kind %d value %lld",
                       k, i, got.kind, (long long)got.value, want.kind, (long long)want.value);
    if (want.kind == RILL_MSG_BATCH) {
        check_batch_eq(want.batch, got.batch);
        rill__batch_unref(want.batch);
        rill__batch_unref(got.batch);
    }
}

typedef struct producer {
    const rill_schema *s;
    rill__channel *ring;
    rill__parker parker;
    int k, first, n; /* channel tag, messages first..n-1 of its sequence to send */
} producer;

static void *produce_main(void *arg)
{
    producer *p = arg;
    for (int i = p->first; i < p->n; i++)
        push_wait(p->ring, &p->parker, seq_msg(p->s, p->k, i));
    return NULL;
}

typedef struct consumer {
    const rill_schema *s;
    rill__channel *ring;
    rill__parker parker;
    int k;
} consumer;

static void *consume_main(void *arg)
{
    consumer *c = arg;
    for (int i = 0; i < SEQ_LEN; i++)
        check_seq_msg(c->s, c->k, i, pop_wait(c->ring, &c->parker));
    return NULL;
}

static rill__remote *endpoint(int fd, rill__frame_reader *r, const char *name, uint32_t out_cap)
{
    rill__remote_config cfg;
    rill__remote_config_default(&cfg);
    cfg.max_rows = 16;
    cfg.out_capacity = out_cap;
    cfg.out_buffer_bytes = 4096;
    return rill__remote_new(fd, r, &cfg, name);
}

TEST(remote_tcp_order_per_channel)
{
    rill_schema *s = all_types_schema();
    int fa, fb;
    rill__frame_reader ra, rb;
    connect_pair(&fa, &ra, &fb, &rb);
    rill__remote *A = endpoint(fa, &ra, "B", 4), *B = endpoint(fb, &rb, "A", 4);
    rill__err err = {0};
    /* channels 0 and 1 go A -> B, channel 2 B -> A: both directions on one connection */
    enum { N = 3 };
    producer prod[N];
    consumer cons[N];
    for (int k = 0; k < N; k++) {
        rill__remote *src = k < 2 ? A : B, *dst = k < 2 ? B : A;
        rill__remote_chan_id id = {.edge = (uint32_t)(k / 2), .from = (uint16_t)k, .to = 0};
        prod[k] = (producer){.s = s, .k = k, .n = SEQ_LEN};
        rill__parker_init(&prod[k].parker);
        prod[k].ring = rill__remote_add_output(src, id, &prod[k].parker, &err);
        CHECK(prod[k].ring != NULL);
        cons[k] = (consumer){.s = s, .k = k, .ring = rill__channel_new(8)};
        rill__parker_init(&cons[k].parker);
        cons[k].ring->consumer = &cons[k].parker;
        CHECK_RC(rill__remote_add_input(dst, id, cons[k].ring, s, &err));
    }
    CHECK_EQ(rill__remote_add_input(A, (rill__remote_chan_id){0, 0, 0}, cons[0].ring, s, &err),
             RILL_EINVAL); /* registered twice */
    CHECK_RC(rill__remote_start(A));
    CHECK_RC(rill__remote_start(B));
    pthread_t pt[N], ct[N];
    for (int k = 0; k < N; k++) {
        CHECK_EQ(pthread_create(&pt[k], NULL, produce_main, &prod[k]), 0);
        CHECK_EQ(pthread_create(&ct[k], NULL, consume_main, &cons[k]), 0);
    }
    for (int k = 0; k < N; k++) {
        pthread_join(pt[k], NULL);
        pthread_join(ct[k], NULL);
    }
    /* everything ended both ways: one side closing is the other's orderly end */
    CHECK_EQ(rill__remote_wait(B, 0, &err), RILL_AGAIN);
    rill__remote_stats st;
    rill__remote_get_stats(A, &st);
    CHECK_INT(st.max_out_pending, <=, 4096 + 8 + RILL_FRAME_MAX_PAYLOAD);
    CHECK_INT(st.frames_out, >=, 2 * SEQ_LEN);
    rill__remote_free(A);
    CHECK_EQ(rill__remote_wait(B, 10000, &err), 0);
    CHECK_CONTAINS(err.msg, "every channel ended");
    rill__remote_free(B);
    for (int k = 0; k < N; k++) {
        CHECK(!rill__channel_try_pop(cons[k].ring, &(rill__msg){0})); /* nothing after END */
        rill__channel_free(cons[k].ring);
        rill__parker_destroy(&prod[k].parker);
        rill__parker_destroy(&cons[k].parker);
    }
    rill_schema_free(s);
}

/* The number of messages waiting in a ring (either end may call this). */
static size_t ring_len(rill__channel *c)
{
    return atomic_load(&c->tail) - atomic_load(&c->head);
}

TEST(remote_tcp_slow_consumer_blocks_only_its_channel)
{
    rill_schema *s = all_types_schema();
    int fa, fb;
    rill__frame_reader ra, rb;
    connect_pair(&fa, &ra, &fb, &rb);
    enum { Q = 4, C = 8 }; /* sender ring, receiver ring (= its credits) */
    rill__remote *A = endpoint(fa, &ra, "B", Q), *B = endpoint(fb, &rb, "A", Q);
    rill__err err = {0};
    producer slow_p = {.s = s, .k = 0}, fast_p = {.s = s, .k = 1, .n = SEQ_LEN};
    consumer slow_c = {.s = s, .k = 0, .ring = rill__channel_new(C)},
             fast_c = {.s = s, .k = 1, .ring = rill__channel_new(C)};
    producer *ps[] = {&slow_p, &fast_p};
    consumer *cs[] = {&slow_c, &fast_c};
    for (int k = 0; k < 2; k++) {
        rill__parker_init(&ps[k]->parker);
        rill__parker_init(&cs[k]->parker);
        cs[k]->ring->consumer = &cs[k]->parker;
        rill__remote_chan_id id = {.edge = 3, .from = 0, .to = (uint16_t)k};
        ps[k]->ring = rill__remote_add_output(A, id, &ps[k]->parker, &err);
        CHECK_RC(rill__remote_add_input(B, id, cs[k]->ring, s, &err));
    }
    CHECK_RC(rill__remote_start(A));
    CHECK_RC(rill__remote_start(B));
    /* the slow channel takes exactly its ring and its credits, then its producer is blocked */
    for (int i = 0; i < Q + C; i++)
        push_wait(slow_p.ring, &slow_p.parker, seq_msg(s, 0, i));
    while (ring_len(slow_c.ring) < C) { /* the credited messages arrive */
        rill__parker_prepare(&slow_c.parker);
        if (ring_len(slow_c.ring) < C)
            rill__parker_park(&slow_c.parker, 1000 * 1000 * 1000);
        else
            rill__parker_cancel(&slow_c.parker);
    }
    rill__msg extra = {.kind = RILL_MSG_WATERMARK, .value = 1};
    CHECK(!rill__channel_try_push(slow_p.ring, &extra)); /* full: back-pressure */
    /* meanwhile the other channel on the same connection carries its whole sequence */
    pthread_t pt, ct;
    CHECK_EQ(pthread_create(&pt, NULL, produce_main, &fast_p), 0);
    CHECK_EQ(pthread_create(&ct, NULL, consume_main, &fast_c), 0);
    pthread_join(pt, NULL);
    pthread_join(ct, NULL);
    /* the slow channel has not moved: ring and credits still exactly full */
    CHECK_EQ(ring_len(slow_c.ring), C);
    CHECK_EQ(ring_len(slow_p.ring), Q);
    CHECK(!rill__channel_try_push(slow_p.ring, &extra));
    CHECK_EQ(rill__remote_wait(A, 0, &err), RILL_AGAIN); /* no error either side */
    CHECK_EQ(rill__remote_wait(B, 0, &err), RILL_AGAIN);
    /* the consumer reads on: credits come back and the rest of the sequence flows, in order */
    slow_p.first = Q + C;
    slow_p.n = SEQ_LEN;
    CHECK_EQ(pthread_create(&pt, NULL, produce_main, &slow_p), 0);
    for (int i = 0; i < SEQ_LEN; i++) {
        CHECK_INT(ring_len(slow_c.ring), <=, C);
        check_seq_msg(s, 0, i, pop_wait(slow_c.ring, &slow_c.parker));
    }
    pthread_join(pt, NULL);
    rill__remote_stats st;
    rill__remote_get_stats(A, &st);
    CHECK_INT(st.max_out_pending, <=, 4096 + 8 + RILL_FRAME_MAX_PAYLOAD);
    rill__remote_free(A);
    CHECK_EQ(rill__remote_wait(B, 10000, &err), 0);
    rill__remote_free(B);
    for (int k = 0; k < 2; k++) {
        rill__channel_free(cs[k]->ring);
        rill__parker_destroy(&ps[k]->parker);
        rill__parker_destroy(&cs[k]->parker);
    }
    rill_schema_free(s);
}

/* A raw peer: handshaken, then whatever bytes the test writes. */
static void raw_peer_case(const void *bytes, size_t n, int want_rc, const char *want_msg)
{
    rill_schema *s = all_types_schema();
    int fa, fb;
    rill__frame_reader ra, rb;
    connect_pair(&fa, &ra, &fb, &rb);
    rill__remote *B = endpoint(fb, &rb, "raw peer", 4);
    rill__channel *ring = rill__channel_new(4);
    rill__parker parker;
    rill__parker_init(&parker);
    ring->consumer = &parker;
    rill__err err = {0};
    CHECK_RC(rill__remote_add_input(B, (rill__remote_chan_id){1, 0, 0}, ring, s, &err));
    CHECK_RC(rill__remote_start(B));
    if (n)
        CHECK_EQ(write(fa, bytes, n), (ssize_t)n);
    /* the end of what the peer sends: a FIN, not a close, which would reset the connection
     * (losing the bytes above) when B's credits arrive unread */
    shutdown(fa, SHUT_WR);
    CHECK_EQ(rill__remote_wait(B, 10000, &err), want_rc);
    close(fa);
    rill__frame_reader_close(&ra);
    CHECK_CONTAINS(err.msg, want_msg);
    CHECK_CONTAINS(err.msg, "raw peer");
    rill__remote_free(B);
    rill__channel_free(ring);
    rill__parker_destroy(&parker);
    rill_schema_free(s);
}

TEST(remote_tcp_peer_failures)
{
    rill_schema *s = all_types_schema();
    rill_batch *b = make_batch(s, 1, 5, true, false);
    rill__buf payload = {0};
    rill__err err = {0};
    uint16_t type;
    rill__msg m = {.kind = RILL_MSG_BATCH, .batch = b};
    CHECK_RC(rill__remote_enc_msg(&payload, (rill__remote_chan_id){1, 0, 0}, &m, &type, &err));
    rill__frame_writer w;
    rill__frame_writer_init(&w, 1 << 20);
    CHECK_RC(rill__frame_writer_put(&w, type, payload.data, payload.len));
    /* disconnect inside the header, inside the payload */
    raw_peer_case(w.q.data, 5, RILL_EPROTO, "inside a frame header");
    raw_peer_case(w.q.data, w.q.len - 3, RILL_EPROTO, "inside frame of type 0x0201");
    /* an orderly close with the channel still open */
    raw_peer_case(NULL, 0, RILL_EPROTO, "channel 1/0->0 still open");
    /* more messages than the receiver's ring (4) has credits for */
    rill__frame_writer_close(&w);
    rill__frame_writer_init(&w, 1 << 20);
    for (int i = 0; i < 5; i++) {
        rill__msg wm = {.kind = RILL_MSG_WATERMARK, .value = i};
        payload.len = 0;
        CHECK_RC(rill__remote_enc_msg(&payload, (rill__remote_chan_id){1, 0, 0}, &wm, &type, &err));
        CHECK_RC(rill__frame_writer_put(&w, type, payload.data, payload.len));
    }
    raw_peer_case(w.q.data, w.q.len, RILL_EPROTO, "without a credit");
    payload.len = 0;
    /* a frame for a channel that is not an input here */
    rill__buf_free(&payload);
    rill__frame_writer_close(&w);
    rill__frame_writer_init(&w, 1 << 20);
    CHECK_RC(rill__remote_enc_msg(&payload, (rill__remote_chan_id){2, 0, 0}, &m, &type, &err));
    CHECK_RC(rill__frame_writer_put(&w, type, payload.data, payload.len));
    raw_peer_case(w.q.data, w.q.len, RILL_EPROTO, "not an input here");
    /* a type the data plane does not accept */
    uint8_t hb[8] = {0, 0, 0, 0, 0x05, 0, 0, 0};
    raw_peer_case(hb, sizeof hb, RILL_EPROTO, "type");
    rill__frame_writer_close(&w);
    rill__buf_free(&payload);
    rill__batch_unref(b);
    rill_schema_free(s);
}

/* ---- batches without strings: the one-go path ------------------------------------------------ */

/* n_fields fields cycling BOOL / INT64 / DOUBLE / TIMESTAMP, every third one NOT NULL. */
static rill_schema *fixed_schema(int n_fields)
{
    rill_schema *s = rill_schema_new();
    static const rill_type types[] = {RILL_T_BOOL, RILL_T_INT64, RILL_T_DOUBLE, RILL_T_TIMESTAMP};
    for (int i = 0; i < n_fields; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        CHECK_RC(rill_schema_add(s, name, types[i % 4], i % 3 != 0));
    }
    return s;
}

static rill_batch *fixed_batch(const rill_schema *s, uint32_t n_rows, uint64_t seed)
{
    rill_batch *b = rill__batch_new(s, n_rows ? n_rows : 1);
    for (uint32_t r = 0; r < n_rows; r++) {
        rill_row row = rill__batch_append(b);
        for (int i = 0; i < s->n_fields; i++) {
            uint64_t v = rng_next(&seed);
            if (s->fields[i].nullable && v % 4 == 0)
                continue; /* NULL */
            if (s->fields[i].type == RILL_T_BOOL)
                rill_row_set_bool(&row, i, v & 1);
            else
                rill_row_set_i64(&row, i, (int64_t)v);
        }
    }
    rill__batch_need_ts(b);
    b->has_ts = true;
    rill__batch_need_hashes(b);
    b->has_hashes = true;
    for (uint32_t r = 0; r < n_rows; r++) {
        b->ts[r] = (int64_t)rng_next(&seed);
        b->hashes[r] = rng_next(&seed);
    }
    return b;
}

/* The wire format written value by value, as docs/protocol.md section 6 has it. */
static void reference_encoding(rill__buf *out, rill__remote_chan_id id, rill_batch *b)
{
    rill__enc e;
    rill__enc_init(&e, out);
    const rill_schema *s = b->schema;
    rill__enc_u32(&e, id.edge);
    rill__enc_u16(&e, id.from);
    rill__enc_u16(&e, id.to);
    rill__enc_u16(&e, (uint16_t)s->n_fields);
    for (int i = 0; i < s->n_fields; i++)
        rill__enc_u8(&e, (uint8_t)s->fields[i].type);
    rill__enc_u32(&e, b->n_rows);
    rill__enc_u8(&e, 1 | 2 | (b->split_done ? 4 : 0));
    rill__enc_i64(&e, b->split);
    for (uint32_t r = 0; r < b->n_rows; r++) {
        rill_row row = rill__batch_row(b, r);
        for (int i = 0; i < s->n_fields; i += 8) {
            uint8_t byte = 0;
            for (int k = 0; k < 8 && i + k < s->n_fields; k++)
                byte |= (uint8_t)(rill_row_is_null(&row, i + k) << k);
            rill__enc_u8(&e, byte);
        }
        for (int i = 0; i < s->n_fields; i++) {
            if (rill_row_is_null(&row, i))
                continue;
            if (s->fields[i].type == RILL_T_BOOL)
                rill__enc_u8(&e, row.v[i] != 0);
            else
                rill__enc_u64(&e, row.v[i]);
        }
    }
    for (uint32_t r = 0; r < b->n_rows; r++)
        rill__enc_i64(&e, b->ts[r]);
    for (uint32_t r = 0; r < b->n_rows; r++)
        rill__enc_u64(&e, b->hashes[r]);
    CHECK_RC(rill__enc_finish(&e, "reference"));
}

TEST(remote_codec_fixed_width_batches)
{
    /* 7 fields (padding in one null byte), 8 (none), 70 (two null words, padding) */
    const int widths[] = {1, 7, 8, 70};
    uint64_t seed = 0x1234567u;
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        rill_schema *s = fixed_schema(widths[w]);
        for (uint32_t rows = 0; rows <= 33; rows += 11) {
            rill_batch *src = fixed_batch(s, rows, seed++);
            rill__remote_chan_id id = {7, 1, 2};
            rill__buf got = {0}, want = {0};
            rill__err err = {0};
            uint16_t type;
            rill__msg in = {.kind = RILL_MSG_BATCH, .batch = src};
            CHECK_RC(rill__remote_enc_msg(&got, id, &in, &type, &err));
            reference_encoding(&want, id, src);
            CHECK_EQ(got.len, want.len);
            CHECK(memcmp(got.data, want.data, got.len) == 0);
            /* decoded and encoded again: the same bytes and values */
            rill__remote_spec spec = {.schema = s, .max_rows = 64};
            rill__msg m;
            rill__remote_chan_id id2;
            CHECK_RC(rill__remote_dec_msg(type, got.data, got.len, &spec, &id2, &m, &err));
            check_batch_eq(src, m.batch);
            rill__batch_unref(m.batch);
            CHECK_RC(decode_canonical(type, got.data, got.len, s, &err));
            /* every truncation refused; damage refused or canonical */
            for (size_t n = 0; n < got.len; n += 1 + n / 64)
                CHECK(decode_canonical(type, got.data, n, s, &err) != 0);
            uint8_t *copy = malloc(got.len + 1);
            for (int k = 0; k < 300; k++) {
                memcpy(copy, got.data, got.len);
                copy[rng_next(&seed) % got.len] ^= (uint8_t)(1 + rng_next(&seed) % 255);
                decode_canonical(type, copy, got.len, s, &err);
            }
            free(copy);
            rill__buf_free(&got);
            rill__buf_free(&want);
            rill__batch_unref(src);
        }
        rill_schema_free(s);
    }
}
