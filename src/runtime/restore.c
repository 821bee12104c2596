/*
 * restore.c - runtime layer: a completed checkpoint loaded for restore. Parses the metadata the
 * coordinator committed, reads (and verifies) every task's data file, and hands each operator
 * the state blobs its uid left in every old subtask.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

typedef struct restore_blob {
    char *uid;
    int subtask, parallelism;
    bool finished; /* the old task had finished: its operators have nothing more to do */
    const void *data;
    size_t len;
} restore_blob;

struct rill__restore {
    int64_t id;
    bool savepoint; /* loaded by rill__restore_load_dir */
    char *dir;      /* the checkpoint's (or savepoint's) directory: native snapshots' files */
    int max_parallelism;
    char **files; /* task data, kept for the blobs that point into them */
    size_t n_files;
    restore_blob *blobs;
    size_t n_blobs, cap_blobs;
};

/* The fewest bytes one task takes in the metadata: three u32, two empty strings (their u32
 * lengths), u64 size, u8 finished. */
#define TASK_MIN 29

typedef struct reader {
    const unsigned char *p, *end;
    bool bad;
} reader;

static bool rd(reader *r, void *out, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return false;
    }
    memcpy(out, r->p, n);
    r->p += n;
    return true;
}

/* A length-prefixed string, as a new C string (NULL when bad). */
static char *rd_str(reader *r)
{
    uint32_t n;
    if (!rd(r, &n, 4) || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    char *s = rill__xstrndup((const char *)r->p, n);
    r->p += n;
    return s;
}

static void add_blob(rill__restore *rs, const char *uid, int subtask, int par, bool finished,
                     const void *data, size_t len)
{
    rill__grow((void **)&rs->blobs, &rs->cap_blobs, rs->n_blobs + 1, sizeof *rs->blobs);
    rs->blobs[rs->n_blobs++] = (restore_blob){rill__xstrdup(uid), subtask, par, finished, data,
                                              len};
}

/* One task's data file: u32 operators, then per operator uid and its state. */
static int parse_task(rill__restore *rs, const char *file, int subtask, int par, const void *data,
                      size_t len, rill__err *err)
{
    reader r = {data, (const unsigned char *)data + len, false};
    uint32_t n_ops;
    if (!rd(&r, &n_ops, 4))
        goto bad;
    for (uint32_t i = 0; i < n_ops; i++) {
        char *uid = rd_str(&r);
        uint64_t blen;
        if (!uid || !rd(&r, &blen, 8) || (uint64_t)(r.end - r.p) < blen) {
            free(uid);
            goto bad;
        }
        add_blob(rs, uid, subtask, par, false, r.p, (size_t)blen);
        r.p += blen;
        free(uid);
    }
    if (r.p != r.end)
        goto bad;
    return 0;
bad:
    return rill__err_set(err, RILL_ECORRUPT, "checkpoint %lld: task file %s is malformed",
                         (long long)rs->id, file);
}

/* Where task files come from: the checkpoint store, or a savepoint directory. */
typedef struct file_source {
    rill__ckpt_store *store;
    const char *dir;
} file_source;

static int read_task_file(const file_source *fs, int64_t id, const char *name, void **data,
                          size_t *len, rill__err *err)
{
    if (fs->store)
        return rill__ckpt_read_data(fs->store, id, name, data, len, err);
    int rc = rill__ckpt_check_name(name, strlen(name), "task file", err);
    if (rc)
        return rc;
    char *path = rill__xasprintf("%s/%s", fs->dir, name);
    rc = rill__ckpt_file_read(path, RILL_CKPT_DATA, data, len, err);
    free(path);
    return rc;
}

static int load(const file_source *fs, int64_t id, const void *meta, size_t len,
                rill__restore **out, rill__err *err);

int rill__restore_load(rill__ckpt_store *store, int64_t id, const void *meta, size_t len,
                       rill__restore **out, rill__err *err)
{
    file_source fs = {.store = store};
    return load(&fs, id, meta, len, out, err);
}

int rill__restore_load_dir(const char *dir, rill__restore **out, rill__err *err)
{
    *out = NULL;
    char *path = rill__xasprintf("%s/%s", dir, RILL_CKPT_METADATA_NAME);
    void *meta = NULL;
    size_t len = 0;
    int rc = rill__ckpt_file_read(path, RILL_CKPT_SAVEPOINT_METADATA, &meta, &len, err);
    free(path);
    if (rc)
        return rc;
    int64_t id = 0;
    if (len >= 12)
        memcpy(&id, (const char *)meta + 4, 8);
    file_source fs = {.dir = dir};
    rc = load(&fs, id, meta, len, out, err);
    free(meta);
    if (rc == 0)
        (*out)->savepoint = true;
    return rc;
}

bool rill__restore_is_savepoint(const rill__restore *rs)
{
    return rs->savepoint;
}

static int load(const file_source *fs, int64_t id, const void *meta, size_t len,
                rill__restore **out, rill__err *err)
{
    *out = NULL;
    rill__restore *rs = rill__xcalloc(1, sizeof *rs);
    rs->id = id;
    rs->dir = fs->store ? rill__ckpt_store_chk_dir(fs->store, id) : rill__xstrdup(fs->dir);
    reader r = {meta, (const unsigned char *)meta + len, false};
    uint32_t version, max_par, n_tasks;
    uint64_t chk;
    int64_t t_trigger, t_done;
    char *job = NULL;
    int rc = 0;
    if (!rd(&r, &version, 4) || version != 1 || !rd(&r, &chk, 8) || !rd(&r, &t_trigger, 8) ||
        !rd(&r, &t_done, 8) || !rd(&r, &max_par, 4) || !(job = rd_str(&r)) ||
        !rd(&r, &n_tasks, 4)) {
        rc = rill__err_set(err, RILL_ECORRUPT, "checkpoint %lld: metadata is malformed%s",
                           (long long)id, r.bad ? "" : " (unknown version)");
        goto out;
    }
    /* the count comes from the file: one beyond what its bytes can hold must not size the
     * allocation below (a u32 count of 4 billion, or one that wraps when 1 is added) */
    if (n_tasks > (size_t)(r.end - r.p) / TASK_MIN) {
        rc = rill__err_set(err, RILL_ECORRUPT,
                           "checkpoint %lld: metadata is malformed (%" PRIu32
                           " tasks in the %zu bytes left)",
                           (long long)id, n_tasks, (size_t)(r.end - r.p));
        goto out;
    }
    rs->max_parallelism = (int)max_par;
    rs->files = rill__xcalloc((size_t)n_tasks + 1, sizeof *rs->files);
    for (uint32_t t = 0; t < n_tasks && rc == 0; t++) {
        uint32_t f[3];
        uint64_t size;
        uint8_t finished;
        char *uid = NULL, *file = NULL;
        if (!rd(&r, f, sizeof f) || !(uid = rd_str(&r)) || !(file = rd_str(&r)) ||
            !rd(&r, &size, 8) || !rd(&r, &finished, 1)) {
            free(uid);
            free(file);
            rc = rill__err_set(err, RILL_ECORRUPT, "checkpoint %lld: metadata is malformed",
                               (long long)id);
            break;
        }
        if (finished || !*file) {
            add_blob(rs, uid, (int)f[1], (int)f[2], true, NULL, 0);
        } else {
            void *data = NULL;
            size_t dlen = 0;
            rc = read_task_file(fs, id, file, &data, &dlen, err);
            if (rc == 0) {
                rs->files[rs->n_files++] = data;
                rc = parse_task(rs, file, (int)f[1], (int)f[2], data, dlen, err);
            }
        }
        free(uid);
        free(file);
    }
out:
    free(job);
    if (rc) {
        rill__restore_free(rs);
        return rc;
    }
    *out = rs;
    return 0;
}

void rill__restore_free(rill__restore *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->n_blobs; i++)
        free(rs->blobs[i].uid);
    free(rs->blobs);
    for (size_t i = 0; i < rs->n_files; i++)
        free(rs->files[i]);
    free(rs->files);
    free(rs->dir);
    free(rs);
}

const char *rill__restore_dir(const rill__restore *rs)
{
    return rs->dir;
}

int64_t rill__restore_id(const rill__restore *rs)
{
    return rs->id;
}

int rill__restore_blobs(const rill__restore *rs, const char *uid,
                        int (*fn)(void *arg, int subtask, int parallelism, bool finished,
                                  const void *data, size_t len),
                        void *arg)
{
    for (size_t i = 0; i < rs->n_blobs; i++) {
        const restore_blob *b = &rs->blobs[i];
        if (strcmp(b->uid, uid) != 0)
            continue;
        int rc = fn(arg, b->subtask, b->parallelism, b->finished, b->data, b->len);
        if (rc)
            return rc;
    }
    return 0;
}

bool rill__restore_has(const rill__restore *rs, const char *uid)
{
    for (size_t i = 0; i < rs->n_blobs; i++)
        if (!strcmp(rs->blobs[i].uid, uid))
            return true;
    return false;
}

const char *rill__restore_uid(const rill__restore *rs, size_t i)
{
    size_t seen = 0;
    for (size_t b = 0; b < rs->n_blobs; b++) {
        bool first = true;
        for (size_t a = 0; a < b && first; a++)
            first = strcmp(rs->blobs[a].uid, rs->blobs[b].uid) != 0;
        if (first && seen++ == i)
            return rs->blobs[b].uid;
    }
    return NULL;
}
