/*
 * generator.c - connectors layer: the deterministic generator source. Row n is a pure function
 * of (seed, n, field), so the output is the same at any parallelism and batch size.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conn_int.h"

#define GOLDEN UINT64_C(0x9e3779b97f4a7c15)

__extension__ typedef unsigned __int128 gen_u128;
__extension__ typedef __int128 gen_i128;

/* ---- config: a deep copy of rill_gen_opts ------------------------------------------------- */

typedef struct gen_cfg {
    rill_gen_opts opts;      /* opts.fields points at fields */
    rill_gen_field *fields;  /* names and choices owned */
    int *n_choice_copies;    /* per field: how many choices strings were copied */
} gen_cfg;

void *rill__generator_cfg(const rill_gen_opts *opts)
{
    gen_cfg *c = rill__xcalloc(1, sizeof *c);
    c->opts = *opts;
    int n = opts->fields && opts->n_fields > 0 ? opts->n_fields : 0;
    c->opts.n_fields = n;
    c->fields = rill__xcalloc(n ? (size_t)n : 1, sizeof *c->fields);
    c->n_choice_copies = rill__xcalloc(n ? (size_t)n : 1, sizeof *c->n_choice_copies);
    for (int i = 0; i < n; i++) {
        const rill_gen_field *f = &opts->fields[i];
        rill_gen_field *g = &c->fields[i];
        *g = *f;
        g->name = f->name ? rill__xstrdup(f->name) : NULL;
        /* choices[0] is read even when n_choices is 0 (a prefix or a constant) */
        int m = f->choices ? (f->n_choices > 0 ? f->n_choices : 1) : 0;
        if (m > 0) {
            char **copy = rill__xcalloc((size_t)m, sizeof *copy);
            for (int k = 0; k < m; k++)
                copy[k] = f->choices[k] ? rill__xstrdup(f->choices[k]) : NULL;
            g->choices = (const char *const *)copy;
        }
        c->n_choice_copies[i] = m;
    }
    c->opts.fields = c->fields;
    return c;
}

static void gen_cfg_free(void *cfg)
{
    gen_cfg *c = cfg;
    if (!c)
        return;
    for (int i = 0; i < c->opts.n_fields; i++) {
        free((char *)c->fields[i].name);
        char **copy = (char **)c->fields[i].choices;
        for (int k = 0; k < c->n_choice_copies[i]; k++)
            free(copy[k]);
        free(copy);
    }
    free(c->fields);
    free(c->n_choice_copies);
    free(c);
}

/* ---- validation ---------------------------------------------------------------------------- */

static const char *kind_name(rill_gen_kind k)
{
    switch (k) {
    case RILL_GEN_NULL: return "NULL";
    case RILL_GEN_SEQUENCE: return "SEQUENCE";
    case RILL_GEN_MODULO: return "MODULO";
    case RILL_GEN_UNIFORM_INT: return "UNIFORM_INT";
    case RILL_GEN_UNIFORM_DOUBLE: return "UNIFORM_DOUBLE";
    case RILL_GEN_STRING: return "STRING";
    case RILL_GEN_CONSTANT: return "CONSTANT";
    }
    return "?";
}

/* Whether kind k can fill a field of type t. Integer kinds also fill DOUBLE (converted) and
 * BOOL (nonzero is true). */
static bool kind_fits(rill_gen_kind k, rill_type t)
{
    bool num = t == RILL_T_INT64 || t == RILL_T_TIMESTAMP || t == RILL_T_DOUBLE ||
               t == RILL_T_BOOL;
    switch (k) {
    case RILL_GEN_NULL: return true;
    case RILL_GEN_SEQUENCE:
    case RILL_GEN_MODULO:
    case RILL_GEN_UNIFORM_INT: return num;
    case RILL_GEN_UNIFORM_DOUBLE: return t == RILL_T_DOUBLE;
    case RILL_GEN_STRING: return t == RILL_T_STRING;
    case RILL_GEN_CONSTANT: return num || t == RILL_T_STRING; /* not the SQL kinds */
    }
    return false;
}

static int fail_unknown_field(rill__err *err, const char *name, const rill_schema *schema)
{
    rill__buf d = {0};
    rill__schema_describe(schema, &d);
    rill__err_set(err, RILL_ECONFIG, "generator: unknown field '%s' (schema: %s)", name,
                  rill__buf_cstr(&d));
    rill__buf_free(&d);
    return RILL_ECONFIG;
}

static int gen_validate(const void *cfg, const rill_schema *schema, rill__err *err)
{
    const gen_cfg *c = cfg;
    const rill_gen_opts *o = &c->opts;
    if (o->events < 0)
        return rill__err_set(err, RILL_ECONFIG, "generator: events must be >= 0, got %lld",
                             (long long)o->events);
    if (!(o->rate >= 0) || isinf(o->rate))
        return rill__err_set(err, RILL_ECONFIG,
                             "generator: rate must be a finite number >= 0 (rows/s), got %g",
                             o->rate);
    for (int i = 0; i < o->n_fields; i++) {
        const rill_gen_field *f = &o->fields[i];
        if (!f->name)
            return rill__err_set(err, RILL_ECONFIG, "generator: field spec %d has no name", i);
        int idx = rill_schema_index(schema, f->name);
        if (idx < 0)
            return fail_unknown_field(err, f->name, schema);
        for (int j = 0; j < i; j++)
            if (strcmp(o->fields[j].name, f->name) == 0)
                return rill__err_set(err, RILL_ECONFIG,
                                     "generator: field '%s' is given twice", f->name);
        rill_type t = rill_schema_field_type(schema, idx);
        if ((unsigned)f->kind > RILL_GEN_CONSTANT)
            return rill__err_set(err, RILL_ECONFIG, "generator: field '%s': unknown kind %d",
                                 f->name, (int)f->kind);
        if (!kind_fits(f->kind, t))
            return rill__err_set(err, RILL_ECONFIG,
                                 "generator: field '%s' is %s; kind %s cannot fill it", f->name,
                                 rill_type_name(t), kind_name(f->kind));
        switch (f->kind) {
        case RILL_GEN_MODULO:
            if (f->b <= 0)
                return rill__err_set(err, RILL_ECONFIG,
                                     "generator: field '%s': MODULO needs b > 0, got %lld",
                                     f->name, (long long)f->b);
            break;
        case RILL_GEN_UNIFORM_INT:
            if (f->a > f->b)
                return rill__err_set(err, RILL_ECONFIG,
                                     "generator: field '%s': UNIFORM_INT needs a <= b, got "
                                     "[%lld, %lld]",
                                     f->name, (long long)f->a, (long long)f->b);
            break;
        case RILL_GEN_UNIFORM_DOUBLE:
            if (!isfinite(f->x) || !isfinite(f->y) || f->x > f->y || !isfinite(f->y - f->x))
                return rill__err_set(err, RILL_ECONFIG,
                                     "generator: field '%s': UNIFORM_DOUBLE needs finite x <= y, "
                                     "got [%g, %g)",
                                     f->name, f->x, f->y);
            break;
        case RILL_GEN_STRING:
            if (f->n_choices < 0)
                return rill__err_set(err, RILL_ECONFIG,
                                     "generator: field '%s': n_choices is negative", f->name);
            if (f->n_choices > 0 && !f->choices)
                return rill__err_set(err, RILL_ECONFIG,
                                     "generator: field '%s': n_choices is %d but choices is NULL",
                                     f->name, f->n_choices);
            for (int k = 0; k < f->n_choices; k++)
                if (!f->choices[k])
                    return rill__err_set(err, RILL_ECONFIG,
                                         "generator: field '%s': choices[%d] is NULL", f->name,
                                         k);
            if (f->n_choices == 0 && f->a > f->b)
                return rill__err_set(err, RILL_ECONFIG,
                                     "generator: field '%s': STRING needs a <= b, got "
                                     "[%lld, %lld]",
                                     f->name, (long long)f->a, (long long)f->b);
            break;
        case RILL_GEN_CONSTANT:
            if (t == RILL_T_STRING && (!f->choices || !f->choices[0]))
                return rill__err_set(err, RILL_ECONFIG,
                                     "generator: field '%s': a STRING CONSTANT is choices[0], "
                                     "which is missing",
                                     f->name);
            break;
        default:
            break;
        }
    }
    return 0;
}

/* ---- the source instance ------------------------------------------------------------------- */

/* One generated column, compiled from its field spec. */
typedef struct gen_col {
    int idx; /* schema field */
    rill_type type;
    rill_gen_kind kind;
    int64_t a, b, c;
    double x, y;
    uint64_t seed;  /* per-field seed for random kinds */
    uint64_t range; /* UNIFORM_INT, STRING prefix: b - a + 1 (0 means all 2^64 values) */
    /* STRING: choices (borrowed from the cfg) and their slots in the current batch */
    const char *const *choices;
    int n_choices;
    const char *prefix;
    size_t prefix_len;
    uint64_t *slot;
    uint64_t *slot_gen;
} gen_col;

/* What one parallelism (a layout) had emitted: row n when n / par < k[n mod par]. */
typedef struct gen_layout {
    int par;
    uint64_t *k;
} gen_layout;

typedef struct gen_source {
    rill__source base;
    const gen_cfg *cfg;
    rill__err *err;
    char *uid;
    int subtask, par;
    uint32_t row_words, null_words;
    uint64_t *tmpl; /* one row: null bitmap and slots every row starts from */
    gen_col *cols;  /* columns that need work per row */
    int n_cols;
    uint64_t *tmp;  /* one column's values for the batch being filled */
    uint32_t tmp_cap;
    char *scratch;  /* "<prefix><k>" */
    uint64_t gen;   /* batches filled; tags the cached string slots */
    /* position: the next row is the k-th of this subtask, sequence number subtask + k * par */
    uint64_t k, total_k;
    /* rescaled restore: rows that earlier layouts (parallelisms) had emitted are skipped: row n
     * belonged to a layout's subtask n mod par, as its (n / par)-th row, emitted when below k
     * of it. A checkpoint keeps them in the position, so that a restore of it (at any
     * parallelism) skips them too; one whose rows a newer layout has all passed is dropped at a
     * rescale. */
    gen_layout *old;
    int n_old;
    bool bounded;
    /* rate limiting */
    double rate; /* rows/s of this subtask; 0: full speed */
    int64_t t0;  /* mono ns of the first poll (after a seek: of the first poll since) */
    uint64_t k0; /* the position at t0: pacing counts rows from there */
    uint64_t chunk;
    /* the row hook's context */
    rill_ctx own_ctx;
    rill_ctx *ctx;
    rill__user_site site; /* marks the row hook's calls (crash reports) */
} gen_source;

void rill__generator_set_ctx(rill__source *s, rill_ctx *ctx)
{
    gen_source *g = (gen_source *)s;
    g->ctx = ctx ? ctx : &g->own_ctx;
}

static inline uint64_t mulhi(uint64_t h, uint64_t range)
{
    return (uint64_t)(((gen_u128)h * range) >> 64);
}

static inline uint64_t rnd(const gen_col *c, uint64_t n)
{
    return rill__mix64(c->seed + n * GOLDEN);
}

static inline uint64_t f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* Writes the decimal form of v to out (at least 20 bytes); returns its length. */
static size_t put_i64(char *out, int64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    memcpy(out, tmp + i, sizeof tmp - i);
    return sizeof tmp - i;
}

static int gen_create(const void *cfg, const rill_schema *schema, const rill__conn_init *init,
                      rill__source **out)
{
    *out = NULL;
    int rc = gen_validate(cfg, schema, init->err);
    if (rc)
        return rc;
    const gen_cfg *c = cfg;
    const rill_gen_opts *o = &c->opts;
    gen_source *g = rill__xcalloc(1, sizeof *g);
    g->base.ops = &rill__generator_source_ops;
    g->cfg = c;
    g->err = init->err;
    g->uid = rill__xstrdup(init->uid ? init->uid : "generator");
    g->subtask = init->subtask;
    g->par = init->parallelism > 0 ? init->parallelism : 1;
    int nf = schema->n_fields;
    g->null_words = (uint32_t)(nf + 63) / 64;
    if (g->null_words == 0)
        g->null_words = 1;
    g->row_words = g->null_words + (uint32_t)nf;
    g->tmpl = rill__xcalloc(g->row_words, sizeof *g->tmpl);
    /* unlisted fields: NULL when nullable, else 0 (a STRING slot of 0 is "") */
    for (int i = 0; i < nf; i++)
        if (schema->fields[i].nullable)
            g->tmpl[i >> 6] |= UINT64_C(1) << (i & 63);
    g->cols = rill__xcalloc(o->n_fields ? (size_t)o->n_fields : 1, sizeof *g->cols);
    size_t scratch_len = 32;
    for (int i = 0; i < o->n_fields; i++) {
        const rill_gen_field *f = &o->fields[i];
        int idx = rill_schema_index(schema, f->name);
        rill_type t = schema->fields[idx].type;
        if (f->kind == RILL_GEN_NULL)
            continue;
        g->tmpl[idx >> 6] &= ~(UINT64_C(1) << (idx & 63));
        uint64_t *slot = &g->tmpl[g->null_words + (uint32_t)idx];
        if (f->kind == RILL_GEN_CONSTANT && t != RILL_T_STRING) {
            /* constants live in the template: no work per row */
            if (t == RILL_T_DOUBLE)
                *slot = f64_bits(f->x);
            else if (t == RILL_T_BOOL)
                *slot = f->a != 0;
            else
                *slot = (uint64_t)f->a;
            continue;
        }
        gen_col *col = &g->cols[g->n_cols++];
        col->idx = idx;
        col->type = t;
        col->kind = f->kind;
        col->a = f->a;
        col->b = f->b;
        col->c = f->c ? f->c : 1;
        col->x = f->x;
        col->y = f->y;
        col->seed = rill__mix64(o->seed ^ rill__mix64((uint64_t)idx + 1));
        col->range = (uint64_t)f->b - (uint64_t)f->a + 1;
        if (t == RILL_T_STRING) {
            if (f->kind == RILL_GEN_CONSTANT) {
                col->kind = RILL_GEN_STRING;
                col->choices = f->choices;
                col->n_choices = 1;
            } else if (f->n_choices > 0) {
                col->choices = f->choices;
                col->n_choices = f->n_choices;
            } else {
                col->prefix = f->choices && f->choices[0] ? f->choices[0] : "";
                col->prefix_len = strlen(col->prefix);
                scratch_len = RILL_MAX(scratch_len, col->prefix_len + 32);
            }
            if (col->n_choices > 0) {
                col->slot = rill__xcalloc((size_t)col->n_choices, sizeof *col->slot);
                col->slot_gen = rill__xcalloc((size_t)col->n_choices, sizeof *col->slot_gen);
            }
        }
    }
    g->scratch = rill__xmalloc(scratch_len);
    g->bounded = o->events > 0;
    if (g->bounded) {
        uint64_t ev = (uint64_t)o->events, i = (uint64_t)g->subtask, p = (uint64_t)g->par;
        g->total_k = ev > i ? (ev - 1 - i) / p + 1 : 0;
    }
    g->rate = o->rate > 0 ? o->rate / g->par : 0;
    if (g->rate > 0) {
        /* rows due per millisecond, so a wait is at least ~1 ms and at most one row's worth */
        double per_ms = g->rate / 1000.0;
        g->chunk = per_ms < 1 ? 1 : per_ms > 4096 ? 4096 : (uint64_t)per_ms;
    }
    g->own_ctx.user = o->user;
    g->own_ctx.subtask = g->subtask;
    g->own_ctx.parallelism = g->par;
    g->own_ctx.uid = g->uid;
    g->ctx = &g->own_ctx;
    g->site = (rill__user_site){g->uid, g->subtask, g->par};
    *out = &g->base;
    return 0;
}

/* The slot of choice k in batch b, putting its bytes there the first time in this batch. */
static int choice_slot(gen_source *g, gen_col *c, rill_batch *b, uint64_t k, uint64_t *slot)
{
    if (c->slot_gen[k] != g->gen) {
        const char *s = c->choices[k];
        int rc = rill__batch_put_bytes(b, s, strlen(s), &c->slot[k]);
        if (rc)
            return rc;
        c->slot_gen[k] = g->gen;
    }
    *slot = c->slot[k];
    return 0;
}

/* Fills g->tmp[0..count) with the slot values of column c for sequence numbers
 * n0, n0 + p, ... */
static int fill_col(gen_source *g, gen_col *c, rill_batch *b, uint64_t n0, uint32_t count)
{
    uint64_t *t = g->tmp;
    uint64_t p = (uint64_t)g->par;
    switch (c->kind) {
    case RILL_GEN_SEQUENCE:
        if (c->c == 1) {
            /* a + n*b, wrapping: exact in 64-bit arithmetic, no division */
            uint64_t v = (uint64_t)c->a + n0 * (uint64_t)c->b, step = p * (uint64_t)c->b;
            for (uint32_t i = 0; i < count; i++, v += step)
                t[i] = v;
        } else if (c->b >= 0 && c->c > 0) {
            /* n*b = q*c + r, stepped by p*b = sq*c + sr: one division per batch */
            gen_u128 prod = (gen_u128)n0 * (uint64_t)c->b, step = (gen_u128)p * (uint64_t)c->b;
            uint64_t cc = (uint64_t)c->c;
            uint64_t q = (uint64_t)(prod / cc), r = (uint64_t)(prod % cc);
            uint64_t sq = (uint64_t)(step / cc), sr = (uint64_t)(step % cc);
            for (uint32_t i = 0; i < count; i++) {
                t[i] = (uint64_t)c->a + q;
                q += sq;
                r += sr;
                if (r >= cc) {
                    r -= cc;
                    q++;
                }
            }
        } else {
            for (uint32_t i = 0; i < count; i++) {
                gen_i128 prod = (gen_i128)(n0 + i * p) * c->b;
                t[i] = (uint64_t)c->a + (uint64_t)(prod / c->c);
            }
        }
        break;
    case RILL_GEN_MODULO: {
        uint64_t m = (uint64_t)c->b, r = n0 % m, sr = p % m;
        for (uint32_t i = 0; i < count; i++) {
            t[i] = (uint64_t)c->a + r;
            r += sr;
            if (r >= m)
                r -= m;
        }
        break;
    }
    case RILL_GEN_UNIFORM_INT:
        for (uint32_t i = 0; i < count; i++) {
            uint64_t h = rnd(c, n0 + i * p);
            t[i] = (uint64_t)c->a + (c->range ? mulhi(h, c->range) : h);
        }
        break;
    case RILL_GEN_UNIFORM_DOUBLE: {
        double w = c->y - c->x;
        for (uint32_t i = 0; i < count; i++) {
            double u = (double)(rnd(c, n0 + i * p) >> 11) * 0x1p-53;
            double d = c->x + u * w;
            if (d >= c->y) /* rounding: keep the interval half-open */
                d = c->x;
            t[i] = f64_bits(d);
        }
        return 0;
    }
    case RILL_GEN_STRING:
        if (c->n_choices == 1) {
            uint64_t s;
            int rc = choice_slot(g, c, b, 0, &s);
            if (rc)
                return rc;
            for (uint32_t i = 0; i < count; i++)
                t[i] = s;
        } else if (c->n_choices > 1) {
            for (uint32_t i = 0; i < count; i++) {
                uint64_t k = mulhi(rnd(c, n0 + i * p), (uint64_t)c->n_choices);
                int rc = choice_slot(g, c, b, k, &t[i]);
                if (rc)
                    return rc;
            }
        } else {
            memcpy(g->scratch, c->prefix, c->prefix_len);
            for (uint32_t i = 0; i < count; i++) {
                uint64_t h = rnd(c, n0 + i * p);
                int64_t k = (int64_t)((uint64_t)c->a + (c->range ? mulhi(h, c->range) : h));
                size_t len = put_i64(g->scratch + c->prefix_len, k);
                int rc = rill__batch_put_bytes(b, g->scratch, c->prefix_len + len, &t[i]);
                if (rc)
                    return rc;
            }
        }
        return 0;
    default:
        return 0;
    }
    /* integer kinds into other numeric types */
    if (c->type == RILL_T_DOUBLE) {
        for (uint32_t i = 0; i < count; i++)
            t[i] = f64_bits((double)(int64_t)t[i]);
    } else if (c->type == RILL_T_BOOL) {
        for (uint32_t i = 0; i < count; i++)
            t[i] = t[i] != 0;
    }
    return 0;
}

static int fill_rows(gen_source *g, rill_batch *b, uint32_t count)
{
    RILL_ASSERT(b->row_words == g->row_words && b->n_rows + count <= b->cap_rows);
    uint64_t n0 = (uint64_t)g->subtask + g->k * (uint64_t)g->par;
    uint32_t first = b->n_rows, rw = g->row_words;
    uint64_t *rows = b->rows + (size_t)first * rw;
    for (uint32_t i = 0; i < count; i++)
        memcpy(rows + (size_t)i * rw, g->tmpl, rw * sizeof *rows);
    if (g->tmp_cap < count) {
        free(g->tmp);
        g->tmp = rill__xmalloc((size_t)count * sizeof *g->tmp);
        g->tmp_cap = count;
    }
    g->gen++;
    for (int ci = 0; ci < g->n_cols; ci++) {
        gen_col *c = &g->cols[ci];
        int rc = fill_col(g, c, b, n0, count);
        if (rc)
            return rill__err_set(g->err, rc, "generator '%s': %s", g->uid, rill_strerror(rc));
        uint64_t *dst = rows + g->null_words + c->idx;
        for (uint32_t i = 0; i < count; i++)
            dst[(size_t)i * rw] = g->tmp[i];
    }
    b->n_rows = first + count;
    rill_gen_fn fn = g->cfg->opts.fn;
    if (fn) {
        for (uint32_t i = 0; i < count; i++) {
            rill_row row = rill__batch_row(b, first + i);
            uint64_t n = n0 + i * (uint64_t)g->par;
            const rill__user_site *in_user = rill__user_enter(&g->site);
            int rc = fn(g->ctx, n, &row);
            rill__user_leave(in_user);
            if (rc < 0) {
                b->n_rows = first + i;
                if (g->ctx->user_err.code)
                    return rill__err_set(g->err, rc, "generator '%s': row %llu: %s", g->uid,
                                         (unsigned long long)n, g->ctx->user_err.msg);
                return rill__err_set(g->err, rc, "generator '%s': row function failed at row "
                                     "%llu: %s", g->uid, (unsigned long long)n,
                                     rill_strerror(rc));
            }
        }
    }
    g->k += count;
    return 0;
}

/* Row n was emitted by one of the earlier layouts l[0..n_l). */
static bool emitted_before(const gen_layout *l, int n_l, uint64_t n)
{
    for (int i = 0; i < n_l; i++)
        if (n / (uint64_t)l[i].par < l[i].k[n % (uint64_t)l[i].par])
            return true;
    return false;
}

static int gen_poll(rill__source *s, rill_batch *b, int64_t *wait_ns_out)
{
    gen_source *g = (gen_source *)s;
    if (wait_ns_out)
        *wait_ns_out = 0;
    if (g->bounded && g->k >= g->total_k)
        return RILL_DONE;
    uint64_t want = b->cap_rows - b->n_rows;
    if (g->bounded)
        want = RILL_MIN(want, g->total_k - g->k);
    if (g->rate > 0) {
        int64_t now = rill__mono_ns();
        if (g->t0 == 0) {
            g->t0 = now;
            g->k0 = g->k;
        }
        /* row k0 + j is due at t0 + j / rate */
        double elapsed_s = (double)(now - g->t0) * 1e-9;
        uint64_t due = g->k0 + (uint64_t)(elapsed_s * g->rate) + 1;
        if (due <= g->k) {
            uint64_t ahead = g->chunk;
            if (g->bounded)
                ahead = RILL_MIN(ahead, g->total_k - g->k);
            double at_s = (double)(g->k - g->k0 + ahead - 1) / g->rate;
            int64_t wait = (int64_t)ceil(at_s * 1e9) - (now - g->t0);
            if (wait_ns_out)
                *wait_ns_out = RILL_MIN(RILL_MAX(wait, (int64_t)1000), (int64_t)1000000000);
            return RILL_AGAIN;
        }
        want = RILL_MIN(want, due - g->k);
    }
    b->split = 0; /* one split per subtask */
    if (want > 0) {
        uint32_t first = b->n_rows;
        uint64_t k_first = g->k;
        int rc = fill_rows(g, b, (uint32_t)want);
        if (rc)
            return rc;
        if (g->n_old) { /* drop the rows earlier layouts had emitted before the checkpoint */
            uint32_t rw = b->row_words, kept = first;
            for (uint32_t r = first; r < b->n_rows; r++) {
                uint64_t n = (uint64_t)g->subtask + (k_first + (r - first)) * (uint64_t)g->par;
                if (emitted_before(g->old, g->n_old, n))
                    continue;
                if (kept != r)
                    memmove(b->rows + (size_t)kept * rw, b->rows + (size_t)r * rw, rw * 8);
                kept++;
            }
            b->n_rows = kept;
        }
    }
    if (g->bounded && g->k >= g->total_k)
        return RILL_DONE;
    return 0;
}

static void layouts_free(gen_layout *l, int n)
{
    for (int i = 0; i < n; i++)
        free(l[i].k);
    free(l);
}

/* The first row a layout had not emitted yet below which it emitted all (its frontier), and
 * the row below which it emitted all it did (its reach): row n of subtask j = n mod par is
 * emitted when n < k[j] * par + j. Saturating. */
static uint64_t bound(const gen_layout *l, bool reach)
{
    uint64_t b = reach ? 0 : UINT64_MAX;
    for (int j = 0; j < l->par; j++) {
        uint64_t v = l->k[j] > (UINT64_MAX - (uint64_t)j) / (uint64_t)l->par
                         ? UINT64_MAX
                         : l->k[j] * (uint64_t)l->par + (uint64_t)j;
        b = reach ? RILL_MAX(b, v) : RILL_MIN(b, v);
    }
    return b;
}

/* Position: u64 subtask, u64 parallelism, u64 k; then, when earlier layouts are still being
 * skipped, u64 n_layouts and per layout u64 par and par x u64 k. */
#define POS_FIXED 24
#define MAX_LAYOUT_PAR 65536

/* Reads the layouts after a position's fixed part into *out (allocated). RILL_ECORRUPT. */
static int layouts_read(const unsigned char *p, size_t len, gen_layout **out, int *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (len == 0)
        return 0;
    uint64_t n = len >= 8 ? rill__le_get64(p) : 0;
    if (n == 0 || n > len / 16)
        return RILL_ECORRUPT;
    p += 8;
    len -= 8;
    gen_layout *l = rill__xcalloc((size_t)n, sizeof *l);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t par = len >= 8 ? rill__le_get64(p) : 0;
        if (par == 0 || par > MAX_LAYOUT_PAR || (len - 8) / 8 < par) {
            layouts_free(l, (int)i);
            return RILL_ECORRUPT;
        }
        l[i].par = (int)par;
        l[i].k = rill__xmalloc((size_t)par * 8);
        for (uint64_t j = 0; j < par; j++)
            l[i].k[j] = rill__le_get64(p + 8 + j * 8);
        p += 8 + par * 8;
        len -= 8 + (size_t)par * 8;
    }
    if (len != 0) {
        layouts_free(l, (int)n);
        return RILL_ECORRUPT;
    }
    *out = l;
    *n_out = (int)n;
    return 0;
}

static int gen_seek_rescaled(rill__source *s, const rill__source_pos *pos, int n)
{
    gen_source *g = (gen_source *)s;
    if (n <= 0)
        return 0;
    int par = pos[0].parallelism;
    if (par <= 0 || par > MAX_LAYOUT_PAR)
        return RILL_ECORRUPT;
    /* the old run's layout, and the layouts it still skipped (the same in each of its
     * subtasks: they came from one restore) */
    gen_layout cur = {.par = par, .k = rill__xcalloc((size_t)par, sizeof *cur.k)};
    gen_layout *older = NULL;
    int n_older = 0, rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const rill__source_pos *p = &pos[i];
        if (p->parallelism != par || p->subtask < 0 || p->subtask >= par) {
            rc = RILL_ECORRUPT;
            break;
        }
        if (p->finished) {
            cur.k[p->subtask] = UINT64_MAX; /* it had emitted all of its rows */
            continue;
        }
        uint64_t v[3];
        if (p->len < POS_FIXED) {
            rc = RILL_ECORRUPT;
            break;
        }
        for (int j = 0; j < 3; j++)
            v[j] = rill__le_get64((const char *)p->data + 8 * j);
        if (v[0] != (uint64_t)p->subtask || v[1] != (uint64_t)par) {
            rc = RILL_ECORRUPT;
            break;
        }
        cur.k[p->subtask] = v[2];
        if (!older && p->len > POS_FIXED)
            rc = layouts_read((const unsigned char *)p->data + POS_FIXED, p->len - POS_FIXED,
                              &older, &n_older);
    }
    if (rc) {
        free(cur.k);
        layouts_free(older, n_older);
        return rc;
    }
    /* an older layout all of whose rows the old run had passed is done with */
    uint64_t frontier = bound(&cur, false);
    layouts_free(g->old, g->n_old);
    g->old = rill__xcalloc((size_t)n_older + 1, sizeof *g->old);
    g->n_old = 0;
    g->old[g->n_old++] = cur;
    for (int i = 0; i < n_older; i++) {
        if (bound(&older[i], true) <= frontier)
            free(older[i].k);
        else
            g->old[g->n_old++] = older[i];
    }
    free(older);
    return 0;
}

static int64_t gen_skipped(rill__source *s)
{
    (void)s;
    return 0;
}

static int gen_position(rill__source *s, rill__buf *out)
{
    gen_source *g = (gen_source *)s;
    /* the next sequence index of this subtask: rows n = subtask + k * parallelism */
    rill__buf_put_u64(out, (uint64_t)g->subtask);
    rill__buf_put_u64(out, (uint64_t)g->par);
    rill__buf_put_u64(out, g->k);
    if (g->n_old) { /* what a restore of this checkpoint must still skip */
        rill__buf_put_u64(out, (uint64_t)g->n_old);
        for (int i = 0; i < g->n_old; i++) {
            rill__buf_put_u64(out, (uint64_t)g->old[i].par);
            for (int j = 0; j < g->old[i].par; j++)
                rill__buf_put_u64(out, g->old[i].k[j]);
        }
    }
    return 0;
}

static int gen_seek(rill__source *s, const void *pos, size_t len)
{
    gen_source *g = (gen_source *)s;
    uint64_t v[3];
    if (len < POS_FIXED)
        return RILL_ECORRUPT;
    for (int j = 0; j < 3; j++)
        v[j] = rill__le_get64((const char *)pos + 8 * j);
    if (v[0] != (uint64_t)g->subtask || v[1] != (uint64_t)g->par)
        return RILL_ENOTSUP;
    if (g->bounded && v[2] > g->total_k)
        return RILL_ERANGE; /* the position is past this run's number of events */
    gen_layout *l;
    int n;
    int rc = layouts_read((const unsigned char *)pos + POS_FIXED, len - POS_FIXED, &l, &n);
    if (rc)
        return rc;
    layouts_free(g->old, g->n_old);
    g->old = l;
    g->n_old = n;
    g->k = v[2];
    g->t0 = 0; /* a rate restarts from here */
    return 0;
}

static void gen_destroy(rill__source *s)
{
    gen_source *g = (gen_source *)s;
    if (!g)
        return;
    for (int i = 0; i < g->n_cols; i++) {
        free(g->cols[i].slot);
        free(g->cols[i].slot_gen);
    }
    free(g->cols);
    free(g->tmpl);
    free(g->tmp);
    free(g->scratch);
    layouts_free(g->old, g->n_old);
    free(g->uid);
    free(g);
}

const rill__source_ops rill__generator_source_ops = {
    .kind = "generator",
    .validate = gen_validate,
    .create = gen_create,
    .poll = gen_poll,
    .skipped = gen_skipped,
    .position = gen_position,
    .seek = gen_seek,
    .seek_rescaled = gen_seek_rescaled,
    .destroy = gen_destroy,
    .cfg_free = gen_cfg_free,
};
