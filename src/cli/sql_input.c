/* sql_input.c - cli layer: the lines `rill sql` reads, cut into statements at their ';' (the
 * sql layer's splitter decides where a statement ends). */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "cli/sql_input.h"
#include "sql/sql.h"

void rill__sql_input_add(rill__sql_input *in, const char *line, size_t n)
{
    if (n && line[n - 1] == '\n')
        n--;
    if (n && line[n - 1] == '\r')
        n--;
    rill__grow((void **)&in->text, &in->cap, in->len + n + 2, 1);
    memcpy(in->text + in->len, line, n);
    in->len += n;
    in->text[in->len++] = '\n';
    in->text[in->len] = '\0';
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* Where the split fails on a lexical error: whether the error is one that more lines can end
 * (a string, identifier, comment or hint not closed yet). */
static bool open_construct(const rill__err *err)
{
    return strstr(err->msg, "not closed") != NULL;
}

int rill__sql_input_next(rill__sql_input *in, size_t *start, size_t *len)
{
    if (!in->text || in->off >= in->len)
        return 0;
    rill__err err = {0};
    size_t off = in->off;
    bool ended;
    if (rill__sql_split_ended(in->text, in->len, &off, start, len, &ended, &err) != 0) {
        if (open_construct(&err))
            return 0;
        size_t s = in->off, e = in->len;
        while (e > s && is_space(in->text[e - 1]))
            e--;
        if (e == s || in->text[e - 1] != ';')
            return 0;
        while (s < e && is_space(in->text[s]))
            s++;
        *start = s;
        *len = e - 1 - s;
        in->off = in->len;
        return 1;
    }
    if (!ended || *len == 0)
        return 0;
    in->off = off;
    return 1;
}

bool rill__sql_input_waiting(const rill__sql_input *in)
{
    if (!in->text || in->off >= in->len)
        return false;
    rill__err err = {0};
    size_t off = in->off, start, len;
    bool ended;
    if (rill__sql_split_ended(in->text, in->len, &off, &start, &len, &ended, &err) != 0)
        return true;
    return len > 0;
}

int rill__sql_input_rest(rill__sql_input *in, size_t *start, size_t *len)
{
    if (!rill__sql_input_waiting(in))
        return 0;
    size_t s = in->off, e = in->len;
    while (e > s && is_space(in->text[e - 1]))
        e--;
    rill__err err = {0};
    size_t off = in->off;
    bool ended;
    if (rill__sql_split_ended(in->text, in->len, &off, start, len, &ended, &err) != 0) {
        while (s < e && is_space(in->text[s]))
            s++;
        *start = s; /* parsing it reports the error */
        *len = e - s;
    }
    in->off = in->len;
    return 1;
}

void rill__sql_input_drop(rill__sql_input *in)
{
    if (!in->text)
        return;
    memmove(in->text, in->text + in->off, in->len - in->off + 1);
    in->len -= in->off;
    in->off = 0;
    if (!rill__sql_input_waiting(in)) /* nothing but space and comments left: start afresh */
        rill__sql_input_clear(in);
}

void rill__sql_input_clear(rill__sql_input *in)
{
    in->len = in->off = 0;
    if (in->text)
        in->text[0] = '\0';
}

void rill__sql_input_free(rill__sql_input *in)
{
    free(in->text);
    memset(in, 0, sizeof *in);
}
