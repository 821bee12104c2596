/* memory.c - base layer: aborting allocators for bookkeeping, growable arrays, arenas. */
#include <stdlib.h>
#include <string.h>

#include "base.h"

static void oom(size_t n)
{
    rill__panic(__FILE__, __LINE__, "out of memory allocating %zu bytes", n);
}

void *rill__xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *rill__xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *rill__xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *rill__xstrdup(const char *s)
{
    return rill__xstrndup(s, strlen(s));
}

char *rill__xstrndup(const char *s, size_t n)
{
    char *p = rill__xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *rill__xasprintf(const char *fmt, ...)
{
    rill__buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    rill__buf_vprintf(&b, fmt, ap);
    va_end(ap);
    rill__buf_cstr(&b);
    return b.data;
}

void rill__grow(void **p, size_t *cap, size_t need, size_t elem_size)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 8;
    while (c < need)
        c *= 2;
    if (c > SIZE_MAX / elem_size)
        oom(SIZE_MAX);
    *p = rill__xrealloc(*p, c * elem_size);
    *cap = c;
}

struct rill__arena_chunk {
    rill__arena_chunk *next;
    size_t used, size;
    _Alignas(16) unsigned char mem[];
};

void rill__arena_init(rill__arena *a, size_t chunk_size)
{
    a->head = NULL;
    a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
}

void *rill__arena_alloc(rill__arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    rill__arena_chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t size = n > a->chunk_size ? n : a->chunk_size;
        c = rill__xmalloc(sizeof *c + size);
        c->used = 0;
        c->size = size;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->mem + c->used;
    c->used += n;
    return p;
}

char *rill__arena_strdup(rill__arena *a, const char *s)
{
    size_t n = strlen(s);
    char *p = rill__arena_alloc(a, n + 1);
    memcpy(p, s, n + 1);
    return p;
}

void rill__arena_reset(rill__arena *a)
{
    rill__arena_chunk *c = a->head;
    if (!c)
        return;
    /* keep the oldest chunk (the last in the list), free the rest */
    rill__arena_chunk *keep = c;
    while (keep->next)
        keep = keep->next;
    while (c != keep) {
        rill__arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    keep->used = 0;
    a->head = keep;
}

void rill__arena_close(rill__arena *a)
{
    rill__arena_chunk *c = a->head;
    while (c) {
        rill__arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}
