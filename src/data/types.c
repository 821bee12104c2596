/* types.c - data layer: the SQL slot kinds' public helpers: DECIMAL values of rows and as text. */
#include <string.h>

#include "base/dec128.h"
#include "data.h"

int rill_decimal_parse(const char *s, size_t len, int precision, int scale, rill_decimal *out)
{
    if (!s || !out)
        return RILL_EINVAL;
    rill__i128 v;
    int rc = rill__dec_parse(s, len, precision, scale, &v);
    if (rc)
        return rc;
    *out = rill__dec_to_pub(v, scale);
    return 0;
}

int rill_decimal_format(const rill_decimal *d, char *buf, size_t cap)
{
    char tmp[RILL_DECIMAL_STR_MAX];
    int scale = d->scale < 0 ? 0 : d->scale > 38 ? 38 : d->scale;
    int n = rill__dec_format(rill__dec_from_pub(d), scale, tmp);
    if (cap > 0) {
        size_t k = (size_t)n < cap - 1 ? (size_t)n : cap - 1;
        memcpy(buf, tmp, k);
        buf[k] = '\0';
    }
    return n;
}

int rill_decimal_cmp(const rill_decimal *a, const rill_decimal *b)
{
    return rill__dec_cmp(rill__dec_from_pub(a), a->scale, rill__dec_from_pub(b), b->scale);
}

rill__i128 rill__row_dec(const rill_row *r, int i)
{
    if (rill_row_is_null(r, i))
        return 0;
    const rill__field *fd = &r->batch->schema->fields[i];
    if (!fd->in_bytes)
        return (int64_t)r->v[i];
    size_t n;
    const char *p = rill__batch_str(r->batch, r->v[i], &n);
    RILL_ASSERT(n == 16);
    return rill__dec_load16((const unsigned char *)p);
}

int rill__row_set_dec(rill_row *r, int i, rill__i128 v)
{
    const rill__field *fd = &r->batch->schema->fields[i];
    if (!rill__dec_fits(v, fd->precision))
        return RILL_ERANGE;
    if (!fd->in_bytes) {
        rill_row_set_i64(r, i, (int64_t)v);
        return 0;
    }
    unsigned char b[16];
    rill__dec_store16(v, b);
    return rill_row_set_bytes(r, i, b, 16);
}

rill_decimal rill_row_decimal(const rill_row *r, int i)
{
    return rill__dec_to_pub(rill__row_dec(r, i), r->batch->schema->fields[i].scale);
}

int rill_row_set_decimal(rill_row *r, int i, const rill_decimal *d)
{
    const rill__field *fd = &r->batch->schema->fields[i];
    if (d->scale < 0 || d->scale > 38)
        return RILL_EINVAL;
    rill__i128 v;
    int rc = rill__dec_rescale(rill__dec_from_pub(d), d->scale, fd->precision, fd->scale, &v);
    if (rc)
        return rc;
    return rill__row_set_dec(r, i, v);
}
