/* test_data.c - unit tests of the data layer: schemas, batches and pools, keys, key groups. */
#include "data/data.h"
#include "test.h"

static rill_schema *schema(const char *spec)
{
    rill_schema *s = NULL;
    int rc = rill_schema_parse(spec, &s);
    if (rc)
        rill_test_fail(__FILE__, __LINE__, "schema \"%s\": %s", spec, rill_last_error());
    return s;
}

/* ---- schemas ------------------------------------------------------------------------------ */

TEST(data_schema_parse_types_and_nullability)
{
    rill_schema *s = schema("  id INT64 NOT NULL, name varchar,ok Boolean , amount DOUBLE,"
                            "ts TIMESTAMP not null, n BIGINT, s STRING, b BOOL");
    CHECK_EQ(rill_schema_n_fields(s), 8);
    CHECK_STR(rill_schema_field_name(s, 0), "id");
    CHECK_EQ(rill_schema_field_type(s, 0), RILL_T_INT64);
    CHECK(!rill_schema_field_nullable(s, 0));
    CHECK_EQ(rill_schema_field_type(s, 1), RILL_T_STRING);
    CHECK(rill_schema_field_nullable(s, 1));
    CHECK_EQ(rill_schema_field_type(s, 2), RILL_T_BOOL);
    CHECK_EQ(rill_schema_field_type(s, 3), RILL_T_DOUBLE);
    CHECK_EQ(rill_schema_field_type(s, 4), RILL_T_TIMESTAMP);
    CHECK(!rill_schema_field_nullable(s, 4));
    CHECK_EQ(rill_schema_field_type(s, 5), RILL_T_INT64);
    CHECK_EQ(rill_schema_index(s, "amount"), 3);
    CHECK_EQ(rill_schema_index(s, "nope"), RILL_ENOENT);
    CHECK(rill_schema_field_name(s, 8) == NULL);
    CHECK(rill_schema_field_name(s, -1) == NULL);
    CHECK_EQ(rill_schema_field_type(s, 99), 0);
    CHECK_EQ(s->null_words, 1);
    rill__buf b = {0};
    rill__schema_describe(s, &b);
    CHECK_STR(rill__buf_cstr(&b), "id INT64 NOT NULL, name STRING, ok BOOL, amount DOUBLE, "
                                  "ts TIMESTAMP NOT NULL, n INT64, s STRING, b BOOL");
    rill__buf_free(&b);
    rill_schema_free(s);
}

TEST(data_schema_parse_errors)
{
    rill_schema *s = (rill_schema *)1;
    CHECK_EQ(rill_schema_parse("id INT32", &s), RILL_EPARSE);
    CHECK(s == NULL);
    CHECK_CONTAINS(rill_last_error(), "unknown type 'INT32' at column 4");
    CHECK_CONTAINS(rill_last_error(),
                   "expected BOOL, INT64, DOUBLE, STRING, TIMESTAMP or a Flink SQL type");
    CHECK_EQ(rill_schema_parse("id", &s), RILL_EPARSE);
    CHECK_CONTAINS(rill_last_error(), "expected \"name TYPE [NOT NULL]\" at column 3");
    CHECK_EQ(rill_schema_parse("id INT64 NOT", &s), RILL_EPARSE);
    CHECK_EQ(rill_schema_parse("id INT64 NOT NUL", &s), RILL_EPARSE);
    CHECK_EQ(rill_schema_parse("id INT64 extra", &s), RILL_EPARSE);
    CHECK_EQ(rill_schema_parse("id INT64;", &s), RILL_EPARSE);
    CHECK_CONTAINS(rill_last_error(), "at column 9");
    CHECK_EQ(rill_schema_parse("", &s), RILL_EPARSE);
    CHECK_CONTAINS(rill_last_error(), "no fields");
    CHECK_EQ(rill_schema_parse("   ", &s), RILL_EPARSE);
    CHECK_EQ(rill_schema_parse(", a INT64", &s), RILL_EPARSE);
    CHECK_EQ(rill_schema_parse("a INT64, a DOUBLE", &s), RILL_EINVAL);
    CHECK_CONTAINS(rill_last_error(), "field 'a' appears twice");
    CHECK_EQ(rill_schema_parse(NULL, &s), RILL_EINVAL);
    CHECK(s == NULL);
}

TEST(data_schema_add_freeze_and_limits)
{
    rill_schema *s = rill_schema_new();
    CHECK_RC(rill_schema_add(s, "a", RILL_T_INT64, false));
    CHECK_EQ(rill_schema_add(s, "a", RILL_T_DOUBLE, true), RILL_EINVAL);
    CHECK_EQ(rill_schema_add(s, "", RILL_T_DOUBLE, true), RILL_EINVAL);
    CHECK_EQ(rill_schema_add(s, "b", (rill_type)(RILL_T_LAST + 1), true), RILL_EINVAL);
    CHECK_EQ(rill_schema_add(s, "b", (rill_type)0, true), RILL_EINVAL);
    char name[32];
    for (int i = 1; i < RILL_MAX_FIELDS; i++) {
        snprintf(name, sizeof name, "f%d", i);
        CHECK_RC(rill_schema_add(s, name, RILL_T_BOOL, true));
    }
    CHECK_EQ(rill_schema_n_fields(s), RILL_MAX_FIELDS);
    CHECK_EQ(s->null_words, 16);
    CHECK_EQ(rill_schema_add(s, "over", RILL_T_BOOL, true), RILL_ELIMIT);
    rill_schema_free(s);

    s = rill_schema_new();
    CHECK_RC(rill_schema_add(s, "a", RILL_T_INT64, true));
    rill_schema *ref = rill__schema_ref(s);
    rill__schema_freeze(s);
    CHECK_EQ(rill_schema_add(s, "b", RILL_T_INT64, true), RILL_EPERM);
    CHECK_CONTAINS(rill_last_error(), "already used");
    rill_schema_free(s);
    CHECK_EQ(rill_schema_n_fields(ref), 1); /* still alive through the second reference */
    rill_schema_free(ref);
    rill_schema_free(NULL);
    CHECK_STR(rill_type_name(RILL_T_TIMESTAMP), "TIMESTAMP");
    CHECK_STR(rill_type_name((rill_type)77), "?");
}

TEST(data_schema_compatible)
{
    rill_schema *a = schema("x INT64, y STRING");
    rill_schema *b = schema("p INT64 NOT NULL, q VARCHAR");
    rill_schema *c = schema("x INT64, y DOUBLE");
    rill_schema *d = schema("x INT64");
    CHECK(rill__schema_compatible(a, b));
    CHECK(!rill__schema_compatible(a, c));
    CHECK(!rill__schema_compatible(a, d));
    rill_schema_free(a);
    rill_schema_free(b);
    rill_schema_free(c);
    rill_schema_free(d);
}

/* ---- batches ------------------------------------------------------------------------------ */

TEST(data_batch_append_and_nulls)
{
    rill_schema *s = schema("a INT64, b DOUBLE, c BOOL, d TIMESTAMP, e STRING");
    rill_batch *b = rill__batch_new(s, 4);
    CHECK_EQ(b->cap_rows, 4);
    CHECK_EQ(b->row_words, 6);
    rill_row r = rill__batch_append(b);
    for (int i = 0; i < 5; i++)
        CHECK(rill_row_is_null(&r, i));
    rill_row_set_i64(&r, 0, -7);
    rill_row_set_f64(&r, 1, 2.5);
    rill_row_set_bool(&r, 2, true);
    rill_row_set_ts(&r, 3, 1000);
    CHECK_RC(rill_row_set_str(&r, 4, "hello", 5));
    for (int i = 0; i < 5; i++)
        CHECK(!rill_row_is_null(&r, i));
    rill_row r2 = rill__batch_append(b);
    rill_row_set_i64(&r2, 0, 1);
    rill_row_set_null(&r2, 0);
    CHECK(rill_row_is_null(&r2, 0));
    CHECK_EQ(rill_row_i64(&r2, 0), 0);

    rill_row v = rill__batch_row(b, 0);
    CHECK_EQ(rill_row_i64(&v, 0), -7);
    CHECK_DBL(rill_row_f64(&v, 1), 2.5, 0);
    CHECK(rill_row_bool(&v, 2));
    CHECK_EQ(rill_row_ts(&v, 3), 1000);
    size_t n;
    const char *p = rill_row_str(&v, 4, &n);
    CHECK_EQ(n, 5);
    CHECK(!memcmp(p, "hello", 5));
    v = rill__batch_row(b, 1);
    p = rill_row_str(&v, 4, &n);
    CHECK_EQ(n, 0);
    CHECK_STR(p, "");

    CHECK(!rill__batch_full(b));
    rill__batch_append(b);
    rill__batch_append(b);
    CHECK(rill__batch_full(b));
    rill__batch_pop(b);
    CHECK_EQ(b->n_rows, 3);
    rill__batch_clear(b);
    CHECK_EQ(b->n_rows, 0);
    CHECK_EQ(b->n_bytes, 0);
    rill__batch_pop(b); /* empty: no-op */
    CHECK_EQ(b->n_rows, 0);
    rill__batch_unref(b);
    rill__batch_unref(NULL);
    rill_schema_free(s);
}

TEST(data_batch_many_fields_null_bitmap)
{
    rill_schema *s = rill_schema_new();
    char name[16];
    for (int i = 0; i < 130; i++) {
        snprintf(name, sizeof name, "f%d", i);
        CHECK_RC(rill_schema_add(s, name, RILL_T_INT64, true));
    }
    rill_batch *b = rill__batch_new(s, 2);
    CHECK_EQ(b->null_words, 3);
    rill_row r = rill__batch_append(b);
    for (int i = 0; i < 130; i += 3)
        rill_row_set_i64(&r, i, i);
    for (int i = 0; i < 130; i++) {
        CHECK_EQ(rill_row_is_null(&r, i), i % 3 != 0);
        if (i % 3 == 0)
            CHECK_EQ(rill_row_i64(&r, i), i);
    }
    rill__batch_unref(b);
    rill_schema_free(s);
}

TEST(data_batch_strings_and_put_bytes)
{
    rill_schema *s = schema("s STRING, t STRING");
    rill_batch *b = rill__batch_new(s, 1000);
    char buf[64];
    for (int i = 0; i < 1000; i++) {
        rill_row r = rill__batch_append(b);
        int n = snprintf(buf, sizeof buf, "value-%d", i);
        CHECK_RC(rill_row_set_str(&r, 0, buf, (size_t)n));
        CHECK_RC(rill_row_set_str(&r, 1, "", 0)); /* empty, not NULL */
    }
    for (int i = 0; i < 1000; i++) {
        rill_row r = rill__batch_row(b, (uint32_t)i);
        int n = snprintf(buf, sizeof buf, "value-%d", i);
        size_t len;
        const char *p = rill_row_str(&r, 0, &len);
        CHECK_EQ(len, n);
        CHECK(!memcmp(p, buf, len));
        CHECK(!rill_row_is_null(&r, 1));
        rill_row_str(&r, 1, &len);
        CHECK_EQ(len, 0);
    }
    uint64_t slot;
    size_t before = b->n_bytes;
    CHECK_RC(rill__batch_put_bytes(b, "xyz", 3, &slot));
    CHECK_EQ(slot >> 32, before);
    CHECK_EQ(slot & 0xffffffffu, 3);
    size_t len;
    CHECK(!memcmp(rill__batch_str(b, slot, &len), "xyz", 3));
    CHECK_EQ(len, 3);
    CHECK_EQ(rill__batch_put_bytes(b, "x", (size_t)UINT32_MAX + 1, &slot), RILL_ELIMIT);
    rill__batch_unref(b);
    rill_schema_free(s);
}

TEST(data_batch_copy_rows)
{
    rill_schema *s = schema("id INT64, name STRING, x DOUBLE");
    rill_batch *a = rill__batch_new(s, 4);
    rill_batch *b = rill__batch_new(s, 4);
    rill_row r = rill__batch_append(a);
    rill_row_set_i64(&r, 0, 42);
    CHECK_RC(rill_row_set_str(&r, 1, "alice", 5));
    /* b already has bytes, so the copied string must land at another offset */
    rill_row pad = rill__batch_append(b);
    CHECK_RC(rill_row_set_str(&pad, 1, "padding", 7));
    rill_row c = rill__batch_append_copy(b, &r);
    CHECK_EQ(rill_row_i64(&c, 0), 42);
    CHECK(rill_row_is_null(&c, 2));
    size_t n;
    const char *p = rill_row_str(&c, 1, &n);
    CHECK_EQ(n, 5);
    CHECK(!memcmp(p, "alice", 5));
    CHECK(p >= b->bytes && p < b->bytes + b->n_bytes);
    /* the copy does not depend on the source batch any more */
    rill__batch_unref(a);
    p = rill_row_str(&c, 1, &n);
    CHECK(!memcmp(p, "alice", 5));
    /* copy inside one batch shares the bytes */
    size_t bytes = b->n_bytes;
    rill_row d = rill__batch_append(b);
    CHECK_RC(rill_row_copy(&d, &c));
    CHECK_EQ(b->n_bytes, bytes);
    p = rill_row_str(&d, 1, &n);
    CHECK(!memcmp(p, "alice", 5));
    rill__batch_unref(b);
    rill_schema_free(s);
}

TEST(data_batch_pool_reuse_and_refcount)
{
    rill_schema *s = schema("a INT64, s STRING");
    rill__batch_pool *pool = rill__batch_pool_new(s, 8, 2);
    rill_schema_free(s); /* the pool holds its own reference */
    rill_batch *b1 = rill__batch_get(pool);
    CHECK(rill__batch_exclusive(b1));
    CHECK_EQ(b1->cap_rows, 8);
    rill_row r = rill__batch_append(b1);
    CHECK_RC(rill_row_set_str(&r, 1, "abc", 3));
    b1->has_hashes = true;
    CHECK(rill__batch_ref(b1) == b1);
    CHECK(!rill__batch_exclusive(b1));
    rill__batch_unref(b1);
    CHECK(rill__batch_exclusive(b1));
    CHECK_EQ(b1->n_rows, 1); /* still held: not cleared */
    rill__batch_unref(b1);
    /* back in the pool, cleared; the next get reuses it */
    rill_batch *b2 = rill__batch_get(pool);
    CHECK(b2 == b1);
    CHECK_EQ(b2->n_rows, 0);
    CHECK_EQ(b2->n_bytes, 0);
    CHECK(!b2->has_hashes);
    CHECK(rill__batch_exclusive(b2));
    /* the pool keeps at most max_free idle batches */
    rill_batch *b3 = rill__batch_get(pool);
    rill_batch *b4 = rill__batch_get(pool);
    CHECK(b3 != b2 && b4 != b2 && b3 != b4);
    rill__batch_unref(b2);
    rill__batch_unref(b3);
    rill__batch_unref(b4); /* freed: the free list is full */
    /* freeing the pool with a batch still out: the batch stays usable */
    rill_batch *out = rill__batch_get(pool);
    rill__batch_pool_free(pool);
    r = rill__batch_append(out);
    rill_row_set_i64(&r, 0, 5);
    CHECK_RC(rill_row_set_str(&r, 1, "still here", 10));
    rill__batch_unref(out);
    rill__batch_pool_free(NULL);
}

TEST(data_batch_hashes_and_ts)
{
    rill_schema *s = schema("a INT64");
    rill_batch *b = rill__batch_new(s, 3);
    rill__batch_need_hashes(b);
    rill__batch_need_ts(b);
    uint64_t *h = b->hashes;
    rill__batch_need_hashes(b);
    CHECK(b->hashes == h);
    for (int i = 0; i < 3; i++) {
        rill__batch_append(b);
        b->hashes[i] = (uint64_t)i;
        b->ts[i] = i * 10;
    }
    rill__batch_unref(b);
    rill_schema_free(s);
}

/* ---- keys ------------------------------------------------------------------------------------ */

TEST(data_key_spec_init)
{
    rill_schema *s = schema("id INT64 NOT NULL, region STRING, page STRING NOT NULL, x DOUBLE");
    rill__key_spec k;
    rill__err err = {0};
    CHECK_RC(rill__key_spec_init(&k, s, "id", &err));
    CHECK_EQ(k.n, 1);
    CHECK_EQ(k.idx[0], 0);
    CHECK(k.fast_u64);
    CHECK(!k.any_nullable);
    CHECK_RC(rill__key_spec_init(&k, s, "region, page", &err));
    CHECK_EQ(k.n, 2);
    CHECK_EQ(k.idx[0], 1);
    CHECK_EQ(k.idx[1], 2);
    CHECK_EQ(k.type[1], RILL_T_STRING);
    CHECK(k.any_nullable);
    CHECK(!k.fast_u64);
    CHECK_RC(rill__key_spec_init(&k, s, "page", &err));
    CHECK(!k.fast_u64); /* strings never take the fast path */
    CHECK_RC(rill__key_spec_init(&k, s, "x", &err));
    CHECK(!k.fast_u64); /* nullable */
    CHECK_EQ(rill__key_spec_init(&k, s, "nope", &err), RILL_EINVAL);
    CHECK_CONTAINS(err.msg, "no field 'nope' in (id INT64 NOT NULL, region STRING");
    CHECK_EQ(rill__key_spec_init(&k, s, "", &err), RILL_EINVAL);
    CHECK_CONTAINS(err.msg, "no key fields");
    CHECK_EQ(rill__key_spec_init(&k, s, " , ", &err), RILL_EINVAL);
    CHECK_EQ(rill__key_spec_init(&k, s, NULL, &err), RILL_EINVAL);
    CHECK_EQ(rill__key_spec_init(&k, s, "id,id,id,id,id,id,id,id,id,id,id,id,id,id,id,id,id", &err),
             RILL_EINVAL);
    CHECK_CONTAINS(err.msg, "more than 16");
    rill_schema_free(s);
}

TEST(data_key_encode_layout)
{
    rill_schema *s = schema("id INT64 NOT NULL, region STRING, ok BOOL");
    rill_batch *b = rill__batch_new(s, 4);
    rill_row r = rill__batch_append(b);
    rill_row_set_i64(&r, 0, 0x0102030405060708);
    CHECK_RC(rill_row_set_str(&r, 1, "eu", 2));
    rill__key_spec k;
    rill__err err = {0};
    CHECK_RC(rill__key_spec_init(&k, s, "id,region", &err));
    rill__buf buf = {0};
    size_t n = rill__key_encode(&k, &r, &buf);
    /* null flags (one per field), 8 bytes of id, 4-byte length, "eu" */
    CHECK_EQ(n, 2 + 8 + 4 + 2);
    CHECK_EQ(buf.data[0], 0);
    CHECK_EQ(buf.data[1], 0);
    int64_t id;
    memcpy(&id, buf.data + 2, 8);
    CHECK_EQ(id, 0x0102030405060708);
    uint32_t len;
    memcpy(&len, buf.data + 10, 4);
    CHECK_EQ(len, 2);
    CHECK(!memcmp(buf.data + 14, "eu", 2));

    /* a NULL key field: flag 1 and no bytes; appends after what the buffer held */
    rill_row r2 = rill__batch_append(b);
    rill_row_set_i64(&r2, 0, 1);
    size_t at = buf.len;
    n = rill__key_encode(&k, &r2, &buf);
    CHECK_EQ(n, 2 + 8);
    CHECK_EQ(buf.data[at], 0);
    CHECK_EQ(buf.data[at + 1], 1);

    /* NULL and "" differ; equal keys in different batches give equal bytes and hashes */
    rill_row r3 = rill__batch_append(b);
    rill_row_set_i64(&r3, 0, 1);
    CHECK_RC(rill_row_set_str(&r3, 1, "", 0));
    rill__buf s1 = {0}, s2 = {0};
    CHECK(rill__key_hash(&k, &r2, &s1) != rill__key_hash(&k, &r3, &s2));
    rill_batch *other = rill__batch_new(s, 1);
    rill_row c = rill__batch_append_copy(other, &r);
    CHECK_EQ(rill__key_hash(&k, &r, &s1), rill__key_hash(&k, &c, &s2));

    /* the fast path hashes the slot as rill__hash_bytes would hash its 8 bytes */
    rill__key_spec fk;
    CHECK_RC(rill__key_spec_init(&fk, s, "id", &err));
    CHECK(fk.fast_u64);
    buf.len = 0;
    n = rill__key_encode(&fk, &r, &buf);
    CHECK_EQ(n, 8);
    CHECK_EQ(rill__key_hash(&fk, &r, &s1), rill__hash_bytes(buf.data, 8, 0));
    rill__buf_free(&buf);
    rill__buf_free(&s1);
    rill__buf_free(&s2);
    rill__batch_unref(other);
    rill__batch_unref(b);
    rill_schema_free(s);
}

static void check_kg_partition(int max_par, int par)
{
    int next = 0;
    for (int i = 0; i < par; i++) {
        int first, last;
        rill__kg_range(i, max_par, par, &first, &last);
        if (first != next)
            rill_test_fail(__FILE__, __LINE__, "max_par %d par %d subtask %d: first %d, want %d",
                           max_par, par, i, first, next);
        if (last < first - 1 || last >= max_par)
            rill_test_fail(__FILE__, __LINE__, "max_par %d par %d subtask %d: last %d", max_par,
                           par, i, last);
        for (int kg = first; kg <= last; kg++)
            if (rill__kg_subtask(kg, max_par, par) != i)
                rill_test_fail(__FILE__, __LINE__,
                               "max_par %d par %d: kg %d in range of %d, kg_subtask says %d",
                               max_par, par, kg, i, rill__kg_subtask(kg, max_par, par));
        /* with par <= max_par every subtask owns at least one key group */
        if (par <= max_par && last < first)
            rill_test_fail(__FILE__, __LINE__, "max_par %d par %d subtask %d: empty", max_par, par,
                           i);
        next = last + 1;
    }
    if (next != max_par)
        rill_test_fail(__FILE__, __LINE__, "max_par %d par %d: ranges end at %d", max_par, par,
                       next - 1);
}

TEST(data_key_group_ranges_partition)
{
    for (int max_par = 1; max_par <= 160; max_par++)
        for (int par = 1; par <= max_par; par++)
            check_kg_partition(max_par, par);
    static const int big[] = {128, 1000, 4096, 32768};
    static const int pars[] = {1, 2, 3, 7, 10, 64, 100, 127, 128, 999, 1000, 4096, 32768};
    for (size_t i = 0; i < RILL_ARRAY_LEN(big); i++)
        for (size_t j = 0; j < RILL_ARRAY_LEN(pars); j++)
            if (pars[j] <= big[i])
                check_kg_partition(big[i], pars[j]);
}

TEST(data_key_group_of_hash)
{
    static const int maxes[] = {1, 2, 3, 128, 1000, 32768};
    for (size_t m = 0; m < RILL_ARRAY_LEN(maxes); m++) {
        int max_par = maxes[m];
        CHECK_EQ(rill__key_group(0, max_par), 0);
        CHECK_EQ(rill__key_group(UINT64_MAX, max_par), max_par - 1);
        int *hits = calloc((size_t)max_par, sizeof *hits);
        int n = max_par * 64;
        for (int i = 0; i < n; i++) {
            int kg = rill__key_group(rill__hash_u64((uint64_t)i), max_par);
            CHECK(kg >= 0 && kg < max_par);
            hits[kg]++;
        }
        /* roughly uniform: every group gets something when there are 64 keys per group */
        for (int kg = 0; kg < max_par; kg++)
            CHECK(hits[kg] > 0);
        free(hits);
    }
    /* rill__hash_u64 is rill__hash_bytes of the 8 bytes */
    uint64_t x = 0xdeadbeefcafef00d;
    CHECK_EQ(rill__hash_u64(x), rill__hash_bytes(&x, 8, 0));
}
