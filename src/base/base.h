/*
 * base.h - the base layer's interface: memory, byte buffers, hashing, time, errors,
 * logging, CRC32C, file I/O with fsync+rename, and fault injection for tests.
 * Lowest layer: includes nothing of rill but the public header.
 */
#ifndef RILL_BASE_H
#define RILL_BASE_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "rill.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#define RILL_INTERNAL __attribute__((visibility("hidden")))
#define RILL_LIKELY(x) __builtin_expect(!!(x), 1)
#define RILL_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define RILL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define RILL_CACHELINE 64
#define RILL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define RILL_MAX(a, b) ((a) > (b) ? (a) : (b))

/* A hint to the CPU inside a spin loop. */
static inline void rill__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* ---- assertions ---------------------------------------------------------------------------- */

/* Always on: a breach means corrupt state, so the process stops with where and why. */
#define RILL_ASSERT(cond)                                                                      \
    do {                                                                                       \
        if (RILL_UNLIKELY(!(cond)))                                                            \
            rill__panic(__FILE__, __LINE__, "assertion failed: %s", #cond);                    \
    } while (0)
/* Debug builds only: for the per-record path. */
#ifdef NDEBUG
#define RILL_DASSERT(cond) ((void)0)
#else
#define RILL_DASSERT(cond) RILL_ASSERT(cond)
#endif

__attribute__((noreturn)) RILL_PRINTF(3, 4) void rill__panic(const char *file, int line,
                                                             const char *fmt, ...);

/* ---- memory: bookkeeping allocations abort on out-of-memory (sizes from input are checked
 * by the caller first) ---------------------------------------------------------------------- */

void *rill__xmalloc(size_t n);
void *rill__xcalloc(size_t n, size_t size);
void *rill__xrealloc(void *p, size_t n);
char *rill__xstrdup(const char *s);
char *rill__xstrndup(const char *s, size_t n);
RILL_PRINTF(1, 2) char *rill__xasprintf(const char *fmt, ...);
/* Grows *cap (doubling, at least min_cap) and reallocates *p to hold need elements. */
void rill__grow(void **p, size_t *cap, size_t need, size_t elem_size);

/* A bump allocator for scratch memory that is dropped all at once (per batch, per job). */
typedef struct rill__arena_chunk rill__arena_chunk;
typedef struct rill__arena {
    rill__arena_chunk *head;
    size_t chunk_size;
} rill__arena;
void rill__arena_init(rill__arena *a, size_t chunk_size);
void *rill__arena_alloc(rill__arena *a, size_t n); /* 16-byte aligned */
char *rill__arena_strdup(rill__arena *a, const char *s);
void rill__arena_reset(rill__arena *a); /* keeps the first chunk */
void rill__arena_close(rill__arena *a);

/* ---- byte buffer -------------------------------------------------------------------------- */

typedef struct rill__buf {
    char *data;
    size_t len, cap;
} rill__buf;
void rill__buf_reserve(rill__buf *b, size_t extra);
void rill__buf_append(rill__buf *b, const void *p, size_t n);
static inline void rill__buf_putc(rill__buf *b, char c)
{
    if (RILL_UNLIKELY(b->len + 1 > b->cap))
        rill__buf_reserve(b, 1);
    b->data[b->len++] = c;
}
RILL_PRINTF(2, 3) void rill__buf_printf(rill__buf *b, const char *fmt, ...);
RILL_PRINTF(2, 0) void rill__buf_vprintf(rill__buf *b, const char *fmt, va_list ap);
const char *rill__buf_cstr(rill__buf *b); /* NUL-terminates without counting it */
void rill__buf_free(rill__buf *b);

/* ---- error text kept beside a code --------------------------------------------------------- */

/* An object's last error message (rill_errmsg). Fixed size: messages are one line. */
#define RILL_ERRMSG_MAX 1024
typedef struct rill__err {
    int code;
    char msg[RILL_ERRMSG_MAX];
} rill__err;
/* Sets the message (printf-style) and returns code, for `return rill__err_set(e, rc, ...)`. */
RILL_PRINTF(3, 4) int rill__err_set(rill__err *e, int code, const char *fmt, ...);
RILL_PRINTF(3, 0) int rill__err_vset(rill__err *e, int code, const char *fmt, va_list ap);
/* Sets only when no error is recorded yet (keeps the first cause). Returns code. */
RILL_PRINTF(3, 4) int rill__err_first(rill__err *e, int code, const char *fmt, ...);
/* Thread-local last error for calls with no object (rill_last_error). Returns code. */
RILL_PRINTF(2, 3) int rill__last_error_set(int code, const char *fmt, ...);

/* ---- hashing ------------------------------------------------------------------------------ */

static inline uint64_t rill__hash_bytes(const void *p, size_t n, uint64_t seed)
{
    return XXH3_64bits_withSeed(p, n, seed);
}
/* Hash of one 8-byte key: the same value rill__hash_bytes gives for those 8 bytes. */
static inline uint64_t rill__hash_u64(uint64_t x)
{
    return XXH3_64bits(&x, sizeof x);
}
/* A cheap 64-bit mixer (splitmix64 finalizer) for seeded pseudo-random numbers. */
static inline uint64_t rill__mix64(uint64_t z)
{
    z += UINT64_C(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* ---- CRC32C (Castagnoli), for checkpoint files ------------------------------------------- */

uint32_t rill__crc32c(uint32_t crc, const void *p, size_t n);
/* The portable table-driven version of rill__crc32c (for tests that compare the two). */
uint32_t rill__crc32c_sw(uint32_t crc, const void *p, size_t n);

/* ---- time --------------------------------------------------------------------------------- */

int64_t rill__now_ms(void);  /* wall clock, ms since the epoch */
/* The proleptic Gregorian calendar: days since 1970-01-01 of a date (m 1..12, d 1..31), and
 * the date of such a day number. */
int64_t rill__days_from_civil(int64_t y, int m, int d);
void rill__civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* A condition variable whose timed waits take CLOCK_MONOTONIC deadlines. */
void rill__cond_init_monotonic(pthread_cond_t *cv);
/* Waits on cv (made by rill__cond_init_monotonic, mu held) for at most ms milliseconds. */
void rill__cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t ms);
int64_t rill__mono_ns(void); /* monotonic clock, ns */
void rill__sleep_ns(int64_t ns);

/* ---- logging: one line each to stderr, level from RILL_LOG (error|warn|info|debug) -------- */

enum { RILL_LOG_ERROR = 0, RILL_LOG_WARN = 1, RILL_LOG_INFO = 2, RILL_LOG_DEBUG = 3 };
RILL_PRINTF(2, 3) void rill__log(int level, const char *fmt, ...);
void rill__log_set_level(int level);
int rill__log_level(void);

/* ---- files -------------------------------------------------------------------------------- */

/* Writes all n bytes (retrying short writes and EINTR). 0 or -errno. */
int rill__write_all(int fd, const void *p, size_t n);
/* Reads a whole file into *data_out (NUL-terminated, length in *len_out; free()). Refuses
 * files over max_len with RILL_ELIMIT. 0 or -errno. */
int rill__read_file(const char *path, size_t max_len, char **data_out, size_t *len_out);
/* Writes path atomically: a temp file beside it, write, fsync, rename, fsync the directory.
 * The rename is the commit point: readers see the old file or the whole new one. */
int rill__write_file_atomic(const char *path, const void *p, size_t n);
/* mkdir -p. 0 or -errno. */
int rill__mkdirs(const char *path, int mode);
/* rm -r (no symlinks followed). 0 or the first -errno. */
int rill__remove_tree(const char *path);
/* fsync of a directory, so that a rename or create inside it is durable. */
int rill__fsync_dir(const char *dir);
/* Copies file src to dst (a new file: an existing dst is unlinked first, so a file it shared
 * by a hard link is left as it was), fully, and fsyncs dst (not its directory);
 * the bytes copied go to *bytes_out (may be NULL). On failure dst is removed. 0 or -errno. */
int rill__copy_file(const char *src, const char *dst, int64_t *bytes_out);

/* ---- crashes in user functions (crash.c) ----------------------------------------------------
 * A task thread marks each call of a user function with the operator it belongs to. A fatal
 * signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) raised during such a call cannot be
 * recovered from safely (a wild write may have hit any memory, a crash inside malloc leaves its
 * lock taken): the handler prints one line naming the job, the operator, its subtask and the
 * signal, and the process exits with RILL_EXIT_USER_CRASH. Signals raised outside user
 * functions keep the outcome they had (a core dump). An alternate signal stack per task thread
 * lets a stack overflow be reported too. */
#define RILL_EXIT_USER_CRASH 3

typedef struct rill__user_site {
    const char *uid; /* the operator's uid */
    int subtask, parallelism;
} rill__user_site;

/* The user function this thread runs now: NULL outside user code. */
extern _Thread_local const rill__user_site *rill__in_user;

/* Marks the start of a user function call of site; returns what to pass to rill__user_leave
 * (calls nest: a user function's rill_emit runs the next chained operator's). */
static inline const rill__user_site *rill__user_enter(const rill__user_site *site)
{
    const rill__user_site *prev = rill__in_user;
    rill__in_user = site;
    atomic_signal_fence(memory_order_seq_cst);
    return prev;
}

static inline void rill__user_leave(const rill__user_site *prev)
{
    atomic_signal_fence(memory_order_seq_cst);
    rill__in_user = prev;
}

typedef struct rill__crash_thread {
    void *stack;
    stack_t old_stack;
} rill__crash_thread;

/* Called by a task thread before it runs operators: installs the process's handlers (once)
 * and this thread's alternate signal stack; job (borrowed until rill__crash_thread_end) names
 * the job in the report. */
void rill__crash_thread_begin(const char *job, rill__crash_thread *ct);
/* Before the thread ends: its alternate stack goes. */
void rill__crash_thread_end(rill__crash_thread *ct);

/* ---- fault injection (SQLite's fault simulation) -------------------------------------------
 * In builds with RILL_FAULT_INJECTION, rill__fault(point) returns true at the N-th call for
 * the armed point, so a test can make the N-th write or allocation fail and check that the
 * outcome is the right result or the documented error. Always false otherwise. */
typedef enum rill__fault_point {
    RILL_FAULT_ALLOC = 0, /* checked allocations of input-sized buffers */
    RILL_FAULT_WRITE,     /* file writes */
    RILL_FAULT_FSYNC,     /* fsync */
    RILL_FAULT_READ,      /* file reads */
    RILL_FAULT_NET,       /* network frames */
    RILL_FAULT_N_POINTS
} rill__fault_point;
#ifdef RILL_FAULT_INJECTION
bool rill__fault(rill__fault_point point);
/* Arms point to fail at its nth call from now (1 = the next), and every call after when
 * sticky. n = 0 disarms. Returns how many calls were seen since the last arm. */
long rill__fault_arm(rill__fault_point point, long nth, bool sticky);
#else
static inline bool rill__fault(rill__fault_point point)
{
    (void)point;
    return false;
}
#endif

/* ---- numbers from text -------------------------------------------------------------------- */

/* Strict parses of a whole token of length n (no spaces, no trailing junk). 0 or RILL_EPARSE;
 * RILL_ERANGE for integers out of range. */
int rill__parse_i64(const char *s, size_t n, int64_t *out);
int rill__parse_f64(const char *s, size_t n, double *out);
/* Java's Double.toString (is_float: Float.toString of the float d): the shortest digits that
 * read back, plain for 1e-3 <= |d| < 1e7 (a digit after the point), else d.dddE[-]n. */
void rill__java_number(rill__buf *out, double d, bool is_float);
int rill__parse_bool(const char *s, size_t n, bool *out);
/* A size in bytes: digits, optionally followed by k, m or g (powers of 1024; also kb, mb, gb,
 * any case). 0, or RILL_EPARSE (also for overflow). */
int rill__parse_bytes(const char *s, int64_t *out);
/* A duration in milliseconds (>= 0), as Flink writes them: digits, then optionally ms, s,
 * sec(ond)(s), min(ute)(s), h(our)(s), d(ay)(s), with or without a space ("300000", "10 s",
 * "5min", "2 h", "250ms"). 0, or RILL_EPARSE (also for overflow). */
int rill__parse_duration(const char *s, int64_t *ms);
/* Shortest text that reads back as the same double ("%.17g" trimmed); returns length. */
int rill__format_f64(char *buf, size_t cap, double d);

/* ---- the binary codec: every file format and wire message -----------------------------------
 * Fixed-width integers are little-endian, whatever the host. rill__le_* read and write them in
 * place (headers, lengths patched after the fact); a payload is a sequence of fields with no
 * tags: u8, u16, u32, u64 and i64 are fixed
 * width little-endian (i64 two's complement); bytes and strings are a u32 length then the bytes.
 * Strings hold no NUL byte. Each decoder call names its field and limit; the first failure is
 * kept (the rest read zeros) and reported by rill__dec_finish, which also refuses trailing
 * bytes. Encoders append to a rill__buf and check the same limits. */

static inline void rill__le_put32(void *p, uint32_t v)
{
    uint8_t *b = p;
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}
static inline void rill__le_put64(void *p, uint64_t v)
{
    rill__le_put32(p, (uint32_t)v);
    rill__le_put32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}
static inline uint32_t rill__le_get32(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static inline uint64_t rill__le_get64(const void *p)
{
    return (uint64_t)rill__le_get32(p) | (uint64_t)rill__le_get32((const uint8_t *)p + 4) << 32;
}
/* Appends a little-endian u32 / u64 to b. */
static inline void rill__buf_put_u32(rill__buf *b, uint32_t v)
{
    uint8_t x[4];
    rill__le_put32(x, v);
    rill__buf_append(b, x, sizeof x);
}
static inline void rill__buf_put_u64(rill__buf *b, uint64_t v)
{
    uint8_t x[8];
    rill__le_put64(x, v);
    rill__buf_append(b, x, sizeof x);
}

typedef struct rill__enc {
    rill__buf *b;
    int rc; /* first error (a string over its limit) */
    const char *bad_field;
} rill__enc;

static inline void rill__enc_init(rill__enc *e, rill__buf *b)
{
    e->b = b;
    e->rc = 0;
    e->bad_field = NULL;
}
void rill__enc_u8(rill__enc *e, uint8_t v);
void rill__enc_u16(rill__enc *e, uint16_t v);
void rill__enc_u32(rill__enc *e, uint32_t v);
void rill__enc_u64(rill__enc *e, uint64_t v);
void rill__enc_i64(rill__enc *e, int64_t v);
/* RILL_ELIMIT (sticky) when n > max. */
void rill__enc_bytes(rill__enc *e, const char *field, const void *p, size_t n, size_t max);
/* RILL_ELIMIT over max bytes; s may be NULL (the empty string). */
void rill__enc_str(rill__enc *e, const char *field, const char *s, size_t max);
/* n bytes as they are, with no length (a field whose length is known otherwise). */
void rill__enc_raw(rill__enc *e, const void *p, size_t n);
/* The end of message msg's encoding: 0 or the first error (the field logged at debug level). */
int rill__enc_finish(rill__enc *e, const char *msg);

typedef struct rill__dec {
    const uint8_t *p;
    size_t len, off;
    int rc;            /* first error: RILL_EPROTO (truncated, NUL in a string, trailing
                        * bytes) or RILL_ELIMIT (over a field's limit) */
    const char *field; /* the field that failed */
    size_t at;         /* its offset */
} rill__dec;

static inline void rill__dec_init(rill__dec *d, const void *p, size_t len)
{
    d->p = (const uint8_t *)p;
    d->len = len;
    d->off = 0;
    d->rc = 0;
    d->field = NULL;
    d->at = 0;
}
uint8_t rill__dec_u8(rill__dec *d, const char *field);
uint16_t rill__dec_u16(rill__dec *d, const char *field);
uint32_t rill__dec_u32(rill__dec *d, const char *field);
uint64_t rill__dec_u64(rill__dec *d, const char *field);
int64_t rill__dec_i64(rill__dec *d, const char *field);
/* Borrowed bytes (valid as long as the payload); *p NULL and *n 0 after an error. */
void rill__dec_bytes(rill__dec *d, const char *field, size_t max, const uint8_t **p, size_t *n);
/* The next n bytes as they are (borrowed; NULL after an error). */
const uint8_t *rill__dec_raw(rill__dec *d, const char *field, size_t n);
/* Bytes not read yet. */
static inline size_t rill__dec_left(const rill__dec *d)
{
    return d->rc ? 0 : d->len - d->off;
}
/* Copies a string of at most cap-1 bytes into buf, NUL-terminated ("" after an error). */
void rill__dec_str(rill__dec *d, const char *field, char *buf, size_t cap);
/* 0, or the first error with a message "<msg>: field '<f>' ... at offset N" in *err. Also
 * RILL_EPROTO when bytes are left over. */
int rill__dec_finish(rill__dec *d, const char *msg, rill__err *err);
/* Records RILL_EPROTO for field (decoded at offset at) whose value failed a check of the
 * message's own, unless an earlier error is kept already. */
void rill__dec_fail_at(rill__dec *d, const char *field, size_t at);
#endif /* RILL_BASE_H */
