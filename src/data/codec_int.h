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
/* A date-time "yyyy-MM-dd[(T| )HH:mm[:ss[.f]]][Z|(+|-)HH[[:]mm]]" as seconds since the epoch
 * and nanoseconds within the second; false when it is not one (or not a real date). */
bool rill__codec_parse_datetime(const char *s, size_t n, int64_t *secs, int64_t *nanos);

/* A TIMESTAMP from text: an integer of epoch milliseconds or ISO-8601 text. 0, RILL_EPARSE,
 * or RILL_ERANGE for an integer out of int64 range. */
int rill__codec_parse_ts(const char *s, size_t n, int64_t *ms_out);

/* Appends the decimal form of v. */
/* Exactly n decimal digits at s. */
static inline bool rill__codec_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9)
            return false;
        v = v * 10 + (int)d;
    }
    *out = v;
    return true;
}

/* An optional zone at s[*i..n) after a time: Z, or +hh[[:]mm] / -hh[[:]mm] (at most 18 hours);
 * *i moves past it and *off_s is its offset in seconds (0 when there is none). false for a
 * malformed one. */
static inline bool rill__codec_zone(const char *s, size_t n, size_t *i, int64_t *off_s)
{
    *off_s = 0;
    if (*i < n && (s[*i] == 'Z' || s[*i] == 'z')) {
        (*i)++;
        return true;
    }
    if (*i >= n || (s[*i] != '+' && s[*i] != '-'))
        return true;
    int sign = s[*i] == '-' ? -1 : 1, oh, om = 0;
    (*i)++;
    if (n - *i < 2 || !rill__codec_digits(s + *i, 2, &oh))
        return false;
    *i += 2;
    if (*i < n && s[*i] == ':')
        (*i)++;
    if (*i < n) {
        if (n - *i < 2 || !rill__codec_digits(s + *i, 2, &om))
            return false;
        *i += 2;
    }
    if (oh > 18 || om > 59)
        return false;
    *off_s = sign * (int64_t)(oh * 3600 + om * 60);
    return true;
}

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

/* ---- the SQL slot kinds (codec_types.c) ---------------------------------------------------
 * Every kind but BOOL, INT64, DOUBLE, STRING and TIMESTAMP(3), whose text forms (and fast
 * paths) are the codecs' own. Text forms follow Flink's CSV and JSON formats: integers range-
 * checked for their width; FLOAT the shortest text that reads back; DECIMAL plain digits with
 * exactly the scale's fraction digits (input: HALF_UP to the scale, an exponent accepted);
 * DATE yyyy-MM-dd (or an integer of days); TIME HH:mm:ss[.f] (fraction up to the precision,
 * trailing zeros dropped); TIMESTAMP(p) yyyy-MM-dd HH:mm:ss[.f] (input also ISO-8601 with 'T',
 * an offset, or an integer in the field's unit: ms for p <= 3, ns above); TIMESTAMP_LTZ(p)
 * the same with a trailing 'Z'; BYTES base64 (RFC 4648, padded); INTERVAL YEAR TO MONTH an
 * integer of months, INTERVAL DAY TO SECOND an integer of milliseconds. */

/* Whether fd is one of the kinds handled here. */
bool rill__codec_is_sql_kind(const rill__field *fd);
/* "DECIMAL(10, 2)", "DATE (yyyy-MM-dd)", ...: what a message says was expected. */
const char *rill__codec_expect(const rill__field *fd, char *buf, size_t cap);
/* Sets field f of row from text (quotes removed). 0, RILL_EPARSE, RILL_ERANGE (a value out of
 * the kind's range), RILL_ELIMIT (the batch's byte area is full). scratch: for BYTES. */
int rill__codec_parse_sql(const rill__field *fd, rill_row *row, int f, const char *s, size_t n,
                          rill__buf *scratch);
/* Appends the text of field i (not NULL); true when JSON writes it as a string (its text
 * never needs escaping). */
bool rill__codec_put_sql(const rill__field *fd, const rill_row *row, int i, rill__buf *out);
/* Whether rill__codec_put_sql's text for fd is a JSON string. */
static inline bool rill__codec_sql_quoted(const rill__field *fd)
{
    return fd->type == RILL_T_DATE || fd->type == RILL_T_TIME || fd->type == RILL_T_TIMESTAMP ||
           fd->type == RILL_T_TIMESTAMP_LTZ || fd->type == RILL_T_BYTES;
}
/* Seconds and nanoseconds since the epoch (or of the day) in the unit of a TIME/TIMESTAMP of
 * precision p (ms for p <= 3, ns above), truncated to p digits. 0 or RILL_ERANGE. */
int rill__codec_ts_from_parts(int64_t secs, int64_t nanos, int precision, int64_t *out);

/* ---- JSON lines decoder, called through the rill__decoder entry points (csv.c) ------------ */

/* Private state of a JSON decoder (field lookup by name, duplicate detection). */
void *rill__json_impl_new(const rill_schema *schema);
void rill__json_impl_free(void *impl);
/* Decodes one object into row, a fresh all-NULL row. 0 or RILL_EPARSE with err filled;
 * the caller drops the row on failure. */
int rill__json_decode(rill__decoder *d, const char *line, size_t len, rill_row *row,
                      rill__parse_err *err);

#endif /* RILL_CODEC_INT_H */
