/*
 * rocksdb_files.c - state layer, the RocksDB backend: native snapshots, for incremental
 * checkpoints: a RocksDB checkpoint of the instance, its files put into a checkpoint directory
 * (linked from the previous snapshot's where they are the same), their manifest, and a restore
 * of an instance from them.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "rocksdb_int.h"

/* ---- native snapshots: RocksDB checkpoints, for incremental checkpoints -----------------------
 *
 * files_begin writes the dirty cached values, flushes the memtables (there is no WAL) and makes
 * a RocksDB checkpoint in the working directory: hard links to the live SST files, copies of
 * MANIFEST, CURRENT and OPTIONS. files_write then puts those files into the checkpoint's
 * directory. SST files are immutable and named by a number the DB never reuses, so an SST file
 * this instance's previous written snapshot also had is the same file: it is hard-linked from
 * that snapshot's directory instead of being written again, and every checkpoint directory
 * holds (links to) all of its files. The filesystem's link count is the reference count: a
 * file shared by several retained checkpoints stays until the last of them is removed, and
 * removing a checkpoint (subsumed, aborted) never touches another one's files. A link that
 * fails (the previous directory is gone, another filesystem, no hard links) falls back to a
 * copy, so the outcome is always a complete checkpoint; only its size differs.
 *
 * Manifest (little-endian): u32 version (2), u32 n_tables (the tables the files hold: ids
 * 0..n_tables-1), u32 n_files, then per file: u32 length and the file's name in the DB, u32
 * length and its name in the checkpoint directory, u64 size.
 */

#define MANIFEST_VERSION 2u

struct rill__state_files {
    rdb_backend *b;
    uint32_t n_tables;
    char *local; /* the RocksDB checkpoint: path/chk-<n> */
    file_rec *files;
    size_t n;
};

static void recs_free(file_rec *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(r[i].name);
        free(r[i].dest);
    }
    free(r);
}

void rill__rdb_files_forget(rdb_backend *b)
{
    recs_free(b->prev, b->n_prev);
    b->prev = NULL;
    b->n_prev = 0;
    free(b->prev_dir);
    b->prev_dir = NULL;
}

/* An SST file: immutable once written (the other files of a checkpoint are not). */
static bool is_sst(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".sst") == 0;
}

/* The previous snapshot's record of file name (an SST file of that size), or NULL. */
static const file_rec *prev_find(const rdb_backend *b, const char *name, int64_t size)
{
    if (!is_sst(name))
        return NULL;
    for (size_t i = 0; i < b->n_prev; i++)
        if (b->prev[i].size == size && !strcmp(b->prev[i].name, name))
            return &b->prev[i];
    return NULL;
}

static int list_files(rill__state_files *f, rill__err *err)
{
    DIR *d = opendir(f->local);
    if (!d)
        return rill__err_set(err, -errno, "state backend rocksdb of operator %s: %s: %s",
                             f->b->uid, f->local, strerror(errno));
    size_t cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *path = rill__xasprintf("%s/%s", f->local, de->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            rc = rill__err_set(err, RILL_ESTATE, "state backend rocksdb of operator %s: %s: "
                               "not a regular file", f->b->uid, path);
            free(path);
            break;
        }
        free(path);
        rill__grow((void **)&f->files, &cap, f->n + 1, sizeof *f->files);
        f->files[f->n++] = (file_rec){rill__xstrdup(de->d_name), NULL, (int64_t)st.st_size};
    }
    closedir(d);
    return rc;
}

void rill__rdb_files_end(rill__state_files *f)
{
    if (!f)
        return;
    rill__remove_tree(f->local);
    free(f->local);
    recs_free(f->files, f->n);
    rdb_backend *b = f->b;
    free(f);
    rill__rdb_unref(b);
}

int rill__rdb_files_begin(rill__state_backend *bb, rill__state_files **out)
{
    rdb_backend *b = (rdb_backend *)bb;
    *out = NULL;
    int rc = rill__rdb_cache_flush(b); /* the files must hold every dirty value */
    if (rc < 0)
        return rc;
    char *err = NULL;
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    rocksdb_flush(b->db, fo, &err);
    rocksdb_flushoptions_destroy(fo);
    if (err)
        return rill__rdb_fail(b, err, "flush for a snapshot");
    rill__state_files *f = rill__xcalloc(1, sizeof *f);
    f->b = b;
    f->n_tables = (uint32_t)b->reg.n;
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    f->local = rill__xasprintf("%s/chk-%llu", b->path, (unsigned long long)++b->n_native);
    rocksdb_checkpoint_t *cp = rocksdb_checkpoint_object_create(b->db, &err);
    if (!err)
        rocksdb_checkpoint_create(cp, f->local, 0, &err);
    if (cp)
        rocksdb_checkpoint_object_destroy(cp);
    if (err) {
        rc = rill__rdb_fail(b, err, "checkpoint");
        rill__rdb_files_end(f);
        return rc;
    }
    rill__err e = {0};
    rc = list_files(f, &e);
    if (rc) {
        rill__last_error_set(rc, "%s", e.msg);
        rill__rdb_files_end(f);
        return rc;
    }
    *out = f;
    return 0;
}

int rill__rdb_files_write(rill__state_files *f, const char *dir, const char *prefix,
                          rill__buf *manifest, rill__files_size *size, rill__err *err)
{
    rdb_backend *b = f->b;
    pthread_mutex_lock(&b->files_mu);
    file_rec *recs = rill__xcalloc(f->n ? f->n : 1, sizeof *recs);
    size_t start = manifest->len;
    rill__enc e;
    rill__enc_init(&e, manifest);
    rill__enc_u32(&e, MANIFEST_VERSION);
    rill__enc_u32(&e, f->n_tables);
    rill__enc_u32(&e, (uint32_t)f->n);
    int rc = 0;
    size_t i = 0;
    for (; i < f->n && rc == 0; i++) {
        const file_rec *src = &f->files[i];
        char *dest = rill__xasprintf("%s%s", prefix, src->name);
        char *to = rill__xasprintf("%s/%s", dir, dest);
        recs[i] = (file_rec){rill__xstrdup(src->name), dest, src->size};
        const file_rec *old = b->prev_dir ? prev_find(b, src->name, src->size) : NULL;
        bool linked = false;
        if (old) {
            char *from = rill__xasprintf("%s/%s", b->prev_dir, old->dest);
            linked = link(from, to) == 0;
            free(from);
        }
        if (!linked) {
            char *from = rill__xasprintf("%s/%s", f->local, src->name);
            int64_t n = 0;
            rc = rill__copy_file(from, to, &n);
            if (rc)
                rill__err_set(err, rc, "state backend rocksdb of operator %s: copying %s to %s: %s",
                              b->uid, from, to, rill_strerror(rc));
            else if (n != src->size)
                rc = rill__err_set(err, RILL_ESTATE, "state backend rocksdb of operator %s: %s "
                                   "changed while copied (%lld of %lld bytes)", b->uid, from,
                                   (long long)n, (long long)src->size);
            free(from);
            size->new_bytes += n;
            size->n_new++;
        }
        size->full_bytes += src->size;
        size->n_files++;
        rill__enc_str(&e, "name", src->name, SIZE_MAX);
        rill__enc_str(&e, "dest", dest, SIZE_MAX);
        rill__enc_u64(&e, (uint64_t)src->size);
        free(to);
    }
    if (rc == 0) { /* the next snapshot links from this one */
        rill__rdb_files_forget(b);
        b->prev_dir = rill__xstrdup(dir);
        b->prev = recs;
        b->n_prev = f->n;
    } else {
        recs_free(recs, i);
        manifest->len = start;
    }
    pthread_mutex_unlock(&b->files_mu);
    return rc;
}

/* Reads a manifest into recs (names checked); uid names the operator in messages.
 * RILL_ECORRUPT with err. */
static int manifest_read(const char *uid, const void *data, size_t len, file_rec **out,
                         size_t *n_out, uint32_t *n_tables_out, rill__err *err)
{
    rill__dec d;
    rill__dec_init(&d, data, len);
    *out = NULL;
    *n_out = 0;
    uint32_t version = rill__dec_u32(&d, "version");
    if (d.rc == 0 && version != MANIFEST_VERSION)
        return rill__err_set(err, RILL_ENOTSUP, "state backend rocksdb of operator %s: "
                             "snapshot manifest version %u (this build reads %u)", uid,
                             version, MANIFEST_VERSION);
    *n_tables_out = rill__dec_u32(&d, "tables");
    uint32_t n = rill__dec_u32(&d, "files");
    if (d.rc || n > len / 16 || *n_tables_out > MAX_TABLES)
        goto bad;
    file_rec *recs = rill__xcalloc(n ? n : 1, sizeof *recs);
    size_t i = 0;
    for (; i < n; i++) {
        char *names[2] = {NULL, NULL};
        for (int k = 0; k < 2; k++) {
            const uint8_t *p;
            size_t l;
            rill__dec_bytes(&d, k ? "dest" : "name", SIZE_MAX, &p, &l);
            if (d.rc)
                break;
            names[k] = rill__xstrndup((const char *)p, l);
            if (rill__ckpt_check_name(names[k], l, "file name", NULL) != 0 || names[k][0] == '_') {
                free(names[k]);
                names[k] = NULL;
                break;
            }
        }
        uint64_t sz = rill__dec_u64(&d, "size");
        if (d.rc || !names[0] || !names[1] || sz > INT64_MAX) {
            free(names[0]);
            free(names[1]);
            recs_free(recs, i);
            goto bad;
        }
        recs[i] = (file_rec){names[0], names[1], (int64_t)sz};
    }
    if (rill__dec_left(&d) != 0) {
        recs_free(recs, n);
        goto bad;
    }
    *out = recs;
    *n_out = n;
    return 0;
bad:
    return rill__err_set(err, RILL_ECORRUPT, "state backend rocksdb of operator %s: corrupt "
                         "snapshot manifest (%zu bytes)", uid, len);
}

/* The snapshot file of r is in dir, of the size the manifest says: 0, RILL_ECORRUPT (missing,
 * another size) or -errno, with err. */
static int check_file(const char *uid, const char *dir, const file_rec *r, rill__err *err)
{
    char *path = rill__xasprintf("%s/%s", dir, r->dest);
    struct stat st;
    int rc = 0;
    if (stat(path, &st) != 0)
        rc = rill__err_set(err, errno == ENOENT ? RILL_ECORRUPT : -errno,
                           "state backend rocksdb of operator %s: snapshot file %s: %s", uid,
                           path, errno == ENOENT ? "missing" : strerror(errno));
    else if ((int64_t)st.st_size != r->size)
        rc = rill__err_set(err, RILL_ECORRUPT, "state backend rocksdb of operator %s: snapshot "
                           "file %s has %lld bytes, its manifest says %lld", uid, path,
                           (long long)st.st_size, (long long)r->size);
    free(path);
    return rc;
}

int rill__rdb_files_check(const char *dir, const void *manifest, size_t len, const char *uid,
                          rill__err *err)
{
    file_rec *recs;
    size_t n;
    uint32_t n_tables;
    int rc = manifest_read(uid, manifest, len, &recs, &n, &n_tables, err);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = check_file(uid, dir, &recs[i], err);
    if (recs)
        recs_free(recs, n);
    return rc;
}

/* Nothing was ever written to the DB (tables may be registered: the caller checks that the
 * files' tables begin with them, in their order, which is their ids). */
static bool db_empty(rdb_backend *b)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator(b->db, b->ropts);
    rocksdb_iter_seek_to_first(it);
    bool empty = !rocksdb_iter_valid(it);
    rocksdb_iter_destroy(it);
    return empty;
}

/* Deletes (range deletes) every key group outside the instance's range, of the tables 0..n-1
 * and of the timers: files of another parallelism's instance bring their key groups along. */
static int keep_own_range(rdb_backend *b, uint32_t n_tables)
{
    int first = b->base.cfg.kg_first, last = b->base.cfg.kg_last;
    if (first == 0 && last == 0xffff)
        return 0;
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    for (uint32_t i = 0; i <= n_tables; i++) {
        uint32_t tid = i < n_tables ? i : TIMER_TID;
        unsigned char lo[PFX_LEN], hi[PFX_LEN];
        pfx(lo, tid, 0);
        pfx(hi, tid, first);
        if (first > 0)
            rocksdb_writebatch_delete_range(wb, (const char *)lo, PFX_LEN, (const char *)hi,
                                            PFX_LEN);
        pfx(lo, tid, last + 1 > 0xffff ? 0xffff : last + 1);
        pfx(hi, tid + 1, 0);
        if (last < 0xffff)
            rocksdb_writebatch_delete_range(wb, (const char *)lo, PFX_LEN, (const char *)hi,
                                            PFX_LEN);
    }
    char *err = NULL;
    rocksdb_write(b->db, b->wopts, wb, &err);
    rocksdb_writebatch_destroy(wb);
    return err ? rill__rdb_fail(b, err, "delete the key groups of other instances") : 0;
}

/* Opens the DB in b->dbpath (which must hold one, or be empty). */
static int reopen(rdb_backend *b)
{
    char *err = NULL;
    rocksdb_options_set_error_if_exists(b->opts, 0);
    b->db = rocksdb_open(b->opts, b->dbpath, &err);
    rocksdb_options_set_error_if_exists(b->opts, 1);
    return err ? rill__rdb_fail(b, err, "open") : 0;
}

int rill__rdb_files_restore(rill__state_backend *bb, const char *dir, const void *manifest,
                            size_t len, rill__err *err)
{
    rdb_backend *b = (rdb_backend *)bb;
    if (b->c.n || !db_empty(b))
        return rill__err_set(err, RILL_EEXIST, "state backend rocksdb of operator %s: a restore "
                             "from files needs an instance that holds nothing yet", b->uid);
    file_rec *recs;
    size_t n;
    uint32_t n_tables = 0;
    int rc = manifest_read(b->uid, manifest, len, &recs, &n, &n_tables, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&b->files_mu);
    rocksdb_close(b->db);
    b->db = NULL;
    rill__remove_tree(b->dbpath);
    rc = rill__mkdirs(b->dbpath, 0755);
    if (rc)
        rill__err_set(err, rc, "state backend rocksdb of operator %s: %s: %s", b->uid, b->dbpath,
                      rill_strerror(rc));
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *from = rill__xasprintf("%s/%s", dir, recs[i].dest);
        char *to = rill__xasprintf("%s/%s", b->dbpath, recs[i].name);
        rc = check_file(b->uid, dir, &recs[i], err);
        /* the DB may share SST files (immutable) with the checkpoint; the others it writes */
        if (rc == 0 && (!is_sst(recs[i].name) || link(from, to) != 0)) {
            rc = rill__copy_file(from, to, NULL);
            if (rc)
                rill__err_set(err, rc, "state backend rocksdb of operator %s: copying %s: %s",
                              b->uid, from, rill_strerror(rc));
        }
        free(from);
        free(to);
    }
    if (rc == 0 && (rc = reopen(b)) != 0)
        rill__err_set(err, rc, "%s", rill_last_error());
    if (rc == 0 && (rc = keep_own_range(b, n_tables)) != 0)
        rill__err_set(err, rc, "%s", rill_last_error());
    if (rc) { /* an empty DB again: the instance stays usable (and fresh) */
        if (b->db)
            rocksdb_close(b->db);
        b->db = NULL;
        rill__remove_tree(b->dbpath);
        rill__mkdirs(b->dbpath, 0755);
        if (reopen(b) != 0)
            rill__log(RILL_LOG_ERROR, "%s", rill_last_error());
        recs_free(recs, n);
    } else { /* the next snapshot links what it still has from the one restored */
        /* the filter of written keys cannot vouch for keys that came in files: every miss
         * reads RocksDB from now on (a false positive only costs a read) */
        memset(b->bloom, 0xff, b->n_bloom * 64);
        rill__rdb_files_forget(b);
        b->prev_dir = rill__xstrdup(dir);
        b->prev = recs;
        b->n_prev = n;
    }
    pthread_mutex_unlock(&b->files_mu);
    return rc;
}
