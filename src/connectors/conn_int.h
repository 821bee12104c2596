/*
 * conn_int.h - connectors layer, private: helpers shared by the built-in connectors (format
 * options, JSON string escaping) and the generator's hook for the runtime's function context.
 */
#ifndef RILL_CONN_INT_H
#define RILL_CONN_INT_H

#include "connectors/connectors.h"

/* Format options with the defaults of rill.h filled in (opts NULL: CSV, header, ','). */
typedef struct rill__fmt {
    rill_format format;
    bool no_header;
    char delim;
} rill__fmt;

static inline rill__fmt rill__fmt_of(const rill_file_opts *opts)
{
    rill__fmt f = {RILL_FMT_CSV, false, ','};
    if (opts) {
        if (opts->format)
            f.format = opts->format;
        f.no_header = opts->no_header;
        if (opts->delimiter)
            f.delim = opts->delimiter;
    }
    return f;
}

/* 0, or RILL_ECONFIG with a message naming who (the connector kind) in err. */
static inline int rill__fmt_check(const rill__fmt *f, const char *who, rill__err *err)
{
    if (f->format != RILL_FMT_CSV && f->format != RILL_FMT_JSON)
        return rill__err_set(err, RILL_ECONFIG, "%s: unknown format %d (expected CSV or JSON)",
                             who, (int)f->format);
    if (f->format == RILL_FMT_CSV &&
        (f->delim == '"' || f->delim == '\n' || f->delim == '\r'))
        return rill__err_set(err, RILL_ECONFIG, "%s: invalid CSV delimiter 0x%02x", who,
                             (unsigned)(unsigned char)f->delim);
    return 0;
}

/* Appends s[0..n) as a JSON string, quotes included: control characters escaped, invalid
 * UTF-8 bytes replaced by U+FFFD so the output is always valid JSON. */
void rill__conn_json_str(rill__buf *out, const char *s, size_t n);

/* What a source does with records it cannot decode under the "skip" policy: counts them, logs
 * the first ten, and appends each to the dead-letter file (when one is set) as a JSON line
 * {"source": uid, <where>, "error": what, "record": the record's text}. */
typedef struct rill__bad_records {
    const char *uid; /* the source's (borrowed) */
    rill__bad_policy policy;
    char *dl_path; /* NULL: skipped records are only logged */
    int dl_fd;
    rill__buf dl;
    rill__buf where; /* the caller's: JSON members saying where the record was, no braces */
    int64_t skipped;
} rill__bad_records;

void rill__bad_init(rill__bad_records *br, const char *uid, const rill__conn_init *init);
/* One skipped record: at says where for the log ("in.csv:3:7"), br->where for the
 * dead-letter line. 0, or the dead-letter file's error in err. */
int rill__bad_record(rill__bad_records *br, const char *at, const char *what, const char *rec,
                     size_t len, rill__err *err);
void rill__bad_fini(rill__bad_records *br);

/*
 * The function context handed to the generator's per-row hook (rill_gen_opts.fn). By default
 * the generator gives the hook a minimal context of its own (user pointer, subtask,
 * parallelism, uid; no emitting, no state); the runtime may set its operator's context
 * instead, before the first poll. ctx NULL restores the default.
 */
void rill__generator_set_ctx(rill__source *s, rill_ctx *ctx);

/* Rows a blackhole sink instance has received (for tests). */
int64_t rill__blackhole_rows(rill__sink *s);

#endif /* RILL_CONN_INT_H */
