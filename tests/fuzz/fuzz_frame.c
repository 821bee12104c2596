/* fuzz_frame.c - libFuzzer target: the frame reader fed arbitrary bytes in arbitrary chunks,
 * with a small limit; every frame it returns is decoded as its message. The reader must never
 * crash, never hold more than its limit, and return only frames within it. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* With RILL_FUZZ_WRITE_SEEDS=DIR: writes the seed corpus (the handshake's frames, whole and in
 * small chunks) to DIR and exits. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("RILL_FUZZ_WRITE_SEEDS");
    if (!dir)
        return 0;
    rill__buf b[4];
    uint16_t types[4];
    fuzz_net_payloads(b, types);
    rill__frame_writer w;
    rill__frame_writer_init(&w, 1 << 20);
    for (int i = 0; i < 4; i++)
        fuzz_require(rill__frame_writer_put(&w, types[i], b[i].data, b[i].len) == 0);
    for (int chunk = 0; chunk < 2; chunk++) {
        rill__buf in = {0};
        rill__buf_putc(&in, (char)255);              /* the largest limit */
        rill__buf_putc(&in, (char)(chunk ? 2 : 63)); /* pieces of 3 or 64 bytes */
        rill__buf_append(&in, w.q.data, w.q.len);
        fuzz_seed_file(dir, chunk ? "handshake-small-chunks" : "handshake", in.data, in.len);
        rill__buf_free(&in);
    }
    rill__frame_writer_close(&w);
    for (int i = 0; i < 4; i++)
        rill__buf_free(&b[i]);
    exit(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint16_t types[] = {RILL_FT_HELLO, RILL_FT_AUTH, RILL_FT_WELCOME, RILL_FT_REFUSE,
                                     RILL_FT_HEARTBEAT};
    if (size < 2)
        return 0;
    uint32_t max = 1u + (uint32_t)data[0] * 16; /* 1..4081 bytes: the limit is hit often */
    size_t chunk = 1 + data[1] % 64;
    data += 2, size -= 2;
    rill__frame_reader r;
    rill__frame_reader_init(&r, max, types, RILL_ARRAY_LEN(types));
    size_t off = 0;
    while (off < size) {
        size_t end = off + chunk < size ? off + chunk : size;
        size_t used;
        rill__frame f;
        int rc = rill__frame_reader_feed(&r, data + off, end - off, &used, &f);
        fuzz_require(used <= end - off);
        off += used;
        fuzz_require(r.payload_cap <= max);
        if (rc < 0) {
            fuzz_require(rc == RILL_EPROTO || rc == RILL_ELIMIT);
            fuzz_require(r.err.msg[0] != '\0');
            break;
        }
        if (rc == RILL_AGAIN) {
            fuzz_require(off == end);
            continue;
        }
        fuzz_require(rc == 0 && f.len <= max && f.flags == 0);
        fuzz_message(f.type, f.payload, f.len);
    }
    rill__frame_reader_close(&r);
    return 0;
}
