/*
 * fs_int.h - connectors layer, private: the filesystem sink's options (Flink's FileSystem SQL
 * connector names), partition paths (Hive style, escaped as Flink escapes them), partition
 * times and the partition commit rule. Used by eo_file_sink.c; pure functions, tested alone.
 */
#ifndef RILL_FS_INT_H
#define RILL_FS_INT_H

#include "connectors/conn_int.h"

typedef enum rill__fs_trigger {
    RILL_FS_TRIGGER_PROCESS_TIME = 0, /* creation time (wall clock) + delay < now */
    RILL_FS_TRIGGER_PARTITION_TIME,   /* partition time + delay < watermark */
} rill__fs_trigger;

/* The options beyond the directory and format. Zero means: off (sizes, intervals), none. */
typedef struct rill__fs_opts {
    char **keys; /* partition keys, in PARTITIONED BY order (n_keys of them) */
    int n_keys;
    uint64_t roll_size;        /* bytes; 0: no size rolling */
    int64_t roll_interval_ms;  /* a file open this long rolls; 0: never */
    int64_t roll_inactive_ms;  /* a file not written this long rolls; 0: never */
    int64_t check_interval_ms; /* how often the two above are checked */
    bool success_file;         /* policy success-file: partitions are committed */
    rill__fs_trigger trigger;
    int64_t delay_ms;
    char *success_name; /* "_SUCCESS" */
    char *default_name; /* a NULL or empty value's directory name */
    char *time_pattern; /* NULL: the first partition value */
    char *time_format;  /* Java DateTimeFormatter pattern; NULL: Flink's lenient default */
    bool shuffle;       /* sink.shuffle-by-partition.enable (read by the SQL layer) */
    char *part_prefix;  /* sink.part-prefix: files are "<prefix>-<subtask>-<n>"; NULL: "part" */
} rill__fs_opts;

/*
 * Parses NULL-terminated key, value pairs with Flink's names (docs/sql.md): path (a directory
 * or a file:// URI), format (csv, json), csv.field-delimiter, and the rolling, partition commit
 * and time extractor options. keys are the partition keys (may be 0). 0 with *dir_out (owned),
 * *fmt_out and *opts_out filled; or RILL_ECONFIG with a message naming the option in err.
 */
int rill__fs_parse_options(const char *const *options, const char *const *keys, int n_keys,
                           char **dir_out, rill__fmt *fmt_out, rill__fs_opts *opts_out,
                           rill__err *err);
void rill__fs_opts_free(rill__fs_opts *o);

/* Flink durations ("1 min", "30s", "100ms", "2 h", plain ms) and memory sizes ("128MB",
 * "1 kb", plain bytes): 0 or RILL_ECONFIG. */
int rill__fs_parse_duration(const char *s, int64_t *ms_out);
int rill__fs_parse_size(const char *s, uint64_t *bytes_out);

/* Appends name escaped as Flink escapes a partition path's key or value: control characters,
 * '"', '#', '%', '\'', '*', '/', ':', '=', '?', '\\', DEL, '{', '[', ']', '^' as %XX. */
void rill__fs_escape(const char *s, size_t n, rill__buf *out);
/* The inverse: %XX (two hex digits) back to its byte; anything else as it is. */
void rill__fs_unescape(const char *s, size_t n, rill__buf *out);

/*
 * A partition's time in ms since the epoch (UTC) from its relative path "k1=v1/k2=v2": the
 * pattern ("$k1 $k2:00": each $key replaced by its unescaped value, in key order; NULL: the
 * first value) parsed by format (NULL: "yyyy-M-d[ H:m:s[.fraction]]" or a date alone). 0, or
 * RILL_EPARSE with a message naming the partition and the text in err.
 */
int rill__fs_partition_time(const rill__fs_opts *o, const char *rel, int64_t *ms_out,
                            rill__err *err);

/* The commit rule: may partition rel, whose data a completed checkpoint holds, be committed
 * with watermark wm (of that checkpoint's barrier; INT64_MAX at the end of input) at wall
 * time now, when it was first written at created_ms? 1 yes, 0 no, or RILL_EPARSE (err). */
int rill__fs_committable(const rill__fs_opts *o, const char *rel, int64_t created_ms, int64_t wm,
                         int64_t now, rill__err *err);

#endif /* RILL_FS_INT_H */
