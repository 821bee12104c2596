/*
 * codec_int.h - data layer, private to the codecs: what the CSV and JSON-lines codecs share
 * (error text, timestamp parsing, integer formatting) and the JSON hooks the decoder calls.
 */
#ifndef RILL_CODEC_INT_H
#define RILL_CODEC_INT_H

#include "data.h"

/* Longest piece of input quoted in an error message; longer text is cut and gets "...". */
#define RILL_CODEC_SHOW_MAX 40

/* Fills err (when not NULL) and returns RILL_EPARSE. column is 1-based. */
RILL_PRINTF(4, 5)
int rill__codec_fail(rill__parse_err *err, long column, int field, const char *fmt, ...);

/* Renders n bytes of input for an error message into buf (cap >= RILL_CODEC_SHOW_MAX * 4 + 8
 * is enough for no truncation beyond the cut): printable ASCII as is, other bytes as \xNN,
 * cut after RILL_CODEC_SHOW_MAX bytes with "...". Returns buf. */
const char *rill__codec_show(char *buf, size_t cap, const char *s, size_t n);

/* ISO-8601 date-time to epoch milliseconds: "YYYY-MM-DD", optionally followed by 'T' (or a
 * space) and "HH:MM[:SS[.fraction]]", optionally followed by 'Z' or an offset "+HH:MM",
 * "+HHMM", "+HH". Digits of the fraction past milliseconds are dropped (rounding toward the
 * past). 0 or RILL_EPARSE. */
int rill__codec_parse_iso8601(const char *s, size_t n, int64_t *ms_out);

/* A TIMESTAMP from text: an integer of epoch milliseconds or ISO-8601 text. 0, RILL_EPARSE,
 * or RILL_ERANGE for an integer out of int64 range. */
int rill__codec_parse_ts(const char *s, size_t n, int64_t *ms_out);

/* Appends the decimal form of v. */
static inline void rill__codec_put_i64(rill__buf *out, int64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    rill__buf_append(out, tmp + i, sizeof tmp - i);
}

/* ---- JSON lines decoder, called through the rill__decoder entry points (csv.c) ------------ */

/* Private state of a JSON decoder (field lookup by name, duplicate detection). */
void *rill__json_impl_new(const rill_schema *schema);
void rill__json_impl_free(void *impl);
/* Decodes one object into row, a fresh all-NULL row. 0 or RILL_EPARSE with err filled;
 * the caller drops the row on failure. */
int rill__json_decode(rill__decoder *d, const char *line, size_t len, rill_row *row,
                      rill__parse_err *err);

#endif /* RILL_CODEC_INT_H */
