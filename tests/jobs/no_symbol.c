/*
 * no_symbol.c - e2e test job object that exports a function under another name than
 * rill_job; `rill run` must refuse it with a message naming rill_job.
 */
#include "rill.h"

RILL_API int rill_job_main(rill_env *env, int argc, char **argv);

int rill_job_main(rill_env *env, int argc, char **argv)
{
    return rill_env_execute(env);
}
