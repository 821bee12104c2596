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

#include "fs_int.h"

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
 * Partitions (the SQL filesystem sink's PARTITIONED BY): each row goes to the directory
 * "k1=v1/k2=v2" below dir that its key fields' values name (escaped as Flink escapes them; the
 * key fields are left out of the file's rows), a "bucket" with its own in-progress file. Part
 * numbers stay per subtask, across all buckets. A file also rolls (is sealed, pending the next
 * barrier) by the rolling policy: its size, its age, or its time without writes (checked on
 * writes, at most every check interval). With the success-file policy, a partition whose rows a
 * completed checkpoint holds is committed, "_SUCCESS" written in its directory, once the commit
 * rule (fs_int.h) holds for the watermark the sink had at that checkpoint's barrier (the
 * partition-time trigger) or for the wall clock (process-time); at the end of input every
 * partition is committed. Rows that arrive for a committed partition make it pending again.
 *
 * The state that pre_commit appends (all integers little-endian), version 3:
 *
 *   u32 magic "EOFS" (0x53464f45)   u32 version (3)
 *   u32 subtask                     u32 n, the number of pending files
 *   u64 next_seq                    (the first part number not yet used)
 *   n x { u64 checkpoint id, u64 seq, u32 length, bytes: the file's partition ("" for dir) }
 *   u32 m, the number of adopted indices
 *   m x { u64 subtask index, u64 next_seq of that index }
 *   i64 the watermark at this barrier
 *   u32 k, partitions waiting for their commit
 *   k x { i64 first written (wall ms), u32 length, bytes: the partition }
 *   u32 CRC32C of everything before it
 *
 * Versions 1 and 2 (written before partitions) still restore: their entries are fixed
 * { u64 checkpoint id, u64 seq } of files in dir itself, version 1 without adopted indices,
 * neither with the watermark or partitions.
 *
 * A pending file's names follow from (partition, subtask, seq):
 * "<partition>/.part-<subtask>-<seq>.inprogress" now, "<partition>/part-<subtask>-<seq>" once
 * committed.
 */

#define EO_BUF     ((size_t)64 << 10) /* bytes gathered before one write() */
#define EO_MAGIC   UINT32_C(0x53464f45)
#define EO_VERSION 3
#define EO_HEAD    24 /* bytes before the entries (versions 1 and 2) */
#define EO_ENTRY   16
#define EO_REL_MAX ((size_t)64 << 10) /* a partition path in the state */
#define EO_SUB_MAX UINT64_C(999999999999999999) /* subtask indices in names: 18 digits too */
#define EO_SEQ_MAX UINT64_C(999999999999999999) /* 18 digits: names parse without overflow */
#define EO_NEXT    (UINT64_MAX - 1) /* a rolled file, pending under the next barrier */
#define EO_DEPTH   32 /* partition directories deeper than this are not scanned */

typedef struct eo_cfg {
    char *dir;
    rill__fmt fmt;
    rill__fs_opts fs; /* zero for rill_sink_file_exactly_once: no partitions, rolls at barriers */
} eo_cfg;

/* A sealed file of this subtask, waiting for its checkpoint to complete. */
typedef struct eo_pending {
    uint64_t ckpt, seq;
    char *rel; /* its partition, "" for dir itself */
} eo_pending;

/* A subtask index no live subtask writes, taken over on a rescaled restore: the part numbers it
 * has used end below next_seq. */
typedef struct eo_adopted {
    uint64_t index, next_seq;
} eo_adopted;

/* One partition's directory: its open file, and its commit. */
typedef struct eo_bucket {
    char *rel;
    int fd;         /* the open in-progress file, or -1 */
    char *cur_path; /* its path */
    uint64_t cur_seq, cur_rows, cur_bytes;
    int64_t opened_ms, last_ms;
    rill__buf buf;
    bool dir_made;   /* its directories exist and are durable */
    bool dir_dirty;  /* a file was sealed but the directory is not yet fsynced */
    bool dirty;      /* rows since the last barrier */
    uint64_t data_ckpt; /* the newest checkpoint holding rows not yet committed; 0: none */
    int64_t created_ms; /* when it became pending for a commit */
} eo_bucket;

typedef struct eo_ckpt_wm {
    uint64_t id;
    int64_t wm;
} eo_ckpt_wm;

typedef struct eo_sink {
    rill__sink base;
    const eo_cfg *cfg;
    rill_schema *schema;      /* referenced */
    rill_schema *file_schema; /* the schema without the partition keys (or schema, referenced) */
    int *key_field;           /* partition key -> field of schema */
    rill_schema **key_schema; /* partition key -> a one-field schema to write a non-string */
    int *file_field;          /* file_schema's field -> field of schema */
    uint64_t *row_v, *row_nulls; /* a projected row */
    rill__err *err;
    char *uid;
    int subtask, parallelism;
    int broken; /* an I/O error on an open file: it is incomplete and never committed */
    char *broken_path;
    uint64_t next_seq;
    eo_bucket **bk;
    size_t n_bk, cap_bk;
    int32_t *idx; /* open addressing over bk by rel; -1 empty */
    size_t cap_idx;
    eo_bucket *last; /* the previous row's bucket */
    rill__buf rel;   /* scratch: a row's partition */
    rill__buf val;
    int64_t wm, restored_wm;
    eo_ckpt_wm *cwm;
    size_t n_cwm, cap_cwm;
    int64_t last_check_ms;
    eo_pending *pending;
    size_t n_pending, cap_pending;
    eo_adopted *adopted; /* sorted by index */
    size_t n_adopted, cap_adopted;
    bool swept; /* restore: the indices no old subtask had are cleaned up */
} eo_sink;

/* ---- config --------------------------------------------------------------------------------- */

void *rill__exactly_once_file_sink_cfg(const char *dir, const rill_file_opts *opts)
{
    eo_cfg *c = rill__xcalloc(1, sizeof *c);
    c->dir = rill__xstrdup(dir ? dir : "");
    c->fmt = rill__fmt_of(opts);
    return c;
}

void *rill__fs_sink_cfg(const char *const *options, const char *const *keys, int n_keys,
                        rill__err *err)
{
    eo_cfg *c = rill__xcalloc(1, sizeof *c);
    if (rill__fs_parse_options(options, keys, n_keys, &c->dir, &c->fmt, &c->fs, err) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

/* dir's length without trailing slashes ("out/" is "out") */
static size_t dir_len(const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    return n;
}

bool rill__eo_sink_same_files(const void *a, const void *b)
{
    const eo_cfg *x = a, *y = b;
    const char *px = x->fs.part_prefix ? x->fs.part_prefix : "part";
    const char *py = y->fs.part_prefix ? y->fs.part_prefix : "part";
    size_t nx = dir_len(x->dir), ny = dir_len(y->dir);
    return nx == ny && !strncmp(x->dir, y->dir, nx) && !strcmp(px, py);
}

bool rill__fs_sink_cfg_shuffle(const void *cfg)
{
    return ((const eo_cfg *)cfg)->fs.shuffle;
}

static void eo_cfg_free(void *cfg)
{
    eo_cfg *c = cfg;
    if (!c)
        return;
    free(c->dir);
    rill__fs_opts_free(&c->fs);
    free(c);
}

static bool key_type_ok(rill_type t)
{
    return t == RILL_T_STRING || t == RILL_T_BOOL || t == RILL_T_INT8 || t == RILL_T_INT16 ||
           t == RILL_T_INT32 || t == RILL_T_INT64 || t == RILL_T_DATE;
}

static int eo_validate(const void *cfg, const rill_schema *schema, rill__err *err)
{
    const eo_cfg *c = cfg;
    if (!c->dir[0])
        return rill__err_set(err, RILL_ECONFIG, "exactly-once file sink: empty directory");
    for (int i = 0; i < c->fs.n_keys; i++) {
        int f = rill_schema_index(schema, c->fs.keys[i]);
        if (f < 0)
            return rill__err_set(err, RILL_ECONFIG,
                                 "filesystem sink: partition key '%s' is not a column",
                                 c->fs.keys[i]);
        if (!key_type_ok(rill_schema_field_type(schema, f)))
            return rill__err_set(err, RILL_ECONFIG,
                                 "filesystem sink: partition key '%s' has a type rill cannot "
                                 "partition by (STRING, BOOLEAN, the integers, DATE)",
                                 c->fs.keys[i]);
        for (int j = 0; j < i; j++)
            if (!strcmp(c->fs.keys[j], c->fs.keys[i]))
                return rill__err_set(err, RILL_ECONFIG,
                                     "filesystem sink: partition key '%s' is given twice",
                                     c->fs.keys[i]);
    }
    if (c->fs.n_keys > 0 && c->fs.n_keys >= rill_schema_n_fields(schema))
        return rill__err_set(err, RILL_ECONFIG,
                             "filesystem sink: every column is a partition key: the files would "
                             "have no columns");
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

/* dir, or dir/rel */
static char *rel_dir(const eo_sink *s, const char *rel)
{
    if (!rel[0])
        return rill__xstrdup(s->cfg->dir);
    return rill__xasprintf("%s/%s", s->cfg->dir, rel);
}

/* The part files' name prefix: "part", or the sink's own (sink.part-prefix). */
static const char *prefix_of(const eo_sink *s)
{
    return s->cfg->fs.part_prefix ? s->cfg->fs.part_prefix : "part";
}

static char *part_path(const eo_sink *s, const char *rel, uint64_t subtask, uint64_t seq,
                       bool in_progress)
{
    const char *sep = rel[0] ? "/" : "";
    if (in_progress)
        return rill__xasprintf("%s/%s%s.%s-%llu-%llu.inprogress", s->cfg->dir, rel, sep,
                               prefix_of(s), (unsigned long long)subtask,
                               (unsigned long long)seq);
    return rill__xasprintf("%s/%s%s%s-%llu-%llu", s->cfg->dir, rel, sep, prefix_of(s),
                           (unsigned long long)subtask, (unsigned long long)seq);
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

/* A part file's name: 1 for "<prefix>-<subtask>-<seq>", 2 for
 * ".<prefix>-<subtask>-<seq>.inprogress", 0 for any other name (another sink's, with another
 * prefix, included). */
static int parse_part_name(const eo_sink *s, const char *name, uint64_t *subtask,
                           uint64_t *seq)
{
    bool hidden = name[0] == '.';
    const char *p = name + hidden;
    size_t n = strlen(prefix_of(s));
    if (strncmp(p, prefix_of(s), n) != 0 || p[n] != '-')
        return 0;
    p += n + 1;
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
 * Scans directory dir/rel and, below it, every directory whose name starts with neither '.'
 * nor '_' (the partitions): raises next_seq past the highest number of this subtask's files
 * (committed or in progress); with dm, deletes the in-progress files of the doomed indices, and
 * adopts each doomed index other than this subtask's, past the highest number it has used.
 */
static int scan_tree(eo_sink *s, const eo_doomed *dm, const char *rel, int depth)
{
    char *path = rel_dir(s, rel);
    DIR *d = opendir(path);
    if (!d) {
        int rc = -errno;
        eo_fail(s, rc, "cannot read directory '%s': %s", path, rill_strerror(rc));
        free(path);
        return rc;
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t sub, seq;
        int kind = parse_part_name(s, de->d_name, &sub, &seq);
        if (kind == 0) {
            if (de->d_name[0] == '.' || de->d_name[0] == '_' || depth >= EO_DEPTH)
                continue;
            bool is_dir = de->d_type == DT_DIR;
            if (de->d_type == DT_UNKNOWN) {
                struct stat st;
                is_dir = fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                         S_ISDIR(st.st_mode);
            }
            if (!is_dir)
                continue;
            char *sub_rel = rel[0] ? rill__xasprintf("%s/%s", rel, de->d_name)
                                   : rill__xstrdup(de->d_name);
            int r2 = scan_tree(s, dm, sub_rel, depth + 1);
            free(sub_rel);
            if (r2 && rc == 0)
                rc = r2;
            continue;
        }
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
            char *full = rill__xasprintf("%s/%s", path, de->d_name);
            if (unlink(full) != 0 && errno != ENOENT && rc == 0) {
                rc = -errno;
                eo_fail(s, rc, "cannot remove the leftover in-progress file '%s': %s", full,
                        rill_strerror(rc));
            }
            free(full);
        }
    }
    closedir(d);
    free(path);
    return rc;
}

static int scan_dir(eo_sink *s, const eo_doomed *dm)
{
    return scan_tree(s, dm, "", 0);
}

/* ---- buckets -------------------------------------------------------------------------------- */

static uint64_t rel_hash(const char *rel, size_t n)
{
    return rill__hash_bytes(rel, n, 0x5eed);
}

static void index_rebuild(eo_sink *s)
{
    size_t cap = 16;
    while (cap < s->n_bk * 2 + 2)
        cap *= 2;
    if (cap != s->cap_idx) {
        free(s->idx);
        s->idx = rill__xmalloc(cap * sizeof *s->idx);
        s->cap_idx = cap;
    }
    for (size_t i = 0; i < cap; i++)
        s->idx[i] = -1;
    for (size_t i = 0; i < s->n_bk; i++) {
        size_t h = (size_t)rel_hash(s->bk[i]->rel, strlen(s->bk[i]->rel)) & (cap - 1);
        while (s->idx[h] >= 0)
            h = (h + 1) & (cap - 1);
        s->idx[h] = (int32_t)i;
    }
}

static eo_bucket *bucket_find(eo_sink *s, const char *rel, size_t n)
{
    if (s->cap_idx == 0)
        return NULL;
    size_t h = (size_t)rel_hash(rel, n) & (s->cap_idx - 1);
    while (s->idx[h] >= 0) {
        eo_bucket *b = s->bk[s->idx[h]];
        if (strlen(b->rel) == n && !memcmp(b->rel, rel, n))
            return b;
        h = (h + 1) & (s->cap_idx - 1);
    }
    return NULL;
}

static eo_bucket *bucket_get(eo_sink *s, const char *rel, size_t n)
{
    eo_bucket *b = bucket_find(s, rel, n);
    if (b)
        return b;
    b = rill__xcalloc(1, sizeof *b);
    b->rel = rill__xasprintf("%.*s", (int)n, rel);
    b->fd = -1;
    rill__grow((void **)&s->bk, &s->cap_bk, s->n_bk + 1, sizeof *s->bk);
    s->bk[s->n_bk++] = b;
    if (s->n_bk * 2 + 2 > s->cap_idx)
        index_rebuild(s);
    else {
        size_t h = (size_t)rel_hash(rel, n) & (s->cap_idx - 1);
        while (s->idx[h] >= 0)
            h = (h + 1) & (s->cap_idx - 1);
        s->idx[h] = (int32_t)(s->n_bk - 1);
    }
    return b;
}

static void bucket_free(eo_bucket *b)
{
    if (!b)
        return;
    /* an open in-progress file stays behind: restore or the next attempt deals with it */
    if (b->fd >= 0)
        close(b->fd);
    free(b->cur_path);
    free(b->rel);
    rill__buf_free(&b->buf);
    free(b);
}

/* Drops the buckets that hold nothing: no open file, no rows waiting for a barrier or a
 * commit. */
static void buckets_prune(eo_sink *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n_bk; i++) {
        eo_bucket *b = s->bk[i];
        if (b->fd < 0 && !b->dirty && b->data_ckpt == 0 && !b->dir_dirty) {
            bucket_free(b);
            continue;
        }
        s->bk[k++] = b;
    }
    if (k != s->n_bk) {
        s->n_bk = k;
        s->last = NULL;
        index_rebuild(s);
    }
}

/* Makes dir/rel and its parents up to dir exist, durably. */
static int make_dirs(eo_sink *s, eo_bucket *b)
{
    char *path = rel_dir(s, b->rel);
    int rc = rill__mkdirs(path, 0755);
    if (rc) {
        eo_fail(s, rc, "cannot create directory '%s': %s", path, rill_strerror(rc));
        free(path);
        return rc;
    }
    /* each new entry must survive a crash: fsync every parent from the partition's up */
    size_t root = strlen(s->cfg->dir);
    for (size_t n = strlen(path); n > root && rc == 0;) {
        while (n > root && path[n - 1] != '/')
            n--;
        if (n <= root)
            break;
        path[--n] = '\0';
        rc = rill__fsync_dir(path);
        if (rc)
            eo_fail(s, rc, "fsync of directory '%s' failed: %s", path, rill_strerror(rc));
    }
    free(path);
    if (rc == 0)
        b->dir_made = true;
    return rc;
}

/* ---- the open in-progress files ------------------------------------------------------------- */

static int fail_broken(eo_sink *s)
{
    return eo_fail(
        s, s->broken,
        "in-progress file '%s' is incomplete after an earlier error (%s); it is never committed",
        s->broken_path ? s->broken_path : s->cfg->dir, rill_strerror(s->broken));
}

static void set_broken(eo_sink *s, eo_bucket *b, int rc)
{
    s->broken = rc;
    free(s->broken_path);
    s->broken_path = rill__xstrdup(b->cur_path ? b->cur_path : s->cfg->dir);
}

/* Creates the bucket's next in-progress file; the CSV header goes into the (empty) buffer. */
static int open_next(eo_sink *s, eo_bucket *b)
{
    RILL_ASSERT(b->fd < 0 && b->buf.len == 0);
    if (!b->dir_made) {
        int rc = make_dirs(s, b);
        if (rc)
            return rc;
    }
    for (int tries = 0;; tries++) {
        if (s->next_seq > EO_SEQ_MAX)
            return eo_fail(s, RILL_ELIMIT, "part numbers of subtask %d in '%s' are exhausted",
                           s->subtask, s->cfg->dir);
        uint64_t seq = s->next_seq++;
        char *path = part_path(s, b->rel, (uint64_t)s->subtask, seq, true);
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
        b->fd = fd;
        b->cur_path = path;
        b->cur_seq = seq;
        b->cur_rows = 0;
        b->cur_bytes = 0;
        b->opened_ms = rill__now_ms();
        break;
    }
    if (s->cfg->fmt.format == RILL_FMT_CSV && !s->cfg->fmt.no_header)
        rill__encode_csv_header(s->file_schema, s->cfg->fmt.delim, &b->buf);
    return 0;
}

static int flush_buf(eo_sink *s, eo_bucket *b)
{
    if (b->buf.len == 0)
        return 0;
    int rc = rill__write_all(b->fd, b->buf.data, b->buf.len);
    b->cur_bytes += b->buf.len;
    b->buf.len = 0;
    if (rc) {
        set_broken(s, b, rc);
        return eo_fail(s, rc, "write to '%s' failed: %s", b->cur_path, rill_strerror(rc));
    }
    return 0;
}

/* Drops the open file (which holds no rows). */
static void discard_current(eo_bucket *b)
{
    close(b->fd);
    unlink(b->cur_path);
    b->fd = -1;
    free(b->cur_path);
    b->cur_path = NULL;
    b->buf.len = 0;
}

/*
 * Makes the bucket's open file durable and pending under checkpoint ckpt: flush, fsync, close.
 * The directory fsync that makes its name durable is left to the caller (dir_dirty). A file
 * without rows is deleted instead.
 */
static int seal(eo_sink *s, eo_bucket *b, uint64_t ckpt)
{
    if (s->broken)
        return fail_broken(s);
    if (b->fd < 0)
        return 0;
    if (b->cur_rows == 0) {
        discard_current(b);
        return 0;
    }
    int rc = flush_buf(s, b);
    if (rc)
        return rc;
    if (rill__fault(RILL_FAULT_FSYNC))
        rc = -EIO;
    else if (fsync(b->fd) != 0)
        rc = -errno;
    if (rc) {
        /* after a failed fsync the page cache is not to be trusted: never retried */
        set_broken(s, b, rc);
        return eo_fail(s, rc, "fsync of '%s' failed: %s", b->cur_path, rill_strerror(rc));
    }
    if (close(b->fd) != 0) {
        rc = -errno;
        b->fd = -1;
        set_broken(s, b, rc);
        return eo_fail(s, rc, "close of '%s' failed: %s", b->cur_path, rill_strerror(rc));
    }
    b->fd = -1;
    rill__grow((void **)&s->pending, &s->cap_pending, s->n_pending + 1, sizeof *s->pending);
    s->pending[s->n_pending++] =
        (eo_pending){.ckpt = ckpt, .seq = b->cur_seq, .rel = rill__xstrdup(b->rel)};
    free(b->cur_path);
    b->cur_path = NULL;
    b->dir_dirty = true;
    return 0;
}

static int sync_rel(eo_sink *s, const char *rel, const char *after)
{
    char *path = rel_dir(s, rel);
    int rc = rill__fsync_dir(path);
    if (rc)
        eo_fail(s, rc, "fsync of directory '%s' %s failed: %s", path, after, rill_strerror(rc));
    free(path);
    return rc;
}

/* fsyncs the directories of the buckets that sealed files since. */
static int sync_dirty(eo_sink *s, const char *after)
{
    for (size_t i = 0; i < s->n_bk; i++) {
        eo_bucket *b = s->bk[i];
        if (!b->dir_dirty)
            continue;
        int rc = sync_rel(s, b->rel, after);
        if (rc)
            return rc;
        b->dir_dirty = false;
    }
    return 0;
}

/* The rolling policy's time rules, at most every check interval. */
static int roll_by_time(eo_sink *s)
{
    const rill__fs_opts *o = &s->cfg->fs;
    if (!o->roll_interval_ms && !o->roll_inactive_ms)
        return 0;
    int64_t now = rill__now_ms();
    if (now - s->last_check_ms < o->check_interval_ms)
        return 0;
    s->last_check_ms = now;
    for (size_t i = 0; i < s->n_bk; i++) {
        eo_bucket *b = s->bk[i];
        if (b->fd < 0)
            continue;
        if ((o->roll_interval_ms && now - b->opened_ms >= o->roll_interval_ms) ||
            (o->roll_inactive_ms && now - b->last_ms >= o->roll_inactive_ms)) {
            int rc = seal(s, b, EO_NEXT);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* ---- commit --------------------------------------------------------------------------------- */

/*
 * Renames one pre-committed file of subtask to its final name. Already renamed (the final name
 * exists, the in-progress one does not) counts as done; both missing is lost data and an error.
 */
static int commit_file(eo_sink *s, const char *rel, uint64_t subtask, uint64_t seq)
{
    char *from = part_path(s, rel, subtask, seq, true);
    char *to = part_path(s, rel, subtask, seq, false);
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
    const char *synced = NULL;
    for (size_t i = 0; i < s->n_pending; i++) {
        if (s->pending[i].ckpt > id)
            continue;
        int rc = commit_file(s, s->pending[i].rel, (uint64_t)s->subtask, s->pending[i].seq);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < s->n_pending; i++) {
        if (s->pending[i].ckpt > id || (synced && !strcmp(synced, s->pending[i].rel)))
            continue;
        int rc = sync_rel(s, s->pending[i].rel, "after renaming part files");
        if (rc)
            return rc;
        synced = s->pending[i].rel;
    }
    int rc = sync_dirty(s, "after sealing part files");
    if (rc)
        return rc;
    size_t k = 0;
    for (size_t i = 0; i < s->n_pending; i++) {
        if (s->pending[i].ckpt > id)
            s->pending[k++] = s->pending[i];
        else
            free(s->pending[i].rel);
    }
    s->n_pending = k;
    return 0;
}

/* Writes the success file into partition rel. */
static int write_success(eo_sink *s, const char *rel)
{
    char *dir = rel_dir(s, rel);
    char *path = rill__xasprintf("%s/%s", dir, s->cfg->fs.success_name);
    int rc = 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        rc = -errno;
    else if (fsync(fd) != 0)
        rc = -errno;
    if (fd >= 0)
        close(fd);
    if (rc == 0)
        rc = rill__fsync_dir(dir);
    if (rc)
        eo_fail(s, rc, "cannot write the success file '%s' of partition '%s': %s", path, rel,
                rill_strerror(rc));
    free(path);
    free(dir);
    return rc;
}

/* Commits the partitions whose rows checkpoint id (<= id) holds and that the commit rule lets
 * go, with watermark wm. */
static int commit_partitions(eo_sink *s, uint64_t id, int64_t wm)
{
    if (!s->cfg->fs.success_file)
        return 0;
    int64_t now = rill__now_ms();
    for (size_t i = 0; i < s->n_bk; i++) {
        eo_bucket *b = s->bk[i];
        if (b->data_ckpt == 0 || b->data_ckpt > id)
            continue;
        rill__err e = {0};
        int ok = rill__fs_committable(&s->cfg->fs, b->rel, b->created_ms, wm, now, &e);
        if (ok < 0)
            return eo_fail(s, ok, "%s", e.msg);
        if (!ok)
            continue;
        int rc = write_success(s, b->rel);
        if (rc)
            return rc;
        b->data_ckpt = 0;
    }
    return 0;
}

/* The watermark of checkpoint id's barrier (the newest recorded at or before it); the entries up
 * to id are dropped. */
static int64_t take_ckpt_wm(eo_sink *s, uint64_t id)
{
    int64_t wm = s->restored_wm;
    size_t k = 0;
    for (size_t i = 0; i < s->n_cwm; i++) {
        if (s->cwm[i].id <= id)
            wm = s->cwm[i].wm;
        else
            s->cwm[k++] = s->cwm[i];
    }
    s->n_cwm = k;
    return wm;
}

/* ---- state ---------------------------------------------------------------------------------- */

static void encode_state(const eo_sink *s, int64_t wm, rill__buf *out)
{
    size_t start = out->len;
    rill__enc e;
    rill__enc_init(&e, out);
    rill__enc_u32(&e, EO_MAGIC);
    rill__enc_u32(&e, EO_VERSION);
    rill__enc_u32(&e, (uint32_t)s->subtask);
    rill__enc_u32(&e, (uint32_t)s->n_pending);
    rill__enc_u64(&e, s->next_seq);
    for (size_t i = 0; i < s->n_pending; i++) {
        rill__enc_u64(&e, s->pending[i].ckpt);
        rill__enc_u64(&e, s->pending[i].seq);
        rill__enc_str(&e, "partition", s->pending[i].rel, EO_REL_MAX);
    }
    rill__enc_u32(&e, (uint32_t)s->n_adopted);
    for (size_t i = 0; i < s->n_adopted; i++) {
        rill__enc_u64(&e, s->adopted[i].index);
        rill__enc_u64(&e, s->adopted[i].next_seq);
    }
    rill__enc_i64(&e, wm);
    uint32_t k = 0;
    for (size_t i = 0; i < s->n_bk; i++)
        k += s->bk[i]->data_ckpt != 0;
    rill__enc_u32(&e, k);
    for (size_t i = 0; i < s->n_bk; i++)
        if (s->bk[i]->data_ckpt != 0) {
            rill__enc_i64(&e, s->bk[i]->created_ms);
            rill__enc_str(&e, "partition", s->bk[i]->rel, EO_REL_MAX);
        }
    RILL_ASSERT(e.rc == 0); /* partitions longer than EO_REL_MAX are refused on write */
    rill__buf_put_u32(out, rill__crc32c(0, out->data + start, out->len - start));
}

/* ---- the sink ------------------------------------------------------------------------------- */

static void eo_destroy(rill__sink *sink)
{
    eo_sink *s = (eo_sink *)sink;
    if (!s)
        return;
    for (size_t i = 0; i < s->n_bk; i++)
        bucket_free(s->bk[i]);
    free(s->bk);
    free(s->idx);
    for (size_t i = 0; i < s->n_pending; i++)
        free(s->pending[i].rel);
    free(s->pending);
    free(s->adopted);
    free(s->cwm);
    free(s->broken_path);
    rill__buf_free(&s->rel);
    rill__buf_free(&s->val);
    for (int k = 0; s->key_schema && k < s->cfg->fs.n_keys; k++)
        rill_schema_free(s->key_schema[k]);
    free(s->key_schema);
    free(s->key_field);
    free(s->file_field);
    free(s->row_v);
    free(s->row_nulls);
    rill_schema_free(s->file_schema);
    rill_schema_free(s->schema);
    free(s->uid);
    free(s);
}

/* The schema the files get: the fields that are no partition key. */
static void make_file_schema(eo_sink *s)
{
    const rill__fs_opts *o = &s->cfg->fs;
    int n = rill_schema_n_fields(s->schema);
    if (o->n_keys == 0) {
        s->file_schema = rill__schema_ref(s->schema);
        return;
    }
    s->key_field = rill__xcalloc((size_t)o->n_keys, sizeof *s->key_field);
    s->key_schema = rill__xcalloc((size_t)o->n_keys, sizeof *s->key_schema);
    for (int k = 0; k < o->n_keys; k++) {
        int f = s->key_field[k] = rill_schema_index(s->schema, o->keys[k]);
        if (rill_schema_field_type(s->schema, f) == RILL_T_STRING)
            continue;
        s->key_schema[k] = rill_schema_new();
        s->key_schema[k]->sql_text = s->schema->sql_text;
        rill_schema_add_typed(s->key_schema[k], "v", rill_schema_field_info(s->schema, f), true);
    }
    s->file_schema = rill_schema_new();
    s->file_schema->sql_text = s->schema->sql_text; /* values in the table's text, as before */
    s->file_field = rill__xcalloc((size_t)n, sizeof *s->file_field);
    int m = 0;
    for (int i = 0; i < n; i++) {
        bool key = false;
        for (int k = 0; k < o->n_keys; k++)
            key |= s->key_field[k] == i;
        if (key)
            continue;
        rill_schema_add_typed(s->file_schema, rill_schema_field_name(s->schema, i),
                              rill_schema_field_info(s->schema, i),
                              rill_schema_field_nullable(s->schema, i));
        s->file_field[m++] = i;
    }
    s->row_v = rill__xcalloc((size_t)n + 1, sizeof *s->row_v);
    s->row_nulls = rill__xcalloc((size_t)n / 64 + 1, sizeof *s->row_nulls);
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
    s->wm = INT64_MIN;
    s->restored_wm = INT64_MIN;
    s->last_check_ms = rill__now_ms();
    make_file_schema(s);
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

/* Appends row r's partition, "k1=v1/k2=v2" escaped, to s->rel. */
static void partition_of(eo_sink *s, const rill_row *r)
{
    const rill__fs_opts *o = &s->cfg->fs;
    for (int k = 0; k < o->n_keys; k++) {
        int f = s->key_field[k];
        if (k)
            rill__buf_putc(&s->rel, '/');
        rill__fs_escape(o->keys[k], strlen(o->keys[k]), &s->rel);
        rill__buf_putc(&s->rel, '=');
        const char *v = NULL;
        size_t n = 0;
        if (!rill_row_is_null(r, f)) {
            if (rill_schema_field_type(s->schema, f) == RILL_T_STRING) {
                v = rill_row_str(r, f, &n);
            } else {
                /* a one-field CSV row: the value's text (no quoting for these types) */
                uint64_t nulls = 0;
                rill_row r1 = {.v = &r->v[f], .nulls = &nulls, .batch = r->batch};
                s->val.len = 0;
                rill__encode_csv_row(s->key_schema[k], &r1, ',', &s->val);
                v = (const char *)s->val.data;
                n = s->val.len > 0 ? s->val.len - 1 : 0;
            }
        }
        if (n == 0) /* NULL and '' go to the default partition, as in Flink */
            rill__buf_append(&s->rel, o->default_name, strlen(o->default_name));
        else
            rill__fs_escape(v, n, &s->rel);
    }
}

/* Row r without its partition keys. */
static rill_row project(eo_sink *s, const rill_row *r)
{
    int n = rill_schema_n_fields(s->file_schema);
    memset(s->row_nulls, 0, ((size_t)rill_schema_n_fields(s->schema) / 64 + 1) * 8);
    for (int i = 0; i < n; i++) {
        int f = s->file_field[i];
        s->row_v[i] = r->v[f];
        if (rill_row_is_null(r, f))
            s->row_nulls[i >> 6] |= UINT64_C(1) << (i & 63);
    }
    return (rill_row){.v = s->row_v, .nulls = s->row_nulls, .batch = r->batch};
}

static int eo_write(rill__sink *sink, rill_batch *b)
{
    eo_sink *s = (eo_sink *)sink;
    if (s->broken)
        return fail_broken(s);
    const rill__fmt *f = &s->cfg->fmt;
    const rill__fs_opts *o = &s->cfg->fs;
    int64_t now = b->n_rows && (o->roll_inactive_ms || o->roll_interval_ms) ? rill__now_ms() : 0;
    for (uint32_t i = 0; i < b->n_rows; i++) {
        rill_row r = rill__batch_row(b, i);
        eo_bucket *bk;
        if (o->n_keys == 0) {
            bk = s->last ? s->last : (s->last = bucket_get(s, "", 0));
        } else {
            s->rel.len = 0;
            partition_of(s, &r);
            if (s->rel.len > EO_REL_MAX)
                return eo_fail(s, RILL_ELIMIT, "a row's partition path is longer than %zu bytes",
                               EO_REL_MAX);
            if (s->last && strlen(s->last->rel) == s->rel.len &&
                !memcmp(s->last->rel, s->rel.data, s->rel.len))
                bk = s->last;
            else
                bk = s->last = bucket_get(s, (const char *)s->rel.data, s->rel.len);
        }
        if (bk->fd < 0) {
            int rc = open_next(s, bk);
            if (rc)
                return rc;
        }
        if (!bk->dirty && bk->data_ckpt == 0)
            bk->created_ms = rill__now_ms();
        bk->dirty = true;
        bk->last_ms = now;
        rill_row fr = o->n_keys ? project(s, &r) : r;
        if (f->format == RILL_FMT_JSON)
            rill__encode_json_row(s->file_schema, &fr, &bk->buf);
        else
            rill__encode_csv_row(s->file_schema, &fr, f->delim, &bk->buf);
        bk->cur_rows++;
        bool full = o->roll_size && bk->cur_bytes + bk->buf.len >= o->roll_size;
        if (bk->buf.len >= EO_BUF || full) {
            int rc = flush_buf(s, bk);
            if (rc)
                return rc;
            if (full && (rc = seal(s, bk, EO_NEXT)) != 0)
                return rc;
        }
    }
    return roll_by_time(s);
}

static int eo_watermark(rill__sink *sink, int64_t wm)
{
    eo_sink *s = (eo_sink *)sink;
    if (wm > s->wm)
        s->wm = wm;
    return 0;
}

/* Seals every open file under ckpt, and the rolled ones too. */
static int seal_all(eo_sink *s, uint64_t ckpt)
{
    if (s->broken)
        return fail_broken(s);
    for (size_t i = 0; i < s->n_bk; i++) {
        eo_bucket *b = s->bk[i];
        int rc = seal(s, b, ckpt);
        if (rc)
            return rc;
        if (b->dirty) {
            if (s->cfg->fs.success_file)
                b->data_ckpt = ckpt;
            b->dirty = false;
        }
    }
    for (size_t i = 0; i < s->n_pending; i++)
        if (s->pending[i].ckpt == EO_NEXT)
            s->pending[i].ckpt = ckpt;
    return 0;
}

static int eo_pre_commit(rill__sink *sink, uint64_t id, rill__buf *state)
{
    eo_sink *s = (eo_sink *)sink;
    int rc = seal_all(s, id);
    if (rc)
        return rc;
    rc = sync_dirty(s, "after pre-committing part files");
    if (rc)
        return rc;
    if (s->cfg->fs.success_file) {
        rill__grow((void **)&s->cwm, &s->cap_cwm, s->n_cwm + 1, sizeof *s->cwm);
        s->cwm[s->n_cwm++] = (eo_ckpt_wm){id, s->wm};
    }
    encode_state(s, s->wm, state);
    buckets_prune(s);
    return 0;
}

static int eo_commit(rill__sink *sink, uint64_t id)
{
    eo_sink *s = (eo_sink *)sink;
    int rc = commit_upto(s, id);
    if (rc)
        return rc;
    if (!s->cfg->fs.success_file)
        return 0;
    rc = commit_partitions(s, id, take_ckpt_wm(s, id));
    buckets_prune(s);
    return rc;
}

static int eo_finish(rill__sink *sink)
{
    eo_sink *s = (eo_sink *)sink;
    int rc = seal_all(s, UINT64_MAX);
    if (rc)
        return rc;
    /* the names of the sealed files are made durable before any of them becomes visible */
    rc = sync_dirty(s, "after sealing part files");
    if (rc)
        return rc;
    rc = commit_upto(s, UINT64_MAX);
    if (rc)
        return rc;
    /* the end of input: the watermark is at its end, every partition is committed */
    rc = commit_partitions(s, UINT64_MAX, INT64_MAX);
    buckets_prune(s);
    return rc;
}

/* One old subtask's state, checked and copied out. */
typedef struct eo_state {
    uint32_t subtask, version;
    uint64_t next_seq;
    size_t n, m, k;
    eo_pending *pending; /* n (rel owned) */
    eo_adopted *adopted; /* m */
    int64_t wm;
    int64_t *created;    /* k */
    char **parts;        /* k (owned) */
} eo_state;

static void state_free(eo_state *st)
{
    for (size_t i = 0; i < st->n; i++)
        free(st->pending[i].rel);
    for (size_t i = 0; i < st->k; i++)
        free(st->parts[i]);
    free(st->pending);
    free(st->adopted);
    free(st->created);
    free(st->parts);
    memset(st, 0, sizeof *st);
}

/* A partition path from a state: relative, no "." or ".." component, no empty one. */
static bool rel_ok(const char *rel)
{
    if (!rel[0])
        return true;
    if (rel[0] == '/')
        return false;
    for (const char *p = rel;;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        if (!e)
            return true;
        p = e + 1;
    }
}

static char *dec_rel(rill__dec *d, bool *bad)
{
    const uint8_t *p;
    size_t n;
    rill__dec_bytes(d, "partition", EO_REL_MAX, &p, &n);
    char *rel = rill__xasprintf("%.*s", (int)n, p ? (const char *)p : "");
    if (d->rc == 0 && (strlen(rel) != n || !rel_ok(rel)))
        *bad = true;
    return rel;
}

/* Version 3 (fs_int.h's layout above), CRC already checked. */
static const char *parse_v3(const unsigned char *p, size_t len, eo_state *st)
{
    rill__dec d;
    rill__dec_init(&d, p, len - 4);
    bool bad = false;
    rill__dec_u32(&d, "magic");
    rill__dec_u32(&d, "version");
    st->subtask = rill__dec_u32(&d, "subtask");
    uint32_t n = rill__dec_u32(&d, "n");
    st->next_seq = rill__dec_u64(&d, "next_seq");
    if (n > rill__dec_left(&d) / 20)
        return "length does not match its entries";
    st->pending = rill__xcalloc((size_t)n + 1, sizeof *st->pending);
    for (uint32_t i = 0; i < n && d.rc == 0; i++) {
        st->pending[i].ckpt = rill__dec_u64(&d, "ckpt");
        st->pending[i].seq = rill__dec_u64(&d, "seq");
        st->pending[i].rel = dec_rel(&d, &bad);
        st->n = i + 1;
    }
    uint32_t m = rill__dec_u32(&d, "m");
    if (d.rc == 0 && m > rill__dec_left(&d) / 16)
        return "length does not match its entries";
    st->adopted = rill__xcalloc((size_t)m + 1, sizeof *st->adopted);
    for (uint32_t i = 0; i < m && d.rc == 0; i++) {
        st->adopted[i].index = rill__dec_u64(&d, "index");
        st->adopted[i].next_seq = rill__dec_u64(&d, "next_seq");
        st->m = i + 1;
    }
    st->wm = rill__dec_i64(&d, "watermark");
    uint32_t k = rill__dec_u32(&d, "k");
    if (d.rc == 0 && k > rill__dec_left(&d) / 12)
        return "length does not match its entries";
    st->created = rill__xcalloc((size_t)k + 1, sizeof *st->created);
    st->parts = rill__xcalloc((size_t)k + 1, sizeof *st->parts);
    for (uint32_t i = 0; i < k && d.rc == 0; i++) {
        st->created[i] = rill__dec_i64(&d, "created");
        st->parts[i] = dec_rel(&d, &bad);
        st->k = i + 1;
    }
    if (d.rc || rill__dec_left(&d) != 0)
        return "length does not match its entries";
    return bad ? "a partition path is not relative" : NULL;
}

/* Versions 1 and 2: fixed entries, files in dir itself. */
static const char *parse_v12(const unsigned char *p, size_t len, eo_state *st)
{
    uint32_t n = rill__le_get32(p + 12);
    if (n > (len - EO_HEAD - 4) / EO_ENTRY)
        return "length does not match its entries";
    size_t at = EO_HEAD + (size_t)n * EO_ENTRY;
    uint32_t m = 0;
    if (st->version == 1 && len != at + 4)
        return "length does not match its entries";
    if (st->version == 2) {
        if (len < at + 8 || (m = rill__le_get32(p + at)) > (len - at - 8) / EO_ENTRY ||
            len != at + 4 + (size_t)m * EO_ENTRY + 4)
            return "length does not match its entries";
    }
    st->subtask = rill__le_get32(p + 8);
    st->next_seq = rill__le_get64(p + 16);
    st->pending = rill__xcalloc((size_t)n + 1, sizeof *st->pending);
    for (uint32_t i = 0; i < n; i++) {
        st->pending[i].ckpt = rill__le_get64(p + EO_HEAD + (size_t)i * EO_ENTRY);
        st->pending[i].seq = rill__le_get64(p + EO_HEAD + (size_t)i * EO_ENTRY + 8);
        st->pending[i].rel = rill__xstrdup("");
    }
    st->n = n;
    st->adopted = rill__xcalloc((size_t)m + 1, sizeof *st->adopted);
    for (uint32_t i = 0; i < m; i++) {
        st->adopted[i].index = rill__le_get64(p + at + 4 + (size_t)i * EO_ENTRY);
        st->adopted[i].next_seq = rill__le_get64(p + at + 4 + (size_t)i * EO_ENTRY + 8);
    }
    st->m = m;
    st->wm = INT64_MIN;
    return NULL;
}

static int parse_state(eo_sink *s, int old_subtask, int old_par, const void *state, size_t len,
                       eo_state *st)
{
    const unsigned char *p = state;
    const char *bad = NULL;
    memset(st, 0, sizeof *st);
    if (old_par < 1 || old_subtask < 0 || old_subtask >= old_par)
        bad = "no such subtask";
    else if (len < EO_HEAD + 4)
        bad = "too short";
    else if (rill__le_get32(p) != EO_MAGIC)
        bad = "bad magic";
    else if ((st->version = rill__le_get32(p + 4)) < 1 || st->version > 3)
        bad = "unknown version";
    else if (rill__le_get32(p + len - 4) != rill__crc32c(0, p, len - 4))
        bad = "checksum mismatch";
    else
        bad = st->version == 3 ? parse_v3(p, len, st) : parse_v12(p, len, st);
    if (!bad) {
        if (st->subtask != (uint32_t)old_subtask)
            bad = "it belongs to another subtask";
        else if (st->next_seq > EO_SEQ_MAX + 1)
            bad = "part number out of range";
        for (size_t i = 0; !bad && i < st->n; i++)
            if (st->pending[i].seq > EO_SEQ_MAX)
                bad = "part number out of range";
        for (size_t i = 0; !bad && i < st->m; i++)
            if (st->adopted[i].index > EO_SUB_MAX || st->adopted[i].next_seq > EO_SEQ_MAX + 1)
                bad = "adopted index out of range";
    }
    if (bad) {
        state_free(st);
        return eo_fail(s, RILL_ECORRUPT,
                       "checkpoint state of old subtask %d/%d for '%s' is corrupt (%s, %zu "
                       "bytes)", old_subtask + 1, old_par, s->cfg->dir, bad, len);
    }
    return 0;
}

static int eo_restore(rill__sink *sink, int old_subtask, int old_par, const void *state,
                      size_t len)
{
    eo_sink *s = (eo_sink *)sink;
    for (size_t i = 0; i < s->n_bk; i++)
        if (s->bk[i]->fd >= 0 || s->bk[i]->dirty)
            return eo_fail(s, RILL_EINVAL, "restore after rows were written");
    if (s->n_pending > 0)
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
    for (size_t i = 0; i < st.m; i++)
        if (st.adopted[i].index == me && st.adopted[i].next_seq > s->next_seq)
            s->next_seq = st.adopted[i].next_seq;
    /* the fallback watermark for commits before this run's first barrier: the lowest */
    if (s->restored_wm == INT64_MIN || st.wm < s->restored_wm)
        s->restored_wm = st.wm;
    if (!s->swept) {
        /* indices above every old subtask's, owned here: left by an even older run (a crashed
         * attempt at a higher parallelism); no checkpoint of this one lists their files */
        s->swept = true;
        eo_doomed dm = {.only = -1, .from = old_par};
        if ((rc = scan_dir(s, &dm)) != 0)
            goto out;
    }
    if ((uint64_t)old_subtask % par != me)
        goto out; /* another new subtask takes this one over */
    /* every file the state lists was pre-committed for a completed checkpoint */
    for (size_t i = 0; i < st.n; i++) {
        rc = commit_file(s, st.pending[i].rel, st.subtask, st.pending[i].seq);
        if (rc)
            goto out;
    }
    for (size_t i = 0; i < st.n; i++)
        if ((i == 0 || strcmp(st.pending[i].rel, st.pending[i - 1].rel)) &&
            (rc = sync_rel(s, st.pending[i].rel, "after committing restored part files")) != 0)
            goto out;
    if (st.subtask != me) /* an index no live subtask writes: its numbers are kept */
        adopt(s, st.subtask, st.next_seq);
    for (size_t i = 0; i < st.m; i++)
        if (st.adopted[i].index >= par) /* still not written by a live subtask: kept here */
            adopt(s, st.adopted[i].index, st.adopted[i].next_seq);
    /* its partitions waiting for their commit: their rows are committed now (checkpoint 1
     * stands for "a completed one"), the rule decides at this run's next commit */
    for (size_t i = 0; i < st.k && s->cfg->fs.success_file; i++) {
        eo_bucket *b = bucket_get(s, st.parts[i], strlen(st.parts[i]));
        if (b->data_ckpt == 0 || st.created[i] < b->created_ms)
            b->created_ms = st.created[i];
        b->data_ckpt = 1;
    }
    {
        /* what the old subtask left in progress belongs to no completed checkpoint */
        eo_doomed dm = {.only = old_subtask, .from = -1};
        rc = scan_dir(s, &dm);
    }
out:
    state_free(&st);
    return rc;
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
    .watermark = eo_watermark,
    .destroy = eo_destroy,
    .cfg_free = eo_cfg_free,
};
