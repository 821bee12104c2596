/* crc32c.c - base layer: CRC32C (Castagnoli, reflected 0x82F63B78): the SSE4.2 crc32
 * instruction where the CPU has it (checkpoint files are CRC'd in full, twice on the way out and
 * once on the way in, so for large state this is several times faster), else table-driven
 * slice-by-8. Both give the same values; a unit test compares them. */
#include <pthread.h>
#include <string.h>

#include "base.h"

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

uint32_t rill__crc32c_sw(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&table_once, build_table);
    const unsigned char *s = p;
    crc = ~crc;
    while (n >= 8) {
        uint32_t lo = crc ^ ((uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 |
                             (uint32_t)s[3] << 24);
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
              table[4][lo >> 24] ^ table[3][s[4]] ^ table[2][s[5]] ^ table[1][s[6]] ^
              table[0][s[7]];
        s += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ table[0][(crc ^ *s++) & 0xff];
    return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t c = ~crc;
    for (; n >= 8; n -= 8, s += 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        c = __builtin_ia32_crc32di(c, w);
    }
    uint32_t c32 = (uint32_t)c;
    while (n--)
        c32 = __builtin_ia32_crc32qi(c32, *s++);
    return ~c32;
}

static uint32_t (*crc_impl)(uint32_t, const void *, size_t);
static pthread_once_t impl_once = PTHREAD_ONCE_INIT;

static void pick_impl(void)
{
    __builtin_cpu_init();
    crc_impl = __builtin_cpu_supports("sse4.2") ? crc32c_hw : rill__crc32c_sw;
}

uint32_t rill__crc32c(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&impl_once, pick_impl);
    return crc_impl(crc, p, n);
}
#else
uint32_t rill__crc32c(uint32_t crc, const void *p, size_t n)
{
    return rill__crc32c_sw(crc, p, n);
}
#endif
