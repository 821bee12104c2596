/*
 * checkpoint.c - state layer: framed checkpoint files (magic, version, kind, length, CRC32C) and
 * the store of checkpoints DIR/<job-id>/chk-<n>/ whose commit point is the rename of _metadata.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"

struct rill__ckpt_store {
    /* Immutable after open: concurrent rill__ckpt_write_data calls share nothing mutable. */
    char *dir; /* base_dir/<job_id> */
    char *job_id;
    int retain;
    int lock_fd; /* holds the lock on dir/_lock (rill__ckpt_store_lock); -1: not held */
};

#define CHK_PREFIX "chk-"
#define LOCK_NAME "_lock"

/* ---- messages ---------------------------------------------------------------------------- */

RILL_PRINTF(3, 4) static int fail(rill__err *err, int code, const char *fmt, ...)
{
    char msg[RILL_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (err)
        return rill__err_set(err, code, "%s", msg);
    return rill__last_error_set(code, "%s", msg);
}

/* ---- framing ----------------------------------------------------------------------------- */

const char *rill__ckpt_kind_name(uint32_t kind)
{
    switch (kind) {
    case RILL_CKPT_DATA:
        return "data";
    case RILL_CKPT_METADATA:
        return "metadata";
    case RILL_CKPT_SAVEPOINT_METADATA:
        return "savepoint metadata";
    default:
        return "unknown";
    }
}

static bool kind_valid(uint32_t kind)
{
    return kind >= RILL_CKPT_DATA && kind <= RILL_CKPT_SAVEPOINT_METADATA;
}

static void make_header(unsigned char *h, rill__ckpt_kind kind, size_t len)
{
    memcpy(h, RILL_CKPT_MAGIC, 8);
    rill__le_put32(h + 8, RILL_CKPT_FORMAT_VERSION);
    rill__le_put32(h + 12, (uint32_t)kind);
    rill__le_put64(h + 16, (uint64_t)len);
}

void rill__ckpt_frame(rill__buf *out, rill__ckpt_kind kind, const void *payload, size_t len)
{
    RILL_ASSERT(kind_valid(kind));
    unsigned char h[RILL_CKPT_HEADER_SIZE], t[RILL_CKPT_TRAILER_SIZE];
    make_header(h, kind, len);
    uint32_t crc = rill__crc32c(0, h, sizeof h);
    crc = rill__crc32c(crc, payload, len);
    rill__le_put32(t, crc);
    rill__buf_reserve(out, len + RILL_CKPT_FRAME_OVERHEAD);
    rill__buf_append(out, h, sizeof h);
    rill__buf_append(out, payload, len);
    rill__buf_append(out, t, sizeof t);
}

int rill__ckpt_unframe(const void *data, size_t len, rill__ckpt_kind kind, const char *what,
                       const void **payload_out, size_t *len_out, rill__err *err)
{
    *payload_out = NULL;
    *len_out = 0;
    const unsigned char *p = data;
    if (len < 8 || memcmp(p, RILL_CKPT_MAGIC, 8) != 0) {
        if (len < 8 && (len == 0 || memcmp(p, RILL_CKPT_MAGIC, len) == 0))
            return fail(err, RILL_ECORRUPT, "%s: truncated: %zu of at least %d bytes", what, len,
                        RILL_CKPT_FRAME_OVERHEAD);
        return fail(err, RILL_ECORRUPT, "%s: bad magic (not a rill checkpoint file)", what);
    }
    if (len < RILL_CKPT_HEADER_SIZE)
        return fail(err, RILL_ECORRUPT, "%s: truncated: %zu of at least %d bytes", what, len,
                    RILL_CKPT_FRAME_OVERHEAD);
    uint32_t version = rill__le_get32(p + 8);
    if (version > RILL_CKPT_FORMAT_VERSION)
        return fail(err, RILL_ENOTSUP,
                    "%s: format version %" PRIu32 " is newer than this build reads (%u)", what,
                    version, RILL_CKPT_FORMAT_VERSION);
    if (version == 0)
        return fail(err, RILL_ECORRUPT, "%s: bad format version 0", what);
    uint32_t file_kind = rill__le_get32(p + 12);
    if (file_kind != (uint32_t)kind)
        return fail(err, RILL_ECORRUPT, "%s: kind %" PRIu32 " (%s), expected %d (%s)", what,
                    file_kind, rill__ckpt_kind_name(file_kind), (int)kind,
                    rill__ckpt_kind_name(kind));
    uint64_t plen = rill__le_get64(p + 16);
    if (plen > (uint64_t)(SIZE_MAX - RILL_CKPT_FRAME_OVERHEAD))
        return fail(err, RILL_ECORRUPT, "%s: bad payload length %" PRIu64, what, plen);
    size_t want = (size_t)plen + RILL_CKPT_FRAME_OVERHEAD;
    if (len < want)
        return fail(err, RILL_ECORRUPT, "%s: truncated: %zu of %zu bytes", what, len, want);
    if (len > want)
        return fail(err, RILL_ECORRUPT, "%s: trailing bytes: %zu bytes, the frame holds %zu", what,
                    len, want);
    uint32_t crc = rill__crc32c(0, p, want - RILL_CKPT_TRAILER_SIZE);
    uint32_t stored = rill__le_get32(p + want - RILL_CKPT_TRAILER_SIZE);
    if (crc != stored)
        return fail(err, RILL_ECORRUPT,
                    "%s: checksum mismatch (stored %08" PRIx32 ", computed %08" PRIx32 ")", what,
                    stored, crc);
    *payload_out = p + RILL_CKPT_HEADER_SIZE;
    *len_out = (size_t)plen;
    return 0;
}

/* ---- files ------------------------------------------------------------------------------- */

/* The directory part of path ("." when it has none), malloc'd. */
static char *parent_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return rill__xstrdup(".");
    if (slash == path)
        return rill__xstrdup("/");
    return rill__xstrndup(path, (size_t)(slash - path));
}

static int fsync_fd(int fd)
{
    if (rill__fault(RILL_FAULT_FSYNC))
        return -EIO;
    return fsync(fd) == 0 ? 0 : -errno;
}

/* Creates (truncating) path and writes the framed payload, fsyncs and closes it; removes the
 * file again on any failure. */
static int write_framed(const char *path, rill__ckpt_kind kind, const void *payload, size_t len,
                        rill__err *err)
{
    unsigned char h[RILL_CKPT_HEADER_SIZE], t[RILL_CKPT_TRAILER_SIZE];
    make_header(h, kind, len);
    uint32_t crc = rill__crc32c(0, h, sizeof h);
    crc = rill__crc32c(crc, payload, len);
    rill__le_put32(t, crc);

    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int rc = -errno;
        return fail(err, rc, "creating %s: %s", path, rill_strerror(rc));
    }
    const char *step = "writing";
    int rc = rill__write_all(fd, h, sizeof h);
    if (rc == 0 && len > 0)
        rc = rill__write_all(fd, payload, len);
    if (rc == 0)
        rc = rill__write_all(fd, t, sizeof t);
    if (rc == 0) {
        step = "fsync of";
        rc = fsync_fd(fd);
    }
    if (close(fd) != 0 && rc == 0) {
        step = "closing";
        rc = -errno;
    }
    if (rc != 0) {
        unlink(path);
        return fail(err, rc, "%s %s: %s", step, path, rill_strerror(rc));
    }
    return 0;
}

int rill__ckpt_file_write(const char *path, rill__ckpt_kind kind, const void *payload, size_t len,
                          rill__err *err)
{
    if (!kind_valid(kind))
        return fail(err, RILL_EINVAL, "%s: bad file kind %d", path, (int)kind);
    char *dir = parent_of(path);
    int rc = rill__mkdirs(dir, 0755);
    if (rc != 0)
        fail(err, rc, "creating directory %s for %s: %s", dir, path, rill_strerror(rc));
    free(dir);
    if (rc != 0)
        return rc;
    return write_framed(path, kind, payload, len, err);
}

int rill__ckpt_file_write_atomic(const char *path, rill__ckpt_kind kind, const void *payload,
                                 size_t len, rill__err *err)
{
    if (!kind_valid(kind))
        return fail(err, RILL_EINVAL, "%s: bad file kind %d", path, (int)kind);
    char *tmp = rill__xasprintf("%s.tmp", path);
    char *dir = parent_of(path);
    int rc = write_framed(tmp, kind, payload, len, err);
    if (rc != 0)
        goto out;
    if (rename(tmp, path) != 0) {
        rc = -errno;
        unlink(tmp);
        fail(err, rc, "renaming %s to %s: %s", tmp, path, rill_strerror(rc));
        goto out;
    }
    rc = rill__fsync_dir(dir);
    if (rc != 0) {
        /* The rename may or may not be durable: take it back so nobody reads this file as
         * committed. The unlink may not be durable either, but what a crash could bring back is
         * the whole, fsynced file - never a partial one. */
        unlink(path);
        (void)rill__fsync_dir(dir);
        fail(err, rc, "fsync of directory %s after renaming %s: %s (file removed)", dir, path,
             rill_strerror(rc));
    }
out:
    free(tmp);
    free(dir);
    return rc;
}

int rill__ckpt_file_read(const char *path, rill__ckpt_kind kind, void **payload_out,
                         size_t *len_out, rill__err *err)
{
    *payload_out = NULL;
    *len_out = 0;
    char *data = NULL;
    size_t len = 0;
    int rc = rill__read_file(path, RILL_CKPT_MAX_FILE, &data, &len);
    if (rc == -ENOENT)
        return fail(err, rc, "%s: missing", path);
    if (rc == RILL_ELIMIT)
        return fail(err, rc, "%s: larger than %zu bytes", path, RILL_CKPT_MAX_FILE);
    if (rc != 0)
        return fail(err, rc, "reading %s: %s", path, rill_strerror(rc));
    const void *payload;
    size_t plen;
    rc = rill__ckpt_unframe(data, len, kind, path, &payload, &plen, err);
    if (rc != 0) {
        free(data);
        return rc;
    }
    /* read_file allocated len + 1 bytes, so the payload and a NUL fit at the start. */
    memmove(data, payload, plen);
    data[plen] = '\0';
    *payload_out = data;
    *len_out = plen;
    return 0;
}

int rill__ckpt_check_name(const char *name, size_t len, const char *what, rill__err *err)
{
    if (!name || len == 0)
        return fail(err, RILL_EINVAL, "empty %s", what);
    if (len > 255)
        return fail(err, RILL_EINVAL, "%s of %zu bytes, over 255", what, len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '\0')
            return fail(err, RILL_EINVAL, "%s \"%.*s\" contains a NUL byte", what, (int)i, name);
        if (c == '/')
            return fail(err, RILL_EINVAL, "%s \"%.*s\" contains '/'", what, (int)len, name);
        if (c < 0x20 || c == 0x7f)
            return fail(err, RILL_EINVAL, "%s contains control character 0x%02x", what, c);
        if (c == '.' && i + 1 < len && name[i + 1] == '.')
            return fail(err, RILL_EINVAL, "%s \"%.*s\" contains \"..\"", what, (int)len, name);
    }
    if (len == 1 && name[0] == '.')
        return fail(err, RILL_EINVAL, "%s \".\" is not a name", what);
    return 0;
}

/* ---- directories ------------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

/* rm -r path, not following symlinks. 0 when done or when path did not exist; else -errno. */
static int remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -errno;
    if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return errno ? -errno : -EIO;
    return 0;
}

/* The id in a directory name "chk-<n>" written canonically (no sign, no leading zeros), or -1. */
static int64_t chk_id_of(const char *name)
{
    size_t plen = strlen(CHK_PREFIX);
    if (strncmp(name, CHK_PREFIX, plen) != 0)
        return -1;
    const char *s = name + plen;
    size_t n = strlen(s);
    if (n == 0 || n > 19 || (s[0] == '0' && n > 1))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    int64_t id;
    if (rill__parse_i64(s, n, &id) != 0)
        return -1;
    return id;
}

static int cmp_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x < y) - (x > y);
}

/* The ids of every chk-<n> entry of the store's directory, newest first (malloc'd). */
static int scan_ids(const rill__ckpt_store *s, int64_t **ids_out, size_t *n_out, rill__err *err)
{
    *ids_out = NULL;
    *n_out = 0;
    DIR *d = opendir(s->dir);
    if (!d) {
        int rc = -errno;
        return fail(err, rc, "listing %s: %s", s->dir, rill_strerror(rc));
    }
    int64_t *ids = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        int64_t id = chk_id_of(e->d_name);
        if (id < 0)
            continue;
        rill__grow((void **)&ids, &cap, n + 1, sizeof *ids);
        ids[n++] = id;
        errno = 0;
    }
    int rc = errno ? -errno : 0;
    closedir(d);
    if (rc != 0) {
        free(ids);
        return fail(err, rc, "listing %s: %s", s->dir, rill_strerror(rc));
    }
    if (n > 1)
        qsort(ids, n, sizeof *ids, cmp_desc);
    *ids_out = ids;
    *n_out = n;
    return 0;
}

/* ---- the store --------------------------------------------------------------------------- */

static int check_id(int64_t id, rill__err *err)
{
    if (id < 0)
        return fail(err, RILL_EINVAL, "bad checkpoint id %" PRId64, id);
    return 0;
}

/* Takes the lock of a job's checkpoint directory: an open file description lock (F_OFD_SETLK,
 * as the rocksdb backend's working directories), which a second store conflicts with, in this
 * process or another, and which the kernel drops when the process dies (kill -9 leaves no stale
 * lock). The holder's pid is written into the file, for the message of whoever finds it held. */
static int lock_dir(const char *dir, const char *job_id, int *fd_out, rill__err *err)
{
    *fd_out = -1;
    char *path = rill__xasprintf("%s/" LOCK_NAME, dir);
    int rc = 0;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        fail(err, rc, "opening the lock file %s: %s", path, rill_strerror(rc));
        goto out;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
        int e = errno;
        if (e != EAGAIN && e != EACCES) {
            rc = -e;
            fail(err, rc, "locking %s: %s", path, rill_strerror(rc));
            goto out;
        }
        char holder[64] = "";
        char buf[32];
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        int64_t pid;
        if (n > 0) {
            buf[n] = '\0';
            size_t len = strcspn(buf, "\n");
            if (rill__parse_i64(buf, len, &pid) == 0 && pid > 0)
                snprintf(holder, sizeof holder, " (pid %lld)", (long long)pid);
        }
        rc = fail(err, RILL_ECONFIG,
                  "checkpoint directory %s is in use: another run of job '%s'%s holds its lock "
                  "%s; two runs must not share a job's checkpoints (stop the other run, or give "
                  "this one another --checkpoint-dir or --name)",
                  dir, job_id, holder, path);
        goto out;
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%lld\n", (long long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
        rill__log(RILL_LOG_WARN, "%s: cannot record this process's pid in it: %s", path,
                  strerror(errno)); /* the lock holds without it */
out:
    if (rc != 0 && fd >= 0)
        close(fd);
    else
        *fd_out = fd;
    free(path);
    return rc;
}

int rill__ckpt_store_open(const char *base_dir, const char *job_id, int retain,
                          rill__ckpt_store **out, rill__err *err)
{
    *out = NULL;
    if (!base_dir || !*base_dir)
        return fail(err, RILL_EINVAL, "empty checkpoint directory");
    int rc = rill__ckpt_check_name(job_id, job_id ? strlen(job_id) : 0, "job id", err);
    if (rc != 0)
        return rc;
    if (retain < 1)
        return fail(err, RILL_EINVAL, "checkpoints to retain must be at least 1, not %d", retain);
    char *dir = rill__xasprintf("%s/%s", base_dir, job_id);
    rc = rill__mkdirs(dir, 0755);
    if (rc != 0) {
        fail(err, rc, "creating checkpoint directory %s: %s", dir, rill_strerror(rc));
        free(dir);
        return rc;
    }
    rc = rill__fsync_dir(base_dir);
    if (rc != 0) {
        fail(err, rc, "fsync of directory %s: %s", base_dir, rill_strerror(rc));
        free(dir);
        return rc;
    }
    rill__ckpt_store *s = rill__xcalloc(1, sizeof *s);
    s->dir = dir;
    s->job_id = rill__xstrdup(job_id);
    s->retain = retain;
    s->lock_fd = -1;
    *out = s;
    return 0;
}

int rill__ckpt_store_lock(rill__ckpt_store *s, rill__err *err)
{
    if (s->lock_fd >= 0)
        return 0;
    return lock_dir(s->dir, s->job_id, &s->lock_fd, err);
}

void rill__ckpt_store_unlock(rill__ckpt_store *s)
{
    if (s && s->lock_fd >= 0) {
        close(s->lock_fd); /* (an open file description lock ends with its last descriptor) */
        s->lock_fd = -1;
    }
}

void rill__ckpt_store_free(rill__ckpt_store *s)
{
    if (!s)
        return;
    rill__ckpt_store_unlock(s);
    free(s->dir);
    free(s->job_id);
    free(s);
}

const char *rill__ckpt_store_dir(const rill__ckpt_store *s)
{
    return s->dir;
}

char *rill__ckpt_store_chk_dir(const rill__ckpt_store *s, int64_t id)
{
    return rill__xasprintf("%s/" CHK_PREFIX "%" PRId64, s->dir, id);
}

static char *meta_path(const rill__ckpt_store *s, int64_t id)
{
    return rill__xasprintf("%s/" CHK_PREFIX "%" PRId64 "/" RILL_CKPT_METADATA_NAME, s->dir, id);
}

/* Whether an error reading a _metadata means "this checkpoint does not exist" (skip it) rather
 * than "cannot tell right now" (fail). */
static bool skippable(int rc)
{
    return rc == -ENOENT || rc == -ENOTDIR || rc == RILL_ECORRUPT || rc == RILL_ENOTSUP ||
           rc == RILL_ELIMIT;
}

int rill__ckpt_write_data(rill__ckpt_store *s, int64_t id, const char *name, const void *data,
                          size_t len, rill__err *err)
{
    int rc = check_id(id, err);
    if (rc == 0)
        rc = rill__ckpt_check_name(name, name ? strlen(name) : 0, "file name", err);
    if (rc != 0)
        return rc;
    if (name[0] == '_')
        return fail(err, RILL_EINVAL, "file name \"%s\": names starting with '_' are reserved",
                    name);
    char *path = rill__xasprintf("%s/" CHK_PREFIX "%" PRId64 "/%s", s->dir, id, name);
    rc = rill__ckpt_file_write(path, RILL_CKPT_DATA, data, len, err);
    free(path);
    return rc;
}

/* After checkpoint id committed: removes older completed checkpoints beyond retain and older
 * directories that are not completed checkpoints. Failures are logged only. */
static void prune(rill__ckpt_store *s, int64_t id)
{
    int64_t *ids;
    size_t n;
    rill__err e = {0};
    if (scan_ids(s, &ids, &n, &e) != 0) {
        rill__log(RILL_LOG_WARN, "checkpoint %" PRId64 " committed, but not pruning: %s", id,
                  e.msg);
        return;
    }
    int kept = 1; /* id itself */
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= id)
            continue;
        char *mp = meta_path(s, ids[i]);
        void *meta;
        size_t len;
        int rc = rill__ckpt_file_read(mp, RILL_CKPT_METADATA, &meta, &len, &e);
        free(mp);
        free(meta);
        if (rc == 0 && kept < s->retain) {
            kept++;
            continue;
        }
        if (rc != 0 && !skippable(rc)) {
            rill__log(RILL_LOG_WARN,
                      "checkpoint %" PRId64 " committed, keeping chk-%" PRId64
                      " which cannot be read: %s",
                      id, ids[i], e.msg);
            continue;
        }
        char *dir = rill__ckpt_store_chk_dir(s, ids[i]);
        if (rc != 0)
            rill__log(RILL_LOG_INFO, "removing %s, superseded by checkpoint %" PRId64 ": %s", dir,
                      id, e.msg);
        int rrc = remove_tree(dir);
        if (rrc != 0)
            rill__log(RILL_LOG_WARN, "removing %s: %s", dir, rill_strerror(rrc));
        free(dir);
    }
    free(ids);
}

int rill__ckpt_commit(rill__ckpt_store *s, int64_t id, const void *meta, size_t len, rill__err *err)
{
    int rc = check_id(id, err);
    if (rc != 0)
        return rc;
    char *dir = rill__ckpt_store_chk_dir(s, id);
    char *mp = meta_path(s, id);
    struct stat st;
    if (lstat(mp, &st) == 0) {
        rc = fail(err, RILL_EEXIST, "checkpoint %" PRId64 " is already committed (%s exists)", id,
                  mp);
        goto out; /* leave it alone: it is not this call's to fail */
    }
    rc = rill__mkdirs(dir, 0755);
    if (rc != 0) {
        fail(err, rc, "creating %s: %s", dir, rill_strerror(rc));
        goto failed;
    }
    /* chk-<id> must stay in the job directory before _metadata inside it may say "done". */
    rc = rill__fsync_dir(s->dir);
    if (rc != 0) {
        fail(err, rc, "fsync of directory %s: %s", s->dir, rill_strerror(rc));
        goto failed;
    }
    rc = rill__ckpt_file_write_atomic(mp, RILL_CKPT_METADATA, meta, len, err);
    if (rc != 0)
        goto failed;
    prune(s, id);
    goto out;
failed:
    /* The checkpoint has failed for good: nothing of it stays to be mistaken for complete. */
    if (remove_tree(dir) != 0)
        rill__log(RILL_LOG_WARN, "checkpoint %" PRId64 " failed and %s could not be removed", id,
                  dir);
out:
    free(dir);
    free(mp);
    return rc;
}

int rill__ckpt_abort(rill__ckpt_store *s, int64_t id, rill__err *err)
{
    int rc = check_id(id, err);
    if (rc != 0)
        return rc;
    char *mp = meta_path(s, id);
    void *meta = NULL;
    size_t len;
    rill__err e = {0};
    rc = rill__ckpt_file_read(mp, RILL_CKPT_METADATA, &meta, &len, &e);
    free(meta);
    free(mp);
    if (rc == 0)
        return fail(err, RILL_EPERM, "checkpoint %" PRId64 " of %s is completed: not aborting it",
                    id, s->dir);
    if (!skippable(rc))
        return fail(err, rc, "not aborting checkpoint %" PRId64 ": %s", id, e.msg);
    char *dir = rill__ckpt_store_chk_dir(s, id);
    rc = remove_tree(dir);
    if (rc != 0)
        fail(err, rc, "removing %s: %s", dir, rill_strerror(rc));
    free(dir);
    return rc;
}

int rill__ckpt_read_meta(rill__ckpt_store *s, int64_t id, void **meta_out, size_t *len_out,
                         rill__err *err)
{
    *meta_out = NULL;
    *len_out = 0;
    int rc = check_id(id, err);
    if (rc != 0)
        return rc;
    char *mp = meta_path(s, id);
    rc = rill__ckpt_file_read(mp, RILL_CKPT_METADATA, meta_out, len_out, err);
    free(mp);
    return rc;
}

int rill__ckpt_latest(rill__ckpt_store *s, int64_t *id_out, void **meta_out, size_t *len_out,
                      rill__err *err)
{
    *id_out = 0;
    *meta_out = NULL;
    *len_out = 0;
    int64_t *ids;
    size_t n;
    int rc = scan_ids(s, &ids, &n, err);
    if (rc != 0)
        return rc;
    rill__err e = {0};
    rc = RILL_ENOENT;
    for (size_t i = 0; i < n; i++) {
        rc = rill__ckpt_read_meta(s, ids[i], meta_out, len_out, &e);
        if (rc == 0) {
            *id_out = ids[i];
            break;
        }
        if (!skippable(rc))
            break;
        rill__log(RILL_LOG_WARN, "checkpoints of %s: skipping chk-%" PRId64 ": %s", s->dir, ids[i],
                  e.msg);
        rc = RILL_ENOENT;
    }
    free(ids);
    if (rc == RILL_ENOENT && n > 0)
        return fail(err, rc, "no completed checkpoint in %s: none of its %zu checkpoint "
                    "director%s has a _metadata that can be read (each is logged above)",
                    s->dir, n, n == 1 ? "y" : "ies");
    if (rc == RILL_ENOENT)
        return fail(err, rc, "no completed checkpoint in %s", s->dir);
    if (rc != 0)
        return fail(err, rc, "%s", e.msg);
    return 0;
}

int rill__ckpt_unreadable(rill__ckpt_store *s, char **why_out, size_t *n_out, rill__err *err)
{
    *why_out = NULL;
    *n_out = 0;
    int64_t *ids;
    size_t n;
    int rc = scan_ids(s, &ids, &n, err);
    if (rc != 0)
        return rc;
    rill__buf why = {0};
    for (size_t i = 0; i < n; i++) {
        void *meta = NULL;
        size_t len;
        rill__err e = {0};
        rc = rill__ckpt_read_meta(s, ids[i], &meta, &len, &e);
        free(meta);
        if (rc == 0 || rc == -ENOENT || rc == -ENOTDIR)
            continue; /* readable, or never committed (interrupted before its _metadata) */
        char line[RILL_ERRMSG_MAX + 64];
        int k = snprintf(line, sizeof line, "%schk-%" PRId64 ": %s", why.len ? "; " : "", ids[i],
                         e.msg);
        rill__buf_append(&why, line, (size_t)RILL_MIN(k, (int)sizeof line - 1));
        (*n_out)++;
    }
    free(ids);
    if (why.len) {
        rill__buf_append(&why, "", 1);
        *why_out = (char *)why.data;
    }
    return 0;
}

int rill__ckpt_other_jobs(const char *base_dir, const char *job_id, char **names_out,
                          size_t *n_out, rill__err *err)
{
    *names_out = NULL;
    *n_out = 0;
    DIR *d = opendir(base_dir);
    if (!d) {
        int rc = -errno;
        if (rc == -ENOENT)
            return 0;
        return fail(err, rc, "listing %s: %s", base_dir, rill_strerror(rc));
    }
    rill__buf names = {0};
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, job_id))
            continue;
        if (rill__ckpt_check_name(e->d_name, strlen(e->d_name), "job id", &(rill__err){0}) != 0)
            continue;
        /* a job directory: one that holds a chk-<n> directory */
        char *dir = rill__xasprintf("%s/%s", base_dir, e->d_name);
        DIR *jd = opendir(dir);
        bool has = false;
        for (struct dirent *je; jd && !has && (je = readdir(jd)) != NULL;)
            has = chk_id_of(je->d_name) >= 0;
        if (jd)
            closedir(jd);
        free(dir);
        if (!has)
            continue;
        if (names.len)
            rill__buf_append(&names, ", ", 2);
        rill__buf_append(&names, "'", 1);
        rill__buf_append(&names, e->d_name, strlen(e->d_name));
        rill__buf_append(&names, "'", 1);
        (*n_out)++;
    }
    closedir(d);
    if (names.len) {
        rill__buf_append(&names, "", 1);
        *names_out = (char *)names.data;
    }
    return 0;
}

int rill__ckpt_list(rill__ckpt_store *s, int64_t **ids_out, size_t *n_out, rill__err *err)
{
    *ids_out = NULL;
    *n_out = 0;
    int64_t *ids;
    size_t n;
    int rc = scan_ids(s, &ids, &n, err);
    if (rc != 0)
        return rc;
    rill__err e = {0};
    size_t kept = 0;
    /* newest first in ids; completed ones are compacted to the front, then reversed */
    for (size_t i = 0; i < n; i++) {
        void *meta;
        size_t len;
        rc = rill__ckpt_read_meta(s, ids[i], &meta, &len, &e);
        free(meta);
        if (rc == 0)
            ids[kept++] = ids[i];
        else if (!skippable(rc))
            break;
        rc = 0;
    }
    if (rc != 0 || kept == 0) {
        free(ids);
        return rc != 0 ? fail(err, rc, "%s", e.msg) : 0;
    }
    for (size_t i = 0; i < kept / 2; i++) {
        int64_t t = ids[i];
        ids[i] = ids[kept - 1 - i];
        ids[kept - 1 - i] = t;
    }
    *ids_out = ids;
    *n_out = kept;
    return 0;
}

int rill__ckpt_read_data(rill__ckpt_store *s, int64_t id, const char *name, void **data_out,
                         size_t *len_out, rill__err *err)
{
    *data_out = NULL;
    *len_out = 0;
    int rc = check_id(id, err);
    if (rc == 0)
        rc = rill__ckpt_check_name(name, name ? strlen(name) : 0, "file name", err);
    if (rc != 0)
        return rc;
    char *path = rill__xasprintf("%s/" CHK_PREFIX "%" PRId64 "/%s", s->dir, id, name);
    rc = rill__ckpt_file_read(path, RILL_CKPT_DATA, data_out, len_out, err);
    free(path);
    return rc;
}
