/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Hand-made area hierarchies for the HTTP tests, whose subject is access control, routing
 * and output formats rather than real borders: each area is a code, a name, a level, a
 * parent code and a polygon in WKT, stored as ISO WKB (written by GEOS) with its bounding
 * box.
 */
#ifndef SAFEGRID_TESTAREAS_H
#define SAFEGRID_TESTAREAS_H

#include <geos_c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safegrid/store.h"

typedef struct tu_area {
    const char *code, *name;
    int level;
    const char *parent; /* "" for none */
    const char *wkt;    /* a polygon, WGS84 lon/lat */
    int64_t population; /* -1 for unknown */
} tu_area;

/* Stores the n areas in one transaction; aborts the test program if anything fails. */
static inline void tu_put_areas(sg_store *s, const tu_area *areas, size_t n)
{
    GEOSContextHandle_t g = GEOS_init_r();
    GEOSWKTReader *rd = GEOSWKTReader_create_r(g);
    GEOSWKBWriter *wr = GEOSWKBWriter_create_r(g);
    sg_area_row *rows = calloc(n, sizeof *rows);
    if (g == NULL || rd == NULL || wr == NULL || rows == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        GEOSGeometry *geom = GEOSWKTReader_read_r(g, rd, areas[i].wkt);
        if (geom == NULL) {
            fprintf(stderr, "bad WKT for area %s\n", areas[i].code);
            abort();
        }
        rows[i].wkb = GEOSWKBWriter_write_r(g, wr, geom, &rows[i].wkb_len);
        GEOSGeom_getXMin_r(g, geom, &rows[i].bbox[0]);
        GEOSGeom_getYMin_r(g, geom, &rows[i].bbox[1]);
        GEOSGeom_getXMax_r(g, geom, &rows[i].bbox[2]);
        GEOSGeom_getYMax_r(g, geom, &rows[i].bbox[3]);
        GEOSGeom_destroy_r(g, geom);
        snprintf(rows[i].code, sizeof rows[i].code, "%s", areas[i].code);
        rows[i].name = (char *)areas[i].name;
        rows[i].level = areas[i].level;
        snprintf(rows[i].parent_code, sizeof rows[i].parent_code, "%s", areas[i].parent);
        rows[i].population = areas[i].population;
    }
    char msg[160];
    if (sg_store_areas_put(s, rows, n, NULL, NULL, NULL, msg, sizeof msg) != SG_OK) {
        fprintf(stderr, "areas: %s\n", msg);
        abort();
    }
    for (size_t i = 0; i < n; i++)
        GEOSFree_r(g, rows[i].wkb);
    free(rows);
    GEOSWKBWriter_destroy_r(g, wr);
    GEOSWKTReader_destroy_r(g, rd);
    GEOS_finish_r(g);
}

#endif
