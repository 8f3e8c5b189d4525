/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * From a safegrid area to a CAP area. A neighbourhood polygon can have thousands of
 * vertices, and receivers of CAP (sirens, cell broadcast, phone apps) cope badly with large
 * polygons, so each ring is limited to a configured number of pairs. Plain simplification
 * (Douglas-Peucker) cuts corners off, and a corner cut off is a street that is not warned;
 * so the ring is buffered outwards by the tolerance before GEOS simplifies it with the same
 * tolerance, and the result is accepted only if GEOS finds that it covers the original
 * ring. The tolerance is searched (doubling, then bisection) for the smallest that meets
 * both the point limit and the cover, which gives the most detailed ring that warns
 * everyone in the area and as few others as it can.
 */
#include <geos_c.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safegrid/alerts.h"

typedef struct gctx {
    GEOSContextHandle_t h;
    char err[160];
} gctx;

static void geos_error_r(const char *message, void *user)
{
    gctx *g = user;
    snprintf(g->err, sizeof g->err, "%s", message);
}

static double round6(double v)
{
    double r = round(v * 1e6) / 1e6;
    return r == 0 ? 0 : r;
}

/* Reads the exterior ring of polygon poly as CAP points (lat, lon), rounded to 1e-6 degree,
 * without repeated consecutive points. On success *out is a new array the caller frees. */
static sg_err ring_points(gctx *g, const GEOSGeometry *poly, sg_alert_point **out, size_t *n_out)
{
    const GEOSGeometry *ring = GEOSGetExteriorRing_r(g->h, poly);
    const GEOSCoordSequence *cs = ring ? GEOSGeom_getCoordSeq_r(g->h, ring) : NULL;
    unsigned int n = 0;
    if (cs == NULL || !GEOSCoordSeq_getSize_r(g->h, cs, &n))
        return SG_INVAL;
    sg_alert_point *p = malloc((n ? n : 1) * sizeof(*p));
    if (p == NULL)
        return SG_NOMEM;
    size_t k = 0;
    for (unsigned int i = 0; i < n; i++) {
        double x, y;
        if (!GEOSCoordSeq_getXY_r(g->h, cs, i, &x, &y)) {
            free(p);
            return SG_INVAL;
        }
        sg_alert_point q = {round6(y), round6(x)};
        if (k > 0 && p[k - 1].lat == q.lat && p[k - 1].lon == q.lon)
            continue;
        p[k++] = q;
    }
    *out = p;
    *n_out = k;
    return SG_OK;
}

/* A polygon built from CAP points, for the cover test. NULL if GEOS refuses it. */
static GEOSGeometry *points_polygon(gctx *g, const sg_alert_point *p, size_t n)
{
    GEOSCoordSequence *cs = GEOSCoordSeq_create_r(g->h, (unsigned int)n, 2);
    if (cs == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        GEOSCoordSeq_setXY_r(g->h, cs, (unsigned int)i, p[i].lon, p[i].lat);
    GEOSGeometry *ring = GEOSGeom_createLinearRing_r(g->h, cs);
    if (ring == NULL)
        return NULL;
    return GEOSGeom_createPolygon_r(g->h, ring, NULL, 0);
}

/* One try at tolerance t: the ring of simplify(buffer(shell, t), t), rounded. Sets *ok when
 * it has at most max points and covers shell; *out then holds the points. */
static sg_err try_tolerance(gctx *g, const GEOSGeometry *shell, double t, size_t max,
                            sg_alert_point **out, size_t *n_out, int *ok)
{
    *ok = 0;
    GEOSGeometry *buf = GEOSBuffer_r(g->h, shell, t, 2);
    GEOSGeometry *simp = buf ? GEOSTopologyPreserveSimplify_r(g->h, buf, t) : NULL;
    GEOSGeom_destroy_r(g->h, buf);
    if (simp == NULL)
        return SG_NOMEM;
    sg_err err = SG_OK;
    if (GEOSGeomTypeId_r(g->h, simp) == GEOS_POLYGON && !GEOSisEmpty_r(g->h, simp)) {
        sg_alert_point *p = NULL;
        size_t n = 0;
        err = ring_points(g, simp, &p, &n);
        if (!err && n >= 4 && n <= max) {
            GEOSGeometry *cand = points_polygon(g, p, n);
            if (cand != NULL && GEOSCovers_r(g->h, cand, shell) == 1) {
                *ok = 1;
                *out = p;
                *n_out = n;
                p = NULL;
            }
            GEOSGeom_destroy_r(g->h, cand);
        }
        free(p);
    }
    GEOSGeom_destroy_r(g->h, simp);
    return err;
}

/* The CAP ring of one polygon part, within max points. */
static sg_err part_ring(gctx *g, const GEOSGeometry *part, size_t max, size_t index,
                        sg_alert_point **out, size_t *n_out, char *msg, size_t msgn)
{
    sg_alert_point *p = NULL;
    size_t n = 0;
    sg_err err = ring_points(g, part, &p, &n);
    if (err)
        return sg_errf(err, msg, msgn, "polygon part %zu: its ring cannot be read", index);
    if (n < 4) {
        free(p);
        return sg_errf(SG_INVAL, msg, msgn,
                       "polygon part %zu: fewer than 4 distinct points at 1e-6 degree", index);
    }
    if (n <= max) {
        *out = p;
        *n_out = n;
        return SG_OK;
    }
    free(p);
    const GEOSGeometry *ring = GEOSGetExteriorRing_r(g->h, part);
    GEOSGeometry *shell =
        ring ? GEOSGeom_createPolygon_r(g->h, GEOSGeom_clone_r(g->h, ring), NULL, 0) : NULL;
    double minx, miny, maxx, maxy;
    if (shell == NULL || !GEOSGeom_getXMin_r(g->h, shell, &minx) ||
        !GEOSGeom_getYMin_r(g->h, shell, &miny) || !GEOSGeom_getXMax_r(g->h, shell, &maxx) ||
        !GEOSGeom_getYMax_r(g->h, shell, &maxy)) {
        GEOSGeom_destroy_r(g->h, shell);
        return sg_errf(SG_NOMEM, msg, msgn, "polygon part %zu: GEOS: %s", index, g->err);
    }
    double diag = hypot(maxx - minx, maxy - miny);
    double lo = 0, hi = diag > 0 ? diag * 1e-5 : 1e-6;
    sg_alert_point *best = NULL;
    size_t nbest = 0;
    int ok = 0;
    for (int i = 0; i < 48 && !err; i++, hi *= 2) {
        err = try_tolerance(g, shell, hi, max, &best, &nbest, &ok);
        if (ok)
            break;
        lo = hi;
    }
    /* Bisection for a smaller tolerance that still works: more detail in the ring. */
    for (int i = 0; i < 14 && ok && !err; i++) {
        double mid = (lo + hi) / 2;
        sg_alert_point *q = NULL;
        size_t nq = 0;
        int okm = 0;
        err = try_tolerance(g, shell, mid, max, &q, &nq, &okm);
        if (okm) {
            free(best);
            best = q;
            nbest = nq;
            hi = mid;
        } else {
            lo = mid;
        }
    }
    GEOSGeom_destroy_r(g->h, shell);
    if (err || !ok) {
        free(best);
        return err ? sg_errf(err, msg, msgn, "polygon part %zu: GEOS: %s", index, g->err)
                   : sg_errf(SG_INVAL, msg, msgn,
                             "polygon part %zu: no ring of at most %zu points covers it", index,
                             max);
    }
    *out = best;
    *n_out = nbest;
    return SG_OK;
}

sg_err sg_alert_area_from_wkb(sg_alert_area *area, const char *name, const char *code,
                              const unsigned char *wkb, size_t wkb_len, size_t max_points,
                              const char *geocode_name, char *msg, size_t n)
{
    if (max_points < 4)
        return sg_errf(SG_INVAL, msg, n, "a CAP polygon needs at least 4 points; limit %zu",
                       max_points);
    if (wkb == NULL || wkb_len == 0)
        return sg_errf(SG_INVAL, msg, n, "area without geometry");
    gctx g = {.h = GEOS_init_r()};
    if (g.h == NULL)
        return sg_errf(SG_NOMEM, msg, n, "%s", sg_strerror(SG_NOMEM));
    GEOSContext_setErrorMessageHandler_r(g.h, geos_error_r, &g);
    GEOSWKBReader *rd = GEOSWKBReader_create_r(g.h);
    GEOSGeometry *geom = rd ? GEOSWKBReader_read_r(g.h, rd, wkb, wkb_len) : NULL;
    if (rd)
        GEOSWKBReader_destroy_r(g.h, rd);
    sg_alert_area tmp;
    memset(&tmp, 0, sizeof tmp);
    sg_err err = SG_OK;
    int type = geom ? GEOSGeomTypeId_r(g.h, geom) : -1;
    if (geom == NULL) {
        err = sg_errf(SG_INVAL, msg, n, "area geometry is not valid WKB: %s", g.err);
    } else if (type != GEOS_POLYGON && type != GEOS_MULTIPOLYGON) {
        char *tn = GEOSGeomType_r(g.h, geom); /* allocated by GEOS */
        err = sg_errf(SG_INVAL, msg, n, "area geometry is a %s, not a Polygon or MultiPolygon",
                      tn ? tn : "geometry of another kind");
        GEOSFree_r(g.h, tn);
    } else {
        int parts = GEOSGetNumGeometries_r(g.h, geom);
        for (int i = 0; i < parts && !err; i++) {
            const GEOSGeometry *part = GEOSGetGeometryN_r(g.h, geom, i);
            if (GEOSisEmpty_r(g.h, part))
                continue;
            sg_alert_point *p = NULL;
            size_t np = 0;
            err = part_ring(&g, part, max_points, (size_t)i + 1, &p, &np, msg, n);
            if (!err) {
                err = sg_alert_area_add_polygon(&tmp, p, np);
                if (err)
                    sg_errf(err, msg, n, "%s", sg_strerror(err));
            }
            free(p);
        }
        if (!err && tmp.n_polygons == 0)
            err = sg_errf(SG_INVAL, msg, n, "area geometry is empty");
    }
    GEOSGeom_destroy_r(g.h, geom);
    GEOS_finish_r(g.h);
    /* Move what was built into area, which gets nothing unless everything succeeds. */
    const char *desc = name && name[0] ? name : code;
    if (!err && (desc == NULL || desc[0] == '\0'))
        err = sg_errf(SG_INVAL, msg, n, "area without a name or code for areaDesc");
    size_t old_geo = area->n_geocodes;
    if (!err && geocode_name && code)
        err = sg_alert_pair_add(&area->geocodes, &area->n_geocodes, geocode_name, code);
    int set_desc = !err && area->desc == NULL;
    if (set_desc)
        err = sg_alert_strset(&area->desc, desc);
    if (!err) {
        sg_alert_polygon *pg =
            realloc(area->polygons, (area->n_polygons + tmp.n_polygons) * sizeof(*pg));
        if (pg == NULL) {
            err = SG_NOMEM;
        } else {
            memcpy(pg + area->n_polygons, tmp.polygons, tmp.n_polygons * sizeof(*pg));
            area->polygons = pg;
            area->n_polygons += tmp.n_polygons;
            free(tmp.polygons);
            return SG_OK;
        }
    }
    if (err == SG_NOMEM)
        sg_errf(err, msg, n, "%s", sg_strerror(err));
    if (set_desc)
        sg_alert_strset(&area->desc, NULL);
    while (area->n_geocodes > old_geo) {
        area->n_geocodes--;
        free(area->geocodes[area->n_geocodes].name);
        free(area->geocodes[area->n_geocodes].value);
    }
    for (size_t i = 0; i < tmp.n_polygons; i++)
        free(tmp.polygons[i].points);
    free(tmp.polygons);
    return err;
}
