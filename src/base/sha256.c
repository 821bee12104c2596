/*
 * sha256.c - base layer: SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104), constant-time compare,
 * kernel randomness and the shared-secret file, for the handshake's authentication. Written
 * here rather than taken from libcrypto: the handshake needs only these, and no new dependency.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net.h"

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static inline uint32_t ror(uint32_t x, int n)
{
    return (x >> n) | (x << (32 - n));
}

static void compress(uint32_t h[8], const uint8_t *blk)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)blk[4 * i] << 24 | (uint32_t)blk[4 * i + 1] << 16 |
               (uint32_t)blk[4 * i + 2] << 8 | blk[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 =
            k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

void rill__sha256_init(rill__sha256 *s)
{
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, iv, sizeof iv);
    s->n_bytes = 0;
    s->fill = 0;
}

void rill__sha256_update(rill__sha256 *s, const void *p, size_t n)
{
    const uint8_t *in = p;
    s->n_bytes += n;
    if (s->fill) {
        size_t take = RILL_MIN(n, 64 - s->fill);
        memcpy(s->block + s->fill, in, take);
        s->fill += take, in += take, n -= take;
        if (s->fill < 64)
            return;
        compress(s->h, s->block);
        s->fill = 0;
    }
    for (; n >= 64; in += 64, n -= 64)
        compress(s->h, in);
    memcpy(s->block, in, n);
    s->fill = n;
}

void rill__sha256_final(rill__sha256 *s, uint8_t out[RILL_SHA256_LEN])
{
    uint64_t bits = s->n_bytes * 8;
    uint8_t pad[72] = {0x80};
    /* pad to 56 mod 64, then the message length in bits, big-endian */
    size_t n_pad = (s->fill < 56 ? 56 : 120) - s->fill;
    for (int i = 0; i < 8; i++)
        pad[n_pad + (size_t)i] = (uint8_t)(bits >> (56 - 8 * i));
    rill__sha256_update(s, pad, n_pad + 8);
    RILL_ASSERT(s->fill == 0);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(s->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->h[i];
    }
    memset(s, 0, sizeof *s); /* may hold key material (HMAC) */
}

void rill__sha256_digest(const void *p, size_t n, uint8_t out[RILL_SHA256_LEN])
{
    rill__sha256 s;
    rill__sha256_init(&s);
    rill__sha256_update(&s, p, n);
    rill__sha256_final(&s, out);
}

void rill__hmac_init(rill__hmac *h, const void *key, size_t key_len)
{
    uint8_t k[64] = {0}, pad[64];
    if (key_len > 64)
        rill__sha256_digest(key, key_len, k); /* RFC 2104: long keys are hashed first */
    else if (key_len)
        memcpy(k, key, key_len);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x36;
    rill__sha256_init(&h->inner);
    rill__sha256_update(&h->inner, pad, 64);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x5c;
    rill__sha256_init(&h->outer);
    rill__sha256_update(&h->outer, pad, 64);
    memset(k, 0, sizeof k);
    memset(pad, 0, sizeof pad);
}

void rill__hmac_update(rill__hmac *h, const void *p, size_t n)
{
    rill__sha256_update(&h->inner, p, n);
}

void rill__hmac_final(rill__hmac *h, uint8_t out[RILL_SHA256_LEN])
{
    uint8_t ih[RILL_SHA256_LEN];
    rill__sha256_final(&h->inner, ih);
    rill__sha256_update(&h->outer, ih, sizeof ih);
    rill__sha256_final(&h->outer, out);
}

void rill__hmac_sha256(const void *key, size_t key_len, const void *p, size_t n,
                       uint8_t out[RILL_SHA256_LEN])
{
    rill__hmac h;
    rill__hmac_init(&h, key, key_len);
    rill__hmac_update(&h, p, n);
    rill__hmac_final(&h, out);
}

bool rill__ct_equal(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a, *y = b;
    uint8_t diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= x[i] ^ y[i];
    return diff == 0;
}

int rill__random_bytes(void *p, size_t n)
{
    uint8_t *out = p;
    while (n) {
        ssize_t got = getrandom(out, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        out += got, n -= (size_t)got;
    }
    return 0;
}

int rill__secret_read_file(const char *path, uint8_t **secret_out, size_t *len_out, rill__err *err)
{
    *secret_out = NULL;
    *len_out = 0;
    /* fstat the descriptor we read, not the path, so the check and the read see one file */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return rill__err_set(err, -errno, "secret file %s: %s", path, strerror(errno));
    int rc = 0;
    uint8_t *buf = NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = rill__err_set(err, -errno, "secret file %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = rill__err_set(err, RILL_EINVAL, "secret file %s is not a regular file", path);
        goto out;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        rc = rill__err_set(err, RILL_EPERM,
                           "secret file %s has mode %04o: group and others must have no "
                           "access (chmod 600 %s)",
                           path, (unsigned)(st.st_mode & 07777), path);
        goto out;
    }
    if (st.st_size > RILL_SECRET_MAX + 1) {
        rc = rill__err_set(err, RILL_ELIMIT, "secret file %s is over %d bytes", path,
                           RILL_SECRET_MAX);
        goto out;
    }
    buf = rill__xmalloc(RILL_SECRET_MAX + 2);
    size_t n = 0;
    for (;;) {
        ssize_t got = read(fd, buf + n, RILL_SECRET_MAX + 2 - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = rill__err_set(err, -errno, "secret file %s: %s", path, strerror(errno));
            goto out;
        }
        if (got == 0 || (n += (size_t)got) == RILL_SECRET_MAX + 2)
            break;
    }
    if (n && buf[n - 1] == '\n') /* `echo ... > file` adds one */
        n--;
    if (n < RILL_SECRET_MIN || n > RILL_SECRET_MAX) {
        rc = rill__err_set(err, n < RILL_SECRET_MIN ? RILL_EINVAL : RILL_ELIMIT,
                           "secret file %s holds %zu bytes: a secret has %d to %d", path, n,
                           RILL_SECRET_MIN, RILL_SECRET_MAX);
        goto out;
    }
    *secret_out = buf;
    *len_out = n;
    buf = NULL;
out:
    if (buf) {
        memset(buf, 0, RILL_SECRET_MAX + 2);
        free(buf);
    }
    close(fd);
    return rc;
}

void rill__secret_free(uint8_t *secret, size_t len)
{
    if (!secret)
        return;
    volatile uint8_t *v = secret;
    for (size_t i = 0; i < len; i++)
        v[i] = 0;
    free(secret);
}
