/*
 * timers.c - time layer: the timer service. Per domain a binary min-heap on (ts, registration
 * order); one chained hash set over both domains for deduplication and deletion; per key group
 * an intrusive list for snapshots. Each timer is one allocation holding its key and namespace.
 *
 * While a snapshot view is being read on another thread, the key-group lists stay as they were
 * when it began: a new timer goes into the heap and the set but joins its list later, and a
 * removed one leaves the heap and the set but stays listed (and allocated) until the view has
 * ended. The owner applies both then.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "time/time.h"

#define N_DOMAINS   2
#define MIN_BUCKETS 64

typedef struct trec trec;
struct trec {
    int64_t ts;
    uint64_t hash;       /* of (domain, key, namespace, ts): the dedup set's */
    uint64_t key_hash;   /* rill__state_key.hash, handed back out */
    trec *hnext;         /* dedup chain */
    trec *kprev, *knext; /* timers of the same key group */
    size_t heap_pos;
    size_t key_len, ns_len;
    int kg;
    rill_time_domain domain;
    bool linked; /* in its key group's list */
    bool dead;   /* removed while a view was live: waits in the list for it to end */
    unsigned char bytes[]; /* key bytes, then namespace bytes */
};

/* A snapshot view: the key-group lists as they were at its begin. */
struct rill__timers_snap {
    rill__timer_service *s;
    atomic_bool ended;
    atomic_int refs; /* the owner's (until it applies what waited) and the reader's */
};

/* Heap entries carry the ordering fields, so sifting compares without touching the records. */
typedef struct hent {
    int64_t ts;
    uint64_t seq; /* registration order: breaks ties between equal ts */
    trec *r;
} hent;

typedef struct theap {
    hent *a;
    size_t n, cap;
} theap;

struct rill__timer_service {
    int kg_first, kg_last;
    trec **kg_head; /* indexed by kg - kg_first */
    theap heap[N_DOMAINS];
    trec **buckets;
    size_t n_buckets; /* a power of two */
    size_t n_entries;
    uint64_t seq;
    /* The last popped timer: its bytes back the caller's rill__timer until the next pop (or
     * free), so an on_timer callback may register and delete timers with the key it got. */
    trec *popped;
    rill__timers_snap *snap; /* a view being read: the lists must not change */
    trec *later_link;        /* new while the view was live (chained by knext) */
    trec *later_free;        /* removed while it was live and still listed (chained by hnext) */
};

/* ---- heap ---------------------------------------------------------------------------------- */

static inline bool earlier(const hent *a, const hent *b)
{
    return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
}

static inline void heap_set(theap *h, size_t i, hent e)
{
    h->a[i] = e;
    e.r->heap_pos = i;
}

static void sift_up(theap *h, size_t i)
{
    hent e = h->a[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!earlier(&e, &h->a[p]))
            break;
        heap_set(h, i, h->a[p]);
        i = p;
    }
    heap_set(h, i, e);
}

static void sift_down(theap *h, size_t i)
{
    hent e = h->a[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && earlier(&h->a[c + 1], &h->a[c]))
            c++;
        if (!earlier(&h->a[c], &e))
            break;
        heap_set(h, i, h->a[c]);
        i = c;
    }
    heap_set(h, i, e);
}

static void heap_push(theap *h, trec *r, uint64_t seq)
{
    rill__grow((void **)&h->a, &h->cap, h->n + 1, sizeof *h->a);
    h->a[h->n] = (hent){.ts = r->ts, .seq = seq, .r = r};
    r->heap_pos = h->n++;
    sift_up(h, r->heap_pos);
}

static void heap_remove(theap *h, trec *r)
{
    size_t i = r->heap_pos;
    RILL_DASSERT(i < h->n && h->a[i].r == r);
    hent last = h->a[--h->n];
    if (i == h->n)
        return;
    heap_set(h, i, last);
    if (i > 0 && earlier(&last, &h->a[(i - 1) / 2]))
        sift_up(h, i);
    else
        sift_down(h, i);
}

/* ---- dedup set and key-group lists --------------------------------------------------------- */

static uint64_t timer_hash(rill_time_domain d, const rill__state_key *k, int64_t ts)
{
    uint64_t seed = rill__mix64(k->hash + rill__mix64((uint64_t)ts) + (uint64_t)d);
    return k->ns_len ? rill__hash_bytes(k->ns, k->ns_len, seed) : seed;
}

static bool same(const trec *r, uint64_t h, rill_time_domain d, const rill__state_key *k,
                 int64_t ts)
{
    /* memcmp is only called with lengths > 0: its pointers must not be NULL otherwise. */
    return r->hash == h && r->ts == ts && r->domain == d && r->key_len == k->key_len &&
           r->ns_len == k->ns_len && (!k->key_len || !memcmp(r->bytes, k->key, k->key_len)) &&
           (!k->ns_len || !memcmp(r->bytes + r->key_len, k->ns, k->ns_len));
}

/* The link that points at the timer (or the chain's NULL end when it is not there). */
static trec **find(rill__timer_service *s, uint64_t h, rill_time_domain d, const rill__state_key *k,
                   int64_t ts)
{
    trec **pp = &s->buckets[h & (s->n_buckets - 1)];
    while (*pp && !same(*pp, h, d, k, ts))
        pp = &(*pp)->hnext;
    return pp;
}

static void rehash(rill__timer_service *s, size_t n_buckets)
{
    trec **nb = rill__xcalloc(n_buckets, sizeof *nb);
    for (size_t i = 0; i < s->n_buckets; i++) {
        trec *r = s->buckets[i];
        while (r) {
            trec *next = r->hnext;
            trec **head = &nb[r->hash & (n_buckets - 1)];
            r->hnext = *head;
            *head = r;
            r = next;
        }
    }
    free(s->buckets);
    s->buckets = nb;
    s->n_buckets = n_buckets;
}

static void set_unlink(rill__timer_service *s, trec *r)
{
    trec **pp = &s->buckets[r->hash & (s->n_buckets - 1)];
    while (*pp != r)
        pp = &(*pp)->hnext;
    *pp = r->hnext;
    s->n_entries--;
}

static void kg_unlink(rill__timer_service *s, trec *r)
{
    if (r->kprev)
        r->kprev->knext = r->knext;
    else
        s->kg_head[r->kg - s->kg_first] = r->knext;
    if (r->knext)
        r->knext->kprev = r->kprev;
    r->linked = false;
}

static void kg_link(rill__timer_service *s, trec *r)
{
    trec **head = &s->kg_head[r->kg - s->kg_first];
    r->kprev = NULL;
    r->knext = *head;
    if (*head)
        (*head)->kprev = r;
    *head = r;
    r->linked = true;
}

/* ---- snapshot views ------------------------------------------------------------------------ */

static void view_unref(rill__timers_snap *v)
{
    if (atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1)
        free(v);
}

/* Owner: once the view has ended (or waiting for it with wait), the lists catch up with what
 * happened meanwhile. */
static void view_settle(rill__timer_service *s, bool wait)
{
    rill__timers_snap *v = s->snap;
    if (!v)
        return;
    while (!atomic_load_explicit(&v->ended, memory_order_acquire)) {
        if (!wait)
            return;
        sched_yield();
    }
    for (trec *r = s->later_link, *next; r; r = next) {
        next = r->knext;
        if (!r->dead)
            kg_link(s, r);
    }
    for (trec *r = s->later_free, *next; r; r = next) {
        next = r->hnext;
        if (r->linked)
            kg_unlink(s, r);
        free(r);
    }
    if (s->popped && s->popped->linked)
        kg_unlink(s, s->popped); /* still backs the caller's timer: freed at the next pop */
    s->later_link = s->later_free = NULL;
    s->snap = NULL;
    view_unref(v);
}

static inline void view_check(rill__timer_service *s)
{
    if (RILL_UNLIKELY(s->snap != NULL))
        view_settle(s, false);
}

/* r has left the heap and the set (and is not the popped one): gone now, or once the view
 * has ended. */
static void retire(rill__timer_service *s, trec *r)
{
    if (s->snap) {
        r->dead = true;
        r->hnext = s->later_free;
        s->later_free = r;
        return;
    }
    if (r->linked)
        kg_unlink(s, r);
    free(r);
}

static void fill(const trec *r, rill__timer *out)
{
    out->ts = r->ts;
    out->key = (rill__state_key){.key = r->bytes,
                                 .key_len = r->key_len,
                                 .hash = r->key_hash,
                                 .kg = r->kg,
                                 .ns = r->ns_len ? r->bytes + r->key_len : NULL,
                                 .ns_len = r->ns_len};
}

/* ---- the service --------------------------------------------------------------------------- */

rill__timer_service *rill__timers_new(int kg_first, int kg_last)
{
    RILL_ASSERT(kg_first >= 0 && kg_last >= kg_first);
    rill__timer_service *s = rill__xcalloc(1, sizeof *s);
    s->kg_first = kg_first;
    s->kg_last = kg_last;
    s->kg_head = rill__xcalloc((size_t)(kg_last - kg_first) + 1, sizeof *s->kg_head);
    s->n_buckets = MIN_BUCKETS;
    s->buckets = rill__xcalloc(s->n_buckets, sizeof *s->buckets);
    return s;
}

void rill__timers_free(rill__timer_service *s)
{
    if (!s)
        return;
    view_settle(s, true); /* the reader must be done with the lists first */
    for (int d = 0; d < N_DOMAINS; d++) {
        for (size_t i = 0; i < s->heap[d].n; i++)
            free(s->heap[d].a[i].r);
        free(s->heap[d].a);
    }
    free(s->popped);
    free(s->buckets);
    free(s->kg_head);
    free(s);
}

int rill__timers_register(rill__timer_service *s, rill_time_domain d, const rill__state_key *k,
                          int64_t ts)
{
    RILL_ASSERT((unsigned)d < N_DOMAINS);
    if (k->kg < s->kg_first || k->kg > s->kg_last)
        return RILL_ESTATE;
    view_check(s);
    uint64_t h = timer_hash(d, k, ts);
    trec **pp = find(s, h, d, k, ts);
    if (*pp)
        return 0; /* registered already */

    trec *r = rill__xmalloc(sizeof *r + k->key_len + k->ns_len);
    r->ts = ts;
    r->hash = h;
    r->key_hash = k->hash;
    r->key_len = k->key_len;
    r->ns_len = k->ns_len;
    r->kg = k->kg;
    r->domain = d;
    r->dead = false;
    if (k->key_len)
        memcpy(r->bytes, k->key, k->key_len);
    if (k->ns_len)
        memcpy(r->bytes + k->key_len, k->ns, k->ns_len);

    r->hnext = NULL;
    *pp = r; /* the chain's end */
    s->n_entries++;
    if (s->snap) { /* joins its list once the view has ended */
        r->linked = false;
        r->knext = s->later_link;
        s->later_link = r;
    } else {
        kg_link(s, r);
    }
    heap_push(&s->heap[d], r, s->seq++);

    if (s->n_entries > s->n_buckets)
        rehash(s, s->n_buckets * 2);
    return 0;
}

int rill__timers_delete(rill__timer_service *s, rill_time_domain d, const rill__state_key *k,
                        int64_t ts)
{
    RILL_ASSERT((unsigned)d < N_DOMAINS);
    if (k->kg < s->kg_first || k->kg > s->kg_last)
        return RILL_ESTATE;
    view_check(s);
    trec **pp = find(s, timer_hash(d, k, ts), d, k, ts);
    trec *r = *pp;
    if (!r)
        return 0;
    *pp = r->hnext;
    s->n_entries--;
    heap_remove(&s->heap[d], r);
    retire(s, r);
    return 0;
}

int rill__timers_pop(rill__timer_service *s, rill_time_domain d, int64_t limit, rill__timer *out)
{
    RILL_ASSERT((unsigned)d < N_DOMAINS);
    view_check(s);
    if (s->popped)
        retire(s, s->popped);
    s->popped = NULL;
    theap *h = &s->heap[d];
    if (!h->n || h->a[0].ts > limit)
        return 0;
    trec *r = h->a[0].r;
    heap_remove(h, r);
    set_unlink(s, r);
    if (s->snap)
        r->dead = true; /* listed until the view has ended */
    else
        kg_unlink(s, r);
    s->popped = r;
    fill(r, out);
    return 1;
}

int64_t rill__timers_next(const rill__timer_service *s, rill_time_domain d)
{
    RILL_ASSERT((unsigned)d < N_DOMAINS);
    return s->heap[d].n ? s->heap[d].a[0].ts : RILL_TS_MAX;
}

int64_t rill__timers_count(const rill__timer_service *s, rill_time_domain d)
{
    RILL_ASSERT((unsigned)d < N_DOMAINS);
    return (int64_t)s->heap[d].n;
}

/* fn must not register, delete or pop: the service must not change during the iteration. */
int rill__timers_iterate_kg(rill__timer_service *s, int kg,
                            int (*fn)(void *arg, rill_time_domain d, const rill__timer *t),
                            void *arg)
{
    if (kg < s->kg_first || kg > s->kg_last)
        return RILL_ESTATE;
    view_settle(s, true);
    for (trec *r = s->kg_head[kg - s->kg_first]; r;) {
        trec *next = r->knext;
        rill__timer t;
        fill(r, &t);
        int rc = fn(arg, r->domain, &t);
        if (rc)
            return rc;
        r = next;
    }
    return 0;
}

int rill__timers_snap_begin(rill__timer_service *s, rill__timers_snap **out)
{
    view_settle(s, true); /* one view at a time: the previous one's reader finishes first */
    rill__timers_snap *v = rill__xcalloc(1, sizeof *v);
    v->s = s;
    atomic_init(&v->ended, false);
    atomic_init(&v->refs, 2);
    s->snap = v;
    *out = v;
    return 0;
}

int rill__timers_snap_iterate_kg(rill__timers_snap *v, int kg,
                                 int (*fn)(void *arg, rill_time_domain d, const rill__timer *t),
                                 void *arg)
{
    const rill__timer_service *s = v->s;
    if (kg < s->kg_first || kg > s->kg_last)
        return RILL_ESTATE;
    for (const trec *r = s->kg_head[kg - s->kg_first]; r; r = r->knext) {
        rill__timer t;
        fill(r, &t);
        int rc = fn(arg, r->domain, &t);
        if (rc)
            return rc;
    }
    return 0;
}

void rill__timers_snap_end(rill__timers_snap *v)
{
    atomic_store_explicit(&v->ended, true, memory_order_release);
    view_unref(v);
}
