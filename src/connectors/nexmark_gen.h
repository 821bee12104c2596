/*
 * nexmark_gen.h - connectors layer, internal: the Nexmark benchmark's event generator (persons,
 * auctions, bids) as the nexmark/nexmark project's Flink connector defines it, its options
 * (Flink's connector option names and defaults) and the flat column table the rill source
 * produces. Event k of split s is a pure function of (options, number of splits, base time,
 * s, k). See docs/nexmark.md for what matches the reference and how that was checked.
 */
#ifndef RILL_NEXMARK_GEN_H
#define RILL_NEXMARK_GEN_H

#include "connectors/connectors.h"

/* ---- java.util.Random: the 48-bit LCG and the draws the generator makes ------------------- */

typedef struct rill__jrandom {
    uint64_t seed; /* 48 bits */
} rill__jrandom;

void rill__jrandom_seed(rill__jrandom *r, int64_t seed);
int32_t rill__jrandom_next(rill__jrandom *r, int bits);
int32_t rill__jrandom_int(rill__jrandom *r);
/* nextInt(bound), bound > 0 (the caller checks: Java throws). */
int32_t rill__jrandom_int_below(rill__jrandom *r, int32_t bound);
int64_t rill__jrandom_long(rill__jrandom *r);
double rill__jrandom_double(rill__jrandom *r);

/* Java's Math.round(double) and (long) cast of a double: saturating, NaN to 0. */
int64_t rill__java_round(double x);
int64_t rill__java_d2l(double x);

/* ---- options --------------------------------------------------------------------------------- */

typedef struct rill__nexmark_cfg {
    /* the connector's options (Flink's names, the reference's defaults) */
    int32_t first_event_rate; /* first-event.rate: events/s over all splits; sets timestamps */
    int32_t next_event_rate;  /* next-event.rate: accepted, unused (as in the reference) */
    int rate_shape;           /* rate.shape: 0 SQUARE, 1 SINE; accepted, unused */
    int64_t rate_period_s;    /* rate.period; accepted, unused */
    bool rate_limited;        /* rate.limited; accepted, unused */
    int32_t person_avg_size, auction_avg_size, bid_avg_size; /* *.avg-size, bytes */
    int32_t person_proportion, auction_proportion, bid_proportion;
    int32_t hot_auction_ratio; /* bid.hot-ratio.auctions */
    int32_t hot_bidders_ratio; /* bid.hot-ratio.bidders */
    int32_t hot_sellers_ratio; /* auction.hot-ratio.sellers */
    int64_t events_num;        /* events.num: 0 unbounded (a huge bound, as the reference) */
    bool keep_alive;           /* keep-alive: idle instead of ending after the last event */
    int64_t stop_at;           /* stop-at: < 0 none */
    bool max_emit_speed;       /* max-emit-speed: false paces emission by the timestamps */
    /* rill's: events.base-time (ms since the epoch) of event 0; unset: the wall clock when
     * the source's options were parsed (the reference takes it when the table is planned) */
    int64_t base_time;
    bool base_time_set;
    /* the reference's configuration without a connector option: fixed at its defaults */
    int32_t num_in_flight_auctions, num_active_people;
    int64_t out_of_order_group_size;
} rill__nexmark_cfg;

/* The reference's defaults. */
void rill__nexmark_cfg_default(rill__nexmark_cfg *c);
/* Sets one option from text. 0, or RILL_ECONFIG naming the key (unknown or bad value). */
int rill__nexmark_cfg_set(rill__nexmark_cfg *c, const char *key, const char *value, rill__err *err);
/* Defaults, then the NULL-terminated key, value pairs ("connector" is ignored), then checks
 * the whole (rill__nexmark_cfg_check). 0 or RILL_ECONFIG. */
int rill__nexmark_cfg_parse(rill__nexmark_cfg *c, const char *const *options, rill__err *err);
/* Checks values together (proportions, sizes). 0 or RILL_ECONFIG. */
int rill__nexmark_cfg_check(const rill__nexmark_cfg *c, rill__err *err);
/* A hash of the options that decide the event stream (not keep-alive, max-emit-speed). */
uint64_t rill__nexmark_cfg_fingerprint(const rill__nexmark_cfg *c);

/* ---- the generator --------------------------------------------------------------------------- */

enum { RILL_NEXMARK_PERSON = 0, RILL_NEXMARK_AUCTION = 1, RILL_NEXMARK_BID = 2 };

typedef struct rill__nexmark_str {
    const char *p; /* into the caller's buffer or static tables; not NUL-terminated */
    uint32_t len;
} rill__nexmark_str;

typedef struct rill__nexmark_event {
    int kind;          /* RILL_NEXMARK_* (the DDL's event_type) */
    int64_t event_id;  /* the reference's event id: the seed of the event's random draws */
    int64_t date_time; /* ms since the epoch: the dateTime of the event's row */
    struct {
        int64_t id;
        rill__nexmark_str name, email_address, credit_card, city, state, extra;
    } person;
    struct {
        int64_t id, initial_bid, reserve, expires, seller, category;
        rill__nexmark_str item_name, description, extra;
    } auction;
    struct {
        int64_t auction, bidder, price;
        rill__nexmark_str channel, url, extra;
    } bid;
} rill__nexmark_event;

typedef struct rill__nexmark_gen {
    rill__nexmark_cfg cfg;
    int n_splits;      /* the reference's numEventGenerators: the parallelism at the start */
    int64_t base_time; /* ms */
    int32_t total_proportion;
    double delay_us;    /* between two events of one split */
    int64_t max_events; /* over all splits */
    size_t buf_size;    /* what rill__nexmark_event_at needs */
} rill__nexmark_gen;

/* A generator for n_splits splits from base_time (cfg is copied; it must have passed
 * rill__nexmark_cfg_check). */
void rill__nexmark_gen_init(rill__nexmark_gen *g, const rill__nexmark_cfg *cfg, int n_splits,
                            int64_t base_time);
void rill__nexmark_gen_fini(rill__nexmark_gen *g);
/* How many events split s generates (INT64 bounded; events.num 0 gives the reference's huge
 * bound), and its first event id. */
int64_t rill__nexmark_split_events(const rill__nexmark_gen *g, int s);
/* Event k (from 0) of split s into *ev; its strings are written into buf (g->buf_size bytes)
 * or point into static tables; valid while buf lives. Thread-safe for distinct bufs. */
void rill__nexmark_event_at(const rill__nexmark_gen *g, int s, int64_t k, char *buf,
                            rill__nexmark_event *ev);
/* The same for a reader of some columns only (a SQL scan with a projection): want has bit
 * 1 << kind when a field of that kind other than its dateTime is read, and 1 << (kind + 4)
 * when its extra is. The kind and date_time are always set; the fields of a kind not wanted
 * are not (and its strings not written); an unwanted extra, drawn last, is left empty. Every
 * field that is set equals rill__nexmark_event_at's: each event's random numbers are its own
 * (seeded by its id), so the others' stay the same too. */
#define RILL_NEXMARK_WANT_ALL 0x77u
void rill__nexmark_event_some(const rill__nexmark_gen *g, int s, int64_t k, char *buf,
                              rill__nexmark_event *ev, unsigned want);
/* The timestamp of event number n (1-based, the reference's numbering) of any split. */
int64_t rill__nexmark_timestamp(const rill__nexmark_gen *g, int64_t n);

/* ---- the flat columns of the source ---------------------------------------------------------
 * The DDL's columns with each nested ROW flattened into its leaves ("person.id"), in the DDL's
 * order, and before each row's leaves one BOOL column named after the row ("person"): NULL when
 * the event is not of that kind, else TRUE. One table: the type of every column lives here. */

typedef struct rill__nexmark_column {
    const char *name;
    const char *sql_type; /* the DDL's type */
    rill_type type;       /* what the source produces today */
    int kind;             /* the event kind whose row holds it; -1 for event_type */
} rill__nexmark_column;

extern const rill__nexmark_column rill__nexmark_columns[];
extern const int rill__nexmark_n_columns;
/* The schema of every column (all nullable but event_type). */
rill_schema *rill__nexmark_schema(void);

/* The source: ops and config. The config holds the parsed options; NULL with RILL_ECONFIG in
 * err for a bad option. */
extern const rill__source_ops rill__nexmark_source_ops;
void *rill__nexmark_source_cfg(const char *const *options, rill__err *err);

#endif /* RILL_NEXMARK_GEN_H */
