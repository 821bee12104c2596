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
