/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Road routing: travel times by car for dispatch. A road network (OSM PBF/XML through
 * readosm, GeoJSON LineStrings of OSM ways through jansson, or any vector format GDAL reads,
 * such as Mapbox vector tiles) is turned into a directed graph by an editable car profile,
 * contracted into a contraction hierarchy and written to one .sgr file. At query time the
 * file is memory-mapped read-only and shared by every thread; each thread brings its own
 * workspace. Build-time code lives in route_build.c, query-time code in ch.c, so that the
 * server never links in the contraction machinery's state.
 *
 * Times are integer milliseconds (edge times are rounded once, at build time, so sums are
 * exact and comparable with other engines on the same edge table); distances are metres.
 */
#ifndef SAFEGRID_ROUTE_H
#define SAFEGRID_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "safegrid/error.h"

/** Travel time reported for a destination that cannot be reached. */
#define SG_ROUTE_UNREACHABLE UINT32_MAX

/* ---------------------------------------------------------------------------------------
 * Profile (build time)
 * ------------------------------------------------------------------------------------- */

/** A vehicle profile: which ways are usable and how fast. Opaque; see docs/route.md for the
 *  text format. */
typedef struct sg_route_profile sg_route_profile;

/** Returns the built-in car profile as text (static, never NULL), in the same format that
 *  sg_route_profile_parse reads, so users can save it, edit it and pass it back. */
const char *sg_route_profile_default_text(void);

/** Parses profile text (len bytes, need not be NUL-terminated). On SG_OK *out is a new
 *  profile owned by the caller (release with sg_route_profile_free). Errors: SG_INVAL with
 *  the line number in msg for a malformed line, SG_NOMEM. */
sg_err sg_route_profile_parse(const char *text, size_t len, sg_route_profile **out, char *msg,
                              size_t n);

/** Reads and parses a profile file. Errors as sg_route_profile_parse, plus SG_IO. */
sg_err sg_route_profile_load(const char *path, sg_route_profile **out, char *msg, size_t n);

/** Releases a profile. NULL-safe. */
void sg_route_profile_free(sg_route_profile *p);

/** Evaluates the profile for one way given its tags (keys[i] = vals[i], n_tags pairs).
 *  On SG_OK *speed_kmh receives the speed (0 when the way is not usable by car) and *oneway
 *  receives 0 (both directions), 1 (forward only) or -1 (backward only). Errors: SG_INVAL
 *  for NULL arguments. */
sg_err sg_route_profile_eval(const sg_route_profile *p, size_t n_tags, const char *const *keys,
                             const char *const *vals, double *speed_kmh, int *oneway);

/* ---------------------------------------------------------------------------------------
 * Graph building and contraction (build time)
 * ------------------------------------------------------------------------------------- */

/** A build-time road graph. Opaque. */
typedef struct sg_route_graph sg_route_graph;

/** Progress report: stage names a phase ("read", "contract", "write"), done/total its
 *  progress in its own units (total 0 when unknown). */
typedef void (*sg_route_progress_fn)(void *ctx, const char *stage, uint64_t done, uint64_t total);

/** Creates an empty graph. On SG_OK *out is owned by the caller (sg_route_graph_free). */
sg_err sg_route_graph_new(sg_route_graph **out);

/** Releases a graph. NULL-safe. */
void sg_route_graph_free(sg_route_graph *g);

/** Adds (or finds) the junction at lon/lat (WGS84 degrees; positions are rounded to 1e-7
 *  degree, OSM's precision, and equal rounded positions are the same node). On SG_OK *out
 *  is the node's build-time index. Errors: SG_INVAL for coordinates out of range or not
 *  finite, SG_TOOBIG past 2^31 nodes, SG_NOMEM. */
sg_err sg_route_graph_node(sg_route_graph *g, double lon, double lat, uint32_t *out);

/** Adds a road segment between nodes a and b: ms_ab is the time from a to b in
 *  milliseconds, ms_ba from b to a (SG_ROUTE_UNREACHABLE where that direction is closed),
 *  length_m its length. If the same directed pair already exists the faster time is kept.
 *  Errors: SG_INVAL (bad node, a == b, both directions closed), SG_NOMEM. */
sg_err sg_route_graph_segment(sg_route_graph *g, uint32_t a, uint32_t b, uint32_t ms_ab,
                              uint32_t ms_ba, double length_m);

/** Reads roads from a file into g, using profile p (NULL: built-in car profile). The format
 *  is chosen by the name: .osm/.pbf through readosm, .json/.geojson through jansson
 *  (Features with LineString or MultiLineString geometry carrying OSM tags as properties;
 *  coordinates shared by ways are junctions), anything else through GDAL/OGR (every layer,
 *  line geometries, reprojected to WGS84; field names are OSM keys). Errors: SG_IO (cannot
 *  open), SG_CORRUPT (parse error), SG_UNSUPPORTED, SG_NOMEM; msg says which file and why. */
sg_err sg_route_graph_read(sg_route_graph *g, const char *path, const sg_route_profile *p,
                           sg_route_progress_fn progress, void *ctx, char *msg, size_t n);

/** Parses GeoJSON text from memory (same rules as sg_route_graph_read); used by the fuzzer
 *  and tests. Errors: SG_CORRUPT, SG_NOMEM. */
sg_err sg_route_graph_read_geojson_mem(sg_route_graph *g, const char *text, size_t len,
                                       const sg_route_profile *p, char *msg, size_t n);

/** Number of nodes and directed edges currently in g. */
void sg_route_graph_size(const sg_route_graph *g, size_t *n_nodes, size_t *n_edges);

/** Statistics of a build. */
typedef struct sg_route_build_stats {
    uint64_t n_nodes;     /* nodes in the hierarchy */
    uint64_t n_edges;     /* directed road edges before contraction */
    uint64_t n_shortcuts; /* shortcut edges added by contraction */
    uint64_t n_up_edges;  /* edges stored for queries (forward + backward) */
    uint64_t file_bytes;  /* size of the written file */
    double contract_s;    /* seconds spent contracting */
    double write_s;       /* seconds spent writing */
} sg_route_build_stats;

/** Contracts g and writes the hierarchy to path (written to path.tmp and renamed, so a
 *  failed build never leaves a half file under the final name). g is consumed: its edge
 *  lists are released as contraction proceeds, and it may only be freed afterwards. stats
 *  may be NULL. Errors: SG_INVAL (empty graph), SG_IO, SG_NOMEM. */
sg_err sg_route_graph_contract(sg_route_graph *g, const char *path, sg_route_progress_fn progress,
                               void *ctx, sg_route_build_stats *stats, char *msg, size_t n);

/* ---------------------------------------------------------------------------------------
 * Query time
 * ------------------------------------------------------------------------------------- */

/** An open, memory-mapped hierarchy. Read-only after sg_route_open; share it between
 *  threads freely. */
typedef struct sg_route sg_route;

/** Per-thread scratch space for queries (distance arrays, heaps). Not thread-safe: one per
 *  thread. */
typedef struct sg_route_ws sg_route_ws;

/** A position on the road network: a point on segment seg (between its nodes a and b) at
 *  fraction frac from a, as returned by sg_route_snap. */
typedef struct sg_route_loc {
    uint32_t seg;
    double frac;
    double lon, lat; /* the snapped point */
    double snap_m;   /* distance from the query point to the snapped point */
} sg_route_loc;

/** A point-to-point result. coords holds n_coords lon/lat pairs (2 * n_coords doubles),
 *  from the snapped start to the snapped end; owned by the result, released by
 *  sg_route_path_fini. */
typedef struct sg_route_path {
    uint32_t ms;
    double meters;
    size_t n_coords;
    double *coords;
} sg_route_path;

/** Opens and maps an .sgr file. The header's magic, version and section table are checked,
 *  then the BLAKE2b checksum of the whole body and the bounds of every index, so a file
 *  that is truncated, corrupt or from another version is refused. On SG_OK *out is owned by
 *  the caller (sg_route_close). Errors: SG_IO (cannot open or map), SG_CORRUPT (truncated,
 *  checksum mismatch, inconsistent), SG_UNSUPPORTED (other version), SG_NOMEM. */
sg_err sg_route_open(const char *path, sg_route **out, char *msg, size_t n);

/** Unmaps and releases r. NULL-safe. No workspace of r may be used afterwards. */
void sg_route_close(sg_route *r);

/** Number of nodes and of road segments in r. */
uint32_t sg_route_n_nodes(const sg_route *r);
uint32_t sg_route_n_segments(const sg_route *r);

/** Position of node v (WGS84). Errors: SG_INVAL when v is out of range. */
sg_err sg_route_node_pos(const sg_route *r, uint32_t v, double *lon, double *lat);

/** Segment s: its end nodes, the times a->b and b->a (SG_ROUTE_UNREACHABLE if closed) and
 *  its length. Any output may be NULL. Errors: SG_INVAL when s is out of range. */
sg_err sg_route_segment(const sg_route *r, uint32_t s, uint32_t *a, uint32_t *b, uint32_t *ms_ab,
                        uint32_t *ms_ba, double *length_m);

/** Creates a workspace for r. On SG_OK *out is owned by the caller (sg_route_ws_free) and
 *  must not outlive r. Errors: SG_NOMEM. */
sg_err sg_route_ws_new(const sg_route *r, sg_route_ws **out);

/** Releases a workspace. NULL-safe. */
void sg_route_ws_free(sg_route_ws *ws);

/** Snaps lon/lat to the nearest road segment within max_m metres, through the file's grid
 *  index. Errors: SG_INVAL (bad coordinates), SG_NOTFOUND (no road within max_m). */
sg_err sg_route_snap(const sg_route *r, double lon, double lat, double max_m, sg_route_loc *out);

/** A location sitting exactly on node v (any segment touching v). Errors: SG_INVAL (bad
 *  node), SG_NOTFOUND (isolated node). */
sg_err sg_route_loc_of_node(const sg_route *r, uint32_t v, sg_route_loc *out);

/** Fastest path from one location to another: time, length and geometry. On SG_OK *out
 *  owns its coords (sg_route_path_fini). Errors: SG_NOTFOUND (unreachable), SG_INVAL,
 *  SG_NOMEM. */
sg_err sg_route_path_between(const sg_route *r, sg_route_ws *ws, const sg_route_loc *from,
                             const sg_route_loc *to, sg_route_path *out);

/** Releases the geometry of a path result. NULL-safe; leaves it empty. */
void sg_route_path_fini(sg_route_path *p);

/** Travel times from one location to n others (the hierarchy's upward search from `from`,
 *  then one downward sweep restricted to the part of the hierarchy above the targets).
 *  out_ms[i] gets the time to to[i] or SG_ROUTE_UNREACHABLE. Errors: SG_INVAL (bad
 *  location, workspace of another file), SG_NOMEM. */
sg_err sg_route_one_to_many(const sg_route *r, sg_route_ws *ws, const sg_route_loc *from, size_t n,
                            const sg_route_loc *to, uint32_t *out_ms);

/** Travel times from n locations to one (dispatch: from every unit to the incident).
 *  out_ms[i] gets the time from from[i] to `to`. Errors: SG_INVAL, SG_NOMEM. */
sg_err sg_route_many_to_one(const sg_route *r, sg_route_ws *ws, size_t n, const sg_route_loc *from,
                            const sg_route_loc *to, uint32_t *out_ms);

/** Travel-time table: out_ms[i * n_to + j] is the time from from[i] to to[j]. The
 *  restricted sweep set is selected once for all targets. Errors: SG_INVAL, SG_NOMEM,
 *  SG_TOOBIG when n_from * n_to overflows. */
sg_err sg_route_table(const sg_route *r, sg_route_ws *ws, size_t n_from, const sg_route_loc *from,
                      size_t n_to, const sg_route_loc *to, uint32_t *out_ms);

/** Node-to-node forms used by tests and benchmarks (no snapping): the time from src to
 *  dst by a bidirectional hierarchy search, from src to each of dsts, and from each of srcs
 *  to dst. Errors: SG_INVAL (node out of range), SG_NOMEM. */
sg_err sg_route_node_time(const sg_route *r, sg_route_ws *ws, uint32_t src, uint32_t dst,
                          uint32_t *out_ms);
sg_err sg_route_node_one_to_many(const sg_route *r, sg_route_ws *ws, uint32_t src, size_t n,
                                 const uint32_t *dsts, uint32_t *out_ms);
sg_err sg_route_node_many_to_one(const sg_route *r, sg_route_ws *ws, size_t n, const uint32_t *srcs,
                                 uint32_t dst, uint32_t *out_ms);

/** Plain Dijkstra over the road segments of r (no hierarchy): the reference that the
 *  hierarchy is checked against, and the baseline in benchmarks. One plain graph can serve
 *  one thread at a time. */
typedef struct sg_route_plain sg_route_plain;

/** Builds the plain adjacency of r's segments. On SG_OK *out is owned by the caller
 *  (sg_route_plain_free) and must not outlive r. Errors: SG_NOMEM. */
sg_err sg_route_plain_new(const sg_route *r, sg_route_plain **out);
void sg_route_plain_free(sg_route_plain *p);

/** Times from src to each of dsts by Dijkstra, stopping once all are settled. */
sg_err sg_route_plain_one_to_many(sg_route_plain *p, uint32_t src, size_t n, const uint32_t *dsts,
                                  uint32_t *out_ms);

/** Writes r's segments as a CSV edge table for pgRouting (id,source,target,cost,
 *  reverse_cost,x1,y1,x2,y2,length_m; cost in ms, -1 for a closed direction; node ids
 *  are r's). Errors: SG_IO. */
sg_err sg_route_export_edges(const sg_route *r, const char *path, char *msg, size_t n);

#endif
