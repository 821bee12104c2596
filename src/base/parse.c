/* parse.c - base layer: strict number parsing and shortest round-trip double formatting. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base.h"

int rill__parse_i64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (n == 0)
        return RILL_EPARSE;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i = 1;
        if (n == 1)
            return RILL_EPARSE;
    }
    uint64_t v = 0;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9)
            return RILL_EPARSE;
        if (v > (limit - d) / 10)
            return RILL_ERANGE;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

int rill__parse_f64(const char *s, size_t n, double *out)
{
    char tmp[64];
    if (n == 0 || n >= sizeof tmp)
        return RILL_EPARSE;
    /* strtod accepts leading spaces, hex and "nan(...)"; refuse what is not a plain number */
    if (s[0] == ' ' || s[0] == '\t')
        return RILL_EPARSE;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (strchr(tmp, 'x') || strchr(tmp, 'X'))
        return RILL_EPARSE;
    char *end;
    errno = 0;
    double d = strtod(tmp, &end);
    if (end != tmp + n)
        return RILL_EPARSE;
    if (errno == ERANGE && isinf(d))
        return RILL_ERANGE;
    *out = d;
    return 0;
}

int rill__parse_bool(const char *s, size_t n, bool *out)
{
    if ((n == 4 && !strncasecmp(s, "true", 4)) || (n == 1 && s[0] == '1')) {
        *out = true;
        return 0;
    }
    if ((n == 5 && !strncasecmp(s, "false", 5)) || (n == 1 && s[0] == '0')) {
        *out = false;
        return 0;
    }
    return RILL_EPARSE;
}

int rill__format_f64(char *buf, size_t cap, double d)
{
    if (isnan(d))
        return snprintf(buf, cap, "NaN");
    if (isinf(d))
        return snprintf(buf, cap, d > 0 ? "Infinity" : "-Infinity");
    if (d == 0)
        return snprintf(buf, cap, signbit(d) ? "-0" : "0");
    /* the fewest significant digits that read back exactly: 15 always suffice for a double
     * that came from 15 or fewer digits; then drop the trailing zeros of the mantissa */
    char tmp[64];
    int prec = fabs(d) < DBL_MIN ? 1 : 15; /* subnormals have fewer digits of precision */
    for (; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
    char *e = strchr(tmp, 'e');
    char *last = e - 1;
    while (*last == '0')
        last--;
    int digits = 0;
    for (char *c = tmp; c <= last; c++)
        digits += *c >= '0' && *c <= '9';
    prec = digits;
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
    int exp10 = atoi(strchr(tmp, 'e') + 1);
    if (exp10 < -7 || exp10 >= 21)
        return snprintf(buf, cap, "%s", tmp);
    int decimals = prec - 1 - exp10;
    return snprintf(buf, cap, "%.*f", decimals > 0 ? decimals : 0, d);
}

int rill__parse_bytes(const char *s, int64_t *out)
{
    size_t n = strlen(s), digits = 0;
    while (digits < n && s[digits] >= '0' && s[digits] <= '9')
        digits++;
    if (digits == 0 || digits > 18)
        return RILL_EPARSE;
    int64_t v;
    if (rill__parse_i64(s, digits, &v) != 0)
        return RILL_EPARSE;
    const char *u = s + digits;
    int shift = 0;
    char c = (char)(*u | 0x20);
    if (*u && (c == 'k' || c == 'm' || c == 'g')) {
        shift = c == 'k' ? 10 : c == 'm' ? 20 : 30;
        u++;
        if ((*u | 0x20) == 'b')
            u++;
    }
    if (*u || v > (INT64_MAX >> shift))
        return RILL_EPARSE;
    *out = v << shift;
    return 0;
}

int rill__parse_duration(const char *s, int64_t *ms)
{
    size_t digits = 0;
    while (s[digits] >= '0' && s[digits] <= '9')
        digits++;
    int64_t v;
    if (digits == 0 || digits > 18 || rill__parse_i64(s, digits, &v) != 0)
        return RILL_EPARSE;
    const char *u = s + digits;
    while (*u == ' ')
        u++;
    static const struct {
        const char *name;
        int64_t mult;
    } units[] = {{"", 1},          {"ms", 1},         {"milli", 1},      {"millis", 1},
                 {"s", 1000},      {"sec", 1000},     {"second", 1000},  {"seconds", 1000},
                 {"min", 60000},   {"minute", 60000}, {"minutes", 60000}, {"h", 3600000},
                 {"hour", 3600000}, {"hours", 3600000}, {"d", 86400000},   {"day", 86400000},
                 {"days", 86400000}};
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (!strcmp(u, units[i].name)) {
            if (v > INT64_MAX / units[i].mult)
                return RILL_EPARSE;
            *ms = v * units[i].mult;
            return 0;
        }
    return RILL_EPARSE;
}

void rill__java_number(rill__buf *out, double d, bool is_float)
{
    if (d != d) {
        rill__buf_append(out, "NaN", 3);
        return;
    }
    if (isinf(d)) {
        const char *s = d > 0 ? "Infinity" : "-Infinity";
        rill__buf_append(out, s, strlen(s));
        return;
    }
    if (d == 0) {
        const char *s = signbit(d) ? "-0.0" : "0.0";
        rill__buf_append(out, s, strlen(s));
        return;
    }
    char e[40];
    int p = 0;
    for (; p < 17; p++) { /* shortest round-trip in %.*e */
        snprintf(e, sizeof e, "%.*e", p, d);
        if (is_float ? (double)strtof(e, NULL) == d : strtod(e, NULL) == d)
            break;
    }
    /* one digit is enough: Java prints the closest decimal of two digits (which reads back as
     * well): 4.9E-324 for Double.MIN_VALUE, 1.0E-5 for 1e-5 */
    if (p == 0)
        snprintf(e, sizeof e, "%.1e", d);
    /* e: [-]D[.DDD]e[+-]XX */
    char digits[24];
    size_t nd = 0;
    const char *c = e;
    bool neg = *c == '-';
    if (neg)
        c++;
    for (; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9')
            digits[nd++] = *c;
    int exp10 = atoi(c + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    if (neg)
        rill__buf_putc(out, '-');
    double a = fabs(d);
    if (a >= 1e-3 && a < 1e7) {
        if (exp10 >= 0) {
            for (int i = 0; i <= exp10; i++)
                rill__buf_putc(out, (size_t)i < nd ? digits[i] : '0');
            rill__buf_putc(out, '.');
            if ((size_t)exp10 + 1 >= nd)
                rill__buf_putc(out, '0');
            for (size_t i = (size_t)exp10 + 1; i < nd; i++)
                rill__buf_putc(out, digits[i]);
        } else {
            rill__buf_append(out, "0.", 2);
            for (int i = 0; i < -exp10 - 1; i++)
                rill__buf_putc(out, '0');
            rill__buf_append(out, digits, nd);
        }
        return;
    }
    rill__buf_putc(out, digits[0]);
    rill__buf_putc(out, '.');
    if (nd == 1)
        rill__buf_putc(out, '0');
    else
        rill__buf_append(out, digits + 1, nd - 1);
    rill__buf_printf(out, "E%d", exp10);
}
