/*
 * kafka_sink.c - connectors layer: the Kafka sink, on librdkafka's producer. Each row is one
 * message: its value a CSV line (no header, no line break) or a JSON object, its key the text
 * of a field (key.fields), its timestamp the row's event time. At-least-once (the default):
 * every message is acknowledged by the brokers before the checkpoint whose barrier came after
 * it is acknowledged; a message that cannot be delivered fails the job, which then replays from
 * its checkpoint. "none" waits for nothing but the end of input.
 *
 * Exactly-once: Kafka transactions, one per subtask and checkpoint. librdkafka cannot take over
 * a transaction another process left open (it has no call to resume one from its producer id
 * and epoch, which Flink's KafkaSink uses after a failure), so a transaction that is flushed at
 * the barrier and committed when the checkpoint completes would be aborted, and its rows lost,
 * if the process died in between. So the rows of each checkpoint are written ahead into it
 * (the sink's state), and produced in one transaction when it completes, together with a
 * commit marker: the transaction also commits an offset (the epoch's number, counting up per
 * subtask) for the consumer group named like the transactional id, atomically with the rows
 * (Kafka's send_offsets_to_transaction). A restore reads the marker: epochs of the restored
 * checkpoint above it were not committed and are produced again, the others were. The
 * transactional id is "<prefix>-<sink uid>-<subtask>"; initialising it aborts whatever an
 * earlier process of that subtask left open (fencing). Readers see a checkpoint's rows once it
 * has completed and its transaction is committed (isolation.level=read_committed).
 *
 * Upsert (sink.changelog-mode = upsert, Flink's upsert-kafka): the key is the primary key's
 * fields; +I and +U rows are written as they are, a -D as a tombstone (the key with a NULL
 * value), a -U not at all; the partitioner is the key's hash, so a key's messages stay in order
 * in one partition.
 *
 * Epoch (a checkpoint's messages), in the state and in memory: per message i32 partition
 * (-1: the partitioner's), i64 timestamp, u8 flags (1: has a key, 2: a NULL value), bytes key,
 * bytes value. State
 * (little-endian): u32 magic "RKX1", u32 version, bytes transactional id, u64 last epoch
 * number, u32 n, n times: u64 epoch number, u64 checkpoint, u32 messages, bytes messages.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "kafka_int.h"

#define FULL_WAIT_MS 50 /* the producer's queue full: serve delivery reports this long */
#define TXN_MAGIC 0x31584b52u /* "RKX1" */
#define TXN_VERSION 1u

/* One checkpoint's messages, written ahead. */
typedef struct epoch {
    uint64_t seq;  /* the subtask's epoch number: the commit marker's value */
    uint64_t ckpt; /* the checkpoint whose barrier closed it */
    uint32_t n;
    rill__buf msgs;
} epoch;

typedef struct ksink {
    rill__sink base;
    const rill__kafka_cfg *cfg;
    rill_schema *schema; /* referenced */
    rill__err *err;
    char *uid;
    int subtask, par;
    rd_kafka_t *rk;
    rd_kafka_topic_t *topic;
    rill_schema *key_schema, *value_schema; /* the key's fields; the value's (EXCEPT_KEY) */
    rill_batch *key_row, *value_row;         /* one row each, to encode them from */
    int32_t n_partitions; /* fixed and round-robin partitioners */
    uint64_t rr;
    rill__buf line;
    int64_t failed;       /* messages librdkafka could not deliver */
    char first_fail[512]; /* why the first of them failed */
    /* exactly-once */
    bool eo;
    char *tid;        /* this subtask's transactional id, and its marker's group */
    rd_kafka_t *txp;  /* its transactional producer, once a transaction was run */
    rd_kafka_t *marker; /* a consumer of its marker's group, once used */
    rill__buf cur;    /* the open epoch's messages */
    uint32_t n_cur;
    epoch *pending;   /* closed by a barrier, waiting for their checkpoint to complete */
    size_t n_pending, cap_pending;
    uint64_t seq;     /* the last epoch number used (or committed, by the marker) */
    bool seq_known;   /* the marker has been read */
} ksink;

static int fail(ksink *s, int code, const char *fmt, ...) RILL_PRINTF(3, 4);
static int fail(ksink *s, int code, const char *fmt, ...)
{
    char msg[RILL_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return rill__err_set(s->err, code, "kafka sink '%s' (subtask %d/%d), topic %s: %s", s->uid,
                         s->subtask + 1, s->par, s->cfg->topics[0], msg);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    ksink *s = opaque;
    if (!m->err)
        return;
    if (s->failed++ == 0)
        snprintf(s->first_fail, sizeof s->first_fail, "partition %d: %s", m->partition,
                 rd_kafka_err2str(m->err));
}

static int ksink_validate(const void *cfg, const rill_schema *schema, rill__err *err)
{
    return rill__kafka_cfg_bind((rill__kafka_cfg *)cfg, schema, true, err);
}

/* The topic's partition count (the fixed and round-robin partitioners). */
static int partition_count(ksink *s)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(s->rk, 0, s->topic, &md, (int)s->cfg->timeout_ms);
    if (e)
        return fail(s, RILL_EIO, "cannot read its partitions: %s", rd_kafka_err2str(e));
    int rc = 0;
    if (md->topic_cnt != 1 || md->topics[0].err || md->topics[0].partition_cnt < 1)
        rc = fail(s, RILL_ENOENT, "the topic does not exist (%s)",
                  md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "no metadata");
    else
        s->n_partitions = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return rc;
}

static int ksink_create(const void *cfg, const rill_schema *schema, const rill__conn_init *init,
                        rill__sink **out)
{
    *out = NULL;
    const rill__kafka_cfg *c = cfg;
    ksink *s = rill__xcalloc(1, sizeof *s);
    s->base.ops = &rill__kafka_sink_ops;
    s->cfg = c;
    s->schema = rill__schema_ref(schema);
    s->err = init->err;
    s->uid = rill__xstrdup(init->uid ? init->uid : "kafka");
    s->subtask = init->subtask;
    s->par = init->parallelism > 0 ? init->parallelism : 1;
    if (c->n_key > 0 && c->key_format != KFMT_RAW) {
        s->key_schema = rill__kafka_sub_schema(schema, c->key_idx, c->n_key);
        s->key_row = rill__batch_new(s->key_schema, 1);
    }
    if (c->except_key) {
        s->value_schema = rill__kafka_sub_schema(schema, c->value_idx, c->n_value);
        s->value_row = rill__batch_new(s->value_schema, 1);
    }
    s->rr = (uint64_t)s->subtask;
    s->eo = c->guarantee == KSINK_EXACTLY_ONCE;
    if (s->eo)
        s->tid = rill__xasprintf("%s-%s-%d", c->txn_prefix, s->uid, s->subtask);
    /* Kafka's own key partitioning (murmur2, as the Java clients and Flink), unless set */
    const char *extra[] = {"partitioner", "murmur2_random", NULL};
    bool own_partitioner = false;
    for (int i = 0; i < c->n_props; i++)
        own_partitioner |= !strcmp(c->props[2 * i], "partitioner");
    rd_kafka_conf_t *conf = rill__kafka_conf(c, own_partitioner ? NULL : extra, "kafka sink",
                                             init->err);
    int rc = conf ? 0 : RILL_ECONFIG;
    char errstr[512];
    if (rc == 0) {
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        rd_kafka_conf_set_opaque(conf, s);
        s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
        if (!s->rk) { /* the configuration is still ours */
            rd_kafka_conf_destroy(conf);
            rc = rill__err_set(init->err, RILL_ECONFIG, "kafka sink '%s': %s", s->uid, errstr);
        }
    }
    if (rc == 0 && !(s->topic = rd_kafka_topic_new(s->rk, c->topics[0], NULL)))
        rc = fail(s, RILL_EIO, "%s", rd_kafka_err2str(rd_kafka_last_error()));
    if (rc == 0 && c->partitioner != KPART_DEFAULT)
        rc = partition_count(s);
    if (rc) {
        rill__kafka_sink_ops.destroy(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

/* What librdkafka could not deliver fails the job: at-least-once must not lose a row. */
static int check_delivered(ksink *s)
{
    if (s->failed == 0)
        return 0;
    return fail(s, RILL_EIO, "%lld message%s could not be delivered (first: %s)",
                (long long)s->failed, s->failed == 1 ? "" : "s", s->first_fail);
}

/* The partition of the next message (RD_KAFKA_PARTITION_UA: the producer's partitioner). */
static int32_t next_partition(ksink *s)
{
    if (s->cfg->partitioner == KPART_FIXED)
        return s->subtask % s->n_partitions;
    if (s->cfg->partitioner == KPART_ROUND_ROBIN)
        return (int32_t)(s->rr++ % (uint64_t)s->n_partitions);
    return RD_KAFKA_PARTITION_UA;
}

/* One message to producer rk (the sink's own: its topic handle; a transactional one: the topic
 * by name), waiting while its queue is full. */
static int produce_on(ksink *s, rd_kafka_t *rk, int32_t part, const char *v, size_t vlen,
                      const char *k, size_t klen, int64_t ts)
{
    rd_kafka_vu_t vu[6] = {
        {.vtype = RD_KAFKA_VTYPE_RKT, .u.rkt = s->topic},
        {.vtype = RD_KAFKA_VTYPE_PARTITION, .u.i32 = part},
        {.vtype = RD_KAFKA_VTYPE_MSGFLAGS, .u.i = RD_KAFKA_MSG_F_COPY},
        {.vtype = RD_KAFKA_VTYPE_VALUE, .u.mem = {(void *)v, vlen}},
        {.vtype = RD_KAFKA_VTYPE_KEY, .u.mem = {(void *)k, klen}},
        {.vtype = RD_KAFKA_VTYPE_TIMESTAMP, .u.i64 = ts},
    };
    if (rk != s->rk)
        vu[0] = (rd_kafka_vu_t){.vtype = RD_KAFKA_VTYPE_TOPIC, .u.cstr = s->cfg->topics[0]};
    int64_t deadline = 0;
    for (;;) {
        rd_kafka_error_t *err = rd_kafka_produceva(rk, vu, 6);
        rd_kafka_resp_err_t e = err ? rd_kafka_error_code(err) : RD_KAFKA_RESP_ERR_NO_ERROR;
        if (err)
            rd_kafka_error_destroy(err);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            return 0;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return fail(s, RILL_EIO, "producing a message: %s", rd_kafka_err2str(e));
        /* back-pressure: the brokers take what is queued; not for ever (unreachable) */
        int64_t now = rill__mono_ns();
        if (!deadline)
            deadline = now + s->cfg->timeout_ms * 1000000;
        else if (now > deadline)
            return fail(s, RILL_EIO, "the producer's queue stayed full for %lld ms (%d messages "
                        "waiting: are the brokers reachable?)", (long long)s->cfg->timeout_ms,
                        rd_kafka_outq_len(rk));
        rd_kafka_poll(rk, FULL_WAIT_MS);
        int rc = check_delivered(s);
        if (rc)
            return rc;
    }
}

/* Exactly-once: one message into the open epoch. */
static void write_ahead(ksink *s, int32_t part, const char *v, size_t vlen, const char *k,
                        size_t klen, int64_t ts)
{
    rill__enc e;
    rill__enc_init(&e, &s->cur);
    rill__enc_u32(&e, (uint32_t)part);
    rill__enc_i64(&e, ts);
    rill__enc_u8(&e, (uint8_t)((k != NULL) | (v == NULL) << 1));
    rill__enc_bytes(&e, "key", k ? k : "", k ? klen : 0, SIZE_MAX);
    rill__enc_bytes(&e, "value", v ? v : "", v ? vlen : 0, SIZE_MAX);
    s->n_cur++;
}

/* Appends the encoding of fields idx[0..n) of row r: a CSV line (no line break) or JSON object
 * of them (through a one-row batch of their schema, sub; NULL: they are the whole row), or, raw,
 * the one field's text. */
static int encode(ksink *s, const rill_schema *sub, rill_batch *one, kafka_format fmt,
                  rill_row *r, const int *idx, int n, rill__buf *out)
{
    const rill_schema *schema = s->schema;
    rill_row *row = r;
    rill_row tmp;
    if (fmt == KFMT_RAW) {
        int f = idx[0];
        rill_type t = rill_schema_field_type(schema, f);
        size_t len;
        if (rill_row_is_null(r, f))
            return 0;
        if (t == RILL_T_STRING) {
            const char *str = rill_row_str(r, f, &len); /* len is set by this call */
            rill__buf_append(out, str, len);
        }
        else if (t == RILL_T_BOOL)
            rill__buf_printf(out, "%s", r->v[f] ? "true" : "false");
        else if (t == RILL_T_DOUBLE)
            rill__buf_printf(out, "%.17g", rill_row_f64(r, f));
        else
            rill__buf_printf(out, "%lld", (long long)(int64_t)r->v[f]);
        return 0;
    }
    if (sub) {
        rill__batch_clear(one);
        tmp = rill__batch_append(one);
        int rc = rill__kafka_project(&tmp, r, schema, idx, n);
        if (rc)
            return fail(s, rc, "encoding a message: %s", rill_strerror(rc));
        row = &tmp;
        schema = sub;
    }
    size_t at = out->len;
    if (fmt == KFMT_JSON)
        rill__encode_json_row(schema, row, out);
    else
        rill__encode_csv_row(schema, row, s->cfg->delim, out);
    if (out->len > at && out->data[out->len - 1] == '\n')
        out->len--;
    return 0;
}

static int ksink_write(rill__sink *sink, rill_batch *b)
{
    ksink *s = (ksink *)sink;
    const rill__kafka_cfg *c = s->cfg;
    int rc = check_delivered(s);
    for (uint32_t i = 0; i < b->n_rows && rc == 0; i++) {
        rill_row r = rill__batch_row(b, i);
        rill__buf *l = &s->line;
        rill_rowkind kind = b->has_kinds ? rill__batch_kind(b, i) : RILL_ROW_INSERT;
        if (c->upsert && kind == RILL_ROW_UPDATE_BEFORE)
            continue; /* upsert: the +U after it replaces the key's value */
        bool tombstone = c->upsert && kind == RILL_ROW_DELETE;
        l->len = 0;
        if (!tombstone)
            rc = encode(s, s->value_schema, s->value_row, c->format, &r, c->value_idx,
                        c->n_value, l);
        size_t vlen = l->len, klen = 0;
        const char *key = NULL;
        if (rc == 0 && c->n_key > 0) { /* the key's text, after the value in the same buffer */
            rc = encode(s, s->key_schema, s->key_row, c->key_format, &r, c->key_idx, c->n_key,
                        l);
            key = l->data + vlen;
            klen = l->len - vlen;
            if (c->key_format == KFMT_RAW && rill_row_is_null(&r, c->key_idx[0]))
                key = NULL; /* a NULL key field: no key */
        }
        if (rc)
            break;
        int64_t ts = c->ts_from_event_time && b->has_ts && b->ts[i] >= 0 ? b->ts[i] : 0;
        int32_t part = next_partition(s);
        const char *val = tombstone ? NULL : l->data ? l->data : "";
        if (s->eo)
            write_ahead(s, part, val, vlen, key, klen, ts);
        else
            rc = produce_on(s, s->rk, part, val, vlen, key, klen, ts);
    }
    rd_kafka_poll(s->rk, 0); /* delivery reports */
    return rc;
}

/* Every message handed to librdkafka is acknowledged (or the job fails). */
static int flush_all(ksink *s, const char *why)
{
    rd_kafka_resp_err_t e = rd_kafka_flush(s->rk, (int)s->cfg->timeout_ms);
    if (e)
        return fail(s, RILL_EIO, "%s: %d messages not acknowledged by the brokers at %s after "
                    "%lld ms (are they reachable?): %s", why, rd_kafka_outq_len(s->rk),
                    s->cfg->bootstrap, (long long)s->cfg->timeout_ms, rd_kafka_err2str(e));
    return check_delivered(s);
}

/* ---- exactly-once: transactions ------------------------------------------------------- */

/* A producer of transactional id tid, its transactions initialised (which aborts whatever an
 * earlier producer of tid left open, and fences that one off). */
static int txn_producer(ksink *s, const char *tid, rd_kafka_t **out)
{
    *out = NULL;
    const char *extra[] = {"transactional.id", tid, "partitioner", "murmur2_random", NULL};
    bool own_partitioner = false;
    for (int i = 0; i < s->cfg->n_props; i++)
        own_partitioner |= !strcmp(s->cfg->props[2 * i], "partitioner");
    if (own_partitioner)
        extra[2] = NULL;
    rill__err e = {0};
    rd_kafka_conf_t *conf = rill__kafka_conf(s->cfg, extra, "kafka sink", &e);
    if (!conf)
        return fail(s, RILL_ECONFIG, "%s", e.msg);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, s);
    char errstr[512];
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!p) {
        rd_kafka_conf_destroy(conf);
        return fail(s, RILL_ECONFIG, "transactional producer %s: %s", tid, errstr);
    }
    rd_kafka_error_t *err = rd_kafka_init_transactions(p, (int)s->cfg->timeout_ms);
    if (err) {
        int rc = fail(s, RILL_EIO, "transactional id %s: initialising its transactions: %s", tid,
                      rd_kafka_error_string(err));
        rd_kafka_error_destroy(err);
        rd_kafka_destroy(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* A consumer of group tid, for its commit marker. */
static int marker_client(ksink *s, const char *tid, rd_kafka_t **out)
{
    *out = NULL;
    /* read_committed: the marker is read "stable" (a transaction that holds one pending is
     * waited for by the broker), whatever the user's isolation.level */
    const char *extra[] = {"group.id", tid, "enable.auto.commit", "false", "isolation.level",
                           "read_committed", NULL};
    rill__err e = {0};
    rd_kafka_conf_t *conf = rill__kafka_conf(s->cfg, extra, "kafka sink", &e);
    if (!conf)
        return fail(s, RILL_ECONFIG, "%s", e.msg);
    char errstr[512];
    *out = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (*out)
        return 0;
    rd_kafka_conf_destroy(conf);
    return fail(s, RILL_ECONFIG, "the commit marker of %s: %s", tid, errstr);
}

/* The commit marker of tid: the number of the last epoch its transactions committed (0:
 * none). */
static int read_marker(ksink *s, const char *tid, uint64_t *out)
{
    *out = 0;
    bool own = (s->tid && !strcmp(tid, s->tid));
    rd_kafka_t *c = own ? s->marker : NULL;
    int rc = c ? 0 : marker_client(s, tid, &c);
    if (rc)
        return rc;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, s->cfg->topics[0], 0);
    rd_kafka_resp_err_t err = rd_kafka_committed(c, l, (int)s->cfg->timeout_ms);
    if (!err)
        err = l->elems[0].err;
    if (err)
        rc = fail(s, RILL_EIO, "reading the commit marker of %s (group %s): %s", tid, tid,
                  rd_kafka_err2str(err));
    else if (l->elems[0].offset > 0)
        *out = (uint64_t)l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    if (own)
        s->marker = c;
    else
        rd_kafka_destroy(c);
    return rc;
}

/* After a transaction committed: its marker once more, outside it. A broker has it already
 * (the transaction committed it); librdkafka's mock cluster, which the tests run on, ignores
 * offsets committed in transactions, and so would see every epoch as never committed. */
static void repeat_marker(ksink *s, const char *tid, uint64_t seq)
{
    rd_kafka_t *c = (s->tid && !strcmp(tid, s->tid)) ? s->marker : NULL;
    if (!c && marker_client(s, tid, &c) != 0)
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, s->cfg->topics[0], 0)->offset = (int64_t)seq;
    rd_kafka_resp_err_t err = rd_kafka_commit(c, l, 0);
    if (err)
        rill__log(RILL_LOG_WARN, "kafka sink '%s': repeating the commit marker of %s: %s",
                  s->uid, tid, rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(l);
    if ((s->tid && !strcmp(tid, s->tid)))
        s->marker = c;
    else
        rd_kafka_destroy(c);
}

/* Produces epoch e in one transaction of producer p (id tid), with its commit marker. */
static int run_txn(ksink *s, rd_kafka_t *p, const char *tid, const epoch *e)
{
    rd_kafka_error_t *err = rd_kafka_begin_transaction(p);
    int rc = 0;
    rill__dec d;
    rill__dec_init(&d, e->msgs.data, e->msgs.len);
    for (uint32_t i = 0; !err && rc == 0 && i < e->n; i++) {
        int32_t part = (int32_t)rill__dec_u32(&d, "partition");
        int64_t ts = rill__dec_i64(&d, "timestamp");
        unsigned flags = rill__dec_u8(&d, "has key");
        bool has_key = flags & 1u, null_value = flags & 2u;
        const uint8_t *k, *v;
        size_t kl, vl;
        rill__dec_bytes(&d, "key", SIZE_MAX, &k, &kl);
        rill__dec_bytes(&d, "value", SIZE_MAX, &v, &vl);
        if (d.rc)
            rc = fail(s, RILL_ECORRUPT, "epoch %llu of %s: message %u is malformed",
                      (unsigned long long)e->seq, tid, i);
        else
            rc = produce_on(s, p, part, null_value ? NULL : (const char *)v, vl,
                            has_key ? (const char *)k : NULL, kl, ts);
    }
    if (!err && rc == 0) { /* the marker, atomically with the rows */
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, s->cfg->topics[0], 0)->offset = (int64_t)e->seq;
        rd_kafka_consumer_group_metadata_t *g = rd_kafka_consumer_group_metadata_new(tid);
        err = rd_kafka_send_offsets_to_transaction(p, l, g, (int)s->cfg->timeout_ms);
        rd_kafka_consumer_group_metadata_destroy(g);
        rd_kafka_topic_partition_list_destroy(l);
    }
    if (!err && rc == 0)
        err = rd_kafka_commit_transaction(p, (int)s->cfg->timeout_ms);
    if (err) {
        rc = fail(s, RILL_EIO, "transaction %s, epoch %llu (checkpoint %llu): %s", tid,
                  (unsigned long long)e->seq, (unsigned long long)e->ckpt,
                  rd_kafka_error_string(err));
        if (rd_kafka_error_txn_requires_abort(err)) {
            rd_kafka_error_t *a = rd_kafka_abort_transaction(p, (int)s->cfg->timeout_ms);
            if (a)
                rd_kafka_error_destroy(a);
        }
        rd_kafka_error_destroy(err);
    } else if (rc) {
        rd_kafka_error_t *a = rd_kafka_abort_transaction(p, (int)s->cfg->timeout_ms);
        if (a)
            rd_kafka_error_destroy(a);
    }
    if (rc == 0)
        rc = check_delivered(s);
    if (rc == 0)
        repeat_marker(s, tid, e->seq);
    if (rc == 0)
        rill__log(RILL_LOG_INFO, "kafka sink '%s' (subtask %d/%d): transaction %s committed "
                  "epoch %llu of checkpoint %llu: %u messages", s->uid, s->subtask + 1, s->par,
                  tid, (unsigned long long)e->seq, (unsigned long long)e->ckpt, e->n);
    return rc;
}

/* The marker read once: epoch numbers go on above everything committed under this id. */
static int know_seq(ksink *s)
{
    if (s->seq_known)
        return 0;
    /* fence first: whatever an earlier process of this id left open is aborted (or, being
     * committed, completes), so the marker read next is final */
    int rc = s->txp ? 0 : txn_producer(s, s->tid, &s->txp);
    if (rc)
        return rc;
    uint64_t marker;
    rc = read_marker(s, s->tid, &marker);
    if (rc == 0) {
        s->seq = RILL_MAX(s->seq, marker);
        s->seq_known = true;
    }
    return rc;
}

/* Closes the open epoch under checkpoint id (nothing when it is empty). */
static int close_epoch(ksink *s, uint64_t id)
{
    if (s->n_cur == 0)
        return 0;
    int rc = know_seq(s);
    if (rc)
        return rc;
    rill__grow((void **)&s->pending, &s->cap_pending, s->n_pending + 1, sizeof *s->pending);
    s->pending[s->n_pending++] = (epoch){++s->seq, id, s->n_cur, s->cur};
    s->cur = (rill__buf){0};
    s->n_cur = 0;
    return 0;
}

/* Commits the pending epochs of checkpoints up to id, oldest first. */
static int commit_upto(ksink *s, uint64_t id)
{
    size_t done = 0;
    int rc = 0;
    while (rc == 0 && done < s->n_pending && s->pending[done].ckpt <= id) {
        if (!s->txp)
            rc = txn_producer(s, s->tid, &s->txp);
        if (rc == 0)
            rc = run_txn(s, s->txp, s->tid, &s->pending[done]);
        if (rc == 0)
            rill__buf_free(&s->pending[done++].msgs);
    }
    if (done > 0) {
        memmove(s->pending, s->pending + done, (s->n_pending - done) * sizeof *s->pending);
        s->n_pending -= done;
    }
    return rc;
}

static int ksink_finish(rill__sink *sink)
{
    ksink *s = (ksink *)sink;
    if (!s->eo)
        return flush_all(s, "end of input");
    /* rows after the final checkpoint (or all, without checkpointing) */
    int rc = close_epoch(s, UINT64_MAX);
    return rc ? rc : commit_upto(s, UINT64_MAX);
}

static int ksink_pre_commit(rill__sink *sink, uint64_t id, rill__buf *state)
{
    ksink *s = (ksink *)sink;
    if (s->cfg->guarantee == KSINK_NONE)
        return 0;
    if (!s->eo) {
        char why[64];
        snprintf(why, sizeof why, "checkpoint %llu", (unsigned long long)id);
        return flush_all(s, why);
    }
    int rc = close_epoch(s, id);
    if (rc)
        return rc;
    rill__enc e;
    rill__enc_init(&e, state);
    rill__enc_u32(&e, TXN_MAGIC);
    rill__enc_u32(&e, TXN_VERSION);
    rill__enc_str(&e, "transactional id", s->tid, SIZE_MAX);
    rill__enc_u64(&e, s->seq);
    rill__enc_u32(&e, (uint32_t)s->n_pending);
    for (size_t i = 0; i < s->n_pending; i++) {
        const epoch *p = &s->pending[i];
        rill__enc_u64(&e, p->seq);
        rill__enc_u64(&e, p->ckpt);
        rill__enc_u32(&e, p->n);
        rill__enc_bytes(&e, "messages", p->msgs.data, p->msgs.len, SIZE_MAX);
    }
    return 0;
}

static int ksink_commit(rill__sink *sink, uint64_t id)
{
    ksink *s = (ksink *)sink;
    return s->eo ? commit_upto(s, id) : 0;
}

/* Each message of epoch e decodes (the epoch's own encoding, checked before it is produced). */
static int epoch_check(const epoch *e, rill__err *err)
{
    rill__dec d;
    rill__dec_init(&d, e->msgs.data, e->msgs.len);
    for (uint32_t i = 0; i < e->n && d.rc == 0; i++) {
        const uint8_t *p;
        size_t n;
        rill__dec_u32(&d, "partition");
        rill__dec_i64(&d, "timestamp");
        rill__dec_u8(&d, "has key");
        rill__dec_bytes(&d, "key", SIZE_MAX, &p, &n);
        rill__dec_bytes(&d, "value", SIZE_MAX, &p, &n);
    }
    rill__err derr;
    if (rill__dec_finish(&d, "messages", &derr) != 0)
        return rill__err_set(err, RILL_ECORRUPT, "epoch %llu: %s", (unsigned long long)e->seq,
                             derr.msg);
    return 0;
}

/* One old subtask's state: its transactional id, last epoch number and pending epochs (new
 * buffers). RILL_ECORRUPT or RILL_ENOTSUP, with err. */
static int parse_state(const void *state, size_t len, char **tid_out, uint64_t *last_out,
                       epoch **v_out, size_t *n_out, rill__err *err)
{
    *tid_out = NULL;
    *v_out = NULL;
    *n_out = 0;
    rill__dec d;
    rill__dec_init(&d, state, len);
    uint32_t magic = rill__dec_u32(&d, "magic"), version = rill__dec_u32(&d, "version");
    if (d.rc == 0 && (magic != TXN_MAGIC || version != TXN_VERSION))
        return rill__err_set(err, RILL_ECORRUPT, "not the exactly-once Kafka sink's state "
                             "(magic %08x, version %u)", magic, version);
    const uint8_t *t;
    size_t tl;
    rill__dec_bytes(&d, "transactional id", 4096, &t, &tl);
    uint64_t last = rill__dec_u64(&d, "last epoch");
    uint32_t n = rill__dec_u32(&d, "epochs");
    if (d.rc == 0 && (tl == 0 || memchr(t, 0, tl)))
        rill__dec_fail_at(&d, "transactional id", d.off);
    if (d.rc == 0 && n > rill__dec_left(&d) / 24)
        rill__dec_fail_at(&d, "epochs", d.off - 4);
    epoch *v = NULL;
    size_t n_v = 0, cap_v = 0;
    int rc = 0;
    for (uint32_t i = 0; i < n && d.rc == 0 && rc == 0; i++) {
        epoch e = {0};
        e.seq = rill__dec_u64(&d, "epoch");
        e.ckpt = rill__dec_u64(&d, "checkpoint");
        e.n = rill__dec_u32(&d, "messages");
        const uint8_t *m;
        size_t ml;
        rill__dec_bytes(&d, "messages", SIZE_MAX, &m, &ml);
        if (d.rc)
            break;
        if (e.seq == 0 || e.seq > last || (n_v && e.seq <= v[n_v - 1].seq)) {
            rill__dec_fail_at(&d, "epoch", d.off);
            break;
        }
        rill__buf_append(&e.msgs, m, ml);
        rill__grow((void **)&v, &cap_v, n_v + 1, sizeof *v);
        v[n_v++] = e;
        rc = epoch_check(&e, err);
    }
    rill__err derr;
    if (rc == 0 && rill__dec_finish(&d, "exactly-once Kafka sink state", &derr) != 0)
        rc = rill__err_set(err, RILL_ECORRUPT, "%s", derr.msg);
    if (rc) {
        for (size_t i = 0; i < n_v; i++)
            rill__buf_free(&v[i].msgs);
        free(v);
        return rc;
    }
    *tid_out = rill__xstrndup((const char *)t, tl);
    *last_out = last;
    *v_out = v;
    *n_out = n_v;
    return 0;
}

int rill__kafka_txn_state_check(const void *state, size_t len, rill__err *err)
{
    char *tid;
    uint64_t last;
    epoch *v;
    size_t n;
    int rc = parse_state(state, len, &tid, &last, &v, &n, err);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            rill__buf_free(&v[i].msgs);
        free(v);
        free(tid);
    }
    return rc;
}

/* A restore: the new subtask takes over old subtask j when j mod parallelism == subtask; the
 * epochs j's state holds (its checkpoint completed) are committed unless its marker says they
 * were, under j's transactional id. */
static int ksink_restore(rill__sink *sink, int old_subtask, int old_par, const void *state,
                         size_t len)
{
    ksink *s = (ksink *)sink;
    if (old_subtask % s->par != s->subtask || len == 0)
        return 0;
    char *tid;
    uint64_t last, marker = 0;
    epoch *v;
    size_t n_v;
    rill__err e = {0};
    if (parse_state(state, len, &tid, &last, &v, &n_v, &e) != 0)
        return fail(s, e.code, "the state of old subtask %d/%d: %s", old_subtask + 1, old_par,
                    e.msg);
    /* fence the old id first (its open transaction aborted, or a committing one completed),
     * then its marker is final: epochs above it were not committed */
    rd_kafka_t *p = NULL;
    bool own = (s->tid && !strcmp(tid, s->tid));
    int rc = 0;
    if (!s->eo) { /* an exactly-once sink's state in an at-least-once sink: only when every
                   * epoch it holds was committed (after stop --drain, say) */
        if (n_v > 0 && (rc = read_marker(s, tid, &marker)) == 0 && v[n_v - 1].seq > marker)
            rc = fail(s, RILL_ECONFIG, "the checkpoint holds transactions of an exactly-once "
                      "Kafka sink (old subtask %d/%d, %s) not committed yet (epochs above %llu), "
                      "and this sink is %s: restore with sink.delivery-guarantee exactly-once "
                      "(after stop --drain and one completed checkpoint, the guarantee can "
                      "change)", old_subtask + 1, old_par, tid, (unsigned long long)marker,
                      s->cfg->guarantee == KSINK_NONE ? "none" : "at-least-once");
        for (size_t i = 0; i < n_v; i++)
            rill__buf_free(&v[i].msgs);
        free(v);
        free(tid);
        return rc;
    }
    rc = own && s->txp ? 0 : txn_producer(s, tid, own ? &s->txp : &p);
    if (rc == 0 && n_v > 0)
        rc = read_marker(s, tid, &marker);
    /* every epoch before the first pending one was committed, and moved the marker: one
     * below that means it is gone (expired after the broker's offsets.retention.minutes with
     * no commit, or deleted), and which epochs made it cannot be told */
    if (rc == 0 && n_v > 0 && marker + 1 < v[0].seq)
        rc = fail(s, RILL_ESTATE, "the commit marker of %s (consumer group %s, offset of "
                  "partition 0) says epoch %llu, but the checkpoint's first pending epoch is "
                  "%llu: the marker is gone (offsets expire after the broker's "
                  "offsets.retention.minutes without a commit), so whether epochs %llu.. were "
                  "committed cannot be told; not writing them again", tid, tid,
                  (unsigned long long)marker, (unsigned long long)v[0].seq,
                  (unsigned long long)v[0].seq);
    for (size_t i = 0; rc == 0 && i < n_v; i++) {
        if (v[i].seq <= marker) {
            rill__log(RILL_LOG_INFO, "kafka sink '%s' (subtask %d/%d): epoch %llu of %s "
                      "(checkpoint %llu) was committed before the failure", s->uid,
                      s->subtask + 1, s->par, (unsigned long long)v[i].seq, tid,
                      (unsigned long long)v[i].ckpt);
            continue;
        }
        rc = run_txn(s, own ? s->txp : p, tid, &v[i]);
    }
    if (p)
        rd_kafka_destroy(p);
    if (rc == 0 && own) { /* this subtask's numbers go on above the old ones */
        s->seq = RILL_MAX(s->seq, RILL_MAX(last, marker));
        s->seq_known = n_v > 0;
    }
    for (size_t i = 0; i < n_v; i++)
        rill__buf_free(&v[i].msgs);
    free(v);
    free(tid);
    return rc;
}

static void ksink_destroy(rill__sink *sink)
{
    ksink *s = (ksink *)sink;
    if (!s)
        return;
    if (s->topic)
        rd_kafka_topic_destroy(s->topic);
    if (s->rk) {
        rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_destroy(s->rk);
    }
    if (s->txp)
        rd_kafka_destroy(s->txp); /* an open transaction is aborted by the next one of its id */
    if (s->marker)
        rd_kafka_destroy(s->marker);
    for (size_t i = 0; i < s->n_pending; i++)
        rill__buf_free(&s->pending[i].msgs);
    free(s->pending);
    rill__buf_free(&s->cur);
    free(s->tid);
    rill__buf_free(&s->line);
    rill__batch_unref(s->key_row);
    rill__batch_unref(s->value_row);
    rill_schema_free(s->key_schema);
    rill_schema_free(s->value_schema);
    free(s->uid);
    rill_schema_free(s->schema);
    free(s);
}

const rill__sink_ops rill__kafka_sink_ops = {
    .kind = "kafka",
    .validate = ksink_validate,
    .create = ksink_create,
    .write = ksink_write,
    .finish = ksink_finish,
    .pre_commit = ksink_pre_commit,
    .commit = ksink_commit,
    .restore = ksink_restore,
    .destroy = ksink_destroy,
    .cfg_free = rill__kafka_cfg_free,
};
