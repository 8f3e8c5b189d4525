/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Geography of areas: import polygons from any vector source that GDAL reads, in any CRS,
 * into WGS84 areas with level, code, name, population and parent; and locate points in
 * them through a read-only index.
 *
 * This module knows nothing of the store. Import produces a plain array of areas (WKB
 * geometry, bbox, attributes) plus a list of problems found on the way (repairs, geometry
 * that could not be repaired, overlaps and gaps within a level, missing parents); the store
 * keeps the areas and hands (id, WKB) pairs back to sg_geo_index_build(). The index is
 * immutable once built and may be queried from many threads at once.
 *
 * Coordinates are always longitude, latitude in degrees on WGS84 (x = lon, y = lat), the
 * order of GeoJSON and of traditional GIS, whatever axis order a CRS declares.
 */
#ifndef SAFEGRID_GEO_H
#define SAFEGRID_GEO_H

#include <stddef.h>
#include <stdint.h>

#include "safegrid/error.h"

/** Area levels of grid-based governance, coarsest first. */
typedef enum {
    SG_GEO_COUNTY = 0,
    SG_GEO_TOWNSHIP = 1,
    SG_GEO_COMMUNITY = 2,
    SG_GEO_GRID = 3
} sg_geo_level;

/** Number of levels (SG_GEO_COUNTY..SG_GEO_GRID). */
#define SG_GEO_N_LEVELS 4

/** One imported area. All strings are UTF-8 and NUL-terminated. */
typedef struct sg_geo_area {
    char *code;         /**< unique within the import, never NULL */
    char *name;         /**< never NULL, "" when the source has none */
    int level;          /**< 0..3, see sg_geo_level */
    int64_t population; /**< -1 when unknown */
    char *parent_code;  /**< NULL for a top area or when no parent was found */
    unsigned char *wkb; /**< ISO WKB (little endian) Polygon or MultiPolygon, WGS84 */
    size_t wkb_len;     /**< bytes in wkb */
    double bbox[4];     /**< min lon, min lat, max lon, max lat */
    double area_m2;     /**< approximate area in square metres (local equirectangular) */
} sg_geo_area;

/** Kinds of problem that import reports. */
typedef enum {
    SG_GEO_ISSUE_REPAIRED = 0,   /**< invalid geometry made valid by GEOS; area kept */
    SG_GEO_ISSUE_UNREPAIRABLE,   /**< invalid or non-polygonal geometry; area dropped */
    SG_GEO_ISSUE_EMPTY,          /**< feature without geometry; dropped */
    SG_GEO_ISSUE_NO_CODE,        /**< feature without a code; dropped */
    SG_GEO_ISSUE_DUPLICATE_CODE, /**< code seen before in this import; later one dropped */
    SG_GEO_ISSUE_BAD_LEVEL,      /**< level field missing or not 0..3 / a level name; dropped */
    SG_GEO_ISSUE_BAD_POPULATION, /**< population not a non-negative integer; set to -1 */
    SG_GEO_ISSUE_OVERLAP,        /**< two areas of one level overlap (code, other_code) */
    SG_GEO_ISSUE_GAP,            /**< hole between areas of one level, bordered by code.. */
    SG_GEO_ISSUE_NO_PARENT,      /**< no area of a coarser level contains this one */
    SG_GEO_ISSUE_UNKNOWN_PARENT  /**< parent field names a code not in the import */
} sg_geo_issue_kind;

/** One problem found by import. */
typedef struct sg_geo_issue {
    sg_geo_issue_kind kind;
    char *code;       /**< area concerned, or NULL when the feature had no code */
    char *other_code; /**< second area of an overlap, or NULL */
    long long fid;    /**< source feature id, or -1 */
    double area_m2;   /**< size of the overlap or gap in square metres, else 0 */
    char *message;    /**< human-readable sentence, never NULL */
} sg_geo_issue;

/**
 * Progress callback: called with the number of features read so far and the total (0 when
 * the driver cannot count cheaply), at most about every 1% and once at the end.
 * Returning non-zero cancels the import, which then fails with SG_BUSY.
 */
typedef int (*sg_geo_progress_fn)(void *user, size_t done, size_t total);

/** Import options. Initialise with sg_geo_import_opts_init(), then set what you need. */
typedef struct sg_geo_import_opts {
    const char *driver;           /**< GDAL driver short name to insist on ("GeoJSON");
                                       NULL: whichever driver recognises the source */
    const char *layer;            /**< layer name; NULL for the first layer */
    const char *code_field;       /**< field with the area code; NULL: the feature id */
    const char *name_field;       /**< field with the name; NULL: name "" */
    const char *level_field;      /**< field with level 0..3 or county/township/community/
                                       grid; NULL: fixed_level */
    int fixed_level;              /**< level when level_field is NULL (default SG_GEO_GRID) */
    const char *population_field; /**< NULL: population -1 */
    const char *parent_field;     /**< field with the parent's code; NULL: by containment */
    const char *srs;              /**< override the source CRS: "EPSG:29193", a PROJ string
                                       or WKT (anything OSRSetFromUserInput takes); NULL:
                                       the CRS the file declares, else WGS84 */
    const char *encoding;         /**< text encoding of a source that does not declare one
                                       ("ISO-8859-1"); NULL: UTF-8, falling back to Latin-1
                                       for strings that are not valid UTF-8 */
    double sliver_m2;             /**< overlaps and gaps smaller than this are not reported
                                       (default 1 m^2; negative: report all) */
    int skip_topology;            /**< non-zero: do not look for overlaps and gaps */
    sg_geo_progress_fn progress;  /**< may be NULL */
    void *progress_user;          /**< passed to progress */
    const sg_geo_area *parents;   /**< areas already known (e.g. stored), searched for parents
                                       by containment besides those of this import; may be
                                       NULL */
    size_t n_parents;             /**< entries in parents */
} sg_geo_import_opts;

/** Result of an import, owned by the caller; release with sg_geo_import_free(). */
typedef struct sg_geo_import {
    sg_geo_area *areas; /**< n_areas areas, in source order */
    size_t n_areas;
    sg_geo_issue *issues; /**< n_issues problems, in the order found */
    size_t n_issues;
    size_t n_features; /**< features read from the source */
    char *source_srs;  /**< the CRS used for the source, as PROJ string or WKT */
} sg_geo_import;

/** Sets o to the defaults: everything NULL/0, fixed_level SG_GEO_GRID, sliver_m2 1. */
void sg_geo_import_opts_init(sg_geo_import_opts *o);

/**
 * Reads areas from a GDAL vector source (a file path or any GDAL connection string, also
 * /vsimem/ paths), reprojects them to WGS84, repairs invalid geometry with GEOS where it
 * can, assigns parents, and reports problems.
 *
 * @param path  source to open
 * @param opts  options; NULL for defaults
 * @param out   on SG_OK, a new sg_geo_import owned by the caller; untouched on failure
 * @param msg   buffer for a human message on failure (may be NULL)
 * @param n     size of msg
 * @return SG_OK; SG_INVAL for bad options, an unknown field or layer, an unusable CRS or
 *         coordinates that cannot be transformed; SG_IO when the source cannot be opened;
 *         SG_BUSY when the progress callback cancelled; SG_NOMEM.
 *         Problems with single features are not errors: they are listed in issues.
 */
sg_err sg_geo_import_file(const char *path, const sg_geo_import_opts *opts, sg_geo_import **out,
                          char *msg, size_t n);

/**
 * Like sg_geo_import_file(), for a source held in memory (an upload): data is exposed to
 * GDAL as a temporary in-memory file named with the extension ext ("geojson", "kml",
 * "gpkg", "topojson"...), which guides the driver. ext "zip" reads a zip archive (for
 * example a shapefile's .shp, .shx, .dbf and .prj); with it, opts->layer may name the
 * layer. data is only read, and not kept after the call. Safe to call from several
 * threads.
 * @return as sg_geo_import_file(); SG_INVAL also for an ext that is empty, longer than 15
 *         characters or not made of letters and digits.
 */
sg_err sg_geo_import_memory(const void *data, size_t len, const char *ext,
                            const sg_geo_import_opts *opts, sg_geo_import **out, char *msg,
                            size_t n);

/** Releases an import result and everything in it; NULL does nothing. */
void sg_geo_import_free(sg_geo_import *imp);

/** Returns the level for a name ("county", "township", "community", "grid") or a digit
 *  string "0".."3"; -1 when s names no level. */
int sg_geo_level_parse(const char *s);

/** Returns the name of a level ("county" ...), or "unknown". */
const char *sg_geo_level_name(int level);

/** Returns the static name of an issue kind ("repaired", "overlap", ...). */
const char *sg_geo_issue_name(sg_geo_issue_kind kind);

/* ------------------------------------------------------------------------------------ */
/* Point location                                                                       */

/** One polygon for the index: a caller-chosen id and its WGS84 WKB (as sg_geo_area.wkb). */
typedef struct sg_geo_index_item {
    int64_t id;
    const unsigned char *wkb;
    size_t wkb_len;
} sg_geo_index_item;

/** Index build options; zero-initialise for defaults. */
typedef struct sg_geo_index_opts {
    int no_grid;       /**< non-zero: no grid fast path, only STRtree + prepared geometry */
    size_t grid_cells; /**< approximate number of grid cells; 0: automatic */
} sg_geo_index_opts;

/** Opaque point-location index. */
typedef struct sg_geo_index sg_geo_index;

/** Statistics of an index, for benchmarks and diagnostics. */
typedef struct sg_geo_index_stats {
    size_t n_polygons;
    size_t grid_w, grid_h;    /**< grid size, 0 when there is no grid */
    size_t n_cells_inside;    /**< cells wholly inside one answer (no geometry test needed) */
    size_t n_cells_empty;     /**< cells outside every polygon */
    size_t n_cells_border;    /**< cells on a boundary, each split into 8 x 8 sub-cells */
    size_t n_subcells_inside; /**< sub-cells wholly inside one answer */
    size_t n_subcells_empty;  /**< sub-cells outside every polygon */
    size_t n_subcells_border; /**< sub-cells answered by GEOS at query time */
} sg_geo_index_stats;

/**
 * Builds a point-location index over n polygons. The WKB is copied; items may be freed
 * afterwards. Ids need not be unique or sorted.
 *
 * Rule for points on shared borders (and in overlaps): of all polygons that cover the
 * point (interior or boundary), the one with the smallest id wins. So a point is found by
 * exactly one area, always the same, whatever order the items came in.
 *
 * @param items  n polygons (Polygon or MultiPolygon WKB, WGS84 lon/lat)
 * @param opts   NULL for defaults
 * @param out    on SG_OK a new index owned by the caller (sg_geo_index_free); untouched on
 *               failure
 * @return SG_OK; SG_INVAL for WKB that does not parse or is not polygonal (the message
 *         names the item's id); SG_NOMEM.
 */
sg_err sg_geo_index_build(const sg_geo_index_item *items, size_t n, const sg_geo_index_opts *opts,
                          sg_geo_index **out, char *msg, size_t msgn);

/**
 * Finds the area that contains (lon, lat). Safe to call from several threads at once on
 * the same index.
 * @param out_id  on SG_OK the id of the area; untouched otherwise
 * @return SG_OK; SG_NOTFOUND when no polygon covers the point (or lon/lat is not finite);
 *         SG_NOMEM when GEOS could not allocate.
 */
sg_err sg_geo_locate(const sg_geo_index *idx, double lon, double lat, int64_t *out_id);

/** Fills *out with statistics of idx. */
void sg_geo_index_stats_get(const sg_geo_index *idx, sg_geo_index_stats *out);

/** Releases an index; NULL does nothing. */
void sg_geo_index_free(sg_geo_index *idx);

/* ---- GeoJSON ------------------------------------------------------------------------------ */

/** Writes stored geometries (WKB) as GeoJSON geometry objects (RFC 7946, exterior rings
 *  counterclockwise, holes clockwise), through GEOS: the one geometry-to-GeoJSON writer.
 *  One writer per thread. */
typedef struct sg_geojson_writer sg_geojson_writer;

/** Makes a writer. On SG_OK *out is owned by the caller, released with
 *  sg_geojson_writer_free() (NULL-safe). SG_NOMEM. */
sg_err sg_geojson_writer_new(sg_geojson_writer **out);
void sg_geojson_writer_free(sg_geojson_writer *w);

/** Writes the geometry in wkb (len bytes) as GeoJSON text into *out, owned by the caller
 *  and released with sg_geojson_writer_text_free(w, text). SG_CORRUPT if the WKB cannot be
 *  read, SG_NOMEM. */
sg_err sg_geojson_writer_wkb(sg_geojson_writer *w, const void *wkb, size_t len, char **out);
void sg_geojson_writer_text_free(sg_geojson_writer *w, char *text);

#endif
