/* test_options.c - unit tests of the option table (runtime/options.c): rill_env_set/get, rill
 * run's flags and docs/options.md all follow it. RILL_WRITE_DOCS=1 rewrites the table in the
 * docs from it. */
#include <string.h>

#include "base/base.h"
#include "cli/client.h"
#include "runtime/runtime.h"
#include "test.h"

#define DOCS        RILL_TEST_DATA "/../../docs/options.md"
#define TABLE_BEGIN "<!-- the table below is generated from src/runtime/options.c -->\n"
#define TABLE_END   "<!-- end of the generated table -->\n"

static const char *type_name(const rill__option *o)
{
    switch (o->type) {
    case RILL__OPT_INT:
        return "integer";
    case RILL__OPT_SIZE:
        return "size";
    case RILL__OPT_STRING:
        return "text";
    case RILL__OPT_PATH:
        return "path";
    case RILL__OPT_BOOL:
    case RILL__OPT_SWITCH:
        return "boolean";
    case RILL__OPT_CHOICE:
        return "choice";
    }
    return "?";
}

/* The docs' table, as the option table makes it. */
static void docs_table(rill__buf *b)
{
    rill__buf_printf(b, "%s", TABLE_BEGIN);
    rill__buf_printf(b, "| key | type | default | values | `rill run` flag | SQL `SET` keys | "
                        "meaning |\n|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < rill__n_options; i++) {
        const rill__option *o = &rill__options[i];
        char values[256] = "";
        if (o->type == RILL__OPT_INT)
            snprintf(values, sizeof values, "%lld..%lld%s", (long long)o->lo, (long long)o->hi,
                     (o->flags & RILL__OPT_POW2) ? ", a power of two" : "");
        else if (o->type == RILL__OPT_SIZE)
            snprintf(values, sizeof values, "at least %lldm", (long long)(o->lo >> 20));
        else if (o->type == RILL__OPT_CHOICE)
            for (const char *c = o->choices; *c;) {
                size_t n = strcspn(c, "|");
                size_t used = strlen(values);
                snprintf(values + used, sizeof values - used, "%s`%.*s`", used ? ", " : "", (int)n,
                         c);
                c += n + (c[n] == '|');
            }
        else if (o->type == RILL__OPT_BOOL || o->type == RILL__OPT_SWITCH)
            snprintf(values, sizeof values, "`true`, `false`");
        char flink[256] = "";
        for (const char *f = o->flink; f && *f;) {
            size_t n = strcspn(f, "|"), used = strlen(flink);
            snprintf(flink + used, sizeof flink - used, "%s`%.*s`", used ? ", " : "", (int)n, f);
            f += n + (f[n] == '|');
        }
        if ((o->flags & RILL__OPT_SQL) && !o->flink)
            snprintf(flink, sizeof flink, "`%s`", o->key);
        else if (o->flags & RILL__OPT_SQL) {
            size_t used = strlen(flink);
            snprintf(flink + used, sizeof flink - used, ", `%s`", o->key);
        }
        if (o->flink_duration) {
            size_t used = strlen(flink);
            snprintf(flink + used, sizeof flink - used, " (a duration)");
        }
        rill__buf_printf(b, "| `%s` | %s | %s | %s | %s%s%s | %s | %s |\n", o->key, type_name(o),
                         o->def, values, o->flag ? "`" : "", o->flag ? o->flag : "",
                         o->flag ? "`" : "", flink, o->doc);
    }
    rill__buf_printf(b, "%s", TABLE_END);
}

TEST(options_docs_list_every_option)
{
    char *text = NULL;
    size_t len = 0;
    CHECK_RC(rill__read_file(DOCS, 1 << 20, &text, &len));
    rill__buf want = {0};
    docs_table(&want);
    const char *begin = strstr(text, TABLE_BEGIN), *end = strstr(text, TABLE_END);
    CHECK(begin != NULL && end != NULL && end > begin);
    size_t have_len = (size_t)(end - begin) + strlen(TABLE_END);
    if (getenv("RILL_WRITE_DOCS")) {
        rill__buf out = {0};
        rill__buf_append(&out, text, (size_t)(begin - text));
        rill__buf_append(&out, want.data, want.len);
        rill__buf_append(&out, end + strlen(TABLE_END),
                         len - (size_t)(end - text) - strlen(TABLE_END));
        FILE *f = fopen(DOCS, "w");
        CHECK(f != NULL);
        CHECK_EQ(fwrite(out.data, 1, out.len, f), out.len);
        fclose(f);
        rill__buf_free(&out);
    } else if (have_len != want.len || memcmp(begin, want.data, want.len) != 0) {
        rill_test_fail(__FILE__, __LINE__,
                       "docs/options.md's table is not the option table's (RILL_WRITE_DOCS=1 "
                       "build/tests/rill_unit --only options_docs_list_every_option rewrites "
                       "it); it should be:\n%.*s",
                       (int)want.len, want.data);
    }
    rill__buf_free(&want);
    free(text);
}

/* Every option: its default reads back through rill_env_get, a bad value is refused naming the
 * key, and its rill run flag (if any) sets the key. */
TEST(options_table_drives_env_and_flags)
{
    for (size_t i = 0; i < rill__n_options; i++) {
        const rill__option *o = &rill__options[i];
        CHECK(rill__option_find(o->key) == o);
        rill_env *env = rill_env_new();
        const char *bad = o->type == RILL__OPT_INT || o->type == RILL__OPT_SIZE ||
                                  o->type == RILL__OPT_BOOL || o->type == RILL__OPT_CHOICE
                              ? "no-such-value"
                              : NULL;
        if (bad) {
            CHECK_EQ(rill_env_set(env, o->key, bad), RILL_ECONFIG);
            CHECK_CONTAINS(rill_errmsg(env), o->key);
            CHECK_CONTAINS(rill_errmsg(env), bad);
        }
        rill_env_free(env);
        if (!o->flag)
            continue;
        bool switch_ = o->type == RILL__OPT_SWITCH || o->type == RILL__OPT_BOOL;
        char eq[128];
        snprintf(eq, sizeof eq, "%s=v1", o->flag);
        char *argv[] = {"job.so", (char *)o->flag, "v1"};
        char *argv_eq[] = {"job.so", eq};
        rill__run_args a;
        CHECK_EQ(rill__cli_run_parse(switch_ ? 2 : 3, argv, &a), 0);
        const char *got = !strcmp(o->key, "parallelism")                    ? a.parallelism
                          : a.n_opts == 1 && !strcmp(a.opts[0].key, o->key) ? a.opts[0].value
                                                                            : NULL;
        CHECK_STR(got, switch_ ? "true" : "v1");
        if (!switch_) {
            CHECK_EQ(rill__cli_run_parse(2, argv_eq, &a), 0);
            got = !strcmp(o->key, "parallelism") ? a.parallelism : a.opts[0].value;
            CHECK_STR(got, "v1");
        }
    }
    rill_env *env = rill_env_new();
    CHECK_RC(rill_env_set(env, "checkpoint.mode", "at-least-once"));
    CHECK_STR(rill_env_get(env, "checkpoint.mode"), "at-least-once");
    CHECK_RC(rill_env_set(env, "state.backend.rocksdb.timer-service.factory", "HEAP"));
    CHECK_STR(rill_env_get(env, "state.backend.rocksdb.timer-service.factory"), "heap");
    CHECK_RC(rill_env_set(env, "state.memory", "64m"));
    CHECK_STR(rill_env_get(env, "state.memory"), "67108864");
    CHECK_RC(rill_env_set(env, "restart-strategy", "failure-rate"));
    CHECK_STR(rill_env_get(env, "restart-strategy"), "failure-rate");
    CHECK_RC(rill_env_set(env, "resume", "yes")); /* a switch: anything but true or 1 is off */
    CHECK_STR(rill_env_get(env, "resume"), "false");
    CHECK_EQ(rill_env_set(env, "channel-capacity", "24"), RILL_ECONFIG);
    CHECK_CONTAINS(rill_errmsg(env), "power of two");
    rill_env_free(env);
    env = rill_env_new();
    CHECK_EQ(rill_env_set(env, "colour", "blue"), RILL_ECONFIG);
    CHECK_CONTAINS(rill_errmsg(env), "unknown option \"colour\" (known: name, parallelism,");
    CHECK(rill_env_get(env, "colour") == NULL);
    rill_env_free(env);
    /* Flink's keys for SQL's SET */
    CHECK_STR(rill__option_of_flink("state.checkpoints.dir")->key, "checkpoint.dir");
    CHECK(rill__option_of_flink("execution.checkpointing.interval")->flink_duration);
    CHECK(rill__option_of_flink("checkpoint.dir") == NULL);
}
