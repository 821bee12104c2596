/* schema.c - data layer: schemas of typed, named, nullable fields; parsing "name TYPE, ...". */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data.h"

rill_schema *rill_schema_new(void)
{
    rill_schema *s = rill__xcalloc(1, sizeof *s);
    atomic_init(&s->refs, 1);
    return s;
}

rill_schema *rill__schema_ref(const rill_schema *cs)
{
    rill_schema *s = (rill_schema *)cs;
    atomic_fetch_add(&s->refs, 1);
    return s;
}

void rill__schema_freeze(const rill_schema *s)
{
    atomic_store(&((rill_schema *)s)->frozen, true);
}

void rill_schema_free(rill_schema *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    for (int i = 0; i < s->n_fields; i++)
        free(s->fields[i].name);
    free(s->fields);
    free(s);
}

int rill_schema_add(rill_schema *s, const char *name, rill_type type, bool nullable)
{
    if (!s || !name || !*name)
        return rill__last_error_set(RILL_EINVAL, "schema field needs a name");
    if (type < RILL_T_BOOL || type > RILL_T_TIMESTAMP)
        return rill__last_error_set(RILL_EINVAL, "field '%s': unknown type %d", name, (int)type);
    if (atomic_load(&s->frozen))
        return rill__last_error_set(RILL_EPERM, "field '%s': schema is already used by a stream",
                                    name);
    if (s->n_fields >= RILL_MAX_FIELDS)
        return rill__last_error_set(RILL_ELIMIT, "field '%s': more than %d fields", name,
                                    RILL_MAX_FIELDS);
    if (rill_schema_index(s, name) >= 0)
        return rill__last_error_set(RILL_EINVAL, "field '%s' appears twice", name);
    rill__grow((void **)&s->fields, &s->cap, (size_t)s->n_fields + 1, sizeof *s->fields);
    s->fields[s->n_fields++] = (rill__field){rill__xstrdup(name), type, nullable};
    s->null_words = (s->n_fields + 63) / 64;
    return 0;
}

int rill_schema_n_fields(const rill_schema *s)
{
    return s ? s->n_fields : 0;
}

int rill_schema_index(const rill_schema *s, const char *name)
{
    for (int i = 0; s && i < s->n_fields; i++)
        if (!strcmp(s->fields[i].name, name))
            return i;
    return RILL_ENOENT;
}

const char *rill_schema_field_name(const rill_schema *s, int i)
{
    return s && i >= 0 && i < s->n_fields ? s->fields[i].name : NULL;
}

rill_type rill_schema_field_type(const rill_schema *s, int i)
{
    return s && i >= 0 && i < s->n_fields ? s->fields[i].type : (rill_type)0;
}

bool rill_schema_field_nullable(const rill_schema *s, int i)
{
    return s && i >= 0 && i < s->n_fields && s->fields[i].nullable;
}

const char *rill_type_name(rill_type t)
{
    switch (t) {
    case RILL_T_BOOL:
        return "BOOL";
    case RILL_T_INT64:
        return "INT64";
    case RILL_T_DOUBLE:
        return "DOUBLE";
    case RILL_T_STRING:
        return "STRING";
    case RILL_T_TIMESTAMP:
        return "TIMESTAMP";
    }
    return "?";
}

bool rill__schema_compatible(const rill_schema *a, const rill_schema *b)
{
    if (a->n_fields != b->n_fields)
        return false;
    for (int i = 0; i < a->n_fields; i++)
        if (a->fields[i].type != b->fields[i].type)
            return false;
    return true;
}

void rill__schema_describe(const rill_schema *s, rill__buf *b)
{
    for (int i = 0; i < s->n_fields; i++)
        rill__buf_printf(b, "%s%s %s%s", i ? ", " : "", s->fields[i].name,
                         rill_type_name(s->fields[i].type), s->fields[i].nullable ? "" : " NOT NULL");
}

static const struct {
    const char *name;
    rill_type type;
} type_names[] = {
    {"BOOL", RILL_T_BOOL},       {"BOOLEAN", RILL_T_BOOL},     {"INT64", RILL_T_INT64},
    {"BIGINT", RILL_T_INT64},    {"DOUBLE", RILL_T_DOUBLE},    {"STRING", RILL_T_STRING},
    {"VARCHAR", RILL_T_STRING},  {"TIMESTAMP", RILL_T_TIMESTAMP},
};

static const char *skip_ws(const char *p)
{
    while (isspace((unsigned char)*p))
        p++;
    return p;
}

static const char *word(const char *p, size_t *len)
{
    const char *s = p;
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    *len = (size_t)(p - s);
    return s;
}

int rill_schema_parse(const char *spec, rill_schema **schema_out)
{
    *schema_out = NULL;
    if (!spec)
        return rill__last_error_set(RILL_EINVAL, "schema: no text given");
    rill_schema *s = rill_schema_new();
    const char *p = skip_ws(spec);
    while (*p) {
        size_t nlen, tlen;
        const char *name = word(p, &nlen);
        if (nlen == 0)
            goto bad;
        p = skip_ws(name + nlen);
        const char *type = word(p, &tlen);
        if (tlen == 0)
            goto bad;
        rill_type t = 0;
        for (size_t i = 0; i < RILL_ARRAY_LEN(type_names); i++)
            if (strlen(type_names[i].name) == tlen && !strncasecmp(type_names[i].name, type, tlen))
                t = type_names[i].type;
        if (!t) {
            rill_schema_free(s);
            return rill__last_error_set(RILL_EPARSE,
                                        "schema: unknown type '%.*s' at column %ld (expected "
                                        "BOOL, INT64, DOUBLE, STRING or TIMESTAMP)",
                                        (int)tlen, type, (long)(type - spec) + 1);
        }
        p = skip_ws(type + tlen);
        bool nullable = true;
        size_t wl;
        const char *w = word(p, &wl);
        if (wl == 3 && !strncasecmp(w, "NOT", 3)) {
            p = skip_ws(w + 3);
            w = word(p, &wl);
            if (!(wl == 4 && !strncasecmp(w, "NULL", 4)))
                goto bad;
            nullable = false;
            p = skip_ws(w + 4);
        }
        char *fname = rill__xstrndup(name, nlen);
        int rc = rill_schema_add(s, fname, t, nullable);
        free(fname);
        if (rc) {
            rill_schema_free(s);
            return rc;
        }
        if (*p == ',')
            p = skip_ws(p + 1);
        else if (*p)
            goto bad;
    }
    if (s->n_fields == 0) {
        rill_schema_free(s);
        return rill__last_error_set(RILL_EPARSE, "schema: no fields in \"%s\"", spec);
    }
    *schema_out = s;
    return 0;
bad:
    rill_schema_free(s);
    return rill__last_error_set(RILL_EPARSE,
                                "schema: expected \"name TYPE [NOT NULL]\" at column %ld of \"%s\"",
                                (long)(p - spec) + 1, spec);
}
