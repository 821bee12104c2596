/*
 * tz.h - base layer: time zones by name, as Java's ZoneId takes them ('UTC', 'Z', '+08:00',
 * 'GMT+8', 'UTC-05:30', region names such as 'Asia/Shanghai'), regions read from the TZif files
 * under /usr/share/zoneinfo (their 64-bit table, then the POSIX TZ rule of their footer for
 * times past it). Never through the C library's TZ/localtime.
 */
#ifndef RILL_TZ_H
#define RILL_TZ_H

#include <stdbool.h>
#include <stdint.h>

typedef struct rill__tz rill__tz;

/* The zone named name, or NULL when there is none by that name. Zones are read once and kept
 * for the life of the process (the pointer never becomes invalid); safe from any thread, and
 * cheap after the first call for a name (no lock taken). */
const rill__tz *rill__tz_get(const char *name);

/* The zone's offset from UTC, in seconds, at the instant utc (seconds since the epoch). */
int32_t rill__tz_offset(const rill__tz *z, int64_t utc);

/* The instant (seconds since the epoch) of a local date-time given as seconds since
 * 1970-01-01T00:00 local, as Java's LocalDateTime.atZone: in a gap (clocks put forward) the
 * time is moved later by the gap's length; in an overlap the earlier offset is taken. */
int64_t rill__tz_from_local(const rill__tz *z, int64_t local);

/*
 * Windows of local time (Flink's TimeWindowUtil), in ms; z NULL is UTC (each is the identity),
 * and INT64_MIN / INT64_MAX pass through. A local time is the wall-clock time in z counted in
 * ms since 1970-01-01T00:00 as if it were UTC.
 */
/* toUtcTimestampMills: the local time of instant ms. */
int64_t rill__tz_local_ms(const rill__tz *z, int64_t ms);
/* toEpochMills: the instant of local time x (rill__tz_from_local). */
int64_t rill__tz_instant_ms(const rill__tz *z, int64_t x);
/* toEpochMillsForTimer: the instant a timer for local time x fires at: a time in a DST gap at
 * the gap's hour, one in an overlap at its second occurrence (non-decreasing in x). */
int64_t rill__tz_timer_ms(const rill__tz *z, int64_t x);

#endif /* RILL_TZ_H */
