/* channel.c - runtime layer: parking a task thread, and the bounded SPSC rings between tasks. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime.h"

void rill__parker_init(rill__parker *p)
{
    pthread_mutex_init(&p->mu, NULL);
    rill__cond_init_monotonic(&p->cv);
    atomic_init(&p->sleeping, 0);
    p->permit = false;
    p->wake_fd = -1;
}

void rill__parker_destroy(rill__parker *p)
{
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
}

void rill__parker_prepare(rill__parker *p)
{
    atomic_store_explicit(&p->sleeping, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
}

void rill__parker_cancel(rill__parker *p)
{
    atomic_store_explicit(&p->sleeping, 0, memory_order_relaxed);
}

void rill__parker_park(rill__parker *p, int64_t timeout_ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + timeout_ns;
    ts.tv_sec += ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    pthread_mutex_lock(&p->mu);
    while (!p->permit) {
        if (pthread_cond_timedwait(&p->cv, &p->mu, &ts) != 0)
            break;
    }
    p->permit = false;
    pthread_mutex_unlock(&p->mu);
    atomic_store_explicit(&p->sleeping, 0, memory_order_relaxed);
}

void rill__parker_unpark(rill__parker *p)
{
    pthread_mutex_lock(&p->mu);
    p->permit = true;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (p->wake_fd >= 0) {
        uint64_t one = 1;
        ssize_t put = write(p->wake_fd, &one, sizeof one); /* EAGAIN: already signalled */
        (void)put;
    }
}

rill__channel *rill__channel_new(size_t capacity)
{
    RILL_ASSERT(capacity >= 2 && (capacity & (capacity - 1)) == 0);
    rill__channel *c = aligned_alloc(RILL_CACHELINE, sizeof *c);
    if (!c)
        rill__panic(__FILE__, __LINE__, "out of memory allocating a channel");
    memset(c, 0, sizeof *c);
    atomic_init(&c->head, 0);
    atomic_init(&c->tail, 0);
    c->mask = capacity - 1;
    c->slots = rill__xcalloc(capacity, sizeof *c->slots);
    return c;
}

void rill__channel_free(rill__channel *c)
{
    if (!c)
        return;
    /* both ends are gone: drain without waking anyone */
    size_t tail = atomic_load(&c->tail);
    for (size_t h = atomic_load(&c->head); h != tail; h++)
        if (c->slots[h & c->mask].kind == RILL_MSG_BATCH)
            rill__batch_unref(c->slots[h & c->mask].batch);
    free(c->slots);
    free(c);
}
