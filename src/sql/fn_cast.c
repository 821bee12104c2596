/*
 * fn_cast.c - CAST between character strings and other types, with Flink's text forms (Java's
 * for numbers: Double.toString, BigDecimal.toPlainString...) and its parse rules; DATE, TIME
 * and timestamps go to fn_time.c's text forms.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "functions.h"

/* ---- CAST to and from character strings ---------------------------------------------------- */

bool rill__sql_cast_string_ok(const rill__sql_ltype *from, const rill__sql_ltype *to)
{
    const rill__sql_ltype *other = rill__sql_is_character(from) ? to : from;
    if (rill__sql_is_datetime(other))
        return rill__sql_cast_time_text_ok(from, to);
    return rill__sql_is_integer(other) || other->root == RILL_SQLT_BOOLEAN;
}

int rill__sql_cast_string_row(rill__sql_fn_ctx *c, const rill__sql_ltype *from,
                              const rill__sql_ltype *to, const rill__sql_val *in,
                              rill__sql_val *out)
{
    if (rill__sql_is_datetime(from) || rill__sql_is_datetime(to))
        return rill__sql_cast_time_text(c, from, to, in, out);
    if (!rill__sql_is_character(from)) { /* to a string */
        rill__buf_reserve(&c->tmp, 32);
        int n = from->root == RILL_SQLT_BOOLEAN
                    ? snprintf((char *)c->tmp.data, 32, "%s", in->v ? "TRUE" : "FALSE")
                    : snprintf((char *)c->tmp.data, 32, "%lld", (long long)(int64_t)in->v);
        out->b = (const char *)c->tmp.data;
        out->len = (size_t)n;
        return 0;
    }
    /* from a string: Java's parse of the trimmed text */
    size_t i = 0, n = in->len;
    while (i < n && (unsigned char)in->b[i] <= ' ')
        i++;
    while (n > i && (unsigned char)in->b[n - 1] <= ' ')
        n--;
    if (to->root == RILL_SQLT_BOOLEAN) {
        if (n - i == 4 && !strncasecmp(in->b + i, "true", 4))
            out->v = 1;
        else if (n - i == 5 && !strncasecmp(in->b + i, "false", 5))
            out->v = 0;
        else
            out->null = true; /* Flink: a string that is not a boolean casts to NULL */
        return 0;
    }
    bool neg = false;
    size_t k = i;
    if (k < n && (in->b[k] == '-' || in->b[k] == '+'))
        neg = in->b[k++] == '-';
    uint64_t v = 0;
    bool ok = k < n;
    for (; k < n && ok; k++) {
        unsigned d = (unsigned)(in->b[k] - '0');
        if (d > 9 || v > (UINT64_C(1) << 63) / 10)
            ok = false;
        else
            v = v * 10 + d;
    }
    int64_t lo = to->root == RILL_SQLT_TINYINT    ? INT8_MIN
                 : to->root == RILL_SQLT_SMALLINT ? INT16_MIN
                 : to->root == RILL_SQLT_INT      ? INT32_MIN
                                                  : INT64_MIN;
    uint64_t lim = (uint64_t)0 - (uint64_t)lo; /* |lo| */
    if (!ok || v > lim || (!neg && v == lim))
        return rill__sql_fn_fail(c, "The string '%.*s' is not a valid %s", (int)RILL_MIN(in->len, 64),
                                 in->b, to->root == RILL_SQLT_BIGINT ? "BIGINT" : "integer");
    out->v = neg ? (uint64_t)0 - v : v;
    return 0;
}
