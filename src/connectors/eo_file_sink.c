/*
 * eo_file_sink.c - connectors layer: the exactly-once file sink, a two-phase commit over part
 * files. Rows go to hidden ".part-<subtask>-<n>.inprogress" files; a checkpoint's barrier makes
 * them durable (pre-commit) and its completion renames them to "part-<subtask>-<n>" (commit).
 * The rename is the commit point: readers of the directory only ever see whole files.
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

/*
 * Life of one part file (n counts up per subtask and is never reused, even across attempts):
 *
 *   first row            -> ".part-<s>-<n>.inprogress" created, rows buffered and written
 *   pre_commit(id)       -> flushed, fsynced, closed, directory fsynced; pending under id
 *   commit(c), c >= id   -> renamed to "part-<s>-<n>", directory fsynced
 *   finish()             -> the open file and every pending one renamed (end of input)
 *   restore(state)       -> the files state lists are renamed (their checkpoint completed);
 *                           every other in-progress file of the old subtask is deleted
 *
 * With checkpointing on, the sources end only after the final checkpoint has completed, so the
 * files finish() renames were pre-committed by a completed checkpoint; only rows that operators
 * emit after the final barrier (processing-time windows firing at the end of input) are
 * committed outside one. Without checkpointing, finish() commits everything. If finish() fails
 * after renaming, the job's restart from its last checkpoint writes those rows again.
 *
 * Rescaling (restore at another parallelism, as Flink's FileSink does): every new subtask is
 * given the state of every old subtask, and new subtask i takes over old subtask j when
 * j mod P == i (P the new parallelism): it commits j's pending files and deletes j's other
 * in-progress files. It also deletes the in-progress files of any index k >= the old
 * parallelism with k mod P == i (left by an even older run). No live subtask writes those
 * indices (subtask k of P only writes index k, and k mod P == k), so a file being written is
 * never deleted. Names stay unique: each subtask index's numbers only grow; the numbers an
 * index that no live subtask writes has used are kept, as an "adopted" entry, in the state of
 * the subtask that took it over, and a later subtask of that index starts above them.
 *
 * The state that pre_commit appends (all integers little-endian):
 *
 *   u32 magic "EOFS" (0x53464f45)   u32 version (2; 1 has no adopted indices)
 *   u32 subtask                     u32 n, the number of pending files
 *   u64 next_seq                    (the first part number not yet used)
 *   n x { u64 checkpoint id, u64 seq }
 *   u32 m, the number of adopted indices
 *   m x { u64 subtask index, u64 next_seq of that index }
 *   u32 CRC32C of everything before it
 *
 * A pending file's names follow from (subtask, seq): ".part-<subtask>-<seq>.inprogress" now,
 * "part-<subtask>-<seq>" once committed.
 */

#define EO_BUF     ((size_t)64 << 10) /* bytes gathered before one write() */
#define EO_MAGIC   UINT32_C(0x53464f45)
#define EO_VERSION 2
#define EO_HEAD    24 /* bytes before the entries */
#define EO_ENTRY   16
#define EO_SUB_MAX UINT64_C(999999999999999999) /* subtask indices in names: 18 digits too */
#define EO_SEQ_MAX UINT64_C(999999999999999999) /* 18 digits: names parse without overflow */

typedef struct eo_cfg {
    char *dir;
    rill__fmt fmt;
} eo_cfg;

/* A pre-committed file of this subtask, waiting for its checkpoint to complete. */
typedef struct eo_pending {
    uint64_t ckpt, seq;
} eo_pending;

/* A subtask index no live subtask writes, taken over on a rescaled restore: the part numbers it
 * has used end below next_seq. */
typedef struct eo_adopted {
    uint64_t index, next_seq;
} eo_adopted;

typedef struct eo_sink {
    rill__sink base;
    const eo_cfg *cfg;
    rill_schema *schema; /* referenced: each new CSV file starts with its header */
    rill__err *err;
    char *uid;
    int subtask, parallelism;
    int fd;         /* the open in-progress file, or -1 */
    char *cur_path; /* its path */
    uint64_t cur_seq;
    uint64_t cur_rows;
    int broken;     /* an I/O error on the open file: it is incomplete and never committed */
    bool dir_dirty; /* a file was sealed but the directory is not yet fsynced */
    uint64_t next_seq;
    eo_pending *pending;
    size_t n_pending, cap_pending;
    eo_adopted *adopted; /* sorted by index */
    size_t n_adopted, cap_adopted;
    bool swept; /* restore: the indices no old subtask had are cleaned up */
    rill__buf buf;
} eo_sink;

/* ---- config --------------------------------------------------------------------------------- */

void *rill__exactly_once_file_sink_cfg(const char *dir, const rill_file_opts *opts)
{
    eo_cfg *c = rill__xcalloc(1, sizeof *c);
    c->dir = rill__xstrdup(dir ? dir : "");
    c->fmt = rill__fmt_of(opts);
    return c;
}

static void eo_cfg_free(void *cfg)
{
    eo_cfg *c = cfg;
    if (!c)
        return;
    free(c->dir);
    free(c);
}

static int eo_validate(const void *cfg, const rill_schema *schema, rill__err *err)
{
    const eo_cfg *c = cfg;
    (void)schema;
    if (!c->dir[0])
        return rill__err_set(err, RILL_ECONFIG, "exactly-once file sink: empty directory");
    return rill__fmt_check(&c->fmt, "exactly-once file sink", err);
}

/* Sets the sink's error, prefixed with the sink and its uid, and returns rc. */
RILL_PRINTF(3, 4) static int eo_fail(eo_sink *s, int rc, const char *fmt, ...)
{
    char what[RILL_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return rill__err_set(s->err, rc, "exactly-once file sink '%s': %s", s->uid, what);
}

/* ---- names ---------------------------------------------------------------------------------- */

static char *part_path(const eo_sink *s, uint64_t subtask, uint64_t seq, bool in_progress)
{
    if (in_progress)
        return rill__xasprintf("%s/.part-%llu-%llu.inprogress", s->cfg->dir,
                               (unsigned long long)subtask, (unsigned long long)seq);
    return rill__xasprintf("%s/part-%llu-%llu", s->cfg->dir, (unsigned long long)subtask,
                           (unsigned long long)seq);
}

/* Parses 1 to 18 decimal digits at *p, advancing it. */
static bool parse_digits(const char **p, uint64_t *out)
{
    const char *q = *p;
    uint64_t v = 0;
    int n = 0;
    while (*q >= '0' && *q <= '9') {
        if (++n > 18)
            return false;
        v = v * 10 + (uint64_t)(*q++ - '0');
    }
    if (n == 0)
        return false;
    *p = q;
    *out = v;
    return true;
}

/* A part file's name: 1 for "part-<subtask>-<seq>", 2 for ".part-<subtask>-<seq>.inprogress",
 * 0 for any other name. */
static int parse_part_name(const char *name, uint64_t *subtask, uint64_t *seq)
{
    bool hidden = name[0] == '.';
    const char *p = name + hidden;
    if (strncmp(p, "part-", 5) != 0)
        return 0;
    p += 5;
    if (!parse_digits(&p, subtask) || *p++ != '-' || !parse_digits(&p, seq))
        return 0;
    if (hidden)
        return strcmp(p, ".inprogress") == 0 ? 2 : 0;
    return *p == '\0' ? 1 : 0;
}

/* Index `index`, which no live subtask writes, has used the part numbers below next_seq. */
static void adopt(eo_sink *s, uint64_t index, uint64_t next_seq)
{
    size_t i = 0;
    while (i < s->n_adopted && s->adopted[i].index < index)
        i++;
    if (i < s->n_adopted && s->adopted[i].index == index) {
        if (next_seq > s->adopted[i].next_seq)
            s->adopted[i].next_seq = next_seq;
        return;
    }
    rill__grow((void **)&s->adopted, &s->cap_adopted, s->n_adopted + 1, sizeof *s->adopted);
    memmove(s->adopted + i + 1, s->adopted + i, (s->n_adopted - i) * sizeof *s->adopted);
    s->adopted[i] = (eo_adopted){index, next_seq};
    s->n_adopted++;
}

/* Which in-progress files a scan deletes: those of index `only` (-1: none), and those of every
 * index k >= from (-1: none) with k mod parallelism == subtask. */
typedef struct eo_doomed {
    int64_t only, from;
} eo_doomed;

static bool is_doomed(const eo_sink *s, const eo_doomed *dm, uint64_t sub)
{
    if (!dm)
        return false;
    if (dm->only >= 0 && sub == (uint64_t)dm->only)
        return true;
    return dm->from >= 0 && sub >= (uint64_t)dm->from &&
           sub % (uint64_t)s->parallelism == (uint64_t)s->subtask;
}

/*
 * Scans the directory: raises next_seq past the highest number of this subtask's files
 * (committed or in progress); with dm, deletes the in-progress files of the doomed indices, and
 * adopts each doomed index other than this subtask's, past the highest number it has used.
 */
static int scan_dir(eo_sink *s, const eo_doomed *dm)
{
    DIR *d = opendir(s->cfg->dir);
    if (!d) {
        int rc = -errno;
        return eo_fail(s, rc, "cannot read directory '%s': %s", s->cfg->dir, rill_strerror(rc));
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t sub, seq;
        int kind = parse_part_name(de->d_name, &sub, &seq);
        if (kind == 0)
            continue;
        bool doomed = is_doomed(s, dm, sub);
        if (sub == (uint64_t)s->subtask) {
            if (seq >= s->next_seq)
                s->next_seq = seq + 1;
        } else if (doomed) {
            adopt(s, sub, seq + 1);
        } else {
            continue;
        }
        if (kind == 2 && doomed) {
            char *full = rill__xasprintf("%s/%s", s->cfg->dir, de->d_name);
            if (unlink(full) != 0 && errno != ENOENT && rc == 0) {
                rc = -errno;
                eo_fail(s, rc, "cannot remove the leftover in-progress file '%s': %s", full,
                        rill_strerror(rc));
            }
            free(full);
        }
    }
    closedir(d);
    return rc;
}

/* ---- the open in-progress file -------------------------------------------------------------- */

static int fail_broken(eo_sink *s)
{
    return eo_fail(
        s, s->broken,
        "in-progress file '%s' is incomplete after an earlier error (%s); it is never committed",
        s->cur_path ? s->cur_path : s->cfg->dir, rill_strerror(s->broken));
}

/* Creates the next in-progress file; the CSV header goes into the (empty) buffer. */
static int open_next(eo_sink *s)
{
    RILL_ASSERT(s->fd < 0 && s->buf.len == 0);
    for (int tries = 0;; tries++) {
        if (s->next_seq > EO_SEQ_MAX)
            return eo_fail(s, RILL_ELIMIT, "part numbers of subtask %d in '%s' are exhausted",
                           s->subtask, s->cfg->dir);
        uint64_t seq = s->next_seq++;
        char *path = part_path(s, (uint64_t)s->subtask, seq, true);
        /* O_EXCL: a name that exists (a leftover the scan could not see) is never reused */
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
            int rc = -errno;
            if (rc == -EEXIST && tries < 1000) {
                free(path);
                continue;
            }
            eo_fail(s, rc, "cannot create '%s': %s", path, rill_strerror(rc));
            free(path);
            return rc;
        }
        s->fd = fd;
        s->cur_path = path;
        s->cur_seq = seq;
        s->cur_rows = 0;
        break;
    }
    if (s->cfg->fmt.format == RILL_FMT_CSV && !s->cfg->fmt.no_header)
        rill__encode_csv_header(s->schema, s->cfg->fmt.delim, &s->buf);
    return 0;
}

static int flush_buf(eo_sink *s)
{
    if (s->buf.len == 0)
        return 0;
    int rc = rill__write_all(s->fd, s->buf.data, s->buf.len);
    s->buf.len = 0;
    if (rc) {
        s->broken = rc;
        return eo_fail(s, rc, "write to '%s' failed: %s", s->cur_path, rill_strerror(rc));
    }
    return 0;
}

/* Drops the open file (which holds no rows). */
static void discard_current(eo_sink *s)
{
    close(s->fd);
    unlink(s->cur_path);
    s->fd = -1;
    free(s->cur_path);
    s->cur_path = NULL;
    s->buf.len = 0;
}

/*
 * Makes the open file durable and pending under checkpoint ckpt: flush, fsync, close. The
 * directory fsync that makes its name durable is left to the caller (dir_dirty). A file
 * without rows is deleted instead.
 */
static int seal(eo_sink *s, uint64_t ckpt)
{
    if (s->broken)
        return fail_broken(s);
    if (s->fd < 0)
        return 0;
    if (s->cur_rows == 0) {
        discard_current(s);
        return 0;
    }
    int rc = flush_buf(s);
    if (rc)
        return rc;
    if (rill__fault(RILL_FAULT_FSYNC))
        rc = -EIO;
    else if (fsync(s->fd) != 0)
        rc = -errno;
    if (rc) {
        /* after a failed fsync the page cache is not to be trusted: never retried */
        s->broken = rc;
        return eo_fail(s, rc, "fsync of '%s' failed: %s", s->cur_path, rill_strerror(rc));
    }
    if (close(s->fd) != 0) {
        rc = -errno;
        s->fd = -1;
        s->broken = rc;
        return eo_fail(s, rc, "close of '%s' failed: %s", s->cur_path, rill_strerror(rc));
    }
    s->fd = -1;
    rill__grow((void **)&s->pending, &s->cap_pending, s->n_pending + 1, sizeof *s->pending);
    s->pending[s->n_pending++] = (eo_pending){.ckpt = ckpt, .seq = s->cur_seq};
    free(s->cur_path);
    s->cur_path = NULL;
    s->dir_dirty = true;
    return 0;
}

static int sync_dir(eo_sink *s, const char *after)
{
    int rc = rill__fsync_dir(s->cfg->dir);
    if (rc)
        return eo_fail(s, rc, "fsync of directory '%s' %s failed: %s", s->cfg->dir, after,
                       rill_strerror(rc));
    s->dir_dirty = false;
    return 0;
}

/* ---- commit --------------------------------------------------------------------------------- */

/*
 * Renames one pre-committed file of subtask to its final name. Already renamed (the final name
 * exists, the in-progress one does not) counts as done; both missing is lost data and an error.
 */
static int commit_file(eo_sink *s, uint64_t subtask, uint64_t seq)
{
    char *from = part_path(s, subtask, seq, true);
    char *to = part_path(s, subtask, seq, false);
    int rc = 0;
    if (rename(from, to) != 0) {
        rc = -errno;
        struct stat st;
        if (rc == -ENOENT && stat(to, &st) == 0)
            rc = 0;
        else if (rc == -ENOENT)
            eo_fail(s, rc,
                    "pre-committed file '%s' is missing and was never committed as '%s': its rows "
                    "are lost",
                    from, to);
        else
            eo_fail(s, rc, "cannot rename '%s' to '%s': %s", from, to, rill_strerror(rc));
    }
    free(from);
    free(to);
    return rc;
}

/* Commits every pending file of a checkpoint <= id; they leave the list once the directory
 * fsync has made the renames durable, so a failed call can simply be repeated. */
static int commit_upto(eo_sink *s, uint64_t id)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_pending; i++) {
        if (s->pending[i].ckpt > id)
            continue;
        int rc = commit_file(s, (uint64_t)s->subtask, s->pending[i].seq);
        if (rc)
            return rc;
        n++;
    }
    if (n == 0 && !s->dir_dirty)
        return 0;
    int rc = sync_dir(s, "after renaming part files");
    if (rc)
        return rc;
    size_t k = 0;
    for (size_t i = 0; i < s->n_pending; i++)
        if (s->pending[i].ckpt > id)
            s->pending[k++] = s->pending[i];
    s->n_pending = k;
    return 0;
}

/* ---- state ---------------------------------------------------------------------------------- */

static void encode_state(const eo_sink *s, rill__buf *out)
{
    size_t start = out->len;
    rill__buf_put_u32(out, EO_MAGIC);
    rill__buf_put_u32(out, EO_VERSION);
    rill__buf_put_u32(out, (uint32_t)s->subtask);
    rill__buf_put_u32(out, (uint32_t)s->n_pending);
    rill__buf_put_u64(out, s->next_seq);
    for (size_t i = 0; i < s->n_pending; i++) {
        rill__buf_put_u64(out, s->pending[i].ckpt);
        rill__buf_put_u64(out, s->pending[i].seq);
    }
    rill__buf_put_u32(out, (uint32_t)s->n_adopted);
    for (size_t i = 0; i < s->n_adopted; i++) {
        rill__buf_put_u64(out, s->adopted[i].index);
        rill__buf_put_u64(out, s->adopted[i].next_seq);
    }
    rill__buf_put_u32(out, rill__crc32c(0, out->data + start, out->len - start));
}

/* ---- the sink ------------------------------------------------------------------------------- */

static void eo_destroy(rill__sink *sink)
{
    eo_sink *s = (eo_sink *)sink;
    if (!s)
        return;
    /* an open in-progress file stays behind: restore or the next attempt deals with it */
    if (s->fd >= 0)
        close(s->fd);
    free(s->cur_path);
    free(s->pending);
    free(s->adopted);
    rill__buf_free(&s->buf);
    rill_schema_free(s->schema);
    free(s->uid);
    free(s);
}

static int eo_create(const void *cfg, const rill_schema *schema, const rill__conn_init *init,
                     rill__sink **out)
{
    *out = NULL;
    const eo_cfg *c = cfg;
    int rc = eo_validate(cfg, schema, init->err);
    if (rc)
        return rc;
    eo_sink *s = rill__xcalloc(1, sizeof *s);
    s->base.ops = &rill__exactly_once_file_sink_ops;
    s->cfg = c;
    s->schema = rill__schema_ref(schema);
    s->err = init->err;
    s->uid = rill__xstrdup(init->uid ? init->uid : "eo-file");
    s->subtask = init->subtask;
    s->parallelism = init->parallelism > 0 ? init->parallelism : 1;
    s->fd = -1;
    rc = rill__mkdirs(c->dir, 0755);
    if (rc) {
        eo_fail(s, rc, "cannot create directory '%s': %s", c->dir, rill_strerror(rc));
        goto fail;
    }
    /* the directory's own entry must survive a crash before its first commit */
    char *tmp = rill__xstrdup(c->dir);
    char *parent = rill__xstrdup(dirname(tmp));
    free(tmp);
    rc = rill__fsync_dir(parent);
    if (rc)
        eo_fail(s, rc, "fsync of '%s' (the parent of '%s') failed: %s", parent, c->dir,
                rill_strerror(rc));
    free(parent);
    if (rc)
        goto fail;
    rc = scan_dir(s, NULL);
    if (rc)
        goto fail;
    *out = &s->base;
    return 0;
fail:
    eo_destroy(&s->base);
    return rc;
}

static int eo_write(rill__sink *sink, rill_batch *b)
{
    eo_sink *s = (eo_sink *)sink;
    if (s->broken)
        return fail_broken(s);
    const rill__fmt *f = &s->cfg->fmt;
    const rill_schema *schema = b->schema;
    for (uint32_t i = 0; i < b->n_rows; i++) {
        if (s->fd < 0) {
            int rc = open_next(s);
            if (rc)
                return rc;
        }
        rill_row r = rill__batch_row(b, i);
        if (f->format == RILL_FMT_JSON)
            rill__encode_json_row(schema, &r, &s->buf);
        else
            rill__encode_csv_row(schema, &r, f->delim, &s->buf);
        s->cur_rows++;
        if (s->buf.len >= EO_BUF) {
            int rc = flush_buf(s);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int eo_pre_commit(rill__sink *sink, uint64_t id, rill__buf *state)
{
    eo_sink *s = (eo_sink *)sink;
    int rc = seal(s, id);
    if (rc)
        return rc;
    if (s->dir_dirty) {
        rc = sync_dir(s, "after pre-committing part files");
        if (rc)
            return rc;
    }
    encode_state(s, state);
    return 0;
}

static int eo_commit(rill__sink *sink, uint64_t id)
{
    return commit_upto((eo_sink *)sink, id);
}

static int eo_finish(rill__sink *sink)
{
    eo_sink *s = (eo_sink *)sink;
    int rc = seal(s, UINT64_MAX);
    if (rc)
        return rc;
    /* the names of the sealed files are made durable before any of them becomes visible */
    if (s->dir_dirty) {
        rc = sync_dir(s, "after sealing part files");
        if (rc)
            return rc;
    }
    return commit_upto(s, UINT64_MAX);
}

/* One old subtask's state, checked (pointers into it). */
typedef struct eo_state {
    uint32_t subtask, n, m;
    uint64_t next_seq;
    const unsigned char *pending; /* n x {ckpt, seq} */
    const unsigned char *adopted; /* m x {index, next_seq} */
} eo_state;

static int parse_state(eo_sink *s, int old_subtask, int old_par, const void *state, size_t len,
                       eo_state *st)
{
    const unsigned char *p = state;
    const char *bad = NULL;
    uint32_t version = 0;
    memset(st, 0, sizeof *st);
    if (old_par < 1 || old_subtask < 0 || old_subtask >= old_par)
        bad = "no such subtask";
    else if (len < EO_HEAD + 4)
        bad = "too short";
    else if (rill__le_get32(p) != EO_MAGIC)
        bad = "bad magic";
    else if ((version = rill__le_get32(p + 4)) != 1 && version != 2)
        bad = "unknown version";
    else if ((st->n = rill__le_get32(p + 12)) > (len - EO_HEAD - 4) / EO_ENTRY)
        bad = "length does not match its entries";
    else if (rill__le_get32(p + len - 4) != rill__crc32c(0, p, len - 4))
        bad = "checksum mismatch";
    size_t at = EO_HEAD + (size_t)st->n * EO_ENTRY;
    if (!bad && version == 1 && len != at + 4)
        bad = "length does not match its entries";
    if (!bad && version == 2) {
        if (len < at + 8 || (st->m = rill__le_get32(p + at)) > (len - at - 8) / EO_ENTRY ||
            len != at + 4 + (size_t)st->m * EO_ENTRY + 4)
            bad = "length does not match its entries";
        else
            st->adopted = p + at + 4;
    }
    if (!bad) {
        st->subtask = rill__le_get32(p + 8);
        st->next_seq = rill__le_get64(p + 16);
        st->pending = p + EO_HEAD;
        if (st->subtask != (uint32_t)old_subtask)
            bad = "it belongs to another subtask";
        else if (st->next_seq > EO_SEQ_MAX + 1)
            bad = "part number out of range";
        for (uint32_t i = 0; !bad && i < st->n; i++)
            if (rill__le_get64(st->pending + (size_t)i * EO_ENTRY + 8) > EO_SEQ_MAX)
                bad = "part number out of range";
        for (uint32_t i = 0; !bad && i < st->m; i++)
            if (rill__le_get64(st->adopted + (size_t)i * EO_ENTRY) > EO_SUB_MAX ||
                rill__le_get64(st->adopted + (size_t)i * EO_ENTRY + 8) > EO_SEQ_MAX + 1)
                bad = "adopted index out of range";
    }
    if (bad)
        return eo_fail(s, RILL_ECORRUPT,
                       "checkpoint state of old subtask %d/%d for '%s' is corrupt (%s, %zu "
                       "bytes)", old_subtask + 1, old_par, s->cfg->dir, bad, len);
    return 0;
}

static int eo_restore(rill__sink *sink, int old_subtask, int old_par, const void *state,
                      size_t len)
{
    eo_sink *s = (eo_sink *)sink;
    if (s->fd >= 0 || s->n_pending > 0)
        return eo_fail(s, RILL_EINVAL, "restore after rows were written");
    eo_state st;
    int rc = parse_state(s, old_subtask, old_par, state, len, &st);
    if (rc)
        return rc;
    uint64_t me = (uint64_t)s->subtask, par = (uint64_t)s->parallelism;
    /* the numbers this subtask's index has used: in its own old state, or in the adopted
     * entries of whichever old subtask had taken the index over */
    if (st.subtask == me && st.next_seq > s->next_seq)
        s->next_seq = st.next_seq;
    for (uint32_t i = 0; i < st.m; i++) {
        const unsigned char *e = st.adopted + (size_t)i * EO_ENTRY;
        if (rill__le_get64(e) == me && rill__le_get64(e + 8) > s->next_seq)
            s->next_seq = rill__le_get64(e + 8);
    }
    if (!s->swept) {
        /* indices above every old subtask's, owned here: left by an even older run (a crashed
         * attempt at a higher parallelism); no checkpoint of this one lists their files */
        s->swept = true;
        eo_doomed dm = {.only = -1, .from = old_par};
        if ((rc = scan_dir(s, &dm)) != 0)
            return rc;
    }
    if ((uint64_t)old_subtask % par != me)
        return 0; /* another new subtask takes this one over */
    /* every file the state lists was pre-committed for a completed checkpoint */
    for (uint32_t i = 0; i < st.n; i++) {
        rc = commit_file(s, st.subtask, rill__le_get64(st.pending + (size_t)i * EO_ENTRY + 8));
        if (rc)
            return rc;
    }
    if (st.n > 0 && (rc = sync_dir(s, "after committing restored part files")) != 0)
        return rc;
    if (st.subtask != me) /* an index no live subtask writes: its numbers are kept */
        adopt(s, st.subtask, st.next_seq);
    for (uint32_t i = 0; i < st.m; i++) {
        const unsigned char *e = st.adopted + (size_t)i * EO_ENTRY;
        if (rill__le_get64(e) >= par) /* still not written by a live subtask: kept here */
            adopt(s, rill__le_get64(e), rill__le_get64(e + 8));
    }
    /* what the old subtask left in progress belongs to no completed checkpoint */
    eo_doomed dm = {.only = old_subtask, .from = -1};
    return scan_dir(s, &dm);
}

const rill__sink_ops rill__exactly_once_file_sink_ops = {
    .kind = "exactly-once-file",
    .validate = eo_validate,
    .create = eo_create,
    .write = eo_write,
    .finish = eo_finish,
    .pre_commit = eo_pre_commit,
    .commit = eo_commit,
    .restore = eo_restore,
    .destroy = eo_destroy,
    .cfg_free = eo_cfg_free,
};
