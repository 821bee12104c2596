/* fault.c - base layer: fault injection points for tests (compiled in test builds only). */
#include "base.h"

#ifdef RILL_FAULT_INJECTION
static struct {
    atomic_long calls;
    atomic_long nth;
    atomic_bool sticky;
} points[RILL_FAULT_N_POINTS];

bool rill__fault(rill__fault_point point)
{
    long nth = atomic_load(&points[point].nth);
    long n = atomic_fetch_add(&points[point].calls, 1) + 1;
    if (nth <= 0)
        return false;
    return n == nth || (n > nth && atomic_load(&points[point].sticky));
}

long rill__fault_arm(rill__fault_point point, long nth, bool sticky)
{
    long seen = atomic_exchange(&points[point].calls, 0);
    atomic_store(&points[point].sticky, sticky);
    atomic_store(&points[point].nth, nth);
    return seen;
}
#else
typedef int rill__fault_unused; /* ISO C forbids an empty translation unit */
#endif
