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
int rill__parse_bool(const char *s, size_t n, bool *out);
/* A size in bytes: digits, optionally followed by k, m or g (powers of 1024; also kb, mb, gb,
 * any case). 0, or RILL_EPARSE (also for overflow). */
int rill__parse_bytes(const char *s, int64_t *out);
/* Shortest text that reads back as the same double ("%.17g" trimmed); returns length. */
int rill__format_f64(char *buf, size_t cap, double d);

#endif /* RILL_BASE_H */
