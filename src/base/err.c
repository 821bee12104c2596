/* err.c - base layer: result code names and texts, error messages kept beside codes, panic. */
#include <stdlib.h>
#include <string.h>

#include "base.h"

const char *rill_strerror(int rc)
{
    switch (rc) {
    case 0:
        return "success";
    case RILL_AGAIN:
        return "try again";
    case RILL_DONE:
        return "done";
#define RILL_ERRNO_TEXT_(name, value, text)                                                   \
    case value:                                                                                \
        return text;
        RILL_ERRNO_MAP(RILL_ERRNO_TEXT_)
#undef RILL_ERRNO_TEXT_
    default:
        break;
    }
    if (rc < 0 && rc > -4000)
        return strerror(-rc);
    return "unknown error";
}

const char *rill_err_name(int rc)
{
    switch (rc) {
    case 0:
        return "RILL_OK";
    case RILL_AGAIN:
        return "RILL_AGAIN";
    case RILL_DONE:
        return "RILL_DONE";
#define RILL_ERRNO_NAME_(name, value, text)                                                   \
    case value:                                                                                \
        return "RILL_" #name;
        RILL_ERRNO_MAP(RILL_ERRNO_NAME_)
#undef RILL_ERRNO_NAME_
    default:
        return rc < 0 && rc > -4000 ? "RILL_ESYS" : "RILL_UNKNOWN";
    }
}

int rill__err_vset(rill__err *e, int code, const char *fmt, va_list ap)
{
    e->code = code;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    return code;
}

int rill__err_set(rill__err *e, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rill__err_vset(e, code, fmt, ap);
    va_end(ap);
    return code;
}

int rill__err_first(rill__err *e, int code, const char *fmt, ...)
{
    if (e->code != 0)
        return code;
    va_list ap;
    va_start(ap, fmt);
    rill__err_vset(e, code, fmt, ap);
    va_end(ap);
    return code;
}

static _Thread_local rill__err last_error;

int rill__last_error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rill__err_vset(&last_error, code, fmt, ap);
    va_end(ap);
    return code;
}

const char *rill_last_error(void)
{
    return last_error.msg;
}

void rill__panic(const char *file, int line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "rill: fatal: %s (%s:%d)\n", msg, file, line);
    fflush(stderr);
    abort();
}
