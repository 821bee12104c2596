/*
 * selfcheck.c - the self-checking job (as Flink's end-to-end suite has): proves that after
 * failures every event affected state exactly once.
 *
 *   rill run --checkpoint-dir D --checkpoint-interval 200 build/examples/selfcheck.so -- \
 *       --keys 100 --events 2000000 --rate 200000 --fail-after 50000 --fail-checkpoints 2 \
 *       --fail-times 3 --alerts DIR
 *
 * A generator (--source-parallelism P, default 1; position checkpointed) emits (key, seq)
 * with seq = 1, 2, 3, ... per key (K must be a multiple of P: each key then has one source). A
 * map fails the job after --fail-after rows of an attempt once --fail-checkpoints checkpoints
 * have completed, up to --fail-times times in this process. A keyed checker keeps
 * the last seq per key in ValueState and emits an alert for any gap (a lost event) or repeat (a
 * duplicate). Alerts go to the exactly-once file sink in --alerts (or are only counted). With
 * --done-rows 1 the checker also emits a row (key, last, last, "done") when a key reaches its
 * last seq, so that the committed output shows every event arrived: one "done" row per key and
 * nothing else (a lost tail, which no gap reveals, leaves its key without one). At the end it
 * prints: selfcheck: events=N alerts=N gaps=N duplicates=N failures=N, and done=N with
 * --done-rows (rows of this process; alerts counts the done rows out).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rill.h"

typedef struct check_cfg {
    int64_t fail_after, fail_checkpoints, fail_times;
    const rill_state_desc *last; /* last seq seen per key */
    rill_counter *gaps, *dups, *done;
    int64_t keys, events; /* for the last seq of each key */
    bool done_rows;
} check_cfg;

static check_cfg cfg;
static atomic_long failures; /* survives restarts: they happen inside this process */

enum { F_KEY = 0, F_SEQ = 1 };

static int open_failer(rill_ctx *ctx)
{
    rill_ctx_set_local(ctx, calloc(1, sizeof(int64_t))); /* rows seen in this attempt */
    return rill_ctx_local(ctx) ? 0 : RILL_ENOMEM;
}

static void close_failer(rill_ctx *ctx)
{
    free(rill_ctx_local(ctx));
}

static int failer(rill_ctx *ctx, const rill_row *in, rill_row *out)
{
    int64_t *seen = rill_ctx_local(ctx);
    if (++*seen >= cfg.fail_after && cfg.fail_after > 0 &&
        rill_ctx_last_checkpoint(ctx) >= cfg.fail_checkpoints &&
        atomic_load(&failures) < cfg.fail_times) {
        long n = atomic_fetch_add(&failures, 1) + 1;
        return rill_ctx_fail(ctx, "injected failure %ld of %lld after %lld rows", n,
                             (long long)cfg.fail_times, (long long)*seen);
    }
    return rill_row_copy(out, in);
}

static int emit_alert(rill_ctx *ctx, int64_t key, int64_t expected, int64_t got, const char *kind)
{
    rill_row alert;
    int rc = rill_emit(ctx, &alert);
    if (rc < 0)
        return rc;
    rill_row_set_i64(&alert, 0, key);
    rill_row_set_i64(&alert, 1, expected);
    rill_row_set_i64(&alert, 2, got);
    return rill_row_set_str(&alert, 3, kind, strlen(kind));
}

static int checker(rill_ctx *ctx, const rill_row *in)
{
    int64_t last = 0, key = rill_row_i64(in, F_KEY), seq = rill_row_i64(in, F_SEQ);
    int rc = rill_value_get(ctx, cfg.last, &last);
    if (rc < 0)
        return rc;
    if (seq != last + 1) {
        bool gap = seq > last + 1;
        if ((rc = emit_alert(ctx, key, last + 1, seq, gap ? "gap" : "duplicate")) < 0)
            return rc;
        rill_counter_add(ctx, gap ? cfg.gaps : cfg.dups, 1);
    }
    /* key k has the rows n = k, k + K, ... below the event count */
    if (cfg.done_rows && seq > last && seq == (cfg.events - key + cfg.keys - 1) / cfg.keys) {
        if ((rc = emit_alert(ctx, key, seq, seq, "done")) < 0)
            return rc;
        rill_counter_add(ctx, cfg.done, 1);
    }
    if (seq > last)
        rc = rill_value_set(ctx, cfg.last, &seq);
    return rc < 0 ? rc : 0;
}

static int usage(const char *what, const char *arg)
{
    fprintf(stderr, "selfcheck: %s%s\n", what, arg ? arg : "");
    return RILL_EINVAL;
}

int rill_job(rill_env *env, int argc, char **argv)
{
    long long keys = 100, events = 1000000, rate = 0, src_par = 1;
    const char *alerts_dir = NULL;
    cfg.fail_after = 0;
    cfg.fail_checkpoints = 1;
    cfg.fail_times = 0;
    cfg.done_rows = false;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage("missing value for ", a);
        char *end;
        long long n = strtoll(v, &end, 10);
        bool num = *end == '\0' && n >= 0;
        if (!strcmp(a, "--alerts"))
            alerts_dir = v;
        else if (!num)
            return usage("not a number: ", v);
        else if (!strcmp(a, "--keys"))
            keys = n;
        else if (!strcmp(a, "--events"))
            events = n;
        else if (!strcmp(a, "--rate"))
            rate = n;
        else if (!strcmp(a, "--fail-after"))
            cfg.fail_after = n;
        else if (!strcmp(a, "--fail-checkpoints"))
            cfg.fail_checkpoints = n;
        else if (!strcmp(a, "--fail-times"))
            cfg.fail_times = n;
        else if (!strcmp(a, "--source-parallelism"))
            src_par = n;
        else if (!strcmp(a, "--done-rows"))
            cfg.done_rows = n != 0;
        else
            return usage("unknown argument ", a);
    }
    if (keys < 1 || src_par < 1 || keys % src_par != 0)
        return usage("--keys must be >= 1 and a multiple of --source-parallelism", NULL);

    rill_schema *s = NULL, *alert = NULL;
    rill_schema_parse("key INT64 NOT NULL, seq INT64 NOT NULL", &s);
    rill_schema_parse("key INT64, expected INT64, got INT64, kind STRING", &alert);
    cfg.last = rill_value_state(env, "last-seq", sizeof(int64_t));
    cfg.gaps = rill_counter_new(env, "gaps");
    cfg.dups = rill_counter_new(env, "duplicates");
    cfg.done = rill_counter_new(env, "done");
    cfg.keys = keys;
    cfg.events = events;

    /* row n: key n mod K, seq n / K + 1: each key counts 1, 2, 3, ... in source order */
    rill_gen_field f[2] = {
        {.name = "key", .kind = RILL_GEN_MODULO, .a = 0, .b = keys},
        {.name = "seq", .kind = RILL_GEN_SEQUENCE, .a = 1, .b = 1, .c = keys},
    };
    rill_gen_opts gen = {.seed = 1, .events = events, .rate = (double)rate, .fields = f,
                         .n_fields = 2};
    rill_stream *src = rill_stream_uid(rill_source_generator(env, s, &gen), "sequences");
    /* subtask i makes rows n = i (mod P); with P dividing K every key comes from one subtask,
     * so each key's order is its source order, and the checker aligns barriers of P inputs */
    rill_stream_parallelism(src, (int)src_par);
    rill_stream *m = rill_stream_uid(rill_stream_map(src, NULL, failer, NULL), "failer");
    rill_stream_parallelism(rill_stream_hooks(m, open_failer, close_failer), (int)src_par);
    rill_stream *chk = rill_keyed_process(rill_stream_key_by(m, "key"), alert, checker, NULL);
    rill_stream_uid(chk, "checker");
    rill_stream *sink = alerts_dir ? rill_sink_file_exactly_once(chk, alerts_dir, NULL)
                                   : rill_sink_blackhole(chk);
    rill_stream_parallelism(rill_stream_uid(sink, "alerts"), 1);
    rill_schema_free(s);
    rill_schema_free(alert);

    int rc = rill_env_execute(env);
    int64_t n_alerts = 0;
    rill_env_metric(env, "alerts", "records_in", &n_alerts);
    int64_t n_done = rill_counter_value(cfg.done);
    printf("selfcheck: events=%lld alerts=%lld gaps=%lld duplicates=%lld failures=%ld", events,
           (long long)(n_alerts - n_done), (long long)rill_counter_value(cfg.gaps),
           (long long)rill_counter_value(cfg.dups), atomic_load(&failures));
    if (cfg.done_rows)
        printf(" done=%lld", (long long)n_done);
    printf("\n");
    return rc;
}
