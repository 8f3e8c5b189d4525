/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The cases of a database as the input of the analyses (src/analysis/analyze_db.c): the
 * areas of one level with their polygons, centroids and case counts, and every matching
 * case as a place and a local calendar day. The statistics kernels (stats.h) are pure
 * functions over arrays; this module is the one place that reads those arrays from the
 * store, so that the command line and the HTTP API analyse the same data.
 *
 * Only places and times leave the database: area codes, days and categories, never a
 * case's text or anyone's details.
 */
#ifndef SAFEGRID_ANALYZE_H
#define SAFEGRID_ANALYZE_H

#include <stddef.h>
#include <stdint.h>

#include "safegrid/error.h"
#include "safegrid/store.h"

/** Which cases, and the level and calendar they are counted in. */
typedef struct sg_analysis_query {
    const char *type;     /**< only this case type, or NULL */
    const char *category; /**< only this category, or NULL */
    int64_t from, to;     /**< created in [from, to) (Unix seconds); 0: open */
    const char *tz;       /**< zone of the calendar days (NULL or "UTC": UTC) */
    int level;            /**< 0 county .. 3 grid: the areas cases are counted in */
} sg_analysis_query;

/** An area of the query's level. */
typedef struct sg_analysis_area {
    const char *code;
    const unsigned char *wkb; /**< WGS84 polygon, or NULL when the area has none */
    size_t wkb_len;
    double lon, lat; /**< centroid (NAN when there is no polygon) */
    long n_cases;    /**< matching cases inside it */
} sg_analysis_area;

/** A matching case. */
typedef struct sg_analysis_case {
    long area;            /**< index into areas, or -1 when it lies in no area of the level */
    int64_t day;          /**< local calendar day, days since 1970-01-01 */
    const char *own_area; /**< code of its own (finest) area, "" when none */
    const char *category;
} sg_analysis_case;

/** What sg_analysis_load returns. */
typedef struct sg_analysis_data {
    size_t n_areas;
    sg_analysis_area *areas; /**< the level's areas, by id */
    size_t n_cases;
    sg_analysis_case *cases;     /**< every matching case, newest first */
    long n_unplaced;             /**< cases in no area of the level */
    int64_t first_day, last_day; /**< the study period: the local days of q's from and to - 1,
                                      or else of the first and last case in an area (both 0
                                      when no case lies in one) */
    void *priv;                  /**< the memory behind the strings and polygons */
} sg_analysis_data;

/** Reads the cases of q and the areas of its level from s. On SG_OK *out is new memory
 *  owned by the caller (sg_analysis_free). Errors: SG_INVAL for an unknown zone, a level
 *  outside 0..3 or an area polygon GDAL cannot read (msg says which); those of the store;
 *  SG_NOMEM. */
sg_err sg_analysis_load(sg_store *s, const sg_analysis_query *q, sg_analysis_data **out, char *msg,
                        size_t n);

/** Releases d. NULL-safe. */
void sg_analysis_free(sg_analysis_data *d);

/** Writes the level's polygons as a GeoJSON FeatureCollection with a "code" property, in
 *  area order, to path. SG_IO (msg says why) if it cannot be written. */
sg_err sg_analysis_write_polygons(const sg_analysis_data *d, const char *path, char *msg, size_t n);

#endif
