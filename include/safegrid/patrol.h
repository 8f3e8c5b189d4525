/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Patrol beats (C9): the areas of a district split into K contiguous beats of nearly equal
 * workload. The kernels are pure functions over arrays -- workload per area, neighbour lists
 * (the contiguity weights of safegrid/stats.h, equal to spdep's), polygons as WKB -- so that
 * tests can hold them against gpmetis and networkx and benchmarks can time them alone. Only
 * sg_patrol_plan_db touches the store, and it reads places, categories and times, never a
 * case's text or anyone's details.
 *
 * Method: METIS k-way partitioning with its contiguity option and the areas' workloads as
 * vertex weights, then a refinement that moves boundary areas between neighbouring beats,
 * keeping every beat connected, until each beat is within a tolerance (default +-5 %) of the
 * mean workload; a move from a heavier beat to a lighter one never raises the heaviest beat
 * nor lowers the lightest, so the refinement cannot make METIS's balance worse. Areas
 * without neighbours (islands) follow the nearest area by centroid distance.
 */
#ifndef SAFEGRID_PATROL_H
#define SAFEGRID_PATROL_H

#include <stddef.h>
#include <stdint.h>

#include "safegrid/error.h"
#include "safegrid/stats.h"
#include "safegrid/store.h"

/* ------------------------------------------------------------------------------------------ */
/* Workload by category and time band                                                         */
/* ------------------------------------------------------------------------------------------ */

/** The four time bands of a day. */
typedef enum {
    SG_BAND_NIGHT = 0,   /**< from night_start to morning_start (across midnight) */
    SG_BAND_MORNING = 1, /**< morning peak: morning_start to day_start */
    SG_BAND_DAY = 2,     /**< day_start to evening_start */
    SG_BAND_EVENING = 3, /**< evening peak: evening_start to night_start */
    SG_BAND_COUNT = 4
} sg_patrol_band;

/** Band boundaries in minutes after local midnight; sg_patrol_bands_init sets the defaults
 *  06:30, 09:00, 17:00, 20:00. They must satisfy 0 <= morning < day < evening < night <
 *  1440 (the night band wraps round midnight). */
typedef struct sg_patrol_bands {
    int morning_start, day_start, evening_start, night_start;
} sg_patrol_bands;

/** Sets the default boundaries documented in sg_patrol_bands. */
void sg_patrol_bands_init(sg_patrol_bands *b);

/** The band of a local time of day (minute 0..1439). SG_INVAL for bad boundaries or
 *  minute; *out set only on SG_OK. */
sg_err sg_patrol_band_of(const sg_patrol_bands *b, int minute, sg_patrol_band *out);

/** The name of a band ("night", "morning", "day", "evening"); NULL for an unknown value. */
const char *sg_patrol_band_name(sg_patrol_band b);

/** Parses a band name as sg_patrol_band_name writes it, or "all". *out is SG_BAND_COUNT for
 *  "all". SG_INVAL for anything else. */
sg_err sg_patrol_band_parse(const char *name, sg_patrol_band *out);

/** One row of a category weight table: cases of `category` count `weight` units of
 *  workload. A category ending in '*' matches every category that starts with the text
 *  before it; the longest match wins; exact matches beat patterns. Matching ignores ASCII
 *  case. */
typedef struct sg_patrol_weight {
    const char *category;
    double weight;
} sg_patrol_weight;

/** The table that ships with safegrid (docs/patrol.md gives it with its reasons): a static
 *  array of *n rows; categories that match no row weigh 1. */
const sg_patrol_weight *sg_patrol_weights_default(size_t *n);

/** The weight of a category under table (n rows; NULL with n == 0 gives 1 for all). */
double sg_patrol_weight_of(const sg_patrol_weight *table, size_t n, const char *category);

/** A case as the workload needs it: where and when, and what kind. */
typedef struct sg_patrol_case {
    size_t area;          /**< index of its area, 0..n_areas-1 */
    const char *category; /**< category code (borrowed) */
    int minute;           /**< local time of day, minutes after midnight 0..1439 */
} sg_patrol_case;

/** Workload per band and area: out[band * n_areas + area] (caller-owned, SG_BAND_COUNT *
 *  n_areas doubles, zeroed here) is the sum of the weights of the area's cases in the band.
 *  Errors: SG_INVAL (NULL, area out of range, bad minute or boundaries, negative or
 *  non-finite weight; msg names the case); out is then unspecified. */
sg_err sg_patrol_workload(const sg_patrol_case *cases, size_t n_cases, size_t n_areas,
                          const sg_patrol_weight *table, size_t n_table, const sg_patrol_bands *b,
                          double *out, char *msg, size_t msg_len);

/* ------------------------------------------------------------------------------------------ */
/* Partition into beats                                                                       */
/* ------------------------------------------------------------------------------------------ */

/** What the partition works on. Arrays are borrowed for the call. */
typedef struct sg_patrol_input {
    size_t n;                        /**< number of areas */
    const double *workload;          /**< n finite values >= 0 */
    const sg_weights *adj;           /**< contiguity (symmetric; weights ignored), adj->n == n */
    const double *cx, *cy;           /**< n centroids in a planar CRS, or NULL: then taken
                                          from wkb (needed only when there are islands) */
    const unsigned char *const *wkb; /**< n polygons as WKB in a planar CRS, or NULL: then
                                          no compactness is computed */
    const size_t *wkb_len;           /**< n lengths of wkb */
    unsigned k;                      /**< number of beats, 1..n */
} sg_patrol_input;

/** Options of sg_patrol_partition; sg_patrol_opts_init sets the defaults. */
typedef struct sg_patrol_opts {
    double tolerance;   /**< each beat within (1 +- tolerance) * mean; default 0.05 */
    int metis_ufactor;  /**< METIS load imbalance in 1/1000 (METIS_OPTION_UFACTOR); default
                             30, gpmetis's own default for k-way */
    int seed;           /**< METIS_OPTION_SEED; default -1 (METIS's own default) */
    unsigned max_moves; /**< most refinement moves; 0 = 20 * n */
    int refine;         /**< 1 (default) refine for balance; 0 METIS's partition as is */
    int attach_groups;  /**< 0 (default): areas in separate groups (no chain of neighbours
                             between them) make the plan infeasible; 1: every group but the
                             largest is attached whole to the nearest area, as islands are */
} sg_patrol_opts;

/** Sets the defaults documented in sg_patrol_opts. */
void sg_patrol_opts_init(sg_patrol_opts *o);

/** One beat of a plan. */
typedef struct sg_patrol_beat {
    double workload;      /**< sum of its areas' workloads */
    double share;         /**< workload / mean workload per beat */
    size_t n_areas;       /**< areas in the beat, islands included */
    int contiguous;       /**< 1 when its non-island areas are connected by the contiguity */
    double area;          /**< area of the union of its polygons (CRS units^2); NAN without wkb */
    double perimeter;     /**< length of the union's boundary, holes included; NAN without wkb */
    double polsby_popper; /**< 4 pi area / perimeter^2 of the union; NAN without wkb */
} sg_patrol_beat;

/** A plan: the beat of every area and figures per beat. Owned by the caller;
 *  sg_patrol_plan_fini releases it. */
typedef struct sg_patrol_plan {
    size_t n;
    unsigned k;
    unsigned *beat;         /**< n beat labels 0..k-1 */
    sg_patrol_beat *beats;  /**< k beats */
    size_t edge_cut;        /**< contiguity edges between areas of different beats */
    size_t metis_edge_cut;  /**< the edge cut of METIS's partition before refinement */
    double metis_imbalance; /**< max beat workload / mean, before refinement */
    double imbalance;       /**< max beat workload / mean, after refinement */
    double min_share;       /**< min beat workload / mean, after refinement */
    size_t n_moves;         /**< areas moved by the refinement */
    size_t n_islands;       /**< areas attached to the nearest area: those without neighbours
                                 and, with attach_groups, those of the smaller groups */
    int feasible;           /**< 1 when every beat is contiguous and within the tolerance */
    char reason[256];       /**< why not, when feasible == 0 */
} sg_patrol_plan;

/** Partitions in->n areas into in->k contiguous beats balanced by workload. On SG_OK *out
 *  holds a plan owned by the caller (sg_patrol_plan_fini), and out->feasible says whether the
 *  bounds were met; when not, out->reason says why (an area heavier than the upper bound
 *  alone, areas in separate groups that contiguous beats cannot span, more beats than areas
 *  can support, or no move left that keeps the beats connected) and the plan is the best
 *  found. Errors (out untouched): SG_INVAL (NULL, n == 0, k == 0 or k > n, negative or
 *  non-finite workload, asymmetric or mismatched adjacency, unreadable WKB, tolerance not in
 *  (0, 1)), SG_NOMEM, SG_IO (METIS failed); msg gets the reason. */
sg_err sg_patrol_partition(const sg_patrol_input *in, const sg_patrol_opts *o, sg_patrol_plan *out,
                           char *msg, size_t msg_len);

/** Releases what p owns and zeroes it. NULL-safe. */
void sg_patrol_plan_fini(sg_patrol_plan *p);

/** Polsby-Popper compactness 4 pi A / P^2 of the union of n polygons given as WKB (planar
 *  CRS); area and perimeter (may be NULL) get A and P. Errors: SG_INVAL (n == 0, unreadable
 *  WKB, empty or non-polygonal union), SG_NOMEM. */
sg_err sg_patrol_polsby_popper(const unsigned char *const *wkb, const size_t *wkb_len, size_t n,
                               double *out, double *area, double *perimeter);

/** Writes a graph in the METIS graph format (the one gpmetis reads): a header "n m 010" and
 *  one line per area with its integer vertex weight followed by its 1-based neighbours.
 *  Vertex weights are the workloads scaled as sg_patrol_partition scales them for METIS
 *  (sg_patrol_metis_weights). Errors: SG_INVAL, SG_IO (cannot write path). */
sg_err sg_patrol_write_metis_graph(const char *path, const sg_weights *adj, const double *workload,
                                   char *msg, size_t msg_len);

/** The integer vertex weights METIS gets: round(workload * scale) where scale makes the
 *  total about 10^6 (METIS's weights are 32-bit). out has n entries (caller-owned). */
void sg_patrol_metis_weights(const double *workload, size_t n, int32_t *out);

/* ------------------------------------------------------------------------------------------ */
/* Re-planning                                                                                */
/* ------------------------------------------------------------------------------------------ */

/** Relabels a new plan so that it keeps the old plan's beat labels as far as possible: the
 *  labels are assigned by the Hungarian algorithm (Kuhn-Munkres) to maximise the total
 *  number of areas whose label stays, over all one-to-one matchings of new beats to old
 *  labels. New beats left unmatched (k_new > k_old) get the labels k_old, k_old+1, ... in
 *  order. old_beat[i] == UINT32_MAX marks an area not in the old plan. new_beat (n labels
 *  < k_new) is rewritten in place; *moved_share (may be NULL) gets the share of the areas
 *  of the old plan whose label changed. Errors: SG_INVAL (labels out of range), SG_NOMEM. */
sg_err sg_patrol_relabel(const uint32_t *old_beat, unsigned k_old, unsigned *new_beat,
                         unsigned k_new, size_t n, double *moved_share);

/* ------------------------------------------------------------------------------------------ */
/* A plan from a database                                                                     */
/* ------------------------------------------------------------------------------------------ */

/** What sg_patrol_plan_db plans. */
typedef struct sg_patrol_db_opts {
    const char *district;     /**< code of the district whose areas are split; NULL or "":
                                   every area at `level` */
    int level;                /**< level of the areas to split, 0 county .. 3 grid (default 3) */
    unsigned k;               /**< number of beats */
    sg_patrol_band band;      /**< one band, or SG_BAND_COUNT for all day */
    sg_patrol_bands bands;    /**< band boundaries */
    const char *tz;           /**< zone of local time: IANA name or +hh:mm (NULL: UTC) */
    const char *type;         /**< only cases of this type (NULL: all) */
    int64_t from, to;         /**< created_at in [from, to) when non-zero */
    sg_contiguity contiguity; /**< default SG_CONTIG_QUEEN */
    sg_patrol_opts part;      /**< partition options */
    const char *geojson_path; /**< where to write the beats' areas as GeoJSON (NULL: not) */
    const char *table_path;   /**< where to write the table of beats as CSV (NULL: not) */
} sg_patrol_db_opts;

/** Sets defaults: level 3, all-day band, default band boundaries, UTC, queen contiguity,
 *  sg_patrol_opts_init's partition options; everything else zero. */
void sg_patrol_db_opts_init(sg_patrol_db_opts *o);

/** The result of sg_patrol_plan_db: the plan and its areas' codes. */
typedef struct sg_patrol_db_plan {
    sg_patrol_plan plan;
    char **code;       /**< plan.n area codes */
    size_t n_cases;    /**< cases counted */
    size_t n_unplaced; /**< cases matching the filters outside the district's areas */
    double *workload;  /**< plan.n workloads of the areas in the band */
} sg_patrol_db_plan;

/** Plans beats for the areas of a district from the cases in store s (borrowed; the
 *  caller opened it and closes it): the workload of an
 *  area is the sum of the weights (sg_patrol_weights_default) of its cases in the band;
 *  polygons are projected to a local planar CRS for compactness and distances. Writes the
 *  GeoJSON and table when asked. On SG_OK *out is owned by the caller
 *  (sg_patrol_db_plan_fini). Errors: SG_IO (database or files), SG_NOTFOUND (no such
 *  district, or no areas at the level in it), SG_INVAL (bad options), SG_NOMEM; msg says
 *  which. */
sg_err sg_patrol_plan_db(sg_store *s, const sg_patrol_db_opts *o, sg_patrol_db_plan *out, char *msg,
                         size_t msg_len);

/** Releases what p owns and zeroes it. NULL-safe. */
void sg_patrol_db_plan_fini(sg_patrol_db_plan *p);

#endif
