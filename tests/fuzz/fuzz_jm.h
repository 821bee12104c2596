/* fuzz_jm.h - shared by the libFuzzer targets of the REST API (fuzz_rest.c, fuzz_http.c): a
 * JobManager with no jobs (a savepoint never blocks), one job object stored at start, and a
 * runner that only checks what it is asked to run. */
#ifndef RILL_FUZZ_JM_H
#define RILL_FUZZ_JM_H

#include "cluster/cluster.h"
#include "fuzz_util.h"

static rill__jobmanager *fuzz_jm;
static rill__jar_store *fuzz_jars;
static char fuzz_jar_id[RILL_JAR_ID_MAX + 1];

static int fuzz_jm_run(void *arg, const rill__run_request *rq, uint64_t *job_id, rill__err *err)
{
    (void)arg, (void)err;
    fuzz_check(rq->jar_id && !strcmp(rq->jar_id, fuzz_jar_id), "run of another object");
    for (size_t i = 0; i < rq->n_opts; i++)
        fuzz_check(rq->opt_keys[i] && rq->opt_values[i], "an option without key or value");
    for (size_t i = 0; i < rq->n_args; i++)
        fuzz_check(rq->args[i] != NULL, "a NULL argument");
    *job_id = 42;
    return 0;
}

/* Stores the one job object (again, after a request deleted it). */
static void fuzz_jm_put_jar(void)
{
    rill__err err = {0};
    uint8_t elf[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
    elf[16] = 3; /* ET_DYN */
    fuzz_check(rill__jar_store_put(fuzz_jars, elf, sizeof elf, fuzz_jar_id, &err) == 0, err.msg);
}

static void fuzz_jm_setup(void)
{
    rill__err err = {0};
    fuzz_jm = rill__jm_new();
    char dir[256];
    snprintf(dir, sizeof dir, "%s/jars", fuzz_tmpdir());
    fuzz_check(rill__jar_store_open(dir, &fuzz_jars, &err) == 0, err.msg);
    fuzz_jm_put_jar();
    rill__jm_runner runner = {.jars = fuzz_jars, .run = fuzz_jm_run};
    rill__jm_set_runner(fuzz_jm, &runner);
}

/* After a request: the store holds the one job object again, and nothing else. */
static void fuzz_jm_reset_jars(void)
{
    rill__err err = {0};
    rill__jar_info *list = NULL;
    size_t n = 0;
    bool have = false;
    fuzz_check(rill__jar_store_list(fuzz_jars, &list, &n, &err) == 0, err.msg);
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(list[i].id, fuzz_jar_id))
            have = true;
        else
            fuzz_check(rill__jar_store_delete(fuzz_jars, list[i].id, &err) == 0, err.msg);
    }
    free(list);
    if (!have)
        fuzz_jm_put_jar();
}

#endif
