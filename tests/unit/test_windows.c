/* test_windows.c - unit tests of the time and window semantics of SEMANTICS.md: the window
 * operator (tumbling, sliding, session, global; triggers, lateness, aggregates, window
 * functions), keyed process timers and the event-time assigner, through the operator harness. */
#include <stdarg.h>

#include "harness.h"
#include "runtime/runtime.h"
#include "test.h"

#define ROWS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_ROWS   ((const char *const[]){NULL})

static rill_schema *schema(const char *spec)
{
    rill_schema *s = NULL;
    if (rill_schema_parse(spec, &s) != 0)
        rill_test_fail(__FILE__, __LINE__, "schema: %s", rill_last_error());
    return s;
}

static int64_t floor_mod64(int64_t a, int64_t m)
{
    int64_t r = a % m;
    return r < 0 ? r + m : r;
}

/* ---- a window operator under test ------------------------------------------------------------ */

/* Input rows are "k,t,v" (key, event time, value) unless a test says otherwise; the harness
 * gives each row the timestamp in its second field. */
#define IN_KTV "k INT64 NOT NULL, t TIMESTAMP NOT NULL, v INT64"
#define OUT_CS                                                                                     \
    "k INT64 NOT NULL, window_start TIMESTAMP NOT NULL, window_end TIMESTAMP NOT NULL, "           \
    "count INT64 NOT NULL, sum_v INT64"

typedef struct wfix {
    harness h;
    rill_schema *in, *out;
    rill__key_spec key;
    rill__window_cfg cfg;
    rill__window_agg aggs[12];
    rill_output_tag late;
} wfix;

static void wfix_init(wfix *f, const char *in, const char *keys, const char *out,
                      rill_window_spec spec)
{
    memset(f, 0, sizeof *f);
    f->in = schema(in);
    f->out = schema(out);
    rill__err e = {0};
    if (rill__key_spec_init(&f->key, f->in, keys, &e) != 0)
        rill_test_fail(__FILE__, __LINE__, "key: %s", e.msg);
    f->late = (rill_output_tag){.id = 0, .name = (char *)"late", .schema = f->in};
    f->cfg.spec = spec;
    f->cfg.spec.late = &f->late;
    f->cfg.late_tag = 0;
    f->cfg.mode = RILL_WMODE_BUILTIN;
    f->cfg.aggs = f->aggs;
}

/* count, sum(v) with v the third field */
static void wfix_count_sum(wfix *f)
{
    f->aggs[0] = (rill__window_agg){RILL_AGG_COUNT, -1, RILL_T_INT64};
    f->aggs[1] = (rill__window_agg){RILL_AGG_SUM, 2, RILL_T_INT64};
    f->cfg.n_aggs = 2;
}

static void wfix_open(wfix *f)
{
    rill__op_init init = harness_init(&f->h, f->in, f->out, 1);
    init.user = f->cfg.user;
    CHECK_RC(
        harness_open(&f->h, rill__op_window(&init, &f->key, harness_backend(), &f->cfg)));
}

/* A tumbling count(*), sum(v) window per k over "k,t,v" rows. */
static void wfix_simple(wfix *f, rill_window_spec spec)
{
    wfix_init(f, IN_KTV, "k", OUT_CS, spec);
    wfix_count_sum(f);
    wfix_open(f);
}

static void wfix_close(wfix *f)
{
    harness_close(&f->h);
    rill_schema_free(f->in);
    rill_schema_free(f->out);
    rill_schema_free(f->cfg.agg_schema);
}

/* Pushes rows whose second field is their event time. */
static int wpush(wfix *f, const char *const *rows)
{
    int64_t ts[64];
    int n = 0;
    for (; rows[n]; n++) {
        const char *c = strchr(rows[n], ',');
        CHECK(c != NULL && n < 64);
        ts[n] = strtoll(c + 1, NULL, 10);
    }
    return harness_push_ts(&f->h, rows, ts);
}

static int wpush1(wfix *f, const char *row)
{
    return wpush(f, ROWS(row));
}

#define WM(f, wm)  CHECK_RC(harness_watermark(&(f)->h, (wm)))
#define MAIN(f)    harness_rows(&(f)->h, &(f)->h.main)
#define MAIN_TS(f) harness_rows_ts(&(f)->h, &(f)->h.main)
#define LATE(f)    harness_rows(&(f)->h, &(f)->h.side[0])

/* The state entries and event timers the operator still keeps. */
static int64_t state_entries(wfix *f)
{
    return harness_state_entries(f->h.op->ctx.backend); /* (rocksdb's stats are estimates) */
}

static int64_t event_timers(wfix *f)
{
    return rill__timers_count(f->h.op->ctx.timers, RILL_EVENT_TIME);
}

/* ---- sorted multisets of rows ---------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The rows sorted and joined with '|' (malloc'd). */
static char *sorted_join(char **rows, int n)
{
    char **v = malloc(sizeof *v * (size_t)(n ? n : 1));
    if (n)
        memcpy(v, rows, sizeof *v * (size_t)n);
    qsort(v, (size_t)n, sizeof *v, cmp_str);
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(v[i]) + 1;
    char *s = malloc(len), *p = s;
    *p = '\0';
    for (int i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? "|" : "", v[i]);
    free(v);
    return s;
}

/* A growable list of strings. */
typedef struct strs {
    char **v;
    int n;
    size_t cap;
} strs;

RILL_PRINTF(2, 3) static void strs_add(strs *s, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    rill__grow((void **)&s->v, &s->cap, (size_t)s->n + 1, sizeof *s->v);
    s->v[s->n++] = rill__xstrdup(buf);
}

static void strs_free(strs *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* ---- tumbling windows ------------------------------------------------------------------------ */

TEST(window_tumbling_boundaries_and_negative_timestamps)
{
    wfix f;
    wfix_simple(&f, (rill_window_spec){.kind = RILL_WINDOW_TUMBLING, .size_ms = 10});
    /* 10 is the end of [0, 10): it belongs to [10, 20); -1 is in [-10, 0); -11 in [-20, -10) */
    CHECK_RC(wpush(&f, ROWS("1,0,1", "1,9,2", "1,10,4", "1,-1,8", "1,-10,16", "1,-11,32", "1,19,64",
                            "1,20,128")));
    WM(&f, -12);
    CHECK_STR(MAIN(&f), "");
    WM(&f, -11); /* end - 1 of [-20, -10) */
    CHECK_STR(MAIN_TS(&f), "1,-20,-10,1,32@-11");
    WM(&f, -2);
    CHECK_STR(MAIN_TS(&f), "1,-20,-10,1,32@-11");
    WM(&f, -1);
    CHECK_STR(MAIN_TS(&f), "1,-20,-10,1,32@-11|1,-10,0,2,24@-1");
    WM(&f, 8);
    CHECK_EQ(f.h.main.n_rows, 2);
    WM(&f, 9);
    CHECK_STR(MAIN_TS(&f), "1,-20,-10,1,32@-11|1,-10,0,2,24@-1|1,0,10,2,3@9");
    CHECK_RC(harness_end(&f.h));
    CHECK_STR(MAIN_TS(&f), "1,-20,-10,1,32@-11|1,-10,0,2,24@-1|1,0,10,2,3@9|1,10,20,2,68@19|"
                           "1,20,30,1,128@29");
    CHECK_STR(LATE(&f), "");
    CHECK(f.h.main.ended);
    CHECK_EQ(f.h.main.watermark, RILL_TS_MAX);
    CHECK_EQ(state_entries(&f), 0);
    wfix_close(&f);
}

TEST(window_tumbling_one_output_per_window_and_key)
{
    wfix f;
    wfix_simple(&f, (rill_window_spec){.kind = RILL_WINDOW_TUMBLING, .size_ms = 100});
    CHECK_RC(wpush(&f, ROWS("1,5,1", "2,6,10", "1,50,2", "3,99,100")));
    CHECK_RC(wpush(&f, ROWS("2,98,20", "1,0,4", "1,100,1000")));
    WM(&f, 98);
    CHECK_STR(MAIN(&f), "");
    WM(&f, 99);
    char *got = sorted_join(f.h.main.rows, f.h.main.n_rows);
    CHECK_STR(got, "1,0,100,3,7|2,0,100,2,30|3,0,100,1,100");
    free(got);
    WM(&f, 150); /* nothing new: one result per window and key */
    CHECK_EQ(f.h.main.n_rows, 3);
    CHECK_RC(harness_end(&f.h));
    CHECK_EQ(f.h.main.n_rows, 4);
    CHECK_STR(f.h.main.rows[3], "1,100,200,1,1000");
    wfix_close(&f);
}

/* Rows at -8, -7, 2, 3, 12, 13 (values 32, 16, 1, 2, 4, 8) by the window offset. */
static void check_offset(int64_t offset, const char *want)
{
    wfix f;
    wfix_simple(
        &f, (rill_window_spec){.kind = RILL_WINDOW_TUMBLING, .size_ms = 10, .offset_ms = offset});
    CHECK_RC(wpush(&f, ROWS("1,2,1", "1,3,2", "1,12,4", "1,13,8", "1,-7,16", "1,-8,32")));
    CHECK_RC(harness_end(&f.h));
    if (strcmp(MAIN(&f), want) != 0)
        rill_test_fail(__FILE__, __LINE__, "offset %lld: \"%s\" vs \"%s\"", (long long)offset,
                       MAIN(&f), want);
    wfix_close(&f);
}

TEST(window_tumbling_offsets)
{
    /* start = t - ((t - o) mod s): offsets are the same modulo the size */
    const char *o3 = "1,-17,-7,1,32|1,-7,3,2,17|1,3,13,2,6|1,13,23,1,8";
    const char *o7 = "1,-13,-3,2,48|1,-3,7,2,3|1,7,17,2,12";
    const char *o0 = "1,-10,0,2,48|1,0,10,2,3|1,10,20,2,12";
    check_offset(3, o3);
    check_offset(13, o3);
    check_offset(-7, o3);
    check_offset(7, o7);
    check_offset(-3, o7);
    check_offset(-13, o7);
    check_offset(0, o0);
    check_offset(10, o0);
    check_offset(-10, o0);
}

/* The offset the graph stores for a window spec (normalised into [0, slide)). */
static int64_t graph_offset(rill_window_kind kind, int64_t size, int64_t slide, int64_t offset)
{
    rill_env *env = rill_env_new();
    rill_schema *s = schema(IN_KTV);
    rill_gen_opts go = {.seed = 1, .events = 10};
    rill_stream *src = rill_source_generator(env, s, &go);
    rill_stream *et = rill_stream_event_time(src, "t", NULL);
    rill_keyed_stream *ks = rill_stream_key_by(et, "k");
    rill_window_spec w = {.kind = kind, .size_ms = size, .slide_ms = slide, .offset_ms = offset};
    rill_agg_spec agg = {.kind = RILL_AGG_COUNT};
    rill_stream *out = rill_window_aggregate(ks, &w, &agg, 1);
    CHECK(out && out->node && out->node->window);
    int64_t o = out->node->window->spec.offset_ms;
    rill_env_free(env);
    rill_schema_free(s);
    return o;
}

TEST(window_offset_normalised_by_graph)
{
    CHECK_EQ(graph_offset(RILL_WINDOW_TUMBLING, 10, 0, 3), 3);
    CHECK_EQ(graph_offset(RILL_WINDOW_TUMBLING, 10, 0, 13), 3);
    CHECK_EQ(graph_offset(RILL_WINDOW_TUMBLING, 10, 0, -3), 7);
    CHECK_EQ(graph_offset(RILL_WINDOW_TUMBLING, 10, 0, -13), 7);
    CHECK_EQ(graph_offset(RILL_WINDOW_TUMBLING, 10, 0, -10), 0);
    CHECK_EQ(graph_offset(RILL_WINDOW_TUMBLING, 10, 0, 10), 0);
    CHECK_EQ(graph_offset(RILL_WINDOW_SLIDING, 10, 4, -1), 3);
    CHECK_EQ(graph_offset(RILL_WINDOW_SLIDING, 10, 4, 9), 1);
}

TEST(window_tumbling_fires_at_end_minus_one_not_before)
{
    for (int64_t size = 1; size <= 7; size += 3) {
        wfix f;
        wfix_simple(&f, (rill_window_spec){.kind = RILL_WINDOW_TUMBLING, .size_ms = size});
        CHECK_RC(wpush1(&f, "1,0,1"));
        WM(&f, size - 2);
        CHECK_EQ(f.h.main.n_rows, 0);
        WM(&f, size - 1);
        CHECK_EQ(f.h.main.n_rows, 1);
        CHECK_EQ(f.h.main.row_ts[0], size - 1); /* results carry end - 1 */
        CHECK_EQ(f.h.main.watermark, size - 1); /* and the watermark follows them */
        wfix_close(&f);
    }
}

/* ---- sliding windows ------------------------------------------------------------------------- */

/* Every window [o + k*p, o + k*p + s) containing t, by brute force, as "start,end" strings. */
static void brute_windows(int64_t t, int64_t s, int64_t p, int64_t o, strs *out, int64_t key)
{
    for (int64_t st = t - s - 2 * p - 100; st <= t + p; st++)
        if (floor_mod64(st - o, p) == 0 && st <= t && t < st + s)
            strs_add(out, "%lld,%lld,%lld,1,%lld", (long long)key, (long long)st,
                     (long long)(st + s), (long long)t);
}

/* SEMANTICS.md's enumeration: start = last, last - p, ... while start > t - s. */
static void formula_windows(int64_t t, int64_t s, int64_t p, int64_t o, strs *out, int64_t key)
{
    int64_t last = t - floor_mod64(t - o, p);
    for (int64_t st = last; st > t - s; st -= p)
        strs_add(out, "%lld,%lld,%lld,1,%lld", (long long)key, (long long)st, (long long)(st + s),
                 (long long)t);
}

TEST(window_sliding_every_window_containing_an_event)
{
    static const int64_t cfgs[][3] = {{10, 3, 0}, {6, 2, 0},  {10, 3, 1}, {10, 3, -4},
                                      {7, 2, 5},  {5, 5, 0},  {9, 3, 2},  {12, 4, 15},
                                      {4, 6, 0},  {3, 1, -1}, {1, 1, 0}};
    for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++) {
        int64_t s = cfgs[c][0], p = cfgs[c][1], o = cfgs[c][2];
        wfix f;
        wfix_simple(&f,
                    (rill_window_spec){
                        .kind = RILL_WINDOW_SLIDING, .size_ms = s, .slide_ms = p, .offset_ms = o});
        strs brute = {0}, formula = {0};
        /* one key per event, so each event's windows are its own */
        for (int64_t t = -25; t <= 25; t++) {
            char row[64];
            snprintf(row, sizeof row, "%lld,%lld,%lld", (long long)(t + 1000), (long long)t,
                     (long long)t);
            CHECK_RC(wpush1(&f, row));
            brute_windows(t, s, p, o, &brute, t + 1000);
            formula_windows(t, s, p, o, &formula, t + 1000);
        }
        CHECK_RC(harness_end(&f.h));
        char *got = sorted_join(f.h.main.rows, f.h.main.n_rows);
        char *want = sorted_join(brute.v, brute.n);
        char *want2 = sorted_join(formula.v, formula.n);
        if (strcmp(want, want2) != 0)
            rill_test_fail(__FILE__, __LINE__,
                           "size %lld slide %lld offset %lld: formula "
                           "\"%s\" vs brute force \"%s\"",
                           (long long)s, (long long)p, (long long)o, want2, want);
        if (strcmp(got, want) != 0)
            rill_test_fail(__FILE__, __LINE__,
                           "size %lld slide %lld offset %lld: got \"%s\" "
                           "want \"%s\"",
                           (long long)s, (long long)p, (long long)o, got, want);
        CHECK_STR(LATE(&f), "");
        CHECK_EQ(state_entries(&f), 0);
        free(got);
        free(want);
        free(want2);
        strs_free(&brute);
        strs_free(&formula);
        wfix_close(&f);
    }
}

TEST(window_sliding_fires_each_window_at_its_end)
{
    wfix f;
    wfix_simple(&f, (rill_window_spec){.kind = RILL_WINDOW_SLIDING, .size_ms = 10, .slide_ms = 3});
    CHECK_RC(wpush(&f, ROWS("1,4,1", "1,11,2")));
    /* windows of 4: [-3,7) [0,10) [3,13); of 11: [3,13) [6,16) [9,19) */
    WM(&f, 5);
    CHECK_STR(MAIN(&f), "");
    WM(&f, 6);
    CHECK_STR(MAIN_TS(&f), "1,-3,7,1,1@6");
    WM(&f, 12);
    CHECK_STR(MAIN_TS(&f), "1,-3,7,1,1@6|1,0,10,1,1@9|1,3,13,2,3@12");
    WM(&f, 100);
    CHECK_STR(MAIN_TS(&f), "1,-3,7,1,1@6|1,0,10,1,1@9|1,3,13,2,3@12|1,6,16,1,2@15|"
                           "1,9,19,1,2@18");
    CHECK_EQ(state_entries(&f), 0);
    CHECK_EQ(event_timers(&f), 0);
    wfix_close(&f);
}

/* ---- random streams against a reference ------------------------------------------------------ */

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static int64_t rnd_in(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

typedef struct ev {
    int64_t k, t, v;
} ev;

typedef struct wparams {
    rill_window_kind kind;
    int64_t size, slide, offset, gap, lateness, delay;
} wparams;

static void describe(const wparams *p, char *buf, size_t cap)
{
    snprintf(buf, cap, "kind %d size %lld slide %lld offset %lld gap %lld lateness %lld delay %lld",
             (int)p->kind, (long long)p->size, (long long)p->slide, (long long)p->offset,
             (long long)p->gap, (long long)p->lateness, (long long)p->delay);
}

/* Runs events (in arrival order) through event_time (bounded, p->delay) and a count, sum(v)
 * window, pushing random batches; gives the sorted main and late outputs. */
static void run_chain(const wparams *p, const ev *evs, int n, char **main_out, char **late_out)
{
    rill_schema *in = schema(IN_KTV), *out = schema(OUT_CS);
    rill__err e = {0};
    rill__key_spec key;
    CHECK_RC(rill__key_spec_init(&key, in, "k", &e));
    rill_output_tag late = {.id = 0, .name = (char *)"late", .schema = in};
    rill__window_agg aggs[2] = {{RILL_AGG_COUNT, -1, RILL_T_INT64},
                                {RILL_AGG_SUM, 2, RILL_T_INT64}};
    rill__window_cfg cfg = {.spec = {.kind = p->kind,
                                     .size_ms = p->size,
                                     .slide_ms = p->slide,
                                     .offset_ms = p->offset,
                                     .gap_ms = p->gap,
                                     .allowed_lateness_ms = p->lateness,
                                     .late = &late},
                            .late_tag = 0,
                            .mode = RILL_WMODE_BUILTIN,
                            .aggs = aggs,
                            .n_aggs = 2};
    harness h;
    rill__op_init init = harness_init(&h, in, NULL, 0);
    rill_watermark_opts wo = {.kind = RILL_WM_BOUNDED, .max_delay_ms = p->delay};
    rill__operator *et = rill__op_event_time(&init, 1, &wo, false);
    rill__op_init wi = init;
    wi.out_schema = out;
    wi.n_tags = 1;
    rill__operator *win = rill__op_window(&wi, &key, harness_backend(), &cfg);
    CHECK_RC(harness_open_chain(&h, et, win));
    char lines[16][80];
    const char *ptrs[17];
    for (int i = 0; i < n;) {
        int bs = (int)rnd_in(1, 16), j = 0;
        for (; j < bs && i < n; j++, i++) {
            snprintf(lines[j], sizeof lines[j], "%lld,%lld,%lld", (long long)evs[i].k,
                     (long long)evs[i].t, (long long)evs[i].v);
            ptrs[j] = lines[j];
        }
        ptrs[j] = NULL;
        CHECK_RC(harness_push(&h, ptrs, false));
    }
    CHECK_RC(harness_end(&h));
    CHECK(h.main.ended);
    CHECK_EQ(h.main.watermark, RILL_TS_MAX);
    *main_out = sorted_join(h.main.rows, h.main.n_rows);
    *late_out = sorted_join(h.side[0].rows, h.side[0].n_rows);
    int64_t entries = harness_state_entries(win->ctx.backend);
    if (entries != 0)
        rill_test_fail(__FILE__, __LINE__, "%lld state entries left at the end",
                       (long long)entries);
    harness_close(&h);
    rill_schema_free(in);
    rill_schema_free(out);
}

/* The reference: one window at a time, by SEMANTICS.md, with the watermark after every row. */
typedef struct ref_win {
    int64_t k, start, end, count, sum;
    bool fired;
} ref_win;

static void ref_emit(strs *out, int64_t size, const ref_win *w)
{
    (void)size;
    strs_add(out, "%lld,%lld,%lld,%lld,%lld", (long long)w->k, (long long)w->start,
             (long long)w->end, (long long)w->count, (long long)w->sum);
}

/* The windows [start, end) holding t, by SEMANTICS.md (tumbling, sliding) and Flink's CUMULATE
 * ([b, b + k * slide) for b = offset + j * size); their number. */
static int windows_of(const wparams *p, int64_t t, int64_t *starts, int64_t *ends)
{
    int n = 0;
    if (p->kind == RILL_WINDOW_CUMULATE) {
        int64_t b = t - floor_mod64(t - p->offset, p->size);
        for (int64_t e = b + p->slide; e <= b + p->size; e += p->slide)
            if (e > t) {
                starts[n] = b;
                ends[n++] = e;
            }
        return n;
    }
    int64_t size = p->size, slide = p->kind == RILL_WINDOW_SLIDING ? p->slide : p->size;
    int64_t last = t - floor_mod64(t - p->offset, slide);
    for (int64_t st = last; st > t - size; st -= slide) {
        starts[n] = st;
        ends[n++] = st + size;
    }
    return n;
}

static void reference_sliced(const wparams *p, const ev *evs, int n, strs *out, strs *late)
{
    int64_t size = p->size, slide = p->kind == RILL_WINDOW_TUMBLING ? p->size : p->slide;
    ref_win *ws = calloc((size_t)n * (size_t)(size / slide + 2) + 1, sizeof *ws);
    int nw = 0;
    int64_t wm = RILL_TS_MIN, max_ts = RILL_TS_MIN;
    int64_t starts[64], ends[64];
    for (int i = 0; i < n; i++) {
        const ev *e = &evs[i];
        int nwin = windows_of(p, e->t, starts, ends);
        int64_t last_end = RILL_TS_MIN;
        for (int j = 0; j < nwin; j++)
            last_end = ends[j] > last_end ? ends[j] : last_end;
        /* late when the last (latest) window it belongs to is past the allowed lateness */
        if (last_end - 1 + p->lateness <= wm) {
            strs_add(late, "%lld,%lld,%lld", (long long)e->k, (long long)e->t, (long long)e->v);
        } else {
            for (int j = 0; j < nwin; j++) {
                int64_t st = starts[j], end = ends[j];
                if (end - 1 + p->lateness <= wm)
                    continue; /* that window's state is gone */
                ref_win *w = NULL;
                for (int x = 0; x < nw && !w; x++)
                    if (ws[x].k == e->k && ws[x].start == st && ws[x].end == end)
                        w = &ws[x];
                if (!w) {
                    w = &ws[nw++];
                    *w = (ref_win){.k = e->k, .start = st, .end = end};
                }
                w->count++;
                w->sum += e->v;
                if (end - 1 <= wm) { /* fired already: fire again */
                    ref_emit(out, size, w);
                    w->fired = true;
                }
            }
        }
        if (e->t > max_ts)
            max_ts = e->t;
        int64_t nwm = max_ts - p->delay - 1;
        if (nwm > wm) {
            wm = nwm;
            for (int j = 0; j < nw; j++) {
                if (!ws[j].fired && ws[j].end - 1 <= wm) {
                    ref_emit(out, size, &ws[j]);
                    ws[j].fired = true;
                }
            }
        }
    }
    for (int j = 0; j < nw; j++)
        if (!ws[j].fired && ws[j].end - 1 + p->lateness > wm)
            ref_emit(out, size, &ws[j]);
    free(ws);
}

/* Random events, in arrival order: timestamps spread in [lo, hi] arrive up to max_late late. */
static int random_events(ev *evs, int max_n, int64_t lo, int64_t hi, int64_t max_late, int n_keys)
{
    int n = (int)rnd_in(1, max_n);
    int64_t arrive[256];
    for (int i = 0; i < n; i++) {
        evs[i] = (ev){.k = rnd_in(1, n_keys), .t = rnd_in(lo, hi), .v = rnd_in(-5, 100)};
        arrive[i] = evs[i].t + rnd_in(0, max_late);
    }
    for (int i = 1; i < n; i++) { /* stable insertion sort by arrival */
        ev e = evs[i];
        int64_t a = arrive[i];
        int j = i;
        for (; j > 0 && arrive[j - 1] > a; j--) {
            evs[j] = evs[j - 1];
            arrive[j] = arrive[j - 1];
        }
        evs[j] = e;
        arrive[j] = a;
    }
    return n;
}

TEST(window_sliced_random_streams_match_reference)
{
    ev evs[256];
    int total_late = 0, total_out = 0;
    for (int iter = 0; iter < 200; iter++) {
        wparams p = {0};
        int kind = (int)(rnd() % 4);
        p.kind = kind == 0   ? RILL_WINDOW_TUMBLING
                 : kind == 3 ? RILL_WINDOW_CUMULATE
                             : RILL_WINDOW_SLIDING;
        p.size = rnd_in(1, 20);
        p.slide = p.kind == RILL_WINDOW_SLIDING ? rnd_in(1, p.size) : 0;
        if (p.kind == RILL_WINDOW_CUMULATE) { /* a step, and a size a multiple of it */
            p.slide = rnd_in(1, 6);
            p.size = p.slide * rnd_in(1, 5);
        }
        p.offset = rnd_in(-30, 30);
        if (p.kind == RILL_WINDOW_TUMBLING || p.kind == RILL_WINDOW_CUMULATE)
            p.offset = floor_mod64(p.offset, p.size); /* as the graph does */
        else
            p.offset = floor_mod64(p.offset, p.slide);
        static const int64_t latenesses[] = {0, 0, 3, 10, 40};
        p.lateness = latenesses[rnd() % 5];
        p.delay = rnd_in(0, 8);
        int n = random_events(evs, 80, -40, 120, rnd_in(0, 25), (int)rnd_in(1, 3));
        strs want = {0}, want_late = {0};
        reference_sliced(&p, evs, n, &want, &want_late);
        total_late += want_late.n;
        total_out += want.n;
        char *got, *got_late;
        run_chain(&p, evs, n, &got, &got_late);
        char *w = sorted_join(want.v, want.n), *wl = sorted_join(want_late.v, want_late.n);
        if (strcmp(got, w) != 0 || strcmp(got_late, wl) != 0) {
            char d[200];
            describe(&p, d, sizeof d);
            fprintf(stderr, "events (arrival order):");
            for (int i = 0; i < n; i++)
                fprintf(stderr, " %lld,%lld,%lld", (long long)evs[i].k, (long long)evs[i].t,
                        (long long)evs[i].v);
            fprintf(stderr, "\n");
            rill_test_fail(__FILE__, __LINE__,
                           "iteration %d, %s:\n got  \"%s\"\n want \"%s\"\n late got  \"%s\"\n "
                           "late want \"%s\"",
                           iter, d, got, w, got_late, wl);
        }
        free(got);
        free(got_late);
        free(w);
        free(wl);
        strs_free(&want);
        strs_free(&want_late);
    }
    CHECK(total_late > 100); /* the streams do exercise late data */
    CHECK(total_out > 1000);
}

TEST(window_out_of_order_within_delay_equals_sorted)
{
    ev evs[256], sorted[256];
    for (int iter = 0; iter < 120; iter++) {
        wparams p = {0};
        int kind = (int)(rnd() % 3);
        p.kind = kind == 0   ? RILL_WINDOW_TUMBLING
                 : kind == 1 ? RILL_WINDOW_SLIDING
                             : RILL_WINDOW_SESSION;
        p.size = rnd_in(1, 20);
        p.slide = p.kind == RILL_WINDOW_SLIDING ? rnd_in(1, p.size) : 0;
        p.gap = rnd_in(1, 12);
        p.lateness = rnd() % 2 ? 0 : rnd_in(1, 20);
        p.delay = rnd_in(1, 15);
        /* arrival at most delay - 1 behind: never late, and for sessions never touching a
         * session the watermark already closed */
        int n = random_events(evs, 100, -30, 200, p.delay - 1, (int)rnd_in(1, 3));
        memcpy(sorted, evs, sizeof evs[0] * (size_t)n);
        for (int i = 1; i < n; i++) { /* stable: equal timestamps keep their arrival order */
            ev e = sorted[i];
            int j = i;
            for (; j > 0 && sorted[j - 1].t > e.t; j--)
                sorted[j] = sorted[j - 1];
            sorted[j] = e;
        }
        char *a, *al, *b, *bl;
        run_chain(&p, evs, n, &a, &al);
        run_chain(&p, sorted, n, &b, &bl);
        if (strcmp(a, b) != 0 || strcmp(al, "") != 0 || strcmp(bl, "") != 0) {
            char d[200];
            describe(&p, d, sizeof d);
            rill_test_fail(__FILE__, __LINE__,
                           "iteration %d, %s:\n out of order \"%s\"\n sorted       \"%s\"\n "
                           "late \"%s\" / \"%s\"",
                           iter, d, a, b, al, bl);
        }
        free(a);
        free(al);
        free(b);
        free(bl);
    }
}

/* ---- session windows ------------------------------------------------------------------------- */

TEST(window_session_merge_in_every_order)
{
    /* gap 5: 0, 3, 7, 12, 14 chain into [0, 19) (12 touches [7, 12)); 30 is alone. Every
     * arrival order gives the same sessions when the watermark comes at the end. Each of the
     * 720 orders is the rows of a key of its own, all in one operator (sessions are per key),
     * so the backend opens once. */
    const int ts[] = {0, 3, 7, 12, 14, 30}, val[] = {1, 2, 4, 8, 16, 32};
    int idx[6] = {0, 1, 2, 3, 4, 5}, c[6] = {0};
    int n_perm = 0;
    char **want = malloc(sizeof *want * 2 * 720);
    wfix f;
    wfix_simple(&f, (rill_window_spec){.kind = RILL_WINDOW_SESSION, .gap_ms = 5});
    for (int i = 0;;) { /* Heap's algorithm over all 720 orders */
        int key = n_perm + 1;
        for (int j = 0; j < 6; j++) {
            char row[48];
            snprintf(row, sizeof row, "%d,%d,%d", key, ts[idx[j]], val[idx[j]]);
            CHECK_RC(wpush1(&f, row));
        }
        want[2 * n_perm] = rill__xasprintf("%d,0,19,5,31", key);
        want[2 * n_perm + 1] = rill__xasprintf("%d,30,35,1,32", key);
        n_perm++;
        while (i < 6 && c[i] >= i) {
            c[i] = 0;
            i++;
        }
        if (i >= 6)
            break;
        int s = i % 2 == 0 ? 0 : c[i], tmp = idx[s];
        idx[s] = idx[i];
        idx[i] = tmp;
        c[i]++;
        i = 0;
    }
    CHECK_EQ(n_perm, 720);
    CHECK_STR(MAIN(&f), "");
    WM(&f, 100);
    char *got = sorted_join(f.h.main.rows, f.h.main.n_rows);
    char *exp = sorted_join(want, 2 * n_perm);
    CHECK_STR(got, exp);
    CHECK_EQ(state_entries(&f), 0);
    free(got);
    free(exp);
    for (int k = 0; k < 2 * n_perm; k++)
        free(want[k]);
    free(want);
    wfix_close(&f);
}

TEST(window_session_gap_apart_joins_and_end_is_last_plus_gap)
{
    wfix f;
    wfix_simple(&f, (rill_window_spec){.kind = RILL_WINDOW_SESSION, .gap_ms = 5});
    /* 0, 5, 10 are exactly gap apart: one session [0, 15); 21 is 6 after 15's... alone */
    CHECK_RC(wpush(&f, ROWS("1,0,1", "1,10,2", "1,5,4", "1,21,8", "1,27,16")));
    WM(&f, 13);
    CHECK_STR(MAIN(&f), "");
    WM(&f, 14); /* last event 10 + gap 5 = 15: fires at 14 */
    CHECK_STR(MAIN_TS(&f), "1,0,15,3,7@14");
    WM(&f, 25);
    CHECK_STR(MAIN_TS(&f), "1,0,15,3,7@14|1,21,26,1,8@25");
    CHECK_RC(harness_end(&f.h));
    CHECK_STR(MAIN_TS(&f), "1,0,15,3,7@14|1,21,26,1,8@25|1,27,32,1,16@31");
    CHECK_EQ(state_entries(&f), 0);
    wfix_close(&f);
}

TEST(window_session_keys_are_independent)
{
    wfix f;
    wfix_simple(&f, (rill_window_spec){.kind = RILL_WINDOW_SESSION, .gap_ms = 5});
    /* key 2's events lie between key 1's two sessions: they must not bridge them */
    CHECK_RC(wpush(&f, ROWS("1,0,1", "2,6,10", "1,12,2", "2,9,20", "2,3,40")));
    CHECK_RC(harness_end(&f.h));
    char *got = sorted_join(f.h.main.rows, f.h.main.n_rows);
    CHECK_STR(got, "1,0,5,1,1|1,12,17,1,2|2,3,14,3,70");
    free(got);
    wfix_close(&f);
}

TEST(window_session_late_merge_within_lateness_refires)
{
    wfix f;
    wfix_simple(&f, (rill_window_spec){
                        .kind = RILL_WINDOW_SESSION, .gap_ms = 5, .allowed_lateness_ms = 10});
    CHECK_RC(wpush(&f, ROWS("1,0,1", "1,2,2")));
    WM(&f, 6);
    CHECK_STR(MAIN(&f), "1,0,7,2,3");
    /* 4 opens [4, 9): merges into the fired [0, 7); [0, 9) is not due yet */
    CHECK_RC(wpush1(&f, "1,4,4"));
    CHECK_STR(MAIN(&f), "1,0,7,2,3");
    WM(&f, 8);
    CHECK_STR(MAIN(&f), "1,0,7,2,3|1,0,9,3,7");
    /* 1 merges into the fired [0, 9), which is due: emitted again at once */
    CHECK_RC(wpush1(&f, "1,1,8"));
    CHECK_STR(MAIN_TS(&f), "1,0,7,2,3@6|1,0,9,3,7@8|1,0,9,4,15@8");
    CHECK_STR(LATE(&f), "");
    /* the session's state goes at end - 1 + lateness = 18 */
    WM(&f, 17);
    CHECK(state_entries(&f) > 0);
    WM(&f, 18);
    CHECK_EQ(state_entries(&f), 0);
    /* 4 would open [4, 9): 8 + 10 <= 18, late */
    CHECK_RC(wpush1(&f, "1,4,16"));
    CHECK_STR(LATE(&f), "1,4,16");
    /* 5 opens [5, 10): 9 + 10 > 18, within lateness; the old session is gone, so it is alone
     * and due at once */
    CHECK_RC(wpush1(&f, "1,5,32"));
    CHECK_STR(MAIN(&f), "1,0,7,2,3|1,0,9,3,7|1,0,9,4,15|1,5,10,1,32");
    CHECK_RC(harness_end(&f.h));
    CHECK_EQ(f.h.main.n_rows, 4);
    CHECK_STR(LATE(&f), "1,4,16");
    CHECK_EQ(state_entries(&f), 0);
    wfix_close(&f);
}

TEST(window_session_merge_bridging_fired_and_open_sessions)
{
    wfix f;
    wfix_simple(&f, (rill_window_spec){
                        .kind = RILL_WINDOW_SESSION, .gap_ms = 5, .allowed_lateness_ms = 20});
    CHECK_RC(wpush(&f, ROWS("1,0,1", "1,20,2")));
    WM(&f, 4);
    CHECK_STR(MAIN(&f), "1,0,5,1,1");
    /* 5 touches the fired [0, 5) and reaches to 10; 10 then 15 bridge to [20, 25) */
    CHECK_RC(wpush1(&f, "1,5,4"));
    CHECK_RC(wpush1(&f, "1,15,8"));
    CHECK_RC(wpush1(&f, "1,10,16"));
    CHECK_STR(MAIN(&f), "1,0,5,1,1");
    WM(&f, 24);
    CHECK_STR(MAIN(&f), "1,0,5,1,1|1,0,25,5,31");
    CHECK_RC(harness_end(&f.h));
    CHECK_EQ(f.h.main.n_rows, 2);
    CHECK_EQ(state_entries(&f), 0);
    wfix_close(&f);
}

/* ---- allowed lateness ------------------------------------------------------------------------ */

TEST(window_allowed_lateness_refires_then_late_side_output)
{
    wfix f;
    wfix_simple(&f, (rill_window_spec){
                        .kind = RILL_WINDOW_TUMBLING, .size_ms = 10, .allowed_lateness_ms = 5});
    CHECK_RC(wpush(&f, ROWS("1,1,1", "1,3,2")));
    WM(&f, 9);
    CHECK_STR(MAIN(&f), "1,0,10,2,3");
    CHECK_RC(wpush1(&f, "1,5,4")); /* 9 + 5 > 9: updates and re-emits */
    CHECK_STR(MAIN_TS(&f), "1,0,10,2,3@9|1,0,10,3,7@9");
    WM(&f, 13);
    CHECK_RC(wpush1(&f, "1,6,8")); /* 9 + 5 > 13 */
    CHECK_STR(MAIN(&f), "1,0,10,2,3|1,0,10,3,7|1,0,10,4,15");
    CHECK(state_entries(&f) > 0);
    WM(&f, 14); /* end - 1 + lateness: the window's state goes */
    CHECK_EQ(state_entries(&f), 0);
    CHECK_RC(wpush1(&f, "1,7,16")); /* 9 + 5 <= 14: late */
    CHECK_RC(wpush1(&f, "1,0,32"));
    CHECK_STR(LATE(&f), "1,7,16|1,0,32");
    CHECK_EQ(f.h.main.n_rows, 4 - 1);
    CHECK_EQ(state_entries(&f), 0);
    /* a row of the next window is on time */
    CHECK_RC(wpush1(&f, "1,10,64"));
    CHECK_RC(harness_end(&f.h));
    CHECK_STR(MAIN(&f), "1,0,10,2,3|1,0,10,3,7|1,0,10,4,15|1,10,20,1,64");
    CHECK_STR(LATE(&f), "1,7,16|1,0,32"); /* each late row exactly once */
    CHECK_EQ(state_entries(&f), 0);
    CHECK_EQ(event_timers(&f), 0);
    wfix_close(&f);
}

TEST(window_allowed_lateness_first_row_of_a_fired_window)
{
    /* a window that had no rows when the watermark passed: a row within lateness fires it */
    wfix f;
    wfix_simple(&f, (rill_window_spec){
                        .kind = RILL_WINDOW_TUMBLING, .size_ms = 10, .allowed_lateness_ms = 20});
    CHECK_RC(wpush1(&f, "1,25,1"));
    WM(&f, 25);
    CHECK_RC(wpush1(&f, "1,3,2"));
    CHECK_RC(wpush1(&f, "1,4,4"));
    CHECK_STR(MAIN_TS(&f), "1,0,10,1,2@9|1,0,10,2,6@9");
    WM(&f, 28);
    CHECK_STR(MAIN(&f), "1,0,10,1,2|1,0,10,2,6");
    WM(&f, 29); /* [0, 10)'s state goes: 9 + 20 */
    CHECK_RC(wpush1(&f, "1,5,8"));
    CHECK_STR(MAIN(&f), "1,0,10,1,2|1,0,10,2,6|1,20,30,1,1");
    CHECK_STR(LATE(&f), "1,5,8");
    CHECK_RC(harness_end(&f.h));
    CHECK_EQ(f.h.main.n_rows, 3);
    CHECK_EQ(state_entries(&f), 0);
    wfix_close(&f);
}

TEST(window_sliding_lateness_refires_every_fired_window)
{
    wfix f;
    wfix_simple(&f, (rill_window_spec){.kind = RILL_WINDOW_SLIDING,
                                       .size_ms = 10,
                                       .slide_ms = 5,
                                       .allowed_lateness_ms = 6});
    CHECK_RC(wpush1(&f, "1,7,1"));
    WM(&f, 14); /* [0,10) and [5,15) fired */
    CHECK_STR(MAIN(&f), "1,0,10,1,1|1,5,15,1,1");
    /* 8 is in [0, 10) (9 + 6 > 14) and [5, 15): both re-emitted */
    CHECK_RC(wpush1(&f, "1,8,2"));
    /* as Flink assigns them: the latest window first */
    CHECK_STR(MAIN(&f), "1,0,10,1,1|1,5,15,1,1|1,5,15,2,3|1,0,10,2,3");
    WM(&f, 15);
    /* now [0, 10) is gone (9 + 6 <= 15) but [5, 15) is not: 6 updates only [5, 15) */
    CHECK_RC(wpush1(&f, "1,6,4"));
    CHECK_STR(MAIN(&f), "1,0,10,1,1|1,5,15,1,1|1,5,15,2,3|1,0,10,2,3|1,5,15,3,7");
    CHECK_STR(LATE(&f), "");
    WM(&f, 20); /* [5, 15) gone: 14 + 6 */
    CHECK_RC(wpush1(&f, "1,9,8"));
    CHECK_STR(LATE(&f), "1,9,8");
    CHECK_EQ(state_entries(&f), 0);
    CHECK_RC(harness_end(&f.h));
    CHECK_EQ(f.h.main.n_rows, 5);
    wfix_close(&f);
}

TEST(window_late_rows_without_side_output_are_dropped)
{
    wfix f;
    wfix_init(&f, IN_KTV, "k", OUT_CS,
              (rill_window_spec){.kind = RILL_WINDOW_TUMBLING, .size_ms = 10});
    wfix_count_sum(&f);
    f.cfg.spec.late = NULL;
    f.cfg.late_tag = -1;
    wfix_open(&f);
    WM(&f, 50);
    CHECK_RC(wpush1(&f, "1,3,1"));
    CHECK_RC(harness_end(&f.h));
    CHECK_STR(MAIN(&f), "");
    CHECK_STR(LATE(&f), "");
    wfix_close(&f);
}

/* ---- triggers -------------------------------------------------------------------------------- */

TEST(window_count_trigger_tumbling_fires_and_purges)
{
    wfix f;
    wfix_simple(&f, (rill_window_spec){.kind = RILL_WINDOW_TUMBLING,
                                       .size_ms = 100,
                                       .trigger = RILL_TRIGGER_COUNT,
                                       .count = 3});
    CHECK_RC(wpush(&f, ROWS("1,1,1", "1,2,2", "2,3,100", "1,3,4")));
    CHECK_STR(MAIN_TS(&f), "1,0,100,3,7@99");
    CHECK_RC(wpush(&f, ROWS("1,4,8", "1,5,16", "2,4,200", "1,150,1", "1,6,32", "1,7,64")));
    CHECK_STR(MAIN(&f), "1,0,100,3,7|1,0,100,3,56");
    WM(&f, 99); /* the count trigger replaces the time trigger: the rest never fires */
    CHECK_STR(MAIN(&f), "1,0,100,3,7|1,0,100,3,56");
    CHECK_RC(wpush(&f, ROWS("1,160,2", "1,170,4")));
    CHECK_STR(MAIN(&f), "1,0,100,3,7|1,0,100,3,56|1,100,200,3,7");
    CHECK_RC(harness_end(&f.h));
    CHECK_EQ(f.h.main.n_rows, 3);
    CHECK_EQ(state_entries(&f), 0);
    wfix_close(&f);
}

TEST(window_count_trigger_global_window)
{
    wfix f;
    wfix_simple(&f, (rill_window_spec){
                        .kind = RILL_WINDOW_GLOBAL, .trigger = RILL_TRIGGER_COUNT, .count = 2});
    CHECK_RC(wpush(&f, ROWS("1,100,1", "2,-5,10", "1,-100,2", "1,7,4")));
    CHECK_STR(MAIN_TS(&f), "1,-9223372036854775808,9223372036854775807,2,3@9223372036854775807");
    CHECK_RC(wpush(&f, ROWS("2,0,20", "1,8,8")));
    WM(&f, 1000000);
    CHECK_STR(MAIN(&f), "1,-9223372036854775808,9223372036854775807,2,3|"
                        "2,-9223372036854775808,9223372036854775807,2,30|"
                        "1,-9223372036854775808,9223372036854775807,2,12");
    CHECK_RC(harness_end(&f.h));
    CHECK_EQ(f.h.main.n_rows, 3);
    wfix_close(&f);
}

TEST(window_early_firings_every_interval)
{
    harness_now_ms = 1000000;
    wfix f;
    wfix_simple(
        &f, (rill_window_spec){.kind = RILL_WINDOW_TUMBLING, .size_ms = 100, .early_every_ms = 10});
    CHECK_RC(harness_tick(&f.h, 1000003));
    CHECK_RC(wpush1(&f, "1,5,1"));
    CHECK_RC(harness_tick(&f.h, 1000009));
    CHECK_STR(MAIN(&f), "");
    CHECK_RC(harness_tick(&f.h, 1000010));
    CHECK_STR(MAIN_TS(&f), "1,0,100,1,1@99");
    CHECK_RC(wpush1(&f, "1,6,2"));
    CHECK_RC(harness_tick(&f.h, 1000015));
    CHECK_EQ(f.h.main.n_rows, 1);
    CHECK_RC(harness_tick(&f.h, 1000020));
    CHECK_STR(MAIN(&f), "1,0,100,1,1|1,0,100,2,3");
    WM(&f, 99); /* the final firing */
    CHECK_STR(MAIN(&f), "1,0,100,1,1|1,0,100,2,3|1,0,100,2,3");
    CHECK_RC(harness_tick(&f.h, 1000030));
    CHECK_RC(harness_tick(&f.h, 1000100));
    CHECK_EQ(f.h.main.n_rows, 3);
    CHECK_RC(harness_end(&f.h));
    CHECK_EQ(f.h.main.n_rows, 3);
    CHECK_EQ(state_entries(&f), 0);
    wfix_close(&f);
}

TEST(window_early_firings_global_window)
{
    harness_now_ms = 1000000;
    wfix f;
    wfix_simple(&f, (rill_window_spec){.kind = RILL_WINDOW_GLOBAL, .early_every_ms = 10});
    CHECK_RC(wpush1(&f, "1,5,1"));
    CHECK_RC(harness_tick(&f.h, 1000009));
    CHECK_STR(MAIN(&f), "");
    CHECK_RC(harness_tick(&f.h, 1000010));
    CHECK_STR(MAIN(&f), "1,-9223372036854775808,9223372036854775807,1,1");
    CHECK_RC(wpush1(&f, "1,-50,2"));
    CHECK_RC(harness_tick(&f.h, 1000020));
    CHECK_STR(MAIN(&f), "1,-9223372036854775808,9223372036854775807,1,1|"
                        "1,-9223372036854775808,9223372036854775807,2,3");
    wfix_close(&f);
}

TEST(window_processing_time_tumbling)
{
    harness_now_ms = 1000000;
    wfix f;
    wfix_simple(&f, (rill_window_spec){.kind = RILL_WINDOW_TUMBLING,
                                       .size_ms = 100,
                                       .domain = RILL_PROCESSING_TIME});
    CHECK_RC(harness_tick(&f.h, 1000005));
    /* the rows' event times do not matter, nor does a watermark */
    CHECK_RC(wpush(&f, ROWS("1,0,1", "2,999999999,2", "1,-5,4")));
    WM(&f, RILL_TS_MAX - 1);
    CHECK_STR(MAIN(&f), "");
    CHECK_RC(harness_tick(&f.h, 1000098));
    CHECK_STR(MAIN(&f), "");
    CHECK_RC(harness_tick(&f.h, 1000099));
    char *got = sorted_join(f.h.main.rows, f.h.main.n_rows);
    CHECK_STR(got, "1,1000000,1000100,2,5|2,1000000,1000100,1,2");
    free(got);
    CHECK_EQ(f.h.main.row_ts[0], 1000099);
    CHECK_RC(harness_tick(&f.h, 1000150));
    CHECK_RC(wpush1(&f, "1,0,8"));
    CHECK_RC(harness_tick(&f.h, 1000180));
    CHECK_EQ(f.h.main.n_rows, 2);
    CHECK_RC(harness_end(&f.h)); /* the end of input fires what is pending */
    CHECK_EQ(f.h.main.n_rows, 3);
    CHECK_STR(f.h.main.rows[2], "1,1000100,1000200,1,8");
    CHECK_STR(LATE(&f), "");
    CHECK_EQ(state_entries(&f), 0);
    wfix_close(&f);
}

/* ---- aggregates ------------------------------------------------------------------------------ */

#define IN_AGG "k INT64 NOT NULL, t TIMESTAMP NOT NULL, i INT64, d DOUBLE"
#define OUT_AGG                                                                                    \
    "k INT64 NOT NULL, window_start TIMESTAMP NOT NULL, window_end TIMESTAMP NOT NULL, "           \
    "count INT64 NOT NULL, sum_i INT64, min_i INT64, max_i INT64, avg_i DOUBLE, sum_d DOUBLE, "    \
    "min_d DOUBLE, max_d DOUBLE, avg_d DOUBLE"

static void open_all_aggs(wfix *f, rill_window_spec spec)
{
    wfix_init(f, IN_AGG, "k", OUT_AGG, spec);
    static const rill_agg_kind kinds[] = {RILL_AGG_SUM, RILL_AGG_MIN, RILL_AGG_MAX, RILL_AGG_AVG};
    f->aggs[0] = (rill__window_agg){RILL_AGG_COUNT, -1, RILL_T_INT64};
    for (int i = 0; i < 4; i++) {
        f->aggs[1 + i] = (rill__window_agg){kinds[i], 2, RILL_T_INT64};
        f->aggs[5 + i] = (rill__window_agg){kinds[i], 3, RILL_T_DOUBLE};
    }
    f->cfg.n_aggs = 9;
    wfix_open(f);
}

TEST(window_builtin_aggregates_with_nulls)
{
    wfix f;
    open_all_aggs(&f, (rill_window_spec){.kind = RILL_WINDOW_TUMBLING, .size_ms = 10});
    CHECK_RC(
        wpush(&f, ROWS("1,1,5,2.5", "1,2,,-1.5", "1,3,-7,", "1,4,,", "2,5,,", "3,6,-4,-0.25")));
    CHECK_RC(harness_end(&f.h));
    char *got = sorted_join(f.h.main.rows, f.h.main.n_rows);
    /* NULLs are ignored; count counts rows; aggregates of no values (and avg) are NULL */
    CHECK_STR(got, "1,0,10,4,-2,-7,5,-1,1,-1.5,2.5,0.5|"
                   "2,0,10,1,,,,,,,,|"
                   "3,0,10,1,-4,-4,-4,-4,-0.25,-0.25,-0.25,-0.25");
    free(got);
    wfix_close(&f);
}

TEST(window_builtin_aggregates_merge_slices)
{
    /* sliding windows merge slice accumulators: slices with only NULLs, or none */
    wfix f;
    open_all_aggs(&f,
                  (rill_window_spec){.kind = RILL_WINDOW_SLIDING, .size_ms = 20, .slide_ms = 10});
    CHECK_RC(wpush(&f, ROWS("1,12,,", "1,1,5,2.5", "1,2,,-1.5", "1,3,-7,", "1,4,,", "1,25,9,4")));
    CHECK_RC(harness_end(&f.h));
    CHECK_STR(MAIN(&f), "1,-10,10,4,-2,-7,5,-1,1,-1.5,2.5,0.5|"
                        "1,0,20,5,-2,-7,5,-1,1,-1.5,2.5,0.5|"
                        "1,10,30,2,9,9,9,9,4,4,4,4|"
                        "1,20,40,1,9,9,9,9,4,4,4,4");
    wfix_close(&f);
}

/* a user aggregate: n, sum and min of v; create sets min so a missing create shows */
typedef struct uacc {
    int64_t n, sum, min;
} uacc;

static void ua_create(void *acc, void *user)
{
    (void)user;
    *(uacc *)acc = (uacc){0, 0, INT64_MAX};
}

static int ua_add(rill_ctx *ctx, void *acc, const rill_row *in)
{
    (void)ctx;
    uacc *a = acc;
    int64_t v = rill_row_i64(in, 2);
    a->n++;
    a->sum += v;
    if (v < a->min)
        a->min = v;
    return 0;
}

static void ua_merge(void *acc, const void *other, void *user)
{
    (void)user;
    uacc *a = acc;
    const uacc *b = other;
    a->n += b->n;
    a->sum += b->sum;
    if (b->min < a->min)
        a->min = b->min;
}

static int ua_result(rill_ctx *ctx, const void *acc, rill_row *out)
{
    const uacc *a = acc;
    int64_t k;
    rill_window w;
    int rc = rill_ctx_key_i64(ctx, 0, &k);
    if (rc == 0)
        rc = rill_ctx_window(ctx, &w);
    if (rc)
        return rc;
    rill_row_set_i64(out, 0, k);
    rill_row_set_ts(out, 1, w.start);
    rill_row_set_ts(out, 2, w.end);
    rill_row_set_i64(out, 3, a->n);
    rill_row_set_i64(out, 4, a->sum);
    rill_row_set_i64(out, 5, a->min);
    return 0;
}

static const rill_aggregate user_agg = {.acc_size = sizeof(uacc),
                                        .create = ua_create,
                                        .add = ua_add,
                                        .merge = ua_merge,
                                        .result = ua_result};

#define OUT_UA "k INT64, ws TIMESTAMP, we TIMESTAMP, n INT64, sum INT64, min INT64"

TEST(window_user_aggregate)
{
    wfix f;
    wfix_init(&f, IN_KTV, "k", OUT_UA,
              (rill_window_spec){.kind = RILL_WINDOW_SLIDING, .size_ms = 10, .slide_ms = 5});
    f.cfg.mode = RILL_WMODE_AGG;
    f.cfg.agg = user_agg;
    wfix_open(&f);
    CHECK_RC(wpush(&f, ROWS("1,1,5", "1,7,3", "2,8,-4", "1,12,9")));
    CHECK_RC(harness_end(&f.h));
    char *got = sorted_join(f.h.main.rows, f.h.main.n_rows);
    CHECK_STR(got, "1,-5,5,1,5,5|1,0,10,2,8,3|1,10,20,1,9,9|1,5,15,2,12,3|"
                   "2,0,10,1,-4,-4|2,5,15,1,-4,-4");
    free(got);
    wfix_close(&f);
}

/* a window function: every row's s joined with '+', the count, the window */
static int join_rows(rill_ctx *ctx, const rill_window *w, rill_rows *rows)
{
    rill_window cw;
    if (rill_ctx_window(ctx, &cw) != 0 || cw.start != w->start || cw.end != w->end)
        return rill_ctx_fail(ctx, "rill_ctx_window does not match the window");
    const char *kp;
    size_t kn;
    int rc = rill_ctx_key_str(ctx, 0, &kp, &kn);
    if (rc)
        return rc;
    char buf[4096];
    size_t n = 0;
    int64_t cnt = 0;
    rill_row r;
    while (rill_rows_next(rows, &r)) {
        size_t rk_n, sl = 1;
        const char *rk = rill_row_str(&r, 0, &rk_n);
        if (rk_n != kn || memcmp(rk, kp, kn) != 0)
            return rill_ctx_fail(ctx, "a row of another key in the window");
        int64_t t = rill_row_ts(&r, 1);
        if (t < w->start || t >= w->end)
            return rill_ctx_fail(ctx, "row at %lld outside [%lld, %lld)", (long long)t,
                                 (long long)w->start, (long long)w->end);
        const char *s = "~";
        if (!rill_row_is_null(&r, 2))
            s = rill_row_str(&r, 2, &sl);
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%.*s", cnt ? "+" : "", (int)sl, s);
        cnt++;
    }
    if (cnt != rill_rows_count(rows))
        return rill_ctx_fail(ctx, "%lld rows seen, rill_rows_count says %lld", (long long)cnt,
                             (long long)rill_rows_count(rows));
    rill_row out;
    if ((rc = rill_emit(ctx, &out)) != 0)
        return rc;
    if ((rc = rill_row_set_str(&out, 0, kp, kn)) != 0)
        return rc;
    rill_row_set_ts(&out, 1, w->start);
    rill_row_set_ts(&out, 2, w->end);
    rill_row_set_i64(&out, 3, cnt);
    return rill_row_set_str(&out, 4, buf, n);
}

#define IN_STR  "k STRING NOT NULL, t TIMESTAMP NOT NULL, s STRING"
#define OUT_STR "k STRING, ws TIMESTAMP, we TIMESTAMP, n INT64, rows STRING"

TEST(window_process_function_sees_every_row)
{
    wfix f;
    wfix_init(&f, IN_STR, "k", OUT_STR,
              (rill_window_spec){.kind = RILL_WINDOW_TUMBLING, .size_ms = 10});
    f.cfg.mode = RILL_WMODE_PROCESS;
    f.cfg.fn = join_rows;
    wfix_open(&f);
    /* out of order within the window: the function sees arrival order */
    CHECK_RC(
        wpush(&f, ROWS("alpha,7,first", "beta,3,", "alpha,2,second-a-bit-longer", "alpha,-3,neg")));
    CHECK_RC(wpush(
        &f, ROWS("alpha,9,", "beta,5,b2", "a-very-long-key-name-for-strings,1,x", "alpha,0,last")));
    WM(&f, 9);
    char *got = sorted_join(f.h.main.rows, f.h.main.n_rows);
    CHECK_STR(got, "a-very-long-key-name-for-strings,0,10,1,x|"
                   "alpha,-10,0,1,neg|"
                   "alpha,0,10,4,first+second-a-bit-longer+~+last|"
                   "beta,0,10,2,~+b2");
    free(got);
    CHECK_RC(harness_end(&f.h));
    CHECK_EQ(f.h.main.n_rows, 4);
    CHECK_EQ(state_entries(&f), 0);
    wfix_close(&f);
}

TEST(window_process_function_sessions_and_sliding)
{
    wfix f;
    wfix_init(&f, IN_STR, "k", OUT_STR,
              (rill_window_spec){.kind = RILL_WINDOW_SESSION, .gap_ms = 5});
    f.cfg.mode = RILL_WMODE_PROCESS;
    f.cfg.fn = join_rows;
    wfix_open(&f);
    /* three sessions that merge into one: every row kept, whatever the merge order */
    CHECK_RC(wpush(&f, ROWS("k,10,c", "k,0,a", "k,5,b", "k,30,z")));
    CHECK_RC(harness_end(&f.h));
    CHECK_EQ(f.h.main.n_rows, 2);
    CHECK_CONTAINS(f.h.main.rows[0], "k,0,15,3,");
    CHECK_CONTAINS(f.h.main.rows[0], "a");
    CHECK_CONTAINS(f.h.main.rows[0], "b");
    CHECK_CONTAINS(f.h.main.rows[0], "c");
    CHECK_STR(f.h.main.rows[1], "k,30,35,1,z");
    wfix_close(&f);

    wfix_init(&f, IN_STR, "k", OUT_STR,
              (rill_window_spec){.kind = RILL_WINDOW_SLIDING, .size_ms = 10, .slide_ms = 5});
    f.cfg.mode = RILL_WMODE_PROCESS;
    f.cfg.fn = join_rows;
    wfix_open(&f);
    CHECK_RC(wpush(&f, ROWS("k,2,a", "k,7,b", "k,12,c")));
    CHECK_RC(harness_end(&f.h));
    CHECK_STR(MAIN(&f), "k,-5,5,1,a|k,0,10,2,a+b|k,5,15,2,b+c|k,10,20,1,c");
    wfix_close(&f);
}

TEST(window_process_sliding_rows_in_arrival_order)
{
    /* rill.h: "The rows of a window, in arrival order" - also when a window spans slices */
    wfix f;
    wfix_init(&f, IN_STR, "k", OUT_STR,
              (rill_window_spec){.kind = RILL_WINDOW_SLIDING, .size_ms = 10, .slide_ms = 5});
    f.cfg.mode = RILL_WMODE_PROCESS;
    f.cfg.fn = join_rows;
    wfix_open(&f);
    CHECK_RC(wpush(&f, ROWS("k,7,first", "k,2,second", "k,8,third")));
    CHECK_RC(harness_end(&f.h));
    CHECK_STR(MAIN(&f), "k,-5,5,1,second|k,0,10,3,first+second+third|k,5,15,2,first+third");
    wfix_close(&f);
}

/* after an aggregate: the one row per firing, handed to the function with its window */
static int agg_then_fn(rill_ctx *ctx, const rill_window *w, rill_rows *rows)
{
    if (rill_rows_count(rows) != 1)
        return rill_ctx_fail(ctx, "%lld rows after an aggregate", (long long)rill_rows_count(rows));
    rill_row r, out;
    if (!rill_rows_next(rows, &r))
        return rill_ctx_fail(ctx, "no aggregate row");
    if (rill_row_ts(&r, 1) != w->start || rill_row_ts(&r, 2) != w->end)
        return rill_ctx_fail(ctx, "aggregate row's window [%lld, %lld) vs [%lld, %lld)",
                             (long long)rill_row_ts(&r, 1), (long long)rill_row_ts(&r, 2),
                             (long long)w->start, (long long)w->end);
    if (rill_rows_next(rows, &r))
        return rill_ctx_fail(ctx, "a second aggregate row");
    int rc = rill_emit(ctx, &out);
    if (rc)
        return rc;
    rill_row_set_i64(&out, 0, rill_row_i64(&r, 0));
    rill_row_set_ts(&out, 1, w->start);
    rill_row_set_ts(&out, 2, w->end);
    rill_row_set_i64(&out, 3, rill_row_i64(&r, 3) * 1000);
    if (rill_row_is_null(&r, 4))
        rill_row_set_null(&out, 4);
    else
        rill_row_set_i64(&out, 4, rill_row_i64(&r, 4) * 1000);
    return 0;
}

TEST(window_aggregate_then_process_function)
{
    /* built-in aggregates: the function gets key, window_start, window_end, count, sum_v */
    wfix f;
    wfix_init(&f, IN_KTV, "k", OUT_CS,
              (rill_window_spec){.kind = RILL_WINDOW_TUMBLING, .size_ms = 10});
    wfix_count_sum(&f);
    f.cfg.mode = RILL_WMODE_AGG_PROCESS;
    f.cfg.fn = agg_then_fn;
    f.cfg.agg_schema = schema(OUT_CS);
    wfix_open(&f);
    CHECK_RC(wpush(&f, ROWS("1,1,1", "1,2,2", "2,15,7", "1,12,")));
    CHECK_RC(harness_end(&f.h));
    /* (the two windows of time 19 may fire in either order: other keys) */
    char *got = sorted_join(f.h.main.rows, f.h.main.n_rows);
    CHECK_STR(got, "1,0,10,2000,3000|1,10,20,1000,|2,10,20,1000,7000");
    free(got);
    CHECK_EQ(f.h.main.n_rows, 3);
    CHECK_EQ(f.h.main.row_ts[0], 9);
    CHECK_EQ(f.h.main.row_ts[1], 19);
    CHECK_EQ(f.h.main.row_ts[2], 19);
    wfix_close(&f);

    /* a user aggregate's row (k, ws, we, n, sum, min) */
    wfix_init(&f, IN_KTV, "k", OUT_CS,
              (rill_window_spec){.kind = RILL_WINDOW_SESSION, .gap_ms = 3});
    f.cfg.mode = RILL_WMODE_AGG_PROCESS;
    f.cfg.agg = user_agg;
    f.cfg.fn = agg_then_fn;
    f.cfg.agg_schema = schema(OUT_UA);
    wfix_open(&f);
    CHECK_RC(wpush(&f, ROWS("1,1,1", "1,3,2", "1,9,4")));
    CHECK_RC(harness_end(&f.h));
    CHECK_STR(MAIN(&f), "1,1,6,2000,3000|1,9,12,1000,4000");
    wfix_close(&f);
}

/* ---- keyed process timers -------------------------------------------------------------------- */

/* Rows "k,t,a": a is e (event timer at t), d (delete it), p (processing timer), q (delete),
 * c (event timer at t that re-registers itself 10 later up to 50), n (nothing). */
static int timer_rows(rill_ctx *ctx, const rill_row *in)
{
    int64_t ts = rill_row_i64(in, 1);
    size_t n;
    const char *a = rill_row_str(in, 2, &n);
    switch (a[0]) {
    case 'e':
    case 'c':
        return rill_timer_event(ctx, ts);
    case 'd':
        return rill_timer_event_delete(ctx, ts);
    case 'p':
        return rill_timer_processing(ctx, ts);
    case 'q':
        return rill_timer_processing_delete(ctx, ts);
    default:
        return 0;
    }
}

/* Emits k, the timer's time, the watermark, the domain and rill_ctx_timestamp. */
static int timer_fired(rill_ctx *ctx, int64_t ts, rill_time_domain d)
{
    int64_t k;
    int rc = rill_ctx_key_i64(ctx, 0, &k);
    if (rc)
        return rc;
    const int *chain = rill_ctx_user(ctx);
    if (chain && *chain && d == RILL_EVENT_TIME && ts < 50 && (rc = rill_timer_event(ctx, ts + 10)))
        return rc;
    rill_row out;
    if ((rc = rill_emit(ctx, &out)) != 0)
        return rc;
    rill_row_set_i64(&out, 0, k);
    rill_row_set_i64(&out, 1, ts);
    rill_row_set_i64(&out, 2, rill_ctx_watermark(ctx));
    const char *dom = d == RILL_EVENT_TIME ? "event" : "proc";
    if ((rc = rill_row_set_str(&out, 3, dom, strlen(dom))) != 0)
        return rc;
    rill_row_set_i64(&out, 4, rill_ctx_timestamp(ctx));
    return 0;
}

typedef struct tfix {
    harness h;
    rill_schema *in, *out;
    rill__key_spec key;
    int chain;
} tfix;

static void tfix_open(tfix *f, int chain)
{
    memset(f, 0, sizeof *f);
    f->in = schema("k INT64 NOT NULL, t INT64 NOT NULL, a STRING NOT NULL");
    f->out = schema("k INT64, ts INT64, wm INT64, dom STRING, ctx_ts INT64");
    f->chain = chain;
    rill__err e = {0};
    CHECK_RC(rill__key_spec_init(&f->key, f->in, "k", &e));
    rill__op_init init = harness_init(&f->h, f->in, f->out, 0);
    init.user = &f->chain;
    CHECK_RC(harness_open(&f->h, rill__op_keyed_process(&init, &f->key, harness_backend(),
                                                        timer_rows, timer_fired)));
}

static void tfix_close(tfix *f)
{
    harness_close(&f->h);
    rill_schema_free(f->in);
    rill_schema_free(f->out);
}

TEST(timer_event_order_dedup_delete)
{
    tfix f;
    tfix_open(&f, 0);
    CHECK_RC(harness_push(&f.h,
                          ROWS("1,30,e", "2,10,e", "1,20,e", "2,20,e", "1,20,e", "3,15,e", "3,15,d",
                               "2,25,e", "2,10,e", "4,-5,e"),
                          false));
    CHECK_RC(harness_watermark(&f.h, -6));
    CHECK_STR(MAIN_TS(&f), "");
    CHECK_RC(harness_watermark(&f.h, 19));
    /* the timer at 10 fires once (registered twice); 15 was deleted; on_timer sees the new
     * watermark and its rows carry the timer's time */
    CHECK_STR(MAIN_TS(&f), "4,-5,19,event,-5@-5|2,10,19,event,10@10");
    CHECK_RC(harness_watermark(&f.h, 20)); /* a timer fires when the watermark reaches it */
    CHECK_STR(MAIN_TS(&f), "4,-5,19,event,-5@-5|2,10,19,event,10@10|1,20,20,event,20@20|"
                           "2,20,20,event,20@20");
    CHECK_RC(harness_watermark(&f.h, 100));
    CHECK_STR(MAIN_TS(&f), "4,-5,19,event,-5@-5|2,10,19,event,10@10|1,20,20,event,20@20|"
                           "2,20,20,event,20@20|2,25,100,event,25@25|1,30,100,event,30@30");
    CHECK_EQ(f.h.main.watermark, 100);
    CHECK_EQ(rill__timers_count(f.h.op->ctx.timers, RILL_EVENT_TIME), 0);
    /* a timer registered at or below the watermark fires with the next watermark */
    CHECK_RC(harness_push(&f.h, ROWS("5,50,e"), false));
    CHECK_EQ(f.h.main.n_rows, 6);
    CHECK_RC(harness_watermark(&f.h, 101));
    CHECK_STR(f.h.main.rows[6], "5,50,101,event,50");
    CHECK_RC(harness_end(&f.h));
    tfix_close(&f);
}

TEST(timer_event_registered_in_on_timer_fires_in_order)
{
    tfix f;
    tfix_open(&f, 1);
    CHECK_RC(harness_push(&f.h, ROWS("1,10,c", "2,25,c", "3,60,e"), false));
    CHECK_RC(harness_watermark(&f.h, 100));
    /* 1: 10 -> 20 -> ... 50; 2: 25 -> 35 -> 45 -> 55; 3: 60; all by timestamp */
    CHECK_STR(MAIN(&f), "1,10,100,event,10|1,20,100,event,20|2,25,100,event,25|"
                        "1,30,100,event,30|2,35,100,event,35|1,40,100,event,40|"
                        "2,45,100,event,45|1,50,100,event,50|2,55,100,event,55|"
                        "3,60,100,event,60");
    tfix_close(&f);
}

TEST(timer_processing_time)
{
    harness_now_ms = 1000000;
    tfix f;
    tfix_open(&f, 0);
    CHECK_RC(harness_push(&f.h,
                          ROWS("1,1000050,p", "2,1000040,p", "2,1000040,p", "1,1000060,p",
                               "1,1000060,q", "3,1000045,e"),
                          false));
    CHECK_RC(harness_tick(&f.h, 1000039));
    CHECK_STR(MAIN(&f), "");
    CHECK_RC(harness_tick(&f.h, 1000050));
    /* processing-time timers by the clock, in order, once; their rows have no event time */
    CHECK_STR(MAIN_TS(&f), "2,1000040,-9223372036854775808,proc,-9223372036854775808@-|"
                           "1,1000050,-9223372036854775808,proc,-9223372036854775808@-");
    CHECK_RC(harness_tick(&f.h, 2000000));
    CHECK_EQ(f.h.main.n_rows, 2); /* 1000060 was deleted; 3's is an event-time timer */
    CHECK_RC(harness_watermark(&f.h, 1000045));
    CHECK_EQ(f.h.main.n_rows, 3);
    CHECK_STR(f.h.main.rows[2], "3,1000045,1000045,event,1000045");
    tfix_close(&f);
}

/* Key "name,g": on_timer reads both fields and checks the wrong-type and range errors. */
static int key_timer_rows(rill_ctx *ctx, const rill_row *in)
{
    return rill_timer_event(ctx, rill_row_i64(in, 2));
}

static int key_timer_fired(rill_ctx *ctx, int64_t ts, rill_time_domain d)
{
    (void)d;
    const char *name;
    size_t n;
    int64_t g, x;
    int rc = rill_ctx_key_str(ctx, 0, &name, &n);
    if (rc == 0)
        rc = rill_ctx_key_i64(ctx, 1, &g);
    if (rc)
        return rc;
    if (rill_ctx_key_i64(ctx, 0, &x) != RILL_ETYPE || rill_ctx_key_i64(ctx, 2, &x) != RILL_ERANGE)
        return rill_ctx_fail(ctx, "key field errors");
    rill_row out;
    if ((rc = rill_emit(ctx, &out)) != 0)
        return rc;
    if ((rc = rill_row_set_str(&out, 0, name, n)) != 0)
        return rc;
    rill_row_set_i64(&out, 1, g);
    rill_row_set_i64(&out, 2, ts);
    return 0;
}

TEST(timer_on_timer_sees_its_key)
{
    rill_schema *in = schema("name STRING NOT NULL, g INT64 NOT NULL, t INT64 NOT NULL");
    rill_schema *out = schema("name STRING, g INT64, ts INT64");
    rill__err e = {0};
    rill__key_spec key;
    CHECK_RC(rill__key_spec_init(&key, in, "name,g", &e));
    harness h;
    rill__op_init init = harness_init(&h, in, out, 0);
    CHECK_RC(harness_open(&h, rill__op_keyed_process(&init, &key, harness_backend(),
                                                     key_timer_rows, key_timer_fired)));
    CHECK_RC(harness_push(&h,
                          ROWS("zebra,1,30", "a,2,10", "a,3,20", "zebra,1,30",
                               "a-much-longer-key-than-eight-bytes,-7,25"),
                          false));
    CHECK_RC(harness_watermark(&h, 1000));
    CHECK_STR(harness_rows_ts(&h, &h.main),
              "a,2,10@10|a,3,20@20|a-much-longer-key-than-eight-bytes,-7,25@25|zebra,1,30@30");
    harness_close(&h);
    rill_schema_free(in);
    rill_schema_free(out);
}

/* ---- the event-time operator ----------------------------------------------------------------- */

typedef struct efix {
    harness h;
    rill_schema *in;
} efix;

static void efix_open(efix *f, const char *spec, rill_watermark_opts opts)
{
    f->in = schema(spec);
    rill__op_init init = harness_init(&f->h, f->in, NULL, 0);
    CHECK_RC(harness_open(&f->h, rill__op_event_time(&init, 0, &opts, false)));
}

static void efix_close(efix *f)
{
    harness_close(&f->h);
    rill_schema_free(f->in);
}

#define SPLIT(f, rows, split, done) CHECK_RC(harness_push_split(&(f)->h, rows, split, done))

TEST(event_time_per_split_watermarks)
{
    efix f;
    efix_open(&f, "t TIMESTAMP NOT NULL, v INT64", (rill_watermark_opts){.kind = RILL_WM_BOUNDED});
    SPLIT(&f, NO_ROWS, 0, false);
    SPLIT(&f, NO_ROWS, 1, false);
    SPLIT(&f, ROWS("100,1"), 0, false);
    CHECK_EQ(f.h.main.n_watermarks, 0); /* split 1 has no rows yet: it holds the watermark */
    SPLIT(&f, ROWS("50,2"), 1, false);
    CHECK_EQ(f.h.main.watermark, 49);
    SPLIT(&f, ROWS("200,3", "150,4"), 1, false);
    CHECK_EQ(f.h.main.watermark, 99);
    SPLIT(&f, ROWS("120,5"), 0, false);
    CHECK_EQ(f.h.main.watermark, 119);
    SPLIT(&f, NO_ROWS, 0, true); /* split 0 ends: it holds nothing back */
    CHECK_EQ(f.h.main.watermark, 199);
    CHECK_RC(harness_end(&f.h));
    CHECK_EQ(f.h.main.watermark, RILL_TS_MAX);
    CHECK(f.h.main.ended);
    CHECK_STR(MAIN_TS(&f), "100,1@100|50,2@50|200,3@200|150,4@150|120,5@120");
    efix_close(&f);
}

TEST(event_time_idle_split_stops_holding_back_and_rejoins)
{
    harness_now_ms = 1000000;
    efix f;
    efix_open(&f, "t TIMESTAMP NOT NULL, v INT64",
              (rill_watermark_opts){.kind = RILL_WM_BOUNDED, .idle_timeout_ms = 100});
    CHECK_RC(harness_tick(&f.h, 1000000));
    SPLIT(&f, NO_ROWS, 0, false); /* both splits known before rows come */
    SPLIT(&f, NO_ROWS, 1, false);
    SPLIT(&f, ROWS("100,1"), 0, false);
    SPLIT(&f, ROWS("10,2"), 1, false);
    CHECK_EQ(f.h.main.watermark, 9);
    CHECK_RC(harness_tick(&f.h, 1000050));
    SPLIT(&f, ROWS("150,3"), 0, false);
    CHECK_EQ(f.h.main.watermark, 9);
    CHECK_RC(harness_tick(&f.h, 1000099));
    CHECK_EQ(f.h.main.watermark, 9);
    /* split 1: no rows for 100 ms (checked every timeout / 4) */
    CHECK_RC(harness_tick(&f.h, 1000125));
    CHECK_EQ(f.h.main.watermark, 149);
    CHECK(!f.h.main.idle); /* the stream as a whole is not idle */
    /* split 1 rejoins behind the watermark: it does not move it back, and holds it again */
    SPLIT(&f, ROWS("120,4"), 1, false);
    CHECK_EQ(f.h.main.watermark, 149);
    SPLIT(&f, ROWS("400,5"), 0, false);
    CHECK_EQ(f.h.main.watermark, 149);
    SPLIT(&f, ROWS("250,6"), 1, false);
    CHECK_EQ(f.h.main.watermark, 249);
    int n_wm = f.h.main.n_watermarks;
    /* every split idle: the watermark does not advance; downstream hears the stream is idle */
    CHECK_RC(harness_tick(&f.h, 1000300));
    CHECK_EQ(f.h.main.watermark, 249);
    CHECK_EQ(f.h.main.n_watermarks, n_wm);
    CHECK(f.h.main.idle);
    /* split 0 comes back; split 1 is still idle, so split 0 alone makes the watermark */
    SPLIT(&f, ROWS("500,7"), 0, false);
    CHECK(!f.h.main.idle);
    CHECK_EQ(f.h.main.watermark, 499);
    efix_close(&f);
}

/* A reader with no split at all (more Kafka readers than partitions) goes idle after the
 * timeout, so that it does not hold every window back; its first split's rows make it active. */
TEST(event_time_reader_without_splits_goes_idle)
{
    harness_now_ms = 1000000;
    efix f;
    efix_open(&f, "t TIMESTAMP NOT NULL, v INT64",
              (rill_watermark_opts){.kind = RILL_WM_BOUNDED, .idle_timeout_ms = 100});
    CHECK_RC(harness_tick(&f.h, 1000000));
    CHECK_RC(harness_tick(&f.h, 1000075));
    CHECK(!f.h.main.idle);
    CHECK_RC(harness_tick(&f.h, 1000100));
    CHECK(f.h.main.idle);
    SPLIT(&f, NO_ROWS, 0, false); /* a split comes: still idle until it has rows */
    CHECK(f.h.main.idle);
    SPLIT(&f, ROWS("100,1"), 0, false);
    CHECK(!f.h.main.idle);
    CHECK_EQ(f.h.main.watermark, 99);
    efix_close(&f);
}

TEST(event_time_rejoin_after_all_idle_with_an_older_row)
{
    /* every split idle, then one comes back with a row below its maximum: the watermark is
     * that split's (min over the non-idle inputs), and the row goes through */
    harness_now_ms = 1000000;
    efix f;
    efix_open(&f, "t TIMESTAMP NOT NULL, v INT64",
              (rill_watermark_opts){.kind = RILL_WM_BOUNDED, .idle_timeout_ms = 100});
    CHECK_RC(harness_tick(&f.h, 1000000));
    SPLIT(&f, NO_ROWS, 0, false); /* both splits known before rows come */
    SPLIT(&f, NO_ROWS, 1, false);
    SPLIT(&f, ROWS("100,1"), 0, false);
    SPLIT(&f, ROWS("10,2"), 1, false);
    CHECK_EQ(f.h.main.watermark, 9);
    CHECK_RC(harness_tick(&f.h, 1000200));
    CHECK(f.h.main.idle);
    CHECK_EQ(f.h.main.watermark, 9);
    SPLIT(&f, ROWS("80,3"), 0, false);
    CHECK(!f.h.main.idle);
    CHECK_EQ(f.h.main.watermark, 99);
    CHECK_STR(MAIN(&f), "100,1|10,2|80,3");
    efix_close(&f);
}

TEST(event_time_end_of_input_sends_max)
{
    static const rill_watermark_kind kinds[] = {RILL_WM_BOUNDED, RILL_WM_MONOTONOUS, RILL_WM_NONE};
    static const int64_t want[] = {4 - 3, 4, RILL_TS_MIN};
    for (int i = 0; i < 3; i++) {
        efix f;
        efix_open(&f, "t TIMESTAMP NOT NULL, v INT64",
                  (rill_watermark_opts){.kind = kinds[i], .max_delay_ms = 3});
        CHECK_RC(harness_push(&f.h, ROWS("5,1", "2,2"), false));
        if (want[i] == RILL_TS_MIN)
            CHECK_EQ(f.h.main.n_watermarks, 0);
        else
            CHECK_EQ(f.h.main.watermark, want[i]); /* max - delay - 1, or max - 1 */
        CHECK_RC(harness_end(&f.h));
        CHECK_EQ(f.h.main.watermark, RILL_TS_MAX);
        CHECK(f.h.main.ended);
        efix_close(&f);
    }
}

TEST(event_time_null_timestamp_fails_naming_the_field)
{
    efix f;
    efix_open(&f, "when TIMESTAMP, v INT64", (rill_watermark_opts){.kind = RILL_WM_BOUNDED});
    int rc = harness_push(&f.h, ROWS("5,1", ",2"), false);
    CHECK_EQ(rc, RILL_EPARSE);
    CHECK_CONTAINS(f.h.err.msg, "NULL timestamp");
    CHECK_CONTAINS(f.h.err.msg, "'when'");
    CHECK_CONTAINS(f.h.err.msg, "operator 'op'");
    efix_close(&f);
}

TEST(event_time_watermark_before_a_row_it_makes_late)
{
    /* one batch "10", "3" with delay 5: the watermark 4 from 10 goes out before 3, so 3 is late
     * for [0, 5) exactly as with a watermark after every row */
    rill_schema *in = schema(IN_KTV), *out = schema(OUT_CS);
    rill__err e = {0};
    rill__key_spec key;
    CHECK_RC(rill__key_spec_init(&key, in, "k", &e));
    rill_output_tag late = {.id = 0, .name = (char *)"late", .schema = in};
    rill__window_agg aggs[2] = {{RILL_AGG_COUNT, -1, RILL_T_INT64},
                                {RILL_AGG_SUM, 2, RILL_T_INT64}};
    rill__window_cfg cfg = {.spec = {.kind = RILL_WINDOW_TUMBLING, .size_ms = 5, .late = &late},
                            .late_tag = 0,
                            .mode = RILL_WMODE_BUILTIN,
                            .aggs = aggs,
                            .n_aggs = 2};
    harness h;
    rill__op_init init = harness_init(&h, in, NULL, 0);
    rill_watermark_opts wo = {.kind = RILL_WM_BOUNDED, .max_delay_ms = 5};
    rill__operator *et = rill__op_event_time(&init, 1, &wo, false);
    rill__op_init wi = init;
    wi.out_schema = out;
    wi.n_tags = 1;
    CHECK_RC(harness_open_chain(&h, et, rill__op_window(&wi, &key, harness_backend(), &cfg)));
    CHECK_RC(harness_push(&h, ROWS("1,1,1", "1,10,2", "1,3,4", "1,5,8"), false));
    CHECK_STR(harness_rows(&h, &h.main), "1,0,5,1,1");
    CHECK_STR(harness_rows(&h, &h.side[0]), "1,3,4");
    CHECK_RC(harness_end(&h));
    CHECK_STR(harness_rows(&h, &h.main), "1,0,5,1,1|1,5,10,1,8|1,10,15,1,2");
    harness_close(&h);
    rill_schema_free(in);
    rill_schema_free(out);
}

/* Regression: at the end of input, early firings used to schedule the next one up to the end
 * of time, so processing-time windows with early firings never finished. */
TEST(window_early_firings_end_of_input_terminates)
{
    harness_now_ms = 1000000;
    wfix f;
    wfix_simple(&f, (rill_window_spec){.kind = RILL_WINDOW_TUMBLING,
                                       .size_ms = 100,
                                       .domain = RILL_PROCESSING_TIME,
                                       .early_every_ms = 10});
    CHECK_RC(wpush(&f, ROWS("1,0,1", "1,0,2")));
    CHECK_RC(harness_end(&f.h)); /* fires the window once and returns */
    CHECK_STR(MAIN(&f), "1,1000000,1000100,2,3");
    wfix_close(&f);

    wfix_simple(&f, (rill_window_spec){.kind = RILL_WINDOW_GLOBAL,
                                       .domain = RILL_PROCESSING_TIME,
                                       .early_every_ms = 10});
    CHECK_RC(wpush(&f, ROWS("1,0,1")));
    CHECK_RC(harness_end(&f.h));
    CHECK_STR(MAIN(&f), "1,-9223372036854775808,9223372036854775807,1,1");
    wfix_close(&f);
}
