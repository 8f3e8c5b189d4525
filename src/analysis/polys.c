/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Polygons for the statistics kernels (sg_stats_polys_read, declared with the kernels in
 * include/safegrid/stats.h), read through GDAL/OGR so that analysts can use the
 * neighbourhood or grid layers they already hold (MapInfo, Shapefile, GeoPackage...). Only
 * what the kernels need is kept: the ring vertices (for contiguity), a centroid (for k
 * nearest and distance-band weights) and the geometry as GeoJSON (for the output map).
 * Coordinates stay as in the file: contiguity does not depend on the CRS, and distances
 * need a projected CRS, which the caller states.
 *
 * It lives in the analysis layer, above both stats and geo, because the GeoJSON is written
 * by the geo layer's one geometry writer (src/geo/geojson.c, GEOS) from the feature's WKB,
 * not by OGR's own: every GeoJSON geometry safegrid writes comes from one place.
 */
#include "safegrid/geo.h"
#include "safegrid/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gdal.h>
#include <ogr_api.h>

void sg_stats_polys_free(sg_stats_polys *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++) {
        if (p->id)
            free(p->id[i]);
        if (p->geojson)
            free(p->geojson[i]);
    }
    free(p->id);
    free(p->geojson);
    free(p->xy);
    free(p->start);
    free(p->cx);
    free(p->cy);
    free(p);
}

typedef struct grow {
    double *xy;
    size_t n, cap;
} grow;

static int add_ring(grow *g, OGRGeometryH ring)
{
    int np = OGR_G_GetPointCount(ring);
    if (np < 0)
        return 0;
    if (g->n + (size_t)np > g->cap) {
        size_t ncap = (g->n + (size_t)np) * 2 + 1024;
        double *nx = realloc(g->xy, ncap * 2 * sizeof(*nx));
        if (!nx)
            return -1;
        g->xy = nx;
        g->cap = ncap;
    }
    for (int k = 0; k < np; k++) {
        g->xy[2 * g->n] = OGR_G_GetX(ring, k);
        g->xy[2 * g->n + 1] = OGR_G_GetY(ring, k);
        g->n++;
    }
    return 0;
}

/* Adds the rings of a polygon, or of each polygon of a collection. */
static int add_geometry(grow *g, OGRGeometryH geom)
{
    OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(geom));
    if (t == wkbPolygon) {
        for (int r = 0; r < OGR_G_GetGeometryCount(geom); r++)
            if (add_ring(g, OGR_G_GetGeometryRef(geom, r)))
                return -1;
        return 0;
    }
    if (t == wkbMultiPolygon || t == wkbGeometryCollection) {
        for (int k = 0; k < OGR_G_GetGeometryCount(geom); k++)
            if (add_geometry(g, OGR_G_GetGeometryRef(geom, k)))
                return -1;
    }
    return 0;
}

/* The geometry as GeoJSON text (malloc'd), through the geo layer's writer; NULL if it
 * cannot be written. */
static char *geojson_of(sg_geojson_writer *gw, OGRGeometryH geom)
{
    int len = OGR_G_WkbSize(geom);
    unsigned char *wkb = len > 0 ? malloc((size_t)len) : NULL;
    char *gj = NULL, *copy = NULL;
    if (wkb && OGR_G_ExportToIsoWkb(geom, wkbNDR, wkb) == OGRERR_NONE &&
        sg_geojson_writer_wkb(gw, wkb, (size_t)len, &gj) == SG_OK)
        copy = strdup(gj);
    sg_geojson_writer_text_free(gw, gj);
    free(wkb);
    return copy;
}

/* Appends polygon number p->n (arrays already large enough): id, GeoJSON, centroid and
 * rings. Returns -1 when out of memory. */
static int add_polygon(sg_stats_polys *p, grow *g, sg_geojson_writer *gw, const char *id,
                       OGRGeometryH geom)
{
    p->id[p->n] = strdup(id);
    p->geojson[p->n] = geojson_of(gw, geom);
    p->start[p->n] = g->n;
    OGRGeometryH c = OGR_G_CreateGeometry(wkbPoint);
    int okc = c && OGR_G_Centroid(geom, c) == OGRERR_NONE;
    p->cx[p->n] = okc ? OGR_G_GetX(c, 0) : 0;
    p->cy[p->n] = okc ? OGR_G_GetY(c, 0) : 0;
    if (c)
        OGR_G_DestroyGeometry(c);
    p->n++;
    return !p->id[p->n - 1] || !p->geojson[p->n - 1] || add_geometry(g, geom) ? -1 : 0;
}

sg_err sg_stats_polys_read(const char *path, const char *id_field, sg_stats_polys **out, char *msg,
                           size_t msg_len)
{
    if (!path || !out)
        return sg_errf(SG_INVAL, msg, msg_len, "polygons: missing argument");
    GDALAllRegister();
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    if (!ds)
        return sg_errf(SG_IO, msg, msg_len, "cannot open %s as a vector file", path);
    OGRLayerH layer = GDALDatasetGetLayerCount(ds) > 0 ? GDALDatasetGetLayer(ds, 0) : NULL;
    if (!layer) {
        GDALClose(ds);
        return sg_errf(SG_INVAL, msg, msg_len, "%s has no layer", path);
    }
    int fid = -1;
    if (id_field) {
        fid = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(layer), id_field);
        if (fid < 0) {
            GDALClose(ds);
            return sg_errf(SG_NOTFOUND, msg, msg_len, "%s has no field %s", path, id_field);
        }
    }
    sg_err err = SG_NOMEM;
    sg_stats_polys *p = calloc(1, sizeof(*p));
    sg_geojson_writer *gw = NULL;
    grow g = {0};
    size_t cap = 0, feat = 0;
    if (!p || sg_geojson_writer_new(&gw) != SG_OK)
        goto fail;
    OGR_L_ResetReading(layer);
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(layer)) != NULL) {
        OGRGeometryH geom = OGR_F_GetGeometryRef(f);
        OGRwkbGeometryType t = geom ? wkbFlatten(OGR_G_GetGeometryType(geom)) : wkbUnknown;
        if (t != wkbPolygon && t != wkbMultiPolygon) {
            OGR_F_Destroy(f);
            feat++;
            continue;
        }
        if (p->n == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            char **a = realloc(p->id, ncap * sizeof(*a));
            if (a)
                p->id = a;
            char **b = realloc(p->geojson, ncap * sizeof(*b));
            if (b)
                p->geojson = b;
            size_t *s = realloc(p->start, (ncap + 1) * sizeof(*s));
            if (s)
                p->start = s;
            double *x = realloc(p->cx, ncap * sizeof(*x));
            if (x)
                p->cx = x;
            double *y = realloc(p->cy, ncap * sizeof(*y));
            if (y)
                p->cy = y;
            if (!a || !b || !s || !x || !y) {
                OGR_F_Destroy(f);
                goto fail;
            }
            cap = ncap;
        }
        char num[32];
        const char *idtext = num;
        if (fid >= 0)
            idtext = OGR_F_GetFieldAsString(f, fid);
        else
            snprintf(num, sizeof(num), "%zu", feat);
        int bad = add_polygon(p, &g, gw, idtext, geom);
        OGR_F_Destroy(f);
        feat++;
        if (bad)
            goto fail;
    }
    if (p->n == 0) {
        err = sg_errf(SG_INVAL, msg, msg_len, "%s has no polygons", path);
        goto fail;
    }
    p->start[p->n] = g.n;
    p->xy = g.xy;
    sg_geojson_writer_free(gw);
    GDALClose(ds);
    *out = p;
    return SG_OK;
fail:
    sg_geojson_writer_free(gw);
    free(g.xy);
    sg_stats_polys_free(p);
    GDALClose(ds);
    if (err == SG_NOMEM)
        sg_errf(err, msg, msg_len, "polygons: out of memory");
    return err;
}

sg_err sg_stats_polys_from_wkb(size_t n, const char *const *ids, const unsigned char *const *wkb,
                               const size_t *wkb_len, sg_stats_polys **out, char *msg,
                               size_t msg_len)
{
    sg_err err = SG_NOMEM;
    sg_stats_polys *p = calloc(1, sizeof(*p));
    sg_geojson_writer *gw = NULL;
    grow g = {0};
    if (!p || sg_geojson_writer_new(&gw) != SG_OK)
        goto fail;
    p->id = calloc(n + 1, sizeof(*p->id));
    p->geojson = calloc(n + 1, sizeof(*p->geojson));
    p->start = calloc(n + 1, sizeof(*p->start));
    p->cx = calloc(n + 1, sizeof(*p->cx));
    p->cy = calloc(n + 1, sizeof(*p->cy));
    if (!p->id || !p->geojson || !p->start || !p->cx || !p->cy)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        OGRGeometryH geom = NULL;
        if (OGR_G_CreateFromWkb(wkb[i], NULL, &geom, (int)wkb_len[i]) != OGRERR_NONE || !geom) {
            err = sg_errf(SG_INVAL, msg, msg_len, "%s: a geometry GDAL cannot read", ids[i]);
            goto fail;
        }
        OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(geom));
        if (t != wkbPolygon && t != wkbMultiPolygon) {
            OGR_G_DestroyGeometry(geom);
            continue;
        }
        int bad = add_polygon(p, &g, gw, ids[i], geom);
        OGR_G_DestroyGeometry(geom);
        if (bad)
            goto fail;
    }
    if (p->n == 0) {
        err = sg_errf(SG_INVAL, msg, msg_len, "no polygons");
        goto fail;
    }
    p->start[p->n] = g.n;
    p->xy = g.xy;
    sg_geojson_writer_free(gw);
    *out = p;
    return SG_OK;
fail:
    free(g.xy);
    sg_stats_polys_free(p);
    sg_geojson_writer_free(gw);
    if (err == SG_NOMEM)
        sg_errf(err, msg, msg_len, "polygons: out of memory");
    return err;
}
