/*
 * baseline.c - the bar to beat: hand-written single-threaded C loops doing the benchmark jobs'
 * work with no engine (same rows, same filter/map, same keyed running sum in an open-addressing
 * table). Prints lines in the jobs' format.
 *   baseline stateless EVENTS | baseline keyed_sum EVENTS KEYS
 *   baseline window EVENTS KEYS SIZE_US SLIDE_US
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static volatile int64_t sink; /* keeps the compiler from dropping the work */

static void report(int64_t events, int64_t out, int64_t ns)
{
    int64_t ms = ns / 1000000;
    printf("events=%lld out=%lld elapsed_ms=%lld events_per_s=%.0f\n", (long long)events,
           (long long)out, (long long)ms, ns ? (double)events * 1e9 / (double)ns : 0.0);
}

static void stateless(int64_t events)
{
    int64_t t0 = now_ns(), out = 0, acc = 0;
    for (int64_t i = 0; i < events; i++) {
        int64_t value = i % 1024;
        if (value & 1)
            continue;
        acc += value * 3 + 1;
        out++;
    }
    sink = acc;
    report(events, out, now_ns() - t0);
}

static void keyed_sum(int64_t events, int64_t keys)
{
    size_t cap = 16;
    while (cap < (size_t)keys * 2)
        cap *= 2;
    int64_t *k = malloc(cap * sizeof *k), *v = calloc(cap, sizeof *v);
    memset(k, 0xff, cap * sizeof *k);
    int64_t t0 = now_ns(), acc = 0;
    for (int64_t i = 0; i < events; i++) {
        int64_t key = i % keys, value = i % 1024;
        size_t h = (size_t)mix((uint64_t)key) & (cap - 1);
        while (k[h] != key && k[h] != -1)
            h = (h + 1) & (cap - 1);
        k[h] = key;
        v[h] += value;
        acc += v[h];
    }
    sink = acc;
    report(events, events, now_ns() - t0);
    free(k);
    free(v);
}

/* The window benchmark's work: key = i mod K, value = i mod 1024, event time = i us; per key a
 * ring of slices (slide long) summed into each window (size long) as it closes. */
static void window(int64_t events, int64_t keys, int64_t size_us, int64_t slide_us)
{
    int64_t size = size_us / 1000, slide = slide_us / 1000, n_slices = size / slide;
    int64_t *sum = calloc((size_t)(keys * n_slices), sizeof *sum);
    int64_t *cnt = calloc((size_t)(keys * n_slices), sizeof *cnt);
    int64_t *cur = malloc((size_t)keys * sizeof *cur); /* current slice index per key */
    for (int64_t k = 0; k < keys; k++)
        cur[k] = -1;
    int64_t t0 = now_ns(), windows = 0, acc = 0;
    for (int64_t i = 0; i < events; i++) {
        int64_t key = i % keys, value = i % 1024, ts = i / 1000;
        int64_t slice = ts / slide;
        if (slice != cur[key]) {
            if (cur[key] >= 0) { /* windows ending at the closed slice's end fire */
                int64_t s = 0, c = 0;
                for (int64_t j = 0; j < n_slices; j++) {
                    s += sum[key * n_slices + j];
                    c += cnt[key * n_slices + j];
                }
                acc += s + c;
                windows++;
            }
            cur[key] = slice;
            sum[key * n_slices + slice % n_slices] = 0;
            cnt[key * n_slices + slice % n_slices] = 0;
        }
        sum[key * n_slices + slice % n_slices] += value;
        cnt[key * n_slices + slice % n_slices]++;
    }
    sink = acc;
    report(events, windows, now_ns() - t0);
    free(sum);
    free(cnt);
    free(cur);
}

int main(int argc, char **argv)
{
    if (argc >= 6 && !strcmp(argv[1], "window")) {
        window(atoll(argv[2]), atoll(argv[3]), atoll(argv[4]), atoll(argv[5]));
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "stateless")) {
        stateless(atoll(argv[2]));
        return 0;
    }
    if (argc >= 4 && !strcmp(argv[1], "keyed_sum")) {
        keyed_sum(atoll(argv[2]), atoll(argv[3]));
        return 0;
    }
    fprintf(stderr, "usage: baseline stateless EVENTS | baseline keyed_sum EVENTS KEYS | "
                    "baseline window EVENTS KEYS SIZE_US SLIDE_US\n");
    return 2;
}
