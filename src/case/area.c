/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Snapshots of the area hierarchy for routing cases. Building one reads every area with
 * its geometry, builds one point-location index per level (src/geo/geo_index.c) and keeps the
 * organisations and rules in sorted arrays, so routing a new case costs a locate and a few
 * comparisons, never a query. A snapshot is immutable and reference-counted: a thread that
 * holds one keeps using it while a newer one replaces it in the store's cache slot.
 */
#include "safegrid/area.h"
#include "safegrid/geo.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct sg_areas {
    int refs; /* guarded by cache_mu */
    uint64_t generation;
    sg_area_row *areas; /* sorted by id */
    size_t n_areas;
    sg_org_row *orgs; /* sorted by id */
    size_t n_orgs;
    sg_rule_row *rules; /* sorted by area id */
    size_t n_rules;
    sg_geo_index *index[SG_GEO_N_LEVELS];
};

/* The snapshot of one open store, kept until the store closes (sg_store_on_close). */
typedef struct area_cache {
    sg_store *store;
    sg_areas *current;
    struct area_cache *next;
} area_cache;

/* One lock for every store's cache: acquiring a snapshot is rare next to using it. */
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static area_cache *caches; /* guarded by cache_mu: one per open store that was asked */

static void snapshot_free(sg_areas *a)
{
    if (a == NULL)
        return;
    for (int l = 0; l < SG_GEO_N_LEVELS; l++)
        sg_geo_index_free(a->index[l]);
    sg_area_rows_free(a->areas, a->n_areas);
    free(a->orgs);
    free(a->rules);
    free(a);
}

void sg_areas_release(sg_areas *a)
{
    if (a == NULL)
        return;
    pthread_mutex_lock(&cache_mu);
    int last = --a->refs == 0;
    pthread_mutex_unlock(&cache_mu);
    if (last)
        snapshot_free(a);
}

/* Called by sg_store_close() for its store's cache. */
static void cache_release(void *p)
{
    area_cache *c = p;
    pthread_mutex_lock(&cache_mu);
    for (area_cache **pp = &caches; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    pthread_mutex_unlock(&cache_mu);
    sg_areas_release(c->current);
    free(c);
}

static int by_area_id(const void *x, const void *y)
{
    const sg_area_row *a = x, *b = y;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int by_org_id(const void *x, const void *y)
{
    const sg_org_row *a = x, *b = y;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int by_rule_area(const void *x, const void *y)
{
    const sg_rule_row *a = x, *b = y;
    return a->area_id < b->area_id ? -1 : a->area_id > b->area_id;
}

static sg_err snapshot_build(sg_store *s, uint64_t gen, sg_areas **out, char *msg, size_t n)
{
    sg_areas *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return SG_NOMEM;
    a->refs = 1;
    a->generation = gen;
    sg_err err = sg_store_areas_list(s, 1, &a->areas, &a->n_areas);
    if (!err)
        err = sg_store_org_list(s, &a->orgs, &a->n_orgs);
    if (!err)
        err = sg_store_rule_list(s, &a->rules, &a->n_rules);
    if (err) {
        snapshot_free(a);
        return sg_errf(err, msg, n, "cannot read areas: %s", sg_strerror(err));
    }
    if (a->n_areas > 1)
        qsort(a->areas, a->n_areas, sizeof *a->areas, by_area_id);
    if (a->n_orgs > 1)
        qsort(a->orgs, a->n_orgs, sizeof *a->orgs, by_org_id);
    if (a->n_rules > 1)
        qsort(a->rules, a->n_rules, sizeof *a->rules, by_rule_area);
    sg_geo_index_item *items = calloc(a->n_areas ? a->n_areas : 1, sizeof(*items));
    if (items == NULL) {
        snapshot_free(a);
        return SG_NOMEM;
    }
    for (int l = 0; l < SG_GEO_N_LEVELS && !err; l++) {
        size_t k = 0;
        for (size_t i = 0; i < a->n_areas; i++) {
            if (a->areas[i].level == l && a->areas[i].wkb) {
                items[k].id = a->areas[i].id;
                items[k].wkb = a->areas[i].wkb;
                items[k].wkb_len = a->areas[i].wkb_len;
                k++;
            }
        }
        if (k > 0)
            err = sg_geo_index_build(items, k, NULL, &a->index[l], msg, n);
    }
    free(items);
    if (err) {
        snapshot_free(a);
        return err;
    }
    *out = a;
    return SG_OK;
}

sg_err sg_areas_acquire(sg_store *s, sg_areas **out, char *msg, size_t n)
{
    uint64_t gen = sg_store_geo_generation(s);
    pthread_mutex_lock(&cache_mu);
    area_cache *c = caches;
    while (c != NULL && c->store != s)
        c = c->next;
    if (c == NULL) {
        c = calloc(1, sizeof(*c));
        if (c == NULL || sg_store_on_close(s, cache_release, c) != SG_OK) {
            pthread_mutex_unlock(&cache_mu);
            free(c);
            return SG_NOMEM;
        }
        c->store = s;
        c->next = caches;
        caches = c;
    }
    if (c->current == NULL || c->current->generation != gen) {
        /* Built under the lock: two threads that find it stale build it once. */
        sg_areas *fresh = NULL;
        sg_err err = snapshot_build(s, gen, &fresh, msg, n);
        if (err) {
            pthread_mutex_unlock(&cache_mu);
            return err;
        }
        sg_areas *old = c->current;
        c->current = fresh;
        if (old && --old->refs == 0) {
            pthread_mutex_unlock(&cache_mu);
            snapshot_free(old);
            pthread_mutex_lock(&cache_mu);
        }
    }
    sg_areas *a = c->current;
    a->refs++;
    pthread_mutex_unlock(&cache_mu);
    *out = a;
    return SG_OK;
}

size_t sg_areas_count(const sg_areas *a)
{
    return a->n_areas;
}

sg_err sg_areas_locate(const sg_areas *a, double lon, double lat, int64_t *area_id)
{
    for (int l = SG_GEO_N_LEVELS - 1; l >= 0; l--) {
        if (a->index[l] == NULL)
            continue;
        sg_err err = sg_geo_locate(a->index[l], lon, lat, area_id);
        if (err != SG_NOTFOUND)
            return err;
    }
    return SG_NOTFOUND;
}

const sg_area_row *sg_areas_get(const sg_areas *a, int64_t id)
{
    if (a->n_areas == 0)
        return NULL;
    sg_area_row key = {.id = id};
    return bsearch(&key, a->areas, a->n_areas, sizeof *a->areas, by_area_id);
}

const sg_area_row *sg_areas_find(const sg_areas *a, const char *code)
{
    for (size_t i = 0; i < a->n_areas; i++)
        if (strcmp(a->areas[i].code, code) == 0)
            return &a->areas[i];
    return NULL;
}

const sg_org_row *sg_areas_find_org(const sg_areas *a, const char *code)
{
    for (size_t i = 0; i < a->n_orgs; i++)
        if (strcmp(a->orgs[i].code, code) == 0)
            return &a->orgs[i];
    return NULL;
}

const sg_org_row *sg_areas_org(const sg_areas *a, int64_t id)
{
    if (a->n_orgs == 0)
        return NULL;
    sg_org_row key = {.id = id};
    return bsearch(&key, a->orgs, a->n_orgs, sizeof *a->orgs, by_org_id);
}

const sg_org_row *sg_areas_org_list(const sg_areas *a, size_t *n)
{
    *n = a->n_orgs;
    return a->orgs;
}

const sg_rule_row *sg_areas_rule_list(const sg_areas *a, size_t *n)
{
    *n = a->n_rules;
    return a->rules;
}

int64_t sg_areas_ancestor(const sg_areas *a, int64_t area_id, int k)
{
    const sg_area_row *r = sg_areas_get(a, area_id);
    for (int i = 0; r != NULL && i < k; i++)
        r = r->parent_id ? sg_areas_get(a, r->parent_id) : NULL;
    return r ? r->id : 0;
}

sg_err sg_areas_route(const sg_areas *a, const char *category, int64_t area_id, int64_t *org_id)
{
    /* At most one walk up the hierarchy; the depth is bounded by the number of areas so a
     * parent cycle in a damaged database cannot loop forever. */
    const sg_area_row *r = sg_areas_get(a, area_id);
    for (size_t depth = 0; r != NULL && a->n_rules > 0 && depth <= a->n_areas; depth++) {
        sg_rule_row key = {.area_id = r->id};
        const sg_rule_row *hit =
            bsearch(&key, a->rules, a->n_rules, sizeof *a->rules, by_rule_area);
        if (hit != NULL) {
            /* bsearch lands on any rule of the area: widen to all of them. */
            const sg_rule_row *lo = hit, *hi = hit;
            while (lo > a->rules && lo[-1].area_id == r->id)
                lo--;
            while (hi + 1 < a->rules + a->n_rules && hi[1].area_id == r->id)
                hi++;
            const sg_rule_row *any = NULL;
            for (const sg_rule_row *q = lo; q <= hi; q++) {
                if (category && strcmp(q->category, category) == 0) {
                    *org_id = q->org_id;
                    return SG_OK;
                }
                if (q->category[0] == '\0')
                    any = q;
            }
            if (any) {
                *org_id = any->org_id;
                return SG_OK;
            }
        }
        r = r->parent_id ? sg_areas_get(a, r->parent_id) : NULL;
    }
    return SG_NOTFOUND;
}
