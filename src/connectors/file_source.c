/*
 * file_source.c - connectors layer: the file source (CSV or JSON lines) over one file, a glob or
 * a directory, one split per file; malformed records fail the job or go to a dead-letter file.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn_int.h"

#define READ_CHUNK ((size_t)1 << 20)  /* first buffer size and the usual read() size */
#define MAX_LINE ((size_t)64 << 20)   /* longest line the buffer grows to hold */

/* ---- JSON strings, for dead-letter records ------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n > 0 bytes left), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

void rill__conn_json_str(rill__buf *out, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    rill__buf_reserve(out, n + 2);
    rill__buf_putc(out, '"');
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            rill__buf_putc(out, (char)c);
            i++;
            continue;
        }
        switch (c) {
        case '"': rill__buf_append(out, "\\\"", 2); i++; continue;
        case '\\': rill__buf_append(out, "\\\\", 2); i++; continue;
        case '\n': rill__buf_append(out, "\\n", 2); i++; continue;
        case '\r': rill__buf_append(out, "\\r", 2); i++; continue;
        case '\t': rill__buf_append(out, "\\t", 2); i++; continue;
        default: break;
        }
        if (c < 0x20) {
            rill__buf_printf(out, "\\u%04x", (unsigned)c);
            i++;
            continue;
        }
        size_t len = utf8_len(s + i, n - i);
        if (len == 0) {
            rill__buf_append(out, "\\ufffd", 6);
            i++;
        } else {
            rill__buf_append(out, s + i, len);
            i += len;
        }
    }
    rill__buf_putc(out, '"');
}

/* ---- bad records: counted, logged, written to the dead-letter file ------------------------ */

#define LOG_SKIPPED_MAX 10 /* skipped records logged one by one; then only counted */

void rill__bad_init(rill__bad_records *br, const char *uid, const rill__conn_init *init)
{
    memset(br, 0, sizeof *br);
    br->uid = uid;
    br->policy = init->bad_policy;
    br->dl_path = init->bad_policy == RILL_BAD_SKIP && init->dead_letter_path
                      ? rill__xstrdup(init->dead_letter_path)
                      : NULL;
    br->dl_fd = -1;
}

int rill__bad_record(rill__bad_records *br, const char *at, const char *what, const char *rec,
                     size_t len, rill__err *err)
{
    br->skipped++;
    if (br->skipped <= LOG_SKIPPED_MAX)
        rill__log(RILL_LOG_WARN, "source '%s': skipped bad record %s: %s%s", br->uid, at, what,
                  br->skipped == LOG_SKIPPED_MAX ? " (further skipped records are only counted)"
                                                 : "");
    if (!br->dl_path)
        return 0;
    if (br->dl_fd < 0) {
        br->dl_fd = open(br->dl_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (br->dl_fd < 0)
            return rill__err_set(err, -errno, "dead-letter file %s: cannot open: %s",
                                 br->dl_path, strerror(errno));
    }
    rill__buf *d = &br->dl;
    d->len = 0;
    rill__buf_append(d, "{\"source\":", 10);
    rill__conn_json_str(d, br->uid, strlen(br->uid));
    rill__buf_putc(d, ',');
    rill__buf_append(d, br->where.data, br->where.len);
    rill__buf_append(d, ",\"error\":", 9);
    rill__conn_json_str(d, what, strlen(what));
    rill__buf_append(d, ",\"record\":", 10);
    rill__conn_json_str(d, rec, len);
    rill__buf_append(d, "}\n", 2);
    int rc = rill__write_all(br->dl_fd, d->data, d->len); /* O_APPEND: one record per write */
    if (rc)
        return rill__err_set(err, rc, "dead-letter file %s: write failed: %s", br->dl_path,
                             rill_strerror(rc));
    return 0;
}

void rill__bad_fini(rill__bad_records *br)
{
    if (br->skipped > LOG_SKIPPED_MAX)
        rill__log(RILL_LOG_WARN, "source '%s': skipped %lld bad records in all", br->uid,
                  (long long)br->skipped);
    if (br->dl_fd >= 0)
        close(br->dl_fd);
    rill__buf_free(&br->dl);
    rill__buf_free(&br->where);
    free(br->dl_path);
}

/* ---- config and the list of files ---------------------------------------------------------- */

typedef struct fsrc_cfg {
    char *path;
    rill__fmt fmt;
    int n_columns; /* CSV without a header, projected: the lines' columns (0: the fields) */
    int *leaves;   /* the column of each field */
    int *elems;    /* or NULL; with ROW columns: each field's element (-1: a plain column) */
    int *n_elems;  /* each column's elements (0: a plain column) */
    rill__decode_opts dopts; /* null_literal and given owned */
    bool skip_bad;           /* ignore-parse-errors: a bad record is skipped */
    /* PARTITIONED BY: the files are under key1=v1/key2=v2/ directories, and field part_field[i]
     * (or -1: not read) takes the value of key i from the path */
    int n_part;
    char **part_key;
    int *part_field;
    char *default_name; /* the value that is NULL */
} fsrc_cfg;

void rill__file_source_partitions(void *cfg, int n_fields, int n_keys, const char *const *keys,
                                  const int *fields, const char *default_name)
{
    fsrc_cfg *c = cfg;
    bool *given = rill__xcalloc((size_t)n_fields + 1, sizeof *given);
    for (int i = 0; i < n_keys; i++)
        if (fields[i] >= 0 && fields[i] < n_fields)
            given[fields[i]] = true;
    free((bool *)c->dopts.given);
    c->dopts.given = given;
    c->n_part = n_keys;
    c->part_key = rill__xcalloc((size_t)n_keys + 1, sizeof *c->part_key);
    c->part_field = rill__xcalloc((size_t)n_keys + 1, sizeof *c->part_field);
    for (int i = 0; i < n_keys; i++) {
        c->part_key[i] = rill__xstrdup(keys[i]);
        c->part_field[i] = fields[i];
    }
    free(c->default_name);
    c->default_name = rill__xstrdup(default_name ? default_name : "__DEFAULT_PARTITION__");
}

void rill__file_source_format(void *cfg, const rill__decode_opts *opts, bool skip_bad)
{
    fsrc_cfg *c = cfg;
    free((char *)c->dopts.null_literal);
    free((char *)c->dopts.array_delim);
    const bool *given = c->dopts.given; /* the partitions' */
    c->dopts = *opts;
    c->dopts.null_literal = opts->null_literal ? rill__xstrdup(opts->null_literal) : NULL;
    c->dopts.array_delim = opts->array_delim ? rill__xstrdup(opts->array_delim) : NULL;
    c->dopts.given = given;
    c->skip_bad = skip_bad;
}

void rill__file_source_columns(void *cfg, int n_columns, int n_fields, const int *leaves)
{
    fsrc_cfg *c = cfg;
    free(c->leaves);
    c->n_columns = n_columns;
    c->leaves = rill__xmalloc((size_t)(n_fields ? n_fields : 1) * sizeof *c->leaves);
    if (n_fields)
        memcpy(c->leaves, leaves, (size_t)n_fields * sizeof *leaves);
}

void rill__file_source_layout(void *cfg, int n_columns, int n_fields, const int *col,
                              const int *elem, const int *n_elem)
{
    fsrc_cfg *c = cfg;
    rill__file_source_columns(cfg, n_columns, n_fields, col);
    free(c->elems);
    free(c->n_elems);
    c->elems = rill__xmalloc((size_t)(n_fields ? n_fields : 1) * sizeof *c->elems);
    c->n_elems = rill__xmalloc((size_t)(n_columns ? n_columns : 1) * sizeof *c->n_elems);
    if (n_fields)
        memcpy(c->elems, elem, (size_t)n_fields * sizeof *elem);
    if (n_columns)
        memcpy(c->n_elems, n_elem, (size_t)n_columns * sizeof *n_elem);
}

void *rill__file_source_cfg(const char *path, const rill_file_opts *opts)
{
    fsrc_cfg *c = rill__xcalloc(1, sizeof *c);
    c->path = rill__xstrdup(path ? path : "");
    c->fmt = rill__fmt_of(opts);
    return c;
}

static void fsrc_cfg_free(void *cfg)
{
    fsrc_cfg *c = cfg;
    if (!c)
        return;
    free(c->path);
    free(c->leaves);
    free(c->elems);
    free(c->n_elems);
    free((char *)c->dopts.null_literal);
    free((char *)c->dopts.array_delim);
    free((bool *)c->dopts.given);
    for (int i = 0; i < c->n_part; i++)
        free(c->part_key[i]);
    free(c->part_key);
    free(c->part_field);
    free(c->default_name);
    free(c);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_list(char **files, int n)
{
    for (int i = 0; i < n; i++)
        free(files[i]);
    free(files);
}

static bool is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

typedef struct file_list {
    char **v;
    size_t n, cap;
} file_list;

/* Hidden, as Flink's DefaultFileFilter and partition listing take it: a name that starts with
 * '.' or '_' (in-progress part files, _SUCCESS). */
static bool hidden(const char *name)
{
    return name[0] == '.' || name[0] == '_';
}

/* Whether the directory name is "key=..." for partition key number depth. */
static bool partition_dir(const fsrc_cfg *c, int depth, const char *name)
{
    size_t n = strlen(c->part_key[depth]);
    return !strncmp(name, c->part_key[depth], n) && name[n] == '=';
}

/*
 * The regular files under dir, recursively (Flink's FileSystemTableSource reads directories
 * so, skipping hidden names), into out. With partition keys, the directories at depth < n_part
 * must be key=value ones of the key at that depth (others are skipped, as Flink lists only
 * partitions), and files above the partitions' depth are not read.
 */
static int walk(const fsrc_cfg *c, const char *dir, int depth, file_list *out, rill__err *err)
{
    if (depth > 64) /* symbolic links that loop */
        return rill__err_set(err, RILL_ELIMIT, "file source: '%s' is nested more than 64 "
                             "directories deep (a symbolic link loop?)", dir);
    DIR *d = opendir(dir);
    if (!d)
        return rill__err_set(err, -errno, "file source: cannot open directory '%s': %s", dir,
                             strerror(errno));
    size_t dlen = strlen(dir);
    bool slash = dlen > 0 && dir[dlen - 1] == '/';
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (hidden(de->d_name))
            continue;
        char *full = rill__xasprintf("%s%s%s", dir, slash ? "" : "/", de->d_name);
        struct stat st;
        if (stat(full, &st) != 0) {
            free(full);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (depth >= c->n_part || partition_dir(c, depth, de->d_name))
                rc = walk(c, full, depth + 1, out, err);
            free(full);
        } else if (S_ISREG(st.st_mode) && depth >= c->n_part) {
            rill__grow((void **)&out->v, &out->cap, out->n + 1, sizeof *out->v);
            out->v[out->n++] = full;
        } else {
            free(full);
        }
    }
    closedir(d);
    return rc;
}

/* The splits of c's path, sorted: the file itself, the regular non-hidden files under a
 * directory (recursively; with partition keys, those in partition directories), or the regular
 * files a glob matches. 0, or an error naming the path in err. */
static int list_files(const fsrc_cfg *c, char ***files_out, int *n_out, rill__err *err)
{
    const char *path = c->path;
    *files_out = NULL;
    *n_out = 0;
    char **files = NULL;
    size_t n = 0, cap = 0;
    struct stat st;
    if (!path[0])
        return rill__err_set(err, RILL_ECONFIG, "file source: empty path");
    if (stat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            files = rill__xmalloc(sizeof *files);
            files[0] = rill__xstrdup(path);
            *files_out = files;
            *n_out = 1;
            return 0;
        }
        file_list fl = {0};
        int rc = walk(c, path, 0, &fl, err);
        if (rc) {
            free_list(fl.v, (int)fl.n);
            return rc;
        }
        if (fl.n > 1)
            qsort(fl.v, fl.n, sizeof *fl.v, cmp_str);
        *files_out = fl.v;
        *n_out = (int)fl.n;
        return 0;
    }
    int e = errno;
    if (e != ENOENT || !strpbrk(path, "*?["))
        return rill__err_set(err, -e, "file source: cannot open '%s': %s", path, strerror(e));
    glob_t g;
    int grc = glob(path, 0, NULL, &g);
    if (grc == GLOB_NOMATCH) {
        globfree(&g);
        return rill__err_set(err, RILL_ENOENT, "file source: no files match '%s'", path);
    }
    if (grc != 0) {
        globfree(&g);
        return rill__err_set(err, grc == GLOB_NOSPACE ? RILL_ENOMEM : RILL_EIO,
                             "file source: cannot expand '%s'", path);
    }
    for (size_t i = 0; i < g.gl_pathc; i++) {
        if (!is_regular(g.gl_pathv[i]))
            continue;
        rill__grow((void **)&files, &cap, n + 1, sizeof *files);
        files[n++] = rill__xstrdup(g.gl_pathv[i]);
    }
    globfree(&g);
    if (n == 0) {
        free(files);
        return rill__err_set(err, RILL_ENOENT, "file source: no files match '%s'", path);
    }
    qsort(files, n, sizeof *files, cmp_str);
    *files_out = files;
    *n_out = (int)n;
    return 0;
}

static int fsrc_validate(const void *cfg, const rill_schema *schema, rill__err *err)
{
    const fsrc_cfg *c = cfg;
    (void)schema;
    int rc = rill__fmt_check(&c->fmt, "file source", err);
    if (rc)
        return rc;
    char **files;
    int n;
    rc = list_files(c, &files, &n, err);
    if (rc)
        return rc;
    free_list(files, n);
    return 0;
}

/* ---- the reader ---------------------------------------------------------------------------- */

typedef struct fsrc {
    rill__source base;
    const fsrc_cfg *cfg;
    rill_schema *schema; /* referenced */
    rill__err *err;
    char *uid;
    rill__bad_records bad;
    /* this subtask's splits, and the next one to open */
    char **splits;
    int n_splits, next;
    int subtask, par;   /* split m of this reader is global split subtask + m * par */
    int64_t *start_off; /* by split, from a restore: where it starts (-1: read before, 0: at
                         * its beginning); NULL when nothing was restored */
    int64_t *start_line;
    /* the open split (fd >= 0) */
    int fd;
    const char *file;
    char *buf;
    size_t cap, pos, end, scan; /* unread bytes buf[pos..end); no '\n' in [pos, scan) */
    bool eof;
    long line_no;    /* the line the current record starts on (1-based) */
    long next_line;  /* the line the next record starts on */
    bool csv_quotes; /* CSV: a quoted field may hold line breaks (RFC 4180) */
    bool quote_odd;  /* buf[pos, qscan) ends inside a quoted field */
    size_t qscan;    /* CSV: how far the quote state has run (complete lines only) */
    long inner_nl;   /* line breaks inside quoted fields in buf[pos, scan) */
    uint64_t offset; /* byte position of the next unread line (for checkpoints) */
    bool need_header;
    bool dec_open;
    rill__decoder dec;
    rill__buf pvals; /* the open split's partition values, unescaped, each NUL-terminated */
    size_t *pval_off; /* by partition key: its value's offset in pvals; (size_t)-1: NULL */
} fsrc;

/* Flink's unescapePathName: %XX (two hex digits) is that byte. */
static void unescape_into(rill__buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        char hex[3] = {0};
        if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            hex[0] = s[i + 1];
            hex[1] = s[i + 2];
            v = (unsigned)strtoul(hex, NULL, 16);
            rill__buf_putc(b, (char)v);
            i += 2;
        } else {
            rill__buf_putc(b, s[i]);
        }
    }
}

/* The partition values of file (under the source's path): key=value directories, in order. */
static void split_partitions(fsrc *s, const char *file)
{
    const fsrc_cfg *c = s->cfg;
    s->pvals.len = 0;
    size_t plen = strlen(c->path);
    const char *p = file + (strncmp(file, c->path, plen) ? 0 : plen);
    for (int i = 0; i < c->n_part; i++) {
        while (*p == '/')
            p++;
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        s->pval_off[i] = (size_t)-1;
        if (eq) {
            size_t off = s->pvals.len;
            unescape_into(&s->pvals, eq + 1, n - (size_t)(eq + 1 - p));
            rill__buf_putc(&s->pvals, '\0');
            if (strcmp((const char *)s->pvals.data + off, c->default_name))
                s->pval_off[i] = off;
        }
        p += n;
    }
}

/* Fills the partition columns of the row the decoder just added, from the split's path. */
static int fill_partitions(fsrc *s, rill_batch *b)
{
    const fsrc_cfg *c = s->cfg;
    for (int i = 0; i < c->n_part; i++) {
        int f = c->part_field[i];
        if (f < 0)
            continue;
        const char *v = s->pval_off[i] == (size_t)-1 ? NULL
                                                      : (const char *)s->pvals.data + s->pval_off[i];
        rill__parse_err pe;
        memset(&pe, 0, sizeof pe);
        int rc = v ? rill__decode_field_text(&s->dec, b, f, v, strlen(v), &pe)
                   : rill__decode_field_text(&s->dec, b, f, "", 0, &pe);
        if (rc) {
            rill__batch_pop(b);
            return rill__err_set(s->err, rc, "%s: partition %s=%s: %s", s->file, c->part_key[i],
                                 v ? v : c->default_name, pe.what);
        }
    }
    return 0;
}

static void close_split(fsrc *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    if (s->dec_open)
        rill__decoder_close(&s->dec);
    s->dec_open = false;
    s->file = NULL;
}

static int open_split(fsrc *s)
{
    const char *file = s->splits[s->next++];
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rill__err_set(s->err, -errno, "%s: cannot open: %s", file, strerror(errno));
    s->fd = fd;
    s->file = file;
    s->pos = s->end = s->scan = s->qscan = 0;
    s->eof = false;
    s->line_no = 0;
    s->next_line = 1;
    s->quote_odd = false;
    s->inner_nl = 0;
    s->csv_quotes = s->cfg->fmt.format == RILL_FMT_CSV;
    s->offset = 0;
    s->need_header = s->cfg->fmt.format == RILL_FMT_CSV && !s->cfg->fmt.no_header;
    if (s->cfg->n_part)
        split_partitions(s, file);
    rill__decoder_init(&s->dec, s->schema, s->cfg->fmt.format, s->cfg->fmt.delim);
    rill__decoder_set_opts(&s->dec, &s->cfg->dopts);
    if (s->cfg->leaves && !s->need_header && s->cfg->fmt.format == RILL_FMT_CSV) {
        if (s->cfg->elems)
            rill__decoder_layout(&s->dec, s->cfg->n_columns, s->cfg->leaves, s->cfg->elems,
                                 s->cfg->n_elems);
        else
            rill__decoder_columns(&s->dec, s->cfg->n_columns, s->cfg->leaves);
    }
    s->dec_open = true;
    return 0;
}

/* Runs the RFC 4180 quote state over the complete line buf[from, to): a quote opens a quoted
 * field only at the start of a field, "" inside one is a quote, a lone quote closes it.
 * Leaves quote_odd set when the line ends inside a quoted field. */
static void scan_quotes(fsrc *s, size_t from, size_t to)
{
    const char *p = s->buf + from, *e = s->buf + to;
    if (!s->quote_odd && !memchr(p, s->cfg->dopts.quote ? s->cfg->dopts.quote : '"',
                                 (size_t)(e - p)))
        return; /* the common case: no quote, no state to run */
    char delim = s->cfg->fmt.delim ? s->cfg->fmt.delim : ',';
    char quote = s->cfg->dopts.quote ? s->cfg->dopts.quote : '"';
    bool in_q = s->quote_odd, field_start = !in_q && from == s->pos;
    for (; p < e; p++) {
        char c = *p;
        if (in_q) {
            if (c == quote) {
                if (p + 1 < e && p[1] == quote)
                    p++;
                else
                    in_q = false;
            }
        } else if (c == delim) {
            field_start = true;
            continue;
        } else if (c == quote && field_start) {
            in_q = true;
        }
        field_start = false;
    }
    s->quote_odd = in_q;
}

/* The next record of the open split, without its terminator: one line, or for CSV several
 * when a quoted field holds line breaks. 1, 0 at the end of the file, or a negative error
 * (message set). */
static int next_line(fsrc *s, const char **line, size_t *len)
{
    for (;;) {
        char *nl = memchr(s->buf + s->scan, '\n', s->end - s->scan);
        size_t n, adv;
        if (nl && s->csv_quotes) {
            scan_quotes(s, s->qscan, (size_t)(nl - s->buf));
            s->qscan = (size_t)(nl - s->buf) + 1;
            if (s->quote_odd) { /* the line break is inside a quoted field: keep going */
                s->scan = (size_t)(nl - s->buf) + 1;
                s->inner_nl++;
                continue;
            }
        }
        if (nl) {
            n = (size_t)(nl - (s->buf + s->pos));
            adv = n + 1;
        } else if (s->eof) {
            if (s->pos == s->end)
                return 0;
            n = adv = s->end - s->pos; /* the last line has no '\n' */
        } else {
            s->scan = s->end;
            if (s->pos > 0) {
                memmove(s->buf, s->buf + s->pos, s->end - s->pos);
                s->end -= s->pos;
                s->scan -= s->pos;
                s->qscan -= s->pos;
                s->pos = 0;
            }
            if (s->end == s->cap) {
                if (s->cap >= MAX_LINE)
                    return rill__err_set(s->err, RILL_ELIMIT, "%s:%ld: record longer than %zu MiB%s",
                                         s->file, s->next_line, MAX_LINE >> 20,
                                         s->quote_odd ? " (a quote that is never closed?)" : "");
                s->cap = RILL_MIN(s->cap * 2, MAX_LINE);
                s->buf = rill__xrealloc(s->buf, s->cap);
            }
            if (rill__fault(RILL_FAULT_READ))
                return rill__err_set(s->err, RILL_EIO, "%s: read failed: %s", s->file,
                                     strerror(EIO));
            ssize_t r = read(s->fd, s->buf + s->end, RILL_MIN(s->cap - s->end, READ_CHUNK));
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                return rill__err_set(s->err, -errno, "%s: read failed: %s", s->file,
                                     strerror(errno));
            }
            if (r == 0)
                s->eof = true;
            s->end += (size_t)r;
            continue;
        }
        const char *p = s->buf + s->pos;
        s->pos += adv;
        s->scan = s->qscan = s->pos;
        s->offset += adv;
        s->line_no = s->next_line;
        s->next_line += 1 + s->inner_nl;
        s->inner_nl = 0;
        s->quote_odd = false;
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (s->line_no == 1 && n >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
            p += 3; /* a UTF-8 byte order mark */
            n -= 3;
        }
        *line = p;
        *len = n;
        return 1;
    }
}

static bool blank(const fsrc *s, const char *line, size_t len)
{
    if (s->cfg->fmt.format != RILL_FMT_JSON) /* csv.allow-comments: a '#' line is none too */
        return len == 0 || (s->cfg->dopts.allow_comments && line[0] == '#');
    for (size_t i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t')
            return false;
    return true;
}

static int handle_line(fsrc *s, const char *line, size_t len, rill_batch *b)
{
    if (blank(s, line, len))
        return 0;
    rill__parse_err pe;
    memset(&pe, 0, sizeof pe);
    pe.field = -1;
    if (s->need_header) {
        s->need_header = false;
        int rc = rill__decoder_header(&s->dec, line, len, &pe);
        if (rc)
            return rill__err_set(s->err, rc, "%s:%ld:%ld: header: %s", s->file, s->line_no,
                                 pe.column > 0 ? pe.column : 1, pe.what);
        return 0;
    }
    int rc = rill__decode_line(&s->dec, line, len, b, &pe);
    if (RILL_LIKELY(rc == 0))
        return s->cfg->n_part ? fill_partitions(s, b) : 0;
    if (rc != RILL_EPARSE)
        return rill__err_set(s->err, rc, "%s:%ld: %s", s->file, s->line_no, rill_strerror(rc));
    long col = pe.column > 0 ? pe.column : 1;
    if (s->bad.policy == RILL_BAD_FAIL && !s->cfg->skip_bad)
        return rill__err_set(s->err, RILL_EPARSE, "%s:%ld:%ld: %s", s->file, s->line_no, col,
                             pe.what);
    char at[RILL_ERRMSG_MAX];
    snprintf(at, sizeof at, "%s:%ld:%ld", s->file, s->line_no, col);
    rill__buf *where = &s->bad.where;
    where->len = 0;
    rill__buf_append(where, "\"file\":", 7);
    rill__conn_json_str(where, s->file, strlen(s->file));
    rill__buf_printf(where, ",\"line\":%ld,\"column\":%ld", s->line_no, col);
    return rill__bad_record(&s->bad, at, pe.what, line, len, s->err);
}

static int fsrc_create(const void *cfg, const rill_schema *schema, const rill__conn_init *init,
                       rill__source **out)
{
    *out = NULL;
    const fsrc_cfg *c = cfg;
    int rc = rill__fmt_check(&c->fmt, "file source", init->err);
    if (rc)
        return rc;
    char **files;
    int n;
    rc = list_files(c, &files, &n, init->err);
    if (rc)
        return rc;
    fsrc *s = rill__xcalloc(1, sizeof *s);
    s->base.ops = &rill__file_source_ops;
    s->cfg = c;
    s->schema = rill__schema_ref(schema);
    s->err = init->err;
    s->uid = rill__xstrdup(init->uid ? init->uid : "file");
    rill__bad_init(&s->bad, s->uid, init);
    s->fd = -1;
    /* subtask i of p reads splits i, i + p, ... */
    int p = init->parallelism > 0 ? init->parallelism : 1;
    s->subtask = init->subtask;
    s->par = p;
    s->splits = rill__xcalloc(n > 0 ? (size_t)n : 1, sizeof *s->splits);
    for (int i = 0; i < n; i++) {
        if (i % p == init->subtask)
            s->splits[s->n_splits++] = files[i];
        else
            free(files[i]);
    }
    free(files);
    s->cap = READ_CHUNK;
    s->buf = rill__xmalloc(s->cap);
    s->pval_off = rill__xcalloc((size_t)c->n_part + 1, sizeof *s->pval_off);
    *out = &s->base;
    return 0;
}

static int seek_to(fsrc *s, int split, uint64_t offset, int64_t line);

static int fsrc_poll(rill__source *src, rill_batch *b, int64_t *wait_ns_out)
{
    fsrc *s = (fsrc *)src;
    if (wait_ns_out)
        *wait_ns_out = 0;
    while (!rill__batch_full(b)) {
        if (s->fd < 0) {
            if (s->start_off) { /* after a restore: splits read before, or part way */
                while (s->next < s->n_splits && s->start_off[s->next] < 0)
                    s->next++;
                if (s->next < s->n_splits && s->start_off[s->next] > 0) {
                    int m = s->next;
                    int rc = seek_to(s, m, (uint64_t)s->start_off[m], s->start_line[m]);
                    s->start_off[m] = 0;
                    if (rc)
                        return rc;
                    continue;
                }
            }
            if (s->next >= s->n_splits)
                return RILL_DONE;
            int rc = open_split(s);
            if (rc)
                return rc;
        }
        const char *line = NULL;
        size_t len = 0;
        int rc = next_line(s, &line, &len);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            /* a batch holds rows of one split, so that each split keeps its own watermark */
            b->split = s->next - 1;
            b->split_done = true;
            close_split(s);
            return 0;
        }
        b->split = s->next - 1;
        rc = handle_line(s, line, len, b);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/*
 * Positions. A split's state travels with the split, named by its path, so that a restore at
 * any parallelism, again and again, gives every split to exactly one reader with the state it
 * had: Flink's split states. A reader's position lists each of its splits that is read (or
 * was, before a restore) in part or in full; a split it does not list is unread.
 *
 *   u32 POS_MAGIC, u32 n, then n times: str path, u64 offset, i64 line, u8 done
 *
 * offset is the byte position of the next unread line and line its number (done: 0 and 0).
 * The older form, 24 bytes (i64 split index, u64 offset, i64 line of the reader's current split,
 * every split before it read), is still read.
 */
#define POS_MAGIC 0x32534652u /* "RFS2" */
#define POS_LEGACY_LEN 24

#define POS_PATH_MAX 65536

/* What position says of split m of this reader: true when it names it, with its state. */
static bool split_entry(const fsrc *s, int m, uint64_t *offset, int64_t *line, bool *done)
{
    int cur = s->fd >= 0 ? s->next - 1 : s->next; /* every split before it is read */
    *offset = 0;
    *line = 0;
    *done = m < cur;
    if (m < cur)
        return true;
    if (m == cur && s->fd >= 0) {
        *offset = s->offset;
        *line = s->next_line;
        return s->offset > 0;
    }
    if (!s->start_off || s->start_off[m] == 0)
        return false; /* unread */
    *done = s->start_off[m] < 0;
    if (!*done) {
        *offset = (uint64_t)s->start_off[m];
        *line = s->start_line[m];
    }
    return true;
}

static int fsrc_position(rill__source *src, rill__buf *out)
{
    fsrc *s = (fsrc *)src;
    uint64_t offset;
    int64_t line;
    bool done;
    uint32_t n = 0;
    for (int m = 0; m < s->n_splits; m++)
        n += split_entry(s, m, &offset, &line, &done);
    rill__enc e;
    rill__enc_init(&e, out);
    rill__enc_u32(&e, POS_MAGIC);
    rill__enc_u32(&e, n);
    for (int m = 0; m < s->n_splits; m++) {
        if (!split_entry(s, m, &offset, &line, &done))
            continue;
        rill__enc_str(&e, "path", s->splits[m], POS_PATH_MAX);
        rill__enc_u64(&e, offset);
        rill__enc_i64(&e, line);
        rill__enc_u8(&e, done);
    }
    return rill__enc_finish(&e, "file source position");
}

/* One split's state, gathered from the positions a restore hands over. */
typedef struct split_state {
    const char *path; /* borrowed from the position or the split list */
    size_t path_len;
    int64_t offset; /* -1: read */
    int64_t line;
    bool guessed; /* from a finished reader, which names no split: by the listing of today */
} split_state;

typedef struct split_states {
    split_state *v;
    size_t n, cap;
} split_states;

static void states_add(split_states *st, const char *path, size_t len, int64_t offset,
                       int64_t line, bool guessed)
{
    rill__grow((void **)&st->v, &st->cap, st->n + 1, sizeof *st->v);
    st->v[st->n++] = (split_state){path, len, offset, line, guessed};
}

static int state_cmp(const void *a, const void *b)
{
    const split_state *x = a, *y = b;
    size_t n = RILL_MIN(x->path_len, y->path_len);
    int c = memcmp(x->path, y->path, n);
    return c ? c : (x->path_len > y->path_len) - (x->path_len < y->path_len);
}

static int corrupt_pos(fsrc *s, const char *what)
{
    return rill__err_set(s->err, RILL_ECORRUPT, "file source '%s': a checkpointed position is "
                         "malformed (%s)", s->uid, what);
}

/* The splits one old reader's position (par: its parallelism, subtask) names, added to st. The
 * older form names them by index in this reader's listing of the files. */
static int states_read(fsrc *s, split_states *st, const void *data, size_t len, int subtask,
                       int par, char **all, int n_all)
{
    if (len == POS_LEGACY_LEN) {
        int64_t split = (int64_t)rill__le_get64(data);
        uint64_t offset = rill__le_get64((const char *)data + 8);
        int64_t line = (int64_t)rill__le_get64((const char *)data + 16);
        if (split < 0 || line < 1)
            return corrupt_pos(s, "a split index or line below its range");
        for (int g = subtask; g < n_all; g += par) {
            int64_t idx = g / par; /* its place in the old reader's list */
            if (idx < split)
                states_add(st, all[g], strlen(all[g]), -1, 0, false);
            else if (idx == split && offset > 0)
                states_add(st, all[g], strlen(all[g]), (int64_t)offset, line, false);
        }
        return 0;
    }
    rill__dec d;
    rill__dec_init(&d, data, len);
    if (rill__dec_u32(&d, "magic") != POS_MAGIC)
        return corrupt_pos(s, "not a file source position");
    uint32_t n = rill__dec_u32(&d, "count");
    for (uint32_t i = 0; i < n && d.rc == 0; i++) {
        const uint8_t *path;
        size_t plen;
        rill__dec_bytes(&d, "path", POS_PATH_MAX, &path, &plen);
        uint64_t offset = rill__dec_u64(&d, "offset");
        int64_t line = rill__dec_i64(&d, "line");
        uint8_t done = rill__dec_u8(&d, "done");
        if (d.rc)
            break;
        if (done > 1 || (!done && (offset == 0 || offset > INT64_MAX || line < 1)))
            return corrupt_pos(s, "a split state out of its range");
        states_add(st, (const char *)path, plen, done ? -1 : (int64_t)offset, line, false);
    }
    rill__err derr;
    if (rill__dec_finish(&d, "file source position", &derr) < 0)
        return corrupt_pos(s, derr.msg);
    return 0;
}

/* Each split of this reader takes the state the old readers gave it (none: unread). */
static int states_apply(fsrc *s, split_states *st)
{
    if (st->n > 1)
        qsort(st->v, st->n, sizeof *st->v, state_cmp);
    /* one state per split: a recorded state wins over a finished reader's guess (the listing
     * changed since); two recorded ones cannot both be right */
    size_t w = 0;
    for (size_t i = 0; i < st->n; i++) {
        if (w > 0 && state_cmp(&st->v[w - 1], &st->v[i]) == 0) {
            if (!st->v[w - 1].guessed && !st->v[i].guessed)
                return corrupt_pos(s, "two readers had the same split");
            if (st->v[w - 1].guessed)
                st->v[w - 1] = st->v[i];
            continue;
        }
        st->v[w++] = st->v[i];
    }
    st->n = w;
    free(s->start_off);
    free(s->start_line);
    s->start_off = rill__xcalloc((size_t)s->n_splits + 1, sizeof *s->start_off);
    s->start_line = rill__xcalloc((size_t)s->n_splits + 1, sizeof *s->start_line);
    for (int m = 0; m < s->n_splits; m++) {
        split_state key = {s->splits[m], strlen(s->splits[m]), 0, 0, false};
        const split_state *f = st->n ? bsearch(&key, st->v, st->n, sizeof *st->v, state_cmp)
                                     : NULL;
        if (f) {
            s->start_off[m] = f->offset;
            s->start_line[m] = f->line;
        }
    }
    s->next = 0;
    return 0;
}

static int fsrc_seek(rill__source *src, const void *pos, size_t len)
{
    fsrc *s = (fsrc *)src;
    split_states st = {0};
    int rc = states_read(s, &st, pos, len, 0, 1, s->splits, s->n_splits);
    if (rc == 0)
        rc = states_apply(s, &st);
    free(st.v);
    return rc;
}

/* Opens split `split` of this reader and goes to byte offset (line number line) in it. */
static int seek_to(fsrc *s, int split, uint64_t offset, int64_t line)
{
    s->next = split;
    int rc = open_split(s);
    if (rc)
        return rc;
    if (s->need_header) { /* the header still maps the columns */
        const char *hl;
        size_t hlen;
        do {
            if ((rc = next_line(s, &hl, &hlen)) <= 0)
                return rc < 0 ? rc : rill__err_set(s->err, RILL_ECORRUPT,
                                                   "%s: shorter than its checkpointed position",
                                                   s->file);
        } while (blank(s, hl, hlen));
        if ((rc = handle_line(s, hl, hlen, NULL)) < 0)
            return rc;
    }
    struct stat sb;
    if (fstat(s->fd, &sb) == 0 && (uint64_t)sb.st_size < offset)
        return rill__err_set(s->err, RILL_ECORRUPT, "%s: shorter (%lld bytes) than its "
                             "checkpointed position (byte %llu)", s->file,
                             (long long)sb.st_size, (unsigned long long)offset);
    if (lseek(s->fd, (off_t)offset, SEEK_SET) < 0)
        return rill__err_set(s->err, -errno, "%s: cannot seek to byte %llu: %s", s->file,
                             (unsigned long long)offset, strerror(errno));
    s->pos = s->end = s->scan = s->qscan = 0;
    s->eof = false;
    s->quote_odd = false;
    s->inner_nl = 0;
    s->offset = offset;
    s->next_line = line;
    return 0;
}

static int fsrc_seek_rescaled(rill__source *src, const rill__source_pos *pos, int n)
{
    fsrc *s = (fsrc *)src;
    /* the whole listing, for older positions and for finished readers, which name no split:
     * every split they had is read */
    char **all;
    int n_all;
    int rc = list_files(s->cfg, &all, &n_all, s->err);
    if (rc)
        return rc;
    split_states st = {0};
    for (int i = 0; i < n && rc == 0; i++) {
        const rill__source_pos *p = &pos[i];
        if (p->parallelism <= 0 || p->subtask < 0 || p->subtask >= p->parallelism)
            rc = corrupt_pos(s, "a subtask out of its range");
        else if (p->finished)
            for (int g = p->subtask; g < n_all; g += p->parallelism)
                states_add(&st, all[g], strlen(all[g]), -1, 0, true);
        else
            rc = states_read(s, &st, p->data, p->len, p->subtask, p->parallelism, all, n_all);
    }
    if (rc == 0)
        rc = states_apply(s, &st);
    free(st.v);
    free_list(all, n_all);
    return rc;
}

static int64_t fsrc_skipped(rill__source *src)
{
    return ((fsrc *)src)->bad.skipped;
}

static void fsrc_destroy(rill__source *src)
{
    fsrc *s = (fsrc *)src;
    if (!s)
        return;
    close_split(s);
    rill__bad_fini(&s->bad);
    free_list(s->splits, s->n_splits);
    free(s->start_off);
    free(s->start_line);
    free(s->buf);
    free(s->uid);
    rill__buf_free(&s->pvals);
    free(s->pval_off);
    rill_schema_free(s->schema);
    free(s);
}

const rill__source_ops rill__file_source_ops = {
    .kind = "file",
    .validate = fsrc_validate,
    .create = fsrc_create,
    .poll = fsrc_poll,
    .skipped = fsrc_skipped,
    .position = fsrc_position,
    .seek = fsrc_seek,
    .seek_rescaled = fsrc_seek_rescaled,
    .restore_from_all = true,
    .destroy = fsrc_destroy,
    .cfg_free = fsrc_cfg_free,
};
