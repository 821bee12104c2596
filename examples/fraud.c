/*
 * fraud.c - example job: a keyed running total of spending per user. When a user's total
 * exceeds the threshold, emit an alert (user_id, total, ts) and reset that total to zero.
 *
 *   rill run build/examples/fraud.so -- --input tx.csv --output alerts.csv --threshold 1000
 *
 * Input CSV: header user_id,amount,ts (INT64, DOUBLE, TIMESTAMP in epoch ms). Output CSV:
 * header user_id,total,ts, one row per alert. Without --input the job reads a generated
 * stream of transactions (--events N, default 10,000,000; 0 = unbounded; --users N) and ends
 * with a summary line. Without --output alerts are counted, not written (`--output -` prints).
 * With --exactly-once, --output names a directory written by the exactly-once file sink (part
 * files committed by checkpoints; run with --checkpoint-dir and --checkpoint-interval).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rill.h"

typedef struct fraud_cfg {
    double threshold;
    const rill_state_desc *total; /* ValueState<double> per user */
    rill_counter *alerts;
} fraud_cfg;

enum { IN_USER = 0, IN_AMOUNT = 1, IN_TS = 2 };
enum { OUT_USER = 0, OUT_TOTAL = 1, OUT_TS = 2 };

static int detect(rill_ctx *ctx, const rill_row *tx)
{
    const fraud_cfg *cfg = rill_ctx_user(ctx);
    double total = 0;
    int rc = rill_value_get(ctx, cfg->total, &total);
    if (rc < 0)
        return rc;
    total += rill_row_f64(tx, IN_AMOUNT);
    if (total > cfg->threshold) {
        rill_row alert;
        if ((rc = rill_emit(ctx, &alert)) < 0)
            return rc;
        rill_row_set_i64(&alert, OUT_USER, rill_row_i64(tx, IN_USER));
        rill_row_set_f64(&alert, OUT_TOTAL, total);
        rill_row_set_ts(&alert, OUT_TS, rill_row_ts(tx, IN_TS));
        rill_counter_add(ctx, cfg->alerts, 1);
        total = 0;
    }
    return rill_value_set(ctx, cfg->total, &total);
}

static int usage(const char *msg, const char *arg)
{
    fprintf(stderr, "fraud: %s%s\n", msg, arg ? arg : "");
    fprintf(stderr, "usage: rill run fraud.so -- [--input FILE.csv|kafka://HOST:PORT/TOPIC] "
                    "[--output OUT.csv|-|kafka://HOST:PORT/TOPIC] [--unbounded] "
                    "[--exactly-once] [--threshold X] [--events N] [--users N] [--rate R]\n");
    return RILL_EINVAL;
}

static int parse_num(const char *s, double *out)
{
    char *end;
    *out = strtod(s, &end);
    return *end == '\0' && end != s ? 0 : -1;
}

int rill_job(rill_env *env, int argc, char **argv)
{
    rill_io_opts io = {0}; /* --exactly-once, --unbounded */
    const char *input = NULL, *output = NULL;
    double threshold = 10000, events = 10000000, users = 10000, rate = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--exactly-once")) {
            io.exactly_once = true;
            continue;
        }
        if (!strcmp(a, "--unbounded")) {
            io.unbounded = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double *num = NULL;
        if (!strcmp(a, "--input"))
            input = v;
        else if (!strcmp(a, "--output"))
            output = v;
        else if (!strcmp(a, "--threshold"))
            num = &threshold;
        else if (!strcmp(a, "--events"))
            num = &events;
        else if (!strcmp(a, "--users"))
            num = &users;
        else if (!strcmp(a, "--rate"))
            num = &rate;
        else
            return usage("unknown argument ", a);
        if (!v)
            return usage("missing value for ", a);
        if (num && parse_num(v, num) != 0)
            return usage("not a number: ", v);
        i++;
    }
    if (users < 1 || events < 0 || rate < 0)
        return usage("--users must be >= 1, --events and --rate >= 0", NULL);

    rill_schema *tx_schema = NULL, *alert_schema = NULL;
    rill_schema_parse("user_id INT64 NOT NULL, amount DOUBLE NOT NULL, ts TIMESTAMP NOT NULL",
                      &tx_schema);
    rill_schema_parse("user_id INT64 NOT NULL, total DOUBLE NOT NULL, ts TIMESTAMP NOT NULL",
                      &alert_schema);

    static fraud_cfg cfg; /* lives as long as the job object is loaded */
    cfg.threshold = threshold;
    cfg.total = rill_value_state(env, "total", sizeof(double));
    cfg.alerts = rill_counter_new(env, "alerts");

    rill_stream *tx;
    if (input) {
        tx = rill_source_at(env, input, tx_schema, &io);
    } else {
        /* amounts in cents from 1.00 to 500.00; a transaction every millisecond */
        static rill_gen_field fields[3];
        fields[0] = (rill_gen_field){.name = "user_id", .kind = RILL_GEN_UNIFORM_INT, .a = 1,
                                     .b = (int64_t)users};
        fields[1] = (rill_gen_field){.name = "amount", .kind = RILL_GEN_UNIFORM_DOUBLE, .x = 1,
                                     .y = 500};
        fields[2] = (rill_gen_field){.name = "ts", .kind = RILL_GEN_SEQUENCE,
                                     .a = 1700000000000, .b = 1};
        rill_gen_opts gen = {.seed = 42, .events = (int64_t)events, .rate = rate,
                             .fields = fields, .n_fields = 3};
        tx = rill_source_generator(env, tx_schema, &gen);
    }
    rill_stream_uid(tx, "transactions");

    rill_stream *alerts = rill_keyed_process(rill_stream_key_by(tx, "user_id"), alert_schema,
                                             detect, &cfg);
    rill_stream_uid(alerts, "detect");

    rill_stream *sink;
    sink = rill_sink_at(alerts, output, &io);
    rill_stream_parallelism(rill_stream_uid(sink, "alerts"), 1);
    rill_schema_free(tx_schema);
    rill_schema_free(alert_schema);

    int rc = rill_env_execute(env);
    if (rc == 0 && !input) {
        int64_t n_events = 0;
        rill_env_metric(env, "transactions", "records_out", &n_events);
        int64_t ms = rill_env_elapsed_ms(env);
        printf("fraud: events=%lld alerts=%lld elapsed_ms=%lld events_per_s=%.0f\n",
               (long long)n_events, (long long)rill_counter_value(cfg.alerts), (long long)ms,
               ms > 0 ? (double)n_events * 1000.0 / (double)ms : 0.0);
    }
    return rc;
}
