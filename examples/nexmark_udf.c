/*
 * nexmark_udf.c - the user-defined function of Nexmark's query 14, in C: count_char(s, c), the
 * number of bytes of s equal to the first byte of c (0 for a NULL s), as Nexmark's CountChar.
 * It stands in for that Java class, so q14's own
 *
 *   CREATE FUNCTION count_char AS 'com.github.nexmark.flink.udf.CountChar';
 *
 * finds it when the library is given with SET 'pipeline.jars' = 'nexmark_udf.so'; or, without
 * the Java name: CREATE FUNCTION count_char AS 'count_char' LANGUAGE C USING JAR
 * 'nexmark_udf.so'.
 */
#include <stdio.h>

#include "rill.h"

static int count_char_eval(void *state, const rill_udf_value *args, rill_udf_value *out,
                           char *msg, size_t msg_cap)
{
    (void)state;
    int64_t n = 0;
    if (!args[0].is_null) {
        if (args[1].is_null || args[1].len == 0) {
            snprintf(msg, msg_cap, "the character to count is NULL or empty");
            return -1;
        }
        char c = args[1].s[0];
        for (size_t i = 0; i < args[0].len; i++)
            n += args[0].s[i] == c;
    }
    out->i = n;
    return 0;
}

static const char *const count_char_args[] = {"STRING", "STRING"};

RILL_API const rill_udf count_char = {
    .abi = RILL_UDF_ABI,
    .name = "count_char",
    .java_class = "com.github.nexmark.flink.udf.CountChar",
    .result_type = "BIGINT",
    .n_args = 2,
    .arg_types = count_char_args,
    .eval = count_char_eval,
};

RILL_API const rill_udf *const rill_udfs[] = {&count_char, NULL};
