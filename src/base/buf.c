/* buf.c - base layer: growable byte buffers. */
#include <stdlib.h>
#include <string.h>

#include "base.h"

void rill__buf_reserve(rill__buf *b, size_t extra)
{
    size_t need = b->len + extra + 1; /* room for a terminating NUL */
    if (need > b->cap) {
        size_t c = b->cap ? b->cap : 64;
        while (c < need)
            c *= 2;
        b->data = rill__xrealloc(b->data, c);
        b->cap = c;
    }
}

void rill__buf_append(rill__buf *b, const void *p, size_t n)
{
    rill__buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

void rill__buf_vprintf(rill__buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    rill__buf_reserve(b, 64);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        rill__buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
    }
    va_end(ap2);
    b->len += (size_t)n;
}

void rill__buf_printf(rill__buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rill__buf_vprintf(b, fmt, ap);
    va_end(ap);
}

const char *rill__buf_cstr(rill__buf *b)
{
    rill__buf_reserve(b, 0);
    b->data[b->len] = '\0';
    return b->data;
}

void rill__buf_free(rill__buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
