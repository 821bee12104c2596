/* test_sql_fn_string.c - the string functions of src/sql/fn_string.c, bound as the binder binds
 * them (the registry's infer) and run by the evaluator: Flink's results at the edges
 * (positions 0 and negative, empty strings, out-of-range arguments, NULLs), UTF-8 characters,
 * regular expressions with constant and per-row patterns, digests against known vectors, and
 * the errors that fail a row. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/functions.h"
#include "sql/plan.h"
#include "test.h"

static rill__arena A;

static const rill__sql_ltype *ty(rill__sql_root root, int p, bool nullable)
{
    return rill__sql_type_make(&A, root, p, 0, nullable);
}

/* An argument written as: 'text (a string literal), #n (an INT literal), NULL (a NULL string),
 * #NULL (a NULL INT), $ (the input's one STRING column, which holds col). */
static rill__sql_rex *arg(const char *a)
{
    if (a[0] == '\'')
        return rill__sql_x_string(&A, ty(RILL_SQLT_VARCHAR, RILL_SQL_MAX_LENGTH, false), a + 1,
                                  strlen(a + 1));
    if (!strcmp(a, "NULL"))
        return rill__sql_x_null(&A, ty(RILL_SQLT_VARCHAR, RILL_SQL_MAX_LENGTH, true));
    if (!strcmp(a, "#NULL"))
        return rill__sql_x_null(&A, ty(RILL_SQLT_INT, 0, true));
    if (a[0] == '#')
        return rill__sql_x_literal(&A, ty(RILL_SQLT_INT, 0, false),
                                   (uint64_t)strtoll(a + 1, NULL, 10));
    if (!strcmp(a, "$"))
        return rill__sql_x_input(&A, 0, ty(RILL_SQLT_VARCHAR, RILL_SQL_MAX_LENGTH, true));
    rill_test_fail(__FILE__, __LINE__, "bad argument spec %s", a);
}

/* name(args) bound as the binder binds a call: the registry's function, its infer (which must
 * accept these types without casts), the call node. A name "TRIM/L" is TRIM(LEADING ...). */
static rill__sql_rex *fn(const char *name, int n, const char *const *args, char *msg, size_t cap)
{
    char base[32];
    snprintf(base, sizeof base, "%s", name);
    char *slash = strchr(base, '/');
    rill__sql_trim trim = RILL_SQL_TRIM_NONE;
    if (slash) {
        trim = slash[1] == 'L'   ? RILL_SQL_TRIM_LEADING
               : slash[1] == 'T' ? RILL_SQL_TRIM_TRAILING
                                 : RILL_SQL_TRIM_BOTH;
        *slash = '\0';
    }
    const rill__sql_fn *f = rill__sql_fn_find(base);
    if (!f)
        rill_test_fail(__FILE__, __LINE__, "no function %s", base);
    if (n < f->min_args || (f->max_args >= 0 && n > f->max_args))
        rill_test_fail(__FILE__, __LINE__, "%s: %d arguments", base, n);
    rill__sql_rex **xs = rill__arena_alloc(&A, (size_t)(n + 1) * sizeof *xs);
    for (int i = 0; i < n; i++)
        xs[i] = arg(args[i]);
    rill__sql_fn_call *call = rill__arena_alloc(&A, sizeof *call);
    *call = (rill__sql_fn_call){.name = f->name,
                                .n_args = n,
                                .args = xs,
                                .form = trim ? RILL_SQL_C_TRIM : RILL_SQL_C_PLAIN,
                                .trim = trim,
                                .zone = "UTC"};
    const rill__sql_ltype **cast = rill__arena_alloc(&A, (size_t)(n + 1) * sizeof *cast);
    memset(cast, 0, (size_t)(n + 1) * sizeof *cast);
    msg[0] = '\0';
    const rill__sql_ltype *t = f->infer(&A, call, cast, msg, cap);
    if (!t)
        return NULL;
    for (int i = 0; i < n; i++)
        if (cast[i])
            rill_test_fail(__FILE__, __LINE__, "%s: argument %d cast", base, i);
    rill__sql_rex *x = rill__sql_x_call(&A, RILL_SQLX_FUNC, t, n, xs);
    call->args = x->args;
    x->fn = f;
    x->call = call;
    return x;
}

/* Runs x over rows whose one column holds cols[r] (NULL: a NULL); each row's result as text
 * in out[r]: NULL, the string, the number, true/false; or "ERR:<message>" for the run. */
static void run_rows(rill__sql_rex *x, int n_rows, const char *const *cols, char **out)
{
    rill_schema *in_s = NULL;
    CHECK_RC(rill_schema_parse("c STRING", &in_s));
    rill_batch *in = rill__batch_new(in_s, (uint32_t)n_rows);
    for (int r = 0; r < n_rows; r++) {
        rill_row row = rill__batch_append(in);
        if (cols[r])
            CHECK_RC(rill_row_set_str(&row, 0, cols[r], strlen(cols[r])));
    }
    rill__sql_root root = x->type->root;
    rill_type ot = root == RILL_SQLT_INT       ? RILL_T_INT64
                   : root == RILL_SQLT_BOOLEAN ? RILL_T_BOOL
                                               : RILL_T_STRING;
    rill_schema *os = rill_schema_new();
    CHECK_RC(rill_schema_add(os, "o", ot, true));
    rill__sql_prog *p = NULL;
    rill__err err;
    memset(&err, 0, sizeof err);
    CHECK_RC(rill__sql_prog_new(NULL, 1, &x, NULL, &p, &err));
    rill_batch *ob = rill__batch_new(os, (uint32_t)n_rows);
    int rc = rill__sql_prog_run(p, in, ob, &err);
    for (int r = 0; r < n_rows; r++) {
        if (rc) {
            out[r] = rill__xasprintf("ERR:%s", err.msg);
            continue;
        }
        rill_row row = rill__batch_row(ob, (uint32_t)r);
        if (rill_row_is_null(&row, 0)) {
            out[r] = rill__xstrdup("NULL");
        } else if (ot == RILL_T_STRING) {
            size_t len;
            const char *s = rill_row_str(&row, 0, &len);
            out[r] = rill__xstrndup(s, len);
        } else if (ot == RILL_T_BOOL) {
            out[r] = rill__xstrdup(rill_row_i64(&row, 0) ? "true" : "false");
        } else {
            out[r] = rill__xasprintf("%lld", (long long)rill_row_i64(&row, 0));
        }
    }
    rill__sql_prog_free(p);
    rill__batch_unref(ob);
    rill__batch_unref(in);
    rill_schema_free(os);
    rill_schema_free(in_s);
}

/* One call checked: name(args...) over a row whose column holds col gives want. */
typedef struct ccase {
    const char *name;
    const char *args[4];
    const char *want;
    const char *col;
} ccase;

static int n_args(const ccase *k)
{
    int n = 0;
    while (n < 4 && k->args[n])
        n++;
    return n;
}

static void check_cases(const ccase *ks, size_t n, const char *file, int line)
{
    for (size_t i = 0; i < n; i++) {
        const ccase *k = &ks[i];
        char msg[256];
        rill__sql_rex *x = fn(k->name, n_args(k), k->args, msg, sizeof msg);
        if (!x)
            rill_test_fail(file, line, "%s: refused: %s", k->name, msg);
        char *got;
        run_rows(x, 1, &k->col, &got);
        bool ok = !strncmp(k->want, "ERR:", 4)
                      ? !strncmp(got, "ERR:", 4) && strstr(got, k->want + 4) != NULL
                      : !strcmp(got, k->want);
        if (!ok)
            rill_test_fail(file, line,
                           "case %zu: %s(%s%s%s%s%s%s%s) with $='%s': got \"%s\", "
                           "want \"%s\"",
                           i, k->name, k->args[0] ? k->args[0] : "", k->args[1] ? ", " : "",
                           k->args[1] ? k->args[1] : "", k->args[2] ? ", " : "",
                           k->args[2] ? k->args[2] : "", k->args[3] ? ", " : "",
                           k->args[3] ? k->args[3] : "", k->col ? k->col : "NULL", got, k->want);
        free(got);
    }
}

#define CHECK_CASES(ks) check_cases(ks, sizeof ks / sizeof *ks, __FILE__, __LINE__)

TEST(sql_fn_string_substring_left_right_positions)
{
    rill__arena_init(&A, 65536);
    static const ccase ks[] = {
        {"SUBSTRING", {"'hello", "#2", "#3"}, "ell", NULL},
        {"SUBSTRING", {"'hello", "#0", "#2"}, "he", NULL}, /* 0 is 1 */
        {"SUBSTRING", {"'hello", "#-3"}, "llo", NULL},     /* from the end */
        {"SUBSTRING", {"'hello", "#-3", "#2"}, "ll", NULL},
        {"SUBSTRING", {"'hello", "#-9", "#2"}, "", NULL}, /* before the start: empty */
        {"SUBSTRING", {"'hello", "#6"}, "", NULL},        /* past the end */
        {"SUBSTRING", {"'hello", "#5", "#100"}, "o", NULL},
        {"SUBSTRING", {"'hello", "#2", "#-1"}, "NULL", NULL}, /* a negative length */
        {"SUBSTRING", {"'hello", "#2", "#0"}, "", NULL},
        {"SUBSTRING", {"'", "#2", "#-1"}, "NULL", NULL},
        {"SUBSTRING", {"'", "#1"}, "", NULL},
        {"SUBSTR", {"'h\xC3\xA9llo \xE6\x97\xA5\xE6\x9C\xAC", "#2", "#4"}, "\xC3\xA9llo", NULL},
        {"SUBSTR",
         {"'h\xC3\xA9llo \xE6\x97\xA5\xE6\x9C\xAC", "#-2"},
         "\xE6\x97\xA5\xE6\x9C\xAC",
         NULL},
        {"SUBSTR", {"NULL", "#1"}, "NULL", NULL},
        {"SUBSTR", {"'abc", "#NULL"}, "NULL", NULL},
        {"LEFT", {"'h\xC3\xA9llo", "#2"}, "h\xC3\xA9", NULL},
        {"LEFT", {"'hello", "#0"}, "", NULL},
        {"LEFT", {"'hello", "#-1"}, "", NULL},
        {"LEFT", {"'hello", "#99"}, "hello", NULL},
        {"RIGHT", {"'h\xC3\xA9llo", "#4"}, "\xC3\xA9llo", NULL},
        {"RIGHT", {"'hello", "#-2"}, "", NULL},
        {"RIGHT", {"'hello", "#9"}, "hello", NULL},
        {"POSITION", {"'l", "'hello"}, "3", NULL},
        {"POSITION", {"'z", "'hello"}, "0", NULL},
        {"POSITION", {"'", "'hello"}, "1", NULL},
        {"POSITION", {"'", "'"}, "1", NULL},
        {"POSITION", {"'a", "'"}, "0", NULL},
        {"POSITION", {"'\xC3\xA9", "'h\xC3\xA9\xC3\xA9"}, "2", NULL},
        {"LOCATE", {"'l", "'hello", "#4"}, "4", NULL},
        {"LOCATE", {"'l", "'hello", "#5"}, "0", NULL},
        {"LOCATE", {"'l", "'hello", "#0"}, "3", NULL},
        {"LOCATE", {"'l", "'hello", "#-5"}, "3", NULL},
        {"LOCATE", {"'", "'hello", "#4"}, "1", NULL}, /* Flink: an empty needle is at 1 */
        {"LOCATE", {"'o", "'hello", "#99"}, "0", NULL},
        {"INSTR", {"'abcabc", "'bc"}, "2", NULL},
        {"INSTR", {"'abcabc", "'bc", "#3"}, "5", NULL},
        {"INSTR", {"'abcabc", "'bc", "#1", "#2"}, "5", NULL},
        {"INSTR", {"'abcabc", "'bc", "#1", "#3"}, "0", NULL},
        {"INSTR", {"'abcabc", "'bc", "#0"}, "0", NULL},
        {"INSTR", {"'abcabc", "'bc", "#-1"}, "5", NULL}, /* searching backwards */
        {"INSTR", {"'abcabc", "'bc", "#-1", "#2"}, "2", NULL},
        {"INSTR", {"'abcabc", "'bc", "#-3"}, "2", NULL},
        {"INSTR", {"'\xC3\xA9\xC3\xA9x\xC3\xA9", "'\xC3\xA9", "#-1"}, "4", NULL},
        {"INSTR", {"'abc", "'b", "#1", "#0"}, "ERR:nthAppearance must be positive", NULL},
        {"OVERLAY", {"'abcdef", "'XY", "#2"}, "aXYdef", NULL},
        {"OVERLAY", {"'abcdef", "'XY", "#2", "#3"}, "aXYef", NULL},
        {"OVERLAY", {"'abcdef", "'XY", "#2", "#0"}, "aXY", NULL}, /* Flink drops the rest */
        {"OVERLAY", {"'abcdef", "'XY", "#5", "#4"}, "abcdXY", NULL},
        {"OVERLAY", {"'abcdef", "'XY", "#0"}, "abcdef", NULL},
        {"OVERLAY", {"'abcdef", "'XY", "#7"}, "abcdef", NULL},
        {"OVERLAY", {"'\xC3\xA9\xC3\xA9\xC3\xA9", "'x", "#2"}, "\xC3\xA9x\xC3\xA9", NULL},
    };
    CHECK_CASES(ks);
    rill__arena_close(&A);
}

TEST(sql_fn_string_trim_pad_replace_and_building)
{
    rill__arena_init(&A, 65536);
    static const ccase ks[] = {
        {"TRIM", {"'  ab  "}, "ab", NULL},
        {"TRIM/B", {"'xxabxx", "'x"}, "ab", NULL},
        {"TRIM/L", {"'xxabxx", "'x"}, "abxx", NULL},
        {"TRIM/T", {"'xxabxx", "'x"}, "xxab", NULL},
        {"TRIM/B", {"'xyabyx", "'yx"}, "ab", NULL},
        {"TRIM/B", {"'xxxx", "'x"}, "", NULL},
        {"TRIM/B",
         {"'\xC3\xA9"
          "a\xC3\xA9",
          "'\xC3\xA9"},
         "a",
         NULL},
        {"TRIM/B", {"'ab", "'"}, "ab", NULL},
        {"TRIM/B", {"'ab", "NULL"}, "NULL", NULL},
        {"LTRIM", {"'  a b "}, "a b ", NULL},
        {"RTRIM", {"'  a b "}, "  a b", NULL},
        {"LTRIM", {"'xxa", "'x"}, "a", NULL},
        {"RTRIM", {"'ax\xC3\xA9", "'\xC3\xA9x"}, "a", NULL},
        {"REPLACE", {"'hello", "'l", "'L"}, "heLLo", NULL},
        {"REPLACE", {"'aaa", "'aa", "'b"}, "ba", NULL},
        {"REPLACE", {"'abc", "'", "'-"}, "-a-b-c-", NULL}, /* Java's String.replace */
        {"REPLACE", {"'abc", "'x", "'-"}, "abc", NULL},
        {"REPLACE", {"'abc", "'b", "'"}, "ac", NULL},
        {"REPLACE", {"'", "'", "'x"}, "x", NULL},
        {"CONCAT_WS", {"'-", "'a", "NULL", "'c"}, "a-c", NULL},
        {"CONCAT_WS", {"'-", "'a", "'", "'c"}, "a--c", NULL},
        {"CONCAT_WS", {"NULL", "'a", "'b"}, "NULL", NULL},
        {"CONCAT_WS", {"'-", "NULL", "NULL"}, "", NULL},
        {"CONCAT_WS", {"'-"}, "", NULL},
        {"LPAD", {"'hi", "#5", "'ab"}, "abahi", NULL},
        {"LPAD", {"'hello", "#3", "'ab"}, "hel", NULL},
        {"LPAD", {"'hi", "#0", "'ab"}, "", NULL},
        {"LPAD", {"'hi", "#-1", "'ab"}, "NULL", NULL},
        {"LPAD", {"'hi", "#5", "'"}, "NULL", NULL},
        {"LPAD", {"'\xC3\xA9", "#3", "'\xE6\x97\xA5"}, "\xE6\x97\xA5\xE6\x97\xA5\xC3\xA9", NULL},
        {"RPAD", {"'hi", "#5", "'ab"}, "hiaba", NULL},
        {"RPAD", {"'hello", "#3", "'ab"}, "hel", NULL},
        {"RPAD", {"'hi", "#-3", "'ab"}, "NULL", NULL},
        {"RPAD", {"'hi", "#2000000000", "'ab"}, "ERR:too long", NULL},
        {"REPEAT", {"'ab", "#3"}, "ababab", NULL},
        {"REPEAT", {"'ab", "#0"}, "", NULL},
        {"REPEAT", {"'ab", "#-2"}, "", NULL},
        {"REPEAT", {"'", "#2000000000"}, "", NULL},
        {"REPEAT", {"'abcd", "#2000000000"}, "ERR:too long", NULL},
        {"REVERSE", {"'h\xC3\xA9\xE6\x97\xA5"}, "\xE6\x97\xA5\xC3\xA9h", NULL},
        {"REVERSE", {"'"}, "", NULL},
        {"INITCAP", {"'hello wORLD 1st-time"}, "Hello World 1st-Time", NULL},
        {"INITCAP", {"'\xC3\xA9t\xC3\xA9 ab_cd"}, "\xC3\xA9T\xC3\xA9 Ab_Cd", NULL},
        {"ASCII", {"'A"}, "65", NULL},
        {"ASCII", {"'"}, "0", NULL},
        {"ASCII", {"'\xC3\xA9"}, "-61", NULL}, /* Flink: the first byte, signed */
        {"CHR", {"#65"}, "A", NULL},
        {"CHR", {"#233"}, "\xC3\xA9", NULL},
        {"CHR", {"#321"}, "A", NULL}, /* mod 256 */
        {"CHR", {"#-1"}, "", NULL},
        {"SPLIT_INDEX", {"'a,b,,c", "',", "#0"}, "a", NULL},
        {"SPLIT_INDEX", {"'a,b,,c", "',", "#2"}, "", NULL},
        {"SPLIT_INDEX", {"'a,b,,c", "',", "#3"}, "c", NULL},
        {"SPLIT_INDEX", {"'a,b,,c", "',", "#4"}, "NULL", NULL},
        {"SPLIT_INDEX", {"'a,b,,c", "',", "#-1"}, "NULL", NULL},
        {"SPLIT_INDEX", {"'a,", "',", "#1"}, "", NULL},
        {"SPLIT_INDEX", {"'", "',", "#0"}, "NULL", NULL}, /* an empty string has no pieces */
        {"SPLIT_INDEX", {"'a::b", "'::", "#1"}, "b", NULL},
        {"SPLIT_INDEX", {"'a b\tc", "'", "#2"}, "c", NULL}, /* an empty separator: whitespace */
    };
    CHECK_CASES(ks);
    rill__arena_close(&A);
}

TEST(sql_fn_string_case_is_unicode_aware)
{
    rill__arena_init(&A, 65536);
    static const ccase ks[] = {
        {"UPPER", {"'abc XYZ 09"}, "ABC XYZ 09", NULL},
        {"UPPER",
         {"'\xC3\xA9t\xC3\xA9 \xC3\xB1 \xC5\x93"},
         "\xC3\x89T\xC3\x89 \xC3\x91 \xC5\x92",
         NULL},                                                                     /* é ñ œ */
        {"UPPER", {"'\xCE\xB1\xCE\xB2\xCE\xB3"}, "\xCE\x91\xCE\x92\xCE\x93", NULL}, /* αβγ */
        {"UPPER", {"'\xD0\xB6\xD1\x83\xD0\xBA"}, "\xD0\x96\xD0\xA3\xD0\x9A", NULL}, /* жук */
        {"UPPER",
         {"'stra\xC3\x9F"
          "e"},
         "STRASSE",
         NULL}, /* ß: SS */
        {"UPPER", {"'\xE6\x97\xA5\xF0\x9F\x98\x80"}, "\xE6\x97\xA5\xF0\x9F\x98\x80", NULL},
        {"UPPER",
         {"'a\xFF"
          "b"},
         "A\xFF"
         "B",
         NULL}, /* a byte that is no character: kept */
        {"LOWER", {"'\xC3\x89T\xC3\x89"}, "\xC3\xA9t\xC3\xA9", NULL},
        {"LOWER", {"'\xD0\x96\xD0\xA3\xD0\x9A"}, "\xD0\xB6\xD1\x83\xD0\xBA", NULL},
        {"LOWER",
         {"'\xCE\x9F\xCE\x94\xCE\x9F\xCE\xA3"},
         "\xCE\xBF\xCE\xB4\xCE\xBF\xCF\x82",
         NULL}, /* ΟΔΟΣ: a final sigma */
        {"LOWER", {"'\xCE\xA3\xCE\x91"}, "\xCF\x83\xCE\xB1", NULL},
        {"LOWER", {"'\xE6\x97\xA5\xCE\xA3"}, "\xE6\x97\xA5\xCF\x83", NULL}, /* after 日: σ */
        {"LOWER", {"'\xC3\x89\xCE\xA3 x"}, "\xC3\xA9\xCF\x82 x", NULL},     /* after É: ς */
        {"LOWER", {"'\xC4\xB0"}, "i\xCC\x87", NULL},                        /* İ */
        {"LOWER", {"NULL"}, "NULL", NULL},
    };
    CHECK_CASES(ks);
    rill__arena_close(&A);
}

TEST(sql_fn_string_regular_expressions)
{
    rill__arena_init(&A, 65536);
    static const ccase ks[] = {
        {"REGEXP", {"'hello", "'l+"}, "true", NULL},
        {"REGEXP", {"'hello", "'^l"}, "false", NULL},
        {"REGEXP", {"'hello", "'"}, "false", NULL},  /* an empty pattern: FALSE */
        {"REGEXP", {"'hello", "'("}, "false", NULL}, /* a bad pattern: FALSE */
        {"REGEXP", {"'a\nb", "'a.b"}, "false", NULL},
        {"REGEXP", {"'a\rb", "'a.b"}, "false", NULL}, /* Java's . stops at any line end */
        {"REGEXP", {"'\xC3\xA9t\xC3\xA9", "'^.t.$"}, "true", NULL},
        {"REGEXP", {"$", "'b"}, "true", "abc"},
        {"REGEXP", {"'abc", "$"}, "true", "^a"},
        {"REGEXP", {"'abc", "$"}, "false", "["},
        {"REGEXP_EXTRACT", {"'foo123bar456", "'(\\d+)\\D+(\\d+)", "#2"}, "456", NULL},
        {"REGEXP_EXTRACT", {"'foo123bar456", "'(\\d+)\\D+(\\d+)"}, "123bar456", NULL},
        {"REGEXP_EXTRACT", {"'foo123bar456", "'(\\d+)", "#3"}, "NULL", NULL},
        {"REGEXP_EXTRACT", {"'foo123bar456", "'(\\d+)", "#-1"}, "NULL", NULL},
        {"REGEXP_EXTRACT", {"'foo", "'(x)?foo", "#1"}, "NULL", NULL}, /* no part in it */
        {"REGEXP_EXTRACT", {"'foo", "'z"}, "NULL", NULL},
        {"REGEXP_EXTRACT", {"'foo", "'(", "#0"}, "NULL", NULL},
        {"REGEXP_EXTRACT", {"'foo", "'"}, "", NULL},
        {"REGEXP_EXTRACT", {"'h\xC3\xA9llo", "'h(.)l", "#1"}, "\xC3\xA9", NULL},
        {"REGEXP_REPLACE", {"'foobar", "'oo|ar", "'"}, "fb", NULL},
        {"REGEXP_REPLACE", {"'abc", "'x*", "'-"}, "-a-b-c-", NULL},
        {"REGEXP_REPLACE", {"'abc", "'b*", "'-"}, "-a--c-", NULL},
        {"REGEXP_REPLACE", {"'111222", "'(1+)(2+)", "'$2$1"}, "$2$1", NULL}, /* literal */
        {"REGEXP_REPLACE", {"'a.b", "'\\.", "'\\"}, "a\\b", NULL},
        {"REGEXP_REPLACE", {"'abc", "'(", "'x"}, "NULL", NULL},
        {"REGEXP_REPLACE", {"'\xC3\xA9\xC3\xA9", "'", "'-"}, "-\xC3\xA9-\xC3\xA9-", NULL},
        {"REGEXP_REPLACE", {"'aaa", "'a", "'bb"}, "bbbbbb", NULL},
        {"REGEXP_REPLACE", {"'x", "'x", "NULL"}, "NULL", NULL},
    };
    CHECK_CASES(ks);

    /* patterns from a column, more of them than the cache holds, each row its own */
    static const char *const pats[] = {"a", "b+", "^c", "(", "d$", "[0-9]", "x|y", "\\w",
                                       "e", "f",  "g",  "(", "a",  "b+",    "^c",  ""};
    int n = (int)(sizeof pats / sizeof *pats);
    const char *const args[] = {"'abbd", "$"};
    char msg[256];
    rill__sql_rex *x = fn("REGEXP", 2, args, msg, sizeof msg);
    CHECK(x);
    char *got[16];
    run_rows(x, n, pats, got);
    for (int i = 0; i < n; i++) {
        bool want = strchr("abdw", pats[i][0] == '\\' ? 'w' : pats[i][0]) && pats[i][0] &&
                    strcmp(pats[i], "(");
        if (!strcmp(pats[i], "^c") || !strcmp(pats[i], "[0-9]") || !strcmp(pats[i], "x|y"))
            want = false;
        if (!strcmp(pats[i], "d$"))
            want = true;
        if (strcmp(got[i], want ? "true" : "false"))
            rill_test_fail(__FILE__, __LINE__, "REGEXP('abbd', '%s'): %s", pats[i], got[i]);
        free(got[i]);
    }
    rill__arena_close(&A);
}

TEST(sql_fn_string_digests_base64_hex_uuid)
{
    rill__arena_init(&A, 1 << 20);
    static const ccase ks[] = {
        {"MD5", {"'"}, "d41d8cd98f00b204e9800998ecf8427e", NULL},
        {"MD5", {"'abc"}, "900150983cd24fb0d6963f7d28e17f72", NULL},
        {"MD5",
         {"'The quick brown fox jumps over the lazy dog"},
         "9e107d9d372bb6826bd81d3542a419d6",
         NULL},
        {"MD5",
         {"'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"},
         "8215ef0796a20bcaaae116d3876c664a",
         NULL},
        {"MD5", {"'\xC3\xA9\xE6\x97\xA5\xE6\x9C\xAC"}, "0e46a0c6283c93a2871fe3300ae1afb8", NULL},
        {"SHA1", {"'"}, "da39a3ee5e6b4b0d3255bfef95601890afd80709", NULL},
        {"SHA1", {"'abc"}, "a9993e364706816aba3e25717850c26c9cd0d89d", NULL},
        {"SHA1",
         {"'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"},
         "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
         NULL},
        {"SHA256",
         {"'abc"},
         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
         NULL},
        {"SHA256", {"NULL"}, "NULL", NULL},
        {"TO_BASE64", {"'"}, "", NULL},
        {"TO_BASE64", {"'a"}, "YQ==", NULL},
        {"TO_BASE64", {"'ab"}, "YWI=", NULL},
        {"TO_BASE64", {"'abc"}, "YWJj", NULL},
        {"TO_BASE64", {"'\xC3\xA9t\xC3\xA9?>"}, "w6l0w6k/Pg==", NULL},
        {"FROM_BASE64", {"'w6l0w6k/Pg=="}, "\xC3\xA9t\xC3\xA9?>", NULL},
        {"FROM_BASE64", {"'YWI"}, "ab", NULL}, /* Java: padding optional */
        {"FROM_BASE64", {"'YQ"}, "a", NULL},
        {"FROM_BASE64", {"'"}, "", NULL},
        {"FROM_BASE64", {"'Y"}, "ERR:not base64", NULL},
        {"FROM_BASE64", {"'YW J"}, "ERR:not base64", NULL},
        {"FROM_BASE64", {"'YQ==YQ=="}, "ERR:not base64", NULL},
        {"FROM_BASE64", {"'YQ="}, "ERR:not base64", NULL},
        {"HEX", {"#255"}, "FF", NULL},
        {"HEX", {"#0"}, "0", NULL},
        {"HEX", {"#-1"}, "FFFFFFFFFFFFFFFF", NULL},
        {"HEX", {"'a\xC3\xA9"}, "61C3A9", NULL},
        {"HEX", {"'"}, "", NULL},
    };
    CHECK_CASES(ks);

    /* strings of a's around the 64-byte blocks and the 56-byte room for the length */
    static const struct {
        int n;
        const char *md5, *sha1;
    } runs[] = {
        {55, "ef1772b6dff9a122358552954ad0df65", "c1c8bbdc22796e28c0e15163d20899b65621d65a"},
        {56, "3b0c8ac703f828b04c6c197006d17218", "c2db330f6083854c99d4b5bfb6e8f29f201be699"},
        {57, "652b906d60af96844ebd21b674f35e93", "f08f24908d682555111be7ff6f004e78283d989a"},
        {63, "b06521f39153d618550606be297466d5", "03f09f5b158a7a8cdad920bddc29b81c18a551f5"},
        {64, "014842d480b571495a4a0363793f7367", "0098ba824b5c16427bd7a1122a5a442a25ec644d"},
        {65, "c743a45e0d2e6a95cb859adae0248435", "11655326c708d70319be2610e8a57d9a5b959d3b"},
        {119, "8a7bd0732ed6a28ce75f6dabc90e1613", "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56"},
        {120, "5f61c0ccad4cac44c75ff505e1f1e537", "f34c1488385346a55709ba056ddd08280dd4c6d6"},
        {1000, "cabe45dcc9ae5b66ba86600cca6b8ba8", "291e9a6c66994949b57ba5e650361e98fc36b1ba"},
    };
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        char lit[1002];
        lit[0] = '\'';
        memset(lit + 1, 'a', (size_t)runs[i].n);
        lit[1 + runs[i].n] = '\0';
        const ccase big[] = {{"MD5", {lit}, runs[i].md5, NULL},
                             {"SHA1", {lit}, runs[i].sha1, NULL}};
        check_cases(big, 2, __FILE__, __LINE__);
    }

    /* UUID: 36 characters of version 4, a new one each row */
    char msg[256];
    rill__sql_rex *x = fn("UUID", 0, NULL, msg, sizeof msg);
    CHECK(x);
    CHECK(!x->type->nullable);
    const char *cols[3] = {NULL, NULL, NULL};
    char *got[3];
    run_rows(x, 3, cols, got);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(strlen(got[i]), 36);
        CHECK(got[i][8] == '-' && got[i][13] == '-' && got[i][14] == '4' && got[i][18] == '-' &&
              strchr("89ab", got[i][19]) && got[i][23] == '-');
    }
    CHECK(strcmp(got[0], got[1]) && strcmp(got[1], got[2]));
    for (int i = 0; i < 3; i++)
        free(got[i]);
    rill__arena_close(&A);
}

TEST(sql_fn_string_parse_url)
{
    rill__arena_init(&A, 65536);
#define URL "'http://user:pw@Example.com:8080/a/b.html?x=1&y=%20&xx=3#frag"
    static const ccase ks[] = {
        {"PARSE_URL", {URL, "'HOST"}, "Example.com", NULL},
        {"PARSE_URL", {URL, "'PATH"}, "/a/b.html", NULL},
        {"PARSE_URL", {URL, "'QUERY"}, "x=1&y=%20&xx=3", NULL},
        {"PARSE_URL", {URL, "'REF"}, "frag", NULL},
        {"PARSE_URL", {URL, "'PROTOCOL"}, "http", NULL},
        {"PARSE_URL", {URL, "'FILE"}, "/a/b.html?x=1&y=%20&xx=3", NULL},
        {"PARSE_URL", {URL, "'AUTHORITY"}, "user:pw@Example.com:8080", NULL},
        {"PARSE_URL", {URL, "'USERINFO"}, "user:pw", NULL},
        {"PARSE_URL", {URL, "'QUERY", "'xx"}, "3", NULL},
        {"PARSE_URL", {URL, "'QUERY", "'y"}, "%20", NULL},
        {"PARSE_URL", {URL, "'QUERY", "'z"}, "NULL", NULL},
        {"PARSE_URL", {URL, "'HOST", "'x"}, "NULL", NULL}, /* a key only with QUERY */
        {"PARSE_URL", {URL, "'host"}, "NULL", NULL},       /* part names are exact */
        {"PARSE_URL", {"'HTTPS://h", "'PROTOCOL"}, "https", NULL},
        {"PARSE_URL", {"'https://h", "'PATH"}, "", NULL},
        {"PARSE_URL", {"'https://h", "'QUERY"}, "NULL", NULL},
        {"PARSE_URL", {"'https://h", "'USERINFO"}, "NULL", NULL},
        {"PARSE_URL", {"'https://h?", "'QUERY"}, "", NULL},
        {"PARSE_URL", {"'file:/tmp/x", "'PATH"}, "/tmp/x", NULL},
        {"PARSE_URL", {"'file:/tmp/x", "'HOST"}, "", NULL},
        {"PARSE_URL", {"'www.example.com/a", "'HOST"}, "NULL", NULL}, /* no protocol */
        {"PARSE_URL", {"'gopher://h/a", "'HOST"}, "NULL", NULL},      /* unknown protocol */
        {"PARSE_URL", {"'http://h:port/a", "'HOST"}, "NULL", NULL},   /* a bad port */
        {"PARSE_URL", {"'http://[::1]:80/a", "'HOST"}, "[::1]", NULL},
        {"PARSE_URL", {"'  http://h/a  ", "'PATH"}, "/a", NULL},
        {"PARSE_URL", {"NULL", "'HOST"}, "NULL", NULL},
    };
#undef URL
    CHECK_CASES(ks);
    rill__arena_close(&A);
}

TEST(sql_fn_string_types_and_refusals)
{
    rill__arena_init(&A, 65536);
    char msg[256];
    const char *const a1[] = {"'abc", "'x"};
    CHECK(!fn("SUBSTRING", 2, a1, msg, sizeof msg));
    CHECK_CONTAINS(msg, "argument 2 must be an integer");
    const char *const a2[] = {"#1"};
    CHECK(!fn("UPPER", 1, a2, msg, sizeof msg));
    CHECK_CONTAINS(msg, "character string");
    /* nullability: strict functions follow their arguments; some may give NULL anyway */
    const char *const a3[] = {"'abc", "#1", "#2"};
    rill__sql_rex *x = fn("SUBSTRING", 3, a3, msg, sizeof msg);
    CHECK(x && !x->type->nullable && x->type->root == RILL_SQLT_VARCHAR);
    const char *const a4[] = {"'abc", "#1", "#-2"};
    x = fn("SUBSTRING", 3, a4, msg, sizeof msg);
    CHECK(x && x->type->nullable);
    const char *const a5[] = {"'abc", "'b", "#0"};
    x = fn("SPLIT_INDEX", 3, a5, msg, sizeof msg);
    CHECK(x && x->type->nullable);
    const char *const a6[] = {"'abc"};
    x = fn("MD5", 1, a6, msg, sizeof msg);
    CHECK(x && !x->type->nullable && x->type->root == RILL_SQLT_CHAR && x->type->precision == 32);
    x = fn("POSITION", 2, a1, msg, sizeof msg);
    CHECK(x && x->type->root == RILL_SQLT_INT);
    const char *const a7[] = {"'-", "NULL", "'a"};
    x = fn("CONCAT_WS", 3, a7, msg, sizeof msg);
    CHECK(x && !x->type->nullable);
    x = fn("REGEXP", 2, a1, msg, sizeof msg);
    CHECK(x && x->type->root == RILL_SQLT_BOOLEAN);
    rill__arena_close(&A);
}
