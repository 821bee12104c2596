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
    bool stored; /* timers kept in a backend: this one is there (not only in memory) */
    unsigned char bytes[]; /* key bytes, then namespace bytes */
};

/* A snapshot view: the key-group lists as they were at its begin; or, for timers kept in a
 * backend, a view of the backend. */
struct rill__timers_snap {
    rill__timer_service *s;
    atomic_bool ended;
    atomic_int refs; /* the owner's (until it applies what waited) and the reader's */
    rill__state_backend *be; /* timers in a backend: its view, and the range */
    rill__state_snap *bview;
    int kg_first, kg_last;
};

/* Timers kept in a backend: what memory holds of one (domain, key group). */
typedef enum part_state {
    P_UNLOADED, /* nothing: the backend may hold any of its timers */
    P_PARTIAL,  /* every timer up to and including the horizon; the backend may hold more */
    P_COMPLETE  /* all of them */
} part_state;

typedef struct tpart {
    part_state state;
    size_t n;     /* in memory */
    bool queued;  /* in the service's list of parts to load */
    int64_t h_ts; /* P_PARTIAL: the horizon, the last timer memory holds (or held) */
    unsigned char *h_bytes; /* its key bytes, then namespace bytes */
    size_t h_key_len, h_ns_len, h_cap;
} tpart;

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
    /* Timers kept in a backend (NULL: in memory only, as above). Memory holds, per (domain,
     * key group), the earliest ones (a part: all of them up to its horizon), at most about
     * max_cached in all, in the structures above; the backend holds the others, and those of
     * memory's that are `stored` (read from it, or flushed). A part whose memory has run dry
     * while the backend may hold more waits in `load` to be read again (next and pop read
     * every waiting part of their domain first). */
    rill__state_backend *be;
    size_t max_cached;
    size_t chunk; /* timers read from the backend at a time per part */
    tpart *parts; /* [domain * n_kg + kg - kg_first] */
    int *load[N_DOMAINS];
    size_t n_load[N_DOMAINS];
    int64_t n_beyond[N_DOMAINS]; /* timers only in the backend (beyond the horizons) */
    int error;                   /* the backend's first failure (reported by pop and next) */
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

static void key_of(const trec *r, rill__state_key *k)
{
    *k = (rill__state_key){.key = r->bytes,
                           .key_len = r->key_len,
                           .hash = r->key_hash,
                           .kg = r->kg,
                           .ns = r->ns_len ? r->bytes + r->key_len : NULL,
                           .ns_len = r->ns_len};
}

static void fill(const trec *r, rill__timer *out)
{
    out->ts = r->ts;
    key_of(r, &out->key);
}

static inline size_t n_kg(const rill__timer_service *s)
{
    return (size_t)(s->kg_last - s->kg_first) + 1;
}

static inline tpart *part_of(rill__timer_service *s, rill_time_domain d, int kg)
{
    return &s->parts[(size_t)d * n_kg(s) + (size_t)(kg - s->kg_first)];
}

/* Adds timer (d, k, ts) of hash h to memory at *pp (find's result: not there). */
static trec *mem_add(rill__timer_service *s, rill_time_domain d, const rill__state_key *k,
                     int64_t ts, uint64_t h, trec **pp, bool stored)
{
    trec *r = rill__xmalloc(sizeof *r + k->key_len + k->ns_len);
    r->ts = ts;
    r->hash = h;
    r->key_hash = k->hash;
    r->key_len = k->key_len;
    r->ns_len = k->ns_len;
    r->kg = k->kg;
    r->domain = d;
    r->dead = false;
    r->stored = stored;
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
    if (s->parts)
        part_of(s, d, r->kg)->n++;
    if (s->n_entries > s->n_buckets)
        rehash(s, s->n_buckets * 2);
    return r;
}

static void queue_load(rill__timer_service *s, rill_time_domain d, int kg);

/* A timer of a backend's leaves memory: its part may have to be read again. */
static void part_left(rill__timer_service *s, const trec *r)
{
    if (!s->parts)
        return;
    tpart *p = part_of(s, r->domain, r->kg);
    if (--p->n == 0 && p->state != P_COMPLETE)
        queue_load(s, r->domain, r->kg);
}

/* Removes r (not the popped one) from memory: heap, set, then its list (or later). */
static void mem_remove(rill__timer_service *s, trec *r)
{
    heap_remove(&s->heap[r->domain], r);
    set_unlink(s, r);
    part_left(s, r);
    retire(s, r);
}

/* ---- timers kept in a backend -------------------------------------------------------------- */

static void horizon_set(tpart *p, int64_t ts, const rill__state_key *k)
{
    size_t n = k->key_len + k->ns_len;
    if (n > p->h_cap) {
        p->h_bytes = rill__xrealloc(p->h_bytes, n);
        p->h_cap = n;
    }
    if (k->key_len)
        memcpy(p->h_bytes, k->key, k->key_len);
    if (k->ns_len)
        memcpy(p->h_bytes + k->key_len, k->ns, k->ns_len);
    p->h_ts = ts;
    p->h_key_len = k->key_len;
    p->h_ns_len = k->ns_len;
    p->state = P_PARTIAL;
}

static rill__state_key horizon_key(const tpart *p, int kg)
{
    return (rill__state_key){.key = p->h_bytes,
                             .key_len = p->h_key_len,
                             .kg = kg,
                             .ns = p->h_ns_len ? p->h_bytes + p->h_key_len : NULL,
                             .ns_len = p->h_ns_len};
}

/* Memory holds (or must hold) timer (ts, k) of its part: it is not beyond the horizon. */
static bool in_memory_range(const tpart *p, int64_t ts, const rill__state_key *k)
{
    if (p->state == P_COMPLETE)
        return true;
    if (p->state == P_UNLOADED)
        return false;
    rill__state_key h = horizon_key(p, k->kg);
    return rill__timer_order(ts, k, p->h_ts, &h) <= 0;
}

static void queue_load(rill__timer_service *s, rill_time_domain d, int kg)
{
    tpart *p = part_of(s, d, kg);
    if (p->queued || p->state == P_COMPLETE)
        return;
    p->queued = true;
    s->load[d][s->n_load[d]++] = kg;
}

typedef struct loader {
    rill__timer_service *s;
    rill_time_domain d;
    size_t n;
    int64_t last_ts;
    trec *last;
} loader;

static int load_one(void *arg, int64_t ts, const rill__state_key *k)
{
    loader *l = arg;
    uint64_t h = timer_hash(l->d, k, ts);
    trec **pp = find(l->s, h, l->d, k, ts);
    l->last = *pp ? *pp : mem_add(l->s, l->d, k, ts, h, pp, true);
    l->last->stored = true; /* (it is there: popping it must delete it there) */
    l->last_ts = ts;
    l->n++;
    return 0;
}

/* Reads the next timers of a part whose memory ran dry from the backend. */
static int load_part(rill__timer_service *s, rill_time_domain d, int kg)
{
    tpart *p = part_of(s, d, kg);
    if (p->state == P_COMPLETE || (p->state == P_PARTIAL && p->n > 0))
        return 0;
    loader l = {.s = s, .d = d};
    rill__state_key h = horizon_key(p, kg);
    int rc = s->be->ops->timer_scan(s->be, NULL, (int)d, kg, p->h_ts,
                                    p->state == P_PARTIAL ? &h : NULL, s->chunk, load_one, &l);
    if (rc < 0)
        return rc;
    s->n_beyond[d] = RILL_MAX(s->n_beyond[d] - (int64_t)l.n, 0);
    if (l.n < s->chunk) {
        p->state = P_COMPLETE;
    } else {
        rill__state_key k;
        key_of(l.last, &k);
        horizon_set(p, l.last_ts, &k);
    }
    return 0;
}

/* A part memory knows nothing of yet (a new service: the backend may hold timers) is read
 * before a register or delete decides by its horizon. */
static int touch(rill__timer_service *s, rill_time_domain d, int kg)
{
    return part_of(s, d, kg)->state == P_UNLOADED ? load_part(s, d, kg) : 0;
}

/* Every part of domain d whose memory ran dry is read again: then memory's earliest timer
 * is the domain's. */
static int load_waiting(rill__timer_service *s, rill_time_domain d)
{
    while (s->n_load[d] > 0) {
        int kg = s->load[d][s->n_load[d] - 1];
        int rc = load_part(s, d, kg);
        if (rc < 0)
            return rc; /* still waits */
        s->n_load[d]--;
        part_of(s, d, kg)->queued = false;
    }
    return 0;
}

static int cmp_trec(const void *a, const void *b)
{
    const trec *x = *(trec *const *)a, *y = *(trec *const *)b;
    rill__state_key kx, ky;
    key_of(x, &kx);
    key_of(y, &ky);
    return rill__timer_order(x->ts, &kx, y->ts, &ky);
}

/* Puts r into the backend, if only memory had it. */
static int store(rill__timer_service *s, trec *r)
{
    if (r->stored)
        return 0;
    rill__state_key k;
    key_of(r, &k);
    int rc = s->be->ops->timer_put(s->be, (int)r->domain, &k, r->ts);
    r->stored = rc == 0;
    return rc;
}

/* Memory holds more than max_cached: the later half of the largest part leaves it (for the
 * backend), and the part's horizon moves before them. */
static int evict(rill__timer_service *s)
{
    size_t best = 0, n_parts = N_DOMAINS * n_kg(s);
    for (size_t i = 1; i < n_parts; i++)
        if (s->parts[i].n > s->parts[best].n)
            best = i;
    tpart *p = &s->parts[best];
    if (p->n < 2)
        return 0;
    rill_time_domain d = (rill_time_domain)(best / n_kg(s));
    int kg = (int)(best % n_kg(s)) + s->kg_first;
    trec **all = rill__xmalloc(p->n * sizeof *all);
    size_t n = 0;
    for (trec *r = s->kg_head[kg - s->kg_first]; r; r = r->knext)
        if (r->domain == d && !r->dead && n < p->n)
            all[n++] = r;
    RILL_DASSERT(n == p->n);
    qsort(all, n, sizeof *all, cmp_trec);
    size_t keep = n / 2;
    int rc = 0;
    for (size_t i = keep; i < n && rc == 0; i++) /* the backend gets those only memory had */
        rc = store(s, all[i]);
    if (rc == 0) {
        rill__state_key k;
        key_of(all[keep - 1], &k);
        horizon_set(p, all[keep - 1]->ts, &k);
        for (size_t i = keep; i < n; i++)
            mem_remove(s, all[i]);
        s->n_beyond[d] += (int64_t)(n - keep);
    }
    free(all);
    return rc;
}

rill__timer_service *rill__timers_new_backed(int kg_first, int kg_last, rill__state_backend *be,
                                             size_t max_cached)
{
    rill__timer_service *s = rill__timers_new(kg_first, kg_last);
    if (!be || !be->ops->timer_put)
        return s;
    s->be = be;
    s->max_cached = RILL_MAX(max_cached, (size_t)64);
    /* every part may be read at once (after a restore): that must stay near max_cached */
    s->chunk = RILL_MAX(s->max_cached / (N_DOMAINS * n_kg(s)), (size_t)16);
    s->parts = rill__xcalloc(N_DOMAINS * n_kg(s), sizeof *s->parts);
    for (int d = 0; d < N_DOMAINS; d++) {
        s->load[d] = rill__xmalloc(n_kg(s) * sizeof *s->load[d]);
        for (int kg = kg_first; kg <= kg_last; kg++) /* the backend may hold some already */
            queue_load(s, (rill_time_domain)d, kg);
    }
    return s;
}

rill__state_backend *rill__timers_backend(const rill__timer_service *s)
{
    return s ? s->be : NULL;
}

int rill__timers_flush(rill__timer_service *s)
{
    if (!s->be)
        return 0;
    for (int d = 0; d < N_DOMAINS; d++)
        for (size_t i = 0; i < s->heap[d].n; i++) {
            int rc = store(s, s->heap[d].a[i].r);
            if (rc < 0)
                return rc;
        }
    return 0;
}

void rill__timers_reload(rill__timer_service *s)
{
    if (!s->be)
        return;
    for (int d = 0; d < N_DOMAINS; d++) {
        for (size_t i = 0; i < s->heap[d].n; i++)
            free(s->heap[d].a[i].r);
        s->heap[d].n = 0;
        s->n_load[d] = 0;
        s->n_beyond[d] = 0;
    }
    memset(s->buckets, 0, s->n_buckets * sizeof *s->buckets);
    memset(s->kg_head, 0, n_kg(s) * sizeof *s->kg_head);
    s->n_entries = 0;
    for (int d = 0; d < N_DOMAINS; d++)
        for (int kg = s->kg_first; kg <= s->kg_last; kg++) {
            tpart *p = part_of(s, (rill_time_domain)d, kg);
            p->state = P_UNLOADED;
            p->n = 0;
            p->queued = false;
            queue_load(s, (rill_time_domain)d, kg);
        }
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
    for (size_t i = 0; s->parts && i < N_DOMAINS * ((size_t)(s->kg_last - s->kg_first) + 1); i++)
        free(s->parts[i].h_bytes);
    free(s->parts);
    for (int d = 0; d < N_DOMAINS; d++)
        free(s->load[d]);
    free(s);
}

int rill__timers_register(rill__timer_service *s, rill_time_domain d, const rill__state_key *k,
                          int64_t ts)
{
    RILL_ASSERT((unsigned)d < N_DOMAINS);
    if (k->kg < s->kg_first || k->kg > s->kg_last)
        return RILL_ESTATE;
    view_check(s);
    /* a part memory knows nothing of is read first (it adds to the set: before any find) */
    int rc = s->be ? touch(s, d, k->kg) : 0;
    if (rc < 0)
        return rc;
    uint64_t h = timer_hash(d, k, ts);
    trec **pp = find(s, h, d, k, ts); /* valid until the set changes */
    if (*pp)
        return 0; /* registered already */
    if (s->be && !in_memory_range(part_of(s, d, k->kg), ts, k)) { /* the backend's */
        if ((rc = s->be->ops->timer_get(s->be, (int)d, k, ts)) == 0 &&
            (rc = s->be->ops->timer_put(s->be, (int)d, k, ts)) == 0)
            s->n_beyond[d]++;
        return RILL_MIN(rc, 0);
    }
    mem_add(s, d, k, ts, h, pp, false); /* (a backend gets it when memory lets it go) */
    return s->be && s->n_entries > s->max_cached ? evict(s) : 0;
}

int rill__timers_delete(rill__timer_service *s, rill_time_domain d, const rill__state_key *k,
                        int64_t ts)
{
    RILL_ASSERT((unsigned)d < N_DOMAINS);
    if (k->kg < s->kg_first || k->kg > s->kg_last)
        return RILL_ESTATE;
    view_check(s);
    int rc = s->be ? touch(s, d, k->kg) : 0;
    if (rc < 0)
        return rc;
    trec *r = *find(s, timer_hash(d, k, ts), d, k, ts);
    if (s->be && r && r->stored && (rc = s->be->ops->timer_del(s->be, (int)d, k, ts)) < 0)
        return rc;
    /* not in memory: within what memory holds it is nowhere; beyond, the backend may have it */
    if (s->be && !r && !in_memory_range(part_of(s, d, k->kg), ts, k) &&
        (rc = s->be->ops->timer_get(s->be, (int)d, k, ts)) == 1) {
        if ((rc = s->be->ops->timer_del(s->be, (int)d, k, ts)) < 0)
            return rc;
        s->n_beyond[d] = RILL_MAX(s->n_beyond[d] - 1, 0);
    }
    if (rc < 0)
        return rc;
    if (r)
        mem_remove(s, r);
    return 0;
}

int rill__timers_pop(rill__timer_service *s, rill_time_domain d, int64_t limit, rill__timer *out)
{
    RILL_ASSERT((unsigned)d < N_DOMAINS);
    view_check(s);
    if (s->popped)
        retire(s, s->popped);
    s->popped = NULL;
    if (s->be) {
        if (s->error)
            return s->error;
        int rc = load_waiting(s, d);
        if (rc < 0)
            return s->error = rc;
    }
    theap *h = &s->heap[d];
    if (!h->n || h->a[0].ts > limit)
        return 0;
    trec *r = h->a[0].r;
    if (s->be && r->stored) {
        rill__state_key k;
        key_of(r, &k);
        int rc = s->be->ops->timer_del(s->be, (int)d, &k, r->ts);
        if (rc < 0)
            return s->error = rc;
    }
    heap_remove(h, r);
    set_unlink(s, r);
    part_left(s, r);
    if (s->snap)
        r->dead = true; /* listed until the view has ended */
    else
        kg_unlink(s, r);
    s->popped = r;
    fill(r, out);
    return 1;
}

int64_t rill__timers_next(rill__timer_service *s, rill_time_domain d)
{
    RILL_ASSERT((unsigned)d < N_DOMAINS);
    if (s->be && (s->error || (s->error = load_waiting(s, d)) < 0))
        return RILL_TS_MIN; /* due at once: the pop reports the failure */
    return s->heap[d].n ? s->heap[d].a[0].ts : RILL_TS_MAX;
}

int64_t rill__timers_count(const rill__timer_service *s, rill_time_domain d)
{
    RILL_ASSERT((unsigned)d < N_DOMAINS);
    return (int64_t)s->heap[d].n + s->n_beyond[d];
}

typedef struct visit_be {
    int (*fn)(void *arg, rill_time_domain d, const rill__timer *t);
    void *arg;
    rill_time_domain d;
} visit_be;

static int visit_be_one(void *arg, int64_t ts, const rill__state_key *k)
{
    visit_be *v = arg;
    rill__timer t = {.ts = ts, .key = *k};
    return v->fn(v->arg, v->d, &t);
}

/* The timers of kg in backend be (through view, or live). */
static int iterate_be(rill__state_backend *be, rill__state_snap *view, int kg,
                      int (*fn)(void *arg, rill_time_domain d, const rill__timer *t), void *arg)
{
    for (int d = 0; d < N_DOMAINS; d++) {
        visit_be v = {.fn = fn, .arg = arg, .d = (rill_time_domain)d};
        int rc = be->ops->timer_scan(be, view, d, kg, 0, NULL, 0, visit_be_one, &v);
        if (rc)
            return rc;
    }
    return 0;
}

/* fn must not register, delete or pop: the service must not change during the iteration. */
int rill__timers_iterate_kg(rill__timer_service *s, int kg,
                            int (*fn)(void *arg, rill_time_domain d, const rill__timer *t),
                            void *arg)
{
    if (kg < s->kg_first || kg > s->kg_last)
        return RILL_ESTATE;
    if (s->be) {
        int rc = rill__timers_flush(s);
        return rc < 0 ? rc : iterate_be(s->be, NULL, kg, fn, arg);
    }
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
    *out = NULL;
    if (s->be) { /* a view of the backend, once it holds every timer */
        rill__state_snap *bv = NULL;
        int rc = rill__timers_flush(s);
        if (rc == 0)
            rc = s->be->ops->snap_begin(s->be, &bv);
        if (rc < 0)
            return rc;
        rill__timers_snap *v = rill__xcalloc(1, sizeof *v);
        v->be = s->be;
        v->bview = bv;
        v->kg_first = s->kg_first;
        v->kg_last = s->kg_last;
        *out = v;
        return 0;
    }
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
    if (v->be)
        return kg < v->kg_first || kg > v->kg_last ? RILL_ESTATE
                                                   : iterate_be(v->be, v->bview, kg, fn, arg);
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
    if (v->be) {
        v->be->ops->snap_end(v->bview);
        free(v);
        return;
    }
    atomic_store_explicit(&v->ended, true, memory_order_release);
    view_unref(v);
}
