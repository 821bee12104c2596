/* fuzz_cluster_args.c - libFuzzer target: the arguments of `rill jobmanager` and `rill
 * taskmanager` (src/cli/cluster_args.c), parsed and checked without starting anything: no
 * server starts, no secret file is read. The input is the arguments separated by NUL bytes, the
 * command first (or picked by the first byte's low bit when it is neither). Every parse ends in
 * a go-ahead whose values are in range, or a usage status. */
#include <string.h>

#include "cli/client.h"
#include "cluster/cluster.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

static void check_common(const rill__cluster_args *o)
{
    size_t n = strlen(o->cluster_id);
    FUZZ_REQUIRE(n >= 1 && n <= RILL_CLUSTER_ID_MAX);
    FUZZ_REQUIRE(o->hb_interval >= 1 && o->hb_interval < o->hb_timeout);
    FUZZ_REQUIRE(o->hb_timeout <= 3600000);
}

static void fuzz_jobmanager(int argc, char **argv)
{
    rill__jm_args a;
    int status = rill__cli_jobmanager_parse(argc, argv, &a);
    FUZZ_REQUIRE(status == 0 || status == 2);
    if (status || a.help)
        return;
    check_common(&a.common);
    FUZZ_REQUIRE(a.port >= 0 && a.port <= 65535);
    FUZZ_REQUIRE(a.rest_port >= 0 && a.rest_port <= 65535);
    FUZZ_REQUIRE(a.rest_bind != NULL);
}

static void fuzz_taskmanager(int argc, char **argv)
{
    rill__tm_args a;
    int status = rill__cli_taskmanager_parse(argc, argv, &a);
    FUZZ_REQUIRE(status == 0 || status == 2);
    if (status || a.help)
        return;
    check_common(&a.common);
    FUZZ_REQUIRE(a.jm_addr != NULL);
    size_t n = strlen(a.jm_host);
    FUZZ_REQUIRE(n >= 1 && n <= RILL_HOST_MAX);
    FUZZ_REQUIRE(strstr(a.jm_addr, a.jm_host) != NULL);
    FUZZ_REQUIRE(a.jm_port >= 1 && a.jm_port <= 65535);
    FUZZ_REQUIRE(a.slots >= 1 && a.slots <= RILL_TM_SLOTS_MAX);
    FUZZ_REQUIRE(a.data_port >= 0 && a.data_port <= 65535);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *buf, *argv[MAX_ARGS];
    int argc = fuzz_args(data, size, argv, MAX_ARGS, &buf);
    bool tm =
        !strcmp(argv[0], "taskmanager") || (strcmp(argv[0], "jobmanager") != 0 && (argv[0][0] & 1));
    if (tm)
        fuzz_taskmanager(argc - 1, argv + 1);
    else
        fuzz_jobmanager(argc - 1, argv + 1);
    free(buf);
    return 0;
}
