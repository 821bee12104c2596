/* key.c - data layer: key fields, canonical key bytes, and key-group ranges. */
#include <string.h>

#include "data.h"

int rill__key_spec_init(rill__key_spec *k, const rill_schema *schema, const char *fields,
                        rill__err *err)
{
    memset(k, 0, sizeof *k);
    const char *p = fields;
    if (!p || !*p)
        return rill__err_set(err, RILL_EINVAL, "key_by: no key fields given");
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *s = p;
        while (*p && *p != ',' && *p != ' ')
            p++;
        if (p == s)
            break;
        char name[256];
        size_t n = (size_t)(p - s) < sizeof name - 1 ? (size_t)(p - s) : sizeof name - 1;
        memcpy(name, s, n);
        name[n] = '\0';
        int idx = rill_schema_index(schema, name);
        if (idx < 0) {
            rill__buf b = {0};
            rill__schema_describe(schema, &b);
            rill__err_set(err, RILL_EINVAL, "key_by: no field '%s' in (%s)", name,
                          rill__buf_cstr(&b));
            rill__buf_free(&b);
            return RILL_EINVAL;
        }
        if (k->n >= RILL_MAX_KEY_FIELDS)
            return rill__err_set(err, RILL_EINVAL, "key_by: more than %d key fields",
                                 RILL_MAX_KEY_FIELDS);
        k->idx[k->n] = idx;
        k->type[k->n] = schema->fields[idx].type;
        k->in_bytes[k->n] = schema->fields[idx].in_bytes;
        k->any_nullable |= schema->fields[idx].nullable;
        k->n++;
    }
    if (k->n == 0)
        return rill__err_set(err, RILL_EINVAL, "key_by: no key fields in \"%s\"", fields);
    k->fast_u64 = k->n == 1 && !k->any_nullable && !k->in_bytes[0];
    return 0;
}

size_t rill__key_encode(const rill__key_spec *k, const rill_row *row, rill__buf *buf)
{
    size_t start = buf->len;
    if (k->any_nullable)
        for (int i = 0; i < k->n; i++)
            rill__buf_putc(buf, rill_row_is_null(row, k->idx[i]) ? 1 : 0);
    for (int i = 0; i < k->n; i++) {
        int f = k->idx[i];
        if (rill_row_is_null(row, f))
            continue;
        if (k->in_bytes[i]) {
            size_t n;
            const char *s = rill_row_str(row, f, &n);
            uint32_t n32 = (uint32_t)n;
            rill__buf_append(buf, &n32, sizeof n32);
            rill__buf_append(buf, s, n);
        } else {
            rill__buf_append(buf, &row->v[f], 8);
        }
    }
    return buf->len - start;
}

void rill__kg_range(int subtask, int max_par, int par, int *first, int *last)
{
    /* Flink: KeyGroupRangeAssignment.computeKeyGroupRangeForOperatorIndex */
    *first = (int)(((int64_t)subtask * max_par + par - 1) / par);
    *last = (int)((((int64_t)subtask + 1) * max_par - 1) / par);
}
