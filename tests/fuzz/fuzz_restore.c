/* fuzz_restore.c - libFuzzer target: the checkpoint and savepoint readers - the framed files
 * (src/state/checkpoint.c), a checkpoint's or savepoint's _metadata and its task files
 * (src/runtime/restore.c) - on arbitrary bytes, through the files a restore reads. The input
 * is parts split at "\n--\n": the _metadata payload, then the payloads of task files named
 * task-0, task-1, ... The first byte picks a savepoint directory or a checkpoint store, and
 * whether the parts are framed (with a right checksum, so the fuzzer gets past it) or written
 * as they are. A restore either loads, with every blob within its file, or fails with a
 * message; nothing leaks. */
#include <string.h>

#include "fuzz_util.h"
#include "runtime/runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PARTS 8

static rill__ckpt_store *store;
static char sp_dir[256], chk_dir[512];

static int touch_blob(void *arg, int subtask, int parallelism, bool finished, const void *data,
                      size_t len)
{
    uint32_t *crc = arg;
    fuzz_check(!finished || len == 0, "a finished task with state");
    *crc = rill__crc32c(*crc, data, len); /* ASan checks the blob lies within its file */
    return 0;
}

static void setup(void)
{
    rill__log_set_level(RILL_LOG_ERROR); /* a skipped corrupt checkpoint is a warning */
    rill__err err = {0};
    char base[256];
    snprintf(base, sizeof base, "%s/ckpt", fuzz_tmpdir());
    fuzz_check(rill__ckpt_store_open(base, "job", 1, &store, &err) == 0, err.msg);
    char *d = rill__ckpt_store_chk_dir(store, 1);
    snprintf(chk_dir, sizeof chk_dir, "%s", d);
    free(d);
    snprintf(sp_dir, sizeof sp_dir, "%s/savepoint", fuzz_tmpdir());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!store)
        setup();
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    bool savepoint = sel & 1, framed = !(sel & 2);
    const char *dir = savepoint ? sp_dir : chk_dir;
    fuzz_empty_dir(dir);

    const uint8_t *part[MAX_PARTS];
    size_t len[MAX_PARTS];
    size_t n = fuzz_split(data + 1, size - 1, part, len, MAX_PARTS);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        rill__ckpt_kind kind = RILL_CKPT_DATA;
        if (i == 0) {
            snprintf(name, sizeof name, "%s", RILL_CKPT_METADATA_NAME);
            kind = savepoint ? RILL_CKPT_SAVEPOINT_METADATA : RILL_CKPT_METADATA;
        } else {
            snprintf(name, sizeof name, "task-%zu", i - 1);
        }
        rill__buf b = {0};
        if (framed)
            rill__ckpt_frame(&b, kind, part[i], len[i]);
        else
            rill__buf_append(&b, part[i], len[i]);
        fuzz_write(dir, name, b.data, b.len);
        rill__buf_free(&b);
    }

    rill__err err = {0};
    rill__restore *rs = NULL;
    int rc;
    if (savepoint) {
        rc = rill__restore_load_dir(dir, &rs, &err);
    } else {
        int64_t id = 0;
        void *meta = NULL;
        size_t meta_len = 0;
        rc = rill__ckpt_latest(store, &id, &meta, &meta_len, &err);
        if (rc == 0) {
            fuzz_check(id == 1 && meta != NULL, "another checkpoint than the one written");
            rc = rill__restore_load(store, id, meta, meta_len, &rs, &err);
        } else {
            fuzz_check(meta == NULL, "metadata left on failure");
        }
        free(meta);
    }
    if (rc == 0) {
        fuzz_check(rs != NULL, "no restore");
        uint32_t crc = 0;
        const char *uid;
        for (size_t i = 0; i < 64 && (uid = rill__restore_uid(rs, i)) != NULL; i++) {
            fuzz_check(rill__restore_has(rs, uid), "a uid it does not have");
            fuzz_check(rill__restore_blobs(rs, uid, touch_blob, &crc) == 0, "a blob failed");
        }
        rill__restore_free(rs);
    } else {
        fuzz_check(rs == NULL, "a restore left on failure");
        fuzz_check(rc == RILL_ENOENT || err.msg[0] != '\0', "a failure without a message");
    }
    return 0;
}
