/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A patrol plan from a database: the areas of a district at one level, the workload of each
 * from the cases in it (weighted by category, in one time band of local time), then the
 * partition of patrol.c, written as GeoJSON (each area with its beat) and a CSV table (one
 * row per beat). This is the function that `safegrid patrol plan` calls.
 *
 * Areas are stored in WGS84; compactness and distances need a planar CRS, so polygons are
 * projected to a local equirectangular plane about the district's centre (x = R cos(lat0)
 * dlon, y = R dlat). Over a city (some 30 km) its scale differs from the true one by less
 * than 0.2 %, far below what Polsby-Popper can tell, and it needs no CRS from the user.
 * Contiguity is computed on the stored coordinates, as `analyze gistar --db` does, so it is
 * the same neighbour list as the Gi* weights.
 *
 * The store is read through one function (read_cases) and only for a case's area, category
 * and creation time: never its text or anyone's details.
 */
#include "safegrid/area.h"
#include "safegrid/patrol.h"
#include "safegrid/store.h"
#include "safegrid/timefmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <geos_c.h>
#include <ogr_api.h>

void sg_patrol_db_opts_init(sg_patrol_db_opts *o)
{
    memset(o, 0, sizeof *o);
    o->level = 3;
    o->band = SG_BAND_COUNT;
    sg_patrol_bands_init(&o->bands);
    o->contiguity = SG_CONTIG_QUEEN;
    sg_patrol_opts_init(&o->part);
}

void sg_patrol_db_plan_fini(sg_patrol_db_plan *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; p->code && i < p->plan.n; i++)
        free(p->code[i]);
    free(p->code);
    free(p->workload);
    sg_patrol_plan_fini(&p->plan);
    memset(p, 0, sizeof *p);
}

static void geos_quiet(const char *fmt, ...)
{
    (void)fmt;
}

/* ---- the cases: the one place that reads them from the store ------------------------------ */

typedef struct case_ctx {
    const sg_areas *areas;
    int level;
    const int64_t *ids; /* sorted ids of the planned areas */
    size_t n_ids;
    const size_t *index_of; /* position in the plan of ids[i] */
    const char *tz;
    sg_patrol_case *cases;
    char (*cat)[64];
    size_t n, cap;
    size_t n_unplaced;
    int failed; /* 1 out of memory, 2 bad zone */
} case_ctx;

static int by_int64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

/* The area at ctx->level holding area id (itself or an ancestor), 0 if none. */
static int64_t at_level(const case_ctx *c, int64_t id)
{
    for (int k = 0; k < 8 && id; k++) {
        int64_t up = sg_areas_ancestor(c->areas, id, k);
        const sg_area_row *r = up ? sg_areas_get(c->areas, up) : NULL;
        if (r == NULL || r->level < c->level)
            return 0;
        if (r->level == c->level)
            return r->id;
    }
    return 0;
}

static int visit_case(void *ctx, const sg_case *cs)
{
    case_ctx *c = ctx;
    int64_t id = at_level(c, cs->area_id);
    const int64_t *hit = id ? bsearch(&id, c->ids, c->n_ids, sizeof *c->ids, by_int64) : NULL;
    if (hit == NULL) {
        c->n_unplaced++;
        return 0;
    }
    int32_t off = 0;
    if (sg_time_utc_offset(c->tz, cs->created_at, &off, NULL, 0) != SG_OK) {
        c->failed = 2;
        return 1;
    }
    if (c->n == c->cap) {
        size_t ncap = c->cap ? 2 * c->cap : 4096;
        sg_patrol_case *nc = realloc(c->cases, ncap * sizeof *nc);
        if (nc)
            c->cases = nc;
        char(*ncat)[64] = realloc(c->cat, ncap * sizeof *ncat);
        if (ncat)
            c->cat = ncat;
        if (nc == NULL || ncat == NULL) {
            c->failed = 1;
            return 1;
        }
        c->cap = ncap;
    }
    snprintf(c->cat[c->n], sizeof c->cat[0], "%s", cs->category);
    int64_t local = cs->created_at + off;
    int64_t sec = ((local % 86400) + 86400) % 86400;
    c->cases[c->n].area = c->index_of[hit - c->ids];
    c->cases[c->n].minute = (int)(sec / 60);
    c->n++;
    return 0;
}

/* Every case of the district matching o's filters into ctx, through the store's one case
 * read. */
static sg_err read_cases(sg_store *s, const sg_patrol_db_opts *o, int64_t district, case_ctx *ctx)
{
    sg_case_filter f = {.type = o->type,
                        .area_id = district,
                        .from = o->from,
                        .to = o->to,
                        .by_created = 1,
                        .limit = INT64_MAX};
    sg_case_reader r = {.visit = visit_case, .ctx = ctx};
    sg_err err = sg_store_case_read(s, &f, &r, NULL);
    if (err)
        return err;
    for (size_t i = 0; i < ctx->n; i++)
        ctx->cases[i].category = ctx->cat[i];
    return ctx->failed == 1 ? SG_NOMEM : ctx->failed == 2 ? SG_INVAL : SG_OK;
}

/* ---- polygons ----------------------------------------------------------------------------- */

typedef struct verts {
    double *xy;
    size_t n, cap;
} verts;

static int add_ring(GEOSContextHandle_t gh, const GEOSGeometry *ring, verts *v)
{
    const GEOSCoordSequence *cs = GEOSGeom_getCoordSeq_r(gh, ring);
    unsigned np = 0;
    if (cs == NULL || GEOSCoordSeq_getSize_r(gh, cs, &np) != 1)
        return -1;
    if (v->n + np > v->cap) {
        size_t ncap = (v->n + np) * 2 + 1024;
        double *nx = realloc(v->xy, ncap * 2 * sizeof *nx);
        if (nx == NULL)
            return -1;
        v->xy = nx;
        v->cap = ncap;
    }
    for (unsigned k = 0; k < np; k++) {
        if (GEOSCoordSeq_getXY_r(gh, cs, k, &v->xy[2 * v->n], &v->xy[2 * v->n + 1]) != 1)
            return -1;
        v->n++;
    }
    return 0;
}

/* Appends the vertices of every ring of a polygon or multipolygon. */
static int add_rings(GEOSContextHandle_t gh, const GEOSGeometry *g, verts *v)
{
    int t = GEOSGeomTypeId_r(gh, g);
    if (t == GEOS_POLYGON) {
        if (add_ring(gh, GEOSGetExteriorRing_r(gh, g), v))
            return -1;
        int nh = GEOSGetNumInteriorRings_r(gh, g);
        for (int i = 0; i < nh; i++)
            if (add_ring(gh, GEOSGetInteriorRingN_r(gh, g, i), v))
                return -1;
        return 0;
    }
    if (t == GEOS_MULTIPOLYGON || t == GEOS_GEOMETRYCOLLECTION) {
        int ng = GEOSGetNumGeometries_r(gh, g);
        for (int i = 0; i < ng; i++)
            if (add_rings(gh, GEOSGetGeometryN_r(gh, g, i), v))
                return -1;
        return 0;
    }
    return -1;
}

typedef struct plane {
    double lon0, lat0, kx, ky;
} plane;

static int to_plane(double *x, double *y, void *user)
{
    const plane *p = user;
    *x = (*x - p->lon0) * p->kx;
    *y = (*y - p->lat0) * p->ky;
    return 1;
}

/* ---- output ------------------------------------------------------------------------------- */

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static sg_err write_geojson(const char *path, const sg_area_row *const *rows,
                            const sg_patrol_db_plan *p, char *msg, size_t msg_len)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return sg_errf(SG_IO, msg, msg_len, "cannot write %s", path);
    fputs("{\"type\":\"FeatureCollection\",\"features\":[\n", f);
    for (size_t i = 0; i < p->plan.n; i++) {
        OGRGeometryH g = NULL;
        char *json = NULL;
        if (OGR_G_CreateFromWkb(rows[i]->wkb, NULL, &g, (int)rows[i]->wkb_len) == OGRERR_NONE)
            json = OGR_G_ExportToJson(g);
        if (g)
            OGR_G_DestroyGeometry(g);
        const sg_patrol_beat *b = &p->plan.beats[p->plan.beat[i]];
        fprintf(f, "%s{\"type\":\"Feature\",\"properties\":{\"code\":", i ? ",\n" : "");
        json_string(f, rows[i]->code);
        fprintf(f, ",\"beat\":%u,\"workload\":%.17g,\"beat_workload\":%.17g,\"beat_share\":%.6f}",
                p->plan.beat[i] + 1, p->workload[i], b->workload, b->share);
        fprintf(f, ",\"geometry\":%s}", json ? json : "null");
        CPLFree(json);
    }
    fputs("\n]}\n", f);
    if (fclose(f) != 0)
        return sg_errf(SG_IO, msg, msg_len, "cannot write %s", path);
    return SG_OK;
}

static sg_err write_table(const char *path, const sg_patrol_db_plan *p, char *msg, size_t msg_len)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return sg_errf(SG_IO, msg, msg_len, "cannot write %s", path);
    fputs("beat,areas,workload,share,polsby_popper,contiguous\n", f);
    for (unsigned b = 0; b < p->plan.k; b++) {
        const sg_patrol_beat *bt = &p->plan.beats[b];
        fprintf(f, "%u,%zu,%.6g,%.4f,%.4f,%s\n", b + 1, bt->n_areas, bt->workload, bt->share,
                bt->polsby_popper, bt->contiguous ? "yes" : "no");
    }
    if (fclose(f) != 0)
        return sg_errf(SG_IO, msg, msg_len, "cannot write %s", path);
    return SG_OK;
}

/* ---- the plan ----------------------------------------------------------------------------- */

static int row_by_id(const void *x, const void *y)
{
    const sg_area_row *const *a = x, *const *b = y;
    return (*a)->id < (*b)->id ? -1 : (*a)->id > (*b)->id;
}

sg_err sg_patrol_plan_db(sg_store *s, const sg_patrol_db_opts *o, sg_patrol_db_plan *out, char *msg,
                         size_t msg_len)
{
    if (s == NULL || o == NULL || out == NULL || o->k == 0 || o->level < 0 || o->level > 3 ||
        (unsigned)o->band > SG_BAND_COUNT)
        return sg_errf(SG_INVAL, msg, msg_len,
                       "a database, K >= 1, a level 0-3 and a band are needed");
    sg_areas *areas = NULL;
    sg_area_row *rows = NULL;
    size_t n_rows = 0, n = 0;
    const sg_area_row **sel = NULL;
    int64_t *ids = NULL;
    size_t *index_of = NULL, *start = NULL, *wkb_len = NULL;
    unsigned char **wkb = NULL;
    double *band_work = NULL;
    verts v = {0};
    sg_weights *adj = NULL;
    case_ctx cc = {0};
    GEOSContextHandle_t gh = NULL;
    GEOSWKBReader *rd = NULL;
    GEOSWKBWriter *wr = NULL;
    sg_patrol_db_plan r = {0};
    sg_err err = sg_areas_acquire(s, &areas, msg, msg_len);
    if (!err)
        err = sg_store_areas_list(s, 1, &rows, &n_rows);
    if (err) {
        sg_errf(err, msg, msg_len, "cannot read the areas: %s", sg_strerror(err));
        goto done;
    }
    int64_t district = 0;
    if (o->district && o->district[0]) {
        const sg_area_row *d = sg_areas_find(areas, o->district);
        if (d == NULL) {
            err = sg_errf(SG_NOTFOUND, msg, msg_len, "no area has the code %s", o->district);
            goto done;
        }
        district = d->id;
    }
    err = SG_NOMEM;
    sel = malloc((n_rows + 1) * sizeof *sel);
    if (sel == NULL)
        goto done;
    for (size_t i = 0; i < n_rows; i++) {
        if (rows[i].level != o->level || rows[i].wkb == NULL)
            continue;
        int inside = district == 0;
        for (int k = 0; k < 8 && !inside; k++) {
            int64_t up = sg_areas_ancestor(areas, rows[i].id, k);
            if (up == 0)
                break;
            inside = up == district;
        }
        if (inside)
            sel[n++] = &rows[i];
    }
    if (n == 0) {
        err = sg_errf(SG_NOTFOUND, msg, msg_len, "no areas at level %d%s%s", o->level,
                      district ? " in " : "", district ? o->district : "");
        goto done;
    }
    qsort(sel, n, sizeof *sel, row_by_id);
    ids = malloc(n * sizeof *ids);
    index_of = malloc(n * sizeof *index_of);
    start = malloc((n + 1) * sizeof *start);
    wkb = calloc(n, sizeof *wkb);
    wkb_len = calloc(n, sizeof *wkb_len);
    r.code = calloc(n, sizeof *r.code);
    r.workload = calloc(n, sizeof *r.workload);
    band_work = calloc(SG_BAND_COUNT * n, sizeof *band_work);
    if (!ids || !index_of || !start || !wkb || !wkb_len || !r.code || !r.workload || !band_work)
        goto done;
    for (size_t i = 0; i < n; i++) {
        ids[i] = sel[i]->id;
        index_of[i] = i;
        r.code[i] = strdup(sel[i]->code);
        if (r.code[i] == NULL)
            goto done;
    }

    /* Polygons: the stored vertices for contiguity, a local plane for the rest. */
    gh = GEOS_init_r();
    if (gh == NULL)
        goto done;
    GEOSContext_setNoticeHandler_r(gh, geos_quiet);
    GEOSContext_setErrorHandler_r(gh, geos_quiet);
    rd = GEOSWKBReader_create_r(gh);
    wr = GEOSWKBWriter_create_r(gh);
    if (rd == NULL || wr == NULL)
        goto done;
    plane pl = {0};
    for (size_t i = 0; i < n; i++) {
        pl.lon0 += (sel[i]->bbox[0] + sel[i]->bbox[2]) / 2 / (double)n;
        pl.lat0 += (sel[i]->bbox[1] + sel[i]->bbox[3]) / 2 / (double)n;
    }
    const double R = 6371008.8, rad = M_PI / 180;
    pl.kx = R * cos(pl.lat0 * rad) * rad;
    pl.ky = R * rad;
    for (size_t i = 0; i < n; i++) {
        GEOSGeometry *g = GEOSWKBReader_read_r(gh, rd, sel[i]->wkb, sel[i]->wkb_len);
        start[i] = v.n;
        GEOSGeometry *pg = g ? GEOSGeom_transformXY_r(gh, g, to_plane, &pl) : NULL;
        int bad = g == NULL || pg == NULL || add_rings(gh, g, &v) != 0;
        if (!bad)
            wkb[i] = GEOSWKBWriter_write_r(gh, wr, pg, &wkb_len[i]);
        if (pg)
            GEOSGeom_destroy_r(gh, pg);
        if (g)
            GEOSGeom_destroy_r(gh, g);
        if (bad || wkb[i] == NULL) {
            err = sg_errf(SG_INVAL, msg, msg_len, "area %s: its polygon cannot be read",
                          sel[i]->code);
            goto done;
        }
    }
    start[n] = v.n;
    err = sg_weights_contiguity(v.xy, start, n, o->contiguity, -1, &adj);
    if (err) {
        sg_errf(err, msg, msg_len, "contiguity: %s", sg_strerror(err));
        goto done;
    }

    /* Workload of the band. */
    cc = (case_ctx){.areas = areas,
                    .level = o->level,
                    .ids = ids,
                    .n_ids = n,
                    .index_of = index_of,
                    .tz = o->tz ? o->tz : "UTC"};
    err = read_cases(s, o, district, &cc);
    if (err) {
        sg_errf(err, msg, msg_len, "cannot read the cases: %s%s", sg_strerror(err),
                cc.failed == 2 ? " (unknown time zone)" : "");
        goto done;
    }
    size_t n_table = 0;
    const sg_patrol_weight *table = sg_patrol_weights_default(&n_table);
    err = sg_patrol_workload(cc.cases, cc.n, n, table, n_table, &o->bands, band_work, msg, msg_len);
    if (err)
        goto done;
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < SG_BAND_COUNT; b++)
            if (o->band == SG_BAND_COUNT || (int)o->band == b)
                r.workload[i] += band_work[(size_t)b * n + i];
    r.n_cases = cc.n;
    r.n_unplaced = cc.n_unplaced;

    sg_patrol_input in = {.n = n,
                          .workload = r.workload,
                          .adj = adj,
                          .wkb = (const unsigned char *const *)wkb,
                          .wkb_len = wkb_len,
                          .k = o->k};
    err = sg_patrol_partition(&in, &o->part, &r.plan, msg, msg_len);
    if (err)
        goto done;
    if (o->geojson_path)
        err = write_geojson(o->geojson_path, sel, &r, msg, msg_len);
    if (!err && o->table_path)
        err = write_table(o->table_path, &r, msg, msg_len);
    if (err)
        goto done;
    *out = r;
    memset(&r, 0, sizeof r);
done:
    if (r.code && r.plan.n == 0)
        r.plan.n = n; /* so that fini frees the codes */
    sg_patrol_db_plan_fini(&r);
    for (size_t i = 0; wkb && i < n; i++)
        if (wkb[i])
            GEOSFree_r(gh, wkb[i]);
    free(wkb);
    free(wkb_len);
    if (rd)
        GEOSWKBReader_destroy_r(gh, rd);
    if (wr)
        GEOSWKBWriter_destroy_r(gh, wr);
    if (gh)
        GEOS_finish_r(gh);
    free(v.xy);
    free(cc.cases);
    free(cc.cat);
    sg_weights_free(adj);
    free(band_work);
    free(ids);
    free(index_of);
    free(start);
    free(sel);
    sg_area_rows_free(rows, n_rows);
    sg_areas_release(areas);
    if (err == SG_NOMEM)
        sg_errf(err, msg, msg_len, "out of memory");
    return err;
}
