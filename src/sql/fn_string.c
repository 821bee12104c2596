/*
 * fn_string.c - character and binary string functions (UTF-8; positions and lengths count
 * characters, i.e. code points, as Flink's count UTF-16 units), with Flink's results for NULLs,
 * out-of-range positions and bad input; regular expressions (PCRE2, standing in for
 * java.util.regex), digests, base64 and PARSE_URL. The SQL layer.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <ctype.h>
#include <locale.h>
#include <math.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <wctype.h>

#include "base/net.h"
#include "functions.h"

/* ---- UTF-8 ---------------------------------------------------------------------------------- */

/* The bytes of the character whose first byte is at s[i], by its first byte alone (as Flink
 * counts: a byte that cannot start a sequence is a character of its own), cut at the end. */
static size_t clen(const char *s, size_t n, size_t i)
{
    unsigned char b = (unsigned char)s[i];
    size_t k = b < 0xC2 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : b < 0xF5 ? 4 : 1;
    return k < n - i ? k : n - i;
}

static int64_t nchars(const char *s, size_t n)
{
    int64_t k = 0;
    for (size_t i = 0; i < n; i += clen(s, n, i))
        k++;
    return k;
}

/* The byte offset of character k (0-based; n when the string is shorter). */
static size_t boff(const char *s, size_t n, int64_t k)
{
    size_t i = 0;
    for (; i < n && k > 0; k--)
        i += clen(s, n, i);
    return i;
}

/* The code point at s[i] (its length in *len), or -1 for bytes that are not one. */
static int32_t decode(const char *s, size_t n, size_t i, size_t *len)
{
    const unsigned char *u = (const unsigned char *)s + i;
    size_t k = clen(s, n, i);
    *len = k;
    if (k == 1)
        return u[0] < 0x80 ? u[0] : -1;
    int32_t cp = u[0] & (0x7F >> k);
    for (size_t j = 1; j < k; j++) {
        if ((u[j] & 0xC0) != 0x80)
            return -1;
        cp = cp << 6 | (u[j] & 0x3F);
    }
    static const int32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || (k == 4 && u[0] > 0xF4))
        return -1;
    return cp;
}

static void put_cp(rill__buf *b, uint32_t cp)
{
    char o[4];
    size_t k;
    if (cp < 0x80)
        o[0] = (char)cp, k = 1;
    else if (cp < 0x800)
        o[0] = (char)(0xC0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3F)), k = 2;
    else if (cp < 0x10000)
        o[0] = (char)(0xE0 | cp >> 12), o[1] = (char)(0x80 | (cp >> 6 & 0x3F)),
        o[2] = (char)(0x80 | (cp & 0x3F)), k = 3;
    else
        o[0] = (char)(0xF0 | cp >> 18), o[1] = (char)(0x80 | (cp >> 12 & 0x3F)),
        o[2] = (char)(0x80 | (cp >> 6 & 0x3F)), o[3] = (char)(0x80 | (cp & 0x3F)), k = 4;
    rill__buf_append(b, o, k);
}

/* Java's String.indexOf over characters: the first character index at or after from (negative:
 * 0) where needle starts, -1 if none; an empty needle is found at 0 whatever from is (Flink's
 * BinaryStringData.indexOf). */
static int64_t index_of(const char *h, size_t hn, const char *nd, size_t nn, int64_t from)
{
    if (!nn)
        return 0;
    size_t i = 0;
    int64_t ci = 0;
    while (i < hn && ci < from)
        i += clen(h, hn, i), ci++;
    for (; i + nn <= hn; i += clen(h, hn, i), ci++)
        if (!memcmp(h + i, nd, nn))
            return ci;
    return -1;
}

static void set_str(rill__sql_val *out, const char *b, size_t len)
{
    out->b = len ? b : "";
    out->len = len;
}

static void set_tmp(rill__sql_fn_ctx *c, rill__sql_val *out)
{
    set_str(out, c->tmp.data, c->tmp.len);
}

static int64_t ival(const rill__sql_val *v)
{
    return (int64_t)v->v;
}

/* ---- types ---------------------------------------------------------------------------------- */

/* What each function takes and gives, read by one infer: an argument letter per position (the
 * last repeats when args ends in '*'): s a character string, i an integer, h an integer or a
 * character string; the result's root and length; when it is NULL: S if any argument is,
 * N always possibly, F if the first argument is, 0 never. */
typedef struct sig {
    const char *name;
    const char *args;
    rill__sql_root root;
    int len;
    char nulls;
} sig;

#define STRING RILL_SQLT_VARCHAR, RILL_SQL_MAX_LENGTH

static const sig SIGS[] = {
    {"UPPER", "s", STRING, 'S'},
    {"LOWER", "s", STRING, 'S'},
    {"INITCAP", "s", STRING, 'S'},
    {"SUBSTRING", "sii", STRING, 'S'},
    {"SUBSTR", "sii", STRING, 'S'},
    {"TRIM", "ss", STRING, 'S'},
    {"LTRIM", "ss", STRING, 'S'},
    {"RTRIM", "ss", STRING, 'S'},
    {"POSITION", "ss", RILL_SQLT_INT, 0, 'S'},
    {"LOCATE", "ssi", RILL_SQLT_INT, 0, 'S'},
    {"INSTR", "ssii", RILL_SQLT_INT, 0, 'S'},
    {"OVERLAY", "ssii", STRING, 'S'},
    {"REPLACE", "sss", STRING, 'S'},
    {"CONCAT_WS", "s*", STRING, 'F'},
    {"LPAD", "sis", STRING, 'N'},
    {"RPAD", "sis", STRING, 'N'},
    {"REPEAT", "si", STRING, 'S'},
    {"REVERSE", "s", STRING, 'S'},
    {"LEFT", "si", STRING, 'S'},
    {"RIGHT", "si", STRING, 'S'},
    {"ASCII", "s", RILL_SQLT_INT, 0, 'S'},
    {"CHR", "i", STRING, 'S'},
    {"SPLIT_INDEX", "ssi", STRING, 'N'},
    {"REGEXP", "ss", RILL_SQLT_BOOLEAN, 0, 'S'},
    {"REGEXP_EXTRACT", "ssi", STRING, 'N'},
    {"REGEXP_REPLACE", "sss", STRING, 'N'},
    {"TO_BASE64", "s", STRING, 'S'},
    {"FROM_BASE64", "s", STRING, 'S'},
    {"MD5", "s", RILL_SQLT_CHAR, 32, 'S'},
    {"SHA1", "s", RILL_SQLT_CHAR, 40, 'S'},
    {"SHA256", "s", RILL_SQLT_CHAR, 64, 'S'},
    {"HEX", "h", STRING, 'S'},
    {"UUID", "", RILL_SQLT_CHAR, 36, '0'},
    {"PARSE_URL", "sss", STRING, 'N'},
    {NULL, NULL, 0, 0, 0},
};

static const rill__sql_ltype *str_infer(rill__arena *a, const rill__sql_fn_call *call,
                                        const rill__sql_ltype **cast, char *msg, size_t cap)
{
    const sig *g = SIGS;
    while (g->name && strcmp(g->name, call->name))
        g++;
    if (!g->name) {
        snprintf(msg, cap, "%s has no signature", call->name);
        return NULL;
    }
    size_t na = strlen(g->args);
    bool rep = na && g->args[na - 1] == '*';
    for (int i = 0; i < call->n_args; i++) {
        char k = rep && (size_t)i >= na - 2 ? g->args[na - 2] : g->args[i];
        const rill__sql_ltype *t = call->args[i]->type;
        if (t->root == RILL_SQLT_NULL) { /* an untyped NULL: the kernel sees the kind it takes */
            cast[i] = k == 'i' ? rill__sql_fn_type(a, RILL_SQLT_INT, 0, 0, true)
                               : rill__sql_fn_type(a, STRING, 0, true);
            continue;
        }
        bool ok = k == 's'   ? rill__sql_is_character(t)
                  : k == 'i' ? rill__sql_is_integer(t)
                             : rill__sql_is_character(t) || rill__sql_is_integer(t);
        if (!ok) {
            const char *want = k == 's'   ? "a character string"
                               : k == 'i' ? "an integer"
                                          : "an integer or a character string";
            snprintf(msg, cap, "Cannot apply '%s' to arguments of type %s: argument %d must be %s",
                     call->name, rill__sql_type_str(a, t), i + 1, want);
            return NULL;
        }
    }
    bool nullable = g->nulls == 'N'   ? true
                    : g->nulls == '0' ? false
                    : g->nulls == 'F' ? call->args[0]->type->nullable
                                      : rill__sql_fn_any_nullable(call);
    /* a FOR length may be negative: NULL */
    if (g->nulls == 'S' && !strncmp(call->name, "SUBSTR", 6) && call->n_args == 3) {
        const rill__sql_rex *l = call->args[2];
        nullable |= !(l->op == RILL_SQLX_LITERAL && !l->lit_null && (int64_t)l->lit >= 0);
    }
    return rill__sql_fn_type(a, g->root, g->len, 0, nullable);
}

/* ---- case ----------------------------------------------------------------------------------- */

static locale_t utf8_loc;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_init(void)
{
    utf8_loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* Whether the character at s[i] is a cased letter (has an upper or lower case). */
static bool is_cased(const char *s, size_t n, size_t i)
{
    size_t k;
    int32_t cp = decode(s, n, i, &k);
    return cp >= 0 && utf8_loc &&
           (iswupper_l((wint_t)cp, utf8_loc) || iswlower_l((wint_t)cp, utf8_loc));
}

/* UPPER/LOWER: Java's toUpperCase/toLowerCase for what glibc's C.UTF-8 maps one to one, with
 * Java's special cases ß -> SS, İ -> i̇ and a final Σ -> ς; bytes that are no character kept. */
static int case_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    pthread_once(&utf8_once, utf8_init);
    bool up = c->x->fn->name[0] == 'U';
    const char *s = args[0].b;
    size_t n = args[0].len;
    rill__buf_reserve(&c->tmp, n);
    for (size_t i = 0, k; i < n; i += k) {
        unsigned char b = (unsigned char)s[i];
        if (b < 0x80) {
            k = 1;
            rill__buf_putc(&c->tmp, up && b >= 'a' && b <= 'z'    ? (char)(b - 32)
                                    : !up && b >= 'A' && b <= 'Z' ? (char)(b + 32)
                                                                  : (char)b);
            continue;
        }
        int32_t cp = decode(s, n, i, &k);
        if (cp < 0 || !utf8_loc) {
            k = 1; /* bytes that are no character: kept, one at a time */
            rill__buf_putc(&c->tmp, s[i]);
        } else if (up && cp == 0xDF) {
            rill__buf_append(&c->tmp, "SS", 2);
        } else if (!up && cp == 0x130) {
            rill__buf_append(&c->tmp, "i\xCC\x87", 3);
        } else if (!up && cp == 0x3A3) { /* final sigma: after a cased letter, not before one */
            size_t p = i; /* the start of the character before */
            while (p > 0 && i - p < 4 && ((s[--p] & 0xC0) == 0x80))
                ;
            bool after = i > 0 && is_cased(s, n, p);
            bool before = i + k < n && is_cased(s, n, i + k);
            put_cp(&c->tmp, after && !before ? 0x3C2 : 0x3C3);
        } else {
            put_cp(&c->tmp, (uint32_t)(up ? towupper_l((wint_t)cp, utf8_loc)
                                          : towlower_l((wint_t)cp, utf8_loc)));
        }
    }
    set_tmp(c, out);
    return 0;
}

/* INITCAP: Calcite's: a letter or digit after anything else starts a word; ASCII letters only
 * change case (the first of a word up, the others down). */
static int initcap_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    rill__buf_append(&c->tmp, args[0].b, args[0].len);
    bool start = true;
    for (size_t i = 0; i < c->tmp.len; i++) {
        char ch = c->tmp.data[i];
        bool digit = ch >= '0' && ch <= '9', upper = ch >= 'A' && ch <= 'Z',
             lower = ch >= 'a' && ch <= 'z';
        if (start && lower)
            c->tmp.data[i] = (char)(ch - 32);
        else if (!start && upper)
            c->tmp.data[i] = (char)(ch + 32);
        start = !(digit || upper || lower);
    }
    set_tmp(c, out);
    return 0;
}

/* ---- positions ------------------------------------------------------------------------------ */

/* Flink's substringSQL: pos 1 is the first character, 0 as 1, negative from the end (before
 * the start: empty); a negative length NULL. */
static void substring(const char *s, size_t n, int64_t pos, int64_t len, rill__sql_val *out)
{
    if (len < 0) {
        out->null = true;
        return;
    }
    int64_t nc = nchars(s, n), start;
    if (pos > 0) {
        start = pos - 1;
        if (start >= nc)
            start = nc, len = 0;
    } else if (pos < 0) {
        start = nc + pos;
        if (start < 0)
            start = 0, len = 0;
    } else {
        start = 0;
    }
    int64_t end = nc - start < len ? nc : start + len;
    size_t b0 = boff(s, n, start), b1 = b0 + boff(s + b0, n - b0, end - start);
    set_str(out, s + b0, b1 - b0);
}

static int substring_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    int64_t len = c->x->n_args > 2 ? ival(&args[2]) : INT64_MAX;
    substring(args[0].b, args[0].len, ival(&args[1]), len, out);
    return 0;
}

static int left_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    int64_t k = ival(&args[1]);
    if (k <= 0)
        set_str(out, "", 0);
    else
        substring(args[0].b, args[0].len, 1, k, out);
    return 0;
}

static int right_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    int64_t k = ival(&args[1]), nc = nchars(args[0].b, args[0].len);
    if (k <= 0)
        set_str(out, "", 0);
    else if (k >= nc)
        set_str(out, args[0].b, args[0].len);
    else
        substring(args[0].b, args[0].len, -k, INT64_MAX, out);
    return 0;
}

/* POSITION(needle IN s), LOCATE(needle, s[, from]): 1-based, 0 if absent; from counts from 1
 * (0 or less: from the start). */
static int locate_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    int64_t from = c->x->n_args > 2 ? ival(&args[2]) : 1;
    int64_t at = index_of(args[1].b, args[1].len, args[0].b, args[0].len, from > 0 ? from - 1 : 0);
    out->v = (uint64_t)(int64_t)(int32_t)(at + 1);
    return 0;
}

static void reverse_into(rill__buf *b, const char *s, size_t n)
{
    rill__buf_reserve(b, n);
    char *o = b->data + b->len;
    for (size_t i = 0, k; i < n; i += k) {
        k = clen(s, n, i);
        memcpy(o + n - i - k, s + i, k);
    }
    b->len += n;
}

static int64_t instr(const char *s, size_t sn, const char *sub, size_t subn, int64_t start,
                     int64_t nth, rill__buf *scratch)
{
    if (start == 0)
        return 0;
    if (start > 0) {
        int64_t at = start, idx = 0;
        for (int64_t i = 0; i < nth; i++) {
            idx = index_of(s, sn, sub, subn, at - 1) + 1;
            if (!idx)
                return 0;
            at = idx + 1;
        }
        return idx;
    }
    /* from the end: the same over both strings reversed */
    scratch->len = 0;
    reverse_into(scratch, s, sn);
    reverse_into(scratch, sub, subn);
    int64_t pos = instr(scratch->data, sn, scratch->data + sn, subn,
                        start == INT64_MIN ? INT64_MAX : -start, nth, scratch);
    return pos ? nchars(s, sn) + 2 - pos - nchars(sub, subn) : 0;
}

/* INSTR(s, sub[, start[, nth]]): the nth occurrence from start (negative: searching backwards
 * from the end); nth must be positive (Flink's IllegalArgumentException). */
static int instr_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    int64_t start = c->x->n_args > 2 ? ival(&args[2]) : 1;
    int64_t nth = c->x->n_args > 3 ? ival(&args[3]) : 1;
    if (nth <= 0)
        return rill__sql_fn_fail(c, "INSTR: nthAppearance must be positive, not %lld",
                                 (long long)nth);
    int64_t r = instr(args[0].b, args[0].len, args[1].b, args[1].len, start, nth, &c->tmp);
    out->v = (uint64_t)(int64_t)(int32_t)r;
    return 0;
}

/* OVERLAY(s PLACING r FROM start [FOR len]): Flink's: start outside 1..length keeps s; the
 * rest of s after the replaced characters only when start + len is within s and len > 0. */
static int overlay_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    const char *s = args[0].b;
    size_t n = args[0].len;
    int64_t nc = nchars(s, n), start = ival(&args[2]);
    int64_t len =
        c->x->n_args > 3 ? (int64_t)(int32_t)ival(&args[3]) : nchars(args[1].b, args[1].len);
    if (start <= 0 || start > nc) {
        set_str(out, s, n);
        return 0;
    }
    size_t b0 = boff(s, n, start - 1);
    rill__buf_append(&c->tmp, s, b0);
    rill__buf_append(&c->tmp, args[1].b, args[1].len);
    if (start + len <= nc && len > 0) {
        size_t b1 = b0 + boff(s + b0, n - b0, len);
        rill__buf_append(&c->tmp, s + b1, n - b1);
    }
    set_tmp(c, out);
    return 0;
}

/* A result longer than this many bytes fails the row rather than take the memory (a batch's
 * strings are addressed with 32 bits; Java's would end at 2^31 - 1 units). */
#define MAX_RESULT ((int64_t)1 << 28)

static int too_long(rill__sql_fn_ctx *c, int64_t bytes)
{
    return rill__sql_fn_fail(c, "%s: a result of %lld bytes is too long (the most is %lld)",
                             c->x->fn->name, (long long)bytes, (long long)MAX_RESULT);
}

/* ---- trimming, padding, building ------------------------------------------------------------ */

static bool in_set(const char *set, size_t sn, const char *ch, size_t k)
{
    for (size_t i = 0; i + k <= sn; i++)
        if (!memcmp(set + i, ch, k))
            return true;
    return false;
}

/* TRIM([BOTH|LEADING|TRAILING] [chars] FROM s), LTRIM(s[, chars]), RTRIM(s[, chars]): the
 * characters of chars (default a space) taken off the ends. */
static int trim_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    const char *name = c->x->fn->name;
    bool lead = name[0] != 'R', trail = name[0] != 'L';
    if (name[0] == 'T' && c->x->call->trim == RILL_SQL_TRIM_LEADING)
        trail = false;
    if (name[0] == 'T' && c->x->call->trim == RILL_SQL_TRIM_TRAILING)
        lead = false;
    const char *set = c->x->n_args > 1 ? args[1].b : " ";
    size_t sn = c->x->n_args > 1 ? args[1].len : 1;
    const char *s = args[0].b;
    size_t n = args[0].len, b = 0, e = n;
    if (lead)
        for (size_t k; b < n && in_set(set, sn, s + b, k = clen(s, n, b));)
            b += k;
    if (trail)
        while (e > b) {
            size_t at = e - 1;
            while (at > b && (s[at] & 0xC0) == 0x80 && e - at < 4)
                at--;
            if (clen(s, n, at) != e - at) /* a stray continuation byte: one character */
                at = e - 1;
            if (!in_set(set, sn, s + at, e - at))
                break;
            e = at;
        }
    set_str(out, s + b, e - b);
    return 0;
}

static int replace_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    const char *s = args[0].b, *old = args[1].b, *rep = args[2].b;
    size_t n = args[0].len, on = args[1].len, rn = args[2].len;
    if ((int64_t)((n + 1) * rn / (on ? on : 1)) > MAX_RESULT)
        return too_long(c, (int64_t)((n + 1) * rn / (on ? on : 1)));
    if (!on) { /* Java: the replacement before every character and at the end */
        for (size_t i = 0, k; i < n; i += k) {
            k = clen(s, n, i);
            rill__buf_append(&c->tmp, rep, rn);
            rill__buf_append(&c->tmp, s + i, k);
        }
        rill__buf_append(&c->tmp, rep, rn);
        set_tmp(c, out);
        return 0;
    }
    size_t i = 0, from = 0;
    while (i + on <= n) {
        if (!memcmp(s + i, old, on)) {
            rill__buf_append(&c->tmp, s + from, i - from);
            rill__buf_append(&c->tmp, rep, rn);
            i += on;
            from = i;
        } else {
            i += clen(s, n, i);
        }
    }
    rill__buf_append(&c->tmp, s + from, n - from);
    set_tmp(c, out);
    return 0;
}

/* CONCAT_WS(sep, s...): the strings that are not NULL joined by sep; NULL only if sep is. */
static int concat_ws_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    if (args[0].null) {
        out->null = true;
        return 0;
    }
    bool first = true;
    for (int i = 1; i < c->x->n_args; i++) {
        if (args[i].null)
            continue;
        if (!first)
            rill__buf_append(&c->tmp, args[0].b, args[0].len);
        rill__buf_append(&c->tmp, args[i].b, args[i].len);
        first = false;
    }
    set_tmp(c, out);
    return 0;
}

/* LPAD/RPAD(s, len, pad): s cut or padded with pad repeated to len characters; a negative
 * len or an empty pad NULL. */
static int pad_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    bool left = c->x->fn->name[0] == 'L';
    int64_t len = ival(&args[1]);
    const char *s = args[0].b, *p = args[2].b;
    size_t n = args[0].len, pn = args[2].len;
    if (len < 0 || !pn) {
        out->null = true;
        return 0;
    }
    int64_t nc = nchars(s, n), pc = nchars(p, pn);
    if (len > nc && (len - nc) / pc * (int64_t)pn > MAX_RESULT)
        return too_long(c, (len - nc) / pc * (int64_t)pn);
    int64_t fill = len > nc ? len - nc : 0;
    if (!left)
        rill__buf_append(&c->tmp, s, boff(s, n, len));
    for (int64_t done = 0; done < fill; done += pc) {
        int64_t k = fill - done < pc ? fill - done : pc;
        rill__buf_append(&c->tmp, p, boff(p, pn, k));
    }
    if (left)
        rill__buf_append(&c->tmp, s, boff(s, n, len - fill));
    set_tmp(c, out);
    return 0;
}

static int repeat_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    int64_t k = ival(&args[1]);
    size_t n = args[0].len;
    if (k > 0 && n && (uint64_t)k > (uint64_t)MAX_RESULT / n)
        return too_long(c, (int64_t)n * (k > INT32_MAX ? INT32_MAX : k));
    for (int64_t i = 0; i < k && n; i++)
        rill__buf_append(&c->tmp, args[0].b, n);
    set_tmp(c, out);
    return 0;
}

static int reverse_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    reverse_into(&c->tmp, args[0].b, args[0].len);
    set_tmp(c, out);
    return 0;
}

/* ASCII(s): Flink's: the first byte as a signed Java byte (0 for an empty string). */
static int ascii_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    out->v = args[0].len ? (uint64_t)(int64_t)(int8_t)args[0].b[0] : 0;
    return 0;
}

/* CHR(n): the character of code n mod 256 (Latin-1), empty for a negative n. */
static int chr_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    int64_t v = ival(&args[0]);
    if (v >= 0)
        put_cp(&c->tmp, (uint32_t)(v & 0xFF));
    set_tmp(c, out);
    return 0;
}

static bool java_space(unsigned char b)
{
    return (b >= 0x09 && b <= 0x0D) || (b >= 0x1C && b <= 0x20);
}

/* SPLIT_INDEX(s, sep, i): the i-th (from 0) piece of s split at every sep, empty pieces kept
 * (an empty sep splits at whitespace); NULL for a negative i, one past the pieces, or an
 * empty s (which has no pieces). */
static int split_index_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    const char *s = args[0].b, *sep = args[1].b;
    size_t n = args[0].len, sn = args[1].len;
    int64_t want = ival(&args[2]);
    out->null = true;
    if (want < 0 || !n)
        return 0;
    int64_t piece = 0;
    size_t from = 0;
    for (size_t i = 0; i < n;) {
        size_t k = sn ? (i + sn <= n && !memcmp(s + i, sep, sn) ? sn : 0)
                      : (java_space((unsigned char)s[i]) ? 1 : 0);
        if (!k) {
            i += clen(s, n, i);
            continue;
        }
        if (piece++ == want) {
            out->null = false;
            set_str(out, s + from, i - from);
            return 0;
        }
        i += k;
        from = i;
    }
    if (piece == want) {
        out->null = false;
        set_str(out, s + from, n - from);
    }
    return 0;
}

/* ---- encodings and digests ------------------------------------------------------------------ */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int to_base64_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    const unsigned char *s = (const unsigned char *)args[0].b;
    size_t n = args[0].len;
    rill__buf_reserve(&c->tmp, (n + 2) / 3 * 4);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) |
                     (i + 2 < n ? s[i + 2] : 0);
        char q[4] = {B64[v >> 18], B64[v >> 12 & 63], i + 1 < n ? B64[v >> 6 & 63] : '=',
                     i + 2 < n ? B64[v & 63] : '='};
        rill__buf_append(&c->tmp, q, 4);
    }
    set_tmp(c, out);
    return 0;
}

/* FROM_BASE64(s): Java's basic decoder: the 64 characters, '=' padding optional but only at
 * the end, no other bytes; anything else fails the row as Java's IllegalArgumentException. */
static int from_base64_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    const char *s = args[0].b;
    size_t n = args[0].len, pad = 0, k = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = s[i] ? strchr(B64, s[i]) : NULL;
        if (s[i] == '=') {
            /* padding: "xx==" or "xxx=", and nothing after it */
            pad = k == 2 ? (i + 1 < n && s[i + 1] == '=' ? 2 : 0) : k == 3 ? 1 : 0;
            if (!pad || i + pad != n)
                goto bad;
            break;
        }
        if (!p)
            goto bad;
        acc = acc << 6 | (uint32_t)(p - B64);
        if (++k == 4) {
            char o[3] = {(char)(acc >> 16), (char)(acc >> 8), (char)acc};
            rill__buf_append(&c->tmp, o, 3);
            k = 0;
            acc = 0;
        }
    }
    if (k == 1)
        goto bad;
    if (k == 2)
        rill__buf_putc(&c->tmp, (char)(acc >> 4));
    else if (k == 3) {
        char o[2] = {(char)(acc >> 10), (char)(acc >> 2)};
        rill__buf_append(&c->tmp, o, 2);
    }
    set_tmp(c, out);
    return 0;
bad:
    return rill__sql_fn_fail(c, "FROM_BASE64: '%.*s' is not base64", (int)RILL_MIN(n, 64), s);
}

static void hex_into(rill__buf *b, const uint8_t *p, size_t n, bool upper)
{
    const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        rill__buf_putc(b, d[p[i] >> 4]);
        rill__buf_putc(b, d[p[i] & 15]);
    }
}

/* HEX(integer): Java's Long.toHexString (two's complement) in upper case; HEX(string): its
 * UTF-8 bytes in upper-case hex. */
static int hex_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    if (rill__sql_is_integer(c->x->args[0]->type)) {
        char t[24];
        int k = snprintf(t, sizeof t, "%llX", (unsigned long long)args[0].v);
        rill__buf_append(&c->tmp, t, (size_t)k);
    } else {
        hex_into(&c->tmp, (const uint8_t *)args[0].b, args[0].len, true);
    }
    set_tmp(c, out);
    return 0;
}

static uint32_t rol(uint32_t x, int k)
{
    return x << k | x >> (32 - k);
}

/* MD5 (RFC 1321) of p; its table of sines made once. */
static uint32_t md5_k[64];
static pthread_once_t md5_once = PTHREAD_ONCE_INIT;

static void md5_init(void)
{
    for (int i = 0; i < 64; i++)
        md5_k[i] = (uint32_t)(fabs(sin((double)(i + 1))) * 4294967296.0);
}

static void md5_block(uint32_t h[4], const uint8_t *p)
{
    static const int R[16] = {7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21};
    uint32_t w[16], a = h[0], b = h[1], cc = h[2], d = h[3];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
               (uint32_t)p[4 * i + 3] << 24;
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g, r = i / 16;
        if (r == 0)
            f = (b & cc) | (~b & d), g = i;
        else if (r == 1)
            f = (d & b) | (~d & cc), g = (5 * i + 1) % 16;
        else if (r == 2)
            f = b ^ cc ^ d, g = (3 * i + 5) % 16;
        else
            f = cc ^ (b | ~d), g = (7 * i) % 16;
        uint32_t t = d;
        d = cc;
        cc = b;
        b = b + rol(a + f + md5_k[i] + w[g], R[r * 4 + i % 4]);
        a = t;
    }
    h[0] += a, h[1] += b, h[2] += cc, h[3] += d;
}

static void sha1_block(uint32_t h[5], const uint8_t *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], cc = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20)
            f = (b & cc) | (~b & d), k = 0x5A827999;
        else if (i < 40)
            f = b ^ cc ^ d, k = 0x6ED9EBA1;
        else if (i < 60)
            f = (b & cc) | (b & d) | (cc & d), k = 0x8F1BBCDC;
        else
            f = b ^ cc ^ d, k = 0xCA62C1D6;
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d, d = cc, cc = rol(b, 30), b = a, a = t;
    }
    h[0] += a, h[1] += b, h[2] += cc, h[3] += d, h[4] += e;
}

/* The Merkle-Damgard frame both share: 64-byte blocks, a 1 bit, zeros, the bit length (MD5
 * little-endian, SHA-1 big-endian). */
static void md_hash(bool sha1, const uint8_t *p, size_t n, uint32_t *h)
{
    size_t full = n / 64 * 64;
    for (size_t i = 0; i < full; i += 64)
        sha1 ? sha1_block(h, p + i) : md5_block(h, p + i);
    uint8_t tail[128] = {0};
    size_t r = n - full, tn = r < 56 ? 64 : 128;
    memcpy(tail, p + full, r);
    tail[r] = 0x80;
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++)
        tail[tn - 8 + i] = (uint8_t)(sha1 ? bits >> (56 - 8 * i) : bits >> (8 * i));
    for (size_t i = 0; i < tn; i += 64)
        sha1 ? sha1_block(h, tail + i) : md5_block(h, tail + i);
}

/* MD5, SHA1, SHA256 of the string's UTF-8 bytes, in lower-case hex. */
static int digest_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    const char *name = c->x->fn->name;
    const uint8_t *p = (const uint8_t *)args[0].b;
    size_t n = args[0].len;
    uint8_t d[32];
    size_t dn;
    if (name[0] == 'M') {
        pthread_once(&md5_once, md5_init);
        uint32_t h[4] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476};
        md_hash(false, p, n, h);
        for (int i = 0; i < 16; i++)
            d[i] = (uint8_t)(h[i / 4] >> (8 * (i % 4)));
        dn = 16;
    } else if (!strcmp(name, "SHA1")) {
        uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
        md_hash(true, p, n, h);
        for (int i = 0; i < 20; i++)
            d[i] = (uint8_t)(h[i / 4] >> (24 - 8 * (i % 4)));
        dn = 20;
    } else {
        rill__sha256_digest(p, n, d);
        dn = 32;
    }
    hex_into(&c->tmp, d, dn, false);
    set_tmp(c, out);
    return 0;
}

/* UUID(): a random (version 4) UUID per row, from a generator seeded from the kernel. */
static int uuid_open(rill__sql_fn_ctx *c)
{
    uint64_t *st = rill__xcalloc(2, sizeof *st);
    if (getrandom(st, 2 * sizeof *st, 0) != (ssize_t)(2 * sizeof *st))
        st[0] = (uint64_t)(uintptr_t)st ^ 0x9E3779B97F4A7C15u;
    st[1] |= 1;
    c->state = st;
    return 0;
}

static void uuid_close(rill__sql_fn_ctx *c)
{
    free(c->state);
    c->state = NULL;
}

static uint64_t xorshift128p(uint64_t *s)
{
    uint64_t x = s[0], y = s[1];
    s[0] = y;
    x ^= x << 23;
    s[1] = x ^ y ^ (x >> 17) ^ (y >> 26);
    return s[1] + y;
}

static int uuid_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    uint8_t u[16];
    uint64_t a = xorshift128p(c->state), b = xorshift128p(c->state);
    memcpy(u, &a, 8);
    memcpy(u + 8, &b, 8);
    u[6] = (uint8_t)((u[6] & 0x0F) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3F) | 0x80);
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            rill__buf_putc(&c->tmp, '-');
        hex_into(&c->tmp, u + i, 1, false);
    }
    set_tmp(c, out);
    return 0;
}

/* ---- regular expressions -------------------------------------------------------------------- */

/* A compiled pattern (NULL code: the pattern does not compile) and its match data. */
typedef struct rx_entry {
    char *pat;
    size_t len;
    pcre2_code *code;
    pcre2_match_data *md;
} rx_entry;

enum { RX_CACHE = 8 };

/* A call's patterns: the constant one compiled in open, else the last few seen (round robin). */
typedef struct rx_state {
    bool fixed;
    rx_entry fix;
    rx_entry cache[RX_CACHE];
    int next;
} rx_state;

static void rx_entry_free(rx_entry *e)
{
    pcre2_match_data_free(e->md);
    pcre2_code_free(e->code);
    free(e->pat);
    memset(e, 0, sizeof *e);
}

/* Java's defaults as PCRE2 options: UTF-8 (invalid sequences in a subject simply never match a
 * character), ASCII \w \d \s, and every Unicode line terminator ending a line for '.' and $. */
static void rx_compile(rx_entry *e, const char *pat, size_t len)
{
    e->pat = rill__xstrndup(pat, len);
    e->len = len;
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    if (!cc)
        rill__panic(__FILE__, __LINE__, "out of memory for a pcre2 context");
    pcre2_set_newline(cc, PCRE2_NEWLINE_ANY);
    int err;
    PCRE2_SIZE at;
    e->code =
        pcre2_compile((PCRE2_SPTR)pat, len, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err, &at, cc);
    pcre2_compile_context_free(cc);
    if (e->code) {
        pcre2_jit_compile(e->code, PCRE2_JIT_COMPLETE); /* when it cannot, matching interprets */
        e->md = pcre2_match_data_create_from_pattern(e->code, NULL);
        if (!e->md)
            rill__panic(__FILE__, __LINE__, "out of memory for pcre2 match data");
    }
}

static int rx_open(rill__sql_fn_ctx *c)
{
    rx_state *st = rill__xcalloc(1, sizeof *st);
    const rill__sql_rex *p = c->x->args[1];
    if (p->op == RILL_SQLX_LITERAL && !p->lit_null) {
        st->fixed = true;
        rx_compile(&st->fix, p->lit_bytes ? p->lit_bytes : "", (size_t)p->lit);
    }
    c->state = st;
    return 0;
}

static void rx_close(rill__sql_fn_ctx *c)
{
    rx_state *st = c->state;
    if (!st)
        return;
    rx_entry_free(&st->fix);
    for (int i = 0; i < RX_CACHE; i++)
        rx_entry_free(&st->cache[i]);
    free(st);
    c->state = NULL;
}

/* The compiled pattern for this row's pattern text (NULL code if it does not compile). */
static rx_entry *rx_get(rill__sql_fn_ctx *c, const rill__sql_val *pat)
{
    rx_state *st = c->state;
    if (st->fixed)
        return &st->fix;
    for (int i = 0; i < RX_CACHE; i++) {
        rx_entry *e = &st->cache[i];
        if (e->pat && e->len == pat->len && (!pat->len || !memcmp(e->pat, pat->b, pat->len)))
            return e;
    }
    rx_entry *e = &st->cache[st->next];
    st->next = (st->next + 1) % RX_CACHE;
    rx_entry_free(e);
    rx_compile(e, pat->b ? pat->b : "", pat->len);
    return e;
}

/* One match at or after from: 1 found (ovector in e->md), 0 none, negative an error of the
 * matcher (a limit reached). */
static int rx_find(rx_entry *e, const char *s, size_t n, size_t from)
{
    int rc = pcre2_match(e->code, (PCRE2_SPTR)(s ? s : ""), n, from, 0, e->md, NULL);
    return rc >= 0 ? 1 : rc == PCRE2_ERROR_NOMATCH ? 0 : rc;
}

/* REGEXP(s, pattern): whether the pattern is found in s; FALSE for an empty or bad pattern. */
static int regexp_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    rx_entry *e = rx_get(c, &args[1]);
    out->v = args[1].len && e->code && rx_find(e, args[0].b, args[0].len, 0) == 1;
    return 0;
}

/* REGEXP_EXTRACT(s, pattern[, group]): the group (default 0, the whole match) of the first
 * match; NULL when nothing matches, the group does not exist or took no part, or the pattern
 * is bad. */
static int regexp_extract_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    rx_entry *e = rx_get(c, &args[1]);
    int64_t g = c->x->n_args > 2 ? (int64_t)(int32_t)ival(&args[2]) : 0;
    out->null = true;
    if (!e->code || g < 0 || g >= pcre2_get_ovector_count(e->md) ||
        rx_find(e, args[0].b, args[0].len, 0) != 1)
        return 0;
    uint32_t groups;
    pcre2_pattern_info(e->code, PCRE2_INFO_CAPTURECOUNT, &groups);
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->md);
    if (g > (int64_t)groups || ov[2 * g] == PCRE2_UNSET || ov[2 * g + 1] < ov[2 * g])
        return 0;
    out->null = false;
    set_str(out, args[0].b + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
    return 0;
}

/* REGEXP_REPLACE(s, pattern, replacement): every match replaced by the replacement taken
 * literally (Flink quotes it: $ and \ are characters); after an empty match the search goes
 * on one character further, as Java's Matcher.find. NULL for a bad pattern. */
static int regexp_replace_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    rx_entry *e = rx_get(c, &args[1]);
    const char *s = args[0].b;
    size_t n = args[0].len, from = 0, copied = 0;
    if (!e->code) {
        out->null = true;
        return 0;
    }
    for (;;) {
        int rc = rx_find(e, s, n, from);
        if (rc < 0) {
            out->null = true;
            return 0;
        }
        if (!rc)
            break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->md);
        size_t ms = ov[0], me = ov[1];
        if (me < ms) /* \K past the end: take the match as empty at its end */
            ms = me;
        if (ms < copied)
            ms = copied;
        rill__buf_append(&c->tmp, s + copied, ms - copied);
        rill__buf_append(&c->tmp, args[2].b, args[2].len);
        if ((int64_t)c->tmp.len > MAX_RESULT)
            return too_long(c, (int64_t)c->tmp.len);
        copied = me > copied ? me : copied;
        from = me;
        if (ov[0] == ov[1]) {
            if (me >= n)
                break;
            from = me + clen(s, n, me);
        }
    }
    rill__buf_append(&c->tmp, s + copied, n - copied);
    set_tmp(c, out);
    return 0;
}

/* ---- PARSE_URL ------------------------------------------------------------------------------ */

/* A URL split as java.net.URL splits it; absent parts have a NULL pointer. */
typedef struct url_parts {
    const char *proto, *auth, *user, *host, *path, *query, *ref;
    size_t proto_n, auth_n, user_n, host_n, path_n, query_n, ref_n;
} url_parts;

static bool url_parse(const char *s, size_t n, url_parts *u)
{
    memset(u, 0, sizeof *u);
    while (n && (unsigned char)*s <= ' ')
        s++, n--;
    while (n && (unsigned char)s[n - 1] <= ' ')
        n--;
    if (n >= 4 && !strncasecmp(s, "url:", 4))
        s += 4, n -= 4;
    size_t i = 0;
    while (i < n && s[i] != ':' && s[i] != '/' && s[i] != '?' && s[i] != '#')
        i++;
    if (i == n || s[i] != ':' || i == 0)
        return false; /* no protocol */
    /* the protocols Java parses as a hierarchy (jar and mailto have parsers of their own) */
    static const char *const known[] = {"http", "https", "ftp", "file", NULL};
    bool ok = false;
    for (int k = 0; known[k] && !ok; k++)
        ok = strlen(known[k]) == i && !strncasecmp(s, known[k], i);
    if (!ok)
        return false; /* a protocol not handled */
    u->proto = s, u->proto_n = i;
    size_t start = i + 1, limit = n;
    const char *hash = memchr(s + start, '#', n - start);
    if (hash) {
        u->ref = hash + 1, u->ref_n = n - (size_t)(hash + 1 - s);
        limit = (size_t)(hash - s);
    }
    const char *q = memchr(s + start, '?', limit - start);
    if (q) {
        u->query = q + 1, u->query_n = limit - (size_t)(q + 1 - s);
        limit = (size_t)(q - s);
    }
    if (limit - start >= 2 && s[start] == '/' && s[start + 1] == '/') {
        size_t a = start + 2, e = a;
        while (e < limit && s[e] != '/')
            e++;
        u->auth = s + a, u->auth_n = e - a;
        const char *at = memrchr(u->auth, '@', u->auth_n);
        const char *h = u->auth;
        size_t hn = u->auth_n;
        if (at) {
            u->user = u->auth, u->user_n = (size_t)(at - u->auth);
            h = at + 1, hn = u->auth_n - u->user_n - 1;
        }
        size_t colon = hn;
        if (hn && h[0] == '[') {
            const char *rb = memchr(h, ']', hn);
            if (!rb)
                return false;
            colon = (size_t)(rb + 1 - h);
            if (colon < hn && h[colon] != ':')
                return false;
        } else {
            const char *cp = memchr(h, ':', hn);
            if (cp)
                colon = (size_t)(cp - h);
        }
        for (size_t k = colon + 1; k < hn; k++)
            if (h[k] < '0' || h[k] > '9')
                return false; /* a port that is not a number */
        u->host = h, u->host_n = colon;
        start = e;
    } else {
        u->host = "", u->host_n = 0;
    }
    u->path = s + start, u->path_n = limit - start;
    return true;
}

/* The value of key in a query: Flink's first match of (&|^)key=([^&]*). */
static bool query_value(const char *q, size_t qn, const char *key, size_t kn, const char **v,
                        size_t *vn)
{
    for (size_t i = 0; i + kn < qn; i++) {
        if ((i == 0 || q[i - 1] == '&') && !memcmp(q + i, key, kn) && q[i + kn] == '=') {
            size_t b = i + kn + 1, e = b;
            while (e < qn && q[e] != '&')
                e++;
            *v = q + b, *vn = e - b;
            return true;
        }
    }
    return false;
}

/* PARSE_URL(url, part[, key]): a part of the URL (HOST, PATH, QUERY, REF, PROTOCOL, FILE,
 * AUTHORITY, USERINFO, exactly so), or with QUERY and a key that parameter's value; NULL when
 * the URL does not parse, the part is absent or the name is none of these. */
static int parse_url_row(rill__sql_fn_ctx *c, const rill__sql_val *args, rill__sql_val *out)
{
    url_parts u;
    out->null = true;
    if (!url_parse(args[0].b ? args[0].b : "", args[0].len, &u))
        return 0;
    const char *part = args[1].b ? args[1].b : "";
    size_t pn = args[1].len;
#define PART_IS(w) (pn == sizeof w - 1 && !memcmp(part, w, pn))
    const char *v = NULL;
    size_t vn = 0;
    if (c->x->n_args > 2) {
        if (!PART_IS("QUERY") || !u.query ||
            !query_value(u.query, u.query_n, args[2].b ? args[2].b : "", args[2].len, &v, &vn))
            return 0;
    } else if (PART_IS("HOST")) {
        v = u.host, vn = u.host_n;
    } else if (PART_IS("PATH")) {
        v = u.path, vn = u.path_n;
    } else if (PART_IS("QUERY")) {
        v = u.query, vn = u.query_n;
    } else if (PART_IS("REF")) {
        v = u.ref, vn = u.ref_n;
    } else if (PART_IS("AUTHORITY")) {
        v = u.auth, vn = u.auth_n;
    } else if (PART_IS("USERINFO")) {
        v = u.user, vn = u.user_n;
    } else if (PART_IS("PROTOCOL")) {
        for (size_t i = 0; i < u.proto_n; i++)
            rill__buf_putc(&c->tmp, (char)tolower((unsigned char)u.proto[i]));
        v = c->tmp.data, vn = c->tmp.len;
    } else if (PART_IS("FILE")) {
        rill__buf_append(&c->tmp, u.path, u.path_n);
        if (u.query) {
            rill__buf_putc(&c->tmp, '?');
            rill__buf_append(&c->tmp, u.query, u.query_n);
        }
        v = c->tmp.data ? c->tmp.data : "", vn = c->tmp.len;
    }
#undef PART_IS
    if (!v)
        return 0;
    out->null = false;
    set_str(out, v, vn);
    return 0;
}

/* ---- the table ------------------------------------------------------------------------------ */

#define STRICT RILL_SQLF_STRICT
/* clang-format off */
#define F(name, lo, hi, flags, row) {name, lo, hi, flags, str_infer, row, NULL, NULL}
#define RX(name, lo, hi, row)       {name, lo, hi, STRICT, str_infer, row, rx_open, rx_close}
/* clang-format on */

const rill__sql_fn rill__sql_fn_string[] = {
    F("UPPER", 1, 1, STRICT, case_row),
    F("LOWER", 1, 1, STRICT, case_row),
    F("INITCAP", 1, 1, STRICT, initcap_row),
    F("SUBSTRING", 2, 3, STRICT, substring_row),
    F("SUBSTR", 2, 3, STRICT, substring_row),
    F("LEFT", 2, 2, STRICT, left_row),
    F("RIGHT", 2, 2, STRICT, right_row),
    F("TRIM", 1, 2, STRICT, trim_row),
    F("LTRIM", 1, 2, STRICT, trim_row),
    F("RTRIM", 1, 2, STRICT, trim_row),
    F("POSITION", 2, 2, STRICT, locate_row),
    F("LOCATE", 2, 3, STRICT, locate_row),
    F("INSTR", 2, 4, STRICT, instr_row),
    F("OVERLAY", 3, 4, STRICT, overlay_row),
    F("REPLACE", 3, 3, STRICT, replace_row),
    F("CONCAT_WS", 1, -1, 0, concat_ws_row),
    F("LPAD", 3, 3, STRICT, pad_row),
    F("RPAD", 3, 3, STRICT, pad_row),
    F("REPEAT", 2, 2, STRICT, repeat_row),
    F("REVERSE", 1, 1, STRICT, reverse_row),
    F("ASCII", 1, 1, STRICT, ascii_row),
    F("CHR", 1, 1, STRICT, chr_row),
    F("SPLIT_INDEX", 3, 3, STRICT, split_index_row),
    F("TO_BASE64", 1, 1, STRICT, to_base64_row),
    F("FROM_BASE64", 1, 1, STRICT, from_base64_row),
    F("MD5", 1, 1, STRICT, digest_row),
    F("SHA1", 1, 1, STRICT, digest_row),
    F("SHA256", 1, 1, STRICT, digest_row),
    F("HEX", 1, 1, STRICT, hex_row),
    {"UUID", 0, 0, RILL_SQLF_VOLATILE, str_infer, uuid_row, uuid_open, uuid_close},
    F("PARSE_URL", 2, 3, STRICT, parse_url_row),
    RX("REGEXP", 2, 2, regexp_row),
    RX("REGEXP_EXTRACT", 2, 3, regexp_extract_row),
    RX("REGEXP_REPLACE", 3, 3, regexp_replace_row),
    {NULL, 0, 0, 0, NULL, NULL, NULL, NULL},
};
