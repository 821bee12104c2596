/* fuzz_conn.c - libFuzzer target: the connectors' checkpointed state on arbitrary bytes - the
 * file source's and the generator's positions (src/connectors/file_source.c, generator.c:
 * seek, and seek_rescaled from the positions of old subtasks at another parallelism) and the
 * exactly-once file sink's state (src/connectors/eo_file_sink.c: restore). The first byte picks
 * the connector and the new reader's subtask and parallelism; the rest is parts split at
 * "\n--\n", one per old subtask, each starting with a byte of its subtask, parallelism and
 * whether it had finished. A source that takes the positions is then read to its end (it must
 * end); one that refuses them says why (the file source) or returns its code. With
 * RILL_FUZZ_WRITE_SEEDS=DIR it writes its seed corpus (real positions and states) to DIR and
 * exits. */
#include <errno.h>
#include <string.h>

#include "connectors/connectors.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_PARTS 8

static rill_schema *csv_schema, *gen_schema;
static void *file_cfg, *gen_cfg, *sink_cfg;
static char sink_dir[256];

static void setup(void)
{
    rill__log_set_level(RILL_LOG_ERROR);
    const char *tmp = fuzz_tmpdir();
    /* a position names its splits by path: the input's path is the same in every run, so the
     * positions in the corpus name its files (the same files, rewritten, by every run) */
    const char *dir = "/tmp/rill-fuzz-conn-input";
    fuzz_check(mkdir(dir, 0700) == 0 || errno == EEXIST, "mkdir input");
    /* three small files: plain lines, a quoted field over two lines, no final newline */
    static const char *const files[] = {
        "id,name\n1,a\n2,b\n3,c\n4,d\n5,e\n",
        "id,name\n6,\"two\nlines\"\n7,\"x\"\"y\"\n8,h\n",
        "id,name\n9,i\n10,j",
    };
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "part-%d.csv", i);
        fuzz_write(dir, name, files[i], strlen(files[i]));
    }
    fuzz_check(rill_schema_parse("id INT64 NOT NULL, name STRING", &csv_schema) == 0, "schema");
    file_cfg = rill__file_source_cfg(dir, NULL);

    fuzz_check(rill_schema_parse("id INT64 NOT NULL", &gen_schema) == 0, "schema");
    rill_gen_field f = {.name = "id", .kind = RILL_GEN_SEQUENCE, .a = 0, .b = 1};
    rill_gen_opts o = {.seed = 1, .events = 200, .fields = &f, .n_fields = 1};
    gen_cfg = rill__generator_cfg(&o);

    snprintf(sink_dir, sizeof sink_dir, "%s/out", tmp);
    fuzz_check(mkdir(sink_dir, 0700) == 0, "mkdir out");
    sink_cfg = rill__exactly_once_file_sink_cfg(sink_dir, NULL);
}

/* Reads src to its end: it must get there. */
static void drain(const rill__source_ops *ops, rill__source *src, const rill_schema *schema,
                  rill__err *err)
{
    rill_batch *b = rill__batch_new(schema, 16);
    int rc = 0;
    for (int polls = 0; rc == 0; polls++) {
        fuzz_check(polls < 1000, "a restored source does not end");
        rill__batch_clear(b);
        int64_t wait = -1;
        rc = ops->poll(src, b, &wait);
        fuzz_check(b->n_rows <= 16, "a batch over its capacity");
    }
    fuzz_check(rc == RILL_DONE || (rc < 0 && err->msg[0]), "a read failed without a message");
    rill__batch_unref(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!file_cfg)
        setup();
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    int par = 1 + ((sel >> 3) & 3), subtask = ((sel >> 5) & 7) % par;
    const uint8_t *part[MAX_PARTS];
    size_t len[MAX_PARTS];
    size_t n = fuzz_split(data + 1, size - 1, part, len, MAX_PARTS);
    rill__source_pos pos[MAX_PARTS];
    for (size_t i = 0; i < n; i++) {
        uint8_t h = len[i] ? part[i][0] : 0;
        pos[i] = (rill__source_pos){.subtask = h & 7,
                                    .parallelism = 1 + ((h >> 3) & 7),
                                    .finished = (h >> 6) & 1,
                                    .data = len[i] ? part[i] + 1 : part[i],
                                    .len = len[i] ? len[i] - 1 : 0};
        /* each position in a buffer of exactly its size: ASan sees any read past it */
        void *copy = malloc(pos[i].len ? pos[i].len : 1);
        memcpy(copy, pos[i].data, pos[i].len);
        pos[i].data = copy;
    }
    rill__err err = {0};
    rill__conn_init init = {.uid = "fuzz",
                            .subtask = subtask,
                            .parallelism = par,
                            .batch_size = 16,
                            .err = &err,
                            .restoring = true};
    int what = sel & 7;
    if (what < 4) { /* file source, generator: seek (one position) or seek_rescaled */
        bool file = what < 2, rescaled = what & 1;
        const rill__source_ops *ops = file ? &rill__file_source_ops : &rill__generator_source_ops;
        const rill_schema *schema = file ? csv_schema : gen_schema;
        rill__source *src = NULL;
        fuzz_check(ops->create(file ? file_cfg : gen_cfg, schema, &init, &src) == 0, err.msg);
        int rc = rescaled ? ops->seek_rescaled(src, pos, (int)n)
                          : ops->seek(src, pos[0].data, pos[0].len);
        if (rc == 0)
            drain(ops, src, schema, &err);
        else if (file)
            fuzz_check(err.msg[0] != '\0', "a refused position without a message");
        ops->destroy(src);
    } else { /* the exactly-once sink, restored from every old subtask's state */
        fuzz_empty_dir(sink_dir);
        rill__sink *sink = NULL;
        const rill__sink_ops *ops = &rill__exactly_once_file_sink_ops;
        fuzz_check(ops->create(sink_cfg, csv_schema, &init, &sink) == 0, err.msg);
        int rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = ops->restore(sink, pos[i].subtask, pos[i].parallelism, pos[i].data, pos[i].len);
        fuzz_check(rc == 0 || err.msg[0] != '\0', "a refused state without a message");
        ops->destroy(sink);
    }
    for (size_t i = 0; i < n; i++)
        free((void *)pos[i].data);
    return 0;
}

/* ---- the seed corpus: what the connectors themselves write ---------------------------------- */

/* The position of subtask st of par of a source after `polls` batches of 4 rows. */
static void position_after(const rill__source_ops *ops, void *cfg, const rill_schema *schema,
                           int st, int par, int polls, rill__buf *out)
{
    rill__err err = {0};
    rill__conn_init init = {
        .uid = "fuzz", .subtask = st, .parallelism = par, .batch_size = 4, .err = &err};
    rill__source *src = NULL;
    fuzz_check(ops->create(cfg, schema, &init, &src) == 0, err.msg);
    rill_batch *b = rill__batch_new(schema, 4);
    for (int i = 0; i < polls; i++) {
        rill__batch_clear(b);
        int64_t wait;
        if (ops->poll(src, b, &wait) != 0)
            break;
    }
    fuzz_check(ops->position(src, out) == 0, "position");
    rill__batch_unref(b);
    ops->destroy(src);
}

/* One input: sel, then one part per old subtask (its header byte and position). */
static void seed_of(const char *dir, const char *name, uint8_t sel, int old_par, int polls,
                    const rill__source_ops *ops, void *cfg, const rill_schema *schema)
{
    rill__buf in = {0};
    rill__buf_putc(&in, (char)sel);
    for (int st = 0; st < old_par; st++) {
        if (st)
            rill__buf_append(&in, FUZZ_SEP, 4);
        rill__buf_putc(&in, (char)(st | (old_par - 1) << 3));
        if (ops) {
            position_after(ops, cfg, schema, st, old_par, polls + st, &in);
        } else { /* the sink's state after a pre-commit of rows */
            rill__err err = {0};
            rill__conn_init init = {
                .uid = "fuzz", .subtask = st, .parallelism = old_par, .batch_size = 4, .err = &err};
            rill__sink *sink = NULL;
            const rill__sink_ops *so = &rill__exactly_once_file_sink_ops;
            fuzz_check(so->create(sink_cfg, csv_schema, &init, &sink) == 0, err.msg);
            rill_batch *b = rill__batch_new(csv_schema, 4);
            rill_row r = rill__batch_append(b);
            rill_row_set_i64(&r, 0, 7);
            fuzz_check(so->write(sink, b) == 0, err.msg);
            fuzz_check(so->pre_commit(sink, 1, &in) == 0, err.msg);
            rill__batch_unref(b);
            so->destroy(sink);
        }
    }
    fuzz_write(dir, name, in.data, in.len);
    rill__buf_free(&in);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("RILL_FUZZ_WRITE_SEEDS");
    if (!dir)
        return 0;
    setup();
    const rill__source_ops *fs = &rill__file_source_ops, *gs = &rill__generator_source_ops;
    /* sel: bits 0-2 what (0 file seek, 1 file rescaled, 2 generator seek, 3 generator
     * rescaled, 4 sink), bits 3-4 the new parallelism - 1, bits 5-7 the new subtask */
    seed_of(dir, "file-seek", 0x00, 1, 1, fs, file_cfg, csv_schema);
    seed_of(dir, "file-seek-done", 0x00, 1, 10, fs, file_cfg, csv_schema);
    seed_of(dir, "file-rescale-2-to-1", 0x01, 2, 1, fs, file_cfg, csv_schema);
    seed_of(dir, "file-rescale-3-to-2", 0x09 | 0x20, 3, 1, fs, file_cfg, csv_schema);
    seed_of(dir, "gen-seek", 0x02, 1, 3, gs, gen_cfg, gen_schema);
    seed_of(dir, "gen-rescale-2-to-3", 0x13, 2, 2, gs, gen_cfg, gen_schema);
    seed_of(dir, "gen-rescale-4-to-1", 0x03, 4, 5, gs, gen_cfg, gen_schema);
    fuzz_empty_dir(sink_dir);
    seed_of(dir, "sink-restore-1", 0x04, 1, 0, NULL, NULL, NULL);
    fuzz_empty_dir(sink_dir);
    seed_of(dir, "sink-restore-2-to-1", 0x04, 2, 0, NULL, NULL, NULL);
    exit(0);
}
