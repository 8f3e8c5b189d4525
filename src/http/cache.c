/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The JSON of cases as the case list writes them, kept between requests (issue 4, item 7).
 * A list of 50 cases spent most of its time turning rows into JSON and decoding them out
 * of SQLite; with this cache a page reads only each case's id and version from the store
 * (sg_store_case_read with a page function) and copies the text of every case it holds at that
 * version.
 *
 * Why it is never stale: an entry is keyed by the case's id and version, and the store
 * increments the version in the same statement as every change of a column that the list
 * shows (the retention purge changes only the sealed personal data, which lists never
 * show), whether the change comes through this process or another one: the version is
 * read from the database on every request, so a changed case simply misses and is
 * rewritten. Ids are never reused (cases are never deleted), and the tracking code in
 * the text derives from the id and the store's key, fixed for the one store a server
 * serves. The area and organisation codes are not in an entry: they come from the
 * caller's area snapshot on every use, as before. No entry holds personal data.
 *
 * Bounded: a fixed table of sets of SG_CACHE_WAYS entries (an entry is one malloc'd block
 * of at most SG_CASE_JSON_MAX bytes of text), and a byte budget across them; when a set is
 * full the next insert replaces its entries in turn. Thread-safe: the server's pool threads
 * share it, each set guarded by its own mutex, held only to copy an entry in or out (and
 * to write the codes between its two parts).
 *
 * Written by hand because nothing in the dependencies (DESIGN.md: Debian packages, nothing
 * vendored) is a bounded, thread-safe in-process map with integer keys: jansson's and
 * GLib's hash tables are neither bounded nor locked, and memcached is another process.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "http_int.h"

#define SG_CACHE_SETS 8192 /* a power of two */
#define SG_CACHE_WAYS 8

typedef struct entry {
    int64_t id, version, area_id, org_id;
    size_t len_head, len_tail;
    size_t bytes; /* what this entry counts against the budget */
    char text[];  /* head, then tail */
} entry;

/* A set with its own lock, the ids beside it (0: empty; case ids start at 1): a lookup
 * reads the set's first two cache lines and one entry. Aligned, so that two threads never
 * contend for a line that holds two sets' locks. */
typedef struct cache_set {
    _Alignas(64) pthread_mutex_t mu;
    int64_t id[SG_CACHE_WAYS];
    entry *way[SG_CACHE_WAYS];
    unsigned next; /* the way the next insert replaces when the set is full */
} cache_set;

struct sg_case_cache {
    size_t max_bytes;
    atomic_size_t bytes;
    cache_set sets[SG_CACHE_SETS];
};

sg_err sg_case_cache_new(size_t max_bytes, sg_case_cache **out)
{
    /* sizeof is a multiple of the sets' alignment, as aligned_alloc requires. */
    sg_case_cache *c = aligned_alloc(_Alignof(sg_case_cache), sizeof *c);
    if (c == NULL)
        return SG_NOMEM;
    memset(c, 0, sizeof *c);
    c->max_bytes = max_bytes;
    atomic_init(&c->bytes, 0);
    for (size_t s = 0; s < SG_CACHE_SETS; s++)
        pthread_mutex_init(&c->sets[s].mu, NULL);
    *out = c;
    return SG_OK;
}

void sg_case_cache_free(sg_case_cache *c)
{
    if (c == NULL)
        return;
    for (size_t s = 0; s < SG_CACHE_SETS; s++) {
        for (int w = 0; w < SG_CACHE_WAYS; w++)
            free(c->sets[s].way[w]);
        pthread_mutex_destroy(&c->sets[s].mu);
    }
    free(c);
}

/* Ids are consecutive, so their low bits alone spread a page over the sets; the multiply
 * spreads ids that share low bits too (a stride of 8192 would otherwise fill one set). */
static size_t set_of(int64_t id)
{
    return (size_t)(((uint64_t)id * 0x9E3779B97F4A7C15ull) >> 51) & (SG_CACHE_SETS - 1);
}

sg_err sg_case_cache_get(sg_case_cache *c, int64_t id, int64_t version, sg_buf *b,
                         sg_case_cache_mid_fn mid, void *ctx)
{
    size_t s = set_of(id);
    pthread_mutex_t *mu = &c->sets[s].mu;
    sg_err err = SG_NOTFOUND;
    pthread_mutex_lock(mu);
    for (int w = 0; w < SG_CACHE_WAYS; w++) {
        if (c->sets[s].id[w] != id || c->sets[s].way[w] == NULL)
            continue;
        const entry *e = c->sets[s].way[w];
        if (e->version != version)
            break;
        /* Straight into the reply, under the lock: the entry may be replaced once it is
         * released. */
        err = sg_buf_append(b, e->text, e->len_head);
        err = err ? err : mid(b, e->area_id, e->org_id, ctx);
        err = err ? err : sg_buf_append(b, e->text + e->len_head, e->len_tail);
        break;
    }
    pthread_mutex_unlock(mu);
    return err;
}

void sg_case_cache_put(sg_case_cache *c, int64_t id, int64_t version, int64_t area_id,
                       int64_t org_id, const char *head, size_t len_head, const char *tail,
                       size_t len_tail)
{
    size_t len = len_head + len_tail;
    if (len > SG_CASE_JSON_MAX)
        return;
    size_t bytes = sizeof(entry) + len;
    entry *e = malloc(bytes);
    if (e == NULL)
        return; /* a cache: out of memory only means a miss next time */
    e->id = id;
    e->version = version;
    e->area_id = area_id;
    e->org_id = org_id;
    e->len_head = len_head;
    e->len_tail = len_tail;
    e->bytes = bytes;
    memcpy(e->text, head, len_head);
    memcpy(e->text + len_head, tail, len_tail);

    size_t s = set_of(id);
    pthread_mutex_t *mu = &c->sets[s].mu;
    pthread_mutex_lock(mu);
    /* The same case at another version first, then a free way, then the next in turn. */
    int w = -1;
    for (int i = 0; i < SG_CACHE_WAYS && w < 0; i++)
        if (c->sets[s].id[i] == id)
            w = i;
    for (int i = 0; i < SG_CACHE_WAYS && w < 0; i++)
        if (c->sets[s].way[i] == NULL)
            w = i;
    if (w < 0)
        w = (int)(c->sets[s].next++ % SG_CACHE_WAYS);
    entry *old = c->sets[s].way[w];
    size_t freed = old ? old->bytes : 0;
    /* Over the budget (other sets are full): keep what is there. A compare-and-swap, so
     * that threads putting into other sets at once cannot pass the budget together. */
    size_t cur = atomic_load(&c->bytes);
    do {
        if (cur - freed + bytes > c->max_bytes) {
            pthread_mutex_unlock(mu);
            free(e);
            return;
        }
    } while (!atomic_compare_exchange_weak(&c->bytes, &cur, cur - freed + bytes));
    c->sets[s].id[w] = id;
    c->sets[s].way[w] = e;
    pthread_mutex_unlock(mu);
    free(old);
}

size_t sg_case_cache_bytes(sg_case_cache *c)
{
    return atomic_load(&c->bytes);
}
