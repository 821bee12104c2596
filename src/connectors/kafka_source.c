/*
 * kafka_source.c - connectors layer: the Kafka source, on librdkafka. Partitions are the splits;
 * rill assigns them itself (every reader computes the same owner of each partition, as Flink's
 * KafkaSource does; no consumer-group rebalancing), each read from its own queue so that a
 * batch holds the rows of one partition and event time keeps a watermark per partition. The
 * split state is (topic, partition, next offset, stop offset): concrete offsets only, resolved
 * from the startup and bounded modes when a partition is first seen, so a restore (at any
 * parallelism) goes on exactly where the checkpoint was. Offsets go back to the consumer group
 * only when a checkpoint completes, for monitoring; they are never read back as the truth.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <stdatomic.h>

#include <librdkafka/rdkafka.h>

#include "kafka_int.h"

#define STATE_MAGIC 0x31534b52u /* "RKS1" */
#define STATE_VERSION 1u
#define IDLE_WAIT_MAX_NS (20 * 1000000LL) /* longest poll hint while no partition has data */
#define MAX_PENDING_COMMITS 16
#define LOOKUP_GRACE_NS (2 * 1000000000LL) /* past its deadline: librdkafka did not return */

typedef struct ksplit {
    char *topic;
    int32_t partition;
    int64_t next; /* the offset after the last one emitted (or skipped) */
    int64_t stop; /* bounded: stop before this offset; -1: never */
    bool done;
    bool startup;        /* discovery: starts from the startup mode (else: earliest) */
    uint64_t rank;       /* a restored state: its place in the checkpoint's order */
    rd_kafka_queue_t *q; /* the partition's own queue (assigned, not done) */
} ksplit;

/* What an old reader was, for partitions found in no state: one that had finished read its
 * partitions to their ends; one that had looked up its partitions had none of those (they
 * appeared later: earliest). gen: its run's number (each restore counts one up). */
typedef struct old_reader {
    uint32_t gen;
    int subtask, par;
    bool finished, discovered;
} old_reader;

typedef struct pending_commit {
    uint64_t id;
    rd_kafka_topic_partition_list_t *offsets;
} pending_commit;

typedef struct klookup klookup;

typedef struct ksrc {
    rill__source base;
    const rill__kafka_cfg *cfg;
    rill_schema *schema; /* referenced */
    rill__err *err;
    char *uid;
    int subtask, par;
    rd_kafka_conf_t *conf; /* until the consumer is made */
    rd_kafka_t *rk;
    char fatal[512]; /* an error librdkafka reported that ends the job */
    ksplit *splits;
    size_t n_splits, cap_splits;
    size_t rr;        /* the split polled first next time */
    size_t announced; /* splits[0..announced) have been told to event time */
    bool discovered;
    klookup *lookup; /* new splits' offsets being looked up */
    int64_t next_discovery_ns;
    int64_t missing_since_ns; /* restored partitions not listed by the brokers since then */
    int64_t idle_ns; /* the poll hint, growing while nothing comes */
    /* a restore: the split states this reader owns now (those not yet adopted: their partition
     * not seen yet), and what the old readers were */
    bool restored;
    uint32_t gen;
    ksplit *rs;
    size_t n_rs, cap_rs;
    old_reader *old;
    size_t n_old, cap_old;
    /* decoding */
    rill__decoder dec;
    int raw_field;
    rill__decoder kdec;    /* the key's fields (EXCEPT_KEY, csv or json keys) */
    rill_schema *value_schema; /* JSON values of some fields: those */
    rill_batch *value_batch;   /* one row of them they decode into */
    rill_schema *key_schema;   /* the key's fields */
    rill_batch *key_batch;   /* one row of them it decodes into */
    rill__bad_records bad;
    rd_kafka_message_t **msgs;
    uint32_t cap_msgs;
    rill__buf scratch;
    pending_commit commits[MAX_PENDING_COMMITS];
    int n_commits;
} ksrc;

static int fail(ksrc *s, int code, const char *fmt, ...) RILL_PRINTF(3, 4);
static int fail(ksrc *s, int code, const char *fmt, ...)
{
    char msg[RILL_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rill__err_set(s->err, code, "kafka source '%s' (subtask %d/%d): %s", s->uid,
                         s->subtask + 1, s->par, msg);
}

/* ---- librdkafka's callbacks ------------------------------------------------------------------ */

static void on_error(rd_kafka_t *rk, int code, const char *reason, void *opaque)
{
    ksrc *s = opaque;
    if (code == RD_KAFKA_RESP_ERR__FATAL) {
        char why[400];
        rd_kafka_resp_err_t e = rd_kafka_fatal_error(rk, why, sizeof why);
        snprintf(s->fatal, sizeof s->fatal, "%s: %s", rd_kafka_err2name(e), why);
        return;
    }
    /* brokers down, a connection lost: librdkafka retries; the reader waits (as Flink's) */
    rill__log(RILL_LOG_WARN, "kafka source '%s' (subtask %d/%d): %s: %s", s->uid, s->subtask + 1,
              s->par, rd_kafka_err2name((rd_kafka_resp_err_t)code), reason);
}

/* ---- config and creation --------------------------------------------------------------------- */

static int ksrc_validate(const void *cfg, const rill_schema *schema, rill__err *err)
{
    return rill__kafka_cfg_bind((rill__kafka_cfg *)cfg, schema, false, err);
}

static int ksrc_create(const void *cfg, const rill_schema *schema, const rill__conn_init *init,
                       rill__source **out)
{
    *out = NULL;
    const rill__kafka_cfg *c = cfg;
    ksrc *s = rill__xcalloc(1, sizeof *s);
    s->base.ops = &rill__kafka_source_ops;
    s->cfg = c;
    s->schema = rill__schema_ref(schema);
    s->err = init->err;
    s->uid = rill__xstrdup(init->uid ? init->uid : "kafka");
    s->subtask = init->subtask;
    s->par = init->parallelism > 0 ? init->parallelism : 1;
    s->raw_field = -1;
    rill__bad_init(&s->bad, s->uid, init);
    if (c->format == KFMT_JSON && c->n_value < rill_schema_n_fields(schema)) {
        /* JSON values hold only some fields (metadata, key): decoded over those, so that the
         * others' NOT NULL is not asked of the value, and copied over */
        s->value_schema = rill__kafka_sub_schema(schema, c->value_idx, c->n_value);
        rill__decoder_init(&s->dec, s->value_schema, RILL_FMT_JSON, c->delim);
        s->value_batch = rill__batch_new(s->value_schema, 1);
    } else if (c->format != KFMT_RAW) {
        rill__decoder_init(&s->dec, schema, c->format == KFMT_JSON ? RILL_FMT_JSON : RILL_FMT_CSV,
                           c->delim);
        /* CSV values: the value's fields in order (metadata, and the key's with EXCEPT_KEY,
         * are filled apart) */
        if (c->format == KFMT_CSV) {
            memcpy(s->dec.col_field, c->value_idx, (size_t)c->n_value * sizeof *c->value_idx);
            s->dec.n_cols = c->n_value;
        }
    } else {
        s->raw_field = c->value_idx[0];
    }
    if ((c->except_key || c->upsert) && c->key_format != KFMT_RAW) { /* key fields, apart */
        s->key_schema = rill__kafka_sub_schema(schema, c->key_idx, c->n_key);
        rill__decoder_init(&s->kdec, s->key_schema,
                           c->key_format == KFMT_JSON ? RILL_FMT_JSON : RILL_FMT_CSV, c->delim);
        s->key_batch = rill__batch_new(s->key_schema, 1);
    }
    s->cap_msgs = init->batch_size ? init->batch_size : 1024;
    s->msgs = rill__xcalloc(s->cap_msgs, sizeof *s->msgs);
    /* offsets are assigned explicitly, committed only when checkpoints complete; the end of a
     * partition is reported (bounded mode) */
    const char *extra[] = {"enable.auto.commit", "false", "enable.auto.offset.store", "false",
                           "enable.partition.eof", "true", NULL};
    const char *reset = NULL;
    for (int i = 0; i < c->n_props; i++)
        if (!strcmp(c->props[2 * i], "auto.offset.reset"))
            reset = c->props[2 * i + 1];
    rd_kafka_conf_t *conf = rill__kafka_conf(c, extra, "kafka source", init->err);
    if (!conf) {
        rill__kafka_source_ops.destroy(&s->base);
        return RILL_ECONFIG;
    }
    char errstr[512];
    if (!reset) /* an offset gone (retention) goes on from the earliest there is */
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof errstr);
    if (!c->group) { /* librdkafka's consumer needs one; nothing is committed without the user's */
        char *g = rill__xasprintf("rill-%s", s->uid);
        rd_kafka_conf_set(conf, "group.id", g, errstr, sizeof errstr);
        free(g);
    }
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_opaque(conf, s);
    s->conf = conf; /* the consumer connects at the first poll */
    *out = &s->base;
    return 0;
}

/* The consumer, made at the first poll (a reader that is only restored and checkpointed, or
 * destroyed at once, never connects). */
static int connect_consumer(ksrc *s)
{
    char errstr[512];
    s->rk = rd_kafka_new(RD_KAFKA_CONSUMER, s->conf, errstr, sizeof errstr);
    if (!s->rk)
        return fail(s, RILL_ECONFIG, "%s", errstr);
    s->conf = NULL; /* the consumer's now */
    return 0;
}

/* ---- offsets ------------------------------------------------------------------------------ */

/*
 * Where new splits start and stop is looked up on a thread of its own: librdkafka 2.0.2's
 * rd_kafka_query_watermark_offsets does not keep to its timeout while a partition's leader is
 * unreachable, and a task thread blocked there would take no checkpoint and not see a cancel.
 * The task polls on, reading the splits it has; the lookup fails the job, naming the partition,
 * when it has not answered within client.timeout. A reader that goes away while its lookup
 * still waits leaves it the consumer, which the lookup closes when librdkafka returns.
 * What each split asks is decided on the task thread (no I/O there); the lookup copies all it
 * needs, so it outlives the reader and the job's config.
 */
typedef enum kwhere {
    KW_NONE,  /* stop: never */
    KW_GIVEN, /* arg is the offset */
    KW_LOW,   /* the partition's earliest offset */
    KW_HIGH,  /* its latest (the end) */
    KW_TIME,  /* the first message at or after arg (ms); the end when there is none */
    KW_GROUP, /* the group's committed offset; where there is none, per auto.offset.reset */
} kwhere;

typedef struct kask {
    kwhere start, stop;
    int64_t start_arg, stop_arg;
} kask;

struct klookup {
    pthread_t th;
    pthread_mutex_t mu;
    bool done, orphaned; /* under mu */
    rd_kafka_t *rk;      /* the reader's consumer; the lookup's to close once orphaned */
    ksplit *v;           /* the splits (topics its own until the reader takes them) */
    kask *ask;
    size_t n;
    char *group, *reset; /* group: NULL when none is named */
    int64_t deadline_ns; /* the calls' budget ends (client.timeout from the start) */
    atomic_size_t at; /* the split being looked up */
    int rc;
    char msg[RILL_ERRMSG_MAX];
};

static int lfail(klookup *r, int code, const char *fmt, ...) RILL_PRINTF(3, 4);
static int lfail(klookup *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    return r->rc = code;
}

/* What is left of the lookup's time, in ms for librdkafka (at least 1). */
static int budget_ms(const klookup *r)
{
    int64_t left = (r->deadline_ns - rill__mono_ns()) / 1000000;
    return (int)RILL_MAX(1, RILL_MIN(left, INT32_MAX));
}

static rd_kafka_topic_partition_list_t *list_of(ksplit *v, size_t n)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(l, v[i].topic, v[i].partition);
    return l;
}

/* The low or high watermark of a partition. */
static int watermark_offset(klookup *r, const ksplit *p, bool high, int64_t *out)
{
    int64_t lo, hi;
    atomic_store(&r->at, (size_t)(p - r->v));
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(r->rk, p->topic, p->partition, &lo,
                                                             &hi, budget_ms(r));
    if (e)
        return lfail(r, RILL_EIO, "topic %s partition %d: cannot read its offsets: %s", p->topic,
                     p->partition, rd_kafka_err2str(e));
    *out = high ? hi : lo;
    return 0;
}

static bool asks(const kask *a, bool stop, kwhere w)
{
    return (stop ? a->stop : a->start) == w;
}

/* The splits that ask w for their start (or stop), with the time asked (one for all). */
static int offsets_for_time(klookup *r, bool stop)
{
    size_t m = 0;
    for (size_t i = 0; i < r->n; i++)
        m += asks(&r->ask[i], stop, KW_TIME);
    if (m == 0)
        return 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)m);
    size_t *at = rill__xcalloc(m, sizeof *at);
    int64_t ts = 0;
    for (size_t i = 0, k = 0; i < r->n; i++)
        if (asks(&r->ask[i], stop, KW_TIME)) {
            ts = stop ? r->ask[i].stop_arg : r->ask[i].start_arg;
            rd_kafka_topic_partition_list_add(l, r->v[i].topic, r->v[i].partition)->offset = ts;
            at[k++] = i;
        }
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(r->rk, l, budget_ms(r));
    int rc = 0;
    for (int i = 0; rc == 0 && i < l->cnt; i++) {
        ksplit *p = &r->v[at[i]];
        rd_kafka_resp_err_t pe = e ? e : l->elems[i].err;
        int64_t off = l->elems[i].offset;
        if (pe)
            rc = lfail(r, RILL_EIO, "topic %s partition %d: cannot look up the offset of time "
                       "%lld: %s", p->topic, p->partition, (long long)ts, rd_kafka_err2str(pe));
        else if (off < 0)
            rc = watermark_offset(r, p, true, &off);
        if (rc == 0)
            *(stop ? &p->stop : &p->next) = off;
    }
    free(at);
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

/* The group's committed offsets; where there is none, per auto.offset.reset. */
static int group_offsets(klookup *r, bool stop)
{
    size_t m = 0;
    for (size_t i = 0; i < r->n; i++)
        m += asks(&r->ask[i], stop, KW_GROUP);
    if (m == 0)
        return 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)m);
    size_t *at = rill__xcalloc(m, sizeof *at);
    for (size_t i = 0, k = 0; i < r->n; i++)
        if (asks(&r->ask[i], stop, KW_GROUP)) {
            rd_kafka_topic_partition_list_add(l, r->v[i].topic, r->v[i].partition);
            at[k++] = i;
        }
    /* no group named: none has offsets (nothing is asked of the brokers, whose ACLs may not
     * know the group rill would make up) */
    rd_kafka_resp_err_t e = r->group ? rd_kafka_committed(r->rk, l, budget_ms(r))
                                     : RD_KAFKA_RESP_ERR_NO_ERROR;
    const char *reset = r->reset;
    int rc = 0;
    for (int i = 0; rc == 0 && i < l->cnt; i++) {
        ksplit *p = &r->v[at[i]];
        rd_kafka_resp_err_t pe = e ? e : l->elems[i].err;
        int64_t off = r->group ? l->elems[i].offset : -1;
        if (pe) {
            rc = lfail(r, RILL_EIO, "topic %s partition %d: cannot read group %s's offset: %s",
                       p->topic, p->partition, r->group, rd_kafka_err2str(pe));
        } else if (off < 0) {
            if (!stop && strcmp(reset, "latest") && strcmp(reset, "earliest") &&
                strcmp(reset, "largest") && strcmp(reset, "smallest") &&
                strcmp(reset, "end") && strcmp(reset, "beginning"))
                rc = lfail(r, RILL_ECONFIG, "topic %s partition %d: group %s has no committed "
                           "offset, and auto.offset.reset is '%s'", p->topic, p->partition,
                           r->group ? r->group : "(none named)", reset);
            else
                rc = watermark_offset(r, p, stop || !strcmp(reset, "latest") ||
                                                 !strcmp(reset, "largest") ||
                                                 !strcmp(reset, "end"), &off);
        }
        if (rc == 0)
            *(stop ? &p->stop : &p->next) = off;
    }
    free(at);
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

/* The lookup's work: every split's start, then its stop. */
static int look_up(klookup *r)
{
    int rc = 0;
    for (int stop = 0; rc == 0 && stop < 2; stop++) {
        if ((rc = offsets_for_time(r, stop)) != 0 || (rc = group_offsets(r, stop)) != 0)
            break;
        for (size_t i = 0; rc == 0 && i < r->n; i++) {
            ksplit *p = &r->v[i];
            kwhere w = stop ? r->ask[i].stop : r->ask[i].start;
            int64_t arg = stop ? r->ask[i].stop_arg : r->ask[i].start_arg, off = -1;
            if (w == KW_NONE || w == KW_GIVEN)
                off = w == KW_NONE ? -1 : arg;
            else if (w == KW_LOW || w == KW_HIGH)
                rc = watermark_offset(r, p, w == KW_HIGH, &off);
            else
                continue; /* by time or group, above */
            if (rc == 0)
                *(stop ? &p->stop : &p->next) = off;
        }
    }
    return rc;
}

static void lookup_free(klookup *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].topic);
    free(r->v);
    free(r->ask);
    free(r->group);
    free(r->reset);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static void *lookup_main(void *arg)
{
    klookup *r = arg;
    look_up(r);
    pthread_mutex_lock(&r->mu);
    r->done = true;
    bool orphaned = r->orphaned;
    pthread_mutex_unlock(&r->mu);
    if (orphaned) { /* the reader went away while librdkafka kept the lookup waiting */
        rd_kafka_consumer_close(r->rk);
        rd_kafka_destroy(r->rk);
        lookup_free(r);
    }
    return NULL;
}

/* An explicit offset of (topic, partition) in o, or -1. */
static int64_t given_offset(const rill__kafka_cfg *c, const kafka_part_offset *o, int n,
                            const ksplit *p)
{
    for (int i = 0; i < n; i++)
        if (o[i].partition == p->partition &&
            !strcmp(o[i].topic ? o[i].topic : c->topics[0], p->topic))
            return o[i].offset;
    return -1;
}

/* What split p asks: the startup mode (startup), else the earliest offset (partitions that
 * appear later, as Flink's); where bounded splits stop, fixed when they are first seen. */
static kask ask_of(const rill__kafka_cfg *c, const ksplit *p)
{
    kask a = {.start = KW_LOW, .stop = KW_NONE};
    switch (p->startup ? c->start : KSTART_EARLIEST) {
    case KSTART_TIMESTAMP: a.start = KW_TIME, a.start_arg = c->start_ts; break;
    case KSTART_GROUP: a.start = KW_GROUP; break;
    case KSTART_LATEST: a.start = KW_HIGH; break;
    case KSTART_SPECIFIC:
        a.start_arg = given_offset(c, c->start_offsets, c->n_start_offsets, p);
        a.start = a.start_arg >= 0 ? KW_GIVEN : KW_LOW;
        break;
    default: break;
    }
    switch (c->bound) {
    case KBOUND_NONE: break;
    case KBOUND_TIMESTAMP: a.stop = KW_TIME, a.stop_arg = c->bound_ts; break;
    case KBOUND_GROUP: a.stop = KW_GROUP; break;
    case KBOUND_SPECIFIC:
        a.stop_arg = given_offset(c, c->bound_offsets, c->n_bound_offsets, p);
        a.stop = a.stop_arg >= 0 ? KW_GIVEN : KW_HIGH;
        break;
    default: a.stop = KW_HIGH; break;
    }
    return a;
}

/* Starts looking up where splits v[0..n) start and stop (their topics the lookup's now). */
static int lookup_start(ksrc *s, ksplit *v, size_t n)
{
    const rill__kafka_cfg *c = s->cfg;
    klookup *r = rill__xcalloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->rk = s->rk;
    r->v = v;
    r->n = n;
    r->ask = rill__xcalloc(n, sizeof *r->ask);
    for (size_t i = 0; i < n; i++)
        r->ask[i] = ask_of(c, &v[i]);
    r->group = c->group ? rill__xstrdup(c->group) : NULL;
    const char *reset = "earliest";
    for (int i = 0; i < c->n_props; i++)
        if (!strcmp(c->props[2 * i], "auto.offset.reset"))
            reset = c->props[2 * i + 1];
    r->reset = rill__xstrdup(reset);
    r->deadline_ns = rill__mono_ns() + c->timeout_ms * 1000000;
    int e = pthread_create(&r->th, NULL, lookup_main, r);
    if (e) {
        r->v = NULL, r->n = 0; /* the caller frees them */
        lookup_free(r);
        return fail(s, RILL_ENOMEM, "cannot start a thread to look up offsets: %s",
                    strerror(e));
    }
    s->lookup = r;
    return 0;
}

/* Whether the lookup is done; when it is, the reader takes its splits (*v, *n: topics and
 * all) or its error (returned, set in s->err), and the lookup is gone. */
static int lookup_take(ksrc *s, bool *done, ksplit **v, size_t *n)
{
    klookup *r = s->lookup;
    pthread_mutex_lock(&r->mu);
    *done = r->done;
    pthread_mutex_unlock(&r->mu);
    if (!*done) {
        if (rill__mono_ns() - r->deadline_ns < LOOKUP_GRACE_NS)
            return 0;
        size_t at = atomic_load(&r->at);
        const ksplit *p = &r->v[at < r->n ? at : 0];
        return fail(s, RILL_EIO, "topic %s partition %d%s: looking up where to read took longer "
                    "than client.timeout (%lld ms); is its leader broker reachable from here?",
                    p->topic, p->partition, r->n > 1 ? " (one of the partitions taken)" : "",
                    (long long)s->cfg->timeout_ms);
    }
    pthread_join(r->th, NULL);
    s->lookup = NULL;
    int rc = r->rc;
    if (rc)
        fail(s, rc, "%s", r->msg);
    else {
        *v = r->v, *n = r->n;
        r->v = NULL, r->n = 0;
    }
    lookup_free(r);
    return rc;
}

/* The reader goes away: its lookup, if still waiting, is left to finish and close the
 * consumer (*rk is set NULL); else it is gone now. */
static void lookup_orphan(ksrc *s, rd_kafka_t **rk)
{
    klookup *r = s->lookup;
    if (!r)
        return;
    s->lookup = NULL;
    pthread_mutex_lock(&r->mu);
    bool done = r->done;
    r->orphaned = !done;
    pthread_t th = r->th;
    pthread_mutex_unlock(&r->mu);
    if (done) {
        pthread_join(th, NULL);
        lookup_free(r);
    } else {
        pthread_detach(th);
        *rk = NULL;
    }
}

/* ---- discovery and assignment ------------------------------------------------------------ */

static bool known(const ksrc *s, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < s->n_splits; i++)
        if (s->splits[i].partition == partition && !strcmp(s->splits[i].topic, topic))
            return true;
    return false;
}

/* A restored state of (topic, partition), or NULL. */
static const ksplit *restored(const ksrc *s, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < s->n_rs; i++)
        if (s->rs[i].partition == partition && !strcmp(s->rs[i].topic, topic))
            return &s->rs[i];
    return NULL;
}

/* The newest old reader that owned (topic, partition) and knew about it (finished, or had
 * looked up its partitions), or NULL. */
static const old_reader *old_owner(const ksrc *s, const char *topic, int32_t partition)
{
    const old_reader *best = NULL;
    for (size_t i = 0; i < s->n_old; i++) {
        const old_reader *o = &s->old[i];
        if ((o->finished || o->discovered) && (!best || o->gen > best->gen) &&
            rill__kafka_owner(topic, partition, o->par) == o->subtask)
            best = o;
    }
    return best;
}

/* Removes the restored state of (topic, partition): the reader now holds the split. */
static void drop_restored(ksrc *s, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < s->n_rs; i++)
        if (s->rs[i].partition == partition && !strcmp(s->rs[i].topic, topic)) {
            free(s->rs[i].topic);
            memmove(s->rs + i, s->rs + i + 1, (s->n_rs - i - 1) * sizeof *s->rs);
            s->n_rs--;
            return;
        }
}

/* Takes new splits v[0..n) (their state set; their topic strings now the reader's) and
 * assigns those not done. */
static int adopt(ksrc *s, ksplit *v, size_t n)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
    size_t first = s->n_splits;
    for (size_t i = 0; i < n; i++) {
        ksplit *p = &v[i];
        if (p->stop >= 0 && p->next >= p->stop)
            p->done = true;
        rill__grow((void **)&s->splits, &s->cap_splits, s->n_splits + 1, sizeof *s->splits);
        s->splits[s->n_splits++] = *p;
        rill__log(RILL_LOG_INFO, "kafka source '%s' (subtask %d/%d): topic %s partition %d from "
                  "offset %lld%s%s", s->uid, s->subtask + 1, s->par, p->topic, p->partition,
                  (long long)p->next, p->stop >= 0 ? " to its end at the start" : "",
                  p->done ? " (done)" : "");
    }
    int rc = 0;
    for (size_t i = first; i < s->n_splits && rc == 0; i++) {
        ksplit *p = &s->splits[i];
        if (p->done)
            continue;
        /* the partition's own queue, not forwarded to the consumer's: one split a batch */
        p->q = rd_kafka_queue_get_partition(s->rk, p->topic, p->partition);
        if (!p->q)
            rc = fail(s, RILL_EIO, "topic %s partition %d: no queue for it", p->topic,
                      p->partition);
        else
            rd_kafka_queue_forward(p->q, NULL);
        rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = p->next;
    }
    if (rc == 0 && l->cnt > 0) {
        rd_kafka_error_t *e = rd_kafka_incremental_assign(s->rk, l);
        if (e) {
            rc = fail(s, RILL_EIO, "assigning %d partitions: %s", l->cnt,
                      rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

static int by_rank(const void *a, const void *b)
{
    uint64_t x = ((const ksplit *)a)->rank, y = ((const ksplit *)b)->rank;
    return (x > y) - (x < y);
}

/* A discovery is over (its new splits taken): restored partitions the brokers did not list
 * are looked for again soon, and the job fails if they stay away (their rest must not be
 * skipped in silence). */
static int discovered(ksrc *s)
{
    const rill__kafka_cfg *c = s->cfg;
    int64_t now = rill__mono_ns();
    if (s->n_rs > 0) {
        if (!s->missing_since_ns)
            s->missing_since_ns = now;
        if (now - s->missing_since_ns > c->timeout_ms * 1000000)
            return fail(s, RILL_ENOENT, "topic %s partition %d, which the checkpoint reads at "
                        "offset %lld, is not on %s (after %lld ms): a deleted topic must not "
                        "be skipped in silence", s->rs[0].topic, s->rs[0].partition,
                        (long long)s->rs[0].next, c->bootstrap, (long long)c->timeout_ms);
        s->discovered = true;
        s->next_discovery_ns = now + 1000000000LL;
        return 0;
    }
    s->discovered = true;
    s->missing_since_ns = 0;
    s->next_discovery_ns = c->discovery_ms > 0 ? now + c->discovery_ms * 1000000 : INT64_MAX;
    return 0;
}

/* Looks up the topics' partitions and takes the new ones this reader owns. */
static int discover(ksrc *s)
{
    const rill__kafka_cfg *c = s->cfg;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(s->rk, 1, NULL, &md, (int)c->timeout_ms);
    if (e) {
        if (!s->discovered)
            return fail(s, RILL_EIO, "cannot read the topics from %s: %s", c->bootstrap,
                        rd_kafka_err2str(e));
        rill__log(RILL_LOG_WARN, "kafka source '%s': partition discovery failed (%s); trying "
                  "again later", s->uid, rd_kafka_err2str(e));
        return 0;
    }
    ksplit *fresh = NULL, *resumed = NULL; /* to resolve from the startup mode, or taken */
    size_t n_fresh = 0, cap_fresh = 0, n_res = 0, cap_res = 0;
    int rc = 0;
    for (int t = 0; t < md->topic_cnt && rc == 0; t++) {
        const struct rd_kafka_metadata_topic *mt = &md->topics[t];
        if (mt->err || !rill__kafka_wants_topic(c, mt->topic))
            continue;
        for (int k = 0; k < mt->partition_cnt; k++) {
            int32_t part = mt->partitions[k].id;
            if (rill__kafka_owner(mt->topic, part, s->par) != s->subtask ||
                known(s, mt->topic, part))
                continue;
            ksplit p = {.topic = rill__xstrdup(mt->topic), .partition = part, .stop = -1};
            const ksplit *r = s->restored ? restored(s, mt->topic, part) : NULL;
            const old_reader *o = s->restored && !r ? old_owner(s, mt->topic, part) : NULL;
            p.rank = UINT64_MAX;
            if (r) {
                p.next = r->next, p.stop = r->stop, p.done = r->done, p.rank = r->rank;
                drop_restored(s, mt->topic, part);
            } else if (o && (o->finished || c->bound != KBOUND_NONE)) {
                /* its old reader had read it to its end; or, bounded, it appeared after the
                 * job started (an uninterrupted run never reads it either) */
                p.done = true;
            }
            /* no state: where the job started (no reader knew it) or a partition that came
             * later (earliest, as Flink's) */
            p.startup = !s->discovered && !o;
            bool take_as_is = r || p.done;
            ksplit **v = take_as_is ? &resumed : &fresh;
            size_t *n = take_as_is ? &n_res : &n_fresh, *cap = take_as_is ? &cap_res : &cap_fresh;
            rill__grow((void **)v, cap, *n + 1, sizeof **v);
            (*v)[(*n)++] = p;
        }
    }
    /* restored partitions of topics the source no longer reads (the job's topics changed)
     * are dropped, once, said in the log */
    for (size_t i = 0; !s->discovered && i < s->n_rs;) {
        if (rill__kafka_wants_topic(c, s->rs[i].topic)) {
            i++;
            continue;
        }
        rill__log(RILL_LOG_WARN, "kafka source '%s': topic %s partition %d, in the checkpoint "
                  "at offset %lld, is not read any more (not among the source's topics)",
                  s->uid, s->rs[i].topic, s->rs[i].partition, (long long)s->rs[i].next);
        drop_restored(s, s->rs[i].topic, s->rs[i].partition);
    }
    /* listed topics that do not exist: the first discovery fails (a typo must not read
     * nothing forever); later, a topic deleted is only logged */
    for (int i = 0; rc == 0 && !s->discovered && i < c->n_topics; i++) {
        bool found = false;
        for (int t = 0; t < md->topic_cnt && !found; t++)
            found = !md->topics[t].err && !strcmp(md->topics[t].topic, c->topics[i]);
        const char *why = "it does not exist";
        for (int t = 0; t < md->topic_cnt && !found; t++)
            if (!strcmp(md->topics[t].topic, c->topics[i]))
                why = rd_kafka_err2str(md->topics[t].err);
        if (!found)
            rc = fail(s, RILL_ENOENT, "topic '%s' cannot be read on %s: %s", c->topics[i],
                      c->bootstrap, why);
    }
    rd_kafka_metadata_destroy(md);
    /* restored splits first, in the checkpoint's order: a reader restored at the same
     * parallelism gives each split the id it had, which event time's restored state is keyed
     * by; then the new ones, startup-mode first, then those that appeared later (earliest) */
    if (n_res > 1)
        qsort(resumed, n_res, sizeof *resumed, by_rank);
    size_t taken_res = 0;
    if (rc == 0 && n_res > 0) {
        rc = adopt(s, resumed, n_res);
        taken_res = n_res;
    }
    if (rc == 0 && n_fresh > 0) {
        /* startup-mode splits first, then those that appeared later (earliest) */
        size_t m = 0;
        for (size_t i = 0; i < n_fresh; i++)
            if (fresh[i].startup) {
                ksplit tmp = fresh[m];
                fresh[m++] = fresh[i];
                fresh[i] = tmp;
            }
        if ((rc = lookup_start(s, fresh, n_fresh)) == 0)
            fresh = NULL, n_fresh = 0; /* the lookup's */
    }
    for (size_t i = 0; i < n_fresh; i++) /* what the reader did not take */
        free(fresh[i].topic);
    for (size_t i = taken_res; i < n_res; i++)
        free(resumed[i].topic);
    free(fresh);
    free(resumed);
    if (rc || s->lookup)
        return rc;
    return discovered(s);
}

/* The new splits' offsets looked up: the reader takes them. */
static int lookup_done(ksrc *s)
{
    bool done = false;
    ksplit *v = NULL;
    size_t n = 0;
    int rc = lookup_take(s, &done, &v, &n);
    if (rc == 0 && done) {
        rc = adopt(s, v, n);
        free(v); /* the topics are the reader's */
        if (rc == 0)
            rc = discovered(s);
    }
    return rc;
}

/* ---- reading --------------------------------------------------------------------------- */

/* Fills the metadata columns of row (the one decode_line just appended). */
static int fill_meta(ksrc *s, rill_row *row, const rd_kafka_message_t *m, const ksplit *p)
{
    const rill__kafka_cfg *c = s->cfg;
    int rc = 0;
    for (int i = 0; i < c->n_meta && rc == 0; i++) {
        const kafka_meta_col *mc = &c->meta[i];
        rd_kafka_timestamp_type_t tt;
        int64_t ts;
        switch (mc->what) {
        case KMETA_TOPIC: rc = rill_row_set_str(row, mc->field, p->topic, strlen(p->topic)); break;
        case KMETA_PARTITION: rill_row_set_i64(row, mc->field, p->partition); break;
        case KMETA_OFFSET: rill_row_set_i64(row, mc->field, m->offset); break;
        case KMETA_LEADER_EPOCH: rill_row_set_null(row, mc->field); break;
        case KMETA_TIMESTAMP:
            ts = rd_kafka_message_timestamp(m, &tt);
            if (tt == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE)
                rill_row_set_null(row, mc->field);
            else
                rill_row_set_i64(row, mc->field, ts);
            break;
        case KMETA_TIMESTAMP_TYPE: {
            rd_kafka_message_timestamp(m, &tt);
            const char *name = tt == RD_KAFKA_TIMESTAMP_CREATE_TIME       ? "CreateTime"
                               : tt == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME ? "LogAppendTime"
                                                                          : "NoTimestampType";
            rc = rill_row_set_str(row, mc->field, name, strlen(name));
            break;
        }
        case KMETA_KEY:
            if (m->key)
                rc = rill_row_set_str(row, mc->field, m->key, m->key_len);
            else
                rill_row_set_null(row, mc->field);
            break;
        case KMETA_HEADERS:
        case KMETA_HEADER: {
            rd_kafka_headers_t *h = NULL;
            rill_row_set_null(row, mc->field);
            if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
                break;
            const char *name;
            const void *val;
            size_t len;
            if (mc->what == KMETA_HEADER) {
                if (rd_kafka_header_get_last(h, mc->header, &val, &len) == 0 && val)
                    rc = rill_row_set_str(row, mc->field, val, len);
                break;
            }
            rill__buf *b = &s->scratch;
            b->len = 0;
            rill__buf_putc(b, '{');
            for (size_t k = 0; rd_kafka_header_get_all(h, k, &name, &val, &len) == 0; k++) {
                if (k)
                    rill__buf_putc(b, ',');
                rill__conn_json_str(b, name, strlen(name));
                rill__buf_putc(b, ':');
                if (val)
                    rill__conn_json_str(b, val, len);
                else
                    rill__buf_append(b, "null", 4);
            }
            rill__buf_putc(b, '}');
            rc = rill_row_set_str(row, mc->field, b->data, b->len);
            break;
        }
        }
    }
    return rc;
}

/* Field i of src (a row of the fields dst_idx name, in that order) into field dst_idx[i] of
 * row dst, for i < n. */
static int put_fields(ksrc *s, rill_row *dst, const int *dst_idx, rill_row *src, int n)
{
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        int f = dst_idx[i];
        if (rill_row_is_null(src, i))
            rill_row_set_null(dst, f);
        else if (s->schema->fields[f].in_bytes) { /* STRING, BYTES, DECIMAL(p > 18) */
            size_t len;
            const char *str = rill_row_str(src, i, &len);
            rc = rill_row_set_str(dst, f, str, len);
        } else {
            rill_row_set_i64(dst, f, (int64_t)src->v[i]);
        }
    }
    return rc;
}

/* The key's fields of row (EXCEPT_KEY), from message m's key: raw (the one STRING field), or a
 * CSV line or JSON object decoded apart and copied over. A message without a key leaves them
 * NULL; RILL_EPARSE (pe filled) for a key that does not decode or a NOT NULL field it lacks. */
static int take_key(ksrc *s, rill_row *row, const rd_kafka_message_t *m, rill__parse_err *pe)
{
    const rill__kafka_cfg *c = s->cfg;
    if (!m->key) {
        for (int k = 0; k < c->n_key; k++) {
            if (rill_schema_field_nullable(s->schema, c->key_idx[k]))
                continue;
            pe->column = 1;
            pe->field = c->key_idx[k];
            snprintf(pe->what, sizeof pe->what, "the message has no key, and field '%s' is NOT "
                     "NULL", c->key_names[k]);
            return RILL_EPARSE;
        }
        return 0;
    }
    if (c->key_format == KFMT_RAW)
        return rill_row_set_str(row, c->key_idx[0], m->key, m->key_len);
    const char *k = m->key;
    size_t len = m->key_len;
    while (len && (k[len - 1] == '\n' || k[len - 1] == '\r'))
        len--;
    rill__batch_clear(s->key_batch);
    int rc = rill__decode_line(&s->kdec, k, len, s->key_batch, pe);
    if (rc)
        return rc;
    rill_row kr = rill__batch_row(s->key_batch, 0);
    return put_fields(s, row, c->key_idx, &kr, c->n_key);
}

/* One message into b (a row, or nothing: a tombstone, or a bad record skipped). Upsert mode:
 * a tombstone is a -D row of its key's fields (the others NULL), from the message key; one
 * without a key deletes nothing. */
static int take(ksrc *s, rill_batch *b, const rd_kafka_message_t *m, const ksplit *p)
{
    bool del = !m->payload && s->cfg->upsert && m->key;
    if (!m->payload && !del) /* a tombstone (NULL value): no row, as Flink's formats */
        return 0;
    const char *v = del ? "" : m->payload;
    size_t len = m->len;
    rill__parse_err pe;
    memset(&pe, 0, sizeof pe);
    pe.field = -1;
    int rc;
    uint32_t at = b->n_rows;
    if (del) {
        rill__batch_append(b);
        rc = 0;
    } else if (s->raw_field >= 0) {
        rill_row row = rill__batch_append(b);
        rc = rill_row_set_str(&row, s->raw_field, v, len);
    } else {
        while (len && (v[len - 1] == '\n' || v[len - 1] == '\r'))
            len--; /* a CSV or JSON line, its line break (if any) not part of it */
        if (s->value_batch) {
            rill__batch_clear(s->value_batch);
            rc = rill__decode_line(&s->dec, v, len, s->value_batch, &pe);
            if (rc == 0) {
                rill_row row = rill__batch_append(b), vr = rill__batch_row(s->value_batch, 0);
                if ((rc = put_fields(s, &row, s->cfg->value_idx, &vr, s->cfg->n_value)) != 0)
                    rill__batch_pop(b);
            } else if (pe.field >= 0) { /* the value's field index: the schema's */
                pe.field = s->cfg->value_idx[pe.field];
            }
        } else {
            rc = rill__decode_line(&s->dec, v, len, b, &pe);
        }
    }
    const char *what = NULL; /* a bad key */
    if (rc == 0 && (s->cfg->except_key || del)) {
        rill_row row = rill__batch_row(b, at);
        rc = take_key(s, &row, m, &pe);
        if (rc == RILL_EPARSE) {
            rill__batch_pop(b);
            what = "key";
        }
    }
    if (rc == 0) {
        rill_row row = rill__batch_row(b, at);
        rc = fill_meta(s, &row, m, p);
        if (rc) {
            rill__batch_pop(b);
            return fail(s, rc, "topic %s partition %d offset %lld: %s", p->topic, p->partition,
                        (long long)m->offset, rill_strerror(rc));
        }
        rd_kafka_timestamp_type_t tt;
        int64_t ts = rd_kafka_message_timestamp(m, &tt);
        b->ts[at] = tt == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? RILL_TS_MIN : ts;
        if (del)
            rill__batch_set_kind(b, at, RILL_ROW_DELETE);
        return 0;
    }
    if (rc != RILL_EPARSE)
        return fail(s, rc, "topic %s partition %d offset %lld: %s", p->topic, p->partition,
                    (long long)m->offset, rill_strerror(rc));
    long col = pe.column > 0 ? pe.column : 1;
    if (what) { /* the record shown is the key */
        v = m->key ? m->key : "";
        len = m->key ? m->key_len : 0;
    }
    if (s->bad.policy == RILL_BAD_FAIL)
        return fail(s, RILL_EPARSE, "topic %s partition %d offset %lld, %s column %ld: %s",
                    p->topic, p->partition, (long long)m->offset, what ? "key" : "value", col,
                    pe.what);
    char where[RILL_ERRMSG_MAX];
    snprintf(where, sizeof where, "topic %s partition %d offset %lld, %s column %ld", p->topic,
             p->partition, (long long)m->offset, what ? "key" : "value", col);
    rill__buf *w = &s->bad.where;
    w->len = 0;
    rill__buf_append(w, "\"topic\":", 8);
    rill__conn_json_str(w, p->topic, strlen(p->topic));
    rill__buf_printf(w, ",\"partition\":%d,\"offset\":%lld,\"%s\":%ld", p->partition,
                     (long long)m->offset, what ? "key_column" : "column", col);
    return rill__bad_record(&s->bad, where, pe.what, v, len, s->err);
}

/* An error librdkafka put in a partition's queue: the end of the partition (bounded: maybe
 * done), or one that ends the job. */
static int queue_error(ksrc *s, ksplit *p, const rd_kafka_message_t *m)
{
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (p->stop >= 0 && m->offset >= p->stop)
            p->done = true;
        return 0;
    }
    if (m->err == RD_KAFKA_RESP_ERR__TRANSPORT || m->err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        return 0; /* librdkafka reconnects */
    return fail(s, RILL_EIO, "topic %s partition %d at offset %lld: %s", p->topic, p->partition,
                (long long)p->next, rd_kafka_message_errstr(m));
}

/* Reads what partition p has now into b (rows of p only). */
static int read_split(ksrc *s, ksplit *p, int32_t id, rill_batch *b)
{
    uint32_t room = b->cap_rows - b->n_rows;
    if (room > s->cap_msgs)
        room = s->cap_msgs;
    ssize_t n = rd_kafka_consume_batch_queue(p->q, 0, s->msgs, room);
    if (n < 0)
        return fail(s, RILL_EIO, "topic %s partition %d: %s", p->topic, p->partition,
                    rd_kafka_err2str(rd_kafka_last_error()));
    int rc = 0;
    if (n > 0) {
        rill__batch_need_ts(b);
        b->has_ts = true;
        b->split = id;
    }
    for (ssize_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = s->msgs[i];
        if (rc == 0 && !p->done) {
            if (m->err)
                rc = queue_error(s, p, m);
            else if (m->offset < p->next)
                ; /* delivered before a seek took effect: already emitted */
            else if (p->stop >= 0 && m->offset >= p->stop)
                p->done = true;
            else if ((rc = take(s, b, m, p)) == 0)
                p->next = m->offset + 1;
            if (rc == 0 && p->stop >= 0 && p->next >= p->stop)
                p->done = true;
        }
        rd_kafka_message_destroy(m);
    }
    if (rc == 0 && p->done) {
        b->split = id;
        b->split_done = true;
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
        rd_kafka_error_t *e = rd_kafka_incremental_unassign(s->rk, l);
        if (e)
            rd_kafka_error_destroy(e);
        rd_kafka_topic_partition_list_destroy(l);
        rd_kafka_queue_destroy(p->q);
        p->q = NULL;
    }
    return rc;
}

static int ksrc_poll(rill__source *src, rill_batch *b, int64_t *wait_ns_out)
{
    ksrc *s = (ksrc *)src;
    int rc;
    if (!s->rk && (rc = connect_consumer(s)) != 0)
        return rc;
    rd_kafka_poll(s->rk, 0); /* errors, logs */
    if (s->fatal[0])
        return fail(s, RILL_EIO, "%s", s->fatal);
    if (s->lookup) {
        if ((rc = lookup_done(s)) != 0)
            return rc;
    } else if ((!s->discovered || rill__mono_ns() >= s->next_discovery_ns) &&
               (rc = discover(s)) != 0) {
        return rc;
    }
    /* every partition taken holds the watermark back from the start, as Flink's per-partition
     * watermarks do: one that has not sent rows yet must not find them late */
    while (s->announced < s->n_splits) {
        size_t i = s->announced++;
        if (!s->splits[i].done) {
            b->split = (int32_t)i;
            b->split_new = true;
            return 0;
        }
    }
    bool live = false;
    for (size_t k = 0; k < s->n_splits; k++) {
        size_t i = (s->rr + k) % s->n_splits;
        ksplit *p = &s->splits[i];
        if (p->done) {
            continue;
        }
        live = true;
        if ((rc = read_split(s, p, (int32_t)i, b)) != 0)
            return rc;
        if (b->n_rows > 0 || b->split_done) {
            s->rr = i + 1;
            s->idle_ns = 0;
            return 0;
        }
    }
    if (!live && s->cfg->bound != KBOUND_NONE && s->n_rs == 0 && !s->lookup && s->discovered)
        return RILL_DONE;
    /* nothing now: poll again soon, less often the longer nothing comes */
    s->idle_ns = s->idle_ns ? RILL_MIN(s->idle_ns * 2, IDLE_WAIT_MAX_NS) : 500000;
    *wait_ns_out = s->idle_ns;
    return RILL_AGAIN;
}

static int64_t ksrc_skipped(rill__source *src)
{
    return ((ksrc *)src)->bad.skipped;
}

/* ---- checkpoints ----------------------------------------------------------------------- */

/*
 * Position (little-endian): u32 magic "RKS1", u32 version, u32 generation (the run: each restore
 * counts one up), u8 discovered (the reader had looked up its partitions), u32 n, n times: u32
 * length and topic, i32 partition, i64 next offset, i64 stop offset (-1: none), u8 done; then
 * u32 m, m times the old readers it was restored from (what they knew decides where partitions
 * in no state start; only while it has not looked up its partitions itself): u32 generation,
 * u32 subtask, u32 parallelism, u8 finished, u8 discovered.
 * The splits are the ones the reader holds and the restored ones it has not taken up yet (their
 * partitions not seen yet): nothing restored is lost by a run that reads nothing.
 */
static void put_split(rill__enc *e, const ksplit *p)
{
    rill__enc_str(e, "topic", p->topic, SIZE_MAX);
    rill__enc_u32(e, (uint32_t)p->partition);
    rill__enc_i64(e, p->next);
    rill__enc_i64(e, p->stop);
    rill__enc_u8(e, p->done);
}

static int ksrc_position(rill__source *src, rill__buf *out)
{
    ksrc *s = (ksrc *)src;
    rill__enc e;
    rill__enc_init(&e, out);
    rill__enc_u32(&e, STATE_MAGIC);
    rill__enc_u32(&e, STATE_VERSION);
    rill__enc_u32(&e, s->gen);
    rill__enc_u8(&e, s->discovered);
    rill__enc_u32(&e, (uint32_t)(s->n_splits + s->n_rs));
    for (size_t i = 0; i < s->n_splits; i++)
        put_split(&e, &s->splits[i]);
    for (size_t i = 0; i < s->n_rs; i++)
        put_split(&e, &s->rs[i]);
    /* once the reader has looked up its partitions, what the old readers knew is no longer
     * needed: a partition in no state then appeared after that */
    size_t n_old = s->discovered ? 0 : s->n_old;
    rill__enc_u32(&e, (uint32_t)n_old);
    for (size_t i = 0; i < n_old; i++) {
        const old_reader *o = &s->old[i];
        rill__enc_u32(&e, o->gen);
        rill__enc_u32(&e, (uint32_t)o->subtask);
        rill__enc_u32(&e, (uint32_t)o->par);
        rill__enc_u8(&e, o->finished);
        rill__enc_u8(&e, o->discovered);
    }
    return 0;
}

static void add_old(ksrc *s, old_reader o)
{
    for (size_t i = 0; i < s->n_old; i++)
        if (s->old[i].gen == o.gen && s->old[i].subtask == o.subtask && s->old[i].par == o.par) {
            s->old[i].finished |= o.finished;
            s->old[i].discovered |= o.discovered;
            return;
        }
    rill__grow((void **)&s->old, &s->cap_old, s->n_old + 1, sizeof *s->old);
    s->old[s->n_old++] = o;
}

/* Takes what one old reader's position says about the partitions this reader owns now, and
 * what it knew; its generation in *gen. */
static int take_position(ksrc *s, const rill__source_pos *pos, uint32_t *gen)
{
    *gen = 0;
    if (pos->finished || !pos->data)
        return 0;
    rill__dec d;
    rill__dec_init(&d, pos->data, pos->len);
    uint32_t magic = rill__dec_u32(&d, "magic");
    uint32_t version = rill__dec_u32(&d, "version");
    if (d.rc == 0 && (magic != STATE_MAGIC || version != STATE_VERSION))
        return fail(s, RILL_ECORRUPT, "the checkpoint's state of old subtask %d/%d is not a "
                    "Kafka position (magic %08x, version %u)", pos->subtask + 1,
                    pos->parallelism, magic, version);
    *gen = rill__dec_u32(&d, "generation");
    bool discovered = rill__dec_u8(&d, "discovered") != 0;
    uint32_t n = rill__dec_u32(&d, "splits");
    if (d.rc == 0 && n > rill__dec_left(&d) / 25)
        rill__dec_fail_at(&d, "splits", d.off - 4);
    for (uint32_t i = 0; i < n && d.rc == 0; i++) {
        const uint8_t *t;
        size_t tl;
        rill__dec_bytes(&d, "topic", 249, &t, &tl);
        int32_t part = (int32_t)rill__dec_u32(&d, "partition");
        int64_t next = rill__dec_i64(&d, "next offset"), stop = rill__dec_i64(&d, "stop offset");
        bool done = rill__dec_u8(&d, "done") != 0;
        if (d.rc)
            break;
        if (part < 0 || next < 0 || stop < -1 || tl == 0) {
            rill__dec_fail_at(&d, "split", d.off);
            break;
        }
        char *topic = rill__xstrndup((const char *)t, tl);
        if (rill__kafka_owner(topic, part, s->par) != s->subtask || restored(s, topic, part)) {
            free(topic);
            continue;
        }
        rill__grow((void **)&s->rs, &s->cap_rs, s->n_rs + 1, sizeof *s->rs);
        s->rs[s->n_rs] = (ksplit){.topic = topic, .partition = part, .next = next,
                                  .stop = stop, .done = done, .rank = s->n_rs};
        s->n_rs++;
    }
    uint32_t m = rill__dec_u32(&d, "old readers");
    if (d.rc == 0 && m > rill__dec_left(&d) / 14)
        rill__dec_fail_at(&d, "old readers", d.off - 4);
    for (uint32_t i = 0; i < m && d.rc == 0; i++) {
        old_reader o;
        o.gen = rill__dec_u32(&d, "generation");
        o.subtask = (int)rill__dec_u32(&d, "subtask");
        o.par = (int)rill__dec_u32(&d, "parallelism");
        o.finished = rill__dec_u8(&d, "finished") != 0;
        o.discovered = rill__dec_u8(&d, "discovered") != 0;
        if (d.rc == 0 && (o.par < 1 || o.subtask < 0 || o.subtask >= o.par || o.gen >= *gen))
            rill__dec_fail_at(&d, "old reader", d.off);
        else if (d.rc == 0)
            add_old(s, o);
    }
    rill__err derr;
    if (rill__dec_finish(&d, "Kafka position", &derr) != 0)
        return fail(s, RILL_ECORRUPT, "the checkpoint's state of old subtask %d/%d: %s",
                    pos->subtask + 1, pos->parallelism, derr.msg);
    add_old(s, (old_reader){*gen, pos->subtask, pos->parallelism, false, discovered});
    return 0;
}

static int ksrc_seek_rescaled(rill__source *src, const rill__source_pos *pos, int n)
{
    ksrc *s = (ksrc *)src;
    s->restored = true;
    uint32_t newest = 0;
    for (int i = 0; i < n; i++) {
        uint32_t gen;
        int rc = take_position(s, &pos[i], &gen);
        if (rc)
            return rc;
        newest = RILL_MAX(newest, gen);
    }
    /* a reader that had finished left no position: it was of the same run as the others */
    for (int i = 0; i < n; i++)
        if (pos[i].finished || !pos[i].data)
            add_old(s, (old_reader){newest, pos[i].subtask, pos[i].parallelism, true, true});
    s->gen = newest + 1;
    return 0;
}

static int ksrc_seek(rill__source *src, const void *data, size_t len)
{
    ksrc *s = (ksrc *)src;
    rill__source_pos pos = {s->subtask, s->par, false, data, len};
    return ksrc_seek_rescaled(src, &pos, 1);
}

/* Checkpoint id took this position: its offsets go to the group when it completes. */
static void ksrc_positioned(rill__source *src, uint64_t id)
{
    ksrc *s = (ksrc *)src;
    if (!s->cfg->group || s->n_splits == 0)
        return;
    if (s->n_commits == MAX_PENDING_COMMITS) { /* the oldest is dropped: a newer one commits */
        rd_kafka_topic_partition_list_destroy(s->commits[0].offsets);
        memmove(s->commits, s->commits + 1, (MAX_PENDING_COMMITS - 1) * sizeof *s->commits);
        s->n_commits--;
    }
    rd_kafka_topic_partition_list_t *l = list_of(s->splits, s->n_splits);
    for (int i = 0; i < l->cnt; i++)
        l->elems[i].offset = s->splits[i].next;
    s->commits[s->n_commits++] = (pending_commit){id, l};
}

static int ksrc_checkpoint_complete(rill__source *src, uint64_t id)
{
    ksrc *s = (ksrc *)src;
    int newest = -1;
    for (int i = 0; i < s->n_commits; i++)
        if (s->commits[i].id <= id)
            newest = i;
    if (newest < 0 || !s->rk)
        return 0;
    /* asynchronous: for monitoring only (a failure is logged by librdkafka, nothing else) */
    rd_kafka_resp_err_t e = rd_kafka_commit(s->rk, s->commits[newest].offsets, 1);
    if (e)
        rill__log(RILL_LOG_WARN, "kafka source '%s': committing checkpoint %llu's offsets to "
                  "group %s: %s", s->uid, (unsigned long long)id, s->cfg->group,
                  rd_kafka_err2str(e));
    for (int i = 0; i <= newest; i++)
        rd_kafka_topic_partition_list_destroy(s->commits[i].offsets);
    memmove(s->commits, s->commits + newest + 1,
            (size_t)(s->n_commits - newest - 1) * sizeof *s->commits);
    s->n_commits -= newest + 1;
    return 0;
}

static void ksrc_destroy(rill__source *src)
{
    ksrc *s = (ksrc *)src;
    if (!s)
        return;
    for (size_t i = 0; i < s->n_splits; i++) {
        if (s->splits[i].q)
            rd_kafka_queue_destroy(s->splits[i].q);
        free(s->splits[i].topic);
    }
    free(s->splits);
    for (size_t i = 0; i < s->n_rs; i++)
        free(s->rs[i].topic);
    free(s->rs);
    free(s->old);
    for (int i = 0; i < s->n_commits; i++)
        rd_kafka_topic_partition_list_destroy(s->commits[i].offsets);
    lookup_orphan(s, &s->rk);
    if (s->rk) {
        rd_kafka_consumer_close(s->rk);
        rd_kafka_destroy(s->rk);
    }
    if (s->conf)
        rd_kafka_conf_destroy(s->conf);
    if (s->cfg->format != KFMT_RAW)
        rill__decoder_close(&s->dec);
    rill__batch_unref(s->value_batch);
    rill_schema_free(s->value_schema);
    if (s->key_batch) {
        rill__decoder_close(&s->kdec);
        rill__batch_unref(s->key_batch);
        rill_schema_free(s->key_schema);
    }
    rill__bad_fini(&s->bad);
    rill__buf_free(&s->scratch);
    free(s->msgs);
    free(s->uid);
    rill_schema_free(s->schema);
    free(s);
}

const rill__source_ops rill__kafka_source_ops = {
    .kind = "kafka",
    .validate = ksrc_validate,
    .create = ksrc_create,
    .poll = ksrc_poll,
    .skipped = ksrc_skipped,
    .position = ksrc_position,
    .seek = ksrc_seek,
    .seek_rescaled = ksrc_seek_rescaled,
    .restore_from_all = true,
    .positioned = ksrc_positioned,
    .checkpoint_complete = ksrc_checkpoint_complete,
    .destroy = ksrc_destroy,
    .cfg_free = rill__kafka_cfg_free,
};
