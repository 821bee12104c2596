/*
 * fn_cast.c - CAST between character strings and other types, with Flink's text forms (Java's
 * for numbers: Double.toString, BigDecimal.toPlainString...) and its parse rules; DATE, TIME
 * and timestamps go to fn_time.c's text forms.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "functions.h"
#include "sql_int.h"

/* ---- CAST to and from character strings ---------------------------------------------------- */

static bool numeric_or_bool(const rill__sql_ltype *t)
{
    return rill__sql_is_numeric(t) || t->root == RILL_SQLT_BOOLEAN;
}

bool rill__sql_cast_string_ok(const rill__sql_ltype *from, const rill__sql_ltype *to)
{
    const rill__sql_ltype *other = rill__sql_is_character(from) ? to : from;
    if (rill__sql_is_datetime(other))
        return rill__sql_cast_time_text_ok(from, to);
    /* BINARY and VARBINARY: the same bytes (UTF-8), which the evaluator's byte cast makes */
    return numeric_or_bool(other) || rill__sql_is_binary(other) || rill__sql_is_character(other);
}

/* The target's name in messages: Flink's (INT, DECIMAL(10, 2)...). */
static const char *target_name(const rill__sql_ltype *t, char *buf, size_t cap)
{
    static const char *const NAMES[] = {
        [RILL_SQLT_BOOLEAN] = "BOOLEAN",   [RILL_SQLT_TINYINT] = "TINYINT",
        [RILL_SQLT_SMALLINT] = "SMALLINT", [RILL_SQLT_INT] = "INT",
        [RILL_SQLT_BIGINT] = "BIGINT",     [RILL_SQLT_FLOAT] = "FLOAT",
        [RILL_SQLT_DOUBLE] = "DOUBLE",
    };
    if (t->root == RILL_SQLT_DECIMAL)
        snprintf(buf, cap, "DECIMAL(%d, %d)", t->precision, t->scale);
    else
        snprintf(buf, cap, "%s",
                 (size_t)t->root < sizeof NAMES / sizeof *NAMES && NAMES[t->root] ? NAMES[t->root]
                                                                                  : "?");
    return buf;
}

/* Fails the row: the value (its first 100 bytes), the target and why (Flink's
 * NumberFormatException reasons: "Invalid character found.", "Overflow."...). */
static int cast_fail(rill__sql_fn_ctx *c, const rill__sql_val *in, const rill__sql_ltype *to,
                     const char *why)
{
    char name[48];
    return rill__sql_fn_fail(c, "Cannot cast '%.*s%s' to %s: %s", (int)RILL_MIN(in->len, 100),
                             in->b ? in->b : "", in->len > 100 ? "..." : "",
                             target_name(to, name, sizeof name), why);
}

/* Java's text of a number or a boolean, as Flink's CAST to STRING makes it. */
static void number_text(const rill__sql_ltype *from, const rill__sql_val *in, rill__buf *out)
{
    switch (from->root) {
    case RILL_SQLT_BOOLEAN:
        rill__buf_printf(out, "%s", in->v ? "TRUE" : "FALSE");
        break;
    case RILL_SQLT_DOUBLE:
        rill__sql_java_double(out, rill__sql_val_double(in));
        break;
    case RILL_SQLT_FLOAT:
        rill__sql_java_float(out, rill__sql_val_float(in));
        break;
    case RILL_SQLT_DECIMAL: { /* DecimalData.toString: BigDecimal.toPlainString */
        char buf[RILL_DECIMAL_STR_MAX];
        int n = rill__dec_format(in->dec, from->scale, buf);
        rill__buf_append(out, buf, (size_t)n);
        break;
    }
    default:
        rill__buf_printf(out, "%lld", (long long)(int64_t)in->v);
        break;
    }
}

/* Flink's integer parse (BinaryStringDataUtil.toInt/toLong): an optional sign, digits, and
 * optionally a point and more digits, which are dropped ('1.9' is 1); an overflow of the int
 * (TINYINT..INT) or the long (BIGINT) fails, and so does a TINYINT or SMALLINT out of range. */
static int parse_integer(rill__sql_fn_ctx *c, const rill__sql_val *in, const char *s, size_t n,
                         const rill__sql_ltype *to, rill__sql_val *out)
{
    if (n == 0)
        return cast_fail(c, in, to, "Input is empty.");
    size_t i = 0;
    bool neg = s[0] == '-';
    if (neg || s[0] == '+') {
        i++;
        if (n == 1)
            return cast_fail(c, in, to, "Input has only positive or negative symbol.");
    }
    uint64_t lim = to->root == RILL_SQLT_BIGINT ? (UINT64_C(1) << 63) : (UINT64_C(1) << 31);
    uint64_t v = 0;
    for (; i < n && s[i] != '.'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9)
            return cast_fail(c, in, to, "Invalid character found.");
        if (v > (lim - d) / 10)
            return cast_fail(c, in, to, "Overflow.");
        v = v * 10 + d;
    }
    for (i += i < n; i < n; i++) /* after the point */
        if (s[i] < '0' || s[i] > '9')
            return cast_fail(c, in, to, "Invalid character found.");
    if (!neg && v == lim)
        return cast_fail(c, in, to, "Overflow.");
    int64_t r = neg ? (int64_t)((uint64_t)0 - v) : (int64_t)v;
    if ((to->root == RILL_SQLT_TINYINT && (r < INT8_MIN || r > INT8_MAX)) ||
        (to->root == RILL_SQLT_SMALLINT && (r < INT16_MIN || r > INT16_MAX)))
        return cast_fail(c, in, to, "Overflow.");
    out->v = (uint64_t)r;
    return 0;
}

static bool digits_at(const char *s, size_t n, size_t *i, bool hex)
{
    size_t k = *i;
    while (*i < n && (hex ? isxdigit((unsigned char)s[*i]) : isdigit((unsigned char)s[*i])))
        (*i)++;
    return *i > k;
}

/* Java's Double.parseDouble / Float.parseFloat of trimmed text: [sign] NaN, Infinity, a
 * decimal with an optional exponent, or a hexadecimal with a binary exponent ("0x1.8p1"), then
 * an optional f, F, d or D; the nearest double (float). */
static bool parse_java_double(const char *s, size_t n, bool is_float, double *out)
{
    size_t i = 0;
    bool neg = n > 0 && s[0] == '-';
    if (n > 0 && (s[0] == '-' || s[0] == '+'))
        i++;
    if (n - i == 3 && !memcmp(s + i, "NaN", 3)) {
        *out = (double)NAN;
        return true;
    }
    if (n - i == 8 && !memcmp(s + i, "Infinity", 8)) {
        *out = neg ? -(double)INFINITY : (double)INFINITY;
        return true;
    }
    size_t end;
    if (n - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        size_t k = i + 2;
        bool any = digits_at(s, n, &k, true);
        if (k < n && s[k] == '.') {
            k++;
            any |= digits_at(s, n, &k, true);
        }
        if (!any || k >= n || (s[k] != 'p' && s[k] != 'P'))
            return false;
        k++;
        if (k < n && (s[k] == '+' || s[k] == '-'))
            k++;
        if (!digits_at(s, n, &k, false))
            return false;
        end = k;
    } else {
        size_t k = i;
        bool any = digits_at(s, n, &k, false);
        if (k < n && s[k] == '.') {
            k++;
            any |= digits_at(s, n, &k, false);
        }
        if (!any)
            return false;
        if (k < n && (s[k] == 'e' || s[k] == 'E')) {
            k++;
            if (k < n && (s[k] == '+' || s[k] == '-'))
                k++;
            if (!digits_at(s, n, &k, false))
                return false;
        }
        end = k;
    }
    size_t last = end; /* the number ends here: then an optional type suffix, nothing else */
    if (last < n && (s[last] == 'f' || s[last] == 'F' || s[last] == 'd' || s[last] == 'D'))
        last++;
    if (last != n)
        return false;
    char *z = malloc(end + 1);
    memcpy(z, s, end);
    z[end] = '\0';
    *out = is_float ? (double)strtof(z, NULL) : strtod(z, NULL);
    free(z);
    return true;
}

static bool is_word(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && !strncasecmp(s, w, n);
}

/* From a string to a number or BOOLEAN: Flink's parse of the trimmed text. */
static int from_string(rill__sql_fn_ctx *c, const rill__sql_ltype *to, const rill__sql_val *in,
                       rill__sql_val *out)
{
    size_t i = 0, n = in->len;
    while (i < n && (unsigned char)in->b[i] <= ' ')
        i++;
    while (n > i && (unsigned char)in->b[n - 1] <= ' ')
        n--;
    const char *s = in->b + i;
    n -= i;
    switch (to->root) {
    case RILL_SQLT_BOOLEAN: /* BinaryStringDataUtil.toBoolean */
        if (is_word(s, n, "true") || is_word(s, n, "t") || is_word(s, n, "yes") ||
            is_word(s, n, "y") || is_word(s, n, "1"))
            out->v = 1;
        else if (is_word(s, n, "false") || is_word(s, n, "f") || is_word(s, n, "no") ||
                 is_word(s, n, "n") || is_word(s, n, "0"))
            out->v = 0;
        else
            return cast_fail(c, in, to, "not a boolean.");
        return 0;
    case RILL_SQLT_FLOAT:
    case RILL_SQLT_DOUBLE: {
        double d;
        bool is_float = to->root == RILL_SQLT_FLOAT;
        if (!parse_java_double(s, n, is_float, &d))
            return cast_fail(c, in, to, n ? "Invalid character found." : "Input is empty.");
        if (is_float)
            rill__sql_val_set_float(out, (float)d);
        else
            rill__sql_val_set_double(out, d);
        return 0;
    }
    case RILL_SQLT_DECIMAL: { /* BigDecimal's text, rounded HALF_UP to the scale */
        int rc = rill__dec_parse(s, n, to->precision, to->scale, &out->dec);
        if (rc == RILL_ERANGE)
            return cast_fail(c, in, to, "Overflow.");
        if (rc)
            return cast_fail(c, in, to, n ? "Invalid character found." : "Input is empty.");
        return 0;
    }
    default:
        return parse_integer(c, in, s, n, to, out);
    }
}

int rill__sql_cast_string_row(rill__sql_fn_ctx *c, const rill__sql_ltype *from,
                              const rill__sql_ltype *to, const rill__sql_val *in,
                              rill__sql_val *out)
{
    if (rill__sql_is_datetime(from) || rill__sql_is_datetime(to))
        return rill__sql_cast_time_text(c, from, to, in, out);
    if (rill__sql_is_character(from))
        return from_string(c, to, in, out);
    /* to a string: the text, cut to a VARCHAR(n)'s or CHAR(n)'s length and a CHAR padded with
     * spaces (the text is ASCII: characters are bytes) */
    rill__buf_reserve(&c->tmp, 64);
    c->tmp.len = 0;
    number_text(from, in, &c->tmp);
    size_t want = (size_t)to->precision;
    if (c->tmp.len > want)
        c->tmp.len = want;
    if (to->root == RILL_SQLT_CHAR && c->tmp.len < want) {
        size_t pad = want - c->tmp.len;
        rill__buf_reserve(&c->tmp, pad);
        memset(c->tmp.data + c->tmp.len, ' ', pad);
        c->tmp.len += pad;
    }
    out->b = (const char *)c->tmp.data;
    out->len = c->tmp.len;
    return 0;
}
