/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Geometry to GeoJSON (RFC 7946), through GEOS: the one writer of geometries as GeoJSON, for
 * the API's area layers and anything else that publishes a stored geometry. Areas are kept
 * as WKB, so the writer reads WKB. RFC 7946 section 3.1.6 asks for exterior rings
 * counterclockwise and holes clockwise; GEOS's normal form is the opposite (as JTS's), so
 * a geometry is normalised and then reversed before it is written.
 *
 * A writer holds its own GEOS context, so each thread (each request) uses its own and
 * nothing is shared.
 */
#include "safegrid/geo.h"

#include <geos_c.h>
#include <stdlib.h>

struct sg_geojson_writer {
    GEOSContextHandle_t gh;
    GEOSWKBReader *rd;
    GEOSGeoJSONWriter *wr;
};

static void geos_quiet(const char *fmt, ...)
{
    (void)fmt;
}

sg_err sg_geojson_writer_new(sg_geojson_writer **out)
{
    sg_geojson_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return SG_NOMEM;
    w->gh = GEOS_init_r();
    if (w->gh) {
        GEOSContext_setNoticeHandler_r(w->gh, geos_quiet);
        GEOSContext_setErrorHandler_r(w->gh, geos_quiet);
        w->rd = GEOSWKBReader_create_r(w->gh);
        w->wr = GEOSGeoJSONWriter_create_r(w->gh);
    }
    if (w->rd == NULL || w->wr == NULL) {
        sg_geojson_writer_free(w);
        return SG_NOMEM;
    }
    *out = w;
    return SG_OK;
}

void sg_geojson_writer_free(sg_geojson_writer *w)
{
    if (w == NULL)
        return;
    if (w->wr)
        GEOSGeoJSONWriter_destroy_r(w->gh, w->wr);
    if (w->rd)
        GEOSWKBReader_destroy_r(w->gh, w->rd);
    if (w->gh)
        GEOS_finish_r(w->gh);
    free(w);
}

sg_err sg_geojson_writer_wkb(sg_geojson_writer *w, const void *wkb, size_t len, char **out)
{
    GEOSGeometry *g = GEOSWKBReader_read_r(w->gh, w->rd, wkb, len);
    if (g == NULL)
        return SG_CORRUPT;
    GEOSGeometry *ccw = GEOSNormalize_r(w->gh, g) == 0 ? GEOSReverse_r(w->gh, g) : NULL;
    char *gj = GEOSGeoJSONWriter_writeGeometry_r(w->gh, w->wr, ccw ? ccw : g, -1);
    if (ccw)
        GEOSGeom_destroy_r(w->gh, ccw);
    GEOSGeom_destroy_r(w->gh, g);
    if (gj == NULL)
        return SG_NOMEM;
    *out = gj;
    return SG_OK;
}

void sg_geojson_writer_text_free(sg_geojson_writer *w, char *text)
{
    if (text)
        GEOSFree_r(w->gh, text);
}
