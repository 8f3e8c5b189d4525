/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Statistics kernels for analysis and early warning (C8): neighbour weights, Getis-Ord Gi*
 * hotspots, the space-time permutation scan statistic (Kulldorff et al. 2005, the model of
 * SaTScan) and EARS surge detection on daily counts. The kernels are pure functions over plain
 * arrays: they never touch the store, so the CLI can feed them from files today and the
 * database tomorrow, and the tests can hold them against R spdep and SaTScan's own output.
 * Monte Carlo work is spread over POSIX threads; every replication or area draws from its
 * own random stream seeded from (seed, index), so results depend on the seed only, never on
 * the number of threads.
 */
#ifndef SAFEGRID_STATS_H
#define SAFEGRID_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "safegrid/error.h"

/* ------------------------------------------------------------------------------------------ */
/* Neighbour weights                                                                          */
/* ------------------------------------------------------------------------------------------ */

/** Sparse neighbour weights in compressed-row form: the neighbours of area i are
 *  nbr[start[i]] .. nbr[start[i+1]-1] with weights w[...] (same positions). Rows are sorted
 *  by neighbour index. An area is not its own neighbour unless a function says so. */
typedef struct sg_weights {
    size_t n;      /**< number of areas */
    size_t *start; /**< n + 1 row offsets */
    size_t *nbr;   /**< start[n] neighbour indices */
    double *w;     /**< start[n] weights (1.0 for binary weights) */
} sg_weights;

/** Kind of contiguity between polygons or grid cells. */
typedef enum {
    SG_CONTIG_QUEEN, /**< at least one boundary point in common */
    SG_CONTIG_ROOK   /**< at least two boundary points in common (a shared edge) */
} sg_contiguity;

/** Builds binary contiguity weights between polygons, as R spdep::poly2nb does: two polygons
 *  are neighbours when boundary vertices of both lie within snap of each other (queen: one
 *  such point, rook: two or more). xy holds the vertices of every ring of every polygon as
 *  x,y pairs; the vertices of polygon p are xy[2*poly_start[p]] .. xy[2*poly_start[p+1]-1]
 *  (rings may simply follow each other). snap < 0 means spdep's default,
 *  sqrt(DBL_EPSILON). On SG_OK *out is a new sg_weights owned by the caller (free with
 *  sg_weights_free). Errors: SG_INVAL (NULL or n_poly == 0, decreasing offsets), SG_NOMEM. */
sg_err sg_weights_contiguity(const double *xy, const size_t *poly_start, size_t n_poly,
                             sg_contiguity kind, double snap, sg_weights **out);

/** Binary contiguity weights of a regular nx by ny grid; cell (cx, cy) has index cy*nx+cx.
 *  Ownership and errors as sg_weights_contiguity (SG_TOOBIG if nx*ny overflows). */
sg_err sg_weights_grid(size_t nx, size_t ny, sg_contiguity kind, sg_weights **out);

/** Binary weights to the k nearest other points (Euclidean; ties broken by index), as
 *  spdep::knearneigh + knn2nb. The result is not symmetric in general. xy holds n points as
 *  x,y pairs. Errors: SG_INVAL (k == 0 or k >= n), SG_NOMEM. */
sg_err sg_weights_knn(const double *xy, size_t n, unsigned k, sg_weights **out);

/** Binary weights to every other point within distance d (0 < dist <= d), as spdep::dnearneigh
 *  with lower bound 0. Errors: SG_INVAL (d <= 0 or not finite), SG_NOMEM. */
sg_err sg_weights_band(const double *xy, size_t n, double d, sg_weights **out);

/** Polygons read through GDAL/OGR for contiguity weights and GeoJSON output. */
typedef struct sg_stats_polys {
    size_t n;       /**< number of features with a polygon geometry */
    char **id;      /**< n ids (the id field's text, or the feature number) */
    double *xy;     /**< all ring vertices as x,y pairs */
    size_t *start;  /**< n + 1 offsets (in vertices) into xy */
    double *cx;     /**< n centroid x */
    double *cy;     /**< n centroid y */
    char **geojson; /**< n GeoJSON geometry texts, in the file's coordinates */
} sg_stats_polys;

/** Reads every polygon or multipolygon feature of the first layer of a file GDAL can open
 *  (MapInfo, Shapefile, GeoPackage, GeoJSON...). id_field names the attribute used as id
 *  (NULL: the 0-based feature number). On SG_OK *out is owned by the caller
 *  (sg_stats_polys_free). Errors: SG_IO (cannot open), SG_NOTFOUND (no such field),
 *  SG_INVAL (no polygons), SG_NOMEM. */
sg_err sg_stats_polys_read(const char *path, const char *id_field, sg_stats_polys **out, char *msg,
                           size_t msg_len);

/** The polygons of n WKB geometries in memory (ids[i] for wkb[i], wkb_len[i] bytes), as
 *  sg_stats_polys_read gives them from a file: for areas already in memory (the store's),
 *  so that nothing is written to disk to read them back. Non-polygon geometries are left
 *  out. On SG_OK *out is owned by the caller (sg_stats_polys_free). Errors: SG_INVAL (a
 *  geometry GDAL cannot read, or no polygons), SG_NOMEM. */
sg_err sg_stats_polys_from_wkb(size_t n, const char *const *ids, const unsigned char *const *wkb,
                               const size_t *wkb_len, sg_stats_polys **out, char *msg,
                               size_t msg_len);

/** Releases polygons read by sg_stats_polys_read. NULL-safe. */
void sg_stats_polys_free(sg_stats_polys *p);

/** Releases weights made by the functions above. NULL-safe. */
void sg_weights_free(sg_weights *w);

/* ------------------------------------------------------------------------------------------ */
/* Getis-Ord Gi*                                                                              */
/* ------------------------------------------------------------------------------------------ */

/** Options of sg_gistar_run; sg_gistar_opts_init sets the defaults. */
typedef struct sg_gistar_opts {
    int include_self;   /**< Gi* (1, default) adds each area to its own neighbours with weight
                             1 when absent; 0 computes Gi (spdep localG without self). */
    unsigned n_perm;    /**< conditional permutations for pseudo p-values (default 999; 0
                             skips them) */
    uint64_t seed;      /**< random seed (default 1) */
    unsigned n_threads; /**< 0 = all online processors */
    int spdep_perm;     /**< 0 (default): conditional permutation, area i keeps its value (as
                             PySAL esda); 1: with include_self, area i's own slot is drawn from
                             the others as well, as spdep::localG_perm 1.2 does */
    double fdr_q;       /**< Benjamini-Hochberg false-discovery rate for `significant`, on the
                             permutation p-values (or the normal p-values if n_perm == 0);
                             default 0.05 */
} sg_gistar_opts;

/** Sets the defaults documented in sg_gistar_opts. */
void sg_gistar_opts_init(sg_gistar_opts *o);

/** Results of sg_gistar_run; every array has n entries and belongs to the structure. */
typedef struct sg_gistar_result {
    size_t n;
    double *z;      /**< Gi* z-scores (spdep::localG values) */
    double *p_norm; /**< two-sided p-values of z under the normal approximation */
    double *p_sim;  /**< folded pseudo p-values (min(ge, le) + 1) / (n_perm + 1); NULL when
                         n_perm == 0 */
    signed char *significant; /**< +1 hot spot, -1 cold spot, 0 neither, after FDR */
} sg_gistar_result;

/** Computes Gi* (or Gi) of the values x[0..n-1] with weights w (w->n == n). Conditional
 *  permutation: for area i its own value stays, the values at its other neighbours are drawn
 *  without replacement from the other n-1 values, from a stream seeded by (seed, i).
 *  On SG_OK *out is filled with new arrays owned by the caller (sg_gistar_result_fini);
 *  on error *out is untouched. Errors: SG_INVAL (NULL, n < 3, mismatched n, non-finite
 *  value, constant x), SG_NOMEM; msg (size msg_len, may be NULL) gets the reason. */
sg_err sg_gistar_run(const double *x, size_t n, const sg_weights *w, const sg_gistar_opts *o,
                     sg_gistar_result *out, char *msg, size_t msg_len);

/** Releases the arrays of r and zeroes it. NULL-safe. */
void sg_gistar_result_fini(sg_gistar_result *r);

/** Benjamini-Hochberg: sets keep[i] = 1 for the p-values p[0..n-1] that are discoveries at
 *  false-discovery rate q, 0 for the others. Errors: SG_INVAL, SG_NOMEM. */
sg_err sg_stats_fdr(const double *p, size_t n, double q, unsigned char *keep);

/* ------------------------------------------------------------------------------------------ */
/* Space-time permutation scan statistic                                                      */
/* ------------------------------------------------------------------------------------------ */

/** Input of the scan: n_loc locations with coordinates in dim (2 or 3) dimensions (any
 *  Cartesian unit; use sg_scan_latlon_to_xyz for latitude/longitude, which gives km), and
 *  the number of cases at each location in each of n_times consecutive time units (days),
 *  location-major: counts[loc * n_times + t]. Nothing is copied beyond the run. */
typedef struct sg_scan_input {
    size_t n_loc;
    unsigned dim;
    const double *coord; /**< n_loc * dim */
    size_t n_times;
    const uint32_t *counts; /**< n_loc * n_times */
} sg_scan_input;

/** Progress callback: done of total Monte Carlo replications finished. Called from worker
 *  threads, serialised by the library. */
typedef void (*sg_progress_fn)(void *ctx, unsigned done, unsigned total);

/** Options of sg_scan_run; sg_scan_opts_init sets SaTScan's defaults. */
typedef struct sg_scan_opts {
    int prospective;         /**< 0 retrospective (default); 1: only windows ending at the last
                                  time unit ("alive" clusters) */
    double max_share;        /**< largest share of all cases in a circle (0, 0.5]; default 0.5 */
    double max_radius;       /**< largest radius in coordinate units; 0 = no limit (default) */
    unsigned max_window;     /**< longest time window in time units; 0 = half the period */
    unsigned min_window;     /**< shortest time window (default 1) */
    unsigned min_cases;      /**< fewest cases in a reported high-rate cluster (default 2) */
    unsigned n_reps;         /**< Monte Carlo replications (default 999; 0 = none) */
    uint64_t seed;           /**< random seed (default 12345678) */
    unsigned n_threads;      /**< 0 = all online processors */
    unsigned max_clusters;   /**< most clusters to report, 0 = all that do not overlap */
    sg_progress_fn progress; /**< may be NULL */
    void *progress_ctx;
} sg_scan_opts;

/** Sets the defaults documented in sg_scan_opts. */
void sg_scan_opts_init(sg_scan_opts *o);

/** One cluster: a cylinder centred on location `centre` holding locs[0..n_locs-1] (nearest
 *  first) during time units t_start..t_end (inclusive). */
typedef struct sg_scan_cluster {
    size_t centre;
    size_t n_locs;
    size_t *locs;
    double radius; /**< distance from the centre to the farthest included location */
    double span;   /**< largest distance between two included locations */
    unsigned t_start, t_end;
    unsigned long observed;
    double expected;
    double llr;     /**< log-likelihood ratio, the test statistic */
    double p_value; /**< Monte Carlo p-value, rank / (n_reps + 1); 1 when n_reps == 0 */
} sg_scan_cluster;

/** Result of sg_scan_run: the most likely cluster first, then secondary clusters that share
 *  no location-and-time with any cluster above them (SaTScan's "no geographical overlap"
 *  in space-time), by decreasing test statistic. Owned by the caller; sg_scan_result_fini. */
typedef struct sg_scan_result {
    size_t n_clusters;
    sg_scan_cluster *clusters;
    unsigned long total_cases;
    unsigned n_reps;
    double *sim_llr; /**< the n_reps simulated maxima, in replication order */
} sg_scan_result;

/** Converts latitude/longitude in degrees to Cartesian km on a sphere of radius 6367 km,
 *  exactly as SaTScan does (inputs rounded to float first), so that distances, circles
 *  and radii agree with SaTScan's. */
void sg_scan_latlon_to_xyz(double lat, double lon, double out[3]);

/** Runs the space-time permutation scan. Expected cases in a cylinder are
 *  (cases of its locations over the whole period) * (cases of all locations in its time
 *  window) / (all cases); only windows with more cases than expected and at least
 *  min_cases are candidates. Replication r permutes the case times with a stream seeded by
 *  (seed, r). On SG_OK *out owns new memory; on error it is untouched. Errors: SG_INVAL
 *  (bad input or options; msg says which), SG_NOMEM, SG_TOOBIG (more than 2^31 cases). */
sg_err sg_scan_run(const sg_scan_input *in, const sg_scan_opts *o, sg_scan_result *out, char *msg,
                   size_t msg_len);

/** Releases what r owns and zeroes it. NULL-safe. */
void sg_scan_result_fini(sg_scan_result *r);

/* ------------------------------------------------------------------------------------------ */
/* SaTScan files                                                                              */
/* ------------------------------------------------------------------------------------------ */

/** The settings of a SaTScan parameter (.prm) file that safegrid understands. */
typedef struct sg_satscan_params {
    char case_file[512];
    char coord_file[512];
    char results_file[512];
    int latlon;      /**< CoordinatesType: 1 latitude/longitude, 0 Cartesian */
    int prospective; /**< AnalysisType 4 (1) or 3 (0) */
    int start_y, start_m, start_d, end_y, end_m, end_d;
    double max_spatial_pct;   /**< MaxSpatialSizeInPopulationAtRisk */
    double max_distance;      /**< 0 unless UseDistanceFromCenterOption=y */
    int max_temporal_is_time; /**< MaxTemporalSizeInterpretation */
    double max_temporal;      /**< percent of the period, or days */
    unsigned min_temporal;
    unsigned min_cases;
    unsigned reps;
    int relaxed_dates; /**< StudyPeriodCheckType=1: cases outside the period are skipped */
} sg_satscan_params;

/** Parses the text of a SaTScan .prm file (len bytes, need not be NUL-terminated). Only the
 *  space-time permutation model with day precision is supported; any other value of a
 *  setting that changes the analysis is refused with SG_UNSUPPORTED and msg naming the
 *  setting and its value. Errors: SG_INVAL (malformed value), SG_UNSUPPORTED. *out is
 *  written only on SG_OK. */
sg_err sg_satscan_prm_parse(const char *text, size_t len, sg_satscan_params *out, char *msg,
                            size_t msg_len);

/** Locations and case counts read from a SaTScan coordinates and case file. */
typedef struct sg_satscan_data {
    size_t n_loc;
    char **loc_id;    /**< n_loc NUL-terminated ids, in coordinates-file order */
    double *coord;    /**< n_loc * 2 as written in the file (lat, lon or x, y) */
    size_t n_times;   /**< days in the study period */
    uint32_t *counts; /**< n_loc * n_times, location-major */
    unsigned long total_cases;
} sg_satscan_data;

/** Parses a coordinates file (geo, "id coord1 coord2" per line) and a case file (cas,
 *  "id count YYYY/MM/DD" per line) for the study period of p. Every case location must be in
 *  the coordinates file and every date inside the period. On SG_OK *out is new memory owned
 *  by the caller (sg_satscan_data_free). Errors: SG_INVAL or SG_CORRUPT (line numbers in
 *  msg), SG_TOOBIG (over 10 million locations or 2^31 cases), SG_NOMEM. */
sg_err sg_satscan_data_parse(const char *geo, size_t geo_len, const char *cas, size_t cas_len,
                             const sg_satscan_params *p, sg_satscan_data **out, char *msg,
                             size_t msg_len);

/** Reads a .prm file and the case and coordinates files it names (relative names are taken
 *  relative to the .prm file's folder). On SG_OK *params and *data are set (data owned by the
 *  caller). Errors: those of the parsers, SG_IO when a file cannot be read. */
sg_err sg_satscan_load(const char *prm_path, sg_satscan_params *params, sg_satscan_data **data,
                       char *msg, size_t msg_len);

/** Fills scan options from p (max share, radius, window lengths for n_times days, minimum
 *  cases, replications) on top of sg_scan_opts_init's defaults. */
void sg_satscan_scan_opts(const sg_satscan_params *p, size_t n_times, sg_scan_opts *o);

/** The scan's coordinates for d's locations into caller-owned xyz (d->n_loc * 3 doubles):
 *  latitude/longitude through sg_scan_latlon_to_xyz when p says so, else x, y and 0. */
void sg_satscan_data_xyz(const sg_satscan_data *d, const sg_satscan_params *p, double *xyz);

/** Releases data. NULL-safe. */
void sg_satscan_data_free(sg_satscan_data *d);

/* ------------------------------------------------------------------------------------------ */
/* Surge detection (CDC EARS)                                                                 */
/* ------------------------------------------------------------------------------------------ */

/** The EARS methods (Hutwagner et al. 2003): C1 compares a day with the mean and standard
 *  deviation of the 7 days before it, C2 with days t-9..t-3 (a two-day guard band), and C3
 *  sums max(0, C2 - 1) over days t-2..t. Defaults: alarm when C1 or C2 > 3, C3 > 2. */
typedef enum { SG_EARS_C1 = 1, SG_EARS_C2 = 2, SG_EARS_C3 = 3 } sg_ears_method;

/** Options of sg_surge_ears. */
typedef struct sg_surge_opts {
    sg_ears_method method; /**< default SG_EARS_C2 */
    double threshold;      /**< 0 = the method's default (3, 3, 2) */
    double min_sigma;      /**< floor for the baseline standard deviation (default 0.5), so
                                that a flat baseline of zeros does not alarm on one case */
    unsigned min_count;    /**< no alarm on days with fewer cases (default 1) */
} sg_surge_opts;

/** Sets the defaults documented in sg_surge_opts. */
void sg_surge_opts_init(sg_surge_opts *o);

/** Computes the EARS statistic of every day of the daily series x[0..n-1] into stat[] and
 *  sets alarm[t] to 1 where it exceeds the threshold. Days without a full baseline (the first
 *  7, 9 or 11) get stat NAN and alarm 0. Errors: SG_INVAL (NULL, negative or non-finite
 *  counts, unknown method). */
sg_err sg_surge_ears(const double *x, size_t n, const sg_surge_opts *o, double *stat,
                     unsigned char *alarm);

#endif
