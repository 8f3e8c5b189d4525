/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The cases of a database as the analyses' input (include/safegrid/analyze.h). One pass
 * over the matching cases, a page at a time, gives each case its area at the level asked
 * for (itself or the ancestor at that level) and its calendar day in the zone asked for;
 * the areas come with their polygons and GDAL centroids. The kernels then run on these
 * arrays directly: nothing is written to disk, and the files an analyst may want for
 * SaTScan or R are written from the same arrays only on request (analyze --keep).
 */
#include "safegrid/analyze.h"
#include "safegrid/area.h"
#include "safegrid/timefmt.h"

#include <cpl_conv.h>
#include <errno.h>
#include <math.h>
#include <ogr_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the strings and polygons of a result point into. */
typedef struct store_rows {
    sg_area_row *rows; /* every area, by id */
    size_t n_rows;
    char (*cats)[64]; /* the cases' categories */
    char (*own)[64];  /* the codes of the cases' own areas */
} store_rows;

static int by_id(const void *x, const void *y)
{
    const sg_area_row *a = x, *b = y;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* The area at `level` that contains area id (itself or an ancestor), or NULL. */
static const sg_area_row *at_level(const sg_areas *a, int64_t id, int level)
{
    for (int k = 0; k < 8; k++) {
        int64_t up = sg_areas_ancestor(a, id, k);
        const sg_area_row *r = up ? sg_areas_get(a, up) : NULL;
        if (r == NULL || r->level < level)
            return NULL;
        if (r->level == level)
            return r;
    }
    return NULL;
}

/* The local calendar day of t in tz, in days since 1970-01-01. */
static int64_t local_day(int64_t t, const char *tz)
{
    int32_t off = 0;
    sg_time_utc_offset(tz, t, &off, NULL, 0);
    int64_t s = t + off;
    return (s >= 0 ? s : s - 86399) / 86400;
}

void sg_analysis_free(sg_analysis_data *d)
{
    if (d == NULL)
        return;
    store_rows *p = d->priv;
    if (p) {
        sg_area_rows_free(p->rows, p->n_rows);
        free(p->cats);
        free(p->own);
        free(p);
    }
    free(d->areas);
    free(d->cases);
    free(d);
}

/* Fills the level's areas (by id) with their centroids. */
static sg_err level_areas(sg_analysis_data *d, const store_rows *p, int level, char *msg, size_t n)
{
    for (size_t i = 0; i < p->n_rows; i++)
        d->n_areas += p->rows[i].level == level;
    d->areas = calloc(d->n_areas + 1, sizeof *d->areas);
    if (d->areas == NULL)
        return SG_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < p->n_rows; i++) {
        const sg_area_row *r = &p->rows[i];
        if (r->level != level)
            continue;
        sg_analysis_area *a = &d->areas[k++];
        a->code = r->code;
        a->lon = a->lat = NAN;
        if (r->wkb == NULL)
            continue;
        OGRGeometryH g = NULL;
        if (OGR_G_CreateFromWkb(r->wkb, NULL, &g, (int)r->wkb_len) != OGRERR_NONE || g == NULL)
            return sg_errf(SG_INVAL, msg, n, "area %s has a geometry GDAL cannot read", r->code);
        OGRGeometryH c = OGR_G_CreateGeometry(wkbPoint);
        if (c && OGR_G_Centroid(g, c) == OGRERR_NONE) {
            a->lon = OGR_G_GetX(c, 0);
            a->lat = OGR_G_GetY(c, 0);
        }
        OGR_G_DestroyGeometry(c);
        OGR_G_DestroyGeometry(g);
        a->wkb = r->wkb;
        a->wkb_len = r->wkb_len;
    }
    return SG_OK;
}

/* Appends the cases of one page. */
static sg_err add_cases(sg_analysis_data *d, store_rows *p, size_t *cap, const sg_areas *areas,
                        const sg_analysis_query *q, const sg_case_list *l, int64_t *first_t,
                        int64_t *last_t)
{
    if (d->n_cases + l->n_items > *cap) {
        size_t ncap = (d->n_cases + l->n_items) * 2;
        sg_analysis_case *c = realloc(d->cases, ncap * sizeof *c);
        if (c)
            d->cases = c;
        char(*cats)[64] = realloc(p->cats, ncap * sizeof *cats);
        if (cats)
            p->cats = cats;
        char(*own)[64] = realloc(p->own, ncap * sizeof *own);
        if (own)
            p->own = own;
        if (!c || !cats || !own)
            return SG_NOMEM;
        *cap = ncap;
    }
    for (size_t i = 0; i < l->n_items; i++) {
        const sg_case *k = &l->items[i];
        size_t j = d->n_cases++;
        const sg_area_row *own = k->area_id ? sg_areas_get(areas, k->area_id) : NULL;
        const sg_area_row *r = k->area_id ? at_level(areas, k->area_id, q->level) : NULL;
        snprintf(p->cats[j], sizeof p->cats[j], "%s", k->category);
        snprintf(p->own[j], sizeof p->own[j], "%s", own ? own->code : "");
        sg_analysis_case *c = &d->cases[j];
        c->day = local_day(k->created_at, q->tz);
        c->area = -1;
        if (r) {
            sg_area_row key = {.id = r->id};
            const sg_area_row *hit = bsearch(&key, p->rows, p->n_rows, sizeof *p->rows, by_id);
            /* The level's areas are the level's rows in the same (id) order. */
            for (size_t a = 0; hit && a < d->n_areas; a++)
                if (d->areas[a].code == hit->code)
                    c->area = (long)a;
        }
        if (c->area < 0) {
            d->n_unplaced++;
            continue;
        }
        d->areas[c->area].n_cases++;
        if (k->created_at < *first_t)
            *first_t = k->created_at;
        if (k->created_at > *last_t)
            *last_t = k->created_at;
    }
    return SG_OK;
}

sg_err sg_analysis_load(sg_store *s, const sg_analysis_query *q, sg_analysis_data **out, char *msg,
                        size_t n)
{
    if (q->level < 0 || q->level > 3)
        return sg_errf(SG_INVAL, msg, n, "the level must be 0 (county) to 3 (grid)");
    int32_t off;
    sg_err err = sg_time_utc_offset(q->tz, 0, &off, msg, n);
    if (err)
        return err;
    sg_analysis_data *d = calloc(1, sizeof *d);
    store_rows *p = calloc(1, sizeof *p);
    sg_areas *areas = NULL;
    if (d == NULL || p == NULL) {
        free(d);
        free(p);
        return sg_errf(SG_NOMEM, msg, n, "out of memory");
    }
    d->priv = p;
    err = sg_areas_acquire(s, &areas, msg, n);
    if (!err && (err = sg_store_areas_list(s, 1, &p->rows, &p->n_rows)) != SG_OK)
        sg_errf(err, msg, n, "cannot read the areas: %s", sg_strerror(err));
    if (!err && p->n_rows > 1)
        qsort(p->rows, p->n_rows, sizeof *p->rows, by_id);
    if (!err)
        err = level_areas(d, p, q->level, msg, n);
    sg_case_filter f = {.type = q->type, .category = q->category, .from = q->from, .to = q->to};
    f.limit = 1000;
    size_t cap = 0;
    int64_t first_t = INT64_MAX, last_t = INT64_MIN;
    while (!err) {
        sg_case_list l;
        if ((err = sg_store_case_list(s, &f, &l)) != SG_OK) {
            sg_errf(err, msg, n, "cannot read the cases: %s", sg_strerror(err));
            break;
        }
        err = add_cases(d, p, &cap, areas, q, &l, &first_t, &last_t);
        f.before_id = l.next_cursor;
        sg_case_list_fini(&l);
        if (f.before_id == 0)
            break;
    }
    sg_areas_release(areas);
    for (size_t i = 0; !err && i < d->n_cases; i++) {
        d->cases[i].category = p->cats[i];
        d->cases[i].own_area = p->own[i];
    }
    if (!err && first_t <= last_t) {
        d->first_day = local_day(q->from ? q->from : first_t, q->tz);
        d->last_day = local_day(q->to ? q->to - 1 : last_t, q->tz);
    }
    if (err) {
        if (err == SG_NOMEM)
            sg_errf(err, msg, n, "out of memory");
        sg_analysis_free(d);
        return err;
    }
    *out = d;
    return SG_OK;
}

sg_err sg_analysis_write_polygons(const sg_analysis_data *d, const char *path, char *msg, size_t n)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return sg_errf(SG_IO, msg, n, "cannot write %s: %s", path, strerror(errno));
    fputs("{\"type\":\"FeatureCollection\",\"features\":[\n", f);
    int first = 1;
    for (size_t i = 0; i < d->n_areas; i++) {
        const sg_analysis_area *a = &d->areas[i];
        OGRGeometryH g = NULL;
        if (a->wkb == NULL ||
            OGR_G_CreateFromWkb(a->wkb, NULL, &g, (int)a->wkb_len) != OGRERR_NONE || g == NULL)
            continue;
        char *json = OGR_G_ExportToJson(g);
        OGR_G_DestroyGeometry(g);
        /* Area codes are identifiers of letters, digits and dashes; escape the rest. */
        fprintf(f, "%s{\"type\":\"Feature\",\"properties\":{\"code\":\"", first ? "" : ",\n");
        for (const char *c = a->code; *c; c++)
            fprintf(f, (*c == '"' || *c == '\\') ? "\\%c" : "%c", *c);
        fprintf(f, "\"},\"geometry\":%s}", json ? json : "null");
        CPLFree(json);
        first = 0;
    }
    fputs("\n]}\n", f);
    return fclose(f) == 0 ? SG_OK : sg_errf(SG_IO, msg, n, "cannot write %s", path);
}
