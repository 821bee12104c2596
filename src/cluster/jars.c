/*
 * jars.c - cluster layer: the JobManager's store of uploaded job objects (`rill run -m`, REST
 * POST /jars/upload). Objects live in one private directory under names the store generates
 * ([0-9a-f]{32}.so); a name from a request is checked against that form before any filesystem
 * call, so no request can name another file. Size and SHA-256 are computed when an object is
 * stored (or, for objects already in the directory, when the store opens) and kept in memory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/cluster.h"

#define ID_HEX     32 /* hex digits of a generated name, before ".so" */
#define TMP_PREFIX ".upload-"

typedef struct jar_entry {
    char id[RILL_JAR_ID_MAX + 1];
    uint64_t size;
    int64_t uploaded_ms;
    uint8_t sha256[RILL_SHA256_LEN];
} jar_entry;

struct rill__jar_store {
    pthread_mutex_t mu; /* guards entries: REST handlers run on several threads */
    char *dir;
    jar_entry *entries; /* oldest first */
    size_t n, cap;
};

/* Is s of the generated form, [0-9a-f]{32}.so? Pure string check: no filesystem call. */
static bool jar_id_form_ok(const char *s)
{
    if (!s)
        return false;
    for (int i = 0; i < ID_HEX; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false; /* also stops at a NUL before 32 digits */
    return !strcmp(s + ID_HEX, ".so");
}

/* Does p hold an ELF shared object's header (magic, a known class and byte order, ET_DYN)? */
static bool is_elf_shared_object(const uint8_t *p, size_t n)
{
    static const uint8_t magic[4] = {0x7f, 'E', 'L', 'F'};
    if (n < 20 || memcmp(p, magic, 4) != 0)
        return false;
    uint8_t cls = p[4], data = p[5];
    if ((cls != 1 && cls != 2) || (data != 1 && data != 2))
        return false;
    if (n < (cls == 2 ? 64u : 52u)) /* the whole ELF header */
        return false;
    unsigned type = data == 1 ? (unsigned)(p[16] | p[17] << 8) : (unsigned)(p[16] << 8 | p[17]);
    return type == 3; /* ET_DYN */
}

/* A script (`rill run -m FILE.sql`): text, no NUL bytes, and not ELF (so it is never loaded as
 * code: rill__job_entry runs an object that is not ELF as a script). */
static bool is_script(const uint8_t *p, size_t n)
{
    if (n >= 4 && !memcmp(p, "\x7f" "ELF", 4))
        return false;
    return memchr(p, 0, n) == NULL;
}

static jar_entry *find(rill__jar_store *s, const char *id, size_t *index_out)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->entries[i].id, id)) {
            if (index_out)
                *index_out = i;
            return &s->entries[i];
        }
    return NULL;
}

static void add_entry(rill__jar_store *s, const jar_entry *e)
{
    rill__grow((void **)&s->entries, &s->cap, s->n + 1, sizeof *s->entries);
    s->entries[s->n++] = *e;
}

/* SHA-256 of the file at path, read in pieces. 0 or -errno. */
static int hash_file(const char *path, uint8_t out[RILL_SHA256_LEN])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    rill__sha256 h;
    rill__sha256_init(&h);
    char *buf = rill__xmalloc(1 << 16);
    int rc = 0;
    for (;;) {
        ssize_t r = read(fd, buf, 1 << 16);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            break;
        }
        if (r == 0)
            break;
        rill__sha256_update(&h, buf, (size_t)r);
    }
    free(buf);
    close(fd);
    if (rc == 0)
        rill__sha256_final(&h, out);
    return rc;
}

static int by_upload_time(const void *a, const void *b)
{
    const jar_entry *x = a, *y = b;
    if (x->uploaded_ms != y->uploaded_ms)
        return x->uploaded_ms < y->uploaded_ms ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* Takes in what the directory holds from an earlier run: objects of the generated form (their
 * upload time is their mtime), and removes temporary files an interrupted upload left. */
static int scan(rill__jar_store *s, rill__err *err)
{
    DIR *d = opendir(s->dir);
    if (!d) {
        int e = errno;
        return rill__err_set(err, -e, "jar store '%s': cannot read: %s", s->dir, strerror(e));
    }
    int dfd = dirfd(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strncmp(de->d_name, TMP_PREFIX, sizeof TMP_PREFIX - 1)) {
            unlinkat(dfd, de->d_name, 0);
            continue;
        }
        struct stat st;
        if (!jar_id_form_ok(de->d_name) ||
            fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        jar_entry e = {.size = (uint64_t)st.st_size,
                       .uploaded_ms =
                           (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000};
        memcpy(e.id, de->d_name, ID_HEX + 4); /* the form checked: 32 digits, ".so", NUL */
        char *path = rill__xasprintf("%s/%s", s->dir, e.id);
        int rc = hash_file(path, e.sha256);
        free(path);
        if (rc == 0)
            add_entry(s, &e);
        else
            rill__log(RILL_LOG_WARN, "jar store '%s': skipping '%s': %s", s->dir, e.id,
                      strerror(-rc));
    }
    closedir(d);
    if (s->n > 1)
        qsort(s->entries, s->n, sizeof *s->entries, by_upload_time);
    return 0;
}

int rill__jar_store_open(const char *dir, rill__jar_store **out, rill__err *err)
{
    *out = NULL;
    if (!dir || !*dir)
        return rill__err_set(err, RILL_EINVAL, "jar store: no directory given");
    int e = mkdir(dir, 0700) != 0 && errno != EEXIST ? errno : 0;
    if (e)
        return rill__err_set(err, -e, "jar store '%s': cannot create the directory: %s", dir,
                             strerror(e));
    struct stat st;
    if (lstat(dir, &st) != 0) {
        e = errno;
        return rill__err_set(err, -e, "jar store '%s': %s", dir, strerror(e));
    }
    if (!S_ISDIR(st.st_mode))
        return rill__err_set(err, RILL_ENOTDIR, "jar store '%s' is not a directory", dir);
    /* job objects are code the cluster runs: nobody else may put one there or swap one */
    if (st.st_uid != geteuid())
        return rill__err_set(err, RILL_EPERM,
                             "jar store '%s' belongs to uid %u, not this process's uid %u", dir,
                             (unsigned)st.st_uid, (unsigned)geteuid());
    if (st.st_mode & 022)
        return rill__err_set(err, RILL_EPERM,
                             "jar store '%s' is writable by group or others (mode %03o): use a "
                             "directory only its owner may write (chmod 700)",
                             dir, (unsigned)(st.st_mode & 0777));
    rill__jar_store *s = rill__xcalloc(1, sizeof *s);
    s->dir = rill__xstrdup(dir);
    pthread_mutex_init(&s->mu, NULL);
    int rc = scan(s, err);
    if (rc) {
        rill__jar_store_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void rill__jar_store_free(rill__jar_store *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    free(s->entries);
    free(s->dir);
    free(s);
}

int rill__jar_store_put(rill__jar_store *s, const void *p, size_t n, char *id_out, rill__err *err)
{
    id_out[0] = '\0';
    if (n == 0 || n > RILL_JAR_SIZE_MAX)
        return rill__err_set(err, RILL_ELIMIT, "a job object must be 1..%u bytes, not %zu",
                             RILL_JAR_SIZE_MAX, n);
    if (!is_elf_shared_object(p, n) && !is_script(p, n))
        return rill__err_set(err, RILL_EINVAL,
                             "not an ELF shared object (build the job with -shared -fPIC) "
                             "nor a SQL script (text without NUL bytes)");
    static const char hex[] = "0123456789abcdef";
    uint8_t rnd[ID_HEX / 2];
    int rc = rill__random_bytes(rnd, sizeof rnd);
    if (rc)
        return rill__err_set(err, rc, "jar store: no random bytes for a name: %s", strerror(-rc));
    jar_entry e = {.size = n};
    for (int i = 0; i < ID_HEX / 2; i++) {
        e.id[2 * i] = hex[rnd[i] >> 4];
        e.id[2 * i + 1] = hex[rnd[i] & 15];
    }
    memcpy(e.id + ID_HEX, ".so", 4);
    rill__sha256_digest(p, n, e.sha256);

    /* the file I/O runs without the lock: the temporary name is this upload's own */
    char *tmp = rill__xasprintf("%s/" TMP_PREFIX "%.*s.tmp", s->dir, ID_HEX, e.id);
    char *path = rill__xasprintf("%s/%s", s->dir, e.id);
    const char *failed = tmp, *what = "cannot create";
    bool renamed = false;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = -errno;
        goto fail;
    }
    what = "cannot write";
    rc = rill__write_all(fd, p, n);
    if (rc == 0) {
        what = "cannot sync";
        if (rill__fault(RILL_FAULT_FSYNC))
            rc = -EIO;
        else if (fsync(fd) != 0)
            rc = -errno;
    }
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc)
        goto fail;
    what = "cannot rename into place";
    failed = path;
    if (rename(tmp, path) != 0) {
        rc = -errno;
        goto fail;
    }
    renamed = true;
    what = "cannot sync the directory after storing";
    failed = s->dir;
    if ((rc = rill__fsync_dir(s->dir)) != 0)
        goto fail;
    e.uploaded_ms = rill__now_ms();
    pthread_mutex_lock(&s->mu);
    add_entry(s, &e);
    pthread_mutex_unlock(&s->mu);
    memcpy(id_out, e.id, sizeof e.id);
    free(tmp);
    free(path);
    return 0;
fail:
    /* nothing half-written stays: neither the temporary file nor an unsynced object */
    unlink(renamed ? path : tmp);
    rill__err_set(err, rc, "jar store: %s '%s': %s", what, failed, strerror(-rc));
    free(tmp);
    free(path);
    return err->code;
}

int rill__jar_store_get(rill__jar_store *s, const char *id, char **path_out, uint64_t *size_out,
                        uint8_t sha256_out[RILL_SHA256_LEN], rill__err *err)
{
    *path_out = NULL;
    if (!jar_id_form_ok(id))
        return rill__err_set(err, RILL_ENOENT, "no uploaded job object of that name");
    pthread_mutex_lock(&s->mu);
    jar_entry *e = find(s, id, NULL);
    jar_entry copy;
    if (e)
        copy = *e;
    pthread_mutex_unlock(&s->mu);
    if (!e)
        return rill__err_set(err, RILL_ENOENT, "no uploaded job object '%s'", id);
    char *path = rill__xasprintf("%s/%s", s->dir, id);
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != copy.size) {
        free(path);
        return rill__err_set(err, RILL_ENOENT,
                             "uploaded job object '%s' is gone or was changed in '%s'", id, s->dir);
    }
    *path_out = path;
    if (size_out)
        *size_out = copy.size;
    if (sha256_out)
        memcpy(sha256_out, copy.sha256, RILL_SHA256_LEN);
    return 0;
}

int rill__jar_store_list(rill__jar_store *s, rill__jar_info **out, size_t *n_out, rill__err *err)
{
    (void)err;
    pthread_mutex_lock(&s->mu);
    rill__jar_info *v = rill__xcalloc(s->n ? s->n : 1, sizeof *v);
    for (size_t i = 0; i < s->n; i++) {
        memcpy(v[i].id, s->entries[i].id, sizeof v[i].id);
        v[i].size = s->entries[i].size;
        v[i].uploaded_ms = s->entries[i].uploaded_ms;
    }
    *n_out = s->n;
    pthread_mutex_unlock(&s->mu);
    *out = v;
    return 0;
}

int rill__jar_store_delete(rill__jar_store *s, const char *id, rill__err *err)
{
    if (!jar_id_form_ok(id))
        return rill__err_set(err, RILL_ENOENT, "no uploaded job object of that name");
    pthread_mutex_lock(&s->mu);
    size_t i;
    if (!find(s, id, &i)) {
        pthread_mutex_unlock(&s->mu);
        return rill__err_set(err, RILL_ENOENT, "no uploaded job object '%s'", id);
    }
    char *path = rill__xasprintf("%s/%s", s->dir, id);
    int rc = 0, e = unlink(path) != 0 && errno != ENOENT ? errno : 0;
    if (e)
        rc = rill__err_set(err, -e, "jar store: cannot delete '%s': %s", path, strerror(e));
    if (rc == 0) {
        memmove(&s->entries[i], &s->entries[i + 1], (s->n - i - 1) * sizeof *s->entries);
        s->n--;
    }
    pthread_mutex_unlock(&s->mu);
    if (rc == 0 && rill__fsync_dir(s->dir) != 0)
        rill__log(RILL_LOG_WARN, "jar store '%s': cannot sync the directory after deleting '%s'",
                  s->dir, id);
    free(path);
    return rc;
}
