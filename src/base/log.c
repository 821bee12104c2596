/* log.c - base layer: one-line log messages to stderr, filtered by RILL_LOG. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base.h"

static atomic_int level = -1;

static int level_from_env(void)
{
    const char *s = getenv("RILL_LOG");
    if (!s)
        return RILL_LOG_WARN;
    if (!strcasecmp(s, "error"))
        return RILL_LOG_ERROR;
    if (!strcasecmp(s, "info"))
        return RILL_LOG_INFO;
    if (!strcasecmp(s, "debug"))
        return RILL_LOG_DEBUG;
    return RILL_LOG_WARN;
}

int rill__log_level(void)
{
    int l = atomic_load_explicit(&level, memory_order_relaxed);
    if (l < 0) {
        l = level_from_env();
        atomic_store(&level, l);
    }
    return l;
}

void rill__log_set_level(int l)
{
    atomic_store(&level, l);
}

void rill__log(int lvl, const char *fmt, ...)
{
    if (lvl > rill__log_level())
        return;
    static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    char line[2048];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld %-5s ", tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, names[lvl < 0 ? 0 : lvl > 3 ? 3 : lvl]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
