/* fuzz_snapshot.c - libFuzzer target: the keyed snapshot reader (src/ops/snapshot.c: the
 * canonical "RLKS" format, the native "RLKN" one of incremental checkpoints with the backend's
 * manifest) and the operator-state container ("RLOS") on arbitrary bytes. The first byte picks
 * what: a keyed restore into a heap or rocksdb backend owning some key groups of 128 (with its
 * timers), or
 * the container; and whether checksums are set right before reading (so the fuzzer gets past
 * them). A native snapshot's files are the input's other parts (split at "\n--\n"), each
 * "NAME\0" and its bytes (or just bytes, named f0, f1, ...), in its directory. A restore that
 * succeeds leaves state that snapshots and restores again; one that fails says why. With
 * RILL_FUZZ_WRITE_SEEDS=DIR it writes its seed corpus to DIR and exits. */
#include <dirent.h>
#include <string.h>

#include "fuzz_util.h"
#include "ops/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAXP      128
#define MAX_PARTS 6

static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t ld64(const uint8_t *p)
{
    return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

static void st32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Sets the checksums of a canonical snapshot (sections, header, index) where its trailer and
 * index say they are; leaves what does not parse as it is. */
static void fix_canonical(uint8_t *p, size_t len)
{
    if (len < 28)
        return;
    uint8_t *tr = p + len - 24;
    uint64_t index_off = ld64(tr);
    uint32_t header_len = ld32(tr + 8);
    size_t index_end = len - 24;
    if (header_len > index_end || index_off > index_end - 4)
        return;
    st32(tr + 12, rill__crc32c(0, p, header_len));
    uint32_t n = ld32(p + index_off);
    for (uint32_t i = 0; i < n && index_off + 4 + (uint64_t)(i + 1) * 24 <= index_end; i++) {
        uint8_t *rec = p + index_off + 4 + (size_t)i * 24;
        uint64_t off = ld64(rec + 8), slen = ld64(rec + 16);
        if (off <= len && slen <= len - off)
            st32(rec + 4, rill__crc32c(0, p + off, (size_t)slen));
    }
    st32(tr + 16, rill__crc32c(0, p + index_off, index_end - index_off));
}

/* The same for a native snapshot (its canonical part, then its own checksum), or a container. */
static void fix_checksums(uint8_t *p, size_t len)
{
    if (len >= 12 && !memcmp(p, "RLKN", 4)) {
        size_t pos = 8;
        uint32_t nl = ld32(p + pos);
        pos += 4;
        if (nl <= len - pos && len - pos - nl >= 8) {
            pos += nl;
            uint64_t ml = ld64(p + pos);
            pos += 8;
            if (ml <= len - pos && len - pos - ml >= 12) {
                pos += ml;
                uint64_t cl = ld64(p + pos);
                pos += 8;
                if (cl <= len - pos - 4)
                    fix_canonical(p + pos, (size_t)cl);
            }
        }
    } else if (len >= 4 && memcmp(p, "RLOS", 4) != 0) {
        fix_canonical(p, len);
        return;
    }
    if (len >= 4)
        st32(p + len - 4, rill__crc32c(0, p, len - 4));
}

static int visit(void *arg, const char *name, size_t name_len, const void *val, size_t val_len)
{
    uint32_t *crc = arg;
    fuzz_check(name_len >= 1, "an empty name");
    *crc = rill__crc32c(*crc, name, name_len);
    *crc = rill__crc32c(*crc, val, val_len);
    return 0;
}

static void fuzz_opstate(const uint8_t *p, size_t n)
{
    rill__err err = {0};
    uint32_t crc = 0;
    int rc = rill__opstate_iterate(p, n, visit, &crc, &err);
    fuzz_check(rc == 0 || ((rc == RILL_ECORRUPT || rc == RILL_ENOTSUP) && err.msg[0]),
               "opstate: a failure without a message");
    const void *val;
    size_t vlen;
    rc = rill__opstate_get(p, n, "offsets", &val, &vlen, &err);
    fuzz_check(rc == 0 || rc == 1 || rc == RILL_ECORRUPT || rc == RILL_ENOTSUP,
               "opstate get: an unexpected code");
    if (rc == 1)
        fuzz_check((const uint8_t *)val >= p && (const uint8_t *)val + vlen <= p + n,
                   "opstate: a blob outside the container");
}

static rill__state_backend *backend(const rill__state_backend_ops *ops, int first, int last)
{
    rill__state_backend_cfg cfg = {.kg_first = first,
                                   .kg_last = last,
                                   .max_parallelism = MAXP,
                                   .operator_uid = "fuzz-op",
                                   .dir = fuzz_tmpdir()};
    rill__state_backend *b = NULL;
    fuzz_check(ops->create(&cfg, &b) == 0 && b, "a backend");
    return b;
}

static void fuzz_keyed(uint8_t sel, const uint8_t *p, size_t n, const char *dir)
{
    static const int pars[] = {1, 2, 3, 128};
    int par = pars[(sel >> 2) & 3], first, last;
    rill__kg_range((sel >> 4) % par, MAXP, par, &first, &last);
    rill__err err = {0};
    int mp, f, l;
    if (rill__keyed_snapshot_info(p, n, &mp, &f, &l, &err) == 0)
        fuzz_check(mp >= 1 && f >= 0 && f <= l && l < mp, "snapshot info out of range");

    /* the heap backend; or rocksdb, which takes a native snapshot's files as they are */
    const rill__state_backend_ops *ops =
        sel & 0x40 ? &rill__rocksdb_backend_ops : &rill__heap_backend_ops;
    rill__state_backend *b = backend(ops, first, last);
    rill__timer_service *tm = rill__timers_new(first, last);
    int rc = rill__keyed_restore_dir(b, tm, first, last, p, n, dir, &err);
    if (rc == 0) {
        /* what was restored snapshots, and that restores into a new instance */
        rill__buf again = {0};
        rc = rill__keyed_snapshot(b, tm, first, last, &again, &err);
        if (rc != 0) {
            /* RocksDB took a native snapshot's files as they are, checked only for presence and
             * size (snapshot.h): damage inside them shows when they are read, as an error */
            fuzz_check(ops == &rill__rocksdb_backend_ops && n >= 4 && !memcmp(p, "RLKN", 4) &&
                           err.msg[0] != '\0',
                       err.msg);
            rill__buf_free(&again);
            rill__timers_free(tm);
            b->ops->destroy(b);
            return;
        }
        rill__state_backend *b2 = backend(&rill__heap_backend_ops, first, last);
        rill__timer_service *tm2 = rill__timers_new(first, last);
        rc = rill__keyed_restore(b2, tm2, first, last, again.data, again.len, &err);
        if (rc)
            fprintf(stderr, "a snapshot of restored state does not restore: %s\n", err.msg);
        fuzz_check(rc == 0, "round trip");
        rill__timers_free(tm2);
        b2->ops->destroy(b2);
        rill__buf_free(&again);
    } else {
        fuzz_check(err.msg[0] != '\0', "a failed restore without a message");
    }
    rill__timers_free(tm);
    b->ops->destroy(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    const uint8_t *part[MAX_PARTS];
    size_t len[MAX_PARTS];
    size_t n = fuzz_split(data + 1, size - 1, part, len, MAX_PARTS);
    /* the snapshot in a buffer of exactly its size: ASan sees any read past it */
    uint8_t *p = malloc(len[0] ? len[0] : 1);
    memcpy(p, part[0], len[0]);
    if (!(sel & 2))
        fix_checksums(p, len[0]);
    if (sel & 1) {
        fuzz_opstate(p, len[0]);
    } else {
        char dir[256];
        snprintf(dir, sizeof dir, "%s/native", fuzz_tmpdir());
        fuzz_empty_dir(dir);
        for (size_t i = 1; i < n; i++) {
            /* "NAME\0bytes" names the file; otherwise it is f<i> */
            char name[64];
            const uint8_t *nul = memchr(part[i], 0, RILL_MIN(len[i], sizeof name));
            size_t nl = nul ? (size_t)(nul - part[i]) : 0;
            if (nl > 0 && !memchr(part[i], '/', nl) && !(nl <= 2 && part[i][0] == '.')) {
                memcpy(name, part[i], nl);
                name[nl] = '\0';
                fuzz_write(dir, name, nul + 1, len[i] - nl - 1);
            } else {
                snprintf(name, sizeof name, "f%zu", i - 1);
                fuzz_write(dir, name, part[i], len[i]);
            }
        }
        fuzz_keyed(sel, p, len[0], dir);
    }
    free(p);
    return 0;
}

/* ---- the seed corpus ---------------------------------------------------------------------- */

static void put32(rill__buf *b, uint32_t v)
{
    uint8_t x[4];
    st32(x, v);
    rill__buf_append(b, x, 4);
}

static void put64(rill__buf *b, uint64_t v)
{
    put32(b, (uint32_t)v);
    put32(b, (uint32_t)(v >> 32));
}

static void put_bytes(rill__buf *b, const void *p, uint32_t n)
{
    put32(b, n);
    rill__buf_append(b, p, n);
}

/* A canonical snapshot of key groups 0..127: one table of each of two kinds, the entries of
 * keys, and one event-time timer per key. */
static void canonical(rill__buf *b, const char *const *keys, int n_keys)
{
    size_t start = b->len;
    put32(b, 0x534b4c52); /* "RLKS" */
    put32(b, 1);
    put32(b, MAXP);
    put32(b, 0);
    put32(b, MAXP - 1);
    put32(b, 2);
    put_bytes(b, "count", 5);
    put32(b, 1); /* VALUE */
    put64(b, 8);
    put64(b, 0);
    put_bytes(b, "seen", 4);
    put32(b, 2); /* LIST */
    put64(b, 0);
    put64(b, 60000);
    uint32_t header_len = (uint32_t)(b->len - start);
    rill__buf index = {0};
    uint32_t n_sections = 0;
    for (int kg = 0; kg < MAXP; kg++) {
        size_t at = b->len;
        int in_kg = 0;
        for (int i = 0; i < n_keys; i++)
            in_kg += rill__key_group(rill__hash_bytes(keys[i], strlen(keys[i]), 0), MAXP) == kg;
        if (!in_kg)
            continue;
        put32(b, (uint32_t)kg);
        put32(b, 1); /* the VALUE table only */
        put32(b, 0);
        put64(b, (uint64_t)in_kg);
        for (int i = 0; i < n_keys; i++) {
            if (rill__key_group(rill__hash_bytes(keys[i], strlen(keys[i]), 0), MAXP) != kg)
                continue;
            uint64_t v = (uint64_t)i * 10;
            put_bytes(b, keys[i], (uint32_t)strlen(keys[i]));
            put_bytes(b, "", 0);
            put_bytes(b, &v, 8);
        }
        put64(b, (uint64_t)in_kg);
        for (int i = 0; i < n_keys; i++) {
            if (rill__key_group(rill__hash_bytes(keys[i], strlen(keys[i]), 0), MAXP) != kg)
                continue;
            rill__buf_putc(b, 0);
            put64(b, (uint64_t)(1000 * (i + 1)));
            put_bytes(b, keys[i], (uint32_t)strlen(keys[i]));
            put_bytes(b, "w", 1);
        }
        put32(&index, (uint32_t)kg);
        put32(&index, 0);
        put64(&index, (uint64_t)(at - start));
        put64(&index, (uint64_t)(b->len - at));
        n_sections++;
    }
    uint64_t index_off = b->len - start;
    put32(b, n_sections);
    rill__buf_append(b, index.data, index.len);
    rill__buf_free(&index);
    put64(b, index_off);
    put32(b, header_len);
    put32(b, 0);
    put32(b, 0);
    put32(b, 0x454b4c52); /* "RLKE" */
    fix_canonical((uint8_t *)b->data + start, b->len - start);
}

static void seed(const char *dir, const char *name, uint8_t sel, const rill__buf *b,
                 const char *files)
{
    rill__buf out = {0};
    rill__buf_putc(&out, (char)sel);
    rill__buf_append(&out, b->data, b->len);
    if (files)
        rill__buf_append(&out, files, strlen(files));
    fuzz_write(dir, name, out.data, out.len);
    rill__buf_free(&out);
}

/* A native snapshot RocksDB itself wrote of keys, with its files as the other parts. */
static void native_rocksdb(const char *dir, const char *const *keys, int n_keys)
{
    rill__err err = {0};
    rill__state_backend_cfg cfg = {.kg_first = 0,
                                   .kg_last = MAXP - 1,
                                   .max_parallelism = MAXP,
                                   .operator_uid = "fuzz-op",
                                   .dir = fuzz_tmpdir()};
    rill__state_backend *b = NULL;
    fuzz_check(rill__rocksdb_backend_ops.create(&cfg, &b) == 0, "rocksdb backend");
    static rill_state_desc d = {
        .id = 0, .name = (char *)"count", .kind = RILL_STATE_VALUE, .value_size = 8};
    rill__state_table *t = NULL;
    fuzz_check(b->ops->table(b, &d, &t) == 0, "rocksdb table");
    for (int i = 0; i < n_keys; i++) {
        uint64_t h = rill__hash_bytes(keys[i], strlen(keys[i]), 0), v = (uint64_t)i;
        rill__state_key k = {
            .key = keys[i], .key_len = strlen(keys[i]), .hash = h, .kg = rill__key_group(h, MAXP)};
        fuzz_check(b->ops->value_put(t, &k, &v, 8) == 0, "rocksdb put");
    }
    char files[256];
    snprintf(files, sizeof files, "%s/seed-files", fuzz_tmpdir());
    fuzz_check(mkdir(files, 0700) == 0, "mkdir");
    rill__ksnap *ks = NULL;
    rill__buf snap = {0}, parts = {0};
    fuzz_check(rill__ksnap_begin_native(b, NULL, &ks, &err) == 0, err.msg);
    fuzz_check(rill__ksnap_write_files(ks, &snap, files, "s-", NULL, &err) == 0, err.msg);
    rill__ksnap_free(ks);
    b->ops->destroy(b);
    DIR *dd = opendir(files);
    struct dirent *e;
    while ((e = readdir(dd)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", files, e->d_name);
        FILE *f = fopen(path, "rb");
        fuzz_check(f != NULL, "open a snapshot file");
        rill__buf_append(&parts, FUZZ_SEP, 4);
        rill__buf_append(&parts, e->d_name, strlen(e->d_name) + 1);
        char buf[4096];
        size_t r;
        while ((r = fread(buf, 1, sizeof buf, f)) > 0)
            rill__buf_append(&parts, buf, r);
        fclose(f);
    }
    closedir(dd);
    rill__buf_cstr(&parts);
    rill__buf in = {0};
    rill__buf_putc(&in, 0x00);
    rill__buf_append(&in, snap.data, snap.len);
    rill__buf_append(&in, parts.data, parts.len);
    fuzz_write(dir, "native-rocksdb-5-keys", in.data, in.len);
    in.data[0] = 0x40; /* into rocksdb: the files as they are */
    fuzz_write(dir, "native-rocksdb-5-keys-into-rocksdb", in.data, in.len);
    rill__buf_free(&in);
    rill__buf_free(&parts);
    rill__buf_free(&snap);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("RILL_FUZZ_WRITE_SEEDS");
    if (!dir)
        return 0;
    static const char *const keys[] = {"alice", "bob", "carol", "dave", "erin"};
    rill__buf b = {0};
    canonical(&b, keys, 0);
    seed(dir, "canonical-empty", 0x00, &b, NULL);
    b.len = 0;
    canonical(&b, keys, 5);
    seed(dir, "canonical-5-keys-p1", 0x00, &b, NULL);
    seed(dir, "canonical-5-keys-p2-sub1", 0x14, &b, NULL);
    seed(dir, "canonical-5-keys-p3-sub2", 0x28, &b, NULL);
    /* native: backend "rocksdb", an empty manifest, the canonical part */
    rill__buf nat = {0};
    put32(&nat, 0x4e4b4c52); /* "RLKN" */
    put32(&nat, 1);
    put_bytes(&nat, "rocksdb", 7);
    put64(&nat, 0);
    put64(&nat, b.len);
    rill__buf_append(&nat, b.data, b.len);
    put32(&nat, rill__crc32c(0, nat.data, nat.len));
    seed(dir, "native-rocksdb-empty-manifest", 0x00, &nat, NULL);
    native_rocksdb(dir, keys, 5);
    /* operator state: two blobs */
    rill__buf os = {0};
    rill__opstate_writer w;
    rill__opstate_begin(&w, &os);
    fuzz_check(rill__opstate_put(&w, "offsets", "0123456789abcdef", 16) == 0, "opstate put");
    fuzz_check(rill__opstate_put(&w, "splits", "file-a\0file-b", 13) == 0, "opstate put");
    rill__opstate_end(&w);
    seed(dir, "opstate", 0x01, &os, NULL);
    rill__buf_free(&os);
    rill__buf_free(&nat);
    rill__buf_free(&b);
    exit(0);
}
