/*
 * test_nexmark.c - the Nexmark generator and source: java.util.Random, the reference's events
 * field by field and by digest, proportions, ids, timestamps, the flat columns, options, and
 * every event exactly once through chains of rescaled restores.
 *
 * Where the expected values come from (none from the code under test):
 * - java.util.Random, Math.round, Integer.reverse: OpenJDK 17.0.15's jshell.
 * - events: the reference's own Java classes, nexmark/nexmark's nexmark-flink at commit
 *   8ff9866~1 (the last version that seeds java.util.Random with each event's id), compiled
 *   with Flink's imports stubbed out, and its BidGenerator replaced by the one at the reference's
 *   head (6b3646c: channel and url) with SplittableRandom turned into java.util.Random and its
 *   channel table drawn from new Random(0); a small driver printed the events of each split as
 *   tab-separated lines (split, k, timestamp, kind, fields in the model's order) and Python
 *   hashed them (FNV-1a 64). tests/data/nexmark/make_oracle.sh builds that generator.
 */
#include <stdlib.h>
#include <string.h>

#include "connectors/nexmark_gen.h"
#include "rill.h"
#include "test.h"

/* ---- java.util.Random ----------------------------------------------------------------------- */

TEST(nexmark_java_random_sequences)
{
    /* per seed: nextInt() x3; nextInt(10), nextInt(64), nextInt(1000000007),
     * nextInt(2^30 + 1), nextInt(Integer.MAX_VALUE); nextLong() x2; nextDouble() x2 */
    static const struct {
        int64_t seed;
        int32_t ints[3], bounded[5];
        int64_t longs[2];
        double doubles[2];
    } cases[] = {
        {42,
         {-1170105035, 234785527, -1360544799},
         {4, 19, 595021505, 196118093, 1939977182},
         {INT64_C(8324226458996739737), INT64_C(7040072382879853816)},
         {0x1.617f7c3b59p-1, 0x1.8630aee4362p-1}},
        {0,
         {-1155484576, -723955400, 1033096058},
         {7, 40, 663681053, 251269761, 1283218719},
         {INT64_C(-4029974628518736597), INT64_C(4662897195779605027)},
         {0x1.39dfd2fe0f499p-1, 0x1.f7341ef0890d8p-1}},
        {-1,
         {1155099827, 1887904451, 52699159},
         {9, 42, 290198431, 894294477, 857465478},
         {INT64_C(-3206673117535979274), INT64_C(-3577981259754968255)},
         {0x1.d138008e97f4p-5, 0x1.51643ec2a8d08p-4}},
        /* only the low 48 bits of a seed count: Long.MIN_VALUE seeds as 0 does */
        {INT64_MIN,
         {-1155484576, -723955400, 1033096058},
         {7, 40, 663681053, 251269761, 1283218719},
         {INT64_C(-4029974628518736597), INT64_C(4662897195779605027)},
         {0x1.39dfd2fe0f499p-1, 0x1.f7341ef0890d8p-1}},
        {INT64_C(1234567890123),
         {-8722476, -1977939436, -999828940},
         {9, 50, 555877858, 458291080, 470392121},
         {INT64_C(-1760658433924376084), INT64_C(4898561677383822704)},
         {0x1.62c3ea2e275p-5, 0x1.116770641b48p-2}},
    };
    static const int32_t bounds[5] = {10, 64, 1000000007, (1 << 30) + 1, INT32_MAX};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        rill__jrandom r;
        rill__jrandom_seed(&r, cases[c].seed);
        for (int i = 0; i < 3; i++)
            CHECK_EQ(rill__jrandom_int(&r), cases[c].ints[i]);
        for (int i = 0; i < 5; i++)
            CHECK_EQ(rill__jrandom_int_below(&r, bounds[i]), cases[c].bounded[i]);
        for (int i = 0; i < 2; i++)
            CHECK_EQ(rill__jrandom_long(&r), cases[c].longs[i]);
        for (int i = 0; i < 2; i++)
            CHECK(rill__jrandom_double(&r) == cases[c].doubles[i]);
    }
    /* nextInt(2^30 + 1) rejects about half its draws: the redraws must be the same */
    static const int32_t rejecting[8] = {20678044,  747989380, 1053566254, 755731200,
                                         259278708, 542588911, 178712961,  234738279};
    rill__jrandom r;
    rill__jrandom_seed(&r, 7);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(rill__jrandom_int_below(&r, (1 << 30) + 1), rejecting[i]);
    CHECK_EQ(rill__jrandom_int(&r), -1539251611);
}

TEST(nexmark_java_round_and_casts)
{
    CHECK_EQ(rill__java_round(0.49999999999999994), 0); /* floor(x + 0.5) would give 1 */
    CHECK_EQ(rill__java_round(-2.5), -2);
    CHECK_EQ(rill__java_round(2.5), 3);
    CHECK_EQ(rill__java_round(1e300), INT64_MAX);
    CHECK_EQ(rill__java_round((double)NAN), 0);
    CHECK_EQ(rill__java_d2l(-1e300), INT64_MIN);
    CHECK_EQ(rill__java_d2l(1e19), INT64_MAX);
    CHECK_EQ(rill__java_d2l(-7.9), -7);
}

/* ---- events against the reference ----------------------------------------------------------- */

static void gen_default(rill__nexmark_gen *g, int n_splits, int64_t base, int64_t events)
{
    rill__nexmark_cfg c;
    rill__nexmark_cfg_default(&c);
    c.events_num = events;
    rill__nexmark_gen_init(g, &c, n_splits, base);
}

static char *str(rill__nexmark_str s)
{
    static char b[4][4096];
    static int i;
    i = (i + 1) % 4;
    CHECK(s.len < sizeof b[0]);
    memcpy(b[i], s.p, s.len);
    b[i][s.len] = 0;
    return b[i];
}

TEST(nexmark_default_first_events_field_by_field)
{
    rill__nexmark_gen g;
    gen_default(&g, 1, INT64_C(1700000000000), 0);
    char *buf = rill__xmalloc(g.buf_size);
    rill__nexmark_event e;

    /* event 0: id 2, an auction (2 mod 50 is in [1, 4)) */
    rill__nexmark_event_at(&g, 0, 0, buf, &e);
    CHECK_EQ(e.kind, RILL_NEXMARK_AUCTION);
    CHECK_EQ(e.event_id, 2);
    CHECK_EQ(e.date_time, INT64_C(1700000000000));
    CHECK_EQ(e.auction.id, 1001);
    CHECK_STR(str(e.auction.item_name), "z ck w");
    CHECK_STR(str(e.auction.description), "cwlachrnkfzkygsu edjytotggvasbt z "
                                          "yjjszhhsqtrgzblkaolzkhlldqedvgj "
                                          "fdbvswemnzshmwipqrzqfkd");
    CHECK_EQ(e.auction.initial_bid, 25626290);
    CHECK_EQ(e.auction.reserve, 28805847);
    CHECK_EQ(e.auction.expires, INT64_C(1700000000202));
    CHECK_EQ(e.auction.seller, 1000);
    CHECK_EQ(e.auction.category, 12);
    CHECK_EQ(e.auction.extra.len, 319);
    CHECK(!memcmp(e.auction.extra.p, "jzlkehMZPLIIwtopffS\\KHLRhdduqtifpeko`KO`ZQK", 43));

    /* event 2: a bid on the hot auction by the hot bidder, on a hot channel */
    rill__nexmark_event_at(&g, 0, 2, buf, &e);
    CHECK_EQ(e.kind, RILL_NEXMARK_BID);
    CHECK_EQ(e.bid.auction, 1000);
    CHECK_EQ(e.bid.bidder, 2001); /* the reference adds the first person id twice */
    CHECK_EQ(e.bid.price, 32530001);
    CHECK_EQ(e.date_time, INT64_C(1700000000000));
    CHECK_STR(str(e.bid.channel), "Google");
    CHECK_STR(str(e.bid.url), "https://www.nexmark.com/xnhd/xcat/bwmn/item.htm?query=1");
    CHECK_STR(str(e.bid.extra), "sbolvyqwgticfdrwdyiyofziYMU\\Z`UaTQO][NX\\RM]WPYTOuwogvszlx");

    /* event 5: a numbered channel whose URL has a channel_id */
    rill__nexmark_event_at(&g, 0, 5, buf, &e);
    CHECK_EQ(e.bid.price, 3126206);
    CHECK_STR(str(e.bid.channel), "channel-6254");
    CHECK_STR(str(e.bid.url), "https://www.nexmark.com/fsm/w_hh/kia/item.htm?query=1"
                              "&channel_id=1981284352");

    /* event 48: id 50, the first person; 49 events of 100 us: 4 ms */
    rill__nexmark_event_at(&g, 0, 48, buf, &e);
    CHECK_EQ(e.kind, RILL_NEXMARK_PERSON);
    CHECK_EQ(e.event_id, 50);
    CHECK_EQ(e.date_time, INT64_C(1700000000004));
    CHECK_EQ(e.person.id, 1001);
    CHECK_STR(str(e.person.name), "Sarah Smith");
    CHECK_STR(str(e.person.email_address), "f  y@yumv.com");
    CHECK_STR(str(e.person.credit_card), "0892 2755 1923 0591");
    CHECK_STR(str(e.person.city), "Los Angeles");
    CHECK_STR(str(e.person.state), "ID");
    CHECK(e.person.extra.len > 100 && !memcmp(e.person.extra.p, "`RT]WInnxtneWPLPHOyw", 20));
    free(buf);
    rill__nexmark_gen_fini(&g);
}

static void put_str(rill__buf *b, rill__nexmark_str s)
{
    rill__buf_append(b, s.p, s.len);
}

/* The events of every split (up to n each) as the reference driver prints them. */
static void dump(const rill__nexmark_gen *g, int64_t n, rill__buf *b)
{
    char *buf = rill__xmalloc(g->buf_size);
    for (int s = 0; s < g->n_splits; s++) {
        int64_t m = RILL_MIN(n, rill__nexmark_split_events(g, s));
        for (int64_t k = 0; k < m; k++) {
            rill__nexmark_event e;
            rill__nexmark_event_at(g, s, k, buf, &e);
            rill__buf_printf(b, "%d\t%lld\t%lld\t", s, (long long)k, (long long)e.date_time);
            if (e.kind == RILL_NEXMARK_PERSON) {
                rill__buf_printf(b, "P\t%lld\t", (long long)e.person.id);
                put_str(b, e.person.name);
                rill__buf_printf(b, "\t");
                put_str(b, e.person.email_address);
                rill__buf_printf(b, "\t");
                put_str(b, e.person.credit_card);
                rill__buf_printf(b, "\t");
                put_str(b, e.person.city);
                rill__buf_printf(b, "\t");
                put_str(b, e.person.state);
                rill__buf_printf(b, "\t%lld\t", (long long)e.date_time);
                put_str(b, e.person.extra);
            } else if (e.kind == RILL_NEXMARK_AUCTION) {
                rill__buf_printf(b, "A\t%lld\t", (long long)e.auction.id);
                put_str(b, e.auction.item_name);
                rill__buf_printf(b, "\t");
                put_str(b, e.auction.description);
                rill__buf_printf(b, "\t%lld\t%lld\t%lld\t%lld\t%lld\t%lld\t",
                                 (long long)e.auction.initial_bid, (long long)e.auction.reserve,
                                 (long long)e.date_time, (long long)e.auction.expires,
                                 (long long)e.auction.seller, (long long)e.auction.category);
                put_str(b, e.auction.extra);
            } else {
                rill__buf_printf(b, "B\t%lld\t%lld\t%lld\t%lld\t", (long long)e.bid.auction,
                                 (long long)e.bid.bidder, (long long)e.bid.price,
                                 (long long)e.date_time);
                put_str(b, e.bid.extra);
                rill__buf_printf(b, "\t");
                put_str(b, e.bid.channel);
                rill__buf_printf(b, "\t");
                put_str(b, e.bid.url);
            }
            rill__buf_printf(b, "\n");
        }
    }
    free(buf);
}

static uint64_t fnv1a(const void *p, size_t n)
{
    const unsigned char *c = p;
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * UINT64_C(0x100000001b3);
    return h;
}

TEST(nexmark_streams_match_the_reference_digests)
{
    static const struct {
        int splits;
        int64_t base, events_num, per_split;
        int32_t rate, p, a, b;
        int64_t lines;
        uint64_t fnv;
    } cases[] = {
        /* defaults, one split, unbounded: the first 20000 events */
        {1, INT64_C(1700000000000), 0, 20000, 10000, 1, 3, 46, 20000, UINT64_C(0x4922e97fe93bc68d)},
        /* three splits over 30000 events */
        {3, INT64_C(1700000000000), 30000, 10000, 10000, 1, 3, 46, 30000,
         UINT64_C(0xd566644b774b279f)},
        /* other rate and proportions, two splits */
        {2, 0, 0, 3000, 777, 5, 7, 11, 6000, UINT64_C(0xe24c2089d5008fc9)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rill__nexmark_cfg c;
        rill__nexmark_cfg_default(&c);
        c.events_num = cases[i].events_num;
        c.first_event_rate = cases[i].rate;
        c.person_proportion = cases[i].p;
        c.auction_proportion = cases[i].a;
        c.bid_proportion = cases[i].b;
        rill__nexmark_gen g;
        rill__nexmark_gen_init(&g, &c, cases[i].splits, cases[i].base);
        rill__buf b = {0};
        dump(&g, cases[i].per_split, &b);
        int64_t lines = 0;
        for (size_t j = 0; j < b.len; j++)
            lines += b.data[j] == '\n';
        CHECK_EQ(lines, cases[i].lines);
        uint64_t h = fnv1a(b.data, b.len);
        if (h != cases[i].fnv)
            rill_test_fail(__FILE__, __LINE__,
                           "case %zu: digest %016llx, the reference's "
                           "%016llx; first line: %.200s",
                           i, (unsigned long long)h, (unsigned long long)cases[i].fnv, b.data);
        rill__buf_free(&b);
        rill__nexmark_gen_fini(&g);
    }
}

/* ---- properties ----------------------------------------------------------------------------- */

TEST(nexmark_proportions_ids_and_timestamps)
{
    rill__nexmark_gen g;
    int64_t base = INT64_C(1600000000000);
    gen_default(&g, 1, base, 0);
    char *buf = rill__xmalloc(g.buf_size);
    enum { N = 100000 };
    int64_t count[3] = {0}, last_person = 1000, last_auction = 1000, last_ts = INT64_MIN;
    for (int64_t k = 0; k < N; k++) {
        rill__nexmark_event e;
        rill__nexmark_event_at(&g, 0, k, buf, &e);
        /* ids from 2; id mod 50: 0 person, 1..3 auction, else bid */
        int64_t id = k + 2, rem = id % 50;
        CHECK_EQ(e.event_id, id);
        CHECK_EQ(e.kind, rem < 1 ? 0 : rem < 4 ? 1 : 2);
        count[e.kind]++;
        /* 10000 events/s: event number k + 1 at (k + 1) * 100 us */
        CHECK_EQ(e.date_time, base + (k + 1) / 10);
        CHECK(e.date_time >= last_ts);
        last_ts = e.date_time;
        switch (e.kind) {
        case RILL_NEXMARK_PERSON:
            CHECK_EQ(e.person.id, last_person + 1);
            last_person = e.person.id;
            CHECK_EQ(e.person.credit_card.len, 19);
            break;
        case RILL_NEXMARK_AUCTION:
            CHECK_EQ(e.auction.id, last_auction + 1);
            last_auction = e.auction.id;
            CHECK(e.auction.category >= 10 && e.auction.category < 15);
            CHECK(e.auction.reserve > e.auction.initial_bid);
            CHECK(e.auction.expires > e.date_time);
            CHECK(e.auction.seller >= 1000 && e.auction.seller <= last_person + 10);
            CHECK(e.auction.item_name.len < 20 && e.auction.description.len < 100);
            break;
        default:
            CHECK(e.bid.auction >= 1000 && e.bid.auction <= last_auction + 10);
            CHECK(e.bid.bidder >= 2000 && e.bid.bidder <= last_person + 1000 + 10);
            CHECK(e.bid.price >= 100 && e.bid.price <= 100000000);
            CHECK(e.bid.url.len > 40);
            break;
        }
    }
    /* ids 2 .. N + 1: persons are the multiples of 50, auctions 1..3 past one */
    int64_t want[3] = {0};
    for (int64_t id = 2; id < N + 2; id++)
        want[id % 50 < 1 ? 0 : id % 50 < 4 ? 1 : 2]++;
    for (int i = 0; i < 3; i++)
        CHECK_EQ(count[i], want[i]);
    CHECK_EQ(count[0], 2000);
    free(buf);
    rill__nexmark_gen_fini(&g);
}

TEST(nexmark_splits_cut_events_num_as_the_reference)
{
    rill__nexmark_gen g;
    gen_default(&g, 4, 0, 10001);
    /* maxEvents / 4 each, the last the rest; ids run on from split to split */
    CHECK_EQ(rill__nexmark_split_events(&g, 0), 2500);
    CHECK_EQ(rill__nexmark_split_events(&g, 3), 2501);
    char *buf = rill__xmalloc(g.buf_size);
    rill__nexmark_event e;
    rill__nexmark_event_at(&g, 2, 0, buf, &e);
    CHECK_EQ(e.event_id, 1 + 2 * 2500 + 1);
    /* four generators of 10000/s: 400 us apart each */
    rill__nexmark_event_at(&g, 2, 9, buf, &e);
    CHECK_EQ(e.date_time, 4);
    free(buf);
    rill__nexmark_gen_fini(&g);
    /* unbounded: the reference's Long.MAX_VALUE / (50 * 500) */
    gen_default(&g, 1, 0, 0);
    CHECK_EQ(rill__nexmark_split_events(&g, 0), INT64_MAX / 25000);
    rill__nexmark_gen_fini(&g);
    /* stop-at: cut the same way */
    rill__nexmark_cfg c;
    rill__nexmark_cfg_default(&c);
    c.stop_at = 103;
    rill__nexmark_gen_init(&g, &c, 2, 0);
    CHECK_EQ(rill__nexmark_split_events(&g, 0), 51);
    CHECK_EQ(rill__nexmark_split_events(&g, 1), 52);
    rill__nexmark_gen_fini(&g);
}

TEST(nexmark_event_is_a_function_of_its_number)
{
    rill__nexmark_gen a, b;
    gen_default(&a, 3, 77, 0);
    gen_default(&b, 3, 77, 0);
    char *ba = rill__xmalloc(a.buf_size), *bb = rill__xmalloc(b.buf_size);
    /* backwards in b, forwards in a: the same events */
    for (int s = 0; s < 3; s++)
        for (int64_t k = 0; k < 500; k++) {
            rill__nexmark_event ea, eb;
            rill__nexmark_event_at(&a, s, k, ba, &ea);
            rill__nexmark_event_at(&b, s, 499 - k, bb, &eb);
            rill__nexmark_event_at(&b, s, k, bb, &eb);
            CHECK_EQ(ea.kind, eb.kind);
            CHECK_EQ(ea.event_id, eb.event_id);
            CHECK_EQ(ea.date_time, eb.date_time);
            if (ea.kind == RILL_NEXMARK_BID) {
                CHECK_EQ(ea.bid.price, eb.bid.price);
                CHECK_EQ(ea.bid.bidder, eb.bid.bidder);
                CHECK(ea.bid.extra.len == eb.bid.extra.len &&
                      !memcmp(ea.bid.extra.p, eb.bid.extra.p, ea.bid.extra.len));
            } else if (ea.kind == RILL_NEXMARK_AUCTION) {
                CHECK_EQ(ea.auction.expires, eb.auction.expires);
                CHECK_EQ(ea.auction.seller, eb.auction.seller);
            } else {
                CHECK(ea.person.extra.len == eb.person.extra.len &&
                      !memcmp(ea.person.extra.p, eb.person.extra.p, ea.person.extra.len));
            }
        }
    free(ba);
    free(bb);
    rill__nexmark_gen_fini(&a);
    rill__nexmark_gen_fini(&b);
}

/* ---- options -------------------------------------------------------------------------------- */

static void check_option_error(const char *const *opts, const char *needle)
{
    rill__err err = {0};
    rill__nexmark_cfg c;
    int rc = rill__nexmark_cfg_parse(&c, opts, &err);
    CHECK_EQ(rc, RILL_ECONFIG);
    CHECK_CONTAINS(err.msg, needle);
}

TEST(nexmark_options)
{
    rill__err err = {0};
    rill__nexmark_cfg c;
    const char *opts[] = {"connector",
                          "nexmark",
                          "first-event.rate",
                          "5000",
                          "next-event.rate",
                          "5000",
                          "events.num",
                          "1000000",
                          "person.proportion",
                          "2",
                          "auction.proportion",
                          "6",
                          "bid.proportion",
                          "92",
                          "person.avg-size",
                          "1 kb",
                          "bid.avg-size",
                          "64b",
                          "rate.period",
                          "10 min",
                          "rate.shape",
                          "sine",
                          "keep-alive",
                          "TRUE",
                          "stop-at",
                          "-5",
                          "max-emit-speed",
                          "false",
                          "events.base-time",
                          "1234",
                          NULL};
    CHECK_RC(rill__nexmark_cfg_parse(&c, opts, &err));
    CHECK_EQ(c.first_event_rate, 5000);
    CHECK_EQ(c.events_num, 1000000);
    CHECK_EQ(c.person_proportion, 2);
    CHECK_EQ(c.bid_proportion, 92);
    CHECK_EQ(c.person_avg_size, 1024);
    CHECK_EQ(c.auction_avg_size, 500);
    CHECK_EQ(c.bid_avg_size, 64);
    CHECK_EQ(c.rate_period_s, 600);
    CHECK_EQ(c.rate_shape, 1);
    CHECK(c.keep_alive && !c.max_emit_speed && c.base_time_set);
    CHECK_EQ(c.base_time, 1234);
    CHECK_EQ(c.stop_at, -5);
    /* defaults are the reference's */
    rill__nexmark_cfg_default(&c);
    CHECK_EQ(c.first_event_rate, 10000);
    CHECK_EQ(c.hot_auction_ratio, 2);
    CHECK_EQ(c.hot_bidders_ratio, 4);
    CHECK_EQ(c.hot_sellers_ratio, 4);
    CHECK(c.max_emit_speed && !c.keep_alive && c.stop_at < 0 && c.events_num == 0);

    check_option_error((const char *[]){"events.nums", "5", NULL}, "unknown option 'events.nums'");
    check_option_error((const char *[]){"first-event.rate", "0", NULL}, "'first-event.rate': '0'");
    check_option_error((const char *[]){"first-event.rate", "10k", NULL}, "first-event.rate");
    check_option_error((const char *[]){"events.num", "-1", NULL}, "'events.num': '-1'");
    check_option_error((const char *[]){"events.num", "99999999999999999999", NULL}, "events.num");
    check_option_error((const char *[]){"bid.hot-ratio.auctions", "0", NULL},
                       "bid.hot-ratio.auctions");
    check_option_error((const char *[]){"person.avg-size", "12 parsecs", NULL},
                       "'person.avg-size'");
    check_option_error((const char *[]){"person.avg-size", "1 gb", NULL}, "16 mb");
    check_option_error((const char *[]){"rate.shape", "triangle", NULL}, "SQUARE or SINE");
    check_option_error((const char *[]){"keep-alive", "yes", NULL}, "'keep-alive': 'yes'");
    check_option_error((const char *[]){"connector", "datagen", NULL}, "'connector'");
    check_option_error((const char *[]){"person.proportion", "0", "auction.proportion", "0",
                                        "bid.proportion", "0", NULL},
                       "must be above 0");
    check_option_error(
        (const char *[]){"bid.proportion", "1000000", "auction.avg-size", "10mb", NULL},
        "events.num 0");
    check_option_error((const char *[]){"rate.period", "soon", NULL}, "'rate.period'");
}

/* ---- the source ----------------------------------------------------------------------------- */

static rill__conn_init conn_init(rill__err *err, int subtask, int par)
{
    memset(err, 0, sizeof *err);
    return (rill__conn_init){.uid = "nexmark-1",
                             .subtask = subtask,
                             .parallelism = par,
                             .batch_size = 64,
                             .bad_policy = RILL_BAD_FAIL,
                             .err = err};
}

static void *source_cfg(const char *const *opts)
{
    rill__err err = {0};
    void *cfg = rill__nexmark_source_cfg(opts, &err);
    if (!cfg)
        rill_test_fail(__FILE__, __LINE__, "options: %s", err.msg);
    return cfg;
}

TEST(nexmark_source_flat_columns_nulls_and_timestamps)
{
    rill_schema *schema = rill__nexmark_schema();
    CHECK_EQ(rill_schema_n_fields(schema), 29);
    CHECK_EQ(rill_schema_index(schema, "event_type"), 0);
    CHECK_EQ(rill_schema_index(schema, "person"), 1);
    CHECK_EQ(rill_schema_index(schema, "person.emailAddress"), 4);
    CHECK_EQ(rill_schema_index(schema, "auction.expires"), 17);
    CHECK_EQ(rill_schema_index(schema, "bid.url"), 26);
    CHECK_EQ(rill_schema_field_type(schema, 27), RILL_T_TIMESTAMP);
    CHECK_EQ(rill_schema_field_type(schema, 21), RILL_T_BOOL);
    void *cfg = source_cfg(
        (const char *[]){"events.num", "100", "events.base-time", "1700000000000", NULL});
    rill__err err;
    rill__conn_init init = conn_init(&err, 0, 1);
    rill__source *src;
    CHECK_RC(rill__nexmark_source_ops.create(cfg, schema, &init, &src));
    rill_batch *b = rill__batch_new(schema, 64);
    int64_t w;
    CHECK_EQ(rill__nexmark_source_ops.poll(src, b, &w), 0);
    CHECK_EQ(b->n_rows, 64);
    CHECK(b->has_ts);
    rill__nexmark_gen g;
    gen_default(&g, 1, INT64_C(1700000000000), 100);
    char *buf = rill__xmalloc(g.buf_size);
    for (uint32_t i = 0; i < b->n_rows; i++) {
        rill_row r = rill__batch_row(b, i);
        rill__nexmark_event e;
        rill__nexmark_event_at(&g, 0, i, buf, &e);
        CHECK_EQ(rill_row_i64(&r, 0), e.kind);
        CHECK_EQ(b->ts[i], e.date_time);
        for (int k = 0; k < 3; k++) {
            int first = k == 0 ? 1 : k == 1 ? 10 : 21, last = k == 0 ? 9 : k == 1 ? 20 : 28;
            for (int f = first; f <= last; f++)
                CHECK_EQ(rill_row_is_null(&r, f), k != e.kind);
            if (k == e.kind)
                CHECK(rill_row_i64(&r, first) == 1); /* the row's BOOL: TRUE */
        }
        if (e.kind == RILL_NEXMARK_BID) {
            CHECK_EQ(rill_row_i64(&r, 24), e.bid.price);
            CHECK_EQ(rill_row_i64(&r, 27), e.date_time);
            size_t n;
            const char *u = rill__batch_str(b, r.v[26], &n);
            CHECK(n == e.bid.url.len && !memcmp(u, e.bid.url.p, n));
        } else if (e.kind == RILL_NEXMARK_AUCTION) {
            CHECK_EQ(rill_row_i64(&r, 11), e.auction.id);
            CHECK_EQ(rill_row_i64(&r, 17), e.auction.expires);
        }
    }
    rill__batch_clear(b);
    CHECK_EQ(rill__nexmark_source_ops.poll(src, b, &w), RILL_DONE);
    CHECK_EQ(b->n_rows, 36);
    free(buf);
    rill__nexmark_gen_fini(&g);
    rill__batch_unref(b);
    rill__nexmark_source_ops.destroy(src);
    rill_schema_free(schema);

    /* a subset of the columns, in another order; a wrong name or type is refused */
    rill_schema *sub = NULL;
    sub = rill_schema_new();
    CHECK_RC(rill_schema_add(sub, "bid.price", RILL_T_INT64, true));
    CHECK_RC(rill_schema_add(sub, "event_type", RILL_T_INT32, false));
    init = conn_init(&err, 0, 1);
    CHECK_RC(rill__nexmark_source_ops.create(cfg, sub, &init, &src));
    b = rill__batch_new(sub, 8);
    CHECK_EQ(rill__nexmark_source_ops.poll(src, b, &w), 0);
    rill_row r = rill__batch_row(b, 2); /* event 2: a bid */
    CHECK_EQ(rill_row_i64(&r, 1), 2);
    CHECK_EQ(rill_row_i64(&r, 0), 32530001);
    rill__batch_unref(b);
    rill__nexmark_source_ops.destroy(src);
    rill_schema_free(sub);
    sub = rill_schema_new();
    CHECK_RC(rill_schema_add(sub, "bid.prize", RILL_T_INT64, true));
    CHECK_EQ(rill__nexmark_source_ops.validate(cfg, sub, &err), RILL_ECONFIG);
    CHECK_CONTAINS(err.msg, "no column 'bid.prize'");
    rill_schema_free(sub);
    sub = rill_schema_new();
    CHECK_RC(rill_schema_add(sub, "bid.price", RILL_T_STRING, true));
    CHECK_EQ(rill__nexmark_source_ops.validate(cfg, sub, &err), RILL_ECONFIG);
    CHECK_CONTAINS(err.msg, "column 'bid.price' is INT64");
    rill_schema_free(sub);
    rill__nexmark_source_ops.cfg_free(cfg);
}

/* A row's content, for comparing runs. */
static uint64_t row_hash(rill_batch *b, uint32_t i)
{
    rill_row r = rill__batch_row(b, i);
    uint64_t h = rill__mix64((uint64_t)b->ts[i]);
    for (uint32_t f = 0; f < b->n_fields; f++) {
        uint64_t v = rill_row_is_null(&r, (int)f) ? UINT64_C(0xdead) : r.v[f];
        if (!rill_row_is_null(&r, (int)f) && b->schema->fields[f].type == RILL_T_STRING) {
            size_t n;
            const char *s = rill__batch_str(b, r.v[f], &n);
            v = rill__hash_bytes(s, n, 1);
        }
        h = rill__mix64(h ^ v) + f;
    }
    return h;
}

typedef struct seen_rows {
    uint64_t *h;
    size_t n, cap;
} seen_rows;

/* One run (a phase) of the source at parallelism par: subtask st polls n_polls[st] batches of
 * 16 (to the end when negative) after the restore from the previous phase's positions (all of
 * them, as the runtime gives a restore_from_all source; finished[i]: old subtask i had ended
 * and has no position); the new positions go back in pos, done[st] says who ended. */
static void phase(void *cfg, rill_schema *schema, int par, const int *n_polls, rill__buf *pos,
                  int *n_pos, int old_par, const bool *finished, bool *done, seen_rows *seen)
{
    rill__err err;
    rill__source_pos sp[8];
    for (int i = 0; i < *n_pos; i++)
        sp[i] = (rill__source_pos){i, old_par, finished[i], finished[i] ? NULL : pos[i].data,
                                   finished[i] ? 0 : pos[i].len};
    rill__buf out[8] = {{0}};
    for (int st = 0; st < par; st++) {
        rill__conn_init init = conn_init(&err, st, par);
        rill__source *src;
        CHECK_RC(rill__nexmark_source_ops.create(cfg, schema, &init, &src));
        if (*n_pos) {
            int rc = rill__nexmark_source_ops.seek_rescaled(src, sp, *n_pos);
            if (rc)
                rill_test_fail(__FILE__, __LINE__, "restore at %d -> %d: %s", old_par, par,
                               err.msg);
        }
        done[st] = false;
        rill_batch *b = rill__batch_new(schema, 16);
        int64_t last_ts = INT64_MIN;
        for (int k = 0; !done[st] && (n_polls[st] < 0 || k < n_polls[st]); k++) {
            CHECK(k < 100000);
            rill__batch_clear(b);
            int64_t w;
            int rc = rill__nexmark_source_ops.poll(src, b, &w);
            CHECK(rc >= 0);
            for (uint32_t i = 0; i < b->n_rows; i++) {
                CHECK(b->ts[i] >= last_ts); /* in event-time order within a subtask */
                last_ts = b->ts[i];
                if (seen->n == seen->cap) {
                    seen->cap = seen->cap ? 2 * seen->cap : 1024;
                    seen->h = rill__xrealloc(seen->h, seen->cap * sizeof *seen->h);
                }
                seen->h[seen->n++] = row_hash(b, i);
            }
            if (rc == RILL_DONE)
                done[st] = true;
        }
        CHECK_RC(rill__nexmark_source_ops.position(src, &out[st]));
        rill__batch_unref(b);
        rill__nexmark_source_ops.destroy(src);
    }
    for (int i = 0; i < *n_pos; i++)
        rill__buf_free(&pos[i]);
    for (int st = 0; st < par; st++)
        pos[st] = out[st];
    *n_pos = par;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Every chain of three parallelisms from 1 to 4 (a start, two restores) with random progress,
 * with ended subtasks handed over as finished or with their positions: the rows are the
 * events of an uninterrupted run at the first parallelism, each exactly once. */
TEST(nexmark_source_every_rescale_chain_emits_each_event_once)
{
    rill_schema *schema = rill__nexmark_schema();
    void *cfg = source_cfg((const char *[]){"events.num", "700", "events.base-time", "5", NULL});
    seen_rows want[5] = {{0}};
    for (int p = 1; p <= 4; p++) { /* the uninterrupted runs */
        rill__buf pos[8] = {{0}};
        bool done[8], fin[8] = {0};
        int n_pos = 0;
        phase(cfg, schema, p, (const int[]){-1, -1, -1, -1}, pos, &n_pos, 0, fin, done, &want[p]);
        CHECK_EQ(want[p].n, 700);
        qsort(want[p].h, want[p].n, sizeof *want[p].h, cmp_u64);
        for (int i = 0; i < n_pos; i++)
            rill__buf_free(&pos[i]);
    }
    /* the stream depends on the number of splits (ids and timestamps): runs differ */
    CHECK(memcmp(want[1].h, want[2].h, 700 * sizeof *want[1].h) != 0);
    uint64_t rnd = 99;
    for (int chain = 0; chain < 128; chain++) {
        int pars[3] = {1 + chain % 4, 1 + chain / 4 % 4, 1 + chain / 16 % 4};
        bool hand_finished = chain >= 64;
        seen_rows got = {0};
        rill__buf pos[8] = {{0}};
        bool done[8] = {0}, fin[8] = {0};
        int n_pos = 0, old_par = 0;
        for (int ph = 0; ph < 3; ph++) {
            int polls[4];
            for (int st = 0; st < pars[ph]; st++) {
                rnd = rnd * 6364136223846793005u + 1442695040888963407u;
                polls[st] = ph == 2 ? -1 : (int)(rnd >> 33) % 12;
            }
            for (int i = 0; i < n_pos; i++)
                fin[i] = hand_finished && done[i];
            phase(cfg, schema, pars[ph], polls, pos, &n_pos, old_par, fin, done, &got);
            old_par = pars[ph];
        }
        qsort(got.h, got.n, sizeof *got.h, cmp_u64);
        const seen_rows *w = &want[pars[0]];
        if (got.n != w->n || memcmp(got.h, w->h, w->n * sizeof *w->h) != 0)
            rill_test_fail(__FILE__, __LINE__,
                           "chain %d -> %d -> %d%s: %zu rows, not the %zu "
                           "events of a run at %d, each once",
                           pars[0], pars[1], pars[2],
                           hand_finished ? " (finished handed over)" : "", got.n, w->n, pars[0]);
        for (int i = 0; i < n_pos; i++)
            rill__buf_free(&pos[i]);
        free(got.h);
    }
    for (int p = 1; p <= 4; p++)
        free(want[p].h);
    rill__nexmark_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
}

TEST(nexmark_source_restore_checks_its_positions)
{
    rill_schema *schema = rill__nexmark_schema();
    void *cfg = source_cfg((const char *[]){"events.num", "100", "events.base-time", "1000", NULL});
    rill__err err;
    rill__conn_init init = conn_init(&err, 0, 1);
    rill__source *src;
    CHECK_RC(rill__nexmark_source_ops.create(cfg, schema, &init, &src));
    rill_batch *b = rill__batch_new(schema, 16);
    int64_t w;
    CHECK_EQ(rill__nexmark_source_ops.poll(src, b, &w), 0);
    rill__buf pos = {0};
    CHECK_RC(rill__nexmark_source_ops.position(src, &pos));
    rill__nexmark_source_ops.destroy(src);

    /* other options that decide the events: refused, naming why */
    void *other = source_cfg((const char *[]){"events.num", "100", "bid.proportion", "45",
                                              "events.base-time", "1000", NULL});
    init = conn_init(&err, 0, 1);
    CHECK_RC(rill__nexmark_source_ops.create(other, schema, &init, &src));
    rill__source_pos p = {0, 1, false, pos.data, pos.len};
    CHECK_EQ(rill__nexmark_source_ops.seek_rescaled(src, &p, 1), RILL_ECONFIG);
    CHECK_CONTAINS(err.msg, "options changed since the checkpoint");
    rill__nexmark_source_ops.destroy(src);
    rill__nexmark_source_ops.cfg_free(other);

    /* damaged: cut short, or a split counted twice */
    init = conn_init(&err, 0, 1);
    CHECK_RC(rill__nexmark_source_ops.create(cfg, schema, &init, &src));
    p.len = pos.len - 3;
    CHECK_EQ(rill__nexmark_source_ops.seek_rescaled(src, &p, 1), RILL_ECORRUPT);
    rill__source_pos twice[2] = {{0, 2, false, pos.data, pos.len},
                                 {1, 2, false, pos.data, pos.len}};
    CHECK_EQ(rill__nexmark_source_ops.seek_rescaled(src, twice, 2), RILL_ECORRUPT);
    CHECK_CONTAINS(err.msg, "exactly once");
    /* and the right one resumes after the 16 events emitted */
    p.len = pos.len;
    CHECK_RC(rill__nexmark_source_ops.seek_rescaled(src, &p, 1));
    rill__batch_clear(b);
    CHECK_EQ(rill__nexmark_source_ops.poll(src, b, &w), 0);
    rill_row r = rill__batch_row(b, 0); /* event 16: id 18, a bid, 1.7 ms in */
    CHECK_EQ(b->ts[0], 1001);
    CHECK_EQ(rill_row_i64(&r, 0), RILL_NEXMARK_BID);
    rill__nexmark_gen g;
    gen_default(&g, 1, 1000, 100);
    char *buf = rill__xmalloc(g.buf_size);
    rill__nexmark_event e;
    rill__nexmark_event_at(&g, 0, 16, buf, &e);
    CHECK_EQ(rill_row_i64(&r, 24), e.bid.price);
    free(buf);
    rill__nexmark_gen_fini(&g);
    rill__nexmark_source_ops.destroy(src);
    rill__buf_free(&pos);
    rill__batch_unref(b);
    rill__nexmark_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
}

/* Damaged positions (cut, flipped bytes, random bytes) end in an error or a position that
 * covers the splits, never a crash (ASan and UBSan watch). */
TEST(nexmark_source_damaged_positions_never_crash)
{
    rill_schema *schema = rill__nexmark_schema();
    void *cfg = source_cfg((const char *[]){"events.num", "1000", "events.base-time", "7",
                                            "max-emit-speed", "false", NULL});
    rill__err err;
    rill__buf good[2] = {{0}};
    for (int st = 0; st < 2; st++) {
        rill__conn_init init = conn_init(&err, st, 2);
        rill__source *src;
        CHECK_RC(rill__nexmark_source_ops.create(cfg, schema, &init, &src));
        CHECK_RC(rill__nexmark_source_ops.position(src, &good[st]));
        rill__nexmark_source_ops.destroy(src);
    }
    uint64_t rnd = 5;
    int n_ok = 0, n_err = 0;
    for (int round = 0; round < 3000; round++) {
        unsigned char bytes[2][256];
        size_t len[2];
        for (int st = 0; st < 2; st++) {
            len[st] = good[st].len;
            memcpy(bytes[st], good[st].data, len[st]);
            rnd = rnd * 6364136223846793005u + 1442695040888963407u;
            if ((int)(rnd >> 40) % 2 != st) /* one of the two damaged */
                continue;
            int how = (int)(rnd >> 60) % 4;
            size_t at = (size_t)(rnd >> 20) % len[st];
            if (how == 0)
                bytes[st][at] ^= (unsigned char)(1u << ((rnd >> 8) & 7));
            else if (how == 1)
                len[st] = at;
            else if (how == 2)
                for (size_t i = 0; i < len[st]; i++)
                    bytes[st][i] = (unsigned char)(rill__mix64(rnd + i) >> 56);
            else /* a plausible field, anywhere: a huge count, base time or wall clock */
                memset(bytes[st] + (at & ~(size_t)7), 0x7f,
                       RILL_MIN((size_t)8, len[st] - (at & ~(size_t)7)));
        }
        rill__source_pos p[2] = {{0, 2, false, bytes[0], len[0]}, {1, 2, false, bytes[1], len[1]}};
        rill__conn_init init = conn_init(&err, (int)(rnd & 1), 3);
        rill__source *src;
        CHECK_RC(rill__nexmark_source_ops.create(cfg, schema, &init, &src));
        int rc = rill__nexmark_source_ops.seek_rescaled(src, p, 2);
        if (rc == 0) {
            n_ok++;
            rill_batch *b = rill__batch_new(schema, 8);
            int64_t w;
            CHECK(rill__nexmark_source_ops.poll(src, b, &w) >= 0);
            rill__batch_unref(b);
        } else {
            n_err++;
            CHECK(rc == RILL_ECORRUPT || rc == RILL_ECONFIG);
            CHECK(err.msg[0] != 0);
        }
        rill__nexmark_source_ops.destroy(src);
    }
    if (!(n_err > 1000 && n_ok > 10))
        rill_test_fail(__FILE__, __LINE__, "%d restored, %d refused", n_ok, n_err);
    rill__buf_free(&good[0]);
    rill__buf_free(&good[1]);
    rill__nexmark_source_ops.cfg_free(cfg);
    rill_schema_free(schema);
}

TEST(nexmark_source_keep_alive_and_paced_emission)
{
    rill_schema *schema = rill__nexmark_schema();
    rill__err err;
    rill__source *src;
    int64_t w;
    /* keep-alive: after the last event, idle instead of ending */
    void *cfg = source_cfg((const char *[]){"events.num", "10", "keep-alive", "true", NULL});
    rill__conn_init init = conn_init(&err, 0, 1);
    CHECK_RC(rill__nexmark_source_ops.create(cfg, schema, &init, &src));
    rill_batch *b = rill__batch_new(schema, 64);
    CHECK_EQ(rill__nexmark_source_ops.poll(src, b, &w), 0);
    CHECK_EQ(b->n_rows, 10);
    rill__batch_clear(b);
    CHECK_EQ(rill__nexmark_source_ops.poll(src, b, &w), RILL_AGAIN);
    CHECK(w > 0);
    rill__nexmark_source_ops.destroy(src);
    rill__nexmark_source_ops.cfg_free(cfg);
    /* max-emit-speed false: 100 events/s, so about one event in the first 10 ms */
    cfg = source_cfg((const char *[]){"first-event.rate", "100", "max-emit-speed", "false", NULL});
    init = conn_init(&err, 0, 1);
    CHECK_RC(rill__nexmark_source_ops.create(cfg, schema, &init, &src));
    rill__batch_clear(b);
    int rc = rill__nexmark_source_ops.poll(src, b, &w);
    CHECK(rc == 0 || rc == RILL_AGAIN);
    CHECK(b->n_rows <= 2);
    if (rc == 0) {
        rill__batch_clear(b);
        rc = rill__nexmark_source_ops.poll(src, b, &w);
    }
    CHECK_EQ(rc, RILL_AGAIN);
    CHECK(w > 0 && w <= INT64_C(1000000000));
    rill__nexmark_source_ops.destroy(src);
    rill__nexmark_source_ops.cfg_free(cfg);
    rill__batch_unref(b);
    rill_schema_free(schema);
}

/* ---- through the runtime -------------------------------------------------------------------- */

#include <stdatomic.h>

#include "runtime/runtime.h"

static atomic_long n_checked, n_bad_ts;

/* Keeps bids; checks each row's timestamp is its event's dateTime. */
static int keep_bids(rill_ctx *ctx, const rill_row *in)
{
    int64_t kind = rill_row_i64(in, 0);
    int col = kind == 0 ? 8 : kind == 1 ? 16 : 27;
    if (rill_ctx_timestamp(ctx) != rill_row_i64(in, col))
        atomic_fetch_add(&n_bad_ts, 1);
    atomic_fetch_add(&n_checked, 1);
    return kind == RILL_NEXMARK_BID;
}

TEST(nexmark_source_runs_in_a_job)
{
    rill_env *env = rill_env_new();
    CHECK_RC(rill_env_set(env, "parallelism", "3"));
    const char *opts[] = {"connector",        "nexmark",       "events.num", "5000",
                          "events.base-time", "1700000000000", NULL};
    rill_stream *src = rill_stream_uid(rill__source_nexmark(env, NULL, opts), "nexmark");
    CHECK_EQ(rill_schema_n_fields(rill_stream_schema(src)), 29);
    rill_watermark_opts wm = {.kind = RILL_WM_BOUNDED, .max_delay_ms = 4000};
    rill_stream *bids = rill_stream_uid(
        rill_stream_filter(rill_stream_event_time(src, NULL, &wm), keep_bids, NULL), "bids");
    rill_sink_blackhole(bids);
    int rc = rill_env_execute(env);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "job failed: %s", rill_errmsg(env));
    int64_t n = 0;
    CHECK_RC(rill_env_metric(env, "nexmark", "records_out", &n));
    CHECK_EQ(n, 5000);
    CHECK_RC(rill_env_metric(env, "bids", "records_out", &n));
    /* ids 1 + s * 1666 + 1 + k of three splits: 46 of each 50 are bids */
    int64_t want = 0;
    for (int s = 0; s < 3; s++)
        for (int64_t k = 0; k < (s < 2 ? 1666 : 5000 - 2 * 1666); k++) {
            int64_t rem = (1 + s * 1666 + 1 + k) % 50;
            want += rem >= 4;
        }
    CHECK_EQ(n, want);
    CHECK_EQ(atomic_load(&n_checked), 5000);
    CHECK_EQ(atomic_load(&n_bad_ts), 0); /* event time is each event's dateTime */
    rill_env_free(env);

    /* a bad option: the job is refused with the option's name */
    env = rill_env_new();
    const char *bad[] = {"first-event.rate", "fast", NULL};
    rill_sink_blackhole(rill__source_nexmark(env, NULL, bad));
    CHECK(rill_env_execute(env) != 0);
    CHECK_CONTAINS(rill_errmsg(env), "'first-event.rate': 'fast'");
    rill_env_free(env);
}
