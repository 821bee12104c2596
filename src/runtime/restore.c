/*
 * restore.c - runtime layer: a completed checkpoint loaded for restore. Parses the metadata the
 * coordinator committed, reads (and verifies) every task's data file, and hands each operator
 * the state blobs its uid left in every old subtask.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/snapshot.h"
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

/* A length-prefixed string, as a new C string (NULL after an error). */
static char *dec_strdup(rill__dec *d, const char *field)
{
    const uint8_t *p;
    size_t n;
    rill__dec_bytes(d, field, SIZE_MAX, &p, &n);
    return d->rc ? NULL : rill__xstrndup((const char *)p, n);
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
    rill__dec d;
    rill__dec_init(&d, data, len);
    uint32_t n_ops = rill__dec_u32(&d, "operators");
    for (uint32_t i = 0; i < n_ops && d.rc == 0; i++) {
        char *uid = dec_strdup(&d, "uid");
        uint64_t blen = rill__dec_u64(&d, "state length");
        const uint8_t *blob = d.rc == 0 && blen <= rill__dec_left(&d)
                                  ? rill__dec_raw(&d, "state", (size_t)blen)
                                  : NULL;
        if (blob)
            add_blob(rs, uid, subtask, par, false, blob, (size_t)blen);
        else
            rill__dec_fail_at(&d, "state", d.off);
        free(uid);
    }
    rill__err derr;
    if (rill__dec_finish(&d, "task file", &derr) == 0)
        return 0;
    return rill__err_set(err, RILL_ECORRUPT, "checkpoint %lld: task file %s is malformed (%s)",
                         (long long)rs->id, file, derr.msg);
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
    int64_t id = len >= 12 ? (int64_t)rill__le_get64((const char *)meta + 4) : 0;
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
    rill__dec d;
    rill__dec_init(&d, meta, len);
    char *job = NULL;
    int rc = 0;
    uint32_t version = rill__dec_u32(&d, "version");
    if (d.rc == 0 && version != 1) {
        rc = rill__err_set(err, RILL_ECORRUPT, "checkpoint %lld: metadata is malformed (unknown "
                           "version %u)", (long long)id, version);
        goto out;
    }
    rill__dec_u64(&d, "checkpoint");
    rill__dec_i64(&d, "trigger time");
    rill__dec_i64(&d, "completion time");
    uint32_t max_par = rill__dec_u32(&d, "max parallelism");
    job = dec_strdup(&d, "job");
    uint32_t n_tasks = rill__dec_u32(&d, "tasks");
    /* each task takes at least 29 bytes: no allocation sized by a corrupt count */
    if (d.rc == 0 && n_tasks > rill__dec_left(&d) / 29)
        rill__dec_fail_at(&d, "tasks", d.off - 4);
    if (d.rc == 0) {
        rs->max_parallelism = (int)max_par;
        rs->files = rill__xcalloc((size_t)n_tasks + 1, sizeof *rs->files);
    }
    for (uint32_t t = 0; t < n_tasks && rc == 0 && d.rc == 0; t++) {
        uint32_t f[3];
        for (int k = 0; k < 3; k++)
            f[k] = rill__dec_u32(&d, k == 0 ? "vertex" : k == 1 ? "subtask" : "parallelism");
        char *uid = dec_strdup(&d, "uid");
        char *file = dec_strdup(&d, "file");
        rill__dec_u64(&d, "size");
        bool finished = rill__dec_u8(&d, "finished") != 0;
        if (d.rc == 0 && (f[2] == 0 || f[1] >= f[2]))
            rill__dec_fail_at(&d, "subtask", d.off);
        if (d.rc) {
            free(uid);
            free(file);
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
    rill__err derr;
    if (rc == 0 && rill__dec_finish(&d, "metadata", &derr) < 0)
        rc = rill__err_set(err, RILL_ECORRUPT, "checkpoint %lld: metadata is malformed (%s)",
                           (long long)id, derr.msg);
    /* the files of incremental (native) keyed snapshots: one missing or cut short makes the
     * checkpoint unusable now, before any task starts, so that the one before it is taken */
    for (size_t i = 0; rc == 0 && i < rs->n_blobs; i++) {
        const restore_blob *b = &rs->blobs[i];
        rill__err e = {0};
        if ((rc = rill__ksnap_check_files(b->data, b->len, rs->dir, b->uid, &e)) != 0)
            rill__err_set(err, rc, "checkpoint %lld: operator %s (subtask %d/%d): %s",
                          (long long)id, b->uid, b->subtask + 1, b->parallelism, e.msg);
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

/* Whether operator uid left state: bytes, or a finished source (which must not start over). */
static bool has_state(const rill__restore *rs, const char *uid)
{
    for (size_t b = 0; b < rs->n_blobs; b++)
        if (!strcmp(rs->blobs[b].uid, uid) && (rs->blobs[b].len > 0 || rs->blobs[b].finished))
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
        if (first && has_state(rs, rs->blobs[b].uid) && seen++ == i)
            return rs->blobs[b].uid;
    }
    return NULL;
}
