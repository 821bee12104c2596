/* dec128.c - base layer: exact 128-bit DECIMAL arithmetic with HALF_UP rounding (dec128.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "dec128.h"

/* ---- 256-bit unsigned magnitudes, little-endian 64-bit words ------------------------------ */

typedef struct u256 {
    uint64_t w[4];
} u256;

static u256 u256_from(rill__u128 x)
{
    return (u256){{(uint64_t)x, (uint64_t)(x >> 64), 0, 0}};
}

static bool u256_is_zero(const u256 *a)
{
    return !(a->w[0] | a->w[1] | a->w[2] | a->w[3]);
}

static int u256_cmp(const u256 *a, const u256 *b)
{
    for (int i = 3; i >= 0; i--)
        if (a->w[i] != b->w[i])
            return a->w[i] < b->w[i] ? -1 : 1;
    return 0;
}

/* a * m; false on overflow past 256 bits. */
static bool u256_mul64(u256 *a, uint64_t m)
{
    rill__u128 carry = 0;
    for (int i = 0; i < 4; i++) {
        rill__u128 t = (rill__u128)a->w[i] * m + carry;
        a->w[i] = (uint64_t)t;
        carry = t >> 64;
    }
    return carry == 0;
}

/* a * 10^n; false on overflow. */
static bool u256_mul_pow10(u256 *a, int n)
{
    while (n > 0) {
        int k = n > 19 ? 19 : n;
        if (!u256_mul64(a, (uint64_t)rill__dec_pow10(k)))
            return false;
        n -= k;
    }
    return true;
}

/* a / d in place, remainder returned. */
static uint64_t u256_div64(u256 *a, uint64_t d)
{
    rill__u128 r = 0;
    for (int i = 3; i >= 0; i--) {
        rill__u128 cur = r << 64 | a->w[i];
        a->w[i] = (uint64_t)(cur / d);
        r = cur % d;
    }
    return (uint64_t)r;
}

static void u256_div_pow10(u256 *a, int n)
{
    while (n > 0) {
        int k = n > 19 ? 19 : n;
        u256_div64(a, (uint64_t)rill__dec_pow10(k));
        n -= k;
    }
}

static void u256_add(u256 *a, const u256 *b)
{
    uint64_t carry = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t s = a->w[i] + carry;
        uint64_t c1 = s < carry;
        a->w[i] = s + b->w[i];
        carry = c1 | (a->w[i] < s);
    }
}

/* a - b, a >= b. */
static void u256_sub(u256 *a, const u256 *b)
{
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t bi = b->w[i] + borrow;
        uint64_t nb = (bi < borrow) | (a->w[i] < bi);
        a->w[i] -= bi;
        borrow = nb;
    }
}

static void u256_shl1(u256 *a)
{
    for (int i = 3; i > 0; i--)
        a->w[i] = a->w[i] << 1 | a->w[i - 1] >> 63;
    a->w[0] <<= 1;
}

/* q = n / d, r = n % d (d != 0), by binary long division: divisions are rare. */
static void u256_divmod(const u256 *n, const u256 *d, u256 *q, u256 *r)
{
    *q = (u256){{0}};
    *r = (u256){{0}};
    for (int bit = 255; bit >= 0; bit--) {
        u256_shl1(r);
        r->w[0] |= (n->w[bit / 64] >> (bit % 64)) & 1;
        if (u256_cmp(r, d) >= 0) {
            u256_sub(r, d);
            q->w[bit / 64] |= UINT64_C(1) << (bit % 64);
        }
    }
}

/* ---- helpers ------------------------------------------------------------------------------- */

#define P(hi, lo) ((rill__u128)(hi) << 64 | (rill__u128)(lo))
static const rill__u128 pow10_tab[39] = {
    P(0x0u, 0x1u),
    P(0x0u, 0xau),
    P(0x0u, 0x64u),
    P(0x0u, 0x3e8u),
    P(0x0u, 0x2710u),
    P(0x0u, 0x186a0u),
    P(0x0u, 0xf4240u),
    P(0x0u, 0x989680u),
    P(0x0u, 0x5f5e100u),
    P(0x0u, 0x3b9aca00u),
    P(0x0u, 0x2540be400u),
    P(0x0u, 0x174876e800u),
    P(0x0u, 0xe8d4a51000u),
    P(0x0u, 0x9184e72a000u),
    P(0x0u, 0x5af3107a4000u),
    P(0x0u, 0x38d7ea4c68000u),
    P(0x0u, 0x2386f26fc10000u),
    P(0x0u, 0x16345785d8a0000u),
    P(0x0u, 0xde0b6b3a7640000u),
    P(0x0u, 0x8ac7230489e80000u),
    P(0x5u, 0x6bc75e2d63100000u),
    P(0x36u, 0x35c9adc5dea00000u),
    P(0x21eu, 0x19e0c9bab2400000u),
    P(0x152du, 0x2c7e14af6800000u),
    P(0xd3c2u, 0x1bcecceda1000000u),
    P(0x84595u, 0x161401484a000000u),
    P(0x52b7d2u, 0xdcc80cd2e4000000u),
    P(0x33b2e3cu, 0x9fd0803ce8000000u),
    P(0x204fce5eu, 0x3e25026110000000u),
    P(0x1431e0faeu, 0x6d7217caa0000000u),
    P(0xc9f2c9cd0u, 0x4674edea40000000u),
    P(0x7e37be2022u, 0xc0914b2680000000u),
    P(0x4ee2d6d415bu, 0x85acef8100000000u),
    P(0x314dc6448d93u, 0x38c15b0a00000000u),
    P(0x1ed09bead87c0u, 0x378d8e6400000000u),
    P(0x13426172c74d82u, 0x2b878fe800000000u),
    P(0xc097ce7bc90715u, 0xb34b9f1000000000u),
    P(0x785ee10d5da46d9u, 0xf436a000000000u),
    P(0x4b3b4ca85a86c47au, 0x98a224000000000u),
};
#undef P

rill__u128 rill__dec_pow10(int n)
{
    return pow10_tab[n];
}

static rill__u128 mag(rill__i128 v)
{
    return v < 0 ? (rill__u128)0 - (rill__u128)v : (rill__u128)v;
}

bool rill__dec_fits(rill__i128 v, int precision)
{
    return mag(v) < rill__dec_pow10(precision);
}

/* Rounds |x| at scale from to scale to (HALF_UP), checks precision p, applies the sign. */
static int finish(bool neg, u256 x, int from, int p, int to, rill__i128 *out)
{
    if (from > to) {
        u256_div_pow10(&x, from - to - 1);
        uint64_t digit = u256_div64(&x, 10);
        if (digit >= 5) {
            u256 one = u256_from(1);
            u256_add(&x, &one);
        }
    } else if (from < to) {
        if (!u256_mul_pow10(&x, to - from))
            return RILL_ERANGE;
    }
    if (x.w[2] | x.w[3])
        return RILL_ERANGE;
    rill__u128 m = (rill__u128)x.w[1] << 64 | x.w[0];
    if (m >= rill__dec_pow10(p))
        return RILL_ERANGE;
    *out = neg ? -(rill__i128)m : (rill__i128)m;
    return 0;
}

static bool bad_type(int p, int s)
{
    return p < 1 || p > RILL_DECIMAL_MAX_PRECISION || s < 0 || s > p;
}

int rill__dec_rescale(rill__i128 v, int from, int precision, int to, rill__i128 *out)
{
    if (bad_type(precision, to) || from < 0 || from > 76)
        return RILL_EINVAL;
    return finish(v < 0, u256_from(mag(v)), from, precision, to, out);
}

/* a + b (or a - b when negate_b) exactly, at scale max(sa, sb), as sign and magnitude. */
static int add_sub(rill__i128 a, int sa, rill__i128 b, int sb, bool negate_b, int p, int s,
                   rill__i128 *out)
{
    if (bad_type(p, s) || sa < 0 || sa > 38 || sb < 0 || sb > 38)
        return RILL_EINVAL;
    int sc = sa > sb ? sa : sb;
    u256 x = u256_from(mag(a)), y = u256_from(mag(b));
    u256_mul_pow10(&x, sc - sa); /* <= 76 digits: fits 256 bits */
    u256_mul_pow10(&y, sc - sb);
    bool nx = a < 0, ny = (b < 0) != negate_b;
    if (b == 0)
        ny = false;
    if (nx == ny) {
        u256_add(&x, &y);
        return finish(nx, x, sc, p, s, out);
    }
    if (u256_cmp(&x, &y) >= 0) {
        u256_sub(&x, &y);
        return finish(nx && !u256_is_zero(&x), x, sc, p, s, out);
    }
    u256_sub(&y, &x);
    return finish(ny, y, sc, p, s, out);
}

int rill__dec_add(rill__i128 a, int sa, rill__i128 b, int sb, int p, int s, rill__i128 *out)
{
    return add_sub(a, sa, b, sb, false, p, s, out);
}

int rill__dec_sub(rill__i128 a, int sa, rill__i128 b, int sb, int p, int s, rill__i128 *out)
{
    return add_sub(a, sa, b, sb, true, p, s, out);
}

int rill__dec_mul(rill__i128 a, int sa, rill__i128 b, int sb, int p, int s, rill__i128 *out)
{
    if (bad_type(p, s) || sa < 0 || sa > 38 || sb < 0 || sb > 38)
        return RILL_EINVAL;
    rill__u128 x = mag(a), y = mag(b);
    /* 128 x 128 -> 256 by 64-bit halves */
    uint64_t xl = (uint64_t)x, xh = (uint64_t)(x >> 64), yl = (uint64_t)y, yh = (uint64_t)(y >> 64);
    rill__u128 ll = (rill__u128)xl * yl, lh = (rill__u128)xl * yh, hl = (rill__u128)xh * yl,
               hh = (rill__u128)xh * yh;
    u256 r = {{(uint64_t)ll, (uint64_t)(ll >> 64), (uint64_t)hh, (uint64_t)(hh >> 64)}};
    u256 t1 = {{0, (uint64_t)lh, (uint64_t)(lh >> 64), 0}};
    u256 t2 = {{0, (uint64_t)hl, (uint64_t)(hl >> 64), 0}};
    u256_add(&r, &t1);
    u256_add(&r, &t2);
    bool neg = (a < 0) != (b < 0) && a != 0 && b != 0;
    return finish(neg, r, sa + sb, p, s, out);
}

/* |a| / |b| scaled to s, as quotient and remainder (before rounding). */
static int div_parts(rill__i128 a, int sa, rill__i128 b, int sb, int s, u256 *q, u256 *r, u256 *d)
{
    if (b == 0)
        return RILL_EINVAL;
    int e = s - sa + sb; /* |a| * 10^e / |b| is the unscaled result */
    u256 n = u256_from(mag(a));
    *d = u256_from(mag(b));
    if (e >= 0) {
        if (!u256_mul_pow10(&n, e))
            return RILL_ERANGE; /* n > 10^77 while |b| < 10^38: the result has > 38 digits */
    } else {
        u256_mul_pow10(d, -e); /* -e <= 76 */
    }
    u256_divmod(&n, d, q, r);
    return 0;
}

int rill__dec_div(rill__i128 a, int sa, rill__i128 b, int sb, int p, int s, rill__i128 *out)
{
    if (bad_type(p, s) || sa < 0 || sa > 38 || sb < 0 || sb > 38)
        return RILL_EINVAL;
    u256 q, r, d;
    int rc = div_parts(a, sa, b, sb, s, &q, &r, &d);
    if (rc)
        return rc;
    /* HALF_UP: the remainder is at least half the divisor */
    u256 r2 = r;
    bool big = r2.w[3] >> 63;
    u256_shl1(&r2);
    if (big || u256_cmp(&r2, &d) >= 0) {
        u256 one = u256_from(1);
        u256_add(&q, &one);
    }
    bool neg = (a < 0) != (b < 0) && !u256_is_zero(&q);
    return finish(neg, q, s, p, s, out);
}

int rill__dec_mod(rill__i128 a, int sa, rill__i128 b, int sb, int p, int s, rill__i128 *out)
{
    if (bad_type(p, s) || sa < 0 || sa > 38 || sb < 0 || sb > 38)
        return RILL_EINVAL;
    if (b == 0)
        return RILL_EINVAL;
    /* at the common scale both are exact integers: |a| mod |b| there */
    int sc = sa > sb ? sa : sb;
    u256 x = u256_from(mag(a)), y = u256_from(mag(b)), q, r;
    u256_mul_pow10(&x, sc - sa);
    u256_mul_pow10(&y, sc - sb);
    u256_divmod(&x, &y, &q, &r);
    return finish(a < 0 && !u256_is_zero(&r), r, sc, p, s, out);
}

int rill__dec_cmp(rill__i128 a, int sa, rill__i128 b, int sb)
{
    if ((a < 0) != (b < 0))
        return a < 0 ? -1 : 1;
    int sc = sa > sb ? sa : sb;
    u256 x = u256_from(mag(a)), y = u256_from(mag(b));
    u256_mul_pow10(&x, sc - sa);
    u256_mul_pow10(&y, sc - sb);
    int c = u256_cmp(&x, &y);
    return a < 0 ? -c : c;
}

/* ---- text ---------------------------------------------------------------------------------- */

int rill__dec_parse(const char *s, size_t n, int p, int scale, rill__i128 *out)
{
    if (bad_type(p, scale))
        return RILL_EINVAL;
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    /* digits without the point: D = s[d0..], point after n_int of them */
    char digs[400];
    int n_digs = 0, n_int = -1, n_seen = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            n_seen++;
            if (n_digs == 0 && c == '0' && n_int < 0)
                continue; /* leading zeros of the integer part */
            if (n_digs >= (int)sizeof digs)
                return RILL_ERANGE; /* > 400 significant digits: never fits DECIMAL(38) */
            digs[n_digs++] = c;
        } else if (c == '.' && n_int < 0) {
            n_int = n_digs;
        } else {
            break;
        }
    }
    if (n_seen == 0)
        return RILL_EPARSE;
    if (n_int < 0)
        n_int = n_digs;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        if (i == n)
            return RILL_EPARSE;
        long e = 0;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (e < 100000)
                e = e * 10 + (s[i] - '0');
        n_int += (int)(eneg ? -e : e);
    }
    if (i != n)
        return RILL_EPARSE;
    /* digit k weighs 10^(n_int - 1 - k + scale) in the unscaled result */
    rill__u128 m = 0;
    for (int k = 0; k < n_digs; k++) {
        long w = (long)n_int - 1 - k + scale;
        if (w < 0)
            break;
        if (digs[k] != '0' && w >= p)
            return RILL_ERANGE;
        m = m * 10 + (rill__u128)(digs[k] - '0');
    }
    long wlast = (long)n_int - n_digs + scale; /* weight of the digit after the last */
    if (wlast > 0 && m != 0)
        m *= rill__dec_pow10((int)wlast); /* < 10^p: the first digit was checked */
    long kr = (long)n_int + scale;        /* index of the first dropped digit */
    if (kr >= 0 && kr < n_digs && digs[kr] >= '5')
        m++;
    if (m >= rill__dec_pow10(p))
        return RILL_ERANGE;
    *out = neg ? -(rill__i128)m : (rill__i128)m;
    return 0;
}

int rill__dec_format(rill__i128 v, int scale, char *buf)
{
    char tmp[48];
    int i = sizeof tmp;
    rill__u128 m = mag(v);
    int nd = 0;
    do {
        tmp[--i] = (char)('0' + (int)(m % 10));
        m /= 10;
        nd++;
    } while (m || nd <= scale);
    int len = 0;
    if (v < 0)
        buf[len++] = '-';
    int n_int = nd - scale;
    memcpy(buf + len, tmp + i, (size_t)n_int);
    len += n_int;
    if (scale > 0) {
        buf[len++] = '.';
        memcpy(buf + len, tmp + i + n_int, (size_t)scale);
        len += scale;
    }
    buf[len] = '\0';
    return len;
}

int rill__dec_from_double(double d, int p, int s, rill__i128 *out)
{
    if (bad_type(p, s))
        return RILL_EINVAL;
    if (!isfinite(d))
        return RILL_ERANGE;
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) { /* the shortest form that reads back exactly */
        snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return rill__dec_parse(buf, strlen(buf), p, s, out);
}

double rill__dec_to_double(rill__i128 v, int scale)
{
    char buf[RILL_DECIMAL_STR_MAX];
    rill__dec_format(v, scale, buf);
    return strtod(buf, NULL);
}

void rill__dec_store16(rill__i128 v, unsigned char out[16])
{
    rill__u128 u = (rill__u128)v;
    for (int i = 0; i < 16; i++)
        out[i] = (unsigned char)(u >> (8 * i));
}

rill__i128 rill__dec_load16(const unsigned char in[16])
{
    rill__u128 u = 0;
    for (int i = 15; i >= 0; i--)
        u = u << 8 | in[i];
    return (rill__i128)u;
}

/* ---- result types (Flink's LogicalTypeMerging) -------------------------------------------- */

int rill__dec_result_type(char op, int p1, int s1, int p2, int s2, int *p_out, int *s_out)
{
    int p, s;
    switch (op) {
    case '+':
    case '-':
        s = RILL_MAX(s1, s2);
        p = RILL_MAX(p1 - s1, p2 - s2) + s + 1;
        break;
    case '*':
        s = s1 + s2;
        p = p1 + p2; /* Flink 1.x (2.x adds 1) */
        break;
    case '/':
        s = RILL_MAX(6, s1 + p2 + 1);
        p = p1 - s1 + s2 + s;
        break;
    case '%':
        s = RILL_MAX(s1, s2);
        p = RILL_MIN(p1 - s1, p2 - s2) + s;
        break;
    default:
        return RILL_EINVAL;
    }
    if (p > RILL_DECIMAL_MAX_PRECISION) {
        int int_digits = p - s;
        s = RILL_MAX(RILL_DECIMAL_MAX_PRECISION - int_digits, RILL_MIN(s, 6));
        p = RILL_DECIMAL_MAX_PRECISION;
    }
    *p_out = p;
    *s_out = s;
    return 0;
}
