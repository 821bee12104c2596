/* file.c - base layer: whole writes and reads, atomic file replacement, mkdir -p, dir fsync. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"

int rill__write_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        if (rill__fault(RILL_FAULT_WRITE))
            return -EIO;
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

int rill__read_file(const char *path, size_t max_len, char **data_out, size_t *len_out)
{
    *data_out = NULL;
    *len_out = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    if ((size_t)st.st_size > max_len) {
        close(fd);
        return RILL_ELIMIT;
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *data = rill__xmalloc(cap);
    for (;;) {
        if (len + 1 >= cap) {
            if (cap > max_len + 1) {
                free(data);
                close(fd);
                return RILL_ELIMIT;
            }
            cap *= 2;
            data = rill__xrealloc(data, cap);
        }
        if (rill__fault(RILL_FAULT_READ)) {
            free(data);
            close(fd);
            return -EIO;
        }
        ssize_t r = read(fd, data + len, cap - len - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int rc = -errno;
            free(data);
            close(fd);
            return rc;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    data[len] = '\0';
    *data_out = data;
    *len_out = len;
    return 0;
}

int rill__fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (rill__fault(RILL_FAULT_FSYNC))
        rc = -EIO;
    else if (fsync(fd) != 0)
        rc = -errno;
    close(fd);
    return rc;
}

int rill__write_file_atomic(const char *path, const void *p, size_t n)
{
    char *tmp = rill__xasprintf("%s.tmp.%ld", path, (long)getpid());
    char *dirbuf = rill__xstrdup(path);
    const char *dir = dirname(dirbuf);
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    rc = rill__write_all(fd, p, n);
    if (rc == 0 && rill__fault(RILL_FAULT_FSYNC))
        rc = -EIO;
    else if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc == 0)
        rc = rill__fsync_dir(dir);
    if (rc != 0)
        unlink(tmp);
out:
    free(tmp);
    free(dirbuf);
    return rc;
}

int rill__mkdirs(const char *path, int mode)
{
    char *p = rill__xstrdup(path);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) {
                rc = -errno;
                break;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    if (rc == 0) {
        struct stat st;
        if (stat(p, &st) != 0)
            rc = -errno;
        else if (!S_ISDIR(st.st_mode))
            rc = -ENOTDIR;
    }
    free(p);
    return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path) == 0 ? 0 : -errno;
}

int rill__remove_tree(const char *path)
{
    int rc = nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc > 0 ? 0 : rc;
}

int rill__copy_file(const char *src, const char *dst, int64_t *bytes_out)
{
    if (bytes_out)
        *bytes_out = 0;
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -errno;
    /* a new file, never an existing one truncated: that may be a hard link shared with
     * another directory (a checkpoint's) */
    if (unlink(dst) != 0 && errno != ENOENT) {
        int rc = -errno;
        close(in);
        return rc;
    }
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        int rc = -errno;
        close(in);
        return rc;
    }
    int rc = 0;
    int64_t total = 0;
    char *buf = rill__xmalloc(1 << 20);
    for (;;) {
        ssize_t n = read(in, buf, 1 << 20);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || rill__fault(RILL_FAULT_READ)) {
            rc = n < 0 ? -errno : -EIO;
            break;
        }
        if (n == 0)
            break;
        rc = rill__write_all(out, buf, (size_t)n);
        if (rc)
            break;
        total += n;
    }
    free(buf);
    if (rc == 0 && rill__fault(RILL_FAULT_FSYNC))
        rc = -EIO;
    else if (rc == 0 && fsync(out) != 0)
        rc = -errno;
    if (close(out) != 0 && rc == 0)
        rc = -errno;
    close(in);
    if (rc)
        unlink(dst);
    else if (bytes_out)
        *bytes_out = total;
    return rc;
}
