/* options.c - runtime layer: the one table of a job's options (rill_env_set/get). The same table
 * gives `rill run` its flags, SQL's SET its keys (and the Flink keys that map onto them), and
 * docs/options.md its rows (checked by a unit test), so an option is added in one place. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runtime.h"

#define FIELD(f) offsetof(rill_env, f), sizeof(((rill_env *)0)->f)
#define DAY_MS   86400000LL

/* clang-format off */
const rill__option rill__options[] = {
    {"name", RILL__OPT_STRING, "the job object's file name (\"job\")", 0, 0, NULL, FIELD(name),
     "--name", "pipeline.name", false, RILL__OPT_SQL | RILL__OPT_NONEMPTY,
     "the job's name: in `rill list`, the REST API, and the checkpoint directory DIR/<name>/"},
    {"parallelism", RILL__OPT_INT, "1", 1, 32768, NULL, FIELD(parallelism),
     "--parallelism", "parallelism.default", false, RILL__OPT_SQL,
     "default parallelism of every operator; `rill run -p` wins over the job's own setting; "
     "keyed operators must not exceed max-parallelism"},
    {"max-parallelism", RILL__OPT_INT, "128", 1, 32768, NULL, FIELD(max_parallelism),
     "--max-parallelism", "pipeline.max-parallelism", false, RILL__OPT_SQL,
     "number of key groups: the most a keyed operator can be rescaled to"},
    {"batch-size", RILL__OPT_INT, "1024", 1, 65536, NULL, FIELD(batch_size),
     "--batch-size", NULL, false, RILL__OPT_SQL, "rows per batch"},
    {"channel-capacity", RILL__OPT_INT, "16", 2, 65536, NULL, FIELD(channel_capacity),
     NULL, NULL, false, RILL__OPT_SQL | RILL__OPT_POW2,
     "batches buffered per local channel (a power of two)"},
    {"bad-records", RILL__OPT_CHOICE, "fail", 0, 0, "fail|skip", FIELD(bad_policy),
     "--bad-records", NULL, false, RILL__OPT_SQL,
     "what a source does with a malformed record: fail the job, or skip it"},
    {"dead-letter-file", RILL__OPT_PATH, "none", 0, 0, NULL, FIELD(dead_letter_path),
     "--dead-letter-file", NULL, false, RILL__OPT_SQL,
     "with bad-records skip: where skipped records are appended (JSON lines)"},
    {"checkpoint.dir", RILL__OPT_PATH, "none", 0, 0, NULL, FIELD(ckpt_dir),
     "--checkpoint-dir", "execution.checkpointing.dir|state.checkpoints.dir", false,
     RILL__OPT_SQL, "where checkpoints go (DIR/<job>/chk-<n>/)"},
    {"checkpoint.interval", RILL__OPT_INT, "0 (off)", 0, DAY_MS, NULL, FIELD(ckpt_interval_ms),
     "--checkpoint-interval", "execution.checkpointing.interval", true, RILL__OPT_SQL,
     "ms between checkpoints; 0: no checkpoints"},
    {"checkpoint.mode", RILL__OPT_CHOICE, "exactly-once", 0, 0, "exactly-once|at-least-once",
     FIELD(ckpt_at_least_once), "--checkpoint-mode", "execution.checkpointing.mode", false,
     RILL__OPT_SQL, "exactly-once aligns barriers; at-least-once does not wait for them"},
    {"checkpoint.timeout", RILL__OPT_INT, "600000", 1, DAY_MS, NULL, FIELD(ckpt_timeout_ms),
     "--checkpoint-timeout", "execution.checkpointing.timeout", true, RILL__OPT_SQL,
     "ms after which a checkpoint in progress is given up"},
    {"checkpoint.min-pause", RILL__OPT_INT, "0", 0, DAY_MS, NULL, FIELD(ckpt_min_pause_ms),
     "--checkpoint-min-pause", "execution.checkpointing.min-pause", true, RILL__OPT_SQL,
     "least ms between a checkpoint's end and the next one's start"},
    {"checkpoint.max-concurrent", RILL__OPT_INT, "1", 1, 64, NULL, FIELD(ckpt_max_concurrent),
     "--checkpoint-max-concurrent", "execution.checkpointing.max-concurrent-checkpoints", false,
     RILL__OPT_SQL, "checkpoints in progress at once"},
    {"checkpoint.tolerable-failures", RILL__OPT_INT, "0", 0, 1000000, NULL,
     FIELD(ckpt_tolerable_failures), "--checkpoint-tolerable-failures",
     "execution.checkpointing.tolerable-failed-checkpoints", false, RILL__OPT_SQL,
     "failed checkpoints in a row before the job fails"},
    {"checkpoint.retain", RILL__OPT_INT, "1", 1, 1000, NULL, FIELD(ckpt_retain),
     "--checkpoints-retained", NULL, false, RILL__OPT_SQL, "completed checkpoints kept"},
    {"from-savepoint", RILL__OPT_PATH, "none", 0, 0, NULL, FIELD(from_savepoint),
     "--from-savepoint", NULL, false, 0, "start from this savepoint (a savepoint-<job>-<n> "
     "directory)"},
    {"allow-non-restored-state", RILL__OPT_SWITCH, "false", 0, 0, NULL,
     FIELD(allow_non_restored), "--allow-non-restored-state", NULL, false, 0,
     "drop the savepoint's state of operators the job lacks"},
    {"resume", RILL__OPT_SWITCH, "false", 0, 0, NULL, FIELD(resume), "--resume", NULL, false, 0,
     "start from the newest completed checkpoint of this job (its name) in checkpoint.dir"},
    {"allow-fresh-start", RILL__OPT_SWITCH, "false", 0, 0, NULL, FIELD(allow_fresh_start),
     "--allow-fresh-start", NULL, false, 0,
     "with resume: start from the beginning when no checkpoint of the job can be restored"},
    {"rest-port", RILL__OPT_INT, "none", 0, 65535, NULL, FIELD(rest_port), "--rest-port", NULL,
     false, RILL__OPT_LOCAL, "serve the REST API on this port (0: a free one); the embedded "
     "mini-cluster only"},
    {"restart-strategy", RILL__OPT_CHOICE, "fixed-delay with checkpoints, else none", 1, 0,
     "none|fixed-delay|exponential-delay|failure-rate", FIELD(restart_kind),
     "--restart-strategy", NULL, false, 0, "how a failed job is restarted"},
    {"restart.attempts", RILL__OPT_INT, "no limit", 0, 1000000000, NULL,
     FIELD(restart_attempts), "--restart-attempts", NULL, false, 0,
     "fixed-delay: restarts before the job fails"},
    {"restart.delay", RILL__OPT_INT, "1000", 0, DAY_MS, NULL, FIELD(restart_delay_ms),
     "--restart-delay", NULL, false, 0, "ms before a restart (exponential-delay: the first)"},
    {"restart.max-delay", RILL__OPT_INT, "60000", 0, DAY_MS, NULL, FIELD(restart_max_delay_ms),
     "--restart-max-delay", NULL, false, 0, "exponential-delay: the longest wait, ms"},
    {"restart.failure-rate.max-failures", RILL__OPT_INT, "3", 1, 1000000000, NULL,
     FIELD(restart_rate_failures), "--restart-max-failures", NULL, false, 0,
     "failure-rate: failures allowed per interval"},
    {"restart.failure-rate.interval", RILL__OPT_INT, "60000", 1, DAY_MS, NULL,
     FIELD(restart_rate_interval_ms), "--restart-failure-interval", NULL, false, 0,
     "failure-rate: the interval, ms"},
    {"state.backend", RILL__OPT_CHOICE, "heap", 0, 0, "heap|rocksdb", FIELD(state_backend),
     "--state-backend", "state.backend.type|state.backend", false,
     RILL__OPT_SQL | RILL__OPT_AS_TEXT, "where keyed state lives: on the heap or in RocksDB"},
    {"state.dir", RILL__OPT_PATH, "$TMPDIR", 0, 0, NULL, FIELD(state_dir), "--state-dir", NULL,
     false, RILL__OPT_SQL, "where rocksdb keeps its working files"},
    {"state.memory", RILL__OPT_SIZE, "256m", 1 << 20, 0, NULL, FIELD(state_memory),
     "--state-memory", NULL, false, RILL__OPT_SQL,
     "memory for keyed state per slot (bytes, or with k, m, g): rocksdb's block cache and "
     "write buffers"},
    {"state.backend.incremental", RILL__OPT_BOOL, "false", 0, 0, NULL, FIELD(state_incremental),
     "--incremental-checkpoints", "state.backend.incremental", false, RILL__OPT_SQL,
     "rocksdb: a checkpoint writes only the files that changed since the previous one"},
    {"state.backend.rocksdb.timer-service.factory", RILL__OPT_CHOICE, "rocksdb", 0, 0,
     "rocksdb|heap", FIELD(state_heap_timers), "--state-timers", NULL, false, RILL__OPT_NOCASE,
     "rocksdb: timers in rocksdb (memory holds the earliest) or on the heap"},
};
/* clang-format on */
const size_t rill__n_options = sizeof rill__options / sizeof *rill__options;

const rill__option *rill__option_find(const char *key)
{
    for (size_t i = 0; key && i < rill__n_options; i++)
        if (!strcmp(rill__options[i].key, key))
            return &rill__options[i];
    return NULL;
}

const rill__option *rill__option_of_flink(const char *flink_key)
{
    size_t n = flink_key ? strlen(flink_key) : 0;
    for (size_t i = 0; n && i < rill__n_options; i++)
        for (const char *f = rill__options[i].flink; f && *f;) {
            size_t len = strcspn(f, "|");
            if (len == n && !strncmp(f, flink_key, n))
                return &rill__options[i];
            f += len + (f[len] == '|');
        }
    return NULL;
}

/* The index of value among o's choices, or -1. */
static int choice_of(const rill__option *o, const char *value)
{
    size_t n = strlen(value);
    int k = 0;
    for (const char *c = o->choices; *c; k++) {
        size_t len = strcspn(c, "|");
        if (len == n &&
            ((o->flags & RILL__OPT_NOCASE) ? !strncasecmp(c, value, n) : !strncmp(c, value, n)))
            return k;
        c += len + (c[len] == '|');
    }
    return -1;
}

/* "\"a\" or \"b\"", "a, b, c or d": the choices as a message lists them. */
static void choices_text(const rill__option *o, char *buf, size_t size)
{
    size_t n = 1, used = 0;
    for (const char *c = o->choices; *c; c++)
        n += *c == '|';
    const char *c = o->choices;
    for (size_t k = 0; k < n; k++) {
        size_t len = strcspn(c, "|");
        const char *sep = k == 0 ? "" : k + 1 == n ? " or " : ", ";
        int w =
            snprintf(buf + used, size - used, n == 2 ? "%s\"%.*s\"" : "%s%.*s", sep, (int)len, c);
        if (w < 0 || (size_t)w >= size - used)
            return;
        used += (size_t)w;
        c += len + (c[len] == '|');
    }
}

static void store_int(rill_env *env, const rill__option *o, int64_t v)
{
    char *field = (char *)env + o->offset;
    if (o->size == sizeof(int64_t)) {
        memcpy(field, &v, sizeof v);
    } else if (o->size == sizeof(int32_t)) {
        int32_t v32 = (int32_t)v;
        memcpy(field, &v32, sizeof v32);
    } else {
        RILL_ASSERT(o->size == sizeof(bool));
        bool b = v != 0;
        memcpy(field, &b, sizeof b);
    }
}

static int64_t load_int(const rill_env *env, const rill__option *o)
{
    const char *field = (const char *)env + o->offset;
    if (o->size == sizeof(int64_t)) {
        int64_t v;
        memcpy(&v, field, sizeof v);
        return v;
    }
    if (o->size == sizeof(int32_t)) {
        int32_t v;
        memcpy(&v, field, sizeof v);
        return v;
    }
    bool b;
    memcpy(&b, field, sizeof b);
    return b;
}

static void store_str(rill_env *env, const rill__option *o, const char *value)
{
    char **field = (char **)(void *)((char *)env + o->offset);
    free(*field);
    *field = value && *value ? rill__xstrdup(value) : NULL;
}

#define BAD(...) rill__err_first(&env->err, RILL_ECONFIG, __VA_ARGS__)

int rill__option_set(rill_env *env, const rill__option *o, const char *value)
{
    const char *shown = value ? value : "(null)";
    int64_t v;
    int k;
    char list[256];
    switch (o->type) {
    case RILL__OPT_STRING:
    case RILL__OPT_PATH:
        if ((o->flags & RILL__OPT_NONEMPTY) && (!value || !*value))
            return BAD("option %s: must not be empty", o->key);
        store_str(env, o, value);
        return 0;
    case RILL__OPT_INT:
        if (!value || rill__parse_i64(value, strlen(value), &v) != 0 || v < o->lo || v > o->hi)
            return BAD("option %s: expected an integer from %lld to %lld, got \"%s\"", o->key,
                       (long long)o->lo, (long long)o->hi, shown);
        if ((o->flags & RILL__OPT_POW2) && (v & (v - 1)))
            return BAD("option %s: %lld is not a power of two", o->key, (long long)v);
        if (o->offset == offsetof(rill_env, parallelism) && env->parallelism_fixed)
            return 0; /* given on the command line: the job's own setting is ignored */
        store_int(env, o, v);
        return 0;
    case RILL__OPT_SIZE:
        if (!value || rill__parse_bytes(value, &v) != 0 || v < o->lo)
            return BAD("option %s: expected a size of at least %lldm (bytes, or with k, m, g), "
                       "got \"%s\"",
                       o->key, (long long)(o->lo >> 20), shown);
        store_int(env, o, v);
        return 0;
    case RILL__OPT_SWITCH: /* set by a flag: anything but true or 1 is off */
        store_int(env, o, value && (!strcmp(value, "true") || !strcmp(value, "1")));
        return 0;
    case RILL__OPT_BOOL:
        if (value && (!strcmp(value, "true") || !strcmp(value, "1")))
            store_int(env, o, 1);
        else if (value && (!strcmp(value, "false") || !strcmp(value, "0")))
            store_int(env, o, 0);
        else
            return BAD("option %s: expected \"true\" or \"false\", got \"%s\"", o->key, shown);
        return 0;
    case RILL__OPT_CHOICE:
        if (!value || (k = choice_of(o, value)) < 0) {
            choices_text(o, list, sizeof list);
            return BAD("option %s: expected %s, got \"%s\"", o->key, list, shown);
        }
        if (o->flags & RILL__OPT_AS_TEXT)
            store_str(env, o, value);
        else
            store_int(env, o, k + o->lo); /* lo: the first choice's stored value */
        return 0;
    }
    return RILL_EINVAL;
}

const char *rill__option_get(rill_env *env, const rill__option *o)
{
    switch (o->type) {
    case RILL__OPT_STRING:
    case RILL__OPT_PATH:
        return *(char **)(void *)((char *)env + o->offset);
    case RILL__OPT_SWITCH:
    case RILL__OPT_BOOL:
        return load_int(env, o) ? "true" : "false";
    case RILL__OPT_CHOICE: {
        if (o->flags & RILL__OPT_AS_TEXT)
            return *(char **)(void *)((char *)env + o->offset);
        int64_t k = load_int(env, o) - o->lo;
        const char *c = o->choices;
        for (; k > 0 && *c; k--)
            c += strcspn(c, "|") + (c[strcspn(c, "|")] == '|');
        if (k < 0 || !*c)
            return NULL; /* not set (restart-strategy: chosen by the checkpoint interval) */
        snprintf(env->get_buf, sizeof env->get_buf, "%.*s", (int)strcspn(c, "|"), c);
        return env->get_buf;
    }
    case RILL__OPT_INT:
    case RILL__OPT_SIZE:
        snprintf(env->get_buf, sizeof env->get_buf, "%lld", (long long)load_int(env, o));
        return env->get_buf;
    }
    return NULL;
}

void rill__option_keys(char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < rill__n_options; i++) {
        int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", rill__options[i].key);
        if (w < 0 || (size_t)w >= size - used)
            return;
        used += (size_t)w;
    }
}
