/* test_time.c - unit tests of the time layer: watermark generation and merging, timers. */
#include "test.h"
#include "time/time.h"

#define MAX_PAR 128

/* ---- watermark generation ------------------------------------------------------------------ */

static rill__wm_gen gen_of(rill_watermark_kind kind, int64_t delay, int64_t idle, int64_t now)
{
    rill_watermark_opts o = {.kind = kind, .max_delay_ms = delay, .idle_timeout_ms = idle};
    rill__wm_gen g;
    rill__wm_gen_init(&g, &o, now);
    return g;
}

TEST(time_wm_bounded_formula)
{
    /* SEMANTICS.md: after a maximum timestamp m, bounded with delay d gives m - d - 1. */
    rill__wm_gen g = gen_of(RILL_WM_BOUNDED, 5000, 0, 0);
    CHECK_EQ(rill__wm_gen_current(&g), RILL_TS_MIN); /* before any row */
    rill__wm_gen_observe(&g, 10000);
    CHECK_EQ(rill__wm_gen_current(&g), 4999);
    rill__wm_gen_observe(&g, 7000); /* out of order: the maximum stays */
    CHECK_EQ(rill__wm_gen_current(&g), 4999);
    rill__wm_gen_observe(&g, 10001);
    CHECK_EQ(rill__wm_gen_current(&g), 5000);
    /* negative timestamps */
    g = gen_of(RILL_WM_BOUNDED, 10, 0, 0);
    rill__wm_gen_observe(&g, -100);
    CHECK_EQ(rill__wm_gen_current(&g), -111);
    /* delay 0 and the NULL default (bounded, delay 0): m - 1 */
    g = gen_of(RILL_WM_BOUNDED, 0, 0, 0);
    rill__wm_gen_observe(&g, 42);
    CHECK_EQ(rill__wm_gen_current(&g), 41);
    rill__wm_gen_init(&g, NULL, 0);
    CHECK_EQ(g.kind, RILL_WM_BOUNDED);
    CHECK_EQ(g.delay, 0);
    CHECK_EQ(g.idle_timeout, 0);
    CHECK_EQ(rill__wm_gen_current(&g), RILL_TS_MIN);
    rill__wm_gen_observe(&g, 42);
    CHECK_EQ(rill__wm_gen_current(&g), 41);
}

TEST(time_wm_monotonous_and_none)
{
    rill__wm_gen g = gen_of(RILL_WM_MONOTONOUS, 777, 0, 0); /* delay ignored */
    CHECK_EQ(rill__wm_gen_current(&g), RILL_TS_MIN);
    rill__wm_gen_observe(&g, 1000);
    CHECK_EQ(rill__wm_gen_current(&g), 999);
    rill__wm_gen_observe(&g, 0);
    CHECK_EQ(rill__wm_gen_current(&g), 999);
    rill__wm_gen_observe(&g, 0 - 5);
    CHECK_EQ(rill__wm_gen_current(&g), 999);

    g = gen_of(RILL_WM_NONE, 100, 0, 0);
    CHECK_EQ(rill__wm_gen_current(&g), RILL_TS_MIN);
    rill__wm_gen_observe(&g, 1000);
    CHECK_EQ(g.max_ts, 1000);
    CHECK_EQ(rill__wm_gen_current(&g), RILL_TS_MIN);
    rill__wm_gen_observe(&g, RILL_TS_MAX);
    CHECK_EQ(rill__wm_gen_current(&g), RILL_TS_MIN);
}

TEST(time_wm_saturation)
{
    /* Near INT64_MIN: never below it, never wrapping (UBSan would stop on overflow). */
    rill__wm_gen g = gen_of(RILL_WM_BOUNDED, 10, 0, 0);
    rill__wm_gen_observe(&g, INT64_MIN); /* the smallest timestamp: still "no watermark" */
    CHECK_EQ(rill__wm_gen_current(&g), RILL_TS_MIN);
    rill__wm_gen_observe(&g, INT64_MIN + 1);
    CHECK_EQ(rill__wm_gen_current(&g), RILL_TS_MIN);
    rill__wm_gen_observe(&g, INT64_MIN + 11);
    CHECK_EQ(rill__wm_gen_current(&g), RILL_TS_MIN);
    rill__wm_gen_observe(&g, INT64_MIN + 12);
    CHECK_EQ(rill__wm_gen_current(&g), INT64_MIN + 1);

    g = gen_of(RILL_WM_BOUNDED, INT64_MAX, 0, 0);
    rill__wm_gen_observe(&g, 0);
    CHECK_EQ(rill__wm_gen_current(&g), RILL_TS_MIN);
    rill__wm_gen_observe(&g, -1);
    CHECK_EQ(rill__wm_gen_current(&g), RILL_TS_MIN);
    rill__wm_gen_observe(&g, INT64_MAX);
    CHECK_EQ(rill__wm_gen_current(&g), -1);

    g = gen_of(RILL_WM_BOUNDED, 0, 0, 0);
    rill__wm_gen_observe(&g, INT64_MAX);
    CHECK_EQ(rill__wm_gen_current(&g), INT64_MAX - 1);

    g = gen_of(RILL_WM_MONOTONOUS, 0, 0, 0);
    rill__wm_gen_observe(&g, INT64_MIN + 1);
    CHECK_EQ(rill__wm_gen_current(&g), INT64_MIN);
    rill__wm_gen_observe(&g, INT64_MAX);
    CHECK_EQ(rill__wm_gen_current(&g), INT64_MAX - 1);

    /* A negative delay is treated as 0, never as a watermark ahead of the data. */
    g = gen_of(RILL_WM_BOUNDED, -50, 0, 0);
    rill__wm_gen_observe(&g, INT64_MAX);
    CHECK_EQ(rill__wm_gen_current(&g), INT64_MAX - 1);
    g = gen_of(RILL_WM_BOUNDED, INT64_MIN, 0, 0);
    rill__wm_gen_observe(&g, 100);
    CHECK_EQ(rill__wm_gen_current(&g), 99);
}

TEST(time_wm_idleness)
{
    rill__wm_gen g = gen_of(RILL_WM_BOUNDED, 0, 500, 1000);
    CHECK(!g.idle);
    CHECK(!rill__wm_gen_check_idle(&g, 1000));
    CHECK(!rill__wm_gen_check_idle(&g, 1499));
    CHECK(!g.idle);
    CHECK(rill__wm_gen_check_idle(&g, 1500)); /* now - last_row_ms >= idle_timeout */
    CHECK(g.idle);
    CHECK(rill__wm_gen_check_idle(&g, 1501)); /* stays idle */
    rill__wm_gen_active(&g, 1600);
    CHECK(!g.idle);
    CHECK_EQ(g.last_row_ms, 1600);
    CHECK(!rill__wm_gen_check_idle(&g, 2099));
    CHECK(rill__wm_gen_check_idle(&g, 2100));
    /* A clock that went back does not make it idle. */
    rill__wm_gen_active(&g, 5000);
    CHECK(!rill__wm_gen_check_idle(&g, 100));

    /* Timeout 0 (and negative): never idle. */
    g = gen_of(RILL_WM_BOUNDED, 0, 0, 0);
    CHECK(!rill__wm_gen_check_idle(&g, INT64_MAX));
    CHECK(!g.idle);
    g = gen_of(RILL_WM_BOUNDED, 0, -10, 0);
    CHECK(!rill__wm_gen_check_idle(&g, INT64_MAX));

    /* Extreme clock values saturate instead of overflowing. */
    g = gen_of(RILL_WM_MONOTONOUS, 0, 1, INT64_MIN);
    CHECK(rill__wm_gen_check_idle(&g, INT64_MAX));
    g = gen_of(RILL_WM_MONOTONOUS, 0, 1, INT64_MAX);
    CHECK(!rill__wm_gen_check_idle(&g, INT64_MIN));
    g = gen_of(RILL_WM_MONOTONOUS, 0, INT64_MAX, 0);
    CHECK(!rill__wm_gen_check_idle(&g, INT64_MAX - 1));
    CHECK(rill__wm_gen_check_idle(&g, INT64_MAX));
}

/* ---- watermark merging --------------------------------------------------------------------- */

TEST(time_merger_min)
{
    rill__wm_merger m;
    rill__wm_merger_init(&m, 3);
    CHECK_EQ(m.current, RILL_TS_MIN);
    CHECK(!rill__wm_merger_all_idle(&m));
    int64_t out = 12345;
    CHECK(!rill__wm_merger_update(&m, 0, 100, &out));
    CHECK(!rill__wm_merger_update(&m, 1, 50, &out));
    CHECK_EQ(out, 12345); /* untouched when nothing advanced */
    CHECK(rill__wm_merger_update(&m, 2, 70, &out));
    CHECK_EQ(out, 50);
    CHECK_EQ(m.current, 50);
    CHECK(!rill__wm_merger_update(&m, 0, 200, &out)); /* the min is still input 1 */
    CHECK(rill__wm_merger_update(&m, 1, 300, &out));
    CHECK_EQ(out, 70);
    CHECK(rill__wm_merger_update(&m, 2, 250, &out));
    CHECK_EQ(out, 200);
    CHECK(!rill__wm_merger_update(&m, 2, 250, &out)); /* the same again: no advance */
    CHECK_EQ(m.current, 200);
    rill__wm_merger_close(&m);

    /* One input: its watermark passes straight through. */
    rill__wm_merger_init(&m, 1);
    CHECK(rill__wm_merger_update(&m, 0, -5, &out));
    CHECK_EQ(out, -5);
    CHECK(!rill__wm_merger_update(&m, 0, RILL_TS_MIN, &out));
    rill__wm_merger_close(&m);
}

TEST(time_merger_never_backwards)
{
    rill__wm_merger m;
    rill__wm_merger_init(&m, 2);
    int64_t out = 0;
    rill__wm_merger_update(&m, 0, 100, &out);
    CHECK(rill__wm_merger_update(&m, 1, 100, &out));
    CHECK_EQ(out, 100);
    /* A lower watermark from an input is ignored for that input. */
    CHECK(!rill__wm_merger_update(&m, 0, 10, &out));
    CHECK_EQ(m.wm[0], 100);
    CHECK_EQ(m.current, 100);
    CHECK(!rill__wm_merger_update(&m, 1, 150, &out));
    CHECK(rill__wm_merger_update(&m, 0, 160, &out));
    CHECK_EQ(out, 150);
    CHECK(!rill__wm_merger_update(&m, 0, RILL_TS_MIN, &out));
    CHECK(!rill__wm_merger_update(&m, 1, 149, &out));
    CHECK_EQ(m.current, 150);
    rill__wm_merger_close(&m);
}

TEST(time_merger_idle)
{
    rill__wm_merger m;
    rill__wm_merger_init(&m, 3);
    int64_t out = 0;
    rill__wm_merger_update(&m, 0, 100, &out);
    rill__wm_merger_update(&m, 1, 200, &out);
    CHECK(rill__wm_merger_update(&m, 2, 300, &out));
    CHECK_EQ(out, 100);
    /* Input 0 goes idle: the minimum over the others. */
    CHECK(rill__wm_merger_set_idle(&m, 0, true, &out));
    CHECK_EQ(out, 200);
    CHECK(!rill__wm_merger_all_idle(&m));
    CHECK(rill__wm_merger_update(&m, 1, 400, &out));
    CHECK_EQ(out, 300);
    /* Idle again while idle: nothing. Then the others go idle too. */
    CHECK(!rill__wm_merger_set_idle(&m, 0, true, &out));
    CHECK(rill__wm_merger_set_idle(&m, 2, true, &out));
    CHECK_EQ(out, 400);
    CHECK(!rill__wm_merger_all_idle(&m));
    /* All idle: does not advance (not even to the maximum) and reports all_idle. */
    CHECK(!rill__wm_merger_set_idle(&m, 1, true, &out));
    CHECK(rill__wm_merger_all_idle(&m));
    CHECK_EQ(m.current, 400);
    /* Input 0 rejoins with its own (lower) watermark: no going back... */
    CHECK(!rill__wm_merger_set_idle(&m, 0, false, &out));
    CHECK(!rill__wm_merger_all_idle(&m));
    CHECK_EQ(m.current, 400);
    /* ...and it holds the combined value until it catches up. */
    CHECK(!rill__wm_merger_update(&m, 0, 350, &out));
    CHECK(rill__wm_merger_update(&m, 0, 450, &out));
    CHECK_EQ(out, 450);
    /* A watermark from an idle input ends its idleness. */
    CHECK(!rill__wm_merger_update(&m, 1, 420, &out));
    CHECK(!m.idle[1]);
    CHECK_EQ(m.current, 450);
    CHECK(!rill__wm_merger_update(&m, 1, 500, &out)); /* input 0 holds it at 450 */
    CHECK(rill__wm_merger_update(&m, 0, 600, &out));
    CHECK_EQ(out, 500); /* input 2 is still idle */
    rill__wm_merger_close(&m);

    /* Everyone idle, then one input comes back ahead: the combined value follows it. */
    rill__wm_merger_init(&m, 2);
    CHECK(!rill__wm_merger_set_idle(&m, 0, true, &out));
    CHECK(!rill__wm_merger_set_idle(&m, 1, true, &out));
    CHECK(rill__wm_merger_all_idle(&m));
    CHECK_EQ(m.current, RILL_TS_MIN);
    CHECK(rill__wm_merger_update(&m, 1, 70, &out));
    CHECK_EQ(out, 70);
    CHECK(!rill__wm_merger_all_idle(&m));
    rill__wm_merger_close(&m);
}

TEST(time_merger_ended)
{
    rill__wm_merger m;
    rill__wm_merger_init(&m, 3);
    int64_t out = 0;
    CHECK(!rill__wm_merger_update(&m, 0, RILL_TS_MAX, &out)); /* input 0 ended */
    CHECK(!rill__wm_merger_update(&m, 1, 10, &out));
    CHECK(rill__wm_merger_update(&m, 2, 20, &out));
    CHECK_EQ(out, 10);
    /* An ended input counts as MAX even when marked idle; it is never "all idle". */
    CHECK(!rill__wm_merger_set_idle(&m, 0, true, &out));
    CHECK(rill__wm_merger_set_idle(&m, 1, true, &out));
    CHECK_EQ(out, 20);
    CHECK(rill__wm_merger_update(&m, 2, RILL_TS_MAX, &out));
    CHECK_EQ(out, RILL_TS_MAX); /* input 1 is idle: the ended ones carry MAX through */
    CHECK(!rill__wm_merger_all_idle(&m));
    CHECK(!rill__wm_merger_update(&m, 1, 30, &out)); /* nothing goes back */
    CHECK_EQ(m.current, RILL_TS_MAX);
    rill__wm_merger_close(&m);

    /* Every input ends: MAX. */
    rill__wm_merger_init(&m, 2);
    CHECK(!rill__wm_merger_update(&m, 0, RILL_TS_MAX, &out));
    CHECK(rill__wm_merger_update(&m, 1, RILL_TS_MAX, &out));
    CHECK_EQ(out, RILL_TS_MAX);
    CHECK(!rill__wm_merger_update(&m, 1, RILL_TS_MAX, &out));
    rill__wm_merger_close(&m);
}

TEST(time_merger_add)
{
    rill__wm_merger m;
    rill__wm_merger_init(&m, 0);
    CHECK(rill__wm_merger_all_idle(&m)); /* no inputs yet: nothing to hold the watermark */
    int64_t out = 0;
    int a = rill__wm_merger_add(&m);
    CHECK_EQ(a, 0);
    CHECK_EQ(m.wm[0], RILL_TS_MIN);
    CHECK(rill__wm_merger_update(&m, a, 100, &out));
    CHECK_EQ(out, 100);
    /* A new split starts at the current value: no pull back, and it holds until it moves. */
    int b = rill__wm_merger_add(&m);
    CHECK_EQ(b, 1);
    CHECK_EQ(m.n, 2);
    CHECK_EQ(m.wm[b], 100);
    CHECK_EQ(m.current, 100);
    CHECK(!rill__wm_merger_update(&m, a, 500, &out));
    CHECK(!rill__wm_merger_update(&m, b, 50, &out)); /* lower than its start: ignored */
    CHECK_EQ(m.wm[b], 100);
    CHECK(rill__wm_merger_update(&m, b, 300, &out));
    CHECK_EQ(out, 300);
    /* Adding many inputs keeps the earlier ones. */
    for (int i = 0; i < 100; i++)
        CHECK_EQ(rill__wm_merger_add(&m), 2 + i);
    CHECK_EQ(m.wm[a], 500);
    CHECK_EQ(m.wm[101], 300);
    for (int i = 0; i < m.n; i++)
        rill__wm_merger_update(&m, i, 1000, &out);
    CHECK_EQ(m.current, 1000);
    rill__wm_merger_close(&m);
}

/* ---- timers -------------------------------------------------------------------------------- */

/* A key of one u64 (the runtime's form for a single INT64 key field) with an optional
 * namespace. kb and ns must outlive the result. */
static rill__state_key tkey(uint64_t *kb, uint64_t v, const void *ns, size_t ns_len)
{
    *kb = v;
    uint64_t h = rill__hash_u64(v);
    return (rill__state_key){.key = kb,
                             .key_len = 8,
                             .hash = h,
                             .kg = rill__key_group(h, MAX_PAR),
                             .ns = ns,
                             .ns_len = ns_len};
}

static uint64_t key_u64(const rill__timer *t)
{
    CHECK_EQ(t->key.key_len, 8);
    uint64_t v;
    memcpy(&v, t->key.key, 8);
    return v;
}

TEST(time_timers_order)
{
    rill__timer_service *s = rill__timers_new(0, MAX_PAR - 1);
    CHECK_EQ(rill__timers_next(s, RILL_EVENT_TIME), RILL_TS_MAX);
    CHECK_EQ(rill__timers_count(s, RILL_EVENT_TIME), 0);
    uint64_t kb;
    int64_t ts[] = {50, 10, 40, 10, 30, 20, 10, -5};
    for (int i = 0; i < 8; i++) {
        rill__state_key k = tkey(&kb, (uint64_t)i, NULL, 0); /* key i */
        CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &k, ts[i]));
    }
    CHECK_EQ(rill__timers_count(s, RILL_EVENT_TIME), 8);
    CHECK_EQ(rill__timers_count(s, RILL_PROCESSING_TIME), 0);
    CHECK_EQ(rill__timers_next(s, RILL_EVENT_TIME), -5);
    CHECK_EQ(rill__timers_next(s, RILL_PROCESSING_TIME), RILL_TS_MAX);
    /* Timestamp order; the three at 10 in registration order (keys 1, 3, 6). */
    int64_t want_ts[] = {-5, 10, 10, 10, 20, 30, 40, 50};
    uint64_t want_key[] = {7, 1, 3, 6, 5, 4, 2, 0};
    rill__timer t;
    for (int i = 0; i < 8; i++) {
        CHECK_EQ(rill__timers_pop(s, RILL_EVENT_TIME, RILL_TS_MAX, &t), 1);
        CHECK_EQ(t.ts, want_ts[i]);
        CHECK_EQ(key_u64(&t), want_key[i]);
        CHECK_EQ(t.key.hash, rill__hash_u64(want_key[i]));
        CHECK_EQ(t.key.kg, rill__key_group(t.key.hash, MAX_PAR));
        CHECK_EQ(t.key.ns_len, 0);
        CHECK_EQ(rill__timers_count(s, RILL_EVENT_TIME), 7 - i);
    }
    CHECK_EQ(rill__timers_pop(s, RILL_EVENT_TIME, RILL_TS_MAX, &t), 0);
    CHECK_EQ(rill__timers_next(s, RILL_EVENT_TIME), RILL_TS_MAX);
    rill__timers_free(s);
    rill__timers_free(NULL);
}

TEST(time_timers_domains)
{
    rill__timer_service *s = rill__timers_new(0, MAX_PAR - 1);
    uint64_t kb;
    rill__state_key k = tkey(&kb, 1, NULL, 0);
    CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &k, 100));
    CHECK_RC(rill__timers_register(s, RILL_PROCESSING_TIME, &k, 100)); /* not a duplicate */
    CHECK_RC(rill__timers_register(s, RILL_PROCESSING_TIME, &k, 5));
    CHECK_EQ(rill__timers_count(s, RILL_EVENT_TIME), 1);
    CHECK_EQ(rill__timers_count(s, RILL_PROCESSING_TIME), 2);
    CHECK_EQ(rill__timers_next(s, RILL_EVENT_TIME), 100);
    CHECK_EQ(rill__timers_next(s, RILL_PROCESSING_TIME), 5);
    rill__timer t;
    CHECK_EQ(rill__timers_pop(s, RILL_EVENT_TIME, 99, &t), 0);
    CHECK_EQ(rill__timers_pop(s, RILL_PROCESSING_TIME, 99, &t), 1);
    CHECK_EQ(t.ts, 5);
    CHECK_RC(rill__timers_delete(s, RILL_PROCESSING_TIME, &k, 100));
    CHECK_EQ(rill__timers_count(s, RILL_PROCESSING_TIME), 0);
    CHECK_EQ(rill__timers_count(s, RILL_EVENT_TIME), 1); /* the event one is still there */
    CHECK_EQ(rill__timers_pop(s, RILL_EVENT_TIME, 100, &t), 1);
    CHECK_EQ(t.ts, 100);
    rill__timers_free(s);
}

TEST(time_timers_dedup)
{
    rill__timer_service *s = rill__timers_new(0, MAX_PAR - 1);
    uint64_t kb1, kb2;
    int64_t w1[2] = {0, 1000}, w2[2] = {1000, 2000}, w1_copy[2] = {0, 1000};
    rill__state_key a = tkey(&kb1, 7, w1, sizeof w1);
    rill__state_key a_same = tkey(&kb2, 7, w1_copy, sizeof w1_copy); /* other memory */
    for (int i = 0; i < 5; i++) {
        CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &a, 999));
        CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &a_same, 999));
    }
    CHECK_EQ(rill__timers_count(s, RILL_EVENT_TIME), 1);
    /* Another namespace, another timestamp, another key, no namespace: distinct. */
    rill__state_key b = tkey(&kb1, 7, w2, sizeof w2);
    CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &b, 999));
    CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &a, 998));
    rill__state_key c = tkey(&kb2, 8, w1, sizeof w1);
    CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &c, 999));
    rill__state_key d = tkey(&kb2, 7, NULL, 0);
    CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &d, 999));
    /* A namespace that is a prefix of another one's bytes is a different namespace. */
    rill__state_key e = tkey(&kb2, 7, w1, 8);
    CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &e, 999));
    CHECK_EQ(rill__timers_count(s, RILL_EVENT_TIME), 6);
    /* The duplicate kept the first registration's place among equal timestamps. */
    rill__timer t;
    CHECK_EQ(rill__timers_pop(s, RILL_EVENT_TIME, 999, &t), 1);
    CHECK_EQ(t.ts, 998);
    CHECK_EQ(rill__timers_pop(s, RILL_EVENT_TIME, 999, &t), 1);
    CHECK_EQ(t.ts, 999);
    CHECK_EQ(key_u64(&t), 7);
    CHECK_EQ(t.key.ns_len, 16);
    CHECK(memcmp(t.key.ns, w1, 16) == 0);
    int n = 1;
    while (rill__timers_pop(s, RILL_EVENT_TIME, 999, &t) == 1)
        n++;
    CHECK_EQ(n, 5);
    /* Fired: registering it again makes a new timer. */
    CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &a, 999));
    CHECK_EQ(rill__timers_count(s, RILL_EVENT_TIME), 1);
    rill__timers_free(s);
}

TEST(time_timers_delete_reregister)
{
    rill__timer_service *s = rill__timers_new(0, MAX_PAR - 1);
    uint64_t kb;
    int64_t ns = 5;
    rill__state_key k = tkey(&kb, 3, &ns, sizeof ns);
    rill__state_key other = tkey(&kb, 3, NULL, 0);
    CHECK_RC(rill__timers_delete(s, RILL_EVENT_TIME, &k, 10)); /* absent: still 0 */
    CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &k, 10));
    CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &k, 20));
    CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &other, 15));
    CHECK_RC(rill__timers_delete(s, RILL_EVENT_TIME, &k, 10));
    CHECK_RC(rill__timers_delete(s, RILL_EVENT_TIME, &k, 10));
    CHECK_RC(rill__timers_delete(s, RILL_PROCESSING_TIME, &k, 20)); /* other domain */
    CHECK_EQ(rill__timers_count(s, RILL_EVENT_TIME), 2);
    CHECK_EQ(rill__timers_next(s, RILL_EVENT_TIME), 15);
    rill__timer t;
    CHECK_EQ(rill__timers_pop(s, RILL_EVENT_TIME, 14, &t), 0);
    /* Re-registered after delete: it fires (once), after the earlier ones at its ts. */
    CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &k, 10));
    CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &k, 10));
    CHECK_EQ(rill__timers_next(s, RILL_EVENT_TIME), 10);
    CHECK_EQ(rill__timers_pop(s, RILL_EVENT_TIME, RILL_TS_MAX, &t), 1);
    CHECK_EQ(t.ts, 10);
    CHECK_EQ(t.key.ns_len, 8);
    CHECK_EQ(rill__timers_pop(s, RILL_EVENT_TIME, RILL_TS_MAX, &t), 1);
    CHECK_EQ(t.ts, 15);
    CHECK_EQ(t.key.ns_len, 0);
    CHECK(t.key.ns == NULL);
    CHECK_RC(rill__timers_delete(s, RILL_EVENT_TIME, &k, 20));
    CHECK_EQ(rill__timers_pop(s, RILL_EVENT_TIME, RILL_TS_MAX, &t), 0);
    CHECK_EQ(rill__timers_count(s, RILL_EVENT_TIME), 0);
    rill__timers_free(s);
}

TEST(time_timers_limit)
{
    rill__timer_service *s = rill__timers_new(0, MAX_PAR - 1);
    uint64_t kb;
    rill__state_key k = tkey(&kb, 1, NULL, 0);
    CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &k, 1000));
    CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &k, RILL_TS_MAX));
    CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &k, RILL_TS_MIN));
    rill__timer t = {0};
    /* A timer for t fires when the watermark reaches t: ts <= limit. */
    CHECK_EQ(rill__timers_pop(s, RILL_EVENT_TIME, RILL_TS_MIN, &t), 1);
    CHECK_EQ(t.ts, RILL_TS_MIN);
    CHECK_EQ(rill__timers_pop(s, RILL_EVENT_TIME, 998, &t), 0);
    CHECK_EQ(rill__timers_pop(s, RILL_EVENT_TIME, 999, &t), 0);
    CHECK_EQ(rill__timers_count(s, RILL_EVENT_TIME), 2);
    CHECK_EQ(rill__timers_pop(s, RILL_EVENT_TIME, 1000, &t), 1);
    CHECK_EQ(t.ts, 1000);
    CHECK_EQ(rill__timers_pop(s, RILL_EVENT_TIME, 1000, &t), 0);
    CHECK_EQ(rill__timers_pop(s, RILL_EVENT_TIME, RILL_TS_MAX - 1, &t), 0);
    /* The end of input (watermark MAX) fires even a timer at MAX. */
    CHECK_EQ(rill__timers_count(s, RILL_EVENT_TIME), 1);
    CHECK_EQ(rill__timers_next(s, RILL_EVENT_TIME), RILL_TS_MAX);
    CHECK_EQ(rill__timers_pop(s, RILL_EVENT_TIME, RILL_TS_MAX, &t), 1);
    CHECK_EQ(t.ts, RILL_TS_MAX);
    CHECK_EQ(rill__timers_count(s, RILL_EVENT_TIME), 0);
    rill__timers_free(s);
}

TEST(time_timers_kg_range)
{
    rill__timer_service *s = rill__timers_new(10, 19);
    int64_t ns = 1;
    char key[] = "abc";
    rill__state_key k = {.key = key, .key_len = 3, .hash = 99, .kg = 9, .ns = &ns, .ns_len = 8};
    CHECK_EQ(rill__timers_register(s, RILL_EVENT_TIME, &k, 1), RILL_ESTATE);
    k.kg = 20;
    CHECK_EQ(rill__timers_register(s, RILL_PROCESSING_TIME, &k, 1), RILL_ESTATE);
    CHECK_EQ(rill__timers_delete(s, RILL_EVENT_TIME, &k, 1), RILL_ESTATE);
    CHECK_EQ(rill__timers_count(s, RILL_EVENT_TIME), 0);
    CHECK_EQ(rill__timers_count(s, RILL_PROCESSING_TIME), 0);
    k.kg = 10;
    CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &k, 1));
    k.kg = 19;
    CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &k, 2));
    CHECK_EQ(rill__timers_count(s, RILL_EVENT_TIME), 2);
    /* Arbitrary key bytes come back as given. */
    rill__timer t;
    CHECK_EQ(rill__timers_pop(s, RILL_EVENT_TIME, 1, &t), 1);
    CHECK_EQ(t.key.key_len, 3);
    CHECK(memcmp(t.key.key, "abc", 3) == 0);
    CHECK_EQ(t.key.hash, 99);
    CHECK_EQ(t.key.kg, 10);
    rill__timers_free(s);
}

typedef struct kg_visit {
    int n, n_event, n_proc, stop_after;
    int64_t ts_sum;
    int kg;
    bool bad;
} kg_visit;

static int visit_kg(void *arg, rill_time_domain d, const rill__timer *t)
{
    kg_visit *v = arg;
    if (t->key.kg != v->kg)
        v->bad = true;
    v->n++;
    if (d == RILL_EVENT_TIME)
        v->n_event++;
    else
        v->n_proc++;
    v->ts_sum += t->ts;
    return v->stop_after && v->n == v->stop_after ? 42 : 0;
}

TEST(time_timers_iterate_kg)
{
    rill__timer_service *s = rill__timers_new(0, MAX_PAR - 1);
    int want[MAX_PAR] = {0};
    int64_t want_sum[MAX_PAR] = {0};
    uint64_t kb;
    int64_t ns = 77;
    for (uint64_t key = 0; key < 300; key++) {
        rill__state_key k = tkey(&kb, key, &ns, sizeof ns);
        rill_time_domain d = key % 3 == 0 ? RILL_PROCESSING_TIME : RILL_EVENT_TIME;
        CHECK_RC(rill__timers_register(s, d, &k, (int64_t)key));
        CHECK_RC(rill__timers_register(s, d, &k, (int64_t)key + 1000));
        want[k.kg] += 2;
        want_sum[k.kg] += 2 * (int64_t)key + 1000;
    }
    /* Remove some by pop and by delete: iteration sees only what is left. */
    rill__timer t;
    for (int i = 0; i < 50; i++) {
        CHECK_EQ(rill__timers_pop(s, RILL_EVENT_TIME, RILL_TS_MAX, &t), 1);
        want[t.key.kg]--;
        want_sum[t.key.kg] -= t.ts;
    }
    for (uint64_t key = 0; key < 300; key += 7) {
        rill__state_key k = tkey(&kb, key, &ns, sizeof ns);
        rill_time_domain d = key % 3 == 0 ? RILL_PROCESSING_TIME : RILL_EVENT_TIME;
        CHECK_RC(rill__timers_delete(s, d, &k, (int64_t)key + 1000));
        want[k.kg]--;
        want_sum[k.kg] -= (int64_t)key + 1000;
    }
    int total = 0, total_proc = 0;
    for (int kg = 0; kg < MAX_PAR; kg++) {
        kg_visit v = {.kg = kg};
        CHECK_RC(rill__timers_iterate_kg(s, kg, visit_kg, &v));
        CHECK(!v.bad);
        CHECK_EQ(v.n, want[kg]);
        CHECK_EQ(v.ts_sum, want_sum[kg]);
        total += v.n;
        total_proc += v.n_proc;
    }
    CHECK_EQ(total,
             rill__timers_count(s, RILL_EVENT_TIME) + rill__timers_count(s, RILL_PROCESSING_TIME));
    CHECK_EQ(total_proc, rill__timers_count(s, RILL_PROCESSING_TIME));
    /* A nonzero return stops it and comes back. */
    int busy = 0;
    for (int kg = 1; kg < MAX_PAR; kg++)
        if (want[kg] > want[busy])
            busy = kg;
    CHECK(want[busy] >= 2);
    kg_visit v = {.kg = busy, .stop_after = 1};
    CHECK_EQ(rill__timers_iterate_kg(s, busy, visit_kg, &v), 42);
    CHECK_EQ(v.n, 1);
    /* Out of range. */
    rill__timer_service *s2 = rill__timers_new(4, 7);
    v = (kg_visit){.kg = 3};
    CHECK_EQ(rill__timers_iterate_kg(s2, 3, visit_kg, &v), RILL_ESTATE);
    CHECK_EQ(rill__timers_iterate_kg(s2, 8, visit_kg, &v), RILL_ESTATE);
    v.kg = 4;
    CHECK_RC(rill__timers_iterate_kg(s2, 4, visit_kg, &v));
    CHECK_EQ(v.n, 0);
    rill__timers_free(s2);
    rill__timers_free(s);
}

/* on_timer often registers the next timer for the key it fired for: the popped key's bytes
 * must survive registering and deleting (they live until the next pop). */
TEST(time_timers_popped_key_reuse)
{
    rill__timer_service *s = rill__timers_new(0, MAX_PAR - 1);
    uint64_t kb;
    int64_t ns[2] = {1, 2};
    rill__state_key k = tkey(&kb, 11, ns, sizeof ns);
    CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &k, 100));
    rill__timer t;
    int fired = 0;
    while (rill__timers_pop(s, RILL_EVENT_TIME, 1000, &t) == 1) {
        fired++;
        CHECK_EQ(key_u64(&t), 11);
        CHECK(memcmp(t.key.ns, ns, sizeof ns) == 0);
        CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &t.key, t.ts + 100));
        CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &t.key, t.ts)); /* fires again */
        CHECK_RC(rill__timers_delete(s, RILL_EVENT_TIME, &t.key, t.ts));
        CHECK_RC(rill__timers_register(s, RILL_PROCESSING_TIME, &t.key, t.ts));
        CHECK_EQ(key_u64(&t), 11); /* still readable */
        CHECK(memcmp(t.key.ns, ns, sizeof ns) == 0);
    }
    CHECK_EQ(fired, 10);
    CHECK_EQ(rill__timers_count(s, RILL_EVENT_TIME), 1);
    CHECK_EQ(rill__timers_next(s, RILL_EVENT_TIME), 1100);
    CHECK_EQ(rill__timers_count(s, RILL_PROCESSING_TIME), 10);
    CHECK_EQ(rill__timers_pop(s, RILL_PROCESSING_TIME, RILL_TS_MAX, &t), 1);
    rill__timers_free(s); /* with a popped timer still held */
}

/* ---- randomized against a reference model --------------------------------------------------- */

#define R_KEYS 40
#define R_TS   400

typedef struct ref_timer {
    int key, ns; /* ns 0: none */
    int64_t ts;
    uint64_t seq;
} ref_timer;

typedef struct ref_model {
    ref_timer *a; /* sorted by (ts, seq) */
    size_t n, cap;
} ref_model;

static uint64_t rng(uint64_t *s)
{
    *s += 1;
    return rill__mix64(*s);
}

/* Key i: 8 bytes for even i, a string of 1..13 bytes for odd i (variable lengths). */
static rill__state_key rkey(char *kbuf, int64_t *nsbuf, int key, int ns)
{
    size_t len;
    if (key % 2 == 0) {
        uint64_t v = (uint64_t)key * 1000003u;
        memcpy(kbuf, &v, 8);
        len = 8;
    } else {
        len = (size_t)(key % 13) + 1;
        kbuf[0] = (char)key; /* distinct bytes per key */
        for (size_t i = 1; i < len; i++)
            kbuf[i] = (char)('a' + (key + (int)i) % 26);
    }
    uint64_t h = rill__hash_bytes(kbuf, len, 0);
    nsbuf[0] = ns * 60000;
    nsbuf[1] = ns * 60000 + 60000;
    return (rill__state_key){.key = kbuf,
                             .key_len = len,
                             .hash = h,
                             .kg = rill__key_group(h, MAX_PAR),
                             .ns = ns ? nsbuf : NULL,
                             .ns_len = ns ? 16 : 0};
}

static ptrdiff_t ref_find(const ref_model *m, int key, int ns, int64_t ts)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->a[i].key == key && m->a[i].ns == ns && m->a[i].ts == ts)
            return (ptrdiff_t)i;
    return -1;
}

static void ref_insert(ref_model *m, ref_timer t)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->a = realloc(m->a, m->cap * sizeof *m->a);
        CHECK(m->a != NULL);
    }
    size_t i = m->n;
    while (i > 0 && (m->a[i - 1].ts > t.ts || (m->a[i - 1].ts == t.ts && m->a[i - 1].seq > t.seq)))
        i--;
    memmove(m->a + i + 1, m->a + i, (m->n - i) * sizeof *m->a);
    m->a[i] = t;
    m->n++;
}

static void ref_remove(ref_model *m, size_t i)
{
    memmove(m->a + i, m->a + i + 1, (m->n - i - 1) * sizeof *m->a);
    m->n--;
}

static int count_kg(void *arg, rill_time_domain d, const rill__timer *t)
{
    (void)d, (void)t;
    (*(int64_t *)arg)++;
    return 0;
}

TEST(time_timers_random_vs_model)
{
    rill__timer_service *s = rill__timers_new(0, MAX_PAR - 1);
    ref_model ref[2] = {{0}};
    uint64_t seq = 0, seed = 12345;
    char kbuf[16];
    int64_t nsbuf[2];
    int64_t n_pops = 0, n_dups = 0;
    for (int op = 0; op < 100000; op++) {
        rill_time_domain d = (rng(&seed) & 3) == 0 ? RILL_PROCESSING_TIME : RILL_EVENT_TIME;
        ref_model *m = &ref[d];
        uint64_t r = rng(&seed) % 100;
        int key = (int)(rng(&seed) % R_KEYS), ns = (int)(rng(&seed) % 4);
        int64_t ts = (int64_t)(rng(&seed) % R_TS) - R_TS / 4;
        if (r < 20 && m->n > 0) { /* delete or re-register an existing one */
            ref_timer e = m->a[rng(&seed) % m->n];
            key = e.key, ns = e.ns, ts = e.ts;
        }
        rill__state_key k = rkey(kbuf, nsbuf, key, ns);
        if (r < 50) {
            CHECK_RC(rill__timers_register(s, d, &k, ts));
            if (ref_find(m, key, ns, ts) < 0)
                ref_insert(m, (ref_timer){.key = key, .ns = ns, .ts = ts, .seq = seq++});
            else
                n_dups++;
        } else if (r < 70) {
            CHECK_RC(rill__timers_delete(s, d, &k, ts));
            ptrdiff_t i = ref_find(m, key, ns, ts);
            if (i >= 0)
                ref_remove(m, (size_t)i);
        } else {
            int64_t limit = (int64_t)(rng(&seed) % R_TS) - R_TS / 2;
            rill__timer t;
            int got = rill__timers_pop(s, d, limit, &t);
            if (m->n > 0 && m->a[0].ts <= limit) {
                CHECK_EQ(got, 1);
                ref_timer e = m->a[0];
                ref_remove(m, 0);
                rill__state_key w = rkey(kbuf, nsbuf, e.key, e.ns);
                CHECK_EQ(t.ts, e.ts);
                CHECK_EQ(t.key.key_len, w.key_len);
                CHECK(memcmp(t.key.key, w.key, w.key_len) == 0);
                CHECK_EQ(t.key.ns_len, w.ns_len);
                CHECK(w.ns_len == 0 || memcmp(t.key.ns, w.ns, w.ns_len) == 0);
                CHECK_EQ(t.key.hash, w.hash);
                CHECK_EQ(t.key.kg, w.kg);
                n_pops++;
            } else {
                CHECK_EQ(got, 0);
            }
        }
        for (int dd = 0; dd < 2; dd++) {
            CHECK_EQ(rill__timers_count(s, (rill_time_domain)dd), ref[dd].n);
            CHECK_EQ(rill__timers_next(s, (rill_time_domain)dd),
                     ref[dd].n ? ref[dd].a[0].ts : RILL_TS_MAX);
        }
        if (op % 10000 == 0) {
            int64_t seen = 0;
            for (int kg = 0; kg < MAX_PAR; kg++)
                CHECK_RC(rill__timers_iterate_kg(s, kg, count_kg, &seen));
            CHECK_EQ(seen, (int64_t)(ref[0].n + ref[1].n));
        }
    }
    CHECK(n_pops > 10000);
    CHECK(n_dups > 1000);
    /* Drain: everything left comes out in order. */
    for (int dd = 0; dd < 2; dd++) {
        rill__timer t;
        size_t i = 0;
        while (rill__timers_pop(s, (rill_time_domain)dd, RILL_TS_MAX, &t) == 1) {
            CHECK(i < ref[dd].n);
            CHECK_EQ(t.ts, ref[dd].a[i].ts);
            i++;
        }
        CHECK_EQ(i, ref[dd].n);
        free(ref[dd].a);
    }
    rill__timers_free(s);
}

/* Many timers with many duplicate registrations (a window operator's pattern), freed while
 * still registered: LeakSanitizer checks that everything goes. */
TEST(time_timers_many)
{
    rill__timer_service *s = rill__timers_new(0, MAX_PAR - 1);
    uint64_t kb;
    const int n_keys = 20000, n_windows = 5;
    for (int rep = 0; rep < 3; rep++)
        for (int w = 0; w < n_windows; w++)
            for (int key = 0; key < n_keys; key++) {
                int64_t ns[2] = {w * 1000, w * 1000 + 1000};
                rill__state_key k = tkey(&kb, (uint64_t)key, ns, sizeof ns);
                CHECK_RC(rill__timers_register(s, RILL_EVENT_TIME, &k, ns[1] - 1));
            }
    CHECK_EQ(rill__timers_count(s, RILL_EVENT_TIME), n_keys * n_windows);
    /* The first two windows fire, each key in registration order within a window. */
    rill__timer t;
    for (int w = 0; w < 2; w++)
        for (int key = 0; key < n_keys; key++) {
            CHECK_EQ(rill__timers_pop(s, RILL_EVENT_TIME, 2000, &t), 1);
            CHECK_EQ(t.ts, w * 1000 + 999);
            CHECK_EQ(key_u64(&t), key);
        }
    CHECK_EQ(rill__timers_pop(s, RILL_EVENT_TIME, 2000, &t), 0);
    CHECK_EQ(rill__timers_next(s, RILL_EVENT_TIME), 2999);
    CHECK_EQ(rill__timers_count(s, RILL_EVENT_TIME), n_keys * (n_windows - 2));
    rill__timers_free(s);
}
