/*
 * snapshot.c - ops layer: the canonical keyed-state snapshot (writer and checked reader, format
 * in snapshot.h) and the named-blob container for operator state.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

#define SNAP_MAGIC     UINT32_C(0x534b4c52) /* "RLKS" little-endian */
#define SNAP_END_MAGIC UINT32_C(0x454b4c52) /* "RLKE" */
#define OPST_MAGIC     UINT32_C(0x534f4c52) /* "RLOS" */
#define NATIVE_MAGIC   UINT32_C(0x4e4b4c52) /* "RLKN" */
#define KWM_MAGIC      UINT32_C(0x574b4c52) /* "RLKW": a keyed blob's watermark prefix */
#define NATIVE_VERSION 1
#define NATIVE_MIN     32 /* magic, version, three empty byte strings (u32, u64, u64), crc */
#define SNAP_VERSION   1
#define OPST_VERSION   1
#define HEADER_FIXED   24 /* magic .. n_tables */
#define TABLE_MIN      25 /* a catalog record with a 1-byte name */
#define TRAILER_LEN    24
#define INDEX_REC      24
#define ENTRY_MIN      12 /* three empty byte strings */
#define TIMER_MIN      17 /* domain, ts, two empty byte strings */
#define NAME_MAX_LEN   1024
#define N_DOMAINS      2

/* The format stores kinds by these numbers: a change to the enum must map them. */
_Static_assert(RILL_STATE_VALUE == 1 && RILL_STATE_LIST == 2 && RILL_STATE_MAP == 3 &&
                   RILL_STATE_REDUCING == 4 && RILL_STATE_AGGREGATING == 5,
               "snapshot kind numbers");
_Static_assert(RILL_EVENT_TIME == 0 && RILL_PROCESSING_TIME == 1, "snapshot domain numbers");

/* Sets err (when given) and returns code. */
RILL_PRINTF(3, 4) static int fail(rill__err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        rill__err_vset(err, code, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---- fields: the base layer's codec (little-endian) ------------------------------------------ */

static void put_bytes(rill__buf *b, const void *p, uint32_t n)
{
    rill__buf_put_u32(b, n);
    rill__buf_append(b, p, n);
}

/* A bounds-checked cursor: pos and end are offsets into p; every read checks end first. */
typedef struct reader {
    const unsigned char *p;
    size_t pos, end;
} reader;

static bool r_u8(reader *r, uint8_t *v)
{
    if (r->end - r->pos < 1)
        return false;
    *v = r->p[r->pos++];
    return true;
}

static bool r_u32(reader *r, uint32_t *v)
{
    if (r->end - r->pos < 4)
        return false;
    *v = rill__le_get32(r->p + r->pos);
    r->pos += 4;
    return true;
}

static bool r_u64(reader *r, uint64_t *v)
{
    if (r->end - r->pos < 8)
        return false;
    *v = rill__le_get64(r->p + r->pos);
    r->pos += 8;
    return true;
}

/* A u32 length and that many bytes. */
static bool r_bytes(reader *r, const unsigned char **p, size_t *n)
{
    uint32_t len;
    if (!r_u32(r, &len) || r->end - r->pos < len)
        return false;
    *p = r->p + r->pos;
    *n = len;
    r->pos += len;
    return true;
}

/* ---- writing ------------------------------------------------------------------------------- */

/* A keyed snapshot begun on the owner's thread and written on any one thread: the catalog (the
 * header) is taken at the begin; the sections come from the backend's and the timer service's
 * views, or, for a backend without views, were written at the begin. */
struct rill__ksnap {
    const rill__state_backend_ops *ops;
    rill__state_snap *view;    /* NULL once ended, or for a backend without views */
    rill__timers_snap *tview;  /* NULL once ended, or without timers */
    bool has_timers;
    char *uid;
    int max_par, kg_first, kg_last;
    rill__state_kind *kinds; /* n_tabs, catalog order */
    size_t n_tabs;
    rill__buf header;
    rill__buf sync;   /* a backend without views: the whole snapshot, written at the begin */
    bool written;
    size_t size_hint; /* bytes the snapshot will take, about */
    /* a native snapshot: the backend's files, and the canonical part (header and timers) */
    rill__state_files *files;
    bool native;
};

typedef struct writer {
    rill__ksnap *ks;
    rill__state_backend *b;      /* without views: iterated on the owner's thread */
    rill__timer_service *timers; /* likewise */
    rill__state_table **live;    /* likewise: the tables, catalog order */
    size_t cap_live;
    rill__buf *out;
    size_t start; /* of the snapshot in out */
    uint64_t count; /* entries or timers written in the current group */
    int kg;
    bool has_msg; /* err says what went wrong */
    rill__err *err;
} writer;

static int add_table(void *arg, const char *name, rill__state_kind kind, size_t value_size,
                     int64_t ttl_ms, rill__state_table *t)
{
    writer *w = arg;
    rill__ksnap *ks = w->ks;
    size_t n = strlen(name);
    if (n == 0 || n > NAME_MAX_LEN) {
        w->has_msg = true;
        return fail(w->err, RILL_ELIMIT, "keyed snapshot: a state name of %zu bytes (1..%d)", n,
                    NAME_MAX_LEN);
    }
    size_t cap = ks->n_tabs;
    rill__grow((void **)&ks->kinds, &cap, ks->n_tabs + 1, sizeof *ks->kinds);
    rill__grow((void **)&w->live, &w->cap_live, ks->n_tabs + 1, sizeof *w->live);
    w->live[ks->n_tabs] = t;
    ks->kinds[ks->n_tabs++] = kind;
    put_bytes(&ks->header, name, (uint32_t)n);
    rill__buf_put_u32(&ks->header, (uint32_t)kind);
    rill__buf_put_u64(&ks->header, (uint64_t)value_size);
    rill__buf_put_u64(&ks->header, (uint64_t)(ttl_ms > 0 ? ttl_ms : 0));
    return 0;
}

static int too_long(writer *w, const char *what, size_t n)
{
    w->has_msg = true;
    return fail(w->err, RILL_ELIMIT,
                "keyed snapshot: key group %d: a %s of %zu bytes (4 GiB at most)", w->kg, what, n);
}

static int write_entry(void *arg, const rill__state_key *k, const void *val, size_t len)
{
    writer *w = arg;
    if (k->key_len > UINT32_MAX)
        return too_long(w, "key", k->key_len);
    if (k->ns_len > UINT32_MAX)
        return too_long(w, "namespace", k->ns_len);
    if (len > UINT32_MAX)
        return too_long(w, "value", len);
    RILL_DASSERT(k->kg == w->kg && rill__key_group(rill__hash_bytes(k->key, k->key_len, 0),
                                                   w->ks->max_par) == w->kg);
    put_bytes(w->out, k->key, (uint32_t)k->key_len);
    put_bytes(w->out, k->ns, (uint32_t)k->ns_len);
    put_bytes(w->out, val, (uint32_t)len);
    w->count++;
    return 0;
}

/* Map entries come as [ukey_len u32, host order][ukey][value]: the length goes out
 * little-endian. */
static int write_map_entry(void *arg, const rill__state_key *k, const void *val, size_t len)
{
    writer *w = arg;
    RILL_ASSERT(len >= 4);
    size_t at = w->out->len + 4 + k->key_len + 4 + k->ns_len + 4;
    int rc = write_entry(arg, k, val, len);
    if (rc)
        return rc;
    uint32_t ukl;
    memcpy(&ukl, val, sizeof ukl);
    RILL_ASSERT(ukl <= len - 4);
    rill__le_put32(w->out->data + at, ukl);
    return 0;
}

static int write_timer(void *arg, rill_time_domain d, const rill__timer *t)
{
    writer *w = arg;
    if (t->key.key_len > UINT32_MAX)
        return too_long(w, "timer key", t->key.key_len);
    if (t->key.ns_len > UINT32_MAX)
        return too_long(w, "timer namespace", t->key.ns_len);
    rill__buf_putc(w->out, (char)(unsigned char)d);
    rill__buf_put_u64(w->out, (uint64_t)t->ts);
    put_bytes(w->out, t->key.key, (uint32_t)t->key.key_len);
    put_bytes(w->out, t->key.ns, (uint32_t)t->key.ns_len);
    w->count++;
    return 0;
}

/* Writes the section of key group kg (or nothing when it is empty) and its index record. */
static int write_section(writer *w, int kg, rill__buf *index, uint32_t *n_sections)
{
    rill__ksnap *ks = w->ks;
    rill__buf *out = w->out;
    size_t sec = out->len;
    w->kg = kg;
    rill__buf_put_u32(out, (uint32_t)kg);
    size_t n_groups_at = out->len;
    rill__buf_put_u32(out, 0);
    uint32_t n_groups = 0;
    for (size_t i = 0; i < ks->n_tabs && !ks->native; i++) { /* native: the entries are in files */
        size_t grp = out->len;
        rill__buf_put_u32(out, (uint32_t)i);
        size_t count_at = out->len;
        rill__buf_put_u64(out, 0);
        w->count = 0;
        rill__state_visit_fn fn = ks->kinds[i] == RILL_STATE_MAP ? write_map_entry : write_entry;
        int rc = ks->view ? ks->ops->snap_iterate_kg(ks->view, i, kg, fn, w)
                          : ks->ops->iterate_kg(w->live[i], kg, fn, w);
        if (rc)
            return rc;
        if (!w->count) {
            out->len = grp;
            continue;
        }
        rill__le_put64(out->data + count_at, w->count);
        n_groups++;
    }
    rill__le_put32(out->data + n_groups_at, n_groups);
    size_t timers_at = out->len;
    rill__buf_put_u64(out, 0);
    w->count = 0;
    if (ks->has_timers) {
        int rc = ks->tview ? rill__timers_snap_iterate_kg(ks->tview, kg, write_timer, w)
                           : rill__timers_iterate_kg(w->timers, kg, write_timer, w);
        if (rc)
            return rc;
    }
    rill__le_put64(out->data + timers_at, w->count);
    if (!n_groups && !w->count) {
        out->len = sec;
        return 0;
    }
    rill__buf_put_u32(index, (uint32_t)kg);
    rill__buf_put_u32(index, rill__crc32c(0, out->data + sec, out->len - sec));
    rill__buf_put_u64(index, (uint64_t)(sec - w->start));
    rill__buf_put_u64(index, (uint64_t)(out->len - sec));
    (*n_sections)++;
    return 0;
}

/* The header, the sections, the index and the trailer, appended to w->out. */
static int write_all(writer *w)
{
    rill__ksnap *ks = w->ks;
    rill__buf *out = w->out;
    rill__buf index = {0};
    rill__buf_append(out, ks->header.data, ks->header.len);
    uint32_t n_sections = 0;
    rill__buf_put_u32(&index, 0);
    int rc = 0;
    for (int kg = ks->kg_first; kg <= ks->kg_last && rc == 0; kg++)
        rc = write_section(w, kg, &index, &n_sections);
    if (rc == 0) {
        rill__le_put32(index.data, n_sections);
        uint64_t index_off = out->len - w->start;
        rill__buf_append(out, index.data, index.len);
        rill__buf_put_u64(out, index_off);
        rill__buf_put_u32(out, (uint32_t)ks->header.len);
        rill__buf_put_u32(out, rill__crc32c(0, ks->header.data, ks->header.len));
        rill__buf_put_u32(out, rill__crc32c(0, index.data, index.len));
        rill__buf_put_u32(out, SNAP_END_MAGIC);
    }
    rill__buf_free(&index);
    if (rc == 0)
        return 0;
    if (rc > 0)
        rc = RILL_ESTATE; /* a stop without a code: not expected from the backend */
    if (!w->has_msg) /* the backend says what failed (a damaged file of RocksDB's, say) */
        fail(w->err, rc, "keyed snapshot of operator %s: key group %d: %s", ks->uid, w->kg,
             rill_last_error()[0] ? rill_last_error() : rill_strerror(rc));
    out->len = w->start;
    return rc;
}

/* Ends the views (once). */
static void end_views(rill__ksnap *ks)
{
    if (ks->view)
        ks->ops->snap_end(ks->view);
    ks->view = NULL;
    if (ks->tview)
        rill__timers_snap_end(ks->tview);
    ks->tview = NULL;
    if (ks->files)
        ks->ops->files_end(ks->files);
    ks->files = NULL;
}

void rill__ksnap_free(rill__ksnap *ks)
{
    if (!ks)
        return;
    end_views(ks);
    rill__buf_free(&ks->header);
    rill__buf_free(&ks->sync);
    free(ks->kinds);
    free(ks->uid);
    free(ks);
}

static int begin(rill__state_backend *b, rill__timer_service *timers, int kg_first, int kg_last,
                 bool native, rill__ksnap **out, rill__err *err)
{
    *out = NULL;
    if (!b)
        return fail(err, RILL_EINVAL, "keyed snapshot: no backend");
    const rill__state_backend_cfg *cfg = &b->cfg;
    const char *uid = cfg->operator_uid ? cfg->operator_uid : "?";
    if (cfg->max_parallelism <= 0 || kg_first > kg_last || kg_first < cfg->kg_first ||
        kg_last > cfg->kg_last)
        return fail(err, RILL_EINVAL,
                    "keyed snapshot of operator %s: key groups %d..%d not within its range "
                    "%d..%d of max parallelism %d",
                    uid, kg_first, kg_last, cfg->kg_first, cfg->kg_last, cfg->max_parallelism);
    if (!b->ops->visit_tables)
        return fail(err, RILL_ENOTSUP,
                    "keyed snapshot of operator %s: the %s backend cannot "
                    "list its tables",
                    uid, b->ops->name);

    rill__ksnap *ks = rill__xcalloc(1, sizeof *ks);
    ks->ops = b->ops;
    ks->uid = rill__xstrdup(uid);
    ks->max_par = cfg->max_parallelism;
    ks->kg_first = kg_first;
    ks->kg_last = kg_last;
    ks->has_timers = timers != NULL;
    ks->native = native;
    writer w = {.ks = ks, .b = b, .timers = timers, .kg = -1, .err = err};
    rill__buf_put_u32(&ks->header, SNAP_MAGIC);
    rill__buf_put_u32(&ks->header, SNAP_VERSION);
    rill__buf_put_u32(&ks->header, (uint32_t)cfg->max_parallelism);
    rill__buf_put_u32(&ks->header, (uint32_t)kg_first);
    rill__buf_put_u32(&ks->header, (uint32_t)kg_last);
    rill__buf_put_u32(&ks->header, 0); /* n_tables */
    int rc = b->ops->visit_tables(b, add_table, &w);
    if (rc == 0 && ks->header.len > UINT32_MAX) {
        w.has_msg = true;
        rc = fail(err, RILL_ELIMIT, "keyed snapshot of operator %s: %zu tables", uid, ks->n_tabs);
    }
    if (rc) {
        if (!w.has_msg)
            fail(err, rc > 0 ? RILL_ESTATE : rc, "keyed snapshot of operator %s: %s", uid,
                 rill_strerror(rc > 0 ? RILL_ESTATE : rc));
        free(w.live);
        rill__ksnap_free(ks);
        return rc > 0 ? RILL_ESTATE : rc;
    }
    rill__le_put32(ks->header.data + 20, (uint32_t)ks->n_tabs);

    /* what it will take, so the writer reserves it at once (doubling a buffer of many
     * megabytes copies it again and again) */
    int64_t entries = 0, bytes = 0;
    if (b->ops->stats)
        b->ops->stats(b, &entries, &bytes);
    int64_t n_timers = timers ? rill__timers_count(timers, RILL_EVENT_TIME) +
                                    rill__timers_count(timers, RILL_PROCESSING_TIME)
                              : 0;
    ks->size_hint = (size_t)((native ? 0 : bytes) + n_timers * 48 + 4096);

    if (native || b->ops->snap_begin) {
        rc = native ? b->ops->files_begin(b, &ks->files) : b->ops->snap_begin(b, &ks->view);
        if (rc == 0 && timers)
            rc = rill__timers_snap_begin(timers, &ks->tview);
        if (rc < 0) {
            free(w.live);
            rill__ksnap_free(ks);
            return fail(err, rc, "keyed snapshot of operator %s: cannot begin: %s", uid,
                        rill_last_error()[0] ? rill_last_error() : rill_strerror(rc));
        }
    } else { /* no views: the whole snapshot now, on the owner's thread */
        rill__buf_reserve(&ks->sync, ks->size_hint);
        w.out = &ks->sync;
        rc = write_all(&w);
        if (rc < 0) {
            free(w.live);
            rill__ksnap_free(ks);
            return rc;
        }
    }
    free(w.live);
    *out = ks;
    return 0;
}

int rill__ksnap_begin(rill__state_backend *b, rill__timer_service *timers, int kg_first,
                      int kg_last, rill__ksnap **out, rill__err *err)
{
    return begin(b, timers, kg_first, kg_last, false, out, err);
}

int rill__ksnap_begin_native(rill__state_backend *b, rill__timer_service *timers,
                             rill__ksnap **out, rill__err *err)
{
    if (!b)
        return fail(err, RILL_EINVAL, "keyed snapshot: no backend");
    bool native = b->ops->files_begin != NULL;
    /* timers the backend keeps are in its files */
    if (native && rill__timers_backend(timers) == b) {
        int rc = rill__timers_flush(timers);
        if (rc < 0)
            return fail(err, rc, "keyed snapshot of operator %s: timers: %s",
                        b->cfg.operator_uid ? b->cfg.operator_uid : "?",
                        rill_last_error()[0] ? rill_last_error() : rill_strerror(rc));
        timers = NULL;
    }
    return begin(b, timers, b->cfg.kg_first, b->cfg.kg_last, native, out, err);
}

bool rill__ksnap_is_native(const rill__ksnap *ks)
{
    return ks->native;
}

size_t rill__ksnap_size_hint(const rill__ksnap *ks)
{
    return ks->size_hint;
}

/* The native form: the backend's files go to dir, the snapshot says where they are. */
static int write_native(rill__ksnap *ks, rill__buf *out, const char *dir, const char *prefix,
                        rill__files_size *size, rill__err *err)
{
    size_t start = out->len;
    rill__buf_put_u32(out, NATIVE_MAGIC);
    rill__buf_put_u32(out, NATIVE_VERSION);
    put_bytes(out, ks->ops->name, (uint32_t)strlen(ks->ops->name));
    size_t man_at = out->len;
    rill__buf_put_u64(out, 0);
    rill__files_size sz = {0};
    int rc = ks->ops->files_write(ks->files, dir, prefix, out, &sz, err);
    if (rc == 0) {
        rill__le_put64(out->data + man_at, out->len - man_at - 8);
        size_t can_at = out->len;
        rill__buf_put_u64(out, 0);
        writer w = {.ks = ks, .out = out, .start = out->len, .kg = -1, .err = err};
        rc = write_all(&w);
        rill__le_put64(out->data + can_at, out->len - can_at - 8);
    } else if (rc > 0) {
        rc = fail(err, RILL_ESTATE, "keyed snapshot of operator %s: the backend's files", ks->uid);
    }
    if (rc) {
        out->len = start;
        return rc;
    }
    rill__buf_put_u32(out, rill__crc32c(0, out->data + start, out->len - start));
    if (size) {
        size->full_bytes += sz.full_bytes;
        size->new_bytes += sz.new_bytes;
        size->n_files += sz.n_files;
        size->n_new += sz.n_new;
    }
    return 0;
}

int rill__ksnap_write(rill__ksnap *ks, rill__buf *out, rill__err *err)
{
    return rill__ksnap_write_files(ks, out, NULL, NULL, NULL, err);
}

int rill__ksnap_write_files(rill__ksnap *ks, rill__buf *out, const char *dir, const char *prefix,
                            rill__files_size *size, rill__err *err)
{
    if (ks->written) {
        end_views(ks);
        return fail(err, RILL_EINVAL, "keyed snapshot of operator %s: written twice", ks->uid);
    }
    ks->written = true;
    if (ks->native) {
        int rc = dir ? write_native(ks, out, dir, prefix ? prefix : "", size, err)
                     : fail(err, RILL_EINVAL, "keyed snapshot of operator %s: a native snapshot "
                            "needs a directory for its files", ks->uid);
        end_views(ks);
        return rc;
    }
    if (!ks->view) {
        rill__buf_append(out, ks->sync.data, ks->sync.len);
        rill__buf_free(&ks->sync);
        end_views(ks);
        return 0;
    }
    writer w = {.ks = ks, .out = out, .start = out->len, .kg = -1, .err = err};
    int rc = write_all(&w);
    end_views(ks);
    return rc;
}

int rill__keyed_snapshot(rill__state_backend *b, rill__timer_service *timers, int kg_first,
                         int kg_last, rill__buf *out, rill__err *err)
{
    if (!out)
        return fail(err, RILL_EINVAL, "keyed snapshot: no buffer");
    rill__ksnap *ks;
    int rc = rill__ksnap_begin(b, timers, kg_first, kg_last, &ks, err);
    if (rc < 0)
        return rc;
    rc = rill__ksnap_write(ks, out, err);
    rill__ksnap_free(ks);
    return rc;
}

/* ---- reading ------------------------------------------------------------------------------- */

#define CORRUPT(err, ...) fail((err), RILL_ECORRUPT, "corrupt keyed snapshot: " __VA_ARGS__)

typedef struct rtable {
    char *name; /* a NUL-terminated copy */
    rill__state_kind kind;
    uint64_t value_size;
    int64_t ttl_ms;
    rill__state_table *t; /* registered in the backend (phase 2) */
} rtable;

/* A snapshot whose trailer, header and index have been checked. */
typedef struct snap {
    const unsigned char *p;
    size_t len;
    uint32_t max_par, kg_first, kg_last, n_tables, n_sections;
    size_t header_len, index_off;
    rtable *tabs;
} snap;

static void snap_close(snap *s)
{
    for (uint32_t i = 0; s->tabs && i < s->n_tables; i++)
        free(s->tabs[i].name);
    free(s->tabs);
    s->tabs = NULL;
}

static void index_rec(const snap *s, uint32_t i, uint32_t *kg, uint32_t *crc, uint64_t *off,
                      uint64_t *len)
{
    const unsigned char *r = s->p + s->index_off + 4 + (size_t)i * INDEX_REC;
    *kg = rill__le_get32(r);
    *crc = rill__le_get32(r + 4);
    *off = rill__le_get64(r + 8);
    *len = rill__le_get64(r + 16);
}

static int snap_open(snap *s, const void *data, size_t len, rill__err *err)
{
    memset(s, 0, sizeof *s);
    s->p = data;
    s->len = len;
    if (!data || len < HEADER_FIXED + 4 + TRAILER_LEN)
        return CORRUPT(err, "%zu bytes, too short for a snapshot", len);
    const unsigned char *tr = s->p + len - TRAILER_LEN;
    if (rill__le_get32(tr + 20) != SNAP_END_MAGIC)
        return CORRUPT(err, "no end marker in the last bytes (truncated?)");
    uint64_t index_off = rill__le_get64(tr);
    uint32_t header_len = rill__le_get32(tr + 8);
    size_t index_end = len - TRAILER_LEN;
    if (header_len < HEADER_FIXED || index_off < header_len || index_off > index_end - 4)
        return CORRUPT(
            err, "header length %" PRIu32 " or index offset %" PRIu64 " outside its %zu bytes",
            header_len, index_off, len);
    s->header_len = header_len;
    s->index_off = (size_t)index_off;
    if (rill__crc32c(0, s->p, header_len) != rill__le_get32(tr + 12))
        return CORRUPT(err, "header checksum mismatch");
    if (rill__crc32c(0, s->p + s->index_off, index_end - s->index_off) != rill__le_get32(tr + 16))
        return CORRUPT(err, "index checksum mismatch");

    reader r = {.p = s->p, .pos = 0, .end = header_len};
    uint32_t magic = 0, version = 0;
    (void)(r_u32(&r, &magic) && r_u32(&r, &version)); /* within HEADER_FIXED */
    if (magic != SNAP_MAGIC)
        return CORRUPT(err, "not a keyed snapshot (magic %08" PRIx32 ")", magic);
    if (version != SNAP_VERSION)
        return fail(err, RILL_ENOTSUP,
                    "keyed snapshot format version %" PRIu32 " (this build reads version %d)",
                    version, SNAP_VERSION);
    (void)(r_u32(&r, &s->max_par) && r_u32(&r, &s->kg_first) && r_u32(&r, &s->kg_last) &&
           r_u32(&r, &s->n_tables));
    if (s->max_par == 0 || s->max_par > INT32_MAX || s->kg_first > s->kg_last ||
        s->kg_last >= s->max_par)
        return CORRUPT(err, "key groups %" PRIu32 "..%" PRIu32 " of max parallelism %" PRIu32,
                       s->kg_first, s->kg_last, s->max_par);
    if (s->n_tables > (header_len - HEADER_FIXED) / TABLE_MIN)
        return CORRUPT(err, "%" PRIu32 " tables in a %" PRIu32 "-byte header", s->n_tables,
                       header_len);
    s->tabs = rill__xcalloc(s->n_tables ? s->n_tables : 1, sizeof *s->tabs);
    for (uint32_t i = 0; i < s->n_tables; i++) {
        rtable *t = &s->tabs[i];
        const unsigned char *name;
        size_t n;
        uint32_t kind;
        uint64_t ttl;
        if (!r_bytes(&r, &name, &n) || !r_u32(&r, &kind) || !r_u64(&r, &t->value_size) ||
            !r_u64(&r, &ttl))
            return CORRUPT(err, "table %" PRIu32 " overruns the header", i);
        if (n == 0 || n > NAME_MAX_LEN || memchr(name, 0, n))
            return CORRUPT(err, "table %" PRIu32 " has a bad name (%zu bytes)", i, n);
        t->name = rill__xstrndup((const char *)name, n);
        if (kind < RILL_STATE_VALUE || kind > RILL_STATE_AGGREGATING ||
            t->value_size > UINT32_MAX || ttl > INT64_MAX)
            return CORRUPT(err,
                           "state '%s': kind %" PRIu32 ", value size %" PRIu64 ", TTL %" PRIu64,
                           t->name, kind, t->value_size, ttl);
        t->kind = (rill__state_kind)kind;
        t->ttl_ms = (int64_t)ttl;
    }
    if (r.pos != r.end)
        return CORRUPT(err, "%zu bytes after the table catalog", r.end - r.pos);

    uint32_t n_sections = rill__le_get32(s->p + s->index_off);
    if ((uint64_t)n_sections * INDEX_REC != index_end - s->index_off - 4)
        return CORRUPT(err, "an index of %zu bytes for %" PRIu32 " sections",
                       index_end - s->index_off, n_sections);
    s->n_sections = n_sections;
    uint64_t prev_end = header_len;
    for (uint32_t i = 0; i < n_sections; i++) {
        uint32_t kg, crc;
        uint64_t off, slen;
        index_rec(s, i, &kg, &crc, &off, &slen);
        if (kg < s->kg_first || kg > s->kg_last)
            return CORRUPT(
                err, "index entry %" PRIu32 ": key group %" PRIu32 " outside %" PRIu32 "..%" PRIu32,
                i, kg, s->kg_first, s->kg_last);
        if (i > 0) {
            uint32_t pkg, pcrc;
            uint64_t poff, plen;
            index_rec(s, i - 1, &pkg, &pcrc, &poff, &plen);
            if (kg <= pkg)
                return CORRUPT(err, "index entry %" PRIu32 ": key group %" PRIu32 " after %" PRIu32,
                               i, kg, pkg);
        }
        if (off < prev_end || off > s->index_off || slen < 16 || slen > s->index_off - off)
            return CORRUPT(err,
                           "key group %" PRIu32 ": section at %" PRIu64 ", %" PRIu64
                           " bytes, outside %" PRIu64 "..%zu",
                           kg, off, slen, prev_end, s->index_off);
        prev_end = off + slen;
    }
    return 0;
}

typedef struct restorer {
    snap *s;
    rill__state_backend *b;
    rill__timer_service *timers;
    bool apply; /* false: only check */
    rill__err *err;
} restorer;

/* Checks (apply false) or puts back (apply true, after a check) section i. */
static int section(restorer *c, uint32_t i)
{
    snap *s = c->s;
    rill__err *err = c->err;
    uint32_t kg, crc, kg2, n_groups;
    uint64_t off, len, n_timers;
    index_rec(s, i, &kg, &crc, &off, &len);
    reader r = {.p = s->p, .pos = (size_t)off, .end = (size_t)(off + len)};
    if (!c->apply && rill__crc32c(0, s->p + off, (size_t)len) != crc)
        return CORRUPT(err, "key group %" PRIu32 ": checksum mismatch", kg);
    if (!r_u32(&r, &kg2) || !r_u32(&r, &n_groups))
        return CORRUPT(err, "key group %" PRIu32 ": section truncated", kg);
    if (kg2 != kg || n_groups > s->n_tables)
        return CORRUPT(
            err, "key group %" PRIu32 ": section of key group %" PRIu32 " with %" PRIu32 " tables",
            kg, kg2, n_groups);
    const rill__state_backend_ops *ops = c->b->ops;
    int64_t prev = -1;
    for (uint32_t g = 0; g < n_groups; g++) {
        uint32_t ti;
        uint64_t n;
        if (!r_u32(&r, &ti) || !r_u64(&r, &n))
            return CORRUPT(err, "key group %" PRIu32 ": section truncated", kg);
        if (ti >= s->n_tables || (int64_t)ti <= prev || n == 0 || n > (r.end - r.pos) / ENTRY_MIN)
            return CORRUPT(err, "key group %" PRIu32 ": table %" PRIu32 " with %" PRIu64 " entries",
                           kg, ti, n);
        prev = ti;
        const rtable *t = &s->tabs[ti];
        bool fixed = t->value_size && t->kind != RILL_STATE_LIST && t->kind != RILL_STATE_MAP;
        uint64_t fixed_len = t->value_size + (t->ttl_ms > 0 ? 8 : 0);
        for (uint64_t e = 0; e < n; e++) {
            const unsigned char *key, *ns, *val;
            size_t kl, nl, vl;
            if (!r_bytes(&r, &key, &kl) || !r_bytes(&r, &ns, &nl) || !r_bytes(&r, &val, &vl))
                return CORRUPT(err,
                               "key group %" PRIu32 ", state '%s': entry %" PRIu64
                               " overruns the section",
                               kg, t->name, e);
            uint64_t h = rill__hash_bytes(key, kl, 0);
            int ekg = rill__key_group(h, (int)s->max_par);
            if (ekg != (int)kg)
                return CORRUPT(err,
                               "key group %" PRIu32 ", state '%s': entry %" PRIu64
                               " has a key of key group %d",
                               kg, t->name, e, ekg);
            uint32_t ukl = 0;
            if (t->kind == RILL_STATE_MAP && (vl < 4 || (ukl = rill__le_get32(val)) > vl - 4))
                return CORRUPT(
                    err, "key group %" PRIu32 ", state '%s': map entry %" PRIu64 " of %zu bytes",
                    kg, t->name, e, vl);
            if (fixed && vl != fixed_len)
                return CORRUPT(err,
                               "key group %" PRIu32 ", state '%s': a %zu-byte value, "
                               "expected %" PRIu64,
                               kg, t->name, vl, fixed_len);
            if (!c->apply)
                continue;
            rill__state_key k = {.key = key,
                                 .key_len = kl,
                                 .hash = h,
                                 .kg = (int)kg,
                                 .ns = nl ? ns : NULL,
                                 .ns_len = nl};
            int rc = t->kind == RILL_STATE_MAP
                         ? ops->map_put(t->t, &k, val + 4, ukl, val + 4 + ukl, vl - 4 - ukl)
                         : ops->value_put(t->t, &k, val, vl);
            if (rc < 0)
                return fail(err, rc,
                            "restoring key group %" PRIu32 ", state '%s': the %s "
                            "backend refused entry %" PRIu64 ": %s",
                            kg, t->name, ops->name, e, rill_strerror(rc));
        }
    }
    if (!r_u64(&r, &n_timers) || n_timers > (r.end - r.pos) / TIMER_MIN)
        return CORRUPT(err, "key group %" PRIu32 ": timers truncated", kg);
    if (n_timers && !c->timers)
        return fail(err, RILL_EINVAL,
                    "restoring key group %" PRIu32 ": the snapshot has "
                    "%" PRIu64 " timers there and there is no timer service",
                    kg, n_timers);
    for (uint64_t e = 0; e < n_timers; e++) {
        uint8_t d;
        uint64_t ts;
        const unsigned char *key, *ns;
        size_t kl, nl;
        if (!r_u8(&r, &d) || !r_u64(&r, &ts) || !r_bytes(&r, &key, &kl) || !r_bytes(&r, &ns, &nl))
            return CORRUPT(err, "key group %" PRIu32 ": timer %" PRIu64 " overruns the section", kg,
                           e);
        uint64_t h = rill__hash_bytes(key, kl, 0);
        int ekg = rill__key_group(h, (int)s->max_par);
        if (d >= N_DOMAINS || ekg != (int)kg)
            return CORRUPT(err,
                           "key group %" PRIu32 ": timer %" PRIu64 " of domain %u has a "
                           "key of key group %d",
                           kg, e, (unsigned)d, ekg);
        if (!c->apply)
            continue;
        rill__state_key k = {.key = key,
                             .key_len = kl,
                             .hash = h,
                             .kg = (int)kg,
                             .ns = nl ? ns : NULL,
                             .ns_len = nl};
        int rc = rill__timers_register(c->timers, (rill_time_domain)d, &k, (int64_t)ts);
        if (rc < 0)
            return fail(err, rc == RILL_ESTATE ? RILL_EINVAL : rc,
                        "restoring key group %" PRIu32 ": the timer service does not take "
                        "its timers: %s",
                        kg, rill_strerror(rc));
    }
    if (r.pos != r.end)
        return CORRUPT(err, "key group %" PRIu32 ": %zu bytes after its timers", kg, r.end - r.pos);
    return 0;
}

/* Checks every section of [kg_first, kg_last] first, then (unless check_only) registers the
 * tables and puts the sections' contents back. */
static int restore_sections(snap *s, rill__state_backend *b, rill__timer_service *timers,
                            int kg_first, int kg_last, bool check_only, rill__err *err)
{
    const char *uid = b->cfg.operator_uid ? b->cfg.operator_uid : "?";
    restorer c = {.s = s, .b = b, .timers = timers, .err = err};
    for (int pass = 0; pass < (check_only ? 1 : 2); pass++) {
        c.apply = pass == 1;
        for (uint32_t i = 0; c.apply && i < s->n_tables; i++) {
            rtable *t = &s->tabs[i];
            rill_state_desc d = {.id = -1,
                                 .name = t->name,
                                 .kind = t->kind,
                                 .value_size = (size_t)t->value_size,
                                 .ttl_ms = t->ttl_ms};
            int rc = b->ops->table(b, &d, &t->t);
            if (rc < 0)
                return fail(err, rc, "keyed restore of operator %s: state '%s': %s", uid, t->name,
                            rill_last_error()[0] ? rill_last_error() : rill_strerror(rc));
        }
        for (uint32_t i = 0; i < s->n_sections; i++) {
            int64_t kg = rill__le_get32(s->p + s->index_off + 4 + (size_t)i * INDEX_REC);
            if (kg < kg_first || kg > kg_last)
                continue;
            int rc = section(&c, i);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/* A native snapshot's parts. */
typedef struct native {
    char backend[64];
    const void *manifest, *canon;
    size_t manifest_len, canon_len;
} native;

static bool is_native(const void *data, size_t len)
{
    return data && len >= 4 && rill__le_get32(data) == NATIVE_MAGIC;
}

static int native_open(native *n, const void *data, size_t len, rill__err *err)
{
    memset(n, 0, sizeof *n);
    const unsigned char *p = data;
    if (len < NATIVE_MIN)
        return CORRUPT(err, "%zu bytes, too short for a native snapshot", len);
    if (rill__crc32c(0, p, len - 4) != rill__le_get32(p + len - 4))
        return CORRUPT(err, "native snapshot checksum mismatch");
    reader r = {.p = p, .pos = 8, .end = len - 4};
    if (rill__le_get32(p + 4) != NATIVE_VERSION)
        return fail(err, RILL_ENOTSUP,
                    "native keyed snapshot format version %" PRIu32 " (this build reads %d)",
                    rill__le_get32(p + 4), NATIVE_VERSION);
    const unsigned char *name;
    size_t nl;
    uint64_t ml, cl;
    if (!r_bytes(&r, &name, &nl) || nl == 0 || nl >= sizeof n->backend || !r_u64(&r, &ml) ||
        ml > r.end - r.pos)
        return CORRUPT(err, "native snapshot header");
    memcpy(n->backend, name, nl);
    n->manifest = p + r.pos;
    n->manifest_len = (size_t)ml;
    r.pos += (size_t)ml;
    if (!r_u64(&r, &cl) || cl != r.end - r.pos)
        return CORRUPT(err, "native snapshot: its canonical part overruns it");
    n->canon = p + r.pos;
    n->canon_len = (size_t)cl;
    return 0;
}

void rill__ksnap_put_watermark(rill__buf *out, int64_t wm)
{
    rill__buf_put_u32(out, KWM_MAGIC);
    rill__buf_put_u64(out, (uint64_t)wm);
}

bool rill__ksnap_take_watermark(const void **data, size_t *len, int64_t *wm)
{
    if (!*data || *len < 12 || rill__le_get32(*data) != KWM_MAGIC)
        return false;
    *wm = (int64_t)rill__le_get64((const uint8_t *)*data + 4);
    *data = (const uint8_t *)*data + 12;
    *len -= 12;
    return true;
}

int rill__ksnap_check_files(const void *data, size_t len, const char *dir, const char *uid,
                            rill__err *err)
{
    int64_t wm;
    rill__ksnap_take_watermark(&data, &len, &wm); /* a window's blob: its keyed part */
    if (!is_native(data, len))
        return 0;
    native n;
    int rc = native_open(&n, data, len, err);
    if (rc)
        return rc;
    const rill__state_backend_ops *src = rill__state_backend_find(n.backend);
    if (!src || !src->files_restore)
        return fail(err, RILL_ENOTSUP, "a native snapshot of the %s backend, which this build "
                    "cannot read", n.backend);
    if (!dir)
        return fail(err, RILL_EINVAL, "a native snapshot (of the %s backend) needs the directory "
                    "of its files", n.backend);
    return src->files_check ? src->files_check(dir, n.manifest, n.manifest_len, uid, err) : 0;
}

/* The tables b has registered are the first of the snapshot's catalog, in its order (their
 * ids in the files are their catalog indexes): an operator that registers its tables at open
 * (the window operator) may still take the files as they are. */
typedef struct prefix_check {
    const snap *s;
    uint32_t i;
} prefix_check;

static int prefix_table(void *arg, const char *name, rill__state_kind kind, size_t value_size,
                        int64_t ttl_ms, rill__state_table *t)
{
    (void)ttl_ms, (void)t;
    prefix_check *c = arg;
    const rtable *r = c->i < c->s->n_tables ? &c->s->tabs[c->i] : NULL;
    c->i++;
    return r && !strcmp(r->name, name) && r->kind == kind && r->value_size == value_size ? 0 : 1;
}

static bool tables_prefix(rill__state_backend *b, const snap *s)
{
    prefix_check c = {.s = s};
    return b->ops->visit_tables(b, prefix_table, &c) == 0;
}

/* Timers restored into b's files go to timers, which keeps its own (in memory, or in another
 * backend). */
typedef struct importer {
    rill__timer_service *timers;
    rill__state_backend *b;
    int domain;
} importer;

static int import_timer(void *arg, int64_t ts, const rill__state_key *k)
{
    importer *im = arg;
    int rc = rill__timers_register(im->timers, (rill_time_domain)im->domain, k, ts);
    return rc < 0 ? rc : im->b->ops->timer_del(im->b, im->domain, k, ts);
}

static int take_timers(rill__state_backend *b, rill__timer_service *timers, int kg_first,
                       int kg_last, rill__err *err)
{
    if (!b->ops->timer_scan)
        return 0;
    if (rill__timers_backend(timers) == b) {
        rill__timers_reload(timers);
        return 0;
    }
    for (int d = 0; d < N_DOMAINS; d++) {
        for (int kg = kg_first; kg <= kg_last; kg++) {
            importer im = {.timers = timers, .b = b, .domain = d};
            int rc = timers ? b->ops->timer_scan(b, NULL, d, kg, 0, NULL, 0, import_timer, &im)
                            : 0;
            if (rc < 0)
                return fail(err, rc, "restoring the timers of key group %d: %s", kg,
                            rill_last_error()[0] ? rill_last_error() : rill_strerror(rc));
        }
    }
    return 0;
}

/*
 * A native snapshot: the backend's files in dir, and the canonical part (catalog, timers). The
 * same backend at the same key groups takes the files as they are (files_restore); otherwise a
 * temporary instance of the snapshot's backend is made from them and its key groups that b now
 * owns are copied over through a canonical snapshot (rescaling, or a change of backend).
 */
static int restore_native(rill__state_backend *b, rill__timer_service *timers, int kg_first,
                          int kg_last, const native *n, snap *s, const char *dir,
                          rill__err *err)
{
    const char *uid = b->cfg.operator_uid ? b->cfg.operator_uid : "?";
    if (!dir)
        return fail(err, RILL_EINVAL, "a native snapshot (of the %s backend) needs the directory "
                    "of its files", n->backend);
    const rill__state_backend_ops *src = rill__state_backend_find(n->backend);
    if (!src || !src->files_restore)
        return fail(err, RILL_ENOTSUP, "a native snapshot of the %s backend, which this build "
                    "cannot read", n->backend);
    int rc = restore_sections(s, b, timers, kg_first, kg_last, true, err);
    if (rc)
        return rc;
    /* the files as they are, less the key groups b does not own (Flink's rescaling from
     * incremental checkpoints: the first overlapping instance's files, then the others' key
     * groups copied over) */
    int lo = RILL_MAX(kg_first, (int)s->kg_first), hi = RILL_MIN(kg_last, (int)s->kg_last);
    if (src == b->ops && lo <= hi && b->cfg.kg_first == kg_first && b->cfg.kg_last == kg_last &&
        tables_prefix(b, s)) {
        rc = b->ops->files_restore(b, dir, n->manifest, n->manifest_len, err);
        if (rc == 0)
            rc = take_timers(b, timers, kg_first, kg_last, err);
        if (rc == 0)
            return restore_sections(s, b, timers, kg_first, kg_last, false, err);
        if (rc != RILL_EEXIST)
            return rc;
    }
    if (lo <= hi) {
        rill__state_backend_cfg cfg = {.kg_first = (int)s->kg_first,
                                       .kg_last = (int)s->kg_last,
                                       .max_parallelism = (int)s->max_par,
                                       .operator_uid = uid,
                                       .subtask = b->cfg.subtask,
                                       .dir = b->cfg.dir,
                                       .memory_bytes = b->cfg.memory_bytes};
        rill__state_backend *tmp = NULL;
        rc = src->create(&cfg, &tmp);
        if (rc < 0)
            return fail(err, rc, "a temporary %s instance to read a native snapshot: %s",
                        src->name, rill_last_error()[0] ? rill_last_error() : rill_strerror(rc));
        rill__buf buf = {0};
        rc = src->files_restore(tmp, dir, n->manifest, n->manifest_len, err);
        if (rc == 0) /* the catalog, in the snapshot's order; no key groups */
            rc = restore_sections(s, tmp, NULL, 1, 0, false, err);
        /* the timers in its files, if the snapshot's timers were kept there */
        rill__timer_service *tt = rill__timers_new_backed((int)s->kg_first, (int)s->kg_last, tmp,
                                                          0);
        if (rc == 0)
            rc = rill__keyed_snapshot(tmp, rill__timers_backend(tt) ? tt : NULL, lo, hi, &buf,
                                      err);
        rill__timers_free(tt);
        src->destroy(tmp);
        if (rc == 0)
            rc = rill__keyed_restore(b, timers, lo, hi, buf.data, buf.len, err);
        rill__buf_free(&buf);
        if (rc)
            return rc;
    }
    return restore_sections(s, b, timers, kg_first, kg_last, false, err); /* timers */
}

int rill__keyed_restore(rill__state_backend *b, rill__timer_service *timers, int kg_first,
                        int kg_last, const void *data, size_t len, rill__err *err)
{
    return rill__keyed_restore_dir(b, timers, kg_first, kg_last, data, len, NULL, err);
}

int rill__keyed_restore_dir(rill__state_backend *b, rill__timer_service *timers, int kg_first,
                            int kg_last, const void *data, size_t len, const char *dir,
                            rill__err *err)
{
    if (!b)
        return fail(err, RILL_EINVAL, "keyed restore: no backend");
    const rill__state_backend_cfg *cfg = &b->cfg;
    const char *uid = cfg->operator_uid ? cfg->operator_uid : "?";
    if (kg_first > kg_last || kg_first < cfg->kg_first || kg_last > cfg->kg_last)
        return fail(err, RILL_EINVAL,
                    "keyed restore of operator %s: key groups %d..%d not "
                    "within its range %d..%d",
                    uid, kg_first, kg_last, cfg->kg_first, cfg->kg_last);
    native n;
    bool nat = is_native(data, len);
    int rc = nat ? native_open(&n, data, len, err) : 0;
    if (nat && rc == 0) {
        data = n.canon;
        len = n.canon_len;
    }
    snap s = {0};
    if (rc == 0)
        rc = snap_open(&s, data, len, err);
    if (rc == 0 && (int64_t)s.max_par != cfg->max_parallelism)
        rc = fail(err, RILL_ECONFIG,
                  "keyed restore of operator %s: the snapshot was taken at "
                  "max parallelism %" PRIu32 ", the operator has %d (it cannot change)",
                  uid, s.max_par, cfg->max_parallelism);
    if (rc == 0)
        rc = nat ? restore_native(b, timers, kg_first, kg_last, &n, &s, dir, err)
                 : restore_sections(&s, b, timers, kg_first, kg_last, false, err);
    snap_close(&s);
    if (rc < 0 && err && !strstr(err->msg, "of operator ")) {
        char msg[RILL_ERRMSG_MAX];
        memcpy(msg, err->msg, sizeof msg);
        msg[sizeof msg - 1] = 0;
        fail(err, rc, "keyed restore of operator %s: %.900s", uid, msg);
    }
    return rc;
}

int rill__keyed_snapshot_info(const void *data, size_t len, int *max_par_out, int *kg_first_out,
                              int *kg_last_out, rill__err *err)
{
    snap s = {0};
    native n;
    int rc = is_native(data, len) ? native_open(&n, data, len, err) : 0;
    if (rc == 0 && is_native(data, len)) {
        data = n.canon;
        len = n.canon_len;
    }
    if (rc == 0)
        rc = snap_open(&s, data, len, err);
    if (rc == 0) {
        if (max_par_out)
            *max_par_out = (int)s.max_par;
        if (kg_first_out)
            *kg_first_out = (int)s.kg_first;
        if (kg_last_out)
            *kg_last_out = (int)s.kg_last;
    }
    snap_close(&s);
    return rc;
}

/* ---- operator state ------------------------------------------------------------------------ */

#define OPST_FIXED 12 /* magic, version, n */

void rill__opstate_begin(rill__opstate_writer *w, rill__buf *out)
{
    w->out = out;
    w->start = out->len;
    w->n = 0;
    rill__buf_put_u32(out, OPST_MAGIC);
    rill__buf_put_u32(out, OPST_VERSION);
    rill__buf_put_u32(out, 0);
}

int rill__opstate_put(rill__opstate_writer *w, const char *name, const void *data, size_t len)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > NAME_MAX_LEN)
        return RILL_EINVAL;
    /* Our own records so far: no bounds to fear. */
    reader r = {
        .p = (const unsigned char *)w->out->data, .pos = w->start + OPST_FIXED, .end = w->out->len};
    for (uint32_t i = 0; i < w->n; i++) {
        const unsigned char *nm;
        size_t nl;
        uint64_t bl;
        bool ok = r_bytes(&r, &nm, &nl) && r_u64(&r, &bl) && bl <= r.end - r.pos;
        RILL_ASSERT(ok);
        if (nl == n && !memcmp(nm, name, n))
            return RILL_EINVAL;
        r.pos += (size_t)bl;
    }
    put_bytes(w->out, name, (uint32_t)n);
    rill__buf_put_u64(w->out, (uint64_t)len);
    rill__buf_append(w->out, data, len);
    w->n++;
    return 0;
}

void rill__opstate_end(rill__opstate_writer *w)
{
    rill__le_put32(w->out->data + w->start + 8, w->n);
    rill__buf_put_u32(w->out, rill__crc32c(0, w->out->data + w->start, w->out->len - w->start));
}

int rill__opstate_iterate(const void *data, size_t len,
                          int (*fn)(void *arg, const char *name, size_t name_len, const void *val,
                                    size_t val_len),
                          void *arg, rill__err *err)
{
    const unsigned char *p = data;
    if (!p || len < OPST_FIXED + 4)
        return fail(err, RILL_ECORRUPT, "corrupt operator state: %zu bytes, too short", len);
    if (rill__le_get32(p) != OPST_MAGIC)
        return fail(err, RILL_ECORRUPT,
                    "corrupt operator state: not an operator state "
                    "container");
    if (rill__crc32c(0, p, len - 4) != rill__le_get32(p + len - 4))
        return fail(err, RILL_ECORRUPT, "corrupt operator state: checksum mismatch");
    if (rill__le_get32(p + 4) != OPST_VERSION)
        return fail(err, RILL_ENOTSUP,
                    "operator state format version %" PRIu32 " (this build reads version %d)",
                    rill__le_get32(p + 4), OPST_VERSION);
    uint32_t n = rill__le_get32(p + 8);
    /* Check all of it before the first fn call. */
    for (int pass = 0; pass < 2; pass++) {
        reader r = {.p = p, .pos = OPST_FIXED, .end = len - 4};
        for (uint32_t i = 0; i < n; i++) {
            const unsigned char *nm;
            size_t nl;
            uint64_t bl;
            if (!r_bytes(&r, &nm, &nl) || nl == 0 || nl > NAME_MAX_LEN || !r_u64(&r, &bl) ||
                bl > r.end - r.pos)
                return fail(err, RILL_ECORRUPT,
                            "corrupt operator state: blob %" PRIu32 " of %" PRIu32
                            " overruns the container",
                            i, n);
            if (pass == 1) {
                int rc = fn(arg, (const char *)nm, nl, p + r.pos, (size_t)bl);
                if (rc)
                    return rc;
            }
            r.pos += (size_t)bl;
        }
        if (r.pos != r.end)
            return fail(err, RILL_ECORRUPT,
                        "corrupt operator state: %zu bytes after the "
                        "last blob",
                        r.end - r.pos);
    }
    return 0;
}

typedef struct opst_find {
    const char *name;
    size_t name_len;
    const void *val;
    size_t len;
} opst_find;

static int find_blob(void *arg, const char *name, size_t name_len, const void *val, size_t val_len)
{
    opst_find *f = arg;
    if (name_len != f->name_len || memcmp(name, f->name, name_len) != 0)
        return 0;
    f->val = val;
    f->len = val_len;
    return 1;
}

int rill__opstate_get(const void *data, size_t len, const char *name, const void **val_out,
                      size_t *len_out, rill__err *err)
{
    *val_out = NULL;
    *len_out = 0;
    opst_find f = {.name = name ? name : "", .name_len = name ? strlen(name) : 0};
    int rc = rill__opstate_iterate(data, len, find_blob, &f, err);
    if (rc == 1) {
        *val_out = f.val;
        *len_out = f.len;
    }
    return rc;
}
