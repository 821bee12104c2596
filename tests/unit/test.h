/*
 * test.h - the unit test harness: TEST(name) registers a test; checks print both sides of a
 * failed comparison. Each test runs in its own child process with a timeout (main.c).
 */
#ifndef RILL_TEST_H
#define RILL_TEST_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*rill_test_fn)(void);
void rill_test_register(const char *name, rill_test_fn fn, const char *file);
void rill_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
/* A fresh empty directory for this test's files (removed after a passing run). */
const char *rill_test_tmpdir(void);

#define TEST(name)                                                                             \
    static void test_##name(void);                                                             \
    __attribute__((constructor)) static void register_##name(void)                             \
    {                                                                                          \
        rill_test_register(#name, test_##name, __FILE__);                                      \
    }                                                                                          \
    static void test_##name(void)

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond))                                                                           \
            rill_test_fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond);                     \
    } while (0)

#define CHECK_INT(a, op, b)                                                                    \
    do {                                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                                    \
        if (!(a_ op b_))                                                                       \
            rill_test_fail(__FILE__, __LINE__, "%s %s %s: %lld vs %lld", #a, #op, #b, a_, b_); \
    } while (0)
#define CHECK_EQ(a, b) CHECK_INT(a, ==, b)

#define CHECK_RC(expr)                                                                         \
    do {                                                                                       \
        int rc_ = (expr);                                                                      \
        if (rc_ != 0)                                                                          \
            rill_test_fail(__FILE__, __LINE__, "%s returned %d (%s)", #expr, rc_,             \
                           rill_strerror(rc_));                                                \
    } while (0)

#define CHECK_STR(a, b)                                                                        \
    do {                                                                                       \
        const char *a_ = (a), *b_ = (b);                                                       \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                 \
            rill_test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" vs \"%s\"", #a, #b,          \
                           a_ ? a_ : "(null)", b_ ? b_ : "(null)");                            \
    } while (0)

#define CHECK_DBL(a, b, eps)                                                                   \
    do {                                                                                       \
        double a_ = (a), b_ = (b);                                                             \
        if (!(fabs(a_ - b_) <= (eps)))                                                         \
            rill_test_fail(__FILE__, __LINE__, "%s ~= %s: %.17g vs %.17g", #a, #b, a_, b_);   \
    } while (0)

/* Substring check, for error messages. */
#define CHECK_CONTAINS(hay, needle)                                                            \
    do {                                                                                       \
        const char *h_ = (hay), *n_ = (needle);                                                \
        if (!h_ || !strstr(h_, n_))                                                            \
            rill_test_fail(__FILE__, __LINE__, "\"%s\" does not contain \"%s\"",               \
                           h_ ? h_ : "(null)", n_);                                            \
    } while (0)

#endif
