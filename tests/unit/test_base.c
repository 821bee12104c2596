/* test_base.c - unit tests of the base layer. */
#include "base/base.h"
#include "test.h"

TEST(base_crc32c_known_vectors)
{
    /* RFC 3720 B.4 test vectors */
    unsigned char zeros[32] = {0}, ones[32];
    memset(ones, 0xff, sizeof ones);
    CHECK_EQ(rill__crc32c(0, zeros, 32), 0x8a9136aa);
    CHECK_EQ(rill__crc32c(0, ones, 32), 0x62a8ab43);
    CHECK_EQ(rill__crc32c(0, "123456789", 9), 0xe3069283);
    /* incremental equals one-shot */
    CHECK_EQ(rill__crc32c(rill__crc32c(0, "1234", 4), "56789", 5), 0xe3069283);
}

/* The hardware path (where the CPU has one) and the table agree on every length, alignment and
 * chaining point. */
TEST(base_crc32c_hardware_matches_table)
{
    unsigned char buf[1100];
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (unsigned char)x;
    }
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n + off <= sizeof buf; n += (n < 40 ? 1 : 37)) {
            CHECK_EQ(rill__crc32c(0, buf + off, n), rill__crc32c_sw(0, buf + off, n));
            size_t h = n / 3;
            CHECK_EQ(rill__crc32c(rill__crc32c(0, buf + off, h), buf + off + h, n - h),
                     rill__crc32c_sw(0, buf + off, n));
        }
    CHECK_EQ(rill__crc32c_sw(0, "123456789", 9), 0xe3069283);
}

TEST(base_parse_numbers)
{
    int64_t v;
    CHECK_RC(rill__parse_i64("-9223372036854775808", 20, &v));
    CHECK(v == INT64_MIN);
    CHECK_EQ(rill__parse_i64("9223372036854775808", 19, &v), RILL_ERANGE);
    CHECK_EQ(rill__parse_i64("12x", 3, &v), RILL_EPARSE);
    CHECK_EQ(rill__parse_i64("", 0, &v), RILL_EPARSE);
    CHECK_EQ(rill__parse_i64("-", 1, &v), RILL_EPARSE);
    double d;
    CHECK_RC(rill__parse_f64("1.5e3", 5, &d));
    CHECK_DBL(d, 1500.0, 0);
    CHECK_EQ(rill__parse_f64("0x10", 4, &d), RILL_EPARSE);
    CHECK_EQ(rill__parse_f64(" 1", 2, &d), RILL_EPARSE);
    CHECK_EQ(rill__parse_f64("1e999", 5, &d), RILL_ERANGE);
    char buf[64];
    rill__format_f64(buf, sizeof buf, 0.1);
    CHECK_STR(buf, "0.1");
    rill__format_f64(buf, sizeof buf, 1.0 / 3);
    CHECK_STR(buf, "0.3333333333333333");
    rill__format_f64(buf, sizeof buf, 1100);
    CHECK_STR(buf, "1100");
    rill__format_f64(buf, sizeof buf, 1050.5);
    CHECK_STR(buf, "1050.5");
    rill__format_f64(buf, sizeof buf, -2e-9);
    CHECK_STR(buf, "-2e-09");
    rill__format_f64(buf, sizeof buf, 1e21);
    CHECK_STR(buf, "1e+21");
    rill__format_f64(buf, sizeof buf, 123456789012345680000.0);
    CHECK_STR(buf, "123456789012345683968");
    rill__format_f64(buf, sizeof buf, 0.000001);
    CHECK_STR(buf, "0.000001");
    bool b;
    CHECK_RC(rill__parse_bool("TRUE", 4, &b));
    CHECK(b);
    CHECK_EQ(rill__parse_bool("yes", 3, &b), RILL_EPARSE);
}

TEST(base_errors_have_names_and_texts)
{
    CHECK_STR(rill_err_name(RILL_EPARSE), "RILL_EPARSE");
    CHECK_STR(rill_strerror(RILL_EPARSE), "malformed input record");
    CHECK_STR(rill_err_name(RILL_ENOENT), "RILL_ENOENT");
    CHECK_STR(rill_strerror(-EBADF), strerror(EBADF));
    rill__err e = {0};
    CHECK_EQ(rill__err_first(&e, RILL_EIO, "first %d", 1), RILL_EIO);
    rill__err_first(&e, RILL_EINVAL, "second");
    CHECK_STR(e.msg, "first 1");
    CHECK_EQ(e.code, RILL_EIO);
}

TEST(base_arena_and_buf)
{
    rill__arena a;
    rill__arena_init(&a, 128);
    for (int i = 0; i < 100; i++) {
        char *p = rill__arena_alloc(&a, 100);
        CHECK(((uintptr_t)p & 15) == 0);
        memset(p, i, 100);
    }
    rill__arena_reset(&a);
    CHECK(rill__arena_alloc(&a, 8) != NULL);
    rill__arena_close(&a);
    rill__buf b = {0};
    for (int i = 0; i < 1000; i++)
        rill__buf_printf(&b, "%d,", i);
    CHECK(strncmp(rill__buf_cstr(&b), "0,1,2,", 6) == 0);
    CHECK_EQ(b.len, 3890);
    rill__buf_free(&b);
}

TEST(base_atomic_write_and_fault_injection)
{
    char path[512];
    snprintf(path, sizeof path, "%s/a/b/file", rill_test_tmpdir());
    char dir[512];
    snprintf(dir, sizeof dir, "%s/a/b", rill_test_tmpdir());
    CHECK_RC(rill__mkdirs(dir, 0755));
    CHECK_RC(rill__write_file_atomic(path, "hello", 5));
    char *data;
    size_t len;
    CHECK_RC(rill__read_file(path, 100, &data, &len));
    CHECK_STR(data, "hello");
    free(data);
    CHECK_EQ(rill__read_file(path, 2, &data, &len), RILL_ELIMIT);
#ifdef RILL_FAULT_INJECTION
    /* a failing fsync leaves the old content in place and reports the error */
    rill__fault_arm(RILL_FAULT_FSYNC, 1, false);
    CHECK_EQ(rill__write_file_atomic(path, "world", 5), -EIO);
    rill__fault_arm(RILL_FAULT_FSYNC, 0, false);
    CHECK_RC(rill__read_file(path, 100, &data, &len));
    CHECK_STR(data, "hello");
    free(data);
    rill__fault_arm(RILL_FAULT_WRITE, 1, false);
    CHECK_EQ(rill__write_file_atomic(path, "world", 5), -EIO);
    rill__fault_arm(RILL_FAULT_WRITE, 0, false);
#endif
}
