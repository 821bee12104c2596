/*
 * sinks.c - connectors layer: the print sink (stdout), the file sink (one file, or one part
 * file per subtask) and the blackhole sink, writing CSV or JSON lines.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn_int.h"

#define FILE_SINK_BUF ((size_t)64 << 10) /* bytes gathered before one write() */

/* Appends every row of b to out in the format. */
static void encode_batch(const rill__fmt *f, rill_batch *b, rill__buf *out)
{
    const rill_schema *schema = b->schema;
    if (f->format == RILL_FMT_JSON) {
        for (uint32_t i = 0; i < b->n_rows; i++) {
            rill_row r = rill__batch_row(b, i);
            rill__encode_json_row(schema, &r, out);
        }
    } else {
        for (uint32_t i = 0; i < b->n_rows; i++) {
            rill_row r = rill__batch_row(b, i);
            rill__encode_csv_row(schema, &r, f->delim, out);
        }
    }
}

/* ---- print ---------------------------------------------------------------------------------- */

typedef struct print_cfg {
    rill__fmt fmt;
    FILE *out; /* NULL: stdout */
} print_cfg;

typedef struct print_sink {
    rill__sink base;
    const print_cfg *cfg;
    FILE *out;
    rill__err *err;
    char *uid;
    rill__buf buf;
} print_sink;

void *rill__print_sink_cfg(const rill_file_opts *opts, FILE *out)
{
    print_cfg *c = rill__xcalloc(1, sizeof *c);
    c->fmt = rill__fmt_of(opts);
    c->out = out;
    return c;
}

static void free_cfg(void *cfg)
{
    free(cfg);
}

static int print_validate(const void *cfg, const rill_schema *schema, rill__err *err)
{
    (void)schema;
    return rill__fmt_check(&((const print_cfg *)cfg)->fmt, "print sink", err);
}

/* Writes buf to the stream in one locked fwrite, so that parallel subtasks do not interleave
 * within a batch. */
static int print_out(print_sink *s)
{
    if (s->buf.len == 0)
        return 0;
    flockfile(s->out);
    errno = 0;
    size_t w = fwrite(s->buf.data, 1, s->buf.len, s->out);
    int rc = (w == s->buf.len && fflush(s->out) == 0) ? 0 : (errno ? -errno : RILL_EIO);
    funlockfile(s->out);
    s->buf.len = 0;
    if (rc)
        return rill__err_set(s->err, rc, "print sink '%s': write failed: %s", s->uid,
                             rill_strerror(rc));
    return 0;
}

static int print_create(const void *cfg, const rill_schema *schema, const rill__conn_init *init,
                        rill__sink **out)
{
    *out = NULL;
    const print_cfg *c = cfg;
    int rc = rill__fmt_check(&c->fmt, "print sink", init->err);
    if (rc)
        return rc;
    print_sink *s = rill__xcalloc(1, sizeof *s);
    s->base.ops = &rill__print_sink_ops;
    s->cfg = c;
    s->out = c->out ? c->out : stdout;
    s->err = init->err;
    s->uid = rill__xstrdup(init->uid ? init->uid : "print");
    if (c->fmt.format == RILL_FMT_CSV && init->subtask == 0) {
        rill__encode_csv_header(schema, c->fmt.delim, &s->buf);
        rc = print_out(s);
        if (rc) {
            rill__buf_free(&s->buf);
            free(s->uid);
            free(s);
            return rc;
        }
    }
    *out = &s->base;
    return 0;
}

static int print_write(rill__sink *sink, rill_batch *b)
{
    print_sink *s = (print_sink *)sink;
    s->buf.len = 0;
    encode_batch(&s->cfg->fmt, b, &s->buf);
    return print_out(s);
}

static int print_finish(rill__sink *sink)
{
    print_sink *s = (print_sink *)sink;
    if (fflush(s->out) != 0)
        return rill__err_set(s->err, -errno, "print sink '%s': flush failed: %s", s->uid,
                             strerror(errno));
    return 0;
}

static void print_destroy(rill__sink *sink)
{
    print_sink *s = (print_sink *)sink;
    if (!s)
        return;
    rill__buf_free(&s->buf);
    free(s->uid);
    free(s);
}

const rill__sink_ops rill__print_sink_ops = {
    .kind = "print",
    .validate = print_validate,
    .create = print_create,
    .write = print_write,
    .finish = print_finish,
    .destroy = print_destroy,
    .cfg_free = free_cfg,
};

/* ---- file ----------------------------------------------------------------------------------- */

typedef struct fsink_cfg {
    char *path;
    rill__fmt fmt;
} fsink_cfg;

typedef struct file_sink {
    rill__sink base;
    const fsink_cfg *cfg;
    rill__err *err;
    char *file; /* the file this subtask writes */
    char *dir;  /* its directory, fsynced at finish */
    int fd;
    rill__buf buf;
} file_sink;

void *rill__file_sink_cfg(const char *path, const rill_file_opts *opts)
{
    fsink_cfg *c = rill__xcalloc(1, sizeof *c);
    c->path = rill__xstrdup(path ? path : "");
    c->fmt = rill__fmt_of(opts);
    return c;
}

static void fsink_cfg_free(void *cfg)
{
    fsink_cfg *c = cfg;
    if (!c)
        return;
    free(c->path);
    free(c);
}

static int fsink_validate(const void *cfg, const rill_schema *schema, rill__err *err)
{
    const fsink_cfg *c = cfg;
    (void)schema;
    if (!c->path[0])
        return rill__err_set(err, RILL_ECONFIG, "file sink: empty path");
    return rill__fmt_check(&c->fmt, "file sink", err);
}

/* Part files left by an earlier run at a higher parallelism would read as output of this one:
 * subtask 0 removes every "part-<k>" with k >= parallelism. */
static void remove_stale_parts(const char *dir, int par)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (strncmp(name, "part-", 5) != 0 || !name[5])
            continue;
        char *end;
        long k = strtol(name + 5, &end, 10);
        if (*end || name[5] < '0' || name[5] > '9' || k < par)
            continue;
        char *full = rill__xasprintf("%s/%s", dir, name);
        unlink(full);
        free(full);
    }
    closedir(d);
}

static int fsink_flush(file_sink *s)
{
    if (s->buf.len == 0)
        return 0;
    int rc = rill__write_all(s->fd, s->buf.data, s->buf.len);
    s->buf.len = 0;
    if (rc)
        return rill__err_set(s->err, rc, "file sink: write to '%s' failed: %s", s->file,
                             rill_strerror(rc));
    return 0;
}

static void fsink_destroy(rill__sink *sink)
{
    file_sink *s = (file_sink *)sink;
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    rill__buf_free(&s->buf);
    free(s->file);
    free(s->dir);
    free(s);
}

static int fsink_create(const void *cfg, const rill_schema *schema, const rill__conn_init *init,
                        rill__sink **out)
{
    *out = NULL;
    const fsink_cfg *c = cfg;
    int rc = fsink_validate(cfg, schema, init->err);
    if (rc)
        return rc;
    file_sink *s = rill__xcalloc(1, sizeof *s);
    s->base.ops = &rill__file_sink_ops;
    s->cfg = c;
    s->err = init->err;
    s->fd = -1;
    if (init->parallelism > 1) {
        s->dir = rill__xstrdup(c->path);
        s->file = rill__xasprintf("%s/part-%d", c->path, init->subtask);
    } else {
        char *tmp = rill__xstrdup(c->path);
        s->dir = rill__xstrdup(dirname(tmp));
        free(tmp);
        s->file = rill__xstrdup(c->path);
    }
    rc = rill__mkdirs(s->dir, 0755);
    if (rc) {
        rill__err_set(init->err, rc, "file sink: cannot create directory '%s': %s", s->dir,
                      rill_strerror(rc));
        goto fail;
    }
    if (init->parallelism > 1 && init->subtask == 0)
        remove_stale_parts(s->dir, init->parallelism);
    /* a restarted job appends to what it wrote before (this sink is at-least-once; the
     * exactly-once file sink discards what no completed checkpoint covers) */
    int trunc = init->restoring ? O_APPEND : O_TRUNC;
    s->fd = open(s->file, O_WRONLY | O_CREAT | trunc | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        rc = -errno;
        rill__err_set(init->err, rc, "file sink: cannot open '%s': %s", s->file,
                      strerror(errno));
        goto fail;
    }
    struct stat st;
    bool empty = fstat(s->fd, &st) != 0 || st.st_size == 0;
    if (c->fmt.format == RILL_FMT_CSV && empty)
        rill__encode_csv_header(schema, c->fmt.delim, &s->buf);
    *out = &s->base;
    return 0;
fail:
    fsink_destroy(&s->base);
    return rc;
}

static int fsink_write(rill__sink *sink, rill_batch *b)
{
    file_sink *s = (file_sink *)sink;
    const rill__fmt *f = &s->cfg->fmt;
    const rill_schema *schema = b->schema;
    for (uint32_t i = 0; i < b->n_rows; i++) {
        rill_row r = rill__batch_row(b, i);
        if (f->format == RILL_FMT_JSON)
            rill__encode_json_row(schema, &r, &s->buf);
        else
            rill__encode_csv_row(schema, &r, f->delim, &s->buf);
        if (s->buf.len >= FILE_SINK_BUF) {
            int rc = fsink_flush(s);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int fsink_finish(rill__sink *sink)
{
    file_sink *s = (file_sink *)sink;
    int rc = fsink_flush(s);
    if (rc)
        return rc;
    if (rill__fault(RILL_FAULT_FSYNC))
        rc = RILL_EIO;
    else if (fsync(s->fd) != 0)
        rc = -errno;
    if (rc)
        return rill__err_set(s->err, rc, "file sink: fsync of '%s' failed: %s", s->file,
                             rill_strerror(rc));
    rc = rill__fsync_dir(s->dir);
    if (rc)
        return rill__err_set(s->err, rc, "file sink: fsync of directory '%s' failed: %s",
                             s->dir, rill_strerror(rc));
    return 0;
}

const rill__sink_ops rill__file_sink_ops = {
    .kind = "file",
    .validate = fsink_validate,
    .create = fsink_create,
    .write = fsink_write,
    .finish = fsink_finish,
    .destroy = fsink_destroy,
    .cfg_free = fsink_cfg_free,
};

/* ---- blackhole ------------------------------------------------------------------------------ */

typedef struct blackhole_sink {
    rill__sink base;
    int64_t rows;
} blackhole_sink;

static int bh_validate(const void *cfg, const rill_schema *schema, rill__err *err)
{
    (void)cfg, (void)schema, (void)err;
    return 0;
}

static int bh_create(const void *cfg, const rill_schema *schema, const rill__conn_init *init,
                     rill__sink **out)
{
    (void)cfg, (void)schema, (void)init;
    blackhole_sink *s = rill__xcalloc(1, sizeof *s);
    s->base.ops = &rill__blackhole_sink_ops;
    *out = &s->base;
    return 0;
}

static int bh_write(rill__sink *sink, rill_batch *b)
{
    ((blackhole_sink *)sink)->rows += b->n_rows;
    return 0;
}

int64_t rill__blackhole_rows(rill__sink *sink)
{
    return ((blackhole_sink *)sink)->rows;
}

static int bh_finish(rill__sink *sink)
{
    (void)sink;
    return 0;
}

static void bh_destroy(rill__sink *sink)
{
    free(sink);
}

const rill__sink_ops rill__blackhole_sink_ops = {
    .kind = "blackhole",
    .validate = bh_validate,
    .create = bh_create,
    .write = bh_write,
    .finish = bh_finish,
    .destroy = bh_destroy,
    .cfg_free = free_cfg,
};
