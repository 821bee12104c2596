/* fuzz_util.h - shared by the libFuzzer targets that reach a parser through files: a private
 * temporary directory removed at exit, files written into it, and the splitting of one input
 * into several parts. */
#ifndef RILL_FUZZ_UTIL_H
#define RILL_FUZZ_UTIL_H

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"

static inline void fuzz_check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz: %s\n", what);
        abort();
    }
}

/* fuzz_check with the condition's own text. */
#define FUZZ_REQUIRE(cond) fuzz_check((cond), #cond)

static inline int fuzz_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

/* Removes dir and everything in it. */
static inline void fuzz_rmtree(const char *dir)
{
    nftw(dir, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Empties dir, keeping it. */
static inline void fuzz_empty_dir(const char *dir)
{
    fuzz_rmtree(dir);
    fuzz_check(mkdir(dir, 0700) == 0, "cannot create the temporary directory again");
}

static char fuzz_tmp_path[64];

static inline void fuzz_tmp_remove(void)
{
    if (fuzz_tmp_path[0])
        fuzz_rmtree(fuzz_tmp_path);
}

/* The target's own temporary directory (made on the first call, removed at exit): in memory
 * when /dev/shm is there, since the product fsyncs what it writes and a disk makes that slow. */
static inline const char *fuzz_tmpdir(void)
{
    if (!fuzz_tmp_path[0]) {
        struct stat st;
        bool shm =
            stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0;
        snprintf(fuzz_tmp_path, sizeof fuzz_tmp_path, "%s/rill-fuzz-XXXXXX",
                 shm ? "/dev/shm" : "/tmp");
        fuzz_check(mkdtemp(fuzz_tmp_path) != NULL, "mkdtemp failed");
        atexit(fuzz_tmp_remove);
    }
    return fuzz_tmp_path;
}

/* Writes n bytes to dir/name. */
static inline void fuzz_write(const char *dir, const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    fuzz_check(f != NULL, "cannot create a file in the temporary directory");
    fuzz_check(n == 0 || fwrite(p, 1, n, f) == n, "cannot write a file");
    fclose(f);
}

/* Cuts data into arguments at every NUL, as a command line: at most max of them into argv,
 * pointing into a copy with a NUL at the end (*buf_out, to free). Returns how many (size > 0:
 * at least one). */
static inline int fuzz_args(const uint8_t *data, size_t size, char **argv, int max, char **buf_out)
{
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    int argc = 0;
    for (char *p = buf; size > 0 && p <= buf + size - 1 && argc < max; p += strlen(p) + 1)
        argv[argc++] = p;
    *buf_out = buf;
    return argc;
}

/* Splits data at the separator "\n--\n" into at most max parts; returns how many. */
#define FUZZ_SEP "\n--\n"
static inline size_t fuzz_split(const uint8_t *data, size_t size, const uint8_t **part, size_t *len,
                                size_t max)
{
    size_t n = 0;
    const uint8_t *p = data, *end = data + size;
    while (n < max) {
        const uint8_t *s = n + 1 < max ? memmem(p, (size_t)(end - p), FUZZ_SEP, 4) : NULL;
        part[n] = p;
        len[n] = s ? (size_t)(s - p) : (size_t)(end - p);
        n++;
        if (!s)
            break;
        p = s + 4;
    }
    return n;
}

#endif
