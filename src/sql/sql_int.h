/*
 * sql_int.h - structs private to the sql layer: the session (options, catalog), the catalog's
 * tables and views, the relational plan the binder makes from a query, and how a plan becomes
 * streams of a job graph.
 */
#ifndef RILL_SQL_INT_H
#define RILL_SQL_INT_H

#include "ast.h"
#include "base/dec128.h"
#include "plan.h"

/* ---- the catalog ----------------------------------------------------------------------------- */

/* A column of a table as the planner sees it: its logical type, and for a physical column its
 * leaves' places in the source's flat schema (a nested ROW has one leaf per primitive field). */
typedef struct sql_col {
    const char *name;
    const rill__sql_ltype *type;
    rill__sql_col_kind kind;
    const rill__sql_expr *expr; /* COMPUTED: as written (bound against the physical columns) */
    const char *metadata_key;   /* METADATA: the key (its name when FROM is not given) */
    bool is_virtual;
} sql_col;

typedef struct sql_option {
    const char *key, *value;
} sql_option;

typedef struct sql_table {
    const char *name;
    rill__sql_ast *ast; /* the CREATE TABLE it was made by (owns the names and expressions) */
    rill__arena arena;  /* its types */
    size_t n_cols;
    sql_col *cols;
    int watermark_col; /* -1: none */
    const rill__sql_expr *watermark;
    size_t n_pk;
    int *pk;
    size_t n_options;
    sql_option *options;
    bool hinted; /* a statement's copy with its OPTIONS hints (rill__sql_hinted_table) */
    bool temporary;
    int seq; /* the session's count of tables created before it: what a job's projection
              * push-down (prune.c) knows it by across the dry run and the real one */
} sql_table;

typedef struct sql_view {
    const char *name;
    rill__sql_ast *ast; /* the CREATE VIEW (its query, and the text it points into) */
    bool temporary;
} sql_view;

/* A function of CREATE FUNCTION: a C function from a shared library (udf.c). */
typedef struct sql_function {
    const char *name;
    rill__sql_ast *ast;
    bool system;             /* TEMPORARY SYSTEM: before the built-ins */
    void *lib;               /* the library's handle (dlopen) */
    struct rill__sql_fn *fn; /* what the binder and evaluator use (its user: the rill_udf) */
    rill__arena arena;       /* fn, its types */
} sql_function;

/* A session: the SET options, the catalog, and the job's env while statements build it. */
typedef struct rill__sql_session {
    rill_env *env;
    sql_option *opts; /* SET key = value, in order (keys unique) */
    size_t n_opts, cap_opts;
    sql_table **tables;
    size_t n_tables, cap_tables;
    sql_view **views;
    size_t n_views, cap_views;
    sql_function **functions;
    size_t n_functions, cap_functions;
    int n_sinks;      /* INSERTs and SELECTs planned into the env */
    int n_group_aggs; /* GROUP BY aggregations planned (their state's names) */
    int n_joins;      /* joins planned (their state's names) */
    /* sources built into scan_env: a table read by several statements is read once (a
     * shared sub-plan), its stream fanned out */
    rill_env *scan_env;
    struct sql_scan {
        const struct sql_table *table;
        rill_stream *stream;
    } * scans;
    size_t n_scans, cap_scans;
    /* relations built into scan_env, by digest (reuse.c): a sub-plan two statements share is
     * built once, its stream fanned out */
    struct sql_subplan {
        char *digest;
        rill_stream *stream;
    } * subplans;
    size_t n_subplans, cap_subplans;
    /* the paths of the filesystem sinks built into fs_sinks_env: the second sink writing a
     * directory gets a part file prefix of its own (script.c) */
    rill_env *fs_sinks_env;
    char **fs_sinks;
    size_t n_fs_sinks, cap_fs_sinks;
    /* projection push-down (prune.c): the leaves of each table the job's statements use, found
     * by a dry run of them before any source is built (a shared source produces their union) */
    struct sql_need *needs;
    size_t n_needs, cap_needs;
    bool dry;          /* planning only, to fill needs: nothing is built or printed */
    bool needs_failed; /* the dry run stopped early: no source is pruned */
    int n_created;     /* tables created so far (sql_table.seq) */
    FILE *out;         /* where SHOW, DESCRIBE and the like print (stdout) */
    /* a session of rill__sql_session_new (statements run as they come, a job each); else one
     * job of the whole script (rill__sql_run_script) */
    bool per_statement;
    rill__sql_env_fn make_env;
    void *env_arg;
    rill__sql_rows_cb rows; /* rows.row: where SELECTs' rows go (else the print connector) */
} rill__sql_session;

const sql_option *rill__sql_table_option(const sql_table *t, const char *key);
/* The value of a SET key in the session (NULL: not set). */
const char *rill__sql_session_option(const rill__sql_session *s, const char *key);
sql_table *rill__sql_find_table(rill__sql_session *s, const char *name);
sql_view *rill__sql_find_view(rill__sql_session *s, const char *name);
/* Adds CREATE TABLE ast (taken over on success). */
int rill__sql_catalog_create_table(rill__sql_session *s, rill__sql_ast *ast, rill__err *err);
int rill__sql_catalog_create_view(rill__sql_session *s, rill__sql_ast *ast, rill__err *err);
int rill__sql_catalog_drop(rill__sql_session *s, const rill__sql_stmt *st, const char *text,
                           rill__err *err);
void rill__sql_catalog_free(rill__sql_session *s);
/* CREATE FUNCTION (ast taken over on success) and DROP FUNCTION; a function by its name (any
 * case), system ones or the others. */
int rill__sql_catalog_create_function(rill__sql_session *s, rill__sql_ast *ast, rill__err *err);
int rill__sql_catalog_drop_function(rill__sql_session *s, const rill__sql_stmt *st,
                                    const char *text, rill__err *err);
void rill__sql_function_free(sql_function *f);
const struct rill__sql_fn *rill__sql_find_function(rill__sql_session *s, const char *name,
                                                   bool system);
/* The logical type of a type as written. */
const rill__sql_ltype *rill__sql_ltype_of(rill__arena *a, const rill__sql_type *t);

/* ---- the relational plan ------------------------------------------------------------------- */

typedef enum rel_kind {
    REL_SCAN,       /* a table's source: its physical columns (flat), then computed ones */
    REL_CALC,       /* a filter and projections of its input */
    REL_WINDOW_TVF, /* TUMBLE / HOP / CUMULATE over its input: window_start, window_end,
                       window_time added (only under a window aggregation so far) */
    REL_WINDOW_AGG, /* GROUP BY keys, window_start, window_end of a window TVF: the keys, the
                       window's start and end, then one column per aggregate */
    REL_GROUP_AGG,  /* GROUP BY keys of an append-only input: the keys, then one column per
                       aggregate, as a changelog (+I, then -U/+U as a group changes) */
    REL_VALUES,     /* VALUES (...), (...): n_rows rows of literals (rows[i * n_cols + c]) */
    REL_LIMIT,      /* LIMIT / OFFSET of an append-only input: its rows after the first
                       `offset`, at most `limit` of them (-1: no limit), in arrival order */
    REL_UNION,      /* UNION ALL: the rows of inputs[0..n_inputs), of the same column types */
    REL_RANK,       /* ROW_NUMBER() OVER (PARTITION BY .. ORDER BY ..) kept to a range of ranks:
                       Top-N or deduplication (rank.c); the input's columns, then the rank
                       when the query reads it */
    REL_JOIN,       /* a regular join of inputs[0] (left) and inputs[1] (right): the left's
                       columns, then the right's (time attributes made plain timestamps; the
                       columns of a side an outer join pads nullable) */
    REL_MATCH,      /* MATCH_RECOGNIZE of an append-only input (match.c): the partition's
                       columns, then the measures; one row per match */
    REL_OVER,       /* AGG(x) OVER (PARTITION BY .. ORDER BY t ROWS|RANGE .. PRECEDING) (over.c):
                       the input's columns, then one column per aggregate (aggs) */
} rel_kind;

typedef enum rel_agg_kind {
    AGG_COUNT_STAR, /* COUNT(*): rows */
    AGG_COUNT,      /* COUNT(x): rows where x is not NULL */
    AGG_SUM,
    AGG_MIN,
    AGG_MAX,
    AGG_AVG,
} rel_agg_kind;

typedef struct rel_agg {
    rel_agg_kind kind;
    int arg; /* the input column (-1 for COUNT(*)) */
    const rill__sql_ltype *type;
    bool distinct;     /* AGG(DISTINCT x): over the distinct values of x (FILTER (WHERE f) is made
                        * AGG(CASE WHEN f THEN x END) by the binder) */
    rill__sql_pos pos; /* the call's, for errors */
} rel_agg;

/* One output column of a relation: its name (for * and for names outside) and type; a ROW
 * typed column is there as its leaves (path "bid.price"), its own name resolving to none. */
typedef struct rel_col {
    const char *name;
    const rill__sql_ltype *type;
    const char *qual; /* the FROM item it comes from (its alias or table name), for t.col; NULL
                       * for a column no FROM item names */
    bool hidden;      /* a side's column of a JOIN ... USING: named t.col only (the one merged
                       * column answers col and *) */
} rel_col;

/* A ranking (REL_RANK): ROW_NUMBER() OVER (PARTITION BY part ORDER BY order), its rows kept
 * while their rank is in [start, end] (ranged: the query over it said so). */
typedef struct rel_rank {
    int n_part, n_order;
    int *part, *order; /* columns of the input */
    bool *desc, *nulls_first;
    int64_t start, end;
    bool ranged;
    bool out_rank;              /* the rank is the last column (else the input's only) */
    const rill__sql_expr *call; /* the OVER call, which binds to the rank column */
    const char *text;           /* the script its position points into */
    int n_in;                   /* the input's columns */
} rel_rank;

/* An OVER aggregation (REL_OVER): its aggregates (rel.aggs) over each row's frame, the rows
 * of its partition ordered by the time column `order` from `preceding` rows (ROWS) or ms
 * (RANGE) before the row (-1: UNBOUNDED) to the row. */
typedef enum rel_over_time {
    OVER_ROWTIME,  /* an event-time attribute: rows wait for the watermark, in time order */
    OVER_PROCTIME, /* a processing-time attribute: rows as they come */
    OVER_VALUE,    /* an updating input, ordered by the column's value (beyond Flink) */
} rel_over_time;

typedef struct rel_over {
    int n_part;
    int *part; /* columns of the input */
    int order;
    rel_over_time time;
    bool rows; /* ROWS (else RANGE) */
    int64_t preceding;
    int n_calls;
    const rill__sql_expr **calls; /* the OVER calls, each binding to its aggregate's column */
    int *call_agg;
    int n_in; /* the input's columns */
} rel_over;

typedef struct rel rel;
struct rel {
    rel_kind kind;
    bool updates; /* its rows are a changelog with updates (-U/+U), not only inserts */
    int n_cols;
    rel_col *cols;
    rel *input; /* NULL for a SCAN, VALUES, UNION */
    /* UNION: its inputs (every other kind has one, or none) */
    rel **inputs;
    int n_inputs;
    /* SCAN, or the CALC of a table's computed columns: event time from column et_col, with
     * watermarks et_delay ms behind the largest timestamp (the table's WATERMARK) */
    bool has_et;
    int et_col;
    int64_t et_delay;
    /* SCAN */
    sql_table *table;
    int *leaves;  /* after projection push-down: the table leaf each column is (NULL: the i-th) */
    int n_leaves; /* the table's leaves (the scan before push-down) */
    /* CALC */
    rill__sql_rex *filter;
    rill__sql_rex **outs;
    bool named; /* its fields are named as its columns (what a sink names fields by) */
    /* WINDOW_TVF and WINDOW_AGG: the time column (of the input), the window */
    int time_col;
    rill_window_spec window;
    /* LIMIT */
    int64_t limit, offset;
    /* VALUES */
    int n_rows;
    rill__sql_rex **rows;
    /* WINDOW_AGG: the key columns of the input, the aggregates */
    int n_keys;
    int *keys;
    /* WINDOW_AGG of a window aggregation's rows grouped by its window (a cascade): keys
     * cas_start and cas_end are that window's start and end, of window cas_window */
    int cas_start, cas_end;
    const rill_window_spec *cas_window;
    int n_aggs;
    rel_agg *aggs;
    /* RANK */
    struct rel_rank *rank;
    /* OVER */
    struct rel_over *over;
    /* JOIN: its kind (RILL_SQL_J_INNER, _LEFT, _RIGHT, _FULL); the equi-join keys, the left's
     * lkeys[i] (over the left input) equal to the right's rkeys[i] (over the right), of one
     * type; what else the ON clause asks of a pair (over the join's columns), or NULL */
    int join_kind;
    int n_jkeys;
    rill__sql_rex **lkeys, **rkeys;
    rill__sql_rex *cond;
    /* a window join (both inputs windowed alike, joined on window_start and window_end): the
     * key that is window_end, and the window (else we_key -1) */
    int we_key;
    const rill_window_spec *jwindow;
    /* an interval join (both inputs append-only, a rowtime attribute of each bounded against
     * the other's: ilo <= left's lt_col - right's rt_col <= ihi, in ms) */
    bool interval;
    int lt_col, rt_col;
    int64_t ilo, ihi;
    int i_we;    /* bit 0 (left), 1 (right): that time is a window aggregation's window_end */
    bool i_proc; /* both times are PROCTIME() attributes: the bounds hold between the rows'
                  * arrival times at the join (Flink's processing-time interval join) */
    /* an event-time temporal join (right FOR SYSTEM_TIME AS OF the left's rowtime lt_col): the
     * right's versions by its rowtime rt_col */
    bool temporal;
    /* a lookup join (right FOR SYSTEM_TIME AS OF the left's PROCTIME()): inputs[1] is the
     * scan of a filesystem table, read whole by the operator, not a stream */
    bool lookup;
    /* MATCH */
    struct rel_match *match;
};

/* Aggregates met while binding a select list over a grouped input: each becomes a column of
 * the aggregation (after its keys and window columns). */
typedef struct agg_ctx {
    const rel *input; /* what the aggregates' arguments are bound against */
    int first_col;    /* the aggregation's column of the first aggregate */
    int n_aggs, cap_aggs;
    rel_agg *aggs;
    /* arguments that are expressions: computed by a calc before the aggregation, as columns
     * after the input's (an aggregate's arg is input->n_cols + i) */
    int n_exprs, cap_exprs;
    rill__sql_rex **exprs;
    int expr_base; /* the first such column: the columns of the aggregation's input */
    /* GROUP BY expressions (not plain columns): their text as printed, and the column of the
     * aggregation that holds each (an expression of the select list written the same is it) */
    int n_group_exprs;
    const char **group_texts;
    int *group_cols;
    /* a legacy group window (GROUP BY TUMBLE(ts, size)...): the call, whose auxiliary
     * functions (TUMBLE_START, TUMBLE_END...) are the view's window_start and window_end */
    const rill__sql_expr *legacy;
} agg_ctx;

/* A query planning context: the arena everything lives in, and the text positions point into. */
typedef struct plan_ctx {
    rill__sql_session *s;
    rill__arena *a;
    const char *text;
    rill__err *err;
    agg_ctx *agg; /* binding over an aggregation: its aggregates (else NULL) */
    /* the WITH queries in scope, innermost last (names hide tables and views) */
    const rill__sql_cte **ctes;
    int n_ctes, cap_ctes;
    /* stable operator uids: "<prefix>/<what>-<k>#<digest of what its state depends on>" */
    const char *uid_prefix; /* the statement's: "insert-<table>", "select-<n>" */
    int n_uids;
    /* while binding MATCH_RECOGNIZE's DEFINE and MEASURES (match.c): tried on every expression
     * first; 1 with *out set, 0 to bind it as usual, -1 with err set */
    int (*bind_hook)(struct plan_ctx *pc, const rel *in, const rill__sql_expr *e,
                     rill__sql_rex **out);
    void *hook_arg;
} plan_ctx;

/* Gives the operator that made s a uid derived from the plan: the statement's prefix, what it
 * is and its place among the statement's stateful operators, and a digest of desc (what its
 * state's meaning depends on: keys, aggregates and their types, window, connector). A query
 * changed so that an operator's state no longer fits changes the digest: the restore then
 * refuses the savepoint naming the operator (jobmanager.c); an unchanged operator keeps its
 * uid and its state. s is returned. */
rill_stream *rill__sql_uid(plan_ctx *pc, rill_stream *s, const char *what, const char *desc);
/* The relation of a view's query (its columns for DESCRIBE). */
rel *rill__sql_plan_view(plan_ctx *pc, sql_view *v);
/* t as a statement sees it through its table hints: OPTIONS('k' = 'v', ...) (Flink's dynamic
 * table options) add to or override its WITH options. t itself when there are none or they
 * change nothing, else a copy in pc's arena sharing t's columns and syntax tree; NULL, err set,
 * for another hint or when table.dynamic-table-options.enabled is false. */
sql_table *rill__sql_hinted_table(plan_ctx *pc, sql_table *t, const rill__sql_hint *hints,
                                  size_t n_hints);
/* INSERT INTO t (a, c) query (script.c): q's columns put into the listed columns, in order, and
 * NULL into t's other physical columns (Flink's rules: each listed once, a physical column, as
 * many as q has; a NOT NULL column left out is refused); q itself without a list. NULL, err
 * set, when the list does not fit. */
rel *rill__sql_insert_columns(plan_ctx *pc, const rill__sql_stmt *st, const sql_table *t, rel *q);
/* What column col of r is computed from, printed as an expression over the tables' columns
 * ("t.a", "MOD(t.id, 3)"): through calcs (their filters are no part of it), window TVFs, LIMITs,
 * rankings, joins and unions; an aggregation's or VALUES' column by its name. What a stateful
 * operator's uid digests of its keys and arguments (explain.c). */
void rill__sql_put_lineage(rill__buf *b, const rel *r, int col);
/* The same of an expression over the columns of in. */
void rill__sql_put_rex_lineage(rill__buf *b, const rel *in, const rill__sql_rex *x);
/* The type of a table's computed column, as its expression types it (NULL, err set: it does not
 * bind). */
const rill__sql_ltype *rill__sql_computed_type(plan_ctx *pc, sql_table *t, const sql_col *c);
/* The 32-bit digest of desc uids carry. */
unsigned rill__sql_digest(const char *desc);
/* What a table's source or sink state belongs to: its connector and the options naming where
 * the data is (path, topic, servers, delivery guarantee; a generator's every option). */
const char *rill__sql_table_identity(rill__arena *a, const sql_table *t);
/* An upsert-kafka table's checks (Flink's): a PRIMARY KEY, 'key.format' and 'value.format', no
 * 'key.fields'. 0, or the error (naming the table, at pos in text) in err. */
int rill__sql_upsert_kafka_check(const char *text, rill__err *err, const sql_table *t,
                                 rill__sql_pos pos);

/* The window TVF of FROM TABLE(TUMBLE(...)) etc.; the window aggregation of a grouped query
 * over one; its streams (window.c). NULL with err set. */
rel *rill__sql_plan_tvf(plan_ctx *pc, const rill__sql_from *f,
                        rel *(*plan_from)(plan_ctx *, const rill__sql_from *));
rel *rill__sql_plan_window_agg(plan_ctx *pc, const rill__sql_query *q, rel *tvf);
rill_stream *rill__sql_build_window_agg(plan_ctx *pc, rel *r);
/* s, whose first column is a constant key added to key a one-group operator, as r's columns
 * (that column dropped by a calc). */
rill_stream *rill__sql_drop_key_col(plan_ctx *pc, rill_stream *s, const rel *r);
/* The rows of in through a calc of outs (n columns: cols), keyed by the first n_keys of them:
 * what an aggregation reads. NULL with err set. */
rill_keyed_stream *rill__sql_keyed_input(plan_ctx *pc, const rel *in, int n, const rel_col *cols,
                                         rill__sql_rex *const *outs, int n_keys);
/* What a partitioned operator (a Top-N, an OVER aggregation, a MATCH_RECOGNIZE, a join's side)
 * reads: the rows of in keyed by n_part keys, then in's columns; one constant BIGINT key when
 * n_part is 0 (every row to one subtask). Key i is in's column part[i] (keys NULL), or the
 * expression keys[i] over in (part NULL). *cols_out: the columns, RILL_MAX(n_part, 1) keys then
 * in's. NULL with err set. */
rill_keyed_stream *rill__sql_partitioned_input(plan_ctx *pc, const rel *in, int n_part,
                                               const int *part, rill__sql_rex *const *keys,
                                               const rel_col **cols_out);
/* A filesystem table's path and file options (its 'path', 'format' and format options, or
 * their legacy keys): 0, or RILL_ECONFIG naming the table in pc->err (planner.c). */
int rill__sql_fs_options(plan_ctx *pc, const sql_table *t, const char **path_out,
                         rill_file_opts *fo);
/* A lookup join (lookup.c): the rows of inputs[0] joined with the filesystem table read by
 * inputs[1] (its scan), read whole by each subtask. */
rill_stream *rill__sql_build_lookup(plan_ctx *pc, rel *r);
/* SET 'table.exec.state.ttl' in ms (0: none), or RILL_ECONFIG in pc->err (group_agg.c). */
int rill__sql_state_ttl(plan_ctx *pc, int64_t *ttl);
const char *rill__sql_join_kind_name(int kind);
/* A GROUP BY's aggregation over an append-only input (group_agg.c). */
rill_stream *rill__sql_build_group_agg(plan_ctx *pc, rel *r);
/* A window aggregation of r with SQL's accumulators (group_agg.c): over ks (keyed by its first
 * n_keys columns, then each aggregate's argument), its rows the keys, window_start, window_end
 * and the aggregates in their types. */
rill_stream *rill__sql_window_agg_sql(plan_ctx *pc, rel *r, rill_keyed_stream *ks, int n_keys,
                                      const rill__sql_ltype **key_types,
                                      const rill__sql_ltype **arg_types);
/* The milliseconds of an INTERVAL literal of one unit (DAY, HOUR, MINUTE, SECOND with a
 * fraction), or -1 with err set (the place named). */
int64_t rill__sql_interval_ms(plan_ctx *pc, const rill__sql_expr *e);

/* Projection push-down (prune.c). collect records in the session which leaves of each table
 * root reads (through every rel kind it knows; the others need all their input's columns);
 * apply narrows every scan under root to the union the session recorded for its table and
 * rewrites what reads the scan to match (err set and -1 when a scan needs a leaf the union
 * lacks). needs_reset forgets them (a new job); push_down does both for one query alone
 * (EXPLAIN). */
void rill__sql_prune_collect(plan_ctx *pc, rel *root);
int rill__sql_prune_apply(plan_ctx *pc, rel *root);
void rill__sql_needs_reset(rill__sql_session *s);
int rill__sql_push_down(plan_ctx *pc, rel *root);
/* The columns of a table's scan before push-down: every physical and metadata leaf. */
void rill__sql_full_scan(plan_ctx *pc, rel *scan);
/* The value SET gave key in this session, or dflt. */
const char *rill__sql_set_value(const rill__sql_session *s, const char *key, const char *dflt);
/* Whether SET 'table.optimizer.source.projection-pushdown-enabled' leaves it on (default). */
bool rill__sql_pushdown_enabled(const rill__sql_session *s);

/* Shared sub-plans (reuse.c). job_caches empties the shared sources and sub-plans when the
 * session's env is a new job's. reuse_find gives the stream already built into this job for
 * a relation the same as r, or NULL with *digest set to r's (NULL when reuse is off) for
 * reuse_put to record r's stream under once it is built (put takes digest). reuse_check:
 * the option's value is true or false, else RILL_ECONFIG in err. */
void rill__sql_job_caches(rill__sql_session *s);
void rill__sql_reuse_reset(rill__sql_session *s);
rill_stream *rill__sql_reuse_find(plan_ctx *pc, const rel *r, char **digest);
void rill__sql_reuse_put(rill__sql_session *s, char *digest, rill_stream *st);
int rill__sql_reuse_check(const rill__sql_session *s, rill__err *err);
bool rill__sql_reuse_enabled(const rill__sql_session *s);
/* r's digest (malloc'd): the same for relations built into the same stream. by_name: functions
 * by their names, not the loaded copies (for the dry run, whose catalog is another). */
char *rill__sql_rel_digest(plan_ctx *pc, const rel *r, bool by_name);

/* Packed rows (packed.c): a Top-N's and an OVER aggregation's rows in keyed state. A row's n
 * columns: a bit per column (NULL), then each value that is not NULL: its 8-byte slot, or (a
 * value in the byte area) its 4-byte length and bytes. Equal rows pack equally (what a
 * retraction is found by). Savepoints hold this layout: it must not change. Not the data
 * layer's rill__row_encode, which keeps every slot of a whole row of one schema: here the keys
 * before the columns are left out, a column is read from the bytes as they are (packed_field),
 * and a row is unpacked into a row of another schema (with more columns after). init: the
 * packing of columns cols (in a). pack appends fields first.. of row; unpack fills fields 0..
 * of out (byte-area values copied into its batch: 0, or the batch's error). index: the
 * offsets in *at (grown, *cap) of the packed rows in b (len bytes), each after prefix bytes of
 * the caller's; their count. */
typedef struct rill__sql_packing {
    int n;          /* columns */
    bool *in_bytes; /* per column: its value lives in the byte area */
} rill__sql_packing;
/* A column of a packed row: NULL, a slot, or n bytes at p (borrowed from the packed row). */
typedef struct rill__sql_packed_val {
    bool null;
    uint64_t slot;
    const unsigned char *p;
    uint32_t n;
} rill__sql_packed_val;
void rill__sql_packing_init(rill__arena *a, rill__sql_packing *pk, int n, const rel_col *cols);
void rill__sql_pack(const rill__sql_packing *pk, const rill_row *row, int first, rill__buf *b);
size_t rill__sql_packed_len(const rill__sql_packing *pk, const unsigned char *e);
rill__sql_packed_val rill__sql_packed_field(const rill__sql_packing *pk, const unsigned char *e,
                                            int i);
int rill__sql_unpack(const rill__sql_packing *pk, const unsigned char *e, rill_row *out);
size_t rill__sql_packed_index(const rill__sql_packing *pk, size_t prefix, const unsigned char *b,
                              size_t len, size_t **at, size_t *cap);

/* Top-N and deduplication (rank.c): ROW_NUMBER() OVER (...) in a select list and a filter on
 * it in the query over it. has_rank: q's select list ranks. plan_rank: the ranking of q's rows
 * (its WHERE applied first) over in; its last column is the rank, which binding the OVER call
 * (bind_over) resolves to. rank_filter: the rank bounds of the filter of calc c (a query over
 * a ranking) taken into the ranking below it. rank_check: every ranking under root has its
 * bounds (else err naming the OVER call). build_rank: its stream; explain_rank: its EXPLAIN
 * text (state: rill's state line after Flink's); rank_digest: what a shared sub-plan tells
 * it by; rank_changelog: the row kinds it emits (1 I, 2 UB/UA, 4 D: explain.c's bits). */
bool rill__sql_has_rank(const rill__sql_query *q);
rel *rill__sql_plan_rank(plan_ctx *pc, const rill__sql_query *q, rel *in);
rill__sql_rex *rill__sql_bind_over(plan_ctx *pc, const rel *in, const rill__sql_expr *e);
int rill__sql_rank_filter(plan_ctx *pc, rel *c);
int rill__sql_rank_check(plan_ctx *pc, const rel *root);
rill_stream *rill__sql_build_rank(plan_ctx *pc, rel *r);
void rill__sql_explain_rank(rill__buf *b, const rel *r, int par, bool state);
void rill__sql_rank_digest(rill__buf *b, const rel *r);
int rill__sql_rank_changelog(const rel *r);
/* The window column col of r is of (through calcs): its window, *prop 1 (window_start) or 2
 * (window_end), *agg: carried by a window aggregation's rows; NULL when none (join.c). */
const rill_window_spec *rill__sql_window_of(const rel *r, int col, int *prop, bool *agg);
/* in's rows where x (over in's columns) is TRUE: a calc passing every column (planner.c).
 * where: the same for a WHERE clause, bound over in and checked to be a condition (NULL with
 * the error set when it is not). */
rel *rill__sql_filtered(plan_ctx *pc, rel *in, rill__sql_rex *x);
rel *rill__sql_where(plan_ctx *pc, rel *in, const rill__sql_expr *where);
/* Appends the conjuncts of x (its AND tree flattened) to *v (grown in a; n, cap). */
void rill__sql_conjuncts(rill__arena *a, rill__sql_rex *x, rill__sql_rex ***v, int *n, int *cap);
/* A copy of x with its input columns renumbered by map (x itself when none changes). */
rill__sql_rex *rill__sql_rex_remap(rill__arena *a, rill__sql_rex *x, const int *map);
/* A copy of x with each input column (a RILL_SQLX_INPUT node) as leaf(a, it, arg) makes it: x
 * itself, and the nodes above no changed leaf, where nothing changes (prune.c). */
rill__sql_rex *rill__sql_rex_map_inputs(rill__arena *a, rill__sql_rex *x,
                                        rill__sql_rex *(*leaf)(rill__arena *, rill__sql_rex *,
                                                               const void *),
                                        const void *arg);

/* OVER aggregations (over.c). has_over: q's select list has an aggregate OVER a window.
 * plan_over: the aggregation of q's rows (its WHERE applied first) over in, its aggregates as
 * columns after the input's that the OVER calls bind to (bind_over_agg). The others as for a
 * ranking. */
bool rill__sql_has_over(const rill__sql_query *q);
rel *rill__sql_plan_over(plan_ctx *pc, const rill__sql_query *q, rel *in);
rill__sql_rex *rill__sql_bind_over_agg(plan_ctx *pc, const rel *in, const rill__sql_expr *e);
rill_stream *rill__sql_build_over(plan_ctx *pc, rel *r);
void rill__sql_explain_over(rill__buf *b, const rel *r, int par, bool state);
void rill__sql_over_digest(rill__buf *b, const rel *r);
int rill__sql_over_changelog(const rel *r);
/* An accumulator of COUNT, SUM, MIN, MAX, AVG over values of type t (group_agg.c's): its
 * result of type rt into field f of out. 0 or negative. */
typedef struct rill__sql_acc {
    int64_t n;
    int64_t i;
    double d;
    unsigned char dec[16];
} rill__sql_acc;
int rill__sql_acc_put(rel_agg_kind kind, const rill__sql_ltype *rt, const rill__sql_ltype *t,
                      const rill__sql_acc *a, rill_row *out, int f);

/* Regular joins (join.c): the relation of a FROM item `a JOIN b ON c` (its inputs planned by
 * plan_from), the rule moving a filter over an inner join into it, the stream. */
rel *rill__sql_plan_join(plan_ctx *pc, const rill__sql_from *f,
                         rel *(*plan_from)(plan_ctx *, const rill__sql_from *));
void rill__sql_join_rules(plan_ctx *pc, rel *r);
rill_stream *rill__sql_build_join(plan_ctx *pc, rel *r);

/* MATCH_RECOGNIZE (match.c): the relation of a FROM item `t MATCH_RECOGNIZE (...)`, its stream,
 * its EXPLAIN text (Flink's Match(...)) and what a shared sub-plan tells it by. */
rel *rill__sql_plan_match(plan_ctx *pc, const rill__sql_from *f,
                          rel *(*plan_from)(plan_ctx *, const rill__sql_from *));
rill_stream *rill__sql_build_match(plan_ctx *pc, rel *r);
void rill__sql_explain_match(rill__buf *b, const rel *r, int par);
void rill__sql_match_digest(rill__buf *b, const rel *r);
/* Marks in in_used the columns of its input the MATCH_RECOGNIZE r reads (prune.c's push-down;
 * the others reach it as NULLs). */
void rill__sql_match_needs(const rel *r, bool *in_used);

/* The plan of a query (NULL with err set). */
rel *rill__sql_plan_query(plan_ctx *pc, const rill__sql_query *q);
/* The rows of rel as a stream (NULL with err set). */
rill_stream *rill__sql_build(plan_ctx *pc, rel *r);
/* Binds an expression over the columns of in (NULL with err set). */
rill__sql_rex *rill__sql_bind(plan_ctx *pc, const rel *in, const rill__sql_expr *e);
/* l = r, both cast to their common type (NULL with err set when they have none). */
rill__sql_rex *rill__sql_equals(plan_ctx *pc, rill__sql_rex *l, rill__sql_rex *r,
                                rill__sql_pos pos);
/* Whether n names a column of in (a whole ROW, or ambiguously, counts). */
bool rill__sql_names_column(const rel *in, const rill__sql_name *n);
/* Prints "rill: warning: <what> at line L, column C:" and the line to stderr, unless this is
 * the dry run of push-down (which plans every statement once more). */
void rill__sql_warn(plan_ctx *pc, rill__sql_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* x cast to type t (x itself when it has that type already). */
rill__sql_rex *rill__sql_cast_to(plan_ctx *pc, rill__sql_rex *x, const rill__sql_ltype *t);
const char *rill__sql_session_zone(const rill__sql_session *s);
/* The flat schema of ltype columns, or NULL with err naming the first type with no slot kind. */
rill_schema *rill__sql_schema_of(plan_ctx *pc, int n, const rel_col *cols);
/* The same with the columns' names as the fields' (they must be unique). */
rill_schema *rill__sql_named_schema_of(plan_ctx *pc, int n, const rel_col *cols);

/* EXPLAIN of a query or an INSERT: the plan printed to out (Flink's tree shape, with the
 * engine's parallelism, keys, state and watermarks). */
int rill__sql_explain(plan_ctx *pc, const rill__sql_stmt *st, FILE *out);

/* A table's options but 'connector' as NULL-terminated key, value pairs (the connectors'
 * form), with room for extra more pairs; the pairs' count (times 2) in *n_out. */
/* Refuses the options of a filesystem, print or blackhole table that its connector does not
 * have, listing them as Flink does (table_options.c); other connectors check their own. 0 or
 * RILL_ECONFIG with err set. */
int rill__sql_check_table_options(plan_ctx *pc, const sql_table *t, const char *conn);
/* The filesystem source's csv.* / json.* options into fo (its format already set), dopts (its
 * strings borrowed from t) and skip_bad (ignore-parse-errors). 0, or -1 with err set. */
int rill__sql_fs_source_format(plan_ctx *pc, const sql_table *t, rill_file_opts *fo,
                               rill__decode_opts *dopts, bool *skip_bad);
const char **rill__sql_connector_options(rill__arena *a, const sql_table *t, size_t extra,
                                         size_t *n_out);

/* ---- sinks ------------------------------------------------------------------------------------
 */

/* Flink's print connector: each row as "+I[a, b]" (with "N> " before it at parallelism > 1
 * and the print-identifier's "id:" before that), Java's text for each value, to stdout. */
rill_stream *rill__sql_print_sink(rill_stream *in, int n, const rel_col *cols,
                                  const char *identifier);
extern const rill__sink_ops rill__sql_print_sink_ops;
/* The same formatting, each row handed to rows->row (copied) instead of printed. */
rill_stream *rill__sql_rows_sink(rill_stream *in, int n, const rel_col *cols,
                                 const rill__sql_rows_cb *rows);
/* Flink's tableau width of a column of type t (sql-client.display.max-column-width, 30, for
 * the types of no fixed width). */
#define RILL_SQL_MAX_COLUMN_WIDTH 30
int rill__sql_display_width(const rill__sql_ltype *t);
/* Java's Double.toString, and LocalDateTime.toString / Instant.toString (of ms, or ns with
 * nanos), appended. */
void rill__sql_java_double(rill__buf *out, double d);
void rill__sql_java_float(rill__buf *out, float f);
/* BigDecimal.toString of an unscaled value and scale: plain unless the exponent is below -6. */
void rill__sql_java_bigdecimal(rill__buf *out, rill__i128 v, int scale);
void rill__sql_java_datetime(rill__buf *out, int64_t v, bool nanos, bool instant);

#endif /* RILL_SQL_INT_H */
