/*
 * kafka_int.h - connectors layer, private: the Kafka connectors' configuration (options with
 * Flink's names, parsed and checked once when the graph is built), the partition assignment
 * every reader computes alike, and the metadata columns a source can fill.
 */
#ifndef RILL_KAFKA_INT_H
#define RILL_KAFKA_INT_H

#include <regex.h>

#include "conn_int.h"

typedef enum kafka_start {
    KSTART_GROUP = 0, /* the group's committed offsets (Flink's default); else auto.offset.reset */
    KSTART_EARLIEST,
    KSTART_LATEST,
    KSTART_TIMESTAMP,
    KSTART_SPECIFIC,
} kafka_start;

typedef enum kafka_bound {
    KBOUND_NONE = 0, /* unbounded */
    KBOUND_LATEST,   /* the offsets latest when the partition was first seen */
    KBOUND_TIMESTAMP,
    KBOUND_GROUP,
    KBOUND_SPECIFIC,
} kafka_bound;

typedef enum kafka_format {
    KFMT_CSV = 0, /* one CSV line per message value, no header, the value columns in order */
    KFMT_JSON,    /* one JSON object per message value, fields by name */
    KFMT_RAW,     /* the value's bytes as the one physical STRING column */
} kafka_format;

typedef enum kafka_guarantee {
    KSINK_AT_LEAST_ONCE = 0, /* flushed at every checkpoint before it is acknowledged */
    KSINK_NONE,              /* nothing waited for */
    KSINK_EXACTLY_ONCE,      /* Kafka transactions, committed when the checkpoint completes */
} kafka_guarantee;

typedef enum kafka_partitioner {
    KPART_DEFAULT = 0, /* librdkafka's: by key hash when there is a key, else sticky */
    KPART_FIXED,       /* subtask i writes partition i mod partitions */
    KPART_ROUND_ROBIN,
} kafka_partitioner;

/* What a metadata column holds. */
typedef enum kafka_meta {
    KMETA_TOPIC = 0,
    KMETA_PARTITION,
    KMETA_OFFSET,
    KMETA_TIMESTAMP,
    KMETA_TIMESTAMP_TYPE,
    KMETA_KEY,
    KMETA_HEADERS,    /* every header, as a JSON object of strings (a name twice: its last) */
    KMETA_HEADER,     /* one header's value, by name */
    KMETA_LEADER_EPOCH, /* NULL: this librdkafka does not report a message's leader epoch */
} kafka_meta;

typedef struct kafka_meta_col {
    char *column; /* the schema field it fills */
    int field;    /* its index, once bound */
    kafka_meta what;
    char *header; /* KMETA_HEADER: the header's name */
} kafka_meta_col;

/* An explicit offset of a partition (scan.startup.specific-offsets and the bounded kind). */
typedef struct kafka_part_offset {
    char *topic; /* NULL: the one topic of the source */
    int32_t partition;
    int64_t offset;
} kafka_part_offset;

typedef struct rill__kafka_cfg {
    char **topics;
    int n_topics;
    char *pattern; /* topic-pattern, a POSIX extended regex matching whole topic names */
    regex_t re;
    bool has_re;
    char *bootstrap, *group;
    char **props; /* librdkafka properties (properties.* without the prefix): key, value, ... */
    int n_props;
    kafka_start start;
    int64_t start_ts;
    kafka_part_offset *start_offsets;
    int n_start_offsets;
    kafka_bound bound;
    int64_t bound_ts;
    kafka_part_offset *bound_offsets;
    int n_bound_offsets;
    int64_t discovery_ms; /* new partitions and topics looked for this often; 0: never */
    kafka_format format;
    char delim;
    /* key.fields: the fields the message key holds (sink: made from; source: read from, when
     * value.fields-include is EXCEPT_KEY: with ALL the value has them, and wins, as in Flink) */
    char **key_names;
    int n_key;
    int *key_idx;           /* bound: their schema indexes */
    kafka_format key_format; /* raw (one field: its text) by default for one field, else csv */
    bool key_format_set;
    bool except_key;        /* value.fields-include = EXCEPT_KEY: the value lacks the key fields */
    int *value_idx;         /* bound: the fields the value holds, in order (CSV) */
    int n_value;
    kafka_meta_col *meta;
    int n_meta;
    /* sink */
    kafka_guarantee guarantee;
    char *txn_prefix;
    kafka_partitioner partitioner;
    bool ts_from_event_time; /* sink: the message timestamp is the row's event time */
    bool upsert; /* sink.changelog-mode = upsert: rows by key: +I/+U the row, -D a tombstone
                  * (a NULL value), -U nothing (Flink's upsert-kafka); source
                  * (scan.changelog-mode = upsert): a value is an upsert of its key's row
                  * (+I), a tombstone a -D of a row holding only the key's fields */
    int64_t timeout_ms;      /* metadata, offset lookups, flushes: how long before an error */
} rill__kafka_cfg;

/* Parses options (NULL-terminated key, value pairs) for a source (sink false) or a sink into a
 * new config. RILL_ECONFIG with a message naming the option, in err. */
int rill__kafka_cfg_parse(const char *const *options, bool sink, rill__kafka_cfg **out,
                          rill__err *err);
/* Checks the config against the stream's schema (metadata columns, raw format, key field) and
 * resolves field indexes. */
int rill__kafka_cfg_bind(rill__kafka_cfg *c, const rill_schema *schema, bool sink,
                         rill__err *err);
void rill__kafka_cfg_free(void *cfg);

/* Fills row dst (of a schema of n fields) with fields idx[0..n) of row src (of schema
 * src_schema): what the key or the value of a message holds. */
int rill__kafka_project(rill_row *dst, const rill_row *src, const rill_schema *src_schema,
                        const int *idx, int n);
/* A schema of fields idx[0..n) of s (a new reference). */
rill_schema *rill__kafka_sub_schema(const rill_schema *s, const int *idx, int n);

/* Whether the source reads topic (listed, or matching the pattern). */
bool rill__kafka_wants_topic(const rill__kafka_cfg *c, const char *topic);
/* The subtask of parallelism par that reads (topic, partition): the same on every reader, at
 * every restore (as Flink's KafkaSource: topics start at a place of their own, partitions
 * follow round robin). */
int rill__kafka_owner(const char *topic, int32_t partition, int par);

/* A librdkafka configuration with the config's properties (bootstrap, group, properties.*)
 * and the ones given, its log going to rill's; NULL with err set when librdkafka refuses one
 * (the key named). */
struct rd_kafka_conf_s *rill__kafka_conf(const rill__kafka_cfg *c, const char *const *extra,
                                         const char *who, rill__err *err);

/* Whether bytes are a whole exactly-once Kafka sink state, every epoch's messages decoding (what
 * a restore checks first): 0, or RILL_ECORRUPT with err. For the fuzz target. */
int rill__kafka_txn_state_check(const void *state, size_t len, rill__err *err);

#endif /* RILL_KAFKA_INT_H */
