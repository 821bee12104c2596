/*
 * nexmark_gen.c - connectors layer: the Nexmark event generator. java.util.Random's LCG and the
 * reference generator's arithmetic (ids, prices, strings, timestamps) with Java's integer and
 * floating-point semantics, and the connector's options.
 */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/nexmark_gen.h"

/* ---- java.util.Random ---------------------------------------------------------------------- */

#define JR_MULT UINT64_C(0x5DEECE66D)
#define JR_MASK ((UINT64_C(1) << 48) - 1)

void rill__jrandom_seed(rill__jrandom *r, int64_t seed)
{
    r->seed = ((uint64_t)seed ^ JR_MULT) & JR_MASK;
}

int32_t rill__jrandom_next(rill__jrandom *r, int bits)
{
    r->seed = (r->seed * JR_MULT + 0xB) & JR_MASK;
    /* Java keeps the low 32 bits of the shifted seed, as a signed int */
    return (int32_t)(uint32_t)(r->seed >> (48 - bits));
}

int32_t rill__jrandom_int(rill__jrandom *r)
{
    return rill__jrandom_next(r, 32);
}

int32_t rill__jrandom_int_below(rill__jrandom *r, int32_t bound)
{
    RILL_DASSERT(bound > 0);
    int32_t bits = rill__jrandom_next(r, 31);
    if ((bound & (bound - 1)) == 0) /* a power of two: the high bits */
        return (int32_t)(((int64_t)bound * bits) >> 31);
    int32_t val = bits % bound;
    /* rejects the last partial range: Java's test is an int sum that overflows there */
    while ((int64_t)bits - val + (bound - 1) > INT32_MAX) {
        bits = rill__jrandom_next(r, 31);
        val = bits % bound;
    }
    return val;
}

int64_t rill__jrandom_long(rill__jrandom *r)
{
    int64_t hi = rill__jrandom_next(r, 32);
    int64_t lo = rill__jrandom_next(r, 32);
    return (int64_t)(((uint64_t)hi << 32) + (uint64_t)lo);
}

double rill__jrandom_double(rill__jrandom *r)
{
    int64_t hi = rill__jrandom_next(r, 26);
    int64_t lo = rill__jrandom_next(r, 27);
    return (double)((hi << 27) + lo) * 0x1p-53;
}

int64_t rill__java_d2l(double x)
{
    if (isnan(x))
        return 0;
    if (x >= 0x1p63)
        return INT64_MAX;
    if (x <= -0x1p63)
        return INT64_MIN;
    return (int64_t)x;
}

int64_t rill__java_round(double x)
{
    if (isnan(x))
        return 0;
    double f = floor(x);
    /* x - f is exact below 2^52, and above it x is whole: floor(x + 1/2) without rounding */
    return rill__java_d2l(x - f >= 0.5 ? f + 1.0 : f);
}

/* ---- options ------------------------------------------------------------------------------- */

void rill__nexmark_cfg_default(rill__nexmark_cfg *c)
{
    *c = (rill__nexmark_cfg){
        .first_event_rate = 10000,
        .next_event_rate = 10000,
        .rate_shape = 0,
        .rate_period_s = 600,
        .rate_limited = false,
        .person_avg_size = 200,
        .auction_avg_size = 500,
        .bid_avg_size = 100,
        .person_proportion = 1,
        .auction_proportion = 3,
        .bid_proportion = 46,
        .hot_auction_ratio = 2,
        .hot_bidders_ratio = 4,
        .hot_sellers_ratio = 4,
        .events_num = 0,
        .keep_alive = false,
        .stop_at = -1,
        .max_emit_speed = true,
        .num_in_flight_auctions = 100,
        .num_active_people = 1000,
        .out_of_order_group_size = 1,
    };
}

#define WHO "nexmark source"
/* the largest *.avg-size: a bigger one would make single rows of many megabytes */
#define MAX_AVG_SIZE (16 << 20)

static int bad(rill__err *err, const char *key, const char *value, const char *what)
{
    return rill__err_set(err, RILL_ECONFIG, WHO ": option '%s': '%s' is not %s", key, value, what);
}

/* An integer with optional surrounding spaces (Flink trims option values). */
static int parse_int(const char *v, int64_t lo, int64_t hi, int64_t *out)
{
    while (*v == ' ')
        v++;
    size_t n = strlen(v);
    while (n > 0 && v[n - 1] == ' ')
        n--;
    if (n > 0 && v[0] == '+') /* Java's parseInt takes a leading + */
        v++, n--;
    int64_t x;
    if (n == 0 || (v[0] == '-' && n == 1) || (v[0] != '-' && !isdigit((unsigned char)v[0])) ||
        rill__parse_i64(v, n, &x) != 0 || x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

/* Flink's MemorySize: a number and an optional unit (b, k/kb, m/mb, g/gb; bytes by default). */
static int parse_size(const char *v, int64_t *out)
{
    while (*v == ' ')
        v++;
    const char *u = v;
    while (isdigit((unsigned char)*u))
        u++;
    int64_t x;
    if (u == v || u - v > 18 || rill__parse_i64(v, (size_t)(u - v), &x) != 0)
        return -1;
    while (*u == ' ')
        u++;
    char unit[8] = {0};
    size_t n = strlen(u);
    while (n > 0 && u[n - 1] == ' ')
        n--;
    if (n >= sizeof unit)
        return -1;
    for (size_t i = 0; i < n; i++)
        unit[i] = (char)tolower((unsigned char)u[i]);
    int shift;
    if (!*unit || !strcmp(unit, "b") || !strcmp(unit, "bytes"))
        shift = 0;
    else if (!strcmp(unit, "k") || !strcmp(unit, "kb"))
        shift = 10;
    else if (!strcmp(unit, "m") || !strcmp(unit, "mb"))
        shift = 20;
    else if (!strcmp(unit, "g") || !strcmp(unit, "gb"))
        shift = 30;
    else
        return -1;
    if (x > (INT64_MAX >> shift))
        return -1;
    *out = x << shift;
    return 0;
}

/* Flink's Duration: a number and an optional unit (ms by default). Whole seconds out. */
static int parse_duration_s(const char *v, int64_t *out)
{
    while (*v == ' ')
        v++;
    const char *u = v;
    while (isdigit((unsigned char)*u))
        u++;
    int64_t x;
    if (u == v || u - v > 18 || rill__parse_i64(v, (size_t)(u - v), &x) != 0)
        return -1;
    while (*u == ' ')
        u++;
    static const struct {
        const char *name;
        int64_t ms;
    } units[] = {{"", 1},
                 {"ms", 1},
                 {"milli", 1},
                 {"millis", 1},
                 {"s", 1000},
                 {"sec", 1000},
                 {"secs", 1000},
                 {"second", 1000},
                 {"seconds", 1000},
                 {"min", 60000},
                 {"m", 60000},
                 {"minute", 60000},
                 {"minutes", 60000},
                 {"h", 3600000},
                 {"hour", 3600000},
                 {"hours", 3600000},
                 {"d", 86400000},
                 {"day", 86400000},
                 {"days", 86400000}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(u, units[i].name) != 0)
            continue;
        if (x > INT64_MAX / units[i].ms)
            return -1;
        *out = x * units[i].ms / 1000;
        return 0;
    }
    return -1;
}

static int parse_boolean(const char *v, bool *out)
{
    if (!strcasecmp(v, "true"))
        *out = true;
    else if (!strcasecmp(v, "false"))
        *out = false;
    else
        return -1;
    return 0;
}

int rill__nexmark_cfg_set(rill__nexmark_cfg *c, const char *key, const char *value, rill__err *err)
{
    if (!key || !value)
        return rill__err_set(err, RILL_ECONFIG, WHO ": option '%s' has no value",
                             key ? key : "(null)");
    int64_t x;
    /* the int options, with the field each sets and its smallest value */
    static const struct {
        const char *key;
        size_t off;
        int64_t lo;
        const char *what;
    } ints[] = {
        {"first-event.rate", offsetof(rill__nexmark_cfg, first_event_rate), 1,
         "an INT above 0 (events per second)"},
        {"next-event.rate", offsetof(rill__nexmark_cfg, next_event_rate), 1,
         "an INT above 0 (events per second)"},
        {"person.proportion", offsetof(rill__nexmark_cfg, person_proportion), 0, "an INT >= 0"},
        {"auction.proportion", offsetof(rill__nexmark_cfg, auction_proportion), 0, "an INT >= 0"},
        {"bid.proportion", offsetof(rill__nexmark_cfg, bid_proportion), 0, "an INT >= 0"},
        {"bid.hot-ratio.auctions", offsetof(rill__nexmark_cfg, hot_auction_ratio), 1,
         "an INT above 0"},
        {"bid.hot-ratio.bidders", offsetof(rill__nexmark_cfg, hot_bidders_ratio), 1,
         "an INT above 0"},
        {"auction.hot-ratio.sellers", offsetof(rill__nexmark_cfg, hot_sellers_ratio), 1,
         "an INT above 0"},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (strcmp(key, ints[i].key) != 0)
            continue;
        if (parse_int(value, ints[i].lo, INT32_MAX, &x) != 0)
            return bad(err, key, value, ints[i].what);
        *(int32_t *)((char *)c + ints[i].off) = (int32_t)x;
        return 0;
    }
    static const struct {
        const char *key;
        size_t off;
    } sizes[] = {
        {"person.avg-size", offsetof(rill__nexmark_cfg, person_avg_size)},
        {"auction.avg-size", offsetof(rill__nexmark_cfg, auction_avg_size)},
        {"bid.avg-size", offsetof(rill__nexmark_cfg, bid_avg_size)},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (strcmp(key, sizes[i].key) != 0)
            continue;
        if (parse_size(value, &x) != 0 || x > MAX_AVG_SIZE)
            return bad(err, key, value, "a size of at most 16 mb (200b, 1 kb, 2mb)");
        *(int32_t *)((char *)c + sizes[i].off) = (int32_t)x;
        return 0;
    }
    if (!strcmp(key, "events.num")) {
        if (parse_int(value, 0, INT64_MAX, &x) != 0)
            return bad(err, key, value, "a BIGINT >= 0 (0: unbounded)");
        c->events_num = x;
    } else if (!strcmp(key, "stop-at")) {
        if (parse_int(value, INT64_MIN, INT64_MAX, &x) != 0)
            return bad(err, key, value, "a BIGINT (negative: no stop)");
        c->stop_at = x;
    } else if (!strcmp(key, "events.base-time")) {
        if (parse_int(value, 0, INT64_MAX / 2, &x) != 0)
            return bad(err, key, value, "milliseconds since the epoch (a BIGINT >= 0)");
        c->base_time = x;
        c->base_time_set = true;
    } else if (!strcmp(key, "rate.shape")) {
        if (!strcasecmp(value, "square"))
            c->rate_shape = 0;
        else if (!strcasecmp(value, "sine"))
            c->rate_shape = 1;
        else
            return bad(err, key, value, "SQUARE or SINE");
    } else if (!strcmp(key, "rate.period")) {
        if (parse_duration_s(value, &x) != 0 || x > INT32_MAX)
            return bad(err, key, value, "a duration (600 s, 10 min, 600000 ms)");
        c->rate_period_s = x;
    } else if (!strcmp(key, "rate.limited")) {
        if (parse_boolean(value, &c->rate_limited) != 0)
            return bad(err, key, value, "true or false");
    } else if (!strcmp(key, "keep-alive")) {
        if (parse_boolean(value, &c->keep_alive) != 0)
            return bad(err, key, value, "true or false");
    } else if (!strcmp(key, "max-emit-speed")) {
        if (parse_boolean(value, &c->max_emit_speed) != 0)
            return bad(err, key, value, "true or false");
    } else if (!strcmp(key, "connector")) {
        if (strcmp(value, "nexmark") != 0)
            return bad(err, key, value, "'nexmark'");
    } else {
        return rill__err_set(err, RILL_ECONFIG,
                             WHO ": unknown option '%s' (options: first-event.rate, "
                                 "next-event.rate, events.num, person.proportion, "
                                 "auction.proportion, bid.proportion, person.avg-size, "
                                 "auction.avg-size, bid.avg-size, bid.hot-ratio.auctions, "
                                 "bid.hot-ratio.bidders, auction.hot-ratio.sellers, rate.shape, "
                                 "rate.period, rate.limited, keep-alive, stop-at, max-emit-speed, "
                                 "events.base-time)",
                             key);
    }
    return 0;
}

int rill__nexmark_cfg_check(const rill__nexmark_cfg *c, rill__err *err)
{
    int64_t total = (int64_t)c->person_proportion + c->auction_proportion + c->bid_proportion;
    if (total <= 0)
        return rill__err_set(err, RILL_ECONFIG,
                             WHO ": person.proportion + auction.proportion + bid.proportion "
                                 "must be above 0");
    if (total > INT32_MAX)
        return rill__err_set(err, RILL_ECONFIG,
                             WHO ": person.proportion + auction.proportion + bid.proportion "
                                 "is %lld, above an INT",
                             (long long)total);
    if (c->first_event_rate <= 0)
        return rill__err_set(err, RILL_ECONFIG, WHO ": option 'first-event.rate' must be above 0");
    /* without events.num the reference bounds the stream by Long.MAX_VALUE over this INT
     * product: it must not overflow */
    int64_t big = RILL_MAX(c->person_avg_size, RILL_MAX(c->auction_avg_size, c->bid_avg_size));
    if (c->events_num == 0 && (total * big > INT32_MAX || total * big <= 0))
        return rill__err_set(err, RILL_ECONFIG,
                             WHO
                             ": with events.num 0 (unbounded), the sum of the proportions "
                             "(%lld) times the largest *.avg-size (%lld) must be an INT above 0",
                             (long long)total, (long long)big);
    return 0;
}

int rill__nexmark_cfg_parse(rill__nexmark_cfg *c, const char *const *options, rill__err *err)
{
    rill__nexmark_cfg_default(c);
    for (int i = 0; options && options[i]; i += 2) {
        int rc = rill__nexmark_cfg_set(c, options[i], options[i + 1], err);
        if (rc)
            return rc;
    }
    return rill__nexmark_cfg_check(c, err);
}

uint64_t rill__nexmark_cfg_fingerprint(const rill__nexmark_cfg *c)
{
    int64_t v[] = {
        c->first_event_rate,       c->person_avg_size,   c->auction_avg_size,
        c->bid_avg_size,           c->person_proportion, c->auction_proportion,
        c->bid_proportion,         c->hot_auction_ratio, c->hot_bidders_ratio,
        c->hot_sellers_ratio,      c->events_num,        c->stop_at < 0 ? -1 : c->stop_at,
        c->num_in_flight_auctions, c->num_active_people, c->out_of_order_group_size};
    unsigned char b[sizeof v];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        rill__le_put64(b + 8 * i, (uint64_t)v[i]);
    return rill__hash_bytes(b, sizeof b, 0x6e65786d61726bu);
}

/* ---- the models' helpers -------------------------------------------------------------------- */

#define FIRST_PERSON_ID    1000
#define FIRST_AUCTION_ID   1000
#define FIRST_CATEGORY_ID  10
#define NUM_CATEGORIES     5
#define PERSON_ID_LEAD     10
#define AUCTION_ID_LEAD    10
#define HOT_SELLER_RATIO   100
#define HOT_AUCTION_RATIO  100
#define HOT_BIDDER_RATIO   100
#define HOT_CHANNELS_RATIO 2
#define CHANNELS           10000
#define N_HOT              4
#define MIN_STRING_LENGTH  3

static const char *const us_states[] = {"AZ", "CA", "ID", "OR", "WA", "WY"};
static const char *const us_cities[] = {"Phoenix",  "Los Angeles", "San Francisco", "Boise",
                                        "Portland", "Bend",        "Redmond",       "Seattle",
                                        "Kent",     "Cheyenne"};
static const char *const first_names[] = {"Peter", "Paul",  "Luke",  "John",   "Saul",  "Vicky",
                                          "Kate",  "Julie", "Sarah", "Deiter", "Walter"};
static const char *const last_names[] = {"Shultz", "Abrams", "Spencer", "White", "Bartels",
                                         "Walton", "Smith",  "Jones",   "Noris"};
static const char *const hot_channels[] = {"Google", "Facebook", "Baidu", "Apple"};
#define COUNT(a) ((int32_t)(sizeof(a) / sizeof((a)[0])))

/* Appends s to the buffer at *at; returns its place. */
static rill__nexmark_str put(char **at, const char *s, size_t n)
{
    rill__nexmark_str r = {*at, (uint32_t)n};
    memcpy(*at, s, n);
    *at += n;
    return r;
}

/* A random string of 3 .. max_len - 1 characters, each special one time in 13, else a
 * lowercase letter; then without leading and trailing spaces (Java's trim). Into out. */
static size_t next_string(rill__jrandom *r, int32_t max_len, char special, char *out)
{
    int32_t len = MIN_STRING_LENGTH + rill__jrandom_int_below(r, max_len - MIN_STRING_LENGTH);
    for (int32_t i = 0; i < len; i++) {
        if (rill__jrandom_int_below(r, 13) == 0)
            out[i] = special;
        else
            out[i] = (char)('a' + rill__jrandom_int_below(r, 26));
    }
    size_t b = 0, e = (size_t)len;
    while (b < e && (unsigned char)out[b] <= ' ')
        b++;
    while (e > b && (unsigned char)out[e - 1] <= ' ')
        e--;
    if (b > 0)
        memmove(out, out + b, e - b);
    return e - b;
}

/* Exactly len characters, six from each nextInt(): 'a' + rnd % 26 with Java's signed remainder
 * (a negative draw gives characters below 'a'), then rnd / 26. Truncating divisions compose
 * (rnd / 26 / 26 == rnd / 676), so the six come from one draw independently of each other. */
static void next_exact_string(rill__jrandom *r, int32_t len, char *out)
{
    int32_t i = 0;
    for (; i + 6 <= len; i += 6) {
        int32_t rnd = rill__jrandom_int(r);
        out[i] = (char)('a' + rnd % 26);
        out[i + 1] = (char)('a' + rnd / 26 % 26);
        out[i + 2] = (char)('a' + rnd / 676 % 26);
        out[i + 3] = (char)('a' + rnd / 17576 % 26);
        out[i + 4] = (char)('a' + rnd / 456976 % 26);
        out[i + 5] = (char)('a' + rnd / 11881376 % 26);
    }
    if (i < len) {
        int32_t rnd = rill__jrandom_int(r);
        for (; i < len; i++) {
            out[i] = (char)('a' + rnd % 26);
            rnd /= 26;
        }
    }
}

/* A string whose length brings current_size to desired_avg on average (none when already
 * above); its length is returned. */
static int32_t next_extra(rill__jrandom *r, int32_t current_size, int32_t desired_avg, char *out)
{
    if (current_size > desired_avg)
        return 0;
    desired_avg -= current_size;
    int32_t delta = (int32_t)rill__java_round(desired_avg * 0.2);
    int32_t min_size = desired_avg - delta;
    int32_t size = min_size + (delta == 0 ? 0 : rill__jrandom_int_below(r, 2 * delta));
    next_exact_string(r, size, out);
    return size;
}

static rill__nexmark_str put_extra(rill__jrandom *r, int32_t cur, int32_t avg, char **at)
{
    int32_t n = next_extra(r, cur, avg, *at);
    rill__nexmark_str s = {*at, (uint32_t)n};
    *at += n;
    return s;
}

/* The reference's LongGenerator: nextInt below INT_MAX, else |nextLong % n| (skewed). */
static int64_t next_long_below(rill__jrandom *r, int64_t n)
{
    if (n < INT32_MAX)
        return rill__jrandom_int_below(r, (int32_t)n);
    int64_t v = rill__jrandom_long(r) % n;
    return v < 0 ? -v : v;
}

static int64_t next_price(rill__jrandom *r)
{
    return rill__java_round(pow(10.0, rill__jrandom_double(r) * 6.0) * 100.0);
}

static int64_t last_base0_person_id(const rill__nexmark_gen *g, int64_t event_id)
{
    int64_t epoch = event_id / g->total_proportion;
    int64_t offset = event_id % g->total_proportion;
    if (offset >= g->cfg.person_proportion)
        offset = g->cfg.person_proportion - 1; /* the last person of this epoch */
    return epoch * g->cfg.person_proportion + offset;
}

static int64_t last_base0_auction_id(const rill__nexmark_gen *g, int64_t event_id)
{
    const rill__nexmark_cfg *c = &g->cfg;
    int64_t epoch = event_id / g->total_proportion;
    int64_t offset = event_id % g->total_proportion;
    if (offset < c->person_proportion) { /* a person: the last auction of the last epoch */
        epoch--;
        offset = c->auction_proportion - 1;
    } else if (offset >= c->person_proportion + c->auction_proportion) {
        offset = c->auction_proportion - 1; /* a bid: the last auction of this epoch */
    } else {
        offset -= c->person_proportion;
    }
    return epoch * c->auction_proportion + offset;
}

static int64_t next_base0_person_id(const rill__nexmark_gen *g, int64_t event_id, rill__jrandom *r)
{
    int64_t num_people = last_base0_person_id(g, event_id) + 1;
    int64_t active = RILL_MIN(num_people, (int64_t)g->cfg.num_active_people);
    int64_t n = next_long_below(r, active + PERSON_ID_LEAD);
    return num_people - active + n;
}

static int64_t next_base0_auction_id(const rill__nexmark_gen *g, int64_t event_id, rill__jrandom *r)
{
    int64_t max_auction = last_base0_auction_id(g, event_id);
    int64_t min_auction = RILL_MAX(max_auction - g->cfg.num_in_flight_auctions, (int64_t)0);
    return min_auction + next_long_below(r, max_auction - min_auction + 1 + AUCTION_ID_LEAD);
}

/* The reference's nextAdjustedEventNumber: event numbers shuffled within groups. */
static int64_t adjusted_number(const rill__nexmark_gen *g, int64_t n)
{
    int64_t size = g->cfg.out_of_order_group_size;
    int64_t base = (n / size) * size;
    int64_t offset = (int64_t)((uint64_t)n * 953u) % size;
    return base + offset;
}

int64_t rill__nexmark_timestamp(const rill__nexmark_gen *g, int64_t n)
{
    return (int64_t)((uint64_t)g->base_time +
                     (uint64_t)(rill__java_d2l((double)n * g->delay_us) / 1000));
}

/* ---- init: the split layout and the channel table ------------------------------------------- */

static int32_t java_abs_int(int32_t v)
{
    return v < 0 ? (int32_t)(0u - (uint32_t)v) : v;
}

static uint32_t reverse_bits(uint32_t v)
{
    uint32_t r = 0;
    for (int i = 0; i < 32; i++, v >>= 1)
        r = (r << 1) | (v & 1);
    return r;
}

/* One channel URL: "https://www.nexmark.com/<a>/<b>/<c>/item.htm?query=1", the three parts
 * random strings of up to 4 characters with '_' as the special one. */
static size_t base_url(rill__jrandom *r, char *out)
{
    static const char head[] = "https://www.nexmark.com/", tail[] = "item.htm?query=1";
    size_t n = sizeof head - 1;
    memcpy(out, head, n);
    for (int i = 0; i < 3; i++) {
        n += next_string(r, 5, '_', out + n);
        out[n++] = '/';
    }
    memcpy(out + n, tail, sizeof tail - 1);
    return n + sizeof tail - 1;
}

/* The reference draws its channel table once per JVM from an unseeded random: it differs from
 * run to run. Ours is drawn the same way from java.util.Random seeded with 0, so it is the same
 * in every run and every process. */
#define CHANNEL_SEED 0
#define MAX_URL      96

static struct {
    char *bytes;
    uint32_t off[N_HOT + CHANNELS], len[N_HOT + CHANNELS];
} channels;
static pthread_once_t channels_once = PTHREAD_ONCE_INIT;

/* The table is the same for every generator: drawn once per process, never freed. */
static void channels_draw(void)
{
    int n = N_HOT + CHANNELS;
    channels.bytes = rill__xmalloc((size_t)n * MAX_URL);
    rill__jrandom r;
    rill__jrandom_seed(&r, CHANNEL_SEED);
    uint32_t at = 0;
    for (int i = 0; i < n; i++) {
        char *u = channels.bytes + at;
        size_t len = base_url(&r, u);
        if (i >= N_HOT && rill__jrandom_int_below(&r, 10) > 0)
            len += (size_t)snprintf(u + len, MAX_URL - len, "&channel_id=%d",
                                    java_abs_int((int32_t)reverse_bits((uint32_t)(i - N_HOT))));
        channels.off[i] = at;
        channels.len[i] = (uint32_t)len;
        at += (uint32_t)len;
    }
}

void rill__nexmark_gen_init(rill__nexmark_gen *g, const rill__nexmark_cfg *cfg, int n_splits,
                            int64_t base_time)
{
    memset(g, 0, sizeof *g);
    g->cfg = *cfg;
    g->n_splits = n_splits > 0 ? n_splits : 1;
    g->base_time = base_time;
    g->total_proportion = cfg->person_proportion + cfg->auction_proportion + cfg->bid_proportion;
    /* Java: 1000000.0 / firstEventRate * numEventGenerators, left to right */
    g->delay_us = 1000000.0 / cfg->first_event_rate * g->n_splits;
    if (cfg->events_num == 0) {
        int32_t big =
            RILL_MAX(cfg->person_avg_size, RILL_MAX(cfg->auction_avg_size, cfg->bid_avg_size));
        g->max_events = INT64_MAX / ((int64_t)g->total_proportion * big);
    } else {
        g->max_events = cfg->events_num;
    }
    int32_t big =
        RILL_MAX(cfg->person_avg_size, RILL_MAX(cfg->auction_avg_size, cfg->bid_avg_size));
    /* strings of one event: names, email, card, city, state or item name and description or
     * channel; then the extra, at most 1.2 times its average plus one */
    g->buf_size = 512 + (size_t)big + (size_t)big / 5 + 8;
    pthread_once(&channels_once, channels_draw);
}

void rill__nexmark_gen_fini(rill__nexmark_gen *g)
{
    if (!g)
        return;
    memset(g, 0, sizeof *g);
}

/* The reference's GeneratorConfig.split: the first n - 1 splits get maxEvents / n events each
 * (and stop-at / n), the last the rest; ids run on from split to split. */
static int64_t split_first_id(const rill__nexmark_gen *g, int s)
{
    if (g->n_splits == 1)
        return 1;
    return 1 + (int64_t)s * (g->max_events / g->n_splits);
}

int64_t rill__nexmark_split_events(const rill__nexmark_gen *g, int s)
{
    int64_t n = g->n_splits;
    int64_t max = g->max_events, stop = g->cfg.stop_at;
    if (n > 1) {
        max = s < n - 1 ? g->max_events / n : g->max_events - (g->max_events / n) * (n - 1);
        if (stop >= 0)
            stop = s < n - 1 ? g->cfg.stop_at / n : g->cfg.stop_at - (g->cfg.stop_at / n) * (n - 1);
    }
    return stop < 0 ? max : RILL_MIN(stop, max);
}

/* ---- the events ------------------------------------------------------------------------------ */

static void person_at(const rill__nexmark_gen *g, rill__jrandom *r, char *buf,
                      rill__nexmark_event *ev, bool extra)
{
    char *at = buf;
    ev->person.id = last_base0_person_id(g, ev->event_id) + FIRST_PERSON_ID;
    const char *first = first_names[rill__jrandom_int_below(r, COUNT(first_names))];
    const char *last = last_names[rill__jrandom_int_below(r, COUNT(last_names))];
    ev->person.name.p = at;
    put(&at, first, strlen(first));
    put(&at, " ", 1);
    put(&at, last, strlen(last));
    ev->person.name.len = (uint32_t)(at - ev->person.name.p);
    ev->person.email_address.p = at;
    at += next_string(r, 7, ' ', at);
    put(&at, "@", 1);
    at += next_string(r, 5, ' ', at);
    put(&at, ".com", 4);
    ev->person.email_address.len = (uint32_t)(at - ev->person.email_address.p);
    ev->person.credit_card.p = at;
    for (int i = 0; i < 4; i++) {
        int32_t d = rill__jrandom_int_below(r, 10000);
        if (i > 0)
            *at++ = ' ';
        for (int j = 3; j >= 0; j--, d /= 10)
            at[j] = (char)('0' + d % 10);
        at += 4;
    }
    ev->person.credit_card.len = (uint32_t)(at - ev->person.credit_card.p);
    const char *city = us_cities[rill__jrandom_int_below(r, COUNT(us_cities))];
    const char *state = us_states[rill__jrandom_int_below(r, COUNT(us_states))];
    ev->person.city = (rill__nexmark_str){city, (uint32_t)strlen(city)};
    ev->person.state = (rill__nexmark_str){state, (uint32_t)strlen(state)};
    int32_t cur =
        8 + (int32_t)(ev->person.name.len + ev->person.email_address.len +
                      ev->person.credit_card.len + ev->person.city.len + ev->person.state.len);
    ev->person.extra = extra ? put_extra(r, cur, g->cfg.person_avg_size, &at)
                             : (rill__nexmark_str){at, 0};
}

static void auction_at(const rill__nexmark_gen *g, rill__jrandom *r, int64_t k, char *buf,
                       rill__nexmark_event *ev, bool extra)
{
    const rill__nexmark_cfg *c = &g->cfg;
    char *at = buf;
    int64_t id = ev->event_id;
    ev->auction.id = last_base0_auction_id(g, id) + FIRST_AUCTION_ID;
    int64_t seller;
    if (rill__jrandom_int_below(r, c->hot_sellers_ratio) > 0) /* the first of the last 100 */
        seller = (last_base0_person_id(g, id) / HOT_SELLER_RATIO) * HOT_SELLER_RATIO;
    else
        seller = next_base0_person_id(g, id, r);
    ev->auction.seller = seller + FIRST_PERSON_ID;
    ev->auction.category = FIRST_CATEGORY_ID + rill__jrandom_int_below(r, NUM_CATEGORIES);
    ev->auction.initial_bid = next_price(r);
    /* length: random, averaging the time until num_in_flight_auctions more auctions */
    int64_t now_number = adjusted_number(g, 1 + k);
    int64_t n_ahead =
        ((int64_t)c->num_in_flight_auctions * g->total_proportion) / c->auction_proportion;
    int64_t horizon = rill__nexmark_timestamp(g, now_number + n_ahead) - ev->date_time;
    int64_t length = 1 + next_long_below(r, RILL_MAX(horizon * 2, (int64_t)1));
    ev->auction.expires = ev->date_time + length;
    ev->auction.item_name.p = at;
    ev->auction.item_name.len = (uint32_t)next_string(r, 20, ' ', at);
    at += ev->auction.item_name.len;
    ev->auction.description.p = at;
    ev->auction.description.len = (uint32_t)next_string(r, 100, ' ', at);
    at += ev->auction.description.len;
    ev->auction.reserve = ev->auction.initial_bid + next_price(r);
    int32_t cur = 8 + (int32_t)(ev->auction.item_name.len + ev->auction.description.len) + 40;
    ev->auction.extra = extra ? put_extra(r, cur, c->auction_avg_size, &at)
                              : (rill__nexmark_str){at, 0};
}

static void bid_at(const rill__nexmark_gen *g, rill__jrandom *r, char *buf, rill__nexmark_event *ev,
                   bool extra)
{
    const rill__nexmark_cfg *c = &g->cfg;
    char *at = buf;
    int64_t id = ev->event_id;
    int64_t auction;
    if (rill__jrandom_int_below(r, c->hot_auction_ratio) > 0) /* the first of the last 100 */
        auction = (last_base0_auction_id(g, id) / HOT_AUCTION_RATIO) * HOT_AUCTION_RATIO;
    else
        auction = next_base0_auction_id(g, id, r);
    ev->bid.auction = auction + FIRST_AUCTION_ID;
    int64_t bidder;
    if (rill__jrandom_int_below(r, c->hot_bidders_ratio) > 0) /* the second of the last 100 */
        bidder = (last_base0_person_id(g, id) / HOT_BIDDER_RATIO) * HOT_BIDDER_RATIO + 1;
    else
        bidder = next_base0_person_id(g, id, r);
    bidder += FIRST_PERSON_ID;
    ev->bid.price = next_price(r);
    int ch;
    if (rill__jrandom_int_below(r, HOT_CHANNELS_RATIO) > 0) {
        ch = rill__jrandom_int_below(r, N_HOT);
        const char *name = hot_channels[ch];
        ev->bid.channel = (rill__nexmark_str){name, (uint32_t)strlen(name)};
    } else {
        int32_t i = rill__jrandom_int_below(r, CHANNELS), v = i;
        char digits[8];
        int nd = 0;
        do {
            digits[nd++] = (char)('0' + v % 10);
            v /= 10;
        } while (v > 0);
        ev->bid.channel.p = at;
        put(&at, "channel-", 8);
        while (nd > 0)
            *at++ = digits[--nd];
        ev->bid.channel.len = (uint32_t)(at - ev->bid.channel.p);
        ch = N_HOT + i;
    }
    ev->bid.url = (rill__nexmark_str){channels.bytes + channels.off[ch], channels.len[ch]};
    /* the reference adds the first person id twice to a bidder */
    ev->bid.bidder = bidder + FIRST_PERSON_ID;
    ev->bid.extra = extra ? put_extra(r, 8 + 8 + 8 + 8, c->bid_avg_size, &at)
                          : (rill__nexmark_str){at, 0};
}

void rill__nexmark_event_at(const rill__nexmark_gen *g, int s, int64_t k, char *buf,
                            rill__nexmark_event *ev)
{
    rill__nexmark_event_some(g, s, k, buf, ev, RILL_NEXMARK_WANT_ALL);
}

void rill__nexmark_event_some(const rill__nexmark_gen *g, int s, int64_t k, char *buf,
                              rill__nexmark_event *ev, unsigned want)
{
    /* the reference's split generator: event numbers from 1, ids from the split's first */
    int64_t number = adjusted_number(g, 1 + k);
    ev->event_id = split_first_id(g, s) + number;
    ev->date_time = rill__nexmark_timestamp(g, number);
    int64_t rem = ev->event_id % g->total_proportion;
    rill__jrandom r;
    rill__jrandom_seed(&r, ev->event_id);
    if (rem < g->cfg.person_proportion)
        ev->kind = RILL_NEXMARK_PERSON;
    else if (rem < g->cfg.person_proportion + g->cfg.auction_proportion)
        ev->kind = RILL_NEXMARK_AUCTION;
    else
        ev->kind = RILL_NEXMARK_BID;
    if (!(want & (1u << ev->kind)))
        return;
    /* the extra is the last thing drawn: a reader without it stops before (at's end) */
    bool extra = (want & (1u << (ev->kind + 4))) != 0;
    if (ev->kind == RILL_NEXMARK_PERSON)
        person_at(g, &r, buf, ev, extra);
    else if (ev->kind == RILL_NEXMARK_AUCTION)
        auction_at(g, &r, k, buf, ev, extra);
    else
        bid_at(g, &r, buf, ev, extra);
}

/* ---- columns --------------------------------------------------------------------------------- */

#define P RILL_NEXMARK_PERSON
#define A RILL_NEXMARK_AUCTION
#define B RILL_NEXMARK_BID
const rill__nexmark_column rill__nexmark_columns[] = {
    {"event_type", "INT", RILL_T_INT32, -1},
    {"person", "ROW", RILL_T_BOOL, P},
    {"person.id", "BIGINT", RILL_T_INT64, P},
    {"person.name", "VARCHAR", RILL_T_STRING, P},
    {"person.emailAddress", "VARCHAR", RILL_T_STRING, P},
    {"person.creditCard", "VARCHAR", RILL_T_STRING, P},
    {"person.city", "VARCHAR", RILL_T_STRING, P},
    {"person.state", "VARCHAR", RILL_T_STRING, P},
    {"person.dateTime", "TIMESTAMP(3)", RILL_T_TIMESTAMP, P},
    {"person.extra", "VARCHAR", RILL_T_STRING, P},
    {"auction", "ROW", RILL_T_BOOL, A},
    {"auction.id", "BIGINT", RILL_T_INT64, A},
    {"auction.itemName", "VARCHAR", RILL_T_STRING, A},
    {"auction.description", "VARCHAR", RILL_T_STRING, A},
    {"auction.initialBid", "BIGINT", RILL_T_INT64, A},
    {"auction.reserve", "BIGINT", RILL_T_INT64, A},
    {"auction.dateTime", "TIMESTAMP(3)", RILL_T_TIMESTAMP, A},
    {"auction.expires", "TIMESTAMP(3)", RILL_T_TIMESTAMP, A},
    {"auction.seller", "BIGINT", RILL_T_INT64, A},
    {"auction.category", "BIGINT", RILL_T_INT64, A},
    {"auction.extra", "VARCHAR", RILL_T_STRING, A},
    {"bid", "ROW", RILL_T_BOOL, B},
    {"bid.auction", "BIGINT", RILL_T_INT64, B},
    {"bid.bidder", "BIGINT", RILL_T_INT64, B},
    {"bid.price", "BIGINT", RILL_T_INT64, B},
    {"bid.channel", "VARCHAR", RILL_T_STRING, B},
    {"bid.url", "VARCHAR", RILL_T_STRING, B},
    {"bid.dateTime", "TIMESTAMP(3)", RILL_T_TIMESTAMP, B},
    {"bid.extra", "VARCHAR", RILL_T_STRING, B},
};
#undef P
#undef A
#undef B
const int rill__nexmark_n_columns = COUNT(rill__nexmark_columns);

rill_schema *rill__nexmark_schema(void)
{
    rill_schema *s = rill_schema_new();
    for (int i = 0; i < rill__nexmark_n_columns; i++) {
        const rill__nexmark_column *c = &rill__nexmark_columns[i];
        int rc = rill_schema_add(s, c->name, c->type, c->kind >= 0);
        RILL_ASSERT(rc == 0);
    }
    return s;
}
