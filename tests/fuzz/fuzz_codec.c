/* fuzz_codec.c - libFuzzer target: the message decoders and the field codec on arbitrary
 * payloads. The first byte picks the message (or a generic field program); whatever decodes
 * must re-encode to the same bytes. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* With RILL_FUZZ_WRITE_SEEDS=DIR: writes the seed corpus (each handshake message behind its
 * selector byte, and a field program) to DIR and exits. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("RILL_FUZZ_WRITE_SEEDS");
    if (!dir)
        return 0;
    static const char *const names[] = {"hello", "auth", "refuse", "heartbeat"};
    rill__buf b[4];
    uint16_t types[4];
    fuzz_net_payloads(b, types);
    for (int i = 0; i < 4; i++) {
        rill__buf in = {0};
        rill__buf_putc(&in, (char)i);
        rill__buf_append(&in, b[i].data, b[i].len);
        fuzz_seed_file(dir, names[i], in.data, in.len);
        rill__buf_free(&in);
        rill__buf_free(&b[i]);
    }
    /* a field program: 16 op bytes (one of each kind, and more), then bytes for them to read */
    static const uint8_t fields[] = {
        200,  0,    1, 2, 3, 4, 5 + 7 * 5, 6, 0,   0,   0,   0, 0, 0, 0, 0,   0,  0x11,
        0x22, 0x22, 3, 0, 0, 0, 4,         0, 0,   0,   0,   0, 0, 0, 5, 0,   0,  0,
        0,    0,    0, 0, 3, 0, 0,         0, 'a', 'b', 'c', 2, 0, 0, 0, 'h', 'i'};
    fuzz_seed_file(dir, "fields", fields, sizeof fields);
    exit(0);
}

/* A field program: each op byte reads one field of a kind; the decoder must stay in bounds
 * and keep its first error. */
static void fuzz_fields(const uint8_t *ops, size_t n_ops, const uint8_t *p, size_t n)
{
    rill__dec d;
    rill__dec_init(&d, p, n);
    char s[40];
    const uint8_t *b;
    size_t nb;
    for (size_t i = 0; i < n_ops; i++) {
        int before = d.rc;
        switch (ops[i] % 7) {
        case 0:
            rill__dec_u8(&d, "u8");
            break;
        case 1:
            rill__dec_u16(&d, "u16");
            break;
        case 2:
            rill__dec_u32(&d, "u32");
            break;
        case 3:
            rill__dec_u64(&d, "u64");
            break;
        case 4:
            rill__dec_i64(&d, "i64");
            break;
        case 5:
            rill__dec_bytes(&d, "bytes", ops[i] / 7, &b, &nb);
            fuzz_require(d.rc || (nb <= (size_t)ops[i] / 7 && (nb == 0 || b >= p)));
            break;
        default:
            rill__dec_str(&d, "str", s, sizeof s);
            fuzz_require(strlen(s) < sizeof s);
            break;
        }
        fuzz_require(d.off <= d.len);
        fuzz_require(!before || d.rc == before); /* the first error is kept */
    }
    rill__err err = {0};
    rill__dec_finish(&d, "fuzz", &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    data++, size--;
    if (sel < 200) {
        static const uint16_t types[] = {RILL_FT_HELLO, RILL_FT_AUTH, RILL_FT_REFUSE,
                                         RILL_FT_HEARTBEAT};
        fuzz_message(types[sel % 4], data, size);
        return 0;
    }
    size_t n_ops = size < 16 ? size : 16;
    fuzz_fields(data, n_ops, data + n_ops, size - n_ops);
    return 0;
}
