/* test_net.c - unit tests of the wire protocol in the base layer: SHA-256/HMAC, the field codec,
 * frames (truncation, corruption, limits, partial I/O), sockets, the handshake over loopback TCP
 * and the secret file. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/net.h"
#include "test.h"

/* ---- helpers --------------------------------------------------------------------------------- */

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static void check_sha(const void *p, size_t n, const char *want)
{
    uint8_t d[RILL_SHA256_LEN];
    char got[65];
    rill__sha256_digest(p, n, d);
    hex(d, sizeof d, got);
    CHECK_STR(got, want);
}

static size_t unhex(const char *s, uint8_t *out)
{
    size_t n = strlen(s) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(s + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

static const uint16_t all_types[] = {RILL_FT_HELLO, RILL_FT_AUTH, RILL_FT_WELCOME, RILL_FT_REFUSE,
                                     RILL_FT_HEARTBEAT};

/* ---- SHA-256 and HMAC ------------------------------------------------------------------------ */

TEST(net_sha256_fips_vectors)
{
    /* FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA2_Additional.pdf") */
    check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    check_sha(m448, strlen(m448),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjk"
                       "lmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    check_sha(m896, strlen(m896),
              "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    char *mil = malloc(1000000);
    memset(mil, 'a', 1000000);
    check_sha(mil, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* incremental in odd pieces equals one-shot (block boundaries at every offset) */
    uint8_t one[32], inc[32];
    rill__sha256_digest(mil, 1000, one);
    rill__sha256 s;
    rill__sha256_init(&s);
    for (size_t off = 0, step = 1; off < 1000; off += step, step = step % 67 + 1)
        rill__sha256_update(&s, mil + off, RILL_MIN(step, 1000 - off));
    rill__sha256_final(&s, inc);
    CHECK(memcmp(one, inc, 32) == 0);
    /* lengths around the padding boundary (55, 56, 63, 64 bytes) differ from each other */
    uint8_t d55[32], d56[32];
    rill__sha256_digest(mil, 55, d55);
    rill__sha256_digest(mil, 56, d56);
    CHECK(memcmp(d55, d56, 32) != 0);
    free(mil);
}

TEST(net_hmac_rfc4231_vectors)
{
    static const struct {
        const char *key, *data, *mac;
    } v[] = {
        /* test case 1 */
        {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        /* 2: a key shorter than the block */
        {"4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        /* 3 */
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
         "dddddddddddddddddd",
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        /* 4 */
        {"0102030405060708090a0b0c0d0e0f10111213141516171819",
         "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdc"
         "dcdcdcdcdcd",
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        /* 6: a key longer than the block is hashed first */
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaa",
         "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d204861"
         "7368204b6579204669727374",
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        /* 7: and data longer than the block */
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaa",
         "5468697320697320612074657374207573696e672061206c6172676572207468616e20626c6f636b2d73"
         "697a65206b657920616e642061206c6172676572207468616e20626c6f636b2d73697a6520646174612e"
         "20546865206b6579206e6565647320746f20626520686173686564206265666f7265206265696e672075"
         "7365642062792074686520484d414320616c676f726974686d2e",
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
    };
    for (size_t i = 0; i < RILL_ARRAY_LEN(v); i++) {
        uint8_t key[256], data[256], mac[32];
        size_t nk = unhex(v[i].key, key), nd = unhex(v[i].data, data);
        rill__hmac_sha256(key, nk, data, nd, mac);
        char got[65];
        hex(mac, 32, got);
        CHECK_STR(got, v[i].mac);
    }
}

TEST(net_ct_equal)
{
    uint8_t a[32] = {0}, b[32] = {0};
    CHECK(rill__ct_equal(a, b, 32));
    for (int i = 0; i < 32; i++) {
        b[i] = 1;
        CHECK(!rill__ct_equal(a, b, 32));
        b[i] = 0;
    }
    CHECK(rill__ct_equal(a, b, 0));
    uint8_t r1[32], r2[32];
    CHECK_RC(rill__random_bytes(r1, 32));
    CHECK_RC(rill__random_bytes(r2, 32));
    CHECK(!rill__ct_equal(r1, r2, 32));
}

/* ---- field codec ----------------------------------------------------------------------------- */

TEST(net_codec_round_trip_and_limits)
{
    rill__buf b = {0};
    rill__enc e;
    rill__enc_init(&e, &b);
    rill__enc_u8(&e, 0xab);
    rill__enc_u16(&e, 0xbeef);
    rill__enc_u32(&e, 0xdeadbeef);
    rill__enc_u64(&e, UINT64_C(0x0123456789abcdef));
    rill__enc_i64(&e, INT64_MIN);
    rill__enc_bytes(&e, "blob", "\0\1\2", 3, 16);
    rill__enc_str(&e, "name", "héllo", 16);
    rill__enc_str(&e, "empty", NULL, 16);
    CHECK_EQ(e.rc, 0);
    /* little-endian on the wire, whatever the host */
    CHECK_EQ((uint8_t)b.data[1], 0xef);
    CHECK_EQ((uint8_t)b.data[2], 0xbe);
    size_t full = b.len;
    CHECK_EQ(full, 1 + 2 + 4 + 8 + 8 + 4 + 3 + 4 + 6 + 4);

    rill__dec d;
    rill__err err = {0};
    rill__dec_init(&d, b.data, b.len);
    CHECK_EQ(rill__dec_u8(&d, "a"), 0xab);
    CHECK_EQ(rill__dec_u16(&d, "b"), 0xbeef);
    CHECK_EQ(rill__dec_u32(&d, "c"), 0xdeadbeef);
    CHECK(rill__dec_u64(&d, "d") == UINT64_C(0x0123456789abcdef));
    CHECK(rill__dec_i64(&d, "e") == INT64_MIN);
    const uint8_t *p;
    size_t n;
    rill__dec_bytes(&d, "blob", 16, &p, &n);
    CHECK_EQ(n, 3);
    CHECK(memcmp(p, "\0\1\2", 3) == 0);
    char s[17];
    rill__dec_str(&d, "name", s, sizeof s);
    CHECK_STR(s, "héllo");
    rill__dec_str(&d, "empty", s, sizeof s);
    CHECK_STR(s, "");
    CHECK_RC(rill__dec_finish(&d, "msg", &err));

    /* every truncation fails cleanly, naming a field */
    for (size_t cut = 0; cut < full; cut++) {
        rill__dec_init(&d, b.data, cut);
        rill__dec_u8(&d, "a");
        rill__dec_u16(&d, "b");
        rill__dec_u32(&d, "c");
        rill__dec_u64(&d, "d");
        rill__dec_i64(&d, "e");
        rill__dec_bytes(&d, "blob", 16, &p, &n);
        rill__dec_str(&d, "name", s, sizeof s);
        rill__dec_str(&d, "empty", s, sizeof s);
        CHECK_EQ(rill__dec_finish(&d, "msg", &err), RILL_EPROTO);
        CHECK_CONTAINS(err.msg, "msg: field '");
    }
    /* trailing bytes */
    rill__dec_init(&d, b.data, full);
    rill__dec_u8(&d, "a");
    CHECK_EQ(rill__dec_finish(&d, "msg", &err), RILL_EPROTO);
    CHECK_CONTAINS(err.msg, "trailing bytes");

    /* a string over the receiver's limit fails on its length, before its bytes are read */
    rill__dec_init(&d, b.data + 27, full - 27); /* at the string "name" (6 bytes) */
    rill__dec_str(&d, "name", s, 6);
    CHECK_EQ(d.rc, RILL_ELIMIT);
    CHECK_STR(s, "");
    CHECK_EQ(rill__dec_finish(&d, "msg", &err), RILL_ELIMIT);
    CHECK_CONTAINS(err.msg, "field 'name' length over its limit at offset 0");
    /* a length that claims 4 GiB is refused by the limit, never trusted */
    const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 'x'};
    rill__dec_init(&d, huge, sizeof huge);
    rill__dec_bytes(&d, "blob", 1u << 20, &p, &n);
    CHECK_EQ(d.rc, RILL_ELIMIT);
    CHECK(p == NULL && n == 0);
    /* a NUL inside a string is refused */
    const uint8_t nul[] = {3, 0, 0, 0, 'a', 0, 'b'};
    rill__dec_init(&d, nul, sizeof nul);
    rill__dec_str(&d, "s", s, sizeof s);
    CHECK_EQ(d.rc, RILL_EPROTO);
    /* the encoder refuses what a decoder would refuse */
    rill__buf b2 = {0};
    rill__enc_init(&e, &b2);
    rill__enc_str(&e, "name", "toolong", 3);
    CHECK_EQ(e.rc, RILL_ELIMIT);
    CHECK_STR(e.bad_field, "name");
    rill__buf_free(&b2);
    rill__buf_free(&b);
}

TEST(net_messages_round_trip)
{
    rill__msg_hello h = {.magic = RILL_PROTO_MAGIC,
                         .version = RILL_PROTO_VERSION,
                         .role = RILL_ROLE_TASKMANAGER,
                         .auth = 1};
    strcpy(h.cluster_id, "prod-eu");
    strcpy(h.name, "taskmanager 3 at host7");
    for (int i = 0; i < RILL_NONCE_LEN; i++)
        h.nonce[i] = (uint8_t)(i * 7);
    rill__buf b = {0};
    rill__err err = {0};
    CHECK_RC(rill__msg_hello_enc(&b, &h));
    rill__msg_hello h2;
    CHECK_RC(rill__msg_hello_dec(b.data, b.len, &h2, &err));
    CHECK(memcmp(&h, &h2, sizeof h) == 0);
    for (size_t cut = 0; cut < b.len; cut++)
        CHECK(rill__msg_hello_dec(b.data, cut, &h2, &err) < 0);
    /* magic and version come first, so a peer of another version is told apart */
    CHECK_EQ((uint8_t)b.data[0], 'R');
    CHECK_EQ((uint8_t)b.data[3], 'L');
    rill__buf_free(&b);

    rill__msg_heartbeat hb = {.seq = UINT64_C(1) << 40, .sent_ms = -5, .reply = 1}, hb2;
    CHECK_RC(rill__msg_heartbeat_enc(&b, &hb));
    CHECK_EQ(b.len, 17);
    CHECK_RC(rill__msg_heartbeat_dec(b.data, b.len, &hb2, &err));
    CHECK(hb2.seq == hb.seq && hb2.sent_ms == -5 && hb2.reply == 1);
    for (size_t cut = 0; cut < b.len; cut++) {
        CHECK_EQ(rill__msg_heartbeat_dec(b.data, cut, &hb2, &err), RILL_EPROTO);
        CHECK_CONTAINS(err.msg, "HEARTBEAT: field");
    }
    b.data[16] = 2; /* reply is a boolean */
    CHECK_EQ(rill__msg_heartbeat_dec(b.data, b.len, &hb2, &err), RILL_EPROTO);
    CHECK_CONTAINS(err.msg, "'reply'");
    rill__buf_free(&b);

    rill__msg_refuse r = {.reason = RILL_REFUSE_VERSION}, r2;
    strcpy(r.text, "no");
    CHECK_RC(rill__msg_refuse_enc(&b, &r));
    CHECK_RC(rill__msg_refuse_dec(b.data, b.len, &r2, &err));
    CHECK_EQ(r2.reason, RILL_REFUSE_VERSION);
    CHECK_STR(r2.text, "no");
    rill__buf_free(&b);

    rill__msg_proof pf = {.mac_len = 32}, pf2;
    memset(pf.mac, 0x5a, 32);
    CHECK_RC(rill__msg_proof_enc(&b, &pf));
    CHECK_RC(rill__msg_proof_dec(b.data, b.len, &pf2, &err));
    CHECK(pf2.mac_len == 32 && memcmp(pf2.mac, pf.mac, 32) == 0);
    b.data[0] = 5; /* a MAC of 5 bytes is neither none nor SHA-256 */
    CHECK_EQ(rill__msg_proof_dec(b.data, 9, &pf2, &err), RILL_EPROTO);
    rill__buf_free(&b);
}

/* ---- frames ---------------------------------------------------------------------------------- */

/* A stream of n frames with varied types and sizes (some empty), built by the writer. */
static void make_stream(rill__frame_writer *w, int n, uint64_t seed)
{
    rill__frame_writer_init(w, SIZE_MAX);
    uint8_t payload[3000];
    for (int i = 0; i < n; i++) {
        size_t len = rill__mix64(seed + (uint64_t)i) % (i % 3 == 0 ? 8 : sizeof payload);
        for (size_t k = 0; k < len; k++)
            payload[k] = (uint8_t)(i + k);
        CHECK_RC(rill__frame_writer_put(w, all_types[i % RILL_ARRAY_LEN(all_types)], payload, len));
    }
}

/* Feeds p[0..n) in chunks of `chunk`; checks each frame against the writer's i-th. Returns the
 * frames seen, or the error. */
static int feed_all(rill__frame_reader *r, const uint8_t *p, size_t n, size_t chunk, uint64_t seed,
                    bool check)
{
    int n_frames = 0;
    size_t off = 0;
    while (off < n) {
        size_t end = RILL_MIN(n, off + chunk);
        while (off < end) {
            size_t used;
            rill__frame f;
            int rc = rill__frame_reader_feed(r, p + off, end - off, &used, &f);
            off += used;
            if (rc < 0)
                return rc;
            CHECK(r->payload_cap <= r->max_payload);
            if (rc == RILL_AGAIN) {
                CHECK_EQ(off, end);
                break;
            }
            CHECK_EQ(rc, 0);
            if (check) {
                int i = n_frames;
                size_t want = rill__mix64(seed + (uint64_t)i) % (i % 3 == 0 ? 8 : 3000);
                CHECK_EQ(f.len, want);
                CHECK_EQ(f.type, all_types[i % RILL_ARRAY_LEN(all_types)]);
                for (size_t k = 0; k < f.len; k++)
                    if (f.payload[k] != (uint8_t)(i + k))
                        CHECK_EQ(f.payload[k], (uint8_t)(i + k));
            }
            n_frames++;
        }
    }
    return n_frames;
}

TEST(net_frame_round_trip_any_chunking)
{
    rill__frame_writer w;
    make_stream(&w, 40, 7);
    const uint8_t *p = (const uint8_t *)w.q.data;
    size_t n = w.q.len;
    static const size_t chunks[] = {1, 2, 3, 7, 8, 9, 100, 4096, SIZE_MAX};
    for (size_t c = 0; c < RILL_ARRAY_LEN(chunks); c++) {
        rill__frame_reader r;
        rill__frame_reader_init(&r, RILL_FRAME_CONTROL_MAX, all_types, 5);
        CHECK_EQ(feed_all(&r, p, n, chunks[c], 7, true), 40);
        CHECK_EQ(r.n_frames, 40);
        rill__frame_reader_close(&r);
    }
    rill__frame_writer_close(&w);
}

TEST(net_frame_every_truncation)
{
    rill__frame_writer w;
    make_stream(&w, 12, 3);
    const uint8_t *p = (const uint8_t *)w.q.data;
    /* frame ends, to know how many frames each prefix holds */
    size_t ends[12], off = 0;
    for (int i = 0; i < 12; i++) {
        uint32_t len = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 | (uint32_t)p[off + 2] << 16 |
                       (uint32_t)p[off + 3] << 24;
        off += RILL_FRAME_HEADER + len;
        ends[i] = off;
    }
    CHECK_EQ(off, w.q.len);
    for (size_t cut = 0; cut <= w.q.len; cut++) {
        int whole = 0;
        while (whole < 12 && ends[whole] <= cut)
            whole++;
        rill__frame_reader r;
        rill__frame_reader_init(&r, RILL_FRAME_CONTROL_MAX, all_types, 5);
        /* a prefix gives exactly the frames it holds whole, then asks for more: no error */
        CHECK_EQ(feed_all(&r, p, cut, SIZE_MAX, 3, true), whole);
        rill__frame_reader_close(&r);
    }
    rill__frame_writer_close(&w);
}

TEST(net_frame_bad_headers)
{
    rill__frame_reader r;
    rill__frame f;
    size_t used;
    /* a length over the limit: refused from the header alone, nothing allocated */
    const uint32_t lens[] = {1025, 0xffffffffu, RILL_FRAME_MAX_PAYLOAD + 1};
    for (size_t i = 0; i < RILL_ARRAY_LEN(lens); i++) {
        rill__frame_reader_init(&r, 1024, all_types, 5);
        uint8_t h[8] = {(uint8_t)lens[i],
                        (uint8_t)(lens[i] >> 8),
                        (uint8_t)(lens[i] >> 16),
                        (uint8_t)(lens[i] >> 24),
                        RILL_FT_HEARTBEAT,
                        0,
                        0,
                        0};
        CHECK_EQ(rill__frame_reader_feed(&r, h, 8, &used, &f), RILL_ELIMIT);
        CHECK(r.payload == NULL && r.payload_cap == 0);
        CHECK_CONTAINS(r.err.msg, "over the limit of 1024");
        /* sticky: the connection is done */
        CHECK_EQ(rill__frame_reader_feed(&r, h, 8, &used, &f), RILL_ELIMIT);
        rill__frame_reader_close(&r);
    }
    /* the limit is exact: max_payload itself is accepted */
    rill__frame_reader_init(&r, 1024, all_types, 5);
    uint8_t ok[8 + 1024] = {0x00, 0x04, 0, 0, RILL_FT_HEARTBEAT, 0, 0, 0};
    CHECK_EQ(rill__frame_reader_feed(&r, ok, sizeof ok, &used, &f), 0);
    CHECK_EQ(f.len, 1024);
    rill__frame_reader_close(&r);
    /* an unknown type, a type not accepted on this connection, a flag */
    const uint8_t bad_type[8] = {0, 0, 0, 0, 0x99, 0x7f, 0, 0};
    rill__frame_reader_init(&r, 1024, all_types, 5);
    CHECK_EQ(rill__frame_reader_feed(&r, bad_type, 8, &used, &f), RILL_EPROTO);
    CHECK_CONTAINS(r.err.msg, "type 0x7f99 is unknown");
    rill__frame_reader_close(&r);
    const uint8_t hb[8] = {0, 0, 0, 0, RILL_FT_HEARTBEAT, 0, 0, 0};
    rill__frame_reader_init(&r, 1024, all_types, 2); /* only HELLO and AUTH */
    CHECK_EQ(rill__frame_reader_feed(&r, hb, 8, &used, &f), RILL_EPROTO);
    rill__frame_reader_close(&r);
    const uint8_t flag[8] = {0, 0, 0, 0, RILL_FT_HEARTBEAT, 0, 1, 0};
    rill__frame_reader_init(&r, 1024, all_types, 5);
    CHECK_EQ(rill__frame_reader_feed(&r, flag, 8, &used, &f), RILL_EPROTO);
    CHECK_CONTAINS(r.err.msg, "flags 0x0001");
    rill__frame_reader_close(&r);
    /* an HTTP request sent to the port by mistake */
    const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    rill__frame_reader_init(&r, RILL_FRAME_CONTROL_MAX, all_types, 5);
    CHECK(rill__frame_reader_feed(&r, http, strlen(http), &used, &f) < 0);
    CHECK(r.payload_cap == 0);
    rill__frame_reader_close(&r);
}

/* Seeded random corruption: flipped bytes in a valid stream, and pure garbage. The reader must
 * end every time in frames or a clean error, and never hold more than its limit. */
TEST(net_frame_random_corruption)
{
    rill__frame_writer w;
    make_stream(&w, 20, 11);
    uint8_t *copy = malloc(w.q.len);
    uint64_t rnd = 12345;
    int n_err = 0, n_ok = 0;
    for (int it = 0; it < 5000; it++) {
        memcpy(copy, w.q.data, w.q.len);
        int flips = 1 + (int)(rill__mix64(rnd++) % 4);
        for (int k = 0; k < flips; k++) {
            size_t at = rill__mix64(rnd++) % w.q.len;
            copy[at] ^= (uint8_t)(1 + rill__mix64(rnd++) % 255);
        }
        rill__frame_reader r;
        rill__frame_reader_init(&r, 4096, all_types, 5);
        size_t chunk = 1 + rill__mix64(rnd++) % 5000;
        int rc = feed_all(&r, copy, w.q.len, chunk, 11, false);
        CHECK(r.payload_cap <= 4096);
        if (rc < 0) {
            CHECK(rc == RILL_EPROTO || rc == RILL_ELIMIT);
            CHECK(r.err.msg[0] != '\0');
            n_err++;
        } else {
            n_ok++;
        }
        rill__frame_reader_close(&r);
    }
    /* both outcomes happen: flips in payloads pass, flips in headers mostly fail */
    CHECK(n_err > 100);
    CHECK(n_ok > 100);
    uint8_t garbage[8192];
    for (int it = 0; it < 3000; it++) {
        size_t n = rill__mix64(rnd++) % sizeof garbage;
        for (size_t k = 0; k < n; k++)
            garbage[k] = (uint8_t)rill__mix64(rnd++);
        if (it % 2) /* half of the time a plausible header: small length, a known type */
            for (size_t k = 0; k + 8 <= n; k += 64) {
                garbage[k + 2] = garbage[k + 3] = 0;
                garbage[k + 4] = (uint8_t)(1 + garbage[k + 4] % 6);
                garbage[k + 5] = garbage[k + 6] = garbage[k + 7] = 0;
            }
        rill__frame_reader r;
        rill__frame_reader_init(&r, 4096, all_types, 5);
        int rc = feed_all(&r, garbage, n, 1 + it % 97, 0, false);
        CHECK(rc >= 0 || rc == RILL_EPROTO || rc == RILL_ELIMIT);
        CHECK(r.payload_cap <= 4096);
        rill__frame_reader_close(&r);
    }
    free(copy);
    rill__frame_writer_close(&w);
}

/* Decoders fed random bytes: clean errors, never a crash (ASan build checks the bounds). */
TEST(net_codec_random_bytes)
{
    uint8_t buf[256];
    uint64_t rnd = 99;
    rill__err err;
    int ok = 0;
    for (int it = 0; it < 20000; it++) {
        size_t n = rill__mix64(rnd++) % sizeof buf;
        for (size_t k = 0; k < n; k++)
            buf[k] = (uint8_t)(rill__mix64(rnd++) % (it % 2 ? 4 : 256)); /* small bytes too */
        rill__msg_hello h;
        rill__msg_heartbeat hb;
        rill__msg_refuse rf;
        rill__msg_proof pf;
        int rcs[4] = {
            rill__msg_hello_dec(buf, n, &h, &err), rill__msg_heartbeat_dec(buf, n, &hb, &err),
            rill__msg_refuse_dec(buf, n, &rf, &err), rill__msg_proof_dec(buf, n, &pf, &err)};
        for (int k = 0; k < 4; k++) {
            CHECK(rcs[k] == 0 || rcs[k] == RILL_EPROTO || rcs[k] == RILL_ELIMIT);
            ok += rcs[k] == 0;
        }
        CHECK(strlen(rf.text) <= RILL_REFUSE_TEXT_MAX);
    }
    CHECK(ok > 0);
}

/* ---- partial I/O over a socketpair ---------------------------------------------------------- */

static void socketpair_nb(int sv[2])
{
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    CHECK_RC(rill__net_set_nonblock(sv[0], true));
    CHECK_RC(rill__net_set_nonblock(sv[1], true));
}

TEST(net_frame_socketpair_one_byte_chunks)
{
    int sv[2];
    socketpair_nb(sv);
    rill__frame_writer w, src;
    make_stream(&src, 30, 5);
    rill__frame_writer_init(&w, SIZE_MAX);
    w.max_write = 1;
    rill__buf_append(&w.q, src.q.data, src.q.len); /* the same bytes, queued */
    rill__frame_reader r;
    rill__frame_reader_init(&r, RILL_FRAME_CONTROL_MAX, all_types, 5);
    r.max_read = 1;
    int got = 0, spins = 0;
    while (got < 30) {
        CHECK(++spins < 10000000);
        int wrc = rill__frame_writer_flush(&w, sv[0]);
        CHECK(wrc == 0 || wrc == RILL_AGAIN);
        rill__frame f;
        int rc;
        while ((rc = rill__frame_read(&r, sv[1], &f)) == 0) {
            size_t want = rill__mix64(5 + (uint64_t)got) % (got % 3 == 0 ? 8 : 3000);
            CHECK_EQ(f.len, want);
            for (size_t k = 0; k < f.len; k++)
                if (f.payload[k] != (uint8_t)(got + k))
                    CHECK_EQ(f.payload[k], (uint8_t)(got + k));
            got++;
        }
        CHECK_EQ(rc, RILL_AGAIN);
    }
    CHECK_EQ(rill__frame_writer_pending(&w), 0);
    /* the peer closes between frames: an orderly end, not an error */
    close(sv[0]);
    rill__frame f;
    CHECK_EQ(rill__frame_read(&r, sv[1], &f), RILL_DONE);
    close(sv[1]);
    rill__frame_reader_close(&r);
    rill__frame_writer_close(&w);
    rill__frame_writer_close(&src);
}

TEST(net_frame_writer_full_socket_and_backpressure)
{
    int sv[2];
    socketpair_nb(sv);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    rill__frame_writer w;
    rill__frame_writer_init(&w, 256 << 10);
    static uint8_t big[60000];
    for (size_t k = 0; k < sizeof big; k++)
        big[k] = (uint8_t)(k * 13);
    /* queue until the writer refuses: max_pending bounds the queue */
    int queued = 0;
    while (rill__frame_writer_put(&w, RILL_FT_HEARTBEAT, big, sizeof big) == 0)
        queued++;
    CHECK(queued >= 4 && queued <= 5);
    CHECK(rill__frame_writer_pending(&w) <= 256 << 10);
    /* the socket cannot take it all: a partial write, then RILL_AGAIN */
    CHECK_EQ(rill__frame_writer_flush(&w, sv[0]), RILL_AGAIN);
    CHECK(rill__frame_writer_pending(&w) > 0);
    rill__frame_reader r;
    rill__frame_reader_init(&r, 1 << 20, all_types, 5);
    int got = 0;
    for (int spins = 0; got < queued; spins++) {
        CHECK(spins < 1000000);
        int wrc = rill__frame_writer_flush(&w, sv[0]);
        CHECK(wrc == 0 || wrc == RILL_AGAIN);
        /* refill while draining: compaction keeps the queue bounded */
        if (got == 1 && queued < 8 &&
            rill__frame_writer_put(&w, RILL_FT_HEARTBEAT, big, sizeof big) == 0)
            queued++;
        CHECK(w.q.cap <= (512u << 10));
        rill__frame f;
        while (rill__frame_read(&r, sv[1], &f) == 0) {
            CHECK_EQ(f.len, sizeof big);
            CHECK(memcmp(f.payload, big, sizeof big) == 0);
            got++;
        }
    }
    CHECK_EQ(got, queued);
    /* a closed peer is an error code, not SIGPIPE */
    close(sv[1]);
    CHECK_RC(rill__frame_writer_put(&w, RILL_FT_HEARTBEAT, big, 10));
    int rc = rill__frame_writer_flush(&w, sv[0]);
    CHECK(rc == -EPIPE || rc == -ECONNRESET);
    close(sv[0]);
    rill__frame_reader_close(&r);
    rill__frame_writer_close(&w);
}

TEST(net_frame_eof_inside_frame_and_timeout)
{
    int sv[2];
    socketpair_nb(sv);
    const uint8_t part[] = {10, 0, 0, 0, RILL_FT_HEARTBEAT, 0, 0, 0, 1, 2, 3};
    CHECK_EQ(write(sv[0], part, sizeof part), (ssize_t)sizeof part);
    rill__frame_reader r;
    rill__frame_reader_init(&r, 1024, all_types, 5);
    rill__frame f;
    /* nothing more comes: the blocking helper gives up at its deadline */
    int64_t t0 = rill__mono_ns();
    CHECK_EQ(rill__frame_recv(&r, sv[1], 100, &f), -ETIMEDOUT);
    int64_t ms = (rill__mono_ns() - t0) / 1000000;
    CHECK(ms >= 90); /* it waited for its deadline (no upper bound: a loaded machine) */
    CHECK_CONTAINS(r.err.msg, "no whole frame within 100 ms");
    close(sv[0]);
    CHECK_EQ(rill__frame_recv(&r, sv[1], 1000, &f), RILL_EPROTO);
    CHECK_CONTAINS(r.err.msg, "closed inside frame of type 0x0005 (3 of 10 payload bytes)");
    close(sv[1]);
    rill__frame_reader_close(&r);
    /* inside the header */
    socketpair_nb(sv);
    CHECK_EQ(write(sv[0], part, 5), 5);
    close(sv[0]);
    rill__frame_reader_init(&r, 1024, all_types, 5);
    CHECK_EQ(rill__frame_recv(&r, sv[1], 1000, &f), RILL_EPROTO);
    CHECK_CONTAINS(r.err.msg, "inside a frame header (5 of 8 bytes)");
    close(sv[1]);
    rill__frame_reader_close(&r);
}

#ifdef RILL_FAULT_INJECTION
/* A network fault at the N-th read or write, for every N, ends in a clean error. */
TEST(net_frame_fault_injection)
{
    for (long nth = 1; nth < 40; nth++) {
        int sv[2];
        socketpair_nb(sv);
        rill__frame_writer w;
        make_stream(&w, 10, 1);
        w.max_write = 97;
        rill__frame_reader r;
        rill__frame_reader_init(&r, RILL_FRAME_CONTROL_MAX, all_types, 5);
        r.max_read = 101;
        rill__fault_arm(RILL_FAULT_NET, nth, false);
        int got = 0, failed = 0;
        for (int spins = 0; got < 10 && !failed; spins++) {
            CHECK(spins < 100000);
            int wrc = rill__frame_writer_flush(&w, sv[0]);
            if (wrc < 0) {
                CHECK_EQ(wrc, -EPIPE);
                failed = 1;
                break;
            }
            rill__frame f;
            int rc;
            while ((rc = rill__frame_read(&r, sv[1], &f)) == 0)
                got++;
            if (rc < 0) {
                CHECK_EQ(rc, -ECONNRESET);
                CHECK_CONTAINS(r.err.msg, "injected");
                failed = 1;
            }
        }
        long seen = rill__fault_arm(RILL_FAULT_NET, 0, false);
        CHECK(failed || seen < nth);
        close(sv[0]);
        close(sv[1]);
        rill__frame_reader_close(&r);
        rill__frame_writer_close(&w);
    }
}
#endif

/* ---- sockets --------------------------------------------------------------------------------- */

TEST(net_listen_connect_accept)
{
    rill__err err = {0};
    int lfd, port;
    CHECK_RC(rill__net_listen("127.0.0.1", 0, 16, &lfd, &port, &err));
    CHECK(port > 0);
    CHECK(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
    int cfd, sfd;
    CHECK_RC(rill__net_connect("127.0.0.1", port, 2000, &cfd, &err));
    char peer[RILL_NET_NAME_MAX];
    CHECK_RC(rill__net_accept(lfd, 2000, &sfd, peer, sizeof peer, &err));
    CHECK_CONTAINS(peer, "127.0.0.1:");
    for (int i = 0; i < 2; i++) {
        int fd = i ? sfd : cfd, one = 0;
        socklen_t len = sizeof one;
        CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        CHECK(!(fcntl(fd, F_GETFL) & O_NONBLOCK));
        CHECK_EQ(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, &len), 0);
        CHECK(one != 0);
    }
    char name[RILL_NET_NAME_MAX], want[32];
    snprintf(want, sizeof want, "127.0.0.1:%d", port);
    CHECK_STR(rill__net_peer_name(cfd, name, sizeof name), want);
    /* nothing pending: timeout 0 says so at once, a timeout expires */
    int fd2;
    CHECK_EQ(rill__net_accept(lfd, 0, &fd2, NULL, 0, &err), RILL_AGAIN);
    CHECK_EQ(rill__net_accept(lfd, 50, &fd2, NULL, 0, &err), -ETIMEDOUT);
    CHECK_EQ(fd2, -1);
    /* the port is taken: the error names the address, the port and the OS error */
    int lfd2;
    CHECK_EQ(rill__net_listen("127.0.0.1", port, 16, &lfd2, NULL, &err), -EADDRINUSE);
    CHECK_CONTAINS(err.msg, want);
    CHECK_CONTAINS(err.msg, strerror(EADDRINUSE));
    close(cfd);
    close(sfd);
    close(lfd);
    /* nobody listens there any more */
    CHECK_EQ(rill__net_connect("127.0.0.1", port, 2000, &cfd, &err), -ECONNREFUSED);
    CHECK_CONTAINS(err.msg, want);
    CHECK_EQ(cfd, -1);
    /* no hidden wildcard */
    CHECK_EQ(rill__net_listen(NULL, 0, 16, &lfd, NULL, &err), RILL_EINVAL);
    CHECK_EQ(rill__net_listen("no-such-host.invalid", 0, 16, &lfd, NULL, &err), RILL_ENOENT);
    CHECK_CONTAINS(err.msg, "no-such-host.invalid:0");
}

TEST(net_loopback_and_bind_rule)
{
    CHECK(rill__net_addr_is_loopback("127.0.0.1"));
    CHECK(rill__net_addr_is_loopback("127.3.2.1"));
    CHECK(rill__net_addr_is_loopback("::1"));
    CHECK(rill__net_addr_is_loopback("::ffff:127.0.0.1"));
    CHECK(rill__net_addr_is_loopback("localhost"));
    CHECK(!rill__net_addr_is_loopback("0.0.0.0"));
    CHECK(!rill__net_addr_is_loopback("::"));
    CHECK(!rill__net_addr_is_loopback("10.1.2.3"));
    CHECK(!rill__net_addr_is_loopback("128.0.0.1"));
    CHECK(!rill__net_addr_is_loopback(""));
    CHECK(!rill__net_addr_is_loopback(NULL));
    rill__err err = {0};
    CHECK_RC(rill__net_check_bind("control port", "127.0.0.1", false, &err));
    CHECK_RC(rill__net_check_bind("control port", "0.0.0.0", true, &err));
    CHECK_EQ(rill__net_check_bind("data port", "0.0.0.0", false, &err), RILL_ECONFIG);
    CHECK_CONTAINS(err.msg, "data port binds to 0.0.0.0");
    CHECK_CONTAINS(err.msg, "--secret-file");
}

TEST(net_parse_hostport)
{
    char host[64];
    int port;
    CHECK_RC(rill__net_parse_hostport("jm.example:6123", host, sizeof host, &port));
    CHECK_STR(host, "jm.example");
    CHECK_EQ(port, 6123);
    CHECK_RC(rill__net_parse_hostport("[::1]:1", host, sizeof host, &port));
    CHECK_STR(host, "::1");
    CHECK_EQ(port, 1);
    const char *bad[] = {"",      "host",   "host:",   ":80",   "h:0",  "h:65536",
                         "h:80x", "::1:80", "[::1]80", "[::1]", "[]:80"};
    for (size_t i = 0; i < RILL_ARRAY_LEN(bad); i++)
        if (rill__net_parse_hostport(bad[i], host, sizeof host, &port) != RILL_EPARSE)
            rill_test_fail(__FILE__, __LINE__, "\"%s\" parsed", bad[i]);
    CHECK_EQ(rill__net_parse_hostport("averylonghostname:80", host, 8, &port), RILL_EPARSE);
}

/* ---- handshake over loopback TCP ------------------------------------------------------------ */

static const uint8_t secret_a[] = "correct horse battery staple";
static const uint8_t secret_b[] = "correct horse battery stapl3";

typedef struct server {
    int lfd, port;
    rill__hs_config cfg;
    int rc;
    rill__hs_peer peer;
    rill__err err;
    bool read_heartbeat; /* after the handshake, read one HEARTBEAT the client pipelined */
    uint64_t hb_seq;
    pthread_t thread;
} server;

static void *server_main(void *arg)
{
    server *s = arg;
    int fd;
    s->rc = rill__net_accept(s->lfd, 5000, &fd, NULL, 0, &s->err);
    if (s->rc)
        return NULL;
    static const uint16_t after[] = {RILL_FT_HEARTBEAT};
    rill__frame_reader r;
    rill__frame_reader_init(&r, RILL_FRAME_CONTROL_MAX, after, 1);
    s->rc = rill__hs_server(fd, &s->cfg, &r, &s->peer, &s->err);
    if (!s->rc && s->read_heartbeat) {
        rill__frame f;
        rill__msg_heartbeat hb;
        s->rc = rill__frame_recv(&r, fd, 5000, &f);
        if (!s->rc)
            s->rc = rill__msg_heartbeat_dec(f.payload, f.len, &hb, &s->err);
        s->hb_seq = hb.seq;
    }
    rill__frame_reader_close(&r);
    close(fd);
    return NULL;
}

static void server_start(server *s, const char *cluster, const uint8_t *secret)
{
    memset(s, 0, sizeof *s);
    rill__err err = {0};
    CHECK_RC(rill__net_listen("127.0.0.1", 0, 4, &s->lfd, &s->port, &err));
    s->cfg = (rill__hs_config){.cluster_id = cluster,
                               .name = "jobmanager under test",
                               .role = RILL_ROLE_JOBMANAGER,
                               .peer_roles = RILL_ROLE_BIT(RILL_ROLE_TASKMANAGER) |
                                             RILL_ROLE_BIT(RILL_ROLE_CLIENT),
                               .secret = secret,
                               .secret_len = secret ? strlen((const char *)secret) : 0,
                               .timeout_ms = 3000};
}

static void server_run(server *s)
{
    CHECK_EQ(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_join(server *s)
{
    pthread_join(s->thread, NULL);
    close(s->lfd);
}

static int client_connect(server *s, const char *cluster, rill__role role, const uint8_t *secret,
                          rill__hs_peer *peer, rill__err *err, bool send_heartbeat)
{
    rill__hs_config cfg = {.cluster_id = cluster,
                           .name = "taskmanager 1",
                           .role = role,
                           .peer_roles = RILL_ROLE_BIT(RILL_ROLE_JOBMANAGER),
                           .secret = secret,
                           .secret_len = secret ? strlen((const char *)secret) : 0,
                           .timeout_ms = 3000};
    int fd;
    CHECK_RC(rill__net_connect("127.0.0.1", s->port, 2000, &fd, err));
    static const uint16_t after[] = {RILL_FT_HEARTBEAT};
    rill__frame_reader r;
    rill__frame_reader_init(&r, RILL_FRAME_CONTROL_MAX, after, 1);
    int rc = rill__hs_client(fd, &cfg, &r, peer, err);
    CHECK(r.types == after); /* the caller's frame types are back */
    if (!rc && send_heartbeat) {
        rill__buf b = {0};
        rill__msg_heartbeat hb = {.seq = 77, .sent_ms = rill__now_ms()};
        CHECK_RC(rill__msg_heartbeat_enc(&b, &hb));
        CHECK_RC(rill__frame_send(fd, RILL_FT_HEARTBEAT, b.data, b.len, 2000, err));
        rill__buf_free(&b);
    }
    rill__frame_reader_close(&r);
    close(fd);
    return rc;
}

TEST(net_handshake_accepts)
{
    const uint8_t *secrets[] = {NULL, secret_a};
    for (int i = 0; i < 2; i++) {
        server s;
        server_start(&s, "prod", secrets[i]);
        s.read_heartbeat = true;
        server_run(&s);
        rill__hs_peer peer;
        rill__err err = {0};
        int rc = client_connect(&s, "prod", RILL_ROLE_TASKMANAGER, secrets[i], &peer, &err, true);
        server_join(&s);
        if (rc)
            rill_test_fail(__FILE__, __LINE__, "client: %s", err.msg);
        if (s.rc)
            rill_test_fail(__FILE__, __LINE__, "server: %s", s.err.msg);
        CHECK_EQ(peer.role, RILL_ROLE_JOBMANAGER);
        CHECK_STR(peer.name, "jobmanager under test");
        CHECK_STR(peer.cluster_id, "prod");
        CHECK_EQ(peer.version, RILL_PROTO_VERSION);
        CHECK_EQ(s.peer.role, RILL_ROLE_TASKMANAGER);
        CHECK_STR(s.peer.name, "taskmanager 1");
        CHECK_EQ(s.hb_seq, 77); /* the frame sent right after the handshake arrived */
    }
}

/* Each refusal: both sides fail with the same reason, the refused side hears it from the peer. */
TEST(net_handshake_refusals)
{
    static const struct {
        const char *client_cluster;
        rill__role client_role;
        const uint8_t *server_secret, *client_secret;
        int reason, rc;
        const char *text;
    } cases[] = {
        {"staging", RILL_ROLE_TASKMANAGER, NULL, NULL, RILL_REFUSE_CLUSTER, RILL_ECONFIG,
         "cluster id 'staging' does not match this cluster's 'prod'"},
        {"prod", RILL_ROLE_DATA, NULL, NULL, RILL_REFUSE_ROLE, RILL_ECONFIG,
         "a data (role 4) may not connect to a jobmanager"},
        {"prod", RILL_ROLE_TASKMANAGER, secret_a, NULL, RILL_REFUSE_NO_SECRET, RILL_EAUTH,
         "a shared secret is required and taskmanager 1 has none"},
        {"prod", RILL_ROLE_TASKMANAGER, secret_a, secret_b, RILL_REFUSE_BAD_SECRET, RILL_EAUTH,
         "taskmanager 1 did not prove the shared secret"},
        {"prod", RILL_ROLE_TASKMANAGER, NULL, secret_a, RILL_REFUSE_UNEXPECTED_SECRET, RILL_EAUTH,
         "taskmanager 1 has a shared secret but jobmanager under test has none"},
    };
    for (size_t i = 0; i < RILL_ARRAY_LEN(cases); i++) {
        server s;
        server_start(&s, "prod", cases[i].server_secret);
        server_run(&s);
        rill__hs_peer peer;
        rill__err err = {0};
        int rc = client_connect(&s, cases[i].client_cluster, cases[i].client_role,
                                cases[i].client_secret, &peer, &err, false);
        server_join(&s);
        CHECK_EQ(s.rc, cases[i].rc);
        CHECK_EQ(s.peer.refused, cases[i].reason);
        CHECK(!s.peer.refused_by_peer);
        CHECK_CONTAINS(s.err.msg, cases[i].text);
        CHECK_EQ(rc, cases[i].rc);
        CHECK_EQ(peer.refused, cases[i].reason);
        CHECK(peer.refused_by_peer);
        CHECK_CONTAINS(err.msg, "refused by peer 127.0.0.1:");
        CHECK_CONTAINS(err.msg, cases[i].text);
    }
}

/* A raw peer: sends a hand-made HELLO, returns the fd for the test to go on with. */
static int raw_hello(server *s, uint32_t magic, uint16_t version, const char *cluster)
{
    rill__err err = {0};
    int fd;
    CHECK_RC(rill__net_connect("127.0.0.1", s->port, 2000, &fd, &err));
    rill__msg_hello h = {
        .magic = magic, .version = version, .role = RILL_ROLE_TASKMANAGER, .auth = 0};
    snprintf(h.cluster_id, sizeof h.cluster_id, "%s", cluster);
    strcpy(h.name, "raw");
    rill__buf b = {0};
    CHECK_RC(rill__msg_hello_enc(&b, &h));
    CHECK_RC(rill__frame_send(fd, RILL_FT_HELLO, b.data, b.len, 2000, &err));
    rill__buf_free(&b);
    return fd;
}

static void expect_refuse(int fd, int reason, const char *text)
{
    rill__frame_reader r;
    rill__frame_reader_init(&r, RILL_FRAME_CONTROL_MAX, all_types, 5);
    rill__frame f;
    CHECK_RC(rill__frame_recv(&r, fd, 3000, &f));
    CHECK_EQ(f.type, RILL_FT_REFUSE);
    rill__msg_refuse m;
    rill__err err = {0};
    CHECK_RC(rill__msg_refuse_dec(f.payload, f.len, &m, &err));
    CHECK_EQ(m.reason, reason);
    CHECK_CONTAINS(m.text, text);
    rill__frame_reader_close(&r);
}

TEST(net_handshake_version_magic_and_garbage)
{
    server s;
    /* a peer of a later protocol version */
    server_start(&s, "prod", NULL);
    server_run(&s);
    int fd = raw_hello(&s, RILL_PROTO_MAGIC, RILL_PROTO_VERSION + 1, "prod");
    expect_refuse(fd, RILL_REFUSE_VERSION, "protocol version 2 is not spoken here");
    close(fd);
    server_join(&s);
    CHECK_EQ(s.rc, RILL_EPROTO);
    CHECK_EQ(s.peer.refused, RILL_REFUSE_VERSION);
    /* not rill at all */
    server_start(&s, "prod", NULL);
    server_run(&s);
    fd = raw_hello(&s, 0x12345678, RILL_PROTO_VERSION, "prod");
    expect_refuse(fd, RILL_REFUSE_PROTOCOL, "bad magic 0x12345678");
    close(fd);
    server_join(&s);
    CHECK_EQ(s.rc, RILL_EPROTO);
    /* control characters in a cluster id: compared as sent, logged made safe */
    server_start(&s, "pr?d", NULL);
    server_run(&s);
    fd = raw_hello(&s, RILL_PROTO_MAGIC, RILL_PROTO_VERSION, "pr\nd");
    expect_refuse(fd, RILL_REFUSE_CLUSTER, "cluster id 'pr?d' does not match");
    close(fd);
    server_join(&s);
    CHECK_EQ(s.rc, RILL_ECONFIG);
    CHECK(!strchr(s.err.msg, '\n'));
    /* an HTTP request on the control port */
    server_start(&s, "prod", NULL);
    server_run(&s);
    rill__err err = {0};
    CHECK_RC(rill__net_connect("127.0.0.1", s.port, 2000, &fd, &err));
    const char *http = "GET /jobs HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK_EQ(write(fd, http, strlen(http)), (ssize_t)strlen(http));
    expect_refuse(fd, RILL_REFUSE_PROTOCOL, "frame 1");
    close(fd);
    server_join(&s);
    CHECK_EQ(s.rc, RILL_EPROTO);
    CHECK_EQ(s.peer.refused, RILL_REFUSE_PROTOCOL);
}

/* The server proves the secret too: a process that knows the protocol but not the secret and
 * accepts anything is caught by the client. */
TEST(net_handshake_client_checks_server_proof)
{
    rill__err err = {0};
    int lfd, port;
    CHECK_RC(rill__net_listen("127.0.0.1", 0, 4, &lfd, &port, &err));
    int cfd;
    CHECK_RC(rill__net_connect("127.0.0.1", port, 2000, &cfd, &err));
    int sfd;
    CHECK_RC(rill__net_accept(lfd, 2000, &sfd, NULL, 0, &err));
    /* the impostor's answers are queued before the client starts: the socket buffers them */
    rill__msg_hello h = {.magic = RILL_PROTO_MAGIC,
                         .version = RILL_PROTO_VERSION,
                         .role = RILL_ROLE_JOBMANAGER,
                         .auth = 1};
    strcpy(h.cluster_id, "prod");
    strcpy(h.name, "impostor");
    rill__buf b = {0};
    CHECK_RC(rill__msg_hello_enc(&b, &h));
    CHECK_RC(rill__frame_send(sfd, RILL_FT_HELLO, b.data, b.len, 1000, &err));
    rill__buf_free(&b);
    rill__msg_proof p = {.mac_len = 32};
    memset(p.mac, 0x42, 32);
    CHECK_RC(rill__msg_proof_enc(&b, &p));
    CHECK_RC(rill__frame_send(sfd, RILL_FT_WELCOME, b.data, b.len, 1000, &err));
    rill__buf_free(&b);
    rill__hs_config cfg = {.cluster_id = "prod",
                           .name = "tm",
                           .role = RILL_ROLE_TASKMANAGER,
                           .peer_roles = RILL_ROLE_BIT(RILL_ROLE_JOBMANAGER),
                           .secret = secret_a,
                           .secret_len = sizeof secret_a - 1,
                           .timeout_ms = 2000};
    rill__frame_reader r;
    rill__frame_reader_init(&r, RILL_FRAME_CONTROL_MAX, NULL, 0);
    rill__hs_peer peer;
    CHECK_EQ(rill__hs_client(cfd, &cfg, &r, &peer, &err), RILL_EAUTH);
    CHECK_EQ(peer.refused, RILL_REFUSE_BAD_SECRET);
    CHECK_CONTAINS(err.msg, "impostor did not prove the shared secret");
    rill__frame_reader_close(&r);
    /* the impostor is told why: HELLO, AUTH from the client, then the REFUSE */
    rill__frame_reader_init(&r, RILL_FRAME_CONTROL_MAX, all_types, 5);
    rill__frame f;
    CHECK_RC(rill__frame_recv(&r, sfd, 2000, &f));
    CHECK_EQ(f.type, RILL_FT_HELLO);
    CHECK_RC(rill__frame_recv(&r, sfd, 2000, &f));
    CHECK_EQ(f.type, RILL_FT_AUTH);
    CHECK_RC(rill__frame_recv(&r, sfd, 2000, &f));
    CHECK_EQ(f.type, RILL_FT_REFUSE);
    rill__msg_refuse m;
    CHECK_RC(rill__msg_refuse_dec(f.payload, f.len, &m, &err));
    CHECK_EQ(m.reason, RILL_REFUSE_BAD_SECRET);
    CHECK_CONTAINS(m.text, "did not prove");
    rill__frame_reader_close(&r);
    close(cfd);
    close(sfd);
    close(lfd);
}

/* A client that connects and says nothing holds the server for the timeout, no longer. */
TEST(net_handshake_timeout)
{
    server s;
    server_start(&s, "prod", NULL);
    s.cfg.timeout_ms = 200;
    server_run(&s);
    rill__err err = {0};
    int fd;
    CHECK_RC(rill__net_connect("127.0.0.1", s.port, 2000, &fd, &err));
    server_join(&s); /* it gives up: the join returns */
    CHECK_EQ(s.rc, -ETIMEDOUT);
    CHECK_CONTAINS(s.err.msg, "no whole frame within");
    close(fd);
}

/* ---- the secret file ------------------------------------------------------------------------ */

TEST(net_secret_file_permissions)
{
    char path[512];
    snprintf(path, sizeof path, "%s/secret", rill_test_tmpdir());
    const char *text = "0123456789abcdef-secret\n";
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    CHECK_EQ(chmod(path, 0600), 0);
    uint8_t *sec;
    size_t len;
    rill__err err = {0};
    CHECK_RC(rill__secret_read_file(path, &sec, &len, &err));
    CHECK_EQ(len, strlen(text) - 1); /* the trailing newline is not part of it */
    CHECK(memcmp(sec, text, len) == 0);
    rill__secret_free(sec, len);
    /* readable by others, or by the group: refused, naming the mode and the fix */
    const mode_t bad[] = {0644, 0640, 0604, 0620, 0602};
    for (size_t i = 0; i < RILL_ARRAY_LEN(bad); i++) {
        CHECK_EQ(chmod(path, bad[i]), 0);
        CHECK_EQ(rill__secret_read_file(path, &sec, &len, &err), RILL_EPERM);
        CHECK(sec == NULL && len == 0);
        CHECK_CONTAINS(err.msg, "group and others must have no access");
        CHECK_CONTAINS(err.msg, path);
    }
    CHECK_CONTAINS(err.msg, "mode 0602");
    /* too short to be a secret */
    CHECK_EQ(chmod(path, 0600), 0);
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK_EQ(write(fd, "short\n", 6), 6);
    close(fd);
    CHECK_EQ(rill__secret_read_file(path, &sec, &len, &err), RILL_EINVAL);
    CHECK_CONTAINS(err.msg, "holds 5 bytes");
    /* missing */
    CHECK_EQ(rill__secret_read_file("/nonexistent/secret", &sec, &len, &err), -ENOENT);
    CHECK_CONTAINS(err.msg, "/nonexistent/secret");
    /* a directory is not a secret file */
    CHECK_EQ(rill__secret_read_file(rill_test_tmpdir(), &sec, &len, &err), RILL_EINVAL);
}
