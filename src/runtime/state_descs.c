/* state_descs.c - runtime layer: the keyed state descriptors (value, list, map, reducing,
 * aggregating) a job registers in its env; the env owns and frees them. */
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

/* A new descriptor of kind k, registered in env with the next dense id. */
static rill_state_desc *desc_new(rill_env *env, const char *name, const char *dflt,
                                 rill__state_kind k, size_t value_size)
{
    rill_state_desc *d = rill__xcalloc(1, sizeof *d);
    d->id = (int)env->n_descs;
    d->name = rill__xstrdup(name && *name ? name : dflt);
    d->kind = k;
    d->value_size = value_size;
    rill__grow((void **)&env->descs, &env->cap_descs, env->n_descs + 1, sizeof *env->descs);
    env->descs[env->n_descs++] = d;
    return d;
}

rill_state_desc *rill_value_state(rill_env *env, const char *name, size_t value_size)
{
    if (!env)
        return NULL;
    return desc_new(env, name, "value", RILL_STATE_VALUE, value_size);
}

rill_state_desc *rill_list_state(rill_env *env, const char *name, size_t element_size)
{
    if (!env)
        return NULL;
    if (element_size > UINT32_MAX) {
        rill__err_first(&env->err, RILL_ELIMIT, "list state '%s': elements of %zu bytes",
                        name ? name : "list", element_size);
        return NULL;
    }
    return desc_new(env, name, "list", RILL_STATE_LIST, element_size);
}

rill_state_desc *rill_map_state(rill_env *env, const char *name)
{
    if (!env)
        return NULL;
    return desc_new(env, name, "map", RILL_STATE_MAP, 0);
}

rill_state_desc *rill_reducing_state(rill_env *env, const char *name, size_t value_size,
                                     rill_reduce_fn reduce, void *user)
{
    if (!env)
        return NULL;
    if (!value_size || !reduce) {
        rill__err_first(&env->err, RILL_EINVAL,
                        "reducing state '%s': needs a value size and a reduce function",
                        name ? name : "reducing");
        return NULL;
    }
    rill_state_desc *d = desc_new(env, name, "reducing", RILL_STATE_REDUCING, value_size);
    d->reduce = reduce;
    d->reduce_user = user;
    return d;
}

rill_state_desc *rill_aggregating_state(rill_env *env, const char *name, const rill_aggregate *agg)
{
    if (!env)
        return NULL;
    if (!agg || !agg->acc_size || !agg->add) {
        rill__err_first(&env->err, RILL_EINVAL,
                        "aggregating state '%s': needs an accumulator size and an add function",
                        name ? name : "aggregating");
        return NULL;
    }
    rill_state_desc *d = desc_new(env, name, "aggregating", RILL_STATE_AGGREGATING, agg->acc_size);
    d->agg = *agg;
    return d;
}
