/*
 * kafka_sink.c - connectors layer: the Kafka sink, on librdkafka's producer. Each row is one
 * message: its value a CSV line (no header, no line break) or a JSON object, its key the text
 * of a field (key.fields), its timestamp the row's event time. At-least-once (the default):
 * every message is acknowledged by the brokers before the checkpoint whose barrier came after
 * it is acknowledged; a message that cannot be delivered fails the job, which then replays from
 * its checkpoint. "none" waits for nothing but the end of input.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "kafka_int.h"

#define FULL_WAIT_MS 50 /* the producer's queue full: serve delivery reports this long */

typedef struct ksink {
    rill__sink base;
    const rill__kafka_cfg *cfg;
    rill_schema *schema; /* referenced */
    rill__err *err;
    char *uid;
    int subtask, par;
    rd_kafka_t *rk;
    rd_kafka_topic_t *topic;
    int key_field;
    int32_t n_partitions; /* fixed and round-robin partitioners */
    uint64_t rr;
    rill__buf line;
    int64_t failed;       /* messages librdkafka could not deliver */
    char first_fail[512]; /* why the first of them failed */
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

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    int l = level <= 3 ? RILL_LOG_ERROR : level == 4 ? RILL_LOG_WARN
                                        : level <= 6 ? RILL_LOG_INFO : RILL_LOG_DEBUG;
    rill__log(l, "librdkafka %s: %s", fac, buf);
}

static int ksink_validate(const void *cfg, const rill_schema *schema, rill__err *err)
{
    rill__kafka_cfg *c = (rill__kafka_cfg *)cfg;
    if (c->format == KFMT_RAW)
        return rill__err_set(err, RILL_ECONFIG, "kafka sink: format 'raw' is for sources (csv "
                             "or json here)");
    if (c->guarantee == KSINK_EXACTLY_ONCE)
        return rill__err_set(err, RILL_ENOTSUP, "kafka sink: sink.delivery-guarantee "
                             "'exactly-once' is not implemented yet (at-least-once is)");
    return rill__kafka_cfg_bind(c, schema, true, err);
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
    s->key_field = c->key_field ? rill_schema_index(schema, c->key_field) : -1;
    s->rr = (uint64_t)s->subtask;
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
        rd_kafka_conf_set_log_cb(conf, on_log);
        rd_kafka_conf_set_opaque(conf, s);
        s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
        if (!s->rk)
            rc = rill__err_set(init->err, RILL_ECONFIG, "kafka sink '%s': %s", s->uid, errstr);
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

static int produce(ksink *s, const char *v, size_t vlen, const char *k, size_t klen, int64_t ts)
{
    int32_t part = RD_KAFKA_PARTITION_UA;
    if (s->cfg->partitioner == KPART_FIXED)
        part = s->subtask % s->n_partitions;
    else if (s->cfg->partitioner == KPART_ROUND_ROBIN)
        part = (int32_t)(s->rr++ % (uint64_t)s->n_partitions);
    rd_kafka_vu_t vu[6] = {
        {.vtype = RD_KAFKA_VTYPE_RKT, .u.rkt = s->topic},
        {.vtype = RD_KAFKA_VTYPE_PARTITION, .u.i32 = part},
        {.vtype = RD_KAFKA_VTYPE_MSGFLAGS, .u.i = RD_KAFKA_MSG_F_COPY},
        {.vtype = RD_KAFKA_VTYPE_VALUE, .u.mem = {(void *)v, vlen}},
        {.vtype = RD_KAFKA_VTYPE_KEY, .u.mem = {(void *)k, klen}},
        {.vtype = RD_KAFKA_VTYPE_TIMESTAMP, .u.i64 = ts},
    };
    for (;;) {
        rd_kafka_error_t *err = rd_kafka_produceva(s->rk, vu, 6);
        rd_kafka_resp_err_t e = err ? rd_kafka_error_code(err) : RD_KAFKA_RESP_ERR_NO_ERROR;
        if (err)
            rd_kafka_error_destroy(err);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            return 0;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return fail(s, RILL_EIO, "producing a message: %s", rd_kafka_err2str(e));
        rd_kafka_poll(s->rk, FULL_WAIT_MS); /* back-pressure: the brokers take what is queued */
        int rc = check_delivered(s);
        if (rc)
            return rc;
    }
}

static int ksink_write(rill__sink *sink, rill_batch *b)
{
    ksink *s = (ksink *)sink;
    const rill__kafka_cfg *c = s->cfg;
    int rc = check_delivered(s);
    for (uint32_t i = 0; i < b->n_rows && rc == 0; i++) {
        rill_row r = rill__batch_row(b, i);
        rill__buf *l = &s->line;
        l->len = 0;
        if (c->format == KFMT_JSON)
            rill__encode_json_row(s->schema, &r, l);
        else
            rill__encode_csv_row(s->schema, &r, c->delim, l);
        if (l->len && l->data[l->len - 1] == '\n')
            l->len--;
        size_t vlen = l->len, klen = 0;
        const char *key = NULL;
        if (s->key_field >= 0 && !rill_row_is_null(&r, s->key_field)) {
            /* the field's text, after the value in the same buffer */
            rill_type t = rill_schema_field_type(s->schema, s->key_field);
            size_t at = l->len;
            if (t == RILL_T_STRING)
                key = rill_row_str(&r, s->key_field, &klen);
            else if (t == RILL_T_BOOL)
                rill__buf_printf(l, "%s", r.v[s->key_field] ? "true" : "false");
            else if (t == RILL_T_DOUBLE)
                rill__buf_printf(l, "%.17g", rill_row_f64(&r, s->key_field));
            else
                rill__buf_printf(l, "%lld", (long long)(int64_t)r.v[s->key_field]);
            if (!key) {
                key = l->data + at;
                klen = l->len - at;
            }
        }
        int64_t ts = c->ts_from_event_time && b->has_ts && b->ts[i] >= 0 ? b->ts[i] : 0;
        rc = produce(s, l->data, vlen, key, klen, ts);
    }
    rd_kafka_poll(s->rk, 0); /* delivery reports */
    return rc;
}

/* Every message handed to librdkafka is acknowledged (or the job fails). */
static int flush_all(ksink *s, const char *why)
{
    rd_kafka_resp_err_t e = rd_kafka_flush(s->rk, (int)s->cfg->timeout_ms);
    if (e)
        return fail(s, RILL_EIO, "%s: %d messages not acknowledged after %lld ms: %s", why,
                    rd_kafka_outq_len(s->rk), (long long)s->cfg->timeout_ms,
                    rd_kafka_err2str(e));
    return check_delivered(s);
}

static int ksink_finish(rill__sink *sink)
{
    return flush_all((ksink *)sink, "end of input");
}

static int ksink_pre_commit(rill__sink *sink, uint64_t id, rill__buf *state)
{
    (void)state;
    ksink *s = (ksink *)sink;
    if (s->cfg->guarantee == KSINK_NONE)
        return 0;
    char why[64];
    snprintf(why, sizeof why, "checkpoint %llu", (unsigned long long)id);
    return flush_all(s, why);
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
    rill__buf_free(&s->line);
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
    .destroy = ksink_destroy,
    .cfg_free = rill__kafka_cfg_free,
};
