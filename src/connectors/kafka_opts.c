/*
 * kafka_opts.c - connectors layer: the Kafka connectors' options, by Flink's names (`topic`,
 * `properties.bootstrap.servers`, `scan.startup.mode`, `sink.delivery-guarantee`, ...), parsed
 * and checked when the graph is built, so that a bad one fails there with its name; and the
 * partition assignment every reader computes alike.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "kafka_int.h"

#define DEFAULT_DISCOVERY_MS (5 * 60 * 1000) /* Flink's KafkaSource, unbounded */
#define DEFAULT_TIMEOUT_MS 30000

RILL_PRINTF(4, 5)
static int bad(rill__err *err, const char *who, const char *key, const char *fmt, ...)
{
    char what[RILL_ERRMSG_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return rill__err_set(err, RILL_ECONFIG, "%s: option '%s': %s", who, key, what);
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno)
        return -1;
    *out = v;
    return 0;
}

static int parse_duration(const char *s, int64_t *ms)
{
    return rill__parse_duration(s, ms);
}

/* Splits s at sep into new strings (empty pieces dropped). */
static char **split(const char *s, char sep, int *n_out)
{
    char **v = NULL;
    size_t cap = 0;
    int n = 0;
    while (*s) {
        const char *e = strchr(s, sep);
        size_t len = e ? (size_t)(e - s) : strlen(s);
        while (len && s[0] == ' ')
            s++, len--;
        while (len && s[len - 1] == ' ')
            len--;
        if (len) {
            rill__grow((void **)&v, &cap, (size_t)n + 1, sizeof *v);
            v[n++] = rill__xstrndup(s, len);
        }
        if (!e)
            break;
        s = e + 1;
    }
    *n_out = n;
    return v;
}

static void free_strs(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void free_offsets(kafka_part_offset *o, int n)
{
    for (int i = 0; i < n; i++)
        free(o[i].topic);
    free(o);
}

/* Flink's form: "partition:0,offset:42;partition:1,offset:300", for the source's one topic;
 * rill also takes "topic:t,partition:0,offset:42" pieces, for several. */
static int parse_offsets(const char *who, const char *key, const char *v, kafka_part_offset **out,
                         int *n_out, rill__err *err)
{
    int n = 0;
    char **parts = split(v, ';', &n);
    kafka_part_offset *o = rill__xcalloc((size_t)(n ? n : 1), sizeof *o);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        int nf = 0;
        char **f = split(parts[i], ',', &nf);
        bool has_p = false, has_o = false;
        for (int k = 0; k < nf && rc == 0; k++) {
            char *colon = strchr(f[k], ':');
            int64_t x;
            if (!colon) {
                rc = bad(err, who, key, "expected partition:N,offset:N pieces separated by ';', "
                         "got '%s'", parts[i]);
            } else if (!strncmp(f[k], "topic:", 6)) {
                free(o[i].topic);
                o[i].topic = rill__xstrdup(colon + 1);
            } else if (!strncmp(f[k], "partition:", 10) && parse_i64(colon + 1, &x) == 0 &&
                       x >= 0 && x <= INT32_MAX) {
                o[i].partition = (int32_t)x;
                has_p = true;
            } else if (!strncmp(f[k], "offset:", 7) && parse_i64(colon + 1, &x) == 0 && x >= 0) {
                o[i].offset = x;
                has_o = true;
            } else {
                rc = bad(err, who, key, "bad piece '%s' (partition:N,offset:N)", f[k]);
            }
        }
        if (rc == 0 && (!has_p || !has_o))
            rc = bad(err, who, key, "'%s' needs both partition:N and offset:N", parts[i]);
        free_strs(f, nf);
    }
    if (rc == 0 && n == 0)
        rc = bad(err, who, key, "no offsets given%s", "");
    free_strs(parts, n);
    if (rc) {
        free_offsets(o, n);
        return rc;
    }
    free_offsets(*out, *n_out); /* the option given again: the last one counts */
    *out = o;
    *n_out = n;
    return 0;
}

static void add_prop(rill__kafka_cfg *c, const char *k, const char *v)
{
    for (int i = 0; i < c->n_props; i++) {
        if (!strcmp(c->props[2 * i], k)) {
            free(c->props[2 * i + 1]);
            c->props[2 * i + 1] = rill__xstrdup(v);
            return;
        }
    }
    c->props = rill__xrealloc(c->props, (size_t)(c->n_props + 1) * 2 * sizeof *c->props);
    c->props[2 * c->n_props] = rill__xstrdup(k);
    c->props[2 * c->n_props + 1] = rill__xstrdup(v);
    c->n_props++;
}

/* kafka://host:port[,host:port...]/topic */
static int parse_url(rill__kafka_cfg *c, const char *who, const char *v, rill__err *err)
{
    if (strncmp(v, "kafka://", 8) != 0)
        return bad(err, who, "url", "expected kafka://HOST:PORT[,HOST:PORT...]/TOPIC, got '%s'",
                   v);
    const char *hosts = v + 8, *slash = strchr(hosts, '/');
    if (!slash || slash == hosts || !slash[1] || strchr(slash + 1, '/'))
        return bad(err, who, "url", "expected kafka://HOST:PORT[,HOST:PORT...]/TOPIC, got '%s'",
                   v);
    free(c->bootstrap);
    c->bootstrap = rill__xstrndup(hosts, (size_t)(slash - hosts));
    free_strs(c->topics, c->n_topics);
    c->topics = rill__xcalloc(1, sizeof *c->topics);
    c->topics[0] = rill__xstrdup(slash + 1);
    c->n_topics = 1;
    return 0;
}

static int parse_meta(rill__kafka_cfg *c, const char *who, const char *key, const char *v,
                      rill__err *err)
{
    static const char *const names[] = {"topic", "partition", "offset", "timestamp",
                                        "timestamp-type", "key", "headers"};
    kafka_meta_col m = {.column = rill__xstrdup(key + 9), .field = -1, .what = KMETA_HEADER};
    if (!strncmp(v, "header.", 7) && v[7]) {
        m.header = rill__xstrdup(v + 7);
    } else if (!strcmp(v, "leader-epoch")) {
        m.what = KMETA_LEADER_EPOCH;
    } else {
        int i = 0;
        while (i < (int)(sizeof names / sizeof *names) && strcmp(names[i], v))
            i++;
        if (i == (int)(sizeof names / sizeof *names)) {
            free(m.column);
            return bad(err, who, key, "unknown metadata '%s' (topic, partition, offset, "
                       "timestamp, timestamp-type, leader-epoch, key, headers, header.NAME)", v);
        }
        m.what = (kafka_meta)i;
    }
    c->meta = rill__xrealloc(c->meta, (size_t)(c->n_meta + 1) * sizeof *c->meta);
    c->meta[c->n_meta++] = m;
    return 0;
}

/* Whether k is one of the values in the NULL-terminated list; its index in *i. */
static bool pick(const char *v, const char *const *list, int *i)
{
    for (int k = 0; list[k]; k++)
        if (!strcmp(v, list[k])) {
            *i = k;
            return true;
        }
    return false;
}

static int parse_one(rill__kafka_cfg *c, const char *who, bool sink, const char *k,
                     const char *v, rill__err *err)
{
    static const char *const starts[] = {"group-offsets", "earliest-offset", "latest-offset",
                                         "timestamp", "specific-offsets", NULL};
    static const char *const bounds[] = {"unbounded", "latest-offset", "timestamp",
                                         "group-offsets", "specific-offsets", NULL};
    static const char *const formats[] = {"csv", "json", "raw", NULL};
    static const char *const guarantees[] = {"at-least-once", "none", "exactly-once", NULL};
    static const char *const partitioners[] = {"default", "fixed", "round-robin", NULL};
    int i;
    if (!strcmp(k, "url"))
        return parse_url(c, who, v, err);
    if (!strcmp(k, "topic")) {
        free_strs(c->topics, c->n_topics);
        c->topics = split(v, ';', &c->n_topics);
        if (c->n_topics == 0)
            return bad(err, who, k, "no topic named%s", "");
        return 0;
    }
    if (!strcmp(k, "properties.bootstrap.servers")) {
        free(c->bootstrap);
        c->bootstrap = rill__xstrdup(v);
        return 0;
    }
    if (!strcmp(k, "properties.group.id")) {
        free(c->group);
        c->group = rill__xstrdup(v);
        return 0;
    }
    if (!strncmp(k, "properties.", 11) && k[11]) {
        add_prop(c, k + 11, v);
        return 0;
    }
    if (!strcmp(k, "format") || !strcmp(k, "value.format")) {
        if (!pick(v, formats, &i))
            return bad(err, who, k, "'%s' is not a format (csv, json, raw)", v);
        c->format = (kafka_format)i;
        return 0;
    }
    if (!strcmp(k, "csv.field-delimiter") || !strcmp(k, "value.csv.field-delimiter")) {
        if (strlen(v) != 1 || v[0] == '"' || v[0] == '\n' || v[0] == '\r')
            return bad(err, who, k, "'%s' is not one character other than a quote or a line "
                       "break", v);
        c->delim = v[0];
        return 0;
    }
    if (!strcmp(k, "key.fields")) {
        free_strs(c->key_names, c->n_key);
        c->key_names = split(v, ';', &c->n_key);
        if (c->n_key == 0)
            return bad(err, who, k, "no field named%s", "");
        return 0;
    }
    if (!strcmp(k, "key.format")) {
        if (!pick(v, formats, &i))
            return bad(err, who, k, "'%s' is not a format (csv, json, raw)", v);
        c->key_format = (kafka_format)i;
        c->key_format_set = true;
        return 0;
    }
    if (!strcmp(k, "value.fields-include")) {
        if (strcmp(v, "ALL") && strcmp(v, "EXCEPT_KEY"))
            return bad(err, who, k, "'%s' is not ALL or EXCEPT_KEY", v);
        c->except_key = v[0] == 'E';
        return 0;
    }
    if (!strcmp(k, "client.timeout")) {
        if (parse_duration(v, &c->timeout_ms) != 0 || c->timeout_ms <= 0)
            return bad(err, who, k, "'%s' is not a duration above 0 (1000, 10 s, 1 min)", v);
        return 0;
    }
    if (!sink) {
        if (!strcmp(k, "topic-pattern")) {
            free(c->pattern);
            c->pattern = rill__xstrdup(v);
            return 0;
        }
        if (!strcmp(k, "scan.startup.mode")) {
            if (!pick(v, starts, &i))
                return bad(err, who, k, "'%s' is not a startup mode (earliest-offset, "
                           "latest-offset, group-offsets, timestamp, specific-offsets)", v);
            c->start = (kafka_start)i;
            return 0;
        }
        if (!strcmp(k, "scan.bounded.mode")) {
            if (!pick(v, bounds, &i))
                return bad(err, who, k, "'%s' is not a bounded mode (unbounded, latest-offset, "
                           "timestamp, group-offsets, specific-offsets)", v);
            c->bound = (kafka_bound)i;
            return 0;
        }
        if (!strcmp(k, "scan.startup.timestamp-millis") ||
            !strcmp(k, "scan.bounded.timestamp-millis")) {
            int64_t *t = k[5] == 's' ? &c->start_ts : &c->bound_ts;
            if (parse_i64(v, t) != 0 || *t < 0)
                return bad(err, who, k, "'%s' is not epoch milliseconds", v);
            return 0;
        }
        if (!strcmp(k, "scan.startup.specific-offsets"))
            return parse_offsets(who, k, v, &c->start_offsets, &c->n_start_offsets, err);
        if (!strcmp(k, "scan.bounded.specific-offsets"))
            return parse_offsets(who, k, v, &c->bound_offsets, &c->n_bound_offsets, err);
        if (!strcmp(k, "scan.topic-partition-discovery.interval")) {
            if (parse_duration(v, &c->discovery_ms) != 0)
                return bad(err, who, k, "'%s' is not a duration (0 turns discovery off)", v);
            return 0;
        }
        if (!strncmp(k, "metadata.", 9) && k[9])
            return parse_meta(c, who, k, v, err);
        if (!strcmp(k, "scan.changelog-mode")) {
            if (strcmp(v, "insert-only") && strcmp(v, "upsert"))
                return bad(err, who, k, "'%s' is not insert-only or upsert", v);
            c->upsert = v[0] == 'u';
            return 0;
        }
    } else {
        if (!strcmp(k, "sink.delivery-guarantee")) {
            if (!pick(v, guarantees, &i))
                return bad(err, who, k, "'%s' is not a delivery guarantee (at-least-once, "
                           "exactly-once, none)", v);
            c->guarantee = (kafka_guarantee)i;
            return 0;
        }
        if (!strcmp(k, "sink.transactional-id-prefix")) {
            free(c->txn_prefix);
            c->txn_prefix = rill__xstrdup(v);
            return 0;
        }
        if (!strcmp(k, "sink.partitioner")) {
            if (!pick(v, partitioners, &i))
                return bad(err, who, k, "'%s' is not a partitioner (default, fixed, "
                           "round-robin)", v);
            c->partitioner = (kafka_partitioner)i;
            return 0;
        }

        if (!strcmp(k, "sink.changelog-mode")) {
            if (strcmp(v, "insert-only") && strcmp(v, "upsert"))
                return bad(err, who, k, "'%s' is not insert-only or upsert", v);
            c->upsert = v[0] == 'u';
            return 0;
        }
        if (!strcmp(k, "sink.timestamp")) {
            if (strcmp(v, "event-time") && strcmp(v, "now"))
                return bad(err, who, k, "'%s' is not event-time or now", v);
            c->ts_from_event_time = v[0] == 'e';
            return 0;
        }
    }
    bool source_only = !strncmp(k, "scan.", 5) || !strncmp(k, "metadata.", 9) ||
                       !strcmp(k, "topic-pattern");
    if (sink && source_only)
        return bad(err, who, k, "a source option, not one of a sink%s", "");
    if (!sink && !strncmp(k, "sink.", 5))
        return bad(err, who, k, "a sink option, not one of a source%s", "");
    return bad(err, who, k, "unknown option%s", "");
}

int rill__kafka_cfg_parse(const char *const *options, bool sink, rill__kafka_cfg **out,
                          rill__err *err)
{
    const char *who = sink ? "kafka sink" : "kafka source";
    *out = NULL;
    rill__kafka_cfg *c = rill__xcalloc(1, sizeof *c);
    c->discovery_ms = -1;
    c->start_ts = c->bound_ts = -1;
    c->delim = ',';
    c->timeout_ms = DEFAULT_TIMEOUT_MS;
    c->ts_from_event_time = true;
    int rc = 0;
    if (!options)
        rc = rill__err_set(err, RILL_ECONFIG, "%s: no options given", who);
    for (int i = 0; rc == 0 && options[i]; i += 2) {
        if (!options[i + 1])
            rc = rill__err_set(err, RILL_ECONFIG, "%s: option '%s' has no value", who,
                               options[i]);
        else
            rc = parse_one(c, who, sink, options[i], options[i + 1], err);
    }
    if (rc == 0 && !c->bootstrap)
        rc = rill__err_set(err, RILL_ECONFIG, "%s: no 'properties.bootstrap.servers' (or "
                           "'url' kafka://HOST:PORT/TOPIC) given", who);
    if (rc == 0 && !sink && !c->n_topics == !c->pattern)
        rc = rill__err_set(err, RILL_ECONFIG, "%s: give either 'topic' or 'topic-pattern'",
                           who);
    if (rc == 0 && sink && c->n_topics != 1)
        rc = rill__err_set(err, RILL_ECONFIG, "%s: give one 'topic' to write to", who);
    if (rc == 0 && c->pattern) {
        char *anchored = rill__xasprintf("^(%s)$", c->pattern);
        int r = regcomp(&c->re, anchored, REG_EXTENDED | REG_NOSUB);
        free(anchored);
        if (r != 0) {
            char msg[256];
            regerror(r, &c->re, msg, sizeof msg);
            rc = bad(err, who, "topic-pattern", "not a regular expression: %s", msg);
        } else {
            c->has_re = true;
        }
    }
    if (rc == 0 && !sink) {
        if (c->start == KSTART_TIMESTAMP && c->start_ts < 0)
            rc = rill__err_set(err, RILL_ECONFIG, "%s: scan.startup.mode 'timestamp' needs "
                               "'scan.startup.timestamp-millis'", who);
        else if (c->start == KSTART_SPECIFIC && !c->n_start_offsets)
            rc = rill__err_set(err, RILL_ECONFIG, "%s: scan.startup.mode 'specific-offsets' "
                               "needs 'scan.startup.specific-offsets'", who);
        else if (c->bound == KBOUND_TIMESTAMP && c->bound_ts < 0)
            rc = rill__err_set(err, RILL_ECONFIG, "%s: scan.bounded.mode 'timestamp' needs "
                               "'scan.bounded.timestamp-millis'", who);
        else if (c->bound == KBOUND_SPECIFIC && !c->n_bound_offsets)
            rc = rill__err_set(err, RILL_ECONFIG, "%s: scan.bounded.mode 'specific-offsets' "
                               "needs 'scan.bounded.specific-offsets'", who);
        if (c->discovery_ms < 0) /* Flink: on for unbounded sources, off for bounded ones */
            c->discovery_ms = c->bound == KBOUND_NONE ? DEFAULT_DISCOVERY_MS : 0;
        if (rc == 0 && c->bound != KBOUND_NONE && c->discovery_ms > 0)
            rc = rill__err_set(err, RILL_ECONFIG, "%s: a bounded source reads the partitions "
                               "there are when it starts: partition discovery is off for it",
                               who);
        for (int i = 0; rc == 0 && i < 2; i++) {
            kafka_part_offset *o = i ? c->bound_offsets : c->start_offsets;
            int n = i ? c->n_bound_offsets : c->n_start_offsets;
            for (int k = 0; rc == 0 && k < n; k++)
                if (!o[k].topic && c->n_topics != 1)
                    rc = rill__err_set(err, RILL_ECONFIG, "%s: specific offsets without "
                                       "topic:NAME need a source of exactly one topic", who);
        }
    }
    if (rc == 0 && sink && c->guarantee == KSINK_EXACTLY_ONCE && !c->txn_prefix)
        rc = rill__err_set(err, RILL_ECONFIG, "%s: sink.delivery-guarantee 'exactly-once' needs "
                           "'sink.transactional-id-prefix'", who);
    if (rc == 0) { /* librdkafka must take every property as it is */
        rd_kafka_conf_t *conf = rill__kafka_conf(c, NULL, who, err);
        if (!conf)
            rc = RILL_ECONFIG;
        else
            rd_kafka_conf_destroy(conf);
    }
    if (rc) {
        rill__kafka_cfg_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

int rill__kafka_cfg_bind(rill__kafka_cfg *c, const rill_schema *schema, bool sink,
                         rill__err *err)
{
    const char *who = sink ? "kafka sink" : "kafka source";
    int n = rill_schema_n_fields(schema), physical = n;
    for (int i = 0; i < c->n_meta; i++) {
        const char *name = c->meta[i].column;
        int f = rill_schema_index(schema, name);
        if (f < 0)
            return rill__err_set(err, RILL_ECONFIG, "%s: metadata column '%s' is not a field of "
                                 "the schema", who, name);
        for (int k = 0; k < i; k++)
            if (c->meta[k].field == f)
                return rill__err_set(err, RILL_ECONFIG, "%s: field '%s' is given two metadata",
                                     who, name);
        rill_type t = rill_schema_field_type(schema, f), want;
        switch (c->meta[i].what) {
        case KMETA_PARTITION:
        case KMETA_LEADER_EPOCH: /* Flink's INT, or BIGINT */
            want = t == RILL_T_INT32 ? RILL_T_INT32 : RILL_T_INT64;
            break;
        case KMETA_OFFSET: want = RILL_T_INT64; break;
        case KMETA_TIMESTAMP: want = t == RILL_T_INT64 ? RILL_T_INT64 : RILL_T_TIMESTAMP; break;
        default: want = RILL_T_STRING; break;
        }
        /* the record timestamp is epoch milliseconds: TIMESTAMP(3) or, as Flink declares it,
         * TIMESTAMP_LTZ(3) */
        int prec = rill_schema_field_info(schema, f).precision;
        if (c->meta[i].what == KMETA_TIMESTAMP && t == RILL_T_TIMESTAMP_LTZ && prec == 3)
            t = RILL_T_TIMESTAMP;
        else if (t == RILL_T_TIMESTAMP && prec != 3)
            t = 0; /* named below by its full type */
        if (t != want) {
            char tn[64];
            rill_type_format(rill_schema_field_info(schema, f), tn, sizeof tn);
            return rill__err_set(err, RILL_ECONFIG, "%s: metadata column '%s' must be %s, not %s",
                                 who, name,
                                 want == RILL_T_TIMESTAMP ? "TIMESTAMP(3) or TIMESTAMP_LTZ(3)"
                                 : c->meta[i].what == KMETA_PARTITION ||
                                         c->meta[i].what == KMETA_LEADER_EPOCH
                                     ? "INT32 or INT64"
                                     : rill_type_name(want),
                                 tn);
        }
        c->meta[i].field = f;
        physical--;
    }
    free(c->key_idx);
    c->key_idx = rill__xcalloc((size_t)(c->n_key ? c->n_key : 1), sizeof *c->key_idx);
    for (int k = 0; k < c->n_key; k++) {
        int f = rill_schema_index(schema, c->key_names[k]);
        bool meta = false;
        for (int i = 0; i < c->n_meta; i++)
            meta |= c->meta[i].field == f;
        if (f < 0 || meta)
            return rill__err_set(err, RILL_ECONFIG, "%s: key.fields: '%s' is not a %sfield of "
                                 "the schema", who, c->key_names[k], meta ? "physical " : "");
        c->key_idx[k] = f;
    }
    if (!c->key_format_set)
        c->key_format = c->n_key == 1 ? KFMT_RAW : KFMT_CSV;
    if (c->n_key > 0 && c->key_format == KFMT_RAW && c->n_key != 1)
        return rill__err_set(err, RILL_ECONFIG, "%s: key.format 'raw' takes one key field, not "
                             "%d", who, c->n_key);
    if (!sink && c->n_key > 0 && c->key_format == KFMT_RAW &&
        rill_schema_field_type(schema, c->key_idx[0]) != RILL_T_STRING)
        return rill__err_set(err, RILL_ECONFIG, "%s: key.format 'raw' reads the key into a "
                             "STRING field; '%s' is %s", who, c->key_names[0],
                             rill_type_name(rill_schema_field_type(schema, c->key_idx[0])));
    if (c->except_key && c->n_key == 0)
        return rill__err_set(err, RILL_ECONFIG, "%s: value.fields-include 'EXCEPT_KEY' needs "
                             "key.fields", who);
    if (c->upsert && c->n_key == 0)
        return rill__err_set(err, RILL_ECONFIG, "%s: %s.changelog-mode 'upsert' needs "
                             "key.fields (the primary key)", who, sink ? "sink" : "scan");
    if (c->upsert && c->partitioner != KPART_DEFAULT)
        return rill__err_set(err, RILL_ECONFIG, "%s: sink.changelog-mode 'upsert' partitions by "
                             "the key; sink.partitioner must be 'default'", who);
    /* the value's fields: the physical ones, less the key's with EXCEPT_KEY */
    free(c->value_idx);
    c->value_idx = rill__xcalloc((size_t)(n ? n : 1), sizeof *c->value_idx);
    c->n_value = 0;
    for (int f = 0; f < n; f++) {
        bool skip = false;
        for (int i = 0; i < c->n_meta; i++)
            skip |= c->meta[i].field == f;
        for (int k = 0; c->except_key && k < c->n_key; k++)
            skip |= c->key_idx[k] == f;
        if (!skip)
            c->value_idx[c->n_value++] = f;
    }
    if (c->n_value == 0)
        return rill__err_set(err, RILL_ECONFIG, "%s: the message value would hold no field",
                             who);
    if (c->format == KFMT_RAW &&
        (c->n_value != 1 || rill_schema_field_type(schema, c->value_idx[0]) != RILL_T_STRING))
        return rill__err_set(err, RILL_ECONFIG, "%s: format 'raw' needs exactly one STRING field "
                             "in the value (besides the metadata and key columns; it has %d)",
                             who, c->n_value);
    return 0;
}

rill_schema *rill__kafka_sub_schema(const rill_schema *s, const int *idx, int n)
{
    rill_schema *sub = rill_schema_new();
    for (int i = 0; i < n; i++)
        rill_schema_add_typed(sub, rill_schema_field_name(s, idx[i]),
                              rill_schema_field_info(s, idx[i]),
                              rill_schema_field_nullable(s, idx[i]));
    return sub;
}

int rill__kafka_project(rill_row *dst, const rill_row *src, const rill_schema *src_schema,
                        const int *idx, int n)
{
    for (int i = 0; i < n; i++) {
        int f = idx[i];
        if (rill_row_is_null(src, f)) {
            rill_row_set_null(dst, i);
            continue;
        }
        if (src_schema->fields[f].in_bytes) { /* STRING, BYTES, DECIMAL(p > 18) */
            size_t len;
            const char *p = rill_row_str(src, f, &len);
            int rc = rill_row_set_str(dst, i, p, len);
            if (rc)
                return rc;
        } else {
            rill_row_set_i64(dst, i, (int64_t)src->v[f]); /* the slot, whatever its type */
        }
    }
    return 0;
}

void rill__kafka_cfg_free(void *cfg)
{
    rill__kafka_cfg *c = cfg;
    if (!c)
        return;
    free_strs(c->topics, c->n_topics);
    free(c->pattern);
    if (c->has_re)
        regfree(&c->re);
    free(c->bootstrap);
    free(c->group);
    free_strs(c->props, 2 * c->n_props);
    free_offsets(c->start_offsets, c->n_start_offsets);
    free_offsets(c->bound_offsets, c->n_bound_offsets);
    free_strs(c->key_names, c->n_key);
    free(c->key_idx);
    free(c->value_idx);
    for (int i = 0; i < c->n_meta; i++) {
        free(c->meta[i].column);
        free(c->meta[i].header);
    }
    free(c->meta);
    free(c->txn_prefix);
    free(c);
}

bool rill__kafka_wants_topic(const rill__kafka_cfg *c, const char *topic)
{
    for (int i = 0; i < c->n_topics; i++)
        if (!strcmp(c->topics[i], topic))
            return true;
    return c->has_re && regexec(&c->re, topic, 0, NULL, 0) == 0;
}

int rill__kafka_owner(const char *topic, int32_t partition, int par)
{
    uint64_t start = rill__hash_bytes(topic, strlen(topic), 0x6b61666b61ULL) % (uint64_t)par;
    return (int)((start + (uint64_t)partition) % (uint64_t)par);
}

/* librdkafka's log lines go to rill's log (syslog levels: 0-3 errors, 4 warnings, 5-6 info). */
static void kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    int l = level <= 3 ? RILL_LOG_ERROR : level == 4 ? RILL_LOG_WARN
                                        : level <= 6 ? RILL_LOG_INFO : RILL_LOG_DEBUG;
    rill__log(l, "librdkafka %s: %s", fac, buf);
}

rd_kafka_conf_t *rill__kafka_conf(const rill__kafka_cfg *c, const char *const *extra,
                                  const char *who, rill__err *err)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, kafka_log);
    char errstr[512];
    const char *fixed[] = {"bootstrap.servers", c->bootstrap, "group.id", c->group, NULL};
    for (int pass = 0; pass < 3; pass++) {
        const char *const *kv = pass == 0 ? fixed : pass == 1 ? (const char *const *)c->props
                                                              : extra;
        int n = pass == 1 ? c->n_props : -1;
        for (int i = 0; kv && (n < 0 ? kv[2 * i] != NULL : i < n); i++) {
            const char *k = kv[2 * i], *v = kv[2 * i + 1];
            if (!v)
                continue;
            if (rd_kafka_conf_set(conf, k, v, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
                rill__err_set(err, RILL_ECONFIG, "%s: property '%s%s' = '%s': %s", who,
                              pass == 1 ? "properties." : "", k, v, errstr);
                rd_kafka_conf_destroy(conf);
                return NULL;
            }
        }
    }
    return conf;
}

void *rill__kafka_source_cfg(const char *const *options, rill__err *err)
{
    rill__kafka_cfg *c;
    return rill__kafka_cfg_parse(options, false, &c, err) == 0 ? c : NULL;
}

void *rill__kafka_sink_cfg(const char *const *options, rill__err *err)
{
    rill__kafka_cfg *c;
    return rill__kafka_cfg_parse(options, true, &c, err) == 0 ? c : NULL;
}
