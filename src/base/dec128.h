/*
 * dec128.h - base layer: exact DECIMAL(p, s) arithmetic on 128-bit unscaled values (p up to
 * 38), with Flink's rounding (HALF_UP: halves away from zero) and overflow detection, and the
 * result types of +, -, *, /, % by Flink's rules (LogicalTypeMerging).
 *
 * A value is an unscaled integer v and a scale s: v * 10^-s. Every operation is exact before
 * its single final rounding to the requested scale (intermediates use 256 bits), so results
 * equal what arbitrary-precision arithmetic rounded HALF_UP gives. Overflow means the rounded
 * result needs more than the requested precision's digits: RILL_ERANGE, *out untouched.
 */
#ifndef RILL_DEC128_H
#define RILL_DEC128_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rill.h"

#if !defined(__SIZEOF_INT128__)
#error "rill needs a compiler with __int128 (gcc or clang on a 64-bit target)"
#endif

__extension__ typedef __int128 rill__i128;
__extension__ typedef unsigned __int128 rill__u128;

/* 10^n for n in 0..38. */
rill__u128 rill__dec_pow10(int n);
/* |v| < 10^precision. */
bool rill__dec_fits(rill__i128 v, int precision);

/* v at scale from as a DECIMAL(precision, to): HALF_UP when to < from. 0 or RILL_ERANGE. */
int rill__dec_rescale(rill__i128 v, int from, int precision, int to, rill__i128 *out);
/* a (scale sa) op b (scale sb) into DECIMAL(p, s), rounded HALF_UP once. 0 or RILL_ERANGE;
 * div and mod: RILL_EINVAL for a zero divisor. mod has the dividend's sign (SQL's MOD). */
int rill__dec_add(rill__i128 a, int sa, rill__i128 b, int sb, int p, int s, rill__i128 *out);
int rill__dec_sub(rill__i128 a, int sa, rill__i128 b, int sb, int p, int s, rill__i128 *out);
int rill__dec_mul(rill__i128 a, int sa, rill__i128 b, int sb, int p, int s, rill__i128 *out);
int rill__dec_div(rill__i128 a, int sa, rill__i128 b, int sb, int p, int s, rill__i128 *out);
int rill__dec_mod(rill__i128 a, int sa, rill__i128 b, int sb, int p, int s, rill__i128 *out);
/* -1, 0, 1: a (scale sa) against b (scale sb), exactly. */
int rill__dec_cmp(rill__i128 a, int sa, rill__i128 b, int sb);

/* Plain decimal text "[+-]digits[.digits][(e|E)[+-]digits]" into DECIMAL(p, s), HALF_UP.
 * 0, RILL_EPARSE (not a number), RILL_ERANGE (too many integer digits). */
int rill__dec_parse(const char *s, size_t n, int p, int scale, rill__i128 *out);
/* Plain text with exactly scale fraction digits, never an exponent, NUL-terminated into buf
 * (at least RILL_DECIMAL_STR_MAX bytes). Returns the length. */
int rill__dec_format(rill__i128 v, int scale, char *buf);
/* Flink's CAST(double AS DECIMAL(p, s)): the double's shortest decimal form, rounded HALF_UP.
 * RILL_ERANGE for a value too big or not finite. */
int rill__dec_from_double(double d, int p, int s, rill__i128 *out);
/* The double nearest to v * 10^-scale (correctly rounded). */
double rill__dec_to_double(rill__i128 v, int scale);

/* The public value type and back. */
static inline rill__i128 rill__dec_from_pub(const rill_decimal *d)
{
    return (rill__i128)(((rill__u128)(uint64_t)d->hi << 64) | d->lo);
}
static inline rill_decimal rill__dec_to_pub(rill__i128 v, int scale)
{
    rill__u128 u = (rill__u128)v;
    return (rill_decimal){.lo = (uint64_t)u, .hi = (int64_t)(uint64_t)(u >> 64), .scale = scale};
}

/* 16 little-endian bytes (two's complement), the byte-area form of DECIMAL(p > 18). */
void rill__dec_store16(rill__i128 v, unsigned char out[16]);
rill__i128 rill__dec_load16(const unsigned char in[16]);

/*
 * Flink's result type of a DECIMAL(p1, s1) op DECIMAL(p2, s2) (LogicalTypeMerging), op one of
 * '+', '-', '*', '/', '%':
 *   + -  s = max(s1, s2), p = max(p1 - s1, p2 - s2) + s + 1
 *   *    s = s1 + s2,     p = p1 + p2 (Flink 1.x's; Flink 2.x adds 1)
 *   /    s = max(6, s1 + p2 + 1), p = p1 - s1 + s2 + s
 *   %    s = max(s1, s2), p = min(p1 - s1, p2 - s2) + s
 * then, when p > 38, p = 38 and s = max(38 - (p - s), min(s, 6)) (integer digits win, keeping
 * at least 6 fraction digits when there were as many). Integers enter as DECIMAL(3, 0),
 * DECIMAL(5, 0), DECIMAL(10, 0), DECIMAL(19, 0) for TINYINT..BIGINT: the caller's job.
 * 0, or RILL_EINVAL for an unknown op.
 */
int rill__dec_result_type(char op, int p1, int s1, int p2, int s2, int *p_out, int *s_out);

#endif /* RILL_DEC128_H */
